/*
 * net.c - who listens: TCP sockets in LISTEN, unconnected bound UDP
 * sockets, raw and packet sockets, of every network namespace a process
 * is seen in (read through PROC/PID/net/, one process per namespace, and
 * PROC/net/ for this one), mapped to processes by the socket inode each
 * process's descriptors name (PROC/PID/fd/N -> "socket:[INODE]").
 *
 * A socket whose owner is not found is "hidden" only when every
 * process's descriptors were read (root, and no process refused): a
 * rootkit that hides a process from /proc leaves its socket in the
 * tables.  Otherwise it is "unattributed" (low).  Before either, the
 * tables are read again and the processes that started since the first
 * listing are looked at, so a socket that came or went between two reads
 * is not called hidden.  Kernel services own sockets without a process
 * (nfsd, ksmbd, WireGuard, VXLAN): a hidden UDP, raw or packet socket,
 * or TCP on 2049 or 445, is medium; another hidden TCP listener is high.
 *
 * Owners, judged (the worst owner of a shared socket counts):
 *   deleted /tmp-like executable      critical     net.listener
 *   memfd, /tmp-like, deleted (not an upgrade)  high, strong
 *   hidden directory                  high
 *   shell, netcat, socat              high
 *   interpreter (python, perl, ...)   medium
 *   executable no package ships       low
 * Raw and packet sockets (sniffers, BPFDoor-like backdoors) take the same
 * scale, one step lower for interpreters and a packaged program is info
 * (dhclient).  Table lines are parsed token by token with their lengths
 * checked; a line that does not parse is skipped.
 */
#include "check/check_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE_MAX (64u << 20)

struct ntab {
	const char *file, *proto;
	int family;              /* AF_INET, AF_INET6, 0 for packet */
	bool tcp;
};

static const struct ntab tabs[] = {
	{ "tcp", "tcp", AF_INET, true }, { "tcp6", "tcp6", AF_INET6, true },
	{ "udp", "udp", AF_INET, false }, { "udp6", "udp6", AF_INET6, false },
	{ "raw", "raw", AF_INET, false }, { "raw6", "raw6", AF_INET6, false },
	{ "packet", "packet", 0, false },
};

/* inode -> socket index (open addressing, 0 = empty). */
struct imap {
	uint64_t *k;
	size_t *v;
	size_t cap;
};

