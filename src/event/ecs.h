/*
 * ecs.h - the JSON form of an event: one Elastic Common Schema object.
 *
 * hn_ecs_render appends one event as one JSON object (no newline) to a
 * buffer; `hinomi events --json` writes one per line, so SIEMs and jq read
 * it as it is.  ECS field names are used wherever ECS has the field
 * (@timestamp, event.*, process.*, process.parent.*, user.*, file.*,
 * source.*, destination.*, network.*, dns.*, container.*); what ECS lacks
 * goes under "hinomi" (flags, syscall result, gap counts, ptrace request,
 * credential arguments, the old path of a rename...).  Absent values (NULL
 * or empty strings, zero ids) are omitted, and so are objects left empty.
 * The field list is in ecs.c's top comment.
 *
 * The output is always valid UTF-8 JSON: bytes that are not UTF-8 (argv and
 * paths are arbitrary bytes on Linux) become U+FFFD.
 */
#ifndef HINOMI_EVENT_ECS_H
#define HINOMI_EVENT_ECS_H

#include <stddef.h>
#include <stdint.h>

#include "event/event.h"
#include "util/strbuf.h"

/* The ECS version the output follows (ecs.version). */
#define HN_ECS_VERSION "8.11.0"

/* Append ev as one ECS JSON object to out.  host_name (may be NULL) gives
 * host.name.  0, -EINVAL (ev NULL) or -ENOMEM (out->oom: the text is
 * incomplete). */
/*
 * Read one ECS JSON object (as hn_ecs_render writes it, or as another tool
 * writes the same fields) back into a new event: the type from
 * hinomi.type, else from event.category and event.action; @timestamp;
 * process.* (entity_id, pid, name, executable, args, working_directory,
 * hash.sha256, parent.*), user ids; file.path (a rename: the original
 * path and the new one); source/destination; network.transport;
 * dns.question.name; message and log.* (a log line).  Fields it does not
 * know are ignored.  0 and *out, or -EINVAL with the reason in err (not
 * JSON, not an object, no type that can be told), -ENOMEM.
 */
int hn_ecs_parse(const char *json, size_t n, struct hn_event **out, char *err,
		 size_t errlen);

int hn_ecs_render(const struct hn_event *ev, const char *host_name,
		  struct hn_strbuf *out);

/* ns since the epoch as RFC 3339 UTC with nanoseconds:
 * "2026-11-27T05:27:51.123456789Z".  buf gets "" if n is too small;
 * HN_ECS_TIME_LEN always suffices. */
#define HN_ECS_TIME_LEN 32
void hn_ecs_time(uint64_t ns, char *buf, size_t n);

#endif
