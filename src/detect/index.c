/*
 * index.c - the prefilter: which rules a record can possibly satisfy,
 * from one key field, so that most rules are never evaluated.
 *
 *   source             key of a record              a rule is filed under
 *   process_creation   basename of Image (both       the basenames its
 *                      values: resolved and as       condition requires
 *                      passed to execve)             (Image|endswith '/x',
 *                                                    Image: '/full/path/x')
 *   auditd             type (SYSCALL, EXECVE, PATH)  the types it requires
 *
 * "Requires" is read off the condition: a selection requires the keys when
 * each of its alternatives has an item on the key field with literal
 * values (no wildcard, no modifier but endswith for a path ending in
 * "/name"), or, for auditd, an item on a field only one record type has
 * (a0: EXECVE) that an absent field cannot satisfy; `and` requires what any one operand requires (the smallest set
 * is kept), `or` the union when every operand requires something, `not`
 * nothing.  A rule that requires nothing is always tried.  Keys compare
 * lower-cased (a `cased` rule is then tried on a few more records than it
 * could match: never fewer).
 *
 * The index is built after loading and read-only afterwards.
 */
#include "detect/detect_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256

struct keyset {
	char **k;
	unsigned n, cap;
	bool oom;
};

static void ks_release(struct keyset *ks)
{
	for (unsigned i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
	memset(ks, 0, sizeof(*ks));
}

static void ks_add(struct keyset *ks, const char *s, size_t n)
{
	char *c;

	for (unsigned i = 0; i < ks->n; i++)
		if (strlen(ks->k[i]) == n && !strncmp(ks->k[i], s, n))
			return;
	if (ks->n == ks->cap) {
		unsigned cap = ks->cap ? ks->cap * 2 : 8;
		char **k = realloc(ks->k, cap * sizeof(*k));
		if (!k) {
			ks->oom = true;
			return;
		}
		ks->k = k;
		ks->cap = cap;
	}
	c = malloc(n + 1);
	if (!c) {
		ks->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		c[i] = (char)tolower((unsigned char)s[i]);
	c[n] = '\0';
	ks->k[ks->n++] = c;
}

static void ks_move(struct keyset *to, struct keyset *from)
{
	ks_release(to);
	*to = *from;
	memset(from, 0, sizeof(*from));
}

struct spec {
	int field;
	bool basename;
};

/* auditd: the record type a field exists on alone (fields.c), or NULL. */
static const char *audit_kind_of(int field)
{
	if ((field >= DF_A_A0 && field <= DF_A_A9) || field == DF_A_ARGC)
		return "execve";
	if (field == DF_A_SYSCALL || field == DF_A_EXE || field == DF_A_COMM ||
	    field == DF_A_CWD || field == DF_A_SUCCESS)
		return "syscall";
	if (field == DF_A_NAME || field == DF_A_NAMETYPE)
		return "path";
	return NULL;
}

/* Can the item match a record where its field is absent? */
static bool matches_absent(const struct det_item *it)
{
	struct hn_sm_str none = { .present = false };

	return hn_sm_list_match(&it->vals, &none);
}

/* The keys an item requires into ks; false when it requires none. */
static bool item_keys(const struct det_item *it, const struct spec *sp, struct keyset *ks)
{
	unsigned allowed = HN_SM_CASED | (sp->basename ? HN_SM_ENDSWITH : 0);

	/* auditd: a field of one record type only, which must be there */
	if (!sp->basename && it->field != sp->field) {
		const char *k = audit_kind_of(it->field);
		if (!k || matches_absent(it))
			return false;
		ks_add(ks, k, strlen(k));
		return true;
	}
	if (it->field != sp->field || (it->vals.mods & ~allowed) || !it->nraw)
		return false;
	for (unsigned i = 0; i < it->nraw; i++) {
		const char *v = it->raw[i], *b;
		if (!v || !*v || strpbrk(v, "*?\\"))
			return false;
		if (sp->basename) {
			b = strrchr(v, '/');
			if (!b || !b[1] || strlen(b + 1) >= KEY_MAX)
				return false;
			b++;
		} else {
			b = v;
			if (strlen(b) >= KEY_MAX)
				return false;
		}
	}
	for (unsigned i = 0; i < it->nraw; i++) {
		const char *b = sp->basename ? strrchr(it->raw[i], '/') + 1 : it->raw[i];
		ks_add(ks, b, strlen(b));
	}
	return true;
}

static bool sel_keys(const struct det_sel *s, const struct spec *sp, struct keyset *ks)
{
	unsigned start = 0;

	if (!s->nalt)
		return false;
	for (unsigned a = 0; a < s->nalt; a++) {
		bool found = false;
		for (unsigned i = start; i < s->alt_end[a] && !found; i++)
			found = item_keys(&s->items[i], sp, ks);
		if (!found)
			return false;
		start = s->alt_end[a];
	}
	return true;
}

static bool node_keys(const struct det_rule *r, unsigned n, const struct spec *sp,
		      struct keyset *ks, int depth)
{
	const struct det_node *nd = &r->cond.nodes[n];

	if (depth > 64)
		return false;
	switch (nd->op) {
	case DN_SEL:
		return sel_keys(&r->sels[nd->a], sp, ks);
	case DN_AND: {
		/* the operand that requires the fewest keys */
		struct keyset best = { 0 };
		bool any = false;
		for (unsigned k = nd->a; k < nd->b; k++) {
			struct keyset t = { 0 };
			if (node_keys(r, r->cond.kids[k], sp, &t, depth + 1) && !t.oom &&
			    (!any || t.n < best.n)) {
				ks_move(&best, &t);
				any = true;
			}
			ks_release(&t);
		}
		if (any)
			for (unsigned i = 0; i < best.n; i++)
				ks_add(ks, best.k[i], strlen(best.k[i]));
		ks_release(&best);
		return any;
	}
	case DN_OR:
		for (unsigned k = nd->a; k < nd->b; k++)
			if (!node_keys(r, r->cond.kids[k], sp, ks, depth + 1))
				return false;
		return true;
	default:
		return false;
	}
}

/* ---- the index ---- */

struct slot {
	char *key;               /* NULL: empty */
	unsigned *rules;         /* ascending rule indexes */
	unsigned n, cap;
};

struct det_index {
	struct spec sp;
	unsigned *always;        /* ascending */
	unsigned nalways;
	struct slot *slots;
	unsigned nslots;         /* a power of two */
	unsigned nrules;         /* rules of the source */
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static struct slot *slot_of(const struct det_index *ix, const char *k, size_t n)
{
	uint64_t h = hash(k, n);

	for (unsigned i = 0; i < ix->nslots; i++) {
		struct slot *s = &ix->slots[(h + i) & (ix->nslots - 1)];
		if (!s->key || (strlen(s->key) == n && !memcmp(s->key, k, n)))
			return s;
	}
	return NULL;
}

static bool push(unsigned **v, unsigned *n, unsigned *cap, unsigned x)
{
	if (*n == *cap) {
		unsigned c = *cap ? *cap * 2 : 8;
		unsigned *p = realloc(*v, c * sizeof(*p));
		if (!p)
			return false;
		*v = p;
		*cap = c;
	}
	(*v)[(*n)++] = x;
	return true;
}

void det_index_free(struct det_index *ix)
{
	if (!ix)
		return;
	for (unsigned i = 0; i < ix->nslots; i++) {
		free(ix->slots[i].key);
		free(ix->slots[i].rules);
	}
	free(ix->slots);
	free(ix->always);
	free(ix);
}

struct det_index *det_index_build(const struct hn_ruleset *rs, enum hn_det_source src)
{
	struct det_index *ix;
	const unsigned *idx;
	unsigned n, cap_always = 0;

	idx = det_ruleset_by_source(rs, src, &n);
	if (!n || (src != HN_DS_PROCESS_CREATION && src != HN_DS_AUDITD))
		return NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	ix->sp.field = src == HN_DS_PROCESS_CREATION ? DF_IMAGE : DF_A_TYPE;
	ix->sp.basename = src == HN_DS_PROCESS_CREATION;
	ix->nrules = n;
	ix->nslots = 64;
	while (ix->nslots < 4 * n)
		ix->nslots *= 2;
	ix->slots = calloc(ix->nslots, sizeof(*ix->slots));
	if (!ix->slots)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		const struct det_rule *r = det_ruleset_rule(rs, idx[i]);
		struct keyset ks = { 0 };
		bool keyed = r->cond.nodes &&
			     node_keys(r, r->cond.root, &ix->sp, &ks, 0) && !ks.oom && ks.n &&
			     ks.n <= ix->nslots / 4;
		if (!keyed) {
			ks_release(&ks);
			if (!push(&ix->always, &ix->nalways, &cap_always, idx[i]))
				goto fail;
			continue;
		}
		for (unsigned k = 0; k < ks.n; k++) {
			struct slot *s = slot_of(ix, ks.k[k], strlen(ks.k[k]));
			if (!s) {
				ks_release(&ks);
				goto fail;
			}
			if (!s->key) {
				s->key = ks.k[k];
				ks.k[k] = NULL;
			}
			if (!push(&s->rules, &s->n, &s->cap, idx[i])) {
				ks_release(&ks);
				goto fail;
			}
		}
		ks_release(&ks);
	}
	return ix;
fail:
	det_index_free(ix);
	return NULL;   /* no index: every rule is tried */
}

/* The record's key(s): lower-cased into keys[], their count. */
static unsigned record_keys(const struct det_index *ix, struct det_rec *r,
			    char keys[2][KEY_MAX])
{
	int fields[2] = { ix->sp.field, ix->sp.basename ? DF_IMAGE_ALT : -1 };
	unsigned nk = 0;

	for (int f = 0; f < 2; f++) {
		const struct hn_sm_str *v;
		const char *b;
		size_t n;
		if (fields[f] < 0)
			continue;
		v = det_rec_get(r, fields[f]);
		if (!v || !v->present)
			continue;
		b = v->s;
		n = v->n;
		if (ix->sp.basename) {
			const char *sl = memrchr(v->s, '/', v->n);
			if (sl) {
				b = sl + 1;
				n = v->n - (size_t)(b - v->s);
			}
		}
		if (!n || n >= KEY_MAX)
			continue;
		for (size_t i = 0; i < n; i++)
			keys[nk][i] = (char)tolower((unsigned char)b[i]);
		keys[nk][n] = '\0';
		if (nk == 1 && !strcmp(keys[0], keys[1]))
			continue;
		nk++;
	}
	return nk;
}

int det_index_candidates(const struct det_index *ix, struct det_rec *r, unsigned *out,
			 unsigned max)
{
	char keys[2][KEY_MAX];
	const unsigned *lists[3];
	unsigned lens[3], pos[3] = { 0, 0, 0 }, nl = 0, n = 0, nk;

	if (!ix || ix->nrules > max)
		return -1;
	lists[nl] = ix->always;
	lens[nl++] = ix->nalways;
	nk = record_keys(ix, r, keys);
	for (unsigned k = 0; k < nk; k++) {
		struct slot *s = slot_of(ix, keys[k], strlen(keys[k]));
		if (s && s->key) {
			lists[nl] = s->rules;
			lens[nl++] = s->n;
		}
	}
	/* merge the ascending lists, each rule once, in load order */
	for (;;) {
		unsigned best = 0;
		int from = -1;
		for (unsigned l = 0; l < nl; l++)
			if (pos[l] < lens[l] && (from < 0 || lists[l][pos[l]] < best)) {
				best = lists[l][pos[l]];
				from = (int)l;
			}
		if (from < 0)
			break;
		for (unsigned l = 0; l < nl; l++)
			if (pos[l] < lens[l] && lists[l][pos[l]] == best)
				pos[l]++;
		out[n++] = best;
	}
	return (int)n;
}
