/*
 * scan_new.c - the agent scans new executables with YARA rules (scan.h),
 * when asked (`hinomi agent --scan-new`, or `scan-new on` in the config):
 * a file the first time it is run (by its identity: device, inode, size,
 * mtime), and a file made executable (created with an x bit, or chmod'ed
 * to one) as soon as that happens.  A hit is an alert, as a `hinomi scan`
 * hit is (rule id "yara:NAMESPACE:RULE", grouped by rule and path), and a
 * live line.
 *
 * This is detection after the fact, off the exec path: the main thread
 * only queues a path (SCAN_QUEUE at most; more are counted and dropped),
 * a thread of its own scans them one at a time.  Stopping a file from
 * running is the exec guard's (exec_guard.c).  Identities already scanned
 * are remembered (SEEN_SLOTS, direct-mapped: a collision only scans a file
 * again).
 */
#include "agent/agent_int.h"
#include "scan/scan.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCAN_QUEUE 256u
#define SEEN_SLOTS 16384u
#define COOKIES 256u

struct seen {
	uint64_t dev, ino, size, mtime;
};

struct scan_new {
	struct hn_store *store;
	FILE *live;
	struct hn_scan_rules *rules;
	pthread_t thread;
	bool running;
	atomic_bool stop;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *q[SCAN_QUEUE];
	unsigned head, count;
	struct scan_new_stats st;

	struct seen *seen;               /* main thread only */
	struct {                         /* main thread: executable files
					  * created, until their close says
					  * they were written */
		uint64_t cookie;
		char *path;
	} made[COOKIES];
};

static uint64_t wall_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void on_hit(const struct hn_scan_hit *h, void *arg)
{
	struct scan_new *sn = arg;
	struct hn_scan_alert sa;

	if (hn_scan_alert_make(h, wall_ns(), &sa) < 0)
		return;
	if (hn_store_submit_alert(sn->store, &sa.a) < 0) {
		pthread_mutex_lock(&sn->mu);
		sn->st.alerts_dropped++;
		pthread_mutex_unlock(&sn->mu);
	}
	pthread_mutex_lock(&sn->mu);
	sn->st.hits++;
	pthread_mutex_unlock(&sn->mu);
	if (sn->live) {
		fprintf(sn->live, "ALERT %-8s %s  (%s)\n", sa.a.rule_level ? sa.a.rule_level : "high",
			sa.a.rule_title ? sa.a.rule_title : "YARA", h->path ? h->path : "?");
		fflush(sn->live);
	}
	hn_scan_alert_release(&sa);
}

static void *run(void *arg)
{
	struct scan_new *sn = arg;

	pthread_mutex_lock(&sn->mu);
	while (!atomic_load(&sn->stop)) {
		char *path;

		if (!sn->count) {
			pthread_cond_wait(&sn->cv, &sn->mu);
			continue;
		}
		path = sn->q[sn->head];
		sn->head = (sn->head + 1) % SCAN_QUEUE;
		sn->count--;
		pthread_mutex_unlock(&sn->mu);
		{
			struct hn_scan_opts o = {
				.rules = sn->rules, .threads = 1, .hit = on_hit, .arg = sn,
			};
			struct hn_scan_stats st = { 0 };
			const char *paths[1] = { path };
			struct stat sb;

			/* a regular file only: chmod +x of a directory is no new
			 * program (and walking it would hold the thread) */
			if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
				hn_scan_files(&o, paths, 1, &st);
			pthread_mutex_lock(&sn->mu);
			sn->st.scanned += st.files;
			sn->st.errors += st.errors;
			pthread_mutex_unlock(&sn->mu);
		}
		free(path);
		pthread_mutex_lock(&sn->mu);
	}
	pthread_mutex_unlock(&sn->mu);
	return NULL;
}

static void enqueue(struct scan_new *sn, const char *path)
{
	char *p;

	pthread_mutex_lock(&sn->mu);
	if (sn->count == SCAN_QUEUE) {
		sn->st.queue_full++;
		pthread_mutex_unlock(&sn->mu);
		return;
	}
	p = strdup(path);
	if (p) {
		sn->q[(sn->head + sn->count) % SCAN_QUEUE] = p;
		sn->count++;
		sn->st.queued++;
		pthread_cond_signal(&sn->cv);
	}
	pthread_mutex_unlock(&sn->mu);
}

