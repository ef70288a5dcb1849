/*
 * set.c - the IOC set (ioc.h): values parsed and normalised, indicators
 * kept, looked up.
 *
 * Invariants:
 *  - every indicator's value is normalised (hn_ioc_parse) before it is
 *    hashed, so lookups normalise their input the same way and compare
 *    bytes;
 *  - an address indicator holds its network with the host bits zero, and
 *    v4_lens / v6_lens have a bit for each prefix length present, so a
 *    lookup probes only those lengths, longest first;
 *  - dom_labels has a bit for each label count a domain indicator has, so
 *    a name is probed only at the suffixes that could be listed;
 *  - slot[] holds chain heads only, each with the top half of its key's
 *    hash, so that a probe that misses reads no indicator (one cache line
 *    per probe); the table is never more than half full.
 * Input is untrusted: every value is checked for length and characters
 * before it is used, and nothing here aborts on it.
 */
#include "ioc/ioc_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

const char *const ioc_levels[5] = { "informational", "low", "medium", "high", "critical" };

static const char *const type_names[HN_IOC_TYPE_COUNT] = {
	[HN_IOC_SHA256] = "sha256", [HN_IOC_SHA1] = "sha1", [HN_IOC_MD5] = "md5",
	[HN_IOC_IP] = "ip", [HN_IOC_DOMAIN] = "domain",
};

const char *hn_ioc_type_name(enum hn_ioc_type t)
{
	return t > HN_IOC_NONE && t < HN_IOC_TYPE_COUNT ? type_names[t] : "?";
}

int ioc_level(const char *s)
{
	if (!s)
		return -1;
	if (!strcasecmp(s, "info"))
		return 0;
	for (int i = 0; i < 5; i++)
		if (!strcasecmp(s, ioc_levels[i]))
			return i;
	return -1;
}

/* ---- type names ---- */

static const struct {
	const char *name;
	enum hn_ioc_type type;
} type_alias[] = {
	{ "sha256", HN_IOC_SHA256 }, { "sha-256", HN_IOC_SHA256 }, { "sha_256", HN_IOC_SHA256 },
	{ "sha256_hash", HN_IOC_SHA256 }, { "filehash-sha256", HN_IOC_SHA256 },
	{ "sha1", HN_IOC_SHA1 }, { "sha-1", HN_IOC_SHA1 }, { "sha_1", HN_IOC_SHA1 },
	{ "sha1_hash", HN_IOC_SHA1 }, { "filehash-sha1", HN_IOC_SHA1 },
	{ "md5", HN_IOC_MD5 }, { "md5_hash", HN_IOC_MD5 }, { "filehash-md5", HN_IOC_MD5 },
	{ "ip", HN_IOC_IP }, { "ipv4", HN_IOC_IP }, { "ipv6", HN_IOC_IP },
	{ "ip-src", HN_IOC_IP }, { "ip-dst", HN_IOC_IP }, { "ip_src", HN_IOC_IP },
	{ "ip_dst", HN_IOC_IP }, { "cidr", HN_IOC_IP }, { "ip-address", HN_IOC_IP },
	{ "ip_address", HN_IOC_IP }, { "ipv4-addr", HN_IOC_IP }, { "ipv6-addr", HN_IOC_IP },
	{ "ipv4-cidr", HN_IOC_IP }, { "ipv6-cidr", HN_IOC_IP }, { "network", HN_IOC_IP },
	{ "ip:port", HN_IOC_IP }, { "ip-port", HN_IOC_IP },
	{ "domain", HN_IOC_DOMAIN }, { "hostname", HN_IOC_DOMAIN }, { "fqdn", HN_IOC_DOMAIN },
	{ "domain-name", HN_IOC_DOMAIN }, { "domain_name", HN_IOC_DOMAIN },
	{ "host", HN_IOC_DOMAIN },
};

/* Types that are indicators, but not ones we match. */
static const char *const type_unsupported[] = {
	"url", "uri", "link", "email", "email-src", "email-dst", "email-addr", "email_addr",
	"sha512", "sha-512", "sha384", "sha-384", "sha224", "sha-224", "sha3-256",
	"sha3-512", "ssdeep", "imphash", "tlsh", "authentihash", "impfuzzy", "pehash",
	"filename", "file", "file-name", "path", "filepath", "mutex", "regkey",
	"regkey|value", "user-agent", "ja3", "ja3-fingerprint-md5", "jarm-fingerprint",
	"asn", "as", "yara", "sigma", "snort", "port", "btc", "mac-address",
	"x509-fingerprint-sha1", "x509-fingerprint-sha256", "x509-fingerprint-md5",
	"vulnerability", "cve", "text", "comment", "other",
};

