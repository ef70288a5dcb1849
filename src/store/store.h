/*
 * store.h - the local event store: SQLite in WAL mode.
 *
 * One writer (the agent) appends events through a bounded queue drained by
 * one writer thread in batches (one transaction per batch); any number of
 * readers (the CLI) query at the same time.  A crash or kill -9 loses at most
 * the batch in flight: a batch is one transaction and WAL keeps the file
 * consistent.  Retention trims the oldest events by age and by size.
 *
 * The schema is documented in docs/SCHEMA.md and created by hn_store_open.
 * Tables: events (one row per event), processes (one row per entity: the
 * latest image, parent, start and exit), meta (key/value: schema version,
 * host name, boot ids, the agent's published status).
 *
 * Errors: functions return 0 or a negative errno (-EIO for SQLite errors);
 * hn_store_errmsg() gives the last SQLite message for the caller to print.
 * The store does not print.
 */
#ifndef HINOMI_STORE_H
#define HINOMI_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "event/event.h"

struct hn_store;

struct hn_store_opts {
	const char *path;
	bool readonly;           /* CLI readers: no writer, no schema change */
	uint64_t max_bytes;      /* retention by size; 0 = default (1 GiB) */
	uint64_t max_age_ns;     /* retention by age; 0 = default (30 days) */
	unsigned batch_max;      /* events per transaction; 0 = 4096 */
	unsigned batch_ms;       /* longest wait before a batch commits; 0 = 1000 */
	unsigned queue_max;      /* writer queue bound; 0 = 65536 */
	unsigned max_row_bytes;  /* largest events row kept (SQLite's length
	                          * limit); a bigger row is skipped and counted
	                          * as lost (a GAP row); 0 = SQLite's default */
};

int hn_store_open(const struct hn_store_opts *o, struct hn_store **out);
/* Why the last hn_store_open in this thread failed ("no store at PATH: ..."),
 * for the caller to print; "" after a success. */
const char *hn_store_open_errmsg(void);
/* Stops the writer (flushing what is queued) and closes. NULL is fine. */
void hn_store_close(struct hn_store *s);
const char *hn_store_errmsg(struct hn_store *s);

/* ---- writing (the agent) ---- */

/* Start the writer thread. */
int hn_store_start(struct hn_store *s);

/* Queue an event for writing; the store takes ownership of ev in every case.
 * 0, or -ENOSPC when the queue is full (the event is freed and counted as
 * dropped; the next write records an HN_EV_GAP event for it). */
int hn_store_submit(struct hn_store *s, struct hn_event *ev);

/* An alert: a rule matched an event.  Alerts of one rule on one group (the
 * caller's choice: a process tree) are one row with a count (group_key
 * says which); strings may be NULL. */
struct hn_alert {
	int64_t id;              /* row id (when read) */
	const char *group_key;   /* required: rows are grouped by it */
	uint64_t time;           /* first match (ns since the epoch) */
	uint64_t last_time;      /* latest match */
	uint64_t count;          /* matches grouped here (when read) */
	const char *rule_id, *rule_title, *rule_level, *rule_author;
	const char *rule_tags;   /* comma-separated */
	const char *rule_path;
	uint64_t entity;         /* the process that acted */
	uint32_t pid;
	const char *executable;
	uint16_t event_type;
	const char *event_json;  /* the (first) matching event, ECS JSON */
};

/* Queue an alert (copied): a new row, or one more match of the row of its
 * group_key.  0, -EINVAL (no group_key or title), -ENOSPC (queue full:
 * counted in the store's dropped alerts), -ENOMEM. */
int hn_store_submit_alert(struct hn_store *s, const struct hn_alert *a);

/* Alerts whose last match is at or after since_ns, oldest first; cb's
 * non-zero return stops and is returned.  -ENOENT when the store has no
 * alerts table (written by an older agent). */
typedef int (*hn_alert_cb)(const struct hn_alert *a, void *arg);
int hn_store_alerts(struct hn_store *s, uint64_t since_ns, hn_alert_cb cb, void *arg);

/* An executable's SHA-256 became known: fill it into the process starts of
 * that file identity that lack it (and into processes). Queued like events. */
int hn_store_submit_hash(struct hn_store *s, uint64_t dev, uint64_t ino,
			 uint64_t size, uint64_t mtime, const char *sha256);

/* The hashes the store knows (table file_hashes: every one computed, kept
 * across agent restarts), newest first, at most max: cb for each; a cb
 * returning non-zero stops.  The count given to cb, or -errno. */
typedef int (*hn_file_hash_cb)(uint64_t dev, uint64_t ino, uint64_t size,
			       uint64_t mtime, const char *sha256, void *arg);
int hn_store_file_hashes(struct hn_store *s, unsigned max, hn_file_hash_cb cb,
			 void *arg);

/* Make the table `events` (a virtual table over the stored blocks; see
 * docs/SCHEMA.md) known to a connection of the caller's own, such as a
 * plain sqlite3_open of the store file.  SQLite rc. */
