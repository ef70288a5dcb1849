/*
 * scan.h - on-demand scanning: files (trees walked) and running processes'
 * memory, against YARA rules (libyara) and the file hashes of the IOC
 * lists (ioc.h).  `hinomi scan` (cli/cmd_scan.c) drives it and records
 * what it finds in the store; docs/SCAN.md says how it behaves.
 *
 * The parts (one file each):
 *   rules.c   finding rule files (*.yar, *.yara), the rule version,
 *             compiling them with libyara (a file that does not compile is
 *             reported with file:line and left out, the others load), the
 *             compiled rules cached under a directory of ours
 *   run.c     the workers: a bounded queue of jobs, one thread per CPU,
 *             each with its own YR_SCANNER over the shared YR_RULES; what
 *             is found reported under one lock
 *   files.c   walking trees (no symbolic link followed, no pseudo file
 *             system entered), one file scanned: YARA and the IOC hashes
 *   procs.c   running processes' memory (yr_scanner_scan_proc)
 *   report.c  a hit as an alert of the store (rule id, level, tags, an
 *             ECS-style JSON of the file or process) and its group
 *   cache.c   the set of file identities found clean by an earlier scan
 *             with the same rule and IOC versions (skipped)
 *
 * Invariants:
 *   - libyara is initialised once per hn_scan_rules (yr_initialize is
 *     counted; hn_scan_rules_free finalises): rules live while any scan
 *     that uses them runs.
 *   - A file is reported clean (the caller may then cache it) only when it
 *     was read whole, no rule and no indicator matched, no scan error
 *     happened, and its ctime is older than the coarse clock read before
 *     its fstat (a change later in the same clock tick would not show in
 *     its identity: such a file is "racy", scanned again next time).
 *   - Every callback (hit, clean, error, progress) runs under one lock:
 *     the caller's callbacks never run at the same time.
 *   - Bounds: HN_SCAN_QUEUE jobs queued, HN_SCAN_DEPTH_MAX directory
 *     levels, files up to max_size, HN_SCAN_STRINGS_MAX matched strings
 *     per rule in a hit, HN_SCAN_RULE_FILES_MAX rule files of at most
 *     HN_SCAN_RULE_FILE_MAX bytes; what is left out is counted.
 *
 * Whom it trusts: scanned files and process memory are untrusted bytes
 * handed to libyara (and to the digests); nothing of them is parsed here.
 * Rule files are the user's (compiled by libyara, which reports their
 * errors).  A compiled-rules cache file is trusted only in a directory
 * owned by this user and writable by no one else, and only under the name
 * of the exact sources it was compiled from (their SHA-256): libyara does
 * not check what it loads.  Paths and process names are bytes, printed
 * escaped by the CLI.
 *
 * Library code does not print: problems go to the callbacks.
 */
#ifndef HINOMI_SCAN_H
#define HINOMI_SCAN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ioc/ioc.h"
#include "store/store.h"
#include "util/strbuf.h"

#define HN_SCAN_MAX_SIZE_DEFAULT (64ULL << 20)  /* files larger are skipped */
#define HN_SCAN_THREADS_MAX      32             /* libyara's YR_MAX_THREADS */
#define HN_SCAN_QUEUE            1024           /* jobs waiting for a worker */
#define HN_SCAN_DEPTH_MAX        128            /* directory levels walked */
#define HN_SCAN_STRINGS_MAX      16             /* matched strings kept per rule hit */
#define HN_SCAN_RULE_FILES_MAX   4096           /* rule files loaded */
#define HN_SCAN_RULE_FILE_MAX    (8u << 20)     /* bytes per rule file */
#define HN_SCAN_CACHE_KEEP       8              /* compiled rule sets kept */

/* ---- rules (rules.c) ---- */

struct hn_scan_rules;

/* A rule file that does not compile (or compiles with a warning), or
 * cannot be read, or a cache that cannot be used. */
struct hn_scan_rule_problem {
	const char *path;        /* the rule file (or cache file) */
	int line;                /* 1-based; 0 when not about a line */
	bool warning;            /* compiled anyway (libyara's warnings, cache) */
	const char *why;         /* one line */
};
typedef void (*hn_scan_rule_problem_fn)(const struct hn_scan_rule_problem *p, void *arg);

struct hn_scan_rules_stats {
	unsigned files;          /* rule files found */
	unsigned files_bad;      /* left out: did not compile or read */
	unsigned rules;          /* rules loaded */
	unsigned warnings;
	bool from_cache;         /* read compiled from the cache: not compiled */
	bool cached;             /* compiled by this load and written to the cache */
};

