/*
 * procs.c - the processes rows of one batch, coalesced: each event's change
 * to its entity's row (docs/SCHEMA.md, "How events change it") is applied
 * to an in-memory copy of the row, and each changed row is written once,
 * when the batch ends.  A short-lived process (fork, exec, exit in one
 * batch) costs one INSERT instead of three upserts.
 *
 *   event ──► row of its entity in the map ──► (end of batch) INSERT/UPDATE
 *               │ not in the map: read it from processes (or "no row")
 *
 * Invariants:
 *  - The map is empty outside a batch.  It is written out (and emptied)
 *    before anything else in the batch reads or changes processes (a hash
 *    update), when it is full, and before COMMIT; it is emptied without
 *    writing when the batch fails.
 *  - Each apply_* function does in C exactly what the upsert it replaces
 *    did in SQL (the SQL is quoted above each one), column by column, on
 *    the row as it stands: a row read from processes, or a row created in
 *    this batch, or none.  So the final row is the one the sequence of
 *    upserts gave, value types (NULL / integer / text / blob) included.
 *  - The known cache (store_int.h) is set when an event's change is
 *    applied, as it was when its upsert ran; a row SQLite refuses when
 *    written is skipped (as an upsert refused on its own was) and forgotten
 *    by the cache.
 *  - Text and blob values point into the batch's events (alive until the
 *    batch ends) or into a copy owned by the row (values read from the
 *    database).
 *
 * Writer-only state: used with wmu held.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

/* processes columns after entity, in table order. */
enum pcol {
	PC_PARENT, PC_PID, PC_PPID, PC_UID, PC_EUID, PC_GID, PC_EGID, PC_AUID,
	PC_START, PC_EXIT_TIME, PC_EXIT_CODE, PC_EXIT_SIGNAL, PC_EXITED,
	PC_COMM, PC_EXE, PC_ARGS, PC_ARGC, PC_CWD, PC_SHA256, PC_SNAPSHOT,
	PC_COUNT,
};

/* Rows in the map at most (flushed when full) and its hash slots. */
#define PMAP_ROWS  4096u
#define PMAP_SLOTS (4u * PMAP_ROWS)

struct pval {
	int type;                /* SQLITE_NULL, _INTEGER, _TEXT, _BLOB */
	int n;                   /* bytes of text / blob */
	int64_t i;
	const void *p;
};

struct prow {
	uint64_t entity;
	bool exists;             /* the row exists (in the db or made here) */
	bool in_db;              /* ... in the database as read */
	bool dirty;              /* differs from the database */
	struct pval v[PC_COUNT];
	char *owned;             /* copies of the text/blob values read */
};

struct hn_pmap {
	uint32_t slot[PMAP_SLOTS];   /* row index + 1; 0 = empty */
	struct prow row[PMAP_ROWS];
	unsigned n;
};

static const struct pval PV_NULL = { .type = SQLITE_NULL };

