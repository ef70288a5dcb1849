/*
 * cmd_alerts.c - `hinomi alerts [--since DUR] [--json]`: the alerts the
 * agent's rules raised, oldest first; one line each, or one ECS-style JSON
 * object each (@timestamp, event.kind alert, event.severity, rule.*,
 * threat.* from the rule's ATT&CK tags, process.*, and the matching event
 * under hinomi.event).  Repeated matches of a rule in one process tree are
 * one alert with a count.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "detect/detect.h"
#include "event/ecs.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi alerts [--since DUR] [--json] [--db PATH]\n\n"
		"List the alerts of the store, oldest first: when, level, rule, how many\n"
		"times it matched in that process tree, and the process.\n\n"
		"  -s, --since DUR  only alerts that matched in the last DUR (30s, 5m, 2h, 7d)\n"
		"  -j, --json       one ECS JSON object per alert\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

struct out {
	bool json;
	struct hn_strbuf sb;
	unsigned n;
};

/* ECS event.severity for a Sigma level (the usual risk-score scale). */
static unsigned severity(const char *level)
{
	if (!level)
		return 47;
	if (!strcmp(level, "critical"))
		return 99;
	if (!strcmp(level, "high"))
		return 73;
	if (!strcmp(level, "low"))
		return 21;
	if (!strcmp(level, "informational"))
		return 10;
	return 47;
}

/* Call fn for each comma-separated part of list. */
static void each_tag(const char *list, void (*fn)(const char *tag, void *arg), void *arg)
{
	char buf[128];

	while (list && *list) {
		const char *e = strchr(list, ',');
		size_t n = e ? (size_t)(e - list) : strlen(list);
		if (n < sizeof(buf)) {
			memcpy(buf, list, n);
			buf[n] = '\0';
			fn(buf, arg);
		}
		list = e ? e + 1 : NULL;
	}
}

struct tag_json {
	struct hn_json *j;
	int want;          /* 1 technique ids, 2 tactic names, 3 tactic ids */
};

static void tag_json(const char *tag, void *arg)
{
	struct tag_json *t = arg;
	struct hn_attack at;
	int k = hn_attack_tag(tag, &at);

	if (t->want == 1 && k == 1)
		hn_json_arr_str(t->j, at.technique, strlen(at.technique));
	else if (t->want == 2 && k == 2)
		hn_json_arr_str(t->j, at.tactic_name, strlen(at.tactic_name));
	else if (t->want == 3 && k == 2 && at.tactic_id)
		hn_json_arr_str(t->j, at.tactic_id, strlen(at.tactic_id));
}

static void put_json(struct out *o, const struct hn_alert *a)
{
	struct hn_json j;
	struct tag_json tj = { &j, 0 };
	char ts[HN_ECS_TIME_LEN];

	hn_json_begin(&j, &o->sb);
	hn_json_obj_open(&j, NULL);
	hn_ecs_time(a->time, ts, sizeof(ts));
	hn_json_kv_str(&j, "@timestamp", ts);
	hn_json_obj_open(&j, "event");
	hn_json_kv_str(&j, "kind", "alert");
	hn_json_kv_u64(&j, "severity", severity(a->rule_level));
	hn_json_kv_str(&j, "module", "hinomi");
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "rule");
	hn_json_kv_str(&j, "id", a->rule_id);
	hn_json_kv_str(&j, "name", a->rule_title);
	hn_json_arr_open(&j, "author");
	if (a->rule_author)
		hn_json_arr_str(&j, a->rule_author, strlen(a->rule_author));
	hn_json_arr_close(&j);
	hn_json_kv_str(&j, "ruleset", "sigma");
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "threat");
	hn_json_kv_str(&j, "framework", "MITRE ATT&CK");
	hn_json_obj_open(&j, "technique");
	hn_json_arr_open(&j, "id");
	tj.want = 1;
	each_tag(a->rule_tags, tag_json, &tj);
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "tactic");
	hn_json_arr_open(&j, "name");
	tj.want = 2;
	each_tag(a->rule_tags, tag_json, &tj);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "id");
	tj.want = 3;
	each_tag(a->rule_tags, tag_json, &tj);
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "process");
	if (a->entity) {
		char e[20];
		snprintf(e, sizeof(e), "%016llx", (unsigned long long)a->entity);
		hn_json_kv_str(&j, "entity_id", e);
	}
	if (a->pid)
		hn_json_kv_u64(&j, "pid", a->pid);
	hn_json_kv_str(&j, "executable", a->executable);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, "hinomi");
	hn_json_obj_open(&j, "alert");
	hn_json_kv_i64(&j, "id", a->id);
	hn_json_kv_u64(&j, "count", a->count);
	hn_ecs_time(a->last_time, ts, sizeof(ts));
	hn_json_kv_str(&j, "last_seen", ts);
	hn_json_kv_str(&j, "level", a->rule_level);
	hn_json_kv_str(&j, "tags", a->rule_tags);
	hn_json_kv_str(&j, "rule_file", a->rule_path);
	hn_json_kv_str(&j, "group", a->group_key);
	hn_json_obj_close(&j);
	if (a->event_json)
		hn_json_kv_raw(&j, "event", a->event_json);
	hn_json_obj_close(&j);
	hn_json_obj_close(&j);
	hn_json_end(&j);
}

static void put_text(struct out *o, const struct hn_alert *a)
{
	char t[40];

	cli_time_str(a->time, t, sizeof(t));
	hn_strbuf_addf(&o->sb, "%s  %-8s ", t, a->rule_level ? a->rule_level : "-");
	cli_escape(&o->sb, a->rule_title, strlen(a->rule_title));
	if (a->count > 1)
		hn_strbuf_addf(&o->sb, "  x%llu", (unsigned long long)a->count);
	hn_strbuf_addf(&o->sb, "  pid %u ", a->pid);
	if (a->executable)
		cli_escape(&o->sb, a->executable, strlen(a->executable));
	if (a->entity)
		hn_strbuf_addf(&o->sb, " [%016llx]", (unsigned long long)a->entity);
	if (a->rule_id) {
		hn_strbuf_adds(&o->sb, "  rule ");
		cli_escape(&o->sb, a->rule_id, strlen(a->rule_id));
	}
	if (a->rule_author) {
		hn_strbuf_adds(&o->sb, " by ");
		cli_escape(&o->sb, a->rule_author, strlen(a->rule_author));
	}
}

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct out *o = arg;

	hn_strbuf_reset(&o->sb);
	if (o->json)
		put_json(o, a);
	else
		put_text(o, a);
	o->n++;
	return cli_put_line(&o->sb) < 0 ? -EIO : 0;
}

int cmd_alerts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	struct out o = { 0 };
	struct hn_store *s = NULL;
	uint64_t since = 0, dur;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_duration(optarg, &dur) < 0) {
				fprintf(stderr, "hinomi alerts: bad duration '%s'\n", optarg);
				return 2;
			}
			since = cli_now_ns() > dur ? cli_now_ns() - dur : 0;
			break;
		case 'j': o.json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (cli_store_open_ro("alerts", db, &s) < 0)
		return 1;
	hn_strbuf_init(&o.sb);
	r = hn_store_alerts(s, since, on_alert, &o);
	if (r == -ENOENT) {
		r = 0;   /* a store from before alerts: none */
	} else if (r < 0) {
		fprintf(stderr, "hinomi alerts: %s\n", hn_store_errmsg(s));
	}
	if (!o.json && !o.n && r == 0)
		fprintf(stderr, "no alerts\n");
	hn_strbuf_release(&o.sb);
	hn_store_close(s);
	return r < 0 ? 1 : 0;
}
