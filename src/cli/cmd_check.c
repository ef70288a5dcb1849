/*
 * cmd_check.c - `hinomi check`: a quick compromise assessment of this
 * host, without prior history (check/check.h; docs/CHECK.md).  Prints the
 * verdict first, then the findings by family, the persistence entries no
 * package vouches for, and what could not be looked at; or with --json
 * one JSON object.  The run is recorded as an action (kind "check").
 *
 * Exit: 0 clean, 3 suspicious, 4 compromised, 1 error, 2 usage.
 */
#include "check/check.h"
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "respond/respond.h"
#include "scan/scan.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PATHS 64
#define TEXT_ENTRIES_MAX 200

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi check [--json] [--recent DUR] [--ioc PATH]... [--no-suid]\n"
		"                    [--db PATH] [--root DIR] [--suid-root DIR]...\n"
		"                    [--suid-limit N] [--suid-time DUR]\n\n"
		"Assess this host now, without recorded history: processes run from deleted\n"
		"files, memfds, /tmp-like or hidden places, or with LD_PRELOAD; hidden or\n"
		"unusual listeners; every persistence entry (cron, at, systemd, shell rc,\n"
		"authorized_keys, ld.so.preload, sudoers, PAM, passwd/shadow, kernel modules)\n"
		"with owner, times, package and whether it is new; setuid files outside the\n"
		"system directories; running executables in IOC lists.  Ends with a verdict.\n"
		"Run as root for the full view; without, what cannot be read is listed.\n\n"
		"  -j, --json           one JSON object: verdict, counts, findings, all\n"
		"                       persistence entries, sockets, skipped, stats\n"
		"  -r, --recent DUR     an entry changed within DUR is new (default 7d)\n"
		"  -i, --ioc PATH       IOC list (file or directory), may be repeated;\n"
		"                       default $HINOMI_IOC and /etc/hinomi/ioc\n"
		"  -S, --no-suid        no setuid walk\n"
		"      --yara DIR       YARA rules for the running executables, may be\n"
		"                       repeated; default those of `hinomi scan`\n"
		"      --no-yara        no YARA on the running executables\n"
		"  -d, --db PATH        the store the run is recorded in (default %s)\n"
		"      --root DIR       read persistence places under DIR (a mounted image)\n"
		"      --suid-root DIR  walk DIR for setuid files instead of / (repeatable)\n"
		"      --suid-limit N   stop the walk after N files (default %llu)\n"
		"      --suid-time DUR  stop the walk after DUR (default %llus)\n\n"
		"Exit status: 0 clean, 3 suspicious, 4 compromised, 1 error, 2 usage.\n",
		cli_default_db(), (unsigned long long)HN_CHECK_SUID_FILES,
		(unsigned long long)(HN_CHECK_SUID_NS / 1000000000ull));
}

static void esc(struct hn_strbuf *sb, const char *s)
{
	if (s)
		cli_escape(sb, s, strlen(s));
}

static void finding_text(struct hn_strbuf *sb, const struct hn_check_finding *f)
{
	hn_strbuf_addf(sb, "  [%s]%s ", hn_check_sev_name(f->sev), f->strong ? "!" : "");
	esc(sb, f->title);
	if (f->has_new && f->is_new)
		hn_strbuf_adds(sb, " (new)");
	hn_strbuf_adds(sb, "\n      ");
	esc(sb, f->what);
	hn_strbuf_adds(sb, "\n      why: ");
	esc(sb, f->why);
	hn_strbuf_addc(sb, '\n');
	if (f->nev) {
		hn_strbuf_adds(sb, "      ");
		for (int k = 0; k < f->nev; k++) {
			if (k)
				hn_strbuf_adds(sb, "  ");
			esc(sb, f->ev[k].key);
			hn_strbuf_addc(sb, '=');
			esc(sb, f->ev[k].value);
		}
		hn_strbuf_addc(sb, '\n');
	}
}

static void family_head(struct hn_strbuf *sb, const struct hn_check_report *r,
			enum hn_check_family fam)
{
	static const char *const names[] = { "PROCESSES", "NETWORK", "PERSISTENCE", "SETUID",
					     "IOC", "YARA" };

