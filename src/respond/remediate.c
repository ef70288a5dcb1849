/*
 * remediate.c - undoing what an attack did, from its impact scope
 * (investigate.h: struct hn_story), and undoing a response (respond.h).
 *
 * The plan (hn_remediate_plan) looks at the scope and at the host as it
 * is now, and changes nothing:
 *   - every process of the scope still running (checked by entity) is
 *     killed with its tree;
 *   - every file the attack created (or renamed into place) and that is
 *     still there, unchanged by anyone else since, is quarantined; an
 *     executable's hash is blocked too;
 *   - every file the attack modified or deleted is put back from the
 *     versions the agent kept (store.h: hn_file_version):
 *       B = the last version read before the attack's first write,
 *       A = the first version read after its last write,
 *       C = the file now;
 *     C == A (nobody changed it since): B is written back whole;
 *     otherwise the lines A has and B has not (what the attack added) are
 *     taken out of C, once each, from the end, and every other line of C
 *     stays: another user's crontab line, .bashrc line or key is kept;
 *     a deleted file comes back as B;
 *   - what cannot be put back (no version before the attack, a file
 *     changed since by another process, secrets the attack read) is a
 *     "leave" step that says why: nothing is ever deleted that the
 *     attack did not create.
 * Running the plan (hn_remediate_run) records each step as an action
 * under the remediation's own, with what its undo needs: the vault item
 * of a quarantined file; for a file rewritten, a vault copy of it as it
 * was and the SHA-256 of what was written (an undo puts the copy back
 * only if the file still holds exactly that).  Each step checks again
 * that the file is as planned (SHA-256) before it changes it.
 */
#include "respond/respond.h"
#include "event/entity.h"
#include "investigate/investigate.h"
#include "scan/scan.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_MAX (1u << 20)     /* largest file rewritten (versions keep as much) */

const char *hn_rstep_kind_name(enum hn_rstep_kind k)
{
	static const char *const names[] = {
		[HN_RS_KILL] = "kill", [HN_RS_QUARANTINE] = "quarantine",
		[HN_RS_RESTORE] = "restore", [HN_RS_EDIT] = "edit",
		[HN_RS_BLOCK] = "block", [HN_RS_RELOAD] = "reload", [HN_RS_LEAVE] = "leave",
		[HN_RS_RESCAN] = "rescan",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] ? names[k] : "?";
}

void hn_rplan_release(struct hn_rplan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->steps[i].path);
		free(p->steps[i].exe);
		free(p->steps[i].why);
		free(p->steps[i].content);
		free(p->steps[i].result);
	}
	free(p->steps);
	for (size_t i = 0; i < p->ndirs; i++)
		free(p->dirs[i]);
	free(p->dirs);
	memset(p, 0, sizeof(*p));
}

#define RESCAN_DIRS 32

/* The directory of path, once, into the rescan's list (RESCAN_DIRS at most). */
static int add_dir(struct hn_rplan *p, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	char *d;

	if (!n)
		return 0;   /* "/": not the whole host */
	for (size_t i = 0; i < p->ndirs; i++)
		if (strlen(p->dirs[i]) == n && !strncmp(p->dirs[i], path, n))
			return 0;
	if (p->ndirs >= RESCAN_DIRS)
		return 0;
	if (!(d = strndup(path, n)))
		return -ENOMEM;
	{
		char **nv = realloc(p->dirs, (p->ndirs + 1) * sizeof(*nv));
		if (!nv) {
			free(d);
			return -ENOMEM;
		}
		p->dirs = nv;
	}
	p->dirs[p->ndirs++] = d;
	return 0;
}

static struct hn_rstep *add_step(struct hn_rplan *p, enum hn_rstep_kind k, const char *path)
{
	struct hn_rstep *s;

	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 16;
		struct hn_rstep *nv = realloc(p->steps, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		p->steps = nv;
		p->cap = nc;
	}
	s = &p->steps[p->n];
	memset(s, 0, sizeof(*s));
	s->kind = k;
	if (path && !(s->path = strdup(path)))
		return NULL;
	p->n++;
	return s;
}

static void set_why(struct hn_rstep *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_why(struct hn_rstep *s, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(s->why);
	s->why = strdup(buf);
}


/* The whole of a regular file (up to FILE_MAX), or a link's target.
 * 0, -ENOENT, -EFBIG, -errno.  *buf malloc'd. */
static int read_now(const char *path, unsigned char **buf, size_t *len, struct stat *st)
{
	unsigned char *b;
	ssize_t n;
	size_t got = 0;
	int fd;

	if (lstat(path, st) < 0)
		return -errno;
	if (S_ISLNK(st->st_mode)) {
		b = malloc(PATH_MAX);
		if (!b)
			return -ENOMEM;
		n = readlink(path, (char *)b, PATH_MAX);
		if (n < 0) {
			free(b);
			return -errno;
		}
		*buf = b;
		*len = (size_t)n;
		return 0;
	}
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if ((uint64_t)st->st_size > FILE_MAX)
		return -EFBIG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b = malloc((size_t)st->st_size + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st->st_size + 1 && (n = read(fd, b + got, (size_t)st->st_size + 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	*buf = b;
	*len = got;
	return 0;
}

/* ---- lines ---- */

struct line {
	const unsigned char *p;
	size_t n;                /* without its newline */
};

/* The lines of b (a last line without a newline counts). */
static struct line *lines_of(const unsigned char *b, size_t len, size_t *out_n)
{
	struct line *v = NULL;
	size_t n = 0, cap = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && b[i] != '\n')
			continue;
		if (i == len && start == len)
			break;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			struct line *nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				free(v);
				return NULL;
			}
			v = nv;
			cap = nc;
		}
		v[n].p = b + start;
		v[n].n = i - start;
		n++;
		start = i + 1;
	}
	*out_n = n;
	return v ? v : calloc(1, sizeof(*v));
}

static bool line_eq(const struct line *a, const struct line *b)
{
	return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

static uint64_t line_hash(const struct line *l)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ l->n;

	for (size_t i = 0; i < l->n; i++)
		h = (h ^ l->p[i]) * 0x100000001b3ULL;
	return h | 1;   /* 0 marks an empty slot */
}

