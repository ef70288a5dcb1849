/*
 * vtab.c - `events`, the table every reader queries: an eponymous virtual
 * table over the packed event blocks (block.h), with the columns and NULL
 * conventions docs/SCHEMA.md gives.
 *
 *   SELECT ... FROM events WHERE entity = ? ...
 *     xBestIndex: the most selective known constraint picks the blocks:
 *       entity / target_entity / path / path2 / dst_addr / sha256 = ?
 *                   -> event_keys postings (kind, key) -> those blocks
 *       id, time ranges -> a first_id range of event_blocks
 *       nothing   -> every block
 *     xFilter/xNext: decode one block at a time (up to 256 events), skip
 *       rows that fail the constraints it was given (SQLite checks them
 *       again: nothing is omitted), in id order or, for ORDER BY id DESC,
 *       backwards.
 *
 * Two facts live outside the blocks (blocks are written once): a write-open
 * flagged "written" by a close that came a batch later (table written), and
 * the SHA-256 of a process start computed after its block was written
 * (table file_hashes, by file identity).  xColumn adds both.
 *
 * The module is registered on every connection the store opens
 * (hn_store_vtab_register); plain sqlite3 sees the tables, not `events`.
 */
#include "store/store_int.h"
#include "store/block.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Columns, in the order of docs/SCHEMA.md. */
enum vcol {
	V_ID, V_TIME, V_TYPE, V_ENTITY, V_PARENT, V_PID, V_TID, V_PPID,
	V_UID, V_EUID, V_GID, V_EGID, V_AUID, V_COMM, V_FLAGS, V_RESULT,
	V_PATH, V_PATH2, V_FILENAME, V_ARGS, V_ARGC, V_CWD, V_TTY, V_CGROUP,
	V_CGROUP_ID, V_CONTAINER, V_SESSIONID, V_SHA256, V_EXIT_CODE,
	V_EXIT_SIGNAL, V_DEV, V_INO, V_SIZE, V_MTIME, V_MODE, V_OFLAGS,
	V_OWNER_UID, V_OWNER_GID, V_COOKIE, V_TARGET_PID, V_TARGET_ENTITY,
	V_REQUEST, V_CRED0, V_CRED1, V_CRED2, V_TRANSPORT, V_FAMILY,
	V_SRC_ADDR, V_SRC_PORT, V_DST_ADDR, V_DST_PORT, V_DNS_NAME,
	V_DNS_TYPE, V_NAME, V_GAP_DROPPED, V_GAP_QUEUE, V_NCOLS,
};

static const char vtab_schema[] =
	"CREATE TABLE x(id INTEGER, time INTEGER, type INTEGER,"
	" entity INTEGER, parent_entity INTEGER, pid INTEGER, tid INTEGER,"
	" ppid INTEGER, uid INTEGER, euid INTEGER, gid INTEGER, egid INTEGER,"
	" auid INTEGER, comm TEXT, flags INTEGER, result INTEGER, path TEXT,"
	" path2 TEXT, filename TEXT, args BLOB, argc INTEGER, cwd TEXT,"
	" tty TEXT, cgroup TEXT, cgroup_id INTEGER, container_id TEXT,"
	" sessionid INTEGER, sha256 TEXT, exit_code INTEGER,"
	" exit_signal INTEGER, dev INTEGER, ino INTEGER, size INTEGER,"
	" mtime INTEGER, mode INTEGER, oflags INTEGER, owner_uid INTEGER,"
	" owner_gid INTEGER, cookie INTEGER, target_pid INTEGER,"
	" target_entity INTEGER, request INTEGER, cred_arg0 INTEGER,"
	" cred_arg1 INTEGER, cred_arg2 INTEGER, transport INTEGER,"
	" family INTEGER, src_addr TEXT, src_port INTEGER, dst_addr TEXT,"
	" dst_port INTEGER, dns_name TEXT, dns_type INTEGER, name TEXT,"
	" gap_dropped INTEGER, gap_queue INTEGER)";

/*
 * The plan, as xBestIndex hands it to xFilter: idxNum holds the access
 * path and flags; the constraint values arrive in argv in the order of
 * idxStr, one letter each:
 *   k  the posting key (value of the key column, kind in idxNum)
 *   e  id =                                   (both bounds)
 *   a  id >= (or >: a lower id bound)         b  id <= (upper)
 *   s  time >= (lower time bound)             u  time <= (upper)
 *   t  type =                                 (more letters may repeat)
 */
