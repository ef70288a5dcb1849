/*
 * vault.c - quarantine: a file moved into a root-only vault with what is
 * needed to put it back exactly, and the putting back (respond.h).
 *
 * Layout: $state/quarantine/ (0700, owned by root) holds one directory
 * per item, q-<16 hex> (0700), with
 *   data       the content, AES-256-CTR under a key of the item's own;
 *              a scanner reading the vault sees noise, never the sample
 *   meta.json  path, type, link target, owner, mode, size, atime, mtime,
 *              device and inode, link count, xattrs (hex), SHA-256 of the
 *              content, when, by which action, the key and IV, whether
 *              restored
 * Quarantine order: the content is read once (hashed and encrypted as it
 * goes), the data and meta are written and synced, the data is read back
 * and checked against the hash, the original is checked to be the same
 * file (device, inode, size, mtime) and only then unlinked.  A failure at
 * any step before the unlink leaves the original in place and no item.
 * Restore order: content into a temporary file beside the destination,
 * checked against the hash, then owner (chown clears set-id bits and
 * security.capability, so it comes first), mode, xattrs, timestamps, and
 * a rename that never replaces an existing file (RENAME_NOREPLACE).
 *
 * Trust: meta.json is written by this code in a root-only directory; it
 * is still parsed defensively (a damaged item is an error, not a crash).
 */
#include "respond/respond.h"
#include "util/hex.h"
#include "util/json.h"
#include "util/strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define VAULT_CHUNK (256u * 1024u)
#define XATTR_LIST_MAX_ (64u * 1024u)
#define XATTR_VALUE_MAX (64u * 1024u)

struct crypt {
	unsigned char key[32], iv[16];
};

void hn_qitem_free(struct hn_qitem *q)
{
	if (!q)
		return;
	for (int i = 0; i < q->nxattrs; i++) {
		free(q->xattrs[i].name);
		free(q->xattrs[i].value);
	}
	free(q->xattrs);
	free(q->path);
	free(q->link);
	free(q);
}


static int unhex(const char *s, unsigned char *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v |= (unsigned)(c - 'a' + 10);
			else
				return -EINVAL;
		}
		out[i] = (unsigned char)v;
	}
	return 0;
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ULL + (uint64_t)t->tv_nsec;
}

static struct timespec ns_ts(uint64_t ns)
{
	struct timespec t = { (time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL) };
	return t;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ts_ns(&t);
}

/* $state/quarantine, made 0700 root when missing; refused when it is
 * not a directory of root's that only root can enter. */
static int vault_dir(struct hn_respond *r, char *buf, size_t n)
{
	struct stat st;
	int len = snprintf(buf, n, "%s/quarantine", r->state_dir);

	if (len < 0 || (size_t)len >= n)
		return hn_respond_fail(r, -ENAMETOOLONG, "vault path too long");
	if (mkdir(r->state_dir, 0700) < 0 && errno != EEXIST)
		return hn_respond_fail(r, -errno, "cannot make %s: %s", r->state_dir,
				       strerror(errno));
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return hn_respond_fail(r, -errno, "cannot make the vault %s: %s", buf,
				       strerror(errno));
	if (lstat(buf, &st) < 0)
		return hn_respond_fail(r, -errno, "vault %s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid())
		return hn_respond_fail(r, -EPERM, "vault %s is not a directory of "
				       "this user's", buf);
	if ((st.st_mode & 077) && chmod(buf, 0700) < 0)
		return hn_respond_fail(r, -errno, "cannot close the vault %s: %s", buf,
				       strerror(errno));
	return 0;
}

static bool valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n != 18 || strncmp(id, "q-", 2) != 0)
		return false;
	for (size_t i = 2; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return false;
	return true;
}

