/*
 * test_ioc.c - IOC lists (ioc/): values are parsed and normalised (hashes
 * to lowercase, networks with their host bits checked, names lowercased
 * without a trailing dot, defanged forms read) or refused with why; every
 * loader (CSV with and without a header, bare values, MISP events in all
 * their shapes, STIX bundles and patterns) loads what it can and reports
 * each entry it cannot with its line or JSON path and why, counting what
 * it skips on purpose; addresses match exact and CIDR indicators at the
 * edges of their networks, IPv4 and IPv6; names match their listed parents
 * on label boundaries, in any case; valid_until is honoured; the same
 * value in two lists reports both; a hit becomes a rule-shaped alert; and
 * no input, however broken, crashes a loader.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/event.h"
#include "ioc/ioc.h"
#include "ioc/ioc_int.h"

/* ---- helpers ---- */

struct probs {
	int n;
	struct {
		char path[128], where[256], why[512];
		int line;
		enum hn_ioc_problem_kind kind;
	} p[64];
};

static void collect(const struct hn_ioc_problem *p, void *arg)
{
	struct probs *v = arg;
	int i = v->n++;

	assert_non_null(p->why);
	assert_true(strlen(p->why) > 0);
	if (i >= 64)
		return;
	snprintf(v->p[i].path, sizeof(v->p[i].path), "%s", p->path);
	snprintf(v->p[i].where, sizeof(v->p[i].where), "%s", p->where ? p->where : "");
	snprintf(v->p[i].why, sizeof(v->p[i].why), "%s", p->why);
	v->p[i].line = p->line;
	v->p[i].kind = p->kind;
}

/* The problem at line (CSV) or whose where contains w; its index or -1. */
static int prob_at(const struct probs *v, int line, const char *w)
{
	for (int i = 0; i < v->n && i < 64; i++)
		if ((line && v->p[i].line == line) || (w && strstr(v->p[i].where, w)))
			return i;
	return -1;
}

static void dump(const struct probs *v)
{
	for (int i = 0; i < v->n && i < 64; i++)
		fprintf(stderr, "  %s:%d %s: %s: %s\n", v->p[i].path, v->p[i].line, v->p[i].where,
			v->p[i].kind == HN_IOC_INVALID ? "invalid" : "unsupported", v->p[i].why);
}

static struct hn_ioc_set *load(const char *name, const char *text, struct probs *v)
{
	struct hn_ioc_set *s = hn_ioc_set_new();

	assert_non_null(s);
	memset(v, 0, sizeof(*v));
	assert_true(hn_ioc_load_mem(s, name, text, strlen(text), collect, v) >= 0);
	return s;
}

struct hits {
	int n;
	char value[8][256], list[8][64], desc[8][256], level[8][16], author[8][64];
	enum hn_ioc_type type[8];
};

static void on_hit(const struct hn_ioc *ioc, void *arg)
{
	struct hits *h = arg;
	int i = h->n++;

	if (i >= 8)
		return;
	snprintf(h->value[i], sizeof(h->value[i]), "%s", ioc->value);
	snprintf(h->list[i], sizeof(h->list[i]), "%s", ioc->list);
	snprintf(h->desc[i], sizeof(h->desc[i]), "%s", ioc->description);
	snprintf(h->level[i], sizeof(h->level[i]), "%s", ioc->level);
	snprintf(h->author[i], sizeof(h->author[i]), "%s", ioc->author);
	h->type[i] = ioc->type;
}

static struct hn_addr addr(const char *text)
{
	struct hn_addr a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(hn_addr_parse(text, &a), 0);
	return a;
}

static int ip_hits(const struct hn_ioc_set *s, const char *ip, struct hits *h)
{
	struct hn_addr a = addr(ip);

	memset(h, 0, sizeof(*h));
	return hn_ioc_match_addr(s, &a, 0, on_hit, h);
}

static int dom_hits(const struct hn_ioc_set *s, const char *name, struct hits *h)
{
	memset(h, 0, sizeof(*h));
	return hn_ioc_match_domain(s, name, 0, on_hit, h);
}

/* ---- values ---- */

static void expect_ok(enum hn_ioc_type t, const char *in, enum hn_ioc_type want,
		      const char *norm)
{
	char out[512];
	enum hn_ioc_type got = HN_IOC_NONE;
	const char *why = NULL;
	int r = hn_ioc_parse(t, in, &got, out, sizeof(out), &why);

	if (r != 0)
		fail_msg("'%s' refused: %s", in, why ? why : "?");
	assert_int_equal(got, want);
	assert_string_equal(out, norm);
}

static void expect_bad(enum hn_ioc_type t, const char *in, int want, const char *why_has)
{
	char out[512];
	enum hn_ioc_type got = HN_IOC_NONE;
	const char *why = NULL;
	int r = hn_ioc_parse(t, in, &got, out, sizeof(out), &why);

	if (r != want)
		fail_msg("'%s': %d, expected %d (%s)", in, r, want, why ? why : "");
	assert_non_null(why);
	if (why_has && !strstr(why, why_has))
		fail_msg("'%s': why is '%s', expected it to say '%s'", in, why, why_has);
}

