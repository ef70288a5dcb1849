/*
 * test_sensor_more.c - more of the real sensor, loaded in the kernel by the
 * real agent: IPv6 TCP, UDP sends reported once per peer, ownership, links,
 * truncation, file capabilities, mounts, BPF program and module loads,
 * credential changes, a setuid exec, and the agent's noise filter with what
 * `hinomi status --json` says about it.
 *
 * One agent runs for the whole group (setup/teardown), started with
 * `--config FILE` whose noise filter ignores every path under
 * <scratch>/ignored/ (a glob ending in a star).
 * Each test acts in its scratch directory under /tmp or on the loopback
 * interface, then waits (at most 10 s per assertion) for the exact event in
 * the store.  What a test changes it restores: the mount is made in a child's
 * private mount namespace and unmounted there; children are reaped by pid.
 * Needs root; the group fails to set up without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <cmocka.h>

#include "lib/harness.h"

static struct th_agent agent;
static struct hn_store *store;
static char scratch[256];
static char conf[320];

/* ---- helpers ---- */


static bool path_is(const struct hn_event *ev, const void *arg)
{
	return ev->path && !strcmp(ev->path, arg);
}

static bool dst_port_is(const struct hn_event *ev, const void *arg)
{
	return ev->dst.port == *(const uint16_t *)arg;
}

static bool src_port_is(const struct hn_event *ev, const void *arg)
{
	return ev->src.port == *(const uint16_t *)arg;
}

/* path and owner_uid */
struct path_u64 {
	const char *path;
	uint64_t v;
};

static bool path_owner_is(const struct hn_event *ev, const void *arg)
{
	const struct path_u64 *w = arg;
	return path_is(ev, w->path) && ev->owner_uid == w->v;
}

static bool path_size_is(const struct hn_event *ev, const void *arg)
{
	const struct path_u64 *w = arg;
	return path_is(ev, w->path) && ev->size == w->v;
}

static bool name_is(const struct hn_event *ev, const void *arg)
{
	return ev->name && !strcmp(ev->name, arg);
}