int hn_procs_init(struct hn_store *s)
{
	sqlite3_stmt *st = NULL;

	s->pmap = calloc(1, sizeof(*s->pmap));
	if (!s->pmap)
		return -1;
	s->max_entity = UINT64_MAX;
	if (sqlite3_prepare_v2(s->db, "SELECT max(entity) FROM processes", -1,
			       &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		s->max_entity = sqlite3_column_type(st, 0) == SQLITE_NULL ? 0 :
				(uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static void pmap_clear(struct hn_pmap *m)
{
	for (unsigned i = 0; i < m->n; i++)
		free(m->row[i].owned);
	memset(m->slot, 0, sizeof(m->slot));
	m->n = 0;
}

void hn_procs_free(struct hn_store *s)
{
	if (!s->pmap)
		return;
	pmap_clear(s->pmap);
	free(s->pmap);
	s->pmap = NULL;
}

void hn_procs_discard(struct hn_store *s)
{
	if (s->pmap && s->pmap->n)
		pmap_clear(s->pmap);
}

/* ---- values ---- */

static struct pval pv_int(int64_t v)
{
	return (struct pval){ .type = SQLITE_INTEGER, .i = v };
}

/* As bind_u64z: 0 is NULL. */
static struct pval pv_u64z(uint64_t v)
{
	return v ? pv_int((int64_t)v) : PV_NULL;
}

static struct pval pv_text(const char *t)
{
	if (!t)
		return PV_NULL;
	return (struct pval){ .type = SQLITE_TEXT, .p = t, .n = (int)strlen(t) };
}

static struct pval pv_comm(const char comm[16])
{
	size_t n = strnlen(comm, 16);

	if (!n)
		return PV_NULL;
	return (struct pval){ .type = SQLITE_TEXT, .p = comm, .n = (int)n };
}

static bool pv_eq(const struct pval *a, const struct pval *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case SQLITE_NULL:
		return true;
	case SQLITE_INTEGER:
		return a->i == b->i;
	default:
		return a->n == b->n && (!a->n || memcmp(a->p, b->p, (size_t)a->n) == 0);
	}
}

static void set(struct prow *r, enum pcol c, struct pval v)
{
	if (!pv_eq(&r->v[c], &v)) {
		r->v[c] = v;
		r->dirty = true;
	}
}

/* col = COALESCE(col, v) */
static void fill(struct prow *r, enum pcol c, struct pval v)
{
	if (r->v[c].type == SQLITE_NULL)
		set(r, c, v);
}

/* MIN_START in writer.c: CASE WHEN start_time IS NULL OR
 * excluded.start_time < start_time THEN excluded.start_time ELSE start_time */
static void min_start(struct prow *r, struct pval v)
{
	const struct pval *o = &r->v[PC_START];

	if (o->type == SQLITE_NULL ||
	    (v.type == SQLITE_INTEGER && o->type == SQLITE_INTEGER && v.i < o->i))
		set(r, PC_START, v);
}

/* ---- the map ---- */

static unsigned slot_of(uint64_t e)
{
	return (unsigned)((e * 0x9E3779B97F4A7C15ULL) >> 40) & (PMAP_SLOTS - 1);
}

static struct prow *pmap_find(struct hn_pmap *m, uint64_t e, unsigned *slot)
{
	unsigned i = slot_of(e);

	for (; m->slot[i]; i = (i + 1) & (PMAP_SLOTS - 1)) {
		struct prow *r = &m->row[m->slot[i] - 1];
		if (r->entity == e)
			return r;
	}
	*slot = i;
	return NULL;
}

/* Column i of the PROC_GET row into r->v[c], text and blob copied into
 * r->owned at *off. */
static void load_col(sqlite3_stmt *st, int i, struct prow *r, enum pcol c,
		     size_t *off)
{
	struct pval *v = &r->v[c];

	v->type = sqlite3_column_type(st, i);
	switch (v->type) {
	case SQLITE_INTEGER:
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_TEXT:
	case SQLITE_BLOB: {
		const void *p = v->type == SQLITE_TEXT ?
			(const void *)sqlite3_column_text(st, i) :
			sqlite3_column_blob(st, i);
		v->n = sqlite3_column_bytes(st, i);
		v->p = r->owned + *off;
		if (v->n)
			memcpy(r->owned + *off, p, (size_t)v->n);
		*off += (size_t)v->n;
		break;
	}
	case SQLITE_FLOAT: /* never written; keep it as the integer it is */
		v->type = SQLITE_INTEGER;
		v->i = sqlite3_column_int64(st, i);
		break;
	default:
		v->type = SQLITE_NULL;
		break;
	}
}

/* Read entity e's row from processes into r. SQLite rc. */
static int load_row(struct hn_store *s, struct prow *r, uint64_t e)
{
	sqlite3_stmt *st = s->wst[HN_WS_PROC_GET];
	size_t bytes = 0, off = 0;
	int rc;

	/* Above every entity the table has had: no row, no look-up.  Entity
	 * ids grow with start time, so a new process's always is; max_entity
	 * is never below the table's true maximum (it only grows), so this
	 * never skips a row that exists. */
	if (e > s->max_entity)
		return SQLITE_OK;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)e);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < PC_COUNT; i++) {
			int t = sqlite3_column_type(st, i);
			if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
				/* text first: column_bytes after column_text */
				if (t == SQLITE_TEXT)
					sqlite3_column_text(st, i);
				bytes += (size_t)sqlite3_column_bytes(st, i);
			}
		}
		r->owned = bytes ? malloc(bytes) : NULL;
		if (bytes && !r->owned) {
			rc = SQLITE_NOMEM;
			goto out;
		}
		for (int i = 0; i < PC_COUNT; i++)
			load_col(st, i, r, (enum pcol)i, &off);
		r->exists = r->in_db = true;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
out:
	sqlite3_reset(st);
	return rc;
}

/* Entity e's row, from the map or else the database (exists = false when
 * it has none).  The map has room (hn_procs_event sees to it).  SQLite rc;
 * *out NULL on error. */
