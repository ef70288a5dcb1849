/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kernel.bpf.h - changes to the kernel itself, from sys_exit: module loads
 * (finit_module gives the file; init_module loads from memory), BPF program
 * loads, mounts.
 */
#ifndef HINOMI_KERNEL_BPF_H
#define HINOMI_KERNEL_BPF_H

#include "sensor/bpf/emit.bpf.h"

SEC("raw_tp")
int hn_sys_init_module(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_kmod *k;
	struct rec r;

	if (!rec_begin(&r, HN_W_KMOD, 0, (void *)bpf_get_current_task()))
		return 0;
	k = rec_body(&r);
	k->result = (long)ctx->args[1];
	k->flags = 0;
	k->by_fd = 0;
	put_ustr(&r, HN_S_NAME, (void *)SYS_ARG3(regs), HN_STR_MAX);
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_finit_module(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_kmod *k;
	struct file *file;
	struct rec r;

	if (!rec_begin(&r, HN_W_KMOD, 0, (void *)bpf_get_current_task()))
		return 0;
	k = rec_body(&r);
	k->result = (long)ctx->args[1];
	k->flags = (__u32)SYS_ARG3(regs);
	k->by_fd = 1;
	file = fd_file((void *)bpf_get_current_task(), (int)SYS_ARG1(regs));
	if (file)
		put_path(&r, HN_S_PATH, &file->f_path);
	put_ustr(&r, HN_S_NAME, (void *)SYS_ARG2(regs), HN_STR_MAX);
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_bpf(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_bpf *b;
	struct rec r;
	__u32 cmd = (__u32)SYS_ARG1(regs);
	const char *attr = (void *)SYS_ARG2(regs);

	if (cmd != 5 /* BPF_PROG_LOAD */) {
		count(HN_W_BPF, HN_CNT_FILTERED);
		return 0;
	}
	if (!rec_begin(&r, HN_W_BPF, 0, (void *)bpf_get_current_task()))
		return 0;
	b = rec_body(&r);
	b->result = (long)ctx->args[1];
	b->cmd = cmd;
	b->prog_type = 0;
	bpf_probe_read_user(&b->prog_type, sizeof(b->prog_type), attr);
	/* union bpf_attr, BPF_PROG_LOAD: prog_name[16] at offset 48 */
	{
		__u32 start = r.var;
		char *dst = var_at(&r, start + 8);
		if (room(&r) >= 32 && bpf_probe_read_user(dst, 16, attr + 48) == 0) {
			__u32 n = 0;
			for (int i = 0; i < 16; i++) {
				if (dst[i] == 0)
					break;
				n++;
			}
			str_close(&r, start, HN_S_NAME, HN_E_RAW, 0, n & 31);
		}
	}
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_mount(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	struct hn_wire_mount *m;
	struct rec r;

	if (!rec_begin(&r, HN_W_MOUNT, 0, (void *)bpf_get_current_task()))
		return 0;
	m = rec_body(&r);
	m->result = (long)ctx->args[1];
	m->mflags = SYS_ARG4(regs);
	put_ustr(&r, HN_S_SOURCE, (void *)SYS_ARG1(regs), HN_STR_MAX);
	put_upath_at(&r, HN_S_PATH, (void *)bpf_get_current_task(), -100,
		     (void *)SYS_ARG2(regs));
	put_ustr(&r, HN_S_FSTYPE, (void *)SYS_ARG3(regs), HN_STR_MAX);
	rec_send(&r);
	return 0;
}

#endif
