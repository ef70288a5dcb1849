/*
 * store_int.h - internals shared by the store's files (store.c, writer.c,
 * retention.c, query.c).  Nothing outside src/store/ includes this.
 *
 * Connections and threads:
 *   db   read-write connection, NULL in readonly mode.  Used only with wmu
 *        held: by the writer thread for each batch and retention run, or by
 *        the caller's thread for hn_store_meta_set, hn_store_retain and an
 *        inline drain (flush/close before hn_store_start).
 *   rdb  read-only connection (SQLITE_OPEN_READONLY + query_only) used by
 *        every reader: hn_store_query and friends, hn_store_sql,
 *        hn_store_meta_get.  Readers are one caller thread at a time per
 *        handle (the CLI); the writer thread never touches rdb.
 *
 * Queue: a ring of queue_max ops (event or hash update) under mu.  seq_in
 * counts ops accepted, seq_done ops whose batch has ended (committed or
 * failed); flush waits for seq_done >= seq_in as it was at the call.
 * Events refused because the ring was full are freed and counted in
 * gap_pending, which the next batch turns into one HN_EV_GAP row.
 */
#ifndef HINOMI_STORE_INT_H
#define HINOMI_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/block.h"
#include "store/store.h"

#define HN_STORE_SCHEMA_VERSION 3

#define HN_STORE_DEF_MAX_BYTES  (1ULL << 30)
#define HN_STORE_DEF_MAX_AGE_NS (30ULL * 86400ULL * 1000000000ULL)
#define HN_STORE_DEF_BATCH_MAX  4096u
#define HN_STORE_DEF_BATCH_MS   1000u
#define HN_STORE_DEF_QUEUE_MAX  65536u
#define HN_STORE_BUSY_MS        5000
#define HN_STORE_RETAIN_EVERY_NS (5ULL * 1000000000ULL)

/* Direct-mapped cache of entities known to have a processes row, so that
 * ordinary events skip the processes look-up and touch (procs.c).
 * Cleared when retention deletes processes and when a batch fails. */
#define HN_STORE_KNOWN_SLOTS 4096u

/* Direct-mapped cache of the latest events row of each open (entity,
 * cookie) this writer inserted (types 10, 11, 20), so that a "written"
 * close flags its open by id instead of searching the process's events.
 * A miss, or a row that is not that open's any more, falls back to the
 * search.  Cleared when a batch fails (its ids are reused). */
#define HN_STORE_OPEN_SLOTS 16384u

/* Meta values queued for the next batch (hn_store_submit_meta). */
#define HN_STORE_META_SLOTS 4u
struct hn_store_meta {
	char *key, *value;
};

/* A row waiting for its block (writer.c): events are written in blocks of
 * up to HN_BLOCK_MAX_EVENTS (block.h), one event_blocks row each.  The
 * writer gives each row its id, so an open's id is known before its block
 * is written. */
struct hn_store_row {
	const struct hn_event *ev;
	uint32_t add_flags;      /* HN_EVF_* on top of the event's */
	int32_t op;              /* its op in the batch; -1: the GAP row */
	int64_t id;
};

/* New processes rows go in multi-row INSERTs of this many (procs.c). */
#define HN_PROCS_PER_INSERT 16u

/* A process start (its image: execs, hashes). */
static inline bool hn_store_is_exec(unsigned type)
{
	return type == HN_EV_PROCESS_START || type == HN_EV_PROCESS_SNAPSHOT;
}

/* An open whose row a "written" close flags (types 10, 11, 20). */
static inline bool hn_store_is_open(unsigned type)
{
	return type == HN_EV_FILE_CREATE || type == HN_EV_FILE_OPEN_WRITE ||
	       type == HN_EV_FILE_READ;
}

/* event_keys.kind: what a posting's key is (docs/SCHEMA.md). */
enum hn_key_kind {
	HN_KEY_ENTITY = 1,       /* events.entity */
	HN_KEY_PATH = 2,         /* events.path or events.path2 */
	HN_KEY_DST = 3,          /* events.dst_addr */
	HN_KEY_SHA256 = 4,       /* events.sha256 of a process start */
	HN_KEY_TARGET = 5,       /* events.target_entity */
};

struct hn_store_open {
	uint64_t entity, cookie;
	int64_t id;
};

/* A batch's "written" closes whose open is earlier in the same batch are
 * folded into the open's row (a pre-pass in writer.c):
 * wslot is a hash of (entity, cookie) -> the op of its latest row in the
 * batch, 2 * batch_max slots at least; wmerge[op] says what to do. */
struct hn_store_wslot {
	uint64_t entity, cookie;
	int32_t op;              /* -1: empty */
	bool open;               /* op is a row; else a close not folded */
};

