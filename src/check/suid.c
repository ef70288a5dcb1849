/*
 * suid.c - setuid and setgid files on the local file systems: a walk from
 * "/" (or the --suid-root directories) that never follows a symbolic
 * link, does not enter pseudo file systems (proc, sysfs, devtmpfs,
 * cgroup, ...), network ones (nfs, cifs, ceph, 9p, virtiofs, fuse.*) or
 * read-only images (squashfs: snaps), and stops at a file count and a
 * time bound; a bound hit is reported.
 *
 * Judged (setgid only: one step lower; on a nosuid mount: low at most,
 * the bit does nothing there):
 *   a copy of a shell or interpreter (same SHA-256)   critical  suid.shell_copy
 *   named like a shell, an editor, find, an interpreter (GTFOBins: setuid
 *     it is a root shell for anyone)            high, strong  suid.shell_like
 *   no package ships it, in a /tmp-like or hidden place  high  suid.outside
 *   no package ships it, elsewhere                    medium    suid.nopkg
 *   shipped by a package outside /usr/bin, /usr/sbin, /bin, /sbin,
 *     /usr/lib, /usr/libexec                          info      suid.outside
 * Without a package database, a file in those directories is info.
 * Mount points come from PROC/self/mountinfo (file system type, nosuid);
 * a device not found there is walked (a btrfs subvolume, an overlay).
 */
#include "check/check_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "enrich/hasher.h"

#define SUID_DEPTH   128
#define SUID_MOUNTS  4096
#define SUID_FOUND   10000
#define SUID_SHELLS  8

struct mnt {
	uint64_t dev;
	char type[32];
	bool nosuid;
};

struct walk {
	struct check_ctx *c;
	struct mnt *mnts;
	int nmnts;
	uint64_t files, max_files, deadline;
	bool over_files, over_time;
	unsigned unreadable, too_deep;
	uint64_t (*found)[2];        /* dev, ino of files reported */
	unsigned nfound;
	char shells[SUID_SHELLS][65];
	int nshells;
	bool shells_done;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return chk_ns(ts.tv_sec, ts.tv_nsec);
}

static void read_mounts(struct walk *w)
{
	char path[CHK_PATH], *buf, *p;
	size_t len;

	snprintf(path, sizeof(path), "%s/self/mountinfo", w->c->proc);
	if (chk_read(path, 16u << 20, 0, &buf, &len, NULL) < 0)
		return;
	w->mnts = calloc(SUID_MOUNTS, sizeof(*w->mnts));
	for (p = buf; w->mnts && p && *p && w->nmnts < SUID_MOUNTS;) {
		char *nl = strchr(p, '\n'), *sep, opts[256] = "", type[32] = "";
		unsigned maj, min;
		if (nl)
			*nl = '\0';
		/* "id parent maj:min root point opts [optional...] - type src super" */
		sep = strstr(p, " - ");
		if (sep && sscanf(p, "%*u %*u %u:%u %*s %*s %255s", &maj, &min, opts) == 3 &&
		    sscanf(sep + 3, "%31s", type) == 1) {
			struct mnt *m = &w->mnts[w->nmnts++];
			m->dev = (uint64_t)makedev(maj, min);
			snprintf(m->type, sizeof(m->type), "%s", type);
			m->nosuid = strstr(opts, "nosuid") != NULL;
		}
		p = nl ? nl + 1 : NULL;
	}
	free(buf);
}

static const struct mnt *mount_of(const struct walk *w, uint64_t dev)
{
	for (int i = w->nmnts - 1; i >= 0; i--)   /* the latest mount wins */
		if (w->mnts[i].dev == dev)
			return &w->mnts[i];
	return NULL;
}

