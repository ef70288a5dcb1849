/*
 * test_decode.c - the sensor's decoder (sensor/decode.c): wire records
 * (sensor/wire.h) built by hand, byte for byte as the BPF side lays them
 * out (header | fixed body | strings from offset VAR_OFF = 192, see
 * emit.bpf.h), decoded into events.
 *
 * Two halves:
 *  - correctness: each record kind decodes to the exact fields (paths
 *    joined and normalised, argv bytes, flags, entity ids, wall time, the
 *    DNS query name);
 *  - robustness: malformed records (every truncation, wrong version,
 *    lengths past the end, unknown types and ops, random mutations with a
 *    fixed seed) give -EINVAL or a well-formed event, never a crash or a
 *    read outside the record.  Each record is decoded from a heap copy of
 *    exactly its length, so AddressSanitizer (make SAN=1) sees any read
 *    past the end.
 *
 * The decode context is fixed (boot id, boot->wall offset), so entity ids
 * and times are deterministic.
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
#include <unistd.h>

#include <cmocka.h>

#include "event/entity.h"
#include "event/event.h"
#include "sensor/sensor.h"
#include "sensor/wire.h"
#include "util/path.h"

#define VAR_OFF 192  /* emit.bpf.h: strings start here */

#ifdef __SANITIZE_ADDRESS__
/* Fill every malloc'd byte (not only the first 4 KiB): a read of memory the
 * decoder never wrote then shows as 0xbe garbage or a heap overflow. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "malloc_fill_byte=190:max_malloc_fill_size=1048576";
}
#endif
#define VAR_CAP 16384

/* ---- building records ---- */

struct rec {
	union {
		struct hn_wire_hdr h;
		_Alignas(8) uint8_t b[VAR_OFF + VAR_CAP];
	};
	uint32_t var;  /* bytes of strings after VAR_OFF */
};

/* Header values every record gets (as rec_begin fills them). */
#define T_PID    4242u
#define T_TID    4243u
#define T_PPID   1000u
#define T_START  5000000000ULL
#define T_PSTART 1000000ULL
#define T_TS     7000000000ULL
#define T_B2W    1700000000000000000LL  /* boot -> wall offset of the context */

static struct hn_decode_ctx ctx;
static struct rec rec_buf;  /* the record a test builds (static: no leak when an assert fails) */

static struct hn_wire_hdr *hdr(struct rec *r)
{
	return &r->h;
}

static void *body(struct rec *r)
{
	return r->b + sizeof(struct hn_wire_hdr);
}

static void rec_init(struct rec *r, uint16_t type, uint16_t op)
{
	struct hn_wire_hdr *h = hdr(r);

	memset(r, 0, sizeof(*r));
	h->type = type;
	h->op = op;
	h->version = HN_WIRE_VERSION;
	h->cpu = 3;
	h->ts = T_TS;
	h->start = T_START;
	h->pid = T_PID;
	h->tid = T_TID;
	h->ppid = T_PPID;
	h->uid = 1001;
	h->gid = 1002;
	h->euid = 1003;
	h->egid = 1004;
	h->auid = 1005;
	h->pstart = T_PSTART;
	memcpy(h->comm, "hn-comm", 8);
}

/* Append one string (header packed right after the previous string).
 * Not inlined: GCC's -Wstringop-overflow mistakes the union for its first
 * member when a constant zero length is propagated. */
__attribute__((noinline)) static void rec_str(struct rec *r, uint8_t slot, uint8_t enc, uint8_t flags,
		    const void *data, uint32_t len)
{
	struct hn_wire_str s = { .slot = slot, .enc = enc, .flags = flags, .len = len };

	assert_true(r->var + sizeof(s) + len <= VAR_CAP);
	memcpy(r->b + VAR_OFF + r->var, &s, sizeof(s));
	if (len)
		memcpy(r->b + VAR_OFF + r->var + sizeof(s), data, len);
	r->var += (uint32_t)sizeof(s) + len;
}

/* A string literal with its embedded NULs but without the final one. */
#define LIT(s) (s), (uint32_t)(sizeof(s) - 1)

static uint32_t rec_size(struct rec *r)
{
	hdr(r)->size = VAR_OFF + r->var;
	return hdr(r)->size;
}

/* Decode `size` bytes of `data` from a heap copy of exactly that length. */
static int decode_bytes(const void *data, size_t size, struct hn_event **out)
{
	uint8_t *copy = malloc(size ? size : 1);
	int r;

	assert_non_null(copy);
	if (size)
		memcpy(copy, data, size);
	r = hn_decode(&ctx, copy, size, out);
	free(copy);
	return r;
}

/* Decode a finished record; asserts success. */
static struct hn_event *decode_ok(struct rec *r)
{
	struct hn_event *ev = NULL;
	uint32_t n = rec_size(r);

	assert_int_equal(decode_bytes(r->b, n, &ev), 0);
	assert_non_null(ev);
	return ev;
}

static int decode_rc(struct rec *r)
{
	struct hn_event *ev = NULL;
	int rc = decode_bytes(r->b, rec_size(r), &ev);

	if (rc == 0)
		hn_event_free(ev);
	return rc;
}

/* ---- well-formedness of a decoded event ---- */

static void check_str(const struct hn_event *ev, const char *s)
{
	const char *lo = ev->buf, *hi = ev->buf + ev->used;

	if (!s)
		return;
	assert_true(ev->used <= ev->space);
	assert_true(s >= lo && s < hi);
	assert_true(memchr(s, '\0', (size_t)(hi - s)) != NULL);
}

static void check_event(const struct hn_event *ev)
{
	assert_non_null(hn_event_kind(ev->type));
	assert_non_null(hn_event_kind(ev->type)->name);
	check_str(ev, ev->path);
	check_str(ev, ev->path2);
	check_str(ev, ev->filename);
	check_str(ev, ev->cwd);
	check_str(ev, ev->tty);
	check_str(ev, ev->cgroup);
	check_str(ev, ev->container_id);
	check_str(ev, ev->dns_name);
	check_str(ev, ev->name);
	check_str(ev, ev->proc.executable);
	assert_null(ev->proc.parent_executable);
	if (ev->args) {
		check_str(ev, ev->args);
		assert_true(ev->args + ev->args_len < ev->buf + ev->used);
		assert_int_equal(ev->args[ev->args_len], '\0');
	}
	/* absolute, unless the decoder says it could not resolve it */
	if (ev->path)
		assert_true(ev->path[0] == '/' || ev->type == HN_EV_FILE_SYMLINK ||
			    (ev->flags & HN_EVF_PATH_PARTIAL));
	assert_int_equal(ev->proc.comm[15], '\0');
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	(void)state;
	for (int i = 0; i < 16; i++)
		ctx.boot_id[i] = (uint8_t)(0xa0 + i);
	ctx.boot_to_wall = T_B2W;
	return 0;
}

/* The record of `/usr/bin/true -a "b c"` started from /tmp/work on pts/3 in
 * a docker container. */
