/*
 * cli.h - hinomi's subcommands.
 *
 * One binary, many subcommands (like git): main.c looks the first argument
 * up in hn_commands[] (cli/commands.c) and calls its function with the
 * remaining arguments (argv[0] is the subcommand's name).  Each subcommand
 * lives in its own file cli/cmd_NAME.c, parses its options, calls modules
 * and renders the result; nothing but main.c uses cli/.
 *
 * To add a subcommand: write cli/cmd_NAME.c with
 *     int cmd_NAME(int argc, char **argv);
 * declare it below, and add a row to hn_commands[] in cli/commands.c.
 * `hinomi NAME --help` must print its usage and exit 0.
 *
 * Exit codes: 0 success, 1 failure (the error printed to stderr once),
 * 2 usage error.  `check` adds 3 (suspicious) and 4 (compromised).
 * 2 usage error; `hinomi scan` adds 3: something was found.
 */
#ifndef HINOMI_CLI_H
#define HINOMI_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct hn_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;   /* one line for `hinomi --help` */
};

extern const struct hn_command hn_commands[];

/* Default store path: $HINOMI_DB, else /var/lib/hinomi/hinomi.db. */
const char *cli_default_db(void);

/* Parse a duration ("30s", "5m", "2h", "7d", plain seconds) into ns.
 * 0 or -EINVAL. */
int cli_parse_duration(const char *s, uint64_t *ns);

/* Current wall-clock time in ns since the epoch. */
uint64_t cli_now_ns(void);

/* The arguments of a "NAME check PATH... [--json] [--quiet]" subcommand
 * (rules, ioc): *json, *quiet and *first (argv index of the first PATH)
 * set.  -1 to go on, or the exit code (--help: 0 after usage(stdout); a
 * usage error: 2 after usage(stderr)). */
int cli_check_args(int argc, char **argv, void (*usage)(FILE *f), bool *json, bool *quiet,
		   int *first);

int cmd_agent(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_sql(int argc, char **argv);
int cmd_rules(int argc, char **argv);
int cmd_alerts(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_ioc(int argc, char **argv);
int cmd_investigate(int argc, char **argv);
int cmd_incidents(int argc, char **argv);
int cmd_actions(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_quarantine(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_unblock(int argc, char **argv);
int cmd_remediate(int argc, char **argv);
int cmd_undo(int argc, char **argv);

/* SHA-256 of a file, hex, into out.  0 or -errno. (cmd_block.c) */
int cli_sha256_file(const char *path, char out[65]);
/* exits 0 clean, 3 suspicious, 4 compromised (1 error, 2 usage) */
int cmd_check(int argc, char **argv);

/* "16 hex digits": an entity id into *entity; decimal: a pid into *pid
 * (the other 0).  0 or -EINVAL. (cmd_kill.c) */
int cli_parse_process(const char *s, uint64_t *entity, uint32_t *pid);
int cmd_isolate(int argc, char **argv);
int cmd_unisolate(int argc, char **argv);
int cmd_scan(int argc, char **argv);

#endif
