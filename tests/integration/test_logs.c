/*
 * test_logs.c - the real agent follows the system log files its config
 * names (log-file): lines appended while it runs become log events with
 * program, pid, time and message; what the file held before is history,
 * not recorded; lines written while the agent was stopped are recorded by
 * the next agent, once (the position is kept in the store); the ECS form
 * carries message and log.syslog.  The systemd journal likewise: entries
 * sent to a journald of the test's own (a namespace of its own, stopped and
 * removed after) become log events with program, pid, priority and
 * message, once, across an agent restart (journalctl's cursor file).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/ecs.h"
#include "event/event.h"
#include "lib/harness.h"
#include "util/strbuf.h"

static struct th_agent a;
static struct hn_store *s;
static char dir[256];

static int teardown(void **state)
{
	(void)state;
	th_group_reset(&a, &s, dir);
	return 0;
}


/* A log event whose message is arg. */
static bool msg_is(const struct hn_event *ev, const void *arg)
{
	const char *want = arg;
	size_t n = ev->args_len;

	if (!ev->args)
		return false;
	while (n && ev->args[n - 1] == '\0')
		n--;
	return n == strlen(want) && memcmp(ev->args, want, n) == 0;
}

static void log_lines_become_events(void **state)
{
	char cfg[320], logf[320], line[512];
	const char *extra[] = { "--config", cfg, NULL };
	struct hn_event *ev;
	struct hn_strbuf js;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(th_scratch(dir, sizeof(dir), "logs"), 0);
	snprintf(logf, sizeof(logf), "%s/auth.log", dir);
	snprintf(cfg, sizeof(cfg), "%s/agent.conf", dir);
	snprintf(line, sizeof(line), "log-file %s\n", logf);
	assert_int_equal(th_append(cfg, line), 0);
	assert_int_equal(th_append(logf, "Nov 27 09:00:00 box sshd[1]: history, not news\n"), 0);

	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");
	assert_int_equal(th_append(logf, "2026-11-27T10:00:00.500000+00:00 box sshd[4242]:"
				   " Accepted password for root from 127.0.0.1 port 50000"
				   " ssh2\n"), 0);
	assert_int_equal(th_append(logf, "<85>2026-11-27T10:00:01Z box sudo:      bob :"
				   " TTY=pts/0 ; PWD=/home/bob ; USER=root ;"
				   " COMMAND=/bin/id\n"), 0);

	ev = th_wait_match(s, HN_EV_LOG, 0, msg_is,
			   "Accepted password for root from 127.0.0.1 port 50000 ssh2");
	assert_non_null(ev);
	assert_string_equal(ev->name, "sshd");
	assert_int_equal(ev->proc.pid, 4242);
	assert_string_equal(ev->filename, logf);
	assert_true(ev->time == 1795773600500000000ULL);
	hn_strbuf_init(&js);
	assert_int_equal(hn_ecs_render(ev, "box", &js), 0);
	assert_non_null(strstr(js.buf, "\"message\":\"Accepted password for root"));
	assert_non_null(strstr(js.buf, "\"appname\":\"sshd\""));
	hn_strbuf_release(&js);
	hn_event_free(ev);

	ev = th_wait_match(s, HN_EV_LOG, 0, msg_is,
			   "     bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/id");
	assert_non_null(ev);
	assert_string_equal(ev->name, "sudo");
	assert_int_equal(ev->mode, 85);
	hn_event_free(ev);
	assert_int_equal(th_count_match(s, HN_EV_LOG, 0, msg_is, "history, not news"), 0);

	/* stopped: a line written meanwhile is the next agent's, once */
	hn_store_close(s);
	s = NULL;
	assert_int_equal(th_agent_stop(&a), 0);
	assert_int_equal(th_append(logf, "2026-11-27T10:00:02Z box sshd[4243]:"
				   " while the agent was away\n"), 0);
	assert_int_equal(th_agent_restart(&a, extra), 0);
	s = th_store(&a);
	assert_non_null(s);
	ev = th_wait_match(s, HN_EV_LOG, 0, msg_is, "while the agent was away");
	assert_non_null(ev);
	hn_event_free(ev);
	assert_int_equal(th_count_match(s, HN_EV_LOG, 0, msg_is,
					"Accepted password for root from 127.0.0.1 port 50000 ssh2"),
			 1);
	assert_int_equal(th_count_match(s, HN_EV_LOG, 0, msg_is, "while the agent was away"), 1);
}

/* ---- the systemd journal ---- */

/* A journald of our own: namespace jns (its sockets under
 * /run/systemd/journal.NS, its files under /var/log/journal/MACHINE.NS),
 * started and stopped by pid; what it made is removed. */
static char jns[40], jdir[80], jfiles[200];
static pid_t jpid;
static bool var_log_journal_was_there;

