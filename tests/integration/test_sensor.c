/*
 * test_sensor.c - the real sensor, loaded in the kernel by the real agent,
 * recording real processes, files and sockets into a real SQLite store.
 *
 * One agent runs for the whole group (setup/teardown).  Each test acts
 * (forks, execs, writes files in its scratch directory, talks to itself on
 * 127.0.0.1) and then waits, bounded, for the exact events in the store:
 * types, pids, entity ids and parent links, canonical paths, argv bytes.
 * Needs root; skipped (not passed) without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "enrich/hasher.h"
#include "event/entity.h"
#include "lib/harness.h"

static struct th_agent agent;
static struct hn_store *store;
static char scratch[256];


/* ---- helpers ---- */


/* Wait (up to 10 s) for an event of type by pid with path (NULL = any). */
static struct hn_event *wait_event(uint16_t type, uint32_t pid, const char *path)
{
	for (int i = 0; i < 100; i++) {
		struct hn_event *ev = th_find(store, type, pid, path);
		if (ev)
			return ev;
		th_sleep_ms(100);
	}
	return NULL;
}

/* This test process's entity id, from its snapshot event (it was running
 * when the agent started). */
static uint64_t my_entity(void)
{
	static uint64_t me;
	if (!me) {
		struct hn_event *ev = wait_event(HN_EV_PROCESS_SNAPSHOT, (uint32_t)getpid(), NULL);
		if (ev) {
			me = ev->proc.entity;
			hn_event_free(ev);
		}
	}
	return me;
}

static struct hn_event *wait_match(uint16_t type, uint32_t pid, th_pred pred, const void *arg)
{
	return th_wait_match(store, type, pid, pred, arg);
}

static bool has_arg(const struct hn_event *ev, const void *arg)
{
	const char *want = arg;
	size_t off = 0;

	while (ev->args && off < ev->args_len) {
		if (!strcmp(ev->args + off, want))
			return true;
		off += strlen(ev->args + off) + 1;
	}
	return false;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			break;
	close(in);
	close(out);
	return 0;
}

static pid_t spawn(const char *path, char *const argv[])
{
	pid_t p = fork();
	if (p == 0) {
		execv(path, argv);
		_exit(127);
	}
	return p;
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	(void)state;
	if (th_scratch(scratch, sizeof(scratch), "sensor") < 0)
		return -1;
	return th_group_start(&agent, &store, (const char *const[]){ "--quiet", NULL });
}

static int group_teardown(void **state)
{
	(void)state;
	th_group_stop(&agent, store, scratch);
	return 0;
}

/* ---- tests ---- */

/* A process that lives well under a millisecond, and one that only forks. */
static void short_lived_process(void **state)
{
	char *argv[] = { "true", "hn-short-lived", NULL };
	struct hn_event *exec, *fork_ev, *exit_ev;
	uint64_t me = my_entity();
	pid_t p = spawn("/bin/true", argv), q;

	(void)state;
	assert_int_equal(th_reap(p), 0);
	q = fork();
	if (q == 0)
		_exit(7);
	th_reap(q);

	exec = wait_event(HN_EV_PROCESS_START, (uint32_t)p, "/usr/bin/true");
	assert_non_null(exec);
	assert_string_equal(exec->filename, "/bin/true");
	assert_int_equal(exec->argc, 2);
	assert_true(has_arg(exec, "hn-short-lived"));
	assert_int_equal(exec->proc.ppid, getpid());
	assert_true(me != 0);
	assert_true(exec->proc.parent_entity == me);
	fork_ev = wait_event(HN_EV_PROCESS_FORK, (uint32_t)p, NULL);
	assert_non_null(fork_ev);
	assert_true(fork_ev->proc.entity == exec->proc.entity);
	exit_ev = wait_event(HN_EV_PROCESS_EXIT, (uint32_t)p, NULL);
	assert_non_null(exit_ev);
	assert_true(exit_ev->proc.entity == exec->proc.entity);
	assert_int_equal(exit_ev->exit_code, 0);
	/* the executable's SHA-256 arrives off the hot path */
	{
		char want[65];
		assert_int_equal(hn_sha256_file("/usr/bin/true", 1 << 30, want), 0);
		for (int i = 0; i < 50 && strcmp(exec->sha256, want) != 0; i++) {
			hn_event_free(exec);
			th_sleep_ms(100);
			exec = th_find(store, HN_EV_PROCESS_START, (uint32_t)p, "/usr/bin/true");
			assert_non_null(exec);
		}
		assert_string_equal(exec->sha256, want);
	}
	hn_event_free(exec);
	hn_event_free(fork_ev);
	hn_event_free(exit_ev);

	exit_ev = wait_event(HN_EV_PROCESS_EXIT, (uint32_t)q, NULL);
	assert_non_null(exit_ev);
	assert_int_equal(exit_ev->exit_code, 7);
	assert_true(exit_ev->proc.parent_entity == me);
	hn_event_free(exit_ev);
}

