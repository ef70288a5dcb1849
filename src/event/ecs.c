/*
 * ecs.c - render an event as one ECS JSON object (see ecs.h).
 *
 * Field map (struct hn_event -> JSON), by event family:
 *
 *   all       @timestamp <- time; ecs.version; event.kind "event",
 *             event.category[] / event.type[] / event.action <- the kinds
 *             table (event.c); event.module "hinomi"; event.id <- id (when
 *             stored); event.outcome (types with a syscall result);
 *             host.name <- host_name; hinomi.type <- the type's name.
 *   process   process.entity_id (16 hex digits), pid, thread.id, name
 *   (actor)   (comm), executable, working_directory, start, parent.{entity_id,
 *             pid, executable}; user.id, user.effective.id, group.id
 *             (decimal strings, as ECS keywords); container.id;
 *             hinomi.process.{egid, auid, session_id, tty, cgroup.{name,id}}.
 *   start /   process.args[] (argv split on NUL, at most argc parts),
 *   snapshot  args_count (argc, or the parts found when argc is 0),
 *             command_line (args joined by single spaces, as ECS does),
 *             hash.sha256, executable <- path; hinomi.process.exec_filename
 *             <- filename (as passed to execve), hinomi.process.
 *             executable_file.{device, inode, size, mtime}.
 *   exit      process.exit_code, process.end; hinomi.process.exit_signal.
 *   file      file.path, name (basename), directory, inode, device (decimal
 *             strings), mode (octal string, "0755"), size, mtime, uid/gid
 *             (chown's new owner), type ("dir", "symlink"), target_path;
 *             hinomi.file.{oflags, cookie (a decimal string), xattr}.  file.path is always the
 *             name that was created or changed, so for the two-path calls
 *             (the sensor's order, sensor/bpf/file.bpf.h):
 *               rename(old, new)     path=old  path2=new   file.path=new
 *               link(old, new)       path=old  path2=new   file.path=new,
 *                                                          target_path=old
 *               symlink(target, lnk) path=lnk  path2=target file.path=lnk,
 *                                                          target_path=target
 *     rename  ECS has no field for the old name.  file.path (and name,
 *             directory) is the NEW path (path2): the file lives there now,
 *             so searches on file.path find it.  The OLD path (path) goes to
 *             hinomi.file.original.{path,name}, the shape of Elastic
 *             Defend's file.Ext.original.path, under our own namespace.
 *   network   source/destination.{ip, port} (AF_UNIX: address "unix");
 *             network.transport, iana_number, type ("ipv4"/"ipv6"),
 *             direction ("egress": connect, udp_send, dns; "ingress":
 *             accept), protocol ("dns").  src is the local end of the socket
 *             and dst the remote end for every event; ECS wants source = the
 *             initiator, so for accept source <- dst and destination <- src.
 *   dns       dns.type "query", dns.question.name, dns.question.type ("A",
 *             "AAAA"..., else "TYPE<n>" as RFC 3597).
 *   memfd     file.name <- name (the memfd's name); hinomi.memfd_flags <-
 *             oflags (MFD_*).
 *   cred      hinomi.cred.{kind <- name ("setuid"...), syscall <- request,
 *             args[] <- cred_arg}; user/group are the credentials after.
 *   ptrace    hinomi.ptrace.request; hinomi.target.{pid, entity_id} (also
 *             proc_mem_write, with hinomi.mem_write.method <- name).
 *   kernel    module_load: file.path <- path, hinomi.module.name <- name;
 *             bpf_load: hinomi.bpf.program_name <- name; mount:
 *             hinomi.mount.{target <- path, source <- path2, fstype <- name}.
 *   gap       hinomi.gap.{dropped, queue}.
 *   flags     each set HN_EVF_* bit as hinomi.<name>: true (flag_names[]).
 *   result    hinomi.result (the syscall's return) and hinomi.errno ("EACCES")
 *             when it is negative.
 *
 * host.boot.id is not written: the event does not carry the boot it came
 * from, and the store holds events of many boots.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* strerrorname_np */
#endif
#include "event/ecs.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "event/entity.h"
#include "util/json.h"

void hn_ecs_time(uint64_t ns, char *buf, size_t n)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	int r;

	if (!buf || n == 0)
		return;
	buf[0] = '\0';
	if (!gmtime_r(&sec, &tm))
		return;
	r = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (unsigned)(ns % 1000000000u));
	if (r < 0 || (size_t)r >= n)
		buf[0] = '\0';
}

