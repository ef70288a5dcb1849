/*
 * stix.c - IOC lists as STIX 2.1 (and 2.0) JSON (ioc.h): a bundle, a list
 * of objects, or one indicator.
 *
 * Of each indicator: pattern (pattern_type stix, or absent as in 2.0),
 * name and description (the description), created_by_ref (the author,
 * when the bundle holds that identity), revoked and valid_until (skipped
 * when revoked or past; valid_until kept), indicator_types ("benign":
 * skipped), id (named in problems with the object's JSON path).
 *
 * The pattern is parsed whole (the STIX Patterning grammar: observation
 * expressions in brackets joined by AND, OR, FOLLOWEDBY, with WITHIN,
 * REPEATS and START/STOP qualifiers; comparisons joined by AND and OR with
 * parentheses; the operators =, !=, <, <=, >, >=, IN, LIKE, MATCHES,
 * ISSUBSET, ISSUPERSET, NOT and EXISTS; string, number, boolean, binary,
 * hex and timestamp literals).  Only a pattern that is an OR of = or IN
 * comparisons is an indicator we can match, each comparison one
 * alternative.  Anything else is reported unsupported, as a whole: an
 * AND of two comparisons is one indicator that holds only when both do,
 * and matching either half alone would raise alerts it does not mean.
 */
#include "ioc/ioc_int.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

/* ---- the pattern ---- */

enum tok {
	T_END, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COMMA,
	T_OP,        /* = != < <= > >= */
	T_STRING,    /* '...' (text is the unescaped value) */
	T_LITERAL,   /* numbers, true/false, h'..', b'..', t'..' */
	T_PATH,      /* object-type:property[.property|[n]]... */
	T_WORD,      /* AND OR NOT IN LIKE ... */
	T_BAD,
};

struct lex {
	const char *p;
	enum tok t;
	char text[1100];
	const char *why;
};

static bool word_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-';
}

/* A single-quoted string at l->p (the quote included) into dst; false
 * when it is not closed or holds an escape other than \\ and \'. */
static bool quoted(struct lex *l, char *dst, size_t n)
{
	size_t o = 0;

	l->p++;
	for (;;) {
		char ch = *l->p;
		if (!ch) {
			l->why = "a string that is never closed";
			return false;
		}
		l->p++;
		if (ch == '\'')
			break;
		if (ch == '\\') {
			if (*l->p != '\\' && *l->p != '\'') {
				l->why = "a string escape other than \\\\ and \\'";
				return false;
			}
			ch = *l->p++;
		}
		if (o + 1 >= n) {
			l->why = "a string longer than 1 KiB";
			return false;
		}
		dst[o++] = ch;
	}
	dst[o] = '\0';
	return true;
}

