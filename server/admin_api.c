/*
 * admin_api.c: see admin_api.h; docs/ADMIN-API.md documents every endpoint with examples.
 *
 * Request flow: console session or else admin token (401) -> route (404/405) -> body checks
 * (413/415) -> parse JSON (400) -> take the store lock -> handler -> release. Handlers
 * build replies with jansson and write them with reply_json; any jansson allocation
 * failure is a 500, never a reply with members silently missing.
 */
#define _POSIX_C_SOURCE 200809L
#include "admin_api.h"

#include "common/alloc.h"
#include "common/rand.h"
#include "common/sha256.h"
#include "common/utf8.h"
#include "common/uuid.h"
#include "proto/enroll.h"
#include "proto/schema_wire.h"
#include "proto/value_json.h"
#include "auth.h"
#include "admin_records.h"
#include "admin_registry.h"
#include "admin_roles.h"
#include "admin_warnings.h"
#include "dash.h"
#include "enroll.h"
#include "group.h"
#include "jout.h"
#include "merge.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum route {
    R_NONE,             /* no such path */
    R_DEVICES,          /* /devices */
    R_DEVICE_REVOKE,    /* /devices/{id}/revoke */
    R_CONFLICTS,        /* /conflicts */
    R_CONFLICT,         /* /conflicts/{id} */
    R_CONFLICT_RESOLVE, /* /conflicts/{id}/resolve */
    R_STATUS,           /* /status */
    R_SCHEMA,           /* /schema */
    R_DASHBOARD,        /* /dashboard */
    R_WARNINGS,         /* /warnings */
    R_WARNING_ACK,      /* /warnings/{id}/ack */
    R_RECORDS,          /* /records */
    R_TOWNS,            /* /towns */
    R_GRIDS,            /* /grids */
    R_GRID_MOVE,        /* /grids/move */
    R_GRID_IMPORT,      /* /grids/import */
    R_ADMINS,           /* /admins */
    R_ADMIN_REVOKE,     /* /admins/{id}/revoke */
    R_ENROLMENTS,       /* /enrolments */
    R_ENROLMENT_REVOKE, /* /enrolments/{id}/revoke */
    R_DEVICE_RENAME,    /* /devices/{id}/rename */
} route;

/* One request being answered. */
typedef struct areq {
    admin_env *env;              /* the app's parts */
    const srv_request *req;      /* the HTTP request */
    srv_response *resp;          /* the answer */
    char admin[GS_LIMIT_NAME + 1]; /* the authenticated admin's id */
    admin_scope scope;           /* its role and the grids it reaches (admin_roles.h) */
    srv_slice arg;               /* the {id} path segment, when the route has one */
    json_t *body;                /* the parsed body (POST with a body), else NULL */
    gs_arena arena;            /* values read from the store */
    int64_t now_ms;              /* wall time of the request */
    int bad;                     /* a jansson allocation failed while building a reply */
} areq;

/* ------------------------------------------------------------------------------------ */
/* replies                                                                              */

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return buf_add((gs_buf *)data, buffer, size) ? -1 : 0;
}

/* Sends j (and releases it). */
static void reply_json(areq *r, int status, json_t *j)
{
    srv_response *resp = r->resp;

    buf_reset(&resp->body);
    if (!j || r->bad || json_dump_callback(j, dump_cb, &resp->body, JSON_COMPACT) != 0 ||
        buf_add(&resp->body, "\n", 1) != GS_OK) {
        /* a fixed reply needs no allocation beyond the body buffer */
        buf_reset(&resp->body);
        buf_adds(&resp->body, "{\"error\":\"server\",\"message\":\"cannot build the reply\"}\n");
        status = 500;
    }
    json_decref(j);
    resp->status = status;
    resp->content_type = ADMIN_CONTENT_TYPE;
    resp->content_encoding = NULL;
}

