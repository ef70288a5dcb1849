/*
 * render.c - a story as a graph a person reads at a glance: Graphviz DOT
 * text (hn_story_dot), laid out as SVG by the Graphviz library
 * (hn_dot_svg).
 *
 * What is drawn:
 *   - processes (boxes): the entry point, the malicious root and every
 *     process of the scope, joined parent -> child;
 *   - remote ends (ellipses): who came in (-> the entry point) and what
 *     the scope connected to;
 *   - files (notes), in one cluster per directory; a process's files of
 *     one action in one directory past FANOUT_MAX are one node "N files"
 *     (a build writing 10,000 files is one node, not 10,000);
 *   - persistence points (red notes), whatever their number;
 *   - processes written into (ptrace, /proc/PID/mem), dashed.
 * Repeated edges (the same process, action and target) are one edge with
 * a count.  The intrusion path is red and bold: the entry, the processes
 * of its steps, the files and addresses its steps name.
 */
#include "investigate/investigate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "event/entity.h"

#define FANOUT_MAX 8

/* A DOT string: quotes and backslashes escaped, a newline a label's line
 * break, other control bytes dropped, at most 80 bytes a line (the rest
 * "..."). */
static void dot_str(struct hn_strbuf *b, const char *s)
{
	size_t n = 0;

	hn_strbuf_addc(b, '"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (n++ == 80) {
			hn_strbuf_adds(b, "...");
			break;
		}
		if (c == '\n') {
			hn_strbuf_adds(b, "\\n");   /* a line break in a label */
			n = 0;
			continue;
		}
		if (c == '"' || c == '\\')
			hn_strbuf_addc(b, '\\');
		if (c >= 0x20 && c != 0x7f)
			hn_strbuf_addc(b, (char)c);
	}
	hn_strbuf_addc(b, '"');
}

static bool on_path_obj(const struct hn_story *st, const char *obj)
{
	for (size_t i = 0; i < st->n_steps; i++)
		if (st->steps[i].object && obj && !strcmp(st->steps[i].object, obj))
			return true;
	return false;
}

static bool on_path_proc(const struct hn_story *st, uint64_t e)
{
	if (e == st->entry_proc.entity || e == st->root.entity || e == st->subject)
		return true;
	for (size_t i = 0; i < st->n_steps; i++)
		if (st->steps[i].entity == e && st->steps[i].action != HN_INV_ALERT)
			return true;
	return false;
}

static const char *HOT = " color=\"#c0392b\" fontcolor=\"#c0392b\" penwidth=2.5";

static void proc_node(struct hn_strbuf *b, const struct hn_story *st,
		      const struct hn_inv_proc *p, const char *role)
{
	char e[32], label[600];
	const char *exe = p->exe ? strrchr(p->exe, '/') : NULL;

	snprintf(label, sizeof(label), "%s%s%s\npid %u", role ? role : "", role ? "\n" : "",
		 exe ? exe + 1 : p->exe ? p->exe : "?", p->pid);
	hn_strbuf_addf(b, "  p%s [shape=box style=\"rounded,filled\" fillcolor=\"%s\" label=",
		       hn_entity_str(p->entity, e, sizeof(e)),
		       role && !strcmp(role, "entry point") ? "#d6eaf8" :
		       p->entity == st->subject ? "#fadbd8" : "#f8f9f9");
	dot_str(b, label);
	hn_strbuf_addf(b, " tooltip=");
	dot_str(b, p->args ? p->args : p->exe ? p->exe : "");
	hn_strbuf_addf(b, "%s];\n", on_path_proc(st, p->entity) ? HOT : "");
}

static bool in_scope(const struct hn_story *st, uint64_t e)
{
	for (size_t i = 0; i < st->n_procs; i++)
		if (st->procs[i].entity == e)
			return true;
	return e == st->entry_proc.entity;
}

/* The directory of a path (without its last component) into d. */
static void dir_of(const char *p, char *d, size_t n)
{
	const char *s = strrchr(p, '/');
	size_t k = s ? (size_t)(s - p) : 0;

	if (k == 0)
		k = 1;
	if (k >= n)
		k = n - 1;
	memcpy(d, p, k);
	d[k] = '\0';
}

struct fgroup {
	uint64_t entity;
	enum hn_inv_action action;
	char dir[512];
	size_t count;
	bool drawn;
};