static void next(struct lex *l)
{
	const char *s;

	while (*l->p == ' ' || *l->p == '\t' || *l->p == '\r' || *l->p == '\n')
		l->p++;
	l->text[0] = '\0';
	s = l->p;
	switch (*s) {
	case '\0': l->t = T_END; return;
	case '[': l->p++; l->t = T_LBRACK; return;
	case ']': l->p++; l->t = T_RBRACK; return;
	case '(': l->p++; l->t = T_LPAREN; return;
	case ')': l->p++; l->t = T_RPAREN; return;
	case ',': l->p++; l->t = T_COMMA; return;
	case '\'':
		l->t = quoted(l, l->text, sizeof(l->text)) ? T_STRING : T_BAD;
		return;
	case '=':
		l->p++;
		l->t = T_OP;
		strcpy(l->text, "=");
		return;
	case '!': case '<': case '>':
		l->t = T_OP;
		l->text[0] = *l->p++;
		l->text[1] = '\0';
		if (*l->p == '=') {
			l->text[1] = '=';
			l->text[2] = '\0';
			l->p++;
		} else if (s[0] == '!') {
			l->t = T_BAD;
			l->why = "'!' is not an operator ('!=' is)";
		}
		return;
	default:
		break;
	}
	/* h'..', b'..', t'..' literals */
	if ((*s == 'h' || *s == 'b' || *s == 't') && s[1] == '\'') {
		char tmp[1100];
		l->p++;
		l->t = quoted(l, tmp, sizeof(tmp)) ? T_LITERAL : T_BAD;
		return;
	}
	if (isdigit((unsigned char)*s) || *s == '-' || *s == '+') {
		l->p++;
		while (isdigit((unsigned char)*l->p) || *l->p == '.')
			l->p++;
		l->t = T_LITERAL;
		return;
	}
	if (isalpha((unsigned char)*s) || *s == '_') {
		size_t o = 0;
		bool path = false, full = false;
#define PUT(ch) do { if (o + 1 < sizeof(l->text)) l->text[o++] = (ch); else full = true; } while (0)
		/* a word, or a path: type ':' then properties, where a
		 * property may be quoted ('SHA-256') or an index ([0], [*]) */
		while (word_char(*l->p))
			PUT(*l->p++);
		if (*l->p == ':') {
			path = true;
			PUT(*l->p++);
			for (;;) {
				if (*l->p == '\'') {
					char seg[256];
					if (!quoted(l, seg, sizeof(seg))) {
						l->t = T_BAD;
						return;
					}
					for (size_t k = 0; seg[k]; k++)
						PUT(seg[k]);
				} else if (word_char(*l->p)) {
					while (word_char(*l->p))
						PUT(*l->p++);
				} else if (*l->p == '[') {
					while (*l->p && *l->p != ']')
						PUT(*l->p++);
					if (*l->p != ']') {
						l->t = T_BAD;
						l->why = "an object path index without ']'";
						return;
					}
					PUT(*l->p++);
				} else {
					l->t = T_BAD;
					l->why = "a malformed object path";
					return;
				}
				if (*l->p == '.') {
					PUT(*l->p++);
					continue;
				}
				if (*l->p == '[')
					continue;
				break;
			}
		}
#undef PUT
		l->text[o] = '\0';
		if (full) {
			l->t = T_BAD;
			l->why = "an object path longer than 1 KiB";
		} else if (!path && (!strcasecmp(l->text, "true") || !strcasecmp(l->text, "false"))) {
			l->t = T_LITERAL;
		} else {
			l->t = path ? T_PATH : T_WORD;
		}
		return;
	}
	l->t = T_BAD;
	l->why = "an unexpected character";
}

static bool is_word(const struct lex *l, const char *w)
{
	return l->t == T_WORD && !strcasecmp(l->text, w);
}

/* What the parse found besides plain alternatives. */
struct pat {
	struct lex l;
	const char *unsupported;     /* the first reason it is not one indicator */
	void (*each)(const char *path, const char *value, void *arg);
	void *arg;
	/* alternatives are collected and handed out only when the whole
	 * pattern is one OR */
	struct alt {
		char *path, *value;
	} *alts;
	size_t nalts;
	int depth;
	bool oom;
};

static void unsupported(struct pat *p, const char *why)
{
	if (!p->unsupported)
		p->unsupported = why;
}

static void alt_add(struct pat *p, const char *path, const char *value)
{
	struct alt *v = realloc(p->alts, (p->nalts + 1) * sizeof(*v));

	if (!v) {
		p->oom = true;
		return;
	}
	p->alts = v;
	v[p->nalts].path = strdup(path);
	v[p->nalts].value = strdup(value);
	if (!v[p->nalts].path || !v[p->nalts].value) {
		free(v[p->nalts].path);
		free(v[p->nalts].value);
		p->oom = true;
		return;
	}
	p->nalts++;
}

static bool cmp_or(struct pat *p);