/* ---- small writers that omit absent values ---- */

static void put_str(struct hn_json *j, const char *key, const char *s)
{
	if (s && *s)
		hn_json_kv_str(j, key, s);
}

static void put_strn(struct hn_json *j, const char *key, const char *s, size_t n)
{
	if (s && n)
		hn_json_kv_strn(j, key, s, n);
}

/* A number as a decimal string (ECS ids, inodes and devices are keywords). */
static void put_dec(struct hn_json *j, const char *key, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%" PRIu64, v);
	hn_json_kv_str(j, key, t);
}

static void put_u64(struct hn_json *j, const char *key, uint64_t v)
{
	if (v)
		hn_json_kv_u64(j, key, v);
}

static void put_entity(struct hn_json *j, const char *key, uint64_t e)
{
	char t[17];

	if (e)
		hn_json_kv_str(j, key, hn_entity_str(e, t, sizeof(t)));
}

static void put_time(struct hn_json *j, const char *key, uint64_t ns)
{
	char t[HN_ECS_TIME_LEN];

	if (!ns)
		return;
	hn_ecs_time(ns, t, sizeof(t));
	put_str(j, key, t);
}

/* file.name and file.directory of a path. */
static void put_name_dir(struct hn_json *j, const char *path)
{
	const char *slash;

	if (!path || !*path)
		return;
	slash = strrchr(path, '/');
	if (!slash) {
		hn_json_kv_str(j, "name", path);
		return;
	}
	put_str(j, "name", slash + 1);
	hn_json_kv_strn(j, "directory", path,
			slash == path ? 1 : (size_t)(slash - path));
}

/* ---- pieces of the object ---- */

static const struct {
	uint32_t bit;
	const char *name;
} flag_names[] = {
	{ HN_EVF_MEMFD, "memfd" },
	{ HN_EVF_DELETED, "deleted" },
	{ HN_EVF_ARGV_TRUNC, "argv_truncated" },
	{ HN_EVF_SETUID_EXEC, "setuid_exec" },
	{ HN_EVF_CREATED, "created" },
	{ HN_EVF_WRITTEN, "written" },
	{ HN_EVF_TRUNC, "o_trunc" },
	{ HN_EVF_PATH_TRUNC, "path_truncated" },
	{ HN_EVF_PATH_PARTIAL, "path_partial" },
	{ HN_EVF_INPROGRESS, "in_progress" },
	{ HN_EVF_FAILED, "failed" },
	{ HN_EVF_SNAPSHOT, "snapshot" },
	{ HN_EVF_DNS_REPLY, "dns_reply" },
};

static bool is_exec_like(unsigned t)
{
	return t == HN_EV_PROCESS_START || t == HN_EV_PROCESS_SNAPSHOT;
}

/* Types whose `result` is a syscall's return value. */
static bool has_result(unsigned t)
{
	return hn_event_is_file(t) || hn_event_is_network(t) ||
	       t == HN_EV_CRED_CHANGE || t == HN_EV_PTRACE ||
	       t == HN_EV_PROC_MEM_WRITE || t == HN_EV_MEMFD_CREATE ||
	       t == HN_EV_MODULE_LOAD || t == HN_EV_BPF_LOAD ||
	       t == HN_EV_MOUNT;
}

/*
 * The next argv part at *pos; false when there is none.  args is
 * NUL-separated (event.h; the sensor strips argv's final NUL, so "a\0" is
 * the two parts "a" and ""), and at most argc parts are taken, so a kept
 * final NUL (argc parts, one NUL each) adds no empty part either.  With
 * argc 0 (unknown) a final NUL ends the last part.
 */
static bool next_arg(const struct hn_event *ev, size_t *pos, uint32_t *count,
		     const char **p, size_t *n)
{
	const char *s, *z;

	if (!ev->args || *pos > ev->args_len ||
	    (ev->argc && *count >= ev->argc) ||
	    (!ev->argc && *pos == ev->args_len))
		return false;
	s = ev->args + *pos;
	z = *pos < ev->args_len ? memchr(s, '\0', ev->args_len - *pos) : NULL;
	*n = z ? (size_t)(z - s) : ev->args_len - *pos;
	*p = s;
	*pos += *n + 1;
	(*count)++;
	return true;
}

