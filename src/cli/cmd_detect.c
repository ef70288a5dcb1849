/*
 * cmd_detect.c - `hinomi detect --rules PATH... --ioc PATH... (--input FILE |
 * --db PATH)`: Sigma rules and IOC lists over recorded events, offline: an
 * ECS NDJSON file (as `hinomi events --json` writes it; "-" is standard
 * input) or a store.  IOC lists match what events show: the SHA-256 of a
 * process start's executable, the remote address of a connection, a DNS
 * query's name (written files' hashes are not in events).
 * The alerts are grouped as the agent groups them (per rule and process
 * tree, with a count) and printed oldest first, as lines or ECS JSON.
 * Correlation rules run over the events' own times, as in the agent;
 * windows still open when the input ends are left undecided (counted).
 *
 * A line that is not an event is reported with its number and skipped;
 * the run goes on.  Exit status: 0 (alerts or not), 1 when the input or
 * the rules cannot be read, 2 on a usage error.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "detect/detect.h"
#include "event/ecs.h"
#include "ioc/ioc.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 16
#define MAX_GROUPS 100000     /* distinct alerts kept; more are counted */
#define GROUP_SLOTS 262144    /* the groups' hash index: > 2 * MAX_GROUPS */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi detect [--rules PATH]... [--ioc PATH]... (--input FILE | --db PATH)\n"
		"                     [--since DUR] [--tuning FILE] [--json]\n\n"
		"Match Sigma rules and IOC lists against recorded events, offline: an ECS\n"
		"NDJSON file (`hinomi events --json` output; - for standard input) or a\n"
		"store.  Alerts are grouped per rule (or indicator) and process tree, as\n"
		"the agent does, and printed oldest first.  Correlation rules run over the\n"
		"events' own times.  IOC lists match executables' SHA-256, remote\n"
		"addresses and DNS names (the hashes of written files are not in events:\n"
		"the agent matches those live).\n\n"
		"  -r, --rules PATH  a rule file or directory (repeatable)\n"
		"  -I, --ioc PATH    an IOC list (CSV, MISP, STIX) or a directory of them\n"
		"                    (repeatable)\n"
		"  -i, --input FILE  ECS NDJSON events\n"
		"  -d, --db PATH     a store's events instead\n"
		"  -s, --since DUR   with --db: only the last DUR\n"
		"  -t, --tuning FILE the host's allowlist: matches it silences are not alerts\n"
		"  -j, --json        one ECS JSON alert per line\n");
}

struct group {
	char *key;
	struct hn_alert a;       /* strings owned here */
};

struct run {
	const char *host;
	const struct hn_ioc_set *iocs;
	struct hn_tuning *tuning;
	uint64_t allowed;
	struct group *g;
	size_t n, cap;
	uint32_t *slot;          /* group index + 1 by key hash; 0 empty */
	uint64_t matches, over;
};

static uint64_t key_hash(const char *k)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 0x100000001b3ULL;
	return h;
}

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void group_free(struct group *g)
{
	free(g->key);
	free((char *)g->a.rule_id);
	free((char *)g->a.rule_title);
	free((char *)g->a.rule_level);
	free((char *)g->a.rule_author);
	free((char *)g->a.rule_tags);
	free((char *)g->a.rule_path);
	free((char *)g->a.executable);
	free((char *)g->a.event_json);
}

static void on_match(const struct hn_rule_info *rule, const struct hn_event *ev, void *arg)
{
	struct run *rn = arg;
	struct hn_strbuf js, tags;
	struct group *g;
	char key[512];
	uint32_t *slot;

	if (hn_tuning_allows(rn->tuning, rule, ev)) {
		rn->allowed++;
		return;
	}
	rn->matches++;
	hn_alert_group(rule, ev, key, sizeof(key));
	if (!rn->slot && !(rn->slot = calloc(GROUP_SLOTS, sizeof(*rn->slot)))) {
		rn->over++;
		return;
	}
	for (uint64_t h = key_hash(key);; h++) {
		slot = &rn->slot[h & (GROUP_SLOTS - 1)];
		if (!*slot)
			break;
		g = &rn->g[*slot - 1];
		if (!strcmp(g->key, key)) {
			g->a.count++;
			if (ev->time < g->a.time)
				g->a.time = ev->time;
			if (ev->time > g->a.last_time)
				g->a.last_time = ev->time;
			return;
		}
	}
	if (rn->n == MAX_GROUPS) {
		rn->over++;
		return;
	}
	if (rn->n == rn->cap) {
		size_t cap = rn->cap ? rn->cap * 2 : 64;
		struct group *p = realloc(rn->g, cap * sizeof(*p));
		if (!p) {
			rn->over++;
			return;
		}
		rn->g = p;
		rn->cap = cap;
	}
	g = &rn->g[rn->n];
	memset(g, 0, sizeof(*g));
	g->key = strdup(key);
	if (!g->key) {
		rn->over++;
		return;
	}
	rn->n++;
	*slot = (uint32_t)rn->n;
	hn_strbuf_init(&js);
	hn_strbuf_init(&tags);
	hn_ecs_render(ev, rn->host, &js);
	for (unsigned i = 0; i < rule->ntags; i++) {
		if (i)
			hn_strbuf_addc(&tags, ',');
		hn_strbuf_adds(&tags, rule->tags[i]);
	}
	g->a.group_key = g->key;
	g->a.id = (int64_t)rn->n;
	g->a.time = g->a.last_time = ev->time;
	g->a.count = 1;
	g->a.rule_id = rule->id[0] ? dup0(rule->id) : NULL;
	g->a.rule_title = dup0(rule->title);
	g->a.rule_level = dup0(rule->level);
	g->a.rule_author = rule->author[0] ? dup0(rule->author) : NULL;
	g->a.rule_tags = tags.len && !tags.oom ? dup0(tags.buf) : NULL;
	g->a.rule_path = dup0(rule->path);
	g->a.entity = ev->proc.entity;
	g->a.pid = ev->proc.pid;
	g->a.executable = dup0(ev->type == HN_EV_PROCESS_START && ev->path ? ev->path :
			       ev->proc.executable);
	g->a.event_type = ev->type;
	g->a.event_json = js.oom ? NULL : dup0(js.buf);
	hn_strbuf_release(&js);
	hn_strbuf_release(&tags);
}

