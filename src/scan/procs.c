/*
 * procs.c - scanning running processes' memory (scan.h: hn_scan_procs).
 *
 * The caller's thread lists /proc and queues each process; a worker scans
 * it with yr_scanner_scan_proc (libyara 4.2 reads the readable mappings of
 * /proc/PID/maps through /proc/PID/mem: the process is not stopped).
 * Skipped, and counted: kernel threads (PF_KTHREAD, no user memory),
 * zombies, this process and every process of hinomi's own executable (its
 * memory holds the compiled rules, which match themselves).  A process
 * that exits before or while it is scanned is counted as gone, not as an
 * error.  Reading another user's process needs root (ptrace access).
 */
#include "scan/scan_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PF_KTHREAD 0x00200000u

struct proc_stat {
	char state;
	unsigned long flags;
	unsigned long long start;   /* clock ticks since boot */
	char comm[64];
};

/* /proc/PID/stat: state, flags, start time and comm.  0 or -errno. */
static int read_stat(uint32_t pid, struct proc_stat *ps)
{
	char path[64], buf[1024], *open_p, *close_p, *p;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p)
		return -EINVAL;
	snprintf(ps->comm, sizeof(ps->comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	/* fields from 3 (state) on, after ") " */
	p = close_p + 1;
	for (field = 3; field <= 22 && *p; field++) {
		while (*p == ' ')
			p++;
		if (field == 3)
			ps->state = *p;
		else if (field == 9)
			ps->flags = strtoul(p, NULL, 10);
		else if (field == 22)
			ps->start = strtoull(p, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	return field > 22 ? 0 : -EINVAL;
}

int hn_scan_procs(const struct hn_scan_opts *o, struct hn_scan_stats *st)
{
	struct scan_run run;
	struct dirent *e;
	DIR *d;
	int rc;

	if (!o || !o->rules || !o->rules->yr)
		return -EINVAL;
	d = opendir("/proc");
	if (!d)
		return -errno;
	rc = scan_run_start(&run, o, st);
	if (rc < 0) {
		closedir(d);
		return rc;
	}
	while ((e = readdir(d)) && !scan_run_stopping(&run)) {
		struct scan_job job = { 0 };
		struct proc_stat ps = { 0 };
		char exe[64];
		struct stat xs;
		char *end;
		unsigned long pid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtoul(e->d_name, &end, 10);
		if (*end || pid == 0 || pid > UINT32_MAX)
			continue;
		if (read_stat((uint32_t)pid, &ps) < 0) {
			scan_count(&run, &run.st->procs_gone, 1);
			continue;
		}
		snprintf(exe, sizeof(exe), "/proc/%lu/exe", pid);
		if ((uint32_t)pid == run.self_pid || (ps.flags & PF_KTHREAD) || ps.state == 'Z' ||
		    ps.state == 'X' ||
		    (stat(exe, &xs) == 0 && run.self_ino && xs.st_ino == run.self_ino &&
		     scan_dev(xs.st_dev) == run.self_dev)) {
			scan_count(&run, &run.st->procs_skipped, 1);
			continue;
		}
		job.pid = (uint32_t)pid;
		if (scan_run_push(&run, &job) < 0)
			break;
		scan_run_tick(&run);
	}
	closedir(d);
	scan_run_finish(&run);
	return 0;
}

void scan_proc_job(struct scan_worker *w, const struct scan_job *job)
{
	struct scan_run *run = w->run;
	struct proc_stat ps = { 0 };
	char link[64], exe[PATH_MAX] = "";
	ssize_t n;
	int e;

	if (read_stat(job->pid, &ps) < 0) {
		scan_count(run, &run->st->procs_gone, 1);
		return;
	}
	snprintf(link, sizeof(link), "/proc/%u/exe", job->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = '\0';
	w->ident = NULL;
	w->exe = exe;
	w->comm = ps.comm;
	w->start_ticks = ps.start;
	w->sha256 = w->sha1 = w->md5 = NULL;
	e = yr_scanner_scan_proc(w->scanner, (int)job->pid);
	if (e == ERROR_SUCCESS) {
		pthread_mutex_lock(&run->mu);
		run->st->procs++;
		if (w->hits)
			run->st->files_hit++;
		pthread_mutex_unlock(&run->mu);
		return;
	}
	/* gone meanwhile, or its start time changed (the pid reused) */
	{
		struct proc_stat now = { 0 };
		if (read_stat(job->pid, &now) < 0 || now.start != ps.start || now.state == 'Z') {
			scan_count(run, &run->st->procs_gone, 1);
			return;
		}
	}
	scan_report_error(run, exe[0] ? exe : ps.comm, job->pid,
			  e == ERROR_COULD_NOT_ATTACH_TO_PROCESS ? EACCES : EIO, scan_yr_error(e));
}