static const char cid[] =
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void build_exec(struct rec *r)
{
	struct hn_wire_exec *x;
	char cg[128];

	rec_init(r, HN_W_EXEC, 0);
	x = body(r);
	x->cgroup_id = 0x1122334455667788ULL;
	x->exe_dev = (8u << 20) | 1;
	x->exe_ino = 123456;
	x->exe_size = 39256;
	x->exe_mtime = 1690000000123456789ULL;
	x->sessionid = 77;
	x->argc = 3;
	x->old_pid = T_PID;
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("true\0bin\0usr\0"));
	rec_str(r, HN_S_FILENAME, HN_E_RAW, 0, LIT("/bin/true"));
	rec_str(r, HN_S_ARGV, HN_E_RAW, 0, LIT("true\0-a\0b c\0"));
	rec_str(r, HN_S_CWD, HN_E_DCOMP, 0, LIT("work\0tmp\0"));
	rec_str(r, HN_S_TTY, HN_E_RAW, 0, LIT("pts3"));
	snprintf(cg, sizeof(cg), "docker-%s.scope", cid);
	rec_str(r, HN_S_CGROUP, HN_E_RAW, 0, cg, (uint32_t)strlen(cg));
}

/* rename("../a.txt", "./x//y.txt") from /tmp/scratch/sub */
static void build_rename(struct rec *r)
{
	struct hn_wire_file *f;

	rec_init(r, HN_W_FILE, HN_F_RENAME);
	f = body(r);
	f->result = 0;
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("../a.txt"));
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("sub\0scratch\0tmp\0"));
	rec_str(r, HN_S_PATH2, HN_E_RAW, 0, LIT("./x//y.txt"));
	rec_str(r, HN_S_PATH2, HN_E_DCOMP, 0, LIT("sub\0scratch\0tmp\0"));
}

static const uint8_t dns_query[] = {
	0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
	7, 'h', 'n', '-', 't', 'e', 's', 't', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
	0, 28, 0, 1,
};

static void build_dns(struct rec *r, const void *payload, uint32_t len)
{
	struct hn_wire_net *n;

	rec_init(r, HN_W_NET, HN_N_DNS);
	n = body(r);
	n->result = (int64_t)len;
	n->family = AF_INET;
	n->proto = 17;
	n->sport = 40000;
	n->dport = 53;
	memcpy(n->saddr, "\x7f\x00\x00\x01", 4);
	memcpy(n->daddr, "\x7f\x00\x00\x35", 4);
	if (payload)
		rec_str(r, HN_S_PAYLOAD, HN_E_RAW, 0, payload, len);
}

static void build_mount(struct rec *r)
{
	struct hn_wire_mount *m;

	rec_init(r, HN_W_MOUNT, 0);
	m = body(r);
	m->result = 0;
	m->mflags = 6;
	rec_str(r, HN_S_SOURCE, HN_E_RAW, 0, LIT("hn-src"));
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("mnt/../point"));
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("scratch\0tmp\0"));
	rec_str(r, HN_S_FSTYPE, HN_E_RAW, 0, LIT("tmpfs"));
}

/* ---- hn_path_normalize ---- */

static void path_normalize_cases(void **state)
{
	static const char *const cases[][2] = {
		{ "/", "/" },
		{ "//", "/" },
		{ "/a", "/a" },
		{ "/a/", "/a" },
		{ "//a//b///c", "/a/b/c" },
		{ "/a/./b/./", "/a/b" },
		{ "/a/b/..", "/a" },
		{ "/a/..", "/" },
		{ "/..", "/" },
		{ "/../../x", "/x" },
		{ "/a/b/../../../c", "/c" },
		{ "//a/./b/../c", "/a/c" },
		{ "/a/.hidden/..b/...", "/a/.hidden/..b/..." },
		{ "/tmp/scratch/sub/../x", "/tmp/scratch/x" },
		{ "/tmp/scratch/sub/./a//b", "/tmp/scratch/sub/a/b" },
		{ "/./.././", "/" },
		/* not absolute: left alone */
		{ "a/../b", "a/../b" },
		{ "./x", "./x" },
		{ "", "" },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[128];
		snprintf(buf, sizeof(buf), "%s", cases[i][0]);
		hn_path_normalize(buf);
		if (strcmp(buf, cases[i][1]) != 0)
			fail_msg("normalize(\"%s\") = \"%s\", want \"%s\"", cases[i][0], buf,
				 cases[i][1]);
	}
}

/* ---- correctness ---- */

static void exec_record_exact(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_event *ev;
	static const char want_args[] = "true\0-a\0b c";

	(void)state;
	build_exec(r);
	ev = decode_ok(r);
	check_event(ev);
	assert_int_equal(ev->type, HN_EV_PROCESS_START);
	assert_string_equal(ev->path, "/usr/bin/true");
	assert_ptr_equal(ev->proc.executable, ev->path);
	assert_string_equal(ev->filename, "/bin/true");
	assert_int_equal(ev->args_len, sizeof(want_args) - 1);
	assert_memory_equal(ev->args, want_args, sizeof(want_args));
	assert_int_equal(ev->argc, 3);
	assert_string_equal(ev->cwd, "/tmp/work");
	assert_string_equal(ev->tty, "pts3");
	assert_string_equal(ev->container_id, cid);
	assert_true(ev->cgroup_id == 0x1122334455667788ULL);
	assert_int_equal(ev->sessionid, 77);
	assert_int_equal(ev->dev, (8u << 20) | 1);
	assert_int_equal(ev->ino, 123456);
	assert_int_equal(ev->size, 39256);
	assert_true(ev->mtime == 1690000000123456789ULL);
	assert_int_equal(ev->flags, 0);
	assert_int_equal(ev->result, 0);
	/* the acting process, from the header */
	assert_int_equal(ev->proc.pid, T_PID);
	assert_int_equal(ev->proc.tid, T_TID);
	assert_int_equal(ev->proc.ppid, T_PPID);
	assert_int_equal(ev->proc.uid, 1001);
	assert_int_equal(ev->proc.gid, 1002);
	assert_int_equal(ev->proc.euid, 1003);
	assert_int_equal(ev->proc.egid, 1004);
	assert_int_equal(ev->proc.auid, 1005);
	assert_string_equal(ev->proc.comm, "hn-comm");
	assert_true(ev->proc.entity == hn_entity_id(ctx.boot_id, T_PID, T_START));
	assert_true(ev->proc.parent_entity == hn_entity_id(ctx.boot_id, T_PPID, T_PSTART));
	assert_true(ev->proc.entity != ev->proc.parent_entity);
	assert_true(ev->time == T_TS + (uint64_t)T_B2W);
	assert_true(ev->proc.start_time == T_START + (uint64_t)T_B2W);
	hn_event_free(ev);
}

