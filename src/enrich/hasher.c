/*
 * hasher.c - see hasher.h.  One mutex guards the queue and the cache; the
 * worker hashes without holding it.  The cache is an array of buckets of
 * WAYS entries; an entry is EMPTY, PENDING (queued, no hash yet) or DONE,
 * and `have` says which digests beyond SHA-256 it holds.  A job for a
 * written file (current) is marked by a PENDING entry under the key
 * (dev, ino, CURRENT, CURRENT), which refuses a second job for that inode
 * until the worker starts on the first.
 */
#include "enrich/hasher.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/evp.h>

#define WAYS 4
#define CURRENT UINT64_MAX   /* size and mtime of a written file's job mark */

enum { EMPTY = 0, PENDING = 1, DONE = 2 };

struct entry {
	struct hn_file_key k;
	uint64_t age;
	int state;
	unsigned have;           /* HN_DIGEST_* held besides SHA-256 */
	bool queued;             /* DONE, and queued again for more digests */
	char hex[65];
	char sha1[41];
	char md5[33];
};

struct job {
	struct hn_file_key k;
	uint32_t pid;
	bool current;            /* hn_hasher_submit_current */
	char *path;
};

struct hn_hasher {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* worker: a job or stop */
	pthread_cond_t idle_cv;  /* drain: queue empty and worker idle */
	pthread_t thread;
	bool stop, busy, started;
	struct job *q;
	unsigned qmax, qhead, qlen;
	struct entry *cache;
	unsigned nbuckets;
	uint64_t clock;
	uint64_t max_bytes;
	unsigned want;           /* HN_DIGEST_* */
	hn_hash_done_cb cb;
	void *arg;
	struct hn_hasher_stats st;
};

static bool key_eq(const struct hn_file_key *a, const struct hn_file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime == b->mtime;
}

static struct entry *bucket(struct hn_hasher *h, const struct hn_file_key *k)
{
	uint64_t x = k->dev * 0x9e3779b97f4a7c15ULL ^ k->ino * 0xc2b2ae3d27d4eb4fULL ^
		     k->size ^ k->mtime * 0x165667b19e3779f9ULL;
	x ^= x >> 29;
	return &h->cache[(x & (h->nbuckets - 1)) * WAYS];
}

static struct entry *find(struct hn_hasher *h, const struct hn_file_key *k)
{
	struct entry *b = bucket(h, k);
	for (int i = 0; i < WAYS; i++)
		if (b[i].state != EMPTY && key_eq(&b[i].k, k))
			return &b[i];
	return NULL;
}

static struct entry *claim(struct hn_hasher *h, const struct hn_file_key *k)
{
	struct entry *b = bucket(h, k), *victim = &b[0];
	for (int i = 0; i < WAYS; i++) {
		if (b[i].state == EMPTY) {
			victim = &b[i];
			break;
		}
		if (b[i].age < victim->age)
			victim = &b[i];
	}
	memset(victim, 0, sizeof(*victim));
	victim->k = *k;
	victim->age = ++h->clock;
	return victim;
}

static void to_hex(const unsigned char *d, unsigned n, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Digest what fd reads to its end: SHA-256, and the others digests asks
 * for, in one pass. */
static int digest_fd(int fd, unsigned digests, struct hn_digests *out)
{
	const EVP_MD *md[3] = { EVP_sha256(), EVP_sha1(), EVP_md5() };
	bool on[3] = { true, digests & HN_DIGEST_SHA1, digests & HN_DIGEST_MD5 };
	EVP_MD_CTX *ctx[3] = { NULL, NULL, NULL };
	unsigned char buf[65536], dig[EVP_MAX_MD_SIZE];
	unsigned dlen;
	ssize_t n;
	int r = -EIO;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 3; i++)
		if (on[i] && (!(ctx[i] = EVP_MD_CTX_new()) ||
			      EVP_DigestInit_ex(ctx[i], md[i], NULL) != 1))
			goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		for (int i = 0; n > 0 && i < 3; i++)
			if (on[i])
				EVP_DigestUpdate(ctx[i], buf, (size_t)n);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (int i = 0; i < 3; i++) {
		char *dst = i == 0 ? out->sha256 : i == 1 ? out->sha1 : out->md5;
		if (!on[i])
			continue;
		if (EVP_DigestFinal_ex(ctx[i], dig, &dlen) != 1 ||
		    dlen != (unsigned)EVP_MD_get_size(md[i]))
			goto out;
		to_hex(dig, dlen, dst);
	}
	r = 0;
out:
	for (int i = 0; i < 3; i++)
		EVP_MD_CTX_free(ctx[i]);
	return r;
}

