/*
 * engine.c - matching: a rule against the record of one event
 * (det_rule_eval), and a ruleset against an event (hn_ruleset_match).
 *
 * An event is offered to the rules of each source it can satisfy
 * (fields.c: det_sources_of_event), through one record per source whose
 * field values are computed once, when a rule first asks.  For auditd the
 * event is several records (SYSCALL, EXECVE, PATH); a rule fires once per
 * event when any of them matches.
 *
 * Semantics (Sigma): an item matches when the field's value matches its
 * values (match.h); a field-less item (keywords) matches when any of the
 * source's keyword fields does; an alternative of a selection matches when
 * all its items do; a selection when one alternative does.  Image has a
 * second value (the path passed to execve): an item on Image matches when
 * either does.
 *
 * Prefilters pick the rules worth evaluating, as bit sets over the
 * ruleset's rules ANDed together: the index (index.c) gives, per record,
 * the rules its shape allows (event type and audit record kind: an EXECVE
 * rule never meets a PATH record) that its keys allow (process starts:
 * the executable's name; auditd: a0, SYSCALL, comm, exe, type); a record
 * no rule can match is dropped; the literal prefilter (literal.c) then
 * searches the event's remaining records at once for every rule's
 * literals.  The rest are never evaluated.  test_sigma_prefilter checks
 * that this fires exactly what evaluating every rule would.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Rules a ruleset can have with its prefilters (with more, every rule of
 * a source is tried). */
#define CAND_MAX 4096

/* Does a compare to b as the fieldref modifiers say (equal, or contains /
 * starts / ends with; case-insensitive unless cased)? */
static bool ref_cmp(unsigned mods, const struct hn_sm_str *a, const struct hn_sm_str *b)
{
	int (*cmp)(const char *, const char *, size_t) = (mods & HN_SM_CASED) ? strncmp :
							  strncasecmp;

	if (!a || !b || !a->present || !b->present)
		return false;
	if (mods & HN_SM_STARTSWITH)
		return a->n >= b->n && !cmp(a->s ? a->s : "", b->s ? b->s : "", b->n);
	if (mods & HN_SM_ENDSWITH)
		return a->n >= b->n && !cmp(a->s + (a->n - b->n), b->s ? b->s : "", b->n);
	if (mods & HN_SM_CONTAINS) {
		for (size_t i = 0; i + b->n <= a->n; i++)
			if (!cmp(a->s + i, b->s ? b->s : "", b->n))
				return true;
		return false;
	}
	return a->n == b->n && !cmp(a->s ? a->s : "", b->s ? b->s : "", a->n);
}

/* The values of field f as a rule sees them: Image has two. */
static unsigned values_of(struct det_rec *r, int f, const struct hn_sm_str *out[2])
{
	unsigned n = 0;

	out[n++] = det_rec_get(r, f);
	if (f == DF_IMAGE) {
		const struct hn_sm_str *alt = det_rec_get(r, DF_IMAGE_ALT);
		if (alt->present)
			out[n++] = alt;
	}
	return n;
}

/* fieldref: the item's field against the fields its values name (one, or
 * with all every one). */
static bool ref_match(const struct det_item *it, struct det_rec *r)
{
	const struct hn_sm_str *a[2], *b[2];
	unsigned na = values_of(r, it->field, a), hits = 0;

	for (unsigned k = 0; k < it->nraw; k++) {
		unsigned nb = values_of(r, it->refs[k], b);
		bool hit = false;
		for (unsigned i = 0; i < na && !hit; i++)
			for (unsigned j = 0; j < nb && !hit; j++)
				hit = ref_cmp(it->vals.mods, a[i], b[j]);
		if (hit && !(it->vals.mods & HN_SM_ALL))
			return true;
		hits += hit;
	}
	return (it->vals.mods & HN_SM_ALL) && it->nraw && hits == it->nraw;
}

