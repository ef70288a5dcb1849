/*
 * index.c - the prefilter: which rules a record can possibly satisfy,
 * from one key field, so that most rules are never evaluated.
 *
 *   source             key fields of a record       a rule is filed under
 *   process_creation   basename of Image (both       the basenames its
 *                      values: resolved and as       condition requires
 *                      passed to execve)             (Image|endswith '/x',
 *                                                    Image: '/full/path/x')
 *   auditd             a0, euid, SYSCALL, comm,      the values of the first
 *                      exe basename, type            of these fields its
 *                                                    condition requires
 *   network_connection DestinationPort               the ports it requires
 *
 * Other sources have no key field: their rules are all "always".  Every
 * source's index also knows, for each event type and audit record kind,
 * which rules a record of that shape can match at all (the fields the
 * shape decides: record type, syscall name, fields a record type lacks).  The
 * index answers with a bit set over the ruleset's rules (det_index_mask),
 * which the engine ANDs with the literal prefilter's.
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
#include <strings.h>

#define KEY_MAX 256

void det_ks_release(struct det_keyset *ks)
{
	for (unsigned i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
	memset(ks, 0, sizeof(*ks));
}

void det_ks_add(struct det_keyset *ks, const char *s, size_t n)
{
	char *c;

	for (unsigned i = 0; i < ks->n; i++)
		if (strlen(ks->k[i]) == n && !strncasecmp(ks->k[i], s, n))
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

void det_ks_move(struct det_keyset *to, struct det_keyset *from)
{
	det_ks_release(to);
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
	{ DF_A_EUID, false },     /* a web server's user: euid 33 */
	{ DF_A_SYSCALL, false },
	{ DF_A_COMM, false },
	{ DF_A_EXE, true },
	{ DF_A_TYPE, false },     /* last: also what fields imply (a1: EXECVE) */
};

static const struct spec net_specs[] = {
	{ DF_DESTINATIONPORT, false },
};

#define MAX_SPECS 6      /* one digit in a key ("3:bash") */

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
static bool item_keys(const struct det_item *it, const struct spec *sp, struct det_keyset *ks)
{
	unsigned allowed = HN_SM_CASED | (sp->basename ? HN_SM_ENDSWITH : 0);

	/* auditd: a field of one record type only, which must be there */
	if (sp->field == DF_A_TYPE && it->field != sp->field) {
		const char *k = audit_kind_of(it->field);
		if (!k || matches_absent(it))
			return false;
		det_ks_add(ks, k, strlen(k));
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
		det_ks_add(ks, b, strlen(b));
	}
	return true;
}

static bool sel_keys(const struct det_sel *s, const struct spec *sp, struct det_keyset *ks)
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
		      struct det_keyset *ks, int depth)
{
	const struct det_node *nd = &r->cond.nodes[n];

