/*
 * cmd_investigate.c - `hinomi investigate ALERT|ENTITY|PATH`: how the
 * attack got in, what led to what, and what it touched (the story,
 * src/investigate/), as plain text for a person on duty, or as one JSON
 * object (--json; docs/INVESTIGATE.md has its fields).
 *
 * The target: an alert's id (decimal, as `hinomi alerts --json` gives it),
 * an incident's id (`hinomi incidents`: its root's story, with all its
 * alerts), an entity id (16 hex digits), or an absolute path (the newest process
 * that ran it, else the newest that wrote it).
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
#include <sys/socket.h>

/* Lists longer than this are summarised in the text (JSON has them all). */
#define TEXT_LIST_MAX 20

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hinomi investigate ALERT|INCIDENT|ENTITY|PATH [--json] [--db PATH]\n\n"
		"How an attack got in (root cause), what led to what (intrusion path) and\n"
		"what it touched (impact scope), from what the store recorded.\n\n"
		"  ALERT           an alert id (hinomi alerts --json: \"id\")\n"
		"  INCIDENT        an incident id (hinomi incidents: inc-...)\n"
		"  ENTITY          a process entity id (16 hex digits)\n"
		"  PATH            a file: the newest process that ran it, else wrote it\n"
		"  -j, --json      one JSON object (entry, root, steps, scope lists)\n"
		"      --dot       the graph as Graphviz DOT text\n"
		"      --svg       the graph laid out by Graphviz, as SVG\n"
		"      --html      one HTML page: the story in words and the graph\n"
		"  -d, --db PATH   the store (default %s)\n",
		cli_default_db());
}

/* ---- JSON ---- */

static void j_time(struct hn_json *j, const char *key, uint64_t ns)
{
	char t[64];

	if (!ns)
		return;
	hn_ecs_time(ns, t, sizeof(t));   /* RFC 3339, UTC, as @timestamp */
	hn_json_kv_str(j, key, t);
}

static void j_entity(struct hn_json *j, const char *key, uint64_t e)
{
	char b[32];

	if (e)
		hn_json_kv_str(j, key, hn_entity_str(e, b, sizeof(b)));
}

static void j_addr(struct hn_json *j, const char *key, const struct hn_addr *a)
{
	char ip[64];

	hn_json_obj_open(j, key);
	hn_json_kv_str(j, "address", hn_addr_str(a, ip, sizeof(ip)));
	hn_json_kv_u64(j, "port", a->port);
	hn_json_obj_close(j);
}

static void j_proc(struct hn_json *j, const char *key, const struct hn_inv_proc *p)
{
	hn_json_obj_open(j, key);
	j_entity(j, "entity", p->entity);
	if (p->pid)
		hn_json_kv_u64(j, "pid", p->pid);
	if (p->entity)
		hn_json_kv_u64(j, "uid", p->uid);
	if (p->exe)
		hn_json_kv_str(j, "executable", p->exe);
	if (p->args)
		hn_json_kv_str(j, "args", p->args);
	j_time(j, key ? "time" : "start", p->start);
	hn_json_obj_close(j);
}