static bool item_match(const struct det_item *it, struct det_rec *r)
{
	int f[32];
	unsigned n;

	if (it->vals.mods & HN_SM_FIELDREF)
		return ref_match(it, r);
	if (it->field >= 0) {
		if (hn_sm_list_match(&it->vals, det_rec_get(r, it->field)))
			return true;
		if (it->field == DF_IMAGE) {
			const struct hn_sm_str *alt = det_rec_get(r, DF_IMAGE_ALT);
			return alt->present && hn_sm_list_match(&it->vals, alt);
		}
		return false;
	}
	n = det_keyword_fields(r, f, sizeof(f) / sizeof(f[0]));
	for (unsigned i = 0; i < n; i++) {
		const struct hn_sm_str *v = det_rec_get(r, f[i]);
		if (v->present && hn_sm_list_match(&it->vals, v))
			return true;
	}
	return false;
}

static bool sel_match(const struct det_sel *s, struct det_rec *r)
{
	unsigned start = 0;

	for (unsigned a = 0; a < s->nalt; a++) {
		unsigned end = s->alt_end[a];
		bool all = true;
		for (unsigned i = start; i < end && all; i++)
			all = item_match(&s->items[i], r);
		if (all)
			return true;
		start = end;
	}
	return false;
}

static bool node_eval(const struct det_rule *rule, unsigned n, struct det_rec *r,
		      int depth)
{
	const struct det_node *nd = &rule->cond.nodes[n];

	if (depth > 256)
		return false;   /* cond.c bounds nesting; never reached */
	switch (nd->op) {
	case DN_SEL:
		return sel_match(&rule->sels[nd->a], r);
	case DN_AND:
		for (unsigned k = nd->a; k < nd->b; k++)
			if (!node_eval(rule, rule->cond.kids[k], r, depth + 1))
				return false;
		return true;
	case DN_OR:
		for (unsigned k = nd->a; k < nd->b; k++)
			if (node_eval(rule, rule->cond.kids[k], r, depth + 1))
				return true;
		return false;
	case DN_NOT:
		return !node_eval(rule, rule->cond.kids[nd->a], r, depth + 1);
	case DN_TRUE:
		return true;
	case DN_FALSE:
	default:
		return false;
	}
}

bool det_rule_eval(const struct det_rule *rule, struct det_rec *r)
{
	if (!rule->cond.nodes || rule->cond.root >= rule->cond.nnodes)
		return false;
	return node_eval(rule, rule->cond.root, r, 0);
}

/* Three-valued: what the fields a record's shape decides say of a rule
 * (the others unknown). */
enum tri { T_NO, T_YES, T_MAYBE };

static enum tri item_tri(const struct det_item *it, struct det_rec *r)
{
	uint16_t type = r->ev->type;

	if (it->field < 0 || (it->vals.mods & HN_SM_FIELDREF) ||
	    !det_field_static(it->field, type, r->audit_kind) ||
	    (it->field == DF_IMAGE && !det_field_static(DF_IMAGE_ALT, type, r->audit_kind)))
		return T_MAYBE;
	return item_match(it, r) ? T_YES : T_NO;
}

static enum tri sel_tri(const struct det_sel *s, struct det_rec *r)
{
	unsigned start = 0;
	enum tri sel = T_NO;

	for (unsigned a = 0; a < s->nalt; a++) {
		enum tri alt = T_YES;
		for (unsigned i = start; i < s->alt_end[a] && alt != T_NO; i++) {
			enum tri t = item_tri(&s->items[i], r);
			if (t != T_YES)
				alt = t;
		}
		if (alt == T_YES)
			return T_YES;
		if (alt == T_MAYBE)
			sel = T_MAYBE;
		start = s->alt_end[a];
	}
	return sel;
}

static enum tri node_tri(const struct det_rule *rule, unsigned n, struct det_rec *r, int depth)
{
	const struct det_node *nd = &rule->cond.nodes[n];
	enum tri acc;

