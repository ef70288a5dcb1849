/*
 * sensor.h - the kernel sensor: loads the BPF programs, reads the ring
 * buffer, and turns wire records into events (event/event.h).
 *
 * Only this module sees wire records (wire.h).  Lifecycle:
 *
 *   hn_sensor_open()   mount tracefs if missing, open -> configure -> load ->
 *                      attach; a program the kernel refuses is disabled and
 *                      reported (hn_sensor_programs), not fatal, unless
 *                      nothing at all could be attached
 *   hn_sensor_poll()   wait up to timeout_ms, consume what is waiting, hand
 *                      each decoded event to the callback (which owns it)
 *   hn_sensor_close()
 *
 * Also: hn_proc_snapshot() builds process events for everything running
 * now, from /proc, so trees are complete from the first moment.
 */
#ifndef HINOMI_SENSOR_H
#define HINOMI_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

struct hn_sensor;

struct hn_sensor_opts {
	uint32_t ringbuf_bytes;  /* power of two; 0 = 8 MiB */
	uint64_t wake_bytes;     /* wake the reader at this much data; 0 = 256 KiB */
	uint64_t wake_ns;        /* ... or this long after the last wake-up; 0 = 4 ms */
};

/* Receives each event; owns it (must hn_event_free it eventually). */
typedef void (*hn_sensor_cb)(struct hn_event *ev, void *arg);

/* 0 or -errno; on failure *err (if given) says why in words. */
int hn_sensor_open(const struct hn_sensor_opts *o, hn_sensor_cb cb, void *arg,
		   struct hn_sensor **out, char *err, size_t errlen);
void hn_sensor_close(struct hn_sensor *s);

/* Wait up to timeout_ms for data, then consume all that is waiting.
 * Returns the number of records consumed, or -errno (-EINTR is normal on a
 * signal). */
int hn_sensor_poll(struct hn_sensor *s, int timeout_ms);

/* Kernel-side counters per wire family (summed over CPUs). */
struct hn_sensor_family_count {
	const char *family;      /* "exec", "fork", "file", "net", ... */
	uint64_t emitted, dropped, filtered;
};
/* Fills up to max entries; returns the count. */
int hn_sensor_counters(struct hn_sensor *s, struct hn_sensor_family_count *out, int max);
/* Records the decoder rejected as malformed. */
uint64_t hn_sensor_malformed(struct hn_sensor *s);

/* What is active: each program or hook with its state. */
struct hn_sensor_prog {
	char name[48];
	bool active;
	char why[96];            /* empty when active */
};
int hn_sensor_programs(struct hn_sensor *s, struct hn_sensor_prog *out, int max);

/* Report reads of this file (sensitive files such as /etc/shadow). */
int hn_sensor_watch_path(struct hn_sensor *s, const char *path);

/* ---- decoding (exposed for tests) ---- */

struct hn_decode_ctx {
	uint8_t boot_id[16];
	int64_t boot_to_wall;    /* ns to add to CLOCK_BOOTTIME for wall time */
};
int hn_decode_ctx_init(struct hn_decode_ctx *c);
/* Decode one wire record; 0 and *out, -EINVAL for a malformed record,
 * -ENOENT for a record that makes no event (consumed internally). */
int hn_decode(const struct hn_decode_ctx *c, const void *data, size_t size,
	      struct hn_event **out);

/* ---- /proc snapshot ---- */

/* A running process's start time (CLOCK_BOOTTIME ns), and its parent's. */
struct hn_task_start {
	uint32_t pid, ppid;
	uint64_t start, pstart;
};

/* Every running process's start time from the kernel (task iterator),
 * sorted by pid; *out malloc'd.  -errno when the iterator is unavailable. */
int hn_sensor_task_starts(struct hn_sensor *s, struct hn_task_start **out, size_t *n);

/* Calls cb with one HN_EV_PROCESS_SNAPSHOT event per running process
 * (parents before children); skips pid `skip` (the agent).  starts (from
 * hn_sensor_task_starts) gives the entity ids; without it (NULL) start times
 * come from /proc at clock-tick precision and entity ids of processes that
 * were running before the agent will not match their later kernel events.
 * Returns the count or -errno. */
int hn_proc_snapshot(const struct hn_decode_ctx *c, const struct hn_task_start *starts,
		     size_t nstarts, uint32_t skip, hn_sensor_cb cb, void *arg);

#endif
