/*
 * latency.c - `make bench`'s detection latency: from a program's exec to
 * the agent printing its alert.
 *
 *   latency HINOMI DIR N LOAD [RULES...]
 *
 * Starts `HINOMI agent` on a store in DIR with the given rules (every
 * --rules; none: the agent's default) and its output on a pipe, and copies
 * /bin/true to DIR/lat-true (DIR is under /tmp: our rule "Execution From a
 * World-Writable Temporary Directory" fires on it).  Then N times, 10 to
 * 40 ms apart (not in step with any timer of the agent): forks a child
 * that forks a grandchild, which writes the time (CLOCK_MONOTONIC) into
 * shared memory and execs DIR/lat-true; the parent reads the agent's
 * output until the ALERT line that names the grandchild's pid and takes
 * the time again.  A new parent each time makes each exec an alert group
 * of its own, so each is printed.  An alert not printed within 2 s is
 * counted missed.  LOAD 1 runs an exec storm meanwhile (a child running
 * /bin/true back to back, at most 60 s or 300,000 times).
 *
 * Prints one line: "LATENCY load=L n=N missed=M p50_ms=.. p99_ms=..
 * max_ms=..".  Bounded: every loop has a count, every wait a deadline; the
 * agent and the storm are this program's children, ended by pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_N 2000
#define WAIT_MS 2000
#define READY_S 60

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

/* The agent's output: lines into line[], one at a time. */
struct reader {
	int fd;
	char buf[65536];
	size_t len;
};

/* The next line (without its newline) within deadline (ms, monotonic),
 * or NULL. */
static const char *next_line(struct reader *r, double deadline, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			size_t c = n < cap - 1 ? n : cap - 1;
			memcpy(line, r->buf, c);
			line[c] = '\0';
			memmove(r->buf, nl + 1, r->len - n - 1);
			r->len -= n + 1;
			return line;
		}
		if (r->len == sizeof(r->buf))
			r->len = 0;   /* a line longer than the buffer: drop it */
		double left = deadline - now_ms();
		if (left <= 0)
			return NULL;
		struct pollfd p = { r->fd, POLLIN, 0 };
		int k = poll(&p, 1, (int)left + 1);
		if (k < 0 && errno != EINTR)
			return NULL;
		if (k <= 0)
			continue;
		ssize_t got = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
		if (got <= 0)
			return NULL;   /* the agent is gone */
		r->len += (size_t)got;
	}
}

