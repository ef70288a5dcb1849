/*
 * test_logsrc.c - the system log as events (logsrc/logsrc.h): syslog lines
 * in the formats rsyslog writes (RFC 3339, classic, with <PRI>) give the
 * program, pid, time, priority and message, and anything else is kept
 * whole; sudo's fields are found; following a file starts at its end,
 * waits for a line's newline, survives rotation and truncation, cuts long
 * lines, resumes from a saved position, and does not mind a file that is
 * not there yet.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/event.h"
#include "logsrc/logsrc.h"

#define NOW 1795773600000000000ULL   /* 2026-11-27T06:40:00Z */

static char msgbuf[HN_LOG_LINE_MAX + 16];

static const char *msg_of(const struct hn_event *ev)
{
	size_t n = ev->args_len;

	while (n && ev->args[n - 1] == '\0')
		n--;
	memcpy(msgbuf, ev->args, n);
	msgbuf[n] = '\0';
	return msgbuf;
}

static struct hn_event *parse(const char *line)
{
	struct hn_event *ev = hn_logsrc_parse(line, strlen(line), "/var/log/x.log", NOW);

	assert_non_null(ev);
	assert_int_equal(ev->type, HN_EV_LOG);
	assert_string_equal(ev->filename, "/var/log/x.log");
	assert_int_equal(ev->argc, 1);
	return ev;
}

static void test_parse_formats(void **state)
{
	struct hn_event *ev;

	(void)state;
	ev = parse("2026-11-27T10:00:00.250000+01:00 box sshd[812]: Accepted password for u");
	assert_string_equal(ev->name, "sshd");
	assert_string_equal(ev->proc.comm, "sshd");
	assert_int_equal(ev->proc.pid, 812);
	assert_true(ev->time == 1795770000250000000ULL);  /* 09:00:00.25Z */
	assert_string_equal(msg_of(ev), "Accepted password for u");
	assert_int_equal(ev->oflags & HN_LOG_PRI_KNOWN, 0);
	hn_event_free(ev);

	ev = parse("<86>2026-11-27T09:00:00Z box CRON[77]: (root) CMD (run-parts)");
	assert_string_equal(ev->name, "CRON");
	assert_int_equal(ev->mode, 86);            /* authpriv.info */
	assert_int_equal(ev->oflags & HN_LOG_PRI_KNOWN, HN_LOG_PRI_KNOWN);
	assert_string_equal(msg_of(ev), "(root) CMD (run-parts)");
	hn_event_free(ev);

	/* classic: local time, this year (or last, when it would be ahead) */
	ev = parse("Nov  7 01:02:03 box kernel: [  1.0] usb 1-1: new device");
	assert_string_equal(ev->name, "kernel");
	assert_int_equal(ev->proc.pid, 0);
	assert_string_equal(msg_of(ev), "[  1.0] usb 1-1: new device");
	{
		time_t t = (time_t)(ev->time / 1000000000ULL);
		struct tm tm;
		localtime_r(&t, &tm);
		assert_int_equal(tm.tm_mon, 10);
		assert_int_equal(tm.tm_mday, 7);
		assert_int_equal(tm.tm_hour, 1);
		assert_true(ev->time <= NOW + 86400ULL * 1000000000ULL);
	}
	hn_event_free(ev);
	ev = parse("Dec 31 23:59:59 box app: late");
	assert_true(ev->time < NOW);              /* last year's */
	hn_event_free(ev);

	/* a tag with a long name (comm keeps 15 bytes) */
	ev = parse("2026-11-27T10:00:00Z box systemd-logind[55]: New session 3 of user u.");
	assert_string_equal(ev->name, "systemd-logind");
	assert_string_equal(ev->proc.comm, "systemd-logind");
	hn_event_free(ev);

	/* not syslog: kept whole, read time */
	ev = parse("just some text: with a colon");
	assert_null(ev->name);
	assert_true(ev->time == NOW);
	assert_string_equal(msg_of(ev), "just some text: with a colon");
	hn_event_free(ev);
	/* a timestamp and host but no tag */
	ev = parse("2026-11-27T10:00:00Z box no tag here");
	assert_null(ev->name);
	assert_string_equal(msg_of(ev), "no tag here");
	hn_event_free(ev);
	/* broken pieces never crash and keep the bytes */
	static const char *const odd[] = {
		"<", "<999>x", "<12", "2026-13-40T99:99:99Z h p: m", "Foo 12 10:00:00 h p: m",
		"Nov 27 10:00:00", "Nov 27 10:00:00 ", "Nov 27 10:00:00 host", "x[1]: y",
		"2026-11-27T10:00:00Z h p[12: m", "", "\xff\xfe: \x01",
	};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		ev = hn_logsrc_parse(odd[i], strlen(odd[i]), NULL, NOW);
		assert_non_null(ev);
		assert_non_null(ev->args);
		hn_event_free(ev);
	}
}

