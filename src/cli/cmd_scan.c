/*
 * cmd_scan.c - `hinomi scan (PATH... | --all | --processes)`: files and
 * running processes' memory against YARA rules and the IOC lists' file
 * hashes (src/scan/), the hits recorded as alerts and the scan as an
 * action in the store; docs/SCAN.md.
 *
 * The store (read-write, like the response commands) also keeps the
 * rescan cache: files found clean are written in batches of CLEAN_BATCH
 * rows (from the scan's report callback: one writer at a time), and the
 * next scan with the same rule and IOC versions reads them all into a hash
 * set before it starts.  --no-store scans without a store: nothing is
 * recorded and nothing skipped.
 *
 * Exit status: 0 nothing found, 3 something found (hits printed and
 * recorded), 1 an error (the store, the rules, a PATH that cannot be
 * scanned; errors inside a tree are counted and shown, not fatal),
 * 2 usage, 130 interrupted.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "ioc/ioc.h"
#include "respond/respond.h"
#include "scan/scan.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RULES_MAX     64
#define IOCS_MAX      64
#define CLEAN_BATCH   4096
#define ERRORS_SHOWN  100
#define CLEAN_MAX_AGE_NS (90ULL * 86400ULL * 1000000000ULL)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi scan [--rules DIR]... [--ioc PATH]... [--no-ioc] [--max-size N]\n"
		"                   [--threads N]"
 " [--no-cache] [--json] [--db PATH | --no-store]\n"
		"                   (PATH... | --all | --processes)\n\n"
		"Scan files (directories recursively) or running processes' memory with\n"
		"YARA rules, and files' hashes against the IOC lists.  Every hit is printed\n"
		"and recorded in the store as an alert; the scan itself as an action.\n"
		"A file found clean is not scanned again while it and the rules and lists\n"
		"stay the same.\n\n"
		"  -r, --rules DIR    YARA rules (*.yar, *.yara; a file or a directory); may be\n"
		"                     repeated.  Default: rules/yara of a build tree, else\n"
		"                     /usr/share/hinomi/yara, and /etc/hinomi/yara\n"
		"  -i, --ioc PATH     IOC lists (CSV, MISP, STIX); may be repeated.  Default:\n"
		"                     $HINOMI_IOC and /etc/hinomi/ioc, where they exist\n"
		"  -I, --no-ioc       no IOC lists (YARA only)\n"
		"  -m, --max-size N   skip files larger than N bytes (K, M, G suffixes;\n"
		"                     default 64M); counted\n"
		"  -t, --threads N    scanning threads (default: the online CPUs; at most 32)\n"
		"  -n, --no-cache     scan every file, even those clean at the last scan\n"
		"                     (--rescan-all)\n"
		"  -a, --all          the whole file system from / (not /proc, /sys, /dev,\n"
		"                     /run, nor pseudo file systems); needs root\n"
		"  -p, --processes    every running process's memory; needs root\n"
		"  -j, --json         NDJSON: one object per hit, then a summary object\n"
		"  -d, --db PATH      the store (default %s)\n"
		"  -N, --no-store     record nothing (no alerts, no action, no cache)\n\n"
		"Exit status: 0 nothing found, 3 something found, 1 error, 2 usage,\n"
		"130 interrupted.\n",
		cli_default_db());
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct scan_cli {
	bool json, tty;
	struct hn_respond resp;
	bool have_store;
	const char *rules_version;
	char ioc_version[65];
	struct hn_scan_clean *clean;     /* batch not yet written */
	unsigned nclean;
	struct hn_scan_clean *dirty;     /* files with hits: forgotten */
	unsigned ndirty, capdirty;
	unsigned errors_shown;
	uint64_t store_errors;
	bool progress_shown;
	struct hn_strbuf sb;
};

static void store_error(struct scan_cli *c, const char *what)
{
	if (!c->store_errors++)
		fprintf(stderr, "hinomi scan: %s: %s\n", what, hn_store_errmsg(c->resp.store));
}

static void flush_clean(struct scan_cli *c)
{
	if (c->nclean && c->have_store &&
	    hn_store_scan_clean_put(c->resp.store, c->rules_version, c->ioc_version, c->clean,
				    c->nclean, cli_now_ns()) < 0)
		store_error(c, "cannot record clean files");
	c->nclean = 0;
}