/* Five nested shells: the leaf's ancestry through parent entity ids. */
static void five_nested_shells(void **state)
{
	char script[320], depth_arg[16];
	char *argv[] = { "sh", script, "4", NULL };
	struct hn_event *leaf;
	struct hn_process *p = NULL;
	uint64_t e;
	FILE *f;
	pid_t pid;

	(void)state;
	snprintf(script, sizeof(script), "%s/nest.sh", scratch);
	f = fopen(script, "w");
	assert_non_null(f);
	fprintf(f, "d=$1\nif [ \"$d\" -gt 0 ]; then /bin/sh \"$0\" $((d-1)); exit $?; fi\n"
		   "/bin/true hn-nest-leaf\nexit $?\n");
	fclose(f);
	pid = spawn("/bin/sh", argv);
	assert_int_equal(th_reap(pid), 0);

	leaf = wait_match(HN_EV_PROCESS_START, 0, has_arg, "hn-nest-leaf");
	assert_non_null(leaf);
	e = leaf->proc.parent_entity;
	for (int d = 0; d <= 4; d++) {
		/* wait for the row: the writer may be a batch behind */
		for (int i = 0; i < 50 && hn_store_process(store, e, &p) < 0; i++)
			th_sleep_ms(100);
		assert_non_null(p);
		assert_string_equal(p->executable, "/usr/bin/dash");
		snprintf(depth_arg, sizeof(depth_arg), "%d", d);
		/* argv: sh|/bin/sh SCRIPT DEPTH */
		{
			const char *a = p->args;
			size_t off = 0;
			int k = 0;
			const char *last = NULL;
			while (a && off < p->args_len) {
				last = a + off;
				off += strlen(a + off) + 1;
				k++;
			}
			assert_int_equal(k, 3);
			assert_string_equal(last, depth_arg);
		}
		e = p->parent_entity;
		if (d == 4)
			assert_int_equal(p->pid, pid);
		hn_process_free(p);
		p = NULL;
	}
	assert_true(e == my_entity());
	hn_event_free(leaf);
}

/* A file written, renamed, chmod +x'd, executed and deleted. */
static void file_lifecycle(void **state)
{
	char a[320], b[320];
	char *argv[] = { b, "hn-lifecycle", NULL };
	struct hn_event *ev;
	uint32_t me = (uint32_t)getpid();
	pid_t p;

	(void)state;
	snprintf(a, sizeof(a), "%s/dropper", scratch);
	snprintf(b, sizeof(b), "%s/.hidden-payload", scratch);
	assert_int_equal(copy_file("/bin/true", a, 0644), 0);
	assert_int_equal(rename(a, b), 0);
	assert_int_equal(chmod(b, 0755), 0);
	p = spawn(b, argv);
	assert_int_equal(th_reap(p), 0);
	assert_int_equal(unlink(b), 0);

	ev = wait_event(HN_EV_FILE_CREATE, me, a);
	assert_non_null(ev);
	assert_true(ev->flags & HN_EVF_CREATED);
	/* one event per open, flagged once the close saw it written */
	for (int i = 0; i < 50 && !(ev->flags & HN_EVF_WRITTEN); i++) {
		hn_event_free(ev);
		th_sleep_ms(100);
		ev = th_find(store, HN_EV_FILE_CREATE, me, a);
		assert_non_null(ev);
	}
	assert_true(ev->flags & HN_EVF_WRITTEN);
	hn_event_free(ev);

	ev = wait_event(HN_EV_FILE_RENAME, me, a);
	assert_non_null(ev);
	assert_string_equal(ev->path2, b);
	hn_event_free(ev);

	ev = wait_event(HN_EV_FILE_CHMOD, me, b);
	assert_non_null(ev);
	assert_int_equal(ev->mode & 07777, 0755);
	hn_event_free(ev);

	ev = wait_event(HN_EV_PROCESS_START, (uint32_t)p, b);
	assert_non_null(ev);
	assert_true(has_arg(ev, "hn-lifecycle"));
	hn_event_free(ev);

	ev = wait_event(HN_EV_FILE_DELETE, me, b);
	assert_non_null(ev);
	hn_event_free(ev);
}

