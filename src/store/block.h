/*
 * block.h - a compact binary encoding of a run of events ("a block", up to
 * HN_BLOCK_MAX_EVENTS), so that the store can keep many events in one
 * SQLite BLOB instead of one wide row each.
 *
 * Layout (varint = unsigned LEB128, zigzag = signed mapped to unsigned):
 *
 *   block   = "HNB1" version:u8 count:varint event*count
 *   event   = bits:varint id_delta:varint field*
 *
 * `bits` has one bit per field (block.c lists them, most common first);
 * a field is written only when its bit is set, i.e. when it is non-zero or
 * a non-NULL string, in bit order.  Numbers are varints (zigzag when
 * signed); the id is the delta from the previous event's id (from 0 for
 * the first of a block), time and entity are zigzag deltas from the
 * previous event's (absent when equal).  A string is varint length + bytes
 * without the NUL: NULL is an absent bit, "" a present bit with length 0.
 * An address is family, port, then varint n <= 16 and its first n bytes
 * (the rest are zero).  A lowercase hex sha256 is 32 raw bytes.
 *
 * A block is self-contained: decoding starts from its header, never from
 * another block.  The decoder trusts nothing in the bytes (they come from
 * disk): every length is checked against the end, and a malformed block is
 * -EBADMSG, never a read outside it.
 *
 * Not kept: proc.executable and proc.parent_executable (enrichment; the
 * store joins them back from processes).  Decoded events have them NULL.
 *
 * Errors are negative errnos; nothing here prints.
 */
#ifndef HINOMI_STORE_BLOCK_H
#define HINOMI_STORE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define HN_BLOCK_MAX_EVENTS 256u
#define HN_BLOCK_VERSION 1

/* The encoder: a growable buffer.  Zero-initialise it, then _reset. */
struct hn_block_enc {
	uint8_t *buf;
	size_t len, cap;
	unsigned count;               /* events added */
	int64_t first_id, last_id;    /* ids of the first and last added */
	uint64_t min_time, max_time;  /* over added events */
	/* private state for delta coding */
	int64_t prev_id;
	uint64_t prev_time;
	uint64_t prev_entity;
};

/* Empty the block; keeps its memory for the next one. */
void hn_block_enc_reset(struct hn_block_enc *b);
/* Free the memory; b is left empty (zeroed).  NULL is fine. */
void hn_block_enc_free(struct hn_block_enc *b);

/* Append ev as row `id` (ids strictly increase within a block) with
 * add_flags OR-ed into its flags.  ev->id is ignored.  0, -ENOSPC when the
 * block already holds HN_BLOCK_MAX_EVENTS, -EINVAL when id does not
 * increase (or ev is NULL), -ENOMEM.  On error the block is unchanged. */
int hn_block_enc_add(struct hn_block_enc *b, int64_t id,
		     const struct hn_event *ev, uint32_t add_flags);

/* The encoded bytes (header included), valid until the next call on b.
 * An empty block is a header with count 0. */
const void *hn_block_enc_data(const struct hn_block_enc *b, size_t *len);

/* The decoder: a cursor over an encoded block. */
struct hn_block_dec {
	const uint8_t *p, *end;       /* p is NULL once the block proved bad */
	unsigned left;                /* events not yet read */
	int64_t prev_id;
	uint64_t prev_time;
	uint64_t prev_entity;
};

/* 0, or -EBADMSG (bad magic, version or count).  Does not copy data: it
 * must stay valid while d is used. */
int hn_block_dec_init(struct hn_block_dec *d, const void *data, size_t len);

/* Decode the next event into *evp.  *evp is an event the caller owns (or
 * NULL); it is reused when its string space is big enough, else freed and
 * replaced (hn_event_new) -- either way the caller owns *evp afterwards,
 * and the strings of the event it held before are gone.
 * 1 = an event, 0 = no more, -EBADMSG = the block is malformed (truncated,
 * a length past the end, a varint too long, an unknown field, bytes after
 * the last event...; every later call says so again), -ENOMEM (the cursor
 * did not move: the call may be retried).  Never reads outside
 * [data, data + len). */
int hn_block_dec_next(struct hn_block_dec *d, struct hn_event **evp);

#endif
