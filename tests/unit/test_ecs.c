/*
 * test_ecs.c - the JSON form of events (event/ecs.h) and the writer under
 * it (util/json.h, util/strbuf.h).
 *
 * Every rendered object is checked by Python's json module (strict: UTF-8,
 * no control characters in strings, no duplicate keys, nothing after the
 * value), which also flattens it into "path TAB kind TAB value" lines; the
 * tests then assert concrete values at ECS paths ("process.args.1").
 * Strings come back hex-encoded so they compare byte for byte.
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
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "event/ecs.h"
#include "event/event.h"
#include "util/json.h"
#include "util/strbuf.h"

/* ---- the Python side ---- */

static const char flatten_py[] =
	"import json, sys\n"
	"def nodup(pairs):\n"
	"    d = {}\n"
	"    for k, v in pairs:\n"
	"        if k in d: raise ValueError('duplicate key ' + k)\n"
	"        d[k] = v\n"
	"    return d\n"
	"out = []\n"
	"def walk(p, v):\n"
	"    sep = '' if p.endswith('/') else '.'\n"
	"    if isinstance(v, dict):\n"
	"        out.append('%s\\tO\\t%d' % (p, len(v)))\n"
	"        for k, x in v.items(): walk(p + sep + k, x)\n"
	"    elif isinstance(v, list):\n"
	"        out.append('%s\\tA\\t%d' % (p, len(v)))\n"
	"        for i, x in enumerate(v): walk(p + sep + str(i), x)\n"
	"    elif isinstance(v, str):\n"
	"        out.append('%s\\tS\\t%s' % (p, v.encode('utf-8').hex()))\n"
	"    elif v is None:\n"
	"        out.append('%s\\tZ\\t' % p)\n"
	"    else:\n"
	"        out.append('%s\\tN\\t%s' % (p, json.dumps(v)))\n"
	"lines = sys.stdin.buffer.read().split(b'\\n')\n"
	"if lines[-1] == b'': lines.pop()\n"
	"for i, line in enumerate(lines):\n"
	"    d = json.loads(line.decode('utf-8'), object_pairs_hook=nodup)\n"
	"    if not isinstance(d, dict): raise ValueError('not an object')\n"
	"    walk('%d/' % i, d)\n"
	"sys.stdout.write('\\n'.join(out) + '\\n')\n";

/* Checks every JSON string of a file "hex TAB json" per line: json must
 * parse and equal the hex bytes decoded as UTF-8 with errors='replace'. */
static const char utf8_py[] =
	"import json, sys\n"
	"bad = 0\n"
	"for line in sys.stdin.buffer.read().decode('utf-8').split('\\n'):\n"
	"    if not line: continue\n"
	"    h, j = line.split('\\t', 1)\n"
	"    want = bytes.fromhex(h).decode('utf-8', 'replace')\n"
	"    if json.loads(j) != want:\n"
	"        bad += 1\n"
	"        if bad < 5: print('mismatch', h, j)\n"
	"print('bad', bad)\n"
	"sys.exit(1 if bad else 0)\n";

static char py_dir[] = "/tmp/hinomi-test-ecs-XXXXXX";
static char flatten_path[64], utf8_path[64], input_path[64];

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(py_dir))
		return -1;
	snprintf(flatten_path, sizeof(flatten_path), "%s/flatten.py", py_dir);
	snprintf(utf8_path, sizeof(utf8_path), "%s/utf8.py", py_dir);
	snprintf(input_path, sizeof(input_path), "%s/input", py_dir);
	write_file(flatten_path, flatten_py, strlen(flatten_py));
	write_file(utf8_path, utf8_py, strlen(utf8_py));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(flatten_path);
	unlink(utf8_path);
	unlink(input_path);
	rmdir(py_dir);
	return 0;
}

/* Run `python3 script < input`; its stdout into out. The exit status. */
static int run_py(const char *script, const void *input, size_t n,
		  struct hn_strbuf *out)
{
	char cmd[256], chunk[4096];
	size_t got;
	FILE *f;
	int st;

