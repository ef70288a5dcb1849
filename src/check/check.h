/*
 * check.h - a quick compromise assessment of this host, without history:
 * what runs, what listens, what persists, what is setuid, and whether a
 * running executable is a known-bad one, read now from /proc and the file
 * system, judged, and summed up in a verdict.  docs/CHECK.md says what
 * each family looks at, why, and the verdict's rules.
 *
 * The families (one file each):
 *   procs.c    every process: executable deleted, a memfd, under /tmp-like
 *              places or a hidden directory; LD_PRELOAD / LD_AUDIT in its
 *              environment; a name dressed as a kernel thread or a system
 *              daemon; kernel threads are skipped
 *   net.c      listening TCP, bound UDP, raw and packet sockets of every
 *              network namespace seen, mapped to processes by their socket
 *              inodes: no owner ("hidden"), or an owner that runs from an
 *              unusual place or is a shell, netcat or an interpreter
 *   persist.c  every persistence entry (cron, at, systemd units and their
 *              enablement links, shell rc files, authorized_keys,
 *              ld.so.preload, sudoers, PAM, passwd/shadow, kernel modules)
 *              with owner, mode, times, owning package, "modified since
 *              install" and "new"; findings for those that look wrong
 *   suid.c     setuid/setgid files on local file systems (a bounded walk)
 *   iocexe.c   the SHA-256 (SHA-1, MD5 when lists name them) of each
 *              distinct running executable against the IOC lists
 *   yara.c     YARA on running executables (not in this build: says so)
 *   pkg.c      the Debian package database: who ships a path, and its
 *              installed MD5 (md5sums, conffiles)
 *   report.c   the verdict and the JSON report
 *
 * Trust: everything read from /proc and the file system is untrusted input
 * (a process controls its comm, argv, environment and the names of its
 * files; any user controls files in their home and in /tmp): every read is
 * bounded, every parse checks its lengths, nothing is executed or
 * followed blindly (files in homes are opened O_NOFOLLOW, the setuid walk
 * never follows a link, reads are non-blocking so a FIFO cannot stall
 * it).  Malformed input is skipped and counted, never fatal.  What dpkg
 * vouches for (a file it ships whose MD5 still matches) is trusted.
 *
 * Invariants: the check changes nothing on the host (it only reads; the
 * CLI records the run as an action in the store); it ends in bounded time
 * (the walk has a file and a time bound, every list a count bound, and a
 * bound hit is reported, never silent); what could not be seen (not root,
 * a process's descriptors unreadable) is listed in the report's
 * "skipped", and a judgement that needs it (a "hidden" listener) is not
 * made without it.
 *
 * Library code does not print: the report is data (and JSON through
 * hn_check_json); the CLI renders the text.
 */
#ifndef HINOMI_CHECK_H
#define HINOMI_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

enum hn_check_sev {
	HN_CHECK_INFO = 0,
	HN_CHECK_LOW,
	HN_CHECK_MEDIUM,
	HN_CHECK_HIGH,
	HN_CHECK_CRITICAL,
	HN_CHECK_SEV_COUNT,
};

/* "info", "low", "medium", "high", "critical". */
const char *hn_check_sev_name(enum hn_check_sev s);

enum hn_check_family {
	HN_CHECK_PROCESS = 0,
	HN_CHECK_NETWORK,
	HN_CHECK_PERSISTENCE,
	HN_CHECK_SETUID,
	HN_CHECK_IOC,
	HN_CHECK_YARA,
	HN_CHECK_FAMILY_COUNT,
};

/* "process", "network", "persistence", "setuid", "ioc", "yara". */
const char *hn_check_family_name(enum hn_check_family f);

enum hn_check_verdict {
	HN_CHECK_CLEAN = 0,        /* nothing above low */
	HN_CHECK_SUSPICIOUS,       /* a medium or high finding */
	HN_CHECK_COMPROMISED,      /* a critical finding, or a high one with
	                            * strong evidence */
};

/* "clean", "suspicious", "compromised". */
const char *hn_check_verdict_name(enum hn_check_verdict v);

#define HN_CHECK_EVIDENCE_MAX 16

struct hn_check_kv {
	char *key;
	char *value;
};

/* One finding.  Strings are owned by the report; any may be NULL. */
struct hn_check_finding {
	enum hn_check_family family;
	enum hn_check_sev sev;
	bool strong;             /* decisive alone: makes "compromised" */
	bool driver;             /* one of those the verdict rests on */
	const char *rule;        /* static: "proc.deleted_exe", ... */
	char *title;             /* one line */
	char *what;              /* "pid 1234 /tmp/x (deleted)", a path, ... */
	char *why;               /* one sentence */
	uint32_t pid;            /* the process, 0 for none */
	char *path;              /* the file, or NULL */
	uint16_t port;           /* network findings: the local port */
	bool has_new;            /* persistence: is_new says */
	bool is_new;
	struct hn_check_kv ev[HN_CHECK_EVIDENCE_MAX];
	int nev;
};

enum hn_check_tri {
	HN_CHECK_UNKNOWN = 0,
	HN_CHECK_NO,
	HN_CHECK_YES,
};

