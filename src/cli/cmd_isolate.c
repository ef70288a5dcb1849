/*
 * cmd_isolate.c - `hinomi isolate [--allow ADDR[:PORT]]... [--dns]`,
 * `hinomi isolate --status [--json]` and `hinomi unisolate`: network
 * containment with nftables (respond.h, "isolation"; docs/RESPOND.md).
 *
 * The command line is the whole allow list: isolating again replaces the
 * table in force (in one transaction) with the one asked for, and the
 * same arguments again re-apply it.  Every --allow is checked before
 * anything changes; a bad one is a usage error naming it.  Each change is
 * an action in the store (kind "isolate" or "unisolate"; its detail holds
 * the table text applied, or deleted, exactly).  An unisolate with nothing
 * to undo changes nothing, says so, exits 0 and is not recorded.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "respond/respond.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RESOLV_CONF "/etc/resolv.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi isolate [--allow ADDR[:PORT]]... [--dns] [--db PATH]\n"
		"       hinomi isolate --status [--json] [--db PATH]\n"
		"       hinomi unisolate [--db PATH]\n\n"
		"Cut this host off the network, but for loopback, the addresses allowed,\n"
		"DHCP, IPv6 neighbour discovery and, with --dns, the nameservers of\n"
		"/etc/resolv.conf.  Connections to the allowed addresses that are up\n"
		"survive; every other one, established or not, is dropped.  All of it is\n"
		"one nftables table (inet hinomi_isolation); the agent puts it back when\n"
		"it starts (after a reboot) until `hinomi unisolate` deletes it, and\n"
		"nothing else.  Isolating again replaces the allow list with the one\n"
		"given.  Each change is recorded (`hinomi actions`).  Needs root.\n\n"
		"  -a, --allow ADDR[:PORT]  keep ADDR reachable (IPv4 or IPv6, a CIDR prefix\n"
		"                           allowed): every protocol, or with a port TCP and\n"
		"                           UDP on that port at either end; IPv6 with a port\n"
		"                           is written [ADDR]:PORT; may be repeated, or\n"
		"                           several separated by commas\n"
		"  -n, --dns                keep the nameservers of /etc/resolv.conf\n"
		"                           reachable on port 53\n"
		"  -s, --status             whether this host is isolated, since when, by\n"
		"                           whom, what is allowed, whether the table is in\n"
		"                           place\n"
		"  -j, --json               --status as one JSON object\n"
		"  -d, --db PATH            the store (default %s); the state is kept\n"
		"                           in its directory, or in $HINOMI_STATE_DIR\n",
		cli_default_db());
}

static int need_root(const char *cmd)
{
	if (geteuid() == 0)
		return 0;
	fprintf(stderr, "hinomi %s: must be run as root (it changes the firewall); "
			"nothing changed\n", cmd);
	return -EPERM;
}

/* ---- --status ---- */

static void json_allows(struct hn_json *j, const char *key, const struct hn_allow *v, int n)
{
	hn_json_arr_open(j, key);
	for (int i = 0; i < n; i++)
		hn_json_arr_str(j, v[i].text, strlen(v[i].text));
	hn_json_arr_close(j);
}

