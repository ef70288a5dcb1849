/*
 * test_ioc.c - the real agent matches IOC lists (--ioc: a CSV, a MISP
 * event and a STIX bundle in the test's scratch directory) against what it
 * records: a copied binary whose SHA-256 is listed, and one whose MD5 is,
 * raise an alert when run, naming the process that ran; a connect to an
 * address in a listed network, a DNS query for a name under a listed
 * domain and a file written with listed content raise one each, naming
 * this process; the unlisted twins of each raise none.  `hinomi ioc check`
 * reports the lists and a broken one, and `hinomi detect --ioc` finds the
 * same alerts in the store, but for the written file (its hash is not in
 * the events).  A list added while the agent runs is loaded on SIGHUP,
 * and what it lists is matched from then on.
 *
 * Everything listed is this run's own: binaries with bytes of their own
 * appended, addresses in a random 127.x.y.0/24, names with this pid in
 * them, lists whose names carry the pid.  Other agents on the host see
 * all of it but list none of it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "enrich/hasher.h"
#include "event/event.h"
#include "lib/harness.h"

static struct th_agent agent;
static struct hn_store *store;
static char dir[256], iocdir[300];
static char bin_sha[320], bin_md5[320], bin_other[320], payload[320], other_file[320];
static char content[128], other_content[128];
static char net_listed[32], net_other[32], dom_listed[128], dom_other[128];
static char list_sha[64], list_md5[64], list_stix[64];

/* ---- alerts ---- */

struct alert {
	char id[256], title[512], level[16], json[4096];
	uint32_t pid;
	uint64_t entity, count;
	uint16_t type;
};

struct alerts {
	int n;
	struct alert a[32];
};

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct alerts *v = arg;
	struct alert *x;

	if (!al->rule_id || strncmp(al->rule_id, "ioc:", 4) != 0 || v->n >= 32)
		return 0;
	x = &v->a[v->n++];
	snprintf(x->id, sizeof(x->id), "%s", al->rule_id);
	snprintf(x->title, sizeof(x->title), "%s", al->rule_title);
	snprintf(x->level, sizeof(x->level), "%s", al->rule_level ? al->rule_level : "");
	snprintf(x->json, sizeof(x->json), "%s", al->event_json ? al->event_json : "");
	x->pid = al->pid;
	x->entity = al->entity;
	x->count = al->count;
	x->type = al->event_type;
	return 0;
}

static void read_alerts(struct alerts *v)
{
	memset(v, 0, sizeof(*v));
	assert_int_equal(hn_store_alerts(store, 0, on_alert, v), 0);
}

/* The IOC alert whose title contains want, once there (10 s); NULL if not. */
static const struct alert *wait_alert(const char *want, struct alerts *v)
{
	for (int k = 0; k < 100; k++) {
		read_alerts(v);
		for (int i = 0; i < v->n; i++)
			if (strstr(v->a[i].title, want))
				return &v->a[i];
		th_sleep_ms(100);
	}
	return NULL;
}

static void dump(const struct alerts *v)
{
	for (int i = 0; i < v->n; i++)
		fprintf(stderr, "  alert: %s (pid %u, x%llu)\n", v->a[i].title, v->a[i].pid,
			(unsigned long long)v->a[i].count);
}

/* ---- doing things ---- */

static pid_t run_bin(const char *path)
{
	pid_t p = fork();

	if (p == 0) {
		execl(path, path, "hn-ioc-run", (char *)NULL);
		_exit(127);
	}
	assert_true(p > 0);
	assert_int_equal(th_reap(p), 0);
	return p;
}

/* A listener on addr (port chosen), a connect to it, both closed. */
static void connect_to(const char *addr)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, a;

	assert_true(l >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 4), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &len), 0);
	c = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&sa, sizeof(sa)), 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	close(a);
	close(c);
	close(l);
}

/* A DNS query (A, IN) for name, to 127.0.0.1:53 (nobody needs to answer:
 * the sensor reads the question as it is sent). */
