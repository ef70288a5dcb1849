/*
 * cmd_timeline.c - `hinomi timeline`: what a process and all its
 * descendants did, in time order, one line per event, indented by how far
 * below the chosen process the actor is and prefixed with its pid and name
 * (or ECS JSON, one object per line).
 *
 * The process is given by entity id or by pid (pid reuse: the newest
 * entity, said on stderr).  Depths come from the events' parent links and,
 * for a process first seen through a descendant, from the processes table;
 * they are cached in a bounded open-addressing table (TL_MAX_PROCS
 * processes; past it, lines are shown unindented, never dropped).
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "event/ecs.h"
#include "event/entity.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_MAX_PROCS  65536        /* depth cache bound (power of two) */
#define TL_MAX_INDENT 16           /* deeper levels indent no further */
#define TL_MAX_WALK   64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi timeline (--entity E | --pid P) [--since DUR] [--json]\n"
		"                       [--db PATH]\n\n"
		"What a process and its descendants did, in time order.\n\n"
		"  -e, --entity E   the process's entity id (16 hex digits)\n"
		"  -p, --pid P      the process with this pid (the newest if reused)\n"
		"  -s, --since DUR  only the last DUR (30s, 5m, 2h, 7d)\n"
		"  -j, --json       one ECS JSON object per line\n"
		"  -d, --db PATH    the store (default %s)\n",
		cli_default_db());
}

struct slot {
	uint64_t entity;   /* 0 = free */
	int depth;
};

struct timeline {
	struct hn_store *s;
	uint64_t root;
	bool json;
	const char *host;
	struct slot *map;  /* TL_MAX_PROCS slots */
	unsigned used;
	struct hn_strbuf sb;
	int err;
};

static struct slot *map_find(struct timeline *t, uint64_t e, bool add)
{
	size_t mask = TL_MAX_PROCS - 1;
	size_t i = (size_t)(e * 0x9e3779b97f4a7c15ULL >> 40) & mask;

	for (size_t n = 0; n < TL_MAX_PROCS; n++, i = (i + 1) & mask) {
		if (t->map[i].entity == e)
			return &t->map[i];
		if (!t->map[i].entity) {
			/* keep a quarter free so that probes stay short */
			if (!add || t->used >= TL_MAX_PROCS / 4 * 3)
				return NULL;
			t->map[i].entity = e;
			t->map[i].depth = -1;
			t->used++;
			return &t->map[i];
		}
	}
	return NULL;
}

/* Depth of entity e below the root; 0 when it cannot be told. */
static int depth_of(struct timeline *t, uint64_t e, uint64_t parent)
{
	uint64_t chain[TL_MAX_WALK];
	int n = 0, base = -1;
	struct slot *sl = map_find(t, e, false);

	if (sl && sl->depth >= 0)
		return sl->depth;
	/* Walk up until a known depth (the root is known: 0). */
	chain[n++] = e;
	while (n < TL_MAX_WALK) {
		struct slot *ps;
		struct hn_process *p = NULL;
		if (!parent && hn_store_process(t->s, chain[n - 1], &p) == 0) {
			parent = p->parent_entity;
			hn_process_free(p);
		}
		if (!parent || parent == chain[n - 1])
			break;
		ps = map_find(t, parent, false);
		if (ps && ps->depth >= 0) {
			base = ps->depth;
			break;
		}
		chain[n++] = parent;
		parent = 0;
	}
	if (base < 0) {
		/* Not placed (chain too long or cut): unindented, once. */
		sl = map_find(t, e, true);
		if (sl)
			sl->depth = 0;
		return 0;
	}
	for (int i = n - 1; i >= 0; i--) {
		struct slot *cs = map_find(t, chain[i], true);
		if (cs)
			cs->depth = base + (n - i);
	}
	return base + n;
}

static int print_event(const struct hn_event *ev, void *arg)
{
	struct timeline *t = arg;
	char tm[40], tb[24];
	int depth, r;

	hn_strbuf_reset(&t->sb);
	if (t->json) {
		r = hn_ecs_render(ev, t->host, &t->sb);
		if (r < 0) {
			fprintf(stderr, "hinomi timeline: cannot render event %lld: %s\n",
				(long long)ev->id, strerror(-r));
			return t->err = r;
		}
	} else {
		depth = ev->proc.entity ? depth_of(t, ev->proc.entity,
						  ev->proc.parent_entity) : 0;
		if (depth > TL_MAX_INDENT)
			depth = TL_MAX_INDENT;
		cli_time_str(ev->time, tm, sizeof(tm));
		hn_strbuf_addf(&t->sb, "%s  %*s%u ", tm, depth * 2, "", ev->proc.pid);
		cli_escape(&t->sb, ev->proc.comm, strnlen(ev->proc.comm,
							  sizeof(ev->proc.comm)));
		hn_strbuf_addf(&t->sb, "  %-14s ", cli_type_name(ev->type, tb, sizeof(tb)));
		cli_event_detail(&t->sb, ev);
	}
	r = cli_put_line(&t->sb);
	if (r < 0)
		t->err = r;
	return r;
}