static const char *entry_text(const struct hn_story *st, char *buf, size_t n)
{
	char ip[96];
	const char *exe = st->entry_proc.exe ? st->entry_proc.exe : "an unknown program";

	if (st->has_remote) {
		char a[64];
		hn_addr_str(&st->remote, a, sizeof(a));
		snprintf(ip, sizeof(ip), "%s port %u", a, st->remote.port);
	}
	switch (st->entry) {
	case HN_INV_ENTRY_SSH:
		if (st->has_remote)
			snprintf(buf, n, "an ssh login from %s", ip);
		else
			snprintf(buf, n, "an ssh login");
		break;
	case HN_INV_ENTRY_SERVICE:
		snprintf(buf, n, "the network service %s (pid %u), which accepted a connection from %s",
			 exe, st->entry_proc.pid, st->has_remote ? ip : "an unknown address");
		break;
	case HN_INV_ENTRY_SCHEDULED:
		snprintf(buf, n, "a scheduled job run by %s", exe);
		break;
	case HN_INV_ENTRY_TERMINAL:
		snprintf(buf, n, "a user's terminal (%s)", exe);
		break;
	case HN_INV_ENTRY_REMOVABLE:
		snprintf(buf, n, "a program run from removable media (%s)", exe);
		break;
	case HN_INV_ENTRY_PACKAGE:
		snprintf(buf, n, "a package install (%s)", exe);
		break;
	case HN_INV_ENTRY_SYSTEM:
		snprintf(buf, n, "the system service %s, started by init", exe);
		break;
	default:
		snprintf(buf, n, "unknown: the record starts at %s", exe);
		break;
	}
	return buf;
}

/* How it got in, in one paragraph of plain words. */
static void how_text(struct hn_strbuf *b, const struct hn_story *st)
{
	char text[512], tm[64];

	if (st->entry == HN_INV_ENTRY_UNKNOWN)
		hn_strbuf_addf(b, "No way in was recorded: the history starts at %s",
			       st->entry_proc.exe ? st->entry_proc.exe : "an unknown program");
	else
		hn_strbuf_addf(b, "The attack came in through %s",
			       entry_text(st, text, sizeof(text)));
	if (st->entry_time) {
		hn_ecs_time(st->entry_time, tm, sizeof(tm));
		hn_strbuf_addf(b, " at %s", tm);
	}
	hn_strbuf_addf(b, "; its first process was %s (pid %u).", st->root.exe ? st->root.exe : "?",
		       st->root.pid);
	if (st->via_proc.entity)
		hn_strbuf_addf(b, " The process asked about was started later by %s (%s), running a "
			       "file the attack wrote.",
			       st->via_proc.exe ? st->via_proc.exe : "?", hn_inv_entry_name(st->via));
	for (size_t i = 0; i < st->n_deliveries; i++) {
		const struct hn_inv_delivery *d = &st->deliveries[i];
		hn_strbuf_addf(b, " %s was written by %s", d->path,
			       d->writer_exe ? d->writer_exe : "an unknown process");
		if (d->has_from) {
			char ip[64];
			hn_strbuf_addf(b, " after it connected to %s port %u",
				       hn_addr_str(&d->from, ip, sizeof(ip)), d->from.port);
		}
		hn_strbuf_adds(b, ", then run.");
	}
}

/* The graph: nodes with roles, edges with counts (render.c). */
static void j_graph(struct hn_json *j, const struct hn_story *st)
{
	struct hn_graph *g = NULL;

	if (hn_story_graph(st, &g) < 0) {
		j->bad = true;   /* out of memory: hn_json_end says so */
		return;
	}
	hn_json_arr_open(j, "nodes");
	for (size_t i = 0; i < g->n_nodes; i++) {
		const struct hn_gnode *x = &g->nodes[i];
		hn_json_obj_open(j, NULL);
		hn_json_kv_str(j, "id", x->id);
		hn_json_kv_str(j, "kind", hn_gnode_kind_name(x->kind));
		if (x->label)
			hn_json_kv_str(j, "label", x->label);
		if (x->detail)
			hn_json_kv_str(j, "detail", x->detail);
		j_entity(j, "entity", x->entity);
		if (x->kind == HN_GNODE_FILES)
			hn_json_kv_u64(j, "count", x->count);
		hn_json_arr_open(j, "roles");
		for (unsigned bit = 1; bit <= HN_GROLE_INJECTED; bit <<= 1)
			if (x->roles & bit)
				hn_json_arr_str(j, hn_grole_name(bit), strlen(hn_grole_name(bit)));
		hn_json_arr_close(j);
		hn_json_obj_close(j);
	}
	hn_json_arr_close(j);
	hn_json_arr_open(j, "edges");
	for (size_t i = 0; i < g->n_edges; i++) {
		const struct hn_gedge *e = &g->edges[i];
		hn_json_obj_open(j, NULL);
		hn_json_kv_str(j, "from", g->nodes[e->from].id);
		hn_json_kv_str(j, "to", g->nodes[e->to].id);
		hn_json_kv_str(j, "action", e->action);
		hn_json_kv_u64(j, "count", e->count);
		hn_json_kv_bool(j, "path", e->path);
		hn_json_obj_close(j);
	}
	hn_json_arr_close(j);
	hn_graph_free(g);
}

