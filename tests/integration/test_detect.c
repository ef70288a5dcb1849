/*
 * test_detect.c - the real agent matches its Sigma rules (--rules) against
 * what it records: a process start, a file written, a line of a followed
 * log file each raise the alert of their rule, with the rule's title, id,
 * level, author and tags and the acting process; a rule matched three
 * times in one process tree is one alert counted three times; a start the
 * rule's filter excludes raises nothing, nor one the host's allowlist
 * (--tuning) silences.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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


/* Run argv (argv[0] a path) and wait; its exit status. */
static int run(const char *const *argv)
{
	return th_run(argv, 10);
}

struct seen {
	int n;
	char title[8][128], id[8][64], level[8][16], author[8][64], tags[8][128];
	uint64_t count[8], entity[8];
	char exe[8][256];
};

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct seen *v = arg;
	int i = v->n++;

	if (i >= 8)
		return 0;
	snprintf(v->title[i], sizeof(v->title[i]), "%s", al->rule_title);
	snprintf(v->id[i], sizeof(v->id[i]), "%s", al->rule_id ? al->rule_id : "");
	snprintf(v->level[i], sizeof(v->level[i]), "%s", al->rule_level ? al->rule_level : "");
	snprintf(v->author[i], sizeof(v->author[i]), "%s", al->rule_author ? al->rule_author : "");
	snprintf(v->tags[i], sizeof(v->tags[i]), "%s", al->rule_tags ? al->rule_tags : "");
	snprintf(v->exe[i], sizeof(v->exe[i]), "%s", al->executable ? al->executable : "");
	v->count[i] = al->count;
	v->entity[i] = al->entity;
	return 0;
}

/* The alert titled t once present with at least min matches (10 s). */
static int wait_alert(const char *t, uint64_t min, struct seen *v)
{
	for (int k = 0; k < 100; k++) {
		memset(v, 0, sizeof(*v));
		assert_int_equal(hn_store_alerts(s, 0, on_alert, v), 0);
		for (int i = 0; i < v->n && i < 8; i++)
			if (!strcmp(v->title[i], t) && v->count[i] >= min)
				return i;
		th_sleep_ms(100);
	}
	return -1;
}