static void clear_progress(struct scan_cli *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = false;
	}
}

static void on_clean(const char *path, const struct hn_scan_ident *id, void *arg)
{
	struct scan_cli *c = arg;

	(void)path;
	if (!c->have_store)
		return;
	c->clean[c->nclean++] = (struct hn_scan_clean){ id->dev, id->ino, id->size,
							id->mtime_ns, id->ctime_ns };
	if (c->nclean == CLEAN_BATCH)
		flush_clean(c);
}

static void hit_text(struct scan_cli *c, const struct hn_scan_hit *h, const struct hn_alert *a)
{
	hn_strbuf_reset(&c->sb);
	if (h->pid) {
		hn_strbuf_addf(&c->sb, "pid %u ", h->pid);
		cli_escape(&c->sb, h->path && *h->path ? h->path : h->comm ? h->comm : "?",
			   strlen(h->path && *h->path ? h->path : h->comm ? h->comm : "?"));
	} else {
		cli_escape(&c->sb, h->path, strlen(h->path));
	}
	hn_strbuf_adds(&c->sb, "  ");
	cli_escape(&c->sb, a->rule_id, strlen(a->rule_id));
	hn_strbuf_addf(&c->sb, "  %s  ", a->rule_level);
	cli_escape(&c->sb, a->rule_tags ? a->rule_tags : "", strlen(a->rule_tags ? a->rule_tags : ""));
}

static void hit_json(struct scan_cli *c, const struct hn_scan_hit *h, const struct hn_alert *a)
{
	struct hn_json j;

	hn_strbuf_reset(&c->sb);
	hn_json_begin(&j, &c->sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "type", "hit");
	hn_json_kv_str(&j, "kind", h->kind == HN_SCAN_HIT_IOC ? "ioc" : "yara");
	if (h->pid)
		hn_json_kv_u64(&j, "pid", h->pid);
	hn_json_kv_str(&j, "path", h->path);
	hn_json_obj_open(&j, "rule");
	hn_json_kv_str(&j, "id", a->rule_id);
	hn_json_kv_str(&j, "name", a->rule_title);
	hn_json_kv_str(&j, "level", a->rule_level);
	hn_json_kv_str(&j, "author", a->rule_author);
	hn_json_kv_str(&j, "file", a->rule_path);
	hn_json_arr_open(&j, "tags");
	for (const char *t = a->rule_tags; t && *t;) {
		size_t n = strcspn(t, ",");
		hn_json_arr_str(&j, t, n);
		t += n + (t[n] == ',');
	}
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	hn_json_kv_raw(&j, "event", a->event_json);
	hn_json_obj_close(&j);
	hn_json_end(&j);
}

static void on_hit(const struct hn_scan_hit *h, void *arg)
{
	struct scan_cli *c = arg;
	struct hn_scan_alert sa;

	clear_progress(c);
	if (hn_scan_alert_make(h, cli_now_ns(), &sa) < 0) {
		fprintf(stderr, "hinomi scan: out of memory reporting a hit\n");
		return;
	}
	if (c->json)
		hit_json(c, h, &sa.a);
	else
		hit_text(c, h, &sa.a);
	cli_put_line(&c->sb);
	fflush(stdout);
	if (c->have_store && hn_store_alert_put(c->resp.store, &sa.a) < 0)
		store_error(c, "cannot record an alert");
	if (h->file && c->have_store) {
		if (c->ndirty == c->capdirty) {
			unsigned cap = c->capdirty ? c->capdirty * 2 : 64;
			struct hn_scan_clean *v = realloc(c->dirty, cap * sizeof(*v));
			if (v) {
				c->dirty = v;
				c->capdirty = cap;
			}
		}
		if (c->ndirty < c->capdirty)
			c->dirty[c->ndirty++] = (struct hn_scan_clean){ h->file->dev, h->file->ino,
									0, 0, 0 };
	}
	hn_scan_alert_release(&sa);
}

