/*
 * cmd_block.c - `hinomi block --sha256 H | --file PATH [--reason TEXT]`,
 * `hinomi block --list [--json]` and `hinomi unblock --sha256 H`: the
 * hashes whose execution the agent refuses (respond.h: the block list;
 * agent/exec_guard.c enforces it, failing open).  Each change is an
 * action in the store.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "respond/respond.h"
#include "util/hex.h"
#include "util/json.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi block (--sha256 H | --file PATH) [--reason TEXT] [--db PATH]\n"
		"       hinomi block --list [--json] [--db PATH]\n"
		"       hinomi unblock --sha256 H [--db PATH]\n\n"
		"Refuse the execution of files with a SHA-256: the running agent enforces\n"
		"the list with fanotify (within a second), answers every exec within a\n"
		"deadline and fails open (on overload, or when it stops).  A refused exec is\n"
		"an event (exec_blocked) and an alert.  Each change is an action.\n\n"
		"  -s, --sha256 H   the hash (64 hex digits)\n"
		"  -f, --file PATH  the hash of this file\n"
		"  -r, --reason T   why (kept with the entry)\n"
		"  -l, --list       the blocked hashes\n"
		"  -j, --json       (list) one JSON object per hash\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

/* SHA-256 of a file into out.  0 or -errno. */
int cli_sha256_file(const char *path, char out[65])
{
	unsigned char buf[65536], dg[32];
	EVP_MD_CTX *md;
	unsigned dn = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -EIO;

	if (fd < 0)
		return -errno;
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			goto out;
	if (n < 0) {
		rc = -errno;
		goto out;
	}
	if (EVP_DigestFinal_ex(md, dg, &dn) != 1 || dn != 32)
		goto out;
	hn_hex(dg, 32, out);
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return rc;
}

/* Whether an agent records into this store now (its status says so). */
static uint32_t agent_running(struct hn_store *s)
{
	char *st = NULL, *p;
	uint32_t pid = 0;

	if (hn_store_meta_get(s, "status.json", &st) < 0 || !st)
		return 0;
	if (strstr(st, "\"running\":true") && (p = strstr(st, "\"pid\":")))
		pid = (uint32_t)strtoul(p + 6, NULL, 10);
	free(st);
	return pid && kill((pid_t)pid, 0) == 0 ? pid : 0;
}

static int list(struct hn_respond *r, bool json)
{
	struct hn_blocklist b;
	struct hn_strbuf sb;
	char err[512], t[40];
	int rc = hn_blocklist_load(r->state_dir, &b, err, sizeof(err));

	if (rc < 0 && rc != -EINVAL) {
		fprintf(stderr, "hinomi block: %s\n", err);
		return rc;
	}
	if (rc == -EINVAL)
		fprintf(stderr, "hinomi block: %s\n", err);
	hn_strbuf_init(&sb);
	for (int i = 0; i < b.n; i++) {
		const struct hn_block_entry *e = &b.v[i];
		hn_strbuf_reset(&sb);
		cli_time_str(e->time, t, sizeof(t));
		if (json) {
			struct hn_json j;
			hn_json_begin(&j, &sb);
			hn_json_obj_open(&j, NULL);
			hn_json_kv_str(&j, "sha256", e->sha256);
			hn_json_kv_u64(&j, "time_ns", e->time);
			hn_json_kv_str(&j, "time", t);
			if (e->action)
				hn_json_kv_i64(&j, "action", e->action);
			hn_json_kv_str(&j, "reason", e->reason);
			hn_json_obj_close(&j);
			hn_json_end(&j);
		} else {
			hn_strbuf_addf(&sb, "%s  %s", e->sha256, t);
			if (e->reason) {
				hn_strbuf_adds(&sb, "  ");
				cli_escape(&sb, e->reason, strlen(e->reason));
			}
		}
		if (cli_put_line(&sb) < 0)
			break;
	}
	if (!json && b.n == 0)
		printf("no hash is blocked\n");
	hn_strbuf_release(&sb);
	hn_blocklist_release(&b);
	return 0;
}

