/*
 * pkg.c - the Debian package database, read once: every path a package
 * ships (var/lib/dpkg/info/ *.list) into a hash map path -> package, the
 * conffiles' MD5s (var/lib/dpkg/status), and each package's md5sums,
 * read when a file of it is first asked about.
 *
 * The database is input like any other file (bounded reads, lines of any
 * shape): a malformed line is a path nobody asks about, never a crash.
 * Paths are kept in the buffers read (one per file); the maps point into
 * them.  Merged /usr: dpkg may name /bin/x, /lib/x where the file lives
 * at /usr/bin/x, /usr/lib/x (or the reverse); both are tried.
 */
#include "check/check_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "enrich/hasher.h"

#define PKG_LIST_MAX   (64u << 20)
#define PKG_STATUS_MAX (256u << 20)
#define PKG_FILES_MAX  20000
#define PKG_PATHS_MAX  8000000

/* A string map (open addressing, keys point into buffers). */
struct smap {
	const char **k;
	uintptr_t *v;
	size_t cap, n;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static long smap_find(const struct smap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return -1;
	for (i = str_hash(key) & (m->cap - 1); m->k[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->k[i], key))
			return (long)i;
	return -1;
}

/* Add key (first value kept).  0 or -ENOMEM. */
static int smap_put(struct smap *m, const char *key, uintptr_t v)
{
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 1024;
		const char **nk = calloc(nc, sizeof(*nk));
		uintptr_t *nv = calloc(nc, sizeof(*nv));
		if (!nk || !nv) {
			free(nk);
			free(nv);
			return -ENOMEM;
		}
		for (size_t j = 0; j < m->cap; j++) {
			if (!m->k[j])
				continue;
			for (i = str_hash(m->k[j]) & (nc - 1); nk[i]; i = (i + 1) & (nc - 1))
				;
			nk[i] = m->k[j];
			nv[i] = m->v[j];
		}
		free(m->k);
		free(m->v);
		m->k = nk;
		m->v = nv;
		m->cap = nc;
	}
	for (i = str_hash(key) & (m->cap - 1); m->k[i]; i = (i + 1) & (m->cap - 1))
		if (!strcmp(m->k[i], key))
			return 0;
	m->k[i] = key;
	m->v[i] = v;
	m->n++;
	return 0;
}

