/*
 * test_scan_new.c - the agent's scanning of new executables
 * (agent/scan_new.c) with the real sensor: a file run for the first time
 * and a file created executable (never run) are scanned with a YARA rule
 * of the test's own, and each match is an alert; a file that does not
 * match raises none.  Needs root.  Files live in a scratch directory.
 */
#include "lib/harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static struct th_agent agent;
static struct hn_store *store;
static char dir[256], rules[300];

static int group_setup(void **state)
{
	char marker[128];
	const char *extra[] = { "--scan-new", "--yara", rules, NULL };
	(void)state;

	if (th_scratch(dir, sizeof(dir), "scannew") < 0)
		return -1;
	snprintf(rules, sizeof(rules), "%s/yara", dir);
	if (mkdir(rules, 0700) < 0)
		return -1;
	/* the marker is built here, so that the test binary does not hold it
	 * whole (it would match when run) */
	snprintf(marker, sizeof(marker), "HINOMI-SCAN-NEW-%s", "MARKER-7f3a");
	{
		char text[512];
		snprintf(text, sizeof(text),
			 "rule hn_scan_new_test {\n  meta: severity = \"high\"\n"
			 "        description = \"hinomi scan-new test marker\"\n"
			 "  strings: $a = \"%s\"\n  condition: $a\n}\n", marker);
		if (!th_write_file(rules, "test.yar", text))
			return -1;
	}
	return th_group_start(&agent, &store, extra);
}

static int group_teardown(void **state)
{
	(void)state;
	th_group_stop(&agent, store, dir);
	return 0;
}

static void copy_with(const char *to, const char *tail)
{
	char cmd[800];

	snprintf(cmd, sizeof(cmd), "cp /bin/true '%s' && printf '%%s' '%s' >> '%s'", to, tail, to);
	assert_int_equal(system(cmd), 0);
}

struct find {
	const char *path;
	bool found;
};

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct find *f = arg;

	if (a->rule_id && !strcmp(a->rule_id, "yara:test:hn_scan_new_test") && a->event_json &&
	    strstr(a->event_json, f->path))
		f->found = true;
	return 0;
}

static bool alert_for(const char *path, int tries)
{
	struct find f = { path, false };

	for (int i = 0; i < tries && !f.found; i++) {
		hn_store_alerts(store, 0, on_alert, &f);
		if (!f.found)
			th_sleep_ms(100);
	}
	return f.found;
}

static void a_new_executable_is_scanned_when_run(void **state)
{
	char run[300], ok[300];
	const char *argv[2];
	(void)state;

	snprintf(run, sizeof(run), "%s/runme", dir);
	snprintf(ok, sizeof(ok), "%s/fine", dir);
	copy_with(run, "HINOMI-SCAN-NEW-MARKER-7f3a");
	copy_with(ok, "nothing to see");
	argv[0] = run;
	argv[1] = NULL;
	assert_int_equal(th_run(argv, 10), 0);
	argv[0] = ok;
	assert_int_equal(th_run(argv, 10), 0);
	assert_true(alert_for(run, 100));
	assert_false(alert_for(ok, 20));
}

static void a_file_created_executable_is_scanned_unrun(void **state)
{
	char path[300];
	int fd;
	const char *body = "#!/bin/sh\n# HINOMI-SCAN-NEW-MARKER-7f3a\nexit 0\n";
	(void)state;

	snprintf(path, sizeof(path), "%s/dropped", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
	close(fd);
	assert_true(alert_for(path, 100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_new_executable_is_scanned_when_run),
		cmocka_unit_test(a_file_created_executable_is_scanned_unrun),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_scan_new: needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
