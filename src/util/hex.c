/*
 * hex.c - hex text of bytes and of a buffer's SHA-256 (hex.h).
 */
#include "util/hex.h"

#include <openssl/evp.h>

void hn_hex(const unsigned char *p, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void hn_sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char dg[32];
	unsigned dn = 0;

	out[0] = '\0';
	if (EVP_Digest(p, n, dg, &dn, EVP_sha256(), NULL) == 1 && dn == 32)
		hn_hex(dg, 32, out);
}