static void reply_verr(areq *r, int status, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void reply_verr(areq *r, int status, const char *code, const char *fmt, va_list ap)
{
    char msg[GS_ERR_MSG_MAX];
    json_t *j;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    r->bad = 0;
    /* messages may quote input: never let invalid UTF-8 make the reply fail */
    j = json_pack("{s:s, s:s?}", "error", code, "message",
                  utf8_valid(msg, strlen(msg)) ? msg : NULL);
    reply_json(r, status, j);
    if (status == 401)
        atomic_fetch_add(&r->env->metrics->auth_failures, 1);
}

static void reply_err(areq *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_err(areq *r, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_verr(r, status, code, fmt, ap);
    va_end(ap);
}

/* Sets o[k] = v (stealing v); remembers a failure instead of dropping the member. */
static void jset(areq *r, json_t *o, const char *k, json_t *v)
{
    jout_set(&r->bad, o, k, v);
}

static void jappend(areq *r, json_t *a, json_t *v)
{
    jout_append(&r->bad, a, v);
}

static const char *policy_name(int policy)
{
    return schema_wire_policy_name(policy);
}

/* ------------------------------------------------------------------------------------ */
/* the admin's scope (admin_roles.h): what is outside it answers 404, as if absent        */

/* 1 when grid is in the admin's scope, 0 when not (nothing answered), -1 when the registry
 * cannot be read (answered 500). */
static int scope_has(areq *r, const char *grid)
{
    gs_err err;
    int in = admin_scope_grid(&r->scope, grid, &err);

    if (in >= 0)
        return in;
    log_error(r->env->lg, "registry: %s", err.msg);
    reply_err(r, 500, "server", "cannot read the grid registry");
    return -1;
}

/* 1 when a query's grid is the admin's; else answers 404 (or 500) and returns 0. */
static int grid_visible(areq *r, const char *grid)
{
    int in = scope_has(r, grid);

    if (in == 0)
        reply_err(r, 404, "not_found", "no grid %s", grid);
    return in == 1;
}

/* 1 when one of the device's grids is the admin's (devices of other towns are not listed);
 * a registry that cannot be read hides the device. */
static int device_visible(areq *r, const store_device *d)
{
    for (size_t i = 0; i < d->n_grids; i++)
        if (admin_scope_grid_ok(&r->scope, d->grids[i]))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* devices                                                                              */

static const char *device_wipe_name(int wipe);

static json_t *device_json(areq *r, const store_device *d)
{
    json_t *o = json_object(), *grids = json_array();
    int64_t since = d->last_sync_ms ? d->last_sync_ms : d->created_ms;
    int64_t silent_ms = (int64_t)r->env->cfg->silent_days * 86400000;

    for (size_t i = 0; i < d->n_grids; i++)
        jappend(r, grids, jout_str(d->grids[i]));
    jset(r, o, "id", jout_str(d->id));
    jset(r, o, "name", jout_str(d->name));
    jset(r, o, "grids", grids);
    jset(r, o, "created_ms", json_integer(d->created_ms));
    jset(r, o, "created", jout_iso(d->created_ms));
    jset(r, o, "revoked", json_boolean(d->revoked_ms != 0));
    jset(r, o, "revoked_ms", json_integer(d->revoked_ms));
    jset(r, o, "wipe", jout_str(device_wipe_name(d->wipe)));
    jset(r, o, "last_sync_ms", json_integer(d->last_sync_ms));
    jset(r, o, "last_sync", jout_iso(d->last_sync_ms));
    jset(r, o, "last_result", jout_str(d->last_result));
    jset(r, o, "pending_rejects", json_integer((json_int_t)d->rejects));
    jset(r, o, "silent", json_boolean(!d->revoked_ms && r->now_ms - since > silent_ms));
    return o;
}

/* A grid name or device name from JSON: a string of 1..max bytes of UTF-8 without control
 * characters. */
static int clean_text(const json_t *j, size_t min, size_t max)
{
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    if (!s || n < min || n > max || !utf8_valid(s, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
            return 0;
    return 1;
}

/* The request body is a JSON object whose members are all among keys; otherwise answers
 * 400 and returns 0. */
static int body_object(areq *r, const char *const *keys, size_t n)
{
    const char *k;
    json_t *v;

    if (!json_is_object(r->body)) {
        reply_err(r, 400, "wrong_type", "the body must be a JSON object");
        return 0;
    }
    json_object_foreach(r->body, k, v)
    {
        size_t i = 0;
        while (i < n && strcmp(k, keys[i]) != 0)
            i++;
        (void)v;
        if (i == n) {
            reply_err(r, 400, "unknown_field", "unknown member '%.64s'", k);
            return 0;
        }
    }
    return 1;
}

/* The grids and name of a device-to-be from the body (POST /devices, /enrolments) into d;
 * 0 after answering 400 when they are wrong. */
static int device_args(areq *r, store_device *d)
{
    const json_t *grids, *name, *g;
    size_t i;

    grids = json_object_get(r->body, "grids");
    name = json_object_get(r->body, "name");
    if (!grids) {
        reply_err(r, 400, "missing_field", "grids is required");
        return 0;
    }
    if (!json_is_array(grids) || json_array_size(grids) == 0) {
        reply_err(r, 400, "wrong_type", "grids must be a non-empty array of strings");
        return 0;
    }
    if (json_array_size(grids) > GS_LIMIT_GRIDS) {
        reply_err(r, 400, "over_limit", "at most %d grids per device", GS_LIMIT_GRIDS);
        return 0;
    }
    if (name && !json_is_null(name) &&
        !(json_is_string(name) && clean_text(name, 0, GS_LIMIT_DEVICE_NAME))) {
        reply_err(r, 400, "invalid", "name must be text of at most %d bytes", GS_LIMIT_DEVICE_NAME);
        return 0;
    }
    json_array_foreach(grids, i, g)
    {
        if (!json_is_string(g) || !clean_text(g, 1, GS_LIMIT_NAME)) {
            reply_err(r, 400, "invalid",
                      "grids[%zu]: a grid is text of 1 to %d bytes without control "
                      "characters",
                      i, GS_LIMIT_NAME);
            return 0;
        }
        for (size_t k = 0; k < d->n_grids; k++)
            if (strcmp(d->grids[k], json_string_value(g)) == 0) {
                reply_err(r, 400, "invalid", "grids[%zu]: given twice", i);
                return 0;
            }
        snprintf(d->grids[d->n_grids++], sizeof(d->grids[0]), "%s", json_string_value(g));
    }
    {
        /* once the county has a registry, devices (and enrolment codes) are for its grids
         * only, and a town admin's for its towns' grids */
        const char *names[GS_LIMIT_GRIDS], *missing = NULL;
        gs_err err;
        int known;
        for (size_t k = 0; k < d->n_grids; k++)
            names[k] = d->grids[k];
        known = admin_reg_grids_known(r->env->st, names, d->n_grids, &missing, &err);
        if (known < 0) {
            log_error(r->env->lg, "registry: %s", err.msg);
            reply_err(r, 500, "server", "cannot read the grid registry");
            return 0;
        }
        if (!known) {
            reply_err(r, 400, "unregistered_grid",
                      "grid %s is not in the grid registry: enrol the device into a registered "
                      "grid (gridsync-admin grid list) or register it first (grid add)",
                      missing);
            return 0;
        }
        for (size_t k = 0; k < d->n_grids; k++)
            if (!grid_visible(r, d->grids[k]))
                return 0;
    }
    snprintf(d->name, sizeof(d->name), "%s", json_is_string(name) ? json_string_value(name) : "");
    return 1;
}

static void device_add(areq *r)
{
    static const char *const keys[] = {"grids", "name"};
    store_device *d = arena_alloc(&r->arena, sizeof(*d));
    char token[AUTH_TOKEN_MAX + 1];
    gs_err err;
    int rc = GS_E_EXISTS;
    json_t *o;

    if (!d) {
        reply_err(r, 500, "server", "out of memory");
        return;
    }
    if (!body_object(r, keys, 2) || !device_args(r, d))
        return;
    d->created_ms = r->now_ms;
    /* a fresh random id could collide with an old one: try again a few times */
    for (int attempt = 0; attempt < 4 && rc == GS_E_EXISTS; attempt++) {
        rc = auth_new_id(AUTH_DEVICE_PREFIX, d->id, sizeof(d->id));
        if (!rc)
            rc = auth_new_token(d->id, token, sizeof(token), d->token_hash);
        if (rc) {
            gs_err_set(&err, rc, "cannot make a token: %s", gs_strerror(rc));
            break;
        }
        rc = store_begin(r->env->st, &err);
        if (rc)
            break;
        rc = store_device_add(r->env->st, d, &err);
        if (!rc)
            rc = store_commit(r->env->st, &err);
        if (rc)
            store_rollback(r->env->st);
    }
    if (rc) {
        log_error(r->env->lg, "admin %s: device add failed: %s", r->admin, err.msg);
        reply_err(r, 500, "server", "cannot create the device");
        return;
    }
    log_info(r->env->lg, "admin %s: device %s added", r->admin, d->id);
    o = device_json(r, d);
    jset(r, o, "token", json_string(token));
    memset(token, 0, sizeof(token));
    reply_json(r, 201, o);
}

typedef struct list_ctx {
    areq *r;      /* the request */
    json_t *list; /* the array being filled */
} list_ctx;

static int device_cb(void *ud, const store_device *d)
{
    list_ctx *lc = ud;
    if (!device_visible(lc->r, d))
        return GS_OK;
    jappend(lc->r, lc->list, device_json(lc->r, d));
    return GS_OK;
}

static void device_list(areq *r)
{
    list_ctx lc = {r, json_array()};
    gs_err err;
    json_t *o;

    if (store_device_list(r->env->st, device_cb, &lc, &err)) {
        json_decref(lc.list);
        log_error(r->env->lg, "device list: %s", err.msg);
        reply_err(r, 500, "server", "cannot read the devices");
        return;
    }
    o = json_object();
    jset(r, o, "devices", lc.list);
    reply_json(r, 200, o);
}

/* The wire names of STORE_WIPE_* (docs/ADMIN-API.md), in their order. */
static const char *const wipe_names[] = {"none", "now", "after_upload"};

/* The body's optional "wipe" ("none", "now" or "after_upload"; absent or null: "none")
 * into *wipe; otherwise answers 400 and returns 0. */
static int revoke_body(areq *r, int *wipe)
{
    static const char *const keys[] = {"wipe"};
    const json_t *w;

    *wipe = STORE_WIPE_NONE;
    if (!r->body)
        return 1;
    if (!body_object(r, keys, 1))
        return 0;
    w = json_object_get(r->body, "wipe");
    if (!w || json_is_null(w))
        return 1;
    for (int i = 0; json_is_string(w) && i <= STORE_WIPE_AFTER_UPLOAD; i++)
        if (strcmp(json_string_value(w), wipe_names[i]) == 0) {
            *wipe = i;
            return 1;
        }
    reply_err(r, 400, "invalid", "wipe must be \"none\", \"now\" or \"after_upload\"");
    return 0;
}

static const char *device_wipe_name(int wipe)
{
    return wipe > STORE_WIPE_NONE && wipe <= STORE_WIPE_AFTER_UPLOAD ? wipe_names[wipe] : "none";
}

static void device_revoke(areq *r)
{
    char id[GS_LIMIT_NAME + 1];
    store_device *d = arena_alloc(&r->arena, sizeof(*d));
    gs_err err;
    int rc, wipe;

    if (!d) {
        reply_err(r, 500, "server", "out of memory");
        return;
    }
    if (r->arg.len == 0 || r->arg.len > GS_LIMIT_NAME) {
        reply_err(r, 404, "not_found", "no such device");
        return;
    }
    if (!revoke_body(r, &wipe))
        return;
    memcpy(id, r->arg.ptr, r->arg.len);
    id[r->arg.len] = '\0';
    rc = store_begin(r->env->st, &err);
    if (!rc) {
        if (!r->scope.all) { /* another town's device does not exist for this admin */
            rc = store_device_get(r->env->st, id, strlen(id), d, &err);
            if (!rc && !device_visible(r, d))
                rc = GS_E_NOTFOUND;
        }
        if (!rc)
            rc = store_device_revoke(r->env->st, id, r->now_ms, wipe, &err);
        if (!rc)
            rc = store_device_get(r->env->st, id, strlen(id), d, &err);
        if (!rc)
            rc = store_commit(r->env->st, &err);
        if (rc)
            store_rollback(r->env->st);
    }
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 404, "not_found", "no device '%s'", id);
        return;
    }
    if (rc) {
        log_error(r->env->lg, "revoke: %s", err.msg);
        reply_err(r, 500, "server", "cannot revoke the device");
        return;
    }
    log_info(r->env->lg, "admin %s: device %s revoked%s%s", r->admin, d->id,
             d->wipe ? ", wipe " : "", d->wipe ? wipe_names[d->wipe] : "");
    reply_json(r, 200, device_json(r, d));
}

/* POST /devices/{id}/rename {"name"}: the console's devices page. */
static void device_rename(areq *r)
{
    static const char *const keys[] = {"name"};
    char id[GS_LIMIT_NAME + 1];
    store_device *d = arena_alloc(&r->arena, sizeof(*d));
    const json_t *name;
    gs_err err;
    int rc;

    if (!d) {
        reply_err(r, 500, "server", "out of memory");
        return;
    }
    if (r->arg.len == 0 || r->arg.len > GS_LIMIT_NAME) {
        reply_err(r, 404, "not_found", "no such device");
        return;
    }
    if (!body_object(r, keys, 1))
        return;
    name = json_object_get(r->body, "name");
    if (!json_is_string(name) || !clean_text(name, 0, GS_LIMIT_DEVICE_NAME)) {
        reply_err(r, 400, "invalid", "name must be text of at most %d bytes", GS_LIMIT_DEVICE_NAME);
        return;
    }
    memcpy(id, r->arg.ptr, r->arg.len);
    id[r->arg.len] = '\0';
    rc = store_begin(r->env->st, &err);
    if (!rc) {
        if (!r->scope.all) { /* another town's device does not exist for this admin */
            rc = store_device_get(r->env->st, id, strlen(id), d, &err);
            if (!rc && !device_visible(r, d))
                rc = GS_E_NOTFOUND;
        }
        if (!rc)
            rc = store_device_rename(r->env->st, id, json_string_value(name), &err);
        if (!rc)
            rc = store_device_get(r->env->st, id, strlen(id), d, &err);
        if (!rc)
            rc = store_commit(r->env->st, &err);
        if (rc)
            store_rollback(r->env->st);
    }
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 404, "not_found", "no device '%s'", id);
        return;
    }
    if (rc) {
        log_error(r->env->lg, "rename: %s", err.msg);
        reply_err(r, 500, "server", "cannot rename the device");
        return;
    }
    log_info(r->env->lg, "admin %s: device %s renamed", r->admin, d->id);
    reply_json(r, 200, device_json(r, d));
}

/* ------------------------------------------------------------------------------------ */
/* enrolment codes (enroll.h, store.h)                                                  */

static json_t *enrolment_json(areq *r, const store_enrolment *e)
{
    json_t *o = json_object(), *grids = json_array();

    for (size_t i = 0; i < e->n_grids; i++)
        jappend(r, grids, jout_str(e->grids[i]));
    jset(r, o, "id", jout_str(e->id));
    jset(r, o, "name", jout_str(e->name));
    jset(r, o, "grids", grids);
    jset(r, o, "state", jout_str(store_enrol_state_name(store_enrol_state_at(e, r->now_ms))));
    jset(r, o, "created_ms", json_integer(e->created_ms));
    jset(r, o, "created", jout_iso(e->created_ms));
    jset(r, o, "created_by", jout_str(e->created_by));
    jset(r, o, "expires_ms", json_integer(e->expires_ms));
    jset(r, o, "expires", jout_iso(e->expires_ms));
    jset(r, o, "used_ms", json_integer(e->used_ms));
    jset(r, o, "device", e->device[0] ? jout_str(e->device) : json_null());
    jset(r, o, "revoked_ms", json_integer(e->revoked_ms));
    return o;
}

/* POST /enrolments {"grids","name","ttl_s"}: a new code, shown in this answer only. */
static void enrolment_add(areq *r)
{
    static const char *const keys[] = {"grids", "name", "ttl_s", "server_url"};
    store_device *d = arena_alloc(&r->arena, sizeof(*d));
    store_enrolment *e = arena_alloc(&r->arena, sizeof(*e));
    char code[ENROLL_CODE_SHOWN + 1], canon[ENROLL_CODE_LEN + 1], fp[SHA256_HEX_LEN + 1];
    unsigned char raw[ENROLL_CODE_BYTES];
    const json_t *ttl, *url;
    int64_t ttl_s = ENROLL_TTL_DEFAULT_S;
    gs_err err;
    int rc = GS_E_EXISTS, have_fp;
    json_t *o;

    if (!d || !e) {
        reply_err(r, 500, "server", "out of memory");
        return;
    }
    if (!body_object(r, keys, 4) || !device_args(r, d))
        return;
    url = json_object_get(r->body, "server_url");
    if (url && !(json_is_string(url) && clean_text(url, 9, ENROLL_URL_MAX) &&
                 strncmp(json_string_value(url), "https://", 8) == 0)) {
        reply_err(r, 400, "invalid", "server_url: the https:// URL devices reach this server by");
        return;
    }
    ttl = json_object_get(r->body, "ttl_s");
    if (ttl && !json_is_null(ttl)) {
        if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
            json_integer_value(ttl) > ENROLL_TTL_MAX_S) {
            reply_err(r, 400, "invalid", "ttl_s: whole seconds from 1 to %d (30 days)",
                      ENROLL_TTL_MAX_S);
            return;
        }
        ttl_s = json_integer_value(ttl);
    }
    memcpy(e->grids, d->grids, sizeof(e->grids));
    e->n_grids = d->n_grids;
    snprintf(e->name, sizeof(e->name), "%s", d->name);
    snprintf(e->created_by, sizeof(e->created_by), "%s", r->admin);
    e->created_ms = r->now_ms;
    e->expires_ms = r->now_ms + ttl_s * 1000;
    for (int attempt = 0; attempt < 4 && rc == GS_E_EXISTS; attempt++) {
        rc = auth_new_id('e', e->id, sizeof(e->id));
        if (!rc)
            rc = rand_bytes(raw, sizeof(raw));
        if (!rc) {
            enroll_code_format(raw, code);
            rc = enroll_code_canon(code, canon, &err);
        }
        if (!rc)
            rc = sha256_of(canon, ENROLL_CODE_LEN, e->code_hash);
        if (rc) {
            gs_err_set(&err, rc, "cannot make a code: %s", gs_strerror(rc));
            break;
        }
        rc = store_begin(r->env->st, &err);
        if (rc)
            break;
        rc = store_enrol_add(r->env->st, e, &err);
        if (!rc)
            rc = store_commit(r->env->st, &err);
        if (rc)
            store_rollback(r->env->st);
    }
    memset(raw, 0, sizeof(raw));
    memset(canon, 0, sizeof(canon));
    if (rc) {
        log_error(r->env->lg, "admin %s: enrolment add failed: %s", r->admin, err.msg);
        reply_err(r, 500, "server", "cannot create the enrolment code");
        return;
    }
    have_fp = enroll_ca_fingerprint(r->env->cfg, fp, &err) == GS_OK;
    if (!have_fp)
        log_warn(r->env->lg, "enrolment %s: no CA fingerprint for the QR code: %s", e->id,
                 err.msg);
    log_info(r->env->lg, "admin %s: enrolment %s added for grid %s, expires in %llds", r->admin,
             e->id, e->grids[0], (long long)ttl_s);
    o = enrolment_json(r, e);
    jset(r, o, "code", json_string(code));
    jset(r, o, "ca_sha256", have_fp ? json_string(fp) : json_null());
    if (url && have_fp) {
        /* the console's page: the URI and its QR code's modules, drawn there as SVG */
        char uri[ENROLL_URI_MAX + 1];
        json_t *qr = NULL;
        if (enroll_uri_format(json_string_value(url), code, fp, uri, sizeof(uri), &err) ||
            enroll_qr_matrix(uri, &qr, &err)) {
            log_error(r->env->lg, "enrolment %s: no QR code: %s", e->id, err.msg);
            r->bad = 1;
        }
        jset(r, o, "uri", json_string(uri));
        jset(r, o, "qr", qr);
        memset(uri, 0, sizeof(uri));
    }
    memset(code, 0, sizeof(code));
    reply_json(r, 201, o);
}

