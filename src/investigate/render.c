/*
 * render.c - a story as a graph a person reads at a glance: nodes with
 * roles and edges with counts (hn_story_graph), written as Graphviz DOT
 * text (hn_graph_dot) and laid out as SVG by the Graphviz library
 * (hn_dot_svg).  The JSON of `hinomi investigate` lists the same nodes and
 * edges.
 *
 * What the graph holds:
 *   - processes: the entry point, the malicious root, every process of the
 *     scope, joined parent -> child ("started");
 *   - remote ends: who came in (-> the entry point, "connected in") and
 *     what the scope connected to or accepted from;
 *   - files, each with its directory (DOT draws one cluster per
 *     directory); a process's files of one action in one directory past
 *     FANOUT_MAX are one node "N files" (a build writing 10,000 files is
 *     one node, not 10,000), but persistence points and files of the path
 *     always stand alone;
 *   - processes written into (ptrace, /proc/PID/mem);
 *   - the user the malicious root ran as (its session), "logged in" from
 *     the address of an ssh login.
 * The same (from, to, action) is one edge with a count.  Roles: entry
 * point, malicious root, alert (a process an alert names), impacted
 * (everything of the scope), path (on the intrusion path), persistence,
 * injected.
 */
#include "investigate/investigate.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/socket.h>

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include "event/entity.h"

#define FANOUT_MAX 8

const char *hn_gnode_kind_name(enum hn_gnode_kind k)
{
	static const char *const names[] = { "process", "file", "files", "remote", "user" };

	return (unsigned)k < 5 ? names[k] : "?";
}

const char *hn_grole_name(unsigned bit)
{
	switch (bit) {
	case HN_GROLE_ENTRY: return "entry_point";
	case HN_GROLE_ROOT: return "malicious_root";
	case HN_GROLE_ALERT: return "alert";
	case HN_GROLE_IMPACTED: return "impacted";
	case HN_GROLE_PATH: return "path";
	case HN_GROLE_PERSIST: return "persistence";
	case HN_GROLE_INJECTED: return "injected";
	default: return "?";
	}
}

/* ---- building ---- */

/* Past this many file nodes, files go into their directory's group
 * whatever their number (the drawing stays readable, the lists hold all). */
#define FILE_NODES_MAX 2000
/* and past this many directory groups */
#define GROUPS_MAX 200

struct gb {
	struct hn_graph *g;
	size_t cap_n, cap_e;
	int err;
	long *slot;               /* node ids hashed: index + 1, 0 empty */
	size_t nslot;
	size_t *eslot;            /* edges by (from, to, action): index + 1 */
	size_t neslot;
	size_t file_nodes;
	size_t groups;
};

static uint64_t id_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* The slot of id: its node's, or the empty one where it goes. */
static long *slot_of(struct gb *b, const char *id)
{
	for (size_t i = id_hash(id) & (b->nslot - 1);; i = (i + 1) & (b->nslot - 1))
		if (!b->slot[i] || !strcmp(b->g->nodes[b->slot[i] - 1].id, id))
			return &b->slot[i];
}

/* Room in the hash for one more node.  0 or -ENOMEM. */
static int slots_grow(struct gb *b)
{
	size_t n = b->nslot ? b->nslot * 2 : 256;
	long *old = b->slot;
	size_t on = b->nslot;

	if ((b->g->n_nodes + 1) * 2 <= b->nslot)
		return 0;
	b->slot = calloc(n, sizeof(*b->slot));
	if (!b->slot) {
		b->slot = old;
		return -ENOMEM;
	}
	b->nslot = n;
	for (size_t i = 0; i < on; i++)
		if (old[i])
			*slot_of(b, b->g->nodes[old[i] - 1].id) = old[i];
	free(old);
	return 0;
}

static char *sdup(struct gb *b, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		b->err = -ENOMEM;
	return d;
}

/* The node with this id, or a new one (roles added either way); its
 * index, or -1. */
