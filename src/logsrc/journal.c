/*
 * journal.c - the systemd journal as log events (logsrc.h: hn_journal_*).
 *
 * journalctl (--follow --output=json) runs as a child of the caller, its
 * output on a pipe the caller's loop reads without blocking; each line is
 * one entry, made into an HN_EV_LOG event like a log file's line.  Why a
 * child and not libsystemd: the same reading, with no build dependency
 * that would pull a newer systemd into the host (Debian ships
 * libsystemd-dev only at the version of the systemd it upgrades to).
 *
 * Where reading resumes: after the cursor of the last entry read (each
 * entry carries its __CURSOR; the caller keeps it, hn_journal_cursor, and
 * gives it back at the next start: journalctl's own --cursor-file is not
 * written when it is stopped by a signal); without one, at the journal's
 * end (--lines=0: what was there is history).
 *
 * A child that dies (journald restarted, journalctl killed) is started
 * again, at most every RESTART_NS, after the last entry read.
 */
#include "logsrc/logsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define JOURNALCTL  "/usr/bin/journalctl"
#define RESTART_NS  (10ULL * 1000000000ULL)
#define LINE_MAX_J  (HN_LOG_LINE_MAX * 4)   /* a JSON line: the message escaped */

#define CURSOR_MAX 512

struct hn_journal {
	char *ns;
	char cursor[CURSOR_MAX];    /* the last entry read's; "" none yet */
	pid_t pid;                  /* 0: not running */
	int fd;                     /* the pipe's read end, -1: none */
	uint64_t started;           /* CLOCK_MONOTONIC ns of the last start */
	char buf[LINE_MAX_J];
	size_t n;                   /* bytes of a line not complete yet */
	bool skipping;              /* the line under way is too long: dropped */
	uint64_t lines, bad;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Start journalctl; 0 or -errno. */
static int start(struct hn_journal *j)
{
	char nsarg[300], curarg[CURSOR_MAX + 32];
	char *argv[10];
	int argc = 0, p[2], r;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;

	j->started = mono_ns();
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	argv[argc++] = (char *)JOURNALCTL;
	argv[argc++] = (char *)"--follow";
	argv[argc++] = (char *)"--output=json";
	argv[argc++] = (char *)"--no-pager";
	argv[argc++] = (char *)"--quiet";
	if (j->ns) {
		snprintf(nsarg, sizeof(nsarg), "--namespace=%s", j->ns);
		argv[argc++] = nsarg;
	}
	if (j->cursor[0]) {
		snprintf(curarg, sizeof(curarg), "--after-cursor=%s", j->cursor);
		argv[argc++] = curarg;
	} else {
		argv[argc++] = (char *)"--lines=0";
	}
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* nothing else of ours: above all not the exec guard's fanotify fd,
	 * which CLOEXEC drops only after the exec's own permission check (a
	 * child holding it would keep the group alive past the agent) */
	if (posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(p[0]);
		close(p[1]);
		return -ENOMEM;
	}
	posix_spawnattr_init(&at);
	/* the caller's signal handling is not the child's */
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGPIPE);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&j->pid, JOURNALCTL, &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		j->pid = 0;
		return -r;
	}
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	j->fd = p[0];
	j->n = 0;
	j->skipping = false;
	return 0;
}

/* Stop the child: SIGTERM (it writes its cursor), SIGKILL after 2 s. */
static void stop(struct hn_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	if (j->pid > 0) {
		int st;
		kill(j->pid, SIGTERM);
		for (int k = 0; k < 200; k++) {
			if (waitpid(j->pid, &st, WNOHANG) != 0)
				break;
			if (k == 199) {
				kill(j->pid, SIGKILL);
				waitpid(j->pid, &st, 0);
				break;
			}
			usleep(10000);
		}
	}
	j->pid = 0;
}

struct hn_journal *hn_journal_open(const char *ns, const char *after)
{
	struct hn_journal *j;

