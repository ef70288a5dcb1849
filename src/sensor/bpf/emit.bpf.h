/* SPDX-License-Identifier: GPL-2.0 */
/*
 * emit.bpf.h - building and sending wire records (wire.h) from BPF.
 *
 * Layered base -> extract -> emit:
 *   rec_begin()      take this CPU's scratch buffer, fill the common header
 *   put_*()          append strings to the record's var area
 *   rec_send()       size the record, send it to the ring buffer, count it
 *
 * The record is built in a per-CPU scratch buffer (records are bigger than
 * the BPF stack) and copied to the ring buffer with bpf_ringbuf_output, whose
 * wake-up is batched: the consumer is woken when wake_bytes are waiting, or
 * by a record that can matter to a rule (not a fork, an exit or a "written"
 * mark: rec.quiet) when wake_ns have passed since the last wake-up, so such
 * an event reaches the agent within about wake_ns and a storm wakes it at
 * most 1 s / wake_ns times a second; otherwise the agent finds the data on
 * its poll timer.
 *
 * Bounds: every offset into the var area is masked with HN_VAR_MASK and every
 * read has a constant upper bound, so the verifier can prove each access;
 * a value that does not fit is cut and flagged HN_SF_TRUNCATED.
 * A record that cannot be sent (ring buffer full) is counted in
 * counters[type][HN_CNT_DROPPED]: nothing is lost silently.
 */
#ifndef HINOMI_EMIT_BPF_H
#define HINOMI_EMIT_BPF_H

#include "sensor/bpf/maps.bpf.h"

#define VAR_OFF 192  /* var area start: header + largest fixed body */

_Static_assert(sizeof(struct hn_wire_hdr) + 104 <= VAR_OFF, "fixed part fits");

struct hn_scratch {
	__u8 rec[VAR_OFF + HN_VAR_MASK + 1 + HN_ARGV_MAX + 64];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hn_scratch);
} scratch SEC(".maps");

/* Set by the loader before load. */
const volatile __u32 self_tgid = 0;
const volatile __u64 wake_bytes = 256 * 1024;
const volatile __u64 wake_ns = 4000000;

/* When the consumer was last woken (any CPU; a race only wakes twice). */
__u64 last_wake = 0;

static __always_inline void count(__u32 type, __u32 what)
{
	__u32 key = type * HN_CNT_MAX + what;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		*v += 1;
}