static void put_args(struct hn_json *j, const struct hn_event *ev)
{
	struct hn_strbuf line;
	size_t pos = 0, n;
	uint32_t count = 0;
	const char *p;

	hn_json_arr_open_opt(j, "args");
	while (next_arg(ev, &pos, &count, &p, &n))
		hn_json_arr_str(j, p, n);
	hn_json_arr_close(j);
	if (count == 0)
		return;
	hn_json_kv_u64(j, "args_count", ev->argc ? ev->argc : count);

	hn_strbuf_init(&line);
	pos = 0;
	count = 0;
	while (next_arg(ev, &pos, &count, &p, &n)) {
		if (count > 1)
			hn_strbuf_addc(&line, ' ');
		hn_strbuf_add(&line, p, n);
	}
	if (line.oom)
		j->b->oom = true;  /* report it as the output's failure */
	else
		hn_json_kv_strn(j, "command_line", line.buf ? line.buf : "", line.len);
	hn_strbuf_release(&line);
}

static void put_process(struct hn_json *j, const struct hn_event *ev)
{
	const struct hn_proc *pr = &ev->proc;
	const char *exe = pr->executable;

	if (is_exec_like(ev->type) && ev->path && *ev->path)
		exe = ev->path;
	hn_json_obj_open_opt(j, "process");
	put_entity(j, "entity_id", pr->entity);
	put_u64(j, "pid", pr->pid);
	hn_json_obj_open_opt(j, "thread");
	put_u64(j, "id", pr->tid);
	hn_json_obj_close(j);
	put_strn(j, "name", pr->comm, strnlen(pr->comm, sizeof(pr->comm)));
	put_str(j, "executable", exe);
	if (is_exec_like(ev->type))
		put_args(j, ev);
	put_str(j, "working_directory", ev->cwd);
	if (ev->sha256[0] && ev->type != HN_EV_EXEC_BLOCKED) {   /* the file's, there */
		hn_json_obj_open(j, "hash");
		hn_json_kv_strn(j, "sha256", ev->sha256,
				strnlen(ev->sha256, sizeof(ev->sha256) - 1));
		hn_json_obj_close(j);
	}
	put_time(j, "start", pr->start_time);
	if (ev->type == HN_EV_PROCESS_EXIT) {
		put_time(j, "end", ev->time);
		hn_json_kv_i64(j, "exit_code", ev->exit_code);
	}
	hn_json_obj_open_opt(j, "parent");
	put_entity(j, "entity_id", pr->parent_entity);
	put_u64(j, "pid", pr->ppid);
	put_str(j, "executable", pr->parent_executable);
	hn_json_obj_close(j);
	hn_json_obj_close(j);

	if (!pr->pid && !pr->entity)
		return;  /* no acting process (gap, some agent events) */
	hn_json_obj_open(j, "user");
	put_dec(j, "id", pr->uid);
	hn_json_obj_open(j, "effective");
	put_dec(j, "id", pr->euid);
	hn_json_obj_close(j);
	hn_json_obj_close(j);
	hn_json_obj_open(j, "group");
	put_dec(j, "id", pr->gid);
	hn_json_obj_close(j);
}

static void put_file(struct hn_json *j, const struct hn_event *ev)
{
	unsigned t = ev->type;
	bool two = t == HN_EV_FILE_RENAME || t == HN_EV_FILE_LINK;
	const char *path = two ? ev->path2 : ev->path;

	hn_json_obj_open_opt(j, "file");
	if (t == HN_EV_MEMFD_CREATE) {
		put_str(j, "name", ev->name);
		hn_json_obj_close(j);
		return;
	}
	put_str(j, "path", path);
	put_name_dir(j, path);
	if (t == HN_EV_MODULE_LOAD) {
		hn_json_obj_close(j);
		return;
	}
	if (t == HN_EV_DIR_CREATE || t == HN_EV_DIR_DELETE)
		hn_json_kv_str(j, "type", "dir");
	else if (t == HN_EV_FILE_SYMLINK)
		hn_json_kv_str(j, "type", "symlink");
	if (t == HN_EV_FILE_LINK)
		put_str(j, "target_path", ev->path);
	else if (t == HN_EV_FILE_SYMLINK)
		put_str(j, "target_path", ev->path2);
	if (ev->ino) {
		put_dec(j, "inode", ev->ino);
		put_dec(j, "device", ev->dev);
	}
	if (ev->mode || t == HN_EV_FILE_CHMOD) {
		char m[16];
		snprintf(m, sizeof(m), "%04o", (unsigned)(ev->mode & 07777));
		hn_json_kv_str(j, "mode", m);
	}
	if (ev->size || t == HN_EV_FILE_TRUNCATE)
		hn_json_kv_u64(j, "size", ev->size);
	put_time(j, "mtime", ev->mtime);
	if (t == HN_EV_EXEC_BLOCKED && ev->sha256[0]) {
		hn_json_obj_open(j, "hash");
		hn_json_kv_strn(j, "sha256", ev->sha256, strnlen(ev->sha256, sizeof(ev->sha256) - 1));
		hn_json_obj_close(j);
	}
	if (t == HN_EV_FILE_CHOWN) {
		if (ev->owner_uid != UINT32_MAX)
			put_dec(j, "uid", ev->owner_uid);
		if (ev->owner_gid != UINT32_MAX)
			put_dec(j, "gid", ev->owner_gid);
	}
	hn_json_obj_close(j);
}

