/*
 * correlate.c - Sigma correlations over time: the correlator (detect.h).
 *
 * An event goes to the rules (hn_ruleset_match); each rule that fires and
 * is referenced by correlations is a hit of those correlations.  A hit
 * goes to the group of its group-by values (read from the event with the
 * rule's log source, aliases applied, fields.c) and updates that group's
 * state; a correlation that holds calls match with its own rule info and
 * the event that completed it, and is in turn a hit of the correlations
 * that refer to it.
 *
 * Time is the events' own (ev->time): a window is judged by the times of
 * its hits, never by when the agent saw them, so replaying a recording
 * gives the answers the agent gave live.  The clock is the latest event
 * time seen (or given to hn_correlator_advance); state older than the
 * clock minus the timespan minus HN_CORR_LATE_NS is dropped.
 *
 * Two ways to decide, by the condition:
 *
 *  - a lower bound only (gt, gte; temporal without a condition): sliding.
 *    The correlation holds as soon as the hits within one timespan make
 *    the count, and fires with the hit that made it; the group then
 *    starts afresh (one alert per completed count, not one per later hit).
 *  - an upper bound (lt, lte, eq, ranges): a window.  The group's first
 *    hit opens a window of one timespan; when the clock passes its end
 *    (plus HN_CORR_LATE_NS) the count is decided and, when it is in the
 *    range, the correlation fires with the window's last hit (a copy is
 *    kept).  "Fewer than N" is only known at the end.
 *
 *   sliding:  hit ─► count in (t - span, t] ─ holds? ─► fire, reset
 *   window:   hit ─► (no window: open one at t) ─► count
 *             clock > start + span + late ─► decide ─ holds? ─► fire; drop
 *
 * What is counted, per group:
 *   event_count       the last `lo` hit times (a ring): lo hits within a
 *                     span hold; windows count only
 *   value_count       distinct values of the field(s) (64-bit hashes, with
 *                     the time each was last seen); windows keep hi + 1
 *   temporal          the last hit time of each rule
 *   temporal_ordered  for each k, the latest start of a chain of the
 *                     first k rules in their order (a later hit of rule k
 *                     extends a chain of k - 1); an event that matches
 *                     several rules of one correlation takes the later
 *                     steps first, so it is never two steps of one chain
 * An event counts once per correlation (event_count, value_count: its
 * first matching rule's fields).  Image has two values for process starts
 * (the resolved executable and the path passed to execve): a group-by on
 * Image files the hit under both when they differ, as a rule on Image
 * matches either.
 *
 * Bounds: at most HN_CORR_GROUPS groups and CORR_ENTRIES counted items
 * per correlation; making room evicts the least recently hit group
 * (counted in stats.evicted; an evicted window is never decided).  Group
 * keys keep CORR_KEY_MAX bytes and a hash of the whole.  An event feeds at
 * most CORR_BATCH (correlation, rule) hits (the rest counted as dropped).
 */
#include "detect/detect_int.h"

#include <stdlib.h>
#include <string.h>

#define CORR_BUCKETS 2048        /* hash heads per correlation */
#define CORR_ENTRIES 262144      /* counted items (8 bytes each) per correlation */
#define CORR_KEY_MAX 1024
#define CORR_BATCH 64
#define CORR_COMBOS 4            /* group keys one hit can have (Image's two values) */
#define SEP '\x1f'

struct group {
	uint64_t hash;
	char *key;
	struct group *hnext;
	struct group *older, *newer;     /* by last hit */
	struct group *wprev, *wnext;     /* windows: open ones, by start */
	uint64_t first, last;            /* the window's start; the latest hit */
	uint64_t count;                  /* event_count in a window */
	uint64_t set;                    /* temporal: rules seen; ordered: stages reached */
	uint64_t *v;                     /* times, or (hash, time) pairs */
	unsigned n, cap, head;
	struct hn_event *ev;             /* windows: the last hit's event (a copy) */
	enum hn_det_source src;
};

