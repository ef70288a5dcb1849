/*
 * strbuf.h - a growable byte buffer (git's strbuf, reduced).
 *
 * Invariants: buf is NULL until the first byte is added, and from then on
 * always NUL-terminated at buf[len] (len excludes the NUL; the buffer may hold
 * NUL bytes of its own).  cap is the allocated size.
 *
 * Errors: an append that cannot allocate (or whose size overflows) sets oom
 * and from then on every append is dropped, so the contents are never a
 * buffer with a hole in it.  Callers append freely and check oom once at the
 * end.  hn_strbuf_reset() clears oom.
 */
#ifndef HINOMI_UTIL_STRBUF_H
#define HINOMI_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct hn_strbuf {
	char *buf;
	size_t len, cap;
	bool oom;
};

/* Embed: an empty buffer that owns nothing. */
void hn_strbuf_init(struct hn_strbuf *b);
/* Free the memory and leave b as after init. NULL is fine. */
void hn_strbuf_release(struct hn_strbuf *b);
/* len = 0, oom = false; the memory is kept for reuse. */
void hn_strbuf_reset(struct hn_strbuf *b);

/* Append n bytes (which may include NULs). */
void hn_strbuf_add(struct hn_strbuf *b, const void *p, size_t n);
void hn_strbuf_addc(struct hn_strbuf *b, char c);
/* Append a NUL-terminated string (NULL appends nothing). */
void hn_strbuf_adds(struct hn_strbuf *b, const char *s);
/* Append printf-formatted text; a formatting error sets oom too. */
void hn_strbuf_addf(struct hn_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
