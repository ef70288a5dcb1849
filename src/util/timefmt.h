/*
 * timefmt.h - reading RFC 3339 timestamps.
 */
#ifndef HINOMI_UTIL_TIMEFMT_H
#define HINOMI_UTIL_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/* "2026-11-27T10:00:00.123456789+01:00" (or "Z", or a space for the "T";
 * up to 9 fraction digits kept) at the start of p (n bytes): *ns since
 * the epoch and the length read, or 0 when it is not one. */
size_t hn_rfc3339_parse(const char *p, size_t n, uint64_t *ns);

/* The n decimal digits at p as a number, or -1 when one is not a digit. */
int hn_digits(const char *p, int n);

#endif
