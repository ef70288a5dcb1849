/*
 * test_event.c - the event model (event/event.h): string space, deep copy
 * of every string field, the kinds table, type names and families, address
 * text round trips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "event/entity.h"
#include "event/event.h"

/* Every enum hn_event_type value but the sentinels, as event.h lists them. */
static const unsigned all_types[] = {
	HN_EV_PROCESS_START, HN_EV_PROCESS_FORK, HN_EV_PROCESS_EXIT,
	HN_EV_PROCESS_SNAPSHOT, HN_EV_CRED_CHANGE, HN_EV_PTRACE,
	HN_EV_PROC_MEM_WRITE, HN_EV_MEMFD_CREATE,
	HN_EV_FILE_CREATE, HN_EV_FILE_OPEN_WRITE, HN_EV_FILE_RENAME,
	HN_EV_FILE_DELETE, HN_EV_FILE_CHMOD, HN_EV_FILE_CHOWN, HN_EV_FILE_LINK,
	HN_EV_FILE_SYMLINK, HN_EV_FILE_TRUNCATE, HN_EV_FILE_SETXATTR,
	HN_EV_FILE_READ, HN_EV_DIR_CREATE, HN_EV_DIR_DELETE,
	HN_EV_NET_CONNECT, HN_EV_NET_ACCEPT, HN_EV_NET_LISTEN, HN_EV_NET_BIND,
	HN_EV_NET_UDP_SEND, HN_EV_DNS_QUERY,
	HN_EV_MODULE_LOAD, HN_EV_BPF_LOAD, HN_EV_MOUNT,
	HN_EV_GAP, HN_EV_AGENT_START, HN_EV_AGENT_STOP,
	HN_EV_LOG,
	HN_EV_EXEC_BLOCKED,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static bool listed(unsigned t)
{
	for (size_t i = 0; i < N_TYPES; i++)
		if (all_types[i] == t)
			return true;
	return false;
}

static bool in_block(const struct hn_event *ev, const char *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)ev->buf;
	return a >= lo && a < lo + ev->used;
}

/* ---- string space ---- */

static void test_new_is_zeroed_with_space(void **state)
{
	(void)state;
	struct hn_event *ev = hn_event_new(100);
	assert_non_null(ev);
	assert_true(ev->space >= 100);
	assert_int_equal(ev->used, 0);
	assert_int_equal(ev->type, 0);
	assert_null(ev->path);
	assert_null(ev->proc.executable);
	assert_string_equal(ev->sha256, "");
	hn_event_free(ev);
	hn_event_free(NULL);
	assert_null(hn_event_new(SIZE_MAX));
}

static void test_put_copies_and_terminates(void **state)
{
	(void)state;
	struct hn_event *ev = hn_event_new(16);
	char src[] = "hello, world";
	const char *p = hn_event_put(ev, src, 5);

	assert_non_null(p);
	assert_true(in_block(ev, p));
	assert_string_equal(p, "hello");
	assert_int_equal(ev->used, 6);
	src[0] = 'X';  /* a copy, not a reference */
	assert_string_equal(p, "hello");

	p = hn_event_puts(ev, "");
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(ev->used, 7);
	assert_null(hn_event_puts(ev, NULL));
	hn_event_free(ev);
}

static void test_put_refuses_what_does_not_fit(void **state)
{
	(void)state;
	struct hn_event *ev = hn_event_new(10);
	size_t sp;
	char *big;

	assert_non_null(ev);
	sp = ev->space;
	big = malloc(sp + 1);
	assert_non_null(big);
	memset(big, 'x', sp);
	big[sp] = '\0';
	/* sp - 1 bytes + NUL fill the space exactly; sp bytes do not fit */
	assert_null(hn_event_put(ev, big, sp));
	assert_int_equal(ev->used, 0);
	assert_non_null(hn_event_put(ev, big, sp - 1));
	assert_int_equal(ev->used, sp);
	assert_null(hn_event_put(ev, "", 0));  /* not even the NUL fits */
	assert_null(hn_event_put(ev, "x", SIZE_MAX));
	assert_int_equal(ev->used, sp);
	hn_event_free(ev);
	free(big);
}

/* Freed events of the usual sizes are reused, zeroed, from any thread's
 * free; a big one is not pooled. */
