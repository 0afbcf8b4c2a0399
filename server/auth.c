/*
 * auth.c: token generation, hashing and constant-time verification (see auth.h).
 * Hashing is common/sha256.h's (Mbed TLS, already linked for TLS).
 */
#include "auth.h"

#include "common/rand.h"
#include "common/sha256.h"

#include <mbedtls/constant_time.h>
#include <string.h>

_Static_assert(AUTH_HASH_LEN == SHA256_LEN, "a token's hash is its SHA-256");

int auth_hash(const char *secret, size_t len, uint8_t hash[AUTH_HASH_LEN])
{
    return sha256_of(secret, len, hash);
}

int auth_new_id(char prefix, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[6];
    int rc;

    if (cap < 2 + 2 * sizeof(raw) + 1)
        return GS_E_INVALID;
    rc = rand_bytes(raw, sizeof(raw));
    if (rc)
        return rc;
    out[0] = prefix;
    out[1] = '-';
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 + 2 * i] = hex[raw[i] >> 4];
        out[3 + 2 * i] = hex[raw[i] & 0xF];
    }
    out[2 + 2 * sizeof(raw)] = '\0';
    return GS_OK;
}

/* base64url without padding (RFC 4648 section 5). */
static size_t b64url(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
    }
    return o;
}

int auth_new_token(const char *id, char *token, size_t cap, uint8_t hash[AUTH_HASH_LEN])
{
    uint8_t raw[AUTH_SECRET_BYTES];
    char secret[(AUTH_SECRET_BYTES * 4 + 2) / 3 + 1];
    size_t idlen = strlen(id), slen;
    int rc;

    if (idlen == 0 || idlen > GS_LIMIT_NAME || memchr(id, '.', idlen))
        return GS_E_INVALID;
    rc = rand_bytes(raw, sizeof(raw));
    if (rc)
        return rc;
    slen = b64url(raw, sizeof(raw), secret);
    memset(raw, 0, sizeof(raw));
    if (idlen + 1 + slen + 1 > cap) {
        rc = GS_E_TOO_LARGE;
        goto out;
    }
    rc = auth_hash(secret, slen, hash);
    if (rc)
        goto out;
    memcpy(token, id, idlen);
    token[idlen] = '.';
    memcpy(token + idlen + 1, secret, slen);
    token[idlen + 1 + slen] = '\0';
out:
    memset(secret, 0, sizeof(secret));
    return rc;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int auth_parse_bearer(const char *header, size_t len, const char **id, size_t *id_len,
                      const char **secret, size_t *secret_len)
{
    static const char scheme[] = "bearer";
    size_t i = 0, start, dot;

    if (!header || len < sizeof(scheme))
        return GS_E_AUTH;
    for (; i < sizeof(scheme) - 1; i++)
        if (lower((unsigned char)header[i]) != scheme[i])
            return GS_E_AUTH;
    if (header[i] != ' ' && header[i] != '\t')
        return GS_E_AUTH;
    while (i < len && (header[i] == ' ' || header[i] == '\t'))
        i++;
    while (len > i && (header[len - 1] == ' ' || header[len - 1] == '\t'))
        len--;
    start = i;
    for (dot = start; dot < len && header[dot] != '.'; dot++)
        ;
    if (dot == start || dot >= len - 1 || dot - start > GS_LIMIT_NAME ||
        len - start > AUTH_TOKEN_MAX)
        return GS_E_AUTH;
    for (size_t k = start; k < len; k++) {
        unsigned char c = (unsigned char)header[k];
        if (c <= ' ' || c >= 0x7F)
            return GS_E_AUTH;
    }
    *id = header + start;
    *id_len = dot - start;
    *secret = header + dot + 1;
    *secret_len = len - dot - 1;
    return GS_OK;
}

int auth_verify(const uint8_t *stored, const char *secret, size_t secret_len)
{
    /* compared against when the id is unknown, so that costs as much as a wrong secret */
    static const uint8_t dummy[AUTH_HASH_LEN] = {0x5a};
    uint8_t h[AUTH_HASH_LEN];
    int same;

    if (auth_hash(secret, secret_len, h))
        return 0;
    same = mbedtls_ct_memcmp(stored ? stored : dummy, h, AUTH_HASH_LEN) == 0;
    return same && stored != NULL;
}
