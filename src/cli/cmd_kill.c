/*
 * cmd_kill.c - `hinomi kill ENTITY|PID [--tree]`: stop a process or its
 * whole tree (respond.h: hn_kill), recorded as an action.  An ENTITY is
 * the 16 hex digits every event carries (process.entity_id); a PID is
 * decimal and names the live process.
 */
#include "cli/cli.h"
#include "event/entity.h"
#include "respond/respond.h"
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
		"usage: hinomi kill ENTITY|PID [--tree] [--db PATH]\n\n"
		"Stop a process, or with --tree the process and all its descendants (the\n"
		"live ones, and those the store recorded as descendants that live on under\n"
		"another parent).  The tree is frozen first (SIGSTOP until no member runs\n"
		"and none is new), then killed (SIGKILL), each member checked by its start\n"
		"time so that a reused pid is never hit.  Refuses pid 1, kernel threads,\n"
		"this command's own parents and the agent.  Recorded as an action.\n\n"
		"  -t, --tree       the descendants too\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

/* "16 hex digits" = an entity; decimal = a pid.  0 or -EINVAL. */
int cli_parse_process(const char *s, uint64_t *entity, uint32_t *pid)
{
	char *end;
	unsigned long v;

	*entity = 0;
	*pid = 0;
	if (strlen(s) == 16)
		return hn_entity_parse(s, entity) == 0 && *entity ? 0 : -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v == 0 || v > (1u << 22))
		return -EINVAL;
	*pid = (uint32_t)v;
	return 0;
}

int cmd_kill(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tree", no_argument, NULL, 't' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	struct hn_kill_result k = { 0 };
	struct hn_respond r;
	struct hn_strbuf sb;
	struct hn_json j;
	char summary[256], es[20];
	uint64_t entity;
	uint32_t pid;
	bool tree = false;
	int64_t id;
	int c, rc, killed = 0;

	while ((c = getopt_long(argc, argv, "td:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': tree = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	if (cli_parse_process(argv[optind], &entity, &pid) < 0) {
		fprintf(stderr, "hinomi kill: '%s' is neither an entity id (16 hex digits) "
			"nor a pid\n", argv[optind]);
		return 2;
	}
	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi kill: %s\n", r.err);
		return 1;
	}
	rc = hn_act_begin(&r, tree ? "kill-tree" : "kill", argv[optind], 0, &id);
	if (rc < 0) {
		fprintf(stderr, "hinomi kill: %s\n", r.err);
		hn_respond_close(&r);
		return 1;
	}
	rc = hn_kill(&r, entity, pid, tree, &k);
	hn_strbuf_init(&sb);
	hn_json_begin(&j, &sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_bool(&j, "tree", tree);
	hn_json_arr_open(&j, "processes");
	for (int i = 0; i < k.n; i++) {
		hn_json_obj_open(&j, NULL);
		hn_json_kv_u64(&j, "pid", k.procs[i].pid);
		if (k.procs[i].entity)
			hn_json_kv_str(&j, "entity_id",
				       hn_entity_str(k.procs[i].entity, es, sizeof(es)));
		hn_json_kv_strn(&j, "comm", k.procs[i].comm,
				strnlen(k.procs[i].comm, sizeof(k.procs[i].comm)));
		hn_json_kv_bool(&j, "killed", k.procs[i].killed);
		hn_json_obj_close(&j);
		killed += k.procs[i].killed;
		printf("%s %u %s%s%s\n", k.procs[i].killed ? "killed" : "gone  ",
		       k.procs[i].pid, k.procs[i].comm, k.procs[i].entity ? "  " : "",
		       k.procs[i].entity ? hn_entity_str(k.procs[i].entity, es, sizeof(es)) : "");
	}
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	if (rc < 0) {
		fprintf(stderr, "hinomi kill: %s\n", r.err);
		hn_act_end(&r, id, k.n ? "partial" : "failed", r.err,
			   hn_json_end(&j) == 0 ? sb.buf : NULL);
	} else {
		snprintf(summary, sizeof(summary), "%d process%s killed, %d already gone",
			 killed, killed == 1 ? "" : "es", k.gone);
		rc = hn_act_end(&r, id, "done", summary, hn_json_end(&j) == 0 ? sb.buf : NULL);
		if (rc < 0)
			fprintf(stderr, "hinomi kill: %s\n", r.err);
	}
	hn_strbuf_release(&sb);
	hn_kill_result_release(&k);
	hn_respond_close(&r);
	return rc < 0 ? 1 : 0;
}
