/*
 * test_srv_auth.c: device and admin tokens (server/auth.c): the shape of ids and tokens,
 * SHA-256 against a known vector, verification of right and wrong secrets, parsing of the
 * Authorization header, that every comparison goes through mbedtls_ct_memcmp (interposed
 * here to count calls), and that a revoked device is refused by the sync endpoint.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/proto.h"
#include "server/app.h"
#include "server/auth.h"
#include "server/store.h"
#include "tests/lib/tdir.h"

/* Counts calls to mbedTLS's constant-time compare, then does the real one. The definition
 * in the executable takes precedence over libmbedcrypto's for every caller. */
static long ct_calls;

int mbedtls_ct_memcmp(const void *a, const void *b, size_t n);
int mbedtls_ct_memcmp(const void *a, const void *b, size_t n)
{
    typedef int cmp_fn(const void *, const void *, size_t);
    cmp_fn *real = (cmp_fn *)(uintptr_t)dlsym(RTLD_NEXT, "mbedtls_ct_memcmp");
    ct_calls++;
    if (real)
        return real(a, b, n);
    /* no shared libmbedcrypto (a static build): the same constant-time loop */
    {
        const unsigned char *x = a, *y = b;
        unsigned char diff = 0;
        for (size_t i = 0; i < n; i++)
            diff |= (unsigned char)(x[i] ^ y[i]);
        return diff;
    }
}

static void test_ids_and_tokens_have_their_shape(void **state)
{
    char id[GS_LIMIT_NAME + 1], id2[GS_LIMIT_NAME + 1], token[AUTH_TOKEN_MAX + 1],
        token2[AUTH_TOKEN_MAX + 1];
    uint8_t hash[AUTH_HASH_LEN], h2[AUTH_HASH_LEN];
    const char *secret;
    (void)state;

    assert_int_equal(auth_new_id(AUTH_DEVICE_PREFIX, id, sizeof(id)), GS_OK);
    assert_int_equal(strlen(id), 14);
    assert_int_equal(strncmp(id, "d-", 2), 0);
    assert_int_equal(strspn(id + 2, "0123456789abcdef"), 12);
    assert_int_equal(auth_new_id(AUTH_ADMIN_PREFIX, id2, sizeof(id2)), GS_OK);
    assert_int_equal(id2[0], 'a');
    assert_string_not_equal(id + 2, id2 + 2);
    assert_int_equal(auth_new_id('d', id2, 10), GS_E_INVALID); /* too small */

    assert_int_equal(auth_new_token(id, token, sizeof(token), hash), GS_OK);
    assert_int_equal(strncmp(token, id, strlen(id)), 0);
    assert_int_equal(token[strlen(id)], '.');
    secret = token + strlen(id) + 1;
    assert_int_equal(strlen(secret), 43); /* 32 bytes of base64url without padding */
    assert_int_equal(strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789-_"),
                     43);
    assert_int_equal(auth_hash(secret, strlen(secret), h2), GS_OK);
    assert_memory_equal(hash, h2, AUTH_HASH_LEN); /* the hash is of the secret */
    assert_int_equal(auth_new_token(id, token2, sizeof(token2), h2), GS_OK);
    assert_string_not_equal(token, token2);
    assert_memory_not_equal(hash, h2, AUTH_HASH_LEN);
    assert_int_equal(auth_new_token("bad.id", token2, sizeof(token2), h2), GS_E_INVALID);
    assert_int_equal(auth_new_token(id, token2, 20, h2), GS_E_TOO_LARGE);
}

