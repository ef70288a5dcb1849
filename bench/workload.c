/*
 * workload.c - the workloads of `make bench`, and the helpers that time and
 * count them.  One program, one subcommand per job (see usage()).
 *
 *   exec N             fork + execve("/bin/true") N times, one after another
 *   files DIR N        in DIR: create + write 4 KiB + close, rename, unlink;
 *                      N times
 *   tcp N              a listener on 127.0.0.1 (ephemeral port), then N times:
 *                      connect, accept, close both; one thread
 *   gen DIR NFILES     write NFILES small C files and a Makefile into DIR
 *   run DIR CMD ARG..  run CMD in DIR and time it
 *   count DB TIMEOUT_MS SINCE_MONO SQL EXPECT...
 *   sql DB SQL          the first row's values (the sqlite3 shell cannot
 *                       read `events`, a virtual table of hinomi's)
 *                      poll the store read-only until every column of SQL's
 *                      one row reaches its EXPECT, or TIMEOUT_MS pass
 *
 * Every workload prints one line on stdout:
 *   WL ns=ELAPSED pid=PID t0=REALTIME_NS t1=REALTIME_NS end_mono=MONO_NS [port=P]
 * ELAPSED is the workload alone (CLOCK_MONOTONIC around its loop: no start-up,
 * no set-up, no clean-up); t0/t1 bracket it on the realtime clock so the
 * store's rows can be matched to it; end_mono is when it ended, for `count`.
 *
 * Bounds: every loop is bounded in count, and every workload gives up
 * (exit 1) once it has run longer than LIMIT_S seconds.  Nothing here
 * touches anything but DIR, 127.0.0.1 and its own children.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"  /* the events table over the store's blocks */

#define LIMIT_S 120        /* any single workload run */
#define MAX_N 10000000L    /* any count */
#define MAX_COLS 8
#define GROUPS 4          /* functions per generated C file */

extern char **environ;

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static long parse_n(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);
	if (*s == '\0' || *end || n <= 0 || n > MAX_N) {
		fprintf(stderr, "workload: bad count '%s' (1..%ld)\n", s, MAX_N);
		exit(2);
	}
	return n;
}

/* Bracket of one timed run. */
struct span {
	uint64_t m0, m1, r0, r1;
};

static void span_begin(struct span *s)
{
	s->r0 = now_ns(CLOCK_REALTIME);
	s->m0 = now_ns(CLOCK_MONOTONIC);
}

static void span_end(struct span *s)
{
	s->m1 = now_ns(CLOCK_MONOTONIC);
	s->r1 = now_ns(CLOCK_REALTIME);
}

static void over_limit(const struct span *s)
{
	if (now_ns(CLOCK_MONOTONIC) - s->m0 > (uint64_t)LIMIT_S * 1000000000ULL) {
		fprintf(stderr, "workload: gave up after %d s\n", LIMIT_S);
		exit(1);
	}
}

static void report(const struct span *s, int port)
{
	printf("WL ns=%llu pid=%d t0=%llu t1=%llu end_mono=%llu",
	       (unsigned long long)(s->m1 - s->m0), (int)getpid(),
	       (unsigned long long)s->r0, (unsigned long long)s->r1,
	       (unsigned long long)s->m1);
	if (port > 0)
		printf(" port=%d", port);
	printf("\n");
	fflush(stdout);
}

/* ---- exec storm ---- */

static int cmd_exec(int argc, char **argv)
{
	char *const targv[] = { "true", NULL };
	struct span s;
	long n;

	if (argc != 1)
		return 2;
	n = parse_n(argv[0]);
	span_begin(&s);
	for (long i = 0; i < n; i++) {
		int st;
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			execve("/bin/true", targv, environ);
			_exit(127);
		}
		if (waitpid(p, &st, 0) < 0)
			die("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "workload: /bin/true failed (status %d)\n", st);
			return 1;
		}
		if ((i & 63) == 0)
			over_limit(&s);
	}
	span_end(&s);
	report(&s, 0);
	return 0;
}

/* ---- file churn ---- */

static int cmd_files(int argc, char **argv)
{
	static char block[4096];
	char a[64], b[64];
	struct span s;
	long n;

	if (argc != 2)
		return 2;
	n = parse_n(argv[1]);
	if (chdir(argv[0]) < 0)
		die(argv[0]);
	memset(block, 'x', sizeof(block));
	span_begin(&s);
	for (long i = 0; i < n; i++) {
		int fd;

		snprintf(a, sizeof(a), "f%07ld.tmp", i);
		snprintf(b, sizeof(b), "f%07ld.dat", i);
		fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			die("open");
		if (write(fd, block, sizeof(block)) != (ssize_t)sizeof(block))
			die("write");
		if (close(fd) < 0)
			die("close");
		if (rename(a, b) < 0)
			die("rename");
		if (unlink(b) < 0)
			die("unlink");
		if ((i & 255) == 0)
			over_limit(&s);
	}
	span_end(&s);
	report(&s, 0);
	return 0;
}

