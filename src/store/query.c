/*
 * query.c - the store's read side: events by filter (enriched with the image
 * in effect), processes by entity / pid / parent, tree roots, and read-only
 * SQL for users.
 *
 * Invariants:
 *  - Every reader uses rdb, the read-only connection (SQLITE_OPEN_READONLY,
 *    query_only), so nothing here can change the store even by mistake; one
 *    caller thread at a time per handle.
 *  - Each call runs one statement to completion or finalizes it: no read
 *    transaction outlives the call (so the writer's checkpoints are never
 *    held back by an idle CLI).
 *  - hn_store_sql accepts exactly one statement, refuses it unless
 *    sqlite3_stmt_readonly() says it cannot write, and denies ATTACH,
 *    DETACH, transactions and PRAGMAs that set anything through an
 *    authorizer: users' SQL is trusted with reading, nothing more.
 *  - Filters are bound as parameters, never pasted into SQL text.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- events ---- */

enum {
	QC_ID, QC_TIME, QC_TYPE, QC_ENTITY, QC_PARENT, QC_PID, QC_TID, QC_PPID,
	QC_UID, QC_EUID, QC_GID, QC_EGID, QC_AUID, QC_COMM, QC_FLAGS,
	QC_RESULT, QC_PATH, QC_PATH2, QC_FILENAME, QC_ARGS, QC_ARGC, QC_CWD,
	QC_TTY, QC_CGROUP, QC_CGROUP_ID, QC_CONTAINER, QC_SESSIONID,
	QC_SHA256, QC_EXIT_CODE, QC_EXIT_SIGNAL, QC_DEV, QC_INO, QC_SIZE,
	QC_MTIME, QC_MODE, QC_OFLAGS, QC_OWNER_UID, QC_OWNER_GID, QC_COOKIE,
	QC_TARGET_PID, QC_TARGET_ENTITY, QC_REQUEST, QC_CRED0, QC_CRED1,
	QC_CRED2, QC_TRANSPORT, QC_FAMILY, QC_SRC_ADDR, QC_SRC_PORT,
	QC_DST_ADDR, QC_DST_PORT, QC_DNS_NAME, QC_DNS_TYPE, QC_NAME,
	QC_GAP_DROPPED, QC_GAP_QUEUE,
	QC_P_START, QC_P_PARENT, QC_EXE, QC_PEXE,
	QC_COUNT,
};

/* The parent of the event's process: as the event saw it, else as
 * processes knows it. */
#define Q_PARENT "COALESCE(e.parent_entity, p.parent_entity)"
/* The latest image of entity X at or before the event's time. */
#define Q_IMAGE_AT(X) \
	"(SELECT x.path FROM execs x WHERE x.entity = " X \
	" AND x.time <= e.time ORDER BY x.time DESC LIMIT 1)"

/* The events columns, in the order of docs/SCHEMA.md (and of enum qcol). */
const char hn_store_ev_cols[] =
	"id, time, type, entity, parent_entity, pid, tid,"
	" ppid, uid, euid, gid, egid, auid, comm, flags,"
	" result, path, path2, filename, args, argc, cwd, tty,"
	" cgroup, cgroup_id, container_id, sessionid, sha256,"
	" exit_code, exit_signal, dev, ino, size, mtime, mode,"
	" oflags, owner_uid, owner_gid, cookie, target_pid,"
	" target_entity, request, cred_arg0, cred_arg1, cred_arg2,"
	" transport, family, src_addr, src_port, dst_addr,"
	" dst_port, dns_name, dns_type, name, gap_dropped,"
	" gap_queue";

