/*
 * cmd_tree.c - `hinomi tree`: the process tree as the store knows it, with
 * argv, exited processes included (marked with their exit status and time).
 *
 * Without an argument: every root (a process whose parent is not in the
 * store) and its subtree.  With PID or ENTITY: the chain of ancestors from
 * its root down to it, then its whole subtree.  A PID that several entities
 * had (pid reuse) picks the newest and says so on stderr.
 *
 * Bounds: at most TREE_MAX_DEPTH levels (ancestors included) and
 * TREE_MAX_NODES processes are shown; past either, a marker line (JSON:
 * "truncated": true) says what was left out.  Parent links are followed
 * with a visited check, so a cycle in bad data cannot loop.
 *
 * JSON (--json): one document; nested objects with "children" arrays
 * (roots mode: an array of root objects).  Written by hand with
 * hn_json_str for strings, because trees nest deeper than struct hn_json
 * allows.
 */
#include "cli/cli.h"
#include "cli/cli_render.h"
#include "event/ecs.h"
#include "event/entity.h"
#include "store/store.h"
#include "util/json.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TREE_MAX_DEPTH 64
#define TREE_MAX_NODES 100000

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi tree [PID|ENTITY] [--json] [--entities] [--db PATH]\n\n"
		"The process tree with argv, exited processes included.  With a PID or\n"
		"an entity id (16 hex digits): its ancestors, then its whole subtree.\n\n"
		"  -j, --json      nested JSON objects\n"
		"  -E, --entities  show entity ids in the text tree\n"
		"  -d, --db PATH   the store (default %s)\n",
		cli_default_db());
}

struct tree {
	struct hn_store *s;
	bool json, entities;
	unsigned nodes;
	bool node_limit_hit;
	int err;
	struct hn_strbuf prefix;   /* text mode: the "│  " columns */
	struct hn_strbuf line;
};

/* A growable list of processes (children of one node). */
struct plist {
	struct hn_process **p;
	size_t n, cap;
	int err;
};

static struct hn_process *proc_dup(const struct hn_process *p)
{
	struct hn_process *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *p;
	d->executable = p->executable ? strdup(p->executable) : NULL;
	d->cwd = p->cwd ? strdup(p->cwd) : NULL;
	d->args = NULL;
	if (p->args) {
		d->args = malloc(p->args_len + 1);
		if (d->args) {
			memcpy(d->args, p->args, p->args_len);
			d->args[p->args_len] = '\0';
		}
	}
	if ((p->executable && !d->executable) || (p->cwd && !d->cwd) ||
	    (p->args && !d->args)) {
		hn_process_free(d);
		return NULL;
	}
	return d;
}

static int plist_add(const struct hn_process *p, void *arg)
{
	struct plist *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct hn_process **np = realloc(l->p, cap * sizeof(*np));
		if (!np)
			return l->err = -ENOMEM;
		l->p = np;
		l->cap = cap;
	}
	l->p[l->n] = proc_dup(p);
	if (!l->p[l->n])
		return l->err = -ENOMEM;
	l->n++;
	return 0;
}

static void plist_release(struct plist *l)
{
	for (size_t i = 0; i < l->n; i++)
		hn_process_free(l->p[i]);
	free(l->p);
	memset(l, 0, sizeof(*l));
}

/* ---- text ---- */

static bool argv0_is_exe(const struct hn_process *p)
{
	return p->args && p->executable && strcmp(p->args, p->executable) == 0;
}

static void text_label(struct tree *t, const struct hn_process *p, bool selected)
{
	struct hn_strbuf *sb = &t->line;
	char tm[40], eb[20];

	hn_strbuf_addf(sb, "%u ", p->pid);
	if (p->args && p->args_len) {
		cli_argv(sb, p->args, p->args_len, CLI_ARGV_MAX);
		if (p->executable && !argv0_is_exe(p)) {
			hn_strbuf_adds(sb, "  (");
			cli_escape(sb, p->executable, strlen(p->executable));
			hn_strbuf_addc(sb, ')');
		}
	} else if (p->executable) {
		cli_escape(sb, p->executable, strlen(p->executable));
	} else {
		hn_strbuf_addc(sb, '[');
		cli_escape(sb, p->comm, strnlen(p->comm, sizeof(p->comm)));
		hn_strbuf_addc(sb, ']');
	}
	if (p->exited) {
		if (p->exit_signal) {
			const char *a = sigabbrev_np(p->exit_signal);
			if (a)
				hn_strbuf_addf(sb, "  [killed by SIG%s", a);
			else
				hn_strbuf_addf(sb, "  [killed by signal %d", p->exit_signal);
		} else {
			hn_strbuf_addf(sb, "  [exited %d", p->exit_code);
		}
		if (p->exit_time) {
			cli_time_str(p->exit_time, tm, sizeof(tm));
			hn_strbuf_addf(sb, " at %s", tm);
		}
		hn_strbuf_addc(sb, ']');
	}
	if (t->entities)
		hn_strbuf_addf(sb, "  {%s}", hn_entity_str(p->entity, eb, sizeof(eb)));
	if (selected)
		hn_strbuf_adds(sb, "  <==");
}

