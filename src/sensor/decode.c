/*
 * decode.c - wire records (wire.h) into events (event.h).
 *
 * Trusts nothing in the record: every length is checked against the record's
 * size, a malformed record is refused with -EINVAL (and counted by the
 * caller), never a crash.  Paths arrive as leaf-first components (DCOMP),
 * as the string passed to the syscall (RAW), or both (a relative path and
 * the directory it is relative to); they leave absolute and normalised.
 * Kernel times are CLOCK_BOOTTIME; events carry wall-clock time.
 */
#include "sensor/sensor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "event/entity.h"
#include "sensor/wire.h"
#include "util/path.h"

int hn_decode_ctx_init(struct hn_decode_ctx *c)
{
	struct timespec rt, bt;
	int r = hn_boot_id(c->boot_id);

	if (r < 0)
		return r;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	c->boot_to_wall = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000LL +
			  ((int64_t)rt.tv_nsec - bt.tv_nsec);
	return 0;
}

/* One string of a record. */
struct part {
	uint8_t slot, enc, flags;
	const char *data;
	uint32_t len;
};

#define MAX_PARTS 16

/* DCOMP (leaf first, NUL-separated) -> "/a/b/c" appended to dst. */
static size_t dcomp_to_path(const struct part *p, char *dst, size_t cap)
{
	size_t n = 0;
	uint32_t end = p->len;

	/* walk components from the last one (the root side) backwards */
	while (end > 0) {
		uint32_t start = end - 1;
		/* end points after a NUL; skip it */
		while (start > 0 && p->data[start - 1] != '\0')
			start--;
		uint32_t clen = end - start;
		if (clen > 0 && p->data[start + clen - 1] == '\0')
			clen--;
		if (n + 1 + clen + 1 > cap)
			break;
		dst[n++] = '/';
		memcpy(dst + n, p->data + start, clen);
		n += clen;
		end = start;
	}
	if (n == 0 && cap > 1)
		dst[n++] = '/';
	dst[n] = '\0';
	return n;
}

/*
 * Build the value of a path slot into ev: a RAW absolute path; or a DCOMP
 * path; or DCOMP directory + RAW relative path.  *fl gets HN_EVF_* flags.
 */
static const char *path_value(struct hn_event *ev, const struct part *parts, int n,
			      uint8_t slot, uint32_t *fl)
{
	/* one path is built at a time per thread: a buffer of its own, not a
	 * 16 KiB malloc and free per path (malloc's slow path) */
	static _Thread_local char tmp[2 * HN_VAR_MASK + 64];
	const struct part *raw = NULL, *dc = NULL;
	const size_t cap = sizeof(tmp);
	size_t len = 0;

	for (int i = 0; i < n; i++) {
		if (parts[i].slot != slot)
			continue;
		if (parts[i].enc == HN_E_RAW && !raw)
			raw = &parts[i];
		else if (parts[i].enc == HN_E_DCOMP && !dc)
			dc = &parts[i];
	}
	if (!raw && !dc)
		return NULL;
	tmp[0] = '\0';
	if (raw && raw->len > 0 && raw->data[0] == '/') {
		len = raw->len < cap - 1 ? raw->len : cap - 1;
		memcpy(tmp, raw->data, len);
		tmp[len] = '\0';
	} else {
		if (dc) {
			len = dcomp_to_path(dc, tmp, cap);
			if (dc->flags & HN_SF_TRUNCATED)
				*fl |= HN_EVF_PATH_TRUNC;
			if (dc->flags & HN_SF_DETACHED)
				*fl |= HN_EVF_PATH_PARTIAL;
		} else if (raw) {
			/* relative and no directory: keep what we have */
			*fl |= HN_EVF_PATH_PARTIAL;
		}
		if (raw && raw->len > 0 && len + 1 + raw->len + 1 < cap) {
			/* no directory: the relative path stays relative */
			if (len > 0 && tmp[len - 1] != '/')
				tmp[len++] = '/';
			memcpy(tmp + len, raw->data, raw->len);
			len += raw->len;
			tmp[len] = '\0';
		}
	}
	if (raw && (raw->flags & HN_SF_TRUNCATED))
		*fl |= HN_EVF_PATH_TRUNC;
	if (tmp[0] == '/')
		hn_path_normalize(tmp);
	return hn_event_puts(ev, tmp);
}