static int make_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n = (ssize_t)strlen(data);

	if (fd < 0)
		return -1;
	if (write(fd, data, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void in_scratch(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", scratch, name);
}

/* ---- setup ---- */

static int group_setup(void **state)
{
	char ignored[300];
	FILE *f;

	(void)state;
	if (th_scratch(scratch, sizeof(scratch), "more") < 0)
		return -1;
	snprintf(ignored, sizeof(ignored), "%s/ignored", scratch);
	if (mkdir(ignored, 0755) < 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/agent.conf", scratch);
	f = fopen(conf, "w");
	if (!f)
		return -1;
	fprintf(f, "# test_sensor_more: the noise filter\nignore-path %s/*\n", ignored);
	if (fclose(f) != 0)
		return -1;
	return th_group_start(&agent, &store,
			      (const char *const[]){ "--quiet", "--config", conf, NULL });
}

static int group_teardown(void **state)
{
	(void)state;
	th_group_stop(&agent, store, scratch);
	return 0;
}

/* ---- network ---- */

/* connect to a [::1] listener, and the accept side */
static void ipv6_tcp_connect_accept(void **state)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in6 peer;
	socklen_t sl = sizeof(sa), pl = sizeof(peer);
	struct hn_event *ev;
	uint16_t port, cport;
	int ls, cs;
	pid_t p;
	char addr[64];

	(void)state;
	ls = socket(AF_INET6, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(ls);
		skip(); /* no IPv6 on lo */
	}
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin6_port);
	p = fork();
	if (p == 0) {
		int s = socket(AF_INET6, SOCK_STREAM, 0);
		int r = connect(s, (struct sockaddr *)&sa, sizeof(sa));
		if (r == 0 && write(s, "x", 1) != 1)
			r = -1;
		close(s);
		_exit(r == 0 ? 0 : 1);
	}
	cs = accept(ls, (struct sockaddr *)&peer, &pl);
	assert_true(cs >= 0);
	cport = ntohs(peer.sin6_port);
	close(cs);
	close(ls);
	assert_int_equal(th_reap(p), 0);

	ev = th_wait_match(store, HN_EV_NET_LISTEN, (uint32_t)getpid(), src_port_is, &port);
	assert_non_null(ev);
	assert_int_equal(ev->src.family, AF_INET6);
	assert_string_equal(hn_addr_str(&ev->src, addr, sizeof(addr)), "::1");
	assert_int_equal(ev->transport, IPPROTO_TCP);
	assert_int_equal(ev->result, 0);
	hn_event_free(ev);

	ev = th_wait_match(store, HN_EV_NET_CONNECT, (uint32_t)p, dst_port_is, &port);
	assert_non_null(ev);
	assert_int_equal(ev->dst.family, AF_INET6);
	assert_string_equal(hn_addr_str(&ev->dst, addr, sizeof(addr)), "::1");
	assert_string_equal(hn_addr_str(&ev->src, addr, sizeof(addr)), "::1");
	assert_int_equal(ev->src.port, cport);
	assert_int_equal(ev->result, 0);
	assert_int_equal(ev->transport, IPPROTO_TCP);
	assert_int_equal(ev->flags & (HN_EVF_FAILED | HN_EVF_INPROGRESS), 0);
	hn_event_free(ev);

	ev = th_wait_match(store, HN_EV_NET_ACCEPT, (uint32_t)getpid(), src_port_is, &port);
	assert_non_null(ev);
	assert_int_equal(ev->src.family, AF_INET6);
	assert_string_equal(hn_addr_str(&ev->src, addr, sizeof(addr)), "::1");
	assert_string_equal(hn_addr_str(&ev->dst, addr, sizeof(addr)), "::1");
	assert_int_equal(ev->dst.port, cport);
	assert_int_equal(ev->result, cs);
	assert_int_equal(ev->transport, IPPROTO_TCP);
	hn_event_free(ev);
}

/* Two datagrams to one peer and one to another: one event per peer. */
static void udp_send_once_per_peer(void **state)
{
	struct sockaddr_in a1 = { .sin_family = AF_INET }, a2, me;
	socklen_t sl = sizeof(a1);
	struct hn_event *ev;
	uint16_t p1, p2, sport;
	int r1, r2, s;
	char addr[64];

	(void)state;
	a1.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a2 = a1;
	r1 = socket(AF_INET, SOCK_DGRAM, 0);
	r2 = socket(AF_INET, SOCK_DGRAM, 0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r1 >= 0 && r2 >= 0 && s >= 0);
	assert_int_equal(bind(r1, (struct sockaddr *)&a1, sizeof(a1)), 0);
	assert_int_equal(bind(r2, (struct sockaddr *)&a2, sizeof(a2)), 0);
	assert_int_equal(getsockname(r1, (struct sockaddr *)&a1, &sl), 0);
	sl = sizeof(a2);
	assert_int_equal(getsockname(r2, (struct sockaddr *)&a2, &sl), 0);
	p1 = ntohs(a1.sin_port);
	p2 = ntohs(a2.sin_port);
	assert_int_equal(sendto(s, "one", 3, 0, (struct sockaddr *)&a1, sizeof(a1)), 3);
	assert_int_equal(sendto(s, "two", 3, 0, (struct sockaddr *)&a1, sizeof(a1)), 3);
	assert_int_equal(sendto(s, "three", 5, 0, (struct sockaddr *)&a2, sizeof(a2)), 5);
	sl = sizeof(me);
	assert_int_equal(getsockname(s, (struct sockaddr *)&me, &sl), 0);
	sport = ntohs(me.sin_port);
	close(s);
	close(r1);
	close(r2);

	/* the last datagram's event; anything sent before it is stored by now */
	ev = th_wait_match(store, HN_EV_NET_UDP_SEND, (uint32_t)getpid(), dst_port_is, &p2);
	assert_non_null(ev);
	assert_string_equal(hn_addr_str(&ev->dst, addr, sizeof(addr)), "127.0.0.1");
	assert_int_equal(ev->dst.family, AF_INET);
	assert_int_equal(ev->transport, IPPROTO_UDP);
	assert_int_equal(ev->src.port, sport);
	assert_int_equal(ev->result, 5);
	hn_event_free(ev);
	ev = th_wait_match(store, HN_EV_NET_UDP_SEND, (uint32_t)getpid(), dst_port_is, &p1);
	assert_non_null(ev);
	assert_string_equal(hn_addr_str(&ev->dst, addr, sizeof(addr)), "127.0.0.1");
	assert_int_equal(ev->src.port, sport);
	assert_int_equal(ev->result, 3);
	hn_event_free(ev);
	assert_int_equal(th_count_match(store, HN_EV_NET_UDP_SEND, (uint32_t)getpid(), dst_port_is, &p1), 1);
	assert_int_equal(th_count_match(store, HN_EV_NET_UDP_SEND, (uint32_t)getpid(), dst_port_is, &p2), 1);
}

/* ---- files ---- */

static void chown_owner(void **state)
{
	char f[320];
	struct path_u64 w1, w2;
	struct hn_event *ev;
	int fd;

	(void)state;
	in_scratch(f, sizeof(f), "owned");
	assert_int_equal(make_file(f, "x"), 0);
	assert_int_equal(chown(f, 1234, 5678), 0);
	fd = open(f, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, 4321, 8765), 0);
	close(fd);

	w1 = (struct path_u64){ f, 1234 };
	ev = th_wait_match(store, HN_EV_FILE_CHOWN, (uint32_t)getpid(), path_owner_is, &w1);
	assert_non_null(ev);
	assert_int_equal(ev->owner_gid, 5678);
	assert_int_equal(ev->result, 0);
	hn_event_free(ev);
	w2 = (struct path_u64){ f, 4321 };
	ev = th_wait_match(store, HN_EV_FILE_CHOWN, (uint32_t)getpid(), path_owner_is, &w2);
	assert_non_null(ev);
	assert_int_equal(ev->owner_gid, 8765);
	{
		struct stat st;
		assert_int_equal(stat(f, &st), 0);
		assert_int_equal(ev->ino, st.st_ino);
	}
	hn_event_free(ev);
}

