/*
 * isolate.c - network containment with nftables (respond.h, "isolation").
 *
 * Everything isolate adds is one table, `inet hinomi_isolation`; nothing
 * outside it is ever read back into a decision or touched.  Put in place:
 *
 *     add table inet hinomi_isolation        (so the delete cannot fail)
 *     delete table inet hinomi_isolation     (ours from before, if any)
 *     table inet hinomi_isolation { ... }    (the new one)
 *
 * in one buffer, which libnftables sends as one netlink batch: the kernel
 * applies all of it or none, so a re-isolation never leaves a moment
 * without the table.  Undo is `delete table inet hinomi_isolation`.
 *
 * Rules are stateless on purpose: an allowed address's packets pass
 * whatever conntrack thinks, so a management session that was up before
 * isolation survives it, and every other established connection (an
 * intruder's) is cut at its next packet.  Every address that reaches
 * nftables was parsed here and is printed back by inet_ntop, so no text
 * from the command line or the state file reaches the nft parser as is.
 *
 * The state file says "isolated" by existing: written (temp, fsync,
 * rename, fsync of the directory) after the table is in place, removed
 * at undo.  It is trusted only as far as it parses: its addresses go
 * through hn_allow_parse again.
 */
#include "respond/respond.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/json.h"

#define TABLE HN_ISO_FAMILY " " HN_ISO_TABLE
#define STATE_MAX (256 * 1024)      /* a state file larger than this is not ours */
#define STUB_RESOLV "/run/systemd/resolve/resolv.conf"

/* ---- addresses ---- */

