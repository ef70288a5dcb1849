/*
 * check_int.h - what the check's files share: the run's context, the
 * process table, the package database, bounded reads and the helpers that
 * add findings, entries and skipped notes to the report.
 *
 * Paths: a "host path" is what the report shows ("/etc/crontab"); the
 * file is read at chk_rpath(c, host path) (the --root prefix added).
 * Processes are read under c->proc.
 */
#ifndef HINOMI_CHECK_INT_H
#define HINOMI_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "check/check.h"
#include "ioc/ioc.h"

#define CHK_PATH 4096
#define CHK_DIR  1024            /* --root, --proc, --sys: longer is refused */

/* Bounds (every one reported in the skipped list when hit). */
#define CHK_PROCS_MAX      100000    /* processes looked at */
#define CHK_FDS_PER_PROC   65536     /* descriptors read per process */
#define CHK_FDS_MAX        2000000   /* descriptors read in all */
#define CHK_SOCKS_MAX      65536     /* sockets kept */
#define CHK_NETNS_MAX      256       /* network namespaces read */
#define CHK_DIR_MAX        20000     /* entries listed per directory */
#define CHK_USERS_MAX      65536     /* accounts read from passwd */
#define CHK_HOMES_MAX      4096      /* homes looked into */
#define CHK_ENTRIES_MAX    200000    /* persistence entries */
#define CHK_FINDINGS_MAX   20000     /* findings (more are counted) */
#define CHK_EXES_MAX       8192      /* distinct executables hashed */
#define CHK_TEXT_MAX       (1u << 20)  /* a config file read for content */
#define CHK_HASH_MAX       (512ull << 20) /* an executable hashed */

/* Places (bits of a path's classification, chk_place). */
#define CHK_PLACE_TMP      0x1u   /* /tmp, /var/tmp, /dev (and /dev/shm),
				   * /run/user, /run/shm, /run/lock */
#define CHK_PLACE_HIDDEN   0x2u   /* a component starting with '.' */
#define CHK_PLACE_TOOLDIR  0x4u   /* a home's well-known toolchain dir
				   * (.cargo, .pyenv, .local, ...) */
#define CHK_PLACE_SYSTEM   0x8u   /* /usr, /bin, /sbin, /lib*, /opt */

struct chk_proc {
	uint32_t pid, ppid, uid;
	bool kthread;
	char comm[32];
	char *exe;               /* readlink text; NULL when unreadable */
	int exe_err;             /* errno when unreadable */
	char *exe_path;          /* exe without " (deleted)" */
	bool deleted, memfd;
	bool exe_stat;           /* dev/ino below are valid */
	uint64_t exe_dev, exe_ino;
	unsigned place;          /* chk_place(exe_path) */
	const char *pkg;         /* the executable's package, or NULL */
	char *cmdline;           /* NUL-separated argv, NUL-terminated */
	size_t cmdline_len;
	char *preload;           /* LD_PRELOAD=... / LD_AUDIT=... found, or NULL */
	bool fds_read;           /* its descriptors could be read */
	int exe_idx;             /* index in the distinct executables, or -1 */
};

/* A distinct running executable (by dev and inode). */
struct chk_exe {
	uint64_t dev, ino;
	uint32_t pid;            /* one process running it: read through
				  * PROC/PID/exe */
	char *path;              /* as /proc shows it */
	char sha256[65];         /* "" until hashed */
	char sha1[41], md5[33];
};

struct chk_user {
	char *name;
	uint32_t uid;
	char *home;
};

struct chk_pkgdb;

struct check_ctx {
	const struct hn_check_opts *o;
	struct hn_check_report *r;
	char root[CHK_DIR];      /* "" for "/": no trailing slash */
	char live[CHK_DIR];      /* prefix of this host's own files read for
				  * its live state (a loaded module's file):
				  * "", or root when proc is a fake one */
	char proc[CHK_DIR];
	char sys[CHK_DIR];
	uint64_t now, recent;
	bool is_root;
	bool oom;                /* an allocation failed: the run fails */
	unsigned dropped_findings;
	struct chk_pkgdb *pkg;   /* the root's (persistence); NULL: none */
	struct chk_pkgdb *hpkg;  /* this host's (processes, sockets, setuid
				  * files): pkg itself without --root */
	struct hn_ioc_set *ioc;
	struct chk_proc *procs;
	size_t nprocs;
	struct chk_exe *exes;
	size_t nexes;
	struct chk_user *users;
	size_t nusers;
	char **homes;
	size_t nhomes;
};

