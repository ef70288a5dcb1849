/* SPDX-License-Identifier: GPL-2.0 */
/*
 * file.bpf.h - file activity, from sys_exit (arguments read back from the
 * syscall's saved registers, result from the tracepoint).
 *
 * Opens: reported when the file is a regular file opened for writing
 * (canonical path from the opened struct file, FMODE_CREATED says it was
 * created), or read from a watched inode.  A write-open is remembered in
 * `wfiles`; at close (sys_enter_close) the inode is compared with its state
 * at open and a HN_F_WRITTEN record says the file was modified: one event per
 * open, flagged when written.  dup2/dup3 over an fd close it too.
 *
 * Path operations (rename, unlink, chmod, ...): the path as passed plus, when
 * relative, the directory it is relative to (the dirfd's or the cwd's path,
 * resolved now); the decoder joins and normalises them.
 *
 * Failed calls are not reported (counted as filtered).
 */
#ifndef HINOMI_FILE_BPF_H
#define HINOMI_FILE_BPF_H

#include "sensor/bpf/emit.bpf.h"

#define HN_FMODE_WRITE    0x2
#define HN_FMODE_CREATED  0x100000
#define HN_S_IFMT         00170000
#define HN_S_IFREG        0100000

static __always_inline struct hn_wire_file *file_begin(struct rec *r, __u16 op, long ret)
{
	struct hn_wire_file *f;

	if (!rec_begin(r, HN_W_FILE, op, (void *)bpf_get_current_task()))
		return NULL;
	f = rec_body(r);
	__builtin_memset(f, 0, sizeof(*f));
	f->result = ret;
	return f;
}

static __always_inline void file_ident(struct hn_wire_file *f, struct inode *ino)
{
	f->ino = BPF_CORE_READ(ino, i_ino);
	f->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	f->size = BPF_CORE_READ(ino, i_size);
	f->mode = BPF_CORE_READ(ino, i_mode);
}

static __always_inline int handle_open(struct bpf_raw_tracepoint_args *ctx, __u32 oflags)
{
	long ret = (long)ctx->args[1];
	struct task_struct *task = (void *)bpf_get_current_task();
	struct hn_wire_file *f;
	struct file *file;
	struct inode *ino;
	__u32 fmode, imode;
	bool write, watched = false;
	struct rec r;

	if (ret < 0)
		return 0;
	file = fd_file(task, ret);
	if (!file)
		return 0;
	ino = BPF_CORE_READ(file, f_inode);
	imode = BPF_CORE_READ(ino, i_mode);
	if ((imode & HN_S_IFMT) != HN_S_IFREG)
		return 0;
	fmode = BPF_CORE_READ(file, f_mode);
	write = fmode & HN_FMODE_WRITE;
	if (!write) {
		struct watch_key k = {
			.dev = BPF_CORE_READ(ino, i_sb, s_dev),
			.ino = BPF_CORE_READ(ino, i_ino),
		};
		watched = bpf_map_lookup_elem(&watch_inodes, &k) != NULL;
		if (!watched)
			return 0;
	}
	f = file_begin(&r, HN_F_OPEN, ret);
	if (!f)
		return 0;
	file_ident(f, ino);
	f->oflags = oflags;
	f->cookie = (__u64)file;
	if (write)
		f->flags |= HN_FF_WRITE;
	if (watched)
		f->flags |= HN_FF_WATCHED;
	if (fmode & HN_FMODE_CREATED)
		f->flags |= HN_FF_CREATED;
	if (oflags & 01000 /* O_TRUNC */)
		f->flags |= HN_FF_TRUNC;
	put_path(&r, HN_S_PATH, &file->f_path);
	if (rec_send(&r) == 0 && write) {
		struct wfile w = {
			.mtime = inode_mtime_ns(ino),
			.size = f->size,
			.ctime = BPF_CORE_READ(ino, i_ctime_sec),
		};
		__u64 key = (__u64)file;
		bpf_map_update_elem(&wfiles, &key, &w, BPF_ANY);
	}
	return 0;
}