static void test_freed_events_are_reused_clean(void **state)
{
	(void)state;
	struct hn_event *a = hn_event_new(600), *b;

	assert_non_null(a);
	a->type = 7;
	a->path = hn_event_puts(a, "/x");
	hn_event_free(a);
	b = hn_event_new(500);
	assert_non_null(b);
	assert_true(b->space >= 600);
	assert_int_equal(b->type, 0);
	assert_null(b->path);
	assert_int_equal(b->used, 0);
	hn_event_free(b);
	b = hn_event_new(64 * 1024);
	assert_non_null(b);
	assert_int_equal(b->space, 64 * 1024);
	hn_event_free(b);
}

static void test_put_keeps_embedded_nuls(void **state)
{
	(void)state;
	static const char argv[] = "ls\0-l\0/tmp";
	struct hn_event *ev = hn_event_new(64);
	const char *p = hn_event_put(ev, argv, sizeof(argv) - 1);

	assert_non_null(p);
	assert_memory_equal(p, argv, sizeof(argv));  /* NUL added at the end */
	hn_event_free(ev);
}

/* ---- deep copy ---- */

/* All string fields: which are set from the block and which from outside
 * (as enrichment does). */
struct strf {
	const char **(*get)(struct hn_event *);
	const char *value;
};
#define F(field) \
	static const char **get_##field(struct hn_event *e) { return &e->field; }
F(filename) F(args) F(cwd) F(tty) F(cgroup) F(container_id) F(path)
F(path2) F(dns_name) F(name)
#undef F
static const char **get_exe(struct hn_event *e) { return &e->proc.executable; }
static const char **get_pexe(struct hn_event *e) { return &e->proc.parent_executable; }

static const struct strf strfs[] = {
	{ get_exe, "/usr/bin/bash" },
	{ get_pexe, "/usr/sbin/sshd" },
	{ get_filename, "bash" },
	{ get_args, NULL },   /* set separately: holds NULs */
	{ get_cwd, "/home/user" },
	{ get_tty, "pts/3" },
	{ get_cgroup, "session-4.scope" },
	{ get_container_id, "0123456789abcdef" },
	{ get_path, "/tmp/old name" },
	{ get_path2, "/tmp/new name" },
	{ get_dns_name, "example.org" },
	{ get_name, "memfd:payload" },
};
#define N_STRF (sizeof(strfs) / sizeof(strfs[0]))

static const char args_val[] = "bash\0-c\0echo hi\0";
#define ARGS_LEN (sizeof(args_val) - 1)

/* Fill every string field; odd ones (by index) point outside the block. */
static struct hn_event *full_event(bool all_external)
{
	struct hn_event *ev = hn_event_new(512);

	ev->type = HN_EV_PROCESS_START;
	ev->time = 42;
	ev->proc.pid = 1234;
	ev->argc = 3;
	ev->args_len = ARGS_LEN;
	memcpy(ev->sha256, "ab", 3);
	for (size_t i = 0; i < N_STRF; i++) {
		bool ext = all_external || i % 2;
		const char **f = strfs[i].get(ev);
		if (strfs[i].get == get_args)
			*f = ext ? args_val : hn_event_put(ev, args_val, ARGS_LEN);
		else
			*f = ext ? strfs[i].value : hn_event_puts(ev, strfs[i].value);
		assert_non_null(*f);
	}
	return ev;
}

static void check_copy(struct hn_event *cp)
{
	for (size_t i = 0; i < N_STRF; i++) {
		const char *s = *strfs[i].get(cp);
		assert_non_null(s);
		assert_true(in_block(cp, s));
		if (strfs[i].get == get_args)
			assert_memory_equal(s, args_val, ARGS_LEN);
		else
			assert_string_equal(s, strfs[i].value);
	}
	assert_int_equal(cp->args_len, ARGS_LEN);
	assert_int_equal(cp->argc, 3);
	assert_int_equal(cp->proc.pid, 1234);
	assert_int_equal(cp->time, 42);
	assert_string_equal(cp->sha256, "ab");
}

static void test_dup_repoints_every_string_field(void **state)
{
	(void)state;
	for (int ext = 0; ext < 2; ext++) {
		struct hn_event *ev = full_event(ext);
		struct hn_event *cp = hn_event_dup(ev);
		assert_non_null(cp);
		/* the original's block is gone: ASan sees any pointer left in it */
		memset(ev->buf, 'Z', ev->space);
		hn_event_free(ev);
		check_copy(cp);
		/* the copy still has its room for more strings */
		assert_non_null(hn_event_puts(cp, "more"));
		hn_event_free(cp);
	}
}