/* The event's own columns, as q_select and q_select_bare read them. */
#define Q_EV_COLS \
	" e.id, e.time, e.type, e.entity, e.parent_entity, e.pid, e.tid," \
	" e.ppid, e.uid, e.euid, e.gid, e.egid, e.auid, e.comm, e.flags," \
	" e.result, e.path, e.path2, e.filename, e.args, e.argc, e.cwd, e.tty," \
	" e.cgroup, e.cgroup_id, e.container_id, e.sessionid, e.sha256," \
	" e.exit_code, e.exit_signal, e.dev, e.ino, e.size, e.mtime, e.mode," \
	" e.oflags, e.owner_uid, e.owner_gid, e.cookie, e.target_pid," \
	" e.target_entity, e.request, e.cred_arg0, e.cred_arg1, e.cred_arg2," \
	" e.transport, e.family, e.src_addr, e.src_port, e.dst_addr," \
	" e.dst_port, e.dns_name, e.dns_type, e.name, e.gap_dropped," \
	" e.gap_queue,"

static const char q_select[] =
	"SELECT" Q_EV_COLS
	" p.start_time, p.parent_entity,"
	/* Image in effect: its own latest exec at or before the event; before
	 * its first exec a process runs its parent's image (fork); a process
	 * with no exec recorded has the image processes knows. */
	" COALESCE(" Q_IMAGE_AT("e.entity") ","
	"  CASE WHEN EXISTS (SELECT 1 FROM execs y WHERE y.entity = e.entity)"
	"  THEN COALESCE(" Q_IMAGE_AT(Q_PARENT) ", pp.executable) END,"
	"  p.executable),"
	" COALESCE(" Q_IMAGE_AT(Q_PARENT) ", pp.executable)"
	" FROM events e"
	" LEFT JOIN processes p ON p.entity = e.entity"
	" LEFT JOIN processes pp ON pp.entity = " Q_PARENT;

/* The same columns without what joins processes and execs (NULL): for
 * readers that need only the events (hn_query.bare). */
static const char q_select_bare[] =
	"SELECT" Q_EV_COLS " NULL, NULL, NULL, NULL FROM events e";

static int64_t col_i64(sqlite3_stmt *st, int i)
{
	return sqlite3_column_int64(st, i);
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	return (uint64_t)sqlite3_column_int64(st, i);
}

static uint32_t col_u32(sqlite3_stmt *st, int i)
{
	return (uint32_t)sqlite3_column_int64(st, i);
}

/* Copy a text/blob column into ev's string space; NULL for SQL NULL. */
static const char *col_put(struct hn_event *ev, sqlite3_stmt *st, int i)
{
	const void *p;
	int n;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if (sqlite3_column_type(st, i) == SQLITE_BLOB) {
		p = sqlite3_column_blob(st, i);
	} else {
		p = sqlite3_column_text(st, i);
	}
	n = sqlite3_column_bytes(st, i);
	return hn_event_put(ev, p ? p : "", (size_t)n);
}

static void col_addr(sqlite3_stmt *st, int iaddr, int iport, uint16_t fam,
		     struct hn_addr *a)
{
	const unsigned char *t = sqlite3_column_text(st, iaddr);

	memset(a, 0, sizeof(*a));
	if (t && hn_addr_parse((const char *)t, a) < 0)
		memset(a, 0, sizeof(*a));
	if (sqlite3_column_type(st, iport) != SQLITE_NULL) {
		a->port = (uint16_t)sqlite3_column_int(st, iport);
		if (!a->family)
			a->family = fam;
	}
}

struct hn_event *hn_store_row_event(sqlite3_stmt *st)
{
	static const int strcols[] = {
		QC_PATH, QC_PATH2, QC_FILENAME, QC_ARGS, QC_CWD, QC_TTY,
		QC_CGROUP, QC_CONTAINER, QC_DNS_NAME, QC_NAME, QC_EXE, QC_PEXE,
	};
	struct hn_event *ev;
	struct hn_proc *p;
	const unsigned char *t;
	size_t space = 0;
	uint16_t fam;