SEC("raw_tp")
int hn_sys_open(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_open(ctx, (__u32)SYS_ARG2(regs));
}

SEC("raw_tp")
int hn_sys_openat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_open(ctx, (__u32)SYS_ARG3(regs));
}

SEC("raw_tp")
int hn_sys_openat2(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	__u64 how = 0;
	bpf_probe_read_user(&how, sizeof(how), (void *)SYS_ARG3(regs));
	return handle_open(ctx, (__u32)how);
}

SEC("raw_tp")
int hn_sys_creat(struct bpf_raw_tracepoint_args *ctx)
{
	return handle_open(ctx, 01 | 0100 | 01000 /* O_WRONLY|O_CREAT|O_TRUNC */);
}

/* Kernels before 6.13 counted file references in f_count. */
struct file___fcount {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* More than one reference (another fd or a dup holds the file)? */
static __always_inline bool file_shared(struct file *file)
{
	if (bpf_core_field_exists(file->f_ref))
		/* file_ref_t counts from 0 for one reference */
		return (long)BPF_CORE_READ(file, f_ref.refcnt.counter) > 0;
	struct file___fcount *old = (void *)file;
	return BPF_CORE_READ(old, f_count.counter) > 1;
}

/*
 * fd is about to be closed (close, or replaced by dup2/dup3): if its file
 * was opened for writing and has changed since, report HN_F_WRITTEN.  An
 * unchanged file stays remembered while other references remain (a shell
 * redirection closes the open's fd long before it writes through the dup).
 */
static __always_inline int check_written(long fd)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct hn_wire_file *f;
	struct wfile *w;
	struct file *file;
	struct inode *ino;
	__u64 key;
	struct rec r;

