/* SPDX-License-Identifier: GPL-2.0 */
/*
 * process.bpf.h - process life: exec, fork, exit (raw tracepoints on the
 * scheduler), and what a process does to processes: credential changes,
 * ptrace, process_vm_writev, memfd_create (sys_exit handlers, see
 * syscalls.bpf.h for the dispatcher).
 */
#ifndef HINOMI_PROCESS_BPF_H
#define HINOMI_PROCESS_BPF_H

#include "sensor/bpf/emit.bpf.h"

/* sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) */
SEC("raw_tp/sched_process_exec")
int hn_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)ctx->args[0];
	struct linux_binprm *bprm = (void *)ctx->args[2];
	struct hn_wire_exec *e;
	struct file *exe;
	struct inode *ino;
	struct mm_struct *mm;
	struct rec r;
	unsigned long as, ae;
	__u32 argc;

	if (is_self())
		return 0;
	if (!rec_begin(&r, HN_W_EXEC, 0, task))
		return 0;
	e = rec_body(&r);
	__builtin_memset(e, 0, sizeof(*e));
	e->old_pid = (__u32)ctx->args[1];
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->sessionid = BPF_CORE_READ(task, sessionid);
	exe = BPF_CORE_READ(bprm, file);
	ino = BPF_CORE_READ(exe, f_inode);
	e->exe_ino = BPF_CORE_READ(ino, i_ino);
	e->exe_dev = BPF_CORE_READ(ino, i_sb, s_dev);
	e->exe_size = BPF_CORE_READ(ino, i_size);
	e->exe_mtime = inode_mtime_ns(ino);
	if (BPF_CORE_READ(ino, i_nlink) == 0)
		e->flags |= HN_XF_DELETED;
	argc = BPF_CORE_READ(bprm, argc);
	e->argc = argc;
	/* the new credentials are committed by now (bprm->cred is gone);
	 * secureexec records that this exec gained privileges (setuid,
	 * setgid, file capabilities) */
	if (BPF_CORE_READ_BITFIELD_PROBED(bprm, secureexec))
		e->flags |= HN_XF_SETUID;

	put_path(&r, HN_S_PATH, &exe->f_path);
	put_kstr(&r, HN_S_FILENAME, BPF_CORE_READ(bprm, filename));
	mm = BPF_CORE_READ(task, mm);
	as = BPF_CORE_READ(mm, arg_start);
	ae = BPF_CORE_READ(mm, arg_end);
	if (ae > as) {
		__u64 len = ae - as;
		if (len > HN_ARGV_MAX - 1)
			e->flags |= HN_XF_ARGV_TRUNC;
		put_ubytes(&r, HN_S_ARGV, (void *)as, len, 0);
	}
	{
		struct fs_struct *fs = BPF_CORE_READ(task, fs);
		put_dpath(&r, HN_S_CWD, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt));
	}
	{
		struct tty_struct *tty = BPF_CORE_READ(task, signal, tty);
		if (tty)
			put_kstr(&r, HN_S_TTY, &tty->name);
	}
	{
		struct kernfs_node *kn = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn);
		if (kn)
			put_kstr(&r, HN_S_CGROUP, BPF_CORE_READ(kn, name));
	}
	rec_send(&r);
	return 0;
}

/* sched_process_fork(struct task_struct *parent, struct task_struct *child) */
SEC("raw_tp/sched_process_fork")
int hn_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (void *)ctx->args[0];
	struct task_struct *child = (void *)ctx->args[1];
	struct hn_wire_fork *f;
	struct rec r;

	if (is_self())
		return 0;
	/* threads are not processes */
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	if (BPF_CORE_READ(child, flags) & 0x00200000 /* PF_KTHREAD */)
		return 0;
	if (!rec_begin(&r, HN_W_FORK, 0, child))
		return 0;
	f = rec_body(&r);
	f->parent_tid = BPF_CORE_READ(parent, pid);
	f->clone_flags_lo = 0;
	/* The child's real_parent may be the parent's parent (CLONE_PARENT);
	 * rec_begin read it from the child, which is what the tree needs. */
	rec_send(&r);
	return 0;
}

/* sched_process_exit(struct task_struct *p): once per thread; we report the
 * process when its last thread goes. */
SEC("raw_tp/sched_process_exit")
int hn_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (void *)ctx->args[0];
	struct signal_struct *sig;
	struct hn_wire_exit *x;
	struct rec r;
	__u32 code;

	if (is_self())
		return 0;
	if (BPF_CORE_READ(task, flags) & 0x00200000 /* PF_KTHREAD */)
		return 0;
	sig = BPF_CORE_READ(task, signal);
	if (BPF_CORE_READ(sig, live.counter) != 0)
		return 0;
	if (!rec_begin(&r, HN_W_EXIT, 0, task))
		return 0;
	code = BPF_CORE_READ(task, exit_code);
	if (BPF_CORE_READ(sig, flags) & 0x00000004 /* SIGNAL_GROUP_EXIT */)
		code = BPF_CORE_READ(sig, group_exit_code);
	x = rec_body(&r);
	x->code = code;
	x->pad = 0;
	rec_send(&r);
	return 0;
}

