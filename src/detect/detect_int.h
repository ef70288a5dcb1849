/*
 * detect_int.h - what the files of detect/ share (nothing outside it
 * includes this).
 *
 *   rules.c        reading YAML files into rules (libyaml), the ruleset
 *   cond.c         Sigma conditions: text -> tree of nodes
 *   fields.c       field names, log sources, and the values of an event's
 *                  fields as a rule sees them (struct det_rec)
 *   match.c        values and modifiers (match.h)
 *   engine.c       a rule against a record, the ruleset against an event
 *   correlation.c  correlation rules: read, checked, their references
 *                  resolved (struct det_corr)
 *   correlate.c    correlations over time (hn_correlator)
 */
#ifndef HINOMI_DETECT_INT_H
#define HINOMI_DETECT_INT_H

#include <yaml.h>

#include "detect/detect.h"
#include "detect/match.h"

/* ---- fields (fields.c) ---- */

/* Every field a rule can name.  The Sysmon-for-Linux names first, then
 * the auditd view's. */
enum det_field {
	/* process_creation, and the acting process of every other event */
	DF_IMAGE,
	DF_COMMANDLINE,
	DF_CURRENTDIRECTORY,
	DF_USER,
	DF_LOGONID,
	DF_PROCESSID,
	DF_PROCESSGUID,
	DF_PARENTIMAGE,
	DF_PARENTCOMMANDLINE,
	DF_PARENTPROCESSID,
	DF_PARENTPROCESSGUID,
	DF_TERMINALSESSIONID,
	DF_HASHES,
	/* files */
	DF_TARGETFILENAME,
	DF_SOURCEFILENAME,
	/* network */
	DF_INITIATED,
	DF_PROTOCOL,
	DF_SOURCEIP,
	DF_SOURCEPORT,
	DF_SOURCEISIPV6,
	DF_DESTINATIONIP,
	DF_DESTINATIONPORT,
	DF_DESTINATIONISIPV6,
	DF_DESTINATIONHOSTNAME,
	DF_QUERYNAME,
	/* auditd view */
	DF_A_TYPE,
	DF_A_SYSCALL,
	DF_A_ARGC,
	DF_A_A0, DF_A_A1, DF_A_A2, DF_A_A3, DF_A_A4, DF_A_A5, DF_A_A6, DF_A_A7,
	DF_A_A8, DF_A_A9,
	DF_A_EXE,
	DF_A_COMM,
	DF_A_NAME,
	DF_A_NAMETYPE,
	DF_A_KEY,
	DF_A_UID,
	DF_A_EUID,
	DF_A_AUID,
	DF_A_PID,
	DF_A_PPID,
	DF_A_CWD,
	DF_A_SUCCESS,
	DF_A_UNIT,
	/* system log lines */
	DF_MESSAGE,
	DF_PROGRAM,
	DF_SUDO_USER,
	DF_SUDO_COMMAND,
	DF_SUDO_PWD,
	DF_SUDO_TTY,
	/* not nameable: the second value of Image (the path passed to
	 * execve, made absolute), tried by the engine with Image's */
	DF_IMAGE_ALT,
	DF_COUNT,
};

/* Field id of a name for a source ("Image", "a0"; case-insensitive), or -1
 * when that source has no such field. */
int det_field_lookup(enum hn_det_source src, const char *name);

/* Source of a logsource (product, category, service; NULL when absent),
 * or HN_DS_NONE with the reason in *why. */
enum hn_det_source det_source_of(const char *product, const char *category,
				 const char *service, const char **why);

/* The record of one event for one source: field values computed when a
 * rule first asks, into buf.  An auditd source sees an event as several
 * records (SYSCALL, EXECVE, PATH...): rec_kind says which. */
#define DET_BUF 16384
struct det_rec {
	const struct hn_event *ev;
	const struct hn_det_parent *parent;
	enum hn_det_source src;
	int audit_kind;                    /* DET_AUDIT_* when src is auditd */
	uint64_t done[(DF_COUNT + 63) / 64];
	struct hn_sm_str val[DF_COUNT];
	size_t used;
	char buf[DET_BUF];
};

enum {
	DET_AUDIT_SYSCALL,
	DET_AUDIT_EXECVE,
	DET_AUDIT_PATH,          /* name: path */
	DET_AUDIT_PATH2,         /* name: path2 (a rename's new name) */
	DET_AUDIT_COUNT,
};

