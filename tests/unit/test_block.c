/*
 * test_block.c - the block encoding (store/block.h): every field the store
 * keeps round-trips (exec, file, network, gap, zero and empty-string
 * events, negative and >2^63 values, time going backwards); a block holds
 * 256 events and refuses the 257th and a non-increasing id; the decoder
 * reuses the caller's event and grows it; malformed blocks (every
 * truncation, bad counts, random mutations, lengths past the end, varints
 * too long) are -EBADMSG and never read outside the buffer (run under
 * ASan: every decoded buffer is an exact-size heap copy).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "event/event.h"
#include "store/block.h"

#define T0 1700000000123456789ULL

/* ---- building events ---- */

static struct hn_event *new_ev(size_t space)
{
	struct hn_event *ev = hn_event_new(space);

	assert_non_null(ev);
	return ev;
}

static const char *put(struct hn_event *ev, const char *s)
{
	const char *p = hn_event_puts(ev, s);

	assert_non_null(p);
	return p;
}

static const char *putn(struct hn_event *ev, const void *s, size_t n)
{
	const char *p = hn_event_put(ev, s, n);

	assert_non_null(p);
	return p;
}

/* 4 KiB of argv: NUL separators, bytes that are not UTF-8 (0xff, a lone
 * continuation byte, an overlong start).  Returns argc. */
static uint32_t fill_argv(uint8_t *a, size_t n)
{
	uint32_t argc = 0;

	for (size_t i = 0; i < n; i++) {
		if (i % 37 == 36 || i == n - 1) {
			a[i] = '\0';
			argc++;
		} else if (i % 11 == 0) {
			a[i] = (uint8_t)(0x80 + i % 0x80);
		} else if (i % 13 == 0) {
			a[i] = 0xff;
		} else {
			a[i] = (uint8_t)('a' + i % 26);
		}
	}
	return argc;
}

/* An exec with every kept field non-zero, plus the enrichment that the
 * block does not keep. */
static struct hn_event *ev_exec_full(size_t argv_len)
{
	static uint8_t argv[4096];
	struct hn_event *ev = new_ev(16384);

	assert_true(argv_len <= sizeof(argv));
	ev->type = HN_EV_PROCESS_START;
	ev->flags = HN_EVF_SETUID_EXEC | HN_EVF_ARGV_TRUNC | HN_EVF_FAILED;
	ev->time = T0;
	ev->proc.entity = 0x0001234500001001ULL;
	ev->proc.parent_entity = 0x0001234400000777ULL;
	ev->proc.start_time = T0 - 5000;
	ev->proc.pid = 4097;
	ev->proc.tid = 4098;
	ev->proc.ppid = 1911;
	ev->proc.uid = 1000;
	ev->proc.gid = 1001;
	ev->proc.euid = 1;
	ev->proc.egid = 4;
	ev->proc.auid = 4294967295u;
	memcpy(ev->proc.comm, "fifteen-chars-x", 16);
	ev->proc.executable = "/usr/bin/not-kept";
	ev->proc.parent_executable = "/usr/bin/parent-not-kept";
	ev->result = -13;
	ev->filename = put(ev, "./t\xff\xfe\xc3(ool");
	ev->argc = fill_argv(argv, argv_len);
	ev->args = putn(ev, argv, argv_len);
	ev->args_len = argv_len;
	ev->cwd = put(ev, "/home/\xe9l\xe8ve");
	ev->tty = put(ev, "pts/3");
	ev->cgroup = put(ev, "session-4.scope");
	ev->container_id = put(ev, "3f2a9c1b7d6e");
	ev->cgroup_id = 0x8000000000000123ULL;
	ev->sessionid = 4;
	memcpy(ev->sha256, "0123456789abcdef0123456789abcdef"
	       "fedcba9876543210fedcba9876543210", 65);
	ev->exit_code = -1;
	ev->exit_signal = -9;
	ev->path = put(ev, "/usr/local/bin/tool");
	ev->path2 = put(ev, "/tmp/x");
	ev->dev = UINT64_MAX;
	ev->ino = (1ULL << 63) + 7;
	ev->size = 123456789;
	ev->mtime = T0 - 86400ULL * 1000000000ULL;
	ev->mode = 0104755;
	ev->oflags = 0x8241;
	ev->owner_uid = 65534;
	ev->owner_gid = 65533;
	ev->cookie = 0xffff8880deadbeefULL;
	ev->target_pid = 77;
	ev->target_entity = 0xfedcba9876543210ULL;
	ev->request = 16;
	ev->cred_arg[0] = UINT64_MAX;
	ev->cred_arg[1] = 1ULL << 63;
	ev->cred_arg[2] = 3;
	ev->transport = IPPROTO_TCP;
	ev->src.family = AF_INET6;
	ev->src.port = 65535;
	memset(ev->src.addr, 0xab, sizeof(ev->src.addr));
	ev->dst.family = AF_INET;
	ev->dst.port = 1;
	memcpy(ev->dst.addr, "\x0a\x00\x00\x01", 4);
	ev->dns_name = put(ev, "example.org");
	ev->dns_type = 28;
	ev->name = put(ev, "memfd:\x01payload");
	ev->gap_dropped = 1;
	ev->gap_queue = 2;
	return ev;
}

