/*
 * agent.h - the recording agent: sensor -> enrich -> filter -> store.
 *
 * hn_agent_run() loads the sensor, records a /proc snapshot, then moves
 * every event from the ring buffer into the store until told to stop
 * (SIGINT/SIGTERM, or opts.duration).  On the way each event is:
 *   - enriched: executables get their SHA-256 (enrich/hasher.h: cached,
 *     hashed off the hot path and filled into the store when known);
 *   - filtered: the agent's own activity never reaches user space (the
 *     kernel side drops it), and the noise filter of the config file drops
 *     events by process executable or file path (counted as filtered);
 *   - stored (store/store.h), and printed as a short live line when notable.
 * The system log files the config names (log-file; by default auth.log,
 * syslog, secure, messages where they exist) are followed too: each new
 * line is a HN_EV_LOG event (logsrc/logsrc.h), and the read positions are
 * kept in meta so that a restarted agent goes on where the last one
 * stopped.
 * Events are matched against the Sigma rules (detect/detect.h) on their
 * way; a match is an alert in the store (grouped by rule and process tree)
 * and a live line the first time.  They are matched against IOC lists
 * too (ioc/ioc.h; ioc_watch.c): executables' and written files' hashes,
 * remote addresses, DNS names; a hit is an alert like a rule's.
 * Before anything else it puts back a network isolation that is in force
 * (respond.h: hn_isolation_restore; a reboot loses the nftables table).
 * Every second it publishes its status (meta "status.json"/"status.text")
 * for `hinomi status`, and turns kernel drop counters into HN_EV_GAP events:
 * nothing is lost silently.
 */
#ifndef HINOMI_AGENT_H
#define HINOMI_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct hn_agent_opts {
	const char *db_path;
	const char *config_path;   /* NULL: /etc/hinomi/agent.conf if present */
	const char *ready_file;    /* created once recording, start snapshot
				    * committed (tests) */
	double duration;           /* seconds; 0 = until signalled */
	bool quiet;                /* no live lines */
	bool no_snapshot;
	uint64_t max_bytes, max_age_ns;  /* store retention; 0 = defaults */
	uint32_t ringbuf_bytes;
	FILE *live;                /* live lines and the summary; stdout */
	/* Sigma rules (detect/detect.h): files or directories; none given:
	 * the default places (agent.c: rule_paths) */
	const char *const *rules;
	int nrules;
	bool no_rules;
	const char *tuning_path;   /* NULL: /etc/hinomi/tuning.conf if present */
	/* IOC lists (ioc/ioc.h): files or directories; none given:
	 * $HINOMI_IOC and /etc/hinomi/ioc (ioc_watch.c: iocw_open) */
	const char *const *iocs;
	int nioc;
	bool no_ioc;
	/* new executables scanned with YARA (scan_new.c): on with scan_new
	 * or the config's `scan-new on`; rules: yara (none given: the scan's
	 * default places) */
	bool scan_new;
	const char *const *yara;
	int nyara;
};

#define HN_AGENT_MAX_RULE_PATHS 16
#define HN_AGENT_MAX_IOC_PATHS 16
#define HN_AGENT_MAX_YARA_PATHS 16

/* Runs until stopped. 0, or -errno with the reason printed to stderr. */
int hn_agent_run(const struct hn_agent_opts *o);

/* The noise filter and watch list (config.c). */
struct hn_agent_config;
/* Parse a config file. 0; -ENOENT when missing; -EINVAL with *line and
 * msg set for a malformed line (the rest of the file is still read). */
int hn_agent_config_load(const char *path, struct hn_agent_config **out,
			 char *msg, size_t msglen);
struct hn_agent_config *hn_agent_config_default(void);
void hn_agent_config_free(struct hn_agent_config *c);
bool hn_agent_config_ignore_process(const struct hn_agent_config *c, const char *exe);
bool hn_agent_config_ignore_path(const struct hn_agent_config *c, const char *path);
/* Paths whose reads are reported; count via *n. */
const char *const *hn_agent_config_watch(const struct hn_agent_config *c, int *n);
/* Log files whose new lines are recorded (logsrc.h); count via *n. */
const char *const *hn_agent_config_logs(const struct hn_agent_config *c, int *n);
/* Whether to read the systemd journal, and which namespace's (*ns, NULL:
 * the system's). */
enum { HN_JOURNAL_OFF, HN_JOURNAL_ON, HN_JOURNAL_AUTO };
int hn_agent_config_journal(const struct hn_agent_config *c, const char **ns);
/* `scan-new on`: new executables are scanned with YARA rules. */
bool hn_agent_config_scan_new(const struct hn_agent_config *c);

#endif
