/*
 * event.c - the event model (see event.h): allocation and string space,
 * deep copy, the table of kinds (name, family and ECS classification of
 * every type) and address text.
 *
 * Invariants kept here:
 *  - an event is one heap block: struct hn_event followed by `space` bytes;
 *    buf[0..used) holds the strings hn_event_put copied, each NUL-terminated;
 *  - the `const char *` fields of struct hn_event are listed once, in
 *    str_fields[]; hn_event_dup walks that table, so a string field missing
 *    from it would be shared between copy and original.  The size check
 *    below fires when struct hn_event changes, to make whoever changes it
 *    look at the table.
 *  - kinds[] has one row per type number; a number without a row is unknown.
 *    Type numbers are stored on disk: rows are added, never renumbered.
 */
#include "event/event.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- allocation and strings ----
 *
 * The agent makes events on its reading thread and the store frees them on
 * its writer thread: through malloc alone that is a cross-thread free for
 * every event (the freeing thread's cache fills, then the making thread's
 * arena is locked).  So events of the usual sizes are kept, when freed, in
 * a small shared stack per size class (string space of 1, 2, 4 or 8 KiB,
 * at most POOL_BYTES of each) for the next hn_event_new.  A pooled event's
 * `space` is its class's size. */
#define POOL_CLASSES 4
#define POOL_MIN     1024u
/* Under AddressSanitizer every free is a real free, so that a use after
 * free is still caught. */
#ifdef __SANITIZE_ADDRESS__
#define POOL_BYTES   0u
#else
#define POOL_BYTES   (4u << 20)
#endif

static struct pool {
	pthread_mutex_t mu;
	struct hn_event *top;    /* linked through the first bytes of buf */
	unsigned n;
} pool[POOL_CLASSES] = {
	{ PTHREAD_MUTEX_INITIALIZER, NULL, 0 }, { PTHREAD_MUTEX_INITIALIZER, NULL, 0 },
	{ PTHREAD_MUTEX_INITIALIZER, NULL, 0 }, { PTHREAD_MUTEX_INITIALIZER, NULL, 0 },
};

/* The class of a string space, or -1 when it is too big to pool. */
static int pool_class(size_t space)
{
	size_t size = POOL_MIN;

	for (int c = 0; c < POOL_CLASSES; c++, size *= 2)
		if (space <= size)
			return c;
	return -1;
}

struct hn_event *hn_event_new(size_t space)
{
	struct hn_event *ev = NULL;
	int c = pool_class(space);

	if (space > SIZE_MAX - sizeof(*ev))
		return NULL;
	if (c >= 0) {
		struct pool *p = &pool[c];
		space = (size_t)POOL_MIN << c;
		pthread_mutex_lock(&p->mu);
		ev = p->top;
		if (ev) {
			memcpy(&p->top, ev->buf, sizeof(p->top));
			p->n--;
		}
		pthread_mutex_unlock(&p->mu);
	}
	/* the string space is written before it is read (hn_event_put):
	 * only the fields need zeroing */
	if (!ev)
		ev = malloc(sizeof(*ev) + space);
	if (!ev)
		return NULL;
	memset(ev, 0, sizeof(*ev));
	ev->space = space;
	return ev;
}

void hn_event_free(struct hn_event *ev)
{
	int c;

	if (!ev)
		return;
	c = pool_class(ev->space);
	if (c >= 0 && ev->space == (size_t)POOL_MIN << c) {
		struct pool *p = &pool[c];
		pthread_mutex_lock(&p->mu);
		if (p->n < POOL_BYTES / ev->space) {
			memcpy(ev->buf, &p->top, sizeof(p->top));
			p->top = ev;
			p->n++;
			ev = NULL;
		}
		pthread_mutex_unlock(&p->mu);
	}
	free(ev);
}

