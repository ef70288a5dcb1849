/*
 * logsrc.h - the system log as events: lines appended to log files
 * (/var/log/auth.log, /var/log/syslog, ...) become HN_EV_LOG events, read
 * incrementally, so that logins, sudo, cron and daemons' messages are
 * recorded next to what the kernel saw, and Sigma rules for sshd, sudo,
 * auth, cron and syslog can evaluate.
 *
 * A log event: time (the line's timestamp, else when it was read),
 * proc.pid and proc.comm (the program that logged, when the line says),
 * name (the program: "sshd"), args/args_len (the message, one part; argc
 * 1), filename (the file it came from), mode (the syslog priority,
 * facility * 8 + severity, when known: oflags bit HN_LOG_PRI_KNOWN).
 *
 * Reading: each file is followed from where it was at the first poll
 * (older lines are history, not news), or from a position the caller
 * restores (hn_logsrc_set_pos, kept across agent restarts).  A file that
 * is replaced (rotation: another inode) or shrinks is read again from its
 * start.  Lines longer than HN_LOG_LINE_MAX are cut there (flag
 * HN_EVF_ARGV_TRUNC).  A poll reads at most HN_LOG_POLL_MAX bytes a file,
 * so one noisy file cannot stall the caller.
 *
 * Line formats understood: RFC 3339 timestamps ("2026-11-27T10:00:00.123456
 * +00:00 host prog[pid]: msg", rsyslog's default on Debian 12), classic
 * syslog ("Nov 27 10:00:00 host prog[pid]: msg") and a leading "<PRI>";
 * anything else is kept whole as the message.
 *
 * Not thread-safe: one caller polls.
 */
#ifndef HINOMI_LOGSRC_H
#define HINOMI_LOGSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define HN_LOG_LINE_MAX  8192
#define HN_LOG_POLL_MAX  (1u << 20)
#define HN_LOG_PRI_KNOWN 1u     /* hn_event.oflags of a log event */

/* Parse one line (n bytes, no newline) read from src at now_ns into a new
 * event.  NULL on ENOMEM. */
struct hn_event *hn_logsrc_parse(const char *line, size_t n, const char *src,
				 uint64_t now_ns);

/* Parsed pieces of a sudo message ("u : TTY=pts/0 ; PWD=/x ; USER=root ;
 * COMMAND=/bin/ls"): the value of key ("USER") into out, or false. */
bool hn_logsrc_sudo_field(const char *msg, size_t n, const char *key,
			  const char **out, size_t *outn);

typedef void (*hn_logsrc_fn)(struct hn_event *ev, void *arg);

struct hn_logsrc;

/* Follow these files (each may not exist yet).  NULL on ENOMEM. */
struct hn_logsrc *hn_logsrc_new(const char *const *paths, unsigned n);
void hn_logsrc_free(struct hn_logsrc *ls);

/* Where reading of path resumes (device, inode, offset), before the first
 * poll; ignored when the file is another one by then. */
void hn_logsrc_set_pos(struct hn_logsrc *ls, const char *path, uint64_t dev,
		       uint64_t ino, uint64_t off);
/* The position of file i (for saving); false past the end. */
bool hn_logsrc_get_pos(const struct hn_logsrc *ls, unsigned i, const char **path,
		       uint64_t *dev, uint64_t *ino, uint64_t *off);

/* Read what was appended since the last poll; emit takes each event
 * (ownership passes).  Returns the number of events, or -errno for a
 * failure that concerned every file. */
int hn_logsrc_poll(struct hn_logsrc *ls, hn_logsrc_fn emit, void *arg);

/*
 * The systemd journal (journal.c): `journalctl --follow --output=json`
 * (of namespace ns when not NULL) run as the caller's child, read as it
 * writes.  Each entry is a log event as above: name from SYSLOG_IDENTIFIER
 * (else _COMM), pid from _PID (else SYSLOG_PID), the priority from
 * PRIORITY and SYSLOG_FACILITY, time from __REALTIME_TIMESTAMP, filename
 * "journal".  after (NULL: none): the cursor of the last entry read before
 * (hn_journal_cursor, kept by the caller across restarts): reading resumes
 * after it; without one, at the journal's end.  NULL when journalctl is
 * missing or cannot be started.  A child that dies is started again at a
 * later poll (at most every 10 s), after the last entry read.
 */
struct hn_journal;
struct hn_journal *hn_journal_open(const char *ns, const char *after);
/* The cursor of the last entry read (to save), or NULL. */
const char *hn_journal_cursor(const struct hn_journal *j);
/* Stop the child (SIGTERM, SIGKILL after 2 s) and take what it printed
 * last: the entries up to its cursor.  The number of events. */
int hn_journal_stop(struct hn_journal *j, hn_logsrc_fn emit, void *arg);
/* Stops the child as hn_journal_stop does, dropping what is left; frees. */
void hn_journal_close(struct hn_journal *j);
/* Entries written since the last poll (at most HN_LOG_POLL_MAX bytes of
 * them); emit takes each event.  The number of events. */
int hn_journal_poll(struct hn_journal *j, hn_logsrc_fn emit, void *arg);
/* One line of journalctl's JSON output (n bytes) as a new event; NULL
 * when it is not an entry with a MESSAGE (or no memory).  Its __CURSOR
 * into cursor (cap bytes) when it has one that fits (cursor may be NULL). */
struct hn_event *hn_journal_parse(const char *line, size_t n, uint64_t now_ns,
				  char *cursor, size_t cap);

#endif
