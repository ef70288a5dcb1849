/*
 * cond.c - Sigma conditions: "selection and not 1 of filter_*" into a tree
 * of nodes (detect_int.h: struct det_cond).
 *
 * Grammar (lowest precedence first; keywords in any case):
 *
 *   or   := and ("or" and)*
 *   and  := not ("and" not)*
 *   not  := "not" not | atom
 *   atom := "(" or ")" | ("1" | "all" | "any") "of" (pattern | "them") | name
 *
 * A pattern is a selection name with `*` wildcards; "them" is every
 * selection whose name does not start with `_`.  "1 of" becomes an OR of
 * the selections it names, "all of" an AND.  A name that is no selection,
 * or a pattern that names none, is an error (the rule could never be what
 * its author meant).  Sigma 1 aggregations ("| count() by x > 5") and
 * "near" are reported as unsupported: correlation rules replace them.
 *
 * Bounds: conditions nest at most COND_DEPTH deep; a node list grows as
 * needed (a condition is short).
 */
#include "detect/detect_int.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COND_DEPTH 64

enum tok {
	T_END,
	T_LP,
	T_RP,
	T_AND,
	T_OR,
	T_NOT,
	T_OF,
	T_ONE,        /* "1" or "any" */
	T_ALL,
	T_THEM,
	T_NAME,       /* a selection name or pattern */
	T_PIPE,
	T_BAD,
};

struct parser {
	const char *p;
	enum tok tok;
	char word[128];
	struct det_cond *c;
	const struct det_sel *sels;
	unsigned nsel;
	int depth;
	int rc;               /* first error */
	char *err;
	size_t errlen;
};

static void fail(struct parser *ps, int rc, const char *fmt, ...)
{
	va_list ap;

	if (ps->rc)
		return;
	ps->rc = rc;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
}

static bool name_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '*' || ch == '.' || ch == '-';
}

static void next(struct parser *ps)
{
	const char *p = ps->p;
	size_t n = 0;

	while (*p && isspace((unsigned char)*p))
		p++;
	ps->word[0] = '\0';
	if (!*p) {
		ps->tok = T_END;
		ps->p = p;
		return;
	}
	if (*p == '(' || *p == ')' || *p == '|') {
		ps->tok = *p == '(' ? T_LP : *p == ')' ? T_RP : T_PIPE;
		ps->word[0] = *p;
		ps->word[1] = '\0';
		ps->p = p + 1;
		return;
	}
	if (!name_char((unsigned char)*p)) {
		ps->tok = T_BAD;
		snprintf(ps->word, sizeof(ps->word), "%c", *p);
		ps->p = p + 1;
		return;
	}
	while (name_char((unsigned char)p[n]))
		n++;
	if (n >= sizeof(ps->word)) {
		ps->tok = T_BAD;
		snprintf(ps->word, sizeof(ps->word), "%.40s...", p);
		ps->p = p + n;
		return;
	}
	memcpy(ps->word, p, n);
	ps->word[n] = '\0';
	ps->p = p + n;
	if (!strcasecmp(ps->word, "and"))
		ps->tok = T_AND;
	else if (!strcasecmp(ps->word, "or"))
		ps->tok = T_OR;
	else if (!strcasecmp(ps->word, "not"))
		ps->tok = T_NOT;
	else if (!strcasecmp(ps->word, "of"))
		ps->tok = T_OF;
	else if (!strcmp(ps->word, "1") || !strcasecmp(ps->word, "any"))
		ps->tok = T_ONE;
	else if (!strcasecmp(ps->word, "all"))
		ps->tok = T_ALL;
	else if (!strcasecmp(ps->word, "them"))
		ps->tok = T_THEM;
	else
		ps->tok = T_NAME;
}

