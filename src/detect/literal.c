/*
 * literal.c - the literal prefilter: rules that need a literal the record
 * does not have are not evaluated (detect_int.h: det_lits_*).
 *
 * What a rule needs is read off its condition, as index.c reads keys:
 *
 *   value      its longest run of literal bytes (between wildcards; for
 *              windash also between dashes and slashes), lower-cased, when
 *              at least LIT_MIN bytes long (2 with punctuation: lit_ok);
 *              a regular expression: the longest run each top-level
 *              branch must match in a row (det_re_literals), one literal
 *              per branch; a value that is null, empty, base64, a cidr,
 *              a number comparison or exists needs nothing
 *   item       any of its values' literals (with `all`: those of one
 *              value); nothing when one value needs nothing
 *   selection  the union over its alternatives, each alternative the best
 *              of its items (the literals least likely to be everywhere:
 *              the longest shortest one, a piece of a common path such
 *              as "/tmp/" counting as 1 byte, then the fewest); an alternative
 *              with an item no record can satisfy (auditd `type: TTY`)
 *              needs nothing more: it never matches
 *   and        the best operand; or: the union (nothing when an operand
 *              needs nothing); not: nothing
 *
 * A value "matches" only if each of its literal runs appears in the field,
 * whatever the case (cased only narrows), so "a rule fires => one of its
 * literals is in one of the fields its items name" holds, and the
 * prefilter never drops a rule that could fire.  A literal found counts
 * for a rule only in the fields the rule's items name (field_bits: a hit
 * in TargetFilename does not make an `exe|startswith` rule worth trying);
 * auditd's a0..a9 are searched as part of the command line when it holds
 * them all, so a hit there counts for them too.
 *
 * Literals are taken from text fields only (text_field): numbers and
 * names a record's shape decides are the key index's (index.c).
 *
 * Search: Hyperscan literal databases (caseless, every place a literal
 * is: the place says the field), one per set of sources an event type is offered to (its
 * rules' literals only: a file event's database has no command line's
 * literals), scanned once per event, as one buffer of lines, over the
 * values of the records the event is seen as (process_creation, auditd's
 * SYSCALL, EXECVE, PATH...): each source's fields that have literals and
 * that the record's shape can have (Image with both its values; the
 * keyword fields when a keyword item has literals; not auditd's a0..a9
 * when the whole command line is searched; not the values the shape
 * decides, auditd's type "PATH" or SYSCALL "openat": their hits are found
 * once, when the databases are built, and added to every record of that
 * shape), the same text once (one segment, with the fields that have it).
 * Each
 * thread has one Hyperscan scratch, grown for each ruleset's databases
 * and freed when the thread exits.
 */
#include "detect/detect_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Shorter runs are found in too many records to be worth it; a 2-byte
 * run with punctuation ("/.", "-w") is rare enough. */
#define LIT_MIN 3

static bool lit_ok(const char *run, size_t n)
{
	if (n >= LIT_MIN)
		return true;
	if (n != 2)
		return false;
	for (size_t i = 0; i < 2; i++) {
		char c = run[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == ' ' || c == '_'))
			return true;
	}
	return false;
}

/* ---- what a rule needs ---- */

/* The longest literal run of a value as written (escapes resolved) into
 * out, its length; 0 when none. */
static size_t longest_run(const char *v, bool windash, char *out, size_t cap)
{
	char cur[512];
	size_t n = 0, best = 0;

	for (const char *p = v;; p++) {
		char c = *p;
		bool cut = !c || c == '*' || c == '?' || (windash && (c == '-' || c == '/'));
		if (!cut && c == '\\' && (p[1] == '*' || p[1] == '?' || p[1] == '\\'))
			c = *++p;
		if (cut || n == sizeof(cur)) {
			if (n > best && n <= cap) {
				memcpy(out, cur, n);
				best = n;
			}
			n = 0;
		}
		if (!*p)
			break;
		if (!cut)
			cur[n++] = c;
	}
	return best;
}

/* ---- regular expressions ---- */

/* Skip a character class starting at p ('['): past its ']', or NULL when
 * it does not close. */
static const char *skip_class(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;             /* a ']' first is a member */
	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '[' && p[1] == ':') {
			const char *e = strstr(p + 2, ":]");
			if (!e)
				return NULL;
			p = e + 1;
		} else if (*p == ']')
			return p + 1;
	}
	return NULL;
}

/* Skip a group starting at p ('('): past its ')', or NULL. */
static const char *skip_group(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '[') {
			if (!(p = skip_class(p)))
				return NULL;
			p--;
		} else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

/* Skip a quantifier at p (?, *, +, {n}, {n,}, {n,m}, each maybe lazy or
 * possessive): *min gets its least count and *one whether there was none
 * at all (the atom matched exactly once).  Returns p past it, or NULL for
 * a '{' that is not exactly {n}, {n,} or {n,m} (a literal brace in this
 * PCRE2, a quantifier in later ones: {,n}, spaces): not read here. */
static const char *skip_quant(const char *p, unsigned *min, bool *one)
{
	*min = 1;
	*one = false;
	if (*p == '?' || *p == '*') {
		*min = 0;
	} else if (*p == '+') {
		;
	} else if (*p == '{') {
		const char *q = p + 1;
		unsigned n = 0;
		if (*q < '0' || *q > '9')
			return NULL;
		while (*q >= '0' && *q <= '9' && n < 100000)
			n = n * 10 + (unsigned)(*q++ - '0');
		if (*q == ',')
			for (q++; *q >= '0' && *q <= '9'; q++)
				;
		if (*q != '}')
			return NULL;
		*min = n;
		p = q;
	} else {
		*one = true;
		return p;
	}
	p++;
	if (*p == '?' || *p == '+')
		p++;
	return p;
}

