/*
 * commands.c - the table of subcommands and small helpers they share.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct hn_command hn_commands[] = {
	{ "agent",    cmd_agent,    "run the sensor and record this host (foreground)" },
	{ "status",   cmd_status,   "what is active, counters, store size, events/s" },
	{ "events",   cmd_events,   "list recorded events" },
	{ "tree",     cmd_tree,     "process tree with argv, exited processes included" },
	{ "timeline", cmd_timeline, "what a process and its descendants did, in order" },
	{ "sql",      cmd_sql,      "read-only SQL over the store" },
	{ "alerts",   cmd_alerts,   "alerts raised by the rules, grouped per process tree" },
	{ "detect",   cmd_detect,   "match Sigma rules against recorded events (NDJSON or a store)" },
	{ "rules",    cmd_rules,    "check Sigma rules: what loads, what does not and why" },
	{ "ioc",      cmd_ioc,      "check IOC lists (CSV, MISP, STIX): what loads, what does not and why" },
	{ "investigate", cmd_investigate, "how an attack got in, what led to what, what it touched" },
	{ "incidents", cmd_incidents, "alerts grouped by the attack they belong to" },
	{ "actions", cmd_actions, "the response actions taken: who, when, what they changed" },
	{ "kill", cmd_kill, "stop a process or its whole tree (frozen first, checked by entity)" },
	{ "quarantine", cmd_quarantine, "move files into the vault, or list it" },
	{ "restore", cmd_restore, "put a quarantined file back, bytes and metadata" },
	{ "block", cmd_block, "refuse the execution of a SHA-256 (fanotify, fails open)" },
	{ "unblock", cmd_unblock, "allow a blocked SHA-256 again" },
	{ "remediate", cmd_remediate, "undo what an attack did, from its impact scope" },
	{ "undo", cmd_undo, "reverse a recorded response action" },
	{ "isolate", cmd_isolate, "cut this host off the network but for the addresses allowed (nftables)" },
	{ "unisolate", cmd_unisolate, "end the network isolation: delete its table, nothing else" },
	{ "check", cmd_check, "a quick compromise assessment of this host now, with a verdict" },
	{ "scan",    cmd_scan,    "scan files or process memory with YARA rules and IOC hashes" },
	{ NULL, NULL, NULL },
};

const char *cli_default_db(void)
{
	const char *e = getenv("HINOMI_DB");
	return e && *e ? e : "/var/lib/hinomi/hinomi.db";
}

int cli_parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v;
	uint64_t mult = 1000000000ULL;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1000000000ULL;
	else if (strcmp(end, "ms") == 0)
		mult = 1000000ULL;
	else if (strcmp(end, "m") == 0)
		mult = 60ULL * 1000000000ULL;
	else if (strcmp(end, "h") == 0)
		mult = 3600ULL * 1000000000ULL;
	else if (strcmp(end, "d") == 0)
		mult = 86400ULL * 1000000000ULL;
	else
		return -EINVAL;
	*ns = (uint64_t)(v * (double)mult);
	return 0;
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int cli_check_args(int argc, char **argv, void (*usage)(FILE *f), bool *json, bool *quiet,
		   int *first)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		usage(stderr);
		return 2;
	}
	/* the options and paths after "check" */
	argc--;
	argv++;
	optind = 1;
	while ((o = getopt_long(argc, argv, "jqh", opts, NULL)) != -1) {
		switch (o) {
		case 'j': *json = true; break;
		case 'q': *quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	*first = optind + 1;
	return -1;
}