void scan_new_event(struct scan_new *sn, const struct hn_event *ev)
{
	unsigned slot;

	if (!sn || (ev->flags & HN_EVF_FAILED))
		return;
	slot = (unsigned)((ev->cookie * 0x9e3779b97f4a7c15ULL) >> 40) % COOKIES;
	if (!ev->path) {
		/* the close that says an open wrote: a created executable's
		 * content is there now */
		if (ev->type == HN_EV_FILE_OPEN_WRITE && ev->cookie &&
		    sn->made[slot].cookie == ev->cookie && sn->made[slot].path) {
			enqueue(sn, sn->made[slot].path);
			free(sn->made[slot].path);
			sn->made[slot].path = NULL;
			sn->made[slot].cookie = 0;
		}
		return;
	}
	switch (ev->type) {
	case HN_EV_PROCESS_START: {
		struct seen *s;
		uint64_t h;

		if (!ev->ino || (ev->flags & HN_EVF_MEMFD))
			return;
		h = (ev->dev * 0x9e3779b97f4a7c15ULL) ^ (ev->ino * 0xc2b2ae3d27d4eb4fULL) ^
		    ev->mtime ^ ev->size;
		s = &sn->seen[(h >> 20) % SEEN_SLOTS];
		if (s->dev == ev->dev && s->ino == ev->ino && s->size == ev->size &&
		    s->mtime == ev->mtime)
			return;   /* run before, as it is */
		*s = (struct seen){ ev->dev, ev->ino, ev->size, ev->mtime };
		enqueue(sn, ev->path);
		break;
	}
	case HN_EV_FILE_CHMOD:
		if (ev->mode & 0111)
			enqueue(sn, ev->path);
		break;
	case HN_EV_FILE_CREATE:
	case HN_EV_FILE_OPEN_WRITE:
		/* created executable: scanned once written (its close) */
		if ((ev->type == HN_EV_FILE_CREATE || (ev->flags & HN_EVF_CREATED)) &&
		    (ev->mode & 0111) && ev->cookie) {
			free(sn->made[slot].path);
			sn->made[slot].path = strdup(ev->path);
			sn->made[slot].cookie = ev->cookie;
		}
		break;
	default:
		break;
	}
}

struct scan_new *scan_new_open(const struct hn_agent_opts *o, const char *state_dir,
			       struct hn_store *s, FILE *err)
{
	struct scan_new *sn = calloc(1, sizeof(*sn));
	const char *paths[HN_AGENT_MAX_YARA_PATHS + 2];
	char near[4200], cache[4200];
	int n = 0, r;

	if (!sn)
		return NULL;
	sn->store = s;
	sn->live = o->live && !o->quiet ? o->live : NULL;
	pthread_mutex_init(&sn->mu, NULL);
	pthread_cond_init(&sn->cv, NULL);
	sn->seen = calloc(SEEN_SLOTS, sizeof(*sn->seen));
	if (!sn->seen)
		goto fail;
	for (int i = 0; i < o->nyara && i < HN_AGENT_MAX_YARA_PATHS; i++)
		paths[n++] = o->yara[i];
	if (!n)
		n = hn_scan_default_rules(paths, near, sizeof(near));
	if (!n) {
		fprintf(err, "hinomi agent: scan-new: no YARA rules found; new executables "
			"are not scanned\n");
		goto fail;
	}
	cache[0] = '\0';
	if (state_dir && access(state_dir, W_OK) == 0)
		snprintf(cache, sizeof(cache), "%s/yara", state_dir);
	r = hn_scan_rules_load(paths, n, cache[0] ? cache : NULL, NULL, NULL, &sn->rules);
	if (r < 0) {
		fprintf(err, "hinomi agent: scan-new: the YARA rules did not load (%s); new "
			"executables are not scanned\n", strerror(-r));
		goto fail;
	}
	if (pthread_create(&sn->thread, NULL, run, sn) != 0)
		goto fail;
	sn->running = true;
	{
		struct hn_scan_rules_stats rs;
		hn_scan_rules_stats(sn->rules, &rs);
		fprintf(err, "hinomi agent: scan-new: new executables scanned with %u YARA "
			"rules\n", rs.rules);
	}
	return sn;
fail:
	scan_new_free(sn);
	return NULL;
}

void scan_new_stats(struct scan_new *sn, struct scan_new_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!sn)
		return;
	pthread_mutex_lock(&sn->mu);
	*st = sn->st;
	st->on = true;
	pthread_mutex_unlock(&sn->mu);
}

void scan_new_free(struct scan_new *sn)
{
	if (!sn)
		return;
	if (sn->running) {
		pthread_mutex_lock(&sn->mu);
		atomic_store(&sn->stop, true);
		pthread_cond_signal(&sn->cv);
		pthread_mutex_unlock(&sn->mu);
		pthread_join(sn->thread, NULL);
	}
	while (sn->count) {
		free(sn->q[sn->head]);
		sn->head = (sn->head + 1) % SCAN_QUEUE;
		sn->count--;
	}
	for (unsigned i = 0; i < COOKIES; i++)
		free(sn->made[i].path);
	hn_scan_rules_free(sn->rules);
	pthread_cond_destroy(&sn->cv);
	pthread_mutex_destroy(&sn->mu);
	free(sn->seen);
	free(sn);
}