	for (size_t i = 0; i < sizeof(strcols) / sizeof(strcols[0]); i++)
		space += (size_t)sqlite3_column_bytes(st, strcols[i]) + 1;
	ev = hn_event_new(space);
	if (!ev)
		return NULL;
	p = &ev->proc;
	ev->id = col_i64(st, QC_ID);
	ev->time = col_u64(st, QC_TIME);
	ev->type = (uint16_t)col_i64(st, QC_TYPE);
	ev->flags = col_u32(st, QC_FLAGS);
	ev->result = col_i64(st, QC_RESULT);
	p->entity = col_u64(st, QC_ENTITY);
	p->parent_entity = col_u64(st, QC_PARENT);
	if (!p->parent_entity)
		p->parent_entity = col_u64(st, QC_P_PARENT);
	p->start_time = col_u64(st, QC_P_START);
	p->pid = col_u32(st, QC_PID);
	p->tid = col_u32(st, QC_TID);
	p->ppid = col_u32(st, QC_PPID);
	p->uid = col_u32(st, QC_UID);
	p->euid = col_u32(st, QC_EUID);
	p->gid = col_u32(st, QC_GID);
	p->egid = col_u32(st, QC_EGID);
	p->auid = col_u32(st, QC_AUID);
	t = sqlite3_column_text(st, QC_COMM);
	if (t)
		snprintf(p->comm, sizeof(p->comm), "%s", (const char *)t);

	ev->path = col_put(ev, st, QC_PATH);
	ev->path2 = col_put(ev, st, QC_PATH2);
	ev->filename = col_put(ev, st, QC_FILENAME);
	ev->args = col_put(ev, st, QC_ARGS);
	ev->args_len = ev->args ? (size_t)sqlite3_column_bytes(st, QC_ARGS) : 0;
	ev->argc = col_u32(st, QC_ARGC);
	ev->cwd = col_put(ev, st, QC_CWD);
	ev->tty = col_put(ev, st, QC_TTY);
	ev->cgroup = col_put(ev, st, QC_CGROUP);
	ev->container_id = col_put(ev, st, QC_CONTAINER);
	ev->dns_name = col_put(ev, st, QC_DNS_NAME);
	ev->name = col_put(ev, st, QC_NAME);
	p->executable = col_put(ev, st, QC_EXE);
	p->parent_executable = col_put(ev, st, QC_PEXE);

	ev->cgroup_id = col_u64(st, QC_CGROUP_ID);
	ev->sessionid = col_u32(st, QC_SESSIONID);
	t = sqlite3_column_text(st, QC_SHA256);
	if (t)
		snprintf(ev->sha256, sizeof(ev->sha256), "%s", (const char *)t);
	ev->exit_code = (int32_t)col_i64(st, QC_EXIT_CODE);
	ev->exit_signal = (int32_t)col_i64(st, QC_EXIT_SIGNAL);
	ev->dev = col_u64(st, QC_DEV);
	ev->ino = col_u64(st, QC_INO);
	ev->size = col_u64(st, QC_SIZE);
	ev->mtime = col_u64(st, QC_MTIME);
	ev->mode = col_u32(st, QC_MODE);
	ev->oflags = col_u32(st, QC_OFLAGS);
	ev->owner_uid = col_u32(st, QC_OWNER_UID);
	ev->owner_gid = col_u32(st, QC_OWNER_GID);
	ev->cookie = col_u64(st, QC_COOKIE);
	ev->target_pid = col_u32(st, QC_TARGET_PID);
	ev->target_entity = col_u64(st, QC_TARGET_ENTITY);
	ev->request = col_u64(st, QC_REQUEST);
	ev->cred_arg[0] = col_u64(st, QC_CRED0);
	ev->cred_arg[1] = col_u64(st, QC_CRED1);
	ev->cred_arg[2] = col_u64(st, QC_CRED2);
	ev->transport = (uint16_t)col_i64(st, QC_TRANSPORT);
	fam = (uint16_t)col_i64(st, QC_FAMILY);
	col_addr(st, QC_SRC_ADDR, QC_SRC_PORT, fam, &ev->src);
	col_addr(st, QC_DST_ADDR, QC_DST_PORT, fam, &ev->dst);
	ev->dns_type = (uint16_t)col_i64(st, QC_DNS_TYPE);
	ev->gap_dropped = col_u64(st, QC_GAP_DROPPED);
	ev->gap_queue = col_u64(st, QC_GAP_QUEUE);
	return ev;
}

/* Build the SQL for q into buf.  Parameters are numbered as bind_query
 * binds them. */
