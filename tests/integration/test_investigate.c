/*
 * test_investigate.c - `hinomi investigate` tells the story of a real
 * intrusion on this host, recorded by the real agent (its eBPF sensor and
 * our rules): tests/scenarios/intrusion.sh runs a network service that
 * hands a shell to whoever connects, an attacker who downloads a payload
 * with curl and runs it, and a payload that persists (cron, authorized_keys,
 * .bashrc), calls its C2 and leaves a dropper that removes itself, while a
 * benign process works next to it.  The group setup runs it once; then:
 *
 *   - investigating the payload's process (its entity id) names the
 *     service as the way in (network_service, its pid and interpreter, the
 *     attacker's address), the shell it started as the malicious root,
 *     curl's download of the payload (from the HTTP server's port) as the
 *     delivery; the path is in time order and goes accept -> download ->
 *     run of the payload; the scope holds the three persistence points, the
 *     C2 connection, the dropper's deletion, the payload and the dropper,
 *     and nothing of the benign process;
 *   - investigating the alert our rules raised on the payload (the cron
 *     file, else the authorized_keys write) names the same entry and root;
 *   - a target that is nothing, or nothing the store knows, fails with
 *     exit 1 or 2 and a message on stderr that names it.
 *
 * What is checked is the JSON of `hinomi investigate --json` (the output
 * contract, docs/INVESTIGATE.md), against what the store recorded and
 * what the scenario printed (KEY=VALUE lines: pids, ports, paths).  Every
 * mismatch is printed, then the test fails once; HINOMI_KEEP=1 keeps the
 * agent's directory (store, scenario output, each investigate's output).
 * The graph (nodes with roles, edges between them) and the plain-words
 * root cause are checked too.
 *
 * Needs root (the agent; the scenario writes a file in /etc/cron.d).
 * Safety: 127.0.0.1 only; the scenario runs under timeout(1) and ends what
 * it started by pid; the cron file is removed by the scenario (trap), again
 * here after it ran, in the teardown, and on SIGTERM/SIGINT/SIGHUP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "event/event.h"
#include "lib/harness.h"

#define SCENARIO "tests/scenarios/intrusion.sh"
#define SCENARIO_TIMEOUT "170"   /* s: timeout(1)'s deadline for the scenario */
#define RULE_CRON "546977a7-78cc-440d-b5f8-fb7562ca345e"     /* Cron Job Written */
#define RULE_KEYS "b84bc687-2618-4037-ad2e-69630571f9e1"     /* SSH Authorized Keys Written */

static struct th_agent a;
static struct hn_store *s;
static char dir[256];            /* the scenario's scratch directory */
static char cron[320];           /* the cron file the payload writes */
static char shared[320];         /* the cron file it adds a line to */
static bool cron_d_missing;      /* /etc/cron.d was not there before */
static bool not_root;
static char why[1024];           /* why the story cannot be checked; "" when it can */

/* What the scenario printed. */
static struct kv {
	char key[32];
	char val[512];
} kvs[64];
static int nkv;

/* What the store recorded of it. */
static uint64_t e_service, e_shell, e_payload, e_dropper, e_benign, e_curl;
static uint64_t t_accept, t_delete;
static unsigned client_port;     /* the attacker's side of the connection in */

static const char *kv(const char *key)
{
	for (int i = 0; i < nkv; i++)
		if (!strcmp(kvs[i].key, key))
			return kvs[i].val;
	return "";
}

static long kv_long(const char *key)
{
	const char *v = kv(key);
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	return *v && !*end && !errno ? n : -1;
}

/* KEY=VALUE lines of a file into kvs[]; a key given again replaces. */
static void kv_read(const char *path)
{
	char line[600];
	FILE *f = fopen(path, "re");

	nkv = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char *eq = strchr(line, '='), *nl = strchr(line, '\n');
		struct kv *k = NULL;
		if (nl)
			*nl = '\0';
		if (!eq || eq == line || (size_t)(eq - line) >= sizeof(kvs[0].key))
			continue;
		*eq = '\0';
		for (int i = 0; i < nkv && !k; i++)
			if (!strcmp(kvs[i].key, line))
				k = &kvs[i];
		if (!k && nkv < (int)(sizeof(kvs) / sizeof(kvs[0])))
			k = &kvs[nkv++];
		if (!k)
			continue;
		memcpy(k->key, line, (size_t)(eq - line) + 1);   /* checked: it fits */
		snprintf(k->val, sizeof(k->val), "%.*s", (int)sizeof(k->val) - 1, eq + 1);
	}
	if (f)
		fclose(f);
}

/* The start of a file (n - 1 bytes at most), "" when unreadable. */
static const char *slurp(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	size_t got = f ? fread(buf, 1, n - 1, f) : 0;

	if (f)
		fclose(f);
	buf[got] = '\0';
	return buf;
}

