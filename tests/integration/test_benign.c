/*
 * test_benign.c - benign activity stays quiet: with the real agent running
 * our rules (rules/) and, when it is there, the SigmaHQ Linux corpus
 * (../shared/corpus/sigma-linux: rules, rules-emerging-threats,
 * rules-threat-hunting), ordinary admin and developer work raises no alert
 * of level high or critical from our rules.  The workload, one step at a
 * time (tests/integration/benign_workload.sh says what each does and what
 * it changes on the host, all of it undone):
 *
 *   apt     a dummy package (hinomi-benign-test) built with dpkg-deb,
 *           installed with apt from a local file, upgraded, purged
 *   kbuild  a kernel-style C build: ~150 files, recursive make -j2,
 *           per-object .cmd files, thin archives, ld -r; make clean
 *   git     git clone --no-local of this repository, git log, git status
 *   tests   some of the build's unit test programs
 *   ssh     a root login with a key to a private sshd on 127.0.0.1
 *
 * An alert belongs to a step when the process that acted descends from the
 * step's root process (the store's process tree), so whatever else runs on
 * the host (other tests, people) does not count; a log line's alert
 * belongs to the ssh step when it comes from that step's sshd log.  The
 * test prints, per step, the alerts by level (rows, and matches in
 * parentheses) for our rules and for the corpus, and every rule that
 * fired.
 *
 * A control step runs a copy of true from the scratch directory (under
 * /tmp): our rule for execution from /tmp (medium) must fire and its
 * alert be attributed to the control, or the zeros would prove nothing.
 *
 * Fails on: a step that does not complete, a control that is not caught,
 * or any high/critical alert of our rules in a benign step.  The corpus's high/critical alerts are printed and
 * counted but do not fail the test: those rules are not ours to tune.
 *
 * Root; the sensor; ~30 s plus the agent's start.  The package purge, the
 * private sshd's stop and /run/sshd's removal run again in the teardown
 * (benign_workload.sh cleanup), whatever happened.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/event.h"
#include "lib/harness.h"

#define CORPUS      "../shared/corpus/sigma-linux"  /* or $HINOMI_SIGMA_CORPUS */
#define WORKLOAD    "tests/integration/benign_workload.sh"

static struct th_agent a;
static struct hn_store *s;
static char dir[256];
static char workload[PATH_MAX];

/* The benign steps, then the control: an exec from /tmp that our rule
 * EXEC_FROM_TMP must catch and the test must attribute to it, or the
 * zeros above it would prove nothing. */
enum { ST_APT, ST_KBUILD, ST_GIT, ST_TESTS, ST_SSH, ST_CONTROL, NSTEPS };
#define NBENIGN ST_CONTROL
#define EXEC_FROM_TMP "8b533c81-1e25-41ab-ac90-007456ebf4b6"

static const char *const step_name[NSTEPS] = { "apt", "kbuild", "git", "tests", "ssh",
					       "control" };
/* Each step's bound in seconds (the script bounds each command inside):
 * a hang ends there; a run takes ~30 s in all. */
static const int step_secs[NSTEPS] = { 150, 90, 60, 150, 60, 10 };

/* Levels, most severe first; "other" for a level we do not know. */
static const char *const levels[] = { "critical", "high", "medium", "low", "informational" };
#define NLEVELS 5
#define LV_OTHER NLEVELS

struct step_run {
	pid_t pid;
	int status;              /* exit status, -1 killed or timed out */
	double secs;
	uint64_t root;           /* entity of the step's root process */
};

struct alert_row {
	char title[160], level[16], id[64], path[PATH_MAX];
	uint64_t entity, count;
	uint16_t event_type;
	bool from_our_log;       /* a log line of the ssh step's sshd log */
	int step;                /* the step it belongs to, -1 none */
	bool shown;
};

struct alerts {
	struct alert_row *v;
	int n, cap;
	uint64_t since;
	char ourlog[400];
};

