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
#include "store/block.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

/* processes columns; procs.c's enum pcol follows this order after entity. */
#define PROC_COLS \
	"parent_entity, pid, ppid, uid, euid, gid, egid, auid, start_time," \
	" exit_time, exit_code, exit_signal, exited, comm, executable, args," \
	" argc, cwd, sha256, from_snapshot"

/* The image of a process start: the latest exec of its entity? */
#define LATEST_EXEC "NOT EXISTS (SELECT 1 FROM execs y" \
	" WHERE y.entity = x.entity AND y.time > x.time)"
/* The process starts of one file identity still without a hash (?1 dev,
 * ?2 ino, ?3 size, ?4 mtime; 0 stays 0 in execs): the partial index
 * execs_unhashed. */
#define EXECS_OF "FROM execs x WHERE x.ino = ?2 AND x.dev = ?1" \
	" AND x.size = ?3 AND x.mtime = ?4 AND x.sha256 IS NULL"

/* Postings and execs rows go in multi-row INSERTs of this many (one
 * statement run each). */
#define KEYS_PER_INSERT 32u
#define EXECS_PER_INSERT 16u

static const char *const wsql[HN_WS_COUNT] = {
	[HN_WS_BEGIN] = "BEGIN IMMEDIATE",
	[HN_WS_COMMIT] = "COMMIT",
	[HN_WS_ROLLBACK] = "ROLLBACK",
	[HN_WS_BLOCK] =
		"INSERT INTO event_blocks(first_id, last_id, n, min_time,"
		" max_time, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[HN_WS_KEY] =
		"INSERT OR IGNORE INTO event_keys(kind, key, first_id)"
		" VALUES (?1, ?2, ?3)",
	/* multi-row forms of KEY, EXEC, PROC_INSERT: built at prepare */
	[HN_WS_EXEC] =
		"INSERT OR IGNORE INTO execs(entity, time, id, path, dev, ino,"
		" size, mtime, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	/* the hash of a file identity, when known (a start written without
	 * one: the hasher's queue was full, or the hash came first) */
	[HN_WS_KNOWN_HASH] =
		"SELECT sha256 FROM file_hashes WHERE dev = ?1 AND ino = ?2"
		" AND size = ?3 AND mtime = ?4",
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
	/* A process row takes a computed hash if that start is its latest
	 * exec; the events show it through file_hashes (vtab.c). */
	[HN_WS_HASH_PROC] =
		"UPDATE processes SET sha256 = ?5"
		" WHERE sha256 IS NULL AND entity IN (SELECT x.entity "
		EXECS_OF " AND " LATEST_EXEC ")",
	/* ... the blocks holding those starts can be found by it ... */
	[HN_WS_HASH_KEYS] =
		"INSERT OR IGNORE INTO event_keys(kind, key, first_id)"
		" SELECT DISTINCT 4, ?5, f FROM (SELECT"
		"  (SELECT max(b.first_id) FROM event_blocks b"
		"   WHERE b.first_id <= x.id AND b.last_id >= x.id) AS f "
		EXECS_OF ")"
		" WHERE f IS NOT NULL",
	/* ... and those starts show it (vtab.c), for as long as they are
	 * kept (file_hashes is only the hasher's cache). */
	[HN_WS_HASH_EXECS] =
		"UPDATE execs SET sha256 = ?5 WHERE ino = ?2 AND dev = ?1"
		" AND size = ?3 AND mtime = ?4 AND sha256 IS NULL",
	[HN_WS_FILE_HASH] =
		"INSERT INTO file_hashes(dev, ino, size, mtime, sha256, seen)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
		" ON CONFLICT DO UPDATE SET sha256 = excluded.sha256,"
		"  seen = excluded.seen",
	/* The sensor reports "this open was written" at close, keyed by the
	 * open's cookie (its struct file): one event per open, flagged.  An
	 * open already in a block is flagged in `written`: by id when this
	 * writer wrote that open (its opens cache), else the latest open of
	 * (entity, cookie) found through the events table. */
	[HN_WS_WRITTEN_ID] =
		"INSERT OR IGNORE INTO written(id) VALUES (?1)",
	[HN_WS_META] =
		"INSERT INTO meta(key, value) VALUES (?1, ?2)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
	[HN_WS_ALERT] =
		"INSERT INTO alerts(group_key, time, last_time, count, rule_id,"
		" rule_title, rule_level, rule_author, rule_tags, rule_path, entity,"
		" pid, executable, event_type, event_json)"
		" VALUES (?1, ?2, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
		" ON CONFLICT(group_key) DO UPDATE SET count = count + 1,"
		"  last_time = max(last_time, excluded.last_time)",
	[HN_WS_VERSION] =
		"INSERT INTO file_versions(path, time, entity, sha256, size, mode, uid,"
		" gid, deleted, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[HN_WS_VERSION_TRIM] =
		"DELETE FROM file_versions WHERE path = ?1 AND id <"
		" (SELECT min(id) FROM (SELECT id FROM file_versions WHERE path = ?1"
		"  ORDER BY id DESC LIMIT ?2))",
	[HN_WS_WRITTEN] =
		"INSERT OR IGNORE INTO written(id) SELECT id FROM events"
		" WHERE entity = ?1 AND cookie = ?2 AND type IN (10, 11, 20)"
		" ORDER BY id DESC LIMIT 1",
};