static int render_json(struct hn_strbuf *b, const struct cli_target *t, const struct hn_story *st)
{
	struct hn_json j;
	char text[512];

	hn_json_begin(&j, b);
	hn_json_obj_open(&j, NULL);
	hn_json_obj_open(&j, "target");
	hn_json_kv_str(&j, "kind", t->kind);
	hn_json_kv_str(&j, "value", t->value);
	j_entity(&j, "entity", t->entity);
	if (t->title)
		hn_json_kv_str(&j, "rule", t->title);
	hn_json_obj_close(&j);

	hn_json_obj_open(&j, "root_cause");
	hn_json_obj_open(&j, "entry");
	hn_json_kv_str(&j, "kind", hn_inv_entry_name(st->entry));
	j_entity(&j, "entity", st->entry_proc.entity);
	if (st->entry_proc.pid)
		hn_json_kv_u64(&j, "pid", st->entry_proc.pid);
	if (st->entry_proc.exe)
		hn_json_kv_str(&j, "executable", st->entry_proc.exe);
	if (st->has_remote)
		j_addr(&j, "remote", &st->remote);
	j_time(&j, "time", st->entry_time);
	if (st->entry_id)
		hn_json_kv_i64(&j, "event_id", st->entry_id);
	hn_json_kv_str(&j, "text", entry_text(st, text, sizeof(text)));
	hn_json_obj_close(&j);
	j_proc(&j, "malicious_root", &st->root);
	if (st->via_proc.entity) {
		hn_json_obj_open(&j, "via");
		hn_json_kv_str(&j, "kind", hn_inv_entry_name(st->via));
		j_entity(&j, "entity", st->via_proc.entity);
		if (st->via_proc.pid)
			hn_json_kv_u64(&j, "pid", st->via_proc.pid);
		if (st->via_proc.exe)
			hn_json_kv_str(&j, "executable", st->via_proc.exe);
		hn_json_obj_close(&j);
	}
	{
		struct hn_strbuf w;
		hn_strbuf_init(&w);
		how_text(&w, st);
		hn_json_kv_strn(&j, "text", w.buf ? w.buf : "", w.len);
		hn_strbuf_release(&w);
	}
	hn_json_arr_open(&j, "deliveries");
	for (size_t i = 0; i < st->n_deliveries; i++) {
		const struct hn_inv_delivery *d = &st->deliveries[i];
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "path", d->path);
		j_entity(&j, "runner", d->runner);
		j_entity(&j, "writer", d->writer);
		if (d->writer_exe)
			hn_json_kv_str(&j, "writer_executable", d->writer_exe);
		j_time(&j, "time", d->time);
		hn_json_kv_i64(&j, "event_id", d->id);
		if (d->has_from)
			j_addr(&j, "from", &d->from);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);

	hn_json_arr_open(&j, "path");
	for (size_t i = 0; i < st->n_steps; i++) {
		const struct hn_inv_step *s = &st->steps[i];
		hn_json_obj_open(&j, NULL);
		j_time(&j, "time", s->time);
		hn_json_kv_str(&j, "action", hn_inv_action_name(s->action));
		j_entity(&j, "entity", s->entity);
		if (s->pid)
			hn_json_kv_u64(&j, "pid", s->pid);
		if (s->exe)
			hn_json_kv_str(&j, "executable", s->exe);
		if (s->object)
			hn_json_kv_str(&j, "object", s->object);
		hn_json_arr_open(&j, "event_ids");
		if (s->id)
			hn_json_arr_u64(&j, (uint64_t)s->id);
		hn_json_arr_close(&j);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);

	hn_json_obj_open(&j, "scope");
	hn_json_arr_open(&j, "processes");
	for (size_t i = 0; i < st->n_procs; i++)
		j_proc(&j, NULL, &st->procs[i]);
	hn_json_arr_close(&j);
	hn_json_obj_open(&j, "files");
	{
		static const enum hn_inv_action acts[] = { HN_INV_CREATED, HN_INV_MODIFIED,
							   HN_INV_RENAMED, HN_INV_DELETED,
							   HN_INV_CHMOD, HN_INV_READ };
		for (size_t k = 0; k < sizeof(acts) / sizeof(acts[0]); k++) {
			hn_json_arr_open(&j, hn_inv_action_name(acts[k]));
			for (size_t i = 0; i < st->n_files; i++) {
				const struct hn_inv_file *f = &st->files[i];
				if (f->action != acts[k])
					continue;
				if (f->action == HN_INV_RENAMED) {
					hn_json_obj_open(&j, NULL);
					hn_json_kv_str(&j, "from", f->path);
					if (f->path2)
						hn_json_kv_str(&j, "to", f->path2);
					hn_json_obj_close(&j);
				} else {
					hn_json_arr_str(&j, f->path, strlen(f->path));
				}
			}
			hn_json_arr_close(&j);
		}
	}
	hn_json_obj_close(&j);
	hn_json_arr_open(&j, "persistence");
	for (size_t i = 0; i < st->n_persist; i++) {
		const struct hn_inv_persist *p = &st->persist[i];
		hn_json_obj_open(&j, NULL);
		if (p->path)
			hn_json_kv_str(&j, "path", p->path);
		hn_json_kv_str(&j, "kind", p->kind);
		hn_json_kv_str(&j, "action", hn_inv_action_name(p->action));
		j_entity(&j, "entity", p->entity);
		j_time(&j, "time", p->time);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "remote");
	for (size_t i = 0; i < st->n_remotes; i++) {
		const struct hn_inv_remote *r = &st->remotes[i];
		char ip[64];
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "address", hn_addr_str(&r->addr, ip, sizeof(ip)));
		hn_json_kv_u64(&j, "port", r->addr.port);
		hn_json_kv_str(&j, "direction", r->out ? "out" : "in");
		j_entity(&j, "entity", r->entity);
		j_time(&j, "time", r->time);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "injected");
	for (size_t i = 0; i < st->n_injected; i++) {
		const struct hn_inv_inject *x = &st->injected[i];
		hn_json_obj_open(&j, NULL);
		j_entity(&j, "entity", x->target);
		if (x->exe)
			hn_json_kv_str(&j, "executable", x->exe);
		hn_json_kv_str(&j, "how", x->how);
		j_entity(&j, "by", x->by);
		j_time(&j, "time", x->time);
		hn_json_obj_close(&j);
	}
	hn_json_arr_close(&j);
	hn_json_obj_open(&j, "counts");
	hn_json_kv_u64(&j, "processes", st->n_procs);
	hn_json_kv_u64(&j, "files", st->n_files);
	hn_json_kv_u64(&j, "persistence", st->n_persist);
	hn_json_kv_u64(&j, "remote", st->n_remotes);
	hn_json_kv_u64(&j, "injected", st->n_injected);
	hn_json_obj_close(&j);
	hn_json_kv_bool(&j, "truncated", st->truncated);
	hn_json_obj_close(&j);
	j_graph(&j, st);
	hn_json_obj_close(&j);
	return hn_json_end(&j);   /* -ENOMEM or -EINVAL: not printed */
}