static const char *corpus_dir(void)
{
	const char *e = getenv("HINOMI_SIGMA_CORPUS");

	return e && *e ? e : CORPUS;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* benign_workload.sh cleanup: purge the package, stop the private sshd. */
static void workload_cleanup(void)
{
	const char *argv[] = { "/bin/sh", workload, "cleanup", dir, NULL };

	if (workload[0] && dir[0])
		th_run(argv, 150);
}

static int teardown(void **state)
{
	(void)state;
	workload_cleanup();
	th_group_reset(&a, &s, dir);
	return 0;
}

/* Run one step in its own process group, from the repository's root (the
 * current directory); bounded: the whole group is killed at the deadline. */
static void step_run(struct step_run *r, const char *name, const char *arg, int secs)
{
	const char *argv[] = { "/bin/sh", workload, name, dir, arg, NULL };
	uint64_t t0 = now_ns();
	char out[400];
	int st = 0;

	snprintf(out, sizeof(out), "%s/%s.out", dir, name);
	r->status = -1;
	r->pid = fork();
	if (r->pid < 0)
		return;
	if (r->pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		setpgid(0, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	setpgid(r->pid, r->pid);
	for (int i = 0;; i++) {
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			break;
		}
		if (i >= secs * 100) {
			fprintf(stderr, "step %s: still running after %d s, killed\n", name, secs);
			kill(-r->pid, SIGKILL);
			waitpid(r->pid, &st, 0);
			break;
		}
		th_sleep_ms(10);
	}
	r->secs = (double)(now_ns() - t0) / 1e9;
}

/* The end of a step's output (SCRATCH/STEP.out), to stderr. */
static void print_tail(const char *name)
{
	char path[400], buf[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s.out", dir, name);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fseek(f, -(long)sizeof(buf), SEEK_END) < 0)
		rewind(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fclose(f);
}

/* The step whose root entity is e or an ancestor of e; -1 when none. */
static int step_of(uint64_t e, const struct step_run *runs)
{
	for (int i = 0; i < NSTEPS; i++)
		if (th_descends(s, e, runs[i].root))
			return i;
	return -1;
}

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct alerts *v = arg;
	struct alert_row *r;

	if (al->time < v->since)
		return 0;
	if (v->n == v->cap) {
		int nc = v->cap ? v->cap * 2 : 64;
		struct alert_row *nv = realloc(v->v, (size_t)nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = nc;
	}
	r = &v->v[v->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->title, sizeof(r->title), "%s", al->rule_title ? al->rule_title : "?");
	snprintf(r->level, sizeof(r->level), "%s", al->rule_level ? al->rule_level : "");
	snprintf(r->id, sizeof(r->id), "%s", al->rule_id ? al->rule_id : "");
	snprintf(r->path, sizeof(r->path), "%s", al->rule_path ? al->rule_path : "");
	r->entity = al->entity;
	r->count = al->count;
	r->event_type = al->event_type;
	r->from_our_log = al->event_type == HN_EV_LOG && al->event_json &&
			  strstr(al->event_json, v->ourlog);
	return 0;
}

/* The rule is one of ours: its file is under rules/ (rules, lrules long). */
static bool is_ours(const char *path, const char *rules, size_t lrules)
{
	return !strncmp(path, rules, lrules) && path[lrules] == '/';
}

static int level_index(const char *l)
{
	for (int i = 0; i < NLEVELS; i++)
		if (!strcmp(l, levels[i]))
			return i;
	return LV_OTHER;
}

struct log_wait {
	const char *file, *text;
};

static bool log_line_is(const struct hn_event *ev, const void *arg)
{
	const struct log_wait *w = arg;

	return ev->filename && !strcmp(ev->filename, w->file) && ev->args &&
	       memmem(ev->args, ev->args_len, w->text, strlen(w->text));
}

/* A process start whose argv holds the text arg. */
static bool exec_with(const struct hn_event *ev, const void *arg)
{
	return ev->args && memmem(ev->args, ev->args_len, arg, strlen(arg));
}

static void benign_activity_raises_no_high_alert_of_ours(void **state)
{
	char rules[PATH_MAX], repo[PATH_MAX], bin[PATH_MAX], build[PATH_MAX];
	char cfg[320], tune[320], authlog[320], corpus[3][PATH_MAX], text[PATH_MAX + 512];
	const char *extra[24];
	struct step_run runs[NSTEPS] = { 0 };
	struct alerts al = { 0 };
	/* [step][ours 0 / corpus 1][level]: alert rows and matches */
	uint64_t rows[NSTEPS][2][NLEVELS + 1] = { 0 }, hits[NSTEPS][2][NLEVELS + 1] = { 0 };
	int ncorpus = 0, nextra = 0, elsewhere = 0, ours_high = 0, failed_steps = 0, control = 0;
	size_t lrules;
	uint64_t t_start;
	struct stat sb;

	(void)state;
	if (geteuid() != 0)
		skip();
	if (!realpath("rules", rules) || !realpath(".", repo) ||
	    !realpath(WORKLOAD, workload))
		fail_msg("no rules/ or " WORKLOAD " (run from the repository's root)");
	snprintf(text, sizeof(text), "%s/.git", repo);
	if (stat(text, &sb) < 0)
		fail_msg("%s is not a git repository's root", repo);
	if (!realpath(th_bin(), bin))
		fail_msg("no agent binary %s", th_bin());
	snprintf(build, sizeof(build), "%s", bin);
	*strrchr(build, '/') = '\0';
	for (const char *const *u = (const char *const[]){ "test_event", "test_store",
							    "test_sigma", NULL }; *u; u++) {
		snprintf(text, sizeof(text), "%s/tests/unit/%s", build, *u);
		if (access(text, X_OK) < 0)
			fail_msg("%s is not built (make %s)", text, text);
	}
	lrules = strlen(rules);

	assert_int_equal(th_scratch(dir, sizeof(dir), "benign"), 0);
	snprintf(cfg, sizeof(cfg), "%s/agent.conf", dir);
	snprintf(tune, sizeof(tune), "%s/tuning.conf", dir);
	snprintf(authlog, sizeof(authlog), "%s/auth.log", dir);
	/* the default system logs, and the file the ssh step's sshd log is
	 * relayed to in auth.log's format; an empty allowlist */
	snprintf(text, sizeof(text),
		 "log-file /var/log/auth.log\nlog-file /var/log/syslog\n"
		 "log-file /var/log/secure\nlog-file /var/log/messages\nlog-file %s\n", authlog);
	assert_int_equal(th_append(cfg, text), 0);
	assert_int_equal(th_append(tune, ""), 0);
	assert_int_equal(th_append(authlog, ""), 0);
	snprintf(al.ourlog, sizeof(al.ourlog), "%s", authlog);

	extra[nextra++] = "--rules";
	extra[nextra++] = rules;
	if (stat(corpus_dir(), &sb) == 0) {
		static const char *const sub[] = { "rules", "rules-emerging-threats",
						   "rules-threat-hunting" };
		for (int i = 0; i < 3; i++) {
			snprintf(text, sizeof(text), "%s/%s", corpus_dir(), sub[i]);
			if (!realpath(text, corpus[ncorpus]))
				continue;
			extra[nextra++] = "--rules";
			extra[nextra++] = corpus[ncorpus++];
		}
	}
	extra[nextra++] = "--config";
	extra[nextra++] = cfg;
	extra[nextra++] = "--tuning";
	extra[nextra++] = tune;
	extra[nextra] = NULL;
	fprintf(stderr, "rules: %s %s the SigmaHQ corpus (%s)\n", rules,
		ncorpus ? "and" : "without", corpus_dir());
	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");

	t_start = now_ns();
	al.since = t_start;
	for (int i = 0; i < NSTEPS; i++) {
		const char *arg = i == ST_GIT ? repo : i == ST_TESTS ? build : NULL;
		uint64_t t0 = now_ns();

		step_run(&runs[i], step_name[i], arg, step_secs[i]);
		if (runs[i].status != 0) {
			fprintf(stderr, "step %s failed (status %d); its output:\n", step_name[i],
				runs[i].status);
			print_tail(step_name[i]);
			failed_steps++;
		}
		if (runs[i].pid > 0)
			runs[i].root = th_entity_of(s, (uint32_t)runs[i].pid, t0);
		if (!runs[i].root) {
			fprintf(stderr, "step %s: its root process is not in the store\n",
				step_name[i]);
			failed_steps++;
		}
	}
	workload_cleanup();

	/* everything recorded: a marker run after the workload is in the
	 * store, and so are the sshd's log lines (or 10 s went by) */
	{
		char marker[64];
		const char *run[] = { "/bin/true", marker, NULL };
		struct log_wait w = { authlog, "Disconnected from user root" };
		struct hn_event *ev;

		snprintf(marker, sizeof(marker), "hinomi-benign-done-%d", (int)getpid());
		assert_int_equal(th_run(run, 10), 0);
		ev = th_wait_match(s, HN_EV_PROCESS_START, 0, exec_with, marker);
		hn_event_free(ev);
		ev = th_wait_match(s, HN_EV_LOG, 0, log_line_is, &w);
		if (!ev)
			fprintf(stderr, "the ssh step's log lines did not arrive\n");
		hn_event_free(ev);
		th_sleep_ms(2500);      /* the alerts' batch */
	}

	assert_int_equal(hn_store_alerts(s, 0, on_alert, &al), 0);
	fprintf(stderr, "\nbenign activity: alerts by level, rows (matches); "
		"ours = rules/, corpus = SigmaHQ\n");
	for (int k = 0; k < al.n; k++) {
		struct alert_row *r = &al.v[k];
		int st = r->step = r->from_our_log ? ST_SSH : step_of(r->entity, runs);
		int ours = is_ours(r->path, rules, lrules);
		int lv = level_index(r->level);

		if (st < 0) {
			elsewhere++;
			continue;
		}
		if (st == ST_CONTROL) {
			control += ours && !strcmp(r->id, EXEC_FROM_TMP);
			continue;
		}
		rows[st][!ours][lv]++;
		hits[st][!ours][lv] += r->count;
		if (ours && lv <= 1)
			ours_high++;
	}
	fprintf(stderr, "%-7s %6s %3s  %-6s", "step", "secs", "rc", "rules");
	for (int l = 0; l < NLEVELS; l++)
		fprintf(stderr, " %13s", levels[l]);
	fprintf(stderr, "\n");
	for (int i = 0; i < NBENIGN; i++)
		for (int o = 0; o < 2; o++) {
			if (o == 0)
				fprintf(stderr, "%-7s %6.1f %3d  ", step_name[i], runs[i].secs,
					runs[i].status);
			else
				fprintf(stderr, "%-7s %6s %3s  ", "", "", "");
			fprintf(stderr, "%-6s", o ? "corpus" : "ours");
			for (int l = 0; l < NLEVELS; l++) {
				char c[32];
				snprintf(c, sizeof(c), "%llu (%llu)", (unsigned long long)rows[i][o][l],
					 (unsigned long long)hits[i][o][l]);
				fprintf(stderr, " %13s", c);
			}
			fprintf(stderr, "\n");
		}
	/* every rule that fired, by step: alert rows (matches) */
	for (int k = 0; k < al.n; k++) {
		struct alert_row *r = &al.v[k];
		uint64_t nrows = 0, nhits = 0;
		int st = r->step;
		int ours = is_ours(r->path, rules, lrules);
		const char *shown = ours ? r->path + lrules - 5 : strstr(r->path, "sigma-linux/");

		if (st < 0 || st == ST_CONTROL || r->shown)
			continue;
		for (int j = k; j < al.n; j++) {
			struct alert_row *q = &al.v[j];
			if (q->step == st && !strcmp(q->path, r->path) && !strcmp(q->title, r->title)) {
				q->shown = true;
				nrows++;
				nhits += q->count;
			}
		}
		fprintf(stderr, "  %-6s %-6s %-13s %3llu (%llu)  %s  [%s]\n", step_name[st],
			ours ? "ours" : "corpus", r->level, (unsigned long long)nrows,
			(unsigned long long)nhits, r->title, shown ? shown : r->path);
	}
	fprintf(stderr, "%d alerts from elsewhere on the host, not counted\n", elsewhere);
	fprintf(stderr, "control (an exec from /tmp): %d alerts of our rule " EXEC_FROM_TMP "\n",
		control);
	free(al.v);

	assert_int_equal(failed_steps, 0);
	if (!control)
		fail_msg("the control's exec from /tmp raised no alert of ours attributed to it");
	if (ours_high)
		fail_msg("%d alerts of level high or critical from our rules on benign activity",
			 ours_high);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(benign_activity_raises_no_high_alert_of_ours, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
