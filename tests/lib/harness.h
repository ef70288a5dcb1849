/*
 * harness.h - helpers for integration tests: a scratch directory, the real
 * agent started as a child process (the binary named by $HINOMI_BIN) on a
 * store of its own, and look-ups in that store.
 *
 * Every helper is bounded in time; the agent is stopped by pid (SIGTERM,
 * then SIGKILL after a deadline), never by name.
 */
#ifndef HINOMI_TESTS_HARNESS_H
#define HINOMI_TESTS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "event/event.h"
#include "store/store.h"

struct th_agent {
	pid_t pid;
	char dir[256];      /* scratch directory (store, ready file, logs) */
	char db[300];
	char log[300];
};

/* mkdtemp under /tmp; path into buf.  0 or -errno. */
int th_scratch(char *buf, size_t n, const char *tag);
/* rm -rf of a scratch directory made by th_scratch (refuses other paths). */
void th_scratch_remove(const char *dir);
/* A cmocka setup making a scratch directory into th_tmp, and its
 * teardown removing it (for tests that write files of their own). */
extern char th_tmp[64];
int th_tmp_setup(void **state);
int th_tmp_teardown(void **state);
/* Write text to dir/name (replaced); its path (static: valid until the
 * next call), or NULL. */
const char *th_write_file(const char *dir, const char *name, const char *text);

/* Start `hinomi agent` on a fresh store; waits (bounded) until it records.
 * extra: NULL-terminated extra arguments or NULL. */
int th_agent_start(struct th_agent *a, const char *const *extra);
/* Start the agent again on the store of a stopped th_agent_start. */
int th_agent_restart(struct th_agent *a, const char *const *extra);
/* SIGTERM, wait (bounded), then SIGKILL. Returns the exit status. */
int th_agent_stop(struct th_agent *a);
void th_agent_cleanup(struct th_agent *a);

/* Open the agent's store read-only. */
struct hn_store *th_store(struct th_agent *a);

/* The events matching q, copied (hn_event_dup), in time order.
 * *n gets the count; free with th_events_free. */
struct hn_event **th_events(struct hn_store *s, const struct hn_query *q, int *n);
void th_events_free(struct hn_event **v, int n);

/* First event of `type` by pid (0 = any) whose path (if want_path) equals
 * want_path; a copy or NULL. */
struct hn_event *th_find(struct hn_store *s, uint16_t type, uint32_t pid,
			 const char *want_path);

/* Accepts an event (arg: the predicate's own). */
typedef bool (*th_pred)(const struct hn_event *ev, const void *arg);

/* Wait (up to 10 s) for an event of type by pid (0 = any) that pred (NULL =
 * any) accepts; a copy (hn_event_free it) or NULL. */
struct hn_event *th_wait_match(struct hn_store *s, uint16_t type, uint32_t pid,
			       th_pred pred, const void *arg);
/* Events of type by pid that pred accepts, now. */
int th_count_match(struct hn_store *s, uint16_t type, uint32_t pid, th_pred pred,
		   const void *arg);

/* Start the agent for a test group and open its store; on failure print the
 * agent's log to stderr.  0 or -1. */
int th_group_start(struct th_agent *a, struct hn_store **s, const char *const *extra);

/* Close the group's store, stop its agent, remove its scratch directory. */
void th_group_stop(struct th_agent *a, struct hn_store *s, const char *scratch);
/* The same for a test's static agent, store and scratch path, left ready
 * for the next test (a cmocka teardown's body). */
void th_group_reset(struct th_agent *a, struct hn_store **s, char *scratch);

void th_sleep_ms(int ms);
/* Wait (10 s at most) until the agent's log holds text; true when it
 * does.  The log's start (n bytes at most) is left in buf either way. */
bool th_agent_log_has(const struct th_agent *a, const char *text, char *buf, size_t n);
/* Append text to path (created when missing).  0 or -errno. */
int th_append(const char *path, const char *text);
/* waitpid; the raw status, or -1. */
int th_reap(pid_t p);

/* Run a command (argv), wait (bounded), return its exit status or -1. */
int th_run(const char *const *argv, int timeout_s);
/* The same, telling the child's pid in *pid. */
int th_run_pid(const char *const *argv, int timeout_s, pid_t *pid);

/* Run argv (argv[0] a path) with stdin /dev/null, stdout into out and
 * stderr into err (files, replaced; NULL: /dev/null); wait up to
 * timeout_s, then SIGKILL.  The wait status, or -1 (no fork, or killed at
 * the deadline). */
int th_run_to(const char *const *argv, const char *out, const char *err, int timeout_s);

/* Run `hinomi ARGS... --db db` (args NULL-terminated, 12 at most), stdout
 * into out and stderr into err (NULL: /dev/null), 60 s at most.  Its exit
 * code, or -1 (killed, or no fork). */
int th_hinomi(const char *db, const char *out, const char *err, const char *a0, ...)
	__attribute__((sentinel));

/* The entity of the process that was pid at or after t0 (ns, wall clock;
 * waits up to 10 s for the store to have it), or 0. */
uint64_t th_entity_of(struct hn_store *s, uint32_t pid, uint64_t t0);
/* Is e the process root or one of its descendants (the store's process
 * tree)? */
bool th_descends(struct hn_store *s, uint64_t e, uint64_t root);

/* The agent binary. */
const char *th_bin(void);

#endif
