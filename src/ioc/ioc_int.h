/*
 * ioc_int.h - what the IOC set (set.c) and its loaders (load.c, csv.c,
 * misp.c, stix.c) share.  Not for other modules: they use ioc.h.
 *
 * The set is an array of indicators plus one open-addressing table of
 * chain heads keyed by (type, normalised value): indicators with the same
 * key (the same value in several lists) are chained through `next`.
 * Strings live in one pool and are named by offsets (0 is "").
 */
#ifndef HINOMI_IOC_INT_H
#define HINOMI_IOC_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "ioc/ioc.h"

#define IOC_VALUE_MAX  1024       /* longest value read */
#define IOC_DESC_MAX   512        /* descriptions are cut there */

struct ioc_ind {
	uint64_t h;                  /* key hash */
	uint64_t valid_until;
	uint32_t value, desc, author, where;   /* pool offsets */
	uint32_t list;               /* index in lists */
	uint32_t line;
	uint32_t next;               /* next with the same key, index + 1; 0 end */
	uint8_t type;                /* enum hn_ioc_type */
	uint8_t level;               /* index in ioc_levels */
	uint8_t family;              /* ip: 4 or 6 */
	uint8_t plen;                /* ip: prefix length */
	uint8_t addr[16];            /* ip: the network, host bits zero */
};

struct ioc_list {
	char *name;
	char *path;
};

struct hn_ioc_set {
	struct ioc_ind *ind;
	unsigned n, cap;
	uint64_t *slot;              /* high half: the key hash's top bits;
				      * low half: chain head index + 1 (0 empty) */
	unsigned nslots;             /* power of two, > 2 n */
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t *intern;            /* pool offsets of interned strings */
	unsigned nintern, intern_used;
	struct ioc_list *lists;
	unsigned nlists;
	uint64_t v4_lens;            /* bit L: an IPv4 network of prefix L */
	uint64_t v6_lens[3];         /* bit L (0..128) */
	uint64_t dom_labels;         /* bit k: a domain of k labels (k < 64) */
	bool has[HN_IOC_TYPE_COUNT];
	uint64_t now;
	unsigned depth;              /* directory recursion */
	struct hn_ioc_stats st;
};

/* One file being loaded. */
struct ioc_ctx {
	struct hn_ioc_set *s;
	const char *path;
	uint32_t list;
	hn_ioc_problem_fn problem;
	void *arg;
	unsigned loaded;             /* indicators from this file */
};

/* One entry read from a file (strings need not outlive the call). */
struct ioc_entry {
	enum hn_ioc_type type;       /* HN_IOC_NONE: told from the value */
	const char *value;
	const char *description;     /* NULL: none */
	const char *level;           /* NULL: the default (high) */
	const char *author;
	int line;                    /* CSV; 0 */
	const char *where;           /* JSON; NULL */
	uint64_t valid_until;
};

extern const char *const ioc_levels[5];
#define IOC_LEVEL_DEFAULT 3          /* high */

/* Level by name (case-insensitive; "info" too), or -1. */
int ioc_level(const char *s);

/* Type by the names files use ("sha256", "SHA-256", "ip-dst", "hostname",
 * ...): the type, -ENOTSUP for a type we know but do not match (url,
 * email, sha512, ...), -EINVAL for a name we do not know. */
int ioc_type_by_name(const char *name);

/* Check and add one entry, reporting it when it cannot be used.
 * 1 added, 0 a duplicate, -1 reported. */
int ioc_add(struct ioc_ctx *c, const struct ioc_entry *e);

/* Report a problem (counted as invalid or unsupported). */
void ioc_problem(struct ioc_ctx *c, int line, const char *where,
		 enum hn_ioc_problem_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void ioc_skip(struct ioc_ctx *c, enum hn_ioc_skip why);

/* Loaders over a file's bytes. */
void ioc_csv_load(struct ioc_ctx *c, const char *buf, size_t len);
void ioc_json_load(struct ioc_ctx *c, const char *buf, size_t len);

/* The JSON loaders (jansson's json_t, opaque here). */
struct json_t;
void ioc_misp_load(struct ioc_ctx *c, struct json_t *root);
void ioc_stix_load(struct ioc_ctx *c, struct json_t *root);
/* Does root look like STIX (a bundle, an indicator, a list of objects)? */
bool ioc_stix_like(struct json_t *root);

/* The STIX pattern of one indicator into its alternatives (stix.c;
 * exposed for tests).  Each (path, value) of a pattern that is a pure OR
 * of = / IN comparisons goes to each(); 0 then.  -ENOTSUP with *why when
 * it is valid STIX that is not one indicator (AND, FOLLOWEDBY, a
 * qualifier, another operator), -EINVAL with *why when it does not
 * parse.  why points into whybuf. */
int ioc_stix_pattern(const char *pattern,
		     void (*each)(const char *path, const char *value, void *arg), void *arg,
		     const char **why, char *whybuf, size_t whylen);

#endif
