/*
 * test_isolate.c - network isolation's pure parts (respond/isolate.c):
 * what --allow accepts and how it is written back, the exact table text
 * for a given allow list, the nameservers --dns takes from a resolv.conf,
 * and the state file's round trip.  Nothing here touches nftables (the
 * integration test test_isolate does, in namespaces of its own).
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

#include "lib/harness.h"
#include "respond/respond.h"

static void parses_to(const char *in, const char *canon, int family, int prefix,
		      unsigned port)
{
	struct hn_allow a;
	char why[256] = "";
	int r = hn_allow_parse(in, &a, why, sizeof(why));

	if (r != 0)
		fail_msg("'%s' refused: %s", in, why);
	assert_string_equal(a.text, canon);
	assert_int_equal(a.family, family);
	assert_int_equal(a.prefix, prefix);
	assert_int_equal(a.port, port);
	/* the canonical text reads back as itself */
	assert_int_equal(hn_allow_parse(canon, &a, why, sizeof(why)), 0);
	assert_string_equal(a.text, canon);
}

static void refused(const char *in, const char *why_has)
{
	struct hn_allow a;
	char why[256] = "";

	assert_int_equal(hn_allow_parse(in, &a, why, sizeof(why)), -EINVAL);
	if (!strstr(why, why_has))
		fail_msg("'%s': reason '%s' lacks '%s'", in, why, why_has);
}

static void allow_forms(void **state)
{
	(void)state;
	parses_to("10.0.0.5", "10.0.0.5", AF_INET, 32, 0);
	parses_to("10.0.0.5:22", "10.0.0.5:22", AF_INET, 32, 22);
	parses_to("10.0.0.5/24", "10.0.0.0/24", AF_INET, 24, 0);
	parses_to("10.0.0.5/24:443", "10.0.0.0/24:443", AF_INET, 24, 443);
	parses_to("10.0.0.5/32", "10.0.0.5", AF_INET, 32, 0);
	parses_to("fd00::1", "fd00::1", AF_INET6, 128, 0);
	parses_to("FD00:0::1", "fd00::1", AF_INET6, 128, 0);
	parses_to("fd00::1:22", "fd00::1:22", AF_INET6, 128, 0);   /* an address */
	parses_to("[fd00::1]:22", "[fd00::1]:22", AF_INET6, 128, 22);
	parses_to("[fd00::1]", "fd00::1", AF_INET6, 128, 0);
	parses_to("fd00::1/64", "fd00::/64", AF_INET6, 64, 0);
	parses_to("[fd00::1/64]:8443", "[fd00::/64]:8443", AF_INET6, 64, 8443);
	parses_to("[fd00::1]/48:1", "[fd00::/48]:1", AF_INET6, 48, 1);
	parses_to("10.1.2.3:65535", "10.1.2.3:65535", AF_INET, 32, 65535);
}

static void allow_refusals(void **state)
{
	(void)state;
	refused("", "empty");
	refused("10.0.0.256", "not an IPv4 or IPv6 address");
	refused("example.com:22", "not an IPv4 or IPv6 address");
	refused("10.0.0.1:0", "port must be a number from 1 to 65535");
	refused("10.0.0.1:65536", "port must be a number from 1 to 65535");
	refused("10.0.0.1:22x", "port must be");
	refused("10.0.0.1:", "no port after");
	refused("10.0.0.1:+22", "port must be");
	refused("10.0.0.0/33", "prefix length must be a number from 1 to 32");
	refused("fd00::/129", "from 1 to 128");
	refused("10.0.0.0/", "prefix length");
	refused("0.0.0.0/0", "would allow everything");
	refused("::/0", "would allow everything");
	refused("[fd00::1]22", "unexpected text after ']'");
	refused("[fd00::1", "without ']'");
	refused("[10.0.0.1]:22", "not an IPv6 address");
	refused("fd00::1]:22", "write [ADDR]:PORT");
	refused("fe80::1%eth0", "zone");
	refused("10.0.0.1 ", "blanks");
	refused("10.0.0.1\n", "control");
	refused("[]:22", "no address");
}

static void allow_list_dedups_and_bounds(void **state)
{
	struct hn_isolation *st = calloc(1, sizeof(*st));
	char why[128], ip[32];

	(void)state;
	assert_non_null(st);
	assert_int_equal(hn_isolation_allow(st, "10.0.0.5/24", why, sizeof(why)), 0);
	assert_int_equal(hn_isolation_allow(st, "10.0.0.9/24", why, sizeof(why)), 0);
	assert_int_equal(st->nallow, 1);     /* the same network */
	assert_int_equal(hn_isolation_allow(st, "10.0.0.0/24:22", why, sizeof(why)), 0);
	assert_int_equal(st->nallow, 2);     /* a port makes it another */
	for (int i = st->nallow; i < HN_ISO_MAX_ALLOW; i++) {
		snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 200, i % 200 + 1);
		assert_int_equal(hn_isolation_allow(st, ip, why, sizeof(why)), 0);
	}
	assert_int_equal(st->nallow, HN_ISO_MAX_ALLOW);
	assert_int_equal(hn_isolation_allow(st, "192.0.2.1", why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "more than"));
	assert_int_equal(hn_isolation_allow(st, "bad", why, sizeof(why)), -EINVAL);
	free(st);
}

