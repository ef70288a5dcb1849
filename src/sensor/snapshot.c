/*
 * snapshot.c - the processes running when the agent starts, from /proc.
 *
 * Each becomes one HN_EV_PROCESS_SNAPSHOT event with the same entity id the
 * kernel sensor will give it later (entity.h: pid and nanosecond start
 * time, which the sensor's task iterator supplies; /proc's clock ticks only
 * confirm that /proc and the iterator saw the same process), so trees are
 * complete from the first moment.  Parents are reported before
 * their children.  /proc races with exiting processes: a process that is
 * gone by the time it is read is skipped, never an error.
 */
#include "sensor/sensor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "event/entity.h"
#include "sensor/wire.h"

struct pinfo {
	uint32_t pid, ppid;
	uint64_t ticks;
	uint64_t start_ns, pstart_ns;  /* CLOCK_BOOTTIME */
	bool done;
};

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < cap - 1 && (n = read(fd, buf + total, cap - 1 - (size_t)total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return total;
}

/* /proc/PID/stat: pid (comm) state ppid ... starttime(22) */
static int parse_stat(uint32_t pid, uint32_t *ppid, uint64_t *ticks, char comm[16])
{
	char path[64], buf[1024], *rp, *save = NULL, *tok;
	int field = 3;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	rp = strrchr(buf, ')');
	if (!rp)
		return -EINVAL;
	if (comm) {
		char *lp = strchr(buf, '(');
		size_t n = lp ? (size_t)(rp - lp - 1) : 0;
		if (n > 15)
			n = 15;
		memcpy(comm, lp ? lp + 1 : "", n);
		comm[n] = '\0';
	}
	for (tok = strtok_r(rp + 2, " ", &save); tok; tok = strtok_r(NULL, " ", &save), field++) {
		if (field == 4)
			*ppid = (uint32_t)strtoul(tok, NULL, 10);
		if (field == 22) {
			*ticks = strtoull(tok, NULL, 10);
			return 0;
		}
	}
	return -EINVAL;
}

static void parse_status(uint32_t pid, struct hn_event *ev)
{
	char path[64], buf[4096], *line, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned a, b, c2, d;
		if (sscanf(line, "Uid: %u %u %u %u", &a, &b, &c2, &d) == 4) {
			ev->proc.uid = a;
			ev->proc.euid = b;
		} else if (sscanf(line, "Gid: %u %u %u %u", &a, &b, &c2, &d) == 4) {
			ev->proc.gid = a;
			ev->proc.egid = b;
		}
	}
	snprintf(path, sizeof(path), "/proc/%u/loginuid", pid);
	if (read_file(path, buf, 32) > 0)
		ev->proc.auid = (uint32_t)strtoul(buf, NULL, 10);
	snprintf(path, sizeof(path), "/proc/%u/sessionid", pid);
	if (read_file(path, buf, 32) > 0)
		ev->sessionid = (uint32_t)strtoul(buf, NULL, 10);
}

static const char *put_link(struct hn_event *ev, uint32_t pid, const char *what, uint32_t *fl)
{
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/%s", pid, what);
	n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if (n > 10 && !strcmp(buf + n - 10, " (deleted)")) {
		buf[n - 10] = '\0';
		if (fl && strncmp(buf, "/memfd:", 7) != 0)
			*fl |= HN_EVF_DELETED;
	}
	if (fl && !strncmp(buf, "/memfd:", 7))
		*fl |= HN_EVF_MEMFD;
	return hn_event_puts(ev, buf);
}