static void on_error(const char *path, uint32_t pid, int err, const char *what, void *arg)
{
	struct scan_cli *c = arg;

	if (c->errors_shown >= ERRORS_SHOWN)
		return;
	clear_progress(c);
	hn_strbuf_reset(&c->sb);
	if (pid)
		hn_strbuf_addf(&c->sb, "pid %u ", pid);
	cli_escape(&c->sb, path ? path : "?", strlen(path ? path : "?"));
	fprintf(stderr, "hinomi scan: %s: %s\n", c->sb.buf ? c->sb.buf : "?",
		what ? what : strerror(err));
	if (++c->errors_shown == ERRORS_SHOWN)
		fprintf(stderr, "hinomi scan: further errors are counted, not shown\n");
}

static void on_progress(const struct hn_scan_stats *st, void *arg)
{
	struct scan_cli *c = arg;

	if (!c->tty)
		return;
	fprintf(stderr, "\r\033[K  %llu files, %.1f MB, %llu hits, %llu unchanged, %.1f s",
		(unsigned long long)(st->files + st->procs), (double)st->bytes / 1e6,
		(unsigned long long)st->hits, (unsigned long long)st->unchanged, st->seconds);
	c->progress_shown = true;
}

static void on_rule_problem(const struct hn_scan_rule_problem *p, void *arg)
{
	(void)arg;
	if (p->line)
		fprintf(stderr, "hinomi scan: %s:%d: %s: %s\n", p->path, p->line,
			p->warning ? "warning" : "error", p->why);
	else
		fprintf(stderr, "hinomi scan: %s: %s%s\n", p->path, p->warning ? "warning: " : "",
			p->why);
}