/* ---- loopback TCP ---- */

static int cmd_tcp(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct span s;
	int l;
	long n;

	if (argc != 1)
		return 2;
	n = parse_n(argv[0]);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		die("socket");
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 128) < 0)
		die("bind/listen");
	if (getsockname(l, (struct sockaddr *)&sa, &len) < 0)
		die("getsockname");
	span_begin(&s);
	for (long i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

		if (c < 0)
			die("socket");
		/* the kernel completes the handshake against the backlog, so
		 * one thread can connect and then accept */
		if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("connect");
		a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0)
			die("accept");
		/* the accepted end closes first: TIME_WAIT lands on the
		 * listener's side, not on an ephemeral port */
		close(a);
		close(c);
		if ((i & 255) == 0)
			over_limit(&s);
	}
	span_end(&s);
	close(l);
	report(&s, ntohs(sa.sin_port));
	return 0;
}

/* ---- small C project ---- */

static FILE *create(const char *dir, const char *name)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		die(p);
	return f;
}

static void done(FILE *f)
{
	if (ferror(f) || fclose(f) != 0)
		die("write");
}

static int cmd_gen(int argc, char **argv)
{
	char name[64];
	FILE *f;
	long n;

	if (argc != 2)
		return 2;
	n = parse_n(argv[1]);
	if (n < 2 || n > 1000) {
		fprintf(stderr, "workload: gen wants 2..1000 files\n");
		return 2;
	}
	/* n - 1 modules and main.c */
	for (long i = 0; i < n - 1; i++) {
		snprintf(name, sizeof(name), "m%03ld.c", i);
		f = create(argv[0], name);
		fprintf(f, "#include <stdio.h>\n#include <string.h>\n");
		/* GROUPS copies of a little sort-and-sum, so that each file
		 * gives gcc -O1 a few tens of milliseconds of work */
		for (int g = 0; g < GROUPS; g++) {
			char id[32];

			snprintf(id, sizeof(id), "%ld_%d", i, g);
			fprintf(f, "\nstruct item%s { int key; double w; char tag[16]; };\n\n", id);
			fprintf(f, "static int cmp%s(const struct item%s *a, const struct item%s *b)\n"
				   "{\n\treturn a->key - b->key;\n}\n\n", id, id, id);
			fprintf(f, "static void sort%s(struct item%s *v, int n)\n{\n"
				   "\tfor (int i = 1; i < n; i++) {\n"
				   "\t\tstruct item%s x = v[i];\n\t\tint j = i - 1;\n"
				   "\t\twhile (j >= 0 && cmp%s(&v[j], &x) > 0) {\n"
				   "\t\t\tv[j + 1] = v[j];\n\t\t\tj--;\n\t\t}\n"
				   "\t\tv[j + 1] = x;\n\t}\n}\n\n", id, id, id, id);
			fprintf(f, "static double part%s(int seed)\n{\n"
				   "\tstruct item%s v[64];\n\tdouble s = 0;\n"
				   "\tfor (int i = 0; i < 64; i++) {\n"
				   "\t\tv[i].key = (seed * 1103515245 + i * %ld) %% 1000;\n"
				   "\t\tv[i].w = v[i].key / 7.0;\n"
				   "\t\tsnprintf(v[i].tag, sizeof(v[i].tag), \"t%%d\", v[i].key);\n\t}\n"
				   "\tsort%s(v, 64);\n"
				   "\tfor (int i = 0; i < 64; i++)\n"
				   "\t\ts += v[i].w * (double)strlen(v[i].tag);\n"
				   "\tswitch (seed %% 4) {\n"
				   "\tcase 0: return s;\n\tcase 1: return s / 2;\n"
				   "\tcase 2: return s * 3;\n\tdefault: return -s;\n\t}\n}\n",
				id, id, i * GROUPS + g + 12345, id);
		}
		fprintf(f, "\ndouble mod%ld(int seed)\n{\n\treturn 0", i);
		for (int g = 0; g < GROUPS; g++)
			fprintf(f, " + part%ld_%d(seed + %d)", i, g, g);
		fprintf(f, ";\n}\n");
		done(f);
	}
	f = create(argv[0], "main.c");
	fprintf(f, "#include <stdio.h>\n\n");
	for (long i = 0; i < n - 1; i++)
		fprintf(f, "double mod%ld(int seed);\n", i);
	fprintf(f, "\nint main(void)\n{\n\tdouble s = 0;\n");
	for (long i = 0; i < n - 1; i++)
		fprintf(f, "\ts += mod%ld(%ld);\n", i, i);
	fprintf(f, "\tprintf(\"%%f\\n\", s);\n\treturn 0;\n}\n");
	done(f);

	f = create(argv[0], "Makefile");
	fprintf(f, "# generated by bench/workload gen\nCC = gcc\nCFLAGS = -O1\nOBJS =");
	for (long i = 0; i < n - 1; i++)
		fprintf(f, " m%03ld.o", i);
	fprintf(f, " main.o\n\nprog: $(OBJS)\n\t$(CC) -o prog $(OBJS)\n\n"
		   "%%.o: %%.c\n\t$(CC) $(CFLAGS) -c $< -o $@\n\n"
		   "clean:\n\trm -f prog $(OBJS)\n");
	done(f);
	return 0;
}

