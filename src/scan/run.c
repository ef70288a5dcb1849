/*
 * run.c - the workers of a scan (scan_int.h: struct scan_run).
 *
 * The caller's thread fills a ring of HN_SCAN_QUEUE jobs (waiting while it
 * is full: the walk never runs far ahead of the scanning); `threads`
 * workers take them, each with its own YR_SCANNER (libyara's scanners are
 * not shared between threads; the YR_RULES are) and its own read buffer.
 * Whatever a worker finds is reported under run->mu, with the counts.
 *
 * Stopping (o->stop set, e.g. by SIGINT): the caller stops queueing, the
 * workers drop what is queued and finish the job in hand.
 */
#include "scan/scan_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_NS  (200ULL * 1000000ULL)
#define SCAN_TIMEOUT_S 600   /* one file or process, then an error */

uint64_t scan_coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t scan_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

const char *scan_yr_error(int code)
{
	switch (code) {
	case ERROR_INSUFFICIENT_MEMORY: return "out of memory";
	case ERROR_COULD_NOT_ATTACH_TO_PROCESS: return "cannot attach to the process";
	case ERROR_COULD_NOT_OPEN_FILE: return "cannot open the file";
	case ERROR_COULD_NOT_MAP_FILE: return "cannot map the file (or it shrank while read)";
	case ERROR_INVALID_FILE: return "not a compiled rules file";
	case ERROR_CORRUPT_FILE: return "corrupt compiled rules";
	case ERROR_UNSUPPORTED_FILE_VERSION: return "compiled by another libyara";
	case ERROR_SCAN_TIMEOUT: return "scan timed out";
	case ERROR_TOO_MANY_SCAN_THREADS: return "too many scanning threads";
	case ERROR_TOO_MANY_MATCHES: return "too many matches";
	case ERROR_COULD_NOT_READ_PROCESS_MEMORY: return "cannot read the process's memory";
	case ERROR_COULD_NOT_READ_FILE: return "cannot read the file";
	case ERROR_WRITING_FILE: return "cannot write the file";
	case ERROR_EXEC_STACK_OVERFLOW: return "rule condition stack overflow";
	default: return "libyara error";
	}
}

void scan_report_error(struct scan_run *run, const char *path, uint32_t pid, int err,
		       const char *what)
{
	pthread_mutex_lock(&run->mu);
	run->st->errors++;
	if (run->o->error)
		run->o->error(path, pid, err, what, run->o->arg);
	pthread_mutex_unlock(&run->mu);
}

void scan_count(struct scan_run *run, uint64_t *field, uint64_t n)
{
	pthread_mutex_lock(&run->mu);
	*field += n;
	pthread_mutex_unlock(&run->mu);
}

bool scan_run_stopping(const struct scan_run *run)
{
	return run->o->stop && *run->o->stop;
}

/* ---- the YARA callback ---- */

int scan_yara_callback(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *user)
{
	struct scan_worker *w = user;
	struct scan_run *run = w->run;
	const YR_RULE *rule = data;
	const struct scan_rule_info *in;
	const YR_STRING *s;
	struct hn_scan_hit h = { .kind = HN_SCAN_HIT_YARA };
	unsigned n = 0, total = 0;

	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	in = scan_rule_info(run->o->rules, rule);
	if (!in)
		return CALLBACK_CONTINUE;
	if (w->saving && w->nsaved == SCAN_DEDUP_HITS)
		w->overflow = true;
	yr_rule_strings_foreach(rule, s) {
		const YR_MATCH *m = ctx->matches[s->idx].head;
		unsigned guard = 0;

		/* libyara's notebook does not align its YR_MATCHes: each is
		 * copied out (yr_string_matches_foreach would read them in
		 * place); the list ends, bounded all the same */
		while (m && guard++ < YR_MAX_STRING_MATCHES) {
			YR_MATCH mm;

			memcpy(&mm, m, sizeof(mm));
			if (!mm.is_private) {
				total++;
				if (n < HN_SCAN_STRINGS_MAX) {
					w->strings[n].id = s->identifier;
					w->strings[n].offset = (uint64_t)(mm.base + mm.offset);
					w->strings[n].len = (uint32_t)mm.match_length;
					n++;
				}
			}
			m = mm.next;
		}
	}
	h.path = w->job->path ? w->job->path : w->exe;
	h.file = w->job->path ? w->ident : NULL;
	h.pid = w->job->pid;
	h.start_ticks = w->start_ticks;
	h.comm = w->comm;
	h.sha256 = w->sha256 ? w->sha256 : "";
	h.sha1 = w->sha1 ? w->sha1 : "";
	h.md5 = w->md5 ? w->md5 : "";
	h.ns = in->ns;
	h.rule = in->name;
	h.description = in->description;
	h.author = in->author;
	h.level = in->level;
	h.tags = in->tags;
	h.rule_path = in->path;
	h.strings = w->strings;
	h.nstrings = n;
	h.strings_total = total;
	if (w->saving && w->nsaved < SCAN_DEDUP_HITS) {
		struct scan_saved_hit *sv = &w->saved[w->nsaved++];

		sv->rule = in;
		sv->nstrings = n;
		sv->total = total;
		memcpy(sv->strings, w->strings, n * sizeof(w->strings[0]));
	}
	w->hits++;
	pthread_mutex_lock(&run->mu);
	run->st->hits++;
	if (run->o->hit)
		run->o->hit(&h, run->o->arg);
	pthread_mutex_unlock(&run->mu);
	return CALLBACK_CONTINUE;
}

/* ---- workers ---- */

