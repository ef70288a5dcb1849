/*
 * correlation.c - Sigma correlation rules (the Sigma Correlation Rules
 * Specification, v2.0.2): read from their YAML documents, checked, and
 * resolved against the rules they refer to.
 *
 *   document ──det_corr_read──► pending correlation (references as text)
 *        │ every key checked; a problem reported with its line
 *        ▼
 *   end of hn_ruleset_load ──det_corr_resolve──► each reference bound to a
 *        rule, or to a correlation resolved before it (chains, at most
 *        DET_CORR_DEPTH deep; cycles refused); group-by and value fields
 *        (aliases applied) checked against the log sources of the rules
 *        whose events they are read from ──► loaded, or reported
 *
 * What is read (the specification's names):
 *   correlation.type       event_count, value_count, temporal,
 *                          temporal_ordered
 *   correlation.rules      names or ids of rules or correlations (a list,
 *                          or one text)
 *   correlation.group-by   fields (or aliases) whose values must be equal;
 *                          absent: one group for everything
 *   correlation.timespan   N and s, m, h or d
 *   correlation.condition  gt, gte, lt, lte, eq (several: all hold, a
 *                          range); field for value_count.  Temporal
 *                          correlations without one need all their rules.
 *   correlation.aliases    alias: { rule name: field }
 *   generate               (top level, or in correlation as pySigma reads
 *                          it) whether the referenced rules still alert on
 *                          their own; false by default
 *
 * Problems: invalid (the document is not a correlation as the
 * specification writes one: a missing or unknown key, a reference to no
 * rule, a condition that can never hold) or unsupported (valid, but hinomi
 * does not evaluate it: pySigma's extra types and extended conditions,
 * counts above DET_CORR_COUNT_MAX, a field a referenced rule's log source
 * does not have).  A correlation that refers to a rule which did not load
 * is reported as that rule was.
 *
 * Whom it trusts: nobody; rule files are input.
 */
#include "detect/detect_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct failed_doc {
	char *name, *id;
	enum hn_rule_problem_kind kind;
};

struct det_corrset {
	struct det_corr **pending;      /* read, not resolved yet */
	unsigned npending, cappending;
	struct det_corr **corrs;        /* loaded, in the order they resolved */
	unsigned n, cap;
	struct failed_doc *failed;      /* documents that did not load */
	unsigned nfailed, capfailed;
	/* what each rule / correlation feeds: [start[i], start[i+1]) */
	unsigned *rule_start, *corr_start;
	struct det_feed *rule_feeds, *corr_feeds;
	unsigned feeds_rules, feeds_corrs;
};

static const char *const type_names[] = {
	[DC_EVENT_COUNT] = "event_count",
	[DC_VALUE_COUNT] = "value_count",
	[DC_TEMPORAL] = "temporal",
	[DC_TEMPORAL_ORDERED] = "temporal_ordered",
};

/* ---- the set ---- */

static struct det_corrset *corrset(struct hn_ruleset *rs)
{
	struct det_corrset **cs = det_ruleset_corrset(rs);

	if (!*cs)
		*cs = calloc(1, sizeof(**cs));
	return *cs;
}

static int grow(void **p, unsigned *cap, unsigned n, size_t size)
{
	void *q;
	unsigned c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static void corr_free(struct det_corr *c)
{
	if (!c)
		return;
	det_info_release(&c->info);
	for (unsigned i = 0; i < c->nrefs; i++)
		free(c->refs[i].text);
	free(c->refs);
	for (unsigned i = 0; i < c->ngroup; i++)
		free(c->group_by[i]);
	free(c->group_by);
	for (unsigned i = 0; i < c->nvalue; i++)
		free(c->value_fields[i]);
	free(c->value_fields);
	for (unsigned i = 0; i < c->nalias; i++) {
		struct det_corr_alias *a = &c->aliases[i];
		for (unsigned k = 0; k < a->n; k++) {
			free(a->key[k]);
			free(a->field[k]);
		}
		free(a->key);
		free(a->field);
		free(a->name);
	}
	free(c->aliases);
	free(c->gb_field);
	free(c->v_field);
	free(c);
}

void det_corrset_free(struct det_corrset *cs)
{
	if (!cs)
		return;
	for (unsigned i = 0; i < cs->npending; i++)
		corr_free(cs->pending[i]);
	free(cs->pending);
	for (unsigned i = 0; i < cs->n; i++)
		corr_free(cs->corrs[i]);
	free(cs->corrs);
	for (unsigned i = 0; i < cs->nfailed; i++) {
		free(cs->failed[i].name);
		free(cs->failed[i].id);
	}
	free(cs->failed);
	free(cs->rule_start);
	free(cs->corr_start);
	free(cs->rule_feeds);
	free(cs->corr_feeds);
	free(cs);
}

void det_corr_failed(struct hn_ruleset *rs, const char *name, const char *id,
		     enum hn_rule_problem_kind kind)
{
	struct det_corrset *cs;
	struct failed_doc *f;

	if ((!name || !name[0]) && (!id || !id[0]))
		return;
	cs = corrset(rs);
	if (!cs || grow((void **)&cs->failed, &cs->capfailed, cs->nfailed, sizeof(*cs->failed)))
		return;   /* only a message is less precise */
	f = &cs->failed[cs->nfailed];
	f->name = name && name[0] ? strdup(name) : NULL;
	f->id = id && id[0] ? strdup(id) : NULL;
	f->kind = kind;
	cs->nfailed++;
}

const struct hn_rule_info *det_corr_find_name(const struct hn_ruleset *rs, const char *name)
{
	const struct det_corrset *cs = det_ruleset_corrs(rs);
	unsigned n = hn_ruleset_count(rs);

	if (!name || !name[0])
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		const struct hn_rule_info *r = hn_ruleset_rule(rs, i);
		if (r->name && !strcmp(r->name, name))
			return r;
	}
	if (!cs)
		return NULL;
	for (unsigned i = 0; i < cs->n; i++)
		if (!strcmp(cs->corrs[i]->info.name, name))
			return &cs->corrs[i]->info;
	for (unsigned i = 0; i < cs->npending; i++)
		if (!cs->pending[i]->failed && !strcmp(cs->pending[i]->info.name, name))
			return &cs->pending[i]->info;
	return NULL;
}