/* The INSERT `one` (".. VALUES (?1, ..., ?k)") for `rows` rows:
 * ".. VALUES (?, ...), (?, ...), ..." (anonymous parameters, numbered in
 * order).  malloc'ed; NULL on ENOMEM. */
static char *multi_insert(const char *one, unsigned rows)
{
	const char *values = strstr(one, "VALUES (");
	unsigned cols = 1;
	size_t cap, len;
	char *sql;

	if (!values)
		return NULL;
	for (const char *p = values; *p && *p != ')'; p++)
		cols += *p == ',';
	cap = (size_t)(values - one) + 16 + (size_t)rows * (cols * 3 + 4);
	sql = malloc(cap);
	if (!sql)
		return NULL;
	len = (size_t)(values - one) + 7;
	memcpy(sql, one, len);
	for (unsigned r = 0; r < rows; r++) {
		len += (size_t)snprintf(sql + len, cap - len, "%s(", r ? ", " : "");
		for (unsigned c = 0; c < cols; c++)
			len += (size_t)snprintf(sql + len, cap - len, "%s?", c ? ", " : "");
		len += (size_t)snprintf(sql + len, cap - len, ")");
	}
	return sql;
}

/* A block holds events of at most this time spread, so that retention by
 * age (whole blocks) is never late by more. */
#define BLOCK_SPAN_NS (60ULL * 1000000000ULL)

/* May an event of time t join evs[0..n) and keep the block's span? */
static bool in_span(struct hn_event *const *evs, unsigned n, uint64_t t)
{
	uint64_t lo = t, hi = t;

	for (unsigned i = 0; i < n; i++) {
		if (evs[i]->time < lo)
			lo = evs[i]->time;
		if (evs[i]->time > hi)
			hi = evs[i]->time;
	}
	return hi - lo <= BLOCK_SPAN_NS;
}

/*
 * A store made before blocks (schema 1 and 2) kept one wide row per event;
 * store.c renamed that table events_v2.  Move its rows into blocks, in id
 * order and keeping their ids, MIGRATE_ROWS a transaction (each deletes
 * what it moved, so a crash resumes where it stopped), then drop it.  The
 * processes table already has what the rows said.  0 or -errno.
 */
#define MIGRATE_ROWS 4096

static int write_block(struct hn_store *s, struct hn_store_row *rows, unsigned n,
		       bool apply);