/*
 * Load the YARA rules of paths: every *.yar and *.yara file of each
 * directory (recursively, 16 levels, in name order), or a file named
 * directly (any name).  Each file is its own namespace (its name without
 * the extension, made unique).  `include` is refused (every file loads on
 * its own).  The rule version is the SHA-256 over libyara's version and
 * each file's real path and content, in order.
 *
 * cache_dir (NULL: no cache): the compiled rules are read from
 * cache_dir/VERSION.yarc when it is there and trusted (see above), else
 * compiled and, when every file compiled, written there (atomically; the
 * directory is created 0700; only the HN_SCAN_CACHE_KEEP newest sets are
 * kept).  A cache that cannot be written is a warning.
 *
 * Each problem goes to fn (may be NULL).  0 with *out (even when some
 * files were left out), -ENOENT when no rule file was found, -EINVAL when
 * none compiled, or -errno.
 */
int hn_scan_rules_load(const char *const *paths, int npaths, const char *cache_dir,
		       hn_scan_rule_problem_fn fn, void *arg, struct hn_scan_rules **out);
void hn_scan_rules_free(struct hn_scan_rules *r);
/* 64 hex digits. */
const char *hn_scan_rules_version(const struct hn_scan_rules *r);
void hn_scan_rules_stats(const struct hn_scan_rules *r, struct hn_scan_rules_stats *st);
/* The rule files loaded (their real paths), in order; n files. */
const char *hn_scan_rules_file(const struct hn_scan_rules *r, unsigned i);
unsigned hn_scan_rules_nfiles(const struct hn_scan_rules *r);

/* The default rule places into paths (2 at most): rules/yara of the build
 * tree the binary is in (near, nnear bytes, holds that path), else
 * /usr/share/hinomi/yara; and /etc/hinomi/yara; those that exist.  The
 * count. */
int hn_scan_default_rules(const char **paths, char *near, size_t nnear);

/* The version of what an IOC set matches in a file scan: the SHA-256 over
 * its hash indicators (type and value, in load order), into out; "" when
 * it has none (s NULL too): lists of addresses and names do not change
 * what a file scan finds. */
void hn_scan_ioc_version(const struct hn_ioc_set *s, char out[65]);

/* ---- the clean cache (cache.c) ---- */

/* A file's identity: dev in the kernel's encoding (major << 20 | minor),
 * as in events; times in ns since the epoch. */
struct hn_scan_ident {
	uint64_t dev, ino, size, mtime_ns, ctime_ns;
};

struct hn_scan_cache;

/* An empty set (open addressing, grows); NULL when out of memory. */
struct hn_scan_cache *hn_scan_cache_new(void);
void hn_scan_cache_free(struct hn_scan_cache *c);
/* Add an identity (a later one for the same dev and ino replaces it).
 * 0 or -ENOMEM. */
int hn_scan_cache_add(struct hn_scan_cache *c, const struct hn_scan_ident *id);
/* Is exactly this identity in the set? */
bool hn_scan_cache_has(const struct hn_scan_cache *c, const struct hn_scan_ident *id);
unsigned hn_scan_cache_count(const struct hn_scan_cache *c);

/* ---- scanning (run.c, files.c, procs.c) ---- */

enum hn_scan_hit_kind {
	HN_SCAN_HIT_YARA = 1,
	HN_SCAN_HIT_IOC = 2,
};

/* A matched string of a YARA hit: its identifier and where. */
struct hn_scan_string {
	const char *id;          /* "$a" */
	uint64_t offset;         /* in the file; in a process, the address */
	uint32_t len;
};

/* One hit: a rule (or an indicator) on a file or a process.  Valid only
 * during the callback. */
struct hn_scan_hit {
	enum hn_scan_hit_kind kind;
	/* a file: path and file set; a process: pid > 0, path its exe */
	const char *path;
	const struct hn_scan_ident *file;
	uint32_t pid;
	uint64_t start_ticks;    /* the process's start (/proc stat, clock ticks) */
	const char *comm;
	const char *sha256, *sha1, *md5;   /* hex; "" when not computed */
	/* YARA */
	const char *ns, *rule;   /* namespace (the file's name) and rule name */
	const char *description, *author, *level;   /* level: never NULL */
	const char *tags;        /* comma-separated: YARA tags and meta tags */
	const char *rule_path;   /* the rule file */
	const struct hn_scan_string *strings;
	unsigned nstrings;       /* kept (HN_SCAN_STRINGS_MAX at most) */
	unsigned strings_total;  /* matched in all */
	/* IOC */
	const struct hn_ioc *ioc;
};

