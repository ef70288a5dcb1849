/*
 * config.c - the agent's config file: the noise filter and the watch list.
 *
 *   # a comment
 *   ignore-process GLOB   drop events of processes whose executable matches
 *   ignore-path GLOB      drop file events whose path matches
 *   watch-read PATH       report reads of this file (besides the defaults)
 *   log-file PATH         record the lines appended to this log file; the
 *                         first log-file line replaces the default list
 *                         (DEFAULT_LOGS); "log-file none" records none
 *   journal MODE          the systemd journal: on, off, or auto (the
 *                         default: on when journald runs and none of the
 *                         log files exists, as on a Debian 12 without
 *                         rsyslog; both would record each line twice)
 *   journal-namespace NS  the journal of namespace NS (journalctl
 *                         --namespace), not the system's
 *   scan-new on|off       scan new executables with YARA rules (the first
 *                         run of a file, a file made executable); off
 *                         by default (agent/scan_new.c)
 *
 * Globs are fnmatch(3) patterns without FNM_PATHNAME ('*' crosses '/').
 * A malformed line is reported with its number and skipped; the rest of
 * the file still applies.  Bounded: at most MAX_RULES of each kind.
 */
#include "agent/agent.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 256

struct hn_agent_config {
	char *ignore_process[MAX_RULES];
	int n_process;
	char *ignore_path[MAX_RULES];
	int n_path;
	char *watch[MAX_RULES];
	int n_watch;
	char *logs[MAX_RULES];
	int n_logs;
	bool logs_set;           /* a log-file line replaced the defaults */
	int journal;             /* HN_JOURNAL_* */
	bool scan_new;
	char *journal_ns;
};

/* System logs followed by default (those that exist; rsyslog on Debian
 * writes the first two, RHEL-likes the last two). */
static const char *const default_logs[] = {
	"/var/log/auth.log", "/var/log/syslog", "/var/log/secure", "/var/log/messages",
};

/* Files whose reads matter (credential access), watched by default. */
static const char *const default_watch[] = {
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/security/opasswd",
	"/root/.ssh/id_rsa", "/root/.ssh/id_ed25519", "/root/.ssh/id_ecdsa",
	"/root/.bash_history", "/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key",
	"/etc/ssh/ssh_host_ecdsa_key",
};

struct hn_agent_config *hn_agent_config_default(void)
{
	struct hn_agent_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->journal = HN_JOURNAL_AUTO;
	for (size_t i = 0; i < sizeof(default_watch) / sizeof(default_watch[0]); i++)
		c->watch[c->n_watch++] = strdup(default_watch[i]);
	for (size_t i = 0; i < sizeof(default_logs) / sizeof(default_logs[0]); i++)
		c->logs[c->n_logs++] = strdup(default_logs[i]);
	return c;
}

void hn_agent_config_free(struct hn_agent_config *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_process; i++)
		free(c->ignore_process[i]);
	for (int i = 0; i < c->n_path; i++)
		free(c->ignore_path[i]);
	for (int i = 0; i < c->n_watch; i++)
		free(c->watch[i]);
	for (int i = 0; i < c->n_logs; i++)
		free(c->logs[i]);
	free(c->journal_ns);
	free(c);
}

static int add(char **v, int *n, const char *s)
{
	if (*n >= MAX_RULES)
		return -E2BIG;
	v[*n] = strdup(s);
	if (!v[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

int hn_agent_config_load(const char *path, struct hn_agent_config **out, char *msg,
			 size_t msglen)
{
	struct hn_agent_config *c;
	FILE *f = fopen(path, "re");
	char line[4096];
	int lineno = 0, r = 0;

	if (!f)
		return -errno;
	c = hn_agent_config_default();
	if (!c) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *key, *val, *end;
		size_t len = strlen(line);
		int e = 0;

		lineno++;
		if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
			/* longer than any rule can be: skip the rest of it */
			int ch;
			while ((ch = fgetc(f)) != EOF && ch != '\n')
				;
			if (r == 0) {
				snprintf(msg, msglen, "%s:%d: line too long (over %zu bytes)", path,
					 lineno, sizeof(line) - 2);
				r = -EINVAL;
			}
			continue;
		}
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		key = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		val = p;
		end = val + strlen(val);
		while (end > val && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*val) {
			e = -EINVAL;
		} else if (!strcmp(key, "ignore-process")) {
			e = add(c->ignore_process, &c->n_process, val);
		} else if (!strcmp(key, "ignore-path")) {
			e = add(c->ignore_path, &c->n_path, val);
		} else if (!strcmp(key, "watch-read")) {
			e = add(c->watch, &c->n_watch, val);
		} else if (!strcmp(key, "journal")) {
			e = 0;
			if (!strcmp(val, "on"))
				c->journal = HN_JOURNAL_ON;
			else if (!strcmp(val, "off"))
				c->journal = HN_JOURNAL_OFF;
			else if (!strcmp(val, "auto"))
				c->journal = HN_JOURNAL_AUTO;
			else
				e = -EINVAL;
		} else if (!strcmp(key, "scan-new")) {
			e = 0;
			if (!strcmp(val, "on"))
				c->scan_new = true;
			else if (!strcmp(val, "off"))
				c->scan_new = false;
			else
				e = -EINVAL;
		} else if (!strcmp(key, "journal-namespace")) {
			free(c->journal_ns);
			c->journal_ns = strdup(val);
			e = c->journal_ns ? 0 : -ENOMEM;
		} else if (!strcmp(key, "log-file")) {
			if (!c->logs_set) {
				for (int i = 0; i < c->n_logs; i++)
					free(c->logs[i]);
				c->n_logs = 0;
				c->logs_set = true;
			}
			e = strcmp(val, "none") == 0 ? 0 :
			    val[0] != '/' ? -EINVAL : add(c->logs, &c->n_logs, val);
		} else {
			e = -EINVAL;
		}
		if (e < 0 && r == 0) {
			snprintf(msg, msglen, "%s:%d: %s '%s'", path, lineno,
				 e == -E2BIG ? "too many rules at" : "cannot understand", key);
			r = -EINVAL;
		}
	}
	if (ferror(f)) {
		int e = errno ? errno : EIO;
		fclose(f);
		hn_agent_config_free(c);
		snprintf(msg, msglen, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	fclose(f);
	*out = c;
	return r;
}

static bool match_any(char *const *v, int n, const char *s)
{
	if (!s)
		return false;
	for (int i = 0; i < n; i++)
		if (fnmatch(v[i], s, 0) == 0)
			return true;
	return false;
}

bool hn_agent_config_ignore_process(const struct hn_agent_config *c, const char *exe)
{
	return c && match_any(c->ignore_process, c->n_process, exe);
}

bool hn_agent_config_ignore_path(const struct hn_agent_config *c, const char *path)
{
	return c && match_any(c->ignore_path, c->n_path, path);
}

const char *const *hn_agent_config_watch(const struct hn_agent_config *c, int *n)
{
	*n = c ? c->n_watch : 0;
	return c ? (const char *const *)c->watch : NULL;
}

int hn_agent_config_journal(const struct hn_agent_config *c, const char **ns)
{
	*ns = c ? c->journal_ns : NULL;
	return c ? c->journal : HN_JOURNAL_AUTO;
}

const char *const *hn_agent_config_logs(const struct hn_agent_config *c, int *n)
{
	*n = c ? c->n_logs : 0;
	return c ? (const char *const *)c->logs : NULL;
}

bool hn_agent_config_scan_new(const struct hn_agent_config *c)
{
	return c && c->scan_new;
}