static int migrate_rows(struct hn_store *s)
{
	struct hn_event **evs = NULL;
	sqlite3_stmt *sel = NULL, *del = NULL;
	char sql[1024];
	int r = 0, rc;

	if (hn_store_query_int(s->db, "SELECT count(*) FROM sqlite_schema"
		      " WHERE type = 'table' AND name = 'events_v2'") != 1)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT %s, NULL, NULL, NULL, NULL"
		 " FROM events_v2 ORDER BY id LIMIT %d", hn_store_ev_cols,
		 MIGRATE_ROWS);
	evs = calloc(MIGRATE_ROWS, sizeof(*evs));
	if (!evs)
		return -ENOMEM;
	if (sqlite3_prepare_v2(s->db, sql, -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM events_v2 WHERE id <= ?1",
			       -1, &del, NULL) != SQLITE_OK) {
		hn_store_set_err(s, "upgrading the store", s->db);
		r = -EIO;
		goto out;
	}
	for (;;) {
		unsigned n = 0, start = 0;
		rc = hn_store_exec(s->db, "BEGIN IMMEDIATE");
		while (rc == SQLITE_OK && n < MIGRATE_ROWS &&
		       (rc = sqlite3_step(sel)) == SQLITE_ROW) {
			evs[n] = hn_store_row_event(sel);
			if (!evs[n]) {
				rc = SQLITE_NOMEM;
				break;
			}
			n++;
			rc = SQLITE_OK;
		}
		sqlite3_reset(sel);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		if (rc == SQLITE_OK && n == 0) {
			rc = hn_store_exec(s->db, "DROP TABLE events_v2");
			if (rc == SQLITE_OK)
				rc = hn_store_exec(s->db, "COMMIT");
			if (rc != SQLITE_OK)
				goto fail;
			break;
		}
		/* blocks of consecutive-enough ids (a block spans fewer than
		 * HN_BLOCK_MAX_EVENTS ids: readers rely on it) */
		for (unsigned i = 0; rc == SQLITE_OK && i <= n; i++) {
			if (i < n && i - start < HN_BLOCK_MAX_EVENTS &&
			    evs[i]->id - evs[start]->id < (int64_t)HN_BLOCK_MAX_EVENTS &&
			    in_span(evs + start, i - start, evs[i]->time))
				continue;
			if (i > start) {
				struct hn_store_row *rows = s->rows;
				for (unsigned k = start; k < i; k++) {
					rows[k - start].ev = evs[k];
					rows[k - start].add_flags = 0;
					rows[k - start].op = -1;
					rows[k - start].id = evs[k]->id;
				}
				rc = write_block(s, rows, i - start, false);
			}
			start = i;
		}
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(del, 1, evs[n - 1]->id);
			rc = hn_store_step(del);
		}
		if (rc == SQLITE_OK) {
			if (evs[n - 1]->id >= s->next_id)
				s->next_id = evs[n - 1]->id + 1;
			rc = hn_store_exec(s->db, "COMMIT");
		}
		for (unsigned i = 0; i < n; i++) {
			hn_event_free(evs[i]);
			evs[i] = NULL;
		}
		if (rc != SQLITE_OK)
			goto fail;
	}
	goto out;
fail:
	hn_store_set_err(s, "upgrading the store", s->db);
	if (!sqlite3_get_autocommit(s->db))
		hn_store_exec(s->db, "ROLLBACK");
	r = hn_store_rc_errno(rc);
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(del);
	free(evs);
	return r;
}

int hn_writer_prepare(struct hn_store *s)
{
	int r = -ENOMEM, rc, i;

	s->batch = calloc(s->batch_max, sizeof(*s->batch));
	s->opens = calloc(HN_STORE_OPEN_SLOTS, sizeof(*s->opens));
	s->wslots_mask = 63;
	while (s->wslots_mask < 2 * s->batch_max)
		s->wslots_mask = s->wslots_mask * 2 + 1;
	s->wslots = malloc(((size_t)s->wslots_mask + 1) * sizeof(*s->wslots));
	s->wmerge = calloc(s->batch_max, sizeof(*s->wmerge));
	s->wlost = calloc(s->batch_max, sizeof(*s->wlost));
	s->rows = calloc(HN_BLOCK_MAX_EVENTS, sizeof(*s->rows));
	s->keys = hn_keyset_new();
	s->rkeys = hn_keyset_new();
	s->nrows = 0;
	memset(&s->enc, 0, sizeof(s->enc));
	if (s->wslots)
		for (unsigned i = 0; i <= s->wslots_mask; i++)
			s->wslots[i].op = -1;
	if (!s->batch || !s->opens || !s->wslots || !s->wmerge || !s->wlost ||
	    !s->rows || !s->keys || !s->rkeys || hn_procs_init(s) < 0) {
		hn_store_set_errf(s, "no memory for the writer");
		goto out;
	}
	for (i = 0; i < HN_WS_COUNT; i++) {
		char *multi = NULL;
		const char *sql = wsql[i];
		if (i == HN_WS_KEYS)
			sql = multi = multi_insert(wsql[HN_WS_KEY], KEYS_PER_INSERT);
		else if (i == HN_WS_EXECS)
			sql = multi = multi_insert(wsql[HN_WS_EXEC], EXECS_PER_INSERT);
		else if (i == HN_WS_PROC_INSERTS)
			sql = multi = multi_insert(wsql[HN_WS_PROC_INSERT],
						   HN_PROCS_PER_INSERT);
		rc = sql ? sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					      &s->wst[i], NULL) : SQLITE_NOMEM;
		free(multi);
		if (rc != SQLITE_OK) {
			hn_store_set_err(s, "preparing the writer", s->db);
			r = hn_store_rc_errno(rc);
			goto out;
		}
	}
	/* The writer numbers the events; ids only grow (a rolled-back batch
	 * leaves its ids unused). */
	s->next_id = hn_store_query_int(s->db, "SELECT COALESCE(max(last_id), 0) + 1"
			       " FROM event_blocks");
	if (s->next_id < 1) {
		hn_store_set_err(s, "reading the last event id", s->db);
		r = -EIO;
		goto out;
	}
	r = migrate_rows(s);