static int get_row(struct hn_store *s, uint64_t e, struct prow **out)
{
	struct hn_pmap *m = s->pmap;
	struct prow *r;
	unsigned slot = 0;
	int rc;

	*out = NULL;
	r = pmap_find(m, e, &slot);
	if (r) {
		*out = r;
		return SQLITE_OK;
	}
	r = &m->row[m->n];
	memset(r, 0, sizeof(*r));
	r->entity = e;
	rc = load_row(s, r, e);
	if (rc != SQLITE_OK) {
		free(r->owned);
		r->owned = NULL;
		return rc;
	}
	m->slot[slot] = ++m->n;
	*out = r;
	return SQLITE_OK;
}

/* ---- what each event does to its row ---- */

/* The head values every upsert inserts (PROC_HEAD_COLS in writer.c). */
struct head {
	struct pval parent, pid, ppid, uid, euid, gid, egid, auid, start, comm;
};

static void head_of(const struct hn_event *ev, struct head *h)
{
	const struct hn_proc *p = &ev->proc;

	h->parent = pv_u64z(p->parent_entity);
	h->pid = pv_int(p->pid);
	h->ppid = pv_u64z(p->ppid);
	h->uid = pv_int(p->uid);
	h->euid = pv_int(p->euid);
	h->gid = pv_int(p->gid);
	h->egid = pv_int(p->egid);
	h->auid = pv_int(p->auid);
	h->start = pv_u64z(p->start_time ? p->start_time : ev->time);
	h->comm = pv_comm(p->comm);
}

/* The image values of PROC_EXEC/SNAPSHOT/FORK (?12..?16). */
struct image {
	struct pval exe, args, argc, cwd, sha256;
};

static void image_of(const struct hn_event *ev, struct image *im)
{
	im->exe = pv_text(ev->path ? ev->path : ev->filename);
	if (ev->args) {
		im->args = (struct pval){ .type = SQLITE_BLOB, .p = ev->args,
					  .n = (int)ev->args_len };
		im->argc = pv_int(ev->argc);
	} else {
		im->args = PV_NULL;
		im->argc = PV_NULL;
	}
	im->cwd = pv_text(ev->cwd);
	im->sha256 = pv_text(ev->sha256[0] ? ev->sha256 : NULL);
}

/* INSERT INTO processes(head...) VALUES (...): a new row, every other
 * column at its default (NULL; exited and from_snapshot 0). */
static void insert_head(struct prow *r, const struct head *h)
{
	for (int c = 0; c < PC_COUNT; c++)
		r->v[c] = PV_NULL;
	r->v[PC_EXITED] = pv_int(0);
	r->v[PC_SNAPSHOT] = pv_int(0);
	r->v[PC_PARENT] = h->parent;
	r->v[PC_PID] = h->pid;
	r->v[PC_PPID] = h->ppid;
	r->v[PC_UID] = h->uid;
	r->v[PC_EUID] = h->euid;
	r->v[PC_GID] = h->gid;
	r->v[PC_EGID] = h->egid;
	r->v[PC_AUID] = h->auid;
	r->v[PC_START] = h->start;
	r->v[PC_COMM] = h->comm;
	r->exists = true;
	r->dirty = true;
}

static void insert_image(struct prow *r, const struct image *im)
{
	r->v[PC_EXE] = im->exe;
	r->v[PC_ARGS] = im->args;
	r->v[PC_ARGC] = im->argc;
	r->v[PC_CWD] = im->cwd;
	r->v[PC_SHA256] = im->sha256;
}

/* image = COALESCE(image, excluded.image), column by column */
static void fill_image(struct prow *r, const struct image *im)
{
	fill(r, PC_EXE, im->exe);
	fill(r, PC_ARGS, im->args);
	fill(r, PC_ARGC, im->argc);
	fill(r, PC_CWD, im->cwd);
	fill(r, PC_SHA256, im->sha256);
}

/* PROC_TOUCH: ON CONFLICT DO UPDATE SET
 *   parent_entity = COALESCE(parent_entity, excluded.parent_entity),
 *   start_time = MIN_START, comm = COALESCE(comm, excluded.comm) */
static void apply_touch(struct prow *r, const struct head *h)
{
	if (!r->exists) {
		insert_head(r, h);
		return;
	}
	fill(r, PC_PARENT, h->parent);
	min_start(r, h->start);
	fill(r, PC_COMM, h->comm);
}

