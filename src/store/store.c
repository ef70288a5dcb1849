/*
 * store.c - opening and closing the store, the schema, meta values, stats
 * and error messages (see store.h; the schema is documented in
 * docs/SCHEMA.md and must be changed there too).
 *
 * Invariants:
 *  - A read-write open leaves the file in WAL mode with auto_vacuum =
 *    INCREMENTAL (set before the first table exists), the schema created and
 *    meta.schema_version = HN_STORE_SCHEMA_VERSION, all in one transaction:
 *    a crash during creation leaves either no schema or all of it.
 *  - A readonly open never creates or changes anything: the file is opened
 *    with SQLITE_OPEN_READONLY and query_only, and must already hold a
 *    hinomi schema this code understands.
 *  - A new database file is created mode 0600 (it holds command lines);
 *    SQLite gives the -wal and -shm files the same mode.
 *  - The store never prints: errors go to hn_store_errmsg() (or, when open
 *    itself fails, hn_store_open_errmsg()).
 */
#include "store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char open_err[512];
static pthread_once_t sqlite_once = PTHREAD_ONCE_INIT;

/* Process-wide SQLite settings, before SQLite initialises (if something
 * else initialised it first, sqlite3_config refuses and nothing changes).
 * Memory statistics take a global mutex on every allocation: ~15% of the
 * writer's time; nothing here reads them. */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS meta ("
	" key TEXT PRIMARY KEY,"
	" value TEXT"
	") WITHOUT ROWID;"
	/* Events, packed (block.h): one row per block of up to 256 events
	 * with consecutive ids; readers see them as the virtual table
	 * `events` (vtab.c).  docs/SCHEMA.md has the why. */
	"CREATE TABLE IF NOT EXISTS event_blocks ("
	" first_id INTEGER PRIMARY KEY,"
	" last_id INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" min_time INTEGER NOT NULL,"
	" max_time INTEGER NOT NULL,"
	" data BLOB NOT NULL"
	");"
	"CREATE INDEX IF NOT EXISTS event_blocks_max ON event_blocks(max_time);"
	"CREATE INDEX IF NOT EXISTS event_blocks_min ON event_blocks(min_time);"
	/* postings: which blocks hold a key (kind: HN_KEY_*); retention
	 * deletes a block's with the block (keys.c) */
	"CREATE TABLE IF NOT EXISTS event_keys ("
	" kind INTEGER NOT NULL,"
	" key NOT NULL,"
	" first_id INTEGER NOT NULL,"
	" PRIMARY KEY (kind, key, first_id)"
	") WITHOUT ROWID;"
	/* write-opens flagged written after their block was written */
	"CREATE TABLE IF NOT EXISTS written (id INTEGER PRIMARY KEY);"
	/* process starts: the image of a process at a time; hash updates */
	"CREATE TABLE IF NOT EXISTS execs ("
	" entity INTEGER NOT NULL, time INTEGER NOT NULL, id INTEGER NOT NULL,"
	" path TEXT, dev INTEGER, ino INTEGER, size INTEGER, mtime INTEGER,"
	" sha256 TEXT,"
	" PRIMARY KEY (entity, time, id)"
	") WITHOUT ROWID;"
	/* the starts a computed hash must reach; rows leave it once hashed
	 * (most are hashed when written: the hasher's cache) */
	"CREATE INDEX IF NOT EXISTS execs_unhashed ON execs(ino)"
	" WHERE sha256 IS NULL;"
	/* the hasher's cache, kept across agent restarts */
	"CREATE TABLE IF NOT EXISTS file_hashes ("
	" dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" size INTEGER NOT NULL, mtime INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL,"
	" seen INTEGER NOT NULL,"
	" PRIMARY KEY (dev, ino, size, mtime)"
	") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS processes ("
	" entity INTEGER PRIMARY KEY,"
	" parent_entity INTEGER,"
	" pid INTEGER, ppid INTEGER,"
	" uid INTEGER, euid INTEGER, gid INTEGER, egid INTEGER, auid INTEGER,"
	" start_time INTEGER,"
	" exit_time INTEGER,"
	" exit_code INTEGER, exit_signal INTEGER,"
	" exited INTEGER NOT NULL DEFAULT 0,"
	" comm TEXT,"
	" executable TEXT,"
	" args BLOB, argc INTEGER,"
	" cwd TEXT,"
	" sha256 TEXT,"
	" from_snapshot INTEGER NOT NULL DEFAULT 0"
	");"
	/* alerts: one row per (rule, group), with a count (alerts.c) */
	"CREATE TABLE IF NOT EXISTS alerts ("
	" id INTEGER PRIMARY KEY,"
	" group_key TEXT NOT NULL UNIQUE,"
	" time INTEGER NOT NULL, last_time INTEGER NOT NULL,"
	" count INTEGER NOT NULL,"
	" rule_id TEXT, rule_title TEXT NOT NULL, rule_level TEXT,"
	" rule_author TEXT, rule_tags TEXT, rule_path TEXT,"
	" entity INTEGER, pid INTEGER, executable TEXT,"
	" event_type INTEGER, event_json TEXT"
	");"
	"CREATE INDEX IF NOT EXISTS alerts_last ON alerts(last_time);"
	/* actions: what responders did (actions.c), written by the CLI */
	"CREATE TABLE IF NOT EXISTS actions ("
	" id INTEGER PRIMARY KEY,"
	" parent INTEGER, undo_of INTEGER,"
	" time INTEGER NOT NULL, end_time INTEGER,"
	" user TEXT NOT NULL, kind TEXT NOT NULL, target TEXT,"
	" status TEXT NOT NULL, summary TEXT, detail TEXT"
	");"
	"CREATE INDEX IF NOT EXISTS actions_parent ON actions(parent);"
	/* file_versions: sensitive files as they changed (versions.c) */
	"CREATE TABLE IF NOT EXISTS file_versions ("
	" id INTEGER PRIMARY KEY,"
	" path TEXT NOT NULL, time INTEGER NOT NULL, entity INTEGER,"
	" sha256 TEXT, size INTEGER, mode INTEGER, uid INTEGER, gid INTEGER,"
	" deleted INTEGER NOT NULL DEFAULT 0, content BLOB"
	");"
	"CREATE INDEX IF NOT EXISTS file_versions_path ON file_versions(path, time);"
	/* scan_clean: files `hinomi scan` found clean (scan.c), by identity
	 * and the rule and IOC versions they were scanned with */
	"CREATE TABLE IF NOT EXISTS scan_clean ("
	" dev INTEGER NOT NULL, ino INTEGER NOT NULL,"
	" size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
	" rules_version TEXT NOT NULL, ioc_version TEXT NOT NULL,"
	" time INTEGER NOT NULL,"
	" PRIMARY KEY (dev, ino)"
	") WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS processes_parent ON processes(parent_entity);"
	"CREATE INDEX IF NOT EXISTS processes_pid ON processes(pid);";

/* Schema versions 1 and 2 kept one wide row per event in a real table
 * `events`: it is renamed events_v2 here (its rows are moved into blocks
 * by hn_writer_prepare, then it is dropped). */
static const char migrate_rows_sql[] =
	"DROP TABLE IF EXISTS event_batches;"
	"DROP INDEX IF EXISTS events_time;"
	"DROP INDEX IF EXISTS events_type_time;"
	"DROP INDEX IF EXISTS events_entity_time;"
	"DROP INDEX IF EXISTS events_path;"
	"DROP INDEX IF EXISTS events_path2;"
	"DROP INDEX IF EXISTS events_dst;"
	"DROP INDEX IF EXISTS events_sha256;"
	"DROP INDEX IF EXISTS events_exec;"
	"DROP INDEX IF EXISTS events_unhashed;"
	"ALTER TABLE events RENAME TO events_v2;";

int64_t hn_store_query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

void hn_store_set_err(struct hn_store *s, const char *what, sqlite3 *db)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what,
		 db ? sqlite3_errmsg(db) : "no database");
}