static void hard_link(void **state)
{
	char orig[320], hard[320];
	struct hn_event *ev;

	(void)state;
	in_scratch(orig, sizeof(orig), "orig");
	in_scratch(hard, sizeof(hard), "hardlink");
	assert_int_equal(make_file(orig, "x"), 0);
	assert_int_equal(link(orig, hard), 0);

	/* link: path = the existing file, path2 = the new name */
	ev = th_wait_match(store, HN_EV_FILE_LINK, (uint32_t)getpid(), path_is, orig);
	assert_non_null(ev);
	assert_string_equal(ev->path2, hard);
	assert_int_equal(ev->result, 0);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
}

/*
 * BUG (src/sensor/bpf/file.bpf.h, hn_sys_symlink and hn_sys_symlinkat):
 * they call handle_two_paths(ctx, HN_F_SYMLINK, AT_FDCWD_, linkpath, -1000,
 * target), but handle_two_paths() reads the -1000 marker ("path1 is a
 * symlink target, keep it as written") on dfd1 only.  So the kernel sends
 * PATH = the link (resolved) and PATH2 = the target (through put_upath_at
 * with dirfd -1000: RAW only), while decode.c's HN_F_SYMLINK case takes
 * path = PATH2 and path2 = PATH, as the contract says (event.h: path2 is
 * the link/symlink target).  The stored event is reversed: path = the
 * target (a relative target "orig" becomes "/orig", flagged
 * HN_EVF_PATH_PARTIAL), path2 = the link as typed (not joined with the cwd
 * when relative).  Expected call: handle_two_paths(ctx, HN_F_SYMLINK, -1000,
 * target, AT_FDCWD_, linkpath) (symlinkat: -1000, ARG1, ARG2, ARG3).
 * Fails until fixed.
 */