static int query_sql(const struct hn_query *q, char *buf, size_t n)
{
	size_t len = 0;
	int w, ntypes = q->ntypes;
	const char *and = " WHERE ";

#define ADD(...) do { \
		w = snprintf(buf + len, n - len, __VA_ARGS__); \
		if (w < 0 || (size_t)w >= n - len) \
			return -ENAMETOOLONG; \
		len += (size_t)w; \
	} while (0)

	if (q->entity && q->descendants)
		ADD("WITH RECURSIVE tree(entity) AS (SELECT ?1"
		    " UNION SELECT c.entity FROM processes c"
		    " JOIN tree t ON c.parent_entity = t.entity) ");
	ADD("%s", q->bare ? q_select_bare : q_select);
	if (ntypes > 0) {
		ADD("%se.type IN (", and);
		for (int i = 0; i < ntypes; i++)
			ADD("%s?%d", i ? ", " : "", 10 + i);
		ADD(")");
		and = " AND ";
	}
	if (q->entity) {
		if (q->descendants)
			ADD("%se.entity IN tree", and);
		else
			ADD("%se.entity = ?1", and);
		and = " AND ";
	}
	if (q->pid) {
		/* The processes lookup lets the planner use (entity, time). */
		ADD("%se.pid = ?2 AND e.entity IN"
		    " (SELECT entity FROM processes WHERE pid = ?2)", and);
		and = " AND ";
	}
	/* the events table finds time bounds through its blocks' ranges */
	if (q->since) {
		ADD("%se.time >= ?3", and);
		and = " AND ";
	}
	if (q->until) {
		ADD("%se.time <= ?4", and);
		and = " AND ";
	}
	if (q->after_id) {
		ADD("%se.id > ?5", and);
		and = " AND ";
	}
	/* both found through the postings of the path (vtab.c) */
	if (q->path) {
		ADD("%se.path = ?7", and);
		and = " AND ";
	}
	if (q->path2) {
		ADD("%se.path2 = ?8", and);
		and = " AND ";
	}
	/* Arrival order: time order for each process, and across processes
	 * but for events that reached the store a batch late. */
	ADD(" ORDER BY e.id%s", q->newest_first ? " DESC" : "");
	if (q->limit)
		ADD(" LIMIT ?6");
#undef ADD
	return 0;
}

static void bind_query(sqlite3_stmt *st, const struct hn_query *q)
{
	if (q->entity)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)q->entity);
	if (q->pid)
		sqlite3_bind_int64(st, 2, q->pid);
	if (q->since)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)q->since);
	if (q->until)
		sqlite3_bind_int64(st, 4, (sqlite3_int64)q->until);
	if (q->after_id)
		sqlite3_bind_int64(st, 5, q->after_id);
	if (q->limit)
		sqlite3_bind_int64(st, 6, q->limit);
	if (q->path)
		sqlite3_bind_text(st, 7, q->path, -1, SQLITE_STATIC);
	if (q->path2)
		sqlite3_bind_text(st, 8, q->path2, -1, SQLITE_STATIC);
	for (int i = 0; i < q->ntypes; i++)
		sqlite3_bind_int(st, 10 + i, q->types[i]);
}

