/*
 * test_srv_crl.c: the CRL that `gridsyncd init` writes (server/crl.c).
 *
 * A real CA from certgen_make_ca; the CRL is parsed back with Mbed TLS's own CRL parser and
 * its signature checked with the CA's public key, so an encoding slip fails here, not in a
 * TLS scanner. Table-driven: update times on both sides of the UTCTime/GeneralizedTime
 * switch (2050), and the parameter checks.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "server/certgen.h"
#include "server/compat_mbedtls.h"
#include "server/crl.h"

typedef struct fixture {
    char dir[64];                    /* temp folder */
    char ca[96], ca_key[96], crl[96]; /* file paths */
    mbedtls_x509_crt crt;            /* the CA certificate */
    mbedtls_pk_context key;          /* the CA key */
    mbedtls_entropy_context entropy; /* for signing */
    mbedtls_ctr_drbg_context drbg;   /* for signing */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    gs_err err;
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/gs_crl_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
    snprintf(f->ca_key, sizeof(f->ca_key), "%s/ca.key", f->dir);
    snprintf(f->crl, sizeof(f->crl), "%s/ca.crl", f->dir);
    if (certgen_make_ca(f->ca, f->ca_key, "crl test CA", &err) != GS_OK) {
        fprintf(stderr, "certgen: %s\n", err.msg);
        return -1;
    }
    mbedtls_x509_crt_init(&f->crt);
    mbedtls_pk_init(&f->key);
    mbedtls_entropy_init(&f->entropy);
    mbedtls_ctr_drbg_init(&f->drbg);
    if (mbedtls_ctr_drbg_seed(&f->drbg, mbedtls_entropy_func, &f->entropy, NULL, 0) ||
        mbedtls_x509_crt_parse_file(&f->crt, f->ca) ||
        COMPAT_PK_PARSE_KEYFILE(&f->key, f->ca_key, mbedtls_ctr_drbg_random, &f->drbg))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    mbedtls_x509_crt_free(&f->crt);
    mbedtls_pk_free(&f->key);
    mbedtls_ctr_drbg_free(&f->drbg);
    mbedtls_entropy_free(&f->entropy);
    unlink(f->crl);
    unlink(f->ca);
    unlink(f->ca_key);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Parses der as a CRL and checks what every CRL here must say; fills *out (caller frees). */
static void check_crl(fixture *f, const unsigned char *der, size_t len, mbedtls_x509_crl *out)
{
    unsigned char hash[32];
    mbedtls_x509_crl_init(out);
    assert_int_equal(mbedtls_x509_crl_parse_der(out, der, len), 0);
    assert_int_equal(out->version, 2);
    assert_int_equal(out->issuer_raw.len, f->crt.subject_raw.len);
    assert_memory_equal(out->issuer_raw.p, f->crt.subject_raw.p, f->crt.subject_raw.len);
    assert_int_equal(out->sig_md, MBEDTLS_MD_SHA256);
    assert_int_equal(out->sig_pk, MBEDTLS_PK_ECDSA);
    assert_int_equal(out->entry.raw.len, 0); /* nothing revoked */
    assert_null(out->next);
    assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), out->tbs.p,
                                out->tbs.len, hash),
                     0);
    assert_int_equal(mbedtls_pk_verify(&f->crt.pk, MBEDTLS_MD_SHA256, hash, sizeof(hash),
                                       out->sig.p, out->sig.len),
                     0);
}

static void test_crl_encode_times(void **state)
{
    static const struct {
        time_t this_update, next_update; /* seconds since 1970 */
        int this_year, next_year;        /* what the parser must read back */
    } cases[] = {
        {1764201600, 1764201600 + 86400, 2025, 2025},          /* UTCTime both */
        {2524607999, 2524608000, 2049, 2050},                 /* 2049-12-31T23:59:59 / 2050 */
        {2556144000, 2556144000 + 366L * 86400 * 10, 2051, 2061}, /* GeneralizedTime both */
    };
    fixture *f = *state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned char der[CRL_DER_MAX], id[20] = {1, 2, 3};
        crl_params p = {f->crt.subject_raw.p, f->crt.subject_raw.len, id, sizeof(id),
                        cases[i].this_update, cases[i].next_update, 7};
        mbedtls_x509_crl crl;
        size_t len = 0;
        gs_err err;
        assert_int_equal(crl_encode(&p, &f->key, mbedtls_ctr_drbg_random, &f->drbg, der,
                                    sizeof(der), &len, &err),
                         GS_OK);
        assert_true(len > 100 && len < 600);
        check_crl(f, der, len, &crl);
        assert_int_equal(crl.this_update.year, cases[i].this_year);
        assert_int_equal(crl.next_update.year, cases[i].next_year);
        mbedtls_x509_crl_free(&crl);
    }
}

static void test_crl_encode_refuses(void **state)
{
    fixture *f = *state;
    unsigned char der[CRL_DER_MAX], small[64];
    crl_params good = {f->crt.subject_raw.p, f->crt.subject_raw.len, NULL, 0, 1764201600,
                       1764288000, 1};
    static const struct {
        int what;    /* 0 no issuer, 1 next <= this, 2 key id length without bytes, 3 small out */
        int want_rc; /* the gs_rc expected */
    } cases[] = {{0, GS_E_INVALID}, {1, GS_E_INVALID}, {2, GS_E_INVALID}, {3, GS_E_TOO_LARGE}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        crl_params p = good;
        unsigned char *out = der;
        size_t cap = sizeof(der), len = 12345;
        gs_err err;
        if (cases[i].what == 0)
            p.issuer_der = NULL;
        else if (cases[i].what == 1)
            p.next_update = p.this_update;
        else if (cases[i].what == 2)
            p.key_id_len = 20;
        else
            out = small, cap = sizeof(small);
        assert_int_equal(crl_encode(&p, &f->key, mbedtls_ctr_drbg_random, &f->drbg, out, cap,
                                    &len, &err),
                         cases[i].want_rc);
        assert_int_equal(len, 12345); /* out-parameter untouched on failure */
    }
}

static void test_crl_make_file(void **state)
{
    fixture *f = *state;
    unsigned char der[CRL_DER_MAX + 1];
    mbedtls_x509_crl crl;
    size_t len;
    gs_err err;
    FILE *fp;

    assert_int_equal(crl_make_file(f->ca, f->ca_key, f->crl, 30, &err), GS_OK);
    fp = fopen(f->crl, "rb");
    assert_non_null(fp);
    len = fread(der, 1, sizeof(der), fp);
    fclose(fp);
    check_crl(f, der, len, &crl);
    /* valid now (thisUpdate in the past), for about 30 days */
    assert_int_equal(mbedtls_x509_time_is_past(&crl.this_update), 1);
    assert_int_equal(mbedtls_x509_time_is_future(&crl.next_update), 1);
    mbedtls_x509_crl_free(&crl);
    /* never replaces a CRL, and a key that is not the CA's is refused */
    assert_int_not_equal(crl_make_file(f->ca, f->ca_key, f->crl, 30, &err), GS_OK);
    unlink(f->crl);
    assert_int_not_equal(crl_make_file(f->ca, f->ca, f->crl, 30, &err), GS_OK);
    assert_int_equal(access(f->crl, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crl_encode_times),
        cmocka_unit_test(test_crl_encode_refuses),
        cmocka_unit_test(test_crl_make_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
