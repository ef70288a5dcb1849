/*
 * json.h - a small JSON writer over struct hn_strbuf (no parser).
 *
 * hn_json_str() writes one quoted string per RFC 8259.  Its input is bytes,
 * not trusted text: every byte sequence that is not well-formed UTF-8
 * (stray continuation bytes, overlong forms, surrogates, code points above
 * U+10FFFF, truncated sequences) becomes U+FFFD, one per maximal ill-formed
 * subpart (the Unicode / WHATWG rule, as Python's errors="replace"), so the
 * output is always valid UTF-8 JSON.  Control characters, '"' and '\' are
 * escaped; so are U+2028/U+2029, so the text is safe inside JavaScript too.
 *
 * struct hn_json builds nested objects and arrays and places the commas:
 *
 *     struct hn_json j;
 *     hn_json_begin(&j, &buf);
 *     hn_json_obj_open(&j, NULL);            top level: no key
 *       hn_json_kv_str(&j, "a", "x");
 *       hn_json_obj_open_opt(&j, "o");       written only if it gets a member
 *         hn_json_kv_u64(&j, "n", 1);
 *       hn_json_obj_close(&j);
 *       hn_json_arr_open(&j, "l");
 *         hn_json_arr_str(&j, "y", 1);       array elements have no key
 *       hn_json_arr_close(&j);
 *     hn_json_obj_close(&j);
 *     r = hn_json_end(&j);                   0, -ENOMEM or -EINVAL
 *
 * Inside an object every value needs a key; inside an array (and at the top
 * level) the key must be NULL.  Misuse (a key where none belongs, a close
 * without an open, nesting deeper than HN_JSON_MAX_DEPTH) makes the builder
 * stop writing and hn_json_end() return -EINVAL; it never crashes.
 * Keys are escaped like values.  Numbers are written exactly (integers only).
 */
#ifndef HINOMI_UTIL_JSON_H
#define HINOMI_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Append s[0..n) as a quoted JSON string (see above). */
void hn_json_str(struct hn_strbuf *b, const char *s, size_t n);

#define HN_JSON_MAX_DEPTH 16

struct hn_json_level {
	const char *key;   /* _opt containers: the key, until written */
	bool arr;          /* an array, else an object */
	bool shown;        /* the opening ("key":{) has been written */
	bool first;        /* no member written yet */
};

struct hn_json {
	struct hn_strbuf *b;
	int depth;         /* open containers */
	bool bad;          /* misuse seen: nothing more is written */
	bool top_done;     /* the top-level value has been started */
	struct hn_json_level lv[HN_JSON_MAX_DEPTH];
};

/* Start writing one JSON value at the end of b. */
void hn_json_begin(struct hn_json *j, struct hn_strbuf *b);
/* 0 when the value is complete; -ENOMEM if b ran out of memory; -EINVAL on
 * misuse or unclosed containers. */
int hn_json_end(const struct hn_json *j);

void hn_json_obj_open(struct hn_json *j, const char *key);
void hn_json_arr_open(struct hn_json *j, const char *key);
/* Optional containers: nothing at all is written (not even the key) unless
 * a member is added before the close.  key must stay valid until then. */
void hn_json_obj_open_opt(struct hn_json *j, const char *key);
void hn_json_arr_open_opt(struct hn_json *j, const char *key);
void hn_json_obj_close(struct hn_json *j);
void hn_json_arr_close(struct hn_json *j);

/* Members (key NULL for array elements).  A NULL s writes null. */
void hn_json_kv_str(struct hn_json *j, const char *key, const char *s);
void hn_json_kv_strn(struct hn_json *j, const char *key, const char *s, size_t n);
void hn_json_kv_u64(struct hn_json *j, const char *key, uint64_t v);
/* A value that is JSON text already (an object or array rendered before):
 * written as it is when its structure is sound (brackets and strings
 * closed, nothing after it), else as a string holding it. */
void hn_json_kv_raw(struct hn_json *j, const char *key, const char *json);
void hn_json_kv_i64(struct hn_json *j, const char *key, int64_t v);
void hn_json_kv_bool(struct hn_json *j, const char *key, bool v);
void hn_json_kv_null(struct hn_json *j, const char *key);

/* Array elements. */
void hn_json_arr_str(struct hn_json *j, const char *s, size_t n);
void hn_json_arr_u64(struct hn_json *j, uint64_t v);

#endif
