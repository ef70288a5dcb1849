/*
 * test_respond.c - response actions on real files and processes:
 * quarantine and restore (bytes, owner, mode with set-id bits, times to
 * the nanosecond, xattrs including security.capability), the vault's
 * content not being the sample's, refusals; kill --tree against a live
 * tree with a daemonised grandchild that only the store links to its
 * root, identity checks (a forged or stale entity hits nothing), the
 * refusals (init, kernel threads, the agent); every action recorded.
 *
 * Needs root (chown, security xattrs, the agent's sensor).  Files live in
 * a scratch directory; only processes this test started are signalled.
 */
#include "lib/harness.h"
#include "event/entity.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

static struct th_agent agent;
static struct hn_store *store;
static char scratch[256];

static int group_setup(void **state)
{
	(void)state;
	return th_group_start(&agent, &store, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	th_group_stop(&agent, store, scratch[0] ? scratch : NULL);
	return 0;
}

static char out_path[300], err_path[300];

/* Run hinomi with the agent's store: args NULL-terminated.  The exit
 * code (stdout in out_path, stderr in err_path), or -1. */
#define hinomi(...) (snprintf(out_path, sizeof(out_path), "%s/cli.out", agent.dir), \
		     snprintf(err_path, sizeof(err_path), "%s/cli.err", agent.dir), \
		     th_hinomi(agent.db, out_path, err_path, __VA_ARGS__))

/* The whole of a file (NUL-terminated), or NULL; *n its size. */
static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (b = malloc((size_t)len + 1)) && fread(b, 1, (size_t)len, f) == (size_t)len) {
		b[len] = '\0';
		if (n)
			*n = (size_t)len;
	} else {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

static bool file_has(const char *path, const char *text)
{
	char *b = slurp(path, NULL);
	bool r = b && strstr(b, text);

	free(b);
	return r;
}

/* The q- id printed by `hinomi quarantine`. */
static void quarantine_id(char id[24])
{
	char *b = slurp(out_path, NULL), *p = b ? strstr(b, " as q-") : NULL;

	id[0] = '\0';
	if (p)
		snprintf(id, 24, "%.18s", p + 4);
	free(b);
}

struct meta {
	struct stat st;
	char xnames[1024];
	ssize_t xlen;
	unsigned char cap[64], note[64];
	ssize_t caplen, notelen;
};

static void meta_of(const char *path, struct meta *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(lstat(path, &m->st), 0);
	m->xlen = llistxattr(path, m->xnames, sizeof(m->xnames));
	m->caplen = lgetxattr(path, "security.capability", m->cap, sizeof(m->cap));
	m->notelen = lgetxattr(path, "user.note", m->note, sizeof(m->note));
}

static void same_meta(const struct meta *a, const struct meta *b)
{
	assert_int_equal(a->st.st_mode, b->st.st_mode);
	assert_int_equal(a->st.st_uid, b->st.st_uid);
	assert_int_equal(a->st.st_gid, b->st.st_gid);
	assert_int_equal(a->st.st_size, b->st.st_size);
	assert_int_equal(a->st.st_mtim.tv_sec, b->st.st_mtim.tv_sec);
	assert_int_equal(a->st.st_mtim.tv_nsec, b->st.st_mtim.tv_nsec);
	assert_int_equal(a->st.st_atim.tv_sec, b->st.st_atim.tv_sec);
	assert_int_equal(a->st.st_atim.tv_nsec, b->st.st_atim.tv_nsec);
	assert_int_equal(a->xlen, b->xlen);
	assert_memory_equal(a->xnames, b->xnames, (size_t)(a->xlen > 0 ? a->xlen : 0));
	assert_int_equal(a->caplen, b->caplen);
	assert_memory_equal(a->cap, b->cap, (size_t)(a->caplen > 0 ? a->caplen : 0));
	assert_int_equal(a->notelen, b->notelen);
	assert_memory_equal(a->note, b->note, (size_t)(a->notelen > 0 ? a->notelen : 0));
}

/* A sample: size bytes of noise with a marker in the middle, set-uid,
 * another owner, xattrs, odd times. */
static unsigned char *make_sample(const char *path, size_t size, const char *marker)
{
	unsigned char *b = malloc(size);
	static const unsigned char cap[20] = { 1, 0, 0, 2, 0, 0x20 };  /* cap_net_raw+ep */
	static const unsigned char note[5] = { 'a', 0, 0xff, 'z', 7 };
	struct timespec ts[2] = { { 1500000000, 123456789 }, { 1600000000, 987654321 } };
	uint32_t x = 2463534242u;
	int fd;

	assert_non_null(b);
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	memcpy(b + size / 2, marker, strlen(marker));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, size), (ssize_t)size);
	close(fd);
	assert_int_equal(chown(path, 1234, 5678), 0);
	assert_int_equal(chmod(path, 04751), 0);
	assert_int_equal(setxattr(path, "user.note", note, sizeof(note), 0), 0);
	assert_int_equal(setxattr(path, "security.capability", cap, sizeof(cap), 0), 0);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	return b;
}