/* ---- reading ---- */

/* A list of texts (or one text) into *out.  0, or -errno (problem). */
static int read_texts(struct det_reader *rd, const yaml_node_t *v, const char *what,
		      unsigned max, char ***out, unsigned *n)
{
	const yaml_node_t *one[1] = { v };
	const yaml_node_t *const *items = one;
	const yaml_node_t *list[DET_CORR_REFS + 1];
	unsigned count = 1;
	char **t;

	if (v->type == YAML_SEQUENCE_NODE) {
		count = 0;
		for (yaml_node_item_t *i = v->data.sequence.items.start;
		     i < v->data.sequence.items.top; i++) {
			if (count == max || count == DET_CORR_REFS) {
				det_problem(rd, HN_RULE_UNSUPPORTED, v, "'%s': more than %u", what,
					    max);
				return -ENOTSUP;
			}
			list[count++] = det_yaml_node(rd, *i);
		}
		items = list;
	}
	if (!count) {
		det_problem(rd, HN_RULE_INVALID, v, "'%s' is empty", what);
		return -EINVAL;
	}
	t = calloc(count, sizeof(*t));
	if (!t)
		return -ENOMEM;
	*out = t;
	for (unsigned i = 0; i < count; i++) {
		const char *s = det_yaml_text(items[i]);
		if (!s || det_yaml_null(items[i]) || !s[0]) {
			det_problem(rd, HN_RULE_INVALID, items[i] ? items[i] : v,
				    "'%s': each must be a name", what);
			return -EINVAL;
		}
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(t[k], s)) {
				det_problem(rd, HN_RULE_INVALID, items[i], "'%s': '%s' twice", what,
					    s);
				return -EINVAL;
			}
		t[i] = strdup(s);
		if (!t[i])
			return -ENOMEM;
		*n = i + 1;
	}
	return 0;
}