static void rules_raise_grouped_alerts(void **state)
{
	char rules[320], cfg[320], logf[320], marker[320], evil[320], text[1024], tune[320];
	const char *extra[] = { "--rules", rules, "--config", cfg, "--tuning", tune, NULL };
	struct seen v;
	int i;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(th_scratch(dir, sizeof(dir), "detect"), 0);
	snprintf(rules, sizeof(rules), "%s/rules", dir);
	snprintf(cfg, sizeof(cfg), "%s/agent.conf", dir);
	snprintf(logf, sizeof(logf), "%s/auth.log", dir);
	snprintf(marker, sizeof(marker), "%s/hn-detect-marker", dir);
	snprintf(evil, sizeof(evil), "%s/payload.hn-evil", dir);
	snprintf(tune, sizeof(tune), "%s/tuning.conf", dir);
	assert_int_equal(th_append(tune, "# the nightly job is known\n"
				   "allow 0b7c1d52-6d1a-4a44-9d55-1e7f00000001 cmdline=*nightly-arg*\n"), 0);
	assert_int_equal(mkdir(rules, 0700), 0);
	snprintf(text, sizeof(text), "log-file %s\n", logf);
	assert_int_equal(th_append(cfg, text), 0);
	assert_int_equal(th_append(logf, ""), 0);
	/* the rules name this test's own files: other tests on the host (and
	 * other runs of this one) raise nothing here */
	{
		char p[400], rule[2048];
		snprintf(p, sizeof(p), "%s/proc.yml", rules);
		snprintf(rule, sizeof(rule),
			"title: Marker run with its argument\n"
			"id: 0b7c1d52-6d1a-4a44-9d55-1e7f00000001\n"
			"author: hinomi tests\nlevel: high\n"
			"tags:\n  - attack.execution\n  - attack.t1059.004\n"
			"logsource:\n  product: linux\n  category: process_creation\n"
			"detection:\n  sel:\n    Image: '%s'\n"
			"  filter:\n    CommandLine|contains: quiet-arg\n"
			"  condition: sel and not filter\n", marker);
		assert_int_equal(th_append(p, rule), 0);
		snprintf(p, sizeof(p), "%s/file.yml", rules);
		snprintf(rule, sizeof(rule),
			"title: Evil payload written\nid: 0b7c1d52-6d1a-4a44-9d55-1e7f00000002\n"
			"level: critical\nlogsource:\n  product: linux\n  category: file_event\n"
			"detection:\n  sel:\n    TargetFilename: '%s'\n  condition: sel\n", evil);
		assert_int_equal(th_append(p, rule), 0);
		snprintf(p, sizeof(p), "%s/log.yml", rules);
		assert_int_equal(th_append(p,
			"title: Root login from loopback\nid: 0b7c1d52-6d1a-4a44-9d55-1e7f00000003\n"
			"level: medium\nlogsource:\n  product: linux\n  service: sshd\n"
			"detection:\n  k:\n    - 'Accepted password for root from 127.0.0.1'\n"
			"  condition: k\n"), 0);
	}
	/* the marker: a copy of true */
	{
		const char *cp[] = { "/bin/cp", "/bin/true", marker, NULL };
		assert_int_equal(run(cp), 0);
	}
	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");

	/* three runs from this process: one alert, three matches */
	for (int k = 0; k < 3; k++) {
		const char *argv[] = { marker, "loud-arg", NULL };
		assert_int_equal(run(argv), 0);
	}
	i = wait_alert("Marker run with its argument", 3, &v);
	assert_true(i >= 0);
	assert_int_equal(v.count[i], 3);
	assert_string_equal(v.id[i], "0b7c1d52-6d1a-4a44-9d55-1e7f00000001");
	assert_string_equal(v.level[i], "high");
	assert_string_equal(v.author[i], "hinomi tests");
	assert_string_equal(v.tags[i], "attack.execution,attack.t1059.004");
	assert_string_equal(v.exe[i], marker);
	assert_true(v.entity[i] != 0);
	/* excluded by the filter, or silenced by the allowlist: still three */
	{
		const char *argv[] = { marker, "quiet-arg", NULL };
		const char *nightly[] = { marker, "nightly-arg", NULL };
		assert_int_equal(run(argv), 0);
		assert_int_equal(run(nightly), 0);
	}
	/* a file and a log line */
	assert_int_equal(th_append(evil, "x"), 0);
	assert_int_equal(th_append(logf, "2026-11-27T10:00:00Z box sshd[99]: Accepted password"
				   " for root from 127.0.0.1 port 50000 ssh2\n"), 0);
	i = wait_alert("Evil payload written", 1, &v);
	assert_true(i >= 0);
	assert_string_equal(v.level[i], "critical");
	i = wait_alert("Root login from loopback", 1, &v);
	assert_true(i >= 0);
	i = wait_alert("Marker run with its argument", 3, &v);
	assert_true(i >= 0);
	assert_int_equal(v.count[i], 3);
	if (v.n != 3) {
		for (int k = 0; k < v.n && k < 8; k++)
			fprintf(stderr, "alert %d: %s x%llu %s entity %llx\n", k, v.title[k],
				(unsigned long long)v.count[k], v.exe[k],
				(unsigned long long)v.entity[k]);
		fail_msg("%d alerts, 3 expected", v.n);
	}

	/* offline: the same alerts from the store, and from its events
	 * exported as ECS NDJSON */
	{
		char cmd[2048], out[4096];
		const char *const forms[] = { "--db '%s'", "--input '%s/ev.ndjson'" };
		snprintf(cmd, sizeof(cmd), "'%s' events --db '%s' --json > '%s/ev.ndjson'",
			 th_bin(), a.db, dir);
		assert_int_equal(system(cmd), 0);
		for (int f = 0; f < 2; f++) {
			char how[600];
			FILE *fp;
			size_t n;
			snprintf(how, sizeof(how), forms[f], f ? dir : a.db);
			snprintf(cmd, sizeof(cmd), "'%s' detect --rules '%s' --tuning '%s' %s"
				 " > '%s/d.txt' 2>/dev/null", th_bin(), rules, tune, how, dir);
			assert_int_equal(system(cmd), 0);
			snprintf(cmd, sizeof(cmd), "%s/d.txt", dir);
			fp = fopen(cmd, "r");
			assert_non_null(fp);
			n = fread(out, 1, sizeof(out) - 1, fp);
			fclose(fp);
			out[n] = '\0';
			if (!strstr(out, "Marker run with its argument  x3") ||
			    !strstr(out, "Evil payload written") ||
			    !strstr(out, "Root login from loopback"))
				fail_msg("detect %s gave:\n%s", how, out);
		}
	}

	/* SIGHUP: a rule written since the start is loaded, and fires */
	{
		char p[400], rule[1024], logtext[8192];
		const char *argv[] = { marker, "after-reload", NULL };
		snprintf(p, sizeof(p), "%s/reload.yml", rules);
		snprintf(rule, sizeof(rule),
			"title: Marker run after a reload\nid: 0b7c1d52-6d1a-4a44-9d55-1e7f00000004\n"
			"level: low\nlogsource:\n  product: linux\n  category: process_creation\n"
			"detection:\n  sel:\n    Image: '%s'\n    CommandLine|contains: after-reload\n"
			"  condition: sel\n", marker);
		assert_int_equal(th_append(p, rule), 0);
		assert_int_equal(kill(a.pid, SIGHUP), 0);
		if (!th_agent_log_has(&a, "rules reloaded: 4 loaded", logtext, sizeof(logtext)))
			fail_msg("no reload in the agent's log:\n%s", logtext);
		assert_int_equal(run(argv), 0);
		i = wait_alert("Marker run after a reload", 1, &v);
		assert_true(i >= 0);
		assert_string_equal(v.level[i], "low");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(rules_raise_grouped_alerts, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