/*
 * The literal one branch of a regular expression needs (the longest run
 * of bytes it must match in a row, outside groups and classes), into
 * out, its length; 0 when none.  [p, end) holds no top-level '|'.
 */
static size_t re_branch_run(const char *p, const char *end, char *out, size_t cap)
{
	char cur[512];
	size_t n = 0, best = 0;

	while (p < end) {
		const char *q;
		unsigned min;
		bool one;
		int c = -1;              /* a literal byte, or -1: something else */

		if (*p == '\\') {
			if (p + 1 >= end)
				return 0;
			if ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') ||
			    (p[1] >= '0' && p[1] <= '9')) {
				/* \d, \s, \b...: some byte or none; \x41, \1,
				 * \p{L}...: longer escapes, not read here */
				if (!strchr("dDwWsSbBAzZGhHvVRntrfeaK", p[1]))
					return 0;
				c = -1;
			} else {
				c = (unsigned char)p[1];
			}
			q = p + 2;
		} else if (*p == '[') {
			if (!(q = skip_class(p)) || q > end)
				return 0;
		} else if (*p == '(') {
			if (!(q = skip_group(p)) || q > end)
				return 0;
		} else if (*p == '.' || *p == '^' || *p == '$') {
			q = p + 1;
		} else if (*p == '?' || *p == '*' || *p == '+' || *p == ')' || *p == '{') {
			return 0;        /* a quantifier of nothing: not ours to judge */
		} else {
			c = (unsigned char)*p;
			q = p + 1;
		}
		if (!(q = skip_quant(q, &min, &one)))
			return 0;
		if (c >= 0 && min >= 1 && n < sizeof(cur)) {
			cur[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			if (one)
				goto next;
			/* repeated (or lazy, possessive...): the run ends with it */
		}
		if (n > best && n <= cap) {
			memcpy(out, cur, n);
			best = n;
		}
		n = 0;
next:
		p = q;
	}
	if (n > best && n <= cap) {
		memcpy(out, cur, n);
		best = n;
	}
	return best;
}

int det_re_literals(const char *re, char out[][512], unsigned max)
{
	const char *p = re, *start = re;
	unsigned n = 0;

	if (!re || strstr(re, "\\Q") || strstr(re, "(*") || strstr(re, "(?#") ||
	    strstr(re, "(?C") || strstr(re, "[:"))
		return 0;
	/* an option group turning on extended mode (spaces and # are then
	 * not literal) anywhere: (?x), (?ix), (?^x), (?sx:...) */
	for (const char *o = strstr(re, "(?"); o; o = strstr(o + 2, "(?"))
		for (const char *f = o + 2;
		     (*f >= 'a' && *f <= 'z') || (*f >= 'A' && *f <= 'Z') || *f == '^' || *f == '-';
		     f++)
			if (*f == 'x' || *f == 'J')
				return 0;
	/* a leading (?i), (?s), (?m), (?im)...: flags only */
	if (p[0] == '(' && p[1] == '?') {
		const char *q = p + 2;
		while (*q == 'i' || *q == 's' || *q == 'm')
			q++;
		if (*q != ')' || q == p + 2)
			return 0;
		p = start = q + 1;
	}
	for (;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '[') {
			const char *q = skip_class(p);
			if (!q)
				return 0;
			p = q - 1;
			continue;
		}
		if (*p == '(') {
			const char *q = skip_group(p);
			if (!q)
				return 0;
			p = q - 1;
			continue;
		}
		if (*p == '|' || !*p) {
			size_t k;
			if (n == max)
				return 0;
			k = re_branch_run(start, p, out[n], sizeof(out[n]) - 1);
			if (!lit_ok(out[n], k))
				return 0;    /* a branch needs nothing we can search */
			out[n++][k] = '\0';
			if (!*p)
				break;
			start = p + 1;
		}
	}
	return (int)n;
}

/* Fields literals are taken from: text the event carries (numbers,
 * names of syscalls and record types are left to the key index: they
 * would have to be formatted on every record to be searched). */
static bool text_field(int f)
{
	switch (f) {
	case -1:                 /* keywords */
	case DF_IMAGE: case DF_COMMANDLINE: case DF_CURRENTDIRECTORY:
	case DF_PARENTIMAGE: case DF_PARENTCOMMANDLINE:
	case DF_TARGETFILENAME: case DF_SOURCEFILENAME:
	case DF_DESTINATIONHOSTNAME: case DF_QUERYNAME:
	case DF_A_A0: case DF_A_A1: case DF_A_A2: case DF_A_A3: case DF_A_A4:
	case DF_A_A5: case DF_A_A6: case DF_A_A7: case DF_A_A8: case DF_A_A9:
	case DF_A_EXE: case DF_A_COMM: case DF_A_NAME: case DF_A_CWD:
	case DF_MESSAGE: case DF_PROGRAM: case DF_SUDO_USER: case DF_SUDO_COMMAND:
	case DF_SUDO_PWD:
		return true;
	default:
		return false;
	}
}

#define RE_BRANCHES 16

/* Literals a `re` item needs into ks (its values' branches': one value's
 * with all); false when it needs none. */