/* 1 when one of the code's grids is the admin's (as device_visible). */
static int enrolment_visible(areq *r, const store_enrolment *e)
{
    for (size_t i = 0; i < e->n_grids; i++)
        if (admin_scope_grid_ok(&r->scope, e->grids[i]))
            return 1;
    return 0;
}

static int enrolment_cb(void *ud, const store_enrolment *e)
{
    list_ctx *lc = ud;
    if (!enrolment_visible(lc->r, e))
        return GS_OK;
    jappend(lc->r, lc->list, enrolment_json(lc->r, e));
    return GS_OK;
}

static void enrolment_list(areq *r)
{
    list_ctx lc = {r, json_array()};
    gs_err err;
    json_t *o;

    if (store_enrol_list(r->env->st, enrolment_cb, &lc, &err)) {
        json_decref(lc.list);
        log_error(r->env->lg, "enrolment list: %s", err.msg);
        reply_err(r, 500, "server", "cannot read the enrolments");
        return;
    }
    o = json_object();
    jset(r, o, "enrolments", lc.list);
    reply_json(r, 200, o);
}

static void enrolment_revoke(areq *r)
{
    char id[GS_LIMIT_NAME + 1];
    store_enrolment *e = arena_alloc(&r->arena, sizeof(*e));
    gs_err err;
    int rc;

    if (!e) {
        reply_err(r, 500, "server", "out of memory");
        return;
    }
    if (r->arg.len == 0 || r->arg.len > GS_LIMIT_NAME) {
        reply_err(r, 404, "not_found", "no such enrolment");
        return;
    }
    memcpy(id, r->arg.ptr, r->arg.len);
    id[r->arg.len] = '\0';
    rc = store_begin(r->env->st, &err);
    if (!rc) {
        if (!r->scope.all) { /* another town's code does not exist for this admin */
            rc = store_enrol_get(r->env->st, id, e, &err);
            if (!rc && !enrolment_visible(r, e))
                rc = GS_E_NOTFOUND;
        }
        if (!rc)
            rc = store_enrol_revoke(r->env->st, id, r->now_ms, &err);
        if (!rc)
            rc = store_enrol_get(r->env->st, id, e, &err);
        if (!rc)
            rc = store_commit(r->env->st, &err);
        if (rc)
            store_rollback(r->env->st);
    }
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 404, "not_found", "no enrolment '%s'", id);
        return;
    }
    if (rc == GS_E_STATE) {
        reply_err(r, 409, "state", "%s", err.msg);
        return;
    }
    if (rc) {
        log_error(r->env->lg, "enrolment revoke: %s", err.msg);
        reply_err(r, 500, "server", "cannot revoke the enrolment");
        return;
    }
    log_info(r->env->lg, "admin %s: enrolment %s revoked", r->admin, e->id);
    reply_json(r, 200, enrolment_json(r, e));
}

/* ------------------------------------------------------------------------------------ */
/* conflicts                                                                            */

static const schema_field *conflict_field(const store_conflict *c, const schema_table **t)
{
    *t = schema_table_find(c->tbl, strlen(c->tbl));
    return *t ? schema_field_find(*t, c->field, strlen(c->field)) : NULL;
}

/* The device's name (the worker carrying it), "admin" for resolutions. */
static json_t *worker_of(areq *r, const char *device)
{
    store_device *d;
    gs_err err;
    json_t *j;

    if (strcmp(device, MERGE_ADMIN_DEVICE) == 0)
        return json_string("admin");
    d = arena_alloc(&r->arena, sizeof(*d));
    if (!d)
        return NULL;
    if (store_device_get(r->env->st, device, strlen(device), d, &err))
        return json_null();
    j = jout_str(d->name);
    return j;
}

static void value_members(areq *r, json_t *o, const schema_field *f, const proto_value *v)
{
    jset(r, o, "value", proto_value_to_json(f, v));
    /* the value itself is the ISO string now; value_iso stays for clients of the int form */
    if (f && f->type == ST_TIME && v->type == PV_INT)
        jset(r, o, "value_iso", jout_iso(v->u.i));
    if (f && f->type == ST_ENUM && v->type == PV_STR) {
        const schema_enum *e = schema_enum_find(f, v->u.s.ptr, v->u.s.len);
        if (e)
            jset(r, o, "value_label", jout_labels(e->label_zh, e->label_en));
    }
}

static json_t *side_json(areq *r, const schema_field *f, const store_side *s)
{
    json_t *o = json_object();
    int64_t ms = (int64_t)hlc_physical(s->hlc);

    value_members(r, o, f, &s->value);
    jset(r, o, "device", jout_str(s->device));
    jset(r, o, "worker", worker_of(r, s->device));
    jset(r, o, "hlc", json_integer((json_int_t)s->hlc));
    jset(r, o, "time_ms", json_integer(ms));
    jset(r, o, "time", jout_iso(ms));
    jset(r, o, "version", json_integer((json_int_t)s->version));
    return o;
}

