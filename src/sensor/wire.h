/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * wire.h - the kernel/user contract of the hinomi sensor.
 *
 * Included by the BPF programs (sensor/bpf/) and by the user-space
 * decoder (sensor/decode.c), and by nothing else: only the sensor sees wire
 * records; every other module sees struct hn_event (event/event.h).
 *
 * Rules of this file (tetragon / libbpf-tools habit):
 *  - fixed-width types only, explicit padding, sizes checked by _Static_assert
 *    on both sides;
 *  - enum values are explicit and never reused; a change of layout bumps
 *    HN_WIRE_VERSION;
 *  - every record starts with struct hn_wire_hdr; hdr.size is the record's
 *    whole length, fixed body and strings included.
 *
 * A record is: hdr | fixed body for hdr.type | zero or more strings.
 * A string is: struct hn_wire_str | len bytes.  Strings carry a slot (which
 * field they fill) and an encoding.  Several strings with the same slot are
 * parts of one value, joined in order by the decoder (a directory resolved in
 * the kernel followed by a path relative to it).
 */
#ifndef HINOMI_SENSOR_WIRE_H
#define HINOMI_SENSOR_WIRE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HN_WIRE_VERSION 1

/* Record types (hdr.type). */
enum hn_wire_type {
	HN_W_EXEC = 1,
	HN_W_FORK = 2,
	HN_W_EXIT = 3,
	HN_W_CRED = 4,     /* setuid/setgid family, capset */
	HN_W_PTRACE = 5,
	HN_W_VMWRITE = 6,  /* process_vm_writev */
	HN_W_MEMFD = 7,
	HN_W_FILE = 8,     /* op says which: hn_wire_file_op */
	HN_W_NET = 9,      /* op says which: hn_wire_net_op */
	HN_W_KMOD = 10,    /* init_module / finit_module */
	HN_W_BPF = 11,     /* bpf(BPF_PROG_LOAD) */
	HN_W_MOUNT = 12,
	HN_W_TYPE_MAX = 13,
};

enum hn_wire_file_op {
	HN_F_OPEN = 1,      /* open for write, or a read of a watched inode */
	HN_F_RENAME = 2,
	HN_F_UNLINK = 3,
	HN_F_RMDIR = 4,
	HN_F_MKDIR = 5,
	HN_F_CHMOD = 6,
	HN_F_CHOWN = 7,
	HN_F_LINK = 8,
	HN_F_SYMLINK = 9,
	HN_F_TRUNCATE = 10,
	HN_F_SETXATTR = 11,
	HN_F_WRITTEN = 12,  /* close of a write-opened file that was modified */
};

enum hn_wire_net_op {
	HN_N_CONNECT = 1,
	HN_N_ACCEPT = 2,
	HN_N_LISTEN = 3,
	HN_N_BIND = 4,
	HN_N_UDP_SEND = 5,  /* first datagram of a process to a peer */
	HN_N_DNS = 6,       /* datagram to port 53; payload carries the query */
};

/* String slots (hn_wire_str.slot). */
enum hn_wire_slot {
	HN_S_PATH = 1,      /* file path, executable path */
	HN_S_PATH2 = 2,     /* rename target, link target, symlink target */
	HN_S_ARGV = 3,      /* NUL-separated argv bytes */
	HN_S_CWD = 4,
	HN_S_FILENAME = 5,  /* path as passed to execve */
	HN_S_TTY = 6,
	HN_S_CGROUP = 7,    /* leaf cgroup name */
	HN_S_NAME = 8,      /* memfd name, xattr name, bpf prog name, module args */
	HN_S_PAYLOAD = 9,   /* raw bytes (DNS query) */
	HN_S_FSTYPE = 10,
	HN_S_SOURCE = 11,   /* mount source */
};

/* String encodings (hn_wire_str.enc). */
enum hn_wire_enc {
	HN_E_RAW = 1,       /* bytes as they are */
	HN_E_DCOMP = 2,     /* path components leaf first, each NUL-terminated */
};

/* hn_wire_str.flags */
#define HN_SF_TRUNCATED   0x01  /* the value was longer than the bound */
#define HN_SF_FAULT       0x02  /* the memory could not be read */
#define HN_SF_DETACHED    0x04  /* DCOMP walk ended at a root that is not / */

struct hn_wire_str {
	__u8 slot;
	__u8 enc;
	__u8 flags;
	__u8 pad;
	__u32 len;
};

/* hdr.flags */
#define HN_HF_KERNEL_THREAD 0x01

struct hn_wire_hdr {
	__u16 type;
	__u16 op;
	__u16 version;
	__u16 flags;
	__u32 size;         /* whole record */
	__u32 cpu;
	__u64 ts;           /* CLOCK_BOOTTIME ns */
	__u64 start;        /* thread group leader's start_boottime ns */
	__u32 pid;          /* tgid */
	__u32 tid;
	__u32 ppid;         /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 euid;
	__u32 egid;
	__u32 auid;         /* login uid */
	__u64 pstart;       /* real parent's start_boottime ns */
	char comm[16];
};