int hn_store_query(struct hn_store *s, const struct hn_query *q,
		   hn_event_cb cb, void *arg)
{
	static const struct hn_query all;
	sqlite3_stmt *st = NULL;
	char sql[8192];
	int r = -EINVAL, rc;

	if (!s || !cb)
		return r;
	if (!q)
		q = &all;
	if (q->ntypes < 0 || q->ntypes > 64) {
		hn_store_set_errf(s, "bad query: %d types", q->ntypes);
		return r;
	}
	r = query_sql(q, sql, sizeof(sql));
	if (r < 0) {
		hn_store_set_errf(s, "query too long");
		return r;
	}
	rc = sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "preparing the query", s->rdb);
		return hn_store_rc_errno(rc);
	}
	bind_query(st, q);
	r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hn_event *ev = hn_store_row_event(st);
		if (!ev) {
			hn_store_set_errf(s, "no memory for an event");
			r = -ENOMEM;
			break;
		}
		r = cb(ev, arg);
		hn_event_free(ev);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE) {
		hn_store_set_err(s, "reading events", s->rdb);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

/* ---- processes ---- */

#define P_COLS \
	"entity, parent_entity, pid, ppid, uid, euid, gid, egid, auid," \
	" start_time, exit_time, exit_code, exit_signal, exited, comm," \
	" executable, args, argc, cwd, sha256, from_snapshot"

void hn_process_free(struct hn_process *p)
{
	if (!p)
		return;
	free(p->executable);
	free(p->args);
	free(p->cwd);
	free(p);
}

static char *col_dup(sqlite3_stmt *st, int i, size_t *len)
{
	const void *v;
	char *c;
	size_t n;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if (sqlite3_column_type(st, i) == SQLITE_BLOB)
		v = sqlite3_column_blob(st, i);
	else
		v = sqlite3_column_text(st, i);
	n = (size_t)sqlite3_column_bytes(st, i);
	c = malloc(n + 1);
	if (!c)
		return NULL;
	if (n)
		memcpy(c, v, n);
	c[n] = '\0';
	if (len)
		*len = n;
	return c;
}

static struct hn_process *row_process(sqlite3_stmt *st)
{
	struct hn_process *p = calloc(1, sizeof(*p));
	const unsigned char *t;

	if (!p)
		return NULL;
	p->entity = col_u64(st, 0);
	p->parent_entity = col_u64(st, 1);
	p->pid = col_u32(st, 2);
	p->ppid = col_u32(st, 3);
	p->uid = col_u32(st, 4);
	p->euid = col_u32(st, 5);
	p->gid = col_u32(st, 6);
	p->egid = col_u32(st, 7);
	p->auid = col_u32(st, 8);
	p->start_time = col_u64(st, 9);
	p->exit_time = col_u64(st, 10);
	p->exit_code = (int32_t)col_i64(st, 11);
	p->exit_signal = (int32_t)col_i64(st, 12);
	p->exited = col_i64(st, 13) != 0;
	t = sqlite3_column_text(st, 14);
	if (t)
		snprintf(p->comm, sizeof(p->comm), "%s", (const char *)t);
	p->executable = col_dup(st, 15, NULL);
	p->args = col_dup(st, 16, &p->args_len);
	p->argc = col_u32(st, 17);
	p->cwd = col_dup(st, 18, NULL);
	t = sqlite3_column_text(st, 19);
	if (t)
		snprintf(p->sha256, sizeof(p->sha256), "%s", (const char *)t);
	p->from_snapshot = col_i64(st, 20) != 0;
	if ((sqlite3_column_type(st, 15) != SQLITE_NULL && !p->executable) ||
	    (sqlite3_column_type(st, 16) != SQLITE_NULL && !p->args) ||
	    (sqlite3_column_type(st, 18) != SQLITE_NULL && !p->cwd)) {
		hn_process_free(p);
		return NULL;
	}
	return p;
}

int hn_store_process(struct hn_store *s, uint64_t entity, struct hn_process **out)
{
	sqlite3_stmt *st = NULL;
	struct hn_process *p;
	int r = -EIO, rc;

	if (!s || !out)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb,
		"SELECT " P_COLS " FROM processes WHERE entity = ?1",
		-1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading processes", s->rdb);
		return hn_store_rc_errno(rc);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)entity);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		hn_store_set_err(s, "reading processes", s->rdb);
		r = hn_store_rc_errno(rc);
		goto out;
	}
	p = row_process(st);
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	*out = p;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int hn_store_file_hashes(struct hn_store *s, unsigned max, hn_file_hash_cb cb,
			 void *arg)
{
	sqlite3_stmt *st = NULL;
	int n = 0, rc;

	if (!s || !cb)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb,
		"SELECT dev, ino, size, mtime, sha256 FROM file_hashes"
		" ORDER BY seen DESC LIMIT ?1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading file hashes", s->rdb);
		return hn_store_rc_errno(rc);
	}
	sqlite3_bind_int64(st, 1, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 4);
		if (!h || strlen(h) != 64)
			continue;
		n++;
		if (cb(col_u64(st, 0), col_u64(st, 1), col_u64(st, 2),
		       col_u64(st, 3), h, arg))
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		hn_store_set_err(s, "reading file hashes", s->rdb);
		n = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return n;
}

