/*
 * sensor.c - loading the BPF sensor and reading its ring buffer.
 *
 * Open -> configure -> load -> attach, tolerant of refusals:
 *   - load: when the kernel refuses a program, libbpf's log names it; that
 *     program is disabled (autoload off) and the object reopened and loaded
 *     again, at most once per program.  Disabled programs are reported by
 *     hn_sensor_programs() with the reason.
 *   - attach: each hook is attached on its own; one that fails is reported.
 *   - the sys_exit dispatcher gets one tail-call slot per syscall handler
 *     that loaded (syscall numbers from <sys/syscall.h>).
 * The sensor is usable when at least the process hooks are active.
 *
 * Reading: ring_buffer__poll() then ring_buffer__consume(), because the BPF
 * side submits without waking the reader until wake_bytes are waiting or
 * wake_ns have passed since it last woke it.
 */
#include "sensor/sensor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sensor.skel.h"
#include "sensor/wire.h"

#define MAX_PROGS 96

struct hn_sensor {
	struct hn_sensor_bpf *skel;
	struct ring_buffer *rb;
	struct hn_decode_ctx dctx;
	hn_sensor_cb cb;
	void *cb_arg;
	uint64_t malformed;
	uint64_t last_wall_sync;
	int nprogs;
	struct hn_sensor_prog progs[MAX_PROGS];
};

/* ---- libbpf log capture: which program did the kernel refuse? ---- */

static char failed_prog[64];
static char failed_why[96];

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	const char *p;
	va_list copy;

	if (level == LIBBPF_DEBUG)
		return 0;
	va_copy(copy, ap);
	if (getenv("HINOMI_BPF_DEBUG"))
		vfprintf(stderr, fmt, copy);
	va_end(copy);
	vsnprintf(line, sizeof(line), fmt, ap);
	/* "libbpf: prog 'NAME': BPF program load failed: REASON" */
	p = strstr(line, "prog '");
	if (p && strstr(line, "failed")) {
		const char *e;
		p += 6;
		e = strchr(p, '\'');
		if (e && (size_t)(e - p) < sizeof(failed_prog) && !failed_prog[0]) {
			memcpy(failed_prog, p, (size_t)(e - p));
			failed_prog[e - p] = '\0';
			p = strstr(e, "failed: ");
			snprintf(failed_why, sizeof(failed_why), "%s",
				 p ? p + 8 : "refused by the kernel");
			failed_why[strcspn(failed_why, "\n")] = '\0';
		}
	}
	return 0;
}

/* ---- the syscall table: number -> handler program ---- */

struct sys_slot {
	long nr;
	const char *prog;
};

static const struct sys_slot sys_slots[] = {
#ifdef SYS_open
	{ SYS_open, "hn_sys_open" },
#endif
	{ SYS_openat, "hn_sys_openat" },
#ifdef SYS_openat2
	{ SYS_openat2, "hn_sys_openat2" },
#endif
#ifdef SYS_creat
	{ SYS_creat, "hn_sys_creat" },
#endif
#ifdef SYS_rename
	{ SYS_rename, "hn_sys_rename" },
#endif
	{ SYS_renameat, "hn_sys_renameat" },
	{ SYS_renameat2, "hn_sys_renameat" },
#ifdef SYS_link
	{ SYS_link, "hn_sys_link" },
#endif
	{ SYS_linkat, "hn_sys_linkat" },
#ifdef SYS_symlink
	{ SYS_symlink, "hn_sys_symlink" },
#endif
	{ SYS_symlinkat, "hn_sys_symlinkat" },
#ifdef SYS_unlink
	{ SYS_unlink, "hn_sys_unlink" },
#endif
	{ SYS_unlinkat, "hn_sys_unlinkat" },
#ifdef SYS_rmdir
	{ SYS_rmdir, "hn_sys_rmdir" },
#endif
#ifdef SYS_mkdir
	{ SYS_mkdir, "hn_sys_mkdir" },
#endif
	{ SYS_mkdirat, "hn_sys_mkdirat" },
#ifdef SYS_chmod
	{ SYS_chmod, "hn_sys_chmod" },
#endif
	{ SYS_fchmodat, "hn_sys_fchmodat" },
#ifdef SYS_fchmodat2
	{ SYS_fchmodat2, "hn_sys_fchmodat" },
#else
	{ 452, "hn_sys_fchmodat" },
#endif
	{ SYS_fchmod, "hn_sys_fchmod" },
#ifdef SYS_chown
	{ SYS_chown, "hn_sys_chown" },
#endif
#ifdef SYS_lchown
	{ SYS_lchown, "hn_sys_chown" },
#endif
	{ SYS_fchownat, "hn_sys_fchownat" },
	{ SYS_fchown, "hn_sys_fchown" },
	{ SYS_truncate, "hn_sys_truncate" },
	{ SYS_ftruncate, "hn_sys_ftruncate" },
	{ SYS_setxattr, "hn_sys_setxattr" },
	{ SYS_lsetxattr, "hn_sys_setxattr" },
	{ SYS_fsetxattr, "hn_sys_fsetxattr" },
	{ SYS_connect, "hn_sys_connect" },
#ifdef SYS_accept
	{ SYS_accept, "hn_sys_accept" },
#endif
	{ SYS_accept4, "hn_sys_accept" },
	{ SYS_bind, "hn_sys_bind" },
	{ SYS_listen, "hn_sys_listen" },
	{ SYS_sendto, "hn_sys_sendto" },
	{ SYS_sendmsg, "hn_sys_sendmsg" },
	{ SYS_sendmmsg, "hn_sys_sendmmsg" },
	{ SYS_recvfrom, "hn_sys_recvfrom" },
	{ SYS_recvmsg, "hn_sys_recvmsg" },
	{ SYS_init_module, "hn_sys_init_module" },
	{ SYS_finit_module, "hn_sys_finit_module" },
	{ SYS_bpf, "hn_sys_bpf" },
	{ SYS_mount, "hn_sys_mount" },
	{ SYS_setuid, "hn_sys_setuid" },
	{ SYS_setgid, "hn_sys_setgid" },
	{ SYS_setreuid, "hn_sys_setreuid" },
	{ SYS_setregid, "hn_sys_setregid" },
	{ SYS_setresuid, "hn_sys_setresuid" },
	{ SYS_setresgid, "hn_sys_setresgid" },
	{ SYS_setfsuid, "hn_sys_setfsuid" },
	{ SYS_setfsgid, "hn_sys_setfsgid" },
	{ SYS_capset, "hn_sys_capset" },
	{ SYS_ptrace, "hn_sys_ptrace" },
	{ SYS_process_vm_writev, "hn_sys_process_vm_writev" },
	{ SYS_memfd_create, "hn_sys_memfd_create" },
};