#define P_KIND_MASK  0x0f    /* posting kind (HN_KEY_*), 0 = block range */
#define P_DESC       0x10    /* ORDER BY id DESC consumed */

struct vtab {
	sqlite3_vtab base;
	sqlite3 *db;
};

struct vcur {
	sqlite3_vtab_cursor base;
	struct vtab *vt;
	sqlite3_stmt *blocks;        /* (first_id, data) in visit order */
	sqlite3_stmt *written;       /* SELECT 1 FROM written WHERE id = ? */
	sqlite3_stmt *hash;          /* sha256 of a file identity */
	struct hn_event *ev[HN_BLOCK_MAX_EVENTS];
	unsigned n;                  /* decoded events of the current block */
	int i;                       /* current index into ev[] */
	bool desc, eof;
	/* filters */
	int kind;                    /* posting kind used, 0 = none */
	sqlite3_int64 key_i;
	char *key_s;
	int64_t id_lo, id_hi;
	uint64_t t_lo, t_hi;
	uint64_t types[2];           /* bit t for type t < 128 wanted; 0 = all */
	bool types_other;            /* a wanted type >= 128 (never matches) */
	/* per-row extras, computed on demand */
	int written_state;           /* -1 unknown, 0 no, 1 yes */
	int hash_state;              /* -1 unknown, 0 none, 1 in hashbuf */
	char hashbuf[65];
	char abuf[64];
};

/* ---- helpers ---- */

static bool is_image_event(unsigned type)
{
	return type == HN_EV_PROCESS_START || type == HN_EV_PROCESS_SNAPSHOT ||
	       type == HN_EV_PROCESS_FORK;
}

static void result_u64z(sqlite3_context *c, uint64_t v)
{
	if (v)
		sqlite3_result_int64(c, (sqlite3_int64)v);
}

static void result_str(sqlite3_context *c, const char *s)
{
	if (s)
		sqlite3_result_text(c, s, -1, SQLITE_TRANSIENT);
}

static uint16_t ev_family(const struct hn_event *ev)
{
	return ev->dst.family ? ev->dst.family : ev->src.family;
}

static void result_addr(sqlite3_context *c, const struct hn_addr *a, char buf[64])
{
	if ((a->family == AF_INET || a->family == AF_INET6) &&
	    hn_addr_str(a, buf, 64) && buf[0])
		sqlite3_result_text(c, buf, -1, SQLITE_TRANSIENT);
}

/* ---- connect / disconnect ---- */

static int v_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
		     sqlite3_vtab **out, char **err)
{
	struct vtab *vt;
	int rc;

	(void)aux;
	(void)argc;
	(void)argv;
	(void)err;
	rc = sqlite3_declare_vtab(db, vtab_schema);
	if (rc != SQLITE_OK)
		return rc;
	vt = sqlite3_malloc(sizeof(*vt));
	if (!vt)
		return SQLITE_NOMEM;
	memset(vt, 0, sizeof(*vt));
	vt->db = db;
	sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
	*out = &vt->base;
	return SQLITE_OK;
}

static int v_disconnect(sqlite3_vtab *v)
{
	sqlite3_free(v);
	return SQLITE_OK;
}

/* ---- planning ---- */

/* Posting kind of a key column, 0 if none. */
static int key_kind(int col)
{
	switch (col) {
	case V_ENTITY: return HN_KEY_ENTITY;
	case V_PATH: return HN_KEY_PATH;
	case V_PATH2: return HN_KEY_PATH;
	case V_DST_ADDR: return HN_KEY_DST;
	case V_SHA256: return HN_KEY_SHA256;
	case V_TARGET_ENTITY: return HN_KEY_TARGET;
	default: return 0;
	}
}

/* Lower is preferred when several key constraints are usable: an entity
 * has fewer blocks than a path in general, and so on. */
static int key_rank(int kind)
{
	switch (kind) {
	case HN_KEY_ENTITY: return 1;
	case HN_KEY_SHA256: return 2;
	case HN_KEY_PATH: return 3;
	case HN_KEY_TARGET: return 4;
	case HN_KEY_DST: return 5;
	default: return 9;
	}
}