static bool port_is(const struct hn_event *ev, const void *arg)
{
	return ev->dst.port == *(const uint16_t *)arg;
}

static bool local_port_is(const struct hn_event *ev, const void *arg)
{
	return ev->src.port == *(const uint16_t *)arg;
}

/* connect to a 127.0.0.1 listener, and the accept side */
static void tcp_connect_accept(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct hn_event *ev;
	uint16_t port;
	int ls, cs;
	pid_t p;
	char addr[64];

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	p = fork();
	if (p == 0) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		int r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
		if (r == 0 && write(s, "x", 1) != 1)
			r = -1;
		close(s);
		_exit(r == 0 ? 0 : 1);
	}
	cs = accept(ls, NULL, NULL);
	assert_true(cs >= 0);
	close(cs);
	close(ls);
	assert_int_equal(th_reap(p), 0);

	ev = wait_match(HN_EV_NET_LISTEN, (uint32_t)getpid(), local_port_is, &port);
	assert_non_null(ev);
	assert_string_equal(hn_addr_str(&ev->src, addr, sizeof(addr)), "127.0.0.1");
	hn_event_free(ev);

	ev = wait_match(HN_EV_NET_CONNECT, (uint32_t)p, port_is, &port);
	assert_non_null(ev);
	assert_string_equal(hn_addr_str(&ev->dst, addr, sizeof(addr)), "127.0.0.1");
	assert_int_equal(ev->result, 0);
	assert_int_equal(ev->transport, IPPROTO_TCP);
	hn_event_free(ev);

	ev = wait_match(HN_EV_NET_ACCEPT, (uint32_t)getpid(), local_port_is, &port);
	assert_non_null(ev);
	assert_string_equal(hn_addr_str(&ev->dst, addr, sizeof(addr)), "127.0.0.1");
	assert_true(ev->dst.port != 0);
	hn_event_free(ev);
}

/* exec of a memfd (fileless) */
static void memfd_exec(void **state)
{
	char *argv[] = { "payload", "hn-memfd", NULL };
	char *envp[] = { NULL };
	char buf[65536];
	struct hn_event *ev;
	int fd, in;
	ssize_t n;
	pid_t p;

	(void)state;
	fd = memfd_create("hn-memfd-test", 0);
	assert_true(fd >= 0);
	in = open("/bin/true", O_RDONLY);
	assert_true(in >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(fd, buf, (size_t)n), n);
	close(in);
	p = fork();
	if (p == 0) {
		fexecve(fd, argv, envp);
		_exit(127);
	}
	assert_int_equal(th_reap(p), 0);
	close(fd);

	ev = wait_event(HN_EV_MEMFD_CREATE, (uint32_t)getpid(), NULL);
	assert_non_null(ev);
	assert_string_equal(ev->name, "hn-memfd-test");
	hn_event_free(ev);
	ev = wait_event(HN_EV_PROCESS_START, (uint32_t)p, NULL);
	assert_non_null(ev);
	assert_true(ev->flags & HN_EVF_MEMFD);
	assert_string_equal(ev->path, "/memfd:hn-memfd-test");
	assert_true(has_arg(ev, "hn-memfd"));
	hn_event_free(ev);
}