/* The table for one IPv4 with a port, one IPv6 network and one
 * nameserver, line by line. */
static void ruleset_exact(void **state)
{
	static const char want[] =
		"table inet hinomi_isolation {\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tiif \"lo\" accept\n"
		"\t\tip saddr 10.0.0.5 meta l4proto { tcp, udp } th sport 22 accept\n"
		"\t\tip saddr 10.0.0.5 meta l4proto { tcp, udp } th dport 22 accept\n"
		"\t\tip6 saddr fd00::/64 accept\n"
		"\t\tip saddr 192.0.2.53 meta l4proto { tcp, udp } th sport 53 accept\n"
		"\t\tip saddr 192.0.2.53 meta l4proto { tcp, udp } th dport 53 accept\n"
		"\t\tudp sport 67 udp dport 68 accept\n"
		"\t\tudp sport 547 udp dport 546 accept\n"
		"\t\ticmpv6 type { nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert }"
		" ip6 hoplimit 255 accept\n"
		"\t\ticmpv6 type mld-listener-query ip6 hoplimit 1 accept\n"
		"\t\tcounter drop\n"
		"\t}\n"
		"\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy drop;\n"
		"\t\tcounter drop\n"
		"\t}\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority filter; policy drop;\n"
		"\t\toif \"lo\" accept\n"
		"\t\tip daddr 10.0.0.5 meta l4proto { tcp, udp } th dport 22 accept\n"
		"\t\tip daddr 10.0.0.5 meta l4proto { tcp, udp } th sport 22 accept\n"
		"\t\tip6 daddr fd00::/64 accept\n"
		"\t\tip daddr 192.0.2.53 meta l4proto { tcp, udp } th dport 53 accept\n"
		"\t\tip daddr 192.0.2.53 meta l4proto { tcp, udp } th sport 53 accept\n"
		"\t\tudp sport 68 udp dport 67 accept\n"
		"\t\tudp sport 546 udp dport 547 accept\n"
		"\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert }"
		" ip6 hoplimit 255 accept\n"
		"\t\ticmpv6 type { mld-listener-report, mld2-listener-report } ip6 hoplimit 1"
		" accept\n"
		"\t\tcounter drop\n"
		"\t}\n"
		"}\n";
	struct hn_isolation *st = calloc(1, sizeof(*st));
	struct hn_strbuf sb;
	char why[128], desc[256];
	const char *conf;

	(void)state;
	assert_non_null(st);
	assert_int_equal(hn_isolation_allow(st, "10.0.0.5:22", why, sizeof(why)), 0);
	assert_int_equal(hn_isolation_allow(st, "fd00::7/64", why, sizeof(why)), 0);
	conf = th_write_file(th_tmp, "resolv.conf", "nameserver 192.0.2.53\n");
	assert_non_null(conf);
	assert_int_equal(hn_isolation_dns(st, conf, why, sizeof(why)), 1);
	hn_strbuf_init(&sb);
	assert_int_equal(hn_isolation_ruleset(st, &sb), 0);
	assert_string_equal(sb.buf, want);
	hn_isolation_describe(st, desc, sizeof(desc));
	assert_string_equal(desc, "10.0.0.5:22, fd00::/64; DNS 192.0.2.53:53");
	hn_strbuf_release(&sb);

	/* nothing allowed: only the fixed rules */
	memset(st, 0, sizeof(*st));
	hn_strbuf_init(&sb);
	assert_int_equal(hn_isolation_ruleset(st, &sb), 0);
	assert_null(strstr(sb.buf, "saddr"));
	assert_null(strstr(sb.buf, "daddr"));
	hn_isolation_describe(st, desc, sizeof(desc));
	assert_string_equal(desc, "nothing");
	st->dns = true;
	hn_isolation_describe(st, desc, sizeof(desc));
	assert_string_equal(desc, "DNS (no nameserver off this host)");
	hn_strbuf_release(&sb);
	free(st);
}

