/*
 * entity.h - stable process identities.
 *
 * An entity id names one process for its whole life on one boot and never
 * names another.  It is built from (boot id, pid, start time in ns since
 * boot, the kernel's task start_boottime):
 *
 *   bit 63: 0 | bits 62..22: start slot | bits 21..0: pid
 *   start slot = (H(boot id) + start_boottime / 16384 ns) mod 2^41
 *
 * so ids of one boot grow with start time (a new process's rows go at the
 * end of every index keyed by entity, instead of at random places), and
 * two processes of one boot share an id only if one pid was reused within
 * 16.4 us of the previous holder's start.  The slot wraps after 1.14 years
 * of uptime.  Another boot starts at its own random place (H is a 41-bit
 * hash of the boot id), so its ids meet this boot's only where a pid and a
 * slot both coincide.  pids are below 2^22 (the kernel's pid_max bound).
 * The /proc snapshot reads the same nanosecond start times through a BPF
 * task iterator, so a process seen first in the snapshot and later by the
 * kernel sensor gets the same id (/proc/PID/stat's clock ticks would be too
 * coarse).  exec does not change a process's entity id; fork does.
 * Rendered as 16 lowercase hex digits (ECS process.entity_id).
 */
#ifndef HINOMI_EVENT_ENTITY_H
#define HINOMI_EVENT_ENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* This boot's id (/proc/sys/kernel/random/boot_id), read once. 0 or -errno. */
int hn_boot_id(uint8_t out[16]);

/* Entity id of (boot, pid, start_ns); never 0, always < 2^63. */
uint64_t hn_entity_id(const uint8_t boot_id[16], uint32_t pid, uint64_t start_ns);

/* Start time in CLOCK_BOOTTIME ns -> clock ticks as /proc shows them. */
uint64_t hn_boot_ns_to_ticks(uint64_t boot_ns);

/* Whether entity can name the process pid that /proc/PID/stat says
 * started at ticks (clock ticks since boot): same pid, and a start slot
 * inside that tick.  /proc cannot tell two holders of one pid apart
 * within one tick (10 ms); nothing else in /proc can either. */
bool hn_entity_matches_ticks(const uint8_t boot_id[16], uint64_t entity, uint32_t pid,
			     uint64_t ticks);

/* "0123456789abcdef"; buf >= 17 bytes. */
const char *hn_entity_str(uint64_t entity, char *buf, size_t n);
/* Parse 1..16 hex digits; 0 or -EINVAL. */
int hn_entity_parse(const char *s, uint64_t *out);

#endif