int cmd_timeline(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "entity", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "since", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct timeline t = { 0 };
	struct hn_query q = { 0 };
	struct hn_process *p = NULL;
	const char *db = cli_default_db();
	char host[256], eb[20];
	unsigned long pid = 0;
	uint64_t dur;
	struct slot *root;
	char *end;
	int c, n, r = 1;

	while ((c = getopt_long(argc, argv, "e:p:s:jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (hn_entity_parse(optarg, &t.root) < 0 || !t.root) {
				fprintf(stderr, "hinomi timeline: bad entity id '%s'"
					" (1 to 16 hex digits)\n", optarg);
				return 2;
			}
			break;
		case 'p':
			errno = 0;
			pid = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-' || !pid ||
			    pid > UINT32_MAX) {
				fprintf(stderr, "hinomi timeline: bad pid '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (cli_parse_duration(optarg, &dur) < 0) {
				fprintf(stderr, "hinomi timeline: bad duration '%s'\n", optarg);
				return 2;
			}
			q.since = cli_now_ns() - dur;
			break;
		case 'j':
			t.json = true;
			break;
		case 'd':
			db = optarg;
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
		fprintf(stderr, "hinomi timeline: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!t.root == !pid) {
		fprintf(stderr, "hinomi timeline: give one of --entity or --pid\n");
		usage(stderr);
		return 2;
	}
	if (cli_store_open_ro("timeline", db, &t.s) < 0)
		return 1;
	hn_strbuf_init(&t.sb);
	if (pid) {
		uint64_t ents[16];
		n = hn_store_entities_by_pid(t.s, (uint32_t)pid, ents, 16);
		if (n < 0) {
			fprintf(stderr, "hinomi timeline: %s\n", hn_store_errmsg(t.s));
			goto out;
		}
		if (n == 0) {
			fprintf(stderr, "hinomi timeline: no process with pid %lu in the"
				" store\n", pid);
			goto out;
		}
		if (n > 1)
			fprintf(stderr, "hinomi timeline: pid %lu was used by %s%d"
				" processes; showing the newest, entity %s\n", pid,
				n == 16 ? "at least " : "", n,
				hn_entity_str(ents[0], eb, sizeof(eb)));
		t.root = ents[0];
	}
	n = hn_store_process(t.s, t.root, &p);
	if (n == -ENOENT) {
		fprintf(stderr, "hinomi timeline: no process with entity %s in the"
			" store\n", hn_entity_str(t.root, eb, sizeof(eb)));
		goto out;
	}
	if (n < 0) {
		fprintf(stderr, "hinomi timeline: %s\n", hn_store_errmsg(t.s));
		goto out;
	}
	t.map = calloc(TL_MAX_PROCS, sizeof(*t.map));
	if (!t.map) {
		fprintf(stderr, "hinomi timeline: out of memory\n");
		goto out;
	}
	root = map_find(&t, t.root, true);
	root->depth = 0;
	cli_host_name(t.s, host, sizeof(host));
	t.host = host;
	if (!t.json) {
		hn_strbuf_addf(&t.sb, "# timeline of pid %u ", p->pid);
		cli_escape(&t.sb, p->comm, strnlen(p->comm, sizeof(p->comm)));
		hn_strbuf_addf(&t.sb, " (entity %s) and its descendants",
			       hn_entity_str(t.root, eb, sizeof(eb)));
		if (cli_put_line(&t.sb) < 0)
			goto out;
	}
	q.entity = t.root;
	q.descendants = true;
	n = hn_store_query(t.s, &q, print_event, &t);
	if (n < 0 && !t.err) {
		fprintf(stderr, "hinomi timeline: %s\n", hn_store_errmsg(t.s));
		goto out;
	}
	if (t.err)
		goto out;
	r = 0;
out:
	hn_process_free(p);
	free(t.map);
	hn_strbuf_release(&t.sb);
	hn_store_close(t.s);
	return r;
}