static bool re_item_lits(const struct det_item *it, struct det_keyset *ks)
{
	const unsigned re = HN_SM_RE | HN_SM_RE_I | HN_SM_RE_M | HN_SM_RE_S | HN_SM_ALL;
	bool all = it->vals.mods & HN_SM_ALL, any = false;
	static _Thread_local char lits[RE_BRANCHES][512];

	if (it->vals.mods & ~re)
		return false;
	for (unsigned i = 0; i < it->nraw; i++) {
		int n = det_re_literals(it->raw[i], lits, RE_BRANCHES);
		if (n <= 0) {
			if (!all)
				return false;
			continue;
		}
		for (int k = 0; k < n; k++)
			det_ks_add(ks, lits[k], strlen(lits[k]));
		any = true;
		if (all)
			break;   /* one value's are enough: every one must match */
	}
	return any;
}

/* Literals an item needs into ks; false when it needs none. */
static bool item_lits(const struct det_item *it, struct det_keyset *ks)
{
	const unsigned plain = HN_SM_CONTAINS | HN_SM_STARTSWITH | HN_SM_ENDSWITH |
			       HN_SM_ALL | HN_SM_CASED | HN_SM_WINDASH;
	bool all = it->vals.mods & HN_SM_ALL;
	char run[512];
	size_t best = 0, bn = 0;
	unsigned bi = 0;

	if ((it->vals.mods & HN_SM_RE) && it->nraw && text_field(it->field))
		return re_item_lits(it, ks);
	if ((it->vals.mods & ~plain) || !it->nraw || !text_field(it->field))
		return false;
	for (unsigned i = 0; i < it->nraw; i++) {
		size_t n = it->raw[i] ? longest_run(it->raw[i], it->vals.mods & HN_SM_WINDASH,
						    run, sizeof(run)) : 0;
		if (!lit_ok(run, n)) {
			if (!all)
				return false;
			continue;
		}
		if (n > best) {
			best = n;
			bi = i;
		}
	}
	if (!best)
		return false;
	if (all) {
		bn = longest_run(it->raw[bi], it->vals.mods & HN_SM_WINDASH, run, sizeof(run));
		det_ks_add(ks, run, bn);
		return true;
	}
	for (unsigned i = 0; i < it->nraw; i++) {
		bn = longest_run(it->raw[i], it->vals.mods & HN_SM_WINDASH, run, sizeof(run));
		det_ks_add(ks, run, bn);
	}
	return true;
}

/* Is literal k (lower-cased) part of a path that most records hold, so
 * that finding it says little?  Such a literal is worth what a 1-byte
 * one is: a rule that needs "/tmp/" or "/bin/sh" is better filtered by
 * its other items. */
static bool everywhere(const char *k)
{
	static const char *const common[] = {
		"/usr/local/bin/", "/usr/local/sbin/", "/usr/sbin/", "/usr/lib/",
		"/usr/share/", "/usr/libexec/", "/usr/bin/sh", "/bin/bash", "/bin/dash", "/var/tmp/",
		"/var/lib/", "/var/log/", "/home/", "/root/", "/etc/", "/run/",
		"/dev/null", "/proc/self/",
	};

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (strstr(common[i], k))
			return true;
	return false;
}

/* What a set of literals is worth as a filter: its shortest literal,
 * longer is rarer (capped: past 8 bytes length no longer tells), less
 * one for each doubling of their number (each literal is one more thing
 * to be found, and one more the scan looks for in every event: a list of
 * 1,000 package names loses to one 5-byte literal). */
static int worth(const struct det_keyset *a)
{
	size_t m = 8;
	int log2n = 0;

	for (unsigned i = 0; i < a->n; i++) {
		size_t n = everywhere(a->k[i]) ? 1 : strlen(a->k[i]);
		if (n < m)
			m = n;
	}
	for (unsigned n = a->n; n > 1; n >>= 1)
		log2n++;
	return (int)m * 2 - log2n * 2 + (a->n <= 1);
}

static bool better(const struct det_keyset *a, const struct det_keyset *b)
{
	int wa = worth(a), wb = worth(b);

	return wa != wb ? wa > wb : a->n < b->n;
}

/* t (needed when ok) replaces best when it is better; t is emptied. */
static void keep_better(struct det_keyset *best, bool *any, struct det_keyset *t, bool ok)
{
	if (ok && !t->oom && (!*any || better(t, best))) {
		det_ks_move(best, t);
		*any = true;
	}
	det_ks_release(t);
}

/* best (when any) added to ks and emptied; any. */
static bool add_best(struct det_keyset *ks, struct det_keyset *best, bool any)
{
	for (unsigned i = 0; i < best->n; i++)
		det_ks_add(ks, best->k[i], strlen(best->k[i]));
	det_ks_release(best);
	return any;
}

static bool sel_lits(const struct det_sel *s, enum hn_det_source src, struct det_keyset *ks)
{
	unsigned start = 0;

	if (!s->nalt)
		return false;
	for (unsigned a = 0; a < s->nalt; a++) {
		struct det_keyset best = { 0 };
		bool any = false, never = false;
		/* an alternative no record can satisfy (type: ADD_USER) needs
		 * nothing more: it never matches */
		for (unsigned i = start; i < s->alt_end[a] && !never; i++)
			never = det_item_never(&s->items[i], src);
		if (never) {
			start = s->alt_end[a];
			continue;
		}
		for (unsigned i = start; i < s->alt_end[a]; i++) {
			struct det_keyset t = { 0 };
			keep_better(&best, &any, &t, item_lits(&s->items[i], &t));
		}
		if (!add_best(ks, &best, any))
			return false;
		start = s->alt_end[a];
	}
	return true;
}