	hn_strbuf_addf(sb, "\n%s", names[fam]);
	switch (fam) {
	case HN_CHECK_PROCESS:
		hn_strbuf_addf(sb, " (%u processes, %u kernel threads skipped)",
			       r->stats.processes, r->stats.kernel_threads);
		break;
	case HN_CHECK_NETWORK:
		hn_strbuf_addf(sb, " (%zu listening, bound, raw or packet sockets)", r->nsocks);
		break;
	case HN_CHECK_PERSISTENCE: {
		unsigned nw = 0, vouched = 0;
		for (size_t i = 0; i < r->nentries; i++) {
			nw += r->entries[i].is_new;
			vouched += r->entries[i].package &&
				   r->entries[i].modified != HN_CHECK_YES;
		}
		hn_strbuf_addf(sb, " (%zu entries, %u new, %u as their package shipped them)",
			       r->nentries, nw, vouched);
		break;
	}
	case HN_CHECK_SETUID:
		if (r->stats.suid_walked)
			hn_strbuf_addf(sb, " (%llu files looked at, %u setuid/setgid%s)",
				       (unsigned long long)r->stats.suid_files, r->stats.suid_found,
				       r->stats.suid_files_bound || r->stats.suid_time_bound ?
				       ", walk cut short" : "");
		else
			hn_strbuf_adds(sb, " (not walked)");
		break;
	case HN_CHECK_IOC:
		hn_strbuf_addf(sb, " (%u indicators, %u of %u executables hashed)",
			       r->stats.ioc_indicators, r->stats.hashed, r->stats.executables);
		break;
	default:
		break;
	}
	hn_strbuf_addc(sb, '\n');
}

static void entries_text(struct hn_strbuf *sb, const struct hn_check_report *r)
{
	unsigned shown = 0, more = 0;

	for (size_t i = 0; i < r->nentries; i++) {
		const struct hn_check_entry *e = &r->entries[i];
		char t[32];
		if (e->package && e->modified != HN_CHECK_YES)
			continue;
		if (e->target_package && !e->is_new)
			continue;   /* an old link to a packaged unit: ordinary */
		if (shown >= TEXT_ENTRIES_MAX) {
			more++;
			continue;
		}
		if (!shown++)
			hn_strbuf_adds(sb, "  entries no package vouches for (* new; old links "
				       "to packaged files left out):\n");
		hn_strbuf_addf(sb, "   %c %-15s ", e->is_new ? '*' : ' ', e->kind);
		esc(sb, e->path);
		if (e->target) {
			hn_strbuf_adds(sb, " -> ");
			esc(sb, e->target);
		}
		hn_strbuf_adds(sb, "  ");
		esc(sb, e->user);
		cli_time_str(e->mtime, t, sizeof(t));
		hn_strbuf_addf(sb, " %04o %.19s", e->mode & 07777, t);
		if (e->package)
			hn_strbuf_addf(sb, " %s, modified", e->package);
		if (e->note) {
			hn_strbuf_adds(sb, "  (");
			esc(sb, e->note);
			hn_strbuf_addc(sb, ')');
		}
		hn_strbuf_addc(sb, '\n');
	}
	if (more)
		hn_strbuf_addf(sb, "   ... %u more (--json lists every entry)\n", more);
}

