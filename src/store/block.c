/*
 * block.c - the block encoding of a run of events (see block.h for the
 * layout and the contract).
 *
 * Invariants:
 *  - enum field is the on-disk order of an event's fields and the bit each
 *    one has in the presence bitmap.  Encoder and decoder walk it in the
 *    same order, written out field by field (no table of handlers: this is
 *    the store's hot path).  Bits are on disk: append new fields at the end
 *    (before F_NBITS), never renumber; a decoder refuses bits it does not
 *    know rather than misread what follows them.
 *  - The encoder keeps the header in a fixed slot of HDR_SLOT bytes at the
 *    start of buf, right-aligned, because the count's varint grows from one
 *    byte to two at 128 events; hn_block_enc_data returns the slot's used
 *    tail.  Events follow the slot.
 *  - hn_block_enc_add reserves the worst case of the event before writing
 *    it (EV_FIXED_MAX plus its string bytes), so the writes need no bounds
 *    checks and a failure leaves the block as it was.
 *  - The decoder trusts nothing: every read is bounded by d->end, and an
 *    error is sticky (d->p = NULL) so a caller that keeps calling cannot
 *    walk on from a bad place.  String lengths are bounded by the bytes
 *    left, so a hostile length cannot make it allocate more than the block.
 */
#include "store/block.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define VARINT_MAX 10           /* bytes of a 64-bit LEB128 */
#define HDR_SLOT 7              /* magic 4 + version 1 + count <= 2 */
#define HDR_MIN 6               /* the header with a one-byte count */
#define EV_MIN 2                /* bitmap + id delta, one byte each */
#define DEC_MIN_SPACE 512       /* string space of an event we allocate */
#define ENC_MIN_CAP 4096

static const uint8_t magic[4] = { 'H', 'N', 'B', '1' };
static const uint8_t empty_block[HDR_MIN] = {
	'H', 'N', 'B', '1', HN_BLOCK_VERSION, 0,
};

/* The fields of an event in on-disk order; the value is the field's bit.
 * Most common first: the bitmap is a varint, so a file event (bits up to
 * F_OWNER_GID) fits in four bytes. */
enum field {
	F_TYPE, F_FLAGS, F_TIME, F_ENTITY,
	F_PID, F_TID, F_PPID, F_UID, F_GID, F_EUID, F_EGID, F_AUID,
	F_COMM, F_PARENT, F_START, F_RESULT,
	/* file */
	F_PATH, F_DEV, F_INO, F_SIZE, F_MTIME, F_MODE, F_OFLAGS, F_COOKIE,
	F_PATH2, F_OWNER_UID, F_OWNER_GID,
	/* process start, exit */
	F_FILENAME, F_ARGS, F_ARGC, F_CWD, F_TTY, F_CGROUP, F_CONTAINER,
	F_CGROUP_ID, F_SESSIONID, F_SHA_HEX, F_SHA_STR, F_EXIT_CODE,
	F_EXIT_SIGNAL,
	/* network, names */
	F_TRANSPORT, F_SRC, F_DST, F_DNS_NAME, F_DNS_TYPE, F_NAME,
	/* cred, ptrace, memory */
	F_TARGET_PID, F_TARGET_ENTITY, F_REQUEST, F_CRED0, F_CRED1, F_CRED2,
	/* gap */
	F_GAP_DROPPED, F_GAP_QUEUE,
	F_NBITS
};
_Static_assert(F_NBITS < 64, "the presence bitmap is one u64");

#define BIT(f) ((uint64_t)1 << (f))

/* The length-delimited strings, which the decoder copies into the event's
 * string space once it knows how much they need. */
enum str_slot {
	S_PATH, S_PATH2, S_FILENAME, S_ARGS, S_CWD, S_TTY, S_CGROUP,
	S_CONTAINER, S_DNS_NAME, S_NAME, S_NSTR
};

#define COMM_MAX (sizeof(((struct hn_proc *)0)->comm) - 1)
#define SHA_HEX 64
#define SHA_BIN 32
#define ADDR_MAX (sizeof(((struct hn_addr *)0)->addr))

/* The most an event can take besides its string bytes: every field a full
 * varint (strings: their length), plus the bitmap and the id; comm and a
 * non-hex sha256 in full; each address two more varints, a length byte and
 * 16 bytes. */
