/*
 * test_agent_restart.c - the real agent stopped and started again on the
 * same store: what it learnt stays learnt.
 *
 * The executable's SHA-256 is computed once per file identity (dev, inode,
 * size, mtime), also across agent restarts: the store keeps every hash it
 * computed (file_hashes) and the next agent fills its cache from there, so
 * an exec of an unchanged file after a restart carries its hash at once and
 * nothing is hashed again.  A changed file is hashed anew.
 * Needs root; skipped (not passed) without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "enrich/hasher.h"
#include "lib/harness.h"

/* Copy src to dst (mode 0755). 0 or -1. */
static int copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n == 0 ? 0 : -1;
}

/* Run path (argv[0] only) and reap it; its pid. */
static pid_t run(const char *path)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(th_reap(p), 0);
	return p;
}

/* The process start of pid, once it is in the store with a hash (up to
 * 10 s); NULL if the hash never came. */
static struct hn_event *exec_with_hash(struct hn_store *s, pid_t pid,
				       const char *path)
{
	for (int i = 0; i < 100; i++) {
		struct hn_event *ev = th_find(s, HN_EV_PROCESS_START, (uint32_t)pid, path);
		if (ev && ev->sha256[0])
			return ev;
		hn_event_free(ev);
		th_sleep_ms(100);
	}
	return NULL;
}

/* A number from the agent's published status JSON ("key":N inside the
 * "hash" object); -1 when absent. */
static long long hash_stat(struct hn_store *s, const char *key)
{
	char *js = NULL, pat[64];
	const char *h, *k;
	long long v = -1;

	if (hn_store_meta_get(s, "status.json", &js) < 0 || !js)
		return -1;
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	h = strstr(js, "\"hash\":{");
	k = h ? strstr(h, pat) : NULL;
	if (k)
		v = strtoll(k + strlen(pat), NULL, 10);
	free(js);
	return v;
}

/* Wait (up to 10 s) until the published status shows key >= min. */
static long long wait_hash_stat(struct hn_store *s, const char *key, long long min)
{
	long long v = -1;

	for (int i = 0; i < 100; i++) {
		v = hash_stat(s, key);
		if (v >= min)
			break;
		th_sleep_ms(100);
	}
	return v;
}

/* The test's agent, store and scratch directory: stopped and removed by
 * teardown whatever the test did (a failed assertion returns early). */
static struct th_agent a;
static struct hn_store *s;
static char dir[256];

static int teardown(void **state)
{
	(void)state;
	th_group_reset(&a, &s, dir);
	return 0;
}

/* Run exe; its process start reaches the store with the hash want. */
static void run_has_hash(const char *exe, const char *want)
{
	struct hn_event *ev = exec_with_hash(s, run(exe), exe);

	assert_non_null(ev);
	assert_string_equal(ev->sha256, want);
	hn_event_free(ev);
}

static void hashes_survive_a_restart(void **state)
{
	char exe[320], want[65];

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(th_scratch(dir, sizeof(dir), "restart"), 0);
	snprintf(exe, sizeof(exe), "%s/hn-restart-true", dir);
	/* a file of its own: an identity no agent has hashed */
	assert_int_equal(copy_file("/usr/bin/true", exe), 0);
	assert_int_equal(hn_sha256_file(exe, 1 << 30, want), 0);

	if (th_group_start(&a, &s, NULL) < 0)
		fail_msg("the agent did not start");
	run_has_hash(exe, want);
	assert_true(wait_hash_stat(s, "hashed", 1) >= 1);
	hn_store_close(s);
	s = NULL;
	assert_int_equal(th_agent_stop(&a), 0);

	/* the same store, a new agent: the hash is known before the exec */
	assert_int_equal(th_agent_restart(&a, NULL), 0);
	s = th_store(&a);
	assert_non_null(s);
	assert_true(wait_hash_stat(s, "preloaded", 1) >= 1);
	run_has_hash(exe, want);
	assert_true(wait_hash_stat(s, "cache_hits", 1) >= 1);
	assert_int_equal(hash_stat(s, "hashed"), 0);

	/* the file changes (size): a new identity, hashed anew */
	{
		int fd = open(exe, O_WRONLY | O_APPEND | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "x", 1), 1);
		close(fd);
	}
	assert_int_equal(hn_sha256_file(exe, 1 << 30, want), 0);
	run_has_hash(exe, want);
	assert_true(wait_hash_stat(s, "hashed", 1) >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(hashes_survive_a_restart, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
