/*
 * agent_int.h - what the agent's files share (not public: agent.h is).
 *
 * iocw ("IOC watch", ioc_watch.c) is the agent's side of IOC lists
 * (ioc/ioc.h): it loads them, and matches what the agent sees against
 * them, raising each hit through the agent's alert path (the callback:
 * agent.c hands it to on_match, as a Sigma match is).
 *
 *   exec          the executable's SHA-256 (and SHA-1, MD5 when a list
 *                 names such digests): at once when the exec hasher knows
 *                 the file, else when its worker has hashed it
 *   file written  a write-opened file, at its close when it was modified:
 *                 hashed by a second hasher of its own (see ioc_watch.c
 *                 for why and its bounds), then matched
 *   connect, accept, UDP send   the remote address
 *   DNS query     the name, and the names it is under
 *
 * Threads: everything runs on the agent's main thread except
 * iocw_exec_hashed and the written-file hasher's callback, which only
 * queue a result (under a lock) for iocw_poll to match on the main thread.
 */
#ifndef HINOMI_AGENT_INT_H
#define HINOMI_AGENT_INT_H

#include <stdint.h>
#include <stdio.h>

#include "agent/agent.h"
#include "detect/detect.h"
#include "enrich/hasher.h"
#include "event/event.h"

struct iocw;

/* An IOC hit, seen as a rule match (ioc.h: hn_ioc_rule_make). */
typedef void (*iocw_alert_fn)(const struct hn_rule_info *rule, const struct hn_event *ev,
			      void *arg);

struct iocw_stats {
	unsigned indicators;
	uint64_t hits;
	uint64_t written_queued;     /* written files handed to the hasher */
	uint64_t written_unknown;    /* closes whose open was not seen (no path) */
	uint64_t written_refused;    /* the hasher's queue was full */
	uint64_t waits_dropped;      /* events that could not wait for a hash */
	uint64_t waits_expired;      /* events whose hash never came (60 s) */
	uint64_t results_dropped;    /* hash results over the result queue */
};

/*
 * Load the IOC lists o names (o->iocs; none: $HINOMI_IOC and /etc/hinomi/ioc
 * where they exist; o->no_ioc: none at all) and start watching with them.
 * Problems are summed up on err (`hinomi ioc check` lists them).
 * NULL with --no-ioc or no memory (said on err); every other iocw_*
 * accepts NULL.  With no indicator loaded it watches nothing until a
 * reload brings some.
 */
struct iocw *iocw_open(const struct hn_agent_opts *o, struct hn_hasher *exec_hasher,
		       iocw_alert_fn fn, void *arg, FILE *err);
/* SIGHUP: the same lists read again; the new set replaces the old (kept
 * only when there is no memory for the new).  Said on err. */
void iocw_reload(struct iocw *w, const struct hn_agent_opts *o, FILE *err);
/* After the exec hasher is stopped (its callback reaches iocw). */
void iocw_free(struct iocw *w);

/* An event on its way to the store (main thread, after enrichment). */
void iocw_event(struct iocw *w, const struct hn_event *ev);
/* The exec hasher's callback (any thread): d NULL when it failed. */
void iocw_exec_hashed(struct iocw *w, const struct hn_file_key *k,
		      const struct hn_digests *d);
/* Match the hashes that came in (main thread, each turn of the loop). */
void iocw_poll(struct iocw *w);
/* How long the loop may sleep: less than dflt while hashes are awaited. */
int iocw_poll_ms(struct iocw *w, int dflt);
/* At stop, after the exec hasher is drained: wait for the written-file
 * hasher and match what came in. */
void iocw_drain(struct iocw *w);
void iocw_stats(struct iocw *w, struct iocw_stats *st);
/* Its part of the agent's status: an "ioc" member of the JSON object j is
 * writing, or a line of text (either may be NULL). */
struct hn_json;
struct hn_strbuf;
void iocw_status(struct iocw *w, struct hn_json *j, struct hn_strbuf *text);

#endif
