/*
 * cmd_remediate.c - `hinomi remediate INCIDENT|ALERT|ENTITY [--dry-run]
 * [--json]` and `hinomi undo ACTION`: undo an attack from its impact
 * scope (respond.h: remediate.c), and undo a recorded action.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "event/entity.h"
#include "investigate/investigate.h"
#include "ioc/ioc.h"
#include "respond/respond.h"
#include "scan/scan.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi remediate INCIDENT|ALERT|ENTITY [--dry-run] [--json] [--db PATH]\n\n"
		"Undo what an attack did, from the impact scope `hinomi investigate` shows:\n"
		"kill its processes still running (each with its tree), quarantine every\n"
		"file it created (an executable's hash is blocked too), put back files it\n"
		"changed or deleted from the versions the agent kept (a shared file keeps\n"
		"every line but the attack's), reload systemd when units changed.  Nothing\n"
		"the attack did not create is deleted; what cannot be put back is listed\n"
		"with why.  Each step is an action under the remediation's: `hinomi undo\n"
		"ID` reverses it.\n\n"
		"  -n, --dry-run    print the plan, change nothing\n"
		"  -j, --json       the plan (or what was done) as one JSON object\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

static void undo_usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi undo ACTION [--db PATH]\n\n"
		"Reverse a recorded action (`hinomi actions`): a quarantine is restored, a\n"
		"block lifted, a file a remediation rewrote put back as it was (only if it\n"
		"still holds what was written), a remediation undone step by step, last\n"
		"first.  A killed process cannot be brought back: said so.\n\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

static void on_ioc_problem(const struct hn_ioc_problem *p, void *arg)
{
	(void)p;
	(void)arg;   /* `hinomi ioc check` lists them */
}

/* The rescan's patterns: the YARA rules and IOC lists `hinomi scan` uses
 * by default.  Either may stay NULL (then not used). */
static void rescan_patterns(struct hn_respond *r, struct hn_scan_rules **yr,
			    struct hn_ioc_set **ioc)
{
	const char *paths[4], *env = getenv("HINOMI_IOC");
	char near[4200], cache[4200];
	int n = hn_scan_default_rules(paths, near, sizeof(near));

	cache[0] = '\0';
	if (r->state_dir[0] && access(r->state_dir, W_OK) == 0)
		snprintf(cache, sizeof(cache), "%s/yara", r->state_dir);
	if (n && hn_scan_rules_load(paths, n, cache[0] ? cache : NULL, NULL, NULL, yr) < 0)
		*yr = NULL;
	*ioc = hn_ioc_set_new();
	if (!*ioc)
		return;
	if (env && *env && access(env, R_OK) == 0)
		hn_ioc_load(*ioc, env, on_ioc_problem, NULL);
	if (access("/etc/hinomi/ioc", R_OK) == 0)
		hn_ioc_load(*ioc, "/etc/hinomi/ioc", on_ioc_problem, NULL);
}

static void step_text(struct hn_strbuf *b, const struct hn_rstep *s, bool ran)
{
	char es[20];

	hn_strbuf_addf(b, "  %-10s ", hn_rstep_kind_name(s->kind));
	if (s->kind == HN_RS_KILL) {
		hn_strbuf_addf(b, "pid %u %s ", s->pid, hn_entity_str(s->entity, es, sizeof(es)));
		if (s->exe)
			cli_escape(b, s->exe, strlen(s->exe));
	} else if (s->kind == HN_RS_BLOCK) {
		hn_strbuf_addf(b, "%s", s->sha256);
		if (s->path) {
			hn_strbuf_adds(b, " (");
			cli_escape(b, s->path, strlen(s->path));
			hn_strbuf_adds(b, ")");
		}
	} else if (s->path) {
		cli_escape(b, s->path, strlen(s->path));
	}
	if (ran && s->status) {
		hn_strbuf_addf(b, "\n             %s: ", s->status);
		if (s->result)
			cli_escape(b, s->result, strlen(s->result));
	} else if (s->why) {
		hn_strbuf_adds(b, "\n             ");
		cli_escape(b, s->why, strlen(s->why));
	}
	hn_strbuf_addc(b, '\n');
}

static void plan_json(struct hn_json *j, const struct hn_rplan *p, bool ran)
{
	char es[20];

	hn_json_arr_open(j, "steps");
	for (size_t i = 0; i < p->n; i++) {
		const struct hn_rstep *s = &p->steps[i];
		hn_json_obj_open(j, NULL);
		hn_json_kv_str(j, "step", hn_rstep_kind_name(s->kind));
		if (s->path)
			hn_json_kv_str(j, "path", s->path);
		if (s->kind == HN_RS_KILL) {
			hn_json_kv_str(j, "entity_id", hn_entity_str(s->entity, es, sizeof(es)));
			hn_json_kv_u64(j, "pid", s->pid);
			hn_json_kv_str(j, "executable", s->exe);
		}
		if (s->kind == HN_RS_BLOCK)
			hn_json_kv_str(j, "sha256", s->sha256);
		if (s->kind == HN_RS_EDIT) {
			hn_json_kv_u64(j, "lines_removed", (uint64_t)s->removed);
			hn_json_kv_u64(j, "lines_kept", (uint64_t)s->kept);
		}
		hn_json_kv_str(j, "why", s->why);
		if (ran) {
			hn_json_kv_str(j, "status", s->status);
			hn_json_kv_str(j, "result", s->result);
			hn_json_kv_i64(j, "action", s->action);
		}
		hn_json_obj_close(j);
	}
	hn_json_arr_close(j);
}