const char *hn_event_put(struct hn_event *ev, const char *s, size_t len)
{
	char *p;

	if (!ev || (!s && len) || ev->used > ev->space ||
	    len >= ev->space - ev->used)
		return NULL;
	p = ev->buf + ev->used;
	if (len)
		memcpy(p, s, len);
	p[len] = '\0';
	ev->used += len + 1;
	return p;
}

const char *hn_event_puts(struct hn_event *ev, const char *s)
{
	if (!s)
		return NULL;
	return hn_event_put(ev, s, strlen(s));
}

/*
 * Every string field of struct hn_event.  ADD A ROW HERE when you add a
 * `const char *` to struct hn_event (then update the size check).  `args`
 * is the one field whose length is not strlen: it holds NULs.
 */
static const struct {
	size_t off;
	bool is_args;
} str_fields[] = {
	{ offsetof(struct hn_event, proc.executable), false },
	{ offsetof(struct hn_event, proc.parent_executable), false },
	{ offsetof(struct hn_event, filename), false },
	{ offsetof(struct hn_event, args), true },
	{ offsetof(struct hn_event, cwd), false },
	{ offsetof(struct hn_event, tty), false },
	{ offsetof(struct hn_event, cgroup), false },
	{ offsetof(struct hn_event, container_id), false },
	{ offsetof(struct hn_event, path), false },
	{ offsetof(struct hn_event, path2), false },
	{ offsetof(struct hn_event, dns_name), false },
	{ offsetof(struct hn_event, name), false },
};
#define N_STR_FIELDS (sizeof(str_fields) / sizeof(str_fields[0]))

/* If this fails you changed struct hn_event: list any new string field in
 * str_fields[] above, then put the new size here. */
_Static_assert(sizeof(void *) != 8 || sizeof(struct hn_event) == 496,
	       "struct hn_event changed: check str_fields[] in event.c");

static const char **str_field(struct hn_event *ev, size_t i)
{
	return (const char **)((char *)ev + str_fields[i].off);
}

/* Does p point into ev's used string space? */
static bool in_space(const struct hn_event *ev, const char *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)ev->buf;

	return a >= lo && a - lo < ev->used;
}

static size_t field_len(const struct hn_event *ev, size_t i, const char *s)
{
	return str_fields[i].is_args ? ev->args_len : strlen(s);
}

struct hn_event *hn_event_dup(const struct hn_event *ev)
{
	struct hn_event *cp;
	size_t extra = 0, used;

	if (!ev)
		return NULL;
	used = ev->used <= ev->space ? ev->used : ev->space;
	/* Strings that live outside ev's block (enrichment) are copied in. */
	for (size_t i = 0; i < N_STR_FIELDS; i++) {
		const char *s = *str_field((struct hn_event *)ev, i);
		size_t n;

		if (!s || in_space(ev, s))
			continue;
		n = field_len(ev, i, s);
		if (n >= SIZE_MAX - extra - 1)
			return NULL;
		extra += n + 1;
	}
	if (extra > SIZE_MAX - ev->space)
		return NULL;
	cp = hn_event_new(ev->space + extra);
	if (!cp)
		return NULL;
	memcpy(cp, ev, sizeof(*cp));
	memcpy(cp->buf, ev->buf, used);
	cp->space = ev->space + extra;
	cp->used = used;
	for (size_t i = 0; i < N_STR_FIELDS; i++) {
		const char **f = str_field(cp, i);
		const char *s = *f;

		if (!s)
			continue;
		if (in_space(ev, s))
			*f = cp->buf + (s - ev->buf);
		else
			*f = hn_event_put(cp, s, field_len(ev, i, s));
	}
	return cp;
}

/* ---- kinds ---- */

enum family {
	FAM_NONE = 0,
	FAM_PROCESS,
	FAM_FILE,
	FAM_NETWORK,
	FAM_KERNEL,
	FAM_AGENT,
	FAM_LOG,
};

