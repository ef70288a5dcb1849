/*
 * procs.c - every process of PROC: what it runs and from where, what its
 * environment preloads, and whether its name lies.
 *
 * Read per process: stat (comm, parent, flags: kernel threads are
 * skipped), status (effective uid), the exe link (text and, through the
 * link, the file's identity: a deleted file has no links left, so a name
 * that merely ends in " (deleted)" is not taken for one), cmdline (4 KiB)
 * and environ (1 MiB; only LD_PRELOAD= and LD_AUDIT= are kept).  A
 * process may exit between two reads: what is missing is skipped.  comm,
 * argv and the environment are the process's own words: they are shown
 * (escaped), compared, never trusted to be true.
 *
 * Findings (severity, rule):
 *   memfd executable                      medium  proc.memfd_exe
 *   deleted executable in a /tmp-like place  high proc.deleted_exe
 *     ... under /usr, /bin, /lib, /opt    low     (replaced by an upgrade)
 *     ... elsewhere                       medium
 *   executable in a /tmp-like place       medium  proc.tmp_exe
 *   executable under a hidden directory   medium  proc.hidden_exe
 *     ... a home's toolchain (.cargo, .pyenv, ...)  low
 *   LD_PRELOAD / LD_AUDIT in environ      low (packaged library), medium
 *     (not from a package, or missing), high (/tmp-like or hidden place)
 *                                                 proc.ld_preload
 *   argv[0] "[...]" or comm of a kernel thread in a user process
 *                                         high, strong  proc.kthread_name
 *   comm of a system daemon, executable of another name that no package
 *     ships                               high, strong  proc.daemon_name
 */
#include "check/check_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PF_KTHREAD_FLAG 0x00200000u
#define CMDLINE_MAX     4096
#define ENVIRON_MAX     (1u << 20)

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct chk_proc *chk_proc_find(struct check_ctx *c, uint32_t pid)
{
	size_t lo = 0, hi = c->nprocs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->procs[mid].pid == pid)
			return &c->procs[mid];
		if (c->procs[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* "name" followed only by digits, dots or dashes ("python3.11"). */
static bool versioned(const char *b, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(b, name, n))
		return false;
	for (b += n; *b; b++)
		if (!isdigit((unsigned char)*b) && *b != '.')
			return false;
	return true;
}

const char *chk_proc_tool(const struct chk_proc *p)
{
	static const char *const shells[] = { "sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh",
					      "csh", "tcsh", "fish", "ash", "busybox" };
	static const char *const nets[] = { "nc", "ncat", "netcat", "nc.openbsd",
					    "nc.traditional", "socat", "cryptcat", "pwncat" };
	static const char *const interp[] = { "python", "perl", "ruby", "php", "lua", "tclsh",
					      "node", "nodejs", "pwsh" };
	const char *b = p->exe_path ? chk_base(p->exe_path) : p->comm;

	for (size_t i = 0; i < sizeof(shells) / sizeof(shells[0]); i++)
		if (!strcmp(b, shells[i]))
			return "shell";
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++)
		if (!strcmp(b, nets[i]))
			return "netcat";
	for (size_t i = 0; i < sizeof(interp) / sizeof(interp[0]); i++)
		if (versioned(b, interp[i]))
			return "interpreter";
	return NULL;
}

