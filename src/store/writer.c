/*
 * writer.c - the store's write side: the bounded queue, the writer thread,
 * and the SQL that turns one batch of events into rows (events + processes)
 * in one transaction.
 *
 *   hn_store_submit ──► ring (queue_max ops, under mu) ──► writer thread
 *        │ full: free the event, dropped++, gap_pending++       │
 *        ▼                                                      ▼
 *   -ENOSPC                BEGIN; [GAP row]; rows...; hash updates; COMMIT
 *
 * Invariants:
 *  - The ring never holds more than queue_max ops; submit never waits for
 *    the database, only for mu (held for a few instructions).
 *  - Every event accepted is either committed or, if its batch fails,
 *    counted in write_errors and in gap_pending; every event refused is
 *    counted in dropped and gap_pending.  gap_pending becomes one
 *    HN_EV_GAP row (gap_queue = the count) in the next batch that commits:
 *    nothing is lost silently.
 *  - One transaction per batch, so a crash loses at most the batch in
 *    flight.  A row that SQLite refuses on its own (too big, constraint) is
 *    skipped and counted; any other error rolls the batch back.
 *  - db is used only with wmu held; batches are popped and completed under
 *    wmu, so seq_done advances in queue order.
 *  - processes is maintained in the same transaction as the events that
 *    change it (see docs/SCHEMA.md for the rules): procs.c applies each
 *    event's change to the batch's copy of the row and writes the changed
 *    rows before anything else reads processes (a hash update) and before
 *    COMMIT.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* events columns in bind order (?1 = id, ?2 = time ... ?56 = gap_queue);
 * row r of a multi-row INSERT binds ?(r * EV_NCOLS + 1)... */
static const char *const ev_cols[] = {
	"id", "time", "type", "entity", "parent_entity", "pid", "tid", "ppid",
	"uid", "euid", "gid", "egid", "auid", "comm", "flags", "result",
	"path", "path2", "filename", "args", "argc", "cwd", "tty", "cgroup",
	"cgroup_id", "container_id", "sessionid", "sha256", "exit_code",
	"exit_signal", "dev", "ino", "size", "mtime", "mode", "oflags",
	"owner_uid", "owner_gid", "cookie", "target_pid", "target_entity",
	"request", "cred_arg0", "cred_arg1", "cred_arg2", "transport",
	"family", "src_addr", "src_port", "dst_addr", "dst_port", "dns_name",
	"dns_type", "name", "gap_dropped", "gap_queue",
};
#define EV_NCOLS ((int)(sizeof(ev_cols) / sizeof(ev_cols[0])))

/* processes columns; procs.c's enum pcol follows this order after entity. */
#define PROC_COLS \
	"parent_entity, pid, ppid, uid, euid, gid, egid, auid, start_time," \
	" exit_time, exit_code, exit_signal, exited, comm, executable, args," \
	" argc, cwd, sha256, from_snapshot"

static const char *const wsql[HN_WS_COUNT] = {
	[HN_WS_BEGIN] = "BEGIN IMMEDIATE",
	[HN_WS_COMMIT] = "COMMIT",
	[HN_WS_ROLLBACK] = "ROLLBACK",
	[HN_WS_INSERT_EVENT] = NULL, /* built from ev_cols */
	[HN_WS_INSERT_EVENTS] = NULL,
	/* The rules of each event's change are in procs.c (and
	 * docs/SCHEMA.md); these only read and write whole rows. */
	[HN_WS_PROC_GET] =
		"SELECT " PROC_COLS " FROM processes WHERE entity = ?1",
	[HN_WS_PROC_INSERT] =
		"INSERT INTO processes(entity, " PROC_COLS ") VALUES (?1, ?2,"
		" ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		" ?17, ?18, ?19, ?20, ?21)",
	[HN_WS_PROC_UPDATE] =
		"UPDATE processes SET parent_entity = ?2, pid = ?3, ppid = ?4,"
		" uid = ?5, euid = ?6, gid = ?7, egid = ?8, auid = ?9,"
		" start_time = ?10, exit_time = ?11, exit_code = ?12,"
		" exit_signal = ?13, exited = ?14, comm = ?15, executable = ?16,"
		" args = ?17, argc = ?18, cwd = ?19, sha256 = ?20,"
		" from_snapshot = ?21 WHERE entity = ?1",
	/* Processes first: the events' sha256 IS NULL still marks them.  A
	 * process row takes the hash only if that start is its latest. */
	[HN_WS_HASH_PROC] =
		"UPDATE processes SET sha256 = ?5"
		" WHERE sha256 IS NULL AND entity IN ("
		"  SELECT e.entity FROM events e"
		"  WHERE e.type IN (1, 4) AND e.sha256 IS NULL"
		"   AND e.ino IS ?2 AND e.dev IS ?1 AND e.size IS ?3"
		"   AND e.mtime IS ?4"
		"   AND NOT EXISTS (SELECT 1 FROM events x"
		"    WHERE x.entity = e.entity AND x.type IN (1, 4)"
		"     AND x.time > e.time))",
	/* The sensor reports "this open was written" at close, keyed by the
	 * open's cookie (its struct file): one event per open, flagged. */
	[HN_WS_WRITTEN] =
		"UPDATE events SET flags = flags | 32"
		" WHERE id = (SELECT id FROM events"
		"  WHERE entity = ?1 AND cookie = ?2 AND type IN (10, 11, 20)"
		"  ORDER BY id DESC LIMIT 1)",
	/* The same when the writer knows the open's row: still that open's
	 * (retention may have deleted it and the id been reused)? */
	[HN_WS_WRITTEN_ID] =
		"UPDATE events SET flags = flags | 32"
		" WHERE id = ?3 AND entity = ?1 AND cookie = ?2"
		"  AND type IN (10, 11, 20)",
	/* Which ids hold which times: time ranges without an index on
	 * events(time) (see docs/SCHEMA.md). */
	[HN_WS_BATCH] =
		"INSERT INTO event_batches(first_id, last_id, min_time, max_time)"
		" VALUES (?1, ?2, ?3, ?4)",
	[HN_WS_FILE_HASH] =
		"INSERT INTO file_hashes(dev, ino, size, mtime, sha256, seen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT DO UPDATE SET sha256 = excluded.sha256,"
		"  seen = excluded.seen",
	[HN_WS_HASH_EVENT] =
		"UPDATE events SET sha256 = ?5"
		" WHERE type IN (1, 4) AND sha256 IS NULL"
		"  AND ino IS ?2 AND dev IS ?1 AND size IS ?3 AND mtime IS ?4",
};