static long node(struct gb *b, const char *id, enum hn_gnode_kind kind, const char *label,
		 const char *detail, unsigned roles)
{
	struct hn_graph *g = b->g;
	struct hn_gnode *x;
	long *sl;

	if (b->err)
		return -1;
	if (slots_grow(b) < 0) {
		b->err = -ENOMEM;
		return -1;
	}
	sl = slot_of(b, id);
	if (*sl) {
		g->nodes[*sl - 1].roles |= roles;
		return *sl - 1;
	}
	if (g->n_nodes == b->cap_n) {
		size_t c = b->cap_n ? b->cap_n * 2 : 32;
		struct hn_gnode *v = realloc(g->nodes, c * sizeof(*v));
		if (!v) {
			b->err = -ENOMEM;
			return -1;
		}
		g->nodes = v;
		b->cap_n = c;
	}
	x = &g->nodes[g->n_nodes];
	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", id);
	x->kind = kind;
	x->label = sdup(b, label);
	x->detail = sdup(b, detail);
	x->roles = roles;
	x->count = 1;
	*sl = (long)g->n_nodes + 1;
	return (long)g->n_nodes++;
}

static uint64_t edge_hash(size_t from, size_t to, const char *action)
{
	return id_hash(action) ^ ((uint64_t)from * 0x9e3779b97f4a7c15ULL) ^
	       ((uint64_t)to * 0xc2b2ae3d27d4eb4fULL);
}