int hn_store_entities_by_pid(struct hn_store *s, uint32_t pid,
			     uint64_t *out, int max)
{
	sqlite3_stmt *st = NULL;
	int r = -EIO, rc, n = 0;

	if (!s || (!out && max > 0) || max < 0)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb,
		"SELECT entity FROM processes WHERE pid = ?1"
		" ORDER BY COALESCE(start_time, 0) DESC, entity DESC LIMIT ?2",
		-1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading processes", s->rdb);
		return hn_store_rc_errno(rc);
	}
	sqlite3_bind_int64(st, 1, pid);
	sqlite3_bind_int(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		out[n++] = col_u64(st, 0);
	if (rc != SQLITE_DONE) {
		hn_store_set_err(s, "reading processes", s->rdb);
		r = hn_store_rc_errno(rc);
		goto out;
	}
	r = n;
out:
	sqlite3_finalize(st);
	return r;
}

/* Run a processes SELECT (entity bound to ?1 when non-zero) and hand each
 * row to cb. */
static int each_process(struct hn_store *s, const char *sql, uint64_t entity,
			hn_process_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL;
	int r = -EIO, rc;

	if (!s || !cb)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading processes", s->rdb);
		return hn_store_rc_errno(rc);
	}
	if (entity)
		sqlite3_bind_int64(st, 1, (sqlite3_int64)entity);
	r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hn_process *p = row_process(st);
		if (!p) {
			r = -ENOMEM;
			break;
		}
		r = cb(p, arg);
		hn_process_free(p);
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE) {
		hn_store_set_err(s, "reading processes", s->rdb);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	return r;
}

int hn_store_children(struct hn_store *s, uint64_t entity,
		      hn_process_cb cb, void *arg)
{
	if (!entity)
		return -EINVAL;
	return each_process(s,
		"SELECT " P_COLS " FROM processes"
		" WHERE parent_entity = ?1 AND entity != ?1"
		" ORDER BY COALESCE(start_time, 0), entity",
		entity, cb, arg);
}

int hn_store_roots(struct hn_store *s, hn_process_cb cb, void *arg)
{
	return each_process(s,
		"SELECT " P_COLS " FROM processes p"
		" WHERE p.parent_entity IS NULL OR p.parent_entity = p.entity"
		"  OR NOT EXISTS (SELECT 1 FROM processes q"
		"   WHERE q.entity = p.parent_entity)"
		" ORDER BY COALESCE(p.start_time, 0), p.entity",
		0, cb, arg);
}

/* ---- read-only SQL ---- */

/* PRAGMAs a user may run: they read.  Those marked `set` change something
 * when given an argument, and are denied with one. */
static const struct {
	const char *name;
	bool set;
} ok_pragmas[] = {
	{ "table_info", false }, { "table_xinfo", false },
	{ "table_list", false }, { "index_list", false },
	{ "index_info", false }, { "index_xinfo", false },
	{ "foreign_key_list", false }, { "integrity_check", false },
	{ "quick_check", false }, { "page_count", false },
	{ "freelist_count", false }, { "database_list", false },
	{ "collation_list", false }, { "function_list", false },
	{ "module_list", false }, { "pragma_list", false },
	{ "compile_options", false }, { "page_size", true },
	{ "schema_version", true }, { "user_version", true },
	{ "application_id", true }, { "journal_mode", true },
	{ "auto_vacuum", true }, { "encoding", true },
};

