/*
 * test_store.c - the local event store (store/store.h) against real SQLite
 * files in a mkdtemp directory: schema creation, events written through the
 * queue and read back with every query filter, the processes table, exact
 * argv bytes, hash updates, queue-full GAP rows, retention by age and size,
 * read-only SQL, and crash safety under SIGKILL.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "event/event.h"
#include "store/store.h"

#define SEC 1000000000ULL

/* Entities of the test tree: A -> B -> C, B -> E (never execs), D alone. */
#define ENT_A 0x1000000000000a01ULL
#define ENT_B 0x1000000000000b02ULL
#define ENT_C 0x1000000000000c03ULL
#define ENT_D 0x1000000000000d04ULL
#define ENT_E 0x1000000000000e05ULL
#define ENT_F 0x1000000000000f06ULL
#define ENT_G 0x1000000000001007ULL
#define ENT_H 0x1000000000001108ULL

struct fixture {
	char dir[64];
	char path[128];
	struct hn_store *s;
	uint64_t t0;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/hn_store_XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hinomi.db", f->dir);
	/* Ten minutes ago: well inside the default retention. */
	f->t0 = now_ns() - 600 * SEC;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	hn_store_close(f->s);
	const char *sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct hn_store *open_store(struct fixture *f, struct hn_store_opts *o)
{
	struct hn_store_opts def = { 0 };
	struct hn_store *s = NULL;

	if (!o)
		o = &def;
	o->path = f->path;
	int r = hn_store_open(o, &s);
	if (r < 0)
		fail_msg("open: %s (%s)", strerror(-r), hn_store_open_errmsg());
	return s;
}

static struct hn_event *mk(uint16_t type, uint64_t entity, uint64_t parent,
			   uint32_t pid, uint64_t time, const char *comm)
{
	struct hn_event *ev = hn_event_new(4096);
	assert_non_null(ev);
	ev->type = type;
	ev->time = time;
	ev->proc.entity = entity;
	ev->proc.parent_entity = parent;
	ev->proc.pid = pid;
	ev->proc.tid = pid;
	ev->proc.uid = 1000;
	ev->proc.euid = 1000;
	ev->proc.auid = 4294967295u;
	if (comm)
		snprintf(ev->proc.comm, sizeof(ev->proc.comm), "%s", comm);
	return ev;
}

static struct hn_event *mk_exec(uint64_t entity, uint64_t parent, uint32_t pid,
				uint64_t time, const char *exe,
				const char *args, size_t args_len, uint32_t argc)
{
	const char *base = strrchr(exe, '/');
	struct hn_event *ev = mk(HN_EV_PROCESS_START, entity, parent, pid, time,
				 base ? base + 1 : exe);
	ev->path = hn_event_puts(ev, exe);
	ev->filename = hn_event_puts(ev, exe);
	ev->args = hn_event_put(ev, args, args_len);
	ev->args_len = args_len;
	ev->argc = argc;
	ev->cwd = hn_event_puts(ev, "/home/u");
	return ev;
}

static void submit(struct hn_store *s, struct hn_event *ev)
{
	assert_int_equal(hn_store_submit(s, ev), 0);
}

/* ---- helpers reading the file directly ---- */

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(hn_store_sql_register(db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_text(const char *path, const char *sql, char *out, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(hn_store_sql_register(db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- collecting query results ---- */

#define MAXC 256
struct got {
	int n;
	int64_t id[MAXC];
	uint16_t type[MAXC];
	uint64_t entity[MAXC];
	uint64_t time[MAXC];
	uint32_t pid[MAXC];
	char exe[MAXC][64];
	char pexe[MAXC][64];
	struct hn_event *keep[MAXC];   /* deep copies, when asked */
	bool dup;
};

static int collect(const struct hn_event *ev, void *arg)
{
	struct got *g = arg;
	if (g->n >= MAXC)
		return -E2BIG;
	g->id[g->n] = ev->id;
	g->type[g->n] = ev->type;
	g->entity[g->n] = ev->proc.entity;
	g->time[g->n] = ev->time;
	g->pid[g->n] = ev->proc.pid;
	snprintf(g->exe[g->n], 64, "%s", ev->proc.executable ? ev->proc.executable : "");
	snprintf(g->pexe[g->n], 64, "%s",
		 ev->proc.parent_executable ? ev->proc.parent_executable : "");
	if (g->dup) {
		g->keep[g->n] = hn_event_dup(ev);
		assert_non_null(g->keep[g->n]);
	}
	g->n++;
	return 0;
}

static void got_release(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		hn_event_free(g->keep[i]);
	memset(g, 0, sizeof(*g));
}

static void query(struct hn_store *s, const struct hn_query *q, struct got *g)
{
	int r = hn_store_query(s, q, collect, g);
	if (r != 0)
		fail_msg("query: %d %s", r, hn_store_errmsg(s));
}

/* ---- the shared scenario ---- */

/*
 * t0+0   A exec /usr/sbin/sshd             (pid 100, no parent)
 * t0+1   B fork from A                     (pid 200)
 * t0+2   B exec /bin/bash -l
 * t0+3   C fork from B                     (pid 300)
 * t0+4   C file_open_write /tmp/before     (still bash's image)
 * t0+5   C exec /usr/bin/curl http://x
 * t0+6   C net_connect 10.0.0.5:40000 -> 93.184.216.34:443
 * t0+7   C dns_query example.com
 * t0+8   C file_rename /tmp/a -> /tmp/b
 * t0+9   C exit 7
 * t0+10  D exec /usr/bin/unrelated         (pid 400, no parent)
 * t0+11  D file_create /etc/x
 * t0+12  E fork from B                     (pid 500; never execs)
 * t0+13  E file_delete /tmp/gone
 * t0+14  E exit signal 9
 */
static void scenario(struct fixture *f, struct hn_store *s)
{
	uint64_t t = f->t0;
	struct hn_event *ev;

	submit(s, mk_exec(ENT_A, 0, 100, t + 0 * SEC, "/usr/sbin/sshd",
			  "sshd\0-D", 8, 2));
	ev = mk(HN_EV_PROCESS_FORK, ENT_B, ENT_A, 200, t + 1 * SEC, "sshd");
	ev->proc.ppid = 100;
	submit(s, ev);
	submit(s, mk_exec(ENT_B, ENT_A, 200, t + 2 * SEC, "/bin/bash",
			  "bash\0-l", 8, 2));
	ev = mk(HN_EV_PROCESS_FORK, ENT_C, ENT_B, 300, t + 3 * SEC, "bash");
	ev->proc.ppid = 200;
	submit(s, ev);
	ev = mk(HN_EV_FILE_OPEN_WRITE, ENT_C, ENT_B, 300, t + 4 * SEC, "bash");
	ev->path = hn_event_puts(ev, "/tmp/before");
	submit(s, ev);
	submit(s, mk_exec(ENT_C, ENT_B, 300, t + 5 * SEC, "/usr/bin/curl",
			  "curl\0http://x", 14, 2));
	ev = mk(HN_EV_NET_CONNECT, ENT_C, ENT_B, 300, t + 6 * SEC, "curl");
	ev->transport = 6;
	assert_int_equal(hn_addr_parse("10.0.0.5", &ev->src), 0);
	ev->src.port = 40000;
	assert_int_equal(hn_addr_parse("93.184.216.34", &ev->dst), 0);
	ev->dst.port = 443;
	ev->result = -111;
	ev->flags = HN_EVF_FAILED;
	submit(s, ev);
	ev = mk(HN_EV_DNS_QUERY, ENT_C, ENT_B, 300, t + 7 * SEC, "curl");
	ev->dns_name = hn_event_puts(ev, "example.com");
	ev->dns_type = 1;
	submit(s, ev);
	ev = mk(HN_EV_FILE_RENAME, ENT_C, ENT_B, 300, t + 8 * SEC, "curl");
	ev->path = hn_event_puts(ev, "/tmp/a");
	ev->path2 = hn_event_puts(ev, "/tmp/b");
	submit(s, ev);
	ev = mk(HN_EV_PROCESS_EXIT, ENT_C, ENT_B, 300, t + 9 * SEC, "curl");
	ev->exit_code = 7;
	submit(s, ev);
	submit(s, mk_exec(ENT_D, 0, 400, t + 10 * SEC, "/usr/bin/unrelated",
			  "unrelated", 10, 1));
	ev = mk(HN_EV_FILE_CREATE, ENT_D, 0, 400, t + 11 * SEC, "unrelated");
	ev->path = hn_event_puts(ev, "/etc/x");
	ev->mode = 0644;
	submit(s, ev);
	ev = mk(HN_EV_PROCESS_FORK, ENT_E, ENT_B, 500, t + 12 * SEC, "bash");
	ev->proc.ppid = 200;
	submit(s, ev);
	ev = mk(HN_EV_FILE_DELETE, ENT_E, ENT_B, 500, t + 13 * SEC, "bash");
	ev->path = hn_event_puts(ev, "/tmp/gone");
	submit(s, ev);
	ev = mk(HN_EV_PROCESS_EXIT, ENT_E, ENT_B, 500, t + 14 * SEC, "bash");
	ev->exit_code = -1;
	ev->exit_signal = 9;
	submit(s, ev);
}
#define SCENARIO_EVENTS 15

/* ---- tests ---- */

static void test_open_creates_schema_wal_incremental(void **state)
{
	struct fixture *f = *state;
	char text[64];
	char *v = NULL;
	struct stat sb;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_meta_get(f->s, "schema_version", &v), 0);
	assert_string_equal(v, "3");
	free(v);
	v = NULL;
	assert_int_equal(hn_store_meta_get(f->s, "nope", &v), -ENOENT);
	assert_null(v);
	assert_int_equal(hn_store_meta_set(f->s, "host_name", "box1"), 0);
	assert_int_equal(hn_store_meta_set(f->s, "host_name", "box2"), 0);
	assert_int_equal(hn_store_meta_get(f->s, "host_name", &v), 0);
	assert_string_equal(v, "box2");
	free(v);

	/* docs/SCHEMA.md: events is the virtual table over these */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema"
				 " WHERE type = 'table' AND name IN"
				 " ('event_blocks', 'event_keys', 'written', 'execs',"
				 "  'file_hashes', 'processes', 'meta')"), 7);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema"
				 " WHERE name = 'events'"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 0);
	assert_int_equal(sql_int(f->path, "PRAGMA auto_vacuum"), 2);
	sql_text(f->path, "PRAGMA journal_mode", text, sizeof(text));
	assert_string_equal(text, "wal");
	/* It holds command lines: owner only. */
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* Reopening keeps what is there. */
	hn_store_close(f->s);
	f->s = open_store(f, NULL);
	v = NULL;
	assert_int_equal(hn_store_meta_get(f->s, "host_name", &v), 0);
	assert_string_equal(v, "box2");
	free(v);
}

static void test_readonly_open_missing_store_fails_clearly(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts o = { .path = f->path, .readonly = true };
	struct hn_store *s = NULL;
	char p[160];
	FILE *fp;

	assert_int_equal(hn_store_open(&o, &s), -ENOENT);
	assert_null(s);
	assert_non_null(strstr(hn_store_open_errmsg(), "no store at"));
	/* Read-only open does not create the file. */
	assert_int_equal(access(f->path, F_OK), -1);

	/* A file that is not a hinomi store. */
	snprintf(p, sizeof(p), "%s", f->path);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("not sqlite at all, just some text that is long enough......", fp);
	fclose(fp);
	assert_true(hn_store_open(&o, &s) < 0);
	assert_null(s);
	assert_true(strlen(hn_store_open_errmsg()) > 0);
}

static void test_query_filters(void **state)
{
	struct fixture *f = *state;
	struct hn_query q;
	struct got g = { 0 };
	int64_t mid;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	scenario(f, f->s);
	assert_int_equal(hn_store_flush(f->s), 0);

	/* all, in time order */
	memset(&q, 0, sizeof(q));
	query(f->s, &q, &g);
	assert_int_equal(g.n, SCENARIO_EVENTS);
	for (int i = 1; i < g.n; i++)
		assert_true(g.time[i] > g.time[i - 1]);
	assert_int_equal(g.time[0], f->t0);
	mid = g.id[7];
	memset(&g, 0, sizeof(g));

	/* types: the file family */
	memset(&q, 0, sizeof(q));
	q.ntypes = hn_event_types_by_name("file", q.types, 64);
	assert_true(q.ntypes > 5);
	query(f->s, &q, &g);
	assert_int_equal(g.n, 4);  /* open_write, rename, create, delete */
	for (int i = 0; i < g.n; i++)
		assert_true(hn_event_is_file(g.type[i]));
	memset(&g, 0, sizeof(g));

	/* two exact types */
	memset(&q, 0, sizeof(q));
	q.types[0] = HN_EV_PROCESS_EXIT;
	q.types[1] = HN_EV_DNS_QUERY;
	q.ntypes = 2;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.type[0], HN_EV_DNS_QUERY);
	assert_int_equal(g.type[1], HN_EV_PROCESS_EXIT);
	assert_int_equal(g.entity[1], ENT_C);
	assert_int_equal(g.entity[2], ENT_E);
	memset(&g, 0, sizeof(g));

	/* pid */
	memset(&q, 0, sizeof(q));
	q.pid = 300;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 7);
	for (int i = 0; i < g.n; i++) {
		assert_int_equal(g.pid[i], 300);
		assert_int_equal(g.entity[i], ENT_C);
	}
	memset(&g, 0, sizeof(g));

