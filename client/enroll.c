/*
 * enroll.c: gs_db_enroll, a device's enrolment by code (PROTOCOL.md 11):
 *
 *   URI or code + server + fp -> already a device? (GS_E_EXISTS, before the code is spent)
 *   -> GET /v1/ca unverified -> SHA-256 of its DER == fp? (GS_E_TLS: nothing sent, nothing
 *   kept) -> POST /v1/enroll {"code"} verified with that CA -> 201 {"device","token",
 *   "grids","name"} -> gs_db_init_device (one transaction: all settings or none)
 *
 * Invariant: the code is sent only over a connection verified with a CA whose fingerprint
 * matched; the token goes only into the database (never a message) and is wiped from
 * memory after.
 */
#include "device.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/certfp.h"
#include "common/transport.h"
#include "common/utf8.h"
#include "proto/enroll.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define ENROLL_ANSWER_MAX (64u * 1024)
#define ENROLL_TIMEOUT_MS 30000L

/* The server, code and fingerprint of the arguments into *u. */
static int enroll_args(gs_db *db, const char *code_or_uri, const char *server_url,
                       const char *ca_sha256, enroll_uri *u)
{
    if (!code_or_uri)
        return gs_err_set(&db->err, GS_E_INVALID, "no enrolment code or URI given");
    if (enroll_is_uri(code_or_uri)) {
        if (server_url || ca_sha256)
            return gs_err_set(&db->err, GS_E_INVALID,
                              "an enrolment URI carries the server and the CA fingerprint: "
                              "give neither with it");
        return enroll_uri_parse(code_or_uri, u, &db->err);
    }
    if (!server_url || !ca_sha256)
        return gs_err_set(&db->err, GS_E_INVALID,
                          "an enrolment code alone needs the server URL and the CA "
                          "fingerprint too (or give the whole gridsync://enroll URI)");
    if (strlen(server_url) > ENROLL_URL_MAX || strncmp(server_url, "https://", 8) != 0 ||
        strlen(server_url) < 9)
        return gs_err_set(&db->err, GS_E_INVALID, "server: must be an https:// URL");
    memset(u, 0, sizeof(*u));
    snprintf(u->server, sizeof(u->server), "%s", server_url);
    if (strlen(ca_sha256) != ENROLL_FP_HEX)
        return gs_err_set(&db->err, GS_E_INVALID,
                          "CA fingerprint: %d hex digits (SHA-256 of the CA certificate)",
                          ENROLL_FP_HEX);
    for (size_t i = 0; i < ENROLL_FP_HEX; i++) {
        char c = ca_sha256[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c + 32);
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return gs_err_set(&db->err, GS_E_INVALID, "CA fingerprint: hex digits only");
        u->fp[i] = c;
    }
    return enroll_code_canon(code_or_uri, u->code, &db->err);
}

/* The server's CA into ca, checked against u->fp. */
static int fetch_ca(gs_db *db, const enroll_uri *u, gs_buf *ca)
{
    char got[SHA256_HEX_LEN + 1];
    long status = 0;
    int rc = transport_get_unverified(u->server, "/v1/ca", ENROLL_TIMEOUT_MS, &status, ca,
                                      &db->err);

    if (rc) {
        gs_err_prefix(&db->err, "fetching the server's CA: ");
        return rc;
    }
    if (status != 200)
        return gs_err_set(&db->err, GS_E_SERVER,
                          "the server answered %ld to GET /v1/ca%s", status,
                          status == 404 ? " (a server too old for enrolment codes, or no CA "
                                          "configured)"
                                        : "");
    if (certfp_of_pem(ca->ptr, ca->len, got, &db->err) != GS_OK)
        return gs_err_set(&db->err, GS_E_TLS,
                          "the server's /v1/ca is not a CA certificate: refusing to trust it");
    if (strcmp(got, u->fp) != 0)
        return gs_err_set(&db->err, GS_E_TLS,
                          "the server's CA certificate is not the one the enrolment names "
                          "(fingerprint %.16s..., expected %.16s...): this is another server, "
                          "or someone in between; nothing was sent or stored",
                          got, u->fp);
    return GS_OK;
}

/* The error the server answered, as a gs_rc with its message. */
static int server_refusal(gs_db *db, long status, json_t *j)
{
    const char *code = json_string_value(json_object_get(j, "error"));
    const char *msg = json_string_value(json_object_get(j, "message"));

    if (status == 403)
        return gs_err_set(&db->err, GS_E_AUTH, "enrolment refused (%s): %s",
                          code ? code : "refused", msg ? msg : "ask the town admin");
    if (status == 400)
        return gs_err_set(&db->err, GS_E_INVALID, "enrolment refused (%s): %s",
                          code ? code : "invalid", msg ? msg : "bad request");
    return gs_err_set(&db->err, GS_E_SERVER, "the server answered %ld to POST /v1/enroll%s%s",
                      status, msg ? ": " : "", msg ? msg : "");
}

