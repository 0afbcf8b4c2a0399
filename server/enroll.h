/*
 * enroll.h: the two endpoints a device calls before it has a token (PROTOCOL.md 11):
 *
 *   GET  /v1/ca       -> 200 application/x-pem-file: the CA certificate devices trust
 *   POST /v1/enroll   {"code":"XXXX-XXXX-XXXX-XXXX"} -> 201 {"device","token","name","grids"}
 *
 * The device fetches the CA over a connection it cannot verify yet, then checks the CA's
 * SHA-256 against the fingerprint of its enrolment URI before it trusts it; it presents the
 * code over a connection verified with that CA. An enrolment code (store.h) is consumed in
 * the transaction that creates the device: one code makes one device or none, whatever
 * races. Refusals are 403 with {"error": code_unknown | code_expired | code_used |
 * code_revoked, "message"}; a code of the wrong shape is 400 bad_code. The token is in the
 * answer only; the server keeps its hash, and only the hash of the code.
 */
#ifndef GS_SERVER_ENROLL_H
#define GS_SERVER_ENROLL_H

#include <jansson.h>

#include "common/sha256.h"
#include "admin_api.h"
#include "app.h"

#define ENROLL_CA_PATH "/v1/ca"
#define ENROLL_PATH "/v1/enroll"
#define ENROLL_BODY_MAX 4096u     /* bytes of a POST /v1/enroll body */
#define ENROLL_CA_MAX (64u * 1024) /* bytes of the CA file served */
#define ENROLL_TTL_DEFAULT_S 86400 /* an enrolment code's life when none is given */
#define ENROLL_TTL_MAX_S (30 * 86400)

/* Answers GET /v1/ca and POST /v1/enroll (the path is one of the two). Never fails. */
void enroll_handle(admin_env *env, const srv_request *req, srv_response *resp);

/* The QR code of text (byte mode, error correction M, as gridsync-admin prints it) as
 * {"size": N, "rows": [N strings of N '0'/'1', '1' dark]}, without the quiet zone: what
 * the console draws as SVG rectangles. GS_E_TOO_LARGE, GS_E_NOMEM. */
int enroll_qr_matrix(const char *text, json_t **out, gs_err *err);

/* The fingerprint of the CA the server's certificate chains to (cfg->ca_path), as the
 * enrolment URI carries it. GS_E_NOTFOUND when no CA file is configured or found. */
int enroll_ca_fingerprint(const srv_config *cfg, char hex[SHA256_HEX_LEN + 1], gs_err *err);

#endif