struct cstate {
	const struct det_corr *def;
	bool window;                     /* decided when the window closes */
	struct group **tab;
	struct group *oldest, *newest;
	struct group *wfirst, *wlast;
	unsigned ngroups;
	size_t entries;
};

struct pending_hit {
	unsigned corr, ref;
	enum hn_det_source src;
};

struct hn_correlator {
	const struct hn_ruleset *rs;
	struct cstate *cs;
	unsigned n;
	uint64_t clock;
	struct det_rec *rec;             /* for group-by values */
	struct pending_hit batch[CORR_BATCH];   /* the event's hits */
	unsigned nbatch;
	uint64_t hits, fired, evicted, dropped;
};

/* One call of match or advance. */
struct run {
	struct hn_correlator *c;
	hn_rule_match_fn match;
	void *arg;
	int calls;
};

static void hit(struct run *rn, unsigned ci, unsigned ref, const struct hn_event *ev,
		const struct hn_det_parent *par, enum hn_det_source src, unsigned depth);

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV0 0xcbf29ce484222325ULL

/* |a - b| <= span, for times that may arrive a little out of order. */
static bool within(uint64_t a, uint64_t b, uint64_t span)
{
	return (a >= b ? a - b : b - a) <= span;
}

/* ---- groups ---- */

static size_t width(const struct cstate *st)
{
	return st->def->type == DC_VALUE_COUNT ? 2 : 1;
}

static void lru_unlink(struct cstate *st, struct group *g)
{
	if (g->older)
		g->older->newer = g->newer;
	else
		st->oldest = g->newer;
	if (g->newer)
		g->newer->older = g->older;
	else
		st->newest = g->older;
	g->older = g->newer = NULL;
}

static void lru_touch(struct cstate *st, struct group *g)
{
	if (st->newest == g)
		return;
	if (g->older || g->newer || st->oldest == g)
		lru_unlink(st, g);
	g->older = st->newest;
	if (st->newest)
		st->newest->newer = g;
	else
		st->oldest = g;
	st->newest = g;
}

static void win_unlink(struct cstate *st, struct group *g)
{
	if (g->wprev)
		g->wprev->wnext = g->wnext;
	else if (st->wfirst == g)
		st->wfirst = g->wnext;
	if (g->wnext)
		g->wnext->wprev = g->wprev;
	else if (st->wlast == g)
		st->wlast = g->wprev;
	g->wprev = g->wnext = NULL;
}

/* Take g out of every list and free it. */
static void group_drop(struct cstate *st, struct group *g)
{
	struct group **pp = &st->tab[g->hash & (CORR_BUCKETS - 1)];

	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	lru_unlink(st, g);
	win_unlink(st, g);
	st->entries -= (size_t)g->cap * width(st);
	st->ngroups--;
	hn_event_free(g->ev);
	free(g->v);
	free(g->key);
	free(g);
}

static void evict_oldest(struct hn_correlator *c, struct cstate *st, const struct group *keep)
{
	struct group *g = st->oldest;

	if (g == keep)
		g = g->newer;
	if (!g)
		return;
	c->evicted++;
	group_drop(st, g);
}

static struct group *group_get(struct hn_correlator *c, struct cstate *st, const char *key,
			       uint64_t hash)
{
	struct group *g;

	if (!st->tab && !(st->tab = calloc(CORR_BUCKETS, sizeof(*st->tab))))
		return NULL;
	for (g = st->tab[hash & (CORR_BUCKETS - 1)]; g; g = g->hnext)
		if (g->hash == hash && !strcmp(g->key, key))
			return g;
	while (st->ngroups >= HN_CORR_GROUPS && st->oldest)
		evict_oldest(c, st, NULL);
	g = calloc(1, sizeof(*g));
	if (!g || !(g->key = strdup(key))) {
		free(g);
		return NULL;
	}
	g->hash = hash;
	g->hnext = st->tab[hash & (CORR_BUCKETS - 1)];
	st->tab[hash & (CORR_BUCKETS - 1)] = g;
	st->ngroups++;
	lru_touch(st, g);
	return g;
}