/* Hooks attached directly (the rest are tail-call handlers). */
static const char *const hooks[] = {
	"hn_exec", "hn_fork", "hn_exit", "hn_sys_exit", "hn_close", "hn_dup2", "hn_dup3",
};

/* Programs run on demand, not attached to a hook. */
static const char *const on_demand[] = {
	"hn_iter_tasks",
};

static const char *const family_names[HN_W_TYPE_MAX] = {
	[HN_W_EXEC] = "exec",     [HN_W_FORK] = "fork",   [HN_W_EXIT] = "exit",
	[HN_W_CRED] = "cred",     [HN_W_PTRACE] = "ptrace", [HN_W_VMWRITE] = "vm_write",
	[HN_W_MEMFD] = "memfd",   [HN_W_FILE] = "file",   [HN_W_NET] = "network",
	[HN_W_KMOD] = "module",   [HN_W_BPF] = "bpf",     [HN_W_MOUNT] = "mount",
};

static struct hn_sensor_prog *prog_note(struct hn_sensor *s, const char *name)
{
	for (int i = 0; i < s->nprogs; i++)
		if (!strcmp(s->progs[i].name, name))
			return &s->progs[i];
	if (s->nprogs == MAX_PROGS)
		return NULL;
	struct hn_sensor_prog *p = &s->progs[s->nprogs++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->active = false;
	p->why[0] = '\0';
	return p;
}

static void prog_set(struct hn_sensor *s, const char *name, bool active, const char *why)
{
	struct hn_sensor_prog *p = prog_note(s, name);
	if (!p)
		return;
	p->active = active;
	snprintf(p->why, sizeof(p->why), "%s", active ? "" : why);
}

/* tracefs is needed for tracepoint ids; mount it when it is missing. */
static void ensure_tracefs(void)
{
	struct stat st;

	if (stat("/sys/kernel/tracing/events", &st) == 0)
		return;
	if (stat("/sys/kernel/debug/tracing/events", &st) == 0)
		return;
	mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
}

static int handle_record(void *ctx, void *data, size_t size)
{
	struct hn_sensor *s = ctx;
	struct hn_event *ev = NULL;
	int r = hn_decode(&s->dctx, data, size, &ev);

	if (r == -EINVAL)
		s->malformed++;
	if (r == 0 && ev)
		s->cb(ev, s->cb_arg);
	return 0;
}

static bool is_disabled(struct hn_sensor *s, const char *name)
{
	for (int i = 0; i < s->nprogs; i++)
		if (!strcmp(s->progs[i].name, name) && !s->progs[i].active && s->progs[i].why[0])
			return true;
	return false;
}

/* Open and load, disabling programs the kernel refuses. */
static int load(struct hn_sensor *s, const struct hn_sensor_opts *o, char *err, size_t errlen)
{
	int tries = 0, r = -EINVAL;

	for (;;) {
		struct bpf_program *p;

		s->skel = hn_sensor_bpf__open();
		if (!s->skel) {
			r = -errno;
			snprintf(err, errlen, "cannot open the BPF object: %s", strerror(-r));
			return r;
		}
		s->skel->rodata->self_tgid = (uint32_t)getpid();
		s->skel->rodata->wake_bytes = o && o->wake_bytes ? o->wake_bytes : 256 * 1024;
		s->skel->rodata->wake_ns = o && o->wake_ns ? o->wake_ns : 4000000;
		if (o && o->ringbuf_bytes)
			bpf_map__set_max_entries(s->skel->maps.rb, o->ringbuf_bytes);
		bpf_object__for_each_program(p, s->skel->obj) {
			if (is_disabled(s, bpf_program__name(p)))
				bpf_program__set_autoload(p, false);
			bpf_program__set_autoattach(p, false);
		}
		failed_prog[0] = '\0';
		r = hn_sensor_bpf__load(s->skel);
		if (r == 0)
			return 0;
		if (!failed_prog[0] || ++tries > MAX_PROGS) {
			snprintf(err, errlen, "cannot load the BPF sensor: %s%s%s", strerror(-r),
				 failed_prog[0] ? " in " : "", failed_prog);
			hn_sensor_bpf__destroy(s->skel);
			s->skel = NULL;
			return r;
		}
		prog_set(s, failed_prog, false, failed_why[0] ? failed_why : "refused by the kernel");
		hn_sensor_bpf__destroy(s->skel);
		s->skel = NULL;
	}
}

int hn_sensor_open(const struct hn_sensor_opts *o, hn_sensor_cb cb, void *arg,
		   struct hn_sensor **out, char *err, size_t errlen)
{
	struct hn_sensor *s;
	int r = -ENOMEM, tails_fd;
	char dummy[8];

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->cb = cb;
	s->cb_arg = arg;
	r = hn_decode_ctx_init(&s->dctx);
	if (r < 0) {
		snprintf(err, errlen, "cannot read the boot id: %s", strerror(-r));
		goto fail;
	}
	libbpf_set_print(libbpf_log);
	ensure_tracefs();
	r = load(s, o, err, errlen);
	if (r < 0)
		goto fail;