/* a/b into buf; -ENAMETOOLONG when it does not fit */
static int pjoin(char *buf, size_t n, const char *a, const char *b)
{
	int len = snprintf(buf, n, "%s/%s", a, b);

	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int parent_of(const char *path, char *buf, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return snprintf(buf, n, ".") < (int)n ? 0 : -ENAMETOOLONG;
	if (slash == path)
		return snprintf(buf, n, "/") < (int)n ? 0 : -ENAMETOOLONG;
	if ((size_t)(slash - path) >= n)
		return -ENAMETOOLONG;
	memcpy(buf, path, (size_t)(slash - path));
	buf[slash - path] = '\0';
	return 0;
}

/* ---- meta.json ---- */

static int meta_write(struct hn_respond *r, const char *dir, const struct hn_qitem *q,
		      const struct crypt *c)
{
	char key[65], iv[33], tmp[PATH_MAX], fin[PATH_MAX];
	struct hn_strbuf sb;
	struct hn_json j;
	int fd = -1, rc = -EIO;

	hn_strbuf_init(&sb);
	hn_json_begin(&j, &sb);
	hn_json_obj_open(&j, NULL);
	hn_json_kv_str(&j, "id", q->id);
	hn_json_kv_str(&j, "path", q->path);
	if (q->link)
		hn_json_kv_str(&j, "link", q->link);
	hn_json_kv_u64(&j, "mode", q->mode);
	hn_json_kv_u64(&j, "uid", q->uid);
	hn_json_kv_u64(&j, "gid", q->gid);
	hn_json_kv_u64(&j, "size", q->size);
	hn_json_kv_u64(&j, "atime_ns", ts_ns(&q->atime));
	hn_json_kv_u64(&j, "mtime_ns", ts_ns(&q->mtime));
	hn_json_kv_u64(&j, "dev", q->dev);
	hn_json_kv_u64(&j, "ino", q->ino);
	hn_json_kv_u64(&j, "nlink", q->nlink);
	hn_json_kv_str(&j, "sha256", q->sha256);
	hn_json_kv_u64(&j, "time_ns", q->time);
	hn_json_kv_i64(&j, "action", q->action);
	hn_json_kv_bool(&j, "restored", q->restored);
	hn_hex(c->key, sizeof(c->key), key);
	hn_hex(c->iv, sizeof(c->iv), iv);
	hn_json_kv_str(&j, "key", key);
	hn_json_kv_str(&j, "iv", iv);
	hn_json_arr_open(&j, "xattrs");
	for (int i = 0; i < q->nxattrs; i++) {
		char *v = malloc(2 * q->xattrs[i].len + 1);
		if (!v)
			goto out;
		hn_hex(q->xattrs[i].value, q->xattrs[i].len, v);
		hn_json_obj_open(&j, NULL);
		hn_json_kv_str(&j, "name", q->xattrs[i].name);
		hn_json_kv_str(&j, "value", v);
		hn_json_obj_close(&j);
		free(v);
	}
	hn_json_arr_close(&j);
	hn_json_obj_close(&j);
	if (hn_json_end(&j) < 0) {
		rc = hn_respond_fail(r, -ENOMEM, "no memory for the item's record");
		goto out;
	}
	hn_strbuf_addc(&sb, '\n');
	if (pjoin(tmp, sizeof(tmp), dir, "meta.json.tmp") < 0 ||
	    pjoin(fin, sizeof(fin), dir, "meta.json") < 0) {
		rc = hn_respond_fail(r, -ENAMETOOLONG, "vault path too long");
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, sb.buf, sb.len) != (ssize_t)sb.len || fsync(fd) < 0) {
		rc = hn_respond_fail(r, -errno ? -errno : -EIO, "cannot write %s: %s", tmp,
				     strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, fin) < 0) {
		rc = hn_respond_fail(r, -errno, "cannot write %s: %s", fin, strerror(errno));
		goto out;
	}
	fsync_dir(dir);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	hn_strbuf_release(&sb);
	return rc;
}