	write_file(input_path, input, n);
	snprintf(cmd, sizeof(cmd), "python3 %s < %s", script, input_path);
	f = popen(cmd, "r");
	assert_non_null(f);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		hn_strbuf_add(out, chunk, got);
	st = pclose(f);
	assert_false(out->oom);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Rendered events, one per line, validated and flattened together (one
 * Python run per batch); idx selects the line the lookups below read. */
struct doc {
	struct hn_strbuf json;
	struct hn_strbuf flat;
	int n, idx;
};

static void doc_init(struct doc *d)
{
	hn_strbuf_init(&d->json);
	hn_strbuf_init(&d->flat);
	d->n = 0;
	d->idx = 0;
}

static void doc_add(struct doc *d, const struct hn_event *ev, const char *host)
{
	size_t start;

	if (d->n++)
		hn_strbuf_addc(&d->json, '\n');
	start = d->json.len;
	assert_int_equal(hn_ecs_render(ev, host, &d->json), 0);
	assert_non_null(d->json.buf);
	assert_true(d->json.len > start);
	/* one line, no trailing newline, no raw control bytes, no NUL */
	for (size_t i = start; i < d->json.len; i++)
		assert_true((unsigned char)d->json.buf[i] >= 0x20);
	assert_int_equal(d->json.buf[d->json.len - 1], '}');
}

static void doc_check(struct doc *d)
{
	if (run_py(flatten_path, d->json.buf, d->json.len, &d->flat) != 0) {
		print_error("invalid JSON: %s\n", d->json.buf);
		fail();
	}
}

static void doc_render(struct doc *d, const struct hn_event *ev, const char *host)
{
	doc_init(d);
	doc_add(d, ev, host);
	doc_check(d);
}

static void doc_release(struct doc *d)
{
	hn_strbuf_release(&d->json);
	hn_strbuf_release(&d->flat);
}

/* The line for path in document d->idx: its kind letter and value text. */
static const char *doc_find(const struct doc *d, const char *path, char *kind)
{
	char full[256];
	size_t pl;
	const char *p = d->flat.buf;

	snprintf(full, sizeof(full), "%d/%s", d->idx, path);
	pl = strlen(full);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		if (!strncmp(p, full, pl) && p[pl] == '\t') {
			*kind = p[pl + 1];
			return p + pl + 3;
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void expect_str(const struct doc *d, const char *path, const char *want,
		       size_t want_len)
{
	char kind = 0, got[4096];
	const char *v = doc_find(d, path, &kind);
	size_t n = 0;

	if (!v || kind != 'S') {
		print_error("%d/%s: not a string in %s\n", d->idx, path, d->json.buf);
		fail();
	}
	for (; v[0] && v[0] != '\n' && n < sizeof(got); v += 2) {
		unsigned x;
		assert_int_equal(sscanf(v, "%2x", &x), 1);
		got[n++] = (char)x;
	}
	if (n != want_len || memcmp(got, want, n)) {
		print_error("%s: got %.*s (%zu bytes), want %.*s (%zu bytes)\n",
			    path, (int)n, got, n, (int)want_len, want, want_len);
		fail();
	}
}
#define EXPECT_STR(d, path, want) expect_str(d, path, want, strlen(want))

/* kind 'N' (number/bool as JSON text), 'O'/'A' (member count). */
static void expect_val(const struct doc *d, const char *path, char want_kind,
		       const char *want)
{
	char kind = 0;
	const char *v = doc_find(d, path, &kind);
	size_t n;

	if (!v) {
		print_error("%d/%s: missing in %s\n", d->idx, path, d->json.buf);
		fail();
	}
	n = strcspn(v, "\n");
	if (kind != want_kind || n != strlen(want) || strncmp(v, want, n)) {
		print_error("%s: got %c %.*s, want %c %s\n", path, kind, (int)n, v,
			    want_kind, want);
		fail();
	}
}
#define EXPECT_NUM(d, path, want) expect_val(d, path, 'N', want)

static void expect_absent(const struct doc *d, const char *path)
{
	char kind;
	if (doc_find(d, path, &kind)) {
		print_error("%d/%s: present in %s\n", d->idx, path, d->json.buf);
		fail();
	}
}

/* ---- events ---- */

/* 2026-11-27T05:27:51.123456789Z */
#define T0 (1795757271ULL * 1000000000ULL + 123456789ULL)

static struct hn_event *base_event(uint16_t type)
{
	struct hn_event *ev = hn_event_new(4096);

	assert_non_null(ev);
	ev->type = type;
	ev->time = T0;
	ev->proc.entity = 0x0123456789abcdefULL;
	ev->proc.parent_entity = 0x7edcba9876543210ULL;
	ev->proc.start_time = T0 - 1000000000ULL;
	ev->proc.pid = 4242;
	ev->proc.tid = 4243;
	ev->proc.ppid = 1;
	ev->proc.uid = 1000;
	ev->proc.gid = 1001;
	ev->proc.euid = 0;
	ev->proc.egid = 0;
	ev->proc.auid = 1000;
	memcpy(ev->proc.comm, "bash", 5);
	ev->proc.executable = hn_event_puts(ev, "/usr/bin/bash");
	ev->proc.parent_executable = hn_event_puts(ev, "/usr/lib/systemd/systemd");
	return ev;
}

static const char tricky_arg[] =
	"bad\xff\xfe utf8 \xc0\xaf overlong \xed\xa0\x80 surrogate "
	"\xf4\x90\x80\x80 big \xe2\x82 trunc \xf0\x9f\x98";
#define FFFD "\xef\xbf\xbd"
static const char tricky_want[] =
	"bad" FFFD FFFD " utf8 " FFFD FFFD " overlong " FFFD FFFD FFFD
	" surrogate " FFFD FFFD FFFD FFFD " big " FFFD " trunc " FFFD;

static void test_process_start_args_are_exact(void **state)
{
	(void)state;
	static const char *const argv[] = {
		"/bin/sh",
		"-c",
		"echo \"hi there\" \\ back\\\\slash",
		"tab\there\nnl\x01" "ctl\x1f\x7f end",
		tricky_arg,
		"ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8",
		"",
	};
	const size_t argc = sizeof(argv) / sizeof(argv[0]);
	struct hn_strbuf args;
	struct hn_event *ev = base_event(HN_EV_PROCESS_START);
	struct doc d;

	hn_strbuf_init(&args);
	for (size_t i = 0; i < argc; i++)
		hn_strbuf_add(&args, argv[i], strlen(argv[i]) + 1);
	args.len--;  /* as the sensor keeps it: NUL-separated, last NUL cut */
	ev->args = hn_event_put(ev, args.buf, args.len);
	ev->args_len = args.len;
	ev->argc = (uint32_t)argc;
	ev->path = hn_event_puts(ev, "/usr/bin/dash");
	ev->filename = hn_event_puts(ev, "/bin/sh");
	ev->cwd = hn_event_puts(ev, "/home/u/dir with space");
	ev->tty = hn_event_puts(ev, "pts/1");
	ev->container_id = hn_event_puts(ev, "c0ffee");
	ev->flags = HN_EVF_ARGV_TRUNC | HN_EVF_MEMFD;
	ev->ino = 1234567;
	ev->dev = 2049;
	ev->size = 125560;
	memcpy(ev->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 65);
	hn_strbuf_release(&args);

	doc_render(&d, ev, "host-1");
	/* the invalid bytes became U+FFFD in the raw output */
	assert_non_null(strstr(d.json.buf, "bad" FFFD FFFD " utf8"));

	EXPECT_STR(&d, "@timestamp", "2026-11-27T05:27:51.123456789Z");
	EXPECT_STR(&d, "ecs.version", HN_ECS_VERSION);
	EXPECT_STR(&d, "event.kind", "event");
	expect_val(&d, "event.category", 'A', "1");
	EXPECT_STR(&d, "event.category.0", "process");
	EXPECT_STR(&d, "event.type.0", "start");
	EXPECT_STR(&d, "event.action", "exec");
	expect_absent(&d, "event.id");       /* not stored yet */
	expect_absent(&d, "event.outcome");  /* no syscall result */
	EXPECT_STR(&d, "host.name", "host-1");

	EXPECT_STR(&d, "process.entity_id", "0123456789abcdef");
	EXPECT_NUM(&d, "process.pid", "4242");
	EXPECT_NUM(&d, "process.thread.id", "4243");
	EXPECT_STR(&d, "process.name", "bash");
	EXPECT_STR(&d, "process.executable", "/usr/bin/dash");
	expect_val(&d, "process.args", 'A', "7");
	for (size_t i = 0; i < argc; i++) {
		char path[32];
		snprintf(path, sizeof(path), "process.args.%zu", i);
		if (argv[i] == tricky_arg)
			EXPECT_STR(&d, path, tricky_want);
		else
			EXPECT_STR(&d, path, argv[i]);
	}
	EXPECT_STR(&d, "process.args.2", "echo \"hi there\" \\ back\\\\slash");
	EXPECT_NUM(&d, "process.args_count", "7");
	{
		char want[1024];
		snprintf(want, sizeof(want), "/bin/sh -c echo \"hi there\" \\ back\\\\slash "
			 "tab\there\nnl\x01" "ctl\x1f\x7f end %s ok \xc3\xa9 \xe2\x82\xac "
			 "\xf0\x9f\x98\x80 \xe2\x80\xa8 ", tricky_want);
		EXPECT_STR(&d, "process.command_line", want);
	}
	EXPECT_STR(&d, "process.working_directory", "/home/u/dir with space");
	EXPECT_STR(&d, "process.hash.sha256",
		   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	EXPECT_STR(&d, "process.start", "2026-11-27T05:27:50.123456789Z");
	EXPECT_STR(&d, "process.parent.entity_id", "7edcba9876543210");
	EXPECT_NUM(&d, "process.parent.pid", "1");
	EXPECT_STR(&d, "process.parent.executable", "/usr/lib/systemd/systemd");
	expect_absent(&d, "process.exit_code");
	EXPECT_STR(&d, "user.id", "1000");
	EXPECT_STR(&d, "user.effective.id", "0");
	EXPECT_STR(&d, "group.id", "1001");
	EXPECT_STR(&d, "container.id", "c0ffee");
	expect_absent(&d, "file");

	EXPECT_STR(&d, "hinomi.type", "process_start");
	EXPECT_NUM(&d, "hinomi.argv_truncated", "true");
	EXPECT_NUM(&d, "hinomi.memfd", "true");
	expect_absent(&d, "hinomi.deleted");
	expect_absent(&d, "hinomi.result");
	EXPECT_STR(&d, "hinomi.process.exec_filename", "/bin/sh");
	EXPECT_STR(&d, "hinomi.process.tty", "pts/1");
	EXPECT_STR(&d, "hinomi.process.egid", "0");
	EXPECT_STR(&d, "hinomi.process.auid", "1000");
	EXPECT_STR(&d, "hinomi.process.executable_file.inode", "1234567");
	EXPECT_NUM(&d, "hinomi.process.executable_file.size", "125560");

	/* U+2028 is escaped, not raw */
	assert_null(strstr(d.json.buf, "\xe2\x80\xa8"));
	assert_non_null(strstr(d.json.buf, "\\u2028"));
	/* no trailing newline */
	assert_int_not_equal(d.json.buf[d.json.len - 1], '\n');
	assert_int_equal(d.json.buf[d.json.len - 1], '}');
	doc_release(&d);
	hn_event_free(ev);
}

static void test_args_split_edge_cases(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_PROCESS_SNAPSHOT);
	struct doc d;

	/* argv cut by the sensor: no final NUL, argc larger than kept */
	ev->args = hn_event_put(ev, "python3\0-c\0import o", 19);
	ev->args_len = 19;
	ev->argc = 5;
	ev->flags = HN_EVF_ARGV_TRUNC | HN_EVF_SNAPSHOT;
	doc_render(&d, ev, NULL);
	expect_val(&d, "process.args", 'A', "3");
	EXPECT_STR(&d, "process.args.2", "import o");
	EXPECT_NUM(&d, "process.args_count", "5");
	EXPECT_STR(&d, "process.command_line", "python3 -c import o");
	EXPECT_STR(&d, "event.action", "snapshot");
	EXPECT_NUM(&d, "hinomi.snapshot", "true");
	expect_absent(&d, "host");
	/* no path: the executable is the enrichment's */
	EXPECT_STR(&d, "process.executable", "/usr/bin/bash");
	doc_release(&d);

	/* argc smaller than the parts: argc wins */
	ev->argc = 1;
	doc_render(&d, ev, "");
	expect_val(&d, "process.args", 'A', "1");
	EXPECT_STR(&d, "process.command_line", "python3");
	expect_absent(&d, "host");
	doc_release(&d);

	/* NUL-separated: "a\0" is "a" and "" */
	ev->args = hn_event_put(ev, "a\0", 2);
	ev->args_len = 2;
	ev->argc = 2;
	doc_render(&d, ev, NULL);
	expect_val(&d, "process.args", 'A', "2");
	EXPECT_STR(&d, "process.args.1", "");
	EXPECT_STR(&d, "process.command_line", "a ");
	doc_release(&d);
	/* a kept final NUL adds no part: argc bounds, or ends it when argc 0 */
	ev->args = hn_event_put(ev, "a\0b\0", 4);
	ev->args_len = 4;
	for (uint32_t argc = 0; argc < 3; argc += 2) {
		ev->argc = argc;
		doc_render(&d, ev, NULL);
		expect_val(&d, "process.args", 'A', "2");
		EXPECT_STR(&d, "process.args.1", "b");
		EXPECT_NUM(&d, "process.args_count", "2");
		EXPECT_STR(&d, "process.command_line", "a b");
		doc_release(&d);
	}
	/* argv [""] */
	ev->args = hn_event_put(ev, "", 0);
	ev->args_len = 0;
	ev->argc = 1;
	doc_render(&d, ev, NULL);
	expect_val(&d, "process.args", 'A', "1");
	EXPECT_STR(&d, "process.args.0", "");
	doc_release(&d);

	/* no args at all: no args fields */
	ev->args = NULL;
	ev->args_len = 0;
	ev->argc = 0;
	doc_render(&d, ev, NULL);
	expect_absent(&d, "process.args");
	expect_absent(&d, "process.args_count");
	expect_absent(&d, "process.command_line");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_file_rename_carries_both_paths(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_FILE_RENAME);
	struct doc d;

	ev->path = hn_event_puts(ev, "/tmp/stage/a.out");
	ev->path2 = hn_event_puts(ev, "/usr/local/bin/.hidden");
	ev->ino = 99;
	ev->dev = 8;
	doc_render(&d, ev, "h");
	EXPECT_STR(&d, "event.category.0", "file");
	EXPECT_STR(&d, "event.type.0", "change");
	EXPECT_STR(&d, "event.action", "rename");
	EXPECT_STR(&d, "event.outcome", "success");
	EXPECT_STR(&d, "file.path", "/usr/local/bin/.hidden");
	EXPECT_STR(&d, "file.name", ".hidden");
	EXPECT_STR(&d, "file.directory", "/usr/local/bin");
	EXPECT_STR(&d, "file.inode", "99");
	EXPECT_STR(&d, "file.device", "8");
	EXPECT_STR(&d, "hinomi.file.original.path", "/tmp/stage/a.out");
	EXPECT_STR(&d, "hinomi.file.original.name", "a.out");
	EXPECT_STR(&d, "hinomi.file.original.directory", "/tmp/stage");
	EXPECT_NUM(&d, "hinomi.result", "0");
	/* process fields are there for file events too, without args */
	EXPECT_STR(&d, "process.executable", "/usr/bin/bash");
	expect_absent(&d, "process.args");
	expect_absent(&d, "file.mode");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_file_metadata_events(void **state)
{
	(void)state;
	struct hn_event *ev;
	struct doc d;

	ev = base_event(HN_EV_FILE_CHMOD);
	ev->path = hn_event_puts(ev, "/x");
	ev->mode = 0100755;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "file.mode", "0755");
	EXPECT_STR(&d, "file.name", "x");
	EXPECT_STR(&d, "file.directory", "/");
	EXPECT_STR(&d, "event.action", "chmod");
	doc_release(&d);
	ev->mode = 0;  /* chmod 000 is still a mode */
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "file.mode", "0000");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_FILE_CHOWN);
	ev->path = hn_event_puts(ev, "/etc/shadow");
	ev->owner_uid = 1000;
	ev->owner_gid = UINT32_MAX;  /* unchanged */
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "file.uid", "1000");
	expect_absent(&d, "file.gid");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_FILE_SYMLINK);
	ev->path = hn_event_puts(ev, "/tmp/l");
	ev->path2 = hn_event_puts(ev, "/etc/passwd");
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "file.path", "/tmp/l");
	EXPECT_STR(&d, "file.target_path", "/etc/passwd");
	EXPECT_STR(&d, "file.type", "symlink");
	expect_absent(&d, "hinomi.file");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_FILE_LINK);  /* link(old, new) */
	ev->path = hn_event_puts(ev, "/usr/bin/sudo");
	ev->path2 = hn_event_puts(ev, "/tmp/x/sudo");
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "file.path", "/tmp/x/sudo");
	EXPECT_STR(&d, "file.target_path", "/usr/bin/sudo");
	EXPECT_STR(&d, "event.action", "link");
	expect_absent(&d, "file.type");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_DIR_CREATE);
	ev->path = hn_event_puts(ev, "/var/tmp/.x");
	ev->mode = 0700;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "file.type", "dir");
	EXPECT_STR(&d, "file.mode", "0700");
	EXPECT_STR(&d, "event.action", "mkdir");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_FILE_TRUNCATE);
	ev->path = hn_event_puts(ev, "/var/log/auth.log");
	ev->size = 0;
	doc_render(&d, ev, NULL);
	EXPECT_NUM(&d, "file.size", "0");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_FILE_OPEN_WRITE);
	ev->path = hn_event_puts(ev, "/etc/cron.d/job");
	ev->flags = HN_EVF_CREATED | HN_EVF_TRUNC;
	ev->oflags = 01101;
	ev->cookie = 77;
	ev->result = 3;
	doc_render(&d, ev, NULL);
	EXPECT_NUM(&d, "hinomi.created", "true");
	EXPECT_NUM(&d, "hinomi.o_trunc", "true");
	EXPECT_NUM(&d, "hinomi.file.oflags", "577");
	EXPECT_STR(&d, "hinomi.file.cookie", "77");
	EXPECT_NUM(&d, "hinomi.result", "3");
	expect_absent(&d, "hinomi.errno");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_failed_syscall_is_a_failure(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_FILE_DELETE);
	struct doc d;

	ev->path = hn_event_puts(ev, "/etc/passwd");
	ev->result = -EACCES;
	ev->flags = HN_EVF_FAILED;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "event.outcome", "failure");
	EXPECT_STR(&d, "event.type.0", "deletion");
	EXPECT_NUM(&d, "hinomi.result", "-13");
	EXPECT_STR(&d, "hinomi.errno", "EACCES");
	EXPECT_NUM(&d, "hinomi.failed", "true");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_connect_carries_destination(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_NET_CONNECT);
	struct doc d;

	ev->transport = IPPROTO_TCP;
	assert_int_equal(hn_addr_parse("10.0.0.5", &ev->src), 0);
	ev->src.port = 40000;
	assert_int_equal(hn_addr_parse("93.184.216.34", &ev->dst), 0);
	ev->dst.port = 443;
	ev->flags = HN_EVF_INPROGRESS;
	ev->result = 0;
	ev->id = 12345;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "destination.ip", "93.184.216.34");
	EXPECT_NUM(&d, "destination.port", "443");
	EXPECT_STR(&d, "source.ip", "10.0.0.5");
	EXPECT_NUM(&d, "source.port", "40000");
	EXPECT_STR(&d, "network.transport", "tcp");
	EXPECT_STR(&d, "network.iana_number", "6");
	EXPECT_STR(&d, "network.type", "ipv4");
	EXPECT_STR(&d, "network.direction", "egress");
	EXPECT_STR(&d, "event.action", "connect");
	EXPECT_STR(&d, "event.category.0", "network");
	EXPECT_STR(&d, "event.outcome", "unknown");
	EXPECT_STR(&d, "event.id", "12345");
	EXPECT_NUM(&d, "hinomi.in_progress", "true");
	expect_absent(&d, "dns");
	expect_absent(&d, "file");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_accept_source_is_the_peer(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_NET_ACCEPT);
	struct doc d;

	ev->transport = IPPROTO_TCP;
	assert_int_equal(hn_addr_parse("::1", &ev->src), 0);  /* local */
	ev->src.port = 22;
	assert_int_equal(hn_addr_parse("2001:db8::7", &ev->dst), 0);  /* peer */
	ev->dst.port = 51000;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "source.ip", "2001:db8::7");
	EXPECT_NUM(&d, "source.port", "51000");
	EXPECT_STR(&d, "destination.ip", "::1");
	EXPECT_NUM(&d, "destination.port", "22");
	EXPECT_STR(&d, "network.type", "ipv6");
	EXPECT_STR(&d, "network.direction", "ingress");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_NET_LISTEN);
	ev->transport = IPPROTO_TCP;
	assert_int_equal(hn_addr_parse("0.0.0.0", &ev->src), 0);
	ev->src.port = 4444;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "source.ip", "0.0.0.0");
	EXPECT_NUM(&d, "source.port", "4444");
	expect_absent(&d, "destination");
	expect_absent(&d, "network.direction");
	EXPECT_STR(&d, "event.action", "listen");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_NET_CONNECT);
	ev->src.family = AF_UNIX;
	ev->dst.family = AF_UNIX;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "destination.address", "unix");
	expect_absent(&d, "destination.ip");
	expect_absent(&d, "network.type");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_dns_query_carries_question(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_DNS_QUERY);
	struct doc d;

	ev->transport = IPPROTO_UDP;
	assert_int_equal(hn_addr_parse("127.0.0.53", &ev->dst), 0);
	ev->dst.port = 53;
	ev->dns_name = hn_event_puts(ev, "c2.example.com");
	ev->dns_type = 28;
	ev->result = 32;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "dns.question.name", "c2.example.com");
	EXPECT_STR(&d, "dns.question.type", "AAAA");
	EXPECT_STR(&d, "dns.type", "query");
	EXPECT_STR(&d, "network.protocol", "dns");
	EXPECT_STR(&d, "network.transport", "udp");
	EXPECT_STR(&d, "destination.ip", "127.0.0.53");
	EXPECT_NUM(&d, "destination.port", "53");
	EXPECT_STR(&d, "event.action", "dns_query");
	EXPECT_STR(&d, "event.type.0", "protocol");
	doc_release(&d);

	ev->dns_type = 999;
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "dns.question.type", "TYPE999");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_exit_and_process_kinds(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_PROCESS_EXIT);
	struct doc d;

	ev->exit_code = -1;
	ev->exit_signal = 9;
	doc_render(&d, ev, NULL);
	EXPECT_NUM(&d, "process.exit_code", "-1");
	EXPECT_STR(&d, "process.end", "2026-11-27T05:27:51.123456789Z");
	EXPECT_NUM(&d, "hinomi.process.exit_signal", "9");
	EXPECT_STR(&d, "event.type.0", "end");
	EXPECT_STR(&d, "event.action", "exit");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_PTRACE);
	ev->request = 16;  /* PTRACE_ATTACH */
	ev->target_pid = 777;
	ev->target_entity = 0xabcULL;
	doc_render(&d, ev, NULL);
	EXPECT_NUM(&d, "hinomi.ptrace.request", "16");
	EXPECT_NUM(&d, "hinomi.target.pid", "777");
	EXPECT_STR(&d, "hinomi.target.entity_id", "0000000000000abc");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_CRED_CHANGE);
	ev->request = 105;
	ev->name = hn_event_puts(ev, "setuid");
	ev->cred_arg[0] = 0;
	ev->cred_arg[1] = 4294967295u;
	ev->cred_arg[2] = 3;
	doc_render(&d, ev, NULL);
	EXPECT_NUM(&d, "hinomi.cred.syscall", "105");
	EXPECT_STR(&d, "hinomi.cred.kind", "setuid");
	expect_val(&d, "hinomi.cred.args", 'A', "3");
	EXPECT_NUM(&d, "hinomi.cred.args.0", "0");
	EXPECT_NUM(&d, "hinomi.cred.args.1", "4294967295");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_MEMFD_CREATE);
	ev->name = hn_event_puts(ev, "x\"y");
	ev->result = 5;
	ev->oflags = 3;
	ev->flags = HN_EVF_MEMFD;
	doc_render(&d, ev, NULL);
	EXPECT_NUM(&d, "hinomi.memfd_flags", "3");
	EXPECT_NUM(&d, "hinomi.memfd", "true");
	EXPECT_STR(&d, "file.name", "x\"y");
	EXPECT_STR(&d, "event.action", "memfd_create");
	doc_release(&d);
	hn_event_free(ev);

	ev = base_event(HN_EV_MOUNT);
	ev->path = hn_event_puts(ev, "/mnt");
	ev->path2 = hn_event_puts(ev, "/dev/sdb1");
	ev->name = hn_event_puts(ev, "ext4");
	doc_render(&d, ev, NULL);
	EXPECT_STR(&d, "hinomi.mount.target", "/mnt");
	EXPECT_STR(&d, "hinomi.mount.source", "/dev/sdb1");
	EXPECT_STR(&d, "hinomi.mount.fstype", "ext4");
	expect_absent(&d, "file");
	doc_release(&d);
	hn_event_free(ev);
}