static void values_parse_and_normalise(void **state)
{
	(void)state;
	/* hashes: either case in, lowercase out; told apart by length */
	expect_ok(HN_IOC_NONE, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
		  HN_IOC_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	expect_ok(HN_IOC_NONE, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", HN_IOC_SHA1,
		  "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	expect_ok(HN_IOC_NONE, " d41d8cd98f00b204e9800998ecf8427e\t", HN_IOC_MD5,
		  "d41d8cd98f00b204e9800998ecf8427e");
	expect_bad(HN_IOC_SHA256, "d41d8cd98f00b204e9800998ecf8427e", -EINVAL, "64 hex");
	expect_bad(HN_IOC_MD5, "d41d8cd98f00b204e9800998ecf8427g", -EINVAL, "hex digits only");
	expect_bad(HN_IOC_NONE, "d41d8cd98f00b204e9800998ecf842", -EINVAL, "32, 40 or 64");
	/* addresses and networks */
	expect_ok(HN_IOC_NONE, "10.0.0.0/8", HN_IOC_IP, "10.0.0.0/8");
	expect_ok(HN_IOC_IP, "192.0.2.7", HN_IOC_IP, "192.0.2.7");
	expect_ok(HN_IOC_IP, "192.0.2.7/32", HN_IOC_IP, "192.0.2.7");
	expect_ok(HN_IOC_NONE, "2001:DB8:0:0::1", HN_IOC_IP, "2001:db8::1");
	expect_ok(HN_IOC_NONE, "2001:db8::/32", HN_IOC_IP, "2001:db8::/32");
	expect_ok(HN_IOC_NONE, "::ffff:198.51.100.9", HN_IOC_IP, "198.51.100.9");
	expect_ok(HN_IOC_NONE, "::ffff:198.51.100.0/120", HN_IOC_IP, "198.51.100.0/24");
	expect_ok(HN_IOC_NONE, "10[.]1[.]2[.]3", HN_IOC_IP, "10.1.2.3");
	expect_ok(HN_IOC_NONE, "192.0.2.1:8080", HN_IOC_IP, "192.0.2.1");
	expect_ok(HN_IOC_IP, "[2001:db8::1]:443", HN_IOC_IP, "2001:db8::1");
	expect_ok(HN_IOC_IP, "[2001:db8::1]", HN_IOC_IP, "2001:db8::1");
	expect_bad(HN_IOC_IP, "192.0.2.1:http", -EINVAL, "not an IP");
	expect_bad(HN_IOC_NONE, "10.1.2.3/8", -EINVAL, "host bits");
	expect_bad(HN_IOC_IP, "2001:db8::1/32", -EINVAL, "host bits");
	expect_bad(HN_IOC_IP, "0.0.0.0/0", -EINVAL, "every address");
	expect_bad(HN_IOC_IP, "10.0.0.0/33", -EINVAL, "at most 32");
	expect_bad(HN_IOC_IP, "::/129", -EINVAL, "at most 128");
	expect_bad(HN_IOC_IP, "10.0.0.0/x", -EINVAL, "prefix length");
	expect_bad(HN_IOC_IP, "10.0.0", -EINVAL, "not an IP");
	expect_bad(HN_IOC_IP, "fe80::1%eth0", -EINVAL, "zone");
	expect_bad(HN_IOC_IP, "::ffff:1.2.3.0/64", -EINVAL, "/96");
	/* names */
	expect_ok(HN_IOC_NONE, "Evil.Example.", HN_IOC_DOMAIN, "evil.example");
	expect_ok(HN_IOC_DOMAIN, "*.evil.example", HN_IOC_DOMAIN, "evil.example");
	expect_ok(HN_IOC_DOMAIN, ".evil.example", HN_IOC_DOMAIN, "evil.example");
	expect_ok(HN_IOC_NONE, "c2[.]evil[.]example", HN_IOC_DOMAIN, "c2.evil.example");
	expect_ok(HN_IOC_DOMAIN, "xn--bcher-kva.example", HN_IOC_DOMAIN, "xn--bcher-kva.example");
	expect_ok(HN_IOC_DOMAIN, "_dmarc.evil.example", HN_IOC_DOMAIN, "_dmarc.evil.example");
	/* a host listed by address under "domain" is an address indicator */
	expect_ok(HN_IOC_DOMAIN, "192.0.2.1", HN_IOC_IP, "192.0.2.1");
	expect_bad(HN_IOC_DOMAIN, "localhost", -EINVAL, "single label");
	expect_bad(HN_IOC_DOMAIN, "evil..example", -EINVAL, "empty label");
	expect_bad(HN_IOC_DOMAIN, "ev il.example", -EINVAL, "letters, digits");
	expect_bad(HN_IOC_DOMAIN, "b\xc3\xbc" "cher.example", -EINVAL, "punycode");
	expect_bad(HN_IOC_DOMAIN, "evil.123", -EINVAL, "number");
	expect_bad(HN_IOC_DOMAIN, "http://evil.example/x", -EINVAL, "URL");
	{
		char longl[80], longn[300];
		memset(longl, 'a', 64);
		strcpy(longl + 64, ".example");
		expect_bad(HN_IOC_DOMAIN, longl, -EINVAL, "63");
		for (int i = 0; i < 290; i += 2)
			memcpy(longn + i, "a.", 2);
		strcpy(longn + 290, "example");
		expect_bad(HN_IOC_DOMAIN, longn, -EINVAL, "253");
	}
	/* what we do not match is said so */
	expect_bad(HN_IOC_NONE, "https://evil.example/payload", -ENOTSUP, "URL");
	expect_bad(HN_IOC_NONE, "hxxps://evil[.]example/payload", -ENOTSUP, "URL");
	expect_bad(HN_IOC_NONE, "evil.example/payload.sh", -ENOTSUP, "URL");
	expect_bad(HN_IOC_NONE, "bad@evil.example", -ENOTSUP, "e-mail");
	expect_bad(HN_IOC_NONE, "not a value", -EINVAL, "not a hash");
	expect_bad(HN_IOC_NONE, "", -EINVAL, "no value");
	{
		char big[2000];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		expect_bad(HN_IOC_NONE, big, -EINVAL, "1024");
	}
}

/* ---- CSV ---- */

static void csv_type_value_rows_load_and_bad_rows_are_reported(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hits h;
	struct hn_ioc_set *s = load("/x/feeds/bad-things.csv",
		"\xef\xbb\xbf# a comment, then the header\r\n"                 /* 1 */
		"type,value,description,level\r\n"                             /* 2 */
		"sha256,E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,"
		"\"empty, the file\",low\r\n"                                   /* 3 */
		"ip,10.0.0.0/8,private net\r\n"                                /* 4 */
		"ip,10.1.2.3/8,host bits\r\n"                                  /* 5 */
		"\r\n"                                                         /* 6 */
		"domain,Evil[.]Example.,\"a \"\"quoted\"\" c2\",critical\r\n"  /* 7 */
		"url,http://x.example/a,not matched\r\n"                       /* 8 */
		"md5,abc,short\r\n"                                            /* 9 */
		"sha1,da39a3ee5e6b4b0d3255bfef95601890afd80709,,HIGH\r\n"      /* 10 */
		"sha1,da39a3ee5e6b4b0d3255bfef95601890afd80709,again,high\r\n" /* 11 */
		"wierd,1.2.3.4\r\n"                                            /* 12 */
		"ip,192.0.2.1,,severe\r\n"                                     /* 13 */
		"domain,\r\n"                                                  /* 14 */
		"domain,\"multi\n"                                             /* 15 */
		"line\"\r\n"                                                   /* 16 */
		"ip,192.0.2.2\"x\r\n"                                          /* 17 */
		"ip,\"192.0.2.3\" tail\r\n"                                    /* 18 */
		"ip,192.0.2.4,last\r\n"                                        /* 19 */
		"ip,\"192.0.2.5,never closed\r\n", &v);                        /* 20 */
	int i;

	(void)state;
	hn_ioc_stats(s, &st);
	if (st.loaded != 5)
		dump(&v);
	assert_int_equal(st.files, 1);
	assert_int_equal(st.loaded, 5);
	assert_int_equal(st.per_type[HN_IOC_SHA256], 1);
	assert_int_equal(st.per_type[HN_IOC_SHA1], 1);
	assert_int_equal(st.per_type[HN_IOC_IP], 2);
	assert_int_equal(st.per_type[HN_IOC_DOMAIN], 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.unsupported, 1);
	/* 5, 9, 12, 13, 14, 15, 17 (a quote inside an unquoted field is
	 * kept: "192.0.2.2"x" is not an address), 18, 20 */
	assert_int_equal(st.invalid, 9);
	assert_int_equal(v.n, 10);
	i = prob_at(&v, 5, NULL);
	assert_true(i >= 0);
	assert_string_equal(v.p[i].path, "/x/feeds/bad-things.csv");
	assert_int_equal(v.p[i].kind, HN_IOC_INVALID);
	assert_non_null(strstr(v.p[i].why, "'10.1.2.3/8'"));
	assert_non_null(strstr(v.p[i].why, "host bits"));
	i = prob_at(&v, 8, NULL);
	assert_true(i >= 0 && v.p[i].kind == HN_IOC_UNSUPPORTED);
	assert_non_null(strstr(v.p[i].why, "url"));
	assert_non_null(strstr(v.p[prob_at(&v, 9, NULL)].why, "32 hex"));
	assert_non_null(strstr(v.p[prob_at(&v, 12, NULL)].why, "unknown type 'wierd'"));
	assert_non_null(strstr(v.p[prob_at(&v, 13, NULL)].why, "unknown level 'severe'"));
	assert_non_null(strstr(v.p[prob_at(&v, 14, NULL)].why, "no value"));
	/* a record's line is its first line */
	assert_true(prob_at(&v, 15, NULL) >= 0);
	assert_non_null(strstr(v.p[prob_at(&v, 18, NULL)].why, "after a closing quote"));
	assert_non_null(strstr(v.p[prob_at(&v, 20, NULL)].why, "never closed"));
	/* the rows after a bad one load */
	assert_int_equal(ip_hits(s, "192.0.2.4", &h), 1);
	assert_string_equal(h.desc[0], "last");
	/* descriptions, levels (default high), the list's name */
	assert_int_equal(dom_hits(s, "c2.evil.example", &h), 1);
	assert_string_equal(h.desc[0], "a \"quoted\" c2");
	assert_string_equal(h.level[0], "critical");
	assert_string_equal(h.list[0], "bad-things");
	memset(&h, 0, sizeof(h));
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_SHA256,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, on_hit, &h), 1);
	assert_string_equal(h.desc[0], "empty, the file");
	assert_string_equal(h.level[0], "low");
	memset(&h, 0, sizeof(h));
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_SHA1,
		"DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", 0, on_hit, &h), 1);
	assert_string_equal(h.level[0], "high");
	assert_string_equal(h.desc[0], "");
	assert_int_equal(ip_hits(s, "10.200.3.4", &h), 1);
	assert_string_equal(h.level[0], "high");
	hn_ioc_set_free(s);
}