static int journal_teardown(void **state)
{
	char cmd[600];

	teardown(state);
	if (jpid > 0) {
		kill(jpid, SIGTERM);
		th_reap(jpid);
		jpid = 0;
	}
	if (jns[0]) {
		/* only what our namespace made (names with our pid in them) */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", jdir, jfiles);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s, %s\n", jdir, jfiles);
		if (!var_log_journal_was_there)
			rmdir("/var/log/journal");
		jns[0] = '\0';
	}
	return 0;
}

/* Send an entry to our journald, as a program does (the native protocol). */
static void journal_send(const char *ident, int facility, int prio, const char *msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[1024];
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), n;

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", jdir);
	n = snprintf(buf, sizeof(buf), "MESSAGE=%s\nSYSLOG_IDENTIFIER=%s\nSYSLOG_FACILITY=%d\n"
		     "PRIORITY=%d\n", msg, ident, facility, prio);
	assert_int_equal(sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&sa, sizeof(sa)), n);
	close(fd);
}

static void journal_entries_become_events(void **state)
{
	char cfg[320], text[256], mid[64] = "", msg1[160], msg2[160];
	const char *extra[] = { "--config", cfg, NULL };
	FILE *f;
	struct hn_event *ev;
	int k;

	(void)state;
	if (geteuid() != 0)
		skip();
	f = fopen("/etc/machine-id", "re");
	if (access("/lib/systemd/systemd-journald", X_OK) < 0 || access("/usr/bin/journalctl",
									 X_OK) < 0 ||
	    !f || !fgets(mid, sizeof(mid), f)) {
		if (f)
			fclose(f);
		fprintf(stderr, "no systemd-journald, journalctl or machine id here\n");
		skip();
	}
	fclose(f);
	mid[strcspn(mid, "\n")] = '\0';
	snprintf(jns, sizeof(jns), "hinomitest%d", (int)getpid());
	snprintf(jdir, sizeof(jdir), "/run/systemd/journal.%s", jns);
	snprintf(jfiles, sizeof(jfiles), "/var/log/journal/%s.%s", mid, jns);
	var_log_journal_was_there = access("/var/log/journal", F_OK) == 0;
	assert_int_equal(th_scratch(dir, sizeof(dir), "journal"), 0);
	jpid = fork();
	if (jpid == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		execl("/lib/systemd/systemd-journald", "systemd-journald", jns, (char *)NULL);
		_exit(127);
	}
	assert_true(jpid > 0);
	snprintf(text, sizeof(text), "%s/socket", jdir);
	for (k = 0; k < 100 && access(text, F_OK) < 0; k++)
		th_sleep_ms(50);
	if (access(text, F_OK) < 0)
		fail_msg("our journald made no %s", text);

	snprintf(cfg, sizeof(cfg), "%s/agent.conf", dir);
	snprintf(text, sizeof(text), "log-file none\njournal on\njournal-namespace %s\n", jns);
	assert_int_equal(th_append(cfg, text), 0);
	journal_send("sshd", 10, 6, "history, not news");
	if (th_group_start(&a, &s, extra) < 0)
		fail_msg("the agent did not start");
	/* journalctl is started with the agent: give it a moment to follow */
	th_sleep_ms(1000);
	snprintf(msg1, sizeof(msg1), "Accepted publickey for hn%d from 127.0.0.1 port 50000 ssh2",
		 (int)getpid());
	journal_send("sshd", 10, 6, msg1);
	ev = th_wait_match(s, HN_EV_LOG, 0, msg_is, msg1);
	if (!ev) {
		char logtext[8192];
		th_agent_log_has(&a, "\n--- hinomi summary", logtext, sizeof(logtext));
		fail_msg("no log event for the journal entry; the agent said:\n%s", logtext);
	}
	assert_string_equal(ev->name, "sshd");
	assert_string_equal(ev->filename, "journal");
	assert_int_equal(ev->proc.pid, (uint32_t)getpid());
	assert_int_equal(ev->mode, 10 * 8 + 6);   /* authpriv.info */
	hn_event_free(ev);
	assert_int_equal(th_count_match(s, HN_EV_LOG, 0, msg_is, "history, not news"), 0);

	/* stopped: an entry written meanwhile is the next agent's, once */
	hn_store_close(s);
	s = NULL;
	assert_int_equal(th_agent_stop(&a), 0);
	snprintf(msg2, sizeof(msg2), "hn%d while the agent was away", (int)getpid());
	journal_send("sudo", 10, 5, msg2);
	assert_int_equal(th_agent_restart(&a, extra), 0);
	s = th_store(&a);
	assert_non_null(s);
	ev = th_wait_match(s, HN_EV_LOG, 0, msg_is, msg2);
	assert_non_null(ev);
	assert_string_equal(ev->name, "sudo");
	hn_event_free(ev);
	th_sleep_ms(1000);
	assert_int_equal(th_count_match(s, HN_EV_LOG, 0, msg_is, msg1), 1);
	assert_int_equal(th_count_match(s, HN_EV_LOG, 0, msg_is, msg2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(log_lines_become_events, teardown),
		cmocka_unit_test_teardown(journal_entries_become_events, journal_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
