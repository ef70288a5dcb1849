/*
 * match.h - Sigma value matching (internal to detect/): the values of one
 * detection item ("Field|mod|mod: value or list") compiled once, then
 * matched against a field's value many times.
 *
 * Semantics (Sigma specification, "Value modifiers"):
 *  - A plain string matches the whole field value, case-insensitively
 *    (ASCII letters), with the wildcards `*` (any run, empty included) and
 *    `?` (one byte).  A backslash escapes `*`, `?` and `\`; before any other
 *    character it is a plain backslash (`C:\Windows` stays as written).
 *  - contains / startswith / endswith: the value may appear anywhere / at
 *    the start / at the end (as if wrapped in `*`); wildcards still work.
 *  - all: every value of the list must match (otherwise one is enough).
 *  - cased: case-sensitive.
 *  - re: a PCRE2 regular expression, searched (not anchored),
 *    case-sensitive unless `i`; `m` multi-line, `s` dot matches newline
 *    (the sub-modifiers come as `re|i`, `re|m`, `re|s`).
 *  - cidr: the field is an IPv4/IPv6 address inside the network
 *    ("10.0.0.0/8", "fe80::/10"; a bare address is a /32 or /128; host
 *    bits set is an error, as in pySigma).  An IPv4-mapped IPv6 field
 *    (::ffff:a.b.c.d) is its IPv4 address.
 *  - base64: the value base64-encoded (standard alphabet, with padding) is
 *    what is looked for; base64offset: the three encodings of the value at
 *    byte offsets 0, 1, 2 within a base64 stream, without the characters
 *    that depend on what surrounds it (any one of them matches; pySigma's
 *    cut: 0, 2, 3 characters at the start by offset, 0, 3, 2 at the end by
 *    (offset + length) % 3); both are combined with contains/startswith/
 *    endswith as written (base64offset alone means contains).  The value
 *    may not have wildcards nor be empty; base64offset needs 2 bytes.
 *  - wide / utf16le / utf16be / utf16: the value (UTF-8) is converted to
 *    that encoding before base64 (utf16 = utf16le with a BOM), as Sigma
 *    does; only with base64 or base64offset.
 *  - windash: a `-` or `/` at the start of a word (after the start, a
 *    wildcard or a byte that is not a letter, digit or `_`, and before one
 *    that is; bytes >= 0x80 count as letters: pySigma's \B[-/]\b) may be
 *    any of `-`, `/`, U+2013, U+2014, U+2015: the value expands to every
 *    variant.  At most 4 such characters in a value (625 variants).
 *  - exists: the value is `true` or `false`: the field is present / absent.
 *  - fieldref: the values are names of other fields of the same event; the
 *    field matches when it equals one of theirs (with contains /
 *    startswith / endswith: contains it, ...), case-insensitively unless
 *    cased; an absent field on either side matches nothing.  The names are
 *    resolved and compared by the engine (rules.c, engine.c): a list of
 *    these modifiers is never given values here.
 *  - gt / gte / lt / lte: the field and the value are numbers (integers or
 *    decimals: a sign, digits with or without a fraction or a fraction
 *    alone, an exponent; at most 64 bytes; no spaces, hex, inf or nan;
 *    integers that fit an int64 compare exactly); a field that is not a
 *    number does not match.
 *  - A value that is null matches a field that is absent or empty.
 *  - An empty string matches an empty (or absent) field.
 *  - An absent field matches nothing else (`*` needs a field, empty or
 *    not).
 *  - Numbers and booleans in YAML are matched as their text ("443",
 *    "true"), as Sigma's backends do.
 *
 * Regular expressions are compiled without UTF (PCRE2_NEVER_UTF: bytes),
 * JIT-compiled when the JIT is there, and matched with a match limit of
 * 1,000,000 (a pattern that exceeds it does not match).
 *
 * Memory: a list owns its compiled patterns; hn_sm_list_release frees
 * them.  Matching does not allocate, but for a thread's first regular
 * expression match (its PCRE2 match data is made once per thread, and
 * freed when the thread exits).
 */