/* ---- check.c: helpers ---- */

/* root + host path, into buf (n bytes; "" when it does not fit). */
const char *chk_rpath(const struct check_ctx *c, const char *host, char *buf, size_t n);
/* Read at most max bytes of the file at path (flags: extra O_ flags such
 * as O_NOFOLLOW): non-blocking, regular files only (a /proc file is one).
 * 0 with *out (NUL-terminated, caller frees) and *len; *trunc (may be
 * NULL) true when the file had more.  -errno otherwise. */
int chk_read(const char *path, size_t max, int flags, char **out, size_t *len, bool *trunc);
/* The place bits of a host path. */
unsigned chk_place(const char *path);
/* The base name of a path ("" for NULL). */
const char *chk_base(const char *path);
/* Copy with control characters made '?' (for one-line evidence). */
char *chk_strdup(struct check_ctx *c, const char *s);
char *chk_strndup(struct check_ctx *c, const char *s, size_t n);
char *chk_printf(struct check_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Add a finding (strings copied); NULL when out of memory or over the
 * bound (counted).  Evidence with chk_ev. */
struct hn_check_finding *chk_find(struct check_ctx *c, enum hn_check_family fam,
				  enum hn_check_sev sev, bool strong, const char *rule,
				  const char *title, const char *what, const char *why);
void chk_ev(struct check_ctx *c, struct hn_check_finding *f, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A skipped note (printf-style). */
void chk_skip(struct check_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The user name of uid (from the root's passwd), or "uid N", into buf. */
const char *chk_user_name(const struct check_ctx *c, uint32_t uid, char *buf, size_t n);
/* ns since the epoch of a timespec-like pair. */
uint64_t chk_ns(int64_t sec, long nsec);
/* RFC 3339 UTC with seconds, into buf (>= 32). */
const char *chk_time_str(uint64_t ns, char *buf, size_t n);
/* Lines of text that look like a payload being run (a /tmp-like path, a
 * /dev/tcp redirection, a download piped to a shell, base64 decoding,
 * netcat -e, LD_PRELOAD): the first such line (trimmed, cut at 200
 * bytes) into line and what it matched into what; false when none.
 * Comment lines ('#' first) are skipped. */
bool chk_payload_line(const char *text, size_t len, char *line, size_t nline,
		      const char **what);

/* ---- pkg.c: the Debian package database ---- */

/* Read root/var/lib/dpkg (info/ *.list and status); NULL when there is
 * none (or no memory: *oom set). */
struct chk_pkgdb *chk_pkg_open(const char *root, bool *oom, unsigned *paths);
void chk_pkg_free(struct chk_pkgdb *db);
/* The package that ships path (merged-/usr aliases tried: /bin/x and
 * /usr/bin/x are one), or NULL; its name as dpkg lists it ("name" or
 * "name:arch").  dpath (may be NULL) gets the path as dpkg names it. */
const char *chk_pkg_owner(const struct chk_pkgdb *db, const char *path,
			  const char **dpath);
/* Is the file at rpath (host path path, shipped by pkg) as installed?
 * HN_CHECK_YES modified, HN_CHECK_NO not, HN_CHECK_UNKNOWN when the
 * package records no MD5 for it. */
enum hn_check_tri chk_pkg_modified(struct chk_pkgdb *db, const char *pkg, const char *dpath,
				   const char *rpath);

/* ---- the families ---- */
int chk_users_load(struct check_ctx *c);        /* persist.c: passwd, homes */
int chk_procs(struct check_ctx *c);             /* procs.c */
int chk_net(struct check_ctx *c);               /* net.c */
int chk_persist(struct check_ctx *c);           /* persist.c */
int chk_suid(struct check_ctx *c);              /* suid.c */
int chk_ioc_load(struct check_ctx *c, char *err, size_t nerr); /* iocexe.c */
int chk_exes_collect(struct check_ctx *c);      /* iocexe.c */
int chk_ioc_exes(struct check_ctx *c);          /* iocexe.c */
int check_yara_exes(struct check_ctx *c);       /* yara.c */
void chk_verdict(struct check_ctx *c);          /* report.c */

/* procs.c: a process by pid (binary search), or NULL. */
struct chk_proc *chk_proc_find(struct check_ctx *c, uint32_t pid);
/* procs.c: is the process's executable a shell, netcat/socat, or an
 * interpreter?  "shell", "netcat", "interpreter" or NULL. */
const char *chk_proc_tool(const struct chk_proc *p);

#endif
