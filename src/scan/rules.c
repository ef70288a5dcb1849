/*
 * rules.c - YARA rule files found, versioned, compiled and cached
 * (scan.h: hn_scan_rules_load).
 *
 * Compiling: libyara's compiler cannot be used after an error, so the
 * files are added one by one to one compiler; when a file fails, its
 * errors are reported (file:line: message), the compiler is made again
 * with the files accepted so far (their messages not repeated), and the
 * next file goes on.  A file that compiles alone but clashes with another
 * (a rule name twice in one namespace) is left out the same way.
 *
 * The version: SHA-256 over "libyara " YR_VERSION and, for each file read,
 * its real path, its length and its bytes.  The cache file is named by it,
 * so a cache hit is the exact sources compiled by the same libyara; the
 * sources are read (and hashed) on every load, the compiling is what is
 * saved.  A set with a file left out is not cached: its errors are
 * reported again on every load until it is fixed.
 *
 * Trust: a cache file is loaded only from a directory owned by the
 * effective user and writable by no one else, and only when it too is
 * ours and not group- or world-writable (libyara would run whatever
 * code a tampered file holds).
 */
#include "scan/scan_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util/file.h"

#define DIR_DEPTH 16

uint64_t scan_dev(dev_t d)
{
	return ((uint64_t)major(d) << 20) | minor(d);
}

/* ---- what is loading ---- */

struct load {
	struct hn_scan_rules *r;
	hn_scan_rule_problem_fn fn;
	void *arg;
	char **text;             /* each file's content (NULL: unreadable) */
	size_t *len;
	bool *ok;                /* compiled */
	unsigned cap;
	/* the compiler callback's */
	unsigned cur;            /* the file being added */
	bool quiet;              /* re-adding accepted files: say nothing */
	bool failed;
};

static void problem(struct load *l, const char *path, int line, bool warning,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void problem(struct load *l, const char *path, int line, bool warning,
		    const char *fmt, ...)
{
	struct hn_scan_rule_problem p = { .path = path, .line = line, .warning = warning };
	char why[512];
	va_list ap;

	if (warning)
		l->r->st.warnings++;
	if (!l->fn)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	p.why = why;
	l->fn(&p, l->arg);
}

static int own_add(struct hn_scan_rules *r, const struct stat *st)
{
	if (r->nown == r->capown) {
		unsigned cap = r->capown ? r->capown * 2 : 16;
		struct scan_own *v = realloc(r->own, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		r->own = v;
		r->capown = cap;
	}
	r->own[r->nown].dev = scan_dev(st->st_dev);
	r->own[r->nown].ino = st->st_ino;
	r->nown++;
	return 0;
}

bool scan_rules_own(const struct hn_scan_rules *r, uint64_t dev, uint64_t ino)
{
	for (unsigned i = 0; r && i < r->nown; i++)
		if (r->own[i].ino == ino && r->own[i].dev == dev)
			return true;
	return false;
}

static bool rule_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 4 && !strcmp(name + n - 4, ".yar")) ||
	       (n > 5 && !strcmp(name + n - 5, ".yara"));
}

