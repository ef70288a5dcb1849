/*
 * cache.c - the file identities found clean by an earlier scan (scan.h:
 * struct hn_scan_cache), looked up by the walk before a file is queued.
 *
 * Open addressing with linear probing over (dev, ino), at most half full
 * (it doubles); the whole identity (size, mtime, ctime) must be equal for
 * a hit.  Read-only while a scan runs (the walk's thread alone reads it).
 * Bounded by what the caller loads: the store's rows of one version, at
 * most one per inode.
 */
#include "scan/scan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct hn_scan_cache {
	struct hn_scan_ident *slot;   /* ino 0 and dev 0: empty */
	unsigned cap, n;              /* cap: a power of two */
};

static uint64_t mix(uint64_t dev, uint64_t ino)
{
	uint64_t x = ino * 0x9e3779b97f4a7c15ULL ^ (dev + 0x632be59bd9b4e019ULL);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 29);
}

static bool empty(const struct hn_scan_ident *s)
{
	return !s->ino && !s->dev;
}

struct hn_scan_cache *hn_scan_cache_new(void)
{
	struct hn_scan_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->cap = 1024;
	c->slot = calloc(c->cap, sizeof(*c->slot));
	if (!c->slot) {
		free(c);
		return NULL;
	}
	return c;
}

void hn_scan_cache_free(struct hn_scan_cache *c)
{
	if (!c)
		return;
	free(c->slot);
	free(c);
}

static struct hn_scan_ident *find(struct hn_scan_ident *v, unsigned cap, uint64_t dev,
				  uint64_t ino)
{
	unsigned i = (unsigned)mix(dev, ino) & (cap - 1);

	/* at most half full: an empty slot comes within cap probes */
	for (unsigned k = 0; k < cap; k++, i = (i + 1) & (cap - 1))
		if (empty(&v[i]) || (v[i].ino == ino && v[i].dev == dev))
			return &v[i];
	return NULL;
}

static int grow(struct hn_scan_cache *c)
{
	unsigned cap = c->cap * 2;
	struct hn_scan_ident *v;

	if (cap < c->cap)
		return -ENOMEM;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < c->cap; i++)
		if (!empty(&c->slot[i]))
			*find(v, cap, c->slot[i].dev, c->slot[i].ino) = c->slot[i];
	free(c->slot);
	c->slot = v;
	c->cap = cap;
	return 0;
}

int hn_scan_cache_add(struct hn_scan_cache *c, const struct hn_scan_ident *id)
{
	struct hn_scan_ident *s;

	if (!c || !id || (!id->ino && !id->dev))
		return -EINVAL;
	if ((c->n + 1) * 2 > c->cap && grow(c) < 0)
		return -ENOMEM;
	s = find(c->slot, c->cap, id->dev, id->ino);
	if (!s)
		return -ENOMEM;
	if (empty(s))
		c->n++;
	*s = *id;
	return 0;
}

bool hn_scan_cache_has(const struct hn_scan_cache *c, const struct hn_scan_ident *id)
{
	const struct hn_scan_ident *s;

	if (!c || !id || !c->n)
		return false;
	s = find(c->slot, c->cap, id->dev, id->ino);
	return s && !empty(s) && s->size == id->size && s->mtime_ns == id->mtime_ns &&
	       s->ctime_ns == id->ctime_ns;
}

unsigned hn_scan_cache_count(const struct hn_scan_cache *c)
{
	return c ? c->n : 0;
}