static json_t *conflict_summary(areq *r, const store_conflict *c)
{
    const schema_table *t;
    const schema_field *f = conflict_field(c, &t);
    json_t *o = json_object();

    jset(r, o, "id", json_integer(c->id));
    jset(r, o, "status", json_string(c->resolved ? "resolved" : "open"));
    jset(r, o, "table", jout_str(c->tbl));
    jset(r, o, "record", jout_uuid(c->rid));
    jset(r, o, "grid", jout_str(c->grid));
    jset(r, o, "field", jout_str(c->field));
    jset(r, o, "policy", json_string(policy_name(c->policy)));
    jset(r, o, "winner_side", json_string(c->winner_pushed ? "pushed" : "stored"));
    jset(r, o, "winner", side_json(r, f, &c->winner));
    jset(r, o, "other", side_json(r, f, &c->other));
    jset(r, o, "created_ms", json_integer(c->created_ms));
    jset(r, o, "created", jout_iso(c->created_ms));
    jset(r, o, "resolved_ms", json_integer(c->resolved_ms));
    jset(r, o, "resolved", jout_iso(c->resolved_ms));
    return o;
}

/* The text that names a record for people: its first required free-text field that is not
 * filled in from the device (a resident's name). NULL when the table has none. */
static json_t *record_label(areq *r, const schema_table *t, const uint8_t id[16])
{
    const schema_field *lf = schema_title_field(t);
    store_field f;
    gs_err err;

    if (!lf || store_field_get(r->env->st, t->name, id, lf->name, &r->arena, &f, &err) ||
        f.value.type != PV_STR)
        return json_null();
    return json_stringn(f.value.u.s.ptr ? f.value.u.s.ptr : "", f.value.u.s.len);
}

typedef struct fields_ctx {
    areq *r;               /* the request */
    const schema_table *t; /* the record's table */
    json_t *fields;        /* name -> value */
    json_t *refs;          /* referenced records */
    json_t *resident;      /* the resident in context, or NULL */
} fields_ctx;

static int field_cb(void *ud, const char *name, const store_field *sf)
{
    fields_ctx *fc = ud;
    const schema_field *f = schema_field_find(fc->t, name, strlen(name));

    jset(fc->r, fc->fields, name, proto_value_to_json(f, &sf->value));
    if (f && f->type == ST_REF && sf->value.type == PV_BIN && sf->value.u.s.len == UUID_LEN) {
        const schema_table *rt = schema_table_find(f->ref_table, strlen(f->ref_table));
        const uint8_t *rid = (const uint8_t *)sf->value.u.s.ptr;
        json_t *ref = json_object();
        jset(fc->r, ref, "field", jout_str(name));
        jset(fc->r, ref, "table", jout_str(f->ref_table));
        jset(fc->r, ref, "id", jout_uuid(rid));
        jset(fc->r, ref, "label", rt ? record_label(fc->r, rt, rid) : json_null());
        if (!fc->resident && strcmp(f->ref_table, "resident") == 0) {
            fc->resident = json_object();
            jset(fc->r, fc->resident, "id", jout_uuid(rid));
            jset(fc->r, fc->resident, "name", rt ? record_label(fc->r, rt, rid) : json_null());
        }
        jappend(fc->r, fc->refs, ref);
    }
    return GS_OK;
}

static json_t *conflict_detail(areq *r, const store_conflict *c)
{
    const schema_table *t;
    const schema_field *f = conflict_field(c, &t);
    json_t *o = conflict_summary(r, c), *rec = json_object(), *cur;
    fields_ctx fc = {r, t, json_object(), json_array(), NULL};
    store_record sr;
    store_field sf;
    store_audit au;
    gs_err err;

    if (!t || !f) {
        r->bad = 1;
        json_decref(rec);
        json_decref(fc.fields);
        json_decref(fc.refs);
        return o;
    }
    jset(r, o, "table_label", jout_labels(t->label_zh, t->label_en));
    jset(r, o, "field_label", jout_labels(f->label_zh, f->label_en));
    if (store_field_get(r->env->st, t->name, c->rid, f->name, &r->arena, &sf, &err) == GS_OK) {
        cur = json_object();
        value_members(r, cur, f, &sf.value);
        jset(r, cur, "version", json_integer((json_int_t)sf.version));
        jset(r, cur, "device", jout_str(sf.device));
        jset(r, cur, "worker", worker_of(r, sf.device));
        jset(r, cur, "time", jout_iso((int64_t)hlc_physical(sf.hlc)));
        jset(r, o, "current", cur);
    } else {
        jset(r, o, "current", json_null());
    }
    if (store_record_get(r->env->st, t->name, c->rid, &sr, &err) == GS_OK) {
        jset(r, rec, "exists", json_true());
        jset(r, rec, "grid", jout_str(sr.grid));
        jset(r, rec, "deleted", json_boolean(sr.deleted));
        jset(r, rec, "version", json_integer((json_int_t)sr.version));
    } else {
        jset(r, rec, "exists", json_false());
    }
    if (store_fields_each(r->env->st, t->name, c->rid, &r->arena, field_cb, &fc, &err))
        r->bad = 1;
    if (!fc.resident && strcmp(t->name, "resident") == 0) {
        fc.resident = json_object();
        jset(r, fc.resident, "id", jout_uuid(c->rid));
        jset(r, fc.resident, "name", record_label(r, t, c->rid));
    }
    jset(r, rec, "fields", fc.fields);
    jset(r, rec, "refs", fc.refs);
    jset(r, o, "record_state", rec);
    jset(r, o, "resident", fc.resident ? fc.resident : json_null());
    if (store_audit_get(r->env->st, c->id, &r->arena, &au, &err) == GS_OK) {
        json_t *res = json_object(), *oldv = json_object(), *newv = json_object();
        value_members(r, oldv, f, &au.old_value);
        value_members(r, newv, f, &au.new_value);
        jset(r, res, "admin", jout_str(au.admin));
        jset(r, res, "at_ms", json_integer(au.at_ms));
        jset(r, res, "at", jout_iso(au.at_ms));
        jset(r, res, "old", oldv);
        jset(r, res, "new", newv);
        jset(r, res, "version", json_integer((json_int_t)au.version));
        jset(r, res, "note", jout_str(au.note));
        jset(r, o, "resolution", res);
    } else {
        jset(r, o, "resolution", json_null());
    }
    return o;
}

/* Percent-decodes the value of key in the query into out. 1 found, 0 absent, -1 bad. */
static int query_get(srv_slice q, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key), i = 0;

    while (q.ptr && i < q.len) {
        size_t end = i, o = 0;
        while (end < q.len && q.ptr[end] != '&')
            end++;
        if (end - i > klen && memcmp(q.ptr + i, key, klen) == 0 && q.ptr[i + klen] == '=') {
            for (size_t k = i + klen + 1; k < end; k++) {
                int c = (unsigned char)q.ptr[k];
                if (c == '+') {
                    c = ' ';
                } else if (c == '%') {
                    int hi, lo;
                    if (k + 2 >= end)
                        return -1;
                    hi = q.ptr[k + 1];
                    lo = q.ptr[k + 2];
                    hi = hi >= '0' && hi <= '9'                 ? hi - '0'
                         : (hi | 32) >= 'a' && (hi | 32) <= 'f' ? (hi | 32) - 'a' + 10
                                                                : -1;
                    lo = lo >= '0' && lo <= '9'                 ? lo - '0'
                         : (lo | 32) >= 'a' && (lo | 32) <= 'f' ? (lo | 32) - 'a' + 10
                                                                : -1;
                    if (hi < 0 || lo < 0)
                        return -1;
                    c = hi * 16 + lo;
                    k += 2;
                }
                if (o + 1 >= cap || c == 0)
                    return -1;
                out[o++] = (char)c;
            }
            out[o] = '\0';
            return utf8_valid(out, o) ? 1 : -1;
        }
        i = end + 1;
    }
    return 0;
}

/* The query's key as a whole number in min..max: 1 with *out set, 0 when absent, -1 when it
 * is anything else (the request is then answered 400). */
static int query_int(areq *r, const char *key, int64_t min, int64_t max, int64_t *out)
{
    char text[24];
    int has = query_get(r->req->query, key, text, sizeof(text));
    size_t len = has > 0 ? strlen(text) : 0;
    int64_t n = 0;

    if (has == 0)
        return 0;
    for (size_t i = 0; has > 0 && i < len; i++) {
        if (text[i] < '0' || text[i] > '9' || n > (INT64_MAX - 9) / 10)
            has = -1;
        else
            n = n * 10 + (text[i] - '0');
    }
    if (has < 0 || len == 0 || n < min || n > max) {
        reply_err(r, 400, "invalid", "%s must be a whole number %" PRId64 "..%" PRId64, key, min,
                  max);
        return -1;
    }
    *out = n;
    return 1;
}

/* The query's grid into grid (GS_LIMIT_NAME + 1 bytes): 1 when given, 0 when absent, -1
 * when it is not a grid (answered 400). */
static int query_grid(areq *r, char *grid)
{
    int has = query_get(r->req->query, "grid", grid, GS_LIMIT_NAME + 1);

    if (has < 0 || (has && !grid[0])) {
        reply_err(r, 400, "invalid", "grid must be 1 to %d bytes of percent-encoded UTF-8",
                  GS_LIMIT_NAME);
        return -1;
    }
    return has;
}

/* The query's key as a record id into id: 1 when given, 0 absent, -1 (answered 400). */
static int query_id(areq *r, const char *key, uint8_t id[16])
{
    char text[UUID_TEXT_LEN + 2];
    int has = query_get(r->req->query, key, text, sizeof(text));

    if (has > 0 && uuid_parse(text, strlen(text), id) == GS_OK)
        return 1;
    if (has == 0)
        return 0;
    reply_err(r, 400, "invalid", "%s must be a record id (UUID text)", key);
    return -1;
}

typedef struct conflicts_ctx {
    list_ctx lc;    /* the request and the list */
    size_t limit;   /* the most listed */
} conflicts_ctx;