static void dns_query(const char *name)
{
	unsigned char q[300] = { 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t n = 12;
	const char *p = name;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	int s;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		q[n++] = (unsigned char)len;
		memcpy(q + n, p, len);
		n += len;
		p += len + (dot ? 1 : 0);
	}
	q[n++] = 0;
	q[n++] = 0;
	q[n++] = 1;
	q[n++] = 0;
	q[n++] = 1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	assert_int_equal(sendto(s, q, n, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)n);
	close(s);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* /bin/true with tag appended (the ELF loader ignores it): a binary
 * whose hashes are this run's own. */
static void copy_true(const char path[320], const char tag[64])
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "cp /bin/true '%s' && printf '%%s' '%s' >> '%s'", path, tag,
		 path);
	assert_int_equal(system(cmd), 0);
}

/* ---- the group: lists written, agent started ---- */

static int group_setup(void **state)
{
	struct hn_digests d_sha, d_md5, d_payload;
	char p[400], text[4096], tmp[400], tag[64];
	unsigned r1, r2;
	const char *extra[] = { "--quiet", "--no-rules", "--ioc", iocdir, NULL };

	(void)state;
	if (geteuid() != 0)
		return 0;
	if (th_scratch(dir, sizeof(dir), "ioc") < 0)
		return -1;
	snprintf(iocdir, sizeof(iocdir), "%s/ioc", dir);
	if (mkdir(iocdir, 0700) < 0)
		return -1;
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	r1 = 64 + (unsigned)rand() % 128;
	r2 = 1 + (unsigned)rand() % 200;
	snprintf(net_listed, sizeof(net_listed), "127.%u.%u.0/24", r1, r2);
	snprintf(net_other, sizeof(net_other), "127.%u.%u.1", r1, r2 + 1);
	snprintf(dom_listed, sizeof(dom_listed), "hn%d-ioc-test.example", (int)getpid());
	snprintf(dom_other, sizeof(dom_other), "hn%d-ioc-other.example", (int)getpid());
	snprintf(list_sha, sizeof(list_sha), "hn%d-sha", (int)getpid());
	snprintf(list_md5, sizeof(list_md5), "hn%d-misp", (int)getpid());
	snprintf(list_stix, sizeof(list_stix), "hn%d-stix", (int)getpid());
	snprintf(content, sizeof(content), "hinomi ioc payload %d %u\n", (int)getpid(),
		 (unsigned)rand());
	snprintf(other_content, sizeof(other_content), "hinomi ioc harmless %d %u\n",
		 (int)getpid(), (unsigned)rand());

	/* the binaries exist before the agent starts: writing them is not
	 * what is tested */
	snprintf(bin_sha, sizeof(bin_sha), "%s/listed-sha", dir);
	snprintf(bin_md5, sizeof(bin_md5), "%s/listed-md5", dir);
	snprintf(bin_other, sizeof(bin_other), "%s/unlisted", dir);
	snprintf(tag, sizeof(tag), "hn-ioc-sha-%d-%u", (int)getpid(), (unsigned)rand());
	copy_true(bin_sha, tag);
	snprintf(tag, sizeof(tag), "hn-ioc-md5-%d-%u", (int)getpid(), (unsigned)rand());
	copy_true(bin_md5, tag);
	snprintf(tag, sizeof(tag), "hn-ioc-other-%d-%u", (int)getpid(), (unsigned)rand());
	copy_true(bin_other, tag);
	snprintf(payload, sizeof(payload), "%s/payload.bin", dir);
	snprintf(other_file, sizeof(other_file), "%s/harmless.bin", dir);
	snprintf(tmp, sizeof(tmp), "%s/content", dir);
	write_file(tmp, content);
	if (hn_digest_file(bin_sha, 1 << 30, 0, &d_sha) < 0 ||
	    hn_digest_file(bin_md5, 1 << 30, HN_DIGEST_MD5, &d_md5) < 0 ||
	    hn_digest_file(tmp, 1 << 30, 0, &d_payload) < 0)
		return -1;
	unlink(tmp);

	/* CSV: the binary's SHA-256 and the domain */
	snprintf(p, sizeof(p), "%s/%s.csv", iocdir, list_sha);
	snprintf(text, sizeof(text),
		 "# this run's own\n"
		 "type,value,description,level\n"
		 "sha256,%s,test dropper,critical\n"
		 "domain,%s,test c2 name,medium\n", d_sha.sha256, dom_listed);
	if (th_append(p, text) < 0)
		return -1;
	/* MISP: the other binary's MD5 (and an attribute not for IDS) */
	snprintf(p, sizeof(p), "%s/%s.json", iocdir, list_md5);
	snprintf(text, sizeof(text),
		 "{\"Event\": {\"info\": \"test event\", \"threat_level_id\": \"1\","
		 " \"Attribute\": [{\"type\": \"md5\", \"value\": \"%s\", \"to_ids\": true},"
		 " {\"type\": \"domain\", \"value\": \"%s\", \"to_ids\": false}]}}\n",
		 d_md5.md5, dom_other);
	if (th_append(p, text) < 0)
		return -1;
	/* STIX: the network and the payload's SHA-256 */
	snprintf(p, sizeof(p), "%s/%s.json", iocdir, list_stix);
	snprintf(text, sizeof(text),
		 "{\"type\": \"bundle\", \"id\": \"bundle--t\", \"objects\": ["
		 "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--net\","
		 " \"name\": \"test net\", \"pattern_type\": \"stix\","
		 " \"pattern\": \"[ipv4-addr:value = '%s']\"},"
		 "{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--file\","
		 " \"name\": \"test payload\", \"pattern_type\": \"stix\","
		 " \"pattern\": \"[file:hashes.'SHA-256' = '%s']\"}]}\n",
		 net_listed, d_payload.sha256);
	if (th_append(p, text) < 0)
		return -1;
	return th_group_start(&agent, &store, extra);
}