static uint64_t ju64(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) && json_integer_value(v) >= 0 ?
	       (uint64_t)json_integer_value(v) : 0;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int meta_read(struct hn_respond *r, const char *dir, struct hn_qitem **out,
		     struct crypt *c)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *root, *xa;
	struct hn_qitem *q = NULL;
	const char *s;
	int rc = -EINVAL;
	uint64_t v;

	if (pjoin(path, sizeof(path), dir, "meta.json") < 0)
		return hn_respond_fail(r, -ENAMETOOLONG, "vault path too long");
	root = json_load_file(path, 0, &je);
	if (!root)
		return hn_respond_fail(r, errno == ENOENT ? -ENOENT : -EINVAL,
				       "%s: %s (line %d)", path, je.text, je.line);
	q = calloc(1, sizeof(*q));
	if (!q) {
		rc = -ENOMEM;
		goto bad;
	}
	s = jstr(root, "id");
	if (!s || !valid_id(s))
		goto bad;
	snprintf(q->id, sizeof(q->id), "%s", s);
	s = jstr(root, "path");
	if (!s || s[0] != '/' || !(q->path = strdup(s)))
		goto bad;
	if ((s = jstr(root, "link")) && !(q->link = strdup(s)))
		goto bad;
	q->mode = (uint32_t)ju64(root, "mode");
	q->uid = (uint32_t)ju64(root, "uid");
	q->gid = (uint32_t)ju64(root, "gid");
	q->size = ju64(root, "size");
	q->atime = ns_ts(ju64(root, "atime_ns"));
	q->mtime = ns_ts(ju64(root, "mtime_ns"));
	q->dev = ju64(root, "dev");
	q->ino = ju64(root, "ino");
	q->nlink = (uint32_t)ju64(root, "nlink");
	s = jstr(root, "sha256");
	if (!s || strlen(s) > 64)
		goto bad;
	snprintf(q->sha256, sizeof(q->sha256), "%s", s);
	q->time = ju64(root, "time_ns");
	v = ju64(root, "action");
	q->action = (int64_t)v;
	q->restored = json_is_true(json_object_get(root, "restored"));
	if (!S_ISREG(q->mode) && !S_ISLNK(q->mode))
		goto bad;
	if (S_ISLNK(q->mode) != (q->link != NULL))
		goto bad;
	if (c && (unhex(jstr(root, "key"), c->key, sizeof(c->key)) < 0 ||
		  unhex(jstr(root, "iv"), c->iv, sizeof(c->iv)) < 0))
		goto bad;
	xa = json_object_get(root, "xattrs");
	if (json_is_array(xa) && json_array_size(xa)) {
		size_t n = json_array_size(xa);
		if (n > 1024)
			goto bad;
		q->xattrs = calloc(n, sizeof(*q->xattrs));
		if (!q->xattrs)
			goto bad;
		for (size_t i = 0; i < n; i++) {
			json_t *e = json_array_get(xa, i);
			const char *name = jstr(e, "name"), *val = jstr(e, "value");
			size_t len = val ? strlen(val) / 2 : 0;
			struct hn_xattr *x = &q->xattrs[q->nxattrs];

			if (!name || !val || strlen(val) % 2)
				goto bad;
			x->name = strdup(name);
			x->value = malloc(len ? len : 1);
			q->nxattrs++;
			if (!x->name || !x->value || unhex(val, x->value, len) < 0)
				goto bad;
			x->len = len;
		}
	}
	json_decref(root);
	*out = q;
	return 0;
bad:
	json_decref(root);
	hn_qitem_free(q);
	if (rc == -ENOMEM)
		return hn_respond_fail(r, rc, "no memory reading %s", path);
	return hn_respond_fail(r, -EINVAL, "%s is damaged", path);
}

/* ---- content ---- */

/* Read fd to its end: hash it, and with enc write it encrypted to out
 * (or, decrypting, plain).  *sha gets the hex digest of the plain text:
 * the input when encrypting, the output when decrypting. */