static void quarantine_round_trip_is_byte_and_metadata_identical(void **state)
{
	char dir[256], path[300], vault[300], id[24], cmd[64];
	const size_t size = (1u << 20) + 17;
	unsigned char *want, *got;
	struct meta before, after;
	struct stat st;
	size_t n;
	(void)state;

	assert_int_equal(th_scratch(dir, sizeof(dir), "respond"), 0);
	snprintf(path, sizeof(path), "%s/sample.bin", dir);
	snprintf(cmd, sizeof(cmd), "HINOMI-VAULT-MARKER-%d", (int)getpid());
	want = make_sample(path, size, cmd);
	meta_of(path, &before);
	assert_true(before.st.st_mode & S_ISUID);   /* set after chown: kept */

	assert_int_equal(hinomi("quarantine", path, NULL), 0);
	quarantine_id(id);
	assert_int_equal(strlen(id), 18);
	assert_int_equal(lstat(path, &st), -1);      /* gone from its place */

	/* the vault: root only, and no copy of the sample's bytes */
	snprintf(vault, sizeof(vault), "%s/quarantine", agent.dir);
	assert_int_equal(stat(vault, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(st.st_uid, 0);
	{
		char data[400];
		snprintf(data, sizeof(data), "%s/%s/data", vault, id);
		got = (unsigned char *)slurp(data, &n);
		assert_non_null(got);
		assert_int_equal(n, size);
		assert_null(memmem(got, n, cmd, strlen(cmd)));
		assert_true(memcmp(got, want, 4096) != 0);
		free(got);
	}
	assert_int_equal(hinomi("quarantine", "list", "--json", NULL), 0);
	assert_true(file_has(out_path, id));
	assert_true(file_has(out_path, path));
	assert_true(file_has(out_path, "\"mode\":\"4751\""));

	assert_int_equal(hinomi("restore", id, NULL), 0);
	/* metadata first: reading the content moves the atime (relatime) */
	meta_of(path, &after);
	same_meta(&before, &after);
	got = (unsigned char *)slurp(path, &n);
	assert_non_null(got);
	assert_int_equal(n, size);
	assert_memory_equal(got, want, size);
	free(got);

	/* a second restore is refused, and changes nothing */
	assert_int_equal(hinomi("restore", id, NULL), 1);
	assert_true(file_has(err_path, "restored already"));

	/* both recorded, by whom, with the item */
	assert_int_equal(hinomi("actions", "--json", NULL), 0);
	assert_true(file_has(out_path, "\"kind\":\"quarantine\""));
	assert_true(file_has(out_path, "\"kind\":\"restore\""));
	assert_true(file_has(out_path, "\"user\":\"root"));
	assert_true(file_has(out_path, id));
	free(want);
	th_scratch_remove(dir);
}

static void quarantine_refuses_and_restore_never_replaces(void **state)
{
	char dir[256], path[300], fifo[300], sub[300], lnk[300], other[300], id[24], buf[64];
	struct stat st;
	ssize_t n;
	(void)state;

	assert_int_equal(th_scratch(dir, sizeof(dir), "respond"), 0);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(hinomi("quarantine", fifo, NULL), 1);
	assert_true(file_has(err_path, "not a regular file"));
	assert_int_equal(hinomi("quarantine", sub, NULL), 1);
	assert_int_equal(stat(fifo, &st), 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(hinomi("quarantine", "relative/path", NULL), 1);
	assert_int_equal(hinomi("restore", "q-nothex", NULL), 1);

	/* restore onto a path that exists again: refused, the new file kept */
	snprintf(path, sizeof(path), "%s/conf", dir);
	th_write_file(dir, "conf", "old\n");
	assert_int_equal(hinomi("quarantine", path, NULL), 0);
	quarantine_id(id);
	th_write_file(dir, "conf", "new\n");
	assert_int_equal(hinomi("restore", id, NULL), 1);
	assert_true(file_has(err_path, "exists"));
	assert_true(file_has(path, "new"));
	snprintf(other, sizeof(other), "%s/conf.old", dir);
	assert_int_equal(hinomi("restore", id, "--to", other, NULL), 0);
	assert_true(file_has(other, "old"));
	assert_true(file_has(path, "new"));

	/* a symbolic link goes and comes back as a link */
	snprintf(lnk, sizeof(lnk), "%s/link", dir);
	assert_int_equal(symlink("/nonexistent/target", lnk), 0);
	assert_int_equal(hinomi("quarantine", lnk, NULL), 0);
	quarantine_id(id);
	assert_int_equal(lstat(lnk, &st), -1);
	assert_int_equal(hinomi("restore", id, NULL), 0);
	assert_int_equal(lstat(lnk, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	n = readlink(lnk, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "/nonexistent/target");

	/* the failures are recorded too */
	assert_int_equal(hinomi("actions", NULL), 0);
	assert_true(file_has(out_path, "failed"));
	th_scratch_remove(dir);
}

static bool alive(pid_t p)
{
	char path[64], buf[512], *s;
	bool r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
	s = slurp(path, NULL);
	if (!s)
		return false;
	/* a zombie is not alive */
	snprintf(buf, sizeof(buf), "%s", s);
	r = !strstr(buf, ") Z ");
	free(s);
	return r;
}

static bool wait_gone(pid_t p, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (!alive(p))
			return true;
		th_sleep_ms(10);
	}
	return !alive(p);
}

/* A tree: root (sleep 301) whose middle child forks a grandchild
 * (sleep 300) and exits, so the grandchild lives on under init: only the
 * store links it to root.  *grand gets its pid. */
static pid_t spawn_tree(pid_t *grand)
{
	int fds[2];
	pid_t root;

	assert_int_equal(pipe(fds), 0);
	root = fork();
	assert_true(root >= 0);
	if (root == 0) {
		pid_t mid = fork();
		if (mid == 0) {
			pid_t g = fork();
			if (g == 0) {
				close(fds[0]);
				close(fds[1]);
				execl("/bin/sleep", "sleep", "300", (char *)NULL);
				_exit(127);
			}
			if (write(fds[1], &g, sizeof(g)) != sizeof(g))
				_exit(1);
			_exit(0);
		}
		close(fds[0]);
		close(fds[1]);
		waitpid(mid, NULL, 0);
		execl("/bin/sleep", "sleep", "301", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], grand, sizeof(*grand)), (ssize_t)sizeof(*grand));
	close(fds[0]);
	return root;
}

static pid_t spawn_sleep(const char *secs)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0) {
		execl("/bin/sleep", "sleep", secs, (char *)NULL);
		_exit(127);
	}
	return p;
}

static void kill_tree_freezes_and_kills_a_daemonised_grandchild(void **state)
{
	uint64_t t0 = 0, eroot, egrand;
	pid_t root, grand, bystander;
	char es[20];
	int st;
	(void)state;

	{
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - 1000000000ULL;
	}
	bystander = spawn_sleep("302");
	root = spawn_tree(&grand);
	eroot = th_entity_of(store, (uint32_t)root, t0);
	egrand = th_entity_of(store, (uint32_t)grand, t0);
	assert_true(eroot != 0);
	assert_true(egrand != 0);
	/* the grandchild's parent is not the root any more */
	for (int i = 0; i < 100 && !th_descends(store, egrand, eroot); i++)
		th_sleep_ms(100);
	assert_true(th_descends(store, egrand, eroot));

	assert_int_equal(hinomi("kill", hn_entity_str(eroot, es, sizeof(es)), "--tree", NULL), 0);
	assert_int_equal(waitpid(root, &st, 0), root);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	assert_true(wait_gone(grand, 3000));
	assert_true(alive(bystander));
	assert_true(file_has(out_path, "killed"));

	assert_int_equal(hinomi("actions", "--json", NULL), 0);
	assert_true(file_has(out_path, "\"kind\":\"kill-tree\""));
	assert_true(file_has(out_path, "2 processes killed"));
	snprintf(es, sizeof(es), "\"pid\":%d,", (int)grand);
	assert_true(file_has(out_path, es));

	kill(bystander, SIGKILL);
	waitpid(bystander, NULL, 0);
}

static void kill_checks_identity_and_refuses(void **state)
{
	uint64_t t0, e, forged;
	pid_t p, gone;
	char es[20], pid[16];
	struct timespec ts;
	(void)state;

	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec - 1000000000ULL;
	p = spawn_sleep("303");
	e = th_entity_of(store, (uint32_t)p, t0);
	assert_true(e != 0);

	/* the same pid with another start: another process, not hit */
	forged = e ^ (1ULL << 40);
	assert_int_equal(hinomi("kill", hn_entity_str(forged, es, sizeof(es)), NULL), 1);
	assert_true(file_has(err_path, "not running"));
	assert_true(alive(p));

	/* an entity that has exited: nothing to do */
	gone = spawn_sleep("0");
	{
		uint64_t eg = th_entity_of(store, (uint32_t)gone, t0);
		assert_true(eg != 0);
		waitpid(gone, NULL, 0);
		assert_int_equal(hinomi("kill", hn_entity_str(eg, es, sizeof(es)), NULL), 1);
	}

	/* refused: init, a kernel thread, the agent, a parent of the command */
	assert_int_equal(hinomi("kill", "1", NULL), 1);
	assert_true(file_has(err_path, "init"));
	assert_int_equal(hinomi("kill", "2", NULL), 1);
	assert_true(file_has(err_path, "kernel thread"));
	snprintf(pid, sizeof(pid), "%d", (int)agent.pid);
	assert_int_equal(hinomi("kill", pid, NULL), 1);
	assert_true(file_has(err_path, "agent"));
	assert_true(alive(agent.pid));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	assert_int_equal(hinomi("kill", pid, NULL), 1);
	assert_true(file_has(err_path, "parents"));
	assert_int_equal(hinomi("kill", "notapid", NULL), 2);

	/* by pid, alone */
	snprintf(pid, sizeof(pid), "%d", (int)p);
	assert_int_equal(hinomi("kill", pid, NULL), 0);
	{
		int st;
		assert_int_equal(waitpid(p, &st, 0), p);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quarantine_round_trip_is_byte_and_metadata_identical),
		cmocka_unit_test(quarantine_refuses_and_restore_never_replaces),
		cmocka_unit_test(kill_tree_freezes_and_kills_a_daemonised_grandchild),
		cmocka_unit_test(kill_checks_identity_and_refuses),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_respond: needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
