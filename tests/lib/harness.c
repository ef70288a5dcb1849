/*
 * harness.c - see harness.h.
 */
#include "lib/harness.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *th_bin(void)
{
	const char *b = getenv("HINOMI_BIN");
	return b && *b ? b : "build/hinomi";
}

int th_scratch(char *buf, size_t n, const char *tag)
{
	snprintf(buf, n, "/tmp/hinomi-%s-XXXXXX", tag);
	return mkdtemp(buf) ? 0 : -errno;
}

char th_tmp[64];

int th_tmp_setup(void **state)
{
	(void)state;
	return th_scratch(th_tmp, sizeof(th_tmp), "tmp");
}

int th_tmp_teardown(void **state)
{
	(void)state;
	th_scratch_remove(th_tmp);
	return 0;
}

const char *th_write_file(const char *dir, const char *name, const char *text)
{
	static char path[512];
	FILE *f;
	int bad;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return NULL;
	bad = fputs(text, f) < 0;
	bad |= fclose(f) != 0;
	return bad ? NULL : path;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void th_scratch_remove(const char *dir)
{
	if (strncmp(dir, "/tmp/hinomi-", 12) != 0)
		return;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int th_append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	int r = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) == EOF)
		r = -EIO;
	if (fclose(f) != 0 && !r)
		r = -EIO;
	return r;
}

bool th_agent_log_has(const struct th_agent *a, const char *text, char *buf, size_t n)
{
	for (int k = 0; k < 100; k++) {
		FILE *fp = fopen(a->log, "re");
		size_t got = fp ? fread(buf, 1, n - 1, fp) : 0;
		if (fp)
			fclose(fp);
		buf[got] = '\0';
		if (strstr(buf, text))
			return true;
		th_sleep_ms(100);
	}
	return false;
}

void th_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}


int th_reap(pid_t p)
{
	int st = 0;
	if (waitpid(p, &st, 0) != p)
		return -1;
	return st;
}

int th_agent_start(struct th_agent *a, const char *const *extra)
{
	memset(a, 0, sizeof(*a));
	if (th_scratch(a->dir, sizeof(a->dir), "agent") < 0)
		return -errno;
	snprintf(a->db, sizeof(a->db), "%s/hinomi.db", a->dir);
	snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
	return th_agent_restart(a, extra);
}

int th_agent_restart(struct th_agent *a, const char *const *extra)
{
	char ready[320];
	const char *argv[32];
	int n = 0;

	if (a->pid > 0 || !a->dir[0])
		return -EBUSY;
	snprintf(ready, sizeof(ready), "%s/ready", a->dir);
	unlink(ready);
	argv[n++] = th_bin();
	argv[n++] = "agent";
	argv[n++] = "--db";
	argv[n++] = a->db;
	argv[n++] = "--ready-file";
	argv[n++] = ready;
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	a->pid = fork();
	if (a->pid < 0)
		return -errno;
	if (a->pid == 0) {
		int fd = open(a->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* up to 60 s for the sensor to load (slower under sanitizers) */
	for (int i = 0; i < 600; i++) {
		int st;
		if (access(ready, F_OK) == 0)
			return 0;
		if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
			a->pid = 0;
			return -ECHILD;
		}
		th_sleep_ms(100);
	}
	th_agent_stop(a);
	return -ETIMEDOUT;
}

int th_agent_stop(struct th_agent *a)
{
	int st = -1;

	if (a->pid <= 0)
		return -1;
	kill(a->pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
			a->pid = 0;
			return st;
		}
		th_sleep_ms(100);
	}
	kill(a->pid, SIGKILL);
	waitpid(a->pid, &st, 0);
	a->pid = 0;
	return st;
}

void th_agent_cleanup(struct th_agent *a)
{
	if (a->pid > 0)
		th_agent_stop(a);
	if (getenv("HINOMI_KEEP"))
		fprintf(stderr, "kept %s\n", a->dir);
	else
		th_scratch_remove(a->dir);
}

struct hn_store *th_store(struct th_agent *a)
{
	struct hn_store_opts o = { .path = a->db, .readonly = true };
	struct hn_store *s = NULL;

	if (hn_store_open(&o, &s) < 0) {
		hn_store_close(s);
		return NULL;
	}
	return s;
}

struct collect {
	struct hn_event **v;
	int n, cap;
};

static int collect_cb(const struct hn_event *ev, void *arg)
{
	struct collect *c = arg;
	if (c->n == c->cap) {
		int nc = c->cap ? c->cap * 2 : 64;
		struct hn_event **nv = realloc(c->v, (size_t)nc * sizeof(*nv));
		if (!nv)
			return 1;
		c->v = nv;
		c->cap = nc;
	}
	c->v[c->n] = hn_event_dup(ev);
	if (c->v[c->n])
		c->n++;
	return 0;
}

struct hn_event **th_events(struct hn_store *s, const struct hn_query *q, int *n)
{
	struct collect c = { 0 };
	hn_store_query(s, q, collect_cb, &c);
	*n = c.n;
	return c.v;
}

void th_events_free(struct hn_event **v, int n)
{
	for (int i = 0; i < n; i++)
		hn_event_free(v[i]);
	free(v);
}