static bool node_lits(const struct det_rule *r, unsigned n, struct det_keyset *ks, int depth)
{
	enum hn_det_source src = r->info.source;
	const struct det_node *nd = &r->cond.nodes[n];

	if (depth > 64)
		return false;
	switch (nd->op) {
	case DN_SEL:
		return sel_lits(&r->sels[nd->a], src, ks);
	case DN_AND: {
		struct det_keyset best = { 0 };
		bool any = false;
		for (unsigned k = nd->a; k < nd->b; k++) {
			struct det_keyset t = { 0 };
			keep_better(&best, &any, &t, node_lits(r, r->cond.kids[k], &t, depth + 1));
		}
		return add_best(ks, &best, any);
	}
	case DN_OR:
		for (unsigned k = nd->a; k < nd->b; k++)
			if (!node_lits(r, r->cond.kids[k], ks, depth + 1))
				return false;
		return true;
	default:
		return false;
	}
}

/* The fields whose values a literal of rule r may have to be found in
 * (its items' text fields): bits 1 << field into f (keywords: bit
 * DF_COUNT). */
static void rule_fields(const struct det_rule *r, uint64_t f[(DF_COUNT + 64) / 64])
{
	for (unsigned s = 0; s < r->nsel; s++)
		for (unsigned i = 0; i < r->sels[s].nitems; i++) {
			int fl = r->sels[s].items[i].field;
			unsigned b = fl < 0 ? DF_COUNT : (unsigned)fl;
			if (!text_field(fl))
				continue;
			f[b / 64] |= 1ULL << (b % 64);
		}
}

_Static_assert(DF_COUNT <= 64, "a field set is one word");

/* The fields a hit of rule r's literals counts in, as bits 1 << field:
 * its items' text fields, a keyword item's the keyword fields of its
 * source, Image's both values. */
static uint64_t field_bits(const struct det_rule *r)
{
	uint64_t m = 0;

	for (unsigned s = 0; s < r->nsel; s++)
		for (unsigned i = 0; i < r->sels[s].nitems; i++) {
			int fl = r->sels[s].items[i].field;
			if (!text_field(fl))
				continue;
			if (fl < 0) {
				struct det_rec tmp = { .src = r->info.source };
				int kw[32];
				unsigned nk = det_keyword_fields(&tmp, kw, 32);
				for (unsigned k = 0; k < nk; k++)
					m |= 1ULL << kw[k];
			} else {
				m |= 1ULL << fl;
			}
		}
	if (m & (1ULL << DF_IMAGE))
		m |= 1ULL << DF_IMAGE_ALT;
	return m;
}

#ifdef HAVE_HYPERSCAN
#include <hs.h>
#include <pthread.h>

/* The literals of the rules of some sources, compiled: an event is
 * searched with the database of its type's sources only (a file event
 * never needs a command line's literals: fewer literals, a cheaper
 * scan). */
#define DBS_MAX 24
struct lit_db {
	hs_database_t *db;           /* NULL: no literal for these sources */
	unsigned srcs;               /* the sources (bit 1 << source) */
	unsigned *lit;               /* database id -> literal (det_lits.rules) */
};

struct det_lits {
	struct lit_db dbs[DBS_MAX];
	unsigned ndbs;
	signed char db_of_type[HN_EV_TYPE_MAX];   /* -1: none */
	uint64_t gen;                /* unique: which databases a scratch fits */
	unsigned nwords;
	uint64_t *always;            /* rules without literals */
	unsigned nlits;
	unsigned **rules;            /* literal i: its rules, nrules[i] of them */
	uint64_t *rule_fields;       /* rule i: the fields (bit f) its literals
				      * count in (FIELD_BITS) */
	unsigned *nrules;
	/* per source, the fields to scan; per source and record shape
	 * (event type, audit record kind), those of them a record of that
	 * shape can have (bit f: field f) */
	int fields[HN_DS_COUNT][DF_COUNT + 1];
	unsigned nfields[HN_DS_COUNT];
	uint64_t (*shape)[HN_EV_TYPE_MAX][DET_AUDIT_COUNT][(DF_COUNT + 63) / 64];
	/* per source and record shape, the rules the values the shape
	 * decides (auditd's type "PATH", SYSCALL "openat") have literals
	 * of (NULL: none): found once, when built; those values are then
	 * left out of the scan (shape has only the others) */
	uint64_t *fixed[HN_DS_COUNT][HN_EV_TYPE_MAX][DET_AUDIT_COUNT];
	unsigned with[HN_DS_COUNT], without[HN_DS_COUNT];
};

void det_lits_free(struct det_lits *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->ndbs; i++) {
		if (l->dbs[i].db)
			hs_free_database(l->dbs[i].db);
		free(l->dbs[i].lit);
	}
	for (unsigned i = 0; i < l->nlits; i++)
		free(l->rules[i]);
	free(l->rules);
	free(l->nrules);
	for (int s = 0; s < HN_DS_COUNT; s++)
		for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
			for (int k = 0; k < DET_AUDIT_COUNT; k++)
				free(l->fixed[s][t][k]);
	free(l->always);
	free(l->rule_fields);
	free(l->shape);
	free(l);
}

