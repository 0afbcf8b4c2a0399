/*
 * certgen.h: a town's own small PKI, made with Mbed TLS so `gridsyncd init` needs no
 * openssl command: an EC P-256 local CA (10 years) and server certificates it signs
 * (CERTGEN_SERVER_DAYS, never past the CA's own end) for the names devices use to reach
 * the server, and their renewal (`gridsyncd cert renew`).
 *
 * Files are created, never replaced (O_EXCL): private keys with mode 0600, certificates
 * 0644, each fsync'ed. On failure nothing is left behind by the failing call. The one
 * exception is certgen_renew, which replaces the server's pair on purpose, each file by a
 * rename of a complete, fsync'ed new one (a reader sees the old file or the new, never a
 * part).
 */
#ifndef GS_SERVER_CERTGEN_H
#define GS_SERVER_CERTGEN_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>

#include "common/rc.h"

#define CERTGEN_MAX_NAMES 16    /* subjectAltName entries of one server certificate */
#define CERTGEN_NAME_MAX 253    /* bytes of one DNS name */
#define CERTGEN_CA_YEARS 10     /* validity of the local CA */
#define CERTGEN_SERVER_DAYS 397 /* validity of a server certificate (the CA/Browser limit
                                   since 2020: testssl rates longer ones MEDIUM) */
#define CERTGEN_URL_MAX 500     /* bytes of a cRLDistributionPoints URI */

/* What a certificate says about itself: for renew (the same names and CRL URL again), the
 * expiry gauge and the log. */
typedef struct certgen_info {
    int64_t not_before;                              /* Unix seconds, UTC */
    int64_t not_after;                               /* Unix seconds, UTC */
    char serial[80];                                 /* hex, upper case, as openssl prints it */
    char names[CERTGEN_MAX_NAMES][CERTGEN_NAME_MAX + 1]; /* subjectAltName DNS and IP entries */
    size_t n_names;                                  /* entries in names */
    char crl_url[CERTGEN_URL_MAX + 1];               /* cRLDistributionPoints URI, "" if none */
    int incomplete; /* 1 if a subjectAltName entry (another kind, too long, past
                       CERTGEN_MAX_NAMES) or the CRL extension (not one URI) was left out */
} certgen_info;

/* 1 if name is an IPv4 or IPv6 address literal, 0 if a DNS name we accept (letters, digits,
 * '-', '.', up to 253 bytes, no empty label), -1 if neither. */
int certgen_name_kind(const char *name);

/* A new CA: key into key_path (0600), self-signed certificate into cert_path (0644),
 * subject "CN=<cn>". */
int certgen_make_ca(const char *cert_path, const char *key_path, const char *cn, gs_err *err);

/* A new server key (0600) and certificate (0644) signed by the CA in ca_cert_path and
 * ca_key_path, with CN names[0] and a subjectAltName entry (DNS or IP) for each name. */
int certgen_make_server(const char *ca_cert_path, const char *ca_key_path, const char *cert_path,
                        const char *key_path, const char *const *names, size_t n_names,
                        gs_err *err);

/* The same, with a cRLDistributionPoints extension holding crl_url (a URI up to 500 bytes)
 * when crl_url is not NULL. */
int certgen_make_server_crl(const char *ca_cert_path, const char *ca_key_path,
                            const char *cert_path, const char *key_path, const char *const *names,
                            size_t n_names, const char *crl_url, gs_err *err);

/* The facts above of the first certificate of crt (any certificate the server may serve:
 * what does not fit sets incomplete). GS_E_INVALID only if its extensions are malformed. */
int certgen_info_of(const mbedtls_x509_crt *crt, certgen_info *out, gs_err *err);

/* certgen_info_of for the first certificate in the PEM file at path. */
int certgen_read_info(const char *path, certgen_info *out, gs_err *err);

/* `gridsyncd cert renew`: a new key and certificate, signed by the CA, for the names and CRL
 * URL of the certificate now in cert_path, checked against the CA as a device checks it,
 * then put in place of key_path and cert_path (tmp file, fsync, rename, fsync of the
 * folder; the key first). The CA must be valid now; the new certificate ends
 * CERTGEN_SERVER_DAYS from now or when the CA ends, whichever is first. On failure the old
 * pair is untouched and no tmp file is left. *out (optional) describes the new
 * certificate. */
int certgen_renew(const char *ca_cert_path, const char *ca_key_path, const char *cert_path,
                  const char *key_path, certgen_info *out, gs_err *err);

/* Unix seconds of an X.509 time (UTC). */
int64_t certgen_unix_time(const mbedtls_x509_time *t);

/* Writes len bytes to a new file with the given mode (O_EXCL, fsync); removes it on
 * failure. GS_E_EXISTS if the file exists. Shared with main.c's init. */
int certgen_write_new_file(const char *path, const void *data, size_t len, int mode, gs_err *err);

#endif