	/* entity alone */
	memset(&q, 0, sizeof(q));
	q.entity = ENT_B;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 2);  /* fork, exec */
	memset(&g, 0, sizeof(g));

	/* entity with descendants over A -> B -> {C, E}: all but D's two */
	memset(&q, 0, sizeof(q));
	q.entity = ENT_A;
	q.descendants = true;
	query(f->s, &q, &g);
	assert_int_equal(g.n, SCENARIO_EVENTS - 2);
	for (int i = 0; i < g.n; i++)
		assert_true(g.entity[i] != ENT_D);
	memset(&g, 0, sizeof(g));

	/* a middle node's descendants: B, C, E */
	memset(&q, 0, sizeof(q));
	q.entity = ENT_B;
	q.descendants = true;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 2 + 7 + 3);
	memset(&g, 0, sizeof(g));

	/* since / until */
	memset(&q, 0, sizeof(q));
	q.since = f->t0 + 10 * SEC;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.entity[0], ENT_D);
	memset(&g, 0, sizeof(g));
	q.until = f->t0 + 11 * SEC;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 2);
	memset(&g, 0, sizeof(g));

	/* after_id */
	memset(&q, 0, sizeof(q));
	q.after_id = mid;
	query(f->s, &q, &g);
	assert_int_equal(g.n, SCENARIO_EVENTS - 8);
	for (int i = 0; i < g.n; i++)
		assert_true(g.id[i] > mid);
	memset(&g, 0, sizeof(g));

	/* limit, oldest and newest first */
	memset(&q, 0, sizeof(q));
	q.limit = 3;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.time[2], f->t0 + 2 * SEC);
	memset(&g, 0, sizeof(g));
	q.newest_first = true;
	q.limit = 1;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.time[0], f->t0 + 14 * SEC);
	assert_int_equal(g.type[0], HN_EV_PROCESS_EXIT);
	memset(&g, 0, sizeof(g));

	/* combined: C's file events since t0+5 */
	memset(&q, 0, sizeof(q));
	q.entity = ENT_C;
	q.ntypes = hn_event_types_by_name("file", q.types, 64);
	q.since = f->t0 + 5 * SEC;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.type[0], HN_EV_FILE_RENAME);
	memset(&g, 0, sizeof(g));

}

static int stop_at_two(const struct hn_event *ev, void *arg)
{
	int *n = arg;
	(void)ev;
	return ++*n == 2 ? 42 : 0;
}

static void test_query_callback_stops(void **state)
{
	struct fixture *f = *state;
	struct hn_query q = { 0 };
	int n = 0;

	f->s = open_store(f, NULL);
	scenario(f, f->s);
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(hn_store_query(f->s, &q, stop_at_two, &n), 42);
	assert_int_equal(n, 2);
}

