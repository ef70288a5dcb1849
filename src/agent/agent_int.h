/*
 * agent_int.h - what the agent's files share (not public: agent.h is).
 *
 * iocw ("IOC watch", ioc_watch.c) is the agent's side of IOC lists
 * (ioc/ioc.h): it loads them, and matches what the agent sees against
 * them, raising each hit through the agent's alert path (the callback:
 * agent.c hands it to on_match, as a Sigma match is).
 *
 *   exec          the executable's SHA-256 (and SHA-1, MD5 when a list
 *                 names such digests): at once when the exec hasher knows
 *                 the file, else when its worker has hashed it
 *   file written  a write-opened file, at its close when it was modified:
 *                 hashed by a second hasher of its own (see ioc_watch.c
 *                 for why and its bounds), then matched
 *   connect, accept, UDP send   the remote address
 *   DNS query     the name, and the names it is under
 *
 * Threads: everything runs on the agent's main thread except
 * iocw_exec_hashed and the written-file hasher's callback, which only
 * queue a result (under a lock) for iocw_poll to match on the main thread.
 */
#ifndef HINOMI_AGENT_INT_H
#define HINOMI_AGENT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "agent/agent.h"
#include "detect/detect.h"
#include "enrich/hasher.h"
#include "event/event.h"
#include "store/store.h"

struct iocw;

/* An IOC hit, seen as a rule match (ioc.h: hn_ioc_rule_make). */
typedef void (*iocw_alert_fn)(const struct hn_rule_info *rule, const struct hn_event *ev,
			      void *arg);

struct iocw_stats {
	unsigned indicators;
	uint64_t hits;
	uint64_t written_queued;     /* written files handed to the hasher */
	uint64_t written_unknown;    /* closes whose open was not seen (no path) */
	uint64_t written_refused;    /* the hasher's queue was full */
	uint64_t waits_dropped;      /* events that could not wait for a hash */
	uint64_t waits_expired;      /* events whose hash never came (60 s) */
	uint64_t results_dropped;    /* hash results over the result queue */
};

/*
 * Load the IOC lists o names (o->iocs; none: $HINOMI_IOC and /etc/hinomi/ioc
 * where they exist; o->no_ioc: none at all) and start watching with them.
 * Problems are summed up on err (`hinomi ioc check` lists them).
 * NULL with --no-ioc or no memory (said on err); every other iocw_*
 * accepts NULL.  With no indicator loaded it watches nothing until a
 * reload brings some.
 */
struct iocw *iocw_open(const struct hn_agent_opts *o, struct hn_hasher *exec_hasher,
		       iocw_alert_fn fn, void *arg, FILE *err);
/* SIGHUP: the same lists read again; the new set replaces the old (kept
 * only when there is no memory for the new).  Said on err. */
void iocw_reload(struct iocw *w, const struct hn_agent_opts *o, FILE *err);
/* After the exec hasher is stopped (its callback reaches iocw). */
void iocw_free(struct iocw *w);

/* An event on its way to the store (main thread, after enrichment). */
void iocw_event(struct iocw *w, const struct hn_event *ev);
/* The exec hasher's callback (any thread): d NULL when it failed. */
void iocw_exec_hashed(struct iocw *w, const struct hn_file_key *k,
		      const struct hn_digests *d);
/* Match the hashes that came in (main thread, each turn of the loop). */
void iocw_poll(struct iocw *w);
/* How long the loop may sleep: less than dflt while hashes are awaited. */
int iocw_poll_ms(struct iocw *w, int dflt);
/* At stop, after the exec hasher is drained: wait for the written-file
 * hasher and match what came in. */
void iocw_drain(struct iocw *w);
void iocw_stats(struct iocw *w, struct iocw_stats *st);
/* Its part of the agent's status: an "ioc" member of the JSON object j is
 * writing, or a line of text (either may be NULL). */
struct hn_json;
struct hn_strbuf;
void iocw_status(struct iocw *w, struct hn_json *j, struct hn_strbuf *text);

