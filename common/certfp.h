/*
 * certfp.h: the fingerprint of a CA certificate, SHA-256 of its DER encoding in lower-case
 * hex, as the enrolment URI carries it (proto/enroll.h, PROTOCOL.md 11): gridsyncd computes
 * it from its CA file, the device checks the CA it fetched against it. The same value as
 * `openssl x509 -in ca.pem -outform DER | sha256sum`.
 */
#ifndef GS_COMMON_CERTFP_H
#define GS_COMMON_CERTFP_H

#include <stddef.h>

#include "common/rc.h"
#include "common/sha256.h"

/* The fingerprint of the first certificate of pem[0..len) (PEM text, NUL not required) into
 * hex. GS_E_INVALID when it holds no parsable certificate, GS_E_NOMEM. */
int certfp_of_pem(const char *pem, size_t len, char hex[SHA256_HEX_LEN + 1], gs_err *err);

#endif
