/*
 * hex.h - bytes as lowercase hex, and the SHA-256 of a buffer as hex
 * (OpenSSL EVP): what digests, entity ids and vault keys are written as.
 */
#ifndef HINOMI_UTIL_HEX_H
#define HINOMI_UTIL_HEX_H

#include <stddef.h>

/* n bytes of p as 2n hex digits and a NUL into out (2n + 1 bytes). */
void hn_hex(const unsigned char *p, size_t n, char *out);
/* The SHA-256 of p[0..n) as 64 hex digits into out; "" if OpenSSL fails. */
void hn_sha256_hex(const void *p, size_t n, char out[65]);

#endif
