/*
 * admin_api.h: the JSON admin API under /v1/admin/ (docs/ADMIN-API.md): devices, conflicts
 * and their resolution, sync status, the dashboard, warnings, records for the export. JSON is parsed and produced with jansson only.
 *
 *   POST /v1/admin/devices                  {"grids":[...],"name":...} -> 201 {"id","token",...}
 *   GET  /v1/admin/devices                  -> {"devices":[...]}
 *   POST /v1/admin/devices/{id}/revoke      [{"wipe":"none"|"now"|"after_upload"}] -> the device
 *   GET  /v1/admin/conflicts?state=open|all&grid=G&limit=N -> {"conflicts":[...]}
 *   GET  /v1/admin/conflicts/{id}           -> the conflict in context
 *   POST /v1/admin/conflicts/{id}/resolve   {"keep":"winner"|"other"} | {"value":V}, "note"
 *   GET  /v1/admin/status                   -> {"devices":[...],"grids":[...]}
 *   GET  /v1/admin/schema                   -> {"tables":[...]} record types, labels
 *   GET  /v1/admin/dashboard?grid=G&from=MS&to=MS -> the town's (or a grid's) figures (dash.h)
 *   GET  /v1/admin/warnings?grid=&state=&limit=&after= -> {"warnings":[...],"next_after"}
 *   POST /v1/admin/warnings/{id}/ack        {"note":...} -> the warning, acknowledged
 *   GET  /v1/admin/records?type=T&grid=G&from=&to=&after=&limit= -> a page of records (export)
 *   /v1/admin/towns, /grids, /grids/move, /grids/import, /admins, /admins/{id}/revoke:
 *                                           the registry and the admins (admin_registry.h)
 *
 * Every request is scoped by its admin's role (admin_roles.h): the admin is read from the
 * store on each request (revoked: 401), a viewer's POST is 403, and another town's grid,
 * device, conflict or warning is 404 for a town admin, left out of its lists.
 *
 * Invariants: every request needs an admin token or a console session with its csrf token
 * (401 otherwise, device tokens included);
 * bodies are at most ADMIN_BODY_MAX bytes; every error is {"error":code,"message":text}; a
 * resolution is one store transaction (the admin change, the conflict's state and the
 * audit row together), under the same lock as syncs.
 */
#ifndef GS_SERVER_ADMIN_API_H
#define GS_SERVER_ADMIN_API_H

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "common/hlc.h"
#include "common/log.h"
#include "proto/schema.h"
#include "app.h"
#include "store.h"

#define ADMIN_BODY_MAX (1024u * 1024) /* bytes of an admin request body */
/* On every admin API answer, like the console's pages (issue 18, item 10): JSON is never to
 * be framed, run or rendered as a document. */
#define ADMIN_API_SECURITY_HEADERS                                                                 \
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n"                     \
    "X-Frame-Options: DENY\r\n"
#define ADMIN_NOTE_MAX 1000u          /* bytes of a resolution note */
#define ADMIN_LIST_DEFAULT 1000u      /* conflicts listed when no limit is given */
#define ADMIN_LIST_MAX 5000u          /* most conflicts one list returns */
#define ADMIN_CONTENT_TYPE "application/json"

/* What the admin API works with; every member is owned by the app (api.c). */
typedef struct admin_env {
    store *st;             /* the store; used only while holding *lock */
    pthread_mutex_t *lock; /* the app's store lock */
    struct sync_group *group; /* syncs sharing an open transaction, flushed before any
                                 other store use (group.h); NULL in tests without syncs */
    hlc *clock;            /* the server HLC (guarded by *lock) */
    const srv_config *cfg; /* settings (silent_days) */
    srv_metrics *metrics;  /* auth_failures */
    gs_logger *lg;         /* log */
    /* Optional second way in, for the web console (console.c): called first for every
     * request; GS_E_NOTFOUND means "not a console request" and the admin token is checked
     * instead, GS_OK fills admin_id, anything else is a 401. NULL: tokens only. */
    int (*session_auth)(void *ud, const srv_request *req, char *admin_id, size_t cap);
    void *session_ud;      /* passed to session_auth */
} admin_env;

/* Answers one request whose path starts with /v1/admin. Never fails. */
void admin_api_handle(admin_env *env, const srv_request *req, srv_response *resp);

/* Checks an Authorization header value for an admin token. GS_OK with the admin's id in
 * admin_id, GS_E_AUTH, or GS_E_DB. Takes and releases *env->lock. For the console. */
int admin_api_auth(admin_env *env, const char *header, size_t len, char *admin_id, size_t cap);

/* 1 when a Content-Type is ADMIN_CONTENT_TYPE (case-insensitive, parameters after ';'
 * ignored): the admin API's, the console's sign-in and the enrolment's bodies. */
int admin_is_json(srv_slice s);

/* Adds the admin's "name", "role" and "towns" to o (the console's session answer); nothing
 * when the admin cannot be read. Takes and releases *env->lock. */
void admin_api_describe(admin_env *env, const char *admin_id, json_t *o);

#endif
