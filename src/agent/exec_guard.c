/*
 * exec_guard.c - refusing the execution of blocked hashes (respond.h:
 * the block list) with fanotify FAN_OPEN_EXEC_PERM.
 *
 * A permission listener that stops answering stops every exec on the
 * host, so everything here is built to fail open:
 *
 *   manager thread (every 50 ms)              worker thread (its own dup of
 *   ───────────────────────────────          the group's fd) ───────────────
 *   list file changed? reload it;            poll, read ONE event (the rest
 *     not empty and no guard: start it        stay queued in the kernel, where
 *     empty and a guard: stop it              the manager can reach them)
 *   worker busy on one event for more        fstat → identity → cache
 *     than GUARD_DEADLINE_MS: answer it         (identity → SHA-256) or hash
 *     ALLOW itself (under the worker's          (GUARD_HASH_BUDGET_MS at most;
 *     lock: the fd cannot be reused under       over: allow, unverified)
 *     it), and allow whatever else is        → listed? DENY : ALLOW, unless
 *     queued, unchecked, until the worker       the manager answered already;
 *     is back ("fail-open")                     the fd closed under the lock
 *
 * Invariants:
 *  - No fanotify group exists while the list is empty: an unused guard
 *    costs nothing on the exec path.  The worker runs before the first
 *    mark is added.  Stopping a group first removes every mark (no new
 *    event can come), then answers ALLOW to what is queued and to the
 *    worker's event, and never waits long for the worker: one stuck in a
 *    read is left to finish on its own (its own dup of the fd keeps the
 *    group, with no mark, until it does); the manager never blocks.
 *  - Only local filesystems are marked: not network or FUSE ones, whose
 *    reads can hang (their execs are not guarded).
 *  - Every permission event gets an answer: from the worker, or from the
 *    manager once the worker is late.  When the agent stops, or is killed
 *    (even with SIGKILL), the kernel releases the group and allows every
 *    pending and later exec (a child the agent spawns gets none of its
 *    fds: logsrc/journal.c closes them before the exec); a kernel queue
 *    overflow allows too.
 *  - A file the guard cannot read in time, or larger than GUARD_MAX_FILE,
 *    is allowed and counted as unverified (status: exec_guard).
 *  - Only identities whose hash was computed in full are cached; the cache
 *    key includes size, mtime and ctime, so a rewritten file is hashed
 *    again.
 *  - What is refused is told to the main thread through a bounded ring
 *    (overflow counted); the worker never touches the store or the rules.
 *
 *  - Answers never wait behind anything: the manager answers first and
 *    only queues its log lines (printed by the main thread); a queue that
 *    has not been seen empty for half the deadline is answered too; a
 *    file not hashed within the budget is remembered as such (not hashed
 *    again at each exec); while a group exists the agent makes no core
 *    dump (a pipe core helper's exec would wait for an answer nobody
 *    gives), and its fd limit is raised (an event with no fd is denied).
 *
 * Limits: filesystems mounted after the guard started are marked at the
 * next change of the list; a memfd (an internal mount) is not guarded.
 * HINOMI_TEST_GUARD_STALL_MS makes the worker sleep on each event, for the
 * fail-open test only.
 */
#include "agent/agent_int.h"
#include "respond/respond.h"
#include "util/hex.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GUARD_CACHE 4096u
#define GUARD_HASH_BUDGET_MS 200u
#define GUARD_DEADLINE_MS 500u
#define GUARD_MAX_FILE (256ULL << 20)
#define GUARD_RING 64u
#define GUARD_TICK_MS 50u
#define GUARD_CHUNK (1u << 20)
#define GUARD_MSGS 16u

struct cache_ent {
	uint64_t dev, ino, size, mtime, ctime;
	char sha256[65];
	bool valid;
	bool unverified;         /* not hashed within the budget: allowed */
};

struct exec_guard;

/* One worker: a thread, its own dup of the group's fd, its cache.  The
 * busy state (bmu) is what the manager needs to answer for it. */