	/* attach the hooks */
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(s->skel->obj, hooks[i]);
		struct bpf_link *l;

		if (!p || !bpf_program__autoload(p)) {
			prog_note(s, hooks[i]);
			continue;
		}
		l = bpf_program__attach(p);
		if (!l) {
			char why[96];
			snprintf(why, sizeof(why), "attach failed: %s", strerror(errno));
			prog_set(s, hooks[i], false, why);
			continue;
		}
		bpf_program__set_autoattach(p, true);
		/* keep the link: destroyed with the skeleton through its links
		 * array is not available for manual attaches, so park it */
		for (int k = 0; k < s->skel->skeleton->prog_cnt; k++)
			if (*s->skel->skeleton->progs[k].prog == p)
				*s->skel->skeleton->progs[k].link = l;
		prog_set(s, hooks[i], true, NULL);
	}
	for (size_t i = 0; i < sizeof(on_demand) / sizeof(on_demand[0]); i++) {
		struct bpf_program *p = bpf_object__find_program_by_name(s->skel->obj, on_demand[i]);
		if (p && bpf_program__autoload(p))
			prog_set(s, on_demand[i], true, NULL);
		else
			prog_note(s, on_demand[i]);
	}
	if (!is_disabled(s, "hn_exec") && !prog_note(s, "hn_exec")->active) {
		r = -ENOTSUP;
		snprintf(err, errlen, "the process hooks could not be attached: %s",
			 prog_note(s, "hn_exec")->why);
		goto fail;
	}

	/* fill the sys_exit dispatcher's tail-call slots */
	tails_fd = bpf_map__fd(s->skel->maps.sys_exit_tails);
	for (size_t i = 0; i < sizeof(sys_slots) / sizeof(sys_slots[0]); i++) {
		struct bpf_program *p =
			bpf_object__find_program_by_name(s->skel->obj, sys_slots[i].prog);
		uint32_t key = (uint32_t)sys_slots[i].nr;
		int fd;

		if (!p || !bpf_program__autoload(p))
			continue;
		fd = bpf_program__fd(p);
		if (fd < 0 || bpf_map_update_elem(tails_fd, &key, &fd, BPF_ANY) < 0) {
			char why[96];
			snprintf(why, sizeof(why), "tail call slot: %s", strerror(errno));
			prog_set(s, sys_slots[i].prog, false, why);
			continue;
		}
		prog_set(s, sys_slots[i].prog, prog_note(s, "hn_sys_exit")->active,
			 "sys_exit dispatcher not attached");
	}

	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.rb), handle_record, s, NULL);
	if (!s->rb) {
		r = -errno;
		snprintf(err, errlen, "cannot open the ring buffer: %s", strerror(-r));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	hn_sensor_close(s);
	return r;
}