/* comparison := PATH [NOT] op value | EXISTS PATH | '(' cmp_or ')' */
static bool cmp_atom(struct pat *p)
{
	struct lex *l = &p->l;
	char path[sizeof(l->text)];
	bool negated = false;

	if (++p->depth > 64) {
		l->why = "nested too deep";
		return false;
	}
	if (l->t == T_LPAREN) {
		next(l);
		if (!cmp_or(p))
			return false;
		if (l->t != T_RPAREN) {
			l->why = "a '(' without its ')'";
			return false;
		}
		next(l);
		p->depth--;
		return true;
	}
	if (is_word(l, "EXISTS")) {
		next(l);
		if (l->t != T_PATH) {
			l->why = "EXISTS without an object path";
			return false;
		}
		unsupported(p, "EXISTS is not matched");
		next(l);
		p->depth--;
		return true;
	}
	if (l->t != T_PATH) {
		l->why = "a comparison starts with an object path (file:hashes.MD5)";
		return false;
	}
	snprintf(path, sizeof(path), "%s", l->text);
	next(l);
	if (is_word(l, "NOT")) {
		negated = true;
		next(l);
	}
	if (l->t == T_OP) {
		bool eq = !strcmp(l->text, "=");
		next(l);
		if (l->t != T_STRING && l->t != T_LITERAL) {
			l->why = "an operator without a value after it";
			return false;
		}
		if (!eq || negated)
			unsupported(p, "an operator other than = (or IN) is not matched");
		else if (l->t != T_STRING)
			unsupported(p, "a comparison with a value that is not a string");
		else
			alt_add(p, path, l->text);
		next(l);
	} else if (is_word(l, "IN")) {
		next(l);
		if (l->t != T_LPAREN) {
			l->why = "IN without a '(' list";
			return false;
		}
		do {
			next(l);
			if (l->t != T_STRING && l->t != T_LITERAL) {
				l->why = "an IN list holds values";
				return false;
			}
			if (negated)
				unsupported(p, "NOT IN is not matched");
			else if (l->t != T_STRING)
				unsupported(p, "a comparison with a value that is not a string");
			else
				alt_add(p, path, l->text);
			next(l);
		} while (l->t == T_COMMA);
		if (l->t != T_RPAREN) {
			l->why = "an IN list without its ')'";
			return false;
		}
		next(l);
	} else if (is_word(l, "LIKE") || is_word(l, "MATCHES") || is_word(l, "ISSUBSET") ||
		   is_word(l, "ISSUPERSET")) {
		next(l);
		if (l->t != T_STRING && l->t != T_LITERAL) {
			l->why = "an operator without a value after it";
			return false;
		}
		unsupported(p, "LIKE, MATCHES, ISSUBSET and ISSUPERSET are not matched");
		next(l);
	} else {
		l->why = "a comparison without an operator";
		return false;
	}
	p->depth--;
	return true;
}

static bool cmp_and(struct pat *p)
{
	if (!cmp_atom(p))
		return false;
	while (is_word(&p->l, "AND")) {
		unsupported(p, "comparisons joined by AND are one indicator that holds only "
			    "when all do: not matched");
		next(&p->l);
		if (!cmp_atom(p))
			return false;
	}
	return true;
}

static bool cmp_or(struct pat *p)
{
	if (!cmp_and(p))
		return false;
	while (is_word(&p->l, "OR")) {
		next(&p->l);
		if (!cmp_and(p))
			return false;
	}
	return true;
}

static bool obs_or(struct pat *p);