static void files(struct hn_strbuf *b, const struct hn_story *st)
{
	struct fgroup *g = calloc(st->n_files ? st->n_files : 1, sizeof(*g));
	char (*dirs)[512] = calloc(st->n_files ? st->n_files : 1, sizeof(*dirs));
	size_t ng = 0, nd = 0;

	if (!g || !dirs) {
		free(g);
		free(dirs);
		b->oom = true;
		return;
	}
	/* how many files each (process, action, directory) has */
	for (size_t i = 0; i < st->n_files; i++) {
		const struct hn_inv_file *f = &st->files[i];
		char d[512];
		size_t k;
		dir_of(f->path, d, sizeof(d));
		for (k = 0; k < ng; k++)
			if (g[k].entity == f->entity && g[k].action == f->action &&
			    !strcmp(g[k].dir, d))
				break;
		if (k == ng) {
			g[ng].entity = f->entity;
			g[ng].action = f->action;
			snprintf(g[ng].dir, sizeof(g[ng].dir), "%s", d);
			ng++;
		}
		g[k].count++;
		for (k = 0; k < nd && strcmp(dirs[k], d); k++)
			;
		if (k == nd)
			snprintf(dirs[nd++], sizeof(dirs[0]), "%s", d);
	}
	/* one cluster per directory */
	for (size_t di = 0; di < nd; di++) {
		hn_strbuf_addf(b, "  subgraph cluster_d%zu {\n    label=", di);
		dot_str(b, dirs[di]);
		hn_strbuf_adds(b, " style=\"rounded,dashed\" color=\"#aab7b8\" fontsize=10;\n");
		for (size_t i = 0; i < st->n_files; i++) {
			const struct hn_inv_file *f = &st->files[i];
			const char *kind = hn_inv_persist_kind(f->path);
			char d[512];
			size_t k;
			dir_of(f->path, d, sizeof(d));
			if (strcmp(d, dirs[di]))
				continue;
			for (k = 0; k < ng; k++)
				if (g[k].entity == f->entity && g[k].action == f->action &&
				    !strcmp(g[k].dir, d))
					break;
			if (g[k].count > FANOUT_MAX && !kind && !on_path_obj(st, f->path)) {
				if (!g[k].drawn) {
					g[k].drawn = true;
					hn_strbuf_addf(b, "    g%zu [shape=folder label=\"%zu files\"];\n",
						       k, g[k].count);
				}
				continue;
			}
			hn_strbuf_addf(b, "    f%zu [shape=note label=", i);
			dot_str(b, strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path);
			hn_strbuf_adds(b, " tooltip=");
			dot_str(b, f->path);
			if (kind)
				hn_strbuf_adds(b, " style=filled fillcolor=\"#f5b7b1\"");
			hn_strbuf_addf(b, "%s];\n", on_path_obj(st, f->path) ? HOT : "");
		}
		hn_strbuf_adds(b, "  }\n");
	}
	/* edges: one per (process, action, file) or per collapsed group */
	for (size_t i = 0; i < st->n_files; i++) {
		const struct hn_inv_file *f = &st->files[i];
		char e[32], d[512];
		size_t k;
		bool hot = on_path_obj(st, f->path);
		dir_of(f->path, d, sizeof(d));
		for (k = 0; k < ng; k++)
			if (g[k].entity == f->entity && g[k].action == f->action && !strcmp(g[k].dir, d))
				break;
		if (!in_scope(st, f->entity))
			continue;
		hn_entity_str(f->entity, e, sizeof(e));
		if (g[k].count > FANOUT_MAX && !hn_inv_persist_kind(f->path) && !hot) {
			if (g[k].drawn) {
				hn_strbuf_addf(b, "  p%s -> g%zu [label=\"%s ×%zu\"];\n", e, k,
					       hn_inv_action_name(f->action), g[k].count);
				g[k].drawn = false;   /* once */
			}
			continue;
		}
		hn_strbuf_addf(b, "  p%s -> f%zu [label=\"%s\"%s];\n", e, i,
			       hn_inv_action_name(f->action), hot ? HOT : "");
	}
	free(g);
	free(dirs);
}