/* Lines of a not matched by one of b each (multiset a - b), marked in
 * take[i] (true: a[i] is extra).  The count.  Linear: b's lines are
 * counted in a hash table first (a slot per distinct line, with its
 * count), then each line of a takes one of its count. */
static size_t extra_lines(const struct line *a, size_t na, const struct line *b, size_t nb,
			  bool *take)
{
	size_t cap = 16, k = 0;
	struct slot { uint64_t h; size_t first; size_t count; } *t;

	while (cap < 2 * nb + 2)
		cap *= 2;
	t = calloc(cap, sizeof(*t));
	if (!t) {
		for (size_t i = 0; i < na; i++)
			take[i] = false;   /* no memory: nothing is taken out */
		return 0;
	}
	for (size_t j = 0; j < nb; j++) {
		uint64_t h = line_hash(&b[j]);
		size_t i = h & (cap - 1);
		while (t[i].h && !(t[i].h == h && line_eq(&b[t[i].first], &b[j])))
			i = (i + 1) & (cap - 1);
		if (!t[i].h) {
			t[i].h = h;
			t[i].first = j;
		}
		t[i].count++;
	}
	for (size_t x = 0; x < na; x++) {
		uint64_t h = line_hash(&a[x]);
		size_t i = h & (cap - 1);
		while (t[i].h && !(t[i].h == h && line_eq(&b[t[i].first], &a[x])))
			i = (i + 1) & (cap - 1);
		take[x] = !(t[i].h && t[i].count);
		if (!take[x])
			t[i].count--;
		k += take[x];
	}
	free(t);
	return k;
}

/* ---- versions ---- */

struct vpick {
	uint64_t first, last;    /* the attack's writes */
	struct hn_file_version before, after;
	unsigned char *bcontent, *acontent;
	bool have_before, have_after;
};

static int on_version(const struct hn_file_version *v, void *arg)
{
	struct vpick *k = arg;

	if (v->time < k->first) {
		free(k->bcontent);
		k->before = *v;
		k->bcontent = v->len ? malloc(v->len) : NULL;
		if (v->len && !k->bcontent)
			return -ENOMEM;
		if (v->len)
			memcpy(k->bcontent, v->content, v->len);
		k->before.content = k->bcontent;
		k->have_before = true;
	} else if (v->time > k->last && !k->have_after) {
		k->after = *v;
		k->acontent = v->len ? malloc(v->len) : NULL;
		if (v->len && !k->acontent)
			return -ENOMEM;
		if (v->len)
			memcpy(k->acontent, v->content, v->len);
		k->after.content = k->acontent;
		k->have_after = true;
	}
	k->before.path = k->after.path = NULL;   /* the row's: not kept */
	return 0;
}

/* ---- the scope's files, one entry per path ---- */

struct pfile {
	const char *path;            /* the story's */
	bool created, modified, deleted, chmod, read, exec, renamed_away;
	bool renamed_onto;           /* a rename or link put a file at this path */
	uint64_t first, last;        /* the attack's writes to it */
	uint64_t entity;
};

struct pfiles {
	struct pfile *v;
	size_t n, cap;
};

static struct pfile *pf_get(struct pfiles *f, const char *path)
{
	for (size_t i = f->n; i-- > 0;)
		if (strcmp(f->v[i].path, path) == 0)
			return &f->v[i];
	if (f->n == f->cap) {
		size_t nc = f->cap ? f->cap * 2 : 64;
		struct pfile *nv = realloc(f->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		f->v = nv;
		f->cap = nc;
	}
	memset(&f->v[f->n], 0, sizeof(f->v[f->n]));
	f->v[f->n].path = path;
	f->v[f->n].first = UINT64_MAX;
	return &f->v[f->n++];
}

static void pf_time(struct pfile *p, uint64_t t)
{
	if (t < p->first)
		p->first = t;
	if (t > p->last)
		p->last = t;
}

/* ---- who else wrote it ---- */

struct other_writer {
	const struct hn_story *st;
	uint64_t entity;
	char exe[256];
};

static bool in_scope(const struct hn_story *st, uint64_t e)
{
	for (size_t i = 0; i < st->n_procs; i++)
		if (st->procs[i].entity == e)
			return true;
	return false;
}

static int on_write(const struct hn_event *ev, void *arg)
{
	struct other_writer *o = arg;

	if (ev->flags & HN_EVF_FAILED)
		return 0;
	if (in_scope(o->st, ev->proc.entity))
		return 0;
	o->entity = ev->proc.entity;
	snprintf(o->exe, sizeof(o->exe), "%s", ev->proc.executable ? ev->proc.executable : "?");
	return 1;
}

/* A process outside the scope wrote path after t: its executable into
 * exe.  True when one did. */
static bool changed_by_other(struct hn_respond *r, const struct hn_story *st, const char *path,
			     uint64_t t, char *exe, size_t n)
{
	struct hn_query q = { .path = path, .since = t + 1 };
	struct other_writer o = { .st = st };

	q.types[q.ntypes++] = HN_EV_FILE_CREATE;
	q.types[q.ntypes++] = HN_EV_FILE_OPEN_WRITE;
	q.types[q.ntypes++] = HN_EV_FILE_TRUNCATE;
	if (!r->store || hn_store_query(r->store, &q, on_write, &o) != 1) {
		/* renamed onto it */
		struct hn_query q2 = { .path2 = path, .since = t + 1 };
		q2.types[q2.ntypes++] = HN_EV_FILE_RENAME;
		q2.types[q2.ntypes++] = HN_EV_FILE_LINK;
		if (!r->store || hn_store_query(r->store, &q2, on_write, &o) != 1)
			return false;
	}
	snprintf(exe, n, "%s", o.exe);
	return true;
}

/* ---- planning one file ---- */

static int plan_created(struct hn_respond *r, const struct hn_story *st, struct hn_rplan *p,
			const struct pfile *f)
{
	const char *kind = hn_inv_persist_kind(f->path);
	struct hn_rstep *s;
	struct stat sb;
	char exe[256];

	if (lstat(f->path, &sb) < 0) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			return -ENOMEM;
		set_why(s, "created by the attack, gone since");
		return 0;
	}
	if (S_ISDIR(sb.st_mode))
		return 0;   /* directories stay: what is in them is handled one by one */
	{
		/* born before the attack began: not the attack's to take (a
		 * file it renamed or linked into place, say) */
		struct statx sx;
		if (statx(AT_FDCWD, f->path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
		    (sx.stx_mask & STATX_BTIME)) {
			uint64_t born = (uint64_t)sx.stx_btime.tv_sec * 1000000000ULL +
					sx.stx_btime.tv_nsec;
			uint64_t began = st->root.start ? st->root.start : f->first;
			if (began != UINT64_MAX && born + 2000000000ULL < began) {
				if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
					return -ENOMEM;
				set_why(s, "existed before the attack (it only moved or linked it): "
					"check it by hand");
				return 0;
			}
		}
	}
	if (changed_by_other(r, st, f->path, f->last, exe, sizeof(exe))) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			return -ENOMEM;
		set_why(s, "created by the attack, but written since by %s: check it by hand", exe);
		return 0;
	}
	if (!(s = add_step(p, HN_RS_QUARANTINE, f->path)))
		return -ENOMEM;
	if (kind)
		set_why(s, "persistence (%s) the attack created", kind);
	else if (f->exec || (sb.st_mode & 0111))
		set_why(s, "an executable the attack created");
	else
		set_why(s, "a file the attack created");
	if (S_ISREG(sb.st_mode) && (f->exec || (sb.st_mode & 0111))) {
		unsigned char *b = NULL;
		size_t len = 0;
		struct stat st2;
		char sha[65];

		/* its hash, blocked (bigger files: computed when it is run) */
		if (read_now(f->path, &b, &len, &st2) == 0) {
			hn_sha256_hex(b, len, sha);
			free(b);
			if (!(s = add_step(p, HN_RS_BLOCK, f->path)))
				return -ENOMEM;
			memcpy(s->sha256, sha, sizeof(sha));
			set_why(s, "the hash of an executable the attack created");
		}
	}
	return 0;
}