static void test_gap_has_counts_and_no_actor(void **state)
{
	(void)state;
	struct hn_event *ev = hn_event_new(0);
	struct doc d;

	ev->type = HN_EV_GAP;
	ev->time = T0;
	ev->gap_dropped = 12;
	ev->gap_queue = 0;
	doc_render(&d, ev, "h");
	EXPECT_STR(&d, "event.action", "events_lost");
	EXPECT_STR(&d, "event.category.0", "host");
	EXPECT_NUM(&d, "hinomi.gap.dropped", "12");
	EXPECT_NUM(&d, "hinomi.gap.queue", "0");
	expect_absent(&d, "process");
	expect_absent(&d, "user");
	expect_absent(&d, "group");
	expect_absent(&d, "hinomi.process");
	doc_release(&d);
	hn_event_free(ev);
}

/* Every type number (and unknown ones) renders valid JSON with every field
 * filled, and none crashes on absent fields. */
static void test_every_type_renders_valid_json(void **state)
{
	(void)state;
	const unsigned ntypes = HN_EV_TYPE_MAX + 3;
	struct doc d;

	doc_init(&d);
	for (unsigned t = 0; t < ntypes; t++) {
		for (int full = 0; full < 2; full++) {
			struct hn_event *ev = full ? base_event((uint16_t)t) : hn_event_new(0);

			ev->type = (uint16_t)t;
			if (full) {
				ev->path = hn_event_puts(ev, "/a/b\xff");
				ev->path2 = hn_event_puts(ev, "/c\n/d");
				ev->name = hn_event_puts(ev, "n\\");
				ev->args = hn_event_put(ev, "a\0b", 3);
				ev->args_len = 3;
				ev->argc = 2;
				ev->cwd = hn_event_puts(ev, "/");
				ev->tty = hn_event_puts(ev, "pts/0");
				ev->cgroup = hn_event_puts(ev, "user.slice");
				ev->dns_name = hn_event_puts(ev, "a.b");
				ev->container_id = hn_event_puts(ev, "c");
				ev->flags = 0xffff;
				ev->result = -1;
				ev->ino = ev->dev = ev->size = ev->mtime = 1;
				ev->mode = 0644;
				ev->src.family = AF_INET;
				ev->dst.family = AF_INET6;
				ev->transport = 132;
				ev->target_pid = 1;
				memset(ev->proc.comm, 'c', sizeof(ev->proc.comm));  /* no NUL */
				memset(ev->sha256, 'f', sizeof(ev->sha256));        /* no NUL */
			}
			doc_add(&d, ev, "h\"ost");
			hn_event_free(ev);
		}
	}
	doc_check(&d);
	for (unsigned t = 0; t < ntypes; t++) {
		for (int full = 0; full < 2; full++) {
			d.idx = (int)(t * 2 + (unsigned)full);
			if (hn_event_kind(t)->name) {
				EXPECT_STR(&d, "hinomi.type", hn_event_kind(t)->name);
				EXPECT_STR(&d, "event.action", hn_event_kind(t)->action);
			} else {
				char n[16];
				snprintf(n, sizeof(n), "%u", t);
				EXPECT_NUM(&d, "hinomi.type_id", n);
				expect_absent(&d, "event.action");
			}
			if (full) {
				EXPECT_STR(&d, "process.name", "cccccccccccccccc");
				/* a refused exec's hash is its file's, not the process's */
				EXPECT_STR(&d, t == HN_EV_EXEC_BLOCKED ? "file.hash.sha256" :
					   "process.hash.sha256", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
				EXPECT_STR(&d, "host.name", "h\"ost");
			} else {
				if (t == HN_EV_PROCESS_EXIT)  /* exit_code 0 */
					EXPECT_NUM(&d, "process.exit_code", "0");
				else
					expect_absent(&d, "process");
				expect_absent(&d, "user");
				EXPECT_STR(&d, "@timestamp", "1970-01-01T00:00:00.000000000Z");
			}
		}
	}
	doc_release(&d);
}

static void test_render_appends_and_reports_errors(void **state)
{
	(void)state;
	struct hn_event *ev = base_event(HN_EV_PROCESS_FORK);
	struct hn_strbuf b;
	size_t first;

	hn_strbuf_init(&b);
	hn_strbuf_adds(&b, "[");
	assert_int_equal(hn_ecs_render(ev, NULL, &b), 0);
	first = b.len;
	hn_strbuf_adds(&b, ",");
	assert_int_equal(hn_ecs_render(ev, NULL, &b), 0);
	assert_int_equal(b.len, 2 * first);
	assert_memory_equal(b.buf + 1, b.buf + first + 1, first - 1);
	assert_int_equal(hn_ecs_render(NULL, NULL, &b), -EINVAL);
	b.oom = true;
	assert_int_equal(hn_ecs_render(ev, NULL, &b), -ENOMEM);
	hn_strbuf_release(&b);
	hn_event_free(ev);
}

static void test_ecs_time(void **state)
{
	(void)state;
	char buf[HN_ECS_TIME_LEN], small[30];

	hn_ecs_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
	hn_ecs_time(T0, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-27T05:27:51.123456789Z");
	hn_ecs_time(951782400ULL * 1000000000ULL + 1, buf, sizeof(buf));
	assert_string_equal(buf, "2000-02-29T00:00:00.000000001Z");
	hn_ecs_time(T0, small, sizeof(small));  /* 30 chars need 31 bytes */
	assert_string_equal(small, "");
	hn_ecs_time(T0, small, 0);
}

/* ---- the writer ---- */

static void test_strbuf_grows_and_terminates(void **state)
{
	(void)state;
	struct hn_strbuf b;
	char *mem;

	hn_strbuf_init(&b);
	assert_null(b.buf);
	hn_strbuf_add(&b, "", 0);
	for (int i = 0; i < 1000; i++)
		hn_strbuf_addf(&b, "%04d,", i);
	assert_int_equal(b.len, 5000);
	assert_int_equal(b.buf[b.len], '\0');
	assert_memory_equal(b.buf + 4995, "0999,", 5);
	hn_strbuf_addc(&b, '\0');
	hn_strbuf_adds(&b, "x");
	assert_int_equal(b.len, 5002);
	assert_int_equal(b.buf[5000], '\0');
	assert_int_equal(b.buf[5001], 'x');
	mem = b.buf;
	hn_strbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.buf, mem);   /* memory kept */
	assert_string_equal(b.buf, "");
	hn_strbuf_addf(&b, "%s-%d", "long string that needs no growth", 7);
	assert_string_equal(b.buf, "long string that needs no growth-7");
	assert_false(b.oom);
	hn_strbuf_release(&b);
	assert_null(b.buf);
	hn_strbuf_release(NULL);
}

static void test_strbuf_oom_drops_further_appends(void **state)
{
	(void)state;
	struct hn_strbuf b;

	hn_strbuf_init(&b);
	hn_strbuf_adds(&b, "abc");
	hn_strbuf_add(&b, "x", SIZE_MAX - 2);  /* cannot be: overflow */
	assert_true(b.oom);
	assert_string_equal(b.buf, "abc");
	hn_strbuf_adds(&b, "def");
	hn_strbuf_addf(&b, "%d", 5);
	hn_strbuf_addc(&b, 'g');
	assert_string_equal(b.buf, "abc");
	assert_int_equal(b.len, 3);
	hn_strbuf_reset(&b);
	assert_false(b.oom);
	hn_strbuf_adds(&b, "ok");
	assert_string_equal(b.buf, "ok");
	hn_strbuf_release(&b);
}

static void json_of(struct hn_strbuf *b, const char *s, size_t n)
{
	hn_strbuf_reset(b);
	hn_json_str(b, s, n);
	assert_false(b->oom);
}

static void test_json_str_escapes(void **state)
{
	(void)state;
	struct hn_strbuf b;

	hn_strbuf_init(&b);
	json_of(&b, "", 0);
	assert_string_equal(b.buf, "\"\"");
	json_of(&b, "a\"b\\c/d", 7);
	assert_string_equal(b.buf, "\"a\\\"b\\\\c/d\"");
	json_of(&b, "\b\f\n\r\t\x01\x1f\x7f", 8);
	assert_string_equal(b.buf, "\"\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\"");
	json_of(&b, "a\0b", 3);
	assert_string_equal(b.buf, "\"a\\u0000b\"");
	json_of(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf", 13);
	assert_string_equal(b.buf, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"");
	json_of(&b, "\xe2\x80\xa8\xe2\x80\xa9", 6);
	assert_string_equal(b.buf, "\"\\u2028\\u2029\"");
	/* ill-formed: one U+FFFD per maximal subpart */
	json_of(&b, "\xc0\x80", 2);                 /* overlong NUL */
	assert_string_equal(b.buf, "\"" FFFD FFFD "\"");
	json_of(&b, "\xe0\x80\xaf", 3);             /* overlong '/' */
	assert_string_equal(b.buf, "\"" FFFD FFFD FFFD "\"");
	json_of(&b, "\xed\xb0\x80", 3);             /* low surrogate */
	assert_string_equal(b.buf, "\"" FFFD FFFD FFFD "\"");
	json_of(&b, "\xf4\x90\x80\x80", 4);         /* U+110000 */
	assert_string_equal(b.buf, "\"" FFFD FFFD FFFD FFFD "\"");
	json_of(&b, "\xf0\x9f\x98", 3);             /* truncated at the end */
	assert_string_equal(b.buf, "\"" FFFD "\"");
	json_of(&b, "\xe2\x82" "a", 3);             /* truncated mid-string */
	assert_string_equal(b.buf, "\"" FFFD "a\"");
	json_of(&b, "\x80\xbf\xf8\xff", 4);         /* never valid */
	assert_string_equal(b.buf, "\"" FFFD FFFD FFFD FFFD "\"");
	/* only n bytes are read */
	json_of(&b, "abc\xc3\xa9", 4);
	assert_string_equal(b.buf, "\"abc" FFFD "\"");
	hn_strbuf_release(&b);
}

/* Differential: random byte strings, checked against Python's
 * bytes.decode('utf-8', 'replace') through json.loads. */
static void test_json_str_matches_python_replace(void **state)
{
	(void)state;
	static const unsigned char pool[] = { 'a', '"', '\\', 0, '\n', 0x1f, 0x7f,
		0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xa8, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe2, 0xed, 0xee, 0xef, 0xf0, 0xf4, 0xf5, 0xff };
	struct hn_strbuf lines, one, out;
	uint64_t x = 0x9e3779b97f4a7c15ULL;

	hn_strbuf_init(&lines);
	hn_strbuf_init(&one);
	hn_strbuf_init(&out);
	for (int i = 0; i < 5000; i++) {
		unsigned char s[12];
		size_t n;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = (size_t)(x % sizeof(s));
		for (size_t k = 0; k < n; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			s[k] = (x & 3) ? pool[(x >> 8) % sizeof(pool)] : (unsigned char)(x >> 16);
			hn_strbuf_addf(&lines, "%02x", s[k]);
		}
		hn_strbuf_addc(&lines, '\t');
		json_of(&one, (const char *)s, n);
		hn_strbuf_add(&lines, one.buf, one.len);
		hn_strbuf_addc(&lines, '\n');
	}
	assert_false(lines.oom);
	if (run_py(utf8_path, lines.buf, lines.len, &out) != 0) {
		print_error("%s\n", out.buf ? out.buf : "(no output)");
		fail();
	}
	assert_string_equal(out.buf, "bad 0\n");
	hn_strbuf_release(&lines);
	hn_strbuf_release(&one);
	hn_strbuf_release(&out);
}

/* ---- reading ECS back (hn_ecs_parse) ---- */

/* Render ev, parse it back: the copy (caller frees). */
static struct hn_event *round_trip(const struct hn_event *ev)
{
	struct hn_strbuf b;
	struct hn_event *back = NULL;
	char err[200];

	hn_strbuf_init(&b);
	assert_int_equal(hn_ecs_render(ev, "box", &b), 0);
	if (hn_ecs_parse(b.buf, b.len, &back, err, sizeof(err)) < 0)
		fail_msg("%s: %s", b.buf, err);
	hn_strbuf_release(&b);
	assert_non_null(back);
	assert_int_equal(back->type, ev->type);
	assert_true(back->time == ev->time);
	assert_true(back->proc.entity == ev->proc.entity);
	assert_true(back->proc.parent_entity == ev->proc.parent_entity);
	assert_int_equal(back->proc.pid, ev->proc.pid);
	assert_int_equal(back->proc.ppid, ev->proc.ppid);
	assert_int_equal(back->proc.uid, ev->proc.uid);
	assert_string_equal(back->proc.comm, ev->proc.comm);
	return back;
}

static void test_parse_reads_back_what_render_writes(void **state)
{
	struct hn_event *ev, *back;
	static const char argv[] = "sh\0-c\0echo 'a b'\0";

	(void)state;
	ev = base_event(HN_EV_PROCESS_START);
	ev->path = hn_event_puts(ev, "/usr/bin/dash");
	ev->filename = hn_event_puts(ev, "/bin/sh");
	ev->args = hn_event_put(ev, argv, sizeof(argv) - 1);
	ev->args_len = sizeof(argv) - 1;
	ev->argc = 3;
	ev->cwd = hn_event_puts(ev, "/tmp/w");
	memset(ev->sha256, 'a', 64);
	ev->sha256[64] = '\0';
	back = round_trip(ev);
	assert_string_equal(back->path, "/usr/bin/dash");
	assert_string_equal(back->filename, "/bin/sh");
	assert_int_equal(back->argc, 3);
	assert_int_equal(back->args_len, sizeof(argv) - 1);
	assert_memory_equal(back->args, argv, sizeof(argv) - 1);
	assert_string_equal(back->cwd, "/tmp/w");
	assert_string_equal(back->sha256, ev->sha256);
	assert_string_equal(back->proc.parent_executable, "/usr/lib/systemd/systemd");
	hn_event_free(back);
	hn_event_free(ev);

	ev = base_event(HN_EV_FILE_RENAME);
	ev->path = hn_event_puts(ev, "/tmp/x");
	ev->path2 = hn_event_puts(ev, "/etc/cron.d/x");
	ev->cookie = 0xffff888812345678ULL;   /* beyond int64: still read */
	back = round_trip(ev);
	assert_string_equal(back->path, "/tmp/x");
	assert_string_equal(back->path2, "/etc/cron.d/x");
	assert_string_equal(back->proc.executable, "/usr/bin/bash");
	hn_event_free(back);
	hn_event_free(ev);

	/* an accept: the peer (ECS source) goes back to dst */
	ev = base_event(HN_EV_NET_ACCEPT);
	ev->transport = IPPROTO_TCP;
	assert_int_equal(hn_addr_parse("127.0.0.1", &ev->src), 0);
	ev->src.family = AF_INET;
	ev->src.port = 8080;
	assert_int_equal(hn_addr_parse("2001:db8::7", &ev->dst), 0);
	ev->dst.family = AF_INET6;
	ev->dst.port = 50000;
	back = round_trip(ev);
	assert_int_equal(back->transport, IPPROTO_TCP);
	assert_int_equal(back->src.family, AF_INET);
	assert_int_equal(back->src.port, 8080);
	assert_memory_equal(back->src.addr, ev->src.addr, 4);
	assert_int_equal(back->dst.family, AF_INET6);
	assert_int_equal(back->dst.port, 50000);
	assert_memory_equal(back->dst.addr, ev->dst.addr, 16);
	hn_event_free(back);
	hn_event_free(ev);

	ev = base_event(HN_EV_DNS_QUERY);
	ev->dns_name = hn_event_puts(ev, "example.org");
	back = round_trip(ev);
	assert_string_equal(back->dns_name, "example.org");
	hn_event_free(back);
	hn_event_free(ev);

	ev = base_event(HN_EV_LOG);
	ev->name = hn_event_puts(ev, "sshd");
	ev->args = hn_event_puts(ev, "Accepted password for root");
	ev->args_len = strlen("Accepted password for root") + 1;
	ev->argc = 1;
	ev->filename = hn_event_puts(ev, "/var/log/auth.log");
	ev->mode = 86;
	ev->oflags = 1;
	back = round_trip(ev);
	assert_string_equal(back->name, "sshd");
	assert_string_equal(back->args, "Accepted password for root");
	assert_string_equal(back->filename, "/var/log/auth.log");
	assert_int_equal(back->mode, 86);
	hn_event_free(back);
	hn_event_free(ev);
}

static void test_parse_refuses_what_is_no_event(void **state)
{
	static const struct {
		const char *in, *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "{", "not JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"a\":1}", "no event type" },
		{ "{\"hinomi\":{\"type\":\"nope\"}}", "no event type" },
		{ "{\"event\":{\"category\":[\"file\"],\"action\":\"x\"}}", "no event type" },
		{ "{\"a\":1,\"a\":2}", "not JSON" },
	};
	struct hn_event *ev = NULL;
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hn_ecs_parse(bad[i].in, strlen(bad[i].in), &ev, err,
					      sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].why))
			fail_msg("'%s': '%s', wanted '%s'", bad[i].in, err, bad[i].why);
		assert_null(ev);
	}
	/* another tool's ECS: category and action, numbers as numbers */
	static const char other[] =
		"{\"@timestamp\":\"2026-11-27T10:00:00Z\",\"event\":{\"category\":[\"file\"],"
		"\"action\":\"deletion\"},\"process\":{\"pid\":77,\"executable\":\"/bin/rm\"},"
		"\"file\":{\"path\":\"/var/log/wtmp\"},\"user\":{\"id\":0}}";
	assert_int_equal(hn_ecs_parse(other, strlen(other), &ev, err, sizeof(err)), 0);
	assert_int_equal(ev->type, HN_EV_FILE_DELETE);
	assert_int_equal(ev->proc.pid, 77);
	assert_string_equal(ev->path, "/var/log/wtmp");
	assert_true(ev->time == 1795773600000000000ULL);
	hn_event_free(ev);
}