int ioc_type_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(type_alias) / sizeof(type_alias[0]); i++)
		if (!strcasecmp(name, type_alias[i].name))
			return type_alias[i].type;
	for (size_t i = 0; i < sizeof(type_unsupported) / sizeof(type_unsupported[0]); i++)
		if (!strcasecmp(name, type_unsupported[i]))
			return -ENOTSUP;
	return -EINVAL;
}

/* ---- parsing values ---- */

/* in -> out without blanks around it, defanged: "[.]", "(.)", "{.}",
 * "[dot]" become ".", "[:]" becomes ":".  false when it does not fit. */
static bool refang(const char *in, char *out, size_t n)
{
	size_t len, o = 0;

	while (*in == ' ' || *in == '\t')
		in++;
	len = strlen(in);
	while (len && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\r' ||
		       in[len - 1] == '\n'))
		len--;
	for (size_t i = 0; i < len;) {
		if (o + 1 >= n)
			return false;
		if (len - i >= 3 && (!memcmp(in + i, "[.]", 3) || !memcmp(in + i, "(.)", 3) ||
				     !memcmp(in + i, "{.}", 3))) {
			out[o++] = '.';
			i += 3;
		} else if (len - i >= 5 && !strncasecmp(in + i, "[dot]", 5)) {
			out[o++] = '.';
			i += 5;
		} else if (len - i >= 3 && !memcmp(in + i, "[:]", 3)) {
			out[o++] = ':';
			i += 3;
		} else {
			out[o++] = in[i++];
		}
	}
	out[o] = '\0';
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static const size_t hash_len[HN_IOC_TYPE_COUNT] = {
	[HN_IOC_SHA256] = 64, [HN_IOC_SHA1] = 40, [HN_IOC_MD5] = 32,
};

static int parse_hash(enum hn_ioc_type t, const char *v, char *out, size_t n, const char **why)
{
	size_t len = strlen(v);

	if (!all_hex(v, len)) {
		*why = "a hash is hex digits only";
		return -EINVAL;
	}
	if (len != hash_len[t]) {
		*why = t == HN_IOC_SHA256 ? "a SHA-256 is 64 hex digits" :
		       t == HN_IOC_SHA1 ? "a SHA-1 is 40 hex digits" : "an MD5 is 32 hex digits";
		return -EINVAL;
	}
	if (n <= len)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)v[i]);
	return 0;
}

/* An address or network into family (4/6), bytes and prefix length. */
static int parse_ip(const char *v, uint8_t *family, uint8_t addr[16], uint8_t *plen,
		    const char **why)
{
	char a[128];
	const char *slash = strchr(v, '/');
	size_t alen = slash ? (size_t)(slash - v) : strlen(v);
	int len = -1;
	uint8_t b[16];

	if (alen == 0 || alen >= sizeof(a)) {
		*why = "not an IP address or network";
		return -EINVAL;
	}
	memcpy(a, v, alen);
	a[alen] = '\0';
	if (slash) {
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p)) {
			*why = "a network's prefix length is a number (10.0.0.0/8)";
			return -EINVAL;
		}
		len = atoi(p);
	}
	memset(b, 0, sizeof(b));
	if (inet_pton(AF_INET, a, b) == 1) {
		*family = 4;
		if (len < 0)
			len = 32;
		if (len > 32) {
			*why = "an IPv4 prefix length is at most 32";
			return -EINVAL;
		}
	} else if (inet_pton(AF_INET6, a, b) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		*family = 6;
		if (len < 0)
			len = 128;
		if (len > 128) {
			*why = "an IPv6 prefix length is at most 128";
			return -EINVAL;
		}
		if (!memcmp(b, mapped, 12)) {
			/* ::ffff:a.b.c.d is a.b.c.d */
			if (len < 96) {
				*why = "an IPv4-mapped network shorter than /96";
				return -EINVAL;
			}
			memmove(b, b + 12, 4);
			memset(b + 4, 0, 12);
			*family = 4;
			len -= 96;
		}
	} else {
		*why = strchr(a, '%') ? "an IPv6 address with a zone (%) is not a network-wide "
					"indicator" : "not an IP address or network";
		return -EINVAL;
	}
	if (len == 0) {
		*why = "a /0 network matches every address";
		return -EINVAL;
	}
	for (int i = len; i < (*family == 4 ? 32 : 128); i++)
		if (b[i / 8] & (0x80 >> (i % 8))) {
			*why = "host bits set after the prefix length (write the network: "
			       "10.0.0.0/8, not 10.1.2.3/8)";
			return -EINVAL;
		}
	memcpy(addr, b, 16);
	*plen = (uint8_t)len;
	return 0;
}

static void ip_text(uint8_t family, const uint8_t addr[16], uint8_t plen, char *out,
		    size_t n)
{
	char t[INET6_ADDRSTRLEN];

	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, t, sizeof(t));
	if (plen < (family == 4 ? 32 : 128))
		snprintf(out, n, "%s/%u", t, plen);
	else
		snprintf(out, n, "%s", t);
}