static int pump(int in, int out, const struct crypt *c, bool encrypt, char sha[65],
		uint64_t *bytes)
{
	EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *ib = malloc(VAULT_CHUNK), *ob = malloc(VAULT_CHUNK + 32);
	unsigned char dg[32];
	unsigned dn = 0;
	uint64_t total = 0;
	int rc = -ENOMEM, ol;
	ssize_t n;

	if (!cx || !md || !ib || !ob)
		goto out;
	rc = -EIO;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_CipherInit_ex(cx, EVP_aes_256_ctr(), NULL, c->key, c->iv, encrypt) != 1)
		goto out;
	for (;;) {
		n = read(in, ib, VAULT_CHUNK);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_CipherUpdate(cx, ob, &ol, ib, (int)n) != 1 || ol != n)
			goto out;
		if (EVP_DigestUpdate(md, encrypt ? ib : ob, (size_t)n) != 1)
			goto out;
		if (out >= 0) {
			size_t off = 0;
			while (off < (size_t)ol) {
				ssize_t w = write(out, ob + off, (size_t)ol - off);
				if (w < 0) {
					if (errno == EINTR)
						continue;
					rc = -errno;
					goto out;
				}
				off += (size_t)w;
			}
		}
		total += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(md, dg, &dn) != 1 || dn != 32)
		goto out;
	hn_hex(dg, 32, sha);
	if (bytes)
		*bytes = total;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(cx);
	EVP_MD_CTX_free(md);
	free(ib);
	free(ob);
	return rc;
}

/* xattrs of fd (or, fd < 0, of the link at path) into q. */
static int xattrs_read(int fd, const char *path, struct hn_qitem *q)
{
	char *list = malloc(XATTR_LIST_MAX_);
	ssize_t n;
	int rc = 0;

	if (!list)
		return -ENOMEM;
	n = fd >= 0 ? flistxattr(fd, list, XATTR_LIST_MAX_) :
		      llistxattr(path, list, XATTR_LIST_MAX_);
	if (n < 0) {
		rc = (errno == ENOTSUP) ? 0 : -errno;
		goto out;
	}
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1) {
		unsigned char *v = malloc(XATTR_VALUE_MAX);
		struct hn_xattr *nx;
		ssize_t vl;

		if (!v) {
			rc = -ENOMEM;
			goto out;
		}
		vl = fd >= 0 ? fgetxattr(fd, list + off, v, XATTR_VALUE_MAX) :
			       lgetxattr(path, list + off, v, XATTR_VALUE_MAX);
		if (vl < 0) {
			rc = -errno;
			free(v);
			goto out;
		}
		nx = realloc(q->xattrs, (size_t)(q->nxattrs + 1) * sizeof(*nx));
		if (!nx) {
			free(v);
			rc = -ENOMEM;
			goto out;
		}
		q->xattrs = nx;
		nx[q->nxattrs].name = strdup(list + off);
		nx[q->nxattrs].value = v;
		nx[q->nxattrs].len = (size_t)vl;
		q->nxattrs++;
		if (!nx[q->nxattrs - 1].name) {
			rc = -ENOMEM;
			goto out;
		}
	}
out:
	free(list);
	return rc;
}