/* ---- text ---- */

struct dirn {
	const char *p;
	size_t len, n;
};

static int dirn_cmp(const void *a, const void *b)
{
	const struct dirn *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* Too many to list: how many in each directory, the fullest first (up to
 * TEXT_LIST_MAX directories).  Sorted, then counted: n log n. */
static void t_by_dir(struct hn_strbuf *b, const struct hn_story *st, enum hn_inv_action a)
{
	struct dirn *d = calloc(st->n_files ? st->n_files : 1, sizeof(*d));
	size_t n = 0, nd = 0, shown = 0;

	if (!d) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < st->n_files; i++) {
		const char *p = st->files[i].path, *s = strrchr(p, '/');
		if (st->files[i].action == a)
			d[n++] = (struct dirn){ p, s && s != p ? (size_t)(s - p) : 1, 1 };
	}
	qsort(d, n, sizeof(*d), dirn_cmp);
	for (size_t i = 0; i < n; i++) {
		if (nd && !dirn_cmp(&d[nd - 1], &d[i]))
			d[nd - 1].n++;
		else
			d[nd++] = d[i];
	}
	for (; shown < nd && shown < TEXT_LIST_MAX; shown++) {
		size_t best = shown;
		for (size_t k = shown + 1; k < nd; k++)
			if (d[k].n > d[best].n)
				best = k;
		struct dirn t = d[shown];
		d[shown] = d[best];
		d[best] = t;
		hn_strbuf_addf(b, "    %6zu in %.*s/\n", d[shown].n, (int)d[shown].len, d[shown].p);
	}
	if (shown < nd)
		hn_strbuf_addf(b, "    ... and %zu more directories (--json lists every file)\n",
			       nd - shown);
	free(d);
}