/* Add the file at path (real path taken; a file seen already is skipped). */
static int add_file(struct load *l, const char *path)
{
	struct hn_scan_rules *r = l->r;
	char real[PATH_MAX];
	char **f;

	if (!realpath(path, real)) {
		problem(l, path, 0, false, "cannot resolve: %s", strerror(errno));
		r->st.files_bad++;
		return 0;
	}
	for (unsigned i = 0; i < r->nfiles; i++)
		if (!strcmp(r->files[i], real))
			return 0;
	if (r->nfiles >= HN_SCAN_RULE_FILES_MAX) {
		problem(l, real, 0, false, "more than %u rule files: left out",
			HN_SCAN_RULE_FILES_MAX);
		r->st.files_bad++;
		return 0;
	}
	f = realloc(r->files, (r->nfiles + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	r->files = f;
	if (!(r->files[r->nfiles] = strdup(real)))
		return -ENOMEM;
	r->nfiles++;
	return 0;
}

static int find_files(struct load *l, const char *path, int depth, bool top)
{
	struct dirent **ents = NULL;
	struct stat st;
	int n, rc = 0;

	if (stat(path, &st) < 0)
		return top ? -errno : 0;
	if (!S_ISDIR(st.st_mode)) {
		if (!S_ISREG(st.st_mode))
			return top ? -EINVAL : 0;
		return add_file(l, path);
	}
	if (depth >= DIR_DEPTH)
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return top ? -errno : 0;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		char sub[PATH_MAX];
		struct stat sst;

		if (rc < 0 || name[0] == '.' ||
		    snprintf(sub, sizeof(sub), "%s/%s", path, name) >= (int)sizeof(sub) ||
		    stat(sub, &sst) < 0)
			continue;
		if (S_ISDIR(sst.st_mode))
			rc = find_files(l, sub, depth + 1, false);
		else if (S_ISREG(sst.st_mode) && rule_name(name))
			rc = add_file(l, sub);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return rc < 0 ? rc : 0;
}

/* Each file's namespace: its name without the extension, [A-Za-z0-9_],
 * made unique with _2, _3, ... */
static int namespaces(struct hn_scan_rules *r)
{
	r->ns = calloc(r->nfiles ? r->nfiles : 1, sizeof(*r->ns));
	if (!r->ns)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nfiles; i++) {
		const char *base = strrchr(r->files[i], '/');
		char ns[128], cand[160];
		size_t k = 0;
		unsigned suffix = 1;
		bool taken;

		base = base ? base + 1 : r->files[i];
		for (const char *p = base; *p && k < sizeof(ns) - 1; p++) {
			if (!strcmp(p, ".yar") || !strcmp(p, ".yara"))
				break;
			ns[k++] = isalnum((unsigned char)*p) ? *p : '_';
		}
		ns[k] = '\0';
		if (!k)
			snprintf(ns, sizeof(ns), "rules");
		snprintf(cand, sizeof(cand), "%s", ns);
		do {
			taken = false;
			for (unsigned j = 0; j < i && !taken; j++)
				taken = !strcmp(r->ns[j], cand);
			if (taken)
				snprintf(cand, sizeof(cand), "%s_%u", ns, ++suffix);
		} while (taken && suffix < 100000);
		if (!(r->ns[i] = strdup(cand)))
			return -ENOMEM;
	}
	return 0;
}

/* Read every file, and the version over what was read. */
static int read_all(struct load *l)
{
	struct hn_scan_rules *r = l->r;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const char lib[] = "libyara " YR_VERSION;
	int rc = -ENOMEM;

	l->text = calloc(r->nfiles + 1, sizeof(*l->text));
	l->len = calloc(r->nfiles + 1, sizeof(*l->len));
	l->ok = calloc(r->nfiles + 1, sizeof(*l->ok));
	if (!ctx || !l->text || !l->len || !l->ok ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	EVP_DigestUpdate(ctx, lib, sizeof(lib));
	for (unsigned i = 0; i < r->nfiles; i++) {
		struct stat st;
		uint64_t n;
		int e = hn_file_read(r->files[i], HN_SCAN_RULE_FILE_MAX, &l->text[i], &l->len[i]);

		if (e < 0) {
			problem(l, r->files[i], 0, false, "cannot read: %s",
				e == -EFBIG ? "larger than 8 MiB" : strerror(-e));
			r->st.files_bad++;
			l->text[i] = NULL;
			continue;
		}
		if (stat(r->files[i], &st) == 0 && own_add(r, &st) < 0)
			goto out;
		n = l->len[i];
		EVP_DigestUpdate(ctx, r->files[i], strlen(r->files[i]) + 1);
		EVP_DigestUpdate(ctx, &n, sizeof(n));
		EVP_DigestUpdate(ctx, l->text[i], l->len[i]);
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (unsigned i = 0; i < 32; i++)
		snprintf(r->version + 2 * i, 3, "%02x", md[i]);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* ---- compiling ---- */

static void compiler_cb(int level, const char *file_name, int line, const YR_RULE *rule,
			const char *msg, void *user)
{
	struct load *l = user;

	(void)file_name;   /* sources are added as strings: ours is l->cur */
	(void)rule;
	if (level == YARA_ERROR_LEVEL_ERROR)
		l->failed = true;
	if (l->quiet)
		return;
	problem(l, l->r->files[l->cur], line, level != YARA_ERROR_LEVEL_ERROR, "%s", msg);
}

static const char *no_include(const char *name, const char *caller_file, const char *caller_ns,
			      void *user)
{
	(void)name;
	(void)caller_file;
	(void)caller_ns;
	(void)user;
	return NULL;   /* libyara reports "can't open include file" */
}

static YR_COMPILER *compiler_new(struct load *l)
{
	YR_COMPILER *c = NULL;

	if (yr_compiler_create(&c) != ERROR_SUCCESS)
		return NULL;
	yr_compiler_set_callback(c, compiler_cb, l);
	yr_compiler_set_include_callback(c, no_include, NULL, l);
	return c;
}

/* Add file i to c; true when it compiled. */
static bool compile_one(struct load *l, YR_COMPILER *c, unsigned i)
{
	l->cur = i;
	l->failed = false;
	return yr_compiler_add_string(c, l->text[i], l->r->ns[i]) == 0 && !l->failed;
}

static int compile(struct load *l)
{
	struct hn_scan_rules *r = l->r;
	YR_COMPILER *c = compiler_new(l);
	unsigned good = 0;
	int rc = -ENOMEM;

	if (!c)
		return -ENOMEM;
	for (unsigned i = 0; i < r->nfiles; i++) {
		if (!l->text[i])
			continue;
		if (compile_one(l, c, i)) {
			l->ok[i] = true;
			good++;
			continue;
		}
		r->st.files_bad++;
		/* the compiler is spent: again with the files accepted */
		yr_compiler_destroy(c);
		if (!(c = compiler_new(l)))
			return -ENOMEM;
		l->quiet = true;
		for (unsigned j = 0; j < i; j++) {
			if (l->ok[j] && !compile_one(l, c, j)) {
				l->ok[j] = false;     /* cannot happen: counted if it does */
				r->st.files_bad++;
				good--;
			}
		}
		l->quiet = false;
	}
	if (!good) {
		rc = -EINVAL;
		goto out;
	}
	if (yr_compiler_get_rules(c, &r->yr) != ERROR_SUCCESS) {
		r->yr = NULL;
		goto out;
	}
	rc = 0;
out:
	yr_compiler_destroy(c);
	return rc;
}

/* ---- the cache ---- */

static bool trusted(const struct stat *st, bool dir)
{
	return (dir ? S_ISDIR(st->st_mode) : S_ISREG(st->st_mode)) &&
	       st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH));
}

/* The cache directory, made when missing; false when it cannot be used
 * (said as a warning). */
static bool cache_dir_ok(struct load *l, const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		problem(l, dir, 0, true, "rules not cached: cannot create the directory: %s",
			strerror(errno));
		return false;
	}
	if (lstat(dir, &st) < 0 || !trusted(&st, true)) {
		problem(l, dir, 0, true, "rules not cached: the directory is not ours alone"
			" (owner and mode)");
		return false;
	}
	own_add(l->r, &st);
	return true;
}

static int cmp_mtime(const void *a, const void *b)
{
	const struct { struct timespec t; char name[96]; } *x = a, *y = b;

	if (x->t.tv_sec != y->t.tv_sec)
		return x->t.tv_sec < y->t.tv_sec ? 1 : -1;
	if (x->t.tv_nsec != y->t.tv_nsec)
		return x->t.tv_nsec < y->t.tv_nsec ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Keep the HN_SCAN_CACHE_KEEP newest compiled sets (bounded: the first
 * 256 entries looked at). */
static void cache_prune(const char *dir)
{
	struct { struct timespec t; char name[96]; } v[256];
	unsigned n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) && n < 256) {
		size_t len = strlen(e->d_name);
		struct stat st;

		if (len < 6 || len >= sizeof(v[0].name) || strcmp(e->d_name + len - 5, ".yarc") ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		v[n].t = st.st_mtim;
		memcpy(v[n].name, e->d_name, len + 1);   /* len < sizeof(name) */
		n++;
	}
	if (n > HN_SCAN_CACHE_KEEP) {
		qsort(v, n, sizeof(v[0]), cmp_mtime);
		for (unsigned i = HN_SCAN_CACHE_KEEP; i < n; i++)
			unlinkat(dirfd(d), v[i].name, 0);
	}
	closedir(d);
}

static bool cache_load(struct load *l, const char *file)
{
	struct stat st;
	int e;

	if (lstat(file, &st) < 0)
		return false;
	if (!trusted(&st, false)) {
		problem(l, file, 0, true, "cached rules not used: not ours alone (owner and mode)");
		return false;
	}
	e = yr_rules_load(file, &l->r->yr);
	if (e != ERROR_SUCCESS) {
		l->r->yr = NULL;
		problem(l, file, 0, true, "cached rules not used: %s", scan_yr_error(e));
		return false;
	}
	utimensat(AT_FDCWD, file, NULL, 0);   /* the newest: kept by the pruning */
	l->r->st.from_cache = true;
	if (lstat(file, &st) == 0)
		own_add(l->r, &st);
	return true;
}

static void cache_save(struct load *l, const char *dir, const char *file)
{
	char tmp[PATH_MAX];
	struct stat st;
	int e;

	if (snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, l->r->version,
		     (long)getpid()) >= (int)sizeof(tmp))
		return;
	e = yr_rules_save(l->r->yr, tmp);
	if (e != ERROR_SUCCESS || chmod(tmp, 0600) < 0 || rename(tmp, file) < 0) {
		problem(l, file, 0, true, "rules not cached: %s",
			e != ERROR_SUCCESS ? scan_yr_error(e) : strerror(errno));
		unlink(tmp);
		return;
	}
	l->r->st.cached = true;
	if (lstat(file, &st) == 0)
		own_add(l->r, &st);
	cache_prune(dir);
}

