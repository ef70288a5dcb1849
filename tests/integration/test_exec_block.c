/*
 * test_exec_block.c - the exec guard (agent/exec_guard.c) with the real agent
 * and fanotify: a blocked hash cannot run and an unblocked one can; the
 * refusal is an event and an alert; a worker that stalls is answered
 * within the deadline (fail-open); an agent killed with SIGKILL leaves
 * every exec allowed.
 *
 * Every exec the test makes is bounded: the child is waited for with a
 * deadline and killed past it (run.sh also runs the program under
 * `timeout`).  The samples are copies of /bin/true in a scratch directory
 * with a marker appended (a hash of their own, nothing else on the host
 * shares it).  Needs root.
 */
#include "lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>

static struct th_agent agent;
static struct hn_store *store;
static char dir[256], evil[300], good[300], evil_sha[65];

#define EXEC_REFUSED 99

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Exec path in a child: 0 it ran, EXEC_REFUSED when execve said EPERM
 * or EACCES, -1 past timeout_ms (the child is killed).  *ms the time. */
static int run_exec(const char *path, int timeout_ms, uint64_t *ms)
{
	uint64_t t0 = mono_ms();
	pid_t p = fork();
	int st;

	if (p == 0) {
		execl(path, path, (char *)NULL);
		_exit(errno == EPERM || errno == EACCES ? EXEC_REFUSED : 127);
	}
	for (;;) {
		if (waitpid(p, &st, WNOHANG) == p)
			break;
		if (mono_ms() - t0 > (uint64_t)timeout_ms) {
			kill(p, SIGKILL);
			waitpid(p, &st, 0);
			return -1;
		}
		th_sleep_ms(5);
	}
	if (ms)
		*ms = mono_ms() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait (up to 5 s) until exec of path gives want. */
static bool exec_becomes(const char *path, int want)
{
	for (int i = 0; i < 50; i++) {
		if (run_exec(path, 3000, NULL) == want)
			return true;
		th_sleep_ms(100);
	}
	return false;
}

/* hinomi ARGS... with the agent's store: its exit code. */
#define hinomi(...) th_hinomi(agent.db, NULL, NULL, __VA_ARGS__)

static void copy_marked(const char *to, const char *marker)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "cp /bin/true '%s' && printf '%%s' '%s' >> '%s'", to, marker,
		 to);
	assert_int_equal(system(cmd), 0);
}

static void sha_of(const char *path, char out[65])
{
	char cmd[400];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%64s", out), 1);
	pclose(f);
}

static int group_setup(void **state)
{
	char m[64];
	(void)state;

	if (th_scratch(dir, sizeof(dir), "block") < 0)
		return -1;
	snprintf(evil, sizeof(evil), "%s/evil", dir);
	snprintf(good, sizeof(good), "%s/good", dir);
	snprintf(m, sizeof(m), "HINOMI-BLOCK-EVIL-%d", (int)getpid());
	copy_marked(evil, m);
	snprintf(m, sizeof(m), "HINOMI-BLOCK-GOOD-%d", (int)getpid());
	copy_marked(good, m);
	sha_of(evil, evil_sha);
	return th_group_start(&agent, &store, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	th_group_stop(&agent, store, dir);
	return 0;
}

static bool blocked_event_of(const struct hn_event *ev, const void *arg)
{
	(void)arg;
	return ev->path && strcmp(ev->path, evil) == 0 && strcmp(ev->sha256, evil_sha) == 0;
}

struct alert_find {
	bool found;
};

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct alert_find *f = arg;

	if (a->rule_id && strcmp(a->rule_id, "hinomi-exec-blocked") == 0 && a->event_json &&
	    strstr(a->event_json, evil_sha))
		f->found = true;
	return 0;
}