static const char *hex(uint64_t e, char buf[17])
{
	snprintf(buf, 17, "%016llx", (unsigned long long)e);
	return buf;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the host: the cron file, what the scenario may have left running ---- */

static void restore_host(void)
{
	if (cron[0])
		unlink(cron);
	if (shared[0])
		unlink(shared);
	if (cron_d_missing)
		rmdir("/etc/cron.d");   /* only when empty */
}

/* SIGTERM (run.sh's timeout), SIGINT, SIGHUP: the host first. */
static void on_signal(int sig)
{
	restore_host();
	if (a.pid > 0)
		kill(a.pid, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A process the scenario started, still running (it was killed before
 * its end): SIGKILL, by pid, when its command line is the one we started. */
static void end_leftover(const char *key)
{
	char path[64], cmd[4096];
	long pid = kv_long(key);
	size_t n;
	FILE *f;

	if (pid <= 1)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	cmd[n] = '\0';
	if ((strstr(cmd, "/usr/bin/python3") && strstr(cmd, "127.0.0.1")) ||
	    strstr(cmd, "benign/stop") || !strcmp(cmd, "sleep 120 "))
		kill((pid_t)pid, SIGKILL);
}

/* ---- the store ---- */

static bool path_is(const struct hn_event *ev, const void *arg)
{
	return ev->path && !strcmp(ev->path, arg);
}

static bool filename_is(const struct hn_event *ev, const void *arg)
{
	return ev->filename && !strcmp(ev->filename, arg);
}

static bool to_port(const struct hn_event *ev, const void *arg)
{
	return ev->dst.port == *(const unsigned *)arg;
}

/* The entity of the process the scenario named by key, started after t0. */
static uint64_t entity_of(const char *key, uint64_t t0)
{
	long pid = kv_long(key);

	return pid > 0 ? th_entity_of(s, (uint32_t)pid, t0) : 0;
}

__attribute__((format(printf, 1, 2)))
static void not_ready(const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

/* What the store recorded, looked up once; not_ready() says what is missing. */
static void read_store(uint64_t t0)
{
	char benign_file[400];
	unsigned service_port = (unsigned)kv_long("SERVICE_PORT");
	struct hn_event *ev;
	struct hn_query q = { .ntypes = 1, .pid = (uint32_t)kv_long("BENIGN_PID") };
	struct hn_event **v;
	int n, during = 0;

	/* the dropper's delete comes last: the rest is in by then */
	ev = th_wait_match(s, HN_EV_FILE_DELETE, 0, path_is, kv("DROPPER"));
	if (!ev) {
		not_ready("the store has no deletion of the dropper %s", kv("DROPPER"));
		return;
	}
	t_delete = ev->time;
	hn_event_free(ev);
	ev = th_wait_match(s, HN_EV_PROCESS_START, (uint32_t)kv_long("PAYLOAD_PID"), filename_is,
			   kv("PAYLOAD"));
	if (!ev) {
		not_ready("the store has no start of the payload %s (pid %s)", kv("PAYLOAD"),
			  kv("PAYLOAD_PID"));
		return;
	}
	e_payload = ev->proc.entity;
	hn_event_free(ev);
	ev = th_wait_match(s, HN_EV_NET_ACCEPT, (uint32_t)kv_long("SERVICE_PID"), NULL, NULL);
	if (!ev) {
		not_ready("the store has no accept by the service (pid %s)",
			  kv("SERVICE_PID"));
		return;
	}
	t_accept = ev->time;
	hn_event_free(ev);
	ev = th_wait_match(s, HN_EV_NET_CONNECT, (uint32_t)kv_long("CLIENT_PID"), to_port,
			   &service_port);
	if (!ev) {
		not_ready("the store has no connect by the attacker (pid %s) to port %u",
			  kv("CLIENT_PID"), service_port);
		return;
	}
	client_port = ev->src.port;
	hn_event_free(ev);
	ev = th_find(s, HN_EV_FILE_CREATE, 0, kv("PAYLOAD"));
	if (!ev) {
		not_ready("the store has no creation of the payload %s", kv("PAYLOAD"));
		return;
	}
	e_curl = ev->proc.entity;
	hn_event_free(ev);
	e_service = entity_of("SERVICE_PID", t0);
	e_shell = entity_of("SHELL_PID", t0);
	e_dropper = entity_of("DROPPER_PID", t0);
	e_benign = entity_of("BENIGN_PID", t0);
	if (!e_service || !e_shell || !e_dropper || !e_benign) {
		not_ready("the store lacks a process: service %llx, shell %llx, dropper %llx,"
			  " benign %llx", (unsigned long long)e_service,
			  (unsigned long long)e_shell, (unsigned long long)e_dropper,
			  (unsigned long long)e_benign);
		return;
	}
	/* the benign process wrote while the attack ran: its absence from
	 * the scope means something */
	snprintf(benign_file, sizeof(benign_file), "%s/benign/file", dir);
	q.types[0] = HN_EV_FILE_CREATE;
	v = th_events(s, &q, &n);
	for (int i = 0; i < n; i++)
		during += path_is(v[i], benign_file) && v[i]->time > t_accept &&
			  v[i]->time < t_delete;
	th_events_free(v, n);
	if (!during)
		not_ready("the benign process (pid %s) wrote %s %d times, none during the attack",
			  kv("BENIGN_PID"), benign_file, n);
}

/* ---- the group: the agent, the intrusion ---- */

static int setup(void **state)
{
	char script[PATH_MAX], rules[PATH_MAX], out[400], err[400], text[2048];
	const char *extra[] = { "--rules", rules, NULL };
	const char *argv[] = { "/usr/bin/timeout", "-k", "5", SCENARIO_TIMEOUT, "/bin/sh", script,
			       dir, NULL };
	const char *base;
	uint64_t t0;
	int st;

	(void)state;
	if (geteuid() != 0) {
		not_root = true;
		return 0;
	}
	if (!realpath(SCENARIO, script) || !realpath("rules", rules)) {
		not_ready("no %s or rules/ (run from the repository's root)", SCENARIO);
		return 0;
	}
	if (th_scratch(dir, sizeof(dir), "inv") < 0) {
		not_ready("no scratch directory: %s", strerror(errno));
		return 0;
	}
	base = strrchr(dir, '/') + 1;
	snprintf(cron, sizeof(cron), "/etc/cron.d/hinomi-test-%s", base);
	snprintf(shared, sizeof(shared), "/etc/cron.d/hinomi-shared-%s", base);
	cron_d_missing = access("/etc/cron.d", F_OK) != 0;
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	if (th_group_start(&a, &s, extra) < 0) {
		not_ready("the agent did not start");
		return 0;
	}

	t0 = now_ns();
	snprintf(out, sizeof(out), "%s/scenario.out", a.dir);
	snprintf(err, sizeof(err), "%s/scenario.err", a.dir);
	/* its cron files stay for the remediation test (teardown removes them) */
	setenv("KEEP_CRON", "1", 1);
	st = th_run_to(argv, out, err, atoi(SCENARIO_TIMEOUT) + 10);
	unsetenv("KEEP_CRON");
	kv_read(out);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || strcmp(kv("RESULT"), "ok")) {
		not_ready("the scenario failed (wait status %d, RESULT=%s); its stderr:\n%s", st,
			  kv("RESULT"), slurp(err, text, sizeof(text)));
		return 0;
	}
	if (strcmp(kv("CRON"), cron) || strcmp(kv("SCRATCH"), dir)) {
		not_ready("the scenario's CRON=%s SCRATCH=%s, expected %s and %s", kv("CRON"),
			  kv("SCRATCH"), cron, dir);
		return 0;
	}
	read_store(t0);
	return 0;
}

static int teardown(void **state)
{
	static const char *const started[] = { "SERVICE_PID", "HTTP_PID", "C2_PID", "BENIGN_PID",
					       "CLIENT_PID", "IMPLANT_PID" };

	(void)state;
	restore_host();
	for (size_t i = 0; i < sizeof(started) / sizeof(started[0]); i++)
		end_leftover(started[i]);
	if (!not_root)
		th_group_stop(&a, s, dir);
	s = NULL;
	return 0;
}

/* Each test: skipped without root, failed when the scenario did not run. */
static void need_story(void)
{
	if (not_root)
		skip();
	if (why[0])
		fail_msg("%s", why);
}

/* ---- JSON ---- */

/* o's member at a dotted path ("root_cause.entry.kind"), or NULL. */
static json_t *jget(json_t *o, const char *dotted)
{
	char buf[128], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", dotted);
	for (char *k = strtok_r(buf, ".", &save); k && o; k = strtok_r(NULL, ".", &save))
		o = json_is_object(o) ? json_object_get(o, k) : NULL;
	return o;
}

static const char *jstr(json_t *o, const char *dotted)
{
	json_t *v = jget(o, dotted);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long jint(json_t *o, const char *dotted)
{
	json_t *v = jget(o, dotted);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* For messages: a string, or "(none)". */
static const char *nz(const char *x)
{
	return x ? x : "(none)";
}

static const char *js(json_t *o, const char *dotted)
{
	return nz(jstr(o, dotted));
}

static bool streq(const char *x, const char *y)
{
	return x && y && !strcmp(x, y);
}

static bool ends_with(const char *x, const char *tail)
{
	size_t lx = x ? strlen(x) : 0, lt = strlen(tail);
	return x && lx >= lt && !strcmp(x + lx - lt, tail);
}

/* RFC 3339 UTC ("2026-11-27T10:00:00.123456789Z", fraction optional) in ns
 * since the epoch, or -1. */
static int64_t rfc3339_ns(const char *t)
{
	struct tm tm = { 0 };
	int64_t frac = 0, scale = 1000000000;
	int n = 0;
	time_t sec;

	if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	t += n;
	if (*t == '.') {
		for (t++; *t >= '0' && *t <= '9'; t++) {
			if (scale > 1) {
				scale /= 10;
				frac += (*t - '0') * scale;
			}
		}
	}
	if (strcmp(t, "Z") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	sec = timegm(&tm);
	return sec < 0 ? -1 : (int64_t)sec * 1000000000 + frac;
}

/* The first element of array arr whose string members k1 (and k2, when
 * not NULL) are v1 (and v2), or NULL. */
static json_t *find_with(json_t *arr, const char *k1, const char *v1, const char *k2,
			 const char *v2)
{
	size_t i;
	json_t *el;

	json_array_foreach(arr, i, el)
		if (streq(jstr(el, k1), v1) && (!k2 || streq(jstr(el, k2), v2)))
			return el;
	return NULL;
}

/* Does the array hold exactly the strings of want (NULL-ended), in any
 * order, each once? */
static bool same_strings(json_t *arr, const char *const *want)
{
	size_t n = 0, i;
	json_t *v;

	for (; want[n]; n++)
		;
	if (!json_is_array(arr) || json_array_size(arr) != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		size_t hits = 0;
		json_array_foreach(arr, i, v)
			hits += json_is_string(v) && !strcmp(json_string_value(v), want[k]);
		if (hits != 1)
			return false;
	}
	return true;
}

/* Are the processes' executables, by name, exactly the multiset want? */
static bool same_exes(json_t *procs, const char *const *want)
{
	size_t n = 0, i;
	json_t *v;

	for (; want[n]; n++)
		;
	if (!json_is_array(procs) || json_array_size(procs) != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		size_t need = 0, have = 0;
		for (size_t m = 0; m < n; m++)
			need += !strcmp(want[m], want[k]);
		json_array_foreach(procs, i, v) {
			const char *e = json_string_value(json_object_get(v, "executable"));
			const char *b = e ? strrchr(e, '/') : NULL;
			have += b && !strcmp(b + 1, want[k]);
		}
		if (have != need)
			return false;
	}
	return true;
}

/* Print a mismatch and count it. */
__attribute__((format(printf, 3, 4)))
static void check(int *bad, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return;
	(*bad)++;
	fprintf(stderr, "MISMATCH: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* `hinomi investigate TARGET --json --db DB` (output kept in the agent's
 * directory as inv-TAG.json and inv-TAG.err): its JSON; fails the test
 * when it exits non-zero or prints something else than one object. */
static json_t *investigate(const char *target, const char *tag)
{
	char out[400], err[400], text[4096];
	const char *argv[] = { th_bin(), "investigate", target, "--json", "--db", a.db, NULL };
	json_error_t jerr;
	json_t *j;
	int st;

	snprintf(out, sizeof(out), "%s/inv-%s.json", a.dir, tag);
	snprintf(err, sizeof(err), "%s/inv-%s.err", a.dir, tag);
	st = th_run_to(argv, out, err, 60);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("hinomi investigate %s: wait status %d; stderr:\n%s", target, st,
			 slurp(err, text, sizeof(text)));
	j = json_load_file(out, 0, &jerr);
	if (!json_is_object(j))
		fail_msg("hinomi investigate %s --json: not one JSON object (%s, line %d): %s",
			 target, jerr.text, jerr.line, slurp(out, text, sizeof(text)));
	return j;
}

/* The root cause's entry and malicious root are the service and the
 * shell it started. */
static void check_root_cause(int *bad, json_t *j, const char *run)
{
	char e[17];
	json_t *entry = jget(j, "root_cause.entry"), *root = jget(j, "root_cause.malicious_root");

	check(bad, json_is_object(entry), "%s: no root_cause.entry", run);
	check(bad, streq(jstr(entry, "kind"), "network_service"),
	      "%s: root_cause.entry.kind is %s, not network_service", run, js(entry, "kind"));
	check(bad, streq(jstr(entry, "entity"), hex(e_service, e)),
	      "%s: root_cause.entry.entity is %s, not the service's %s", run,
	      js(entry, "entity"), e);
	check(bad, jint(entry, "pid") == kv_long("SERVICE_PID"),
	      "%s: root_cause.entry.pid is %lld, not the service's %ld", run, jint(entry, "pid"),
	      kv_long("SERVICE_PID"));
	check(bad, streq(jstr(entry, "executable"), kv("SERVICE_EXE")),
	      "%s: root_cause.entry.executable is %s, not the service's interpreter %s", run,
	      js(entry, "executable"), kv("SERVICE_EXE"));
	check(bad, streq(jstr(entry, "remote.address"), "127.0.0.1") &&
	      jint(entry, "remote.port") == client_port,
	      "%s: root_cause.entry.remote is %s:%lld, not the attacker's 127.0.0.1:%u", run,
	      js(entry, "remote.address"), jint(entry, "remote.port"), client_port);
	check(bad, rfc3339_ns(jstr(entry, "time")) > 0,
	      "%s: root_cause.entry.time is not RFC 3339 UTC: %s", run, js(entry, "time"));
	check(bad, json_is_object(root), "%s: no root_cause.malicious_root", run);
	check(bad, streq(jstr(root, "entity"), hex(e_shell, e)) &&
	      jint(root, "pid") == kv_long("SHELL_PID"),
	      "%s: root_cause.malicious_root is %s (pid %lld), not the service's shell %s (pid %ld)",
	      run, js(root, "entity"), jint(root, "pid"), e, kv_long("SHELL_PID"));
}

/* ---- the tests ---- */

static void entity_story_names_way_in_path_and_scope(void **state)
{
	char ep[17], e[17], benign_dir[400];
	json_t *j, *v, *el;
	json_t *procs, *persist, *remote, *deleted, *path;
	long http_port = kv_long("HTTP_PORT"), c2_port = kv_long("C2_PORT");
	int64_t last = 0;
	long i_acc = -1, i_conn = -1, i_exec = -1;
	size_t i;
	int bad = 0;

	(void)state;
	need_story();
	hex(e_payload, ep);
	j = investigate(ep, "entity");
	check(&bad, streq(jstr(j, "target.kind"), "entity") && streq(jstr(j, "target.value"), ep),
	      "target is %s %s, not entity %s", js(j, "target.kind"), js(j, "target.value"), ep);

	/* root cause: the way in, the malicious root, the delivery */
	check_root_cause(&bad, j, "entity");
	v = jget(j, "root_cause.deliveries");
	el = find_with(v, "path", kv("PAYLOAD"), NULL, NULL);
	check(&bad, el != NULL, "root_cause.deliveries has no %s", kv("PAYLOAD"));
	if (el) {
		check(&bad, ends_with(jstr(el, "writer_executable"), "/curl"),
		      "the payload's delivery: writer_executable %s, not curl",
		      js(el, "writer_executable"));
		check(&bad, streq(jstr(el, "writer"), hex(e_curl, e)),
		      "the payload's delivery: writer %s, not the curl that created it (%s)",
		      js(el, "writer"), e);
		check(&bad, streq(jstr(el, "from.address"), "127.0.0.1") &&
		      jint(el, "from.port") == http_port,
		      "the payload's delivery: from %s:%lld, not the HTTP server 127.0.0.1:%ld",
		      js(el, "from.address"), jint(el, "from.port"), http_port);
	}
	/* how it got in, in plain words: the service and the download */
	check(&bad, jstr(j, "root_cause.text") && strstr(jstr(j, "root_cause.text"), "network service") &&
	      strstr(jstr(j, "root_cause.text"), "/curl"),
	      "root_cause.text does not name the service and curl: %s", js(j, "root_cause.text"));

	/* the intrusion path: in time order, accept -> download -> run */
	path = jget(j, "path");
	check(&bad, json_is_array(path) && json_array_size(path) > 0, "no path");
	json_array_foreach(path, i, el) {
		const char *act = jstr(el, "action"), *obj = jstr(el, "object");
		int64_t t = rfc3339_ns(jstr(el, "time"));
		char tail[16];
		check(&bad, t > 0 && t >= last, "path[%zu] (%s %s): time %s %s", i, nz(act), nz(obj),
		      js(el, "time"), t > 0 ? "before the step above" : "not RFC 3339 UTC");
		if (t > 0)
			last = t;
		snprintf(tail, sizeof(tail), ":%ld", http_port);
		if (streq(act, "accepted") && i_acc < 0 &&
		    (streq(jstr(el, "entity"), hex(e_service, e)) ||
		     jint(el, "pid") == kv_long("SERVICE_PID")))
			i_acc = (long)i;
		if (streq(act, "connected") && i_conn < 0 && ends_with(obj, tail))
			i_conn = (long)i;
		if (streq(act, "executed") && i_exec < 0 &&
		    (streq(jstr(el, "entity"), ep) || streq(obj, kv("PAYLOAD"))))
			i_exec = (long)i;
	}
	check(&bad, i_acc >= 0, "path: no \"accepted\" step by the service");
	check(&bad, i_conn >= 0, "path: no \"connected\" step to the HTTP port %ld", http_port);
	check(&bad, i_exec >= 0, "path: no \"executed\" step of the payload");
	check(&bad, i_acc < i_conn && i_conn < i_exec,
	      "path: accepted (#%ld), connected (#%ld), executed (#%ld) out of order", i_acc,
	      i_conn, i_exec);

	/* the scope */
	persist = jget(j, "scope.persistence");
	el = find_with(persist, "path", cron, "kind", "cron");
	check(&bad, el != NULL, "scope.persistence: no %s of kind cron", cron);
	check(&bad, !el || (streq(jstr(el, "action"), "created") &&
			    streq(jstr(el, "entity"), ep)),
	      "scope.persistence: %s %s by %s, not created by the payload %s", cron,
	      js(el, "action"), js(el, "entity"), ep);
	el = find_with(persist, "path", kv("AUTHORIZED_KEYS"), "kind", "authorized_keys");
	check(&bad, el && streq(jstr(el, "action"), "modified") && streq(jstr(el, "entity"), ep),
	      "scope.persistence: no %s of kind authorized_keys modified by the payload",
	      kv("AUTHORIZED_KEYS"));
	el = find_with(persist, "path", kv("BASHRC"), "kind", "shell_rc");
	check(&bad, el && streq(jstr(el, "action"), "modified") && streq(jstr(el, "entity"), ep),
	      "scope.persistence: no %s of kind shell_rc modified by the payload", kv("BASHRC"));

	remote = jget(j, "scope.remote");
	el = NULL;
	json_array_foreach(remote, i, v)
		if (!el && streq(jstr(v, "address"), "127.0.0.1") && jint(v, "port") == c2_port &&
		    streq(jstr(v, "direction"), "out"))
			el = v;
	check(&bad, el != NULL, "scope.remote: no 127.0.0.1:%ld out (the C2)", c2_port);
	check(&bad, !el || streq(jstr(el, "entity"), ep),
	      "scope.remote: the C2 connection by %s, not the payload %s", js(el, "entity"), ep);

	deleted = jget(j, "scope.files.deleted");
	el = NULL;
	json_array_foreach(deleted, i, v)
		if (streq(json_string_value(v), kv("DROPPER")))
			el = v;
	check(&bad, el != NULL, "scope.files.deleted: no %s (the dropper)", kv("DROPPER"));

	procs = jget(j, "scope.processes");
	check(&bad, find_with(procs, "entity", ep, NULL, NULL) != NULL,
	      "scope.processes: no payload %s (pid %s)", ep, kv("PAYLOAD_PID"));
	check(&bad, find_with(procs, "entity", hex(e_dropper, e), NULL, NULL) != NULL,
	      "scope.processes: no dropper %s (pid %s)", e, kv("DROPPER_PID"));
	check(&bad, find_with(procs, "entity", hex(e_shell, e), NULL, NULL) != NULL,
	      "scope.processes: no malicious root %s (pid %s)", e, kv("SHELL_PID"));
	/* nothing of the benign process: itself, its children, its file */
	snprintf(benign_dir, sizeof(benign_dir), "%s/benign/", dir);
	json_array_foreach(procs, i, el) {
		const char *args = jstr(el, "args");
		check(&bad, jint(el, "pid") != kv_long("BENIGN_PID") &&
		      !streq(jstr(el, "entity"), hex(e_benign, e)),
		      "scope.processes holds the benign process (pid %s)", kv("BENIGN_PID"));
		check(&bad, !args || !strstr(args, benign_dir),
		      "scope.processes holds a process of the benign one: pid %lld %s",
		      jint(el, "pid"), nz(args));
	}
	{
		static const char *const lists[] = { "created", "modified", "deleted", "chmod" };
		for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
			char key[32];
			snprintf(key, sizeof(key), "scope.files.%s", lists[k]);
			check(&bad, json_is_array(jget(j, key)), "no %s array", key);
			json_array_foreach(jget(j, key), i, v)
				check(&bad, !json_is_string(v) ||
				      strncmp(json_string_value(v), benign_dir, strlen(benign_dir)),
				      "%s holds the benign process's %s", key, nz(json_string_value(v)));
		}
	}
	/* the exact lists: what the scenario's commands do, nothing more */
	{
		char cron_p[PATH_MAX];
		const char *created[] = { kv("STAGE"), kv("PAYLOAD"), cron_p, kv("DROPPER"), NULL };
		const char *modified[] = { kv("AUTHORIZED_KEYS"), kv("BASHRC"), kv("SHARED_CRON"),
					   NULL };
		const char *del[] = { kv("DROPPER"), NULL };
		const char *chm[] = { kv("PAYLOAD"), kv("DROPPER"), NULL };
		/* one process per command, by its executable's name */
		const char *exes[] = { "dash", "curl", "curl", "dash", "sleep", "chmod", "bash", "id",
				       "uname", "sleep", "bash", "cp", "chmod", "rm", NULL };
		snprintf(cron_p, sizeof(cron_p), "%s", cron);
		check(&bad, same_strings(jget(j, "scope.files.created"), created),
		      "scope.files.created is not exactly stage.sh, the payload, the cron file, the dropper");
		check(&bad, same_strings(jget(j, "scope.files.modified"), modified),
		      "scope.files.modified is not exactly authorized_keys, .bashrc and the shared "
		      "cron file");
		check(&bad, same_strings(jget(j, "scope.files.deleted"), del),
		      "scope.files.deleted is not exactly the dropper");
		check(&bad, same_strings(jget(j, "scope.files.chmod"), chm),
		      "scope.files.chmod is not exactly the payload and the dropper");
		check(&bad, json_array_size(jget(j, "scope.persistence")) == 4,
		      "scope.persistence has %zu entries, not 4",
		      json_array_size(jget(j, "scope.persistence")));
		check(&bad, same_exes(jget(j, "scope.processes"), exes),
		      "scope.processes are not exactly the 14 commands of the attack (sh, 2 curl, "
		      "sh stage.sh, sleep, chmod, the payload, id, uname, the implant, the dropper, "
		      "cp, chmod, rm)");
		/* two downloads from the HTTP server (one per curl) and the C2 */
		{
			size_t http = 0, c2 = 0, other = 0;
			json_array_foreach(jget(j, "scope.remote"), i, v) {
				if (!streq(jstr(v, "direction"), "out") ||
				    !streq(jstr(v, "address"), "127.0.0.1"))
					other++;
				else if (jint(v, "port") == http_port)
					http++;
				else if (jint(v, "port") == c2_port)
					c2++;
				else
					other++;
			}
			check(&bad, http == 2 && c2 == 1 && other == 0,
			      "scope.remote: %zu to the HTTP server, %zu to the C2, %zu other; want 2, 1, 0",
			      http, c2, other);
		}
	}
	/* counts agree with the lists */
	{
		static const char *const lists[] = { "processes", "persistence", "remote", "injected" };
		for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
			char key[48], ckey[48];
			snprintf(key, sizeof(key), "scope.%s", lists[k]);
			snprintf(ckey, sizeof(ckey), "scope.counts.%s", lists[k]);
			check(&bad, json_is_array(jget(j, key)) &&
			      jint(j, ckey) == (long long)json_array_size(jget(j, key)),
			      "%s is %lld, the list has %zu", ckey, jint(j, ckey),
			      json_array_size(jget(j, key)));
		}
	}
	/* the graph: the entry point, the root and the payload as nodes with
	 * their roles, the benign process not at all, every edge between
	 * nodes it lists */
	{
		json_t *nodes = jget(j, "nodes"), *edges = jget(j, "edges"), *nd;
		size_t ni;
		bool entry = false, root = false, payload = false, benign = false, dangling = false;
		char ee[32], er[32], ep[32], eb[32];
		hex(e_service, ee);
		hex(e_shell, er);
		hex(e_payload, ep);
		hex(e_benign, eb);
		check(&bad, json_is_array(nodes) && json_is_array(edges), "no nodes and edges arrays");
		json_array_foreach(nodes, ni, nd) {
			const char *ent = jstr(nd, "entity");
			json_t *roles = jget(nd, "roles");
			bool r_entry = false, r_root = false, r_imp = false;
			size_t ri;
			json_t *rv;
			json_array_foreach(roles, ri, rv) {
				r_entry |= streq(json_string_value(rv), "entry_point");
				r_root |= streq(json_string_value(rv), "malicious_root");
				r_imp |= streq(json_string_value(rv), "impacted");
			}
			entry |= streq(ent, ee) && r_entry;
			root |= streq(ent, er) && r_root;
			payload |= streq(ent, ep) && r_imp;
			benign |= streq(ent, eb);
		}
		json_array_foreach(edges, ni, nd) {
			bool from = false, to = false;
			size_t k;
			json_t *x;
			json_array_foreach(nodes, k, x) {
				from |= streq(jstr(x, "id"), jstr(nd, "from"));
				to |= streq(jstr(x, "id"), jstr(nd, "to"));
			}
			dangling |= !from || !to;
		}
		check(&bad, entry, "no node for the service with the role entry_point");
		check(&bad, root, "no node for the shell with the role malicious_root");
		check(&bad, payload, "no node for the payload with the role impacted");
		check(&bad, !benign, "the benign process is a node of the graph");
		check(&bad, !dangling, "an edge names a node the graph does not list");
	}

	json_decref(j);
	if (bad)
		fail_msg("%d mismatches with the contract; the output is %s/inv-entity.json"
			 " (HINOMI_KEEP=1 keeps it)", bad, a.dir);
}

struct alert_seen {
	const char *rule_id;
	uint64_t entity;
	bool found;
};

static int on_alert(const struct hn_alert *al, void *arg)
{
	struct alert_seen *w = arg;

	w->found |= al->rule_id && !strcmp(al->rule_id, w->rule_id) && al->entity == w->entity;
	return 0;
}

/* The id (as `hinomi alerts --json` prints it) of the alert of rule_id on
 * the payload, waiting up to 10 s for it; -1 when there is none. */
static long long payload_alert(const char *rule_id, char *title, size_t tn)
{
	struct alert_seen w = { rule_id, e_payload, false };
	char out[400], err[400], line[65536], ep[17];
	const char *argv[] = { th_bin(), "alerts", "--json", "--db", a.db, NULL };
	long long id = -1;
	FILE *f;

	for (int k = 0; k < 100 && !w.found; k++) {
		assert_int_equal(hn_store_alerts(s, 0, on_alert, &w), 0);
		if (!w.found)
			th_sleep_ms(100);
	}
	if (!w.found)
		return -1;
	snprintf(out, sizeof(out), "%s/alerts.json", a.dir);
	snprintf(err, sizeof(err), "%s/alerts.err", a.dir);
	assert_int_equal(th_run_to(argv, out, err, 30), 0);
	hex(e_payload, ep);
	f = fopen(out, "re");
	assert_non_null(f);
	while (id < 0 && fgets(line, sizeof(line), f)) {
		/* plain integers: every number of the output fits in int64
		 * (a file's cookie is a decimal string) */
		json_t *al = json_loads(line, 0, NULL);
		if (streq(jstr(al, "rule.id"), rule_id) && streq(jstr(al, "process.entity_id"), ep)) {
			json_t *v = jget(al, "hinomi.alert.id");
			id = json_is_number(v) ? (long long)json_number_value(v) : -1;
			snprintf(title, tn, "%s", jstr(al, "rule.name") ? jstr(al, "rule.name") : "");
		}
		json_decref(al);
	}
	fclose(f);
	return id;
}

static void alert_story_names_the_same_entry_and_root(void **state)
{
	char title[256] = "", target[32];
	const char *rule = RULE_CRON;
	long long id;
	json_t *j, *el;
	size_t i;
	bool alert_step = false;
	int bad = 0;

	(void)state;
	need_story();
	id = payload_alert(RULE_CRON, title, sizeof(title));
	if (id < 0) {
		fprintf(stderr, "no alert of rule %s (cron) on the payload; trying %s"
			" (authorized_keys)\n", RULE_CRON, RULE_KEYS);
		rule = RULE_KEYS;
		id = payload_alert(RULE_KEYS, title, sizeof(title));
	}
	if (id < 0)
		fail_msg("our rules raised no alert on the payload's cron file nor on its"
			 " authorized_keys write (hinomi alerts --json --db %s)", a.db);
	fprintf(stderr, "alert %lld: \"%s\" (rule %s) on the payload\n", id, title, rule);
	snprintf(target, sizeof(target), "%lld", id);
	j = investigate(target, "alert");
	check(&bad, streq(jstr(j, "target.kind"), "alert") && streq(jstr(j, "target.value"), target),
	      "target is %s %s, not alert %s", js(j, "target.kind"), js(j, "target.value"),
	      target);
	check_root_cause(&bad, j, "alert");
	json_array_foreach(jget(j, "path"), i, el)
		alert_step |= streq(jstr(el, "action"), "alert");
	check(&bad, alert_step, "path: no \"alert\" step");
	json_decref(j);
	if (bad)
		fail_msg("%d mismatches with the contract; the output is %s/inv-alert.json"
			 " (HINOMI_KEEP=1 keeps it)", bad, a.dir);
}

/* `hinomi investigate ARGS`: exit 1 or 2 (no crash), nothing on stdout, a
 * message on stderr that names `names` (when not NULL). */
static void fails_clearly(int *bad, const char *const *args, const char *names, int want_exit)
{
	char out[400], err[400], text[2048], otext[256];
	const char *argv[16];
	int n = 0, st;

	argv[n++] = th_bin();
	argv[n++] = "investigate";
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/bad.out", a.dir);
	snprintf(err, sizeof(err), "%s/bad.err", a.dir);
	st = th_run_to(argv, out, err, 30);
	slurp(err, text, sizeof(text));
	slurp(out, otext, sizeof(otext));
	check(bad, st >= 0 && WIFEXITED(st) && (want_exit ? WEXITSTATUS(st) == want_exit :
			 (WEXITSTATUS(st) == 1 || WEXITSTATUS(st) == 2)),
	      "investigate %s: wait status %d, expected exit %s", args[0], st,
	      want_exit == 2 ? "2 (usage)" : "1 or 2");
	check(bad, text[0] != '\0', "investigate %s: nothing on stderr", args[0]);
	check(bad, !names || strstr(text, names), "investigate %s: stderr does not name %s: %s",
	      args[0], nz(names), text);
	check(bad, otext[0] == '\0', "investigate %s: stdout is not empty: %s", args[0], otext);
}

static void bad_target_fails_with_a_message(void **state)
{
	char missing_db[400], help_out[400], help_err[400];
	const char *help[] = { th_bin(), "investigate", "--help", NULL };
	const char *unknown_entity = "7ffffffffffffff1", *unknown_alert = "987654321";
	const char *unknown_path = "/nonexistent/hinomi-investigate-nothing";
	struct hn_process *p = NULL;
	int st, bad = 0;

	(void)state;
	if (not_root)
		skip();
	if (!s || access(a.db, F_OK) != 0)
		fail_msg("no store: %s", why);
	/* the command exists (`hinomi NAME --help` exits 0): the failures
	 * below are its own, not main's "unknown command" */
	snprintf(help_out, sizeof(help_out), "%s/help.out", a.dir);
	snprintf(help_err, sizeof(help_err), "%s/help.err", a.dir);
	st = th_run_to(help, help_out, help_err, 30);
	if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("hinomi investigate --help: wait status %d (no such command yet?)", st);
	/* the targets are unknown to this store */
	assert_int_equal(hn_store_process(s, strtoull(unknown_entity, NULL, 16), &p), -ENOENT);

	{
		const char *args[] = { "nonsense", "--json", "--db", a.db, NULL };
		fails_clearly(&bad, args, "nonsense", 0);
	}
	{
		const char *args[] = { unknown_entity, "--json", "--db", a.db, NULL };
		fails_clearly(&bad, args, unknown_entity, 0);
	}
	{
		const char *args[] = { unknown_alert, "--json", "--db", a.db, NULL };
		fails_clearly(&bad, args, unknown_alert, 0);
	}
	{
		const char *args[] = { unknown_path, "--json", "--db", a.db, NULL };
		fails_clearly(&bad, args, unknown_path, 0);
	}
	{
		const char *args[] = { "--json", "--db", a.db, NULL };
		fails_clearly(&bad, args, NULL, 2);
	}
	snprintf(missing_db, sizeof(missing_db), "%s/no-such.db", a.dir);
	{
		const char *args[] = { unknown_entity, "--json", "--db", missing_db, NULL };
		fails_clearly(&bad, args, NULL, 0);
	}
	if (bad)
		fail_msg("%d mismatches", bad);
}


/* ---- remediation: exactly the attack's files and lines, and undo ---- */

/* The whole of a small file into buf ("" and false when unreadable). */
static bool read_all(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "re");
	size_t got;

	buf[0] = '\0';
	if (!f)
		return false;
	got = fread(buf, 1, n - 1, f);
	buf[got] = '\0';
	fclose(f);
	return true;
}

static bool is_gone(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) < 0 && errno == ENOENT;
}

static bool proc_alive(long pid)
{
	char path[64], st[512];

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (!read_all(path, st, sizeof(st)))
		return false;
	return !strstr(st, ") Z ");
}

/* hinomi ARGS --db the store: its exit code; stdout into out (a file in
 * the agent's directory named by tag) */
static int hinomi_to(const char *tag, char *out, size_t n, const char *a1, const char *a2,
		     const char *a3, const char *a4)
{
	const char *argv[10];
	char err[400];
	int k = 0, st;

	argv[k++] = th_bin();
	argv[k++] = a1;
	if (a2)
		argv[k++] = a2;
	if (a3)
		argv[k++] = a3;
	if (a4)
		argv[k++] = a4;
	argv[k++] = "--db";
	argv[k++] = a.db;
	argv[k] = NULL;
	snprintf(out, n, "%s/%s.out", a.dir, tag);
	snprintf(err, sizeof(err), "%s/%s.err", a.dir, tag);
	st = th_run_to(argv, out, err, 120);
	return st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The plan's steps of one kind, as "path" strings (pid for kill). */
static size_t steps_of(json_t *plan, const char *kind, const char **paths, size_t max)
{
	size_t n = 0, i;
	json_t *el;

	json_array_foreach(jget(plan, "steps"), i, el)
		if (streq(jstr(el, "step"), kind) && n < max)
			paths[n++] = jstr(el, "path");
	return n;
}

static bool has_path(const char **v, size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] && !strcmp(v[i], p))
			return true;
	return false;
}

static void remediation_removes_exactly_the_attack_and_undo_puts_it_back(void **state)
{
	static char keys_a[4096], rc_c[4096], shared_c[4096], cron_c[4096], payload_c[8192],
		stage_c[4096], buf[8192];
	char out[400], es[17], num[32];
	const char *v[32];
	json_error_t jerr;
	json_t *plan, *done;
	long implant = kv_long("IMPLANT_PID");
	int64_t action;
	int bad = 0;
	(void)state;

	need_story();
	/* a web shell someone else left where the attack wrote: not the
	 * attack's (never removed), but the rescan must name it */
	{
		char shell[600];
		snprintf(shell, sizeof(shell), "%s/www", dir);
		assert_non_null(th_write_file(shell, "shell.php",
					      "<?php eval($_POST['c']); ?>\n"));
	}
	/* a benign user adds lines after the attack: they must stay */
	assert_int_equal(th_append(kv("BASHRC"), "export PAGER=less\n"), 0);
	assert_int_equal(th_append(shared, "0 0 31 2 * root /bin/true # benign-after\n"), 0);
	assert_true(read_all(kv("AUTHORIZED_KEYS"), keys_a, sizeof(keys_a)));
	assert_true(read_all(kv("BASHRC"), rc_c, sizeof(rc_c)));
	assert_true(read_all(shared, shared_c, sizeof(shared_c)));
	assert_true(read_all(cron, cron_c, sizeof(cron_c)));
	assert_true(read_all(kv("PAYLOAD"), payload_c, sizeof(payload_c)));
	assert_true(read_all(kv("STAGE"), stage_c, sizeof(stage_c)));
	assert_true(implant > 1 && proc_alive(implant));
	hex(e_shell, es);

	/* the plan: exactly the attack's files and lines; nothing changes */
	assert_int_equal(hinomi_to("plan", out, sizeof(out), "remediate", es, "--dry-run", "--json"), 0);
	plan = json_load_file(out, 0, &jerr);
	assert_true(json_is_object(plan));
	{
		size_t n;
		json_t *el;
		size_t i, kills = 0;
		json_array_foreach(jget(plan, "steps"), i, el)
			if (streq(jstr(el, "step"), "kill")) {
				kills++;
				check(&bad, jint(el, "pid") == implant, "plan: kill of pid %lld, not the "
				      "implant %ld", jint(el, "pid"), implant);
			}
		check(&bad, kills == 1, "plan: %zu kills, want 1 (the implant)", kills);
		n = steps_of(plan, "quarantine", v, 32);
		check(&bad, n == 3 && has_path(v, n, kv("STAGE")) && has_path(v, n, kv("PAYLOAD")) &&
		      has_path(v, n, cron), "plan: quarantine is not exactly stage.sh, the payload "
		      "and the cron file (%zu steps)", n);
		n = steps_of(plan, "block", v, 32);
		check(&bad, n == 1 && has_path(v, n, kv("PAYLOAD")),
		      "plan: block is not exactly the payload's hash (%zu steps)", n);
		n = steps_of(plan, "restore", v, 32);
		check(&bad, n == 1 && has_path(v, n, kv("AUTHORIZED_KEYS")),
		      "plan: restore is not exactly authorized_keys (%zu steps)", n);
		n = steps_of(plan, "edit", v, 32);
		check(&bad, n == 2 && has_path(v, n, kv("BASHRC")) && has_path(v, n, shared),
		      "plan: edit is not exactly .bashrc and the shared cron file (%zu steps)", n);
		n = steps_of(plan, "leave", v, 32);
		check(&bad, has_path(v, n, kv("DROPPER")), "plan: the dropper (gone) is not left");
		json_array_foreach(jget(plan, "steps"), i, el)
			check(&bad, !jstr(el, "path") || !strstr(jstr(el, "path"), "/www/"),
			      "plan: touches the scenario's own %s", jstr(el, "path"));
	}
	json_decref(plan);
	check(&bad, proc_alive(implant) && !is_gone(kv("PAYLOAD")) && !is_gone(cron),
	      "the dry run changed something");

	/* the remediation */
	assert_int_equal(hinomi_to("remediate", out, sizeof(out), "remediate", es, "--json", NULL), 0);
	done = json_load_file(out, 0, &jerr);
	assert_true(json_is_object(done));
	action = jint(done, "action");
	assert_true(action > 0);
	{
		size_t i;
		json_t *el, *rescan = NULL;
		json_array_foreach(jget(done, "steps"), i, el)
			if (streq(jstr(el, "step"), "rescan"))
				rescan = el;
		check(&bad, rescan && streq(jstr(rescan, "status"), "done") &&
		      jstr(rescan, "result") && strstr(jstr(rescan, "result"), "shell.php") &&
		      strstr(jstr(rescan, "result"), "php_eval_request_input"),
		      "the rescan did not name the web shell: %s",
		      rescan ? js(rescan, "result") : "no rescan step");
	}
	json_decref(done);
	for (int i = 0; i < 300 && proc_alive(implant); i++)
		th_sleep_ms(10);
	check(&bad, !proc_alive(implant), "the implant %ld still runs", implant);
	check(&bad, is_gone(kv("STAGE")) && is_gone(kv("PAYLOAD")) && is_gone(cron),
	      "stage.sh, the payload or the cron file is still there");
	read_all(kv("AUTHORIZED_KEYS"), buf, sizeof(buf));
	check(&bad, streq(buf, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenignKeyOfAliceForHinomiTests "
			  "alice@laptop\n"), "authorized_keys is not alice's key alone: %s", buf);
	read_all(kv("BASHRC"), buf, sizeof(buf));
	check(&bad, streq(buf, "export EDITOR=vi\nexport PAGER=less\n"),
	      ".bashrc is not the two benign lines: %s", buf);
	read_all(shared, buf, sizeof(buf));
	check(&bad, streq(buf, "0 0 31 2 * root /bin/true # benign-before\n"
			  "0 0 31 2 * root /bin/true # benign-after\n"),
	      "the shared cron file is not the two benign lines: %s", buf);
	{
		char www[600];
		snprintf(www, sizeof(www), "%s/www/payload", dir);
		check(&bad, !is_gone(www), "the scenario's own %s was removed", www);
		snprintf(www, sizeof(www), "%s/www/shell.php", dir);
		check(&bad, !is_gone(www), "%s (not the attack's) was removed", www);
	}
	assert_int_equal(hinomi_to("blocklist", out, sizeof(out), "block", "--list", NULL, NULL), 0);
	read_all(out, buf, sizeof(buf));
	check(&bad, strstr(buf, kv("PAYLOAD")) != NULL, "the payload's hash is not blocked: %s", buf);

	/* undo: every file and line back as the attack left them */
	snprintf(num, sizeof(num), "%lld", (long long)action);
	assert_int_equal(hinomi_to("undo", out, sizeof(out), "undo", num, NULL, NULL), 0);
	read_all(out, buf, sizeof(buf));
	check(&bad, strstr(buf, "1 cannot be undone") != NULL, "undo: the kill is not said to be "
	      "beyond undo: %s", buf);
	read_all(kv("STAGE"), buf, sizeof(buf));
	check(&bad, streq(buf, stage_c), "undo: stage.sh is not back");
	read_all(kv("PAYLOAD"), buf, sizeof(buf));
	check(&bad, streq(buf, payload_c), "undo: the payload is not back");
	read_all(cron, buf, sizeof(buf));
	check(&bad, streq(buf, cron_c), "undo: the cron file is not back");
	read_all(kv("AUTHORIZED_KEYS"), buf, sizeof(buf));
	check(&bad, streq(buf, keys_a), "undo: authorized_keys is not back: %s", buf);
	read_all(kv("BASHRC"), buf, sizeof(buf));
	check(&bad, streq(buf, rc_c), "undo: .bashrc is not back: %s", buf);
	read_all(shared, buf, sizeof(buf));
	check(&bad, streq(buf, shared_c), "undo: the shared cron file is not back: %s", buf);
	assert_int_equal(hinomi_to("blocklist2", out, sizeof(out), "block", "--list", NULL, NULL), 0);
	read_all(out, buf, sizeof(buf));
	check(&bad, strstr(buf, kv("PAYLOAD")) == NULL, "undo: the payload's hash is still blocked");
	assert_int_equal(hinomi_to("actions", out, sizeof(out), "actions", num, "--json", NULL), 0);
	read_all(out, buf, sizeof(buf));
	check(&bad, strstr(buf, "\"kind\":\"remediate\"") && strstr(buf, "\"status\":\"undone\""),
	      "hinomi actions does not show the remediation undone: %.300s", buf);
	if (bad)
		fail_msg("%d mismatches (outputs in %s)", bad, a.dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entity_story_names_way_in_path_and_scope),
		cmocka_unit_test(alert_story_names_the_same_entry_and_root),
		cmocka_unit_test(bad_target_fails_with_a_message),
		/* last: it changes what the others read */
		cmocka_unit_test(remediation_removes_exactly_the_attack_and_undo_puts_it_back),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