out:
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
	hn_block_enc_free(&s->enc);
	free(s->keys);
	s->keys = NULL;
	free(s->rkeys);
	s->rkeys = NULL;
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

/* A file identity as ?1..?4 (0 stays 0: execs and file_hashes keep it). */
static void bind_ident(sqlite3_stmt *st, uint64_t dev, uint64_t ino,
		       uint64_t size, uint64_t mtime)
{
	bind_i64(st, 1, (int64_t)dev);
	bind_i64(st, 2, (int64_t)ino);
	bind_i64(st, 3, (int64_t)size);
	bind_i64(st, 4, (int64_t)mtime);
}

static int flush_rows(struct hn_store *s);

static int hash_update(struct hn_store *s, const struct hn_store_hash *h)
{
	static const enum hn_store_wstmt order[] = { HN_WS_HASH_PROC,
						     HN_WS_HASH_KEYS,
						     HN_WS_HASH_EXECS,
						     HN_WS_FILE_HASH };
	int rc;

	/* the hash reads execs and blocks and changes processes: write the
	 * batch's rows first */
	rc = flush_rows(s);
	if (rc == SQLITE_OK)
		rc = hn_procs_flush(s);
	for (size_t i = 0; rc == SQLITE_OK &&
	     i < sizeof(order) / sizeof(order[0]); i++) {
		sqlite3_stmt *st = s->wst[order[i]];
		bind_ident(st, h->dev, h->ino, h->size, h->mtime);
		sqlite3_bind_text(st, 5, h->sha256, -1, SQLITE_STATIC);
		if (order[i] == HN_WS_FILE_HASH)
			bind_i64(st, 6, (int64_t)hn_store_now_ns());
		rc = hn_store_step(st);
	}
	return rc;
}

static struct hn_store_open *open_slot(struct hn_store *s, uint64_t entity,
				       uint64_t cookie)
{
	uint64_t h = (entity ^ (cookie * 0x9E3779B97F4A7C15ULL)) *
		     0xBF58476D1CE4E5B9ULL;

	return &s->opens[(h >> 32) % HN_STORE_OPEN_SLOTS];
}

/* A "written" close whose open is in a block already: flag that open in
 * `written`, by id when this writer inserted it, else by searching.
 * *done when an open was flagged.  SQLite rc. */