/* "INSERT INTO events(cols) VALUES (?1, ...), ..." for nrows rows. */
static char *insert_sql(unsigned nrows)
{
	size_t cap = 512 + (size_t)nrows * EV_NCOLS * 8, len = 0;
	char *sql = malloc(cap);
	int n, i;

#define ADD(...) do { \
		n = snprintf(sql + len, cap - len, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= cap - len) \
			goto fail; \
		len += (size_t)n; \
	} while (0)

	if (!sql)
		return NULL;
	ADD("INSERT INTO events(");
	for (i = 0; i < EV_NCOLS; i++)
		ADD("%s%s", i ? ", " : "", ev_cols[i]);
	ADD(") VALUES ");
	for (unsigned r = 0; r < nrows; r++) {
		ADD("%s(", r ? ", " : "");
		for (i = 0; i < EV_NCOLS; i++)
			ADD("%s?%u", i ? ", " : "", r * EV_NCOLS + i + 1);
		ADD(")");
	}
#undef ADD
	return sql;
fail:
	free(sql);
	return NULL;
}

int hn_writer_prepare(struct hn_store *s)
{
	char *ins = insert_sql(1), *insn = insert_sql(HN_STORE_INSERT_ROWS);
	sqlite3_stmt *st = NULL;
	int r = -ENOMEM, rc, i;

	s->batch = calloc(s->batch_max, sizeof(*s->batch));
	s->opens = calloc(HN_STORE_OPEN_SLOTS, sizeof(*s->opens));
	s->wslots_mask = 63;
	while (s->wslots_mask < 2 * s->batch_max)
		s->wslots_mask = s->wslots_mask * 2 + 1;
	s->wslots = malloc(((size_t)s->wslots_mask + 1) * sizeof(*s->wslots));
	s->wmerge = calloc(s->batch_max, sizeof(*s->wmerge));
	s->wlost = calloc(s->batch_max, sizeof(*s->wlost));
	s->rows = calloc(HN_STORE_INSERT_ROWS, sizeof(*s->rows));
	s->nrows = 0;
	if (s->wslots)
		for (unsigned i = 0; i <= s->wslots_mask; i++)
			s->wslots[i].op = -1;
	if (!ins || !insn || !s->batch || !s->opens || !s->wslots ||
	    !s->wmerge || !s->wlost || !s->rows || hn_procs_init(s) < 0) {
		hn_store_set_errf(s, "no memory for the writer");
		goto out;
	}
	for (i = 0; i < HN_WS_COUNT; i++) {
		const char *sql = i == HN_WS_INSERT_EVENT ? ins :
				  i == HN_WS_INSERT_EVENTS ? insn : wsql[i];
		if (!sql)
			continue;
		rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					&s->wst[i], NULL);
		if (rc != SQLITE_OK) {
			hn_store_set_err(s, "preparing the writer", s->db);
			r = hn_store_rc_errno(rc);
			goto out;
		}
	}
	/* The writer numbers the rows; ids only grow (a rolled-back batch
	 * leaves its ids unused). */
	rc = sqlite3_prepare_v2(s->db, "SELECT COALESCE(max(id), 0) + 1 FROM events",
				-1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		s->next_id = sqlite3_column_int64(st, 0);
	} else {
		hn_store_set_err(s, "reading the last event id", s->db);
		r = -EIO;
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	free(ins);
	free(insn);
	return r;
}

void hn_writer_finalize(struct hn_store *s)
{
	for (int i = 0; i < HN_WS_COUNT; i++) {
		sqlite3_finalize(s->wst[i]);
		s->wst[i] = NULL;
	}
	free(s->batch);
	s->batch = NULL;
	free(s->opens);
	s->opens = NULL;
	free(s->wslots);
	s->wslots = NULL;
	free(s->wmerge);
	s->wmerge = NULL;
	free(s->wlost);
	s->wlost = NULL;
	free(s->rows);
	s->rows = NULL;
	hn_procs_free(s);
}

