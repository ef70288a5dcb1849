/*
 * scan_int.h - internals shared by the scan module's files (rules.c,
 * run.c, files.c, procs.c, report.c).  Nothing outside src/scan/ includes
 * this (nor yara.h through it).
 *
 * A run (run.c) is one hn_scan_files or hn_scan_procs call: a bounded
 * queue of jobs (a path, or a pid) filled by the caller's thread, drained
 * by `threads` workers, each with its own YR_SCANNER and its own read
 * buffer.  Everything reported (hits, clean files, errors, counts) goes
 * through run->mu, so the caller's callbacks are serialised.
 */
#ifndef HINOMI_SCAN_INT_H
#define HINOMI_SCAN_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <yara.h>

#include "scan/scan.h"

/* What is kept of each rule, by its index in the rules table. */
struct scan_rule_info {
	char *ns, *name, *description, *author, *level, *tags;
	const char *path;        /* the rule file (rules->files[]) */
};

/* A file or directory identity skipped by scans (rule files, the rule
 * directories, the cache directory). */
struct scan_own {
	uint64_t dev, ino;
};

struct hn_scan_rules {
	YR_RULES *yr;
	char version[65];
	struct hn_scan_rules_stats st;
	char **files;            /* real paths, in load order */
	char **ns;               /* each file's namespace */
	unsigned nfiles;
	struct scan_rule_info *info;
	unsigned ninfo;
	struct scan_own *own;
	unsigned nown, capown;
	bool yr_init;            /* yr_initialize succeeded: finalise at free */
};

/* The info of a matched rule (NULL if it is not one of r's). */
const struct scan_rule_info *scan_rule_info(const struct hn_scan_rules *r,
					    const YR_RULE *rule);
/* Is (dev, ino) one of the rules' own files or directories? */
bool scan_rules_own(const struct hn_scan_rules *r, uint64_t dev, uint64_t ino);

/* The kernel's encoding of a device number. */
uint64_t scan_dev(dev_t d);

/* ---- a run (run.c) ---- */

struct scan_job {
	char *path;              /* a file (owned), or NULL for a process */
	uint32_t pid;
	struct hn_scan_ident seen;   /* what the walk saw (files) */
	bool follow;             /* a path given whose link is followed (a
				  * deleted or memfd /proc/PID/exe) */
};

/* Same content, scanned once per run (files.c): each file of
 * SCAN_DEDUP_MIN bytes or more gets a fingerprint (its size and its first
 * SCAN_PRINT_BYTES bytes, hashed); a file whose fingerprint an earlier
 * file had is hashed whole (SHA-256) before its scan; the YARA result of a
 * content is kept (at most SCAN_DEDUP_MAX contents, SCAN_DEDUP_HITS hits
 * each) and reported again for every later file with that content.  With
 * IOC digests wanted, every file is hashed anyway and takes part. */
#define SCAN_DEDUP_MIN   (16u << 10)
#define SCAN_PRINT_BYTES 4096u
#define SCAN_DEDUP_MAX   65536u
#define SCAN_DEDUP_HITS  8u
#define SCAN_PRINTS_MAX  (1u << 20)

struct scan_saved_hit {
	const struct scan_rule_info *rule;
	unsigned nstrings, total;
	struct hn_scan_string strings[HN_SCAN_STRINGS_MAX];
};

enum scan_content_state {
	CONTENT_EMPTY = 0,
	CONTENT_PENDING,         /* being scanned */
	CONTENT_CLEAN,
	CONTENT_HIT,             /* hits saved */
	CONTENT_UNKNOWN,         /* failed, or too many hits: scan each */
};

struct scan_content {
	unsigned char sha[32];
	uint8_t state;           /* enum scan_content_state */
	uint8_t nhits;
	struct scan_saved_hit *hits;
};

struct scan_worker {
	struct scan_run *run;
	pthread_t thread;
	bool started;
	YR_SCANNER *scanner;
	unsigned char *buf;      /* read buffer (files, when hashing) */
	size_t cap;
	/* the YARA hits of the job, kept for its content (dedup) */
	bool saving, overflow;
	unsigned nsaved;
	struct scan_saved_hit saved[SCAN_DEDUP_HITS];
	/* the job being scanned, for the YARA callback */
	const struct scan_job *job;
	const struct hn_scan_ident *ident;
	const char *exe, *comm;
	uint64_t start_ticks;
	const char *sha256, *sha1, *md5;
	unsigned hits;
	struct hn_scan_string strings[HN_SCAN_STRINGS_MAX];
};

struct scan_run {
	const struct hn_scan_opts *o;
	struct hn_scan_stats *st;        /* under mu */
	uint64_t max_size;
	unsigned want;                   /* digests: HN_IOC_SHA256.. bits */
	pthread_mutex_t mu;              /* the callbacks and st */
	pthread_mutex_t qmu;             /* the queue */
	pthread_cond_t not_empty, not_full;
	struct scan_job *q;
	unsigned head, count;
	bool done;                       /* no more jobs */
	struct scan_worker *w;
	unsigned nw;
	uint64_t t0_ns, last_progress_ns;
	double seconds0;                 /* st->seconds at the start */
	/* same content (files.c), under mu: fingerprints seen (0 empty),
	 * contents scanned */
	uint64_t *prints;
	unsigned prints_cap, prints_n;
	struct scan_content *contents;
	unsigned contents_cap, contents_n;
	uint32_t self_pid;
	uint64_t self_dev, self_ino;     /* /proc/self/exe */
};

/* Digest bits of scan_run.want. */
#define SCAN_WANT_SHA256 0x1u
#define SCAN_WANT_SHA1   0x2u
#define SCAN_WANT_MD5    0x4u

/* Start the workers (st: the stats to add to).  0 or -errno. */
int scan_run_start(struct scan_run *run, const struct hn_scan_opts *o,
		   struct hn_scan_stats *st);
/* Queue a job (waits while the queue is full); the run takes job->path.
 * -ECANCELED when stopping (the path freed). */
int scan_run_push(struct scan_run *run, struct scan_job *job);
/* No more jobs: wait for the workers, free everything. */
void scan_run_finish(struct scan_run *run);
/* Call the progress callback if it is time (caller's thread). */
void scan_run_tick(struct scan_run *run);
bool scan_run_stopping(const struct scan_run *run);

/* Under run->mu: report an error / count something. */
void scan_report_error(struct scan_run *run, const char *path, uint32_t pid, int err,
		       const char *what);
void scan_count(struct scan_run *run, uint64_t *field, uint64_t n);

/* Free the same-content tables (files.c). */
void scan_dedup_release(struct scan_run *run);

/* One job, on a worker (files.c, procs.c). */
void scan_file_job(struct scan_worker *w, const struct scan_job *job);
void scan_proc_job(struct scan_worker *w, const struct scan_job *job);

/* The YARA callback of every worker's scanner (run.c): reports each
 * matching rule as a hit of w's current job. */
int scan_yara_callback(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user);

/* libyara's error code as a phrase. */
const char *scan_yr_error(int code);

/* CLOCK_REALTIME_COARSE and CLOCK_MONOTONIC, ns. */
uint64_t scan_coarse_ns(void);
uint64_t scan_mono_ns(void);

#endif