static int sql_authorizer(void *arg, int action, const char *a1,
			  const char *a2, const char *dbname,
			  const char *trigger)
{
	(void)arg;
	(void)dbname;
	(void)trigger;
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return SQLITE_DENY;
	case SQLITE_PRAGMA:
		for (size_t i = 0; i < sizeof(ok_pragmas) / sizeof(ok_pragmas[0]); i++)
			if (a1 && strcasecmp(a1, ok_pragmas[i].name) == 0)
				return ok_pragmas[i].set && a2 ? SQLITE_DENY :
								 SQLITE_OK;
		return SQLITE_DENY;
	default:
		/* Writes compile, and are refused by sqlite3_stmt_readonly
		 * (and by the read-only connection if that ever missed). */
		return SQLITE_OK;
	}
}

/* Values as text: a BLOB (args) shows its NUL separators as spaces and
 * drops the trailing NUL. */
static const char *col_text(sqlite3_stmt *st, int i, char **owned)
{
	const unsigned char *b;
	char *c;
	size_t n;

	*owned = NULL;
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return NULL;
	case SQLITE_BLOB:
		b = sqlite3_column_blob(st, i);
		n = (size_t)sqlite3_column_bytes(st, i);
		c = malloc(n + 1);
		if (!c)
			return NULL;
		for (size_t k = 0; k < n; k++)
			c[k] = b[k] ? (char)b[k] : ' ';
		if (n && !b[n - 1])
			n--;
		c[n] = '\0';
		*owned = c;
		return c;
	default:
		return (const char *)sqlite3_column_text(st, i);
	}
}

static int sql_rows(struct hn_store *s, sqlite3_stmt *st, hn_row_cb cb,
		    void *arg)
{
	int ncol = sqlite3_column_count(st);
	const char **names = calloc((size_t)ncol + 1, sizeof(*names));
	const char **vals = calloc((size_t)ncol + 1, sizeof(*vals));
	char **owned = calloc((size_t)ncol + 1, sizeof(*owned));
	int r = -ENOMEM, rc = SQLITE_DONE;

	if (!names || !vals || !owned)
		goto out;
	for (int i = 0; i < ncol; i++) {
		names[i] = sqlite3_column_name(st, i);
		if (!names[i])
			goto out;
	}
	r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncol; i++)
			vals[i] = col_text(st, i, &owned[i]);
		r = cb(ncol, names, vals, arg);
		for (int i = 0; i < ncol; i++) {
			free(owned[i]);
			owned[i] = NULL;
		}
		if (r)
			break;
	}
	if (!r && rc != SQLITE_DONE) {
		hn_store_set_err(s, "SQL error", s->rdb);
		r = hn_store_rc_errno(rc);
	}
out:
	if (r == -ENOMEM)
		hn_store_set_errf(s, "no memory");
	free(owned);
	free(vals);
	free(names);
	return r;
}

int hn_store_sql(struct hn_store *s, const char *sql, hn_row_cb cb, void *arg)
{
	sqlite3_stmt *st = NULL, *more = NULL;
	const char *tail = NULL;
	int r = -EINVAL, rc;

	if (!s || !sql || !cb)
		return r;
	sqlite3_set_authorizer(s->rdb, sql_authorizer, NULL);
	rc = sqlite3_prepare_v2(s->rdb, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "SQL error", s->rdb);
		r = rc == SQLITE_AUTH ? -EPERM : -EINVAL;
		goto out;
	}
	if (!st) {
		hn_store_set_errf(s, "empty SQL statement");
		goto out;
	}
	/* Anything but blanks, ';' and comments after it is a second
	 * statement. */
	while (tail && *tail) {
		const char *next = NULL;
		rc = sqlite3_prepare_v2(s->rdb, tail, -1, &more, &next);
		if (rc != SQLITE_OK || more) {
			sqlite3_finalize(more);
			hn_store_set_errf(s, "only one SQL statement is allowed");
			goto out;
		}
		if (next == tail)
			break;
		tail = next;
	}
	if (!sqlite3_stmt_readonly(st)) {
		hn_store_set_errf(s, "refused: the statement would change the "
				  "store (only read-only SQL is allowed)");
		r = -EPERM;
		goto out;
	}
	r = sql_rows(s, st, cb, arg);
out:
	sqlite3_finalize(st);
	sqlite3_set_authorizer(s->rdb, NULL, NULL);
	return r;
}