static void symlink_paths(void **state)
{
	char orig[320], rel[320], abs_[320];
	struct hn_event *ev;

	(void)state;
	in_scratch(orig, sizeof(orig), "orig-s");
	in_scratch(rel, sizeof(rel), "symlink-rel");
	in_scratch(abs_, sizeof(abs_), "symlink-abs");
	assert_int_equal(make_file(orig, "x"), 0);
	assert_int_equal(symlink(orig, abs_), 0);
	assert_int_equal(symlink("orig-s", rel), 0);

	/* symlink: path = the new link, path2 = the target as written */
	ev = th_wait_match(store, HN_EV_FILE_SYMLINK, (uint32_t)getpid(), path_is, abs_);
	assert_non_null(ev);
	assert_string_equal(ev->path2, orig);
	assert_int_equal(ev->result, 0);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
	ev = th_wait_match(store, HN_EV_FILE_SYMLINK, (uint32_t)getpid(), path_is, rel);
	assert_non_null(ev);
	assert_string_equal(ev->path2, "orig-s");
	hn_event_free(ev);
}

/*
 * BUG (src/sensor/decode.c, hn_decode, case HN_W_FILE): see test_decode.c
 * symlink_relative_target_not_partial.  A symlink whose target is relative
 * ("orig") is stored with HN_EVF_PATH_PARTIAL although its path (the link)
 * is fully resolved: the flag comes from decoding the PATH slot (the raw
 * relative target) as a path before the symlink case replaces ev->path.
 * Fails until that is fixed, and the file.bpf.h argument order (see
 * symlink_paths) too: the event is looked up by the link's path.
 */
static void symlink_relative_target_not_partial(void **state)
{
	char rel[320];
	struct hn_event *ev;
	uint32_t flags;

	(void)state;
	in_scratch(rel, sizeof(rel), "symlink-rel2");
	assert_int_equal(symlink("orig-s", rel), 0);
	ev = th_wait_match(store, HN_EV_FILE_SYMLINK, (uint32_t)getpid(), path_is, rel);
	assert_non_null(ev);
	flags = ev->flags;
	hn_event_free(ev);
	assert_int_equal(flags & HN_EVF_PATH_PARTIAL, 0);
}

static void truncate_sizes(void **state)
{
	char f[320];
	struct path_u64 w;
	struct hn_event *ev;
	int fd;

	(void)state;
	in_scratch(f, sizeof(f), "trunc");
	assert_int_equal(make_file(f, "0123456789"), 0);
	assert_int_equal(truncate(f, 12345), 0);
	fd = open(f, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 777), 0);
	close(fd);

	w = (struct path_u64){ f, 12345 };
	ev = th_wait_match(store, HN_EV_FILE_TRUNCATE, (uint32_t)getpid(), path_size_is, &w);
	assert_non_null(ev);
	assert_int_equal(ev->result, 0);
	hn_event_free(ev);
	w.v = 777;
	ev = th_wait_match(store, HN_EV_FILE_TRUNCATE, (uint32_t)getpid(), path_size_is, &w);
	assert_non_null(ev);
	assert_int_equal(ev->result, 0);
	hn_event_free(ev);
	/* exactly those two */
	assert_int_equal(th_count_match(store, HN_EV_FILE_TRUNCATE, (uint32_t)getpid(), path_is, f), 2);
}

/* struct vfs_cap_data, revision 2 (linux/capability.h) */
struct hn_vfs_cap {
	uint32_t magic_etc;
	struct {
		uint32_t permitted, inheritable;
	} data[2];
};