/* A DNS name, lowercased, without a trailing dot, "*." or leading dot. */
static int parse_domain(const char *v, char *out, size_t n, const char **why)
{
	size_t len, labels = 0, lab = 0;
	bool digits = true;

	if (!strncmp(v, "*.", 2))
		v += 2;
	else if (*v == '.')
		v++;
	len = strlen(v);
	if (len && v[len - 1] == '.')
		len--;
	if (!len) {
		*why = "an empty name";
		return -EINVAL;
	}
	if (len > 253 || len >= n) {
		*why = "a DNS name is at most 253 characters";
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = i < len ? (unsigned char)v[i] : '.';
		if (ch == '.') {
			if (!lab) {
				*why = "an empty label (two dots in a row)";
				return -EINVAL;
			}
			if (lab > 63) {
				*why = "a label longer than 63 characters";
				return -EINVAL;
			}
			labels++;
			if (i < len) {
				lab = 0;
				digits = true;
			}
			if (i < len)
				out[i] = '.';
			continue;
		}
		if (ch >= 0x80) {
			*why = "not ASCII: write internationalised names in punycode (xn--)";
			return -EINVAL;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_') {
			*why = strchr(v, '/') || strchr(v, ':') ? "a URL or address, not a domain" :
				"a DNS name has letters, digits, '-' and '_' only";
			return -EINVAL;
		}
		if (!isdigit(ch))
			digits = false;
		out[i] = (char)tolower(ch);
		lab++;
	}
	out[len] = '\0';
	if (labels < 2) {
		*why = "a single label would cover a whole top-level domain";
		return -EINVAL;
	}
	if (digits) {
		*why = "the last label is a number: not a domain";
		return -EINVAL;
	}
	return 0;
}

/* "192.0.2.1:443" and "[2001:db8::1]:443" without the port (an address
 * indicator is for every port). */
static void strip_port(char *v)
{
	char *colon = strrchr(v, ':');
	size_t n;

	if (v[0] == '[') {
		char *close = strchr(v, ']');
		if (close && (!close[1] || (close[1] == ':' && close[2] &&
					   strspn(close + 2, "0123456789") == strlen(close + 2)))) {
			n = (size_t)(close - v - 1);
			memmove(v, v + 1, n);
			v[n] = '\0';
		}
		return;
	}
	if (colon && colon != v && strchr(v, ':') == colon && colon[1] &&
	    strspn(colon + 1, "0123456789") == strlen(colon + 1) && strchr(v, '.'))
		*colon = '\0';
}

static bool looks_url(const char *v)
{
	const char *p = strstr(v, "://");

	if (p && p > v) {
		for (const char *q = v; q < p; q++)
			if (!isalpha((unsigned char)*q) && *q != '+' && *q != '-' && *q != '.')
				return false;
		return true;
	}
	return false;
}

