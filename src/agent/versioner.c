/*
 * versioner.c - the agent keeps versions of sensitive files (the
 * persistence places of investigate.h's hn_inv_persist_kind: cron, at,
 * systemd units, shell rc files, authorized_keys, ld.so.preload, sudoers,
 * PAM, passwd/group, modules), so that a remediation can put back what a
 * file held before an attack and remove only the lines the attack added
 * (respond/remediate.c).
 *
 *   main thread: an event names a sensitive path (created, opened for
 *   writing, renamed or linked onto, truncated, deleted; or the close
 *   that says an open wrote) ──► queue (path, due = now + SETTLE_MS)
 *   versioner thread: at due, read the file (content up to
 *   VERSION_MAX_BYTES; a link's target; "deleted" when gone) ──► SHA-256
 *   differs from the path's last version? ──► hn_store_submit_version
 *
 * At start, the thread also reads every sensitive file it can find (the
 * fixed places, and each home of /etc/passwd) once: the baseline, written
 * only where it differs from what the store holds.  /etc/shadow and
 * /etc/gshadow are never copied (password hashes do not belong in the
 * store).
 *
 * A version's time is when it was read, so "the version before an
 * attack" is one read before the attack's first write.  Bounds: QUEUE
 * paths waiting (more are counted and dropped: the next change of that
 * file reads it again), LAST paths remembered, VERSION_MAX_BYTES per file,
 * BASELINE_MAX files at start.
 */
#include "agent/agent_int.h"
#include "investigate/investigate.h"
#include "util/hex.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define QUEUE 1024u
#define LAST 16384u
#define COOKIES 512u
#define SETTLE_MS 100u
#define VERSION_MAX_BYTES (1u << 20)
#define BASELINE_MAX 4096

struct pending {
	char *path;
	uint64_t entity;
	uint64_t due;
};

struct last {
	char *path;
	char sha256[65];
	bool deleted;
};

struct versioner {
	struct hn_store *store;
	FILE *log;
	pthread_t thread;
	bool running;
	atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pending q[QUEUE];
	unsigned nq;
	struct versioner_stats st;

	/* versioner thread only (filled before it starts) */
	struct last *last;               /* LAST slots, open addressing */
	unsigned nlast;
	unsigned char *buf;

	/* main thread only: opens of sensitive paths, by cookie */
	struct {
		uint64_t cookie, entity;
		char *path;
	} cookies[COOKIES];
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static uint64_t wall_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

bool versioner_wants(const char *path)
{
	/* every file event asks: the places are under these, or a dot
	 * file's (rc files, .ssh, .config), so most paths stop here */
	if (!path || path[0] != '/' ||
	    (strncmp(path, "/etc/", 5) && strncmp(path, "/var/spool/", 11) &&
	     strncmp(path, "/lib/", 5) && strncmp(path, "/usr/lib/", 9) &&
	     strncmp(path, "/run/systemd/", 13) && !strstr(path, "/.")))
		return false;
	if (!hn_inv_persist_kind(path))
		return false;
	return strcmp(path, "/etc/shadow") != 0 && strcmp(path, "/etc/gshadow") != 0 &&
	       strncmp(path, "/etc/shadow", 11) != 0 && strncmp(path, "/etc/gshadow", 12) != 0;
}

/* ---- what was last kept, per path ---- */

static uint64_t hstr(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static struct last *last_slot(struct versioner *v, const char *path, bool add)
{
	unsigned i = (unsigned)(hstr(path) % LAST);

	for (unsigned k = 0; k < LAST; k++, i = (i + 1) % LAST) {
		struct last *l = &v->last[i];
		if (!l->path) {
			if (!add || v->nlast >= LAST * 3 / 4 || !(l->path = strdup(path)))
				return NULL;
			v->nlast++;
			return l;
		}
		if (strcmp(l->path, path) == 0)
			return l;
	}
	return NULL;
}

static int preload(const struct hn_file_version *fv, void *arg)
{
	struct versioner *v = arg;
	struct last *l = last_slot(v, fv->path, true);

	if (l) {
		memcpy(l->sha256, fv->sha256, sizeof(l->sha256));
		l->deleted = fv->deleted;
	}
	return 0;
}

/* ---- reading one file ---- */


static void keep(struct versioner *v, const char *path, uint64_t entity)
{
	struct hn_file_version fv = { .path = path, .entity = entity };
	struct last *l;
	struct stat st;
	ssize_t n = 0;

	if (lstat(path, &st) < 0) {
		if (errno != ENOENT)
			return;
		fv.deleted = true;
	} else if (S_ISLNK(st.st_mode)) {
		n = readlink(path, (char *)v->buf, VERSION_MAX_BYTES);
		if (n < 0)
			return;
	} else if (S_ISREG(st.st_mode)) {
		int fd;
		if ((uint64_t)st.st_size > VERSION_MAX_BYTES) {
			pthread_mutex_lock(&v->mu);
			v->st.too_big++;
			pthread_mutex_unlock(&v->mu);
			return;
		}
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOATIME);
		if (fd < 0)
			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return;
		for (size_t got = 0; got < VERSION_MAX_BYTES;) {
			ssize_t r = read(fd, v->buf + got, VERSION_MAX_BYTES - got);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				n = r < 0 ? -1 : (ssize_t)got;
				break;
			}
			got += (size_t)r;
			n = (ssize_t)got;
		}
		close(fd);
		if (n < 0)
			return;
	} else {
		return;   /* a directory, a device: nothing to keep */
	}
	if (!fv.deleted) {
		fv.content = v->buf;
		fv.len = (size_t)n;
		fv.size = (uint64_t)n;
		fv.mode = st.st_mode;
		fv.uid = st.st_uid;
		fv.gid = st.st_gid;
		hn_sha256_hex(v->buf, (size_t)n, fv.sha256);
	}
	l = last_slot(v, path, true);
	if (l && l->deleted == fv.deleted && strcmp(l->sha256, fv.sha256) == 0)
		return;   /* as kept last time */
	fv.time = wall_ns();
	if (hn_store_submit_version(v->store, &fv) < 0) {
		pthread_mutex_lock(&v->mu);
		v->st.dropped++;
		pthread_mutex_unlock(&v->mu);
		return;
	}
	if (l) {
		memcpy(l->sha256, fv.sha256, sizeof(l->sha256));
		l->deleted = fv.deleted;
	}
	pthread_mutex_lock(&v->mu);
	v->st.kept++;
	pthread_mutex_unlock(&v->mu);
}

