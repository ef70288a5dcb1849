/*
 * test_hasher.c - file digests (enrich/hasher.h): SHA-256, SHA-1 and MD5
 * are right, in one read; only regular files are read, and a FIFO in a
 * file's place does not block; the hasher computes the digests asked for,
 * hashes again an entry known from before that lacks one, refuses a job
 * it already has; a written file is hashed as it is when the worker gets
 * to it, once per inode while queued, read again each time (never from the
 * cache), and not at all when it was replaced; every job's outcome
 * reaches the callback, failures included.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "enrich/hasher.h"

#define ABC_SHA256 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define ABC_SHA1   "a9993e364706816aba3e25717850c26c9cd0d89d"
#define ABC_MD5    "900150983cd24fb0d6963f7d28e17f72"
#define DEF_SHA256 "cb8379ac2098aa165029e3938a51da0bcecfc008fd6795f401178647f96c5b34"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hn-hasher-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const char *text, char *path, size_t n)
{
	FILE *f;

	snprintf(path, n, "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static struct hn_file_key key_of(const char *path)
{
	struct stat st;
	struct hn_file_key k;

	assert_int_equal(stat(path, &st), 0);
	k.dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	k.ino = st.st_ino;
	k.size = (uint64_t)st.st_size;
	k.mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	return k;
}

/* What the callback saw. */
struct seen {
	pthread_mutex_t mu;
	int n, failed;
	struct hn_file_key k;
	struct hn_digests d;
};

static void done(const struct hn_file_key *k, const struct hn_digests *d, void *arg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->mu);
	s->n++;
	s->k = *k;
	if (d)
		s->d = *d;
	else
		s->failed++;
	pthread_mutex_unlock(&s->mu);
}

static void digests_are_right_and_fifos_do_not_block(void **state)
{
	struct hn_digests d;
	char p[128], hex[65];

	(void)state;
	put("abc", "abc", p, sizeof(p));
	assert_int_equal(hn_digest_file(p, 1 << 20, HN_DIGEST_SHA1 | HN_DIGEST_MD5, &d), 0);
	assert_string_equal(d.sha256, ABC_SHA256);
	assert_string_equal(d.sha1, ABC_SHA1);
	assert_string_equal(d.md5, ABC_MD5);
	assert_int_equal(hn_digest_file(p, 1 << 20, HN_DIGEST_MD5, &d), 0);
	assert_string_equal(d.sha1, "");
	assert_string_equal(d.md5, ABC_MD5);
	assert_int_equal(hn_sha256_file(p, 1 << 20, hex), 0);
	assert_string_equal(hex, ABC_SHA256);
	assert_int_equal(hn_sha256_file(p, 2, hex), -EFBIG);
	assert_int_equal(hn_sha256_file(dir, 1 << 20, hex), -EINVAL);
	snprintf(p, sizeof(p), "%s/fifo", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(hn_sha256_file(p, 1 << 20, hex), -EINVAL);
	assert_int_equal(hn_sha256_file("/nonexistent/x", 1 << 20, hex), -ENOENT);
}

static void extra_digests_are_computed_when_wanted(void **state)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct hn_hasher *h;
	struct hn_hasher_stats st;
	struct hn_digests d;
	struct hn_file_key k;
	char p[128];

	(void)state;
	put("exe", "abc", p, sizeof(p));
	k = key_of(p);
	assert_int_equal(hn_hasher_new(16, 64, 0, done, &s, &h), 0);
	/* known from before: SHA-256 only */
	assert_int_equal(hn_hasher_preload(h, &k, ABC_SHA256), 0);
	assert_true(hn_hasher_lookup_all(h, &k, &d));
	assert_int_equal(hn_hasher_submit(h, &k, p, 0), -EALREADY);
	/* once MD5 is wanted, that entry is not enough, and is hashed again;
	 * its SHA-256 still answers lookups meanwhile */
	assert_int_equal(hn_hasher_want(h, HN_DIGEST_MD5), 0);
	assert_false(hn_hasher_lookup_all(h, &k, &d));
	assert_int_equal(hn_hasher_submit(h, &k, p, 0), 0);
	assert_int_equal(hn_hasher_submit(h, &k, p, 0), -EALREADY);
	hn_hasher_drain(h);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.d.sha256, ABC_SHA256);
	assert_string_equal(s.d.md5, ABC_MD5);
	assert_string_equal(s.d.sha1, "");
	assert_true(hn_hasher_lookup_all(h, &k, &d));
	assert_string_equal(d.md5, ABC_MD5);
	assert_int_equal(hn_hasher_submit(h, &k, p, 0), -EALREADY);
	/* a job that fails is reported too */
	k.ino ^= 1;
	assert_int_equal(hn_hasher_submit(h, &k, "/nonexistent/x", 0), 0);
	hn_hasher_drain(h);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.k.ino, k.ino);
	hn_hasher_stats(h, &st);
	assert_int_equal(st.hashed, 1);
	assert_int_equal(st.failed, 1);
	hn_hasher_free(h);
}