void hn_store_set_errf(struct hn_store *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

int hn_store_rc_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EPERM;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

int hn_store_exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

uint64_t hn_store_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t hn_store_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *hn_store_open_errmsg(void)
{
	return open_err;
}

/* meta.schema_version as read through db: >0, 0 when the meta table or the
 * key is missing, -errno on other errors. */
static int schema_version(struct hn_store *s, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int r = -EIO, rc;

	rc = sqlite3_prepare_v2(db,
		"SELECT value FROM meta WHERE key = 'schema_version'", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		const char *m = sqlite3_errmsg(db);
		if (strstr(m, "no such table")) {
			r = 0;
			goto out;
		}
		hn_store_set_err(s, "reading the schema version", db);
		r = hn_store_rc_errno(rc);
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		r = 0;
	else {
		hn_store_set_err(s, "reading the schema version", db);
		r = hn_store_rc_errno(rc);
	}
out:
	sqlite3_finalize(st);
	return r;
}

static int create_schema(struct hn_store *s)
{
	char sql[512];
	int r = -EIO, rc, v;

	rc = hn_store_exec(s->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "locking the store", s->db);
		return hn_store_rc_errno(rc);
	}
	v = schema_version(s, s->db);
	if (v < 0) {
		r = v;
		goto rollback;
	}
	if (v > HN_STORE_SCHEMA_VERSION) {
		hn_store_set_errf(s, "store schema version %d is newer than this "
				  "hinomi understands (%d)", v, HN_STORE_SCHEMA_VERSION);
		r = -EPROTONOSUPPORT;
		goto rollback;
	}
	rc = SQLITE_OK;
	if (v == 1 || v == 2)
		rc = hn_store_exec(s->db, migrate_rows_sql);
	if (rc == SQLITE_OK)
		rc = hn_store_exec(s->db, schema_sql);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "creating the schema", s->db);
		r = hn_store_rc_errno(rc);
		goto rollback;
	}
	snprintf(sql, sizeof(sql),
		 "INSERT OR REPLACE INTO meta(key, value) VALUES"
		 " ('schema_version', '%d');"
		 "INSERT OR IGNORE INTO meta(key, value) VALUES"
		 " ('created', '%llu');",
		 HN_STORE_SCHEMA_VERSION, (unsigned long long)hn_store_now_ns());
	rc = hn_store_exec(s->db, sql);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "writing meta", s->db);
		r = hn_store_rc_errno(rc);
		goto rollback;
	}
	rc = hn_store_exec(s->db, "COMMIT");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "committing the schema", s->db);
		r = hn_store_rc_errno(rc);
		goto rollback;
	}
	return 0;