static int conflict_cb(void *ud, const store_conflict *c)
{
    conflicts_ctx *cc = ud;
    if (json_array_size(cc->lc.list) >= cc->limit || !admin_scope_grid_ok(&cc->lc.r->scope, c->grid))
        return GS_OK;
    jappend(cc->lc.r, cc->lc.list, conflict_summary(cc->lc.r, c));
    return GS_OK;
}

static void conflict_list(areq *r)
{
    char state[16], grid[GS_LIMIT_NAME + 1];
    int has_grid, has_state, open_only = 1;
    int64_t limit = ADMIN_LIST_DEFAULT;
    conflicts_ctx cc;
    gs_err err;
    json_t *o;

    has_state = query_get(r->req->query, "state", state, sizeof(state));
    has_grid = query_get(r->req->query, "grid", grid, sizeof(grid));
    if (has_state < 0 || (has_state && strcmp(state, "open") && strcmp(state, "all"))) {
        reply_err(r, 400, "invalid", "state must be open or all");
        return;
    }
    if (has_state)
        open_only = strcmp(state, "open") == 0;
    if (has_grid < 0) {
        reply_err(r, 400, "invalid", "grid: bad query encoding or too long");
        return;
    }
    if (query_int(r, "limit", 1, ADMIN_LIST_MAX, &limit) < 0)
        return;
    if (has_grid && !grid_visible(r, grid))
        return;
    cc.lc.r = r;
    cc.lc.list = json_array();
    cc.limit = (size_t)limit;
    /* a limited scope filters the conflicts it reads: read the most a list may hold */
    if (store_conflict_list(r->env->st, open_only, has_grid ? grid : NULL,
                            r->scope.all || has_grid ? (uint32_t)limit : ADMIN_LIST_MAX,
                            &r->arena, conflict_cb, &cc, &err)) {
        json_decref(cc.lc.list);
        log_error(r->env->lg, "conflict list: %s", err.msg);
        reply_err(r, 500, "server", "cannot read the conflicts");
        return;
    }
    o = json_object();
    jset(r, o, "conflicts", cc.lc.list);
    reply_json(r, 200, o);
}

/* The {id} segment as a conflict id; 0 when it is not one. */
static int64_t conflict_id(srv_slice s)
{
    int64_t n = 0;
    if (s.len == 0 || s.len > 18)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return 0;
        n = n * 10 + (s.ptr[i] - '0');
    }
    return n;
}

static void conflict_show(areq *r)
{
    store_conflict c;
    int64_t id = conflict_id(r->arg);
    gs_err err;
    int rc;

    if (!id) {
        reply_err(r, 404, "not_found", "no such conflict");
        return;
    }
    rc = store_conflict_get(r->env->st, id, &r->arena, &c, &err);
    if (rc == GS_OK) {
        int in = scope_has(r, c.grid);
        if (in < 0)
            return;
        if (!in)
            rc = GS_E_NOTFOUND; /* another town's conflict */
    }
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 404, "not_found", "no conflict %" PRId64, id);
        return;
    }
    if (rc) {
        log_error(r->env->lg, "conflict %" PRId64 ": %s", id, err.msg);
        reply_err(r, 500, "server", "cannot read the conflict");
        return;
    }
    reply_json(r, 200, conflict_detail(r, &c));
}

/* One resolution (POST /conflicts/{id}/resolve) as it goes through its phases. A phase that
 * refuses the request answers it (refuse) and returns non-zero; any other failure is a
 * store fault with its message in err, answered 500 by conflict_resolve. */
typedef struct resolve {
    areq *r;                  /* the request */
    int64_t id;               /* the conflict */
    const json_t *keep;       /* "winner" or "other", or NULL */
    const json_t *value;      /* the admin's own value, or NULL */
    const json_t *note;       /* note text, null or NULL */
    store_conflict c;         /* the conflict as stored */
    const schema_table *t;    /* its record's table */
    const schema_field *f;    /* its field */
    proto_value v;            /* the value to write */
    proto_value old;          /* the field's value before (nil when it had none) */
    uint64_t version;         /* the version the write got */
    int answered;             /* a phase has answered the request */
    gs_err err;               /* what failed */
} resolve;