static void setxattr_file_capability(void **state)
{
	char f[320];
	struct hn_vfs_cap cap = { .magic_etc = 0x02000000 /* VFS_CAP_REVISION_2 */ };
	struct hn_event *ev;
	int fd;

	(void)state;
	_Static_assert(sizeof(cap) == 20, "XATTR_CAPS_SZ_2");
	cap.data[0].permitted = 1u << 13; /* CAP_NET_RAW */
	in_scratch(f, sizeof(f), "capfile");
	assert_int_equal(make_file(f, "x"), 0);
	/* not a capability: not reported */
	assert_int_equal(setxattr(f, "user.hinomi", "v", 1, 0), 0);
	assert_int_equal(setxattr(f, "security.capability", &cap, sizeof(cap), 0), 0);
	fd = open(f, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fsetxattr(fd, "security.capability", &cap, sizeof(cap), 0), 0);
	close(fd);
	{
		struct hn_vfs_cap back;
		assert_int_equal(getxattr(f, "security.capability", &back, sizeof(back)),
				 (ssize_t)sizeof(back));
		assert_int_equal(back.data[0].permitted, 1u << 13);
	}
	assert_int_equal(removexattr(f, "security.capability"), 0);

	ev = th_wait_match(store, HN_EV_FILE_SETXATTR, (uint32_t)getpid(), path_is, f);
	assert_non_null(ev);
	assert_string_equal(ev->name, "security.capability");
	assert_int_equal(ev->result, 0);
	hn_event_free(ev);
	/* the fsetxattr too (its path from the open file) */
	for (int i = 0; i < 100 && th_count_match(store, HN_EV_FILE_SETXATTR, (uint32_t)getpid(),
					       path_is, f) < 2; i++)
		th_sleep_ms(100);
	assert_int_equal(th_count_match(store, HN_EV_FILE_SETXATTR, (uint32_t)getpid(), path_is, f), 2);
	assert_int_equal(th_count_match(store, HN_EV_FILE_SETXATTR, (uint32_t)getpid(), name_is,
				     "user.hinomi"), 0);
	assert_int_equal(th_count_match(store, HN_EV_FILE_SETXATTR, (uint32_t)getpid(), name_is,
				     "security.capability"), 2);
}

/* ---- kernel ---- */

/* A tmpfs mounted on a scratch directory and unmounted, in a child's own
 * mount namespace (nothing leaks to the host's mount table, even if the
 * child dies half-way). */
static void mount_tmpfs(void **state)
{
	char dir[320];
	struct hn_event *ev;
	struct stat before, after;
	pid_t p;

	(void)state;
	in_scratch(dir, sizeof(dir), "mnt");
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(stat(dir, &before), 0);
	p = fork();
	if (p == 0) {
		char f[400];
		if (unshare(CLONE_NEWNS) < 0)
			_exit(1);
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(2);
		if (mount("hn-tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") < 0)
			_exit(3);
		snprintf(f, sizeof(f), "%s/inside", dir);
		if (make_file(f, "x") < 0)
			_exit(4);
		if (umount2(dir, 0) < 0)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(th_reap(p), 0);
	/* the host's view of the directory did not change */
	assert_int_equal(stat(dir, &after), 0);
	assert_int_equal(before.st_dev, after.st_dev);
	assert_int_equal(before.st_ino, after.st_ino);

	ev = th_wait_match(store, HN_EV_MOUNT, (uint32_t)p, path_is, dir);
	assert_non_null(ev);
	assert_string_equal(ev->name, "tmpfs");
	assert_string_equal(ev->path2, "hn-tmpfs");
	assert_int_equal(ev->request, MS_NOSUID | MS_NODEV);
	assert_int_equal(ev->result, 0);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
}

static int prog_load(const char *name, unsigned ninsns)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	attr.insn_cnt = ninsns;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", name);
	return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
}

static void bpf_prog_load(void **state)
{
	struct hn_event *ev;
	int fd, bad, bad_errno;

	(void)state;
	fd = prog_load("hn_test_prog", 2);
	assert_true(fd >= 0);
	/* without its exit the verifier refuses it */
	bad = prog_load("hn_bad_prog", 1);
	bad_errno = errno;
	assert_true(bad < 0);

	ev = th_wait_match(store, HN_EV_BPF_LOAD, (uint32_t)getpid(), name_is, "hn_test_prog");
	assert_non_null(ev);
	assert_int_equal(ev->request, BPF_PROG_TYPE_SOCKET_FILTER);
	assert_int_equal(ev->result, fd);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);
	close(fd);

	ev = th_wait_match(store, HN_EV_BPF_LOAD, (uint32_t)getpid(), name_is, "hn_bad_prog");
	assert_non_null(ev);
	assert_int_equal(ev->result, -bad_errno);
	assert_true(ev->flags & HN_EVF_FAILED);
	hn_event_free(ev);
}

/* finit_module of a file that is not a module: refused, and reported with
 * the file and the error */
