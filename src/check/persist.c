/*
 * persist.c - every place a program can be made to start again: listed
 * with owner, mode, times, the package that ships it and whether it still
 * has the package's MD5, marked "new" when changed within --recent (or
 * found where only packages put files, without one), and judged.
 *
 * The places (host paths; read under --root):
 *   cron             /etc/crontab, /etc/anacrontab, /etc/cron.{d,hourly,
 *                    daily,weekly,monthly,yearly}/ *, /var/spool/cron/
 *                    crontabs/ *, /var/spool/cron/ * (RHEL)
 *   at               /var/spool/cron/atjobs/ *, /var/spool/at/ *
 *   systemd          units (and their *.wants, *.requires, *.d) in
 *                    /etc/systemd/{system,user}, /run/systemd/system,
 *                    /lib, /usr/lib and /usr/local/lib systemd/{system,
 *                    user}, each home's ~/.config/systemd/user; /etc/
 *                    init.d/ *, /etc/rc.local
 *   shell_rc         /etc/profile, /etc/profile.d/ *, /etc/bash.bashrc,
 *                    /etc/environment, /etc/zsh/ *, each home's .bashrc
 *                    .profile .bash_profile .bash_login .bash_logout
 *                    .zshrc .zprofile .zshenv .zlogin
 *   authorized_keys  each home's .ssh/authorized_keys, authorized_keys2
 *   ld_preload       /etc/ld.so.preload
 *   sudoers          /etc/sudoers, /etc/sudoers.d/ *
 *   pam              /etc/pam.d/ *, /etc/pam.conf, PAM modules in
 *                    /lib, /usr/lib, /lib64, /usr/lib64 (and their
 *                    multiarch directories) security/ *.so
 *   passwd           /etc/passwd, /etc/shadow, /etc/group
 *   kernel_module    /proc/modules against /lib/modules/RELEASE and
 *                    /sys/module; /etc/modules, /etc/modules-load.d/ *,
 *                    /etc/modprobe.d/ *
 * Homes: every home in passwd, /root, and the directories of /home.
 *
 * Judging (docs/CHECK.md has the table): a file dpkg ships with its MD5
 * intact is trusted; any other entry that is new is a low finding; its
 * text is searched for a payload (a program run from /tmp, /dev/tcp, a
 * download piped to a shell, base64 decoding, netcat -e, LD_PRELOAD):
 * medium, high when also new; a system file writable by another user is
 * medium; and the kinds with a meaning of their own: ld.so.preload, uid-0
 * accounts, empty passwords, PAM modules, kernel modules.
 *
 * Files in homes belong to their users: they are opened O_NOFOLLOW, and
 * a home directory that resolves outside itself is not listed.
 */
#include "check/check_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "investigate/investigate.h"
#include "util/path.h"

#define LD_SUBDIRS 0x1u   /* systemd: one level of *.wants, *.requires, *.d */
#define LD_HOME    0x2u   /* in a home: O_NOFOLLOW, stay inside */
#define LD_SO      0x4u   /* only *.so files */
#define LD_SPOOL   0x8u   /* spool files: owned by their users */

#define DIRS_SEEN_MAX 1024

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x)
{
	size_t n = strlen(s), k = strlen(x);

	return n >= k && !strcmp(s + n - k, x);
}

/* ---- accounts and homes ---- */

static int add_home(struct check_ctx *c, const char *home)
{
	if (!home || home[0] != '/' || !strcmp(home, "/") || strstr(home, "/nonexistent") ||
	    c->nhomes >= CHK_HOMES_MAX)
		return 0;
	for (size_t i = 0; i < c->nhomes; i++)
		if (!strcmp(c->homes[i], home))
			return 0;
	if (!(c->nhomes & (c->nhomes + 1)) || !c->homes) {
		void *p = realloc(c->homes, (c->nhomes * 2 + 2) * sizeof(*c->homes));
		if (!p) {
			c->oom = true;
			return -ENOMEM;
		}
		c->homes = p;
	}
	c->homes[c->nhomes] = chk_strdup(c, home);
	if (c->homes[c->nhomes])
		c->nhomes++;
	return 0;
}

/* "a:b:c" into at most max fields (in place). */
static int fields(char *line, char **f, int max)
{
	int n = 0;

	f[n++] = line;
	for (char *p = line; *p && n < max; p++)
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	return n;
}

