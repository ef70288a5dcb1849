/*
 * test_sigma_match.c - Sigma value matching (detect/match.h): modifier
 * names and the combinations refused (with their messages); plain values
 * (whole, case-insensitive ASCII), cased, contains / startswith / endswith,
 * `*` and `?` (against a brute-force reference on random patterns, and a
 * pattern that would explode a backtracking matcher), escapes, all vs
 * any; re with i / m / s, a match the ovector is too small for, refused
 * patterns, from several threads; cidr v4 / v6 at the prefix boundaries;
 * base64, base64offset against real base64 of the value at every offset,
 * wide / utf16le / utf16be / utf16; windash variants and its bound;
 * exists, gt / gte / lt / lte, null and empty values, numbers and booleans
 * as text; and bad input (NULLs, huge values, NULs, invalid UTF-8) that
 * never crashes and leaves the list as it was.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "detect/match.h"

#define ERRLEN 256

/* ---- helpers ---- */

/* "contains|all" as modifiers; "" is none.  Must parse. */
static unsigned mods_of(const char *spec)
{
	char buf[256], err[ERRLEN] = "", *names[32], *save = NULL, *tok;
	unsigned n = 0, mods = ~0u;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, "|", &save); tok;
	     tok = strtok_r(NULL, "|", &save))
		names[n++] = tok;
	if (hn_sm_mods_parse((const char *const *)names, n, &mods, err,
			     sizeof(err)) != 0)
		fail_msg("mods '%s': %s", spec, err);
	return mods;
}

/* The return of parsing spec, its message in err; *mods untouched on
 * failure. */
static int mods_fail(const char *spec, char *err)
{
	char buf[256], *names[32], *save = NULL, *tok;
	unsigned n = 0, mods = 12345;
	int r;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, "|", &save); tok;
	     tok = strtok_r(NULL, "|", &save))
		names[n++] = tok;
	err[0] = '\0';
	r = hn_sm_mods_parse((const char *const *)names, n, &mods, err,
			     ERRLEN);
	assert_int_equal(mods, 12345);
	return r;
}

static void add_typed(struct hn_sm_list *l, enum hn_sm_vtype t,
		      const char *s, size_t n)
{
	char err[ERRLEN] = "";

	if (hn_sm_list_add(l, t, s, n, err, sizeof(err)) != 0)
		fail_msg("add '%s': %s", s ? s : "(null)", err);
}

static void add(struct hn_sm_list *l, const char *s)
{
	add_typed(l, HN_SM_V_STRING, s, strlen(s));
}

/* A list of mods with string values (NULL-terminated). */
static void list_of(struct hn_sm_list *l, const char *mods, ...)
{
	va_list ap;
	const char *s;

	hn_sm_list_init(l, mods_of(mods));
	va_start(ap, mods);
	while ((s = va_arg(ap, const char *)))
		add(l, s);
	va_end(ap);
}

static bool mn(const struct hn_sm_list *l, const char *s, size_t n)
{
	struct hn_sm_str v = { s, n, true };

	return hn_sm_list_match(l, &v);
}

/* Field s (NULL: absent). */
static bool m(const struct hn_sm_list *l, const char *s)
{
	struct hn_sm_str v = { s, s ? strlen(s) : 0, s != NULL };

	return hn_sm_list_match(l, &v);
}

/* One string value under mods against one field (NULL: absent). */
static bool one(const char *mods, const char *val, const char *field)
{
	struct hn_sm_list l;
	bool r;

	list_of(&l, mods, val, NULL);
	r = m(&l, field);
	hn_sm_list_release(&l);
	return r;
}

/* Adding to a list of mods: its return, the message in err.  A failure
 * leaves the list as it was (one value added before it stays). */
static int add_fail(const char *mods, enum hn_sm_vtype t, const char *s,
		    size_t n, char *err)
{
	struct hn_sm_list l;
	unsigned ng, np;
	int r;

	list_of(&l, mods, NULL);
	/* a value before, when the modifiers take it */
	(void)hn_sm_list_add(&l, HN_SM_V_STRING, "1", 1, NULL, 0);
	ng = l.ngroups;
	np = l.npats;
	err[0] = '\0';
	r = hn_sm_list_add(&l, t, s, n, err, ERRLEN);
	if (r < 0) {
		assert_int_equal(l.ngroups, ng);
		assert_int_equal(l.npats, np);
		assert_true(strlen(err) > 0);
	}
	hn_sm_list_release(&l);
	return r;
}

static void assert_add_error(const char *mods, const char *val,
			     const char *msg)
{
	char err[ERRLEN];

	assert_int_equal(add_fail(mods, HN_SM_V_STRING, val, strlen(val), err),
			 -EINVAL);
	assert_string_equal(err, msg);
}

/* Base64 with padding, written unlike match.c's (a bit accumulator). */
static void ref_b64(const uint8_t *s, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"abcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | s[i]) & 0xffffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = a[(acc << (6 - bits)) & 63];
	while (o % 4)
		out[o++] = '=';
	out[o] = '\0';
}

/* ASCII as UTF-16LE into out; its length. */
static size_t ref_wide(const char *s, uint8_t *out)
{
	size_t n = 0;

	for (; *s; s++) {
		out[n++] = (uint8_t)*s;
		out[n++] = 0;
	}
	return n;
}

/* ---- modifiers ---- */