/* Room for `need` items in g (at most max).  0, or -1 (no memory, or no
 * room even after evicting every other group). */
static int group_room(struct hn_correlator *c, struct cstate *st, struct group *g,
		      unsigned need, unsigned max)
{
	unsigned cap;
	uint64_t *v;
	size_t w = width(st);

	if (need <= g->cap)
		return 0;
	cap = g->cap ? g->cap * 2 : 4;
	if (cap < need)
		cap = need;
	if (cap > max)
		cap = max;
	if (cap < need)
		return -1;
	while (st->entries + (size_t)(cap - g->cap) * w > CORR_ENTRIES &&
	       (st->oldest != g || g->newer))
		evict_oldest(c, st, g);
	if (st->entries + (size_t)(cap - g->cap) * w > CORR_ENTRIES)
		return -1;
	v = realloc(g->v, (size_t)cap * w * sizeof(*v));
	if (!v)
		return -1;
	g->v = v;
	st->entries += (size_t)(cap - g->cap) * w;
	g->cap = cap;
	return 0;
}

static void group_reset(struct group *g)
{
	g->n = g->head = 0;
	g->set = 0;
	g->count = 0;
}

/* ---- what a hit is filed under ---- */

/* Field `name` of ev for src: its value(s) (Image of a process start can
 * have two) appended to the keys, or to the hash.  The record is the
 * correlator's: values are used before the next field is read. */
struct keys {
	char buf[CORR_COMBOS][CORR_KEY_MAX + 1];
	size_t len[CORR_COMBOS];
	uint64_t hash[CORR_COMBOS];
	unsigned n;
};

static void key_add(struct keys *k, unsigned i, const char *s, size_t n, bool first)
{
	size_t room;

	if (!first) {
		if (k->len[i] < CORR_KEY_MAX)
			k->buf[i][k->len[i]++] = SEP;
		k->hash[i] = fnv(k->hash[i], "\x1f", 1);
	}
	room = CORR_KEY_MAX - k->len[i];
	memcpy(k->buf[i] + k->len[i], s, n < room ? n : room);
	k->len[i] += n < room ? n : room;
	k->buf[i][k->len[i]] = '\0';
	k->hash[i] = fnv(k->hash[i], s, n);
}

/* The values of field name on ev (src): up to 2, copied into out (each
 * at most CORR_KEY_MAX bytes).  For auditd, the first record that has
 * the field. */
static unsigned field_values(struct hn_correlator *c, const struct hn_event *ev,
			     const struct hn_det_parent *par, enum hn_det_source src,
			     const char *name, char out[2][CORR_KEY_MAX + 1], size_t len[2])
{
	int f = det_field_lookup(src, name);
	unsigned kinds = src == HN_DS_AUDITD ? det_audit_kinds(ev) : 1u;

	if (f < 0)
		return 0;
	for (int k = 0; k < DET_AUDIT_COUNT; k++) {
		const struct hn_sm_str *v;
		unsigned n = 0;

		if (!(kinds & (1u << k)))
			continue;
		det_rec_init(c->rec, ev, par, src, k);
		v = det_rec_get(c->rec, f);
		if (!v || !v->present)
			continue;
		len[n] = v->n < CORR_KEY_MAX ? v->n : CORR_KEY_MAX;
		memcpy(out[n], v->s, len[n]);
		out[n][len[n]] = '\0';
		n++;
		if (f == DF_IMAGE) {
			const struct hn_sm_str *alt = det_rec_get(c->rec, DF_IMAGE_ALT);
			if (alt && alt->present && (alt->n != v->n || memcmp(alt->s, v->s, v->n))) {
				len[n] = alt->n < CORR_KEY_MAX ? alt->n : CORR_KEY_MAX;
				memcpy(out[n], alt->s, len[n]);
				out[n][len[n]] = '\0';
				n++;
			}
		}
		return n;
	}
	return 0;
}