/* Append a node; its index, or -1 (ENOMEM recorded). */
static int add_node(struct parser *ps, enum det_op op, unsigned a, unsigned b)
{
	struct det_cond *c = ps->c;

	if (c->nnodes == c->cap_nodes) {
		unsigned cap = c->cap_nodes ? c->cap_nodes * 2 : 16;
		struct det_node *n = realloc(c->nodes, cap * sizeof(*n));
		if (!n) {
			fail(ps, -ENOMEM, "out of memory");
			return -1;
		}
		c->nodes = n;
		c->cap_nodes = cap;
	}
	c->nodes[c->nnodes] = (struct det_node){ op, a, b };
	return (int)c->nnodes++;
}

/* Append child indexes kids[0..n) to the shared list; start index or -1. */
static int add_kids(struct parser *ps, const unsigned *kids, unsigned n)
{
	struct det_cond *c = ps->c;
	unsigned start = c->nkids;

	if (c->nkids + n > c->cap_kids) {
		unsigned cap = c->cap_kids ? c->cap_kids : 16;
		while (cap < c->nkids + n)
			cap *= 2;
		unsigned *k = realloc(c->kids, cap * sizeof(*k));
		if (!k) {
			fail(ps, -ENOMEM, "out of memory");
			return -1;
		}
		c->kids = k;
		c->cap_kids = cap;
	}
	memcpy(c->kids + c->nkids, kids, n * sizeof(*kids));
	c->nkids += n;
	return (int)start;
}

/* A node over kids[0..n): the only child itself when n == 1. */
static int add_list(struct parser *ps, enum det_op op, const unsigned *kids, unsigned n)
{
	int s;

	if (n == 1)
		return (int)kids[0];
	s = add_kids(ps, kids, n);
	if (s < 0)
		return -1;
	return add_node(ps, op, (unsigned)s, (unsigned)s + n);
}

static int parse_or(struct parser *ps);