/* Open a regular file for reading without blocking on what is not one. */
static int open_regular(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static struct hn_file_key key_of(const struct stat *st)
{
	struct hn_file_key k;

	k.dev = ((uint64_t)major(st->st_dev) << 20) | minor(st->st_dev);
	k.ino = st->st_ino;
	k.size = (uint64_t)st->st_size;
	k.mtime = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL + (uint64_t)st->st_mtim.tv_nsec;
	return k;
}

int hn_digest_file(const char *path, uint64_t max_bytes, unsigned digests,
		   struct hn_digests *out)
{
	struct stat st;
	int fd = open_regular(path, &st), r;

	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max_bytes) {
		close(fd);
		return -EFBIG;
	}
	r = digest_fd(fd, digests, out);
	close(fd);
	return r;
}

int hn_sha256_file(const char *path, uint64_t max_bytes, char out[65])
{
	struct hn_digests d;
	int r = hn_digest_file(path, max_bytes, 0, &d);

	if (r == 0)
		memcpy(out, d.sha256, 65);
	return r;
}

/* Hash the file at path if its identity is k. */
static int hash_if_same(const char *path, const struct hn_file_key *k, uint64_t max,
			unsigned digests, struct hn_digests *out)
{
	struct stat st;
	struct hn_file_key got;
	int fd, r;

	fd = open_regular(path, &st);
	if (fd < 0)
		return fd;
	got = key_of(&st);
	if (!key_eq(&got, k)) {
		close(fd);
		return -ESTALE;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	r = digest_fd(fd, digests, out);
	close(fd);
	return r;
}

static bool has_all(const struct entry *e, unsigned want)
{
	return e->state == DONE && (e->have & want) == want;
}

static void entry_set(struct entry *e, const struct hn_digests *d, unsigned have)
{
	e->state = DONE;
	e->have = have;
	memcpy(e->hex, d->sha256, sizeof(e->hex));
	memcpy(e->sha1, d->sha1, sizeof(e->sha1));
	memcpy(e->md5, d->md5, sizeof(e->md5));
}

static void entry_get(const struct entry *e, struct hn_digests *d)
{
	memcpy(d->sha256, e->hex, sizeof(d->sha256));
	memcpy(d->sha1, e->have & HN_DIGEST_SHA1 ? e->sha1 : "", e->have & HN_DIGEST_SHA1 ?
	       sizeof(d->sha1) : 1);
	memcpy(d->md5, e->have & HN_DIGEST_MD5 ? e->md5 : "", e->have & HN_DIGEST_MD5 ?
	       sizeof(d->md5) : 1);
}

/*
 * A written file's job: the file as it is now, if it is still the inode
 * written.  0 with *k its identity, or -errno.  It is always read: the
 * cache could answer for the identity, but a rewrite of the same size
 * within one tick of the file system's clock keeps size and mtime, and
 * only reading tells the contents apart.
 */
static int hash_current(struct hn_hasher *h, const struct job *j, unsigned want,
			struct hn_file_key *k, struct hn_digests *d)
{
	struct stat st, after;
	int fd, r;

	fd = open_regular(j->path, &st);
	if (fd < 0)
		return fd;
	*k = key_of(&st);
	if (k->dev != j->k.dev || k->ino != j->k.ino) {
		r = -ESTALE;
		goto out;
	}
	if ((uint64_t)st.st_size > h->max_bytes) {
		r = -EFBIG;
		goto out;
	}
	r = digest_fd(fd, want, d);
	/* written to while we read: not the content of any one moment (the
	 * write's close queues the file again) */
	if (r == 0 && (fstat(fd, &after) < 0 || after.st_size != st.st_size ||
		       after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
		       after.st_mtim.tv_nsec != st.st_mtim.tv_nsec))
		r = -ESTALE;
out:
	close(fd);
	return r;
}

static void *worker(void *p)
{
	struct hn_hasher *h = p;

	/* hashing yields to the host's work (best effort: else it runs at
	 * the agent's priority) */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct job j;
		struct hn_digests d;
		struct hn_file_key k;
		unsigned want;
		int r;

		while (!h->stop && h->qlen == 0) {
			h->busy = false;
			pthread_cond_broadcast(&h->idle_cv);
			pthread_cond_wait(&h->cv, &h->mu);
		}
		if (h->stop)
			break;
		j = h->q[h->qhead];
		h->qhead = (h->qhead + 1) % h->qmax;
		h->qlen--;
		h->busy = true;
		want = h->want;
		if (j.current) {
			/* the inode may be queued again from now: a write while
			 * it is read is hashed after */
			struct entry *mark = find(h, &j.k);
			if (mark && mark->state == PENDING)
				mark->state = EMPTY;
		}
		pthread_mutex_unlock(&h->mu);

		k = j.k;
		if (j.current) {
			r = j.path ? hash_current(h, &j, want, &k, &d) : -ENOENT;
		} else {
			r = j.path ? hash_if_same(j.path, &j.k, h->max_bytes, want, &d) : -ENOENT;
			if (r < 0 && r != -EFBIG && j.pid) {
				char exe[64];
				snprintf(exe, sizeof(exe), "/proc/%u/exe", j.pid);
				r = hash_if_same(exe, &j.k, h->max_bytes, want, &d);
			}
		}
		free(j.path);

		pthread_mutex_lock(&h->mu);
		{
			/* a written file's identity is not cached (hash_current) */
			struct entry *e = j.current ? NULL : find(h, &j.k);
			if (e)
				e->queued = false;
			if (r == 0) {
				h->st.hashed++;
				h->st.bytes += k.size;
				if (!j.current) {
					if (!e)
						e = claim(h, &k);
					entry_set(e, &d, want);
				}
			} else {
				if (r == -EFBIG)
					h->st.too_big++;
				else if (r == -ESTALE && j.current)
					h->st.stale++;
				else
					h->st.failed++;
				if (e && e->state == PENDING)
					e->state = EMPTY;
			}
		}
		pthread_mutex_unlock(&h->mu);
		if (h->cb) {
			if (r < 0)
				k = j.k;
			h->cb(&k, r == 0 ? &d : NULL, h->arg);
		}
		pthread_mutex_lock(&h->mu);
	}
	h->busy = false;
	pthread_cond_broadcast(&h->idle_cv);
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int hn_hasher_preload(struct hn_hasher *h, const struct hn_file_key *k,
		      const char *sha256)
{
	struct entry *e;

	if (!h || !k || !sha256 || strlen(sha256) != 64 ||
	    strspn(sha256, "0123456789abcdef") != 64)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	if (!find(h, k)) {
		e = claim(h, k);
		e->state = DONE;
		memcpy(e->hex, sha256, 65);
		h->st.preloaded++;
	}
	pthread_mutex_unlock(&h->mu);
	return 0;
}

int hn_hasher_new(unsigned queue_max, unsigned cache_max, uint64_t max_bytes,
		  hn_hash_done_cb cb, void *arg, struct hn_hasher **out)
{
	struct hn_hasher *h = calloc(1, sizeof(*h));
	unsigned nb = 1;

	if (!h)
		return -ENOMEM;
	while (nb * WAYS < cache_max)
		nb <<= 1;
	h->nbuckets = nb;
	h->qmax = queue_max ? queue_max : 1024;
	h->max_bytes = max_bytes ? max_bytes : 512ULL << 20;
	h->cb = cb;
	h->arg = arg;
	h->q = calloc(h->qmax, sizeof(*h->q));
	h->cache = calloc((size_t)nb * WAYS, sizeof(*h->cache));
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	pthread_cond_init(&h->idle_cv, NULL);
	if (!h->q || !h->cache || pthread_create(&h->thread, NULL, worker, h) != 0) {
		free(h->q);
		free(h->cache);
		free(h);
		return -ENOMEM;
	}
	h->started = true;
	*out = h;
	return 0;
}

void hn_hasher_free(struct hn_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (h->started)
		pthread_join(h->thread, NULL);
	for (unsigned i = 0; i < h->qlen; i++)
		free(h->q[(h->qhead + i) % h->qmax].path);
	free(h->q);
	free(h->cache);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	pthread_cond_destroy(&h->idle_cv);
	free(h);
}

int hn_hasher_want(struct hn_hasher *h, unsigned digests)
{
	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	h->want |= digests & (HN_DIGEST_SHA1 | HN_DIGEST_MD5);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

bool hn_hasher_lookup(struct hn_hasher *h, const struct hn_file_key *k, char out[65])
{
	bool hit = false;
	struct entry *e;

	pthread_mutex_lock(&h->mu);
	e = find(h, k);
	if (e && e->state == DONE) {
		memcpy(out, e->hex, 65);
		e->age = ++h->clock;
		hit = true;
		h->st.hits++;
	} else {
		h->st.misses++;
	}
	pthread_mutex_unlock(&h->mu);
	return hit;
}

bool hn_hasher_lookup_all(struct hn_hasher *h, const struct hn_file_key *k,
			  struct hn_digests *out)
{
	bool hit = false;
	struct entry *e;

	pthread_mutex_lock(&h->mu);
	e = find(h, k);
	if (e && has_all(e, h->want)) {
		entry_get(e, out);
		e->age = ++h->clock;
		hit = true;
	}
	pthread_mutex_unlock(&h->mu);
	return hit;
}

/* Queue a job (the lock held). */
static int enqueue(struct hn_hasher *h, const struct hn_file_key *k, const char *path,
		   uint32_t pid, bool current)
{
	struct job *j;

	if (h->qlen == h->qmax) {
		h->st.queue_dropped++;
		return -ENOSPC;
	}
	j = &h->q[(h->qhead + h->qlen) % h->qmax];
	j->k = *k;
	j->pid = pid;
	j->current = current;
	j->path = path ? strdup(path) : NULL;
	h->qlen++;
	pthread_cond_signal(&h->cv);
	return 0;
}

int hn_hasher_submit(struct hn_hasher *h, const struct hn_file_key *k, const char *path,
		     uint32_t pid)
{
	int r;
	struct entry *e;

	pthread_mutex_lock(&h->mu);
	e = find(h, k);
	/* queued, or hashed with all that is wanted: nothing to do */
	if (e && (e->state == PENDING || e->queued || has_all(e, h->want))) {
		r = -EALREADY;
		goto out;
	}
	r = enqueue(h, k, path, pid, false);
	if (r < 0)
		goto out;
	if (!e)
		e = claim(h, k);
	/* an entry lacking a wanted digest keeps its SHA-256 for lookups
	 * until the new one is in */
	if (e->state == DONE)
		e->queued = true;
	else
		e->state = PENDING;
out:
	pthread_mutex_unlock(&h->mu);
	return r;
}

int hn_hasher_submit_current(struct hn_hasher *h, uint64_t dev, uint64_t ino,
			     const char *path)
{
	struct hn_file_key k = { dev, ino, CURRENT, CURRENT };
	int r;

	if (!path)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	if (find(h, &k)) {
		r = -EALREADY;
	} else {
		r = enqueue(h, &k, path, 0, true);
		if (r == 0)
			claim(h, &k)->state = PENDING;
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

void hn_hasher_drain(struct hn_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->qlen > 0 || h->busy)
		pthread_cond_wait(&h->idle_cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

unsigned hn_hasher_pending(struct hn_hasher *h)
{
	unsigned n;

	pthread_mutex_lock(&h->mu);
	n = h->qlen + (h->busy ? 1 : 0);
	pthread_mutex_unlock(&h->mu);
	return n;
}

void hn_hasher_stats(struct hn_hasher *h, struct hn_hasher_stats *st)
{
	pthread_mutex_lock(&h->mu);
	*st = h->st;
	pthread_mutex_unlock(&h->mu);
}
