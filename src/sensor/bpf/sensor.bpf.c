// SPDX-License-Identifier: GPL-2.0
/*
 * sensor.bpf.c - hinomi's kernel sensor: one BPF object, one file per hook
 * family included below (process, file, net, kernel), maps in maps.bpf.h,
 * record building in emit.bpf.h, the wire format in ../wire.h.
 *
 * Syscalls are observed at exit by one raw tracepoint on sys_exit that
 * tail-calls the handler registered for the syscall number in
 * sys_exit_tails (filled by the loader, sensor.c): uninteresting syscalls
 * cost one array lookup.  Process life comes from the scheduler's raw
 * tracepoints.  Only tracepoints and raw tracepoints are used (kprobes,
 * fentry and BPF-LSM are refused on the machines we run on).
 */
#include "sensor/bpf/process.bpf.h"
#include "sensor/bpf/file.bpf.h"
#include "sensor/bpf/net.bpf.h"
#include "sensor/bpf/kernel.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/sys_exit")
int hn_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	long nr;

	if (is_self())
		return 0;
	nr = BPF_CORE_READ(regs, orig_ax);
	if ((unsigned long)nr >= HN_MAX_SYSCALL)
		return 0;
	bpf_tail_call(ctx, &sys_exit_tails, (__u32)nr);
	return 0;
}

/* Every process's start time at nanosecond precision, for the /proc
 * snapshot (entity ids must match those of later kernel events). */
SEC("iter/task")
int hn_iter_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *t = ctx->task;
	struct hn_wire_task rec;
	struct task_struct *parent;

	if (!t || BPF_CORE_READ(t, pid) != BPF_CORE_READ(t, tgid))
		return 0;
	rec.pid = BPF_CORE_READ(t, tgid);
	rec.start = BPF_CORE_READ(t, start_boottime);
	parent = BPF_CORE_READ(t, real_parent);
	rec.ppid = BPF_CORE_READ(parent, tgid);
	rec.pstart = BPF_CORE_READ(parent, group_leader, start_boottime);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