static void put_endpoint(struct hn_json *j, const char *key, const struct hn_addr *a,
			 const char *domain)
{
	char ip[64];

	if (a->family != AF_INET && a->family != AF_INET6 && a->family != AF_UNIX)
		return;
	hn_json_obj_open_opt(j, key);
	if (a->family == AF_UNIX) {
		hn_json_kv_str(j, "address", "unix");
	} else {
		put_str(j, "ip", hn_addr_str(a, ip, sizeof(ip)));
		put_u64(j, "port", a->port);
		put_str(j, "domain", domain);
	}
	hn_json_obj_close(j);
}

static const char *dns_type_name(uint16_t t)
{
	switch (t) {
	case 1: return "A";
	case 2: return "NS";
	case 5: return "CNAME";
	case 6: return "SOA";
	case 12: return "PTR";
	case 15: return "MX";
	case 16: return "TXT";
	case 28: return "AAAA";
	case 33: return "SRV";
	case 35: return "NAPTR";
	case 43: return "DS";
	case 48: return "DNSKEY";
	case 64: return "SVCB";
	case 65: return "HTTPS";
	case 255: return "ANY";
	case 257: return "CAA";
	default: return NULL;
	}
}

static void put_network(struct hn_json *j, const struct hn_event *ev)
{
	unsigned t = ev->type;
	bool accept = t == HN_EV_NET_ACCEPT;
	uint16_t fam = ev->dst.family ? ev->dst.family : ev->src.family;
	char num[8];

	put_endpoint(j, "source", accept ? &ev->dst : &ev->src, NULL);
	/* destination.domain: the name a connect's address was resolved
	 * from (the agent's DNS answers), as Sysmon's DestinationHostname */
	put_endpoint(j, "destination", accept ? &ev->src : &ev->dst,
		     t != HN_EV_DNS_QUERY ? ev->dns_name : NULL);

	hn_json_obj_open_opt(j, "network");
	if (ev->transport == IPPROTO_TCP)
		hn_json_kv_str(j, "transport", "tcp");
	else if (ev->transport == IPPROTO_UDP)
		hn_json_kv_str(j, "transport", "udp");
	if (ev->transport) {
		snprintf(num, sizeof(num), "%u", ev->transport);
		hn_json_kv_str(j, "iana_number", num);
	}
	if (fam == AF_INET)
		hn_json_kv_str(j, "type", "ipv4");
	else if (fam == AF_INET6)
		hn_json_kv_str(j, "type", "ipv6");
	if (t == HN_EV_NET_CONNECT || t == HN_EV_NET_UDP_SEND || t == HN_EV_DNS_QUERY)
		hn_json_kv_str(j, "direction", "egress");
	else if (accept)
		hn_json_kv_str(j, "direction", "ingress");
	if (t == HN_EV_DNS_QUERY)
		hn_json_kv_str(j, "protocol", "dns");
	hn_json_obj_close(j);

	if (t != HN_EV_DNS_QUERY)
		return;
	hn_json_obj_open(j, "dns");
	hn_json_kv_str(j, "type", "query");
	hn_json_obj_open_opt(j, "question");
	put_str(j, "name", ev->dns_name);
	if (ev->dns_type) {
		const char *tn = dns_type_name(ev->dns_type);
		char tmp[16];
		if (!tn) {
			snprintf(tmp, sizeof(tmp), "TYPE%u", ev->dns_type);
			tn = tmp;
		}
		hn_json_kv_str(j, "type", tn);
	}
	hn_json_obj_close(j);
	hn_json_obj_close(j);
}