static int read_type(struct det_reader *rd, struct det_corr *c, const yaml_node_t *corr)
{
	static const char *const extra[] = {
		"value_sum", "value_avg", "value_percentile", "value_median",
		"temporal_extended", "temporal_ordered_extended", NULL,
	};
	const yaml_node_t *t = det_yaml_get(rd, corr, "type");
	const char *s = det_yaml_text(t);

	if (!t || det_yaml_null(t)) {
		det_problem(rd, HN_RULE_INVALID, corr, "correlation: no 'type'");
		return -EINVAL;
	}
	if (!s) {
		det_problem(rd, HN_RULE_INVALID, t, "correlation: 'type' must be text");
		return -EINVAL;
	}
	for (unsigned i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (!strcmp(s, type_names[i])) {
			c->type = (enum det_corr_type)i;
			return 0;
		}
	for (unsigned i = 0; extra[i]; i++)
		if (!strcmp(s, extra[i])) {
			det_problem(rd, HN_RULE_UNSUPPORTED, t, "correlation type '%s' is not"
				    " supported (event_count, value_count, temporal,"
				    " temporal_ordered are)", s);
			return -ENOTSUP;
		}
	det_problem(rd, HN_RULE_INVALID, t, "unknown correlation type '%s'", s);
	return -EINVAL;
}

static int read_rules(struct det_reader *rd, struct det_corr *c, const yaml_node_t *corr)
{
	const yaml_node_t *v = det_yaml_get(rd, corr, "rules");
	char **texts = NULL;
	unsigned n = 0;
	int r;

	if (!v || det_yaml_null(v)) {
		det_problem(rd, HN_RULE_INVALID, corr, "correlation: no 'rules'");
		return -EINVAL;
	}
	if (v->type == YAML_MAPPING_NODE) {
		det_problem(rd, HN_RULE_INVALID, v, "'rules' must be a list of rule names or ids");
		return -EINVAL;
	}
	r = read_texts(rd, v, "rules", DET_CORR_REFS, &texts, &n);
	if (r == 0) {
		c->refs = calloc(n, sizeof(*c->refs));
		if (!c->refs)
			r = -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		if (r == 0) {
			const yaml_node_t *it = v;
			if (v->type == YAML_SEQUENCE_NODE)
				it = det_yaml_node(rd, v->data.sequence.items.start[i]);
			c->refs[i].text = texts[i];
			c->refs[i].line = it ? (int)it->start_mark.line + 1 : c->info.line;
			c->nrefs = i + 1;
		} else {
			free(texts[i]);
		}
	}
	free(texts);
	return r;
}

static int read_group_by(struct det_reader *rd, struct det_corr *c, const yaml_node_t *corr)
{
	const yaml_node_t *v = det_yaml_get(rd, corr, "group-by");

	if (!v || det_yaml_null(v))
		return 0;   /* one group */
	c->line_group = (int)v->start_mark.line + 1;
	if (v->type == YAML_MAPPING_NODE) {
		det_problem(rd, HN_RULE_INVALID, v, "'group-by' must be a list of fields");
		return -EINVAL;
	}
	return read_texts(rd, v, "group-by", DET_CORR_GROUP_BY, &c->group_by, &c->ngroup);
}

/* "90m": N (> 0) and s, m, h or d, at most 366 days. */
static int read_timespan(struct det_reader *rd, struct det_corr *c, const yaml_node_t *corr)
{
	const yaml_node_t *v = det_yaml_get(rd, corr, "timespan");
	const char *s = det_yaml_text(v);
	unsigned long long n = 0, unit;
	size_t i = 0;

	if (!v || det_yaml_null(v)) {
		det_problem(rd, HN_RULE_INVALID, corr, "correlation: no 'timespan'");
		return -EINVAL;
	}
	if (!s)
		goto bad;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		n = n * 10 + (unsigned long long)(s[i] - '0');
		if (n > 100000000ULL)
			goto bad;
	}
	if (!i || !s[i] || s[i + 1])
		goto bad;
	switch (s[i]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: goto bad;
	}
	if (!n) {
		det_problem(rd, HN_RULE_INVALID, v, "'timespan' must be more than 0");
		return -EINVAL;
	}
	if (n * unit > 366ULL * 86400) {
		det_problem(rd, HN_RULE_UNSUPPORTED, v, "'timespan' %s is longer than 366 days", s);
		return -ENOTSUP;
	}
	c->span_ns = n * unit * 1000000000ULL;
	return 0;
bad:
	det_problem(rd, HN_RULE_INVALID, v, "'timespan' must be a number and s, m, h or d"
		    " (like 90m)");
	return -EINVAL;
}

/* A whole number >= 0 written plainly. */
static bool count_of(const yaml_node_t *v, uint64_t *out)
{
	const char *s = det_yaml_text(v);
	uint64_t n = 0;

	if (!s || !det_yaml_plain(v) || !s[0])
		return false;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || n > 1000000000000ULL)
			return false;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	*out = n;
	return true;
}