static void test_query_fields_and_enrichment(void **state)
{
	struct fixture *f = *state;
	struct hn_query q = { 0 };
	struct got g = { .dup = true };
	const struct hn_event *ev;
	char buf[64];

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	scenario(f, f->s);
	assert_int_equal(hn_store_flush(f->s), 0);
	q.entity = ENT_C;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 7);

	/* fork: before C's exec it runs its parent's image, bash */
	assert_int_equal(g.type[0], HN_EV_PROCESS_FORK);
	assert_string_equal(g.exe[0], "/bin/bash");
	assert_string_equal(g.pexe[0], "/bin/bash");
	assert_int_equal(g.type[1], HN_EV_FILE_OPEN_WRITE);
	assert_string_equal(g.exe[1], "/bin/bash");
	/* after the exec: curl; parent still bash */
	assert_int_equal(g.type[2], HN_EV_PROCESS_START);
	assert_string_equal(g.exe[2], "/usr/bin/curl");
	ev = g.keep[2];
	assert_int_equal(ev->args_len, 14);
	assert_memory_equal(ev->args, "curl\0http://x", 14);
	assert_int_equal(ev->argc, 2);
	assert_string_equal(ev->cwd, "/home/u");
	assert_string_equal(ev->filename, "/usr/bin/curl");
	assert_int_equal(ev->proc.parent_entity, ENT_B);
	assert_int_equal(ev->proc.start_time, f->t0 + 3 * SEC); /* the fork */
	assert_int_equal(ev->proc.uid, 1000);
	assert_int_equal(ev->proc.auid, 4294967295u);

	ev = g.keep[3];
	assert_int_equal(ev->type, HN_EV_NET_CONNECT);
	assert_string_equal(g.exe[3], "/usr/bin/curl");
	assert_string_equal(g.pexe[3], "/bin/bash");
	assert_int_equal(ev->dst.family, AF_INET);
	assert_int_equal(ev->dst.port, 443);
	assert_string_equal(hn_addr_str(&ev->dst, buf, sizeof(buf)), "93.184.216.34");
	assert_string_equal(hn_addr_str(&ev->src, buf, sizeof(buf)), "10.0.0.5");
	assert_int_equal(ev->src.port, 40000);
	assert_int_equal(ev->transport, 6);
	assert_int_equal(ev->result, -111);
	assert_int_equal(ev->flags, HN_EVF_FAILED);

	ev = g.keep[4];
	assert_string_equal(ev->dns_name, "example.com");
	assert_int_equal(ev->dns_type, 1);
	ev = g.keep[5];
	assert_string_equal(ev->path, "/tmp/a");
	assert_string_equal(ev->path2, "/tmp/b");
	ev = g.keep[6];
	assert_int_equal(ev->type, HN_EV_PROCESS_EXIT);
	assert_int_equal(ev->exit_code, 7);
	assert_string_equal(ev->proc.comm, "curl");
	got_release(&g);

	/* E never execs: its image is the one it inherited from bash */
	memset(&q, 0, sizeof(q));
	q.entity = ENT_E;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.exe[1], "/bin/bash");
	assert_string_equal(g.pexe[1], "/bin/bash");
	got_release(&g);

	/* Addresses are text in SQL, so users can query them. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE dst_addr = '93.184.216.34'"
				 " AND dst_port = 443 AND family = 2"), 1);
}

static void test_processes_table(void **state)
{
	struct fixture *f = *state;
	struct hn_process *p = NULL;
	uint64_t ents[4];
	struct hn_event *ev;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	scenario(f, f->s);
	/* an event of an entity never seen before: a minimal row */
	ev = mk(HN_EV_FILE_CREATE, ENT_F, ENT_D, 600, f->t0 + 20 * SEC, "ghost");
	ev->path = hn_event_puts(ev, "/tmp/ghost");
	submit(f->s, ev);
	/* pid reuse: another process with pid 300, started later */
	submit(f->s, mk_exec(0x1000000000000c99ULL, 0, 300, f->t0 + 30 * SEC,
			     "/bin/true", "true", 5, 1));
	assert_int_equal(hn_store_flush(f->s), 0);

	/* C: fork then exec then exit */
	assert_int_equal(hn_store_process(f->s, ENT_C, &p), 0);
	assert_int_equal(p->entity, ENT_C);
	assert_int_equal(p->parent_entity, ENT_B);
	assert_int_equal(p->pid, 300);
	assert_int_equal(p->ppid, 200);
	assert_int_equal(p->start_time, f->t0 + 3 * SEC);   /* kept from fork */
	assert_string_equal(p->executable, "/usr/bin/curl"); /* latest image */
	assert_int_equal(p->args_len, 14);
	assert_memory_equal(p->args, "curl\0http://x", 14);
	assert_int_equal(p->argc, 2);
	assert_string_equal(p->comm, "curl");
	assert_true(p->exited);
	assert_int_equal(p->exit_code, 7);
	assert_int_equal(p->exit_signal, 0);
	assert_int_equal(p->exit_time, f->t0 + 9 * SEC);
	assert_false(p->from_snapshot);
	hn_process_free(p);

	/* E forked from B and never exec'd: B's image and args */
	assert_int_equal(hn_store_process(f->s, ENT_E, &p), 0);
	assert_string_equal(p->executable, "/bin/bash");
	assert_int_equal(p->args_len, 8);
	assert_memory_equal(p->args, "bash\0-l", 8);
	assert_true(p->exited);
	assert_int_equal(p->exit_signal, 9);
	hn_process_free(p);

	/* A is running */
	assert_int_equal(hn_store_process(f->s, ENT_A, &p), 0);
	assert_false(p->exited);
	assert_int_equal(p->exit_time, 0);
	assert_int_equal(p->parent_entity, 0);
	hn_process_free(p);

	/* F: minimal row from a file event */
	assert_int_equal(hn_store_process(f->s, ENT_F, &p), 0);
	assert_int_equal(p->pid, 600);
	assert_int_equal(p->parent_entity, ENT_D);
	assert_string_equal(p->comm, "ghost");
	assert_null(p->executable);
	hn_process_free(p);

	assert_int_equal(hn_store_process(f->s, 12345, &p), -ENOENT);

	/* pid reuse, newest first */
	assert_int_equal(hn_store_entities_by_pid(f->s, 300, ents, 4), 2);
	assert_int_equal(ents[0], 0x1000000000000c99ULL);
	assert_int_equal(ents[1], ENT_C);
	assert_int_equal(hn_store_entities_by_pid(f->s, 999, ents, 4), 0);

	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM processes"), 7);
}

struct plist {
	int n;
	uint64_t e[16];
};

static int plist_add(const struct hn_process *p, void *arg)
{
	struct plist *l = arg;
	if (l->n < 16)
		l->e[l->n++] = p->entity;
	return 0;
}