struct last_write {
	const struct hn_story *st;
	uint64_t last;
};

static int on_scope_write(const struct hn_event *ev, void *arg)
{
	struct last_write *l = arg;

	if (!(ev->flags & HN_EVF_FAILED) && in_scope(l->st, ev->proc.entity) && ev->time > l->last)
		l->last = ev->time;
	return 0;
}

/* The attack's last write to path (investigate keeps the first of each
 * kind; a later append counts too): the newest write, truncate or
 * rename onto it by a process of the scope, and at least *last. */
static void attack_last_write(struct hn_respond *r, const struct hn_story *st, const char *path,
			      uint64_t *last)
{
	struct last_write l = { .st = st, .last = *last };
	struct hn_query q = { .path = path, .since = st->root.start ? st->root.start : 1 };
	struct hn_query q2 = { .path2 = path, .since = q.since };

	if (!r->store)
		return;
	q.types[q.ntypes++] = HN_EV_FILE_CREATE;
	q.types[q.ntypes++] = HN_EV_FILE_OPEN_WRITE;
	q.types[q.ntypes++] = HN_EV_FILE_TRUNCATE;
	q.types[q.ntypes++] = HN_EV_FILE_DELETE;
	hn_store_query(r->store, &q, on_scope_write, &l);
	q2.types[q2.ntypes++] = HN_EV_FILE_RENAME;
	q2.types[q2.ntypes++] = HN_EV_FILE_LINK;
	hn_store_query(r->store, &q2, on_scope_write, &l);
	*last = l.last;
}