struct sqlite3;
int hn_store_sql_register(struct sqlite3 *db);

/* Block until everything queued before the call is committed. */
int hn_store_flush(struct hn_store *s);

struct hn_store_stats {
	uint64_t queued;         /* accepted by hn_store_submit */
	uint64_t written;        /* committed rows */
	uint64_t dropped;        /* refused: queue full */
	uint64_t batches;
	uint64_t backlog;        /* in the queue now */
	uint64_t retention_deleted;
	uint64_t db_bytes;       /* main file + WAL */
	uint64_t write_errors;
	uint64_t alerts_dropped; /* alerts refused: queue full */
};
void hn_store_stats(struct hn_store *s, struct hn_store_stats *st);
/* Hash updates refused because the queue was full (not events: they are
 * not counted in dropped nor in GAP rows; the hasher may resubmit). */
uint64_t hn_store_hash_dropped(struct hn_store *s);

/* Run retention now, in the caller's thread (the writer thread also runs
 * it every few seconds).  0 or -errno. */
int hn_store_retain(struct hn_store *s);

/* Publish / read a meta value (the agent's status JSON under "status"). */
int hn_store_meta_set(struct hn_store *s, const char *key, const char *value);
/* The same, but -EBUSY instead of waiting while the writer holds the
 * database (a batch in progress): for callers that must not stall. */
int hn_store_meta_try_set(struct hn_store *s, const char *key, const char *value);
/* Queue a meta value for the writer's next batch (the same key queued
 * again replaces it): no commit of its own, never waits for the database.
 * Without a running writer it is written at the next flush or close.
 * 0, -ENOSPC (too many keys queued) or -ENOMEM. */
int hn_store_submit_meta(struct hn_store *s, const char *key, const char *value);
/* *out is malloc'd; -ENOENT when missing. */
int hn_store_meta_get(struct hn_store *s, const char *key, char **out);

/* ---- response actions (written by the CLI: src/respond/) ----
 *
 * Every response action is a row: who did it, when, what it was asked to
 * act on, and exactly what it changed (detail, JSON, with what its undo
 * needs).  A remediation is a parent row with one row per step.  Written
 * at once in a transaction of its own on the read-write connection (not
 * queued: the agent's writer need not run); needs a read-write open. */
struct hn_action {
	int64_t id;            /* row id (set when added, given when read) */
	int64_t parent;        /* the action this is a step of; 0: none */
	int64_t undo_of;       /* an undo: the action it reverses; 0: none */
	uint64_t time;         /* started, ns since the epoch */
	uint64_t end_time;     /* finished; 0 while running */
	const char *user;      /* who: "root (login alice)" */
	const char *kind;      /* "quarantine", "kill", "isolate", ... */
	const char *target;    /* what it was asked to act on */
	const char *status;    /* "running", "done", "failed", "partial",
	                        * "planned", "undone" */
	const char *summary;   /* one line: what it changed */
	const char *detail;    /* JSON object */
};

/* Add a row (a->id ignored); its id into *id.  0 or -errno. */
int hn_store_action_add(struct hn_store *s, const struct hn_action *a, int64_t *id);
/* Finish or change a row: the status, and summary/detail unless NULL;
 * end_time set to now unless the status is "running".  -ENOENT when no
 * row has that id. */
int hn_store_action_set(struct hn_store *s, int64_t id, const char *status,
			const char *summary, const char *detail);
/* Rows oldest first: id > 0 that row only; else parent > 0 that action's
 * steps; else all (parent 0: also steps; -1: top-level rows only).  cb's
 * non-zero return stops and is returned; -ENOENT when the store has no
 * actions table (written by an older hinomi). */
typedef int (*hn_action_cb)(const struct hn_action *a, void *arg);
int hn_store_actions(struct hn_store *s, int64_t id, int64_t parent,
		     hn_action_cb cb, void *arg);

/* Write one alert now, in a transaction of its own (callers without a
 * writer thread: the CLI's scans); like hn_store_submit_alert otherwise.
 * Needs a read-write open.  0 or -errno. */
int hn_store_alert_put(struct hn_store *s, const struct hn_alert *a);

/* ---- versions of sensitive files (the agent keeps them; remediation
 * reads them to put back what an attack changed) ---- */
struct hn_file_version {
	int64_t id;              /* row id (when read) */
	const char *path;
	uint64_t time;           /* when this content was read, ns since the epoch */
	uint64_t entity;         /* the process whose change made it read (0: none,
				  * a baseline) */
	char sha256[65];         /* of content ("" when deleted) */
	uint64_t size;
	uint32_t mode, uid, gid; /* st_mode: a symbolic link's content is its target */
	bool deleted;            /* the file was gone: no content */
	const void *content;
	size_t len;
};

/* Queue a version (copied) for the writer's next batch.  0, -EINVAL,
 * -EROFS, -ENOSPC (queue full: counted as a dropped hash update), -ENOMEM. */
int hn_store_submit_version(struct hn_store *s, const struct hn_file_version *v);
/* Versions of path, oldest first (cb's non-zero return stops and is
 * returned); -ENOENT when the store has no versions table. */