static void exec_flags_from_record(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_wire_exec *x;
	struct hn_event *ev;

	(void)state;
	build_exec(r);
	x = body(r);
	x->flags = HN_XF_DELETED | HN_XF_SETUID | HN_XF_ARGV_TRUNC;
	ev = decode_ok(r);
	assert_int_equal(ev->flags, HN_EVF_DELETED | HN_EVF_SETUID_EXEC | HN_EVF_ARGV_TRUNC);
	hn_event_free(ev);

	/* a truncated argv string, a truncated and a detached path */
	rec_init(r, HN_W_EXEC, 0);
	rec_str(r, HN_S_ARGV, HN_E_RAW, HN_SF_TRUNCATED, LIT("sh\0-c\0ver"));
	rec_str(r, HN_S_PATH, HN_E_DCOMP, HN_SF_TRUNCATED, LIT("sh\0bin\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->flags, HN_EVF_ARGV_TRUNC | HN_EVF_PATH_TRUNC);
	assert_string_equal(ev->path, "/bin/sh");
	assert_int_equal(ev->argc, 3);
	assert_int_equal(ev->args_len, 9);
	assert_memory_equal(ev->args, "sh\0-c\0ver", 10);
	hn_event_free(ev);

	rec_init(r, HN_W_EXEC, 0);
	rec_str(r, HN_S_PATH, HN_E_DCOMP, HN_SF_DETACHED, LIT("x\0chroot\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->flags, HN_EVF_PATH_PARTIAL);
	assert_string_equal(ev->path, "/chroot/x");
	assert_null(ev->args);
	assert_int_equal(ev->argc, 0);
	assert_null(ev->filename);
	assert_null(ev->container_id);
	hn_event_free(ev);
}

/* the executable of a fexecve'd memfd: a detached "memfd:NAME" dentry */
static void exec_memfd_path(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_event *ev;

	(void)state;
	rec_init(r, HN_W_EXEC, 0);
	rec_str(r, HN_S_PATH, HN_E_DCOMP, HN_SF_DETACHED, LIT("memfd:hn-payload\0"));
	rec_str(r, HN_S_FILENAME, HN_E_RAW, 0, LIT("/dev/fd/3"));
	rec_str(r, HN_S_ARGV, HN_E_RAW, 0, LIT("payload\0"));
	ev = decode_ok(r);
	check_event(ev);
	assert_string_equal(ev->path, "/memfd:hn-payload");
	assert_int_equal(ev->flags, HN_EVF_MEMFD);  /* and not PATH_PARTIAL */
	assert_string_equal(ev->filename, "/dev/fd/3");
	assert_int_equal(ev->argc, 1);
	assert_string_equal(ev->args, "payload");
	hn_event_free(ev);
}

/* DCOMP directory + RAW relative path, in either order, joined and
 * normalised */
static void relative_path_join(void **state)
{
	static const struct {
		const char *rel, *want;
	} cases[] = {
		{ "../x", "/tmp/scratch/x" },
		{ "./a//b", "/tmp/scratch/sub/a/b" },
		{ "a/./b/../c", "/tmp/scratch/sub/a/c" },
		{ "../../../../..", "/" },
		{ "f.txt", "/tmp/scratch/sub/f.txt" },
	};
	struct rec *r = &rec_buf;
	struct hn_event *ev;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int order = 0; order < 2; order++) {
			rec_init(r, HN_W_FILE, HN_F_UNLINK);
			if (order == 0)
				rec_str(r, HN_S_PATH, HN_E_RAW, 0, cases[i].rel,
					(uint32_t)strlen(cases[i].rel));
			rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("sub\0scratch\0tmp\0"));
			if (order == 1)
				rec_str(r, HN_S_PATH, HN_E_RAW, 0, cases[i].rel,
					(uint32_t)strlen(cases[i].rel));
			ev = decode_ok(r);
			assert_int_equal(ev->type, HN_EV_FILE_DELETE);
			assert_string_equal(ev->path, cases[i].want);
			assert_int_equal(ev->flags, 0);
			hn_event_free(ev);
		}
	}
	/* relative to / (an empty DCOMP: the walk started at the root) */
	rec_init(r, HN_W_FILE, HN_F_MKDIR);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("etc/./hn"));
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, "", 0);
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_DIR_CREATE);
	assert_string_equal(ev->path, "/etc/hn");
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
	/* an absolute RAW path wins over a directory */
	rec_init(r, HN_W_FILE, HN_F_RMDIR);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/var//lib/./x/"));
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("sub\0scratch\0tmp\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_DIR_DELETE);
	assert_string_equal(ev->path, "/var/lib/x");
	hn_event_free(ev);
	/* relative with no directory: flagged partial */
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("lost.txt"));
	ev = decode_ok(r);
	assert_true(ev->flags & HN_EVF_PATH_PARTIAL);
	assert_non_null(ev->path);
	hn_event_free(ev);
	/* a truncated RAW part */
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, HN_SF_TRUNCATED, LIT("/very/long"));
	ev = decode_ok(r);
	assert_int_equal(ev->flags, HN_EVF_PATH_TRUNC);
	assert_string_equal(ev->path, "/very/long");
	hn_event_free(ev);
}