static int plan_changed(struct hn_respond *r, const struct hn_story *st, struct hn_rplan *p,
			const struct pfile *f)
{
	struct vpick k = { .first = f->first, .last = f->last };
	unsigned char *cur = NULL;
	size_t clen = 0;
	struct hn_rstep *s;
	struct stat sb;
	int rc, e;

	attack_last_write(r, st, f->path, &k.last);
	rc = r->store ? hn_store_file_versions(r->store, f->path, on_version, &k) : -ENOENT;
	if (rc == -ENOMEM)
		goto nomem;
	e = read_now(f->path, &cur, &clen, &sb);
	if (!k.have_before) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			goto nomem;
		set_why(s, "%s by the attack; no copy from before it was kept (the agent "
			"keeps versions of persistence files only)",
			f->deleted ? "deleted" : "modified");
		goto out;
	}
	if (k.before.deleted) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			goto nomem;
		set_why(s, "did not exist before the attack");
		goto out;
	}
	if (e == -ENOENT) {
		/* gone: it comes back as it was */
		if (!(s = add_step(p, HN_RS_RESTORE, f->path)))
			goto nomem;
		s->content = k.bcontent;
		k.bcontent = NULL;
		s->len = k.before.len;
		s->mode = k.before.mode;
		s->uid = k.before.uid;
		s->gid = k.before.gid;
		s->exists = false;
		set_why(s, "%s by the attack: put back as it was before", f->deleted ? "deleted" :
			"removed");
		goto out;
	}
	if (e < 0) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			goto nomem;
		set_why(s, "modified by the attack, cannot be read now: %s", strerror(-e));
		goto out;
	}
	if (clen == k.before.len && memcmp(cur, k.bcontent ? k.bcontent : (unsigned char *)"",
					   clen) == 0) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			goto nomem;
		set_why(s, "modified by the attack, already back as it was before");
		goto out;
	}
	if (k.have_after && !k.after.deleted && clen == k.after.len &&
	    memcmp(cur, k.acontent ? k.acontent : (unsigned char *)"", clen) == 0) {
		/* nobody changed it since: it is put back whole */
		if (!(s = add_step(p, HN_RS_RESTORE, f->path)))
			goto nomem;
		s->content = k.bcontent;
		k.bcontent = NULL;
		s->len = k.before.len;
		s->exists = true;
		s->mode = k.before.mode;
		s->uid = k.before.uid;
		s->gid = k.before.gid;
		hn_sha256_hex(cur, clen, s->sha256);
		set_why(s, "modified by the attack: put back as it was before");
		goto out;
	}
	if (!k.have_after || k.after.deleted) {
		if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
			goto nomem;
		set_why(s, "modified by the attack and since; no copy from right after the "
			"attack, so its lines cannot be told apart: check it by hand");
		goto out;
	}
	{
		/* changed since: the attack's lines out, every other line kept */
		size_t na, nb, nc, added = 0, gone;
		struct line *la = lines_of(k.acontent ? k.acontent : (unsigned char *)"", k.after.len, &na);
		struct line *lb = lines_of(k.bcontent ? k.bcontent : (unsigned char *)"", k.before.len, &nb);
		struct line *lc = lines_of(cur, clen, &nc);
		bool *take_a = calloc(na ? na : 1, 1), *take_b = calloc(nb ? nb : 1, 1);
		bool *drop = calloc(nc ? nc : 1, 1);
		struct hn_strbuf out;

		if (!la || !lb || !lc || !take_a || !take_b || !drop) {
			free(la); free(lb); free(lc); free(take_a); free(take_b); free(drop);
			goto nomem;
		}
		extra_lines(la, na, lb, nb, take_a);
		gone = extra_lines(lb, nb, la, na, take_b);
		{
			/* the lines the attack added, as a list: each takes out
			 * the last line of C equal to it not taken yet (C read
			 * from the end, matched against that multiset) */
			struct line *adds = malloc((na ? na : 1) * sizeof(*adds));
			bool *keep_c = malloc(nc ? nc : 1);
			size_t nadds = 0;
			if (!adds || !keep_c) {
				free(adds);
				free(keep_c);
				goto nomem_lines;
			}
			for (size_t i = 0; i < na; i++)
				if (take_a[i])
					adds[nadds++] = la[i];
			/* reversed C: its first matches are C's last lines */
			{
				struct line *rc = malloc((nc ? nc : 1) * sizeof(*rc));
				if (!rc) {
					free(adds);
					free(keep_c);
					goto nomem_lines;
				}
				for (size_t j = 0; j < nc; j++)
					rc[j] = lc[nc - 1 - j];
				/* keep_c[j]: rc[j] not among the added (still in
				 * the multiset): extra_lines marks the ones that
				 * are NOT matched; matched ones are dropped */
				extra_lines(rc, nc, adds, nadds, keep_c);
				for (size_t j = 0; j < nc; j++)
					if (!keep_c[j]) {
						drop[nc - 1 - j] = true;
						added++;
					}
				free(rc);
			}
			free(adds);
			free(keep_c);
		}
		if (!added) {
			if (!(s = add_step(p, HN_RS_LEAVE, f->path)))
				goto nomem_lines;
			set_why(s, "modified by the attack; none of the lines it added is there now");
		} else {
			hn_strbuf_init(&out);
			for (size_t j = 0; j < nc; j++) {
				if (drop[j])
					continue;
				hn_strbuf_add(&out, lc[j].p, lc[j].n);
				/* a newline where the file had one */
				if (lc[j].p + lc[j].n < cur + clen)
					hn_strbuf_addc(&out, '\n');
			}
			if (out.oom || !(s = add_step(p, HN_RS_EDIT, f->path))) {
				hn_strbuf_release(&out);
				goto nomem_lines;
			}
			s->content = (unsigned char *)out.buf;
			s->len = out.len;
			if (!s->content)
				s->content = calloc(1, 1);
			s->removed = (int)added;
			s->kept = (int)(nc - added);
			s->exists = true;
			hn_sha256_hex(cur, clen, s->sha256);
			set_why(s, "the %zu line%s the attack added taken out; the %zu other "
				"line%s kept%s", added, added == 1 ? "" : "s", nc - added,
				nc - added == 1 ? "" : "s",
				gone ? " (it also removed lines: not put back, the file changed "
				       "since)" : "");
		}
		free(la); free(lb); free(lc); free(take_a); free(take_b); free(drop);
		goto out;
nomem_lines:
		free(la); free(lb); free(lc); free(take_a); free(take_b); free(drop);
		goto nomem;
	}
out:
	free(cur);
	free(k.bcontent);
	free(k.acontent);
	return 0;
nomem:
	free(cur);
	free(k.bcontent);
	free(k.acontent);
	return -ENOMEM;
}

static int on_any(const struct hn_event *ev, void *arg)
{
	(void)ev;
	*(bool *)arg = true;
	return 1;
}

static int on_old_version(const struct hn_file_version *v, void *arg)
{
	uint64_t *before = arg;

	if (!v->deleted && v->time < *before) {
		*before = 0;   /* found */
		return 1;
	}
	return 0;
}

/* Was path there before the attack began?  A version from before, or
 * any event on it before: yes.  Else a persistence file: no (the agent's
 * baseline keeps a version of every one there was); else a system
 * directory's file (dpkg's, say): taken as yes. */
static bool existed_before(struct hn_respond *r, const struct hn_story *st, const char *path)
{
	static const char *const sys[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/",
					   "/lib32/", "/etc/", "/boot/", "/opt/", NULL };
	uint64_t began = st->root.start;
	bool seen = false;

	if (r->store && began) {
		uint64_t b = began;
		struct hn_query q = { .path = path, .until = began, .limit = 1, .bare = true };

		hn_store_file_versions(r->store, path, on_old_version, &b);
		if (b == 0)
			return true;
		hn_store_query(r->store, &q, on_any, &seen);
		if (seen)
			return true;
	}
	if (hn_inv_persist_kind(path))
		return false;
	for (int i = 0; sys[i]; i++)
		if (!strncmp(path, sys[i], strlen(sys[i])))
			return true;
	return false;
}

/* ---- the plan ---- */

static bool alive_entity(const uint8_t boot[16], uint64_t entity, uint32_t pid)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return false;
	p += 2;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p && hn_entity_matches_ticks(boot, entity, pid, strtoull(p, NULL, 10));
}

