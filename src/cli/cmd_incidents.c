/*
 * cmd_incidents.c - `hinomi incidents [--json]`: the store's alerts grouped
 * into incidents (alerts whose processes share a malicious root; see
 * src/investigate/incident.c), the most recent last.  One line each, or
 * one JSON object per line.  `hinomi investigate INCIDENT` tells one's
 * story.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "event/ecs.h"
#include "event/entity.h"
#include "investigate/investigate.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi incidents [--json] [--db PATH]\n\n"
		"The alerts grouped into incidents: alerts whose processes share the\n"
		"attack's first process (its malicious root) are one incident, with an id,\n"
		"a title, a severity and a time span.  hinomi investigate INCIDENT tells\n"
		"its story.\n\n"
		"  -j, --json      one JSON object per incident\n"
		"  -d, --db PATH   the store (default %s)\n",
		cli_default_db());
}

static void incident_json(struct hn_strbuf *b, const struct hn_incident *x)
{
	struct hn_json j;
	char t[64], e[32];

	hn_json_begin(&j, b);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "id", x->id);
	hn_json_kv_str(&j, "title", x->title);
	hn_json_kv_str(&j, "severity", x->severity);
	hn_ecs_time(x->first, t, sizeof(t));
	hn_json_kv_str(&j, "first", t);
	hn_ecs_time(x->last, t, sizeof(t));
	hn_json_kv_str(&j, "last", t);
	if (x->root) {
		hn_json_obj_open(&j, "malicious_root");
		hn_json_kv_str(&j, "entity", hn_entity_str(x->root, e, sizeof(e)));
		if (x->root_exe)
			hn_json_kv_str(&j, "executable", x->root_exe);
		hn_json_obj_close(&j);
		hn_json_kv_str(&j, "entry", hn_inv_entry_name(x->entry));
	}
	hn_json_kv_u64(&j, "matches", x->matches);
	hn_json_arr_open(&j, "alerts");
	for (size_t i = 0; i < x->n_alerts; i++)
		hn_json_arr_u64(&j, (uint64_t)x->alerts[i]);
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	(void)hn_json_end(&j);
}

static void incident_text(struct hn_strbuf *b, const struct hn_incident *x)
{
	char t1[64], t2[64];

	cli_time_str(x->first, t1, sizeof(t1));
	cli_time_str(x->last, t2, sizeof(t2));
	hn_strbuf_addf(b, "%s  %-8s %s .. %s  %zu alert%s  %s", x->id, x->severity, t1, t2,
		       x->n_alerts, x->n_alerts == 1 ? " " : "s", x->title);
	if (x->root)
		hn_strbuf_addf(b, "  [%s, root %s]", hn_inv_entry_name(x->entry),
			       x->root_exe ? x->root_exe : "?");
}

int cmd_incidents(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	struct hn_incident *v = NULL;
	struct hn_store *s = NULL;
	struct hn_strbuf b;
	bool json = false;
	size_t n = 0;
	int c, r;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (cli_store_open_ro("incidents", db, &s) < 0)
		return 1;
	r = hn_incidents(s, &v, &n);
	if (r < 0) {
		fprintf(stderr, "hinomi incidents: %s\n",
			r == -ENOMEM ? "out of memory" : hn_store_errmsg(s));
		hn_store_close(s);
		return 1;
	}
	hn_strbuf_init(&b);
	for (size_t i = 0; i < n && r == 0; i++) {
		hn_strbuf_reset(&b);
		if (json)
			incident_json(&b, &v[i]);
		else
			incident_text(&b, &v[i]);
		r = cli_put_line(&b) < 0 ? -EIO : 0;
	}
	if (!json && !n && r == 0)
		fprintf(stderr, "no incidents\n");
	hn_strbuf_release(&b);
	hn_incidents_free(v, n);
	hn_store_close(s);
	return r < 0 ? 1 : 0;
}