static const struct part *find(const struct part *parts, int n, uint8_t slot)
{
	for (int i = 0; i < n; i++)
		if (parts[i].slot == slot)
			return &parts[i];
	return NULL;
}

static const char *raw_value(struct hn_event *ev, const struct part *parts, int n,
			     uint8_t slot)
{
	const struct part *p = find(parts, n, slot);
	if (!p)
		return NULL;
	return hn_event_put(ev, p->data, p->len);
}

/* The question's name of DNS message m (uncompressed labels from byte
 * 12) into out, NUL-terminated, printable (others '?'); *i past it.
 * false when it does not parse or is empty. */
static bool dns_question(const uint8_t *m, uint32_t len, uint32_t *i, char *out, size_t cap)
{
	size_t o = 0;

	*i = 12;
	while (*i < len) {
		uint8_t l = m[(*i)++];
		if (l == 0)
			break;
		if (l > 63 || *i + l > len || o + l + 2 > cap)
			return false;
		if (o)
			out[o++] = '.';
		for (uint8_t k = 0; k < l; k++) {
			char c = (char)m[*i + k];
			out[o++] = (c >= 0x21 && c <= 0x7e) ? c : '?';
		}
		*i += l;
	}
	if (o == 0)
		return false;
	out[o] = '\0';
	return true;
}

/* DNS query name from a DNS message; false if it does not parse. */
static bool dns_qname(const uint8_t *m, uint32_t len, char *out, size_t cap, uint16_t *qtype)
{
	uint32_t i;

	if (len < 17)
		return false;
	if (m[2] & 0x80) /* a response, not a query */
		return false;
	if (!dns_question(m, len, &i, out, cap) || i + 2 > len)
		return false;
	*qtype = (uint16_t)(m[i] << 8 | m[i + 1]);
	return true;
}

/* Skip a (possibly compressed) name at m[*i]; false when it runs out. */
static bool dns_skip_name(const uint8_t *m, uint32_t len, uint32_t *i)
{
	for (unsigned hops = 0; *i < len && hops < 128; hops++) {
		uint8_t l = m[*i];
		if (l == 0) {
			(*i)++;
			return true;
		}
		if ((l & 0xc0) == 0xc0) {   /* a pointer ends the name */
			*i += 2;
			return *i <= len;
		}
		if (l > 63)
			return false;
		*i += 1u + l;
	}
	return false;
}

/*
 * A DNS reply (QR set) m of len bytes (maybe cut short): its question's
 * name into out, and the addresses of its A and AAAA answers as text,
 * each NUL-terminated, into addrs (cap bytes); how many, or -1 when m is
 * not a reply.
 */
static int dns_reply(const uint8_t *m, uint32_t len, char *out, size_t cap, char *addrs,
		     size_t acap, size_t *alen)
{
	uint32_t i, qd, an;
	int n = 0;

	*alen = 0;
	if (len < 12 || !(m[2] & 0x80))
		return -1;
	qd = (uint32_t)(m[4] << 8 | m[5]);
	an = (uint32_t)(m[6] << 8 | m[7]);
	if (qd != 1)
		return -1;
	/* the question's name, as in a query */
	if (!dns_question(m, len, &i, out, cap))
		return -1;
	i += 4;   /* qtype, qclass */
	for (uint32_t a = 0; a < an && a < 32 && i < len; a++) {
		uint16_t type, rdlen;
		char text[64];
		size_t tl;
		if (!dns_skip_name(m, len, &i) || i + 10 > len)
			break;
		type = (uint16_t)(m[i] << 8 | m[i + 1]);
		rdlen = (uint16_t)(m[i + 8] << 8 | m[i + 9]);
		i += 10;
		if (i + rdlen > len)
			break;   /* cut short (the sensor keeps HN_PAYLOAD_MAX bytes) */
		if ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16)) {
			if (!inet_ntop(type == 1 ? AF_INET : AF_INET6, m + i, text, sizeof(text)))
				break;
			tl = strlen(text) + 1;
			if (*alen + tl > acap)
				break;
			memcpy(addrs + *alen, text, tl);
			*alen += tl;
			n++;
		}
		i += rdlen;
	}
	return n;
}

