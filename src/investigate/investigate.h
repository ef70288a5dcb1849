/*
 * investigate.h - the story behind a process, read from the store: how the
 * attacker got in (root cause), what led to what (intrusion path), and what
 * the attack touched (impact scope).  docs/INVESTIGATE.md says how each is
 * found and what the words mean.
 *
 * Backwards from the process asked about:
 *   - its ancestors, up to the entry point: the closest one that is a way
 *     in (an ssh login, a network-facing service that accepted a
 *     connection, a scheduled job, a package install, a terminal, a program
 *     on removable media; else the service init started, else unknown),
 *     but past a package install or terminal to an ssh login or network
 *     service above it (kept as `via`);
 *   - the malicious root: the entry point's child on the way down;
 *   - deliveries: for each process from the malicious root down, every
 *     file it ran (executable, script) and who wrote it last before it ran,
 *     with the connection that writer made before writing (the download);
 *   - planted files: when that way in is not one from outside (cron, a
 *     service, the history's start) and a file the processes ran was
 *     written by a process whose own way in is (ssh, a network service,
 *     removable media), that is the story's way in and root, and how the
 *     process came is kept as `via` (cron ran what a web shell wrote).
 * Forwards from the malicious root: every descendant, and every process
 * that ran a file the tree made executable (and theirs); every file they
 * created, modified, renamed, deleted or changed the mode of; the
 * persistence points among them (hn_inv_persist_kind); every address they
 * connected to or accepted from; every process they wrote into.
 *
 * Edges honour time: a writer counts only if it wrote before the run, a
 * connection only if it came before the write.
 */
#ifndef HINOMI_INVESTIGATE_H
#define HINOMI_INVESTIGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "store/store.h"
#include "util/strbuf.h"

enum hn_inv_entry {
	HN_INV_ENTRY_UNKNOWN,     /* the history stops before a way in */
	HN_INV_ENTRY_SSH,         /* an sshd session */
	HN_INV_ENTRY_SERVICE,     /* a process that accepted a connection */
	HN_INV_ENTRY_SCHEDULED,   /* cron, atd, anacron */
	HN_INV_ENTRY_TERMINAL,    /* login, getty, a terminal, tmux, screen */
	HN_INV_ENTRY_REMOVABLE,   /* a program under /media, /mnt, /run/media */
	HN_INV_ENTRY_PACKAGE,     /* dpkg, apt, rpm, dnf, yum */
	HN_INV_ENTRY_SYSTEM,      /* a service init started, nothing else */
};

/* "ssh_login", "network_service", ... (the JSON names). */
const char *hn_inv_entry_name(enum hn_inv_entry k);

enum hn_inv_action {
	HN_INV_ACCEPTED, HN_INV_STARTED, HN_INV_EXECUTED, HN_INV_CONNECTED,
	HN_INV_CREATED, HN_INV_MODIFIED, HN_INV_RENAMED, HN_INV_CHMOD,
	HN_INV_DELETED, HN_INV_ALERT, HN_INV_READ, HN_INV_ACTION_COUNT,
};

/* "accepted", "started", ... */
const char *hn_inv_action_name(enum hn_inv_action a);

struct hn_inv_proc {
	uint64_t entity, parent;
	uint32_t pid;
	uint32_t uid;            /* its user (the real uid) */
	uint64_t start;          /* ns since the epoch */
	char *exe;               /* may be NULL */
	char *args;              /* argv joined with spaces; may be NULL */
};

/* A step of the intrusion path. */
struct hn_inv_step {
	uint64_t time;
	enum hn_inv_action action;
	uint64_t entity;
	uint32_t pid;
	char *exe;
	char *object;            /* a path, "address:port" or a rule's title */
	int64_t id;              /* the event's id (0: none, an alert) */
};

/* A file a process of the path ran, and who wrote it before. */
struct hn_inv_delivery {
	char *path;
	uint64_t runner;         /* the process that ran it */
	uint64_t writer;
	char *writer_exe;
	uint64_t time;           /* of the write */
	int64_t id;
	bool has_from;           /* the writer's connection before the write */
	struct hn_addr from;
};