struct worker {
	struct exec_guard *g;
	pthread_t thread;
	int fd;
	atomic_bool stop, done;
	pthread_mutex_t bmu;
	bool busy, answered;             /* an event in hand; answered by the
					  * manager (late) */
	int busy_fd;
	uint64_t busy_since;             /* ms, monotonic */
	atomic_uint_fast64_t last_empty; /* ms: the queue last seen empty */
	struct cache_ent *cache;
	unsigned char *buf;              /* GUARD_CHUNK */
};

#define GUARD_RETIRED 8

struct exec_guard {
	char state_dir[4096];
	FILE *log;
	_Atomic(guard_entity_fn) entity_of;   /* cleared when the agent goes */
	void *entity_arg;
	pthread_t mgr;
	bool mgr_running;
	atomic_bool stop;
	int fan;                         /* -1: no group */
	unsigned stall_ms;
	struct worker *w;                /* the group's worker (manager's) */
	struct worker *retired[GUARD_RETIRED];   /* stuck when their group
						  * stopped: left to end */
	atomic_int live;                 /* worker threads not ended */

	pthread_mutex_t mu;              /* list, ring, counters below */
	struct hn_blocklist list;
	struct stat list_st;
	bool list_seen;
	struct guard_blocked ring[GUARD_RING];
	unsigned head, count;
	struct guard_stats st;

	bool failing_open;               /* manager: said so once */
	/* messages for the log, printed by the main thread (guard_take):
	 * the manager never writes to a pipe that could block it */
	char msgs[GUARD_MSGS][256];
	unsigned nmsgs;
	uint64_t msgs_dropped;
};

struct exec_guard;
static void say(struct exec_guard *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

/* A line for the log, queued (GUARD_MSGS at most; more are counted). */
static void say(struct exec_guard *g, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&g->mu);
	if (g->nmsgs < GUARD_MSGS) {
		va_start(ap, fmt);
		vsnprintf(g->msgs[g->nmsgs++], sizeof(g->msgs[0]), fmt, ap);
		va_end(ap);
	} else {
		g->msgs_dropped++;
	}
	pthread_mutex_unlock(&g->mu);
}

static void answer(int fan, int fd, uint32_t verdict)
{
	struct fanotify_response r = { .fd = fd, .response = verdict };

	/* ENOENT: answered already (by the manager, the worker being late) */
	if (write(fan, &r, sizeof(r)) < 0 && errno != ENOENT)
		(void)0;
}

/* ---- the worker ---- */

static unsigned cache_slot(uint64_t dev, uint64_t ino)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ULL) ^ (ino * 0xc2b2ae3d27d4eb4fULL);

	return (unsigned)(h >> 40) % GUARD_CACHE;
}