static int group_teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	th_group_stop(&agent, store, dir);
	return 0;
}

/* ---- tests ---- */

/* The unlisted twins first: their results are in before the listed ones'
 * (each hasher works in order), so once those alerts are there, these
 * would be too. */
static void unlisted_twins_run_first(void **state)
{
	char addr[32], name[200];

	(void)state;
	if (geteuid() != 0)
		skip();
	run_bin(bin_other);
	snprintf(addr, sizeof(addr), "%s", net_other);
	connect_to(addr);
	snprintf(name, sizeof(name), "www.%s", dom_other);
	dns_query(name);
	write_file(other_file, other_content);
}

static void listed_binary_by_sha256_alerts_when_run(void **state)
{
	struct alerts v;
	const struct alert *al;
	struct hn_event *ev;
	pid_t p;

	(void)state;
	if (geteuid() != 0)
		skip();
	p = run_bin(bin_sha);
	al = wait_alert(list_sha, &v);
	if (!al) {
		dump(&v);
		fail_msg("no alert for the binary listed by SHA-256");
	}
	assert_non_null(strstr(al->title, "IOC sha256 "));
	assert_non_null(strstr(al->title, "test dropper"));
	assert_string_equal(al->level, "critical");
	assert_int_equal(al->type, HN_EV_PROCESS_START);
	assert_int_equal(al->pid, (uint32_t)p);
	/* the acting process: the one that ran it */
	ev = th_wait_match(store, HN_EV_PROCESS_START, (uint32_t)p, NULL, NULL);
	assert_non_null(ev);
	assert_true(al->entity != 0);
	assert_int_equal(al->entity, ev->proc.entity);
	hn_event_free(ev);
	assert_non_null(strstr(al->json, "\"sha256\""));
}

static void listed_binary_by_md5_alerts_when_run(void **state)
{
	struct alerts v;
	const struct alert *al;
	pid_t p;

	(void)state;
	if (geteuid() != 0)
		skip();
	p = run_bin(bin_md5);
	al = wait_alert(list_md5, &v);
	if (!al) {
		dump(&v);
		fail_msg("no alert for the binary listed by MD5");
	}
	assert_non_null(strstr(al->title, "IOC md5 "));
	assert_non_null(strstr(al->title, "test event"));
	assert_string_equal(al->level, "high");       /* threat_level_id 1 */
	assert_int_equal(al->pid, (uint32_t)p);
	assert_true(al->entity != 0);
}

