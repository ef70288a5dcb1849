/*
 * versions.c - versions of sensitive files (store.h: struct
 * hn_file_version): the content of persistence and configuration files
 * as the agent read it after each change, so that a remediation can put
 * back what a file held before an attack and take out only the lines the
 * attack added.
 *
 * Queued like events (one heap block: the struct, path and content) and
 * written by the writer in its batch; each path keeps its newest
 * HN_STORE_VERSIONS_PER_PATH rows.  A full queue drops the version
 * (counted with hash updates: hn_store_hash_dropped); the agent reads the
 * file again at its next change.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hn_store_submit_version(struct hn_store *s, const struct hn_file_version *v)
{
	struct hn_store_op op = { .kind = HN_OP_VERSION };
	struct hn_file_version *c;
	size_t plen;
	char *p;
	bool ok;

	if (!s || !v || !v->path || (v->len && !v->content))
		return -EINVAL;
	if (s->readonly || !s->ring)
		return -EROFS;
	plen = strlen(v->path) + 1;
	c = malloc(sizeof(*c) + plen + v->len);
	if (!c)
		return -ENOMEM;
	*c = *v;
	p = (char *)(c + 1);
	memcpy(p, v->path, plen);
	c->path = p;
	if (v->len)
		memcpy(p + plen, v->content, v->len);
	c->content = v->len ? p + plen : NULL;
	op.u.version = c;
	pthread_mutex_lock(&s->mu);
	ok = hn_store_ring_push(s, &op);
	if (!ok)
		s->hash_dropped++;
	pthread_mutex_unlock(&s->mu);
	if (ok)
		return 0;
	free(c);
	return -ENOSPC;
}

int hn_version_write(struct hn_store *s, const struct hn_file_version *v)
{
	sqlite3_stmt *st = s->wst[HN_WS_VERSION];
	int rc;

	sqlite3_bind_text(st, 1, v->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)v->time);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)v->entity);
	if (v->sha256[0])
		sqlite3_bind_text(st, 4, v->sha256, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)v->size);
	sqlite3_bind_int64(st, 6, v->mode);
	sqlite3_bind_int64(st, 7, v->uid);
	sqlite3_bind_int64(st, 8, v->gid);
	sqlite3_bind_int(st, 9, v->deleted);
	if (v->deleted)
		sqlite3_bind_null(st, 10);
	else
		sqlite3_bind_blob(st, 10, v->content ? v->content : "", (int)v->len,
				  SQLITE_STATIC);
	rc = hn_store_step(st);
	if (rc != SQLITE_OK)
		return rc;
	st = s->wst[HN_WS_VERSION_TRIM];
	sqlite3_bind_text(st, 1, v->path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, HN_STORE_VERSIONS_PER_PATH);
	return hn_store_step(st);
}

static int read_rows(struct hn_store *s, const char *sql, const char *path, bool content,
		     hn_version_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	rc = sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading file versions", s->rdb);
		r = strstr(sqlite3_errmsg(s->rdb), "no such table") ? -ENOENT :
		    hn_store_rc_errno(rc);
		sqlite3_finalize(st);
		return r;
	}
	if (path)
		sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hn_file_version v = {
			.id = sqlite3_column_int64(st, 0),
			.path = (const char *)sqlite3_column_text(st, 1),
			.time = (uint64_t)sqlite3_column_int64(st, 2),
			.entity = (uint64_t)sqlite3_column_int64(st, 3),
			.size = (uint64_t)sqlite3_column_int64(st, 5),
			.mode = (uint32_t)sqlite3_column_int64(st, 6),
			.uid = (uint32_t)sqlite3_column_int64(st, 7),
			.gid = (uint32_t)sqlite3_column_int64(st, 8),
			.deleted = sqlite3_column_int(st, 9) != 0,
		};
		const char *sha = (const char *)sqlite3_column_text(st, 4);

		if (!v.path)
			continue;
		if (sha)
			snprintf(v.sha256, sizeof(v.sha256), "%s", sha);
		if (content && !v.deleted) {
			v.content = sqlite3_column_blob(st, 10);
			v.len = (size_t)sqlite3_column_bytes(st, 10);
		}
		r = cb(&v, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		hn_store_set_err(s, "reading file versions", s->rdb);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int hn_store_file_versions(struct hn_store *s, const char *path, hn_version_cb cb, void *arg)
{
	if (!s || !path || !cb)
		return -EINVAL;
	return read_rows(s, "SELECT id, path, time, entity, sha256, size, mode, uid, gid,"
			 " deleted, content FROM file_versions WHERE path = ?1"
			 " ORDER BY time, id", path, true, cb, arg);
}

int hn_store_latest_versions(struct hn_store *s, hn_version_cb cb, void *arg)
{
	if (!s || !cb)
		return -EINVAL;
	return read_rows(s, "SELECT id, path, time, entity, sha256, size, mode, uid, gid,"
			 " deleted, NULL FROM file_versions WHERE id IN"
			 " (SELECT max(id) FROM file_versions GROUP BY path)", NULL, false,
			 cb, arg);
}
