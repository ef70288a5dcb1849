/*
 * ioc_watch.c - the agent's IOC matching (agent_int.h: iocw).
 *
 * Addresses and DNS names are matched as their events pass, on the main
 * thread: a few hash-table probes (ioc.h).  Hashes take longer:
 *
 * Executables.  The exec hasher (enrich/hasher.h, shared with the store's
 * hash enrichment) knows most executables at exec time: then the digests
 * are matched at once.  Otherwise the event is copied into a wait list
 * keyed by its file identity, and matched when the worker's result comes
 * in.  With SHA-1 or MD5 indicators loaded the exec hasher computes those
 * too, in the same read.
 *
 * Files written.  A write-open's path is remembered by (process, cookie)
 * (the close that says "written" carries only the cookie); at that close
 * the file is handed to a second hasher, of its own, by path and inode.
 * Why a second one: written files would evict executables from the exec
 * cache (a build writes thousands of objects), and their hashes are not
 * the store's to keep.  Why at close, by inode, hashed when the worker
 * gets to it: the content that matters is what the writer left, and a
 * file written many times while its job waits is hashed once, as it ends
 * up (the hasher refuses a second job for a queued inode; the wait list
 * keeps the latest writer's close).  A file that changes while it is read
 * is not reported: its next close queues it again.  Empty files are not
 * hashed.
 *
 * Bounds, each drop counted (iocw_stats, `hinomi status`):
 *   OPENS      write-opens whose path is remembered (direct-mapped: a
 *              collision forgets the older; its close is "unknown")
 *   WAITS      events waiting for a hash, at most WAITS_PER_KEY per file;
 *              one whose hash has not come in WAIT_NS is given up
 *   RESULTS    hash results not yet matched
 *   written-file hasher: WQUEUE jobs, WCACHE identities remembered,
 *              files up to WMAX_BYTES
 * The written-file hasher exists only once a hash indicator is loaded.
 *
 * SIGHUP (iocw_reload): the lists are read again and the new set replaces
 * the old, on the main thread, which alone matches; the hashers' threads
 * only queue results, and whether to is read under the lock.  Events
 * waiting for a hash are matched against the new set when it comes.
 */
#include "agent/agent_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ioc/ioc.h"
#include "util/json.h"
#include "util/strbuf.h"

#define OPENS          4096
#define WAITS          1024
#define WAITS_PER_KEY  64
#define WAIT_NS        (60ULL * 1000000000ULL)
#define RESULTS        1024
#define WQUEUE         256
#define WCACHE         4096
#define WMAX_BYTES     (64ULL << 20)
#define FAST_POLL_MS   20
#define FAST_POLL_NS   (2ULL * 1000000000ULL)

enum { SRC_EXEC = 1, SRC_WRITTEN = 2 };

struct open_slot {
	uint64_t entity, cookie;
	char *path;
};

struct wait {
	uint8_t src;                 /* SRC_*; 0: free */
	struct hn_file_key k;        /* written: dev and ino only */
	struct hn_event *ev;         /* a copy */
	char *path;                  /* written: the file (ev has none) */
	unsigned jobs;               /* written: hasher jobs still to come */
	uint64_t since;              /* CLOCK_MONOTONIC ns */
};

struct result {
	uint8_t src;
	bool ok;
	struct hn_file_key k;
	struct hn_digests d;
};