/* exec of a file that was deleted before the exec */
static void deleted_exec(void **state)
{
	char path[320];
	char *argv[] = { "gone", "hn-deleted", NULL };
	char *envp[] = { NULL };
	struct hn_event *ev;
	int fd;
	pid_t p;

	(void)state;
	snprintf(path, sizeof(path), "%s/gone", scratch);
	assert_int_equal(copy_file("/bin/true", path, 0755), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	p = fork();
	if (p == 0) {
		fexecve(fd, argv, envp);
		_exit(127);
	}
	assert_int_equal(th_reap(p), 0);
	close(fd);
	ev = wait_event(HN_EV_PROCESS_START, (uint32_t)p, NULL);
	assert_non_null(ev);
	assert_true(ev->flags & HN_EVF_DELETED);
	assert_string_equal(ev->path, path);
	hn_event_free(ev);
}

/* argv with spaces, quotes and bytes that are not UTF-8, kept exactly */
static void argv_exact_bytes(void **state)
{
	static const char want[] = "true\0a b\0it's \"quoted\"\0\xff\xfe\x80 raw\0";
	char *argv[] = { "true", "a b", "it's \"quoted\"", "\xff\xfe\x80 raw", NULL };
	struct hn_event *ev;
	pid_t p = spawn("/bin/true", argv);

	(void)state;
	assert_int_equal(th_reap(p), 0);
	ev = wait_event(HN_EV_PROCESS_START, (uint32_t)p, NULL);
	assert_non_null(ev);
	assert_int_equal(ev->argc, 4);
	assert_int_equal(ev->args_len, sizeof(want) - 2);
	assert_memory_equal(ev->args, want, sizeof(want) - 2);
	hn_event_free(ev);
}

/* a relative path opened after a change of cwd resolves to the real file */
static void relative_path_after_chdir(void **state)
{
	char sub[320], want[320];
	struct hn_event *ev;
	pid_t p;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", scratch);
	snprintf(want, sizeof(want), "%s/rel.txt", scratch);
	assert_int_equal(mkdir(sub, 0755), 0);
	p = fork();
	if (p == 0) {
		int fd;
		if (chdir(sub) < 0)
			_exit(1);
		fd = open("../rel.txt", O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || write(fd, "x", 1) != 1)
			_exit(2);
		close(fd);
		/* and a path op relative to the cwd */
		if (rename("../rel.txt", "./moved.txt") < 0 || rename("./moved.txt", "../rel.txt") < 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(th_reap(p), 0);
	ev = wait_event(HN_EV_FILE_CREATE, (uint32_t)p, want);
	assert_non_null(ev);
	hn_event_free(ev);
	ev = wait_event(HN_EV_FILE_RENAME, (uint32_t)p, want);
	assert_non_null(ev);
	{
		char moved[340];
		snprintf(moved, sizeof(moved), "%s/moved.txt", sub);
		assert_string_equal(ev->path2, moved);
	}
	hn_event_free(ev);
}

/* pid reuse: two processes with one pid are two entities */
static void pid_reuse(void **state)
{
	char *a1[] = { "true", "hn-reuse-first", NULL };
	char *a2[] = { "true", "hn-reuse-second", NULL };
	struct hn_event *e1, *e2;
	pid_t first, second = 0;

	(void)state;
	first = spawn("/bin/true", a1);
	th_reap(first);
	/* ask the kernel for the same pid again (root, our pid namespace) */
	for (int i = 0; i < 20 && second != first; i++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		if (!f)
			skip();
		fprintf(f, "%d", (int)first - 1);
		fclose(f);
		second = spawn("/bin/true", a2);
		th_reap(second);
	}
	if (second != first)
		skip();
	e1 = wait_match(HN_EV_PROCESS_START, (uint32_t)first, has_arg, "hn-reuse-first");
	e2 = wait_match(HN_EV_PROCESS_START, (uint32_t)first, has_arg, "hn-reuse-second");
	assert_non_null(e1);
	assert_non_null(e2);
	assert_true(e1->proc.entity != e2->proc.entity);
	{
		uint64_t ents[8];
		int n = hn_store_entities_by_pid(store, (uint32_t)first, ents, 8);
		bool saw1 = false, saw2 = false;
		for (int i = 0; i < n; i++) {
			saw1 |= ents[i] == e1->proc.entity;
			saw2 |= ents[i] == e2->proc.entity;
		}
		assert_true(saw1 && saw2);
	}
	hn_event_free(e1);
	hn_event_free(e2);
}

/* writes into another process's memory, ptrace attach */
static void process_injection(void **state)
{
	char path[64];
	struct hn_event *ev;
	int fd, st;
	pid_t victim = fork();

	(void)state;
	if (victim == 0) {
		pause();
		_exit(0);
	}
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)victim);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(ptrace(PTRACE_ATTACH, victim, NULL, NULL), 0);
	waitpid(victim, &st, 0);
	ptrace(PTRACE_DETACH, victim, NULL, NULL);
	kill(victim, SIGKILL);
	th_reap(victim);

	ev = wait_event(HN_EV_PROC_MEM_WRITE, (uint32_t)getpid(), path);
	assert_non_null(ev);
	assert_int_equal(ev->target_pid, victim);
	hn_event_free(ev);
	ev = wait_event(HN_EV_PTRACE, (uint32_t)getpid(), NULL);
	assert_non_null(ev);
	assert_int_equal(ev->target_pid, victim);
	assert_int_equal(ev->request, PTRACE_ATTACH);
	hn_event_free(ev);
}

/* a DNS query (to 127.0.0.1: nothing leaves the machine) */
static void dns_query_name(void **state)
{
	/* id, flags RD, 1 question, qname hn-test.example, A, IN */
	static const unsigned char q[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		7, 'h', 'n', '-', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
		0, 1, 0, 1,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct hn_event *ev;
	int s;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(s >= 0);
	assert_int_equal(sendto(s, q, sizeof(q), 0, (struct sockaddr *)&sa, sizeof(sa)),
			 (ssize_t)sizeof(q));
	close(s);
	ev = wait_event(HN_EV_DNS_QUERY, (uint32_t)getpid(), NULL);
	assert_non_null(ev);
	assert_string_equal(ev->dns_name, "hn-test.example");
	assert_int_equal(ev->dns_type, 1);
	assert_int_equal(ev->dst.port, 53);
	hn_event_free(ev);
}

static bool connect_named(const struct hn_event *ev, const void *arg)
{
	const struct sockaddr_in *to = arg;

	return ev->dst.port == ntohs(to->sin_port) && ev->dns_name;
}

/* A DNS answer names the address it gives: a connection to it carries the
 * name asked for (DestinationHostname, ECS destination.domain).  The
 * server is this test on 127.0.0.1:53, the address 127.0.0.77. */
/* A DNS exchange with a server of our own on 127.0.0.1:53 for
 * hn-TAGPID.example, answered 127.0.0.ip; the client reads the reply
 * with recvmsg or recvfrom.  Then a connection to that address carries
 * the name. */
static void dns_answer_names_connection_via(const char *tag, unsigned char ip, bool msg)
{
	unsigned char q[64], rep[128];
	char name[40];
	struct sockaddr_in dns = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in from;
	socklen_t fl = sizeof(from), tl = sizeof(to);
	struct hn_event *ev;
	size_t qn = 12, n;
	int srv, cli, lst, tcp;

	dns.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(srv >= 0);
	if (bind(srv, (struct sockaddr *)&dns, sizeof(dns)) < 0) {
		close(srv);
		fprintf(stderr, "127.0.0.1:53 is taken: %s\n", strerror(errno));
		skip();
	}
	/* the query: id, RD, one question: hn-ansPID.example A IN */
	snprintf(name, sizeof(name), "hn-%s%d", tag, (int)getpid());
	memset(q, 0, sizeof(q));
	q[0] = 0x56;
	q[2] = 0x01;
	q[5] = 1;
	q[qn++] = (unsigned char)strlen(name);
	memcpy(q + qn, name, strlen(name));
	qn += strlen(name);
	q[qn++] = 7;
	memcpy(q + qn, "example", 7);
	qn += 7;
	q[qn++] = 0;
	q[qn++] = 0;
	q[qn++] = 1;
	q[qn++] = 0;
	q[qn++] = 1;
	cli = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(cli >= 0);
	assert_int_equal(sendto(cli, q, qn, 0, (struct sockaddr *)&dns, sizeof(dns)), (ssize_t)qn);
	assert_int_equal(recvfrom(srv, rep, sizeof(rep), 0, (struct sockaddr *)&from, &fl),
			 (ssize_t)qn);
	/* the reply: the query, QR set, one answer A 127.0.0.77 */
	rep[2] = 0x81;
	rep[3] = 0x80;
	rep[7] = 1;
	n = qn;
	{
		unsigned char ans[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 0 };
		ans[15] = ip;
		memcpy(rep + n, ans, sizeof(ans));
		n += sizeof(ans);
	}
	assert_int_equal(sendto(srv, rep, n, 0, (struct sockaddr *)&from, fl), (ssize_t)n);
	fl = sizeof(from);
	if (msg) {
		/* one buffer, as resolvers read a datagram (the sensor reads
		 * the first iovec) */
		struct iovec iov = { q, sizeof(q) };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = fl, .msg_iov = &iov,
				     .msg_iovlen = 1 };
		assert_int_equal(recvmsg(cli, &mh, 0), (ssize_t)n);
	} else {
		assert_int_equal(recvfrom(cli, q, sizeof(q), 0, (struct sockaddr *)&from, &fl),
				 (ssize_t)n > (ssize_t)sizeof(q) ? (ssize_t)sizeof(q) : (ssize_t)n);
	}
	close(cli);
	close(srv);
	/* a listener on the answered address, and a connection to it */
	to.sin_addr.s_addr = htonl(0x7f000000u | ip);
	lst = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lst >= 0);
	assert_int_equal(bind(lst, (struct sockaddr *)&to, sizeof(to)), 0);
	assert_int_equal(listen(lst, 1), 0);
	assert_int_equal(getsockname(lst, (struct sockaddr *)&to, &tl), 0);
	/* the agent reads the answer before the connect (one ring buffer) */
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(tcp >= 0);
	assert_int_equal(connect(tcp, (struct sockaddr *)&to, sizeof(to)), 0);
	close(tcp);
	close(lst);
	ev = th_wait_match(store, HN_EV_NET_CONNECT, (uint32_t)getpid(), connect_named, &to);
	assert_non_null(ev);
	snprintf((char *)rep, sizeof(rep), "%s.example", name);
	assert_string_equal(ev->dns_name, (char *)rep);
	hn_event_free(ev);
}

