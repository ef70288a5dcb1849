/*
 * ioc.h - indicators of compromise: lists of known-bad file hashes,
 * addresses and domains, loaded from threat-intelligence files and matched
 * against events.
 *
 * An IOC set holds indicators of five types:
 *
 *   sha256, sha1, md5   a file's digest (hex; kept lowercase)
 *   ip                  an IPv4 or IPv6 address, or a network (CIDR
 *                       "10.0.0.0/8"); an IPv4-mapped IPv6 address
 *                       (::ffff:a.b.c.d) is its IPv4 address
 *   domain              a DNS name; it also covers every name under it
 *                       ("evil.example" matches "a.b.evil.example"),
 *                       case-insensitive, a trailing dot ignored
 *
 * Each indicator keeps the list it came from (the file's name without its
 * extension), a description (the CSV column, the MISP event's info and the
 * attribute's comment, the STIX indicator's name), a level (informational,
 * low, medium, high, critical; default high), an author when the source
 * names one (MISP Orgc, STIX created_by_ref) and, from STIX, valid_until.
 *
 * Loading (hn_ioc_load: a file, or every .csv, .txt and .json file of a
 * directory, recursively, in name order) reads
 *
 *   CSV     rows "type,value[,description[,level]]", or with a header row
 *           naming its columns (type, value, description, level, and
 *           columns named by a type: "sha256,description" or
 *           "sha256_hash,md5_hash"), also in the last comment line before
 *           the data ('# "first_seen_utc","sha256_hash",...'); a file of
 *           bare values, one a line, the type told from the value (64/40/32
 *           hex digits, an address, a name); '#' comments, quoted fields
 *           (RFC 4180), a BOM
 *   MISP    an event export ({"Event": ...}), a list of events, a REST
 *           search result ({"response": [...]}) or bare attributes:
 *           Attribute[] and Object[].Attribute[] of the types md5, sha1,
 *           sha256, filename|<hash>, ip-src, ip-dst, ip-src|port,
 *           ip-dst|port, domain, hostname, hostname|port, domain|ip;
 *           to_ids false and deleted attributes are skipped
 *   STIX    2.1 (and 2.0) bundles, or one indicator: indicator objects with
 *           a STIX pattern made of comparisons joined by OR, on
 *           file:hashes.'SHA-256' / SHA-1 / MD5 (artifact:hashes too),
 *           ipv4-addr:value, ipv6-addr:value, domain-name:value and
 *           network-traffic:dst_ref.value / src_ref.value, with = or IN.
 *           Revoked, expired (valid_until past) and benign
 *           (indicator_types) indicators are skipped; valid_until is kept
 *           and honoured when matching.  A pattern that ANDs comparisons,
 *           uses FOLLOWEDBY or a qualifier is not a single indicator: it is
 *           counted as unsupported, never half-matched.  A url:value (or
 *           other object) alternative of an OR is unsupported; the other
 *           alternatives load.
 *
 * Defanged values ("evil[.]example", "10[.]0[.]0[.]1") are read as their
 * plain form; "*.evil.example" as "evil.example"; an address with a port
 * ("192.0.2.1:443") as the address.
 *
 * Every entry that cannot be used is passed to the problem callback with
 * the file, the line (CSV, JSON syntax errors) or the JSON path and object
 * id, and why: invalid (malformed: a bad hash, address, domain, level, a
 * row without a value, a pattern that does not parse) or unsupported (a
 * type hinomi does not match: url, email, sha512, ...).  The rest loads.
 * A value twice in one list is kept once (counted as a duplicate); the same
 * value in two lists is kept in both, and a match reports both.
 *
 * Matching costs one hash-table probe for a digest, one probe per distinct
 * prefix length present in the set for an address (at most 33 or 129, in
 * practice a few), and one probe per label for a domain (only for label
 * counts some indicator has).  Nothing is allocated while matching.
 *
 * Bounds: HN_IOC_MAX indicators (more are counted as invalid: "the set is
 * full"), files up to HN_IOC_FILE_MAX bytes (read whole; a JSON file takes
 * some ten times its size while it is parsed), CSV fields up to 64 KiB,
 * values up to 1 KiB, descriptions cut at 512 bytes.
 *
 * Thread-safety: loading is single-threaded; a loaded set is read-only and
 * may be matched from several threads at once.
 */
