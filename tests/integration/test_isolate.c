/*
 * test_isolate.c - `hinomi isolate` / `hinomi unisolate` for real, inside
 * two network namespaces of the test's own joined by a veth pair:
 *
 *     netns A (isolated)                         netns B (the peer)
 *     va 10.213.77.1/24  fd48:6e69:6d69::1/64 ── vb 10.213.77.2/24  fd48:6e69:6d69::2/64
 *     listeners :8022 :8080 (dual stack)          listeners :8022 :8080, udp :53 :54
 *
 * Nothing here runs in, or talks to, the host's own network namespace:
 * every hinomi isolate, unisolate and agent runs under `ip netns exec A`
 * with the state directory and the store in a scratch directory under
 * /tmp; the test's own sockets are made inside A or B (setns around
 * socket(): a socket stays in the namespace it was made in).  Both
 * namespaces are deleted at the end, by name.  Every wait is bounded.
 *
 * What it proves: reachability before and after (new connections, the
 * allowed one kept, the other refused; IPv6 too, neighbour discovery
 * included; inbound to an allowed port; loopback); established connections
 * (the allowed one still passes data both ways, the other one no longer
 * does); --dns; replacement by a new allow list; the exact record in the
 * store; restart persistence (the ruleset flushed, the agent started in A
 * puts the table back); exact undo (`nft list ruleset` the same text as
 * before isolation, a table of the test's own untouched); refusals
 * (malformed --allow, not root, nftables not usable) that change nothing.
 * Needs root; skipped without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/harness.h"
#include "respond/respond.h"

#define A4 "10.213.77.1"
#define B4 "10.213.77.2"
#define A6 "fd48:6e69:6d69::1"
#define B6 "fd48:6e69:6d69::2"
#define P_ALLOWED 8022
#define P_OTHER 8080
#define OK_MS 5000          /* what must pass gets this long */
#define BLOCKED_MS 1500     /* what must not pass is watched this long */
#define RUN_S 120           /* one command (slow under sanitizers, shared CPUs) */

#define KEEP_TABLE \
	"table inet hn_test_keep {\n" \
	"\tchain c {\n" \
	"\t\ttype filter hook input priority 10; policy accept;\n" \
	"\t\tip saddr 192.0.2.1 drop\n" \
	"\t}\n" \
	"}\n"

static char nsa[40], nsb[40];          /* the namespaces' names, "" until made */
static char scratch[64], db[128], state_dir[128], state_file[160], outfile[160];
static int host_ns = -1, fd_a = -1, fd_b = -1;
static int lb_allowed = -1, lb_other = -1, la_allowed = -1, la_other = -1;
static int ub53 = -1, ub54 = -1;
static pid_t agent_pid;
static char out[65536];

/* ---- running commands ---- */

/* argv (found on PATH) with stdout and stderr into out; its exit status,
 * or -1 (did not run, killed, or RUN_S passed). */