static void *worker_main(void *p)
{
	struct scan_worker *w = p;
	struct scan_run *run = w->run;

	for (;;) {
		struct scan_job job;

		pthread_mutex_lock(&run->qmu);
		while (!run->count && !run->done)
			pthread_cond_wait(&run->not_empty, &run->qmu);
		if (!run->count) {
			pthread_mutex_unlock(&run->qmu);
			break;
		}
		job = run->q[run->head];
		run->head = (run->head + 1) % HN_SCAN_QUEUE;
		run->count--;
		pthread_cond_signal(&run->not_full);
		pthread_mutex_unlock(&run->qmu);
		if (!scan_run_stopping(run)) {
			w->job = &job;
			w->hits = 0;
			if (job.path)
				scan_file_job(w, &job);
			else
				scan_proc_job(w, &job);
			w->job = NULL;
		}
		free(job.path);
	}
	return NULL;
}

int scan_run_start(struct scan_run *run, const struct hn_scan_opts *o,
		   struct hn_scan_stats *st)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = o->threads ? o->threads : (ncpu > 0 ? (unsigned)ncpu : 1);
	struct stat self;
	int rc = -ENOMEM;

	memset(run, 0, sizeof(*run));
	run->o = o;
	run->st = st;
	run->max_size = o->max_size ? o->max_size : HN_SCAN_MAX_SIZE_DEFAULT;
	if (o->ioc) {
		run->want = (hn_ioc_has(o->ioc, HN_IOC_SHA256) ? SCAN_WANT_SHA256 : 0) |
			    (hn_ioc_has(o->ioc, HN_IOC_SHA1) ? SCAN_WANT_SHA1 : 0) |
			    (hn_ioc_has(o->ioc, HN_IOC_MD5) ? SCAN_WANT_MD5 : 0);
	}
	run->self_pid = (uint32_t)getpid();
	if (stat("/proc/self/exe", &self) == 0) {
		run->self_dev = scan_dev(self.st_dev);
		run->self_ino = self.st_ino;
	}
	if (n > HN_SCAN_THREADS_MAX)
		n = HN_SCAN_THREADS_MAX;
	run->t0_ns = run->last_progress_ns = scan_mono_ns();
	run->seconds0 = st->seconds;
	pthread_mutex_init(&run->mu, NULL);
	pthread_mutex_init(&run->qmu, NULL);
	pthread_cond_init(&run->not_empty, NULL);
	pthread_cond_init(&run->not_full, NULL);
	run->q = calloc(HN_SCAN_QUEUE, sizeof(*run->q));
	run->w = calloc(n, sizeof(*run->w));
	if (!run->q || !run->w)
		goto fail;
	for (unsigned i = 0; i < n; i++) {
		struct scan_worker *w = &run->w[i];

		w->run = run;
		if (o->rules && o->rules->yr) {
			if (yr_scanner_create(o->rules->yr, &w->scanner) != ERROR_SUCCESS) {
				w->scanner = NULL;
				goto fail;
			}
			yr_scanner_set_callback(w->scanner, scan_yara_callback, w);
			yr_scanner_set_timeout(w->scanner, SCAN_TIMEOUT_S);
		}
		run->nw = i + 1;
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			rc = -EAGAIN;
			goto fail;
		}
		w->started = true;
	}
	return 0;
fail:
	scan_run_finish(run);
	return rc;
}

int scan_run_push(struct scan_run *run, struct scan_job *job)
{
	struct timespec until;

	pthread_mutex_lock(&run->qmu);
	while (run->count == HN_SCAN_QUEUE && !scan_run_stopping(run)) {
		/* wake now and then: progress while a big file is scanned */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&run->not_full, &run->qmu, &until);
		pthread_mutex_unlock(&run->qmu);
		scan_run_tick(run);
		pthread_mutex_lock(&run->qmu);
	}
	if (scan_run_stopping(run)) {
		pthread_mutex_unlock(&run->qmu);
		free(job->path);
		job->path = NULL;
		return -ECANCELED;
	}
	run->q[(run->head + run->count) % HN_SCAN_QUEUE] = *job;
	run->count++;
	pthread_cond_signal(&run->not_empty);
	pthread_mutex_unlock(&run->qmu);
	job->path = NULL;
	return 0;
}

void scan_run_tick(struct scan_run *run)
{
	uint64_t now = scan_mono_ns();

	if (!run->o->progress || now - run->last_progress_ns < PROGRESS_NS)
		return;
	run->last_progress_ns = now;
	pthread_mutex_lock(&run->mu);
	run->st->seconds = run->seconds0 + (double)(now - run->t0_ns) / 1e9;
	run->o->progress(run->st, run->o->arg);
	pthread_mutex_unlock(&run->mu);
}

void scan_run_finish(struct scan_run *run)
{
	if (run->q) {
		pthread_mutex_lock(&run->qmu);
		run->done = true;
		pthread_cond_broadcast(&run->not_empty);
		pthread_mutex_unlock(&run->qmu);
	}
	for (unsigned i = 0; run->w && i < run->nw; i++) {
		struct scan_worker *w = &run->w[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		if (w->scanner)
			yr_scanner_destroy(w->scanner);
		free(w->buf);
	}
	/* jobs never taken (a failed start) */
	for (unsigned i = 0; run->q && i < run->count; i++)
		free(run->q[(run->head + i) % HN_SCAN_QUEUE].path);
	free(run->q);
	free(run->w);
	scan_dedup_release(run);
	run->q = NULL;
	run->w = NULL;
	run->st->seconds = run->seconds0 + (double)(scan_mono_ns() - run->t0_ns) / 1e9;
	pthread_mutex_destroy(&run->mu);
	pthread_mutex_destroy(&run->qmu);
	pthread_cond_destroy(&run->not_empty);
	pthread_cond_destroy(&run->not_full);
}