int hn_ioc_parse(enum hn_ioc_type t, const char *value, enum hn_ioc_type *type,
		 char *out, size_t n, const char **why)
{
	char v[IOC_VALUE_MAX + 1];
	uint8_t fam, addr[16], plen;
	const char *dummy;
	size_t len;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!value || !out || n < 256 || !type) {
		*why = "no value";
		return -EINVAL;
	}
	if (strlen(value) > IOC_VALUE_MAX || !refang(value, v, sizeof(v))) {
		*why = "a value longer than 1024 bytes";
		return -EINVAL;
	}
	len = strlen(v);
	if (!len) {
		*why = "no value";
		return -EINVAL;
	}
	if (!strncasecmp(v, "hxxp", 4))
		v[1] = v[2] = 't';
	switch (t) {
	case HN_IOC_SHA256:
	case HN_IOC_SHA1:
	case HN_IOC_MD5:
		*type = t;
		return parse_hash(t, v, out, n, why);
	case HN_IOC_IP:
		strip_port(v);
		if (parse_ip(v, &fam, addr, &plen, why) < 0)
			return -EINVAL;
		*type = HN_IOC_IP;
		ip_text(fam, addr, plen, out, n);
		return 0;
	case HN_IOC_DOMAIN:
		/* a host listed by its address is an address indicator */
		if (parse_ip(v, &fam, addr, &plen, why) == 0) {
			*type = HN_IOC_IP;
			ip_text(fam, addr, plen, out, n);
			return 0;
		}
		if (looks_url(v)) {
			*why = "a URL, not a domain";
			return -EINVAL;
		}
		*type = HN_IOC_DOMAIN;
		return parse_domain(v, out, n, why);
	case HN_IOC_NONE:
		break;
	default:
		*why = "unknown type";
		return -EINVAL;
	}
	/* what does it look like? */
	if (all_hex(v, len) && (len == 64 || len == 40 || len == 32)) {
		*type = len == 64 ? HN_IOC_SHA256 : len == 40 ? HN_IOC_SHA1 : HN_IOC_MD5;
		return parse_hash(*type, v, out, n, why);
	}
	if (looks_url(v)) {
		*why = "a URL: URLs are not matched (list its domain)";
		return -ENOTSUP;
	}
	if (strchr(v, '@') && !strchr(v, '/')) {
		*why = "an e-mail address: e-mail addresses are not matched";
		return -ENOTSUP;
	}
	if (parse_ip(v, &fam, addr, &plen, why) == 0) {
		*type = HN_IOC_IP;
		ip_text(fam, addr, plen, out, n);
		return 0;
	}
	{
		char np[IOC_VALUE_MAX + 1];
		memcpy(np, v, len + 1);
		strip_port(np);
		if (strcmp(np, v) && parse_ip(np, &fam, addr, &plen, why) == 0) {
			*type = HN_IOC_IP;
			ip_text(fam, addr, plen, out, n);
			return 0;
		}
	}
	/* an address with a bad prefix or host bits: say so */
	if (strspn(v, "0123456789./") == len || (strchr(v, ':') && strspn(v,
		"0123456789abcdefABCDEF:./") == len))
		return -EINVAL;
	if (all_hex(v, len) && len >= 16) {
		*why = "hex digits, but not 32, 40 or 64 of them (MD5, SHA-1, SHA-256)";
		return -EINVAL;
	}
	if (strchr(v, '/')) {
		const char *slash = strchr(v, '/');
		char host[IOC_VALUE_MAX + 1];
		memcpy(host, v, (size_t)(slash - v));
		host[slash - v] = '\0';
		if (parse_domain(host, out, n, why) == 0) {
			*why = "a URL: URLs are not matched (list its domain)";
			return -ENOTSUP;
		}
	}
	*type = HN_IOC_DOMAIN;
	if (parse_domain(v, out, n, why) == 0)
		return 0;
	if (strchr(v, '.'))
		return -EINVAL;     /* a name, with its fault in *why */
	*why = "not a hash, an IP address or a domain";
	return -EINVAL;
}

/* ---- the set ---- */

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(uint64_t seed, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = mix(seed * 0x9e3779b97f4a7c15ULL + n);

	while (n >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = mix(h ^ w);
		b += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, b, n);
		h = mix(h ^ w ^ 0x100);
	}
	return h;
}

static uint64_t ip_hash(uint8_t family, uint8_t plen, const uint8_t addr[16])
{
	return hash_bytes(HN_IOC_IP * 1000u + family * 256u + plen, addr, family == 4 ? 4 : 16);
}

struct hn_ioc_set *hn_ioc_set_new(void)
{
	struct hn_ioc_set *s = calloc(1, sizeof(*s));
	struct timespec ts;

	if (!s)
		return NULL;
	s->pool = malloc(4096);
	if (!s->pool) {
		free(s);
		return NULL;
	}
	s->pool_cap = 4096;
	s->pool[0] = '\0';
	s->pool_len = 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	return s;
}

void hn_ioc_set_free(struct hn_ioc_set *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nlists; i++) {
		free(s->lists[i].name);
		free(s->lists[i].path);
	}
	free(s->lists);
	free(s->ind);
	free(s->slot);
	free(s->pool);
	free(s->intern);
	free(s);
}

void hn_ioc_set_now(struct hn_ioc_set *s, uint64_t now_ns)
{
	if (s)
		s->now = now_ns;
}

void hn_ioc_stats(const struct hn_ioc_set *s, struct hn_ioc_stats *st)
{
	if (s)
		*st = s->st;
	else
		memset(st, 0, sizeof(*st));
}

unsigned hn_ioc_count(const struct hn_ioc_set *s)
{
	return s ? s->n : 0;
}

bool hn_ioc_has(const struct hn_ioc_set *s, enum hn_ioc_type t)
{
	return s && t > HN_IOC_NONE && t < HN_IOC_TYPE_COUNT && s->has[t];
}

/* Append n bytes and a NUL to the pool: the offset, or 0 when out of
 * memory (the empty string: the entry loses a description, nothing
 * else). */
static uint32_t pool_add(struct hn_ioc_set *s, const char *p, size_t n)
{
	size_t need;
	uint32_t off;

	if (!n)
		return 0;
	need = s->pool_len + n + 1;
	if (need > UINT32_MAX)
		return 0;
	if (need > s->pool_cap) {
		size_t cap = s->pool_cap * 2;
		char *np;
		while (cap < need)
			cap *= 2;
		np = realloc(s->pool, cap);
		if (!np)
			return 0;
		s->pool = np;
		s->pool_cap = cap;
	}
	off = (uint32_t)s->pool_len;
	memcpy(s->pool + off, p, n);
	s->pool[off + n] = '\0';
	s->pool_len = need;
	return off;
}