struct hn_scan_stats {
	uint64_t files;          /* regular files scanned (same_content too) */
	uint64_t bytes;          /* their bytes */
	uint64_t same_content;   /* of them, not scanned again: the same
	                          * content (SHA-256) as a file scanned in
	                          * this run, whose result is reported again */
	uint64_t unchanged;      /* skipped: clean at a scan with the same versions */
	uint64_t too_big;        /* skipped: over max_size */
	uint64_t special;        /* skipped: not regular files or directories
	                          * (symbolic links, fifos, sockets, devices) */
	uint64_t pseudo;         /* directories not entered: pseudo file
	                          * systems, /proc /sys /dev /run under / */
	uint64_t ours;           /* skipped: the rules and their cache */
	uint64_t too_deep;       /* directories below HN_SCAN_DEPTH_MAX */
	uint64_t errors;         /* could not be read or scanned */
	uint64_t hits;           /* rule or indicator matches reported */
	uint64_t files_hit;      /* files (or processes) with a hit */
	uint64_t racy;           /* clean, but changed within the clock tick */
	uint64_t procs;          /* processes scanned */
	uint64_t procs_gone;     /* exited before their scan */
	uint64_t procs_skipped;  /* kernel threads, hinomi itself */
	uint64_t proc_regions_skipped;  /* mappings over 16 GiB with pages in
	                          * memory (sparse reservations): not read */
	double seconds;
};

typedef void (*hn_scan_hit_fn)(const struct hn_scan_hit *h, void *arg);
/* A file read whole with nothing found, its identity as read. */
typedef void (*hn_scan_clean_fn)(const char *path, const struct hn_scan_ident *id,
				 void *arg);
/* A path (or a process, pid > 0) that could not be scanned: err is an
 * errno value (or EIO with what naming libyara's error). */
typedef void (*hn_scan_error_fn)(const char *path, uint32_t pid, int err,
				 const char *what, void *arg);
/* Now and then (about every 200 ms) while scanning: the counts so far. */
typedef void (*hn_scan_progress_fn)(const struct hn_scan_stats *st, void *arg);

struct hn_scan_opts {
	const struct hn_scan_rules *rules;    /* NULL: no YARA */
	const struct hn_ioc_set *ioc;         /* NULL: no indicators; digests
	                                       * only of the types it holds */
	uint64_t max_size;                    /* 0: HN_SCAN_MAX_SIZE_DEFAULT */
	unsigned threads;                     /* 0: the online CPUs */
	const struct hn_scan_cache *cache;    /* NULL: scan everything */
	hn_scan_hit_fn hit;                   /* each may be NULL */
	hn_scan_clean_fn clean;
	hn_scan_error_fn error;
	hn_scan_progress_fn progress;
	void *arg;
	volatile sig_atomic_t *stop;          /* non-zero: stop soon (SIGINT) */
};

/*
 * Scan paths: a regular file, or a directory walked (symbolic links are
 * not followed, except a path given itself; pseudo file systems (proc,
 * sysfs, devpts, cgroup, ...) are not entered; /proc, /sys, /dev and /run
 * are not entered from /).  Stats are added to *st.  0 when every path
 * could be scanned; else the first path's -errno (each reported through
 * o->error).
 */
int hn_scan_files(const struct hn_scan_opts *o, const char *const *paths, int npaths,
		  struct hn_scan_stats *st);

/* Scan every running process's memory with the rules (kernel threads and
 * processes of hinomi's own executable are skipped): its readable mappings
 * with pages in memory or swap, a sparse one narrowed to those pages, one
 * over 16 GiB skipped (counted).  Stats added to *st.  0 or -errno (no
 * /proc, no rules). */
int hn_scan_procs(const struct hn_scan_opts *o, struct hn_scan_stats *st);

/* ---- a hit as an alert (report.c) ---- */

/* An alert of the store made from a hit (the strings it points to are
 * kept in the struct; release it):
 *   rule_id    "yara:NAMESPACE:RULE", or the indicator's ("ioc:LIST:VALUE")
 *   title      the rule's description (else its name), or the IOC title
 *   level      meta severity or level (else "high"), or the indicator's
 *   tags       "yara", YARA tags, meta tags; "ioc", "ioc.TYPE" for an IOC
 *   group_key  "scan:" rule id "|" path (a file) or "|pid:PID:START" (a
 *              process): a rescan finding it again is one more match
 *   event_json {"file": {path, size, mtime, inode, device, hash}} or
 *              {"process": {pid, executable, name}}, and "yara": {rule,
 *              namespace, strings: [{id, offset, length}]} */
struct hn_scan_alert {
	struct hn_alert a;
	struct hn_strbuf id, title, key, tags, json;
	struct hn_ioc_rule ioc;
};
/* 0, or -ENOMEM (nothing to release then but still safe to). */
int hn_scan_alert_make(const struct hn_scan_hit *h, uint64_t now_ns, struct hn_scan_alert *out);
void hn_scan_alert_release(struct hn_scan_alert *sa);

#endif