static void t_list_files(struct hn_strbuf *b, const struct hn_story *st, enum hn_inv_action a,
			 const char *title)
{
	size_t n = 0, shown = 0;

	for (size_t i = 0; i < st->n_files; i++)
		n += st->files[i].action == a;
	if (!n)
		return;
	hn_strbuf_addf(b, "  %s (%zu):\n", title, n);
	if (n > TEXT_LIST_MAX) {
		t_by_dir(b, st, a);
		return;
	}
	for (size_t i = 0; i < st->n_files && shown < TEXT_LIST_MAX; i++) {
		const struct hn_inv_file *f = &st->files[i];
		if (f->action != a)
			continue;
		shown++;
		if (a == HN_INV_RENAMED)
			hn_strbuf_addf(b, "    %s -> %s\n", f->path, f->path2 ? f->path2 : "?");
		else
			hn_strbuf_addf(b, "    %s\n", f->path);
	}
	if (shown < n)
		hn_strbuf_addf(b, "    ... and %zu more (--json lists them all)\n", n - shown);
}

/* ---- the scope as a tree ---- */

#define TREE_LINES 40

struct tree {
	const struct hn_story *st;
	size_t *by_parent;       /* indexes of st->procs sorted by parent */
	size_t lines, left;
	struct hn_strbuf *b;
	char prefix[256];
};

static int by_parent_cmp(const void *a, const void *b, void *ctx)
{
	const struct hn_story *st = ctx;
	uint64_t x = st->procs[*(const size_t *)a].parent;
	uint64_t y = st->procs[*(const size_t *)b].parent;

	if (x != y)
		return x < y ? -1 : 1;
	return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Process i and, below it, its children (depth first). */
static void tree_node(struct tree *t, size_t i, bool last, int depth)
{
	const struct hn_inv_proc *p = &t->st->procs[i];
	size_t lo = 0, hi = t->st->n_procs, plen = strlen(t->prefix);

	if (t->lines >= TREE_LINES) {
		t->left++;
	} else {
		t->lines++;
		hn_strbuf_addf(t->b, "    %s%s%s (pid %u)\n", t->prefix,
			       depth ? (last ? "└─ " : "├─ ") : "",
			       p->args ? p->args : p->exe ? p->exe : "?", p->pid);
	}
	if (depth && plen + 4 < sizeof(t->prefix))
		strcat(t->prefix, last ? "   " : "│  ");
	/* the children: the run of by_parent whose parent is p */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (t->st->procs[t->by_parent[mid]].parent < p->entity)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k < t->st->n_procs &&
			    t->st->procs[t->by_parent[k]].parent == p->entity; k++) {
		size_t c = t->by_parent[k];
		bool end = k + 1 >= t->st->n_procs ||
			   t->st->procs[t->by_parent[k + 1]].parent != p->entity;
		if (c != i && depth < 64)
			tree_node(t, c, end, depth + 1);
	}
	t->prefix[plen] = '\0';
}