static int refuse(resolve *x, int rc, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Answers status/code with the formatted message (reply_err) and returns rc. */
static int refuse(resolve *x, int rc, int status, const char *code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    reply_verr(x->r, status, code, fmt, ap);
    va_end(ap);
    x->answered = 1;
    return rc;
}

/* The conflict id and the body's members: exactly one of keep and value, and a note. */
static int resolve_args(resolve *x)
{
    static const char *const keys[] = {"keep", "value", "note"};
    areq *r = x->r;
    const json_t *keep, *note;

    if (!x->id)
        return refuse(x, GS_E_NOTFOUND, 404, "not_found", "no such conflict");
    if (!body_object(r, keys, 3)) {
        x->answered = 1;
        return GS_E_INVALID;
    }
    keep = x->keep = json_object_get(r->body, "keep");
    x->value = json_object_get(r->body, "value");
    note = x->note = json_object_get(r->body, "note");
    if (!keep == !x->value)
        return refuse(x, GS_E_INVALID, 400, "missing_field", "give exactly one of keep or value");
    if (keep && !(json_is_string(keep) && (strcmp(json_string_value(keep), "winner") == 0 ||
                                           strcmp(json_string_value(keep), "other") == 0)))
        return refuse(x, GS_E_INVALID, 400, "invalid", "keep must be \"winner\" or \"other\"");
    if (note && !json_is_null(note) &&
        !(json_is_string(note) && json_string_length(note) <= ADMIN_NOTE_MAX &&
          utf8_valid(json_string_value(note), json_string_length(note))))
        return refuse(x, GS_E_INVALID, 400, "invalid", "note must be text of at most %u bytes",
                      ADMIN_NOTE_MAX);
    return GS_OK;
}

/* In the transaction: the open conflict, its field and its record, which must still be
 * there; then the value to write, one of the two sides or the admin's own. */
static int resolve_load(resolve *x)
{
    areq *r = x->r;
    store_record rec;
    int rc;

    rc = store_conflict_get(r->env->st, x->id, &r->arena, &x->c, &x->err);
    if (rc == GS_OK) {
        int in = scope_has(r, x->c.grid);
        if (in < 0) {
            x->answered = 1;
            return GS_E_DB;
        }
        if (!in)
            rc = GS_E_NOTFOUND; /* another town's conflict */
    }
    if (rc == GS_E_NOTFOUND)
        return refuse(x, rc, 404, "not_found", "no conflict %" PRId64, x->id);
    if (rc)
        return rc;
    if (x->c.resolved)
        return refuse(x, GS_E_STATE, 409, "state", "conflict %" PRId64 " is already resolved",
                      x->id);
    x->f = conflict_field(&x->c, &x->t);
    if (!x->f || store_record_get(r->env->st, x->t->name, x->c.rid, &rec, &x->err) != GS_OK)
        return refuse(x, GS_E_NOTFOUND, 404, "not_found",
                      "the record of conflict %" PRId64 " is gone", x->id);
    if (x->keep) {
        x->v = strcmp(json_string_value(x->keep), "winner") == 0 ? x->c.winner.value
                                                                  : x->c.other.value;
        return GS_OK;
    }
    gs_err_clear(&x->err);
    rc = proto_value_from_json(x->t, x->f, x->value, &r->arena, &x->v, &x->err);
    if (rc == GS_E_NOMEM)
        return refuse(x, rc, 500, "server", "out of memory");
    if (rc)
        return refuse(x, rc, 400, "invalid", "%s", x->err.msg);
    return GS_OK;
}

/* The field's value now (for the audit), the admin's write as a change devices pull, the
 * conflict marked resolved, the audit entry, the HLC; then COMMIT. */
static int resolve_write(resolve *x)
{
    static const proto_value nil = {.type = PV_NIL};
    areq *r = x->r;
    store_field cur;
    store_audit au;
    merge_ctx mc;
    int rc;

    rc = store_field_get(r->env->st, x->t->name, x->c.rid, x->f->name, &r->arena, &cur, &x->err);
    if (rc && rc != GS_E_NOTFOUND)
        return rc;
    x->old = nil;
    if (rc == GS_OK && cur.version) /* cur is written only when the field is there */
        x->old = cur.value;
    merge_init(&mc, r->env->st, r->env->clock, &r->arena, r->now_ms);
    gs_err_clear(&x->err);
    rc = merge_admin_set(&mc, x->t->name, x->c.rid, x->f->name, &x->v, &x->version, &x->err);
    if (rc == GS_E_INVALID || rc == GS_E_NOTFOUND)
        return refuse(x, rc, 400, "invalid", "%s", x->err.msg);
    if (rc)
        return rc;
    memset(&au, 0, sizeof(au));
    au.conflict = x->id;
    snprintf(au.admin, sizeof(au.admin), "%s", r->scope.who.name); /* the audit names the admin */
    au.at_ms = r->now_ms;
    au.old_value = x->old;
    au.new_value = x->v;
    au.version = x->version;
    au.note = json_is_string(x->note) ? json_string_value(x->note) : "";
    rc = store_conflict_resolve(r->env->st, x->id, r->now_ms, &x->err);
    if (!rc)
        rc = store_audit_add(r->env->st, &au, &x->err);
    if (!rc)
        rc = store_hlc_set(r->env->st, r->env->clock->last, &x->err);
    if (!rc)
        rc = store_commit(r->env->st, &x->err);
    return rc;
}

/* Arguments, then in one transaction the conflict and the value, the write and the audit;
 * the answer is the resolved conflict read back. Every failure rolls back (a no-op before
 * BEGIN and after COMMIT) and answers once: the refusal, or 500 for a store fault. */
static void conflict_resolve(areq *r)
{
    resolve x;
    int rc;

    memset(&x, 0, sizeof(x));
    x.r = r;
    x.id = conflict_id(r->arg);
    gs_err_clear(&x.err);
    rc = resolve_args(&x);
    if (rc)
        goto out;
    rc = store_begin(r->env->st, &x.err);
    if (rc)
        goto out;
    rc = resolve_load(&x);
    if (rc)
        goto out;
    rc = resolve_write(&x);
    if (rc)
        goto out;
    log_info(r->env->lg, "admin %s: conflict %" PRId64 " resolved, %s.%s version %" PRIu64,
             r->admin, x.id, x.t->name, x.f->name, x.version);
    rc = store_conflict_get(r->env->st, x.id, &r->arena, &x.c, &x.err);
    if (rc)
        goto out;
    reply_json(r, 200, conflict_detail(r, &x.c));
out:
    if (rc) {
        store_rollback(r->env->st);
        if (!x.answered) {
            log_error(r->env->lg, "resolve %" PRId64 ": %s", x.id, x.err.msg);
            reply_err(r, 500, "server", "server fault, nothing changed");
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* status                                                                               */

typedef struct status_ctx {
    areq *r;         /* the request */
    json_t *grids;   /* grid name -> {"grid","records":{},"open_conflicts"} */
    json_t *devices; /* array */
} status_ctx;

static json_t *grid_entry(status_ctx *sc, const char *grid)
{
    json_t *g = json_object_get(sc->grids, grid), *recs;
    gs_err ignored;
    if (g)
        return g;
    if (!admin_scope_grid_ok(&sc->r->scope, grid))
        return NULL; /* another town's grid: not listed */
    g = json_object();
    recs = json_object();
    for (size_t i = 0; i < schema_n_tables; i++)
        jset(sc->r, recs, schema_tables[i].name, json_integer(0));
    jset(sc->r, g, "grid", jout_str(grid));
    jset(sc->r, g, "town", jout_str(admin_scope_town_of(&sc->r->scope, grid, &ignored)));
    jset(sc->r, g, "records", recs);
    jset(sc->r, g, "open_conflicts", json_integer(0));
    jset(sc->r, sc->grids, grid, g);
    return sc->r->bad ? NULL : g;
}

static int status_device_cb(void *ud, const store_device *d)
{
    status_ctx *sc = ud;
    if (!device_visible(sc->r, d))
        return GS_OK;
    jappend(sc->r, sc->devices, device_json(sc->r, d));
    if (!d->revoked_ms)
        for (size_t i = 0; i < d->n_grids; i++)
            grid_entry(sc, d->grids[i]);
    return GS_OK;
}

static int status_record_cb(void *ud, const char *grid, const char *tbl, int64_t n)
{
    status_ctx *sc = ud;
    json_t *g = grid_entry(sc, grid);
    if (g)
        jset(sc->r, json_object_get(g, "records"), tbl, json_integer(n));
    return GS_OK;
}

static int status_conflict_cb(void *ud, const char *grid, const char *tbl, int64_t n)
{
    status_ctx *sc = ud;
    json_t *g = grid_entry(sc, grid);
    (void)tbl;
    if (g)
        jset(sc->r, g, "open_conflicts", json_integer(n));
    return GS_OK;
}

/* The status's grids by town, then grid (unregistered grids, town "", first). */
static int by_town_grid(const void *pa, const void *pb)
{
    json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    int c = strcmp(json_string_value(json_object_get(a, "town")),
                   json_string_value(json_object_get(b, "town")));
    return c ? c : strcmp(json_string_value(json_object_get(a, "grid")),
                          json_string_value(json_object_get(b, "grid")));
}

static void status(areq *r)
{
    status_ctx sc = {r, json_object(), json_array()};
    json_t *o, *grids = json_array(), *g;
    const char *k;
    gs_err err;
    int rc;

    rc = store_device_list(r->env->st, status_device_cb, &sc, &err);
    if (!rc)
        rc = store_record_counts(r->env->st, status_record_cb, &sc, &err);
    if (!rc)
        rc = store_conflict_counts(r->env->st, status_conflict_cb, &sc, &err);
    if (rc) {
        json_decref(sc.grids);
        json_decref(sc.devices);
        json_decref(grids);
        log_error(r->env->lg, "status: %s", err.msg);
        reply_err(r, 500, "server", "cannot read the status");
        return;
    }
    {
        size_t n = json_object_size(sc.grids), i = 0;
        json_t **sorted = n ? arena_alloc_array(&r->arena, n, sizeof(*sorted)) : NULL;
        if (n && !sorted)
            r->bad = 1;
        json_object_foreach(sc.grids, k, g)
        {
            if (sorted && !r->bad)
                sorted[i++] = g;
        }
        if (i)
            qsort(sorted, i, sizeof(*sorted), by_town_grid);
        for (size_t j = 0; j < i; j++)
            jappend(r, grids, json_incref(sorted[j]));
    }
    json_decref(sc.grids);
    o = json_object();
    jset(r, o, "now_ms", json_integer(r->now_ms));
    jset(r, o, "now", jout_iso(r->now_ms));
    jset(r, o, "silent_days", json_integer(r->env->cfg->silent_days));
    jset(r, o, "devices", sc.devices);
    jset(r, o, "grids", grids);
    reply_json(r, 200, o);
}

/* ------------------------------------------------------------------------------------ */
/* schema                                                                               */

/* The record types, their fields (the tombstone last, "implicit") and every label, so the
 * console shows 走访 and 紧急 without a copy of schema.c: the document devices get from GET
 * /v1/schema (proto/schema_wire.c), as JSON. */
static void schema(areq *r)
{
    gs_buf doc;
    json_t *o = NULL;

    buf_init(&doc, PROTO_MAX_BODY);
    if (proto_encode_schema(&doc) == GS_OK)
        o = jout_from_msgpack(doc.ptr, doc.len);
    buf_free(&doc);
    reply_json(r, 200, o); /* NULL: 500 */
}

/* ------------------------------------------------------------------------------------ */
/* the dashboard, warnings, records (dash.c, admin_warnings.c, admin_records.c)         */

/* Answers a module's failure: its refusal (rc of the request's own making) with the
 * module's message, or 500 for a store fault. */
static void module_fail(areq *r, int rc, const gs_err *err, const char *what)
{
    if (rc == GS_E_INVALID) {
        reply_err(r, 400, "invalid", "%s", err->msg);
        return;
    }
    log_error(r->env->lg, "%s: %s", what, err->msg);
    reply_err(r, 500, "server", "cannot read the %s", what);
}

static void dashboard(areq *r)
{
    char grid[GS_LIMIT_NAME + 1];
    int64_t from = 0, to = 0, days = DASH_DAYS_DEFAULT;
    dash_query q;
    json_t *o = NULL;
    gs_err err;
    int has_grid, has_from, has_to, has_days, rc;

    if ((has_grid = query_grid(r, grid)) < 0 ||
        (has_from = query_int(r, "from", 0, ADMIN_RECORDS_TIME_MAX, &from)) < 0 ||
        (has_to = query_int(r, "to", 0, ADMIN_RECORDS_TIME_MAX, &to)) < 0 ||
        (has_days = query_int(r, "days", 1, DASH_DAYS_MAX, &days)) < 0)
        return;
    if (has_from && has_days) {
        reply_err(r, 400, "invalid", "give from or days, not both");
        return;
    }
    if (has_grid && !grid_visible(r, grid))
        return;
    memset(&q, 0, sizeof(q));
    q.grid = has_grid ? grid : NULL;
    q.now_ms = r->now_ms;
    q.ud = &r->scope; /* the admin's grids only, grouped by town */
    q.grid_ok = r->scope.all ? NULL : admin_scope_grid_ok;
    q.town_of = admin_scope_town_cb;
    /* the last `days` days (30 by default), up to now or up to `to` */
    dash_last_days(has_to ? to : r->now_ms, (int)days, &q.from_ms, &q.to_ms);
    if (has_from)
        q.from_ms = from;
    gs_err_clear(&err);
    rc = dash_build(r->env->st, r->env->cfg, &q, &o, &err);
    if (rc) {
        module_fail(r, rc, &err, "dashboard");
        return;
    }
    reply_json(r, 200, o);
}

/* state=open,acknowledged (a comma-separated list of states, or all) as state bits; 0 and
 * answered 400 when a name is not a state. */
static unsigned query_states(areq *r)
{
    char text[64];
    const char *p = text;
    int has = query_get(r->req->query, "state", text, sizeof(text));
    unsigned bits = 0;

    if (has == 0)
        return admin_warnings_state_bit("open", strlen("open")) |
               admin_warnings_state_bit("acknowledged", strlen("acknowledged"));
    if (has > 0 && strcmp(text, "all") == 0)
        return ~0u;
    while (has > 0) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        unsigned bit = admin_warnings_state_bit(p, len);
        if (!bit)
            break;
        bits |= bit;
        if (!end)
            return bits;
        p = end + 1;
    }
    reply_err(r, 400, "invalid",
              "state must be open, acknowledged, cleared, all, or a comma-separated list of "
              "them");
    return 0;
}

static void warnings_list(areq *r)
{
    char grid[GS_LIMIT_NAME + 1];
    uint8_t after[16];
    int64_t limit = ADMIN_WARNINGS_DEFAULT;
    admin_warnings_query q;
    json_t *o = NULL;
    gs_err err;
    int has_grid, has_after, rc;

    memset(&q, 0, sizeof(q));
    if ((has_grid = query_grid(r, grid)) < 0 || !(q.states = query_states(r)) ||
        (has_after = query_id(r, "after", after)) < 0 ||
        query_int(r, "limit", 1, ADMIN_WARNINGS_MAX, &limit) < 0)
        return;
    if (has_grid && !grid_visible(r, grid))
        return;
    q.grid = has_grid ? grid : NULL;
    q.after = has_after ? after : NULL;
    q.limit = (uint32_t)limit;
    q.grid_ok = r->scope.all ? NULL : admin_scope_grid_ok;
    q.grid_ud = &r->scope;
    gs_err_clear(&err);
    rc = admin_warnings_list(r->env->st, &q, &r->arena, &o, &err);
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 400, "invalid", "after: no such warning");
        return;
    }
    if (rc) {
        module_fail(r, rc, &err, "warnings");
        return;
    }
    reply_json(r, 200, o);
}

static void warning_ack(areq *r)
{
    static const char *const keys[] = {"note"};
    const json_t *note = NULL;
    uint8_t id[16];
    json_t *o = NULL;
    gs_err err;
    int rc;

    if (uuid_parse(r->arg.ptr, r->arg.len, id) != GS_OK) {
        reply_err(r, 404, "not_found", "no such warning");
        return;
    }
    if (r->body) {
        if (!body_object(r, keys, 1))
            return;
        note = json_object_get(r->body, "note");
    }
    if (note && !json_is_null(note) &&
        !(json_is_string(note) && strlen(json_string_value(note)) == json_string_length(note))) {
        reply_err(r, 400, "wrong_type", "note must be text (or null)");
        return;
    }
    if (!r->scope.all) { /* another town's warning does not exist for this admin */
        store_record w;
        int in = store_record_get(r->env->st, "warning", id, &w, &err) ? 0 : scope_has(r, w.grid);
        if (in < 0)
            return;
        if (!in) {
            reply_err(r, 404, "not_found", "no warning %.36s", r->arg.ptr);
            return;
        }
    }
    gs_err_clear(&err);
    rc = admin_warnings_ack(r->env->st, r->env->clock, id,
                            json_is_string(note) ? json_string_value(note) : NULL,
                            r->scope.who.name, r->now_ms, &r->arena, &o, &err);
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 404, "not_found", "%s", err.msg);
        return;
    }
    if (rc == GS_E_STATE) {
        reply_err(r, 409, "state", "%s", err.msg);
        return;
    }
    if (rc) {
        module_fail(r, rc, &err, "warning");
        return;
    }
    log_info(r->env->lg, "admin %s: warning %.36s acknowledged", r->admin, r->arg.ptr);
    reply_json(r, 200, o);
}