/* ---- sys_exit handlers (see syscalls.bpf.h) ---- */

static __always_inline int emit_cred(struct bpf_raw_tracepoint_args *ctx, __u32 kind, __u32 nr)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct task_struct *task = (void *)bpf_get_current_task();
	const struct cred *cred;
	struct hn_wire_cred *c;
	struct rec r;

	if (!rec_begin(&r, HN_W_CRED, 0, task))
		return 0;
	c = rec_body(&r);
	c->kind = kind;
	c->syscall = nr;
	c->result = (long)ctx->args[1];
	c->arg[0] = SYS_ARG1(regs);
	c->arg[1] = SYS_ARG2(regs);
	c->arg[2] = SYS_ARG3(regs);
	cred = BPF_CORE_READ(task, cred);
	c->new_uid = BPF_CORE_READ(cred, uid.val);
	c->new_euid = BPF_CORE_READ(cred, euid.val);
	c->new_gid = BPF_CORE_READ(cred, gid.val);
	c->new_egid = BPF_CORE_READ(cred, egid.val);
	if (kind == HN_C_CAPSET) {
		/* capset(hdr, data): report the effective/permitted/inheritable
		 * words of the first data element */
		struct { __u32 eff, perm, inh; } d = {};
		bpf_probe_read_user(&d, sizeof(d), (void *)c->arg[1]);
		c->arg[0] = d.eff;
		c->arg[1] = d.perm;
		c->arg[2] = d.inh;
	}
	rec_send(&r);
	return 0;
}

/* One handler per syscall: the syscall number is set by the loader as the
 * program's slot; the handler only needs to know the kind. */
#define CRED_HANDLER(name, kind, nr)                                  \
	SEC("raw_tp")                                                 \
	int hn_sys_##name(struct bpf_raw_tracepoint_args *ctx)       \
	{                                                             \
		return emit_cred(ctx, kind, nr);                      \
	}

CRED_HANDLER(setuid, HN_C_SETUID, 105)
CRED_HANDLER(setgid, HN_C_SETGID, 106)
CRED_HANDLER(setreuid, HN_C_SETUID, 113)
CRED_HANDLER(setregid, HN_C_SETGID, 114)
CRED_HANDLER(setresuid, HN_C_SETUID, 117)
CRED_HANDLER(setresgid, HN_C_SETGID, 119)
CRED_HANDLER(setfsuid, HN_C_SETUID, 122)
CRED_HANDLER(setfsgid, HN_C_SETGID, 123)
CRED_HANDLER(capset, HN_C_CAPSET, 126)

/* ptrace requests that attach to or modify another process. */
static __always_inline bool ptrace_interesting(__u64 req)
{
	switch (req) {
	case 4:      /* PTRACE_POKETEXT */
	case 5:      /* PTRACE_POKEDATA */
	case 6:      /* PTRACE_POKEUSER */
	case 13:     /* PTRACE_SETREGS */
	case 16:     /* PTRACE_ATTACH */
	case 0x4206: /* PTRACE_SEIZE */
		return true;
	}
	return false;
}

SEC("raw_tp")
int hn_sys_ptrace(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_ptrace *p;
	struct rec r;
	__u64 req = SYS_ARG1(regs);

	if (!ptrace_interesting(req)) {
		count(HN_W_PTRACE, HN_CNT_FILTERED);
		return 0;
	}
	if (!rec_begin(&r, HN_W_PTRACE, 0, (void *)bpf_get_current_task()))
		return 0;
	p = rec_body(&r);
	p->result = (long)ctx->args[1];
	p->request = req;
	p->target_pid = (__u32)SYS_ARG2(regs);
	p->pad = 0;
	p->addr = SYS_ARG3(regs);
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_process_vm_writev(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_vmwrite *w;
	struct rec r;

	if (!rec_begin(&r, HN_W_VMWRITE, 0, (void *)bpf_get_current_task()))
		return 0;
	w = rec_body(&r);
	w->result = (long)ctx->args[1];
	w->target_pid = (__u32)SYS_ARG1(regs);
	w->pad = 0;
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_memfd_create(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_memfd *m;
	struct rec r;

	if (!rec_begin(&r, HN_W_MEMFD, 0, (void *)bpf_get_current_task()))
		return 0;
	m = rec_body(&r);
	m->result = (long)ctx->args[1];
	m->mflags = (__u32)SYS_ARG2(regs);
	m->pad = 0;
	put_ustr(&r, HN_S_NAME, (void *)SYS_ARG1(regs), HN_STR_MAX);
	rec_send(&r);
	return 0;
}

#endif