/* What the sensor reports for a typical write-open: ~5 strings/numbers
 * beyond the acting process. */
static struct hn_event *ev_file(unsigned i)
{
	struct hn_event *ev = new_ev(256);
	char path[64];

	ev->type = HN_EV_FILE_OPEN_WRITE;
	ev->flags = HN_EVF_CREATED;
	ev->time = T0 + i * 2500ULL;
	ev->proc.entity = 0x0001234500000000ULL + 4200 + i / 8;
	ev->proc.parent_entity = 0x0001234400000100ULL;
	ev->proc.start_time = T0 - 1000000;
	ev->proc.pid = 4200 + i / 8;
	ev->proc.tid = ev->proc.pid;
	ev->proc.ppid = 256;
	ev->proc.uid = ev->proc.euid = 1000;
	ev->proc.gid = ev->proc.egid = 1000;
	ev->proc.auid = 1000;
	memcpy(ev->proc.comm, "python3", 8);
	ev->result = 3;
	snprintf(path, sizeof(path), "/home/user/project/out/file-%u.txt", i);
	ev->path = put(ev, path);
	ev->dev = 0x803;
	ev->ino = 1000000 + i;
	ev->mode = 0100644;
	ev->oflags = 0x241;
	ev->cookie = 0xffff888000000000ULL + i * 64ULL;
	return ev;
}

static struct hn_event *ev_rename(void)
{
	struct hn_event *ev = ev_file(3);

	ev->type = HN_EV_FILE_RENAME;
	ev->flags = 0;
	ev->result = 0;
	ev->oflags = 0;
	ev->cookie = 0;
	ev->path = put(ev, "/var/tmp/.hidden old name");
	ev->path2 = put(ev, "/etc/cron.d/new-name");
	ev->size = 512;
	ev->mtime = T0 - 10;
	return ev;
}

static struct hn_event *ev_connect(int family)
{
	struct hn_event *ev = new_ev(64);

	ev->type = HN_EV_NET_CONNECT;
	ev->flags = HN_EVF_INPROGRESS;
	ev->time = T0 + 99;
	ev->proc.entity = 0x0001234500002222ULL;
	ev->proc.pid = 2222;
	memcpy(ev->proc.comm, "curl", 5);
	ev->result = -EINPROGRESS;
	ev->transport = IPPROTO_TCP;
	ev->src.family = ev->dst.family = (uint16_t)family;
	ev->src.port = 43512;
	ev->dst.port = 443;
	if (family == AF_INET) {
		memcpy(ev->src.addr, "\xc0\xa8\x01\x02", 4);
		memcpy(ev->dst.addr, "\x5d\xb8\xd8\x22", 4);
	} else {
		ev->src.addr[15] = 1;  /* ::1 */
		memcpy(ev->dst.addr, "\x20\x01\x0d\xb8\x00\x00\x00\x00"
		       "\x00\x00\x00\x00\x00\x00\x00\x01", 16);
	}
	return ev;
}

static struct hn_event *ev_gap(void)
{
	struct hn_event *ev = new_ev(0);

	ev->type = HN_EV_GAP;
	ev->time = T0 + 5;
	ev->gap_dropped = 12345;
	ev->gap_queue = (1ULL << 40) + 1;
	return ev;
}

/* Every string "" (args too: non-NULL, length 0). */
static struct hn_event *ev_empty_strings(void)
{
	struct hn_event *ev = new_ev(64);

	ev->type = HN_EV_MEMFD_CREATE;
	ev->filename = put(ev, "");
	ev->args = putn(ev, "", 0);
	ev->args_len = 0;
	ev->cwd = put(ev, "");
	ev->tty = put(ev, "");
	ev->cgroup = put(ev, "");
	ev->container_id = put(ev, "");
	ev->path = put(ev, "");
	ev->path2 = put(ev, "");
	ev->dns_name = put(ev, "");
	ev->name = put(ev, "");
	return ev;
}

static void free_evs(struct hn_event **evs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		hn_event_free(evs[i]);
}

/* ---- comparing ---- */

static void assert_in_space(const struct hn_event *ev, const char *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)ev->buf;

	assert_true(a >= lo && a < lo + ev->used);
}

/* NULL stays NULL, "" stays "", and a copy lives in got's string space. */
static void assert_str_kept(const char *want, const char *got,
			    const struct hn_event *ev)
{
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_in_space(ev, got);
}

static void assert_addr_equal(const struct hn_addr *a, const struct hn_addr *b)
{
	assert_int_equal(a->family, b->family);
	assert_int_equal(a->port, b->port);
	assert_memory_equal(a->addr, b->addr, sizeof(a->addr));
}

/* got is want stored as row id with add_flags: every field the store keeps,
 * one by one; the enrichment is not kept. */
