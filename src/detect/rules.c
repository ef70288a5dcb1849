/*
 * rules.c - Sigma rule files into rules (libyaml), and the ruleset.
 *
 * A file may hold several YAML documents; each is one rule.  Reading goes
 *
 *   file ──libyaml──► document ──rule_from_doc──► struct det_rule
 *                        │         │ every key checked, every selection
 *                        │         │ compiled (match.c), the condition
 *                        │         │ parsed (cond.c)
 *                        │         └─ a problem: reported with the line of
 *                        │            the node it is about, rule dropped
 *                        └─ `correlation:` ──det_corr_read──► set aside;
 *                           resolved once the whole path is read
 *                           (correlation.c: det_corr_resolve)
 *
 * Names (`name:`) are how correlations refer to rules: a second rule with
 * a name already taken is invalid.  A document that does not load is
 * remembered by name and id, so a correlation referring to it says why.
 *
 * Whom it trusts: nobody.  Rule files are input: any YAML (or not YAML)
 * gives a report, never a crash; files over RULE_FILE_MAX bytes are
 * refused; directories nest at most DIR_DEPTH deep.
 *
 * Scalars are typed as YAML's core schema types them: quoted scalars are
 * strings; plain ones are null (~, null, empty), booleans (true, false)
 * or numbers when they read as such, else strings.  Sigma matches numbers
 * and booleans as their text (match.h).
 */
#include "detect/detect_int.h"
#include "util/file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define RULE_FILE_MAX (1u << 20)
#define DIR_DEPTH 32

struct hn_ruleset {
	struct det_rule *rules;
	unsigned n, cap;
	/* per source: indexes into rules, in load order */
	unsigned *by_src[HN_DS_COUNT];
	unsigned nby[HN_DS_COUNT], capby[HN_DS_COUNT];
	struct hn_ruleset_stats st;
	struct det_index *index[HN_DS_COUNT];   /* index.c; NULL: none */
	struct det_lits *lits;                  /* literal.c; NULL: none */
	struct det_corrset *corrs;              /* correlation.c; NULL: none yet */
};

static void vproblem(struct det_reader *rd, enum hn_rule_problem_kind kind,
		     const yaml_node_t *at, const char *fmt, va_list ap)
{
	if (rd->failed)
		return;
	rd->failed = true;
	rd->kind = kind;
	rd->line = at ? (int)at->start_mark.line + 1 : 0;
	vsnprintf(rd->why, sizeof(rd->why), fmt, ap);
}

static void problem(struct det_reader *rd, enum hn_rule_problem_kind kind,
		    const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record the first problem of a document (later ones are consequences). */
static void problem(struct det_reader *rd, enum hn_rule_problem_kind kind,
		    const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(rd, kind, at, fmt, ap);
	va_end(ap);
}

void det_problem(struct det_reader *rd, enum hn_rule_problem_kind kind,
		 const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(rd, kind, at, fmt, ap);
	va_end(ap);
}

/* ---- YAML helpers ---- */

static yaml_node_t *node(struct det_reader *rd, int id)
{
	return yaml_document_get_node(rd->doc, id);
}

static bool is_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

static const char *scalar(const yaml_node_t *n)
{
	return is_scalar(n) ? (const char *)n->data.scalar.value : NULL;
}

static bool plain(const yaml_node_t *n)
{
	return is_scalar(n) && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	return !n || (plain(n) && (!s[0] || !strcmp(s, "~") || !strcasecmp(s, "null")));
}

static bool looks_number(const char *s)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	(void)strtod(s, &end);
	if (*end == '\0' && end != s && !errno)
		return true;
	return false;
}

static enum hn_sm_vtype vtype(const yaml_node_t *n)
{
	const char *s;

	if (is_null(n))
		return HN_SM_V_NULL;
	if (!plain(n))
		return HN_SM_V_STRING;
	s = scalar(n);
	if (!strcasecmp(s, "true") || !strcasecmp(s, "false"))
		return HN_SM_V_BOOL;
	if (looks_number(s))
		return HN_SM_V_NUMBER;
	return HN_SM_V_STRING;
}

/* Value of key in a mapping node, or NULL. */
static yaml_node_t *map_get(struct det_reader *rd, const yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(node(rd, p->key));
		if (k && !strcmp(k, key))
			return node(rd, p->value);
	}
	return NULL;
}

/* The same helpers for correlation.c. */
yaml_node_t *det_yaml_node(struct det_reader *rd, int id)
{
	return node(rd, id);
}

