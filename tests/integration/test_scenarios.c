/*
 * test_scenarios.c - hinomi's own rules (rules/) against attack
 * simulations on this host, with the real agent: each scenario runs its
 * attack and a benign look-alike, each in a scratch directory of its own
 * (HOME points there too), and the rule must raise an alert for the
 * attack and none for the benign run.  The scenarios themselves are in
 * tests/scenarios/, a file per ATT&CK tactic, included into the table
 * below.
 *
 * Safety: everything happens in the scratch directories, except what a
 * scenario restores at once (the cron file: created empty and removed,
 * /etc/cron.d made and removed if it was not there).  Tools that would
 * change the host (systemctl, insmod, useradd, netcat, python) are copies
 * of /bin/true under the tool's name: the agent sees the same exec.
 * Network: 127.0.0.1 only.
 *
 * Alerts are told apart by a token in the scenario's paths (its scratch
 * directory's name): the alert's first event must mention it, and its
 * process must be the scenario's shell or one of its descendants (the
 * store's process tree): the expected rule fired on the expected process.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "detect/detect.h"
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

/* The scripts run as `sh -c 'cd "$D" && SCRIPT'` with D and HOME the
 * scenario's scratch directory and T its token ($D's name). */
#define FAKE(tool) "cp /bin/true \"$D/" tool "\" && "
static const struct scenario {
	const char *rule_id;
	const char *name;
	const char *attack;
	const char *benign;
} scenarios[] = {
#include "scenarios/execution.inc"
#include "scenarios/command_and_control.inc"
#include "scenarios/discovery.inc"
#include "scenarios/collection.inc"
#include "scenarios/exfiltration.inc"
#include "scenarios/lateral_movement.inc"
#include "scenarios/impact.inc"
#include "scenarios/persistence.inc"
#include "scenarios/privilege_escalation.inc"
#include "scenarios/credential_access.inc"
#include "scenarios/defense_evasion.inc"
#include "scenarios/correlation.inc"
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static int run_in(const char *d, const char *token, const char *script, pid_t *pid)
{
	char envd[408], envh[408], envt[128], cmd[2048];
	const char *argv[] = { "/usr/bin/env", envd, envh, envt, "/bin/sh", "-c", cmd, NULL };

	/* d is at most 400 bytes (the callers' buffers) */
	snprintf(envd, sizeof(envd), "D=%.400s", d);
	snprintf(envh, sizeof(envh), "HOME=%.400s", d);
	snprintf(envt, sizeof(envt), "T=%.64s", token);
	snprintf(cmd, sizeof(cmd), "cd \"$D\" && { %s; } >/dev/null 2>&1", script);
	return th_run_pid(argv, 20, pid);
}

struct find {
	const char *rule_id, *token;
	uint64_t root;           /* the scenario's shell: the alert's process descends from it */
	int n, elsewhere;
};

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct find *f = arg;

	if (al->rule_id && !strcmp(al->rule_id, f->rule_id) && al->event_json &&
	    strstr(al->event_json, f->token)) {
		if (th_descends(s, al->entity, f->root))
			f->n++;
		else
			f->elsewhere++;
	}
	return 0;
}

/* Alerts of the rule on the run (token, root); those on a process
 * outside the run's tree are counted in *elsewhere. */
