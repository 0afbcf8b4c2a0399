/*
 * auth.h: bearer tokens for devices and admins.
 *
 * A token is "<id>.<secret>": the id names the device ("d-...") or admin ("a-...") and is
 * not secret; the secret is 32 bytes from the OS CSPRNG in base64url (43 characters). The
 * server keeps only SHA-256(secret) and compares hashes in constant time
 * (mbedtls_ct_memcmp), so neither a stolen database nor response timing gives a token away.
 * An unknown id is compared against a dummy hash, so it costs the same as a wrong secret.
 */
#ifndef GS_SERVER_AUTH_H
#define GS_SERVER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/rc.h"

#define AUTH_HASH_LEN 32     /* SHA-256 */
#define AUTH_SECRET_BYTES 32 /* random bytes in a secret */
#define AUTH_TOKEN_MAX 128   /* bytes of a whole token, without the NUL */
#define AUTH_DEVICE_PREFIX 'd'
#define AUTH_ADMIN_PREFIX 'a'

/* A new id "<prefix>-<12 hex digits>" into out (cap >= 16). */
int auth_new_id(char prefix, char *out, size_t cap);

/* A new token "<id>.<secret>" into token (cap > strlen(id) + 44) and the hash of its secret. */
int auth_new_token(const char *id, char *token, size_t cap, uint8_t hash[AUTH_HASH_LEN]);

/* SHA-256 of secret[0..len). */
int auth_hash(const char *secret, size_t len, uint8_t hash[AUTH_HASH_LEN]);

/* Splits an Authorization header value "Bearer <id>.<secret>" (scheme case-insensitive).
 * GS_E_AUTH when it is absent or not of that shape; slices point into header. */
int auth_parse_bearer(const char *header, size_t len, const char **id, size_t *id_len,
                      const char **secret, size_t *secret_len);

/* 1 when SHA-256(secret) equals stored, compared in constant time; stored NULL (unknown id)
 * compares against a dummy and returns 0. */
int auth_verify(const uint8_t *stored, const char *secret, size_t secret_len);

#endif
