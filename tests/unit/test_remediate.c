/*
 * test_remediate.c - the remediation plan (respond.h: hn_remediate_plan)
 * over a real store written through the writer, with stories made by
 * hand: what the plan does with a shared file the attack appended to
 * twice (both lines out, a later benign line kept), with a persistence
 * file it replaced by a rename (put back from its version, never
 * quarantined whole), with a file it created (quarantined), and with a
 * file born before the attack.  No root needed: every file is in a
 * scratch directory.
 */
#include "investigate/investigate.h"
#include "respond/respond.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define SEC 1000000000ULL
#define E_ATTACK 0x1234500000abcdULL

static char dir[64], dbpath[128];
static struct hn_store *store;
static uint64_t t0;

static void version(const char *path, uint64_t t, const char *content)
{
	struct hn_file_version v = {
		.path = path, .time = t, .content = content, .len = strlen(content),
		.size = strlen(content), .mode = S_IFREG | 0644,
	};

	assert_int_equal(hn_store_submit_version(store, &v), 0);
}

static void write_ev(uint16_t type, const char *path, const char *path2, uint64_t t,
		     uint32_t flags)
{
	struct hn_event *ev = hn_event_new(1024);

	assert_non_null(ev);
	ev->type = type;
	ev->time = t;
	ev->flags = flags;
	ev->proc.entity = E_ATTACK;
	ev->proc.pid = 4242;
	ev->path = hn_event_puts(ev, path);
	if (path2)
		ev->path2 = hn_event_puts(ev, path2);
	assert_int_equal(hn_store_submit(store, ev), 0);
}

static void put_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	fclose(f);
}

static int setup(void **state)
{
	struct hn_store_opts o = { 0 };
	struct timespec ts;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hn-rem-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
	o.path = dbpath;
	assert_int_equal(hn_store_open(&o, &store), 0);
	assert_int_equal(hn_store_start(store), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = ((uint64_t)ts.tv_sec - 3600) * SEC;
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];

	(void)state;
	hn_store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A story of one process (E_ATTACK) that started at t0 + 10 s. */
static struct hn_story *story(void)
{
	struct hn_story *st = calloc(1, sizeof(*st));

	assert_non_null(st);
	st->root.entity = E_ATTACK;
	st->root.start = t0 + 10 * SEC;
	st->procs = calloc(1, sizeof(*st->procs));
	assert_non_null(st->procs);
	st->procs[0].entity = E_ATTACK;
	st->n_procs = st->cap_procs = 1;
	return st;
}

static void add_file(struct hn_story *st, enum hn_inv_action a, const char *path,
		     const char *path2, uint64_t t)
{
	struct hn_inv_file *v = realloc(st->files, (st->n_files + 1) * sizeof(*v));

	assert_non_null(v);
	st->files = v;
	memset(&v[st->n_files], 0, sizeof(v[0]));
	v[st->n_files].action = a;
	v[st->n_files].path = strdup(path);
	v[st->n_files].path2 = path2 ? strdup(path2) : NULL;
	v[st->n_files].entity = E_ATTACK;
	v[st->n_files].time = t;
	st->n_files++;
	st->cap_files = st->n_files;
}

static const struct hn_rstep *step_for(const struct hn_rplan *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].path && !strcmp(p->steps[i].path, path) &&
		    p->steps[i].kind != HN_RS_BLOCK && p->steps[i].kind != HN_RS_RESCAN)
			return &p->steps[i];
	return NULL;
}

static void plan_of(struct hn_story *st, struct hn_rplan *p)
{
	struct hn_respond r;

	memset(&r, 0, sizeof(r));
	r.store = store;
	snprintf(r.state_dir, sizeof(r.state_dir), "%s", dir);
	assert_int_equal(hn_store_flush(store), 0);
	assert_int_equal(hn_remediate_plan(&r, st, p), 0);
}