rollback:
	hn_store_exec(s->db, "ROLLBACK");
	return r;
}

/* Create the file with mode 0600 when it does not exist yet. */
static int precreate(struct hn_store *s)
{
	int fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	hn_store_set_errf(s, "cannot create %s: %s", s->path, strerror(errno));
	return -errno;
}

static int open_rw(struct hn_store *s)
{
	char sql[256];
	uint64_t wal_allow;
	unsigned wal_pages;
	int page_size = 0;
	sqlite3_stmt *st = NULL;
	int r = -EIO, rc;

	r = precreate(s);
	if (r < 0)
		return r;
	rc = sqlite3_open_v2(s->path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "opening the store", s->db);
		return hn_store_rc_errno(rc);
	}
	sqlite3_extended_result_codes(s->db, 0);
	hn_store_vtab_register(s->db);
	if (s->max_row_bytes)
		sqlite3_limit(s->db, SQLITE_LIMIT_LENGTH, (int)s->max_row_bytes);
	sqlite3_busy_timeout(s->db, HN_STORE_BUSY_MS);

	/* Must precede the first table: it is fixed once tables exist. */
	rc = hn_store_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "setting auto_vacuum", s->db);
		return hn_store_rc_errno(rc);
	}
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		hn_store_set_err(s, "switching to WAL mode", s->db);
		r = rc == SQLITE_ROW ? -EIO : hn_store_rc_errno(rc);
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);

	/* The WAL gets a share of max_bytes: checkpoint and truncate it so
	 * that file + WAL stay within the bound retention keeps.  Up to 8192
	 * pages (32 MiB, half the largest share) between checkpoints: each
	 * copies the pages every batch changes (the last pages of the table
	 * and of the time-ordered indexes) once, so rarer checkpoints cost
	 * less (1000 -> 8192 pages: -18% writer CPU on a 300 MB store). */
	wal_allow = s->max_bytes / 8;
	if (wal_allow > 64ULL << 20)
		wal_allow = 64ULL << 20;
	rc = sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		page_size = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (page_size <= 0)
		page_size = 4096;
	wal_pages = (unsigned)(wal_allow / (unsigned)page_size);
	if (wal_pages > 8192)
		wal_pages = 8192;
	if (wal_pages < 16)
		wal_pages = 16;
	snprintf(sql, sizeof(sql),
		 "PRAGMA synchronous = NORMAL;"
		 "PRAGMA temp_store = MEMORY;"
		 "PRAGMA cache_size = -8192;"
		 "PRAGMA journal_size_limit = %llu;"
		 "PRAGMA wal_autocheckpoint = %u;",
		 (unsigned long long)wal_allow, wal_pages);
	rc = hn_store_exec(s->db, sql);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "configuring the store", s->db);
		return hn_store_rc_errno(rc);
	}
	return create_schema(s);
}