	if (is_self())
		return 0;
	file = fd_file(task, fd);
	if (!file)
		return 0;
	key = (__u64)file;
	w = bpf_map_lookup_elem(&wfiles, &key);
	if (!w)
		return 0;
	ino = BPF_CORE_READ(file, f_inode);
	if (inode_mtime_ns(ino) == w->mtime && BPF_CORE_READ(ino, i_size) == w->size &&
	    BPF_CORE_READ(ino, i_ctime_sec) == w->ctime) {
		if (!file_shared(file))
			bpf_map_delete_elem(&wfiles, &key);
		return 0;
	}
	bpf_map_delete_elem(&wfiles, &key);
	f = file_begin(&r, HN_F_WRITTEN, 0);
	if (!f)
		return 0;
	file_ident(f, ino);
	f->cookie = key;
	f->flags = HN_FF_WRITE;
	r.quiet = 1;   /* a mark on its open, which woke the agent if need be */
	rec_send(&r);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int hn_close(struct trace_event_raw_sys_enter *ctx)
{
	return check_written((long)ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int hn_dup2(struct trace_event_raw_sys_enter *ctx)
{
	if (ctx->args[0] == ctx->args[1])
		return 0;
	return check_written((long)ctx->args[1]);
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int hn_dup3(struct trace_event_raw_sys_enter *ctx)
{
	return check_written((long)ctx->args[1]);
}

/* A path operation: op on (dfd, path), with optional mode/uid/gid. */
static __always_inline int handle_path_op(struct bpf_raw_tracepoint_args *ctx, __u16 op,
					  long dfd, const char *path, __u32 mode,
					  __u32 uid, __u32 gid, __u64 size)
{
	long ret = (long)ctx->args[1];
	struct hn_wire_file *f;
	struct rec r;

	if (ret < 0) {
		count(HN_W_FILE, HN_CNT_FILTERED);
		return 0;
	}
	f = file_begin(&r, op, ret);
	if (!f)
		return 0;
	f->mode = mode;
	f->uid = uid;
	f->gid = gid;
	f->size = size;
	put_upath_at(&r, HN_S_PATH, (void *)bpf_get_current_task(), dfd, path);
	rec_send(&r);
	return 0;
}

/* An operation on an open fd (fchmod, fchown, ftruncate, fsetxattr). */
static __always_inline int handle_fd_op(struct bpf_raw_tracepoint_args *ctx, __u16 op,
					long fd, __u32 mode, __u32 uid, __u32 gid,
					__u64 size, const char *uname)
{
	long ret = (long)ctx->args[1];
	struct hn_wire_file *f;
	struct file *file;
	struct rec r;

	if (ret < 0) {
		count(HN_W_FILE, HN_CNT_FILTERED);
		return 0;
	}
	file = fd_file((void *)bpf_get_current_task(), fd);
	if (!file)
		return 0;
	f = file_begin(&r, op, ret);
	if (!f)
		return 0;
	file_ident(f, BPF_CORE_READ(file, f_inode));
	f->mode = mode;
	f->uid = uid;
	f->gid = gid;
	f->size = size;
	put_path(&r, HN_S_PATH, &file->f_path);
	if (uname)
		put_ustr(&r, HN_S_NAME, uname, HN_STR_MAX);
	rec_send(&r);
	return 0;
}

/* Two paths (rename, link, symlink). `dfd1 == -1000` means path1 is a
 * symlink target: kept as written, not resolved. */
static __always_inline int handle_two_paths(struct bpf_raw_tracepoint_args *ctx, __u16 op,
					    long dfd1, const char *p1, long dfd2,
					    const char *p2)
{
	long ret = (long)ctx->args[1];
	struct task_struct *task = (void *)bpf_get_current_task();
	struct hn_wire_file *f;
	struct rec r;

	if (ret < 0) {
		count(HN_W_FILE, HN_CNT_FILTERED);
		return 0;
	}
	f = file_begin(&r, op, ret);
	if (!f)
		return 0;
	if (dfd1 == -1000)
		put_ustr(&r, HN_S_PATH, p1, HN_UPATH_MAX);
	else
		put_upath_at(&r, HN_S_PATH, task, dfd1, p1);
	put_upath_at(&r, HN_S_PATH2, task, dfd2, p2);
	rec_send(&r);
	return 0;
}

#define AT_FDCWD_ (-100)

SEC("raw_tp")
int hn_sys_rename(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_two_paths(ctx, HN_F_RENAME, AT_FDCWD_, (void *)SYS_ARG1(regs),
				AT_FDCWD_, (void *)SYS_ARG2(regs));
}

SEC("raw_tp")
int hn_sys_renameat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_two_paths(ctx, HN_F_RENAME, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs),
				(int)SYS_ARG3(regs), (void *)SYS_ARG4(regs));
}

SEC("raw_tp")
int hn_sys_link(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_two_paths(ctx, HN_F_LINK, AT_FDCWD_, (void *)SYS_ARG1(regs),
				AT_FDCWD_, (void *)SYS_ARG2(regs));
}

SEC("raw_tp")
int hn_sys_linkat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_two_paths(ctx, HN_F_LINK, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs),
				(int)SYS_ARG3(regs), (void *)SYS_ARG4(regs));
}

/* symlink(target, linkpath): PATH = the target as written (not resolved:
 * it is relative to the link, not to the cwd), PATH2 = the new link */
SEC("raw_tp")
int hn_sys_symlink(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_two_paths(ctx, HN_F_SYMLINK, -1000, (void *)SYS_ARG1(regs), AT_FDCWD_,
				(void *)SYS_ARG2(regs));
}

/* symlinkat(target, newdirfd, linkpath) */
SEC("raw_tp")
int hn_sys_symlinkat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_two_paths(ctx, HN_F_SYMLINK, -1000, (void *)SYS_ARG1(regs),
				(int)SYS_ARG2(regs), (void *)SYS_ARG3(regs));
}

