/*
 * enroll.c: see enroll.h. Request flow of POST /v1/enroll: method (405) -> body type and
 * size (415/413) -> JSON {"code"} (400) -> canonical code (400 bad_code) -> store lock ->
 * BEGIN -> enrolment by the code's hash (403 code_unknown) -> its state (403 code_expired,
 * code_used, code_revoked) -> new device id and token -> device row -> enrolment marked
 * used -> COMMIT -> unlock -> 201. A random id that collides with an existing device's
 * rolls the transaction back and is tried again with a new one.
 *
 * Invariant: neither the code, nor the token, nor a hash reaches a log line.
 */
#define _POSIX_C_SOURCE 200809L
#include "enroll.h"

#include "common/buf.h"
#include "common/alloc.h"
#include "common/certfp.h"
#include "common/utf8.h"
#include "proto/enroll.h"
#include "auth.h"
#include "group.h"
#include "jout.h"

#include <errno.h>
#include <jansson.h>
#include <qrencode.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static int slice_is(srv_slice s, const char *lit)
{
    return s.ptr && s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return buf_add((gs_buf *)data, buffer, size) ? -1 : 0;
}

/* Sends j (released); a 500 when it cannot be written. */
static void reply_json(srv_response *resp, int status, json_t *j, int bad)
{
    buf_reset(&resp->body);
    if (!j || bad || json_dump_callback(j, dump_cb, &resp->body, JSON_COMPACT) != 0 ||
        buf_add(&resp->body, "\n", 1) != GS_OK) {
        buf_reset(&resp->body);
        buf_adds(&resp->body, "{\"error\":\"server\",\"message\":\"cannot build the reply\"}\n");
        status = 500;
    }
    json_decref(j);
    resp->status = status;
    resp->content_type = ADMIN_CONTENT_TYPE;
    resp->content_encoding = NULL;
}

static void reply_err(srv_response *resp, int status, const char *code, const char *msg)
{
    reply_json(resp, status, json_pack("{s:s,s:s}", "error", code, "message", msg), 0);
}

int enroll_ca_fingerprint(const srv_config *cfg, char hex[SHA256_HEX_LEN + 1], gs_err *err)
{
    gs_buf pem;
    int rc;

    if (!cfg->ca_path[0])
        return gs_err_set(err, GS_E_NOTFOUND, "no CA file configured");
    buf_init(&pem, ENROLL_CA_MAX);
    rc = buf_read_file(&pem, cfg->ca_path, err);
    if (!rc)
        rc = certfp_of_pem(pem.ptr, pem.len, hex, err);
    buf_free(&pem);
    return rc;
}

int enroll_qr_matrix(const char *text, json_t **out, gs_err *err)
{
    QRcode *q = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    json_t *o = NULL, *rows = NULL;
    char *line = NULL;
    int bad = 0;

    if (!q)
        return errno == ERANGE ? gs_err_set(err, GS_E_TOO_LARGE, "too long for a QR code")
                               : gs_err_set(err, GS_E_NOMEM, "cannot make the QR code");
    line = gs_malloc((size_t)q->width + 1);
    o = json_object();
    rows = json_array();
    for (int y = 0; line && y < q->width; y++) {
        for (int x = 0; x < q->width; x++)
            line[x] = (q->data[y * q->width + x] & 1) ? '1' : '0';
        line[q->width] = '\0';
        jout_append(&bad, rows, json_string(line));
    }
    jout_set(&bad, o, "size", json_integer(q->width));
    jout_set(&bad, o, "rows", rows);
    gs_free(line);
    QRcode_free(q);
    if (bad || !line) {
        json_decref(o);
        return gs_err_set(err, GS_E_NOMEM, "out of memory drawing the QR code");
    }
    *out = o;
    return GS_OK;
}

static void serve_ca(admin_env *env, const srv_request *req, srv_response *resp)
{
    gs_err err;
    int rc;

    if (!slice_is(req->method, "GET")) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: GET\r\n");
        reply_err(resp, 405, "method", "GET only");
        return;
    }
    if (!env->cfg->ca_path[0]) {
        reply_err(resp, 404, "not_found", "this server has no CA file configured");
        return;
    }
    buf_reset(&resp->body);
    rc = buf_read_file(&resp->body, env->cfg->ca_path, &err);
    if (rc) {
        log_error(env->lg, "GET /v1/ca: %s", err.msg);
        reply_err(resp, 500, "server", "cannot read the CA certificate");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/x-pem-file";
    resp->content_encoding = NULL;
}