/* A system log line: message, log.file.path, log.syslog.* (ECS). */
static void put_log(struct hn_json *j, const struct hn_event *ev)
{
	size_t n = ev->args_len;

	while (n && ev->args[n - 1] == '\0')
		n--;
	if (ev->args)
		hn_json_kv_strn(j, "message", ev->args, n);
	hn_json_obj_open(j, "log");
	hn_json_obj_open_opt(j, "file");
	put_str(j, "path", ev->filename);
	hn_json_obj_close(j);
	hn_json_obj_open_opt(j, "syslog");
	put_str(j, "appname", ev->name);
	if (ev->oflags & 1u) {
		hn_json_kv_u64(j, "priority", ev->mode);
		hn_json_obj_open(j, "facility");
		hn_json_kv_u64(j, "code", ev->mode / 8);
		hn_json_obj_close(j);
		hn_json_obj_open(j, "severity");
		hn_json_kv_u64(j, "code", ev->mode % 8);
		hn_json_obj_close(j);
	}
	hn_json_obj_close(j);
	hn_json_obj_close(j);
}

static void put_hinomi(struct hn_json *j, const struct hn_event *ev)
{
	const struct hn_event_kind *k = hn_event_kind(ev->type);
	const struct hn_proc *pr = &ev->proc;
	unsigned t = ev->type;

	hn_json_obj_open(j, "hinomi");
	if (k->name)
		hn_json_kv_str(j, "type", k->name);
	else
		hn_json_kv_u64(j, "type_id", t);
	if (has_result(t)) {
		hn_json_kv_i64(j, "result", ev->result);
		if (ev->result < 0 && ev->result >= -4095) {
			const char *e = strerrorname_np((int)-ev->result);
			put_str(j, "errno", e);
		}
	}
	for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
		if (ev->flags & flag_names[i].bit)
			hn_json_kv_bool(j, flag_names[i].name, true);

	hn_json_obj_open_opt(j, "process");
	if (pr->pid || pr->entity) {
		put_dec(j, "egid", pr->egid);
		if (pr->auid != UINT32_MAX)
			put_dec(j, "auid", pr->auid);
	}
	if (ev->sessionid && ev->sessionid != UINT32_MAX)
		hn_json_kv_u64(j, "session_id", ev->sessionid);
	put_str(j, "tty", ev->tty);
	hn_json_obj_open_opt(j, "cgroup");
	put_str(j, "name", ev->cgroup);
	put_u64(j, "id", ev->cgroup_id);
	hn_json_obj_close(j);
	if (is_exec_like(t)) {
		put_str(j, "exec_filename", ev->filename);
		if (ev->ino) {
			hn_json_obj_open(j, "executable_file");
			put_dec(j, "device", ev->dev);
			put_dec(j, "inode", ev->ino);
			hn_json_kv_u64(j, "size", ev->size);
			put_time(j, "mtime", ev->mtime);
			hn_json_obj_close(j);
		}
	}
	if (t == HN_EV_PROCESS_EXIT && ev->exit_signal)
		hn_json_kv_i64(j, "exit_signal", ev->exit_signal);
	hn_json_obj_close(j);

	if (hn_event_is_file(t)) {
		hn_json_obj_open_opt(j, "file");
		if (t == HN_EV_FILE_RENAME && ev->path && *ev->path) {
			hn_json_obj_open(j, "original");
			hn_json_kv_str(j, "path", ev->path);
			put_name_dir(j, ev->path);
			hn_json_obj_close(j);
		}
		put_u64(j, "oflags", ev->oflags);
		/* an opaque kernel value past int64: a decimal string, as
		 * inode and device are, so that any JSON reader keeps it */
		if (ev->cookie)
			put_dec(j, "cookie", ev->cookie);
		if (t == HN_EV_FILE_SETXATTR)
			put_str(j, "xattr", ev->name);
		hn_json_obj_close(j);
	}

	hn_json_obj_open_opt(j, "target");
	put_u64(j, "pid", ev->target_pid);
	put_entity(j, "entity_id", ev->target_entity);
	hn_json_obj_close(j);

	if (t == HN_EV_PTRACE) {
		hn_json_obj_open(j, "ptrace");
		hn_json_kv_u64(j, "request", ev->request);
		hn_json_obj_close(j);
	} else if (t == HN_EV_CRED_CHANGE) {
		hn_json_obj_open(j, "cred");
		put_str(j, "kind", ev->name);
		hn_json_kv_u64(j, "syscall", ev->request);
		hn_json_arr_open(j, "args");
		for (int i = 0; i < 3; i++)
			hn_json_arr_u64(j, ev->cred_arg[i]);
		hn_json_arr_close(j);
		hn_json_obj_close(j);
	} else if (t == HN_EV_PROC_MEM_WRITE) {
		hn_json_obj_open_opt(j, "mem_write");
		put_str(j, "method", ev->name);
		hn_json_obj_close(j);
	} else if (t == HN_EV_MEMFD_CREATE) {
		put_u64(j, "memfd_flags", ev->oflags);
	} else if (t == HN_EV_MODULE_LOAD) {
		hn_json_obj_open_opt(j, "module");
		put_str(j, "name", ev->name);
		hn_json_obj_close(j);
	} else if (t == HN_EV_BPF_LOAD) {
		hn_json_obj_open_opt(j, "bpf");
		put_str(j, "program_name", ev->name);
		hn_json_obj_close(j);
	} else if (t == HN_EV_MOUNT) {
		hn_json_obj_open_opt(j, "mount");
		put_str(j, "target", ev->path);
		put_str(j, "source", ev->path2);
		put_str(j, "fstype", ev->name);
		hn_json_obj_close(j);
	} else if (t == HN_EV_GAP) {
		hn_json_obj_open(j, "gap");
		hn_json_kv_u64(j, "dropped", ev->gap_dropped);
		hn_json_kv_u64(j, "queue", ev->gap_queue);
		hn_json_obj_close(j);
	}
	hn_json_obj_close(j);
}