static bool add_rule(struct det_lits *l, unsigned lit, unsigned rule)
{
	unsigned n = l->nrules[lit];
	unsigned *p;

	if (n && l->rules[lit][n - 1] == rule)
		return true;
	p = realloc(l->rules[lit], (n + 1) * sizeof(*p));
	if (!p)
		return false;
	p[n] = rule;
	l->rules[lit] = p;
	l->nrules[lit] = n + 1;
	return true;
}

/* Index of literal s in lits (added when new), or -1 (no memory). */
static int lit_index(struct det_lits *l, struct det_keyset *lits, const char *s)
{
	for (unsigned i = 0; i < lits->n; i++)
		if (!strcmp(lits->k[i], s))
			return (int)i;
	det_ks_add(lits, s, strlen(s));
	if (lits->oom)
		return -1;
	if (lits->n > l->nlits) {
		unsigned **r = realloc(l->rules, lits->n * sizeof(*r));
		unsigned *nr;
		if (!r)
			return -1;
		l->rules = r;
		nr = realloc(l->nrules, lits->n * sizeof(*nr));
		if (!nr)
			return -1;
		l->nrules = nr;
		l->rules[l->nlits] = NULL;
		l->nrules[l->nlits] = 0;
		l->nlits = lits->n;
	}
	return (int)lits->n - 1;
}

/* Which of src's fields to scan a record of each shape can have: not
 * those the shape leaves absent (a PATH record has no a0). */
static bool set_shapes(struct det_lits *l, const struct hn_ruleset *rs,
		       enum hn_det_source src)
{
	struct det_rec *rec = malloc(sizeof(*rec));
	struct hn_event ev;
	unsigned n;
	const unsigned *idx = det_ruleset_by_source(rs, src, &n);

	if (!rec)
		return false;
	for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
		for (int k = 0; k < DET_AUDIT_COUNT; k++) {
			uint64_t *m = l->shape[src][t][k], want = 0;
			memset(&ev, 0, sizeof(ev));
			ev.type = (uint16_t)t;
			det_rec_init(rec, &ev, NULL, src, k);
			/* the fields of the rules with literals a record of this
			 * shape can match: no other rule needs a hit */
			for (unsigned i = 0; i < n; i++)
				if (!(l->always[idx[i] / 64] & (1ULL << (idx[i] % 64))) &&
				    det_rule_possible(det_ruleset_rule(rs, idx[i]), rec))
					want |= l->rule_fields[idx[i]];
			for (unsigned i = 0; i < l->nfields[src]; i++) {
				int f = l->fields[src][i];
				if (!(want & (1ULL << f)) ||
				    (det_field_static(f, (uint16_t)t, k) && !det_rec_get(rec, f)->present))
					continue;
				m[f / 64] |= 1ULL << (f % 64);
			}
		}
	free(rec);
	return true;
}

/* The fields of source src to scan, from the bit set of rule_fields. */
static bool set_fields(struct det_lits *l, enum hn_det_source src, const uint64_t *fields)
{
	int *out = l->fields[src];
	unsigned n = 0;

	for (int f = 0; f < DF_COUNT; f++)
		if (fields[f / 64] & (1ULL << (f % 64)))
			out[n++] = f;
	if (fields[DF_COUNT / 64] & (1ULL << (DF_COUNT % 64))) {
		struct det_rec *tmp = malloc(sizeof(*tmp));
		int kw[32];
		unsigned nk;
		if (!tmp)
			return false;
		tmp->src = src;     /* all det_keyword_fields reads */
		nk = det_keyword_fields(tmp, kw, 32);
		free(tmp);
		for (unsigned k = 0; k < nk; k++) {
			bool have = false;
			for (unsigned j = 0; j < n && !have; j++)
				have = out[j] == kw[k];
			if (!have)
				out[n++] = kw[k];
		}
	}
	for (unsigned j = 0; j < n; j++)
		if (out[j] == DF_IMAGE) {
			out[n++] = DF_IMAGE_ALT;
			break;
		}
	l->nfields[src] = n;
	return true;
}

static atomic_uint_fast64_t next_gen = 1;

/* The sources an event of type t can be offered to (bit 1 << source). */
static unsigned sources_of_type(unsigned t)
{
	struct hn_event ev;

	if (t == HN_EV_LOG)   /* which ones depends on the program: any */
		return 1u << HN_DS_SYSLOG | 1u << HN_DS_AUTH | 1u << HN_DS_SSHD |
		       1u << HN_DS_SUDO | 1u << HN_DS_CRON | 1u << HN_DS_VSFTPD |
		       1u << HN_DS_GUACAMOLE | 1u << HN_DS_CLAMAV;
	memset(&ev, 0, sizeof(ev));
	ev.type = (uint16_t)t;
	return det_sources_of_event(&ev);
}

/* Does literal li belong to a rule of one of srcs? */
static bool lit_for(const struct det_lits *l, const struct hn_ruleset *rs, unsigned li,
		    unsigned srcs)
{
	for (unsigned k = 0; k < l->nrules[li]; k++)
		if (srcs & (1u << det_ruleset_rule(rs, l->rules[li][k])->info.source))
			return true;
	return false;
}

/* Database l->ndbs: the literals of the rules of srcs (none: db NULL).
 * The arrays are scratch of lits->n entries.  0 or -1. */
