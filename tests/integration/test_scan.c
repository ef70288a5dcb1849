/*
 * test_scan.c - `hinomi scan` as a user runs it (the binary named by
 * $HINOMI_BIN, on a store of the test's own): --processes finds the one
 * process that holds a marker in its memory (a child of this test that
 * builds the marker at run time: neither this program's bytes nor its
 * memory ever hold it whole) and no other; each hit is an alert in the
 * store and the scan an action (`hinomi actions --json`); a file scan
 * exits 3 on a hit, names a path that does not exist while it scans the
 * others, and its rescan skips the clean files and counts the hit again
 * on the same alert.  Needs root (another process's memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/harness.h"
#include "store/store.h"

#define MARK_LEN 32
#define XOR_KEY  0x5a

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return th_scratch(dir, sizeof(dir), "scanit");
}

static int teardown(void **state)
{
	(void)state;
	th_scratch_remove(dir);
	return 0;
}

/* Run argv with stdout into out and stderr into err (bounded); the exit
 * status, or -1. */
static int run_capture(const char *const *argv, const char *out, const char *err,
		       int timeout_s)
{
	int st;
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < timeout_s * 100; i++) {
		if (waitpid(p, &st, WNOHANG) == p)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		th_sleep_ms(10);
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}

/* The whole of a small file, NUL-terminated (static; "" on error). */
static const char *slurp(const char *path)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
	return buf;
}

static unsigned count_of(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

struct alerts {
	unsigned n;
	char id[8][160];
	uint32_t pid[8];
	uint64_t count[8];
	char exe[8][256];
};

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct alerts *v = arg;

	if (v->n < 8) {
		snprintf(v->id[v->n], sizeof(v->id[0]), "%s", a->rule_id ? a->rule_id : "");
		v->pid[v->n] = a->pid;
		v->count[v->n] = a->count;
		snprintf(v->exe[v->n], sizeof(v->exe[0]), "%s", a->executable ? a->executable : "");
	}
	v->n++;
	return 0;
}

static void read_alerts(const char *db, struct alerts *v)
{
	struct hn_store_opts o = { .path = db, .readonly = true };
	struct hn_store *s = NULL;

	memset(v, 0, sizeof(*v));
	assert_int_equal(hn_store_open(&o, &s), 0);
	assert_int_equal(hn_store_alerts(s, 0, on_alert, v), 0);
	hn_store_close(s);
}

/* ---- processes ---- */

static void the_process_holding_the_marker_is_found_and_no_other(void **state)
{
	unsigned char key[MARK_LEN];
	char rules[128], rule[1024], db[128], out[128], err[128], pidstr[64];
	const char *text;
	int ready[2];
	pid_t child;
	size_t k;
	struct alerts al;
	FILE *r;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "needs root (another process's memory)\n");
		skip();
	}
	/* the marker, only ever held XOR-ed here: "HNMARK" + 26 random letters */
	r = fopen("/dev/urandom", "re");
	assert_non_null(r);
	assert_int_equal(fread(key, 1, sizeof(key), r), sizeof(key));
	fclose(r);
	for (int i = 0; i < MARK_LEN; i++)
		key[i] = (unsigned char)(('a' + key[i] % 26) ^ XOR_KEY);
	memcpy(key, (const unsigned char[]){ 'H' ^ XOR_KEY, 'N' ^ XOR_KEY, 'M' ^ XOR_KEY,
					    'A' ^ XOR_KEY, 'R' ^ XOR_KEY, 'K' ^ XOR_KEY }, 6);
	/* the rule names it in hex, built from the XOR-ed bytes */
	snprintf(rules, sizeof(rules), "%s/rules", dir);
	assert_int_equal(mkdir(rules, 0755), 0);
	k = (size_t)snprintf(rule, sizeof(rule),
			     "rule hinomi_test_marker {\n  meta:\n    severity = \"low\"\n"
			     "  strings:\n    $m = { ");
	for (int i = 0; i < MARK_LEN; i++)
		k += (size_t)snprintf(rule + k, sizeof(rule) - k, "%02x ", key[i] ^ XOR_KEY);
	snprintf(rule + k, sizeof(rule) - k, "}\n  condition:\n    $m\n}\n");
	assert_non_null(th_write_file(rules, "marker.yar", rule));

	assert_int_equal(pipe(ready), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* the marker, whole, only here: on the heap, touched now and
		 * then; exits after 60 s whatever happens */
		volatile char *m = malloc(MARK_LEN + 1);
		if (!m)
			_exit(1);
		for (int i = 0; i < MARK_LEN; i++)
			m[i] = (char)(key[i] ^ XOR_KEY);
		m[MARK_LEN] = '\0';
		close(ready[0]);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (int i = 0; i < 600; i++) {
			m[0] = m[0];
			th_sleep_ms(100);
		}
		_exit(0);
	}
	close(ready[1]);
	{
		struct pollfd p = { .fd = ready[0], .events = POLLIN };
		char c;
		assert_int_equal(poll(&p, 1, 10000), 1);
		assert_int_equal(read(ready[0], &c, 1), 1);
		close(ready[0]);
	}

	snprintf(db, sizeof(db), "%s/procs.db", dir);
	snprintf(out, sizeof(out), "%s/procs.out", dir);
	snprintf(err, sizeof(err), "%s/procs.err", dir);
	{
		const char *argv[] = { th_bin(), "scan", "--processes", "--rules", rules, "--db", db,
				       "--json", NULL };
		int rc = run_capture(argv, out, err, 300);
		kill(child, SIGKILL);
		th_reap(child);
		fprintf(stderr, "%s", slurp(err));
		assert_int_equal(rc, 3);
	}
	text = slurp(out);
	fprintf(stderr, "child %d; hinomi scan said:\n%s", (int)child, text);
	snprintf(pidstr, sizeof(pidstr), "\"type\":\"hit\",\"kind\":\"yara\",\"pid\":%d,",
		 (int)child);
	assert_int_equal(count_of(text, "\"type\":\"hit\""), 1);
	assert_int_equal(count_of(text, pidstr), 1);
	assert_non_null(strstr(text, "\"id\":\"yara:marker:hinomi_test_marker\""));
	assert_non_null(strstr(text, "\"type\":\"summary\""));
	assert_non_null(strstr(text, "\"hits\":1,"));

	/* the alert, in the store */
	read_alerts(db, &al);
	assert_int_equal(al.n, 1);
	assert_string_equal(al.id[0], "yara:marker:hinomi_test_marker");
	assert_int_equal(al.pid[0], (uint32_t)child);
	assert_int_equal(al.count[0], 1);

	/* the action, as `hinomi actions --json` lists it */
	{
		const char *argv[] = { th_bin(), "actions", "--json", "--db", db, NULL };
		assert_int_equal(run_capture(argv, out, err, 30), 0);
		text = slurp(out);
		assert_int_equal(count_of(text, "\"kind\":\"scan\""), 1);
		assert_non_null(strstr(text, "\"target\":\"--processes\""));
		assert_non_null(strstr(text, "\"status\":\"done\""));
		assert_non_null(strstr(text, "\"hits\":1,"));
	}
}

