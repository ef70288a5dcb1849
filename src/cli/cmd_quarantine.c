/*
 * cmd_quarantine.c - `hinomi quarantine PATH…`, `hinomi quarantine list
 * [--json]` and `hinomi restore ID [--to PATH]`: files moved into the
 * vault and back (respond.h, vault.c), each move an action in the store.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "respond/respond.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi quarantine PATH... [--db PATH]\n"
		"       hinomi quarantine list [--json] [--db PATH]\n\n"
		"Move files into the vault (root only, under the state directory): the\n"
		"content is kept encrypted so that no scanner fires on it, with the path,\n"
		"owner, mode, timestamps, xattrs and SHA-256.  `hinomi restore ID` puts a\n"
		"file back exactly.  Each move is an action (`hinomi actions`).\n\n"
		"  -j, --json       (list) one JSON object per item\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

static void restore_usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi restore ID [--to PATH] [--db PATH]\n\n"
		"Put a quarantined file back where it was (or at PATH): the same bytes,\n"
		"owner, mode, timestamps and xattrs.  Nothing that exists is replaced.\n\n"
		"  -t, --to PATH    restore to PATH instead of the original path\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

/* The item as JSON members (detail of an action, or a list row). */
static void item_json(struct hn_json *j, const struct hn_qitem *q)
{
	char mode[16];

	hn_json_kv_str(j, "id", q->id);
	hn_json_kv_str(j, "path", q->path);
	hn_json_kv_str(j, "type", S_ISLNK(q->mode) ? "symlink" : "file");
	if (q->link)
		hn_json_kv_str(j, "link", q->link);
	snprintf(mode, sizeof(mode), "%04o", q->mode & 07777);
	hn_json_kv_str(j, "mode", mode);
	hn_json_kv_u64(j, "uid", q->uid);
	hn_json_kv_u64(j, "gid", q->gid);
	hn_json_kv_u64(j, "size", q->size);
	hn_json_kv_u64(j, "mtime_ns", (uint64_t)q->mtime.tv_sec * 1000000000ULL +
		       (uint64_t)q->mtime.tv_nsec);
	if (q->sha256[0])
		hn_json_kv_str(j, "sha256", q->sha256);
	hn_json_kv_u64(j, "xattrs", (uint64_t)q->nxattrs);
	hn_json_kv_u64(j, "time_ns", q->time);
	if (q->action)
		hn_json_kv_i64(j, "action", q->action);
	hn_json_kv_bool(j, "restored", q->restored);
}

static char *item_detail(const struct hn_qitem *q, const char *restored_to)
{
	struct hn_strbuf sb;
	struct hn_json j;

	hn_strbuf_init(&sb);
	hn_json_begin(&j, &sb);
	hn_json_obj_open(&j, NULL);
	item_json(&j, q);
	if (restored_to)
		hn_json_kv_str(&j, "restored_to", restored_to);
	hn_json_obj_close(&j);
	if (hn_json_end(&j) < 0) {
		hn_strbuf_release(&sb);
		return NULL;
	}
	return sb.buf;   /* owned by the caller */
}

static int need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "hinomi %s: must run as root (the vault is root's)\n", cmd);
	return -EPERM;
}

/* Quarantine one path as its own action.  0 or -errno (printed). */
static int quarantine_one(struct hn_respond *r, const char *path)
{
	struct hn_qitem *q = NULL;
	char summary[4200], *detail;
	int64_t id;
	int rc;

	rc = hn_act_begin(r, "quarantine", path, 0, &id);
	if (rc < 0) {
		fprintf(stderr, "hinomi quarantine: %s\n", r->err);
		return rc;
	}
	rc = hn_quarantine(r, path, id, &q);
	if (rc < 0) {
		fprintf(stderr, "hinomi quarantine: %s\n", r->err);
		hn_act_end(r, id, "failed", r->err, NULL);
		return rc;
	}
	snprintf(summary, sizeof(summary), "%s moved to the vault as %s (%llu bytes%s%s)",
		 q->path, q->id, (unsigned long long)q->size, q->sha256[0] ? ", sha256 " : "",
		 q->sha256);
	detail = item_detail(q, NULL);
	printf("quarantined %s as %s%s%s\n", q->path, q->id,
	       q->sha256[0] ? "  sha256 " : "", q->sha256);
	rc = hn_act_end(r, id, "done", summary, detail);
	if (rc < 0)
		fprintf(stderr, "hinomi quarantine: %s\n", r->err);
	free(detail);
	hn_qitem_free(q);
	return rc;
}