static void csv_bare_values_have_their_type_told(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hits h;
	struct hn_ioc_set *s = load("plain.txt",
		"evil.example\n"
		"198.51.100.0/24\n"
		"# comment\n"
		"   \n"
		"D41D8CD98F00B204E9800998ECF8427E\n"
		"https://evil.example/x.sh\n"                         /* 6 */
		"what is this\n"                                      /* 7 */
		"2001:db8:bad::/48,v6 block,medium\n"                 /* 8: value,desc,level */
		"ssdeep,3:abc:def\n"                                  /* 9 */
		"203.0.113.7", &v);                                   /* 10, no newline */

	(void)state;
	hn_ioc_stats(s, &st);
	if (st.loaded != 5)
		dump(&v);
	assert_int_equal(st.loaded, 5);
	assert_int_equal(st.per_type[HN_IOC_MD5], 1);
	assert_int_equal(st.per_type[HN_IOC_IP], 3);
	assert_int_equal(st.per_type[HN_IOC_DOMAIN], 1);
	assert_int_equal(v.n, 3);
	assert_int_equal(v.p[prob_at(&v, 6, NULL)].kind, HN_IOC_UNSUPPORTED);
	assert_int_equal(v.p[prob_at(&v, 7, NULL)].kind, HN_IOC_INVALID);
	assert_int_equal(v.p[prob_at(&v, 9, NULL)].kind, HN_IOC_UNSUPPORTED);
	assert_int_equal(ip_hits(s, "2001:db8:bad:1::2", &h), 1);
	assert_string_equal(h.desc[0], "v6 block");
	assert_string_equal(h.level[0], "medium");
	assert_int_equal(ip_hits(s, "203.0.113.7", &h), 1);
	hn_ioc_set_free(s);
}

static void csv_headers_name_columns_or_types(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hits h;
	struct hn_ioc_set *s;

	(void)state;
	/* columns named by a type, extra columns ignored, several
	 * descriptions joined */
	s = load("bazaar.csv",
		"\"first_seen\",\"sha256_hash\",\"md5_hash\",\"signature\",\"file_name\"\n"
		"\"2024-01-01\",\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
		"\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\",\"Mirai\",\"x.elf\"\n"
		"\"2024-01-02\",\"\",\"cccccccccccccccccccccccccccccccc\",\"Gafgyt\",\"\"\n"
		"\"2024-01-03\",\"\",\"\",\"nothing\",\"\"\n", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.per_type[HN_IOC_SHA256], 1);
	assert_int_equal(st.per_type[HN_IOC_MD5], 2);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.p[0].line, 4);
	memset(&h, 0, sizeof(h));
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_MD5, "cccccccccccccccccccccccccccccccc",
					   0, on_hit, &h), 1);
	assert_string_equal(h.desc[0], "Gafgyt");
	hn_ioc_set_free(s);

	/* a value column with the type told from each value; tabs */
	s = load("x.tsv", "indicator\tcomment\tseverity\n"
		 "evil.example\tc2\tlow\n"
		 "192.0.2.9\t\t\n", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(dom_hits(s, "www.evil.example", &h), 1);
	assert_string_equal(h.desc[0], "c2");
	assert_string_equal(h.level[0], "low");
	hn_ioc_set_free(s);

	/* a header without a value column: said once, nothing read */
	s = load("nothing.csv", "first_seen,comment\n2024,192.0.2.1\n", &v);
	hn_ioc_stats(s, &st);
	/* "first_seen,comment" names a column (comment) but no value: the
	 * file is refused at its header */
	assert_int_equal(st.loaded, 0);
	assert_int_equal(v.n, 1);
	assert_int_equal(v.p[0].line, 1);
	assert_non_null(strstr(v.p[0].why, "without a value column"));
	hn_ioc_set_free(s);

	/* a first row of values is not a header, even with a bad value */
	s = load("nohdr.csv", "domain,evil.example\nip,192.0.2.1\n", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(v.n, 0);
	hn_ioc_set_free(s);
	s = load("nohdr2.csv", "ip,10.1.2.3/8\nip,192.0.2.1\nurl,http://x.example/\n", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(v.n, 2);
	assert_int_equal(v.p[0].line, 1);
	assert_non_null(strstr(v.p[0].why, "host bits"));
	assert_int_equal(v.p[1].kind, HN_IOC_UNSUPPORTED);
	hn_ioc_set_free(s);
	/* a header in the last comment line, quoted, with ", " between
	 * fields; an address with its port */
	s = load("tf.csv",
		 "#####\n# ThreatFox IOCs\n#\n"
		 "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"malware_printable\"\n"
		 "\"2024-01-01\", \"1\", \"192.0.2.10:443\", \"ip:port\", \"X\"\n"
		 "\"2024-01-01\", \"2\", \"tf.example\", \"domain\", \"Y\"\n"
		 "\"2024-01-01\", \"3\", \"https://tf.example/p\", \"url\", \"Y\"\n"
		 "\"2024-01-01\", \"4\", \"[2001:db8::7]:8443\", \"ip:port\", \"Z\"\n", &v);
	hn_ioc_stats(s, &st);
	if (st.loaded != 3)
		dump(&v);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.unsupported, 1);
	assert_int_equal(v.p[0].line, 7);
	{
		struct hits h;
		assert_int_equal(ip_hits(s, "192.0.2.10", &h), 1);
		assert_string_equal(h.desc[0], "X");
		assert_int_equal(ip_hits(s, "2001:db8::7", &h), 1);
	}
	hn_ioc_set_free(s);
	/* a comment that is no header changes nothing */
	s = load("c.csv", "# just a note, with commas\ndomain,c.example\n", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	hn_ioc_set_free(s);
	/* a type column and a description: a header */
	s = load("hdr.csv", "md5,name\n00000000000000000000000000000004,x\n", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(v.n, 0);
	hn_ioc_set_free(s);
}

/* ---- MISP ---- */

static const char misp_event[] =
	"{\"Event\": {\n"
	"  \"info\": \"Campaign X\", \"threat_level_id\": \"2\", \"uuid\": \"ev-1\",\n"
	"  \"Orgc\": {\"name\": \"CIRCL\"},\n"
	"  \"Attribute\": [\n"
	"    {\"type\": \"sha256\", \"value\": "
	"\"0000000000000000000000000000000000000000000000000000000000000001\", "
	"\"to_ids\": true, \"uuid\": \"a0\", \"comment\": \"dropper\"},\n"
	"    {\"type\": \"ip-dst\", \"value\": \"203.0.113.0/24\", \"to_ids\": \"1\", \"uuid\": \"a1\"},\n"
	"    {\"type\": \"ip-src\", \"value\": \"203.0.113.99\", \"to_ids\": false, \"uuid\": \"a2\"},\n"
	"    {\"type\": \"domain\", \"value\": \"gone.example\", \"to_ids\": 1, \"deleted\": true},\n"
	"    {\"type\": \"url\", \"value\": \"http://x.example/\", \"to_ids\": true, \"uuid\": \"a4\"},\n"
	"    {\"type\": \"md5\", \"value\": \"nothex\", \"to_ids\": true, \"uuid\": \"a5\"},\n"
	"    {\"type\": \"domain|ip\", \"value\": \"pair.example|198.51.100.5\", \"uuid\": \"a6\"},\n"
	"    {\"type\": \"ip-dst|port\", \"value\": \"2001:db8::5|443\", \"uuid\": \"a7\"},\n"
	"    {\"type\": \"hostname\", \"value\": 12, \"uuid\": \"a8\"},\n"
	"    \"not an object\",\n"
	"    {\"type\": \"comment\", \"value\": \"just text\", \"to_ids\": false}\n"
	"  ],\n"
	"  \"Object\": [\n"
	"    {\"name\": \"file\", \"Attribute\": [\n"
	"      {\"type\": \"filename|md5\", \"value\": \"evil.exe|00000000000000000000000000000002\","
	"       \"uuid\": \"o0\"},\n"
	"      {\"type\": \"sha1\", \"value\": \"0000000000000000000000000000000000000003\","
	"       \"to_ids\": \"0\"}\n"
	"    ]},\n"
	"    {\"name\": \"gone\", \"deleted\": true, \"Attribute\": [\n"
	"      {\"type\": \"domain\", \"value\": \"nope.example\"}]},\n"
	"    {\"name\": \"bad\", \"Attribute\": {\"type\": \"domain\"}}\n"
	"  ]\n"
	"}}\n";

static void misp_event_attributes_and_objects_load(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hits h;
	struct hn_ioc_set *s = load("misp/event.json", misp_event, &v);
	int i;

	(void)state;
	hn_ioc_stats(s, &st);
	if (st.loaded != 6)
		dump(&v);
	/* sha256, ip-dst, domain and ip of domain|ip, ip-dst|port, md5 of
	 * filename|md5 */
	assert_int_equal(st.loaded, 6);
	assert_int_equal(st.skipped, 5);
	assert_int_equal(st.per_skip[HN_IOC_SKIP_NOT_IDS], 3);
	assert_int_equal(st.per_skip[HN_IOC_SKIP_DELETED], 2);
	assert_int_equal(st.unsupported, 1);
	assert_int_equal(st.invalid, 4);
	i = prob_at(&v, 0, "(uuid a4)");
	assert_true(i >= 0);
	assert_int_equal(v.p[i].kind, HN_IOC_UNSUPPORTED);
	assert_string_equal(v.p[i].where, "$.Event.Attribute[4] (uuid a4)");
	assert_non_null(strstr(v.p[i].why, "'url'"));
	i = prob_at(&v, 0, "(uuid a5)");
	assert_true(i >= 0 && v.p[i].kind == HN_IOC_INVALID);
	assert_non_null(strstr(v.p[i].why, "hex digits only"));
	i = prob_at(&v, 0, "(uuid a8)");
	assert_true(i >= 0);
	assert_non_null(strstr(v.p[i].why, "\"value\""));
	assert_true(prob_at(&v, 0, "$.Event.Attribute[9]") >= 0);
	assert_true(prob_at(&v, 0, "$.Event.Object[2]") >= 0);
	/* what loaded, with the event's info, comment, level and org */
	memset(&h, 0, sizeof(h));
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_SHA256,
		"0000000000000000000000000000000000000000000000000000000000000001", 0, on_hit, &h),
		1);
	assert_string_equal(h.desc[0], "Campaign X - dropper");
	assert_string_equal(h.level[0], "medium");
	assert_string_equal(h.author[0], "CIRCL");
	assert_string_equal(h.list[0], "event");
	assert_int_equal(ip_hits(s, "203.0.113.99", &h), 1);   /* the /24, not the skipped /32 */
	assert_string_equal(h.value[0], "203.0.113.0/24");
	assert_int_equal(dom_hits(s, "pair.example", &h), 1);
	assert_int_equal(ip_hits(s, "198.51.100.5", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8::5", &h), 1);
	assert_int_equal(dom_hits(s, "gone.example", &h), 0);
	assert_int_equal(dom_hits(s, "nope.example", &h), 0);
	memset(&h, 0, sizeof(h));
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_MD5, "00000000000000000000000000000002", 0,
					   on_hit, &h), 1);
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_SHA1,
		"0000000000000000000000000000000000000003", 0, NULL, NULL), 0);
	hn_ioc_set_free(s);
}