/* 1 for "application/json", any case, maybe with parameters after ';'. */
/* The canonical code of the request body into canon; 0 after answering 400/415/413. */
static int read_code(const srv_request *req, srv_response *resp, char canon[ENROLL_CODE_LEN + 1])
{
    json_error_t jerr;
    json_t *body, *code;
    const char *k;
    json_t *v;
    gs_err err;
    int ok = 0;

    if (req->body_len > ENROLL_BODY_MAX) {
        reply_err(resp, 413, "too_large", "an enrolment request is at most 4096 bytes");
        return 0;
    }
    if (req->content_encoding.len && !slice_is(req->content_encoding, "identity")) {
        reply_err(resp, 415, "content_type", "enrolment requests are not compressed");
        return 0;
    }
    if (!admin_is_json(req->content_type)) {
        reply_err(resp, 415, "content_type", "the body must be " ADMIN_CONTENT_TYPE);
        return 0;
    }
    body = req->body_len ? json_loadb((const char *)req->body, req->body_len,
                                      JSON_REJECT_DUPLICATES, &jerr)
                         : NULL;
    if (!json_is_object(body)) {
        reply_err(resp, 400, "malformed", "the body must be a JSON object {\"code\": ...}");
        goto out;
    }
    json_object_foreach(body, k, v)
    {
        (void)v;
        if (strcmp(k, "code") != 0) {
            reply_err(resp, 400, "unknown_field", "the body has one member, code");
            goto out;
        }
    }
    code = json_object_get(body, "code");
    if (!json_is_string(code) || strlen(json_string_value(code)) != json_string_length(code)) {
        reply_err(resp, 400, "missing_field", "code is required, as text");
        goto out;
    }
    if (enroll_code_canon(json_string_value(code), canon, &err) != GS_OK) {
        reply_err(resp, 400, "bad_code", err.msg);
        goto out;
    }
    ok = 1;
out:
    json_decref(body);
    return ok;
}

/* What one consumption made. */
typedef struct enrolled {
    store_enrolment e;               /* the enrolment, as it was found */
    store_device d;                  /* the device made */
    char token[AUTH_TOKEN_MAX + 1];  /* its token */
} enrolled;

/* The refusal for a code that is not open; 0 when it is. */
static int refusal(store_enrol_state st, const char **code, const char **msg)
{
    switch (st) {
    case STORE_ENROL_OPEN:
        return 0;
    case STORE_ENROL_EXPIRED:
        *code = "code_expired";
        *msg = "this enrolment code has expired: ask the town admin for a new one";
        return 1;
    case STORE_ENROL_USED:
        *code = "code_used";
        *msg = "this enrolment code was used already (a code enrols one device): ask the "
               "town admin for a new one";
        return 1;
    case STORE_ENROL_REVOKED:
        *code = "code_revoked";
        *msg = "this enrolment code was revoked by the town admin";
        return 1;
    }
    return 0;
}

/* One attempt, in a transaction of its own. GS_E_NOTFOUND, GS_E_STATE (*why set),
 * GS_E_EXISTS (the new id was taken: try again), others. Holding the store lock. */