#define EV_FIXED_MAX ((F_NBITS + 2) * VARINT_MAX + COMM_MAX + SHA_HEX + \
		      2 * (2 * VARINT_MAX + 1 + ADDR_MAX))

/* ---- varints ---- */

static inline uint8_t *put_uv(uint8_t *w, uint64_t v)
{
	while (v >= 0x80) {
		*w++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*w++ = (uint8_t)v;
	return w;
}

/* Signed values travel as their two's complement in a uint64 (so deltas
 * wrap instead of overflowing); zigzag keeps small negatives short. */
static inline uint64_t zigzag(uint64_t v)
{
	return (v << 1) ^ (0 - (v >> 63));
}

static inline uint64_t unzigzag(uint64_t u)
{
	return (u >> 1) ^ (0 - (u & 1));
}

static inline uint8_t *put_bytes(uint8_t *w, const void *s, size_t n)
{
	w = put_uv(w, n);
	if (n)
		memcpy(w, s, n);
	return w + n;
}

/* ---- encoder ---- */

void hn_block_enc_reset(struct hn_block_enc *b)
{
	b->len = 0;
	b->count = 0;
	b->first_id = b->last_id = 0;
	b->min_time = b->max_time = 0;
	b->prev_id = 0;
	b->prev_time = 0;
	b->prev_entity = 0;
}

void hn_block_enc_free(struct hn_block_enc *b)
{
	if (!b)
		return;
	free(b->buf);
	memset(b, 0, sizeof(*b));
}

/* Make room for `need` bytes after `start`; geometric, so a block costs a
 * handful of reallocs over its life and none once the buffer is warm. */
static int enc_reserve(struct hn_block_enc *b, size_t start, size_t need)
{
	size_t cap;
	uint8_t *p;

	if (need > SIZE_MAX - start)
		return -ENOMEM;
	need += start;
	if (need <= b->cap)
		return 0;
	cap = b->cap < ENC_MIN_CAP ? ENC_MIN_CAP : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	b->buf = p;
	b->cap = cap;
	return 0;
}

static size_t addr_len(const struct hn_addr *a)
{
	size_t n = ADDR_MAX;

	while (n && !a->addr[n - 1])
		n--;
	return n;
}

static inline uint8_t *put_addr(uint8_t *w, const struct hn_addr *a, size_t n)
{
	w = put_uv(w, a->family);
	w = put_uv(w, a->port);
	*w++ = (uint8_t)n;
	memcpy(w, a->addr, n);
	return w + n;
}

static inline unsigned hexval(char c)
{
	return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10);
}

/* Only the canonical form packs: anything else round-trips as a string. */
static bool sha_is_hex(const char *s)
{
	for (size_t i = 0; i < SHA_HEX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((unsigned)(c - '0') < 10u || (unsigned)(c - 'a') < 6u))
			return false;
	}
	return s[SHA_HEX] == '\0';
}

