/*
 * main.c - hinomi's entry point: find the subcommand in hn_commands[]
 * (cli/cli.h) and run it.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: hinomi COMMAND [OPTIONS]\n\n"
		   "hinomi records what this Linux host does (processes, files,\n"
		   "network, kernel) into a local store, and shows it.\n\ncommands:\n");
	for (const struct hn_command *c = hn_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n`hinomi COMMAND --help` describes one command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (const struct hn_command *c = hn_commands; c->name; c++)
		if (!strcmp(c->name, argv[1]))
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "hinomi: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