int chk_users_load(struct check_ctx *c)
{
	char path[CHK_PATH], *buf, *p, *end;
	struct dirent **names = NULL;
	size_t len, cap = 0;
	int n;

	chk_rpath(c, "/etc/passwd", path, sizeof(path));
	if (chk_read(path, 16u << 20, 0, &buf, &len, NULL) == 0) {
		end = buf + len;
		for (p = buf; p < end && c->nusers < CHK_USERS_MAX;) {
			char *nl = memchr(p, '\n', (size_t)(end - p)), *f[8], *e;
			unsigned long uid;
			if (nl)
				*nl = '\0';
			char *line = p;
			p = nl ? nl + 1 : end;
			if (fields(line, f, 8) < 7 || !f[0][0])
				continue;
			uid = strtoul(f[2], &e, 10);
			if (*e || e == f[2] || uid > UINT32_MAX)
				continue;
			if (c->nusers == cap) {
				size_t nc = cap ? cap * 2 : 64;
				void *q = realloc(c->users, nc * sizeof(*c->users));
				if (!q) {
					c->oom = true;
					break;
				}
				c->users = q;
				cap = nc;
			}
			c->users[c->nusers].name = chk_strdup(c, f[0]);
			c->users[c->nusers].uid = (uint32_t)uid;
			c->users[c->nusers].home = chk_strdup(c, f[5]);
			add_home(c, f[5]);
			c->nusers++;
		}
		free(buf);
	}
	add_home(c, "/root");
	chk_rpath(c, "/home", path, sizeof(path));
	n = scandir(path, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char home[CHK_PATH], rp[CHK_PATH];
		struct stat st;
		if (names[i]->d_name[0] != '.') {
			snprintf(home, sizeof(home), "/home/%s", names[i]->d_name);
			if (lstat(chk_rpath(c, home, rp, sizeof(rp)), &st) == 0 &&
			    S_ISDIR(st.st_mode))
				add_home(c, home);
		}
		free(names[i]);
	}
	free(names);
	return 0;
}

/* ---- entries ---- */

static bool managed_place(const char *p)
{
	if (!has_prefix(p, "/lib/") && !has_prefix(p, "/usr/lib/") && !has_prefix(p, "/lib64/") &&
	    !has_prefix(p, "/usr/lib64/"))
		return false;
	return strstr(p, "/systemd/system/") || strstr(p, "/systemd/user/") ||
	       strstr(p, "/security/") || has_prefix(p, "/lib/modules/") ||
	       has_prefix(p, "/usr/lib/modules/");
}

/* Add the entry for host path (lstat under root; with live, on this host
 * itself: a loaded module's file); its index, or -1 when there is no such
 * file (or no memory). */