static void file_ops_exact(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_wire_file *f;
	struct hn_event *ev;

	(void)state;
	build_rename(r);
	ev = decode_ok(r);
	check_event(ev);
	assert_int_equal(ev->type, HN_EV_FILE_RENAME);
	assert_string_equal(ev->path, "/tmp/scratch/a.txt");
	assert_string_equal(ev->path2, "/tmp/scratch/sub/x/y.txt");
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);

	/* open: created + O_TRUNC, with identity and cookie */
	rec_init(r, HN_W_FILE, HN_F_OPEN);
	f = body(r);
	f->result = 5;
	f->dev = 0x800001;
	f->ino = 99;
	f->cookie = 0xffff888012345678ULL;
	f->flags = HN_FF_CREATED | HN_FF_WRITE | HN_FF_TRUNC;
	f->oflags = 01 | 0100 | 01000;
	f->mode = 0100644;
	f->size = 0;
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("new.txt\0tmp\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_CREATE);
	assert_string_equal(ev->path, "/tmp/new.txt");
	assert_int_equal(ev->flags, HN_EVF_CREATED | HN_EVF_TRUNC);
	assert_int_equal(ev->result, 5);
	assert_int_equal(ev->dev, 0x800001);
	assert_int_equal(ev->ino, 99);
	assert_true(ev->cookie == 0xffff888012345678ULL);
	assert_int_equal(ev->oflags, 01 | 0100 | 01000);
	assert_int_equal(ev->target_pid, 0);
	hn_event_free(ev);

	/* a write-open of another process's memory */
	f->flags = HN_FF_WRITE;
	r->var = 0;
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("mem\0" "31337\0proc\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_PROC_MEM_WRITE);
	assert_int_equal(ev->target_pid, 31337);
	assert_string_equal(ev->name, "proc_mem");
	hn_event_free(ev);
	/* ... of its own memory: a plain write-open */
	r->var = 0;
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/proc/4242/mem"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_OPEN_WRITE);
	assert_int_equal(ev->target_pid, 0);
	hn_event_free(ev);
	/* a read of a watched file */
	f->flags = HN_FF_WATCHED;
	r->var = 0;
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("shadow\0etc\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_READ);
	assert_string_equal(ev->path, "/etc/shadow");
	hn_event_free(ev);

	/* written: no path, the cookie pairs it with its open */
	rec_init(r, HN_W_FILE, HN_F_WRITTEN);
	f = body(r);
	f->cookie = 0xffff888012345678ULL;
	f->flags = HN_FF_WRITE;
	f->size = 4096;
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_OPEN_WRITE);
	assert_int_equal(ev->flags, HN_EVF_WRITTEN);
	assert_null(ev->path);
	assert_true(ev->cookie == 0xffff888012345678ULL);
	assert_int_equal(ev->size, 4096);
	hn_event_free(ev);

	/* chown */
	rec_init(r, HN_W_FILE, HN_F_CHOWN);
	f = body(r);
	f->uid = 65534;
	f->gid = 4321;
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/o"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_CHOWN);
	assert_int_equal(ev->owner_uid, 65534);
	assert_int_equal(ev->owner_gid, 4321);
	hn_event_free(ev);

	/* chmod */
	rec_init(r, HN_W_FILE, HN_F_CHMOD);
	f = body(r);
	f->mode = 04755;
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/m"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_CHMOD);
	assert_int_equal(ev->mode, 04755);
	hn_event_free(ev);

	/* truncate */
	rec_init(r, HN_W_FILE, HN_F_TRUNCATE);
	f = body(r);
	f->size = 12345;
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/t"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_TRUNCATE);
	assert_int_equal(ev->size, 12345);
	assert_string_equal(ev->path, "/tmp/t");
	hn_event_free(ev);

	/* link: both paths resolved */
	rec_init(r, HN_W_FILE, HN_F_LINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/a"));
	rec_str(r, HN_S_PATH2, HN_E_RAW, 0, LIT("b"));
	rec_str(r, HN_S_PATH2, HN_E_DCOMP, 0, LIT("tmp\0"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_LINK);
	assert_string_equal(ev->path, "/tmp/a");
	assert_string_equal(ev->path2, "/tmp/b");
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);

	/* setxattr */
	rec_init(r, HN_W_FILE, HN_F_SETXATTR);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/cap"));
	rec_str(r, HN_S_NAME, HN_E_RAW, 0, LIT("security.capability"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_FILE_SETXATTR);
	assert_string_equal(ev->path, "/tmp/cap");
	assert_string_equal(ev->name, "security.capability");
	hn_event_free(ev);
}

/* symlink(target, linkpath): path = the new link (resolved), path2 = the
 * target as written (the kernel sends the target in the PATH slot, RAW, and
 * the link in PATH2). */
static void symlink_paths(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_event *ev;

	(void)state;
	rec_init(r, HN_W_FILE, HN_F_SYMLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/etc/passwd"));
	rec_str(r, HN_S_PATH2, HN_E_RAW, 0, LIT("link"));
	rec_str(r, HN_S_PATH2, HN_E_DCOMP, 0, LIT("scratch\0tmp\0"));
	ev = decode_ok(r);
	check_event(ev);
	assert_int_equal(ev->type, HN_EV_FILE_SYMLINK);
	assert_string_equal(ev->path, "/tmp/scratch/link");
	assert_string_equal(ev->path2, "/etc/passwd");
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);

	/* a relative target is kept as written */
	rec_init(r, HN_W_FILE, HN_F_SYMLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("../target"));
	rec_str(r, HN_S_PATH2, HN_E_RAW, 0, LIT("/tmp/scratch/link2"));
	ev = decode_ok(r);
	assert_string_equal(ev->path, "/tmp/scratch/link2");
	assert_string_equal(ev->path2, "../target");
	hn_event_free(ev);
}

/*
 * BUG (src/sensor/decode.c, hn_decode, case HN_W_FILE): the path of every
 * file record is decoded from the PATH slot before the switch on the op;
 * for HN_F_SYMLINK that slot holds the link's *target* as written, and a
 * relative target ("../target") with no directory part makes path_value()
 * set HN_EVF_PATH_PARTIAL.  The symlink case then replaces ev->path with the
 * fully resolved link path (PATH2) but the flag stays: every symlink with a
 * relative target is reported as a partially resolved path.  This test
 * fails until that is fixed.
 */
static void symlink_relative_target_not_partial(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_event *ev;
	uint32_t flags;

	(void)state;
	rec_init(r, HN_W_FILE, HN_F_SYMLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("../target"));
	rec_str(r, HN_S_PATH2, HN_E_RAW, 0, LIT("/tmp/scratch/link2"));
	ev = decode_ok(r);
	assert_string_equal(ev->path, "/tmp/scratch/link2");
	assert_string_equal(ev->path2, "../target");
	flags = ev->flags;
	hn_event_free(ev);
	assert_int_equal(flags & HN_EVF_PATH_PARTIAL, 0);
}

static void process_records_exact(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_wire_exit *x;
	struct hn_wire_cred *c;
	struct hn_wire_ptrace *p;
	struct hn_wire_memfd *m;
	struct hn_event *ev;

	(void)state;
	rec_init(r, HN_W_FORK, 0);
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_PROCESS_FORK);
	assert_true(ev->proc.parent_entity == hn_entity_id(ctx.boot_id, T_PPID, T_PSTART));
	hn_event_free(ev);

	/* no parent (ppid 0): no parent entity */
	hdr(r)->ppid = 0;
	ev = decode_ok(r);
	assert_true(ev->proc.parent_entity == 0);
	hn_event_free(ev);

	rec_init(r, HN_W_EXIT, 0);
	x = body(r);
	x->code = 3 << 8;
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_PROCESS_EXIT);
	assert_int_equal(ev->exit_code, 3);
	assert_int_equal(ev->exit_signal, 0);
	hn_event_free(ev);
	x->code = 9 | 0x80;  /* SIGKILL, core flag */
	ev = decode_ok(r);
	assert_int_equal(ev->exit_code, -1);
	assert_int_equal(ev->exit_signal, 9);
	hn_event_free(ev);

	rec_init(r, HN_W_CRED, 0);
	c = body(r);
	c->kind = HN_C_SETUID;
	c->syscall = 117;
	c->result = 0;
	c->arg[0] = 65534;
	c->arg[1] = 65534;
	c->arg[2] = 0xffffffffULL;
	c->new_uid = 65534;
	c->new_euid = 65534;
	c->new_gid = 0;
	c->new_egid = 0;
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_CRED_CHANGE);
	assert_string_equal(ev->name, "setuid");
	assert_int_equal(ev->request, 117);
	assert_int_equal(ev->cred_arg[0], 65534);
	assert_int_equal(ev->cred_arg[2], 0xffffffffULL);
	assert_int_equal(ev->proc.uid, 65534);
	assert_int_equal(ev->proc.euid, 65534);
	assert_int_equal(ev->proc.gid, 0);
	assert_int_equal(ev->proc.egid, 0);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
	c->kind = HN_C_SETGID;
	c->result = -1;
	ev = decode_ok(r);
	assert_string_equal(ev->name, "setgid");
	assert_int_equal(ev->flags, HN_EVF_FAILED);
	hn_event_free(ev);
	c->kind = HN_C_CAPSET;
	ev = decode_ok(r);
	assert_string_equal(ev->name, "capset");
	hn_event_free(ev);

	rec_init(r, HN_W_PTRACE, 0);
	p = body(r);
	p->request = 16;
	p->target_pid = 555;
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_PTRACE);
	assert_int_equal(ev->request, 16);
	assert_int_equal(ev->target_pid, 555);
	hn_event_free(ev);

	rec_init(r, HN_W_VMWRITE, 0);
	((struct hn_wire_vmwrite *)body(r))->target_pid = 556;
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_PROC_MEM_WRITE);
	assert_int_equal(ev->target_pid, 556);
	assert_string_equal(ev->name, "process_vm_writev");
	hn_event_free(ev);

	rec_init(r, HN_W_MEMFD, 0);
	m = body(r);
	m->result = 4;
	m->mflags = 1;
	rec_str(r, HN_S_NAME, HN_E_RAW, 0, LIT("hn-memfd"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_MEMFD_CREATE);
	assert_string_equal(ev->name, "hn-memfd");
	assert_int_equal(ev->oflags, 1);
	assert_int_equal(ev->result, 4);
	hn_event_free(ev);
}

