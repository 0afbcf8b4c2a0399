/*
 * fuzz_admin.c: libFuzzer target for the admin API's handling of untrusted bytes: JSON
 * bodies, query strings (of every list: conflicts, the dashboard, warnings, records) and
 * paths go through app_handle on a temporary store (seeded with
 * devices and open conflicts), and JSON values through proto_value_from_json for every
 * field of the schema.
 *
 * Input: the first byte picks what the rest is (see the switch below). A 5xx answer is a
 * finding (the store is healthy and memory plentiful, so the server has no excuse), as is
 * any crash or sanitizer report.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hlc.h"
#include "common/uuid.h"
#include "proto/proto.h"
#include "proto/schema.h"
#include "proto/value_json.h"
#include "server/admin_api.h"
#include "server/app.h"

/* The fuzzer's world, made once (libFuzzer runs inputs in one process). */
typedef struct world {
    char dir[64];        /* temporary folder */
    srv_config cfg;      /* settings */
    srv_metrics metrics; /* counters */
    gs_logger lg;        /* silent */
    srv_app *app;        /* the application */
    char admin[200];     /* "Bearer <admin token>" */
    char dev[2][240];    /* "Bearer <device token>" of two devices */
    char dev_id[2][65];  /* their ids */
} world;

static world *W;

static int handle(const char *method, const char *path, const char *query, const char *ctype,
                  const char *auth, const void *body, size_t len)
{
    srv_request req;
    srv_response resp;
    int status;

    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method.ptr = method;
    req.method.len = strlen(method);
    req.path.ptr = path;
    req.path.len = strlen(path);
    req.query.ptr = query ? query : "";
    req.query.len = query ? strlen(query) : 0;
    if (ctype) {
        req.content_type.ptr = ctype;
        req.content_type.len = strlen(ctype);
    }
    req.authorization.ptr = auth;
    req.authorization.len = strlen(auth);
    req.body = body;
    req.body_len = len;
    req.peer = "fuzz";
    buf_init(&resp.body, 16u << 20);
    app_handle(W->app, &req, &resp);
    status = resp.status;
    if (status >= 500 || status == 0) {
        fprintf(stderr, "fuzz_admin: %s %s answered %d: %.*s\n", method, path, status,
                (int)resp.body.len, resp.body.ptr ? resp.body.ptr : "");
        abort();
    }
    if (status != 401 && resp.content_type && strcmp(resp.content_type, "application/json") == 0) {
        /* every admin answer is JSON */
        json_error_t jerr;
        json_t *j = json_loadb(resp.body.ptr, resp.body.len, 0, &jerr);
        if (!j)
            abort();
        json_decref(j);
    }
    buf_free(&resp.body);
    return status;
}

/* One change pushed by device d: the name of the resident rid, with base and HLC. */
static void push_name(int d, const uint8_t rid[16], int create, const char *name, uint64_t base,
                      uint64_t seq, uint64_t ts)
{
    proto_field f[2];
    proto_change c;
    proto_sync_req q;
    gs_buf body;

    memset(f, 0, sizeof(f));
    f[0].name = proto_cstr("name");
    f[0].value.type = PV_STR;
    f[0].value.u.s = proto_cstr(name);
    f[0].ver = base;
    f[1].name = proto_cstr("grid");
    f[1].value.type = PV_STR;
    f[1].value.u.s = proto_cstr("g1");
    memset(&c, 0, sizeof(c));
    c.seq = seq;
    c.table = proto_cstr("resident");
    memcpy(c.id, rid, 16);
    c.hlc = ts;
    c.fields = f;
    c.n_fields = create ? 2 : 1;
    memset(&q, 0, sizeof(q));
    q.version = PROTO_VERSION;
    q.device = proto_cstr(W->dev_id[d]);
    q.low = seq;
    q.changes = &c;
    q.n_changes = 1;
    buf_init(&body, PROTO_MAX_BODY);
    if (proto_encode_sync_req(&body, &q) ||
        handle("POST", PROTO_SYNC_PATH, NULL, PROTO_CONTENT_TYPE, W->dev[d], body.ptr, body.len) !=
            200)
        abort();
    buf_free(&body);
}

