/*
 * match.c - Sigma values compiled for matching (see match.h for the
 * semantics and the contract).
 *
 * A value goes through a fixed pipeline when it is added, whatever order
 * the rule wrote its modifiers in (the only order in which they mean
 * something):
 *
 *   text --escapes--> tokens --windash--> 1..5^k token strings
 *        --wide/utf16*--> bytes --base64|base64offset--> 1 or 3 strings
 *        --contains/startswith/endswith--> `*` added --> patterns
 *
 * A token is a literal byte (0..255), T_STAR or T_QMARK.  Each resulting
 * pattern is one struct hn_sm_pat, one allocation, of a kind chosen for
 * speed: the empty pattern, `*` alone, a literal matched whole / as a
 * prefix / as a suffix / anywhere, a general `*`/`?` pattern, a regular
 * expression, a network, a number, a presence test.
 *
 * Invariants:
 *  - Literal bytes of a pattern that is not cased are stored lowercased
 *    (ASCII), and matching lowercases the field's bytes as it reads them:
 *    both sides are folded the same way, nothing else is.
 *  - A general pattern is stored as its segments (maximal runs without
 *    `*`) plus whether it starts / ends with `*`; segments are never empty
 *    (runs of `*` are one).  Matching places the first and last segments
 *    at the ends when they are anchored, then finds every middle segment
 *    leftmost after the previous one.  Leftmost is always right for `*`
 *    patterns, so nothing is ever retried: each segment is searched once,
 *    which bounds the work by the field length times the segment length
 *    (no backtracking across stars).
 *  - A search looks for the segment's rarest byte (a fixed guess of byte
 *    frequencies in command lines and paths) with memchr, and compares
 *    the segment around each hit.
 *  - An absent field is matched only by the empty pattern (null, "") and
 *    by exists: false.  Every other kind needs the field to be present.
 *  - Matching reads the list and the field and writes nothing but the
 *    thread's own PCRE2 match data, made on its first regular expression
 *    and freed when the thread exits (a pthread key destructor).
 *  - Everything a value can make is bounded: VALUE_MAX bytes of value,
 *    WINDASH_MAX expanded characters (5^4 = 625 variants), NUM_MAX bytes
 *    of a number, the PCRE2 match limit RE_MATCH_LIMIT.
 *
 * Trust: values come from rule files, field values from the events of the
 * host; neither is trusted.  Both may hold any byte, NUL included.
 */
#include "detect/match.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define VALUE_MAX 65536         /* bytes of one value as written */
#define WINDASH_MAX 4           /* windash characters expanded in a value */
#define NUM_MAX 64              /* bytes of a number we parse */
#define ADDR_MAX 64             /* bytes of an address (with /prefix) */
#define RE_MATCH_LIMIT 1000000  /* PCRE2 match limit (default 10,000,000) */
#define QUOTE_MAX 40            /* bytes of a value shown in a message */

#define T_STAR (-1)
#define T_QMARK (-2)

#define POS_MODS (HN_SM_CONTAINS | HN_SM_STARTSWITH | HN_SM_ENDSWITH)
#define B64_MODS (HN_SM_BASE64 | HN_SM_BASE64OFFSET)
#define ENC_MODS (HN_SM_WIDE | HN_SM_UTF16BE | HN_SM_UTF16)
#define CMP_MODS (HN_SM_GT | HN_SM_GTE | HN_SM_LT | HN_SM_LTE)
#define RE_SUBS (HN_SM_RE_I | HN_SM_RE_M | HN_SM_RE_S)

enum pat_kind {
	PK_EMPTY,       /* absent or empty */
	PK_ANY,         /* `*`: present */
	PK_EXACT,
	PK_PREFIX,
	PK_SUFFIX,
	PK_CONTAINS,
	PK_GLOB,
	PK_RE,
	PK_CIDR,
	PK_NUM,
	PK_EXISTS,
};

/* A run of pattern bytes without `*`. */
struct seg {
	const uint8_t *b;       /* the bytes, lowercased unless cased */
	const uint8_t *q;       /* NULL, or q[i] != 0 where b[i] is `?` */
	size_t n;
	size_t k;               /* the byte a search looks for; n: all `?` */
};

struct num {
	bool is_int;            /* i is exact; else d */
	int64_t i;
	double d;
};

struct hn_sm_pat {
	enum pat_kind kind;
	bool cased;
	union {
		struct seg lit;                 /* EXACT .. CONTAINS */
		struct {
			struct seg *segs;
			unsigned nseg;
			bool lead, trail;       /* starts / ends with `*` */
		} glob;
		struct {
			pcre2_code *code;
			bool jit;
			/* what PCRE2 knows every match needs, checked
			 * before the call (re_cannot): a subject length,
			 * a first byte when anchored, a byte somewhere;
			 * -1 none; either case of a letter */
			uint32_t minlen;
			int first, req;
		} re;
		struct {
			int af;
			unsigned bits;
			uint8_t net[16];
		} cidr;
		struct {
			unsigned op;            /* HN_SM_GT .. HN_SM_LTE */
			struct num v;
		} num;
		bool exists;
	} u;
};

/* ---- messages ---- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* s[0..n) for a message, in out (at least QUOTE_MAX + 4 bytes): bytes that
 * are not printable ASCII as '?', cut with "..." past QUOTE_MAX. */
#define QUOTE_BUF (QUOTE_MAX + 4)
static const char *quote(char *out, const char *s, size_t n)
{
	size_t i, m = n > QUOTE_MAX ? QUOTE_MAX : n;

	for (i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (m < n) {
		memcpy(out + m, "...", 3);
		m += 3;
	}
	out[m] = '\0';
	return out;
}

/* ---- modifiers ---- */

static const struct {
	const char *name;
	unsigned bit;
} mod_names[] = {
	{ "contains", HN_SM_CONTAINS },
	{ "startswith", HN_SM_STARTSWITH },
	{ "endswith", HN_SM_ENDSWITH },
	{ "all", HN_SM_ALL },
	{ "cased", HN_SM_CASED },
	{ "re", HN_SM_RE },
	{ "i", HN_SM_RE_I },
	{ "m", HN_SM_RE_M },
	{ "s", HN_SM_RE_S },
	{ "cidr", HN_SM_CIDR },
	{ "base64", HN_SM_BASE64 },
	{ "base64offset", HN_SM_BASE64OFFSET },
	{ "wide", HN_SM_WIDE },
	{ "utf16be", HN_SM_UTF16BE },
	{ "utf16", HN_SM_UTF16 },
	{ "windash", HN_SM_WINDASH },
	{ "exists", HN_SM_EXISTS },
	{ "gt", HN_SM_GT },
	{ "gte", HN_SM_GTE },
	{ "lt", HN_SM_LT },
	{ "lte", HN_SM_LTE },
	{ "fieldref", HN_SM_FIELDREF },
	/* other spellings Sigma (pySigma) accepts */
	{ "utf16le", HN_SM_WIDE },
	{ "ignorecase", HN_SM_RE_I },
	{ "multiline", HN_SM_RE_M },
	{ "dotall", HN_SM_RE_S },
};

/* Valid Sigma (pySigma's modifier table), not implemented here. */
static const char *const mod_unsupported[] = {
	"expand", "neq",
	"minute", "hour", "day", "week", "month", "year",
};

/* The first name above for a bit (for messages that have no written one). */
static const char *mod_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(mod_names) / sizeof(mod_names[0]); i++)
		if (mod_names[i].bit == bit)
			return mod_names[i].name;
	return "?";
}

