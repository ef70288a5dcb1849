/*
 * check.c - the run (hn_check_run: the families in order, then the
 * verdict) and the helpers every family shares: bounded reads, place
 * classification, the report's findings, entries and skipped notes.
 *
 * Every string that goes into the report is copied with control
 * characters replaced ('?'), so that a file or process name cannot break
 * a line of the text report; JSON escapes the rest.
 */
#include "check/check_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


const char *hn_check_sev_name(enum hn_check_sev s)
{
	static const char *const n[] = { "info", "low", "medium", "high", "critical" };
	return (unsigned)s < HN_CHECK_SEV_COUNT ? n[s] : "?";
}

const char *hn_check_family_name(enum hn_check_family f)
{
	static const char *const n[] = { "process", "network", "persistence", "setuid",
					 "ioc", "yara" };
	return (unsigned)f < HN_CHECK_FAMILY_COUNT ? n[f] : "?";
}

const char *hn_check_verdict_name(enum hn_check_verdict v)
{
	switch (v) {
	case HN_CHECK_CLEAN: return "clean";
	case HN_CHECK_SUSPICIOUS: return "suspicious";
	case HN_CHECK_COMPROMISED: return "compromised";
	}
	return "?";
}

int hn_check_exit_code(enum hn_check_verdict v)
{
	return v == HN_CHECK_COMPROMISED ? 4 : v == HN_CHECK_SUSPICIOUS ? 3 : 0;
}

/* ---- helpers ---- */

const char *chk_rpath(const struct check_ctx *c, const char *host, char *buf, size_t n)
{
	int k = snprintf(buf, n, "%s%s", c->root, host);

	if (k < 0 || (size_t)k >= n)
		buf[0] = '\0';   /* too long: opens nothing */
	return buf;
}

