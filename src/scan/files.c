/*
 * files.c - scanning files (scan.h: hn_scan_files): the walk, on the
 * caller's thread, and one file's scan, on a worker.
 *
 * The walk: each directory is opened relative to its parent (openat,
 * O_NOFOLLOW) and its entries looked at with fstatat(AT_SYMLINK_NOFOLLOW):
 * a symbolic link is never followed (only a path given is resolved, with
 * realpath), so no link can lead the walk out of the tree or round in a
 * loop; a directory that is one of its own ancestors (a bind mount) is not
 * entered either.  Pseudo file systems (f_type: proc, sysfs, cgroup,
 * devpts, debugfs, ...) are not entered, nor /proc, /sys, /dev and /run
 * when reached from / (they may be ordinary tmpfs or disk directories).
 * What the walk skips itself: files over max_size, files clean at the last
 * scan (the cache), the rules' own files, everything not a regular file.
 * Depth is bounded (HN_SCAN_DEPTH_MAX) and so is the path (PATH_MAX).
 *
 * One file: opened O_NOFOLLOW | O_NONBLOCK (a fifo put in a file's place
 * does not block) and O_NOATIME when allowed (a scan does not change what
 * forensics read), checked regular and within max_size again on the open
 * file; identity taken from that fstat, before any byte is read.  Without
 * digests to compute it is mapped (libyara reads it in place, and catches
 * a SIGBUS from a file truncated meanwhile); with digests it is read into
 * the worker's buffer once, and the same bytes are hashed and scanned.
 *
 * Same content (scan_int.h: SCAN_DEDUP_*): a file whose fingerprint (size
 * and first 4 KiB) an earlier file had is hashed whole; a content whose
 * YARA result is known is reported from it, not scanned again.
 */
#include "scan/scan_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <openssl/evp.h>