int hn_block_enc_add(struct hn_block_enc *b, int64_t id,
		     const struct hn_event *ev, uint32_t add_flags)
{
	const char *s[S_NSTR];
	size_t n[S_NSTR], need = EV_FIXED_MAX, start, comm_n, sha_n = 0;
	size_t src_n, dst_n;
	uint64_t bits = 0, dtime, dentity;
	uint32_t flags;
	uint8_t *w;
	int r;

	if (!b || !ev)
		return -EINVAL;
	if (b->count >= HN_BLOCK_MAX_EVENTS)
		return -ENOSPC;
	if (b->count && id <= b->prev_id)
		return -EINVAL;

	s[S_PATH] = ev->path;
	s[S_PATH2] = ev->path2;
	s[S_FILENAME] = ev->filename;
	s[S_ARGS] = ev->args;
	s[S_CWD] = ev->cwd;
	s[S_TTY] = ev->tty;
	s[S_CGROUP] = ev->cgroup;
	s[S_CONTAINER] = ev->container_id;
	s[S_DNS_NAME] = ev->dns_name;
	s[S_NAME] = ev->name;
	for (int i = 0; i < S_NSTR; i++) {
		n[i] = !s[i] ? 0 : i == S_ARGS ? ev->args_len : strlen(s[i]);
		if (n[i] > SIZE_MAX - need)
			return -ENOMEM;
		need += n[i];
	}
	start = b->len ? b->len : HDR_SLOT;
	r = enc_reserve(b, start, need);
	if (r)
		return r;

	flags = ev->flags | add_flags;
	dtime = ev->time - b->prev_time;
	dentity = ev->proc.entity - b->prev_entity;
	comm_n = strnlen(ev->proc.comm, COMM_MAX);
	src_n = addr_len(&ev->src);
	dst_n = addr_len(&ev->dst);
	if (ev->sha256[0]) {
		if (sha_is_hex(ev->sha256))
			bits |= BIT(F_SHA_HEX);
		else
			sha_n = strnlen(ev->sha256, SHA_HEX);
	}

#define HAS(f, c) (bits |= (uint64_t)((c) != 0) << (f))
	HAS(F_TYPE, ev->type);
	HAS(F_FLAGS, flags);
	HAS(F_TIME, dtime);
	HAS(F_ENTITY, dentity);
	HAS(F_PID, ev->proc.pid);
	HAS(F_TID, ev->proc.tid);
	HAS(F_PPID, ev->proc.ppid);
	HAS(F_UID, ev->proc.uid);
	HAS(F_GID, ev->proc.gid);
	HAS(F_EUID, ev->proc.euid);
	HAS(F_EGID, ev->proc.egid);
	HAS(F_AUID, ev->proc.auid);
	HAS(F_COMM, comm_n);
	HAS(F_PARENT, ev->proc.parent_entity);
	HAS(F_START, ev->proc.start_time);
	HAS(F_RESULT, ev->result);
	HAS(F_PATH, s[S_PATH]);
	HAS(F_DEV, ev->dev);
	HAS(F_INO, ev->ino);
	HAS(F_SIZE, ev->size);
	HAS(F_MTIME, ev->mtime);
	HAS(F_MODE, ev->mode);
	HAS(F_OFLAGS, ev->oflags);
	HAS(F_COOKIE, ev->cookie);
	HAS(F_PATH2, s[S_PATH2]);
	HAS(F_OWNER_UID, ev->owner_uid);
	HAS(F_OWNER_GID, ev->owner_gid);
	HAS(F_FILENAME, s[S_FILENAME]);
	HAS(F_ARGS, s[S_ARGS]);
	HAS(F_ARGC, ev->argc);
	HAS(F_CWD, s[S_CWD]);
	HAS(F_TTY, s[S_TTY]);
	HAS(F_CGROUP, s[S_CGROUP]);
	HAS(F_CONTAINER, s[S_CONTAINER]);
	HAS(F_CGROUP_ID, ev->cgroup_id);
	HAS(F_SESSIONID, ev->sessionid);
	HAS(F_SHA_STR, sha_n);
	HAS(F_EXIT_CODE, ev->exit_code);
	HAS(F_EXIT_SIGNAL, ev->exit_signal);
	HAS(F_TRANSPORT, ev->transport);
	HAS(F_SRC, ev->src.family | ev->src.port | src_n);
	HAS(F_DST, ev->dst.family | ev->dst.port | dst_n);
	HAS(F_DNS_NAME, s[S_DNS_NAME]);
	HAS(F_DNS_TYPE, ev->dns_type);
	HAS(F_NAME, s[S_NAME]);
	HAS(F_TARGET_PID, ev->target_pid);
	HAS(F_TARGET_ENTITY, ev->target_entity);
	HAS(F_REQUEST, ev->request);
	HAS(F_CRED0, ev->cred_arg[0]);
	HAS(F_CRED1, ev->cred_arg[1]);
	HAS(F_CRED2, ev->cred_arg[2]);
	HAS(F_GAP_DROPPED, ev->gap_dropped);
	HAS(F_GAP_QUEUE, ev->gap_queue);
#undef HAS

	w = b->buf + start;
	w = put_uv(w, bits);
	/* from 0 for the first event: reset cleared prev_id */
	w = put_uv(w, (uint64_t)id - (uint64_t)b->prev_id);

#define U(f, v) do { if (bits & BIT(f)) w = put_uv(w, (v)); } while (0)
#define Z(f, v) do { \
	if (bits & BIT(f)) \
		w = put_uv(w, zigzag((uint64_t)(int64_t)(v))); \
} while (0)
#define STR(f, i) do { if (bits & BIT(f)) w = put_bytes(w, s[i], n[i]); } while (0)
	U(F_TYPE, ev->type);
	U(F_FLAGS, flags);
	U(F_TIME, zigzag(dtime));
	U(F_ENTITY, zigzag(dentity));
	U(F_PID, ev->proc.pid);
	U(F_TID, ev->proc.tid);
	U(F_PPID, ev->proc.ppid);
	U(F_UID, ev->proc.uid);
	U(F_GID, ev->proc.gid);
	U(F_EUID, ev->proc.euid);
	U(F_EGID, ev->proc.egid);
	U(F_AUID, ev->proc.auid);
	if (bits & BIT(F_COMM))
		w = put_bytes(w, ev->proc.comm, comm_n);
	U(F_PARENT, ev->proc.parent_entity);
	U(F_START, ev->proc.start_time);
	Z(F_RESULT, ev->result);
	STR(F_PATH, S_PATH);
	U(F_DEV, ev->dev);
	U(F_INO, ev->ino);
	U(F_SIZE, ev->size);
	U(F_MTIME, ev->mtime);
	U(F_MODE, ev->mode);
	U(F_OFLAGS, ev->oflags);
	U(F_COOKIE, ev->cookie);
	STR(F_PATH2, S_PATH2);
	U(F_OWNER_UID, ev->owner_uid);
	U(F_OWNER_GID, ev->owner_gid);
	STR(F_FILENAME, S_FILENAME);
	STR(F_ARGS, S_ARGS);
	U(F_ARGC, ev->argc);
	STR(F_CWD, S_CWD);
	STR(F_TTY, S_TTY);
	STR(F_CGROUP, S_CGROUP);
	STR(F_CONTAINER, S_CONTAINER);
	U(F_CGROUP_ID, ev->cgroup_id);
	U(F_SESSIONID, ev->sessionid);
	if (bits & BIT(F_SHA_HEX)) {
		for (size_t i = 0; i < SHA_BIN; i++)
			w[i] = (uint8_t)(hexval(ev->sha256[2 * i]) << 4 |
					 hexval(ev->sha256[2 * i + 1]));
		w += SHA_BIN;
	}
	if (bits & BIT(F_SHA_STR))
		w = put_bytes(w, ev->sha256, sha_n);
	Z(F_EXIT_CODE, ev->exit_code);
	Z(F_EXIT_SIGNAL, ev->exit_signal);
	U(F_TRANSPORT, ev->transport);
	if (bits & BIT(F_SRC))
		w = put_addr(w, &ev->src, src_n);
	if (bits & BIT(F_DST))
		w = put_addr(w, &ev->dst, dst_n);
	STR(F_DNS_NAME, S_DNS_NAME);
	U(F_DNS_TYPE, ev->dns_type);
	STR(F_NAME, S_NAME);
	U(F_TARGET_PID, ev->target_pid);
	U(F_TARGET_ENTITY, ev->target_entity);
	U(F_REQUEST, ev->request);
	U(F_CRED0, ev->cred_arg[0]);
	U(F_CRED1, ev->cred_arg[1]);
	U(F_CRED2, ev->cred_arg[2]);
	U(F_GAP_DROPPED, ev->gap_dropped);
	U(F_GAP_QUEUE, ev->gap_queue);
