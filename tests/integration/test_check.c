/*
 * test_check.c - `hinomi check` against real suspicious things made for
 * the test: a process run from a copy of sleep in a scratch directory
 * under /tmp, then deleted; sleep run from a memfd (memfd_create +
 * fexecve); a copy of this test program, deleted, listening on 127.0.0.1
 * and named in an IOC list by its SHA-256; sleep with LD_PRELOAD of a
 * library copied into the scratch directory; a setuid file and a setuid
 * copy of dash in a scratch directory (--suid-root); and a fake root tree
 * (--root) with a new cron file running from /tmp, an old one, two homes'
 * authorized_keys and an /etc/ld.so.preload.  Each gives exactly its
 * finding with its pid, port or path; the persistence entries carry owner,
 * mtime and new; the verdict is "compromised" (exit 4) in JSON (parsed)
 * and text; the run is recorded as an action.  Once everything the test
 * started is stopped (by pid), a run on a clean fake tree names none of it.
 *
 * Needs root (setuid files, reading other processes).  Every wait is
 * bounded; only processes this test started are signalled; only the
 * scratch directory is written.
 */
#include "lib/harness.h"
#include "enrich/hasher.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>

extern char **environ;

static char scratch[256];
static pid_t p_dropper, p_memfd, p_implant, p_preload;
static unsigned implant_port;
static char implant_sha[65];

/* ---- the listener child: a copy of this program ---- */

static int listener_main(const char *port_file)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	char tmp[512], buf[32];
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	snprintf(buf, sizeof(buf), "%u\n", ntohs(a.sin_port));
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, strlen(buf)) < 0 || close(fd) < 0 || rename(tmp, port_file))
		return 1;
	for (int i = 0; i < 180; i++)   /* bounded: gone in 3 minutes at most */
		sleep(1);
	return 0;
}

/* ---- helpers ---- */

static pid_t spawn(const char *const *argv, char *const *envp)
{
	pid_t p = fork();

	if (p == 0) {
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(argv[0], (char *const *)argv, envp ? envp : environ);
		_exit(127);
	}
	return p;
}

/* Wait (5 s at most, 20 s under a slow start) until pid runs a program
 * whose /proc exe link holds want. */
static bool wait_exe(pid_t pid, const char *want, int secs)
{
	char path[64], link[4096];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < secs * 50; i++) {
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (strstr(link, want))
				return true;
		}
		th_sleep_ms(20);
	}
	return false;
}

static int copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
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
	if (close(out) < 0 || n < 0)
		return -1;
	return chmod(dst, mode);
}

static const char *sp(const char *fmt, ...)
{
	static char bufs[8][1024];
	static int k;
	char *b = bufs[k++ % 8];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, 1024, fmt, ap);
	va_end(ap);
	return b;
}