int chk_read(const char *path, size_t max, int flags, char **out, size_t *len, bool *trunc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
	struct stat st;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int r = -EIO;

	if (trunc)
		*trunc = false;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	/* /proc files say size 0: read until the end or the bound */
	cap = st.st_size > 0 && (uint64_t)st.st_size < max ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t k;
		if (n == cap) {
			char *nb;
			size_t nc;
			if (n > max)
				break;
			nc = cap * 2 > max + 1 ? max + 1 : cap * 2;
			nb = realloc(buf, nc + 1);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = nc;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > max) {
		n = max;
		if (trunc)
			*trunc = true;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

unsigned chk_place(const char *path)
{
	static const char *const tmp[] = { "/tmp/", "/var/tmp/", "/dev/", "/run/user/",
					   "/run/shm/", "/run/lock/", "/var/lock/" };
	static const char *const sys[] = { "/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/",
					   "/lib64/", "/libx32/", "/opt/" };
	static const char *const tools[] = { ".cargo", ".rustup", ".pyenv", ".nvm", ".local",
					     ".vscode-server", ".cursor-server", ".sdkman",
					     ".bun", ".deno", ".volta", ".asdf", ".rbenv",
					     ".goenv", ".jenv", ".conda", ".npm", ".cache",
					     ".vscode", ".cursor", ".dotnet", ".ghcup", ".opam",
					     ".juliaup", ".gradle", ".m2", ".elan" };
	unsigned bits = 0;
	const char *p;

	if (!path || path[0] != '/')
		return 0;
	for (size_t i = 0; i < sizeof(tmp) / sizeof(tmp[0]); i++)
		if (has_prefix(path, tmp[i]))
			bits |= CHK_PLACE_TMP;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
		if (has_prefix(path, sys[i]))
			bits |= CHK_PLACE_SYSTEM;
	/* hidden components: "/x/.y/z" (not "." or ".." themselves) */
	for (p = path; (p = strstr(p, "/.")) != NULL; p++) {
		const char *end = strchr(p + 1, '/');
		size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);
		bool known = false;
		if (!end)
			break;   /* the file itself being hidden does not count */
		if (n == 1 || (n == 2 && p[2] == '.'))
			continue;
		/* a home's toolchain: /root/.X or /home/U/.X */
		if (has_prefix(path, "/root/.") || has_prefix(path, "/home/")) {
			for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
				if (n == strlen(tools[i]) && !memcmp(p + 1, tools[i], n))
					known = true;
		}
		bits |= known ? CHK_PLACE_TOOLDIR : CHK_PLACE_HIDDEN;
	}
	return bits;
}

const char *chk_base(const char *path)
{
	const char *s;

	if (!path)
		return "";
	s = strrchr(path, '/');
	return s ? s + 1 : path;
}

char *chk_strndup(struct check_ctx *c, const char *s, size_t n)
{
	char *d;

	if (!s)
		return NULL;
	n = strnlen(s, n);
	d = malloc(n + 1);
	if (!d) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		d[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	d[n] = '\0';
	return d;
}

char *chk_strdup(struct check_ctx *c, const char *s)
{
	return s ? chk_strndup(c, s, strlen(s)) : NULL;
}

char *chk_printf(struct check_ctx *c, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return chk_strdup(c, buf);
}

struct hn_check_finding *chk_find(struct check_ctx *c, enum hn_check_family fam,
				  enum hn_check_sev sev, bool strong, const char *rule,
				  const char *title, const char *what, const char *why)
{
	struct hn_check_report *r = c->r;
	struct hn_check_finding *f;

	if (r->nfindings >= CHK_FINDINGS_MAX) {
		c->dropped_findings++;
		return NULL;
	}
	if (r->nfindings == r->cap_findings) {
		size_t nc = r->cap_findings ? r->cap_findings * 2 : 64;
		void *p = realloc(r->findings, nc * sizeof(*r->findings));
		if (!p) {
			c->oom = true;
			return NULL;
		}
		r->findings = p;
		r->cap_findings = nc;
	}
	f = &r->findings[r->nfindings++];
	memset(f, 0, sizeof(*f));
	f->family = fam;
	f->sev = sev;
	f->strong = strong || sev == HN_CHECK_CRITICAL;
	f->rule = rule;
	f->title = chk_strdup(c, title);
	f->what = chk_strdup(c, what);
	f->why = chk_strdup(c, why);
	return f;
}

void chk_ev(struct check_ctx *c, struct hn_check_finding *f, const char *key,
	    const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!f || f->nev >= HN_CHECK_EVIDENCE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	f->ev[f->nev].key = chk_strdup(c, key);
	f->ev[f->nev].value = chk_strdup(c, buf);
	f->nev++;
}

void chk_skip(struct check_ctx *c, const char *fmt, ...)
{
	struct hn_check_report *r = c->r;
	char buf[1024];
	va_list ap;

	if (r->nskipped >= 1000)
		return;
	if (r->nskipped == r->cap_skipped) {
		size_t nc = r->cap_skipped ? r->cap_skipped * 2 : 16;
		void *p = realloc(r->skipped, nc * sizeof(*r->skipped));
		if (!p) {
			c->oom = true;
			return;
		}
		r->skipped = p;
		r->cap_skipped = nc;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < r->nskipped; i++)
		if (!strcmp(r->skipped[i], buf))
			return;   /* said once */
	r->skipped[r->nskipped] = chk_strdup(c, buf);
	if (r->skipped[r->nskipped])
		r->nskipped++;
}

const char *chk_user_name(const struct check_ctx *c, uint32_t uid, char *buf, size_t n)
{
	for (size_t i = 0; i < c->nusers; i++)
		if (c->users[i].uid == uid) {
			snprintf(buf, n, "%s", c->users[i].name);
			return buf;
		}
	snprintf(buf, n, "uid %u", uid);
	return buf;
}

uint64_t chk_ns(int64_t sec, long nsec)
{
	if (sec < 0)
		return 0;
	return (uint64_t)sec * 1000000000ull + (uint64_t)(nsec < 0 ? 0 : nsec);
}

const char *chk_time_str(uint64_t ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, n, "?");
	return buf;
}

/* ---- payloads in configuration text ---- */

/* A word that, anywhere in a command, says the /tmp path is a file being
 * handled (cleaned, created, tested), not a program being run. */
static bool handling_word(const char *w, size_t n)
{
	static const char *const words[] = {
		"find", "rm", "rmdir", "mkdir", "chmod", "chown", "touch", "ls", "mktemp",
		"tmpreaper", "tmpwatch", "systemd-tmpfiles", "cd", "test", "[", "[[", "mount",
		"umount", "TMPDIR", "TMP", "TEMP", "-d", "-e", "-f", "-w", "PrivateTmp",
		"ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "TemporaryFileSystem",
		"BindPaths", "RuntimeDirectory", "WorkingDirectory",
	};
	const char *b = w;

	/* "/usr/bin/find" counts as "find" */
	for (size_t i = 0; i < n; i++)
		if (w[i] == '/')
			b = w + i + 1;
	n -= (size_t)(b - w);
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == n && !memcmp(words[i], b, n))
			return true;
	return false;
}