#ifndef HINOMI_IOC_H
#define HINOMI_IOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"
#include "event/event.h"

#define HN_IOC_MAX       1000000
#define HN_IOC_FILE_MAX  (64u << 20)

enum hn_ioc_type {
	HN_IOC_NONE = 0,
	HN_IOC_SHA256 = 1,
	HN_IOC_SHA1 = 2,
	HN_IOC_MD5 = 3,
	HN_IOC_IP = 4,
	HN_IOC_DOMAIN = 5,
	HN_IOC_TYPE_COUNT = 6,
};

/* "sha256", "sha1", "md5", "ip", "domain"; "?" for anything else. */
const char *hn_ioc_type_name(enum hn_ioc_type t);

/* One indicator, as a match reports it (strings owned by the set; never
 * NULL, "" when absent). */
struct hn_ioc {
	enum hn_ioc_type type;
	const char *value;       /* normalised: lowercase hex, "10.0.0.0/8",
				  * "2001:db8::/32", "evil.example" */
	const char *list;        /* the list's name: file name, no extension */
	const char *source;      /* the file it came from */
	int line;                /* CSV: its line (1-based); JSON: 0 */
	const char *where;       /* JSON: path and object id; CSV: "" */
	const char *description;
	const char *level;
	const char *author;
	uint64_t valid_until;    /* ns since the epoch; 0: no end */
};

enum hn_ioc_problem_kind {
	HN_IOC_INVALID,          /* malformed */
	HN_IOC_UNSUPPORTED,      /* well-formed, but not something we match */
};

/* One entry (or a whole file) not loaded. */
struct hn_ioc_problem {
	const char *path;
	int line;                /* 1-based; 0 when not known (JSON values) */
	const char *where;       /* JSON path and object id, or NULL */
	enum hn_ioc_problem_kind kind;
	const char *why;         /* one line */
};

typedef void (*hn_ioc_problem_fn)(const struct hn_ioc_problem *p, void *arg);

/* Why an entry was left out on purpose (not a problem: counted only). */
enum hn_ioc_skip {
	HN_IOC_SKIP_NOT_IDS = 0, /* MISP to_ids false */
	HN_IOC_SKIP_DELETED,     /* MISP deleted */
	HN_IOC_SKIP_REVOKED,     /* STIX revoked */
	HN_IOC_SKIP_EXPIRED,     /* STIX valid_until passed */
	HN_IOC_SKIP_BENIGN,      /* STIX indicator_types benign */
	HN_IOC_SKIP_COUNT,
};

/* Counts since the set was made. */
struct hn_ioc_stats {
	unsigned files;          /* files read */
	unsigned loaded;         /* indicators kept */
	unsigned per_type[HN_IOC_TYPE_COUNT];
	unsigned duplicates;     /* a value again in the same list */
	unsigned skipped;        /* on purpose; per reason below */
	unsigned per_skip[HN_IOC_SKIP_COUNT];
	unsigned unsupported;
	unsigned invalid;
};

struct hn_ioc_set;

struct hn_ioc_set *hn_ioc_set_new(void);
void hn_ioc_set_free(struct hn_ioc_set *s);

/* The time loading compares valid_until with (ns since the epoch); by
 * default the time of hn_ioc_set_new. */
void hn_ioc_set_now(struct hn_ioc_set *s, uint64_t now_ns);

/*
 * Load a file (CSV, or JSON: MISP or STIX, told by their content) or every
 * .csv, .txt and .json file of a directory, recursively, in name order.
 * Each problem goes to problem (may be NULL).  Returns the number of
 * indicators loaded from path, or -errno when path itself cannot be read
 * (-EFBIG: a file over HN_IOC_FILE_MAX).
 */
