/*
 * test_sigma_corr.c - Sigma correlation rules (detect/correlation.c,
 * correlate.c): each type fires when its condition holds over the events'
 * own times and not otherwise (event_count thresholds, value_count
 * distinct values, temporal in any order, temporal_ordered only in
 * order); group-by keeps groups apart and aliases join fields of
 * different log sources (and Image's second value, a script's path);
 * windows slide and expire; lt/lte/eq are decided when their window
 * closes, with the window's last event; generate: false hides the base
 * rules' own matches; correlations of correlations; groups are bounded
 * and evictions counted; every malformed correlation is reported with its
 * line and kind, and mutated ones never crash; `hinomi detect --input`
 * finds the same over ECS NDJSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "detect/detect.h"
#include "lib/harness.h"
#include "event/ecs.h"
#include "event/event.h"
#include "util/strbuf.h"

#define SEC 1000000000ULL
#define T0 (1700000000ULL * SEC)

/* ---- files, rulesets ---- */

static const char *write_file(const char *name, const char *text)
{
	const char *path = th_write_file(th_tmp, name, text);

	assert_non_null(path);
	return path;
}

struct problems {
	int n;
	char text[16][400];
	int line[16];
	enum hn_rule_problem_kind kind[16];
	char title[16][64];
};

static void on_problem(const struct hn_rule_problem *p, void *arg)
{
	struct problems *ps = arg;

	if (ps->n < 16) {
		snprintf(ps->text[ps->n], sizeof(ps->text[0]), "%s", p->why);
		snprintf(ps->title[ps->n], sizeof(ps->title[0]), "%s", p->title ? p->title : "");
		ps->line[ps->n] = p->line;
		ps->kind[ps->n] = p->kind;
	}
	ps->n++;
}

/* Load a rule text (multi-document); fails the test on any problem. */
static struct hn_ruleset *load_ok(const char *text)
{
	struct hn_ruleset *rs = hn_ruleset_new();
	struct problems ps = { 0 };

	assert_non_null(rs);
	assert_true(hn_ruleset_load(rs, write_file("r.yml", text), on_problem, &ps) >= 0);
	if (ps.n)
		fail_msg("problem: line %d: %s", ps.line[0], ps.text[0]);
	return rs;
}

/* The rules every test draws on (process starts and files). */
#define PROC(name, cond_yaml) \
	"title: " name "\nid: id-" name "\nname: " name "\n" \
	"logsource:\n  product: linux\n  category: process_creation\n" \
	"detection:\n  sel:\n" cond_yaml "  condition: sel\n---\n"
#define FILEEV(name, cat, cond_yaml) \
	"title: " name "\nid: id-" name "\nname: " name "\n" \
	"logsource:\n  product: linux\n  category: " cat "\n" \
	"detection:\n  sel:\n" cond_yaml "  condition: sel\n---\n"

/* ---- events ---- */

static struct hn_event *mk(uint16_t type, uint64_t t, uint64_t entity, uint32_t uid)
{
	struct hn_event *ev = hn_event_new(4096);

	assert_non_null(ev);
	ev->type = type;
	ev->time = t;
	ev->proc.entity = entity;
	ev->proc.parent_entity = 0x100;
	ev->proc.pid = (uint32_t)(entity & 0xffff);
	ev->proc.ppid = 1;
	ev->proc.uid = uid;
	ev->proc.auid = uid;
	snprintf(ev->proc.comm, sizeof(ev->proc.comm), "x");
	return ev;
}

/* A process start: resolved executable path, the path passed to execve
 * (NULL: the same), argv as one string (single spaces). */
static struct hn_event *mk_exec(uint64_t t, uint64_t parent, uint32_t uid, const char *path,
				const char *filename, const char *cmdline)
{
	struct hn_event *ev = mk(HN_EV_PROCESS_START, t, parent * 0x1000 + (t / SEC % 4096),
				 uid);
	char args[512];
	size_t n = strlen(cmdline) + 1;
	uint32_t argc = 1;

	ev->proc.parent_entity = parent;
	memcpy(args, cmdline, n);
	for (size_t i = 0; i < n; i++)
		if (args[i] == ' ') {
			args[i] = '\0';
			argc++;
		}
	ev->path = hn_event_puts(ev, path);
	ev->proc.executable = ev->path;
	ev->filename = hn_event_puts(ev, filename ? filename : path);
	ev->cwd = hn_event_puts(ev, "/tmp");
	ev->args = hn_event_put(ev, args, n);
	ev->args_len = n;
	ev->argc = argc;
	return ev;
}

static struct hn_event *mk_file(uint16_t type, uint64_t t, uint32_t uid, const char *image,
				const char *path)
{
	struct hn_event *ev = mk(type, t, 0x777, uid);

	ev->proc.executable = hn_event_puts(ev, image);
	ev->path = hn_event_puts(ev, path);
	return ev;
}

/* ---- what fired ---- */

struct fired {
	int n;
	char title[32][64];
	uint64_t time[32];
	char path[32][128];
	bool correlation[32];
};

