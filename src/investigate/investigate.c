/*
 * investigate.c - root cause, intrusion path and impact scope of a process,
 * walked over the store (see investigate.h for what each means).
 *
 * Everything is read through the store's public queries: processes by
 * entity and by parent, events by entity, by path and by path2 (the last
 * three through the events' postings, so each costs the blocks that name
 * the key, not the store's size).
 *
 * Bounds: INV_MAX_PROCS processes in the scope, INV_MAX_ITEMS entries in
 * each list, INV_MAX_DEPTH ancestors, INV_TAINT_ROUNDS rounds of "ran a
 * file the tree made executable"; past one, the story says truncated.
 * Parent links are followed with a depth bound, so a cycle in bad data
 * cannot loop.
 */
#include "investigate/investigate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util/path.h"

#define INV_MAX_DEPTH    64
#define INV_MAX_PROCS    20000
#define INV_MAX_ITEMS    100000
#define INV_MAX_RUNS     16        /* files looked at per process of the path */
#define INV_TAINT_ROUNDS 3
#define INV_TAINT_FILES  256       /* executables followed per round */

const char *hn_inv_entry_name(enum hn_inv_entry k)
{
	static const char *const names[] = {
		[HN_INV_ENTRY_UNKNOWN] = "unknown",
		[HN_INV_ENTRY_SSH] = "ssh_login",
		[HN_INV_ENTRY_SERVICE] = "network_service",
		[HN_INV_ENTRY_SCHEDULED] = "scheduled_job",
		[HN_INV_ENTRY_TERMINAL] = "terminal",
		[HN_INV_ENTRY_REMOVABLE] = "removable_media",
		[HN_INV_ENTRY_PACKAGE] = "package_install",
		[HN_INV_ENTRY_SYSTEM] = "system_service",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "unknown";
}

const char *hn_inv_action_name(enum hn_inv_action a)
{
	static const char *const names[] = {
		[HN_INV_ACCEPTED] = "accepted", [HN_INV_STARTED] = "started",
		[HN_INV_EXECUTED] = "executed", [HN_INV_CONNECTED] = "connected",
		[HN_INV_CREATED] = "created",   [HN_INV_MODIFIED] = "modified",
		[HN_INV_RENAMED] = "renamed",   [HN_INV_CHMOD] = "chmod",
		[HN_INV_DELETED] = "deleted",   [HN_INV_ALERT] = "alert",
		[HN_INV_READ] = "read",
	};

	return (unsigned)a < HN_INV_ACTION_COUNT ? names[a] : "?";
}

/* ---- persistence points ---- */

static bool starts(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

static bool ends(const char *s, const char *x)
{
	size_t n = strlen(s), k = strlen(x);

	return n >= k && !strcmp(s + n - k, x);
}

const char *hn_inv_persist_kind(const char *p)
{
	static const struct {
		const char *prefix, *kind;
	} prefixes[] = {
		{ "/var/spool/cron/atjobs/", "at" }, { "/var/spool/at/", "at" },
		{ "/var/spool/cron/", "cron" }, { "/etc/cron", "cron" },
		{ "/etc/anacrontab", "cron" },
		{ "/etc/systemd/", "systemd" }, { "/lib/systemd/system/", "systemd" },
		{ "/usr/lib/systemd/", "systemd" }, { "/run/systemd/system/", "systemd" },
		{ "/etc/init.d/", "systemd" }, { "/etc/rc.local", "systemd" },
		{ "/etc/profile", "shell_rc" }, { "/etc/bash.bashrc", "shell_rc" },
		{ "/etc/zsh/", "shell_rc" }, { "/etc/environment", "shell_rc" },
		{ "/etc/ld.so.preload", "ld_preload" },
		{ "/etc/sudoers", "sudoers" },
		{ "/etc/pam.d/", "pam" }, { "/etc/pam.conf", "pam" },
		{ "/lib/security/", "pam" }, { "/usr/lib/security/", "pam" },
		{ "/lib/x86_64-linux-gnu/security/", "pam" },
		{ "/usr/lib/x86_64-linux-gnu/security/", "pam" },
		{ "/lib/aarch64-linux-gnu/security/", "pam" },
		{ "/usr/lib/aarch64-linux-gnu/security/", "pam" },
		{ "/etc/passwd", "passwd" }, { "/etc/shadow", "passwd" },
		{ "/etc/group", "passwd" }, { "/etc/gshadow", "passwd" },
		{ "/etc/modules", "kernel_module" }, { "/etc/modprobe.d/", "kernel_module" },
	};
	static const struct {
		const char *suffix, *kind;
	} suffixes[] = {
		{ "/.ssh/authorized_keys", "authorized_keys" },
		{ "/.ssh/authorized_keys2", "authorized_keys" },
		{ "/.bashrc", "shell_rc" }, { "/.bash_profile", "shell_rc" },
		{ "/.bash_login", "shell_rc" }, { "/.bash_logout", "shell_rc" },
		{ "/.profile", "shell_rc" }, { "/.zshrc", "shell_rc" }, { "/.zprofile", "shell_rc" },
		{ "/.zshenv", "shell_rc" }, { "/.xprofile", "shell_rc" },
	};

	if (!p || p[0] != '/')
		return NULL;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (starts(p, prefixes[i].prefix))
			return prefixes[i].kind;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (ends(p, suffixes[i].suffix))
			return suffixes[i].kind;
	/* a user's own systemd units and autostart entries */
	if (strstr(p, "/.config/systemd/user/"))
		return "systemd";
	if (strstr(p, "/.config/autostart/"))
		return "shell_rc";
	return NULL;
}

/* ---- the walk's state ---- */

/* An entity set (open addressing; 0 is the empty slot). */
struct eset {
	uint64_t *k;
	size_t cap, n;
};

static bool eset_has(const struct eset *s, uint64_t e)
{
	if (!s->cap || !e)
		return false;
	for (size_t i = (e * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->k[i] == e)
			return true;
		if (!s->k[i])
			return false;
	}
}

/* 1 added, 0 already there, -ENOMEM. */
static int eset_add(struct eset *s, uint64_t e)
{
	if (!e)
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct eset t = { .k = calloc(cap, sizeof(uint64_t)), .cap = cap };
		if (!t.k)
			return -ENOMEM;
		for (size_t i = 0; i < s->cap; i++)
			if (s->k[i])
				(void)eset_add(&t, s->k[i]);
		free(s->k);
		*s = t;
	}
	for (size_t i = (e * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->k[i] == e)
			return 0;
		if (!s->k[i]) {
			s->k[i] = e;
			s->n++;
			return 1;
		}
	}
}

/* An index over a list's entries by a hash of their key: slot holds
 * entry + 1, 0 empty (open addressing, at most half full). */
struct hidx {
	size_t *slot;
	size_t cap;
};

/* The slot of the entry with hash h that same(ctx, entry) accepts, or
 * the empty slot where it goes. */
static size_t *hidx_slot(const struct hidx *x, uint64_t h, bool (*same)(const void *, size_t),
			 const void *ctx)
{
	for (size_t i = h & (x->cap - 1);; i = (i + 1) & (x->cap - 1))
		if (!x->slot[i] || same(ctx, x->slot[i] - 1))
			return &x->slot[i];
}

/* Room for entry n (0..n-1 indexed already, their hashes from
 * hash_of): 0 or -ENOMEM. */
static int hidx_room(struct hidx *x, size_t n, uint64_t (*hash_of)(const void *, size_t),
		     const void *ctx)
{
	struct hidx y;

	if ((n + 1) * 2 <= x->cap)
		return 0;
	y.cap = x->cap ? x->cap * 2 : 256;
	while ((n + 1) * 2 > y.cap)
		y.cap *= 2;
	y.slot = calloc(y.cap, sizeof(*y.slot));
	if (!y.slot)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		size_t i = hash_of(ctx, k) & (y.cap - 1);
		while (y.slot[i])
			i = (i + 1) & (y.cap - 1);
		y.slot[i] = k + 1;
	}
	free(x->slot);
	*x = y;
	return 0;
}

