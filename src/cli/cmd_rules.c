/*
 * cmd_rules.c - `hinomi rules check PATH... [--json]`: load Sigma rules the
 * way the agent does and report every file that cannot be used (path,
 * line, invalid or unsupported, why), then what loaded, per log source,
 * the rules the engine's prefilters cannot skip (evaluated on every event
 * of their log source: give them a literal to go faster), and the
 * correlation rules.
 *
 * Exit status: 0 when no rule is invalid (unsupported rules are valid Sigma
 * that hinomi cannot evaluate: reported, not a failure), 1 when a rule is
 * invalid or a path cannot be read, 2 on a usage error.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "detect/detect.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi rules check PATH... [--json] [--quiet]\n\n"
		"Load the Sigma rules in each PATH (a .yml file, or a directory read\n"
		"recursively) and report, for every rule that cannot be used, the file,\n"
		"the line and why: invalid (not a rule hinomi can read) or unsupported\n"
		"(valid Sigma for a log source, field or feature hinomi does not have).\n"
		"Then a summary: loaded / unsupported / invalid, the loaded rules per\n"
		"log source (correlation rules apart), and the rules evaluated on every\n"
		"event of their log source (no literal of 3 bytes or more, nor key, that\n"
		"the prefilters can use: valid, only slower).\n\n"
		"  -j, --json    one JSON document: problems, counts\n"
		"  -q, --quiet   the summary only\n");
}

struct check {
	bool json, quiet;
	struct hn_json *j;
	struct hn_strbuf esc;
};

static void on_problem(const struct hn_rule_problem *p, void *arg)
{
	struct check *c = arg;
	const char *kind = p->kind == HN_RULE_INVALID ? "invalid" : "unsupported";

	if (c->json) {
		hn_json_obj_open(c->j, NULL);
		hn_json_kv_str(c->j, "path", p->path);
		hn_json_kv_u64(c->j, "line", (uint64_t)(p->line > 0 ? p->line : 0));
		hn_json_kv_str(c->j, "kind", kind);
		hn_json_kv_str(c->j, "title", p->title);
		hn_json_kv_str(c->j, "why", p->why);
		hn_json_obj_close(c->j);
		return;
	}
	if (c->quiet)
		return;
	hn_strbuf_reset(&c->esc);
	cli_escape(&c->esc, p->why, strlen(p->why));
	if (p->line > 0)
		printf("%s:%d: %s: %s", p->path, p->line, kind, c->esc.buf ? c->esc.buf : "");
	else
		printf("%s: %s: %s", p->path, kind, c->esc.buf ? c->esc.buf : "");
	if (p->title) {
		hn_strbuf_reset(&c->esc);
		cli_escape(&c->esc, p->title, strlen(p->title));
		printf(" (%s)", c->esc.buf ? c->esc.buf : "");
	}
	putchar('\n');
}

static int check(int argc, char **argv, struct check *c)
{
	struct hn_ruleset *rs = hn_ruleset_new();
	struct hn_ruleset_stats st;
	struct hn_strbuf out;
	struct hn_json j;
	unsigned total, slow = 0;
	int r = 1, unreadable = 0, *each = calloc((size_t)argc, sizeof(*each));

	hn_strbuf_init(&out);
	hn_strbuf_init(&c->esc);
	if (!rs || !each) {
		hn_ruleset_free(rs);
		free(each);
		fprintf(stderr, "hinomi rules: out of memory\n");
		return 1;
	}
	c->j = &j;
	if (c->json) {
		hn_json_begin(&j, &out);
		hn_json_obj_open(&j, NULL);
		hn_json_arr_open(&j, "problems");
	}
	hn_ruleset_load_paths(rs, (const char *const *)argv, (unsigned)argc, on_problem, c, each);
	for (int i = 0; i < argc; i++)
		if (each[i] < 0) {
			fprintf(stderr, "hinomi rules: %s: %s\n", argv[i], strerror(-each[i]));
			unreadable++;
		}
	hn_ruleset_stats(rs, &st);
	total = st.loaded + st.unsupported + st.invalid;
	for (unsigned i = 0; i < hn_ruleset_count(rs); i++)
		slow += !hn_ruleset_rule_prefiltered(rs, i);
	if (c->json) {
		hn_json_arr_close(&j);
		hn_json_kv_u64(&j, "files", st.files);
		hn_json_kv_u64(&j, "rules", total);
		hn_json_kv_u64(&j, "loaded", st.loaded);
		hn_json_kv_u64(&j, "unsupported", st.unsupported);
		hn_json_kv_u64(&j, "invalid", st.invalid);
		hn_json_obj_open(&j, "loaded_per_source");
		for (int s = HN_DS_PROCESS_CREATION; s < HN_DS_COUNT; s++)
			if (st.per_source[s])
				hn_json_kv_u64(&j, hn_det_source_name((enum hn_det_source)s),
					       st.per_source[s]);
		hn_json_obj_close(&j);
		hn_json_kv_u64(&j, "correlations", st.correlations);
		hn_json_arr_open(&j, "not_prefiltered");
		for (unsigned i = 0; i < hn_ruleset_count(rs); i++) {
			const struct hn_rule_info *ri = hn_ruleset_rule(rs, i);
			if (hn_ruleset_rule_prefiltered(rs, i))
				continue;
			hn_json_obj_open(&j, NULL);
			hn_json_kv_str(&j, "path", ri->path);
			hn_json_kv_u64(&j, "line", (uint64_t)(ri->line > 0 ? ri->line : 0));
			hn_json_kv_str(&j, "title", ri->title);
			hn_json_obj_close(&j);
		}
		hn_json_arr_close(&j);
		hn_json_obj_close(&j);
		if (hn_json_end(&j) == 0)
			printf("%s\n", out.buf);
	} else {
		printf("%u files, %u rules: %u loaded (%.1f%%), %u unsupported, %u invalid\n",
		       st.files, total, st.loaded, total ? 100.0 * st.loaded / total : 0.0,
		       st.unsupported, st.invalid);
		for (int s = HN_DS_PROCESS_CREATION; s < HN_DS_COUNT; s++)
			if (st.per_source[s])
				printf("  %-20s %u\n", hn_det_source_name((enum hn_det_source)s),
				       st.per_source[s]);
		if (st.correlations)
			printf("  %-20s %u\n", "correlation", st.correlations);
		if (slow)
			printf("%u rules evaluated on every event of their log source (no literal"
			       " or key for the prefilters)%s\n", slow, c->quiet ? "" : ":");
		for (unsigned i = 0; i < hn_ruleset_count(rs) && !c->quiet; i++)
			if (!hn_ruleset_rule_prefiltered(rs, i))
				printf("  %s:%d: %s\n", hn_ruleset_rule(rs, i)->path,
				       hn_ruleset_rule(rs, i)->line, hn_ruleset_rule(rs, i)->title);
	}
	if (!st.invalid && !unreadable)
		r = 0;
	hn_strbuf_release(&out);
	hn_strbuf_release(&c->esc);
	hn_ruleset_free(rs);
	free(each);
	return r;
}

int cmd_rules(int argc, char **argv)
{
	struct check c = { 0 };
	int first, r = cli_check_args(argc, argv, usage, &c.json, &c.quiet, &first);

	if (r >= 0)
		return r;
	return check(argc - first, argv + first, &c);
}