int main(int argc, char **argv)
{
	const char *hinomi, *dir;
	char db[4096], ready[4096], exe[4096], line[1024];
	const char *agent_argv[64];
	unsigned n, load, na = 0, missed = 0, got = 0;
	double *t0, lat[MAX_N];
	pid_t agent, storm = 0;
	int pfd[2];
	struct reader rd = { 0 };

	if (argc < 5) {
		fprintf(stderr, "usage: latency HINOMI DIR N LOAD [RULES...]\n");
		return 2;
	}
	hinomi = argv[1];
	dir = argv[2];
	n = (unsigned)atoi(argv[3]);
	load = (unsigned)atoi(argv[4]);
	if (!n || n > MAX_N || argc - 5 > 25) {
		fprintf(stderr, "latency: N wants 1..%d, at most 25 rule paths\n", MAX_N);
		return 2;
	}
	snprintf(db, sizeof(db), "%s/lat.db", dir);
	snprintf(ready, sizeof(ready), "%s/lat.ready", dir);
	snprintf(exe, sizeof(exe), "%s/lat-true", dir);
	if (copy_file("/bin/true", exe) < 0) {
		fprintf(stderr, "latency: cannot copy /bin/true to %s\n", exe);
		return 1;
	}
	unlink(ready);
	agent_argv[na++] = hinomi;
	agent_argv[na++] = "agent";
	agent_argv[na++] = "--db";
	agent_argv[na++] = db;
	agent_argv[na++] = "--ready-file";
	agent_argv[na++] = ready;
	agent_argv[na++] = "--duration";
	agent_argv[na++] = "600";
	for (int i = 5; i < argc; i++) {
		agent_argv[na++] = "--rules";
		agent_argv[na++] = argv[i];
	}
	agent_argv[na] = NULL;
	t0 = mmap(NULL, sizeof(double) * MAX_N, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  -1, 0);
	if (t0 == MAP_FAILED || pipe2(pfd, O_CLOEXEC) < 0)
		return 1;
	agent = fork();
	if (agent < 0)
		return 1;
	if (agent == 0) {
		dup2(pfd[1], 1);
		execv(hinomi, (char *const *)agent_argv);
		_exit(127);
	}
	close(pfd[1]);
	rd.fd = pfd[0];
	for (unsigned k = 0; access(ready, F_OK) != 0; k++) {
		if (k >= READY_S * 20 || waitpid(agent, NULL, WNOHANG) == agent) {
			fprintf(stderr, "latency: the agent did not start\n");
			kill(agent, SIGKILL);
			waitpid(agent, NULL, 0);
			return 1;
		}
		sleep_ms(50);
	}
	if (load) {
		storm = fork();
		if (storm == 0) {
			double end = now_ms() + 60000;
			for (unsigned k = 0; k < 300000 && now_ms() < end; k++) {
				pid_t c = fork();
				if (c == 0) {
					execl("/bin/true", "true", (char *)NULL);
					_exit(127);
				}
				if (c > 0)
					waitpid(c, NULL, 0);
			}
			_exit(0);
		}
		sleep_ms(500);   /* the storm under way */
	}
	srand(12345);
	for (unsigned i = 0; i < n; i++) {
		pid_t mid, leaf = 0;
		int lp[2];
		char want[64];
		int found = 0;

		sleep_ms(10 + (unsigned)(rand() % 31));
		if (pipe2(lp, O_CLOEXEC) < 0)
			break;
		mid = fork();
		if (mid == 0) {
			pid_t c = fork();
			if (c == 0) {
				t0[i] = now_ms();
				execl(exe, "lat-true", "hinomi-bench-latency", (char *)NULL);
				_exit(127);
			}
			if (write(lp[1], &c, sizeof(c)) != sizeof(c))
				_exit(1);
			if (c > 0)
				waitpid(c, NULL, 0);
			_exit(0);
		}
		close(lp[1]);
		if (mid < 0 || read(lp[0], &leaf, sizeof(leaf)) != sizeof(leaf) || leaf <= 0) {
			close(lp[0]);
			missed++;
			if (mid > 0)
				waitpid(mid, NULL, 0);
			continue;
		}
		close(lp[0]);
		snprintf(want, sizeof(want), "(pid %d ", (int)leaf);
		double deadline = now_ms() + WAIT_MS;
		while (!found && next_line(&rd, deadline, line, sizeof(line)))
			if (!strncmp(line, "ALERT ", 6) && strstr(line, want)) {
				lat[got++] = now_ms() - t0[i];
				found = 1;
			}
		if (!found)
			missed++;
		waitpid(mid, NULL, 0);
	}
	if (storm > 0) {
		kill(storm, SIGKILL);
		waitpid(storm, NULL, 0);
	}
	kill(agent, SIGTERM);
	for (unsigned k = 0; k < 200 && waitpid(agent, NULL, WNOHANG) != agent; k++)
		sleep_ms(50);
	if (waitpid(agent, NULL, WNOHANG) == 0) {
		kill(agent, SIGKILL);
		waitpid(agent, NULL, 0);
	}
	qsort(lat, got, sizeof(lat[0]), cmp_double);
	printf("LATENCY load=%u n=%u missed=%u p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", load, n,
	       missed, got ? lat[got / 2] : 0.0, got ? lat[(size_t)((got - 1) * 0.99)] : 0.0,
	       got ? lat[got - 1] : 0.0);
	return 0;
}