static long entry_add_at(struct check_ctx *c, const char *kind, const char *host, bool live)
{
	struct hn_check_report *r = c->r;
	struct chk_pkgdb *db = live ? c->hpkg : c->pkg;
	struct hn_check_entry *e;
	char rp[CHK_PATH], user[64];
	const char *pkg, *dpath = NULL, *k;
	struct stat st;

	if (live)
		snprintf(rp, sizeof(rp), "%s%s", c->live, host);
	else
		chk_rpath(c, host, rp, sizeof(rp));
	if (lstat(rp, &st) < 0) {
		if (errno == EACCES)
			chk_skip(c, "persistence: %s cannot be read (permission)", host);
		return -1;
	}
	if (r->nentries >= CHK_ENTRIES_MAX)
		return -1;
	if (r->nentries == r->cap_entries) {
		size_t nc = r->cap_entries ? r->cap_entries * 2 : 256;
		void *p = realloc(r->entries, nc * sizeof(*r->entries));
		if (!p) {
			c->oom = true;
			return -1;
		}
		r->entries = p;
		r->cap_entries = nc;
	}
	e = &r->entries[r->nentries];
	memset(e, 0, sizeof(*e));
	k = hn_inv_persist_kind(host);
	e->kind = k ? k : kind;
	e->path = chk_strdup(c, host);
	if (S_ISLNK(st.st_mode)) {
		char t[CHK_PATH], abs[CHK_PATH * 2];
		ssize_t n = readlink(rp, t, sizeof(t) - 1);
		if (n >= 0) {
			t[n] = '\0';
			e->target = chk_strdup(c, t);
			/* the target as a host path: relative to the link's directory */
			if (t[0] == '/')
				snprintf(abs, sizeof(abs), "%s", t);
			else
				snprintf(abs, sizeof(abs), "%.*s/%s",
					 (int)(strrchr(host, '/') - host), host, t);
			hn_path_normalize(abs);
			pkg = chk_pkg_owner(db, abs, NULL);
			e->target_package = chk_strdup(c, pkg);
		}
	}
	e->uid = st.st_uid;
	e->gid = st.st_gid;
	e->mode = st.st_mode;
	e->size = (uint64_t)st.st_size;
	e->mtime = chk_ns(st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	e->ctime = chk_ns(st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	e->user = chk_strdup(c, chk_user_name(c, st.st_uid, user, sizeof(user)));
	pkg = chk_pkg_owner(db, host, &dpath);
	if (pkg) {
		e->package = chk_strdup(c, pkg);
		if (S_ISREG(st.st_mode))
			e->modified = chk_pkg_modified(db, pkg, dpath, rp);
	}
	e->is_new = e->mtime + c->recent >= c->now || (db && !pkg && managed_place(host));
	return (long)r->nentries++;
}

static long entry_add(struct check_ctx *c, const char *kind, const char *host)
{
	return entry_add_at(c, kind, host, false);
}

static struct hn_check_finding *entry_find(struct check_ctx *c, long i, enum hn_check_sev sev,
					   bool strong, const char *rule, const char *title,
					   const char *why)
{
	struct hn_check_entry *e = &c->r->entries[i];
	struct hn_check_finding *f;
	char t[32], what[CHK_PATH + 32];
	uint64_t m = e->mtime;

	snprintf(what, sizeof(what), "%s%s%s", e->path, e->target ? " -> " : "",
		 e->target ? e->target : "");
	f = chk_find(c, HN_CHECK_PERSISTENCE, sev, strong, rule, title, what, why);
	if (!f)
		return NULL;
	f->path = chk_strdup(c, e->path);
	f->has_new = true;
	f->is_new = e->is_new;
	chk_ev(c, f, "kind", "%s", e->kind);
	chk_ev(c, f, "owner", "%s", e->user ? e->user : "?");
	chk_ev(c, f, "mode", "%04o", e->mode & 07777);
	chk_ev(c, f, "mtime", "%s", chk_time_str(m, t, sizeof(t)));
	chk_ev(c, f, "package", "%s", e->package ? e->package : "none");
	if (e->modified != HN_CHECK_UNKNOWN)
		chk_ev(c, f, "modified", "%s", e->modified == HN_CHECK_YES ? "yes" : "no");
	return f;
}

static void set_note(struct check_ctx *c, long i, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_note(struct check_ctx *c, long i, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(c->r->entries[i].note);
	c->r->entries[i].note = chk_strdup(c, buf);
}

/* Is entry i's file what its package shipped? */
static bool vouched(const struct hn_check_entry *e)
{
	return e->package && e->modified != HN_CHECK_YES;
}

/* The text of entry i (regular files only; in homes not through a link). */
static char *entry_text(struct check_ctx *c, long i, bool home, size_t *len)
{
	struct hn_check_entry *e = &c->r->entries[i];
	char rp[CHK_PATH], *buf;

	int r;

	if (!S_ISREG(e->mode))
		return NULL;
	r = chk_read(chk_rpath(c, e->path, rp, sizeof(rp)), CHK_TEXT_MAX, home ? O_NOFOLLOW : 0,
		     &buf, len, NULL);
	if (r == -EACCES || r == -EPERM)
		chk_skip(c, "persistence: %s cannot be read (permission): its content was not "
			 "checked", e->path);
	return r < 0 ? NULL : buf;
}

/* The judgement every entry gets (see the file's comment). */
static void judge_common(struct check_ctx *c, long i, unsigned fl)
{
	struct hn_check_entry *e = &c->r->entries[i];
	char line[256], target[CHK_PATH];
	const char *what;
	bool target_pkg = false;
	struct hn_check_finding *f;
	size_t len;
	char *text;

	if (vouched(e))
		return;
	if (e->target) {
		/* an enablement link: to a packaged unit is ordinary */
		if (e->target[0] == '/')
			snprintf(target, sizeof(target), "%s", e->target);
		else
			snprintf(target, sizeof(target), "%.*s/%s",
				 (int)(strrchr(e->path, '/') - e->path), e->path, e->target);
		hn_path_normalize(target);
		target_pkg = e->target_package != NULL;
		if (chk_place(target) & (CHK_PLACE_TMP | CHK_PLACE_HIDDEN)) {
			f = entry_find(c, i, HN_CHECK_HIGH, false, "persist.payload",
				       "persistence entry points into a /tmp-like or hidden place",
				       "A link that starts something kept in /tmp or a hidden "
				       "directory.");
			chk_ev(c, f, "target", "%s", target);
			return;
		}
	}
	if (e->is_new) {
		e = &c->r->entries[i];
		f = entry_find(c, i, target_pkg ? HN_CHECK_INFO : HN_CHECK_LOW, false, "persist.new",
			       target_pkg ? "packaged unit newly enabled" : "new persistence entry",
			       target_pkg ? "A link to a unit a package ships, made within the "
					    "recent window." :
					    "Changed within the recent window and not as a package "
					    "shipped it: check who made it.");
	}
	e = &c->r->entries[i];
	if (!(fl & (LD_HOME | LD_SPOOL)) && !S_ISLNK(e->mode) &&
	    (e->uid != 0 || (e->mode & S_IWOTH))) {
		f = entry_find(c, i, HN_CHECK_MEDIUM, false, "persist.writable",
			       "system persistence file writable by a non-root user",
			       "Whoever can write it gets their commands run by the system, "
			       "often as root.");
	}
	text = entry_text(c, i, fl & LD_HOME, &len);
	if (text && chk_payload_line(text, len, line, sizeof(line), &what)) {
		bool nw = c->r->entries[i].is_new;
		f = entry_find(c, i, nw ? HN_CHECK_HIGH : HN_CHECK_MEDIUM, false, "persist.payload",
			       "persistence entry runs something suspicious",
			       "Its text runs a payload the way droppers and backdoors do.");
		chk_ev(c, f, "matched", "%s", what);
		chk_ev(c, f, "line", "%s", line);
	}
	free(text);
}

typedef void (*judge_fn)(struct check_ctx *c, long i, unsigned fl);

/* A directory (dev, ino) seen already (merged /usr: /lib is /usr/lib). */
struct dirs_seen {
	uint64_t dev[DIRS_SEEN_MAX], ino[DIRS_SEEN_MAX];
	int n;
};

static bool seen_dir(struct dirs_seen *s, const struct stat *st)
{
	for (int i = 0; i < s->n; i++)
		if (s->dev[i] == (uint64_t)st->st_dev && s->ino[i] == (uint64_t)st->st_ino)
			return true;
	if (s->n < DIRS_SEEN_MAX) {
		s->dev[s->n] = (uint64_t)st->st_dev;
		s->ino[s->n++] = (uint64_t)st->st_ino;
	}
	return false;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Every file of host directory dir as an entry of kind, judged. */
static void list_dir(struct check_ctx *c, struct dirs_seen *ds, const char *dir,
		     const char *kind, unsigned fl, judge_fn judge, const char *home)
{
	char rd[CHK_PATH], real[PATH_MAX], rhome[CHK_PATH], realhome[PATH_MAX];
	struct dirent **names = NULL;
	struct stat st;
	int n;

	chk_rpath(c, dir, rd, sizeof(rd));
	if (stat(rd, &st) < 0 || !S_ISDIR(st.st_mode) || seen_dir(ds, &st))
		return;
	if (home) {
		/* a user's directory must stay inside the user's home */
		chk_rpath(c, home, rhome, sizeof(rhome));
		if (!realpath(rd, real) || !realpath(rhome, realhome) ||
		    strncmp(real, realhome, strlen(realhome)) ||
		    (real[strlen(realhome)] && real[strlen(realhome)] != '/')) {
			chk_skip(c, "persistence: %s leads outside its home: not listed", dir);
			return;
		}
	}
	n = scandir(rd, &names, NULL, by_name);
	if (n < 0) {
		if (errno == EACCES)
			chk_skip(c, "persistence: %s cannot be listed (permission)", dir);
		return;
	}
	if (n > CHK_DIR_MAX)
		chk_skip(c, "persistence: only the first %d entries of %s were looked at",
			 CHK_DIR_MAX, dir);
	for (int i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;
		char host[CHK_PATH], rp[CHK_PATH];
		struct stat es;
		long e;
		if (i >= CHK_DIR_MAX || !strcmp(nm, ".") || !strcmp(nm, ".."))
			goto next;
		if (snprintf(host, sizeof(host), "%s/%s", dir, nm) >= (int)sizeof(host))
			goto next;
		if (lstat(chk_rpath(c, host, rp, sizeof(rp)), &es) < 0)
			goto next;
		if (S_ISDIR(es.st_mode)) {
			if ((fl & LD_SUBDIRS) && (has_suffix(nm, ".wants") ||
						  has_suffix(nm, ".requires") ||
						  has_suffix(nm, ".d")))
				list_dir(c, ds, host, kind, fl & ~LD_SUBDIRS, judge, home);
			goto next;
		}
		if ((fl & LD_SO) && !has_suffix(nm, ".so"))
			goto next;
		e = entry_add(c, kind, host);
		if (e >= 0)
			judge(c, e, fl);
next:
		free(names[i]);
	}
	free(names);
}

static void one_file(struct check_ctx *c, const char *host, const char *kind, unsigned fl,
		     judge_fn judge)
{
	long e = entry_add(c, kind, host);

	if (e >= 0)
		judge(c, e, fl);
}

/* ---- kinds ---- */

static void judge_keys(struct check_ctx *c, long i, unsigned fl)
{
	size_t len;
	char *text = entry_text(c, i, true, &len);

	if (text) {
		unsigned keys = 0, forced = 0;
		for (char *p = text; p && *p;) {
			char *nl = strchr(p, '\n');
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p && *p != '#' && *p != '\n') {
				keys++;
				if (!strncmp(p, "command=", 8) || strstr(p, ",command="))
					forced++;
			}
			p = nl ? nl + 1 : NULL;
		}
		if (forced)
			set_note(c, i, "%u key%s, %u with a forced command", keys,
				 keys == 1 ? "" : "s", forced);
		else
			set_note(c, i, "%u key%s", keys, keys == 1 ? "" : "s");
		free(text);
	}
	judge_common(c, i, fl);
}

/* /etc/ld.so.preload: every process on the host loads what it names. */
static void judge_preload(struct check_ctx *c, long i, unsigned fl)
{
	size_t len;
	char *text = entry_text(c, i, false, &len), libs[512] = "", nopkg[CHK_PATH] = "";
	struct hn_check_finding *f;
	unsigned n = 0;

	(void)fl;
	for (char *p = text; p && *p;) {
		size_t k;
		char lib[CHK_PATH], rp[CHK_PATH];
		struct stat st;
		p += strspn(p, " \t\n:");
		if (*p == '#') {
			p += strcspn(p, "\n");
			continue;
		}
		k = strcspn(p, " \t\n:");
		if (!k)
			break;
		snprintf(lib, sizeof(lib), "%.*s", (int)(k < 4000 ? k : 4000), p);
		p += k;
		if (n++ < 8) {
			size_t l = strlen(libs), ll = strlen(lib);
			if (l + ll + 2 < sizeof(libs)) {
				if (l)
					libs[l++] = ' ';
				memcpy(libs + l, lib, ll + 1);
			}
		}
		if (!nopkg[0] && (!chk_pkg_owner(c->pkg, lib, NULL) ||
				  stat(chk_rpath(c, lib, rp, sizeof(rp)), &st) < 0))
			snprintf(nopkg, sizeof(nopkg), "%s", lib);
	}
	free(text);
	set_note(c, i, "%u librar%s preloaded", n, n == 1 ? "y" : "ies");
	if (!n) {
		f = entry_find(c, i, HN_CHECK_LOW, false, "persist.ld_so_preload",
			       "/etc/ld.so.preload exists (empty)",
			       "The file makes every program load the libraries it names; "
			       "hosts rarely have one.");
	} else if (nopkg[0]) {
		f = entry_find(c, i, HN_CHECK_CRITICAL, true, "persist.ld_so_preload",
			       "/etc/ld.so.preload loads a library no package ships",
			       "Every program on the host loads it: the classic userland "
			       "rootkit (hides files, processes, connections).");
		chk_ev(c, f, "library", "%s", nopkg);
	} else {
		f = entry_find(c, i, HN_CHECK_MEDIUM, false, "persist.ld_so_preload",
			       "/etc/ld.so.preload loads packaged libraries",
			       "Every program on the host loads them: unusual, even when the "
			       "libraries come from packages.");
	}
	chk_ev(c, f, "libraries", "%s", libs);
}

/* The module of a PAM line ("auth required pam_x.so args"), or NULL. */
static const char *pam_module(char *line, char **args)
{
	char *tok[4];
	int n = 0;
	char *p = line;

	p += strspn(p, " \t");
	if (*p == '#' || !*p)
		return NULL;
	if (*p == '-')
		p++;
	/* type, control (maybe "[...]"), module */
	while (*p && n < 3) {
		tok[n++] = p;
		if (*p == '[') {
			char *e = strchr(p, ']');
			p = e ? e + 1 : p + strlen(p);
		} else {
			p += strcspn(p, " \t");
		}
		if (*p)
			*p++ = '\0';
		p += strspn(p, " \t");
	}
	if (n < 3 || !strcmp(tok[0], "@include"))
		return NULL;
	*args = p;
	return tok[2];
}

static void judge_pam_conf(struct check_ctx *c, long i, unsigned fl)
{
	size_t len;
	char *text;

	judge_common(c, i, fl);
	if (vouched(&c->r->entries[i]) || !(text = entry_text(c, i, false, &len)))
		return;
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n'), *args = NULL, rp[CHK_PATH], copy[512];
		const char *mod;
		struct stat st;
		if (nl)
			*nl = '\0';
		snprintf(copy, sizeof(copy), "%.500s", p);
		mod = pam_module(p, &args);
		p = nl ? nl + 1 : NULL;
		if (!mod)
			continue;
		if (mod[0] == '/' && !chk_pkg_owner(c->pkg, mod, NULL) &&
		    stat(chk_rpath(c, mod, rp, sizeof(rp)), &st) == 0) {
			struct hn_check_finding *f = entry_find(
				c, i, HN_CHECK_HIGH, false, "persist.pam_module",
				"PAM configuration loads a module no package ships",
				"A PAM module sees every password typed at login: backdoors "
				"and password stealers hide as one.");
			chk_ev(c, f, "module", "%s", mod);
		} else if (!strcmp(chk_base(mod), "pam_exec.so")) {
			struct hn_check_finding *f = entry_find(
				c, i, HN_CHECK_LOW, false, "persist.pam_exec",
				"PAM runs a program (pam_exec)",
				"pam_exec runs a program at each login (and can be given the "
				"password).");
			chk_ev(c, f, "line", "%s", copy);
		}
	}
	free(text);
}

static void judge_pam_module(struct check_ctx *c, long i, unsigned fl)
{
	struct hn_check_entry *e = &c->r->entries[i];

	(void)fl;
	if (e->package && e->modified == HN_CHECK_YES) {
		entry_find(c, i, HN_CHECK_CRITICAL, true, "persist.pam_module",
			   "PAM module differs from its package",
			   "A modified PAM module (pam_unix.so and the like) is how logins are "
			   "backdoored and passwords stolen.");
	} else if (c->pkg && !e->package && S_ISREG(e->mode)) {
		entry_find(c, i, HN_CHECK_HIGH, false, "persist.pam_module",
			   "PAM module no package ships",
			   "A PAM module sees every password typed at login: backdoors and "
			   "password stealers hide as one.");
	} else if (e->is_new && !vouched(e)) {
		entry_find(c, i, HN_CHECK_LOW, false, "persist.new", "new persistence entry",
			   "Changed within the recent window and not as a package shipped it: "
			   "check who made it.");
	}
}

/* passwd and shadow: uid-0 accounts besides root, empty passwords. */
static void judge_accounts(struct check_ctx *c, long i, unsigned fl)
{
	const char *path = c->r->entries[i].path;
	bool shadow = has_suffix(path, "/shadow");
	bool passwd = has_suffix(path, "/passwd");
	size_t len;
	char *text;

	judge_common(c, i, fl);
	if ((!shadow && !passwd) || !(text = entry_text(c, i, false, &len)))
		return;
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n'), *f[8];
		int n;
		if (nl)
			*nl = '\0';
		n = fields(p, f, 8);
		p = nl ? nl + 1 : NULL;
		if (n < 2 || !f[0][0] || f[0][0] == '#' || f[0][0] == '+' || f[0][0] == '-')
			continue;
		if (passwd && n >= 7 && !strcmp(f[2], "0") && strcmp(f[0], "root")) {
			struct hn_check_finding *fd = entry_find(
				c, i, HN_CHECK_HIGH, true, "persist.uid0",
				"account other than root with uid 0",
				"A second uid-0 account is a root login under another name, the "
				"way backdoor accounts are made.");
			chk_ev(c, fd, "account", "%s", f[0]);
		}
		if (!f[1][0] && (shadow || n >= 7)) {
			struct hn_check_finding *fd = entry_find(
				c, i, HN_CHECK_HIGH, false, "persist.empty_password",
				"account with an empty password",
				"Anyone can log in to it without a password where the login "
				"allows it (nullok).");
			chk_ev(c, fd, "account", "%s", f[0]);
		}
	}
	free(text);
}

/* ---- kernel modules ---- */

struct kmod_file {
	char name[64];
	char *path;               /* host path */
};

static int kmod_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kmod_file *)a)->name, ((const struct kmod_file *)b)->name);
}