	if (depth > 256)
		return T_MAYBE;
	switch (nd->op) {
	case DN_SEL:
		return sel_tri(&rule->sels[nd->a], r);
	case DN_AND:
		acc = T_YES;
		for (unsigned k = nd->a; k < nd->b; k++) {
			enum tri t = node_tri(rule, rule->cond.kids[k], r, depth + 1);
			if (t == T_NO)
				return T_NO;
			if (t == T_MAYBE)
				acc = T_MAYBE;
		}
		return acc;
	case DN_OR:
		acc = T_NO;
		for (unsigned k = nd->a; k < nd->b; k++) {
			enum tri t = node_tri(rule, rule->cond.kids[k], r, depth + 1);
			if (t == T_YES)
				return T_YES;
			if (t == T_MAYBE)
				acc = T_MAYBE;
		}
		return acc;
	case DN_NOT: {
		enum tri t = node_tri(rule, rule->cond.kids[nd->a], r, depth + 1);
		return t == T_MAYBE ? T_MAYBE : t == T_YES ? T_NO : T_YES;
	}
	case DN_TRUE:
		return T_YES;
	case DN_FALSE:
	default:
		return T_NO;
	}
}

bool det_item_never(const struct det_item *it, enum hn_det_source src)
{
	struct det_rec *r;
	struct hn_event ev;
	bool never = true;

	if (it->field < 0 || !(r = malloc(sizeof(*r))))
		return false;
	for (unsigned t = 0; t < HN_EV_TYPE_MAX && never; t++)
		for (int k = 0; k < (src == HN_DS_AUDITD ? DET_AUDIT_COUNT : 1) && never; k++) {
			memset(&ev, 0, sizeof(ev));
			ev.type = (uint16_t)t;
			det_rec_init(r, &ev, NULL, src, k);
			never = item_tri(it, r) == T_NO;
		}
	free(r);
	return never;
}

bool det_rule_possible(const struct det_rule *rule, struct det_rec *r)
{
	if (!rule->cond.nodes || rule->cond.root >= rule->cond.nnodes)
		return false;
	return node_tri(rule, rule->cond.root, r, 0) != T_NO;
}

/* The records of one event: one per source, one per auditd record
 * type (a rename: file_rename, file_event, SYSCALL, PATH, PATH2). */
#define RECS_MAX 8
#define WORDS (CAND_MAX / 64)

/* Evaluate rule ri on r; fired (NULL but for auditd) holds the rules
 * that fired on the event's earlier records: one alert per rule and
 * event.  1 when it fires. */
static unsigned try_rule(const struct hn_ruleset *rs, unsigned ri, struct det_rec *r,
			 uint64_t *fired, hn_rule_match_fn match, void *arg)
{
	const struct det_rule *rule = det_ruleset_rule(rs, ri);

	if (fired && (fired[ri / 64] & (1ULL << (ri % 64))))
		return 0;
	if (!det_rule_eval(rule, r))
		return 0;
	if (fired)
		fired[ri / 64] |= 1ULL << (ri % 64);
	if (match)
		match(&rule->info, r->ev, arg);
	return 1;
}

/* Every rule of r's source. */
static unsigned try_all(const struct hn_ruleset *rs, struct det_rec *r, uint64_t *fired,
			hn_rule_match_fn match, void *arg)
{
	unsigned n, count = 0;
	const unsigned *all = det_ruleset_by_source(rs, r->src, &n);

	for (unsigned i = 0; i < n; i++)
		count += try_rule(rs, all[i], r, fired, match, arg);
	return count;
}

/* The rules in bits[0..nw) (and in may[0..nw) unless NULL), in load
 * order. */
static unsigned try_bits(const struct hn_ruleset *rs, struct det_rec *r, const uint64_t *bits,
			 const uint64_t *may, unsigned nw, uint64_t *fired,
			 hn_rule_match_fn match, void *arg)
{
	unsigned count = 0;

	for (unsigned w = 0; w < nw; w++)
		for (uint64_t m = bits[w] & (may ? may[w] : ~0ULL); m; m &= m - 1)
			count += try_rule(rs, w * 64 + (unsigned)__builtin_ctzll(m), r, fired,
					  match, arg);
	return count;
}

/* The records ev is seen as, for the sources with rules: (source,
 * audit record type) pairs into out; their number. */
