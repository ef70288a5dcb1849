/*
 * cmd_status.c - `hinomi status`: what the agent has active, its counters,
 * the store's size and the event rate, as the agent last published them
 * (every second, in the store's meta table).
 */
#include "cli/cli.h"
#include "store/store.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: hinomi status [--db PATH] [--json]\n\n"
		   "What the agent has active, its counters (seen, filtered, dropped per\n"
		   "event type), the store's size and the event rate.\n");
}

/* "key":NUMBER out of the agent's status JSON (it is ours: flat enough). */
static unsigned long long json_num(const char *js, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(js, pat);
	return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hn_store_opts so = { .path = cli_default_db(), .readonly = true };
	struct hn_store *s = NULL;
	struct hn_store_stats st;
	char *js = NULL, *tx = NULL;
	bool json = false, alive;
	unsigned long long pid, updated;
	int c, r;

	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			so.path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	r = hn_store_open(&so, &s);
	if (r < 0) {
		fprintf(stderr, "hinomi status: cannot open %s: %s\n", so.path,
			s ? hn_store_errmsg(s) : hn_store_open_errmsg());
		hn_store_close(s);
		return 1;
	}
	if (hn_store_meta_get(s, "status.json", &js) < 0 ||
	    hn_store_meta_get(s, "status.text", &tx) < 0) {
		fprintf(stderr, "hinomi status: no agent has recorded into %s yet\n", so.path);
		hn_store_close(s);
		return 1;
	}
	hn_store_stats(s, &st);
	pid = json_num(js, "pid");
	updated = json_num(js, "updated_ns");
	alive = strstr(js, "\"running\":true") && pid && kill((pid_t)pid, 0) == 0 &&
		cli_now_ns() - updated < 10ULL * 1000000000ULL;
	if (json) {
		/* the agent's object, plus what only the reader knows */
		size_t n = strlen(js);
		if (n && js[n - 1] == '}')
			js[n - 1] = '\0';
		struct hn_strbuf path;
		hn_strbuf_init(&path);
		hn_json_str(&path, so.path, strlen(so.path));
		printf("%s,\"agent_alive\":%s,\"db_path\":%s,\"db_bytes_now\":%llu}\n", js,
		       alive ? "true" : "false", path.buf ? path.buf : "\"\"",
		       (unsigned long long)st.db_bytes);
		hn_strbuf_release(&path);
	} else {
		printf("%s", tx);
		printf("\nstore file %s (%.1f MiB now)\n", so.path, (double)st.db_bytes / 1048576.0);
		if (!alive)
			printf("the agent is not running now; figures are from its last update\n");
	}
	free(js);
	free(tx);
	hn_store_close(s);
	return 0;
}
