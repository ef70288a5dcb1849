/*
 * kill.c - stopping a process or its whole tree (respond.h: hn_kill).
 *
 *   resolve ──► refuse? ──► hold (pidfd) ──► stop (SIGSTOP) ──► find new
 *                                              ▲   children      │
 *                                              └── any new, or ──┘
 *                                                  any not stopped
 *                                  none new, all stopped ──► SIGKILL all
 *                                                            ──► wait (pidfd)
 *
 * Invariants:
 *  - A member is signalled only through a pidfd opened after its start
 *    time was checked against its entity (or, for a member the store does
 *    not know, against the start time read when it was found), and checked
 *    again after the pidfd was opened: the pidfd then names that process
 *    for good, so a reused pid is never hit.
 *  - Nothing is killed before every member is stopped and a last look
 *    found no new child: a fork racing the stop cannot leave a live
 *    escapee.  Members are found by parent pid (live) and, when the store
 *    knows the root, by its recorded descendants (a daemonised
 *    grandchild whose parent is now init).
 *  - Refused, before anything is signalled: pid 1, kernel threads, this
 *    process and its ancestors, and the agent.  A refused process found
 *    inside the tree stops the whole action and the members stopped so far
 *    are let go (SIGCONT).
 *  - Every loop is bounded: KILL_MAX_MEMBERS members, KILL_ROUNDS rounds,
 *    KILL_WAIT_MS to see them stopped and again to see them gone.
 */
#include "respond/respond.h"
#include "event/entity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define KILL_MAX_MEMBERS 65536
#define KILL_ROUNDS 200
#define KILL_WAIT_MS 5000
#define PF_KTHREAD_ 0x00200000u

struct member {
	uint32_t pid;
	uint64_t entity;
	uint64_t ticks;
	int pidfd;
	char comm[16];
	bool gone;       /* exited before it was killed */
	bool killed;
};

struct tree {
	struct member *m;
	int n, cap;
	uint8_t boot[16];
	bool have_boot;
};

struct pstat {
	uint32_t ppid;
	uint64_t ticks;
	unsigned flags;
	char state;
	char comm[16];
};

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* /proc/PID/stat: state, ppid, flags, start ticks, comm.  -ESRCH when gone. */
static int read_stat(uint32_t pid, struct pstat *ps)
{
	char path[64], buf[1024], *p, *end;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	p = strchr(buf, '(');
	end = strrchr(buf, ')');
	if (!p || !end || end < p)
		return -EINVAL;
	memset(ps->comm, 0, sizeof(ps->comm));
	memcpy(ps->comm, p + 1, (size_t)(end - p - 1) < 15 ? (size_t)(end - p - 1) : 15);
	p = end + 2;
	/* fields from 3: state ppid pgrp session tty tpgid flags ... 22 starttime */
	for (field = 3; field <= 22 && *p; field++) {
		char *tok = p;
		p = strchr(p, ' ');
		if (p)
			*p++ = '\0';
		else
			p = tok + strlen(tok);
		if (field == 3)
			ps->state = tok[0];
		else if (field == 4)
			ps->ppid = (uint32_t)strtoul(tok, NULL, 10);
		else if (field == 9)
			ps->flags = (unsigned)strtoul(tok, NULL, 10);
		else if (field == 22)
			ps->ticks = strtoull(tok, NULL, 10);
	}
	return field > 22 ? 0 : -EINVAL;
}