static void test_children_and_roots(void **state)
{
	struct fixture *f = *state;
	struct plist l = { 0 };

	f->s = open_store(f, NULL);
	scenario(f, f->s);
	assert_int_equal(hn_store_flush(f->s), 0);

	assert_int_equal(hn_store_children(f->s, ENT_B, plist_add, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.e[0], ENT_C);  /* oldest first */
	assert_int_equal(l.e[1], ENT_E);
	memset(&l, 0, sizeof(l));
	assert_int_equal(hn_store_children(f->s, ENT_C, plist_add, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(hn_store_roots(f->s, plist_add, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.e[0], ENT_A);
	assert_int_equal(l.e[1], ENT_D);
}

/* The scenario, then: B forks G and then execs vim (G keeps bash's image);
 * a late snapshot of A (fills only what is unknown); H seen first by a file
 * event, then its fork with an earlier start (the earliest start wins). */
static void more_processes(struct fixture *f, struct hn_store *s)
{
	uint64_t t = f->t0;
	struct hn_event *ev;

	scenario(f, s);
	ev = mk(HN_EV_PROCESS_FORK, ENT_G, ENT_B, 600, t + 15 * SEC, "bash");
	ev->proc.ppid = 200;
	submit(s, ev);
	submit(s, mk_exec(ENT_B, ENT_A, 200, t + 16 * SEC, "/usr/bin/vim",
			  "vim", 4, 1));
	ev = mk(HN_EV_PROCESS_EXIT, ENT_G, ENT_B, 600, t + 17 * SEC, "bash");
	submit(s, ev);
	ev = mk_exec(ENT_A, 0, 100, t + 18 * SEC, "/usr/sbin/other", "o", 2, 1);
	ev->type = HN_EV_PROCESS_SNAPSHOT;
	ev->proc.ppid = 1;
	submit(s, ev);
	ev = mk(HN_EV_FILE_CREATE, ENT_H, ENT_D, 700, t + 20 * SEC, "h");
	ev->path = hn_event_puts(ev, "/tmp/h");
	submit(s, ev);
	ev = mk(HN_EV_PROCESS_FORK, ENT_H, ENT_D, 700, t + 21 * SEC, "h");
	ev->proc.start_time = t + 19 * SEC;
	submit(s, ev);
}

/* processes as text, every column quoted, ordered by entity */
static char *processes_dump(const char *path)
{
	char *out = malloc(1 << 16);

	assert_non_null(out);
	sql_text(path,
		 "SELECT group_concat(r, char(10)) FROM (SELECT quote(entity)"
		 " || ' ' || quote(parent_entity) || ' ' || quote(pid) || ' ' ||"
		 " quote(ppid) || ' ' || quote(uid) || ' ' || quote(euid) || ' ' ||"
		 " quote(gid) || ' ' || quote(egid) || ' ' || quote(auid) || ' ' ||"
		 " quote(start_time) || ' ' || quote(exit_time) || ' ' ||"
		 " quote(exit_code) || ' ' || quote(exit_signal) || ' ' ||"
		 " quote(exited) || ' ' || quote(comm) || ' ' ||"
		 " quote(executable) || ' ' || quote(args) || ' ' || quote(argc)"
		 " || ' ' || quote(cwd) || ' ' || quote(sha256) || ' ' ||"
		 " quote(from_snapshot) AS r FROM processes ORDER BY entity)",
		 out, 1 << 16);
	return out;
}

/* The writer applies a batch's processes changes in memory and writes each
 * row once: the rows must be those of one event per transaction. */
/* A process whose entity is below the newest one the table has still
 * finds its row (the writer skips the look-up only above every entity it
 * has written), across batches and a reopen of the store. */
static void test_processes_older_entity_finds_its_row(void **state)
{
	struct fixture *f = *state;
	struct hn_process *p = NULL;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	submit(f->s, mk_exec(ENT_A, 0, 100, f->t0, "/bin/a", "a", 2, 1));
	submit(f->s, mk_exec(ENT_D, 0, 400, f->t0 + SEC, "/bin/d", "d", 2, 1));
	assert_int_equal(hn_store_flush(f->s), 0);
	hn_store_close(f->s);
	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	submit(f->s, mk(HN_EV_PROCESS_EXIT, ENT_A, 0, 100, f->t0 + 2 * SEC, "a"));
	submit(f->s, mk(HN_EV_PROCESS_EXIT, ENT_E, 0, 500, f->t0 + 3 * SEC, "e"));
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(hn_store_process(f->s, ENT_A, &p), 0);
	assert_int_equal(p->exited, 1);
	assert_string_equal(p->executable, "/bin/a");
	hn_process_free(p);
	assert_int_equal(hn_store_process(f->s, ENT_E, &p), 0);
	assert_int_equal(p->exited, 1);
	hn_process_free(p);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM processes"), 3);
}

static void test_processes_same_in_one_batch_or_many(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts one = { .batch_max = 1 };
	struct hn_store *s1;
	struct hn_process *p = NULL;
	char path1[160], *many, *single;

	/* one event per batch (inline drain: no writer thread) */
	snprintf(path1, sizeof(path1), "%s/one.db", f->dir);
	one.path = path1;
	assert_int_equal(hn_store_open(&one, &s1), 0);
	more_processes(f, s1);
	assert_int_equal(hn_store_flush(s1), 0);
	hn_store_close(s1);
	/* everything in one batch */
	f->s = open_store(f, NULL);
	more_processes(f, f->s);
	assert_int_equal(hn_store_flush(f->s), 0);

	many = processes_dump(path1);
	single = processes_dump(f->path);
	assert_true(strlen(single) > 100);
	assert_string_equal(single, many);
	free(many);
	free(single);

	assert_int_equal(hn_store_process(f->s, ENT_G, &p), 0);
	assert_string_equal(p->executable, "/bin/bash");   /* image at fork */
	assert_true(p->exited);
	hn_process_free(p);
	assert_int_equal(hn_store_process(f->s, ENT_B, &p), 0);
	assert_string_equal(p->executable, "/usr/bin/vim");
	hn_process_free(p);
	assert_int_equal(hn_store_process(f->s, ENT_A, &p), 0);
	assert_string_equal(p->executable, "/usr/sbin/sshd"); /* kept */
	assert_int_equal(p->ppid, 1);                          /* filled */
	assert_true(p->from_snapshot == false);
	hn_process_free(p);
	assert_int_equal(hn_store_process(f->s, ENT_H, &p), 0);
	assert_int_equal(p->start_time, f->t0 + 19 * SEC);
	assert_int_equal(p->parent_entity, ENT_D);
	hn_process_free(p);

	const char *sfx[] = { "", "-wal", "-shm" };
	for (size_t i = 0; i < 3; i++) {
		char q[200];
		snprintf(q, sizeof(q), "%s%s", path1, sfx[i]);
		unlink(q);
	}
}

static struct hn_event *mk_open(uint16_t type, uint64_t entity, uint64_t time,
				uint64_t cookie, const char *path)
{
	struct hn_event *ev = mk(type, entity, ENT_A, 100, time, "w");
	ev->cookie = cookie;
	if (path)
		ev->path = hn_event_puts(ev, path);
	else
		ev->flags = HN_EVF_WRITTEN;
	return ev;
}

/* A "written" close flags the latest row of its open (entity, cookie): in
 * the same batch (where the writer folds it into the open's row), in a
 * later one, after the store is reopened; one with no recorded open stays
 * an event of its own. */
static void test_written_close_flags_its_open(void **state)
{
	struct fixture *f = *state;
	struct hn_event *ev;
	uint64_t t = f->t0;

	f->s = open_store(f, NULL);
	submit(f->s, mk_open(HN_EV_FILE_CREATE, ENT_B, t + 1, 0xc1, "/tmp/1"));
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_B, t + 2, 0xc1, "/tmp/2"));
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_C, t + 3, 0xc1, "/tmp/3"));
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_B, t + 4, 0, NULL));
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_B, t + 5, 0xc1, NULL));
	submit(f->s, mk_open(HN_EV_FILE_READ, ENT_B, t + 6, 0xc2, "/tmp/4"));
	/* an open whose path is unknown is still an open: flagged */
	ev = mk_open(HN_EV_FILE_OPEN_WRITE, ENT_B, t + 6, 0xc5, NULL);
	ev->flags = 0;
	submit(f->s, ev);
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_B, t + 6, 0xc5, NULL));
	/* no open: the close is a row, and flagged by the next close */
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_D, t + 6, 0xc6, NULL));
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_D, t + 6, 0xc6, NULL));
	assert_int_equal(hn_store_flush(f->s), 0);
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_B, t + 7, 0xc2, NULL));
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_D, t + 8, 0xc3, NULL));
	submit(f->s, mk_open(HN_EV_FILE_CREATE, ENT_C, t + 9, 0xc4, "/tmp/5"));
	assert_int_equal(hn_store_flush(f->s), 0);
	hn_store_close(f->s);
	f->s = open_store(f, NULL);
	submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_C, t + 10, 0xc4, NULL));
	assert_int_equal(hn_store_flush(f->s), 0);

	/* flagged: B's second open of c1 (not the first), B's c2, C's c4 */
	{
		char got[128];
		sql_text(f->path, "SELECT group_concat(path, ',') FROM"
			 " (SELECT path FROM events WHERE flags & 32"
			 "  AND path IS NOT NULL ORDER BY id)", got, sizeof(got));
		assert_string_equal(got, "/tmp/2,/tmp/4,/tmp/5");
	}
	/* of their own: the close with no cookie and D's two with no open;
	 * and B's open of c5 (path unknown), flagged */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE path IS NULL AND flags & 32"), 4);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE cookie = 197"), 1);          /* 0xc5 */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 9);
}

static void test_args_bytes_survive_exactly(void **state)
{
	struct fixture *f = *state;
	/* non-UTF-8, an empty argument, bytes 0x01 and 0x7f, no final NUL */
	static const char args[] = "sh\0-c\0\xff\xfe\x80 caf\xc3\xa9\0\0\x01\x7f";
	const size_t len = sizeof(args) - 1;
	struct hn_query q = { 0 };
	struct got g = { .dup = true };
	struct hn_process *p = NULL;
	static const char path[] = "/tmp/\xff\xfeweird";

	f->s = open_store(f, NULL);
	submit(f->s, mk_exec(ENT_A, 0, 100, f->t0, path, args, len, 5));
	assert_int_equal(hn_store_flush(f->s), 0);
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.keep[0]->args_len, len);
	assert_memory_equal(g.keep[0]->args, args, len);
	assert_int_equal(g.keep[0]->argc, 5);
	assert_string_equal(g.keep[0]->path, path);
	got_release(&g);
	assert_int_equal(hn_store_process(f->s, ENT_A, &p), 0);
	assert_int_equal(p->args_len, len);
	assert_memory_equal(p->args, args, len);
	assert_string_equal(p->executable, path);
	hn_process_free(p);
	assert_int_equal(sql_int(f->path, "SELECT length(args) FROM events"),
			 (int64_t)len);
	assert_int_equal(sql_int(f->path, "SELECT typeof(args) = 'blob' FROM events"), 1);
}