static int alerts_for(const char *rule_id, const char *token, uint64_t root, int *elsewhere)
{
	struct find f = { rule_id, token, root, 0, 0 };

	assert_int_equal(hn_store_alerts(s, 0, on_alert, &f), 0);
	if (elsewhere)
		*elsewhere = f.elsewhere;
	return f.n;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void count_problem(const struct hn_rule_problem *p, void *arg)
{
	fprintf(stderr, "rule problem: %s:%d: %s\n", p->path, p->line, p->why);
	(*(int *)arg)++;
}

/* The shipped rule i: the rules, then the correlations. */
static const struct hn_rule_info *shipped(const struct hn_ruleset *rs, unsigned i)
{
	unsigned n = hn_ruleset_count(rs);

	return i < n ? hn_ruleset_rule(rs, i) : hn_ruleset_correlation(rs, i - n);
}

/* Our rules the prefilters cannot skip (docs/DETECT.md, "Writing fast
 * rules"): every other rule needs a literal of 3 bytes or more in each
 * alternative, or an exact Image name.  Keep it short. */
static const char *const unfiltered[] = {
	/* hn_dns_long_label: a label of 40 letters, digits or '_', any of
	 * them: no fixed text */
	"1d54dce5-c7ad-415b-b5e9-a2e0231f79a6",
	/* hn_proc_kernel_thread_masquerade: "[" first, any name, "]": 1 byte
	 * each (cheap: an anchored regular expression fails at byte one) */
	"d35120ba-dfd0-4527-978e-79d58f407fbb",
	/* hn_file_self_delete: a field compared with another (fieldref), no
	 * fixed text (cheap: one comparison per file deletion) */
	"caeaf402-33ba-4ab4-b7c4-c44f8bce42d7",
};
#define NUNFILTERED (sizeof(unfiltered) / sizeof(unfiltered[0]))

/* Every rule we ship loads, carries an ATT&CK tag, has a scenario, and
 * (with Hyperscan) is prefiltered unless listed in unfiltered[], and a
 * listed rule is not; every scenario names a rule we ship.  Rules hidden
 * by a correlation (its base rules, generate: false) are exempt from the
 * scenario: they never alert on their own, so no scenario could see them;
 * their correlation's scenario runs them.  No root needed. */
static void every_rule_has_a_scenario(void **state)
{
	struct hn_ruleset *rs = hn_ruleset_new();
	int problems = 0, missing = 0;
	unsigned n, hidden = 0;

	(void)state;
	assert_non_null(rs);
	assert_true(hn_ruleset_load(rs, "rules", count_problem, &problems) > 0);
	assert_int_equal(problems, 0);
	n = hn_ruleset_count(rs) + hn_ruleset_correlation_count(rs);
	for (unsigned i = 0; i < n; i++) {
		const struct hn_rule_info *r = shipped(rs, i);
		bool found = false, tagged = false;
		if (r->hidden) {
			hidden++;
			continue;
		}
		for (size_t k = 0; k < NSCEN && !found; k++)
			found = !strcmp(scenarios[k].rule_id, r->id);
		for (unsigned t = 0; t < r->ntags && !tagged; t++) {
			struct hn_attack at;
			tagged = hn_attack_tag(r->tags[t], &at) == 1;
		}
		if (!found || !tagged) {
			fprintf(stderr, "%s (%s): %s\n", r->path, r->id,
				!found ? "no scenario" : "no ATT&CK technique tag");
			missing++;
		}
#ifdef HAVE_HYPERSCAN   /* without it, no literal prefilter: keys only */
		bool listed = false;
		for (size_t k = 0; k < NUNFILTERED && !listed; k++)
			listed = !strcmp(unfiltered[k], r->id);
		/* a correlation is not matched against events: its rules are */
		if (i < hn_ruleset_count(rs) && hn_ruleset_rule_prefiltered(rs, i) == listed) {
			fprintf(stderr, "%s (%s): %s\n", r->path, r->id, listed ?
				"prefiltered now: take it out of unfiltered[]" :
				"evaluated on every event: give each alternative a literal of "
				"3+ bytes, or 2 with punctuation (docs/DETECT.md, Writing fast rules)");
			missing++;
		}
#endif
	}
	for (size_t k = 0; k < NUNFILTERED; k++) {
		bool found = false;
		for (unsigned i = 0; i < n && !found; i++)
			found = !strcmp(unfiltered[k], shipped(rs, i)->id);
		if (!found) {
			fprintf(stderr, "unfiltered[]: no rule %s in rules/\n", unfiltered[k]);
			missing++;
		}
	}
	for (size_t k = 0; k < NSCEN; k++) {
		bool found = false;
		for (unsigned i = 0; i < n && !found; i++)
			found = !shipped(rs, i)->hidden &&
				!strcmp(scenarios[k].rule_id, shipped(rs, i)->id);
		if (!found) {
			fprintf(stderr, "scenario %s: no rule %s in rules/\n", scenarios[k].name,
				scenarios[k].rule_id);
			missing++;
		}
	}
	fprintf(stderr, "%u rules shipped (%u of them correlations, %u base rules that do not"
		" alert on their own), %zu scenarios\n", n, hn_ruleset_correlation_count(rs),
		hidden, NSCEN);
	hn_ruleset_free(rs);
	assert_int_equal(missing, 0);
}

static void our_rules_catch_their_attacks(void **state)
{
	char rules[PATH_MAX], tok[NSCEN][2][64], d[NSCEN][2][400];
	pid_t pid[NSCEN][2];
	uint64_t t0[NSCEN][2], root[NSCEN][2];
	const char *extra[] = { "--rules", rules, NULL };
	int missed = 0;

	(void)state;
	if (geteuid() != 0)
		skip();
	if (!realpath("rules", rules))
		fail_msg("no rules/ folder (run from the repository's root)");
	assert_int_equal(th_scratch(dir, sizeof(dir), "scen"), 0);
	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");

	for (size_t i = 0; i < NSCEN; i++) {
		for (int b = 0; b < 2; b++) {
			snprintf(tok[i][b], sizeof(tok[i][b]), "hnscn%dx%zu%c", (int)getpid(), i,
				 b ? 'b' : 'a');
			size_t ld = strlen(dir), lt = strlen(tok[i][b]);
			assert_true(ld + lt + 2 <= sizeof(d[i][b]));
			memcpy(d[i][b], dir, ld);
			d[i][b][ld] = '/';
			memcpy(d[i][b] + ld + 1, tok[i][b], lt + 1);
			assert_int_equal(mkdir(d[i][b], 0700), 0);
		}
		/* exit statuses do not matter: what ran is what counts */
		for (int b = 0; b < 2; b++) {
			t0[i][b] = now_ns();
			run_in(d[i][b], tok[i][b], b ? scenarios[i].benign : scenarios[i].attack,
			       &pid[i][b]);
		}
	}
	for (size_t i = 0; i < NSCEN; i++)
		for (int b = 0; b < 2; b++) {
			root[i][b] = pid[i][b] > 0 ? th_entity_of(s, (uint32_t)pid[i][b], t0[i][b]) : 0;
			if (!root[i][b])
				fail_msg("scenario %s: its shell (pid %d) is not in the store",
					 scenarios[i].name, (int)pid[i][b]);
		}
	/* every attack raises its rule's alert */
	for (size_t i = 0; i < NSCEN; i++) {
		int n = 0, other = 0;
		for (int k = 0; k < 100 && !(n = alerts_for(scenarios[i].rule_id, tok[i][0],
							      root[i][0], &other)); k++)
			th_sleep_ms(100);
		if (!n) {
			fprintf(stderr, "MISSED: %s (rule %s)%s\n", scenarios[i].name,
				scenarios[i].rule_id,
				other ? " - alerts on a process outside the scenario's tree" : "");
			missed++;
		}
	}
	assert_int_equal(missed, 0);
	/* and no benign run does (the attacks' alerts are in: so would they) */
	for (size_t i = 0; i < NSCEN; i++) {
		int other = 0;
		if (alerts_for(scenarios[i].rule_id, tok[i][1], root[i][1], &other) || other) {
			fprintf(stderr, "FALSE ALERT: %s (rule %s) on the benign run\n",
				scenarios[i].name, scenarios[i].rule_id);
			missed++;
		}
	}
	assert_int_equal(missed, 0);
	fprintf(stderr, "%zu scenarios: every attack caught, no benign run alerted\n", NSCEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_rule_has_a_scenario),
		cmocka_unit_test_teardown(our_rules_catch_their_attacks, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