/* ---- what is kept of each rule ---- */

static bool level_name(const char *s)
{
	static const char *const v[] = { "informational", "low", "medium", "high", "critical" };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (!strcmp(s, v[i]))
			return true;
	return false;
}

/* Append the tags of a meta value ("attack.execution, attack.t1059") to sb. */
static void add_tags(struct hn_strbuf *sb, const char *s)
{
	while (s && *s) {
		size_t n;

		while (*s == ',' || *s == ' ' || *s == '\t')
			s++;
		n = strcspn(s, ", \t");
		if (n) {
			if (sb->len)
				hn_strbuf_addc(sb, ',');
			hn_strbuf_add(sb, s, n);
		}
		s += n;
	}
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int rule_infos(struct hn_scan_rules *r)
{
	const YR_RULE *rule;
	unsigned n = 0;

	yr_rules_foreach(r->yr, rule)
		n++;
	r->info = calloc(n ? n : 1, sizeof(*r->info));
	if (!r->info)
		return -ENOMEM;
	r->ninfo = n;
	n = 0;
	yr_rules_foreach(r->yr, rule) {
		struct scan_rule_info *in = &r->info[n++];
		const YR_META *m;
		const char *tag, *desc = NULL, *author = NULL, *level = NULL;
		struct hn_strbuf tags;
		char lv[32];

		hn_strbuf_init(&tags);
		hn_strbuf_adds(&tags, "yara");
		yr_rule_tags_foreach(rule, tag) {
			hn_strbuf_addc(&tags, ',');
			hn_strbuf_adds(&tags, tag);
		}
		yr_rule_metas_foreach(rule, m) {
			const char *k = m->identifier;

			if (m->type != META_TYPE_STRING || !m->string)
				continue;
			if (!strcmp(k, "description") && !desc)
				desc = m->string;
			else if (!strcmp(k, "author") && !author)
				author = m->string;
			else if ((!strcmp(k, "severity") || !strcmp(k, "level")) && !level)
				level = m->string;
			else if (!strcmp(k, "tags") || !strcmp(k, "attack") ||
				 !strcmp(k, "mitre_attack"))
				add_tags(&tags, m->string);
		}
		snprintf(lv, sizeof(lv), "%s", level ? level : "high");
		for (char *p = lv; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!strcmp(lv, "info"))
			snprintf(lv, sizeof(lv), "informational");
		if (!level_name(lv))
			snprintf(lv, sizeof(lv), "high");
		in->ns = dup_or_null(rule->ns ? rule->ns->name : "");
		in->name = dup_or_null(rule->identifier);
		in->description = dup_or_null(desc);
		in->author = dup_or_null(author);
		in->level = strdup(lv);
		in->tags = tags.oom ? NULL : dup_or_null(tags.buf);
		hn_strbuf_release(&tags);
		if (!in->ns || !in->name || !in->level || !in->tags ||
		    (desc && !in->description) || (author && !in->author))
			return -ENOMEM;
		for (unsigned i = 0; i < r->nfiles; i++)
			if (!strcmp(r->ns[i], in->ns))
				in->path = r->files[i];
	}
	return 0;
}

const struct scan_rule_info *scan_rule_info(const struct hn_scan_rules *r,
					    const YR_RULE *rule)
{
	ptrdiff_t i;

	if (!r || !r->yr || !rule)
		return NULL;
	i = rule - r->yr->rules_table;
	return i >= 0 && (size_t)i < r->ninfo ? &r->info[i] : NULL;
}

/* ---- the entry points ---- */

int hn_scan_rules_load(const char *const *paths, int npaths, const char *cache_dir,
		       hn_scan_rule_problem_fn fn, void *arg, struct hn_scan_rules **out)
{
	struct hn_scan_rules *r = calloc(1, sizeof(*r));
	struct load l = { .r = r, .fn = fn, .arg = arg };
	char file[PATH_MAX];
	bool use_cache = false;
	int rc = -ENOMEM;

	if (!r)
		return -ENOMEM;
	if (yr_initialize() != ERROR_SUCCESS)
		goto out;
	r->yr_init = true;
	for (int i = 0; i < npaths; i++) {
		int e = find_files(&l, paths[i], 0, true);
		if (e == -ENOMEM) {
			rc = e;
			goto out;
		}
		if (e < 0) {
			problem(&l, paths[i], 0, false, "cannot read: %s", strerror(-e));
			r->st.files_bad++;
		}
	}
	r->st.files = r->nfiles;
	if (!r->nfiles) {
		rc = -ENOENT;
		goto out;
	}
	if ((rc = namespaces(r)) < 0 || (rc = read_all(&l)) < 0)
		goto out;
	if (cache_dir && *cache_dir &&
	    snprintf(file, sizeof(file), "%s/%s.yarc", cache_dir, r->version) < (int)sizeof(file))
		use_cache = cache_dir_ok(&l, cache_dir);
	if (!use_cache || !cache_load(&l, file)) {
		rc = compile(&l);
		if (rc < 0)
			goto out;
		if (use_cache && !r->st.files_bad)
			cache_save(&l, cache_dir, file);
	} else {
		/* the cache holds only sets where every file compiled */
		for (unsigned i = 0; i < r->nfiles; i++)
			l.ok[i] = l.text[i] != NULL;
	}
	if ((rc = rule_infos(r)) < 0)
		goto out;
	r->st.rules = r->ninfo;
	*out = r;
	r = NULL;
	rc = 0;
out:
	for (unsigned i = 0; l.text && i < l.r->nfiles; i++)
		free(l.text[i]);
	free(l.text);
	free(l.len);
	free(l.ok);
	hn_scan_rules_free(r);
	return rc;
}

void hn_scan_rules_free(struct hn_scan_rules *r)
{
	if (!r)
		return;
	if (r->yr)
		yr_rules_destroy(r->yr);
	for (unsigned i = 0; i < r->ninfo; i++) {
		free(r->info[i].ns);
		free(r->info[i].name);
		free(r->info[i].description);
		free(r->info[i].author);
		free(r->info[i].level);
		free(r->info[i].tags);
	}
	free(r->info);
	for (unsigned i = 0; i < r->nfiles; i++) {
		free(r->files[i]);
		if (r->ns)
			free(r->ns[i]);
	}
	free(r->files);
	free(r->ns);
	free(r->own);
	if (r->yr_init)
		yr_finalize();
	free(r);
}

const char *hn_scan_rules_version(const struct hn_scan_rules *r)
{
	return r ? r->version : "";
}

void hn_scan_rules_stats(const struct hn_scan_rules *r, struct hn_scan_rules_stats *st)
{
	if (r)
		*st = r->st;
	else
		memset(st, 0, sizeof(*st));
}

const char *hn_scan_rules_file(const struct hn_scan_rules *r, unsigned i)
{
	return r && i < r->nfiles ? r->files[i] : NULL;
}

unsigned hn_scan_rules_nfiles(const struct hn_scan_rules *r)
{
	return r ? r->nfiles : 0;
}

void hn_scan_ioc_version(const struct hn_ioc_set *s, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, n = hn_ioc_count(s), used = 0;
	EVP_MD_CTX *ctx;

	out[0] = '\0';
	if (!s || !(hn_ioc_has(s, HN_IOC_SHA256) || hn_ioc_has(s, HN_IOC_SHA1) ||
		    hn_ioc_has(s, HN_IOC_MD5)))
		return;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		struct hn_ioc c;
		uint8_t t;

		hn_ioc_get(s, i, &c);
		if (c.type != HN_IOC_SHA256 && c.type != HN_IOC_SHA1 && c.type != HN_IOC_MD5)
			continue;
		t = (uint8_t)c.type;
		EVP_DigestUpdate(ctx, &t, 1);
		EVP_DigestUpdate(ctx, c.value, strlen(c.value) + 1);
		used++;
	}
	if (used && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32)
		for (unsigned i = 0; i < 32; i++)
			snprintf(out + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
}

int hn_scan_default_rules(const char **paths, char *near, size_t nnear)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int k = 0;

	near[0] = '\0';
	if (n > 0) {
		char *slash;

		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(near, nnear, "%s/../rules/yara", self);
		}
	}
	if (near[0] && access(near, R_OK) == 0)
		paths[k++] = near;
	else if (access("/usr/share/hinomi/yara", R_OK) == 0)
		paths[k++] = "/usr/share/hinomi/yara";
	if (access("/etc/hinomi/yara", R_OK) == 0)
		paths[k++] = "/etc/hinomi/yara";
	return k;
}