static void misp_shapes_and_broken_json(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hn_ioc_set *s;

	(void)state;
	/* a list of events, a REST response, bare attributes */
	s = load("list.json", "[{\"Event\": {\"threat_level_id\": 1, \"Attribute\": ["
		 "{\"type\": \"domain\", \"value\": \"one.example\"}]}},"
		 " {\"Event\": {\"Attribute\": [{\"type\": \"hostname\", \"value\": \"two.example\"}]}},"
		 " {\"type\": \"ip-dst\", \"value\": \"192.0.2.50\"}, 7]", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.p[0].where, "$[3]");
	{
		struct hits h;
		assert_int_equal(dom_hits(s, "one.example", &h), 1);
		assert_string_equal(h.level[0], "high");
	}
	hn_ioc_set_free(s);
	s = load("resp.json", "{\"response\": [{\"Event\": {\"Attribute\": ["
		 "{\"type\": \"sha1\", \"value\": \"0000000000000000000000000000000000000009\"}]}}]}",
		 &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	hn_ioc_set_free(s);
	s = load("attrs.json", "{\"response\": {\"Attribute\": ["
		 "{\"type\": \"ip-src\", \"value\": \"192.0.2.60\"}, {\"type\": \"ip-src\"}]}}", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.p[0].where, "$.response.Attribute[1]");
	hn_ioc_set_free(s);
	/* JSON that does not parse: its line */
	s = load("broken.json", "{\"Event\": {\n  \"Attribute\": [\n    {\"type\": }\n]}}", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 0);
	assert_int_equal(st.invalid, 1);
	assert_int_equal(v.p[0].line, 3);
	assert_non_null(strstr(v.p[0].why, "not JSON"));
	hn_ioc_set_free(s);
	/* JSON that is neither */
	s = load("other.json", "{\"hello\": 1}", &v);
	assert_int_equal(v.n, 1);
	assert_non_null(strstr(v.p[0].why, "neither"));
	hn_ioc_set_free(s);
	s = load("num.json", "42", &v);
	assert_int_equal(v.n, 1);
	hn_ioc_set_free(s);
}

/* ---- STIX ---- */

static const char stix_bundle[] =
	"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
	" {\"type\": \"identity\", \"id\": \"identity--acme\", \"name\": \"ACME CERT\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--h\", \"name\": \"Loader\","
	"  \"created_by_ref\": \"identity--acme\", \"pattern_type\": \"stix\","
	"  \"pattern\": \"[file:hashes.'SHA-256' = "
	"'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] OR "
	"[file:hashes.MD5 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' OR file:hashes.'SHA-1' = "
	"'cccccccccccccccccccccccccccccccccccccccc']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--net\", \"pattern\": "
	"\"[ipv4-addr:value = '10.20.0.0/16'] OR [ipv6-addr:value = '2001:db8:20::/48']\","
	"  \"pattern_type\": \"stix\", \"description\": \"C2 nets\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--mix\", \"pattern\": "
	"\"[domain-name:value = 'mixed.example'] OR [url:value = 'http://mixed.example/a']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--and\", \"pattern\": "
	"\"[file:hashes.MD5 = 'dddddddddddddddddddddddddddddddd' AND file:name = 'x.exe']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--obsand\", \"pattern\": "
	"\"[domain-name:value = 'and1.example'] AND [ipv4-addr:value = '192.0.2.77']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--seq\", \"pattern\": "
	"\"[domain-name:value = 'seq.example'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.78']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--within\", \"pattern\": "
	"\"[domain-name:value = 'win.example'] WITHIN 60 SECONDS\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--rev\", \"revoked\": true, \"pattern\": "
	"\"[domain-name:value = 'revoked.example']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--old\", \"valid_until\": "
	"\"2020-01-01T00:00:00Z\", \"pattern\": \"[domain-name:value = 'old.example']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--until\", \"valid_until\": "
	"\"2031-01-01T00:00:00.000Z\", \"pattern\": \"[domain-name:value = 'until.example']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--yara\", \"pattern_type\": \"yara\","
	"  \"pattern\": \"rule x { condition: true }\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--syntax\", \"pattern\": "
	"\"[domain-name:value = 'syntax.example'\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--in\", \"pattern\": "
	"\"[domain-name:value IN ('in1.example', 'in2.example')]\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--benign\", \"indicator_types\": "
	"[\"benign\"], \"pattern\": \"[domain-name:value = 'benign.example']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--neq\", \"pattern\": "
	"\"[ipv4-addr:value != '192.0.2.80']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--esc\", \"pattern\": "
	"\"[domain-name:value = 'it\\\\'s.example']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--fam\", \"pattern\": "
	"\"[ipv4-addr:value = '2001:db8::1']\"},\n"
	" {\"type\": \"indicator\", \"id\": \"indicator--nopat\"},\n"
	" {\"type\": \"malware\", \"id\": \"malware--1\", \"name\": \"ignored\"},\n"
	" \"junk\"\n"
	"]}\n";

static void stix_bundle_indicators_load_and_the_rest_is_said(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hits h;
	struct hn_ioc_set *s = hn_ioc_set_new();
	int i;

	(void)state;
	/* 2026-01-01 */
	hn_ioc_set_now(s, 1767225600ULL * 1000000000ULL);
	memset(&v, 0, sizeof(v));
	assert_true(hn_ioc_load_mem(s, "intel/bundle.json", stix_bundle, strlen(stix_bundle),
				    collect, &v) >= 0);
	hn_ioc_stats(s, &st);
	if (st.loaded != 9)
		dump(&v);
	/* 3 hashes, 2 networks, mixed.example, until.example, in1, in2 */
	assert_int_equal(st.loaded, 9);
	assert_int_equal(st.skipped, 3);
	assert_int_equal(st.per_skip[HN_IOC_SKIP_REVOKED], 1);
	assert_int_equal(st.per_skip[HN_IOC_SKIP_EXPIRED], 1);
	assert_int_equal(st.per_skip[HN_IOC_SKIP_BENIGN], 1);
	/* url alternative, AND, observation AND, FOLLOWEDBY, WITHIN, yara, != */
	assert_int_equal(st.unsupported, 7);
	/* syntax, the escaped quote (not a domain), family, no pattern, junk */
	assert_int_equal(st.invalid, 5);
	i = prob_at(&v, 0, "(indicator--mix)");
	assert_true(i >= 0);
	assert_int_equal(v.p[i].kind, HN_IOC_UNSUPPORTED);
	assert_non_null(strstr(v.p[i].why, "url:value"));
	assert_string_equal(v.p[i].where, "$.objects[3] (indicator--mix)");
	i = prob_at(&v, 0, "(indicator--and)");
	assert_true(i >= 0 && v.p[i].kind == HN_IOC_UNSUPPORTED);
	assert_non_null(strstr(v.p[i].why, "AND"));
	assert_non_null(strstr(v.p[prob_at(&v, 0, "(indicator--obsand)")].why, "AND"));
	assert_non_null(strstr(v.p[prob_at(&v, 0, "(indicator--seq)")].why, "FOLLOWEDBY"));
	assert_non_null(strstr(v.p[prob_at(&v, 0, "(indicator--within)")].why, "qualifiers"));
	assert_non_null(strstr(v.p[prob_at(&v, 0, "(indicator--yara)")].why, "yara"));
	i = prob_at(&v, 0, "(indicator--syntax)");
	assert_true(i >= 0 && v.p[i].kind == HN_IOC_INVALID);
	assert_non_null(strstr(v.p[i].why, "does not parse"));
	assert_non_null(strstr(v.p[prob_at(&v, 0, "(indicator--fam)")].why, "family"));
	assert_true(prob_at(&v, 0, "$.objects[20]") >= 0);
	/* nothing of an AND is matched on its own */
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_MD5, "dddddddddddddddddddddddddddddddd", 0,
					   NULL, NULL), 0);
	assert_int_equal(dom_hits(s, "and1.example", &h), 0);
	assert_int_equal(ip_hits(s, "192.0.2.77", &h), 0);
	assert_int_equal(dom_hits(s, "seq.example", &h), 0);
	/* what loaded */
	memset(&h, 0, sizeof(h));
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_SHA256,
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 0, on_hit, &h), 1);
	assert_string_equal(h.desc[0], "Loader");
	assert_string_equal(h.author[0], "ACME CERT");
	assert_string_equal(h.list[0], "bundle");
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_MD5, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", 0,
					   NULL, NULL), 1);
	assert_int_equal(hn_ioc_match_hash(s, HN_IOC_SHA1,
		"cccccccccccccccccccccccccccccccccccccccc", 0, NULL, NULL), 1);
	assert_int_equal(ip_hits(s, "10.20.255.255", &h), 1);
	assert_string_equal(h.desc[0], "C2 nets");
	assert_int_equal(ip_hits(s, "2001:db8:20:ffff::1", &h), 1);
	assert_int_equal(dom_hits(s, "mixed.example", &h), 1);
	assert_int_equal(dom_hits(s, "in2.example", &h), 1);
	assert_int_equal(dom_hits(s, "revoked.example", &h), 0);
	assert_int_equal(dom_hits(s, "old.example", &h), 0);
	assert_int_equal(dom_hits(s, "benign.example", &h), 0);
	/* valid_until: before it, a match; after, none */
	{
		uint64_t before = 1900000000ULL * 1000000000ULL;   /* 2030 */
		uint64_t after = 1990000000ULL * 1000000000ULL;    /* 2033 */
		assert_int_equal(hn_ioc_match_domain(s, "until.example", before, NULL, NULL), 1);
		assert_int_equal(hn_ioc_match_domain(s, "until.example", after, NULL, NULL), 0);
		assert_int_equal(hn_ioc_match_domain(s, "mixed.example", after, NULL, NULL), 1);
	}
	hn_ioc_set_free(s);
}

