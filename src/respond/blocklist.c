/*
 * blocklist.c - the hashes whose execution is refused (respond.h), kept
 * in $state/blocklist: one line per hash, "SHA256 TIME_NS ACTION REASON",
 * '#' comments allowed.  The CLI changes it (a whole new file, synced and
 * renamed into place, so that a reader never sees half of it); the
 * agent's exec guard (agent/exec_guard.c) reads it when it changes.
 *
 * Input is checked: a line that is not a lowercase 64-hex hash is
 * reported with its line number and skipped, the rest still load.
 */
#include "respond/respond.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCKLIST_MAX 65536

bool hn_sha256_valid(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int hn_blocklist_path(const char *state_dir, char *buf, size_t n)
{
	int len = snprintf(buf, n, "%s/blocklist", state_dir);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

void hn_blocklist_release(struct hn_blocklist *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->n; i++)
		free(b->v[i].reason);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct hn_block_entry *)a)->sha256,
		      ((const struct hn_block_entry *)b)->sha256);
}

int hn_blocklist_load(const char *state_dir, struct hn_blocklist *out, char *err, size_t errlen)
{
	char path[PATH_MAX], line[1024];
	struct hn_blocklist b = { 0 };
	FILE *f;
	int ln = 0, bad = 0;

	if (err && errlen)
		err[0] = '\0';
	if (hn_blocklist_path(state_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT) {
			*out = b;
			return 0;
		}
		if (err)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *sha, *t, *act, *reason;
		struct hn_block_entry *e;

		ln++;
		line[strcspn(line, "\n")] = '\0';
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || *p == '#')
			continue;
		sha = strtok_r(p, " \t", &t);
		act = NULL;
		reason = NULL;
		{
			char *tm = strtok_r(NULL, " \t", &t);
			act = tm ? strtok_r(NULL, " \t", &t) : NULL;
			reason = act ? t : NULL;
			if (!hn_sha256_valid(sha)) {
				if (!bad++ && err)
					snprintf(err, errlen, "%s:%d: not a SHA-256: '%.80s'", path,
						 ln, sha ? sha : "");
				continue;
			}
			if (b.n == b.cap) {
				int nc = b.cap ? b.cap * 2 : 16;
				struct hn_block_entry *nv;
				if (nc > BLOCKLIST_MAX) {
					if (err)
						snprintf(err, errlen, "%s: more than %d hashes; "
							 "the rest ignored", path, BLOCKLIST_MAX);
					break;
				}
				nv = realloc(b.v, (size_t)nc * sizeof(*nv));
				if (!nv) {
					fclose(f);
					hn_blocklist_release(&b);
					return -ENOMEM;
				}
				b.v = nv;
				b.cap = nc;
			}
			e = &b.v[b.n++];
			memset(e, 0, sizeof(*e));
			memcpy(e->sha256, sha, 65);
			e->time = tm ? strtoull(tm, NULL, 10) : 0;
			e->action = act ? strtoll(act, NULL, 10) : 0;
			while (reason && isspace((unsigned char)*reason))
				reason++;
			e->reason = reason && *reason ? strdup(reason) : NULL;
		}
	}
	fclose(f);
	if (b.n)
		qsort(b.v, (size_t)b.n, sizeof(*b.v), cmp_entry);
	/* the same hash twice: keep one */
	{
		int w = 0;
		for (int i = 0; i < b.n; i++) {
			if (w && strcmp(b.v[w - 1].sha256, b.v[i].sha256) == 0) {
				free(b.v[i].reason);
				continue;
			}
			b.v[w++] = b.v[i];
		}
		b.n = w;
	}
	*out = b;
	return bad ? -EINVAL : 0;
}

const struct hn_block_entry *hn_blocklist_find(const struct hn_blocklist *b, const char *sha256)
{
	struct hn_block_entry key;

	if (!b || !b->n || !hn_sha256_valid(sha256))
		return NULL;
	memcpy(key.sha256, sha256, 65);
	return bsearch(&key, b->v, (size_t)b->n, sizeof(*b->v), cmp_entry);
}

/* The list's lock (a file beside it, flock'ed): one change at a time,
 * read to write.  The fd, or -errno (r->err). */
static int list_lock(struct hn_respond *r)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s/blocklist.lock", r->state_dir) >= (int)sizeof(path))
		return hn_respond_fail(r, -ENAMETOOLONG, "state directory path too long");
	if (mkdir(r->state_dir, 0700) < 0 && errno != EEXIST)
		return hn_respond_fail(r, -errno, "cannot make %s: %s", r->state_dir,
				       strerror(errno));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hn_respond_fail(r, -errno, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		return hn_respond_fail(r, -e, "%s: %s", path, strerror(e));
	}
	return fd;
}