	if (depth > 64)
		return false;
	switch (nd->op) {
	case DN_SEL:
		return sel_keys(&r->sels[nd->a], sp, ks);
	case DN_AND: {
		/* the operand that requires the fewest keys */
		struct det_keyset best = { 0 };
		bool any = false;
		for (unsigned k = nd->a; k < nd->b; k++) {
			struct det_keyset t = { 0 };
			if (node_keys(r, r->cond.kids[k], sp, &t, depth + 1) && !t.oom &&
			    (!any || t.n < best.n)) {
				det_ks_move(&best, &t);
				any = true;
			}
			det_ks_release(&t);
		}
		if (any)
			for (unsigned i = 0; i < best.n; i++)
				det_ks_add(ks, best.k[i], strlen(best.k[i]));
		det_ks_release(&best);
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
	size_t klen;
	uint64_t *bits;          /* its rules (bit i: rule index i) */
};

struct det_index {
	const struct spec *specs;
	unsigned nspecs;
	bool used[MAX_SPECS];    /* some rule is filed under spec i's keys */
	signed char *spec_of;    /* rule i: the spec it is filed under, or -1 */
	/* by record shape: the specs whose keys vary (not decided by the
	 * shape) and that some rule is filed under, bit i: spec i */
	unsigned char dyn[HN_EV_TYPE_MAX][DET_AUDIT_COUNT];
	unsigned nwords;         /* of every bit set: rules of the ruleset */
	uint64_t *always;        /* the source's rules with no key */
	/* by event type and audit record kind (a record's shape): the
	 * rules a record of that shape can match (NULL: not built), those
	 * allowed before its keys that vary are looked at (no key, or a
	 * key the shape decides: type, SYSCALL), and whether none can */
	uint64_t *shape[HN_EV_TYPE_MAX][DET_AUDIT_COUNT];
	uint64_t *pre[HN_EV_TYPE_MAX][DET_AUDIT_COUNT];
	bool none[HN_EV_TYPE_MAX][DET_AUDIT_COUNT];
	struct slot *slots;
	unsigned nslots;         /* a power of two */
};

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

/* The slot of key k (n bytes) whose hash is h: its own, or the empty one
 * it would take; NULL when the table is full. */
static struct slot *slot_find(const struct det_index *ix, const char *k, size_t n, uint64_t h)
{
	for (unsigned i = 0; i < ix->nslots; i++) {
		struct slot *s = &ix->slots[(h + i) & (ix->nslots - 1)];
		if (!s->key || (s->klen == n && !memcmp(s->key, k, n)))
			return s;
	}
	return NULL;
}

static struct slot *slot_of(const struct det_index *ix, const char *k, size_t n)
{
	return slot_find(ix, k, n, hash(k, n));
}

void det_index_free(struct det_index *ix)
{
	if (!ix)
		return;
	for (unsigned i = 0; i < ix->nslots; i++) {
		free(ix->slots[i].key);
		free(ix->slots[i].bits);
	}
	free(ix->slots);
	free(ix->always);
	free(ix->spec_of);
	for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
		for (unsigned k = 0; k < DET_AUDIT_COUNT; k++) {
			free(ix->shape[t][k]);
			free(ix->pre[t][k]);
		}
	free(ix);
}

/* The record's keys ("field:value", lower-cased) into keys[], their
 * count: for each key field its value (Image: both values). */
#define REC_KEYS (MAX_SPECS + 1)
static unsigned record_keys(const struct det_index *ix, struct det_rec *r, bool fixed,
			    char keys[REC_KEYS][KEY_MAX + 8], size_t lens[REC_KEYS],
			    uint64_t hashes[REC_KEYS])
{
	unsigned nk = 0;

	unsigned todo = 0;

	/* only the keys the shape decides, or only the others (a key no rule
	 * is filed under finds nothing) */
	if (!fixed)
		todo = ix->dyn[r->ev->type][r->audit_kind];
	else
		for (unsigned f = 0; f < ix->nspecs; f++)
			if (ix->used[f] && det_field_static(ix->specs[f].field, r->ev->type,
							    r->audit_kind))
				todo |= 1u << f;
	for (; todo; todo &= todo - 1) {
		unsigned f = (unsigned)__builtin_ctz(todo);
		const struct spec *sp = &ix->specs[f];
		int fields[2] = { sp->field, sp->field == DF_IMAGE ? DF_IMAGE_ALT : -1 };
		for (int j = 0; j < 2 && nk < REC_KEYS; j++) {
			const struct hn_sm_str *v;
			const char *b;
			size_t n, p;
			uint64_t h;
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
			/* "f:" without printf, lower-cased (ASCII, as det_ks_add
			 * in the C locale) and hashed in one pass: this runs for
			 * every record */
			keys[nk][0] = (char)('0' + f);
			keys[nk][1] = ':';
			p = 2;
			h = hash(keys[nk], 2);
			for (size_t i = 0; i < n; i++) {
				unsigned char c = (unsigned char)b[i];
				c = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
				keys[nk][p + i] = (char)c;
				h = (h ^ c) * 0x100000001b3ULL;
			}
			keys[nk][p + n] = '\0';
			lens[nk] = p + n;
			hashes[nk] = h;
			if (nk && lens[nk - 1] == lens[nk] && !memcmp(keys[nk - 1], keys[nk], p + n))
				continue;
			nk++;
		}
	}
	return nk;
}

/* The rules a record of each shape (event type, audit record kind) can
 * match, judged by the fields the shape decides (an EXECVE rule cannot
 * match a PATH record; a SYSCALL: 'ptrace' rule cannot match a connect),
 * and those its fixed keys allow. */
static bool build_shapes(struct det_index *ix, const struct hn_ruleset *rs,
			 enum hn_det_source src, const unsigned *idx, unsigned n)
{
	struct det_rec *rec = malloc(sizeof(*rec));
	struct hn_event ev;
	unsigned kinds = src == HN_DS_AUDITD ? DET_AUDIT_COUNT : 1;
	char keys[REC_KEYS][KEY_MAX + 8];
	size_t lens[REC_KEYS];
	uint64_t hashes[REC_KEYS];

	if (!rec)
		return false;
	for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
		for (unsigned k = 0; k < kinds; k++) {
			uint64_t *m = calloc(ix->nwords, sizeof(*m));
			uint64_t *pre = calloc(ix->nwords, sizeof(*pre));
			unsigned yes = 0, nk;
			ix->shape[t][k] = m;
			ix->pre[t][k] = pre;
			if (!m || !pre) {
				free(rec);
				return false;
			}
			memset(&ev, 0, sizeof(ev));
			ev.type = (uint16_t)t;
			det_rec_init(rec, &ev, NULL, src, (int)k);
			for (unsigned i = 0; i < n; i++)
				if (det_rule_possible(det_ruleset_rule(rs, idx[i]), rec)) {
					m[idx[i] / 64] |= 1ULL << (idx[i] % 64);
					yes++;
				}
			ix->none[t][k] = !yes;
			memcpy(pre, ix->always, ix->nwords * sizeof(*pre));
			nk = record_keys(ix, rec, true, keys, lens, hashes);
			for (unsigned j = 0; j < nk; j++) {
				struct slot *s = slot_of(ix, keys[j], lens[j]);
				if (s && s->key)
					for (unsigned w = 0; w < ix->nwords; w++)
						pre[w] |= s->bits[w];
			}
			for (unsigned w = 0; w < ix->nwords; w++)
				pre[w] &= m[w];
			/* the key fields to compute for records of this shape:
			 * those a rule possible here is filed under, when the
			 * shape does not decide them */
			for (unsigned i = 0; i < n; i++) {
				int f = ix->spec_of[idx[i]];
				if (f >= 0 && (m[idx[i] / 64] & (1ULL << (idx[i] % 64))) &&
				    !det_field_static(ix->specs[f].field, (uint16_t)t, (int)k))
					ix->dyn[t][k] |= (unsigned char)(1u << f);
			}
		}
	free(rec);
	return true;
}

struct det_index *det_index_build(const struct hn_ruleset *rs, enum hn_det_source src)
{
	struct det_index *ix;
	const unsigned *idx;
	unsigned n;

	idx = det_ruleset_by_source(rs, src, &n);
	if (!n)
		return NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return NULL;
	if (src == HN_DS_PROCESS_CREATION) {
		ix->specs = proc_specs;
		ix->nspecs = sizeof(proc_specs) / sizeof(proc_specs[0]);
	} else if (src == HN_DS_AUDITD) {
		ix->specs = audit_specs;
		ix->nspecs = sizeof(audit_specs) / sizeof(audit_specs[0]);
	} else if (src == HN_DS_NETWORK_CONNECTION) {
		ix->specs = net_specs;
		ix->nspecs = sizeof(net_specs) / sizeof(net_specs[0]);
	}
	ix->nwords = (hn_ruleset_count(rs) + 63) / 64;
	ix->nslots = 64;
	while (ix->nslots < 4 * n)
		ix->nslots *= 2;
	ix->slots = calloc(ix->nslots, sizeof(*ix->slots));
	ix->always = calloc(ix->nwords, sizeof(*ix->always));
	ix->spec_of = malloc(ix->nwords * 64);
	if (!ix->slots || !ix->always || !ix->spec_of)
		goto fail;
	memset(ix->spec_of, -1, ix->nwords * 64);
	for (unsigned i = 0; i < n; i++) {
		const struct det_rule *r = det_ruleset_rule(rs, idx[i]);
		struct det_keyset ks = { 0 };
		bool keyed = false;
		unsigned f;
		for (f = 0; f < ix->nspecs && !keyed; f++) {
			det_ks_release(&ks);
			keyed = r->cond.nodes &&
				node_keys(r, r->cond.root, &ix->specs[f], &ks, 0) && !ks.oom &&
				ks.n && ks.n <= ix->nslots / 4;
		}
		if (!keyed) {
			det_ks_release(&ks);
			ix->always[idx[i] / 64] |= 1ULL << (idx[i] % 64);
			continue;
		}
		for (unsigned k = 0; k < ks.n; k++) {
			char fk[KEY_MAX + 8];
			struct slot *s;
			/* a key is "field:value" */
			snprintf(fk, sizeof(fk), "%c:%s", (char)('0' + (f - 1)), ks.k[k]);
			s = slot_of(ix, fk, strlen(fk));
			if (s && !s->key) {
				s->key = strdup(fk);
				s->klen = strlen(fk);
				s->bits = calloc(ix->nwords, sizeof(*s->bits));
			}
			if (!s || !s->key || !s->bits) {
				det_ks_release(&ks);
				goto fail;
			}
			s->bits[idx[i] / 64] |= 1ULL << (idx[i] % 64);
		}
		ix->used[f - 1] = true;
		ix->spec_of[idx[i]] = (signed char)(f - 1);
		det_ks_release(&ks);
	}
	if (!build_shapes(ix, rs, src, idx, n))
		goto fail;
	return ix;
fail:
	det_index_free(ix);
	return NULL;   /* no index: every rule is tried */
}

bool det_index_keyed(const struct det_index *ix, unsigned i)
{
	return ix && i < ix->nwords * 64 && ix->nspecs &&
	       !(ix->always[i / 64] & (1ULL << (i % 64)));
}

bool det_index_mask(const struct det_index *ix, struct det_rec *r, uint64_t *bits,
		    unsigned nwords)
{
	char keys[REC_KEYS][KEY_MAX + 8];
	size_t lens[REC_KEYS];
	uint64_t hashes[REC_KEYS];
	unsigned t = r->ev->type, k = (unsigned)r->audit_kind, nk;
	const uint64_t *shape;

	if (!ix || nwords < ix->nwords || t >= HN_EV_TYPE_MAX || k >= DET_AUDIT_COUNT ||
	    !ix->shape[t][k])
		return false;
	if (ix->none[t][k]) {
		memset(bits, 0, ix->nwords * sizeof(*bits));
		return true;
	}
	shape = ix->shape[t][k];
	memcpy(bits, ix->pre[t][k], ix->nwords * sizeof(*bits));
	nk = ix->nspecs ? record_keys(ix, r, false, keys, lens, hashes) : 0;
	for (unsigned j = 0; j < nk; j++) {
		struct slot *s = slot_find(ix, keys[j], lens[j], hashes[j]);
		if (s && s->key)
			for (unsigned w = 0; w < ix->nwords; w++)
				bits[w] |= s->bits[w] & shape[w];
	}
	return true;
}