static int v_best_index(sqlite3_vtab *v, sqlite3_index_info *ix)
{
	char letters[32];
	int nl = 0, best = -1, best_kind = 0, argi = 0;
	bool has_id_lo = false, has_id_hi = false, has_t = false, id_eq = false;
	bool key_in = false;
	int num = 0;

	(void)v;
	for (int i = 0; i < ix->nConstraint; i++) {
		const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
		const char *coll;
		int k;
		if (!c->usable || c->op != SQLITE_INDEX_CONSTRAINT_EQ)
			continue;
		k = key_kind(c->iColumn);
		/* postings hold exact bytes: only a BINARY comparison may
		 * use them */
		coll = sqlite3_vtab_collation(ix, i);
		if (k && coll && sqlite3_stricmp(coll, "BINARY") != 0)
			continue;
		if (k && (best < 0 || key_rank(k) < key_rank(best_kind))) {
			best = i;
			best_kind = k;
		}
	}
	if (best >= 0) {
		ix->aConstraintUsage[best].argvIndex = ++argi;
		letters[nl++] = 'k';
		num |= best_kind;
		/* a key IN (...) runs xFilter once per value: rows come in id
		 * order per value only */
		if (sqlite3_vtab_in(ix, best, -1))
			key_in = true;
	}
	for (int i = 0; i < ix->nConstraint && nl < 30; i++) {
		const struct sqlite3_index_constraint *c = &ix->aConstraint[i];
		char l = 0;
		if (!c->usable || i == best)
			continue;
		if (c->iColumn == V_ID || c->iColumn == -1) {
			switch (c->op) {
			case SQLITE_INDEX_CONSTRAINT_EQ:
				l = 'e';
				id_eq = true;
				break;
			case SQLITE_INDEX_CONSTRAINT_GT:
			case SQLITE_INDEX_CONSTRAINT_GE:
				l = 'a';
				break;
			case SQLITE_INDEX_CONSTRAINT_LT:
			case SQLITE_INDEX_CONSTRAINT_LE:
				l = 'b';
				break;
			}
			if (l == 'a' || l == 'e')
				has_id_lo = true;
			if (l == 'b' || l == 'e')
				has_id_hi = true;
		} else if (c->iColumn == V_TIME) {
			switch (c->op) {
			case SQLITE_INDEX_CONSTRAINT_GT:
			case SQLITE_INDEX_CONSTRAINT_GE:
				l = 's';
				break;
			case SQLITE_INDEX_CONSTRAINT_LT:
			case SQLITE_INDEX_CONSTRAINT_LE:
				l = 'u';
				break;
			}
			if (l)
				has_t = true;
		} else if (c->iColumn == V_TYPE &&
			   c->op == SQLITE_INDEX_CONSTRAINT_EQ) {
			/* type IN (...): all values in one xFilter */
			if (sqlite3_vtab_in(ix, i, -1))
				sqlite3_vtab_in(ix, i, 1);
			l = 't';
		}
		if (!l)
			continue;
		ix->aConstraintUsage[i].argvIndex = ++argi;
		letters[nl++] = l;
	}
	letters[nl] = '\0';
	if (!key_in && ix->nOrderBy == 1 && (ix->aOrderBy[0].iColumn == V_ID ||
					     ix->aOrderBy[0].iColumn == -1)) {
		ix->orderByConsumed = 1;
		if (ix->aOrderBy[0].desc)
			num |= P_DESC;
	}
	/* Costs: relative, in rows read. */
	if (id_eq)
		ix->estimatedCost = 10;
	else if (best >= 0)
		ix->estimatedCost = 1000;
	else if (has_id_lo && has_id_hi)
		ix->estimatedCost = 5000;
	else if (has_id_lo || has_id_hi || has_t)
		ix->estimatedCost = 100000;
	else
		ix->estimatedCost = 10000000;
	ix->estimatedRows = (sqlite3_int64)ix->estimatedCost;
	ix->idxNum = num;
	ix->idxStr = sqlite3_mprintf("%s", letters);
	ix->needToFreeIdxStr = 1;
	return ix->idxStr ? SQLITE_OK : SQLITE_NOMEM;
}

/* ---- cursor ---- */

static int v_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
	struct vcur *c = sqlite3_malloc(sizeof(*c));

	if (!c)
		return SQLITE_NOMEM;
	memset(c, 0, sizeof(*c));
	c->vt = (struct vtab *)v;
	c->eof = true;
	*out = &c->base;
	return SQLITE_OK;
}