static int isolate_status(const char *db, bool json)
{
	struct hn_respond r;
	struct hn_isolation *st = calloc(1, sizeof(*st));
	char allowed[2048], when[40] = "", *text = NULL;
	int loaded, table = -1;      /* table: 1 in place, 0 missing, -1 unknown */
	const char *why_unknown = NULL;
	int rc = 1;

	memset(&r, 0, sizeof(r));
	if (!st) {
		fprintf(stderr, "hinomi isolate: out of memory\n");
		return 1;
	}
	if (hn_respond_state_dir(db, r.state_dir, sizeof(r.state_dir)) < 0) {
		fprintf(stderr, "hinomi isolate: state directory: path too long\n");
		goto out;
	}
	loaded = hn_isolation_load(&r, st);
	if (loaded < 0 && loaded != -ENOENT) {
		fprintf(stderr, "hinomi isolate: %s\n", r.err);
		goto out;
	}
	if (geteuid() != 0) {
		why_unknown = "not root: the kernel's tables cannot be read";
	} else if (hn_isolation_check(&r) < 0) {
		why_unknown = r.err;
	} else {
		int t = hn_isolation_table(&r, &text);
		if (t < 0 && t != -ENOENT)
			why_unknown = r.err;
		else
			table = t == 0;
	}
	hn_isolation_describe(st, allowed, sizeof(allowed));
	if (st->since)
		cli_time_str(st->since, when, sizeof(when));
	if (json) {
		struct hn_strbuf sb;
		struct hn_json j;

		hn_strbuf_init(&sb);
		hn_json_begin(&j, &sb);
		hn_json_obj_open(&j, NULL);
		hn_json_kv_bool(&j, "isolated", loaded == 0);
		if (loaded == 0) {
			hn_json_kv_str(&j, "since", when);
			hn_json_kv_u64(&j, "since_ns", st->since);
			hn_json_kv_str(&j, "by", st->by);
			hn_json_kv_i64(&j, "action", st->action);
			json_allows(&j, "allow", st->allow, st->nallow);
			hn_json_kv_bool(&j, "dns", st->dns);
			json_allows(&j, "dns_servers", st->dns_servers, st->ndns);
		}
		hn_json_kv_str(&j, "table", HN_ISO_FAMILY " " HN_ISO_TABLE);
		if (table < 0) {
			hn_json_kv_null(&j, "table_present");
			hn_json_kv_str(&j, "table_unknown", why_unknown);
		} else {
			hn_json_kv_bool(&j, "table_present", table == 1);
		}
		hn_json_kv_str(&j, "state_dir", r.state_dir);
		hn_json_obj_close(&j);
		if (hn_json_end(&j) < 0) {
			fprintf(stderr, "hinomi isolate: out of memory\n");
			hn_strbuf_release(&sb);
			goto out;
		}
		printf("%s\n", sb.buf);
		hn_strbuf_release(&sb);
		rc = 0;
		goto out;
	}
	if (loaded == 0) {
		printf("isolated since %s by %s (action #%lld)\n", when, st->by,
		       (long long)st->action);
		printf("allowed: loopback, DHCP, IPv6 neighbour discovery%s%s\n",
		       strcmp(allowed, "nothing") ? ", " : "",
		       strcmp(allowed, "nothing") ? allowed : "");
	} else {
		printf("not isolated\n");
	}
	if (table < 0)
		printf("table %s %s: unknown (%s)\n", HN_ISO_FAMILY, HN_ISO_TABLE, why_unknown);
	else if (loaded == 0)
		printf("table %s %s: %s\n", HN_ISO_FAMILY, HN_ISO_TABLE,
		       table ? "in place" : "MISSING (run `hinomi isolate` again, or start "
					   "the agent, to put it back)");
	else if (table)
		printf("table %s %s: in place without a state (`hinomi unisolate` removes it)\n",
		       HN_ISO_FAMILY, HN_ISO_TABLE);
	rc = 0;
out:
	free(text);
	free(st);
	return rc;
}

/* ---- isolate ---- */

static void print_changes(const struct hn_isolation *prev, const struct hn_isolation *st)
{
	for (int i = 0; i < prev->nallow; i++) {
		bool kept = false;
		for (int k = 0; k < st->nallow; k++)
			kept |= strcmp(prev->allow[i].text, st->allow[k].text) == 0;
		if (!kept)
			printf("  no longer allowed: %s\n", prev->allow[i].text);
	}
	if (prev->dns && !st->dns)
		printf("  no longer allowed: DNS\n");
}