/* Pre-rendered JSON goes in as it is when its structure is sound, else
 * as a string (never broken JSON). */
static void test_json_raw_values(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "{\"a\":[1,{\"b\":\"}\"}]}", "{\"r\":{\"a\":[1,{\"b\":\"}\"}]}}" },
		{ " [1, 2] ", "{\"r\": [1, 2] }" },
		{ "{\"a\":1", "{\"r\":\"{\\\"a\\\":1\"}" },
		{ "{\"a\":1}}", "{\"r\":\"{\\\"a\\\":1}}\"}" },
		{ "{\"a\":\"x}", "{\"r\":\"{\\\"a\\\":\\\"x}\"}" },
		{ "[}", "{\"r\":\"[}\"}" },
		{ "42", "{\"r\":\"42\"}" },
		{ "{} x", "{\"r\":\"{} x\"}" },
		{ "{\"a\":\"\x01\"}", "{\"r\":\"{\\\"a\\\":\\\"\\u0001\\\"}\"}" },
		{ NULL, "{\"r\":null}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hn_strbuf b;
		struct hn_json j;
		hn_strbuf_init(&b);
		hn_json_begin(&j, &b);
		hn_json_obj_open(&j, NULL);
		hn_json_kv_raw(&j, "r", cases[i].in);
		hn_json_obj_close(&j);
		assert_int_equal(hn_json_end(&j), 0);
		assert_string_equal(b.buf, cases[i].out);
		hn_strbuf_release(&b);
	}
}

