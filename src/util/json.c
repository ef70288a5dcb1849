/*
 * json.c - JSON writer (see json.h).
 *
 * The builder keeps one struct hn_json_level per open container.  A level
 * opened with _opt is "not shown" until its first member: writing a member
 * first shows every not-yet-shown level from the outside in (show_levels),
 * each with its comma and key in its parent, then writes the member.  A
 * close of a level that was never shown writes nothing.
 *
 * The UTF-8 check follows Unicode 15 table 3-7 (well-formed byte sequences):
 * the lead byte fixes the length and the allowed range of the second byte
 * (which excludes overlongs, surrogates and > U+10FFFF); the other
 * continuation bytes are 80..BF.
 */
#include "util/json.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static const char hex[] = "0123456789abcdef";

/* Length of the well-formed sequence at s[0..n), or 0 with *bad set to the
 * length of its maximal ill-formed subpart (>= 1). */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else {
		*bad = 1;
		return 0;
	}
	if (c == 0xe0)
		lo = 0xa0;        /* overlong */
	else if (c == 0xed)
		hi = 0x9f;        /* surrogates */
	else if (c == 0xf0)
		lo = 0x90;        /* overlong */
	else if (c == 0xf4)
		hi = 0x8f;        /* > U+10FFFF */
	for (i = 1; i < len; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

void hn_json_str(struct hn_strbuf *b, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;   /* s[run..i) is copied as it is */

	hn_strbuf_addc(b, '"');
	while (i < n) {
		unsigned char c = s[i];
		const char *esc = NULL;
		char u[7];
		size_t len, bad = 0;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			i++;
			continue;
		}
		if (c >= 0x80) {
			len = utf8_seq(s + i, n - i, &bad);
			/* U+2028 / U+2029: valid JSON, but not valid JavaScript */
			if (len == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
			    (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
				esc = s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
			else if (len) {
				i += len;
				continue;
			} else
				esc = "\xef\xbf\xbd";  /* U+FFFD */
		} else {
			len = 1;
			switch (c) {
			case '"': esc = "\\\""; break;
			case '\\': esc = "\\\\"; break;
			case '\b': esc = "\\b"; break;
			case '\f': esc = "\\f"; break;
			case '\n': esc = "\\n"; break;
			case '\r': esc = "\\r"; break;
			case '\t': esc = "\\t"; break;
			default:
				u[0] = '\\';
				u[1] = 'u';
				u[2] = '0';
				u[3] = '0';
				u[4] = hex[c >> 4];
				u[5] = hex[c & 0xf];
				u[6] = '\0';
				esc = u;
			}
		}
		hn_strbuf_add(b, s + run, i - run);
		hn_strbuf_adds(b, esc);
		i += len ? len : bad;
		run = i;
	}
	hn_strbuf_add(b, s + run, i - run);
	hn_strbuf_addc(b, '"');
}

/* ---- builder ---- */

void hn_json_begin(struct hn_json *j, struct hn_strbuf *b)
{
	memset(j, 0, sizeof(*j));
	j->b = b;
}

int hn_json_end(const struct hn_json *j)
{
	if (j->b->oom)
		return -ENOMEM;
	if (j->bad || j->depth != 0 || !j->top_done)
		return -EINVAL;
	return 0;
}

/* Write the separator and key of a new value whose parent is level p
 * (-1: top level).  false on misuse. */
static bool place(struct hn_json *j, int p, const char *key)
{
	struct hn_json_level *l;

	if (p < 0) {
		if (key || j->top_done)
			return false;
		j->top_done = true;
		return true;
	}
	l = &j->lv[p];
	if (l->arr != !key)
		return false;
	if (!l->first)
		hn_strbuf_addc(j->b, ',');
	l->first = false;
	if (key) {
		hn_json_str(j->b, key, strlen(key));
		hn_strbuf_addc(j->b, ':');
	}
	return true;
}

/* Show every pending (_opt) level, outermost first.  false on misuse. */
static bool show_levels(struct hn_json *j)
{
	for (int i = 0; i < j->depth; i++) {
		struct hn_json_level *l = &j->lv[i];
		if (l->shown)
			continue;
		if (!place(j, i - 1, l->key)) {
			j->bad = true;
			return false;
		}
		hn_strbuf_addc(j->b, l->arr ? '[' : '{');
		l->shown = true;
	}
	return true;
}

/* Start a member: show pending levels, then its comma and key. */
static bool member(struct hn_json *j, const char *key)
{
	if (j->bad || !show_levels(j))
		return false;
	if (!place(j, j->depth - 1, key)) {
		j->bad = true;
		return false;
	}
	return true;
}

static void open_level(struct hn_json *j, const char *key, bool arr, bool opt)
{
	struct hn_json_level *l;

	if (j->bad)
		return;
	if (j->depth >= HN_JSON_MAX_DEPTH) {
		j->bad = true;
		return;
	}
	/* Check the key against the parent now, even for a pending level. */
	if (j->depth == 0 ? key != NULL : j->lv[j->depth - 1].arr != !key) {
		j->bad = true;
		return;
	}
	if (!opt && !member(j, key))
		return;
	l = &j->lv[j->depth++];
	l->key = key;
	l->arr = arr;
	l->shown = !opt;
	l->first = true;
	if (!opt)
		hn_strbuf_addc(j->b, arr ? '[' : '{');
}

static void close_level(struct hn_json *j, bool arr)
{
	struct hn_json_level *l;

	if (j->bad)
		return;
	if (j->depth == 0 || j->lv[j->depth - 1].arr != arr) {
		j->bad = true;
		return;
	}
	l = &j->lv[--j->depth];
	if (l->shown)
		hn_strbuf_addc(j->b, arr ? ']' : '}');
}

void hn_json_obj_open(struct hn_json *j, const char *key)
{
	open_level(j, key, false, false);
}

void hn_json_arr_open(struct hn_json *j, const char *key)
{
	open_level(j, key, true, false);
}

void hn_json_obj_open_opt(struct hn_json *j, const char *key)
{
	open_level(j, key, false, true);
}

void hn_json_arr_open_opt(struct hn_json *j, const char *key)
{
	open_level(j, key, true, true);
}

void hn_json_obj_close(struct hn_json *j)
{
	close_level(j, false);
}

void hn_json_arr_close(struct hn_json *j)
{
	close_level(j, true);
}

void hn_json_kv_strn(struct hn_json *j, const char *key, const char *s, size_t n)
{
	if (!member(j, key))
		return;
	if (s)
		hn_json_str(j->b, s, n);
	else
		hn_strbuf_adds(j->b, "null");
}

void hn_json_kv_str(struct hn_json *j, const char *key, const char *s)
{
	hn_json_kv_strn(j, key, s, s ? strlen(s) : 0);
}

void hn_json_kv_u64(struct hn_json *j, const char *key, uint64_t v)
{
	if (member(j, key))
		hn_strbuf_addf(j->b, "%" PRIu64, v);
}

void hn_json_kv_i64(struct hn_json *j, const char *key, int64_t v)
{
	if (member(j, key))
		hn_strbuf_addf(j->b, "%" PRId64, v);
}

void hn_json_kv_bool(struct hn_json *j, const char *key, bool v)
{
	if (member(j, key))
		hn_strbuf_adds(j->b, v ? "true" : "false");
}

void hn_json_kv_null(struct hn_json *j, const char *key)
{
	if (member(j, key))
		hn_strbuf_adds(j->b, "null");
}

void hn_json_arr_str(struct hn_json *j, const char *s, size_t n)
{
	hn_json_kv_strn(j, NULL, s, n);
}

void hn_json_arr_u64(struct hn_json *j, uint64_t v)
{
	hn_json_kv_u64(j, NULL, v);
}

/* Is s one JSON object or array as far as structure goes: brackets
 * balanced and matched outside strings, strings closed, no raw control
 * characters in them, nothing after the value? */
static bool shape_ok(const char *s)
{
	char stack[HN_JSON_MAX_DEPTH * 4];
	int depth = 0;
	bool in_str = false, esc = false, done = false;

	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	if (*s != '{' && *s != '[')
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			else if (c < 0x20)
				return false;
			continue;
		}
		if (done) {
			if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
				return false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			if (depth == (int)sizeof(stack))
				return false;
			stack[depth++] = c == '{' ? '}' : ']';
		} else if (c == '}' || c == ']') {
			if (!depth || stack[--depth] != c)
				return false;
			done = depth == 0;
		}
	}
	return done && !in_str;
}

void hn_json_kv_raw(struct hn_json *j, const char *key, const char *json)
{
	if (!json || !shape_ok(json)) {
		hn_json_kv_str(j, key, json);
		return;
	}
	if (member(j, key))
		hn_strbuf_adds(j->b, json);
}
