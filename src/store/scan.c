/*
 * scan.c - the scan's rescan cache in the store (store.h: table
 * scan_clean), written by `hinomi scan` on its read-write handle.
 *
 * Like actions.c: written under wmu by the caller's thread, in
 * transactions of its own (a batch of rows each), whether or not an agent
 * runs; an agent's writer holds the database for one batch at most and
 * the busy timeout waits for it.  The event writer never touches the
 * table.  Rows are read all at once at the start of a scan (the CLI keeps
 * them in a hash set), through the read-only connection.
 */
#include "store/store_int.h"

#include <errno.h>
#include <string.h>

int hn_store_scan_clean_load(struct hn_store *s, const char *rules_version,
			     const char *ioc_version, hn_scan_clean_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if (!s || !rules_version || !ioc_version || !cb)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb,
		"SELECT dev, ino, size, mtime_ns, ctime_ns FROM scan_clean"
		" WHERE rules_version = ?1 AND ioc_version = ?2", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading the scan cache", s->rdb);
		r = strstr(sqlite3_errmsg(s->rdb), "no such table") ? -ENOENT :
		    hn_store_rc_errno(rc);
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_bind_text(st, 1, rules_version, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ioc_version, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hn_scan_clean c = {
			.dev = (uint64_t)sqlite3_column_int64(st, 0),
			.ino = (uint64_t)sqlite3_column_int64(st, 1),
			.size = (uint64_t)sqlite3_column_int64(st, 2),
			.mtime_ns = (uint64_t)sqlite3_column_int64(st, 3),
			.ctime_ns = (uint64_t)sqlite3_column_int64(st, 4),
		};
		r = cb(&c, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE) {
		hn_store_set_err(s, "reading the scan cache", s->rdb);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

/* Run sql once per row of v (bound by bind) in one transaction. */
static int write_rows(struct hn_store *s, const char *what, const char *sql,
		      const struct hn_scan_clean *v, unsigned n,
		      void (*bind)(sqlite3_stmt *st, const struct hn_scan_clean *c,
				   const void *arg),
		      const void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || (n && !v))
		return -EINVAL;
	if (s->readonly || !s->db)
		return -EROFS;
	if (!n)
		return 0;
	pthread_mutex_lock(&s->wmu);
	rc = hn_store_exec(s->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "locking the store", s->db);
		goto out;
	}
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	for (unsigned i = 0; rc == SQLITE_OK && i < n; i++) {
		bind(st, &v[i], arg);
		rc = hn_store_step(st);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK)
		rc = hn_store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, what, s->db);
		hn_store_exec(s->db, "ROLLBACK");
	}
out:
	pthread_mutex_unlock(&s->wmu);
	return rc == SQLITE_OK ? 0 : hn_store_rc_errno(rc);
}

struct put_arg {
	const char *rv, *iv;
	uint64_t now;
};

static void bind_put(sqlite3_stmt *st, const struct hn_scan_clean *c, const void *arg)
{
	const struct put_arg *p = arg;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)c->dev);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->ino);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->size);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)c->mtime_ns);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)c->ctime_ns);
	sqlite3_bind_text(st, 6, p->rv, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, p->iv, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)p->now);
}

int hn_store_scan_clean_put(struct hn_store *s, const char *rules_version,
			    const char *ioc_version, const struct hn_scan_clean *v,
			    unsigned n, uint64_t now)
{
	struct put_arg p = { rules_version, ioc_version, now };

	if (!rules_version || !ioc_version)
		return -EINVAL;
	return write_rows(s, "recording clean files",
		"INSERT OR REPLACE INTO scan_clean(dev, ino, size, mtime_ns, ctime_ns,"
		" rules_version, ioc_version, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		v, n, bind_put, &p);
}

static void bind_key(sqlite3_stmt *st, const struct hn_scan_clean *c, const void *arg)
{
	(void)arg;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)c->dev);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->ino);
}

int hn_store_scan_clean_forget(struct hn_store *s, const struct hn_scan_clean *v,
			       unsigned n)
{
	return write_rows(s, "forgetting clean files",
		"DELETE FROM scan_clean WHERE dev = ?1 AND ino = ?2", v, n, bind_key, NULL);
}

int hn_store_scan_clean_prune(struct hn_store *s, uint64_t before_ns)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (!s)
		return -EINVAL;
	if (s->readonly || !s->db)
		return -EROFS;
	pthread_mutex_lock(&s->wmu);
	rc = sqlite3_prepare_v2(s->db, "DELETE FROM scan_clean WHERE time < ?1", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)before_ns);
		rc = hn_store_step(st);
		n = sqlite3_changes(s->db);
	}
	if (rc != SQLITE_OK)
		hn_store_set_err(s, "pruning the scan cache", s->db);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->wmu);
	return rc == SQLITE_OK ? n : hn_store_rc_errno(rc);
}
