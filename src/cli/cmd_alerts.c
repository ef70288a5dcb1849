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

static int on_alert(const struct hn_alert *a, void *arg)
{
	struct out *o = arg;

	hn_strbuf_reset(&o->sb);
	if (o->json)
		cli_alert_json(&o->sb, a);
	else
		cli_alert_text(&o->sb, a);
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
