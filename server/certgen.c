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
 *    certificate; notAfter 10 years (CA) or 397 days (server) ahead, a server certificate
 *    never past its CA's notAfter (a device would stop trusting it there anyway);
 *  - renewal re-reads the names and the CRL URL from the certificate it replaces, so a
 *    renewed certificate differs from the old one only in key, serial and validity.
 * Mbed TLS 2.28 has no subjectAltName, extKeyUsage or cRLDistributionPoints writer, so those are
 * DER-encoded here with the asn1write helpers; its parser lists only dNSName entries of
 * subjectAltName and skips cRLDistributionPoints, so certgen_info_of walks the raw DER of
 * the extensions itself (only crt->raw, a field that stays public in 3.x).
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

/* "YYYYMMDDhhmmss" in UTC for Unix time t. */
static void format_time(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (strftime(out, 32, "%Y%m%d%H%M%S", &tm) != 14)
        out[0] = '\0';
}

int64_t certgen_unix_time(const mbedtls_x509_time *t)
{
    /* days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
    int64_t y = t->year - (t->mon <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (t->mon + (t->mon > 2 ? -3 : 9)) + 2) / 5 + t->day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + t->hour * 3600 + t->min * 60 + t->sec;
}

/* Fields every certificate here shares. subject_key and issuer_key must be set first;
 * not_after is "YYYYMMDDhhmmss" UTC. */
static int set_common(issue_ctx *c, const char *subject, const char *issuer,
                      const char *not_after, gs_err *err)
{
    unsigned char raw[16];
    char not_before[32];
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
    char subject[300], not_after[32];
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
    validity_time(not_after, CERTGEN_CA_YEARS, 0);
    rc = set_common(c, subject, subject, not_after, err);
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
    char subject[300], issuer[512], not_after[32];
    int64_t now = (int64_t)time(NULL), end, ca_end;
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
    /* a device checks the whole chain at every handshake: past the CA's end, nothing it
     * signed is trusted, so a longer server certificate would only mislead the gauge */
    ca_end = certgen_unix_time(&c->issuer_crt.valid_to);
    if (ca_end <= now + 86400) {
        rc = gs_err_set(err, GS_E_CRYPTO,
                        "the CA in %s ends within a day (or has ended): devices would not trust "
                        "a certificate it signs; a new CA is needed (docs/SERVER.md, CA "
                        "rotation)",
                        ca_cert_path);
        goto out;
    }
    end = now + (int64_t)CERTGEN_SERVER_DAYS * 86400;
    format_time(not_after, end < ca_end ? end : ca_end);
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
    rc = set_common(c, subject, issuer, not_after, err);
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
        int dp_len = strlen(crl_url) > CERTGEN_URL_MAX ? MBEDTLS_ERR_ASN1_BUF_TOO_SMALL
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

/* ---- reading a certificate back, and renewal ----------------------------------------- */

/* The value (OCTET STRING contents) of the extension with the given OID in the DER
 * certificate der: 1 found, 0 absent, -1 malformed. Certificate ::= SEQUENCE { tbs
 * SEQUENCE { ..., [3] EXPLICIT SEQUENCE OF Extension }, ... }. */
static int find_ext(unsigned char *der, size_t der_len, const char *oid, size_t oid_len,
                    unsigned char **val, size_t *val_len)
{
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    unsigned char *p = der, *end = der + der_len;
    size_t len;

    if (mbedtls_asn1_get_tag(&p, end, &len, seq) || mbedtls_asn1_get_tag(&p, end, &len, seq))
        return -1;
    end = p + len; /* the end of tbsCertificate */
    while (p < end) {
        int tag = *p++;
        if (mbedtls_asn1_get_len(&p, end, &len))
            return -1;
        if (tag != (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 3)) {
            p += len;
            continue;
        }
        end = p + len;
        if (mbedtls_asn1_get_tag(&p, end, &len, seq))
            return -1;
        while (p < end) {
            unsigned char *x_end;
            int crit = 0, match;
            if (mbedtls_asn1_get_tag(&p, end, &len, seq))
                return -1;
            x_end = p + len;
            if (mbedtls_asn1_get_tag(&p, x_end, &len, MBEDTLS_ASN1_OID))
                return -1;
            match = len == oid_len && memcmp(p, oid, oid_len) == 0;
            p += len;
            if (p < x_end && *p == MBEDTLS_ASN1_BOOLEAN && mbedtls_asn1_get_bool(&p, x_end, &crit))
                return -1;
            if (mbedtls_asn1_get_tag(&p, x_end, &len, MBEDTLS_ASN1_OCTET_STRING))
                return -1;
            if (match) {
                *val = p;
                *val_len = len;
                return 1;
            }
            p = x_end;
        }
        return 0;
    }
    return 0;
}

/* subjectAltName's dNSName and iPAddress entries into out->names; an entry that does not
 * fit (or of another kind) sets out->incomplete. -1 if malformed. */
static int read_san(unsigned char *p, size_t n, certgen_info *out)
{
    unsigned char *end = p + n;
    size_t len;

    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
        return -1;
    while (p < end) {
        int tag = *p++ & 0x1f;
        char *name = out->names[out->n_names < CERTGEN_MAX_NAMES ? out->n_names : 0];
        if (mbedtls_asn1_get_len(&p, end, &len))
            return -1;
        if ((tag != 2 && tag != 7) || out->n_names == CERTGEN_MAX_NAMES) {
            out->incomplete = 1;
        } else if (tag == 2 && len <= CERTGEN_NAME_MAX) {
            memcpy(name, p, len);
            name[len] = '\0';
            out->n_names++;
        } else if (tag == 7 && (len == 4 || len == 16) &&
                   inet_ntop(len == 4 ? AF_INET : AF_INET6, p, name, CERTGEN_NAME_MAX + 1)) {
            out->n_names++;
        } else {
            out->incomplete = 1;
        }
        p += len;
    }
    return 0;
}

/* The URI of cRLDistributionPoints into out->crl_url when it is the one-URI shape
 * crl_dp_der writes, else out->incomplete. */
static void read_crl_dp(unsigned char *p, size_t n, certgen_info *out)
{
    const int seq = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
    const int ctx0 = MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED;
    unsigned char *end = p + n, *start;
    size_t len, all;

    if (mbedtls_asn1_get_tag(&p, end, &all, seq)) {
        out->incomplete = 1;
        return;
    }
    start = p;
    /* one DistributionPoint, filling the list; one fullName; one URI, filling the rest */
    if (mbedtls_asn1_get_tag(&p, end, &len, seq) || p + len != start + all ||
        mbedtls_asn1_get_tag(&p, end, &len, ctx0) ||
        mbedtls_asn1_get_tag(&p, end, &len, ctx0) ||
        mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6) ||
        len > CERTGEN_URL_MAX || p + len != end) {
        out->incomplete = 1;
        return;
    }
    memcpy(out->crl_url, p, len);
    out->crl_url[len] = '\0';
}

int certgen_info_of(const mbedtls_x509_crt *crt, certgen_info *out, gs_err *err)
{
    static const char oid_san[] = MBEDTLS_OID_SUBJECT_ALT_NAME;
    static const char oid_crl[] = MBEDTLS_OID_CRL_DISTRIBUTION_POINTS;
    certgen_info *info = gs_calloc(1, sizeof(*info));
    unsigned char *val = NULL;
    size_t val_len = 0, i = 0, j = 0;
    int rc = GS_OK, found;

    if (!info)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    info->not_before = certgen_unix_time(&crt->valid_from);
    info->not_after = certgen_unix_time(&crt->valid_to);
    while (i + 1 < crt->serial.len && crt->serial.p[i] == 0)
        i++; /* the DER sign byte: openssl does not print it */
    for (; i < crt->serial.len && j + 3 <= sizeof(info->serial); i++, j += 2)
        snprintf(info->serial + j, 3, "%02X", crt->serial.p[i]);
    found = find_ext(crt->raw.p, crt->raw.len, oid_san, sizeof(oid_san) - 1, &val, &val_len);
    if (found > 0)
        found = read_san(val, val_len, info) < 0 ? -1 : 1;
    if (found >= 0)
        found = find_ext(crt->raw.p, crt->raw.len, oid_crl, sizeof(oid_crl) - 1, &val, &val_len);
    if (found > 0)
        read_crl_dp(val, val_len, info);
    if (found < 0)
        rc = gs_err_set(err, GS_E_INVALID, "malformed certificate extensions");
    if (!rc)
        *out = *info;
    gs_free(info);
    return rc;
}

int certgen_read_info(const char *path, certgen_info *out, gs_err *err)
{
    mbedtls_x509_crt crt;
    int rc, r;

    mbedtls_x509_crt_init(&crt);
    r = mbedtls_x509_crt_parse_file(&crt, path);
    if (r) {
        rc = fail(err, r, "reading the certificate");
    } else {
        rc = certgen_info_of(&crt, out, err);
    }
    if (rc)
        gs_err_prefix(err, "%s: ", path);
    mbedtls_x509_crt_free(&crt);
    return rc;
}

/* Checks the certificate in cert_path as a device does: against the CA alone. */
static int verify_with_ca(const char *ca_cert_path, const char *cert_path, gs_err *err)
{
    mbedtls_x509_crt ca, crt;
    uint32_t flags = 0;
    int rc = GS_OK, r;

    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&crt);
    r = mbedtls_x509_crt_parse_file(&ca, ca_cert_path);
    if (!r)
        r = mbedtls_x509_crt_parse_file(&crt, cert_path);
    if (!r)
        r = mbedtls_x509_crt_verify(&crt, &ca, NULL, NULL, &flags, NULL, NULL);
    if (r) {
        char why[256];
        if (mbedtls_x509_crt_verify_info(why, sizeof(why), "", flags) < 0)
            why[0] = '\0';
        rc = gs_err_set(err, GS_E_CRYPTO, "the new certificate does not verify against %s: %s",
                        ca_cert_path, why[0] ? why : "unreadable");
    }
    mbedtls_x509_crt_free(&crt);
    mbedtls_x509_crt_free(&ca);
    return rc;
}