int hn_story_dot(const struct hn_story *st, struct hn_strbuf *b)
{
	char e[32], e2[32], a[96], ip[64];

	hn_strbuf_adds(b, "digraph story {\n  rankdir=LR; node [fontname=\"Helvetica\" "
			  "fontsize=11]; edge [fontname=\"Helvetica\" fontsize=9 color=\"#566573\"];\n");
	if (st->entry_proc.entity)
		proc_node(b, st, &st->entry_proc, "entry point");
	if (st->has_remote) {
		snprintf(a, sizeof(a), "%s:%u", hn_addr_str(&st->remote, ip, sizeof(ip)),
			 st->remote.port);
		hn_strbuf_adds(b, "  rin [shape=ellipse style=filled fillcolor=\"#fdebd0\" label=");
		dot_str(b, a);
		hn_strbuf_addf(b, "%s];\n  rin -> p%s [label=\"connected in\"%s];\n", HOT,
			       hn_entity_str(st->entry_proc.entity, e, sizeof(e)), HOT);
	}
	for (size_t i = 0; i < st->n_procs; i++)
		if (st->procs[i].entity != st->entry_proc.entity)
			proc_node(b, st, &st->procs[i],
				  st->procs[i].entity == st->root.entity ? "malicious root" : NULL);
	if (!st->n_procs && st->root.entity && st->root.entity != st->entry_proc.entity)
		proc_node(b, st, &st->root, "malicious root");
	/* parent -> child, within what is drawn */
	for (size_t i = 0; i < st->n_procs; i++) {
		const struct hn_inv_proc *p = &st->procs[i];
		if (!p->parent || !in_scope(st, p->parent) || p->entity == st->entry_proc.entity)
			continue;
		hn_strbuf_addf(b, "  p%s -> p%s [label=\"started\"%s];\n",
			       hn_entity_str(p->parent, e, sizeof(e)),
			       hn_entity_str(p->entity, e2, sizeof(e2)),
			       on_path_proc(st, p->parent) && on_path_proc(st, p->entity) ? HOT : "");
	}
	if (st->entry_proc.entity && st->root.entity && st->root.entity != st->entry_proc.entity &&
	    st->root.parent != st->entry_proc.entity)
		hn_strbuf_addf(b, "  p%s -> p%s [style=dashed label=\"led to\"%s];\n",
			       hn_entity_str(st->entry_proc.entity, e, sizeof(e)),
			       hn_entity_str(st->root.entity, e2, sizeof(e2)), HOT);
	files(b, st);
	for (size_t i = 0; i < st->n_remotes; i++) {
		const struct hn_inv_remote *r = &st->remotes[i];
		bool dup = false;
		snprintf(a, sizeof(a), "%s:%u", hn_addr_str(&r->addr, ip, sizeof(ip)), r->addr.port);
		for (size_t k = 0; k < i && !dup; k++)
			dup = r->addr.port == st->remotes[k].addr.port &&
			      !memcmp(r->addr.addr, st->remotes[k].addr.addr, 16);
		if (!dup) {
			hn_strbuf_addf(b, "  r%zu [shape=ellipse label=", i);
			dot_str(b, a);
			hn_strbuf_addf(b, "%s];\n", on_path_obj(st, a) ? HOT : "");
		}
	}
	for (size_t i = 0; i < st->n_remotes; i++) {
		const struct hn_inv_remote *r = &st->remotes[i];
		size_t node = i;
		for (size_t k = 0; k < i; k++)
			if (r->addr.port == st->remotes[k].addr.port &&
			    !memcmp(r->addr.addr, st->remotes[k].addr.addr, 16)) {
				node = k;
				break;
			}
		snprintf(a, sizeof(a), "%s:%u", hn_addr_str(&r->addr, ip, sizeof(ip)), r->addr.port);
		hn_entity_str(r->entity, e, sizeof(e));
		if (r->out)
			hn_strbuf_addf(b, "  p%s -> r%zu [label=\"connected\"%s];\n", e, node,
				       on_path_obj(st, a) ? HOT : "");
		else
			hn_strbuf_addf(b, "  r%zu -> p%s [label=\"accepted\"];\n", node, e);
	}
	for (size_t i = 0; i < st->n_injected; i++) {
		const struct hn_inv_inject *x = &st->injected[i];
		const char *exe = x->exe ? strrchr(x->exe, '/') : NULL;
		char label[300];
		hn_entity_str(x->target, e, sizeof(e));
		if (!in_scope(st, x->target)) {
			snprintf(label, sizeof(label), "%s\n(written into)",
				 exe ? exe + 1 : x->exe ? x->exe : "?");
			hn_strbuf_addf(b, "  p%s [shape=box style=\"rounded,dashed\" label=", e);
			dot_str(b, label);
			hn_strbuf_adds(b, "];\n");
		}
		hn_strbuf_addf(b, "  p%s -> p%s [style=dashed label=\"%s\" color=\"#c0392b\"];\n",
			       hn_entity_str(x->by, e2, sizeof(e2)), e, x->how);
	}
	hn_strbuf_adds(b, "}\n");
	return b->oom ? -ENOMEM : 0;
}

int hn_dot_svg(const char *dot, char **svg, size_t *n)
{
	GVC_t *gvc;
	Agraph_t *g;
	char *out = NULL;
	unsigned int len = 0;
	int r = 0;

	*svg = NULL;
	*n = 0;
	gvc = gvContext();
	if (!gvc)
		return -ENOMEM;
	/* Graphviz's own messages stay quiet: the caller reports */
	agseterr(AGMAX);
	g = agmemread(dot);
	if (!g) {
		gvFreeContext(gvc);
		return -EINVAL;
	}
	if (gvLayout(gvc, g, "dot") != 0) {
		r = -EIO;
	} else {
		if (gvRenderData(gvc, g, "svg", &out, &len) != 0 || !out) {
			r = -EIO;
		} else {
			*svg = malloc((size_t)len + 1);
			if (!*svg) {
				r = -ENOMEM;
			} else {
				memcpy(*svg, out, len);
				(*svg)[len] = '\0';
				*n = len;
			}
		}
		if (out)
			gvFreeRenderData(out);
		gvFreeLayout(gvc, g);
	}
	agclose(g);
	gvFreeContext(gvc);
	return r;
}