static void finit_module_not_a_module(void **state)
{
	char f[320];
	struct hn_event *ev;
	long r;
	int fd, err;

	(void)state;
	in_scratch(f, sizeof(f), "notamod.ko");
	assert_int_equal(make_file(f, "this is not an ELF module\n"), 0);
	fd = open(f, O_RDONLY);
	assert_true(fd >= 0);
	r = syscall(SYS_finit_module, fd, "", 0);
	err = errno;
	close(fd);
	assert_true(r < 0);

	ev = th_wait_match(store, HN_EV_MODULE_LOAD, (uint32_t)getpid(), path_is, f);
	assert_non_null(ev);
	assert_int_equal(ev->result, -err);
	assert_true(ev->flags & HN_EVF_FAILED);
	assert_string_equal(ev->name, "notamod");
	hn_event_free(ev);
}

/* ---- processes ---- */

static void setuid_in_child(void **state)
{
	struct hn_event *ev;
	pid_t a, b;

	(void)state;
	a = fork();
	if (a == 0)
		_exit(setuid(65534) == 0 && getuid() == 65534 ? 0 : 1);
	b = fork();
	if (b == 0)
		_exit(setresuid(65534, 65534, 65534) == 0 && geteuid() == 65534 ? 0 : 1);
	assert_int_equal(th_reap(a), 0);
	assert_int_equal(th_reap(b), 0);

	ev = th_wait_match(store, HN_EV_CRED_CHANGE, (uint32_t)a, NULL, NULL);
	assert_non_null(ev);
	assert_string_equal(ev->name, "setuid");
	assert_int_equal(ev->request, SYS_setuid);
	assert_int_equal(ev->cred_arg[0], 65534);
	assert_int_equal(ev->proc.uid, 65534);
	assert_int_equal(ev->proc.euid, 65534);
	assert_int_equal(ev->proc.gid, 0);
	assert_int_equal(ev->result, 0);
	assert_int_equal(ev->flags, 0);
	hn_event_free(ev);

	ev = th_wait_match(store, HN_EV_CRED_CHANGE, (uint32_t)b, NULL, NULL);
	assert_non_null(ev);
	assert_string_equal(ev->name, "setuid");
	assert_int_equal(ev->request, SYS_setresuid);
	assert_int_equal(ev->cred_arg[0], 65534);
	assert_int_equal(ev->cred_arg[1], 65534);
	assert_int_equal(ev->cred_arg[2], 65534);
	assert_int_equal(ev->proc.uid, 65534);
	assert_int_equal(ev->proc.euid, 65534);
	assert_int_equal(ev->result, 0);
	hn_event_free(ev);
	/* one call each, one event each */
	assert_int_equal(th_count_match(store, HN_EV_CRED_CHANGE, (uint32_t)a, NULL, NULL), 1);
	assert_int_equal(th_count_match(store, HN_EV_CRED_CHANGE, (uint32_t)b, NULL, NULL), 1);
}

/* Run path (argv) in a child, as uid/gid `as` unless it is 0; its stdout
 * into out.  Returns the child's pid (reaped; *status its wait status). */
static pid_t run_capture(const char *path, char *const argv[], uid_t as, char *out, size_t n,
			 int *status)
{
	int pfd[2];
	ssize_t got = 0, k;
	pid_t p;

	if (pipe(pfd) < 0)
		return -1;
	p = fork();
	if (p == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		if (as && (setresgid(as, as, as) < 0 || setresuid(as, as, as) < 0))
			_exit(126);
		execv(path, argv);
		_exit(127);
	}
	close(pfd[1]);
	while (p > 0 && (size_t)got < n - 1 && (k = read(pfd[0], out + got, n - 1 - (size_t)got)) > 0)
		got += k;
	out[got > 0 ? got : 0] = '\0';
	close(pfd[0]);
	*status = p > 0 ? th_reap(p) : -1;
	return p;
}

/*
 * BUG (src/sensor/bpf/process.bpf.h, hn_exec, the HN_XF_SETUID test):
 * `BPF_CORE_READ(bprm, cred, euid.val) != BPF_CORE_READ(task, real_cred,
 * uid.val)`.  At sched_process_exec the exec is past begin_new_exec(),
 * which did commit_creds(bprm->cred) and set bprm->cred = NULL, so the read
 * through bprm->cred yields 0: the test is really "real uid != 0".  An exec
 * that changes the euid is not flagged when run by root (this test: root
 * runs a copy of id(1) that is setuid to nobody, and id itself prints the
 * new euid), and every exec by a non-root user is flagged
 * (exec_by_user_not_flagged_setuid).  The task's credentials are already
 * the new ones here; whether the exec changed ids is what
 * bprm->secureexec / bprm->per_clear record.  Fails until fixed.
 */