static int runv(const char *const *argv)
{
	int st, fd;
	pid_t p;

	out[0] = '\0';
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	st = -1;
	for (int i = 0; i < RUN_S * 50; i++) {
		if (waitpid(p, &st, WNOHANG) == p)
			break;
		if (i + 1 == RUN_S * 50) {
			kill(p, SIGKILL);
			waitpid(p, &st, 0);
			st = -1;
		}
		th_sleep_ms(20);
	}
	fd = open(outfile, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, out, sizeof(out) - 1);
		out[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A file's text (a log, the output of a child of our own) into out. */
static void slurp(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, out, sizeof(out) - 1) : 0;

	out[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* out, cut to fit buf */
static void copy_out(char *buf, size_t n)
{
	size_t len = strlen(out);

	if (len >= n)
		len = n - 1;
	memcpy(buf, out, len);
	buf[len] = '\0';
}

/* Run a NULL-terminated argument list. */
static int run(const char *first, ...)
{
	const char *argv[32];
	va_list ap;
	int n = 0;

	argv[n++] = first;
	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	return runv(argv);
}

/* `ip netns exec NS hinomi ARGS... --db DB` */
static int hinomi_in(const char *ns, const char *cmd, ...)
{
	const char *argv[32];
	va_list ap;
	int n = 0;

	argv[n++] = "ip";
	argv[n++] = "netns";
	argv[n++] = "exec";
	argv[n++] = ns;
	argv[n++] = th_bin();
	argv[n++] = cmd;
	va_start(ap, cmd);
	while (n < 28 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n++] = "--db";
	argv[n++] = db;
	argv[n] = NULL;
	return runv(argv);
}

/* `nft list ruleset` in A, into buf. */
static void ruleset_a(char *buf, size_t n)
{
	assert_int_equal(run("ip", "netns", "exec", nsa, "nft", "list", "ruleset", NULL), 0);
	copy_out(buf, n);
}

static bool table_in_a(void)
{
	return run("ip", "netns", "exec", nsa, "nft", "list", "table", "inet",
		   "hinomi_isolation", NULL) == 0;
}

/* ---- sockets in a namespace ---- */

/* A dual-stack socket made inside the namespace nsfd. */
static int socket_in(int nsfd, int type)
{
	int fd = -1, off = 0;

	if (setns(nsfd, CLONE_NEWNET) == 0) {
		fd = socket(AF_INET6, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd >= 0)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	}
	/* back home: the test's own commands must not run in A or B */
	if (setns(host_ns, CLONE_NEWNET) < 0) {
		fprintf(stderr, "cannot return to the test's own namespace\n");
		_exit(1);
	}
	return fd;
}

/* IPv4 as ::ffff:a.b.c.d for a dual-stack socket. */
static struct sockaddr_in6 sa_of(const char *addr, int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	char mapped[64];

	if (strchr(addr, ':'))
		snprintf(mapped, sizeof(mapped), "%s", addr);
	else
		snprintf(mapped, sizeof(mapped), "::ffff:%s", addr);
	assert_int_equal(inet_pton(AF_INET6, mapped, &sa.sin6_addr), 1);
	return sa;
}

static int listen_in(int nsfd, int type, int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket_in(nsfd, type), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool wait_fd(int fd, short ev, int ms)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, ms) == 1 && (p.revents & ev);
}

/* A TCP connection from namespace nsfd to addr:port within ms; the socket
 * or -1. */
static int connect_from(int nsfd, const char *addr, int port, int ms)
{
	struct sockaddr_in6 sa = sa_of(addr, port);
	int fd = socket_in(nsfd, SOCK_STREAM), err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto fail;
	if (!wait_fd(fd, POLLOUT, ms) ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int accept_one(int lfd, int ms)
{
	if (!wait_fd(lfd, POLLIN, ms))
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/* Does a fresh message sent on `from` arrive on `to` within ms?  What
 * arrives is read away (older messages released late included). */
static bool passes(int from, int to, int ms)
{
	static unsigned seq;
	char msg[32], got[4096];
	size_t have = 0;
	struct timespec t0, t;

	snprintf(msg, sizeof(msg), "<m%u>", ++seq);
	if (send(from, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		return false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - (int)((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || !wait_fd(to, POLLIN, left))
			return false;
		n = recv(to, got + have, sizeof(got) - 1 - have, 0);
		if (n <= 0)
			return false;
		have += (size_t)n;
		got[have] = '\0';
		if (strstr(got, msg))
			return true;
		if (have > sizeof(got) / 2) {     /* keep the tail */
			memmove(got, got + have - 64, 64);
			have = 64;
		}
	}
}

/* A connection from nsfd to addr:port, accepted on lfd, passing data both
 * ways: the two ends into c[0] (ours) and c[1] (theirs). */
static bool connect_pair(int nsfd, const char *addr, int port, int lfd, int c[2])
{
	c[0] = connect_from(nsfd, addr, port, OK_MS);
	c[1] = c[0] >= 0 ? accept_one(lfd, OK_MS) : -1;
	if (c[1] < 0 || !passes(c[0], c[1], OK_MS) || !passes(c[1], c[0], OK_MS)) {
		if (c[0] >= 0)
			close(c[0]);
		if (c[1] >= 0)
			close(c[1]);
		c[0] = c[1] = -1;
		return false;
	}
	return true;
}

static bool reaches(int nsfd, const char *addr, int port, int lfd)
{
	int c[2];

	if (!connect_pair(nsfd, addr, port, lfd, c))
		return false;
	close(c[0]);
	close(c[1]);
	return true;
}

/* No connection from nsfd to addr:port within BLOCKED_MS, and nothing
 * reached the listener. */
static bool blocked(int nsfd, const char *addr, int port, int lfd)
{
	int fd = connect_from(nsfd, addr, port, BLOCKED_MS), in = accept_one(lfd, 0);
	bool none = fd < 0 && in < 0;

	if (fd >= 0)
		close(fd);
	if (in >= 0)
		close(in);
	return none;
}

/* Does a UDP datagram from nsfd to addr:port arrive on ufd within ms? */
static bool udp_passes(int nsfd, const char *addr, int port, int ufd, int ms)
{
	struct sockaddr_in6 sa = sa_of(addr, port);
	int fd = socket_in(nsfd, SOCK_DGRAM);
	char got[64];
	bool ok = false;

	if (fd < 0)
		return false;
	while (recv(ufd, got, sizeof(got), 0) > 0)
		;   /* stale */
	if (sendto(fd, "dns?", 4, 0, (struct sockaddr *)&sa, sizeof(sa)) == 4 &&
	    wait_fd(ufd, POLLIN, ms))
		ok = recv(ufd, got, sizeof(got), 0) == 4 && memcmp(got, "dns?", 4) == 0;
	close(fd);
	return ok;
}

/* ---- the store's record ---- */

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The last action of kind in `hinomi actions --json` (json_decref it). */
static json_t *last_action(const char *kind)
{
	json_t *found = NULL;
	char *save = NULL;

	assert_int_equal(run(th_bin(), "actions", "--json", "--db", db, NULL), 0);
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);

		if (!o)
			fail_msg("not JSON from hinomi actions: %s", line);
		if (strcmp(jstr(o, "kind"), kind) == 0) {
			json_decref(found);
			found = o;
		} else {
			json_decref(o);
		}
	}
	return found;
}

static int count_actions(void)
{
	int n = 0;

	if (access(db, F_OK) < 0)
		return 0;     /* no store yet: nothing recorded */
	assert_int_equal(run(th_bin(), "actions", "--json", "--db", db, NULL), 0);
	for (const char *p = out; (p = strstr(p, "\"kind\":")); p++)
		n++;
	return n;
}

/* The table text hinomi must have applied for these --allow values (and
 * with resolv, --dns reading that file). */
static void expected_ruleset(const char *const *allow, const char *resolv, char *buf,
			     size_t n)
{
	struct hn_isolation *st = calloc(1, sizeof(*st));
	struct hn_strbuf sb;
	char why[128];

	assert_non_null(st);
	for (int i = 0; allow[i]; i++)
		assert_int_equal(hn_isolation_allow(st, allow[i], why, sizeof(why)), 0);
	if (resolv)
		assert_true(hn_isolation_dns(st, resolv, why, sizeof(why)) > 0);
	hn_strbuf_init(&sb);
	assert_int_equal(hn_isolation_ruleset(st, &sb), 0);
	snprintf(buf, n, "%s", sb.buf);
	hn_strbuf_release(&sb);
	free(st);
}

/* ---- setup ---- */

static int sh_ok(const char *first, ...)
{
	const char *argv[32];
	va_list ap;
	int n = 0, r;

	argv[n++] = first;
	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	r = runv(argv);
	if (r != 0)
		fprintf(stderr, "setup: %s %s ... failed (%d): %s\n", argv[0], argv[1], r, out);
	return r;
}

static int ns_open(const char *name)
{
	char p[128];

	snprintf(p, sizeof(p), "/run/netns/%s", name);
	return open(p, O_RDONLY | O_CLOEXEC);
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;      /* each test skips */
	if (th_scratch(scratch, sizeof(scratch), "isolate") < 0)
		return -1;
	snprintf(db, sizeof(db), "%s/hinomi.db", scratch);
	snprintf(state_dir, sizeof(state_dir), "%s/state", scratch);
	snprintf(state_file, sizeof(state_file), "%s/isolation.json", state_dir);
	snprintf(outfile, sizeof(outfile), "%s/out.txt", scratch);
	if (mkdir(state_dir, 0700) < 0)
		return -1;
	/* the state of every hinomi run here (and of the agent) is ours */
	setenv("HINOMI_STATE_DIR", state_dir, 1);
	unsetenv("HINOMI_DB");
	host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (host_ns < 0)
		return -1;
	snprintf(nsa, sizeof(nsa), "hn-iso-%d-a", (int)getpid());
	if (sh_ok("ip", "netns", "add", nsa, NULL)) {
		nsa[0] = '\0';
		return -1;
	}
	snprintf(nsb, sizeof(nsb), "hn-iso-%d-b", (int)getpid());
	if (sh_ok("ip", "netns", "add", nsb, NULL)) {
		nsb[0] = '\0';
		return -1;
	}
	if (sh_ok("ip", "-n", nsa, "link", "add", "va", "type", "veth", "peer", "name", "vb",
		  "netns", nsb, NULL) ||
	    sh_ok("ip", "-n", nsa, "addr", "add", A4 "/24", "dev", "va", NULL) ||
	    sh_ok("ip", "-n", nsb, "addr", "add", B4 "/24", "dev", "vb", NULL) ||
	    sh_ok("ip", "-n", nsa, "addr", "add", A6 "/64", "dev", "va", "nodad", NULL) ||
	    sh_ok("ip", "-n", nsb, "addr", "add", B6 "/64", "dev", "vb", "nodad", NULL) ||
	    sh_ok("ip", "-n", nsa, "link", "set", "lo", "up", NULL) ||
	    sh_ok("ip", "-n", nsb, "link", "set", "lo", "up", NULL) ||
	    sh_ok("ip", "-n", nsa, "link", "set", "va", "up", NULL) ||
	    sh_ok("ip", "-n", nsb, "link", "set", "vb", "up", NULL))
		return -1;
	fd_a = ns_open(nsa);
	fd_b = ns_open(nsb);
	if (fd_a < 0 || fd_b < 0)
		return -1;
	lb_allowed = listen_in(fd_b, SOCK_STREAM, P_ALLOWED);
	lb_other = listen_in(fd_b, SOCK_STREAM, P_OTHER);
	la_allowed = listen_in(fd_a, SOCK_STREAM, P_ALLOWED);
	la_other = listen_in(fd_a, SOCK_STREAM, P_OTHER);
	ub53 = listen_in(fd_b, SOCK_DGRAM, 53);
	ub54 = listen_in(fd_b, SOCK_DGRAM, 54);
	if (lb_allowed < 0 || lb_other < 0 || la_allowed < 0 || la_other < 0 || ub53 < 0 ||
	    ub54 < 0) {
		fprintf(stderr, "setup: listeners: %s\n", strerror(errno));
		return -1;
	}
	/* the link is up when A reaches B (bounded) */
	for (int i = 0; i < 50; i++) {
		if (reaches(fd_a, B4, P_OTHER, lb_other) && reaches(fd_a, B6, P_OTHER, lb_other))
			return 0;
		th_sleep_ms(100);
	}
	fprintf(stderr, "setup: A does not reach B over the veth pair\n");
	return -1;
}

/* SIGTERM, 30 s, SIGKILL; the agent's wait status (-1: none running). */
static int stop_agent(void)
{
	int st = -1;

	if (agent_pid <= 0)
		return -1;
	kill(agent_pid, SIGTERM);
	for (int i = 0; i < 300; i++) {
		if (waitpid(agent_pid, &st, WNOHANG) == agent_pid) {
			agent_pid = 0;
			return st;
		}
		th_sleep_ms(100);
	}
	kill(agent_pid, SIGKILL);
	waitpid(agent_pid, &st, 0);
	agent_pid = 0;
	return st;
}

static int group_teardown(void **state)
{
	int *fds[] = { &lb_allowed, &lb_other, &la_allowed, &la_other, &ub53, &ub54,
		       &fd_a, &fd_b, &host_ns };

	(void)state;
	stop_agent();
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	/* by the names made here, and only those */
	if (nsa[0])
		run("ip", "netns", "del", nsa, NULL);
	if (nsb[0])
		run("ip", "netns", "del", nsb, NULL);
	if (scratch[0] && !getenv("HINOMI_KEEP"))
		th_scratch_remove(scratch);
	return 0;
}

/* Each test starts and ends with A not isolated and without the test's
 * table. */
static int test_reset(void **state)
{
	(void)state;
	if (geteuid() != 0 || !nsa[0])
		return 0;
	stop_agent();
	hinomi_in(nsa, "unisolate", NULL);
	run("ip", "netns", "exec", nsa, "nft", "delete", "table", "inet", "hn_test_keep", NULL);
	return 0;
}

static void add_keep_table(void)
{
	assert_int_equal(run("ip", "netns", "exec", nsa, "nft", KEEP_TABLE, NULL), 0);
}

/* ---- tests ---- */

/* Bad input, a user who is not root, and nftables refused: each refused
 * with a clear message, and nothing changes (ruleset, state, store). */
static void refusals_change_nothing(void **state)
{
	static const char *const bad[] = {
		"10.213.77.300", "10.213.77.2:0", "10.213.77.2:65536", "[fd48::2]22",
		"fd48::2]:22", "host.example:22", "10.213.77.0/33", "0.0.0.0/0", "",
		"10.213.77.2:22;flush", NULL,
	};
	char before[8192], after[8192], msg[300];
	int actions0;
	pid_t p;
	int st;

	(void)state;
	if (geteuid() != 0)
		skip();
	add_keep_table();
	ruleset_a(before, sizeof(before));
	actions0 = count_actions();
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(hinomi_in(nsa, "isolate", "--allow", B4 ":" "8022", "--allow",
					   bad[i], NULL), 2);
		snprintf(msg, sizeof(msg), "--allow '%s': ", bad[i]);
		if (!strstr(out, msg) || !strstr(out, "nothing changed"))
			fail_msg("for '%s' the message was: %s", bad[i], out);
	}
	/* not root: refused before anything (inside A all the same) */
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		int fd = open(outfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0 ||
		    setns(fd_a, CLONE_NEWNET) < 0 || setgroups(0, NULL) < 0 ||
		    setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		execl(th_bin(), th_bin(), "isolate", "--allow", B4, "--db", db, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	slurp(outfile);
	assert_non_null(strstr(out, "must be run as root"));
	/* nftables refused: root of a user namespace has no say over A */
	assert_int_equal(run("ip", "netns", "exec", nsa, "unshare", "--user", "--map-root-user",
			     th_bin(), "isolate", "--allow", B4, "--db", db, NULL), 1);
	assert_non_null(strstr(out, "nftables is not usable here"));
	assert_non_null(strstr(out, "nothing changed"));

	ruleset_a(after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(access(state_file, F_OK), -1);
	assert_int_equal(count_actions(), actions0);
	assert_true(reaches(fd_a, B4, P_OTHER, lb_other));
	/* unisolate with nothing to undo: says so, changes and records nothing */
	assert_int_equal(hinomi_in(nsa, "unisolate", NULL), 0);
	assert_non_null(strstr(out, "not isolated; nothing changed"));
	ruleset_a(after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(count_actions(), actions0);
}

/* Isolate with one allowed address and port (IPv4 and IPv6): what stays
 * reachable, what is cut, established connections; the record; a new
 * allow list replacing the old; unisolate restoring the ruleset exactly. */
static void isolate_contains_and_undoes_exactly(void **state)
{
	static const char *const allow[] = { B4 ":8022", "[" B6 "]:8022", NULL };
	char before[8192], after[8192], want[8192];
	int keep[2], cut[2], keep6[2];
	json_t *act, *detail, *un;
	int64_t isolate_id;

	(void)state;
	if (geteuid() != 0)
		skip();
	add_keep_table();
	ruleset_a(before, sizeof(before));
	/* before: everything reachable */
	assert_true(reaches(fd_a, B4, P_ALLOWED, lb_allowed));
	assert_true(reaches(fd_a, B4, P_OTHER, lb_other));
	assert_true(reaches(fd_b, A4, P_OTHER, la_other));
	assert_true(connect_pair(fd_a, B4, P_ALLOWED, lb_allowed, keep));
	assert_true(connect_pair(fd_a, B6, P_ALLOWED, lb_allowed, keep6));
	assert_true(connect_pair(fd_a, B4, P_OTHER, lb_other, cut));

	assert_int_equal(hinomi_in(nsa, "isolate", "--allow", allow[0], "--allow", allow[1],
				   NULL), 0);
	assert_non_null(strstr(out, "network isolated (action #"));
	assert_true(table_in_a());
	assert_int_equal(access(state_file, F_OK), 0);

	/* the established connections: the allowed ones pass both ways, the
	 * other one no longer does in either direction */
	assert_true(passes(keep[0], keep[1], OK_MS));
	assert_true(passes(keep[1], keep[0], OK_MS));
	assert_true(passes(keep6[0], keep6[1], OK_MS));
	assert_true(passes(keep6[1], keep6[0], OK_MS));
	assert_false(passes(cut[0], cut[1], BLOCKED_MS));
	assert_false(passes(cut[1], cut[0], BLOCKED_MS));
	/* new connections: the allowed address and port only (IPv6 after
	 * forgetting the neighbours: discovery must still work) */
	assert_true(reaches(fd_a, B4, P_ALLOWED, lb_allowed));
	assert_int_equal(run("ip", "-n", nsa, "neigh", "flush", "all", NULL), 0);
	assert_true(reaches(fd_a, B6, P_ALLOWED, lb_allowed));
	assert_true(blocked(fd_a, B4, P_OTHER, lb_other));
	assert_true(blocked(fd_a, B6, P_OTHER, lb_other));
	/* inbound: the allowed peer to our allowed port only */
	assert_true(reaches(fd_b, A4, P_ALLOWED, la_allowed));
	assert_true(blocked(fd_b, A4, P_OTHER, la_other));
	assert_true(blocked(fd_b, A6, P_OTHER, la_other));
	/* loopback */
	assert_true(reaches(fd_a, "127.0.0.1", P_OTHER, la_other));
	assert_true(reaches(fd_a, "::1", P_OTHER, la_other));
	/* no DNS unless asked */
	assert_false(udp_passes(fd_a, B4, 53, ub53, BLOCKED_MS));

	/* the record: who, what, the exact table applied */
	act = last_action("isolate");
	assert_non_null(act);
	assert_string_equal(jstr(act, "status"), "done");
	assert_true(strncmp(jstr(act, "user"), "root", 4) == 0);
	assert_string_equal(jstr(act, "target"), B4 ":8022, [" B6 "]:8022");
	detail = json_object_get(act, "detail");
	assert_non_null(detail);
	assert_int_equal(json_array_size(json_object_get(detail, "allow")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(detail, "allow"), 0)),
			    B4 ":8022");
	assert_true(json_is_false(json_object_get(detail, "dns")));
	expected_ruleset(allow, NULL, want, sizeof(want));
	assert_string_equal(jstr(detail, "ruleset"), want);
	assert_null(json_object_get(detail, "replaced"));
	isolate_id = json_integer_value(json_object_get(act, "id"));
	json_decref(act);

	/* --status says so, with the table in place */
	assert_int_equal(hinomi_in(nsa, "isolate", "--status", "--json", NULL), 0);
	{
		json_t *s = json_loads(out, 0, NULL);

		assert_non_null(s);
		assert_true(json_is_true(json_object_get(s, "isolated")));
		assert_true(json_is_true(json_object_get(s, "table_present")));
		assert_int_equal(json_integer_value(json_object_get(s, "action")), isolate_id);
		assert_int_equal(json_array_size(json_object_get(s, "allow")), 2);
		json_decref(s);
	}

	/* a new allow list replaces the old one, in one step: now the other
	 * port (with DNS), and no longer the first */
	{
		char resolv[200], sh[1200];
		static const char *const allow2[] = { B4 ":8080", NULL };

		snprintf(resolv, sizeof(resolv), "%s/resolv.conf", scratch);
		assert_non_null(th_write_file(scratch, "resolv.conf", "nameserver " B4 "\n"));
		/* resolv.conf bound over in the private mount namespace of
		 * this `ip netns exec` only */
		snprintf(sh, sizeof(sh), "mount --bind '%s' /etc/resolv.conf && exec '%s' isolate "
			 "--allow " B4 ":8080 --dns --db '%s'", resolv, th_bin(), db);
		assert_int_equal(run("ip", "netns", "exec", nsa, "sh", "-c", sh, NULL), 0);
		assert_non_null(strstr(out, "replacing the table in force"));
		assert_non_null(strstr(out, "no longer allowed: " B4 ":8022"));
		assert_true(reaches(fd_a, B4, P_OTHER, lb_other));
		assert_true(blocked(fd_a, B4, P_ALLOWED, lb_allowed));
		assert_false(passes(keep[0], keep[1], BLOCKED_MS));
		assert_true(udp_passes(fd_a, B4, 53, ub53, OK_MS));
		assert_false(udp_passes(fd_a, B4, 54, ub54, BLOCKED_MS));
		act = last_action("isolate");
		assert_non_null(act);
		detail = json_object_get(act, "detail");
		assert_true(json_is_true(json_object_get(detail, "dns")));
		assert_string_equal(json_string_value(json_array_get(
			json_object_get(detail, "dns_servers"), 0)), B4 ":53");
		assert_non_null(strstr(jstr(detail, "replaced"), "th dport 8022 accept"));
		expected_ruleset(allow2, resolv, want, sizeof(want));
		assert_string_equal(jstr(detail, "ruleset"), want);
		assert_null(strstr(want, "8022"));
		assert_non_null(strstr(want, "ip daddr " B4 " meta l4proto { tcp, udp } th dport 53"
				       " accept"));
		isolate_id = json_integer_value(json_object_get(act, "id"));
		json_decref(act);
	}

	/* exact undo: the ruleset as it was, byte for byte; reachable again */
	assert_int_equal(hinomi_in(nsa, "unisolate", NULL), 0);
	assert_non_null(strstr(out, "network isolation removed"));
	ruleset_a(after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(access(state_file, F_OK), -1);
	assert_false(table_in_a());
	assert_true(reaches(fd_a, B4, P_ALLOWED, lb_allowed));
	assert_true(reaches(fd_a, B4, P_OTHER, lb_other));
	assert_true(reaches(fd_b, A4, P_OTHER, la_other));
	un = last_action("unisolate");
	assert_non_null(un);
	assert_string_equal(jstr(un, "status"), "done");
	assert_int_equal(json_integer_value(json_object_get(un, "undo_of")), isolate_id);
	detail = json_object_get(un, "detail");
	assert_true(json_is_true(json_object_get(detail, "table_deleted")));
	assert_true(json_is_true(json_object_get(detail, "state_removed")));
	assert_non_null(strstr(jstr(detail, "deleted_ruleset"), "table inet hinomi_isolation {"));
	json_decref(un);
	for (int i = 0; i < 2; i++) {
		close(keep[i]);
		close(keep6[i]);
		close(cut[i]);
	}
}

/* The table lost (what a reboot does: `nft flush ruleset`), the agent
 * started inside A puts it back at once, records it, and says so; then
 * unisolate still restores the ruleset exactly. */
static void agent_restores_after_flush(void **state)
{
	char before[8192], after[8192], ready[200], log[200], buf[8192];
	json_t *act;
	int fd, st;

	(void)state;
	if (geteuid() != 0)
		skip();
	add_keep_table();
	ruleset_a(before, sizeof(before));
	assert_int_equal(hinomi_in(nsa, "isolate", "--allow", B4 ":8022", NULL), 0);
	assert_true(blocked(fd_a, B4, P_OTHER, lb_other));

	assert_int_equal(run("ip", "netns", "exec", nsa, "nft", "flush", "ruleset", NULL), 0);
	assert_false(table_in_a());
	assert_true(reaches(fd_a, B4, P_OTHER, lb_other));
	add_keep_table();          /* the flush took it too */

	snprintf(ready, sizeof(ready), "%s/ready", scratch);
	snprintf(log, sizeof(log), "%s/agent.log", scratch);
	unlink(ready);
	agent_pid = fork();
	assert_true(agent_pid >= 0);
	if (agent_pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* ip execs the agent in place: agent_pid is the agent's */
		execlp("ip", "ip", "netns", "exec", nsa, th_bin(), "agent", "--db", db,
		       "--ready-file", ready, "--quiet", "--no-rules", "--no-ioc", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1200 && access(ready, F_OK) < 0; i++) {
		int st;

		if (waitpid(agent_pid, &st, WNOHANG) == agent_pid) {
			agent_pid = 0;
			slurp(log);
			fail_msg("the agent exited before ready: %s", out);
		}
		th_sleep_ms(100);
	}
	if (access(ready, F_OK) < 0) {
		slurp(log);
		fail_msg("the agent was not ready in 120 s: %s", out);
	}
	assert_true(table_in_a());
	assert_true(blocked(fd_a, B4, P_OTHER, lb_other));
	assert_true(reaches(fd_a, B4, P_ALLOWED, lb_allowed));
	slurp(log);
	copy_out(buf, sizeof(buf));
	if (!strstr(buf, "hinomi agent: network isolation restored (table inet hinomi_isolation;"
			 " allowed: " B4 ":8022;"))
		fail_msg("the agent's log: %s", buf);
	assert_int_equal(run(th_bin(), "status", "--json", "--db", db, NULL), 0);
	assert_non_null(strstr(out, "\"isolated\":true"));
	act = last_action("isolate");
	assert_non_null(act);
	assert_string_equal(jstr(act, "user"), "hinomi agent");
	assert_non_null(strstr(jstr(act, "summary"), "restored at the agent's start"));
	json_decref(act);

	/* the isolation does not depend on the agent running; a clean stop
	 * (under the sanitizers: no leak either) */
	st = stop_agent();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		slurp(log);
		fail_msg("the agent stopped with status 0x%x: %s", st, out);
	}
	assert_true(table_in_a());
	assert_true(blocked(fd_a, B4, P_OTHER, lb_other));

	assert_int_equal(hinomi_in(nsa, "unisolate", NULL), 0);
	ruleset_a(after, sizeof(after));
	assert_string_equal(after, before);
	assert_true(reaches(fd_a, B4, P_OTHER, lb_other));
	/* and an agent started now restores nothing */
	assert_int_equal(access(state_file, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(refusals_change_nothing, test_reset, test_reset),
		cmocka_unit_test_setup_teardown(isolate_contains_and_undoes_exactly, test_reset,
						test_reset),
		cmocka_unit_test_setup_teardown(agent_restores_after_flush, test_reset, test_reset),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