static void group_keys(struct hn_correlator *c, const struct det_corr *d, unsigned ref,
		       const struct hn_event *ev, const struct hn_det_parent *par,
		       enum hn_det_source src, struct keys *k)
{
	char vals[2][CORR_KEY_MAX + 1];
	size_t len[2];

	k->n = 1;
	k->len[0] = 0;
	k->buf[0][0] = '\0';
	k->hash[0] = FNV0;
	for (unsigned g = 0; g < d->ngroup; g++) {
		unsigned nv = field_values(c, ev, par, src, d->gb_field[ref * d->ngroup + g], vals,
					   len);
		if (!nv) {
			vals[0][0] = '\0';
			len[0] = 0;
			nv = 1;
		}
		if (nv == 2 && k->n * 2 <= CORR_COMBOS) {
			for (unsigned i = 0; i < k->n; i++) {
				memcpy(k->buf[k->n + i], k->buf[i], k->len[i] + 1);
				k->len[k->n + i] = k->len[i];
				k->hash[k->n + i] = k->hash[i];
				key_add(k, k->n + i, vals[1], len[1], g == 0);
			}
			for (unsigned i = 0; i < k->n; i++)
				key_add(k, i, vals[0], len[0], g == 0);
			k->n *= 2;
		} else {
			for (unsigned i = 0; i < k->n; i++)
				key_add(k, i, vals[0], len[0], g == 0);
		}
	}
}

/* value_count: the hash of the value field(s), false when none is set. */
static bool value_hash(struct hn_correlator *c, const struct det_corr *d, unsigned ref,
		       const struct hn_event *ev, const struct hn_det_parent *par,
		       enum hn_det_source src, uint64_t *out)
{
	char vals[2][CORR_KEY_MAX + 1];
	size_t len[2];
	uint64_t h = FNV0;
	bool any = false;

	for (unsigned i = 0; i < d->nvalue; i++) {
		unsigned nv = field_values(c, ev, par, src, d->v_field[ref * d->nvalue + i], vals,
					   len);
		if (i)
			h = fnv(h, "\x1f", 1);
		if (nv && len[0]) {
			h = fnv(h, vals[0], len[0]);
			any = true;
		}
	}
	*out = h;
	return any;
}

/* ---- the state of one group ---- */

static uint64_t state_count(const struct cstate *st, const struct group *g)
{
	switch (st->def->type) {
	case DC_EVENT_COUNT:
		return g->count;
	case DC_VALUE_COUNT:
		return g->n;
	case DC_TEMPORAL:
		return (uint64_t)__builtin_popcountll(g->set);
	case DC_TEMPORAL_ORDERED:
	default:
		return g->set ? 64u - (unsigned)__builtin_clzll(g->set) : 0;
	}
}

/* Add a hit at t (ref, value) to g.  Returns whether a sliding condition
 * now holds.  -1: the hit could not be kept (no room). */
