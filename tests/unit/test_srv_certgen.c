/*
 * test_srv_certgen.c: certificate validity and renewal (server/certgen.c), and when the
 * running server warns about expiry (certwatch_warn_due).
 *
 * Real keys and certificates in a temporary folder; every certificate is parsed back with
 * Mbed TLS and checked against the CA alone, as a device checks it (devices pin the CA, not
 * the server's certificate), so a renewal that a device would refuse fails here.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/x509_crt.h>

#include "server/certgen.h"
#include "server/certwatch.h"
#include "server/compat_mbedtls.h"

#define DAY 86400

typedef struct fixture {
    char dir[64];                            /* temp folder */
    char ca[96], ca_key[96];                 /* the CA */
    char other_ca[96], other_ca_key[96];     /* a CA the devices do not trust */
    char cert[96], key[96];                  /* the server's pair */
} fixture;

static const char *const names[] = {"town.example", "localhost", "127.0.0.1", "::1"};
static const char crl_url[] = "https://town.example:8443/ca.crl";

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    gs_err err;
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/gs_certgen_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
    snprintf(f->ca_key, sizeof(f->ca_key), "%s/ca.key", f->dir);
    snprintf(f->other_ca, sizeof(f->other_ca), "%s/other.pem", f->dir);
    snprintf(f->other_ca_key, sizeof(f->other_ca_key), "%s/other.key", f->dir);
    snprintf(f->cert, sizeof(f->cert), "%s/server.pem", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/server.key", f->dir);
    if (certgen_make_ca(f->ca, f->ca_key, "certgen test CA", &err) != GS_OK ||
        certgen_make_ca(f->other_ca, f->other_ca_key, "another CA", &err) != GS_OK ||
        certgen_make_server_crl(f->ca, f->ca_key, f->cert, f->key, names, 4, crl_url, &err) !=
            GS_OK) {
        fprintf(stderr, "certgen: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* 0 if the certificate in path verifies against the CA in ca for host name cn (NULL: any),
 * else Mbed TLS's flags. */
static uint32_t verify(const char *ca, const char *path, const char *cn)
{
    mbedtls_x509_crt trust, crt;
    uint32_t flags = 0;
    mbedtls_x509_crt_init(&trust);
    mbedtls_x509_crt_init(&crt);
    assert_int_equal(mbedtls_x509_crt_parse_file(&trust, ca), 0);
    assert_int_equal(mbedtls_x509_crt_parse_file(&crt, path), 0);
    if (mbedtls_x509_crt_verify(&crt, &trust, NULL, cn, &flags, NULL, NULL) != 0 && !flags)
        flags = 0x80000000u;
    mbedtls_x509_crt_free(&crt);
    mbedtls_x509_crt_free(&trust);
    return flags;
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *s = calloc(1, 8192);
    assert_non_null(fp);
    assert_non_null(s);
    assert_true(fread(s, 1, 8191, fp) > 0);
    fclose(fp);
    return s;
}

static void test_unix_time(void **state)
{
    static const struct {
        mbedtls_x509_time t;
        int64_t want;
    } cases[] = {
        {{1970, 1, 1, 0, 0, 0}, 0},
        {{2000, 2, 29, 12, 34, 56}, 951827696},
        {{2038, 1, 19, 3, 14, 8}, 2147483648LL},
        {{2100, 3, 1, 0, 0, 0}, 4107542400LL},
        {{1969, 12, 31, 23, 59, 59}, -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t got = certgen_unix_time(&cases[i].t);
        if (got != cases[i].want)
            fail_msg("case %zu: %04d-%02d-%02d gave %lld, want %lld", i, cases[i].t.year,
                     cases[i].t.mon, cases[i].t.day, (long long)got, (long long)cases[i].want);
    }
}

/* The CA lives 10 years; a server certificate 397 days from now, from a day back. */
static void test_validity(void **state)
{
    fixture *f = *state;
    certgen_info ca, srv;
    gs_err err;
    int64_t now = (int64_t)time(NULL);

    assert_int_equal(certgen_read_info(f->ca, &ca, &err), GS_OK);
    assert_int_equal(certgen_read_info(f->cert, &srv, &err), GS_OK);
    assert_true(ca.not_after - now > (int64_t)(CERTGEN_CA_YEARS * 365 + 1) * DAY);
    assert_true(ca.not_after - now < (int64_t)(CERTGEN_CA_YEARS * 366 + 1) * DAY);
    if (llabs((long long)(srv.not_after - (now + (int64_t)CERTGEN_SERVER_DAYS * DAY))) > 120)
        fail_msg("server notAfter is %lld s from now, want %d days", (long long)(srv.not_after - now),
                 CERTGEN_SERVER_DAYS);
    assert_true(llabs((long long)(srv.not_before - (now - DAY))) <= 120);
    assert_int_equal(CERTGEN_SERVER_DAYS, 397);
    /* what renew reads back: every name in order, IP entries included, and the CRL URL */
    assert_int_equal(srv.n_names, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(srv.names[i], names[i]);
    assert_string_equal(srv.crl_url, crl_url);
    assert_int_equal(strlen(srv.serial), 32); /* 16 bytes, the first 0x40..0x7f */
    assert_int_equal(verify(f->ca, f->cert, "town.example"), 0);
    assert_int_not_equal(verify(f->other_ca, f->cert, NULL), 0);
}

static void test_renew(void **state)
{
    fixture *f = *state;
    certgen_info before, after, reread;
    char tmp[128];
    struct stat st;
    char *old_key = slurp(f->key), *new_key;
    gs_err err;
    int64_t now = (int64_t)time(NULL);
    int rc;

    assert_int_equal(certgen_read_info(f->cert, &before, &err), GS_OK);
    rc = certgen_renew(f->ca, f->ca_key, f->cert, f->key, &after, &err);
    if (rc)
        fail_msg("renew: %s", err.msg);
    assert_int_equal(certgen_read_info(f->cert, &reread, &err), GS_OK);
    /* a new certificate: new serial, new key, 397 days from now */
    assert_string_not_equal(after.serial, before.serial);
    assert_string_equal(reread.serial, after.serial);
    assert_true(llabs((long long)(after.not_after - (now + (int64_t)CERTGEN_SERVER_DAYS * DAY))) <=
                120);
    new_key = slurp(f->key);
    assert_string_not_equal(new_key, old_key);
    /* the same names and CRL URL */
    assert_int_equal(after.n_names, before.n_names);
    for (size_t i = 0; i < before.n_names; i++)
        assert_string_equal(after.names[i], before.names[i]);
    assert_string_equal(after.crl_url, before.crl_url);
    /* devices that pinned the CA trust it for each DNS name, a stranger's CA does not */
    assert_int_equal(verify(f->ca, f->cert, "town.example"), 0);
    assert_int_equal(verify(f->ca, f->cert, "localhost"), 0);
    assert_int_not_equal(verify(f->ca, f->cert, "elsewhere.example"), 0);
    assert_int_not_equal(verify(f->other_ca, f->cert, NULL), 0);
    /* modes as init made them, and no tmp file left */
    assert_int_equal(stat(f->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(f->cert, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    snprintf(tmp, sizeof(tmp), "%s.renew-tmp", f->cert);
    assert_int_not_equal(access(tmp, F_OK), 0);
    snprintf(tmp, sizeof(tmp), "%s.renew-tmp", f->key);
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(old_key);
    free(new_key);
}

/* The new key belongs to the new certificate (the server's tls_open checks the same). */
static void test_renew_pair_matches(void **state)
{
    fixture *f = *state;
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    gs_err err;

    assert_int_equal(certgen_renew(f->ca, f->ca_key, f->cert, f->key, NULL, &err), GS_OK);
    mbedtls_x509_crt_init(&crt);
    mbedtls_pk_init(&key);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0), 0);
    assert_int_equal(mbedtls_x509_crt_parse_file(&crt, f->cert), 0);
    assert_int_equal(COMPAT_PK_PARSE_KEYFILE(&key, f->key, mbedtls_ctr_drbg_random, &drbg), 0);
    assert_int_equal(COMPAT_PK_CHECK_PAIR(&crt.pk, &key, mbedtls_ctr_drbg_random, &drbg), 0);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&crt);
}

/* Refusals leave the old pair byte for byte, and no tmp file. */
static void test_renew_refuses(void **state)
{
    fixture *f = *state;
    char missing[128], tmp[128], stale[128];
    char *cert = slurp(f->cert), *key = slurp(f->key), *now_cert, *now_key;
    gs_err err;
    FILE *fp;
    int rc;

    snprintf(missing, sizeof(missing), "%s/nope.key", f->dir);
    /* a CA key that is not the CA's */
    rc = certgen_renew(f->ca, f->other_ca_key, f->cert, f->key, NULL, &err);
    assert_int_equal(rc, GS_E_CRYPTO);
    assert_non_null(strstr(err.msg, "is not the key of"));
    /* no CA key */
    rc = certgen_renew(f->ca, missing, f->cert, f->key, NULL, &err);
    assert_int_not_equal(rc, GS_OK);
    assert_non_null(strstr(err.msg, "nope.key"));
    /* a current certificate that is not one */
    rc = certgen_renew(f->ca, f->ca_key, f->key, f->key, NULL, &err);
    assert_int_not_equal(rc, GS_OK);
    /* a stale tmp file from a killed renew does not block the next one... */
    snprintf(stale, sizeof(stale), "%s.renew-tmp", f->key);
    fp = fopen(stale, "w");
    assert_non_null(fp);
    fputs("half a key", fp);
    fclose(fp);
    now_cert = slurp(f->cert);
    now_key = slurp(f->key);
    assert_string_equal(now_cert, cert);
    assert_string_equal(now_key, key);
    snprintf(tmp, sizeof(tmp), "%s.renew-tmp", f->cert);
    assert_int_not_equal(access(tmp, F_OK), 0);
    rc = certgen_renew(f->ca, f->ca_key, f->cert, f->key, NULL, &err);
    if (rc)
        fail_msg("renew over a stale tmp file: %s", err.msg);
    assert_int_not_equal(access(stale, F_OK), 0);
    free(now_cert);
    free(now_key);
    free(cert);
    free(key);
}

static void test_warn_due(void **state)
{
    static const struct {
        int64_t now, not_after, last_warn;
        int want;
    } cases[] = {
        {1000000000, 1000000000 + 61LL * DAY, 0, 0},          /* 61 days left: quiet */
        {1000000000, 1000000000 + 60LL * DAY, 0, 1},          /* 60: the first warning */
        {1000000000, 1000000000 + 59LL * DAY, 1000000000 - DAY + 1, 0}, /* warned today */
        {1000000000, 1000000000 + 59LL * DAY, 1000000000 - DAY, 1},     /* a day since */
        {1000000000, 1000000000 - 5, 1000000000 - 10, 0},     /* ended, warned just now */
        {1000000000, 1000000000 - 5, 0, 1},                   /* ended: warned at start */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (certwatch_warn_due(cases[i].now, cases[i].not_after, cases[i].last_warn) !=
            cases[i].want)
            fail_msg("case %zu: want %d", i, cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unix_time),
        cmocka_unit_test_setup_teardown(test_validity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_pair_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renew_refuses, setup, teardown),
        cmocka_unit_test(test_warn_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