static bool skipped_type(const char *t)
{
	static const char *const types[] = {
		"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs",
		"debugfs", "tracefs", "bpf", "pstore", "configfs", "fusectl", "mqueue",
		"hugetlbfs", "binfmt_misc", "autofs", "efivarfs", "rpc_pipefs", "nsfs",
		"selinuxfs", "squashfs", "nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph",
		"glusterfs", "afs", "lustre", "9p", "virtiofs", "davfs", "fuse", "ncpfs",
	};

	if (!strncmp(t, "fuse.", 5) || !strncmp(t, "fuseblk", 7))
		return true;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(t, types[i]))
			return true;
	return false;
}

static bool gtfo_name(const char *b)
{
	static const char *const names[] = {
		"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "ash", "busybox",
		"find", "vim", "vi", "vim.basic", "vim.tiny", "nano", "less", "more", "awk",
		"gawk", "mawk", "nawk", "env", "cp", "mv", "tar", "zip", "nmap", "tee", "dd",
		"sed", "xargs", "strace", "gdb", "socat", "nc", "ncat", "wget", "curl", "rsync",
		"node", "nodejs", "tclsh", "lua", "php", "ruby", "perl", "python", "python2",
		"python3", "emacs", "ed", "script", "taskset", "nice", "timeout", "stdbuf",
	};
	size_t n;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(b, names[i]))
			return true;
	/* python3.11, perl5.36.0 */
	for (const char *v = "python\0perl\0ruby\0php\0lua\0"; *v; v += strlen(v) + 1) {
		n = strlen(v);
		if (!strncmp(b, v, n) && b[n] >= '0' && b[n] <= '9' &&
		    strspn(b + n, "0123456789.") == strlen(b + n))
			return true;
	}
	return false;
}

/* The SHA-256s of this host's shells and interpreters, once. */
static void shells_hash(struct walk *w)
{
	static const char *const paths[] = { "/bin/bash", "/bin/dash", "/bin/zsh", "/bin/ksh",
					     "/bin/busybox", "/usr/bin/python3",
					     "/usr/bin/perl", "/bin/sh" };

	if (w->shells_done)
		return;
	w->shells_done = true;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && w->nshells < SUID_SHELLS;
	     i++)
		if (hn_sha256_file(paths[i], 64u << 20, w->shells[w->nshells]) == 0)
			w->nshells++;
}

static bool usual_place(const char *p)
{
	static const char *const dirs[] = { "/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/",
					    "/usr/lib/", "/usr/libexec/" };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(p, dirs[i], strlen(dirs[i])))
			return true;
	return false;
}