#undef U
#undef Z
#undef STR

	b->len = (size_t)(w - b->buf);
	if (!b->count) {
		b->first_id = id;
		b->min_time = b->max_time = ev->time;
	}
	if (ev->time < b->min_time)
		b->min_time = ev->time;
	if (ev->time > b->max_time)
		b->max_time = ev->time;
	b->last_id = b->prev_id = id;
	b->prev_time = ev->time;
	b->prev_entity = ev->proc.entity;
	b->count++;

	/* The header, right-aligned in its slot (see the top of the file). */
	memcpy(b->buf + HDR_SLOT - HDR_MIN - (b->count >= 128), magic, 4);
	b->buf[HDR_SLOT - 2 - (b->count >= 128)] = HN_BLOCK_VERSION;
	put_uv(b->buf + HDR_SLOT - 1 - (b->count >= 128), b->count);
	return 0;
}

const void *hn_block_enc_data(const struct hn_block_enc *b, size_t *len)
{
	size_t off;

	if (!b->count) {
		*len = sizeof(empty_block);
		return empty_block;
	}
	off = b->count < 128 ? 1 : 0;
	*len = b->len - off;
	return b->buf + off;
}

/* ---- decoder ---- */

/* A bounded reader.  An error sets bad and moves p to end, so every later
 * read fails too and the caller checks once per event. */
struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static inline uint64_t rd_fail(struct rd *r)
{
	r->bad = true;
	r->p = r->end;
	return 0;
}

static uint64_t rd_uv_slow(struct rd *r)
{
	const uint8_t *p = r->p;
	uint64_t v = 0;

	/* Most multi-byte varints (entities, times, inodes, cookies) are
	 * read far from the end: no bounds check per byte then. */
	if (r->end - p >= VARINT_MAX) {
		for (unsigned sh = 0; sh < 63; sh += 7) {
			uint8_t c = *p++;

			v |= (uint64_t)(c & 0x7f) << sh;
			if (!(c & 0x80)) {
				r->p = p;
				return v;
			}
		}
		if (*p > 1)
			return rd_fail(r);  /* more than 64 bits */
		r->p = p + 1;
		return v | (uint64_t)*p << 63;
	}
	/* Near the end: fewer than VARINT_MAX bytes, so the value cannot
	 * pass 64 bits before the bytes run out. */
	for (unsigned sh = 0; p < r->end; sh += 7) {
		uint8_t c = *p++;

		v |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80)) {
			r->p = p;
			return v;
		}
	}
	return rd_fail(r);  /* cut short */
}

static inline uint64_t rd_uv(struct rd *r)
{
	if (r->p < r->end && *r->p < 0x80)
		return *r->p++;
	return rd_uv_slow(r);
}

static inline uint32_t rd_u32(struct rd *r)
{
	uint64_t v = rd_uv(r);

	return v > UINT32_MAX ? (uint32_t)rd_fail(r) : (uint32_t)v;
}

static inline uint16_t rd_u16(struct rd *r)
{
	uint64_t v = rd_uv(r);

	return v > UINT16_MAX ? (uint16_t)rd_fail(r) : (uint16_t)v;
}

static inline int64_t rd_s64(struct rd *r)
{
	return (int64_t)unzigzag(rd_uv(r));
}

static inline int32_t rd_s32(struct rd *r)
{
	int64_t v = rd_s64(r);

	return v < INT32_MIN || v > INT32_MAX ? (int32_t)rd_fail(r) : (int32_t)v;
}

/* n bytes in place, or NULL when fewer are left. */
static inline const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (n > (size_t)(r->end - p)) {
		rd_fail(r);
		return NULL;
	}
	r->p = p + n;
	return p;
}

/* A length-delimited string of at most max bytes: its bytes in place and
 * their count in *n, or NULL. */
static inline const uint8_t *rd_str(struct rd *r, size_t max, size_t *n)
{
	uint64_t len = rd_uv(r);

	if (len > max) {
		rd_fail(r);
		return NULL;
	}
	*n = (size_t)len;
	return rd_take(r, (size_t)len);
}

struct span {
	const uint8_t *p;       /* NULL: the string is absent */
	size_t n;
};

static void rd_addr(struct rd *r, struct hn_addr *a)
{
	const uint8_t *p;
	size_t n;

	a->family = rd_u16(r);
	a->port = rd_u16(r);
	p = rd_str(r, ADDR_MAX, &n);
	if (p)
		memcpy(a->addr, p, n);
}

/* Copy a string into ev's string space, which the caller made big enough. */
static inline const char *ev_put(struct hn_event *ev, const struct span *sp)
{
	char *p;

	if (!sp->p)
		return NULL;
	p = ev->buf + ev->used;
	memcpy(p, sp->p, sp->n);
	p[sp->n] = '\0';
	ev->used += sp->n + 1;
	return p;
}