static int flag_written(struct hn_store *s, const struct hn_event *ev,
			bool *done)
{
	struct hn_store_open *o = open_slot(s, ev->proc.entity, ev->cookie);
	sqlite3_stmt *w;
	int rc;

	*done = false;
	if (ev->proc.entity && o->entity == ev->proc.entity &&
	    o->cookie == ev->cookie) {
		/* the slot is this writer's latest open of (entity, cookie),
		 * in a committed block (a rollback empties the slots) */
		w = s->wst[HN_WS_WRITTEN_ID];
		bind_i64(w, 1, o->id);
		rc = hn_store_step(w);
		if (rc == SQLITE_OK)
			*done = true;
		return rc;
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

	if (ev->cookie && ev->proc.entity && hn_store_is_open(ev->type)) {
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

/* ---- blocks ---- */

/* Rows bound into a multi-row INSERT (`many`, `per` rows a statement)
 * while that many are left, then one by one (`one`).  For each row: bind
 * from chunker_base() + 1 into st, then chunker_row(). */
struct chunker {
	sqlite3_stmt *one, *many, *st;
	unsigned per, left, m;
};

static void chunker_init(struct chunker *c, sqlite3_stmt *one, sqlite3_stmt *many,
			 unsigned per, unsigned rows)
{
	c->one = one;
	c->many = many;
	c->per = per;
	c->left = rows;
	c->m = 0;
	c->st = rows >= per ? many : one;
}

/* Parameter offset of the next row, ncols parameters a row. */
static int chunker_base(const struct chunker *c, int ncols)
{
	return (int)c->m * ncols;
}

/* A row is bound: run the statement when it is full.  SQLite rc. */
static int chunker_row(struct chunker *c)
{
	int rc;

	if (++c->m < (c->st == c->many ? c->per : 1))
		return SQLITE_OK;
	rc = hn_store_step(c->st);
	c->left -= c->m;
	c->m = 0;
	c->st = c->left >= c->per ? c->many : c->one;
	return rc;
}

/* The hash file_hashes knows for ev's file identity, into out.  true when
 * found. */
static bool known_hash(struct hn_store *s, const struct hn_event *ev, char out[65])
{
	sqlite3_stmt *st = s->wst[HN_WS_KNOWN_HASH];
	bool found = false;

	bind_ident(st, ev->dev, ev->ino, ev->size, ev->mtime);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		if (t && strlen((const char *)t) == 64) {
			memcpy(out, t, 65);
			found = true;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return found;
}

/*
 * Write rows[0..n) as one block: the event_blocks row, one event_keys row
 * per distinct key (entity, target entity, path or path2, destination
 * address, hash), the execs rows of its process starts; then, when apply,
 * each row is done (row_done: processes and the opens cache).  SQLite rc.
 */
static int write_block(struct hn_store *s, struct hn_store_row *rows, unsigned n,
		       bool apply)
{
	struct hn_keyset *ks = s->keys;
	struct chunker ch;
	sqlite3_stmt *st;
	const void *data;
	size_t len;
	uint64_t tmin = UINT64_MAX, tmax = 0;
	int rc;

	hn_block_enc_reset(&s->enc);
	hn_keyset_clear(ks);
	for (unsigned i = 0; i < n; i++) {
		const struct hn_event *ev = rows[i].ev;
		rc = hn_block_enc_add(&s->enc, rows[i].id, ev, rows[i].add_flags);
		if (rc < 0)
			return rc == -ENOMEM ? SQLITE_NOMEM : SQLITE_MISUSE;
		if (ev->time < tmin)
			tmin = ev->time;
		if (ev->time > tmax)
			tmax = ev->time;
		hn_keyset_add_event(ks, ev, s->abuf[i]);
		/* a start written without its hash, when the hash is known */
		s->hbuf[i][0] = '\0';
		if (hn_store_is_exec(ev->type) && !ev->sha256[0] && ev->ino &&
		    known_hash(s, ev, s->hbuf[i]))
			hn_keyset_add(ks, HN_KEY_SHA256, 0, s->hbuf[i]);
	}
	data = hn_block_enc_data(&s->enc, &len);
	st = s->wst[HN_WS_BLOCK];
	bind_i64(st, 1, rows[0].id);
	bind_i64(st, 2, rows[n - 1].id);
	bind_i64(st, 3, n);
	bind_i64(st, 4, (int64_t)tmin);
	bind_i64(st, 5, (int64_t)tmax);
	sqlite3_bind_blob64(st, 6, data, len, SQLITE_STATIC);
	rc = hn_store_step(st);
	if (rc != SQLITE_OK)
		return rc;
	/* postings, KEYS_PER_INSERT a statement (then one by one) */
	chunker_init(&ch, s->wst[HN_WS_KEY], s->wst[HN_WS_KEYS], KEYS_PER_INSERT,
		     hn_keyset_count(ks));
	for (unsigned k = 0; k < HN_KEYSET_SLOTS && rc == SQLITE_OK; k++) {
		const struct hn_key *key = hn_keyset_at(ks, k);
		int b = chunker_base(&ch, 3);
		if (!key)
			continue;
		bind_i64(ch.st, b + 1, key->kind);
		if (key->s)
			sqlite3_bind_text(ch.st, b + 2, key->s, -1, SQLITE_STATIC);
		else
			bind_i64(ch.st, b + 2, key->i);
		bind_i64(ch.st, b + 3, rows[0].id);
		rc = chunker_row(&ch);
	}
	/* execs rows, EXECS_PER_INSERT a statement (then one by one) */
	{
		unsigned execs = 0;
		for (unsigned i = 0; i < n; i++)
			execs += hn_store_is_exec(rows[i].ev->type);
		chunker_init(&ch, s->wst[HN_WS_EXEC], s->wst[HN_WS_EXECS],
			     EXECS_PER_INSERT, execs);
	}
	for (unsigned i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct hn_event *ev = rows[i].ev;
		const char *h = ev->sha256[0] ? ev->sha256 : s->hbuf[i];
		int b = chunker_base(&ch, 9);
		if (!hn_store_is_exec(ev->type))
			continue;
		bind_i64(ch.st, b + 1, (int64_t)ev->proc.entity);
		bind_i64(ch.st, b + 2, (int64_t)ev->time);
		bind_i64(ch.st, b + 3, rows[i].id);
		if (ev->path)
			sqlite3_bind_text(ch.st, b + 4, ev->path, -1, SQLITE_STATIC);
		bind_i64(ch.st, b + 5, (int64_t)ev->dev);
		bind_i64(ch.st, b + 6, (int64_t)ev->ino);
		bind_i64(ch.st, b + 7, (int64_t)ev->size);
		bind_i64(ch.st, b + 8, (int64_t)ev->mtime);
		if (h[0])
			sqlite3_bind_text(ch.st, b + 9, h, -1, SQLITE_STATIC);
		rc = chunker_row(&ch);
	}
	for (unsigned i = 0; apply && i < n && rc == SQLITE_OK; i++)
		rc = row_done(s, &rows[i]);
	return rc;
}

/*
 * Write the pending rows as a block.  When SQLite refuses the block on its
 * own (hn_store_row_error: bigger than the row limit; the statement left
 * nothing behind), each row goes as a block of its own, and each one
 * refused is marked in wlost[] and skipped.  The GAP row (op -1) is never
 * skipped: its failure is the batch's.  SQLite rc.
 */
static int flush_rows(struct hn_store *s)
{
	unsigned n = s->nrows;
	int rc;

	s->nrows = 0;
	s->bmin = UINT64_MAX;
	s->bmax = 0;
	if (!n)
		return SQLITE_OK;
	rc = write_block(s, s->rows, n, true);
	if (rc == SQLITE_OK || !hn_store_row_error(rc) || n == 1) {
		if (rc != SQLITE_OK && n == 1 && hn_store_row_error(rc) &&
		    s->rows[0].op >= 0) {
			s->wlost[s->rows[0].op] = 1;
			return SQLITE_OK;
		}
		return rc;
	}
	for (unsigned i = 0; i < n; i++) {
		struct hn_store_row *r = &s->rows[i];
		rc = write_block(s, r, 1, true);
		if (rc != SQLITE_OK && hn_store_row_error(rc) && r->op >= 0) {
			s->wlost[r->op] = 1;
			rc = SQLITE_OK;
		}
		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* wmerge[] values (else: the op of the open a close is folded into) */
#define WM_NONE  (-1)    /* written as usual */
#define WM_FLAG  (-2)    /* an open: insert it flagged written */

/* Queue one event's row (add_flags on top of its flags) for the pending
 * block; op is its op in the batch (-1: the GAP row, ev on the caller's
 * stack, so written at once).  A "written" close flags its open's row
 * instead, when there is one.  ev must live until the block is flushed.
 * SQLite rc. */
static int write_event(struct hn_store *s, const struct hn_event *ev,
		       uint32_t add_flags, int32_t op)
{
	struct hn_store_row *r;
	int rc;

	if (is_written_close(ev)) {
		bool done;
		/* the open among the pending rows: flag it there */
		for (int i = (int)s->nrows - 1; i >= 0; i--) {
			const struct hn_event *o = s->rows[i].ev;
			if (o->proc.entity == ev->proc.entity &&
			    o->cookie == ev->cookie && hn_store_is_open(o->type)) {
				s->rows[i].add_flags |= HN_EVF_WRITTEN;
				/* if that row is refused, the close is written
				 * after all (write_batch) */
				if (op >= 0 && s->rows[i].op >= 0) {
					s->wmerge[op] = s->rows[i].op;
					s->wmerge[s->rows[i].op] = WM_FLAG;
				}
				return SQLITE_OK;
			}
		}
		rc = flag_written(s, ev, &done);
		if (rc != SQLITE_OK)
			return rc;
		/* the open was recorded: done; else (opened before the agent
		 * started) keep the fact as an event of its own */
		if (done)
			return SQLITE_OK;
	}
	if (s->nrows && (ev->time + BLOCK_SPAN_NS < s->bmax ||
			 ev->time > s->bmin + BLOCK_SPAN_NS)) {
		rc = flush_rows(s);
		if (rc != SQLITE_OK)
			return rc;
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
	if (s->nrows == HN_BLOCK_MAX_EVENTS || op < 0)
		return flush_rows(s);
	return SQLITE_OK;
}


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
		if (!ev->cookie || !ev->proc.entity || !hn_store_is_open(ev->type))
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
		else if (ops[i].kind == HN_OP_ALERT)
			rc = hn_alert_write(s, ops[i].u.alert);
		else if (ops[i].kind == HN_OP_VERSION)
			rc = hn_version_write(s, ops[i].u.version);
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
	for (unsigned i = 0; i < s->wnmeta && rc == SQLITE_OK; i++) {
		sqlite3_stmt *st = s->wst[HN_WS_META];
		sqlite3_bind_text(st, 1, s->wmeta[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->wmeta[i].value, -1, SQLITE_STATIC);
		rc = hn_store_step(st);
	}
	if (rc != SQLITE_OK)
		goto fail;
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
	else if (op->kind == HN_OP_ALERT)
		free(op->u.alert);
	else if (op->kind == HN_OP_VERSION)
		free(op->u.version);
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
	unsigned n, i, nmeta;
	uint64_t gap, gap_time;
	struct hn_store_meta meta[HN_STORE_META_SLOTS];

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
	nmeta = s->nmeta;
	memcpy(meta, s->meta, sizeof(meta));
	s->nmeta = 0;
	pthread_mutex_unlock(&s->mu);

	if (!n && !gap && !nmeta) {
		pthread_mutex_unlock(&s->wmu);
		return 0;
	}
	s->wmeta = meta;
	s->wnmeta = nmeta;
	write_batch(s, ops, n, gap, gap_time, &res);
	for (i = 0; i < n; i++)
		op_free(&ops[i]);
	/* a status lost with a failed batch is published again soon */
	for (i = 0; i < nmeta; i++) {
		free(meta[i].key);
		free(meta[i].value);
	}

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
		while (!s->count && !(s->gap_pending && !failed) && !s->nmeta &&
		       !s->stopping) {
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
		if (s->stopping && !s->count && !s->nmeta &&
		    (!s->gap_pending || failed))
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

bool hn_store_ring_push(struct hn_store *s, const struct hn_store_op *op)
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
	ok = hn_store_ring_push(s, &op);
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

int hn_store_submit_meta(struct hn_store *s, const char *key, const char *value)
{
	char *k, *v;
	unsigned i;
	int r = 0;

	if (!s || !key || !value)
		return -EINVAL;
	if (s->readonly || !s->ring)
		return -EROFS;
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nmeta && strcmp(s->meta[i].key, key) != 0; i++)
		;
	if (i < s->nmeta) {
		free(s->meta[i].value);
		free(k);
		s->meta[i].value = v;
	} else if (s->nmeta < HN_STORE_META_SLOTS) {
		s->meta[s->nmeta].key = k;
		s->meta[s->nmeta].value = v;
		s->nmeta++;
		pthread_cond_signal(&s->cv_work);
	} else {
		free(k);
		free(v);
		r = -ENOSPC;
	}
	pthread_mutex_unlock(&s->mu);
	return r;
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
	ok = hn_store_ring_push(s, &op);
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