SEC("raw_tp")
int hn_sys_unlink(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_UNLINK, AT_FDCWD_, (void *)SYS_ARG1(regs), 0, 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_unlinkat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	__u16 op = (SYS_ARG3(regs) & 0x200 /* AT_REMOVEDIR */) ? HN_F_RMDIR : HN_F_UNLINK;
	return handle_path_op(ctx, op, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs), 0, 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_rmdir(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_RMDIR, AT_FDCWD_, (void *)SYS_ARG1(regs), 0, 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_mkdir(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_MKDIR, AT_FDCWD_, (void *)SYS_ARG1(regs),
			      (__u32)SYS_ARG2(regs), 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_mkdirat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_MKDIR, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs),
			      (__u32)SYS_ARG3(regs), 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_chmod(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_CHMOD, AT_FDCWD_, (void *)SYS_ARG1(regs),
			      (__u32)SYS_ARG2(regs), 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_fchmodat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_CHMOD, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs),
			      (__u32)SYS_ARG3(regs), 0, 0, 0);
}

SEC("raw_tp")
int hn_sys_fchmod(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_fd_op(ctx, HN_F_CHMOD, (int)SYS_ARG1(regs), (__u32)SYS_ARG2(regs),
			    0, 0, 0, NULL);
}

SEC("raw_tp")
int hn_sys_chown(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_CHOWN, AT_FDCWD_, (void *)SYS_ARG1(regs), 0,
			      (__u32)SYS_ARG2(regs), (__u32)SYS_ARG3(regs), 0);
}

SEC("raw_tp")
int hn_sys_fchownat(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_CHOWN, (int)SYS_ARG1(regs), (void *)SYS_ARG2(regs), 0,
			      (__u32)SYS_ARG3(regs), (__u32)SYS_ARG4(regs), 0);
}

SEC("raw_tp")
int hn_sys_fchown(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_fd_op(ctx, HN_F_CHOWN, (int)SYS_ARG1(regs), 0, (__u32)SYS_ARG2(regs),
			    (__u32)SYS_ARG3(regs), 0, NULL);
}

SEC("raw_tp")
int hn_sys_truncate(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_path_op(ctx, HN_F_TRUNCATE, AT_FDCWD_, (void *)SYS_ARG1(regs), 0, 0, 0,
			      SYS_ARG2(regs));
}

SEC("raw_tp")
int hn_sys_ftruncate(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_fd_op(ctx, HN_F_TRUNCATE, (int)SYS_ARG1(regs), 0, 0, 0, SYS_ARG2(regs),
			    NULL);
}

/* setxattr family: only security.capability (file capabilities) matters. */
static __always_inline bool is_cap_xattr(const char *uname)
{
	static const char want[20] = "security.capability";
	char buf[20] = {};

	bpf_probe_read_user_str(buf, sizeof(buf), uname);
#pragma unroll
	for (int i = 0; i < 20; i++)
		if (buf[i] != want[i])
			return false;
	return true;
}

static __always_inline int handle_setxattr(struct bpf_raw_tracepoint_args *ctx, long dfd,
					   const char *path, const char *uname)
{
	long ret = (long)ctx->args[1];
	struct hn_wire_file *f;
	struct rec r;

	if (ret < 0 || !is_cap_xattr(uname)) {
		count(HN_W_FILE, HN_CNT_FILTERED);
		return 0;
	}
	f = file_begin(&r, HN_F_SETXATTR, ret);
	if (!f)
		return 0;
	put_upath_at(&r, HN_S_PATH, (void *)bpf_get_current_task(), dfd, path);
	put_ustr(&r, HN_S_NAME, uname, HN_STR_MAX);
	rec_send(&r);
	return 0;
}

SEC("raw_tp")
int hn_sys_setxattr(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	return handle_setxattr(ctx, AT_FDCWD_, (void *)SYS_ARG1(regs), (void *)SYS_ARG2(regs));
}

SEC("raw_tp")
int hn_sys_fsetxattr(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (void *)ctx->args[0];
	const char *uname = (void *)SYS_ARG2(regs);
	if (!is_cap_xattr(uname)) {
		count(HN_W_FILE, HN_CNT_FILTERED);
		return 0;
	}
	return handle_fd_op(ctx, HN_F_SETXATTR, (int)SYS_ARG1(regs), 0, 0, 0, 0, uname);
}

#endif