static int read_condition(struct det_reader *rd, struct det_corr *c, const yaml_node_t *corr)
{
	const yaml_node_t *v = det_yaml_get(rd, corr, "condition");
	const yaml_node_t *field = NULL;
	bool temporal = c->type == DC_TEMPORAL || c->type == DC_TEMPORAL_ORDERED;
	unsigned ops = 0;
	uint64_t lo = 0, hi = UINT64_MAX;

	if (!v || det_yaml_null(v)) {
		if (!temporal) {
			det_problem(rd, HN_RULE_INVALID, corr, "%s: no 'condition'",
				    type_names[c->type]);
			return -EINVAL;
		}
		c->lo = c->nrefs;   /* all of the rules */
		c->hi = UINT64_MAX;
		return 0;
	}
	c->line_cond = (int)v->start_mark.line + 1;
	if (v->type != YAML_MAPPING_NODE) {
		if (temporal && det_yaml_text(v)) {
			det_problem(rd, HN_RULE_UNSUPPORTED, v, "extended (boolean) correlation"
				    " conditions are not supported");
			return -ENOTSUP;
		}
		det_problem(rd, HN_RULE_INVALID, v, "'condition' must be a mapping (gte: 10)");
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = det_yaml_node(rd, p->key), *x = det_yaml_node(rd, p->value);
		const char *key = det_yaml_text(k);
		uint64_t n;

		if (!key) {
			det_problem(rd, HN_RULE_INVALID, k, "a condition key must be text");
			return -EINVAL;
		}
		if (!strcmp(key, "field")) {
			field = x;
			continue;
		}
		if (!strcmp(key, "neq")) {
			det_problem(rd, HN_RULE_UNSUPPORTED, k, "condition 'neq' is not supported"
				    " (gt, gte, lt, lte, eq are)");
			return -ENOTSUP;
		}
		if (strcmp(key, "gt") && strcmp(key, "gte") && strcmp(key, "lt") &&
		    strcmp(key, "lte") && strcmp(key, "eq")) {
			det_problem(rd, HN_RULE_INVALID, k, "unknown condition '%s' (gt, gte, lt,"
				    " lte, eq)", key);
			return -EINVAL;
		}
		if (!count_of(x, &n)) {
			det_problem(rd, HN_RULE_INVALID, x ? x : k, "condition '%s' must be a"
				    " whole number", key);
			return -EINVAL;
		}
		ops++;
		if (!strcmp(key, "gt") && n + 1 > lo)
			lo = n + 1;
		else if (!strcmp(key, "gte") && n > lo)
			lo = n;
		else if (!strcmp(key, "lt")) {
			if (!n) {
				det_problem(rd, HN_RULE_INVALID, x, "'lt: 0' can never hold");
				return -EINVAL;
			}
			if (n - 1 < hi)
				hi = n - 1;
		} else if (!strcmp(key, "lte") && n < hi)
			hi = n;
		else if (!strcmp(key, "eq")) {
			if (n > lo)
				lo = n;
			if (n < hi)
				hi = n;
		}
	}
	if (!ops) {
		det_problem(rd, HN_RULE_INVALID, v, "the condition has no gt, gte, lt, lte or eq");
		return -EINVAL;
	}
	if (lo > hi) {
		det_problem(rd, HN_RULE_INVALID, v, "the condition can never hold");
		return -EINVAL;
	}
	if (c->type == DC_VALUE_COUNT) {
		if (!field || det_yaml_null(field)) {
			det_problem(rd, HN_RULE_INVALID, v, "value_count: the condition needs a"
				    " 'field'");
			return -EINVAL;
		}
		if (field->type == YAML_MAPPING_NODE) {
			det_problem(rd, HN_RULE_INVALID, field, "'field' must be a field name");
			return -EINVAL;
		}
		int r = read_texts(rd, field, "field", DET_CORR_VALUE_FIELDS, &c->value_fields,
				   &c->nvalue);
		if (r < 0)
			return r;
	} else if (field) {
		det_problem(rd, HN_RULE_INVALID, field, "'field' is for value_count only");
		return -EINVAL;
	} else if (hi == 0) {
		/* a group exists once it has a hit */
		det_problem(rd, HN_RULE_INVALID, v, "the condition can never hold (a group has"
			    " at least one event)");
		return -EINVAL;
	}
	if (temporal && lo > c->nrefs) {
		det_problem(rd, HN_RULE_INVALID, v, "the condition can never hold: the"
			    " correlation refers to %u rules", c->nrefs);
		return -EINVAL;
	}
	/* event_count and value_count keep what they count per group */
	if (!temporal && (lo > DET_CORR_COUNT_MAX ||
			  (c->type == DC_VALUE_COUNT && hi != UINT64_MAX &&
			   hi > DET_CORR_COUNT_MAX))) {
		det_problem(rd, HN_RULE_UNSUPPORTED, v, "counts above %u per group are not"
			    " supported", DET_CORR_COUNT_MAX);
		return -ENOTSUP;
	}
	c->lo = lo;
	c->hi = hi;
	return 0;
}

static int read_aliases(struct det_reader *rd, struct det_corr *c, const yaml_node_t *corr)
{
	const yaml_node_t *v = det_yaml_get(rd, corr, "aliases");
	size_t n;

	if (!v || det_yaml_null(v))
		return 0;
	c->line_alias = (int)v->start_mark.line + 1;
	if (v->type != YAML_MAPPING_NODE) {
		det_problem(rd, HN_RULE_INVALID, v, "'aliases' must be a mapping (alias: {rule:"
			    " field})");
		return -EINVAL;
	}
	n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
	if (n > DET_CORR_GROUP_BY + DET_CORR_VALUE_FIELDS) {
		det_problem(rd, HN_RULE_UNSUPPORTED, v, "more than %u aliases",
			    DET_CORR_GROUP_BY + DET_CORR_VALUE_FIELDS);
		return -ENOTSUP;
	}
	c->aliases = calloc(n ? n : 1, sizeof(*c->aliases));
	if (!c->aliases)
		return -ENOMEM;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start;
	     p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = det_yaml_node(rd, p->key), *m = det_yaml_node(rd, p->value);
		struct det_corr_alias *a = &c->aliases[c->nalias];
		const char *name = det_yaml_text(k);
		size_t nm;

		if (!name || !name[0]) {
			det_problem(rd, HN_RULE_INVALID, k, "an alias must be a name");
			return -EINVAL;
		}
		if (!m || m->type != YAML_MAPPING_NODE || m->data.mapping.pairs.start ==
		    m->data.mapping.pairs.top) {
			det_problem(rd, HN_RULE_INVALID, m ? m : k, "alias '%s' must map rule"
				    " names to fields", name);
			return -EINVAL;
		}
		for (unsigned i = 0; i < c->nalias; i++)
			if (!strcmp(c->aliases[i].name, name)) {
				det_problem(rd, HN_RULE_INVALID, k, "alias '%s' twice", name);
				return -EINVAL;
			}
		nm = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
		a->name = strdup(name);
		a->key = calloc(nm, sizeof(*a->key));
		a->field = calloc(nm, sizeof(*a->field));
		c->nalias++;
		if (!a->name || !a->key || !a->field)
			return -ENOMEM;
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start;
		     q < m->data.mapping.pairs.top; q++) {
			const yaml_node_t *rk = det_yaml_node(rd, q->key);
			const yaml_node_t *fv = det_yaml_node(rd, q->value);
			const char *rn = det_yaml_text(rk), *fn = det_yaml_text(fv);
			if (!rn || !rn[0] || !fn || det_yaml_null(fv) || !fn[0]) {
				det_problem(rd, HN_RULE_INVALID, rk, "alias '%s': each entry must"
					    " be 'rule name: field'", name);
				return -EINVAL;
			}
			a->key[a->n] = strdup(rn);
			a->field[a->n] = strdup(fn);
			a->n++;
			if (!a->key[a->n - 1] || !a->field[a->n - 1])
				return -ENOMEM;
		}
	}
	return 0;
}