/* observation := '[' cmp_or ']' qualifier* | '(' obs_or ')' qualifier* */
static bool obs(struct pat *p)
{
	struct lex *l = &p->l;

	if (++p->depth > 64) {
		l->why = "nested too deep";
		return false;
	}
	if (l->t == T_LBRACK) {
		next(l);
		if (!cmp_or(p))
			return false;
		if (l->t != T_RBRACK) {
			l->why = "a '[' without its ']'";
			return false;
		}
		next(l);
	} else if (l->t == T_LPAREN) {
		next(l);
		if (!obs_or(p))
			return false;
		if (l->t != T_RPAREN) {
			l->why = "a '(' without its ')'";
			return false;
		}
		next(l);
	} else {
		l->why = "an observation is a comparison in brackets: [file:hashes.MD5 = '...']";
		return false;
	}
	for (;;) {
		if (is_word(l, "WITHIN")) {
			next(l);
			if (l->t != T_LITERAL) {
				l->why = "WITHIN without a number";
				return false;
			}
			next(l);
			if (!is_word(l, "SECONDS")) {
				l->why = "WITHIN n without SECONDS";
				return false;
			}
			next(l);
		} else if (is_word(l, "REPEATS")) {
			next(l);
			if (l->t != T_LITERAL) {
				l->why = "REPEATS without a number";
				return false;
			}
			next(l);
			if (!is_word(l, "TIMES")) {
				l->why = "REPEATS n without TIMES";
				return false;
			}
			next(l);
		} else if (is_word(l, "START")) {
			next(l);
			if (l->t != T_LITERAL) {
				l->why = "START without a timestamp";
				return false;
			}
			next(l);
			if (!is_word(l, "STOP")) {
				l->why = "START without STOP";
				return false;
			}
			next(l);
			if (l->t != T_LITERAL) {
				l->why = "STOP without a timestamp";
				return false;
			}
			next(l);
		} else {
			break;
		}
		unsupported(p, "qualifiers (WITHIN, REPEATS, START/STOP) are not matched");
	}
	p->depth--;
	return true;
}

static bool obs_seq(struct pat *p)
{
	if (!obs(p))
		return false;
	while (is_word(&p->l, "FOLLOWEDBY")) {
		unsupported(p, "FOLLOWEDBY (a sequence) is not matched");
		next(&p->l);
		if (!obs(p))
			return false;
	}
	return true;
}

static bool obs_and(struct pat *p)
{
	if (!obs_seq(p))
		return false;
	while (is_word(&p->l, "AND")) {
		unsupported(p, "observations joined by AND are one indicator that holds only "
			    "when all do: not matched");
		next(&p->l);
		if (!obs_seq(p))
			return false;
	}
	return true;
}

static bool obs_or(struct pat *p)
{
	if (!obs_and(p))
		return false;
	while (is_word(&p->l, "OR")) {
		next(&p->l);
		if (!obs_and(p))
			return false;
	}
	return true;
}

int ioc_stix_pattern(const char *pattern,
		     void (*each)(const char *path, const char *value, void *arg), void *arg,
		     const char **why, char *whybuf, size_t whylen)
{
	struct pat p = { .each = each, .arg = arg };
	int r = -EINVAL;

	p.l.p = pattern ? pattern : "";
	next(&p.l);
	if (p.l.t == T_END) {
		*why = "an empty pattern";
		return -EINVAL;
	}
	if (!obs_or(&p) || p.l.t != T_END) {
		if (p.l.t == T_END && !p.l.why)
			p.l.why = "the pattern ends too soon";
		if (p.l.t == T_END)
			snprintf(whybuf, whylen, "the pattern does not parse: %s (at its end)",
				 p.l.why ? p.l.why : "unexpected text");
		else
			snprintf(whybuf, whylen, "the pattern does not parse: %s (at '%.20s')",
				 p.l.why ? p.l.why : "unexpected text",
				 p.l.text[0] ? p.l.text : p.l.p);
		*why = whybuf;
		goto out;
	}
	if (p.oom) {
		*why = "out of memory";
		goto out;
	}
	if (p.unsupported) {
		*why = p.unsupported;
		r = -ENOTSUP;
		goto out;
	}
	for (size_t i = 0; i < p.nalts; i++)
		each(p.alts[i].path, p.alts[i].value, arg);
	r = 0;
out:
	for (size_t i = 0; i < p.nalts; i++) {
		free(p.alts[i].path);
		free(p.alts[i].value);
	}
	free(p.alts);
	return r;
}