struct iocw {
	struct hn_ioc_set *set;
	struct hn_hasher *exec, *written;
	unsigned want;               /* HN_DIGEST_* beyond SHA-256 */
	bool hashes;                 /* any hash indicator */
	iocw_alert_fn fn;
	void *arg;
	struct open_slot opens[OPENS];
	struct wait waits[WAITS];
	unsigned nwaits;
	uint64_t last_wait;          /* when the newest wait began */
	pthread_mutex_t mu;          /* guards results and results_dropped */
	struct result *results;
	unsigned nresults;
	struct iocw_stats st;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- hits ---- */

struct hit_ctx {
	struct iocw *w;
	const struct hn_event *ev;
};

static void on_hit(const struct hn_ioc *ioc, void *arg)
{
	struct hit_ctx *h = arg;
	struct hn_ioc_rule r;

	hn_ioc_rule_make(ioc, &r);
	h->w->st.hits++;
	h->w->fn(&r.info, h->ev, h->w->arg);
}

static void match_digests(struct iocw *w, const struct hn_event *ev, const struct hn_digests *d)
{
	struct hit_ctx h = { w, ev };

	if (d->sha256[0])
		hn_ioc_match_hash(w->set, HN_IOC_SHA256, d->sha256, ev->time, on_hit, &h);
	if (d->sha1[0])
		hn_ioc_match_hash(w->set, HN_IOC_SHA1, d->sha1, ev->time, on_hit, &h);
	if (d->md5[0])
		hn_ioc_match_hash(w->set, HN_IOC_MD5, d->md5, ev->time, on_hit, &h);
}

/* ---- events waiting for a hash ---- */

static void wait_release(struct iocw *w, unsigned i)
{
	hn_event_free(w->waits[i].ev);
	free(w->waits[i].path);
	w->waits[i] = w->waits[--w->nwaits];
	memset(&w->waits[w->nwaits], 0, sizeof(w->waits[0]));
}

static bool wait_is(const struct wait *x, uint8_t src, const struct hn_file_key *k)
{
	if (x->src != src || x->k.dev != k->dev || x->k.ino != k->ino)
		return false;
	return src == SRC_WRITTEN || (x->k.size == k->size && x->k.mtime == k->mtime);
}

/* Keep a copy of ev until the hash of k comes (path: a written file's;
 * taken over).  A written file keeps one wait, its latest close, until
 * every job queued for it (new_job: one more) has come back. */
static void wait_add(struct iocw *w, uint8_t src, const struct hn_file_key *k,
		     const struct hn_event *ev, char *path, bool new_job)
{
	struct hn_event *cp;
	unsigned same = 0;

	for (unsigned i = 0; i < w->nwaits; i++) {
		if (!wait_is(&w->waits[i], src, k))
			continue;
		if (src == SRC_WRITTEN) {
			cp = hn_event_dup(ev);
			if (!cp) {
				w->st.waits_dropped++;
				free(path);
				return;
			}
			hn_event_free(w->waits[i].ev);
			free(w->waits[i].path);
			w->waits[i].ev = cp;
			w->waits[i].path = path;
			w->waits[i].jobs += new_job;
			w->waits[i].since = w->last_wait = mono_ns();
			return;
		}
		same++;
	}
	if (same >= WAITS_PER_KEY || w->nwaits == WAITS || !(cp = hn_event_dup(ev))) {
		w->st.waits_dropped++;
		free(path);
		return;
	}
	w->last_wait = mono_ns();
	w->waits[w->nwaits++] = (struct wait){ src, *k, cp, path, 1, w->last_wait };
}

/* A result: match every event waiting for it.  A written file's wait
 * stays while another job for it is to come (written again meanwhile). */
static void resolve(struct iocw *w, const struct result *r)
{
	for (unsigned i = 0; i < w->nwaits;) {
		struct wait *x = &w->waits[i];
		if (!wait_is(x, r->src, &r->k)) {
			i++;
			continue;
		}
		if (r->ok) {
			struct hn_event *ev = x->ev;
			if (r->src == SRC_EXEC)
				memcpy(ev->sha256, r->d.sha256, sizeof(ev->sha256));
			else
				ev->path = x->path;   /* the close has none; freed with x */
			match_digests(w, ev, &r->d);
		}
		if (r->src == SRC_WRITTEN && x->jobs > 1) {
			x->jobs--;
			i++;
			continue;
		}
		wait_release(w, i);
	}
}

static void push_result(struct iocw *w, uint8_t src, const struct hn_file_key *k,
			const struct hn_digests *d)
{
	pthread_mutex_lock(&w->mu);
	if (!w->hashes) {
		/* no hash indicator (since a reload): nothing waits for it */
	} else if (w->nresults < RESULTS) {
		struct result *r = &w->results[w->nresults++];
		r->src = src;
		r->ok = d != NULL;
		r->k = *k;
		if (d)
			r->d = *d;
	} else {
		w->st.results_dropped++;
	}
	pthread_mutex_unlock(&w->mu);
}

void iocw_exec_hashed(struct iocw *w, const struct hn_file_key *k,
		      const struct hn_digests *d)
{
	if (w)
		push_result(w, SRC_EXEC, k, d);
}

static void written_hashed(const struct hn_file_key *k, const struct hn_digests *d, void *arg)
{
	push_result(arg, SRC_WRITTEN, k, d);
}

void iocw_poll(struct iocw *w)
{
	struct result *batch;
	unsigned n;
	uint64_t now;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	n = w->nresults;
	batch = n ? malloc((size_t)n * sizeof(*batch)) : NULL;
	if (batch) {
		memcpy(batch, w->results, (size_t)n * sizeof(*batch));
		w->nresults = 0;
	}
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; batch && i < n; i++)
		resolve(w, &batch[i]);
	free(batch);
	/* hashes that never came */
	now = mono_ns();
	for (unsigned i = 0; i < w->nwaits;) {
		if (now - w->waits[i].since > WAIT_NS) {
			w->st.waits_expired++;
			wait_release(w, i);
		} else {
			i++;
		}
	}
}