#ifndef HINOMI_DETECT_MATCH_H
#define HINOMI_DETECT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Modifiers, as parsed from "Field|mod|mod". */
enum hn_sm_mod {
	HN_SM_CONTAINS     = 1u << 0,
	HN_SM_STARTSWITH   = 1u << 1,
	HN_SM_ENDSWITH     = 1u << 2,
	HN_SM_ALL          = 1u << 3,
	HN_SM_CASED        = 1u << 4,
	HN_SM_RE           = 1u << 5,
	HN_SM_RE_I         = 1u << 6,
	HN_SM_RE_M         = 1u << 7,
	HN_SM_RE_S         = 1u << 8,
	HN_SM_CIDR         = 1u << 9,
	HN_SM_BASE64       = 1u << 10,
	HN_SM_BASE64OFFSET = 1u << 11,
	HN_SM_WIDE         = 1u << 12,   /* wide = utf16le */
	HN_SM_UTF16BE      = 1u << 13,
	HN_SM_UTF16        = 1u << 14,   /* utf16le with BOM */
	HN_SM_WINDASH      = 1u << 15,
	HN_SM_EXISTS       = 1u << 16,
	HN_SM_GT           = 1u << 17,
	HN_SM_GTE          = 1u << 18,
	HN_SM_LT           = 1u << 19,
	HN_SM_LTE          = 1u << 20,
	HN_SM_FIELDREF     = 1u << 21,   /* values are field names (rules.c, engine.c) */
};

/* How a YAML scalar was typed. */
enum hn_sm_vtype {
	HN_SM_V_STRING,
	HN_SM_V_NUMBER,   /* text as written ("443", "1.5") */
	HN_SM_V_BOOL,     /* "true" / "false" */
	HN_SM_V_NULL,     /* s is NULL */
};

/* A field value to match: bytes (not NUL-terminated), or absent. */
struct hn_sm_str {
	const char *s;
	size_t n;
	bool present;
};

struct hn_sm_pat;   /* one compiled alternative (match.c) */

/* The compiled values of one detection item. */
struct hn_sm_list {
	unsigned mods;
	/* groups[i] is one value as written: alternatives [start, end) of
	 * pats (a base64offset or windash value has several) */
	struct hn_sm_group {
		unsigned start, end;
	} *groups;
	unsigned ngroups, cap_groups;
	struct hn_sm_pat **pats;
	unsigned npats, cap_pats;
	/* match.c: a set of the literals when the list is all exact values
	 * or all "/name" suffixes (one look-up instead of a loop) */
	struct hn_sm_fast *fast;
	bool fast_off;
};

/*
 * Parse the modifier names after a field name ("contains", "all", "re",
 * "i", ...) into *mods.  Checks combinations that cannot mean anything
 * (re with contains, exists with anything else, two of gt/gte/lt/lte, a
 * sub-modifier of re without re, base64offset without contains/startswith/
 * endswith is allowed and means contains...).  0, or -EINVAL with a
 * one-line reason in err; -ENOTSUP (reason in err) for a modifier that is
 * valid Sigma but not supported here (fieldref, expand, neq, minute ...
 * year).  *mods is written only on success.
 */
int hn_sm_mods_parse(const char *const *names, unsigned n, unsigned *mods,
		     char *err, size_t errlen);

/* An empty list for these modifiers. */
void hn_sm_list_init(struct hn_sm_list *l, unsigned mods);

/*
 * Compile one value (as written in the rule, n bytes; s NULL for null)
 * into the list.  0; -EINVAL with a reason in err (a regular expression
 * that does not compile: PCRE2's message and offset; a cidr that is not a
 * network; gt with a value that is not a number; exists with a value other
 * than true/false; a null value with exists, gt.., cidr, re or base64; a
 * base64 value that is empty or has a wildcard; wide.. of a value that is
 * not UTF-8; windash beyond its bound; a value over 64 KiB); -ENOMEM.  A
 * failure leaves the list as it was.
 */
int hn_sm_list_add(struct hn_sm_list *l, enum hn_sm_vtype t, const char *s,
		   size_t n, char *err, size_t errlen);

/*
 * Does the field value v match the list: one group (every group with
 * HN_SM_ALL) has an alternative that matches?  An empty list matches
 * nothing.  v NULL is an absent field; v->s NULL is an empty one.
 * Thread-safe for concurrent callers (no shared scratch).
 */
bool hn_sm_list_match(const struct hn_sm_list *l, const struct hn_sm_str *v);

/* Free the patterns: l is left empty (mods kept) and may be added to
 * again.  NULL is fine. */
void hn_sm_list_release(struct hn_sm_list *l);

#endif