static void connect_to_a_listed_network_alerts(void **state)
{
	struct alerts v;
	const struct alert *al;
	char addr[32], want[200];

	(void)state;
	if (geteuid() != 0)
		skip();
	/* an address inside the listed /24 */
	snprintf(addr, sizeof(addr), "%.*s7", (int)(strlen(net_listed) - 4), net_listed);
	connect_to(addr);
	snprintf(want, sizeof(want), "IOC ip %s in list %s", net_listed, list_stix);
	al = wait_alert(want, &v);
	if (!al) {
		dump(&v);
		fail_msg("no alert for the connect to %s", addr);
	}
	assert_int_equal(al->pid, (uint32_t)getpid());
	assert_true(al->entity != 0);
	assert_int_equal(al->type, HN_EV_NET_CONNECT);
	assert_non_null(strstr(al->json, addr));
}

static void dns_query_under_a_listed_domain_alerts(void **state)
{
	struct alerts v;
	const struct alert *al;
	char name[200], want[400];

	(void)state;
	if (geteuid() != 0)
		skip();
	/* under the listed name, in another case */
	snprintf(name, sizeof(name), "A.B.%s", dom_listed);
	for (char *c = name + 4; *c; c++)
		if (*c >= 'a' && *c <= 'z' && (c - name) % 2)
			*c = (char)(*c - 'a' + 'A');
	dns_query(name);
	snprintf(want, sizeof(want), "IOC domain %s in list %s", dom_listed, list_sha);
	al = wait_alert(want, &v);
	if (!al) {
		dump(&v);
		fail_msg("no alert for the query for %s", name);
	}
	assert_string_equal(al->level, "medium");
	assert_int_equal(al->pid, (uint32_t)getpid());
	assert_int_equal(al->type, HN_EV_DNS_QUERY);
}

static void written_file_with_listed_content_alerts(void **state)
{
	struct alerts v;
	const struct alert *al;
	char want[200];

	(void)state;
	if (geteuid() != 0)
		skip();
	write_file(payload, content);
	snprintf(want, sizeof(want), "in list %s: test payload", list_stix);
	al = wait_alert(want, &v);
	if (!al) {
		dump(&v);
		fail_msg("no alert for the written file %s", payload);
	}
	assert_non_null(strstr(al->title, "IOC sha256 "));
	assert_int_equal(al->pid, (uint32_t)getpid());
	assert_true(al->entity != 0);
	assert_int_equal(al->type, HN_EV_FILE_CREATE == al->type ? HN_EV_FILE_CREATE :
			 HN_EV_FILE_OPEN_WRITE);
	assert_non_null(strstr(al->json, payload));
}

static void only_the_listed_raised_alerts(void **state)
{
	struct alerts v;

	(void)state;
	if (geteuid() != 0)
		skip();
	/* what is in flight settles */
	th_sleep_ms(1500);
	read_alerts(&v);
	if (v.n != 5) {
		dump(&v);
		fail_msg("%d IOC alerts, 5 expected", v.n);
	}
	for (int i = 0; i < v.n; i++) {
		assert_null(strstr(v.a[i].title, dom_other));
		assert_null(strstr(v.a[i].json, bin_other));
		assert_null(strstr(v.a[i].json, other_file));
		assert_null(strstr(v.a[i].json, net_other));
	}
}

/* SIGHUP: a list added since the start is loaded, and a binary it lists
 * (run once before, unlisted: its hash is in the exec hasher's cache)
 * raises an alert when run again.  On a slow host the first run's hash
 * may come in only after the reload: then that run is matched against the
 * new list (as an event waiting for its hash is), and the second joins
 * its alert (same rule, same process tree). */
static void a_list_added_is_matched_after_sighup(void **state)
{
	char bin_new[320], tag[64], p[400], text[512], logtext[16384] = "", list[64];
	struct hn_digests d;
	struct alerts v;
	const struct alert *al;
	pid_t first, pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(bin_new, sizeof(bin_new), "%s/listed-later", dir);
	snprintf(tag, sizeof(tag), "hn-ioc-later-%d-%u", (int)getpid(), (unsigned)rand());
	copy_true(bin_new, tag);
	assert_int_equal(hn_digest_file(bin_new, 1 << 30, 0, &d), 0);
	first = run_bin(bin_new);
	/* its hash comes in and is matched against the lists as they are */
	th_sleep_ms(1500);
	snprintf(list, sizeof(list), "hn%d-reload", (int)getpid());
	snprintf(p, sizeof(p), "%s/%s.csv", iocdir, list);
	snprintf(text, sizeof(text), "type,value,description,level\n"
		 "sha256,%s,dropper listed later,high\n", d.sha256);
	assert_int_equal(th_append(p, text), 0);
	assert_int_equal(kill(agent.pid, SIGHUP), 0);
	if (!th_agent_log_has(&agent, "IOC lists reloaded:", logtext, sizeof(logtext)))
		fail_msg("no IOC reload in the agent's log:\n%s", logtext);
	pid = run_bin(bin_new);
	al = wait_alert(list, &v);
	if (!al) {
		dump(&v);
		fail_msg("no alert for the binary of the list added before SIGHUP");
	}
	assert_non_null(strstr(al->title, "dropper listed later"));
	assert_string_equal(al->level, "high");
	assert_true(al->pid == (uint32_t)pid || al->pid == (uint32_t)first);
}