/* Print one node line: prefix + branch + label. */
static int text_node(struct tree *t, const struct hn_process *p, int depth,
		     bool last, bool selected)
{
	hn_strbuf_reset(&t->line);
	if (depth > 0) {
		hn_strbuf_add(&t->line, t->prefix.buf, t->prefix.len);
		hn_strbuf_adds(&t->line, last ? "└─ " : "├─ ");
	}
	text_label(t, p, selected);
	return cli_put_line(&t->line);
}

static int text_marker(struct tree *t, int depth, const char *what)
{
	hn_strbuf_reset(&t->line);
	if (depth > 0)
		hn_strbuf_add(&t->line, t->prefix.buf, t->prefix.len);
	hn_strbuf_addf(&t->line, "└─ … %s", what);
	return cli_put_line(&t->line);
}

/* ---- JSON ---- */

static void json_key(struct hn_strbuf *sb, bool *first, const char *key)
{
	if (!*first)
		hn_strbuf_addc(sb, ',');
	*first = false;
	hn_json_str(sb, key, strlen(key));
	hn_strbuf_addc(sb, ':');
}

/* Open a node object: every field, then `"children":[` left open. */
static void json_node_open(struct hn_strbuf *sb, const struct hn_process *p,
			   bool selected)
{
	char b[HN_ECS_TIME_LEN > 40 ? HN_ECS_TIME_LEN : 40];
	bool first = true;

	hn_strbuf_addc(sb, '{');
	json_key(sb, &first, "entity_id");
	hn_entity_str(p->entity, b, sizeof(b));
	hn_json_str(sb, b, strlen(b));
	json_key(sb, &first, "pid");
	hn_strbuf_addf(sb, "%u", p->pid);
	json_key(sb, &first, "ppid");
	hn_strbuf_addf(sb, "%u", p->ppid);
	if (p->parent_entity) {
		json_key(sb, &first, "parent_entity_id");
		hn_entity_str(p->parent_entity, b, sizeof(b));
		hn_json_str(sb, b, strlen(b));
	}
	json_key(sb, &first, "name");
	hn_json_str(sb, p->comm, strnlen(p->comm, sizeof(p->comm)));
	if (p->executable) {
		json_key(sb, &first, "executable");
		hn_json_str(sb, p->executable, strlen(p->executable));
	}
	if (p->args) {
		size_t len = p->args_len, i = 0;
		bool f2 = true;
		if (len && p->args[len - 1] == '\0')
			len--;
		json_key(sb, &first, "args");
		hn_strbuf_addc(sb, '[');
		while (i <= len && len) {
			const char *a = p->args + i;
			const char *end = memchr(a, '\0', len - i);
			size_t n = end ? (size_t)(end - a) : len - i;
			if (!f2)
				hn_strbuf_addc(sb, ',');
			f2 = false;
			hn_json_str(sb, a, n);
			i += n + 1;
			if (!end)
				break;
		}
		hn_strbuf_addc(sb, ']');
		json_key(sb, &first, "args_count");
		hn_strbuf_addf(sb, "%u", p->argc);
	}
	if (p->cwd) {
		json_key(sb, &first, "working_directory");
		hn_json_str(sb, p->cwd, strlen(p->cwd));
	}
	if (p->sha256[0]) {
		json_key(sb, &first, "sha256");
		hn_json_str(sb, p->sha256, strlen(p->sha256));
	}
	if (p->start_time) {
		json_key(sb, &first, "start");
		hn_ecs_time(p->start_time, b, sizeof(b));
		hn_json_str(sb, b, strlen(b));
	}
	json_key(sb, &first, "exited");
	hn_strbuf_adds(sb, p->exited ? "true" : "false");
	if (p->exited) {
		json_key(sb, &first, "exit_code");
		hn_strbuf_addf(sb, "%d", p->exit_code);
		if (p->exit_signal) {
			json_key(sb, &first, "exit_signal");
			hn_strbuf_addf(sb, "%d", p->exit_signal);
		}
		if (p->exit_time) {
			json_key(sb, &first, "end");
			hn_ecs_time(p->exit_time, b, sizeof(b));
			hn_json_str(sb, b, strlen(b));
		}
	}
	if (p->from_snapshot) {
		json_key(sb, &first, "from_snapshot");
		hn_strbuf_adds(sb, "true");
	}
	if (selected) {
		json_key(sb, &first, "selected");
		hn_strbuf_adds(sb, "true");
	}
	json_key(sb, &first, "children");
	hn_strbuf_addc(sb, '[');
}