static void test_hash_update_fills_process_starts(void **state)
{
	struct fixture *f = *state;
	static const char sha[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct hn_query q = { 0 };
	struct got g = { .dup = true };
	struct hn_process *p = NULL;
	struct hn_event *ev;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	/* two starts of the same file identity, one of another */
	for (int i = 0; i < 3; i++) {
		ev = mk_exec(ENT_A + (uint64_t)i, 0, 100 + (uint32_t)i,
			     f->t0 + (uint64_t)i * SEC, "/usr/bin/x", "x", 2, 1);
		ev->dev = 2049;
		ev->ino = i == 2 ? 777 : 555;
		ev->size = 1000;
		ev->mtime = 1700000000ULL * SEC;
		submit(f->s, ev);
	}
	/* a file event on the same inode is no process start */
	ev = mk(HN_EV_FILE_OPEN_WRITE, ENT_A, 0, 100, f->t0 + 5 * SEC, "x");
	ev->path = hn_event_puts(ev, "/usr/bin/x");
	ev->dev = 2049;
	ev->ino = 555;
	ev->size = 1000;
	ev->mtime = 1700000000ULL * SEC;
	submit(f->s, ev);
	assert_int_equal(hn_store_submit_hash(f->s, 2049, 555, 1000,
					      1700000000ULL * SEC, sha), 0);
	/* wrong mtime: matches nothing */
	assert_int_equal(hn_store_submit_hash(f->s, 2049, 777, 1000, 1, sha), 0);
	assert_int_equal(hn_store_submit_hash(f->s, 1, 2, 3, 4, "short"), -EINVAL);
	assert_int_equal(hn_store_flush(f->s), 0);

	query(f->s, &q, &g);
	assert_int_equal(g.n, 4);
	assert_string_equal(g.keep[0]->sha256, sha);
	assert_string_equal(g.keep[1]->sha256, sha);
	assert_string_equal(g.keep[2]->sha256, "");
	assert_string_equal(g.keep[3]->sha256, "");
	got_release(&g);
	assert_int_equal(hn_store_process(f->s, ENT_A, &p), 0);
	assert_string_equal(p->sha256, sha);
	hn_process_free(p);
	assert_int_equal(hn_store_process(f->s, ENT_A + 2, &p), 0);
	assert_string_equal(p->sha256, "");
	hn_process_free(p);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE sha256 IS NOT NULL"), 2);
}

struct hashes_got {
	int n;
	uint64_t ino[4];
	char sha[4][65];
};

static int hashes_cb(uint64_t dev, uint64_t ino, uint64_t size, uint64_t mtime,
		     const char *sha256, void *arg)
{
	struct hashes_got *g = arg;

	assert_int_equal(dev, 2049);
	assert_int_equal(size, 1000);
	assert_int_equal(mtime, 1700000000ULL * SEC);
	assert_true(g->n < 4);
	g->ino[g->n] = ino;
	snprintf(g->sha[g->n], 65, "%s", sha256);
	g->n++;
	return 0;
}

/* Every computed hash is kept in file_hashes (one row per identity, the
 * latest hash of it), whether or not a process start wanted it, and read
 * back newest first for the next agent's cache; the store reopened keeps
 * them. */
static void test_file_hashes_are_kept(void **state)
{
	struct fixture *f = *state;
	static const char sha1[] =
		"1111111111111111111111111111111111111111111111111111111111111111";
	static const char sha2[] =
		"2222222222222222222222222222222222222222222222222222222222222222";
	struct hashes_got g = { 0 };
	const uint64_t mt = 1700000000ULL * SEC;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	assert_int_equal(hn_store_submit_hash(f->s, 2049, 10, 1000, mt, sha1), 0);
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(hn_store_submit_hash(f->s, 2049, 11, 1000, mt, sha1), 0);
	assert_int_equal(hn_store_flush(f->s), 0);
	/* the same identity again: one row, the latest hash, seen last */
	assert_int_equal(hn_store_submit_hash(f->s, 2049, 10, 1000, mt, sha2), 0);
	assert_int_equal(hn_store_flush(f->s), 0);
	hn_store_close(f->s);
	f->s = open_store(f, NULL);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM file_hashes"), 2);
	assert_int_equal(hn_store_file_hashes(f->s, 10, hashes_cb, &g), 2);
	assert_int_equal(g.ino[0], 10);
	assert_string_equal(g.sha[0], sha2);
	assert_int_equal(g.ino[1], 11);
	assert_string_equal(g.sha[1], sha1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(hn_store_file_hashes(f->s, 1, hashes_cb, &g), 1);
	assert_int_equal(g.ino[0], 10);
}

static void test_queue_full_drops_are_recorded_as_gap(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts o = { .queue_max = 4 };
	struct hn_store_stats st;
	struct hn_query q = { 0 };
	struct got g = { .dup = true };
	int refused = 0;

	f->s = open_store(f, &o);
	/* No writer yet: the queue fills deterministically. */
	for (int i = 0; i < 10; i++) {
		struct hn_event *ev = mk(HN_EV_FILE_CREATE, ENT_A, 0, 100,
					 f->t0 + (uint64_t)i * SEC, "w");
		ev->path = hn_event_puts(ev, "/tmp/f");
		if (hn_store_submit(f->s, ev) == -ENOSPC)
			refused++;
	}
	assert_int_equal(refused, 6);
	/* hash updates share the bound and are counted apart */
	assert_int_equal(hn_store_submit_hash(f->s, 1, 2, 3, 4,
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
		-ENOSPC);
	assert_int_equal(hn_store_hash_dropped(f->s), 1);
	hn_store_stats(f->s, &st);
	assert_int_equal(st.queued, 4);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.backlog, 4);

	assert_int_equal(hn_store_start(f->s), 0);
	assert_int_equal(hn_store_flush(f->s), 0);
	hn_store_stats(f->s, &st);
	assert_int_equal(st.written, 5);
	assert_int_equal(st.backlog, 0);

	q.types[0] = HN_EV_GAP;
	q.ntypes = 1;
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.keep[0]->gap_queue, 6);
	assert_int_equal(g.keep[0]->gap_dropped, 0);
	/* dated at the first loss */
	assert_int_equal(g.keep[0]->time, f->t0 + 4 * SEC);
	got_release(&g);

	/* the next batch without losses adds no GAP */
	submit(f->s, mk(HN_EV_FILE_CREATE, ENT_A, 0, 100, f->t0 + 20 * SEC, "w"));
	assert_int_equal(hn_store_flush(f->s), 0);
	query(f->s, &q, &g);
	assert_int_equal(g.n, 1);
	got_release(&g);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 6);
}

static void test_close_writes_what_is_queued(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts o = { .batch_ms = 10000 };

	f->s = open_store(f, &o);
	assert_int_equal(hn_store_start(f->s), 0);
	for (int i = 0; i < 1000; i++)
		submit(f->s, mk(HN_EV_FILE_CREATE, ENT_A, 0, 100,
				f->t0 + (uint64_t)i, "w"));
	hn_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 1000);
}

/* Meta values queued for the writer go with its next batch (the same key
 * queued again: the last value), with the writer running or, without it,
 * at close; a few keys at most are queued. */
static void test_queued_meta_values(void **state)
{
	struct fixture *f = *state;
	char *v = NULL;

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_submit_meta(f->s, "k1", "a"), 0);
	assert_int_equal(hn_store_submit_meta(f->s, "k1", "b"), 0);
	assert_int_equal(hn_store_submit_meta(f->s, "k2", "c"), 0);
	assert_int_equal(hn_store_submit_meta(f->s, "k3", "d"), 0);
	assert_int_equal(hn_store_submit_meta(f->s, "k4", "e"), 0);
	assert_int_equal(hn_store_submit_meta(f->s, "k5", "f"), -ENOSPC);
	hn_store_close(f->s);
	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_meta_get(f->s, "k1", &v), 0);
	assert_string_equal(v, "b");
	free(v);
	v = NULL;
	assert_int_equal(hn_store_meta_get(f->s, "k5", &v), -ENOENT);
	/* running: written with the next batch */
	assert_int_equal(hn_store_start(f->s), 0);
	assert_int_equal(hn_store_submit_meta(f->s, "k2", "g"), 0);
	submit(f->s, mk(HN_EV_FILE_DELETE, ENT_A, 0, 100, f->t0, "w"));
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(hn_store_meta_get(f->s, "k2", &v), 0);
	assert_string_equal(v, "g");
	free(v);
}

/* Rows go in chunks of many rows per statement.  A row SQLite refuses on
 * its own (bigger than max_row_bytes) costs only itself: the rest of its
 * chunk is written, in order, a "written" close whose open was refused
 * becomes a row of its own, and the loss is counted and recorded as a GAP
 * row. */