static int v_close(sqlite3_vtab_cursor *cur)
{
	struct vcur *c = (struct vcur *)cur;

	sqlite3_finalize(c->blocks);
	sqlite3_finalize(c->written);
	sqlite3_finalize(c->hash);
	for (unsigned i = 0; i < HN_BLOCK_MAX_EVENTS; i++)
		hn_event_free(c->ev[i]);
	sqlite3_free(c->key_s);
	sqlite3_free(c);
	return SQLITE_OK;
}

/* Does the decoded event pass the filters xFilter was given? */
static bool row_wanted(const struct vcur *c, const struct hn_event *ev)
{
	if (ev->id < c->id_lo || ev->id > c->id_hi)
		return false;
	if (ev->time < c->t_lo || ev->time > c->t_hi)
		return false;
	if (c->types[0] || c->types[1] || c->types_other) {
		if (ev->type >= 128 || !(c->types[ev->type / 64] & (1ULL << (ev->type % 64))))
			return false;
	}
	switch (c->kind) {
	case HN_KEY_ENTITY:
		return ev->proc.entity == (uint64_t)c->key_i;
	case HN_KEY_TARGET:
		return ev->target_entity == (uint64_t)c->key_i;
	case HN_KEY_PATH:
		return (ev->path && strcmp(ev->path, c->key_s) == 0) ||
		       (ev->path2 && strcmp(ev->path2, c->key_s) == 0);
	case HN_KEY_SHA256:
		/* the hash may come from file_hashes: checked by SQLite */
		return hn_store_is_exec(ev->type);
	case HN_KEY_DST: {
		char buf[64];
		return ev->dst.family &&
		       hn_addr_str(&ev->dst, buf, sizeof(buf)) &&
		       strcmp(buf, c->key_s) == 0;
	}
	default:
		return true;
	}
}

/* Decode the block the blocks statement is on.  SQLite rc. */
static int load_block(struct vcur *c)
{
	struct hn_block_dec d;
	const void *data = sqlite3_column_blob(c->blocks, 1);
	int len = sqlite3_column_bytes(c->blocks, 1), r = 0;

	c->n = 0;
	if (hn_block_dec_init(&d, data, (size_t)len) < 0)
		return SQLITE_CORRUPT;
	while (c->n < HN_BLOCK_MAX_EVENTS &&
	       (r = hn_block_dec_next(&d, &c->ev[c->n])) == 1)
		c->n++;
	if (r < 0)
		return r == -ENOMEM ? SQLITE_NOMEM : SQLITE_CORRUPT;
	return SQLITE_OK;
}

/* Move to the next wanted row (from the current position, exclusive
 * unless `first`).  SQLite rc; sets eof at the end. */
static int advance(struct vcur *c, bool first)
{
	int rc;

	for (;;) {
		if (!first)
			c->i += c->desc ? -1 : 1;
		first = false;
		while (c->i >= 0 && c->i < (int)c->n) {
			if (row_wanted(c, c->ev[c->i])) {
				c->written_state = -1;
				c->hash_state = -1;
				return SQLITE_OK;
			}
			c->i += c->desc ? -1 : 1;
		}
		rc = sqlite3_step(c->blocks);
		if (rc == SQLITE_DONE) {
			c->eof = true;
			return SQLITE_OK;
		}
		if (rc != SQLITE_ROW)
			return rc;
		rc = load_block(c);
		if (rc != SQLITE_OK)
			return rc;
		c->i = c->desc ? (int)c->n - 1 : 0;
		first = true;
	}
}

/* The statement that lists the blocks to visit.  Parameters:
 *   ?1 first_id low bound, ?2 first_id high bound (blocks whose ids may
 *   fall in [id_lo, id_hi]), ?3 time low, ?4 time high, ?5 kind, ?6 key. */