/* 1 when s can be a worker name (what check_name in device.c accepts). */
static int worker_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > GS_LIMIT_NAME || !utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == ',' || s[i] == 0x7f)
            return 0;
    return 1;
}

/* POSTs the code over a link verified with ca and stores the answer. */
static int present_code(gs_db *db, const enroll_uri *u, const gs_buf *ca, const char *worker)
{
    transport_opts opts;
    transport *t = NULL;
    gs_buf resp;
    json_t *j = NULL, *g;
    json_error_t jerr;
    char body[64];
    const char *grids[GS_LIMIT_GRIDS];
    gs_device_config cfg;
    long status = 0;
    size_t i;
    int rc;

    buf_init(&resp, ENROLL_ANSWER_MAX);
    memset(&opts, 0, sizeof(opts));
    opts.base_url = u->server;
    opts.ca_pem = ca->ptr;
    opts.ca_pem_len = ca->len;
    opts.anonymous = 1;
    opts.connect_timeout_ms = ENROLL_TIMEOUT_MS;
    opts.total_timeout_ms = ENROLL_TIMEOUT_MS;
    rc = transport_new(&t, &opts, &db->err);
    if (rc)
        goto out;
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", u->code);
    rc = transport_post(t, "/v1/enroll", "application/json", body, strlen(body), &status, &resp,
                        &db->err);
    memset(body, 0, sizeof(body));
    if (rc)
        goto out;
    j = resp.len ? json_loadb(resp.ptr, resp.len, 0, &jerr) : NULL;
    if (status != 201) {
        rc = server_refusal(db, status, j);
        goto out;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.device_id = json_string_value(json_object_get(j, "device"));
    cfg.token = json_string_value(json_object_get(j, "token"));
    if (!cfg.device_id || !cfg.token || !json_is_array(json_object_get(j, "grids")) ||
        json_array_size(json_object_get(j, "grids")) > GS_LIMIT_GRIDS) {
        rc = gs_err_set(&db->err, GS_E_PROTO, "the server's enrolment answer is malformed");
        goto out;
    }
    json_array_foreach(json_object_get(j, "grids"), i, g)
    {
        if (!json_is_string(g)) {
            rc = gs_err_set(&db->err, GS_E_PROTO, "the server's enrolment answer is malformed");
            goto out;
        }
        grids[cfg.n_grids++] = json_string_value(g);
    }
    cfg.grids = grids;
    cfg.server_url = u->server;
    cfg.ca_pem = ca->ptr;
    cfg.ca_pem_len = ca->len;
    cfg.worker = worker;
    if (!cfg.worker && json_string_value(json_object_get(j, "name")) &&
        worker_ok(json_string_value(json_object_get(j, "name"))))
        cfg.worker = json_string_value(json_object_get(j, "name"));
    rc = gs_db_init_device(db, &cfg);
    if (rc)
        gs_err_prefix(&db->err, "the server enrolled device %s but it could not be stored "
                                "(ask the admin to revoke it and make a new code): ",
                      cfg.device_id);
out:
    if (resp.ptr)
        memset(resp.ptr, 0, resp.len); /* the token */
    json_decref(j);
    buf_free(&resp);
    transport_free(t);
    return rc;
}

int gs_db_enroll(gs_db *db, const char *code_or_uri, const char *server_url,
                 const char *ca_sha256, const char *worker)
{
    enroll_uri *u = NULL;
    char *existing = NULL;
    gs_buf ca;
    int rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    buf_init(&ca, DEVICE_CA_MAX);
    u = gs_calloc(1, sizeof(*u));
    if (!u)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    rc = enroll_args(db, code_or_uri, server_url, ca_sha256, u);
    if (rc)
        goto out;
    if (worker && !worker_ok(worker)) {
        rc = gs_err_set(&db->err, GS_E_INVALID,
                        "worker: 1 to %d bytes of text without commas or control characters",
                        GS_LIMIT_NAME);
        goto out;
    }
    rc = db_meta_get_text(db, DB_META_DEVICE, &existing);
    if (!rc && existing) {
        rc = gs_err_set(&db->err, GS_E_EXISTS,
                        "this database belongs to device %s already; enrol into a new --db "
                        "(the code was not used)",
                        existing);
        goto out;
    }
    if (rc)
        goto out;
    rc = fetch_ca(db, u, &ca);
    if (!rc)
        rc = present_code(db, u, &ca, worker);
out:
    memset(u, 0, sizeof(*u));
    gs_free(u);
    gs_free(existing);
    buf_free(&ca);
    return rc;
}