static size_t ihash(uint64_t k, size_t cap)
{
	return (size_t)((k * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static long imap_get(const struct imap *m, uint64_t k)
{
	if (!m->cap)
		return -1;
	for (size_t i = ihash(k, m->cap); m->k[i]; i = (i + 1) & (m->cap - 1))
		if (m->k[i] == k)
			return (long)m->v[i];
	return -1;
}

static int imap_build(struct imap *m, const struct hn_check_report *r)
{
	size_t cap = 64;

	while (cap < r->nsocks * 2 + 2)
		cap *= 2;
	m->k = calloc(cap, sizeof(*m->k));
	m->v = calloc(cap, sizeof(*m->v));
	if (!m->k || !m->v)
		return -ENOMEM;
	m->cap = cap;
	for (size_t s = 0; s < r->nsocks; s++) {
		size_t i = ihash(r->socks[s].inode, cap);
		while (m->k[i] && m->k[i] != r->socks[s].inode)
			i = (i + 1) & (cap - 1);
		m->k[i] = r->socks[s].inode;
		m->v[i] = s;
	}
	return 0;
}

static void imap_release(struct imap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Up to max whitespace-separated tokens of line (modified). */
static int tokens(char *line, char **tok, int max)
{
	int n = 0;
	char *p = line;

	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

static bool parse_hex(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!n || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		int d = isdigit((unsigned char)s[i]) ? s[i] - '0' :
			(s[i] >= 'a' && s[i] <= 'f') ? s[i] - 'a' + 10 :
			(s[i] >= 'A' && s[i] <= 'F') ? s[i] - 'A' + 10 : -1;
		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_dec(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/* "HEXADDR:HEXPORT" of the family into text and port. */
static bool parse_endpoint(const char *t, int family, char *addr, size_t n, uint16_t *port)
{
	const char *colon = strchr(t, ':');
	size_t al = colon ? (size_t)(colon - t) : 0;
	unsigned char bytes[16];
	uint64_t v;

	if (!colon || (family == AF_INET && al != 8) || (family == AF_INET6 && al != 32))
		return false;
	for (size_t g = 0; g < al / 8; g++) {
		uint32_t w;
		if (!parse_hex(t + g * 8, 8, UINT32_MAX, &v))
			return false;
		w = (uint32_t)v;     /* the kernel prints the word in host order */
		memcpy(bytes + g * 4, &w, 4);
	}
	if (!parse_hex(colon + 1, strlen(colon + 1), 0xffff, &v))
		return false;
	*port = (uint16_t)v;
	return inet_ntop(family, bytes, addr, (socklen_t)n) != NULL;
}

/* Add a socket (duplicates, the same socket seen through two
 * directories of one namespace, are removed after: socks_unique). */
static int sock_add(struct check_ctx *c, const struct ntab *t, const char *addr,
		    uint16_t port, uint64_t inode)
{
	struct hn_check_report *r = c->r;
	struct hn_check_sock *s;

	if (r->nsocks >= CHK_SOCKS_MAX)
		return -ENOSPC;
	if (r->nsocks == r->cap_socks) {
		size_t nc = r->cap_socks ? r->cap_socks * 2 : 32;
		void *p = realloc(r->socks, nc * sizeof(*r->socks));
		if (!p) {
			c->oom = true;
			return -ENOMEM;
		}
		r->socks = p;
		r->cap_socks = nc;
	}
	s = &r->socks[r->nsocks++];
	memset(s, 0, sizeof(*s));
	snprintf(s->proto, sizeof(s->proto), "%s", t->proto);
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	s->port = port;
	s->inode = inode;
	return 0;
}

static int cmp_inode(const void *a, const void *b)
{
	const struct hn_check_sock *x = a, *y = b;

	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int cmp_sock(const void *a, const void *b)
{
	const struct hn_check_sock *x = a, *y = b;
	int d = strcmp(x->proto, y->proto);

	if (d)
		return d;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return cmp_inode(a, b);
}

/* One row per socket, in protocol and port order. */
static void socks_unique(struct hn_check_report *r)
{
	size_t k = 0;

	if (!r->nsocks)
		return;
	qsort(r->socks, r->nsocks, sizeof(*r->socks), cmp_inode);
	for (size_t i = 0; i < r->nsocks; i++)
		if (!k || r->socks[k - 1].inode != r->socks[i].inode)
			r->socks[k++] = r->socks[i];
	r->nsocks = k;
	qsort(r->socks, r->nsocks, sizeof(*r->socks), cmp_sock);
}

/* Read one table at path: its sockets into the report (add), or, with a
 * present map, mark in seen[] the report's sockets still there. */
static void read_table(struct check_ctx *c, const char *path, const struct ntab *t,
		       bool add, const struct imap *present, bool *seen, unsigned *bad)
{
	char *buf, *p, *end, *tok[12];
	size_t len;
	bool first = true;

	if (chk_read(path, TABLE_MAX, 0, &buf, &len, NULL) < 0)
		return;
	end = buf + len;
	for (p = buf; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *line = p, addr[64] = "";
		uint64_t inode = 0, st = 0;
		uint16_t port = 0, rport = 0;
		int n;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : end;
		if (first) {     /* the header */
			first = false;
			continue;
		}
		n = tokens(line, tok, 12);
		if (t->family == 0) {
			/* sk RefCnt Type Proto Iface R Rmem User Inode */
			uint64_t proto;
			if (n < 9 || !parse_dec(tok[8], &inode) ||
			    !parse_hex(tok[3], strlen(tok[3]), 0xffff, &proto)) {
				(*bad)++;
				continue;
			}
			port = (uint16_t)proto;
		} else {
			char raddr[64];
			if (n < 10 || !parse_endpoint(tok[1], t->family, addr, sizeof(addr), &port) ||
			    !parse_endpoint(tok[2], t->family, raddr, sizeof(raddr), &rport) ||
			    !parse_hex(tok[3], strlen(tok[3]), 0xff, &st) ||
			    !parse_dec(tok[9], &inode)) {
				(*bad)++;
				continue;
			}
			if (t->tcp && st != 0x0A)
				continue;        /* not listening */
			if (!t->tcp && strncmp(t->file, "raw", 3) && (st != 0x07 || rport))
				continue;        /* a connected UDP socket */
		}
		if (!inode)
			continue;                /* no socket inode: nothing to own it */
		if (add) {
			if (sock_add(c, t, addr, port, inode) == -ENOSPC) {
				(*bad)++;
				break;
			}
		} else {
			long i = imap_get(present, inode);
			if (i >= 0)
				seen[i] = true;
		}
	}
	free(buf);
}

/* The network namespaces: a directory to read tables from for each
 * (PROC/net for ours, PROC/PID/net for one process in each other). */
static int netns_dirs(struct check_ctx *c, char (*dirs)[CHK_PATH], int max)
{
	char path[CHK_PATH], link[64];
	uint64_t seen[CHK_NETNS_MAX];
	int n = 0, ns = 0;
	ssize_t k;

	snprintf(dirs[n++], CHK_PATH, "%s/net", c->proc);
	snprintf(path, sizeof(path), "%s/self/ns/net", c->proc);
	k = readlink(path, link, sizeof(link) - 1);
	if (k > 0) {
		link[k] = '\0';
		seen[ns++] = strtoull(link + strcspn(link, "0123456789"), NULL, 10);
	}
	for (size_t i = 0; i < c->nprocs && n < max && ns < CHK_NETNS_MAX; i++) {
		uint64_t id;
		bool known = false;
		if (c->procs[i].kthread)
			continue;
		snprintf(path, sizeof(path), "%s/%u/ns/net", c->proc, c->procs[i].pid);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		id = strtoull(link + strcspn(link, "0123456789"), NULL, 10);
		for (int j = 0; j < ns; j++)
			known |= seen[j] == id;
		if (known)
			continue;
		seen[ns++] = id;
		snprintf(dirs[n++], CHK_PATH, "%s/%u/net", c->proc, c->procs[i].pid);
	}
	return n;
}

static void read_tables(struct check_ctx *c, char (*dirs)[CHK_PATH], int ndirs, bool add,
			const struct imap *present, bool *seen, unsigned *bad)
{
	char path[CHK_PATH + 16];

	for (int d = 0; d < ndirs; d++)
		for (size_t t = 0; t < sizeof(tabs) / sizeof(tabs[0]); t++) {
			snprintf(path, sizeof(path), "%s/%s", dirs[d], tabs[t].file);
			read_table(c, path, &tabs[t], add, present, seen, bad);
		}
}

/* The descriptors of pid: owners of the sockets in m.  false when the
 * descriptors cannot be read. */
static bool scan_fds(struct check_ctx *c, uint32_t pid, const struct imap *m,
		     unsigned long *budget)
{
	char path[CHK_PATH], link[64];
	struct dirent *d;
	unsigned n = 0;
	bool denied = false;
	DIR *dir;
	int dfd;

	snprintf(path, sizeof(path), "%s/%u/fd", c->proc, pid);
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT;   /* gone: nothing hidden there */
	dfd = dirfd(dir);
	while ((d = readdir(dir)) != NULL && n < CHK_FDS_PER_PROC && *budget) {
		ssize_t k;
		uint64_t ino;
		long s;
		if (d->d_name[0] == '.')
			continue;
		n++;
		(*budget)--;
		k = readlinkat(dfd, d->d_name, link, sizeof(link) - 1);
		if (k < 0 && (errno == EACCES || errno == EPERM)) {
			denied = true;   /* listed, not readable: as good as unread */
			break;
		}
		if (k <= 8)
			continue;
		link[k] = '\0';
		if (strncmp(link, "socket:[", 8) || link[k - 1] != ']')
			continue;
		link[k - 1] = '\0';
		if (!parse_dec(link + 8, &ino) || (s = imap_get(m, ino)) < 0)
			continue;
		{
			struct hn_check_sock *so = &c->r->socks[s];
			bool have = false;
			for (int j = 0; j < so->npids; j++)
				have |= so->pids[j] == pid;
			if (!have && so->npids < HN_CHECK_SOCK_OWNERS)
				so->pids[so->npids++] = pid;
		}
	}
	closedir(dir);
	return !denied;
}

/* How bad an owner is (0: not at all), and why. */
static int owner_rank(const struct check_ctx *c, const struct chk_proc *p, bool raw,
		      enum hn_check_sev *sev, bool *strong, const char **why)
{
	const char *tool = chk_proc_tool(p);

	*strong = false;
	if (p->deleted && !p->memfd && (p->place & CHK_PLACE_TMP)) {
		*sev = HN_CHECK_CRITICAL;
		*why = "its program was run from a /tmp-like place and deleted";
		return 6;
	}
	if (p->memfd || (p->place & CHK_PLACE_TMP) ||
	    (p->deleted && !(p->place & CHK_PLACE_SYSTEM))) {
		*sev = HN_CHECK_HIGH;
		*strong = true;
		*why = p->memfd ? "its program lives only in memory (memfd)" :
		       p->deleted ? "its program was deleted" :
				    "its program runs from a /tmp-like place";
		return 5;
	}
	if (p->place & CHK_PLACE_HIDDEN) {
		*sev = HN_CHECK_HIGH;
		*why = "its program runs from a hidden directory";
		return 4;
	}
	if (tool && strcmp(tool, "interpreter")) {
		*sev = HN_CHECK_HIGH;
		*why = !strcmp(tool, "shell") ? "a shell owns it (a bind shell?)" :
						"netcat or socat owns it";
		return 3;
	}
	if (tool) {
		*sev = raw ? HN_CHECK_LOW : HN_CHECK_MEDIUM;
		*why = "an interpreter owns it (a script listens)";
		return 2;
	}
	if (p->exe_path && c->hpkg && !p->pkg) {
		*sev = raw ? HN_CHECK_MEDIUM : HN_CHECK_LOW;
		*why = "its program comes from no package";
		return 1;
	}
	if (raw && p->exe_path) {
		*sev = HN_CHECK_INFO;
		*why = "a packaged program uses a raw or packet socket";
		return 1;
	}
	return 0;
}

static void sock_what(const struct hn_check_sock *s, char *buf, size_t n)
{
	if (!strcmp(s->proto, "packet"))
		snprintf(buf, n, "packet socket (protocol 0x%04x)", s->port);
	else if (!strncmp(s->proto, "raw", 3))
		snprintf(buf, n, "%s socket %s protocol %u", s->proto, s->addr, s->port);
	else if (strchr(s->addr, ':'))
		snprintf(buf, n, "%s [%s]:%u", s->proto, s->addr, s->port);
	else
		snprintf(buf, n, "%s %s:%u", s->proto, s->addr, s->port);
}

static void judge_sock(struct check_ctx *c, struct hn_check_sock *s, bool all_fds,
		       const char *unread)
{
	bool raw = !strncmp(s->proto, "raw", 3) || !strcmp(s->proto, "packet");
	char what[CHK_PATH + 160], sw[128], user[64];
	const struct chk_proc *worst = NULL;
	const char *why = NULL;
	enum hn_check_sev sev = HN_CHECK_INFO;
	struct hn_check_finding *f;
	bool strong = false;
	int best = 0;

	sock_what(s, sw, sizeof(sw));
	for (int i = 0; i < s->npids; i++) {
		struct chk_proc *p = chk_proc_find(c, s->pids[i]);
		enum hn_check_sev sv;
		const char *wy;
		bool st;
		int rk;
		if (!p)
			continue;
		if (!s->exe && p->exe)
			s->exe = chk_strdup(c, p->exe);
		rk = owner_rank(c, p, raw, &sv, &st, &wy);
		if (rk > best) {
			best = rk;
			worst = p;
			sev = sv;
			strong = st;
			why = wy;
		}
	}
	if (s->npids && !worst)
		return;          /* ordinary */
	if (worst) {
		char title[160];
		snprintf(title, sizeof(title), "%s owned by an unusual process",
			 raw ? "raw/packet socket" : "listener");
		snprintf(what, sizeof(what), "%s pid %u %s", sw, worst->pid,
			 worst->exe ? worst->exe : worst->comm);
		f = chk_find(c, HN_CHECK_NETWORK, sev, strong, "net.listener", title, what, why);
		if (!f)
			return;
		f->pid = worst->pid;
		f->port = s->port;
		f->path = chk_strdup(c, worst->exe_path);
		chk_ev(c, f, "pid", "%u", worst->pid);
		chk_ev(c, f, "comm", "%s", worst->comm);
		if (worst->exe)
			chk_ev(c, f, "exe", "%s", worst->exe);
		chk_ev(c, f, "user", "%s", chk_user_name(c, worst->uid, user, sizeof(user)));
	} else if (!all_fds) {
		snprintf(what, sizeof(what), "%s", sw);
		f = chk_find(c, HN_CHECK_NETWORK, HN_CHECK_LOW, false, "net.unattributed",
			     raw ? "raw/packet socket whose owner could not be seen" :
				   "listener whose owner could not be seen",
			     what, "No process readable here holds it; its owner may be one whose "
			     "descriptors could not be read.");
		if (!f)
			return;
		f->port = s->port;
		chk_ev(c, f, "unreadable", "%s", unread);
	} else {
		bool tcp = !strncmp(s->proto, "tcp", 3);
		bool kernel_port = tcp && (s->port == 2049 || s->port == 445);
		snprintf(what, sizeof(what), "%s", sw);
		f = chk_find(c, HN_CHECK_NETWORK, tcp && !kernel_port ? HN_CHECK_HIGH :
			     HN_CHECK_MEDIUM, tcp && !kernel_port, "net.hidden_listener",
			     raw ? "hidden raw/packet socket: no process owns it" :
				   "hidden listener: no process owns it",
			     what, tcp && !kernel_port ?
			     "Every process's descriptors were read and none holds this "
			     "socket: the process that does is hidden from /proc." :
			     "No process holds it; kernel services (nfsd, ksmbd, WireGuard, "
			     "VXLAN) own such sockets, and so do hidden processes.");
		if (!f)
			return;
		f->port = s->port;
	}
	chk_ev(c, f, "socket", "%s", sw);
	chk_ev(c, f, "inode", "%llu", (unsigned long long)s->inode);
}

int chk_net(struct check_ctx *c)
{
	struct hn_check_report *r = c->r;
	char (*dirs)[CHK_PATH] = malloc((CHK_NETNS_MAX + 1) * sizeof(*dirs));
	unsigned long budget = CHK_FDS_MAX;
	char unread[160] = "";
	size_t nunread = 0, keep = 0;
	unsigned bad = 0;
	struct imap m = { 0 };
	bool *seen = NULL, all_fds, missing = false;
	int ndirs;

	if (!dirs) {
		c->oom = true;
		return -ENOMEM;
	}
	ndirs = netns_dirs(c, dirs, CHK_NETNS_MAX + 1);
	read_tables(c, dirs, ndirs, true, NULL, NULL, &bad);
	if (bad)
		chk_skip(c, "network: %u socket table lines could not be read", bad);
	socks_unique(r);
	if (!r->nsocks)
		goto out;
	if (imap_build(&m, r) < 0) {
		c->oom = true;
		goto out;
	}
	for (size_t i = 0; i < c->nprocs; i++) {
		struct chk_proc *p = &c->procs[i];
		if (p->kthread)
			continue;
		p->fds_read = scan_fds(c, p->pid, &m, &budget);
		if (!p->fds_read && nunread++ < 6) {
			size_t k = strlen(unread);
			snprintf(unread + k, sizeof(unread) - k, "%s%u", k ? ", " : "pid ", p->pid);
		}
	}
	if (nunread > 6) {
		size_t k = strlen(unread);
		snprintf(unread + k, sizeof(unread) - k, ", ... (%zu processes)", nunread);
	}
	if (!budget)
		chk_skip(c, "network: the bound of %u descriptors read was reached", CHK_FDS_MAX);
	all_fds = c->is_root && !nunread && budget;
	if (nunread)
		chk_skip(c, "network: the descriptors of %s could not be read: sockets "
			 "they may hold are not called hidden", unread);
	/* a second look at sockets without an owner */
	for (size_t i = 0; i < r->nsocks; i++)
		missing |= r->socks[i].npids == 0;
	if (missing) {
		struct dirent *d;
		DIR *dir;
		seen = calloc(r->nsocks, sizeof(*seen));
		if (!seen) {
			c->oom = true;
			goto out;
		}
		read_tables(c, dirs, ndirs, false, &m, seen, &bad);
		dir = opendir(c->proc);
		while (dir && (d = readdir(dir)) != NULL) {
			unsigned long v = strtoul(d->d_name, NULL, 10);
			if (!isdigit((unsigned char)d->d_name[0]) || v > UINT32_MAX ||
			    chk_proc_find(c, (uint32_t)v))
				continue;   /* known already */
			if (!scan_fds(c, (uint32_t)v, &m, &budget))
				all_fds = false;
		}
		if (dir)
			closedir(dir);
		/* a socket gone by the second look is dropped */
		for (size_t i = 0; i < r->nsocks; i++) {
			if (r->socks[i].npids == 0 && !seen[i])
				continue;
			r->socks[keep++] = r->socks[i];
		}
		r->nsocks = keep;
	}
	for (size_t i = 0; i < r->nsocks; i++)
		judge_sock(c, &r->socks[i], all_fds, unread);
out:
	free(seen);
	free(dirs);
	imap_release(&m);
	return 0;
}