static void test_dup_of_dup_and_nulls(void **state)
{
	(void)state;
	struct hn_event *ev = hn_event_new(8), *cp, *cp2;

	ev->type = HN_EV_GAP;
	ev->gap_dropped = 7;
	cp = hn_event_dup(ev);
	assert_non_null(cp);
	for (size_t i = 0; i < N_STRF; i++)
		assert_null(*strfs[i].get(cp));
	assert_int_equal(cp->gap_dropped, 7);
	hn_event_free(cp);
	hn_event_free(ev);

	ev = full_event(false);
	cp = hn_event_dup(ev);
	hn_event_free(ev);
	cp2 = hn_event_dup(cp);
	hn_event_free(cp);
	check_copy(cp2);
	hn_event_free(cp2);
	assert_null(hn_event_dup(NULL));
}

/* ---- kinds ---- */

static bool one_of(const char *s, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(s, *set))
			return true;
	return false;
}

static void test_kinds_table_is_complete(void **state)
{
	(void)state;
	static const char *const categories[] = { "process", "file", "network",
		"driver", "configuration", "host", "intrusion_detection", NULL };
	static const char *const ecs_types[] = { "start", "end", "change",
		"creation", "deletion", "connection", "protocol", "access",
		"info", "denied", NULL };

	for (size_t i = 0; i < N_TYPES; i++) {
		const struct hn_event_kind *k = hn_event_kind(all_types[i]);
		assert_non_null(k);
		assert_non_null(k->name);
		assert_non_null(k->category);
		assert_non_null(k->ecs_type);
		assert_non_null(k->action);
		assert_true(k->name[0] && k->action[0]);
		assert_true(one_of(k->category, categories));
		assert_true(one_of(k->ecs_type, ecs_types));
		for (size_t m = 0; m < i; m++)
			assert_string_not_equal(k->name, hn_event_kind(all_types[m])->name);
	}
	/* numbers that are not types have no name; nothing unlisted has one */
	for (unsigned t = 0; t < HN_EV_TYPE_MAX + 100; t++)
		if (!listed(t))
			assert_null(hn_event_kind(t)->name);
	assert_null(hn_event_kind(HN_EV_NONE)->name);
	assert_null(hn_event_kind(9)->name);
	assert_null(hn_event_kind(UINT32_MAX)->name);
}

static void test_kinds_names_and_actions(void **state)
{
	(void)state;
	const struct hn_event_kind *k;

	k = hn_event_kind(HN_EV_PROCESS_START);
	assert_string_equal(k->name, "process_start");
	assert_string_equal(k->category, "process");
	assert_string_equal(k->ecs_type, "start");
	assert_string_equal(k->action, "exec");
	k = hn_event_kind(HN_EV_PROCESS_EXIT);
	assert_string_equal(k->ecs_type, "end");
	assert_string_equal(k->action, "exit");
	k = hn_event_kind(HN_EV_FILE_CREATE);
	assert_string_equal(k->name, "file_create");
	assert_string_equal(k->ecs_type, "creation");
	k = hn_event_kind(HN_EV_FILE_RENAME);
	assert_string_equal(k->action, "rename");
	assert_string_equal(k->ecs_type, "change");
	k = hn_event_kind(HN_EV_FILE_DELETE);
	assert_string_equal(k->ecs_type, "deletion");
	k = hn_event_kind(HN_EV_NET_CONNECT);
	assert_string_equal(k->name, "net_connect");
	assert_string_equal(k->category, "network");
	assert_string_equal(k->ecs_type, "connection");
	assert_string_equal(k->action, "connect");
	k = hn_event_kind(HN_EV_DNS_QUERY);
	assert_string_equal(k->name, "dns_query");
	assert_string_equal(k->ecs_type, "protocol");
	k = hn_event_kind(HN_EV_MODULE_LOAD);
	assert_string_equal(k->name, "module_load");
	assert_string_equal(k->category, "driver");
	assert_string_equal(k->action, "load");
	k = hn_event_kind(HN_EV_MOUNT);
	assert_string_equal(k->category, "configuration");
	k = hn_event_kind(HN_EV_GAP);
	assert_string_equal(k->name, "gap");
	assert_string_equal(k->action, "events_lost");
}