static int consume_once(admin_env *env, const uint8_t hash[STORE_HASH_LEN], int64_t now_ms,
                        enrolled *out, store_enrol_state *why, gs_err *err)
{
    int rc = store_begin(env->st, err);

    if (rc)
        return rc;
    rc = store_enrol_by_hash(env->st, hash, &out->e, err);
    if (!rc && (*why = store_enrol_state_at(&out->e, now_ms)) != STORE_ENROL_OPEN)
        rc = GS_E_STATE;
    if (!rc) {
        memset(&out->d, 0, sizeof(out->d));
        rc = auth_new_id(AUTH_DEVICE_PREFIX, out->d.id, sizeof(out->d.id));
        if (!rc)
            rc = auth_new_token(out->d.id, out->token, sizeof(out->token), out->d.token_hash);
        if (rc)
            gs_err_set(err, rc, "cannot make a token: %s", gs_strerror(rc));
    }
    if (!rc) {
        snprintf(out->d.name, sizeof(out->d.name), "%s", out->e.name);
        for (size_t i = 0; i < out->e.n_grids; i++)
            snprintf(out->d.grids[i], sizeof(out->d.grids[i]), "%s", out->e.grids[i]);
        out->d.n_grids = out->e.n_grids;
        out->d.created_ms = now_ms;
        rc = store_device_add(env->st, &out->d, err);
    }
    if (!rc)
        rc = store_enrol_use(env->st, out->e.id, now_ms, out->d.id, err);
    if (!rc)
        rc = store_commit(env->st, err);
    if (rc)
        store_rollback(env->st);
    return rc;
}

static void consume(admin_env *env, const srv_request *req, srv_response *resp)
{
    char canon[ENROLL_CODE_LEN + 1];
    uint8_t hash[STORE_HASH_LEN];
    store_enrol_state why = STORE_ENROL_OPEN;
    enrolled *x = NULL;
    gs_err err;
    int64_t now_ms;
    int rc = GS_E_EXISTS;

    if (!slice_is(req->method, "POST")) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: POST\r\n");
        reply_err(resp, 405, "method", "POST only");
        return;
    }
    if (!read_code(req, resp, canon))
        return;
    if (sha256_of(canon, ENROLL_CODE_LEN, hash) != GS_OK) {
        reply_err(resp, 500, "server", "cannot hash the code");
        return;
    }
    x = gs_calloc(1, sizeof(*x));
    if (!x) {
        reply_err(resp, 500, "server", "out of memory");
        return;
    }
    now_ms = (int64_t)(env->clock && env->clock->clock ? env->clock->clock(env->clock->clock_ud)
                                                       : hlc_wall_ms(NULL));
    gs_err_clear(&err);
    pthread_mutex_lock(env->lock);
    group_flush(env->group);
    for (int attempt = 0; attempt < 4 && rc == GS_E_EXISTS; attempt++)
        rc = consume_once(env, hash, now_ms, x, &why, &err);
    pthread_mutex_unlock(env->lock);
    if (rc == GS_E_NOTFOUND || rc == GS_E_STATE) {
        const char *code = "code_unknown",
                   *msg = "no such enrolment code: check it, or ask the town admin for a new one";
        if (rc == GS_E_STATE)
            refusal(why, &code, &msg);
        atomic_fetch_add(&env->metrics->auth_failures, 1);
        log_info(env->lg, "enrolment refused from %s: %s%s%s", req->peer ? req->peer : "?", code,
                 rc == GS_E_STATE ? " " : "", rc == GS_E_STATE ? x->e.id : "");
        snprintf(resp->log_note, sizeof(resp->log_note), "enrol=%s", code);
        reply_err(resp, 403, code, msg);
    } else if (rc) {
        log_error(env->lg, "enrolment failed: %s", err.msg);
        reply_err(resp, 500, "server", "cannot enrol the device");
    } else {
        int bad = 0;
        json_t *o = json_object(), *grids = json_array();
        for (size_t i = 0; i < x->d.n_grids; i++)
            jout_append(&bad, grids, jout_str(x->d.grids[i]));
        jout_set(&bad, o, "device", jout_str(x->d.id));
        jout_set(&bad, o, "token", jout_str(x->token));
        jout_set(&bad, o, "name", jout_str(x->d.name));
        jout_set(&bad, o, "grids", grids);
        log_info(env->lg, "enrolment %s used: device %s added (made by %s)", x->e.id, x->d.id,
                 x->e.created_by);
        snprintf(resp->log_note, sizeof(resp->log_note), "enrol=%s dev=%s", x->e.id, x->d.id);
        reply_json(resp, 201, o, bad);
    }
    memset(x->token, 0, sizeof(x->token));
    gs_free(x);
}

void enroll_handle(admin_env *env, const srv_request *req, srv_response *resp)
{
    if (slice_is(req->path, ENROLL_CA_PATH))
        serve_ca(env, req, resp);
    else
        consume(env, req, resp);
}