static void test_refused_row_costs_only_itself(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts o = { .batch_ms = 10000, .max_row_bytes = 3000 };
	static char big1[2001], big2[2001];
	struct hn_store_stats st;
	struct hn_query q = { 0 };
	struct got *g = calloc(1, sizeof(*g));
	char path[64];
	int next = 0;

	assert_non_null(g);
	memset(big1, 'a', 2000);
	memset(big2, 'b', 2000);
	f->s = open_store(f, &o);
	assert_int_equal(hn_store_start(f->s), 0);
	for (int i = 0; i < 100; i++) {
		struct hn_event *ev = mk(HN_EV_FILE_CREATE, ENT_A, 0, 100,
					 f->t0 + (uint64_t)i, "w");
		snprintf(path, sizeof(path), "/tmp/f%d", i);
		/* each string binds, the row is too big */
		ev->path = hn_event_puts(ev, i == 40 || i == 50 || i == 70 ?
					 big1 : path);
		if (i == 40 || i == 50 || i == 70)
			ev->path2 = hn_event_puts(ev, big2);
		if (i == 50)
			ev->cookie = 0xc5;
		submit(f->s, ev);
		if (i == 50)
			submit(f->s, mk_open(HN_EV_FILE_OPEN_WRITE, ENT_A,
					     f->t0 + 50, 0xc5, NULL));
	}
	/* flush says that rows were lost */
	assert_int_equal(hn_store_flush(f->s), -EIO);
	hn_store_stats(f->s, &st);
	assert_int_equal(st.write_errors, 3);
	/* 101 ops, 3 refused */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE type != 50"), 98);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE type = 11 AND path IS NULL"
				 " AND flags & 32 AND cookie = 197"), 1);
	/* the loss becomes a GAP row with the next batch */
	submit(f->s, mk(HN_EV_FILE_DELETE, ENT_A, 0, 100, f->t0 + 200, "w"));
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT sum(gap_queue) FROM events"
				 " WHERE type = 50"), 3);

	/* the kept creates, in order */
	q.types[0] = HN_EV_FILE_CREATE;
	q.ntypes = 1;
	query(f->s, &q, g);
	assert_int_equal(g->n, 97);
	for (int i = 0; i < g->n; i++, next++) {
		if (next == 40 || next == 50 || next == 70)
			next++;
		assert_int_equal(g->time[i], f->t0 + (uint64_t)next);
		if (i)
			assert_true(g->id[i] > g->id[i - 1]);
	}
	free(g);
}

/* Run one statement on the store file with a connection of the test's
 * own (read-write). */
static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* `events` answers as a table would: for each constraint the virtual table
 * uses to pick blocks (keys, ids, times, types), the count equals the one
 * SQLite gets with the constraint hidden from it (`+column`: every block
 * read, every row checked); REAL values and NOCASE comparisons included. */
static void test_events_table_answers_like_a_table(void **state)
{
	struct fixture *f = *state;
	static const char sha[] =
		"abababababababababababababababababababababababababababababababab";
	struct hn_store_opts o = { .batch_ms = 10000 };
	char sql[2][512];
	int64_t id3;
	static const char *const where[] = {
		"entity = %lld", "entity = %lld.0", "entity IN (%lld, 1)",
		"path = '/tmp/f7'", "path = '/TMP/F7' COLLATE NOCASE",
		"path2 = '/tmp/g7'", "path = '/tmp/g7'",
		"dst_addr = '10.0.0.9'", "target_entity = %lld",
		"type = 13", "type = 13.0", "type IN (13, 10)", "type = 13.5",
		"id = 3", "id = 3.0", "id = 3.5", "id > 250 AND id <= 260",
		"id BETWEEN 255 AND 257", "time >= %lld", "time < %lld",
		"sha256 = '" "abababababababababababababababababababababababababababababababab" "'",
		"type = 1 AND sha256 IS NOT NULL",
	};

	f->s = open_store(f, &o);
	assert_int_equal(hn_store_start(f->s), 0);
	/* two starts of one file identity: one written before its hash is
	 * known, one after (the event itself without it) */
	for (int k = 0; k < 2; k++) {
		struct hn_event *ev = mk_exec(ENT_C + (uint64_t)k, ENT_A, 300 + (uint32_t)k,
					      f->t0 + (uint64_t)k * 5 * SEC, "/usr/bin/x",
					      "x", 2, 1);
		ev->dev = 9;
		ev->ino = 99;
		ev->size = 999;
		ev->mtime = 9999;
		submit(f->s, ev);
		assert_int_equal(hn_store_flush(f->s), 0);
		if (k == 0) {
			assert_int_equal(hn_store_submit_hash(f->s, 9, 99, 999, 9999, sha), 0);
			assert_int_equal(hn_store_flush(f->s), 0);
		}
	}
	/* 600 events over two blocks and more: deletes, renames, connects,
	 * a ptrace target */
	for (int i = 0; i < 600; i++) {
		struct hn_event *ev = mk(i % 3 == 0 ? HN_EV_FILE_DELETE :
					 i % 3 == 1 ? HN_EV_FILE_RENAME : HN_EV_NET_CONNECT,
					 i % 2 ? ENT_A : ENT_B, 0, 100,
					 f->t0 + 10 * SEC + (uint64_t)i * SEC / 10, "w");
		char p[32];
		snprintf(p, sizeof(p), "/tmp/f%d", i % 50);
		if (ev->type != HN_EV_NET_CONNECT)
			ev->path = hn_event_puts(ev, p);
		if (ev->type == HN_EV_FILE_RENAME) {
			snprintf(p, sizeof(p), "/tmp/g%d", i % 50);
			ev->path2 = hn_event_puts(ev, p);
		}
		if (ev->type == HN_EV_NET_CONNECT) {
			assert_int_equal(hn_addr_parse(i % 4 ? "10.0.0.9" : "::1", &ev->dst), 0);
			ev->dst.family = i % 4 ? 2 : 10;
			ev->dst.port = 443;
			ev->transport = 6;
		}
		if (i == 123)
			ev->target_entity = ENT_E;
		submit(f->s, ev);
	}
	assert_int_equal(hn_store_flush(f->s), 0);
	id3 = sql_int(f->path, "SELECT count(*) FROM events WHERE id = 3");
	assert_int_equal(id3, 1);
	/* the late hash stays with its start when the hasher's cache forgets */
	sql_exec(f->path, "DELETE FROM file_hashes");
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE"
				 " type = 1 AND sha256 IS NOT NULL"), 2);
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		char w[256], plus[300];
		long long v = strstr(where[i], "entity") ? (long long)(
			strstr(where[i], "target") ? ENT_E : ENT_A) :
			(long long)(f->t0 + 30 * SEC);
		int64_t a, b;
		snprintf(w, sizeof(w), where[i], v, v);
		/* the same with the column hidden from the virtual table */
		snprintf(plus, sizeof(plus), "+%s", w);
		snprintf(sql[0], sizeof(sql[0]), "SELECT count(*) FROM events WHERE %s", w);
		snprintf(sql[1], sizeof(sql[1]), "SELECT count(*) FROM events WHERE %s", plus);
		a = sql_int(f->path, sql[0]);
		b = sql_int(f->path, sql[1]);
		if (a != b)
			fail_msg("%s: %lld, scanning: %lld", w, (long long)a, (long long)b);
	}
	/* and a few known answers */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE"
				 " path = '/TMP/F7' COLLATE NOCASE"), 8);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE"
				 " sha256 = '" "abababababababababababababababababababababababababababababababab" "'"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE"
				 " type IN (13.0, 12)"), 400);
	/* ORDER BY id DESC over a key */
	assert_int_equal(sql_int(f->path, "SELECT id FROM events WHERE entity = "
				 "1152921504606849537 ORDER BY id DESC LIMIT 1"),
			 sql_int(f->path, "SELECT max(id) FROM events WHERE +entity ="
				 " 1152921504606849537"));
}

/* Time bounds are found through event_batches: the same answer as a scan
 * of every row, also for an event that arrives a batch late. */