static void blocked_hash_cannot_run_and_unblocked_can(void **state)
{
	struct hn_event *ev;
	struct alert_find af = { false };
	(void)state;

	assert_int_equal(run_exec(evil, 3000, NULL), 0);   /* runs before */
	assert_int_equal(hinomi("block", "--sha256", evil_sha, "--reason", "test", NULL), 0);
	assert_true(exec_becomes(evil, EXEC_REFUSED));
	assert_int_equal(run_exec(good, 3000, NULL), 0);
	assert_int_equal(run_exec("/bin/true", 3000, NULL), 0);

	/* the refusal: an event with the file and its hash, and an alert */
	ev = th_wait_match(store, HN_EV_EXEC_BLOCKED, 0, blocked_event_of, NULL);
	assert_non_null(ev);
	assert_true(ev->proc.pid > 0);
	assert_true(ev->proc.entity != 0);   /* the refused process, by its start */
	hn_event_free(ev);
	for (int i = 0; i < 50 && !af.found; i++) {
		hn_store_alerts(store, 0, on_alert, &af);
		if (!af.found)
			th_sleep_ms(100);
	}
	assert_true(af.found);

	/* the same hash twice: refused; unblock: runs again */
	assert_int_equal(hinomi("block", "--sha256", evil_sha, NULL), 1);
	assert_int_equal(hinomi("unblock", "--sha256", evil_sha, NULL), 0);
	assert_true(exec_becomes(evil, 0));
	assert_int_equal(hinomi("unblock", "--sha256", evil_sha, NULL), 1);
	assert_int_equal(hinomi("block", "--sha256", "nothex", NULL), 2);
}

static void a_stalled_guard_answers_within_the_deadline(void **state)
{
	uint64_t ms = 0;
	(void)state;

	/* a worker that sleeps 3 s on every exec: the manager must answer */
	th_agent_stop(&agent);
	setenv("HINOMI_TEST_GUARD_STALL_MS", "3000", 1);
	assert_int_equal(th_agent_restart(&agent, NULL), 0);
	unsetenv("HINOMI_TEST_GUARD_STALL_MS");
	assert_int_equal(hinomi("block", "--sha256", evil_sha, NULL), 0);
	th_sleep_ms(1000);   /* the list is read every 250 ms */
	assert_int_equal(run_exec(good, 2500, &ms), 0);
	assert_true(ms < 1500);   /* deadline 500 ms, polled every 50 ms */
	/* unchecked while the worker is late: allowed, never hung */
	assert_true(run_exec(evil, 2500, NULL) >= 0);
	{
		char log[4096];
		assert_true(th_agent_log_has(&agent, "allowing execs unchecked", log, sizeof(log)));
	}
	/* several execs at once: none waits for the others' stalls (the
	 * worker takes one event at a time; the manager answers the rest) */
	{
		pid_t kids[6];
		uint64_t t0 = mono_ms();
		for (int i = 0; i < 6; i++) {
			kids[i] = fork();
			if (kids[i] == 0)
				_exit(run_exec(good, 4000, NULL) == 0 ? 0 : 1);
		}
		for (int i = 0; i < 6; i++) {
			int st;
			assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
			assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
		assert_true(mono_ms() - t0 < 2000);
	}
	/* the list emptied while the worker is stuck on an exec: execs go on
	 * at once (the group stops without waiting for the worker) */
	{
		pid_t kid = fork();
		if (kid == 0)
			_exit(run_exec(good, 5000, NULL) == 0 ? 0 : 1);
		th_sleep_ms(100);   /* the worker has it, and sleeps on it */
		assert_int_equal(hinomi("unblock", "--sha256", evil_sha, NULL), 0);
		th_sleep_ms(500);   /* read within 250 ms, stopped within 300 ms */
		assert_int_equal(run_exec("/bin/true", 1500, &ms), 0);
		assert_true(ms < 1000);
		waitpid(kid, NULL, 0);
	}
	th_agent_stop(&agent);
	assert_int_equal(th_agent_restart(&agent, NULL), 0);
}

static void an_agent_killed_with_sigkill_leaves_execs_allowed(void **state)
{
	uint64_t ms = 0;
	int st;
	(void)state;

	assert_int_equal(hinomi("block", "--sha256", evil_sha, NULL), 0);
	assert_true(exec_becomes(evil, EXEC_REFUSED));
	assert_int_equal(kill(agent.pid, SIGKILL), 0);
	assert_int_equal(waitpid(agent.pid, &st, 0), agent.pid);
	agent.pid = 0;
	/* the kernel released the group: the blocked file runs, at once */
	assert_int_equal(run_exec(evil, 2000, &ms), 0);
	assert_true(ms < 1000);
	assert_int_equal(run_exec(good, 2000, NULL), 0);
	/* the list stays: a new agent enforces it again */
	assert_int_equal(th_agent_restart(&agent, NULL), 0);
	assert_true(exec_becomes(evil, EXEC_REFUSED));
	assert_int_equal(hinomi("unblock", "--sha256", evil_sha, NULL), 0);
	assert_true(exec_becomes(evil, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(blocked_hash_cannot_run_and_unblocked_can),
		cmocka_unit_test(a_stalled_guard_answers_within_the_deadline),
		cmocka_unit_test(an_agent_killed_with_sigkill_leaves_execs_allowed),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_exec_block: needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