static const char *const blocks_sql[2][2] = {
	{	/* block range */
		"SELECT first_id, data FROM event_blocks"
		" WHERE first_id BETWEEN ?1 AND ?2"
		" AND max_time >= ?3 AND min_time <= ?4 ORDER BY first_id",
		"SELECT first_id, data FROM event_blocks"
		" WHERE first_id BETWEEN ?1 AND ?2"
		" AND max_time >= ?3 AND min_time <= ?4 ORDER BY first_id DESC",
	}, {	/* postings */
		"SELECT b.first_id, b.data FROM event_keys k"
		" JOIN event_blocks b ON b.first_id = k.first_id"
		" WHERE k.kind = ?5 AND k.key = ?6 AND k.first_id BETWEEN ?1 AND ?2"
		" AND b.max_time >= ?3 AND b.min_time <= ?4 ORDER BY k.first_id",
		"SELECT b.first_id, b.data FROM event_keys k"
		" JOIN event_blocks b ON b.first_id = k.first_id"
		" WHERE k.kind = ?5 AND k.key = ?6 AND k.first_id BETWEEN ?1 AND ?2"
		" AND b.max_time >= ?3 AND b.min_time <= ?4 ORDER BY k.first_id DESC",
	},
};

/* first_id bounds from the time bounds (indexes on max_time, min_time). */
static int64_t time_first_lo(sqlite3 *db, uint64_t t_lo)
{
	sqlite3_stmt *st = NULL;
	int64_t v = INT64_MAX;

	if (sqlite3_prepare_v2(db, "SELECT min(first_id) FROM event_blocks"
			       " WHERE max_time >= ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)t_lo);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

static int64_t time_first_hi(sqlite3 *db, uint64_t t_hi)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, "SELECT max(first_id) FROM event_blocks"
			       " WHERE min_time <= ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)t_hi);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

/* Rows of type x are wanted (t: its value's numeric type). */
static void type_want(struct vcur *c, int t, sqlite3_value *v)
{
	sqlite3_int64 x = sqlite3_value_int64(v);
	double d = sqlite3_value_double(v);

	if (t == SQLITE_FLOAT && d == (double)(sqlite3_int64)d) {
		t = SQLITE_INTEGER;
		x = (sqlite3_int64)d;
	}
	if (t == SQLITE_INTEGER && x >= 0 && x < 128)
		c->types[x / 64] |= 1ULL << (x % 64);
	else
		c->types_other = true;
}

static int v_filter(sqlite3_vtab_cursor *cur, int num, const char *str,
		    int argc, sqlite3_value **argv)
{
	struct vcur *c = (struct vcur *)cur;
	sqlite3 *db = c->vt->db;
	int64_t f_lo, f_hi;
	int rc;

	sqlite3_finalize(c->blocks);
	c->blocks = NULL;
	sqlite3_free(c->key_s);
	c->key_s = NULL;
	c->kind = num & P_KIND_MASK;
	c->desc = (num & P_DESC) != 0;
	c->id_lo = 0;
	c->id_hi = INT64_MAX;
	c->t_lo = 0;
	c->t_hi = INT64_MAX;
	c->types[0] = c->types[1] = 0;
	c->types_other = false;
	c->n = 0;
	c->i = 0;
	c->eof = false;
	for (int i = 0; str && str[i] && i < argc; i++) {
		sqlite3_value *v = argv[i];
		/* a key is taken as it is (numeric_type would turn the text
		 * "0123" into a number); bounds and types as numbers */
		int t = str[i] == 'k' && c->kind != HN_KEY_ENTITY &&
			c->kind != HN_KEY_TARGET ? sqlite3_value_type(v) :
			sqlite3_value_numeric_type(v);
		sqlite3_int64 x = sqlite3_value_int64(v);
		double d = sqlite3_value_double(v);

		switch (str[i]) {
		case 'k':
			if (t == SQLITE_NULL) {
				c->eof = true;  /* = NULL matches nothing */
				return SQLITE_OK;
			}
			if (c->kind == HN_KEY_ENTITY || c->kind == HN_KEY_TARGET) {
				/* 1000.0 is 1000; anything else no entity:
				 * read every block, SQLite decides */
				if (t == SQLITE_FLOAT && d == (double)(sqlite3_int64)d)
					x = (sqlite3_int64)d;
				else if (t != SQLITE_INTEGER)
					c->kind = 0;
				c->key_i = x;
			} else {
				c->key_s = sqlite3_mprintf("%s", sqlite3_value_text(v));
				if (!c->key_s)
					return SQLITE_NOMEM;
			}
			break;
		case 'e':
			/* id = x: both bounds (a non-integral x matches none) */
			if (t == SQLITE_FLOAT && d != (double)(int64_t)d) {
				c->eof = true;
				return SQLITE_OK;
			}
			if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
				if (t == SQLITE_FLOAT)
					x = (sqlite3_int64)d;
				if (x > c->id_lo)
					c->id_lo = x;
				if (x < c->id_hi)
					c->id_hi = x;
			}
			break;
		case 'a':
			/* id > x and id >= x both start at x (rechecked) */
			if (t == SQLITE_INTEGER && x > c->id_lo)
				c->id_lo = x;
			else if (t == SQLITE_FLOAT && d > (double)c->id_lo)
				c->id_lo = d >= 9.2e18 ? INT64_MAX : (int64_t)d;
			break;
		case 'b':
			if (t == SQLITE_INTEGER && x < c->id_hi)
				c->id_hi = x;
			else if (t == SQLITE_FLOAT && d < (double)c->id_hi)
				c->id_hi = d < 0 ? -1 : (int64_t)d + 1;
			break;
		case 's':
			if (t == SQLITE_INTEGER && x > 0 && (uint64_t)x > c->t_lo)
				c->t_lo = (uint64_t)x;
			break;
		case 'u':
			if (t == SQLITE_INTEGER && x >= 0 && (uint64_t)x < c->t_hi)
				c->t_hi = (uint64_t)x;
			else if (t == SQLITE_INTEGER && x < 0)
				c->t_hi = 0;
			break;
		case 't': {
			/* one value, or all of an IN list (sqlite3_vtab_in) */
			sqlite3_value *iv = NULL;
			int irc = sqlite3_vtab_in_first(v, &iv);
			if (irc != SQLITE_OK) {
				type_want(c, t, v);
				break;
			}
			for (; irc == SQLITE_OK && iv; irc = sqlite3_vtab_in_next(v, &iv))
				type_want(c, sqlite3_value_numeric_type(iv), iv);
			break;
		}
		}
	}
	if (c->id_lo > c->id_hi || c->t_lo > c->t_hi) {
		c->eof = true;
		return SQLITE_OK;
	}
	/* Blocks whose ids may fall in [id_lo, id_hi]: a block holds at most
	 * HN_BLOCK_MAX_EVENTS consecutive ids. */
	f_lo = c->id_lo > (int64_t)HN_BLOCK_MAX_EVENTS ?
	       c->id_lo - (int64_t)HN_BLOCK_MAX_EVENTS + 1 : 0;
	f_hi = c->id_hi;
	/* Time bounds narrow a block range through the time indexes.  With
	 * postings they are checked on each posted block instead: finding
	 * the bounds first (max(first_id) of the blocks before a time) would
	 * walk half the time index of a big store, for a key that names a
	 * handful of blocks. */
	if (c->t_lo > 0 && !c->kind) {
		int64_t f = time_first_lo(db, c->t_lo);
		if (f > f_lo)
			f_lo = f;
	}
	if (c->t_hi < (uint64_t)INT64_MAX && !c->kind) {
		int64_t f = time_first_hi(db, c->t_hi);
		if (f < f_hi)
			f_hi = f;
	}
	if (f_lo > f_hi) {
		c->eof = true;
		return SQLITE_OK;
	}
	rc = sqlite3_prepare_v2(db, blocks_sql[c->kind != 0][c->desc], -1,
				&c->blocks, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(c->blocks, 1, f_lo);
	sqlite3_bind_int64(c->blocks, 2, f_hi);
	sqlite3_bind_int64(c->blocks, 3, (sqlite3_int64)c->t_lo);
	sqlite3_bind_int64(c->blocks, 4, (sqlite3_int64)c->t_hi);
	if (c->kind) {
		sqlite3_bind_int(c->blocks, 5, c->kind);
		if (c->key_s)
			sqlite3_bind_text(c->blocks, 6, c->key_s, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(c->blocks, 6, c->key_i);
	}
	c->i = -1;
	c->n = 0;
	return advance(c, true);
}

static int v_next(sqlite3_vtab_cursor *cur)
{
	return advance((struct vcur *)cur, false);
}

static int v_eof(sqlite3_vtab_cursor *cur)
{
	return ((struct vcur *)cur)->eof;
}

static int v_rowid(sqlite3_vtab_cursor *cur, sqlite3_int64 *rowid)
{
	struct vcur *c = (struct vcur *)cur;

	*rowid = c->ev[c->i]->id;
	return SQLITE_OK;
}

/* Was this open flagged written after its block was committed? */
static bool written_later(struct vcur *c, const struct hn_event *ev)
{
	if (c->written_state < 0) {
		c->written_state = 0;
		if (!c->written &&
		    sqlite3_prepare_v2(c->vt->db, "SELECT 1 FROM written WHERE id = ?1",
				       -1, &c->written, NULL) != SQLITE_OK)
			return false;
		sqlite3_bind_int64(c->written, 1, ev->id);
		if (sqlite3_step(c->written) == SQLITE_ROW)
			c->written_state = 1;
		sqlite3_reset(c->written);
	}
	return c->written_state == 1;
}

/* A process start's hash computed after its block was written (kept in
 * its execs row). */
static const char *later_hash(struct vcur *c, const struct hn_event *ev)
{
	if (c->hash_state < 0) {
		c->hash_state = 0;
		if (!c->hash &&
		    sqlite3_prepare_v2(c->vt->db,
				       "SELECT sha256 FROM execs WHERE entity = ?1"
				       " AND time = ?2 AND id = ?3",
				       -1, &c->hash, NULL) != SQLITE_OK)
			return NULL;
		sqlite3_bind_int64(c->hash, 1, (sqlite3_int64)ev->proc.entity);
		sqlite3_bind_int64(c->hash, 2, (sqlite3_int64)ev->time);
		sqlite3_bind_int64(c->hash, 3, ev->id);
		if (sqlite3_step(c->hash) == SQLITE_ROW) {
			const unsigned char *h = sqlite3_column_text(c->hash, 0);
			if (h && strlen((const char *)h) == 64) {
				memcpy(c->hashbuf, h, 65);
				c->hash_state = 1;
			}
		}
		sqlite3_reset(c->hash);
	}
	return c->hash_state == 1 ? c->hashbuf : NULL;
}

/* The column values, with the NULL conventions of docs/SCHEMA.md
 * ("Sparse columns"). */
static int v_column(sqlite3_vtab_cursor *cur, sqlite3_context *ctx, int col)
{
	struct vcur *c = (struct vcur *)cur;
	const struct hn_event *ev = c->ev[c->i];
	const struct hn_proc *p = &ev->proc;
	unsigned t = ev->type;
	size_t n;

	switch (col) {
	case V_ID: sqlite3_result_int64(ctx, ev->id); break;
	case V_TIME: sqlite3_result_int64(ctx, (sqlite3_int64)ev->time); break;
	case V_TYPE: sqlite3_result_int(ctx, (int)t); break;
	case V_ENTITY: sqlite3_result_int64(ctx, (sqlite3_int64)p->entity); break;
	case V_PARENT: result_u64z(ctx, p->parent_entity); break;
	case V_PID: sqlite3_result_int64(ctx, p->pid); break;
	case V_TID: sqlite3_result_int64(ctx, p->tid); break;
	case V_PPID: sqlite3_result_int64(ctx, p->ppid); break;
	case V_UID: sqlite3_result_int64(ctx, p->uid); break;
	case V_EUID: sqlite3_result_int64(ctx, p->euid); break;
	case V_GID: sqlite3_result_int64(ctx, p->gid); break;
	case V_EGID: sqlite3_result_int64(ctx, p->egid); break;
	case V_AUID: sqlite3_result_int64(ctx, p->auid); break;
	case V_COMM:
		n = strnlen(p->comm, sizeof(p->comm));
		if (n)
			sqlite3_result_text(ctx, p->comm, (int)n, SQLITE_TRANSIENT);
		break;
	case V_FLAGS: {
		uint32_t f = ev->flags;
		if (hn_store_is_open(t) && ev->cookie && !(f & HN_EVF_WRITTEN) &&
		    written_later(c, ev))
			f |= HN_EVF_WRITTEN;
		sqlite3_result_int64(ctx, f);
		break;
	}
	case V_RESULT: sqlite3_result_int64(ctx, ev->result); break;
	case V_PATH: result_str(ctx, ev->path); break;
	case V_PATH2: result_str(ctx, ev->path2); break;
	case V_FILENAME: result_str(ctx, ev->filename); break;
	case V_ARGS:
		if (ev->args)
			sqlite3_result_blob64(ctx, ev->args, ev->args_len,
					      SQLITE_TRANSIENT);
		break;
	case V_ARGC:
		if (ev->args || is_image_event(t))
			sqlite3_result_int64(ctx, ev->argc);
		break;
	case V_CWD: result_str(ctx, ev->cwd); break;
	case V_TTY: result_str(ctx, ev->tty); break;
	case V_CGROUP: result_str(ctx, ev->cgroup); break;
	case V_CGROUP_ID: result_u64z(ctx, ev->cgroup_id); break;
	case V_CONTAINER: result_str(ctx, ev->container_id); break;
	case V_SESSIONID: result_u64z(ctx, ev->sessionid); break;
	case V_SHA256:
		if (ev->sha256[0])
			sqlite3_result_text(ctx, ev->sha256, -1, SQLITE_TRANSIENT);
		else if (hn_store_is_exec(t))
			result_str(ctx, later_hash(c, ev));
		break;
	case V_EXIT_CODE:
	case V_EXIT_SIGNAL:
		if (t == HN_EV_PROCESS_EXIT || ev->exit_code || ev->exit_signal)
			sqlite3_result_int64(ctx, col == V_EXIT_CODE ?
					     ev->exit_code : ev->exit_signal);
		break;
	case V_DEV: result_u64z(ctx, ev->dev); break;
	case V_INO: result_u64z(ctx, ev->ino); break;
	case V_SIZE: result_u64z(ctx, ev->size); break;
	case V_MTIME: result_u64z(ctx, ev->mtime); break;
	case V_MODE:
		if (hn_event_is_file(t) || ev->mode)
			sqlite3_result_int64(ctx, ev->mode);
		break;
	case V_OFLAGS: result_u64z(ctx, ev->oflags); break;
	case V_OWNER_UID:
	case V_OWNER_GID:
		if (t == HN_EV_FILE_CHOWN || ev->owner_uid || ev->owner_gid)
			sqlite3_result_int64(ctx, col == V_OWNER_UID ?
					     ev->owner_uid : ev->owner_gid);
		break;
	case V_COOKIE: result_u64z(ctx, ev->cookie); break;
	case V_TARGET_PID: result_u64z(ctx, ev->target_pid); break;
	case V_TARGET_ENTITY: result_u64z(ctx, ev->target_entity); break;
	case V_REQUEST: result_u64z(ctx, ev->request); break;
	case V_CRED0: result_u64z(ctx, ev->cred_arg[0]); break;
	case V_CRED1: result_u64z(ctx, ev->cred_arg[1]); break;
	case V_CRED2: result_u64z(ctx, ev->cred_arg[2]); break;
	case V_TRANSPORT: result_u64z(ctx, ev->transport); break;
	case V_FAMILY: result_u64z(ctx, ev_family(ev)); break;
	case V_SRC_ADDR: result_addr(ctx, &ev->src, c->abuf); break;
	case V_SRC_PORT:
		if (ev->src.family)
			sqlite3_result_int(ctx, ev->src.port);
		break;
	case V_DST_ADDR: result_addr(ctx, &ev->dst, c->abuf); break;
	case V_DST_PORT:
		if (ev->dst.family)
			sqlite3_result_int(ctx, ev->dst.port);
		break;
	case V_DNS_NAME: result_str(ctx, ev->dns_name); break;
	case V_DNS_TYPE: result_u64z(ctx, ev->dns_type); break;
	case V_NAME: result_str(ctx, ev->name); break;
	case V_GAP_DROPPED:
	case V_GAP_QUEUE: {
		uint64_t v = col == V_GAP_DROPPED ? ev->gap_dropped : ev->gap_queue;
		if (t == HN_EV_GAP)
			sqlite3_result_int64(ctx, (sqlite3_int64)v);
		else
			result_u64z(ctx, v);
		break;
	}
	default:
		break;
	}
	return SQLITE_OK;
}

static const sqlite3_module events_module = {
	.iVersion = 0,
	.xCreate = NULL,             /* eponymous only */
	.xConnect = v_connect,
	.xBestIndex = v_best_index,
	.xDisconnect = v_disconnect,
	.xDestroy = v_disconnect,
	.xOpen = v_open,
	.xClose = v_close,
	.xFilter = v_filter,
	.xNext = v_next,
	.xEof = v_eof,
	.xColumn = v_column,
	.xRowid = v_rowid,
};

int hn_store_vtab_register(sqlite3 *db)
{
	return sqlite3_create_module_v2(db, "events", &events_module, NULL, NULL);
}

int hn_store_sql_register(sqlite3 *db)
{
	return hn_store_vtab_register(db);
}