static void setuid_exec(void **state)
{
	char f[320], out[64];
	char *argv[] = { "suid-id", "-u", NULL };
	struct statvfs vfs;
	struct hn_event *ev;
	uint32_t flags, uid, euid;
	int st;
	pid_t p;

	(void)state;
	in_scratch(f, sizeof(f), "suid-id");
	assert_int_equal(statvfs(scratch, &vfs), 0);
	if (vfs.f_flag & ST_NOSUID)
		skip();
	{
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "cp /usr/bin/id %s", f);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(chown(f, 65534, 65534), 0);
	assert_int_equal(chmod(f, 04755), 0);
	p = run_capture(f, argv, 0, out, sizeof(out), &st);
	assert_true(p > 0);
	assert_int_equal(st, 0);
	/* the exec did change the euid */
	assert_string_equal(out, "65534\n");

	ev = th_wait_match(store, HN_EV_PROCESS_START, (uint32_t)p, path_is, f);
	assert_non_null(ev);
	flags = ev->flags;
	uid = ev->proc.uid;
	euid = ev->proc.euid;
	hn_event_free(ev);
	assert_int_equal(uid, 0);
	assert_int_equal(euid, 65534);
	assert_true(flags & HN_EVF_SETUID_EXEC);
}

/* See setuid_exec: a plain exec by a non-root user must not be flagged.
 * Fails until the HN_XF_SETUID test in hn_exec is fixed. */
static void exec_by_user_not_flagged_setuid(void **state)
{
	char out[64];
	char *argv[] = { "id", "-u", NULL };
	struct hn_event *ev;
	uint32_t flags, uid, euid;
	int st;
	pid_t p;

	(void)state;
	p = run_capture("/usr/bin/id", argv, 65534, out, sizeof(out), &st);
	assert_true(p > 0);
	assert_int_equal(st, 0);
	assert_string_equal(out, "65534\n");

	ev = th_wait_match(store, HN_EV_PROCESS_START, (uint32_t)p, path_is, "/usr/bin/id");
	assert_non_null(ev);
	flags = ev->flags;
	uid = ev->proc.uid;
	euid = ev->proc.euid;
	hn_event_free(ev);
	assert_int_equal(uid, 65534);
	assert_int_equal(euid, 65534);
	assert_int_equal(flags & HN_EVF_SETUID_EXEC, 0);
}

/* ---- the noise filter ---- */

static bool path_under(const struct hn_event *ev, const void *arg)
{
	size_t n = strlen(arg);
	return (ev->path && !strncmp(ev->path, arg, n)) ||
	       (ev->path2 && !strncmp(ev->path2, arg, n));
}

/* Run `hinomi status --db DB --json` through python3's json module: 0 when
 * it parses and shows file_create events filtered, 3 when it parses and
 * shows none (yet), else the failure. */