/* ---- run a command, timed ---- */

static int cmd_run(int argc, char **argv)
{
	struct span s;
	int st;
	pid_t p;

	if (argc < 2)
		return 2;
	if (chdir(argv[0]) < 0)
		die(argv[0]);
	span_begin(&s);
	p = fork();
	if (p < 0)
		die("fork");
	if (p == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			close(null);
		}
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (waitpid(p, &st, 0) < 0)
		die("waitpid");
	span_end(&s);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "workload: %s failed (status %d)\n", argv[1], st);
		return 1;
	}
	report(&s, 0);
	return 0;
}

/* ---- poll the store ---- */

static int cmd_count(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long want[MAX_COLS], got[MAX_COLS] = { 0 };
	uint64_t since, t0, deadline, now;
	long timeout_ms;
	int ncols, r = 1;
	int reached = 0;

	if (argc < 5 || argc - 4 > MAX_COLS)
		return 2;
	timeout_ms = parse_n(argv[1]);
	since = strtoull(argv[2], NULL, 10);
	ncols = argc - 4;
	for (int i = 0; i < ncols; i++)
		want[i] = strtoll(argv[4 + i], NULL, 10);
	t0 = now_ns(CLOCK_MONOTONIC);
	if (!since || since > t0)
		since = t0;
	deadline = since + (uint64_t)timeout_ms * 1000000ULL;

	if (sqlite3_open_v2(argv[0], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    hn_store_sql_register(db) != SQLITE_OK) {
		fprintf(stderr, "workload: open %s: %s\n", argv[0], db ? sqlite3_errmsg(db) : "?");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, argv[3], -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "workload: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_column_count(st) != ncols) {
		fprintf(stderr, "workload: the query has %d columns, %d expectations\n",
			sqlite3_column_count(st), ncols);
		goto out;
	}
	for (int polls = 0; polls < 100000; polls++) {
		int rc = sqlite3_step(st);

		if (rc == SQLITE_ROW) {
			reached = 1;
			for (int i = 0; i < ncols; i++) {
				got[i] = sqlite3_column_int64(st, i);
				if (got[i] < want[i])
					reached = 0;
			}
		} else if (rc != SQLITE_DONE && rc != SQLITE_BUSY) {
			fprintf(stderr, "workload: %s\n", sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(st);
		now = now_ns(CLOCK_MONOTONIC);
		if (reached || now >= deadline)
			break;
		usleep(20000);
	}
	now = now_ns(CLOCK_MONOTONIC);
	printf("COUNT reached=%d ms=%.1f", reached, (double)(now - since) / 1e6);
	for (int i = 0; i < ncols; i++)
		printf(" c%d=%lld", i, got[i]);
	printf("\n");
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

/* sql DB SQL: the first row's values, space-separated (NULL as 0), with
 * the store's `events` table known.  What the sqlite3 shell would print,
 * but for the virtual table. */
static int cmd_sql(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int r = 1, rc;

	if (argc != 2)
		return 2;
	if (sqlite3_open_v2(argv[0], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    hn_store_sql_register(db) != SQLITE_OK) {
		fprintf(stderr, "workload: open %s: %s\n", argv[0], db ? sqlite3_errmsg(db) : "?");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db, argv[1], -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "workload: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++)
			printf("%s%lld", i ? " " : "", (long long)sqlite3_column_int64(st, i));
		printf("\n");
	} else if (rc != SQLITE_DONE) {
		fprintf(stderr, "workload: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: workload exec N\n"
		"       workload files DIR N\n"
		"       workload tcp N\n"
		"       workload gen DIR NFILES\n"
		"       workload run DIR CMD [ARG...]\n"
		"       workload count DB TIMEOUT_MS SINCE_MONO_NS SQL EXPECT...\n"
		"       workload sql DB SQL\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "exec", cmd_exec }, { "files", cmd_files }, { "tcp", cmd_tcp },
		{ "gen", cmd_gen },   { "run", cmd_run },     { "count", cmd_count },
		{ "sql", cmd_sql },
	};
	int r;

	if (argc < 2) {
		usage();
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			r = cmds[i].fn(argc - 2, argv + 2);
			if (r == 2)
				usage();
			return r;
		}
	usage();
	return 2;
}