/* PROC_EXEC: ON CONFLICT DO UPDATE SET
 *   parent_entity = COALESCE(...), ppid = COALESCE(ppid, excluded.ppid),
 *   uid, euid, gid, egid, auid = excluded.*, start_time = MIN_START,
 *   comm, executable, args, argc, cwd, sha256 = excluded.* */
static void apply_exec(struct prow *r, const struct head *h,
		       const struct image *im)
{
	if (!r->exists) {
		insert_head(r, h);
		insert_image(r, im);
		return;
	}
	fill(r, PC_PARENT, h->parent);
	fill(r, PC_PPID, h->ppid);
	set(r, PC_UID, h->uid);
	set(r, PC_EUID, h->euid);
	set(r, PC_GID, h->gid);
	set(r, PC_EGID, h->egid);
	set(r, PC_AUID, h->auid);
	min_start(r, h->start);
	set(r, PC_COMM, h->comm);
	set(r, PC_EXE, im->exe);
	set(r, PC_ARGS, im->args);
	set(r, PC_ARGC, im->argc);
	set(r, PC_CWD, im->cwd);
	set(r, PC_SHA256, im->sha256);
}

/* PROC_SNAPSHOT (inserts from_snapshot = 1) and PROC_FORK (inserts the
 * image COALESCEd with the parent's): ON CONFLICT DO UPDATE SET
 *   parent_entity, ppid = COALESCE(...), start_time = MIN_START,
 *   comm, executable, args, argc, cwd, sha256 = COALESCE(col, excluded.col) */
static void apply_fill(struct prow *r, const struct head *h,
		       const struct image *im, bool snapshot)
{
	if (!r->exists) {
		insert_head(r, h);
		insert_image(r, im);
		if (snapshot)
			r->v[PC_SNAPSHOT] = pv_int(1);
		return;
	}
	fill(r, PC_PARENT, h->parent);
	fill(r, PC_PPID, h->ppid);
	min_start(r, h->start);
	fill(r, PC_COMM, h->comm);
	fill_image(r, im);
}

/* PROC_EXIT: inserts exited = 1 and the exit; ON CONFLICT DO UPDATE SET
 *   parent_entity = COALESCE(...), start_time = MIN_START,
 *   comm = COALESCE(...), exited = 1, exit_time, exit_code, exit_signal =
 *   excluded.* */
static void apply_exit(struct prow *r, const struct head *h,
		       const struct hn_event *ev)
{
	if (!r->exists) {
		insert_head(r, h);
	} else {
		fill(r, PC_PARENT, h->parent);
		min_start(r, h->start);
		fill(r, PC_COMM, h->comm);
	}
	set(r, PC_EXITED, pv_int(1));
	set(r, PC_EXIT_TIME, pv_int((int64_t)ev->time));
	set(r, PC_EXIT_CODE, pv_int(ev->exit_code));
	set(r, PC_EXIT_SIGNAL, pv_int(ev->exit_signal));
}

int hn_procs_event(struct hn_store *s, const struct hn_event *ev)
{
	uint64_t e = ev->proc.entity;
	unsigned kslot = (unsigned)(e % HN_STORE_KNOWN_SLOTS);
	struct prow *r, *parent = NULL;
	struct head h;
	struct image im;
	int rc;

	if (!e)
		return SQLITE_OK;
	/* room for the two rows an event may bring in */
	if (s->pmap->n + 2 > PMAP_ROWS) {
		rc = hn_procs_flush(s);
		if (rc != SQLITE_OK)
			return rc;
	}
	switch (ev->type) {
	case HN_EV_PROCESS_START:
	case HN_EV_PROCESS_SNAPSHOT:
	case HN_EV_PROCESS_EXIT:
		break;
	case HN_EV_PROCESS_FORK:
		/* PROC_FORK reads the parent's row (entity = parent_entity,
		 * bound NULL when 0) before changing the child's. */
		if (ev->proc.parent_entity) {
			rc = get_row(s, ev->proc.parent_entity, &parent);
			if (rc != SQLITE_OK)
				return rc;
		}
		break;
	default:
		if (s->known[kslot] == e)
			return SQLITE_OK;
		break;
	}
	rc = get_row(s, e, &r);
	if (rc != SQLITE_OK)
		return rc;
	head_of(ev, &h);
	switch (ev->type) {
	case HN_EV_PROCESS_START:
		image_of(ev, &im);
		apply_exec(r, &h, &im);
		break;
	case HN_EV_PROCESS_SNAPSHOT:
		image_of(ev, &im);
		apply_fill(r, &h, &im, true);
		break;
	case HN_EV_PROCESS_FORK:
		/* COALESCE(?12, p.executable), ... from the parent's row */
		image_of(ev, &im);
		if (parent && parent->exists) {
			if (im.exe.type == SQLITE_NULL)
				im.exe = parent->v[PC_EXE];
			if (im.args.type == SQLITE_NULL)
				im.args = parent->v[PC_ARGS];
			if (im.argc.type == SQLITE_NULL)
				im.argc = parent->v[PC_ARGC];
			if (im.cwd.type == SQLITE_NULL)
				im.cwd = parent->v[PC_CWD];
			if (im.sha256.type == SQLITE_NULL)
				im.sha256 = parent->v[PC_SHA256];
		}
		apply_fill(r, &h, &im, false);
		break;
	case HN_EV_PROCESS_EXIT:
		apply_exit(r, &h, ev);
		break;
	default:
		apply_touch(r, &h);
		break;
	}
	s->known[kslot] = e;
	return SQLITE_OK;
}