struct list_out {
	bool json;
	struct hn_strbuf sb;
	unsigned n;
};

static int on_item(const struct hn_qitem *q, void *arg)
{
	struct list_out *o = arg;
	char t[40];

	o->n++;
	hn_strbuf_reset(&o->sb);
	if (o->json) {
		struct hn_json j;
		hn_json_begin(&j, &o->sb);
		hn_json_obj_open(&j, NULL);
		item_json(&j, q);
		hn_json_obj_close(&j);
		if (hn_json_end(&j) < 0)
			return -ENOMEM;
	} else {
		cli_time_str(q->time, t, sizeof(t));
		hn_strbuf_addf(&o->sb, "%s  %s  %-8s %10llu  %04o %u:%u  ", q->id, t,
			       q->restored ? "restored" : "held", (unsigned long long)q->size,
			       q->mode & 07777, q->uid, q->gid);
		cli_escape(&o->sb, q->path, strlen(q->path));
		if (q->sha256[0])
			hn_strbuf_addf(&o->sb, "  %s", q->sha256);
	}
	return cli_put_line(&o->sb) < 0 ? -EIO : 0;
}

static int list(struct hn_respond *r, bool json)
{
	struct list_out o = { .json = json };
	int rc;

	hn_strbuf_init(&o.sb);
	rc = hn_quarantine_list(r, on_item, &o);
	if (rc < 0 && rc != -EIO)
		fprintf(stderr, "hinomi quarantine: %s\n", r->err);
	if (rc == 0 && !json && o.n == 0)
		printf("the vault is empty\n");
	hn_strbuf_release(&o.sb);
	return rc;
}

int cmd_quarantine(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	struct hn_respond r;
	bool json = false, is_list;
	int c, rc = 0, failed = 0;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	is_list = strcmp(argv[optind], "list") == 0;
	if (is_list && optind + 1 < argc) {
		usage(stderr);
		return 2;
	}
	if (need_root("quarantine") < 0)
		return 1;
	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi quarantine: %s\n", r.err);
		return 1;
	}
	if (is_list) {
		rc = list(&r, json);
		hn_respond_close(&r);
		return rc < 0 ? 1 : 0;
	}
	/* each path on its own: one that fails does not stop the others */
	for (int i = optind; i < argc; i++)
		if (quarantine_one(&r, argv[i]) < 0)
			failed++;
	hn_respond_close(&r);
	return failed ? 1 : 0;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db(), *to = NULL, *qid;
	struct hn_qitem *q = NULL;
	struct hn_respond r;
	char summary[4300], *detail = NULL;
	int64_t id;
	int c, rc;

	while ((c = getopt_long(argc, argv, "t:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'd': db = optarg; break;
		case 'h': restore_usage(stdout); return 0;
		default: restore_usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		restore_usage(stderr);
		return 2;
	}
	qid = argv[optind];
	if (need_root("restore") < 0)
		return 1;
	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi restore: %s\n", r.err);
		return 1;
	}
	rc = hn_quarantine_get(&r, qid, &q);
	if (rc < 0) {
		fprintf(stderr, "hinomi restore: %s\n", r.err);
		goto out;
	}
	rc = hn_act_begin(&r, "restore", qid, 0, &id);
	if (rc < 0) {
		fprintf(stderr, "hinomi restore: %s\n", r.err);
		goto out;
	}
	rc = hn_restore(&r, qid, to);
	if (rc < 0) {
		fprintf(stderr, "hinomi restore: %s\n", r.err);
		hn_act_end(&r, id, "failed", r.err, NULL);
		goto out;
	}
	snprintf(summary, sizeof(summary), "%s put back at %s", qid, to ? to : q->path);
	detail = item_detail(q, to ? to : q->path);
	printf("restored %s to %s\n", qid, to ? to : q->path);
	rc = hn_act_end(&r, id, "done", summary, detail);
	if (rc < 0)
		fprintf(stderr, "hinomi restore: %s\n", r.err);
out:
	free(detail);
	hn_qitem_free(q);
	hn_respond_close(&r);
	return rc < 0 ? 1 : 0;
}
