/*
 * test_correlate.c - correlation rules in the real agent: a count that
 * holds as it happens alerts with the event that completed it; a "fewer
 * than" count is decided when its window ends, by the agent's clock alone
 * (no later event needed), and alerts with the window's last event; the
 * base rule (generate: false) raises no alert of its own; the status
 * reports the correlations.
 */
#include <errno.h>
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

#include "event/event.h"
#include "lib/harness.h"

static struct th_agent a;
static struct hn_store *s;
static char dir[256];

static int teardown(void **state)
{
	(void)state;
	th_group_reset(&a, &s, dir);
	return 0;
}

struct seen {
	int n;
	char title[8][128];
	char exe[8][256];
	uint64_t count[8], time[8];
};

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct seen *v = arg;
	int i = v->n++;

	if (i >= 8)
		return 0;
	snprintf(v->title[i], sizeof(v->title[i]), "%s", al->rule_title);
	snprintf(v->exe[i], sizeof(v->exe[i]), "%s", al->executable ? al->executable : "");
	v->count[i] = al->count;
	v->time[i] = al->time;
	return 0;
}

/* The alert titled t, waiting up to 10 s; its index in v or -1. */
static int wait_alert(const char *t, struct seen *v)
{
	for (int k = 0; k < 100; k++) {
		memset(v, 0, sizeof(*v));
		assert_int_equal(hn_store_alerts(s, 0, on_alert, v), 0);
		for (int i = 0; i < v->n && i < 8; i++)
			if (!strcmp(v->title[i], t))
				return i;
		th_sleep_ms(100);
	}
	return -1;
}

static void correlations_fire_in_the_agent(void **state)
{
	char rules[320], first[320], second[320], rule[2048], p[400];
	const char *extra[] = { "--rules", rules, NULL };
	struct seen v;
	int i;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(th_scratch(dir, sizeof(dir), "corr"), 0);
	snprintf(rules, sizeof(rules), "%s/rules", dir);
	snprintf(first, sizeof(first), "%s/hn-corr-first", dir);
	snprintf(second, sizeof(second), "%s/hn-corr-second", dir);
	assert_int_equal(mkdir(rules, 0700), 0);
	/* the rules name this test's own files: nothing else on the host
	 * feeds them */
	snprintf(rule, sizeof(rule),
		 "title: Marker run\nname: marker_run\n"
		 "logsource:\n  product: linux\n  category: process_creation\n"
		 "detection:\n  sel:\n    Image|startswith: '%s/hn-corr-'\n  condition: sel\n"
		 "---\n"
		 "title: Markers run twice\nid: 0b7c1d52-6d1a-4a44-9d55-1e7f0000c001\n"
		 "author: hinomi tests\nlevel: high\n"
		 "correlation:\n  type: event_count\n  rules: [marker_run]\n"
		 "  group-by: [User]\n  timespan: 30s\n  condition:\n    gte: 2\n"
		 "---\n"
		 "title: Few markers in a second\nid: 0b7c1d52-6d1a-4a44-9d55-1e7f0000c002\n"
		 "level: low\n"
		 "correlation:\n  type: event_count\n  rules: [marker_run]\n"
		 "  group-by: [User]\n  timespan: 1s\n  condition:\n    lt: 5\n", dir);
	snprintf(p, sizeof(p), "%s/corr.yml", rules);
	assert_int_equal(th_append(p, rule), 0);
	{
		const char *cp1[] = { "/bin/cp", "/bin/true", first, NULL };
		const char *cp2[] = { "/bin/cp", "/bin/true", second, NULL };
		assert_int_equal(th_run(cp1, 10), 0);
		assert_int_equal(th_run(cp2, 10), 0);
	}
	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");

	{
		const char *run1[] = { first, NULL };
		const char *run2[] = { second, NULL };
		assert_int_equal(th_run(run1, 10), 0);
		assert_int_equal(th_run(run2, 10), 0);
	}
	/* the second run completes the count: the alert carries it */
	i = wait_alert("Markers run twice", &v);
	assert_true(i >= 0);
	assert_string_equal(v.exe[i], second);
	/* "fewer than 5 in a second" is known once the second is over (and
	 * the lateness allowance): the agent decides it without another
	 * event, with the window's last one */
	i = wait_alert("Few markers in a second", &v);
	assert_true(i >= 0);
	assert_string_equal(v.exe[i], second);
	/* the base rule alone raised nothing: these two are all */
	if (v.n != 2)
		fail_msg("%d alerts (%s, %s, ...), 2 expected", v.n, v.title[0], v.title[1]);
	/* and the status (published every few seconds) counts them */
	for (int k = 0;; k++) {
		char cmd[1024], out[4096];
		FILE *fp;
		size_t n;
		snprintf(cmd, sizeof(cmd), "'%s' status --db '%s' 2>&1", th_bin(), a.db);
		fp = popen(cmd, "r");
		assert_non_null(fp);
		n = fread(out, 1, sizeof(out) - 1, fp);
		out[n] = '\0';
		pclose(fp);
		if (strstr(out, "correlate  2 correlations, 2 matched"))
			break;
		if (k == 50)
			fail_msg("status:\n%s", out);
		th_sleep_ms(200);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(correlations_fire_in_the_agent, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