static void found(struct walk *w, const char *path, const struct stat *st, const struct mnt *m)
{
	struct check_ctx *c = w->c;
	const char *pkg = chk_pkg_owner(c->hpkg, path, NULL), *b = chk_base(path);
	const char *rule = NULL, *title = NULL, *why = NULL;
	enum hn_check_sev sev = HN_CHECK_INFO;
	bool strong = false, usual = usual_place(path);
	char sha[65] = "", user[64], t[32];
	struct hn_check_finding *f;

	for (unsigned i = 0; i < w->nfound; i++)
		if (w->found[i][0] == (uint64_t)st->st_dev && w->found[i][1] == (uint64_t)st->st_ino)
			return;   /* seen through a bind mount already */
	if (w->found && w->nfound < SUID_FOUND) {
		w->found[w->nfound][0] = (uint64_t)st->st_dev;
		w->found[w->nfound++][1] = (uint64_t)st->st_ino;
	}
	c->r->stats.suid_found++;
	if (!pkg) {
		shells_hash(w);
		if (hn_sha256_file(path, 64u << 20, sha) < 0)
			sha[0] = '\0';
	}
	if (!pkg && sha[0]) {
		for (int i = 0; i < w->nshells; i++)
			if (!strcmp(sha, w->shells[i])) {
				sev = HN_CHECK_CRITICAL;
				strong = true;
				rule = "suid.shell_copy";
				title = "setuid copy of a shell or interpreter";
				why = "A setuid shell is a root shell for anyone who runs it: the "
				      "classic backdoor left after a break-in.";
			}
	}
	if (!rule && gtfo_name(b)) {
		sev = HN_CHECK_HIGH;
		strong = true;
		rule = "suid.shell_like";
		title = "setuid shell, editor or interpreter";
		why = "Setuid, this program hands its owner's rights to anyone (it can run "
		      "commands or write files): a backdoor, never a package default.";
	}
	if (!rule && !pkg) {
		unsigned place = chk_place(path);
		if (place & (CHK_PLACE_TMP | CHK_PLACE_HIDDEN)) {
			sev = HN_CHECK_HIGH;
			rule = "suid.outside";
			title = "setuid file in a /tmp-like or hidden place";
			why = "No package puts setuid files there; one made there is a way back "
			      "to root.";
		} else if (!c->hpkg && usual) {
			sev = HN_CHECK_INFO;
			rule = "suid.nopkg";
			title = "setuid file (no package database to vouch for it)";
			why = "In a system directory; without a package database its origin is "
			      "not known.";
		} else {
			sev = HN_CHECK_MEDIUM;
			rule = "suid.nopkg";
			title = "setuid file no package ships";
			why = "A setuid file installed by hand runs with its owner's rights for "
			      "anyone: check it is wanted.";
		}
	}
	if (!rule && !usual) {
		sev = HN_CHECK_INFO;
		rule = "suid.outside";
		title = "packaged setuid file outside the system directories";
		why = "A package ships it setuid outside /usr/bin, /usr/sbin, /usr/lib and "
		      "/usr/libexec.";
	}
	if (!rule)
		return;
	if (!(st->st_mode & S_ISUID) && sev > HN_CHECK_INFO) {
		sev = (enum hn_check_sev)(sev - 1);
		strong = false;
	}
	if (m && m->nosuid && sev > HN_CHECK_LOW) {
		sev = HN_CHECK_LOW;
		strong = false;
	}
	f = chk_find(c, HN_CHECK_SETUID, sev, strong, rule, title, path, why);
	if (!f)
		return;
	f->path = chk_strdup(c, path);
	chk_ev(c, f, "mode", "%04o (%s%s)", st->st_mode & 07777,
	       st->st_mode & S_ISUID ? "setuid" : "", st->st_mode & S_ISUID &&
	       st->st_mode & S_ISGID ? "+setgid" : st->st_mode & S_ISGID ? "setgid" : "");
	chk_ev(c, f, "owner", "%s", chk_user_name(c, st->st_uid, user, sizeof(user)));
	chk_ev(c, f, "gid", "%u", (unsigned)st->st_gid);
	chk_ev(c, f, "mtime", "%s", chk_time_str(chk_ns(st->st_mtim.tv_sec, st->st_mtim.tv_nsec),
						 t, sizeof(t)));
	chk_ev(c, f, "package", "%s", pkg ? pkg : "none");
	if (sha[0])
		chk_ev(c, f, "sha256", "%s", sha);
	if (m)
		chk_ev(c, f, "mount", "%s%s", m->type, m->nosuid ? " (nosuid)" : "");
}

struct frame {
	DIR *d;
	size_t plen;
	uint64_t dev;
};