static void kernel_records_exact(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_wire_kmod *k;
	struct hn_wire_bpf *b;
	struct hn_event *ev;

	(void)state;
	rec_init(r, HN_W_KMOD, 0);
	k = body(r);
	k->result = -8;
	k->by_fd = 1;
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("notamod.ko\0scratch\0tmp\0"));
	rec_str(r, HN_S_NAME, HN_E_RAW, 0, LIT("p=1"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_MODULE_LOAD);
	assert_string_equal(ev->path, "/tmp/scratch/notamod.ko");
	assert_string_equal(ev->name, "notamod");
	assert_int_equal(ev->result, -8);
	assert_int_equal(ev->flags, HN_EVF_FAILED);
	hn_event_free(ev);
	/* init_module: from memory, no path, no name */
	rec_init(r, HN_W_KMOD, 0);
	ev = decode_ok(r);
	assert_null(ev->path);
	assert_null(ev->name);
	hn_event_free(ev);

	rec_init(r, HN_W_BPF, 0);
	b = body(r);
	b->result = 7;
	b->cmd = 5;
	b->prog_type = 1;
	rec_str(r, HN_S_NAME, HN_E_RAW, 0, LIT("hn_prog"));
	ev = decode_ok(r);
	assert_int_equal(ev->type, HN_EV_BPF_LOAD);
	assert_string_equal(ev->name, "hn_prog");
	assert_int_equal(ev->request, 1);
	assert_int_equal(ev->result, 7);
	hn_event_free(ev);

	build_mount(r);
	ev = decode_ok(r);
	check_event(ev);
	assert_int_equal(ev->type, HN_EV_MOUNT);
	assert_string_equal(ev->path, "/tmp/scratch/point");
	assert_string_equal(ev->path2, "hn-src");
	assert_string_equal(ev->name, "tmpfs");
	assert_int_equal(ev->request, 6);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
}

static void net_records_exact(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_wire_net *n;
	struct hn_event *ev;
	char a[64];
	static const uint16_t want[] = {
		[HN_N_CONNECT] = HN_EV_NET_CONNECT, [HN_N_ACCEPT] = HN_EV_NET_ACCEPT,
		[HN_N_LISTEN] = HN_EV_NET_LISTEN,   [HN_N_BIND] = HN_EV_NET_BIND,
		[HN_N_UDP_SEND] = HN_EV_NET_UDP_SEND, [HN_N_DNS] = HN_EV_DNS_QUERY,
	};

	(void)state;
	for (uint16_t op = HN_N_CONNECT; op <= HN_N_DNS; op++) {
		rec_init(r, HN_W_NET, op);
		n = body(r);
		n->family = AF_INET;
		n->proto = 6;
		n->sport = 1234;
		n->dport = 80;
		/* bytes after the IPv4 address are not part of it */
		memset(n->saddr, 0xee, 16);
		memset(n->daddr, 0xee, 16);
		memcpy(n->saddr, "\x0a\x00\x00\x01", 4);
		memcpy(n->daddr, "\xc0\xa8\x01\x02", 4);
		ev = decode_ok(r);
		assert_int_equal(ev->type, want[op]);
		assert_int_equal(ev->transport, 6);
		assert_int_equal(ev->src.family, AF_INET);
		assert_int_equal(ev->src.port, 1234);
		assert_int_equal(ev->dst.port, 80);
		assert_string_equal(hn_addr_str(&ev->src, a, sizeof(a)), "10.0.0.1");
		assert_string_equal(hn_addr_str(&ev->dst, a, sizeof(a)), "192.168.1.2");
		for (int i = 4; i < 16; i++)
			assert_int_equal(ev->dst.addr[i], 0);
		assert_null(ev->dns_name);
		hn_event_free(ev);
	}

	/* IPv6, non-blocking connect in progress */
	rec_init(r, HN_W_NET, HN_N_CONNECT);
	n = body(r);
	n->result = -115;
	n->family = AF_INET6;
	n->proto = 6;
	n->dport = 443;
	n->daddr[15] = 1;
	n->flags = HN_NF_INPROGRESS;
	ev = decode_ok(r);
	assert_int_equal(ev->dst.family, AF_INET6);
	assert_string_equal(hn_addr_str(&ev->dst, a, sizeof(a)), "::1");
	assert_int_equal(ev->flags, HN_EVF_INPROGRESS | HN_EVF_FAILED);
	assert_int_equal(ev->result, -115);
	hn_event_free(ev);
}

/* ---- DNS payloads ---- */

/* Decode a DNS record with this payload; returns the event. */
static struct hn_event *dns_event(const void *payload, uint32_t len)
{
	struct rec *r = &rec_buf;
	struct hn_event *ev;

	build_dns(r, payload, len);
	ev = decode_ok(r);
	check_event(ev);
	assert_int_equal(ev->type, HN_EV_DNS_QUERY);
	assert_int_equal(ev->dst.port, 53);
	return ev;
}

static void dns_valid_query(void **state)
{
	struct hn_event *ev;
	uint8_t q[sizeof(dns_query)];

	(void)state;
	ev = dns_event(dns_query, sizeof(dns_query));
	assert_string_equal(ev->dns_name, "hn-test.example");
	assert_int_equal(ev->dns_type, 28);
	hn_event_free(ev);

	/* bytes that are not printable come out as '?' */
	memcpy(q, dns_query, sizeof(q));
	q[13] = ' ';
	q[14] = 0x01;
	q[15] = (uint8_t)0xc3;
	ev = dns_event(q, sizeof(q));
	assert_string_equal(ev->dns_name, "???test.example");
	hn_event_free(ev);

	/* the shortest that parses: one 1-byte label, then type */
	{
		static const uint8_t s[] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'x', 0, 0, 1 };
		ev = dns_event(s, sizeof(s));
		assert_string_equal(ev->dns_name, "x");
		assert_int_equal(ev->dns_type, 1);
		hn_event_free(ev);
	}
}

/* A reply: its question's name and its A/AAAA answers' addresses (a
 * CNAME skipped, compressed names followed), never read past the
 * payload however it is cut. */