/* A hash is usually back within milliseconds: the loop looks every
 * FAST_POLL_MS for FAST_POLL_NS after the newest wait began, then at its
 * own pace (a hash that takes longer, a big file, waits a little more). */
int iocw_poll_ms(struct iocw *w, int dflt)
{
	if (!w || !w->nwaits || dflt <= FAST_POLL_MS ||
	    mono_ns() - w->last_wait > FAST_POLL_NS)
		return dflt;
	return FAST_POLL_MS;
}

void iocw_drain(struct iocw *w)
{
	if (!w)
		return;
	if (w->written)
		hn_hasher_drain(w->written);
	iocw_poll(w);
}

/* ---- events ---- */

static struct open_slot *open_slot(struct iocw *w, uint64_t entity, uint64_t cookie)
{
	uint64_t h = (entity ^ (cookie * 0x9E3779B97F4A7C15ULL)) * 0xff51afd7ed558ccdULL;

	return &w->opens[(h >> 40) % OPENS];
}

static void on_exec(struct iocw *w, const struct hn_event *ev)
{
	struct hn_file_key k = { ev->dev, ev->ino, ev->size, ev->mtime };
	struct hn_digests d;
	int r;

	if (!w->want && ev->sha256[0]) {
		memset(&d, 0, sizeof(d));
		memcpy(d.sha256, ev->sha256, sizeof(d.sha256));
		match_digests(w, ev, &d);
		return;
	}
	if (hn_hasher_lookup_all(w->exec, &k, &d)) {
		match_digests(w, ev, &d);
		return;
	}
	r = hn_hasher_submit(w->exec, &k, ev->path, ev->proc.pid);
	/* hashed between the look-up and the submit */
	if (r == -EALREADY && hn_hasher_lookup_all(w->exec, &k, &d)) {
		match_digests(w, ev, &d);
		return;
	}
	if (r == -ENOSPC) {
		w->st.waits_dropped++;
		return;
	}
	wait_add(w, SRC_EXEC, &k, ev, NULL, true);
}

static void on_written(struct iocw *w, const struct hn_event *ev)
{
	struct open_slot *o = open_slot(w, ev->proc.entity, ev->cookie);
	struct hn_file_key k = { ev->dev, ev->ino, 0, 0 };
	char *path;
	int r;

	if (o->entity != ev->proc.entity || o->cookie != ev->cookie || !o->path) {
		w->st.written_unknown++;
		return;
	}
	path = o->path;
	o->path = NULL;
	o->entity = o->cookie = 0;
	if (!ev->size) {
		free(path);
		return;
	}
	r = hn_hasher_submit_current(w->written, ev->dev, ev->ino, path);
	if (r == -ENOSPC) {
		w->st.written_refused++;
		free(path);
		return;
	}
	if (r == 0)
		w->st.written_queued++;
	/* queued now, or earlier (-EALREADY: not started, so it will read
	 * what this close left) */
	wait_add(w, SRC_WRITTEN, &k, ev, path, r == 0);
}