static void remove_item(const char *dir)
{
	char p[PATH_MAX];

	if (pjoin(p, sizeof(p), dir, "data") == 0)
		unlink(p);
	if (pjoin(p, sizeof(p), dir, "meta.json") == 0)
		unlink(p);
	if (pjoin(p, sizeof(p), dir, "meta.json.tmp") == 0)
		unlink(p);
	rmdir(dir);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Put path into the vault; with remove, take it away from its place. */
static int vault_put(struct hn_respond *r, const char *path, int64_t action,
		     struct hn_qitem **out, bool remove)
{
	char vdir[PATH_MAX], idir[PATH_MAX], dpath[PATH_MAX], real[PATH_MAX], pdir[PATH_MAX];
	unsigned char rnd[8];
	struct hn_qitem *q = NULL;
	struct stat st, st2;
	struct crypt c;
	char sha2[65];
	int fd = -1, dfd = -1, rc;

	if (!path || path[0] != '/')
		return hn_respond_fail(r, -EINVAL, "%s: give an absolute path",
				       path ? path : "(null)");
	rc = vault_dir(r, vdir, sizeof(vdir));
	if (rc < 0)
		return rc;
	if (lstat(path, &st) < 0)
		return hn_respond_fail(r, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return hn_respond_fail(r, -EINVAL, "%s: not a regular file or a "
				       "symbolic link; not quarantined", path);
	/* the vault itself, or anything in it */
	if (parent_of(path, pdir, sizeof(pdir)) == 0 && realpath(pdir, real)) {
		char vreal[PATH_MAX];
		size_t vl;
		if (realpath(vdir, vreal) && (vl = strlen(vreal)) &&
		    strncmp(real, vreal, vl) == 0 && (real[vl] == '/' || real[vl] == '\0'))
			return hn_respond_fail(r, -EINVAL, "%s is in the vault", path);
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->path = strdup(path)))
		goto nomem;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd) ||
	    getrandom(c.key, sizeof(c.key), 0) != sizeof(c.key) ||
	    getrandom(c.iv, sizeof(c.iv), 0) != sizeof(c.iv)) {
		rc = hn_respond_fail(r, -EIO, "no random bytes for the vault key");
		goto fail_free;
	}
	memcpy(q->id, "q-", 2);
	hn_hex(rnd, sizeof(rnd), q->id + 2);
	q->mode = st.st_mode;
	q->uid = st.st_uid;
	q->gid = st.st_gid;
	q->size = (uint64_t)st.st_size;
	q->atime = st.st_atim;
	q->mtime = st.st_mtim;
	q->dev = st.st_dev;
	q->ino = st.st_ino;
	q->nlink = (uint32_t)st.st_nlink;
	q->time = now_ns();
	q->action = action;

	if (pjoin(idir, sizeof(idir), vdir, q->id) < 0 ||
	    pjoin(dpath, sizeof(dpath), idir, "data") < 0) {
		rc = hn_respond_fail(r, -ENAMETOOLONG, "vault path too long");
		goto fail_free;
	}
	if (mkdir(idir, 0700) < 0) {
		rc = hn_respond_fail(r, -errno, "cannot make %s: %s", idir, strerror(errno));
		goto fail_free;
	}
	dfd = open(dpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (dfd < 0) {
		rc = hn_respond_fail(r, -errno, "cannot write %s: %s", dpath, strerror(errno));
		goto fail_item;
	}
	if (S_ISLNK(st.st_mode)) {
		char lnk[PATH_MAX];
		ssize_t n = readlink(path, lnk, sizeof(lnk) - 1);
		if (n < 0) {
			rc = hn_respond_fail(r, -errno, "%s: %s", path, strerror(errno));
			goto fail_item;
		}
		lnk[n] = '\0';
		if (!(q->link = strdup(lnk)))
			goto nomem_item;
		rc = xattrs_read(-1, path, q);
		if (rc < 0) {
			rc = hn_respond_fail(r, rc, "%s: reading xattrs: %s", path, strerror(-rc));
			goto fail_item;
		}
	} else {
		/* O_NOATIME: reading must not change what is kept (root may) */
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
		if (fd < 0 && errno == EPERM)
			fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = hn_respond_fail(r, -errno, "%s: %s", path, strerror(errno));
			goto fail_item;
		}
		if (fstat(fd, &st2) < 0 || !same_file(&st, &st2)) {
			rc = hn_respond_fail(r, -EAGAIN, "%s changed while being "
					     "quarantined; not quarantined", path);
			goto fail_item;
		}
		rc = xattrs_read(fd, path, q);
		if (rc < 0) {
			rc = hn_respond_fail(r, rc, "%s: reading xattrs: %s", path, strerror(-rc));
			goto fail_item;
		}
		rc = pump(fd, dfd, &c, true, q->sha256, NULL);
		if (rc < 0) {
			rc = hn_respond_fail(r, rc, "%s: copying into the vault: %s", path,
					     strerror(-rc));
			goto fail_item;
		}
	}
	if (fsync(dfd) < 0) {
		rc = hn_respond_fail(r, -errno, "%s: %s", dpath, strerror(errno));
		goto fail_item;
	}
	close(dfd);
	dfd = -1;
	rc = meta_write(r, idir, q, &c);
	if (rc < 0)
		goto fail_item;
	fsync_dir(vdir);
	/* read the vault copy back: it must give the same content */
	if (S_ISREG(st.st_mode)) {
		dfd = open(dpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0 || pump(dfd, -1, &c, false, sha2, NULL) < 0 ||
		    strcmp(sha2, q->sha256) != 0) {
			rc = hn_respond_fail(r, -EIO, "%s: the vault copy does not read "
					     "back the same; not quarantined", path);
			goto fail_item;
		}
		close(dfd);
		dfd = -1;
		if (fstat(fd, &st2) < 0 || !same_file(&st, &st2)) {
			rc = hn_respond_fail(r, -EAGAIN, "%s changed while being "
					     "quarantined; not quarantined", path);
			goto fail_item;
		}
	}
	if (!remove)
		goto kept;
	/* the name must still be that file */
	if (lstat(path, &st2) < 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
		rc = hn_respond_fail(r, -EAGAIN, "%s was replaced while being "
				     "quarantined; not quarantined", path);
		goto fail_item;
	}
	if (unlink(path) < 0) {
		rc = hn_respond_fail(r, -errno, "cannot remove %s: %s (the vault copy "
				     "is dropped)", path, strerror(errno));
		goto fail_item;
	}
	if (parent_of(path, pdir, sizeof(pdir)) == 0)
		fsync_dir(pdir);