/* ---- writing ---- */

static void bind_pv(sqlite3_stmt *st, int i, const struct pval *v)
{
	switch (v->type) {
	case SQLITE_INTEGER:
		sqlite3_bind_int64(st, i, v->i);
		break;
	case SQLITE_TEXT:
		sqlite3_bind_text(st, i, v->n ? v->p : "", v->n, SQLITE_STATIC);
		break;
	case SQLITE_BLOB:
		if (v->n)
			sqlite3_bind_blob(st, i, v->p, v->n, SQLITE_STATIC);
		else
			sqlite3_bind_zeroblob(st, i, 0);
		break;
	default:
		break; /* NULL: clear_bindings left it so */
	}
}

/* Bind r's columns into st from parameter b + 1 on (entity first). */
static void bind_row(sqlite3_stmt *st, int b, const struct prow *r)
{
	sqlite3_bind_int64(st, b + 1, (sqlite3_int64)r->entity);
	for (int c = 0; c < PC_COUNT; c++)
		bind_pv(st, b + c + 2, &r->v[c]);
}

/* Write r alone (INSERT when new, else UPDATE).  A row SQLite refuses on
 * its own is skipped, as its upsert was (the next event of that process
 * tries again).  SQLite rc. */
static int write_row(struct hn_store *s, const struct prow *r)
{
	sqlite3_stmt *st = s->wst[r->in_db ? HN_WS_PROC_UPDATE : HN_WS_PROC_INSERT];
	int rc;

	bind_row(st, 0, r);
	rc = hn_store_step(st);
	if (hn_store_row_error(rc)) {
		rc = SQLITE_OK;
		if (s->known[r->entity % HN_STORE_KNOWN_SLOTS] == r->entity)
			s->known[r->entity % HN_STORE_KNOWN_SLOTS] = 0;
	}
	return rc;
}

/* New rows go HN_PROCS_PER_INSERT to a statement; a statement SQLite
 * refuses because of one row of it sends its rows one by one. */
int hn_procs_flush(struct hn_store *s)
{
	struct hn_pmap *m = s->pmap;
	const struct prow *batch[HN_PROCS_PER_INSERT];
	unsigned nb = 0;
	int rc = SQLITE_OK;

	for (unsigned i = 0; i < m->n && rc == SQLITE_OK; i++) {
		struct prow *r = &m->row[i];
		sqlite3_stmt *st = s->wst[HN_WS_PROC_INSERTS];
		if (!r->dirty)
			continue;
		/* before writing: a batch rolled back leaves it too high,
		 * which only costs look-ups */
		if (r->entity > s->max_entity)
			s->max_entity = r->entity;
		if (r->in_db) {
			rc = write_row(s, r);
			continue;
		}
		batch[nb++] = r;
		if (nb < HN_PROCS_PER_INSERT)
			continue;
		for (unsigned k = 0; k < nb; k++)
			bind_row(st, (int)k * (PC_COUNT + 1), batch[k]);
		rc = hn_store_step(st);
		if (hn_store_row_error(rc)) {
			rc = SQLITE_OK;
			for (unsigned k = 0; k < nb && rc == SQLITE_OK; k++)
				rc = write_row(s, batch[k]);
		}
		nb = 0;
	}
	for (unsigned k = 0; k < nb && rc == SQLITE_OK; k++)
		rc = write_row(s, batch[k]);
	pmap_clear(m);
	return rc;
}