/* ---- the CLI ---- */

static int sh(const char *cmd, char *out, size_t n)
{
	char full[2048];
	FILE *f;
	int st;
	size_t k;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	f = popen(full, "r");
	assert_non_null(f);
	k = fread(out, 1, n - 1, f);
	out[k] = '\0';
	/* the rest is read too: a writer must not die of a closed pipe */
	while (fread(full, 1, sizeof(full), f) > 0)
		;
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli_checks_lists_and_detects_offline(void **state)
{
	char cmd[1600], out[65536], bad[400];

	(void)state;
	if (geteuid() != 0)
		skip();
	snprintf(cmd, sizeof(cmd), "'%s' ioc check '%s'", th_bin(), iocdir);
	if (sh(cmd, out, sizeof(out)) != 0)
		fail_msg("ioc check failed:\n%s", out);
	if (!strstr(out, "3 files: 5 indicators loaded, 0 duplicates, 1 skipped, "
			 "0 unsupported, 0 invalid"))
		fail_msg("ioc check said:\n%s", out);
	/* a broken list: its line and why, and a failure */
	snprintf(bad, sizeof(bad), "%s/bad.csv", dir);
	assert_int_equal(th_append(bad, "ip,10.1.2.3/8\nurl,http://x.example/\n"), 0);
	snprintf(cmd, sizeof(cmd), "'%s' ioc check '%s' --json", th_bin(), bad);
	assert_int_equal(sh(cmd, out, sizeof(out)), 1);
	if (!strstr(out, "\"line\":1,") || !strstr(out, "host bits") ||
	    !strstr(out, "\"kind\":\"unsupported\"") || !strstr(out, "\"invalid\":1"))
		fail_msg("ioc check --json said:\n%s", out);
	/* offline, from the store: all but the written file */
	snprintf(cmd, sizeof(cmd), "'%s' detect --ioc '%s' --db '%s'", th_bin(), iocdir,
		 agent.db);
	assert_int_equal(sh(cmd, out, sizeof(out)), 0);
	if (!strstr(out, list_sha) || !strstr(out, net_listed) || !strstr(out, dom_listed) ||
	    strstr(out, "test payload") || strstr(out, dom_other))
		fail_msg("detect --ioc said:\n%s", out);
	/* and its JSON names the indicator the ECS way */
	snprintf(cmd, sizeof(cmd), "'%s' alerts --db '%s' --json", th_bin(), agent.db);
	assert_int_equal(sh(cmd, out, sizeof(out)), 0);
	if (!strstr(out, "\"ruleset\":\"ioc\"") ||
	    !strstr(out, "\"field\":\"dns.question.name\""))
		fail_msg("alerts --json said:\n%s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unlisted_twins_run_first),
		cmocka_unit_test(listed_binary_by_sha256_alerts_when_run),
		cmocka_unit_test(listed_binary_by_md5_alerts_when_run),
		cmocka_unit_test(connect_to_a_listed_network_alerts),
		cmocka_unit_test(dns_query_under_a_listed_domain_alerts),
		cmocka_unit_test(written_file_with_listed_content_alerts),
		cmocka_unit_test(only_the_listed_raised_alerts),
		cmocka_unit_test(cli_checks_lists_and_detects_offline),
		/* last: it adds a list the tests above do not expect */
		cmocka_unit_test(a_list_added_is_matched_after_sighup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