static void kmod_norm(char *dst, size_t n, const char *src, size_t len)
{
	size_t k = 0;

	for (size_t i = 0; i < len && k + 1 < n; i++)
		dst[k++] = src[i] == '-' ? '_' : src[i];
	dst[k] = '\0';
}

/* The module files under host dir (bounded), into *v. */
static void kmod_walk(struct check_ctx *c, const char *dir, int depth, struct kmod_file **v,
		      size_t *n, size_t *cap)
{
	static const char *const ext[] = { ".ko", ".ko.xz", ".ko.zst", ".ko.gz" };
	char ld[CHK_PATH];
	struct dirent *d;
	DIR *dh;

	if (depth > 12 || *n >= 200000)
		return;
	/* this host's: the modules loaded are its own */
	snprintf(ld, sizeof(ld), "%s%s", c->live, dir);
	dh = opendir(ld);
	if (!dh)
		return;
	while ((d = readdir(dh)) != NULL && *n < 200000) {
		char host[CHK_PATH];
		size_t l = strlen(d->d_name);
		if (d->d_name[0] == '.')
			continue;
		if (snprintf(host, sizeof(host), "%s/%s", dir, d->d_name) >= (int)sizeof(host))
			continue;
		if (d->d_type == DT_DIR) {
			kmod_walk(c, host, depth + 1, v, n, cap);
			continue;
		}
		for (size_t k = 0; k < sizeof(ext) / sizeof(ext[0]); k++) {
			size_t el = strlen(ext[k]);
			if (l <= el || strcmp(d->d_name + l - el, ext[k]))
				continue;
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 1024;
				void *p = realloc(*v, nc * sizeof(**v));
				if (!p) {
					c->oom = true;
					closedir(dh);
					return;
				}
				*v = p;
				*cap = nc;
			}
			kmod_norm((*v)[*n].name, sizeof((*v)[*n].name), d->d_name, l - el);
			(*v)[*n].path = chk_strdup(c, host);
			(*n)++;
			break;
		}
	}
	closedir(dh);
}