static int do_isolate(const char *db, struct hn_isolation *st)
{
	struct hn_respond r;
	struct hn_isolation *prev = calloc(1, sizeof(*prev));
	struct hn_strbuf detail;
	char allowed[2048], summary[2900], *ruleset = NULL, *replaced = NULL;
	int64_t id = 0;
	int had, rc = 1;

	hn_strbuf_init(&detail);
	if (!prev) {
		fprintf(stderr, "hinomi isolate: out of memory\n");
		return 1;
	}
	if (hn_respond_open(&r, db) < 0) {
		fprintf(stderr, "hinomi isolate: %s; nothing changed\n", r.err);
		goto out;
	}
	if (hn_isolation_check(&r) < 0) {
		fprintf(stderr, "hinomi isolate: %s; nothing changed\n", r.err);
		goto out;
	}
	had = hn_isolation_load(&r, prev);
	if (had < 0 && had != -ENOENT)   /* unreadable: replaced all the same */
		fprintf(stderr, "hinomi isolate: warning: %s\n", r.err);
	if (hn_isolation_table(&r, &replaced) < 0)
		replaced = NULL;
	hn_isolation_describe(st, allowed, sizeof(allowed));
	if (hn_act_begin(&r, "isolate", allowed, 0, &id) < 0) {
		fprintf(stderr, "hinomi isolate: %s; nothing changed\n", r.err);
		goto out;
	}
	st->action = id;
	snprintf(st->by, sizeof(st->by), "%s", r.user);
	st->since = had == 0 && prev->since ? prev->since : cli_now_ns();
	if (hn_isolation_apply(&r, st, &ruleset) < 0) {
		fprintf(stderr, "hinomi isolate: %s; nothing changed\n", r.err);
		snprintf(summary, sizeof(summary), "failed, nothing changed: %s", r.err);
		hn_act_end(&r, id, "failed", summary, NULL);
		goto out;
	}
	if (hn_isolation_detail(st, ruleset, replaced, &detail) < 0)
		hn_strbuf_release(&detail);    /* recorded without it */
	if (hn_isolation_save(&r, st) < 0) {
		fprintf(stderr, "hinomi isolate: the host IS isolated, but the state is not "
				"saved, so a restart of the agent or a reboot will not restore "
				"it: %s\n", r.err);
		snprintf(summary, sizeof(summary), "isolated (allowed: %s), not saved: %s",
			 allowed, r.err);
		hn_act_end(&r, id, "partial", summary, detail.buf);
		goto out;
	}
	snprintf(summary, sizeof(summary), "%s table %s %s; allowed: %s",
		 replaced ? "replaced" : "added", HN_ISO_FAMILY, HN_ISO_TABLE, allowed);
	rc = 0;
	if (hn_act_end(&r, id, "done", summary, detail.buf) < 0) {
		fprintf(stderr, "hinomi isolate: the host is isolated, but %s\n", r.err);
		rc = 1;
	}
	printf("hinomi: network isolated (action #%lld)%s\n", (long long)id,
	       replaced ? ", replacing the table in force" : "");
	if (had == 0)
		print_changes(prev, st);
	printf("  reachable: loopback, DHCP, IPv6 neighbour discovery%s%s\n",
	       strcmp(allowed, "nothing") ? ", " : "", strcmp(allowed, "nothing") ? allowed : "");
	if (st->dns && st->ndns == 0)
		printf("  note: /etc/resolv.conf names no nameserver off this host; "
		       "allow its upstream servers with --allow ADDR:53\n");
	printf("  everything else is dropped, established connections included\n"
	       "  all of it is table %s %s; `hinomi unisolate` deletes it\n",
	       HN_ISO_FAMILY, HN_ISO_TABLE);
out:
	hn_respond_close(&r);
	hn_strbuf_release(&detail);
	free(ruleset);
	free(replaced);
	free(prev);
	return rc;
}

int cmd_isolate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "allow", required_argument, NULL, 'a' },
		{ "dns", no_argument, NULL, 'n' },
		{ "status", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hn_isolation *st = calloc(1, sizeof(*st));
	const char *db = cli_default_db();
	bool status = false, json = false, dns = false;
	char why[256];
	int c, rc = 2;

	if (!st) {
		fprintf(stderr, "hinomi isolate: out of memory\n");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "a:nsjd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': {
			/* "A,B" is two addresses */
			char *list = strdup(optarg), *save = NULL;
			int r = list ? 0 : -ENOMEM, ntok = 0;

			for (char *t = list ? strtok_r(list, ",", &save) : NULL; t && r == 0;
			     t = strtok_r(NULL, ",", &save)) {
				ntok++;
				r = hn_isolation_allow(st, t, why, sizeof(why));
				if (r < 0)
					fprintf(stderr, "hinomi isolate: --allow '%s': %s; "
							"nothing changed\n", t, why);
			}
			if (list && ntok == 0) {
				/* empty, or nothing but commas */
				fprintf(stderr, "hinomi isolate: --allow '%s': no address; "
						"nothing changed\n", optarg);
				r = -EINVAL;
			}
			free(list);
			if (r < 0)
				goto out;
			break;
		}
		case 'n': dns = true; break;
		case 's': status = true; break;
		case 'j': json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hinomi isolate: unexpected argument '%s' (give each address "
				"with --allow); nothing changed\n", argv[optind]);
		goto out;
	}
	if (status && (st->nallow || dns)) {
		fprintf(stderr, "hinomi isolate: --status changes nothing: no --allow or "
				"--dns with it\n");
		goto out;
	}
	if (json && !status) {
		fprintf(stderr, "hinomi isolate: --json goes with --status\n");
		goto out;
	}
	if (status) {
		rc = isolate_status(db, json);
		goto out;
	}
	rc = 1;
	if (need_root("isolate") < 0)
		goto out;
	if (dns && hn_isolation_dns(st, RESOLV_CONF, why, sizeof(why)) < 0) {
		fprintf(stderr, "hinomi isolate: --dns: %s; nothing changed\n", why);
		goto out;
	}
	rc = do_isolate(db, st);
