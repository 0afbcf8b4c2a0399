/*
 * sha256.h: SHA-256 of a byte range (Mbed TLS), and its lower-case hex form: the content
 * address of attachments (issue 19) on the device and on the server. The 2.28/3.x rename
 * (mbedtls_sha256_ret lost its _ret in 3.0) is handled here once.
 */
#ifndef GS_COMMON_SHA256_H
#define GS_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64 /* without the NUL */

/* out = SHA-256(p[0..n)). GS_E_CRYPTO if Mbed TLS fails (it does not, for valid input). */
int sha256_of(const void *p, size_t n, uint8_t out[SHA256_LEN]);
void sha256_hex(const uint8_t sum[SHA256_LEN], char out[SHA256_HEX_LEN + 1]);
/* Parses 64 hex digits (either case); GS_E_INVALID otherwise. */
int sha256_parse_hex(const char *hex, size_t len, uint8_t out[SHA256_LEN]);

#endif