static void stix_single_indicator_and_object_list(void **state)
{
	struct probs v;
	struct hn_ioc_stats st;
	struct hn_ioc_set *s;

	(void)state;
	s = load("one.json", "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": "
		 "\"indicator--x\", \"pattern\": \"[domain-name:value = 'single.example']\","
		 " \"pattern_type\": \"stix\"}", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	hn_ioc_set_free(s);
	s = load("objs.json", "[{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"pattern\":"
		 " \"[ipv4-addr:value = '192.0.2.90']\"}]", &v);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 1);
	hn_ioc_set_free(s);
	s = load("nobj.json", "{\"type\": \"bundle\", \"objects\": 3}", &v);
	assert_int_equal(v.n, 1);
	assert_non_null(strstr(v.p[0].why, "objects"));
	hn_ioc_set_free(s);
}

struct alts {
	int n;
	char path[8][64], value[8][128];
};

static void each_alt(const char *path, const char *value, void *arg)
{
	struct alts *a = arg;
	int i = a->n++;

	if (i < 8) {
		snprintf(a->path[i], sizeof(a->path[i]), "%s", path);
		snprintf(a->value[i], sizeof(a->value[i]), "%s", value);
	}
}

static int pattern(const char *p, struct alts *a, const char **why)
{
	static char buf[256];

	memset(a, 0, sizeof(*a));
	*why = NULL;
	return ioc_stix_pattern(p, each_alt, a, why, buf, sizeof(buf));
}