void iocw_event(struct iocw *w, const struct hn_event *ev)
{
	struct hit_ctx h = { w, ev };

	if (!w || !w->st.indicators)
		return;
	switch (ev->type) {
	case HN_EV_PROCESS_START:
	case HN_EV_PROCESS_SNAPSHOT:
		if (w->hashes && ev->ino)
			on_exec(w, ev);
		break;
	case HN_EV_FILE_CREATE:
	case HN_EV_FILE_OPEN_WRITE:
		if (!w->hashes || !w->written || !ev->cookie)
			break;
		if (ev->path && !(ev->flags & HN_EVF_WRITTEN)) {
			struct open_slot *o = open_slot(w, ev->proc.entity, ev->cookie);
			char *p = strdup(ev->path);
			if (!p)
				break;
			free(o->path);
			o->entity = ev->proc.entity;
			o->cookie = ev->cookie;
			o->path = p;
		} else if (!ev->path && (ev->flags & HN_EVF_WRITTEN)) {
			on_written(w, ev);
		}
		break;
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_ACCEPT:
	case HN_EV_NET_UDP_SEND:
	case HN_EV_DNS_QUERY:
		hn_ioc_match_event(w->set, ev, on_hit, &h);
		break;
	default:
		break;
	}
}

/* ---- life ---- */

static void load_problem(const struct hn_ioc_problem *p, void *arg)
{
	(void)p;
	(void)arg;   /* counted by the set; `hinomi ioc check` lists them */
}

/* The IOC lists o names, loaded into a new set (problems summed up on
 * err), or NULL (no memory, said). */
static struct hn_ioc_set *load_set(const struct hn_agent_opts *o, FILE *err,
				   struct hn_ioc_stats *st)
{
	struct hn_ioc_set *set = hn_ioc_set_new();

	if (!set) {
		fprintf(err, "hinomi agent: no IOC lists: out of memory\n");
		return NULL;
	}
	if (o->nioc) {
		for (int i = 0; i < o->nioc; i++) {
			int r = hn_ioc_load(set, o->iocs[i], load_problem, NULL);
			if (r < 0)
				fprintf(err, "hinomi agent: cannot read IOC list %s: %s\n",
					o->iocs[i], strerror(-r));
		}
	} else {
		const char *env = getenv("HINOMI_IOC");
		if (env && *env)
			hn_ioc_load(set, env, load_problem, NULL);
		if (access("/etc/hinomi/ioc", R_OK) == 0)
			hn_ioc_load(set, "/etc/hinomi/ioc", load_problem, NULL);
	}
	hn_ioc_stats(set, st);
	if (st->invalid || st->unsupported)
		fprintf(err, "hinomi agent: %u indicators loaded, %u unsupported, %u invalid"
			" (`hinomi ioc check PATH` says why)\n", st->loaded, st->unsupported,
			st->invalid);
	if (!st->loaded && o->nioc)
		fprintf(err, "hinomi agent: no indicator in the IOC lists given\n");
	return set;
}

/* Match with set from now on (the old one freed): the hashers are made to
 * compute what its hash indicators need (a digest once wanted stays
 * wanted; the written-file hasher, once made, stays). */
static void use_set(struct iocw *w, struct hn_ioc_set *set, unsigned loaded, FILE *err)
{
	unsigned want = (hn_ioc_has(set, HN_IOC_SHA1) ? HN_DIGEST_SHA1 : 0) |
			(hn_ioc_has(set, HN_IOC_MD5) ? HN_DIGEST_MD5 : 0);
	bool hashes = want || hn_ioc_has(set, HN_IOC_SHA256);

	if (hashes && !w->written &&
	    hn_hasher_new(WQUEUE, WCACHE, WMAX_BYTES, written_hashed, w, &w->written) < 0) {
		fprintf(err, "hinomi agent: IOC hashes not matched: out of memory\n");
		w->written = NULL;
		hashes = false;
	}
	if (want & ~w->want) {
		if (hn_hasher_want(w->exec, want) < 0 || hn_hasher_want(w->written, want) < 0)
			want = 0;
		w->want |= want;
	}
	/* the exec hasher's thread reads it (push_result) */
	pthread_mutex_lock(&w->mu);
	w->hashes = hashes;
	pthread_mutex_unlock(&w->mu);
	/* no hash indicator any more: nothing waits for a hash */
	while (!hashes && w->nwaits)
		wait_release(w, w->nwaits - 1);
	hn_ioc_set_free(w->set);
	w->set = set;
	w->st.indicators = loaded;
}