static void mkdirs(const char *path)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void write_in(const char *dir, const char *rel, const char *text)
{
	char path[1024], d[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(d, sizeof(d), "%s", path);
	*strrchr(d, '/') = '\0';
	mkdirs(d);
	assert_non_null(th_write_file(d, strrchr(path, '/') + 1, text));
}

/* Run hinomi check with args (NULL-terminated); exit status, stdout in
 * scratch/out. */
static int check(const char *a0, ...)
{
	const char *argv[24];
	va_list ap;
	int n = 0, st;

	argv[n++] = th_bin();
	argv[n++] = "check";
	argv[n++] = a0;
	va_start(ap, a0);
	while (n < 21) {
		const char *s = va_arg(ap, const char *);
		if (!s)
			break;
		argv[n++] = s;
	}
	va_end(ap);
	argv[n++] = "--db";
	argv[n++] = sp("%s/store.db", scratch);
	argv[n] = NULL;
	st = th_run_to(argv, sp("%s/out", scratch), sp("%s/err", scratch), 180);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static json_t *load_out(void)
{
	json_error_t e;
	json_t *j = json_load_file(sp("%s/out", scratch), 0, &e);

	if (!j)
		fprintf(stderr, "JSON: %s at line %d\n", e.text, e.line);
	return j;
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The finding of rule with pid (0: any) and path (NULL: any). */
static json_t *jfind(json_t *report, const char *rule, pid_t pid, const char *path)
{
	json_t *fs = json_object_get(report, "findings"), *f;
	size_t i;

	json_array_foreach(fs, i, f) {
		if (strcmp(jstr(f, "rule"), rule))
			continue;
		if (pid && json_integer_value(json_object_get(f, "pid")) != pid)
			continue;
		if (path && (!jstr(f, "path") || strcmp(jstr(f, "path"), path)))
			continue;
		return f;
	}
	return NULL;
}

static json_t *jentry(json_t *report, const char *path)
{
	json_t *es = json_object_get(report, "persistence"), *e;
	size_t i;

	json_array_foreach(es, i, e)
		if (!strcmp(jstr(e, "path"), path))
			return e;
	return NULL;
}

static void stop(pid_t *p)
{
	if (*p > 0) {
		kill(*p, SIGKILL);
		th_reap(*p);
		*p = 0;
	}
}

static int group_setup(void **state)
{
	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "test_check needs root\n");
		return -1;
	}
	return th_scratch(scratch, sizeof(scratch), "check");
}

static int group_teardown(void **state)
{
	(void)state;
	stop(&p_dropper);
	stop(&p_memfd);
	stop(&p_implant);
	stop(&p_preload);
	if (scratch[0])
		th_scratch_remove(scratch);
	return 0;
}

/* ---- the suspicious things ---- */

static void start_dropper(void)
{
	const char *bin = sp("%s/dropper", scratch);
	const char *argv[] = { bin, "300", NULL };

	assert_int_equal(copy_file("/bin/sleep", bin, 0755), 0);
	p_dropper = spawn(argv, NULL);
	assert_true(p_dropper > 0);
	assert_true(wait_exe(p_dropper, "/dropper", 5));
	assert_int_equal(unlink(bin), 0);
}

static void start_memfd(void)
{
	p_memfd = fork();
	assert_true(p_memfd >= 0);
	if (p_memfd == 0) {
		static char *const argv[] = { "sleep", "300", NULL };
		char buf[65536];
		int in = open("/bin/sleep", O_RDONLY), fd = memfd_create("hn-check-memfd", 0);
		ssize_t n;
		if (in < 0 || fd < 0)
			_exit(126);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				_exit(126);
		close(in);
		fexecve(fd, argv, environ);
		_exit(127);
	}
	assert_true(wait_exe(p_memfd, "/memfd:hn-check-memfd", 5));
}

static void start_implant(const char *self)
{
	const char *bin = sp("%s/implant", scratch), *port = sp("%s/port", scratch);
	const char *argv[] = { bin, "--hn-listen", port, NULL };
	char buf[32] = "";
	FILE *f = NULL;

	assert_int_equal(copy_file(self, bin, 0755), 0);
	assert_int_equal(hn_sha256_file(bin, 1ull << 31, implant_sha), 0);
	p_implant = spawn(argv, NULL);
	assert_true(p_implant > 0);
	for (int i = 0; i < 1000 && !(f = fopen(port, "r")); i++)   /* 20 s at most */
		th_sleep_ms(20);
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	implant_port = (unsigned)strtoul(buf, NULL, 10);
	assert_true(implant_port > 0 && implant_port < 65536);
	assert_int_equal(unlink(bin), 0);
	/* the IOC list naming it */
	assert_non_null(th_write_file(scratch, "implant-iocs.csv",
				      sp("sha256,%s,hinomi check test implant,high\n", implant_sha)));
}

static void start_preload(void)
{
	static const char *const libs[] = {
		"/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6",
		"/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib/aarch64-linux-gnu/libm.so.6",
		"/usr/lib64/libm.so.6", "/lib64/libm.so.6",
	};
	const char *lib = sp("%s/libhook.so", scratch);
	const char *argv[] = { "/bin/sleep", "300", NULL };
	char env0[600];
	char *envp[] = { env0, "PATH=/usr/bin:/bin", NULL };

	/* a real library, so that the loader takes it; a missing one still
	 * leaves the variable in the environment */
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
		if (copy_file(libs[i], lib, 0755) == 0)
			break;
	snprintf(env0, sizeof(env0), "LD_PRELOAD=%s", lib);
	p_preload = spawn(argv, envp);
	assert_true(p_preload > 0);
	assert_true(wait_exe(p_preload, "sleep", 5));
}

static void make_suid(void)
{
	mkdirs(sp("%s/suid", scratch));
	assert_int_equal(copy_file("/bin/true", sp("%s/suid/evilsu", scratch), 04755), 0);
	assert_int_equal(copy_file("/bin/dash", sp("%s/suid/rootsh", scratch), 04755), 0);
}

static void make_root(void)
{
	const char *root = sp("%s/root", scratch);
	struct timeval old[2] = { { time(NULL) - 60 * 86400, 0 }, { time(NULL) - 60 * 86400, 0 } };

	write_in(root, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
		 "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n");
	write_in(root, "etc/cron.d/backdoor", "* * * * * root /tmp/.hn/run >/dev/null 2>&1\n");
	write_in(root, "etc/cron.d/old", "0 3 * * * root /usr/bin/true\n");
	assert_int_equal(utimes(sp("%s/etc/cron.d/old", root), old), 0);
	write_in(root, "root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA attacker\n");
	write_in(root, "home/alice/.ssh/authorized_keys",
		 "# alice\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAB alice@laptop\n"
		 "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAB alice@desk\n");
	write_in(root, "etc/ld.so.preload", "/usr/lib/hn-test-hook.so\n");
}

/* ---- tests ---- */

static json_t *report;

static void a_compromised_host_is_called_so(void **state)
{
	json_t *f, *e, *ev;
	time_t now = time(NULL);
	char *text;

	(void)state;
	start_dropper();
	start_memfd();
	start_implant("/proc/self/exe");
	start_preload();
	make_suid();
	make_root();

	/* a YARA rule that matches the implant's bytes (its option's name) */
	assert_int_equal(mkdir(sp("%s/yara", scratch), 0700), 0);
	assert_non_null(th_write_file(sp("%s/yara", scratch), "test.yar",
				      "rule hn_check_test_implant {\n"
				      "  meta: severity = \"high\"\n"
				      "        description = \"hinomi check test: the implant\"\n"
				      "  strings: $a = \"--hn-listen\"\n"
				      "  condition: $a\n}\n"));
	assert_int_equal(check("--json", "--root", sp("%s/root", scratch), "--suid-root",
			       sp("%s/suid", scratch), "--ioc",
			       sp("%s/implant-iocs.csv", scratch), "--yara",
			       sp("%s/yara", scratch), NULL), 4);
	report = load_out();
	assert_non_null(report);
	assert_string_equal(jstr(report, "verdict"), "compromised");

	/* processes */
	f = jfind(report, "proc.deleted_exe", p_dropper, sp("%s/dropper", scratch));
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "high");
	f = jfind(report, "proc.memfd_exe", p_memfd, NULL);
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "medium");
	assert_non_null(strstr(jstr(json_object_get(f, "evidence"), "exe"),
			       "/memfd:hn-check-memfd"));
	f = jfind(report, "proc.ld_preload", p_preload, NULL);
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "high");
	assert_string_equal(jstr(json_object_get(f, "evidence"), "environment"),
			    sp("LD_PRELOAD=%s/libhook.so", scratch));
	assert_non_null(jfind(report, "proc.deleted_exe", p_implant, sp("%s/implant", scratch)));

	/* the implant: its listener, and its hash in the IOC list */
	f = jfind(report, "net.listener", p_implant, NULL);
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "critical");
	assert_int_equal(json_integer_value(json_object_get(f, "port")), implant_port);
	assert_true(json_is_true(json_object_get(f, "strong")));
	assert_true(json_is_true(json_object_get(f, "driver")));
	assert_string_equal(jstr(json_object_get(f, "evidence"), "socket"),
			    sp("tcp 127.0.0.1:%u", implant_port));
	f = jfind(report, "ioc.exe_hash", p_implant, NULL);
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "high");
	ev = json_object_get(f, "evidence");
	assert_string_equal(jstr(ev, "sha256"), implant_sha);
	assert_string_equal(jstr(ev, "list"), "implant-iocs");
	assert_string_equal(jstr(ev, "description"), "hinomi check test implant");

	/* YARA on the running executables: the implant (deleted, read
	 * through /proc) matches the rule */
	f = jfind(report, "yara.match", p_implant, NULL);
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "high");
	assert_non_null(strstr(jstr(json_object_get(f, "evidence"), "rule"),
			       "hn_check_test_implant"));
	assert_null(jfind(report, "yara.unavailable", 0, NULL));

	/* setuid files */
	f = jfind(report, "suid.outside", 0, sp("%s/suid/evilsu", scratch));
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "high");
	f = jfind(report, "suid.shell_copy", 0, sp("%s/suid/rootsh", scratch));
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "critical");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(report, "stats"),
							     "suid_found")), 2);

	/* persistence entries, with owner, mtime and new */
	e = jentry(report, "/etc/cron.d/backdoor");
	assert_non_null(e);
	assert_string_equal(jstr(e, "kind"), "cron");
	assert_string_equal(jstr(e, "owner"), "root");
	assert_true(json_is_true(json_object_get(e, "new")));
	assert_true(json_is_null(json_object_get(e, "package")));
	assert_true(json_integer_value(json_object_get(e, "mtime_ns")) / 1000000000 >= now - 600);
	assert_non_null(jstr(e, "mtime"));
	e = jentry(report, "/etc/cron.d/old");
	assert_non_null(e);
	assert_false(json_is_true(json_object_get(e, "new")));
	assert_true(json_integer_value(json_object_get(e, "mtime_ns")) / 1000000000 <
		    now - 59 * 86400);
	e = jentry(report, "/root/.ssh/authorized_keys");
	assert_non_null(e);
	assert_string_equal(jstr(e, "kind"), "authorized_keys");
	assert_true(json_is_true(json_object_get(e, "new")));
	assert_string_equal(jstr(e, "note"), "1 key");
	e = jentry(report, "/home/alice/.ssh/authorized_keys");
	assert_non_null(e);
	assert_string_equal(jstr(e, "note"), "2 keys");
	assert_non_null(jentry(report, "/etc/ld.so.preload"));
	f = jfind(report, "persist.payload", 0, "/etc/cron.d/backdoor");
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "high");
	assert_true(json_is_true(json_object_get(f, "new")));
	assert_null(jfind(report, "persist.new", 0, "/etc/cron.d/old"));
	f = jfind(report, "persist.ld_so_preload", 0, "/etc/ld.so.preload");
	assert_non_null(f);
	assert_string_equal(jstr(f, "severity"), "critical");

	/* the verdict rests on the strong ones */
	assert_true(json_integer_value(json_object_get(json_object_get(report, "counts"),
							"critical")) >= 3);
	assert_true(json_array_size(json_object_get(report, "driven_by")) >= 5);

	/* the text report says the same first */
	assert_int_equal(check("--root", sp("%s/root", scratch), "--suid-root",
			       sp("%s/suid", scratch), "--ioc",
			       sp("%s/implant-iocs.csv", scratch), NULL), 4);
	text = NULL;
	{
		FILE *fp = fopen(sp("%s/out", scratch), "r");
		static char buf[1 << 20];
		size_t n = fp ? fread(buf, 1, sizeof(buf) - 1, fp) : 0;
		if (fp)
			fclose(fp);
		buf[n] = '\0';
		text = buf;
	}
	assert_non_null(strstr(text, "VERDICT: COMPROMISED"));
	assert_true(strstr(text, "VERDICT") < strstr(text, "PROCESSES"));
	assert_non_null(strstr(text, sp("pid %d", (int)p_implant)));
	assert_non_null(strstr(text, "/etc/cron.d/backdoor"));
}

