/*
 * retention.c - keeping the store within its bounds: events older than
 * max_age go, then the oldest events go while the database's content
 * exceeds its share of max_bytes, then exited processes that nothing
 * refers to any more; freed pages are returned to the file system with
 * incremental_vacuum (the file is auto_vacuum = INCREMENTAL).
 *
 * Invariants:
 *  - Called with wmu held, outside any batch transaction; each chunk
 *    deleted is its own transaction, so the writer never holds the write
 *    lock for long and a crash mid-run leaves a consistent store.
 *  - Events go by whole blocks (writer.c, block.h), oldest first.  One run
 *    does bounded work (RET_MAX_CHUNKS chunks of at most RET_CHUNK_BLOCKS
 *    blocks per rule); what is left is done by the next run.
 *  - Size is measured as content pages ((page_count - freelist_count) *
 *    page_size, which sees the WAL's newest pages) against max_bytes minus
 *    the WAL's allowance (max_bytes / 8, at most 64 MiB: the writer
 *    checkpoints and truncates the WAL at that size), so main file + WAL
 *    stays near max_bytes.  A run that trims goes down to 90% of the
 *    bound so that it does not trim again at the next batch.
 *  - Every event and processes row deleted is counted in
 *    stats.retention_deleted.
 */
#include "store/store_int.h"
#include "store/block.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RET_CHUNK_BLOCKS 100     /* ~25,000 events a transaction */
#define RET_MAX_CHUNKS   64
#define RET_FILE_HASHES  "65536" /* file_hashes rows kept (newest seen) */

static int64_t content_bytes(sqlite3 *db)
{
	int64_t pages = hn_store_query_int(db, "PRAGMA page_count");
	int64_t freep = hn_store_query_int(db, "PRAGMA freelist_count");
	int64_t psize = hn_store_query_int(db, "PRAGMA page_size");

	if (pages < 0 || freep < 0 || psize <= 0)
		return -1;
	return (pages - freep) * psize;
}

/* Run st (bound by the caller) once as its own transaction; the number of
 * rows it deleted, or -errno. */
static int64_t delete_step(struct hn_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	int64_t n;

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		pthread_mutex_lock(&s->mu);
		snprintf(s->werr, sizeof(s->werr), "retention: %s",
			 sqlite3_errmsg(s->db));
		pthread_mutex_unlock(&s->mu);
		return hn_store_rc_errno(rc);
	}
	n = sqlite3_changes64(s->db);
	return n;
}

/* The postings of the block on st (first_id, data): each key its events
 * name, and the hash of a process start known only after the block was
 * written (its execs row).  SQLite rc. */
static int delete_postings(struct hn_store *s, sqlite3_stmt *st,
			   sqlite3_stmt *del, sqlite3_stmt *hash,
			   struct hn_event **ev)
{
	int64_t first = sqlite3_column_int64(st, 0);
	struct hn_block_dec d;
	char abuf[HN_BLOCK_MAX_EVENTS][64];
	unsigned n = 0;
	int rc = SQLITE_OK;