int hn_remediate_plan(struct hn_respond *r, const struct hn_story *st, struct hn_rplan *out)
{
	struct hn_rplan p = { .root = st->root.entity };
	struct pfiles f = { 0 };
	uint8_t boot[16];
	bool have_boot = hn_boot_id(boot) == 0, systemd = false;
	int rc = -ENOMEM;

	/* processes still running */
	for (size_t i = 0; have_boot && i < st->n_procs; i++) {
		const struct hn_inv_proc *pr = &st->procs[i];
		struct hn_rstep *s;

		if (!pr->pid || !alive_entity(boot, pr->entity, pr->pid))
			continue;
		if (!(s = add_step(&p, HN_RS_KILL, NULL)))
			goto fail;
		s->entity = pr->entity;
		s->pid = pr->pid;
		if (pr->exe && !(s->exe = strdup(pr->exe)))
			goto fail;
		set_why(s, "a process of the attack, still running");
	}
	/* files: what the attack did to each path */
	for (size_t i = 0; i < st->n_files; i++) {
		const struct hn_inv_file *x = &st->files[i];
		struct pfile *pf = pf_get(&f, x->path);

		if (!pf)
			goto fail;
		switch (x->action) {
		case HN_INV_CREATED:
			pf->created = true;
			pf_time(pf, x->time);
			break;
		case HN_INV_MODIFIED:
			pf->modified = true;
			pf_time(pf, x->time);
			break;
		case HN_INV_DELETED:
			pf->deleted = true;
			pf_time(pf, x->time);
			break;
		case HN_INV_CHMOD:
			pf->chmod = true;
			pf_time(pf, x->time);
			break;
		case HN_INV_READ:
			pf->read = true;
			break;
		case HN_INV_RENAMED:
			if (x->path2) {
				/* what it was is at its new name now */
				struct pfile *to = pf_get(&f, x->path2);
				pf = pf_get(&f, x->path);   /* f->v may have moved */
				if (!to || !pf)
					goto fail;
				to->renamed_onto = true;   /* created, or replaced: see below */
				to->exec = to->exec || pf->exec;
				pf_time(to, x->time);
				pf->renamed_away = true;
			}
			break;
		default:
			break;
		}
		if (x->exec)
			pf->exec = true;
	}
	for (size_t i = 0; i < f.n; i++) {
		struct pfile *pf = &f.v[i];

		if (hn_inv_persist_kind(pf->path) && !strcmp(hn_inv_persist_kind(pf->path), "systemd"))
			systemd = systemd || pf->created || pf->modified || pf->deleted;
		/* created: by the attack at that path itself (an O_CREAT there, so
		 * nothing was there), or put there by a rename of its own */
		if (pf->renamed_onto && !pf->created && existed_before(r, st, pf->path)) {
			/* a file that was there before the attack was replaced
			 * (sed -i, an editor, dpkg): put back from its versions,
			 * never quarantined whole */
			pf->modified = true;
			rc = plan_changed(r, st, &p, pf);
		} else if (pf->created || pf->renamed_onto) {
			rc = plan_created(r, st, &p, pf);
		} else if (pf->modified || pf->deleted) {
			rc = plan_changed(r, st, &p, pf);
		} else if (pf->renamed_away) {
			rc = 0;   /* its content is handled at its new name */
		} else if (pf->chmod) {
			struct hn_rstep *s = add_step(&p, HN_RS_LEAVE, pf->path);
			rc = s ? 0 : -ENOMEM;
			if (s)
				set_why(s, "its mode was changed by the attack: check it by hand");
		} else if (pf->read && hn_inv_persist_kind(pf->path)) {
			struct hn_rstep *s = add_step(&p, HN_RS_LEAVE, pf->path);
			rc = s ? 0 : -ENOMEM;
			if (s)
				set_why(s, "read by the attack: what it holds may be known");
		} else {
			rc = 0;
		}
		if (rc < 0)
			goto fail;
	}
	if (systemd) {
		struct hn_rstep *s = add_step(&p, HN_RS_RELOAD, NULL);
		if (!s)
			goto fail;
		set_why(s, "systemd units changed: systemctl daemon-reload");
	}
	/* the rescan: where the attack wrote, with the latest patterns */
	for (size_t i = 0; i < f.n; i++)
		if ((f.v[i].created || f.v[i].modified) && add_dir(&p, f.v[i].path) < 0)
			goto fail;
	if (p.ndirs) {
		struct hn_rstep *s = add_step(&p, HN_RS_RESCAN, p.dirs[0]);
		if (!s)
			goto fail;
		set_why(s, "YARA rules and IOC hashes over the %zu director%s the attack wrote in",
			p.ndirs, p.ndirs == 1 ? "y" : "ies");
	}
	free(f.v);
	*out = p;
	return 0;
fail:
	free(f.v);
	hn_rplan_release(&p);
	return hn_respond_fail(r, rc < 0 ? rc : -ENOMEM, "cannot plan: %s",
			       strerror(-(rc < 0 ? rc : -ENOMEM)));
}

/* ---- running it ---- */

/* Write content as path (a temporary file beside it, renamed over it):
 * owner and mode from mode/uid/gid; a symbolic link when mode says so. */
static int write_as(struct hn_respond *r, const char *path, const unsigned char *content,
		    size_t len, uint32_t mode, uint32_t uid, uint32_t gid)
{
	char tmp[PATH_MAX];
	int fd, n;
	size_t off = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.hinomi-remediate", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return hn_respond_fail(r, -ENAMETOOLONG, "%s: path too long", path);
	unlink(tmp);
	if (S_ISLNK(mode)) {
		char target[PATH_MAX];
		if (len >= sizeof(target))
			return hn_respond_fail(r, -ENAMETOOLONG, "%s: link too long", path);
		memcpy(target, content, len);
		target[len] = '\0';
		if (symlink(target, tmp) < 0 || lchown(tmp, uid, gid) < 0)
			goto fail;
	} else {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			goto fail;
		while (off < len) {
			ssize_t w = write(fd, content + off, len - off);
			if (w < 0) {
				close(fd);
				goto fail;
			}
			off += (size_t)w;
		}
		if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode & 07777) < 0 || fsync(fd) < 0) {
			close(fd);
			goto fail;
		}
		close(fd);
	}
	if (rename(tmp, path) < 0)
		goto fail;
	return 0;
fail:
	n = errno;
	unlink(tmp);
	return hn_respond_fail(r, -n, "cannot write %s: %s", path, strerror(n));
}