int cmd_remediate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	struct cli_target t = { 0 };
	struct hn_story *st = NULL;
	struct hn_rplan p = { 0 };
	struct hn_scan_rules *yr = NULL;
	struct hn_ioc_set *ioc = NULL;
	struct hn_respond r;
	struct hn_strbuf b;
	bool dry = false, json = false;
	int64_t id = 0;
	int c, rc = 1, failed = 0;
	char es[20], summary[256];

	while ((c = getopt_long(argc, argv, "njd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': dry = true; break;
		case 'j': json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "hinomi remediate: must run as root\n");
		return 1;
	}
	t.value = argv[optind];
	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi remediate: %s\n", r.err);
		return 1;
	}
	if (cli_target_resolve("remediate", r.store, &t))
		goto out;
	/* all the process did, not only what came before an alert */
	t.at = 0;
	if (cli_target_story("remediate", r.store, &t, &st))
		goto out;
	if (hn_remediate_plan(&r, st, &p) < 0) {
		fprintf(stderr, "hinomi remediate: %s\n", r.err);
		goto out;
	}
	if (!dry) {
		if (hn_act_begin(&r, "remediate", t.value, 0, &id) < 0) {
			fprintf(stderr, "hinomi remediate: %s\n", r.err);
			goto out;
		}
		rescan_patterns(&r, &yr, &ioc);
		p.rules = yr;
		p.ioc = ioc;
		failed = hn_remediate_run(&r, &p, id);
		if (failed < 0) {
			fprintf(stderr, "hinomi remediate: %s\n", r.err);
			hn_act_end(&r, id, "failed", r.err, NULL);
			goto out;
		}
		{
			int done = 0, skipped = 0;
			for (size_t i = 0; i < p.n; i++) {
				done += p.steps[i].status && !strcmp(p.steps[i].status, "done");
				skipped += p.steps[i].status && !strcmp(p.steps[i].status, "skipped");
			}
			snprintf(summary, sizeof(summary), "%d step%s done, %d left as they are, "
				 "%d failed (root %s)", done, done == 1 ? "" : "s", skipped, failed,
				 hn_entity_str(p.root, es, sizeof(es)));
		}
		hn_act_end(&r, id, failed ? "partial" : "done", summary, NULL);
	}
	hn_strbuf_init(&b);
	if (json) {
		struct hn_json j;
		hn_json_begin(&j, &b);
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "target", t.value);
		hn_json_kv_str(&j, "root_entity_id", hn_entity_str(p.root, es, sizeof(es)));
		hn_json_kv_str(&j, "root_executable", st->root.exe);
		hn_json_kv_str(&j, "entry", hn_inv_entry_name(st->entry));
		hn_json_kv_bool(&j, "dry_run", dry);
		if (id)
			hn_json_kv_i64(&j, "action", id);
		plan_json(&j, &p, !dry);
		if (!dry)
			hn_json_kv_u64(&j, "failed", (uint64_t)failed);
		hn_json_obj_close(&j);
		hn_json_end(&j);
	} else {
		hn_strbuf_addf(&b, "%s for %s: the attack's root %s (pid %u %s), entry %s\n",
			       dry ? "remediation plan" : "remediation", t.value,
			       hn_entity_str(p.root, es, sizeof(es)), st->root.pid,
			       st->root.exe ? st->root.exe : "?", hn_inv_entry_name(st->entry));
		for (size_t i = 0; i < p.n; i++)
			step_text(&b, &p.steps[i], !dry);
		if (!p.n)
			hn_strbuf_adds(&b, "  nothing to do\n");
		if (dry)
			hn_strbuf_adds(&b, "(dry run: nothing changed)\n");
		else
			hn_strbuf_addf(&b, "action #%lld: %s; `hinomi undo %lld` reverses it\n",
				       (long long)id, summary, (long long)id);
		while (b.len && b.buf[b.len - 1] == '\n')
			b.len--;
	}
	rc = cli_put_line(&b) < 0 || failed ? 1 : 0;
	hn_strbuf_release(&b);
out:
	hn_rplan_release(&p);
	hn_scan_rules_free(yr);
	hn_ioc_set_free(ioc);
	hn_story_free(st);
	cli_target_release(&t);
	hn_respond_close(&r);
	return rc;
}

int cmd_undo(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db(), *v;
	struct hn_undo_result res;
	struct hn_respond r;
	char *end, summary[700];
	int64_t id, uid;
	int c, rc;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'h': undo_usage(stdout); return 0;
		default: undo_usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		undo_usage(stderr);
		return 2;
	}
	v = argv[optind][0] == '#' ? argv[optind] + 1 : argv[optind];
	errno = 0;
	id = strtoll(v, &end, 10);
	if (errno || *end || id <= 0) {
		fprintf(stderr, "hinomi undo: '%s' is not an action id (hinomi actions)\n",
			argv[optind]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "hinomi undo: must run as root\n");
		return 1;
	}
	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi undo: %s\n", r.err);
		return 1;
	}
	if (hn_act_begin(&r, "undo", v, 0, &uid) < 0) {
		fprintf(stderr, "hinomi undo: %s\n", r.err);
		hn_respond_close(&r);
		return 1;
	}
	rc = hn_undo(&r, id, uid, &res);
	snprintf(summary, sizeof(summary), "#%lld: %d undone, %d cannot be undone, %d failed%s%s",
		 (long long)id, res.undone, res.cannot, res.failed,
		 res.last_err[0] ? "; " : "", res.last_err);
	if (rc < 0 && !res.undone && !res.failed && !res.cannot) {
		fprintf(stderr, "hinomi undo: %s\n", r.err);
		hn_act_end(&r, uid, "failed", r.err, NULL);
	} else {
		printf("%s\n", summary);
		hn_act_end(&r, uid, rc < 0 ? "partial" : "done", summary, NULL);
	}
	hn_respond_close(&r);
	return rc < 0 ? 1 : 0;
}