struct act_seen {
	int checks;
	char summary[256];
};

static int on_action(const struct hn_action *a, void *arg)
{
	struct act_seen *s = arg;

	if (!strcmp(a->kind, "check") && !strcmp(a->status, "done")) {
		s->checks++;
		snprintf(s->summary, sizeof(s->summary), "%s", a->summary ? a->summary : "");
	}
	return 0;
}

static void the_run_is_recorded(void **state)
{
	struct hn_store_opts o = { .path = sp("%s/store.db", scratch), .readonly = true };
	struct act_seen seen = { 0 };
	struct hn_store *s = NULL;

	(void)state;
	assert_int_equal(hn_store_open(&o, &s), 0);
	assert_int_equal(hn_store_actions(s, 0, 0, on_action, &seen), 0);
	hn_store_close(s);
	assert_int_equal(seen.checks, 2);
	assert_non_null(strstr(seen.summary, "verdict compromised:"));
}

static bool names_ours(json_t *f)
{
	pid_t ours[] = { p_dropper, p_memfd, p_implant, p_preload };
	json_int_t pid = json_integer_value(json_object_get(f, "pid"));
	const char *what = jstr(f, "what"), *path = jstr(f, "path");

	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		if (pid && pid == ours[i])
			return true;
	return (what && strstr(what, scratch)) || (path && strstr(path, scratch)) ||
	       (what && strstr(what, "hn-check-memfd"));
}