/* The names in PROC/modules, NUL-separated into *names (count *n); each
 * line's taint "(OE)" kept after the name as "name\0taint\0". */
static char *read_modules(struct check_ctx *c, int *err)
{
	char path[CHK_PATH], *buf;
	size_t len;
	int r;

	snprintf(path, sizeof(path), "%s/modules", c->proc);
	r = chk_read(path, 16u << 20, 0, &buf, &len, NULL);
	*err = r;
	return r < 0 ? NULL : buf;
}

static bool module_listed(const char *mods, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = mods; p && *p;) {
		const char *nl = strchr(p, '\n');
		if (!strncmp(p, name, n) && p[n] == ' ')
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

static void kernel_modules(struct check_ctx *c)
{
	struct kmod_file *files = NULL;
	size_t nfiles = 0, cap = 0;
	char release[128] = "", path[CHK_PATH], *buf, *mods, modsdir[CHK_PATH + 16];
	size_t len;
	int err;
	struct dirent *d;
	DIR *dh;

	snprintf(path, sizeof(path), "%s/sys/kernel/osrelease", c->proc);
	if (chk_read(path, 256, 0, &buf, &len, NULL) == 0) {
		snprintf(release, sizeof(release), "%.*s", (int)strcspn(buf, "\n"), buf);
		free(buf);
	}
	mods = read_modules(c, &err);
	if (!mods) {
		chk_skip(c, "kernel modules: %s/modules cannot be read (%s): this kernel loads "
			 "no modules, or they are not visible", c->proc, strerror(-err));
		return;
	}
	if (strchr(release, '/') || !release[0] || !strcmp(release, "..")) {
		chk_skip(c, "kernel modules: the kernel release is not known: module files "
			 "not checked");
	} else {
		snprintf(modsdir, sizeof(modsdir), "/lib/modules/%s", release);
		kmod_walk(c, modsdir, 0, &files, &nfiles, &cap);
		if (nfiles)
			qsort(files, nfiles, sizeof(*files), kmod_cmp);
	}
	for (const char *p = mods; *p;) {
		const char *nl = strchr(p, '\n');
		char line[512], name[64], *taint;
		struct kmod_file key = { .path = NULL }, *hit;
		struct hn_check_finding *f;
		size_t nl_len, ll = nl ? (size_t)(nl - p) : strlen(p);
		long e;
		snprintf(line, sizeof(line), "%.*s", (int)(ll < 511 ? ll : 511), p);
		p = nl ? nl + 1 : p + ll;
		/* "name size refcount deps state address [taint]" */
		nl_len = strcspn(line, " ");
		if (!nl_len || nl_len >= sizeof(name) || line[nl_len] != ' ' ||
		    !isdigit((unsigned char)line[nl_len + 1]))
			continue;
		kmod_norm(name, sizeof(name), line, nl_len);
		taint = strrchr(line, '(');
		snprintf(key.name, sizeof(key.name), "%s", name);
		hit = nfiles ? bsearch(&key, files, nfiles, sizeof(*files), kmod_cmp) : NULL;
		if (!hit) {
			char host[CHK_PATH];
			snprintf(host, sizeof(host), "/proc/modules:%s", name);
			f = chk_find(c, HN_CHECK_PERSISTENCE, HN_CHECK_HIGH, false,
				     "persist.kmod_nofile",
				     "loaded kernel module with no file under /lib/modules",
				     host, "A module loaded from elsewhere (insmod of a file since "
				     "removed): how kernel rootkits are loaded.");
			if (f) {
				f->path = chk_strdup(c, host);
				chk_ev(c, f, "module", "%s", name);
				chk_ev(c, f, "release", "%s", release);
				if (taint)
					chk_ev(c, f, "taint", "%s", taint);
			}
			continue;
		}
		e = entry_add_at(c, "kernel_module", hit->path, true);
		if (e < 0)
			continue;
		set_note(c, e, "module %s loaded%s%s", name, taint ? ", taint " : "",
			 taint ? taint : "");
		if (c->r->entries[e].package && c->r->entries[e].modified == HN_CHECK_YES) {
			entry_find(c, e, HN_CHECK_CRITICAL, true, "persist.kmod_modified",
				   "loaded kernel module differs from its package",
				   "A module file changed after install runs in the kernel.");
		} else if (c->hpkg && !c->r->entries[e].package) {
			bool dkms = strstr(hit->path, "/updates/") || strstr(hit->path, "/extra/");
			entry_find(c, e, dkms ? HN_CHECK_LOW : HN_CHECK_MEDIUM, false,
				   "persist.kmod_nopkg", "loaded kernel module no package ships",
				   dkms ? "Built on this host (DKMS places modules in updates/ "
					  "or extra/): check it is one you installed." :
					  "A module outside the packages runs in the kernel.");
		}
	}
	/* loaded modules that /proc/modules does not list: hidden */
	snprintf(path, sizeof(path), "%s/module", c->sys);
	dh = opendir(path);
	while (dh && (d = readdir(dh)) != NULL) {
		char init[CHK_PATH + 300];
		struct stat st;
		if (d->d_name[0] == '.')
			continue;
		snprintf(init, sizeof(init), "%s/%s/initstate", path, d->d_name);
		if (stat(init, &st) < 0 || module_listed(mods, d->d_name))
			continue;
		/* a second look: loaded or removed just now? */
		free(mods);
		mods = read_modules(c, &err);
		if (!mods)
			break;
		if (module_listed(mods, d->d_name) || stat(init, &st) < 0)
			continue;
		{
			char host[CHK_PATH];
			struct hn_check_finding *f;
			snprintf(host, sizeof(host), "/sys/module/%s", d->d_name);
			f = chk_find(c, HN_CHECK_PERSISTENCE, HN_CHECK_CRITICAL, true,
				     "persist.kmod_hidden",
				     "kernel module hidden from /proc/modules", host,
				     "The kernel has it loaded (sysfs) but the module list does not "
				     "show it: a kernel rootkit unlinks itself this way.");
			if (f) {
				f->path = chk_strdup(c, host);
				chk_ev(c, f, "module", "%s", d->d_name);
			}
		}
	}
	if (dh)
		closedir(dh);
	free(mods);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].path);
	free(files);
}