struct inv {
	struct hn_store *s;
	struct hn_story *st;
	int err;
	bool shallow;             /* entry and root only: no deliveries, no steps */
	int depth;                /* planted files followed to their writer's story */
	struct eset scope;        /* entities in st->procs */
	struct hidx files;        /* st->files by (action, path, path2) */
	/* a planted file decided the root: the processes from the one asked
	 * about up to its own root are in the scope too (they ran it) */
	uint64_t also[INV_MAX_DEPTH];
	size_t n_also;
	struct hidx remotes;      /* st->remotes by (direction, process, address) */
};

/* Room for one more element of a list; NULL (err set, or truncated) when
 * there is none. */
static void *grow(struct inv *iv, void **v, size_t *n, size_t *cap, size_t size)
{
	if (*n >= INV_MAX_ITEMS) {
		iv->st->truncated = true;
		return NULL;
	}
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *p = realloc(*v, c * size);
		if (!p) {
			iv->err = -ENOMEM;
			return NULL;
		}
		*v = p;
		*cap = c;
	}
	return memset((char *)*v + (*n)++ * size, 0, size);
}

#define PUSH(iv, list) \
	((__typeof__((iv)->st->list))grow((iv), (void **)&(iv)->st->list, &(iv)->st->n_##list, \
					  &(iv)->st->cap_##list, sizeof(*(iv)->st->list)))

static char *dup_or_null(struct inv *iv, const char *s)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		iv->err = -ENOMEM;
	return d;
}

static void proc_release(struct hn_inv_proc *p)
{
	free(p->exe);
	free(p->args);
	memset(p, 0, sizeof(*p));
}

static char *join_args(struct inv *iv, const char *a, size_t n)
{
	char *j;

	if (!a || !n)
		return NULL;
	j = malloc(n + 1);
	if (!j) {
		iv->err = -ENOMEM;
		return NULL;
	}
	memcpy(j, a, n);
	j[n] = '\0';
	while (n && j[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (j[i] == '\0')
			j[i] = ' ';
	return j;
}

/* The process `entity` into *out.  0, -ENOENT or an error. */
static int load_proc(struct inv *iv, uint64_t entity, struct hn_inv_proc *out)
{
	struct hn_process *p = NULL;
	int r = hn_store_process(iv->s, entity, &p);

	memset(out, 0, sizeof(*out));
	if (r < 0) {
		if (r != -ENOENT)
			iv->err = r;   /* a store error is not "unknown" */
		return r;
	}
	out->entity = p->entity;
	out->parent = p->parent_entity;
	out->pid = p->pid;
	out->uid = p->uid;
	out->start = p->start_time;
	out->exe = dup_or_null(iv, p->executable);
	out->args = join_args(iv, p->args, p->args_len);
	hn_process_free(p);
	if (iv->err)
		proc_release(out);
	return iv->err;
}

/* ---- events ---- */

/* Copies of the events a query returns (bounded by the query's limit). */
struct evs {
	struct hn_event **v;
	size_t n, cap;
	int err;
};

static int keep_event(const struct hn_event *ev, void *arg)
{
	struct evs *e = arg;
	struct hn_event *d;

	if (e->n == e->cap) {
		size_t c = e->cap ? e->cap * 2 : 32;
		struct hn_event **v = realloc(e->v, c * sizeof(*v));
		if (!v)
			return e->err = -ENOMEM;
		e->v = v;
		e->cap = c;
	}
	d = hn_event_dup(ev);
	if (!d)
		return e->err = -ENOMEM;
	e->v[e->n++] = d;
	return 0;
}

static void evs_free(struct evs *e)
{
	for (size_t i = 0; i < e->n; i++)
		hn_event_free(e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static int query(struct inv *iv, struct hn_query *q, struct evs *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = hn_store_query(iv->s, q, keep_event, out);
	if (out->err)
		r = out->err;
	if (r < 0) {
		evs_free(out);
		iv->err = r;
	}
	return r;
}

static void set_types(struct hn_query *q, const uint16_t *t, int n)
{
	for (int i = 0; i < n; i++)
		q->types[i] = t[i];
	q->ntypes = n;
}

/* The newest event of `types` by entity at or before `until` (0: any),
 * or NULL. */
static struct hn_event *newest_of(struct inv *iv, uint64_t entity, const uint16_t *types,
				  int ntypes, uint64_t until)
{
	struct hn_query q = { .entity = entity, .until = until, .limit = 1, .newest_first = true,
			      .bare = true };
	struct evs e;
	struct hn_event *ev = NULL;

	set_types(&q, types, ntypes);
	if (query(iv, &q, &e) < 0)
		return NULL;
	if (e.n) {
		ev = e.v[0];
		e.v[0] = NULL;
		e.n = 0;
	}
	evs_free(&e);
	return ev;
}

/* ---- root cause ---- */

static const char *base(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;

	return b ? b + 1 : p ? p : "";
}

static bool name_in(const char *name, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(name, *set))
			return true;
	return false;
}

static void add_step(struct inv *iv, uint64_t time, enum hn_inv_action a, uint64_t entity,
		     uint32_t pid, const char *exe, const char *object, int64_t id)
{
	struct hn_inv_step *s;

	/* the same event once (a step can be reached twice); a step with no
	 * event by its process, action and time */
	for (size_t i = 0; i < iv->st->n_steps; i++) {
		const struct hn_inv_step *x = &iv->st->steps[i];
		if (id ? x->id == id && x->action == a &&
			 !strcmp(x->object ? x->object : "", object ? object : "") :
			 !x->id && x->action == a && x->entity == entity && x->time == time)
			return;
	}
	s = PUSH(iv, steps);
	if (!s)
		return;
	s->time = time;
	s->action = a;
	s->entity = entity;
	s->pid = pid;
	s->exe = dup_or_null(iv, exe);
	s->object = dup_or_null(iv, object);
	s->id = id;
}

static void addr_port(const struct hn_addr *a, char *buf, size_t n)
{
	char ip[64];

	hn_addr_str(a, ip, sizeof(ip));
	if (a->family == AF_INET6)
		snprintf(buf, n, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, n, "%s:%u", ip, a->port);
}

/* The newest accept by entity before `until`: *ev (owned) or NULL. */
static struct hn_event *accepted_before(struct inv *iv, uint64_t entity, uint64_t until)
{
	static const uint16_t t[] = { HN_EV_NET_ACCEPT };

	return newest_of(iv, entity, t, 1, until);
}

static bool external(enum hn_inv_entry e)
{
	return e == HN_INV_ENTRY_SSH || e == HN_INV_ENTRY_SERVICE || e == HN_INV_ENTRY_REMOVABLE;
}

static bool package_manager(const char *exe)
{
	static const char *const pkg[] = { "dpkg", "apt", "apt-get", "aptitude", "rpm", "dnf",
					   "yum", "zypper", "unattended-upgrade", "packagekitd",
					   NULL };

	return name_in(base(exe), pkg);
}

/* What kind of way in chain[i] is (with chain[i - 1] its child on the way
 * down, i >= 1), HN_INV_ENTRY_UNKNOWN when none; *acc: the accept that
 * let the attacker in (owned), when there is one. */
static enum hn_inv_entry entry_kind(struct inv *iv, const struct hn_inv_proc *chain, size_t i,
				    struct hn_event **acc)
{
	static const char *const sched[] = { "cron", "crond", "atd", "anacron", NULL };
	static const char *const term[] = { "login", "agetty", "getty", "mingetty", "tmux",
					    "screen", "xterm", "gnome-terminal-server", "konsole",
					    "xfce4-terminal", "kitty", "alacritty", NULL };
	const struct hn_inv_proc *a = &chain[i], *child = &chain[i - 1];
	const char *b = base(a->exe);

	*acc = NULL;
	if (!strcmp(b, "sshd")) {
		/* the listener accepted, then forked the session's sshd */
		*acc = child->start ? accepted_before(iv, a->entity, child->start) : NULL;
		if (!*acc && a->parent && a->start)
			*acc = accepted_before(iv, a->parent, a->start);
		return HN_INV_ENTRY_SSH;
	}
	if (name_in(b, sched))
		return HN_INV_ENTRY_SCHEDULED;
	if (package_manager(a->exe))
		return HN_INV_ENTRY_PACKAGE;
	/* an accept before the child started (its start unknown: no time to
	 * hold the accept against, so none counts) */
	if (child->start && (*acc = accepted_before(iv, a->entity, child->start)))
		return HN_INV_ENTRY_SERVICE;
	if (!iv->err && name_in(b, term))
		return HN_INV_ENTRY_TERMINAL;
	return HN_INV_ENTRY_UNKNOWN;
}

/* chain[i] is the story's entry point, of kind k (acc: its accept, owned
 * and freed here): moved into st->entry_proc, its step added. */
static void set_entry(struct inv *iv, struct hn_inv_proc *chain, size_t i, enum hn_inv_entry k,
		      struct hn_event *acc)
{
	struct hn_story *st = iv->st;
	struct hn_inv_proc *a = &chain[i];

	st->entry = k;
	st->entry_proc = *a;
	memset(a, 0, sizeof(*a));
	a->entity = st->entry_proc.entity;   /* the chain keeps its place */
	st->entry_time = st->entry_proc.start;
	if (acc) {
		char obj[96];
		st->has_remote = true;
		st->remote = acc->dst;
		st->entry_time = acc->time;
		st->entry_id = acc->id;
		addr_port(&acc->dst, obj, sizeof(obj));
		add_step(iv, acc->time, HN_INV_ACCEPTED, acc->proc.entity, acc->proc.pid,
			 st->entry_proc.exe, obj, acc->id);
		hn_event_free(acc);
	} else {
		add_step(iv, st->entry_proc.start, HN_INV_STARTED, st->entry_proc.entity,
			 st->entry_proc.pid, st->entry_proc.exe, st->entry_proc.exe, 0);
	}
}

/* The entry point among chain[1 .. n): the closest way in; but a package
 * install or a terminal below an ssh login or a network service is how
 * the attacker went on, not how they came in (sudo apt install ./x.deb
 * in an ssh session): the way in from outside above it is the entry, and
 * it is kept as `via`.  Its index, or n when there is none. */
static size_t find_entry(struct inv *iv, struct hn_inv_proc *chain, size_t n)
{
	struct hn_story *st = iv->st;

	for (size_t i = 1; i < n && !iv->err; i++) {
		struct hn_event *acc = NULL;
		enum hn_inv_entry k = entry_kind(iv, chain, i, &acc);
		if (k == HN_INV_ENTRY_UNKNOWN)
			continue;
		if (k == HN_INV_ENTRY_PACKAGE || k == HN_INV_ENTRY_TERMINAL) {
			for (size_t j = i + 1; j < n && !iv->err; j++) {
				struct hn_event *acc2 = NULL;
				enum hn_inv_entry k2 = entry_kind(iv, chain, j, &acc2);
				if (external(k2)) {
					st->via = k;
					st->via_proc.entity = chain[i].entity;
					st->via_proc.parent = chain[i].parent;
					st->via_proc.pid = chain[i].pid;
					st->via_proc.uid = chain[i].uid;
					st->via_proc.start = chain[i].start;
					st->via_proc.exe = dup_or_null(iv, chain[i].exe);
					st->via_proc.args = dup_or_null(iv, chain[i].args);
					hn_event_free(acc);
					set_entry(iv, chain, j, k2, acc2);
					return j;
				}
				hn_event_free(acc2);
			}
		}
		set_entry(iv, chain, i, k, acc);
		return i;
	}
	return n;
}

static bool is_interpreter(const char *exe)
{
	static const char *const names[] = { "sh", "bash", "dash", "zsh", "ksh", "busybox",
					     "perl", "ruby", "php", "node", "nodejs", "lua", NULL };
	const char *b = base(exe);

	return name_in(b, names) || !strncmp(b, "python", 6) || !strncmp(b, "php", 3);
}

/* Add path (made absolute with cwd) to runs unless there. */
static void add_run(char runs[][4096], unsigned *n, const char *path, const char *cwd)
{
	char abs[4096];

	if (!path || !*path || *n >= INV_MAX_RUNS)
		return;
	if (path[0] == '/')
		snprintf(abs, sizeof(abs), "%s", path);
	else if (!cwd || !hn_path_join(cwd, path, abs, sizeof(abs)))
		return;
	hn_path_normalize(abs);
	for (unsigned i = 0; i < *n; i++)
		if (!strcmp(runs[i], abs))
			return;
	snprintf(runs[(*n)++], 4096, "%s", abs);
}

/* The files an exec ran: the executable, the path given to execve, and
 * an interpreter's script (its first argument that is not an option,
 * unless -c says the program is inline). */
static void files_run(const struct hn_event *ev, char runs[][4096], unsigned *n)
{
	const char *a, *end;
	bool first = true;

	add_run(runs, n, ev->path, ev->cwd);
	add_run(runs, n, ev->filename, ev->cwd);
	if (!ev->args || !is_interpreter(ev->path))
		return;
	end = ev->args + ev->args_len;
	for (a = ev->args; a < end; a += strlen(a) + 1, first = false) {
		if (first)
			continue;                /* argv[0] */
		if (!strcmp(a, "-c") || !strcmp(a, "-e") || !strcmp(a, "-m") ||
		    !strcmp(a, "-E") || !strcmp(a, "-r"))
			return;                  /* inline program */
		if (a[0] == '-')
			continue;
		add_run(runs, n, a, ev->cwd);
		return;
	}
}

/* The newest write of path at or before t (create, write-open that wrote,
 * truncate, or a rename or link onto it): owned event or NULL. */
static struct hn_event *last_write(struct inv *iv, const char *path, uint64_t t)
{
	static const uint16_t wt[] = { HN_EV_FILE_CREATE, HN_EV_FILE_OPEN_WRITE,
				       HN_EV_FILE_TRUNCATE };
	static const uint16_t rt[] = { HN_EV_FILE_RENAME, HN_EV_FILE_LINK };
	struct hn_query q = { .path = path, .until = t, .newest_first = true, .limit = 64 };
	struct evs e;
	struct hn_event *best = NULL;

	set_types(&q, wt, 3);
	if (query(iv, &q, &e) < 0)
		return NULL;
	for (size_t i = 0; i < e.n && !best; i++) {
		struct hn_event *ev = e.v[i];
		/* a write-open that did not write is not a delivery */
		if (ev->type == HN_EV_FILE_OPEN_WRITE &&
		    !(ev->flags & (HN_EVF_WRITTEN | HN_EVF_CREATED | HN_EVF_TRUNC)))
			continue;
		best = ev;
		e.v[i] = NULL;
	}
	evs_free(&e);
	q = (struct hn_query){ .path2 = path, .until = t, .newest_first = true, .limit = 1 };
	set_types(&q, rt, 2);
	if (query(iv, &q, &e) < 0) {
		hn_event_free(best);
		return NULL;
	}
	if (e.n && (!best || e.v[0]->time > best->time)) {
		hn_event_free(best);
		best = e.v[0];
		e.v[0] = NULL;
	}
	evs_free(&e);
	return best;
}

/* Who wrote each file process p ran (its execs at or before `at`), and
 * the download behind it; steps for each. */
static void deliveries_of(struct inv *iv, const struct hn_inv_proc *p, uint64_t at)
{
	static const uint16_t xt[] = { HN_EV_PROCESS_START };
	static const uint16_t ct[] = { HN_EV_NET_CONNECT };
	struct hn_query q = { .entity = p->entity, .until = at, .limit = 8 };
	struct evs execs;

	set_types(&q, xt, 1);
	if (query(iv, &q, &execs) < 0)
		return;
	for (size_t k = 0; k < execs.n && !iv->err; k++) {
		const struct hn_event *x = execs.v[k];
		char (*runs)[4096] = malloc(INV_MAX_RUNS * sizeof(*runs));
		unsigned nruns = 0;

		if (!runs) {
			iv->err = -ENOMEM;
			break;
		}
		files_run(x, runs, &nruns);
		struct hn_event *writes[INV_MAX_RUNS] = { 0 };
		unsigned shown = 0;
		for (unsigned i = 0; i < nruns && !iv->err; i++)
			writes[i] = last_write(iv, runs[i], x->time);
		/* one step for the exec: the file it ran that someone wrote (a
		 * script run through its interpreter), else the executable */
		for (unsigned i = 0; i < nruns; i++)
			if (writes[i])
				shown = i;
		if (nruns)
			add_step(iv, x->time, HN_INV_EXECUTED, p->entity, x->proc.pid, x->path,
				 runs[shown], x->id);
		for (unsigned i = 0; i < nruns && !iv->err; i++) {
			struct hn_event *w = writes[i];
			struct hn_inv_delivery *d;
			struct hn_inv_proc wp;
			struct hn_event *c, *xw;
			bool dup = false;

			writes[i] = NULL;
			if (!w)
				continue;
			for (size_t j = 0; j < iv->st->n_deliveries; j++)
				dup |= iv->st->deliveries[j].id == w->id &&
				       !strcmp(iv->st->deliveries[j].path, runs[i]);
			if (dup || !(d = PUSH(iv, deliveries))) {
				hn_event_free(w);
				continue;
			}
			d->path = dup_or_null(iv, runs[i]);
			d->runner = p->entity;
			d->writer = w->proc.entity;
			d->time = w->time;
			d->id = w->id;
			d->writer_exe = dup_or_null(iv, w->proc.executable);
			if (load_proc(iv, w->proc.entity, &wp) == 0) {
				if (!d->writer_exe)
					d->writer_exe = dup_or_null(iv, wp.exe);
				proc_release(&wp);
			}
			iv->err = iv->err == -ENOENT ? 0 : iv->err;
			xw = newest_of(iv, w->proc.entity, xt, 1, w->time);
			if (xw) {
				add_step(iv, xw->time, HN_INV_EXECUTED, w->proc.entity, w->proc.pid,
					 xw->path, xw->path, xw->id);
				hn_event_free(xw);
			}
			c = newest_of(iv, w->proc.entity, ct, 1, w->time);
			if (c) {
				char obj[96];
				d->has_from = true;
				d->from = c->dst;
				addr_port(&c->dst, obj, sizeof(obj));
				add_step(iv, c->time, HN_INV_CONNECTED, c->proc.entity, c->proc.pid,
					 w->proc.executable, obj, c->id);
				hn_event_free(c);
			}
			add_step(iv, w->time,
				 w->type == HN_EV_FILE_CREATE || (w->flags & HN_EVF_CREATED) ?
					 HN_INV_CREATED :
					 w->type == HN_EV_FILE_RENAME || w->type == HN_EV_FILE_LINK ?
					 HN_INV_RENAMED :
					 HN_INV_MODIFIED,
				 w->proc.entity, w->proc.pid, w->proc.executable, runs[i], w->id);
			/* its mode made executable between the write and the run */
			{
				static const uint16_t mt[] = { HN_EV_FILE_CHMOD };
				struct hn_query mq = { .path = runs[i], .since = w->time,
						       .until = x->time, .limit = 4 };
				struct evs m;
				set_types(&mq, mt, 1);
				if (query(iv, &mq, &m) == 0) {
					for (size_t j = 0; j < m.n; j++)
						add_step(iv, m.v[j]->time, HN_INV_CHMOD,
							 m.v[j]->proc.entity, m.v[j]->proc.pid,
							 m.v[j]->proc.executable, runs[i], m.v[j]->id);
					evs_free(&m);
				}
			}
			hn_event_free(w);
		}
		for (unsigned i = 0; i < nruns; i++)
			hn_event_free(writes[i]);   /* left by an error */
		free(runs);
	}
	evs_free(&execs);
}

static int by_time(const void *a, const void *b)
{
	const struct hn_inv_step *x = a, *y = b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}


static void root_cause(struct inv *iv, uint64_t entity, uint64_t at, const char *alert_title);

/* The way in when the process came from no way in of its own (cron, a
 * service, the history's start) but ran a file someone else wrote: that
 * writer's way in, when it is one from outside (a web shell's download
 * that cron runs later).  seg[0..nseg) are the processes from the one
 * asked about up to the root.  The story's entry and root become the
 * writer's (its way in becomes `via`); true when so. */
static bool planted(struct inv *iv, const struct hn_inv_proc *seg, size_t nseg, uint64_t at)
{
	static const uint16_t xt[] = { HN_EV_PROCESS_START };
	struct hn_story *st = iv->st;
	bool done = false;

	if (iv->depth >= 2 || external(st->entry))
		return false;
	for (size_t i = 0; i < nseg && !done && !iv->err; i++) {
		struct hn_query q = { .entity = seg[i].entity, .until = at, .limit = 8 };
		struct evs execs;
		set_types(&q, xt, 1);
		if (query(iv, &q, &execs) < 0)
			return false;
		for (size_t k = 0; k < execs.n && !done && !iv->err; k++) {
			char (*runs)[4096] = malloc(INV_MAX_RUNS * sizeof(*runs));
			unsigned nruns = 0;
			if (!runs) {
				iv->err = -ENOMEM;
				break;
			}
			files_run(execs.v[k], runs, &nruns);
			for (unsigned r = 0; r < nruns && !done && !iv->err; r++) {
				struct hn_event *w = last_write(iv, runs[r], execs.v[k]->time);
				struct inv sub = { .s = iv->s, .shallow = iv->shallow,
						   .depth = iv->depth + 1 };
				bool skip = false;
				if (!w)
					continue;
				/* its own write, or a package's: nothing planted */
				for (size_t j = 0; j < nseg; j++)
					skip |= seg[j].entity == w->proc.entity;
				skip |= package_manager(w->proc.executable);
				if (!skip && !(sub.st = calloc(1, sizeof(*sub.st))))
					iv->err = -ENOMEM;
				if (skip || !sub.st) {
					hn_event_free(w);
					continue;
				}
				sub.st->subject = w->proc.entity;
				root_cause(&sub, w->proc.entity, w->time, NULL);
				if (!sub.err && external(sub.st->entry)) {
					/* the writer's way in is the story's; the way
					 * this process came becomes `via` */
					proc_release(&st->via_proc);
					st->via = st->entry;
					st->via_proc = st->entry_proc;
					memset(&st->entry_proc, 0, sizeof(st->entry_proc));
					proc_release(&st->entry_proc);
					st->entry = sub.st->entry;
					st->entry_proc = sub.st->entry_proc;
					memset(&sub.st->entry_proc, 0, sizeof(sub.st->entry_proc));
					st->has_remote = sub.st->has_remote;
					st->remote = sub.st->remote;
					st->entry_time = sub.st->entry_time;
					st->entry_id = sub.st->entry_id;
					proc_release(&st->root);
					st->root = sub.st->root;
					memset(&sub.st->root, 0, sizeof(sub.st->root));
					/* the writer's path comes before this one */
					for (size_t j = 0; j < sub.st->n_steps; j++) {
						const struct hn_inv_step *x = &sub.st->steps[j];
						add_step(iv, x->time, x->action, x->entity, x->pid,
							 x->exe, x->object, x->id);
					}
					add_step(iv, st->via_proc.start, HN_INV_STARTED,
						 st->via_proc.entity, st->via_proc.pid, st->via_proc.exe,
						 st->via_proc.exe, 0);
					done = true;
				} else if (sub.err && sub.err != -ENOENT) {
					iv->err = sub.err;
				}
				hn_story_free(sub.st);
				hn_event_free(w);
			}
			free(runs);
		}
		evs_free(&execs);
	}
	return done;
}

/* Ancestors, entry point, malicious root, deliveries, the path. */
static void root_cause(struct inv *iv, uint64_t entity, uint64_t at, const char *alert_title)
{
	struct hn_story *st = iv->st;
	struct hn_inv_proc chain[INV_MAX_DEPTH];
	size_t n = 0, entry = 0, top;
	struct eset seen = { 0 };
	uint32_t subj_pid;
	char *subj_exe;

	memset(chain, 0, sizeof(chain));
	for (uint64_t e = entity; e && n < INV_MAX_DEPTH && !iv->err; n++) {
		int r = eset_add(&seen, e);
		if (r <= 0) {
			iv->err = r;   /* a cycle (0) ends the chain */
			break;
		}
		if (load_proc(iv, e, &chain[n]) < 0)
			break;
		e = chain[n].parent;
	}
	free(seen.k);
	if (iv->err == -ENOENT)
		iv->err = 0;
	/* the process asked about, as it is before anything moves out of the
	 * chain (the alert step names it) */
	subj_pid = n ? chain[0].pid : 0;
	subj_exe = n ? dup_or_null(iv, chain[0].exe) : NULL;
	if (!n || iv->err) {
		free(subj_exe);
		for (size_t i = 0; i < n; i++)
			proc_release(&chain[i]);
		if (!iv->err)
			iv->err = -ENOENT;
		return;
	}
	/* removable media: the program itself ran from there */
	if (chain[0].exe && (starts(chain[0].exe, "/media/") || starts(chain[0].exe, "/mnt/") ||
			     starts(chain[0].exe, "/run/media/"))) {
		st->entry = HN_INV_ENTRY_REMOVABLE;
		st->entry_proc = chain[0];
		memset(&chain[0], 0, sizeof(chain[0]));
		chain[0].entity = st->entry_proc.entity;
		st->entry_time = st->entry_proc.start;
	} else {
		entry = find_entry(iv, chain, n);
		if (entry >= n) {
			/* no way in found: the service init started, else the
			 * oldest process the store knows */
			top = n - 1;
			entry = top;
			if (chain[top].pid == 1 && top >= 1) {
				st->entry = HN_INV_ENTRY_SYSTEM;
				entry = top - 1;
			} else {
				st->entry = HN_INV_ENTRY_UNKNOWN;
			}
			st->entry_proc = chain[entry];
			memset(&chain[entry], 0, sizeof(chain[entry]));
			chain[entry].entity = st->entry_proc.entity;
			st->entry_time = st->entry_proc.start;
			add_step(iv, st->entry_proc.start, HN_INV_STARTED, st->entry_proc.entity,
				 st->entry_proc.pid, st->entry_proc.exe, st->entry_proc.exe, 0);
		}
	}
	/* the malicious root: the entry's child on the way down (the process
	 * asked about when it is the entry itself) */
	{
		size_t r = entry ? entry - 1 : 0;
		if (!entry) {
			st->root = st->entry_proc;
			st->root.exe = dup_or_null(iv, st->entry_proc.exe);
			st->root.args = dup_or_null(iv, st->entry_proc.args);
		} else {
			st->root = chain[r];
			memset(&chain[r], 0, sizeof(chain[r]));
			chain[r].entity = st->root.entity;
			chain[r].pid = st->root.pid;
			chain[r].start = st->root.start;
		}
	}
	/* the processes from the one asked about up to the root, whole */
	{
		size_t nseg = entry ? entry : 1;
		struct hn_inv_proc *seg = calloc(nseg, sizeof(*seg));
		if (!seg) {
			iv->err = -ENOMEM;
		} else {
			for (size_t i = 0; i < nseg; i++) {
				seg[i] = chain[i];
				if (seg[i].entity == st->root.entity) {
					seg[i].exe = st->root.exe;
					seg[i].args = st->root.args;
					seg[i].pid = st->root.pid;
				}
				if (!seg[i].exe && seg[i].entity == st->entry_proc.entity)
					seg[i] = st->entry_proc;
			}
			/* a file planted by a way in from outside: that way in */
			if (st->entry != HN_INV_ENTRY_REMOVABLE) {
				struct hn_inv_proc keep = st->root;
				st->root.exe = dup_or_null(iv, keep.exe);
				st->root.args = dup_or_null(iv, keep.args);
				for (size_t i = 0; i < nseg; i++)
					if (seg[i].entity == keep.entity) {
						seg[i].exe = keep.exe;
						seg[i].args = keep.args;
					}
				if (planted(iv, seg, nseg, at))
					for (size_t i = 0; i < nseg && iv->n_also < INV_MAX_DEPTH; i++)
						iv->also[iv->n_also++] = seg[i].entity;
				/* deliveries and steps, from the process asked
				 * about up to its root */
				for (size_t i = 0; i < nseg && !iv->err && !iv->shallow; i++)
					deliveries_of(iv, &seg[i], at);
				proc_release(&keep);
			} else {
				for (size_t i = 0; i < nseg && !iv->err && !iv->shallow; i++)
					deliveries_of(iv, &seg[i], at);
			}
			free(seg);
		}
	}
	if (alert_title && !iv->err)
		add_step(iv, at, HN_INV_ALERT, entity, subj_pid, subj_exe, alert_title, 0);
	free(subj_exe);
	for (size_t i = 0; i < n; i++)
		proc_release(&chain[i]);
	if (st->n_steps)
		qsort(st->steps, st->n_steps, sizeof(*st->steps), by_time);
}

/* ---- impact scope ---- */

static int add_scope_proc(struct inv *iv, uint64_t entity)
{
	struct hn_inv_proc *p;
	int r;

	if (eset_has(&iv->scope, entity))
		return 0;
	if (iv->st->n_procs >= INV_MAX_PROCS) {
		iv->st->truncated = true;
		return 0;
	}
	r = eset_add(&iv->scope, entity);
	if (r < 0)
		return iv->err = r;
	p = PUSH(iv, procs);
	if (!p)
		return iv->err;
	if (load_proc(iv, entity, p) == -ENOENT) {
		iv->err = 0;
		p->entity = entity;
	}
	return iv->err;
}

static int on_child(const struct hn_process *c, void *arg)
{
	struct inv *iv = arg;

	return add_scope_proc(iv, c->entity) < 0 ? iv->err : 0;
}

/* Descendants of st->procs[from ..] (breadth first). */
static void descend(struct inv *iv, size_t from)
{
	for (size_t i = from; i < iv->st->n_procs && !iv->err && !iv->st->truncated; i++) {
		int r = hn_store_children(iv->s, iv->st->procs[i].entity, on_child, iv);
		if (r < 0 && !iv->err)
			iv->err = r;
	}
}

static uint64_t str_hash(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static uint64_t file_key(enum hn_inv_action a, const char *path, const char *path2)
{
	return str_hash(str_hash(0xcbf29ce484222325ULL ^ (uint64_t)a, path),
			a == HN_INV_RENAMED ? path2 : NULL);
}

static uint64_t file_hash_of(const void *ctx, size_t i)
{
	const struct hn_inv_file *f = &((const struct hn_story *)ctx)->files[i];

	return file_key(f->action, f->path, f->path2);
}

struct file_want {
	const struct hn_story *st;
	enum hn_inv_action a;
	const char *path, *path2;
};

static bool file_same(const void *ctx, size_t i)
{
	const struct file_want *w = ctx;
	const struct hn_inv_file *f = &w->st->files[i];

	return f->action == w->a && f->path && !strcmp(f->path, w->path) &&
	       (w->a != HN_INV_RENAMED ||
		(f->path2 ? w->path2 && !strcmp(f->path2, w->path2) : !w->path2));
}

/* The slot of the scope's file (a, path, path2): its entry + 1, or 0
 * where it goes; NULL when out of memory. */
static size_t *file_slot(struct inv *iv, enum hn_inv_action a, const char *path,
			 const char *path2)
{
	struct file_want w = { iv->st, a, path, path2 };

	if (hidx_room(&iv->files, iv->st->n_files, file_hash_of, iv->st) < 0) {
		iv->err = -ENOMEM;
		return NULL;
	}
	return hidx_slot(&iv->files, file_key(a, path, path2), file_same, &w);
}

/* Did ev give a regular file an x bit (a create with one, a chmod)?  A
 * directory's mode (mkdir 0777) says nothing of what runs. */
static bool exec_mode(const struct hn_event *ev)
{
	if (ev->type != HN_EV_FILE_CREATE && ev->type != HN_EV_FILE_CHMOD &&
	    !(ev->type == HN_EV_FILE_OPEN_WRITE && (ev->flags & HN_EVF_CREATED)))
		return false;
	/* a chmod of a directory (S_IFDIR in the mode when the sensor has it) */
	if ((ev->mode & 0170000) == 0040000)
		return false;
	return (ev->mode & 0111) != 0;
}

static void add_file(struct inv *iv, enum hn_inv_action a, const struct hn_event *ev)
{
	/* a hard link's new name is path2 (path is the file it links to) */
	const char *path = ev->type == HN_EV_FILE_LINK ? ev->path2 : ev->path, *kind;
	struct hn_inv_file *f;
	size_t *sl;

	if (!path)
		return;
	sl = file_slot(iv, a, path, ev->path2);
	if (!sl)
		return;
	if (*sl) {
		iv->st->files[*sl - 1].exec |= exec_mode(ev);
		goto persist;
	}
	f = PUSH(iv, files);
	if (!f)
		return;
	*sl = iv->st->n_files;
	f->action = a;
	f->path = dup_or_null(iv, path);
	f->path2 = a == HN_INV_RENAMED ? dup_or_null(iv, ev->path2) : NULL;
	f->entity = ev->proc.entity;
	f->time = ev->time;
	f->id = ev->id;
	f->exec = exec_mode(ev);
persist:
	/* a rename onto a persistence point counts under its new name */
	kind = hn_inv_persist_kind(a == HN_INV_RENAMED && ev->path2 ? ev->path2 : path);
	if (kind) {
		const char *pp = a == HN_INV_RENAMED && ev->path2 ? ev->path2 : path;
		struct hn_inv_persist *p;
		if (a == HN_INV_CHMOD || a == HN_INV_READ)
			return;
		for (size_t i = 0; i < iv->st->n_persist; i++)
			if (iv->st->persist[i].action == a && !strcmp(iv->st->persist[i].path, pp))
				return;
		p = PUSH(iv, persist);
		if (!p)
			return;
		p->kind = kind;
		p->action = a;
		p->path = dup_or_null(iv, pp);
		p->entity = ev->proc.entity;
		p->time = ev->time;
		p->id = ev->id;
	}
}

static bool created_by_scope(struct inv *iv, const char *path)
{
	size_t *sl = file_slot(iv, HN_INV_CREATED, path, NULL);

	return sl && *sl;
}

static uint64_t remote_key(const struct hn_inv_remote *r)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (r->out ? 1u : 2u);

	h = (h ^ r->entity) * 0x100000001b3ULL;
	h = (h ^ ((uint64_t)r->addr.family << 16 | r->addr.port)) * 0x100000001b3ULL;
	for (int i = 0; i < 16; i++)
		h = (h ^ r->addr.addr[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t remote_hash_of(const void *ctx, size_t i)
{
	return remote_key(&((const struct hn_story *)ctx)->remotes[i]);
}

struct remote_want {
	const struct hn_story *st;
	const struct hn_inv_remote *r;
};

static bool remote_same(const void *ctx, size_t i)
{
	const struct remote_want *w = ctx;
	const struct hn_inv_remote *r = &w->st->remotes[i];

	return r->out == w->r->out && r->entity == w->r->entity &&
	       r->addr.port == w->r->addr.port && r->addr.family == w->r->addr.family &&
	       !memcmp(r->addr.addr, w->r->addr.addr, 16);
}

static void add_remote(struct inv *iv, const struct hn_event *ev, bool out)
{
	struct hn_inv_remote *r;
	size_t *sl;

	if (ev->dst.family != AF_INET && ev->dst.family != AF_INET6)
		return;
	if (ev->result < 0 && !(ev->flags & HN_EVF_INPROGRESS))
		return;   /* a connect that failed reached nothing */
	{
		struct hn_inv_remote want = { .addr = ev->dst, .out = out, .entity = ev->proc.entity };
		struct remote_want w = { iv->st, &want };
		if (hidx_room(&iv->remotes, iv->st->n_remotes, remote_hash_of, iv->st) < 0) {
			iv->err = -ENOMEM;
			return;
		}
		sl = hidx_slot(&iv->remotes, remote_key(&want), remote_same, &w);
		if (*sl)
			return;
	}
	r = PUSH(iv, remotes);
	if (!r)
		return;
	*sl = iv->st->n_remotes;
	r->addr = ev->dst;
	r->out = out;
	r->entity = ev->proc.entity;
	r->time = ev->time;
	r->id = ev->id;
}

static void add_inject(struct inv *iv, const struct hn_event *ev, const char *how)
{
	struct hn_inv_inject *j;
	struct hn_inv_proc t;

	if (!ev->target_entity || ev->result < 0)
		return;
	for (size_t i = 0; i < iv->st->n_injected; i++)
		if (iv->st->injected[i].target == ev->target_entity &&
		    iv->st->injected[i].by == ev->proc.entity)
			return;
	j = PUSH(iv, injected);
	if (!j)
		return;
	j->target = ev->target_entity;
	j->by = ev->proc.entity;
	j->how = how;
	j->time = ev->time;
	j->id = ev->id;
	if (load_proc(iv, ev->target_entity, &t) == 0) {
		j->exe = t.exe;
		t.exe = NULL;
		proc_release(&t);
	}
	if (iv->err == -ENOENT)
		iv->err = 0;
}

/* One event of a scope process: into the lists.  Non-zero stops the
 * query (an error, or every list full). */
static int on_act(const struct hn_event *ev, void *arg)
{
	struct inv *iv = arg;

	if (ev->result < 0 && ev->type != HN_EV_NET_CONNECT)
		return 0;   /* it failed: it touched nothing */
	switch (ev->type) {
	case HN_EV_FILE_CREATE:
	case HN_EV_DIR_CREATE:
	case HN_EV_FILE_LINK:
	case HN_EV_FILE_SYMLINK:
		add_file(iv, HN_INV_CREATED, ev);
		break;
	case HN_EV_FILE_OPEN_WRITE:
		if (ev->flags & HN_EVF_CREATED)
			add_file(iv, HN_INV_CREATED, ev);
		else if ((ev->flags & (HN_EVF_WRITTEN | HN_EVF_TRUNC)) && ev->path &&
			 !created_by_scope(iv, ev->path))
			add_file(iv, HN_INV_MODIFIED, ev);
		break;
	case HN_EV_FILE_TRUNCATE:
		if (ev->path && !created_by_scope(iv, ev->path))
			add_file(iv, HN_INV_MODIFIED, ev);
		break;
	case HN_EV_FILE_RENAME:
		add_file(iv, HN_INV_RENAMED, ev);
		break;
	case HN_EV_FILE_DELETE:
	case HN_EV_DIR_DELETE:
		add_file(iv, HN_INV_DELETED, ev);
		break;
	case HN_EV_FILE_CHMOD:
	case HN_EV_FILE_CHOWN:
	case HN_EV_FILE_SETXATTR:
		add_file(iv, HN_INV_CHMOD, ev);
		break;
	case HN_EV_FILE_READ:
		/* a watched (sensitive) file: /etc/shadow, keys */
		add_file(iv, HN_INV_READ, ev);
		break;
	case HN_EV_NET_CONNECT:
	case HN_EV_NET_UDP_SEND:
		add_remote(iv, ev, true);
		break;
	case HN_EV_NET_ACCEPT:
		add_remote(iv, ev, false);
		break;
	case HN_EV_PTRACE:
		add_inject(iv, ev, "ptrace");
		break;
	case HN_EV_PROC_MEM_WRITE:
		add_inject(iv, ev, "proc_mem");
		break;
	case HN_EV_MODULE_LOAD: {
		const char *path = ev->path ? ev->path : ev->name;
		struct hn_inv_persist *p;
		for (size_t i = 0; i < iv->st->n_persist; i++)
			if (!strcmp(iv->st->persist[i].kind, "kernel_module") && path &&
			    iv->st->persist[i].path && !strcmp(iv->st->persist[i].path, path))
				return 0;   /* loaded again */
		p = PUSH(iv, persist);
		if (p) {
			p->kind = "kernel_module";
			p->action = HN_INV_CREATED;
			p->path = dup_or_null(iv, path);
			p->entity = ev->proc.entity;
			p->time = ev->time;
			p->id = ev->id;
		}
		break;
	}
	default:
		break;
	}
	if (iv->err)
		return iv->err;
	/* every list full: the rest would be dropped anyway */
	return iv->st->n_files >= INV_MAX_ITEMS && iv->st->n_remotes >= INV_MAX_ITEMS ? 1 : 0;
}

/* Everything scope process `entity` did, event by event (not copied: a
 * process can have millions). */
static void acts_of(struct inv *iv, uint64_t entity)
{
	static const uint16_t types[] = {
		HN_EV_FILE_CREATE, HN_EV_FILE_OPEN_WRITE, HN_EV_FILE_RENAME, HN_EV_FILE_DELETE,
		HN_EV_FILE_CHMOD, HN_EV_FILE_CHOWN, HN_EV_FILE_LINK, HN_EV_FILE_SYMLINK,
		HN_EV_FILE_TRUNCATE, HN_EV_FILE_SETXATTR, HN_EV_DIR_CREATE, HN_EV_DIR_DELETE,
		HN_EV_NET_CONNECT, HN_EV_NET_ACCEPT, HN_EV_NET_UDP_SEND, HN_EV_PTRACE,
		HN_EV_PROC_MEM_WRITE, HN_EV_MODULE_LOAD, HN_EV_FILE_READ,
	};
	struct hn_query q = { .entity = entity, .bare = true };
	int r;

	set_types(&q, types, (int)(sizeof(types) / sizeof(types[0])));
	r = hn_store_query(iv->s, &q, on_act, iv);
	if (r < 0 && !iv->err)
		iv->err = r;
}

/* Processes outside the scope that ran a file the scope made executable
 * (created with an x bit, or given one): into the scope. */
static void taint_runs(struct inv *iv, size_t from_file)
{
	static const uint16_t xt[] = { HN_EV_PROCESS_START };
	unsigned followed = 0;

	for (size_t i = from_file; i < iv->st->n_files && !iv->err; i++) {
		const struct hn_inv_file *f = &iv->st->files[i];
		struct hn_query q = { .path = NULL, .since = f->time, .limit = 64, .bare = true };
		struct evs e;
		bool exec = false;

		/* made executable: created with an x bit, or given one (the
		 * mode the scope's own events carried, add_file) */
		exec = (f->action == HN_INV_CHMOD || f->action == HN_INV_CREATED) && f->exec;
		if (!exec)
			continue;
		if (++followed > INV_TAINT_FILES) {
			iv->st->truncated = true;
			return;
		}
		q.path = f->path;
		set_types(&q, xt, 1);
		if (query(iv, &q, &e) < 0)
			return;
		for (size_t j = 0; j < e.n && !iv->err; j++)
			add_scope_proc(iv, e.v[j]->proc.entity);
		evs_free(&e);
	}
}

static void impact_scope(struct inv *iv)
{
	size_t done = 0, files_done = 0;

	if (!iv->st->root.entity || add_scope_proc(iv, iv->st->root.entity) < 0)
		return;
	for (size_t i = 0; i < iv->n_also; i++)
		if (add_scope_proc(iv, iv->also[i]) < 0)
			return;
	for (int round = 0; round <= INV_TAINT_ROUNDS && !iv->err; round++) {
		size_t nf;
		descend(iv, done);
		for (size_t i = done; i < iv->st->n_procs && !iv->err; i++)
			acts_of(iv, iv->st->procs[i].entity);
		done = iv->st->n_procs;
		nf = iv->st->n_files;
		if (round < INV_TAINT_ROUNDS)
			taint_runs(iv, files_done);
		files_done = nf;
		if (iv->st->n_procs == done)
			break;   /* no process ran what the tree left */
	}
}

/* ---- the whole ---- */

int hn_investigate(struct hn_store *s, uint64_t entity, uint64_t at, const char *alert_title,
		   struct hn_story **out)
{
	struct inv iv = { .s = s };

	*out = NULL;
	if (!s || !entity)
		return -EINVAL;
	iv.st = calloc(1, sizeof(*iv.st));
	if (!iv.st)
		return -ENOMEM;
	iv.st->subject = entity;
	root_cause(&iv, entity, at, alert_title);
	if (!iv.err)
		impact_scope(&iv);
	free(iv.scope.k);
	free(iv.files.slot);
	free(iv.remotes.slot);
	if (iv.err) {
		int r = iv.err;
		hn_story_free(iv.st);
		return r;
	}
	*out = iv.st;
	return 0;
}

int hn_story_add_alert(struct hn_story *st, uint64_t time, uint64_t entity, uint32_t pid,
		       const char *exe, const char *title)
{
	struct inv iv = { .st = st };
	struct hn_inv_step *x = PUSH(&iv, steps);

	/* each alert is its own step (no look for a twin: thousands come) */
	if (!x)
		return iv.err;
	x->time = time;
	x->action = HN_INV_ALERT;
	x->entity = entity;
	x->pid = pid;
	x->exe = dup_or_null(&iv, exe);
	x->object = dup_or_null(&iv, title);
	return iv.err;
}

void hn_story_sort_steps(struct hn_story *st)
{
	if (st->n_steps)
		qsort(st->steps, st->n_steps, sizeof(*st->steps), by_time);
}

int hn_investigate_root(struct hn_store *s, uint64_t entity, uint64_t at,
			struct hn_inv_proc *root, enum hn_inv_entry *entry)
{
	struct inv iv = { .s = s, .shallow = true };
	int r;

	memset(root, 0, sizeof(*root));
	if (!s || !entity)
		return -EINVAL;
	iv.st = calloc(1, sizeof(*iv.st));
	if (!iv.st)
		return -ENOMEM;
	root_cause(&iv, entity, at, NULL);
	r = iv.err;
	if (!r) {
		*root = iv.st->root;
		memset(&iv.st->root, 0, sizeof(iv.st->root));
		*entry = iv.st->entry;
	}
	hn_story_free(iv.st);
	return r;
}

void hn_inv_proc_release(struct hn_inv_proc *p)
{
	proc_release(p);
}

void hn_story_free(struct hn_story *st)
{
	if (!st)
		return;
	proc_release(&st->entry_proc);
	proc_release(&st->via_proc);
	proc_release(&st->root);
	for (size_t i = 0; i < st->n_deliveries; i++) {
		free(st->deliveries[i].path);
		free(st->deliveries[i].writer_exe);
	}
	for (size_t i = 0; i < st->n_steps; i++) {
		free(st->steps[i].exe);
		free(st->steps[i].object);
	}
	for (size_t i = 0; i < st->n_procs; i++)
		proc_release(&st->procs[i]);
	for (size_t i = 0; i < st->n_files; i++) {
		free(st->files[i].path);
		free(st->files[i].path2);
	}
	for (size_t i = 0; i < st->n_persist; i++)
		free(st->persist[i].path);
	for (size_t i = 0; i < st->n_injected; i++)
		free(st->injected[i].exe);
	free(st->deliveries);
	free(st->steps);
	free(st->procs);
	free(st->files);
	free(st->persist);
	free(st->remotes);
	free(st->injected);
	free(st);
}

int hn_investigate_path_subject(struct hn_store *s, const char *path, uint64_t *entity,
				uint64_t *at)
{
	/* who ran it, else who wrote it, else who changed its mode or
	 * deleted it */
	static const uint16_t types[3][3] = {
		{ HN_EV_PROCESS_START },
		{ HN_EV_FILE_CREATE, HN_EV_FILE_OPEN_WRITE, HN_EV_FILE_TRUNCATE },
		{ HN_EV_FILE_CHMOD, HN_EV_FILE_CHOWN, HN_EV_FILE_DELETE },
	};
	static const int ntypes[3] = { 1, 3, 3 };
	struct inv iv = { .s = s };
	struct hn_query q = { .path = path, .limit = 1, .newest_first = true };
	struct evs e;

	for (int pass = 0; pass < 3; pass++) {
		set_types(&q, types[pass], ntypes[pass]);
		if (query(&iv, &q, &e) < 0)
			return iv.err;
		if (e.n) {
			*entity = e.v[0]->proc.entity;
			*at = e.v[0]->time;
			evs_free(&e);
			return *entity ? 0 : -ENOENT;
		}
		evs_free(&e);
	}
	return -ENOENT;
}