static int compile_db(struct det_lits *l, const struct hn_ruleset *rs,
		      const struct det_keyset *lits, unsigned srcs, const char **pats,
		      unsigned *flags, unsigned *ids, size_t *lens)
{
	struct lit_db *d = &l->dbs[l->ndbs];
	hs_compile_error_t *err = NULL;
	unsigned n = 0;

	d->srcs = srcs;
	d->lit = malloc((lits->n ? lits->n : 1) * sizeof(*d->lit));
	if (!d->lit)
		return -1;
	for (unsigned i = 0; i < lits->n; i++) {
		if (!lit_for(l, rs, i, srcs))
			continue;
		pats[n] = lits->k[i];
		/* every place: a literal counts only in the fields its rules name */
		flags[n] = HS_FLAG_CASELESS;
		ids[n] = n;
		lens[n] = strlen(lits->k[i]);
		d->lit[n++] = i;
	}
	if (!n)
		return 0;
	if (hs_compile_lit_multi(pats, flags, ids, lens, n, HS_MODE_BLOCK, NULL, &d->db,
				 &err) != HS_SUCCESS) {
		hs_free_compile_error(err);
		d->db = NULL;
		return -1;
	}
	return 0;
}

static int set_fixed(struct det_lits *l);

struct det_lits *det_lits_build(const struct hn_ruleset *rs)
{
	struct det_lits *l;
	struct det_keyset lits = { 0 };
	uint64_t fields[HN_DS_COUNT][(DF_COUNT + 64) / 64];
	unsigned total = hn_ruleset_count(rs), with = 0;
	unsigned *flags = NULL, *ids = NULL;
	size_t *lens = NULL;
	const char **pats = NULL;

	if (!total)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	memset(fields, 0, sizeof(fields));
	l->nwords = (total + 63) / 64;
	l->always = calloc(l->nwords, sizeof(*l->always));
	l->rule_fields = calloc(total, sizeof(*l->rule_fields));
	if (!l->always || !l->rule_fields)
		goto fail;
	for (unsigned i = 0; i < total; i++) {
		const struct det_rule *r = det_ruleset_rule(rs, i);
		enum hn_det_source src = r->info.source;
		struct det_keyset ks = { 0 };
		bool need = r->cond.nodes && node_lits(r, r->cond.root, &ks, 0) && !ks.oom &&
			    ks.n;
		if (!need) {
			l->always[i / 64] |= 1ULL << (i % 64);
			l->without[src]++;
			det_ks_release(&ks);
			continue;
		}
		l->with[src]++;
		with++;
		rule_fields(r, fields[src]);
		l->rule_fields[i] = field_bits(r);
		for (unsigned k = 0; k < ks.n; k++) {
			int li = lit_index(l, &lits, ks.k[k]);
			if (li < 0 || !add_rule(l, (unsigned)li, i)) {
				det_ks_release(&ks);
				goto fail;
			}
		}
		det_ks_release(&ks);
	}
	if (!with)
		goto fail;   /* nothing to search for: every rule is tried */
	l->shape = calloc(HN_DS_COUNT, sizeof(*l->shape));
	if (!l->shape)
		goto fail;
	for (int src = 0; src < HN_DS_COUNT; src++)
		if (!set_fields(l, (enum hn_det_source)src, fields[src]) ||
		    !set_shapes(l, rs, (enum hn_det_source)src))
			goto fail;
	flags = malloc(lits.n * sizeof(*flags));
	ids = malloc(lits.n * sizeof(*ids));
	lens = malloc(lits.n * sizeof(*lens));
	pats = malloc(lits.n * sizeof(*pats));
	if (!flags || !ids || !lens || !pats)
		goto fail;
	for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++) {
		unsigned srcs = sources_of_type(t), d;
		l->db_of_type[t] = -1;
		if (!srcs)
			continue;
		for (d = 0; d < l->ndbs && l->dbs[d].srcs != srcs; d++)
			;
		if (d == l->ndbs) {
			if (d == DBS_MAX || compile_db(l, rs, &lits, srcs, pats, flags, ids,
						       lens) < 0)
				goto fail;
			l->ndbs++;
		}
		l->db_of_type[t] = (signed char)d;
	}
	l->gen = atomic_fetch_add(&next_gen, 1);
	if (set_fixed(l) < 0)
		goto fail;
	free(flags);
	free(ids);
	free(lens);
	free(pats);
	det_ks_release(&lits);
	return l;
fail:
	free(flags);
	free(ids);
	free(lens);
	free(pats);
	det_ks_release(&lits);
	det_lits_free(l);
	return NULL;
}

/* ---- a thread's scratch ---- */

#define GENS 16
struct tscratch {
	hs_scratch_t *s;
	uint64_t gens[GENS];         /* databases s fits (ring) */
	unsigned next;
};

static pthread_key_t sc_key;
static pthread_once_t sc_once = PTHREAD_ONCE_INIT;
static bool sc_key_ok;

static void sc_free(void *p)
{
	struct tscratch *t = p;

	if (t->s)
		hs_free_scratch(t->s);
	free(t);
}

static void sc_key_init(void)
{
	sc_key_ok = pthread_key_create(&sc_key, sc_free) == 0;
}

static hs_scratch_t *scratch_for(const struct det_lits *l)
{
	struct tscratch *t;

	pthread_once(&sc_once, sc_key_init);
	if (!sc_key_ok)
		return NULL;
	t = pthread_getspecific(sc_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return NULL;
		if (pthread_setspecific(sc_key, t)) {
			free(t);
			return NULL;
		}
	}
	for (unsigned i = 0; i < GENS; i++)
		if (t->gens[i] == l->gen)
			return t->s;
	for (unsigned d = 0; d < l->ndbs; d++)
		if (l->dbs[d].db && hs_alloc_scratch(l->dbs[d].db, &t->s) != HS_SUCCESS)
			return NULL;
	t->gens[t->next] = l->gen;
	t->next = (t->next + 1) % GENS;
	return t->s;
}