kept:
	if (fd >= 0)
		close(fd);
	if (out)
		*out = q;
	else
		hn_qitem_free(q);
	return 0;
nomem_item:
	rc = hn_respond_fail(r, -ENOMEM, "no memory");
fail_item:
	if (dfd >= 0)
		close(dfd);
	remove_item(idir);
	goto fail_free;
nomem:
	rc = hn_respond_fail(r, -ENOMEM, "no memory");
fail_free:
	if (fd >= 0)
		close(fd);
	hn_qitem_free(q);
	return rc;
}

int hn_quarantine(struct hn_respond *r, const char *path, int64_t action,
		  struct hn_qitem **out)
{
	return vault_put(r, path, action, out, true);
}

int hn_vault_copy(struct hn_respond *r, const char *path, int64_t action,
		  struct hn_qitem **out)
{
	return vault_put(r, path, action, out, false);
}

static int item_dir(struct hn_respond *r, const char *id, char *buf, size_t n)
{
	char vdir[PATH_MAX];
	int rc;

	if (!id || !valid_id(id))
		return hn_respond_fail(r, -EINVAL, "'%s' is not a quarantine id "
				       "(q- and 16 hex digits)", id ? id : "");
	rc = vault_dir(r, vdir, sizeof(vdir));
	if (rc < 0)
		return rc;
	if (pjoin(buf, n, vdir, id) < 0)
		return hn_respond_fail(r, -ENAMETOOLONG, "vault path too long");
	return 0;
}

int hn_quarantine_get(struct hn_respond *r, const char *id, struct hn_qitem **out)
{
	char idir[PATH_MAX];
	struct stat st;
	int rc = item_dir(r, id, idir, sizeof(idir));

	if (rc < 0)
		return rc;
	if (stat(idir, &st) < 0)
		return hn_respond_fail(r, -ENOENT, "no quarantined item %s", id);
	return meta_read(r, idir, out, NULL);
}