/* stat: comm, ppid, flags.  false when it cannot be read or parsed. */
static bool read_stat(struct check_ctx *c, uint32_t pid, struct chk_proc *p)
{
	char path[CHK_PATH], *buf, *open, *close, *f;
	unsigned long v[5];
	size_t len;
	bool ok = false;

	snprintf(path, sizeof(path), "%s/%u/stat", c->proc, pid);
	if (chk_read(path, 4096, 0, &buf, &len, NULL) < 0)
		return false;
	/* "pid (comm) S ppid pgrp session tty_nr tpgid flags ..."; comm may
	 * hold ')' and spaces: it ends at the last ')' */
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (!open || !close || close < open || close[1] != ' ')
		goto out;
	snprintf(p->comm, sizeof(p->comm), "%.*s", (int)(close - open - 1 < 31 ?
							   close - open - 1 : 31), open + 1);
	for (char *q = p->comm; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = '?';
	f = close + 2;
	if (!*f || f[1] != ' ')
		goto out;
	f += 2;   /* the state */
	for (int i = 0; i < 5; i++) {
		char *end;
		/* ppid pgrp session tty_nr tpgid: signed in the kernel's text */
		long long x = strtoll(f, &end, 10);
		if (end == f || *end != ' ')
			goto out;
		v[i] = (unsigned long)x;
		f = end + 1;
	}
	{
		char *end;
		unsigned long long flags;
		errno = 0;
		flags = strtoull(f, &end, 10);
		if (end == f || errno)
			goto out;
		p->kthread = (flags & PF_KTHREAD_FLAG) != 0;
	}
	p->ppid = (uint32_t)v[0];
	ok = true;
out:
	free(buf);
	return ok;
}

static void read_uid(struct check_ctx *c, uint32_t pid, struct chk_proc *p)
{
	char path[CHK_PATH], *buf, *u;
	size_t len;
	unsigned long r, e;

	p->uid = (uint32_t)-1;
	snprintf(path, sizeof(path), "%s/%u/status", c->proc, pid);
	if (chk_read(path, 16384, 0, &buf, &len, NULL) < 0)
		return;
	u = strstr(buf, "\nUid:");
	if (u && sscanf(u + 5, "%lu %lu", &r, &e) == 2)
		p->uid = (uint32_t)e;
	free(buf);
}

static void read_exe(struct check_ctx *c, uint32_t pid, struct chk_proc *p)
{
	static const char del[] = " (deleted)";
	char path[CHK_PATH], link[CHK_PATH];
	struct stat st;
	ssize_t n;
	size_t k;

	p->exe_idx = -1;
	snprintf(path, sizeof(path), "%s/%u/exe", c->proc, pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		p->exe_err = errno;
		return;
	}
	link[n] = '\0';
	p->exe = chk_strdup(c, link);
	k = (size_t)n;
	p->exe_stat = stat(path, &st) == 0;
	if (p->exe_stat) {
		p->exe_dev = (uint64_t)st.st_dev;
		p->exe_ino = (uint64_t)st.st_ino;
	}
	if (k > sizeof(del) - 1 && !strcmp(link + k - (sizeof(del) - 1), del) &&
	    (!p->exe_stat || st.st_nlink == 0)) {
		p->deleted = true;
		link[k - (sizeof(del) - 1)] = '\0';
	}
	p->memfd = p->deleted && !strncmp(link, "/memfd:", 7);
	p->exe_path = chk_strdup(c, link);
	if (!p->memfd)
		p->place = chk_place(link);
	if (!p->deleted)
		p->pkg = chk_pkg_owner(c->hpkg, link, NULL);
}

static void read_cmdline(struct check_ctx *c, uint32_t pid, struct chk_proc *p)
{
	char path[CHK_PATH];
	size_t len;

	snprintf(path, sizeof(path), "%s/%u/cmdline", c->proc, pid);
	if (chk_read(path, CMDLINE_MAX, 0, &p->cmdline, &len, NULL) < 0) {
		p->cmdline = NULL;
		return;
	}
	p->cmdline_len = len;
}

/* LD_PRELOAD= or LD_AUDIT= in environ (entries NUL-separated). */
static void read_environ(struct check_ctx *c, uint32_t pid, struct chk_proc *p)
{
	char path[CHK_PATH], *buf;
	size_t len, i = 0;

	snprintf(path, sizeof(path), "%s/%u/environ", c->proc, pid);
	if (chk_read(path, ENVIRON_MAX, 0, &buf, &len, NULL) < 0)
		return;
	while (i < len) {
		const char *e = buf + i;
		size_t n = strnlen(e, len - i);
		if ((n > 11 && !strncmp(e, "LD_PRELOAD=", 11)) ||
		    (n > 9 && !strncmp(e, "LD_AUDIT=", 9))) {
			p->preload = chk_strndup(c, e, n < 1024 ? n : 1024);
			break;
		}
		i += n + 1;
	}
	free(buf);
}

/* cmdline as one line: NULs as spaces, cut at 300 bytes. */
static void cmdline_str(const struct chk_proc *p, char *buf, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; p->cmdline && i < p->cmdline_len && k + 1 < n && k < 300; i++)
		buf[k++] = p->cmdline[i] ? p->cmdline[i] : ' ';
	while (k > 0 && buf[k - 1] == ' ')
		k--;
	buf[k] = '\0';
}