static void stix_patterns_parse_whole(void **state)
{
	struct alts a;
	const char *why;

	(void)state;
	assert_int_equal(pattern("([file:hashes.'SHA-256'='x'] OR ([ipv4-addr:value = 'y']))",
				 &a, &why), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.path[0], "file:hashes.SHA-256");
	assert_string_equal(a.value[1], "y");
	assert_int_equal(pattern("[(domain-name:value = 'a') OR (domain-name:value = 'b\\\\c')]",
				 &a, &why), 0);
	assert_int_equal(a.n, 2);
	assert_string_equal(a.value[1], "b\\c");
	assert_int_equal(pattern("[network-traffic:dst_ref.value = '1.2.3.4']", &a, &why), 0);
	assert_string_equal(a.path[0], "network-traffic:dst_ref.value");
	assert_int_equal(pattern("[file:extensions.'windows-pebinary-ext'.sections[*].name = 'x']",
				 &a, &why), 0);
	assert_int_equal(pattern("[a:b = 'x'] START t'2016-06-01T00:00:00Z' STOP "
				 "t'2016-07-01T00:00:00Z'", &a, &why), -ENOTSUP);
	assert_int_equal(pattern("[a:b = 'x'] REPEATS 5 TIMES", &a, &why), -ENOTSUP);
	assert_int_equal(pattern("[a:b MATCHES '^x']", &a, &why), -ENOTSUP);
	assert_int_equal(pattern("[a:b NOT = 'x']", &a, &why), -ENOTSUP);
	assert_int_equal(pattern("[a:b = 5]", &a, &why), -ENOTSUP);
	assert_int_equal(pattern("[a:b = 'x' AND a:c = 'y'] OR [a:d = 'z']", &a, &why), -ENOTSUP);
	assert_int_equal(a.n, 0);   /* nothing handed out */
	assert_int_equal(pattern("[EXISTS a:b]", &a, &why), -ENOTSUP);
	/* not STIX */
	assert_int_equal(pattern("", &a, &why), -EINVAL);
	assert_int_equal(pattern("a:b = 'x'", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b = 'x'", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b = 'x']]", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b 'x']", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b = 'x] OR [c:d = 'y']", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b = 'x\\n']", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b = 'x'] OR", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b IN ('x', )]", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b ! 'x']", &a, &why), -EINVAL);
	assert_int_equal(pattern("[a:b[0 = 'x']", &a, &why), -EINVAL);
	{
		/* deep nesting is refused, not recursed into */
		char deep[4096];
		size_t n = 0;
		for (int i = 0; i < 1000; i++)
			deep[n++] = '(';
		strcpy(deep + n, "[a:b = 'x']");
		assert_int_equal(pattern(deep, &a, &why), -EINVAL);
		n = 0;
		deep[n++] = '[';
		for (int i = 0; i < 1000; i++)
			deep[n++] = '(';
		strcpy(deep + n, "a:b = 'x'");
		assert_int_equal(pattern(deep, &a, &why), -EINVAL);
	}
}

/* ---- matching ---- */

static void cidr_v4_edges(void **state)
{
	struct probs v;
	struct hits h;
	struct hn_ioc_set *s = load("net.csv",
		"ip,192.0.2.1\n"           /* /32 */
		"ip,198.51.100.2/31\n"
		"ip,203.0.113.0/24\n"
		"ip,10.0.0.0/8\n"
		"ip,10.1.0.0/16\n", &v);

	(void)state;
	assert_int_equal(v.n, 0);
	assert_int_equal(ip_hits(s, "192.0.2.1", &h), 1);
	assert_int_equal(ip_hits(s, "192.0.2.0", &h), 0);
	assert_int_equal(ip_hits(s, "192.0.2.2", &h), 0);
	assert_int_equal(ip_hits(s, "198.51.100.2", &h), 1);
	assert_string_equal(h.value[0], "198.51.100.2/31");
	assert_int_equal(ip_hits(s, "198.51.100.3", &h), 1);
	assert_int_equal(ip_hits(s, "198.51.100.1", &h), 0);
	assert_int_equal(ip_hits(s, "198.51.100.4", &h), 0);
	assert_int_equal(ip_hits(s, "203.0.113.0", &h), 1);
	assert_int_equal(ip_hits(s, "203.0.113.255", &h), 1);
	assert_int_equal(ip_hits(s, "203.0.114.0", &h), 0);
	assert_int_equal(ip_hits(s, "203.0.112.255", &h), 0);
	assert_int_equal(ip_hits(s, "10.0.0.0", &h), 1);
	assert_int_equal(ip_hits(s, "10.255.255.255", &h), 1);
	assert_int_equal(ip_hits(s, "11.0.0.0", &h), 0);
	assert_int_equal(ip_hits(s, "9.255.255.255", &h), 0);
	assert_int_equal(ip_hits(s, "10.1.200.1", &h), 2);
	assert_string_equal(h.value[0], "10.1.0.0/16");        /* the most specific first */
	assert_string_equal(h.value[1], "10.0.0.0/8");
	/* an IPv4-mapped IPv6 address is its IPv4 address */
	assert_int_equal(ip_hits(s, "::ffff:10.9.8.7", &h), 1);
	assert_int_equal(ip_hits(s, "::ffff:192.0.2.1", &h), 1);
	/* an IPv6 address is not an IPv4 one */
	assert_int_equal(ip_hits(s, "::a00:1", &h), 0);
	/* nor is a unix socket anything */
	{
		struct hn_addr u = { .family = AF_UNIX };
		assert_int_equal(hn_ioc_match_addr(s, &u, 0, NULL, NULL), 0);
	}
	hn_ioc_set_free(s);
	/* the widest network there is */
	s = load("half.csv", "ip,128.0.0.0/1\n", &v);
	assert_int_equal(ip_hits(s, "127.255.255.255", &h), 0);
	assert_int_equal(ip_hits(s, "128.0.0.0", &h), 1);
	assert_string_equal(h.value[0], "128.0.0.0/1");
	assert_int_equal(ip_hits(s, "255.255.255.255", &h), 1);
	assert_int_equal(ip_hits(s, "0.0.0.0", &h), 0);
	hn_ioc_set_free(s);
}