/* ---- the baseline ---- */

static void keep_dir(struct versioner *v, const char *dir, int *budget, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while (*budget > 0 && !atomic_load(&v->stop) && (de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.' && (!de->d_name[1] ||
		    (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < 2)
				keep_dir(v, p, budget, depth + 1);
			continue;
		}
		if (versioner_wants(p)) {
			keep(v, p, 0);
			(*budget)--;
		}
	}
	closedir(d);
}

static void baseline(struct versioner *v)
{
	static const char *const files[] = {
		"/etc/crontab", "/etc/anacrontab", "/etc/ld.so.preload", "/etc/sudoers",
		"/etc/passwd", "/etc/group", "/etc/profile", "/etc/bash.bashrc",
		"/etc/environment", "/etc/rc.local", "/etc/modules", "/etc/pam.conf",
	};
	static const char *const dirs[] = {
		"/etc/cron.d", "/etc/cron.hourly", "/etc/cron.daily", "/etc/cron.weekly",
		"/etc/cron.monthly", "/var/spool/cron/crontabs", "/var/spool/cron/atjobs",
		"/etc/sudoers.d", "/etc/pam.d", "/etc/profile.d", "/etc/systemd/system",
		"/etc/modprobe.d",
	};
	static const char *const home_files[] = {
		".bashrc", ".profile", ".bash_profile", ".bash_login", ".zshrc",
		".ssh/authorized_keys", ".ssh/authorized_keys2",
	};
	int budget = BASELINE_MAX;
	struct passwd *pw;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (access(files[i], F_OK) == 0) {
			keep(v, files[i], 0);
			budget--;
		}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && budget > 0; i++)
		keep_dir(v, dirs[i], &budget, 0);
	/* each home of a real user: root, and uid 1000 and above */
	setpwent();
	while (budget > 0 && !atomic_load(&v->stop) && (pw = getpwent())) {
		if (pw->pw_uid != 0 && pw->pw_uid < 1000)
			continue;
		if (!pw->pw_dir || pw->pw_dir[0] != '/' || strcmp(pw->pw_dir, "/") == 0)
			continue;
		for (size_t i = 0; i < sizeof(home_files) / sizeof(home_files[0]); i++) {
			char p[PATH_MAX];
			if (snprintf(p, sizeof(p), "%s/%s", pw->pw_dir, home_files[i]) >=
			    (int)sizeof(p) || access(p, F_OK) != 0)
				continue;
			keep(v, p, 0);
			budget--;
		}
	}
	endpwent();
}

/* ---- the thread ---- */

static void *run(void *arg)
{
	struct versioner *v = arg;

	baseline(v);
	pthread_mutex_lock(&v->mu);
	while (!atomic_load(&v->stop) || v->nq) {
		uint64_t now = mono_ms(), next = UINT64_MAX;
		struct pending due = { 0 };
		bool found = false;

		for (unsigned i = 0; i < v->nq; i++) {
			if (v->q[i].due <= now || atomic_load(&v->stop)) {
				due = v->q[i];
				v->q[i] = v->q[--v->nq];
				found = true;
				break;
			}
			if (v->q[i].due < next)
				next = v->q[i].due;
		}
		if (found) {
			pthread_mutex_unlock(&v->mu);
			keep(v, due.path, due.entity);
			free(due.path);
			pthread_mutex_lock(&v->mu);
			continue;
		}
		if (atomic_load(&v->stop))
			break;
		{
			struct timespec ts;
			uint64_t wait = next == UINT64_MAX ? 500 : next - now;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)(wait / 1000);
			ts.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&v->cv, &v->mu, &ts);
		}
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