static void dns_from_resolv_conf(void **state)
{
	struct hn_isolation *st = calloc(1, sizeof(*st));
	const char *conf;
	char why[256];

	(void)state;
	assert_non_null(st);
	conf = th_write_file(th_tmp, "resolv.conf",
			     "# comment\n"
			     "search example.org\n"
			     "nameserver 127.0.0.53\n"
			     "nameserver 192.0.2.1\n"
			     "nameserver fe80::1%eth0\n"
			     "nameserver 192.0.2.1\n"
			     "nameserver not-an-address\n"
			     "nameserver ::1\n"
			     "options edns0\n");
	assert_non_null(conf);
	assert_int_equal(hn_isolation_dns(st, conf, why, sizeof(why)), 2);
	assert_true(st->dns);
	assert_string_equal(st->dns_servers[0].text, "192.0.2.1:53");
	assert_string_equal(st->dns_servers[1].text, "[fe80::1]:53");

	snprintf(why, sizeof(why), "%s/none", th_tmp);
	assert_true(hn_isolation_dns(st, why, why, sizeof(why)) < 0);
	assert_non_null(strstr(why, "cannot read"));
	free(st);
}

static void state_round_trip(void **state)
{
	struct hn_isolation *st = calloc(1, sizeof(*st)), *back = calloc(1, sizeof(*back));
	struct hn_respond r;
	char why[128], path[4200];
	struct stat sb;

	(void)state;
	assert_non_null(st);
	assert_non_null(back);
	memset(&r, 0, sizeof(r));
	snprintf(r.state_dir, sizeof(r.state_dir), "%s/state", th_tmp);
	assert_int_equal(hn_isolation_load(&r, back), -ENOENT);
	assert_int_equal(hn_isolation_allow(st, "[fd00::1]:22", why, sizeof(why)), 0);
	assert_int_equal(hn_isolation_allow(st, "10.1.0.0/16", why, sizeof(why)), 0);
	st->dns = true;
	assert_int_equal(hn_allow_parse("192.0.2.53:53", &st->dns_servers[0], why,
					sizeof(why)), 0);
	st->ndns = 1;
	st->since = 1700000000123456789ULL;
	snprintf(st->by, sizeof(st->by), "root (sudo by alice)");
	st->action = 42;
	assert_int_equal(hn_isolation_save(&r, st), 0);
	snprintf(path, sizeof(path), "%s/isolation.json", r.state_dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(hn_isolation_load(&r, back), 0);
	assert_int_equal(back->nallow, 2);
	assert_string_equal(back->allow[0].text, "[fd00::1]:22");
	assert_string_equal(back->allow[1].text, "10.1.0.0/16");
	assert_true(back->dns);
	assert_int_equal(back->ndns, 1);
	assert_string_equal(back->dns_servers[0].text, "192.0.2.53:53");
	assert_int_equal(back->since, st->since);
	assert_string_equal(back->by, "root (sudo by alice)");
	assert_int_equal(back->action, 42);

	/* a file that is not ours is refused, not trusted */
	assert_non_null(th_write_file(r.state_dir, "isolation.json",
				      "{\"isolated\":true,\"allow\":[\"10.0.0.1; flush ruleset\"]}"));
	assert_int_equal(hn_isolation_load(&r, back), -EINVAL);
	assert_non_null(strstr(r.err, "bad address"));
	assert_non_null(th_write_file(r.state_dir, "isolation.json", "{\"isolated\":false}"));
	assert_int_equal(hn_isolation_load(&r, back), -EINVAL);
	assert_non_null(th_write_file(r.state_dir, "isolation.json", "not json"));
	assert_int_equal(hn_isolation_load(&r, back), -EINVAL);
	unlink(path);
	free(st);
	free(back);
}

static void detail_json(void **state)
{
	struct hn_isolation *st = calloc(1, sizeof(*st));
	struct hn_strbuf sb;
	char why[128];

	(void)state;
	assert_non_null(st);
	assert_int_equal(hn_isolation_allow(st, "10.0.0.5:22", why, sizeof(why)), 0);
	hn_strbuf_init(&sb);
	assert_int_equal(hn_isolation_detail(st, "table inet hinomi_isolation {\n}\n", NULL,
					     &sb), 0);
	assert_string_equal(sb.buf,
		"{\"table\":\"inet hinomi_isolation\",\"allow\":[\"10.0.0.5:22\"],"
		"\"dns\":false,\"dns_servers\":[],"
		"\"ruleset\":\"table inet hinomi_isolation {\\n}\\n\"}");
	hn_strbuf_release(&sb);
	free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allow_forms),
		cmocka_unit_test(allow_refusals),
		cmocka_unit_test(allow_list_dedups_and_bounds),
		cmocka_unit_test(ruleset_exact),
		cmocka_unit_test(dns_from_resolv_conf),
		cmocka_unit_test(state_round_trip),
		cmocka_unit_test(detail_json),
	};
	return cmocka_run_group_tests(tests, th_tmp_setup, th_tmp_teardown);
}