static int status_json_check(void)
{
	char cmd[1400];
	int r;

	snprintf(cmd, sizeof(cmd),
		 "%s status --db %s --json | python3 -c '"
		 "import json,sys\n"
		 "o=json.load(sys.stdin)\n"
		 "assert o[\"db_path\"]==sys.argv[1], o[\"db_path\"]\n"
		 "assert o[\"running\"] is True and o[\"agent_alive\"] is True\n"
		 "t=[x for x in o[\"types\"] if x[\"type\"]==\"file_create\"]\n"
		 "sys.exit(0 if t and t[0][\"filtered\"]>0 and t[0][\"stored\"]>0 else 3)' %s",
		 th_bin(), agent.db, agent.db);
	r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void noise_filter_ignored_path(void **state)
{
	char ign[320], noise[340], kept[320];
	struct hn_query q = { .pid = 0 };
	struct hn_event *ev, **v;
	int n, bad = 0, r = -1;

	(void)state;
	snprintf(ign, sizeof(ign), "%s/ignored/", scratch);
	snprintf(noise, sizeof(noise), "%snoise.txt", ign);
	in_scratch(kept, sizeof(kept), "kept.txt");
	assert_int_equal(make_file(noise, "noise"), 0);
	assert_int_equal(rename(noise, noise), 0);
	assert_int_equal(chmod(noise, 0600), 0);
	assert_int_equal(unlink(noise), 0);
	/* the sibling outside, last: once it is stored, the rest would be */
	assert_int_equal(make_file(kept, "kept"), 0);

	ev = th_wait_match(store, HN_EV_FILE_CREATE, (uint32_t)getpid(), path_is, kept);
	assert_non_null(ev);
	hn_event_free(ev);
	/* nothing under ignored/, of any type */
	q.pid = (uint32_t)getpid();
	v = th_events(store, &q, &n);
	for (int i = 0; i < n; i++)
		if (path_under(v[i], ign)) {
			fprintf(stderr, "stored despite ignore-path: type %u path %s\n", v[i]->type,
				v[i]->path ? v[i]->path : "-");
			bad++;
		}
	th_events_free(v, n);
	assert_int_equal(bad, 0);

	/* the status (published every second) counts them as filtered */
	for (int i = 0; i < 100; i++) {
		r = status_json_check();
		if (r != 3)
			break;
		th_sleep_ms(100);
	}
	assert_int_equal(r, 0);
}

/* Identity of the written file, to find rows about it without a path. */
struct ino_key {
	uint64_t ino;
};

static bool ino_is(const struct hn_event *ev, const void *arg)
{
	return ev->ino == ((const struct ino_key *)arg)->ino;
}

/*
 * BUG (src/agent/agent.c on_event + src/store/writer.c write_event): a file
 * written under an ignored path still leaves a row.  The open is dropped by
 * the noise filter (its path matches), but the "written" record sent at
 * close (HN_F_WRITTEN, file.bpf.h hn_close) carries no path, so
 * hn_agent_config_ignore_path(cfg, NULL) keeps it; the writer finds no open
 * row to flag (it was filtered) and stores it as an event of its own
 * ("opened before the agent started"): a file_open_write row, flagged
 * written, with the ignored file's dev/ino.  Every write to an ignored log
 * file thus still costs one row.  Fails until fixed.
 */
static void noise_filter_drops_written_close(void **state)
{
	char noise[340], kept[320];
	struct ino_key k;
	struct stat st;
	struct hn_event *ev;
	int fd;

	(void)state;
	snprintf(noise, sizeof(noise), "%s/ignored/written.log", scratch);
	in_scratch(kept, sizeof(kept), "kept-after-written.txt");
	fd = open(noise, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(write(fd, "log line\n", 9), 9);
	close(fd);
	k.ino = st.st_ino;
	assert_int_equal(make_file(kept, "kept"), 0);

	ev = th_wait_match(store, HN_EV_FILE_CREATE, (uint32_t)getpid(), path_is, kept);
	assert_non_null(ev);
	hn_event_free(ev);
	assert_int_equal(th_count_match(store, HN_EV_FILE_CREATE, (uint32_t)getpid(), ino_is, &k), 0);
	assert_int_equal(th_count_match(store, HN_EV_FILE_OPEN_WRITE, (uint32_t)getpid(), ino_is, &k), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ipv6_tcp_connect_accept),
		cmocka_unit_test(udp_send_once_per_peer),
		cmocka_unit_test(chown_owner),
		cmocka_unit_test(hard_link),
		cmocka_unit_test(symlink_paths),
		cmocka_unit_test(symlink_relative_target_not_partial),
		cmocka_unit_test(truncate_sizes),
		cmocka_unit_test(setxattr_file_capability),
		cmocka_unit_test(mount_tmpfs),
		cmocka_unit_test(bpf_prog_load),
		cmocka_unit_test(finit_module_not_a_module),
		cmocka_unit_test(setuid_in_child),
		cmocka_unit_test(setuid_exec),
		cmocka_unit_test(exec_by_user_not_flagged_setuid),
		cmocka_unit_test(noise_filter_ignored_path),
		cmocka_unit_test(noise_filter_drops_written_close),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