static void test_mods_parse_every_sigma_name(void **state)
{
	static const struct {
		const char *spec;
		unsigned mods;
	} ok[] = {
		{ "", 0 },
		{ "contains", HN_SM_CONTAINS },
		{ "startswith", HN_SM_STARTSWITH },
		{ "endswith", HN_SM_ENDSWITH },
		{ "all", HN_SM_ALL },
		{ "cased", HN_SM_CASED },
		{ "re", HN_SM_RE },
		{ "re|i|m|s", HN_SM_RE | HN_SM_RE_I | HN_SM_RE_M | HN_SM_RE_S },
		{ "re|ignorecase|multiline|dotall",
		  HN_SM_RE | HN_SM_RE_I | HN_SM_RE_M | HN_SM_RE_S },
		{ "cidr", HN_SM_CIDR },
		{ "base64", HN_SM_BASE64 },
		{ "base64offset", HN_SM_BASE64OFFSET },
		{ "wide|base64", HN_SM_WIDE | HN_SM_BASE64 },
		{ "utf16le|base64", HN_SM_WIDE | HN_SM_BASE64 },
		{ "utf16be|base64offset", HN_SM_UTF16BE | HN_SM_BASE64OFFSET },
		{ "utf16|base64offset", HN_SM_UTF16 | HN_SM_BASE64OFFSET },
		{ "windash", HN_SM_WINDASH },
		{ "exists", HN_SM_EXISTS },
		{ "gt", HN_SM_GT },
		{ "gte", HN_SM_GTE },
		{ "lt", HN_SM_LT },
		{ "lte", HN_SM_LTE },
		/* combinations that mean something */
		{ "re|all", HN_SM_RE | HN_SM_ALL },
		{ "cidr|all", HN_SM_CIDR | HN_SM_ALL },
		{ "gt|all", HN_SM_GT | HN_SM_ALL },
		{ "windash|contains|all|cased",
		  HN_SM_WINDASH | HN_SM_CONTAINS | HN_SM_ALL | HN_SM_CASED },
		{ "wide|base64offset|contains",
		  HN_SM_WIDE | HN_SM_BASE64OFFSET | HN_SM_CONTAINS },
		{ "base64|startswith|cased",
		  HN_SM_BASE64 | HN_SM_STARTSWITH | HN_SM_CASED },
		{ "windash|base64offset|endswith",
		  HN_SM_WINDASH | HN_SM_BASE64OFFSET | HN_SM_ENDSWITH },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (mods_of(ok[i].spec) != ok[i].mods)
			fail_msg("'%s': %#x, want %#x", ok[i].spec,
				 mods_of(ok[i].spec), ok[i].mods);
}

static void test_mods_parse_unknown_and_unsupported(void **state)
{
	const char *names[2];
	char err[ERRLEN];
	unsigned mods = 7;

	(void)state;
	assert_int_equal(mods_fail("Contains", err), -EINVAL);
	assert_string_equal(err, "unknown modifier 'Contains'");
	assert_int_equal(mods_fail("contains|nope", err), -EINVAL);
	assert_string_equal(err, "unknown modifier 'nope'");
	assert_int_equal(mods_fail("year", err), -ENOTSUP);
	assert_string_equal(err, "modifier 'year' is not supported");
	/* fieldref is supported, with what it can mean */
	assert_int_equal(mods_fail("fieldref|re", err), -EINVAL);
	assert_string_equal(err, "'fieldref' cannot be combined with 're'");
	assert_int_equal(mods_fail("contains|expand", err), -ENOTSUP);
	assert_string_equal(err, "modifier 'expand' is not supported");
	assert_int_equal(mods_fail("minute", err), -ENOTSUP);
	assert_int_equal(mods_fail("neq", err), -ENOTSUP);
	/* a name that is not printable is shown with '?', and cut */
	assert_int_equal(mods_fail("a\nb", err), -EINVAL);
	assert_string_equal(err, "unknown modifier 'a?b'");
	assert_int_equal(mods_fail("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
				   err), -EINVAL);
	assert_string_equal(err, "unknown modifier "
			    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'");

	/* empty and NULL names, no list */
	names[0] = "contains";
	names[1] = "";
	assert_int_equal(hn_sm_mods_parse(names, 2, &mods, err, ERRLEN),
			 -EINVAL);
	assert_string_equal(err, "empty modifier");
	names[1] = NULL;
	assert_int_equal(hn_sm_mods_parse(names, 2, &mods, err, ERRLEN),
			 -EINVAL);
	assert_string_equal(err, "empty modifier");
	assert_int_equal(hn_sm_mods_parse(NULL, 1, &mods, err, ERRLEN),
			 -EINVAL);
	assert_int_equal(hn_sm_mods_parse(names, 1, NULL, err, ERRLEN),
			 -EINVAL);
	assert_int_equal(mods, 7);
	/* no names at all: no modifiers; no room for a message is fine */
	assert_int_equal(hn_sm_mods_parse(NULL, 0, &mods, NULL, 0), 0);
	assert_int_equal(mods, 0);
	names[0] = "bogus";
	assert_int_equal(hn_sm_mods_parse(names, 1, &mods, NULL, 0), -EINVAL);
	/* a short buffer gets a cut message, NUL-terminated */
	memset(err, 'z', sizeof(err));
	assert_int_equal(hn_sm_mods_parse(names, 1, &mods, err, 8), -EINVAL);
	assert_string_equal(err, "unknown");
}

static void test_mods_parse_meaningless_combinations(void **state)
{
	static const struct {
		const char *spec, *msg;
	} bad[] = {
		{ "re|contains", "'re' cannot be combined with 'contains'" },
		{ "endswith|re", "'re' cannot be combined with 'endswith'" },
		{ "re|startswith", "'re' cannot be combined with 'startswith'" },
		{ "re|base64", "'re' cannot be combined with 'base64'" },
		{ "re|cased", "'re' cannot be combined with 'cased'" },
		{ "re|windash", "'re' cannot be combined with 'windash'" },
		{ "i", "modifier 'i' needs re" },
		{ "contains|m", "modifier 'm' needs re" },
		{ "dotall", "modifier 'dotall' needs re" },
		{ "exists|all", "'exists' cannot be combined with 'all'" },
		{ "contains|exists", "'exists' cannot be combined with 'contains'" },
		{ "exists|re", "'exists' cannot be combined with 're'" },
		{ "gt|lt", "'gt' and 'lt' cannot be combined" },
		{ "lte|gte", "'lte' and 'gte' cannot be combined" },
		{ "gte|contains", "'gte' cannot be combined with 'contains'" },
		{ "cased|lt", "'lt' cannot be combined with 'cased'" },
		{ "contains|endswith",
		  "'contains' and 'endswith' cannot be combined" },
		{ "startswith|endswith",
		  "'startswith' and 'endswith' cannot be combined" },
		{ "cidr|contains", "'cidr' cannot be combined with 'contains'" },
		{ "cased|cidr", "'cidr' cannot be combined with 'cased'" },
		{ "base64|base64offset",
		  "'base64' and 'base64offset' cannot be combined" },
		{ "wide|utf16be|base64",
		  "'wide' and 'utf16be' cannot be combined" },
		{ "wide", "modifier 'wide' needs base64 or base64offset" },
		{ "utf16le|contains",
		  "modifier 'utf16le' needs base64 or base64offset" },
		{ "contains|contains", "modifier 'contains' given twice" },
		{ "wide|utf16le|base64", "modifier 'utf16le' given twice" },
	};
	char err[ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mods_fail(bad[i].spec, err), -EINVAL);
		if (strcmp(err, bad[i].msg))
			fail_msg("'%s': \"%s\", want \"%s\"", bad[i].spec, err,
				 bad[i].msg);
	}
}

/* ---- strings ---- */

static void test_plain_value_matches_whole_field_ignoring_ascii_case(void **state)
{
	(void)state;
	assert_true(one("", "cmd.exe", "cmd.exe"));
	assert_true(one("", "cmd.exe", "CMD.EXE"));
	assert_true(one("", "CmD.eXe", "cMd.ExE"));
	assert_false(one("", "cmd.exe", "cmd.exe "));
	assert_false(one("", "cmd.exe", "xcmd.exe"));
	assert_false(one("", "cmd.exe", "cmd.ex"));
	assert_false(one("", "cmd.exe", ""));
	assert_false(one("", "cmd.exe", NULL));
	/* only ASCII letters fold: é (C3 A9) is not É (C3 89) */
	assert_true(one("", "caf\xc3\xa9", "CAF\xc3\xa9"));
	assert_false(one("", "caf\xc3\xa9", "caf\xc3\x89"));
	/* no folding of neighbours of the letter range */
	assert_false(one("", "@", "`"));
	assert_false(one("", "[", "{"));
	assert_false(one("contains", "a[", "A{"));
}

static void test_cased_is_case_sensitive(void **state)
{
	(void)state;
	assert_true(one("cased", "Cmd.exe", "Cmd.exe"));
	assert_false(one("cased", "Cmd.exe", "cmd.exe"));
	assert_false(one("cased", "Cmd.exe", "CMD.EXE"));
	assert_true(one("cased|contains", "Invoke-", "x Invoke-Expr"));
	assert_false(one("cased|contains", "Invoke-", "x invoke-Expr"));
	assert_true(one("cased|startswith", "ABC", "ABCdef"));
	assert_false(one("cased|startswith", "ABC", "abcdef"));
	assert_true(one("cased|endswith", "XyZ", "..XyZ"));
	assert_false(one("cased|endswith", "XyZ", "..xyz"));
	assert_true(one("cased", "A*b?C", "AxxxbyC"));
	assert_false(one("cased", "A*b?C", "axxxbyC"));
	assert_false(one("cased", "A*b?C", "AxxxByC"));
}

static void test_contains_startswith_endswith(void **state)
{
	(void)state;
	assert_true(one("contains", "whoami", "sudo WHOAMI now"));
	assert_true(one("contains", "whoami", "whoami"));
	assert_true(one("contains", "whoami", "xwhoami"));
	assert_true(one("contains", "whoami", "whoamix"));
	assert_false(one("contains", "whoami", "whoam"));
	assert_false(one("contains", "whoami", "who ami"));
	assert_false(one("contains", "whoami", ""));
	assert_false(one("contains", "whoami", NULL));
	/* a near miss before the real one */
	assert_true(one("contains", "aab", "aaaab"));
	assert_true(one("contains", "abab", "abaabab"));

	assert_true(one("startswith", "/usr/", "/USR/bin/x"));
	assert_true(one("startswith", "/usr/", "/usr/"));
	assert_false(one("startswith", "/usr/", "/us"));
	assert_false(one("startswith", "/usr/", "x/usr/bin"));

	assert_true(one("endswith", "/sh", "/bin/SH"));
	assert_true(one("endswith", "/sh", "/sh"));
	assert_false(one("endswith", "/sh", "sh"));
	assert_false(one("endswith", "/sh", "/bin/shx"));

	/* wildcards still work inside */
	assert_true(one("contains", "a*z", "123 abcz 456"));
	assert_false(one("contains", "a*z", "123 zbca 456"));
	assert_true(one("startswith", "a?c", "abcdef"));
	assert_false(one("startswith", "a?c", "acdef"));
	assert_true(one("endswith", "a*c", "xxabbbc"));
	assert_false(one("endswith", "a*c", "xxabbbcd"));
	/* a value that already has the star is the same */
	assert_true(one("contains", "*who*", "xwhox"));
	assert_true(one("startswith", "who*", "whox"));
	assert_true(one("endswith", "*who", "xwho"));
}

static void test_wildcard_corner_cases(void **state)
{
	(void)state;
	/* `*` alone and `**`: any present value, empty included */
	assert_true(one("", "*", "anything"));
	assert_true(one("", "*", ""));
	assert_false(one("", "*", NULL));
	assert_true(one("", "**", "x"));
	assert_true(one("", "**", ""));
	assert_false(one("", "**", NULL));
	assert_true(one("", "a**b", "ab"));
	assert_true(one("", "a**b", "axxb"));
	/* `?` is exactly one byte, at either end too */
	assert_true(one("", "?", "x"));
	assert_false(one("", "?", ""));
	assert_false(one("", "?", "xy"));
	assert_true(one("", "??", "\xc3\xa9"));
	assert_true(one("", "?bc", "abc"));
	assert_false(one("", "?bc", "bc"));
	assert_true(one("", "ab?", "abc"));
	assert_false(one("", "ab?", "ab"));
	assert_false(one("", "ab?", "abcd"));
	assert_true(one("", "a?c", "aXc"));
	assert_false(one("", "a?c", "ac"));
	assert_false(one("", "a?c", "abbc"));
	assert_true(one("", "*?", "x"));
	assert_false(one("", "*?", ""));
	assert_true(one("", "?*?", "xy"));
	assert_false(one("", "?*?", "x"));
	/* anchored ends must not overlap */
	assert_false(one("", "ab*ba", "aba"));
	assert_true(one("", "ab*ba", "abba"));
	assert_true(one("", "ab*ba", "abxba"));
	assert_false(one("", "a*a", "a"));
	assert_true(one("", "a*a", "aa"));
	/* segments in order, each after the previous */
	assert_true(one("", "*a*b*c*", "xxaxxbxxcxx"));
	assert_false(one("", "*a*b*c*", "xxcxxbxxaxx"));
	assert_true(one("", "a*b*c", "abc"));
	assert_true(one("", "a*b*c", "aXbXbXc"));
	assert_false(one("", "a*b*c", "aXbXcX"));
	assert_true(one("", "*.exe", "C:\\x\\a.EXE"));
	assert_false(one("", "*.exe", "C:\\x\\a.exe.txt"));
	assert_true(one("", "*b?d*", "abcde"));
	assert_false(one("", "*b?d*", "abde"));
	assert_true(one("", "a*?b", "axb"));
	assert_false(one("", "a*?b", "ab"));
	assert_true(one("", "*?x?*", "axb"));
	assert_true(one("", "*??*", "ab"));
	assert_false(one("", "*???*", "ab"));
}

/* A small glob matcher, exponential but obviously right. */
static bool ref_glob(const char *p, const char *s, bool cased)
{
	if (!*p)
		return !*s;
	if (*p == '*')
		return ref_glob(p + 1, s, cased) ||
		       (*s && ref_glob(p, s + 1, cased));
	if (!*s)
		return false;
	if (*p == '?')
		return ref_glob(p + 1, s + 1, cased);
	if (cased ? *p != *s : (*p | 0x20) != (*s | 0x20))
		return false;
	return ref_glob(p + 1, s + 1, cased);
}

static void test_wildcards_agree_with_a_reference_matcher(void **state)
{
	static const char pa[] = "aAb**?";     /* pattern alphabet */
	static const char fa[] = "aAbB";       /* field alphabet */
	static const char *const mods[] = {
		"", "contains", "startswith", "endswith", "cased",
		"cased|contains",
	};
	uint32_t x = 12345;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		char pat[12], wrapped[16], field[16];
		size_t pn, fn, mi;
		struct hn_sm_list l;
		bool want, got;

		x = x * 1103515245u + 12345u;
		pn = (x >> 16) % 9;
		for (size_t i = 0; i < pn; i++) {
			x = x * 1103515245u + 12345u;
			pat[i] = pa[(x >> 16) % 6];
		}
		pat[pn] = '\0';
		x = x * 1103515245u + 12345u;
		fn = (x >> 16) % 12;
		for (size_t i = 0; i < fn; i++) {
			x = x * 1103515245u + 12345u;
			field[i] = fa[(x >> 16) % 4];
		}
		field[fn] = '\0';
		x = x * 1103515245u + 12345u;
		mi = (x >> 16) % 6;
		snprintf(wrapped, sizeof(wrapped), "%s%s%s",
			 strstr(mods[mi], "contains") ||
			 strstr(mods[mi], "endswith") ? "*" : "", pat,
			 strstr(mods[mi], "contains") ||
			 strstr(mods[mi], "startswith") ? "*" : "");
		want = ref_glob(wrapped, field, strstr(mods[mi], "cased"));
		list_of(&l, mods[mi], pat, NULL);
		got = m(&l, field);
		hn_sm_list_release(&l);
		if (got != want)
			fail_msg("mods '%s' pattern '%s' field '%s': %d, "
				 "want %d", mods[mi], pat, field, got, want);
	}
}

