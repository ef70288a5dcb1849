/*
 * logsrc.c - following log files, and syslog lines into events (logsrc.h).
 *
 * Per file:
 *
 *   not there ──appears──► open: position = saved one if the same file,
 *       ▲                         else the end (first sight) or the start
 *       │                         (a file that replaced the one we read)
 *       └── gone ◄── reading: each poll, complete lines from the position;
 *                      another inode at the path: finish the old file,
 *                      then the new one from its start; shorter than the
 *                      position: from the start
 *
 * Invariants: the position is always just after a newline (or at a cut of
 * a line longer than HN_LOG_LINE_MAX); a partial last line waits for its
 * newline; the TAIL bytes before the position are remembered, and a file
 * whose bytes there changed (truncated, then written past the position
 * again between two polls) is read again from its start.  Nothing read from a file is trusted: any bytes make an event
 * or nothing, never a crash.
 */
#include "logsrc/logsrc.h"
#include "util/timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64u * 1024u)
#define TAIL  64u

/* ---- parsing ---- */

/* "Nov 27 10:00:00" (local time, no year: the year that puts it at most a
 * day ahead of now). */
static size_t classic(const char *p, size_t n, uint64_t now_ns, uint64_t *ns)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm tm = { 0 }, nowtm;
	time_t now = (time_t)(now_ns / 1000000000ULL), t;
	const char *m;

	if (n < 15 || p[3] != ' ' || p[6] != ' ' || p[9] != ':' || p[12] != ':')
		return 0;
	m = memmem(months, sizeof(months) - 1, p, 3);
	if (!m || (m - months) % 3)
		return 0;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_mday = p[4] == ' ' ? hn_digits(p + 5, 1) : hn_digits(p + 4, 2);
	tm.tm_hour = hn_digits(p + 7, 2);
	tm.tm_min = hn_digits(p + 10, 2);
	tm.tm_sec = hn_digits(p + 13, 2);
	if (tm.tm_mday < 1 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
		return 0;
	localtime_r(&now, &nowtm);
	tm.tm_year = nowtm.tm_year;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	if (t != (time_t)-1 && t > now + 86400) {
		tm.tm_year--;
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	if (t == (time_t)-1 || t < 0)
		return 0;
	*ns = (uint64_t)t * 1000000000ULL;
	return 15;
}

static bool tag_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == '@';
}

struct hn_event *hn_logsrc_parse(const char *line, size_t n, const char *src,
				 uint64_t now_ns)
{
	const char *p = line, *end = line + n, *msg = line, *tag = NULL;
	size_t k, tagn = 0;
	uint64_t ts = now_ns;
	int pri = -1;
	uint32_t pid = 0;
	struct hn_event *ev;

	/* <PRI> */
	if (p < end && *p == '<') {
		const char *q = p + 1;
		int v = 0, d = 0;
		while (q < end && isdigit((unsigned char)*q) && d < 3) {
			v = v * 10 + (*q++ - '0');
			d++;
		}
		if (d && q < end && *q == '>' && v <= 191) {
			pri = v;
			p = q + 1;
			msg = p;
		}
	}
	k = hn_rfc3339_parse(p, (size_t)(end - p), &ts);
	if (!k)
		k = classic(p, (size_t)(end - p), now_ns, &ts);
	if (k && p + k < end && p[k] == ' ') {
		const char *h = p + k + 1, *t;
		/* host */
		while (h < end && *h != ' ')
			h++;
		t = h + 1;
		/* tag[pid]: */
		const char *q = t;
		while (q < end && tag_char((unsigned char)*q))
			q++;
		if (h < end && q > t && q < end && (*q == ':' || *q == '[')) {
			tag = t;
			tagn = (size_t)(q - t);
			if (*q == '[') {
				uint32_t v = 0;
				const char *r = q + 1;
				while (r < end && isdigit((unsigned char)*r) && v < 100000000)
					v = v * 10 + (uint32_t)(*r++ - '0');
				if (r < end && *r == ']' && r + 1 < end && r[1] == ':') {
					pid = v;
					q = r + 1;
				} else {
					tag = NULL;
				}
			}
			if (tag) {
				msg = q + 1;
				if (msg < end && *msg == ' ')
					msg++;
			}
		}
		if (!tag) {
			msg = t <= end ? t : end;
			ts = k ? ts : now_ns;
		}
	} else {
		ts = now_ns;
	}
	ev = hn_event_new((size_t)(end - msg) + tagn + (src ? strlen(src) : 0) + 8);
	if (!ev)
		return NULL;
	ev->type = HN_EV_LOG;
	ev->time = ts;
	ev->proc.pid = pid;
	ev->proc.tid = pid;
	ev->proc.auid = UINT32_MAX;
	if (tag) {
		ev->name = hn_event_put(ev, tag, tagn);
		snprintf(ev->proc.comm, sizeof(ev->proc.comm), "%.*s",
			 (int)(tagn < sizeof(ev->proc.comm) - 1 ? tagn : sizeof(ev->proc.comm) - 1),
			 tag);
	}
	ev->args = hn_event_put(ev, msg, (size_t)(end - msg));
	ev->args_len = (size_t)(end - msg) + 1;
	ev->argc = 1;
	if (src)
		ev->filename = hn_event_puts(ev, src);
	if (pri >= 0) {
		ev->mode = (uint32_t)pri;
		ev->oflags = HN_LOG_PRI_KNOWN;
	}
	return ev;
}