struct hn_inv_file {
	enum hn_inv_action action;   /* CREATED .. DELETED, READ */
	char *path, *path2;          /* path2: a rename's new name */
	uint64_t entity, time;
	int64_t id;
	bool exec;                   /* its mode had an x bit (create, chmod) */
};

struct hn_inv_persist {
	const char *kind;        /* hn_inv_persist_kind's */
	enum hn_inv_action action;
	char *path;
	uint64_t entity, time;
	int64_t id;
};

struct hn_inv_remote {
	struct hn_addr addr;
	bool out;                /* connected to it (else accepted from it) */
	uint64_t entity, time;
	int64_t id;
};

struct hn_inv_inject {
	uint64_t target, by;
	char *exe;               /* the target's */
	const char *how;         /* "ptrace", "proc_mem" */
	uint64_t time;
	int64_t id;
};

#define HN_INV_LIST(T, name) T *name; size_t n_##name, cap_##name

struct hn_story {
	uint64_t subject;            /* the process asked about */
	/* root cause */
	enum hn_inv_entry entry;
	struct hn_inv_proc entry_proc;   /* entity 0 when none */
	bool has_remote;             /* who came in (ssh, a service) */
	struct hn_addr remote;
	uint64_t entry_time;         /* the accept, or the entry's start */
	int64_t entry_id;
	struct hn_inv_proc root;     /* the malicious root */
	/* when the process came from no way in of its own (a scheduled job,
	 * a service, the history's start) but ran a file a process with a
	 * way in from outside wrote: that writer's way in is `entry`, its
	 * root `root`, and how this process came is here (entity 0: none) */
	enum hn_inv_entry via;
	struct hn_inv_proc via_proc;
	HN_INV_LIST(struct hn_inv_delivery, deliveries);
	HN_INV_LIST(struct hn_inv_step, steps);     /* oldest first */
	/* impact scope */
	HN_INV_LIST(struct hn_inv_proc, procs);     /* the root first */
	HN_INV_LIST(struct hn_inv_file, files);
	HN_INV_LIST(struct hn_inv_persist, persist);
	HN_INV_LIST(struct hn_inv_remote, remotes);
	HN_INV_LIST(struct hn_inv_inject, injected);
	bool truncated;              /* a bound was reached: lists are partial */
};

/* The story of process `entity` as of time `at` (ns; 0: all it did).
 * alert_title, when not NULL, adds the alert as the path's last step at
 * `at`.  0, -ENOENT (the store does not know the process), -ENOMEM, or a
 * store error (hn_store_errmsg). *out: free with hn_story_free. */
int hn_investigate(struct hn_store *s, uint64_t entity, uint64_t at, const char *alert_title,
		   struct hn_story **out);
void hn_story_free(struct hn_story *st);

/* One more alert as a step of st's path (an incident's others), at the
 * end: hn_story_sort_steps puts the steps back in time order once all are
 * added.  0 or -ENOMEM. */
int hn_story_add_alert(struct hn_story *st, uint64_t time, uint64_t entity, uint32_t pid,
		       const char *exe, const char *title);
void hn_story_sort_steps(struct hn_story *st);

/* Only the malicious root and the entry kind of process `entity` as of
 * `at` (0: all it did), what incidents group by: cheaper than
 * hn_investigate.  *root: release with
 * hn_inv_proc_release.  0, -ENOENT, or an error. */
int hn_investigate_root(struct hn_store *s, uint64_t entity, uint64_t at,
			struct hn_inv_proc *root, enum hn_inv_entry *entry);
void hn_inv_proc_release(struct hn_inv_proc *p);

/* ---- incidents: alerts whose processes share a malicious root ---- */