static void test_many_stars_do_not_backtrack(void **state)
{
	const size_t n = 1 << 20;
	char *field = malloc(n);
	struct hn_sm_list l;
	struct timespec t0, t1;
	double s;

	(void)state;
	assert_non_null(field);
	memset(field, 'a', n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	list_of(&l, "", "*a*a*a*a*a*a*a*a*a*a*b*", "*a?a?a?a?a?a?a?b*",
		"a*a*a*a*a*a*a*a*a*a*b", NULL);
	for (int i = 0; i < 10; i++)
		assert_false(mn(&l, field, n));
	field[n - 1] = 'b';
	assert_true(mn(&l, field, n));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* linear: milliseconds; a backtracking matcher: years */
	assert_true(s < 10.0);
	hn_sm_list_release(&l);
	free(field);
}

static void test_escapes(void **state)
{
	(void)state;
	/* \* and \? are the characters themselves */
	assert_true(one("", "a\\*b", "a*b"));
	assert_false(one("", "a\\*b", "axb"));
	assert_false(one("", "a\\*b", "ab"));
	assert_true(one("", "a\\?b", "a?b"));
	assert_false(one("", "a\\?b", "axb"));
	/* \\ is one backslash */
	assert_true(one("", "C:\\\\Windows", "C:\\Windows"));
	assert_false(one("", "C:\\\\Windows", "C:\\\\Windows"));
	/* a backslash before anything else is itself */
	assert_true(one("", "C:\\Windows\\System32", "c:\\windows\\system32"));
	assert_true(one("", "\\\\server\\share", "\\server\\share"));
	/* at the end it is itself */
	assert_true(one("", "abc\\", "abc\\"));
	assert_false(one("", "abc\\", "abc"));
	assert_true(one("endswith", "\\", "C:\\"));
	/* \\* is a backslash then a wildcard; \\\* a backslash and a star */
	assert_true(one("", "a\\\\*", "a\\xyz"));
	assert_true(one("", "a\\\\*", "a\\"));
	assert_false(one("", "a\\\\*", "axyz"));
	assert_true(one("", "a\\\\\\*", "a\\*"));
	assert_false(one("", "a\\\\\\*", "a\\x"));
	/* an escaped star inside contains */
	assert_true(one("contains", "\\*.txt", "rm *.txt now"));
	assert_false(one("contains", "\\*.txt", "rm a.txt now"));
	/* escapes of cased values */
	assert_true(one("cased", "X\\?", "X?"));
	assert_false(one("cased", "X\\?", "x?"));
}

static void test_all_needs_every_value_any_needs_one(void **state)
{
	struct hn_sm_list any, all, none;

	(void)state;
	list_of(&any, "contains", "-enc", "bypass", NULL);
	list_of(&all, "contains|all", "-enc", "bypass", NULL);
	assert_true(m(&any, "x -enc y"));
	assert_true(m(&any, "x BYPASS"));
	assert_false(m(&any, "x y"));
	assert_false(m(&all, "x -enc y"));
	assert_false(m(&all, "x BYPASS"));
	assert_true(m(&all, "bypass -EnC"));
	assert_false(m(&all, NULL));
	assert_int_equal(any.ngroups, 2);
	assert_int_equal(any.npats, 2);
	/* an empty list matches nothing, with or without all */
	list_of(&none, "all", NULL);
	assert_false(m(&none, "x"));
	assert_false(m(&none, NULL));
	hn_sm_list_release(&none);
	list_of(&none, "", NULL);
	assert_false(m(&none, ""));
	hn_sm_list_release(&none);
	hn_sm_list_release(&any);
	hn_sm_list_release(&all);
}

/* ---- regular expressions ---- */

static void test_re_searches_case_sensitive_with_flags(void **state)
{
	(void)state;
	assert_true(one("re", "b+c", "aabbbcdd"));
	assert_false(one("re", "b+c", "aaBBBCdd"));
	assert_true(one("re|i", "b+c", "aaBBBCdd"));
	assert_true(one("re", "^ab", "abc"));
	assert_false(one("re", "^bc", "abc"));
	assert_false(one("re", "x", NULL));
	assert_true(one("re", "^$", ""));
	assert_false(one("re", "^$", NULL));
	/* m: ^ and $ at lines */
	assert_false(one("re", "^two$", "one\ntwo\nthree"));
	assert_true(one("re|m", "^two$", "one\ntwo\nthree"));
	/* s: dot matches a newline */
	assert_false(one("re", "one.two", "one\ntwo"));
	assert_true(one("re|s", "one.two", "one\ntwo"));
	assert_true(one("re|i|m|s", "ONE.^TWO$", "one\ntwo"));
	/* more groups than the one ovector pair: still a match */
	assert_true(one("re", "(a)(b)(c)(d)", "xabcdx"));
	/* the value is the pattern as written, Sigma escapes do not apply */
	assert_true(one("re", "a\\*b", "a*b"));
	assert_false(one("re", "a\\*b", "aab"));
	assert_true(one("re", "C:\\\\Windows", "C:\\Windows"));
	/* all: every pattern */
	assert_true(one("re|all", "a", "a"));
	{
		struct hn_sm_list l;

		list_of(&l, "re|all", "^a", "z$", NULL);
		assert_true(m(&l, "abcz"));
		assert_false(m(&l, "abc"));
		hn_sm_list_release(&l);
	}
}

static void test_re_bytes_and_nuls(void **state)
{
	struct hn_sm_list l;

	(void)state;
	list_of(&l, "re", "a.b", NULL);
	assert_true(mn(&l, "a\0b", 3));
	assert_false(mn(&l, "a\0\0b", 4));
	hn_sm_list_release(&l);
	/* a pattern with a NUL, n bytes */
	hn_sm_list_init(&l, mods_of("re"));
	add_typed(&l, HN_SM_V_STRING, "x\0y", 3);
	assert_true(mn(&l, "_x\0y_", 5));
	assert_false(m(&l, "x"));
	hn_sm_list_release(&l);
	/* not UTF: bytes, and invalid UTF-8 is just bytes */
	assert_true(one("re", "^..$", "\xc3\xa9"));
	assert_true(one("re", "\xff", "a\xff"));
}

/* What the pattern says a match needs (its length, an anchored first
 * byte, a byte that must be somewhere) is checked before PCRE2 runs:
 * never a match lost at those edges. */
static void test_re_needs_checked_first(void **state)
{
	(void)state;
	/* the shortest match: exactly minlen bytes is enough */
	assert_true(one("re", "[^/]{5,}$", "abcde"));
	assert_false(one("re", "[^/]{5,}$", "/abcd"));
	assert_false(one("re", "[^/]{5,}$", ""));
	/* anchored: the first byte, in either case when caseless */
	assert_true(one("re", "^\\[k", "[kworker/0:1]"));
	assert_false(one("re", "^\\[k", " [kworker/0:1]"));
	assert_true(one("re|i", "^abc", "ABCd"));
	assert_false(one("re", "^abc", "ABCd"));
	assert_true(one("re", "(?i)^x", "X"));
	assert_true(one("re", "^(?i:a)b", "Ab"));
	/* not anchored (multiline ^, or a branch without ^) */
	assert_true(one("re|m", "^b", "a\nb"));
	assert_true(one("re", "^a|b", "xb"));
	/* a byte that must be there, found in the other case */
	assert_true(one("re", "(?i)ab+z", "xABBZ"));
	assert_true(one("re", "a(?i:z)", "aZ"));
	assert_true(one("re|i", "x.*q", "X--Q"));
	assert_false(one("re", "x.*q", "X--Q"));
	/* the required byte beyond a NUL */
	{
		struct hn_sm_list l;

		list_of(&l, "re", "a.*z", NULL);
		assert_true(mn(&l, "a\0\0z", 4));
		assert_false(mn(&l, "a\0\0y", 4));
		hn_sm_list_release(&l);
	}
}

static void test_re_errors(void **state)
{
	char err[ERRLEN];

	(void)state;
	assert_add_error("re", "(abc",
			 "re '(abc': missing closing parenthesis at offset 4");
	assert_add_error("re", "a{2,1}",
			 "re 'a{2,1}': numbers out of order in {} quantifier "
			 "at offset 5");
	/* the pattern cannot turn UTF on (the JIT does not check it) */
	assert_int_equal(add_fail("re", HN_SM_V_STRING, "(*UTF)x", 7, err),
			 -EINVAL);
	assert_non_null(strstr(err, "re '(*UTF)x': "));
	assert_non_null(strstr(err, "UTF is disabled"));
	assert_add_error("re|i", "[z-a]", "re '[z-a]': range out of order in "
			 "character class at offset 3");
}

struct re_job {
	const struct hn_sm_list *l;
	int bad;
};

static void *re_worker(void *arg)
{
	struct re_job *j = arg;

	for (int i = 0; i < 2000; i++) {
		if (!m(j->l, "powershell -EncodedCommand AAAA"))
			j->bad++;
		if (m(j->l, "bash -c id"))
			j->bad++;
	}
	return NULL;
}

static void test_re_from_several_threads(void **state)
{
	struct re_job jobs[4];
	pthread_t th[4];
	struct hn_sm_list l;

	(void)state;
	list_of(&l, "re|i", "-e(nc(odedcommand)?)?\\s", "^nope$", NULL);
	for (int i = 0; i < 4; i++) {
		jobs[i].l = &l;
		jobs[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, re_worker,
						&jobs[i]), 0);
	}
	/* every thread joined before any check can end the test */
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(jobs[i].bad, 0);
	/* and this thread too */
	jobs[0].bad = 0;
	re_worker(&jobs[0]);
	assert_int_equal(jobs[0].bad, 0);
	hn_sm_list_release(&l);
}