/* ---- files ---- */

static void a_file_scan_records_its_hits_and_a_rescan_counts_them_again(void **state)
{
	char tree[128], db[128], out[128], err[128], missing[160], sub[160];
	const char *text;
	struct alerts al;

	(void)state;
	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(sub, sizeof(sub), "%s/www", tree);
	assert_int_equal(mkdir(tree, 0755), 0);
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_non_null(th_write_file(sub, "up.php", "<?php\nsystem($_GET['c']);\n"));
	assert_non_null(th_write_file(tree, "notes.txt", "meeting at noon\n"));
	assert_non_null(th_write_file(tree, "run.sh", "#!/bin/sh\necho hello\n"));
	th_sleep_ms(60);   /* past the clock tick: the clean files can be cached */
	snprintf(missing, sizeof(missing), "%s/not-there", dir);
	snprintf(db, sizeof(db), "%s/files.db", dir);
	snprintf(out, sizeof(out), "%s/files.out", dir);
	snprintf(err, sizeof(err), "%s/files.err", dir);
	{
		const char *argv[] = { th_bin(), "scan", "--rules", "rules/yara", "--no-ioc", "--db",
				       db, missing, tree, NULL };
		assert_int_equal(run_capture(argv, out, err, 120), 3);
	}
	text = slurp(err);
	assert_non_null(strstr(text, missing));
	text = slurp(out);
	assert_non_null(strstr(text, "/www/up.php  yara:webshells:php_eval_request_input  critical"));
	assert_non_null(strstr(text, "scanned 3 files"));
	read_alerts(db, &al);
	assert_int_equal(al.n, 1);
	assert_string_equal(al.id[0], "yara:webshells:php_eval_request_input");
	assert_non_null(strstr(al.exe[0], "/www/up.php"));

	/* again: the two clean files skipped, the hit found again: count 2 */
	{
		const char *argv[] = { th_bin(), "scan", "--rules", "rules/yara", "--no-ioc", "--db",
				       db, "--json", tree, NULL };
		assert_int_equal(run_capture(argv, out, err, 120), 3);
	}
	text = slurp(out);
	assert_non_null(strstr(text, "\"type\":\"summary\",\"files\":1,"));
	assert_non_null(strstr(text, "\"skipped_unchanged\":2,"));
	read_alerts(db, &al);
	assert_int_equal(al.n, 1);
	assert_int_equal(al.count[0], 2);

	/* --no-cache: everything again */
	{
		const char *argv[] = { th_bin(), "scan", "--rules", "rules/yara", "--no-ioc", "--db",
				       db, "--json", "--no-cache", tree, NULL };
		assert_int_equal(run_capture(argv, out, err, 120), 3);
	}
	text = slurp(out);
	assert_non_null(strstr(text, "\"type\":\"summary\",\"files\":3,"));

	/* nothing found: 0; usage: 2; --help: 0 */
	{
		const char *argv[] = { th_bin(), "scan", "--rules", "rules/yara", "--no-ioc", "--db",
				       db, sub + 0, NULL };
		char clean[200];
		snprintf(clean, sizeof(clean), "%s/notes.txt", tree);
		argv[7] = clean;
		assert_int_equal(run_capture(argv, out, err, 120), 0);
	}
	{
		const char *argv[] = { th_bin(), "scan", "--db", db, NULL };
		assert_int_equal(run_capture(argv, out, err, 30), 2);
	}
	{
		const char *argv[] = { th_bin(), "scan", "--help", NULL };
		assert_int_equal(run_capture(argv, out, err, 30), 0);
		assert_non_null(strstr(slurp(out), "usage: hinomi scan"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_process_holding_the_marker_is_found_and_no_other),
		cmocka_unit_test(a_file_scan_records_its_hits_and_a_rescan_counts_them_again),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