static void json_node_close(struct hn_strbuf *sb, bool truncated)
{
	hn_strbuf_addc(sb, ']');
	if (truncated)
		hn_strbuf_adds(sb, ",\"truncated\":true");
	hn_strbuf_addc(sb, '}');
}

/* ---- walking ---- */

static void prefix_cut(struct tree *t, size_t len)
{
	t->prefix.len = len;
	if (t->prefix.buf)
		t->prefix.buf[len] = '\0';
}

/* Show p (at depth, last among its siblings) and its subtree. */
static int subtree(struct tree *t, const struct hn_process *p, int depth,
		   bool last, bool selected)
{
	struct plist kids = { 0 };
	size_t plen = t->prefix.len;
	bool truncated = false;
	int r = 0;

	t->nodes++;
	if (t->json)
		json_node_open(&t->line, p, selected);
	else if ((r = text_node(t, p, depth, last, selected)) < 0)
		return r;

	if (depth + 1 >= TREE_MAX_DEPTH) {
		/* Are there children we will not show? */
		r = hn_store_children(t->s, p->entity, plist_add, &kids);
		truncated = kids.n > 0;
		if (truncated && !t->json) {
			char what[64];
			snprintf(what, sizeof(what), "deeper levels not shown"
				 " (depth limit %d)", TREE_MAX_DEPTH);
			if (depth > 0)
				hn_strbuf_adds(&t->prefix, last ? "   " : "│  ");
			r = text_marker(t, depth + 1, what);
			prefix_cut(t, plen);
		}
		goto out;
	}
	r = hn_store_children(t->s, p->entity, plist_add, &kids);
	if (r < 0 || kids.err < 0) {
		fprintf(stderr, "hinomi tree: %s\n", kids.err < 0 ?
			"out of memory" : hn_store_errmsg(t->s));
		r = r < 0 ? r : kids.err;
		goto out;
	}
	if (depth > 0)
		hn_strbuf_adds(&t->prefix, last ? "   " : "│  ");
	for (size_t i = 0; i < kids.n; i++) {
		if (t->nodes >= TREE_MAX_NODES) {
			t->node_limit_hit = true;
			truncated = true;
			if (!t->json) {
				char what[96];
				snprintf(what, sizeof(what), "%zu more processes not "
					 "shown (limit %d)", kids.n - i, TREE_MAX_NODES);
				r = text_marker(t, depth + 1, what);
			}
			break;
		}
		if (t->json && i > 0)
			hn_strbuf_addc(&t->line, ',');
		r = subtree(t, kids.p[i], depth + 1, i + 1 == kids.n, false);
		if (r < 0)
			break;
	}
	prefix_cut(t, plen);
out:
	if (t->json)
		json_node_close(&t->line, truncated);
	plist_release(&kids);
	return r;
}

static int show_roots(struct tree *t)
{
	struct plist roots = { 0 };
	int r;

	r = hn_store_roots(t->s, plist_add, &roots);
	if (r < 0 || roots.err < 0) {
		fprintf(stderr, "hinomi tree: %s\n", roots.err < 0 ?
			"out of memory" : hn_store_errmsg(t->s));
		plist_release(&roots);
		return -EIO;
	}
	if (t->json)
		hn_strbuf_addc(&t->line, '[');
	for (size_t i = 0; i < roots.n && r >= 0; i++) {
		if (t->nodes >= TREE_MAX_NODES) {
			if (!t->json)
				printf("… %zu more trees not shown (limit %d processes)\n",
				       roots.n - i, TREE_MAX_NODES);
			break;
		}
		if (t->json && i > 0)
			hn_strbuf_addc(&t->line, ',');
		r = subtree(t, roots.p[i], 0, true, false);
	}
	if (t->json)
		hn_strbuf_addc(&t->line, ']');
	if (!roots.n && !t->json)
		fprintf(stderr, "hinomi tree: no processes recorded yet\n");
	plist_release(&roots);
	return r;
}