static void assert_event_kept(const struct hn_event *want, int64_t id,
			      uint32_t add_flags, const struct hn_event *got)
{
	size_t comm_n = strnlen(want->proc.comm, sizeof(want->proc.comm) - 1);

	assert_int_equal(got->id, id);
	assert_int_equal(got->type, want->type);
	assert_int_equal(got->flags, want->flags | add_flags);
	assert_int_equal(got->time, want->time);
	assert_int_equal(got->proc.entity, want->proc.entity);
	assert_int_equal(got->proc.parent_entity, want->proc.parent_entity);
	assert_int_equal(got->proc.start_time, want->proc.start_time);
	assert_int_equal(got->proc.pid, want->proc.pid);
	assert_int_equal(got->proc.tid, want->proc.tid);
	assert_int_equal(got->proc.ppid, want->proc.ppid);
	assert_int_equal(got->proc.uid, want->proc.uid);
	assert_int_equal(got->proc.gid, want->proc.gid);
	assert_int_equal(got->proc.euid, want->proc.euid);
	assert_int_equal(got->proc.egid, want->proc.egid);
	assert_int_equal(got->proc.auid, want->proc.auid);
	assert_int_equal(strnlen(got->proc.comm, sizeof(got->proc.comm)), comm_n);
	assert_memory_equal(got->proc.comm, want->proc.comm, comm_n);
	assert_null(got->proc.executable);
	assert_null(got->proc.parent_executable);
	assert_true(got->result == want->result);
	assert_str_kept(want->filename, got->filename, got);
	if (!want->args) {
		assert_null(got->args);
		assert_int_equal(got->args_len, 0);
	} else {
		assert_non_null(got->args);
		assert_int_equal(got->args_len, want->args_len);
		assert_memory_equal(got->args, want->args, want->args_len);
		assert_in_space(got, got->args);
	}
	assert_int_equal(got->argc, want->argc);
	assert_str_kept(want->cwd, got->cwd, got);
	assert_str_kept(want->tty, got->tty, got);
	assert_str_kept(want->cgroup, got->cgroup, got);
	assert_str_kept(want->container_id, got->container_id, got);
	assert_int_equal(got->cgroup_id, want->cgroup_id);
	assert_int_equal(got->sessionid, want->sessionid);
	assert_string_equal(got->sha256, want->sha256);
	assert_true(got->exit_code == want->exit_code);
	assert_true(got->exit_signal == want->exit_signal);
	assert_str_kept(want->path, got->path, got);
	assert_str_kept(want->path2, got->path2, got);
	assert_int_equal(got->dev, want->dev);
	assert_int_equal(got->ino, want->ino);
	assert_int_equal(got->size, want->size);
	assert_int_equal(got->mtime, want->mtime);
	assert_int_equal(got->mode, want->mode);
	assert_int_equal(got->oflags, want->oflags);
	assert_int_equal(got->owner_uid, want->owner_uid);
	assert_int_equal(got->owner_gid, want->owner_gid);
	assert_int_equal(got->cookie, want->cookie);
	assert_int_equal(got->target_pid, want->target_pid);
	assert_int_equal(got->target_entity, want->target_entity);
	assert_int_equal(got->request, want->request);
	assert_int_equal(got->cred_arg[0], want->cred_arg[0]);
	assert_int_equal(got->cred_arg[1], want->cred_arg[1]);
	assert_int_equal(got->cred_arg[2], want->cred_arg[2]);
	assert_int_equal(got->transport, want->transport);
	assert_addr_equal(&got->src, &want->src);
	assert_addr_equal(&got->dst, &want->dst);
	assert_str_kept(want->dns_name, got->dns_name, got);
	assert_int_equal(got->dns_type, want->dns_type);
	assert_str_kept(want->name, got->name, got);
	assert_int_equal(got->gap_dropped, want->gap_dropped);
	assert_int_equal(got->gap_queue, want->gap_queue);
}

/* ---- encoding and decoding whole blocks ---- */

/* The encoded bytes in an exact-size heap copy, so that ASan sees any read
 * past the end. */
static uint8_t *block_copy(const struct hn_block_enc *b, size_t *len)
{
	const void *data = hn_block_enc_data(b, len);
	uint8_t *cp = malloc(*len);

	assert_non_null(cp);
	memcpy(cp, data, *len);
	return cp;
}

static void encode(struct hn_block_enc *b, struct hn_event *const *evs,
		   const int64_t *ids, size_t n, uint32_t add_flags)
{
	hn_block_enc_reset(b);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(hn_block_enc_add(b, ids[i], evs[i], add_flags), 0);
	assert_int_equal(b->count, n);
}

/* Decode data and compare with evs[] as rows ids[]. */
static void assert_decodes_to(const uint8_t *data, size_t len,
			      struct hn_event *const *evs, const int64_t *ids,
			      size_t n, uint32_t add_flags)
{
	struct hn_block_dec d;
	struct hn_event *got = NULL;

	assert_int_equal(hn_block_dec_init(&d, data, len), 0);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(hn_block_dec_next(&d, &got), 1);
		assert_event_kept(evs[i], ids[i], add_flags, got);
	}
	assert_int_equal(hn_block_dec_next(&d, &got), 0);
	assert_int_equal(hn_block_dec_next(&d, &got), 0);
	hn_event_free(got);
}