static void records_list(areq *r)
{
    char type[GS_LIMIT_NAME + 1], grid[GS_LIMIT_NAME + 1];
    int64_t limit = ADMIN_RECORDS_DEFAULT;
    uint8_t after[16];
    admin_records_query q;
    json_t *o = NULL;
    gs_err err;
    int has_type = query_get(r->req->query, "type", type, sizeof(type)), has_after, has_grid, rc;

    memset(&q, 0, sizeof(q));
    q.to_ms = ADMIN_RECORDS_TIME_MAX;
    if (has_type == 0) {
        reply_err(r, 400, "missing_field", "type is required (a record type of the schema)");
        return;
    }
    q.t = has_type > 0 ? schema_table_find(type, strlen(type)) : NULL;
    if (!q.t) {
        reply_err(r, 400, "invalid", "type: not a record type of the schema");
        return;
    }
    if (query_int(r, "from", 0, ADMIN_RECORDS_TIME_MAX, &q.from_ms) < 0 ||
        query_int(r, "to", 0, ADMIN_RECORDS_TIME_MAX, &q.to_ms) < 0 ||
        (has_after = query_id(r, "after", after)) < 0 ||
        query_int(r, "limit", 1, ADMIN_RECORDS_MAX, &limit) < 0 ||
        (has_grid = query_grid(r, grid)) < 0)
        return;
    if (has_grid && !grid_visible(r, grid))
        return;
    q.grid = has_grid ? grid : NULL;
    q.grid_ok = r->scope.all ? NULL : admin_scope_grid_ok;
    q.grid_ud = &r->scope;
    if (q.from_ms > q.to_ms) {
        reply_err(r, 400, "invalid", "from is after to");
        return;
    }
    q.after = has_after ? after : NULL;
    q.limit = (uint32_t)limit;
    gs_err_clear(&err);
    rc = admin_records_page(r->env->st, &q, &r->arena, &o, &err);
    if (rc == GS_E_NOTFOUND) {
        reply_err(r, 400, "invalid", "after: no %s with that id", q.t->name);
        return;
    }
    if (rc) {
        module_fail(r, rc, &err, "records");
        return;
    }
    reply_json(r, 200, o);
}

/* ------------------------------------------------------------------------------------ */
/* towns, grids and admins (admin_registry.c)                                           */

static void registry(areq *r, route rt, int is_post)
{
    char town[STORE_REG_TEXT_MAX + 1], id[GS_LIMIT_NAME + 1];
    int has_town, status = is_post ? 201 : 200, rc;
    json_t *o = NULL;
    gs_err err;

    gs_err_clear(&err);
    switch (rt) {
    case R_TOWNS:
        rc = is_post ? admin_reg_town_add(&r->scope, r->body, r->now_ms, &o, &err)
                     : admin_reg_towns(&r->scope, &o, &err);
        break;
    case R_GRIDS:
        if (is_post) {
            rc = admin_reg_grid_add(&r->scope, r->body, r->now_ms, &o, &err);
            break;
        }
        has_town = query_get(r->req->query, "town", town, sizeof(town));
        if (has_town < 0 || (has_town && !town[0])) {
            reply_err(r, 400, "invalid", "town: bad query encoding or too long");
            return;
        }
        rc = admin_reg_grids(&r->scope, has_town ? town : NULL, &o, &err);
        break;
    case R_GRID_MOVE:
        status = 200;
        rc = admin_reg_grid_move(&r->scope, r->body, r->now_ms, &o, &err);
        break;
    case R_GRID_IMPORT:
        status = 200;
        rc = admin_reg_grid_import(&r->scope, r->body, r->now_ms, &o, &err);
        break;
    case R_ADMINS:
        rc = is_post ? admin_reg_admin_add(&r->scope, r->body, r->now_ms, &o, &err)
                     : admin_reg_admins(&r->scope, &o, &err);
        break;
    case R_ADMIN_REVOKE:
        status = 200;
        if (r->arg.len == 0 || r->arg.len > GS_LIMIT_NAME) {
            reply_err(r, 404, "not_found", "no such admin");
            return;
        }
        memcpy(id, r->arg.ptr, r->arg.len);
        id[r->arg.len] = '\0';
        rc = admin_reg_admin_revoke(&r->scope, id, r->now_ms, &o, &err);
        break;
    default:
        rc = gs_err_set(&err, GS_E_NOTFOUND, "no such admin endpoint");
        break;
    }
    switch (rc) {
    case GS_OK:
        if (is_post)
            log_info(r->env->lg, "admin %s: %.*s done", r->admin, (int)r->req->path.len,
                     r->req->path.ptr);
        reply_json(r, status, o);
        return;
    case GS_E_INVALID:
        reply_err(r, 400, "invalid", "%s", err.msg);
        return;
    case GS_E_READ_ONLY:
        reply_err(r, 403, "forbidden", "%s", err.msg);
        return;
    case GS_E_NOTFOUND:
        reply_err(r, 404, "not_found", "%s", err.msg);
        return;
    case GS_E_EXISTS:
        reply_err(r, 409, "exists", "%s", err.msg);
        return;
    case GS_E_STATE:
        reply_err(r, 409, "state", "%s", err.msg);
        return;
    default:
        log_error(r->env->lg, "registry: %s", err.msg);
        reply_err(r, 500, "server", "server fault, nothing changed");
        return;
    }
}

/* ------------------------------------------------------------------------------------ */
/* routing and authentication                                                           */