/* Write b as the list (a new file of its own, renamed into place). */
static int save(struct hn_respond *r, const struct hn_blocklist *b)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	FILE *f;
	int fd;

	if (hn_blocklist_path(r->state_dir, path, sizeof(path)) < 0)
		return hn_respond_fail(r, -ENAMETOOLONG, "state directory path too long");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return hn_respond_fail(r, -e, "cannot write %s: %s", tmp, strerror(e));
	}
	fprintf(f, "# hinomi: hashes whose execution is refused (hinomi block/unblock)\n"
		   "# sha256 time_ns action reason\n");
	for (int i = 0; i < b->n; i++) {
		const struct hn_block_entry *e = &b->v[i];
		char reason[256] = "";
		if (e->reason) {
			/* one line: newlines out */
			snprintf(reason, sizeof(reason), "%s", e->reason);
			for (char *p = reason; *p; p++)
				if (*p == '\n' || *p == '\r')
					*p = ' ';
		}
		fprintf(f, "%s %llu %lld %s\n", e->sha256, (unsigned long long)e->time,
			(long long)e->action, reason);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		int e = errno;
		fclose(f);
		unlink(tmp);
		return hn_respond_fail(r, -e, "cannot write %s: %s", tmp, strerror(e));
	}
	fclose(f);
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return hn_respond_fail(r, -e, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

int hn_blocklist_add(struct hn_respond *r, const char *sha256, int64_t action,
		     const char *reason)
{
	struct hn_blocklist b;
	struct hn_block_entry *nv;
	char err[512];
	struct timespec ts;
	int rc, lk;

	if (!hn_sha256_valid(sha256))
		return hn_respond_fail(r, -EINVAL, "'%s' is not a SHA-256 (64 lowercase "
				       "hex digits)", sha256 ? sha256 : "");
	lk = list_lock(r);
	if (lk < 0)
		return lk;
	rc = hn_blocklist_load(r->state_dir, &b, err, sizeof(err));
	if (rc < 0 && rc != -EINVAL) {
		close(lk);
		return hn_respond_fail(r, rc, "%s", err[0] ? err : strerror(-rc));
	}
	if (hn_blocklist_find(&b, sha256)) {
		hn_blocklist_release(&b);
		close(lk);
		return hn_respond_fail(r, -EEXIST, "%s is blocked already", sha256);
	}
	nv = realloc(b.v, (size_t)(b.n + 1) * sizeof(*nv));
	if (!nv) {
		hn_blocklist_release(&b);
		close(lk);
		return hn_respond_fail(r, -ENOMEM, "no memory");
	}
	b.v = nv;
	b.cap = b.n + 1;
	memset(&b.v[b.n], 0, sizeof(b.v[b.n]));
	memcpy(b.v[b.n].sha256, sha256, 65);
	clock_gettime(CLOCK_REALTIME, &ts);
	b.v[b.n].time = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	b.v[b.n].action = action;
	b.v[b.n].reason = reason ? strdup(reason) : NULL;
	b.n++;
	qsort(b.v, (size_t)b.n, sizeof(*b.v), cmp_entry);
	rc = save(r, &b);
	hn_blocklist_release(&b);
	close(lk);
	return rc;
}

int hn_blocklist_remove(struct hn_respond *r, const char *sha256)
{
	struct hn_blocklist b;
	const struct hn_block_entry *e;
	char err[512];
	int rc, i, lk;

	if (!hn_sha256_valid(sha256))
		return hn_respond_fail(r, -EINVAL, "'%s' is not a SHA-256 (64 lowercase "
				       "hex digits)", sha256 ? sha256 : "");
	lk = list_lock(r);
	if (lk < 0)
		return lk;
	rc = hn_blocklist_load(r->state_dir, &b, err, sizeof(err));
	if (rc < 0 && rc != -EINVAL) {
		close(lk);
		return hn_respond_fail(r, rc, "%s", err[0] ? err : strerror(-rc));
	}
	e = hn_blocklist_find(&b, sha256);
	if (!e) {
		hn_blocklist_release(&b);
		close(lk);
		return hn_respond_fail(r, -ENOENT, "%s is not blocked", sha256);
	}
	i = (int)(e - b.v);
	free(b.v[i].reason);
	memmove(&b.v[i], &b.v[i + 1], (size_t)(b.n - i - 1) * sizeof(*b.v));
	b.n--;
	rc = save(r, &b);
	hn_blocklist_release(&b);
	close(lk);
	return rc;
}