/* Encode evs[] into one block, check its bookkeeping, decode, compare. */
static void round_trip(struct hn_event *const *evs, const int64_t *ids,
		       size_t n, uint32_t add_flags)
{
	struct hn_block_enc b = { 0 };
	uint64_t lo = evs[0]->time, hi = evs[0]->time;
	uint8_t *data;
	size_t len;

	encode(&b, evs, ids, n, add_flags);
	for (size_t i = 1; i < n; i++) {
		lo = evs[i]->time < lo ? evs[i]->time : lo;
		hi = evs[i]->time > hi ? evs[i]->time : hi;
	}
	assert_int_equal(b.first_id, ids[0]);
	assert_int_equal(b.last_id, ids[n - 1]);
	assert_int_equal(b.min_time, lo);
	assert_int_equal(b.max_time, hi);
	data = block_copy(&b, &len);
	assert_memory_equal(data, "HNB1\x01", 5);
	assert_decodes_to(data, len, evs, ids, n, add_flags);
	free(data);
	hn_block_enc_free(&b);
}

/* Decode everything in data[0..len): the result that ended it (0 or an
 * error), after checking that the cursor stays where it ended. */
static int decode_all(const uint8_t *data, size_t len, struct hn_event **ev)
{
	struct hn_block_dec d;
	int r = hn_block_dec_init(&d, data, len);

	if (r)
		return r;
	while ((r = hn_block_dec_next(&d, ev)) == 1)
		;
	assert_int_equal(hn_block_dec_next(&d, ev), r);
	return r;
}

static int decode_copy(const uint8_t *data, size_t len)
{
	uint8_t *cp = malloc(len ? len : 1);
	struct hn_event *ev = NULL;
	int r;

	assert_non_null(cp);
	memcpy(cp, data, len);
	r = decode_all(cp, len, &ev);
	hn_event_free(ev);
	free(cp);
	return r;
}

/* ---- round trips ---- */

static void test_exec_with_every_field_round_trips(void **state)
{
	(void)state;
	struct hn_event *evs[2] = { ev_exec_full(4096), ev_exec_full(4096) };
	int64_t ids[2] = { 1000, 1001 };

	assert_int_equal(evs[0]->args_len, 4096);
	assert_non_null(memchr(evs[0]->args, '\0', 100));
	assert_non_null(memchr(evs[0]->args, 0xff, 100));
	/* the second differs by deltas only: time and entity go back */
	evs[1]->time -= 1;
	evs[1]->proc.entity -= 1;
	round_trip(evs, ids, 2, HN_EVF_WRITTEN);
	round_trip(evs, ids, 2, 0);
	free_evs(evs, 2);
}

static void test_file_rename_round_trips(void **state)
{
	(void)state;
	struct hn_event *evs[2] = { ev_file(0), ev_rename() };
	int64_t ids[2] = { 7, 9 };

	round_trip(evs, ids, 2, 0);
	free_evs(evs, 2);
}

static void test_net_connect_v4_and_v6_round_trip(void **state)
{
	(void)state;
	struct hn_event *evs[3] = { ev_connect(AF_INET), ev_connect(AF_INET6),
				    ev_connect(AF_INET6) };
	int64_t ids[3] = { 1, 2, 3 };

	/* a DNS query over UDP, addresses that end in zero bytes */
	evs[2]->type = HN_EV_DNS_QUERY;
	evs[2]->transport = IPPROTO_UDP;
	evs[2]->dst.port = 53;
	memset(evs[2]->dst.addr, 0, 16);
	evs[2]->dst.addr[0] = 0xfe;
	evs[2]->dst.addr[1] = 0x80;
	evs[2]->dns_name = put(evs[2], "a.very.long.name.example.com");
	evs[2]->dns_type = 1;
	round_trip(evs, ids, 3, 0);
	free_evs(evs, 3);
}

static void test_gap_round_trips(void **state)
{
	(void)state;
	struct hn_event *evs[2] = { ev_file(1), ev_gap() };
	int64_t ids[2] = { 50, 51 };

	round_trip(evs, ids, 2, 0);
	free_evs(evs, 2);
}

static void test_zero_event_and_null_vs_empty_strings(void **state)
{
	(void)state;
	struct hn_event *evs[3] = { new_ev(0), ev_empty_strings(), new_ev(0) };
	int64_t ids[3] = { 1, 2, 3 };
	struct hn_block_enc b = { 0 };
	size_t len;

	round_trip(evs, ids, 3, 0);

	/* Zero costs nothing: bitmap 0, id delta 1. */
	encode(&b, evs, ids, 1, 0);
	hn_block_enc_data(&b, &len);
	assert_int_equal(len, 6 + 2);
	hn_block_enc_free(&b);
	free_evs(evs, 3);
}