/* SHA-256 of fd within the budget: 0, -ETIME over it, -errno. */
static int hash_fd(struct worker *w, int fd, uint64_t size, char out[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint64_t t0 = mono_ms(), off = 0;
	unsigned char dg[32];
	unsigned dn = 0;
	int rc = -EIO;

	if (!md)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while (off < size) {
		ssize_t n = pread(fd, w->buf, GUARD_CHUNK, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, w->buf, (size_t)n) != 1)
			goto out;
		off += (uint64_t)n;
		if (mono_ms() - t0 > GUARD_HASH_BUDGET_MS) {
			rc = -ETIME;
			goto out;
		}
	}
	if (off != size || EVP_DigestFinal_ex(md, dg, &dn) != 1 || dn != 32)
		goto out;   /* the file changed size while read: not trusted */
	hn_hex(dg, 32, out);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

/* The refused process, read while it waits in execve: ppid, comm (best
 * effort: zeros when it cannot be read). */
static void who(struct guard_blocked *b)
{
	char path[64], buf[1024], *p, *end;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", b->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strchr(buf, '(');
	end = strrchr(buf, ')');
	if (!p || !end || end < p)
		return;
	snprintf(b->comm, sizeof(b->comm), "%.*s", (int)(end - p - 1), p + 1);
	p = end + 2;
	for (field = 3; field <= 4 && *p; field++) {
		char *tok = p;
		p = strchr(p, ' ');
		if (p)
			*p++ = '\0';
		else
			p = tok + strlen(tok);
		if (field == 4)
			b->ppid = (uint32_t)strtoul(tok, NULL, 10);
	}
}

static void push_blocked(struct exec_guard *g, const struct guard_blocked *b)
{
	pthread_mutex_lock(&g->mu);
	if (g->count == GUARD_RING) {
		g->st.ring_dropped++;
	} else {
		g->ring[(g->head + g->count) % GUARD_RING] = *b;
		g->count++;
	}
	pthread_mutex_unlock(&g->mu);
}

/* A file of the system's own directories (its path as the kernel has it). */
static bool system_path(const char *p)
{
	static const char *const sys[] = {
		"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/lib/", "/usr/lib64/",
		"/usr/lib32/", "/usr/libexec/", "/lib/", "/lib64/", "/lib32/", NULL,
	};

	for (int i = 0; sys[i]; i++)
		if (!strncmp(p, sys[i], strlen(sys[i])))
			return true;
	return false;
}

static uint32_t decide(struct worker *w, int fd, uint32_t pid)
{
	struct exec_guard *g = w->g;
	struct cache_ent *c;
	struct stat st;
	char sha[65];
	bool listed;
	int rc;

	if (g->stall_ms)
		usleep(g->stall_ms * 1000u);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return FAN_ALLOW;
	c = &w->cache[cache_slot(st.st_dev, st.st_ino)];
	if (c->valid && c->dev == st.st_dev && c->ino == st.st_ino &&
	    c->size == (uint64_t)st.st_size &&
	    c->mtime == (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec &&
	    c->ctime == (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + (uint64_t)st.st_ctim.tv_nsec) {
		if (c->unverified) {
			/* not hashed in time before: not again (a user must not
			 * slow every exec down by running a huge file) */
			pthread_mutex_lock(&g->mu);
			g->st.unverified++;
			pthread_mutex_unlock(&g->mu);
			return FAN_ALLOW;
		}
		memcpy(sha, c->sha256, sizeof(sha));
		pthread_mutex_lock(&g->mu);
		g->st.cache_hits++;
		pthread_mutex_unlock(&g->mu);
	} else {
		if ((uint64_t)st.st_size > GUARD_MAX_FILE)
			rc = -EFBIG;
		else
			rc = hash_fd(w, fd, (uint64_t)st.st_size, sha);
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		c->size = (uint64_t)st.st_size;
		c->mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
		c->ctime = (uint64_t)st.st_ctim.tv_sec * 1000000000ULL + (uint64_t)st.st_ctim.tv_nsec;
		c->valid = true;
		c->unverified = rc < 0;
		if (rc < 0) {
			c->sha256[0] = '\0';
			pthread_mutex_lock(&g->mu);
			g->st.unverified++;
			pthread_mutex_unlock(&g->mu);
			return FAN_ALLOW;
		}
		memcpy(c->sha256, sha, sizeof(sha));
	}
	pthread_mutex_lock(&g->mu);
	g->st.checked++;
	listed = hn_blocklist_find(&g->list, sha) != NULL;
	pthread_mutex_unlock(&g->mu);
	if (listed) {
		char link[64], path[4096];
		ssize_t n;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = '\0';
		if (system_path(path)) {
			/* a copy of a system program was blocked (an attacker's
			 * setuid bash, say): the copy is refused, the system's
			 * own never is, or the host would stop working */
			pthread_mutex_lock(&g->mu);
			g->st.protected_++;
			pthread_mutex_unlock(&g->mu);
			return FAN_ALLOW;
		}
	}
	if (listed) {
		pthread_mutex_lock(&g->mu);
		g->st.blocked++;
		pthread_mutex_unlock(&g->mu);
		struct guard_blocked b = {
			.time = wall_ns(),
			.pid = pid,
			.dev = st.st_dev,
			.ino = st.st_ino,
			.size = (uint64_t)st.st_size,
			.mtime = c->mtime,
			.mode = st.st_mode,
		};
		char link[64];
		ssize_t n;

		memcpy(b.sha256, sha, sizeof(sha));
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, b.path, sizeof(b.path) - 1);
		b.path[n > 0 ? n : 0] = '\0';
		who(&b);
		{
			guard_entity_fn fn = atomic_load(&g->entity_of);
			if (fn)
				b.entity = fn(b.pid, g->entity_arg);
		}
		push_blocked(g, &b);
		return FAN_DENY;
	}
	return FAN_ALLOW;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct exec_guard *g = w->g;

	while (!atomic_load(&w->stop)) {
		struct pollfd p = { .fd = w->fd, .events = POLLIN };
		struct fanotify_event_metadata md;
		uint32_t v;
		ssize_t n;

		if (poll(&p, 1, 100) <= 0) {
			atomic_store(&w->last_empty, mono_ms());
			continue;
		}
		/* one event: the others stay queued, where the manager can
		 * answer them if this one takes too long */
		n = read(w->fd, &md, sizeof(md));
		if (n < (ssize_t)FAN_EVENT_METADATA_LEN) {
			if (n < 0 && (errno == EMFILE || errno == ENFILE)) {
				/* no fd for the event: the kernel denied that exec */
				pthread_mutex_lock(&g->mu);
				g->st.errors++;
				pthread_mutex_unlock(&g->mu);
			} else {
				atomic_store(&w->last_empty, mono_ms());   /* EAGAIN */
			}
			continue;
		}
		if (md.vers != FANOTIFY_METADATA_VERSION) {
			if (md.fd >= 0) {
				answer(w->fd, md.fd, FAN_ALLOW);
				close(md.fd);
			}
			continue;
		}
		if (md.fd < 0) {
			pthread_mutex_lock(&g->mu);
			g->st.overflows++;   /* the kernel allowed what it dropped */
			pthread_mutex_unlock(&g->mu);
			continue;
		}
		pthread_mutex_lock(&w->bmu);
		w->busy = true;
		w->answered = false;
		w->busy_fd = md.fd;
		w->busy_since = mono_ms();
		pthread_mutex_unlock(&w->bmu);
		v = decide(w, md.fd, (uint32_t)md.pid);
		/* answered and closed under the lock: the manager never sees
		 * this fd number again once it may be another event's */
		pthread_mutex_lock(&w->bmu);
		if (!w->answered)
			answer(w->fd, md.fd, v);
		w->busy = false;
		close(md.fd);
		pthread_mutex_unlock(&w->bmu);
		{
			int left = 0;
			if (ioctl(w->fd, FIONREAD, &left) == 0 && left == 0)
				atomic_store(&w->last_empty, mono_ms());
		}
	}
	close(w->fd);
	w->fd = -1;
	atomic_store(&w->done, true);
	atomic_fetch_sub(&g->live, 1);
	return NULL;
}

static void worker_free(struct worker *w)
{
	if (!w)
		return;
	pthread_mutex_destroy(&w->bmu);
	free(w->cache);
	free(w->buf);
	free(w);
}

/* A worker on its own dup of fan.  NULL on failure. */
static struct worker *worker_start(struct exec_guard *g, int fan)
{
	struct worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->g = g;
	w->fd = -1;
	atomic_init(&w->last_empty, mono_ms());
	pthread_mutex_init(&w->bmu, NULL);
	w->cache = calloc(GUARD_CACHE, sizeof(*w->cache));
	w->buf = malloc(GUARD_CHUNK);
	if (!w->cache || !w->buf || (w->fd = fcntl(fan, F_DUPFD_CLOEXEC, 3)) < 0)
		goto fail;
	atomic_fetch_add(&g->live, 1);
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		atomic_fetch_sub(&g->live, 1);
		goto fail;
	}
	return w;
fail:
	if (w->fd >= 0)
		close(w->fd);
	worker_free(w);
	return NULL;
}

/* The worker's event, late: ALLOW, unless it was answered.  1 when this
 * answered it. */
static int answer_late(struct exec_guard *g, struct worker *w, uint64_t deadline_ms)
{
	int r = 0;

	pthread_mutex_lock(&w->bmu);
	if (w->busy && !w->answered && mono_ms() > w->busy_since + deadline_ms) {
		answer(g->fan, w->busy_fd, FAN_ALLOW);
		w->answered = true;
		r = 1;
	}
	pthread_mutex_unlock(&w->bmu);
	return r;
}

/* Whatever is queued: ALLOW, unchecked.  How many. */
static uint64_t allow_queued(struct exec_guard *g)
{
	struct fanotify_event_metadata md;
	uint64_t n_allowed = 0;

	while (read(g->fan, &md, sizeof(md)) >= (ssize_t)FAN_EVENT_METADATA_LEN) {
		if (md.fd < 0)
			continue;
		answer(g->fan, md.fd, FAN_ALLOW);
		close(md.fd);
		n_allowed++;
	}
	return n_allowed;
}

/* ---- the group ---- */

/* Not marked: pseudo file systems (nothing to run there), and network
 * and FUSE ones, whose reads can hang the worker. */
static bool unmarked_fs(const char *t)
{
	static const char *const skip[] = {
		"proc", "sysfs", "cgroup", "cgroup2", "devpts", "mqueue", "debugfs",
		"tracefs", "securityfs", "pstore", "bpf", "configfs", "fusectl",
		"hugetlbfs", "autofs", "binfmt_misc", "efivarfs", "nsfs", "rpc_pipefs",
		"selinuxfs",
		"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "afs",
		"ocfs2", "gfs2", "lustre", "fuseblk", "virtiofs", NULL,
	};

	if (strncmp(t, "fuse", 4) == 0)
		return true;   /* fuse, fuse.sshfs, ... */
	for (int i = 0; skip[i]; i++)
		if (strcmp(t, skip[i]) == 0)
			return true;
	return false;
}

/* mountinfo's octal escapes (\040 for a space) undone in place. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
}

/* Mark every local filesystem; the number marked. */
static int mark_all(struct exec_guard *g)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	int marked = 0, failed = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - "), *mp, *fstype, *save;
		int i;

		if (!sep)
			continue;
		*sep = '\0';
		fstype = strtok_r(sep + 3, " ", &save);
		mp = strtok_r(line, " ", &save);
		for (i = 1; mp && i < 5; i++)
			mp = strtok_r(NULL, " ", &save);
		if (!mp || !fstype || unmarked_fs(fstype))
			continue;
		unescape(mp);
		if (fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM,
				  AT_FDCWD, mp) == 0 ||
		    fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC_PERM,
				  AT_FDCWD, mp) == 0)
			marked++;
		else
			failed++;
	}
	fclose(f);
	pthread_mutex_lock(&g->mu);
	g->st.marks = (unsigned)marked;
	g->st.marks_failed = (unsigned)failed;
	pthread_mutex_unlock(&g->mu);
	return marked;
}