int hn_block_dec_init(struct hn_block_dec *d, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct rd r;
	uint64_t count;

	memset(d, 0, sizeof(*d));
	if (!p || len < HDR_MIN || memcmp(p, magic, sizeof(magic)) ||
	    p[4] != HN_BLOCK_VERSION)
		return -EBADMSG;
	r = (struct rd){ p + 5, p + len, false };
	count = rd_uv(&r);
	/* Every event takes EV_MIN bytes at least: a count the bytes cannot
	 * hold is caught here, before anything is decoded. */
	if (r.bad || count > HN_BLOCK_MAX_EVENTS ||
	    count > (uint64_t)(r.end - r.p) / EV_MIN)
		return -EBADMSG;
	d->p = r.p;
	d->end = r.end;
	d->left = (unsigned)count;
	return 0;
}

/* Replace ev with an event whose string space holds need bytes, keeping
 * the numbers decoded so far; NULL (ev untouched) on ENOMEM. */
static struct hn_event *ev_grow(struct hn_event *ev, size_t need)
{
	struct hn_event *nev;
	size_t space = ev->space <= SIZE_MAX / 2 ? ev->space * 2 : need;

	if (space < need)
		space = need;
	nev = hn_event_new(space);
	if (!nev)
		return NULL;
	memcpy(nev, ev, offsetof(struct hn_event, space));
	hn_event_free(ev);
	return nev;
}

int hn_block_dec_next(struct hn_block_dec *d, struct hn_event **evp)
{
	struct span st[S_NSTR] = { { NULL, 0 } };
	struct hn_event *ev;
	struct rd r;
	uint64_t bits;
	size_t need = 0;

	if (!d->p)
		return -EBADMSG;
	if (!d->left) {
		if (d->p != d->end)
			goto bad;  /* bytes after the last event */
		return 0;
	}
	ev = *evp;
	if (!ev) {
		ev = hn_event_new(DEC_MIN_SPACE);
		if (!ev)
			return -ENOMEM;
		*evp = ev;
	}
	/* Absent fields are zero: clear everything before the string space
	 * (the strings of the last event are dropped with it). */
	memset(ev, 0, offsetof(struct hn_event, space));
	ev->used = 0;

	r = (struct rd){ d->p, d->end, false };
	bits = rd_uv(&r);
	if (bits >> F_NBITS ||
	    (bits & (BIT(F_SHA_HEX) | BIT(F_SHA_STR))) ==
	    (BIT(F_SHA_HEX) | BIT(F_SHA_STR)))
		goto bad;
	ev->id = (int64_t)((uint64_t)d->prev_id + rd_uv(&r));

#define U(f, dst, get) do { if (bits & BIT(f)) dst = get(&r); } while (0)
#define STR(f, i) do { \
	if (bits & BIT(f)) { \
		st[i].p = rd_str(&r, SIZE_MAX, &st[i].n); \
		need += st[i].n + 1; \
	} \
} while (0)
	U(F_TYPE, ev->type, rd_u16);
	U(F_FLAGS, ev->flags, rd_u32);
	ev->time = d->prev_time;
	if (bits & BIT(F_TIME))
		ev->time += unzigzag(rd_uv(&r));
	ev->proc.entity = d->prev_entity;
	if (bits & BIT(F_ENTITY))
		ev->proc.entity += unzigzag(rd_uv(&r));
	U(F_PID, ev->proc.pid, rd_u32);
	U(F_TID, ev->proc.tid, rd_u32);
	U(F_PPID, ev->proc.ppid, rd_u32);
	U(F_UID, ev->proc.uid, rd_u32);
	U(F_GID, ev->proc.gid, rd_u32);
	U(F_EUID, ev->proc.euid, rd_u32);
	U(F_EGID, ev->proc.egid, rd_u32);
	U(F_AUID, ev->proc.auid, rd_u32);
	if (bits & BIT(F_COMM)) {
		size_t n;
		const uint8_t *p = rd_str(&r, COMM_MAX, &n);

		if (p)
			memcpy(ev->proc.comm, p, n);
	}
	U(F_PARENT, ev->proc.parent_entity, rd_uv);
	U(F_START, ev->proc.start_time, rd_uv);
	U(F_RESULT, ev->result, rd_s64);
	STR(F_PATH, S_PATH);
	U(F_DEV, ev->dev, rd_uv);
	U(F_INO, ev->ino, rd_uv);
	U(F_SIZE, ev->size, rd_uv);
	U(F_MTIME, ev->mtime, rd_uv);
	U(F_MODE, ev->mode, rd_u32);
	U(F_OFLAGS, ev->oflags, rd_u32);
	U(F_COOKIE, ev->cookie, rd_uv);
	STR(F_PATH2, S_PATH2);
	U(F_OWNER_UID, ev->owner_uid, rd_u32);
	U(F_OWNER_GID, ev->owner_gid, rd_u32);
	STR(F_FILENAME, S_FILENAME);
	STR(F_ARGS, S_ARGS);
	U(F_ARGC, ev->argc, rd_u32);
	STR(F_CWD, S_CWD);
	STR(F_TTY, S_TTY);
	STR(F_CGROUP, S_CGROUP);
	STR(F_CONTAINER, S_CONTAINER);
	U(F_CGROUP_ID, ev->cgroup_id, rd_uv);
	U(F_SESSIONID, ev->sessionid, rd_u32);
	if (bits & BIT(F_SHA_HEX)) {
		static const char hex[] = "0123456789abcdef";
		const uint8_t *p = rd_take(&r, SHA_BIN);

		for (size_t i = 0; p && i < SHA_BIN; i++) {
			ev->sha256[2 * i] = hex[p[i] >> 4];
			ev->sha256[2 * i + 1] = hex[p[i] & 15];
		}
	}
	if (bits & BIT(F_SHA_STR)) {
		size_t n;
		const uint8_t *p = rd_str(&r, SHA_HEX, &n);

		if (p)
			memcpy(ev->sha256, p, n);
	}
	U(F_EXIT_CODE, ev->exit_code, rd_s32);
	U(F_EXIT_SIGNAL, ev->exit_signal, rd_s32);
	U(F_TRANSPORT, ev->transport, rd_u16);
	if (bits & BIT(F_SRC))
		rd_addr(&r, &ev->src);
	if (bits & BIT(F_DST))
		rd_addr(&r, &ev->dst);
	STR(F_DNS_NAME, S_DNS_NAME);
	U(F_DNS_TYPE, ev->dns_type, rd_u16);
	STR(F_NAME, S_NAME);
	U(F_TARGET_PID, ev->target_pid, rd_u32);
	U(F_TARGET_ENTITY, ev->target_entity, rd_uv);
	U(F_REQUEST, ev->request, rd_uv);
	U(F_CRED0, ev->cred_arg[0], rd_uv);
	U(F_CRED1, ev->cred_arg[1], rd_uv);
	U(F_CRED2, ev->cred_arg[2], rd_uv);
	U(F_GAP_DROPPED, ev->gap_dropped, rd_uv);
	U(F_GAP_QUEUE, ev->gap_queue, rd_uv);
