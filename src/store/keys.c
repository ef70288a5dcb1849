/*
 * keys.c - the posting keys of a block (see store_int.h): which entities,
 * paths, destination addresses, hashes and target entities its events
 * name, each once.  The writer turns them into event_keys rows; retention
 * computes them again from a block it deletes, to delete those rows.
 *
 * A small open-addressing set: a block has at most HN_BLOCK_MAX_EVENTS
 * events with a handful of keys each, well under half the slots.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct hn_keyset {
	struct hn_key e[HN_KEYSET_SLOTS];
	uint64_t h[HN_KEYSET_SLOTS];
	uint64_t mark[HN_KEYSET_SLOTS / 64];
	unsigned used;
};

struct hn_keyset *hn_keyset_new(void)
{
	return calloc(1, sizeof(struct hn_keyset));
}

void hn_keyset_clear(struct hn_keyset *ks)
{
	memset(ks->mark, 0, sizeof(ks->mark));
	ks->used = 0;
}

static uint64_t key_hash(int kind, sqlite3_int64 i, const char *str)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)kind;

	if (str)
		for (const unsigned char *p = (const unsigned char *)str; *p; p++)
			h = (h ^ *p) * 0x100000001b3ULL;
	else
		h = (h ^ (uint64_t)i) * 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 31);
}

void hn_keyset_add(struct hn_keyset *ks, int kind, sqlite3_int64 i, const char *str)
{
	uint64_t h = key_hash(kind, i, str);
	unsigned k = (unsigned)h & (HN_KEYSET_SLOTS - 1);

	if (ks->used >= HN_KEYSET_SLOTS / 2)
		return; /* more keys than a block can name: never */
	while (ks->mark[k / 64] & (1ULL << (k % 64))) {
		const struct hn_key *e = &ks->e[k];
		if (ks->h[k] == h && e->kind == kind &&
		    (str ? e->s && strcmp(e->s, str) == 0 : !e->s && e->i == i))
			return;
		k = (k + 1) & (HN_KEYSET_SLOTS - 1);
	}
	ks->mark[k / 64] |= 1ULL << (k % 64);
	ks->h[k] = h;
	ks->e[k].kind = kind;
	ks->e[k].i = i;
	ks->e[k].s = str;
	ks->used++;
}

void hn_keyset_add_event(struct hn_keyset *ks, const struct hn_event *ev,
			 char abuf[64])
{
	hn_keyset_add(ks, HN_KEY_ENTITY, (sqlite3_int64)ev->proc.entity, NULL);
	if (ev->target_entity)
		hn_keyset_add(ks, HN_KEY_TARGET, (sqlite3_int64)ev->target_entity, NULL);
	if (ev->path)
		hn_keyset_add(ks, HN_KEY_PATH, 0, ev->path);
	if (ev->path2)
		hn_keyset_add(ks, HN_KEY_PATH, 0, ev->path2);
	if (ev->sha256[0] && hn_store_is_exec(ev->type))
		hn_keyset_add(ks, HN_KEY_SHA256, 0, ev->sha256);
	if ((ev->dst.family == AF_INET || ev->dst.family == AF_INET6) &&
	    hn_addr_str(&ev->dst, abuf, 64) && abuf[0])
		hn_keyset_add(ks, HN_KEY_DST, 0, abuf);
}

const struct hn_key *hn_keyset_at(const struct hn_keyset *ks, unsigned k)
{
	return ks->mark[k / 64] & (1ULL << (k % 64)) ? &ks->e[k] : NULL;
}

unsigned hn_keyset_count(const struct hn_keyset *ks)
{
	return ks->used;
}