static void test_sha256_forms_round_trip(void **state)
{
	(void)state;
	struct hn_event *evs[3] = { new_ev(0), new_ev(0), new_ev(0) };
	int64_t ids[3] = { 1, 2, 3 };
	struct hn_block_enc b = { 0 };
	size_t hex_len, str_len;

	memcpy(evs[0]->sha256, "e3b0c44298fc1c149afbf4c8996fb924"
	       "27ae41e4649b934ca495991b7852b855", 65);
	memcpy(evs[1]->sha256, "E3B0C44298FC1C149AFBF4C8996FB924"
	       "27AE41E4649B934CA495991B7852B855", 65);
	memcpy(evs[2]->sha256, "not-a-hash", 11);
	round_trip(evs, ids, 3, 0);

	/* the canonical form is packed to 32 bytes, the other kept as is */
	encode(&b, evs, ids, 1, 0);
	hn_block_enc_data(&b, &hex_len);
	encode(&b, evs + 1, ids, 1, 0);
	hn_block_enc_data(&b, &str_len);
	assert_true(hex_len + 32 <= str_len);
	hn_block_enc_free(&b);
	free_evs(evs, 3);
}

static void test_negative_and_above_2_63_values(void **state)
{
	(void)state;
	struct hn_event *evs[4];
	int64_t ids[4] = { INT64_MIN + 1, -5, 0, INT64_MAX };

	for (int i = 0; i < 4; i++)
		evs[i] = ev_file((unsigned)i);
	evs[0]->result = INT64_MIN;
	evs[0]->exit_code = INT32_MIN;
	evs[0]->exit_signal = INT32_MAX;
	evs[0]->proc.entity = UINT64_MAX;
	evs[1]->result = -EACCES;
	evs[1]->exit_code = -1;
	evs[1]->exit_signal = -9;
	evs[1]->proc.entity = 0;  /* the delta wraps */
	evs[2]->result = INT64_MAX;
	evs[2]->cookie = (1ULL << 63) + 12345;
	evs[2]->dev = UINT64_MAX;
	evs[2]->ino = 1ULL << 63;
	evs[2]->size = UINT64_MAX - 1;
	evs[2]->proc.start_time = UINT64_MAX;
	evs[3]->cred_arg[0] = UINT64_MAX;
	evs[3]->gap_dropped = UINT64_MAX;
	evs[3]->proc.auid = UINT32_MAX;
	evs[3]->flags = UINT32_MAX;
	evs[3]->type = UINT16_MAX;
	round_trip(evs, ids, 4, 0);
	free_evs(evs, 4);
}

static void test_time_going_backwards_round_trips(void **state)
{
	(void)state;
	static const uint64_t times[] = {
		5000000000000000000ULL, 4000000000000000000ULL,
		4000000000000000000ULL, 1, UINT64_MAX, 0, T0, T0 - 1,
	};
	struct hn_event *evs[8];
	int64_t ids[8];
	struct hn_block_enc b = { 0 };

	for (int i = 0; i < 8; i++) {
		evs[i] = ev_file((unsigned)i);
		evs[i]->time = times[i];
		ids[i] = 100 + i * 3;
	}
	round_trip(evs, ids, 8, HN_EVF_SNAPSHOT);
	encode(&b, evs, ids, 8, 0);
	assert_int_equal(b.min_time, 0);
	assert_int_equal(b.max_time, UINT64_MAX);
	hn_block_enc_free(&b);
	free_evs(evs, 8);
}

/* ---- the encoder's limits ---- */

static void test_block_holds_256_events_then_enospc(void **state)
{
	(void)state;
	struct hn_event *evs[HN_BLOCK_MAX_EVENTS + 1];
	int64_t ids[HN_BLOCK_MAX_EVENTS + 1];
	struct hn_block_enc b = { 0 };
	uint8_t *data;
	size_t len;

	for (unsigned i = 0; i <= HN_BLOCK_MAX_EVENTS; i++) {
		evs[i] = ev_file(i);
		ids[i] = 5000 + i;
	}
	hn_block_enc_reset(&b);
	for (unsigned i = 0; i < HN_BLOCK_MAX_EVENTS; i++) {
		assert_int_equal(hn_block_enc_add(&b, ids[i], evs[i], 0), 0);
		if (i == 126) {
			/* 127: the count is one byte */
			data = block_copy(&b, &len);
			assert_memory_equal(data, "HNB1\x01\x7f", 6);
			assert_decodes_to(data, len, evs, ids, 127, 0);
			free(data);
		}
		if (i == 127) {
			/* 128: two bytes, the header moved left by one */
			data = block_copy(&b, &len);
			assert_memory_equal(data, "HNB1\x01\x80\x01", 7);
			assert_decodes_to(data, len, evs, ids, 128, 0);
			free(data);
		}
	}
	assert_int_equal(hn_block_enc_add(&b, ids[256], evs[256], 0), -ENOSPC);
	assert_int_equal(b.count, 256);
	assert_int_equal(b.first_id, 5000);
	assert_int_equal(b.last_id, 5255);
	data = block_copy(&b, &len);
	assert_memory_equal(data, "HNB1\x01\x80\x02", 7);
	assert_decodes_to(data, len, evs, ids, 256, 0);
	free(data);
	hn_block_enc_free(&b);
	free_evs(evs, HN_BLOCK_MAX_EVENTS + 1);
}

