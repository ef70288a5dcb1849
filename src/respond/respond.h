/*
 * respond.h - acting on a host after an intrusion, and the record of it.
 *
 * Each response is an action recorded in the store (store.h: struct
 * hn_action, table `actions`): who, when, what it was asked to act on,
 * and exactly what it changed, with what its undo needs.  An action is
 * recorded as "running" before it changes anything and finished with
 * its outcome, so a crash mid-way leaves a row that says so.
 *
 * The parts (one file each):
 *   respond.c    the context (store, state directory, who), action records
 *   vault.c      quarantine: files moved into a root-only vault, encrypted
 *                so that scanners do not fire on it, with their metadata;
 *                restore puts back the same bytes and metadata
 *   kill.c       stopping a process or its tree: frozen first (SIGSTOP
 *                until no member is left running or new), then killed,
 *                every member verified by entity id through a pidfd
 *   blocklist.c  the hashes whose execution is refused ($state/blocklist),
 *                enforced by the agent's exec guard (agent/exec_guard.c)
 *   remediate.c  the plan that undoes an attack from its impact scope
 *                (investigate.h), running it step by step, and undoing
 *                any recorded action
 *   isolate.c    network containment: one nftables table of ours that
 *                drops all but loopback and the allowed addresses, its
 *                state file, and its restore when the agent starts
 *
 * State kept outside the store lives in the state directory
 * (hn_respond_state_dir): the vault, the isolation state, the block list.
 * Library code does not print: errors are left in r->err.
 */
#ifndef HINOMI_RESPOND_H
#define HINOMI_RESPOND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store/store.h"
#include "util/strbuf.h"

#define HN_RESPOND_ERR_MAX 512

struct hn_respond {
	struct hn_store *store;          /* read-write; NULL: nothing recorded */
	char state_dir[4096];
	char user[160];                  /* who acts, as recorded */
	char err[HN_RESPOND_ERR_MAX];    /* why the last call failed */
};

/* The state directory: $HINOMI_STATE_DIR, else the store's directory
 * (so that a store of its own brings a vault of its own).  0 or -errno. */
int hn_respond_state_dir(const char *db_path, char *buf, size_t n);

/* Who is acting: "root", "root (login alice)", "root (sudo by alice)". */
void hn_respond_who(char *buf, size_t n);

/* Open the store read-write (created when missing) and fill r.  0, or
 * -errno with r->err set. */
int hn_respond_open(struct hn_respond *r, const char *db_path);
void hn_respond_close(struct hn_respond *r);

/* Record an action as running (parent: the action it is a step of, or
 * 0); its id into *id.  0 or -errno (r->err). */
int hn_act_begin(struct hn_respond *r, const char *kind, const char *target,
		 int64_t parent, int64_t *id);
/* Finish it: status ("done", "failed", "partial", "planned"), one line,
 * and the JSON detail (NULL: none).  0 or -errno (r->err). */
int hn_act_end(struct hn_respond *r, int64_t id, const char *status,
	       const char *summary, const char *detail);