static void report_text(struct hn_strbuf *sb, const struct hn_check_report *r)
{
	char t[32];
	bool any = false, strong = false;

	cli_time_str(r->time, t, sizeof(t));
	hn_strbuf_adds(sb, "hinomi check: ");
	esc(sb, r->host);
	hn_strbuf_addf(sb, ", %.19s (%.1f s%s)\n\n", t, (double)r->duration_ns / 1e9,
		       r->root ? ", as root" : ", NOT as root: partial view");
	hn_strbuf_addf(sb, "VERDICT: %s  (%u critical, %u high, %u medium, %u low, %u info)\n",
		       r->verdict == HN_CHECK_COMPROMISED ? "COMPROMISED" :
		       r->verdict == HN_CHECK_SUSPICIOUS ? "SUSPICIOUS" : "CLEAN",
		       r->counts[HN_CHECK_CRITICAL], r->counts[HN_CHECK_HIGH],
		       r->counts[HN_CHECK_MEDIUM], r->counts[HN_CHECK_LOW],
		       r->counts[HN_CHECK_INFO]);
	for (size_t k = 0; k < r->nfindings * HN_CHECK_SEV_COUNT; k++) {
		/* worst first */
		const struct hn_check_finding *f = &r->findings[k % r->nfindings];
		if (!f->driver ||
		    f->sev != (enum hn_check_sev)(HN_CHECK_CRITICAL - k / r->nfindings))
			continue;
		if (!any)
			hn_strbuf_adds(sb, "  because of:\n");
		any = true;
		hn_strbuf_addf(sb, "    %-8s ", hn_check_sev_name(f->sev));
		esc(sb, f->title);
		hn_strbuf_adds(sb, ": ");
		esc(sb, f->what);
		hn_strbuf_addc(sb, '\n');
	}
	for (int fam = 0; fam < HN_CHECK_FAMILY_COUNT; fam++) {
		family_head(sb, r, (enum hn_check_family)fam);
		for (size_t i = 0; i < r->nfindings; i++)
			if (r->findings[i].family == (enum hn_check_family)fam)
				finding_text(sb, &r->findings[i]);
		if (fam == HN_CHECK_PERSISTENCE)
			entries_text(sb, r);
	}
	if (r->nskipped) {
		hn_strbuf_adds(sb, "\nNOT LOOKED AT\n");
		for (size_t i = 0; i < r->nskipped; i++) {
			hn_strbuf_adds(sb, "  - ");
			esc(sb, r->skipped[i]);
			hn_strbuf_addc(sb, '\n');
		}
	}
	for (size_t i = 0; i < r->nfindings; i++)
		strong |= r->findings[i].strong;
	hn_strbuf_addf(sb, "\n%sExit status %d (%s).\n",
		       strong ? "[severity]! = strong evidence.  " : "",
		       hn_check_exit_code(r->verdict), hn_check_verdict_name(r->verdict));
}

