/*
 * csv.c - IOC lists as CSV (ioc.h): RFC 4180 records (quoted fields with
 * "" for a quote, line breaks inside quotes), '#' comment lines, blank
 * lines, a UTF-8 BOM; tab-separated when the first line has tabs and no
 * commas (or the file ends in .tsv).
 *
 * Three shapes, told apart by the first record:
 *
 *   a header      a record naming columns: type, value (indicator, ioc,
 *                 hash, ...), description (name, comment, threat, ...),
 *                 level (severity), or a type ("sha256", "md5_hash",
 *                 "domain": that column's values are of that type).  It
 *                 is a header when it names one, no field of it is a
 *                 value, and a type in its first field is followed by
 *                 another name it knows ("sha256,description"; but
 *                 "ip,10.1.2.3/8" is a row with a bad value).  Columns it
 *                 does not name are ignored.
 *   type,value    rows "type,value[,description[,level]]"
 *   values        one value a line (or "value,description[,level]"), the
 *                 type told from the value
 *
 * When the first record is not a header, the last comment line before it
 * may be one ('# "first_seen_utc","sha256_hash",...', as abuse.ch's feeds
 * write it).
 *
 * A row that cannot be used is reported with its line (the first line of
 * the record) and skipped.
 */
#include "ioc/ioc_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

#define CSV_FIELDS     32
#define CSV_FIELD_MAX  65536

struct csv {
	const char *p, *end;
	int line;                 /* the line p is on */
	char delim;
	const char *comment;      /* the last comment line skipped, after '#' */
	size_t comment_len;
};

struct rec {
	struct hn_strbuf b;       /* the fields, each NUL-terminated */
	size_t off[CSV_FIELDS];
	int n;
	int line;                 /* where the record starts */
};

static const char *field(const struct rec *r, int i)
{
	return i < r->n && r->b.buf ? r->b.buf + r->off[i] : "";
}

static void skip_line(struct csv *c)
{
	while (c->p < c->end && *c->p != '\n')
		c->p++;
	if (c->p < c->end) {
		c->p++;
		c->line++;
	}
}

static bool blank(char ch, char delim)
{
	return ch == ' ' || (ch == '\t' && delim != '\t') || ch == '\r';
}

/* The next record: 1, 0 at the end, -1 with *err for a record that cannot
 * be read (skipped up to the end of its line). */
static int next_record(struct csv *c, struct rec *r, const char **err)
{
	/* blank and comment lines */
	for (;;) {
		const char *q = c->p;
		if (q >= c->end)
			return 0;
		while (q < c->end && blank(*q, c->delim))
			q++;
		if (q < c->end && *q != '\n' && *q != '#')
			break;
		if (q < c->end && *q == '#') {
			const char *e = memchr(q, '\n', (size_t)(c->end - q));
			c->comment = q + 1;
			c->comment_len = (size_t)((e ? e : c->end) - c->comment);
		}
		skip_line(c);
	}
	hn_strbuf_reset(&r->b);
	r->n = 0;
	r->line = c->line;
	for (;;) {
		size_t start;

		while (c->p < c->end && *c->p != '\n' && blank(*c->p, c->delim) && *c->p != '\r')
			c->p++;
		if (r->n == CSV_FIELDS) {
			*err = "more than 32 columns";
			skip_line(c);
			return -1;
		}
		start = r->b.len;
		r->off[r->n] = start;
		if (c->p < c->end && *c->p == '"') {
			c->p++;
			for (;;) {
				if (c->p >= c->end) {
					*err = "a quote that is never closed";
					return -1;
				}
				if (*c->p == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						hn_strbuf_addc(&r->b, '"');
						c->p += 2;
						continue;
					}
					c->p++;
					break;
				}
				if (*c->p == '\n')
					c->line++;
				hn_strbuf_addc(&r->b, *c->p++);
				if (r->b.len - start > CSV_FIELD_MAX) {
					*err = "a field longer than 64 KiB";
					skip_line(c);
					return -1;
				}
			}
			while (c->p < c->end && blank(*c->p, c->delim))
				c->p++;
			if (c->p < c->end && *c->p != c->delim && *c->p != '\n') {
				*err = "text after a closing quote";
				skip_line(c);
				return -1;
			}
		} else {
			while (c->p < c->end && *c->p != c->delim && *c->p != '\n') {
				hn_strbuf_addc(&r->b, *c->p++);
				if (r->b.len - start > CSV_FIELD_MAX) {
					*err = "a field longer than 64 KiB";
					skip_line(c);
					return -1;
				}
			}
			while (r->b.len > start && blank(r->b.buf[r->b.len - 1], c->delim))
				r->b.len--;
		}
		hn_strbuf_addc(&r->b, '\0');
		if (r->b.oom) {
			*err = "out of memory";
			skip_line(c);
			return -1;
		}
		r->n++;
		if (c->p < c->end && *c->p == c->delim) {
			c->p++;
			continue;
		}
		if (c->p < c->end) {      /* '\n' */
			c->p++;
			c->line++;
		}
		return 1;
	}
}