static struct hn_check_finding *proc_find(struct check_ctx *c, const struct chk_proc *p,
					  enum hn_check_sev sev, bool strong, const char *rule,
					  const char *title, const char *why)
{
	char what[CHK_PATH + 64], cmd[320], user[64];
	struct hn_check_finding *f;

	snprintf(what, sizeof(what), "pid %u %s", p->pid, p->exe ? p->exe : p->comm);
	f = chk_find(c, HN_CHECK_PROCESS, sev, strong, rule, title, what, why);
	if (!f)
		return NULL;
	f->pid = p->pid;
	f->path = chk_strdup(c, p->exe_path);
	cmdline_str(p, cmd, sizeof(cmd));
	chk_ev(c, f, "pid", "%u", p->pid);
	chk_ev(c, f, "ppid", "%u", p->ppid);
	chk_ev(c, f, "user", "%s", chk_user_name(c, p->uid, user, sizeof(user)));
	chk_ev(c, f, "comm", "%s", p->comm);
	if (p->exe)
		chk_ev(c, f, "exe", "%s", p->exe);
	chk_ev(c, f, "cmdline", "%s", cmd);
	return f;
}

static void judge_preload(struct check_ctx *c, const struct chk_proc *p)
{
	const char *v = strchr(p->preload, '=') + 1;
	enum hn_check_sev sev = HN_CHECK_LOW;
	char lib[CHK_PATH], why[256] = "";
	struct hn_check_finding *f;
	int libs = 0;

	/* libraries separated by spaces or colons */
	while (*v && libs < 16) {
		size_t n = strcspn(v, " :");
		struct stat st;
		unsigned place;
		if (!n) {
			v++;
			continue;
		}
		snprintf(lib, sizeof(lib), "%.*s", (int)n, v);
		v += n;
		libs++;
		if (lib[0] != '/')
			continue;   /* searched in the library path */
		place = chk_place(lib);
		if (place & (CHK_PLACE_TMP | CHK_PLACE_HIDDEN)) {
			sev = HN_CHECK_HIGH;
			snprintf(why, sizeof(why), "%.200s is in a /tmp-like or hidden place", lib);
		} else if (stat(lib, &st) < 0) {
			if (sev < HN_CHECK_MEDIUM) {
				sev = HN_CHECK_MEDIUM;
				snprintf(why, sizeof(why), "%.200s does not exist", lib);
			}
		} else if (c->hpkg && !chk_pkg_owner(c->hpkg, lib, NULL)) {
			if (sev < HN_CHECK_MEDIUM) {
				sev = HN_CHECK_MEDIUM;
				snprintf(why, sizeof(why), "%.200s comes from no package", lib);
			}
		}
	}
	f = proc_find(c, p, sev, false, "proc.ld_preload",
		      "process with a preloaded library (LD_PRELOAD/LD_AUDIT)",
		      "A library preloaded into a process can hook every call it makes; "
		      "rootkits and credential stealers use it.");
	chk_ev(c, f, "environment", "%s", p->preload);
	if (why[0])
		chk_ev(c, f, "library", "%s", why);
}