/* ---- cidr ---- */

static void test_cidr_v4(void **state)
{
	struct hn_sm_list l;

	(void)state;
	list_of(&l, "cidr", "10.0.0.0/8", NULL);
	assert_true(m(&l, "10.0.0.0"));
	assert_true(m(&l, "10.1.2.3"));
	assert_true(m(&l, "10.255.255.255"));
	assert_false(m(&l, "9.255.255.255"));
	assert_false(m(&l, "11.0.0.0"));
	/* IPv4-mapped IPv6 is the IPv4 address */
	assert_true(m(&l, "::ffff:10.1.2.3"));
	assert_false(m(&l, "::ffff:11.1.2.3"));
	assert_false(m(&l, "::10.1.2.3"));
	/* not addresses */
	assert_false(m(&l, "10.1.2.3:443"));
	assert_false(m(&l, "10.1.2"));
	assert_false(m(&l, " 10.1.2.3"));
	assert_false(m(&l, "10.1.2.3 "));
	assert_false(m(&l, "ten"));
	assert_false(m(&l, ""));
	assert_false(m(&l, NULL));
	assert_false(mn(&l, "10.1.2.3\0junk", 13));
	assert_false(m(&l, "10.1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18."
		       "19.20.21.22.23.24"));
	hn_sm_list_release(&l);

	list_of(&l, "cidr", "192.168.1.128/25", NULL);
	assert_true(m(&l, "192.168.1.128"));
	assert_true(m(&l, "192.168.1.255"));
	assert_false(m(&l, "192.168.1.127"));
	assert_false(m(&l, "192.168.2.128"));
	hn_sm_list_release(&l);

	list_of(&l, "cidr", "172.16.0.0/12", "127.0.0.1", NULL);
	assert_true(m(&l, "172.31.255.255"));
	assert_false(m(&l, "172.32.0.0"));
	assert_false(m(&l, "172.15.255.255"));
	assert_true(m(&l, "127.0.0.1"));
	assert_false(m(&l, "127.0.0.2"));
	hn_sm_list_release(&l);

	list_of(&l, "cidr", "0.0.0.0/0", NULL);
	assert_true(m(&l, "0.0.0.0"));
	assert_true(m(&l, "255.255.255.255"));
	assert_false(m(&l, "::1"));
	hn_sm_list_release(&l);

	list_of(&l, "cidr", "1.2.3.4/31", NULL);
	assert_false(one("cidr", "1.2.3.4/31", "1.2.3.3"));
	assert_true(m(&l, "1.2.3.4"));
	assert_true(m(&l, "1.2.3.5"));
	assert_false(m(&l, "1.2.3.6"));
	hn_sm_list_release(&l);

	/* all: inside every network */
	list_of(&l, "cidr|all", "10.0.0.0/8", "10.1.0.0/16", NULL);
	assert_true(m(&l, "10.1.9.9"));
	assert_false(m(&l, "10.2.9.9"));
	hn_sm_list_release(&l);
}

