/*
 * cmd_ioc.c - `hinomi ioc check PATH... [--json] [--quiet]`: load IOC lists
 * the way the agent does and report every entry that cannot be used (file,
 * line or JSON path and object id, invalid or unsupported, why), then what
 * loaded, per type, and what was skipped on purpose and why.
 *
 * Exit status: 0 when no entry is invalid (unsupported entries are
 * indicators of a type hinomi does not match: reported, not a failure), 1
 * when one is or a path cannot be read, 2 on a usage error.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "ioc/ioc.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi ioc check PATH... [--json] [--quiet]\n\n"
		"Load the IOC lists in each PATH (a .csv, .txt or .json file, or a\n"
		"directory of them read recursively): CSV, MISP JSON or STIX 2.1.  Report,\n"
		"for every entry that cannot be used, the file, the line (or the JSON\n"
		"path and object id) and why: invalid (malformed) or unsupported (an\n"
		"indicator type hinomi does not match).  Then a summary: indicators\n"
		"loaded per type, duplicates, skipped (to_ids false, deleted, revoked,\n"
		"expired, benign), unsupported, invalid.\n\n"
		"  -j, --json    one JSON document: problems, counts\n"
		"  -q, --quiet   the summary only\n");
}

static const char *const skip_names[HN_IOC_SKIP_COUNT] = {
	[HN_IOC_SKIP_NOT_IDS] = "to_ids_false", [HN_IOC_SKIP_DELETED] = "deleted",
	[HN_IOC_SKIP_REVOKED] = "revoked", [HN_IOC_SKIP_EXPIRED] = "expired",
	[HN_IOC_SKIP_BENIGN] = "benign",
};

struct check {
	bool json, quiet;
	struct hn_json *j;
	struct hn_strbuf esc;
};

static void on_problem(const struct hn_ioc_problem *p, void *arg)
{
	struct check *c = arg;
	const char *kind = p->kind == HN_IOC_INVALID ? "invalid" : "unsupported";

	if (c->json) {
		hn_json_obj_open(c->j, NULL);
		hn_json_kv_str(c->j, "path", p->path);
		hn_json_kv_u64(c->j, "line", (uint64_t)(p->line > 0 ? p->line : 0));
		hn_json_kv_str(c->j, "where", p->where);
		hn_json_kv_str(c->j, "kind", kind);
		hn_json_kv_str(c->j, "why", p->why);
		hn_json_obj_close(c->j);
		return;
	}
	if (c->quiet)
		return;
	hn_strbuf_reset(&c->esc);
	cli_escape(&c->esc, p->path, strlen(p->path));
	if (p->line > 0)
		hn_strbuf_addf(&c->esc, ":%d", p->line);
	if (p->where) {
		hn_strbuf_adds(&c->esc, ": ");
		cli_escape(&c->esc, p->where, strlen(p->where));
	}
	hn_strbuf_addf(&c->esc, ": %s: ", kind);
	cli_escape(&c->esc, p->why, strlen(p->why));
	cli_put_line(&c->esc);
}

static int check(int argc, char **argv, struct check *c)
{
	struct hn_ioc_set *set = hn_ioc_set_new();
	struct hn_ioc_stats st;
	struct hn_strbuf out;
	struct hn_json j;
	int r = 1, unreadable = 0;

	if (!set) {
		fprintf(stderr, "hinomi ioc: out of memory\n");
		return 1;
	}
	hn_strbuf_init(&out);
	hn_strbuf_init(&c->esc);
	c->j = &j;
	if (c->json) {
		hn_json_begin(&j, &out);
		hn_json_obj_open(&j, NULL);
		hn_json_arr_open(&j, "problems");
	}
	fflush(stdout);
	for (int i = 0; i < argc; i++) {
		int n = hn_ioc_load(set, argv[i], on_problem, c);
		if (n < 0) {
			fprintf(stderr, "hinomi ioc: %s: %s\n", argv[i],
				n == -EFBIG ? "larger than the bound on IOC files (64 MiB)" :
				strerror(-n));
			unreadable++;
		}
	}
	hn_ioc_stats(set, &st);
	if (c->json) {
		hn_json_arr_close(&j);
		hn_json_kv_u64(&j, "files", st.files);
		hn_json_kv_u64(&j, "loaded", st.loaded);
		hn_json_obj_open(&j, "loaded_per_type");
		for (int t = HN_IOC_SHA256; t < HN_IOC_TYPE_COUNT; t++)
			hn_json_kv_u64(&j, hn_ioc_type_name((enum hn_ioc_type)t), st.per_type[t]);
		hn_json_obj_close(&j);
		hn_json_kv_u64(&j, "duplicates", st.duplicates);
		hn_json_kv_u64(&j, "skipped", st.skipped);
		hn_json_obj_open(&j, "skipped_per_reason");
		for (int k = 0; k < HN_IOC_SKIP_COUNT; k++)
			hn_json_kv_u64(&j, skip_names[k], st.per_skip[k]);
		hn_json_obj_close(&j);
		hn_json_kv_u64(&j, "unsupported", st.unsupported);
		hn_json_kv_u64(&j, "invalid", st.invalid);
		hn_json_obj_close(&j);
		if (hn_json_end(&j) == 0)
			printf("%s\n", out.buf);
	} else {
		printf("%u files: %u indicators loaded, %u duplicates, %u skipped, "
		       "%u unsupported, %u invalid\n", st.files, st.loaded, st.duplicates,
		       st.skipped, st.unsupported, st.invalid);
		for (int t = HN_IOC_SHA256; t < HN_IOC_TYPE_COUNT; t++)
			if (st.per_type[t])
				printf("  %-8s %u\n", hn_ioc_type_name((enum hn_ioc_type)t),
				       st.per_type[t]);
		for (int k = 0; k < HN_IOC_SKIP_COUNT; k++)
			if (st.per_skip[k])
				printf("  skipped, %s: %u\n", skip_names[k], st.per_skip[k]);
	}
	if (!st.invalid && !unreadable)
		r = 0;
	hn_strbuf_release(&out);
	hn_strbuf_release(&c->esc);
	hn_ioc_set_free(set);
	return r;
}

int cmd_ioc(int argc, char **argv)
{
	struct check c = { 0 };
	int first, r = cli_check_args(argc, argv, usage, &c.json, &c.quiet, &first);

	if (r >= 0)
		return r;
	return check(argc - first, argv + first, &c);
}