static bool kthread_like(const char *comm)
{
	static const char *const names[] = {
		"kworker", "ksoftirqd", "kthreadd", "migration/", "rcu_", "kswapd", "watchdog",
		"khugepaged", "jbd2/", "kdevtmpfs", "irq/", "cpuhp/", "kblockd", "kauditd",
		"oom_reaper", "kcompactd", "ksmd", "writeback", "kintegrityd", "kthrotld",
		"scsi_eh_", "xfsaild", "kcryptd", "khungtaskd", "kstrp", "ipv6_addrconf",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(comm, names[i], strlen(names[i])))
			return true;
	return false;
}

static bool daemon_like(const char *comm)
{
	static const char *const names[] = {
		"sshd", "systemd", "init", "cron", "crond", "atd", "rsyslogd", "syslogd",
		"dbus-daemon", "agetty", "getty", "systemd-journal", "systemd-udevd", "udevd",
		"systemd-logind", "polkitd", "containerd", "dockerd", "nginx", "apache2",
		"httpd", "mysqld", "postgres", "chronyd", "ntpd", "auditd", "login",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(comm, names[i]))
			return true;
	return false;
}

static void judge(struct check_ctx *c, const struct chk_proc *p)
{
	const char *argv0 = p->cmdline ? p->cmdline : "";
	size_t a0 = p->cmdline ? strnlen(p->cmdline, p->cmdline_len) : 0;
	struct hn_check_finding *f;

	if (p->memfd) {
		char path[CHK_PATH];
		int fd, seals = -1;
		f = proc_find(c, p, HN_CHECK_MEDIUM, false, "proc.memfd_exe",
			      "process running from a memfd (no file on disk)",
			      "Its program exists only in memory (memfd_create + exec): fileless "
			      "malware runs this way; container runtimes and sandboxes that "
			      "re-execute themselves do too.");
		snprintf(path, sizeof(path), "%s/%u/exe", c->proc, p->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0) {
			seals = fcntl(fd, F_GET_SEALS);
			close(fd);
		}
		if (seals >= 0)
			chk_ev(c, f, "seals", "%s%s%s%s%s", seals ? "" : "none",
			       seals & F_SEAL_SEAL ? "seal " : "",
			       seals & F_SEAL_SHRINK ? "shrink " : "",
			       seals & F_SEAL_GROW ? "grow " : "",
			       seals & F_SEAL_WRITE ? "write" : "");
	} else if (p->deleted) {
		struct stat st;
		bool now = stat(p->exe_path, &st) == 0;
		if (p->place & CHK_PLACE_TMP)
			f = proc_find(c, p, HN_CHECK_HIGH, false, "proc.deleted_exe",
				      "process running from a deleted file in a /tmp-like place",
				      "A program run from /tmp and then deleted leaves no file "
				      "behind: droppers and implants do this.");
		else if (p->place & CHK_PLACE_SYSTEM)
			f = proc_find(c, p, HN_CHECK_LOW, false, "proc.deleted_exe",
				      "process running from a deleted system file",
				      "Its program was deleted or replaced since it started, as a "
				      "package upgrade does; it runs the old version.");
		else
			f = proc_find(c, p, HN_CHECK_MEDIUM, false, "proc.deleted_exe",
				      "process running from a deleted file",
				      "Its program was deleted after it started, which hides "
				      "what runs.");
		chk_ev(c, f, "path_now", "%s", now ? "a file is at that path again" : "no file");
	} else if (p->place & CHK_PLACE_TMP) {
		proc_find(c, p, HN_CHECK_MEDIUM, false, "proc.tmp_exe",
			  "process running from a /tmp-like place",
			  "Programs are installed under /usr or /opt; one run from a "
			  "world-writable place was dropped there.");
	} else if (p->place & CHK_PLACE_HIDDEN) {
		proc_find(c, p, HN_CHECK_MEDIUM, false, "proc.hidden_exe",
			  "process running from a hidden directory",
			  "A program under a directory whose name starts with a dot is kept "
			  "out of sight of ls.");
	} else if (p->place & CHK_PLACE_TOOLDIR) {
		proc_find(c, p, HN_CHECK_LOW, false, "proc.hidden_exe",
			  "process running from a toolchain directory in a home",
			  "A program under a home's .cargo, .pyenv, .local... (a developer's "
			  "toolchain, or something hidden among them).");
	}
	if (p->preload)
		judge_preload(c, p);
	if ((a0 >= 2 && argv0[0] == '[' && argv0[a0 - 1] == ']') ||
	    (p->exe_path && kthread_like(p->comm) &&
	     strncmp(chk_base(p->exe_path), p->comm, 15) != 0)) {
		f = proc_find(c, p, HN_CHECK_HIGH, true, "proc.kthread_name",
			      "user process named like a kernel thread",
			      "Kernel threads have no program; a process that runs one but calls "
			      "itself [kworker] or the like is hiding in ps output.");
	} else if (p->exe_path && daemon_like(p->comm) &&
		   strncmp(chk_base(p->exe_path), p->comm, 15) != 0 &&
		   (p->deleted || (p->place & (CHK_PLACE_TMP | CHK_PLACE_HIDDEN)) ||
		    (c->hpkg && !p->pkg))) {
		f = proc_find(c, p, HN_CHECK_HIGH, true, "proc.daemon_name",
			      "process named like a system daemon runs another program",
			      "Its name is a system daemon's but its program is not one a "
			      "package ships: malware takes such names to blend in.");
	}
}