static void test_time_bounds_across_batches(void **state)
{
	struct fixture *f = *state;
	static const uint64_t at[][4] = {
		{ 1, 2, 3, 10 },        /* batch 1 (seconds after t0) */
		{ 20, 21, 25, 30 },     /* batch 2 */
		{ 40, 5, 41, 42 },      /* batch 3: t0+5 arrives late */
	};
	static const uint64_t bounds[] = { 0, 4, 5, 6, 11, 20, 30, 41, 43 };
	struct got *g = calloc(1, sizeof(*g));
	char sql[160];

	assert_non_null(g);
	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	for (size_t b = 0; b < 3; b++) {
		for (size_t i = 0; i < 4; i++)
			submit(f->s, mk(HN_EV_FILE_DELETE, ENT_A, 0, 100,
					f->t0 + at[b][i] * SEC, "w"));
		assert_int_equal(hn_store_flush(f->s), 0);
	}
	/* one block a batch here (each under HN_BLOCK_MAX_EVENTS) */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM event_blocks"), 3);
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		uint64_t t = f->t0 + bounds[i] * SEC;
		struct hn_query q = { .since = t };

		query(f->s, &q, g);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events"
			 " WHERE time >= %llu", (unsigned long long)t);
		assert_int_equal(g->n, sql_int(f->path, sql));
		memset(g, 0, sizeof(*g));
		q.since = 0;
		q.until = t;
		query(f->s, &q, g);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events"
			 " WHERE time <= %llu", (unsigned long long)t);
		assert_int_equal(g->n, sql_int(f->path, sql));
		memset(g, 0, sizeof(*g));
	}
	free(g);
}

/* A store of schema version 2 (one wide row per event in a real table
 * `events`, ids with a hole): readers ask for an upgrade; the agent's open
 * moves every row into blocks with its id and fields (written flag and
 * hash included), and the store goes on from there. */
static void test_upgrades_wide_row_store(void **state)
{
	struct fixture *f = *state;
	struct hn_store *r = NULL;
	struct hn_store_opts ro = { .path = f->path, .readonly = true };
	struct hn_query q = { 0 };
	struct got *g = calloc(1, sizeof(*g));
	sqlite3 *db = NULL;
	char sql[1024];

	assert_non_null(g);
	g->dup = true;
	f->s = open_store(f, NULL);
	hn_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
		"DROP TABLE event_blocks; DROP TABLE event_keys;"
		"DROP TABLE written; DROP TABLE execs;"
		"CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL,"
		" type INTEGER NOT NULL, entity INTEGER NOT NULL, parent_entity INTEGER,"
		" pid INTEGER, tid INTEGER, ppid INTEGER, uid INTEGER, euid INTEGER,"
		" gid INTEGER, egid INTEGER, auid INTEGER, comm TEXT,"
		" flags INTEGER NOT NULL DEFAULT 0, result INTEGER, path TEXT, path2 TEXT,"
		" filename TEXT, args BLOB, argc INTEGER, cwd TEXT, tty TEXT, cgroup TEXT,"
		" cgroup_id INTEGER, container_id TEXT, sessionid INTEGER, sha256 TEXT,"
		" exit_code INTEGER, exit_signal INTEGER, dev INTEGER, ino INTEGER,"
		" size INTEGER, mtime INTEGER, mode INTEGER, oflags INTEGER,"
		" owner_uid INTEGER, owner_gid INTEGER, cookie INTEGER, target_pid INTEGER,"
		" target_entity INTEGER, request INTEGER, cred_arg0 INTEGER,"
		" cred_arg1 INTEGER, cred_arg2 INTEGER, transport INTEGER, family INTEGER,"
		" src_addr TEXT, src_port INTEGER, dst_addr TEXT, dst_port INTEGER,"
		" dns_name TEXT, dns_type INTEGER, name TEXT, gap_dropped INTEGER,"
		" gap_queue INTEGER);"
		"CREATE INDEX events_entity_time ON events(entity, time);"
		"CREATE TABLE event_batches (first_id INTEGER PRIMARY KEY, last_id"
		" INTEGER NOT NULL, min_time INTEGER NOT NULL, max_time INTEGER NOT NULL);"
		"UPDATE meta SET value = '2' WHERE key = 'schema_version';",
		NULL, NULL, NULL), SQLITE_OK);
	/* 600 file events with ids 1..300 and 1001..1300, an exec with a
	 * hash, a write-open flagged written */
	for (int i = 0; i < 600; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO events(id, time, type, entity,"
			 " pid, comm, flags, path, mode) VALUES (%d, %llu, 13, %llu, 100,"
			 " 'w', 0, '/tmp/f%d', 0)", i < 300 ? i + 1 : i + 701,
			 (unsigned long long)(f->t0 + (uint64_t)i * SEC),
			 (unsigned long long)ENT_A, i);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	snprintf(sql, sizeof(sql), "INSERT INTO events(id, time, type, entity, pid,"
		 " flags, path, sha256, dev, ino, size, mtime, args, argc) VALUES"
		 " (2000, %llu, 1, %llu, 200, 0, '/usr/bin/x', '%064d', 1, 2, 3, 4,"
		 " x'7800', 1);"
		 "INSERT INTO events(id, time, type, entity, pid, flags, path, cookie,"
		 " mode) VALUES (2001, %llu, 10, %llu, 200, 48, '/tmp/w', 99, 420);",
		 (unsigned long long)(f->t0 + 700 * SEC), (unsigned long long)ENT_B, 7,
		 (unsigned long long)(f->t0 + 701 * SEC), (unsigned long long)ENT_B);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(hn_store_open(&ro, &r), -EPROTONOSUPPORT);
	assert_non_null(strstr(hn_store_open_errmsg(), "older"));

	f->s = open_store(f, NULL);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema"
				 " WHERE name IN ('events_v2', 'events', 'event_batches')"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 602);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE id"
				 " BETWEEN 301 AND 1000"), 0);
	assert_int_equal(sql_int(f->path, "SELECT max(last_id) - min(first_id)"
				 " < 256 FROM event_blocks GROUP BY first_id"
				 " ORDER BY 1 LIMIT 1"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"
				 " WHERE path = '/tmp/f450' AND id = 1151"), 1);
	assert_int_equal(sql_int(f->path, "SELECT flags FROM events WHERE id = 2001"), 48);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events WHERE"
				 " sha256 = printf('%064d', 7)"),
			 1);
	/* new events follow the old ids */
	assert_int_equal(hn_store_start(f->s), 0);
	submit(f->s, mk(HN_EV_FILE_DELETE, ENT_A, 0, 100, f->t0 + 800 * SEC, "w"));
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT max(id) FROM events"), 2002);
	q.since = f->t0 + 590 * SEC;
	query(f->s, &q, g);
	assert_int_equal(g->n, 10 + 2 + 1);
	/* the file event of B after its exec shows B's image */
	assert_string_equal(g->exe[g->n - 2], "/usr/bin/x");
	got_release(g);
	free(g);
}

static void test_retention_by_age(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts o = { .max_age_ns = 3600 * SEC };
	struct hn_store_stats st;
	uint64_t now = now_ns();
	struct hn_process *p = NULL;

	f->s = open_store(f, &o);
	/* an old process that exited two hours ago, with 100 events */
	submit(f->s, mk_exec(ENT_B, 0, 200, now - 7300 * SEC, "/bin/old", "old", 4, 1));
	for (int i = 0; i < 98; i++)
		submit(f->s, mk(HN_EV_FILE_CREATE, ENT_B, 0, 200,
				now - 7200 * SEC + (uint64_t)i, "old"));
	submit(f->s, mk(HN_EV_PROCESS_EXIT, ENT_B, 0, 200, now - 7100 * SEC, "old"));
	/* a recent one, 50 events */
	for (int i = 0; i < 50; i++)
		submit(f->s, mk(HN_EV_FILE_CREATE, ENT_A, 0, 100,
				now - 60 * SEC + (uint64_t)i, "new"));
	assert_int_equal(hn_store_flush(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 150);

	assert_int_equal(hn_store_retain(f->s), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 50);
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE entity = %lld",
		 (long long)ENT_B);
	assert_int_equal(sql_int(f->path, sql), 0);
	/* the exited process with nothing left is gone too; A stays */
	assert_int_equal(hn_store_process(f->s, ENT_B, &p), -ENOENT);
	assert_int_equal(hn_store_process(f->s, ENT_A, &p), 0);
	hn_process_free(p);
	hn_store_stats(f->s, &st);
	assert_int_equal(st.retention_deleted, 101);
}

