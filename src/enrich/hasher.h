/*
 * hasher.h - SHA-256 of executables, off the hot path, cached.
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
 * Bounds: the queue (queue_max jobs; more are refused and counted), the
 * cache (cache_max entries, power of two, the oldest in a bucket is
 * replaced), the file size (max_bytes; bigger files are not hashed).
 * The cache can be filled from hashes computed earlier (the store keeps
 * them: hn_hasher_preload at agent start), so a restart rehashes nothing
 * unchanged.  The worker runs at nice 10: hashing yields to the host's
 * work, and the hash reaches the store a little later when the CPUs are
 * busy.
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

typedef void (*hn_hash_done_cb)(const struct hn_file_key *k, const char *sha256, void *arg);

struct hn_hasher_stats {
	uint64_t hashed, hits, misses, queue_dropped, failed, too_big;
	uint64_t preloaded;      /* entries filled by hn_hasher_preload */
	uint64_t bytes;
};

/* 0 or -errno. */
int hn_hasher_new(unsigned queue_max, unsigned cache_max, uint64_t max_bytes,
		  hn_hash_done_cb cb, void *arg, struct hn_hasher **out);
/* Stops the worker (pending jobs are dropped) and frees. NULL is fine. */
void hn_hasher_free(struct hn_hasher *h);

/* true and out filled (64 hex + NUL) when the hash is known. */
bool hn_hasher_lookup(struct hn_hasher *h, const struct hn_file_key *k, char out[65]);
/* Fill the cache with a hash known from before (64 hex digits); an entry
 * already there is kept.  0, or -EINVAL for a malformed hash. */
int hn_hasher_preload(struct hn_hasher *h, const struct hn_file_key *k,
		      const char *sha256);
/* Queue a hash of path (pid's /proc/PID/exe as fallback).  0, -EALREADY
 * when that key is already queued, -ENOSPC when the queue is full. */
int hn_hasher_submit(struct hn_hasher *h, const struct hn_file_key *k, const char *path,
		     uint32_t pid);
/* Block until the queue is empty and the worker idle (tests, shutdown). */
void hn_hasher_drain(struct hn_hasher *h);
void hn_hasher_stats(struct hn_hasher *h, struct hn_hasher_stats *st);

/* Hash a file now (no cache): 0 and out, or -errno. */
int hn_sha256_file(const char *path, uint64_t max_bytes, char out[65]);

#endif