static char *detail_of(const struct hn_rstep *s, const char *vault_id, const char *written_sha)
{
	struct hn_strbuf sb;
	struct hn_json j;
	char es[20];

	hn_strbuf_init(&sb);
	hn_json_begin(&j, &sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "step", hn_rstep_kind_name(s->kind));
	if (s->path)
		hn_json_kv_str(&j, "path", s->path);
	if (s->entity)
		hn_json_kv_str(&j, "entity_id", hn_entity_str(s->entity, es, sizeof(es)));
	if (s->pid)
		hn_json_kv_u64(&j, "pid", s->pid);
	if (s->exe)
		hn_json_kv_str(&j, "executable", s->exe);
	if (s->kind == HN_RS_BLOCK)
		hn_json_kv_str(&j, "sha256", s->sha256);
	if (vault_id)
		hn_json_kv_str(&j, "vault_id", vault_id);
	if (written_sha)
		hn_json_kv_str(&j, "written_sha256", written_sha);
	if (s->kind == HN_RS_RESTORE)
		hn_json_kv_bool(&j, "existed", s->exists);
	if (s->kind == HN_RS_EDIT) {
		hn_json_kv_u64(&j, "lines_removed", (uint64_t)s->removed);
		hn_json_kv_u64(&j, "lines_kept", (uint64_t)s->kept);
	}
	hn_json_kv_str(&j, "why", s->why);
	hn_json_obj_close(&j);
	if (hn_json_end(&j) < 0) {
		hn_strbuf_release(&sb);
		return NULL;
	}
	return sb.buf;
}