static void dns_reply_addresses(void **state)
{
	static const uint8_t rep[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
		/* www.example CNAME web.example (name: a pointer to 12) */
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'w', 'e', 'b', 0xc0, 16,
		/* web.example A 127.0.0.77 */
		0xc0, 41, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 77,
		/* AAAA ::1 */
		0xc0, 41, 0, 28, 0, 1, 0, 0, 0, 60, 0, 16,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	struct hn_event *ev;

	(void)state;
	ev = dns_event(rep, sizeof(rep));
	assert_true(ev->flags & HN_EVF_DNS_REPLY);
	assert_string_equal(ev->dns_name, "www.example");
	assert_int_equal(ev->argc, 2);
	assert_non_null(ev->args);
	assert_int_equal(ev->args_len, sizeof("127.0.0.77") + sizeof("::1"));
	assert_memory_equal(ev->args, "127.0.0.77\0::1", ev->args_len);
	hn_event_free(ev);
	/* cut anywhere: what is whole is read, nothing past the end */
	for (uint32_t len = 0; len <= sizeof(rep); len++) {
		ev = dns_event(rep, len);
		assert_true(ev->argc <= 2);
		assert_true(!ev->args || ev->args_len <= sizeof("127.0.0.77") + sizeof("::1"));
		hn_event_free(ev);
	}
}

static void dns_no_name_when_not_a_query(void **state)
{
	uint8_t q[sizeof(dns_query) + 400];
	struct hn_event *ev;

	(void)state;
	/* a response (QR bit): not a query, a reply (dns_reply_addresses) */
	memcpy(q, dns_query, sizeof(dns_query));
	q[2] = 0x81;
	q[3] = 0x80;
	ev = dns_event(q, sizeof(dns_query));
	assert_true(ev->flags & HN_EVF_DNS_REPLY);
	assert_string_equal(ev->dns_name, "hn-test.example");
	assert_int_equal(ev->dns_type, 0);
	assert_null(ev->args);
	hn_event_free(ev);

	/* no payload at all, an empty one, a header only */
	ev = dns_event(NULL, 0);
	assert_null(ev->dns_name);
	hn_event_free(ev);
	ev = dns_event("", 0);
	assert_null(ev->dns_name);
	hn_event_free(ev);
	ev = dns_event(dns_query, 12);
	assert_null(ev->dns_name);
	hn_event_free(ev);

	/* every truncation of the query that cuts the name or its type: no
	 * name, no read past the payload; the class is not needed */
	for (uint32_t len = 0; len < sizeof(dns_query) - 2; len++) {
		ev = dns_event(dns_query, len);
		assert_null(ev->dns_name);
		hn_event_free(ev);
	}
	ev = dns_event(dns_query, sizeof(dns_query) - 2);
	assert_string_equal(ev->dns_name, "hn-test.example");
	assert_int_equal(ev->dns_type, 28);
	hn_event_free(ev);

	/* a label longer than 63 bytes */
	memcpy(q, dns_query, sizeof(dns_query));
	q[12] = 64;
	ev = dns_event(q, sizeof(dns_query));
	assert_null(ev->dns_name);
	hn_event_free(ev);

	/* a compression pointer in a query */
	q[12] = 0xc0;
	q[13] = 12;
	ev = dns_event(q, sizeof(dns_query));
	assert_null(ev->dns_name);
	hn_event_free(ev);

	/* a label that runs past the end */
	memcpy(q, dns_query, sizeof(dns_query));
	q[20] = 40;
	ev = dns_event(q, sizeof(dns_query));
	assert_null(ev->dns_name);
	hn_event_free(ev);

	/* labels that never end */
	memcpy(q, dns_query, 12);
	for (size_t i = 12; i + 4 <= 12 + 280; i += 4) {
		q[i] = 3;
		memcpy(q + i + 1, "abc", 3);
	}
	ev = dns_event(q, 12 + 280);
	assert_null(ev->dns_name);
	hn_event_free(ev);

	/* a name longer than 255 bytes: 5 labels of 63 */
	{
		size_t o = 12;
		memcpy(q, dns_query, 12);
		for (int l = 0; l < 5; l++) {
			q[o++] = 63;
			memset(q + o, 'a', 63);
			o += 63;
		}
		q[o++] = 0;
		q[o++] = 0;
		q[o++] = 1;
		q[o++] = 0;
		q[o++] = 1;
		ev = dns_event(q, (uint32_t)o);
		assert_null(ev->dns_name);
		hn_event_free(ev);
	}
}

/* ---- malformed records ---- */

static void malformed_header(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_event *ev = NULL;
	uint32_t n;

	(void)state;
	build_exec(r);
	n = rec_size(r);
	assert_int_equal(decode_rc(r), 0);

	hdr(r)->version = HN_WIRE_VERSION + 1;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	hdr(r)->version = 0;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	hdr(r)->version = HN_WIRE_VERSION;

	/* size bigger than the buffer */
	hdr(r)->size = n + 1;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	hdr(r)->size = 0xffffffffu;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	/* smaller than a header, smaller than the fixed part */
	hdr(r)->size = 0;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	hdr(r)->size = sizeof(struct hn_wire_hdr) - 1;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	hdr(r)->size = sizeof(struct hn_wire_hdr) + sizeof(struct hn_wire_exec);
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	hdr(r)->size = VAR_OFF - 1;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	/* exactly the fixed part: an event with no strings */
	hdr(r)->size = VAR_OFF;
	assert_int_equal(decode_bytes(r->b, n, &ev), 0);
	assert_int_equal(ev->type, HN_EV_PROCESS_START);
	assert_null(ev->path);
	assert_null(ev->args);
	hn_event_free(ev);
	ev = NULL;
	/* a buffer shorter than a header */
	assert_int_equal(decode_bytes(r->b, 0, &ev), -EINVAL);
	assert_int_equal(decode_bytes(r->b, sizeof(struct hn_wire_hdr) - 1, &ev), -EINVAL);
	hdr(r)->size = n;

	/* unknown types */
	for (unsigned t = 0; t <= 0xffff; t += (t < 40 ? 1 : 997)) {
		if (t >= HN_W_EXEC && t < HN_W_TYPE_MAX)
			continue;
		hdr(r)->type = (uint16_t)t;
		assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	}
	hdr(r)->type = 0xffff;
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	assert_null(ev);
}

static void malformed_ops(void **state)
{
	struct rec *r = &rec_buf;
	static const uint16_t bad_file[] = { 0, HN_F_WRITTEN + 1, 99, 0xffff };
	static const uint16_t bad_net[] = { 0, HN_N_DNS + 1, 99, 0xffff };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_file) / sizeof(bad_file[0]); i++) {
		build_rename(r);
		hdr(r)->op = bad_file[i];
		assert_int_equal(decode_rc(r), -EINVAL);
	}
	for (size_t i = 0; i < sizeof(bad_net) / sizeof(bad_net[0]); i++) {
		build_dns(r, dns_query, sizeof(dns_query));
		hdr(r)->op = bad_net[i];
		assert_int_equal(decode_rc(r), -EINVAL);
	}
	/* the op of a type that has none is ignored */
	build_mount(r);
	hdr(r)->op = 77;
	assert_int_equal(decode_rc(r), 0);
}