static int seg_is(srv_slice s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

/* Splits the path after /v1/admin/ into at most 3 segments. */
static route parse_route(srv_slice path, srv_slice *arg, const char **method)
{
    static const char prefix[] = "/v1/admin/";
    srv_slice seg[3];
    size_t n = 0, i = sizeof(prefix) - 1;

    if (path.len < i || memcmp(path.ptr, prefix, i) != 0)
        return R_NONE;
    while (i <= path.len) {
        size_t end = i;
        while (end < path.len && path.ptr[end] != '/')
            end++;
        if (n == 3 || end == i)
            return R_NONE;
        seg[n].ptr = path.ptr + i;
        seg[n].len = end - i;
        n++;
        i = end + 1;
    }
    if (n == 1 && seg_is(seg[0], "devices")) {
        *method = NULL; /* GET or POST */
        return R_DEVICES;
    }
    if (n == 1 && seg_is(seg[0], "conflicts")) {
        *method = "GET";
        return R_CONFLICTS;
    }
    if (n == 1 && seg_is(seg[0], "status")) {
        *method = "GET";
        return R_STATUS;
    }
    if (n == 1 && seg_is(seg[0], "schema")) {
        *method = "GET";
        return R_SCHEMA;
    }
    if (n == 1 && seg_is(seg[0], "dashboard")) {
        *method = "GET";
        return R_DASHBOARD;
    }
    if (n == 1 && seg_is(seg[0], "warnings")) {
        *method = "GET";
        return R_WARNINGS;
    }
    if (n == 1 && seg_is(seg[0], "records")) {
        *method = "GET";
        return R_RECORDS;
    }
    if (n == 1 && seg_is(seg[0], "towns")) {
        *method = NULL;
        return R_TOWNS;
    }
    if (n == 1 && seg_is(seg[0], "grids")) {
        *method = NULL;
        return R_GRIDS;
    }
    if (n == 2 && seg_is(seg[0], "grids") && seg_is(seg[1], "move")) {
        *method = "POST";
        return R_GRID_MOVE;
    }
    if (n == 2 && seg_is(seg[0], "grids") && seg_is(seg[1], "import")) {
        *method = "POST";
        return R_GRID_IMPORT;
    }
    if (n == 1 && seg_is(seg[0], "admins")) {
        *method = NULL;
        return R_ADMINS;
    }
    if (n == 3 && seg_is(seg[0], "admins") && seg_is(seg[2], "revoke")) {
        *arg = seg[1];
        *method = "POST";
        return R_ADMIN_REVOKE;
    }
    if (n == 3 && seg_is(seg[0], "warnings") && seg_is(seg[2], "ack")) {
        *arg = seg[1];
        *method = "POST";
        return R_WARNING_ACK;
    }
    if (n == 3 && seg_is(seg[0], "devices") && seg_is(seg[2], "rename")) {
        *arg = seg[1];
        *method = "POST";
        return R_DEVICE_RENAME;
    }
    if (n == 1 && seg_is(seg[0], "enrolments")) {
        *method = NULL; /* GET or POST */
        return R_ENROLMENTS;
    }
    if (n == 3 && seg_is(seg[0], "enrolments") && seg_is(seg[2], "revoke")) {
        *arg = seg[1];
        *method = "POST";
        return R_ENROLMENT_REVOKE;
    }
    if (n == 3 && seg_is(seg[0], "devices") && seg_is(seg[2], "revoke")) {
        *arg = seg[1];
        *method = "POST";
        return R_DEVICE_REVOKE;
    }
    if (n == 2 && seg_is(seg[0], "conflicts")) {
        *arg = seg[1];
        *method = "GET";
        return R_CONFLICT;
    }
    if (n == 3 && seg_is(seg[0], "conflicts") && seg_is(seg[2], "resolve")) {
        *arg = seg[1];
        *method = "POST";
        return R_CONFLICT_RESOLVE;
    }
    return R_NONE;
}

int admin_api_auth(admin_env *env, const char *header, size_t len, char *admin_id, size_t cap)
{
    const char *id, *secret;
    size_t id_len, secret_len;
    store_admin *a;
    gs_err err;
    int rc;

    if (auth_parse_bearer(header, len, &id, &id_len, &secret, &secret_len) || id_len >= cap)
        return GS_E_AUTH;
    a = gs_malloc(sizeof(*a));
    if (!a)
        return GS_E_NOMEM;
    pthread_mutex_lock(env->lock);
    rc = store_admin_load(env->st, id, id_len, a, &err);
    pthread_mutex_unlock(env->lock);
    if (rc && rc != GS_E_NOTFOUND) {
        gs_free(a);
        return rc;
    }
    /* a revoked admin's token is checked all the same (the same cost), then refused */
    if (!auth_verify(rc == GS_OK ? a->token_hash : NULL, secret, secret_len) ||
        (rc == GS_OK && a->revoked_ms)) {
        gs_free(a);
        return GS_E_AUTH;
    }
    gs_free(a);
    memcpy(admin_id, id, id_len);
    admin_id[id_len] = '\0';
    return GS_OK;
}

void admin_api_describe(admin_env *env, const char *admin_id, json_t *o)
{
    store_admin *a = gs_malloc(sizeof(*a));
    json_t *j = NULL;
    gs_err err;
    int bad = 0, rc = a ? GS_OK : GS_E_NOMEM;

    if (!rc) {
        pthread_mutex_lock(env->lock);
        rc = store_admin_load(env->st, admin_id, strlen(admin_id), a, &err);
        pthread_mutex_unlock(env->lock);
    }
    if (!rc)
        j = admin_reg_admin_json(a, &bad);
    if (j && !bad && o) {
        json_object_set(o, "name", json_object_get(j, "name"));
        json_object_set(o, "role", json_object_get(j, "role"));
        json_object_set(o, "towns", json_object_get(j, "towns"));
    }
    json_decref(j);
    gs_free(a);
}

static int slice_is(srv_slice s, const char *lit)
{
    return s.ptr && s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

int admin_is_json(srv_slice s)
{
    static const char want[] = ADMIN_CONTENT_TYPE;
    size_t n = 0;
    if (!s.ptr)
        return 0;
    while (n < s.len && s.ptr[n] != ';' && s.ptr[n] != ' ')
        n++;
    if (n != sizeof(want) - 1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s.ptr[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != want[i])
            return 0;
    }
    return 1;
}

void admin_api_handle(admin_env *env, const srv_request *req, srv_response *resp)
{
    areq r;
    const char *method = NULL;
    json_error_t jerr;
    int rc, is_post = slice_is(req->method, "POST"), is_get = slice_is(req->method, "GET");
    route rt;

    memset(&r, 0, sizeof(r));
    r.env = env;
    r.req = req;
    r.resp = resp;
    /* the server clock's wall time (a test's own clock when it gives the HLC one) */
    r.now_ms = (int64_t)(env->clock && env->clock->clock ? env->clock->clock(env->clock->clock_ud)
                                                         : hlc_wall_ms(NULL));
    arena_init(&r.arena, SVAL_ARENA_MAX);
    rc = env->session_auth ? env->session_auth(env->session_ud, req, r.admin, sizeof(r.admin))
                           : GS_E_NOTFOUND;
    if (rc == GS_E_NOTFOUND)
        rc = admin_api_auth(env, req->authorization.ptr, req->authorization.len, r.admin,
                            sizeof(r.admin));
    if (rc) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                 "WWW-Authenticate: Bearer realm=\"gridsync admin\"\r\n");
        if (rc == GS_E_AUTH)
            reply_err(&r, 401, "auth", "an admin token is required");
        else
            reply_err(&r, 500, "server", "cannot check the token");
        goto out;
    }
    {
        /* the admin as stored now: a session outlives nothing its admin's revocation ends,
         * and its role and towns are read afresh for every request */
        store_admin *a = arena_alloc(&r.arena, sizeof(*a));
        gs_err err;
        rc = a ? GS_OK : GS_E_NOMEM;
        if (!rc) {
            pthread_mutex_lock(env->lock);
            rc = store_admin_load(env->st, r.admin, strlen(r.admin), a, &err);
            pthread_mutex_unlock(env->lock);
        }
        if (!rc && a->revoked_ms)
            rc = GS_E_AUTH;
        if (!rc && admin_scope_init(&r.scope, env->st, a))
            rc = GS_E_DB;
        if (rc) {
            snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                     "WWW-Authenticate: Bearer realm=\"gridsync admin\"\r\n");
            if (rc == GS_E_AUTH || rc == GS_E_NOTFOUND)
                reply_err(&r, 401, "auth", "this admin has been revoked");
            else
                reply_err(&r, 500, "server", "cannot check the admin");
            goto out;
        }
    }
    snprintf(resp->log_note, sizeof(resp->log_note), "admin=%s", r.admin);
    rt = parse_route(req->path, &r.arg, &method);
    if (rt == R_NONE) {
        reply_err(&r, 404, "not_found", "no such admin endpoint");
        goto out;
    }
    if ((method && !slice_is(req->method, method)) || (!method && !is_get && !is_post)) {
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: %s\r\n",
                 method ? method : "GET, POST");
        reply_err(&r, 405, "method", "method not allowed here");
        goto out;
    }
    if (req->body_len > ADMIN_BODY_MAX) {
        reply_err(&r, 413, "too_large", "admin request bodies are at most %u bytes",
                  ADMIN_BODY_MAX);
        goto out;
    }
    if (req->content_encoding.len && !slice_is(req->content_encoding, "identity")) {
        reply_err(&r, 415, "content_type", "admin requests are not compressed");
        goto out;
    }
    if (is_post && req->body_len > 0) {
        if (!admin_is_json(req->content_type)) {
            reply_err(&r, 415, "content_type", "the body must be " ADMIN_CONTENT_TYPE);
            goto out;
        }
        r.body = json_loadb((const char *)req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!r.body) {
            reply_err(&r, 400, "malformed", "bad JSON at line %d column %d: %s", jerr.line,
                      jerr.column, jerr.text);
            goto out;
        }
    }
    if (is_post && !admin_scope_can_write(&r.scope)) {
        reply_err(&r, 403, "forbidden", "a viewer admin reads only");
        goto out;
    }
    if (is_post && !r.body &&
        (rt == R_DEVICES || rt == R_CONFLICT_RESOLVE || rt == R_TOWNS || rt == R_GRIDS ||
         rt == R_GRID_MOVE || rt == R_GRID_IMPORT || rt == R_ADMINS || rt == R_ENROLMENTS ||
         rt == R_DEVICE_RENAME)) {
        reply_err(&r, 400, "malformed", "a JSON body is required");
        goto out;
    }

    pthread_mutex_lock(env->lock);
    group_flush(env->group); /* the admin sees, and writes after, committed syncs only */
    switch (rt) {
    case R_DEVICES:
        if (is_post)
            device_add(&r);
        else
            device_list(&r);
        break;
    case R_DEVICE_REVOKE:
        device_revoke(&r);
        break;
    case R_CONFLICTS:
        conflict_list(&r);
        break;
    case R_CONFLICT:
        conflict_show(&r);
        break;
    case R_CONFLICT_RESOLVE:
        conflict_resolve(&r);
        break;
    case R_STATUS:
        status(&r);
        break;
    case R_SCHEMA:
        schema(&r);
        break;
    case R_DASHBOARD:
        dashboard(&r);
        break;
    case R_WARNINGS:
        warnings_list(&r);
        break;
    case R_WARNING_ACK:
        warning_ack(&r);
        break;
    case R_RECORDS:
        records_list(&r);
        break;
    case R_TOWNS:
    case R_GRIDS:
    case R_GRID_MOVE:
    case R_GRID_IMPORT:
    case R_ADMINS:
    case R_ADMIN_REVOKE:
        registry(&r, rt, is_post);
        break;
    case R_ENROLMENTS:
        if (is_post)
            enrolment_add(&r);
        else
            enrolment_list(&r);
        break;
    case R_ENROLMENT_REVOKE:
        enrolment_revoke(&r);
        break;
    case R_DEVICE_RENAME:
        device_rename(&r);
        break;
    case R_NONE:
        break;
    }
    pthread_mutex_unlock(env->lock);
out:
    {
        size_t used = strlen(resp->extra_headers);
        snprintf(resp->extra_headers + used, sizeof(resp->extra_headers) - used, "%s",
                 ADMIN_API_SECURITY_HEADERS);
    }
    json_decref(r.body);
    admin_scope_free(&r.scope);
    arena_free(&r.arena);
}