static void on_ioc_problem(const struct hn_ioc_problem *p, void *arg)
{
	(void)p;
	(void)arg;   /* counted by the set; `hinomi ioc check` lists them */
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		mult = 1ULL << 10;
	else if (*end == 'M' || *end == 'm')
		mult = 1ULL << 20;
	else if (*end == 'G' || *end == 'g')
		mult = 1ULL << 30;
	else if (*end)
		return -EINVAL;
	if (*end && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out = v * mult;
	return 0;
}

static int load_clean(const struct hn_scan_clean *row, void *arg)
{
	struct hn_scan_ident id = { row->dev, row->ino, row->size, row->mtime_ns, row->ctime_ns };

	return hn_scan_cache_add(arg, &id) < 0 ? -ENOMEM : 0;
}

static void summary_members(struct hn_json *j, const struct hn_scan_stats *st,
			    const char *rv, const char *iv, const struct hn_scan_rules_stats *rs,
			    unsigned threads, uint64_t max_size)
{
	hn_json_kv_u64(j, "files", st->files);
	hn_json_kv_u64(j, "bytes", st->bytes);
	hn_json_kv_u64(j, "same_content", st->same_content);
	hn_json_kv_u64(j, "ms", (uint64_t)(st->seconds * 1000.0));
	hn_json_kv_u64(j, "mb_per_s_x100",
		       st->seconds > 0 ? (uint64_t)((double)st->bytes / 1e6 / st->seconds * 100.0) : 0);
	hn_json_kv_u64(j, "hits", st->hits);
	hn_json_kv_u64(j, "files_hit", st->files_hit);
	hn_json_kv_u64(j, "skipped_unchanged", st->unchanged);
	hn_json_kv_u64(j, "skipped_too_big", st->too_big);
	hn_json_kv_u64(j, "skipped_special", st->special);
	hn_json_kv_u64(j, "skipped_pseudo", st->pseudo);
	hn_json_kv_u64(j, "skipped_ours", st->ours);
	hn_json_kv_u64(j, "too_deep", st->too_deep);
	hn_json_kv_u64(j, "racy", st->racy);
	hn_json_kv_u64(j, "errors", st->errors);
	hn_json_kv_u64(j, "processes", st->procs);
	hn_json_kv_u64(j, "processes_gone", st->procs_gone);
	hn_json_kv_u64(j, "processes_skipped", st->procs_skipped);
	hn_json_kv_u64(j, "process_regions_skipped", st->proc_regions_skipped);
	hn_json_kv_str(j, "rules_version", rv);
	hn_json_kv_str(j, "ioc_version", iv);
	hn_json_kv_u64(j, "rule_files", rs->files);
	hn_json_kv_u64(j, "rule_files_bad", rs->files_bad);
	hn_json_kv_u64(j, "rules", rs->rules);
	hn_json_kv_bool(j, "rules_from_cache", rs->from_cache);
	hn_json_kv_u64(j, "threads", threads);
	hn_json_kv_u64(j, "max_size", max_size);
}

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "ioc", required_argument, NULL, 'i' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "no-cache", no_argument, NULL, 'n' },
		{ "rescan-all", no_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		{ "processes", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "no-store", no_argument, NULL, 'N' },
		{ "no-ioc", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	const char *rules[RULES_MAX], *iocs[IOCS_MAX];
	int nrules = 0, nioc = 0, o, rc = 1, scan_rc = 0;
	uint64_t max_size = HN_SCAN_MAX_SIZE_DEFAULT;
	unsigned threads = 0;
	bool no_cache = false, all = false, procs = false, no_store = false, no_ioc = false;
	struct scan_cli c = { 0 };
	struct hn_scan_rules *yr = NULL;
	struct hn_scan_rules_stats rs = { 0 };
	struct hn_ioc_set *ioc = NULL;
	struct hn_scan_cache *cache = NULL;
	struct hn_scan_stats st = { 0 };
	struct hn_scan_opts so = { 0 };
	struct sigaction sa = { 0 }, old_int, old_term;
	char near[PATH_MAX + 32], cache_dir[4200], target[4096];
	int64_t act = 0;
	bool have_hashes, act_open = false;

	while ((o = getopt_long(argc, argv, "r:i:m:t:napjd:NIh", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			if (nrules == RULES_MAX) {
				fprintf(stderr, "hinomi scan: at most %d --rules\n", RULES_MAX);
				return 2;
			}
			rules[nrules++] = optarg;
			break;
		case 'i':
			if (nioc == IOCS_MAX) {
				fprintf(stderr, "hinomi scan: at most %d --ioc\n", IOCS_MAX);
				return 2;
			}
			iocs[nioc++] = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &max_size) < 0 || !max_size) {
				fprintf(stderr, "hinomi scan: bad size '%s'\n", optarg);
				return 2;
			}
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 1 || v > HN_SCAN_THREADS_MAX) {
				fprintf(stderr, "hinomi scan: --threads wants 1..%d\n",
					HN_SCAN_THREADS_MAX);
				return 2;
			}
			threads = (unsigned)v;
			break;
		}
		case 'n': no_cache = true; break;
		case 'a': all = true; break;
		case 'p': procs = true; break;
		case 'j': c.json = true; break;
		case 'd': db = optarg; break;
		case 'N': no_store = true; break;
		case 'I': no_ioc = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((optind < argc && all) || (optind >= argc && !all && !procs)) {
		usage(stderr);
		return 2;
	}
	if ((all || procs) && geteuid() != 0) {
		fprintf(stderr, "hinomi scan: %s needs root\n", all ? "--all" : "--processes");
		return 1;
	}
	c.tty = isatty(STDERR_FILENO);
	hn_strbuf_init(&c.sb);

	/* the store first: its directory is the state directory (the cache) */
	if (!no_store) {
		if (hn_respond_open(&c.resp, db) < 0) {
			fprintf(stderr, "hinomi scan: %s\n", c.resp.err);
			goto out;
		}
		c.have_store = true;
	} else if (hn_respond_state_dir(db, c.resp.state_dir, sizeof(c.resp.state_dir)) < 0) {
		c.resp.state_dir[0] = '\0';
	}
	cache_dir[0] = '\0';
	if (c.resp.state_dir[0] && access(c.resp.state_dir, W_OK) == 0)
		snprintf(cache_dir, sizeof(cache_dir), "%s/yara", c.resp.state_dir);

	/* rules, and IOC lists */
	if (!nrules)
		nrules = hn_scan_default_rules(rules, near, sizeof(near));
	if (nrules) {
		int r = hn_scan_rules_load(rules, nrules, cache_dir[0] ? cache_dir : NULL,
					   on_rule_problem, NULL, &yr);
		if (r == -ENOENT)
			fprintf(stderr, "hinomi scan: no YARA rule file in the rule paths\n");
		else if (r == -EINVAL)
			fprintf(stderr, "hinomi scan: no YARA rule file compiled\n");
		else if (r < 0) {
			fprintf(stderr, "hinomi scan: cannot load the rules: %s\n", strerror(-r));
			goto out;
		}
	}
	hn_scan_rules_stats(yr, &rs);
	ioc = hn_ioc_set_new();
	if (!ioc) {
		fprintf(stderr, "hinomi scan: out of memory\n");
		goto out;
	}
	if (nioc && no_ioc) {
		fprintf(stderr, "hinomi scan: --ioc and --no-ioc together\n");
		rc = 2;
		goto out;
	}
	if (nioc) {
		for (int i = 0; i < nioc; i++) {
			int r = hn_ioc_load(ioc, iocs[i], on_ioc_problem, NULL);
			if (r < 0) {
				fprintf(stderr, "hinomi scan: cannot read IOC list %s: %s\n", iocs[i],
					strerror(-r));
				goto out;
			}
		}
	} else if (!no_ioc) {
		const char *env = getenv("HINOMI_IOC");
		if (env && *env && access(env, R_OK) == 0)
			hn_ioc_load(ioc, env, on_ioc_problem, NULL);
		if (access("/etc/hinomi/ioc", R_OK) == 0)
			hn_ioc_load(ioc, "/etc/hinomi/ioc", on_ioc_problem, NULL);
	}
	have_hashes = hn_ioc_has(ioc, HN_IOC_SHA256) || hn_ioc_has(ioc, HN_IOC_SHA1) ||
		      hn_ioc_has(ioc, HN_IOC_MD5);
	if (!yr && (!have_hashes || procs)) {
		fprintf(stderr, "hinomi scan: nothing to scan with: no YARA rules%s\n",
			procs ? "" : " and no IOC hashes");
		goto out;
	}
	hn_scan_ioc_version(ioc, c.ioc_version);
	c.rules_version = yr ? hn_scan_rules_version(yr) : "";

	/* the clean files of the last scans with these versions */
	if (c.have_store) {
		c.clean = calloc(CLEAN_BATCH, sizeof(*c.clean));
		if (!c.clean) {
			fprintf(stderr, "hinomi scan: out of memory\n");
			goto out;
		}
	}
	if (c.have_store && !no_cache && (optind < argc || all)) {
		int r;

		cache = hn_scan_cache_new();
		if (!cache) {
			fprintf(stderr, "hinomi scan: out of memory\n");
			goto out;
		}
		r = hn_store_scan_clean_load(c.resp.store, c.rules_version, c.ioc_version,
					     load_clean, cache);
		if (r < 0 && r != -ENOENT) {
			fprintf(stderr, "hinomi scan: cannot read the scan cache: %s\n",
				r == -ENOMEM ? "out of memory" : hn_store_errmsg(c.resp.store));
			goto out;
		}
	}

	/* the action: what was asked */
	{
		size_t k = 0;

		target[0] = '\0';
		if (all)
			k += (size_t)snprintf(target + k, sizeof(target) - k, "--all");
		for (int i = optind; i < argc && k < sizeof(target); i++)
			k += (size_t)snprintf(target + k, sizeof(target) - k, "%s%s", k ? " " : "",
					      argv[i]);
		if (procs && k < sizeof(target))
			snprintf(target + k, sizeof(target) - k, "%s--processes", k ? " " : "");
	}
	if (c.have_store) {
		if (hn_act_begin(&c.resp, "scan", target, 0, &act) < 0) {
			fprintf(stderr, "hinomi scan: %s\n", c.resp.err);
			goto out;
		}
		act_open = true;
	}

	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	so.rules = yr;
	so.ioc = have_hashes ? ioc : NULL;
	so.max_size = max_size;
	so.threads = threads;
	so.cache = cache;
	so.hit = on_hit;
	so.clean = on_clean;
	so.error = on_error;
	so.progress = on_progress;
	so.arg = &c;
	so.stop = &stop_flag;
	if (all || optind < argc) {
		static const char *const root[] = { "/" };
		const char *const *paths = all ? root : (const char *const *)argv + optind;
		int n = all ? 1 : argc - optind;

		scan_rc = hn_scan_files(&so, paths, n, &st);
	}
	if (procs && !stop_flag) {
		int r = hn_scan_procs(&so, &st);
		if (r < 0) {
			fprintf(stderr, "hinomi scan: cannot scan processes: %s\n", strerror(-r));
			if (!scan_rc)
				scan_rc = r;
		}
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	clear_progress(&c);
	flush_clean(&c);
	if (c.have_store && c.ndirty &&
	    hn_store_scan_clean_forget(c.resp.store, c.dirty, c.ndirty) < 0)
		store_error(&c, "cannot update the scan cache");
	if (c.have_store && hn_store_scan_clean_prune(c.resp.store, cli_now_ns() - CLEAN_MAX_AGE_NS) < 0)
		store_error(&c, "cannot prune the scan cache");

	/* the summary: printed, and the action's detail */
	{
		struct hn_strbuf det;
		struct hn_json j;
		unsigned nthreads = threads;
		char line[512];

		if (!nthreads) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);
			nthreads = n > 0 ? (unsigned)(n > HN_SCAN_THREADS_MAX ? HN_SCAN_THREADS_MAX : n) : 1;
		}
		hn_strbuf_init(&det);
		hn_json_begin(&j, &det);
		hn_json_obj_open(&j, NULL);
		summary_members(&j, &st, c.rules_version, c.ioc_version, &rs, nthreads, max_size);
		hn_json_obj_close(&j);
		hn_json_end(&j);
		snprintf(line, sizeof(line), "%llu files (%.1f MB), %llu processes, %llu hits; "
			 "%llu unchanged, %llu too big, %llu errors",
			 (unsigned long long)st.files, (double)st.bytes / 1e6,
			 (unsigned long long)st.procs, (unsigned long long)st.hits,
			 (unsigned long long)st.unchanged, (unsigned long long)st.too_big,
			 (unsigned long long)st.errors);
		if (act_open && hn_act_end(&c.resp, act, stop_flag ? "partial" : "done", line,
					   det.oom ? NULL : det.buf) < 0)
			fprintf(stderr, "hinomi scan: %s\n", c.resp.err);
		if (c.json) {
			hn_strbuf_reset(&c.sb);
			hn_json_begin(&j, &c.sb);
			hn_json_obj_open(&j, NULL);
			hn_json_kv_str(&j, "type", "summary");
			summary_members(&j, &st, c.rules_version, c.ioc_version, &rs, nthreads,
					max_size);
			if (act > 0)
				hn_json_kv_i64(&j, "action", act);
			hn_json_obj_close(&j);
			hn_json_end(&j);
			cli_put_line(&c.sb);
		} else {
			double mb = (double)st.bytes / 1e6;
			printf("scanned %llu files, %.1f MB in %.2f s (%.1f MB/s)",
			       (unsigned long long)st.files, mb, st.seconds,
			       st.seconds > 0 ? mb / st.seconds : 0.0);
			if (procs)
				printf(", %llu processes", (unsigned long long)st.procs);
			printf("; %llu hits in %llu %s\n", (unsigned long long)st.hits,
			       (unsigned long long)st.files_hit, procs && !all && optind >= argc ?
			       "processes" : "files");
			printf("skipped: %llu unchanged, %llu too big, %llu not regular, %llu pseudo or"
			       " system, %llu rule files; %llu errors",
			       (unsigned long long)st.unchanged, (unsigned long long)st.too_big,
			       (unsigned long long)st.special, (unsigned long long)st.pseudo,
			       (unsigned long long)st.ours, (unsigned long long)st.errors);
			if (rs.files_bad)
				printf("; %u rule files left out", rs.files_bad);
			if (act > 0)
				printf("; action #%lld", (long long)act);
			printf("\n");
		}
		hn_strbuf_release(&det);
	}
	fflush(stdout);
	if (stop_flag)
		rc = 130;
	else if (st.hits)
		rc = 3;
	else if (scan_rc < 0 || c.store_errors)
		rc = 1;
	else
		rc = 0;
out:
	hn_scan_cache_free(cache);
	hn_ioc_set_free(ioc);
	hn_scan_rules_free(yr);
	free(c.clean);
	free(c.dirty);
	hn_strbuf_release(&c.sb);
	if (c.have_store)
		hn_respond_close(&c.resp);
	return rc;
}
