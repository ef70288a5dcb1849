/*
 * hasher.c - see hasher.h.  One mutex guards the queue and the cache; the
 * worker hashes without holding it.  The cache is an array of buckets of
 * WAYS entries; an entry is EMPTY, PENDING (queued, no hash yet) or DONE.
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

enum { EMPTY = 0, PENDING = 1, DONE = 2 };

struct entry {
	struct hn_file_key k;
	uint64_t age;
	int state;
	char hex[65];
};

struct job {
	struct hn_file_key k;
	uint32_t pid;
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

int hn_sha256_file(const char *path, uint64_t max_bytes, char out[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r = -EIO;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > max_bytes) {
		close(fd);
		return -EFBIG;
	}
	r = -EIO;
	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned char buf[65536], dig[32];
		unsigned dlen = 0;
		ssize_t n;

		if (md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1) {
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				EVP_DigestUpdate(md, buf, (size_t)n);
			if (n == 0 && EVP_DigestFinal_ex(md, dig, &dlen) == 1 && dlen == 32) {
				for (int i = 0; i < 32; i++)
					snprintf(out + 2 * i, 3, "%02x", dig[i]);
				r = 0;
			}
		}
		EVP_MD_CTX_free(md);
	}
	close(fd);
	return r;
}

/* Hash the file at path if its identity is k. */
static int hash_if_same(const char *path, const struct hn_file_key *k, uint64_t max,
			char out[65])
{
	struct stat st;
	struct hn_file_key got;

	if (stat(path, &st) < 0)
		return -errno;
	got.dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	got.ino = st.st_ino;
	got.size = (uint64_t)st.st_size;
	got.mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	if (!key_eq(&got, k))
		return -ESTALE;
	return hn_sha256_file(path, max, out);
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
		char hex[65];
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
		pthread_mutex_unlock(&h->mu);

		r = j.path ? hash_if_same(j.path, &j.k, h->max_bytes, hex) : -ENOENT;
		if (r < 0 && r != -EFBIG && j.pid) {
			char exe[64];
			snprintf(exe, sizeof(exe), "/proc/%u/exe", j.pid);
			r = hash_if_same(exe, &j.k, h->max_bytes, hex);
		}
		free(j.path);

		pthread_mutex_lock(&h->mu);
		{
			struct entry *e = find(h, &j.k);
			if (r == 0) {
				h->st.hashed++;
				h->st.bytes += j.k.size;
				if (!e)
					e = claim(h, &j.k);
				e->state = DONE;
				memcpy(e->hex, hex, sizeof(hex));
			} else {
				if (r == -EFBIG)
					h->st.too_big++;
				else
					h->st.failed++;
				if (e && e->state == PENDING)
					e->state = EMPTY;
			}
		}
		pthread_mutex_unlock(&h->mu);
		if (r == 0 && h->cb)
			h->cb(&j.k, hex, h->arg);
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

int hn_hasher_submit(struct hn_hasher *h, const struct hn_file_key *k, const char *path,
		     uint32_t pid)
{
	int r = 0;
	struct entry *e;

	pthread_mutex_lock(&h->mu);
	e = find(h, k);
	if (e) {
		r = -EALREADY;
		goto out;
	}
	if (h->qlen == h->qmax) {
		h->st.queue_dropped++;
		r = -ENOSPC;
		goto out;
	}
	{
		struct job *j = &h->q[(h->qhead + h->qlen) % h->qmax];
		j->k = *k;
		j->pid = pid;
		j->path = path ? strdup(path) : NULL;
		h->qlen++;
	}
	e = claim(h, k);
	e->state = PENDING;
	pthread_cond_signal(&h->cv);
out:
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

void hn_hasher_stats(struct hn_hasher *h, struct hn_hasher_stats *st)
{
	pthread_mutex_lock(&h->mu);
	*st = h->st;
	pthread_mutex_unlock(&h->mu);
}