/* hn_wire_exec.flags */
#define HN_XF_MEMFD        0x01  /* executable is a memfd */
#define HN_XF_DELETED      0x02  /* executable had no links left */
#define HN_XF_ARGV_TRUNC   0x04
#define HN_XF_SETUID       0x08  /* the exec changed the euid */

struct hn_wire_exec {
	__u64 cgroup_id;
	__u64 exe_dev;
	__u64 exe_ino;
	__u64 exe_size;
	__u64 exe_mtime;    /* ns since epoch */
	__u32 flags;
	__u32 sessionid;
	__u32 argc;
	__u32 old_pid;
};

struct hn_wire_fork {
	__u32 parent_tid;
	__u32 clone_flags_lo;
};

struct hn_wire_exit {
	__u32 code;         /* exit status << 8 | signal, as wait(2) */
	__u32 pad;
};

/* hn_wire_cred.kind: what changed */
enum hn_wire_cred_kind {
	HN_C_SETUID = 1,
	HN_C_SETGID = 2,
	HN_C_CAPSET = 3,
};

struct hn_wire_cred {
	__u32 kind;
	__u32 syscall;
	__s64 result;
	__u64 arg[3];       /* requested ids (or cap masks) */
	__u32 new_uid;      /* credentials after the call */
	__u32 new_euid;
	__u32 new_gid;
	__u32 new_egid;
};

struct hn_wire_ptrace {
	__s64 result;
	__u64 request;
	__u32 target_pid;
	__u32 pad;
	__u64 addr;
};

struct hn_wire_vmwrite {
	__s64 result;
	__u32 target_pid;
	__u32 pad;
};

struct hn_wire_memfd {
	__s64 result;       /* fd */
	__u32 mflags;
	__u32 pad;
};

/* hn_wire_file.flags */
#define HN_FF_CREATED      0x01  /* open created the file (FMODE_CREATED) */
#define HN_FF_WRITE        0x02  /* opened for writing */
#define HN_FF_WATCHED      0x04  /* read of a watched inode */
#define HN_FF_PROCMEM      0x08  /* /proc/PID/mem of another process */
#define HN_FF_TRUNC        0x10  /* O_TRUNC */

struct hn_wire_file {
	__s64 result;
	__u64 dev;
	__u64 ino;
	__u64 cookie;       /* kernel struct file address: pairs OPEN and WRITTEN */
	__u32 flags;
	__u32 oflags;       /* open(2) flags */
	__u32 mode;         /* chmod mode, create mode */
	__u32 uid;          /* chown */
	__u32 gid;
	__u32 target_pid;   /* HN_FF_PROCMEM */
	__u64 size;         /* truncate length */
};

/* hn_wire_net.flags */
#define HN_NF_INPROGRESS   0x01  /* non-blocking connect, result pending */

struct hn_wire_net {
	__s64 result;
	__u16 family;       /* AF_INET / AF_INET6 / AF_UNIX */
	__u16 proto;        /* IPPROTO_TCP / IPPROTO_UDP */
	__u16 sport;        /* host order */
	__u16 dport;
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 flags;
	__u32 backlog;
};

struct hn_wire_kmod {
	__s64 result;
	__u32 flags;
	__u32 by_fd;        /* finit_module */
};

struct hn_wire_bpf {
	__s64 result;
	__u32 cmd;
	__u32 prog_type;
};

struct hn_wire_mount {
	__s64 result;
	__u64 mflags;
};

/* One process, as the task iterator (hn_iter_tasks) writes it: the start
 * times /proc does not give at nanosecond precision. */
struct hn_wire_task {
	__u32 pid;          /* tgid */
	__u32 ppid;
	__u64 start;        /* start_boottime ns */
	__u64 pstart;
};

/* Counters map: index = type * HN_CNT_MAX + counter. */
enum hn_wire_counter {
	HN_CNT_EMITTED = 0,
	HN_CNT_DROPPED = 1,   /* ring buffer full */
	HN_CNT_FILTERED = 2,  /* filtered in the kernel */
	HN_CNT_MAX = 3,
};

/* Bounds. */
#define HN_PATH_DEPTH     48     /* components walked per path */
#define HN_NAME_MAX       256    /* one component, NUL included */
#define HN_ARGV_MAX       4096   /* argv bytes kept */
#define HN_STR_MAX        256    /* user strings other than paths and argv */
#define HN_UPATH_MAX      1024   /* user path strings */
#define HN_PAYLOAD_MAX    256
#define HN_VAR_MASK       8191   /* var area offset mask */
#define HN_REC_MAX        (8192 + 4096 + 512) /* record bound */

_Static_assert(sizeof(struct hn_wire_str) == 8, "wire str");
_Static_assert(sizeof(struct hn_wire_hdr) == 88, "wire hdr");
_Static_assert(sizeof(struct hn_wire_exec) == 56, "wire exec");
_Static_assert(sizeof(struct hn_wire_cred) == 56, "wire cred");
_Static_assert(sizeof(struct hn_wire_file) == 64, "wire file");
_Static_assert(sizeof(struct hn_wire_net) == 56, "wire net");
_Static_assert(sizeof(struct hn_wire_task) == 24, "wire task");

#endif