void hn_sensor_close(struct hn_sensor *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	hn_sensor_bpf__destroy(s->skel);
	free(s);
}

int hn_sensor_poll(struct hn_sensor *s, int timeout_ms)
{
	int n, m;

	n = ring_buffer__poll(s->rb, timeout_ms);
	if (n < 0)
		return n;
	m = ring_buffer__consume(s->rb);
	if (m < 0)
		return m;
	/* keep the boot->wall offset true across clock adjustments */
	if (++s->last_wall_sync % 64 == 0)
		hn_decode_ctx_init(&s->dctx);
	return n + m;
}

int hn_sensor_counters(struct hn_sensor *s, struct hn_sensor_family_count *out, int max)
{
	int ncpu = libbpf_num_possible_cpus(), fd, n = 0;
	uint64_t *vals;

	if (ncpu <= 0)
		return 0;
	vals = calloc((size_t)ncpu, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	fd = bpf_map__fd(s->skel->maps.counters);
	for (int t = 1; t < HN_W_TYPE_MAX && n < max; t++) {
		uint64_t sum[HN_CNT_MAX] = { 0 };
		for (int c = 0; c < HN_CNT_MAX; c++) {
			uint32_t key = (uint32_t)(t * HN_CNT_MAX + c);
			if (bpf_map_lookup_elem(fd, &key, vals) == 0)
				for (int i = 0; i < ncpu; i++)
					sum[c] += vals[i];
		}
		out[n].family = family_names[t];
		out[n].emitted = sum[HN_CNT_EMITTED];
		out[n].dropped = sum[HN_CNT_DROPPED];
		out[n].filtered = sum[HN_CNT_FILTERED];
		n++;
	}
	free(vals);
	return n;
}

uint64_t hn_sensor_malformed(struct hn_sensor *s)
{
	return s->malformed;
}

int hn_sensor_programs(struct hn_sensor *s, struct hn_sensor_prog *out, int max)
{
	int n = s->nprogs < max ? s->nprogs : max;
	memcpy(out, s->progs, (size_t)n * sizeof(*out));
	return n;
}

int hn_sensor_watch_path(struct hn_sensor *s, const char *path)
{
	struct { uint64_t dev, ino; } key;
	struct stat st;
	uint8_t one = 1;

	if (stat(path, &st) < 0)
		return -errno;
	/* the kernel's s_dev is MKDEV(major, minor) with a 20-bit minor */
	key.dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
	key.ino = st.st_ino;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.watch_inodes), &key, &one, BPF_ANY) < 0)
		return -errno;
	return 0;
}

static int cmp_task(const void *a, const void *b)
{
	const struct hn_task_start *x = a, *y = b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

int hn_sensor_task_starts(struct hn_sensor *s, struct hn_task_start **out, size_t *n)
{
	struct bpf_program *p = bpf_object__find_program_by_name(s->skel->obj, "hn_iter_tasks");
	struct bpf_link *link;
	struct hn_task_start *v = NULL;
	size_t cnt = 0, cap = 0;
	struct hn_wire_task rec;
	const size_t bufsz = 65536;
	char *buf = malloc(bufsz);   /* not static: the exec guard calls this too */
	size_t have = 0;
	int fd, r = 0;
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	if (!p || !bpf_program__autoload(p)) {
		free(buf);
		return -ENOTSUP;
	}
	link = bpf_program__attach_iter(p, NULL);
	if (!link) {
		r = -errno;
		free(buf);
		return r;
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		r = -errno;
		bpf_link__destroy(link);
		free(buf);
		return r;
	}
	/* records may straddle reads: keep the partial tail */
	while ((got = read(fd, buf + have, bufsz - have)) > 0) {
		size_t off = 0;
		have += (size_t)got;
		for (; have - off >= sizeof(rec); off += sizeof(rec)) {
			memcpy(&rec, buf + off, sizeof(rec));
			if (cnt == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				struct hn_task_start *nv = realloc(v, nc * sizeof(*v));
				if (!nv) {
					r = -ENOMEM;
					break;
				}
				v = nv;
				cap = nc;
			}
			v[cnt].pid = rec.pid;
			v[cnt].ppid = rec.ppid;
			v[cnt].start = rec.start;
			v[cnt].pstart = rec.pstart;
			cnt++;
		}
		if (r < 0)
			break;
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	if (got < 0 && r == 0)
		r = -errno;
	close(fd);
	bpf_link__destroy(link);
	free(buf);
	if (r < 0) {
		free(v);
		return r;
	}
	qsort(v, cnt, sizeof(*v), cmp_task);
	*out = v;
	*n = cnt;
	return 0;
}