static void written_files_are_hashed_as_they_are(void **state)
{
	struct seen s = { .mu = PTHREAD_MUTEX_INITIALIZER };
	struct hn_hasher *h;
	struct hn_hasher_stats st;
	struct hn_file_key k;
	char p[128], other[128], big[128];

	(void)state;
	put("w", "abc", p, sizeof(p));
	k = key_of(p);
	assert_int_equal(hn_hasher_new(8, 64, 64ULL << 20, done, &s, &h), 0);
	assert_int_equal(hn_hasher_want(h, HN_DIGEST_SHA1), 0);
	assert_int_equal(hn_hasher_submit_current(h, k.dev, k.ino, p), 0);
	hn_hasher_drain(h);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.d.sha256, ABC_SHA256);
	assert_string_equal(s.d.sha1, ABC_SHA1);
	/* the identity found, size and mtime included */
	assert_memory_equal(&s.k, &k, sizeof(k));
	/* the same identity again: read again */
	assert_int_equal(hn_hasher_submit_current(h, k.dev, k.ino, p), 0);
	hn_hasher_drain(h);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.d.sha256, ABC_SHA256);
	hn_hasher_stats(h, &st);
	assert_int_equal(st.hashed, 2);
	/* written again, the same size, at once (mtime may not move): what
	 * it holds now */
	{
		FILE *f = fopen(p, "r+");
		assert_non_null(f);
		fputs("def", f);
		fclose(f);
	}
	assert_int_equal(hn_hasher_submit_current(h, k.dev, k.ino, p), 0);
	hn_hasher_drain(h);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.d.sha256, DEF_SHA256);
	/* another file renamed over it: not the inode written, not hashed */
	put("other", "abc", other, sizeof(other));
	assert_int_equal(rename(other, p), 0);
	assert_int_equal(hn_hasher_submit_current(h, k.dev, k.ino, p), 0);
	hn_hasher_drain(h);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.failed, 1);
	assert_int_equal(s.k.ino, k.ino);
	hn_hasher_stats(h, &st);
	assert_int_equal(st.stale, 1);
	/* one job per inode while queued: the worker is kept busy on a big
	 * file while the same inode is submitted twice */
	{
		FILE *f;
		struct hn_file_key bk, wk;
		snprintf(big, sizeof(big), "%s/big", dir);
		f = fopen(big, "w");
		assert_non_null(f);
		assert_int_equal(ftruncate(fileno(f), 48 << 20), 0);
		fclose(f);
		bk = key_of(big);
		wk = key_of(p);
		assert_int_equal(hn_hasher_submit_current(h, bk.dev, bk.ino, big), 0);
		assert_int_equal(hn_hasher_submit_current(h, wk.dev, wk.ino, p), 0);
		assert_int_equal(hn_hasher_submit_current(h, wk.dev, wk.ino, p), -EALREADY);
		hn_hasher_drain(h);
		assert_int_equal(s.n, 6);
		/* and again once done */
		assert_int_equal(hn_hasher_submit_current(h, wk.dev, wk.ino, p), 0);
		hn_hasher_drain(h);
		assert_int_equal(s.n, 7);
	}
	hn_hasher_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digests_are_right_and_fifos_do_not_block),
		cmocka_unit_test(extra_digests_are_computed_when_wanted),
		cmocka_unit_test(written_files_are_hashed_as_they_are),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