/* generate: true/false, at the top level (the specification) or in the
 * correlation (pySigma); both must agree. */
static int read_generate(struct det_reader *rd, struct det_corr *c, const yaml_node_t *root,
			 const yaml_node_t *corr)
{
	const yaml_node_t *at[2] = { det_yaml_get(rd, root, "generate"),
				     det_yaml_get(rd, corr, "generate") };
	int seen = -1;

	for (int i = 0; i < 2; i++) {
		const char *s = det_yaml_text(at[i]);
		int v;
		if (!at[i] || det_yaml_null(at[i]))
			continue;
		if (!s || !det_yaml_plain(at[i]) ||
		    (strcasecmp(s, "true") && strcasecmp(s, "false"))) {
			det_problem(rd, HN_RULE_INVALID, at[i], "'generate' must be true or false");
			return -EINVAL;
		}
		v = !strcasecmp(s, "true");
		if (seen >= 0 && seen != v) {
			det_problem(rd, HN_RULE_INVALID, at[i], "'generate' given twice, differently");
			return -EINVAL;
		}
		seen = v;
	}
	c->generate = seen == 1;
	return 0;
}

static int check_keys(struct det_reader *rd, const yaml_node_t *root, const yaml_node_t *corr)
{
	static const char *const known[] = {
		"type", "rules", "group-by", "timespan", "condition", "aliases", "generate", NULL,
	};

	if (det_yaml_get(rd, root, "detection") || det_yaml_get(rd, root, "logsource")) {
		det_problem(rd, HN_RULE_INVALID, root, "a correlation rule has no 'detection' or"
			    " 'logsource': the rules it refers to have them");
		return -EINVAL;
	}
	if (!corr || corr->type != YAML_MAPPING_NODE) {
		det_problem(rd, HN_RULE_INVALID, corr, "'correlation' must be a mapping");
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = corr->data.mapping.pairs.start;
	     p < corr->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = det_yaml_node(rd, p->key);
		const char *key = det_yaml_text(k);
		bool ok = false;
		for (unsigned i = 0; key && known[i] && !ok; i++)
			ok = !strcmp(key, known[i]);
		if (!ok) {
			det_problem(rd, HN_RULE_INVALID, k, "unknown key '%s' in correlation",
				    key ? key : "?");
			return -EINVAL;
		}
	}
	return 0;
}

int det_corr_read(struct hn_ruleset *rs, struct det_reader *rd, const yaml_node_t *root)
{
	struct det_corrset *cs = corrset(rs);
	struct det_corr *c = calloc(1, sizeof(*c));
	const yaml_node_t *corr;
	const struct hn_rule_info *other;
	int r = -ENOMEM;

	if (!cs || !c)
		goto fail;
	r = det_read_meta(rd, &c->info, root);
	if (r < 0)
		goto fail;
	c->info.correlation = true;
	c->info.source = HN_DS_NONE;
	corr = det_yaml_get(rd, root, "correlation");
	if ((other = det_corr_find_name(rs, c->info.name))) {
		det_problem(rd, HN_RULE_INVALID, det_yaml_get(rd, root, "name"),
			    "name '%s' is already the name of %s:%d", c->info.name, other->path,
			    other->line);
		r = -EINVAL;
		goto fail;
	}
	if ((r = check_keys(rd, root, corr)) < 0 || (r = read_type(rd, c, corr)) < 0 ||
	    (r = read_rules(rd, c, corr)) < 0 || (r = read_group_by(rd, c, corr)) < 0 ||
	    (r = read_timespan(rd, c, corr)) < 0 || (r = read_condition(rd, c, corr)) < 0 ||
	    (r = read_aliases(rd, c, corr)) < 0 || (r = read_generate(rd, c, root, corr)) < 0)
		goto fail;
	r = -ENOMEM;
	c->info.path = strdup(rd->path);
	if (!c->info.path ||
	    grow((void **)&cs->pending, &cs->cappending, cs->npending, sizeof(*cs->pending)))
		goto fail;
	cs->pending[cs->npending++] = c;
	return 0;
fail:
	if (r == -ENOMEM && !rd->failed)
		det_problem(rd, HN_RULE_INVALID, root, "out of memory");
	corr_free(c);
	return r;
}

/* ---- resolving ---- */

enum target {
	T_NONE,
	T_RULE,
	T_CORR,          /* loaded */
	T_WAIT,          /* pending, not resolved yet */
	T_FAILED,        /* a document (or pending correlation) that did not load */
	T_AMBIGUOUS,
};

static bool is(const char *a, const char *b)
{
	return a && a[0] && !strcmp(a, b);
}