static int pidfd_open_(uint32_t pid)
{
	return (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
}

static int pidfd_signal(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

static bool pidfd_exited(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0 && (p.revents & (POLLIN | POLLHUP));
}

static struct member *find(struct tree *t, uint32_t pid)
{
	for (int i = 0; i < t->n; i++)
		if (t->m[i].pid == pid)
			return &t->m[i];
	return NULL;
}

/* The agent recording into this store, from its published status; 0. */
static uint32_t agent_pid(struct hn_respond *r)
{
	char *st = NULL, *p;
	uint32_t pid = 0;

	if (!r->store || hn_store_meta_get(r->store, "status.json", &st) < 0 || !st)
		return 0;
	if (strstr(st, "\"running\":true") && (p = strstr(st, "\"pid\":")))
		pid = (uint32_t)strtoul(p + 6, NULL, 10);
	free(st);
	return pid;
}

/* This binary running `agent` (another store's agent counts too). */
static bool is_agent(uint32_t pid, uint32_t known)
{
	char path[64], exe[PATH_MAX], self[PATH_MAX], cmd[256];
	ssize_t n, m;
	int fd;

	if (pid == known)
		return true;
	snprintf(path, sizeof(path), "/proc/%u/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	m = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || m <= 0 || n != m || memcmp(exe, self, (size_t)n) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	/* argv[1] */
	{
		size_t l = strlen(cmd);
		return (ssize_t)l + 1 < n && strcmp(cmd + l + 1, "agent") == 0;
	}
}

static bool is_self_or_ancestor(uint32_t pid)
{
	uint32_t p = (uint32_t)getpid();

	for (int i = 0; i < 4096 && p > 1; i++) {
		struct pstat ps;
		if (p == pid)
			return true;
		if (read_stat(p, &ps) < 0)
			break;
		p = ps.ppid;
	}
	return false;
}

/* Why pid must not be killed, or NULL. */
static const char *refused(const struct pstat *ps, uint32_t pid, uint32_t agent)
{
	if (pid == 1)
		return "it is init (pid 1)";
	if (pid == 2 || ps->ppid == 2 || (ps->flags & PF_KTHREAD_))
		return "it is a kernel thread";
	if (is_self_or_ancestor(pid))
		return "it is this command or one of its parents";
	if (is_agent(pid, agent))
		return "it is the hinomi agent";
	return NULL;
}

/* Hold pid: its start matches entity (when known), and still does once the
 * pidfd is open.  0; -ESRCH gone or another process now; -errno. */
static int hold(struct tree *t, uint32_t pid, uint64_t entity, struct member *out)
{
	struct pstat a, b;
	int fd;

	if (read_stat(pid, &a) < 0)
		return -ESRCH;
	if (entity && t->have_boot && !hn_entity_matches_ticks(t->boot, entity, pid, a.ticks))
		return -ESRCH;
	fd = pidfd_open_(pid);
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	if (read_stat(pid, &b) < 0 || b.ticks != a.ticks) {
		close(fd);
		return -ESRCH;
	}
	memset(out, 0, sizeof(*out));
	out->pid = pid;
	out->entity = entity;
	out->ticks = a.ticks;
	out->pidfd = fd;
	memcpy(out->comm, a.comm, sizeof(out->comm));
	return 0;
}

static int add(struct tree *t, const struct member *m)
{
	if (t->n == t->cap) {
		int nc = t->cap ? t->cap * 2 : 32;
		struct member *nm;
		if (nc > KILL_MAX_MEMBERS)
			return -E2BIG;
		nm = realloc(t->m, (size_t)nc * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		t->m = nm;
		t->cap = nc;
	}
	t->m[t->n++] = *m;
	return 0;
}

/* The entity of live pid per the store (the newest with a matching start);
 * 0 when the store does not know it. */
static uint64_t entity_of(struct hn_respond *r, struct tree *t, uint32_t pid, uint64_t ticks)
{
	uint64_t ents[16];
	int n;

	if (!r->store || !t->have_boot)
		return 0;
	n = hn_store_entities_by_pid(r->store, pid, ents, 16);
	for (int i = 0; i < n; i++)
		if (hn_entity_matches_ticks(t->boot, ents[i], pid, ticks))
			return ents[i];
	return 0;
}

struct desc {
	uint64_t *v;
	bool *live;
	int n, cap;
};

static int desc_add(struct desc *d, uint64_t entity, bool live)
{
	if (d->n == d->cap) {
		int nc = d->cap ? d->cap * 2 : 64;
		uint64_t *nv;
		bool *nl;
		if (nc > KILL_MAX_MEMBERS)
			return 1;
		nv = realloc(d->v, (size_t)nc * sizeof(*nv));
		if (!nv)
			return 1;
		d->v = nv;
		nl = realloc(d->live, (size_t)nc * sizeof(*nl));
		if (!nl)
			return 1;
		d->live = nl;
		d->cap = nc;
	}
	d->v[d->n] = entity;
	d->live[d->n] = live;
	d->n++;
	return 0;
}

static int on_child(const struct hn_process *p, void *arg)
{
	return desc_add(arg, p->entity, !p->exited);
}

/* The descendants the store records below entity, breadth first, exited
 * ones included (a double fork's middle process has exited; its child
 * lives on under init); those not known to have exited are the ones the
 * caller checks. */
static void store_descendants(struct hn_respond *r, uint64_t entity, struct desc *d)
{
	if (!r->store || !entity || desc_add(d, entity, false))
		return;
	for (int i = 0; i < d->n && d->n < KILL_MAX_MEMBERS; i++)
		if (hn_store_children(r->store, d->v[i], on_child, d) != 0)
			break;
}

static void let_go(struct tree *t)
{
	for (int i = 0; i < t->n; i++)
		pidfd_signal(t->m[i].pidfd, SIGCONT);
}

/* Find members not yet held: live children of members, and the store's
 * descendants.  The count added, or -errno (r->err set when refused). */
static int grow(struct hn_respond *r, struct tree *t, const struct desc *rec, uint32_t agent)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int added = 0, rc = 0;

	if (!d)
		return hn_respond_fail(r, -errno, "/proc: %s", strerror(errno));
	while ((de = readdir(d)) && rc == 0) {
		struct pstat ps;
		struct member m;
		const char *why;
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		struct member *par;

		if (*end || pid == 0 || find(t, (uint32_t)pid))
			continue;
		if (read_stat((uint32_t)pid, &ps) < 0 || !(par = find(t, ps.ppid)))
			continue;
		{
			/* the parent must be that member still: a gone member's
			 * pid may be another process's now */
			struct pstat pp;
			if (par->gone || read_stat(par->pid, &pp) < 0 || pp.ticks != par->ticks)
				continue;
		}
		if (ps.state == 'Z' || ps.state == 'X')
			continue;
		if ((why = refused(&ps, (uint32_t)pid, agent))) {
			rc = hn_respond_fail(r, -EPERM, "process %lu (%s) in the tree: %s; "
					     "nothing killed", pid, ps.comm, why);
			break;
		}
		if (hold(t, (uint32_t)pid, entity_of(r, t, (uint32_t)pid, ps.ticks), &m) < 0)
			continue;   /* gone meanwhile */
		if (pidfd_signal(m.pidfd, SIGSTOP) < 0 && errno != ESRCH) {
			close(m.pidfd);
			continue;
		}
		rc = add(t, &m);
		if (rc < 0) {
			close(m.pidfd);
			hn_respond_fail(r, rc, "more than %d processes in the tree",
					KILL_MAX_MEMBERS);
			break;
		}
		added++;
	}
	closedir(d);
	for (int i = 0; rec && i < rec->n && rc == 0; i++) {
		if (!rec->live[i])
			continue;
		uint32_t pid = (uint32_t)(rec->v[i] & ((1u << 22) - 1));
		struct pstat ps;
		struct member m;
		const char *why;

		if (find(t, pid) || read_stat(pid, &ps) < 0 || ps.state == 'Z')
			continue;
		if (!hn_entity_matches_ticks(t->boot, rec->v[i], pid, ps.ticks))
			continue;   /* that pid is another process now */
		if ((why = refused(&ps, pid, agent))) {
			rc = hn_respond_fail(r, -EPERM, "process %u (%s) descends from the "
					     "target: %s; nothing killed", pid, ps.comm, why);
			break;
		}
		if (hold(t, pid, rec->v[i], &m) < 0)
			continue;
		pidfd_signal(m.pidfd, SIGSTOP);
		rc = add(t, &m);
		if (rc < 0) {
			close(m.pidfd);
			break;
		}
		added++;
	}
	return rc < 0 ? rc : added;
}

/* Every member stopped or gone (bounded wait). */
static bool all_stopped(struct tree *t, uint64_t deadline)
{
	for (;;) {
		bool ok = true;
		for (int i = 0; i < t->n; i++) {
			struct pstat ps;
			if (t->m[i].gone)
				continue;
			if (pidfd_exited(t->m[i].pidfd, 0) || read_stat(t->m[i].pid, &ps) < 0 ||
			    ps.state == 'Z' || ps.state == 'X') {
				t->m[i].gone = true;
				continue;
			}
			if (ps.state != 'T' && ps.state != 't') {
				ok = false;
				pidfd_signal(t->m[i].pidfd, SIGSTOP);
			}
		}
		if (ok)
			return true;
		if (mono_ms() > deadline)
			return false;
		usleep(2000);
	}
}

void hn_kill_result_release(struct hn_kill_result *k)
{
	if (!k)
		return;
	free(k->procs);
	k->procs = NULL;
	k->n = 0;
}

int hn_kill(struct hn_respond *r, uint64_t entity, uint32_t pid, bool tree,
	    struct hn_kill_result *out)
{
	struct tree t = { 0 };
	struct desc rec = { 0 };
	struct member root;
	struct pstat ps;
	const char *why;
	uint32_t agent = agent_pid(r);
	uint64_t deadline;
	int rc, round;

	memset(out, 0, sizeof(*out));
	t.have_boot = hn_boot_id(t.boot) == 0;
	if (entity) {
		pid = (uint32_t)(entity & ((1u << 22) - 1));
		if (!t.have_boot)
			return hn_respond_fail(r, -EIO, "cannot read this boot's id to "
					       "check entity ids");
	}
	if (pid == 0)
		return hn_respond_fail(r, -EINVAL, "no process given");
	if (read_stat(pid, &ps) < 0)
		return hn_respond_fail(r, -ESRCH, "process %u is not running", pid);
	if (entity && !hn_entity_matches_ticks(t.boot, entity, pid, ps.ticks))
		return hn_respond_fail(r, -ESRCH, "entity %016llx is not running (pid %u "
				       "is another process now)", (unsigned long long)entity, pid);
	if ((why = refused(&ps, pid, agent)))
		return hn_respond_fail(r, -EPERM, "process %u (%s) not killed: %s", pid,
				       ps.comm, why);
	if (!entity)
		entity = entity_of(r, &t, pid, ps.ticks);
	rc = hold(&t, pid, entity, &root);
	if (rc < 0)
		return hn_respond_fail(r, rc, "process %u is not running", pid);
	if (pidfd_signal(root.pidfd, SIGSTOP) < 0 && errno != ESRCH) {
		rc = hn_respond_fail(r, -errno, "cannot stop process %u: %s", pid,
				     strerror(errno));
		close(root.pidfd);
		return rc;
	}
	rc = add(&t, &root);
	if (rc < 0) {
		close(root.pidfd);
		return hn_respond_fail(r, rc, "no memory");
	}
	deadline = mono_ms() + KILL_WAIT_MS;
	for (round = 0; tree && round < KILL_ROUNDS; round++) {
		int added;

		/* the store's view, again each round: a member that forked
		 * and exited before it was stopped leaves a child under init
		 * that only the store links to the tree (the agent records
		 * within a second: the rounds go on while members are new) */
		rec.n = 0;
		store_descendants(r, entity, &rec);
		added = grow(r, &t, &rec, agent);
		if (added < 0) {
			rc = added;
			let_go(&t);
			goto out;
		}
		if (!all_stopped(&t, deadline)) {
			rc = hn_respond_fail(r, -ETIMEDOUT, "the tree could not be stopped "
					     "within %d ms; nothing killed", KILL_WAIT_MS);
			let_go(&t);
			goto out;
		}
		/* a round that found nothing new after all were stopped:
		 * nobody left to fork */
		if (added == 0)
			break;
	}
	if (tree && round == KILL_ROUNDS) {
		rc = hn_respond_fail(r, -EAGAIN, "the tree kept growing for %d rounds; "
				     "nothing killed", KILL_ROUNDS);
		let_go(&t);
		goto out;
	}
	if (!tree)
		all_stopped(&t, deadline);
	for (int i = 0; i < t.n; i++)
		if (!t.m[i].gone)
			pidfd_signal(t.m[i].pidfd, SIGKILL);
	deadline = mono_ms() + KILL_WAIT_MS;
	rc = 0;
	for (int i = 0; i < t.n; i++) {
		uint64_t now = mono_ms();
		int left = now < deadline ? (int)(deadline - now) : 0;
		if (t.m[i].gone)
			continue;
		t.m[i].killed = pidfd_exited(t.m[i].pidfd, left);
		if (!t.m[i].killed)
			rc = hn_respond_fail(r, -ETIMEDOUT, "process %u (%s) did not end "
					     "within %d ms of SIGKILL", t.m[i].pid, t.m[i].comm,
					     KILL_WAIT_MS);
	}
	out->procs = t.n > 0 ? calloc((size_t)t.n, sizeof(*out->procs)) : NULL;
	if (out->procs) {
		for (int i = 0; i < t.n; i++) {
			out->procs[i].pid = t.m[i].pid;
			out->procs[i].entity = t.m[i].entity;
			memcpy(out->procs[i].comm, t.m[i].comm, sizeof(out->procs[i].comm));
			out->procs[i].killed = t.m[i].killed;
			out->gone += t.m[i].gone;
		}
		out->n = t.n;
	}
out:
	for (int i = 0; i < t.n; i++)
		close(t.m[i].pidfd);
	free(t.m);
	free(rec.v);
	free(rec.live);
	return rc;
}