static void test_sha256_known_vector(void **state)
{
    /* FIPS 180-2 example: SHA-256("abc") */
    static const uint8_t want[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                     0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                     0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                     0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t h[32];
    (void)state;
    assert_int_equal(auth_hash("abc", 3, h), GS_OK);
    assert_memory_equal(h, want, 32);
}

static void test_verify_uses_constant_time_compare(void **state)
{
    char id[GS_LIMIT_NAME + 1], token[AUTH_TOKEN_MAX + 1], wrong[AUTH_TOKEN_MAX + 1];
    uint8_t hash[AUTH_HASH_LEN];
    const char *secret;
    size_t slen;
    long before;
    (void)state;

    assert_int_equal(auth_new_id('d', id, sizeof(id)), GS_OK);
    assert_int_equal(auth_new_token(id, token, sizeof(token), hash), GS_OK);
    secret = token + strlen(id) + 1;
    slen = strlen(secret);
    memcpy(wrong, secret, slen + 1);
    wrong[0] ^= 1;
    before = ct_calls;
    assert_true(auth_verify(hash, secret, slen));
    assert_false(auth_verify(hash, wrong, slen));
    assert_false(auth_verify(hash, secret, slen - 1));
    assert_false(auth_verify(hash, "", 0));
    assert_false(auth_verify(NULL, secret, slen)); /* unknown id: a dummy compare */
    assert_int_equal(ct_calls - before, 5);        /* every path compared in constant time */
}

static void test_parse_bearer(void **state)
{
    static const struct {
        const char *header; /* Authorization value */
        const char *id;     /* NULL: refused */
        const char *secret; /* expected secret */
    } cases[] = {
        {"Bearer d-1.abc", "d-1", "abc"},
        {"bearer   d-1.abc  ", "d-1", "abc"},
        {"BEARER\td-1.a.b", "d-1", "a.b"},
        {"", NULL, NULL},
        {"Bearer", NULL, NULL},
        {"Bearer ", NULL, NULL},
        {"Basic d-1.abc", NULL, NULL},
        {"Bearerd-1.abc", NULL, NULL},
        {"Bearer .abc", NULL, NULL},
        {"Bearer d-1.", NULL, NULL},
        {"Bearer d-1abc", NULL, NULL},
        {"Bearer d-1.a bc", NULL, NULL},
        {"Bearer d-1.a\x01"
         "bc",
         NULL, NULL},
        {"Bearer d-1.a\xc3\xa9", NULL, NULL},
        {"Bearer 0123456789012345678901234567890123456789012345678901234567890123456789.x", NULL,
         NULL},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *id = NULL, *secret = NULL;
        size_t il = 0, sl = 0;
        int rc =
            auth_parse_bearer(cases[i].header, strlen(cases[i].header), &id, &il, &secret, &sl);
        if (!cases[i].id) {
            if (rc != GS_E_AUTH)
                fail_msg("'%s' was accepted", cases[i].header);
            continue;
        }
        if (rc != GS_OK)
            fail_msg("'%s' was refused", cases[i].header);
        assert_int_equal(il, strlen(cases[i].id));
        assert_memory_equal(id, cases[i].id, il);
        assert_int_equal(sl, strlen(cases[i].secret));
        assert_memory_equal(secret, cases[i].secret, sl);
    }
    assert_int_equal(auth_parse_bearer(NULL, 0, NULL, NULL, NULL, NULL), GS_E_AUTH);
}

/* Through the app: a device's token works until it is revoked; the admin token is stored
 * only as a hash. */
static void test_revoked_device_is_refused(void **state)
{
    char dir[TDIR_MAX], token[128], auth[200];
    char dtoken[200], dauth[240], dev_id[65], path[128];
    srv_config cfg;
    srv_metrics metrics;
    gs_logger lg;
    srv_app *app;
    gs_err err;
    gs_buf body;
    proto_sync_req q;
    int statuses[3];
    (void)state;

    assert_int_equal(tdir_make(dir, "auth"), 0);
    config_defaults(&cfg);
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s/s.db", dir);
    assert_int_equal(app_init_store(cfg.db_path, token, sizeof(token), &err), GS_OK);
    assert_int_equal(strncmp(token, "a-", 2), 0);
    memset(&metrics, 0, sizeof(metrics));
    log_init(&lg, "test", GS_LOG_OFF);
    assert_int_equal(app_open(&app, &cfg, &metrics, &lg, &err), GS_OK);
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    for (int step = 0; step < 4; step++) {
        srv_request req;
        srv_response resp;
        memset(&req, 0, sizeof(req));
        memset(&resp, 0, sizeof(resp));
        buf_init(&resp.body, 1 << 20);
        req.method.ptr = "POST";
        req.method.len = 4;
        if (step == 0) {
            static const char js[] = "{\"grids\":[\"g1\"]}";
            req.path.ptr = "/v1/admin/devices";
            req.path.len = strlen(req.path.ptr);
            req.content_type.ptr = "application/json";
            req.content_type.len = 16;
            req.body = (const uint8_t *)js;
            req.body_len = strlen(js);
            req.authorization.ptr = auth;
            req.authorization.len = strlen(auth);
            app_handle(app, &req, &resp);
            assert_int_equal(resp.status, 201);
            /* the token is the one member we need; the id is the part before the dot */
            {
                const char *t = strstr(resp.body.ptr, "\"token\":\"");
                size_t n;
                assert_non_null(t);
                t += 9;
                n = strcspn(t, "\"");
                snprintf(dtoken, sizeof(dtoken), "%.*s", (int)n, t);
                snprintf(dev_id, sizeof(dev_id), "%.*s", (int)strcspn(dtoken, "."), dtoken);
                snprintf(dauth, sizeof(dauth), "Bearer %s", dtoken);
            }
        } else if (step == 2) {
            snprintf(path, sizeof(path), "/v1/admin/devices/%s/revoke", dev_id);
            req.path.ptr = path;
            req.path.len = strlen(path);
            req.authorization.ptr = auth;
            req.authorization.len = strlen(auth);
            app_handle(app, &req, &resp);
            assert_int_equal(resp.status, 200);
        } else {
            memset(&q, 0, sizeof(q));
            q.version = PROTO_VERSION;
            q.device = proto_cstr(dev_id);
            q.low = 1;
            buf_init(&body, 1 << 20);
            assert_int_equal(proto_encode_sync_req(&body, &q), GS_OK);
            req.path.ptr = PROTO_SYNC_PATH;
            req.path.len = strlen(PROTO_SYNC_PATH);
            req.content_type.ptr = PROTO_CONTENT_TYPE;
            req.content_type.len = strlen(PROTO_CONTENT_TYPE);
            req.authorization.ptr = dauth;
            req.authorization.len = strlen(dauth);
            req.body = (const uint8_t *)body.ptr;
            req.body_len = body.len;
            app_handle(app, &req, &resp);
            statuses[step == 1 ? 0 : 1] = resp.status;
            assert_null(strstr(resp.log_note, dtoken + strlen(dev_id) + 1));
            buf_free(&body);
        }
        buf_free(&resp.body);
    }
    assert_int_equal(statuses[0], 200);
    assert_int_equal(statuses[1], 401);
    assert_int_equal(atomic_load(&metrics.auth_failures), 1);
    app_close(app);
    /* the secrets are nowhere in the database file */
    {
        char grep[400];
        snprintf(grep, sizeof(grep), "cat %s/s.db* | grep -c -a -F '%s' >/dev/null", dir,
                 strchr(token, '.') + 1);
        assert_int_not_equal(system(grep), 0);
        snprintf(grep, sizeof(grep), "cat %s/s.db* | grep -c -a -F '%s' >/dev/null", dir,
                 strchr(dtoken, '.') + 1);
        assert_int_not_equal(system(grep), 0);
    }
    assert_int_equal(tdir_remove(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_and_tokens_have_their_shape),
        cmocka_unit_test(test_sha256_known_vector),
        cmocka_unit_test(test_verify_uses_constant_time_compare),
        cmocka_unit_test(test_parse_bearer),
        cmocka_unit_test(test_revoked_device_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
