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
 *  - One run does bounded work (RET_MAX_CHUNKS chunks of at most
 *    RET_CHUNK rows per rule); what is left is done by the next run.
 *  - Size is measured as content pages ((page_count - freelist_count) *
 *    page_size, which sees the WAL's newest pages) against max_bytes minus
 *    the WAL's allowance (max_bytes / 8, at most 64 MiB: the writer
 *    checkpoints and truncates the WAL at that size), so main file + WAL
 *    stays near max_bytes.  A run that trims goes down to 90% of the
 *    bound so that it does not trim again at the next batch.
 *  - Every row deleted is counted in stats.retention_deleted.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define RET_CHUNK        20000
#define RET_MIN_CHUNK    256
#define RET_MAX_CHUNKS   64
#define RET_FILE_HASHES  "65536" /* file_hashes rows kept (newest seen) */

/* One integer from a statement with no parameters; -1 on error. */
static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int64_t content_bytes(sqlite3 *db)
{
	int64_t pages = query_int(db, "PRAGMA page_count");
	int64_t freep = query_int(db, "PRAGMA freelist_count");
	int64_t psize = query_int(db, "PRAGMA page_size");

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

/* After rows older than cutoff went: the event_batches rows of those
 * times lose their emptied batches and get their new lowest time, so the
 * next runs and the queries' time bounds do not look there again. */
static void fix_batches(struct hn_store *s, uint64_t cutoff)
{
	static const char *const sql[] = {
		"DELETE FROM event_batches WHERE min_time < ?1 AND NOT EXISTS"
		" (SELECT 1 FROM events WHERE id BETWEEN first_id AND last_id)",
		"UPDATE event_batches SET min_time ="
		" (SELECT min(time) FROM events WHERE id BETWEEN first_id AND last_id)"
		" WHERE min_time < ?1",
	};

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, (sqlite3_int64)cutoff);
			if (delete_step(s, st) < 0)
				i = sizeof(sql) / sizeof(sql[0]);
		}
		sqlite3_finalize(st);
	}
}

static int64_t trim_by_age(struct hn_store *s, uint64_t cutoff)
{
	sqlite3_stmt *st = NULL;
	int64_t total = 0, n = 0;
	int rc;

	rc = sqlite3_prepare_v2(s->db,
		/* the rows older than the cutoff, looked for only in the
		 * batches that hold some */
		"DELETE FROM events WHERE id IN"
		" (SELECT e.id FROM event_batches b JOIN events e"
		"   ON e.id BETWEEN b.first_id AND b.last_id"
		"  WHERE b.min_time < ?1 AND e.time < ?1"
		"  ORDER BY e.id LIMIT ?2)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return hn_store_rc_errno(rc);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)cutoff);
	sqlite3_bind_int(st, 2, RET_CHUNK);
	for (int i = 0; i < RET_MAX_CHUNKS; i++) {
		n = delete_step(s, st);
		if (n <= 0)
			break;
		total += n;
		if (n < RET_CHUNK)
			break;
	}
	sqlite3_finalize(st);
	if (total > 0)
		fix_batches(s, cutoff);
	return n < 0 && !total ? n : total;
}

static int64_t trim_by_size(struct hn_store *s)
{
	uint64_t wal_allow = s->max_bytes / 8;
	int64_t limit, target, used, total = 0, n = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	if (wal_allow > 64ULL << 20)
		wal_allow = 64ULL << 20;
	limit = (int64_t)(s->max_bytes - wal_allow);
	target = limit / 10 * 9;
	used = content_bytes(s->db);
	if (used < 0)
		return -EIO;
	if (used <= limit)
		return 0;
	rc = sqlite3_prepare_v2(s->db,
		"DELETE FROM events WHERE id IN"
		" (SELECT id FROM events ORDER BY id LIMIT ?1)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return hn_store_rc_errno(rc);
	for (int i = 0; i < RET_MAX_CHUNKS && used > target; i++) {
		/* Rows to delete, from the share of the content that is too
		 * much; ids are dense enough for max - min to estimate. */
		int64_t rows = query_int(s->db,
			"SELECT COALESCE(max(id) - min(id) + 1, 0) FROM events");
		int64_t chunk;
		if (rows <= 0)
			break;
		chunk = (int64_t)((double)rows * (double)(used - target) /
				  (double)used) + 1;
		if (chunk < RET_MIN_CHUNK)
			chunk = RET_MIN_CHUNK;
		if (chunk > RET_CHUNK)
			chunk = RET_CHUNK;
		sqlite3_bind_int64(st, 1, chunk);
		n = delete_step(s, st);
		if (n <= 0)
			break;
		total += n;
		used = content_bytes(s->db);
		if (used < 0)
			break;
	}
	sqlite3_finalize(st);
	return n < 0 && !total ? n : total;
}

/* Exited processes with no events left and no children rows: their story
 * is gone.  Ancestors of live processes stay, so trees keep their roots. */
static int64_t trim_processes(struct hn_store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t n;
	int rc;

	rc = sqlite3_prepare_v2(s->db,
		"DELETE FROM processes WHERE exited = 1"
		" AND NOT EXISTS (SELECT 1 FROM events e"
		"  WHERE e.entity = processes.entity)"
		" AND NOT EXISTS (SELECT 1 FROM processes c"
		"  WHERE c.parent_entity = processes.entity"
		"   AND c.entity != processes.entity)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return hn_store_rc_errno(rc);
	n = delete_step(s, st);
	sqlite3_finalize(st);
	return n;
}

/* file_hashes keeps the RET_FILE_HASHES newest; rows deleted or -errno. */
static int64_t trim_file_hashes(struct hn_store *s)
{
	sqlite3_stmt *st = NULL;
	int64_t n;
	int rc;

	if (query_int(s->db, "SELECT count(*) > " RET_FILE_HASHES
		      " FROM file_hashes") != 1)
		return 0;
	rc = sqlite3_prepare_v2(s->db,
		"DELETE FROM file_hashes WHERE seen < (SELECT seen FROM file_hashes"
		" ORDER BY seen DESC LIMIT 1 OFFSET " RET_FILE_HASHES " - 1)",
		-1, &st, NULL);
	if (rc != SQLITE_OK)
		return hn_store_rc_errno(rc);
	n = delete_step(s, st);
	sqlite3_finalize(st);
	return n;
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
		n = trim_by_age(s, now - s->max_age_ns);
		if (n < 0)
			r = (int)n;
		else
			deleted += n;
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
		/* event_batches rows before the oldest event left */
		hn_store_exec(s->db,
			"DELETE FROM event_batches WHERE last_id <"
			" (SELECT COALESCE(min(id), 9223372036854775807)"
			"  FROM events)");
		procs = trim_processes(s);
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