struct hn_event *th_find(struct hn_store *s, uint16_t type, uint32_t pid, const char *want_path)
{
	struct hn_query q = { .ntypes = 1, .pid = pid };
	struct hn_event **v, *found = NULL;
	int n;

	q.types[0] = type;
	v = th_events(s, &q, &n);
	for (int i = 0; i < n && !found; i++) {
		if (want_path && (!v[i]->path || strcmp(v[i]->path, want_path) != 0))
			continue;
		found = v[i];
		v[i] = NULL;
	}
	for (int i = 0; i < n; i++)
		hn_event_free(v[i]);
	free(v);
	return found;
}

int th_run(const char *const *argv, int timeout_s)
{
	pid_t p;

	return th_run_pid(argv, timeout_s, &p);
}

int th_run_pid(const char *const *argv, int timeout_s, pid_t *pid)
{
	int st;
	pid_t p = fork();

	*pid = p;
	if (p < 0)
		return -1;
	if (p == 0) {
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

int th_run_to(const char *const *argv, const char *out, const char *err, int timeout_s)
{
	int st;
	pid_t p = fork();

	if (p < 0)
		return -1;
	if (p == 0) {
		int in = open("/dev/null", O_RDONLY);
		int o = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (in < 0 || o < 0 || e < 0 || dup2(in, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < timeout_s * 100; i++) {
		if (waitpid(p, &st, WNOHANG) == p)
			return st;
		th_sleep_ms(10);
	}
	kill(p, SIGKILL);
	waitpid(p, &st, 0);
	return -1;
}

int th_hinomi(const char *db, const char *out, const char *err, const char *a0, ...)
{
	const char *argv[16];
	va_list ap;
	int n = 0, st;

	argv[n++] = th_bin();
	argv[n++] = a0;
	va_start(ap, a0);
	while (n < 14) {
		const char *s = va_arg(ap, const char *);
		if (!s)
			break;
		argv[n++] = s;
	}
	va_end(ap);
	argv[n++] = "--db";
	argv[n++] = db;
	argv[n] = NULL;
	st = th_run_to(argv, out, err, 60);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct hn_event *th_wait_match(struct hn_store *s, uint16_t type, uint32_t pid,
			       th_pred pred, const void *arg)
{
	for (int i = 0; i < 100; i++) {
		struct hn_query q = { .ntypes = 1, .pid = pid };
		struct hn_event **v, *found = NULL;
		int n;

		q.types[0] = type;
		v = th_events(s, &q, &n);
		for (int k = 0; k < n && !found; k++)
			if (!pred || pred(v[k], arg)) {
				found = v[k];
				v[k] = NULL;
			}
		th_events_free(v, n);
		if (found)
			return found;
		th_sleep_ms(100);
	}
	return NULL;
}

int th_count_match(struct hn_store *s, uint16_t type, uint32_t pid, th_pred pred,
		   const void *arg)
{
	struct hn_query q = { .ntypes = 1, .pid = pid };
	struct hn_event **v;
	int n, c = 0;

	q.types[0] = type;
	v = th_events(s, &q, &n);
	for (int k = 0; k < n; k++)
		c += !pred || pred(v[k], arg);
	th_events_free(v, n);
	return c;
}

int th_group_start(struct th_agent *a, struct hn_store **s, const char *const *extra)
{
	if (geteuid() != 0) {
		fprintf(stderr, "this test needs root\n");
		return -1;
	}
	if (th_agent_start(a, extra) < 0) {
		char buf[4096];
		FILE *f = fopen(a->log, "re");
		size_t n;

		fprintf(stderr, "the agent did not start; its log:\n");
		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, stderr);
		if (f)
			fclose(f);
		return -1;
	}
	*s = th_store(a);
	return *s ? 0 : -1;
}

void th_group_stop(struct th_agent *a, struct hn_store *s, const char *scratch)
{
	hn_store_close(s);
	th_agent_cleanup(a);
	if (scratch && *scratch)
		th_scratch_remove(scratch);
}

void th_group_reset(struct th_agent *a, struct hn_store **s, char *scratch)
{
	th_group_stop(a, *s, scratch);
	*s = NULL;
	scratch[0] = '\0';
}

uint64_t th_entity_of(struct hn_store *s, uint32_t pid, uint64_t t0)
{
	for (int k = 0; k < 100; k++) {
		uint64_t e[8];
		int n = hn_store_entities_by_pid(s, pid, e, 8);

		for (int i = 0; i < n; i++) {
			struct hn_process *p = NULL;
			bool ok = hn_store_process(s, e[i], &p) == 0 &&
				  p->start_time + 1000000000ULL >= t0;
			hn_process_free(p);
			if (ok)
				return e[i];
		}
		th_sleep_ms(100);
	}
	return 0;
}

bool th_descends(struct hn_store *s, uint64_t e, uint64_t root)
{
	for (int depth = 0; e && root && depth < 256; depth++) {
		struct hn_process *p = NULL;
		uint64_t parent;

		if (e == root)
			return true;
		if (hn_store_process(s, e, &p) < 0)
			return false;
		parent = p->parent_entity;
		hn_process_free(p);
		e = parent == e ? 0 : parent;
	}
	return false;
}