/* ---- indicators ---- */

/* The indicator type of an object path, or NONE (with *why). */
static enum hn_ioc_type path_type(const char *path, const char **why)
{
	const char *h = NULL;

	if (!strncmp(path, "file:hashes.", 12))
		h = path + 12;
	else if (!strncmp(path, "artifact:hashes.", 16))
		h = path + 16;
	if (h) {
		if (!strcasecmp(h, "SHA-256") || !strcasecmp(h, "SHA256"))
			return HN_IOC_SHA256;
		if (!strcasecmp(h, "SHA-1") || !strcasecmp(h, "SHA1"))
			return HN_IOC_SHA1;
		if (!strcasecmp(h, "MD5"))
			return HN_IOC_MD5;
		*why = "only the SHA-256, SHA-1 and MD5 hashes are matched";
		return HN_IOC_NONE;
	}
	if (!strcmp(path, "ipv4-addr:value") || !strcmp(path, "ipv6-addr:value") ||
	    !strcmp(path, "network-traffic:dst_ref.value") ||
	    !strcmp(path, "network-traffic:src_ref.value"))
		return HN_IOC_IP;
	if (!strcmp(path, "domain-name:value"))
		return HN_IOC_DOMAIN;
	if (!strncmp(path, "url:", 4))
		*why = "URLs are not matched (list the domain)";
	else
		*why = "this object path is not matched (file hashes, ipv4-addr, ipv6-addr, "
		       "domain-name are)";
	return HN_IOC_NONE;
}

struct ind_ctx {
	struct ioc_ctx *c;
	struct ioc_entry e;
	const char *where;
};

