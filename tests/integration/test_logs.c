/*
 * test_logs.c - the real agent follows the system log files its config
 * names (log-file): lines appended while it runs become log events with
 * program, pid, time and message; what the file held before is history,
 * not recorded; lines written while the agent was stopped are recorded by
 * the next agent, once (the position is kept in the store); the ECS form
 * carries message and log.syslog.
 */
#include <errno.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(log_lines_become_events, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
