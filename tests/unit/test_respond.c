/*
 * test_respond.c - the parts of src/respond/ that need no root and no
 * agent: the block list file (good lines kept, bad ones reported by file
 * and line), the vault against a damaged item (refused with a reason,
 * never half restored), the state directory, and entity ids checked
 * against /proc start ticks.
 */
#include "event/entity.h"
#include "respond/respond.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lib/harness.h"

static const char *SHA_A = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *SHA_B = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void ctx(struct hn_respond *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", th_tmp);
	snprintf(r->user, sizeof(r->user), "test");
}

static void blocklist_keeps_good_lines_and_names_a_bad_one(void **state)
{
	struct hn_blocklist b;
	char err[512];
	(void)state;

	th_write_file(th_tmp, "blocklist",
		      "# comment\n"
		      "\n"
		      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1 2 why not\n"
		      "NOT-A-HASH 1 2\n"
		      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
		      "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n");
	assert_int_equal(hn_blocklist_load(th_tmp, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "blocklist:4"));
	assert_non_null(strstr(err, "NOT-A-HASH"));
	assert_int_equal(b.n, 2);
	assert_non_null(hn_blocklist_find(&b, SHA_A));
	assert_non_null(hn_blocklist_find(&b, SHA_B));
	assert_string_equal(hn_blocklist_find(&b, SHA_B)->reason, "why not");
	assert_int_equal(hn_blocklist_find(&b, SHA_B)->action, 2);
	assert_null(hn_blocklist_find(&b, "ff"));
	hn_blocklist_release(&b);
}

static void blocklist_add_and_remove_round_trip(void **state)
{
	struct hn_respond r;
	struct hn_blocklist b;
	char err[512];
	(void)state;

	ctx(&r);
	assert_int_equal(hn_blocklist_load(th_tmp, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 0);   /* no file: empty */
	hn_blocklist_release(&b);
	assert_int_equal(hn_blocklist_add(&r, SHA_A, 7, "line\nbreak"), 0);
	assert_int_equal(hn_blocklist_add(&r, SHA_B, 8, NULL), 0);
	assert_int_equal(hn_blocklist_add(&r, SHA_A, 9, NULL), -EEXIST);
	assert_non_null(strstr(r.err, "already"));
	assert_int_equal(hn_blocklist_add(&r, "xyz", 9, NULL), -EINVAL);
	assert_int_equal(hn_blocklist_load(th_tmp, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 2);
	assert_string_equal(hn_blocklist_find(&b, SHA_A)->reason, "line break");
	hn_blocklist_release(&b);
	assert_int_equal(hn_blocklist_remove(&r, SHA_A), 0);
	assert_int_equal(hn_blocklist_remove(&r, SHA_A), -ENOENT);
	assert_int_equal(hn_blocklist_load(th_tmp, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n, 1);
	assert_null(hn_blocklist_find(&b, SHA_A));
	hn_blocklist_release(&b);
}

static int count_item(const struct hn_qitem *q, void *arg)
{
	(void)q;
	(*(int *)arg)++;
	return 0;
}

static void vault_refuses_a_damaged_item_and_leaves_nothing_behind(void **state)
{
	struct hn_respond r;
	struct hn_qitem *q = NULL, *g = NULL;
	char path[300], data[400], meta[400], id[24];
	struct stat st;
	int n = 0, fd;
	unsigned char byte;
	(void)state;

	ctx(&r);
	snprintf(path, sizeof(path), "%s", th_write_file(th_tmp, "sample", "the sample\n"));
	assert_int_equal(hn_quarantine(&r, path, 5, &q), 0);
	assert_int_equal(lstat(path, &st), -1);
	snprintf(id, sizeof(id), "%s", q->id);
	assert_int_equal(q->action, 5);
	hn_qitem_free(q);

	/* one byte of the vault copy flipped: restore refuses, writes nothing */
	snprintf(data, sizeof(data), "%s/quarantine/%s/data", th_tmp, id);
	fd = open(data, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &byte, 1, 3), 1);
	byte ^= 0x40;
	assert_int_equal(pwrite(fd, &byte, 1, 3), 1);
	close(fd);
	assert_int_equal(hn_restore(&r, id, NULL), -EIO);
	assert_non_null(strstr(r.err, "damaged"));
	assert_int_equal(lstat(path, &st), -1);
	{
		/* no temporary file left beside it either */
		char tmp[400];
		snprintf(tmp, sizeof(tmp), "%s/.hinomi-restore-%s", th_tmp, id);
		assert_int_equal(lstat(tmp, &st), -1);
	}

	/* a meta.json that is not JSON: named, not a crash; the list skips it */
	snprintf(meta, sizeof(meta), "%s/quarantine/%s/meta.json", th_tmp, id);
	fd = open(meta, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"id\": 3", 8), 8);
	close(fd);
	assert_int_equal(hn_quarantine_get(&r, id, &g), -EINVAL);
	assert_non_null(strstr(r.err, "meta.json"));
	assert_int_equal(hn_quarantine_list(&r, count_item, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(hn_restore(&r, "q-0000000000000000", NULL), -ENOENT);
	assert_int_equal(hn_restore(&r, "../../etc", NULL), -EINVAL);
}

static void state_dir_is_the_stores_unless_told(void **state)
{
	char buf[256];
	(void)state;

	unsetenv("HINOMI_STATE_DIR");
	assert_int_equal(hn_respond_state_dir("/var/lib/hinomi/hinomi.db", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/hinomi");
	assert_int_equal(hn_respond_state_dir("/h.db", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/");
	assert_int_equal(hn_respond_state_dir("h.db", buf, sizeof(buf)), 0);
	assert_string_equal(buf, ".");
	setenv("HINOMI_STATE_DIR", "/elsewhere", 1);
	assert_int_equal(hn_respond_state_dir("/var/lib/hinomi/hinomi.db", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/elsewhere");
	unsetenv("HINOMI_STATE_DIR");
	assert_int_equal(hn_respond_state_dir("/ab/c.db", buf, 3), -ENAMETOOLONG);
}

static void entity_matches_only_its_own_tick_and_pid(void **state)
{
	uint8_t boot[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick_ns = 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
	uint64_t start = 123456 * tick_ns + tick_ns / 3;
	uint64_t e = hn_entity_id(boot, 4242, start);
	(void)state;

	assert_true(hn_entity_matches_ticks(boot, e, 4242, 123456));
	assert_false(hn_entity_matches_ticks(boot, e, 4242, 123457));
	assert_false(hn_entity_matches_ticks(boot, e, 4242, 123455));
	assert_false(hn_entity_matches_ticks(boot, e, 4243, 123456));
	/* the first and last ns of the tick are inside it */
	assert_true(hn_entity_matches_ticks(boot, hn_entity_id(boot, 7, 99 * tick_ns), 7, 99));
	assert_true(hn_entity_matches_ticks(boot, hn_entity_id(boot, 7, 100 * tick_ns - 1), 7, 99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(blocklist_keeps_good_lines_and_names_a_bad_one,
						th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(blocklist_add_and_remove_round_trip, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(vault_refuses_a_damaged_item_and_leaves_nothing_behind,
						th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test(state_dir_is_the_stores_unless_told),
		cmocka_unit_test(entity_matches_only_its_own_tick_and_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