/* The same, for strings many entries repeat (descriptions, authors):
 * kept once. */
static uint32_t pool_intern(struct hn_ioc_set *s, const char *p, size_t n)
{
	uint64_t h;
	uint32_t off;

	if (!n)
		return 0;
	if (s->intern_used * 2 >= s->nintern) {
		unsigned nn = s->nintern ? s->nintern * 2 : 256;
		uint32_t *t = calloc(nn, sizeof(*t));
		if (!t)
			return pool_add(s, p, n);
		for (unsigned i = 0; i < s->nintern; i++) {
			uint32_t o = s->intern[i];
			if (!o)
				continue;
			h = hash_bytes(7, s->pool + o, strlen(s->pool + o));
			for (unsigned k = (unsigned)h & (nn - 1);; k = (k + 1) & (nn - 1))
				if (!t[k]) {
					t[k] = o;
					break;
				}
		}
		free(s->intern);
		s->intern = t;
		s->nintern = nn;
	}
	h = hash_bytes(7, p, n);
	for (unsigned k = (unsigned)h & (s->nintern - 1);; k = (k + 1) & (s->nintern - 1)) {
		uint32_t o = s->intern[k];
		if (!o) {
			off = pool_add(s, p, n);
			if (off) {
				s->intern[k] = off;
				s->intern_used++;
			}
			return off;
		}
		if (!strncmp(s->pool + o, p, n) && s->pool[o + n] == '\0')
			return o;
	}
}

/* A string cut to at most max bytes, not inside a UTF-8 sequence, with
 * control characters (newlines, tabs) as blanks: the length kept. */