/* What text names: by name first (names are unique), then by id. */
static enum target find(const struct hn_ruleset *rs, const struct det_corrset *cs,
			const char *text, unsigned *idx, enum hn_rule_problem_kind *kind)
{
	unsigned n = hn_ruleset_count(rs), hits = 0;
	enum target t = T_NONE;

	for (int by_id = 0; by_id < 2 && !hits; by_id++) {
		for (unsigned i = 0; i < n; i++) {
			const struct hn_rule_info *r = hn_ruleset_rule(rs, i);
			if (is(by_id ? r->id : r->name, text)) {
				t = T_RULE;
				*idx = i;
				hits++;
			}
		}
		for (unsigned i = 0; i < cs->n; i++) {
			const struct hn_rule_info *r = &cs->corrs[i]->info;
			if (is(by_id ? r->id : r->name, text)) {
				t = T_CORR;
				*idx = i;
				hits++;
			}
		}
		for (unsigned i = 0; i < cs->npending; i++) {
			const struct det_corr *p = cs->pending[i];
			if (p->resolved || !is(by_id ? p->info.id : p->info.name, text))
				continue;
			t = p->failed ? T_FAILED : T_WAIT;
			*kind = p->fail_kind;
			hits++;
		}
	}
	if (hits > 1)
		return T_AMBIGUOUS;
	if (hits)
		return t;
	for (unsigned i = 0; i < cs->nfailed; i++)
		if (is(cs->failed[i].name, text) || is(cs->failed[i].id, text)) {
			*kind = cs->failed[i].kind;
			return T_FAILED;
		}
	return T_NONE;
}

/* The field to read for name (a group-by or value field) on ref r's hits:
 * the alias's, when name is an alias with an entry for r. */
static const char *field_for(const struct hn_ruleset *rs, const struct det_corrset *cs,
			     const struct det_corr *c, unsigned r, const char *name)
{
	const struct det_corr_ref *ref = &c->refs[r];
	const struct hn_rule_info *t = ref->corr ? &cs->corrs[ref->idx]->info :
				       hn_ruleset_rule(rs, ref->idx);

	for (unsigned a = 0; a < c->nalias; a++) {
		if (strcmp(c->aliases[a].name, name))
			continue;
		for (unsigned k = 0; k < c->aliases[a].n; k++) {
			const char *key = c->aliases[a].key[k];
			if (!strcmp(key, ref->text) || is(t->name, key) || is(t->id, key))
				return c->aliases[a].field[k];
		}
	}
	return name;
}

struct verdict {
	enum hn_rule_problem_kind kind;
	int line;
	char why[320];
};

/* Every field named for a ref's hits must exist for every log source they
 * come from. */
static int check_fields(const struct hn_ruleset *rs, const struct det_corrset *cs,
			struct det_corr *c, struct verdict *v)
{
	size_t ng = (size_t)c->nrefs * c->ngroup, nv = (size_t)c->nrefs * c->nvalue;

	/* each alias names rules of the correlation */
	for (unsigned a = 0; a < c->nalias; a++)
		for (unsigned k = 0; k < c->aliases[a].n; k++) {
			const char *key = c->aliases[a].key[k];
			bool found = false;
			for (unsigned r = 0; r < c->nrefs && !found; r++) {
				const struct det_corr_ref *ref = &c->refs[r];
				const struct hn_rule_info *t = ref->corr ?
					&cs->corrs[ref->idx]->info : hn_ruleset_rule(rs, ref->idx);
				found = !strcmp(key, ref->text) || is(t->name, key) ||
					is(t->id, key);
			}
			if (!found) {
				v->kind = HN_RULE_INVALID;
				v->line = c->line_alias;
				snprintf(v->why, sizeof(v->why), "alias '%s' names '%s', which is not"
					 " one of the correlation's rules", c->aliases[a].name, key);
				return -EINVAL;
			}
		}
	c->gb_field = calloc(ng ? ng : 1, sizeof(*c->gb_field));
	c->v_field = calloc(nv ? nv : 1, sizeof(*c->v_field));
	if (!c->gb_field || !c->v_field) {
		v->kind = HN_RULE_INVALID;
		v->line = c->info.line;
		snprintf(v->why, sizeof(v->why), "out of memory");
		return -ENOMEM;
	}
	for (unsigned r = 0; r < c->nrefs; r++) {
		for (unsigned k = 0; k < c->ngroup + c->nvalue; k++) {
			bool group = k < c->ngroup;
			const char *name = group ? c->group_by[k] : c->value_fields[k - c->ngroup];
			const char *f = field_for(rs, cs, c, r, name);
			if (group)
				c->gb_field[r * c->ngroup + k] = f;
			else
				c->v_field[r * c->nvalue + (k - c->ngroup)] = f;
			for (int s = HN_DS_PROCESS_CREATION; s < HN_DS_COUNT; s++) {
				if (!(c->refs[r].sources & (1u << s)) ||
				    det_field_lookup((enum hn_det_source)s, f) >= 0)
					continue;
				v->kind = HN_RULE_UNSUPPORTED;
				v->line = group ? c->line_group : c->line_cond;
				if (strcmp(f, name))
					snprintf(v->why, sizeof(v->why), "%s '%s' is field '%s' for"
						 " '%s', which %s does not record",
						 group ? "group-by" : "field", name, f,
						 c->refs[r].text,
						 hn_det_source_name((enum hn_det_source)s));
				else
					snprintf(v->why, sizeof(v->why), "%s '%s' is not recorded for"
						 " %s (the events of '%s')",
						 group ? "group-by" : "field", name,
						 hn_det_source_name((enum hn_det_source)s),
						 c->refs[r].text);
				return -ENOTSUP;
			}
		}
	}
	return 0;
}