static void edge(struct gb *b, long from, long to, const char *action, bool path, size_t count)
{
	struct hn_graph *g = b->g;
	struct hn_gedge *e;

	size_t *sl;

	if (from < 0 || to < 0 || b->err)
		return;
	if ((g->n_edges + 1) * 2 > b->neslot) {
		size_t n = b->neslot ? b->neslot * 2 : 256;
		size_t *t = calloc(n, sizeof(*t));
		if (!t) {
			b->err = -ENOMEM;
			return;
		}
		for (size_t i = 0; i < g->n_edges; i++) {
			const struct hn_gedge *x = &g->edges[i];
			size_t k = edge_hash(x->from, x->to, x->action) & (n - 1);
			while (t[k])
				k = (k + 1) & (n - 1);
			t[k] = i + 1;
		}
		free(b->eslot);
		b->eslot = t;
		b->neslot = n;
	}
	for (size_t k = edge_hash((size_t)from, (size_t)to, action) & (b->neslot - 1);;
	     k = (k + 1) & (b->neslot - 1)) {
		sl = &b->eslot[k];
		if (!*sl)
			break;
		e = &g->edges[*sl - 1];
		if (e->from == (size_t)from && e->to == (size_t)to && !strcmp(e->action, action)) {
			e->count += count;
			e->path |= path;
			return;
		}
	}
	*sl = g->n_edges + 1;
	if (g->n_edges == b->cap_e) {
		size_t c = b->cap_e ? b->cap_e * 2 : 32;
		struct hn_gedge *v = realloc(g->edges, c * sizeof(*v));
		if (!v) {
			b->err = -ENOMEM;
			return;
		}
		g->edges = v;
		b->cap_e = c;
	}
	e = &g->edges[g->n_edges++];
	memset(e, 0, sizeof(*e));
	e->from = (size_t)from;
	e->to = (size_t)to;
	snprintf(e->action, sizeof(e->action), "%s", action);
	e->count = count;
	e->path = path;
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

static bool alerted(const struct hn_story *st, uint64_t e)
{
	for (size_t i = 0; i < st->n_steps; i++)
		if (st->steps[i].action == HN_INV_ALERT && st->steps[i].entity == e)
			return true;
	return false;
}

static long proc_node(struct gb *b, const struct hn_story *st, const struct hn_inv_proc *p,
		      unsigned roles)
{
	char id[40], e[32], label[400];
	const char *exe = p->exe ? strrchr(p->exe, '/') : NULL;

	hn_entity_str(p->entity, e, sizeof(e));
	snprintf(id, sizeof(id), "p%s", e);
	snprintf(label, sizeof(label), "%s\npid %u", exe ? exe + 1 : p->exe ? p->exe : "?", p->pid);
	if (on_path_proc(st, p->entity))
		roles |= HN_GROLE_PATH;
	if (alerted(st, p->entity))
		roles |= HN_GROLE_ALERT;
	if (p->entity == st->entry_proc.entity)
		roles |= HN_GROLE_ENTRY;
	if (p->entity == st->root.entity)
		roles |= HN_GROLE_ROOT;
	{
		long i = node(b, id, HN_GNODE_PROCESS, label, p->args ? p->args : p->exe, roles);
		if (i >= 0)
			b->g->nodes[i].entity = p->entity;
		return i;
	}
}

static long proc_ref(struct gb *b, uint64_t entity)
{
	char id[40], e[32];
	long *sl;

	if (!b->nslot)
		return -1;
	hn_entity_str(entity, e, sizeof(e));
	snprintf(id, sizeof(id), "p%s", e);
	sl = slot_of(b, id);
	return *sl ? *sl - 1 : -1;
}

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

static void files(struct gb *b, const struct hn_story *st)
{
	/* how many files each (process, action, directory) has: gi[i] is
	 * file i's group, found through a hash of the three */
	struct grp {
		uint64_t entity;
		enum hn_inv_action action;
		char dir[512];
		size_t count;
	} *gr = calloc(st->n_files ? st->n_files : 1, sizeof(*gr));
	size_t *gi = calloc(st->n_files ? st->n_files : 1, sizeof(*gi));
	size_t nslot = 64, ng = 0;
	long *slot;

	while (nslot < st->n_files * 2)
		nslot *= 2;
	slot = calloc(nslot, sizeof(*slot));
	if (!gr || !gi || !slot) {
		free(gr);
		free(gi);
		free(slot);
		b->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < st->n_files; i++) {
		const struct hn_inv_file *f = &st->files[i];
		char d[512];
		size_t h;
		dir_of(f->path, d, sizeof(d));
		h = (size_t)((id_hash(d) ^ f->entity * 0x9e3779b97f4a7c15ULL) + f->action);
		for (h &= nslot - 1;; h = (h + 1) & (nslot - 1)) {
			const struct grp *g = slot[h] ? &gr[slot[h] - 1] : NULL;
			if (!g) {
				gr[ng].entity = f->entity;
				gr[ng].action = f->action;
				snprintf(gr[ng].dir, sizeof(gr[ng].dir), "%s", d);
				slot[h] = (long)++ng;
				break;
			}
			if (g->entity == f->entity && g->action == f->action && !strcmp(g->dir, d))
				break;
		}
		gi[i] = (size_t)slot[h] - 1;
		gr[gi[i]].count++;
	}
	free(slot);
	for (size_t i = 0; i < st->n_files && !b->err; i++) {
		const struct hn_inv_file *f = &st->files[i];
		const char *kind = hn_inv_persist_kind(f->action == HN_INV_RENAMED && f->path2 ?
							       f->path2 : f->path);
		bool hot = on_path_obj(st, f->path);
		long from = proc_ref(b, f->entity), to;
		char d[512], id[40];
		size_t k = gi[i];
		dir_of(f->path, d, sizeof(d));
		if (!kind && !hot && (b->file_nodes >= FILE_NODES_MAX ||
				      (gr[k].count > FANOUT_MAX && b->groups >= GROUPS_MAX))) {
			/* past the bounds: one node for the rest of this process's
			 * files of this action, wherever they are */
			char label[64], e[32];
			hn_entity_str(f->entity, e, sizeof(e));
			snprintf(id, sizeof(id), "o%s%d", e, (int)f->action);
			to = node(b, id, HN_GNODE_FILES, NULL, NULL, HN_GROLE_IMPACTED);
			if (to >= 0) {
				struct hn_gnode *x = &b->g->nodes[to];
				x->count = x->label ? x->count + 1 : 1;
				free(x->label);
				snprintf(label, sizeof(label), "%zu more files", x->count);
				x->label = sdup(b, label);
			}
			edge(b, from, to, hn_inv_action_name(f->action), false, 1);
			continue;
		}
		if (!kind && !hot && gr[k].count > FANOUT_MAX) {
			char label[64];
			snprintf(id, sizeof(id), "g%zu", k);
			snprintf(label, sizeof(label), "%zu files", gr[k].count);
			to = node(b, id, HN_GNODE_FILES, label, d, HN_GROLE_IMPACTED);
			if (to >= 0) {
				b->g->nodes[to].count = gr[k].count;
				if (!b->g->nodes[to].dir) {
					b->g->nodes[to].dir = sdup(b, d);
					b->groups++;
				}
			}
			/* one edge for the group: its count adds up */
			edge(b, from, to, hn_inv_action_name(f->action), false, 1);
			continue;
		}
		{
			/* one node per path (the id is the path's hash): the same
			 * file created and deleted is one node with two edges */
			const char *base = strrchr(f->path, '/');
			long j;
			snprintf(id, sizeof(id), "f%016llx", (unsigned long long)id_hash(f->path));
			j = node(b, id, HN_GNODE_FILE, base ? base + 1 : f->path, f->path, 0);
			if (j >= 0 && !b->g->nodes[j].dir) {
				b->g->nodes[j].dir = sdup(b, d);
				b->file_nodes++;
			}
			if (j >= 0)
				b->g->nodes[j].roles |= HN_GROLE_IMPACTED | (hot ? HN_GROLE_PATH : 0) |
							(kind ? HN_GROLE_PERSIST : 0);
			edge(b, from, j, hn_inv_action_name(f->action), hot, 1);
		}
	}
	free(gr);
	free(gi);
}

static void remote_node(struct gb *b, const struct hn_addr *a, long proc, bool out, bool in_entry,
			bool hot)
{
	char ip[64], label[96], id[40];
	long r;

	hn_addr_str(a, ip, sizeof(ip));
	snprintf(label, sizeof(label), a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	snprintf(id, sizeof(id), "r%016llx", (unsigned long long)id_hash(label));
	r = node(b, id, HN_GNODE_REMOTE, label, label,
		 (in_entry ? HN_GROLE_ENTRY : HN_GROLE_IMPACTED) | (hot ? HN_GROLE_PATH : 0));
	if (in_entry)
		edge(b, r, proc, "connected in", true, 1);
	else if (out)
		edge(b, proc, r, "connected", hot, 1);
	else
		edge(b, r, proc, "accepted", hot, 1);
}

/* The addresses the scope reached; a process's addresses of one direction
 * past FANOUT_MAX are one node "N addresses" (a scanner), but those of the
 * path stand alone. */
static bool remote_hot(const struct hn_story *st, const struct hn_inv_remote *r)
{
	char ip[64], a[96];

	snprintf(a, sizeof(a), r->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u",
		 hn_addr_str(&r->addr, ip, sizeof(ip)), r->addr.port);
	return on_path_obj(st, a);
}

static void remotes(struct gb *b, const struct hn_story *st)
{
	/* first[i]: the first remote of i's (process, direction), found
	 * through a hash; num[f]: how many that first one stands for */
	size_t n = st->n_remotes ? st->n_remotes : 1, nslot = 64;
	size_t *first = calloc(n, sizeof(*first)), *num = calloc(n, sizeof(*num));
	size_t *slot;

	while (nslot < n * 2)
		nslot *= 2;
	slot = calloc(nslot, sizeof(*slot));
	if (!first || !num || !slot) {
		free(first);
		free(num);
		free(slot);
		b->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < st->n_remotes; i++) {
		const struct hn_inv_remote *r = &st->remotes[i];
		size_t k = (size_t)((r->entity * 0x9e3779b97f4a7c15ULL) ^ r->out) & (nslot - 1);
		while (slot[k] && (st->remotes[slot[k] - 1].entity != r->entity ||
				   st->remotes[slot[k] - 1].out != r->out))
			k = (k + 1) & (nslot - 1);
		if (!slot[k])
			slot[k] = i + 1;
		first[i] = slot[k] - 1;
		num[first[i]] += !remote_hot(st, r);   /* those of the path stand alone */
	}
	for (size_t i = 0; i < st->n_remotes && !b->err; i++) {
		const struct hn_inv_remote *r = &st->remotes[i];
		size_t many = num[first[i]];
		bool hot = remote_hot(st, r);
		if (many > FANOUT_MAX && !hot) {
			char id[40], label[64], e[32];
			long g;
			hn_entity_str(r->entity, e, sizeof(e));
			snprintf(id, sizeof(id), "a%s%c", e, r->out ? 'o' : 'i');
			snprintf(label, sizeof(label), "%zu addresses", many);
			g = node(b, id, HN_GNODE_REMOTE, label, NULL, HN_GROLE_IMPACTED);
			if (g >= 0)
				b->g->nodes[g].count = many;
			if (r->out)
				edge(b, proc_ref(b, r->entity), g, "connected", false, 1);
			else
				edge(b, g, proc_ref(b, r->entity), "accepted", false, 1);
			continue;
		}
		remote_node(b, &r->addr, proc_ref(b, r->entity), r->out, false, hot);
	}
	free(first);
	free(num);
	free(slot);
}

int hn_story_graph(const struct hn_story *st, struct hn_graph **out)
{
	struct gb b = { 0 };
	long entry = -1, root;

	*out = NULL;
	b.g = calloc(1, sizeof(*b.g));
	if (!b.g)
		return -ENOMEM;
	if (st->entry_proc.entity)
		entry = proc_node(&b, st, &st->entry_proc, 0);
	if (st->has_remote && entry >= 0)
		remote_node(&b, &st->remote, entry, false, true, true);
	if (entry >= 0 && st->entry == HN_INV_ENTRY_SSH && b.g->n_edges)
		snprintf(b.g->edges[b.g->n_edges - 1].action, sizeof(b.g->edges[0].action),
			 "logged in");
	for (size_t i = 0; i < st->n_procs; i++)
		proc_node(&b, st, &st->procs[i], HN_GROLE_IMPACTED);
	root = st->root.entity ? proc_node(&b, st, &st->root, 0) : -1;
	/* parent -> child, within the graph */
	for (size_t i = 0; i < st->n_procs; i++) {
		const struct hn_inv_proc *p = &st->procs[i];
		long from = p->parent ? proc_ref(&b, p->parent) : -1;
		if (from >= 0 && p->entity != st->entry_proc.entity)
			edge(&b, from, proc_ref(&b, p->entity), "started",
			     on_path_proc(st, p->parent) && on_path_proc(st, p->entity), 1);
	}
	if (entry >= 0 && root >= 0 && root != entry && st->root.parent != st->entry_proc.entity)
		edge(&b, entry, root, "led to", true, 1);
	/* the user the attack ran as: its session */
	if (root >= 0) {
		char id[40], label[160], pwbuf[1024];
		struct passwd pw, *pr = NULL;
		long u;
		if (getpwuid_r(st->root.uid, &pw, pwbuf, sizeof(pwbuf), &pr) != 0)
			pr = NULL;
		snprintf(id, sizeof(id), "u%u", st->root.uid);
		snprintf(label, sizeof(label), "user %s\nuid %u", pr ? pr->pw_name : "?",
			 st->root.uid);
		u = node(&b, id, HN_GNODE_USER, label, pr ? pr->pw_name : NULL, HN_GROLE_PATH);
		edge(&b, u, root, st->entry == HN_INV_ENTRY_SSH ? "session" : "ran as", true, 1);
	}
	files(&b, st);
	/* kernel modules loaded (a persistence point with no file event) */
	for (size_t i = 0; i < st->n_persist; i++) {
		const struct hn_inv_persist *x = &st->persist[i];
		char id[40], dir[512];
		const char *base;
		long f;
		bool file = false;
		if (strcmp(x->kind, "kernel_module") || !x->path || x->path[0] != '/')
			continue;
		/* a module config file written is a file event, drawn as such */
		for (size_t k = 0; k < st->n_files && !file; k++)
			file = !strcmp(st->files[k].path, x->path);
		if (file)
			continue;
		base = strrchr(x->path, '/');
		snprintf(id, sizeof(id), "f%016llx", (unsigned long long)id_hash(x->path));
		f = node(&b, id, HN_GNODE_FILE, base + 1, x->path,
			 HN_GROLE_IMPACTED | HN_GROLE_PERSIST);
		if (f >= 0 && !b.g->nodes[f].dir) {
			dir_of(x->path, dir, sizeof(dir));
			b.g->nodes[f].dir = sdup(&b, dir);
		}
		edge(&b, proc_ref(&b, x->entity), f, "loaded", false, 1);
	}
	/* what the path ran: the delivered file -> the process that ran it */
	for (size_t i = 0; i < st->n_deliveries; i++) {
		const struct hn_inv_delivery *d = &st->deliveries[i];
		char id[40], dir[512];
		const char *base = strrchr(d->path, '/');
		long f;
		snprintf(id, sizeof(id), "f%016llx", (unsigned long long)id_hash(d->path));
		f = node(&b, id, HN_GNODE_FILE, base ? base + 1 : d->path, d->path, HN_GROLE_PATH);
		if (f >= 0 && !b.g->nodes[f].dir) {
			dir_of(d->path, dir, sizeof(dir));
			b.g->nodes[f].dir = sdup(&b, dir);
		}
		edge(&b, f, proc_ref(&b, d->runner), "executed", true, 1);
	}
	remotes(&b, st);
	for (size_t i = 0; i < st->n_injected; i++) {
		const struct hn_inv_inject *x = &st->injected[i];
		struct hn_inv_proc t = { .entity = x->target, .exe = x->exe };
		long to = proc_node(&b, st, &t, HN_GROLE_INJECTED);
		edge(&b, proc_ref(&b, x->by), to, x->how, false, 1);
	}
	free(b.slot);
	free(b.eslot);
	if (b.err) {
		hn_graph_free(b.g);
		return b.err;
	}
	*out = b.g;
	return 0;
}

void hn_graph_free(struct hn_graph *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_nodes; i++) {
		free(g->nodes[i].label);
		free(g->nodes[i].detail);
		free(g->nodes[i].dir);
	}
	free(g->nodes);
	free(g->edges);
	free(g);
}

/* ---- DOT ---- */

/* A DOT string: quotes and backslashes escaped, a newline a label's line
 * break, other control bytes dropped, at most 80 bytes a line (the rest
 * "..."). */
static void dot_str(struct hn_strbuf *b, const char *s)
{
	size_t n = 0;

	hn_strbuf_addc(b, '"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\n') {
			hn_strbuf_adds(b, "\\n");
			n = 0;
			continue;
		}
		if (n++ == 80) {
			hn_strbuf_adds(b, "...");
			break;
		}
		if (c == '"' || c == '\\')
			hn_strbuf_addc(b, '\\');
		if (c >= 0x20 && c != 0x7f)
			hn_strbuf_addc(b, (char)c);
	}
	hn_strbuf_addc(b, '"');
}