	if (hn_block_dec_init(&d, sqlite3_column_blob(st, 1),
			      (size_t)sqlite3_column_bytes(st, 1)) < 0)
		return SQLITE_OK; /* a block we cannot read names nothing */
	hn_keyset_clear(s->rkeys);
	/* a block that stops decoding halfway names what it decoded */
	while (n < HN_BLOCK_MAX_EVENTS && hn_block_dec_next(&d, &ev[n]) == 1) {
		hn_keyset_add_event(s->rkeys, ev[n], abuf[n]);
		n++;
	}
	for (unsigned k = 0; k < HN_KEYSET_SLOTS && rc == SQLITE_OK; k++) {
		const struct hn_key *key = hn_keyset_at(s->rkeys, k);
		if (!key)
			continue;
		sqlite3_bind_int(del, 1, key->kind);
		if (key->s)
			sqlite3_bind_text(del, 2, key->s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(del, 2, key->i);
		sqlite3_bind_int64(del, 3, first);
		rc = hn_store_step(del);
	}
	for (unsigned i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct hn_event *e = ev[i];
		if (e->sha256[0] || !hn_store_is_exec(e->type))
			continue;
		sqlite3_bind_int64(hash, 1, (sqlite3_int64)e->proc.entity);
		sqlite3_bind_int64(hash, 2, (sqlite3_int64)e->time);
		sqlite3_bind_int64(hash, 3, e->id);
		if (sqlite3_step(hash) == SQLITE_ROW) {
			char h[65];
			const unsigned char *t = sqlite3_column_text(hash, 0);
			snprintf(h, sizeof(h), "%s", t ? (const char *)t : "");
			sqlite3_reset(hash);
			sqlite3_bind_int(del, 1, HN_KEY_SHA256);
			sqlite3_bind_text(del, 2, h, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int64(del, 3, first);
			rc = hn_store_step(del);
		}
		sqlite3_reset(hash);
	}
	return rc;
}

/* Run one DELETE without parameters as its own transaction; the rows it
 * deleted, or -errno. */
static int64_t delete_sql(struct hn_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return hn_store_rc_errno(rc);
	n = delete_step(s, st);
	sqlite3_finalize(st);
	return n;
}

/* Delete up to `blocks` of the oldest event blocks that match where_sql
 * (?1 = v) with their postings, as one transaction; the events they held,
 * or -errno. */
static int64_t delete_blocks(struct hn_store *s, const char *where_sql,
			     int64_t v, int64_t blocks)
{
	char sql[2][384];
	sqlite3_stmt *st[2] = { NULL, NULL }, *del = NULL, *hash = NULL;
	struct hn_event **ev = NULL;
	int64_t events = 0;
	int rc;

	snprintf(sql[0], sizeof(sql[0]), "SELECT first_id, data, n FROM"
		 " event_blocks WHERE %s ORDER BY first_id LIMIT ?2", where_sql);
	snprintf(sql[1], sizeof(sql[1]), "DELETE FROM event_blocks WHERE"
		 " first_id IN (SELECT first_id FROM event_blocks WHERE %s"
		 " ORDER BY first_id LIMIT ?2)", where_sql);
	ev = calloc(HN_BLOCK_MAX_EVENTS, sizeof(*ev));
	rc = ev ? SQLITE_OK : SQLITE_NOMEM;
	for (int i = 0; i < 2 && rc == SQLITE_OK; i++) {
		rc = sqlite3_prepare_v2(s->db, sql[i], -1, &st[i], NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st[i], 1, v);
			sqlite3_bind_int64(st[i], 2, blocks);
		}
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "DELETE FROM event_keys WHERE"
					" kind = ?1 AND key = ?2 AND first_id = ?3",
					-1, &del, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, "SELECT sha256 FROM execs"
					" WHERE entity = ?1 AND time = ?2 AND id = ?3"
					" AND sha256 IS NOT NULL", -1, &hash, NULL);
	if (rc == SQLITE_OK)
		rc = hn_store_exec(s->db, "BEGIN IMMEDIATE");
	/* the writer is the only writer (wmu held): what it reads is what
	 * it deletes */
	while (rc == SQLITE_OK && (rc = sqlite3_step(st[0])) == SQLITE_ROW) {
		events += sqlite3_column_int64(st[0], 2);
		rc = delete_postings(s, st[0], del, hash, ev);
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	sqlite3_reset(st[0]);
	if (rc == SQLITE_OK && events > 0)
		rc = delete_step(s, st[1]) < 0 ? SQLITE_ERROR : SQLITE_OK;
	if (rc == SQLITE_OK && !sqlite3_get_autocommit(s->db))
		rc = hn_store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		if (!sqlite3_get_autocommit(s->db))
			hn_store_exec(s->db, "ROLLBACK");
		pthread_mutex_lock(&s->mu);
		snprintf(s->werr, sizeof(s->werr), "retention: %s",
			 sqlite3_errmsg(s->db));
		pthread_mutex_unlock(&s->mu);
		events = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st[0]);
	sqlite3_finalize(st[1]);
	sqlite3_finalize(del);
	sqlite3_finalize(hash);
	for (unsigned i = 0; ev && i < HN_BLOCK_MAX_EVENTS; i++)
		hn_event_free(ev[i]);
	free(ev);
	return events;
}

/* Whole blocks: a block holds events of at most a minute (writer.c), so
 * an event goes at most that late. */
static int64_t trim_by_age(struct hn_store *s, uint64_t cutoff)
{
	int64_t total = 0, n = 0;

	for (int i = 0; i < RET_MAX_CHUNKS; i++) {
		n = delete_blocks(s, "max_time < ?1", (int64_t)cutoff, RET_CHUNK_BLOCKS);
		if (n <= 0)
			break;
		total += n;
	}
	return n < 0 && !total ? n : total;
}

static void trim_block_refs(struct hn_store *s);

static int64_t trim_by_size(struct hn_store *s)
{
	uint64_t wal_allow = s->max_bytes / 8;
	int64_t limit, target, used, total = 0, n = 0;

	if (wal_allow > 64ULL << 20)
		wal_allow = 64ULL << 20;
	limit = (int64_t)(s->max_bytes - wal_allow);
	target = limit / 10 * 9;
	used = content_bytes(s->db);
	if (used < 0)
		return -EIO;
	if (used <= limit)
		return 0;
	for (int i = 0; i < RET_MAX_CHUNKS && used > target; i++) {
		/* Blocks to delete, from the share of the content that is too
		 * much. */
		int64_t blocks = hn_store_query_int(s->db, "SELECT count(*) FROM event_blocks");
		int64_t chunk;
		if (blocks <= 0)
			break;
		chunk = (int64_t)((double)blocks * (double)(used - target) /
				  (double)used) + 1;
		if (chunk > RET_CHUNK_BLOCKS)
			chunk = RET_CHUNK_BLOCKS;
		n = delete_blocks(s, "?1 = ?1", 0, chunk);
		if (n <= 0)
			break;
		total += n;
		/* their postings take room too */
		trim_block_refs(s);
		used = content_bytes(s->db);
		if (used < 0)
			break;
	}
	return n < 0 && !total ? n : total;
}

/* What pointed into deleted blocks besides their postings (delete_blocks):
 * written flags; then (trim_execs, after trim_processes) the execs rows of
 * processes gone. */
static void trim_block_refs(struct hn_store *s)
{
	hn_store_exec(s->db,
		"DELETE FROM written WHERE id < (SELECT COALESCE(min(first_id),"
		" 9223372036854775807) FROM event_blocks)");
}

static void trim_execs(struct hn_store *s)
{
	hn_store_exec(s->db,
		"DELETE FROM execs WHERE id < (SELECT COALESCE(min(first_id),"
		" 9223372036854775807) FROM event_blocks)"
		" AND NOT EXISTS (SELECT 1 FROM processes p WHERE p.entity = execs.entity)");
}

/* Exited processes with no events left and no children rows: their story
 * is gone.  Ancestors of live processes stay, so trees keep their roots. */
static int64_t trim_processes(struct hn_store *s)
{
	return delete_sql(s,
		"DELETE FROM processes WHERE exited = 1"
		" AND NOT EXISTS (SELECT 1 FROM event_keys k"
		"  WHERE k.kind = 1 AND k.key = processes.entity)"
		" AND NOT EXISTS (SELECT 1 FROM processes c"
		"  WHERE c.parent_entity = processes.entity"
		"   AND c.entity != processes.entity)");
}

/* file_hashes keeps the RET_FILE_HASHES newest; rows deleted or -errno. */
static int64_t trim_file_hashes(struct hn_store *s)
{
	if (hn_store_query_int(s->db, "SELECT count(*) > " RET_FILE_HASHES
		      " FROM file_hashes") != 1)
		return 0;
	return delete_sql(s,
		"DELETE FROM file_hashes WHERE seen < (SELECT seen FROM file_hashes"
		" ORDER BY seen DESC LIMIT 1 OFFSET " RET_FILE_HASHES " - 1)");
}

int hn_retention_run(struct hn_store *s)
{
	uint64_t now = hn_store_now_ns();
	int64_t n, deleted = 0, procs = 0;
	int r = 0;

	if (!s->db)
		return -EROFS;
	s->last_retain_mono = hn_store_mono_ns();
	if (now > s->max_age_ns) {
		char sql[96];
		n = trim_by_age(s, now - s->max_age_ns);
		if (n < 0)
			r = (int)n;
		else
			deleted += n;
		/* alerts go with the age of their last match */
		snprintf(sql, sizeof(sql), "DELETE FROM alerts WHERE last_time < %llu",
			 (unsigned long long)(now - s->max_age_ns));
		(void)delete_sql(s, sql);
	}
	n = trim_by_size(s);
	if (n < 0)
		r = (int)n;
	else
		deleted += n;
	n = trim_file_hashes(s);
	if (n < 0)
		r = (int)n;
	if (deleted > 0) {
		trim_block_refs(s);
		procs = trim_processes(s);
		trim_execs(s);
		if (procs < 0) {
			r = (int)procs;
			procs = 0;
		}
		/* Rows the known-cache vouches for may be gone. */
		if (procs)
			memset(s->known, 0, sizeof(s->known));
		hn_store_exec(s->db, "PRAGMA incremental_vacuum");
		hn_store_exec(s->db, "PRAGMA wal_checkpoint(PASSIVE)");
	}
	pthread_mutex_lock(&s->mu);
	s->st.retention_deleted += (uint64_t)(deleted + procs);
	pthread_mutex_unlock(&s->mu);
	return r;
}
