/*
 * detect.h - Sigma rules over hinomi's events.
 *
 * A ruleset is loaded from Sigma YAML files (a file or a directory, read
 * recursively) and then matched against events, live (the agent) or
 * offline.  Loading never stops at a bad rule: each file that cannot be
 * used is reported once, with its path, the line and why, as invalid (not
 * a Sigma rule we can read: YAML errors, missing detection, a condition
 * that does not parse, a regular expression that does not compile, ...) or
 * unsupported (valid Sigma that hinomi cannot evaluate: a log source it
 * does not record, a field it does not have for that log source, a
 * modifier it does not implement).
 *
 * Log sources (logsource: product linux, or no product) are routed to the
 * events that can satisfy them (fields.c has the table):
 *
 *   category process_creation   process starts (exec)
 *   category file_event         file creates and write-opens
 *   category file_rename        renames            category file_delete  unlinks
 *   category file_change        write-opens of existing files, chmod, chown
 *   category network_connection connects and accepts (Initiated true/false)
 *   category dns_query          DNS queries
 *   service auditd              an auditd-style view of the same events
 *   service syslog, or product   every line of the system log files
 *     linux alone (keywords)
 *   service auth                lines of the auth facilities (or auth.log)
 *   service sshd, sudo, cron,   lines logged by that program
 *     vsftpd, guacamole, clamav
 *
 * and the field names are Sysmon for Linux's (Image, CommandLine,
 * ParentImage, TargetFilename, DestinationIp, ...) or auditd's (type,
 * SYSCALL, a0..., exe, comm, name, key, ...), mapped onto the event.
 *
 * Sigma correlation rules (event_count, value_count, temporal,
 * temporal_ordered) load with the rules they reference, by name or id, in
 * the same call of hn_ruleset_load (correlation.c).  Matching them needs
 * state over time: a correlator (hn_correlator_*, correlate.c) matches an
 * event against the rules and the correlations together and is what the
 * agent and `hinomi detect` alert from.  hn_ruleset_match alone is the
 * stateless part: which single-event rules fire.
 *
 * Thread-safety: loading is single-threaded; a loaded ruleset is
 * read-only and may be matched from several threads at once.  A
 * correlator is one thread's.
 */
#ifndef HINOMI_DETECT_H
#define HINOMI_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

/* Where a rule's events come from (fields.c). */
enum hn_det_source {
	HN_DS_NONE = 0,
	HN_DS_PROCESS_CREATION,
	HN_DS_FILE_EVENT,
	HN_DS_FILE_RENAME,
	HN_DS_FILE_DELETE,
	HN_DS_FILE_CHANGE,
	HN_DS_NETWORK_CONNECTION,
	HN_DS_DNS_QUERY,
	HN_DS_AUDITD,
	/* the system log (logsrc.h): every line, then by facility/program */
	HN_DS_SYSLOG,
	HN_DS_AUTH,
	HN_DS_SSHD,
	HN_DS_SUDO,
	HN_DS_CRON,
	HN_DS_VSFTPD,
	HN_DS_GUACAMOLE,
	HN_DS_CLAMAV,
	HN_DS_COUNT,
};

/* What a loaded rule says about itself (strings owned by the ruleset). */
struct hn_rule_info {
	const char *path;        /* file it came from */
	int line;                /* line of its first key (1-based) */
	const char *id;          /* may be "" */
	const char *title;
	const char *status;      /* "" when absent */
	const char *level;       /* informational, low, medium, high, critical */
	const char *author;      /* "" when absent (DRL: kept with alerts) */
	const char *description;
	const char *const *tags; /* ntags of them ("attack.t1059.004") */
	unsigned ntags;
	enum hn_det_source source;   /* HN_DS_NONE for a correlation */
	const char *name;        /* Sigma `name` (how correlations refer to it); may be "" */
	bool correlation;        /* a correlation rule */
	/* referenced by a correlation with `generate: false` (the default):
	 * its own matches feed the correlation and are not alerts */
	bool hidden;
};