/* Sources an event type can satisfy, as a bit set of 1 << source. */
unsigned det_sources_of_event(const struct hn_event *ev);
/* Audit records an event is seen as, as a bit set of 1 << DET_AUDIT_*. */
unsigned det_audit_kinds(const struct hn_event *ev);

void det_rec_init(struct det_rec *r, const struct hn_event *ev,
		  const struct hn_det_parent *parent, enum hn_det_source src,
		  int audit_kind);
/* Is field f the same on every record of events of this type seen as
 * audit record kind (a record type that has no such field, a value the
 * type decides)?  Then a record of a blank event of that type has it. */
bool det_field_static(int f, uint16_t type, int kind);
/* The value of field f (present false when the event has none). */
const struct hn_sm_str *det_rec_get(struct det_rec *r, int f);
/* Fields a field-less (keyword) search looks in, for r's source: ids into
 * out (at most max), count returned. */
unsigned det_keyword_fields(const struct det_rec *r, int *out, unsigned max);

/* ---- rules (rules.c, engine.c) ---- */

/* "Field|mods: values": all of a field's values against one field. */
struct det_item {
	int field;               /* DF_*, or -1: keywords (any keyword field) */
	struct hn_sm_list vals;
	/* the values as written (NULL for null), for the prefilter index */
	char **raw;
	unsigned nraw;
	/* fieldref: the fields the values name (DF_*), nraw of them */
	int *refs;
};

/* A named selection: one of its alternatives (OR), each an AND of items. */
struct det_sel {
	char *name;
	unsigned *alt_end;       /* alternative i is items [alt_end[i-1], alt_end[i]) */
	unsigned nalt;
	struct det_item *items;
	unsigned nitems;
};

enum det_op {
	DN_SEL,                  /* selection a */
	DN_AND,                  /* children a..b-1 of kids[] */
	DN_OR,
	DN_NOT,                  /* child kids[a] */
	DN_TRUE,
	DN_FALSE,
};

struct det_node {
	enum det_op op;
	unsigned a, b;
};

/* A condition: nodes[root]; kids holds the child lists of AND/OR/NOT. */
struct det_cond {
	struct det_node *nodes;
	unsigned nnodes, cap_nodes;
	unsigned *kids;
	unsigned nkids, cap_kids;
	unsigned root;
};

/*
 * Parse a condition over the selections sels[0..nsel) into c.  0, or
 * -EINVAL with the reason in err (and the offending word); -ENOTSUP for
 * Sigma 1 aggregations ("| count() > 5") and "near".
 */
int det_cond_parse(struct det_cond *c, const char *text, const struct det_sel *sels,
		   unsigned nsel, char *err, size_t errlen);
/* Several conditions of one rule (a YAML list) parsed into the same c,
 * each leaving its root in c->root: one root that ORs them.  0 or
 * -errno. */
int det_cond_join(struct det_cond *c, const unsigned *roots, unsigned n);
void det_cond_release(struct det_cond *c);

struct det_rule {
	struct hn_rule_info info;
	struct det_sel *sels;
	unsigned nsel;
	struct det_cond cond;    /* several conditions: OR'ed in one tree */
};

/* The ruleset's rules of a source (indexes, load order), and a rule. */
const unsigned *det_ruleset_by_source(const struct hn_ruleset *rs,
				      enum hn_det_source s, unsigned *n);
const struct det_rule *det_ruleset_rule(const struct hn_ruleset *rs, unsigned i);
const struct det_index *det_ruleset_index(const struct hn_ruleset *rs,
					  enum hn_det_source s);
const struct det_lits *det_ruleset_lits(const struct hn_ruleset *rs);

/*
 * The key index (index.c): for a source with a key field (process
 * creation: the basename of Image; auditd: a0, SYSCALL, comm, exe, type),
 * the rules whose condition cannot hold unless the key is one of a few
 * literal values are filed under those values; the others are always
 * tried.  Built for every source with rules (NULL: none, or no memory).
 */
struct det_index;
struct det_index *det_index_build(const struct hn_ruleset *rs, enum hn_det_source src);
void det_index_free(struct det_index *ix);
/* The rules of r's source that r's keys allow, as bits (rule index i: bit
 * i % 64 of word i / 64) written to bits[0..nwords); false when the index
 * cannot say (NULL, or nwords too small: try every rule). */