int hn_ecs_render(const struct hn_event *ev, const char *host_name,
		  struct hn_strbuf *out)
{
	const struct hn_event_kind *k;
	char ts[HN_ECS_TIME_LEN];
	struct hn_json j;
	unsigned t;

	if (!ev || !out)
		return -EINVAL;
	t = ev->type;
	k = hn_event_kind(t);

	hn_json_begin(&j, out);
	hn_json_obj_open(&j, NULL);
	hn_ecs_time(ev->time, ts, sizeof(ts));
	hn_json_kv_str(&j, "@timestamp", ts);

	hn_json_obj_open(&j, "ecs");
	hn_json_kv_str(&j, "version", HN_ECS_VERSION);
	hn_json_obj_close(&j);

	hn_json_obj_open(&j, "event");
	hn_json_kv_str(&j, "kind", "event");
	if (k->name) {
		hn_json_arr_open(&j, "category");
		hn_json_arr_str(&j, k->category, strlen(k->category));
		hn_json_arr_close(&j);
		hn_json_arr_open(&j, "type");
		hn_json_arr_str(&j, k->ecs_type, strlen(k->ecs_type));
		hn_json_arr_close(&j);
		hn_json_kv_str(&j, "action", k->action);
	}
	hn_json_kv_str(&j, "module", "hinomi");
	if (ev->id)
		put_dec(&j, "id", (uint64_t)ev->id);
	if (has_result(t)) {
		const char *o = "success";
		if ((ev->flags & HN_EVF_FAILED) || ev->result < 0)
			o = "failure";
		else if (ev->flags & HN_EVF_INPROGRESS)
			o = "unknown";
		hn_json_kv_str(&j, "outcome", o);
	}
	hn_json_obj_close(&j);

	hn_json_obj_open_opt(&j, "host");
	put_str(&j, "name", host_name);
	hn_json_obj_close(&j);

	put_process(&j, ev);

	hn_json_obj_open_opt(&j, "container");
	put_str(&j, "id", ev->container_id);
	hn_json_obj_close(&j);

	if (hn_event_is_file(t) || t == HN_EV_MEMFD_CREATE || t == HN_EV_MODULE_LOAD ||
	    t == HN_EV_EXEC_BLOCKED)
		put_file(&j, ev);
	if (hn_event_is_network(t))
		put_network(&j, ev);
	if (t == HN_EV_LOG)
		put_log(&j, ev);

	put_hinomi(&j, ev);
	hn_json_obj_close(&j);
	return hn_json_end(&j);
}