static unsigned popcount(unsigned m)
{
	return (unsigned)__builtin_popcount(m);
}

/* The written name of the first modifier (in the order written) whose bit
 * is in mask, after position `after` (-1: from the start). */
static const char *first_in(const char *const *names, const unsigned *bits,
			    unsigned n, unsigned mask, int after)
{
	for (unsigned i = (unsigned)(after + 1); i < n; i++)
		if (bits[i] & mask)
			return names[i];
	return "?";
}

static int first_at(const unsigned *bits, unsigned n, unsigned mask)
{
	for (unsigned i = 0; i < n; i++)
		if (bits[i] & mask)
			return (int)i;
	return -1;
}

/* Two of mask given: "'a' and 'b' cannot be combined". */
static int two_of(const char *const *names, const unsigned *bits, unsigned n,
		  unsigned mask, char *err, size_t errlen)
{
	int a = first_at(bits, n, mask);
	char qa[QUOTE_BUF], qb[QUOTE_BUF];
	const char *b = first_in(names, bits, n, mask, a);

	seterr(err, errlen, "'%s' and '%s' cannot be combined",
	       quote(qa, names[a], strlen(names[a])),
	       quote(qb, b, strlen(b)));
	return -EINVAL;
}

/* kind (one bit) given with something outside allowed. */
static int not_with(const char *const *names, const unsigned *bits,
		    unsigned n, unsigned kind, unsigned m, unsigned allowed,
		    char *err, size_t errlen)
{
	const char *k = first_in(names, bits, n, kind, -1);
	const char *o = first_in(names, bits, n, m & ~allowed, -1);
	char qk[QUOTE_BUF], qo[QUOTE_BUF];

	seterr(err, errlen, "'%s' cannot be combined with '%s'",
	       quote(qk, k, strlen(k)), quote(qo, o, strlen(o)));
	return -EINVAL;
}

/* The combinations that mean nothing, first problem wins. */
static int mods_check(const char *const *names, const unsigned *bits,
		      unsigned n, unsigned m, char *err, size_t errlen)
{
	char q[QUOTE_BUF];
	const char *nm;

	if ((m & HN_SM_FIELDREF) && (m & ~(HN_SM_FIELDREF | POS_MODS | HN_SM_CASED | HN_SM_ALL)))
		return not_with(names, bits, n, HN_SM_FIELDREF, m,
				HN_SM_FIELDREF | POS_MODS | HN_SM_CASED | HN_SM_ALL, err, errlen);
	if ((m & HN_SM_EXISTS) && (m & ~HN_SM_EXISTS))
		return not_with(names, bits, n, HN_SM_EXISTS, m, HN_SM_EXISTS,
				err, errlen);
	if (popcount(m & CMP_MODS) > 1)
		return two_of(names, bits, n, CMP_MODS, err, errlen);
	if ((m & CMP_MODS) && (m & ~(CMP_MODS | HN_SM_ALL)))
		return not_with(names, bits, n, m & CMP_MODS, m,
				CMP_MODS | HN_SM_ALL, err, errlen);
	if ((m & HN_SM_CIDR) && (m & ~(HN_SM_CIDR | HN_SM_ALL)))
		return not_with(names, bits, n, HN_SM_CIDR, m,
				HN_SM_CIDR | HN_SM_ALL, err, errlen);
	if ((m & HN_SM_RE) && (m & ~(HN_SM_RE | RE_SUBS | HN_SM_ALL)))
		return not_with(names, bits, n, HN_SM_RE, m,
				HN_SM_RE | RE_SUBS | HN_SM_ALL, err, errlen);
	if ((m & RE_SUBS) && !(m & HN_SM_RE)) {
		nm = first_in(names, bits, n, RE_SUBS, -1);
		seterr(err, errlen, "modifier '%s' needs re",
		       quote(q, nm, strlen(nm)));
		return -EINVAL;
	}
	if (popcount(m & POS_MODS) > 1)
		return two_of(names, bits, n, POS_MODS, err, errlen);
	if (popcount(m & B64_MODS) > 1)
		return two_of(names, bits, n, B64_MODS, err, errlen);
	if (popcount(m & ENC_MODS) > 1)
		return two_of(names, bits, n, ENC_MODS, err, errlen);
	if ((m & ENC_MODS) && !(m & B64_MODS)) {
		nm = first_in(names, bits, n, ENC_MODS, -1);
		seterr(err, errlen, "modifier '%s' needs base64 or base64offset",
		       quote(q, nm, strlen(nm)));
		return -EINVAL;
	}
	return 0;
}

int hn_sm_mods_parse(const char *const *names, unsigned n, unsigned *mods,
		     char *err, size_t errlen)
{
	unsigned bits[32], m = 0;
	char q[QUOTE_BUF];
	int r;

	if (!mods || (n && !names)) {
		seterr(err, errlen, "no modifier list");
		return -EINVAL;
	}
	if (n > 32) {
		seterr(err, errlen, "too many modifiers (%u)", n);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *nm = names[i];
		unsigned bit = 0;
		size_t j;

		if (!nm || !*nm) {
			seterr(err, errlen, "empty modifier");
			return -EINVAL;
		}
		for (j = 0; j < sizeof(mod_names) / sizeof(mod_names[0]); j++)
			if (!strcmp(nm, mod_names[j].name)) {
				bit = mod_names[j].bit;
				break;
			}
		if (!bit) {
			for (j = 0; j < sizeof(mod_unsupported) /
			     sizeof(mod_unsupported[0]); j++)
				if (!strcmp(nm, mod_unsupported[j])) {
					seterr(err, errlen, "modifier '%s' is "
					       "not supported", nm);
					return -ENOTSUP;
				}
			seterr(err, errlen, "unknown modifier '%s'",
			       quote(q, nm, strlen(nm)));
			return -EINVAL;
		}
		if (m & bit) {
			seterr(err, errlen, "modifier '%s' given twice", nm);
			return -EINVAL;
		}
		m |= bit;
		bits[i] = bit;
	}
	r = mods_check(names, bits, n, m, err, errlen);
	if (r < 0)
		return r;
	*mods = m;
	return 0;
}

/* ---- lists ---- */

void hn_sm_list_init(struct hn_sm_list *l, unsigned mods)
{
	memset(l, 0, sizeof(*l));
	l->mods = mods;
}