struct ioc_ctx {
	struct run *rn;
	const struct hn_event *ev;
};

/* An IOC hit is alerted as a rule's match. */
static void on_ioc(const struct hn_ioc *ioc, void *arg)
{
	struct ioc_ctx *c = arg;
	struct hn_ioc_rule r;

	hn_ioc_rule_make(ioc, &r);
	on_match(&r.info, c->ev, c->rn);
}

/* Rules and IOC lists over one event. */
static void match_event(struct hn_correlator *corr, struct run *rn, const struct hn_event *ev,
			const struct hn_det_parent *par)
{
	struct ioc_ctx c = { rn, ev };

	hn_correlator_match(corr, ev, par, on_match, rn);
	hn_ioc_match_event(rn->iocs, ev, on_ioc, &c);
}

static void tuning_problem(const char *path, int line, const char *why, void *arg)
{
	(void)arg;
	fprintf(stderr, "hinomi detect: %s:%d: %s (line skipped)\n", path, line, why);
}

static int by_time(const void *x, const void *y)
{
	const struct group *a = x, *b = y;

	return a->a.time < b->a.time ? -1 : a->a.time > b->a.time ? 1 :
	       a->a.id < b->a.id ? -1 : a->a.id > b->a.id;
}

/* ---- inputs ---- */

struct counts {
	uint64_t events, bad;
};