/* The values of an event's records, each text once (the same text in
 * another record or field, Image and exe, is one segment with both
 * fields), joined with NULs (no literal has one) into one buffer for one
 * scan; a hit counts for a rule when its segment has one of the rule's
 * fields.  A buffer that fills up is scanned and started again. */
#define BAG 8192
#define SEGS 64
struct seg {
	const char *p;
	size_t n;
	uint64_t fields;
	size_t off;                  /* in the buffer scanned */
};

struct bag {
	const struct det_lits *l;
	const struct lit_db *d;
	hs_scratch_t *s;
	uint64_t *may;
	struct seg seg[SEGS];
	unsigned nseg;
	/* the segments of the scan under way: seg[first .. first + nscan) */
	unsigned first, nscan;
	char buf[BAG];
	bool failed;
};

static int on_hit(unsigned int id, unsigned long long from, unsigned long long to,
		  unsigned int flags, void *arg)
{
	struct bag *b = arg;
	const struct det_lits *l = b->l;
	unsigned lo = b->first, hi = b->first + b->nscan;
	uint64_t fields;

	(void)from;
	(void)flags;
	/* the segment holding the hit's last byte: the last starting at or
	 * before it */
	while (hi - lo > 1) {
		unsigned mid = (lo + hi) / 2;
		if (b->seg[mid].off < to)
			lo = mid;
		else
			hi = mid;
	}
	fields = b->seg[lo].fields;
	id = b->d->lit[id];
	for (unsigned i = 0; i < l->nrules[id]; i++) {
		unsigned r = l->rules[id][i];
		if (l->rule_fields[r] & fields)
			b->may[r / 64] |= 1ULL << (r % 64);
	}
	return 0;
}

static void bag_flush(struct bag *b);

/* Scan seg[first .. end), laid out in buf (or the one segment where it
 * is, when it is too big for buf). */
static void bag_scan(struct bag *b, unsigned first, unsigned end)
{
	const char *p = b->buf;
	size_t n = 0;

	if (first == end)
		return;
	if (end - first == 1 && b->seg[first].n >= BAG / 2) {
		p = b->seg[first].p;
		n = b->seg[first].n;
		b->seg[first].off = 0;
	} else {
		for (unsigned i = first; i < end; i++) {
			b->seg[i].off = n;
			memcpy(b->buf + n, b->seg[i].p, b->seg[i].n);
			n += b->seg[i].n;
			b->buf[n++] = '\0';
		}
	}
	b->first = first;
	b->nscan = end - first;
	if (n && hs_scan(b->d->db, p, (unsigned)n, 0, b->s, on_hit, b) != HS_SUCCESS)
		b->failed = true;
}

/* Scan every segment: as many at a time as buf holds. */
static void bag_flush(struct bag *b)
{
	unsigned first = 0;
	size_t used = 0;

	for (unsigned i = 0; i < b->nseg; i++) {
		size_t n = b->seg[i].n;
		if (n >= BAG / 2) {
			/* alone, where it is */
			bag_scan(b, first, i);
			bag_scan(b, i, i + 1);
			first = i + 1;
			used = 0;
			continue;
		}
		if (used + n + 1 > BAG) {
			bag_scan(b, first, i);
			first = i;
			used = 0;
		}
		used += n + 1;
	}
	bag_scan(b, first, b->nseg);
}

/* Field f's value p[0..n) into the bag: a text already there gets f's
 * bit (and more when fields says so). */
static void bag_add(struct bag *b, const char *p, size_t n, uint64_t fields)
{
	for (unsigned i = 0; i < b->nseg; i++)
		if (b->seg[i].n == n && !memcmp(b->seg[i].p, p, n)) {
			b->seg[i].fields |= fields;
			return;
		}
	if (b->nseg == SEGS) {
		/* full (never with today's records): what is there is
		 * scanned, and the table starts again */
		bag_flush(b);
		b->nseg = 0;
	}
	b->seg[b->nseg++] = (struct seg){ .p = p, .n = n, .fields = fields };
}

/* l->fixed, and the values the shape decides out of l->shape.  0 or -1. */
static int set_fixed(struct det_lits *l)
{
	struct det_rec *rec = malloc(sizeof(*rec));
	uint64_t *may = calloc(l->nwords, sizeof(*may));
	struct hn_event ev;
	int ret = 0;

	if (!rec || !may || !scratch_for(l)) {
		free(rec);
		free(may);
		return -1;
	}
	for (int src = 0; src < HN_DS_COUNT && !ret; src++)
		for (unsigned t = 0; t < HN_EV_TYPE_MAX && !ret; t++)
			for (int k = 0; k < DET_AUDIT_COUNT && !ret; k++) {
				uint64_t *m = l->shape[src][t][k];
				struct bag b = { .l = l, .s = scratch_for(l), .may = may };
				bool any = false;
				if (l->db_of_type[t] < 0 || !l->dbs[(int)l->db_of_type[t]].db)
					continue;
				b.d = &l->dbs[(int)l->db_of_type[t]];
				memset(&ev, 0, sizeof(ev));
				ev.type = (uint16_t)t;
				det_rec_init(rec, &ev, NULL, (enum hn_det_source)src, k);
				memset(may, 0, l->nwords * sizeof(*may));
				for (int f = 0; f < DF_COUNT; f++) {
					const struct hn_sm_str *v;
					if (!(m[f / 64] & (1ULL << (f % 64))) ||
					    !det_field_static(f, (uint16_t)t, k))
						continue;
					m[f / 64] &= ~(1ULL << (f % 64));
					v = det_rec_get(rec, f);
					if (v->present && v->n >= 2)
						bag_add(&b, v->s, v->n, 1ULL << f);
				}
				bag_flush(&b);
				for (unsigned w = 0; w < l->nwords; w++)
					any |= may[w] != 0;
				if (b.failed) {
					ret = -1;
				} else if (any) {
					l->fixed[src][t][k] = malloc(l->nwords * sizeof(*may));
					if (!l->fixed[src][t][k])
						ret = -1;
					else
						memcpy(l->fixed[src][t][k], may,
						       l->nwords * sizeof(*may));
				}
			}
	free(rec);
	free(may);
	return ret;
}