/* 1 resolved, 0 waits for another correlation, -1 failed (v says why). */
static int try_resolve(const struct hn_ruleset *rs, const struct det_corrset *cs,
		       struct det_corr *c, struct verdict *v)
{
	unsigned depth = 1;

	for (unsigned r = 0; r < c->nrefs; r++) {
		struct det_corr_ref *ref = &c->refs[r];
		enum hn_rule_problem_kind kind = HN_RULE_INVALID;
		unsigned idx = 0;

		v->line = ref->line;
		switch (find(rs, cs, ref->text, &idx, &kind)) {
		case T_RULE:
			ref->corr = false;
			ref->idx = idx;
			ref->sources = 1u << hn_ruleset_rule(rs, idx)->source;
			break;
		case T_CORR:
			ref->corr = true;
			ref->idx = idx;
			ref->sources = 0;
			for (unsigned k = 0; k < cs->corrs[idx]->nrefs; k++)
				ref->sources |= cs->corrs[idx]->refs[k].sources;
			if (cs->corrs[idx]->depth + 1 > depth)
				depth = cs->corrs[idx]->depth + 1;
			break;
		case T_WAIT:
			return 0;
		case T_FAILED:
			v->kind = kind;
			snprintf(v->why, sizeof(v->why), "refers to '%s', which did not load (%s)",
				 ref->text, kind == HN_RULE_INVALID ? "invalid" : "unsupported");
			return -1;
		case T_AMBIGUOUS:
			v->kind = HN_RULE_INVALID;
			snprintf(v->why, sizeof(v->why), "'%s' names more than one rule", ref->text);
			return -1;
		case T_NONE:
		default:
			v->kind = HN_RULE_INVALID;
			snprintf(v->why, sizeof(v->why), "unknown rule '%s' (no rule or correlation"
				 " has that name or id)", ref->text);
			return -1;
		}
	}
	if (depth > DET_CORR_DEPTH) {
		v->kind = HN_RULE_UNSUPPORTED;
		v->line = c->info.line;
		snprintf(v->why, sizeof(v->why), "correlations nested more than %u deep",
			 DET_CORR_DEPTH);
		return -1;
	}
	c->depth = depth;
	return check_fields(rs, cs, c, v) < 0 ? -1 : 1;
}

/* Rebuild what each rule and correlation feeds.  0 or -ENOMEM (then none:
 * the correlations see no hits). */
static int build_feeds(const struct hn_ruleset *rs, struct det_corrset *cs)
{
	unsigned nr = hn_ruleset_count(rs), nc = cs->n, tr = 0, tc = 0;

	free(cs->rule_start);
	free(cs->corr_start);
	free(cs->rule_feeds);
	free(cs->corr_feeds);
	cs->rule_feeds = cs->corr_feeds = NULL;
	cs->feeds_rules = cs->feeds_corrs = 0;
	cs->rule_start = calloc((size_t)nr + 1, sizeof(*cs->rule_start));
	cs->corr_start = calloc((size_t)nc + 1, sizeof(*cs->corr_start));
	for (unsigned i = 0; i < nc; i++)
		for (unsigned r = 0; r < cs->corrs[i]->nrefs; r++) {
			if (cs->corrs[i]->refs[r].corr)
				tc++;
			else
				tr++;
		}
	cs->rule_feeds = calloc(tr ? tr : 1, sizeof(*cs->rule_feeds));
	cs->corr_feeds = calloc(tc ? tc : 1, sizeof(*cs->corr_feeds));
	if (!cs->rule_start || !cs->corr_start || !cs->rule_feeds || !cs->corr_feeds)
		goto nomem;
	/* counts, then starts, then fill (start[i] runs to the end of i) */
	for (unsigned i = 0; i < nc; i++)
		for (unsigned r = 0; r < cs->corrs[i]->nrefs; r++) {
			const struct det_corr_ref *ref = &cs->corrs[i]->refs[r];
			if (ref->corr)
				cs->corr_start[ref->idx + 1]++;
			else
				cs->rule_start[ref->idx + 1]++;
		}
	for (unsigned i = 0; i < nr; i++)
		cs->rule_start[i + 1] += cs->rule_start[i];
	for (unsigned i = 0; i < nc; i++)
		cs->corr_start[i + 1] += cs->corr_start[i];
	for (unsigned i = 0; i < nc; i++)
		for (unsigned r = 0; r < cs->corrs[i]->nrefs; r++) {
			const struct det_corr_ref *ref = &cs->corrs[i]->refs[r];
			unsigned *start = ref->corr ? cs->corr_start : cs->rule_start;
			struct det_feed *f = ref->corr ? cs->corr_feeds : cs->rule_feeds;
			f[start[ref->idx]++] = (struct det_feed){ i, r };
		}
	/* the fill moved each start to the next one's: move them back */
	for (unsigned i = nr; i > 0; i--)
		cs->rule_start[i] = cs->rule_start[i - 1];
	cs->rule_start[0] = 0;
	for (unsigned i = nc; i > 0; i--)
		cs->corr_start[i] = cs->corr_start[i - 1];
	cs->corr_start[0] = 0;
	cs->feeds_rules = nr;
	cs->feeds_corrs = nc;
	return 0;
nomem:
	free(cs->rule_start);
	free(cs->corr_start);
	free(cs->rule_feeds);
	free(cs->corr_feeds);
	cs->rule_start = cs->corr_start = NULL;
	cs->rule_feeds = cs->corr_feeds = NULL;
	return -ENOMEM;
}