yaml_node_t *det_yaml_get(struct det_reader *rd, const yaml_node_t *map, const char *key)
{
	return map_get(rd, map, key);
}

const char *det_yaml_text(const yaml_node_t *n)
{
	return scalar(n);
}

bool det_yaml_null(const yaml_node_t *n)
{
	return is_null(n);
}

bool det_yaml_plain(const yaml_node_t *n)
{
	return plain(n);
}

/* A string member: its copy ("" when absent), or NULL (problem) when it is
 * not a scalar. */
static char *str_member(struct det_reader *rd, const yaml_node_t *map, const char *key,
			bool required)
{
	yaml_node_t *v = map_get(rd, map, key);

	if (!v || is_null(v)) {
		if (required) {
			problem(rd, HN_RULE_INVALID, map, "no '%s'", key);
			return NULL;
		}
		return strdup("");
	}
	if (!is_scalar(v)) {
		problem(rd, HN_RULE_INVALID, v, "'%s' must be text", key);
		return NULL;
	}
	return strdup(scalar(v));
}

/* ---- selections ---- */

/* Keep a value as written (the prefilter reads them).  0 or -ENOMEM. */
static int keep_raw(struct det_item *it, const char *v, size_t len)
{
	char **r = realloc(it->raw, (it->nraw + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	it->raw = r;
	/* a value with a NUL in it is kept as none: the prefilters read
	 * these as C strings and would see only its start */
	if (v && memchr(v, '\0', len))
		v = NULL;
	r[it->nraw] = v ? strdup(v) : NULL;
	if (v && !r[it->nraw])
		return -ENOMEM;
	it->nraw++;
	return 0;
}

/* One field name of a fieldref item, from node v.  0 or -errno. */
static int add_ref(struct det_reader *rd, struct det_item *it, const char *key,
		   const yaml_node_t *v)
{
	int f, *refs;

	if (it->field < 0) {
		problem(rd, HN_RULE_INVALID, v, "'%s': fieldref needs a field to compare", key);
		return -EINVAL;
	}
	if (!is_scalar(v) || is_null(v) || vtype(v) != HN_SM_V_STRING) {
		problem(rd, HN_RULE_INVALID, v, "'%s': fieldref wants field names", key);
		return -EINVAL;
	}
	f = det_field_lookup(rd->src, scalar(v));
	if (f < 0) {
		problem(rd, HN_RULE_UNSUPPORTED, v, "'%s': field '%s' is not recorded for %s",
			key, scalar(v), hn_det_source_name(rd->src));
		return -ENOTSUP;
	}
	refs = realloc(it->refs, (it->nraw + 1) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	it->refs = refs;
	refs[it->nraw] = f;
	return keep_raw(it, scalar(v), v->data.scalar.length);
}

/* The values of a fieldref item: field names (one or a list). */
static int add_refs(struct det_reader *rd, struct det_item *it, const char *key,
		    const yaml_node_t *val)
{
	int r;

	if (!val || val->type != YAML_SEQUENCE_NODE)
		return add_ref(rd, it, key, val);
	if (val->data.sequence.items.start == val->data.sequence.items.top) {
		problem(rd, HN_RULE_INVALID, val, "'%s': empty list", key);
		return -EINVAL;
	}
	for (yaml_node_item_t *i = val->data.sequence.items.start;
	     i < val->data.sequence.items.top; i++)
		if ((r = add_ref(rd, it, key, node(rd, *i))) < 0)
			return r;
	return 0;
}

/* "Field|mod|mod" into an item of sel (values compiled). */
static int add_item(struct det_reader *rd, struct det_sel *sel, const yaml_node_t *keyn,
		    const char *key, const yaml_node_t *val)
{
	const char *mods[16];
	unsigned nmods = 0, m = 0;
	char buf[256], err[200];
	char *field, *save = NULL, *tok;
	struct det_item *it;
	int r;

	if (strlen(key) >= sizeof(buf)) {
		problem(rd, HN_RULE_INVALID, keyn, "field name too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", key);
	/* strtok would skip an empty field name ("|contains") */
	field = buf;
	tok = strchr(buf, '|');
	if (tok) {
		*tok = '\0';
		for (char *p = strtok_r(tok + 1, "|", &save); p; p = strtok_r(NULL, "|", &save)) {
			if (nmods == sizeof(mods) / sizeof(mods[0])) {
				problem(rd, HN_RULE_INVALID, keyn, "too many modifiers");
				return -EINVAL;
			}
			mods[nmods++] = p;
		}
	}
	r = hn_sm_mods_parse(mods, nmods, &m, err, sizeof(err));
	if (r < 0) {
		problem(rd, r == -ENOTSUP ? HN_RULE_UNSUPPORTED : HN_RULE_INVALID, keyn,
			"'%s': %s", key, err);
		return r;
	}
	/* keywords are searched in the text ("applied to the full log
	 * message"): a plain keyword may appear anywhere */
	if (!field[0] && !(m & (HN_SM_CONTAINS | HN_SM_STARTSWITH | HN_SM_ENDSWITH |
				 HN_SM_RE | HN_SM_CIDR | HN_SM_EXISTS | HN_SM_GT |
				 HN_SM_GTE | HN_SM_LT | HN_SM_LTE)))
		m |= HN_SM_CONTAINS;
	it = realloc(sel->items, (sel->nitems + 1) * sizeof(*it));
	if (!it) {
		problem(rd, HN_RULE_INVALID, keyn, "out of memory");
		return -ENOMEM;
	}
	sel->items = it;
	it = &sel->items[sel->nitems];
	it->field = -1;
	if (field[0]) {
		it->field = det_field_lookup(rd->src, field);
		if (it->field < 0) {
			problem(rd, HN_RULE_UNSUPPORTED, keyn,
				"field '%s' is not recorded for %s", field,
				hn_det_source_name(rd->src));
			return -ENOTSUP;
		}
	}
	hn_sm_list_init(&it->vals, m);
	it->raw = NULL;
	it->nraw = 0;
	it->refs = NULL;
	sel->nitems++;
	if (m & HN_SM_FIELDREF)
		return add_refs(rd, it, key, val);

	if (val && val->type == YAML_SEQUENCE_NODE) {
		if (val->data.sequence.items.start == val->data.sequence.items.top) {
			problem(rd, HN_RULE_INVALID, val, "'%s': empty list", key);
			return -EINVAL;
		}
		for (yaml_node_item_t *i = val->data.sequence.items.start;
		     i < val->data.sequence.items.top; i++) {
			yaml_node_t *v = node(rd, *i);
			if (!is_scalar(v)) {
				problem(rd, HN_RULE_INVALID, v, "'%s': a value must be text,"
					" a number or null", key);
				return -EINVAL;
			}
			r = hn_sm_list_add(&it->vals, vtype(v), is_null(v) ? NULL : scalar(v),
					   is_null(v) ? 0 : v->data.scalar.length, err, sizeof(err));
			if (r < 0) {
				problem(rd, HN_RULE_INVALID, v, "'%s': %s", key, err);
				return r;
			}
			if (keep_raw(it, is_null(v) ? NULL : scalar(v),
				     is_null(v) ? 0 : v->data.scalar.length) < 0)
				return -ENOMEM;
		}
		return 0;
	}
	if (val && !is_scalar(val)) {
		problem(rd, HN_RULE_INVALID, val, "'%s': a value must be text, a number,"
			" null or a list of them", key);
		return -EINVAL;
	}
	r = hn_sm_list_add(&it->vals, vtype(val), is_null(val) ? NULL : scalar(val),
			   is_null(val) ? 0 : val->data.scalar.length, err, sizeof(err));
	if (r < 0) {
		problem(rd, HN_RULE_INVALID, val, "'%s': %s", key, err);
		return r;
	}
	return keep_raw(it, is_null(val) ? NULL : scalar(val),
			is_null(val) ? 0 : val->data.scalar.length) < 0 ? -ENOMEM : 0;
}

static int end_alt(struct det_sel *sel)
{
	unsigned *a = realloc(sel->alt_end, (sel->nalt + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	sel->alt_end = a;
	a[sel->nalt++] = sel->nitems;
	return 0;
}

/* One alternative: every "field: values" of a mapping. */
static int add_map(struct det_reader *rd, struct det_sel *sel, const yaml_node_t *map)
{
	int r;

	if (map->data.mapping.pairs.start == map->data.mapping.pairs.top) {
		problem(rd, HN_RULE_INVALID, map, "selection '%s' is empty", sel->name);
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(rd, p->key);
		if (!is_scalar(k)) {
			problem(rd, HN_RULE_INVALID, k, "a field name must be text");
			return -EINVAL;
		}
		r = add_item(rd, sel, k, scalar(k), node(rd, p->value));
		if (r < 0)
			return r;
	}
	return end_alt(sel) < 0 ? -ENOMEM : 0;
}

static int read_selection(struct det_reader *rd, struct det_sel *sel, const yaml_node_t *v)
{
	int r;

	if (!v || is_null(v)) {
		problem(rd, HN_RULE_INVALID, v, "selection '%s' is empty", sel->name);
		return -EINVAL;
	}
	if (v->type == YAML_MAPPING_NODE)
		return add_map(rd, sel, v);
	if (v->type == YAML_SCALAR_NODE) {
		/* one keyword */
		r = add_item(rd, sel, v, "", v);
		return r < 0 ? r : end_alt(sel);
	}
	/* a list: of mappings (alternatives), or of keywords */
	bool maps = false, scalars = false;
	for (yaml_node_item_t *i = v->data.sequence.items.start;
	     i < v->data.sequence.items.top; i++) {
		yaml_node_t *x = node(rd, *i);
		maps |= x && x->type == YAML_MAPPING_NODE;
		scalars |= is_scalar(x);
		if (!x || x->type == YAML_SEQUENCE_NODE) {
			problem(rd, HN_RULE_INVALID, x ? x : v, "selection '%s': a list"
				" inside a list", sel->name);
			return -EINVAL;
		}
	}
	if (maps && scalars) {
		problem(rd, HN_RULE_INVALID, v, "selection '%s' mixes keywords and"
			" field maps", sel->name);
		return -EINVAL;
	}
	if (!maps && !scalars) {
		problem(rd, HN_RULE_INVALID, v, "selection '%s' is empty", sel->name);
		return -EINVAL;
	}
	if (scalars) {
		r = add_item(rd, sel, v, "", v);
		return r < 0 ? r : end_alt(sel);
	}
	for (yaml_node_item_t *i = v->data.sequence.items.start;
	     i < v->data.sequence.items.top; i++) {
		r = add_map(rd, sel, node(rd, *i));
		if (r < 0)
			return r;
	}
	return 0;
}

static void sel_release(struct det_sel *s)
{
	for (unsigned i = 0; i < s->nitems; i++) {
		hn_sm_list_release(&s->items[i].vals);
		for (unsigned k = 0; k < s->items[i].nraw; k++)
			free(s->items[i].raw[k]);
		free(s->items[i].raw);
		free(s->items[i].refs);
	}
	free(s->items);
	free(s->alt_end);
	free(s->name);
}

void det_rule_release(struct det_rule *rule)
{
	if (!rule)
		return;
	for (unsigned i = 0; i < rule->nsel; i++)
		sel_release(&rule->sels[i]);
	free(rule->sels);
	det_cond_release(&rule->cond);
	det_info_release(&rule->info);
	memset(rule, 0, sizeof(*rule));
}

void det_info_release(struct hn_rule_info *info)
{
	free((char *)info->path);
	free((char *)info->id);
	free((char *)info->title);
	free((char *)info->status);
	free((char *)info->level);
	free((char *)info->author);
	free((char *)info->description);
	free((char *)info->name);
	for (unsigned i = 0; i < info->ntags; i++)
		free((char *)info->tags[i]);
	free((void *)info->tags);
	memset(info, 0, sizeof(*info));
}

/* ---- a rule ---- */

static int read_detection(struct det_reader *rd, struct det_rule *rule, const yaml_node_t *det)
{
	yaml_node_t *cond = NULL;
	char err[200];
	unsigned roots[64], nroots = 0;
	int r;

	if (!det || det->type != YAML_MAPPING_NODE) {
		problem(rd, HN_RULE_INVALID, det, "'detection' must be a mapping");
		return -EINVAL;
	}
	for (yaml_node_pair_t *p = det->data.mapping.pairs.start;
	     p < det->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(rd, p->key), *v = node(rd, p->value);
		const char *name = scalar(k);
		struct det_sel *s;

		if (!name) {
			problem(rd, HN_RULE_INVALID, k, "a selection name must be text");
			return -EINVAL;
		}
		if (!strcmp(name, "condition")) {
			cond = v;
			continue;
		}
		if (!strcmp(name, "timeframe"))
			continue;   /* Sigma 1 aggregations only; checked with them */
		s = realloc(rule->sels, (rule->nsel + 1) * sizeof(*s));
		if (!s)
			return -ENOMEM;
		rule->sels = s;
		s = &rule->sels[rule->nsel++];
		memset(s, 0, sizeof(*s));
		s->name = strdup(name);
		if (!s->name)
			return -ENOMEM;
		r = read_selection(rd, s, v);
		if (r < 0)
			return r;
	}
	if (!cond || is_null(cond)) {
		problem(rd, HN_RULE_INVALID, det, "no 'condition'");
		return -EINVAL;
	}
	if (!rule->nsel) {
		problem(rd, HN_RULE_INVALID, det, "no selection");
		return -EINVAL;
	}
	if (is_scalar(cond)) {
		r = det_cond_parse(&rule->cond, scalar(cond), rule->sels, rule->nsel,
				   err, sizeof(err));
		if (r < 0) {
			problem(rd, r == -ENOTSUP ? HN_RULE_UNSUPPORTED : HN_RULE_INVALID,
				cond, "condition: %s", err);
			return r;
		}
		return 0;
	}
	if (cond->type != YAML_SEQUENCE_NODE) {
		problem(rd, HN_RULE_INVALID, cond, "'condition' must be text or a list");
		return -EINVAL;
	}
	for (yaml_node_item_t *i = cond->data.sequence.items.start;
	     i < cond->data.sequence.items.top; i++) {
		yaml_node_t *c = node(rd, *i);
		if (!is_scalar(c)) {
			problem(rd, HN_RULE_INVALID, c, "a condition must be text");
			return -EINVAL;
		}
		if (nroots == sizeof(roots) / sizeof(roots[0])) {
			problem(rd, HN_RULE_INVALID, c, "too many conditions");
			return -EINVAL;
		}
		r = det_cond_parse(&rule->cond, scalar(c), rule->sels, rule->nsel,
				   err, sizeof(err));
		if (r < 0) {
			problem(rd, r == -ENOTSUP ? HN_RULE_UNSUPPORTED : HN_RULE_INVALID,
				c, "condition: %s", err);
			return r;
		}
		roots[nroots++] = rule->cond.root;
	}
	if (!nroots) {
		problem(rd, HN_RULE_INVALID, cond, "no 'condition'");
		return -EINVAL;
	}
	return det_cond_join(&rule->cond, roots, nroots);
}

static int read_tags(struct det_reader *rd, struct hn_rule_info *info, const yaml_node_t *t)
{
	const char **tags;
	unsigned n = 0;

	if (!t || is_null(t))
		return 0;
	if (t->type != YAML_SEQUENCE_NODE) {
		problem(rd, HN_RULE_INVALID, t, "'tags' must be a list");
		return -EINVAL;
	}
	tags = calloc((size_t)(t->data.sequence.items.top - t->data.sequence.items.start) + 1,
		      sizeof(*tags));
	if (!tags)
		return -ENOMEM;
	info->tags = tags;
	for (yaml_node_item_t *i = t->data.sequence.items.start;
	     i < t->data.sequence.items.top; i++) {
		yaml_node_t *x = node(rd, *i);
		if (!is_scalar(x)) {
			problem(rd, HN_RULE_INVALID, x, "a tag must be text");
			return -EINVAL;
		}
		tags[n] = strdup(scalar(x));
		if (!tags[n])
			return -ENOMEM;
		info->ntags = ++n;
	}
	return 0;
}

/* Authors are text or, in some rules, a list: joined with ", ". */
static char *read_author(struct det_reader *rd, const yaml_node_t *root)
{
	yaml_node_t *a = map_get(rd, root, "author");
	size_t len = 1;
	char *s;

	if (!a || is_null(a) || is_scalar(a))
		return str_member(rd, root, "author", false);
	if (a->type != YAML_SEQUENCE_NODE) {
		problem(rd, HN_RULE_INVALID, a, "'author' must be text");
		return NULL;
	}
	for (yaml_node_item_t *i = a->data.sequence.items.start;
	     i < a->data.sequence.items.top; i++) {
		const char *x = scalar(node(rd, *i));
		len += (x ? strlen(x) : 0) + 2;
	}
	s = calloc(1, len);
	if (!s)
		return NULL;
	for (yaml_node_item_t *i = a->data.sequence.items.start;
	     i < a->data.sequence.items.top; i++) {
		const char *x = scalar(node(rd, *i));
		if (!x)
			continue;
		if (s[0])
			strcat(s, ", ");
		strcat(s, x);
	}
	return s;
}

static const char *const levels[] = {
	"informational", "low", "medium", "high", "critical", NULL,
};

int det_read_meta(struct det_reader *rd, struct hn_rule_info *info, const yaml_node_t *root)
{
	yaml_node_t *x;

	if (!root || root->type != YAML_MAPPING_NODE) {
		problem(rd, HN_RULE_INVALID, root, "a rule must be a YAML mapping");
		return -EINVAL;
	}
	info->line = (int)root->start_mark.line + 1;
	info->title = str_member(rd, root, "title", true);
	if (!info->title)
		return -EINVAL;
	if ((x = map_get(rd, root, "action")) && scalar(x)) {
		problem(rd, HN_RULE_UNSUPPORTED, x, "rule collections ('action: %s')"
			" are not supported", scalar(x));
		return -ENOTSUP;
	}
	info->id = str_member(rd, root, "id", false);
	info->name = str_member(rd, root, "name", false);
	info->status = str_member(rd, root, "status", false);
	info->description = str_member(rd, root, "description", false);
	info->author = read_author(rd, root);
	info->level = str_member(rd, root, "level", false);
	if (rd->failed || !info->id || !info->name || !info->status || !info->description ||
	    !info->author || !info->level)
		return rd->failed ? -EINVAL : -ENOMEM;
	if (info->level[0]) {
		bool ok = false;
		for (int i = 0; levels[i]; i++)
			ok |= !strcasecmp(levels[i], info->level);
		if (!ok) {
			problem(rd, HN_RULE_INVALID, map_get(rd, root, "level"),
				"unknown level '%s'", info->level);
			return -EINVAL;
		}
	} else {
		free((char *)info->level);
		info->level = strdup("medium");
		if (!info->level)
			return -ENOMEM;
	}
	return read_tags(rd, info, map_get(rd, root, "tags"));
}

/* The rule of a document, into rule (0), or a problem in rd (-errno). */
static int rule_from_doc(struct det_reader *rd, struct det_rule *rule, const yaml_node_t *root)
{
	yaml_node_t *ls, *x;
	const char *product = NULL, *category = NULL, *service = NULL, *why = NULL;
	int r;

	r = det_read_meta(rd, &rule->info, root);
	if (r < 0)
		return r;
	ls = map_get(rd, root, "logsource");
	if (!ls || ls->type != YAML_MAPPING_NODE) {
		problem(rd, HN_RULE_INVALID, ls ? ls : root, "no 'logsource' mapping");
		return -EINVAL;
	}
	x = map_get(rd, ls, "product");
	product = is_null(x) ? NULL : scalar(x);
	x = map_get(rd, ls, "category");
	category = is_null(x) ? NULL : scalar(x);
	x = map_get(rd, ls, "service");
	service = is_null(x) ? NULL : scalar(x);
	rd->src = det_source_of(product, category, service, &why);
	if (rd->src == HN_DS_NONE) {
		problem(rd, HN_RULE_UNSUPPORTED, ls, "%s", why);
		return -ENOTSUP;
	}
	rule->info.source = rd->src;
	x = map_get(rd, root, "detection");
	if (!x) {
		problem(rd, HN_RULE_INVALID, root, "no 'detection'");
		return -EINVAL;
	}
	r = read_detection(rd, rule, x);
	if (r < 0 && !rd->failed)
		problem(rd, HN_RULE_INVALID, x, "%s", strerror(-r));
	return r;
}

/* ---- the ruleset ---- */

struct hn_ruleset *hn_ruleset_new(void)
{
	return calloc(1, sizeof(struct hn_ruleset));
}

void hn_ruleset_free(struct hn_ruleset *rs)
{
	if (!rs)
		return;
	for (unsigned i = 0; i < rs->n; i++)
		det_rule_release(&rs->rules[i]);
	free(rs->rules);
	for (int s = 0; s < HN_DS_COUNT; s++) {
		free(rs->by_src[s]);
		det_index_free(rs->index[s]);
	}
	det_lits_free(rs->lits);
	det_corrset_free(rs->corrs);
	free(rs);
}

static int ruleset_add(struct hn_ruleset *rs, struct det_rule *rule)
{
	enum hn_det_source s = rule->info.source;

	if (rs->n == rs->cap) {
		unsigned cap = rs->cap ? rs->cap * 2 : 64;
		struct det_rule *r = realloc(rs->rules, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		rs->rules = r;
		rs->cap = cap;
	}
	if (rs->nby[s] == rs->capby[s]) {
		unsigned cap = rs->capby[s] ? rs->capby[s] * 2 : 32;
		unsigned *b = realloc(rs->by_src[s], cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		rs->by_src[s] = b;
		rs->capby[s] = cap;
	}
	rs->by_src[s][rs->nby[s]++] = rs->n;
	rs->rules[rs->n++] = *rule;
	rs->st.loaded++;
	rs->st.per_source[s]++;
	return 0;
}

void det_ruleset_report(struct hn_ruleset *rs, const char *path, int line,
			enum hn_rule_problem_kind kind, const char *title, const char *why,
			hn_rule_problem_fn fn, void *arg)
{
	struct hn_rule_problem p = {
		.path = path, .line = line, .kind = kind, .title = title, .why = why,
	};

	if (kind == HN_RULE_INVALID)
		rs->st.invalid++;
	else
		rs->st.unsupported++;
	if (fn)
		fn(&p, arg);
}


/* A document that did not load: remembered by its name and id, so that a
 * correlation referring to it can say so. */
static void doc_failed(struct hn_ruleset *rs, struct det_reader *rd, const yaml_node_t *root)
{
	const char *name = scalar(map_get(rd, root, "name"));
	const char *id = scalar(map_get(rd, root, "id"));

	det_corr_failed(rs, name, id, rd->kind);
}

/* Names are how correlations refer to rules: two rules (or correlations)
 * of a ruleset may not share one. */
static void name_unique(struct hn_ruleset *rs, struct det_reader *rd, const yaml_node_t *root,
			const char *name)
{
	const struct hn_rule_info *other = name && name[0] ? det_corr_find_name(rs, name) : NULL;

	if (other)
		problem(rd, HN_RULE_INVALID, map_get(rd, root, "name"),
			"name '%s' is already the name of %s:%d", name, other->path, other->line);
}

/* A correlation document: read into the ruleset's pending correlations,
 * or reported. */
static void doc_correlation(struct hn_ruleset *rs, struct det_reader *rd,
			    const yaml_node_t *root, hn_rule_problem_fn fn, void *arg)
{
	int r = det_corr_read(rs, rd, root);

	if (r >= 0 && !rd->failed)
		return;
	if (!rd->failed)
		problem(rd, HN_RULE_INVALID, root, "%s", strerror(-r));
	det_ruleset_report(rs, rd->path, rd->line, rd->kind, scalar(map_get(rd, root, "title")),
			   rd->why, fn, arg);
	doc_failed(rs, rd, root);
}

static int load_file(struct hn_ruleset *rs, const char *path, hn_rule_problem_fn fn,
		     void *arg)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	char *buf = NULL;
	size_t len = 0;
	int loaded = 0, r, docs = 0;

	rs->st.files++;
	r = hn_file_read(path, RULE_FILE_MAX, &buf, &len);
	if (r < 0) {
		char why[128];
		snprintf(why, sizeof(why), "cannot read: %s",
			 r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		det_ruleset_report(rs, path, 0, HN_RULE_INVALID, NULL, why, fn, arg);
		return 0;
	}
	if (!yaml_parser_initialize(&parser)) {
		free(buf);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	for (;;) {
		struct det_reader rd = { .path = path, .doc = &doc };
		struct det_rule rule = { 0 };
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			char why[320];
			snprintf(why, sizeof(why), "not YAML: %s%s%s",
				 parser.problem ? parser.problem : "parse error",
				 parser.context ? " " : "", parser.context ? parser.context : "");
			det_ruleset_report(rs, path, (int)parser.problem_mark.line + 1,
					   HN_RULE_INVALID, NULL, why, fn, arg);
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			if (!docs)
				det_ruleset_report(rs, path, 0, HN_RULE_INVALID, NULL, "empty file",
						   fn, arg);
			break;
		}
		docs++;
		if (map_get(&rd, root, "correlation")) {
			/* kept aside: resolved when the whole path is read */
			doc_correlation(rs, &rd, root, fn, arg);
			yaml_document_delete(&doc);
			continue;
		}
		r = rule_from_doc(&rd, &rule, root);
		if (r >= 0 && !rd.failed)
			name_unique(rs, &rd, root, rule.info.name);
		if (r < 0 || rd.failed) {
			if (!rd.failed)
				problem(&rd, HN_RULE_INVALID, root, "%s", strerror(-r));
			det_ruleset_report(rs, path, rd.line, rd.kind, rule.info.title, rd.why, fn,
					   arg);
			doc_failed(rs, &rd, root);
			det_rule_release(&rule);
		} else {
			rule.info.path = strdup(path);
			if (!rule.info.path || ruleset_add(rs, &rule) < 0) {
				det_ruleset_report(rs, path, rule.info.line, HN_RULE_INVALID,
						   rule.info.title, "out of memory", fn, arg);
				det_rule_release(&rule);
			} else {
				loaded++;
			}
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	free(buf);
	return loaded;
}

static bool rule_file_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !strcmp(name + n - 4, ".yml")) ||
	       (n > 5 && !strcmp(name + n - 5, ".yaml"));
}

static int load_path(struct hn_ruleset *rs, const char *path, int depth,
		     hn_rule_problem_fn fn, void *arg)
{
	struct dirent **ents = NULL;
	struct stat st;
	int n, total = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return load_file(rs, path, fn, arg);
	if (depth >= DIR_DEPTH)
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char sub[4096];
		struct stat s2;

		if (name[0] == '.' ||
		    snprintf(sub, sizeof(sub), "%s/%s", path, name) >= (int)sizeof(sub) ||
		    stat(sub, &s2) < 0)
			continue;
		if (S_ISDIR(s2.st_mode)) {
			int r = load_path(rs, sub, depth + 1, fn, arg);
			if (r > 0)
				total += r;
		} else if (S_ISREG(s2.st_mode) && rule_file_name(name)) {
			int r = load_file(rs, sub, fn, arg);
			if (r > 0)
				total += r;
		}
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return total;
}

/* The prefilters, anew for what is loaded now (NULL: every rule is
 * tried, which is always right). */
static void prepare(struct hn_ruleset *rs)
{
	for (int s = 0; s < HN_DS_COUNT; s++) {
		det_index_free(rs->index[s]);
		rs->index[s] = det_index_build(rs, (enum hn_det_source)s);
	}
	det_lits_free(rs->lits);
	rs->lits = det_lits_build(rs);
}

int hn_ruleset_load(struct hn_ruleset *rs, const char *path,
		    hn_rule_problem_fn problem_fn, void *arg)
{
	int r, total;

	if (!rs || !path)
		return -EINVAL;
	total = hn_ruleset_load_paths(rs, &path, 1, problem_fn, arg, &r);
	return r < 0 ? r : total;
}

int hn_ruleset_load_paths(struct hn_ruleset *rs, const char *const *paths, unsigned n,
			  hn_rule_problem_fn problem_fn, void *arg, int *each)
{
	int total = 0, c;

	if (!rs || (n && !paths))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		int r = paths[i] ? load_path(rs, paths[i], 0, problem_fn, arg) : -EINVAL;
		if (each)
			each[i] = r;
		if (r > 0)
			total += r;
	}
	/* the correlations read, now that what they refer to is loaded */
	c = det_corr_resolve(rs, problem_fn, arg);
	if (c > 0)
		total += c;
	prepare(rs);
	return total;
}

const struct det_index *det_ruleset_index(const struct hn_ruleset *rs,
					  enum hn_det_source s)
{
	return rs->index[s];
}

const struct det_lits *det_ruleset_lits(const struct hn_ruleset *rs)
{
	return rs->lits;
}

bool hn_ruleset_rule_prefiltered(const struct hn_ruleset *rs, unsigned i)
{
	if (!rs || i >= rs->n)
		return false;
	return det_lits_has(rs->lits, i) ||
	       det_index_keyed(rs->index[rs->rules[i].info.source], i);
}

void hn_ruleset_stats(const struct hn_ruleset *rs, struct hn_ruleset_stats *st)
{
	if (rs)
		*st = rs->st;
	else
		memset(st, 0, sizeof(*st));
}

unsigned hn_ruleset_count(const struct hn_ruleset *rs)
{
	return rs ? rs->n : 0;
}

const struct hn_rule_info *hn_ruleset_rule(const struct hn_ruleset *rs, unsigned i)
{
	return rs && i < rs->n ? &rs->rules[i].info : NULL;
}

/* engine.c walks the per-source lists. */
const unsigned *det_ruleset_by_source(const struct hn_ruleset *rs,
				      enum hn_det_source s, unsigned *n)
{
	*n = rs->nby[s];
	return rs->by_src[s];
}

const struct det_rule *det_ruleset_rule(const struct hn_ruleset *rs, unsigned i)
{
	return &rs->rules[i];
}

/* ---- for correlation.c and correlate.c ---- */

int det_rule_index(const struct hn_ruleset *rs, const struct hn_rule_info *info)
{
	uintptr_t base, p = (uintptr_t)info;
	size_t off;

	if (!rs->n)
		return -1;
	base = (uintptr_t)&rs->rules[0].info;
	if (p < base)
		return -1;
	off = p - base;
	if (off % sizeof(struct det_rule) || off / sizeof(struct det_rule) >= rs->n)
		return -1;
	return (int)(off / sizeof(struct det_rule));
}

void det_ruleset_hide(struct hn_ruleset *rs, unsigned i)
{
	if (i < rs->n)
		rs->rules[i].info.hidden = true;
}

void det_ruleset_count_correlation(struct hn_ruleset *rs)
{
	rs->st.loaded++;
	rs->st.correlations++;
}

struct det_corrset **det_ruleset_corrset(struct hn_ruleset *rs)
{
	return &rs->corrs;
}

const struct det_corrset *det_ruleset_corrs(const struct hn_ruleset *rs)
{
	return rs ? rs->corrs : NULL;
}