bool hn_logsrc_sudo_field(const char *msg, size_t n, const char *key,
			  const char **out, size_t *outn)
{
	size_t kl = strlen(key);

	for (size_t i = 0; i + kl + 1 <= n; i++) {
		const char *v, *e;
		/* KEY= at the start of a "; "-separated part */
		if (memcmp(msg + i, key, kl) || msg[i + kl] != '=')
			continue;
		if (i && msg[i - 1] != ' ')
			continue;
		v = msg + i + kl + 1;
		e = v;
		/* COMMAND runs to the end; the others to " ;" */
		if (strcmp(key, "COMMAND") == 0) {
			e = msg + n;
		} else {
			while (e < msg + n && !(e[0] == ' ' && e + 1 < msg + n && e[1] == ';') &&
			       *e != ';')
				e++;
		}
		*out = v;
		*outn = (size_t)(e - v);
		return true;
	}
	return false;
}

/* ---- following files ---- */

struct lfile {
	char *path;
	int fd;
	uint64_t dev, ino, off;
	bool seen;            /* opened at least once */
	bool saved;           /* a restored position waits */
	uint64_t sdev, sino, soff;
	bool skipping;        /* inside a line longer than the bound */
	/* the bytes just before off: a file truncated and written again
	 * past off between two polls no longer has them */
	char tail[TAIL];
	size_t tail_n;
};

struct hn_logsrc {
	struct lfile *f;
	unsigned n;
	char *buf;            /* CHUNK + HN_LOG_LINE_MAX */
};

struct hn_logsrc *hn_logsrc_new(const char *const *paths, unsigned n)
{
	struct hn_logsrc *ls = calloc(1, sizeof(*ls));

	if (!ls)
		return NULL;
	ls->f = calloc(n ? n : 1, sizeof(*ls->f));
	ls->buf = malloc(CHUNK + HN_LOG_LINE_MAX);
	if (!ls->f || !ls->buf) {
		hn_logsrc_free(ls);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		ls->f[i].fd = -1;
		ls->f[i].path = strdup(paths[i]);
		if (!ls->f[i].path) {
			ls->n = i;
			hn_logsrc_free(ls);
			return NULL;
		}
	}
	ls->n = n;
	return ls;
}

void hn_logsrc_free(struct hn_logsrc *ls)
{
	if (!ls)
		return;
	for (unsigned i = 0; ls->f && i < ls->n; i++) {
		if (ls->f[i].fd >= 0)
			close(ls->f[i].fd);
		free(ls->f[i].path);
	}
	free(ls->f);
	free(ls->buf);
	free(ls);
}

void hn_logsrc_set_pos(struct hn_logsrc *ls, const char *path, uint64_t dev,
		       uint64_t ino, uint64_t off)
{
	for (unsigned i = 0; ls && i < ls->n; i++)
		if (!strcmp(ls->f[i].path, path) && !ls->f[i].seen) {
			ls->f[i].saved = true;
			ls->f[i].sdev = dev;
			ls->f[i].sino = ino;
			ls->f[i].soff = off;
		}
}

