/*
 * crl.h: an empty X.509 v2 CRL signed by the town CA, written by `gridsyncd init` next to
 * ca.pem as ca.crl (DER) and served at GET /ca.crl (net.c). Mbed TLS 2.28 parses CRLs but
 * cannot write them, so crl.c encodes the DER itself (RFC 5280 section 5).
 *
 * The CRL lists no certificate: the town CA issues only server certificates, and a lost
 * server key is handled by a new `gridsyncd init`. Publishing the CRL (and naming it in the
 * server certificate's cRLDistributionPoints) lets TLS scanners and relying parties that
 * check revocation see an authoritative "nothing revoked" signed by the CA.
 */
#ifndef GS_SERVER_CRL_H
#define GS_SERVER_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mbedtls/pk.h>

#include "common/rc.h"

/* A CRL of one P-256 CA is about 300 bytes; this is the cap for reading and writing one. */
#define CRL_DER_MAX 2048

/* The file name next to the CA certificate, and the path the server answers it at. */
#define CRL_FILE_NAME "ca.crl"
#define CRL_HTTP_PATH "/ca.crl"

/* What one CRL says. */
typedef struct crl_params {
    const unsigned char *issuer_der; /* the CA's subject Name, DER (mbedtls_x509_crt.subject_raw) */
    size_t issuer_len;               /* its length */
    const unsigned char *key_id;     /* the CA's subjectKeyIdentifier (authorityKeyIdentifier) */
    size_t key_id_len;               /* its length (20 for SHA-1 ids); 0 leaves it out */
    time_t this_update;              /* issue time */
    time_t next_update;              /* when a fresh CRL is due */
    uint32_t number;                 /* cRLNumber, increasing per issue */
} crl_params;

/* Encodes and signs (ECDSA with SHA-256, ca_key must be an EC key) the CRL into out (cap
 * bytes); *out_len is its length. GS_E_INVALID for a non-EC key or bad params,
 * GS_E_TOO_LARGE past cap, GS_E_CRYPTO when signing fails. */
int crl_encode(const crl_params *p, mbedtls_pk_context *ca_key,
               int (*rng)(void *, unsigned char *, size_t), void *rng_ctx, unsigned char *out,
               size_t cap, size_t *out_len, gs_err *err);

/* Reads the CA certificate and key, signs an empty CRL valid for `days` days (number 1) and
 * writes it to a new file crl_path (mode 0644, never replacing one). */
int crl_make_file(const char *ca_cert_path, const char *ca_key_path, const char *crl_path,
                  int days, gs_err *err);

#endif