static void test_retention_by_size(void **state)
{
	struct fixture *f = *state;
	const uint64_t max = 1 << 20;
	struct hn_store_opts o = { .max_bytes = max, .batch_max = 1000 };
	struct hn_store_stats st;
	char path[300];
	struct stat sb;
	int64_t n, minid, before;

	f->s = open_store(f, &o);
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	for (int i = 0; i < 12000; i++) {
		struct hn_event *ev = mk(HN_EV_FILE_OPEN_WRITE, ENT_A, 0, 100,
					 f->t0 + (uint64_t)i * 1000, "big");
		snprintf(path + 200, 20, "%d", i);
		ev->path = hn_event_puts(ev, path);
		submit(f->s, ev);
		if (i % 1000 == 999)
			assert_int_equal(hn_store_flush(f->s), 0);
	}
	assert_int_equal(hn_store_flush(f->s), 0);
	before = sql_int(f->path, "SELECT (page_count - freelist_count) * page_size"
			 " FROM pragma_page_count, pragma_freelist_count, pragma_page_size");
	assert_true(before > (int64_t)max * 3);

	assert_int_equal(hn_store_retain(f->s), 0);
	n = sql_int(f->path, "SELECT count(*) FROM events");
	minid = sql_int(f->path, "SELECT min(id) FROM events");
	assert_true(n > 100);
	assert_true(n < 12000 / 3);
	/* the oldest went: what is left is the newest run */
	assert_int_equal(sql_int(f->path, "SELECT max(id) FROM events"), 12000);
	assert_int_equal(minid, 12000 - n + 1);
	hn_store_stats(f->s, &st);
	assert_int_equal(st.retention_deleted, (uint64_t)(12000 - n));
	/* the deleted blocks' postings went with them */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM event_keys WHERE"
				 " first_id < (SELECT min(first_id) FROM event_blocks)"), 0);
	assert_true(sql_int(f->path, "SELECT count(*) FROM event_keys") > 0);
	assert_true(sql_int(f->path, "SELECT (page_count - freelist_count) * page_size"
			    " FROM pragma_page_count, pragma_freelist_count,"
			    " pragma_page_size") <= (int64_t)max);

	/* Closed, the file itself is within the bound (the WAL is merged). */
	hn_store_close(f->s);
	f->s = NULL;
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true((uint64_t)sb.st_size <= max);
}

static int rows_cb(int ncol, const char *const *names,
		   const char *const *values, void *arg)
{
	char *out = arg;
	size_t len = strlen(out);
	for (int i = 0; i < ncol; i++)
		snprintf(out + len, 256 - len, "%s=%s;", names[i],
			 values[i] ? values[i] : "NULL"), len = strlen(out);
	return 0;
}

static void test_sql_is_read_only(void **state)
{
	struct fixture *f = *state;
	struct hn_store_opts ro = { .readonly = true };
	struct hn_store *r = NULL;
	char out[256] = "";

	f->s = open_store(f, NULL);
	assert_int_equal(hn_store_start(f->s), 0);
	scenario(f, f->s);
	assert_int_equal(hn_store_flush(f->s), 0);

	/* a read-only handle while the writer runs */
	ro.path = f->path;
	assert_int_equal(hn_store_open(&ro, &r), 0);
	assert_int_equal(hn_store_sql(r, "SELECT count(*) AS n FROM events",
				      rows_cb, out), 0);
	assert_string_equal(out, "n=15;");
	out[0] = '\0';
	/* args blob shown with spaces */
	assert_int_equal(hn_store_sql(r, "SELECT args FROM events WHERE pid = 300"
				      " AND type = 1", rows_cb, out), 0);
	assert_string_equal(out, "args=curl http://x;");
	out[0] = '\0';

	assert_int_equal(hn_store_sql(r, "INSERT INTO meta VALUES ('x', 'y')",
				      rows_cb, out), -EPERM);
	assert_non_null(strstr(hn_store_errmsg(r), "refused"));
	/* events is a virtual table without writes: refused at prepare */
	assert_true(hn_store_sql(r, "DELETE FROM events", rows_cb, out) < 0);
	assert_int_equal(hn_store_sql(r, "PRAGMA user_version = 5", rows_cb, out),
			 -EPERM);
	assert_true(hn_store_sql(r, "ATTACH '/tmp/x.db' AS x", rows_cb, out) < 0);
	assert_true(hn_store_sql(r, "BEGIN", rows_cb, out) < 0);
	assert_true(hn_store_sql(r, "SELECT 1; DELETE FROM events", rows_cb, out) < 0);
	assert_non_null(strstr(hn_store_errmsg(r), "one SQL statement"));
	assert_true(hn_store_sql(r, "SELEKT 1", rows_cb, out) < 0);
	assert_non_null(strstr(hn_store_errmsg(r), "syntax error"));
	/* a trailing ';' and comment are one statement */
	assert_int_equal(hn_store_sql(r, "SELECT 2 AS two; -- done", rows_cb, out), 0);
	assert_string_equal(out, "two=2;");
	out[0] = '\0';
	assert_int_equal(hn_store_sql(r, "PRAGMA table_info(meta)", rows_cb, out), 0);
	assert_non_null(strstr(out, "name=key;"));

	/* the writable handle's SQL is read-only too */
	assert_true(hn_store_sql(f->s, "UPDATE events SET pid = 1",
				 rows_cb, out) < 0);
	assert_int_equal(hn_store_sql(f->s, "UPDATE meta SET value = 1",
				      rows_cb, out), -EPERM);
	/* the read-only handle refuses writing APIs */
	assert_int_equal(hn_store_meta_set(r, "k", "v"), -EROFS);
	assert_int_equal(hn_store_submit(r, mk(HN_EV_GAP, 0, 0, 0, 1, NULL)), -EROFS);
	hn_store_close(r);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM events"), 15);
}

/* The child writes committed counts to a pipe; the parent kills it with
 * SIGKILL mid-stream and checks the store. */
static void crash_child(const char *path, int wfd)
{
	struct hn_store_opts o = { .path = path, .batch_max = 50, .batch_ms = 1 };
	struct hn_store *s = NULL;
	uint64_t t0 = now_ns() - 60 * SEC;

	if (hn_store_open(&o, &s) < 0 || hn_store_start(s) < 0)
		_exit(3);
	for (uint32_t i = 1;; i++) {
		struct hn_event *ev = hn_event_new(64);
		if (!ev)
			_exit(4);
		ev->type = HN_EV_FILE_CREATE;
		ev->time = t0 + i;
		ev->proc.entity = ENT_A;
		ev->proc.pid = 100;
		ev->target_pid = i;     /* the sequence number */
		ev->path = hn_event_puts(ev, "/tmp/crash");
		while (hn_store_submit(s, ev) == -ENOSPC) {
			/* cannot happen with the default bound; keep order */
			_exit(5);
		}
		if (i % 100 == 0) {
			if (hn_store_flush(s) < 0)
				_exit(6);
			if (write(wfd, &i, sizeof(i)) != sizeof(i))
				_exit(7);
		}
	}
}

static void test_crash_keeps_committed_prefix(void **state)
{
	struct fixture *f = *state;
	int fds[2];
	uint32_t committed = 0, v;
	pid_t pid;
	int status;
	char text[64];
	struct hn_store *s = NULL;
	struct hn_store_opts o = { 0 };

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		crash_child(f->path, fds[1]);
		_exit(0);
	}
	close(fds[1]);
	/* Let it commit a good number of batches, then kill it while it is
	 * still writing. */
	while (committed < 3000 && read(fds[0], &v, sizeof(v)) == sizeof(v))
		committed = v;
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	/* drain what it reported before dying */
	while (read(fds[0], &v, sizeof(v)) == sizeof(v))
		committed = v;
	close(fds[0]);
	assert_true(committed >= 3000);

	sql_text(f->path, "PRAGMA integrity_check", text, sizeof(text));
	assert_string_equal(text, "ok");
	/* Reopen through the store (recovers the WAL) and check again. */
	o.path = f->path;
	assert_int_equal(hn_store_open(&o, &s), 0);
	hn_store_close(s);
	sql_text(f->path, "PRAGMA integrity_check", text, sizeof(text));
	assert_string_equal(text, "ok");
	/* Everything reported committed is there, as one gapless prefix. */
	int64_t n = sql_int(f->path, "SELECT count(*) FROM events");
	assert_true(n >= committed);
	assert_int_equal(sql_int(f->path, "SELECT min(target_pid) FROM events"), 1);
	assert_int_equal(sql_int(f->path, "SELECT max(target_pid) FROM events"), n);
	assert_int_equal(sql_int(f->path, "SELECT count(DISTINCT target_pid) FROM events"), n);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM processes"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_schema_wal_incremental, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_open_missing_store_fails_clearly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_callback_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_fields_and_enrichment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_children_and_roots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes_older_entity_finds_its_row, setup, teardown),
		cmocka_unit_test_setup_teardown(test_processes_same_in_one_batch_or_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_written_close_flags_its_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_args_bytes_survive_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_update_fills_process_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_hashes_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_drops_are_recorded_as_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_writes_what_is_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queued_meta_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_row_costs_only_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_table_answers_like_a_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_bounds_across_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_wide_row_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retention_by_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sql_is_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_committed_prefix, setup, teardown),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