static void cidr_v6_edges(void **state)
{
	struct probs v;
	struct hits h;
	struct hn_ioc_set *s = load("net6.csv",
		"ip,2001:db8::1\n"
		"ip,2001:db8::2/127\n"
		"ip,2001:db8:1::/48\n"
		"ip,2001:db8:2:3::/64\n"
		"ip,8000::/1\n"
		"ip,::ffff:192.0.2.0/120\n", &v);

	(void)state;
	assert_int_equal(v.n, 0);
	assert_int_equal(ip_hits(s, "2001:db8::1", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8::0", &h), 0);
	assert_int_equal(ip_hits(s, "2001:db8::2", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8::3", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8::4", &h), 0);
	assert_int_equal(ip_hits(s, "2001:db8:1::", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8:2::", &h), 0);
	assert_int_equal(ip_hits(s, "2001:db8:0:ffff::", &h), 0);
	assert_int_equal(ip_hits(s, "2001:db8:2:3:ffff::1", &h), 1);
	assert_int_equal(ip_hits(s, "2001:db8:2:4::", &h), 0);
	assert_int_equal(ip_hits(s, "8000::", &h), 1);
	assert_int_equal(ip_hits(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &h), 1);
	assert_int_equal(ip_hits(s, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &h), 0);
	/* the mapped network was read as IPv4 192.0.2.0/24 */
	assert_int_equal(ip_hits(s, "192.0.2.200", &h), 1);
	assert_int_equal(ip_hits(s, "::ffff:192.0.2.200", &h), 1);
	assert_int_equal(ip_hits(s, "192.0.3.0", &h), 0);
	hn_ioc_set_free(s);
}

static void domains_match_their_parents_in_any_case(void **state)
{
	struct probs v;
	struct hits h;
	struct hn_ioc_set *s = load("dom.csv",
		"domain,evil.example,parent\n"
		"domain,deep.c2.other.example,deep\n"
		"domain,EXACT.test,exact\n", &v);

	(void)state;
	assert_int_equal(v.n, 0);
	assert_int_equal(dom_hits(s, "evil.example", &h), 1);
	assert_int_equal(dom_hits(s, "a.b.evil.example", &h), 1);
	assert_string_equal(h.value[0], "evil.example");
	assert_int_equal(dom_hits(s, "A.B.EVIL.Example.", &h), 1);
	/* on label boundaries only */
	assert_int_equal(dom_hits(s, "notevil.example", &h), 0);
	assert_int_equal(dom_hits(s, "evil.example.com", &h), 0);
	assert_int_equal(dom_hits(s, "example", &h), 0);
	assert_int_equal(dom_hits(s, "c2.other.example", &h), 0);
	assert_int_equal(dom_hits(s, "x.deep.c2.other.example", &h), 1);
	assert_int_equal(dom_hits(s, "exact.test", &h), 1);
	assert_int_equal(dom_hits(s, "", &h), 0);
	assert_int_equal(dom_hits(s, ".", &h), 0);
	assert_int_equal(dom_hits(s, "..evil.example", &h), 1);
	{
		char longn[600];
		memset(longn, 'a', sizeof(longn) - 1);
		longn[sizeof(longn) - 1] = '\0';
		assert_int_equal(dom_hits(s, longn, &h), 0);
	}
	hn_ioc_set_free(s);
}

static void same_value_in_two_lists_reports_both(void **state)
{
	struct probs v;
	struct hits h;
	struct hn_ioc_stats st;
	struct hn_ioc_set *s = hn_ioc_set_new();

	(void)state;
	memset(&v, 0, sizeof(v));
	{
		const char *a = "domain,dup.example,from a\ndomain,dup.example,again a\n";
		assert_int_equal(hn_ioc_load_mem(s, "a.csv", a, strlen(a), collect, &v), 1);
	}
	assert_int_equal(hn_ioc_load_mem(s, "b.csv", "dup.example\n", 12, collect, &v), 1);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.loaded, 2);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.files, 2);
	assert_int_equal(dom_hits(s, "x.dup.example", &h), 2);
	assert_string_equal(h.list[0], "a");
	assert_string_equal(h.desc[0], "from a");
	assert_string_equal(h.list[1], "b");
	assert_true(hn_ioc_has(s, HN_IOC_DOMAIN));
	assert_false(hn_ioc_has(s, HN_IOC_IP));
	assert_int_equal(hn_ioc_count(s), 2);
	hn_ioc_set_free(s);
}

static void events_show_what_is_matched(void **state)
{
	struct probs v;
	struct hn_ioc_set *s = load("ev.csv",
		"sha256,1111111111111111111111111111111111111111111111111111111111111111\n"
		"ip,192.0.2.0/24\n"
		"domain,evil.example\n", &v);
	struct hn_event *ev = hn_event_new(256);

	(void)state;
	assert_non_null(ev);
	ev->time = 1;
	ev->type = HN_EV_PROCESS_START;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 0);   /* hash not known */
	memset(ev->sha256, '1', 64);
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 1);
	ev->type = HN_EV_PROCESS_SNAPSHOT;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 1);
	ev->type = HN_EV_PROCESS_EXIT;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 0);
	/* the remote end: dst, for connects, accepts and UDP sends */
	ev->src = addr("192.0.2.5");
	ev->dst = addr("198.51.100.1");
	ev->type = HN_EV_NET_CONNECT;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 0);
	ev->dst = addr("192.0.2.99");
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 1);
	ev->type = HN_EV_NET_ACCEPT;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 1);
	ev->type = HN_EV_NET_UDP_SEND;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 1);
	ev->type = HN_EV_NET_LISTEN;
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 0);
	ev->type = HN_EV_DNS_QUERY;
	ev->dst = addr("127.0.0.1");
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 0);
	ev->dns_name = hn_event_puts(ev, "WWW.Evil.Example");
	assert_int_equal(hn_ioc_match_event(s, ev, NULL, NULL), 1);
	assert_int_equal(hn_ioc_match_event(NULL, ev, NULL, NULL), 0);
	hn_event_free(ev);
	hn_ioc_set_free(s);
}

static void a_hit_is_a_rule_shaped_alert(void **state)
{
	struct probs v;
	struct hn_ioc ioc;
	struct hn_ioc_rule r;
	char list[64], value[300];
	enum hn_ioc_type t;
	struct hn_ioc_set *s = load("/etc/hinomi/ioc/My Feed (v2).csv",
		"ip,2001:db8::/32,bad net,medium\n"
		"domain,quiet.example\n", &v);

	(void)state;
	assert_int_equal(hn_ioc_count(s), 2);
	hn_ioc_get(s, 0, &ioc);
	assert_int_equal(ioc.type, HN_IOC_IP);
	assert_string_equal(ioc.list, "My_Feed__v2_");
	assert_string_equal(ioc.source, "/etc/hinomi/ioc/My Feed (v2).csv");
	assert_int_equal(ioc.line, 1);
	hn_ioc_rule_make(&ioc, &r);
	assert_string_equal(r.info.id, "ioc:My_Feed__v2_:2001:db8::/32");
	assert_string_equal(r.info.title, "IOC ip 2001:db8::/32 in list My_Feed__v2_: bad net");
	assert_string_equal(r.info.level, "medium");
	assert_string_equal(r.info.author, "");
	assert_string_equal(r.info.path, "/etc/hinomi/ioc/My Feed (v2).csv");
	assert_int_equal(r.info.ntags, 2);
	assert_string_equal(r.info.tags[0], "ioc");
	assert_string_equal(r.info.tags[1], "ioc.ip");
	assert_true(hn_ioc_rule_id_parse(r.info.id, list, sizeof(list), value, sizeof(value), &t));
	assert_string_equal(list, "My_Feed__v2_");
	assert_string_equal(value, "2001:db8::/32");
	assert_int_equal(t, HN_IOC_IP);
	assert_false(hn_ioc_rule_id_parse("0b7c1d52-6d1a", list, sizeof(list), value,
					  sizeof(value), &t));
	assert_false(hn_ioc_rule_id_parse("ioc:nocolon", list, sizeof(list), value,
					  sizeof(value), &t));
	hn_ioc_get(s, 1, &ioc);
	hn_ioc_rule_make(&ioc, &r);
	assert_string_equal(r.info.title, "IOC domain quiet.example in list My_Feed__v2_");
	assert_string_equal(r.info.level, "high");
	/* out of range: an empty indicator, no crash */
	hn_ioc_get(s, 99, &ioc);
	assert_int_equal(ioc.type, HN_IOC_NONE);
	hn_ioc_set_free(s);
	/* a long description is cut, whole characters only */
	{
		char text[2000];
		size_t n = (size_t)snprintf(text, sizeof(text), "domain,long.example,");
		for (int i = 0; i < 400; i++) {
			memcpy(text + n, "\xc3\xa9", 2);     /* é */
			n += 2;
		}
		text[n] = '\0';
		s = load("long.csv", text, &v);
		hn_ioc_get(s, 0, &ioc);
		assert_true(strlen(ioc.description) <= 512);
		assert_int_equal(strlen(ioc.description) % 2, 0);
		hn_ioc_rule_make(&ioc, &r);
		assert_true(strlen(r.info.title) < sizeof(r.title));
		assert_true(((unsigned char)r.info.title[strlen(r.info.title) - 1] & 0xc0) != 0xc0);
		hn_ioc_set_free(s);
	}
}