static uint64_t wall(const struct hn_decode_ctx *c, uint64_t boot_ns)
{
	/* unsigned: wraps instead of overflowing on a hostile timestamp */
	return boot_ns + (uint64_t)c->boot_to_wall;
}

static void fill_addr(struct hn_addr *a, uint16_t family, const uint8_t *addr, uint16_t port)
{
	a->family = family;
	a->port = port;
	memcpy(a->addr, addr, 16);
	if (family == AF_INET)
		memset(a->addr + 4, 0, 12);
}

/* "/proc/123/mem" -> 123, else 0 */
static uint32_t procmem_pid(const char *path)
{
	unsigned long pid;
	char *end;

	if (!path || strncmp(path, "/proc/", 6) != 0)
		return 0;
	pid = strtoul(path + 6, &end, 10);
	if (end == path + 6 || strcmp(end, "/mem") != 0 || pid > 0xffffffffUL)
		return 0;
	return (uint32_t)pid;
}

static const char *module_name(struct hn_event *ev, const char *path)
{
	const char *b = path ? strrchr(path, '/') : NULL;
	size_t n;

	if (!b)
		return NULL;
	b++;
	n = strcspn(b, ".");
	return hn_event_put(ev, b, n);
}

int hn_decode(const struct hn_decode_ctx *c, const void *data, size_t size,
	      struct hn_event **out)
{
	const struct hn_wire_hdr *h = data;
	const uint8_t *body, *end = (const uint8_t *)data + size;
	struct part parts[MAX_PARTS];
	int nparts = 0, r = -EINVAL;
	size_t body_size[HN_W_TYPE_MAX] = {
		[HN_W_EXEC] = sizeof(struct hn_wire_exec),
		[HN_W_FORK] = sizeof(struct hn_wire_fork),
		[HN_W_EXIT] = sizeof(struct hn_wire_exit),
		[HN_W_CRED] = sizeof(struct hn_wire_cred),
		[HN_W_PTRACE] = sizeof(struct hn_wire_ptrace),
		[HN_W_VMWRITE] = sizeof(struct hn_wire_vmwrite),
		[HN_W_MEMFD] = sizeof(struct hn_wire_memfd),
		[HN_W_FILE] = sizeof(struct hn_wire_file),
		[HN_W_NET] = sizeof(struct hn_wire_net),
		[HN_W_KMOD] = sizeof(struct hn_wire_kmod),
		[HN_W_BPF] = sizeof(struct hn_wire_bpf),
		[HN_W_MOUNT] = sizeof(struct hn_wire_mount),
	};
	struct hn_event *ev = NULL;
	const uint8_t *p;
	uint32_t fl = 0;

	if (size < sizeof(*h) || h->version != HN_WIRE_VERSION || h->size > size ||
	    h->size < sizeof(*h) || h->type == 0 || h->type >= HN_W_TYPE_MAX)
		return -EINVAL;
	end = (const uint8_t *)data + h->size;
	body = (const uint8_t *)data + sizeof(*h);
	if (body + body_size[h->type] > end || h->size < 192)
		return -EINVAL;
	/* strings start at the fixed var offset (emit.bpf.h VAR_OFF) */
	p = (const uint8_t *)data + 192;
	while (p + sizeof(struct hn_wire_str) <= end && nparts < MAX_PARTS) {
		struct hn_wire_str s;
		/* strings are packed, not aligned: copy the header out */
		memcpy(&s, p, sizeof(s));
		if (s.len > (size_t)(end - p - sizeof(s)))
			return -EINVAL;
		parts[nparts].slot = s.slot;
		parts[nparts].enc = s.enc;
		parts[nparts].flags = s.flags;
		parts[nparts].data = (const char *)(p + sizeof(s));
		parts[nparts].len = s.len;
		nparts++;
		p += sizeof(s) + s.len;
	}