/* The scope's processes as a tree from the root; those that ran what the
 * tree left (their parents outside it) as trees of their own. */
static void t_tree(struct hn_strbuf *b, const struct hn_story *st)
{
	struct tree t = { .st = st, .b = b };
	uint64_t *ents;

	if (!st->n_procs)
		return;
	t.by_parent = malloc(st->n_procs * sizeof(*t.by_parent));
	if (!t.by_parent) {
		b->oom = true;
		return;
	}
	ents = malloc(st->n_procs * sizeof(*ents));
	if (!ents) {
		free(t.by_parent);
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < st->n_procs; i++) {
		t.by_parent[i] = i;
		ents[i] = st->procs[i].entity;
	}
	qsort_r(t.by_parent, st->n_procs, sizeof(*t.by_parent), by_parent_cmp, (void *)st);
	qsort(ents, st->n_procs, sizeof(*ents), u64_cmp);
	for (size_t i = 0; i < st->n_procs; i++)
		if (i == 0 || !bsearch(&st->procs[i].parent, ents, st->n_procs, sizeof(*ents),
				       u64_cmp))
			tree_node(&t, i, true, 0);
	if (t.left)
		hn_strbuf_addf(b, "    ... and %zu more processes (--json lists them all)\n", t.left);
	free(ents);
	free(t.by_parent);
}