static const char *const family_names[] = {
	[FAM_PROCESS] = "process",
	[FAM_FILE] = "file",
	[FAM_NETWORK] = "network",
	[FAM_KERNEL] = "kernel",
	[FAM_AGENT] = "agent",
	[FAM_LOG] = "log",
};

struct kind_row {
	struct hn_event_kind k;
	enum family fam;
};

/*
 * name, ECS event.category, ECS event.type, event.action.  Category/type
 * pairs are ones ECS allows (e.g. process: start/end/change/access/info;
 * file: creation/change/deletion/access; network: connection/start/info/
 * protocol; driver: start; configuration: change; host: info/start/end).
 */
#define K(t, n, cat, typ, act, f) [t] = { { n, cat, typ, act }, f }
static const struct kind_row kinds[HN_EV_TYPE_MAX] = {
	K(HN_EV_PROCESS_START, "process_start", "process", "start", "exec", FAM_PROCESS),
	K(HN_EV_PROCESS_FORK, "process_fork", "process", "start", "fork", FAM_PROCESS),
	K(HN_EV_PROCESS_EXIT, "process_exit", "process", "end", "exit", FAM_PROCESS),
	K(HN_EV_PROCESS_SNAPSHOT, "process_snapshot", "process", "info", "snapshot", FAM_PROCESS),
	K(HN_EV_CRED_CHANGE, "cred_change", "process", "change", "cred_change", FAM_PROCESS),
	K(HN_EV_PTRACE, "ptrace", "process", "access", "ptrace", FAM_PROCESS),
	K(HN_EV_PROC_MEM_WRITE, "proc_mem_write", "process", "change", "memory_write", FAM_PROCESS),
	K(HN_EV_MEMFD_CREATE, "memfd_create", "file", "creation", "memfd_create", FAM_PROCESS),

	K(HN_EV_FILE_CREATE, "file_create", "file", "creation", "creation", FAM_FILE),
	K(HN_EV_FILE_OPEN_WRITE, "file_open_write", "file", "change", "write", FAM_FILE),
	K(HN_EV_FILE_RENAME, "file_rename", "file", "change", "rename", FAM_FILE),
	K(HN_EV_FILE_DELETE, "file_delete", "file", "deletion", "deletion", FAM_FILE),
	K(HN_EV_FILE_CHMOD, "file_chmod", "file", "change", "chmod", FAM_FILE),
	K(HN_EV_FILE_CHOWN, "file_chown", "file", "change", "chown", FAM_FILE),
	K(HN_EV_FILE_LINK, "file_link", "file", "creation", "link", FAM_FILE),
	K(HN_EV_FILE_SYMLINK, "file_symlink", "file", "creation", "symlink", FAM_FILE),
	K(HN_EV_FILE_TRUNCATE, "file_truncate", "file", "change", "truncate", FAM_FILE),
	K(HN_EV_FILE_SETXATTR, "file_setxattr", "file", "change", "setxattr", FAM_FILE),
	K(HN_EV_FILE_READ, "file_read", "file", "access", "read", FAM_FILE),
	K(HN_EV_DIR_CREATE, "dir_create", "file", "creation", "mkdir", FAM_FILE),
	K(HN_EV_DIR_DELETE, "dir_delete", "file", "deletion", "rmdir", FAM_FILE),

	K(HN_EV_NET_CONNECT, "net_connect", "network", "connection", "connect", FAM_NETWORK),
	K(HN_EV_NET_ACCEPT, "net_accept", "network", "connection", "accept", FAM_NETWORK),
	K(HN_EV_NET_LISTEN, "net_listen", "network", "start", "listen", FAM_NETWORK),
	K(HN_EV_NET_BIND, "net_bind", "network", "info", "bind", FAM_NETWORK),
	K(HN_EV_NET_UDP_SEND, "net_udp_send", "network", "connection", "udp_send", FAM_NETWORK),
	K(HN_EV_DNS_QUERY, "dns_query", "network", "protocol", "dns_query", FAM_NETWORK),

	K(HN_EV_MODULE_LOAD, "module_load", "driver", "start", "load", FAM_KERNEL),
	K(HN_EV_BPF_LOAD, "bpf_load", "driver", "start", "bpf_load", FAM_KERNEL),
	K(HN_EV_MOUNT, "mount", "configuration", "change", "mount", FAM_KERNEL),

	K(HN_EV_GAP, "gap", "host", "info", "events_lost", FAM_AGENT),
	K(HN_EV_AGENT_START, "agent_start", "host", "start", "agent_start", FAM_AGENT),
	K(HN_EV_AGENT_STOP, "agent_stop", "host", "end", "agent_stop", FAM_AGENT),

	K(HN_EV_LOG, "log", "host", "info", "log", FAM_LOG),

	K(HN_EV_EXEC_BLOCKED, "exec_blocked", "intrusion_detection", "denied", "exec_blocked",
	  FAM_AGENT),
};
#undef K