bool det_lits_scan(const struct det_lits *l, struct det_rec *const *recs, unsigned nrecs,
		   uint64_t *may, unsigned nwords)
{
	struct bag b;
	bool args_in_cmdline = false;
	unsigned t;

	if (!l || !nrecs || nwords < l->nwords)
		return false;
	/* one event's records: its type's database */
	t = recs[0]->ev->type;
	if (t >= HN_EV_TYPE_MAX || l->db_of_type[t] < 0)
		return false;
	b.d = &l->dbs[(int)l->db_of_type[t]];
	memcpy(may, l->always, l->nwords * sizeof(*may));
	if (!b.d->db)
		return true;   /* no rule of these sources has literals: the others */
	if (!(b.s = scratch_for(l)))
		return false;
	b.l = l;
	b.may = may;
	b.nseg = 0;
	b.failed = false;
	/* an argument (auditd's a0..a9) is part of the command line: when
	 * that is searched, the arguments need not be (a hit in the command
	 * line counts for them) */
	for (unsigned k = 0; k < nrecs && !args_in_cmdline; k++) {
		struct det_rec *r = recs[k];
		const struct hn_sm_str *cl;
		if (r->src != HN_DS_PROCESS_CREATION || r->ev->type >= HN_EV_TYPE_MAX ||
		    !(l->shape[r->src][r->ev->type][0][DF_COMMANDLINE / 64] &
		      (1ULL << (DF_COMMANDLINE % 64))))
			continue;
		/* and only when it holds them all (not cut short) */
		cl = det_rec_get(r, DF_COMMANDLINE);
		args_in_cmdline = cl->present && cl->n + 1 >= r->ev->args_len;
	}
	for (unsigned k = 0; k < nrecs; k++) {
		struct det_rec *r = recs[k];
		unsigned t = r->ev->type;
		if (t >= HN_EV_TYPE_MAX || (unsigned)r->audit_kind >= DET_AUDIT_COUNT)
			return false;
		const uint64_t *m = l->shape[r->src][t][r->audit_kind];
		const uint64_t *fx = l->fixed[r->src][t][r->audit_kind];
		if (fx)
			for (unsigned w = 0; w < l->nwords; w++)
				may[w] |= fx[w];
		for (unsigned w = 0; w < (DF_COUNT + 63) / 64; w++)
			for (uint64_t bits = m[w]; bits; bits &= bits - 1) {
				int f = (int)(w * 64 + (unsigned)__builtin_ctzll(bits));
				uint64_t fb = 1ULL << f;
				if (args_in_cmdline && f >= DF_A_A0 && f <= DF_A_A9)
					continue;
				if (args_in_cmdline && f == DF_COMMANDLINE)
					fb |= ((1ULL << (DF_A_A9 + 1)) - 1) & ~((1ULL << DF_A_A0) - 1);
				const struct hn_sm_str *v = det_rec_get(r, f);
				if (v && v->present && v->n >= 2 && v->n <= 0xffffffffu)
					bag_add(&b, v->s, v->n, fb);
			}
	}
	bag_flush(&b);
	return !b.failed;
}

bool det_lits_has(const struct det_lits *l, unsigned i)
{
	return l && i < l->nwords * 64 && !(l->always[i / 64] & (1ULL << (i % 64)));
}

void det_lits_counts(const struct det_lits *l, enum hn_det_source s, unsigned *with,
		     unsigned *without)
{
	*with = l ? l->with[s] : 0;
	*without = l ? l->without[s] : 0;
}

#else /* no Hyperscan: no literal prefilter */

struct det_lits {
	int unused;
};

struct det_lits *det_lits_build(const struct hn_ruleset *rs)
{
	(void)rs;
	(void)node_lits;
	(void)rule_fields;
	return NULL;
}

void det_lits_free(struct det_lits *l)
{
	free(l);
}

bool det_lits_scan(const struct det_lits *l, struct det_rec *const *recs, unsigned nrecs,
		   uint64_t *may, unsigned nwords)
{
	(void)l;
	(void)recs;
	(void)nrecs;
	(void)may;
	(void)nwords;
	return false;
}

bool det_lits_has(const struct det_lits *l, unsigned i)
{
	(void)l;
	(void)i;
	return false;
}

void det_lits_counts(const struct det_lits *l, enum hn_det_source s, unsigned *with,
		     unsigned *without)
{
	(void)l;
	(void)s;
	*with = 0;
	*without = 0;
}
#endif