/* A /tmp-like path run as a program in this command (no handling word). */
static bool runs_from_tmp(const char *s, size_t n)
{
	static const char *const tmp[] = { "/tmp/", "/var/tmp/", "/dev/shm/" };
	bool found = false;
	size_t i = 0;

	while (i < n) {
		size_t st, wl;
		while (i < n && strchr(" \t\"'=:", s[i]))
			i++;
		st = i;
		while (i < n && !strchr(" \t\"'=:", s[i]))
			i++;
		wl = i - st;
		if (!wl)
			continue;
		if (handling_word(s + st, wl))
			return false;
		for (size_t k = 0; k < sizeof(tmp) / sizeof(tmp[0]); k++) {
			size_t tl = strlen(tmp[k]);
			if (wl > tl && !memcmp(s + st, tmp[k], tl) && s[st + wl - 1] != '/')
				found = true;
		}
	}
	return found;
}

static bool contains(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(s + i, w, k))
			return true;
	return false;
}

/* One command (a piece of a line between ; | & ` and $( ): what it
 * shows, or NULL. */
static const char *payload_in(const char *s, size_t n, const char *line, size_t ln)
{
	if (contains(s, n, "/dev/tcp/") || contains(s, n, "/dev/udp/"))
		return "a /dev/tcp connection";
	if (contains(s, n, "base64 -d") || contains(s, n, "base64 --decode"))
		return "base64-decoded code";
	if ((contains(s, n, "nc ") || contains(s, n, "ncat ") || contains(s, n, "netcat ")) &&
	    (contains(s, n, " -e ") || contains(s, n, " -c ")))
		return "a netcat shell";
	if (contains(s, n, "LD_PRELOAD"))
		return "LD_PRELOAD";
	if ((contains(line, ln, "curl ") || contains(line, ln, "wget ")) &&
	    (contains(line, ln, "| sh") || contains(line, ln, "|sh") ||
	     contains(line, ln, "| bash") || contains(line, ln, "|bash")))
		return "a download piped to a shell";
	if (runs_from_tmp(s, n))
		return "a program run from a /tmp-like place";
	return NULL;
}

bool chk_payload_line(const char *text, size_t len, char *line, size_t nline,
		      const char **what)
{
	size_t i = 0, lines = 0;

	while (i < len && lines++ < 100000) {
		size_t st = i, en, a;
		const char *w = NULL;
		while (i < len && text[i] != '\n')
			i++;
		en = i;
		if (i < len)
			i++;
		while (st < en && (text[st] == ' ' || text[st] == '\t'))
			st++;
		if (st == en || text[st] == '#' || text[st] == ';')
			continue;
		/* each command of the line */
		a = st;
		for (size_t k = st; k <= en && !w; k++) {
			if (k == en || strchr(";|&`", text[k]) ||
			    (text[k] == '$' && k + 1 < en && text[k + 1] == '(')) {
				if (k > a)
					w = payload_in(text + a, k - a, text + st, en - st);
				a = k + 1;
			}
		}
		if (w) {
			size_t n = en - st;
			if (n > 200)
				n = 200;
			if (n >= nline)
				n = nline - 1;
			for (size_t k = 0; k < n; k++) {
				unsigned char ch = (unsigned char)text[st + k];
				line[k] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
			}
			line[n] = '\0';
			*what = w;
			return true;
		}
	}
	return false;
}

/* ---- the run ---- */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return chk_ns(ts.tv_sec, ts.tv_nsec);
}

static int set_dir(char *dst, size_t n, const char *v, const char *def)
{
	int k = snprintf(dst, n, "%s", v && *v ? v : def);

	if (k < 0 || (size_t)k >= n)
		return -ENAMETOOLONG;
	while (k > 0 && dst[k - 1] == '/')
		dst[--k] = '\0';
	return 0;
}

static void ctx_release(struct check_ctx *c)
{
	for (size_t i = 0; i < c->nprocs; i++) {
		free(c->procs[i].exe);
		free(c->procs[i].exe_path);
		free(c->procs[i].cmdline);
		free(c->procs[i].preload);
	}
	free(c->procs);
	for (size_t i = 0; i < c->nexes; i++)
		free(c->exes[i].path);
	free(c->exes);
	for (size_t i = 0; i < c->nusers; i++) {
		free(c->users[i].name);
		free(c->users[i].home);
	}
	free(c->users);
	for (size_t i = 0; i < c->nhomes; i++)
		free(c->homes[i]);
	free(c->homes);
	if (c->hpkg != c->pkg)
		chk_pkg_free(c->hpkg);
	chk_pkg_free(c->pkg);
	hn_ioc_set_free(c->ioc);
}