static void test_id_must_increase(void **state)
{
	(void)state;
	struct hn_event *evs[2] = { ev_file(0), ev_file(1) };
	int64_t ids[2] = { 10, 11 };
	struct hn_block_enc b = { 0 };
	uint8_t *data;
	size_t len;

	hn_block_enc_reset(&b);
	assert_int_equal(hn_block_enc_add(&b, 10, evs[0], 0), 0);
	assert_int_equal(hn_block_enc_add(&b, 10, evs[1], 0), -EINVAL);
	assert_int_equal(hn_block_enc_add(&b, 9, evs[1], 0), -EINVAL);
	assert_int_equal(hn_block_enc_add(&b, INT64_MIN, evs[1], 0), -EINVAL);
	assert_int_equal(hn_block_enc_add(&b, 11, NULL, 0), -EINVAL);
	assert_int_equal(b.count, 1);
	/* the refusals left the block as it was */
	assert_int_equal(hn_block_enc_add(&b, 11, evs[1], 0), 0);
	data = block_copy(&b, &len);
	assert_decodes_to(data, len, evs, ids, 2, 0);
	free(data);
	hn_block_enc_free(&b);
	free_evs(evs, 2);
}

static void test_empty_block_and_reset(void **state)
{
	(void)state;
	struct hn_event *evs[2] = { ev_file(0), ev_file(1) };
	int64_t ids[2] = { 3, 4 }, ids2[1] = { 1 };
	struct hn_block_enc b = { 0 };
	struct hn_block_dec d;
	struct hn_event *got = NULL;
	uint8_t *data;
	uint8_t *buf;
	size_t len, cap;

	hn_block_enc_reset(&b);
	data = block_copy(&b, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "HNB1\x01\x00", 6);
	assert_int_equal(hn_block_dec_init(&d, data, len), 0);
	assert_int_equal(hn_block_dec_next(&d, &got), 0);
	assert_null(got);
	free(data);

	encode(&b, evs, ids, 2, 0);
	buf = b.buf;
	cap = b.cap;
	hn_block_enc_reset(&b);
	assert_ptr_equal(b.buf, buf);
	assert_int_equal(b.cap, cap);
	assert_int_equal(b.count, 0);
	hn_block_enc_data(&b, &len);
	assert_int_equal(len, 6);
	/* a fresh block: its deltas start again from zero */
	assert_int_equal(hn_block_enc_add(&b, 1, evs[1], 0), 0);
	data = block_copy(&b, &len);
	assert_decodes_to(data, len, evs + 1, ids2, 1, 0);
	free(data);

	hn_block_enc_free(&b);
	assert_null(b.buf);
	hn_block_enc_free(&b);
	hn_block_enc_free(NULL);
	free_evs(evs, 2);
}

/* ---- the decoder's event ---- */

static void test_decoder_reuses_and_grows_the_event(void **state)
{
	(void)state;
	struct hn_event *evs[3] = { ev_file(0), ev_exec_full(4096), ev_file(2) };
	int64_t ids[3] = { 1, 2, 3 };
	struct hn_block_enc b = { 0 };
	struct hn_block_dec d;
	struct hn_event *mine = new_ev(300), *got = mine, *grown;
	uint8_t *data;
	size_t len;

	encode(&b, evs, ids, 3, 0);
	data = block_copy(&b, &len);
	assert_int_equal(hn_block_dec_init(&d, data, len), 0);

	/* fits: the caller's event, filled in place */
	assert_int_equal(hn_block_dec_next(&d, &got), 1);
	assert_ptr_equal(got, mine);
	assert_true(got->space >= 300);
	assert_event_kept(evs[0], 1, 0, got);

	/* 4 KiB of argv does not: a bigger one replaces it (the old one was
	 * freed: ASan would see a use) */
	assert_int_equal(hn_block_dec_next(&d, &got), 1);
	assert_ptr_not_equal(got, mine);
	assert_true(got->space >= 4096);
	assert_true(got->used <= got->space);
	assert_event_kept(evs[1], 2, 0, got);
	grown = got;

	/* and is reused from then on */
	assert_int_equal(hn_block_dec_next(&d, &got), 1);
	assert_ptr_equal(got, grown);
	assert_event_kept(evs[2], 3, 0, got);
	assert_int_equal(hn_block_dec_next(&d, &got), 0);
	hn_event_free(got);

	/* NULL: the decoder allocates */
	got = NULL;
	assert_int_equal(hn_block_dec_init(&d, data, len), 0);
	assert_int_equal(hn_block_dec_next(&d, &got), 1);
	assert_non_null(got);
	assert_event_kept(evs[0], 1, 0, got);
	hn_event_free(got);

	free(data);
	hn_block_enc_free(&b);
	free_evs(evs, 3);
}

/* ---- malformed blocks ---- */

/* A block of every kind of event, with short strings so that mutations
 * land in structure more often than in text. */