static void dns_answer_names_connection(void **state)
{
	(void)state;
	dns_answer_names_connection_via("ans", 77, false);
}

/* The same with the reply read by recvmsg (systemd-resolved, event-loop
 * resolvers). */
static void dns_answer_read_with_recvmsg_names_connection(void **state)
{
	(void)state;
	dns_answer_names_connection_via("msg", 78, true);
}

/* the CLI reads the same store */
static void cli_reads_store(void **state)
{
	char cmd[1024];
	int r;

	(void)state;
	/* every line of `events --json` is a JSON object with ECS fields */
	snprintf(cmd, sizeof(cmd),
		 "%s events --db %s --json --since 10m | python3 -c '"
		 "import json,sys\n"
		 "n=0\n"
		 "for l in sys.stdin:\n"
		 "  o=json.loads(l); n+=1\n"
		 "  assert \"@timestamp\" in o and \"event\" in o, l\n"
		 "sys.exit(0 if n>10 else 3)'",
		 th_bin(), agent.db);
	r = system(cmd);
	assert_int_equal(r, 0);
	snprintf(cmd, sizeof(cmd), "%s tree --db %s %d | grep -q hn-nest-leaf", th_bin(),
		 agent.db, (int)getpid());
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s sql --db %s 'DELETE FROM events' 2>/dev/null", th_bin(),
		 agent.db);
	r = system(cmd);
	assert_true(WIFEXITED(r) && WEXITSTATUS(r) == 1);
	snprintf(cmd, sizeof(cmd), "%s status --db %s | grep -q 'active'", th_bin(), agent.db);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(short_lived_process),
		cmocka_unit_test(five_nested_shells),
		cmocka_unit_test(file_lifecycle),
		cmocka_unit_test(tcp_connect_accept),
		cmocka_unit_test(memfd_exec),
		cmocka_unit_test(deleted_exec),
		cmocka_unit_test(argv_exact_bytes),
		cmocka_unit_test(relative_path_after_chdir),
		cmocka_unit_test(pid_reuse),
		cmocka_unit_test(process_injection),
		cmocka_unit_test(dns_query_name),
		cmocka_unit_test(dns_answer_names_connection),
		cmocka_unit_test(dns_answer_read_with_recvmsg_names_connection),
		cmocka_unit_test(cli_reads_store),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