int chk_procs(struct check_ctx *c)
{
	uint32_t *pids = NULL;
	size_t n = 0, cap = 0, denied = 0;
	char denied_pids[128] = "";
	struct dirent *d;
	DIR *dir = opendir(c->proc);
	bool over = false;

	if (!dir) {
		chk_skip(c, "processes: cannot read %s: %s", c->proc, strerror(errno));
		return -errno;
	}
	while ((d = readdir(dir)) != NULL) {
		char *end;
		unsigned long v;
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		v = strtoul(d->d_name, &end, 10);
		if (*end || v == 0 || v > UINT32_MAX)
			continue;
		if (n >= CHK_PROCS_MAX) {
			over = true;
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 512;
			void *p = realloc(pids, nc * sizeof(*pids));
			if (!p) {
				c->oom = true;
				break;
			}
			pids = p;
			cap = nc;
		}
		pids[n++] = (uint32_t)v;
	}
	closedir(dir);
	if (over)
		chk_skip(c, "processes: only the first %u were looked at", CHK_PROCS_MAX);
	if (n)
		qsort(pids, n, sizeof(*pids), cmp_u32);
	c->procs = calloc(n ? n : 1, sizeof(*c->procs));
	if (!c->procs) {
		free(pids);
		c->oom = true;
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct chk_proc *p = &c->procs[c->nprocs];
		memset(p, 0, sizeof(*p));
		p->pid = pids[i];
		p->exe_idx = -1;
		if (!read_stat(c, pids[i], p))
			continue;   /* gone, or not a process directory */
		c->nprocs++;
		if (p->kthread) {
			c->r->stats.kernel_threads++;
			continue;
		}
		c->r->stats.processes++;
		read_uid(c, pids[i], p);
		read_exe(c, pids[i], p);
		if (!p->exe && (p->exe_err == EACCES || p->exe_err == EPERM)) {
			if (denied++ < 8) {
				size_t k = strlen(denied_pids);
				snprintf(denied_pids + k, sizeof(denied_pids) - k, "%s%u",
					 k ? ", " : "", p->pid);
			}
		}
		read_cmdline(c, pids[i], p);
		read_environ(c, pids[i], p);
	}
	free(pids);
	if (denied)
		chk_skip(c, "processes: the executable of %zu process%s could not be read "
			 "(permission): pid %s%s", denied, denied == 1 ? "" : "es", denied_pids,
			 denied > 8 ? ", ..." : "");
	for (size_t i = 0; i < c->nprocs; i++)
		if (!c->procs[i].kthread)
			judge(c, &c->procs[i]);
	return 0;
}