/* "1 of x*" / "all of them" (the quantifier already read). */
static int parse_of(struct parser *ps, enum det_op op)
{
	unsigned *kids;
	unsigned n = 0;
	bool them;
	int r;

	next(ps);
	if (ps->tok != T_OF) {
		fail(ps, -EINVAL, "expected 'of' after '1'/'all', found '%s'", ps->word);
		return -1;
	}
	next(ps);
	if (ps->tok != T_THEM && ps->tok != T_NAME) {
		fail(ps, -EINVAL, "expected a selection name or 'them' after 'of'");
		return -1;
	}
	them = ps->tok == T_THEM;
	kids = calloc(ps->nsel ? ps->nsel : 1, sizeof(*kids));
	if (!kids) {
		fail(ps, -ENOMEM, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < ps->nsel; i++) {
		const char *name = ps->sels[i].name;
		bool hit = them ? name[0] != '_' : fnmatch(ps->word, name, 0) == 0;
		if (!hit)
			continue;
		r = add_node(ps, DN_SEL, i, 0);
		if (r < 0) {
			free(kids);
			return -1;
		}
		kids[n++] = (unsigned)r;
	}
	if (!n) {
		free(kids);
		fail(ps, -EINVAL, "no selection matches '%s'", them ? "them" : ps->word);
		return -1;
	}
	r = add_list(ps, op, kids, n);
	free(kids);
	next(ps);
	return r;
}

static int parse_atom(struct parser *ps)
{
	int r;

	switch (ps->tok) {
	case T_LP:
		if (++ps->depth > COND_DEPTH) {
			fail(ps, -EINVAL, "condition nested deeper than %d", COND_DEPTH);
			return -1;
		}
		next(ps);
		r = parse_or(ps);
		if (r < 0)
			return -1;
		if (ps->tok != T_RP) {
			fail(ps, -EINVAL, "missing ')'");
			return -1;
		}
		ps->depth--;
		next(ps);
		return r;
	case T_ONE:
		return parse_of(ps, DN_OR);
	case T_ALL:
		return parse_of(ps, DN_AND);
	case T_NAME:
		if (strchr(ps->word, '*')) {
			fail(ps, -EINVAL, "'%s': a pattern needs '1 of' or 'all of'", ps->word);
			return -1;
		}
		for (unsigned i = 0; i < ps->nsel; i++)
			if (!strcmp(ps->sels[i].name, ps->word)) {
				next(ps);
				return add_node(ps, DN_SEL, i, 0);
			}
		if (!strcasecmp(ps->word, "near")) {
			fail(ps, -ENOTSUP, "'near' (Sigma 1 aggregation) is not supported");
			return -1;
		}
		fail(ps, -EINVAL, "unknown selection '%s'", ps->word);
		return -1;
	case T_END:
		fail(ps, -EINVAL, "condition ends too early");
		return -1;
	case T_PIPE:
		fail(ps, -ENOTSUP, "aggregations ('| count() ...') are not supported;"
		     " use a correlation rule");
		return -1;
	default:
		fail(ps, -EINVAL, "unexpected '%s'", ps->word);
		return -1;
	}
}

static int parse_not(struct parser *ps)
{
	int r, s;
	unsigned k;

	if (ps->tok != T_NOT)
		return parse_atom(ps);
	if (++ps->depth > COND_DEPTH) {
		fail(ps, -EINVAL, "condition nested deeper than %d", COND_DEPTH);
		return -1;
	}
	next(ps);
	r = parse_not(ps);
	ps->depth--;
	if (r < 0)
		return -1;
	k = (unsigned)r;
	s = add_kids(ps, &k, 1);
	if (s < 0)
		return -1;
	return add_node(ps, DN_NOT, (unsigned)s, 0);
}

/* One level of a left-associative list ("a and b and c"): the operands
 * collected first so that the node lists its children in one run. */
static int parse_list(struct parser *ps, enum tok sep, enum det_op op,
		      int (*operand)(struct parser *))
{
	unsigned kids[256];
	unsigned n = 0;
	int r;

	for (;;) {
		r = operand(ps);
		if (r < 0)
			return -1;
		if (n == sizeof(kids) / sizeof(kids[0])) {
			fail(ps, -EINVAL, "more than %zu operands in a row",
			     sizeof(kids) / sizeof(kids[0]));
			return -1;
		}
		kids[n++] = (unsigned)r;
		if (ps->tok != sep)
			break;
		next(ps);
	}
	return add_list(ps, op, kids, n);
}

static int parse_and(struct parser *ps)
{
	return parse_list(ps, T_AND, DN_AND, parse_not);
}

static int parse_or(struct parser *ps)
{
	return parse_list(ps, T_OR, DN_OR, parse_and);
}

int det_cond_parse(struct det_cond *c, const char *text, const struct det_sel *sels,
		   unsigned nsel, char *err, size_t errlen)
{
	struct parser ps = {
		.p = text ? text : "", .c = c, .sels = sels, .nsel = nsel,
		.err = err, .errlen = errlen,
	};
	int r;

	if (err && errlen)
		err[0] = '\0';
	next(&ps);
	r = parse_or(&ps);
	if (r >= 0 && ps.tok != T_END) {
		if (ps.tok == T_PIPE)
			fail(&ps, -ENOTSUP, "aggregations ('| count() ...') are not"
			     " supported; use a correlation rule");
		else
			fail(&ps, -EINVAL, "unexpected '%s'", ps.word);
		r = -1;
	}
	if (r < 0)
		return ps.rc ? ps.rc : -EINVAL;
	c->root = (unsigned)r;
	return 0;
}

void det_cond_release(struct det_cond *c)
{
	if (!c)
		return;
	free(c->nodes);
	free(c->kids);
	memset(c, 0, sizeof(*c));
}

int det_cond_join(struct det_cond *c, const unsigned *roots, unsigned n)
{
	struct parser ps = { .c = c };
	char err[8];
	int r;

	ps.err = err;
	ps.errlen = sizeof(err);
	if (!n)
		return -EINVAL;
	r = add_list(&ps, DN_OR, roots, n);
	if (r < 0)
		return ps.rc ? ps.rc : -ENOMEM;
	c->root = (unsigned)r;
	return 0;
}
