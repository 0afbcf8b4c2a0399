/*
 * certgen.c: CA and server certificates with mbedtls_x509write_crt (see certgen.h).
 *
 * What a certificate carries, and why:
 *  - CA: basicConstraints CA:TRUE pathlen 0 (critical; it signs only server certificates),
 *    keyUsage keyCertSign + cRLSign (critical), subject and authority key identifiers;
 *  - server: basicConstraints CA:FALSE, keyUsage digitalSignature (ECDHE-ECDSA needs no
 *    more), extKeyUsage serverAuth, subjectAltName with every name (clients match names
 *    against it, not against the CN), key identifiers, and cRLDistributionPoints naming
 *    the CA's CRL (crl.c) when init gives its URL, so revocation checkers find one;
 *  - serials: 127 random bits, positive (RFC 5280 4.1.2.2);
 *  - notBefore one day back, so a handheld whose clock lags by hours still accepts the
 *    certificate; notAfter 10 years (CA) or 3 years (server) ahead.
 * Mbed TLS 2.28 has no subjectAltName, extKeyUsage or cRLDistributionPoints writer, so those are
 * DER-encoded here with the asn1write helpers.
 */
#define _POSIX_C_SOURCE 200809L
#include "certgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compat_mbedtls.h"

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform_util.h>

#include "common/alloc.h"

#define CA_YEARS 10
#define SERVER_YEARS 3
#define PEM_MAX 4096 /* a P-256 certificate or key in PEM is well under 1 KiB */

int certgen_name_kind(const char *name)
{
    unsigned char addr[16];
    size_t n = strlen(name), label = 0;

    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return 1;
    if (n == 0 || n > CERTGEN_NAME_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '.') {
            if (label == 0)
                return -1;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return -1;
        if (++label > 63)
            return -1;
    }
    return label == 0 ? -1 : 0;
}

int certgen_write_new_file(const char *path, const void *data, size_t len, int mode, gs_err *err)
{
    const char *p = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    int rc = GS_OK;

    if (fd < 0) {
        if (errno == EEXIST)
            return gs_err_set(err, GS_E_EXISTS, "%s already exists; not replacing it", path);
        return gs_err_set(err, GS_E_IO, "cannot create %s: %s", path, strerror(errno));
    }
    /* the umask must not widen or narrow what we promised */
    if (fchmod(fd, (mode_t)mode) != 0) {
        rc = gs_err_set(err, GS_E_IO, "chmod %s: %s", path, strerror(errno));
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = gs_err_set(err, GS_E_IO, "writing %s: %s", path, strerror(errno));
            goto out;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) != 0)
        rc = gs_err_set(err, GS_E_IO, "fsync %s: %s", path, strerror(errno));
out:
    if (close(fd) != 0 && !rc)
        rc = gs_err_set(err, GS_E_IO, "closing %s: %s", path, strerror(errno));
    if (rc)
        unlink(path);
    return rc;
}

/* The generator and keys of one issuance, so one cleanup frees all. */
typedef struct issue_ctx {
    mbedtls_entropy_context entropy; /* OS entropy */
    mbedtls_ctr_drbg_context drbg;   /* keys, serials and ECDSA nonces */
    mbedtls_pk_context key;          /* the new key */
    mbedtls_pk_context issuer_key;   /* the CA key (server certificates only) */
    mbedtls_x509_crt issuer_crt;     /* the CA certificate (server certificates only) */
    mbedtls_x509write_cert crt;      /* the certificate being written */
    mbedtls_mpi serial;              /* its serial */
    unsigned char pem[PEM_MAX];      /* PEM output, wiped after use */
} issue_ctx;

static int fail(gs_err *err, int code, const char *what)
{
    char text[160];
    mbedtls_strerror(code, text, sizeof(text));
    return gs_err_set(err, GS_E_CRYPTO, "%s: %s (-0x%04x)", what, text, (unsigned)-code);
}

static int ctx_init(issue_ctx *c, gs_err *err)
{
    static const char pers[] = "gridsyncd certgen";
    int r;

    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    mbedtls_pk_init(&c->key);
    mbedtls_pk_init(&c->issuer_key);
    mbedtls_x509_crt_init(&c->issuer_crt);
    mbedtls_x509write_crt_init(&c->crt);
    mbedtls_mpi_init(&c->serial);
    r = mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                              (const unsigned char *)pers, sizeof(pers) - 1);
    return r ? fail(err, r, "seeding the random generator") : GS_OK;
}