bool det_index_mask(const struct det_index *ix, struct det_rec *r, uint64_t *bits,
		    unsigned nwords);

/* A set of distinct strings, kept lower-cased (index.c, literal.c). */
struct det_keyset {
	char **k;
	unsigned n, cap;
	bool oom;
};
void det_ks_add(struct det_keyset *ks, const char *s, size_t n);
void det_ks_move(struct det_keyset *to, struct det_keyset *from);
void det_ks_release(struct det_keyset *ks);

/*
 * The literal prefilter (literal.c), after the key index: most rules
 * cannot match unless some literal of theirs appears in the record (a
 * `CommandLine|contains: 'base64 -d'` needs "base64 -d" in the command
 * line).  Each source's literals are searched for all at once, with
 * Hyperscan, in the values of the fields that have them; a rule with
 * literals is then tried only when one of them was found.  Without
 * Hyperscan (a build where it is missing) there is no such prefilter:
 * every rule the key index gives is tried, which is always right.
 */
struct det_lits;
/* For every source's rules (NULL: no rule has literals, no Hyperscan, or
 * no memory). */
struct det_lits *det_lits_build(const struct hn_ruleset *rs);
void det_lits_free(struct det_lits *l);
/* The rules that may match, given the records of one event (one per
 * source and audit record type), as bits (as det_index_mask) written to
 * may[0..nwords): rules without literals, and those one of whose literals
 * is in a field of a record; false when it cannot say (try every rule). */
bool det_lits_scan(const struct det_lits *l, struct det_rec *const *recs, unsigned nrecs,
		   uint64_t *may, unsigned nwords);
/* The literals a regular expression needs (PCRE2 syntax, searched
 * unanchored): one per top-level branch (any match has one of them, in
 * any case), lower-cased, NUL-terminated, into out; their number, or 0
 * when it cannot say (a branch with no literal of 2 or more bytes, a
 * construct it does not read: \x or \1 escapes, \Q, (*VERB), (?#...),
 * (?C...), an x flag, [:, a brace that is not {n}, {n,} or {n,m}). */
int det_re_literals(const char *re, char out[][512], unsigned max);
/* Has rule i literals the prefilter searches for? */
bool det_lits_has(const struct det_lits *l, unsigned i);
/* Is rule i filed under keys of its source's index? */
bool det_index_keyed(const struct det_index *ix, unsigned i);
/* Rules of source s with literals / without (always tried). */
void det_lits_counts(const struct det_lits *l, enum hn_det_source s, unsigned *with,
		     unsigned *without);

/* Does the rule match the record? */
bool det_rule_eval(const struct det_rule *rule, struct det_rec *r);
/* Can the rule match some record of this shape (r: a record of a blank
 * event of a type, for a source and audit record kind), judging by the
 * fields that shape decides alone (det_field_static)? */
bool det_rule_possible(const struct det_rule *rule, struct det_rec *r);
/* Can no record of the source satisfy the item (a value the fields the
 * shape decides never take: auditd `type: ADD_USER`)? */
bool det_item_never(const struct det_item *it, enum hn_det_source src);

void det_rule_release(struct det_rule *rule);
/* Free a rule's (or correlation's) strings and zero it. */
void det_info_release(struct hn_rule_info *info);

/* ---- reading YAML documents (rules.c; correlation.c reads alike) ---- */

struct det_corrset;

/* What one document is being read with: its first problem is kept (later
 * ones are consequences). */
struct det_reader {
	const char *path;
	yaml_document_t *doc;
	enum hn_rule_problem_kind kind;
	int line;
	char why[320];
	bool failed;
	enum hn_det_source src;
};

