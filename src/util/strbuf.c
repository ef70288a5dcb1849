/*
 * strbuf.c - growable byte buffer (see strbuf.h).
 *
 * Growth doubles the capacity (from 64 bytes) so appends are amortised
 * O(1).  Every size computation is checked for overflow; an overflow is
 * treated as an allocation failure.  Once oom is set nothing is appended.
 */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hn_strbuf_init(struct hn_strbuf *b)
{
	b->buf = NULL;
	b->len = 0;
	b->cap = 0;
	b->oom = false;
}

void hn_strbuf_release(struct hn_strbuf *b)
{
	if (!b)
		return;
	free(b->buf);
	hn_strbuf_init(b);
}

void hn_strbuf_reset(struct hn_strbuf *b)
{
	b->len = 0;
	if (b->buf)
		b->buf[0] = '\0';
	b->oom = false;
}

/* Make room for n more bytes plus the NUL.  false (and oom set) on failure. */
static bool grow(struct hn_strbuf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (b->oom)
		return false;
	if (n > SIZE_MAX - 1 - b->len)
		goto fail;
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->buf, cap);
	if (!p)
		goto fail;
	b->buf = p;
	b->cap = cap;
	return true;
fail:
	b->oom = true;
	return false;
}

void hn_strbuf_add(struct hn_strbuf *b, const void *p, size_t n)
{
	if (!grow(b, n))
		return;
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

void hn_strbuf_addc(struct hn_strbuf *b, char c)
{
	hn_strbuf_add(b, &c, 1);
}

void hn_strbuf_adds(struct hn_strbuf *b, const char *s)
{
	if (s)
		hn_strbuf_add(b, s, strlen(s));
}

void hn_strbuf_addf(struct hn_strbuf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	size_t avail;
	int n;

	if (b->oom)
		return;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	avail = b->buf ? b->cap - b->len : 0;
	n = vsnprintf(avail ? b->buf + b->len : NULL, avail, fmt, ap);
	if (n < 0) {
		b->oom = true;
	} else if ((size_t)n < avail) {
		b->len += (size_t)n;
	} else if (grow(b, (size_t)n)) {
		vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap2);
		b->len += (size_t)n;
	}
	/* A failed attempt may have written a partial tail: cut it off. */
	if (b->buf)
		b->buf[b->len] = '\0';
	va_end(ap2);
	va_end(ap);
}