enum hn_store_op_kind {
	HN_OP_EVENT = 1,
	HN_OP_HASH = 2,
	HN_OP_ALERT = 3,
	HN_OP_VERSION = 4,
};

struct hn_store_hash {
	uint64_t dev, ino, size, mtime;
	char sha256[65];
};

struct hn_store_op {
	enum hn_store_op_kind kind;
	union {
		struct hn_event *ev;
		struct hn_store_hash *hash;
		struct hn_alert *alert;   /* one block with its strings */
		struct hn_file_version *version;   /* one block: path, content */
	} u;
};

/* alerts.c: write one queued alert (writer thread, in its batch).  SQLite
 * rc. */
int hn_alert_write(struct hn_store *s, const struct hn_alert *a);

/* versions.c: write one queued file version (writer thread, in its
 * batch), keeping the newest HN_STORE_VERSIONS_PER_PATH of its path.
 * SQLite rc. */
#define HN_STORE_VERSIONS_PER_PATH 32
int hn_version_write(struct hn_store *s, const struct hn_file_version *v);

/* writer.c: put op on the ring (mu held); false when full or stopping. */
bool hn_store_ring_push(struct hn_store *s, const struct hn_store_op *op);

/* Writer's prepared statements, indexes into hn_store.wst[]. */
enum hn_store_wstmt {
	HN_WS_BEGIN,
	HN_WS_COMMIT,
	HN_WS_ROLLBACK,
	HN_WS_BLOCK,          /* an event_blocks row */
	HN_WS_KEY,            /* an event_keys row (a posting) */
	HN_WS_KEYS,           /* KEYS_PER_INSERT of them (writer.c) */
	HN_WS_EXEC,           /* an execs row (a process start) */
	HN_WS_EXECS,          /* EXECS_PER_INSERT of them (writer.c) */
	HN_WS_PROC_GET,       /* one processes row, for the batch's map */
	HN_WS_PROC_INSERT,    /* a row the batch made */
	HN_WS_PROC_INSERTS,   /* HN_PROCS_PER_INSERT of them */
	HN_WS_PROC_UPDATE,    /* a row the batch changed */
	HN_WS_HASH_PROC,      /* hash into processes whose latest start it is */
	HN_WS_HASH_KEYS,      /* ... postings to the blocks of its starts */
	HN_WS_HASH_EXECS,     /* ... and into those starts' execs rows */
	HN_WS_KNOWN_HASH,     /* the hash of a file identity, if known */
	HN_WS_FILE_HASH,      /* a computed hash into file_hashes */
	HN_WS_WRITTEN_ID,     /* flag an open as written, known by id */
	HN_WS_WRITTEN,        /* ... found by (entity, cookie) */
	HN_WS_META,           /* a queued meta value */
	HN_WS_ALERT,          /* an alert: a new row, or one more match */
	HN_WS_VERSION,        /* a file version */
	HN_WS_VERSION_TRIM,   /* ... and its path's old ones out */
	HN_WS_COUNT,
};

struct hn_store {
	char *path;
	char *wal_path;
	bool readonly;
	uint64_t max_bytes, max_age_ns;
	unsigned batch_max, batch_ms, queue_max, max_row_bytes;

	sqlite3 *db;                 /* read-write; NULL when readonly */
	sqlite3 *rdb;                /* read-only */
	sqlite3_stmt *wst[HN_WS_COUNT];

	pthread_mutex_t wmu;         /* serialises every use of db */

	pthread_mutex_t mu;          /* everything below */
	pthread_cond_t cv_work;      /* writer: work arrived / stop / flush */
	pthread_cond_t cv_done;      /* flushers: seq_done moved */
	struct hn_store_op *ring;
	struct hn_store_op *batch;   /* batch_max ops, the batch being written */
	unsigned head, count;        /* ring[head] is the oldest */
	uint64_t seq_in, seq_done;
	unsigned flush_waiters;
	bool running, stopping;
	pthread_t thread;
	uint64_t gap_pending;        /* events lost since the last GAP row */
	uint64_t gap_time;           /* time of the first of them */
	struct hn_store_meta meta[HN_STORE_META_SLOTS]; /* queued */
	unsigned nmeta;
	struct hn_store_stats st;    /* counters; backlog/db_bytes computed */
	uint64_t hash_dropped;
	uint64_t alerts_dropped;     /* hn_store_submit_alert: queue full */
	char werr[256];              /* last writer-side error */