static struct hn_event *snapshot_one(const struct hn_decode_ctx *c, const struct pinfo *p,
				     uint64_t boot_wall_ns, char comm[16])
{
	char path[64];
	static char args[HN_ARGV_MAX + 1];
	struct hn_event *ev;
	struct stat st;
	ssize_t n;
	uint32_t fl = HN_EVF_SNAPSHOT;
	struct timespec now;

	ev = hn_event_new(3 * 4096 + sizeof(args) + 256);
	if (!ev)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &now);
	ev->type = HN_EV_PROCESS_SNAPSHOT;
	ev->time = (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec;
	ev->proc.pid = p->pid;
	ev->proc.tid = p->pid;
	ev->proc.ppid = p->ppid;
	ev->proc.auid = 0xffffffffu;
	memcpy(ev->proc.comm, comm, 16);
	ev->proc.entity = hn_entity_id(c->boot_id, p->pid, p->start_ns);
	if (p->ppid)
		ev->proc.parent_entity = hn_entity_id(c->boot_id, p->ppid, p->pstart_ns);
	ev->proc.start_time = boot_wall_ns + p->start_ns;
	parse_status(p->pid, ev);
	ev->path = put_link(ev, p->pid, "exe", &fl);
	ev->proc.executable = ev->path;
	ev->cwd = put_link(ev, p->pid, "cwd", NULL);
	snprintf(path, sizeof(path), "/proc/%u/cmdline", p->pid);
	n = read_file(path, args, sizeof(args));
	if (n > 0) {
		if (args[n - 1] == '\0')
			n--;
		ev->args = hn_event_put(ev, args, (size_t)n);
		ev->args_len = (size_t)n;
		ev->argc = 1;
		for (ssize_t i = 0; i < n; i++)
			ev->argc += args[i] == '\0';
		if ((size_t)n >= sizeof(args) - 2)
			fl |= HN_EVF_ARGV_TRUNC;
	}
	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	if (stat(path, &st) == 0) {
		ev->dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
		ev->ino = st.st_ino;
		ev->size = (uint64_t)st.st_size;
		ev->mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec;
	}
	ev->flags = fl;
	return ev;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct pinfo *x = a, *y = b;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static struct pinfo *lookup(struct pinfo *v, size_t n, uint32_t pid)
{
	struct pinfo key = { .pid = pid };
	return bsearch(&key, v, n, sizeof(*v), cmp_pid);
}

/* Emit p after its ancestors (iteratively, bounded by the table size). */
static int emit_chain(const struct hn_decode_ctx *c, struct pinfo *v, size_t n,
		      struct pinfo *p, uint64_t boot_wall, hn_sensor_cb cb, void *arg)
{
	struct pinfo *chain[256];
	int depth = 0, count = 0;

	while (p && !p->done && depth < 256) {
		chain[depth++] = p;
		p->done = true;
		p = p->ppid ? lookup(v, n, p->ppid) : NULL;
	}
	while (depth > 0) {
		struct pinfo *q = chain[--depth];
		char comm[16] = "";
		uint32_t ppid;
		uint64_t ticks;
		struct hn_event *ev;

		/* re-read comm; a process that has gone is skipped */
		if (parse_stat(q->pid, &ppid, &ticks, comm) < 0 || ticks != q->ticks)
			continue;
		ev = snapshot_one(c, q, boot_wall, comm);
		if (ev) {
			cb(ev, arg);
			count++;
		}
	}
	return count;
}

static const struct hn_task_start *find_start(const struct hn_task_start *v, size_t n,
					      uint32_t pid)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (v[mid].pid == pid)
			return &v[mid];
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int hn_proc_snapshot(const struct hn_decode_ctx *c, const struct hn_task_start *starts,
		     size_t nstarts, uint32_t skip, hn_sensor_cb cb, void *arg)
{
	uint64_t tick_ns = 1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK);

	DIR *d = opendir("/proc");
	struct dirent *de;
	struct pinfo *v = NULL;
	size_t n = 0, cap = 0;
	int total = 0;
	struct timespec rt, bt;
	uint64_t boot_wall;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct pinfo pi = { 0 };

		if (*end || pid == 0 || pid == skip)
			continue;
		pi.pid = (uint32_t)pid;
		if (parse_stat(pi.pid, &pi.ppid, &pi.ticks, NULL) < 0)
			continue;
		/* kernel threads: children of kthreadd (2), and kthreadd itself */
		if (pi.pid == 2 || pi.ppid == 2)
			continue;
		if (starts) {
			const struct hn_task_start *ts = find_start(starts, nstarts, pi.pid);
			/* not in the iterator's view, or another process by now:
			 * it started after the sensor was attached, which sees it */
			if (!ts || hn_boot_ns_to_ticks(ts->start) != pi.ticks)
				continue;
			pi.start_ns = ts->start;
			pi.ppid = ts->ppid;
			pi.pstart_ns = ts->pstart;
		} else {
			pi.start_ns = pi.ticks * tick_ns;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 512;
			struct pinfo *nv = realloc(v, nc * sizeof(*v));
			if (!nv) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = pi;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_pid);
	if (!starts)
		for (size_t i = 0; i < n; i++) {
			struct pinfo *par = v[i].ppid ? lookup(v, n, v[i].ppid) : NULL;
			v[i].pstart_ns = par ? par->start_ns : 0;
		}
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	boot_wall = ((uint64_t)rt.tv_sec * 1000000000ULL + (uint64_t)rt.tv_nsec) -
		    ((uint64_t)bt.tv_sec * 1000000000ULL + (uint64_t)bt.tv_nsec);
	for (size_t i = 0; i < n; i++)
		total += emit_chain(c, v, n, &v[i], boot_wall, cb, arg);
	free(v);
	return total;
}