bool hn_logsrc_get_pos(const struct hn_logsrc *ls, unsigned i, const char **path,
		       uint64_t *dev, uint64_t *ino, uint64_t *off)
{
	if (!ls || i >= ls->n || ls->f[i].fd < 0)
		return false;
	*path = ls->f[i].path;
	*dev = ls->f[i].dev;
	*ino = ls->f[i].ino;
	*off = ls->f[i].off;
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Read complete lines of f from its position (at most HN_LOG_POLL_MAX
 * bytes).  Events emitted, or -errno. */
static int drain(struct hn_logsrc *ls, struct lfile *f, hn_logsrc_fn emit, void *arg)
{
	uint64_t budget = HN_LOG_POLL_MAX, t = now_ns();
	int events = 0;

	while (budget) {
		size_t want = CHUNK < budget ? CHUNK : (size_t)budget, have, start = 0;
		ssize_t k = pread(f->fd, ls->buf, want, (off_t)f->off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		have = (size_t)k;
		budget -= have;
		for (size_t i = 0; i < have; i++) {
			if (ls->buf[i] != '\n')
				continue;
			if (!f->skipping && i > start) {
				size_t len = i - start;
				bool cut = len > HN_LOG_LINE_MAX;
				struct hn_event *ev = hn_logsrc_parse(ls->buf + start,
								      cut ? HN_LOG_LINE_MAX : len,
								      f->path, t);
				if (ev) {
					if (cut)
						ev->flags |= HN_EVF_ARGV_TRUNC;
					emit(ev, arg);
					events++;
				}
			}
			f->skipping = false;
			start = i + 1;
		}
		if (start == 0 && have - start >= HN_LOG_LINE_MAX && !f->skipping) {
			/* a line longer than the bound: its first part, cut */
			struct hn_event *ev = hn_logsrc_parse(ls->buf, HN_LOG_LINE_MAX, f->path, t);
			if (ev) {
				ev->flags |= HN_EVF_ARGV_TRUNC;
				emit(ev, arg);
				events++;
			}
			f->skipping = true;
			start = have;
		} else if (start == 0 && f->skipping) {
			start = have;   /* still inside the long line */
		}
		f->off += start;
		if (start < have)
			break;      /* a partial line: wait for its newline */
	}
	return events;
}

/* Remember the bytes before f->off. */
static void remember_tail(struct lfile *f)
{
	size_t n = f->off < TAIL ? (size_t)f->off : TAIL;
	ssize_t k = n ? pread(f->fd, f->tail, n, (off_t)(f->off - n)) : 0;

	f->tail_n = k == (ssize_t)n ? n : 0;
}

/* Are the bytes before f->off still the ones read? */
static bool tail_same(const struct lfile *f)
{
	char now[TAIL];
	ssize_t k;

	if (!f->tail_n || f->off < f->tail_n)
		return true;
	k = pread(f->fd, now, f->tail_n, (off_t)(f->off - f->tail_n));
	return k == (ssize_t)f->tail_n && !memcmp(now, f->tail, f->tail_n);
}

int hn_logsrc_poll(struct hn_logsrc *ls, hn_logsrc_fn emit, void *arg)
{
	int total = 0;

	if (!ls || !emit)
		return -EINVAL;
	for (unsigned i = 0; i < ls->n; i++) {
		struct lfile *f = &ls->f[i];
		struct stat st;
		bool there = stat(f->path, &st) == 0 && S_ISREG(st.st_mode);

		if (f->fd >= 0 && (!there || (uint64_t)st.st_ino != f->ino ||
				   (uint64_t)st.st_dev != f->dev)) {
			/* gone or replaced: what the old file still had */
			int r = drain(ls, f, emit, arg);
			if (r > 0)
				total += r;
			close(f->fd);
			f->fd = -1;
			f->off = 0;
		}
		if (!there)
			continue;
		if (f->fd < 0) {
			f->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
			if (f->fd < 0)
				continue;
			if (fstat(f->fd, &st) < 0) {
				close(f->fd);
				f->fd = -1;
				continue;
			}
			f->dev = (uint64_t)st.st_dev;
			f->ino = (uint64_t)st.st_ino;
			if (f->saved && f->sdev == f->dev && f->sino == f->ino &&
			    f->soff <= (uint64_t)st.st_size)
				f->off = f->soff;
			else if (!f->seen && !f->saved)
				f->off = (uint64_t)st.st_size;   /* history: not news */
			else
				f->off = 0;                      /* a new file */
			f->seen = true;
			f->saved = false;
			f->skipping = false;
			remember_tail(f);
		}
		if ((uint64_t)st.st_size < f->off ||
		    ((uint64_t)st.st_size > f->off && !tail_same(f))) {
			f->off = 0;                              /* truncated */
			f->skipping = false;
			f->tail_n = 0;
		}
		if ((uint64_t)st.st_size > f->off) {
			int r = drain(ls, f, emit, arg);
			if (r > 0)
				total += r;
			remember_tail(f);
		}
	}
	return total;
}