	if (access(JOURNALCTL, X_OK) < 0)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->fd = -1;
	/* a cursor is text journalctl made: letters, digits, ";=" */
	if (after && strlen(after) < CURSOR_MAX && after[strspn(after,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789;=")] == '\0')
		snprintf(j->cursor, sizeof(j->cursor), "%s", after);
	if ((ns && !(j->ns = strdup(ns))) || start(j) < 0) {
		hn_journal_close(j);
		return NULL;
	}
	return j;
}

static int hn_journal_poll_once(struct hn_journal *j, hn_logsrc_fn emit, void *arg);

int hn_journal_stop(struct hn_journal *j, hn_logsrc_fn emit, void *arg)
{
	int count = 0, st;

	if (!j || j->pid <= 0)
		return 0;
	/* it writes the cursor of the last entry it printed: read them all */
	kill(j->pid, SIGTERM);
	for (int k = 0; k < 200 && waitpid(j->pid, &st, WNOHANG) == 0; k++)
		usleep(10000);
	if (waitpid(j->pid, &st, WNOHANG) == 0) {
		kill(j->pid, SIGKILL);
		waitpid(j->pid, &st, 0);
	}
	j->pid = 0;
	/* the pipe holds what it printed last; its end is an EOF */
	for (int k = 0; k < 64 && j->fd >= 0; k++)
		count += hn_journal_poll_once(j, emit, arg);
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
	j->started = UINT64_MAX / 2;   /* not started again */
	return count;
}

void hn_journal_close(struct hn_journal *j)
{
	if (!j)
		return;
	stop(j);
	free(j->ns);
	free(j);
}

/* A string member, or NULL. */
static const char *str_of(json_t *o, const char *key, size_t *n)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return NULL;
	if (n)
		*n = json_string_length(v);
	return json_string_value(v);
}

/* A member holding a decimal number as text (as journalctl writes them). */
static bool num_of(json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	const char *s = str_of(o, key, NULL);
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > max / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

struct hn_event *hn_journal_parse(const char *line, size_t n, uint64_t now_ns,
				  char *cursor, size_t cap)
{
	json_t *o = json_loadb(line, n, 0, NULL), *m;
	const char *msg = NULL, *tag;
	char *bin = NULL;
	size_t mn = 0, tn = 0;
	uint64_t v, pri, fac;
	struct hn_event *ev = NULL;

	if (!json_is_object(o))
		goto out;
	if (cursor && (tag = str_of(o, "__CURSOR", &tn)) && tn < cap)
		memcpy(cursor, tag, tn + 1);
	m = json_object_get(o, "MESSAGE");
	if (json_is_string(m)) {
		msg = json_string_value(m);
		mn = json_string_length(m);
	} else if (json_is_array(m)) {
		/* a message that is not text: its bytes, one number each */
		size_t k = json_array_size(m), i;
		json_t *b;
		bin = malloc(k ? k : 1);
		if (!bin)
			goto out;
		json_array_foreach(m, i, b) {
			bin[i] = (char)(json_is_integer(b) ? json_integer_value(b) : '?');
		}
		msg = bin;
		mn = k;
	} else {
		goto out;
	}
	if (mn > HN_LOG_LINE_MAX)
		mn = HN_LOG_LINE_MAX;
	tag = str_of(o, "SYSLOG_IDENTIFIER", &tn);
	if (!tag)
		tag = str_of(o, "_COMM", &tn);
	ev = hn_event_new(mn + tn + 16);
	if (!ev)
		goto out;
	ev->type = HN_EV_LOG;
	ev->time = num_of(o, "__REALTIME_TIMESTAMP", UINT64_MAX / 1000, &v) ? v * 1000 : now_ns;
	if (num_of(o, "_PID", UINT32_MAX, &v) || num_of(o, "SYSLOG_PID", UINT32_MAX, &v)) {
		ev->proc.pid = (uint32_t)v;
		ev->proc.tid = (uint32_t)v;
	}
	ev->proc.auid = UINT32_MAX;
	if (tag) {
		ev->name = hn_event_put(ev, tag, tn);
		snprintf(ev->proc.comm, sizeof(ev->proc.comm), "%.*s",
			 (int)(tn < sizeof(ev->proc.comm) - 1 ? tn : sizeof(ev->proc.comm) - 1), tag);
	}
	ev->args = hn_event_put(ev, msg, mn);
	ev->args_len = mn + 1;
	ev->argc = 1;
	if (mn == HN_LOG_LINE_MAX)
		ev->flags |= HN_EVF_ARGV_TRUNC;
	ev->filename = hn_event_puts(ev, "journal");
	if (num_of(o, "PRIORITY", 7, &pri)) {
		fac = 1;   /* user, syslog's default */
		num_of(o, "SYSLOG_FACILITY", 23, &fac);
		ev->mode = (uint32_t)(fac * 8 + pri);
		ev->oflags = HN_LOG_PRI_KNOWN;
	}
out:
	free(bin);
	json_decref(o);
	return ev;
}

/* Read what the pipe holds (HN_LOG_POLL_MAX bytes at most). */
static int hn_journal_poll_once(struct hn_journal *j, hn_logsrc_fn emit, void *arg)
{
	size_t budget = HN_LOG_POLL_MAX;
	int count = 0;

	while (budget && j->fd >= 0) {
		size_t room = sizeof(j->buf) - j->n;
		ssize_t r = read(j->fd, j->buf + j->n, room < budget ? room : budget);
		char *p, *nl;
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || (r < 0 && errno != EAGAIN)) {
			if (j->pid > 0)
				stop(j);   /* died: started again at a later poll */
			else if (j->fd >= 0)
				close(j->fd);
			j->fd = -1;
			break;
		}
		if (r < 0)
			break;
		budget -= (size_t)r;
		j->n += (size_t)r;
		p = j->buf;
		while ((nl = memchr(p, '\n', j->n - (size_t)(p - j->buf)))) {
			if (!j->skipping) {
				struct hn_event *ev = hn_journal_parse(p, (size_t)(nl - p), real_ns(),
								       j->cursor,
								       sizeof(j->cursor));
				j->lines++;
				if (ev) {
					emit(ev, arg);
					count++;
				} else {
					j->bad++;
				}
			}
			j->skipping = false;
			p = nl + 1;
		}
		j->n -= (size_t)(p - j->buf);
		memmove(j->buf, p, j->n);
		if (j->n == sizeof(j->buf)) {
			/* a line longer than the buffer: dropped to its end */
			j->skipping = true;
			j->bad++;
			j->n = 0;
		}
	}
	return count;
}

const char *hn_journal_cursor(const struct hn_journal *j)
{
	return j && j->cursor[0] ? j->cursor : NULL;
}

int hn_journal_poll(struct hn_journal *j, hn_logsrc_fn emit, void *arg)
{
	if (!j)
		return 0;
	if (j->fd < 0) {
		/* died: again, not too often */
		if (mono_ns() - j->started < RESTART_NS || start(j) < 0)
			return 0;
	}
	return hn_journal_poll_once(j, emit, arg);
}