/* ---- files ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void directories_load_their_lists_in_order(void **state)
{
	char dir[] = "/tmp/hn-ioc-unit-XXXXXX", p[512];
	struct probs v;
	struct hn_ioc_stats st;
	struct hits h;
	struct hn_ioc_set *s = hn_ioc_set_new();

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/a.csv", dir);
	write_file(p, "domain,a.example\n");
	snprintf(p, sizeof(p), "%s/b.json", dir);
	write_file(p, misp_event);
	snprintf(p, sizeof(p), "%s/c.txt", dir);
	write_file(p, "192.0.2.33\n");
	snprintf(p, sizeof(p), "%s/ignored.yml", dir);
	write_file(p, "domain,ignored.example\n");
	snprintf(p, sizeof(p), "%s/.hidden.csv", dir);
	write_file(p, "domain,hidden.example\n");
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/d.feed", dir);       /* no known extension */
	write_file(p, "domain,d.example\n");
	snprintf(p, sizeof(p), "%s/sub/e.csv", dir);
	write_file(p, "domain,e.example\n");
	memset(&v, 0, sizeof(v));
	assert_int_equal(hn_ioc_load(s, dir, collect, &v), 1 + 6 + 1 + 1);
	hn_ioc_stats(s, &st);
	assert_int_equal(st.files, 4);
	assert_int_equal(dom_hits(s, "e.example", &h), 1);
	assert_string_equal(h.list[0], "e");
	assert_int_equal(dom_hits(s, "ignored.example", &h), 0);
	assert_int_equal(dom_hits(s, "hidden.example", &h), 0);
	assert_int_equal(dom_hits(s, "d.example", &h), 0);
	/* a file named directly loads whatever its name; its format by content */
	snprintf(p, sizeof(p), "%s/sub/d.feed", dir);
	assert_int_equal(hn_ioc_load(s, p, collect, &v), 1);
	assert_int_equal(dom_hits(s, "d.example", &h), 1);
	snprintf(p, sizeof(p), "%s/sub/json.feed", dir);
	write_file(p, "  {\"type\": \"indicator\", \"pattern\": \"[domain-name:value = 'j.example']\"}");
	assert_int_equal(hn_ioc_load(s, p, collect, &v), 1);
	assert_int_equal(hn_ioc_load(s, "/nonexistent/hn-ioc", collect, &v), -ENOENT);
	snprintf(p, sizeof(p), "rm -rf '%s'", dir);
	assert_int_equal(system(p), 0);
	hn_ioc_set_free(s);
}

/* ---- bad input never crashes ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void garbage_never_crashes(void **state)
{
	static const char csv[] = "type,value,description,level\nsha256,"
		"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,\"a, b\",low\n"
		"ip,10.0.0.0/8\ndomain,evil[.]example\n";
	const char *const samples[][2] = {
		{ "f.csv", csv }, { "m.json", misp_event }, { "s.json", stix_bundle },
	};
	static const char alphabet[] = "[]()'\",.:|/\\{}=ANDOR \n\r\t0123456789abcdef\"\0\xff";
	char buf[8192];

	(void)state;
	for (size_t k = 0; k < sizeof(samples) / sizeof(samples[0]); k++) {
		const char *text = samples[k][1];
		size_t len = strlen(text);
		/* every prefix */
		for (size_t cut = 0; cut <= len; cut += 1 + cut / 64) {
			struct hn_ioc_set *s = hn_ioc_set_new();
			hn_ioc_load_mem(s, samples[k][0], text, cut, NULL, NULL);
			hn_ioc_match_domain(s, "evil.example", 0, NULL, NULL);
			hn_ioc_set_free(s);
		}
		/* bytes changed, inserted, removed */
		for (int round = 0; round < 400; round++) {
			struct hn_ioc_set *s = hn_ioc_set_new();
			struct probs v = { 0 };
			size_t n = len < sizeof(buf) - 64 ? len : sizeof(buf) - 64;
			memcpy(buf, text, n);
			for (int m = 0; m < 1 + (int)(rnd() % 8); m++) {
				size_t at = n ? rnd() % n : 0;
				char ch = alphabet[rnd() % (sizeof(alphabet) - 1)];
				switch (rnd() % 3) {
				case 0: buf[at] = ch; break;
				case 1:
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = ch;
					n++;
					break;
				default:
					if (n) {
						memmove(buf + at, buf + at + 1, n - at - 1);
						n--;
					}
				}
			}
			hn_ioc_load_mem(s, samples[k][0], buf, n, collect, &v);
			hn_ioc_match_domain(s, "a.evil.example", 0, NULL, NULL);
			hn_ioc_set_free(s);
		}
	}
	/* random bytes as each format */
	for (int round = 0; round < 300; round++) {
		const char *names[] = { "r.csv", "r.json", "r" };
		size_t n = rnd() % 512;
		struct hn_ioc_set *s = hn_ioc_set_new();
		for (size_t i = 0; i < n; i++)
			buf[i] = round % 2 ? (char)rnd() : alphabet[rnd() % (sizeof(alphabet) - 1)];
		hn_ioc_load_mem(s, names[round % 3], buf, n, NULL, NULL);
		hn_ioc_set_free(s);
	}
	/* random patterns */
	for (int round = 0; round < 2000; round++) {
		struct alts a;
		const char *why;
		size_t n = rnd() % 80;
		for (size_t i = 0; i < n; i++)
			buf[i] = alphabet[rnd() % (sizeof(alphabet) - 2)];
		buf[n] = '\0';
		pattern(buf, &a, &why);
	}
	/* NULLs */
	assert_int_equal(hn_ioc_load(NULL, "x", NULL, NULL), -EINVAL);
	assert_int_equal(hn_ioc_load_mem(NULL, "x", "", 0, NULL, NULL), -EINVAL);
	assert_int_equal(hn_ioc_match_domain(NULL, "x", 0, NULL, NULL), 0);
	assert_int_equal(hn_ioc_match_hash(NULL, HN_IOC_MD5, "x", 0, NULL, NULL), 0);
	hn_ioc_set_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_parse_and_normalise),
		cmocka_unit_test(csv_type_value_rows_load_and_bad_rows_are_reported),
		cmocka_unit_test(csv_bare_values_have_their_type_told),
		cmocka_unit_test(csv_headers_name_columns_or_types),
		cmocka_unit_test(misp_event_attributes_and_objects_load),
		cmocka_unit_test(misp_shapes_and_broken_json),
		cmocka_unit_test(stix_bundle_indicators_load_and_the_rest_is_said),
		cmocka_unit_test(stix_single_indicator_and_object_list),
		cmocka_unit_test(stix_patterns_parse_whole),
		cmocka_unit_test(cidr_v4_edges),
		cmocka_unit_test(cidr_v6_edges),
		cmocka_unit_test(domains_match_their_parents_in_any_case),
		cmocka_unit_test(same_value_in_two_lists_reports_both),
		cmocka_unit_test(events_show_what_is_matched),
		cmocka_unit_test(a_hit_is_a_rule_shaped_alert),
		cmocka_unit_test(directories_load_their_lists_in_order),
		cmocka_unit_test(garbage_never_crashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