static int bad(char *why, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* why (may be NULL) gets the reason; -EINVAL. */
static int bad(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (why && n) {
		va_start(ap, fmt);
		vsnprintf(why, n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Decimal digits only, 1..max_digits of them, value in [lo, hi]. */
static bool parse_uint(const char *s, size_t len, size_t max_digits, unsigned lo,
		       unsigned hi, unsigned *out)
{
	unsigned v = 0;

	if (len == 0 || len > max_digits)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* addr[/len] (len, when not NULL, already split off) into a. */
static int parse_addr(const char *addr, size_t alen, const char *len, size_t llen,
		      int want, struct hn_allow *a, char *why, size_t n)
{
	char buf[64];
	unsigned prefix;
	int max;

	if (alen == 0)
		return bad(why, n, "no address");
	if (alen >= sizeof(buf))
		return bad(why, n, "not an IPv4 or IPv6 address");
	memcpy(buf, addr, alen);
	buf[alen] = '\0';
	if (strchr(buf, '%'))
		return bad(why, n, "an IPv6 zone (%%...) cannot be used");
	if ((want == 0 || want == AF_INET) && inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if ((want == 0 || want == AF_INET6) && inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else if (want == AF_INET6)
		return bad(why, n, "'%s' is not an IPv6 address", buf);
	else
		return bad(why, n, "'%s' is not an IPv4 or IPv6 address", buf);
	max = a->family == AF_INET ? 32 : 128;
	a->prefix = max;
	if (len) {
		if (!parse_uint(len, llen, 3, 0, (unsigned)max, &prefix))
			return bad(why, n, "the prefix length must be a number from 1 to %d",
				   max);
		if (prefix == 0)
			return bad(why, n, "a /0 prefix would allow everything");
		a->prefix = (int)prefix;
	}
	/* clear the host bits: 10.0.0.5/24 is 10.0.0.0/24 */
	for (int bit = a->prefix; bit < max; bit++)
		a->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
	return 0;
}

static void allow_text(struct hn_allow *a)
{
	char addr[INET6_ADDRSTRLEN], pfx[8] = "";
	bool v6 = a->family == AF_INET6;

	inet_ntop(a->family, a->addr, addr, sizeof(addr));
	if (a->prefix != (v6 ? 128 : 32))
		snprintf(pfx, sizeof(pfx), "/%d", a->prefix);
	if (!a->port)
		snprintf(a->text, sizeof(a->text), "%s%s", addr, pfx);
	else if (v6)
		snprintf(a->text, sizeof(a->text), "[%s%s]:%u", addr, pfx, a->port);
	else
		snprintf(a->text, sizeof(a->text), "%s%s:%u", addr, pfx, a->port);
}

int hn_allow_parse(const char *s, struct hn_allow *out, char *why, size_t n)
{
	struct hn_allow a;
	const char *addr = s, *len = NULL, *port = NULL, *end;
	size_t alen, llen = 0, plen = 0;
	int want = 0, r;

	memset(&a, 0, sizeof(a));
	if (!s || !*s)
		return bad(why, n, "empty");
	if (strlen(s) > 80)
		return bad(why, n, "too long");
	for (const char *p = s; *p; p++)
		if (isspace((unsigned char)*p) || !isprint((unsigned char)*p))
			return bad(why, n, "contains blanks or control characters");
	end = s + strlen(s);
	if (*s == '[') {
		/* [IPV6], [IPV6]:PORT, [IPV6/LEN]:PORT, [IPV6]/LEN:PORT */
		const char *close = strchr(s, ']'), *rest;

		if (!close)
			return bad(why, n, "'[' without ']'");
		want = AF_INET6;
		addr = s + 1;
		alen = (size_t)(close - addr);
		rest = close + 1;
		if (*rest == '/') {
			const char *c = strchr(rest, ':');
			len = rest + 1;
			llen = (size_t)((c ? c : end) - len);
			rest = c ? c : end;
		}
		if (*rest == ':') {
			port = rest + 1;
			plen = (size_t)(end - port);
			if (plen == 0)
				return bad(why, n, "no port after ':'");
		} else if (*rest) {
			return bad(why, n, "unexpected text after ']'");
		}
	} else {
		const char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		alen = (size_t)(end - s);
		if (c1 && !c2) {
			/* IPV4[/LEN]:PORT */
			want = AF_INET;
			alen = (size_t)(c1 - s);
			port = c1 + 1;
			plen = (size_t)(end - port);
			if (plen == 0)
				return bad(why, n, "no port after ':'");
		} else if (c2) {
			want = AF_INET6;   /* a port needs [ADDR]:PORT */
		}
	}
	if (!len) {
		const char *slash = memchr(addr, '/', alen);
		if (slash) {
			len = slash + 1;
			llen = alen - (size_t)(len - addr);
			alen = (size_t)(slash - addr);
		}
	}
	r = parse_addr(addr, alen, len, llen, want, &a, why, n);
	if (r < 0) {
		size_t used = why && n ? strlen(why) : 0;

		if (want == AF_INET6 && *s != '[' && used < n)
			snprintf(why + used, n - used, " (with a port, write [ADDR]:PORT)");
		return r;
	}
	if (port && !parse_uint(port, plen, 5, 1, 65535, &a.port))
		return bad(why, n, "the port must be a number from 1 to 65535");
	allow_text(&a);
	*out = a;
	return 0;
}

static bool allow_same(const struct hn_allow *a, const struct hn_allow *b)
{
	return a->family == b->family && a->prefix == b->prefix && a->port == b->port &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

int hn_isolation_allow(struct hn_isolation *st, const char *s, char *why, size_t n)
{
	struct hn_allow a;
	int r = hn_allow_parse(s, &a, why, n);

	if (r < 0)
		return r;
	for (int i = 0; i < st->nallow; i++)
		if (allow_same(&st->allow[i], &a))
			return 0;
	if (st->nallow >= HN_ISO_MAX_ALLOW) {
		if (why && n)
			snprintf(why, n, "more than %d allowed addresses", HN_ISO_MAX_ALLOW);
		return -E2BIG;
	}
	st->allow[st->nallow++] = a;
	return 0;
}

static bool is_loopback(const struct hn_allow *a)
{
	static const unsigned char v6lo[16] = { [15] = 1 };

	return a->family == AF_INET ? a->addr[0] == 127 : memcmp(a->addr, v6lo, 16) == 0;
}

/* The nameservers of one resolv.conf into st; -errno when unreadable. */
static int dns_read(struct hn_isolation *st, const char *path, int *loopback)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char word[16], addr[128], *pct;
		struct hn_allow a;
		bool dup = false;

		if (sscanf(line, " %15s %127s", word, addr) != 2 || strcmp(word, "nameserver"))
			continue;
		pct = strchr(addr, '%');    /* fe80::1%eth0: the address alone */
		if (pct)
			*pct = '\0';
		if (hn_allow_parse(addr, &a, NULL, 0) < 0 || a.prefix != (a.family == AF_INET ? 32 : 128))
			continue;
		if (is_loopback(&a)) {
			(*loopback)++;
			continue;
		}
		a.port = 53;
		allow_text(&a);
		for (int i = 0; i < st->ndns; i++)
			dup |= allow_same(&st->dns_servers[i], &a);
		if (!dup && st->ndns < HN_ISO_MAX_DNS)
			st->dns_servers[st->ndns++] = a;
	}
	fclose(f);
	return 0;
}

int hn_isolation_dns(struct hn_isolation *st, const char *resolv_conf, char *why, size_t n)
{
	int loopback = 0, r;

	st->dns = true;
	st->ndns = 0;
	r = dns_read(st, resolv_conf, &loopback);
	if (r < 0) {
		if (why && n)
			snprintf(why, n, "cannot read %s: %s", resolv_conf, strerror(-r));
		return r;
	}
	/* a local stub (systemd-resolved's 127.0.0.53) asks these */
	if (st->ndns == 0 && loopback && strcmp(resolv_conf, STUB_RESOLV) != 0)
		dns_read(st, STUB_RESOLV, &loopback);
	return st->ndns;
}

/* ---- the table ---- */

static const char *ipkw(const struct hn_allow *a)
{
	return a->family == AF_INET ? "ip" : "ip6";
}

/* The address as nft reads it: 10.0.0.0/24, fd00::1. */
static void nft_addr(const struct hn_allow *a, char *buf, size_t n)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->addr, addr, sizeof(addr));
	if (a->prefix != (a->family == AF_INET ? 32 : 128))
		snprintf(buf, n, "%s/%d", addr, a->prefix);
	else
		snprintf(buf, n, "%s", addr);
}

/* The accept rules for one allowed address, from one chain's side:
 * peer is "daddr" in output, "saddr" in input. */
static void allow_rules(struct hn_strbuf *sb, const struct hn_allow *a, const char *peer)
{
	char addr[64];

	nft_addr(a, addr, sizeof(addr));
	if (!a->port) {
		hn_strbuf_addf(sb, "\t\t%s %s %s accept\n", ipkw(a), peer, addr);
		return;
	}
	/* the port on the peer's end (we connect to it) and on ours (it
	 * connects to us) */
	hn_strbuf_addf(sb, "\t\t%s %s %s meta l4proto { tcp, udp } th %s %u accept\n",
		       ipkw(a), peer, addr, peer[0] == 'd' ? "dport" : "sport", a->port);
	hn_strbuf_addf(sb, "\t\t%s %s %s meta l4proto { tcp, udp } th %s %u accept\n",
		       ipkw(a), peer, addr, peer[0] == 'd' ? "sport" : "dport", a->port);
}

int hn_isolation_ruleset(const struct hn_isolation *st, struct hn_strbuf *sb)
{
	hn_strbuf_adds(sb, "table " TABLE " {\n");

	hn_strbuf_adds(sb, "\tchain input {\n"
			   "\t\ttype filter hook input priority filter; policy drop;\n"
			   "\t\tiif \"lo\" accept\n");
	for (int i = 0; i < st->nallow; i++)
		allow_rules(sb, &st->allow[i], "saddr");
	for (int i = 0; i < st->ndns; i++)
		allow_rules(sb, &st->dns_servers[i], "saddr");
	hn_strbuf_adds(sb, "\t\tudp sport 67 udp dport 68 accept\n"
			   "\t\tudp sport 547 udp dport 546 accept\n"
			   "\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit,"
			   " nd-neighbor-advert } ip6 hoplimit 255 accept\n"
			   "\t\ticmpv6 type mld-listener-query ip6 hoplimit 1 accept\n"
			   "\t\tcounter drop\n"
			   "\t}\n");

	hn_strbuf_adds(sb, "\tchain forward {\n"
			   "\t\ttype filter hook forward priority filter; policy drop;\n"
			   "\t\tcounter drop\n"
			   "\t}\n");

	hn_strbuf_adds(sb, "\tchain output {\n"
			   "\t\ttype filter hook output priority filter; policy drop;\n"
			   "\t\toif \"lo\" accept\n");
	for (int i = 0; i < st->nallow; i++)
		allow_rules(sb, &st->allow[i], "daddr");
	for (int i = 0; i < st->ndns; i++)
		allow_rules(sb, &st->dns_servers[i], "daddr");
	hn_strbuf_adds(sb, "\t\tudp sport 68 udp dport 67 accept\n"
			   "\t\tudp sport 546 udp dport 547 accept\n"
			   "\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit,"
			   " nd-neighbor-advert } ip6 hoplimit 255 accept\n"
			   "\t\ticmpv6 type { mld-listener-report, mld2-listener-report }"
			   " ip6 hoplimit 1 accept\n"
			   "\t\tcounter drop\n"
			   "\t}\n");
	hn_strbuf_adds(sb, "}\n");
	return sb->oom ? -ENOMEM : 0;
}

/* Append to buf (n bytes, used so far in *used), cutting at the end. */
static void put(char *buf, size_t n, size_t *used, const char *a, const char *b)
{
	int w;

	if (*used >= n)
		return;
	w = snprintf(buf + *used, n - *used, "%s%s", a, b);
	*used += w > 0 ? (size_t)w : 0;
}

void hn_isolation_describe(const struct hn_isolation *st, char *buf, size_t n)
{
	size_t used = 0;

	if (!n)
		return;
	buf[0] = '\0';
	for (int i = 0; i < st->nallow; i++)
		put(buf, n, &used, i ? ", " : "", st->allow[i].text);
	if (st->dns) {
		put(buf, n, &used, used ? "; " : "", "DNS");
		for (int i = 0; i < st->ndns; i++)
			put(buf, n, &used, i ? ", " : " ", st->dns_servers[i].text);
		if (st->ndns == 0)
			put(buf, n, &used, " (no nameserver off this host)", "");
	}
	if (!used)
		snprintf(buf, n, "nothing");
}

/* ---- nftables ---- */

/* Run cmd through libnftables; *out (may be NULL) gets what it printed.
 * On failure r->err gets nft's first error line. */
static int nft_run(struct hn_respond *r, const char *cmd, char **out)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *e, *o;
	int rc;

	if (!ctx)
		return hn_respond_fail(r, -EOPNOTSUPP, "the nftables library cannot start");
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		nft_ctx_free(ctx);
		return hn_respond_fail(r, -ENOMEM, "nftables: cannot buffer its output");
	}
	rc = nft_run_cmd_from_buffer(ctx, cmd);
	if (rc != 0) {
		size_t len;

		e = nft_ctx_get_error_buffer(ctx);
		e = e ? e : "";
		while (*e == '\n')
			e++;
		len = strcspn(e, "\n");
		hn_respond_fail(r, -EIO, "nftables: %.*s", (int)(len ? len : 7),
				len ? e : "refused");
		nft_ctx_free(ctx);
		return -EIO;
	}
	if (out) {
		o = nft_ctx_get_output_buffer(ctx);
		*out = strdup(o ? o : "");
		if (!*out) {
			nft_ctx_free(ctx);
			return hn_respond_fail(r, -ENOMEM, "out of memory");
		}
	}
	nft_ctx_free(ctx);
	return 0;
}

int hn_isolation_check(struct hn_respond *r)
{
	char *out = NULL;
	int rc = nft_run(r, "list tables", &out);

	free(out);
	if (rc < 0) {
		char why[HN_RESPOND_ERR_MAX];

		snprintf(why, sizeof(why), "%s", r->err);
		return hn_respond_fail(r, -EOPNOTSUPP, "nftables is not usable here (%s)", why);
	}
	return 0;
}

/* Is our table among the kernel's?  1, 0, or -errno. */
static int table_present(struct hn_respond *r)
{
	char *out = NULL;
	int rc = nft_run(r, "list tables " HN_ISO_FAMILY, &out);
	bool found = false;

	if (rc < 0)
		return rc;
	for (char *line = out, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		found |= strcmp(line, "table " TABLE) == 0;
	}
	free(out);
	return found;
}

int hn_isolation_table(struct hn_respond *r, char **text)
{
	int rc = table_present(r);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	return nft_run(r, "list table " TABLE, text);
}

int hn_isolation_apply(struct hn_respond *r, const struct hn_isolation *st, char **ruleset)
{
	struct hn_strbuf cmd, table;
	int rc;

	hn_strbuf_init(&cmd);
	hn_strbuf_init(&table);
	rc = hn_isolation_ruleset(st, &table);
	hn_strbuf_adds(&cmd, "add table " TABLE "\n"
			     "delete table " TABLE "\n");
	hn_strbuf_adds(&cmd, table.buf);
	if (rc < 0 || cmd.oom) {
		rc = hn_respond_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	rc = nft_run(r, cmd.buf, NULL);
	if (rc < 0)
		goto out;
	if (ruleset) {
		*ruleset = table.buf;
		table.buf = NULL;
	}
out:
	hn_strbuf_release(&cmd);
	hn_strbuf_release(&table);
	return rc;
}

/* ---- the state file ---- */

static int state_path(struct hn_respond *r, char *buf, size_t n, const char *suffix)
{
	int len = snprintf(buf, n, "%s/%s%s", r->state_dir, HN_ISO_STATE, suffix);

	if (len < 0 || (size_t)len >= n)
		return hn_respond_fail(r, -ENAMETOOLONG, "state directory: path too long");
	return 0;
}

static void time_text(uint64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000ULL);
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	else
		snprintf(buf, n, "?");
}

static void allow_array(struct hn_json *j, const char *key, const struct hn_allow *v, int n)
{
	hn_json_arr_open(j, key);
	for (int i = 0; i < n; i++)
		hn_json_arr_str(j, v[i].text, strlen(v[i].text));
	hn_json_arr_close(j);
}

/* fsync the directory so that a rename or unlink in it lasts */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int hn_isolation_save(struct hn_respond *r, const struct hn_isolation *st)
{
	char path[4200], tmp[4200], since[40], suffix[32];
	struct hn_strbuf sb;
	struct hn_json j;
	int fd = -1, rc;
	size_t off = 0;

	snprintf(suffix, sizeof(suffix), ".tmp.%d", (int)getpid());
	if ((rc = state_path(r, path, sizeof(path), "")) < 0 ||
	    (rc = state_path(r, tmp, sizeof(tmp), suffix)) < 0)
		return rc;
	hn_strbuf_init(&sb);
	time_text(st->since, since, sizeof(since));
	hn_json_begin(&j, &sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_bool(&j, "isolated", true);
	hn_json_kv_str(&j, "table", TABLE);
	hn_json_kv_str(&j, "since", since);
	hn_json_kv_u64(&j, "since_ns", st->since);
	hn_json_kv_str(&j, "by", st->by);
	hn_json_kv_i64(&j, "action", st->action);
	allow_array(&j, "allow", st->allow, st->nallow);
	hn_json_kv_bool(&j, "dns", st->dns);
	allow_array(&j, "dns_servers", st->dns_servers, st->ndns);
	hn_json_obj_close(&j);
	hn_strbuf_addc(&sb, '\n');
	if (hn_json_end(&j) < 0 || sb.oom) {
		rc = hn_respond_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	if (mkdir(r->state_dir, 0700) < 0 && errno != EEXIST) {
		rc = hn_respond_fail(r, -errno, "cannot make %s: %s", r->state_dir,
				     strerror(errno));
		goto out;
	}
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		rc = hn_respond_fail(r, -errno, "cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	while (off < sb.len) {
		ssize_t w = write(fd, sb.buf + off, sb.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = hn_respond_fail(r, w < 0 ? -errno : -EIO, "cannot write %s: %s",
					     tmp, strerror(w < 0 ? errno : EIO));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0) {
		rc = hn_respond_fail(r, -errno, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = hn_respond_fail(r, -errno, "cannot rename %s to %s: %s", tmp, path,
				     strerror(errno));
		goto out;
	}
	sync_dir(r->state_dir);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	hn_strbuf_release(&sb);
	return rc;
}

/* An array of address strings from the state file into v. */
static int load_allows(struct hn_respond *r, json_t *arr, struct hn_allow *v, int max,
		       int *n, unsigned port)
{
	size_t i;
	json_t *e;

	*n = 0;
	if (!json_is_array(arr))
		return hn_respond_fail(r, -EINVAL, "isolation state: no address list");
	json_array_foreach(arr, i, e) {
		char why[128];
		const char *s = json_string_value(e);

		if (*n >= max)
			return hn_respond_fail(r, -EINVAL, "isolation state: too many addresses");
		if (!s || hn_allow_parse(s, &v[*n], why, sizeof(why)) < 0)
			return hn_respond_fail(r, -EINVAL, "isolation state: bad address '%s': %s",
					       s ? s : "?", s ? why : "not a string");
		if (port && !v[*n].port) {
			v[*n].port = port;
			allow_text(&v[*n]);
		}
		(*n)++;
	}
	return 0;
}

int hn_isolation_load(struct hn_respond *r, struct hn_isolation *st)
{
	char path[4200];
	json_error_t jerr;
	json_t *root = NULL, *v;
	struct stat sbuf;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = state_path(r, path, sizeof(path), "")) < 0)
		return rc;
	if (stat(path, &sbuf) < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return hn_respond_fail(r, -errno, "cannot read %s: %s", path, strerror(errno));
	}
	if (!S_ISREG(sbuf.st_mode) || sbuf.st_size > STATE_MAX)
		return hn_respond_fail(r, -EINVAL, "%s is not an isolation state file", path);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return hn_respond_fail(r, -EINVAL, "%s does not read: %s (line %d)", path,
				       jerr.text, jerr.line);
	rc = -EINVAL;
	if (!json_is_object(root) || !json_is_true(json_object_get(root, "isolated"))) {
		hn_respond_fail(r, -EINVAL, "%s does not say isolated", path);
		goto out;
	}
	rc = load_allows(r, json_object_get(root, "allow"), st->allow, HN_ISO_MAX_ALLOW,
			 &st->nallow, 0);
	if (rc < 0)
		goto out;
	st->dns = json_is_true(json_object_get(root, "dns"));
	if (st->dns) {
		rc = load_allows(r, json_object_get(root, "dns_servers"), st->dns_servers,
				 HN_ISO_MAX_DNS, &st->ndns, 53);
		if (rc < 0)
			goto out;
	}
	v = json_object_get(root, "since_ns");
	st->since = json_is_integer(v) && json_integer_value(v) > 0 ?
		    (uint64_t)json_integer_value(v) : 0;
	v = json_object_get(root, "by");
	snprintf(st->by, sizeof(st->by), "%s", json_is_string(v) ? json_string_value(v) : "?");
	v = json_object_get(root, "action");
	st->action = json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int hn_unisolate(struct hn_respond *r, char **deleted, bool *had_table, bool *had_state)
{
	char path[4200], *text = NULL;
	int rc;

	*had_table = *had_state = false;
	if ((rc = state_path(r, path, sizeof(path), "")) < 0)
		return rc;
	rc = hn_isolation_table(r, &text);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	if (rc == 0) {
		rc = nft_run(r, "delete table " TABLE, NULL);
		if (rc < 0) {
			free(text);
			return rc;
		}
		*had_table = true;
	}
	if (unlink(path) == 0) {
		*had_state = true;
		sync_dir(r->state_dir);
	} else if (errno != ENOENT) {
		rc = hn_respond_fail(r, -errno, "the table is deleted, but %s is not: %s",
				     path, strerror(errno));
		free(text);
		return rc;
	}
	if (deleted)
		*deleted = text;
	else
		free(text);
	return 0;
}

int hn_isolation_detail(const struct hn_isolation *st, const char *ruleset,
			const char *replaced, struct hn_strbuf *sb)
{
	struct hn_json j;

	hn_json_begin(&j, sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "table", TABLE);
	allow_array(&j, "allow", st->allow, st->nallow);
	hn_json_kv_bool(&j, "dns", st->dns);
	allow_array(&j, "dns_servers", st->dns_servers, st->ndns);
	if (ruleset)
		hn_json_kv_str(&j, "ruleset", ruleset);
	if (replaced)
		hn_json_kv_str(&j, "replaced", replaced);
	hn_json_obj_close(&j);
	return hn_json_end(&j) < 0 || sb->oom ? -ENOMEM : 0;
}

/* ---- the agent ---- */

bool hn_isolated(const char *db_path)
{
	char dir[4096], path[4200];

	if (hn_respond_state_dir(db_path, dir, sizeof(dir)) < 0)
		return false;
	snprintf(path, sizeof(path), "%s/%s", dir, HN_ISO_STATE);
	return access(path, F_OK) == 0;
}

int hn_isolation_restore(const char *db_path, const char *who, char *msg, size_t n)
{
	struct hn_respond r;
	struct hn_isolation *st = calloc(1, sizeof(*st));
	struct hn_strbuf detail;
	char *ruleset = NULL, allowed[1024], summary[320];
	int64_t id = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	hn_strbuf_init(&detail);
	if (!st) {
		snprintf(msg, n, "NETWORK ISOLATION NOT RESTORED: out of memory");
		return -ENOMEM;
	}
	rc = hn_respond_state_dir(db_path, r.state_dir, sizeof(r.state_dir));
	if (rc == 0)
		rc = hn_isolation_load(&r, st);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		snprintf(msg, n, "NETWORK ISOLATION NOT RESTORED: %s", r.err);
		goto out;
	}
	hn_isolation_describe(st, allowed, sizeof(allowed));
	/* the state first: isolation must not wait for the store */
	rc = hn_isolation_apply(&r, st, &ruleset);
	if (rc < 0) {
		snprintf(msg, n, "NETWORK ISOLATION NOT RESTORED: %s", r.err);
		goto out;
	}
	snprintf(msg, n, "network isolation restored (table " TABLE "; allowed: %s; "
		 "isolated by %s)", allowed, st->by);
	rc = 1;
	/* then its record; a store that does not open does not undo it */
	if (hn_respond_open(&r, db_path) < 0 ||
	    hn_isolation_detail(st, ruleset, NULL, &detail) < 0) {
		size_t used = strlen(msg);
		snprintf(msg + used, n - used, "; not recorded: %s",
			 r.err[0] ? r.err : "out of memory");
		goto out;
	}
	snprintf(r.user, sizeof(r.user), "%s", who);
	snprintf(summary, sizeof(summary), "restored at the agent's start: the isolation"
		 " of action #%lld, by %s", (long long)st->action, st->by);
	if (hn_act_begin(&r, "isolate", allowed, 0, &id) < 0 ||
	    hn_act_end(&r, id, "done", summary, detail.buf) < 0) {
		size_t used = strlen(msg);
		snprintf(msg + used, n - used, "; not recorded: %s", r.err);
	}
out:
	hn_respond_close(&r);
	hn_strbuf_release(&detail);
	free(ruleset);
	free(st);
	return rc;
}