static size_t clean_len(const char *p, size_t max)
{
	size_t n = strlen(p);

	if (n <= max)
		return n;
	n = max;
	while (n && ((unsigned char)p[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static uint32_t pool_text(struct hn_ioc_set *s, const char *p, bool intern)
{
	char buf[IOC_DESC_MAX + 1];
	size_t n, a = 0;

	if (!p)
		return 0;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	n = clean_len(p, IOC_DESC_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)p[i];
		if (ch < 0x20 || ch == 0x7f) {
			if (a && buf[a - 1] != ' ')
				buf[a++] = ' ';
			continue;
		}
		buf[a++] = (char)ch;
	}
	while (a && buf[a - 1] == ' ')
		a--;
	return intern ? pool_intern(s, buf, a) : pool_add(s, buf, a);
}

/* Is indicator x the key (type t, value text v of length vn, or the
 * network fam/plen/addr)? */
static bool same_key(const struct hn_ioc_set *s, const struct ioc_ind *x, uint8_t t,
		     const char *v, size_t vn, uint8_t fam, uint8_t plen, const uint8_t *addr)
{
	if (x->type != t)
		return false;
	if (t == HN_IOC_IP)
		return x->family == fam && x->plen == plen &&
		       !memcmp(x->addr, addr, fam == 4 ? 4 : 16);
	return !memcmp(s->pool + x->value, v, vn) && s->pool[x->value + vn] == '\0';
}

#define SLOT(h, i) (((h) & 0xffffffff00000000ULL) | (uint64_t)(i))
#define SLOT_I(v)   ((uint32_t)(v))

/* The chain head of a key: index + 1, or 0. */
static uint32_t find(const struct hn_ioc_set *s, uint64_t h, uint8_t t, const char *v,
		     size_t vn, uint8_t fam, uint8_t plen, const uint8_t *addr)
{
	uint64_t tag = h & 0xffffffff00000000ULL;

	if (!s->nslots)
		return 0;
	for (unsigned k = (unsigned)h & (s->nslots - 1);; k = (k + 1) & (s->nslots - 1)) {
		uint64_t e = s->slot[k];
		uint32_t i = SLOT_I(e);
		if (!i)
			return 0;
		if ((e & 0xffffffff00000000ULL) == tag && s->ind[i - 1].h == h &&
		    same_key(s, &s->ind[i - 1], t, v, vn, fam, plen, addr))
			return i;
	}
}

static void slot_put(uint64_t *t, unsigned n, uint64_t h, uint32_t i)
{
	for (unsigned k = (unsigned)h & (n - 1);; k = (k + 1) & (n - 1))
		if (!SLOT_I(t[k])) {
			t[k] = SLOT(h, i);
			return;
		}
}

static int grow_table(struct hn_ioc_set *s)
{
	unsigned nn = s->nslots ? s->nslots * 2 : 1024;
	uint64_t *t = calloc(nn, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (unsigned k = 0; k < s->nslots; k++) {
		uint32_t i = SLOT_I(s->slot[k]);
		if (i)
			slot_put(t, nn, s->ind[i - 1].h, i);
	}
	free(s->slot);
	s->slot = t;
	s->nslots = nn;
	return 0;
}

static unsigned count_labels(const char *v)
{
	unsigned n = 1;

	for (; *v; v++)
		n += *v == '.';
	return n;
}

static void vproblem(struct ioc_ctx *c, int line, const char *where,
		     enum hn_ioc_problem_kind kind, const char *fmt, va_list ap)
{
	char why[512];
	struct hn_ioc_problem p = { c->path, line, where, kind, why };

	if (kind == HN_IOC_INVALID)
		c->s->st.invalid++;
	else
		c->s->st.unsupported++;
	if (!c->problem)
		return;
	vsnprintf(why, sizeof(why), fmt, ap);
	/* a value quoted in the message may hold anything: one line */
	for (char *q = why; *q; q++)
		if ((unsigned char)*q < 0x20)
			*q = ' ';
	c->problem(&p, c->arg);
}

void ioc_problem(struct ioc_ctx *c, int line, const char *where,
		 enum hn_ioc_problem_kind kind, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(c, line, where, kind, fmt, ap);
	va_end(ap);
}

void ioc_skip(struct ioc_ctx *c, enum hn_ioc_skip why)
{
	c->s->st.skipped++;
	if (why < HN_IOC_SKIP_COUNT)
		c->s->st.per_skip[why]++;
}

/* Up to 60 bytes of a value for a message ("..." when cut). */
static const char *quote(const char *v, char *buf, size_t n)
{
	size_t len = strlen(v);

	if (len + 1 <= n && len <= 60) {
		memcpy(buf, v, len + 1);
	} else {
		size_t k = clean_len(v, n - 4 < 60 ? n - 4 : 60);
		memcpy(buf, v, k);
		memcpy(buf + k, "...", 4);
	}
	return buf;
}

int ioc_add(struct ioc_ctx *c, const struct ioc_entry *e)
{
	struct hn_ioc_set *s = c->s;
	char norm[512], q[72];
	enum hn_ioc_type t = HN_IOC_NONE;
	const char *why = NULL;
	struct ioc_ind x;
	uint32_t head;
	int r, level = IOC_LEVEL_DEFAULT;

	memset(&x, 0, sizeof(x));
	r = hn_ioc_parse(e->type, e->value, &t, norm, sizeof(norm), &why);
	if (r < 0) {
		ioc_problem(c, e->line, e->where, r == -ENOTSUP ? HN_IOC_UNSUPPORTED : HN_IOC_INVALID,
			    "'%s': %s", quote(e->value ? e->value : "", q, sizeof(q)),
			    why ? why : "not a value");
		return -1;
	}
	if (e->level && *e->level && (level = ioc_level(e->level)) < 0) {
		ioc_problem(c, e->line, e->where, HN_IOC_INVALID,
			    "'%s': unknown level '%s' (informational, low, medium, high, "
			    "critical)", quote(norm, q, sizeof(q)), e->level);
		return -1;
	}
	if (s->n >= HN_IOC_MAX) {
		ioc_problem(c, e->line, e->where, HN_IOC_INVALID,
			    "'%s': the set is full (%u indicators)", quote(norm, q, sizeof(q)),
			    HN_IOC_MAX);
		return -1;
	}
	x.type = (uint8_t)t;
	if (t == HN_IOC_IP) {
		/* norm was made from a valid address */
		if (parse_ip(norm, &x.family, x.addr, &x.plen, &why) < 0)
			return -1;
		x.h = ip_hash(x.family, x.plen, x.addr);
	} else {
		x.h = hash_bytes(t, norm, strlen(norm));
	}
	head = find(s, x.h, x.type, norm, strlen(norm), x.family, x.plen, x.addr);
	for (uint32_t i = head; i; i = s->ind[i - 1].next)
		if (s->ind[i - 1].list == c->list) {
			s->st.duplicates++;
			return 0;
		}
	if ((s->n + 1) * 2 > s->nslots && grow_table(s) < 0)
		goto oom;
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 256;
		struct ioc_ind *v = realloc(s->ind, (size_t)cap * sizeof(*v));
		if (!v)
			goto oom;
		s->ind = v;
		s->cap = cap;
	}
	x.value = pool_add(s, norm, strlen(norm));
	if (!x.value)
		goto oom;
	x.desc = pool_text(s, e->description, true);
	x.author = pool_text(s, e->author, true);
	x.where = e->where ? pool_text(s, e->where, false) : 0;
	x.list = c->list;
	x.line = e->line > 0 ? (uint32_t)e->line : 0;
	x.level = (uint8_t)level;
	x.valid_until = e->valid_until;
	s->ind[s->n] = x;
	s->n++;
	if (head) {
		/* the same value in another list: at the end of its chain */
		uint32_t i = head;
		while (s->ind[i - 1].next)
			i = s->ind[i - 1].next;
		s->ind[i - 1].next = s->n;
	} else {
		slot_put(s->slot, s->nslots, x.h, s->n);
	}
	s->has[t] = true;
	if (t == HN_IOC_IP) {
		if (x.family == 4)
			s->v4_lens |= 1ULL << x.plen;
		else
			s->v6_lens[x.plen / 64] |= 1ULL << (x.plen % 64);
	} else if (t == HN_IOC_DOMAIN) {
		unsigned l = count_labels(norm);
		s->dom_labels |= 1ULL << (l < 63 ? l : 63);
	}
	s->st.loaded++;
	s->st.per_type[t]++;
	c->loaded++;
	return 1;
oom:
	ioc_problem(c, e->line, e->where, HN_IOC_INVALID, "'%s': out of memory",
		    quote(norm, q, sizeof(q)));
	return -1;
}

void hn_ioc_get(const struct hn_ioc_set *s, unsigned i, struct hn_ioc *out)
{
	const struct ioc_ind *x;

	memset(out, 0, sizeof(*out));
	if (!s || i >= s->n)
		return;
	x = &s->ind[i];
	out->type = (enum hn_ioc_type)x->type;
	out->value = s->pool + x->value;
	out->list = s->lists[x->list].name;
	out->source = s->lists[x->list].path;
	out->line = (int)x->line;
	out->where = s->pool + x->where;
	out->description = s->pool + x->desc;
	out->level = ioc_levels[x->level < 5 ? x->level : IOC_LEVEL_DEFAULT];
	out->author = s->pool + x->author;
	out->valid_until = x->valid_until;
}

/* ---- matching ---- */

/* Report every indicator of the chain at head valid at time at. */
static int report(const struct hn_ioc_set *s, uint32_t head, uint64_t at, hn_ioc_hit_fn hit,
		  void *arg)
{
	int n = 0;

	for (uint32_t i = head; i; i = s->ind[i - 1].next) {
		const struct ioc_ind *x = &s->ind[i - 1];
		struct hn_ioc ioc;
		if (at && x->valid_until && at > x->valid_until)
			continue;
		n++;
		if (hit) {
			hn_ioc_get(s, i - 1, &ioc);
			hit(&ioc, arg);
		}
	}
	return n;
}

int hn_ioc_match_hash(const struct hn_ioc_set *s, enum hn_ioc_type t, const char *hex,
		      uint64_t at, hn_ioc_hit_fn hit, void *arg)
{
	char v[65];
	size_t n;
	uint32_t head;

	if (!s || !hex || t < HN_IOC_SHA256 || t > HN_IOC_MD5 || !s->has[t])
		return 0;
	n = strnlen(hex, sizeof(v));
	if (n != hash_len[t])
		return 0;
	for (size_t i = 0; i < n; i++)
		v[i] = (char)tolower((unsigned char)hex[i]);
	v[n] = '\0';
	head = find(s, hash_bytes(t, v, n), (uint8_t)t, v, n, 0, 0, NULL);
	return head ? report(s, head, at, hit, arg) : 0;
}

static bool has_len(const struct hn_ioc_set *s, uint8_t fam, unsigned len)
{
	if (fam == 4)
		return s->v4_lens & (1ULL << len);
	return s->v6_lens[len / 64] & (1ULL << (len % 64));
}

int hn_ioc_match_addr(const struct hn_ioc_set *s, const struct hn_addr *a, uint64_t at,
		      hn_ioc_hit_fn hit, void *arg)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t fam, b[16];
	int n = 0;

	if (!s || !a || !s->has[HN_IOC_IP])
		return 0;
	memset(b, 0, sizeof(b));
	if (a->family == AF_INET) {
		fam = 4;
		memcpy(b, a->addr, 4);
	} else if (a->family == AF_INET6) {
		fam = 6;
		memcpy(b, a->addr, 16);
		if (!memcmp(b, mapped, 12)) {
			fam = 4;
			memmove(b, b + 12, 4);
			memset(b + 4, 0, 12);
		}
	} else {
		return 0;
	}
	/* longest prefix first; b is masked down as the length shrinks */
	for (int len = fam == 4 ? 32 : 128; len >= 1; len--) {
		if (len < (fam == 4 ? 32 : 128))
			b[len / 8] &= (uint8_t)(0xff00 >> (len % 8));
		if (has_len(s, fam, (unsigned)len)) {
			uint32_t head = find(s, ip_hash(fam, (uint8_t)len, b), HN_IOC_IP, NULL, 0,
					     fam, (uint8_t)len, b);
			if (head)
				n += report(s, head, at, hit, arg);
		}
	}
	return n;
}

int hn_ioc_match_domain(const struct hn_ioc_set *s, const char *name, uint64_t at,
			hn_ioc_hit_fn hit, void *arg)
{
	char v[256];
	size_t len;
	unsigned labels;
	int n = 0;

	if (!s || !name || !s->has[HN_IOC_DOMAIN])
		return 0;
	len = strnlen(name, sizeof(v));
	if (len && name[len - 1] == '.')
		len--;
	if (!len || len >= sizeof(v))
		return 0;
	for (size_t i = 0; i < len; i++)
		v[i] = (char)tolower((unsigned char)name[i]);
	v[len] = '\0';
	labels = count_labels(v);
	/* the name, then each name it is under */
	for (size_t i = 0; i < len; labels--) {
		if (labels < 64 && (s->dom_labels & (1ULL << labels))) {
			uint32_t head = find(s, hash_bytes(HN_IOC_DOMAIN, v + i, len - i),
					     HN_IOC_DOMAIN, v + i, len - i, 0, 0, NULL);
			if (head)
				n += report(s, head, at, hit, arg);
		}
		while (i < len && v[i] != '.')
			i++;
		i++;
	}
	return n;
}

int hn_ioc_match_event(const struct hn_ioc_set *s, const struct hn_event *ev,
		       hn_ioc_hit_fn hit, void *arg)
{
	if (!s || !ev)
		return 0;
	switch (ev->type) {
	case HN_EV_PROCESS_START:
	case HN_EV_PROCESS_SNAPSHOT:
		return ev->sha256[0] ?
		       hn_ioc_match_hash(s, HN_IOC_SHA256, ev->sha256, ev->time, hit, arg) : 0;
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_ACCEPT:
	case HN_EV_NET_UDP_SEND:
		/* dst is the remote end for all three */
		return hn_ioc_match_addr(s, &ev->dst, ev->time, hit, arg);
	case HN_EV_DNS_QUERY:
		return ev->dns_name ? hn_ioc_match_domain(s, ev->dns_name, ev->time, hit, arg) : 0;
	default:
		return 0;
	}
}

/* ---- as a rule ---- */

/* Drop a UTF-8 sequence cut short at the end of s (snprintf truncates by
 * bytes). */
static void utf8_trim_end(char *s)
{
	size_t n = strlen(s), i = n, need;

	while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	i--;          /* the lead byte, or an ASCII one */
	need = ((unsigned char)s[i] & 0xe0) == 0xc0 ? 2 : ((unsigned char)s[i] & 0xf0) == 0xe0 ?
	       3 : ((unsigned char)s[i] & 0xf8) == 0xf0 ? 4 : 1;
	if (n - i < need)
		s[i] = '\0';
}

void hn_ioc_rule_make(const struct hn_ioc *ioc, struct hn_ioc_rule *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "ioc:%s:%s", ioc->list ? ioc->list : "",
		 ioc->value ? ioc->value : "");
	if (ioc->description && *ioc->description)
		snprintf(r->title, sizeof(r->title), "IOC %s %s in list %s: %s",
			 hn_ioc_type_name(ioc->type), ioc->value, ioc->list, ioc->description);
	else
		snprintf(r->title, sizeof(r->title), "IOC %s %s in list %s",
			 hn_ioc_type_name(ioc->type), ioc->value, ioc->list);
	/* a title cut inside a UTF-8 sequence loses the sequence */
	utf8_trim_end(r->title);
	snprintf(r->tag_type, sizeof(r->tag_type), "ioc.%s", hn_ioc_type_name(ioc->type));
	r->tags[0] = "ioc";
	r->tags[1] = r->tag_type;
	r->info.path = ioc->source ? ioc->source : "";
	r->info.line = ioc->line;
	r->info.id = r->id;
	r->info.title = r->title;
	r->info.status = "";
	r->info.level = ioc->level ? ioc->level : ioc_levels[IOC_LEVEL_DEFAULT];
	r->info.author = ioc->author ? ioc->author : "";
	r->info.description = ioc->description ? ioc->description : "";
	r->info.tags = r->tags;
	r->info.ntags = 2;
	r->info.source = HN_DS_NONE;
}

bool hn_ioc_rule_id_parse(const char *id, char *list, size_t nlist, char *value,
			  size_t nvalue, enum hn_ioc_type *type)
{
	const char *l, *colon;
	char norm[512];
	enum hn_ioc_type t;

	if (!id || strncmp(id, "ioc:", 4) != 0)
		return false;
	l = id + 4;
	colon = strchr(l, ':');
	if (!colon || (size_t)(colon - l) >= nlist || strlen(colon + 1) >= nvalue)
		return false;
	if (hn_ioc_parse(HN_IOC_NONE, colon + 1, &t, norm, sizeof(norm), NULL) < 0)
		return false;
	memcpy(list, l, (size_t)(colon - l));
	list[colon - l] = '\0';
	snprintf(value, nvalue, "%s", colon + 1);
	*type = t;
	return true;
}