/* PID or entity id -> entity; prints the error (or the pid-reuse note). */
static int resolve(struct tree *t, const char *arg, uint64_t *out)
{
	uint64_t ents[16];
	char eb[20];
	size_t len = strlen(arg);
	bool digits = len > 0 && len <= 7 && strspn(arg, "0123456789") == len;
	int n;

	if (digits) {
		unsigned long pid = strtoul(arg, NULL, 10);
		n = hn_store_entities_by_pid(t->s, (uint32_t)pid, ents, 16);
		if (n < 0) {
			fprintf(stderr, "hinomi tree: %s\n", hn_store_errmsg(t->s));
			return n;
		}
		if (n == 0) {
			/* a short entity id made of digits? */
			struct hn_process *p = NULL;
			if (hn_entity_parse(arg, out) == 0 && *out &&
			    hn_store_process(t->s, *out, &p) == 0) {
				hn_process_free(p);
				return 0;
			}
			fprintf(stderr, "hinomi tree: no process with pid %lu in the store\n", pid);
			return -ENOENT;
		}
		if (n > 1) {
			fprintf(stderr, "hinomi tree: pid %lu was used by %s%d processes;"
				" showing the newest, entity %s (pass an entity id for"
				" another:", pid, n == 16 ? "at least " : "", n,
				hn_entity_str(ents[0], eb, sizeof(eb)));
			for (int i = 1; i < n; i++)
				fprintf(stderr, " %s", hn_entity_str(ents[i], eb, sizeof(eb)));
			fprintf(stderr, ")\n");
		}
		*out = ents[0];
		return 0;
	}
	if (hn_entity_parse(arg, out) < 0 || !*out)
		return -EINVAL;
	return 0;
}

static int show_process(struct tree *t, uint64_t entity)
{
	struct hn_process *chain[TREE_MAX_DEPTH];
	struct hn_process *p = NULL;
	int n = 0, r;

	r = hn_store_process(t->s, entity, &p);
	if (r == -ENOENT) {
		char eb[20];
		fprintf(stderr, "hinomi tree: no process with entity %s in the store\n",
			hn_entity_str(entity, eb, sizeof(eb)));
		return r;
	}
	if (r < 0) {
		fprintf(stderr, "hinomi tree: %s\n", hn_store_errmsg(t->s));
		return r;
	}
	/* chain[0] = the process, chain[n-1] = its topmost known ancestor */
	chain[n++] = p;
	while (n < TREE_MAX_DEPTH - 1) {
		struct hn_process *q = NULL;
		uint64_t pe = chain[n - 1]->parent_entity;
		bool seen = false;
		if (!pe)
			break;
		for (int i = 0; i < n; i++)
			seen |= chain[i]->entity == pe;
		if (seen || hn_store_process(t->s, pe, &q) < 0)
			break;
		chain[n++] = q;
	}
	if (t->json)
		hn_strbuf_addc(&t->line, '[');
	/* ancestors, top down, one child each */
	for (int i = n - 1; i > 0; i--) {
		int depth = n - 1 - i;
		t->nodes++;
		if (t->json) {
			json_node_open(&t->line, chain[i], false);
		} else {
			r = text_node(t, chain[i], depth, true, false);
			if (r < 0)
				goto out;
			if (depth > 0)
				hn_strbuf_adds(&t->prefix, "   ");
		}
	}
	r = subtree(t, p, n - 1, true, true);
	if (t->json) {
		for (int i = 1; i < n; i++)
			json_node_close(&t->line, false);
		hn_strbuf_addc(&t->line, ']');
	}
out:
	for (int i = 0; i < n; i++)
		hn_process_free(chain[i]);
	return r;
}

int cmd_tree(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "entities", no_argument, NULL, 'E' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tree t = { 0 };
	const char *db = cli_default_db();
	const char *which = NULL;
	uint64_t entity = 0;
	int c, r = 1;

	while ((c = getopt_long(argc, argv, "jEd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			t.json = true;
			break;
		case 'E':
			t.entities = true;
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
	if (optind < argc)
		which = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "hinomi tree: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (cli_store_open_ro("tree", db, &t.s) < 0)
		return 1;
	hn_strbuf_init(&t.prefix);
	hn_strbuf_init(&t.line);
	if (which) {
		int e = resolve(&t, which, &entity);
		if (e == -EINVAL) {
			fprintf(stderr, "hinomi tree: '%s' is neither a pid nor an"
				" entity id (16 hex digits)\n", which);
			r = 2;
			goto out;
		}
		if (e < 0)
			goto out;
		r = show_process(&t, entity) < 0 ? 1 : 0;
	} else {
		r = show_roots(&t) < 0 ? 1 : 0;
	}
	if (t.json && r == 0) {
		if (t.line.oom || cli_put_line(&t.line) < 0)
			r = 1;
	}
	if (t.node_limit_hit)
		fprintf(stderr, "hinomi tree: more than %d processes: the rest is not"
			" shown\n", TREE_MAX_NODES);
out:
	hn_strbuf_release(&t.prefix);
	hn_strbuf_release(&t.line);
	hn_store_close(t.s);
	return r;
}