struct rec_id {
	unsigned char src, kind;
};
#define IDS_MAX (HN_DS_COUNT + DET_AUDIT_COUNT)

static unsigned record_ids(const struct hn_ruleset *rs, const struct hn_event *ev,
			   struct rec_id out[IDS_MAX])
{
	unsigned srcs = det_sources_of_event(ev), kinds = 0, n = 0;

	for (; srcs; srcs &= srcs - 1) {
		int s = __builtin_ctz(srcs);
		unsigned nr;
		(void)det_ruleset_by_source(rs, (enum hn_det_source)s, &nr);
		if (!nr)
			continue;
		if (s != HN_DS_AUDITD) {
			out[n++] = (struct rec_id){ (unsigned char)s, 0 };
			continue;
		}
		for (kinds = det_audit_kinds(ev); kinds; kinds &= kinds - 1)
			out[n++] = (struct rec_id){ (unsigned char)s,
						    (unsigned char)__builtin_ctz(kinds) };
	}
	return n;
}

int hn_ruleset_match(const struct hn_ruleset *rs, const struct hn_event *ev,
		     const struct hn_det_parent *parent, hn_rule_match_fn match,
		     void *arg)
{
	struct det_rec recs[RECS_MAX], *rp[RECS_MAX];
	struct rec_id ids[IDS_MAX];
	uint64_t may[WORDS], bits[RECS_MAX][WORDS], fired[WORDS];
	unsigned nids, count = 0, nw;

	if (!rs || !ev)
		return 0;
	nids = record_ids(rs, ev, ids);
	if (!nids)
		return 0;
	nw = (hn_ruleset_count(rs) + 63) / 64;
	memset(fired, 0, (nw < WORDS ? nw : WORDS) * sizeof(*fired));
	/* RECS_MAX records at a time (every event has fewer today) */
	for (unsigned at = 0; at < nids;) {
		unsigned nrec = 0, nscan = 0;
		bool all[RECS_MAX], lits;
		struct det_rec *scan[RECS_MAX];
		for (; at < nids && nrec < RECS_MAX; at++) {
			struct det_rec *r = &recs[nrec];
			bool any = false;
			det_rec_init(r, ev, parent, (enum hn_det_source)ids[at].src, ids[at].kind);
			/* the key index (too many rules, no memory: every rule
			 * of the source) */
			all[nrec] = nw > WORDS ||
				    !det_index_mask(det_ruleset_index(rs, r->src), r, bits[nrec], nw);
			for (unsigned w = 0; w < nw && !all[nrec] && !any; w++)
				any = bits[nrec][w] != 0;
			if (!all[nrec] && !any)
				continue;   /* no rule can match this record */
			rp[nrec] = r;
			if (!all[nrec])
				scan[nscan++] = r;
			nrec++;
		}
		lits = nscan && det_lits_scan(det_ruleset_lits(rs), scan, nscan, may, nw);
		for (unsigned i = 0; i < nrec; i++) {
			struct det_rec *r = rp[i];
			uint64_t *f = r->src == HN_DS_AUDITD && nw <= WORDS ? fired : NULL;
			if (all[i]) {
				/* the literal bits alone are not restricted to the
				 * source */
				count += try_all(rs, r, f, match, arg);
				continue;
			}
			count += try_bits(rs, r, bits[i], lits ? may : NULL, nw, f, match, arg);
		}
	}
	return (int)count;
}

void hn_alert_group(const struct hn_rule_info *rule, const struct hn_event *ev,
		    char *key, size_t n)
{
	uint64_t group;

	if (ev->type == HN_EV_PROCESS_START && ev->proc.parent_entity)
		group = ev->proc.parent_entity;
	else if (ev->proc.entity)
		group = ev->proc.entity;
	else
		group = ev->time / 3600000000000ULL;
	if (rule->id[0])
		snprintf(key, n, "%s/%016llx", rule->id, (unsigned long long)group);
	else
		snprintf(key, n, "%s:%d/%016llx", rule->path, rule->line,
			 (unsigned long long)group);
}