static const char HOT[] = " color=\"#c0392b\" fontcolor=\"#c0392b\" penwidth=2.5";

static void dot_node(struct hn_strbuf *b, const struct hn_gnode *x, const char *indent)
{
	char label[600];
	const char *fill = NULL;

	hn_strbuf_adds(b, indent);
	dot_str(b, x->id);   /* ids hold ':' and '.' (addresses): quoted */
	hn_strbuf_adds(b, " [");
	switch (x->kind) {
	case HN_GNODE_PROCESS:
		snprintf(label, sizeof(label), "%s%s%s",
			 x->roles & HN_GROLE_ENTRY ? "entry point\n" :
			 x->roles & HN_GROLE_ROOT ? "malicious root\n" : "",
			 x->roles & HN_GROLE_INJECTED && !(x->roles & HN_GROLE_IMPACTED) ?
				 "written into\n" : "",
			 x->label ? x->label : "?");
		fill = x->roles & HN_GROLE_ENTRY ? "#d6eaf8" :
		       x->roles & HN_GROLE_ALERT ? "#fadbd8" : "#f8f9f9";
		hn_strbuf_addf(b, "shape=box style=\"rounded,filled%s\" fillcolor=\"%s\" label=",
			       x->roles & HN_GROLE_INJECTED && !(x->roles & HN_GROLE_IMPACTED) ?
				       ",dashed" : "",
			       fill);
		dot_str(b, label);
		break;
	case HN_GNODE_FILE:
		hn_strbuf_adds(b, "shape=note label=");
		dot_str(b, x->label);
		if (x->roles & HN_GROLE_PERSIST)
			hn_strbuf_adds(b, " style=filled fillcolor=\"#f5b7b1\"");
		break;
	case HN_GNODE_FILES:
		hn_strbuf_adds(b, "shape=folder label=");
		dot_str(b, x->label);
		break;
	case HN_GNODE_REMOTE:
		hn_strbuf_addf(b, "shape=ellipse%s label=",
			       x->roles & HN_GROLE_ENTRY ? " style=filled fillcolor=\"#fdebd0\"" : "");
		dot_str(b, x->label);
		break;
	case HN_GNODE_USER:
		hn_strbuf_adds(b, "shape=house label=");
		dot_str(b, x->label);
		break;
	}
	if (x->detail) {
		hn_strbuf_adds(b, " tooltip=");
		dot_str(b, x->detail);
	}
	hn_strbuf_addf(b, "%s];\n", x->roles & HN_GROLE_PATH ? HOT : "");
}