static void enqueue(struct versioner *v, const char *path, uint64_t entity)
{
	pthread_mutex_lock(&v->mu);
	for (unsigned i = 0; i < v->nq; i++)
		if (strcmp(v->q[i].path, path) == 0) {
			/* read once, after the last of a burst of changes */
			v->q[i].due = mono_ms() + SETTLE_MS;
			v->q[i].entity = entity;
			pthread_mutex_unlock(&v->mu);
			return;
		}
	if (v->nq == QUEUE) {
		v->st.queue_full++;
		pthread_mutex_unlock(&v->mu);
		return;
	}
	v->q[v->nq].path = strdup(path);
	if (v->q[v->nq].path) {
		v->q[v->nq].entity = entity;
		v->q[v->nq].due = mono_ms() + SETTLE_MS;
		v->nq++;
		pthread_cond_signal(&v->cv);
	}
	pthread_mutex_unlock(&v->mu);
}

void versioner_event(struct versioner *v, const struct hn_event *ev)
{
	const char *path = NULL;
	unsigned slot;

	if (!v || (ev->flags & HN_EVF_FAILED))
		return;
	switch (ev->type) {
	case HN_EV_FILE_CREATE:
	case HN_EV_FILE_OPEN_WRITE:
		path = ev->path;
		if (!path && ev->cookie) {
			/* the close that says an open wrote: its open's path */
			slot = (unsigned)((ev->cookie * 0x9e3779b97f4a7c15ULL) >> 32) % COOKIES;
			if (v->cookies[slot].cookie == ev->cookie && v->cookies[slot].path)
				enqueue(v, v->cookies[slot].path, v->cookies[slot].entity);
			return;
		}
		if (path && ev->cookie && versioner_wants(path)) {
			slot = (unsigned)((ev->cookie * 0x9e3779b97f4a7c15ULL) >> 32) % COOKIES;
			free(v->cookies[slot].path);
			v->cookies[slot].path = strdup(path);
			v->cookies[slot].cookie = ev->cookie;
			v->cookies[slot].entity = ev->proc.entity;
		}
		break;
	case HN_EV_FILE_TRUNCATE:
	case HN_EV_FILE_DELETE:
	case HN_EV_FILE_SYMLINK:
		path = ev->path;
		break;
	case HN_EV_FILE_RENAME:
		if (ev->path && versioner_wants(ev->path))
			enqueue(v, ev->path, ev->proc.entity);   /* gone from there */
		path = ev->path2;
		break;
	case HN_EV_FILE_LINK:
		path = ev->path2;
		break;
	default:
		return;
	}
	if (path && versioner_wants(path))
		enqueue(v, path, ev->proc.entity);
}

struct versioner *versioner_open(struct hn_store *s, FILE *log)
{
	struct versioner *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return NULL;
	v->store = s;
	v->log = log ? log : stderr;
	v->last = calloc(LAST, sizeof(*v->last));
	v->buf = malloc(VERSION_MAX_BYTES);
	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->cv, NULL);
	if (!v->last || !v->buf)
		goto fail;
	r = hn_store_latest_versions(s, preload, v);
	if (r < 0 && r != -ENOENT)
		fprintf(v->log, "hinomi agent: file versions not read (%s): %s\n",
			strerror(-r), hn_store_errmsg(s));
	if (pthread_create(&v->thread, NULL, run, v) != 0)
		goto fail;
	v->running = true;
	return v;
fail:
	versioner_free(v);
	return NULL;
}

void versioner_stats(struct versioner *v, struct versioner_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!v)
		return;
	pthread_mutex_lock(&v->mu);
	*st = v->st;
	pthread_mutex_unlock(&v->mu);
}

void versioner_free(struct versioner *v)
{
	if (!v)
		return;
	if (v->running) {
		pthread_mutex_lock(&v->mu);
		atomic_store(&v->stop, true);
		pthread_cond_signal(&v->cv);
		pthread_mutex_unlock(&v->mu);
		pthread_join(v->thread, NULL);
	}
	for (unsigned i = 0; i < v->nq; i++)
		free(v->q[i].path);
	for (unsigned i = 0; v->last && i < LAST; i++)
		free(v->last[i].path);
	for (unsigned i = 0; i < COOKIES; i++)
		free(v->cookies[i].path);
	pthread_cond_destroy(&v->cv);
	pthread_mutex_destroy(&v->mu);
	free(v->last);
	free(v->buf);
	free(v);
}