static void after_cleanup_nothing_of_ours(void **state)
{
	const char *clean = sp("%s/clean", scratch), *csuid = sp("%s/cleansuid", scratch);
	json_t *f, *sock;
	size_t i;
	int rc;

	(void)state;
	/* stop what the test started, by pid; keep the pids to look for */
	{
		pid_t keep[] = { p_dropper, p_memfd, p_implant, p_preload };
		stop(&p_dropper);
		stop(&p_memfd);
		stop(&p_implant);
		stop(&p_preload);
		p_dropper = keep[0];
		p_memfd = keep[1];
		p_implant = keep[2];
		p_preload = keep[3];
	}
	write_in(clean, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	mkdirs(csuid);
	rc = check("--json", "--root", clean, "--suid-root", csuid, NULL);
	assert_true(rc == 0 || rc == 3 || rc == 4);
	json_decref(report);
	report = load_out();
	assert_non_null(report);
	json_array_foreach(json_object_get(report, "findings"), i, f)
		assert_false(names_ours(f));
	json_array_foreach(json_object_get(report, "sockets"), i, sock)
		assert_int_not_equal(json_integer_value(json_object_get(sock, "port")),
				     implant_port ? implant_port : 1u << 20);
	/* the clean tree's one file; loaded modules are the host's own */
	assert_non_null(jentry(report, "/etc/passwd"));
	json_array_foreach(json_object_get(report, "persistence"), i, f)
		assert_true(!strcmp(jstr(f, "path"), "/etc/passwd") ||
			    !strcmp(jstr(f, "kind"), "kernel_module"));
	json_decref(report);
	report = NULL;
	p_dropper = p_memfd = p_implant = p_preload = 0;   /* gone: nothing to stop */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_compromised_host_is_called_so),
		cmocka_unit_test(the_run_is_recorded),
		cmocka_unit_test(after_cleanup_nothing_of_ours),
	};

	if (argc >= 3 && !strcmp(argv[1], "--hn-listen"))
		return listener_main(argv[2]);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