static void render_text(struct hn_strbuf *b, const struct cli_target *t, const struct hn_story *st)
{
	char text[512], tm[64], ent[32];

	hn_strbuf_addf(b, "Investigation of %s %s", t->kind, t->value);
	if (t->title)
		hn_strbuf_addf(b, " (%s)", t->title);
	hn_strbuf_addf(b, "\n\nHOW IT GOT IN\n  %s", entry_text(st, text, sizeof(text)));
	if (st->entry_time) {
		cli_time_str(st->entry_time, tm, sizeof(tm));
		hn_strbuf_addf(b, ", at %s", tm);
	}
	hn_strbuf_addf(b, ".\n  The attack's first process (malicious root): %s, pid %u, entity %s.\n",
		       st->root.exe ? st->root.exe : "?", st->root.pid,
		       hn_entity_str(st->root.entity, ent, sizeof(ent)));
	if (st->via_proc.entity)
		hn_strbuf_addf(b, "  Later, %s (%s, pid %u) ran a file the attack had written.\n",
			       st->via_proc.exe ? st->via_proc.exe : "?",
			       hn_inv_entry_name(st->via), st->via_proc.pid);
	for (size_t i = 0; i < st->n_deliveries; i++) {
		const struct hn_inv_delivery *d = &st->deliveries[i];
		cli_time_str(d->time, tm, sizeof(tm));
		hn_strbuf_addf(b, "  %s was written by %s at %s", d->path,
			       d->writer_exe ? d->writer_exe : "an unknown process", tm);
		if (d->has_from) {
			char ip[64];
			hn_strbuf_addf(b, ", after it connected to %s port %u",
				       hn_addr_str(&d->from, ip, sizeof(ip)), d->from.port);
		}
		hn_strbuf_adds(b, ", before it ran.\n");
	}
	hn_strbuf_adds(b, "\nWHAT LED TO WHAT\n");
	for (size_t i = 0, alerts = 0; i < st->n_steps; i++) {
		const struct hn_inv_step *s = &st->steps[i];
		if (s->action == HN_INV_ALERT && ++alerts > TEXT_LIST_MAX) {
			size_t more = 0;
			for (size_t k = i; k < st->n_steps; k++)
				more += st->steps[k].action == HN_INV_ALERT;
			if (alerts == TEXT_LIST_MAX + 1)
				hn_strbuf_addf(b, "  ... and %zu more alerts (--json lists them all)\n",
					       more);
			alerts += more;
			continue;
		}
		cli_time_str(s->time, tm, sizeof(tm));
		hn_strbuf_addf(b, "  %s  %-9s %s", tm, hn_inv_action_name(s->action),
			       s->object ? s->object : "");
		if (s->action != HN_INV_ALERT)
			hn_strbuf_addf(b, "  (pid %u %s", s->pid, s->exe ? s->exe : "?");
		if (s->id)
			hn_strbuf_addf(b, ", event %" PRId64, s->id);
		hn_strbuf_adds(b, s->action != HN_INV_ALERT ? ")\n" : "\n");
	}
	hn_strbuf_addf(b, "\nWHAT IT TOUCHED%s\n", st->truncated ? " (bounded: lists are partial)" : "");
	hn_strbuf_addf(b, "  processes (%zu), as a tree:\n", st->n_procs);
	t_tree(b, st);
	if (st->n_persist) {
		hn_strbuf_addf(b, "  persistence points (%zu):\n", st->n_persist);
		for (size_t i = 0; i < st->n_persist; i++)
			hn_strbuf_addf(b, "    %-15s %s %s\n", st->persist[i].kind,
				       hn_inv_action_name(st->persist[i].action),
				       st->persist[i].path ? st->persist[i].path : "?");
	}
	t_list_files(b, st, HN_INV_CREATED, "files created");
	t_list_files(b, st, HN_INV_MODIFIED, "files modified");
	t_list_files(b, st, HN_INV_RENAMED, "files renamed");
	t_list_files(b, st, HN_INV_DELETED, "files deleted");
	t_list_files(b, st, HN_INV_CHMOD, "mode or owner changed");
	t_list_files(b, st, HN_INV_READ, "sensitive files read");
	if (st->n_remotes) {
		hn_strbuf_addf(b, "  network (%zu):\n", st->n_remotes);
		for (size_t i = 0; i < st->n_remotes && i < TEXT_LIST_MAX; i++) {
			char ip[64];
			hn_strbuf_addf(b, "    %s %s port %u\n",
				       st->remotes[i].out ? "connected to" : "accepted from",
				       hn_addr_str(&st->remotes[i].addr, ip, sizeof(ip)),
				       st->remotes[i].addr.port);
		}
		if (st->n_remotes > TEXT_LIST_MAX)
			hn_strbuf_addf(b, "    ... and %zu more\n", st->n_remotes - TEXT_LIST_MAX);
	}
	if (st->n_injected) {
		hn_strbuf_addf(b, "  processes written into (%zu):\n", st->n_injected);
		for (size_t i = 0; i < st->n_injected; i++)
			hn_strbuf_addf(b, "    %s %s (%s)\n",
				       hn_entity_str(st->injected[i].target, ent, sizeof(ent)),
				       st->injected[i].exe ? st->injected[i].exe : "?",
				       st->injected[i].how);
	}
}

/* HTML text: & < > escaped. */
static void html_esc(struct hn_strbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': hn_strbuf_adds(b, "&amp;"); break;
		case '<': hn_strbuf_adds(b, "&lt;"); break;
		case '>': hn_strbuf_adds(b, "&gt;"); break;
		default: hn_strbuf_addc(b, s[i]); break;
		}
	}
}