int hn_ioc_load(struct hn_ioc_set *s, const char *path, hn_ioc_problem_fn problem,
		void *arg);

/* The same for bytes in memory (name: the path problems and indicators
 * name; its extension, else the content, tells the format). */
int hn_ioc_load_mem(struct hn_ioc_set *s, const char *name, const char *buf, size_t len,
		    hn_ioc_problem_fn problem, void *arg);

void hn_ioc_stats(const struct hn_ioc_set *s, struct hn_ioc_stats *st);
/* Indicators in the set (0 for NULL). */
unsigned hn_ioc_count(const struct hn_ioc_set *s);
/* Does the set hold an indicator of type t? */
bool hn_ioc_has(const struct hn_ioc_set *s, enum hn_ioc_type t);
/* The indicator i (0 <= i < count), into out. */
void hn_ioc_get(const struct hn_ioc_set *s, unsigned i, struct hn_ioc *out);

/*
 * Parse one value: of type t, or with t HN_IOC_NONE, of the type it looks
 * like.  0 with *type and the normalised text in out (n >= 256); -EINVAL
 * with *why set (a static string) when it is malformed, -ENOTSUP when it is
 * a type not matched (a URL, an e-mail address).
 */
int hn_ioc_parse(enum hn_ioc_type t, const char *value, enum hn_ioc_type *type,
		 char *out, size_t n, const char **why);

/*
 * Matching.  hit is called once per indicator that matches (an address in
 * several listed networks, or a value in several lists, reports each: the
 * most specific network first); at is the event's time, for valid_until
 * (0: not checked).  Each returns the number of hits.
 */
typedef void (*hn_ioc_hit_fn)(const struct hn_ioc *ioc, void *arg);

/* A digest in hex (either case) of type t. */
int hn_ioc_match_hash(const struct hn_ioc_set *s, enum hn_ioc_type t, const char *hex,
		      uint64_t at, hn_ioc_hit_fn hit, void *arg);
/* An address (AF_INET or AF_INET6; others never match). */
int hn_ioc_match_addr(const struct hn_ioc_set *s, const struct hn_addr *a, uint64_t at,
		      hn_ioc_hit_fn hit, void *arg);
/* A DNS name, and the names it is under. */
int hn_ioc_match_domain(const struct hn_ioc_set *s, const char *name, uint64_t at,
			hn_ioc_hit_fn hit, void *arg);

/* What an event shows: a process start's SHA-256 (when known), the remote
 * address of a connect, accept or UDP send, a DNS query's name. */
int hn_ioc_match_event(const struct hn_ioc_set *s, const struct hn_event *ev,
		       hn_ioc_hit_fn hit, void *arg);

/*
 * An IOC hit seen as a rule, so that it takes the path of Sigma alerts
 * (detect.h: hn_alert_group groups it per indicator and process tree,
 * hn_tuning_allows can silence it, the store keeps it as an alert):
 *
 *   id      "ioc:LIST:VALUE" (LIST made of [A-Za-z0-9._-])
 *   title   "IOC TYPE VALUE in list LIST: DESCRIPTION"
 *   level   the indicator's; author its author; path its source file
 *   tags    "ioc", "ioc.TYPE"
 *
 * r holds the strings; info points into it (and into ioc's set).
 */
struct hn_ioc_rule {
	struct hn_rule_info info;
	char id[1400];
	char title[512];
	char tag_type[24];
	const char *tags[2];
};
void hn_ioc_rule_make(const struct hn_ioc *ioc, struct hn_ioc_rule *r);

/* Read an alert's rule id back: true for an IOC's ("ioc:LIST:VALUE"), with
 * the list and value copied into the buffers and the value's type. */
bool hn_ioc_rule_id_parse(const char *id, char *list, size_t nlist, char *value,
			  size_t nvalue, enum hn_ioc_type *type);

#endif