static void walk(struct walk *w, const char *root)
{
	struct frame *st = calloc(SUID_DEPTH, sizeof(*st));
	char path[CHK_PATH * 2];
	struct stat rs;
	int depth = 0, fd;
	const struct mnt *m;

	if (!st) {
		w->c->oom = true;
		return;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &rs) < 0) {
		free(st);
		chk_skip(w->c, "setuid: cannot walk %s: %s", root, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	m = mount_of(w, (uint64_t)rs.st_dev);
	if (m && skipped_type(m->type)) {
		chk_skip(w->c, "setuid: %s is on a %s file system: not walked", root, m->type);
		close(fd);
		free(st);
		return;
	}
	st[0].d = fdopendir(fd);
	if (!st[0].d) {
		close(fd);
		free(st);
		return;
	}
	snprintf(path, sizeof(path), "%s", strcmp(root, "/") ? root : "");
	st[0].plen = strlen(path);
	st[0].dev = (uint64_t)rs.st_dev;
	depth = 1;
	while (depth > 0) {
		struct frame *fr = &st[depth - 1];
		struct dirent *d = readdir(fr->d);
		struct stat s;
		size_t nl;
		unsigned char type;
		if (!d) {
			closedir(fr->d);
			depth--;
			continue;
		}
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (++w->files > w->max_files) {
			w->over_files = true;
			break;
		}
		if (!(w->files & 255) && mono_ns() > w->deadline) {
			w->over_time = true;
			break;
		}
		nl = strlen(d->d_name);
		if (fr->plen + 1 + nl >= sizeof(path))
			continue;
		path[fr->plen] = '/';
		memcpy(path + fr->plen + 1, d->d_name, nl + 1);
		type = d->d_type;
		if (type != DT_DIR && type != DT_REG && type != DT_UNKNOWN)
			continue;    /* links, devices, sockets, fifos */
		if (fstatat(dirfd(fr->d), d->d_name, &s, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(s.st_mode)) {
			if (s.st_mode & (S_ISUID | S_ISGID))
				found(w, path, &s, mount_of(w, (uint64_t)s.st_dev));
			continue;
		}
		if (!S_ISDIR(s.st_mode))
			continue;
		if ((uint64_t)s.st_dev != fr->dev) {
			m = mount_of(w, (uint64_t)s.st_dev);
			if (m && skipped_type(m->type))
				continue;
		}
		if (depth >= SUID_DEPTH) {
			w->too_deep++;
			continue;
		}
		fd = openat(dirfd(fr->d), d->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			w->unreadable++;
			continue;
		}
		st[depth].d = fdopendir(fd);
		if (!st[depth].d) {
			close(fd);
			continue;
		}
		st[depth].plen = fr->plen + 1 + nl;
		st[depth].dev = (uint64_t)s.st_dev;
		depth++;
	}
	while (depth > 0)
		closedir(st[--depth].d);
	free(st);
}

int chk_suid(struct check_ctx *c)
{
	struct walk w;
	const char *def = "/";
	const char *const *roots = c->o->nsuid_roots ? c->o->suid_roots : &def;
	int nroots = c->o->nsuid_roots ? c->o->nsuid_roots : 1;
	uint64_t max_ns = c->o->suid_max_ns ? c->o->suid_max_ns : HN_CHECK_SUID_NS;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.max_files = c->o->suid_max_files ? c->o->suid_max_files : HN_CHECK_SUID_FILES;
	w.deadline = mono_ns() + max_ns;
	w.found = calloc(SUID_FOUND, sizeof(*w.found));
	read_mounts(&w);
	c->r->stats.suid_walked = true;
	for (int i = 0; i < nroots && !w.over_files && !w.over_time; i++)
		walk(&w, roots[i]);
	c->r->stats.suid_files = w.files > w.max_files ? w.max_files : w.files;
	c->r->stats.suid_files_bound = w.over_files;
	c->r->stats.suid_time_bound = w.over_time;
	if (w.over_files)
		chk_skip(c, "setuid: the walk stopped at its bound of %llu files: the rest was "
			 "not looked at", (unsigned long long)w.max_files);
	if (w.over_time)
		chk_skip(c, "setuid: the walk stopped at its time bound (%.1f s) after %llu "
			 "files: the rest was not looked at", (double)max_ns / 1e9,
			 (unsigned long long)w.files);
	if (w.unreadable)
		chk_skip(c, "setuid: %u directories could not be opened", w.unreadable);
	if (w.too_deep)
		chk_skip(c, "setuid: %u directories deeper than %d levels were not entered",
			 w.too_deep, SUID_DEPTH);
	free(w.mnts);
	free(w.found);
	return 0;
}
