/*
 * cmd_agent.c - `hinomi agent`: run the sensor and record this host.
 */
#include "agent/agent.h"
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi agent [--db PATH] [--config FILE] [--quiet] [--duration SECS]\n"
		"                    [--max-size MB] [--max-age DUR] [--no-snapshot]\n"
		"                    [--rules PATH]... [--no-rules] [--ioc PATH]... [--no-ioc]\n"
		"\n"
		"Load the kernel sensor and record what this host does into the store,\n"
		"in the foreground, until Ctrl-C (or SIGTERM).  Prints a short line for\n"
		"notable events and a summary at the end.  SIGHUP reads the rules, the\n"
		"allowlist and the IOC lists again (a file that does not load is reported,\n"
		"as at start; the old set stays only when there is no memory for the new).\n"
		"Needs root.\n"
		"\n"
		"  --db PATH        the store (default %s)\n"
		"  --config FILE    noise filter and watch list (default /etc/hinomi/agent.conf)\n"
		"  --quiet          no live lines\n"
		"  --duration SECS  stop after this long\n"
		"  --max-size MB    retention: keep the store under this size (default 1024)\n"
		"  --max-age DUR    retention: drop events older than this (default 30d)\n"
		"  --no-snapshot    do not record the processes already running\n"
		"  --rules PATH     Sigma rules (a file or a directory) to match events\n"
		"                   against, alerts into the store; may be repeated.\n"
		"                   Default: $HINOMI_RULES, /etc/hinomi/rules and the\n"
		"                   rules shipped with hinomi, where they exist\n"
		"  --no-rules       match no rules\n"
		"  --ioc PATH       IOC lists (a CSV, MISP or STIX file, or a directory of\n"
		"                   .csv/.txt/.json files) to match executables' and written\n"
		"                   files' hashes, remote addresses and DNS names against;\n"
		"                   may be repeated.  Default: $HINOMI_IOC and\n"
		"                   /etc/hinomi/ioc, where they exist\n"
		"  --no-ioc         match no IOC lists\n"
		"  --scan-new       scan new executables with YARA rules (the first run of\n"
		"                   a file, a file made executable); a hit is an alert\n"
		"  --yara PATH      YARA rules for --scan-new (may be repeated); default\n"
		"                   those of `hinomi scan`\n"
		"  --tuning FILE    allowlist silencing rules where they misfire\n"
		"                   (default /etc/hinomi/tuning.conf; docs/DETECT.md)\n"
		"  --ready-file F   create F once recording, with the running processes\n"
		"                   in the store (for scripts)\n",
		cli_default_db());
}

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "duration", required_argument, NULL, 't' },
		{ "max-size", required_argument, NULL, 's' },
		{ "max-age", required_argument, NULL, 'a' },
		{ "no-snapshot", no_argument, NULL, 'n' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "rules", required_argument, NULL, 'R' },
		{ "no-rules", no_argument, NULL, 'N' },
		{ "tuning", required_argument, NULL, 'T' },
		{ "ioc", required_argument, NULL, 'I' },
		{ "no-ioc", no_argument, NULL, 'X' },
		{ "scan-new", no_argument, NULL, 'S' },
		{ "yara", required_argument, NULL, 'Y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct hn_agent_opts o = { .db_path = cli_default_db(), .live = stdout };
	const char *rules[HN_AGENT_MAX_RULE_PATHS], *iocs[HN_AGENT_MAX_IOC_PATHS];
	const char *yara[HN_AGENT_MAX_YARA_PATHS];
	int c;

	o.rules = rules;
	o.iocs = iocs;
	o.yara = yara;
	while ((c = getopt_long(argc, argv, "d:c:qt:s:a:nr:R:NT:I:XSY:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.db_path = optarg;
			break;
		case 'R':
			if (o.nrules == HN_AGENT_MAX_RULE_PATHS) {
				fprintf(stderr, "hinomi agent: at most %d --rules\n",
					HN_AGENT_MAX_RULE_PATHS);
				return 2;
			}
			rules[o.nrules++] = optarg;
			break;
		case 'N':
			o.no_rules = true;
			break;
		case 'I':
			if (o.nioc == HN_AGENT_MAX_IOC_PATHS) {
				fprintf(stderr, "hinomi agent: at most %d --ioc\n",
					HN_AGENT_MAX_IOC_PATHS);
				return 2;
			}
			iocs[o.nioc++] = optarg;
			break;
		case 'X':
			o.no_ioc = true;
			break;
		case 'S':
			o.scan_new = true;
			break;
		case 'Y':
			if (o.nyara == HN_AGENT_MAX_YARA_PATHS) {
				fprintf(stderr, "hinomi agent: at most %d --yara\n",
					HN_AGENT_MAX_YARA_PATHS);
				return 2;
			}
			yara[o.nyara++] = optarg;
			o.scan_new = true;
			break;
		case 'T':
			o.tuning_path = optarg;
			break;
		case 'c':
			o.config_path = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 't':
			o.duration = atof(optarg);
			if (o.duration <= 0) {
				fprintf(stderr, "hinomi agent: --duration wants seconds > 0\n");
				return 2;
			}
			break;
		case 's': {
			char *end;
			unsigned long long mb = strtoull(optarg, &end, 10);
			if (*end || mb == 0) {
				fprintf(stderr, "hinomi agent: --max-size wants megabytes > 0\n");
				return 2;
			}
			o.max_bytes = mb << 20;
			break;
		}
		case 'a':
			if (cli_parse_duration(optarg, &o.max_age_ns) < 0 || !o.max_age_ns) {
				fprintf(stderr, "hinomi agent: --max-age wants a duration like 7d\n");
				return 2;
			}
			break;
		case 'n':
			o.no_snapshot = true;
			break;
		case 'r':
			o.ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return hn_agent_run(&o) < 0 ? 1 : 0;
}