/* ---- the header ---- */

enum role { R_IGNORE = 0, R_TYPE, R_VALUE, R_DESC, R_LEVEL, R_FIXED };

struct layout {
	bool header;
	enum role role[CSV_FIELDS];
	enum hn_ioc_type fixed[CSV_FIELDS];
	int ncols;
};

static const struct {
	const char *name;
	enum role role;
} col_names[] = {
	{ "type", R_TYPE }, { "ioc_type", R_TYPE }, { "indicator_type", R_TYPE },
	{ "kind", R_TYPE }, { "attribute_type", R_TYPE },
	{ "value", R_VALUE }, { "indicator", R_VALUE }, { "ioc", R_VALUE },
	{ "ioc_value", R_VALUE }, { "observable", R_VALUE }, { "hash", R_VALUE },
	{ "hashes", R_VALUE }, { "address", R_VALUE }, { "attribute_value", R_VALUE },
	{ "description", R_DESC }, { "desc", R_DESC }, { "comment", R_DESC },
	{ "comments", R_DESC }, { "name", R_DESC }, { "title", R_DESC },
	{ "threat", R_DESC }, { "malware", R_DESC }, { "malware_family", R_DESC },
	{ "family", R_DESC }, { "info", R_DESC }, { "tags", R_DESC },
	{ "signature", R_DESC }, { "context", R_DESC }, { "malware_printable", R_DESC },
	{ "threat_type", R_DESC },
	{ "level", R_LEVEL }, { "severity", R_LEVEL },
};

/* A column name's role (and type, for a column named by one). */
static enum role col_role(const char *raw, enum hn_ioc_type *type)
{
	char n[64];
	size_t len = strlen(raw);
	int t;

	if (len >= sizeof(n))
		return R_IGNORE;
	for (size_t i = 0; i <= len; i++)
		n[i] = raw[i] == ' ' || raw[i] == '-' ? '_' : (char)tolower((unsigned char)raw[i]);
	for (size_t i = 0; i < sizeof(col_names) / sizeof(col_names[0]); i++)
		if (!strcmp(n, col_names[i].name))
			return col_names[i].role;
	if (len > 5 && !strcmp(n + len - 5, "_hash"))
		n[len - 5] = '\0';
	if ((t = ioc_type_by_name(n)) > 0) {
		*type = (enum hn_ioc_type)t;
		return R_FIXED;
	}
	/* "sha_256" was turned from "sha-256" above; "ip_src" likewise */
	for (char *q = n; *q; q++)
		if (*q == '_')
			*q = '-';
	if ((t = ioc_type_by_name(n)) > 0) {
		*type = (enum hn_ioc_type)t;
		return R_FIXED;
	}
	return R_IGNORE;
}

/* Is this record a header?  Fills the layout when it is. */
static bool read_header(const struct rec *r, struct layout *L)
{
	bool named = false;

	memset(L, 0, sizeof(*L));
	for (int i = 0; i < r->n; i++) {
		enum hn_ioc_type t;
		char norm[512];
		const char *why;
		int k = hn_ioc_parse(HN_IOC_NONE, field(r, i), &t, norm, sizeof(norm), &why);
		if (k == 0)
			return false;       /* a value: a data row */
		L->fixed[i] = HN_IOC_NONE;
		L->role[i] = col_role(field(r, i), &L->fixed[i]);
		named |= L->role[i] != R_IGNORE;
	}
	if (!named)
		return false;
	/* "ip,10.1.2.3/8": a type and a bad value, not a header naming an
	 * "ip" column: after a type name, a header names another column */
	if (r->n >= 2 && L->role[0] == R_FIXED && *field(r, 1) && L->role[1] == R_IGNORE)
		return false;
	L->header = true;
	L->ncols = r->n;
	return true;
}

/* Does the header name a column values come from? */
static bool has_values(const struct layout *L)
{
	for (int i = 0; i < L->ncols; i++)
		if (L->role[i] == R_VALUE || L->role[i] == R_FIXED)
			return true;
	return false;
}

/* A header in the last comment line before the data, as feeds such as
 * abuse.ch's write it ('# "first_seen_utc","sha256_hash",...'). */
static bool comment_header(struct csv *cv, struct layout *L)
{
	struct csv sub = { cv->comment, cv->comment + cv->comment_len, 1, cv->delim, NULL, 0 };
	struct rec r = { .n = 0 };
	const char *err;
	bool ok;

	if (!cv->comment)
		return false;
	hn_strbuf_init(&r.b);
	ok = next_record(&sub, &r, &err) == 1 && read_header(&r, L) && has_values(L);
	hn_strbuf_release(&r.b);
	if (!ok)
		memset(L, 0, sizeof(*L));
	return ok;
}

/* ---- rows ---- */

static void add_desc(struct hn_strbuf *d, const char *s)
{
	if (!*s)
		return;
	if (d->len)
		hn_strbuf_adds(d, " / ");
	hn_strbuf_adds(d, s);
}

