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
 * The prefilter (index.c) picks, for process starts and the auditd view,
 * the rules the record's key can satisfy; the rest are never evaluated.
 */
#include "detect/detect_int.h"

#include <stdio.h>
#include <string.h>

/* Candidates a record can have (a source with more rules is not
 * prefiltered: every rule is tried). */
#define CAND_MAX 4096

static bool item_match(const struct det_item *it, struct det_rec *r)
{
	int f[32];
	unsigned n;

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

/* The rules of source s to try on r: the prefilter's candidates into buf,
 * or every rule of the source. */
static const unsigned *candidates(const struct hn_ruleset *rs, enum hn_det_source s,
				  struct det_rec *r, unsigned *buf, unsigned *n)
{
	const unsigned *all = det_ruleset_by_source(rs, s, n);
	int k = det_index_candidates(det_ruleset_index(rs, s), r, buf, CAND_MAX);

	if (k < 0)
		return all;
	*n = (unsigned)k;
	return buf;
}

int hn_ruleset_match(const struct hn_ruleset *rs, const struct hn_event *ev,
		     const struct hn_det_parent *parent, hn_rule_match_fn match,
		     void *arg)
{
	unsigned srcs, fired = 0;
	unsigned buf[CAND_MAX];

	if (!rs || !ev)
		return 0;
	srcs = det_sources_of_event(ev);
	for (int s = HN_DS_PROCESS_CREATION; s < HN_DS_COUNT; s++) {
		const unsigned *idx;
		unsigned n;

		if (!(srcs & (1u << s)))
			continue;
		(void)det_ruleset_by_source(rs, (enum hn_det_source)s, &n);
		if (!n)
			continue;
		if (s != HN_DS_AUDITD) {
			struct det_rec rec;
			det_rec_init(&rec, ev, parent, (enum hn_det_source)s, 0);
			idx = candidates(rs, (enum hn_det_source)s, &rec, buf, &n);
			for (unsigned i = 0; i < n; i++) {
				const struct det_rule *rule = det_ruleset_rule(rs, idx[i]);
				if (det_rule_eval(rule, &rec)) {
					fired++;
					if (match)
						match(&rule->info, ev, arg);
				}
			}
			continue;
		}
		/* auditd: the event's records, each with its own values; a
		 * rule fires once per event (done: the rules that fired, in
		 * the order they did) */
		struct det_rec rec;
		unsigned kinds = det_audit_kinds(ev), done[64], ndone = 0;
		for (int k = 0; k < DET_AUDIT_COUNT; k++) {
			if (!(kinds & (1u << k)))
				continue;
			det_rec_init(&rec, ev, parent, HN_DS_AUDITD, k);
			idx = candidates(rs, HN_DS_AUDITD, &rec, buf, &n);
			for (unsigned i = 0; i < n; i++) {
				const struct det_rule *rule = det_ruleset_rule(rs, idx[i]);
				bool again = false;
				for (unsigned d = 0; d < ndone && !again; d++)
					again = done[d] == idx[i];
				if (again || !det_rule_eval(rule, &rec))
					continue;
				if (ndone < sizeof(done) / sizeof(done[0]))
					done[ndone++] = idx[i];
				fired++;
				if (match)
					match(&rule->info, ev, arg);
			}
		}
	}
	return (int)fired;
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
