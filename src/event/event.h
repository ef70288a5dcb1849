/*
 * event.h - the hinomi event model: what every module other than the sensor
 * sees of what happened on the host.
 *
 * An event is one thing a process did (started, exited, wrote a file,
 * connected, loaded a module...).  It always names the acting process by its
 * entity id (see entity.h): pids are reused, entity ids never.
 *
 * Ownership: an event is one heap block; its string fields point into the
 * block's trailing space (hn_event_put) or are NULL.  hn_event_free() frees
 * the lot.  Strings are NUL-terminated; `args` is NUL-separated (argc parts)
 * and its length is args_len.  Paths are absolute and canonical where the
 * sensor could resolve them at event time.
 *
 * The JSON form (ecs.h) uses ECS field names; the store (store.h) keeps the
 * same fields in SQLite.  Type numbers are stored on disk: never reuse one.
 */
#ifndef HINOMI_EVENT_H
#define HINOMI_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hn_event_type {
	HN_EV_NONE = 0,
	/* process */
	HN_EV_PROCESS_START = 1,    /* exec */
	HN_EV_PROCESS_FORK = 2,     /* a new process (not a thread) */
	HN_EV_PROCESS_EXIT = 3,     /* the whole thread group ended */
	HN_EV_PROCESS_SNAPSHOT = 4, /* running when the agent started */
	HN_EV_CRED_CHANGE = 5,      /* setuid/setgid family, capset */
	HN_EV_PTRACE = 6,
	HN_EV_PROC_MEM_WRITE = 7,   /* process_vm_writev, /proc/PID/mem */
	HN_EV_MEMFD_CREATE = 8,
	/* file */
	HN_EV_FILE_CREATE = 10,
	HN_EV_FILE_OPEN_WRITE = 11,
	HN_EV_FILE_RENAME = 12,
	HN_EV_FILE_DELETE = 13,
	HN_EV_FILE_CHMOD = 14,
	HN_EV_FILE_CHOWN = 15,
	HN_EV_FILE_LINK = 16,
	HN_EV_FILE_SYMLINK = 17,
	HN_EV_FILE_TRUNCATE = 18,
	HN_EV_FILE_SETXATTR = 19,
	HN_EV_FILE_READ = 20,       /* read of a watched (sensitive) file */
	HN_EV_DIR_CREATE = 21,
	HN_EV_DIR_DELETE = 22,
	/* network */
	HN_EV_NET_CONNECT = 30,
	HN_EV_NET_ACCEPT = 31,
	HN_EV_NET_LISTEN = 32,
	HN_EV_NET_BIND = 33,
	HN_EV_NET_UDP_SEND = 34,
	HN_EV_DNS_QUERY = 35,
	/* kernel */
	HN_EV_MODULE_LOAD = 40,
	HN_EV_BPF_LOAD = 41,
	HN_EV_MOUNT = 42,
	/* hinomi itself */
	HN_EV_GAP = 50,             /* events were lost; counts in gap_* */
	HN_EV_AGENT_START = 51,
	HN_EV_AGENT_STOP = 52,
	/* the system log (logsrc.h): one line of a log file */
	HN_EV_LOG = 60,
	/* response (src/respond/, the agent's exec guard) */
	HN_EV_EXEC_BLOCKED = 70,    /* an exec refused: its file's hash is
				     * blocked (path, sha256, dev/ino/size) */
	HN_EV_TYPE_MAX = 71,
};

/* hn_event.flags */
#define HN_EVF_MEMFD         0x0001  /* executable is a memfd */
#define HN_EVF_DELETED       0x0002  /* executable had no links left */
#define HN_EVF_ARGV_TRUNC    0x0004  /* argv longer than the sensor keeps */
#define HN_EVF_SETUID_EXEC   0x0008  /* exec changed the euid */
#define HN_EVF_CREATED       0x0010  /* open created the file */
#define HN_EVF_WRITTEN       0x0020  /* write-opened file was modified */
#define HN_EVF_TRUNC         0x0040  /* opened with O_TRUNC */
#define HN_EVF_PATH_TRUNC    0x0080  /* a path was longer than the bound */
#define HN_EVF_PATH_PARTIAL  0x0100  /* path could not be fully resolved */
#define HN_EVF_INPROGRESS    0x0200  /* non-blocking connect, result pending */
#define HN_EVF_FAILED        0x0400  /* the syscall failed (result < 0) */
#define HN_EVF_SNAPSHOT      0x0800  /* built from /proc, not the kernel */
#define HN_EVF_DNS_REPLY     0x1000  /* dns_query: the server's reply (its
					  * addresses in args, argc of them) */