static void ctx_free(issue_ctx *c)
{
    mbedtls_platform_zeroize(c->pem, sizeof(c->pem));
    mbedtls_mpi_free(&c->serial);
    mbedtls_x509write_crt_free(&c->crt);
    mbedtls_x509_crt_free(&c->issuer_crt);
    mbedtls_pk_free(&c->issuer_key);
    mbedtls_pk_free(&c->key);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
}

static int gen_key(issue_ctx *c, gs_err *err)
{
    int r = mbedtls_pk_setup(&c->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (!r)
        r = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(c->key),
                                mbedtls_ctr_drbg_random, &c->drbg);
    return r ? fail(err, r, "generating a P-256 key") : GS_OK;
}

/* "YYYYMMDDhhmmss" in UTC for now + years (Feb 29 becomes Feb 28) + a second offset. */
static void validity_time(char out[32], int years, long offset_s)
{
    time_t t = time(NULL) + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_year += years;
    if (tm.tm_mon == 1 && tm.tm_mday == 29)
        tm.tm_mday = 28;
    if (strftime(out, 32, "%Y%m%d%H%M%S", &tm) != 14)
        out[0] = '\0'; /* year past 9999: set_validity refuses it */
}

/* Fields every certificate here shares. subject_key and issuer_key must be set first. */
static int set_common(issue_ctx *c, const char *subject, const char *issuer, int years, gs_err *err)
{
    unsigned char raw[16];
    char not_before[32], not_after[32];
    int r;

    r = mbedtls_ctr_drbg_random(&c->drbg, raw, sizeof(raw));
    if (r)
        return fail(err, r, "drawing a serial number");
    raw[0] = (unsigned char)((raw[0] & 0x7f) | 0x40); /* positive, and a full 16 bytes */
    r = mbedtls_mpi_read_binary(&c->serial, raw, sizeof(raw));
    if (!r)
        r = COMPAT_SET_SERIAL(&c->crt, &c->serial, raw, sizeof(raw));
    if (r)
        return fail(err, r, "setting the serial number");
    validity_time(not_before, 0, -86400);
    validity_time(not_after, years, 0);
    mbedtls_x509write_crt_set_version(&c->crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&c->crt, MBEDTLS_MD_SHA256);
    r = mbedtls_x509write_crt_set_validity(&c->crt, not_before, not_after);
    if (r)
        return fail(err, r, "setting the validity");
    r = mbedtls_x509write_crt_set_subject_name(&c->crt, subject);
    if (r)
        return fail(err, r, "setting the subject name");
    r = mbedtls_x509write_crt_set_issuer_name(&c->crt, issuer);
    if (r)
        return fail(err, r, "setting the issuer name");
    r = mbedtls_x509write_crt_set_subject_key_identifier(&c->crt);
    if (!r)
        r = mbedtls_x509write_crt_set_authority_key_identifier(&c->crt);
    return r ? fail(err, r, "setting key identifiers") : GS_OK;
}

/* Writes the key then the certificate; removes the key again if the certificate fails. */
static int write_pair(issue_ctx *c, const char *cert_path, const char *key_path, gs_err *err)
{
    int r, rc;

    r = mbedtls_pk_write_key_pem(&c->key, c->pem, sizeof(c->pem));
    if (r)
        return fail(err, r, "encoding the private key");
    rc = certgen_write_new_file(key_path, c->pem, strlen((char *)c->pem), 0600, err);
    mbedtls_platform_zeroize(c->pem, sizeof(c->pem));
    if (rc)
        return rc;
    r = mbedtls_x509write_crt_pem(&c->crt, c->pem, sizeof(c->pem), mbedtls_ctr_drbg_random,
                                  &c->drbg);
    if (r)
        rc = fail(err, r, "signing the certificate");
    else
        rc = certgen_write_new_file(cert_path, c->pem, strlen((char *)c->pem), 0644, err);
    if (rc)
        unlink(key_path);
    return rc;
}