void det_problem(struct det_reader *rd, enum hn_rule_problem_kind kind,
		 const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
yaml_node_t *det_yaml_node(struct det_reader *rd, int id);
/* Value of key in a mapping node, or NULL. */
yaml_node_t *det_yaml_get(struct det_reader *rd, const yaml_node_t *map, const char *key);
/* A scalar's text, or NULL when n is not a scalar. */
const char *det_yaml_text(const yaml_node_t *n);
/* Absent, or a plain ~ / null / empty scalar. */
bool det_yaml_null(const yaml_node_t *n);
/* A scalar written without quotes. */
bool det_yaml_plain(const yaml_node_t *n);
/* What rules and correlations share: title (required), id, name, status,
 * description, author, level (default medium), tags, into info.  0, or
 * -errno with the problem in rd. */
int det_read_meta(struct det_reader *rd, struct hn_rule_info *info, const yaml_node_t *root);

/* Report a problem (counted in the ruleset's stats). */
void det_ruleset_report(struct hn_ruleset *rs, const char *path, int line,
			enum hn_rule_problem_kind kind, const char *title, const char *why,
			hn_rule_problem_fn fn, void *arg);
/* The index of the rule whose info this is, or -1. */
int det_rule_index(const struct hn_ruleset *rs, const struct hn_rule_info *info);
void det_ruleset_hide(struct hn_ruleset *rs, unsigned i);
void det_ruleset_count_correlation(struct hn_ruleset *rs);
struct det_corrset **det_ruleset_corrset(struct hn_ruleset *rs);
const struct det_corrset *det_ruleset_corrs(const struct hn_ruleset *rs);

/* ---- correlations (correlation.c reads them, correlate.c runs them) ---- */

enum det_corr_type {
	DC_EVENT_COUNT,
	DC_VALUE_COUNT,
	DC_TEMPORAL,
	DC_TEMPORAL_ORDERED,
};

#define DET_CORR_REFS 32         /* rules a correlation may refer to */
#define DET_CORR_GROUP_BY 8      /* group-by fields */
#define DET_CORR_VALUE_FIELDS 8  /* value_count fields */
#define DET_CORR_COUNT_MAX 1024  /* a count condition's largest bound */
#define DET_CORR_DEPTH 4         /* correlations of correlations, this deep */

/* A rule a correlation refers to. */
struct det_corr_ref {
	char *text;              /* as written: a name or an id */
	int line;
	bool corr;               /* a correlation, else a rule */
	unsigned idx;            /* into the ruleset's rules or correlations */
	unsigned sources;        /* the log sources its hits come from (1 << s) */
};

/* One alias: for the rule named key[i], the field field[i]. */
struct det_corr_alias {
	char *name;
	char **key, **field;
	unsigned n;
};

struct det_corr {
	struct hn_rule_info info;
	enum det_corr_type type;
	struct det_corr_ref *refs;
	unsigned nrefs;
	char **group_by;
	unsigned ngroup;
	char **value_fields;     /* value_count: condition.field */
	unsigned nvalue;
	struct det_corr_alias *aliases;
	unsigned nalias;
	/* the field names to read for group-by g (value field v) on the hits
	 * of ref r, aliases applied: gb_field[r * ngroup + g],
	 * v_field[r * nvalue + v] (pointers into the above) */
	const char **gb_field;
	const char **v_field;
	uint64_t span_ns;
	/* the condition as a range of counts, inclusive; hi UINT64_MAX: no
	 * upper bound.  With an upper bound a window is decided when it
	 * closes (correlate.c). */
	uint64_t lo, hi;
	bool generate;
	unsigned depth;          /* 1: over rules only */
	/* where things were written, for problems */
	int line_group, line_cond, line_alias;
	bool resolved, failed;
	enum hn_rule_problem_kind fail_kind;
};

/* Which correlations (and which of their refs) a rule or correlation
 * feeds. */
struct det_feed {
	unsigned corr, ref;
};

/* Read a correlation document into the ruleset's pending ones.  0, or
 * -errno with the problem in rd. */
int det_corr_read(struct hn_ruleset *rs, struct det_reader *rd, const yaml_node_t *root);
/* A document that did not load, by its name and id (either may be NULL). */
void det_corr_failed(struct hn_ruleset *rs, const char *name, const char *id,
		     enum hn_rule_problem_kind kind);
/* The rule or correlation (loaded or pending) named name, or NULL. */
const struct hn_rule_info *det_corr_find_name(const struct hn_ruleset *rs, const char *name);
/* Resolve the pending correlations (each problem reported); the number
 * that loaded. */
int det_corr_resolve(struct hn_ruleset *rs, hn_rule_problem_fn fn, void *arg);
void det_corrset_free(struct det_corrset *cs);

unsigned det_corr_count(const struct hn_ruleset *rs);
const struct det_corr *det_corr_at(const struct hn_ruleset *rs, unsigned i);
/* What rule i (of_corr: correlation i) feeds. */
const struct det_feed *det_corr_feeds(const struct hn_ruleset *rs, bool of_corr, unsigned i,
				      unsigned *n);

#endif
