/*
 * crl.c: encode and sign an empty X.509 v2 CRL (see crl.h).
 *
 * DER, written backwards with the asn1write helpers (RFC 5280 5.1):
 *
 *   CertificateList ::= SEQUENCE {
 *     tbsCertList SEQUENCE {
 *       version             INTEGER 1 (v2: needed because of the extensions)
 *       signature           AlgorithmIdentifier ecdsa-with-SHA256 (no parameters)
 *       issuer              Name (the CA subject, copied byte for byte from ca.pem, so
 *                           it matches the certificate's issuer exactly)
 *       thisUpdate, nextUpdate  UTCTime before 2050, GeneralizedTime from 2050 on
 *       -- revokedCertificates absent: nothing is revoked
 *       crlExtensions [0] EXPLICIT { authorityKeyIdentifier, cRLNumber } (both required
 *                           of a conforming CRL issuer, 5.2.1 and 5.2.3) }
 *     signatureAlgorithm  the same AlgorithmIdentifier
 *     signatureValue      BIT STRING holding the DER ECDSA-Sig-Value }
 *
 * The authority key id is the SHA-1 of the CA public key's BIT STRING contents, the same
 * method (RFC 5280 4.2.1.2 (1)) Mbed TLS used for the CA's subjectKeyIdentifier.
 */
#define _POSIX_C_SOURCE 200809L
#include "crl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "certgen.h"
#include "compat_mbedtls.h"

#include <mbedtls/asn1write.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "common/alloc.h"

#define OID_CRL_NUMBER "\x55\x1d\x14"  /* 2.5.29.20 */
#define OID_AUTH_KEY_ID "\x55\x1d\x23" /* 2.5.29.35 */
#define SIG_MAX MBEDTLS_PK_SIGNATURE_MAX_SIZE

static int crypto_fail(gs_err *err, int code, const char *what)
{
    char text[160];
    mbedtls_strerror(code, text, sizeof(text));
    return gs_err_set(err, GS_E_CRYPTO, "%s: %s (-0x%04x)", what, text, (unsigned)-code);
}

/* SEQUENCE { OID ecdsa-with-SHA256 }: RFC 5758 3.2 says the parameters are absent. */
static int write_sig_alg(unsigned char **p, unsigned char *start)
{
    size_t len = 0;
    int ret;
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, MBEDTLS_OID_ECDSA_SHA256,
                                                     MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256)));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED |
                                                                   MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

/* RFC 5280 5.1.2.4: UTCTime through 2049, GeneralizedTime after. */
static int write_time(unsigned char **p, unsigned char *start, time_t t)
{
    struct tm tm;
    char s[32];
    size_t n, len = 0;
    int ret, utc;

    if (!gmtime_r(&t, &tm))
        return MBEDTLS_ERR_ASN1_INVALID_DATA;
    utc = tm.tm_year + 1900 >= 1950 && tm.tm_year + 1900 < 2050;
    n = strftime(s, sizeof(s), "%Y%m%d%H%M%SZ", &tm);
    if (n != 15)
        return MBEDTLS_ERR_ASN1_INVALID_DATA;
    /* UTCTime is the same without the century */
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, (unsigned char *)s + 2 * utc,
                                                            n - 2 * (size_t)utc));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, utc ? MBEDTLS_ASN1_UTC_TIME
                                                                   : MBEDTLS_ASN1_GENERALIZED_TIME));
    return (int)len;
}

/* Extension ::= SEQUENCE { extnID, extnValue OCTET STRING } (not critical: DEFAULT left out),
 * with the value already written just before *p (value_len bytes). */
static int wrap_extension(unsigned char **p, unsigned char *start, const char *oid,
                          size_t oid_len, size_t value_len)
{
    size_t len = value_len;
    int ret;
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, value_len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_OCTET_STRING));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(p, start, oid, oid_len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED |
                                                                   MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

/* [0] EXPLICIT Extensions { authorityKeyIdentifier (if a key id), cRLNumber } */
static int write_extensions(unsigned char **p, unsigned char *start, const crl_params *cp)
{
    size_t len = 0, sub = 0;
    int ret;

    /* cRLNumber ::= INTEGER */
    MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_int(p, start, (int)(cp->number & 0x7fffffff)));
    MBEDTLS_ASN1_CHK_ADD(len, wrap_extension(p, start, OID_CRL_NUMBER, 3, sub));
    if (cp->key_id_len) {
        /* AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING } */
        sub = 0;
        MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_raw_buffer(p, start, cp->key_id,
                                                                cp->key_id_len));
        MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_len(p, start, sub));
        MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
        MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_len(p, start, sub));
        MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED |
                                                                       MBEDTLS_ASN1_SEQUENCE));
        MBEDTLS_ASN1_CHK_ADD(len, wrap_extension(p, start, OID_AUTH_KEY_ID, 3, sub));
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED |
                                                                   MBEDTLS_ASN1_SEQUENCE));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                                                   MBEDTLS_ASN1_CONSTRUCTED | 0));
    return (int)len;
}

static int write_tbs(unsigned char **p, unsigned char *start, const crl_params *cp)
{
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, write_extensions(p, start, cp));
    MBEDTLS_ASN1_CHK_ADD(len, write_time(p, start, cp->next_update));
    MBEDTLS_ASN1_CHK_ADD(len, write_time(p, start, cp->this_update));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, cp->issuer_der,
                                                            cp->issuer_len));
    MBEDTLS_ASN1_CHK_ADD(len, write_sig_alg(p, start));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_int(p, start, 1)); /* v2 */
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED |
                                                                   MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

/* CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue } */
static int write_whole(unsigned char **p, unsigned char *start, const unsigned char *tbs,
                       size_t tbs_len, const unsigned char *sig, size_t sig_len)
{
    size_t len = 0;
    int ret;
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_bitstring(p, start, sig, sig_len * 8));
    MBEDTLS_ASN1_CHK_ADD(len, write_sig_alg(p, start));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, tbs, tbs_len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED |
                                                                   MBEDTLS_ASN1_SEQUENCE));
    return (int)len;
}

int crl_encode(const crl_params *cp, mbedtls_pk_context *ca_key,
               int (*rng)(void *, unsigned char *, size_t), void *rng_ctx, unsigned char *out,
               size_t cap, size_t *out_len, gs_err *err)
{
    unsigned char *work = NULL, *p, *tbs, hash[32], sig[SIG_MAX];
    size_t tbs_len, sig_len = 0, len;
    int rc = GS_OK, r;

    if (!cp->issuer_der || cp->issuer_len == 0 || cp->next_update <= cp->this_update ||
        (cp->key_id_len && !cp->key_id))
        return gs_err_set(err, GS_E_INVALID, "CRL: missing issuer or bad update times");
    if (!mbedtls_pk_can_do(ca_key, MBEDTLS_PK_ECDSA))
        return gs_err_set(err, GS_E_INVALID, "CRL: the CA key is not an EC key");
    work = gs_malloc(2 * CRL_DER_MAX); /* the tbsCertList, then the whole */
    if (!work)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    p = work + CRL_DER_MAX;
    r = write_tbs(&p, work, cp);
    if (r < 0) {
        rc = r == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL
                 ? gs_err_set(err, GS_E_TOO_LARGE, "CRL over %d bytes", CRL_DER_MAX)
                 : crypto_fail(err, r, "encoding the CRL");
        goto out;
    }
    tbs = p;
    tbs_len = (size_t)r;
    r = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), tbs, tbs_len, hash);
    if (!r)
        r = COMPAT_PK_SIGN(ca_key, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, sizeof(sig),
                           &sig_len, rng, rng_ctx);
    if (r) {
        rc = crypto_fail(err, r, "signing the CRL");
        goto out;
    }
    /* the whole CertificateList, backwards into the second half of work */
    p = work + 2 * CRL_DER_MAX;
    r = write_whole(&p, work + CRL_DER_MAX, tbs, tbs_len, sig, sig_len);
    if (r < 0) {
        rc = r == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL
                 ? gs_err_set(err, GS_E_TOO_LARGE, "CRL over %d bytes", CRL_DER_MAX)
                 : crypto_fail(err, r, "encoding the CRL");
        goto out;
    }
    len = (size_t)r;
    if (len > cap) {
        rc = gs_err_set(err, GS_E_TOO_LARGE, "CRL of %zu bytes over %zu", len, cap);
        goto out;
    }
    memcpy(out, p, len);
    *out_len = len;
out:
    gs_free(work);
    return rc;
}

/* SHA-1 of the public key's BIT STRING contents, as Mbed TLS makes subjectKeyIdentifier. */
static int key_id(mbedtls_pk_context *pub, unsigned char id[20])
{
    unsigned char buf[MBEDTLS_MPI_MAX_SIZE * 2 + 20], *p = buf + sizeof(buf);
    int len = mbedtls_pk_write_pubkey(&p, buf, pub);
    if (len < 0)
        return len;
    return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), p, (size_t)len, id);
}

int crl_make_file(const char *ca_cert_path, const char *ca_key_path, const char *crl_path,
                  int days, gs_err *err)
{
    static const char pers[] = "gridsyncd crl";
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt ca;
    mbedtls_pk_context key;
    unsigned char der[CRL_DER_MAX], id[20];
    crl_params cp;
    size_t der_len = 0;
    int rc = GS_OK, r;

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&key);
    r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)pers, sizeof(pers) - 1);
    if (r) {
        rc = crypto_fail(err, r, "seeding the random generator");
        goto out;
    }
    r = mbedtls_x509_crt_parse_file(&ca, ca_cert_path);
    if (r) {
        rc = crypto_fail(err, r, "reading the CA certificate");
        gs_err_prefix(err, "%s: ", ca_cert_path);
        goto out;
    }
    r = COMPAT_PK_PARSE_KEYFILE(&key, ca_key_path, mbedtls_ctr_drbg_random, &drbg);
    if (r) {
        rc = crypto_fail(err, r, "reading the CA key");
        gs_err_prefix(err, "%s: ", ca_key_path);
        goto out;
    }
    if (COMPAT_PK_CHECK_PAIR(&ca.pk, &key, mbedtls_ctr_drbg_random, &drbg) != 0) {
        rc = gs_err_set(err, GS_E_CRYPTO, "%s is not the key of %s", ca_key_path, ca_cert_path);
        goto out;
    }
    r = key_id(&ca.pk, id);
    if (r) {
        rc = crypto_fail(err, r, "computing the CA key id");
        goto out;
    }
    memset(&cp, 0, sizeof(cp));
    cp.issuer_der = ca.subject_raw.p;
    cp.issuer_len = ca.subject_raw.len;
    cp.key_id = id;
    cp.key_id_len = sizeof(id);
    cp.this_update = time(NULL) - 3600; /* a handheld whose clock lags still accepts it */
    cp.next_update = time(NULL) + (time_t)days * 86400;
    cp.number = 1;
    rc = crl_encode(&cp, &key, mbedtls_ctr_drbg_random, &drbg, der, sizeof(der), &der_len, err);
    if (rc)
        goto out;
    rc = certgen_write_new_file(crl_path, der, der_len, 0644, err);
out:
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&ca);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc;
}
