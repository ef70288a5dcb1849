/*
 * cli_render.h - what the read commands (events, timeline, tree, sql)
 * share: opening the store read-only with one clear error, and rendering
 * events, times and command lines as text for a terminal.
 *
 * Everything that comes from the store (paths, argv, comm, DNS names) is
 * untrusted bytes: the renderers escape control characters and bytes that
 * are not UTF-8 as \xNN, so a file name cannot drive the terminal.
 * Only cli/ uses this header.
 */
#ifndef HINOMI_CLI_RENDER_H
#define HINOMI_CLI_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "store/store.h"
#include "util/strbuf.h"

/* Open path read-only.  On failure prints "hinomi CMD: ..." once to stderr
 * and returns -errno. */
int cli_store_open_ro(const char *cmd, const char *path, struct hn_store **out);

/* The recording host's name: meta "host.name", else this host's. */
void cli_host_name(struct hn_store *s, char *buf, size_t n);

/* Local time "2024-05-01 12:34:56.789"; buf >= 32 bytes. */
void cli_time_str(uint64_t ns, char *buf, size_t n);

/* Append s[0..n) escaped for a terminal (see above). */
void cli_escape(struct hn_strbuf *sb, const char *s, size_t n);

/* Append a NUL-separated argv as a command line: arguments with blanks,
 * quotes or nothing in them are single-quoted, bytes escaped.  A command
 * line longer than max bytes (0: no bound) is cut there and ends with
 * "… [+N bytes]" (the JSON forms show it whole). */
void cli_argv(struct hn_strbuf *sb, const char *args, size_t len, size_t max);

/* The bound the text views put on command lines. */
#define CLI_ARGV_MAX 400

/* Append the essential detail of ev (exe + argv, paths, addresses, exit
 * status, gap counts...). */
void cli_event_detail(struct hn_strbuf *sb, const struct hn_event *ev);

/* Append one line for `hinomi events` (no newline):
 * time  type  pid  comm  detail. */
void cli_event_line(struct hn_strbuf *sb, const struct hn_event *ev);

/* The type's name, or "type_N" for a type this build does not know. */
const char *cli_type_name(unsigned type, char *buf, size_t n);

/* An alert as one line (time, level, title, count, process, rule), or as
 * one ECS JSON object (event.kind alert, event.severity, rule.*, threat.*
 * from the ATT&CK tags, process.*, hinomi.alert, the event under
 * hinomi.event). */
void cli_alert_text(struct hn_strbuf *sb, const struct hn_alert *a);
void cli_alert_json(struct hn_strbuf *sb, const struct hn_alert *a);

/* Write sb's bytes to stdout followed by a newline; -EIO on error. */
int cli_put_line(const struct hn_strbuf *sb);

/* ---- what investigate and remediate are asked about (cli_target.c) ---- */
struct hn_incident;
struct hn_story;

struct cli_target {
	const char *kind;        /* "alert", "entity", "path", "incident" */
	const char *value;       /* as given: set by the caller */
	uint64_t entity, at;
	char *title;             /* an alert's rule */
	int64_t alert_id;
	struct hn_incident *incs, *inc;   /* an incident: the one asked about */
	size_t nincs;
};

/* t->value (an alert id, inc-..., 16 hex digits of an entity, an absolute
 * path) into the process to tell about and a time.  0, or 1 after one
 * message on stderr ("hinomi CMD: ..."). */
int cli_target_resolve(const char *cmd, struct hn_store *s, struct cli_target *t);
/* The story of a resolved target (an incident's alerts as steps).  0, or 1
 * after a message; *st: hn_story_free. */
int cli_target_story(const char *cmd, struct hn_store *s, struct cli_target *t,
		     struct hn_story **st);
void cli_target_release(struct cli_target *t);

#endif