static void one_alt(const char *path, const char *value, void *arg)
{
	struct ind_ctx *x = arg;
	const char *why = NULL;
	enum hn_ioc_type t = path_type(path, &why);

	if (t == HN_IOC_NONE) {
		ioc_problem(x->c, 0, x->where, HN_IOC_UNSUPPORTED, "%s: %s", path, why);
		return;
	}
	/* network-traffic refs may name a domain-name object */
	if (!strncmp(path, "network-traffic:", 16)) {
		enum hn_ioc_type vt;
		char norm[512];
		if (hn_ioc_parse(HN_IOC_NONE, value, &vt, norm, sizeof(norm), &why) == 0 &&
		    vt == HN_IOC_DOMAIN)
			t = HN_IOC_DOMAIN;
	}
	if (t == HN_IOC_IP && ((!strcmp(path, "ipv4-addr:value") && strchr(value, ':')) ||
			       (!strcmp(path, "ipv6-addr:value") && !strchr(value, ':')))) {
		ioc_problem(x->c, 0, x->where, HN_IOC_INVALID, "%s: '%.60s' is not of that family",
			    path, value);
		return;
	}
	x->e.type = t;
	x->e.value = value;
	ioc_add(x->c, &x->e);
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool benign(json_t *o)
{
	json_t *types = json_object_get(o, "indicator_types"), *t;
	size_t i;

	if (!types)
		types = json_object_get(o, "labels");     /* STIX 2.0 */
	json_array_foreach(types, i, t)
		if (json_is_string(t) && !strcmp(json_string_value(t), "benign"))
			return true;
	return false;
}

static void indicator(struct ioc_ctx *c, json_t *o, json_t *identities, const char *path)
{
	struct ind_ctx x = { .c = c };
	char where[320], desc[IOC_DESC_MAX + 1], whybuf[256];
	const char *id = str(o, "id"), *ptype = str(o, "pattern_type"), *pattern, *name,
		   *d, *until, *why = NULL, *by;
	int r;

	if (id)
		snprintf(where, sizeof(where), "%s (%.200s)", path, id);
	else
		snprintf(where, sizeof(where), "%s", path);
	x.where = where;
	x.e.where = where;
	if (json_is_true(json_object_get(o, "revoked"))) {
		ioc_skip(c, HN_IOC_SKIP_REVOKED);
		return;
	}
	if (ptype && strcmp(ptype, "stix") != 0) {
		ioc_problem(c, 0, where, HN_IOC_UNSUPPORTED,
			    "pattern_type '%.40s' is not matched (stix is)", ptype);
		return;
	}
	pattern = str(o, "pattern");
	if (!pattern) {
		ioc_problem(c, 0, where, HN_IOC_INVALID, "an indicator without a \"pattern\" string");
		return;
	}
	until = str(o, "valid_until");
	if (until) {
		uint64_t ns = 0;
		size_t k = hn_rfc3339_parse(until, strlen(until), &ns);
		if (!k || until[k] != '\0') {
			ioc_problem(c, 0, where, HN_IOC_INVALID,
				    "valid_until '%.40s' is not a timestamp", until);
			return;
		}
		if (ns <= c->s->now) {
			ioc_skip(c, HN_IOC_SKIP_EXPIRED);
			return;
		}
		x.e.valid_until = ns;
	}
	if (benign(o)) {
		ioc_skip(c, HN_IOC_SKIP_BENIGN);
		return;
	}
	name = str(o, "name");
	d = str(o, "description");
	if (name && d && *name && *d)
		snprintf(desc, sizeof(desc), "%s - %s", name, d);
	else
		snprintf(desc, sizeof(desc), "%s", name && *name ? name : d ? d : "");
	x.e.description = desc;
	by = str(o, "created_by_ref");
	if (by && json_is_object(identities))
		x.e.author = str(identities, by);
	r = ioc_stix_pattern(pattern, one_alt, &x, &why, whybuf, sizeof(whybuf));
	if (r == -ENOTSUP)
		ioc_problem(c, 0, where, HN_IOC_UNSUPPORTED, "%s", why);
	else if (r < 0)
		ioc_problem(c, 0, where, HN_IOC_INVALID, "%s", why);
}

static bool is_type(json_t *o, const char *t)
{
	const char *v = str(o, "type");

	return v && !strcmp(v, t);
}

bool ioc_stix_like(json_t *root)
{
	json_t *x;
	size_t i;

	if (json_is_object(root))
		return is_type(root, "bundle") || is_type(root, "indicator") ||
		       (json_is_array(json_object_get(root, "objects")) &&
			!json_object_get(root, "Event"));
	if (json_is_array(root))
		json_array_foreach(root, i, x)
			if (json_is_object(x) && (json_object_get(x, "spec_version") ||
						  json_object_get(x, "pattern")))
				return true;
	return false;
}

void ioc_stix_load(struct ioc_ctx *c, json_t *root)
{
	json_t *objs = root, *o, *ids = json_object();
	const char *base = "$";
	char p[64];
	size_t i;

	if (json_is_object(root) && is_type(root, "indicator")) {
		indicator(c, root, NULL, "$");
		json_decref(ids);
		return;
	}
	if (json_is_object(root)) {
		objs = json_object_get(root, "objects");
		base = "$.objects";
	}
	if (!json_is_array(objs)) {
		ioc_problem(c, 0, "$", HN_IOC_INVALID, "a STIX bundle without an \"objects\" list");
		json_decref(ids);
		return;
	}
	/* identities first: indicators name their author by reference */
	json_array_foreach(objs, i, o) {
		const char *id = str(o, "id"), *name = str(o, "name");
		if (ids && is_type(o, "identity") && id && name)
			json_object_set_new(ids, id, json_string(name));
	}
	json_array_foreach(objs, i, o) {
		snprintf(p, sizeof(p), "%s[%zu]", base, i);
		if (!json_is_object(o)) {
			ioc_problem(c, 0, p, HN_IOC_INVALID, "a STIX object is a JSON object");
			continue;
		}
		if (is_type(o, "indicator"))
			indicator(c, o, ids, p);
	}
	json_decref(ids);
}
