/*
 * alerts.c - alerts in the store (store.h: struct hn_alert).
 *
 * An alert is queued like an event (one heap block: the struct and its
 * strings) and written by the writer in its batch: a new row, or, when a
 * row with its group_key exists, one more match of that row (count and
 * last_time), so that a rule firing a thousand times in one process tree
 * is one alert with a count.  Readers list them by last match.
 *
 * A full queue drops the alert (counted: alerts_dropped); it never blocks
 * the agent.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copy s into the block at *p (NULL stays NULL). */
static const char *put(char **p, const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = *p;
	memcpy(d, s, n);
	*p += n;
	return d;
}

static size_t len0(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

int hn_store_submit_alert(struct hn_store *s, const struct hn_alert *a)
{
	struct hn_store_op op = { .kind = HN_OP_ALERT };
	struct hn_alert *c;
	size_t n;
	char *p;
	bool ok;

	if (!s || !a || !a->group_key || !a->rule_title)
		return -EINVAL;
	if (s->readonly || !s->ring)
		return -EROFS;
	n = sizeof(*c) + len0(a->group_key) + len0(a->rule_id) + len0(a->rule_title) +
	    len0(a->rule_level) + len0(a->rule_author) + len0(a->rule_tags) +
	    len0(a->rule_path) + len0(a->executable) + len0(a->event_json);
	c = malloc(n);
	if (!c)
		return -ENOMEM;
	*c = *a;
	p = (char *)(c + 1);
	c->group_key = put(&p, a->group_key);
	c->rule_id = put(&p, a->rule_id);
	c->rule_title = put(&p, a->rule_title);
	c->rule_level = put(&p, a->rule_level);
	c->rule_author = put(&p, a->rule_author);
	c->rule_tags = put(&p, a->rule_tags);
	c->rule_path = put(&p, a->rule_path);
	c->executable = put(&p, a->executable);
	c->event_json = put(&p, a->event_json);
	op.u.alert = c;
	pthread_mutex_lock(&s->mu);
	ok = hn_store_ring_push(s, &op);
	if (!ok)
		s->alerts_dropped++;
	pthread_mutex_unlock(&s->mu);
	if (ok)
		return 0;
	free(c);
	return -ENOSPC;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int hn_alert_write(struct hn_store *s, const struct hn_alert *a)
{
	sqlite3_stmt *st = s->wst[HN_WS_ALERT];

	bind_text(st, 1, a->group_key);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)a->time);
	bind_text(st, 3, a->rule_id);
	bind_text(st, 4, a->rule_title);
	bind_text(st, 5, a->rule_level);
	bind_text(st, 6, a->rule_author);
	bind_text(st, 7, a->rule_tags);
	bind_text(st, 8, a->rule_path);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)a->entity);
	sqlite3_bind_int64(st, 10, a->pid);
	bind_text(st, 11, a->executable);
	sqlite3_bind_int(st, 12, a->event_type);
	bind_text(st, 13, a->event_json);
	return hn_store_step(st);
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int hn_store_alerts(struct hn_store *s, uint64_t since_ns, hn_alert_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r = 0, rc;

	if (!s || !cb)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb,
		"SELECT id, group_key, time, last_time, count, rule_id, rule_title,"
		" rule_level, rule_author, rule_tags, rule_path, entity, pid,"
		" executable, event_type, event_json FROM alerts"
		" WHERE last_time >= ?1 ORDER BY time, id", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading alerts", s->rdb);
		r = strstr(sqlite3_errmsg(s->rdb), "no such table") ? -ENOENT :
		    hn_store_rc_errno(rc);
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)since_ns);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hn_alert a = {
			.id = sqlite3_column_int64(st, 0),
			.group_key = col(st, 1),
			.time = (uint64_t)sqlite3_column_int64(st, 2),
			.last_time = (uint64_t)sqlite3_column_int64(st, 3),
			.count = (uint64_t)sqlite3_column_int64(st, 4),
			.rule_id = col(st, 5),
			.rule_title = col(st, 6),
			.rule_level = col(st, 7),
			.rule_author = col(st, 8),
			.rule_tags = col(st, 9),
			.rule_path = col(st, 10),
			.entity = (uint64_t)sqlite3_column_int64(st, 11),
			.pid = (uint32_t)sqlite3_column_int64(st, 12),
			.executable = col(st, 13),
			.event_type = (uint16_t)sqlite3_column_int(st, 14),
			.event_json = col(st, 15),
		};
		r = cb(&a, arg);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE) {
		hn_store_set_err(s, "reading alerts", s->rdb);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}