#undef U
#undef STR
	if (r.bad)
		goto bad;

	/* need <= the block's length + S_NSTR: each string's bytes were
	 * found in the block, so this cannot overflow or be made huge. */
	if (need > ev->space) {
		ev = ev_grow(ev, need);
		if (!ev)
			return -ENOMEM;
		*evp = ev;
	}
	ev->path = ev_put(ev, &st[S_PATH]);
	ev->path2 = ev_put(ev, &st[S_PATH2]);
	ev->filename = ev_put(ev, &st[S_FILENAME]);
	ev->args = ev_put(ev, &st[S_ARGS]);
	ev->args_len = st[S_ARGS].n;
	ev->cwd = ev_put(ev, &st[S_CWD]);
	ev->tty = ev_put(ev, &st[S_TTY]);
	ev->cgroup = ev_put(ev, &st[S_CGROUP]);
	ev->container_id = ev_put(ev, &st[S_CONTAINER]);
	ev->dns_name = ev_put(ev, &st[S_DNS_NAME]);
	ev->name = ev_put(ev, &st[S_NAME]);

	d->p = r.p;
	d->left--;
	d->prev_id = ev->id;
	d->prev_time = ev->time;
	d->prev_entity = ev->proc.entity;
	return 1;

bad:
	d->p = NULL;
	d->left = 0;
	return -EBADMSG;
}