static int change(const char *db, bool add, const char *sha, const char *reason,
		  const char *file)
{
	const char *cmd = add ? "block" : "unblock";
	struct hn_respond r;
	struct hn_strbuf sb;
	struct hn_json j;
	char summary[256];
	uint32_t agent;
	int64_t id;
	int rc;

	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi %s: %s\n", cmd, r.err);
		return 1;
	}
	rc = hn_act_begin(&r, cmd, sha, 0, &id);
	if (rc < 0) {
		fprintf(stderr, "hinomi %s: %s\n", cmd, r.err);
		hn_respond_close(&r);
		return 1;
	}
	rc = add ? hn_blocklist_add(&r, sha, id, reason) : hn_blocklist_remove(&r, sha);
	if (rc < 0) {
		fprintf(stderr, "hinomi %s: %s\n", cmd, r.err);
		hn_act_end(&r, id, "failed", r.err, NULL);
		hn_respond_close(&r);
		return 1;
	}
	hn_strbuf_init(&sb);
	hn_json_begin(&j, &sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "sha256", sha);
	if (file)
		hn_json_kv_str(&j, "file", file);
	if (reason)
		hn_json_kv_str(&j, "reason", reason);
	hn_json_obj_close(&j);
	snprintf(summary, sizeof(summary), "%s %s the block list", sha,
		 add ? "added to" : "removed from");
	rc = hn_act_end(&r, id, "done", summary, hn_json_end(&j) == 0 ? sb.buf : NULL);
	hn_strbuf_release(&sb);
	if (rc < 0)
		fprintf(stderr, "hinomi %s: %s\n", cmd, r.err);
	agent = agent_running(r.store);
	printf("%s %s\n", add ? "blocked" : "unblocked", sha);
	if (agent)
		printf("the agent (pid %u) %s within a second\n", agent,
		       add ? "refuses its execution" : "allows it again");
	else
		printf("no agent records into %s: the list takes effect when one runs\n", db);
	hn_respond_close(&r);
	return rc < 0 ? 1 : 0;
}

static int run(int argc, char **argv, bool add)
{
	static const struct option opts[] = {
		{ "sha256", required_argument, NULL, 's' },
		{ "file", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db(), *sha = NULL, *file = NULL, *reason = NULL;
	const char *cmd = add ? "block" : "unblock";
	bool do_list = false, json = false;
	char fsha[65];
	int c;

	while ((c = getopt_long(argc, argv, "s:f:r:ljd:h", opts, NULL)) != -1) {
		switch (c) {
		case 's': sha = optarg; break;
		case 'f': file = optarg; break;
		case 'r': reason = optarg; break;
		case 'l': do_list = true; break;
		case 'j': json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (!do_list && !sha == !file) || (do_list && (sha || file))) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "hinomi %s: must run as root\n", cmd);
		return 1;
	}
	if (do_list) {
		struct hn_respond r;
		int rc;
		memset(&r, 0, sizeof(r));
		if (hn_respond_state_dir(db, r.state_dir, sizeof(r.state_dir)) < 0)
			return 1;
		rc = list(&r, json);
		return rc < 0 ? 1 : 0;
	}
	if (file) {
		int rc = cli_sha256_file(file, fsha);
		if (rc < 0) {
			fprintf(stderr, "hinomi %s: %s: %s\n", cmd, file, strerror(-rc));
			return 1;
		}
		sha = fsha;
	}
	if (!hn_sha256_valid(sha)) {
		fprintf(stderr, "hinomi %s: '%s' is not a SHA-256 (64 lowercase hex digits)\n",
			cmd, sha);
		return 2;
	}
	return change(db, add, sha, reason, file);
}

int cmd_block(int argc, char **argv)
{
	return run(argc, argv, true);
}

int cmd_unblock(int argc, char **argv)
{
	return run(argc, argv, false);
}