static void make_world(void)
{
    char token[128];
    gs_err err;

    W = calloc(1, sizeof(*W));
    snprintf(W->dir, sizeof(W->dir), "/tmp/gs-fuzz-admin-XXXXXX");
    if (!mkdtemp(W->dir))
        abort();
    config_defaults(&W->cfg);
    snprintf(W->cfg.db_path, sizeof(W->cfg.db_path), "%s/s.db", W->dir);
    if (app_init_store(W->cfg.db_path, token, sizeof(token), &err))
        abort();
    snprintf(W->admin, sizeof(W->admin), "Bearer %s", token);
    log_init(&W->lg, "fuzz", GS_LOG_OFF);
    if (app_open(&W->app, &W->cfg, &W->metrics, &W->lg, &err))
        abort();
    for (int d = 0; d < 2; d++) {
        static const char js[] = "{\"grids\":[\"g1\",\"g2\"],\"name\":\"fuzz\"}";
        srv_request req;
        srv_response resp;
        json_t *j;
        memset(&req, 0, sizeof(req));
        memset(&resp, 0, sizeof(resp));
        req.method.ptr = "POST";
        req.method.len = 4;
        req.path.ptr = "/v1/admin/devices";
        req.path.len = strlen(req.path.ptr);
        req.content_type.ptr = "application/json";
        req.content_type.len = 16;
        req.authorization.ptr = W->admin;
        req.authorization.len = strlen(W->admin);
        req.body = (const uint8_t *)js;
        req.body_len = strlen(js);
        buf_init(&resp.body, 1 << 20);
        app_handle(W->app, &req, &resp);
        j = json_loadb(resp.body.ptr, resp.body.len, 0, NULL);
        if (resp.status != 201 || !j)
            abort();
        snprintf(W->dev[d], sizeof(W->dev[d]), "Bearer %s",
                 json_string_value(json_object_get(j, "token")));
        snprintf(W->dev_id[d], sizeof(W->dev_id[d]), "%s",
                 json_string_value(json_object_get(j, "id")));
        json_decref(j);
        buf_free(&resp.body);
    }
    /* 40 open conflicts on residents' names, for the resolve paths to chew on */
    for (int i = 0; i < 40; i++) {
        uint8_t rid[16];
        uint64_t now = hlc_wall_ms(NULL);
        if (uuid_v7(rid, now))
            abort();
        push_name(0, rid, 1, "王秀英", 0, (uint64_t)(3 * i + 1), hlc_pack(now - 5000, 0));
        push_name(0, rid, 0, "Wang", 1, (uint64_t)(3 * i + 2), hlc_pack(now - 4000, 0));
        push_name(1, rid, 0, "<b>Li</b>", 1, (uint64_t)(i + 1), hlc_pack(now - 3000, 0));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    make_world();
    return 0;
}

/* A NUL-terminated copy of the input past the selector, at most cap - 1 bytes. */
static void text_of(const uint8_t *data, size_t size, char *out, size_t cap)
{
    size_t n = size < cap - 1 ? size : cap - 1;
    memcpy(out, data, n);
    out[n] = '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512], path[600];
    uint8_t sel;

    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    switch (sel % 8) {
    case 0: /* a device-add body, and the same as a warning's acknowledgement */
        handle("POST", "/v1/admin/devices", NULL, "application/json", W->admin, data, size);
        handle("POST", "/v1/admin/warnings/0190f5a4-7b3c-7def-8a12-3456789abcde/ack", NULL,
               "application/json", W->admin, data, size);
        break;
    case 1: /* a resolve body for one of the seeded conflicts */
        snprintf(path, sizeof(path), "/v1/admin/conflicts/%u/resolve", 1u + sel / 8 % 40);
        handle("POST", path, NULL, "application/json", W->admin, data, size);
        break;
    case 2: /* a query string for the lists: conflicts, dashboard, warnings, records */
        text_of(data, size, text, sizeof(text));
        handle("GET", "/v1/admin/conflicts", text, NULL, W->admin, NULL, 0);
        handle("GET", "/v1/admin/dashboard", text, NULL, W->admin, NULL, 0);
        handle("GET", "/v1/admin/warnings", text, NULL, W->admin, NULL, 0);
        handle("GET", "/v1/admin/records", text, NULL, W->admin, NULL, 0);
        break;
    case 3: /* a path under /v1/admin/, GET or POST */
        text_of(data, size, text, sizeof(text));
        snprintf(path, sizeof(path), "/v1/admin/%s", text);
        handle(sel & 8 ? "POST" : "GET", path, NULL, "application/json", W->admin, NULL, 0);
        break;
    case 4: { /* a JSON value for every field of the schema */
        json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
        if (!j)
            break;
        for (size_t t = 0; t < schema_n_tables; t++) {
            const schema_table *tb = &schema_tables[t];
            for (size_t k = 0; k < tb->n_fields; k++) {
                gs_arena a;
                proto_value v;
                gs_err err;
                arena_init(&a, 1 << 20);
                if (proto_value_from_json(tb, &tb->fields[k], j, &a, &v, &err) == GS_OK &&
                    schema_check_value(tb, &tb->fields[k], &v, &err) == GS_OK) {
                    /* what was accepted comes back as JSON again */
                    json_t *back = proto_value_to_json(&tb->fields[k], &v);
                    if (!back)
                        abort();
                    json_decref(back);
                }
                arena_free(&a);
            }
        }
        json_decref(j);
        break;
    }
    case 5: /* an Authorization header */
        text_of(data, size, text, sizeof(text));
        handle("GET", "/v1/admin/status", NULL, NULL, text, NULL, 0);
        break;
    case 6: /* a resolve body for a conflict id from the input */
        text_of(data, size < 24 ? size : 24, text, sizeof(text));
        snprintf(path, sizeof(path), "/v1/admin/conflicts/%s/resolve", text);
        handle("POST", path, NULL, "application/json", W->admin, "{\"keep\":\"other\"}", 16);
        break;
    default: /* a body sent to a GET endpoint and a revoke */
        handle("GET", "/v1/admin/status", NULL, "application/json", W->admin, data, size);
        break;
    }
    return 0;
}