/* ---- binding ----
 *
 * Every writer statement runs through hn_store_step, which clears its
 * bindings: parameters are NULL before binding, so only values are bound
 * (a NULL is not bound again). */

static void bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

/* Unsigned values are stored bit for bit as signed 64-bit; 0 is NULL. */
static void bind_u64z(sqlite3_stmt *st, int i, uint64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

static void bind_str(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_comm(sqlite3_stmt *st, int i, const char comm[16])
{
	size_t n = strnlen(comm, 16);

	if (n)
		sqlite3_bind_text(st, i, comm, (int)n, SQLITE_STATIC);
}

static void bind_args(sqlite3_stmt *st, int i, const struct hn_event *ev)
{
	if (ev->args)
		sqlite3_bind_blob64(st, i, ev->args, ev->args_len, SQLITE_STATIC);
}

/* buf must outlive the statement's step (bound SQLITE_STATIC). */
static void bind_addr(sqlite3_stmt *st, int iaddr, int iport,
		      const struct hn_addr *a, char buf[64])
{
	if ((a->family == AF_INET || a->family == AF_INET6) &&
	    hn_addr_str(a, buf, 64) && buf[0])
		sqlite3_bind_text(st, iaddr, buf, -1, SQLITE_STATIC);
	if (a->family)
		sqlite3_bind_int(st, iport, a->port);
}

static bool is_image_event(unsigned type)
{
	return type == HN_EV_PROCESS_START || type == HN_EV_PROCESS_SNAPSHOT ||
	       type == HN_EV_PROCESS_FORK;
}

/* Bind row r into st from parameter b + 1 on (its id, then ev_cols'
 * order).  r->abuf holds the addresses' text until the step. */
static void bind_event(sqlite3_stmt *st, int b, struct hn_store_row *r)
{
	const struct hn_event *ev = r->ev;
	uint32_t add_flags = r->add_flags;
	char (*abuf)[64] = r->abuf;
	const struct hn_proc *p = &ev->proc;
	unsigned t = ev->type;
	bool is_exit = t == HN_EV_PROCESS_EXIT;
	bool is_file = hn_event_is_file(t);
	bool is_gap = t == HN_EV_GAP;
	uint16_t fam = ev->dst.family ? ev->dst.family : ev->src.family;

	bind_i64(st, b + 1, r->id);
	bind_i64(st, b + 2, (int64_t)ev->time);
	bind_i64(st, b + 3, t);
	bind_i64(st, b + 4, (int64_t)p->entity);
	bind_u64z(st, b + 5, p->parent_entity);
	bind_i64(st, b + 6, p->pid);
	bind_i64(st, b + 7, p->tid);
	bind_i64(st, b + 8, p->ppid);
	bind_i64(st, b + 9, p->uid);
	bind_i64(st, b + 10, p->euid);
	bind_i64(st, b + 11, p->gid);
	bind_i64(st, b + 12, p->egid);
	bind_i64(st, b + 13, p->auid);
	bind_comm(st, b + 14, p->comm);
	bind_i64(st, b + 15, ev->flags | add_flags);
	bind_i64(st, b + 16, ev->result);
	bind_str(st, b + 17, ev->path);
	bind_str(st, b + 18, ev->path2);
	bind_str(st, b + 19, ev->filename);
	bind_args(st, b + 20, ev);
	if (ev->args || is_image_event(t))
		bind_i64(st, b + 21, ev->argc);
	bind_str(st, b + 22, ev->cwd);
	bind_str(st, b + 23, ev->tty);
	bind_str(st, b + 24, ev->cgroup);
	bind_u64z(st, b + 25, ev->cgroup_id);
	bind_str(st, b + 26, ev->container_id);
	bind_u64z(st, b + 27, ev->sessionid);
	bind_str(st, b + 28, ev->sha256[0] ? ev->sha256 : NULL);
	if (is_exit || ev->exit_code || ev->exit_signal) {
		bind_i64(st, b + 29, ev->exit_code);
		bind_i64(st, b + 30, ev->exit_signal);
	}
	bind_u64z(st, b + 31, ev->dev);
	bind_u64z(st, b + 32, ev->ino);
	bind_u64z(st, b + 33, ev->size);
	bind_u64z(st, b + 34, ev->mtime);
	if (is_file || ev->mode)
		bind_i64(st, b + 35, ev->mode);
	bind_u64z(st, b + 36, ev->oflags);
	if (t == HN_EV_FILE_CHOWN || ev->owner_uid || ev->owner_gid) {
		bind_i64(st, b + 37, ev->owner_uid);
		bind_i64(st, b + 38, ev->owner_gid);
	}
	bind_u64z(st, b + 39, ev->cookie);
	bind_u64z(st, b + 40, ev->target_pid);
	bind_u64z(st, b + 41, ev->target_entity);
	bind_u64z(st, b + 42, ev->request);
	bind_u64z(st, b + 43, ev->cred_arg[0]);
	bind_u64z(st, b + 44, ev->cred_arg[1]);
	bind_u64z(st, b + 45, ev->cred_arg[2]);
	bind_u64z(st, b + 46, ev->transport);
	bind_u64z(st, b + 47, fam);
	bind_addr(st, b + 48, b + 49, &ev->src, abuf[0]);
	bind_addr(st, b + 50, b + 51, &ev->dst, abuf[1]);
	bind_str(st, b + 52, ev->dns_name);
	bind_u64z(st, b + 53, ev->dns_type);
	bind_str(st, b + 54, ev->name);
	if (is_gap) {
		bind_i64(st, b + 55, (int64_t)ev->gap_dropped);
		bind_i64(st, b + 56, (int64_t)ev->gap_queue);
	} else {
		bind_u64z(st, b + 55, ev->gap_dropped);
		bind_u64z(st, b + 56, ev->gap_queue);
	}
}


static int flush_rows(struct hn_store *s);

static int hash_update(struct hn_store *s, const struct hn_store_hash *h)
{
	static const enum hn_store_wstmt order[] = { HN_WS_HASH_PROC,
						     HN_WS_HASH_EVENT,
						     HN_WS_FILE_HASH };
	int rc;

	/* the hash reads and changes events and processes: write the
	 * batch's rows first */
	rc = flush_rows(s);
	if (rc == SQLITE_OK)
		rc = hn_procs_flush(s);
	for (size_t i = 0; rc == SQLITE_OK &&
	     i < sizeof(order) / sizeof(order[0]); i++) {
		sqlite3_stmt *st = s->wst[order[i]];
		bind_u64z(st, 1, h->dev);
		bind_u64z(st, 2, h->ino);
		bind_u64z(st, 3, h->size);
		bind_u64z(st, 4, h->mtime);
		sqlite3_bind_text(st, 5, h->sha256, -1, SQLITE_STATIC);
		if (order[i] == HN_WS_FILE_HASH) {
			/* key columns are NOT NULL: 0 stays 0 */
			for (int k = 0; k < 4; k++) {
				const uint64_t v[4] = { h->dev, h->ino, h->size, h->mtime };
				bind_i64(st, k + 1, (int64_t)v[k]);
			}
			bind_i64(st, 6, (int64_t)hn_store_now_ns());
		}
		rc = hn_store_step(st);
	}
	return rc;
}

static bool is_open_event(unsigned type)
{
	return type == HN_EV_FILE_CREATE || type == HN_EV_FILE_OPEN_WRITE ||
	       type == HN_EV_FILE_READ;
}

static struct hn_store_open *open_slot(struct hn_store *s, uint64_t entity,
				       uint64_t cookie)
{
	uint64_t h = (entity ^ (cookie * 0x9E3779B97F4A7C15ULL)) *
		     0xBF58476D1CE4E5B9ULL;

	return &s->opens[(h >> 32) % HN_STORE_OPEN_SLOTS];
}

/* A "written" close: flag the latest row of that open (entity, cookie),
 * by id when this writer inserted it, else by searching.  *done when a
 * row was flagged. SQLite rc. */
static int flag_written(struct hn_store *s, const struct hn_event *ev,
			bool *done)
{
	struct hn_store_open *o = open_slot(s, ev->proc.entity, ev->cookie);
	sqlite3_stmt *w;
	int rc;

	*done = false;
	if (ev->proc.entity && o->entity == ev->proc.entity &&
	    o->cookie == ev->cookie) {
		w = s->wst[HN_WS_WRITTEN_ID];
		bind_u64z(w, 1, ev->proc.entity);
		bind_u64z(w, 2, ev->cookie);
		bind_i64(w, 3, o->id);
		rc = hn_store_step(w);
		if (rc != SQLITE_OK)
			return rc;
		if (sqlite3_changes(s->db) > 0) {
			*done = true;
			return SQLITE_OK;
		}
	}
	w = s->wst[HN_WS_WRITTEN];
	bind_u64z(w, 1, ev->proc.entity);
	bind_u64z(w, 2, ev->cookie);
	rc = hn_store_step(w);
	if (rc == SQLITE_OK)
		*done = sqlite3_changes(s->db) > 0;
	return rc;
}

static bool is_written_close(const struct hn_event *ev)
{
	return ev->type == HN_EV_FILE_OPEN_WRITE && (ev->flags & HN_EVF_WRITTEN) &&
	       !ev->path && ev->cookie;
}

/* A row is in: its open's id for "written" closes, its processes change. */
static int row_done(struct hn_store *s, const struct hn_store_row *r)
{
	const struct hn_event *ev = r->ev;
	int rc;

	if (ev->cookie && ev->proc.entity && is_open_event(ev->type)) {
		struct hn_store_open *o = open_slot(s, ev->proc.entity, ev->cookie);
		o->entity = ev->proc.entity;
		o->cookie = ev->cookie;
		o->id = r->id;
	}
	rc = hn_procs_event(s, ev);
	/* The event is in; a processes row SQLite refuses on its own does
	 * not cost it (the next event of that process tries again). */
	return hn_store_row_error(rc) ? SQLITE_OK : rc;
}

/*
 * Write the pending rows: all in one multi-row INSERT when the chunk is
 * full, else one by one.  When the chunk's statement fails on a row of
 * its own (hn_store_row_error; the statement left no row behind), the
 * rows go one by one and each one SQLite refuses is marked in wlost[] and
 * skipped.  The GAP row (op -1) is never skipped: its failure is the
 * batch's.  SQLite rc.
 */
static int flush_rows(struct hn_store *s)
{
	unsigned n = s->nrows;
	int rc = SQLITE_OK;

	s->nrows = 0;
	if (n == HN_STORE_INSERT_ROWS) {
		sqlite3_stmt *st = s->wst[HN_WS_INSERT_EVENTS];
		for (unsigned i = 0; i < n; i++)
			bind_event(st, (int)i * EV_NCOLS, &s->rows[i]);
		rc = hn_store_step(st);
		if (rc == SQLITE_OK) {
			for (unsigned i = 0; rc == SQLITE_OK && i < n; i++)
				rc = row_done(s, &s->rows[i]);
			return rc;
		}
		if (!hn_store_row_error(rc))
			return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		struct hn_store_row *r = &s->rows[i];
		bind_event(s->wst[HN_WS_INSERT_EVENT], 0, r);
		rc = hn_store_step(s->wst[HN_WS_INSERT_EVENT]);
		if (rc == SQLITE_OK)
			rc = row_done(s, r);
		else if (hn_store_row_error(rc) && r->op >= 0) {
			s->wlost[r->op] = 1;
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Queue one event's row (add_flags on top of its flags) for the next
 * chunk; op is its op in the batch (-1: the GAP row, ev on the caller's
 * stack, so written at once).  A "written" close flags its open's row
 * instead, when there is one.  ev must live until the chunk is flushed.
 * SQLite rc. */
static int write_event(struct hn_store *s, const struct hn_event *ev,
		       uint32_t add_flags, int32_t op)
{
	struct hn_store_row *r;
	int rc;

	if (is_written_close(ev)) {
		bool done;
		/* the open may be among the pending rows */
		rc = flush_rows(s);
		if (rc == SQLITE_OK)
			rc = flag_written(s, ev, &done);
		if (rc != SQLITE_OK)
			return rc;
		/* the open was recorded: done; else (opened before the agent
		 * started) keep the fact as an event of its own */
		if (done)
			return SQLITE_OK;
	}
	r = &s->rows[s->nrows++];
	r->ev = ev;
	r->add_flags = add_flags;
	r->op = op;
	r->id = s->next_id++;
	if (ev->time < s->bmin)
		s->bmin = ev->time;
	if (ev->time > s->bmax)
		s->bmax = ev->time;
	if (s->nrows == HN_STORE_INSERT_ROWS || op < 0)
		return flush_rows(s);
	return SQLITE_OK;
}

/* wmerge[] values (else: the op of the open a close is folded into) */
#define WM_NONE  (-1)    /* written as usual */
#define WM_FLAG  (-2)    /* an open: insert it flagged written */

static struct hn_store_wslot *wslot(struct hn_store *s, uint64_t entity,
				    uint64_t cookie)
{
	uint64_t h = (entity ^ (cookie * 0x9E3779B97F4A7C15ULL)) *
		     0xBF58476D1CE4E5B9ULL;
	unsigned i = (unsigned)(h >> 32) & s->wslots_mask;

	while (s->wslots[i].op >= 0 &&
	       (s->wslots[i].entity != entity || s->wslots[i].cookie != cookie))
		i = (i + 1) & s->wslots_mask;
	return &s->wslots[i];
}

/*
 * A "written" close flags the latest row of its open (entity, cookie,
 * type 10/11/20).  When that row is an open earlier in this batch, insert
 * the open flagged and drop the close: the same row, without an UPDATE.
 * Walk the batch in order, keeping per (entity, cookie) its latest row
 * candidate: an event that will be inserted (open), or a close that is
 * not folded (it may find a row in the database, or become a row itself:
 * the closes after it are left to write_event).  If the open's insert
 * fails on its own, its closes are written as usual (write_batch).
 */
static void fold_written(struct hn_store *s, struct hn_store_op *ops,
			 unsigned n)
{
	unsigned used = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct hn_event *ev;
		struct hn_store_wslot *w;
		bool close;

		s->wmerge[i] = WM_NONE;
		if (ops[i].kind != HN_OP_EVENT)
			continue;
		ev = ops[i].u.ev;
		/* entity 0 is bound NULL in the search: it never matches */
		if (!ev->cookie || !ev->proc.entity || !is_open_event(ev->type))
			continue;
		close = is_written_close(ev);
		w = wslot(s, ev->proc.entity, ev->cookie);
		if (close && w->op >= 0 && w->open) {
			s->wmerge[i] = w->op;
			s->wmerge[w->op] = WM_FLAG;
			continue;
		}
		if (w->op < 0) {
			w->entity = ev->proc.entity;
			w->cookie = ev->cookie;
			used++;
		}
		w->op = (int32_t)i;
		w->open = !close;
	}
	if (used)
		for (unsigned i = 0; i <= s->wslots_mask; i++)
			s->wslots[i].op = -1;
}

struct batch_result {
	uint64_t written;        /* event rows committed (GAP included) */
	uint64_t lost_events;    /* events not committed */
	uint64_t lost_ops;       /* ops of any kind not committed */
	bool failed;             /* the transaction was rolled back */
};

/* Write ops[0..n) (and a GAP row first when gap > 0) in one transaction.
 * wmu held. */
static void write_batch(struct hn_store *s, struct hn_store_op *ops,
			unsigned n, uint64_t gap, uint64_t gap_time,
			struct batch_result *res)
{
	uint64_t skipped_ev = 0, skipped_ops = 0, written = 0;
	int64_t first_id = s->next_id;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(s->wlost, 0, n * sizeof(*s->wlost));
	s->nrows = 0;
	s->bmin = UINT64_MAX;
	s->bmax = 0;
	rc = hn_store_step(s->wst[HN_WS_BEGIN]);
	if (rc != SQLITE_OK)
		goto fail;
	if (gap) {
		struct hn_event g;
		memset(&g, 0, sizeof(g));
		g.type = HN_EV_GAP;
		g.time = gap_time ? gap_time : hn_store_now_ns();
		g.gap_queue = gap;
		rc = write_event(s, &g, 0, -1);
		if (rc != SQLITE_OK)
			goto fail;
		written++;
	}
	fold_written(s, ops, n);
	for (unsigned i = 0; i < n; i++) {
		if (s->wmerge[i] >= 0)
			continue; /* folded into its open's row, flagged there */
		if (ops[i].kind == HN_OP_EVENT)
			rc = write_event(s, ops[i].u.ev, s->wmerge[i] == WM_FLAG ?
					 HN_EVF_WRITTEN : 0, (int32_t)i);
		else
			rc = hash_update(s, ops[i].u.hash);
		if (rc == SQLITE_OK)
			continue;
		if (!hn_store_row_error(rc))
			goto fail;
		s->wlost[i] = 1;
	}
	rc = flush_rows(s);
	if (rc != SQLITE_OK)
		goto fail;
	/* An open whose row SQLite refused: its folded closes look for a
	 * row (or become rows) after all. */
	for (unsigned i = 0; i < n; i++) {
		if (!s->wlost[i] || s->wmerge[i] != WM_FLAG)
			continue;
		for (unsigned j = i + 1; j < n; j++) {
			if (s->wmerge[j] != (int32_t)i)
				continue;
			s->wmerge[j] = WM_NONE;
			rc = write_event(s, ops[j].u.ev, 0, (int32_t)j);
			if (rc == SQLITE_OK)
				rc = flush_rows(s);
			if (rc != SQLITE_OK && !hn_store_row_error(rc))
				goto fail;
			if (rc != SQLITE_OK)
				s->wlost[j] = 1;
		}
	}
	rc = hn_procs_flush(s);
	if (rc != SQLITE_OK)
		goto fail;
	if (s->next_id > first_id) {
		sqlite3_stmt *b = s->wst[HN_WS_BATCH];
		bind_i64(b, 1, first_id);
		bind_i64(b, 2, s->next_id - 1);
		bind_i64(b, 3, (int64_t)s->bmin);
		bind_i64(b, 4, (int64_t)s->bmax);
		rc = hn_store_step(b);
		if (rc != SQLITE_OK)
			goto fail;
	}
	rc = hn_store_step(s->wst[HN_WS_COMMIT]);
	if (rc != SQLITE_OK)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		bool is_ev = ops[i].kind == HN_OP_EVENT;
		if (s->wlost[i]) {
			skipped_ops++;
			skipped_ev += is_ev;
		} else {
			written += is_ev;
		}
	}
	res->written = written;
	res->lost_events = skipped_ev;
	res->lost_ops = skipped_ops;
	return;
fail:
	pthread_mutex_lock(&s->mu);
	snprintf(s->werr, sizeof(s->werr), "writing a batch: %s",
		 sqlite3_errmsg(s->db));
	pthread_mutex_unlock(&s->mu);
	hn_procs_discard(s);
	s->nrows = 0;
	if (!sqlite3_get_autocommit(s->db))
		hn_store_step(s->wst[HN_WS_ROLLBACK]);
	/* Rows of this batch may be cached as known, and their ids as
	 * opens' rows (ids are reused after a rollback): forget them all. */
	memset(s->known, 0, sizeof(s->known));
	memset(s->opens, 0, HN_STORE_OPEN_SLOTS * sizeof(*s->opens));
	res->failed = true;
	res->lost_ops = n;
	res->lost_events = 0;
	for (unsigned i = 0; i < n; i++)
		if (ops[i].kind == HN_OP_EVENT)
			res->lost_events++;
}

static void op_free(struct hn_store_op *op)
{
	if (op->kind == HN_OP_EVENT)
		hn_event_free(op->u.ev);
	else
		free(op->u.hash);
}

/* Pop up to batch_max ops and write them (with the pending GAP) as one
 * batch.  Takes wmu for the whole pop-write-complete so batches end in
 * queue order.  Returns 1 when a batch committed, 0 when there was nothing
 * to do, -1 when the batch failed (so loops over it do not spin). */
static int drain_once(struct hn_store *s)
{
	struct hn_store_op *ops = s->batch;
	struct batch_result res;
	unsigned n, i;
	uint64_t gap, gap_time;

	pthread_mutex_lock(&s->wmu);
	pthread_mutex_lock(&s->mu);
	n = s->count < s->batch_max ? s->count : s->batch_max;
	for (i = 0; i < n; i++) {
		ops[i] = s->ring[s->head];
		s->head = (s->head + 1) % s->queue_max;
		s->count--;
	}
	gap = s->gap_pending;
	gap_time = s->gap_time;
	s->gap_pending = 0;
	s->gap_time = 0;
	pthread_mutex_unlock(&s->mu);

	if (!n && !gap) {
		pthread_mutex_unlock(&s->wmu);
		return 0;
	}
	write_batch(s, ops, n, gap, gap_time, &res);
	for (i = 0; i < n; i++)
		op_free(&ops[i]);

	pthread_mutex_lock(&s->mu);
	s->seq_done += n;
	s->st.written += res.written;
	s->st.write_errors += res.lost_ops;
	if (!res.failed)
		s->st.batches++;
	if (res.failed) {
		/* The GAP row was rolled back with the rest: carry it, and
		 * the events this batch lost, to the next GAP. */
		s->gap_pending += gap + res.lost_events;
		if (!s->gap_time)
			s->gap_time = gap_time ? gap_time : hn_store_now_ns();
	} else if (res.lost_events) {
		s->gap_pending += res.lost_events;
		if (!s->gap_time)
			s->gap_time = hn_store_now_ns();
	}
	pthread_cond_broadcast(&s->cv_done);
	pthread_mutex_unlock(&s->mu);
	pthread_mutex_unlock(&s->wmu);
	return res.failed ? -1 : 1;
}

/* ---- the thread ---- */

static void deadline_after(struct timespec *ts, uint64_t ns)
{
	uint64_t t = hn_store_mono_ns() + ns;

	ts->tv_sec = (time_t)(t / 1000000000ULL);
	ts->tv_nsec = (long)(t % 1000000000ULL);
}

static void retain_if_due(struct hn_store *s, uint64_t *next)
{
	uint64_t now = hn_store_mono_ns();

	if (now < *next)
		return;
	pthread_mutex_lock(&s->wmu);
	hn_retention_run(s);
	pthread_mutex_unlock(&s->wmu);
	*next = hn_store_mono_ns() + HN_STORE_RETAIN_EVERY_NS;
}

/*
 * The writer thread:
 *
 *   idle ──work/flush/stop──► fill (up to batch_ms, or batch_max queued,
 *    ▲  └─every 5 s──► retention          or a flush/stop asked)
 *    │                                      │
 *    └──────── commit one batch ◄───────────┘
 *                 (failed: wait 1 s unless stopping)
 *
 * It exits once stopping is set and the queue is empty (and the GAP row
 * written, unless writing has just failed).
 */
static void *writer_main(void *arg)
{
	struct hn_store *s = arg;
	struct timespec ts;
	uint64_t next_retain = hn_store_mono_ns() + HN_STORE_RETAIN_EVERY_NS;
	bool failed = false;
	int d;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->count && !(s->gap_pending && !failed) && !s->stopping) {
			uint64_t now = hn_store_mono_ns();
			if (now >= next_retain) {
				pthread_mutex_unlock(&s->mu);
				retain_if_due(s, &next_retain);
				pthread_mutex_lock(&s->mu);
				continue;
			}
			deadline_after(&ts, next_retain - now);
			pthread_cond_timedwait(&s->cv_work, &s->mu, &ts);
		}
		if (s->stopping && !s->count && (!s->gap_pending || failed))
			break;
		if (!s->stopping && !s->flush_waiters && s->count < s->batch_max) {
			deadline_after(&ts, (uint64_t)s->batch_ms * 1000000ULL);
			while (s->count < s->batch_max && !s->stopping &&
			       !s->flush_waiters) {
				if (pthread_cond_timedwait(&s->cv_work, &s->mu,
							   &ts) == ETIMEDOUT)
					break;
			}
		}
		pthread_mutex_unlock(&s->mu);
		d = drain_once(s);
		failed = d < 0;
		retain_if_due(s, &next_retain);
		pthread_mutex_lock(&s->mu);
		if (failed && !s->stopping) {
			deadline_after(&ts, 1000000000ULL);
			pthread_cond_timedwait(&s->cv_work, &s->mu, &ts);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int hn_store_start(struct hn_store *s)
{
	pthread_attr_t attr;
	int r = -EINVAL, e;

	if (!s)
		return r;
	if (s->readonly) {
		hn_store_set_errf(s, "the store is open read-only");
		return -EROFS;
	}
	pthread_mutex_lock(&s->mu);
	if (s->running) {
		pthread_mutex_unlock(&s->mu);
		return -EALREADY;
	}
	s->stopping = false;
	pthread_attr_init(&attr);
	e = pthread_create(&s->thread, &attr, writer_main, s);
	pthread_attr_destroy(&attr);
	if (e) {
		hn_store_set_errf(s, "cannot start the writer: %s", strerror(e));
		r = -e;
	} else {
		s->running = true;
		r = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* Put op on the ring; false when full.  mu held. */
static bool ring_push(struct hn_store *s, const struct hn_store_op *op)
{
	if (s->count >= s->queue_max || s->stopping)
		return false;
	s->ring[(s->head + s->count) % s->queue_max] = *op;
	s->count++;
	s->seq_in++;
	if (s->count == 1 || s->count == s->batch_max)
		pthread_cond_signal(&s->cv_work);
	return true;
}

int hn_store_submit(struct hn_store *s, struct hn_event *ev)
{
	struct hn_store_op op = { .kind = HN_OP_EVENT };
	bool ok;

	if (!ev)
		return -EINVAL;
	if (!s || s->readonly || !s->ring) {
		hn_event_free(ev);
		return s ? -EROFS : -EINVAL;
	}
	op.u.ev = ev;
	pthread_mutex_lock(&s->mu);
	ok = ring_push(s, &op);
	if (ok) {
		s->st.queued++;
	} else {
		s->st.dropped++;
		if (!s->gap_pending)
			s->gap_time = ev->time ? ev->time : hn_store_now_ns();
		s->gap_pending++;
	}
	pthread_mutex_unlock(&s->mu);
	if (ok)
		return 0;
	hn_event_free(ev);
	return -ENOSPC;
}

int hn_store_submit_hash(struct hn_store *s, uint64_t dev, uint64_t ino,
			 uint64_t size, uint64_t mtime, const char *sha256)
{
	struct hn_store_op op = { .kind = HN_OP_HASH };
	struct hn_store_hash *h;
	bool ok;

	if (!s || !sha256 || strlen(sha256) != 64)
		return -EINVAL;
	if (s->readonly || !s->ring)
		return -EROFS;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->dev = dev;
	h->ino = ino;
	h->size = size;
	h->mtime = mtime;
	memcpy(h->sha256, sha256, 64);
	op.u.hash = h;
	pthread_mutex_lock(&s->mu);
	ok = ring_push(s, &op);
	if (!ok)
		s->hash_dropped++;
	pthread_mutex_unlock(&s->mu);
	if (ok)
		return 0;
	free(h);
	return -ENOSPC;
}

int hn_store_flush(struct hn_store *s)
{
	uint64_t target, errs;
	bool running;
	int r = -EIO;

	if (!s)
		return -EINVAL;
	if (s->readonly || !s->ring)
		return 0;
	pthread_mutex_lock(&s->mu);
	target = s->seq_in;
	errs = s->st.write_errors;
	running = s->running;
	if (running) {
		s->flush_waiters++;
		pthread_cond_signal(&s->cv_work);
		while (s->seq_done < target && s->running)
			pthread_cond_wait(&s->cv_done, &s->mu);
		s->flush_waiters--;
	}
	pthread_mutex_unlock(&s->mu);
	/* No thread (not started, or stopped): write here. */
	if (!running)
		while (drain_once(s) > 0)
			;
	pthread_mutex_lock(&s->mu);
	if (s->seq_done >= target && s->st.write_errors == errs)
		r = 0;
	else
		snprintf(s->err, sizeof(s->err), "%s", s->werr[0] ? s->werr :
			 "writing failed");
	pthread_mutex_unlock(&s->mu);
	return r;
}

void hn_writer_stop(struct hn_store *s)
{
	bool join = false;

	if (!s->ring || !s->batch)
		return;
	pthread_mutex_lock(&s->mu);
	if (s->running) {
		s->stopping = true;
		pthread_cond_broadcast(&s->cv_work);
		join = true;
	}
	pthread_mutex_unlock(&s->mu);
	if (join) {
		pthread_join(s->thread, NULL);
		pthread_mutex_lock(&s->mu);
		s->running = false;
		pthread_cond_broadcast(&s->cv_done);
		pthread_mutex_unlock(&s->mu);
	}
	/* Never started, or what the thread could not write: a few tries. */
	for (int fails = 0, d; (d = drain_once(s)) != 0;)
		if (d < 0 && ++fails >= 3)
			break;
	/* Whatever is left failed to write: count it, free it. */
	pthread_mutex_lock(&s->mu);
	while (s->count) {
		struct hn_store_op *op = &s->ring[s->head];
		op_free(op);
		s->head = (s->head + 1) % s->queue_max;
		s->count--;
		s->seq_done++;
		s->st.write_errors++;
	}
	pthread_mutex_unlock(&s->mu);
}

int hn_store_retain(struct hn_store *s)
{
	int r;

	if (!s)
		return -EINVAL;
	if (s->readonly || !s->db) {
		hn_store_set_errf(s, "the store is open read-only");
		return -EROFS;
	}
	pthread_mutex_lock(&s->wmu);
	r = hn_retention_run(s);
	pthread_mutex_unlock(&s->wmu);
	if (r < 0) {
		pthread_mutex_lock(&s->mu);
		snprintf(s->err, sizeof(s->err), "%s", s->werr);
		pthread_mutex_unlock(&s->mu);
	}
	return r;
}