static __always_inline bool is_self(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

/* A builder for one record: the scratch buffer and the var area cursor. */
struct rec {
	struct hn_scratch *s;
	__u32 var;          /* bytes used in the var area */
	__u16 type;
	__u8 quiet;         /* never worth an early wake-up (rec_send) */
};

static __always_inline struct hn_wire_hdr *rec_hdr(struct rec *r)
{
	return (struct hn_wire_hdr *)r->s->rec;
}

static __always_inline void *rec_body(struct rec *r)
{
	return r->s->rec + sizeof(struct hn_wire_hdr);
}

/* Fill the common header from `task` (the acting process).  Returns false
 * when no scratch buffer is available. */
static __always_inline bool rec_begin(struct rec *r, __u16 type, __u16 op,
				      struct task_struct *task)
{
	__u32 zero = 0;
	struct hn_wire_hdr *h;
	struct task_struct *parent;
	const struct cred *cred;

	r->s = bpf_map_lookup_elem(&scratch, &zero);
	if (!r->s)
		return false;
	r->var = 0;
	r->type = type;
	r->quiet = 0;
	h = rec_hdr(r);
	h->type = type;
	h->op = op;
	h->version = HN_WIRE_VERSION;
	h->flags = 0;
	h->size = 0;
	h->cpu = bpf_get_smp_processor_id();
	h->ts = bpf_ktime_get_boot_ns();
	h->pid = BPF_CORE_READ(task, tgid);
	h->tid = BPF_CORE_READ(task, pid);
	h->start = BPF_CORE_READ(task, group_leader, start_boottime);
	parent = BPF_CORE_READ(task, real_parent);
	h->ppid = BPF_CORE_READ(parent, tgid);
	h->pstart = BPF_CORE_READ(parent, group_leader, start_boottime);
	cred = BPF_CORE_READ(task, cred);
	h->uid = BPF_CORE_READ(cred, uid.val);
	h->gid = BPF_CORE_READ(cred, gid.val);
	h->euid = BPF_CORE_READ(cred, euid.val);
	h->egid = BPF_CORE_READ(cred, egid.val);
	h->auid = BPF_CORE_READ(task, loginuid.val);
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
	if (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD */)
		h->flags |= HN_HF_KERNEL_THREAD;
	return true;
}

/* Address of var area offset pos, masked where the verifier sees it (the
 * compiler drops a plain mask it can prove redundant). */
static __always_inline void *scratch_at(struct hn_scratch *s, __u64 pos)
{
	asm volatile("%[p] &= %[m]" : [p] "+r"(pos) : [m] "i"(HN_VAR_MASK));
	return &s->rec[VAR_OFF + pos];
}

static __always_inline void *var_at(struct rec *r, __u64 pos)
{
	return scratch_at(r->s, pos);
}

static __always_inline struct hn_wire_str *str_at(struct rec *r, __u32 pos)
{
	return var_at(r, pos);
}

static __always_inline void str_close(struct rec *r, __u32 start, __u8 slot,
				      __u8 enc, __u8 flags, __u32 len)
{
	struct hn_wire_str *h = str_at(r, start);
	h->slot = slot;
	h->enc = enc;
	h->flags = flags;
	h->pad = 0;
	h->len = len;
	r->var = start + sizeof(*h) + len;
}

/* Room left for a string's bytes after its header, or 0. */
static __always_inline __u32 room(struct rec *r)
{
	__u32 used = r->var + sizeof(struct hn_wire_str);
	if (used >= HN_VAR_MASK)
		return 0;
	return HN_VAR_MASK - used;
}

/* Append a NUL-terminated string from user memory (at most max bytes). */
static __always_inline void put_ustr(struct rec *r, __u8 slot, const void *up, __u32 max)
{
	__u32 start = r->var, left = room(r);
	__u8 flags = 0;
	long n;

	if (left < HN_UPATH_MAX || !up)
		return;
	if (max > HN_UPATH_MAX)
		max = HN_UPATH_MAX;
	n = bpf_probe_read_user_str(var_at(r, start + 8),
				    max & (2 * HN_UPATH_MAX - 1), up);
	if (n < 0) {
		flags |= HN_SF_FAULT;
		n = 0;
	} else if (n > 0) {
		if ((__u32)n == max)
			flags |= HN_SF_TRUNCATED;
		n -= 1; /* drop the NUL */
	}
	str_close(r, start, slot, HN_E_RAW, flags, (__u32)n & (HN_UPATH_MAX * 2 - 1));
}

/* Append a NUL-terminated kernel string (at most HN_STR_MAX bytes). */
static __always_inline void put_kstr(struct rec *r, __u8 slot, const void *kp)
{
	__u32 start = r->var;
	long n;

	if (room(r) < HN_STR_MAX || !kp)
		return;
	n = bpf_probe_read_kernel_str(var_at(r, start + 8),
				      HN_STR_MAX, kp);
	if (n <= 0)
		return;
	str_close(r, start, slot, HN_E_RAW, 0, (__u32)(n - 1) & (HN_STR_MAX - 1));
}

/* Append up to HN_ARGV_MAX - 1 bytes of user memory as they are. */
static __always_inline void put_ubytes(struct rec *r, __u8 slot, const void *up,
				       __u64 len, __u8 flags)
{
	__u32 start = r->var;

	if (room(r) < HN_ARGV_MAX || !up)
		return;
	if (len > HN_ARGV_MAX - 1) {
		len = HN_ARGV_MAX - 1;
		flags |= HN_SF_TRUNCATED;
	}
	/* the compiler may drop a mask it can prove redundant; the verifier
	 * needs to see it */
	asm volatile("%[l] &= %[m]" : [l] "+r"(len) : [m] "i"(HN_ARGV_MAX - 1));
	if (bpf_probe_read_user(var_at(r, start + 8),
				len, up) < 0) {
		flags |= HN_SF_FAULT;
		len = 0;
	}
	str_close(r, start, slot, HN_E_RAW, flags, (__u32)len);
}

/*
 * Append the path of (dentry, vfsmount) as seen from the current task's
 * root: components leaf first, NUL-terminated (HN_E_DCOMP); the decoder
 * reverses them.  Mount points are crossed upwards; a walk that ends at a
 * root other than the task's root (a pseudo file such as a memfd, or a path
 * outside a chroot) is flagged HN_SF_DETACHED.
 *
 * A global function, so the verifier checks the walk once per program
 * rather than once per call site.  It works on this CPU's scratch buffer
 * (the same one rec_begin took) from var area offset `start`, and returns
 * the new var offset (start when nothing was written).
 */
__noinline int hn_put_dpath(__u32 start, __u32 slot, __u64 dentry_p, __u64 vfsmnt_p)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct dentry *dentry = (void *)dentry_p;
	struct vfsmount *vfsmnt = (void *)vfsmnt_p;
	struct dentry *root_d = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_m = BPF_CORE_READ(task, fs, root.mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);
	struct hn_wire_str *h;
	struct hn_scratch *s;
	__u32 zero = 0, pos;
	__u8 flags = HN_SF_TRUNCATED;
	int i;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s || !dentry || start >= HN_VAR_MASK - HN_NAME_MAX * 2)
		return start;
	pos = start + sizeof(struct hn_wire_str);
	for (i = 0; i < HN_PATH_DEPTH; i++) {
		struct dentry *mnt_root, *up;
		const unsigned char *name;
		long n;

		if (dentry == root_d && vfsmnt == root_m) {
			flags = 0;
			break;
		}
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		if (dentry == mnt_root) {
			struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
			if (parent == mnt) {
				flags = HN_SF_DETACHED;
				break;
			}
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = parent;
			vfsmnt = &parent->mnt;
			continue;
		}
		if (pos >= HN_VAR_MASK - HN_NAME_MAX)
			break;
		name = BPF_CORE_READ(dentry, d_name.name);
		n = bpf_probe_read_kernel_str(scratch_at(s, pos),
					      HN_NAME_MAX, name);
		if (n <= 0)
			break;
		pos += n;
		up = BPF_CORE_READ(dentry, d_parent);
		if (up == dentry) {
			flags = HN_SF_DETACHED;
			break;
		}
		dentry = up;
	}
	h = scratch_at(s, start);
	h->slot = slot;
	h->enc = HN_E_DCOMP;
	h->flags = flags;
	h->pad = 0;
	h->len = (pos - start - sizeof(struct hn_wire_str)) & HN_VAR_MASK;
	return pos & HN_VAR_MASK;
}