static int set_meta(struct hn_respond *r, int fd, const char *tmp, const struct hn_qitem *q)
{
	struct timespec ts[2] = { q->atime, q->mtime };
	bool lnk = S_ISLNK(q->mode);

	if ((lnk ? lchown(tmp, q->uid, q->gid) : fchown(fd, q->uid, q->gid)) < 0)
		return hn_respond_fail(r, -errno, "cannot set the owner: %s", strerror(errno));
	if (!lnk && fchmod(fd, q->mode & 07777) < 0)
		return hn_respond_fail(r, -errno, "cannot set the mode: %s", strerror(errno));
	for (int i = 0; i < q->nxattrs; i++) {
		const struct hn_xattr *x = &q->xattrs[i];
		int e = lnk ? lsetxattr(tmp, x->name, x->value, x->len, 0) :
			      fsetxattr(fd, x->name, x->value, x->len, 0);
		if (e < 0)
			return hn_respond_fail(r, -errno, "cannot set xattr %s: %s", x->name,
					       strerror(errno));
	}
	if ((lnk ? utimensat(AT_FDCWD, tmp, ts, AT_SYMLINK_NOFOLLOW) : futimens(fd, ts)) < 0)
		return hn_respond_fail(r, -errno, "cannot set the times: %s", strerror(errno));
	return 0;
}

/* The SHA-256 of the file at path into out ("" for a link: its target is
 * compared instead by the caller).  0 or -errno. */
static int file_sha(const char *path, char out[65])
{
	struct crypt none;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	memset(&none, 0, sizeof(none));
	/* pump hashes the plain side; with no output the cipher only costs */
	rc = pump(fd, -1, &none, true, out, NULL);
	close(fd);
	return rc;
}

/* Put item id at `to` (NULL: its path).  expect NULL: nothing may be
 * there; else the file there must have SHA-256 expect, and is replaced. */