enum hn_rule_problem_kind {
	HN_RULE_INVALID,
	HN_RULE_UNSUPPORTED,
};

/* One file (or one document of a multi-document file) not loaded. */
struct hn_rule_problem {
	const char *path;
	int line;                /* 1-based; 0 when it is the file as a whole */
	enum hn_rule_problem_kind kind;
	const char *title;       /* the rule's title when known, else NULL */
	const char *why;         /* one line */
};

typedef void (*hn_rule_problem_fn)(const struct hn_rule_problem *p, void *arg);

struct hn_ruleset;

struct hn_ruleset *hn_ruleset_new(void);
void hn_ruleset_free(struct hn_ruleset *rs);

/*
 * Load every Sigma rule of a file or, recursively, of a directory (files
 * ending in .yml or .yaml, in name order).  Each problem is passed to
 * problem (may be NULL).  Correlations resolve once the whole path is
 * read, against every rule loaded so far.  Returns the number of rules
 * (correlations included) loaded from path, or -errno when path itself
 * cannot be read.
 */
int hn_ruleset_load(struct hn_ruleset *rs, const char *path,
		    hn_rule_problem_fn problem, void *arg);
/* Load every path, then resolve the correlations and build the prefilters
 * once (cheaper than one hn_ruleset_load per path, and a correlation may
 * refer to a rule of another path).  each[i] (each may be NULL) gets path
 * i's result as hn_ruleset_load would return it; the total of rules (and
 * correlations) loaded is returned, or -EINVAL. */
int hn_ruleset_load_paths(struct hn_ruleset *rs, const char *const *paths, unsigned n,
			  hn_rule_problem_fn problem, void *arg, int *each);

/* Counts since the ruleset was made. */
struct hn_ruleset_stats {
	unsigned files;          /* rule files read */
	unsigned loaded;         /* rules and correlations */
	unsigned invalid;
	unsigned unsupported;
	unsigned per_source[HN_DS_COUNT];
	unsigned correlations;   /* of loaded */
};
void hn_ruleset_stats(const struct hn_ruleset *rs, struct hn_ruleset_stats *st);

/* The single-event rules, in load order. */
unsigned hn_ruleset_count(const struct hn_ruleset *rs);
const struct hn_rule_info *hn_ruleset_rule(const struct hn_ruleset *rs, unsigned i);
/* The correlation rules, in the order they resolved. */
unsigned hn_ruleset_correlation_count(const struct hn_ruleset *rs);
const struct hn_rule_info *hn_ruleset_correlation(const struct hn_ruleset *rs, unsigned i);

/* Can the engine's prefilters skip rule i on most events (a literal it
 * needs, or a key such as the executable's name)?  A rule that cannot is
 * evaluated on every event of its log source: slower, never wrong.
 * Always false without Hyperscan for rules that have no key. */
bool hn_ruleset_rule_prefiltered(const struct hn_ruleset *rs, unsigned i);

/* The name of a source ("process_creation", "auditd"). */
const char *hn_det_source_name(enum hn_det_source s);

/*
 * What the event's process's parent looked like, when the caller knows it
 * (the agent keeps it; the store has it): for ParentImage and
 * ParentCommandLine.  Any member may be NULL / 0.
 */
struct hn_det_parent {
	const char *image;
	const char *args;        /* NUL-separated argv */
	size_t args_len;
};

/* A rule's ATT&CK tag read: 1 a technique ("attack.t1059.004" ->
 * "T1059.004"), 2 a tactic ("attack.stealth" -> "Stealth"; id NULL when
 * not known), 0 neither. */
struct hn_attack {
	char technique[16];
	const char *tactic_name;
	const char *tactic_id;
};
int hn_attack_tag(const char *tag, struct hn_attack *out);