/* how: 0 DOT, 1 SVG, 2 an HTML page (the words, then the drawing). */
static int render_graph(struct hn_strbuf *b, const struct cli_target *t, const struct hn_story *st,
			int how)
{
	struct hn_strbuf dot, words;
	char *svg = NULL;
	size_t n = 0;
	int r;

	if (how == 0)
		return hn_story_dot(st, b);
	hn_strbuf_init(&dot);
	r = hn_story_dot(st, &dot);
	if (r == 0)
		r = hn_dot_svg(dot.buf, &svg, &n);
	hn_strbuf_release(&dot);
	if (r < 0)
		return r;
	if (how == 1) {
		hn_strbuf_add(b, svg, n);
	} else {
		hn_strbuf_init(&words);
		render_text(&words, t, st);
		hn_strbuf_adds(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
				  "<title>hinomi investigation</title><style>body{font-family:sans-serif;"
				  "margin:2em}pre{background:#f4f6f6;padding:1em;overflow:auto}"
				  "</style></head><body>\n<h1>hinomi: ");
		html_esc(b, t->kind, strlen(t->kind));
		hn_strbuf_addc(b, ' ');
		html_esc(b, t->value, strlen(t->value));
		hn_strbuf_adds(b, "</h1>\n<pre>");
		html_esc(b, words.buf ? words.buf : "", words.len);
		hn_strbuf_adds(b, "</pre>\n<h2>Graph (the intrusion path in red)</h2>\n");
		/* the SVG after its XML prologue */
		{
			const char *p = strstr(svg, "<svg");
			hn_strbuf_adds(b, p ? p : svg);
		}
		hn_strbuf_adds(b, "\n</body></html>");
		hn_strbuf_release(&words);
	}
	free(svg);
	return b->oom ? -ENOMEM : 0;
}

int cmd_investigate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "dot", no_argument, NULL, 'D' },
		{ "svg", no_argument, NULL, 'S' },
		{ "html", no_argument, NULL, 'H' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = cli_default_db();
	enum { TEXT, JSON, DOT, SVG, HTML } form = TEXT;
	struct cli_target t = { 0 };
	struct hn_story *st = NULL;
	struct hn_store *s = NULL;
	struct hn_strbuf b;
	int c, r;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': form = JSON; break;
		case 'D': form = DOT; break;
		case 'S': form = SVG; break;
		case 'H': form = HTML; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	t.value = argv[optind];
	if (cli_store_open_ro("investigate", db, &s) < 0)
		return 1;
	if (cli_target_resolve("investigate", s, &t)) {
		cli_target_release(&t);
		hn_store_close(s);
		return 1;
	}
	r = cli_target_story("investigate", s, &t, &st) ? -EINVAL : 0;
	if (r == 0) {
		hn_strbuf_init(&b);
		if (form == JSON)
			r = render_json(&b, &t, st);
		else if (form == TEXT)
			render_text(&b, &t, st);
		else
			r = render_graph(&b, &t, st, form == DOT ? 0 : form == SVG ? 1 : 2);
		if (!r && b.oom)
			r = -ENOMEM;
		while (b.len && b.buf[b.len - 1] == '\n')
			b.len--;   /* cli_put_line ends the line */
		if (r == 0 && cli_put_line(&b) < 0) {
			r = -EIO;
			fprintf(stderr, "hinomi investigate: cannot write the output: %s\n",
				strerror(errno));
		} else if (r == -ENOMEM) {
			fprintf(stderr, "hinomi investigate: out of memory\n");
		} else if (r < 0 && form == JSON) {
			fprintf(stderr, "hinomi investigate: the JSON could not be written\n");
		} else if (r < 0) {
			fprintf(stderr, "hinomi investigate: Graphviz could not lay out the graph "
				"(%s)\n", strerror(-r));
		}
		hn_strbuf_release(&b);
	}
	hn_story_free(st);
	cli_target_release(&t);
	hn_store_close(s);
	return r < 0 ? 1 : 0;
}