static uint8_t *mixed_block(size_t *len)
{
	struct hn_event *evs[28];
	int64_t ids[28];
	struct hn_block_enc b = { 0 };
	uint8_t *data;
	size_t n = 0;

	evs[n++] = ev_exec_full(64);
	evs[n++] = ev_rename();
	evs[n++] = ev_connect(AF_INET);
	evs[n++] = ev_connect(AF_INET6);
	evs[n++] = ev_gap();
	evs[n++] = ev_empty_strings();
	evs[n++] = new_ev(0);
	for (; n < 28; n++)
		evs[n] = ev_file((unsigned)n);
	for (size_t i = 0; i < n; i++)
		ids[i] = 40 + (int64_t)i * 2;
	encode(&b, evs, ids, n, 0);
	data = block_copy(&b, len);
	hn_block_enc_free(&b);
	free_evs(evs, n);
	return data;
}

static void test_every_truncation_is_rejected(void **state)
{
	(void)state;
	struct hn_event *evs[4] = { ev_exec_full(4096), ev_rename(),
				    ev_connect(AF_INET6), ev_gap() };
	int64_t ids[4] = { 1, 2, 3, 4 };
	struct hn_block_enc b = { 0 };
	uint8_t *data;
	size_t len;

	encode(&b, evs, ids, 4, 0);
	data = block_copy(&b, &len);
	assert_int_equal(decode_copy(data, len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(decode_copy(data, cut), -EBADMSG);
	free(data);

	data = mixed_block(&len);
	assert_int_equal(decode_copy(data, len), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(decode_copy(data, cut), -EBADMSG);
	free(data);
	hn_block_enc_free(&b);
	free_evs(evs, 4);
}

static void test_corrupted_header_is_rejected(void **state)
{
	(void)state;
	struct hn_block_dec d;
	uint8_t *data, *big;
	size_t len;

	data = mixed_block(&len);
	assert_int_equal(data[5], 28);

	data[5] = 29;           /* one event missing */
	assert_int_equal(decode_copy(data, len), -EBADMSG);
	data[5] = 27;           /* bytes after the last event */
	assert_int_equal(decode_copy(data, len), -EBADMSG);
	data[5] = 0;
	assert_int_equal(decode_copy(data, len), -EBADMSG);
	data[5] = 0x81;         /* a count varint cut by the first event */
	assert_int_equal(decode_copy(data, len), -EBADMSG);
	data[5] = 28;
	assert_int_equal(decode_copy(data, len), 0);

	data[0] = 'X';
	assert_int_equal(decode_copy(data, len), -EBADMSG);
	data[0] = 'H';
	data[4] = HN_BLOCK_VERSION + 1;
	assert_int_equal(decode_copy(data, len), -EBADMSG);
	data[4] = HN_BLOCK_VERSION;

	/* 257 events' worth of bytes is still too many events */
	big = calloc(1, 8 + 257 * 2);
	assert_non_null(big);
	memcpy(big, "HNB1\x01\x81\x02", 7);
	assert_int_equal(hn_block_dec_init(&d, big, 8 + 257 * 2), -EBADMSG);
	memcpy(big, "HNB1\x01\x80\x02", 7);
	assert_int_equal(hn_block_dec_init(&d, big, 8 + 257 * 2), 0);
	/* an event takes two bytes at least: init refuses a count that the
	 * bytes cannot hold before decoding anything */
	assert_int_equal(hn_block_dec_init(&d, big, 7 + 256 * 2 - 1), -EBADMSG);
	memcpy(big, "HNB1\x01\xff\x01", 7);
	assert_int_equal(hn_block_dec_init(&d, big, 7 + 256 * 2 - 1), 0);
	assert_int_equal(d.left, 255);
	free(big);

	assert_int_equal(hn_block_dec_init(&d, NULL, 0), -EBADMSG);
	assert_int_equal(hn_block_dec_next(&d, &(struct hn_event *){ NULL }),
			 -EBADMSG);
	free(data);
}

/* xorshift64: the same mutations on every run */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_mutations_are_rejected_or_decode(void **state)
{
	(void)state;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned rejected = 0, accepted = 0;
	uint8_t *data, *m;
	size_t len;

	data = mixed_block(&len);
	m = malloc(len);
	assert_non_null(m);
	for (int i = 0; i < 2000; i++) {
		size_t mlen = len;
		int r;

		memcpy(m, data, len);
		switch (rnd(&seed) % 3) {
		case 0:  /* flip one bit */
			m[rnd(&seed) % len] ^= (uint8_t)(1u << rnd(&seed) % 8);
			break;
		case 1:  /* one to four random bytes */
			for (uint64_t k = rnd(&seed) % 4 + 1; k; k--)
				m[rnd(&seed) % len] = (uint8_t)rnd(&seed);
			break;
		default:  /* a byte set to a continuation, then cut */
			m[rnd(&seed) % len] |= 0x80;
			mlen = len - rnd(&seed) % 64;
			break;
		}
		r = decode_copy(m, mlen);
		assert_true(r == 0 || r == -EBADMSG);
		if (r)
			rejected++;
		else
			accepted++;
	}
	/* both outcomes happen: a flipped text byte is still a block */
	assert_true(rejected > 500);
	assert_true(accepted > 0);
	free(m);
	free(data);
}

/* A block of one event whose only field is string s (path or comm): the
 * prefix up to s's length byte. */
static size_t prefix_before(const uint8_t *data, size_t len, const char *s)
{
	size_t n = strlen(s);

	assert_true(len > n + 1);
	assert_memory_equal(data + len - n, s, n);
	assert_int_equal(data[len - n - 1], n);
	return len - n - 1;
}

static void test_lengths_past_the_end_are_rejected(void **state)
{
	(void)state;
	struct hn_event *ev = new_ev(64);
	struct hn_block_enc b = { 0 };
	uint8_t blk[64];
	size_t len, pre;
	const uint8_t *data;

	ev->path = put(ev, "abc");
	hn_block_enc_reset(&b);
	assert_int_equal(hn_block_enc_add(&b, 1, ev, 0), 0);
	data = hn_block_enc_data(&b, &len);
	assert_int_equal(decode_copy(data, len), 0);
	pre = prefix_before(data, len, "abc");
	memcpy(blk, data, len);

	blk[pre] = 4;           /* one byte past the end */
	assert_int_equal(decode_copy(blk, len), -EBADMSG);
	blk[pre] = 0x7f;
	assert_int_equal(decode_copy(blk, len), -EBADMSG);
	blk[pre] = 2;           /* short: one byte left over */
	assert_int_equal(decode_copy(blk, len), -EBADMSG);

	/* a length of 2^64 - 1 */
	memset(blk + pre, 0xff, 9);
	blk[pre + 9] = 0x01;
	memcpy(blk + pre + 10, "abc", 3);
	assert_int_equal(decode_copy(blk, pre + 13), -EBADMSG);
	/* a varint of 11 bytes */
	memset(blk + pre, 0x80, 10);
	blk[pre + 10] = 0x00;
	assert_int_equal(decode_copy(blk, pre + 11), -EBADMSG);
	/* a 10-byte varint above 2^64 */
	memset(blk + pre, 0x80, 9);
	blk[pre + 9] = 0x02;
	assert_int_equal(decode_copy(blk, pre + 10), -EBADMSG);

	/* comm holds 15 bytes: 15 is fine, 16 is not */
	ev->path = NULL;
	memcpy(ev->proc.comm, "abc", 4);
	hn_block_enc_reset(&b);
	assert_int_equal(hn_block_enc_add(&b, 1, ev, 0), 0);
	data = hn_block_enc_data(&b, &len);
	pre = prefix_before(data, len, "abc");
	memcpy(blk, data, pre);
	blk[pre] = 15;
	memset(blk + pre + 1, 'x', 16);
	assert_int_equal(decode_copy(blk, pre + 16), 0);
	blk[pre] = 16;
	assert_int_equal(decode_copy(blk, pre + 17), -EBADMSG);

	/* an address holds 16 bytes: 17 is refused */
	memset(ev->proc.comm, 0, sizeof(ev->proc.comm));
	ev->src.family = AF_INET6;
	memset(ev->src.addr, 0x11, 16);
	hn_block_enc_reset(&b);
	assert_int_equal(hn_block_enc_add(&b, 1, ev, 0), 0);
	data = hn_block_enc_data(&b, &len);
	memcpy(blk, data, len);
	assert_int_equal(blk[len - 17], 16);
	blk[len - 17] = 17;
	blk[len] = 0x11;
	assert_int_equal(decode_copy(blk, len + 1), -EBADMSG);

	/* a field bit that no version defines */
	memcpy(blk, "HNB1\x01\x01", 6);
	memset(blk + 6, 0x80, 9);
	blk[15] = 0x01;         /* bit 63 */
	blk[16] = 0x01;         /* id delta */
	assert_int_equal(decode_copy(blk, 17), -EBADMSG);
	blk[6] = 0x00;          /* bitmap 0: then fine */
	blk[7] = 0x01;
	assert_int_equal(decode_copy(blk, 8), 0);

	hn_block_enc_free(&b);
	hn_event_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_with_every_field_round_trips),
		cmocka_unit_test(test_file_rename_round_trips),
		cmocka_unit_test(test_net_connect_v4_and_v6_round_trip),
		cmocka_unit_test(test_gap_round_trips),
		cmocka_unit_test(test_zero_event_and_null_vs_empty_strings),
		cmocka_unit_test(test_sha256_forms_round_trip),
		cmocka_unit_test(test_negative_and_above_2_63_values),
		cmocka_unit_test(test_time_going_backwards_round_trips),
		cmocka_unit_test(test_block_holds_256_events_then_enospc),
		cmocka_unit_test(test_id_must_increase),
		cmocka_unit_test(test_empty_block_and_reset),
		cmocka_unit_test(test_decoder_reuses_and_grows_the_event),
		cmocka_unit_test(test_every_truncation_is_rejected),
		cmocka_unit_test(test_corrupted_header_is_rejected),
		cmocka_unit_test(test_random_mutations_are_rejected_or_decode),
		cmocka_unit_test(test_lengths_past_the_end_are_rejected),
	};
	return cmocka_run_group_tests_name("block", tests, NULL, NULL);
}