static void malformed_strings(void **state)
{
	struct rec *r = &rec_buf;
	struct hn_wire_str s;
	struct hn_event *ev = NULL;
	uint32_t n, last;

	(void)state;
	/* the last string's length points one byte past the end, then far */
	build_exec(r);
	n = rec_size(r);
	last = VAR_OFF + r->var - (uint32_t)strlen("docker-.scope") - 64 - 8;
	memcpy(&s, r->b + last, sizeof(s));
	assert_int_equal(s.slot, HN_S_CGROUP);
	s.len += 1;
	memcpy(r->b + last, &s, sizeof(s));
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	s.len = 0xffffffffu;
	memcpy(r->b + last, &s, sizeof(s));
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	s.len = 0x80000000u;
	memcpy(r->b + last, &s, sizeof(s));
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);
	/* the first string's length past the end */
	memcpy(&s, r->b + VAR_OFF, sizeof(s));
	s.len = n;
	memcpy(r->b + VAR_OFF, &s, sizeof(s));
	assert_int_equal(decode_bytes(r->b, n, &ev), -EINVAL);

	/* fewer than 8 bytes after the last string: not a string, ignored */
	build_exec(r);
	memset(r->b + VAR_OFF + r->var, 0xff, 7);
	r->var += 7;
	ev = decode_ok(r);
	check_event(ev);
	assert_string_equal(ev->path, "/usr/bin/true");
	hn_event_free(ev);

	/* unknown slots and encodings are ignored */
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, 0, HN_E_RAW, 0, LIT("zero"));
	rec_str(r, 200, HN_E_RAW, 0, LIT("slot200"));
	rec_str(r, HN_S_PATH, 9, 0, LIT("/enc9"));
	rec_str(r, HN_S_PATH, 0, 0, LIT("/enc0"));
	rec_str(r, HN_S_PATH, HN_E_RAW, 0xff, LIT("/tmp/real"));
	ev = decode_ok(r);
	check_event(ev);
	assert_string_equal(ev->path, "/tmp/real");
	hn_event_free(ev);

	/* DCOMP without NULs, with empty components, with only NULs */
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("noterm"));
	ev = decode_ok(r);
	assert_string_equal(ev->path, "/noterm");
	hn_event_free(ev);
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("b\0\0\0a\0"));
	ev = decode_ok(r);
	assert_string_equal(ev->path, "/a/b");
	hn_event_free(ev);
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, LIT("\0\0\0\0"));
	ev = decode_ok(r);
	assert_string_equal(ev->path, "/");
	hn_event_free(ev);

	/* embedded NULs in a RAW path: cut at the first */
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/a\0/etc/shadow"));
	ev = decode_ok(r);
	assert_string_equal(ev->path, "/tmp/a");
	hn_event_free(ev);

	/* more strings than the decoder keeps (16): the rest are ignored */
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	for (int i = 0; i < 40; i++)
		rec_str(r, HN_S_NAME, HN_E_RAW, 0, LIT("pad"));
	rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("/tmp/late"));
	ev = decode_ok(r);
	check_event(ev);
	assert_null(ev->path);
	hn_event_free(ev);

	/* argv of zero bytes; argv of one NUL */
	rec_init(r, HN_W_EXEC, 0);
	rec_str(r, HN_S_ARGV, HN_E_RAW, HN_SF_FAULT, "", 0);
	ev = decode_ok(r);
	check_event(ev);
	assert_int_equal(ev->args_len, 0);
	hn_event_free(ev);

	/* strings much longer than the kernel sends */
	{
		char *big = malloc(12000);
		assert_non_null(big);
		memset(big, 'a', 12000);
		big[0] = '/';
		rec_init(r, HN_W_EXEC, 0);
		rec_str(r, HN_S_PATH, HN_E_RAW, 0, big, 12000);
		rec_str(r, HN_S_ARGV, HN_E_RAW, 0, big, 3000);
		ev = decode_ok(r);
		check_event(ev);
		assert_non_null(ev->path);
		assert_int_equal(strlen(ev->path), 12000);
		assert_int_equal(ev->args_len, 3000);
		hn_event_free(ev);
		/* a DCOMP of many one-byte components */
		for (int i = 0; i < 6000; i++)
			big[i] = (i & 1) ? '\0' : 'c';
		rec_init(r, HN_W_FILE, HN_F_UNLINK);
		rec_str(r, HN_S_PATH, HN_E_RAW, 0, LIT("rel"));
		rec_str(r, HN_S_PATH, HN_E_DCOMP, 0, big, 6000);
		ev = decode_ok(r);
		check_event(ev);
		assert_int_equal(strlen(ev->path), 6000 + 4);
		hn_event_free(ev);
		free(big);
	}
}

/*
 * BUG (src/sensor/decode.c, path_value()): a path slot that holds only a
 * RAW string of length 0 (no DCOMP directory) takes the "relative and no
 * directory" branch, which writes nothing into the malloc'd `tmp` buffer;
 * `tmp[0]` is then read uninitialised and hn_event_puts(ev, tmp) copies
 * whatever the heap held there (up to the first NUL, or past the end of the
 * 16 KiB buffer) into ev->path.  A RAW part of length 0 is what put_ustr()
 * sends for a string it could not read (HN_SF_FAULT), and a malformed record
 * can always carry one.  Expected: no path (NULL) or an empty/"/" one,
 * flagged partial.
 * The decode runs in a child: in the plain build, the heap is first filled
 * with short "AAAA" strings, and the path comes out as one of them; under
 * SAN=1 (malloc fill 0xbe, see __asan_default_options below) strlen runs off
 * the buffer and ASan reports a heap-buffer-overflow.  Fails until fixed.
 */