static int state_add(struct hn_correlator *c, struct cstate *st, struct group *g,
		     unsigned ref, uint64_t t, bool has_value, uint64_t value)
{
	const struct det_corr *d = st->def;
	uint64_t span = d->span_ns;

	switch (d->type) {
	case DC_EVENT_COUNT:
		g->count++;
		if (st->window)
			return 0;
		if (d->lo <= 1)
			return 1;
		/* the last lo hit times: lo of them within a span hold */
		if (group_room(c, st, g, (unsigned)d->lo, (unsigned)d->lo) < 0)
			return -1;
		g->v[g->head] = t;
		g->head = (g->head + 1) % g->cap;
		if (g->n < g->cap)
			g->n++;
		if (g->n < d->lo)
			return 0;
		{
			uint64_t lo = g->v[0], hi = g->v[0];
			for (unsigned i = 1; i < g->n; i++) {
				lo = g->v[i] < lo ? g->v[i] : lo;
				hi = g->v[i] > hi ? g->v[i] : hi;
			}
			return hi - lo <= span;
		}
	case DC_VALUE_COUNT: {
		unsigned i;
		if (!st->window) {
			/* forget values not seen within a span */
			for (i = 0; i < g->n;) {
				if (!within(t, g->v[2 * i + 1], span) && g->v[2 * i + 1] < t) {
					g->v[2 * i] = g->v[2 * (g->n - 1)];
					g->v[2 * i + 1] = g->v[2 * (g->n - 1) + 1];
					g->n--;
				} else {
					i++;
				}
			}
		}
		if (has_value) {
			for (i = 0; i < g->n && g->v[2 * i] != value; i++)
				;
			if (i < g->n) {
				if (t > g->v[2 * i + 1])
					g->v[2 * i + 1] = t;
			} else {
				/* a window needs to know "more than hi"; sliding, lo */
				unsigned max = st->window ? (unsigned)d->hi + 1 :
					       (unsigned)(d->lo ? d->lo : 1);
				if (g->n < max) {
					if (group_room(c, st, g, g->n + 1, max) < 0)
						return -1;
					g->v[2 * g->n] = value;
					g->v[2 * g->n + 1] = t;
					g->n++;
				}
			}
		}
		return !st->window && g->n >= d->lo;
	}
	case DC_TEMPORAL: {
		unsigned live = 0;
		if (group_room(c, st, g, d->nrefs, d->nrefs) < 0)
			return -1;
		if (!(g->set & (1ULL << ref)) || t > g->v[ref])
			g->v[ref] = t;
		g->set |= 1ULL << ref;
		if (st->window)
			return 0;
		for (unsigned r = 0; r < d->nrefs; r++) {
			if (!(g->set & (1ULL << r)))
				continue;
			if (within(t, g->v[r], span))
				live++;
			else if (g->v[r] < t)
				g->set &= ~(1ULL << r);
		}
		return live >= d->lo;
	}
	case DC_TEMPORAL_ORDERED:
	default:
		if (group_room(c, st, g, d->nrefs, d->nrefs) < 0)
			return -1;
		/* v[k]: the latest start of a chain of rules 0..k */
		if (!st->window)
			for (unsigned k = 0; k < d->nrefs; k++)
				if ((g->set & (1ULL << k)) && !within(t, g->v[k], span) &&
				    g->v[k] < t)
					g->set &= ~(1ULL << k);
		if (ref == 0) {
			if (!(g->set & 1ULL) || t > g->v[0])
				g->v[0] = t;
			g->set |= 1ULL;
		} else if (g->set & (1ULL << (ref - 1))) {
			uint64_t s = g->v[ref - 1];
			if (!(g->set & (1ULL << ref)) || s > g->v[ref])
				g->v[ref] = s;
			g->set |= 1ULL << ref;
		}
		return !st->window && state_count(st, g) >= d->lo;
	}
}

/* ---- firing ---- */

static void fire(struct run *rn, unsigned ci, const struct hn_event *ev,
		 const struct hn_det_parent *par, enum hn_det_source src, unsigned depth)
{
	struct hn_correlator *c = rn->c;
	const struct det_corr *d = c->cs[ci].def;
	const struct det_feed *f;
	unsigned n;

	c->fired++;
	if (!d->info.hidden && rn->match) {
		rn->match(&d->info, ev, rn->arg);
		rn->calls++;
	}
	f = det_corr_feeds(c->rs, true, ci, &n);
	for (unsigned i = 0; i < n; i++)
		if (f[i].corr < c->n && depth < DET_CORR_DEPTH + 1) {
			c->hits++;
			hit(rn, f[i].corr, f[i].ref, ev, par, src, depth + 1);
		}
}