/* Set r->err (printf-style) and return r. */
int hn_respond_fail(struct hn_respond *r, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- quarantine (vault.c) ----
 *
 * $state/quarantine/ is 0700 root.  An item is a directory q-<16 hex>/
 * holding meta.json (what follows) and data (the content, AES-256-CTR
 * with a key of its own kept in meta.json: not secrecy, only so that no
 * scanner matches the vault).  Regular files and symbolic links; a
 * hard-linked file loses only the name quarantined. */
struct hn_xattr {
	char *name;
	unsigned char *value;
	size_t len;
};

struct hn_qitem {
	char id[24];                     /* "q-" + 16 hex */
	char *path;                      /* where it was */
	char *link;                      /* a symbolic link's target, or NULL */
	uint32_t mode, uid, gid;         /* st_mode (type and permissions) */
	uint64_t size;
	struct timespec atime, mtime;
	uint64_t dev, ino;
	uint32_t nlink;
	char sha256[65];                 /* of the content ("" for a link) */
	uint64_t time;                   /* quarantined, ns since the epoch */
	int64_t action;                  /* the action that quarantined it */
	bool restored;
	struct hn_xattr *xattrs;
	int nxattrs;
};
void hn_qitem_free(struct hn_qitem *q);

/* Move path into the vault (action: the recording action's id, kept in
 * the item).  The original is removed only once the vault copy is
 * written, synced and checked.  *out (may be NULL) gets the item.
 * Refuses directories, devices, sockets, fifos and the vault itself. */
int hn_quarantine(struct hn_respond *r, const char *path, int64_t action,
		  struct hn_qitem **out);
/* The same, but the file stays where it is: a copy kept so that a change
 * to it can be undone. */
int hn_vault_copy(struct hn_respond *r, const char *path, int64_t action,
		  struct hn_qitem **out);
/* Put item id back at its path (to: elsewhere, or NULL): the same bytes
 * (checked against the SHA-256), owner, mode, timestamps and xattrs.
 * Refuses when something is at that path already.  The item stays in
 * the vault, marked restored. */
int hn_restore(struct hn_respond *r, const char *id, const char *to);
/* Put item id back over the file at its path, which must hold content
 * with SHA-256 expect_sha256 (what a remediation wrote): -ESTALE when it
 * changed since. */
int hn_restore_over(struct hn_respond *r, const char *id, const char *expect_sha256);
/* Items, oldest first; cb's non-zero return stops and is returned. */
typedef int (*hn_qitem_cb)(const struct hn_qitem *q, void *arg);
int hn_quarantine_list(struct hn_respond *r, hn_qitem_cb cb, void *arg);
/* One item; -ENOENT when there is none. */
int hn_quarantine_get(struct hn_respond *r, const char *id, struct hn_qitem **out);

/* ---- stopping processes (kill.c) ---- */
struct hn_kill_proc {
	uint32_t pid;
	uint64_t entity;                 /* 0 when the store does not know it */
	char comm[16];
	bool killed;                     /* verified gone */
};

struct hn_kill_result {
	struct hn_kill_proc *procs;
	int n;
	int gone;                        /* already exited when found */
};
void hn_kill_result_release(struct hn_kill_result *k);

/* Stop entity (or, with entity 0, the live process pid) and with tree its
 * descendants: the live ones by parent pid and, when the store knows the
 * entity, those it records as descendants (a daemonised grandchild).
 * Every member is held by a pidfd once its start time matches its
 * entity, so a reused pid is never hit; members are stopped (SIGSTOP)
 * until none is running and none is new, then killed (SIGKILL) and
 * waited for (bounded).  Refuses pid 1, kernel threads, this process and
 * its ancestors, and the agent.  -ESRCH when the process is gone. */
int hn_kill(struct hn_respond *r, uint64_t entity, uint32_t pid, bool tree,
	    struct hn_kill_result *out);

/* ---- remediation (remediate.c) ---- */
struct hn_story;

enum hn_rstep_kind {
	HN_RS_KILL,        /* a process of the attack still running: its tree */
	HN_RS_QUARANTINE,  /* a file the attack created */
	HN_RS_RESTORE,     /* a file it changed or deleted: back as before */
	HN_RS_EDIT,        /* a shared file: its lines out, the others kept */
	HN_RS_BLOCK,       /* an executable's hash */
	HN_RS_RELOAD,      /* systemctl daemon-reload */
	HN_RS_LEAVE,       /* not changed, and why (for a person to look at) */
	HN_RS_RESCAN,      /* YARA and IOC hashes over the directories the
			    * attack wrote in, once the rest is done */
};
const char *hn_rstep_kind_name(enum hn_rstep_kind k);

struct hn_rstep {
	enum hn_rstep_kind kind;
	char *path;                      /* a file; block: the file it came from */
	uint64_t entity;                 /* kill */
	uint32_t pid;
	char *exe;
	char sha256[65];                 /* block: the hash; restore/edit of an
					  * existing file: its content's as planned */
	char *why;
	unsigned char *content;          /* restore/edit: what it will hold */
	size_t len;
	bool exists;                     /* restore/edit: the file is there */
	uint32_t mode, uid, gid;         /* restore: as it was */
	int removed, kept;               /* edit: lines */
	/* set by hn_remediate_run */
	const char *status;              /* "done", "skipped", "failed" */
	char *result;
	int64_t action;
};

struct hn_scan_rules;
struct hn_ioc_set;

struct hn_rplan {
	uint64_t root;
	struct hn_rstep *steps;
	size_t n, cap;
	/* the rescan's patterns (set by the caller before hn_remediate_run;
	 * neither: the rescan is skipped, and says so) */
	const struct hn_scan_rules *rules;
	const struct hn_ioc_set *ioc;
	char **dirs;                     /* the rescan's directories */
	size_t ndirs;
	unsigned rescan_hits;            /* after the run */
};

/* What undoing st's attack takes on this host now; changes nothing.
 * 0 or -errno (r->err). */
int hn_remediate_plan(struct hn_respond *r, const struct hn_story *st, struct hn_rplan *out);
/* Run the steps in order, each an action under parent (its status and
 * result set in the step).  The number of steps that failed, or -EIO when
 * an action could not be recorded (the run stops). */
int hn_remediate_run(struct hn_respond *r, struct hn_rplan *p, int64_t parent);
void hn_rplan_release(struct hn_rplan *p);

struct hn_undo_result {
	int undone, failed, cannot;      /* cannot: a kill, an action with no undo */
	char last_err[HN_RESPOND_ERR_MAX];
};
/* Undo action id (a remediation: its steps, last first), each undo an
 * action under parent; the undone marked "undone".  0, or -errno when
 * something could not be undone (res says what). */
int hn_undo(struct hn_respond *r, int64_t id, int64_t parent, struct hn_undo_result *res);

/* ---- blocked hashes (blocklist.c) ---- */
struct hn_block_entry {
	char sha256[65];
	uint64_t time;                   /* blocked at, ns since the epoch */
	int64_t action;                  /* the action that blocked it */
	char *reason;                    /* or NULL */
};

struct hn_blocklist {
	struct hn_block_entry *v;        /* sorted by sha256 */
	int n, cap;
};

/* 64 lowercase hex digits. */
bool hn_sha256_valid(const char *s);
/* $state/blocklist into buf. */
int hn_blocklist_path(const char *state_dir, char *buf, size_t n);
/* Read the list (none: empty).  0; -EINVAL when some line was bad (the
 * first is described in err; the good ones are in *out); -errno. */
int hn_blocklist_load(const char *state_dir, struct hn_blocklist *out, char *err,
		      size_t errlen);
void hn_blocklist_release(struct hn_blocklist *b);
const struct hn_block_entry *hn_blocklist_find(const struct hn_blocklist *b,
					       const char *sha256);
/* Add / remove one hash (the file rewritten whole).  -EEXIST / -ENOENT
 * when it is / is not there; r->err says so. */
int hn_blocklist_add(struct hn_respond *r, const char *sha256, int64_t action,
		     const char *reason);
int hn_blocklist_remove(struct hn_respond *r, const char *sha256);
/* ---- isolation (isolate.c) ----
 *
 * Everything isolate adds is the nftables table `inet hinomi_isolation`
 * (HN_ISO_TABLE): chains input, output and forward at filter priority
 * with policy drop.  Accepted, regardless of connection state: loopback;
 * each allowed address (a port: TCP and UDP to and from that port on it,
 * either end, so both "we connect to ADDR:PORT" and "ADDR connects to
 * our PORT"); DHCP and DHCPv6 client traffic; IPv6 neighbour discovery
 * and MLD; with dns, the nameservers on port 53.  An established
 * connection to anything else (an intruder's) is cut.  The table is put
 * in place, or replaced, in one transaction; undo deletes that table and
 * nothing else.
 *
 * The state, $state/isolation.json (0600, written atomically), exists
 * exactly while the host is meant to be isolated; the agent applies it
 * again at start (a reboot or `nft flush ruleset` loses the table). */
#define HN_ISO_FAMILY "inet"
#define HN_ISO_TABLE "hinomi_isolation"
#define HN_ISO_STATE "isolation.json"
#define HN_ISO_MAX_ALLOW 64
#define HN_ISO_MAX_DNS 8

/* One allowed address: canonical text "10.0.0.0/24", "10.0.0.5:22",
 * "fd00::1", "[fd00::/64]:443" (host bits cleared, /32 and /128 left
 * out). */
struct hn_allow {
	char text[72];
	int family;                      /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;                      /* 32 or 128 for one address */
	unsigned port;                   /* 0: every protocol and port */
};

struct hn_isolation {
	struct hn_allow allow[HN_ISO_MAX_ALLOW];
	int nallow;
	bool dns;                        /* asked for (--dns) */
	struct hn_allow dns_servers[HN_ISO_MAX_DNS];   /* port 53 each */
	int ndns;
	uint64_t since;                  /* isolated since, ns since the epoch */
	char by[160];                    /* who isolated last (respond.h: who) */
	int64_t action;                  /* that action's id (0: not recorded) */
};

/* Parse "ADDR", "ADDR/LEN", "IPV4[/LEN]:PORT", "[IPV6[/LEN]]:PORT" (or
 * "[IPV6]/LEN:PORT") into *out.  0, or -EINVAL with why set (a /0
 * prefix, which would allow everything, is refused too). */
int hn_allow_parse(const char *s, struct hn_allow *out, char *why, size_t n);
/* Parse s and add it to st->allow unless there already.  0, -EINVAL
 * (why), -E2BIG (more than HN_ISO_MAX_ALLOW). */
int hn_isolation_allow(struct hn_isolation *st, const char *s, char *why, size_t n);
/* st->dns = true, and the nameservers of resolv_conf into st->dns_servers
 * (loopback ones are skipped: loopback stays reachable; when only those
 * are listed, systemd-resolved's upstream servers from
 * /run/systemd/resolve/resolv.conf are used where that file exists).
 * The count added, or -errno (why) when resolv_conf cannot be read. */
int hn_isolation_dns(struct hn_isolation *st, const char *resolv_conf, char *why, size_t n);

/* The table's text (what is applied, one statement per line) appended
 * to sb; -ENOMEM. */
int hn_isolation_ruleset(const struct hn_isolation *st, struct hn_strbuf *sb);
/* The allow list in one line ("10.0.0.5:22, fd00::1; DNS 10.0.0.53"), or
 * "nothing" when empty; into buf. */
void hn_isolation_describe(const struct hn_isolation *st, char *buf, size_t n);

/* Whether nftables can be used here: the library starts and the kernel
 * answers `list tables`.  0, or -EOPNOTSUPP with r->err saying why. */
int hn_isolation_check(struct hn_respond *r);
/* Our table as the kernel lists it now: 0 and *text (malloc'd), -ENOENT
 * when it is not there, other -errno with r->err. */
int hn_isolation_table(struct hn_respond *r, char **text);
/* Put st's table in place in one transaction, replacing ours when it is
 * there (nothing else is touched).  *ruleset (may be NULL; malloc'd) gets
 * the table text applied.  0, or -errno with r->err and nothing changed. */
int hn_isolation_apply(struct hn_respond *r, const struct hn_isolation *st, char **ruleset);
/* Write st to $state/isolation.json (temp file, fsync, rename).  0 or
 * -errno (r->err). */
int hn_isolation_save(struct hn_respond *r, const struct hn_isolation *st);
/* Read $state/isolation.json into *st.  0; -ENOENT when not isolated;
 * -EINVAL (r->err) when it does not read as ours. */
int hn_isolation_load(struct hn_respond *r, struct hn_isolation *st);
/* Delete our table (when there: *deleted, may be NULL, gets its listing
 * first) and the state file.  *had_table and *had_state say what was
 * there.  0 or -errno (r->err). */
int hn_unisolate(struct hn_respond *r, char **deleted, bool *had_table, bool *had_state);
/* The action's detail JSON: the allow list, dns and its servers, the
 * table text applied (ruleset) and the one it replaced (NULL: none). */
int hn_isolation_detail(const struct hn_isolation *st, const char *ruleset,
			const char *replaced, struct hn_strbuf *sb);

/* Does the state directory of db_path say this host is isolated?  (The
 * agent's status.) */
bool hn_isolated(const char *db_path);
/* For the agent at start: when isolated, apply the saved table again and
 * record that as an "isolate" action by who.  1 when restored, 0 when not
 * isolated, -errno when it failed; msg gets a line to print (1 and <0). */
int hn_isolation_restore(const char *db_path, const char *who, char *msg, size_t n);

#endif
