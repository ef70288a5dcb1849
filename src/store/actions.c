/*
 * actions.c - response actions in the store (store.h: struct hn_action),
 * and alerts written at once by a caller without a writer thread.
 *
 * Unlike events, these rows are written in a transaction of their own on
 * the read-write connection, under wmu, by the caller's thread: the CLI
 * acts (kill, quarantine, isolate, ...) whether or not an agent runs, and
 * its record must be committed before it says "done".  An agent writing
 * at the same time holds the database for one batch at most; SQLite's busy
 * timeout (HN_STORE_BUSY_MS) waits for it.  Neither table is touched by
 * the event writer's caches, so two writers never disagree about ids.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t v)
{
	if (v > 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

/* Run one prepared write with wmu held; SQLite rc.  *rowid gets the row. */
static int write_one(struct hn_store *s, const char *what, sqlite3_stmt *st,
		     int64_t *rowid)
{
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		if (rowid)
			*rowid = sqlite3_last_insert_rowid(s->db);
		return SQLITE_OK;
	}
	hn_store_set_err(s, what, s->db);
	return rc;
}

int hn_store_action_add(struct hn_store *s, const struct hn_action *a, int64_t *id)
{
	sqlite3_stmt *st = NULL;
	int64_t row = 0;
	int rc;

	if (!s || !a || !a->user || !a->kind || !a->status)
		return -EINVAL;
	if (s->readonly || !s->db)
		return -EROFS;
	pthread_mutex_lock(&s->wmu);
	rc = sqlite3_prepare_v2(s->db,
		"INSERT INTO actions(parent, undo_of, time, end_time, user, kind,"
		" target, status, summary, detail)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "recording an action", s->db);
		goto out;
	}
	bind_id(st, 1, a->parent);
	bind_id(st, 2, a->undo_of);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)(a->time ? a->time : hn_store_now_ns()));
	if (a->end_time)
		sqlite3_bind_int64(st, 4, (sqlite3_int64)a->end_time);
	else
		sqlite3_bind_null(st, 4);
	bind_text(st, 5, a->user);
	bind_text(st, 6, a->kind);
	bind_text(st, 7, a->target);
	bind_text(st, 8, a->status);
	bind_text(st, 9, a->summary);
	bind_text(st, 10, a->detail);
	rc = write_one(s, "recording an action", st, &row);
out:
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->wmu);
	if (rc != SQLITE_OK)
		return hn_store_rc_errno(rc);
	if (id)
		*id = row;
	return 0;
}

int hn_store_action_set(struct hn_store *s, int64_t id, const char *status,
			const char *summary, const char *detail)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!s || id <= 0 || !status)
		return -EINVAL;
	if (s->readonly || !s->db)
		return -EROFS;
	pthread_mutex_lock(&s->wmu);
	rc = sqlite3_prepare_v2(s->db,
		"UPDATE actions SET status = ?2,"
		" summary = COALESCE(?3, summary), detail = COALESCE(?4, detail),"
		" end_time = CASE WHEN ?2 = 'running' THEN end_time ELSE ?5 END"
		" WHERE id = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "recording an action", s->db);
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, status);
	bind_text(st, 3, summary);
	bind_text(st, 4, detail);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)hn_store_now_ns());
	rc = write_one(s, "recording an action", st, NULL);
out:
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && sqlite3_changes(s->db) == 0)
		rc = SQLITE_NOTFOUND;
	pthread_mutex_unlock(&s->wmu);
	if (rc == SQLITE_NOTFOUND) {
		hn_store_set_errf(s, "no action %lld", (long long)id);
		return -ENOENT;
	}
	return rc == SQLITE_OK ? 0 : hn_store_rc_errno(rc);
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int hn_store_actions(struct hn_store *s, int64_t id, int64_t parent,
		     hn_action_cb cb, void *arg)
{
	/* rdb: a new read transaction sees every commit, the caller's own
	 * on db included */
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	const char *where;
	char sql[512];
	int r = 0, rc;

	if (!s || !cb)
		return -EINVAL;
	db = s->rdb;
	if (id > 0)
		where = "WHERE id = ?1";
	else if (parent > 0)
		where = "WHERE parent = ?1";
	else if (parent < 0)
		where = "WHERE parent IS NULL";
	else
		where = "";
	snprintf(sql, sizeof(sql),
		 "SELECT id, parent, undo_of, time, end_time, user, kind, target,"
		 " status, summary, detail FROM actions %s ORDER BY id", where);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading actions", db);
		r = strstr(sqlite3_errmsg(db), "no such table") ? -ENOENT :
		    hn_store_rc_errno(rc);
		sqlite3_finalize(st);
		return r;
	}
	if (id > 0)
		sqlite3_bind_int64(st, 1, id);
	else if (parent > 0)
		sqlite3_bind_int64(st, 1, parent);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hn_action a = {
			.id = sqlite3_column_int64(st, 0),
			.parent = sqlite3_column_int64(st, 1),
			.undo_of = sqlite3_column_int64(st, 2),
			.time = (uint64_t)sqlite3_column_int64(st, 3),
			.end_time = (uint64_t)sqlite3_column_int64(st, 4),
			.user = col(st, 5),
			.kind = col(st, 6),
			.target = col(st, 7),
			.status = col(st, 8),
			.summary = col(st, 9),
			.detail = col(st, 10),
		};
		r = cb(&a, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		hn_store_set_err(s, "reading actions", db);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int hn_store_alert_put(struct hn_store *s, const struct hn_alert *a)
{
	int rc;

	if (!s || !a || !a->group_key || !a->rule_title)
		return -EINVAL;
	if (s->readonly || !s->db)
		return -EROFS;
	pthread_mutex_lock(&s->wmu);
	rc = hn_store_exec(s->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "locking the store", s->db);
		goto out;
	}
	rc = hn_alert_write(s, a);
	if (rc == SQLITE_OK)
		rc = hn_store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "writing an alert", s->db);
		hn_store_exec(s->db, "ROLLBACK");
	}
out:
	pthread_mutex_unlock(&s->wmu);
	return rc == SQLITE_OK ? 0 : hn_store_rc_errno(rc);
}
