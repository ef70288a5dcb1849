/*
 * procs.c - scanning running processes' memory (scan.h: hn_scan_procs).
 *
 * The caller's thread lists /proc and queues each process; a worker scans
 * its memory as blocks (yr_scanner_scan_mem_blocks; the iterator is below:
 * the mappings with pages in memory, read through /proc/PID/mem; the
 * process is not stopped).
 * Skipped, and counted: kernel threads (PF_KTHREAD, no user memory),
 * zombies, this process and every process of hinomi's own executable (its
 * memory holds the compiled rules, which match themselves).  A process
 * that exits before or while it is scanned is counted as gone, not as an
 * error.  Reading another user's process needs root (ptrace access).
 */
#include "scan/scan_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PF_KTHREAD 0x00200000u

struct proc_stat {
	char state;
	unsigned long flags;
	unsigned long long start;   /* clock ticks since boot */
	char comm[64];
};

/* /proc/PID/stat: state, flags, start time and comm.  0 or -errno. */
static int read_stat(uint32_t pid, struct proc_stat *ps)
{
	char path[64], buf[1024], *open_p, *close_p, *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -EINVAL;
	snprintf(ps->comm, sizeof(ps->comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	/* fields from 3 (state) on, after ") " */
	p = close_p + 1;
	for (field = 3; field <= 22 && *p; field++) {
		while (*p == ' ')
			p++;
		if (field == 3)
			ps->state = *p;
		else if (field == 9)
			ps->flags = strtoul(p, NULL, 10);
		else if (field == 22)
			ps->start = strtoull(p, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	return field > 22 ? 0 : -EINVAL;
}

int hn_scan_procs(const struct hn_scan_opts *o, struct hn_scan_stats *st)
{
	struct scan_run run;
	struct dirent *e;
	DIR *d;
	int rc;

	if (!o || !o->rules || !o->rules->yr)
		return -EINVAL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	rc = scan_run_start(&run, o, st);
	if (rc < 0) {
		closedir(d);
		return rc;
	}
	while ((e = readdir(d)) && !scan_run_stopping(&run)) {
		struct scan_job job = { 0 };
		struct proc_stat ps = { 0 };
		char exe[64];
		struct stat xs;
		char *end;
		unsigned long pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtoul(e->d_name, &end, 10);
		if (*end || pid == 0 || pid > UINT32_MAX)
			continue;
		if (read_stat((uint32_t)pid, &ps) < 0) {
			scan_count(&run, &run.st->procs_gone, 1);
			continue;
		}
		snprintf(exe, sizeof(exe), "/proc/%lu/exe", pid);
		if ((uint32_t)pid == run.self_pid || (ps.flags & PF_KTHREAD) || ps.state == 'Z' ||
		    ps.state == 'X' ||
		    (stat(exe, &xs) == 0 && run.self_ino && xs.st_ino == run.self_ino &&
		     scan_dev(xs.st_dev) == run.self_dev)) {
			scan_count(&run, &run.st->procs_skipped, 1);
			continue;
		}
		job.pid = (uint32_t)pid;
		if (scan_run_push(&run, &job) < 0)
			break;
		scan_run_tick(&run);
	}
	closedir(d);
	scan_run_finish(&run);
	return 0;
}

/* ---- the memory of a process, as libyara's blocks ----
 *
 * libyara's own process iterator reads every readable mapping whole: a
 * process with a large sparse reservation (a sanitizer's 14 TiB shadow, a
 * runtime's reserved heap) would be read for hours, zero pages and all.
 * This one takes from /proc/PID/smaps the readable mappings with pages in
 * memory or swap (Rss or Swap > 0); a mapping of more than REGION_SPARSE
 * bytes less than half resident is narrowed, through /proc/PID/pagemap,
 * to its present pages; one over REGION_MAX is skipped (counted).  Blocks
 * are at most BLOCK_MAX bytes, read through /proc/PID/mem into the
 * worker's buffer when libyara asks for them.
 */

#define REGION_MAX     (16ULL << 30)
#define REGION_SPARSE  (64ULL << 20)
#define BLOCK_MAX      (16ULL << 20)
#define BLOCKS_MAX     (1u << 20)

struct mem_iter {
	struct scan_worker *w;
	int mem;                      /* /proc/PID/mem */
	struct { uint64_t base, size; } *v;
	unsigned n, cap, i;
	uint64_t skipped;             /* regions not scanned */
	YR_MEMORY_BLOCK block;
};

static int add_block(struct mem_iter *it, uint64_t base, uint64_t size)
{
	while (size) {
		uint64_t n = size < BLOCK_MAX ? size : BLOCK_MAX;

		if (it->n == BLOCKS_MAX) {
			it->skipped++;
			return 0;
		}
		if (it->n == it->cap) {
			unsigned cap = it->cap ? it->cap * 2 : 256;
			void *v = realloc(it->v, cap * sizeof(*it->v));
			if (!v)
				return -ENOMEM;
			it->v = v;
			it->cap = cap;
		}
		/* one block for adjacent pieces */
		if (it->n && it->v[it->n - 1].base + it->v[it->n - 1].size == base &&
		    it->v[it->n - 1].size + n <= BLOCK_MAX) {
			it->v[it->n - 1].size += n;
		} else {
			it->v[it->n].base = base;
			it->v[it->n].size = n;
			it->n++;
		}
		base += n;
		size -= n;
	}
	return 0;
}

/* The present (or swapped) pages of [lo, hi), as blocks. */
static int add_present(struct mem_iter *it, int pagemap, uint64_t lo, uint64_t hi)
{
	static const uint64_t page = 4096;
	uint64_t ent[512], run = 0, run_base = 0;
	int rc = 0;

	for (uint64_t a = lo; a < hi && rc == 0;) {
		uint64_t want = (hi - a) / page;
		ssize_t got;

		if (want > 512)
			want = 512;
		got = pread(pagemap, ent, want * sizeof(ent[0]), (off_t)(a / page * sizeof(ent[0])));
		if (got <= 0)
			break;
		for (ssize_t k = 0; k < got / (ssize_t)sizeof(ent[0]); k++, a += page) {
			if (ent[k] & (3ULL << 62)) {
				if (!run)
					run_base = a;
				run += page;
			} else if (run) {
				rc = add_block(it, run_base, run);
				run = 0;
			}
		}
	}
	if (run && rc == 0)
		rc = add_block(it, run_base, run);
	return rc;
}

/* The blocks of pid's memory.  0, or -errno (-ESRCH: gone). */
static int mem_regions(struct mem_iter *it, uint32_t pid)
{
	char path[64], line[512], perms[8] = "", name[64] = "";
	uint64_t lo = 0, hi = 0, rss = 0, swap = 0;
	bool have = false;
	int pagemap, rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	snprintf(path, sizeof(path), "/proc/%u/pagemap", pid);
	pagemap = open(path, O_RDONLY | O_CLOEXEC);
	for (;;) {
		bool header = false, end = !fgets(line, sizeof(line), f);
		unsigned long long a, b;
		char nperms[8];
		int used = 0;

		/* a mapping's first line; the one before it is done then */
		if (!end && sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &a, &b, nperms, &used) >= 3 &&
		    used > 0)
			header = true;
		if ((header || end) && have && perms[0] == 'r' && (rss || swap) &&
		    strcmp(name, "[vvar]") && strcmp(name, "[vsyscall]") &&
		    strcmp(name, "[vvar_vclock]")) {
			uint64_t size = hi - lo;

			if (size > REGION_MAX)
				it->skipped++;
			else if (size > REGION_SPARSE && (rss + swap) * 2 < size && pagemap >= 0)
				rc = add_present(it, pagemap, lo, hi);
			else
				rc = add_block(it, lo, size);
		}
		if (end || rc < 0)
			break;
		if (header) {
			size_t k;

			lo = a;
			hi = b;
			rss = swap = 0;
			have = true;
			memcpy(perms, nperms, sizeof(perms));
			snprintf(name, sizeof(name), "%s", line + used);
			k = strcspn(name, "\n");
			name[k] = '\0';
		} else if (!strncmp(line, "Rss:", 4)) {
			rss = strtoull(line + 4, NULL, 10) * 1024;
		} else if (!strncmp(line, "Swap:", 5)) {
			swap = strtoull(line + 5, NULL, 10) * 1024;
		}
	}
	if (pagemap >= 0)
		close(pagemap);
	fclose(f);
	return rc;
}

static const uint8_t *mem_fetch(YR_MEMORY_BLOCK *b)
{
	struct mem_iter *it = b->context;
	struct scan_worker *w = it->w;
	size_t got = 0;

	if (b->size > w->cap) {
		unsigned char *p = realloc(w->buf, b->size);
		if (!p)
			return NULL;
		w->buf = p;
		w->cap = b->size;
	}
	while (got < b->size) {
		ssize_t r = pread(it->mem, w->buf + got, b->size - got, (off_t)(b->base + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (!got)
		return NULL;              /* unreadable now: skipped */
	memset(w->buf + got, 0, b->size - got);
	return w->buf;
}

static YR_MEMORY_BLOCK *mem_next(YR_MEMORY_BLOCK_ITERATOR *self)
{
	struct mem_iter *it = self->context;

	self->last_error = ERROR_SUCCESS;
	if (it->i >= it->n)
		return NULL;
	it->block.base = it->v[it->i].base;
	it->block.size = (size_t)it->v[it->i].size;
	it->block.context = it;
	it->block.fetch_data = mem_fetch;
	it->i++;
	return &it->block;
}

static YR_MEMORY_BLOCK *mem_first(YR_MEMORY_BLOCK_ITERATOR *self)
{
	struct mem_iter *it = self->context;

	it->i = 0;
	return mem_next(self);
}

/* Is pid gone, or another process now (its start time changed)? */
static bool gone(uint32_t pid, const struct proc_stat *was)
{
	struct proc_stat now = { 0 };

	return read_stat(pid, &now) < 0 || now.start != was->start || now.state == 'Z';
}

void scan_proc_job(struct scan_worker *w, const struct scan_job *job)
{
	struct scan_run *run = w->run;
	struct proc_stat ps = { 0 };
	struct mem_iter it = { .w = w, .mem = -1 };
	YR_MEMORY_BLOCK_ITERATOR yi = { .context = &it, .first = mem_first, .next = mem_next };
	char link[64], exe[PATH_MAX] = "";
	ssize_t n;
	int e, r;

	if (read_stat(job->pid, &ps) < 0) {
		scan_count(run, &run->st->procs_gone, 1);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%u/exe", job->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	snprintf(link, sizeof(link), "/proc/%u/mem", job->pid);
	it.mem = open(link, O_RDONLY | O_CLOEXEC);
	r = it.mem < 0 ? -errno : mem_regions(&it, job->pid);
	if (r < 0) {
		if (gone(job->pid, &ps))
			scan_count(run, &run->st->procs_gone, 1);
		else
			scan_report_error(run, exe[0] ? exe : ps.comm, job->pid, -r, NULL);
		goto out;
	}
	w->ident = NULL;
	w->exe = exe;
	w->comm = ps.comm;
	w->start_ticks = ps.start;
	w->sha256 = w->sha1 = w->md5 = NULL;
	yr_scanner_set_flags(w->scanner, SCAN_FLAGS_PROCESS_MEMORY);
	e = yr_scanner_scan_mem_blocks(w->scanner, &yi);
	yr_scanner_set_flags(w->scanner, 0);
	if (e == ERROR_SUCCESS) {
		pthread_mutex_lock(&run->mu);
		run->st->procs++;
		run->st->proc_regions_skipped += it.skipped;
		if (w->hits)
			run->st->files_hit++;
		pthread_mutex_unlock(&run->mu);
	} else if (gone(job->pid, &ps)) {
		scan_count(run, &run->st->procs_gone, 1);
	} else {
		scan_report_error(run, exe[0] ? exe : ps.comm, job->pid, EIO, scan_yr_error(e));
	}
out:
	if (it.mem >= 0)
		close(it.mem);
	free(it.v);
}