static void two_appends_both_out_and_a_later_benign_line_kept(void **state)
{
	char home[200], rc[256];
	struct hn_story *st = story();
	struct hn_rplan p = { 0 };
	const struct hn_rstep *s;
	(void)state;

	snprintf(home, sizeof(home), "%s/home", dir);
	assert_int_equal(mkdir(home, 0700), 0);
	snprintf(rc, sizeof(rc), "%s/.bashrc", home);
	version(rc, t0 + 5 * SEC, "export A=1\n");
	write_ev(HN_EV_FILE_OPEN_WRITE, rc, NULL, t0 + 20 * SEC, HN_EVF_WRITTEN);
	version(rc, t0 + 21 * SEC, "export A=1\nevil one\n");
	write_ev(HN_EV_FILE_OPEN_WRITE, rc, NULL, t0 + 30 * SEC, HN_EVF_WRITTEN);
	version(rc, t0 + 31 * SEC, "export A=1\nevil one\nevil two\n");
	put_file(rc, "export A=1\nevil one\nevil two\nexport B=2\n");
	/* investigate keeps the first modification only */
	add_file(st, HN_INV_MODIFIED, rc, NULL, t0 + 20 * SEC);
	plan_of(st, &p);
	s = step_for(&p, rc);
	assert_non_null(s);
	assert_int_equal(s->kind, HN_RS_EDIT);
	assert_int_equal(s->removed, 2);
	assert_int_equal(s->len, strlen("export A=1\nexport B=2\n"));
	assert_memory_equal(s->content, "export A=1\nexport B=2\n", s->len);
	hn_rplan_release(&p);
	hn_story_free(st);
}

static void a_file_replaced_by_a_rename_is_put_back_not_quarantined(void **state)
{
	char ssh[200], keys[256], tmp[256];
	struct hn_story *st = story();
	struct hn_rplan p = { 0 };
	const struct hn_rstep *s;
	(void)state;

	snprintf(ssh, sizeof(ssh), "%s/.ssh", dir);
	assert_int_equal(mkdir(ssh, 0700), 0);
	snprintf(keys, sizeof(keys), "%s/authorized_keys", ssh);
	snprintf(tmp, sizeof(tmp), "%s/sedXYZ", ssh);
	version(keys, t0 + 5 * SEC, "ssh-ed25519 AAAA alice\n");
	write_ev(HN_EV_FILE_CREATE, tmp, NULL, t0 + 40 * SEC, HN_EVF_CREATED);
	write_ev(HN_EV_FILE_RENAME, tmp, keys, t0 + 41 * SEC, 0);
	version(keys, t0 + 42 * SEC, "ssh-ed25519 AAAA alice\nssh-ed25519 BBBB mallory\n");
	put_file(keys, "ssh-ed25519 AAAA alice\nssh-ed25519 BBBB mallory\n");
	add_file(st, HN_INV_CREATED, tmp, NULL, t0 + 40 * SEC);
	add_file(st, HN_INV_RENAMED, tmp, keys, t0 + 41 * SEC);
	plan_of(st, &p);
	s = step_for(&p, keys);
	assert_non_null(s);
	assert_int_equal(s->kind, HN_RS_RESTORE);
	assert_int_equal(s->len, strlen("ssh-ed25519 AAAA alice\n"));
	assert_memory_equal(s->content, "ssh-ed25519 AAAA alice\n", s->len);
	for (size_t i = 0; i < p.n; i++)
		assert_false(p.steps[i].kind == HN_RS_QUARANTINE && p.steps[i].path &&
			     !strcmp(p.steps[i].path, keys));
	hn_rplan_release(&p);
	hn_story_free(st);
}

static void a_created_file_goes_and_an_older_one_stays(void **state)
{
	char made[256], old[256];
	struct hn_story *st = story();
	struct hn_rplan p = { 0 };
	const struct hn_rstep *s;
	struct timespec ts[2];
	(void)state;

	snprintf(made, sizeof(made), "%s/dropped", dir);
	snprintf(old, sizeof(old), "%s/older", dir);
	put_file(made, "payload\n");
	put_file(old, "there before\n");
	add_file(st, HN_INV_CREATED, made, NULL, t0 + 50 * SEC);
	/* "older" born now, but the story says the attack began an hour
	 * after now: born before the attack */
	st->root.start = (uint64_t)time(NULL) * SEC + 3600 * SEC;
	add_file(st, HN_INV_CREATED, old, NULL, st->root.start + SEC);
	(void)ts;
	plan_of(st, &p);
	s = step_for(&p, old);
	assert_non_null(s);
	assert_int_equal(s->kind, HN_RS_LEAVE);
	hn_rplan_release(&p);
	/* the same file with the attack begun before it: quarantined */
	st->root.start = t0 + 10 * SEC;
	plan_of(st, &p);
	s = step_for(&p, made);
	assert_non_null(s);
	assert_int_equal(s->kind, HN_RS_QUARANTINE);
	hn_rplan_release(&p);
	hn_story_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_appends_both_out_and_a_later_benign_line_kept),
		cmocka_unit_test(a_file_replaced_by_a_rename_is_put_back_not_quarantined),
		cmocka_unit_test(a_created_file_goes_and_an_older_one_stays),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
