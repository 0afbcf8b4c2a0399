/*
 * sha256.c: see sha256.h.
 */
#include "sha256.h"

#include "hex.h"
#include "rc.h"

#include <mbedtls/version.h>
#include <mbedtls/sha256.h>

#if MBEDTLS_VERSION_MAJOR >= 3
#define SHA256_ONESHOT mbedtls_sha256
#else
#define SHA256_ONESHOT mbedtls_sha256_ret
#endif

int sha256_of(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
    return SHA256_ONESHOT(p, n, out, 0) == 0 ? GS_OK : GS_E_CRYPTO;
}

void sha256_hex(const uint8_t sum[SHA256_LEN], char out[SHA256_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";

    for (int i = 0; i < SHA256_LEN; i++) {
        out[2 * i] = digits[sum[i] >> 4];
        out[2 * i + 1] = digits[sum[i] & 15];
    }
    out[SHA256_HEX_LEN] = '\0';
}

int sha256_parse_hex(const char *hex, size_t len, uint8_t out[SHA256_LEN])
{
    uint8_t v[SHA256_LEN];

    if (!hex || len != SHA256_HEX_LEN)
        return GS_E_INVALID;
    for (int i = 0; i < SHA256_LEN; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return GS_E_INVALID;
        v[i] = (uint8_t)(hi << 4 | lo);
    }
    for (int i = 0; i < SHA256_LEN; i++)
        out[i] = v[i];
    return GS_OK;
}
