/*
 * index.c - the prefilter: which rules a record can possibly satisfy,
 * from one key field, so that most rules are never evaluated.
 *
 *   source             key fields of a record       a rule is filed under
 *   process_creation   basename of Image (both       the basenames its
 *                      values: resolved and as       condition requires
 *                      passed to execve)             (Image|endswith '/x',
 *                                                    Image: '/full/path/x')
 *   auditd             a0, SYSCALL, comm, exe        the values of the first
 *                      basename, type                of these fields its
 *                                                    condition requires
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
#include <stdio.h>
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

/* One key field of a source; a source's fields are tried in order, and a
 * rule is filed under the first one its condition requires. */
struct spec {
	int field;
	bool basename;
};

static const struct spec proc_specs[] = {
	{ DF_IMAGE, true },
};

static const struct spec audit_specs[] = {
	{ DF_A_A0, false },       /* EXECVE: the command */
	{ DF_A_SYSCALL, false },
	{ DF_A_COMM, false },
	{ DF_A_EXE, true },
	{ DF_A_TYPE, false },     /* last: also what fields imply (a1: EXECVE) */
};

#define MAX_SPECS 5      /* one digit in a key ("3:bash") */

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
	if (sp->field == DF_A_TYPE && it->field != sp->field) {
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
	const struct spec *specs;
	unsigned nspecs;
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
	if (src == HN_DS_PROCESS_CREATION) {
		ix->specs = proc_specs;
		ix->nspecs = sizeof(proc_specs) / sizeof(proc_specs[0]);
	} else {
		ix->specs = audit_specs;
		ix->nspecs = sizeof(audit_specs) / sizeof(audit_specs[0]);
	}
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
		bool keyed = false;
		unsigned f;
		for (f = 0; f < ix->nspecs && !keyed; f++) {
			ks_release(&ks);
			keyed = r->cond.nodes &&
				node_keys(r, r->cond.root, &ix->specs[f], &ks, 0) && !ks.oom &&
				ks.n && ks.n <= ix->nslots / 4;
		}
		if (!keyed) {
			ks_release(&ks);
			if (!push(&ix->always, &ix->nalways, &cap_always, idx[i]))
				goto fail;
			continue;
		}
		for (unsigned k = 0; k < ks.n; k++) {
			char fk[KEY_MAX + 8];
			struct slot *s;
			/* a key is "field:value" */
			snprintf(fk, sizeof(fk), "%c:%s", (char)('0' + (f - 1)), ks.k[k]);
			s = slot_of(ix, fk, strlen(fk));
			if (!s) {
				ks_release(&ks);
				goto fail;
			}
			if (!s->key && !(s->key = strdup(fk))) {
				ks_release(&ks);
				goto fail;
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

/* The record's keys ("field:value", lower-cased) into keys[], their
 * count: for each key field its value (Image: both values). */
#define REC_KEYS (MAX_SPECS + 1)
static unsigned record_keys(const struct det_index *ix, struct det_rec *r,
			    char keys[REC_KEYS][KEY_MAX + 8])
{
	unsigned nk = 0;

	for (unsigned f = 0; f < ix->nspecs; f++) {
		const struct spec *sp = &ix->specs[f];
		int fields[2] = { sp->field, sp->field == DF_IMAGE ? DF_IMAGE_ALT : -1 };
		for (int j = 0; j < 2 && nk < REC_KEYS; j++) {
			const struct hn_sm_str *v;
			const char *b;
			size_t n, p;
			if (fields[j] < 0)
				continue;
			v = det_rec_get(r, fields[j]);
			if (!v || !v->present)
				continue;
			b = v->s;
			n = v->n;
			if (sp->basename) {
				const char *sl = memrchr(v->s, '/', v->n);
				if (sl) {
					b = sl + 1;
					n = v->n - (size_t)(b - v->s);
				}
			}
			if (!n || n >= KEY_MAX)
				continue;
			/* "f:" without printf: this runs for every record */
			keys[nk][0] = (char)('0' + f);
			keys[nk][1] = ':';
			p = 2;
			for (size_t i = 0; i < n; i++)
				keys[nk][p + i] = (char)tolower((unsigned char)b[i]);
			keys[nk][p + n] = '\0';
			if (nk && !strcmp(keys[nk - 1], keys[nk]))
				continue;
			nk++;
		}
	}
	return nk;
}

int det_index_candidates(const struct det_index *ix, struct det_rec *r, unsigned *out,
			 unsigned max)
{
	char keys[REC_KEYS][KEY_MAX + 8];
	const unsigned *lists[REC_KEYS + 1];
	unsigned lens[REC_KEYS + 1], pos[REC_KEYS + 1] = { 0 }, nl = 0, n = 0, nk;

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