/* ---- the run ---- */

int chk_persist(struct check_ctx *c)
{
	static const char *const cron_dirs[] = { "/etc/cron.d", "/etc/cron.hourly",
						 "/etc/cron.daily", "/etc/cron.weekly",
						 "/etc/cron.monthly", "/etc/cron.yearly" };
	static const char *const sd_dirs[] = {
		"/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
		"/lib/systemd/system", "/usr/lib/systemd/system", "/etc/systemd/user",
		"/usr/local/lib/systemd/user", "/lib/systemd/user", "/usr/lib/systemd/user",
	};
	static const char *const rc_files[] = { ".bashrc", ".profile", ".bash_profile",
						".bash_login", ".bash_logout", ".zshrc",
						".zprofile", ".zshenv", ".zlogin" };
	static const char *const libdirs[] = { "/lib", "/usr/lib", "/lib64", "/usr/lib64" };
	struct dirs_seen *ds = calloc(1, sizeof(*ds));
	char host[CHK_PATH];

	if (!ds) {
		c->oom = true;
		return -ENOMEM;
	}
	/* cron, at */
	one_file(c, "/etc/crontab", "cron", 0, judge_common);
	one_file(c, "/etc/anacrontab", "cron", 0, judge_common);
	for (size_t i = 0; i < sizeof(cron_dirs) / sizeof(cron_dirs[0]); i++)
		list_dir(c, ds, cron_dirs[i], "cron", 0, judge_common, NULL);
	list_dir(c, ds, "/var/spool/cron/crontabs", "cron", LD_SPOOL, judge_common, NULL);
	list_dir(c, ds, "/var/spool/cron/atjobs", "at", LD_SPOOL, judge_common, NULL);
	list_dir(c, ds, "/var/spool/at", "at", LD_SPOOL, judge_common, NULL);
	list_dir(c, ds, "/var/spool/cron", "cron", LD_SPOOL, judge_common, NULL);
	/* systemd and init scripts */
	for (size_t i = 0; i < sizeof(sd_dirs) / sizeof(sd_dirs[0]); i++)
		list_dir(c, ds, sd_dirs[i], "systemd", LD_SUBDIRS, judge_common, NULL);
	list_dir(c, ds, "/etc/init.d", "systemd", 0, judge_common, NULL);
	one_file(c, "/etc/rc.local", "systemd", 0, judge_common);
	/* shells */
	one_file(c, "/etc/profile", "shell_rc", 0, judge_common);
	list_dir(c, ds, "/etc/profile.d", "shell_rc", 0, judge_common, NULL);
	one_file(c, "/etc/bash.bashrc", "shell_rc", 0, judge_common);
	one_file(c, "/etc/environment", "shell_rc", 0, judge_common);
	list_dir(c, ds, "/etc/zsh", "shell_rc", 0, judge_common, NULL);
	/* homes */
	for (size_t h = 0; h < c->nhomes; h++) {
		const char *home = c->homes[h];
		char rh[CHK_PATH];
		DIR *dh = opendir(chk_rpath(c, home, rh, sizeof(rh)));
		if (!dh) {
			if (errno == EACCES)
				chk_skip(c, "persistence: the home %s cannot be read (permission): "
					 "its rc files, keys and user units were not looked at", home);
			continue;
		}
		closedir(dh);
		for (size_t i = 0; i < sizeof(rc_files) / sizeof(rc_files[0]); i++) {
			snprintf(host, sizeof(host), "%s/%s", home, rc_files[i]);
			one_file(c, host, "shell_rc", LD_HOME, judge_common);
		}
		snprintf(host, sizeof(host), "%s/.ssh/authorized_keys", home);
		one_file(c, host, "authorized_keys", LD_HOME, judge_keys);
		snprintf(host, sizeof(host), "%s/.ssh/authorized_keys2", home);
		one_file(c, host, "authorized_keys", LD_HOME, judge_keys);
		snprintf(host, sizeof(host), "%s/.config/systemd/user", home);
		list_dir(c, ds, host, "systemd", LD_SUBDIRS | LD_HOME, judge_common, home);
	}
	/* the loader, sudo, PAM, accounts */
	one_file(c, "/etc/ld.so.preload", "ld_preload", 0, judge_preload);
	one_file(c, "/etc/sudoers", "sudoers", 0, judge_common);
	list_dir(c, ds, "/etc/sudoers.d", "sudoers", 0, judge_common, NULL);
	list_dir(c, ds, "/etc/pam.d", "pam", 0, judge_pam_conf, NULL);
	one_file(c, "/etc/pam.conf", "pam", 0, judge_pam_conf);
	for (size_t i = 0; i < sizeof(libdirs) / sizeof(libdirs[0]); i++) {
		char rd[CHK_PATH];
		struct dirent **names = NULL;
		int n;
		snprintf(host, sizeof(host), "%s/security", libdirs[i]);
		list_dir(c, ds, host, "pam", LD_SO, judge_pam_module, NULL);
		/* multiarch: /usr/lib/x86_64-linux-gnu/security */
		n = scandir(chk_rpath(c, libdirs[i], rd, sizeof(rd)), &names, NULL, alphasort);
		for (int k = 0; k < n; k++) {
			if (strstr(names[k]->d_name, "-linux-")) {
				snprintf(host, sizeof(host), "%s/%s/security", libdirs[i],
					 names[k]->d_name);
				list_dir(c, ds, host, "pam", LD_SO, judge_pam_module, NULL);
			}
			free(names[k]);
		}
		free(names);
	}
	one_file(c, "/etc/passwd", "passwd", 0, judge_accounts);
	one_file(c, "/etc/shadow", "passwd", 0, judge_accounts);
	one_file(c, "/etc/group", "passwd", 0, judge_common);
	/* kernel modules */
	one_file(c, "/etc/modules", "kernel_module", 0, judge_common);
	list_dir(c, ds, "/etc/modules-load.d", "kernel_module", 0, judge_common, NULL);
	list_dir(c, ds, "/etc/modprobe.d", "kernel_module", 0, judge_common, NULL);
	kernel_modules(c);
	free(ds);
	return 0;
}