struct iocw *iocw_open(const struct hn_agent_opts *o, struct hn_hasher *exec_hasher,
		       iocw_alert_fn fn, void *arg, FILE *err)
{
	struct hn_ioc_set *set;
	struct hn_ioc_stats st;
	struct iocw *w;

	if (o->no_ioc)
		return NULL;
	if (!(set = load_set(o, err, &st)))
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w)
		w->results = calloc(RESULTS, sizeof(*w->results));
	if (!w || !w->results) {
		if (w)
			free(w);
		hn_ioc_set_free(set);
		fprintf(err, "hinomi agent: no IOC matching: out of memory\n");
		return NULL;
	}
	w->exec = exec_hasher;
	w->fn = fn;
	w->arg = arg;
	pthread_mutex_init(&w->mu, NULL);
	use_set(w, set, st.loaded, err);
	return w;
}

void iocw_reload(struct iocw *w, const struct hn_agent_opts *o, FILE *err)
{
	struct hn_ioc_set *set;
	struct hn_ioc_stats st;

	if (!w)
		return;
	if (!(set = load_set(o, err, &st))) {
		fprintf(err, "hinomi agent: IOC lists not reloaded: the old ones stay\n");
		return;
	}
	use_set(w, set, st.loaded, err);
	fprintf(err, "hinomi agent: IOC lists reloaded: %u indicators loaded, %u unsupported,"
		" %u invalid\n", st.loaded, st.unsupported, st.invalid);
}

void iocw_free(struct iocw *w)
{
	if (!w)
		return;
	hn_hasher_free(w->written);
	for (unsigned i = 0; i < OPENS; i++)
		free(w->opens[i].path);
	while (w->nwaits)
		wait_release(w, w->nwaits - 1);
	free(w->results);
	pthread_mutex_destroy(&w->mu);
	hn_ioc_set_free(w->set);
	free(w);
}

void iocw_stats(struct iocw *w, struct iocw_stats *st)
{
	if (!w) {
		memset(st, 0, sizeof(*st));
		return;
	}
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

void iocw_status(struct iocw *w, struct hn_json *j, struct hn_strbuf *text)
{
	struct iocw_stats st;

	iocw_stats(w, &st);
	if (!j)
		goto text;
	hn_json_obj_open(j, "ioc");
	hn_json_kv_u64(j, "indicators", st.indicators);
	hn_json_kv_u64(j, "hits", st.hits);
	hn_json_kv_u64(j, "written_hashed", st.written_queued);
	hn_json_kv_u64(j, "written_unknown", st.written_unknown);
	hn_json_kv_u64(j, "written_refused", st.written_refused);
	hn_json_kv_u64(j, "waits_dropped", st.waits_dropped);
	hn_json_kv_u64(j, "waits_expired", st.waits_expired);
	hn_json_kv_u64(j, "results_dropped", st.results_dropped);
	if (w && w->written) {
		struct hn_hasher_stats hs;
		hn_hasher_stats(w->written, &hs);
		hn_json_obj_open(j, "written_hasher");
		hn_json_kv_u64(j, "hashed", hs.hashed);
		hn_json_kv_u64(j, "bytes", hs.bytes);
		hn_json_kv_u64(j, "too_big", hs.too_big);
		hn_json_kv_u64(j, "changed_while_read", hs.stale);
		hn_json_kv_u64(j, "failed", hs.failed);
		hn_json_kv_u64(j, "queue_dropped", hs.queue_dropped);
		hn_json_obj_close(j);
	}
	hn_json_obj_close(j);
text:
	if (!text)
		return;
	hn_strbuf_addf(text, "ioc        %u indicators, %llu hits, %llu written files hashed"
		       " (%llu not: queue full), %llu events not matched by hash (wait list"
		       " full, hash lost)\n",
		       st.indicators, (unsigned long long)st.hits,
		       (unsigned long long)st.written_queued,
		       (unsigned long long)st.written_refused,
		       (unsigned long long)(st.waits_dropped + st.waits_expired +
					    st.results_dropped));
}