/* The alert group of a match (alerts of one group are one alert with a
 * count): the rule (its id, else file:line) and the process tree (a
 * process start: its parent; another event: its acting process; a log
 * line without one: the hour), into key. */
void hn_alert_group(const struct hn_rule_info *rule, const struct hn_event *ev,
		    char *key, size_t n);

/*
 * The per-host allowlist (tuning.c): "allow RULE [image=GLOB] [user=NAME]
 * [path=GLOB] [cmdline=GLOB]" lines that silence a rule where they hold.
 * Loading reports each malformed line (path, line, why) and skips it.
 * 0, or -errno when the file cannot be read.
 */
struct hn_tuning;
int hn_tuning_load(const char *path, struct hn_tuning **out,
		   void (*problem)(const char *path, int line, const char *why, void *arg),
		   void *arg);
void hn_tuning_free(struct hn_tuning *t);
unsigned hn_tuning_count(const struct hn_tuning *t);
/* Is this match of rule on ev silenced? */
bool hn_tuning_allows(const struct hn_tuning *t, const struct hn_rule_info *rule,
		      const struct hn_event *ev);

typedef void (*hn_rule_match_fn)(const struct hn_rule_info *rule,
				 const struct hn_event *ev, void *arg);

/*
 * Match one event against every rule whose log source it can satisfy;
 * match is called once per rule that fires (in load order), hidden rules
 * included; correlations are not evaluated (a correlator does).  Returns
 * the number of rules that fired.
 */
int hn_ruleset_match(const struct hn_ruleset *rs, const struct hn_event *ev,
		     const struct hn_det_parent *parent, hn_rule_match_fn match,
		     void *arg);

/*
 * The correlator (correlate.c): the state of a ruleset's correlations, per
 * correlation and group-by values, over the events' own time (ev->time), so
 * that replaying a recording gives what the agent gave live.
 *
 * hn_correlator_match matches ev against the rules (hn_ruleset_match) and
 * calls match for every rule that fires and is not hidden, then for every
 * correlation that ev completes, with the correlation's own info and ev.
 * Correlations whose condition has an upper bound (lt, lte, eq) are decided
 * when their window closes: then match gets the last event counted in the
 * window, from hn_correlator_match (when a later event moves time on) or
 * hn_correlator_advance (time passing without events).  Windows close
 * HN_CORR_LATE_NS after their end, so that events a little late are
 * still counted.  Returns the number of calls of match.
 *
 * Memory is bounded: at most HN_CORR_GROUPS groups per correlation, the
 * least recently hit evicted (and counted) to make room.
 * Create the correlator after loading the ruleset; free it before.  It is
 * not reentrant: match must not call back into it.
 */
#define HN_CORR_LATE_NS 2000000000ULL
#define HN_CORR_GROUPS 1024
struct hn_correlator;
struct hn_correlator *hn_correlator_new(const struct hn_ruleset *rs);
void hn_correlator_free(struct hn_correlator *c);
int hn_correlator_match(struct hn_correlator *c, const struct hn_event *ev,
			const struct hn_det_parent *parent, hn_rule_match_fn match,
			void *arg);
/* Time is now (ns since the epoch) and no earlier event will come: close
 * the windows that ended before it.  Returns the number of calls of
 * match. */
int hn_correlator_advance(struct hn_correlator *c, uint64_t now, hn_rule_match_fn match,
			  void *arg);

struct hn_correlator_stats {
	uint64_t hits;           /* rule matches fed to correlations */
	uint64_t fired;          /* correlation matches */
	uint64_t groups;         /* groups held now */
	uint64_t open_windows;   /* of them: windows not decided yet (lt/lte/eq) */
	uint64_t evicted;        /* groups dropped to stay within the bounds */
	uint64_t dropped;        /* hits not fed (an event hitting too many) */
};
void hn_correlator_stats(const struct hn_correlator *c, struct hn_correlator_stats *st);

#endif