static void empty_raw_path_without_directory(void **state)
{
	struct rec *r = &rec_buf;
	int st = 0;
	pid_t p;

	(void)state;
	rec_init(r, HN_W_FILE, HN_F_UNLINK);
	rec_str(r, HN_S_PATH, HN_E_RAW, HN_SF_FAULT, "", 0);
	rec_size(r);
	fflush(NULL);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		struct hn_event *ev = NULL;
		size_t n = 4 * (2 * HN_VAR_MASK + 64);
		char *junk = malloc(n);
		int rc;

		if (!junk)
			_exit(5);
		for (size_t i = 0; i < n; i++)
			junk[i] = (i % 32 == 31) ? '\0' : 'A';
		free(junk);
		rc = decode_bytes(r->b, hdr(r)->size, &ev);
		if (rc != 0)
			_exit(2);
		if (ev->path && strcmp(ev->path, "") != 0 && strcmp(ev->path, "/") != 0) {
			fprintf(stderr, "empty RAW path decoded to %zu bytes: \"%.40s\"\n",
				strlen(ev->path), ev->path);
			_exit(3);
		}
		_exit(ev->flags & HN_EVF_PATH_PARTIAL ? 0 : 4);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("empty RAW path: child %s %d (uninitialised buffer in path_value())",
			 WIFEXITED(st) ? "exited" : "killed by signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

/* Every prefix of valid records, as the buffer (header unchanged: the size
 * says more than there is) and as the whole record (header size cut too:
 * strings may then run past the end). */
static void every_truncation(void **state)
{
	struct rec *r = &rec_buf;
	static uint8_t copy[sizeof(rec_buf.b)];
	void (*builders[])(struct rec *) = { build_exec, build_rename, build_mount };

	(void)state;
	for (size_t b = 0; b < sizeof(builders) / sizeof(builders[0]) + 1; b++) {
		uint32_t n;

		if (b < sizeof(builders) / sizeof(builders[0]))
			builders[b](r);
		else
			build_dns(r, dns_query, sizeof(dns_query));
		n = rec_size(r);
		for (uint32_t len = 0; len < n; len++) {
			struct hn_event *ev = NULL;
			int rc;

			assert_int_equal(decode_bytes(r->b, len, &ev), -EINVAL);
			assert_null(ev);
			if (len < sizeof(struct hn_wire_hdr))
				continue;
			memcpy(copy, r->b, len);
			((struct hn_wire_hdr *)copy)->size = len;
			rc = decode_bytes(copy, len, &ev);
			if (len < VAR_OFF) {
				assert_int_equal(rc, -EINVAL);
				continue;
			}
			if (rc == 0) {
				check_event(ev);
				hn_event_free(ev);
			} else {
				assert_int_equal(rc, -EINVAL);
			}
		}
		/* and the whole record, with trailing bytes the header does
		 * not count */
		memcpy(copy, r->b, n);
		memset(copy + n, 0xa5, 64);
		{
			struct hn_event *ev = NULL;
			assert_int_equal(decode_bytes(copy, n + 64, &ev), 0);
			check_event(ev);
			hn_event_free(ev);
		}
	}
}

/* xorshift64*: a fixed sequence, so a failure reproduces */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

/* Random mutations of valid records: bytes anywhere, string headers, the
 * size field.  Each result is -EINVAL or a well-formed event. */
static void random_mutations(void **state)
{
	enum { ROUNDS = 4000 };
	struct rec *base = &rec_buf;
	static uint8_t m[sizeof(rec_buf.b)];
	int ok = 0, bad = 0;
	int64_t b2w = ctx.boot_to_wall;

	(void)state;
	/* A zero boot->wall offset while mutating: a mutated hdr.ts near
	 * INT64_MAX plus a real offset hits the signed overflow that
	 * huge_timestamps_do_not_overflow documents; one bug, one test. */
	ctx.boot_to_wall = 0;
	for (int i = 0; i < ROUNDS; i++) {
		struct hn_event *ev = NULL;
		uint32_t n;
		int rc, k = 1 + (int)(rnd() % 8);

		switch (i % 6) {
		case 0: build_exec(base); break;
		case 1: build_rename(base); break;
		case 2: build_mount(base); break;
		case 3: build_dns(base, dns_query, sizeof(dns_query)); break;
		case 4: {
			rec_init(base, HN_W_KMOD, 0);
			rec_str(base, HN_S_PATH, HN_E_DCOMP, HN_SF_DETACHED, LIT("x.ko\0a\0"));
			break;
		}
		default:
			rec_init(base, HN_W_FILE, HN_F_SYMLINK);
			rec_str(base, HN_S_PATH, HN_E_RAW, 0, LIT("../t"));
			rec_str(base, HN_S_PATH2, HN_E_RAW, 0, LIT("l"));
			rec_str(base, HN_S_PATH2, HN_E_DCOMP, 0, LIT("d\0"));
			break;
		}
		n = rec_size(base);
		memcpy(m, base->b, n);
		for (int j = 0; j < k; j++) {
			uint64_t v = rnd();
			uint32_t pos;
			switch (v % 4) {
			case 0: /* anywhere */
				pos = (uint32_t)((v >> 8) % n);
				break;
			case 1: /* the strings */
				pos = VAR_OFF + (uint32_t)((v >> 8) % (n - VAR_OFF));
				break;
			case 2: /* the header's type, op, version, size */
				pos = (uint32_t)((v >> 8) % 12);
				break;
			default: /* the first string's header */
				pos = VAR_OFF + (uint32_t)((v >> 8) % 8);
				break;
			}
			m[pos] = (uint8_t)(v >> 40);
		}
		if (rnd() % 5 == 0) {
			uint32_t sz = (uint32_t)(rnd() % (n + 16));
			memcpy(m + 8, &sz, 4);
		}
		/* keep most records of a known version so the decoder gets
		 * past the header */
		if (rnd() % 4 != 0) {
			uint16_t v = HN_WIRE_VERSION;
			memcpy(m + 4, &v, 2);
		}
		rc = decode_bytes(m, n, &ev);
		if (rc == 0) {
			assert_non_null(ev);
			check_event(ev);
			hn_event_free(ev);
			ok++;
		} else {
			if (rc != -EINVAL)
				fail_msg("round %d: hn_decode returned %d", i, rc);
			bad++;
		}
	}
	ctx.boot_to_wall = b2w;
	/* both outcomes were exercised */
	assert_true(ok > ROUNDS / 10);
	assert_true(bad > ROUNDS / 10);
}

/*
 * BUG (src/sensor/decode.c, wall()): `(int64_t)boot_ns + c->boot_to_wall`
 * is a signed addition of a value taken from the record (hdr.ts, hdr.start)
 * and the boot->wall offset (about 1.7e18 on any machine today).  A record
 * whose ts or start is above INT64_MAX - boot_to_wall (a corrupt or hostile
 * record: the decoder trusts nothing) overflows a signed integer: undefined
 * behaviour, and in the sanitizer build (make SAN=1, which uses
 * -fno-sanitize-recover=undefined) the process aborts.  Doing the sum in
 * uint64_t gives the same bits without UB.  The decode runs in a child
 * process so that the abort is a failure of this test only; this test
 * fails under SAN=1 until that is fixed (it passes in the plain build,
 * where the overflow wraps silently).
 */
static void huge_timestamps_do_not_overflow(void **state)
{
	struct rec *r = &rec_buf;
	int st = 0;
	pid_t p;

	(void)state;
	build_exec(r);
	hdr(r)->ts = 0x7fffffffffffff00ULL;
	hdr(r)->start = 0x7ffffffffffff000ULL;
	rec_size(r);
	fflush(NULL);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		struct hn_event *ev = NULL;
		int rc = decode_bytes(r->b, hdr(r)->size, &ev);
		_exit(rc == 0 && ev && ev->time == 0x7fffffffffffff00ULL + (uint64_t)T_B2W ? 0 : 3);
	}
	assert_int_equal(waitpid(p, &st, 0), p);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("decoding ts near INT64_MAX: child %s %d (signed overflow in wall())",
			 WIFEXITED(st) ? "exited" : "killed by signal",
			 WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(path_normalize_cases),
		cmocka_unit_test(exec_record_exact),
		cmocka_unit_test(exec_flags_from_record),
		cmocka_unit_test(exec_memfd_path),
		cmocka_unit_test(relative_path_join),
		cmocka_unit_test(file_ops_exact),
		cmocka_unit_test(symlink_paths),
		cmocka_unit_test(symlink_relative_target_not_partial),
		cmocka_unit_test(process_records_exact),
		cmocka_unit_test(kernel_records_exact),
		cmocka_unit_test(net_records_exact),
		cmocka_unit_test(dns_valid_query),
		cmocka_unit_test(dns_no_name_when_not_a_query),
		cmocka_unit_test(dns_reply_addresses),
		cmocka_unit_test(malformed_header),
		cmocka_unit_test(malformed_ops),
		cmocka_unit_test(malformed_strings),
		cmocka_unit_test(empty_raw_path_without_directory),
		cmocka_unit_test(every_truncation),
		cmocka_unit_test(random_mutations),
		cmocka_unit_test(huge_timestamps_do_not_overflow),
	};
	return cmocka_run_group_tests_name("decode", tests, group_setup, NULL);
}