out:
	free(st);
	return rc;
}

/* ---- unisolate ---- */

/* A row that undoes `undoes` (hn_act_begin cannot say so). */
static int act_begin_undo(struct hn_respond *r, const char *target, int64_t undoes,
			  int64_t *id)
{
	struct hn_action a = {
		.undo_of = undoes,
		.user = r->user,
		.kind = "unisolate",
		.target = target,
		.status = "running",
	};
	int rc = hn_store_action_add(r->store, &a, id);

	if (rc < 0)
		return hn_respond_fail(r, rc, "cannot record the action: %s",
				       hn_store_errmsg(r->store));
	return 0;
}

int cmd_unisolate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hn_isolation *st = calloc(1, sizeof(*st));
	const char *db = cli_default_db();
	struct hn_respond r;
	struct hn_strbuf detail;
	struct hn_json j;
	char allowed[2048], summary[2900], *deleted = NULL, *current = NULL;
	bool had_table = false, had_state = false;
	int64_t id = 0;
	int c, loaded, t, rc = 2;

	memset(&r, 0, sizeof(r));
	hn_strbuf_init(&detail);
	if (!st) {
		fprintf(stderr, "hinomi unisolate: out of memory\n");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'h': usage(stdout); rc = 0; goto out;
		default: usage(stderr); goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "hinomi unisolate: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	rc = 1;
	if (need_root("unisolate") < 0)
		goto out;
	if (hn_respond_open(&r, db) < 0 || hn_isolation_check(&r) < 0) {
		fprintf(stderr, "hinomi unisolate: %s; nothing changed\n", r.err);
		goto out;
	}
	loaded = hn_isolation_load(&r, st);
	if (loaded < 0 && loaded != -ENOENT)   /* removed all the same */
		fprintf(stderr, "hinomi unisolate: warning: %s\n", r.err);
	t = hn_isolation_table(&r, &current);
	if (t < 0 && t != -ENOENT) {
		fprintf(stderr, "hinomi unisolate: %s; nothing changed\n", r.err);
		goto out;
	}
	if (loaded == -ENOENT && t == -ENOENT) {
		printf("hinomi: this host is not isolated; nothing changed\n");
		rc = 0;
		goto out;
	}
	if (loaded == 0)
		hn_isolation_describe(st, allowed, sizeof(allowed));
	else
		snprintf(allowed, sizeof(allowed), "isolation without a readable state");
	if (act_begin_undo(&r, allowed, loaded == 0 ? st->action : 0, &id) < 0) {
		fprintf(stderr, "hinomi unisolate: %s; nothing changed\n", r.err);
		goto out;
	}
	if (hn_unisolate(&r, &deleted, &had_table, &had_state) < 0) {
		fprintf(stderr, "hinomi unisolate: %s\n", r.err);
		snprintf(summary, sizeof(summary), "failed: %s", r.err);
		hn_act_end(&r, id, had_table ? "partial" : "failed", summary, NULL);
		goto out;
	}
	hn_json_begin(&j, &detail);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "table", HN_ISO_FAMILY " " HN_ISO_TABLE);
	if (loaded == 0) {
		hn_json_kv_i64(&j, "undoes", st->action);
		json_allows(&j, "allow", st->allow, st->nallow);
		hn_json_kv_bool(&j, "dns", st->dns);
		json_allows(&j, "dns_servers", st->dns_servers, st->ndns);
	}
	hn_json_kv_bool(&j, "table_deleted", had_table);
	if (deleted)
		hn_json_kv_str(&j, "deleted_ruleset", deleted);
	hn_json_kv_bool(&j, "state_removed", had_state);
	hn_json_obj_close(&j);
	snprintf(summary, sizeof(summary), "%s%s%s",
		 had_table ? "deleted table " HN_ISO_FAMILY " " HN_ISO_TABLE : "the table was "
		 "not in place", had_state ? "; removed the isolation state" : "",
		 "; nothing else changed");
	rc = 0;
	if (hn_act_end(&r, id, "done", summary,
		       hn_json_end(&j) == 0 ? detail.buf : NULL) < 0) {
		fprintf(stderr, "hinomi unisolate: the isolation is removed, but %s\n", r.err);
		rc = 1;
	}
	printf("hinomi: network isolation removed (action #%lld)\n  %s\n", (long long)id,
	       summary);
out:
	hn_respond_close(&r);
	hn_strbuf_release(&detail);
	free(deleted);
	free(current);
	free(st);
	return rc;
}