typedef int (*hn_version_cb)(const struct hn_file_version *v, void *arg);
int hn_store_file_versions(struct hn_store *s, const char *path, hn_version_cb cb, void *arg);
/* The newest version of every path (content not read: len 0). */
int hn_store_latest_versions(struct hn_store *s, hn_version_cb cb, void *arg);
/* ---- the scan's rescan cache (written by the CLI: hinomi scan) ----
 *
 * Table scan_clean: one row per file (dev, ino) that `hinomi scan` read
 * whole and found clean, with its identity then (size, mtime, ctime) and
 * the rule and IOC versions it was scanned with.  A later scan with the
 * same versions skips a file whose identity is unchanged.  Written in
 * transactions of the caller's on the read-write connection, like
 * actions; read through the read-only one. */
struct hn_scan_clean {
	uint64_t dev, ino;       /* dev in the kernel's encoding, as in events */
	uint64_t size, mtime_ns, ctime_ns;
};

/* The rows of these versions: cb for each (non-zero stops and is
 * returned).  -ENOENT when the store has no scan_clean table. */
typedef int (*hn_scan_clean_cb)(const struct hn_scan_clean *c, void *arg);
int hn_store_scan_clean_load(struct hn_store *s, const char *rules_version,
			     const char *ioc_version, hn_scan_clean_cb cb, void *arg);
/* Record n clean files (replacing their rows) in one transaction, at
 * time now.  Needs a read-write open.  0 or -errno. */
int hn_store_scan_clean_put(struct hn_store *s, const char *rules_version,
			    const char *ioc_version, const struct hn_scan_clean *v,
			    unsigned n, uint64_t now);
/* Forget n files (by dev and ino: found not clean) in one transaction. */
int hn_store_scan_clean_forget(struct hn_store *s, const struct hn_scan_clean *v,
			       unsigned n);
/* Delete the rows written before before_ns (files long gone or not
 * scanned again).  The rows deleted, or -errno. */
int hn_store_scan_clean_prune(struct hn_store *s, uint64_t before_ns);

/* ---- reading (the CLI) ---- */

struct hn_query {
	uint16_t types[64];      /* any of these; ntypes 0 = all */
	int ntypes;
	uint32_t pid;            /* 0 = any */
	uint64_t entity;         /* 0 = any */
	bool descendants;        /* with entity: its descendants too */
	uint64_t since;          /* ns since the epoch, 0 = any */
	uint64_t until;          /* 0 = any */
	int64_t after_id;        /* rows with id > after_id (follow mode) */
	const char *path;        /* events whose path is this, NULL = any */
	const char *path2;       /* events whose path2 (rename or link target)
				  * is this, NULL = any */
	bool bare;               /* no enrichment: proc.executable and
				  * parent_executable NULL (faster) */
	unsigned limit;          /* 0 = no limit */
	bool newest_first;
};

/* Events matching q in time order (or newest first), enriched with the
 * acting process's executable and its parent's executable.  cb returns 0 to
 * go on, non-zero to stop (that value is returned). The event passed to cb is
 * valid only during the call. */
typedef int (*hn_event_cb)(const struct hn_event *ev, void *arg);
int hn_store_query(struct hn_store *s, const struct hn_query *q,
		   hn_event_cb cb, void *arg);

struct hn_process {
	uint64_t entity, parent_entity;
	uint32_t pid, ppid;
	uint32_t uid, euid, gid, egid, auid;
	uint64_t start_time;     /* ns since the epoch */
	uint64_t exit_time;      /* 0 while running / unknown */
	int32_t exit_code, exit_signal;
	bool exited;
	char comm[16];
	char *executable;        /* latest image */
	char *args;              /* NUL-separated */
	size_t args_len;
	uint32_t argc;
	char *cwd;
	char sha256[65];
	bool from_snapshot;
};
void hn_process_free(struct hn_process *p);

/* One process by entity; -ENOENT when unknown. *out owned by the caller. */
int hn_store_process(struct hn_store *s, uint64_t entity, struct hn_process **out);
/* Entities whose pid is pid, newest first (pid reuse gives several). */
int hn_store_entities_by_pid(struct hn_store *s, uint32_t pid,
			     uint64_t *out, int max);
/* Children of entity (parent_entity = entity), oldest first.  cb as above. */
typedef int (*hn_process_cb)(const struct hn_process *p, void *arg);
int hn_store_children(struct hn_store *s, uint64_t entity,
		      hn_process_cb cb, void *arg);
/* Processes with no known parent in the store (tree roots), oldest first. */
int hn_store_roots(struct hn_store *s, hn_process_cb cb, void *arg);

/* Read-only SQL: refuses statements that would write.  cb gets each row's
 * column count, names and values as text (NULL for SQL NULL). */
typedef int (*hn_row_cb)(int ncol, const char *const *names,
			 const char *const *values, void *arg);
int hn_store_sql(struct hn_store *s, const char *sql, hn_row_cb cb, void *arg);

#endif