int cmd_check(int argc, char **argv)
{
	enum { O_ROOT = 256, O_SUID_ROOT, O_SUID_LIMIT, O_SUID_TIME, O_PROC, O_SYS, O_YARA,
	       O_NO_YARA };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "recent", required_argument, NULL, 'r' },
		{ "ioc", required_argument, NULL, 'i' },
		{ "no-suid", no_argument, NULL, 'S' },
		{ "yara", required_argument, NULL, O_YARA },
		{ "no-yara", no_argument, NULL, O_NO_YARA },
		{ "db", required_argument, NULL, 'd' },
		{ "root", required_argument, NULL, O_ROOT },
		{ "suid-root", required_argument, NULL, O_SUID_ROOT },
		{ "suid-limit", required_argument, NULL, O_SUID_LIMIT },
		{ "suid-time", required_argument, NULL, O_SUID_TIME },
		/* for tests: a fake /proc and /sys (docs/CHECK.md) */
		{ "proc", required_argument, NULL, O_PROC },
		{ "sys", required_argument, NULL, O_SYS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db(), *iocs[MAX_PATHS], *roots[MAX_PATHS], *yara[MAX_PATHS];
	struct hn_scan_rules *yr = NULL;
	char near[4200], ycache[4200];
	int nyara = 0;
	bool no_yara = false;
	struct hn_check_opts o = { 0 };
	struct hn_check_report *rep = NULL;
	struct hn_respond resp;
	struct hn_strbuf sb, detail;
	bool json = false, recorded = false;
	char err[512], summary[256];
	int64_t act = 0;
	int c, rc;
	char *end;

	while ((c = getopt_long(argc, argv, "jr:i:Sd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'r':
			if (cli_parse_duration(optarg, &o.recent_ns) < 0 || !o.recent_ns) {
				fprintf(stderr, "hinomi check: bad duration '%s'\n", optarg);
				return 2;
			}
			break;
		case 'i':
			if (o.nioc >= MAX_PATHS) {
				fprintf(stderr, "hinomi check: at most %d --ioc\n", MAX_PATHS);
				return 2;
			}
			iocs[o.nioc++] = optarg;
			break;
		case 'S': o.no_suid = true; break;
		case O_YARA:
			if (nyara >= MAX_PATHS) {
				fprintf(stderr, "hinomi check: at most %d --yara\n", MAX_PATHS);
				return 2;
			}
			yara[nyara++] = optarg;
			break;
		case O_NO_YARA: no_yara = true; break;
		case 'd': db = optarg; break;
		case O_ROOT: o.root = optarg; break;
		case O_PROC: o.proc = optarg; break;
		case O_SYS: o.sys = optarg; break;
		case O_SUID_ROOT:
			if (o.nsuid_roots >= MAX_PATHS) {
				fprintf(stderr, "hinomi check: at most %d --suid-root\n", MAX_PATHS);
				return 2;
			}
			roots[o.nsuid_roots++] = optarg;
			break;
		case O_SUID_LIMIT:
			errno = 0;
			o.suid_max_files = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || !o.suid_max_files) {
				fprintf(stderr, "hinomi check: bad --suid-limit '%s'\n", optarg);
				return 2;
			}
			break;
		case O_SUID_TIME:
			if (cli_parse_duration(optarg, &o.suid_max_ns) < 0 || !o.suid_max_ns) {
				fprintf(stderr, "hinomi check: bad duration '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	o.iocs = iocs;
	o.suid_roots = roots;

	/* the record: begun before the check, finished with its verdict */
	if (hn_respond_open(&resp, db) < 0) {
		fprintf(stderr, "hinomi check: the run is not recorded: %s\n", resp.err);
	} else {
		char host[256] = "";
		gethostname(host, sizeof(host) - 1);
		if (hn_act_begin(&resp, "check", host, 0, &act) < 0)
			fprintf(stderr, "hinomi check: the run is not recorded: %s\n", resp.err);
		else
			recorded = true;
	}
	/* YARA rules for the running executables: the scan's own places */
	if (!no_yara) {
		if (!nyara)
			nyara = hn_scan_default_rules(yara, near, sizeof(near));
		ycache[0] = '\0';
		if (resp.state_dir[0] && access(resp.state_dir, W_OK) == 0)
			snprintf(ycache, sizeof(ycache), "%s/yara", resp.state_dir);
		if (nyara && hn_scan_rules_load(yara, nyara, ycache[0] ? ycache : NULL, NULL, NULL,
						&yr) < 0)
			fprintf(stderr, "hinomi check: the YARA rules did not load; running "
				"executables are checked against IOC hashes only\n");
		o.yara = yr;
	}
	rc = hn_check_run(&o, &rep, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hinomi check: %s\n", err);
		if (recorded)
			hn_act_end(&resp, act, "failed", err, NULL);
		hn_respond_close(&resp);
		hn_scan_rules_free(yr);
		return 1;
	}
	hn_strbuf_init(&sb);
	hn_strbuf_init(&detail);
	if (recorded) {
		snprintf(summary, sizeof(summary),
			 "verdict %s: %u critical, %u high, %u medium, %u low, %u info",
			 hn_check_verdict_name(rep->verdict), rep->counts[HN_CHECK_CRITICAL],
			 rep->counts[HN_CHECK_HIGH], rep->counts[HN_CHECK_MEDIUM],
			 rep->counts[HN_CHECK_LOW], rep->counts[HN_CHECK_INFO]);
		if (hn_check_summary_json(rep, &detail) < 0 ||
		    hn_act_end(&resp, act, "done", summary, detail.buf) < 0)
			fprintf(stderr, "hinomi check: the run's record is incomplete: %s\n",
				resp.err[0] ? resp.err : "out of memory");
	}
	hn_respond_close(&resp);
	hn_scan_rules_free(yr);
	if (json) {
		rc = hn_check_json(rep, &sb);
		hn_strbuf_addc(&sb, '\n');
	} else {
		report_text(&sb, rep);
		rc = sb.oom ? -ENOMEM : 0;
	}
	if (rc < 0 || sb.oom) {
		fprintf(stderr, "hinomi check: cannot render the report: out of memory\n");
		rc = 1;
	} else if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len || fflush(stdout) != 0) {
		fprintf(stderr, "hinomi check: cannot write the report\n");
		rc = 1;
	} else {
		rc = hn_check_exit_code(rep->verdict);
	}
	hn_strbuf_release(&sb);
	hn_strbuf_release(&detail);
	hn_check_report_free(rep);
	return rc;
}