/*
 * The exec guard (exec_guard.c): refuses the execution of the hashes of
 * the block list ($state/blocklist, respond.h) with fanotify, failing
 * open.  Its own threads answer the kernel; what it refused is taken by
 * the main thread (guard_take) and recorded as an HN_EV_EXEC_BLOCKED
 * event and an alert.
 */
struct exec_guard;

struct guard_blocked {
	uint64_t time;                   /* ns since the epoch */
	uint32_t pid;                    /* the process whose exec was refused */
	uint32_t ppid;
	uint64_t entity;                 /* its entity id, 0 when unknown */
	char comm[16];
	uint64_t dev, ino, size, mtime;
	uint32_t mode;
	char sha256[65];
	char path[4096];
};

struct guard_stats {
	bool active;                     /* a fanotify group is marking execs */
	unsigned hashes;                 /* in the list */
	unsigned marks, marks_failed;    /* filesystems */
	uint64_t checked, blocked, cache_hits;
	uint64_t unverified;             /* allowed: not hashed in time / too big */
	uint64_t protected_;             /* listed, but a system directory's file:
					  * allowed (only copies are refused) */
	uint64_t fail_open;              /* allowed unchecked: the worker was late */
	uint64_t overflows;              /* the kernel's queue overflowed (allowed) */
	uint64_t ring_dropped;           /* refusals not told to the main thread */
	uint64_t errors;
};

/* The entity id of a live process (the guard asks while the refused
 * process waits in execve); 0 when unknown.  Called on the guard's thread. */
typedef uint64_t (*guard_entity_fn)(uint32_t pid, void *arg);

/* Start watching the list in state_dir (log: where the guard says what it
 * does).  NULL on no memory. */
struct exec_guard *guard_open(const char *state_dir, FILE *log, guard_entity_fn fn,
			      void *arg);
/* Refusals since the last call, oldest first: at most max into out. */
int guard_take(struct exec_guard *g, struct guard_blocked *out, int max);
void guard_stats(struct exec_guard *g, struct guard_stats *st);
/* Stop: the kernel then allows every exec.  NULL is fine. */
void guard_free(struct exec_guard *g);

/*
 * Versions of sensitive files (versioner.c): the main thread hands every
 * file event over (versioner_event: cheap, a path check), a thread of its
 * own reads the file a moment later and queues a version for the store
 * when it changed.
 */
struct versioner;

struct versioner_stats {
	uint64_t kept;                   /* versions queued for the store */
	uint64_t dropped;                /* the store's queue was full */
	uint64_t queue_full;             /* changes not read: too many waiting */
	uint64_t too_big;                /* over the size kept */
};

/* A path whose versions are kept (a persistence place; never shadow). */
bool versioner_wants(const char *path);
/* Start: the store's latest versions read, the baseline taken in the
 * background.  NULL on no memory. */
struct versioner *versioner_open(struct hn_store *s, FILE *log);
void versioner_event(struct versioner *v, const struct hn_event *ev);
void versioner_stats(struct versioner *v, struct versioner_stats *st);
/* Reads what is queued, then stops.  NULL is fine. */
void versioner_free(struct versioner *v);

/*
 * New executables scanned with YARA (scan_new.c), when asked: a file the
 * first time it runs, and a file made executable; a hit is an alert.
 */
struct scan_new;

struct scan_new_stats {
	bool on;
	uint64_t queued, scanned, hits, errors;
	uint64_t queue_full;             /* not scanned: too many waiting */
	uint64_t alerts_dropped;         /* the store's queue was full */
};

/* Load the rules (o->yara, else the scan's default places; compiled ones
 * cached under state_dir) and start the thread.  NULL when there are no
 * rules (said on err) or no memory. */
struct scan_new *scan_new_open(const struct hn_agent_opts *o, const char *state_dir,
			       struct hn_store *s, FILE *err);
/* Main thread: every event (cheap unless it is a new executable). */
void scan_new_event(struct scan_new *sn, const struct hn_event *ev);
void scan_new_stats(struct scan_new *sn, struct scan_new_stats *st);
/* NULL is fine; what is queued is dropped. */
void scan_new_free(struct scan_new *sn);

#endif