/* fsync of the folder holding path, so a rename in it survives a power cut. */
static int sync_dir_of(const char *path, gs_err *err)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    int fd, rc = GS_OK;

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if ((size_t)snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path) >= sizeof(dir))
        return gs_err_set(err, GS_E_TOO_LARGE, "%s: path too long", path);
    if (!dir[0])
        snprintf(dir, sizeof(dir), "/");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = gs_err_set(err, GS_E_IO, "fsync %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The new file at tmp gets the owner of the file it replaces (a renew run as root for a
 * server that runs as its own user must leave it a key it can read). */
static int same_owner(const char *tmp, const char *old, gs_err *err)
{
    struct stat st;
    if (stat(old, &st) != 0)
        return gs_err_set(err, GS_E_IO, "%s: %s", old, strerror(errno));
    if (st.st_uid == geteuid() && st.st_gid == getegid())
        return GS_OK;
    if (chown(tmp, st.st_uid, st.st_gid) != 0)
        return gs_err_set(err, GS_E_IO,
                          "cannot give the new file the owner of %s (%s): run cert renew as "
                          "the server's user",
                          old, strerror(errno));
    return GS_OK;
}

int certgen_renew(const char *ca_cert_path, const char *ca_key_path, const char *cert_path,
                  const char *key_path, certgen_info *out, gs_err *err)
{
    certgen_info *info = gs_calloc(1, sizeof(*info));
    const char *names[CERTGEN_MAX_NAMES];
    char cert_tmp[4096], key_tmp[4096];
    int rc = GS_OK, made = 0, key_moved = 0;

    if (!info)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    if ((size_t)snprintf(cert_tmp, sizeof(cert_tmp), "%s.renew-tmp", cert_path) >=
            sizeof(cert_tmp) ||
        (size_t)snprintf(key_tmp, sizeof(key_tmp), "%s.renew-tmp", key_path) >= sizeof(key_tmp)) {
        rc = gs_err_set(err, GS_E_TOO_LARGE, "certificate path too long");
        goto out;
    }
    rc = certgen_read_info(cert_path, info, err);
    if (rc) {
        gs_err_prefix(err, "the current certificate: ");
        goto out;
    }
    if (info->n_names == 0 || info->incomplete) {
        rc = gs_err_set(err, GS_E_INVALID,
                        "%s %s: cert renew renews the certificates gridsyncd init made (up to "
                        "%d DNS or IP names, one CRL URL); issue this one where it came from",
                        cert_path,
                        info->n_names == 0 ? "has no subjectAltName"
                                           : "has names or a CRL entry renew cannot carry over",
                        CERTGEN_MAX_NAMES);
        goto out;
    }
    for (size_t i = 0; i < info->n_names; i++)
        names[i] = info->names[i];
    /* left by a renew that was killed between its steps */
    unlink(cert_tmp);
    unlink(key_tmp);
    made = 1;
    rc = certgen_make_server_crl(ca_cert_path, ca_key_path, cert_tmp, key_tmp, names,
                                 info->n_names, info->crl_url[0] ? info->crl_url : NULL, err);
    if (!rc)
        rc = verify_with_ca(ca_cert_path, cert_tmp, err);
    if (!rc)
        rc = same_owner(key_tmp, key_path, err);
    if (!rc)
        rc = same_owner(cert_tmp, cert_path, err);
    if (!rc)
        rc = certgen_read_info(cert_tmp, info, err);
    if (rc)
        goto out;
    /* the key first: from here to the second rename the pair on disk does not match, and
     * a server (re)loading it then refuses it and keeps or retries what it has */
    if (rename(key_tmp, key_path) != 0) {
        rc = gs_err_set(err, GS_E_IO, "rename %s: %s", key_tmp, strerror(errno));
        goto out;
    }
    key_moved = 1;
    if (rename(cert_tmp, cert_path) != 0) {
        rc = gs_err_set(err, GS_E_IO,
                        "rename %s: %s; %s is already the new key: rename %s to %s by hand",
                        cert_tmp, strerror(errno), key_path, cert_tmp, cert_path);
        goto out;
    }
    rc = sync_dir_of(key_path, err);
    if (!rc)
        rc = sync_dir_of(cert_path, err);
    if (!rc && out)
        *out = *info;
out:
    /* once the key moved, the new certificate is the only match of it: keep it */
    if (rc && made && !key_moved) {
        unlink(key_tmp);
        unlink(cert_tmp);
    }
    gs_free(info);
    return rc;
}