static int read_ndjson(const char *path, struct hn_correlator *corr, struct run *rn,
		       struct counts *c)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *line = NULL, err[256];
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;

	if (!f) {
		fprintf(stderr, "hinomi detect: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct hn_event *ev = NULL;
		struct hn_det_parent par = { 0 };
		lineno++;
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (!n)
			continue;
		if (hn_ecs_parse(line, (size_t)n, &ev, err, sizeof(err)) < 0) {
			if (c->bad++ < 20)
				fprintf(stderr, "hinomi detect: %s:%lu: skipped: %s\n", path,
					lineno, err);
			continue;
		}
		par.image = ev->proc.parent_executable;
		match_event(corr, rn, ev, &par);
		c->events++;
		hn_event_free(ev);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return 0;
}

struct db_ctx {
	struct hn_correlator *corr;
	struct run *rn;
	struct counts *c;
	struct hn_store *s;
	/* the last parent looked up */
	uint64_t pe;
	struct hn_process *pp;
};

static int db_event(const struct hn_event *ev, void *arg)
{
	struct db_ctx *d = arg;
	struct hn_det_parent par = { 0 };

	if (ev->proc.parent_entity && ev->proc.parent_entity != d->pe) {
		hn_process_free(d->pp);
		d->pp = NULL;
		d->pe = ev->proc.parent_entity;
		if (hn_store_process(d->s, d->pe, &d->pp) < 0)
			d->pp = NULL;
	}
	if (ev->proc.parent_entity && d->pp) {
		par.image = d->pp->executable;
		par.args = d->pp->args;
		par.args_len = d->pp->args_len;
	} else {
		par.image = ev->proc.parent_executable;
	}
	match_event(d->corr, d->rn, ev, &par);
	d->c->events++;
	return 0;
}

int cmd_detect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rules", required_argument, NULL, 'r' },
		{ "input", required_argument, NULL, 'i' },
		{ "db", required_argument, NULL, 'd' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "tuning", required_argument, NULL, 't' },
		{ "ioc", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rules[MAX_RULES], *iocs[MAX_RULES], *input = NULL, *db = NULL,
		   *tuning = NULL;
	int nrules = 0, nioc = 0, c, r = 1;
	struct hn_ioc_set *set = NULL;
	struct hn_ioc_stats ist = { 0 };
	bool json = false;
	uint64_t since = 0, dur;
	struct hn_ruleset *rs = NULL;
	struct hn_correlator *corr = NULL;
	struct hn_correlator_stats cst;
	struct hn_ruleset_stats st;
	struct run rn = { .host = NULL };
	struct counts cnt = { 0 };
	struct hn_strbuf sb;

	while ((c = getopt_long(argc, argv, "r:i:d:s:jt:I:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (nrules == MAX_RULES) {
				fprintf(stderr, "hinomi detect: at most %d --rules\n", MAX_RULES);
				return 2;
			}
			rules[nrules++] = optarg;
			break;
		case 'I':
			if (nioc == MAX_RULES) {
				fprintf(stderr, "hinomi detect: at most %d --ioc\n", MAX_RULES);
				return 2;
			}
			iocs[nioc++] = optarg;
			break;
		case 'i': input = optarg; break;
		case 'd': db = optarg; break;
		case 's':
			if (cli_parse_duration(optarg, &dur) < 0) {
				fprintf(stderr, "hinomi detect: bad duration '%s'\n", optarg);
				return 2;
			}
			since = cli_now_ns() > dur ? cli_now_ns() - dur : 0;
			break;
		case 'j': json = true; break;
		case 't': tuning = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((!nrules && !nioc) || (!input == !db) || optind < argc) {
		usage(stderr);
		return 2;
	}
	rs = hn_ruleset_new();
	if (!rs)
		return 1;
	{
		int each[64];
		hn_ruleset_load_paths(rs, rules, (unsigned)nrules, NULL, NULL, each);
		for (int i = 0; i < nrules; i++)
			if (each[i] < 0) {
				fprintf(stderr, "hinomi detect: cannot read rules %s\n", rules[i]);
				goto out;
			}
	}
	hn_ruleset_stats(rs, &st);
	corr = hn_correlator_new(rs);
	if (!corr) {
		fprintf(stderr, "hinomi detect: out of memory\n");
		goto out;
	}
	if (nioc && !(set = hn_ioc_set_new()))
		goto out;
	for (int i = 0; i < nioc; i++) {
		int e = hn_ioc_load(set, iocs[i], NULL, NULL);
		if (e < 0) {
			fprintf(stderr, "hinomi detect: cannot read IOC list %s: %s\n", iocs[i],
				strerror(-e));
			goto out;
		}
	}
	hn_ioc_stats(set, &ist);
	if (ist.invalid || ist.unsupported)
		fprintf(stderr, "hinomi detect: %u indicators loaded, %u unsupported, %u invalid"
			" (`hinomi ioc check PATH` says why)\n", ist.loaded, ist.unsupported,
			ist.invalid);
	rn.iocs = set;
	if (tuning) {
		int e = hn_tuning_load(tuning, &rn.tuning, tuning_problem, NULL);
		if (e < 0) {
			fprintf(stderr, "hinomi detect: %s: %s\n", tuning, strerror(-e));
			goto out;
		}
	}
	if (input) {
		if (read_ndjson(input, corr, &rn, &cnt) < 0)
			goto out;
	} else {
		struct hn_store *s = NULL;
		struct hn_query q = { .since = since };
		struct db_ctx d = { .corr = corr, .rn = &rn, .c = &cnt };
		char host[256];
		if (cli_store_open_ro("detect", db, &s) < 0)
			goto out;
		cli_host_name(s, host, sizeof(host));
		rn.host = host;
		d.s = s;
		if (hn_store_query(s, &q, db_event, &d) < 0) {
			fprintf(stderr, "hinomi detect: reading %s: %s\n", db, hn_store_errmsg(s));
			hn_process_free(d.pp);
			hn_store_close(s);
			goto out;
		}
		hn_process_free(d.pp);
		hn_store_close(s);
		rn.host = NULL;
	}
	qsort(rn.g, rn.n, sizeof(*rn.g), by_time);
	hn_strbuf_init(&sb);
	for (size_t i = 0; i < rn.n; i++) {
		hn_strbuf_reset(&sb);
		if (json)
			cli_alert_json(&sb, &rn.g[i].a);
		else
			cli_alert_text(&sb, &rn.g[i].a);
		if (cli_put_line(&sb) < 0)
			break;
	}
	hn_strbuf_release(&sb);
	hn_correlator_stats(corr, &cst);
	fprintf(stderr, "hinomi detect: %u rules, %u indicators, %llu events (%llu lines skipped),"
		" %llu matches in %zu alerts, %llu silenced by tuning%s\n", st.loaded, ist.loaded,
		(unsigned long long)cnt.events, (unsigned long long)cnt.bad,
		(unsigned long long)rn.matches, rn.n, (unsigned long long)rn.allowed,
		rn.over ? " (some groups over the bound, counted only)" : "");
	if (st.correlations)
		fprintf(stderr, "hinomi detect: %u correlations: %llu matched, %llu windows"
			" still open at the end of the input (undecided), %llu groups evicted\n",
			st.correlations, (unsigned long long)cst.fired,
			(unsigned long long)cst.open_windows, (unsigned long long)cst.evicted);
	r = 0;
out:
	for (size_t i = 0; i < rn.n; i++)
		group_free(&rn.g[i]);
	free(rn.g);
	free(rn.slot);
	hn_tuning_free(rn.tuning);
	hn_correlator_free(corr);
	hn_ruleset_free(rs);
	hn_ioc_set_free(set);
	return r;
}