static void smap_release(struct smap *m)
{
	free(m->k);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

struct md5sums {
	char *buf;
	struct smap map;         /* "usr/lib/x" (no leading '/') -> md5 */
};

struct chk_pkgdb {
	char root[CHK_DIR];
	char **bufs;
	size_t nbufs, cap_bufs;
	char **pkgs;             /* "name" or "name:arch" */
	size_t npkgs, cap_pkgs;
	struct md5sums **sums;   /* per package; NULL until read */
	struct smap paths;       /* path -> package index */
	struct smap conf;        /* conffile path -> md5 */
	char *status;
};

static struct md5sums none_read;   /* "read, there is none" */

static int keep_buf(struct chk_pkgdb *db, char *b)
{
	if (db->nbufs == db->cap_bufs) {
		size_t nc = db->cap_bufs ? db->cap_bufs * 2 : 256;
		void *p = realloc(db->bufs, nc * sizeof(*db->bufs));
		if (!p)
			return -ENOMEM;
		db->bufs = p;
		db->cap_bufs = nc;
	}
	db->bufs[db->nbufs++] = b;
	return 0;
}

static int add_pkg(struct chk_pkgdb *db, const char *name, size_t n)
{
	char *s;

	if (db->npkgs == db->cap_pkgs) {
		size_t nc = db->cap_pkgs ? db->cap_pkgs * 2 : 256;
		void *p = realloc(db->pkgs, nc * sizeof(*db->pkgs));
		if (!p)
			return -ENOMEM;
		db->pkgs = p;
		db->cap_pkgs = nc;
	}
	s = strndup(name, n);
	if (!s)
		return -ENOMEM;
	db->pkgs[db->npkgs++] = s;
	return 0;
}

/* One .list file: its paths into the map. */
static int read_list(struct chk_pkgdb *db, const char *path, uint32_t pkg)
{
	char *buf, *p;
	size_t len;
	int r = chk_read(path, PKG_LIST_MAX, 0, &buf, &len, NULL);

	if (r < 0)
		return r == -ENOMEM ? r : 0;   /* unreadable: that package unknown */
	if (keep_buf(db, buf) < 0) {
		free(buf);
		return -ENOMEM;
	}
	for (p = buf; p < buf + len;) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		char *line = p;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : buf + len;
		if (line[0] != '/' || !strcmp(line, "/.") || db->paths.n >= PKG_PATHS_MAX)
			continue;
		if (smap_put(&db->paths, line, pkg) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool is_md5(const char *s, size_t n)
{
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

/* The conffiles of var/lib/dpkg/status: " /etc/x MD5 [obsolete]" lines
 * after "Conffiles:". */
static int read_status(struct chk_pkgdb *db)
{
	char path[CHK_PATH], *p, *end;
	size_t len;
	bool in = false;
	int r;

	snprintf(path, sizeof(path), "%s/var/lib/dpkg/status", db->root);
	r = chk_read(path, PKG_STATUS_MAX, 0, &db->status, &len, NULL);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	end = db->status + len;
	for (p = db->status; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *line = p, *sp, *md5;
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : end;
		if (line[0] != ' ') {
			in = !strcmp(line, "Conffiles:");
			continue;
		}
		if (!in || line[1] != '/')
			continue;
		sp = strchr(line + 1, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		md5 = sp + 1;
		sp = strchr(md5, ' ');
		if (sp)
			*sp = '\0';
		if (!is_md5(md5, strlen(md5)))
			continue;
		if (smap_put(&db->conf, line + 1, (uintptr_t)md5) < 0)
			return -ENOMEM;
	}
	return 0;
}

struct chk_pkgdb *chk_pkg_open(const char *root, bool *oom, unsigned *paths)
{
	struct chk_pkgdb *db = calloc(1, sizeof(*db));
	char dir[CHK_PATH], path[CHK_PATH + 512];
	struct dirent **names = NULL;
	int n, files = 0;

	if (!db) {
		*oom = true;
		return NULL;
	}
	snprintf(db->root, sizeof(db->root), "%s", root);
	snprintf(dir, sizeof(dir), "%s/var/lib/dpkg/info", root);
	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		free(db);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		size_t k = strlen(nm);
		if (!*oom && k > 5 && !strcmp(nm + k - 5, ".list") && files < PKG_FILES_MAX) {
			files++;
			snprintf(path, sizeof(path), "%s/%s", dir, nm);
			if (add_pkg(db, nm, k - 5) < 0 ||
			    read_list(db, path, (uint32_t)(db->npkgs - 1)) < 0)
				*oom = true;
		}
		free(names[i]);
	}
	free(names);
	if (!*oom && read_status(db) < 0)
		*oom = true;
	if (!*oom && db->npkgs) {
		db->sums = calloc(db->npkgs, sizeof(*db->sums));
		if (!db->sums)
			*oom = true;
	}
	if (*oom || !db->npkgs) {
		chk_pkg_free(db);
		return NULL;
	}
	*paths = (unsigned)db->paths.n;
	return db;
}

void chk_pkg_free(struct chk_pkgdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->nbufs; i++)
		free(db->bufs[i]);
	free(db->bufs);
	for (size_t i = 0; i < db->npkgs; i++) {
		if (db->sums && db->sums[i] && db->sums[i] != &none_read) {
			free(db->sums[i]->buf);
			smap_release(&db->sums[i]->map);
			free(db->sums[i]);
		}
		free(db->pkgs[i]);
	}
	free(db->sums);
	free(db->pkgs);
	smap_release(&db->paths);
	smap_release(&db->conf);
	free(db->status);
	free(db);
}

const char *chk_pkg_owner(const struct chk_pkgdb *db, const char *path, const char **dpath)
{
	static const char *const merged[] = { "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/",
					      "/libx32/" };
	char alt[CHK_PATH];
	long i;

	if (!db || !path)
		return NULL;
	i = smap_find(&db->paths, path);
	if (i < 0) {
		alt[0] = '\0';
		for (size_t k = 0; k < sizeof(merged) / sizeof(merged[0]); k++) {
			if (!strncmp(path, merged[k], strlen(merged[k])))
				snprintf(alt, sizeof(alt), "/usr%s", path);
			else if (!strncmp(path, "/usr", 4) &&
				 !strncmp(path + 4, merged[k], strlen(merged[k])))
				snprintf(alt, sizeof(alt), "%s", path + 4);
		}
		if (alt[0])
			i = smap_find(&db->paths, alt);
	}
	if (i < 0)
		return NULL;
	if (dpath)
		*dpath = db->paths.k[i];
	return db->pkgs[db->paths.v[i]];
}

/* The md5sums of package index p, read once. */
static struct md5sums *sums_of(struct chk_pkgdb *db, size_t p)
{
	char path[CHK_PATH], *q, *end;
	struct md5sums *s;
	size_t len;

	if (db->sums[p])
		return db->sums[p] == &none_read ? NULL : db->sums[p];
	db->sums[p] = &none_read;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(path, sizeof(path), "%s/var/lib/dpkg/info/%s.md5sums", db->root, db->pkgs[p]);
	if (chk_read(path, PKG_LIST_MAX, 0, &s->buf, &len, NULL) < 0) {
		free(s);
		return NULL;
	}
	end = s->buf + len;
	for (q = s->buf; q < end;) {
		char *nl = memchr(q, '\n', (size_t)(end - q)), *line = q;
		if (nl)
			*nl = '\0';
		q = nl ? nl + 1 : end;
		/* "MD5  path" */
		if (strlen(line) < 35 || !is_md5(line, 32) || line[32] != ' ')
			continue;
		line[32] = '\0';
		if (smap_put(&s->map, line + 34, (uintptr_t)line) < 0)
			break;
	}
	db->sums[p] = s;
	return s;
}

enum hn_check_tri chk_pkg_modified(struct chk_pkgdb *db, const char *pkg, const char *dpath,
				   const char *rpath)
{
	const char *want = NULL;
	struct hn_digests d;
	long i;

	if (!db || !pkg || !dpath)
		return HN_CHECK_UNKNOWN;
	i = smap_find(&db->conf, dpath);
	if (i >= 0) {
		want = (const char *)db->conf.v[i];
	} else {
		for (size_t p = 0; p < db->npkgs; p++) {
			struct md5sums *s;
			if (db->pkgs[p] != pkg)
				continue;
			s = sums_of(db, p);
			if (s && (i = smap_find(&s->map, dpath + 1)) >= 0)
				want = (const char *)s->map.v[i];
			break;
		}
	}
	if (!want || hn_digest_file(rpath, 64u << 20, HN_DIGEST_MD5, &d) < 0)
		return HN_CHECK_UNKNOWN;
	return strcasecmp(want, d.md5) ? HN_CHECK_YES : HN_CHECK_NO;
}