static int by_dir(const void *a, const void *b, void *ctx)
{
	const struct hn_graph *g = ctx;
	const struct hn_gnode *x = &g->nodes[*(const size_t *)a];
	const struct hn_gnode *y = &g->nodes[*(const size_t *)b];
	int c = strcmp(x->dir, y->dir);

	return c ? c : (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

int hn_graph_dot(const struct hn_graph *g, struct hn_strbuf *b)
{
	size_t *in = calloc(g->n_nodes ? g->n_nodes : 1, sizeof(*in)), n = 0;
	unsigned cl = 0;

	if (!in)
		return -ENOMEM;
	hn_strbuf_adds(b, "digraph story {\n  rankdir=LR; node [fontname=\"Helvetica\" "
			  "fontsize=11]; edge [fontname=\"Helvetica\" fontsize=9 color=\"#566573\"];\n");
	for (size_t i = 0; i < g->n_nodes; i++) {
		if (!g->nodes[i].dir)
			dot_node(b, &g->nodes[i], "  ");
		else
			in[n++] = i;
	}
	/* files: one cluster per directory (sorted by directory: a run is a
	 * cluster) */
	qsort_r(in, n, sizeof(*in), by_dir, (void *)g);
	for (size_t i = 0; i < n; i++) {
		const struct hn_gnode *x = &g->nodes[in[i]];
		if (!i || strcmp(g->nodes[in[i - 1]].dir, x->dir)) {
			hn_strbuf_addf(b, "  subgraph cluster_d%u {\n    label=", cl++);
			dot_str(b, x->dir);
			hn_strbuf_adds(b, " style=\"rounded,dashed\" color=\"#aab7b8\" fontsize=10;\n");
		}
		dot_node(b, x, "    ");
		if (i + 1 == n || strcmp(g->nodes[in[i + 1]].dir, x->dir))
			hn_strbuf_adds(b, "  }\n");
	}
	free(in);
	for (size_t i = 0; i < g->n_edges; i++) {
		const struct hn_gedge *e = &g->edges[i];
		bool inj = !strcmp(e->action, "ptrace") || !strcmp(e->action, "proc_mem");
		hn_strbuf_adds(b, "  ");
		dot_str(b, g->nodes[e->from].id);
		hn_strbuf_adds(b, " -> ");
		dot_str(b, g->nodes[e->to].id);
		hn_strbuf_addf(b, " [label=\"%s", e->action);
		if (e->count > 1)
			hn_strbuf_addf(b, " ×%zu", e->count);
		hn_strbuf_addf(b, "\"%s%s];\n",
			       inj || !strcmp(e->action, "led to") ? " style=dashed" : "",
			       e->path ? HOT : inj ? " color=\"#c0392b\"" : "");
	}
	hn_strbuf_adds(b, "}\n");
	return b->oom ? -ENOMEM : 0;
}

int hn_story_dot(const struct hn_story *st, struct hn_strbuf *b)
{
	struct hn_graph *g = NULL;
	int r = hn_story_graph(st, &g);

	if (r == 0)
		r = hn_graph_dot(g, b);
	hn_graph_free(g);
	return r;
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
