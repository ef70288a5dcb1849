/*
 * cmd_actions.c - `hinomi actions [ID] [--json]`: the response actions
 * recorded in the store (respond.h), oldest first: when, who, what, on
 * what, the outcome and what it changed.  A remediation's steps are shown
 * under it.  With ID, that action and its steps, detail included.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi actions [ID] [--json] [--db PATH]\n\n"
		"List the response actions (isolate, kill, quarantine, block, remediate,\n"
		"undo, ...) recorded in the store, oldest first: when, who, what, on what,\n"
		"the outcome and what it changed.  With ID, that action with its steps and\n"
		"the exact detail.\n\n"
		"  -j, --json       one JSON object per action (steps under \"steps\")\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

struct out {
	struct hn_store *s;
	bool json, detail;
	int depth;
	struct hn_strbuf sb;
	unsigned n;
};

static void text_one(struct out *o, const struct hn_action *a)
{
	char t[40];

	cli_time_str(a->time, t, sizeof(t));
	hn_strbuf_reset(&o->sb);
	hn_strbuf_addf(&o->sb, "%*s#%lld  %s  %-9s %-10s ", o->depth * 4, "",
		       (long long)a->id, t, a->status ? a->status : "?",
		       a->kind ? a->kind : "?");
	if (a->target)
		cli_escape(&o->sb, a->target, strlen(a->target));
	hn_strbuf_adds(&o->sb, "  by ");
	cli_escape(&o->sb, a->user ? a->user : "?", strlen(a->user ? a->user : "?"));
	if (a->undo_of)
		hn_strbuf_addf(&o->sb, "  (undoes #%lld)", (long long)a->undo_of);
	if (a->summary) {
		hn_strbuf_addf(&o->sb, "\n%*s    ", o->depth * 4, "");
		cli_escape(&o->sb, a->summary, strlen(a->summary));
	}
	if (o->detail && a->detail) {
		hn_strbuf_addf(&o->sb, "\n%*s    detail: ", o->depth * 4, "");
		cli_escape(&o->sb, a->detail, strlen(a->detail));
	}
}

static void json_one(struct hn_json *j, const struct hn_action *a)
{
	char t[40];

	hn_json_kv_i64(j, "id", a->id);
	if (a->parent)
		hn_json_kv_i64(j, "parent", a->parent);
	if (a->undo_of)
		hn_json_kv_i64(j, "undo_of", a->undo_of);
	cli_time_str(a->time, t, sizeof(t));
	hn_json_kv_u64(j, "time_ns", a->time);
	hn_json_kv_str(j, "time", t);
	if (a->end_time)
		hn_json_kv_u64(j, "end_time_ns", a->end_time);
	hn_json_kv_str(j, "user", a->user);
	hn_json_kv_str(j, "kind", a->kind);
	hn_json_kv_str(j, "target", a->target);
	hn_json_kv_str(j, "status", a->status);
	hn_json_kv_str(j, "summary", a->summary);
	if (a->detail)
		hn_json_kv_raw(j, "detail", a->detail);
}

struct steps {
	struct hn_json *j;
};

static int on_step_json(const struct hn_action *a, void *arg)
{
	struct steps *st = arg;

	hn_json_obj_open(st->j, NULL);
	json_one(st->j, a);
	hn_json_obj_close(st->j);
	return 0;
}

static int on_action(const struct hn_action *a, void *arg);

static int on_step_text(const struct hn_action *a, void *arg)
{
	struct out *o = arg;
	int r;

	o->depth++;
	r = on_action(a, o);
	o->depth--;
	return r;
}

static int on_action(const struct hn_action *a, void *arg)
{
	struct out *o = arg;
	int r;

	o->n++;
	if (!o->json) {
		text_one(o, a);
		if (cli_put_line(&o->sb) < 0)
			return -EIO;
		/* steps: a second statement on the same connection is fine
		 * while this one is stepping */
		return o->depth < 4 ? hn_store_actions(o->s, 0, a->id, on_step_text, o) : 0;
	}
	{
		struct hn_json j;
		struct steps st = { &j };

		hn_strbuf_reset(&o->sb);
		hn_json_begin(&j, &o->sb);
		hn_json_obj_open(&j, NULL);
		json_one(&j, a);
		hn_json_arr_open_opt(&j, "steps");
		r = hn_store_actions(o->s, 0, a->id, on_step_json, &st);
		hn_json_arr_close(&j);
		hn_json_obj_close(&j);
		if (r < 0)
			return r;
		if (hn_json_end(&j) < 0)
			return -ENOMEM;
		return cli_put_line(&o->sb) < 0 ? -EIO : 0;
	}
}

int cmd_actions(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	struct out o = { 0 };
	int64_t id = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		char *end;
		const char *p = argv[optind][0] == '#' ? argv[optind] + 1 : argv[optind];

		errno = 0;
		id = strtoll(p, &end, 10);
		if (errno || *end || id <= 0 || optind + 1 < argc) {
			fprintf(stderr, "hinomi actions: '%s' is not an action id\n",
				argv[optind]);
			return 2;
		}
		o.detail = true;
	}
	if (cli_store_open_ro("actions", db, &o.s) < 0)
		return 1;
	hn_strbuf_init(&o.sb);
	/* top-level rows, each with its steps; with ID that row alone */
	r = hn_store_actions(o.s, id, id ? 0 : -1, on_action, &o);
	if (r == -ENOENT) {
		r = 0;     /* a store from before actions: none */
	} else if (r < 0 && r != -EIO) {
		fprintf(stderr, "hinomi actions: %s\n", hn_store_errmsg(o.s));
	}
	if (r == 0 && id && o.n == 0) {
		fprintf(stderr, "hinomi actions: no action %lld\n", (long long)id);
		r = -ENOENT;
	}
	if (r == 0 && !id && !o.json && o.n == 0)
		printf("no actions recorded\n");
	hn_strbuf_release(&o.sb);
	hn_store_close(o.s);
	return r < 0 ? 1 : 0;
}