/* One persistence entry (every one found, with or without a finding). */
struct hn_check_entry {
	const char *kind;        /* hn_inv_persist_kind's names: "cron", "at",
	                          * "systemd", "shell_rc", "authorized_keys",
	                          * "ld_preload", "sudoers", "pam", "passwd",
	                          * "kernel_module" */
	char *path;              /* as on the host (without --root) */
	char *target;            /* a symbolic link's target, or NULL */
	char *target_package;    /* the package that ships the target, or NULL */
	char *user;              /* the owner's name, or "uid N" */
	uint32_t uid, gid, mode; /* mode: st_mode (type and permissions) */
	uint64_t size;
	uint64_t mtime, ctime;   /* ns since the epoch */
	char *package;           /* the package that ships it, or NULL */
	enum hn_check_tri modified;  /* against the package's MD5 */
	bool is_new;             /* mtime within --recent, or not from a
	                          * package in a place only packages fill */
	char *note;              /* "3 keys", "loaded, taint OE", ... */
};

/* A socket found listening (TCP), bound (UDP), raw or packet. */
#define HN_CHECK_SOCK_OWNERS 4
struct hn_check_sock {
	char proto[8];           /* "tcp", "tcp6", "udp", "udp6", "raw",
	                          * "raw6", "packet" */
	char addr[64];           /* local address ("" for packet) */
	uint16_t port;           /* raw: the protocol number */
	uint64_t inode;
	uint32_t pids[HN_CHECK_SOCK_OWNERS];
	int npids;               /* owners found (more are not kept) */
	char *exe;               /* the first owner's executable, or NULL */
};

struct hn_scan_rules;

struct hn_check_opts {
	const char *root;          /* prefix of every persistence path (a
	                            * mounted image, a test's fake tree);
	                            * NULL: "/" */
	const char *proc;          /* NULL: "/proc"; a fake one (tests) makes
	                            * the files of loaded modules be looked
	                            * up under root too */
	const char *sys;           /* NULL: "/sys" */
	const char *const *suid_roots;  /* where the setuid walk starts;
	                                 * none: "/" */
	int nsuid_roots;
	bool no_suid;              /* no setuid walk */
	uint64_t suid_max_files;   /* 0: HN_CHECK_SUID_FILES */
	uint64_t suid_max_ns;      /* 0: HN_CHECK_SUID_NS */
	uint64_t recent_ns;        /* "new" when changed within; 0: 7 days */
	uint64_t now_ns;           /* 0: now */
	const struct hn_scan_rules *yara;  /* YARA rules for the running
	                            * executables (scan.h); NULL: none */
	const char *const *iocs;   /* IOC lists (files or directories) */
	int nioc;
	bool no_default_iocs;      /* none given: not $HINOMI_IOC and
	                            * /etc/hinomi/ioc either */
};

#define HN_CHECK_SUID_FILES 2000000ull
#define HN_CHECK_SUID_NS    (10ull * 1000000000ull)
#define HN_CHECK_RECENT_NS  (7ull * 86400ull * 1000000000ull)

struct hn_check_report {
	enum hn_check_verdict verdict;
	char host[256];
	uint64_t time;             /* started, ns since the epoch */
	uint64_t duration_ns;
	bool root;                 /* ran with full privileges */
	unsigned counts[HN_CHECK_SEV_COUNT];
	struct hn_check_finding *findings;
	size_t nfindings, cap_findings;
	struct hn_check_entry *entries;
	size_t nentries, cap_entries;
	struct hn_check_sock *socks;
	size_t nsocks, cap_socks;
	char **skipped;            /* what could not be seen, and why */
	size_t nskipped, cap_skipped;
	struct {
		unsigned processes, kernel_threads, executables, hashed;
		unsigned ioc_indicators;
		uint64_t suid_files;           /* files the walk looked at */
		unsigned suid_found;           /* setuid/setgid files */
		bool suid_walked, suid_files_bound, suid_time_bound;
		bool packages;                 /* a package database was read */
		unsigned package_paths;
	} stats;
};

/*
 * Run the check.  0 with *out (free with hn_check_report_free), or -errno
 * with why in err: an IOC list given that cannot be read (-ENOENT, ...),
 * -ENOMEM.  What cannot be read on the host is not an error: it is in
 * the report's skipped list.
 */
int hn_check_run(const struct hn_check_opts *o, struct hn_check_report **out,
		 char *err, size_t nerr);
void hn_check_report_free(struct hn_check_report *r);

/* The exit code the CLI gives a verdict: 0 clean, 3 suspicious, 4
 * compromised. */
int hn_check_exit_code(enum hn_check_verdict v);

/* The report as one JSON object (no newline): verdict, host, time,
 * duration_ms, root, counts, driven_by, findings, persistence, sockets,
 * skipped, stats.  0 or -ENOMEM / -EINVAL. */
int hn_check_json(const struct hn_check_report *r, struct hn_strbuf *sb);

/* {"verdict":..,"counts":{..},"duration_ms":..}: the action's detail. */
int hn_check_summary_json(const struct hn_check_report *r, struct hn_strbuf *sb);

#endif