static void row_header(struct ioc_ctx *c, const struct layout *L, const struct rec *r,
		       struct hn_strbuf *desc)
{
	struct ioc_entry e = { .line = r->line };
	const char *type = NULL, *value = NULL;
	bool any = false;

	hn_strbuf_reset(desc);
	for (int i = 0; i < L->ncols && i < r->n; i++) {
		switch (L->role[i]) {
		case R_TYPE: type = field(r, i); break;
		case R_VALUE: value = field(r, i); break;
		case R_DESC: add_desc(desc, field(r, i)); break;
		case R_LEVEL: e.level = field(r, i); break;
		default: break;
		}
	}
	e.description = desc->len && !desc->oom ? desc->buf : NULL;
	for (int i = 0; i < L->ncols; i++) {
		if (L->role[i] != R_FIXED || !*field(r, i))
			continue;
		any = true;
		e.type = L->fixed[i];
		e.value = field(r, i);
		ioc_add(c, &e);
	}
	if (value && *value) {
		any = true;
		e.type = HN_IOC_NONE;
		e.value = value;
		if (type && *type) {
			int t = ioc_type_by_name(type);
			if (t < 0) {
				ioc_problem(c, r->line, NULL, t == -ENOTSUP ? HN_IOC_UNSUPPORTED :
					    HN_IOC_INVALID, t == -ENOTSUP ?
					    "type '%.40s' is not matched (sha256, sha1, md5, ip, domain are)" :
					    "unknown type '%.40s' (sha256, sha1, md5, ip, domain)", type);
				return;
			}
			e.type = (enum hn_ioc_type)t;
		}
		ioc_add(c, &e);
	}
	if (!any)
		ioc_problem(c, r->line, NULL, HN_IOC_INVALID, "no value");
}

static void row_plain(struct ioc_ctx *c, const struct rec *r)
{
	struct ioc_entry e = { .line = r->line };
	const char *f0 = field(r, 0);
	int t;

	if (r->n == 1) {
		e.value = f0;
		ioc_add(c, &e);
		return;
	}
	t = ioc_type_by_name(f0);
	if (t > 0) {
		e.type = (enum hn_ioc_type)t;
		e.value = field(r, 1);
		e.description = field(r, 2);
		e.level = field(r, 3);
		if (!*e.value) {
			ioc_problem(c, r->line, NULL, HN_IOC_INVALID, "no value");
			return;
		}
		ioc_add(c, &e);
		return;
	}
	if (t == -ENOTSUP) {
		ioc_problem(c, r->line, NULL, HN_IOC_UNSUPPORTED,
			    "type '%.40s' is not matched (sha256, sha1, md5, ip, domain are)", f0);
		return;
	}
	/* "value,description[,level]": the first field is a value */
	{
		enum hn_ioc_type vt;
		char norm[512];
		const char *why;
		if (*f0 && hn_ioc_parse(HN_IOC_NONE, f0, &vt, norm, sizeof(norm), &why) != -EINVAL) {
			e.value = f0;
			e.description = field(r, 1);
			e.level = field(r, 2);
			ioc_add(c, &e);
			return;
		}
	}
	ioc_problem(c, r->line, NULL, HN_IOC_INVALID,
		    *f0 ? "'%.60s' is neither a type (sha256, sha1, md5, ip, domain) nor a value" :
		    "no value%.0s", f0);
}

void ioc_csv_load(struct ioc_ctx *c, const char *buf, size_t len)
{
	struct csv cv = { buf, buf + len, 1, ',', NULL, 0 };
	struct rec r = { .n = 0 };
	struct layout L = { .header = false };
	struct hn_strbuf desc;
	const char *err = NULL;
	bool first = true;
	int k;

	hn_strbuf_init(&r.b);
	hn_strbuf_init(&desc);
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		cv.p += 3;
	/* tab-separated? */
	{
		size_t n = strlen(c->path);
		const char *q = cv.p;
		size_t tabs = 0, commas = 0;
		while (q < cv.end && (*q == '#' || *q == '\n' || *q == '\r')) {
			while (q < cv.end && *q != '\n')
				q++;
			if (q < cv.end)
				q++;
		}
		for (; q < cv.end && *q != '\n'; q++) {
			tabs += *q == '\t';
			commas += *q == ',';
		}
		if ((n > 4 && !strcasecmp(c->path + n - 4, ".tsv")) || (tabs && !commas))
			cv.delim = '\t';
	}
	while ((k = next_record(&cv, &r, &err)) != 0) {
		if (k < 0) {
			ioc_problem(c, r.line, NULL, HN_IOC_INVALID, "%s", err);
			continue;
		}
		if (first) {
			first = false;
			if (read_header(&r, &L)) {
				if (has_values(&L))
					continue;
				ioc_problem(c, r.line, NULL, HN_IOC_INVALID,
					    "a header row without a value column (value, "
					    "indicator, or a type such as sha256)");
				break;
			}
			comment_header(&cv, &L);
		}
		if (L.header)
			row_header(c, &L, &r, &desc);
		else
			row_plain(c, &r);
	}
	hn_strbuf_release(&r.b);
	hn_strbuf_release(&desc);
}
