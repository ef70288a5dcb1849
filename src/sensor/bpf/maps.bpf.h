/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.bpf.h - every map of the sensor, declared once.
 *
 *   rb             the ring buffer of wire records (size set by the loader)
 *   counters       per-CPU counters, [type * HN_CNT_MAX + counter]
 *   sys_exit_tails syscall number -> handler, for the sys_exit dispatcher
 *   wfiles         write-opened files (struct file address -> state at open),
 *                  to tell at close whether the file was modified (LRU: an
 *                  entry that is pushed out loses only the "written" flag)
 *   udp_peers      (tgid, peer) pairs already reported, so UDP sends are
 *                  reported once per peer (LRU)
 *   watch_inodes   (dev, ino) of sensitive files whose reads are reported
 *                  (filled by user space)
 */
#ifndef HINOMI_MAPS_BPF_H
#define HINOMI_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>

#include "sensor/wire.h"

#define HN_MAX_SYSCALL 512

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HN_W_TYPE_MAX * HN_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, HN_MAX_SYSCALL);
	__type(key, __u32);
	__type(value, __u32);
} sys_exit_tails SEC(".maps");

struct wfile {
	__u64 mtime;
	__u64 size;
	__u64 ctime;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct wfile);
} wfiles SEC(".maps");

struct udp_peer {
	__u32 tgid;
	__u16 port;
	__u16 family;
	__u8 addr[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct udp_peer);
	__type(value, __u8);
} udp_peers SEC(".maps");

struct watch_key {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct watch_key);
	__type(value, __u8);
} watch_inodes SEC(".maps");

#endif