/* A window is over: decide it, then drop the group. */
static void close_window(struct run *rn, unsigned ci, struct group *g, unsigned depth)
{
	struct cstate *st = &rn->c->cs[ci];
	uint64_t n = state_count(st, g);

	win_unlink(st, g);
	if (n >= st->def->lo && n <= st->def->hi && g->ev)
		fire(rn, ci, g->ev, NULL, g->src, depth);
	group_drop(st, g);
}

static void hit(struct run *rn, unsigned ci, unsigned ref, const struct hn_event *ev,
		const struct hn_det_parent *par, enum hn_det_source src, unsigned depth)
{
	struct hn_correlator *c = rn->c;
	struct cstate *st = &c->cs[ci];
	const struct det_corr *d = st->def;
	struct keys *k = malloc(sizeof(*k));
	uint64_t value = 0, t = ev->time;
	bool has_value = false;

	if (!k) {
		c->dropped++;
		return;
	}
	group_keys(c, d, ref, ev, par, src, k);
	if (d->type == DC_VALUE_COUNT)
		has_value = value_hash(c, d, ref, ev, par, src, &value);
	for (unsigned i = 0; i < k->n; i++) {
		struct group *g = group_get(c, st, k->buf[i], k->hash[i]);
		int holds;

		if (g && st->window && g->ev && t > g->first + d->span_ns) {
			/* this hit is past its group's window: decide that one */
			close_window(rn, ci, g, depth);
			g = group_get(c, st, k->buf[i], k->hash[i]);
		}
		if (!g) {
			c->dropped++;
			continue;
		}
		lru_touch(st, g);
		if (st->window && !g->ev) {
			g->first = t;
			g->wprev = st->wlast;
			if (st->wlast)
				st->wlast->wnext = g;
			else
				st->wfirst = g;
			st->wlast = g;
		}
		if (t > g->last)
			g->last = t;
		holds = state_add(c, st, g, ref, t, has_value, value);
		if (st->window) {
			struct hn_event *copy = holds < 0 ? NULL : hn_event_dup(ev);
			if (copy) {
				hn_event_free(g->ev);
				g->ev = copy;
				g->src = src;
			} else {
				c->dropped++;
				if (!g->ev)   /* a window without an event cannot be told */
					group_drop(st, g);
			}
			continue;
		}
		if (holds < 0) {
			c->dropped++;
			continue;
		}
		if (holds) {
			group_reset(g);
			fire(rn, ci, ev, par, src, depth);
		}
	}
	free(k);
}

/* The clock moves to t: windows that ended before t - late are decided,
 * sliding groups whose last hit is older than a span are dropped. */
static void tick(struct run *rn, uint64_t t)
{
	struct hn_correlator *c = rn->c;
	uint64_t edge;

	if (t <= c->clock)
		return;
	c->clock = t;
	if (t <= HN_CORR_LATE_NS)
		return;
	edge = t - HN_CORR_LATE_NS;
	for (unsigned i = 0; i < c->n; i++) {
		struct cstate *st = &c->cs[i];
		uint64_t span = st->def->span_ns;
		if (st->window) {
			while (st->wfirst && st->wfirst->first + span < edge)
				close_window(rn, i, st->wfirst, 1);
		} else {
			while (st->oldest && st->oldest->last + span < edge)
				group_drop(st, st->oldest);
		}
	}
}

/* ---- the API ---- */