	/* every decoded string is at most its wire bytes plus a NUL; twice
	 * that leaves room for the joins and the agent's enrichment */
	ev = hn_event_new(2 * (h->size - 192) + 512);
	if (!ev)
		return -ENOMEM;
	ev->time = wall(c, h->ts);
	ev->proc.pid = h->pid;
	ev->proc.tid = h->tid;
	ev->proc.ppid = h->ppid;
	ev->proc.uid = h->uid;
	ev->proc.gid = h->gid;
	ev->proc.euid = h->euid;
	ev->proc.egid = h->egid;
	ev->proc.auid = h->auid;
	memcpy(ev->proc.comm, h->comm, sizeof(ev->proc.comm));
	ev->proc.comm[sizeof(ev->proc.comm) - 1] = '\0';
	ev->proc.entity = hn_entity_id(c->boot_id, h->pid, h->start);
	ev->proc.start_time = wall(c, h->start);
	if (h->ppid)
		ev->proc.parent_entity =
			hn_entity_id(c->boot_id, h->ppid, h->pstart);

	switch (h->type) {
	case HN_W_EXEC: {
		const struct hn_wire_exec *x = (const void *)body;
		const struct part *argv = find(parts, nparts, HN_S_ARGV);
		ev->type = HN_EV_PROCESS_START;
		ev->path = path_value(ev, parts, nparts, HN_S_PATH, &fl);
		ev->proc.executable = ev->path;
		ev->filename = raw_value(ev, parts, nparts, HN_S_FILENAME);
		ev->cwd = path_value(ev, parts, nparts, HN_S_CWD, &fl);
		ev->tty = raw_value(ev, parts, nparts, HN_S_TTY);
		ev->cgroup = raw_value(ev, parts, nparts, HN_S_CGROUP);
		ev->cgroup_id = x->cgroup_id;
		ev->sessionid = x->sessionid;
		ev->dev = x->exe_dev;
		ev->ino = x->exe_ino;
		ev->size = x->exe_size;
		ev->mtime = x->exe_mtime;
		if (argv) {
			uint32_t len = argv->len;
			/* argv ends with a NUL; keep the parts, not the last NUL */
			if (len && argv->data[len - 1] == '\0')
				len--;
			ev->args = hn_event_put(ev, argv->data, len);
			ev->args_len = len;
			ev->argc = 0;
			if (ev->args) {
				ev->argc = 1;
				for (uint32_t i = 0; i < len; i++)
					ev->argc += ev->args[i] == '\0';
			}
			if (argv->flags & HN_SF_TRUNCATED)
				fl |= HN_EVF_ARGV_TRUNC;
		}
		if (x->flags & HN_XF_ARGV_TRUNC)
			fl |= HN_EVF_ARGV_TRUNC;
		if (x->flags & HN_XF_DELETED)
			fl |= HN_EVF_DELETED;
		if (x->flags & HN_XF_SETUID)
			fl |= HN_EVF_SETUID_EXEC;
		if (ev->path && !strncmp(ev->path, "/memfd:", 7)) {
			fl |= HN_EVF_MEMFD;
			fl &= ~(uint32_t)HN_EVF_PATH_PARTIAL;
		}
		/* container id: the 64-hex id in a docker/containerd/podman leaf */
		if (ev->cgroup) {
			const char *q = ev->cgroup;
			while (*q) {
				size_t k = strspn(q, "0123456789abcdef");
				if (k == 64) {
					ev->container_id = hn_event_put(ev, q, 64);
					break;
				}
				q += k ? k : 1;
			}
		}
		break;
	}
	case HN_W_FORK:
		ev->type = HN_EV_PROCESS_FORK;
		break;
	case HN_W_EXIT: {
		const struct hn_wire_exit *x = (const void *)body;
		ev->type = HN_EV_PROCESS_EXIT;
		if (x->code & 0x7f) {
			ev->exit_signal = (int32_t)(x->code & 0x7f);
			ev->exit_code = -1;
		} else {
			ev->exit_code = (int32_t)((x->code >> 8) & 0xff);
		}
		break;
	}
	case HN_W_CRED: {
		const struct hn_wire_cred *x = (const void *)body;
		ev->type = HN_EV_CRED_CHANGE;
		ev->result = x->result;
		ev->request = x->syscall;
		ev->name = hn_event_puts(ev, x->kind == HN_C_SETUID   ? "setuid"
					     : x->kind == HN_C_SETGID ? "setgid"
								      : "capset");
		memcpy(ev->cred_arg, x->arg, sizeof(ev->cred_arg));
		/* the header was read after the call: credentials now */
		ev->proc.uid = x->new_uid;
		ev->proc.euid = x->new_euid;
		ev->proc.gid = x->new_gid;
		ev->proc.egid = x->new_egid;
		break;
	}
	case HN_W_PTRACE: {
		const struct hn_wire_ptrace *x = (const void *)body;
		ev->type = HN_EV_PTRACE;
		ev->result = x->result;
		ev->request = x->request;
		ev->target_pid = x->target_pid;
		break;
	}
	case HN_W_VMWRITE: {
		const struct hn_wire_vmwrite *x = (const void *)body;
		ev->type = HN_EV_PROC_MEM_WRITE;
		ev->result = x->result;
		ev->target_pid = x->target_pid;
		ev->name = hn_event_puts(ev, "process_vm_writev");
		break;
	}
	case HN_W_MEMFD: {
		const struct hn_wire_memfd *x = (const void *)body;
		ev->type = HN_EV_MEMFD_CREATE;
		ev->result = x->result;
		ev->oflags = x->mflags;
		ev->name = raw_value(ev, parts, nparts, HN_S_NAME);
		break;
	}
	case HN_W_FILE: {
		const struct hn_wire_file *x = (const void *)body;
		ev->result = x->result;
		ev->dev = x->dev;
		ev->ino = x->ino;
		ev->size = x->size;
		ev->mode = x->mode;
		ev->oflags = x->oflags;
		ev->cookie = x->cookie;
		/* a symlink's PATH is its target as written, not a path here */
		if (h->op != HN_F_SYMLINK)
			ev->path = path_value(ev, parts, nparts, HN_S_PATH, &fl);
		switch (h->op) {
		case HN_F_OPEN:
			if (x->flags & HN_FF_CREATED)
				fl |= HN_EVF_CREATED;
			if (x->flags & HN_FF_TRUNC)
				fl |= HN_EVF_TRUNC;
			if (x->flags & HN_FF_WATCHED)
				ev->type = HN_EV_FILE_READ;
			else if (x->flags & HN_FF_CREATED)
				ev->type = HN_EV_FILE_CREATE;
			else
				ev->type = HN_EV_FILE_OPEN_WRITE;
			ev->target_pid = procmem_pid(ev->path);
			if (ev->target_pid && ev->target_pid != h->pid &&
			    (x->flags & HN_FF_WRITE)) {
				ev->type = HN_EV_PROC_MEM_WRITE;
				ev->name = hn_event_puts(ev, "proc_mem");
			} else {
				ev->target_pid = 0;
			}
			break;
		case HN_F_WRITTEN:
			ev->type = HN_EV_FILE_OPEN_WRITE;
			fl |= HN_EVF_WRITTEN;
			break;
		case HN_F_RENAME:
			ev->type = HN_EV_FILE_RENAME;
			ev->path2 = path_value(ev, parts, nparts, HN_S_PATH2, &fl);
			break;
		case HN_F_UNLINK:
			ev->type = HN_EV_FILE_DELETE;
			break;
		case HN_F_RMDIR:
			ev->type = HN_EV_DIR_DELETE;
			break;
		case HN_F_MKDIR:
			ev->type = HN_EV_DIR_CREATE;
			break;
		case HN_F_CHMOD:
			ev->type = HN_EV_FILE_CHMOD;
			ev->mode = x->mode;
			break;
		case HN_F_CHOWN:
			ev->type = HN_EV_FILE_CHOWN;
			ev->owner_uid = x->uid;
			ev->owner_gid = x->gid;
			break;
		case HN_F_LINK:
			ev->type = HN_EV_FILE_LINK;
			ev->path2 = path_value(ev, parts, nparts, HN_S_PATH2, &fl);
			break;
		case HN_F_SYMLINK:
			/* path: the new link; path2: its target as written */
			ev->type = HN_EV_FILE_SYMLINK;
			ev->path = path_value(ev, parts, nparts, HN_S_PATH2, &fl);
			ev->path2 = raw_value(ev, parts, nparts, HN_S_PATH);
			break;
		case HN_F_TRUNCATE:
			ev->type = HN_EV_FILE_TRUNCATE;
			break;
		case HN_F_SETXATTR:
			ev->type = HN_EV_FILE_SETXATTR;
			ev->name = raw_value(ev, parts, nparts, HN_S_NAME);
			break;
		default:
			goto bad;
		}
		break;
	}
	case HN_W_NET: {
		const struct hn_wire_net *x = (const void *)body;
		static const uint16_t types[] = {
			[HN_N_CONNECT] = HN_EV_NET_CONNECT, [HN_N_ACCEPT] = HN_EV_NET_ACCEPT,
			[HN_N_LISTEN] = HN_EV_NET_LISTEN,   [HN_N_BIND] = HN_EV_NET_BIND,
			[HN_N_UDP_SEND] = HN_EV_NET_UDP_SEND, [HN_N_DNS] = HN_EV_DNS_QUERY,
		};
		if (h->op == 0 || h->op > HN_N_DNS)
			goto bad;
		ev->type = types[h->op];
		ev->result = x->result;
		ev->transport = x->proto;
		fill_addr(&ev->src, x->family, x->saddr, x->sport);
		fill_addr(&ev->dst, x->family, x->daddr, x->dport);
		if (x->flags & HN_NF_INPROGRESS)
			fl |= HN_EVF_INPROGRESS;
		if (h->op == HN_N_DNS) {
			const struct part *pl = find(parts, nparts, HN_S_PAYLOAD);
			char name[256];
			uint16_t qt = 0;
			if (pl && dns_qname((const uint8_t *)pl->data, pl->len, name, sizeof(name), &qt)) {
				ev->dns_name = hn_event_puts(ev, name);
				ev->dns_type = qt;
			} else if (pl) {
				char addrs[HN_PAYLOAD_MAX * 4];
				size_t alen;
				int k = dns_reply((const uint8_t *)pl->data, pl->len, name,
						  sizeof(name), addrs, sizeof(addrs), &alen);
				if (k >= 0) {
					fl |= HN_EVF_DNS_REPLY;
					ev->dns_name = hn_event_puts(ev, name);
					if (alen) {
						ev->args = hn_event_put(ev, addrs, alen);
						ev->args_len = ev->args ? alen : 0;
						ev->argc = ev->args ? (uint32_t)k : 0;
					}
				}
			}
		}
		break;
	}
	case HN_W_KMOD: {
		const struct hn_wire_kmod *x = (const void *)body;
		ev->type = HN_EV_MODULE_LOAD;
		ev->result = x->result;
		ev->path = path_value(ev, parts, nparts, HN_S_PATH, &fl);
		ev->name = module_name(ev, ev->path);
		break;
	}
	case HN_W_BPF: {
		const struct hn_wire_bpf *x = (const void *)body;
		ev->type = HN_EV_BPF_LOAD;
		ev->result = x->result;
		ev->request = x->prog_type;
		ev->name = raw_value(ev, parts, nparts, HN_S_NAME);
		break;
	}
	case HN_W_MOUNT: {
		const struct hn_wire_mount *x = (const void *)body;
		ev->type = HN_EV_MOUNT;
		ev->result = x->result;
		ev->request = x->mflags;
		ev->path = path_value(ev, parts, nparts, HN_S_PATH, &fl);
		ev->path2 = raw_value(ev, parts, nparts, HN_S_SOURCE);
		ev->name = raw_value(ev, parts, nparts, HN_S_FSTYPE);
		break;
	}
	default:
		goto bad;
	}
	if (ev->result < 0)
		fl |= HN_EVF_FAILED;
	ev->flags = fl;
	*out = ev;
	return 0;
bad:
	hn_event_free(ev);
	return r;
}