static void on_match(const struct hn_rule_info *rule, const struct hn_event *ev, void *arg)
{
	struct fired *f = arg;

	if (f->n < 32) {
		snprintf(f->title[f->n], sizeof(f->title[0]), "%s", rule->title);
		f->time[f->n] = ev->time;
		snprintf(f->path[f->n], sizeof(f->path[0]), "%s", ev->path ? ev->path : "");
		f->correlation[f->n] = rule->correlation;
	}
	f->n++;
}

/* How many times title fired. */
static int count(const struct fired *f, const char *title)
{
	int n = 0;

	for (int i = 0; i < f->n && i < 32; i++)
		n += !strcmp(f->title[i], title);
	return n;
}

/* Match an event (then free it). */
static void feed(struct hn_correlator *c, struct hn_event *ev, struct fired *f)
{
	hn_correlator_match(c, ev, NULL, on_match, f);
	hn_event_free(ev);
}

#define WHOAMI(t, parent) mk_exec(t, parent, 0, "/usr/bin/whoami", NULL, "whoami")

/* ---- event_count ---- */

static void test_event_count_threshold_groups_and_window(void **state)
{
	struct hn_ruleset *rs = load_ok(
		PROC("who", "    Image|endswith: /whoami\n")
		"title: burst\nid: c-burst\ncorrelation:\n  type: event_count\n"
		"  rules: [who]\n  group-by: [ParentProcessGuid]\n  timespan: 30s\n"
		"  condition:\n    gte: 3\nlevel: high\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct fired f = { 0 };

	(void)state;
	assert_non_null(c);
	assert_int_equal(hn_ruleset_correlation_count(rs), 1);
	assert_true(hn_ruleset_correlation(rs, 0)->correlation);
	assert_string_equal(hn_ruleset_correlation(rs, 0)->level, "high");
	/* two parents, two each: nothing; the third of one: the correlation,
	 * with that event */
	feed(c, WHOAMI(T0, 0xa), &f);
	feed(c, WHOAMI(T0 + 1 * SEC, 0xb), &f);
	feed(c, WHOAMI(T0 + 2 * SEC, 0xa), &f);
	feed(c, WHOAMI(T0 + 3 * SEC, 0xb), &f);
	assert_int_equal(count(&f, "burst"), 0);
	feed(c, WHOAMI(T0 + 4 * SEC, 0xa), &f);
	assert_int_equal(count(&f, "burst"), 1);
	assert_int_equal(f.time[f.n - 1], T0 + 4 * SEC);
	assert_true(f.correlation[f.n - 1]);
	/* the group starts afresh: the fourth is not another alert */
	feed(c, WHOAMI(T0 + 5 * SEC, 0xa), &f);
	assert_int_equal(count(&f, "burst"), 1);
	/* the base rule is hidden (generate defaults to false) */
	assert_int_equal(count(&f, "who"), 0);
	assert_true(hn_ruleset_rule(rs, 0)->hidden);

	/* three hits spread over 40 s are not three within 30 s; a fourth
	 * 5 s later makes three within 25 s */
	feed(c, WHOAMI(T0 + 100 * SEC, 0xc), &f);
	feed(c, WHOAMI(T0 + 120 * SEC, 0xc), &f);
	feed(c, WHOAMI(T0 + 140 * SEC, 0xc), &f);
	assert_int_equal(count(&f, "burst"), 1);
	feed(c, WHOAMI(T0 + 145 * SEC, 0xc), &f);
	assert_int_equal(count(&f, "burst"), 2);
	hn_correlator_free(c);
	hn_ruleset_free(rs);

	/* gt 2 is gte 3; no group-by: one group for everything */
	rs = load_ok(PROC("who", "    Image|endswith: /whoami\n")
		     "title: burst\ncorrelation:\n  type: event_count\n  rules: [who]\n"
		     "  timespan: 1m\n  condition:\n    gt: 2\n");
	c = hn_correlator_new(rs);
	memset(&f, 0, sizeof(f));
	feed(c, WHOAMI(T0, 0xa), &f);
	feed(c, WHOAMI(T0 + SEC, 0xb), &f);
	assert_int_equal(count(&f, "burst"), 0);
	feed(c, WHOAMI(T0 + 2 * SEC, 0xc), &f);
	assert_int_equal(count(&f, "burst"), 1);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- value_count ---- */

static void test_value_count_distinct(void **state)
{
	struct hn_ruleset *rs = load_ok(
		PROC("su", "    Image|endswith: /su\n")
		"title: spray\ncorrelation:\n  type: value_count\n  rules: [su]\n"
		"  group-by: [User]\n  timespan: 1m\n"
		"  condition:\n    field: CommandLine\n    gte: 3\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct fired f = { 0 };

	(void)state;
	/* the same command over and over is one value */
	for (int i = 0; i < 5; i++)
		feed(c, mk_exec(T0 + (uint64_t)i * SEC, 1, 1000, "/usr/bin/su", NULL, "su alice"),
		     &f);
	assert_int_equal(count(&f, "spray"), 0);
	feed(c, mk_exec(T0 + 6 * SEC, 1, 1000, "/usr/bin/su", NULL, "su bob"), &f);
	/* another user's attempts are another group */
	feed(c, mk_exec(T0 + 7 * SEC, 1, 0, "/usr/bin/su", NULL, "su carol"), &f);
	assert_int_equal(count(&f, "spray"), 0);
	feed(c, mk_exec(T0 + 8 * SEC, 1, 1000, "/usr/bin/su", NULL, "su carol"), &f);
	assert_int_equal(count(&f, "spray"), 1);
	assert_int_equal(f.time[f.n - 1], T0 + 8 * SEC);
	/* values older than the span are forgotten */
	feed(c, mk_exec(T0 + 100 * SEC, 1, 1000, "/usr/bin/su", NULL, "su a"), &f);
	feed(c, mk_exec(T0 + 130 * SEC, 1, 1000, "/usr/bin/su", NULL, "su b"), &f);
	feed(c, mk_exec(T0 + 170 * SEC, 1, 1000, "/usr/bin/su", NULL, "su c"), &f);
	assert_int_equal(count(&f, "spray"), 1);
	feed(c, mk_exec(T0 + 171 * SEC, 1, 1000, "/usr/bin/su", NULL, "su d"), &f);
	assert_int_equal(count(&f, "spray"), 2);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- temporal, ordered and not ---- */

#define ABC \
	PROC("ra", "    Image|endswith: /a\n") \
	PROC("rb", "    Image|endswith: /b\n") \
	PROC("rc", "    Image|endswith: /c\n")

static struct hn_event *run_tool(uint64_t t, uint32_t uid, char which)
{
	char path[32];

	snprintf(path, sizeof(path), "/usr/bin/%c", which);
	return mk_exec(t, 1, uid, path, NULL, path);
}

static void test_temporal_any_order_and_ordered(void **state)
{
	struct hn_ruleset *rs = load_ok(
		ABC
		"title: any\ncorrelation:\n  type: temporal\n"
		"  rules: [id-ra, rb, rc]\n  group-by: [User]\n  timespan: 1m\n"
		"  generate: true\n---\n"
		"title: seq\ncorrelation:\n  type: temporal_ordered\n"
		"  rules: [ra, rb, rc]\n  group-by: [User]\n  timespan: 1m\n"
		"generate: true\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct fired f = { 0 };

	(void)state;
	/* referenced by id or by name alike; generate: true keeps the rules'
	 * own alerts */
	assert_false(hn_ruleset_rule(rs, 0)->hidden);
	/* c, a, b: all three in any order; not in order */
	feed(c, run_tool(T0, 0, 'c'), &f);
	feed(c, run_tool(T0 + SEC, 0, 'a'), &f);
	assert_int_equal(count(&f, "any"), 0);
	feed(c, run_tool(T0 + 2 * SEC, 0, 'b'), &f);
	assert_int_equal(count(&f, "any"), 1);
	assert_int_equal(count(&f, "seq"), 0);
	assert_int_equal(count(&f, "rb"), 1);
	/* ... then c: a, b, c in order (a at +1 s) */
	feed(c, run_tool(T0 + 3 * SEC, 0, 'c'), &f);
	assert_int_equal(count(&f, "seq"), 1);
	assert_int_equal(f.time[f.n - 1], T0 + 3 * SEC);

	/* another user's steps do not complete this user's sequence */
	feed(c, run_tool(T0 + 10 * SEC, 0, 'a'), &f);
	feed(c, run_tool(T0 + 11 * SEC, 1000, 'b'), &f);
	feed(c, run_tool(T0 + 12 * SEC, 0, 'c'), &f);
	assert_int_equal(count(&f, "seq"), 1);
	/* the whole sequence must fit in the span */
	feed(c, run_tool(T0 + 200 * SEC, 0, 'a'), &f);
	feed(c, run_tool(T0 + 210 * SEC, 0, 'b'), &f);
	feed(c, run_tool(T0 + 270 * SEC, 0, 'c'), &f);
	assert_int_equal(count(&f, "seq"), 1);
	/* a new start, and the rest within the span */
	feed(c, run_tool(T0 + 280 * SEC, 0, 'a'), &f);
	feed(c, run_tool(T0 + 290 * SEC, 0, 'b'), &f);
	feed(c, run_tool(T0 + 300 * SEC, 0, 'c'), &f);
	assert_int_equal(count(&f, "seq"), 2);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* An event that matches two steps is one step of a chain, not two. */
static void test_ordered_one_event_is_one_step(void **state)
{
	struct hn_ruleset *rs = load_ok(
		PROC("s1", "    Image|startswith: /tmp/\n")
		PROC("s2", "    Image|endswith: /x\n")
		"title: two\ncorrelation:\n  type: temporal_ordered\n  rules: [s1, s2]\n"
		"  timespan: 1m\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct fired f = { 0 };

	(void)state;
	feed(c, mk_exec(T0, 1, 0, "/tmp/x", NULL, "x"), &f);
	assert_int_equal(count(&f, "two"), 0);
	feed(c, mk_exec(T0 + SEC, 1, 0, "/tmp/x", NULL, "x"), &f);
	assert_int_equal(count(&f, "two"), 1);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- aliases: one path across file and process events ---- */

#define DROPPER_RULES \
	FILEEV("dl", "file_event", "    Image|endswith: /curl\n") \
	FILEEV("mode", "file_change", "    Image|endswith: /chmod\n") \
	PROC("run", "    Image|startswith: /tmp/\n")
#define DROPPER_CORR \
	"title: dropper\nid: c-dropper\ncorrelation:\n  type: temporal_ordered\n" \
	"  rules: [dl, mode, run]\n  group-by: [path, User]\n  timespan: 60s\n" \
	"  aliases:\n    path:\n      dl: TargetFilename\n      mode: TargetFilename\n" \
	"      run: Image\n"

static void test_aliases_join_file_and_process_fields(void **state)
{
	struct hn_ruleset *rs = load_ok(DROPPER_RULES DROPPER_CORR);
	struct hn_correlator *c = hn_correlator_new(rs);
	struct fired f = { 0 };

	(void)state;
	/* x downloaded; y made executable and run: no */
	feed(c, mk_file(HN_EV_FILE_CREATE, T0, 1000, "/usr/bin/curl", "/tmp/x"), &f);
	feed(c, mk_file(HN_EV_FILE_CHMOD, T0 + SEC, 1000, "/usr/bin/chmod", "/tmp/y"), &f);
	feed(c, mk_exec(T0 + 2 * SEC, 1, 1000, "/tmp/y", NULL, "/tmp/y"), &f);
	assert_int_equal(count(&f, "dropper"), 0);
	/* x by another user: no */
	feed(c, mk_file(HN_EV_FILE_CHMOD, T0 + 3 * SEC, 0, "/usr/bin/chmod", "/tmp/x"), &f);
	feed(c, mk_exec(T0 + 4 * SEC, 1, 0, "/tmp/x", NULL, "/tmp/x"), &f);
	assert_int_equal(count(&f, "dropper"), 0);
	/* x by its user: yes, with the run */
	feed(c, mk_file(HN_EV_FILE_CHMOD, T0 + 5 * SEC, 1000, "/usr/bin/chmod", "/tmp/x"), &f);
	feed(c, mk_exec(T0 + 6 * SEC, 1, 1000, "/tmp/x", NULL, "/tmp/x"), &f);
	assert_int_equal(count(&f, "dropper"), 1);
	assert_string_equal(f.path[f.n - 1], "/tmp/x");
	/* a script: the process's executable is its interpreter, the path
	 * passed to execve the script; Image has both */
	feed(c, mk_file(HN_EV_FILE_CREATE, T0 + 10 * SEC, 1000, "/usr/bin/curl", "/tmp/s.sh"),
	     &f);
	feed(c, mk_file(HN_EV_FILE_CHMOD, T0 + 11 * SEC, 1000, "/usr/bin/chmod", "/tmp/s.sh"),
	     &f);
	feed(c, mk_exec(T0 + 12 * SEC, 1, 1000, "/usr/bin/dash", "/tmp/s.sh", "/tmp/s.sh"), &f);
	assert_int_equal(count(&f, "dropper"), 2);
	/* none of the steps alerts alone */
	assert_int_equal(f.n, 2);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- lt / lte / eq: decided when the window closes ---- */

static void test_upper_bounds_decided_at_window_end(void **state)
{
	struct hn_ruleset *rs = load_ok(
		PROC("who", "    Image|endswith: /whoami\n")
		"title: few\ncorrelation:\n  type: event_count\n  rules: [who]\n"
		"  group-by: [User]\n  timespan: 10s\n  condition:\n    lt: 3\n---\n"
		"title: four\ncorrelation:\n  type: event_count\n  rules: [who]\n"
		"  group-by: [User]\n  timespan: 10s\n  condition:\n    eq: 4\n---\n"
		"title: range\ncorrelation:\n  type: event_count\n  rules: [who]\n"
		"  group-by: [User]\n  timespan: 10s\n  condition:\n    gt: 1\n    lte: 2\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct hn_correlator_stats st;
	struct fired f = { 0 };

	(void)state;
	/* user 0: two; user 1000: four */
	feed(c, mk_exec(T0, 1, 0, "/usr/bin/whoami", NULL, "whoami"), &f);
	feed(c, mk_exec(T0 + 1 * SEC, 1, 1000, "/usr/bin/whoami", NULL, "whoami"), &f);
	feed(c, mk_exec(T0 + 2 * SEC, 1, 1000, "/usr/bin/whoami", NULL, "whoami"), &f);
	feed(c, mk_exec(T0 + 3 * SEC, 1, 0, "/usr/bin/whoami", NULL, "whoami"), &f);
	feed(c, mk_exec(T0 + 4 * SEC, 1, 1000, "/usr/bin/whoami", NULL, "whoami"), &f);
	feed(c, mk_exec(T0 + 5 * SEC, 1, 1000, "/usr/bin/whoami", NULL, "whoami"), &f);
	/* undecided while the windows are open (and a little after: late
	 * events still count) */
	assert_int_equal(f.n, 0);
	assert_int_equal(hn_correlator_advance(c, T0 + 11 * SEC, on_match, &f), 0);
	hn_correlator_stats(c, &st);
	assert_int_equal(st.open_windows, 6);
	/* time passes: user 0's window (opened at T0) closes */
	hn_correlator_advance(c, T0 + 10 * SEC + HN_CORR_LATE_NS + 1, on_match, &f);
	assert_int_equal(count(&f, "few"), 1);
	assert_int_equal(count(&f, "range"), 1);
	/* with the window's last event */
	assert_int_equal(f.time[0], T0 + 3 * SEC);
	assert_int_equal(count(&f, "four"), 0);
	/* user 1000's closes by a later event's time */
	feed(c, mk_exec(T0 + 30 * SEC, 1, 5, "/usr/bin/true", NULL, "true"), &f);
	assert_int_equal(count(&f, "four"), 1);
	assert_int_equal(count(&f, "few"), 1);
	assert_int_equal(f.time[f.n - 1], T0 + 5 * SEC);
	hn_correlator_stats(c, &st);
	assert_int_equal(st.open_windows, 0);
	/* a hit past its group's window closes that window first */
	feed(c, mk_exec(T0 + 40 * SEC, 1, 0, "/usr/bin/whoami", NULL, "whoami"), &f);
	feed(c, mk_exec(T0 + 51 * SEC, 1, 0, "/usr/bin/whoami", NULL, "whoami"), &f);
	assert_int_equal(count(&f, "few"), 2);
	assert_int_equal(f.time[f.n - 1], T0 + 40 * SEC);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- generate, and correlations of correlations ---- */

static void test_generate_and_chains(void **state)
{
	/* the specification's example, on su: many failures, then a success,
	 * by one user; the chain's inner parts stay quiet */
	struct hn_ruleset *rs = load_ok(
		"title: Many failures then a success\nid: c-outer\ncorrelation:\n"
		"  type: temporal_ordered\n  rules:\n    - many_failed\n    - success\n"
		"  group-by:\n    - User\n  timespan: 10m\nlevel: high\n---\n"
		"title: Many failures\nid: c-inner\nname: many_failed\ncorrelation:\n"
		"  type: event_count\n  rules:\n    - failed\n  group-by:\n    - User\n"
		"  timespan: 10m\n  condition:\n    gte: 3\n---\n"
		PROC("failed", "    CommandLine|contains: wrong\n")
		PROC("success", "    CommandLine|contains: right\n")
		PROC("loud", "    CommandLine|contains: loud\n")
		"title: loud twice\ncorrelation:\n  type: event_count\n  rules: [loud]\n"
		"  timespan: 1m\n  condition:\n    gte: 2\n  generate: true\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct fired f = { 0 };

	(void)state;
	assert_int_equal(hn_ruleset_correlation_count(rs), 3);
	for (unsigned i = 0; i < 3; i++) {
		const struct hn_rule_info *r = hn_ruleset_correlation(rs, i);
		/* the inner correlation is hidden by the outer one */
		assert_int_equal(r->hidden, !strcmp(r->id, "c-inner"));
	}
	feed(c, mk_exec(T0, 1, 1000, "/usr/bin/su", NULL, "su right"), &f);
	for (int i = 0; i < 3; i++)
		feed(c, mk_exec(T0 + (uint64_t)(i + 1) * SEC, 1, 1000, "/usr/bin/su", NULL,
				"su wrong"), &f);
	assert_int_equal(f.n, 0);
	feed(c, mk_exec(T0 + 10 * SEC, 1, 1000, "/usr/bin/su", NULL, "su right"), &f);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.title[0], "Many failures then a success");
	/* generate: true: the rule's own alerts too */
	feed(c, mk_exec(T0 + 20 * SEC, 1, 0, "/bin/x", NULL, "x loud"), &f);
	feed(c, mk_exec(T0 + 21 * SEC, 1, 0, "/bin/x", NULL, "x loud"), &f);
	assert_int_equal(count(&f, "loud"), 2);
	assert_int_equal(count(&f, "loud twice"), 1);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- bounds ---- */

static void test_groups_bounded_oldest_evicted(void **state)
{
	struct hn_ruleset *rs = load_ok(
		PROC("who", "    Image|endswith: /whoami\n")
		"title: twice\ncorrelation:\n  type: event_count\n  rules: [who]\n"
		"  group-by: [ParentProcessGuid]\n  timespan: 1h\n  condition:\n    gte: 2\n");
	struct hn_correlator *c = hn_correlator_new(rs);
	struct hn_correlator_stats st;
	struct fired f = { 0 };
	unsigned n = HN_CORR_GROUPS + 100;

	(void)state;
	for (unsigned i = 0; i < n; i++)
		feed(c, WHOAMI(T0 + i * 1000000ULL, 0x10000 + i), &f);
	hn_correlator_stats(c, &st);
	assert_int_equal(st.groups, HN_CORR_GROUPS);
	assert_int_equal(st.evicted, 100);
	assert_int_equal(f.n, 0);
	/* the first parents were evicted: their second hit starts over */
	feed(c, WHOAMI(T0 + 10 * SEC, 0x10000), &f);
	assert_int_equal(f.n, 0);
	/* the last ones are kept */
	feed(c, WHOAMI(T0 + 10 * SEC, 0x10000 + n - 1), &f);
	assert_int_equal(f.n, 1);
	/* an hour later every group has expired */
	feed(c, mk_exec(T0 + 2 * 3600 * SEC, 1, 0, "/bin/true", NULL, "true"), &f);
	hn_correlator_stats(c, &st);
	assert_int_equal(st.groups, 0);
	hn_correlator_free(c);
	hn_ruleset_free(rs);
}

/* ---- malformed correlations ---- */

#define BASE PROC("r1", "    Image: /x\n") PROC("r2", "    Image: /y\n")

static void expect(const char *corr, enum hn_rule_problem_kind kind, int line, const char *msg)
{
	char text[4096];
	struct hn_ruleset *rs = hn_ruleset_new();
	struct problems ps = { 0 };
	int base_lines = 0;

	snprintf(text, sizeof(text), "%s%s", BASE, corr);
	for (const char *p = BASE; *p; p++)
		base_lines += *p == '\n';
	assert_non_null(rs);
	assert_true(hn_ruleset_load(rs, write_file("bad.yml", text), on_problem, &ps) >= 0);
	if (ps.n != 1)
		fail_msg("%d problems for:\n%s\n(first: %s)", ps.n, corr, ps.n ? ps.text[0] : "");
	if (!strstr(ps.text[0], msg))
		fail_msg("got '%s', wanted '%s'", ps.text[0], msg);
	assert_int_equal(ps.kind[0], kind);
	if (ps.line[0] != base_lines + line)
		fail_msg("'%s': line %d, wanted %d", ps.text[0], ps.line[0] - base_lines, line);
	assert_int_equal(hn_ruleset_correlation_count(rs), 0);
	/* the base rules still load, and are not hidden */
	assert_int_equal(hn_ruleset_count(rs), 2);
	assert_false(hn_ruleset_rule(rs, 0)->hidden);
	hn_ruleset_free(rs);
}

#define C(body) "title: c\ncorrelation:\n" body
#define OK_TAIL "  rules: [r1]\n  timespan: 1m\n"

static void test_malformed_correlations_reported(void **state)
{
	(void)state;
	/* line numbers count from the correlation's own first line (1) */
	expect(C("  rules: [r1]\n  timespan: 1m\n"), HN_RULE_INVALID, 3, "no 'type'");
	expect(C("  type: event_counts\n" OK_TAIL "  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 3, "unknown correlation type 'event_counts'");
	expect(C("  type: value_sum\n" OK_TAIL), HN_RULE_UNSUPPORTED, 3, "value_sum");
	expect(C("  type: event_count\n  timespan: 1m\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 3, "no 'rules'");
	expect(C("  type: event_count\n  rules: {a: b}\n  timespan: 1m\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 4, "'rules' must be a list");
	expect(C("  type: event_count\n  rules: []\n  timespan: 1m\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 4, "'rules' is empty");
	expect(C("  type: temporal\n  rules: [r1, r1]\n  timespan: 1m\n"),
	       HN_RULE_INVALID, 4, "'r1' twice");
	expect(C("  type: temporal\n  rules:\n    - r1\n    - nosuch\n  timespan: 1m\n"),
	       HN_RULE_INVALID, 6, "unknown rule 'nosuch'");
	expect(C("  type: event_count\n  rules: [r1]\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 3, "no 'timespan'");
	expect(C("  type: event_count\n  rules: [r1]\n  timespan: 5 minutes\n"
		 "  condition: {gte: 2}\n"), HN_RULE_INVALID, 5, "'timespan' must be");
	expect(C("  type: event_count\n  rules: [r1]\n  timespan: 0s\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 5, "more than 0");
	expect(C("  type: event_count\n  rules: [r1]\n  timespan: 400d\n  condition: {gte: 2}\n"),
	       HN_RULE_UNSUPPORTED, 5, "longer than 366 days");
	expect(C("  type: event_count\n" OK_TAIL), HN_RULE_INVALID, 3, "no 'condition'");
	expect(C("  type: event_count\n" OK_TAIL "  condition: 5\n"),
	       HN_RULE_INVALID, 6, "must be a mapping");
	expect(C("  type: temporal\n" OK_TAIL "  condition: r1 and not r2\n"),
	       HN_RULE_UNSUPPORTED, 6, "extended");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    neq: 2\n"),
	       HN_RULE_UNSUPPORTED, 7, "'neq'");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    gtx: 2\n"),
	       HN_RULE_INVALID, 7, "unknown condition 'gtx'");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    gte: -2\n"),
	       HN_RULE_INVALID, 7, "whole number");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    gte: 2.5\n"),
	       HN_RULE_INVALID, 7, "whole number");
	/* (a block mapping starts at its first key) */
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    gt: 5\n    lt: 3\n"),
	       HN_RULE_INVALID, 7, "can never hold");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    lte: 0\n"),
	       HN_RULE_INVALID, 7, "at least one event");
	expect(C("  type: temporal\n  rules: [r1, r2]\n  timespan: 1m\n  condition:\n"
		 "    gte: 3\n"), HN_RULE_INVALID, 7, "refers to 2 rules");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    gte: 5000\n"),
	       HN_RULE_UNSUPPORTED, 7, "above 1024");
	expect(C("  type: value_count\n" OK_TAIL "  condition:\n    gte: 2\n"),
	       HN_RULE_INVALID, 7, "needs a 'field'");
	expect(C("  type: event_count\n" OK_TAIL "  condition:\n    gte: 2\n    field: User\n"),
	       HN_RULE_INVALID, 8, "for value_count only");
	expect(C("  type: event_count\n" OK_TAIL "  group_by: [User]\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 6, "unknown key 'group_by'");
	expect(C("  type: event_count\n" OK_TAIL "  group-by: [Nope]\n  condition: {gte: 2}\n"),
	       HN_RULE_UNSUPPORTED, 6, "group-by 'Nope' is not recorded for process_creation");
	expect(C("  type: event_count\n" OK_TAIL "  group-by: [path]\n"
		 "  aliases:\n    path:\n      r1: TargetFilename\n  condition: {gte: 2}\n"),
	       HN_RULE_UNSUPPORTED, 6, "is field 'TargetFilename' for 'r1'");
	expect(C("  type: event_count\n" OK_TAIL "  aliases:\n    path:\n      other: Image\n"
		 "  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 7, "names 'other', which is not one of");
	expect(C("  type: event_count\n" OK_TAIL "  aliases: [x]\n  condition: {gte: 2}\n"),
	       HN_RULE_INVALID, 6, "'aliases' must be a mapping");
	expect(C("  type: event_count\n" OK_TAIL "  condition: {gte: 2}\ngenerate: maybe\n"),
	       HN_RULE_INVALID, 7, "'generate' must be true or false");
	expect(C("  type: event_count\n" OK_TAIL "  condition: {gte: 2}\nlevel: severe\n"),
	       HN_RULE_INVALID, 7, "unknown level");
	expect("title: c\ncorrelation: 5\n", HN_RULE_INVALID, 2, "must be a mapping");
	expect(C("  type: event_count\n" OK_TAIL "  condition: {gte: 2}\n"
		 "detection:\n  s: {Image: x}\n  condition: s\n"),
	       HN_RULE_INVALID, 1, "no 'detection'");
	expect("title: c\nname: r1\ncorrelation:\n  type: temporal\n  rules: [r2]\n"
	       "  timespan: 1m\n", HN_RULE_INVALID, 2, "name 'r1' is already the name of");
	/* references in a circle */
	expect("title: c\nname: ca\ncorrelation:\n  type: temporal\n  rules: [r1, ca]\n"
	       "  timespan: 1m\n", HN_RULE_INVALID, 1, "in a circle");
}

/* A correlation over a rule that did not load says so, as that rule was
 * reported: both problems are reported. */
static void test_reference_to_a_rule_that_did_not_load(void **state)
{
	struct hn_ruleset *rs = hn_ruleset_new();
	struct problems ps = { 0 };

	(void)state;
	assert_true(hn_ruleset_load(rs, write_file("x.yml",
		"title: c\ncorrelation:\n  type: temporal\n  rules: [win, lin]\n  timespan: 1m\n"
		"---\ntitle: w\nname: win\nlogsource:\n  product: windows\n  service: security\n"
		"detection:\n  s: {EventID: 4625}\n  condition: s\n---\n"
		"title: l\nname: lin\nlogsource:\n  product: linux\n  service: nope\n"
		"detection:\n  s: {x: 1}\n  condition: s\n"), on_problem, &ps) >= 0);
	assert_int_equal(ps.n, 3);
	assert_int_equal(ps.kind[2], HN_RULE_UNSUPPORTED);
	assert_non_null(strstr(ps.text[2], "refers to 'win', which did not load (unsupported)"));
	assert_int_equal(ps.line[2], 4);
	assert_string_equal(ps.title[2], "c");
	hn_ruleset_free(rs);
}

/* Mutated correlation files (bytes flipped, cut, duplicated) load or are
 * reported; whatever loads runs; none crashes (ASan in make check). */
static void test_mutated_correlations_never_crash(void **state)
{
	static const char *const base =
		DROPPER_RULES DROPPER_CORR "generate: false\n---\n"
		"title: v\ncorrelation:\n  type: value_count\n  rules: [dl, run]\n"
		"  group-by: [User]\n  timespan: 10s\n  condition:\n    field: Image\n"
		"    lt: 3\n---\n"
		"title: w\nname: w\ncorrelation:\n  type: temporal\n  rules: [c-dropper, v]\n"
		"  timespan: 5m\n";
	static const char junk[] = "|:-[]{}*?\\'\"#&!%@ \n\t0a";
	size_t n = strlen(base);
	unsigned seed = 4242;
	char *buf = malloc(n * 2 + 8);
	int loaded = 0, reported = 0;

	(void)state;
	assert_non_null(buf);
	for (int round = 0; round < 300; round++) {
		struct hn_ruleset *rs = hn_ruleset_new();
		struct hn_correlator *c;
		struct problems ps = { 0 };
		struct fired f = { 0 };
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
				len = at;
				break;
			default:
				if (len + 8 < n * 2) {
					memmove(buf + at + 4, buf + at, len - at);
					len += 4;
				}
				break;
			}
		}
		buf[len] = '\0';
		assert_non_null(rs);
		assert_true(hn_ruleset_load(rs, write_file("m.yml", buf), on_problem, &ps) >= 0);
		loaded += (int)hn_ruleset_correlation_count(rs);
		reported += ps.n;
		c = hn_correlator_new(rs);
		assert_non_null(c);
		for (int i = 0; i < 4; i++) {
			uint64_t t = T0 + (uint64_t)i * SEC;
			feed(c, mk_file(HN_EV_FILE_CREATE, t, 0, "/usr/bin/curl", "/tmp/q"), &f);
			feed(c, mk_file(HN_EV_FILE_CHMOD, t, 0, "/usr/bin/chmod", "/tmp/q"), &f);
			feed(c, mk_exec(t, 1, 0, "/tmp/q", NULL, "/tmp/q"), &f);
		}
		hn_correlator_advance(c, T0 + 3600 * SEC, on_match, &f);
		hn_correlator_free(c);
		hn_ruleset_free(rs);
	}
	free(buf);
	assert_true(loaded > 0);
	assert_true(reported > 0);
}

/* ---- offline: hinomi detect --input ---- */

static void append_event(FILE *out, struct hn_event *ev)
{
	struct hn_strbuf sb;

	hn_strbuf_init(&sb);
	assert_int_equal(hn_ecs_render(ev, "box", &sb), 0);
	fprintf(out, "%s\n", sb.buf);
	hn_strbuf_release(&sb);
	hn_event_free(ev);
}

/* Run a subcommand with stdout into a file; its exit status and output. */
static int run_cmd(int (*cmd)(int, char **), char **argv, int argc, char *out, size_t n)
{
	char path[128];
	int fd, saved, r;
	FILE *f;
	size_t k;

	snprintf(path, sizeof(path), "%s/out.txt", th_tmp);
	fflush(stdout);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved = dup(1);
	dup2(fd, 1);
	close(fd);
	optind = 0;
	r = cmd(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen(path, "r");
	assert_non_null(f);
	k = fread(out, 1, n - 1, f);
	out[k] = '\0';
	fclose(f);
	return r;
}

static void test_offline_ndjson(void **state)
{
	char rules[256], input[256], out[8192];
	char *argv[] = { "detect", "--rules", rules, "--input", input, NULL };
	FILE *f;

	(void)state;
	snprintf(rules, sizeof(rules), "%s", write_file("rules.yml", DROPPER_RULES DROPPER_CORR
							 "level: high\n"));
	snprintf(input, sizeof(input), "%s/ev.ndjson", th_tmp);
	f = fopen(input, "w");
	assert_non_null(f);
	/* the dropper's steps, with other events between them; a second file
	 * only downloaded and run (no chmod) */
	append_event(f, mk_file(HN_EV_FILE_CREATE, T0, 1000, "/usr/bin/curl", "/tmp/payload"));
	append_event(f, mk_exec(T0 + SEC / 2, 1, 1000, "/usr/bin/ls", NULL, "ls"));
	append_event(f, mk_file(HN_EV_FILE_CREATE, T0 + SEC, 1000, "/usr/bin/curl", "/tmp/other"));
	append_event(f, mk_file(HN_EV_FILE_CHMOD, T0 + 2 * SEC, 1000, "/usr/bin/chmod",
				"/tmp/payload"));
	append_event(f, mk_exec(T0 + 3 * SEC, 1, 1000, "/tmp/other", NULL, "/tmp/other"));
	append_event(f, mk_exec(T0 + 4 * SEC, 1, 1000, "/tmp/payload", NULL, "/tmp/payload"));
	fclose(f);
	assert_int_equal(run_cmd(cmd_detect, argv, 5, out, sizeof(out)), 0);
	/* one alert: the correlation, carrying the run of the payload */
	if (!strstr(out, "high     dropper  pid") || !strstr(out, "/tmp/payload") ||
	    strstr(out, "/tmp/other") || strchr(out, '\n') != strrchr(out, '\n'))
		fail_msg("detect gave:\n%s", out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_count_threshold_groups_and_window,
						th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_value_count_distinct, th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_temporal_any_order_and_ordered, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_ordered_one_event_is_one_step, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_aliases_join_file_and_process_fields,
						th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_upper_bounds_decided_at_window_end, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_generate_and_chains, th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_groups_bounded_oldest_evicted, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_correlations_reported, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_reference_to_a_rule_that_did_not_load,
						th_tmp_setup, th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_mutated_correlations_never_crash, th_tmp_setup,
						th_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_offline_ndjson, th_tmp_setup, th_tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