struct hn_incident {
	char id[24];             /* "inc-" and the root's entity id */
	uint64_t root;           /* the malicious root's entity (0: none known) */
	char *root_exe;
	enum hn_inv_entry entry;
	char *title;             /* the most severe alert's rule, and how many */
	const char *severity;    /* the most severe alert's level */
	uint64_t first, last;    /* first and last match of its alerts */
	uint64_t matches;        /* the alerts' counts summed */
	int64_t *alerts;         /* alert ids, oldest first */
	size_t n_alerts;
};

/* Every alert of the store grouped into incidents, the newest last
 * match last.  0 or an error. */
int hn_incidents(struct hn_store *s, struct hn_incident **out, size_t *n);
void hn_incidents_free(struct hn_incident *v, size_t n);

/* ---- the graph, and drawing it (render.c) ---- */

enum hn_gnode_kind { HN_GNODE_PROCESS, HN_GNODE_FILE, HN_GNODE_FILES, HN_GNODE_REMOTE,
		     HN_GNODE_USER };

/* Roles of a node (bits). */
#define HN_GROLE_ENTRY    0x01u   /* the entry point, or who came in */
#define HN_GROLE_ROOT     0x02u   /* the malicious root */
#define HN_GROLE_ALERT    0x04u   /* a process an alert names */
#define HN_GROLE_IMPACTED 0x08u   /* part of the impact scope */
#define HN_GROLE_PATH     0x10u   /* on the intrusion path */
#define HN_GROLE_PERSIST  0x20u   /* a persistence point */
#define HN_GROLE_INJECTED 0x40u   /* a process written into */

struct hn_gnode {
	char id[40];             /* "p" entity, "f" path hash, "g" group, "r" addr */
	enum hn_gnode_kind kind;
	char *label;             /* what a drawing shows */
	char *detail;            /* argv, a full path, an address */
	char *dir;               /* files: their directory */
	unsigned roles;
	uint64_t entity;         /* processes */
	size_t count;            /* a group: its files */
};

struct hn_gedge {
	size_t from, to;         /* node indexes */
	char action[16];         /* "started", "created", "connected", ... */
	size_t count;            /* the same edge this many times */
	bool path;               /* on the intrusion path */
};

struct hn_graph {
	struct hn_gnode *nodes;
	size_t n_nodes;
	struct hn_gedge *edges;
	size_t n_edges;
};

const char *hn_gnode_kind_name(enum hn_gnode_kind k);
/* The name of one role bit ("entry_point", "malicious_root", "alert",
 * "impacted", "path", "persistence", "injected"). */
const char *hn_grole_name(unsigned bit);

/* The story as a graph: processes, files (a process's files of one action
 * in one directory past 8 are one node), remote ends; roles on nodes;
 * the user the attack ran as (its session: an ssh login's user); the same
 * edge once with a count.  0 or -ENOMEM; free with hn_graph_free. */
int hn_story_graph(const struct hn_story *st, struct hn_graph **out);
void hn_graph_free(struct hn_graph *g);
/* The graph as Graphviz DOT text appended to b: files in a cluster per
 * directory, the intrusion path in red.  0 or -ENOMEM. */
int hn_graph_dot(const struct hn_graph *g, struct hn_strbuf *b);
/* hn_story_graph, then hn_graph_dot. */
int hn_story_dot(const struct hn_story *st, struct hn_strbuf *b);
/* DOT laid out by Graphviz ("dot") as SVG: *svg malloc'd, NUL-ended, *n
 * bytes.  0, -EINVAL (DOT Graphviz does not read), -EIO, -ENOMEM. */
int hn_dot_svg(const char *dot, char **svg, size_t *n);

/* The persistence point a path is ("cron", "at", "systemd", "shell_rc",
 * "authorized_keys", "ld_preload", "sudoers", "pam", "passwd",
 * "kernel_module"), or NULL. */
const char *hn_inv_persist_kind(const char *path);

/* The process to investigate for a path: the newest that ran it, else the
 * newest that wrote it.  0 or -ENOENT. */
int hn_investigate_path_subject(struct hn_store *s, const char *path, uint64_t *entity,
				uint64_t *at);

#endif