static __always_inline void put_dpath(struct rec *r, __u8 slot,
				      struct dentry *dentry, struct vfsmount *vfsmnt)
{
	int v = hn_put_dpath(r->var, slot, (__u64)dentry, (__u64)vfsmnt);

	if (v > 0 && v <= HN_VAR_MASK)
		r->var = v;
}

static __always_inline void put_path(struct rec *r, __u8 slot, const struct path *p)
{
	put_dpath(r, slot, BPF_CORE_READ(p, dentry), BPF_CORE_READ(p, mnt));
}

/* Send the record.  Returns 0, or -1 when the ring buffer was full. */
static __always_inline int rec_send(struct rec *r)
{
	__u64 size = r->var;
	__u64 flags = BPF_RB_NO_WAKEUP, now;

	asm volatile("%[p] &= %[m]" : [p] "+r"(size) : [m] "i"(HN_VAR_MASK));
	size += VAR_OFF;

	rec_hdr(r)->size = (__u32)size;
	now = bpf_ktime_get_ns();
	if (bpf_ringbuf_query(&rb, BPF_RB_AVAIL_DATA) >= wake_bytes ||
	    (!r->quiet && r->type != HN_W_FORK && r->type != HN_W_EXIT &&
	     now - last_wake >= wake_ns)) {
		flags = BPF_RB_FORCE_WAKEUP;
		last_wake = now;
	}
	if (bpf_ringbuf_output(&rb, r->s->rec, size, flags)) {
		count(r->type, HN_CNT_DROPPED);
		return -1;
	}
	count(r->type, HN_CNT_EMITTED);
	return 0;
}

/* ---- extract: reading kernel objects ---- */

/* Syscall arguments from the registers saved at entry (sys_exit). */
#define SYS_ARG1(regs) PT_REGS_PARM1_CORE_SYSCALL(regs)
#define SYS_ARG2(regs) PT_REGS_PARM2_CORE_SYSCALL(regs)
#define SYS_ARG3(regs) PT_REGS_PARM3_CORE_SYSCALL(regs)
#define SYS_ARG4(regs) PT_REGS_PARM4_CORE_SYSCALL(regs)
#define SYS_ARG5(regs) PT_REGS_PARM5_CORE_SYSCALL(regs)


static __always_inline struct file *fd_file(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;
	unsigned int max;

	if (fd < 0 || !fdt)
		return NULL;
	max = BPF_CORE_READ(fdt, max_fds);
	if ((unsigned long)fd >= max)
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Kernels before 6.6 kept timestamps as timespec64 fields. */
struct inode___ts64 {
	struct timespec64 i_mtime;
} __attribute__((preserve_access_index));

static __always_inline __u64 inode_mtime_ns(struct inode *ino)
{
	if (bpf_core_field_exists(ino->i_mtime_sec))
		return BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ULL +
		       BPF_CORE_READ(ino, i_mtime_nsec);
	struct inode___ts64 *old = (void *)ino;
	return BPF_CORE_READ(old, i_mtime.tv_sec) * 1000000000ULL +
	       BPF_CORE_READ(old, i_mtime.tv_nsec);
}

/* Base directory for a path relative to dirfd, appended as a DCOMP part of
 * `slot` (the decoder joins it with the RAW part). */
static __always_inline void put_dirfd(struct rec *r, __u8 slot, struct task_struct *task,
				      long dirfd)
{
	if (dirfd == -100 /* AT_FDCWD */) {
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		put_dpath(r, slot, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt));
		return;
	}
	struct file *f = fd_file(task, dirfd);
	if (f)
		put_dpath(r, slot, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

/* A user path relative to dirfd: the string as passed, then, when it is
 * relative, the directory it is relative to. */
static __always_inline void put_upath_at(struct rec *r, __u8 slot, struct task_struct *task,
					 long dirfd, const char *up)
{
	char c = 0;

	if (!up)
		return;
	bpf_probe_read_user(&c, 1, up);
	put_ustr(r, slot, up, HN_UPATH_MAX);
	if (c != '/')
		put_dirfd(r, slot, task, dirfd);
}

#endif