static void test_json_builder_commas_and_optional(void **state)
{
	(void)state;
	struct hn_strbuf b;
	struct hn_json j;

	hn_strbuf_init(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "a", "x");
	hn_json_obj_open_opt(&j, "empty");
	hn_json_obj_open_opt(&j, "deeper");
	hn_json_arr_open_opt(&j, "list");
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	hn_json_obj_close(&j);
	hn_json_obj_open_opt(&j, "o");
	hn_json_obj_open_opt(&j, "p");
	hn_json_kv_u64(&j, "n", 18446744073709551615ULL);
	hn_json_kv_i64(&j, "m", INT64_MIN);
	hn_json_obj_close(&j);
	hn_json_kv_bool(&j, "t", true);
	hn_json_obj_close(&j);
	hn_json_arr_open(&j, "l");
	hn_json_arr_str(&j, "y", 1);
	hn_json_arr_u64(&j, 2);
	hn_json_kv_null(&j, NULL);
	hn_json_kv_str(&j, NULL, NULL);
	hn_json_arr_open(&j, NULL);
	hn_json_arr_close(&j);
	hn_json_obj_open(&j, NULL);
	hn_json_obj_close(&j);
	hn_json_arr_close(&j);
	hn_json_arr_open(&j, "e");
	hn_json_arr_close(&j);
	hn_json_kv_bool(&j, "f", false);
	hn_json_obj_close(&j);
	assert_int_equal(hn_json_end(&j), 0);
	assert_string_equal(b.buf,
		"{\"a\":\"x\",\"o\":{\"p\":{\"n\":18446744073709551615,"
		"\"m\":-9223372036854775808},\"t\":true},"
		"\"l\":[\"y\",2,null,null,[],{}],\"e\":[],\"f\":false}");
	hn_strbuf_release(&b);
}