static void test_types_by_exact_name(void **state)
{
	(void)state;
	uint16_t t[64];

	for (size_t i = 0; i < N_TYPES; i++) {
		memset(t, 0, sizeof(t));
		assert_int_equal(hn_event_types_by_name(hn_event_kind(all_types[i])->name, t, 64), 1);
		assert_int_equal(t[0], all_types[i]);
	}
	assert_int_equal(hn_event_types_by_name("nope", t, 64), 0);
	assert_int_equal(hn_event_types_by_name("", t, 64), 0);
	assert_int_equal(hn_event_types_by_name(NULL, t, 64), 0);
	assert_int_equal(hn_event_types_by_name("Process_Start", t, 64), 0);
	assert_int_equal(hn_event_types_by_name("process_start", t, 0), 0);
}

static void test_types_by_family(void **state)
{
	(void)state;
	static const struct {
		const char *fam;
		int n;
		bool (*is)(unsigned);
	} fams[] = {
		{ "process", 8, hn_event_is_process },
		{ "file", 13, hn_event_is_file },
		{ "network", 6, hn_event_is_network },
		{ "kernel", 3, NULL },
		{ "agent", 4, NULL },   /* gap, start, stop, exec_blocked */
		{ "log", 1, NULL },
	};
	uint16_t t[64];
	int total = 0;

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		int n = hn_event_types_by_name(fams[f].fam, t, 64);
		assert_int_equal(n, fams[f].n);
		total += n;
		for (int i = 0; i < n; i++) {
			assert_true(listed(t[i]));
			if (fams[f].is)
				assert_true(fams[f].is(t[i]));
		}
	}
	assert_int_equal(total, (int)N_TYPES);  /* every type in one family */

	assert_int_equal(hn_event_types_by_name("process", t, 64), 8);
	assert_int_equal(t[0], HN_EV_PROCESS_START);
	assert_int_equal(t[7], HN_EV_MEMFD_CREATE);
	assert_int_equal(hn_event_types_by_name("kernel", t, 64), 3);
	assert_int_equal(t[0], HN_EV_MODULE_LOAD);
	assert_int_equal(t[1], HN_EV_BPF_LOAD);
	assert_int_equal(t[2], HN_EV_MOUNT);
	/* bounded by max */
	memset(t, 0xff, sizeof(t));
	assert_int_equal(hn_event_types_by_name("file", t, 2), 2);
	assert_int_equal(t[0], HN_EV_FILE_CREATE);
	assert_int_equal(t[1], HN_EV_FILE_OPEN_WRITE);
	assert_int_equal(t[2], 0xffff);
}

static void test_is_family(void **state)
{
	(void)state;
	assert_true(hn_event_is_process(HN_EV_PROCESS_START));
	assert_true(hn_event_is_process(HN_EV_MEMFD_CREATE));
	assert_false(hn_event_is_process(HN_EV_FILE_CREATE));
	assert_true(hn_event_is_file(HN_EV_DIR_DELETE));
	assert_false(hn_event_is_file(HN_EV_NET_CONNECT));
	assert_true(hn_event_is_network(HN_EV_DNS_QUERY));
	assert_false(hn_event_is_network(HN_EV_MODULE_LOAD));
	assert_false(hn_event_is_process(0));
	assert_false(hn_event_is_file(9));
	assert_false(hn_event_is_network(HN_EV_TYPE_MAX));
	assert_false(hn_event_is_network(100000));
}

/* ---- addresses ---- */

static void test_addr_round_trips(void **state)
{
	(void)state;
	static const char *const good[] = { "127.0.0.1", "10.1.2.3",
		"255.255.255.255", "0.0.0.0", "::1", "::", "2001:db8::1",
		"fe80::1:2:3:4", "::ffff:1.2.3.4",
		"2001:db8:85a3:1:2:8a2e:370:7334" };
	char buf[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct hn_addr a = { .port = 4242 };
		assert_int_equal(hn_addr_parse(good[i], &a), 0);
		assert_int_equal(a.port, 4242);  /* untouched */
		assert_string_equal(hn_addr_str(&a, buf, sizeof(buf)), good[i]);
	}
}

