/*
 * tuning.c - the per-host allowlist (detect.h: struct hn_tuning): silence a
 * rule for a program, a user, a path or a command line without editing
 * the rule.
 *
 *   # comment
 *   allow RULE [image=GLOB] [user=NAME] [path=GLOB] [cmdline=GLOB]
 *
 * RULE is a rule id, or `*` for every rule.  Every condition given must
 * hold for the match to be silenced (none: the rule is off on this host).
 * Globs are fnmatch(3) patterns without FNM_PATHNAME ('*' crosses '/');
 * image is the process's executable (for a process start, the new image or
 * the path passed to execve), path a file event's path or new name, user
 * the name of the real uid (or its number).
 *
 * A malformed line is reported with its number and skipped; the others
 * still apply.  At most TUNING_MAX lines.
 */
#include "detect/detect.h"

#include <errno.h>
#include <fnmatch.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TUNING_MAX 1024

struct allow {
	char *rule;              /* NULL: every rule */
	char *image, *user, *path, *cmdline;
};

struct hn_tuning {
	struct allow *a;
	unsigned n;
};

static void allow_free(struct allow *a)
{
	free(a->rule);
	free(a->image);
	free(a->user);
	free(a->path);
	free(a->cmdline);
}

void hn_tuning_free(struct hn_tuning *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->n; i++)
		allow_free(&t->a[i]);
	free(t->a);
	free(t);
}

unsigned hn_tuning_count(const struct hn_tuning *t)
{
	return t ? t->n : 0;
}

/* One "allow ..." line (words split on blanks) into a; NULL or why not. */
static const char *parse_line(char *line, struct allow *a)
{
	char *save = NULL, *w = strtok_r(line, " \t", &save);

	if (!w || strcmp(w, "allow") != 0)
		return "expected 'allow RULE [image=GLOB] [user=NAME] [path=GLOB] [cmdline=GLOB]'";
	w = strtok_r(NULL, " \t", &save);
	if (!w)
		return "no rule id (or *) after 'allow'";
	if (strcmp(w, "*") != 0 && !(a->rule = strdup(w)))
		return "out of memory";
	while ((w = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(w, '='), **slot;
		if (!eq || eq == w || !eq[1])
			return "a condition is key=value";
		*eq = '\0';
		if (!strcmp(w, "image"))
			slot = &a->image;
		else if (!strcmp(w, "user"))
			slot = &a->user;
		else if (!strcmp(w, "path"))
			slot = &a->path;
		else if (!strcmp(w, "cmdline"))
			slot = &a->cmdline;
		else
			return "unknown condition (image, user, path, cmdline)";
		if (*slot)
			return "a condition given twice";
		if (!(*slot = strdup(eq + 1)))
			return "out of memory";
	}
	return NULL;
}

int hn_tuning_load(const char *path, struct hn_tuning **out,
		   void (*problem)(const char *path, int line, const char *why, void *arg),
		   void *arg)
{
	FILE *f = fopen(path, "re");
	struct hn_tuning *t;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int lineno = 0;

	if (!f)
		return -errno;
	t = calloc(1, sizeof(*t));
	if (!t) {
		fclose(f);
		return -ENOMEM;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct allow a = { 0 };
		const char *why;
		char *p = line;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		why = t->n >= TUNING_MAX ? "too many lines" : parse_line(p, &a);
		if (!why) {
			struct allow *v = realloc(t->a, (t->n + 1) * sizeof(*v));
			if (!v) {
				why = "out of memory";
			} else {
				t->a = v;
				t->a[t->n++] = a;
				continue;
			}
		}
		allow_free(&a);
		if (problem)
			problem(path, lineno, why, arg);
	}
	free(line);
	fclose(f);
	*out = t;
	return 0;
}

static bool glob_ok(const char *pattern, const char *s)
{
	return !pattern || (s && fnmatch(pattern, s, 0) == 0);
}

static bool user_ok(const char *want, uint32_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[1024], num[16];

	if (!want)
		return true;
	snprintf(num, sizeof(num), "%u", uid);
	if (!strcmp(want, num))
		return true;
	return getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res &&
	       !strcmp(res->pw_name, want);
}

static bool cmdline_ok(const char *pattern, const struct hn_event *ev)
{
	char line[4096];
	size_t n;

	if (!pattern)
		return true;
	if (!ev->args || ev->type != HN_EV_PROCESS_START)
		return false;
	n = ev->args_len < sizeof(line) - 1 ? ev->args_len : sizeof(line) - 1;
	memcpy(line, ev->args, n);
	while (n && line[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (line[i] == '\0')
			line[i] = ' ';
	line[n] = '\0';
	return fnmatch(pattern, line, 0) == 0;
}

bool hn_tuning_allows(const struct hn_tuning *t, const struct hn_rule_info *rule,
		      const struct hn_event *ev)
{
	const char *image = ev->type == HN_EV_PROCESS_START && ev->path ? ev->path :
			    ev->proc.executable;

	for (unsigned i = 0; t && i < t->n; i++) {
		const struct allow *a = &t->a[i];
		if (a->rule && strcmp(a->rule, rule->id) != 0)
			continue;
		if (a->image && !glob_ok(a->image, image) &&
		    !(ev->type == HN_EV_PROCESS_START && glob_ok(a->image, ev->filename)))
			continue;
		if (!user_ok(a->user, ev->proc.uid))
			continue;
		if (a->path && !glob_ok(a->path, ev->path) && !glob_ok(a->path, ev->path2))
			continue;
		if (!cmdline_ok(a->cmdline, ev))
			continue;
		return true;
	}
	return false;
}
