/*
 * hasher.h - file digests off the hot path, cached: the SHA-256 of
 * executables (and, when asked, their SHA-1 and MD5), and the digests of
 * files just written.
 *
 * The agent asks hn_hasher_lookup() on every exec (a hash-table probe); on a
 * miss it queues a job with hn_hasher_submit() and records the exec without
 * the hash; one worker thread hashes the file and reports it through the
 * callback (the agent then fills it into the store).  The cache key is the
 * file's identity (dev, inode, size, mtime): an unchanged file is never
 * hashed twice; a changed one has a new key.  A file that is gone or
 * replaced by the time the worker opens it is read through /proc/PID/exe of
 * the process that executed it, and only hashed when its identity matches.
 *
 * SHA-256 is always computed; hn_hasher_want() adds SHA-1 and MD5 (IOC
 * lists name those), computed in the same read of the file.  A cached entry
 * lacking a digest now wanted (one known from before, hn_hasher_preload) is
 * hashed again on the next submit.
 *
 * Files just written (hn_hasher_submit_current) have no mtime in their
 * event: the worker hashes the file as it is when it gets to it (if it is
 * still the same inode), so what is hashed is the file's latest content.
 * While such a job waits, another for the same inode is refused
 * (-EALREADY): a file written a thousand times in a second is hashed once
 * or twice, as it ends up.  Once the worker has started on it, the inode
 * can be queued again, so a write during the read is hashed after.  A file
 * that changes while it is read is not reported (-ESTALE); its writer's
 * close queues it again.  Written files are always read, never answered
 * from the cache (a rewrite of the same size within one tick of the file
 * system's clock keeps size and mtime).
 *
 * Bounds: the queue (queue_max jobs; more are refused and counted), the
 * cache (cache_max entries, power of two, the oldest in a bucket is
 * replaced), the file size (max_bytes; bigger files are not hashed).
 * The cache can be filled from hashes computed earlier (the store keeps
 * them: hn_hasher_preload at agent start), so a restart rehashes nothing
 * unchanged.  The worker runs at nice 10: hashing yields to the host's
 * work, and the hash reaches the store a little later when the CPUs are
 * busy.  Only regular files are read (opened non-blocking, so a FIFO put
 * in a file's place cannot stall the worker).
 * dev is the kernel's encoding (major << 20 | minor), as in events.
 */
#ifndef HINOMI_ENRICH_HASHER_H
#define HINOMI_ENRICH_HASHER_H

#include <stdbool.h>
#include <stdint.h>

struct hn_hasher;

struct hn_file_key {
	uint64_t dev, ino, size, mtime;
};

/* Digests beyond SHA-256 (hn_hasher_want, hn_digest_file). */
#define HN_DIGEST_SHA1  0x1u
#define HN_DIGEST_MD5   0x2u

/* Hex digests; "" for one not computed. */
struct hn_digests {
	char sha256[65];
	char sha1[41];
	char md5[33];
};

/* A job is done: d holds its digests, or is NULL when the file could not
 * be hashed (gone, replaced, too big, changed while read).  k is the
 * identity hashed (for hn_hasher_submit_current, the one the worker found;
 * on failure, dev and ino as submitted).  Called on the worker thread. */
typedef void (*hn_hash_done_cb)(const struct hn_file_key *k, const struct hn_digests *d,
				void *arg);

struct hn_hasher_stats {
	uint64_t hashed, hits, misses, queue_dropped, failed, too_big;
	uint64_t preloaded;      /* entries filled by hn_hasher_preload */
	uint64_t bytes;
	uint64_t stale;          /* written files changed while read, or replaced */
};

/* 0 or -errno. */
int hn_hasher_new(unsigned queue_max, unsigned cache_max, uint64_t max_bytes,
		  hn_hash_done_cb cb, void *arg, struct hn_hasher **out);
/* Stops the worker (pending jobs are dropped) and frees. NULL is fine. */
void hn_hasher_free(struct hn_hasher *h);

/* Compute these digests too (HN_DIGEST_*), from now on.  0, or -ENOMEM
 * (then only SHA-256, as before). */
int hn_hasher_want(struct hn_hasher *h, unsigned digests);

/* true and out filled (64 hex + NUL) when the hash is known. */
bool hn_hasher_lookup(struct hn_hasher *h, const struct hn_file_key *k, char out[65]);
/* true and *out filled when every wanted digest is known. */
bool hn_hasher_lookup_all(struct hn_hasher *h, const struct hn_file_key *k,
			  struct hn_digests *out);
/* Fill the cache with a hash known from before (64 hex digits); an entry
 * already there is kept.  0, or -EINVAL for a malformed hash. */
int hn_hasher_preload(struct hn_hasher *h, const struct hn_file_key *k,
		      const char *sha256);
/* Queue a hash of path (pid's /proc/PID/exe as fallback).  0, -EALREADY
 * when that key is already queued or hashed (with every wanted digest),
 * -ENOSPC when the queue is full. */
int hn_hasher_submit(struct hn_hasher *h, const struct hn_file_key *k, const char *path,
		     uint32_t pid);
/* Queue a hash of path as it will be when the worker reads it, if it is
 * still inode (dev, ino) then.  0, -EALREADY when that inode is queued
 * already, -ENOSPC when the queue is full. */
int hn_hasher_submit_current(struct hn_hasher *h, uint64_t dev, uint64_t ino,
			     const char *path);
/* Block until the queue is empty and the worker idle (tests, shutdown). */
void hn_hasher_drain(struct hn_hasher *h);
/* Jobs queued or being hashed now. */
unsigned hn_hasher_pending(struct hn_hasher *h);
void hn_hasher_stats(struct hn_hasher *h, struct hn_hasher_stats *st);

/* Hash a file now (no cache): 0 and out, or -errno. */
int hn_sha256_file(const char *path, uint64_t max_bytes, char out[65]);
/* The same, with SHA-1 and MD5 as digests asks. */
int hn_digest_file(const char *path, uint64_t max_bytes, unsigned digests,
		   struct hn_digests *out);

#endif