static void result(struct hn_rstep *s, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void result(struct hn_rstep *s, const char *status, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->status = status;
	free(s->result);
	s->result = strdup(buf);
}

/* Rewrite a file the plan read: it must still be as planned. */
static int run_rewrite(struct hn_respond *r, struct hn_rstep *s, char **vault_id,
		       char written[65])
{
	unsigned char *cur = NULL;
	struct hn_qitem *q = NULL;
	size_t clen = 0;
	struct stat sb;
	char sha[65];
	int rc;

	if (s->exists) {
		rc = read_now(s->path, &cur, &clen, &sb);
		if (rc < 0)
			return hn_respond_fail(r, rc, "%s: %s", s->path, strerror(-rc));
		hn_sha256_hex(cur, clen, sha);
		free(cur);
		if (strcmp(sha, s->sha256) != 0)
			return hn_respond_fail(r, -ESTALE, "%s changed since the plan; left "
					       "as it is", s->path);
		/* as it is now, for an undo */
		rc = hn_vault_copy(r, s->path, s->action, &q);
		if (rc < 0)
			return rc;
		*vault_id = strdup(q->id);
		s->mode = sb.st_mode;
		if (s->kind == HN_RS_EDIT) {
			s->uid = sb.st_uid;
			s->gid = sb.st_gid;
		}
		hn_qitem_free(q);
	} else if (lstat(s->path, &sb) == 0) {
		return hn_respond_fail(r, -EEXIST, "%s is there again; left as it is", s->path);
	}
	rc = write_as(r, s->path, s->content ? s->content : (const unsigned char *)"", s->len,
		      s->mode, s->uid, s->gid);
	if (rc < 0)
		return rc;
	hn_sha256_hex(s->content ? s->content : (const unsigned char *)"", s->len, written);
	return 0;
}

struct rescan {
	struct hn_respond *r;
	unsigned hits;
	struct hn_strbuf first;          /* the first hits, for the result */
};

static void on_rescan_hit(const struct hn_scan_hit *h, void *arg)
{
	struct rescan *x = arg;
	struct hn_scan_alert sa;

	if (hn_scan_alert_make(h, (uint64_t)time(NULL) * 1000000000ULL, &sa) < 0)
		return;
	if (x->r->store)
		hn_store_alert_put(x->r->store, &sa.a);
	if (x->hits < 3)
		hn_strbuf_addf(&x->first, "%s%s %s", x->hits ? "; " : "", h->path ? h->path : "?",
			       sa.a.rule_id ? sa.a.rule_id : "?");
	x->hits++;
	hn_scan_alert_release(&sa);
}

static int run_rescan(struct hn_respond *r, struct hn_rplan *p, struct hn_rstep *s)
{
	struct rescan x = { .r = r };
	struct hn_scan_stats st = { 0 };
	struct hn_scan_opts o = {
		.rules = p->rules,
		.ioc = p->ioc,
		.hit = on_rescan_hit,
		.arg = &x,
	};
	const char **paths;
	size_t n = 0;

	if (!p->rules && !p->ioc) {
		result(s, "skipped", "no YARA rules and no IOC lists to scan with");
		return 0;
	}
	paths = calloc(p->ndirs ? p->ndirs : 1, sizeof(*paths));
	if (!paths)
		return hn_respond_fail(r, -ENOMEM, "no memory");
	for (size_t i = 0; i < p->ndirs; i++)
		if (access(p->dirs[i], F_OK) == 0)
			paths[n++] = p->dirs[i];
	hn_strbuf_init(&x.first);
	hn_scan_files(&o, paths, (int)n, &st);   /* errors: counted in st */
	free(paths);
	p->rescan_hits = x.hits;
	if (x.hits)
		result(s, "done", "%u hit%s in %zu director%s (%llu files): %s%s", x.hits,
		       x.hits == 1 ? "" : "s", n, n == 1 ? "y" : "ies",
		       (unsigned long long)st.files, x.first.buf ? x.first.buf : "",
		       x.hits > 3 ? "; ..." : "");
	else
		result(s, "done", "clean: %llu files in %zu director%s, %llu could not be read",
		       (unsigned long long)st.files, n, n == 1 ? "y" : "ies",
		       (unsigned long long)st.errors);
	hn_strbuf_release(&x.first);
	return 0;
}

static int run_step(struct hn_respond *r, struct hn_rplan *p, struct hn_rstep *s)
{
	char *vault_id = NULL, written[65] = "", es[20];
	struct hn_kill_result k = { 0 };
	struct hn_qitem *q = NULL;
	int rc = 0, killed = 0;

	switch (s->kind) {
	case HN_RS_KILL:
		rc = hn_kill(r, s->entity, 0, true, &k);
		for (int i = 0; i < k.n; i++)
			killed += k.procs[i].killed;
		hn_kill_result_release(&k);
		if (rc == -ESRCH) {
			result(s, "skipped", "pid %u (%s) had ended", s->pid,
			       hn_entity_str(s->entity, es, sizeof(es)));
			rc = 0;
		} else if (rc == 0) {
			result(s, "done", "pid %u and its tree killed (%d process%s)", s->pid,
			       killed, killed == 1 ? "" : "es");
		}
		break;
	case HN_RS_QUARANTINE:
		rc = hn_quarantine(r, s->path, s->action, &q);
		if (rc == 0) {
			vault_id = strdup(q->id);
			result(s, "done", "%s moved to the vault as %s", s->path, q->id);
		} else if (rc == -ENOENT) {
			result(s, "skipped", "%s was gone", s->path);
			rc = 0;
		}
		break;
	case HN_RS_BLOCK:
		rc = hn_blocklist_add(r, s->sha256, s->action, s->path);
		if (rc == -EEXIST) {
			result(s, "skipped", "%s was blocked already", s->sha256);
			rc = 0;
		} else if (rc == 0) {
			result(s, "done", "%s blocked", s->sha256);
		}
		break;
	case HN_RS_RESTORE:
	case HN_RS_EDIT:
		rc = run_rewrite(r, s, &vault_id, written);
		if (rc == 0 && s->kind == HN_RS_EDIT)
			result(s, "done", "%d line%s taken out of %s, %d kept", s->removed,
			       s->removed == 1 ? "" : "s", s->path, s->kept);
		else if (rc == 0)
			result(s, "done", "%s put back as it was before the attack", s->path);
		break;
	case HN_RS_RELOAD:
		if (access("/run/systemd/system", F_OK) != 0) {
			result(s, "skipped", "systemd is not running");
		} else {
			int st = system("systemctl daemon-reload >/dev/null 2>&1");
			if (st == 0)
				result(s, "done", "systemctl daemon-reload");
			else
				rc = hn_respond_fail(r, -EIO, "systemctl daemon-reload failed");
		}
		break;
	case HN_RS_LEAVE:
		result(s, "skipped", "%s", s->why ? s->why : "");
		break;
	case HN_RS_RESCAN:
		rc = run_rescan(r, p, s);
		break;
	}
	if (rc < 0)
		result(s, "failed", "%s", r->err);
	{
		char *d = detail_of(s, vault_id, written[0] ? written : NULL);
		hn_act_end(r, s->action, s->status, s->result, d);
		free(d);
	}
	hn_qitem_free(q);
	free(vault_id);
	return rc;
}

int hn_remediate_run(struct hn_respond *r, struct hn_rplan *p, int64_t parent)
{
	int failed = 0;

	/* the processes first (nothing of the attack runs while its files
	 * go), then files, then hashes, then reloads: the plan's order */
	for (size_t i = 0; i < p->n; i++) {
		struct hn_rstep *s = &p->steps[i];
		char target[64];
		const char *t = s->path;

		if (s->kind == HN_RS_KILL) {
			hn_entity_str(s->entity, target, sizeof(target));
			t = target;
		} else if (s->kind == HN_RS_BLOCK) {
			t = s->sha256;
		}
		if (hn_act_begin(r, hn_rstep_kind_name(s->kind), t, parent, &s->action) < 0)
			return -EIO;
		if (run_step(r, p, s) < 0)
			failed++;
	}
	return failed;
}

/* ---- undo ---- */

static const char *jget(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A remediation's step ids, collected before they are undone. */
struct undo_ctx {
	int64_t *ids;
	size_t n, cap;
};

static int collect(const struct hn_action *a, void *arg)
{
	struct undo_ctx *u = arg;

	if (u->n == u->cap) {
		size_t nc = u->cap ? u->cap * 2 : 16;
		int64_t *nv = realloc(u->ids, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		u->ids = nv;
		u->cap = nc;
	}
	u->ids[u->n++] = a->id;
	return 0;
}

struct one {
	bool found;
	int64_t id;
	char kind[32], status[16], target[512];
	char *detail;
};

static int get_one(const struct hn_action *a, void *arg)
{
	struct one *o = arg;

	o->found = true;
	o->id = a->id;
	snprintf(o->kind, sizeof(o->kind), "%s", a->kind ? a->kind : "");
	snprintf(o->status, sizeof(o->status), "%s", a->status ? a->status : "");
	snprintf(o->target, sizeof(o->target), "%s", a->target ? a->target : "");
	o->detail = a->detail ? strdup(a->detail) : NULL;
	return 1;
}

/* Undo one recorded action (not a remediation).  0 undone, 1 nothing to
 * undo (said in r->err), -errno failed. */
static int undo_one(struct hn_respond *r, const struct one *o)
{
	json_t *d = o->detail ? json_loads(o->detail, 0, NULL) : NULL;
	const char *kind = o->kind, *vid = d ? jget(d, "vault_id") : NULL;
	const char *sha = d ? jget(d, "sha256") : NULL;
	int rc;

	if (strcmp(o->status, "done") != 0) {
		rc = hn_respond_fail(r, 1, "#%lld %s: %s, nothing to undo", (long long)o->id,
				     kind, o->status);
		goto out;
	}
	if (!strcmp(kind, "quarantine")) {
		const char *id = vid ? vid : d ? jget(d, "id") : NULL;
		rc = id ? hn_restore(r, id, NULL) : hn_respond_fail(r, -EINVAL, "#%lld: no "
								   "vault item recorded", (long long)o->id);
	} else if (!strcmp(kind, "block")) {
		rc = sha ? hn_blocklist_remove(r, sha) : hn_respond_fail(r, -EINVAL, "#%lld: "
									 "no hash recorded", (long long)o->id);
		if (rc == -ENOENT)
			rc = hn_respond_fail(r, 1, "%s is not blocked any more", sha);
	} else if (!strcmp(kind, "unblock")) {
		rc = sha ? hn_blocklist_add(r, sha, o->id, "undo of an unblock") :
			   hn_respond_fail(r, -EINVAL, "#%lld: no hash recorded", (long long)o->id);
	} else if (!strcmp(kind, "restore") || !strcmp(kind, "edit")) {
		const char *w = d ? jget(d, "written_sha256") : NULL;
		json_t *ex = d ? json_object_get(d, "existed") : NULL;
		const char *path = d ? jget(d, "path") : NULL;
		if (!strcmp(kind, "restore") && d && !jget(d, "step")) {
			/* `hinomi restore ID` of the vault: back into the vault,
			 * from where it was put and only if it is still that */
			const char *to = jget(d, "restored_to") ? jget(d, "restored_to") : path;
			const char *want = jget(d, "sha256");
			char cur[65] = "";
			unsigned char *b = NULL;
			size_t len = 0;
			struct stat sb;
			if (to && read_now(to, &b, &len, &sb) == 0 && S_ISREG(sb.st_mode))
				hn_sha256_hex(b, len, cur);
			free(b);
			if (!to)
				rc = hn_respond_fail(r, -EINVAL, "#%lld: no path recorded",
						     (long long)o->id);
			else if (want && strcmp(cur, want) != 0)
				rc = hn_respond_fail(r, -ESTALE, "%s is not what was restored there "
						     "(changed or replaced since); left as it is", to);
			else
				rc = hn_quarantine(r, to, o->id, NULL);
		} else if (vid && w) {
			rc = hn_restore_over(r, vid, w);
		} else if (ex && json_is_false(ex) && path && w) {
			/* the remediation made it again: it goes again, if unchanged */
			char cur[65] = "";
			unsigned char *b = NULL;
			size_t len = 0;
			struct stat sb;
			if (read_now(path, &b, &len, &sb) == 0)
				hn_sha256_hex(b, len, cur);
			free(b);
			rc = strcmp(cur, w) == 0 ? hn_quarantine(r, path, o->id, NULL) :
			     hn_respond_fail(r, -ESTALE, "%s changed since; left as it is", path);
		} else {
			rc = hn_respond_fail(r, -EINVAL, "#%lld: nothing recorded to undo it with",
					     (long long)o->id);
		}
	} else if (!strcmp(kind, "isolate")) {
		struct hn_isolation cur;
		memset(&cur, 0, sizeof(cur));
		if (hn_isolation_load(r, &cur) < 0) {
			rc = hn_respond_fail(r, 1, "the host is not isolated any more");
		} else if (cur.action != o->id) {
			/* a later isolation (or the agent's restore) is in force:
			 * undoing this one must not lift that */
			rc = hn_respond_fail(r, 1, "#%lld is not the isolation in force (#%lld is)",
					     (long long)o->id, (long long)cur.action);
		} else {
			char *deleted = NULL;
			bool had_table = false, had_state = false;
			rc = hn_unisolate(r, &deleted, &had_table, &had_state);
			free(deleted);
		}
	} else if (!strcmp(kind, "kill") || !strcmp(kind, "kill-tree")) {
		rc = hn_respond_fail(r, 1, "#%lld: a killed process cannot be brought back",
				     (long long)o->id);
	} else {
		rc = hn_respond_fail(r, 1, "#%lld: %s has no undo", (long long)o->id, kind);
	}
out:
	json_decref(d);
	return rc;
}

/* Undo o as an action of its own under parent; counted in res.  What
 * undo_one returned. */
static int undo_step(struct hn_respond *r, const struct one *o, int64_t parent,
		     struct hn_undo_result *res)
{
	int64_t step;
	int rc;

	hn_act_begin(r, "undo", o->target, parent, &step);
	rc = undo_one(r, o);
	if (rc == 0) {
		res->undone++;
		hn_store_action_set(r->store, o->id, "undone", NULL, NULL);
		hn_act_end(r, step, "done", "undone", NULL);
		return 0;
	}
	if (rc > 0)
		res->cannot++;
	else
		res->failed++;
	snprintf(res->last_err, sizeof(res->last_err), "%s", r->err);
	hn_act_end(r, step, rc > 0 ? "skipped" : "failed", r->err, NULL);
	return rc;
}

int hn_undo(struct hn_respond *r, int64_t id, int64_t parent, struct hn_undo_result *res)
{
	struct one top = { 0 };
	struct undo_ctx u = { 0 };
	int rc;

	memset(res, 0, sizeof(*res));
	if (!r->store)
		return hn_respond_fail(r, -EINVAL, "no store");
	rc = hn_store_actions(r->store, id, 0, get_one, &top);
	if (rc < 0 && rc != 1)
		return hn_respond_fail(r, rc, "%s", hn_store_errmsg(r->store));
	if (!top.found)
		return hn_respond_fail(r, -ENOENT, "no action %lld", (long long)id);
	if (!strcmp(top.status, "undone")) {
		free(top.detail);
		return hn_respond_fail(r, -EALREADY, "#%lld was undone already", (long long)id);
	}
	if (strcmp(top.kind, "remediate") != 0) {
		rc = undo_step(r, &top, parent, res);
		free(top.detail);
		return rc < 0 ? rc : 0;
	}
	free(top.detail);
	/* a remediation: its steps, last first */
	rc = hn_store_actions(r->store, 0, id, collect, &u);
	if (rc < 0) {
		free(u.ids);
		return hn_respond_fail(r, rc, "%s", hn_store_errmsg(r->store));
	}
	for (size_t i = u.n; i-- > 0;) {
		struct one o = { 0 };
		if (hn_store_actions(r->store, u.ids[i], 0, get_one, &o) < 0 || !o.found)
			continue;
		if (!strcmp(o.status, "undone") || !strcmp(o.status, "skipped") ||
		    !strcmp(o.kind, "leave") || !strcmp(o.kind, "reload") ||
		    !strcmp(o.kind, "rescan")) {
			free(o.detail);
			continue;
		}
		undo_step(r, &o, parent, res);
		free(o.detail);
	}
	free(u.ids);
	if (!res->failed)
		hn_store_action_set(r->store, id, "undone", NULL, NULL);
	return res->failed ? -EIO : 0;
}