static int vault_get(struct hn_respond *r, const char *id, const char *to, const char *expect)
{
	char idir[PATH_MAX], dpath[PATH_MAX], pdir[PATH_MAX], tmp[PATH_MAX], sha[65];
	struct hn_qitem *q = NULL;
	const char *dest;
	struct stat st;
	struct crypt c;
	int dfd = -1, fd = -1, rc;
	bool made = false;

	rc = item_dir(r, id, idir, sizeof(idir));
	if (rc < 0)
		return rc;
	if (stat(idir, &st) < 0)
		return hn_respond_fail(r, -ENOENT, "no quarantined item %s", id);
	rc = meta_read(r, idir, &q, &c);
	if (rc < 0)
		return rc;
	if (q->restored) {
		rc = hn_respond_fail(r, -EALREADY, "%s was restored already (to %s)", id,
				     q->path);
		goto out;
	}
	dest = to ? to : q->path;
	if (dest[0] != '/') {
		rc = hn_respond_fail(r, -EINVAL, "%s: give an absolute path", dest);
		goto out;
	}
	if (!expect && lstat(dest, &st) == 0) {
		rc = hn_respond_fail(r, -EEXIST, "%s exists; not replaced (restore it "
				     "elsewhere with --to PATH)", dest);
		goto out;
	}
	if (expect) {
		char cur[65];
		if (file_sha(dest, cur) < 0 || strcmp(cur, expect) != 0) {
			rc = hn_respond_fail(r, -ESTALE, "%s changed since (it is not what was "
					     "written then); not replaced", dest);
			goto out;
		}
	}
	if (parent_of(dest, pdir, sizeof(pdir)) < 0 || stat(pdir, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		rc = hn_respond_fail(r, -ENOENT, "%s: its directory %s is missing", dest, pdir);
		goto out;
	}
	{
		char name[64];
		snprintf(name, sizeof(name), ".hinomi-restore-%s", q->id);
		if (pjoin(tmp, sizeof(tmp), pdir, name) < 0 ||
		    pjoin(dpath, sizeof(dpath), idir, "data") < 0) {
			rc = hn_respond_fail(r, -ENAMETOOLONG, "%s: path too long", dest);
			goto out;
		}
	}
	unlink(tmp);   /* a left-over of an interrupted restore of this item */
	if (S_ISLNK(q->mode)) {
		if (symlink(q->link, tmp) < 0) {
			rc = hn_respond_fail(r, -errno, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		made = true;
	} else {
		dfd = open(dpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (dfd < 0) {
			rc = hn_respond_fail(r, -errno, "%s: %s", dpath, strerror(errno));
			goto out;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			rc = hn_respond_fail(r, -errno, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		made = true;
		rc = pump(dfd, fd, &c, false, sha, NULL);
		if (rc < 0) {
			rc = hn_respond_fail(r, rc, "writing %s: %s", tmp, strerror(-rc));
			goto out;
		}
		if (strcmp(sha, q->sha256) != 0) {
			rc = hn_respond_fail(r, -EIO, "%s: the vault copy is damaged "
					     "(SHA-256 %s, expected %s)", id, sha, q->sha256);
			goto out;
		}
	}
	rc = set_meta(r, fd, tmp, q);
	if (rc < 0)
		goto out;
	if (fd >= 0 && fsync(fd) < 0) {
		rc = hn_respond_fail(r, -errno, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, expect ? 0 : RENAME_NOREPLACE) < 0) {
		rc = hn_respond_fail(r, -errno, "cannot put %s in place: %s", dest,
				     strerror(errno));
		goto out;
	}
	made = false;
	fsync_dir(pdir);
	q->restored = true;
	rc = meta_write(r, idir, q, &c);
	if (rc < 0) {
		/* the file is back; only the mark is missing: say so */
		rc = hn_respond_fail(r, rc, "%s restored, but the vault could not mark "
				     "it: %s", dest, r->err);
	}
out:
	if (made)
		unlink(tmp);
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	hn_qitem_free(q);
	return rc;
}

int hn_restore(struct hn_respond *r, const char *id, const char *to)
{
	return vault_get(r, id, to, NULL);
}

int hn_restore_over(struct hn_respond *r, const char *id, const char *expect_sha256)
{
	if (!expect_sha256)
		return hn_respond_fail(r, -EINVAL, "no content to compare with");
	return vault_get(r, id, NULL, expect_sha256);
}

static int cmp_item(const void *a, const void *b)
{
	const struct hn_qitem *x = *(struct hn_qitem *const *)a;
	const struct hn_qitem *y = *(struct hn_qitem *const *)b;

	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return strcmp(x->id, y->id);
}

int hn_quarantine_list(struct hn_respond *r, hn_qitem_cb cb, void *arg)
{
	char vdir[PATH_MAX], idir[PATH_MAX];
	struct hn_qitem **v = NULL;
	struct dirent *de;
	size_t n = 0, cap = 0;
	DIR *d;
	int rc;

	rc = vault_dir(r, vdir, sizeof(vdir));
	if (rc < 0)
		return rc;
	d = opendir(vdir);
	if (!d)
		return hn_respond_fail(r, -errno, "%s: %s", vdir, strerror(errno));
	rc = 0;
	while ((de = readdir(d))) {
		struct hn_qitem *q;
		if (!valid_id(de->d_name))
			continue;
		if (pjoin(idir, sizeof(idir), vdir, de->d_name) < 0)
			continue;
		if (meta_read(r, idir, &q, NULL) < 0)
			continue;   /* an item being written, or damaged */
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct hn_qitem **nv = realloc(v, nc * sizeof(*nv));
			if (!nv) {
				hn_qitem_free(q);
				rc = hn_respond_fail(r, -ENOMEM, "no memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = q;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_item);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cb(v[i], arg);
	for (size_t i = 0; i < n; i++)
		hn_qitem_free(v[i]);
	free(v);
	return rc;
}