static int open_ro(struct hn_store *s)
{
	int rc, v;

	rc = sqlite3_open_v2(s->path, &s->rdb,
			     SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "opening the store read-only", s->rdb);
		return hn_store_rc_errno(rc);
	}
	sqlite3_extended_result_codes(s->rdb, 0);
	hn_store_vtab_register(s->rdb);
	sqlite3_busy_timeout(s->rdb, HN_STORE_BUSY_MS);
	rc = hn_store_exec(s->rdb, "PRAGMA query_only = 1");
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "opening the store read-only", s->rdb);
		return hn_store_rc_errno(rc);
	}
	if (!s->readonly)
		return 0;
	v = schema_version(s, s->rdb);
	if (v < 0)
		return v;
	if (v == 0) {
		hn_store_set_errf(s, "%s is not a hinomi store (no schema)", s->path);
		return -EINVAL;
	}
	if (v > HN_STORE_SCHEMA_VERSION) {
		hn_store_set_errf(s, "store schema version %d is newer than this "
				  "hinomi understands (%d)", v, HN_STORE_SCHEMA_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (v < HN_STORE_SCHEMA_VERSION) {
		hn_store_set_errf(s, "store schema version %d is older than this "
				  "hinomi reads (%d): run the agent on it once to "
				  "upgrade it", v, HN_STORE_SCHEMA_VERSION);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static void store_free(struct hn_store *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nmeta; i++) {
		free(s->meta[i].key);
		free(s->meta[i].value);
	}
	hn_writer_finalize(s);
	if (s->rdb)
		sqlite3_close_v2(s->rdb);
	if (s->db)
		sqlite3_close_v2(s->db);
	pthread_cond_destroy(&s->cv_done);
	pthread_cond_destroy(&s->cv_work);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->wmu);
	free(s->ring);
	free(s->wal_path);
	free(s->path);
	free(s);
}

int hn_store_open(const struct hn_store_opts *o, struct hn_store **out)
{
	struct hn_store *s = NULL;
	size_t n;
	int r = -ENOMEM;

	pthread_once(&sqlite_once, sqlite_setup);
	open_err[0] = '\0';
	if (!o || !o->path || !*o->path || !out) {
		snprintf(open_err, sizeof(open_err), "no store path given");
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->mu, NULL);
	{
		/* deadlines are computed on CLOCK_MONOTONIC (hn_store_mono_ns):
		 * the condition variables must wait on the same clock */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&s->cv_work, &ca);
		pthread_cond_init(&s->cv_done, &ca);
		pthread_condattr_destroy(&ca);
	}
	s->readonly = o->readonly;
	s->max_bytes = o->max_bytes ? o->max_bytes : HN_STORE_DEF_MAX_BYTES;
	s->max_age_ns = o->max_age_ns ? o->max_age_ns : HN_STORE_DEF_MAX_AGE_NS;
	s->batch_max = o->batch_max ? o->batch_max : HN_STORE_DEF_BATCH_MAX;
	s->batch_ms = o->batch_ms ? o->batch_ms : HN_STORE_DEF_BATCH_MS;
	s->queue_max = o->queue_max ? o->queue_max : HN_STORE_DEF_QUEUE_MAX;
	s->max_row_bytes = o->max_row_bytes > INT_MAX ? INT_MAX : o->max_row_bytes;
	s->path = strdup(o->path);
	n = strlen(o->path) + 5;
	s->wal_path = malloc(n);
	if (!s->path || !s->wal_path)
		goto fail;
	snprintf(s->wal_path, n, "%s-wal", o->path);

	if (s->readonly) {
		/* Say plainly what is wrong before SQLite says "unable to
		 * open database file". */
		if (access(s->path, F_OK) != 0) {
			r = -errno;
			hn_store_set_errf(s, "no store at %s: %s", s->path,
					  strerror(errno));
			goto fail;
		}
		if (access(s->path, R_OK) != 0) {
			r = -errno;
			hn_store_set_errf(s, "cannot read the store %s: %s",
					  s->path, strerror(errno));
			goto fail;
		}
	} else {
		s->ring = calloc(s->queue_max, sizeof(*s->ring));
		if (!s->ring) {
			hn_store_set_errf(s, "no memory for a queue of %u",
					  s->queue_max);
			goto fail;
		}
		r = open_rw(s);
		if (r < 0)
			goto fail;
		r = hn_writer_prepare(s);
		if (r < 0)
			goto fail;
	}
	r = open_ro(s);
	if (r < 0)
		goto fail;
	s->err[0] = '\0';
	*out = s;
	return 0;
fail:
	if (s)
		snprintf(open_err, sizeof(open_err), "%s", s->err[0] ? s->err :
			 strerror(-r));
	else
		snprintf(open_err, sizeof(open_err), "%s", strerror(-r));
	store_free(s);
	return r;
}