static void test_addr_parse_values(void **state)
{
	(void)state;
	struct hn_addr a;
	char buf[64];
	static const uint8_t v4[4] = { 192, 168, 1, 20 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	memset(&a, 0xaa, sizeof(a));
	assert_int_equal(hn_addr_parse("192.168.1.20", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_memory_equal(a.addr, v4, 4);
	assert_int_equal(a.addr[4], 0);   /* the rest is cleared */
	assert_int_equal(hn_addr_parse("[2001:db8::1]", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_memory_equal(a.addr, v6, 16);
	assert_string_equal(hn_addr_str(&a, buf, sizeof(buf)), "2001:db8::1");

	static const char *const bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"abc", "::g", "1.2.3.4 ", "[::1", "::1]", "localhost", "1::2::3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct hn_addr b = { .family = 99, .port = 7 };
		assert_int_equal(hn_addr_parse(bad[i], &b), -EINVAL);
		assert_int_equal(b.family, 99);
		assert_int_equal(b.port, 7);
	}
	assert_int_equal(hn_addr_parse(NULL, &a), -EINVAL);
}

static void test_addr_str_other_families(void **state)
{
	(void)state;
	struct hn_addr a = { .family = AF_UNIX };
	char buf[64], small[8];

	assert_string_equal(hn_addr_str(&a, buf, sizeof(buf)), "unix");
	a.family = 0;
	assert_string_equal(hn_addr_str(&a, buf, sizeof(buf)), "");
	a.family = 12345;
	assert_string_equal(hn_addr_str(&a, buf, sizeof(buf)), "");
	/* too small: empty, never a cut address */
	assert_int_equal(hn_addr_parse("2001:db8::1", &a), 0);
	assert_string_equal(hn_addr_str(&a, small, sizeof(small)), "");
	assert_int_equal(hn_addr_parse("10.0.0.1", &a), 0);
	assert_string_equal(hn_addr_str(&a, small, sizeof(small)), "");
	assert_string_equal(hn_addr_str(&a, buf, 9), "10.0.0.1");
}

/* Entity ids: below 2^63 and never 0; the same inputs give the same id;
 * the pid is in the low 22 bits; one boot's ids grow with start time (new
 * processes append to entity-keyed indexes); two processes of one boot
 * differ whenever their pids or their 16.4 us start slots differ; another
 * boot's ids differ for the same pid and start. */
static void test_entity_ids(void **state)
{
	static const uint8_t b1[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t b2[16] = { 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 };
	const uint64_t t0 = 123456789012345ULL; /* 1.4 days after boot */
	uint64_t prev = 0, e;
	char buf[17];

	(void)state;
	assert_true(hn_entity_id(b1, 4242, t0) == hn_entity_id(b1, 4242, t0));
	assert_int_equal(hn_entity_id(b1, 4242, t0) & 0x3fffff, 4242);
	assert_int_equal(hn_entity_id(b1, 4194303, t0) & 0x3fffff, 4194303);
	for (uint64_t i = 0; i < 1000; i++) {
		e = hn_entity_id(b1, (uint32_t)(1000 + i % 7), t0 + i * 20000);
		assert_true(e != 0 && e < (1ULL << 63));
		assert_true(e > prev);
		prev = e;
	}
	/* pid reuse 20 us later: another id; same slot, other pid: another */
	assert_true(hn_entity_id(b1, 77, t0) != hn_entity_id(b1, 77, t0 + 20000));
	assert_true(hn_entity_id(b1, 77, t0) != hn_entity_id(b1, 78, t0));
	assert_true(hn_entity_id(b1, 77, t0) != hn_entity_id(b2, 77, t0));
	/* the slot wraps without leaving 63 bits */
	e = hn_entity_id(b1, 1, UINT64_MAX);
	assert_true(e != 0 && e < (1ULL << 63));
	assert_string_equal(hn_entity_str(0x1234, buf, sizeof(buf)), "0000000000001234");
	assert_int_equal(hn_entity_parse("1234", &e), 0);
	assert_int_equal(e, 0x1234);
	assert_int_equal(hn_entity_parse("12345678901234567", &e), -EINVAL);
	assert_int_equal(hn_entity_parse("12g4", &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_is_zeroed_with_space),
		cmocka_unit_test(test_put_copies_and_terminates),
		cmocka_unit_test(test_put_refuses_what_does_not_fit),
		cmocka_unit_test(test_freed_events_are_reused_clean),
		cmocka_unit_test(test_put_keeps_embedded_nuls),
		cmocka_unit_test(test_dup_repoints_every_string_field),
		cmocka_unit_test(test_dup_of_dup_and_nulls),
		cmocka_unit_test(test_kinds_table_is_complete),
		cmocka_unit_test(test_kinds_names_and_actions),
		cmocka_unit_test(test_types_by_exact_name),
		cmocka_unit_test(test_types_by_family),
		cmocka_unit_test(test_is_family),
		cmocka_unit_test(test_addr_round_trips),
		cmocka_unit_test(test_addr_parse_values),
		cmocka_unit_test(test_addr_str_other_families),
		cmocka_unit_test(test_entity_ids),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