int certgen_make_ca(const char *cert_path, const char *key_path, const char *cn, gs_err *err)
{
    issue_ctx *c = gs_calloc(1, sizeof(*c)); /* big (PEM buffer): not on the stack */
    char subject[300];
    int rc = GS_OK, r;

    if (!c)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = ctx_init(c, err);
    if (rc)
        goto out;
    if (strchr(cn, ',') || strchr(cn, '=') || strchr(cn, '\\') ||
        (size_t)snprintf(subject, sizeof(subject), "CN=%s", cn) >= sizeof(subject)) {
        rc = gs_err_set(err, GS_E_INVALID, "CA name \"%s\" is not usable", cn);
        goto out;
    }
    rc = gen_key(c, err);
    if (rc)
        goto out;
    mbedtls_x509write_crt_set_subject_key(&c->crt, &c->key);
    mbedtls_x509write_crt_set_issuer_key(&c->crt, &c->key);
    rc = set_common(c, subject, subject, CA_YEARS, err);
    if (rc)
        goto out;
    r = mbedtls_x509write_crt_set_basic_constraints(&c->crt, 1, 0);
    if (!r)
        r = mbedtls_x509write_crt_set_key_usage(&c->crt, MBEDTLS_X509_KU_KEY_CERT_SIGN |
                                                             MBEDTLS_X509_KU_CRL_SIGN);
    if (r) {
        rc = fail(err, r, "setting CA extensions");
        goto out;
    }
    rc = write_pair(c, cert_path, key_path, err);
out:
    ctx_free(c);
    gs_free(c);
    return rc;
}

/* DER of GeneralNames with one dNSName or iPAddress per name, written backwards into
 * buf; *start receives where it begins. Returns its length or a negative Mbed TLS code. */
static int san_der(unsigned char *buf, size_t size, const char *const *names, size_t n,
                   unsigned char **start)
{
    unsigned char *p = buf + size;
    size_t len = 0;
    int ret;

    for (size_t i = n; i-- > 0;) {
        unsigned char addr[16];
        size_t alen = 0, sub = 0;
        int tag;
        if (inet_pton(AF_INET, names[i], addr) == 1)
            alen = 4;
        else if (inet_pton(AF_INET6, names[i], addr) == 1)
            alen = 16;
        if (alen) {
            MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_raw_buffer(&p, buf, addr, alen));
            tag = 7; /* iPAddress [7] OCTET STRING */
        } else {
            MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_raw_buffer(&p, buf,
                                                                    (const unsigned char *)names[i],
                                                                    strlen(names[i])));
            tag = 2; /* dNSName [2] IA5String */
        }
        MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_len(&p, buf, sub));
        MBEDTLS_ASN1_CHK_ADD(sub,
                             mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag));
        len += sub;
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    *start = p;
    return (int)len;
}

/* The CA's subject as a string set_issuer_name parses back: x509_dn_gets separates
 * attributes with ", " but the parser wants ",". */
static int issuer_string(const mbedtls_x509_crt *ca, char *out, size_t cap)
{
    char dn[512];
    size_t j = 0;
    int r = mbedtls_x509_dn_gets(dn, sizeof(dn), &ca->subject);
    if (r < 0)
        return r;
    for (size_t i = 0; dn[i] && j + 1 < cap; i++) {
        out[j++] = dn[i];
        if (dn[i] == ',' && (i == 0 || dn[i - 1] != '\\') && dn[i + 1] == ' ')
            i++;
    }
    out[j] = '\0';
    return 0;
}

/* cRLDistributionPoints with one fullName URI (RFC 5280 4.2.1.13):
 * SEQUENCE { SEQUENCE { [0] { [0] { [6] IA5String url } } } }, backwards into buf. */
static int crl_dp_der(unsigned char *buf, size_t size, const char *url, unsigned char **start)
{
    unsigned char *p = buf + size;
    size_t len = 0;
    int ret;

    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&p, buf, (const unsigned char *)url,
                                                            strlen(url)));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6));
    /* fullName [0] GeneralNames, inside distributionPoint [0] DistributionPointName */
    for (int i = 0; i < 2; i++) {
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC |
                                                                      MBEDTLS_ASN1_CONSTRUCTED));
    }
    for (int i = 0; i < 2; i++) { /* DistributionPoint, then the SEQUENCE OF */
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&p, buf, len));
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&p, buf, MBEDTLS_ASN1_CONSTRUCTED |
                                                                      MBEDTLS_ASN1_SEQUENCE));
    }
    *start = p;
    return (int)len;
}

