/*
 * certgen.h: a town's own small PKI, made with Mbed TLS so `gridsyncd init` needs no
 * openssl command: an EC P-256 local CA (10 years) and server certificates it signs
 * (3 years) for the names devices use to reach the server.
 *
 * Files are created, never replaced (O_EXCL): private keys with mode 0600, certificates
 * 0644, each fsync'ed. On failure nothing is left behind by the failing call.
 */
#ifndef GS_SERVER_CERTGEN_H
#define GS_SERVER_CERTGEN_H

#include <stddef.h>

#include "common/rc.h"

#define CERTGEN_MAX_NAMES 16 /* subjectAltName entries of one server certificate */
#define CERTGEN_NAME_MAX 253 /* bytes of one DNS name */

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

/* Writes len bytes to a new file with the given mode (O_EXCL, fsync); removes it on
 * failure. GS_E_EXISTS if the file exists. Shared with main.c's init. */
int certgen_write_new_file(const char *path, const void *data, size_t len, int mode, gs_err *err);

#endif