static void test_json_builder_refuses_misuse(void **state)
{
	(void)state;
	struct hn_strbuf b;
	struct hn_json j;

	hn_strbuf_init(&b);
	/* a key inside an array */
	hn_json_begin(&j, &b);
	hn_json_arr_open(&j, NULL);
	hn_json_kv_str(&j, "k", "v");
	hn_json_arr_close(&j);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	/* no key inside an object, also for an optional container */
	hn_strbuf_reset(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_open(&j, NULL);
	hn_json_obj_open_opt(&j, NULL);
	hn_json_obj_close(&j);
	hn_json_obj_close(&j);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	/* unbalanced */
	hn_strbuf_reset(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_open(&j, NULL);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	hn_json_arr_close(&j);  /* wrong kind */
	assert_int_equal(hn_json_end(&j), -EINVAL);
	hn_strbuf_reset(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_close(&j);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	/* two top-level values */
	hn_strbuf_reset(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_open(&j, NULL);
	hn_json_obj_close(&j);
	hn_json_obj_open(&j, NULL);
	hn_json_obj_close(&j);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	/* too deep */
	hn_strbuf_reset(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_open(&j, NULL);
	for (int i = 0; i < HN_JSON_MAX_DEPTH + 4; i++)
		hn_json_obj_open(&j, "d");
	for (int i = 0; i < HN_JSON_MAX_DEPTH + 5; i++)
		hn_json_obj_close(&j);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	/* nothing written */
	hn_json_begin(&j, &b);
	assert_int_equal(hn_json_end(&j), -EINVAL);
	/* out of memory wins */
	hn_strbuf_reset(&b);
	hn_json_begin(&j, &b);
	hn_json_obj_open(&j, NULL);
	b.oom = true;
	hn_json_obj_close(&j);
	assert_int_equal(hn_json_end(&j), -ENOMEM);
	hn_strbuf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_start_args_are_exact),
		cmocka_unit_test(test_args_split_edge_cases),
		cmocka_unit_test(test_file_rename_carries_both_paths),
		cmocka_unit_test(test_file_metadata_events),
		cmocka_unit_test(test_failed_syscall_is_a_failure),
		cmocka_unit_test(test_connect_carries_destination),
		cmocka_unit_test(test_accept_source_is_the_peer),
		cmocka_unit_test(test_dns_query_carries_question),
		cmocka_unit_test(test_exit_and_process_kinds),
		cmocka_unit_test(test_gap_has_counts_and_no_actor),
		cmocka_unit_test(test_every_type_renders_valid_json),
		cmocka_unit_test(test_render_appends_and_reports_errors),
		cmocka_unit_test(test_ecs_time),
		cmocka_unit_test(test_strbuf_grows_and_terminates),
		cmocka_unit_test(test_strbuf_oom_drops_further_appends),
		cmocka_unit_test(test_json_str_escapes),
		cmocka_unit_test(test_json_str_matches_python_replace),
		cmocka_unit_test(test_json_builder_commas_and_optional),
		cmocka_unit_test(test_json_raw_values),
		cmocka_unit_test(test_parse_reads_back_what_render_writes),
		cmocka_unit_test(test_parse_refuses_what_is_no_event),
		cmocka_unit_test(test_json_builder_refuses_misuse),
	};
	return cmocka_run_group_tests_name("ecs", tests, setup, teardown);
}