int certgen_make_server(const char *ca_cert_path, const char *ca_key_path, const char *cert_path,
                        const char *key_path, const char *const *names, size_t n_names, gs_err *err)
{
    return certgen_make_server_crl(ca_cert_path, ca_key_path, cert_path, key_path, names, n_names,
                                   NULL, err);
}

int certgen_make_server_crl(const char *ca_cert_path, const char *ca_key_path,
                            const char *cert_path, const char *key_path, const char *const *names,
                            size_t n_names, const char *crl_url, gs_err *err)
{
    static const unsigned char eku_server_auth[] = {0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
                                                    0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
    issue_ctx *c = gs_calloc(1, sizeof(*c));
    unsigned char san[2048], *san_start = NULL;
    char subject[300], issuer[512];
    int rc = GS_OK, r, san_len;

    if (!c)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = ctx_init(c, err);
    if (rc)
        goto out;
    if (n_names == 0 || n_names > CERTGEN_MAX_NAMES) {
        rc = gs_err_set(err, GS_E_INVALID, "a server certificate needs 1 to %d names",
                        CERTGEN_MAX_NAMES);
        goto out;
    }
    for (size_t i = 0; i < n_names; i++)
        if (certgen_name_kind(names[i]) < 0) {
            rc = gs_err_set(err, GS_E_INVALID, "\"%.80s\" is neither a host name nor an IP address",
                            names[i]);
            goto out;
        }
    snprintf(subject, sizeof(subject), "CN=%s", names[0]);
    r = mbedtls_x509_crt_parse_file(&c->issuer_crt, ca_cert_path);
    if (r) {
        rc = fail(err, r, "reading the CA certificate");
        gs_err_prefix(err, "%s: ", ca_cert_path);
        goto out;
    }
    r = COMPAT_PK_PARSE_KEYFILE(&c->issuer_key, ca_key_path, mbedtls_ctr_drbg_random, &c->drbg);
    if (r) {
        rc = fail(err, r, "reading the CA key");
        gs_err_prefix(err, "%s: ", ca_key_path);
        goto out;
    }
    if (COMPAT_PK_CHECK_PAIR(&c->issuer_crt.pk, &c->issuer_key, mbedtls_ctr_drbg_random,
                             &c->drbg) != 0) {
        rc = gs_err_set(err, GS_E_CRYPTO, "%s is not the key of %s", ca_key_path, ca_cert_path);
        goto out;
    }
    r = issuer_string(&c->issuer_crt, issuer, sizeof(issuer));
    if (r) {
        rc = fail(err, r, "reading the CA name");
        goto out;
    }
    rc = gen_key(c, err);
    if (rc)
        goto out;
    mbedtls_x509write_crt_set_subject_key(&c->crt, &c->key);
    mbedtls_x509write_crt_set_issuer_key(&c->crt, &c->issuer_key);
    rc = set_common(c, subject, issuer, SERVER_YEARS, err);
    if (rc)
        goto out;
    san_len = san_der(san, sizeof(san), names, n_names, &san_start);
    if (san_len < 0) {
        rc = fail(err, san_len, "encoding subjectAltName");
        goto out;
    }
    r = mbedtls_x509write_crt_set_basic_constraints(&c->crt, 0, -1);
    if (!r)
        r = mbedtls_x509write_crt_set_key_usage(&c->crt, MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    if (!r)
        r = mbedtls_x509write_crt_set_extension(&c->crt, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                                eku_server_auth, sizeof(eku_server_auth));
    if (!r)
        r = mbedtls_x509write_crt_set_extension(&c->crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                                san_start, (size_t)san_len);
    if (!r && crl_url) {
        unsigned char dp[600], *dp_start = NULL;
        int dp_len = strlen(crl_url) > 500 ? MBEDTLS_ERR_ASN1_BUF_TOO_SMALL
                                           : crl_dp_der(dp, sizeof(dp), crl_url, &dp_start);
        r = dp_len < 0 ? dp_len
                       : mbedtls_x509write_crt_set_extension(
                             &c->crt, MBEDTLS_OID_CRL_DISTRIBUTION_POINTS,
                             MBEDTLS_OID_SIZE(MBEDTLS_OID_CRL_DISTRIBUTION_POINTS), 0, dp_start,
                             (size_t)dp_len);
    }
    if (r) {
        rc = fail(err, r, "setting server certificate extensions");
        goto out;
    }
    rc = write_pair(c, cert_path, key_path, err);
out:
    ctx_free(c);
    gs_free(c);
    return rc;
}