void hn_store_close(struct hn_store *s)
{
	if (!s)
		return;
	hn_writer_stop(s);
	store_free(s);
}

const char *hn_store_errmsg(struct hn_store *s)
{
	if (!s)
		return open_err[0] ? open_err : "no store";
	if (!s->err[0]) {
		pthread_mutex_lock(&s->mu);
		snprintf(s->err, sizeof(s->err), "%s", s->werr);
		pthread_mutex_unlock(&s->mu);
	}
	return s->err[0] ? s->err : "no error";
}

void hn_store_stats(struct hn_store *s, struct hn_store_stats *st)
{
	struct stat sb;
	uint64_t bytes = 0;

	memset(st, 0, sizeof(*st));
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->backlog = s->count;
	st->alerts_dropped = s->alerts_dropped;
	pthread_mutex_unlock(&s->mu);
	if (stat(s->path, &sb) == 0)
		bytes += (uint64_t)sb.st_size;
	if (stat(s->wal_path, &sb) == 0)
		bytes += (uint64_t)sb.st_size;
	st->db_bytes = bytes;
}

uint64_t hn_store_hash_dropped(struct hn_store *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = s->hash_dropped;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static int meta_set(struct hn_store *s, const char *key, const char *value, bool wait)
{
	sqlite3_stmt *st = NULL;
	int r = -EIO, rc;

	if (!s || !key)
		return -EINVAL;
	if (s->readonly || !s->db) {
		hn_store_set_errf(s, "the store is open read-only");
		return -EROFS;
	}
	if (!wait) {
		if (pthread_mutex_trylock(&s->wmu) != 0)
			return -EBUSY;
	} else {
		pthread_mutex_lock(&s->wmu);
	}
	rc = sqlite3_prepare_v2(s->db,
		"INSERT INTO meta(key, value) VALUES (?1, ?2)"
		" ON CONFLICT(key) DO UPDATE SET value = excluded.value",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (value)
			sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 2);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE)
		r = 0;
	else {
		hn_store_set_err(s, "writing meta", s->db);
		r = hn_store_rc_errno(rc);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->wmu);
	return r;
}

int hn_store_meta_set(struct hn_store *s, const char *key, const char *value)
{
	return meta_set(s, key, value, true);
}

int hn_store_meta_try_set(struct hn_store *s, const char *key, const char *value)
{
	return meta_set(s, key, value, false);
}

int hn_store_meta_get(struct hn_store *s, const char *key, char **out)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *v;
	char *copy;
	int r = -EIO, rc;

	if (!s || !key || !out)
		return -EINVAL;
	rc = sqlite3_prepare_v2(s->rdb, "SELECT value FROM meta WHERE key = ?1",
				-1, &st, NULL);
	if (rc != SQLITE_OK) {
		hn_store_set_err(s, "reading meta", s->rdb);
		r = hn_store_rc_errno(rc);
		goto out;
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		r = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		hn_store_set_err(s, "reading meta", s->rdb);
		r = hn_store_rc_errno(rc);
		goto out;
	}
	v = sqlite3_column_text(st, 0);
	if (!v) {
		r = -ENOENT;
		goto out;
	}
	copy = strdup((const char *)v);
	if (!copy) {
		r = -ENOMEM;
		goto out;
	}
	*out = copy;
	r = 0;
out:
	sqlite3_finalize(st);
	return r;
}

int hn_store_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

bool hn_store_row_error(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_TOOBIG:
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
		return true;
	default:
		return false;
	}
}