static void test_sudo_fields(void **state)
{
	static const char m[] = "bob : TTY=pts/0 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/ls -la /";
	const char *v;
	size_t n;

	(void)state;
	assert_true(hn_logsrc_sudo_field(m, strlen(m), "USER", &v, &n));
	assert_int_equal(n, 4);
	assert_memory_equal(v, "root", 4);
	assert_true(hn_logsrc_sudo_field(m, strlen(m), "COMMAND", &v, &n));
	assert_int_equal(n, strlen("/bin/ls -la /"));
	assert_true(hn_logsrc_sudo_field(m, strlen(m), "TTY", &v, &n));
	assert_memory_equal(v, "pts/0", n);
	assert_false(hn_logsrc_sudo_field(m, strlen(m), "GROUP", &v, &n));
	assert_false(hn_logsrc_sudo_field("XUSER=a", 7, "USER", &v, &n));
}

/* ---- following ---- */

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hn-logsrc.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct got {
	int n;
	char msg[8][128];
	uint32_t flags[8];
};

static void collect(struct hn_event *ev, void *arg)
{
	struct got *g = arg;

	if (g->n < 8) {
		const char *m = msg_of(ev);
		size_t n = strlen(m) < sizeof(g->msg[0]) - 1 ? strlen(m) : sizeof(g->msg[0]) - 1;
		memcpy(g->msg[g->n], m, n);
		g->msg[g->n][n] = '\0';
		g->flags[g->n] = ev->flags;
	}
	g->n++;
	hn_event_free(ev);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int poll_into(struct hn_logsrc *ls, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return hn_logsrc_poll(ls, collect, g);
}

static void test_follow_appends_rotation_truncation(void **state)
{
	char path[128], old[160];
	const char *paths[1] = { path };
	struct hn_logsrc *ls;
	struct got g;

	(void)state;
	snprintf(path, sizeof(path), "%s/auth.log", dir);
	ls = hn_logsrc_new(paths, 1);
	assert_non_null(ls);
	/* not there yet: nothing, no error */
	assert_int_equal(poll_into(ls, &g), 0);
	/* appears with history: history is not news */
	append(path, "Nov 27 10:00:00 h a: old 1\nNov 27 10:00:01 h a: old 2\n");
	assert_int_equal(poll_into(ls, &g), 0);
	append(path, "Nov 27 10:00:02 h a: new 1\nNov 27 10:00:03 h a: par");
	assert_int_equal(poll_into(ls, &g), 1);
	assert_string_equal(g.msg[0], "new 1");
	/* the partial line waits for its newline */
	assert_int_equal(poll_into(ls, &g), 0);
	append(path, "tial\n");
	assert_int_equal(poll_into(ls, &g), 1);
	assert_string_equal(g.msg[0], "partial");
	/* rotation: the old file's last lines, then the new file from 0 */
	append(path, "Nov 27 10:00:04 h a: last of old\n");
	snprintf(old, sizeof(old), "%s.1", path);
	assert_int_equal(rename(path, old), 0);
	append(path, "Nov 27 10:00:05 h a: first of new\n");
	assert_int_equal(poll_into(ls, &g), 2);
	assert_string_equal(g.msg[0], "last of old");
	assert_string_equal(g.msg[1], "first of new");
	/* truncation: from the start again */
	assert_int_equal(truncate(path, 0), 0);
	append(path, "Nov 27 10:00:06 h a: after truncate\n");
	assert_int_equal(poll_into(ls, &g), 1);
	assert_string_equal(g.msg[0], "after truncate");
	/* a line longer than the bound: its first part, flagged; the rest of
	 * it skipped; the next line whole */
	{
		size_t n = HN_LOG_LINE_MAX * 3;
		char *big = malloc(n + 2);
		assert_non_null(big);
		memset(big, 'x', n);
		big[n] = '\n';
		big[n + 1] = '\0';
		append(path, big);
		free(big);
	}
	append(path, "Nov 27 10:00:07 h a: after long\n");
	assert_int_equal(poll_into(ls, &g), 2);
	assert_int_equal(strlen(g.msg[0]) > 0, 1);
	assert_true(g.flags[0] & HN_EVF_ARGV_TRUNC);
	assert_string_equal(g.msg[1], "after long");
	assert_false(g.flags[1] & HN_EVF_ARGV_TRUNC);
	/* gone: nothing, no error */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(poll_into(ls, &g), 0);
	hn_logsrc_free(ls);
}

/* journalctl's JSON lines as events (journal.c) */
static void test_journal_entries(void **state)
{
	static const char full[] =
		"{\"__CURSOR\":\"s=ab;i=3;b=cd;m=1;t=2;x=3\",\"__REALTIME_TIMESTAMP\":"
		"\"1795773600500000\",\"PRIORITY\":\"6\",\"SYSLOG_FACILITY\":\"10\","
		"\"SYSLOG_IDENTIFIER\":\"sshd\",\"_PID\":\"4242\",\"_COMM\":\"sshd\","
		"\"MESSAGE\":\"Accepted publickey for root from 127.0.0.1 port 5 ssh2\"}";
	/* a message that is not text comes as its bytes; no identifier: _COMM;
	 * no priority: none known; SYSLOG_PID when there is no _PID */
	static const char bytes[] =
		"{\"_COMM\":\"app\",\"SYSLOG_PID\":\"7\",\"MESSAGE\":[104,105,0,33]}";
	char cursor[64] = "";
	struct hn_event *ev;

	(void)state;
	ev = hn_journal_parse(full, strlen(full), 1, cursor, sizeof(cursor));
	assert_non_null(ev);
	assert_int_equal(ev->type, HN_EV_LOG);
	assert_string_equal(ev->name, "sshd");
	assert_string_equal(ev->args, "Accepted publickey for root from 127.0.0.1 port 5 ssh2");
	assert_int_equal(ev->proc.pid, 4242);
	assert_true(ev->time == 1795773600500000000ULL);
	assert_int_equal(ev->mode, 86);
	assert_true(ev->oflags & HN_LOG_PRI_KNOWN);
	assert_string_equal(ev->filename, "journal");
	assert_string_equal(cursor, "s=ab;i=3;b=cd;m=1;t=2;x=3");
	hn_event_free(ev);

	ev = hn_journal_parse(bytes, strlen(bytes), 99, NULL, 0);
	assert_non_null(ev);
	assert_string_equal(ev->name, "app");
	assert_int_equal(ev->proc.pid, 7);
	assert_int_equal(ev->args_len, 5);
	assert_memory_equal(ev->args, "hi\0!", 4);
	assert_false(ev->oflags & HN_LOG_PRI_KNOWN);
	assert_true(ev->time == 99);
	hn_event_free(ev);

	/* not entries: no MESSAGE, not JSON, not an object, a bad number */
	assert_null(hn_journal_parse("{\"_COMM\":\"x\"}", 14, 1, NULL, 0));
	assert_null(hn_journal_parse("{\"MESSAGE\":", 11, 1, NULL, 0));
	assert_null(hn_journal_parse("[1,2]", 5, 1, NULL, 0));
	ev = hn_journal_parse("{\"MESSAGE\":\"m\",\"_PID\":\"12x\",\"PRIORITY\":\"9\"}", 43, 5,
			      NULL, 0);
	assert_non_null(ev);
	assert_int_equal(ev->proc.pid, 0);
	assert_false(ev->oflags & HN_LOG_PRI_KNOWN);
	hn_event_free(ev);
}

static void test_resume_from_saved_position(void **state)
{
	char path[128];
	const char *paths[1] = { path }, *p;
	uint64_t dev, ino, off;
	struct hn_logsrc *ls;
	struct got g;

	(void)state;
	snprintf(path, sizeof(path), "%s/syslog", dir);
	append(path, "Nov 27 10:00:00 h a: one\n");
	ls = hn_logsrc_new(paths, 1);
	assert_non_null(ls);
	assert_int_equal(poll_into(ls, &g), 0);
	assert_true(hn_logsrc_get_pos(ls, 0, &p, &dev, &ino, &off));
	assert_string_equal(p, path);
	hn_logsrc_free(ls);
	/* written while nobody followed: read on the next start */
	append(path, "Nov 27 10:00:01 h a: while away\n");
	ls = hn_logsrc_new(paths, 1);
	assert_non_null(ls);
	hn_logsrc_set_pos(ls, path, dev, ino, off);
	assert_int_equal(poll_into(ls, &g), 1);
	assert_string_equal(g.msg[0], "while away");
	hn_logsrc_free(ls);
	/* a saved position of another file (replaced meanwhile): from 0 */
	ls = hn_logsrc_new(paths, 1);
	assert_non_null(ls);
	hn_logsrc_set_pos(ls, path, dev, ino + 1, 3);
	assert_int_equal(poll_into(ls, &g), 2);
	hn_logsrc_free(ls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_formats),
		cmocka_unit_test(test_journal_entries),
		cmocka_unit_test(test_sudo_fields),
		cmocka_unit_test_setup_teardown(test_follow_appends_rotation_truncation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resume_from_saved_position, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