int hn_check_run(const struct hn_check_opts *o, struct hn_check_report **out,
		 char *err, size_t nerr)
{
	struct check_ctx c;
	struct hn_check_report *r;
	uint64_t t0 = mono_ns();
	struct timespec ts;
	int rc = -ENOMEM;

	memset(&c, 0, sizeof(c));
	if (err && nerr)
		err[0] = '\0';
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, nerr, "out of memory");
		return -ENOMEM;
	}
	c.o = o;
	c.r = r;
	if (set_dir(c.root, sizeof(c.root), o->root, "") < 0 ||
	    set_dir(c.proc, sizeof(c.proc), o->proc, "/proc") < 0 ||
	    set_dir(c.sys, sizeof(c.sys), o->sys, "/sys") < 0) {
		snprintf(err, nerr, "a --root, --proc or --sys directory longer than %d bytes",
			 CHK_DIR - 1);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (o->proc && *o->proc)
		memcpy(c.live, c.root, sizeof(c.live));
	clock_gettime(CLOCK_REALTIME, &ts);
	c.now = o->now_ns ? o->now_ns : chk_ns(ts.tv_sec, ts.tv_nsec);
	c.recent = o->recent_ns ? o->recent_ns : HN_CHECK_RECENT_NS;
	c.is_root = geteuid() == 0;
	r->root = c.is_root;
	r->time = c.now;
	if (gethostname(r->host, sizeof(r->host) - 1) < 0)
		snprintf(r->host, sizeof(r->host), "?");
	if (!c.is_root)
		chk_skip(&c, "not root: other users' processes (executables, environments, "
			 "descriptors), /etc/shadow, crontabs and root-only files cannot be "
			 "read; listeners without a visible owner are not called hidden");

	rc = chk_ioc_load(&c, err, nerr);
	if (rc < 0)
		goto fail;
	c.pkg = chk_pkg_open(c.root, &c.oom, &r->stats.package_paths);
	r->stats.packages = c.pkg != NULL;
	if (!c.pkg)
		chk_skip(&c, "no Debian package database at %s/var/lib/dpkg: no persistence "
			 "entry is known to come from a package or checked against its MD5",
			 c.root);
	if (c.root[0]) {
		unsigned paths;
		c.hpkg = chk_pkg_open("", &c.oom, &paths);
		if (!c.hpkg)
			chk_skip(&c, "no Debian package database on this host: no executable "
				 "or setuid file is known to come from a package");
	} else {
		c.hpkg = c.pkg;
	}
	chk_users_load(&c);
	chk_procs(&c);
	chk_net(&c);
	chk_persist(&c);
	if (o->no_suid)
		chk_skip(&c, "setuid: the walk was not run (--no-suid)");
	else
		chk_suid(&c);
	chk_exes_collect(&c);
	chk_ioc_exes(&c);
	check_yara_exes(&c);
	if (c.dropped_findings)
		chk_skip(&c, "%u findings over the bound of %u were dropped",
			 c.dropped_findings, CHK_FINDINGS_MAX);
	chk_verdict(&c);
	r->duration_ns = mono_ns() - t0;
	if (c.oom) {
		rc = -ENOMEM;
		snprintf(err, nerr, "out of memory");
		goto fail;
	}
	ctx_release(&c);
	*out = r;
	return 0;
fail:
	ctx_release(&c);
	hn_check_report_free(r);
	return rc;
}

void hn_check_report_free(struct hn_check_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nfindings; i++) {
		struct hn_check_finding *f = &r->findings[i];
		free(f->title);
		free(f->what);
		free(f->why);
		free(f->path);
		for (int k = 0; k < f->nev; k++) {
			free(f->ev[k].key);
			free(f->ev[k].value);
		}
	}
	free(r->findings);
	for (size_t i = 0; i < r->nentries; i++) {
		struct hn_check_entry *e = &r->entries[i];
		free(e->path);
		free(e->target);
		free(e->target_package);
		free(e->user);
		free(e->package);
		free(e->note);
	}
	free(r->entries);
	for (size_t i = 0; i < r->nsocks; i++)
		free(r->socks[i].exe);
	free(r->socks);
	for (size_t i = 0; i < r->nskipped; i++)
		free(r->skipped[i]);
	free(r->skipped);
	free(r);
}