static void test_cidr_v6(void **state)
{
	struct hn_sm_list l;

	(void)state;
	list_of(&l, "cidr", "fe80::/10", NULL);
	assert_true(m(&l, "fe80::1"));
	assert_true(m(&l, "FEBF:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(m(&l, "fec0::"));
	assert_false(m(&l, "fe7f:ffff::1"));
	assert_false(m(&l, "10.0.0.1"));
	assert_false(m(&l, "fe80::1%eth0"));
	hn_sm_list_release(&l);

	list_of(&l, "cidr", "2001:db8::/32", "::1", NULL);
	assert_true(m(&l, "2001:db8::"));
	assert_true(m(&l, "2001:0db8:ffff::42"));
	assert_false(m(&l, "2001:db9::"));
	assert_true(m(&l, "::1"));
	assert_true(m(&l, "0:0:0:0:0:0:0:1"));
	assert_false(m(&l, "::2"));
	assert_false(m(&l, "127.0.0.1"));
	hn_sm_list_release(&l);

	list_of(&l, "cidr", "2001:db8::8000/113", NULL);
	assert_true(m(&l, "2001:db8::8000"));
	assert_true(m(&l, "2001:db8::ffff"));
	assert_false(m(&l, "2001:db8::7fff"));
	assert_false(m(&l, "2001:db8::1:8000"));
	hn_sm_list_release(&l);

	assert_true(one("cidr", "::/0", "ffff::"));
	assert_true(one("cidr", "::ffff:0:0/96", "::ffff:1.2.3.4"));
}

static void test_cidr_errors(void **state)
{
	char err[ERRLEN];

	(void)state;
	assert_add_error("cidr", "10.0.0.1/8",
			 "cidr '10.0.0.1/8' has host bits set");
	assert_add_error("cidr", "fe80::1/10",
			 "cidr 'fe80::1/10' has host bits set");
	assert_add_error("cidr", "10.0.0.0/33",
			 "cidr '10.0.0.0/33' has a bad prefix length");
	assert_add_error("cidr", "::/129",
			 "cidr '::/129' has a bad prefix length");
	assert_add_error("cidr", "10.0.0.0/",
			 "cidr '10.0.0.0/' has a bad prefix length");
	assert_add_error("cidr", "10.0.0.0/-8",
			 "cidr '10.0.0.0/-8' has a bad prefix length");
	assert_add_error("cidr", "10.0.0.0/0008",
			 "cidr '10.0.0.0/0008' has a bad prefix length");
	assert_add_error("cidr", "10.0.0.0/8/8",
			 "cidr '10.0.0.0/8/8' has a bad prefix length");
	assert_add_error("cidr", "localhost",
			 "cidr 'localhost' is not an address or network");
	assert_add_error("cidr", "10.0.0/8",
			 "cidr '10.0.0/8' is not an address or network");
	assert_add_error("cidr", "", "cidr '' is not an address or network");
	assert_add_error("cidr", "a\nb",
			 "cidr 'a?b' is not an address or network");
	assert_int_equal(add_fail("cidr", HN_SM_V_STRING, "10.0.0.0\0/8", 11,
				  err), -EINVAL);
	assert_string_equal(err, "cidr '10.0.0.0?/8' is not an address or "
			    "network");
	assert_int_equal(add_fail("cidr", HN_SM_V_NULL, NULL, 0, err),
			 -EINVAL);
	assert_string_equal(err, "a null value cannot be used with 'cidr'");
}

/* ---- base64 and encodings ---- */

static void test_base64(void **state)
{
	char err[ERRLEN];

	(void)state;
	assert_true(one("base64", "cmd", "Y21k"));
	assert_false(one("base64", "cmd", "xY21k"));
	assert_true(one("base64|contains", "cmd", "xxY21kyy"));
	assert_true(one("base64|startswith", "cmd", "Y21kyy"));
	assert_false(one("base64|startswith", "cmd", "xY21k"));
	assert_true(one("base64|endswith", "cmd", "xxY21k"));
	assert_true(one("base64", "ab", "YWI="));
	assert_true(one("base64", "a", "YQ=="));
	/* escapes are applied before encoding */
	assert_true(one("base64", "a\\*", "YSo="));
	/* Sigma matching is case-insensitive unless cased */
	assert_true(one("base64", "cmd", "y21K"));
	assert_false(one("base64|cased", "cmd", "y21K"));
	assert_true(one("base64|cased", "cmd", "Y21k"));

	assert_add_error("base64", "a*b",
			 "base64 value 'a*b' has a wildcard (escape it with \\)");
	assert_add_error("base64offset|contains", "who?mi",
			 "base64offset value 'who?mi' has a wildcard (escape "
			 "it with \\)");
	assert_add_error("base64", "", "base64 of an empty value");
	assert_add_error("base64offset", "", "base64offset of an empty value");
	assert_add_error("base64offset|contains", "a",
			 "base64offset value 'a' is too short (at least 2 "
			 "bytes)");
	assert_int_equal(add_fail("base64", HN_SM_V_NULL, NULL, 0, err),
			 -EINVAL);
	assert_string_equal(err, "a null value cannot be used with 'base64'");
}

static void test_base64offset_variants_are_pysigmas(void **state)
{
	struct hn_sm_list l;

	(void)state;
	/* pySigma: foobar -> Zm9vYmFy, Zvb2Jhc, mb29iYX */
	list_of(&l, "base64offset|cased", "foobar", NULL);
	assert_int_equal(l.ngroups, 1);
	assert_int_equal(l.groups[0].end - l.groups[0].start, 3);
	assert_true(m(&l, "Zm9vYmFy"));
	assert_true(m(&l, "Zvb2Jhc"));
	assert_true(m(&l, "mb29iYX"));
	assert_false(m(&l, "Zm9vYmF"));
	assert_false(m(&l, "m9vYmFy"));
	assert_false(m(&l, "Zvb2Jh"));
	assert_false(m(&l, "vb2Jhc"));
	assert_false(m(&l, "mb29iY"));
	assert_false(m(&l, "b29iYX"));
	/* alone it means contains */
	assert_true(m(&l, "..Zvb2Jhc.."));
	hn_sm_list_release(&l);
	/* ab -> YW, Fi, hY;  abc -> YWJj, FiY, hYm */
	list_of(&l, "base64offset|cased", "ab", NULL);
	assert_true(m(&l, "YW"));
	assert_true(m(&l, "Fi"));
	assert_true(m(&l, "hY"));
	assert_false(m(&l, "Yw"));
	hn_sm_list_release(&l);
	list_of(&l, "base64offset|startswith|cased", "abc", NULL);
	assert_true(m(&l, "YWJjZA=="));
	assert_true(m(&l, "FiY..."));
	assert_true(m(&l, "hYm"));
	assert_false(m(&l, "xYWJj"));
	hn_sm_list_release(&l);
	list_of(&l, "base64offset|endswith|cased", "abc", NULL);
	assert_true(m(&l, "xxYWJj"));
	assert_false(m(&l, "YWJjx"));
	hn_sm_list_release(&l);
}

/* The value inside real base64 streams: every prefix length (so every
 * offset, twice) and every suffix length. */
static void check_b64_streams(const struct hn_sm_list *l, const char *value,
			      bool wide, bool want)
{
	static const char *const pre[] = { "", "x", "xx", "xxx", "xxxx",
					   "hello " };
	static const char *const suf[] = { "", "y", "yy", "yyy" };
	char text[256], b64[512];
	uint8_t bytes[512];

	for (size_t p = 0; p < sizeof(pre) / sizeof(pre[0]); p++)
		for (size_t s = 0; s < sizeof(suf) / sizeof(suf[0]); s++) {
			size_t n;

			snprintf(text, sizeof(text), "%s%s%s", pre[p], value,
				 suf[s]);
			if (wide) {
				n = ref_wide(text, bytes);
			} else {
				n = strlen(text);
				memcpy(bytes, text, n);
			}
			ref_b64(bytes, n, b64);
			if (m(l, b64) != want)
				fail_msg("'%s' in '%s' (%s): %d, want %d",
					 value, text, b64, !want, want);
		}
}

static void test_base64offset_finds_the_value_at_every_offset(void **state)
{
	static const char *const values[] = {
		"ab", "abc", "abcd", "whoami", "/bin/sh -c id", "Invoke-Mimikatz",
	};
	struct hn_sm_list l;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		list_of(&l, "base64offset|contains|cased", values[i], NULL);
		check_b64_streams(&l, values[i], false, true);
		hn_sm_list_release(&l);
		list_of(&l, "base64offset|contains", values[i], NULL);
		check_b64_streams(&l, values[i], false, true);
		hn_sm_list_release(&l);
		list_of(&l, "base64offset", values[i], NULL);
		check_b64_streams(&l, values[i], false, true);
		hn_sm_list_release(&l);
		list_of(&l, "wide|base64offset|contains", values[i], NULL);
		check_b64_streams(&l, values[i], true, true);
		/* the wide value is not in a stream of the narrow text */
		check_b64_streams(&l, values[i], false, false);
		hn_sm_list_release(&l);
	}
	/* a near miss is not found at any offset */
	list_of(&l, "base64offset|contains|cased", "whoami", NULL);
	check_b64_streams(&l, "whoam1", false, false);
	check_b64_streams(&l, "xhoami", false, false);
	hn_sm_list_release(&l);
}

static void test_wide_utf16_encodings(void **state)
{
	(void)state;
	assert_true(one("wide|base64", "cmd", "YwBtAGQA"));
	assert_true(one("utf16le|base64", "cmd", "YwBtAGQA"));
	assert_true(one("utf16be|base64", "cmd", "AGMAbQBk"));
	assert_true(one("utf16|base64", "cmd", "//5jAG0AZAA="));
	assert_false(one("utf16|base64", "cmd", "YwBtAGQA"));
	assert_false(one("wide|base64", "cmd", "Y21k"));
	/* non-ASCII: é is U+00E9; U+1F601 is the surrogate pair D83D DE01 */
	assert_true(one("wide|base64", "\xc3\xa9", "6QA="));
	assert_true(one("wide|base64|cased", "\xf0\x9f\x98\x81", "PdgB3g=="));
	assert_true(one("wide|base64offset|contains|cased", "cmd",
			"xxYwBtAGQAyy"));
	/* not UTF-8: overlong, lone continuation, surrogate, truncated */
	assert_add_error("wide|base64", "a\xc0\xafz",
			 "value 'a?\?z' is not valid UTF-8 (wide needs text)");
	assert_add_error("wide|base64", "\xe0\x80\xaf",
			 "value '?\?\?' is not valid UTF-8 (wide needs text)");
	assert_add_error("wide|base64", "\xf0\x80\x80\xaf",
			 "value '?\?\?\?' is not valid UTF-8 (wide needs text)");
	assert_add_error("utf16be|base64", "\x80",
			 "value '?' is not valid UTF-8 (utf16be needs text)");
	assert_add_error("utf16|base64offset", "\xed\xa0\x80",
			 "value '?\?\?' is not valid UTF-8 (utf16 needs text)");
	assert_add_error("wide|base64", "ab\xe2\x80",
			 "value 'ab?\?' is not valid UTF-8 (wide needs text)");
	assert_add_error("wide|base64", "\xf4\x90\x80\x80",
			 "value '?\?\?\?' is not valid UTF-8 (wide needs text)");
}

/* ---- windash ---- */

static void test_windash_variants(void **state)
{
	struct hn_sm_list l;

	(void)state;
	list_of(&l, "windash|contains", " -enc ", NULL);
	assert_int_equal(l.npats, 5);
	assert_true(m(&l, "powershell -enc AAA"));
	assert_true(m(&l, "powershell /enc AAA"));
	assert_true(m(&l, "powershell \xe2\x80\x93" "enc AAA"));
	assert_true(m(&l, "powershell \xe2\x80\x94" "enc AAA"));
	assert_true(m(&l, "powershell \xe2\x80\x95" "enc AAA"));
	assert_true(m(&l, "powershell /ENC AAA"));
	assert_false(m(&l, "powershell _enc AAA"));
	assert_false(m(&l, "powershell enc AAA"));
	assert_false(m(&l, "powershell \xe2\x80\x92" "enc AAA"));
	hn_sm_list_release(&l);

	/* only at the start of a word: -param-name's second dash stays */
	list_of(&l, "windash", "-param-name", NULL);
	assert_int_equal(l.npats, 5);
	assert_true(m(&l, "-param-name"));
	assert_true(m(&l, "/param-name"));
	assert_false(m(&l, "/param/name"));
	assert_false(m(&l, "-param/name"));
	hn_sm_list_release(&l);

	/* a slash is expanded the same way */
	list_of(&l, "windash|endswith", " /c", NULL);
	assert_true(m(&l, "cmd.exe -c"));
	assert_true(m(&l, "cmd.exe /C"));
	assert_true(m(&l, "cmd.exe \xe2\x80\x94" "c"));
	hn_sm_list_release(&l);

	/* not before a non-word character, nor after a word character */
	list_of(&l, "windash", "a - b", NULL);
	assert_int_equal(l.npats, 1);
	assert_false(m(&l, "a / b"));
	hn_sm_list_release(&l);
	list_of(&l, "windash", "--x", NULL);
	assert_int_equal(l.npats, 5);
	assert_true(m(&l, "-/x"));
	assert_false(m(&l, "//x"));
	hn_sm_list_release(&l);
	list_of(&l, "windash|contains", "*-x", NULL);
	assert_true(m(&l, "abc /x"));
	hn_sm_list_release(&l);

	/* four expand to 625 variants, and any mix matches */
	list_of(&l, "windash|contains|all", " -a -b -c -d", "ok", NULL);
	assert_int_equal(l.ngroups, 2);
	assert_int_equal(l.groups[0].end - l.groups[0].start, 625);
	assert_true(m(&l, "ok /a \xe2\x80\x93" "b \xe2\x80\x94" "c \xe2\x80\x95"
		      "d"));
	assert_true(m(&l, "ok -a -b -c /d"));
	assert_false(m(&l, "-a -b -c /d"));
	assert_false(m(&l, "ok -a -b -c _d"));
	hn_sm_list_release(&l);

	/* windash, then base64offset: 5 x 3 */
	list_of(&l, "windash|base64offset|contains|cased", "-ab", NULL);
	assert_int_equal(l.npats, 15);
	check_b64_streams(&l, "/ab", false, true);
	check_b64_streams(&l, "-ab", false, true);
	check_b64_streams(&l, "\xe2\x80\x95" "ab", false, true);
	check_b64_streams(&l, "+ab", false, false);
	hn_sm_list_release(&l);

	assert_add_error("windash", " -a -b -c -d -e",
			 "windash value ' -a -b -c -d -e' has more than 4 "
			 "dashes to expand");
}

/* ---- exists, numbers, null ---- */

static void test_exists(void **state)
{
	struct hn_sm_list l;
	char err[ERRLEN];

	(void)state;
	hn_sm_list_init(&l, mods_of("exists"));
	add_typed(&l, HN_SM_V_BOOL, "true", 4);
	assert_true(m(&l, "x"));
	assert_true(m(&l, ""));
	assert_false(m(&l, NULL));
	hn_sm_list_release(&l);
	hn_sm_list_init(&l, mods_of("exists"));
	add_typed(&l, HN_SM_V_BOOL, "False", 5);
	assert_false(m(&l, "x"));
	assert_false(m(&l, ""));
	assert_true(m(&l, NULL));
	hn_sm_list_release(&l);

	assert_int_equal(add_fail("exists", HN_SM_V_STRING, "yes", 3, err),
			 -EINVAL);
	assert_string_equal(err, "exists value must be true or false, not "
			    "'yes'");
	assert_int_equal(add_fail("exists", HN_SM_V_NUMBER, "1", 1, err),
			 -EINVAL);
	assert_string_equal(err, "exists value must be true or false, not '1'");
	assert_int_equal(add_fail("exists", HN_SM_V_BOOL, "truex", 5, err),
			 -EINVAL);
	assert_int_equal(add_fail("exists", HN_SM_V_NULL, NULL, 0, err),
			 -EINVAL);
	assert_string_equal(err, "a null value cannot be used with 'exists'");
}

static bool cmp1(const char *mods, const char *val, const char *field)
{
	struct hn_sm_list l;
	bool r;

	hn_sm_list_init(&l, mods_of(mods));
	add_typed(&l, HN_SM_V_NUMBER, val, strlen(val));
	r = m(&l, field);
	hn_sm_list_release(&l);
	return r;
}

static void test_numeric_compares(void **state)
{
	char err[ERRLEN];
	struct hn_sm_list l;

	(void)state;
	assert_true(cmp1("gt", "10", "11"));
	assert_false(cmp1("gt", "10", "10"));
	assert_false(cmp1("gt", "10", "9"));
	assert_true(cmp1("gt", "10", "10.5"));
	assert_false(cmp1("gt", "10", "9.999"));
	assert_true(cmp1("gt", "10", "1e2"));
	assert_true(cmp1("gt", "10", "+11"));
	assert_false(cmp1("gt", "10", "-11"));
	assert_true(cmp1("gte", "10", "10"));
	assert_true(cmp1("gte", "10", "10.0"));
	assert_true(cmp1("gte", "10", "1E1"));
	assert_false(cmp1("gte", "10", "9.5"));
	assert_true(cmp1("lt", "10", "9.5"));
	assert_true(cmp1("lt", "10", "-3"));
	assert_false(cmp1("lt", "10", "10"));
	assert_true(cmp1("lte", "-1.5", "-1.5"));
	assert_true(cmp1("lte", "-1.5", "-2"));
	assert_false(cmp1("lte", "-1.5", "-1.25"));
	assert_true(cmp1("lt", ".5", "0.25"));
	assert_true(cmp1("gt", "0", "5."));
	/* integers compare exactly, past double precision */
	assert_true(cmp1("gt", "9007199254740992", "9007199254740993"));
	assert_true(cmp1("lt", "-9223372036854775807", "-9223372036854775808"));
	assert_true(cmp1("gt", "9223372036854775806", "9223372036854775807"));
	assert_true(cmp1("gt", "9223372036854775807", "18446744073709551616"));
	/* not numbers do not match */
	assert_false(cmp1("gt", "10", "abc"));
	assert_false(cmp1("gt", "10", ""));
	assert_false(cmp1("gt", "10", NULL));
	assert_false(cmp1("gt", "10", " 11"));
	assert_false(cmp1("gt", "10", "11 "));
	assert_false(cmp1("gt", "10", "11abc"));
	assert_false(cmp1("gt", "10", "0x20"));
	assert_false(cmp1("gt", "10", "inf"));
	assert_false(cmp1("gt", "10", "nan"));
	assert_false(cmp1("lt", "10", "-"));
	assert_false(cmp1("lt", "10", "."));
	assert_false(cmp1("lt", "10", "1e"));
	assert_false(cmp1("lt", "10", "1e+"));
	assert_false(cmp1("lt", "10", "--1"));
	assert_false(cmp1("lt", "10", "1.2.3"));
	assert_false(cmp1("gt", "10", "1" "000000000000000000000000000000"
			  "0000000000000000000000000000000000"));
	hn_sm_list_init(&l, mods_of("gt"));
	add_typed(&l, HN_SM_V_NUMBER, "10", 2);
	assert_false(mn(&l, "11\0", 3));
	assert_true(mn(&l, "11\0", 2));
	hn_sm_list_release(&l);
	/* all: every bound */
	hn_sm_list_init(&l, mods_of("gt|all"));
	add_typed(&l, HN_SM_V_NUMBER, "10", 2);
	add_typed(&l, HN_SM_V_STRING, "20", 2);
	assert_true(m(&l, "21"));
	assert_false(m(&l, "15"));
	hn_sm_list_release(&l);

	assert_int_equal(add_fail("gt", HN_SM_V_STRING, "ten", 3, err),
			 -EINVAL);
	assert_string_equal(err, "gt value 'ten' is not a number");
	assert_int_equal(add_fail("lte", HN_SM_V_BOOL, "true", 4, err),
			 -EINVAL);
	assert_string_equal(err, "lte value 'true' is not a number");
	assert_int_equal(add_fail("gte", HN_SM_V_STRING, "", 0, err), -EINVAL);
	assert_string_equal(err, "gte value '' is not a number");
	assert_int_equal(add_fail("lt", HN_SM_V_STRING, "0x10", 4, err),
			 -EINVAL);
	assert_string_equal(err, "lt value '0x10' is not a number");
	assert_int_equal(add_fail("lt", HN_SM_V_NULL, NULL, 0, err), -EINVAL);
	assert_string_equal(err, "a null value cannot be used with 'lt'");
}

static void test_null_and_empty_values(void **state)
{
	struct hn_sm_list l;
	char err[ERRLEN];

	(void)state;
	hn_sm_list_init(&l, 0);
	add_typed(&l, HN_SM_V_NULL, NULL, 0);
	assert_true(m(&l, NULL));
	assert_true(m(&l, ""));
	assert_false(m(&l, "x"));
	assert_false(mn(&l, "\0", 1));
	hn_sm_list_release(&l);
	/* a NULL pointer is null whatever the type says */
	hn_sm_list_init(&l, 0);
	add_typed(&l, HN_SM_V_STRING, NULL, 5);
	assert_true(m(&l, NULL));
	assert_false(m(&l, "x"));
	hn_sm_list_release(&l);
	/* the empty string: empty or absent */
	assert_true(one("", "", ""));
	assert_true(one("", "", NULL));
	assert_false(one("", "", "x"));
	assert_true(one("cased", "", NULL));
	/* contains "" is `*`: any present value */
	assert_true(one("contains", "", "x"));
	assert_true(one("contains", "", ""));
	assert_false(one("contains", "", NULL));
	/* null in a list with other values */
	hn_sm_list_init(&l, mods_of("contains"));
	add(&l, "evil");
	add_typed(&l, HN_SM_V_NULL, NULL, 0);
	assert_true(m(&l, "so evil"));
	assert_true(m(&l, NULL));
	assert_false(m(&l, "good"));
	hn_sm_list_release(&l);
	assert_int_equal(add_fail("re", HN_SM_V_NULL, NULL, 0, err), -EINVAL);
	assert_string_equal(err, "a null value cannot be used with 're'");
}

static void test_numbers_and_booleans_match_as_text(void **state)
{
	struct hn_sm_list l;

	(void)state;
	hn_sm_list_init(&l, 0);
	add_typed(&l, HN_SM_V_NUMBER, "443", 3);
	add_typed(&l, HN_SM_V_BOOL, "true", 4);
	assert_true(m(&l, "443"));
	assert_false(m(&l, "4430"));
	assert_false(m(&l, "443.0"));
	assert_true(m(&l, "true"));
	assert_true(m(&l, "TRUE"));
	assert_false(m(&l, "1"));
	hn_sm_list_release(&l);
	hn_sm_list_init(&l, mods_of("startswith"));
	add_typed(&l, HN_SM_V_NUMBER, "44", 2);
	assert_true(m(&l, "443"));
	hn_sm_list_release(&l);
}

/* ---- bad input ---- */

static void test_bad_input_never_crashes(void **state)
{
	struct hn_sm_list l;
	struct hn_sm_str v = { NULL, 10, true };
	char err[ERRLEN], *big;
	size_t n = 65536;

	(void)state;
	/* no list, no field */
	assert_int_equal(hn_sm_list_add(NULL, HN_SM_V_STRING, "x", 1, err,
					ERRLEN), -EINVAL);
	assert_string_equal(err, "no list");
	assert_false(hn_sm_list_match(NULL, &v));
	hn_sm_list_release(NULL);
	list_of(&l, "", "x", NULL);
	assert_false(hn_sm_list_match(&l, NULL));
	/* present with no bytes is the empty value */
	assert_false(hn_sm_list_match(&l, &v));
	hn_sm_list_release(&l);
	list_of(&l, "", "", NULL);
	assert_true(hn_sm_list_match(&l, NULL));
	assert_true(hn_sm_list_match(&l, &v));
	hn_sm_list_release(&l);

	/* values up to 64 KiB; one more byte is refused */
	big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n + 1);
	big[n - 1] = '\xff';
	hn_sm_list_init(&l, mods_of("contains"));
	add_typed(&l, HN_SM_V_STRING, big, n);
	assert_true(mn(&l, big, n));
	assert_false(mn(&l, big, n - 1));
	hn_sm_list_release(&l);
	assert_int_equal(add_fail("contains", HN_SM_V_STRING, big, n + 1, err),
			 -EINVAL);
	assert_string_equal(err, "value 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			    "...' is too long (65537 bytes, at most 65536)");
	/* every modifier on a huge value of every byte */
	for (size_t i = 0; i < n; i++)
		big[i] = (char)(i * 7 + 3);
	{
		static const char *const all_mods[] = {
			"", "contains", "cased|endswith", "windash",
			"base64", "base64offset", "re",
		};

		for (size_t i = 0; i < sizeof(all_mods) / sizeof(all_mods[0]);
		     i++) {
			int r;

			hn_sm_list_init(&l, mods_of(all_mods[i]));
			r = hn_sm_list_add(&l, HN_SM_V_STRING, big, n, err,
					   ERRLEN);
			assert_true(r == 0 || r == -EINVAL);
			(void)mn(&l, big, n);
			(void)mn(&l, big + 1, n - 1);
			hn_sm_list_release(&l);
		}
	}
	free(big);

	/* NULs inside values and fields */
	hn_sm_list_init(&l, mods_of("contains"));
	add_typed(&l, HN_SM_V_STRING, "a\0b", 3);
	assert_true(mn(&l, "xxa\0bxx", 7));
	assert_false(mn(&l, "xxa", 3));
	assert_false(m(&l, "xxab"));
	hn_sm_list_release(&l);
	assert_true(one("", "a*", "a\xff\xfe\xc3("));

	/* errors with nowhere to write */
	hn_sm_list_init(&l, mods_of("cidr"));
	assert_int_equal(hn_sm_list_add(&l, HN_SM_V_STRING, "x", 1, NULL, 0),
			 -EINVAL);
	assert_int_equal(hn_sm_list_add(&l, HN_SM_V_STRING, "x", 1, err, 0),
			 -EINVAL);
	hn_sm_list_release(&l);
}

static void test_random_values_and_fields(void **state)
{
	static const char *const mods[] = {
		"", "contains", "startswith|cased", "endswith", "windash",
		"base64", "base64offset|contains", "wide|base64offset", "re",
		"re|i", "cidr", "gt", "lte", "exists", "all|contains",
	};
	static const char alpha[] = "aA-/ *?\\.:0123456789()[]ef\xff\xc3\xa9\0";
	uint32_t x = 777;

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		char val[24], field[40], err[ERRLEN];
		struct hn_sm_list l;
		size_t vn, fn;

		x = x * 1103515245u + 12345u;
		hn_sm_list_init(&l, mods_of(mods[(x >> 16) %
					     (sizeof(mods) / sizeof(mods[0]))]));
		for (int k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			vn = (x >> 16) % sizeof(val);
			for (size_t i = 0; i < vn; i++) {
				x = x * 1103515245u + 12345u;
				val[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
			}
			(void)hn_sm_list_add(&l, HN_SM_V_STRING, val, vn, err,
					     ERRLEN);
		}
		for (int k = 0; k < 8; k++) {
			x = x * 1103515245u + 12345u;
			fn = (x >> 16) % sizeof(field);
			for (size_t i = 0; i < fn; i++) {
				x = x * 1103515245u + 12345u;
				field[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
			}
			(void)mn(&l, field, fn);
		}
		(void)m(&l, NULL);
		hn_sm_list_release(&l);
	}
}

static void test_release_leaves_an_empty_list(void **state)
{
	struct hn_sm_list l;

	(void)state;
	list_of(&l, "contains|windash", "-a", "b", NULL);
	assert_int_equal(l.ngroups, 2);
	assert_int_equal(l.npats, 6);
	assert_int_equal(l.groups[0].start, 0);
	assert_int_equal(l.groups[0].end, 5);
	assert_int_equal(l.groups[1].start, 5);
	assert_int_equal(l.groups[1].end, 6);
	hn_sm_list_release(&l);
	assert_int_equal(l.ngroups, 0);
	assert_int_equal(l.npats, 0);
	assert_null(l.pats);
	assert_null(l.groups);
	assert_false(m(&l, "-a"));
	/* usable again, and released twice is fine */
	add(&l, "b");
	assert_true(m(&l, "xbx"));
	hn_sm_list_release(&l);
	hn_sm_list_release(&l);
	/* many values grow the arrays */
	hn_sm_list_init(&l, 0);
	for (int i = 0; i < 1000; i++) {
		char s[16];

		snprintf(s, sizeof(s), "v%d", i);
		add(&l, s);
	}
	assert_int_equal(l.ngroups, 1000);
	assert_true(m(&l, "V999"));
	assert_true(m(&l, "v0"));
	assert_false(m(&l, "v1000"));
	hn_sm_list_release(&l);
}

/* The fast set (exact values, "/name" suffixes) answers as the loop over
 * the patterns does: random lists and fields, each matched with the set
 * and with it put aside. */
static void test_fast_set_agrees_with_the_loop(void **state)
{
	static const char *const words[] = {
		"sh", "bash", "nc", "ncat", "Python3", "curl", "wget", "x", "a/b", "",
		"/sh", "/bin/sh", "/usr/bin/nc", "SH", "/tmp/x", "/NC", "nc.openbsd",
	};
	const size_t nw = sizeof(words) / sizeof(words[0]);
	uint64_t seed = 42;
	unsigned fast_lists = 0, hits = 0;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct hn_sm_list l;
		unsigned mods;
		char err[200];
		int nv;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		mods = (seed >> 33) % 2 ? HN_SM_ENDSWITH : 0;
		hn_sm_list_init(&l, mods);
		nv = 4 + (int)((seed >> 40) % 6);
		for (int k = 0; k < nv; k++) {
			char v[64];
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			/* suffix lists get "/name" values, with now and then one that
			 * turns the set off */
			if (mods && (seed >> 20) % 7)
				snprintf(v, sizeof(v), "/%s", words[(seed >> 33) % 9]);
			else
				snprintf(v, sizeof(v), "%s", words[(seed >> 33) % nw]);
			if (!v[0] || hn_sm_list_add(&l, HN_SM_V_STRING, v, strlen(v), err,
						    sizeof(err)) < 0)
				continue;
		}
		fast_lists += l.fast != NULL;
		for (int f = 0; f < 30; f++) {
			char field[96];
			struct hn_sm_str v;
			struct hn_sm_fast *keep = l.fast;
			bool with, without;
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			snprintf(field, sizeof(field), "%s%s%s",
				 (seed >> 10) % 3 ? "/usr/bin" : "",
				 (seed >> 12) % 2 ? "/" : "",
				 words[(seed >> 33) % nw]);
			v.s = field;
			v.n = strlen(field);
			v.present = (seed >> 14) % 13 != 0;
			with = hn_sm_list_match(&l, &v);
			l.fast = NULL;
			without = hn_sm_list_match(&l, &v);
			l.fast = keep;
			if (with != without)
				fail_msg("field '%s' (present %d): set %d, loop %d", field, v.present,
					 with, without);
			hits += with;
		}
		hn_sm_list_release(&l);
	}
	/* both answers happened, and the set was in use */
	assert_true(fast_lists > 100);
	assert_true(hits > 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mods_parse_every_sigma_name),
		cmocka_unit_test(test_fast_set_agrees_with_the_loop),
		cmocka_unit_test(test_mods_parse_unknown_and_unsupported),
		cmocka_unit_test(test_mods_parse_meaningless_combinations),
		cmocka_unit_test(test_plain_value_matches_whole_field_ignoring_ascii_case),
		cmocka_unit_test(test_cased_is_case_sensitive),
		cmocka_unit_test(test_contains_startswith_endswith),
		cmocka_unit_test(test_wildcard_corner_cases),
		cmocka_unit_test(test_wildcards_agree_with_a_reference_matcher),
		cmocka_unit_test(test_many_stars_do_not_backtrack),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_all_needs_every_value_any_needs_one),
		cmocka_unit_test(test_re_searches_case_sensitive_with_flags),
		cmocka_unit_test(test_re_bytes_and_nuls),
		cmocka_unit_test(test_re_needs_checked_first),
		cmocka_unit_test(test_re_errors),
		cmocka_unit_test(test_re_from_several_threads),
		cmocka_unit_test(test_cidr_v4),
		cmocka_unit_test(test_cidr_v6),
		cmocka_unit_test(test_cidr_errors),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_base64offset_variants_are_pysigmas),
		cmocka_unit_test(test_base64offset_finds_the_value_at_every_offset),
		cmocka_unit_test(test_wide_utf16_encodings),
		cmocka_unit_test(test_windash_variants),
		cmocka_unit_test(test_exists),
		cmocka_unit_test(test_numeric_compares),
		cmocka_unit_test(test_null_and_empty_values),
		cmocka_unit_test(test_numbers_and_booleans_match_as_text),
		cmocka_unit_test(test_bad_input_never_crashes),
		cmocka_unit_test(test_random_values_and_fields),
		cmocka_unit_test(test_release_leaves_an_empty_list),
	};
	return cmocka_run_group_tests_name("sigma_match", tests, NULL, NULL);
}