static void fail_pending(struct hn_ruleset *rs, struct det_corr *c, const struct verdict *v,
			 hn_rule_problem_fn fn, void *arg)
{
	c->failed = true;
	c->fail_kind = v->kind;
	det_ruleset_report(rs, c->info.path, v->line, v->kind, c->info.title, v->why, fn, arg);
}

int det_corr_resolve(struct hn_ruleset *rs, hn_rule_problem_fn fn, void *arg)
{
	struct det_corrset *cs = *det_ruleset_corrset(rs);
	bool progress = true;
	int loaded = 0;

	if (!cs)
		return 0;
	while (progress) {
		progress = false;
		for (unsigned i = 0; i < cs->npending; i++) {
			struct det_corr *c = cs->pending[i];
			struct verdict v = { .kind = HN_RULE_INVALID, .line = c->info.line };
			int r;

			if (c->resolved || c->failed)
				continue;
			r = try_resolve(rs, cs, c, &v);
			if (r == 0)
				continue;
			progress = true;
			if (r < 0) {
				fail_pending(rs, c, &v, fn, arg);
				continue;
			}
			if (grow((void **)&cs->corrs, &cs->cap, cs->n, sizeof(*cs->corrs))) {
				snprintf(v.why, sizeof(v.why), "out of memory");
				v.line = c->info.line;
				fail_pending(rs, c, &v, fn, arg);
				continue;
			}
			c->resolved = true;
			cs->corrs[cs->n++] = c;
			det_ruleset_count_correlation(rs);
			loaded++;
			if (!c->generate)
				for (unsigned k = 0; k < c->nrefs; k++) {
					if (c->refs[k].corr)
						cs->corrs[c->refs[k].idx]->info.hidden = true;
					else
						det_ruleset_hide(rs, c->refs[k].idx);
				}
		}
	}
	/* what still waits waits for itself */
	for (unsigned i = 0; i < cs->npending; i++) {
		struct det_corr *c = cs->pending[i];
		struct verdict v = { .kind = HN_RULE_INVALID, .line = c->info.line };
		if (c->resolved || c->failed)
			continue;
		snprintf(v.why, sizeof(v.why), "its references go round in a circle");
		fail_pending(rs, c, &v, fn, arg);
	}
	/* failed ones stay known by name for later loads; the rest is freed */
	for (unsigned i = 0; i < cs->npending; i++) {
		struct det_corr *c = cs->pending[i];
		if (c->resolved)
			continue;
		det_corr_failed(rs, c->info.name, c->info.id, c->fail_kind);
		corr_free(c);
	}
	cs->npending = 0;
	if (build_feeds(rs, cs) < 0)
		det_ruleset_report(rs, "(correlations)", 0, HN_RULE_INVALID, NULL,
				   "out of memory: correlations see no events", fn, arg);
	return loaded;
}

/* ---- what correlate.c and the API read ---- */

unsigned det_corr_count(const struct hn_ruleset *rs)
{
	const struct det_corrset *cs = det_ruleset_corrs(rs);

	return cs ? cs->n : 0;
}

const struct det_corr *det_corr_at(const struct hn_ruleset *rs, unsigned i)
{
	const struct det_corrset *cs = det_ruleset_corrs(rs);

	return cs && i < cs->n ? cs->corrs[i] : NULL;
}

const struct det_feed *det_corr_feeds(const struct hn_ruleset *rs, bool of_corr, unsigned i,
				      unsigned *n)
{
	const struct det_corrset *cs = det_ruleset_corrs(rs);
	const unsigned *start;

	*n = 0;
	if (!cs)
		return NULL;
	start = of_corr ? cs->corr_start : cs->rule_start;
	if (!start || i >= (of_corr ? cs->feeds_corrs : cs->feeds_rules))
		return NULL;
	*n = start[i + 1] - start[i];
	return (of_corr ? cs->corr_feeds : cs->rule_feeds) + start[i];
}

unsigned hn_ruleset_correlation_count(const struct hn_ruleset *rs)
{
	return rs ? det_corr_count(rs) : 0;
}

const struct hn_rule_info *hn_ruleset_correlation(const struct hn_ruleset *rs, unsigned i)
{
	const struct det_corr *c = rs ? det_corr_at(rs, i) : NULL;

	return c ? &c->info : NULL;
}