static const struct hn_event_kind unknown_kind;

const struct hn_event_kind *hn_event_kind(unsigned type)
{
	if (type >= HN_EV_TYPE_MAX || !kinds[type].k.name)
		return &unknown_kind;
	return &kinds[type].k;
}

static enum family family_of(unsigned type)
{
	if (type >= HN_EV_TYPE_MAX)
		return FAM_NONE;
	return kinds[type].fam;
}

int hn_event_types_by_name(const char *name, uint16_t *types, int max)
{
	int n = 0;

	if (!name || !*name || max <= 0)
		return 0;
	for (unsigned t = 0; t < HN_EV_TYPE_MAX; t++)
		if (kinds[t].k.name && !strcmp(kinds[t].k.name, name)) {
			types[0] = (uint16_t)t;
			return 1;
		}
	for (size_t f = 1; f < sizeof(family_names) / sizeof(family_names[0]); f++) {
		if (strcmp(family_names[f], name))
			continue;
		for (unsigned t = 0; t < HN_EV_TYPE_MAX && n < max; t++)
			if (kinds[t].k.name && kinds[t].fam == (enum family)f)
				types[n++] = (uint16_t)t;
		break;
	}
	return n;
}

bool hn_event_is_process(unsigned type)
{
	return family_of(type) == FAM_PROCESS;
}

bool hn_event_is_file(unsigned type)
{
	return family_of(type) == FAM_FILE;
}

bool hn_event_is_network(unsigned type)
{
	return family_of(type) == FAM_NETWORK;
}

/* ---- addresses ---- */

const char *hn_addr_str(const struct hn_addr *a, char *buf, size_t n)
{
	if (!buf || n == 0)
		return buf;
	buf[0] = '\0';
	if (!a)
		return buf;
	switch (a->family) {
	case AF_INET:
	case AF_INET6:
		if (n > (socklen_t)-1 ||
		    !inet_ntop(a->family, a->addr, buf, (socklen_t)n))
			buf[0] = '\0';
		break;
	case AF_UNIX:
		if (n > 4)
			memcpy(buf, "unix", 5);
		break;
	default:
		break;
	}
	return buf;
}

int hn_addr_parse(const char *s, struct hn_addr *a)
{
	uint8_t bin[16] = { 0 };
	char tmp[64];
	size_t n;

	if (!s || !a)
		return -EINVAL;
	if (inet_pton(AF_INET, s, bin) == 1) {
		a->family = AF_INET;
		memcpy(a->addr, bin, sizeof(a->addr));
		return 0;
	}
	/* IPv6, also in the URL form "[::1]" */
	n = strlen(s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		if (n - 2 >= sizeof(tmp))
			return -EINVAL;
		memcpy(tmp, s + 1, n - 2);
		tmp[n - 2] = '\0';
		s = tmp;
	}
	if (inet_pton(AF_INET6, s, bin) == 1) {
		a->family = AF_INET6;
		memcpy(a->addr, bin, sizeof(a->addr));
		return 0;
	}
	return -EINVAL;
}