static void on_rule(const struct hn_rule_info *rule, const struct hn_event *ev, void *arg)
{
	struct run *rn = arg;
	struct hn_correlator *c = rn->c;
	const struct det_feed *f;
	unsigned n;
	int idx;

	if (!rule->hidden && rn->match) {
		rn->match(rule, ev, rn->arg);
		rn->calls++;
	}
	if (!c->n || (idx = det_rule_index(c->rs, rule)) < 0)
		return;
	f = det_corr_feeds(c->rs, false, (unsigned)idx, &n);
	for (unsigned i = 0; i < n; i++) {
		bool dup = false;
		if (f[i].corr >= c->n)
			continue;
		/* counts count events: one hit per event and correlation */
		if (c->cs[f[i].corr].def->type == DC_EVENT_COUNT ||
		    c->cs[f[i].corr].def->type == DC_VALUE_COUNT)
			for (unsigned k = 0; k < c->nbatch && !dup; k++)
				dup = c->batch[k].corr == f[i].corr;
		if (dup)
			continue;
		if (c->nbatch == CORR_BATCH) {
			c->dropped++;
			continue;
		}
		c->batch[c->nbatch++] = (struct pending_hit){ f[i].corr, f[i].ref, rule->source };
	}
}

/* By correlation, then later rules first (an ordered correlation's later
 * steps must not use this event's earlier ones). */
static int by_corr_then_ref_down(const void *x, const void *y)
{
	const struct pending_hit *a = x, *b = y;

	if (a->corr != b->corr)
		return a->corr < b->corr ? -1 : 1;
	return a->ref > b->ref ? -1 : a->ref < b->ref;
}

int hn_correlator_match(struct hn_correlator *c, const struct hn_event *ev,
			const struct hn_det_parent *parent, hn_rule_match_fn match,
			void *arg)
{
	struct run rn = { .c = c, .match = match, .arg = arg };

	if (!c || !ev)
		return 0;
	if (ev->time)
		tick(&rn, ev->time);
	c->nbatch = 0;
	hn_ruleset_match(c->rs, ev, parent, on_rule, &rn);
	if (c->nbatch > 1)
		qsort(c->batch, c->nbatch, sizeof(c->batch[0]), by_corr_then_ref_down);
	for (unsigned i = 0; i < c->nbatch; i++) {
		c->hits++;
		hit(&rn, c->batch[i].corr, c->batch[i].ref, ev, parent, c->batch[i].src, 1);
	}
	c->nbatch = 0;
	return rn.calls;
}

int hn_correlator_advance(struct hn_correlator *c, uint64_t now, hn_rule_match_fn match,
			  void *arg)
{
	struct run rn = { .c = c, .match = match, .arg = arg };

	if (!c)
		return 0;
	tick(&rn, now);
	return rn.calls;
}

struct hn_correlator *hn_correlator_new(const struct hn_ruleset *rs)
{
	struct hn_correlator *c;
	unsigned n;

	if (!rs)
		return NULL;
	n = det_corr_count(rs);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rs = rs;
	c->rec = malloc(sizeof(*c->rec));
	c->cs = calloc(n ? n : 1, sizeof(*c->cs));
	if (!c->rec || !c->cs) {
		hn_correlator_free(c);
		return NULL;
	}
	c->n = n;
	for (unsigned i = 0; i < n; i++) {
		c->cs[i].def = det_corr_at(rs, i);
		c->cs[i].window = c->cs[i].def->hi != UINT64_MAX;
	}
	return c;
}

void hn_correlator_free(struct hn_correlator *c)
{
	if (!c)
		return;
	for (unsigned i = 0; c->cs && i < c->n; i++) {
		struct cstate *st = &c->cs[i];
		while (st->oldest)
			group_drop(st, st->oldest);
		free(st->tab);
	}
	free(c->cs);
	free(c->rec);
	free(c);
}

void hn_correlator_stats(const struct hn_correlator *c, struct hn_correlator_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	st->hits = c->hits;
	st->fired = c->fired;
	st->evicted = c->evicted;
	st->dropped = c->dropped;
	for (unsigned i = 0; i < c->n; i++) {
		st->groups += c->cs[i].ngroups;
		if (c->cs[i].window)
			st->open_windows += c->cs[i].ngroups;
	}
}