	/* writer-only state (under wmu) */
	uint64_t known[HN_STORE_KNOWN_SLOTS];
	struct hn_pmap *pmap;        /* the batch's processes rows (procs.c) */
	uint64_t max_entity;         /* >= every entity processes has had */
	struct hn_store_open *opens; /* HN_STORE_OPEN_SLOTS */
	struct hn_store_wslot *wslots;
	unsigned wslots_mask;
	int32_t *wmerge;             /* batch_max: WM_* or the op folded into */
	uint8_t *wlost;              /* batch_max: 1 when the op's row failed */
	struct hn_store_row *rows;   /* HN_BLOCK_MAX_EVENTS pending rows */
	unsigned nrows;
	uint64_t bmin, bmax;         /* time range of the pending rows */
	struct hn_block_enc enc;     /* the block being encoded */
	char abuf[HN_BLOCK_MAX_EVENTS][64]; /* address texts, bound STATIC */
	char hbuf[HN_BLOCK_MAX_EVENTS][65]; /* hashes found for starts */
	int64_t next_id;             /* id of the next event */
	struct hn_keyset *keys;      /* the block's postings (keys.c) */
	struct hn_keyset *rkeys;     /* ... of a block retention deletes */
	struct hn_store_meta *wmeta; /* the batch's meta values */
	unsigned wnmeta;
	uint64_t last_retain_mono;

	/* caller-side error (hn_store_errmsg) */
	char err[512];
};

/* store.c */
void hn_store_set_err(struct hn_store *s, const char *what, sqlite3 *db);
void hn_store_set_errf(struct hn_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int hn_store_exec(sqlite3 *db, const char *sql);
/* One integer from a statement without parameters; -1 on error. */
int64_t hn_store_query_int(sqlite3 *db, const char *sql);
uint64_t hn_store_now_ns(void);
uint64_t hn_store_mono_ns(void);
/* sqlite result code -> -errno */
int hn_store_rc_errno(int rc);
/* Step a writer statement once, then reset it and clear its bindings.
 * SQLITE_OK for a finished step (DONE or ROW), else the SQLite rc. */
int hn_store_step(sqlite3_stmt *st);
/* Errors that concern one row only (skip the row, keep the batch). */
bool hn_store_row_error(int rc);

/* keys.c: the distinct posting keys of a block's events (kind, key), for
 * writing its event_keys rows and for deleting them with the block. */
#define HN_KEYSET_SLOTS 2048u
struct hn_key {
	int kind;                /* enum hn_key_kind */
	sqlite3_int64 i;         /* entity keys */
	const char *s;           /* text keys (point into the events, or abuf) */
};
struct hn_keyset;
struct hn_keyset *hn_keyset_new(void);
void hn_keyset_clear(struct hn_keyset *ks);
/* Add one key (str kept by the caller until the set is cleared). */
void hn_keyset_add(struct hn_keyset *ks, int kind, sqlite3_int64 i, const char *str);
/* Add ev's keys; abuf keeps its destination address text alive. */
void hn_keyset_add_event(struct hn_keyset *ks, const struct hn_event *ev,
			 char abuf[64]);
/* Slot k's key, or NULL when empty (k < HN_KEYSET_SLOTS). */
const struct hn_key *hn_keyset_at(const struct hn_keyset *ks, unsigned k);
unsigned hn_keyset_count(const struct hn_keyset *ks);

/* vtab.c: the `events` virtual table over the blocks, on a connection. */
int hn_store_vtab_register(sqlite3 *db);

/* query.c: an event from a row of the 56 events columns (docs/SCHEMA.md)
 * followed by four enrichment columns (parent start, parent entity, image,
 * parent image; NULL when not wanted).  NULL on ENOMEM. */
struct hn_event *hn_store_row_event(sqlite3_stmt *st);
/* "id, time, ..., gap_queue": the 56 events columns, in that order. */
extern const char hn_store_ev_cols[];

/* writer.c */
int hn_writer_prepare(struct hn_store *s);
void hn_writer_finalize(struct hn_store *s);
void hn_writer_stop(struct hn_store *s);

/* procs.c: the batch's processes rows, each written once (wmu held).
 * hn_procs_event applies one event's change (SQLite rc); hn_procs_flush
 * writes the changed rows and empties the map (SQLite rc; a row SQLite
 * refuses on its own is skipped); hn_procs_discard empties it unwritten. */
struct hn_pmap;
int hn_procs_init(struct hn_store *s);
void hn_procs_free(struct hn_store *s);
int hn_procs_event(struct hn_store *s, const struct hn_event *ev);
int hn_procs_flush(struct hn_store *s);
void hn_procs_discard(struct hn_store *s);

/* retention.c: one retention pass; wmu held by the caller. */
int hn_retention_run(struct hn_store *s);

#endif