static void pat_free(struct hn_sm_pat *p)
{
	if (!p)
		return;
	if (p->kind == PK_RE)
		pcre2_code_free(p->u.re.code);
	free(p);
}

static void fast_free(struct hn_sm_list *l);

void hn_sm_list_release(struct hn_sm_list *l)
{
	if (!l)
		return;
	fast_free(l);
	for (unsigned i = 0; i < l->npats; i++)
		pat_free(l->pats[i]);
	free(l->pats);
	free(l->groups);
	hn_sm_list_init(l, l->mods);
}

/* The alternatives of the value being added, owned until they go into the
 * list all at once. */
struct build {
	struct hn_sm_pat **v;
	unsigned n, cap;
};

/* Take p (NULL: -ENOMEM, an allocation that failed). */
static int build_push(struct build *b, struct hn_sm_pat *p)
{
	if (!p)
		return -ENOMEM;
	if (b->n == b->cap) {
		unsigned cap = b->cap ? 2 * b->cap : 4;
		struct hn_sm_pat **v = NULL;

		if (b->cap < UINT_MAX / 2)
			v = realloc(b->v, cap * sizeof(*v));
		if (!v) {
			pat_free(p);
			return -ENOMEM;
		}
		b->v = v;
		b->cap = cap;
	}
	b->v[b->n++] = p;
	return 0;
}

static void build_release(struct build *b)
{
	for (unsigned i = 0; i < b->n; i++)
		pat_free(b->v[i]);
	free(b->v);
}

