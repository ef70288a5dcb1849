/*
 * yara.c - YARA rules on the running executables (scan.h): each distinct
 * executable is scanned once, through PROC/PID/exe (which reads a deleted
 * file or a memfd too), and each matching rule is a finding.  Without
 * rules (none found, or --no-yara) it says so as an info finding and
 * never pretends to have scanned.
 */
#include "check/check_int.h"
#include "scan/scan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct yctx {
	struct check_ctx *c;
	const struct chk_exe *exe;
	unsigned hits, errors;
};

static enum hn_check_sev sev_of(const char *level)
{
	if (!level)
		return HN_CHECK_HIGH;
	if (!strcmp(level, "critical"))
		return HN_CHECK_CRITICAL;
	if (!strcmp(level, "medium"))
		return HN_CHECK_MEDIUM;
	if (!strcmp(level, "low"))
		return HN_CHECK_LOW;
	if (!strcmp(level, "informational") || !strcmp(level, "info"))
		return HN_CHECK_INFO;
	return HN_CHECK_HIGH;
}

static void on_hit(const struct hn_scan_hit *h, void *arg)
{
	struct yctx *y = arg;
	struct hn_check_finding *f;
	enum hn_check_sev sev;
	char what[600], title[300];

	if (h->kind != HN_SCAN_HIT_YARA)
		return;   /* IOC hashes are iocexe.c's */
	sev = sev_of(h->level);
	snprintf(title, sizeof(title), "running executable matches YARA rule %s",
		 h->rule ? h->rule : "?");
	snprintf(what, sizeof(what), "pid %u %s", y->exe->pid,
		 y->exe->path ? y->exe->path : "?");
	f = chk_find(y->c, HN_CHECK_YARA, sev, sev >= HN_CHECK_HIGH, "yara.match", title, what,
		     h->description && h->description[0] ? h->description :
		     "A YARA rule matched the program this process runs.");
	y->hits++;
	if (!f)
		return;
	f->pid = y->exe->pid;
	if (y->exe->path)
		f->path = chk_strdup(y->c, y->exe->path);
	chk_ev(y->c, f, "rule", "%s:%s", h->ns ? h->ns : "", h->rule ? h->rule : "");
	if (h->rule_path)
		chk_ev(y->c, f, "rule_file", "%s", h->rule_path);
	if (h->tags && h->tags[0])
		chk_ev(y->c, f, "tags", "%s", h->tags);
	for (unsigned i = 0; i < h->nstrings && i < 4; i++)
		chk_ev(y->c, f, "string", "%s at %llu", h->strings[i].id ? h->strings[i].id : "?",
		       (unsigned long long)h->strings[i].offset);
}

static void on_error(const char *path, uint32_t pid, int err, const char *what, void *arg)
{
	struct yctx *y = arg;

	(void)pid;
	y->errors++;
	chk_skip(y->c, "YARA could not scan %s: %s%s%s", path, strerror(err), what ? ": " : "",
		 what ? what : "");
}

int check_yara_exes(struct check_ctx *c)
{
	struct yctx y = { .c = c };

	if (!c->o->yara) {
		chk_find(c, HN_CHECK_YARA, HN_CHECK_INFO, false, "yara.unavailable",
			 "YARA: no rules", "running executables",
			 "No YARA rules were loaded (none found, or --no-yara): running "
			 "executables were checked against IOC hashes only.");
		return 0;
	}
	for (size_t i = 0; i < c->nexes; i++) {
		struct hn_scan_opts so = {
			.rules = c->o->yara,
			.threads = 1,
			.hit = on_hit,
			.error = on_error,
			.arg = &y,
		};
		struct hn_scan_stats st = { 0 };
		char path[CHK_DIR + 32];
		const char *paths[1] = { path };

		snprintf(path, sizeof(path), "%s/%u/exe", c->proc, c->exes[i].pid);
		y.exe = &c->exes[i];
		/* errors are reported through on_error (a skipped note) */
		hn_scan_files(&so, paths, 1, &st);
	}
	return 0;
}