/* End the group without ever waiting long: marks out (no new event),
 * what is queued and the worker's event answered ALLOW, the worker given
 * GUARD_STOP_MS to end; one stuck in a read is retired (its dup keeps the
 * group, with no mark, until its read returns). */
#define GUARD_STOP_MS 300u
static void group_stop(struct exec_guard *g)
{
	struct worker *w = g->w;
	uint64_t until;

	if (g->fan < 0)
		return;
	fanotify_mark(g->fan, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	fanotify_mark(g->fan, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0, AT_FDCWD, NULL);
	fanotify_mark(g->fan, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	if (w)
		atomic_store(&w->stop, true);
	until = mono_ms() + GUARD_STOP_MS;
	do {
		allow_queued(g);
		if (w)
			answer_late(g, w, 0);
		if (!w || atomic_load(&w->done))
			break;
		usleep(5000);
	} while (mono_ms() < until);
	allow_queued(g);
	if (w && atomic_load(&w->done)) {
		pthread_join(w->thread, NULL);
		worker_free(w);
	} else if (w) {
		int i;
		for (i = 0; i < GUARD_RETIRED && g->retired[i]; i++)
			;
		if (i < GUARD_RETIRED)
			g->retired[i] = w;
		else
			pthread_detach(w->thread);   /* and leaked: it ends on its own */
		say(g, "exec guard: its worker is stuck in a read; "
			"left to finish on its own (its execs were allowed)");
	}
	g->w = NULL;
	close(g->fan);
	g->fan = -1;
	pthread_mutex_lock(&g->mu);
	g->st.active = false;
	pthread_mutex_unlock(&g->mu);
	say(g, "exec guard off");
}

/* Retired workers that have ended: joined and freed. */
static void reap_retired(struct exec_guard *g)
{
	for (int i = 0; i < GUARD_RETIRED; i++)
		if (g->retired[i] && atomic_load(&g->retired[i]->done)) {
			pthread_join(g->retired[i]->thread, NULL);
			worker_free(g->retired[i]);
			g->retired[i] = NULL;
		}
}

static void group_start(struct exec_guard *g, unsigned nhashes)
{
	int marked;

	/* a crash must not wait for a core-dump helper's exec, which
	 * nobody would answer: no core dump from here on */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	{
		/* each event needs an fd; without one the kernel denies */
		struct rlimit rl;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	g->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->fan < 0) {
		say(g, "exec guard: fanotify: %s; blocked hashes are "
			"NOT enforced", strerror(errno));
		pthread_mutex_lock(&g->mu);
		g->st.errors++;
		pthread_mutex_unlock(&g->mu);
		return;
	}
	/* the worker first: no mark without someone to answer it */
	g->w = worker_start(g, g->fan);
	if (!g->w) {
		say(g, "exec guard: no worker; blocked hashes are NOT "
			"enforced");
		close(g->fan);
		g->fan = -1;
		return;
	}
	marked = mark_all(g);
	if (marked == 0) {
		say(g, "exec guard: no filesystem could be marked; "
			"blocked hashes are NOT enforced");
		group_stop(g);
		return;
	}
	pthread_mutex_lock(&g->mu);
	g->st.active = true;
	pthread_mutex_unlock(&g->mu);
	say(g, "exec guard on: %u blocked hash%s, %d filesystem%s",
		nhashes, nhashes == 1 ? "" : "es", marked, marked == 1 ? "" : "s");
}

/* The list file changed (or was never read): read it again. */
static void reload(struct exec_guard *g)
{
	char path[PATH_MAX], err[512];
	struct hn_blocklist nl = { 0 }, old;
	struct stat st;
	bool have;
	int rc;

	if (hn_blocklist_path(g->state_dir, path, sizeof(path)) < 0)
		return;
	have = stat(path, &st) == 0;
	if (g->list_seen && ((!have && g->list_st.st_ino == 0) ||
	    (have && st.st_ino == g->list_st.st_ino && st.st_size == g->list_st.st_size &&
	     st.st_mtim.tv_sec == g->list_st.st_mtim.tv_sec &&
	     st.st_mtim.tv_nsec == g->list_st.st_mtim.tv_nsec)))
		return;
	if (have)
		g->list_st = st;
	else
		memset(&g->list_st, 0, sizeof(g->list_st));
	g->list_seen = true;
	rc = hn_blocklist_load(g->state_dir, &nl, err, sizeof(err));
	if (rc < 0 && err[0])
		say(g, "exec guard: %s", err);
	if (rc < 0 && rc != -EINVAL)
		return;   /* unreadable: keep what is enforced */
	pthread_mutex_lock(&g->mu);
	old = g->list;
	g->list = nl;
	g->st.hashes = (unsigned)nl.n;
	pthread_mutex_unlock(&g->mu);
	hn_blocklist_release(&old);
	if (nl.n && g->fan < 0)
		group_start(g, (unsigned)nl.n);
	else if (!nl.n && g->fan >= 0)
		group_stop(g);
	else if (nl.n && mark_all(g) >= 0)   /* and mounts made since */
		say(g, "exec guard: %d blocked hash%s", nl.n,
			nl.n == 1 ? "" : "es");
}

/* The worker is late: its event and whatever is queued, answered ALLOW
 * unchecked. */
static void fail_open(struct exec_guard *g, uint64_t deadline_ms)
{
	uint64_t n_allowed;

	/* the answers first: nothing may stand before them */
	n_allowed = (uint64_t)answer_late(g, g->w, deadline_ms);
	n_allowed += allow_queued(g);
	pthread_mutex_lock(&g->mu);
	g->st.fail_open += n_allowed;
	pthread_mutex_unlock(&g->mu);
	if (!g->failing_open) {
		say(g, "exec guard: answers took over %u ms; allowing execs unchecked "
		    "until it keeps up", GUARD_DEADLINE_MS);
		g->failing_open = true;
	}
}

/* The worker is late: its event is older than the deadline, or events
 * have waited in the queue, never seen empty, for half of it (each quick,
 * but too many: the queue's wait is bounded too). */
static bool worker_late(struct exec_guard *g, struct worker *w)
{
	uint64_t now = mono_ms();
	bool late;
	int queued = 0;

	pthread_mutex_lock(&w->bmu);
	late = w->busy && now > w->busy_since + GUARD_DEADLINE_MS;
	pthread_mutex_unlock(&w->bmu);
	if (!late && now > atomic_load(&w->last_empty) + GUARD_DEADLINE_MS / 2 &&
	    ioctl(g->fan, FIONREAD, &queued) == 0 && queued > 0)
		late = true;
	return late;
}

static void *mgr_main(void *arg)
{
	struct exec_guard *g = arg;
	uint64_t last_reload = 0;

	while (!atomic_load(&g->stop)) {
		uint64_t now = mono_ms();

		if (now - last_reload >= 250) {
			reload(g);
			reap_retired(g);
			last_reload = now;
		}
		if (g->fan >= 0 && g->w && worker_late(g, g->w)) {
			fail_open(g, GUARD_DEADLINE_MS);
		} else if (g->failing_open) {
			say(g, "exec guard: answering in time again");
			g->failing_open = false;
		}
		usleep(GUARD_TICK_MS * 1000u);
	}
	group_stop(g);
	return NULL;
}

struct exec_guard *guard_open(const char *state_dir, FILE *log, guard_entity_fn fn,
			      void *arg)
{
	struct exec_guard *g = calloc(1, sizeof(*g));
	const char *stall = getenv("HINOMI_TEST_GUARD_STALL_MS");

	if (!g)
		return NULL;
	g->fan = -1;
	g->log = log ? log : stderr;
	atomic_init(&g->entity_of, fn);
	g->entity_arg = arg;
	snprintf(g->state_dir, sizeof(g->state_dir), "%s", state_dir);
	if (stall)
		g->stall_ms = (unsigned)strtoul(stall, NULL, 10);
	pthread_mutex_init(&g->mu, NULL);
	/* the list as it is now, before the agent says it is ready */
	reload(g);
	if (pthread_create(&g->mgr, NULL, mgr_main, g) != 0)
		goto fail;
	g->mgr_running = true;
	return g;
fail:
	group_stop(g);
	if (atomic_load(&g->live))
		return NULL;   /* a worker still runs: g stays (leaked) */
	hn_blocklist_release(&g->list);
	pthread_mutex_destroy(&g->mu);
	free(g);
	return NULL;
}

/* The guard's queued log lines, printed (the main thread's). */
static void print_said(struct exec_guard *g)
{
	char msgs[GUARD_MSGS][256];
	unsigned nm;

	pthread_mutex_lock(&g->mu);
	nm = g->nmsgs;
	memcpy(msgs, g->msgs, sizeof(msgs[0]) * nm);
	g->nmsgs = 0;
	pthread_mutex_unlock(&g->mu);
	for (unsigned i = 0; i < nm; i++)
		fprintf(g->log, "hinomi agent: %s\n", msgs[i]);
	if (nm)
		fflush(g->log);
}

int guard_take(struct exec_guard *g, struct guard_blocked *out, int max)
{
	int n = 0;

	if (!g)
		return 0;
	print_said(g);
	pthread_mutex_lock(&g->mu);
	while (g->count && n < max) {
		out[n++] = g->ring[g->head];
		g->head = (g->head + 1) % GUARD_RING;
		g->count--;
	}
	pthread_mutex_unlock(&g->mu);
	return n;
}

void guard_stats(struct exec_guard *g, struct guard_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	*st = g->st;
	pthread_mutex_unlock(&g->mu);
}

void guard_free(struct exec_guard *g)
{
	if (!g)
		return;
	/* a stuck worker must not call back into an agent that is gone */
	atomic_store(&g->entity_of, NULL);
	if (g->mgr_running) {
		atomic_store(&g->stop, true);
		pthread_join(g->mgr, NULL);   /* it stops the group, never long */
	}
	group_stop(g);
	print_said(g);
	/* a stuck worker still uses g: give it a moment, else leave g (the
	 * process is ending; its dup keeps a group with no mark) */
	for (int i = 0; i < 100 && atomic_load(&g->live); i++)
		usleep(10000);
	reap_retired(g);
	if (atomic_load(&g->live))
		return;
	hn_blocklist_release(&g->list);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