/* Move b's alternatives into l as one group: all or nothing. */
static int list_append(struct hn_sm_list *l, struct build *b)
{
	if (b->n > UINT_MAX / 2 - l->npats || l->ngroups >= UINT_MAX / 2)
		return -ENOMEM;
	if (l->ngroups == l->cap_groups) {
		unsigned cap = l->cap_groups ? 2 * l->cap_groups : 4;
		struct hn_sm_group *g = realloc(l->groups, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		l->groups = g;
		l->cap_groups = cap;
	}
	if (l->npats + b->n > l->cap_pats) {
		unsigned cap = l->cap_pats ? 2 * l->cap_pats : 8;
		struct hn_sm_pat **p;

		if (cap < l->npats + b->n)
			cap = l->npats + b->n;
		p = realloc(l->pats, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->pats = p;
		l->cap_pats = cap;
	}
	memcpy(l->pats + l->npats, b->v, b->n * sizeof(*b->v));
	l->groups[l->ngroups].start = l->npats;
	l->groups[l->ngroups].end = l->npats + b->n;
	l->ngroups++;
	l->npats += b->n;
	b->n = 0;
	return 0;
}

/* ---- strings: compiling ---- */

static inline uint8_t fold(uint8_t c)
{
	return (unsigned)(c - 'A') < 26u ? (uint8_t)(c + 32) : c;
}

static inline bool is_lower(uint8_t c)
{
	return (unsigned)(c - 'a') < 26u;
}

/* How common a byte is in command lines and paths (higher: more); a
 * search looks for the least common byte of a segment. */
static unsigned byte_rank(uint8_t c)
{
	static const char freq[] = "etaoinsrhldcumfpgwybvkxjqz";

	if (is_lower(c))
		return 80 - 2 * (unsigned)(strchr(freq, c) - freq);
	if ((unsigned)(c - 'A') < 26u)
		return 40;
	if ((unsigned)(c - '0') < 10u)
		return 60;
	switch (c) {
	case ' ': case '/': case '\\': case '-': case '.': case '_':
	case '=': case ':': case ',': case '"': case '\0':
		return 90;
	}
	if (c < 0x20 || c >= 0x7f)
		return 10;
	return 20;
}

/* s[0..n) with Sigma's escapes as tokens into t (room for n); returns the
 * count.  `\` escapes `*`, `?` and `\`; before anything else (or at the
 * end) it is itself. */
static size_t tokenize(const char *s, size_t n, int16_t *t)
{
	size_t i = 0, k = 0;

	while (i < n) {
		uint8_t c = (uint8_t)s[i];

		if (c == '\\' && i + 1 < n &&
		    (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			t[k++] = (uint8_t)s[i + 1];
			i += 2;
			continue;
		}
		t[k++] = c == '*' ? T_STAR : c == '?' ? T_QMARK : c;
		i++;
	}
	return k;
}

/* The pattern of tokens t[0..n), with a `*` added in front (lead) and at
 * the end (trail); NULL when out of memory. */
static struct hn_sm_pat *pat_from_tokens(const int16_t *t, size_t n,
					 bool lead, bool trail, bool cased)
{
	size_t nseg = 0, nbytes = 0, nq = 0, i, j, size;
	struct hn_sm_pat *p;
	struct seg *segs = NULL;
	uint8_t *w, *wq;
	enum pat_kind kind;

	if (n && t[0] == T_STAR)
		lead = true;
	if (n && t[n - 1] == T_STAR)
		trail = true;
	for (i = 0; i < n; i = j) {
		bool q = false;

		if (t[i] == T_STAR) {
			j = i + 1;
			continue;
		}
		for (j = i; j < n && t[j] != T_STAR; j++)
			q |= t[j] == T_QMARK;
		nseg++;
		nbytes += j - i;
		if (q)
			nq += j - i;
	}
	if (!nseg)
		kind = lead || trail ? PK_ANY : PK_EMPTY;
	else if (nseg == 1 && !nq)
		kind = lead ? (trail ? PK_CONTAINS : PK_SUFFIX) :
			(trail ? PK_PREFIX : PK_EXACT);
	else
		kind = PK_GLOB;
	if (nseg > UINT_MAX)
		return NULL;
	size = sizeof(*p) + nbytes + nq;
	if (kind == PK_GLOB)
		size += nseg * sizeof(struct seg);
	p = calloc(1, size);
	if (!p)
		return NULL;
	p->kind = kind;
	p->cased = cased;
	w = (uint8_t *)(p + 1);
	if (kind == PK_GLOB) {
		segs = (struct seg *)w;
		w += nseg * sizeof(struct seg);
		p->u.glob.segs = segs;
		p->u.glob.nseg = (unsigned)nseg;
		p->u.glob.lead = lead;
		p->u.glob.trail = trail;
	}
	wq = w + nbytes;
	nseg = 0;
	for (i = 0; i < n; i = j) {
		struct seg *g = kind == PK_GLOB ? &segs[nseg] : &p->u.lit;
		bool q = false;
		unsigned best = ~0u;

		if (t[i] == T_STAR) {
			j = i + 1;
			continue;
		}
		for (j = i; j < n && t[j] != T_STAR; j++)
			q |= t[j] == T_QMARK;
		g->b = w;
		g->n = j - i;
		g->q = q ? wq : NULL;
		g->k = g->n;
		for (size_t x = 0; x < g->n; x++) {
			int16_t c = t[i + x];
			unsigned r;

			if (c == T_QMARK) {
				wq[x] = 1;
				continue;
			}
			w[x] = cased ? (uint8_t)c : fold((uint8_t)c);
			r = byte_rank(w[x]);
			if (r < best) {
				best = r;
				g->k = x;
			}
		}
		w += g->n;
		if (q)
			wq += g->n;
		nseg++;
	}
	return p;
}

/* The pattern of the literal bytes b[0..n). */
static struct hn_sm_pat *pat_from_bytes(const uint8_t *b, size_t n,
					bool lead, bool trail, bool cased)
{
	int16_t *t = malloc((n ? n : 1) * sizeof(*t));
	struct hn_sm_pat *p;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++)
		t[i] = b[i];
	p = pat_from_tokens(t, n, lead, trail, cased);
	free(t);
	return p;
}

/* ---- strings: matching ---- */

/* Does g match at s (which has g->n bytes)? */
static inline bool seg_eq(const struct seg *g, bool cased, const uint8_t *s)
{
	size_t i;

	if (!g->q) {
		if (cased)
			return !memcmp(s, g->b, g->n);
		for (i = 0; i < g->n; i++)
			if (fold(s[i]) != g->b[i])
				return false;
		return true;
	}
	for (i = 0; i < g->n; i++) {
		if (g->q[i])
			continue;
		if ((cased ? s[i] : fold(s[i])) != g->b[i])
			return false;
	}
	return true;
}

/* The leftmost place in [p, end) where g matches, or NULL.  Looks for the
 * anchor byte g->b[g->k] with memchr (both cases of a letter when not
 * cased, each memchr resumed only once passed, so the scan stays linear)
 * and compares the segment around each hit. */
static const uint8_t *seg_find(const struct seg *g, bool cased,
			       const uint8_t *p, const uint8_t *end)
{
	const uint8_t *s, *e, *hl, *hu, *h;
	uint8_t a, au;

	if ((size_t)(end - p) < g->n)
		return NULL;
	if (g->k == g->n)
		return p;
	a = g->b[g->k];
	s = p + g->k;                   /* anchors of starts p .. end - n */
	e = end - g->n + g->k + 1;
	if (cased || !is_lower(a)) {
		while (s < e) {
			h = memchr(s, a, (size_t)(e - s));
			if (!h)
				return NULL;
			if (seg_eq(g, cased, h - g->k))
				return h - g->k;
			s = h + 1;
		}
		return NULL;
	}
	au = (uint8_t)(a - 32);
	hl = memchr(s, a, (size_t)(e - s));
	hu = memchr(s, au, (size_t)(e - s));
	while (hl || hu) {
		h = !hu || (hl && hl < hu) ? hl : hu;
		if (seg_eq(g, false, h - g->k))
			return h - g->k;
		s = h + 1;
		if (h == hl)
			hl = s < e ? memchr(s, a, (size_t)(e - s)) : NULL;
		else
			hu = s < e ? memchr(s, au, (size_t)(e - s)) : NULL;
	}
	return NULL;
}

/* A general pattern: anchored ends first, then each middle segment
 * leftmost after the one before (see the top of the file). */
static bool glob_match(const struct hn_sm_pat *p, const uint8_t *s, size_t n)
{
	const struct seg *g = p->u.glob.segs;
	unsigned i = 0, last = p->u.glob.nseg;
	const uint8_t *b = s, *e = s + n;
	bool cased = p->cased;

	if (!p->u.glob.lead) {
		if (n < g[0].n || !seg_eq(&g[0], cased, b))
			return false;
		b += g[0].n;
		i = 1;
		if (last == 1 && !p->u.glob.trail)
			return b == e;
	}
	if (!p->u.glob.trail) {
		const struct seg *t = &g[last - 1];

		if ((size_t)(e - b) < t->n || !seg_eq(t, cased, e - t->n))
			return false;
		e -= t->n;
		last--;
	}
	for (; i < last; i++) {
		const uint8_t *at = seg_find(&g[i], cased, b, e);

		if (!at)
			return false;
		b = at + g[i].n;
	}
	return true;
}

/* ---- base64, UTF-16, windash ---- */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* s[0..n) in base64 with padding into out (b64_len(n) bytes). */
static void b64_encode(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 |
			     s[i + 2];

		*out++ = (uint8_t)b64_alphabet[v >> 18];
		*out++ = (uint8_t)b64_alphabet[v >> 12 & 63];
		*out++ = (uint8_t)b64_alphabet[v >> 6 & 63];
		*out++ = (uint8_t)b64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)s[i] << 16;

		*out++ = (uint8_t)b64_alphabet[v >> 18];
		*out++ = (uint8_t)b64_alphabet[v >> 12 & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;

		*out++ = (uint8_t)b64_alphabet[v >> 18];
		*out++ = (uint8_t)b64_alphabet[v >> 12 & 63];
		*out++ = (uint8_t)b64_alphabet[v >> 6 & 63];
		*out++ = '=';
	}
}

/* The code point of the well-formed UTF-8 sequence at s[0..n) and its
 * length in *len, or -1 (overlongs, surrogates, > U+10FFFF, truncated). */
static long utf8_next(const uint8_t *s, size_t n, size_t *len)
{
	uint8_t c = s[0];
	long cp;
	size_t l, i;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		l = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		l = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		l = 4;
		cp = c & 0x07;
	} else {
		return -1;
	}
	if (n < l)
		return -1;
	for (i = 1; i < l; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((l == 3 && cp < 0x800) || (l == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = l;
	return cp;
}

static uint8_t *put_u16(uint8_t *w, unsigned u, bool be)
{
	*w++ = (uint8_t)(be ? u >> 8 : u);
	*w++ = (uint8_t)(be ? u : u >> 8);
	return w;
}

/* The UTF-8 text s[0..n) as UTF-16 into out (room for 2 + 2n bytes):
 * big-endian if be, with the BOM FF FE first if bom.  Its length, or -1
 * when s is not UTF-8. */
static long utf16_encode(const uint8_t *s, size_t n, bool be, bool bom,
			 uint8_t *out)
{
	uint8_t *w = out;
	size_t i = 0, l;

	if (bom)
		w = put_u16(w, 0xfeff, be);
	while (i < n) {
		long cp = utf8_next(s + i, n - i, &l);

		if (cp < 0)
			return -1;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			w = put_u16(w, 0xd800 | (unsigned)(cp >> 10), be);
			w = put_u16(w, 0xdc00 | (unsigned)(cp & 0x3ff), be);
		} else {
			w = put_u16(w, (unsigned)cp, be);
		}
		i += l;
	}
	return w - out;
}

/* What a windash character may be: -, /, U+2013, U+2014, U+2015. */
static const char *const windash_alt[5] = {
	"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95",
};

/* A letter, digit or _ (bytes of non-ASCII characters count as letters). */
static bool is_word(int16_t t)
{
	return t >= 0 && (t >= 0x80 || t == '_' ||
			  (unsigned)(t - '0') < 10u ||
			  (unsigned)((t | 0x20) - 'a') < 26u);
}

/* Is t[i] a windash character: `-` or `/` at the start of a word (after
 * the start, a wildcard or a character that is not a word character, and
 * before a word character), as pySigma's \B[-/]\b. */
static bool windash_at(const int16_t *t, size_t n, size_t i)
{
	return (t[i] == '-' || t[i] == '/') && (i == 0 || !is_word(t[i - 1])) &&
	       i + 1 < n && is_word(t[i + 1]);
}

/* ---- adding values ---- */

/* One string after windash: encode (base64, base64offset) and wrap. */
static int add_variant(struct build *b, unsigned m, const int16_t *t,
		       size_t n, const char *val, size_t vn, char *err,
		       size_t errlen)
{
	/* base64offset: characters to drop at the start, by offset, and at
	 * the end, by (offset + length) % 3 */
	static const unsigned drop_start[3] = { 0, 2, 3 };
	static const unsigned drop_end[3] = { 0, 3, 2 };
	bool cased = m & HN_SM_CASED;
	bool lead = m & (HN_SM_ENDSWITH | HN_SM_CONTAINS);
	bool trail = m & (HN_SM_STARTSWITH | HN_SM_CONTAINS);
	uint8_t *raw = NULL, *enc = NULL, *data, *out = NULL;
	char q[QUOTE_BUF];
	size_t dn, i;
	int r = -ENOMEM;

	if (!(m & B64_MODS))
		return build_push(b, pat_from_tokens(t, n, lead, trail, cased));
	if ((m & HN_SM_BASE64OFFSET) && !(m & POS_MODS))
		lead = trail = true;
	/* 2 in front: the zero bytes of base64offset's offsets */
	raw = malloc(n + 2);
	if (!raw)
		goto out;
	raw[0] = raw[1] = 0;
	for (i = 0; i < n; i++)
		raw[2 + i] = (uint8_t)t[i];
	data = raw + 2;
	dn = n;
	if (m & ENC_MODS) {
		long l;

		enc = malloc(2 + 2 * n + 2);
		if (!enc)
			goto out;
		enc[0] = enc[1] = 0;
		l = utf16_encode(raw + 2, n, m & HN_SM_UTF16BE,
				 m & HN_SM_UTF16, enc + 2);
		if (l < 0) {
			seterr(err, errlen, "value '%s' is not valid UTF-8 "
			       "(%s needs text)", quote(q, val, vn),
			       mod_name(m & ENC_MODS));
			r = -EINVAL;
			goto out;
		}
		data = enc + 2;
		dn = (size_t)l;
	}
	if (!dn) {
		seterr(err, errlen, "%s of an empty value",
		       mod_name(m & B64_MODS));
		r = -EINVAL;
		goto out;
	}
	out = malloc(b64_len(dn + 2));
	if (!out)
		goto out;
	if (m & HN_SM_BASE64) {
		b64_encode(data, dn, out);
		r = build_push(b, pat_from_bytes(out, b64_len(dn), lead, trail,
						 cased));
		goto out;
	}
	if (dn < 2) {
		seterr(err, errlen, "base64offset value '%s' is too short "
		       "(at least 2 bytes)", quote(q, val, vn));
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < 3; i++) {
		size_t len = b64_len(dn + i);

		/* data - i: the value after i zero bytes (data has two
		 * writable bytes in front) */
		b64_encode(data - i, dn + i, out);
		len -= drop_end[(dn + i) % 3];
		r = build_push(b, pat_from_bytes(out + drop_start[i],
						 len - drop_start[i], lead,
						 trail, cased));
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	free(out);
	free(enc);
	free(raw);
	return r;
}

/* A string (or a number or boolean as its text). */
static int add_string(struct build *b, unsigned m, const char *s, size_t n,
		      char *err, size_t errlen)
{
	size_t pos[WINDASH_MAX], nt, i, k = 0, nv;
	int16_t *t, *v = NULL;
	unsigned nvar = 1, var;
	char q[QUOTE_BUF];
	int r = -ENOMEM;

	t = malloc((n ? n : 1) * sizeof(*t));
	if (!t)
		return -ENOMEM;
	nt = tokenize(s, n, t);
	if (m & B64_MODS) {
		for (i = 0; i < nt; i++)
			if (t[i] < 0) {
				seterr(err, errlen, "%s value '%s' has a "
				       "wildcard (escape it with \\)",
				       mod_name(m & B64_MODS), quote(q, s, n));
				r = -EINVAL;
				goto out;
			}
	}
	if (m & HN_SM_WINDASH) {
		for (i = 0; i < nt; i++) {
			if (!windash_at(t, nt, i))
				continue;
			if (k == WINDASH_MAX) {
				seterr(err, errlen, "windash value '%s' has "
				       "more than %d dashes to expand",
				       quote(q, s, n), WINDASH_MAX);
				r = -EINVAL;
				goto out;
			}
			pos[k++] = i;
			nvar *= 5;
		}
	}
	/* a windash character becomes at most 3 bytes */
	v = malloc((nt + 2 * k + 1) * sizeof(*v));
	if (!v)
		goto out;
	for (var = 0; var < nvar; var++) {
		unsigned sel = var;
		size_t j = 0;

		nv = 0;
		for (i = 0; i < nt; i++) {
			const char *alt;

			if (j < k && pos[j] == i) {
				j++;
				alt = windash_alt[sel % 5];
				sel /= 5;
				while (*alt)
					v[nv++] = (uint8_t)*alt++;
				continue;
			}
			v[nv++] = t[i];
		}
		r = add_variant(b, m, v, nv, s, n, err, errlen);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	free(v);
	free(t);
	return r;
}

/* s[0..n) as a number: [+-] then digits with an optional fraction (or a
 * fraction alone), then an optional exponent.  Exact when it is an integer
 * that fits an int64.  At most NUM_MAX bytes; no spaces, hex, inf or
 * nan. */
static bool num_parse(const char *s, size_t n, struct num *out)
{
	size_t i = 0, d0, nd, e0;
	bool neg = false, plain = true;
	char buf[NUM_MAX + 1], *end;

	if (!n || n > NUM_MAX)
		return false;
	if (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-';
		i++;
	}
	d0 = i;
	while (i < n && (unsigned)(s[i] - '0') < 10u)
		i++;
	nd = i - d0;
	if (i < n && s[i] == '.') {
		size_t f0 = ++i;

		plain = false;
		while (i < n && (unsigned)(s[i] - '0') < 10u)
			i++;
		nd += i - f0;
	}
	if (!nd)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		plain = false;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		e0 = i;
		while (i < n && (unsigned)(s[i] - '0') < 10u)
			i++;
		if (i == e0)
			return false;
	}
	if (i != n)
		return false;
	if (plain) {
		uint64_t u = 0;
		bool ok = true;

		for (i = d0; i < n && ok; i++) {
			unsigned dg = (unsigned)(s[i] - '0');

			if (u > (UINT64_MAX - dg) / 10)
				ok = false;
			else
				u = u * 10 + dg;
		}
		if (ok && u <= (uint64_t)INT64_MAX) {
			out->is_int = true;
			out->i = neg ? -(int64_t)u : (int64_t)u;
			out->d = 0;
			return true;
		}
		if (ok && neg && u == (uint64_t)INT64_MAX + 1) {
			out->is_int = true;
			out->i = INT64_MIN;
			out->d = 0;
			return true;
		}
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	out->d = strtod(buf, &end);
	if (end != buf + n)
		return false;
	out->is_int = false;
	out->i = 0;
	return true;
}

static int num_cmp(const struct num *a, const struct num *b)
{
	double x, y;

	if (a->is_int && b->is_int)
		return (a->i > b->i) - (a->i < b->i);
	x = a->is_int ? (double)a->i : a->d;
	y = b->is_int ? (double)b->i : b->d;
	return (x > y) - (x < y);
}

static int add_number(struct build *b, unsigned m, const char *s, size_t n,
		      char *err, size_t errlen)
{
	struct hn_sm_pat *p;
	struct num v;
	char q[QUOTE_BUF];

	if (!num_parse(s, n, &v)) {
		seterr(err, errlen, "%s value '%s' is not a number",
		       mod_name(m & CMP_MODS), quote(q, s, n));
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = PK_NUM;
	p->u.num.op = m & CMP_MODS;
	p->u.num.v = v;
	return build_push(b, p);
}

/* Do the first `bits` bits of a and net agree? */
static bool prefix_eq(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned i = 0;

	for (; bits >= 8; bits -= 8, i++)
		if (a[i] != net[i])
			return false;
	if (bits)
		return (a[i] & (uint8_t)(0xff << (8 - bits))) == net[i];
	return true;
}

static int add_cidr(struct build *b, const char *s, size_t n, char *err,
		    size_t errlen)
{
	char buf[ADDR_MAX + 1], q[QUOTE_BUF], *slash;
	unsigned bits = 0, max, i;
	uint8_t a[16] = { 0 };
	struct hn_sm_pat *p;
	int af;

	if (!n || n > ADDR_MAX || memchr(s, '\0', n))
		goto bad;
	memcpy(buf, s, n);
	buf[n] = '\0';
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, a) == 1) {
		af = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, a) == 1) {
		af = AF_INET6;
		max = 128;
	} else {
		goto bad;
	}
	if (!slash) {
		bits = max;
	} else {
		size_t l = strlen(slash);

		if (!l || l > 3 || strspn(slash, "0123456789") != l ||
		    (bits = (unsigned)atoi(slash)) > max) {
			seterr(err, errlen, "cidr '%s' has a bad prefix length",
			       quote(q, s, n));
			return -EINVAL;
		}
	}
	for (i = 0; i < max / 8; i++) {
		unsigned keep = bits >= 8 * (i + 1) ? 8 :
				bits > 8 * i ? bits - 8 * i : 0;

		if (a[i] & (uint8_t)~(0xff << (8 - keep))) {
			seterr(err, errlen, "cidr '%s' has host bits set",
			       quote(q, s, n));
			return -EINVAL;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = PK_CIDR;
	p->u.cidr.af = af;
	p->u.cidr.bits = bits;
	memcpy(p->u.cidr.net, a, sizeof(a));
	return build_push(b, p);
bad:
	seterr(err, errlen, "cidr '%s' is not an address or network",
	       quote(q, s, n));
	return -EINVAL;
}

/* What p's compiled pattern says every match needs (p->u.re.minlen,
 * first, req), from pcre2_pattern_info: nothing when it cannot say. */
static void re_needs(struct hn_sm_pat *p)
{
	uint32_t v, opts = 0;

	p->u.re.minlen = 0;
	p->u.re.first = p->u.re.req = -1;
	if (pcre2_pattern_info(p->u.re.code, PCRE2_INFO_MINLENGTH, &v) == 0)
		p->u.re.minlen = v;
	/* a first byte only tells where the match starts: it says something
	 * of the subject only when that is its start (anchored) */
	if (pcre2_pattern_info(p->u.re.code, PCRE2_INFO_ALLOPTIONS, &opts) == 0 &&
	    (opts & PCRE2_ANCHORED) &&
	    pcre2_pattern_info(p->u.re.code, PCRE2_INFO_FIRSTCODETYPE, &v) == 0 && v == 1 &&
	    pcre2_pattern_info(p->u.re.code, PCRE2_INFO_FIRSTCODEUNIT, &v) == 0 && v < 256)
		p->u.re.first = (int)v;
	if (pcre2_pattern_info(p->u.re.code, PCRE2_INFO_LASTCODETYPE, &v) == 0 && v == 1 &&
	    pcre2_pattern_info(p->u.re.code, PCRE2_INFO_LASTCODEUNIT, &v) == 0 && v < 256)
		p->u.re.req = (int)v;
}

static int add_re(struct build *b, unsigned m, const char *s, size_t n,
		  char *err, size_t errlen)
{
	uint32_t opts = PCRE2_NEVER_UTF;
	PCRE2_UCHAR msg[160];
	struct hn_sm_pat *p;
	PCRE2_SIZE off;
	pcre2_code *code;
	char q[QUOTE_BUF];
	int ec;

	if (m & HN_SM_RE_I)
		opts |= PCRE2_CASELESS;
	if (m & HN_SM_RE_M)
		opts |= PCRE2_MULTILINE;
	if (m & HN_SM_RE_S)
		opts |= PCRE2_DOTALL;
	code = pcre2_compile((PCRE2_SPTR)(n ? s : ""), n, opts, &ec, &off,
			     NULL);
	if (!code) {
		if (ec == PCRE2_ERROR_HEAP_FAILED)
			return -ENOMEM;
		if (pcre2_get_error_message(ec, msg, sizeof(msg)) ==
		    PCRE2_ERROR_BADDATA)
			snprintf((char *)msg, sizeof(msg), "error %d", ec);
		seterr(err, errlen, "re '%s': %s at offset %zu",
		       quote(q, s, n), (const char *)msg, (size_t)off);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		pcre2_code_free(code);
		return -ENOMEM;
	}
	p->kind = PK_RE;
	p->u.re.code = code;
	/* no JIT (not built in, no executable memory): the interpreter */
	p->u.re.jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	re_needs(p);
	return build_push(b, p);
}

static bool text_is(const char *s, size_t n, const char *w)
{
	return n == strlen(w) && !strncasecmp(s, w, n);
}

static int add_exists(struct build *b, const char *s, size_t n, char *err,
		      size_t errlen)
{
	struct hn_sm_pat *p;
	char q[QUOTE_BUF];
	bool v;

	if (text_is(s, n, "true")) {
		v = true;
	} else if (text_is(s, n, "false")) {
		v = false;
	} else {
		seterr(err, errlen, "exists value must be true or false, "
		       "not '%s'", quote(q, s, n));
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->kind = PK_EXISTS;
	p->u.exists = v;
	return build_push(b, p);
}

/* ---- the fast set ---- */

/*
 * When every pattern of an "any" list is a case-insensitive exact literal
 * (FAST_EXACT), or every one a case-insensitive suffix "/name" with no
 * other slash (FAST_BASENAME: the field ends with "/name" exactly when its
 * last path component is "name"), the list is also a hash set of those
 * literals, and matching is one look-up.  A pattern that does not fit
 * turns the set off for good.  Built while compiling; read-only after.
 */
enum { FAST_NONE, FAST_EXACT, FAST_BASENAME };
#define FAST_KEY_MAX 255

struct fast_slot {
	uint64_t h;
	const uint8_t *b;       /* in the pattern (lowercased) */
	size_t n;
};

struct hn_sm_fast {
	int kind;
	unsigned n, cap;        /* cap a power of two, at least 2n */
	size_t maxlen;
	struct fast_slot *slot;
};

static uint64_t fast_hash(const uint8_t *b, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h | 1;
}

static void fast_free(struct hn_sm_list *l)
{
	if (l->fast) {
		free(l->fast->slot);
		free(l->fast);
	}
	l->fast = NULL;
}

static void fast_off(struct hn_sm_list *l)
{
	fast_free(l);
	l->fast_off = true;
}

static bool fast_insert(struct hn_sm_fast *f, const uint8_t *b, size_t n)
{
	uint64_t h = fast_hash(b, n);

	if (2 * (f->n + 1) > f->cap) {
		unsigned cap = f->cap ? 2 * f->cap : 16;
		struct fast_slot *s = calloc(cap, sizeof(*s));
		if (!s)
			return false;
		for (unsigned i = 0; i < f->cap; i++) {
			struct fast_slot *o = &f->slot[i];
			unsigned k;
			if (!o->h)
				continue;
			for (k = (unsigned)o->h & (cap - 1); s[k].h; k = (k + 1) & (cap - 1))
				;
			s[k] = *o;
		}
		free(f->slot);
		f->slot = s;
		f->cap = cap;
	}
	for (unsigned k = (unsigned)h & (f->cap - 1);; k = (k + 1) & (f->cap - 1)) {
		struct fast_slot *s = &f->slot[k];
		if (!s->h) {
			s->h = h;
			s->b = b;
			s->n = n;
			f->n++;
			break;
		}
		if (s->h == h && s->n == n && !memcmp(s->b, b, n))
			break;
	}
	if (n > f->maxlen)
		f->maxlen = n;
	return true;
}

/* The patterns from first on went into the list: into the set too. */
static void fast_update(struct hn_sm_list *l, unsigned first)
{
	if (l->fast_off)
		return;
	if (l->mods & HN_SM_ALL) {
		fast_off(l);
		return;
	}
	for (unsigned i = first; i < l->npats; i++) {
		const struct hn_sm_pat *p = l->pats[i];
		const struct seg *g = &p->u.lit;
		int kind;
		const uint8_t *b;
		size_t n;

		if (p->cased || (p->kind != PK_EXACT && p->kind != PK_SUFFIX) || g->q ||
		    !g->n) {
			fast_off(l);
			return;
		}
		if (p->kind == PK_EXACT) {
			kind = FAST_EXACT;
			b = g->b;
			n = g->n;
		} else {
			if (g->b[0] != '/' || g->n < 2 || memchr(g->b + 1, '/', g->n - 1)) {
				fast_off(l);
				return;
			}
			kind = FAST_BASENAME;
			b = g->b + 1;
			n = g->n - 1;
		}
		if (n > FAST_KEY_MAX || (l->fast && l->fast->kind != kind)) {
			fast_off(l);
			return;
		}
		if (!l->fast) {
			l->fast = calloc(1, sizeof(*l->fast));
			if (!l->fast) {
				fast_off(l);
				return;
			}
			l->fast->kind = kind;
		}
		if (!fast_insert(l->fast, b, n)) {
			fast_off(l);
			return;
		}
	}
}

/* The set's answer for the field s[0..n). */
static bool fast_match(const struct hn_sm_fast *f, const uint8_t *s, size_t n)
{
	uint8_t low[FAST_KEY_MAX];
	uint64_t h;

	if (f->kind == FAST_BASENAME) {
		const uint8_t *sl = memrchr(s, '/', n);
		if (!sl)
			return false;
		n -= (size_t)(sl + 1 - s);
		s = sl + 1;
	}
	if (!n || n > f->maxlen)
		return false;
	for (size_t i = 0; i < n; i++)
		low[i] = fold(s[i]);
	h = fast_hash(low, n);
	for (unsigned k = (unsigned)h & (f->cap - 1);; k = (k + 1) & (f->cap - 1)) {
		const struct fast_slot *x = &f->slot[k];
		if (!x->h)
			return false;
		if (x->h == h && x->n == n && !memcmp(x->b, low, n))
			return true;
	}
}

int hn_sm_list_add(struct hn_sm_list *l, enum hn_sm_vtype t, const char *s,
		   size_t n, char *err, size_t errlen)
{
	const unsigned typed = HN_SM_EXISTS | CMP_MODS | HN_SM_CIDR |
			       HN_SM_RE | B64_MODS;
	struct build b = { 0 };
	char q[QUOTE_BUF];
	unsigned m;
	int r;

	if (!l) {
		seterr(err, errlen, "no list");
		return -EINVAL;
	}
	m = l->mods;
	if (t == HN_SM_V_NULL || !s) {
		s = NULL;
		n = 0;
	}
	if (n > VALUE_MAX) {
		seterr(err, errlen, "value '%s' is too long (%zu bytes, at "
		       "most %d)", quote(q, s, n), n, VALUE_MAX);
		return -EINVAL;
	}
	if (!s && (m & typed)) {
		unsigned bit = m & typed;

		seterr(err, errlen, "a null value cannot be used with '%s'",
		       mod_name(bit & -bit));
		return -EINVAL;
	}
	if (!s)
		r = build_push(&b, pat_from_tokens(NULL, 0, false, false,
						   false));
	else if (m & HN_SM_EXISTS)
		r = add_exists(&b, s, n, err, errlen);
	else if (m & CMP_MODS)
		r = add_number(&b, m, s, n, err, errlen);
	else if (m & HN_SM_CIDR)
		r = add_cidr(&b, s, n, err, errlen);
	else if (m & HN_SM_RE)
		r = add_re(&b, m, s, n, err, errlen);
	else
		r = add_string(&b, m, s, n, err, errlen);
	if (r == 0) {
		unsigned first = l->npats;
		r = list_append(l, &b);
		if (r == 0)
			fast_update(l, first);
	}
	build_release(&b);
	return r;
}

/* ---- matching ---- */

/* A thread's PCRE2 scratch: one ovector pair (we only ask whether), and
 * the match limit. */
struct re_scratch {
	pcre2_match_data *md;
	pcre2_match_context *mc;
};

static pthread_key_t re_key;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;
static bool re_key_ok;
static _Thread_local struct re_scratch *re_tls;

static void re_scratch_free(void *arg)
{
	struct re_scratch *x = arg;

	if (!x)
		return;
	if (re_tls == x)
		re_tls = NULL;
	pcre2_match_data_free(x->md);
	pcre2_match_context_free(x->mc);
	free(x);
}

static void re_key_init(void)
{
	re_key_ok = pthread_key_create(&re_key, re_scratch_free) == 0;
}

static struct re_scratch *re_scratch_new(void)
{
	struct re_scratch *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->md = pcre2_match_data_create(1, NULL);
	x->mc = pcre2_match_context_create(NULL);
	if (!x->md || !x->mc) {
		re_scratch_free(x);
		return NULL;
	}
	pcre2_set_match_limit(x->mc, RE_MATCH_LIMIT);
	return x;
}

/* The calling thread's scratch, made on its first call and freed when it
 * exits; NULL if it cannot be made or kept. */
static struct re_scratch *re_scratch_get(void)
{
	struct re_scratch *x = re_tls;

	if (x)
		return x;
	pthread_once(&re_once, re_key_init);
	if (!re_key_ok)
		return NULL;
	x = re_scratch_new();
	if (!x)
		return NULL;
	if (pthread_setspecific(re_key, x)) {
		re_scratch_free(x);
		return NULL;
	}
	re_tls = x;
	return x;
}

static bool has_either_case(const uint8_t *s, size_t n, uint8_t c)
{
	uint8_t o = fold(c) != c ? fold(c) : is_lower(c) ? (uint8_t)(c - 32) : c;

	return memchr(s, c, n) || (o != c && memchr(s, o, n));
}

/* Can s[0..n) be seen not to match p without running it?  Cheaper than
 * the call, which most subjects a rule is tried on do not match. */
static bool re_cannot(const struct hn_sm_pat *p, const uint8_t *s, size_t n)
{
	if (n < p->u.re.minlen)
		return true;
	if (p->u.re.first >= 0 &&
	    (!n || fold(s[0]) != fold((uint8_t)p->u.re.first)))
		return true;
	return p->u.re.req >= 0 && !has_either_case(s, n, (uint8_t)p->u.re.req);
}

static bool re_match(const struct hn_sm_pat *p, const uint8_t *s, size_t n)
{
	struct re_scratch *x = re_scratch_get(), *own = NULL;
	int rc;

	if (re_cannot(p, s, n))
		return false;
	/* no thread scratch: one for this call */
	if (!x) {
		x = own = re_scratch_new();
		if (!x)
			return false;
	}
	if (p->u.re.jit)
		rc = pcre2_jit_match(p->u.re.code, s, n, 0, 0, x->md, x->mc);
	else
		rc = pcre2_match(p->u.re.code, s, n, 0, 0, x->md, x->mc);
	re_scratch_free(own);
	/* 0: a match the ovector was too small for */
	return rc >= 0;
}

static bool cidr_match(const struct hn_sm_pat *p, const uint8_t *s, size_t n)
{
	char buf[ADDR_MAX + 1];
	uint8_t a[16];

	if (!n || n > ADDR_MAX || memchr(s, '\0', n))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (p->u.cidr.af == AF_INET6)
		return inet_pton(AF_INET6, buf, a) == 1 &&
		       prefix_eq(a, p->u.cidr.net, p->u.cidr.bits);
	if (inet_pton(AF_INET, buf, a) == 1)
		return prefix_eq(a, p->u.cidr.net, p->u.cidr.bits);
	/* ::ffff:a.b.c.d is the IPv4 address a.b.c.d */
	return inet_pton(AF_INET6, buf, a) == 1 &&
	       !memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) &&
	       prefix_eq(a + 12, p->u.cidr.net, p->u.cidr.bits);
}

static bool num_match(const struct hn_sm_pat *p, const uint8_t *s, size_t n)
{
	struct num f;
	int c;

	if (!num_parse((const char *)s, n, &f))
		return false;
	c = num_cmp(&f, &p->u.num.v);
	switch (p->u.num.op) {
	case HN_SM_GT:
		return c > 0;
	case HN_SM_GTE:
		return c >= 0;
	case HN_SM_LT:
		return c < 0;
	case HN_SM_LTE:
		return c <= 0;
	}
	return false;
}

static bool pat_match(const struct hn_sm_pat *p, const uint8_t *s, size_t n,
		      bool present)
{
	const struct seg *g = &p->u.lit;

	if (!present)
		return p->kind == PK_EMPTY ||
		       (p->kind == PK_EXISTS && !p->u.exists);
	switch (p->kind) {
	case PK_EMPTY:
		return !n;
	case PK_ANY:
		return true;
	case PK_EXACT:
		return n == g->n && seg_eq(g, p->cased, s);
	case PK_PREFIX:
		return n >= g->n && seg_eq(g, p->cased, s);
	case PK_SUFFIX:
		return n >= g->n && seg_eq(g, p->cased, s + n - g->n);
	case PK_CONTAINS:
		return seg_find(g, p->cased, s, s + n) != NULL;
	case PK_GLOB:
		return glob_match(p, s, n);
	case PK_RE:
		return re_match(p, s, n);
	case PK_CIDR:
		return cidr_match(p, s, n);
	case PK_NUM:
		return num_match(p, s, n);
	case PK_EXISTS:
		return p->u.exists;
	}
	return false;
}

bool hn_sm_list_match(const struct hn_sm_list *l, const struct hn_sm_str *v)
{
	const uint8_t *s = (const uint8_t *)"";
	size_t n = 0;
	bool present = false, all;

	if (!l || !l->ngroups)
		return false;
	if (v && v->present) {
		present = true;
		if (v->s) {
			s = (const uint8_t *)v->s;
			n = v->n;
		}
	}
	all = l->mods & HN_SM_ALL;
	/* a set of exact values or "/name" suffixes: one look-up (neither
	 * kind matches an absent field) */
	if (l->fast && !all && l->ngroups >= 4)
		return present && fast_match(l->fast, s, n);
	for (unsigned g = 0; g < l->ngroups; g++) {
		bool hit = false;

		for (unsigned i = l->groups[g].start;
		     i < l->groups[g].end && !hit; i++)
			hit = pat_match(l->pats[i], s, n, present);
		/* any: the first hit decides; all: the first miss */
		if (hit != all)
			return hit;
	}
	return all;
}