/* f_type of file systems that hold no files to scan */
static bool pseudo_fs(long t)
{
	static const unsigned long v[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC, DEVPTS_SUPER_MAGIC, CGROUP_SUPER_MAGIC,
		CGROUP2_SUPER_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC, SECURITYFS_MAGIC,
		BPF_FS_MAGIC, PSTOREFS_MAGIC, 0x62656570UL /* configfs */,
		0x65735543UL /* fusectl */, 0x19800202UL /* mqueue */, EFIVARFS_MAGIC,
		0x42494e4dUL /* binfmt_misc */, SELINUX_MAGIC, NSFS_MAGIC,
		AUTOFS_SUPER_MAGIC, HUGETLBFS_MAGIC, SMACK_MAGIC,
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if ((unsigned long)(unsigned int)t == v[i])
			return true;
	return false;
}

/* Not entered from /: kernel and runtime state, never files to scan. */
static bool excluded_dir(const char *path)
{
	return !strcmp(path, "/proc") || !strcmp(path, "/sys") || !strcmp(path, "/dev") ||
	       !strcmp(path, "/run");
}

static void ident_of(const struct stat *st, struct hn_scan_ident *id)
{
	id->dev = scan_dev(st->st_dev);
	id->ino = st->st_ino;
	id->size = (uint64_t)st->st_size;
	id->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ULL + (uint64_t)st->st_mtim.tv_nsec;
	id->ctime_ns = (uint64_t)st->st_ctim.tv_sec * 1000000000ULL + (uint64_t)st->st_ctim.tv_nsec;
}

/* A regular file the walk found: skipped, or queued. */
static int consider(struct scan_run *run, const char *path, const struct stat *st,
		    bool follow)
{
	struct scan_job job = { .follow = follow };

	ident_of(st, &job.seen);
	if (scan_rules_own(run->o->rules, job.seen.dev, job.seen.ino)) {
		scan_count(run, &run->st->ours, 1);
		return 0;
	}
	if (job.seen.size > run->max_size) {
		scan_count(run, &run->st->too_big, 1);
		return 0;
	}
	if (run->o->cache && hn_scan_cache_has(run->o->cache, &job.seen)) {
		scan_count(run, &run->st->unchanged, 1);
		return 0;
	}
	job.path = strdup(path);
	if (!job.path)
		return -ENOMEM;
	return scan_run_push(run, &job);
}

struct frame {
	DIR *d;
	size_t len;              /* of the directory's path */
	uint64_t dev, ino;
};

/* Open the directory at/name (checked: a directory, the one fstatat saw,
 * not a pseudo file system); a DIR or NULL with *why. */
static DIR *open_dir(int at, const char *name, const struct stat *seen, int *err,
		     bool *pseudo)
{
	struct statfs sfs;
	struct stat st;
	DIR *d;
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

	*pseudo = false;
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	if (fstat(fd, &st) < 0 || (seen && (st.st_dev != seen->st_dev || st.st_ino != seen->st_ino))) {
		*err = EAGAIN;   /* replaced meanwhile */
		close(fd);
		return NULL;
	}
	if (fstatfs(fd, &sfs) == 0 && pseudo_fs((long)sfs.f_type)) {
		*pseudo = true;
		close(fd);
		return NULL;
	}
	d = fdopendir(fd);
	if (!d) {
		*err = errno;
		close(fd);
	}
	return d;
}

static int walk(struct scan_run *run, const char *root, const struct stat *rst)
{
	struct frame *stack = calloc(HN_SCAN_DEPTH_MAX + 1, sizeof(*stack));
	char path[PATH_MAX];
	int depth = 0, err = 0, rc = 0;
	unsigned tick = 0;
	bool pseudo;
	DIR *d;

	if (!stack)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s", root);
	if (scan_rules_own(run->o->rules, scan_dev(rst->st_dev), rst->st_ino)) {
		scan_count(run, &run->st->ours, 1);
		goto out;
	}
	d = open_dir(AT_FDCWD, path, NULL, &err, &pseudo);
	if (!d) {
		if (pseudo) {
			scan_count(run, &run->st->pseudo, 1);
			scan_report_error(run, path, 0, EINVAL, "a pseudo file system: not scanned");
		} else {
			scan_report_error(run, path, 0, err, NULL);
		}
		rc = pseudo ? -EINVAL : -err;
		goto out;
	}
	stack[0] = (struct frame){ d, strlen(path), scan_dev(rst->st_dev), rst->st_ino };
	depth = 1;
	while (depth > 0) {
		struct frame *f = &stack[depth - 1];
		struct dirent *e;
		struct stat st;
		size_t nlen, at;
		bool loop = false;

		if (scan_run_stopping(run))
			break;
		if (++tick % 64 == 0)
			scan_run_tick(run);
		path[f->len] = '\0';
		errno = 0;
		e = readdir(f->d);
		if (!e) {
			if (errno)
				scan_report_error(run, path, 0, errno, NULL);
			closedir(f->d);
			depth--;
			continue;
		}
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		nlen = strlen(e->d_name);
		at = (f->len == 1 && path[0] == '/') ? 1 : f->len + 1;
		if (at + nlen >= sizeof(path)) {
			scan_report_error(run, path, 0, ENAMETOOLONG, "a name in it: path too long");
			continue;
		}
		path[at - 1] = '/';
		memcpy(path + at, e->d_name, nlen + 1);
		if (fstatat(dirfd(f->d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT)
				scan_report_error(run, path, 0, errno, NULL);
			continue;
		}
		if (S_ISREG(st.st_mode)) {
			rc = consider(run, path, &st, false);
			if (rc == -ENOMEM)
				break;
			rc = 0;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			scan_count(run, &run->st->special, 1);
			continue;
		}
		if (excluded_dir(path) || scan_rules_own(run->o->rules, scan_dev(st.st_dev), st.st_ino)) {
			scan_count(run, excluded_dir(path) ? &run->st->pseudo : &run->st->ours, 1);
			continue;
		}
		if (depth > HN_SCAN_DEPTH_MAX - 1) {
			scan_count(run, &run->st->too_deep, 1);
			continue;
		}
		for (int i = 0; i < depth && !loop; i++)
			loop = stack[i].ino == st.st_ino && stack[i].dev == scan_dev(st.st_dev);
		if (loop) {
			scan_count(run, &run->st->special, 1);
			continue;
		}
		d = open_dir(dirfd(f->d), e->d_name, &st, &err, &pseudo);
		if (!d) {
			if (pseudo)
				scan_count(run, &run->st->pseudo, 1);
			else if (err != ENOENT)
				scan_report_error(run, path, 0, err, NULL);
			continue;
		}
		stack[depth] = (struct frame){ d, strlen(path), scan_dev(st.st_dev), st.st_ino };
		depth++;
	}
	while (depth > 0)
		closedir(stack[--depth].d);
out:
	free(stack);
	return rc;
}

int hn_scan_files(const struct hn_scan_opts *o, const char *const *paths, int npaths,
		  struct hn_scan_stats *st)
{
	struct scan_run run;
	int first = 0, rc;

	if (!o || (!o->rules && !o->ioc))
		return -EINVAL;
	rc = scan_run_start(&run, o, st);
	if (rc < 0)
		return rc;
	for (int i = 0; i < npaths && !scan_run_stopping(&run); i++) {
		char real[PATH_MAX];
		struct stat sb;
		int r = 0;

		if (!realpath(paths[i], real) || stat(real, &sb) < 0) {
			r = -errno;
			/* a /proc/PID/exe of a deleted file or a memfd: no path
			 * resolves, but the link itself opens the file */
			if (stat(paths[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
				r = consider(&run, paths[i], &sb, true);
				if (r == -ECANCELED)
					r = 0;
			} else {
				scan_report_error(&run, paths[i], 0, -r, NULL);
			}
		} else if (S_ISDIR(sb.st_mode)) {
			r = walk(&run, real, &sb);
		} else if (S_ISREG(sb.st_mode)) {
			r = consider(&run, real, &sb, false);
			if (r == -ECANCELED)
				r = 0;
		} else {
			r = -EINVAL;
			scan_count(&run, &run.st->special, 1);
			scan_report_error(&run, paths[i], 0, EINVAL,
					  "not a regular file or a directory: not scanned");
		}
		if (r < 0 && !first)
			first = r;
		if (r == -ENOMEM)
			break;
	}
	scan_run_finish(&run);
	return first;
}

/* ---- one file, on a worker ---- */

static void hex(const unsigned char *d, unsigned n, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool digest(const EVP_MD *md, const void *p, size_t n, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (EVP_Digest(p, n, d, &len, md, NULL) != 1)
		return false;
	hex(d, len, out);
	return true;
}

struct ioc_ctx {
	struct scan_worker *w;
	const char *path;
	const struct hn_scan_ident *id;
};

static void ioc_hit(const struct hn_ioc *ioc, void *arg)
{
	struct ioc_ctx *c = arg;
	struct scan_worker *w = c->w;
	struct scan_run *run = w->run;
	struct hn_scan_hit h = {
		.kind = HN_SCAN_HIT_IOC,
		.path = c->path,
		.file = c->id,
		.sha256 = w->sha256 ? w->sha256 : "",
		.sha1 = w->sha1 ? w->sha1 : "",
		.md5 = w->md5 ? w->md5 : "",
		.level = ioc->level && *ioc->level ? ioc->level : "high",
		.ioc = ioc,
	};

	w->hits++;
	pthread_mutex_lock(&run->mu);
	run->st->hits++;
	if (run->o->hit)
		run->o->hit(&h, run->o->arg);
	pthread_mutex_unlock(&run->mu);
}

/* Read n bytes of fd into w's buffer; the count read, or -errno. */
static ssize_t read_all(struct scan_worker *w, int fd, size_t n)
{
	size_t got = 0;

	if (n > w->cap) {
		unsigned char *b = realloc(w->buf, n);
		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = n;
	}
	while (got < n) {
		ssize_t r = read(fd, w->buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* ---- same content (scan_int.h) ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* Has an earlier file had this fingerprint?  It is remembered
 * (SCAN_PRINTS_MAX at most; then new ones are not).  run->mu held. */
static bool print_seen(struct scan_run *run, uint64_t fp)
{
	unsigned i;

	fp |= 1;   /* 0 is an empty slot */
	if ((run->prints_n + 1) * 2 > run->prints_cap) {
		unsigned cap = run->prints_cap ? run->prints_cap * 2 : 4096;
		uint64_t *v;

		if (cap > 2 * SCAN_PRINTS_MAX || !(v = calloc(cap, sizeof(*v))))
			return false;
		for (unsigned k = 0; k < run->prints_cap; k++) {
			if (!run->prints[k])
				continue;
			for (i = (unsigned)mix64(run->prints[k]) & (cap - 1); v[i]; i = (i + 1) & (cap - 1))
				;
			v[i] = run->prints[k];
		}
		free(run->prints);
		run->prints = v;
		run->prints_cap = cap;
	}
	/* at most half full: the probe ends */
	for (i = (unsigned)mix64(fp) & (run->prints_cap - 1);; i = (i + 1) & (run->prints_cap - 1)) {
		if (run->prints[i] == fp)
			return true;
		if (!run->prints[i]) {
			run->prints[i] = fp;
			run->prints_n++;
			return false;
		}
	}
}

/* Should this file be hashed whole, to reuse the result of the same
 * content?  Yes when an earlier file of the run had its size and first
 * bytes (read with pread: no mapping to fault on). */
static bool worth_hashing(struct scan_worker *w, int fd, uint64_t size)
{
	unsigned char head[SCAN_PRINT_BYTES], md[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	uint64_t fp;
	ssize_t r;
	bool seen;
	EVP_MD_CTX *ctx;

	if (size < SCAN_DEDUP_MIN)
		return false;
	r = pread(fd, head, sizeof(head), 0);
	if (r <= 0)
		return false;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return false;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &size, sizeof(size)) != 1 ||
	    EVP_DigestUpdate(ctx, head, (size_t)r) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &len) != 1 || len < 8) {
		EVP_MD_CTX_free(ctx);
		return false;
	}
	EVP_MD_CTX_free(ctx);
	memcpy(&fp, md, sizeof(fp));
	pthread_mutex_lock(&w->run->mu);
	seen = print_seen(w->run, fp);
	pthread_mutex_unlock(&w->run->mu);
	return seen;
}

static unsigned content_slot(const struct scan_content *v, unsigned cap, const unsigned char *sha)
{
	uint64_t h;
	unsigned i;

	memcpy(&h, sha, sizeof(h));
	for (i = (unsigned)h & (cap - 1);; i = (i + 1) & (cap - 1))
		if (v[i].state == CONTENT_EMPTY || !memcmp(v[i].sha, sha, 32))
			return i;
}

/* The content's entry (run->mu held); with insert, a new PENDING one when
 * there is none and room.  NULL otherwise. */
static struct scan_content *content_get(struct scan_run *run, const unsigned char *sha,
					bool insert, bool *made)
{
	unsigned i;

	if (made)
		*made = false;
	if (insert && (run->contents_n + 1) * 2 > run->contents_cap) {
		unsigned cap = run->contents_cap ? run->contents_cap * 2 : 1024;
		struct scan_content *v;

		if (run->contents_n >= SCAN_DEDUP_MAX || !(v = calloc(cap, sizeof(*v))))
			insert = false;
		else {
			for (unsigned k = 0; k < run->contents_cap; k++)
				if (run->contents[k].state != CONTENT_EMPTY)
					v[content_slot(v, cap, run->contents[k].sha)] = run->contents[k];
			free(run->contents);
			run->contents = v;
			run->contents_cap = cap;
		}
	}
	if (!run->contents_cap)
		return NULL;
	i = content_slot(run->contents, run->contents_cap, sha);
	if (run->contents[i].state != CONTENT_EMPTY)
		return &run->contents[i];
	if (!insert)
		return NULL;
	memcpy(run->contents[i].sha, sha, 32);
	run->contents[i].state = CONTENT_PENDING;
	run->contents_n++;
	if (made)
		*made = true;
	return &run->contents[i];
}

void scan_dedup_release(struct scan_run *run)
{
	for (unsigned i = 0; i < run->contents_cap; i++)
		free(run->contents[i].hits);
	free(run->contents);
	free(run->prints);
	run->contents = NULL;
	run->prints = NULL;
	run->contents_cap = run->prints_cap = 0;
}

/* Report the saved hits of content c for this file (run->mu held). */
static void replay(struct scan_worker *w, const struct scan_content *c, const char *path,
		   const struct hn_scan_ident *id)
{
	struct scan_run *run = w->run;

	for (unsigned k = 0; k < c->nhits; k++) {
		const struct scan_saved_hit *sv = &c->hits[k];
		const struct scan_rule_info *in = sv->rule;
		struct hn_scan_hit h = {
			.kind = HN_SCAN_HIT_YARA,
			.path = path,
			.file = id,
			.sha256 = w->sha256 ? w->sha256 : "",
			.sha1 = w->sha1 ? w->sha1 : "",
			.md5 = w->md5 ? w->md5 : "",
			.ns = in->ns,
			.rule = in->name,
			.description = in->description,
			.author = in->author,
			.level = in->level,
			.tags = in->tags,
			.rule_path = in->path,
			.strings = sv->strings,
			.nstrings = sv->nstrings,
			.strings_total = sv->total,
		};

		w->hits++;
		run->st->hits++;
		if (run->o->hit)
			run->o->hit(&h, run->o->arg);
	}
}

/* Keep the YARA result of content sha (run->mu held). */
static void content_done(struct scan_worker *w, const unsigned char *sha, bool failed)
{
	struct scan_content *c = content_get(w->run, sha, false, NULL);

	if (!c || c->state != CONTENT_PENDING)
		return;
	c->state = CONTENT_UNKNOWN;
	if (failed || w->overflow)
		return;
	if (w->nsaved) {
		c->hits = malloc(w->nsaved * sizeof(*c->hits));
		if (!c->hits)
			return;
		memcpy(c->hits, w->saved, w->nsaved * sizeof(*c->hits));
		c->nhits = (uint8_t)w->nsaved;
		c->state = CONTENT_HIT;
	} else {
		c->state = CONTENT_CLEAN;
	}
}

void scan_file_job(struct scan_worker *w, const struct scan_job *job)
{
	static const unsigned char empty[1];
	struct scan_run *run = w->run;
	struct hn_scan_ident id;
	char sha256[65] = "", sha1[41] = "", md5[33] = "";
	unsigned char sha[32];
	const unsigned char *data = empty;
	void *map = NULL;
	size_t n = 0;
	uint64_t coarse;
	struct stat st;
	bool failed = false, hashing, have_sha = false, reused = false;
	int fd;

	fd = open(job->path, O_RDONLY | (job->follow ? 0 : O_NOFOLLOW) | O_NONBLOCK | O_NOCTTY |
		  O_CLOEXEC | O_NOATIME);
	if (fd < 0 && errno == EPERM)
		fd = open(job->path, O_RDONLY | (job->follow ? 0 : O_NOFOLLOW) | O_NONBLOCK |
			  O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)     /* a link put in its place */
			scan_count(run, &run->st->special, 1);
		else if (errno != ENOENT)
			scan_report_error(run, job->path, 0, errno, NULL);
		return;
	}
	coarse = scan_coarse_ns();
	if (fstat(fd, &st) < 0) {
		scan_report_error(run, job->path, 0, errno, NULL);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		scan_count(run, &run->st->special, 1);
		goto out;
	}
	ident_of(&st, &id);
	if (id.size > run->max_size) {
		scan_count(run, &run->st->too_big, 1);
		goto out;
	}
	w->ident = &id;
	w->exe = w->comm = NULL;
	w->start_ticks = 0;
	w->sha256 = w->sha1 = w->md5 = NULL;
	w->saving = w->overflow = false;
	w->nsaved = 0;
	n = (size_t)id.size;
	/* hashed: read once into the buffer (a mapping could SIGBUS under
	 * the digests); else mapped, for libyara alone */
	hashing = run->want || (w->scanner && worth_hashing(w, fd, id.size));
	if (n && hashing) {
		ssize_t r = read_all(w, fd, n);
		if (r < 0) {
			scan_report_error(run, job->path, 0, (int)-r, NULL);
			goto out;
		}
		failed = (size_t)r != n;   /* shrank: scanned, not called clean */
		n = (size_t)r;
		data = w->buf;
	} else if (n) {
		map = mmap(NULL, n, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			scan_report_error(run, job->path, 0, errno, "cannot map it");
			goto out;
		}
		data = map;
	}
	if (hashing) {
		unsigned len = 0;

		have_sha = EVP_Digest(data, n, sha, &len, EVP_sha256(), NULL) == 1 && len == 32;
		if (have_sha && (run->want & SCAN_WANT_SHA256)) {
			hex(sha, 32, sha256);
			w->sha256 = sha256;
		}
	}
	if (run->want) {
		struct ioc_ctx c = { w, job->path, &id };
		uint64_t now = scan_coarse_ns();

		if ((run->want & SCAN_WANT_SHA1) && digest(EVP_sha1(), data, n, sha1))
			w->sha1 = sha1;
		if ((run->want & SCAN_WANT_MD5) && digest(EVP_md5(), data, n, md5))
			w->md5 = md5;
		if (w->sha256)
			hn_ioc_match_hash(run->o->ioc, HN_IOC_SHA256, sha256, now, ioc_hit, &c);
		if (w->sha1)
			hn_ioc_match_hash(run->o->ioc, HN_IOC_SHA1, sha1, now, ioc_hit, &c);
		if (w->md5)
			hn_ioc_match_hash(run->o->ioc, HN_IOC_MD5, md5, now, ioc_hit, &c);
		if (!w->sha256 && !w->sha1 && !w->md5)
			failed = true;
	}
	if (w->scanner && have_sha && !failed) {
		struct scan_content *c;
		bool made;

		pthread_mutex_lock(&run->mu);
		c = content_get(run, sha, true, &made);
		if (c && (c->state == CONTENT_CLEAN || c->state == CONTENT_HIT)) {
			replay(w, c, job->path, &id);
			run->st->same_content++;
			reused = true;
		} else {
			/* a new content is ours to scan and keep; one pending
			 * (another worker scans it now) or unknown: scanned */
			w->saving = made;
		}
		pthread_mutex_unlock(&run->mu);
	}
	if (w->scanner && !reused) {
		int e = yr_scanner_scan_mem(w->scanner, data, n);
		if (e != ERROR_SUCCESS) {
			scan_report_error(run, job->path, 0, EIO, scan_yr_error(e));
			failed = true;
		}
	}
	pthread_mutex_lock(&run->mu);
	if (w->saving)
		content_done(w, sha, failed);
	w->saving = false;
	run->st->files++;
	run->st->bytes += n;
	if (w->hits) {
		run->st->files_hit++;
	} else if (!failed) {
		if (id.ctime_ns < coarse && id.mtime_ns < coarse) {
			if (run->o->clean)
				run->o->clean(job->path, &id, run->o->arg);
		} else {
			run->st->racy++;
		}
	}
	pthread_mutex_unlock(&run->mu);
out:
	w->ident = NULL;
	if (map)
		munmap(map, n);
	close(fd);
}