struct hn_addr {
	uint16_t family;     /* AF_INET, AF_INET6, AF_UNIX or 0 */
	uint16_t port;       /* host order */
	uint8_t addr[16];    /* network order; IPv4 in the first 4 bytes */
};

/* The process that acted. */
struct hn_proc {
	uint64_t entity;         /* entity id of the acting process */
	uint64_t parent_entity;  /* entity id of its parent, 0 if unknown */
	uint64_t start_time;     /* ns since the epoch */
	uint32_t pid, tid, ppid;
	uint32_t uid, gid, euid, egid;
	uint32_t auid;           /* login uid; 4294967295 = unset */
	char comm[16];
	/* Enrichment: the image in effect at event time (may be NULL). */
	const char *executable;
	const char *parent_executable;
};

struct hn_event {
	int64_t id;              /* store row id, 0 until stored */
	uint16_t type;           /* enum hn_event_type */
	uint32_t flags;          /* HN_EVF_* */
	uint64_t time;           /* ns since the epoch */
	struct hn_proc proc;
	int64_t result;          /* syscall result: fd, 0, or -errno */

	/* process start / snapshot */
	const char *filename;    /* as passed to execve */
	const char *args;        /* NUL-separated argv */
	size_t args_len;
	uint32_t argc;
	const char *cwd;
	const char *tty;
	const char *cgroup;      /* leaf cgroup name */
	const char *container_id;
	uint64_t cgroup_id;
	uint32_t sessionid;
	char sha256[65];         /* hex, "" until computed */

	/* process exit */
	int32_t exit_code;       /* exit status, -1 when killed by a signal */
	int32_t exit_signal;     /* 0 unless killed by a signal */

	/* file (also the executable's identity for process start) */
	const char *path;        /* file.path; process start: executable */
	const char *path2;       /* rename target, link/symlink target */
	uint64_t dev, ino, size, mtime;  /* mtime ns since the epoch */
	uint32_t mode;
	uint32_t oflags;
	uint32_t owner_uid, owner_gid;   /* chown */
	uint64_t cookie;         /* pairs an open with its WRITTEN close */

	/* cred change, ptrace, memory writes */
	uint32_t target_pid;
	uint64_t target_entity;
	uint64_t request;        /* ptrace request, syscall nr for cred */
	uint64_t cred_arg[3];

	/* network */
	uint16_t transport;      /* IPPROTO_TCP / IPPROTO_UDP */
	struct hn_addr src, dst;
	const char *dns_name;
	uint16_t dns_type;

	/* name: memfd name, xattr name, bpf prog name, module name/path,
	 * mount fstype; path2 holds the mount source.  A log line: name is
	 * the program that logged, args (one part) the message, filename the
	 * log file, mode the syslog priority (see logsrc.h) */
	const char *name;

	/* gap */
	uint64_t gap_dropped;    /* lost in the kernel (ring buffer full) */
	uint64_t gap_queue;      /* lost in the agent (queue full) */

	/* trailing string space */
	size_t space, used;
	char buf[];
};

/* Allocate an event with at least `space` bytes for strings (ev->space
 * says how many: the usual sizes come rounded up from a pool of freed
 * events).  Thread-safe, as is hn_event_free.  NULL on ENOMEM. */
struct hn_event *hn_event_new(size_t space);
void hn_event_free(struct hn_event *ev);

/* Copy len bytes (plus a NUL) into ev's string space; return the copy, or
 * NULL when it does not fit. */
const char *hn_event_put(struct hn_event *ev, const char *s, size_t len);
const char *hn_event_puts(struct hn_event *ev, const char *s);

/* Deep copy (strings included). NULL on ENOMEM. */
struct hn_event *hn_event_dup(const struct hn_event *ev);

/* Names and ECS classification of a type; unknown types give NULL name. */
struct hn_event_kind {
	const char *name;        /* "process_start": `hinomi events --type` */
	const char *category;    /* event.category */
	const char *ecs_type;    /* event.type */
	const char *action;      /* event.action */
};
const struct hn_event_kind *hn_event_kind(unsigned type);
/* Type by name ("process_start") or family ("process", "file", "network",
 * "kernel"): fills types[] (up to max) and returns the count, 0 if unknown. */
int hn_event_types_by_name(const char *name, uint16_t *types, int max);

bool hn_event_is_process(unsigned type);
bool hn_event_is_file(unsigned type);
bool hn_event_is_network(unsigned type);

/* Render an address as text ("127.0.0.1", "::1"); buf >= 46 bytes. */
const char *hn_addr_str(const struct hn_addr *a, char *buf, size_t n);
/* Parse text into an address (port untouched); 0 or -EINVAL. */
int hn_addr_parse(const char *s, struct hn_addr *a);

#endif
