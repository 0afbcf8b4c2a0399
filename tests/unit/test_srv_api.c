/*
 * test_srv_api.c: gridsyncd's application seen from the network layer: hand-made
 * srv_requests through app_handle on a real store made by app_init_store.
 *
 * Covers the status codes of /v1/sync (401, 403, 405, 413, 415, 400 per kind of bad body,
 * 426), a good sync end to end through the real codec (push, pull, deflate, duplicate
 * replay, log note, metrics), the admin API (devices, conflicts, resolution reaching the
 * devices, status, its 4xx answers; a resolution whose value the schema refuses, one of a
 * field the record never had), revocation with a remote wipe (410 wiped, 410
 * upload_then_wipe), and 50 devices syncing at once from 50 threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hlc.h"
#include "common/uuid.h"
#include "common/zbody.h"
#include "proto/proto.h"
#include "proto/schema.h"
#include "server/app.h"
#include "server/jout.h"
#include "server/store.h"
#include "tests/lib/tdir.h"

#define RESP_CAP (32u * 1024 * 1024)

typedef struct fx {
    char dir[TDIR_MAX];  /* temporary folder */
    srv_config cfg;      /* settings */
    srv_metrics metrics; /* counters */
    gs_logger lg;        /* quiet logger */
    srv_app *app;        /* the application */
    char admin[160];     /* "Bearer <admin token>" */
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char token[128];
    gs_err err;

    assert_int_equal(tdir_make(f->dir, "api"), 0);
    config_defaults(&f->cfg);
    snprintf(f->cfg.db_path, sizeof(f->cfg.db_path), "%s/gridsyncd.db", f->dir);
    if (app_init_store(f->cfg.db_path, token, sizeof(token), &err))
        fail_msg("init: %s", err.msg);
    assert_int_equal(app_init_store(f->cfg.db_path, token, sizeof(token), &err), GS_E_EXISTS);
    snprintf(f->admin, sizeof(f->admin), "Bearer %s", token);
    log_init(&f->lg, "test", GS_LOG_OFF);
    if (app_open(&f->app, &f->cfg, &f->metrics, &f->lg, &err))
        fail_msg("open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    app_close(f->app);
    assert_int_equal(tdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* requests                                                                             */

typedef struct req_opts {
    const char *method; /* default POST */
    const char *path;   /* default /v1/sync */
    const char *query;  /* NULL: none */
    const char *ctype;  /* Content-Type, NULL: none */
    const char *cenc;   /* Content-Encoding */
    const char *accept; /* Accept-Encoding */
    const char *auth;   /* Authorization */
    const void *body;   /* body bytes */
    size_t len;         /* body length */
} req_opts;

static srv_slice sl(const char *s)
{
    srv_slice x = {s, s ? strlen(s) : 0};
    return x;
}

static srv_response *call(fx *f, req_opts o)
{
    srv_request req;
    srv_response *resp = calloc(1, sizeof(*resp));

    memset(&req, 0, sizeof(req));
    req.method = sl(o.method ? o.method : "POST");
    req.path = sl(o.path ? o.path : "/v1/sync");
    req.query = sl(o.query ? o.query : "");
    req.content_type = sl(o.ctype);
    req.content_encoding = sl(o.cenc);
    req.accept_encoding = sl(o.accept);
    req.authorization = sl(o.auth);
    req.body = o.body;
    req.body_len = o.len;
    req.peer = "127.0.0.1:1";
    buf_init(&resp->body, RESP_CAP);
    app_handle(f->app, &req, resp);
    return resp;
}

static void resp_free(srv_response *r)
{
    buf_free(&r->body);
    free(r);
}

/* The err code of a MessagePack Error body. */
static void expect_sync_error(srv_response *r, int status, const char *code)
{
    proto_error *e = NULL;
    gs_err err;
    if (r->status != status)
        fail_msg("status %d, want %d (body %zu bytes)", r->status, status, r->body.len);
    assert_string_equal(r->content_type, PROTO_CONTENT_TYPE);
    if (proto_decode_error(r->body.ptr, r->body.len, &e, &err))
        fail_msg("error body does not decode: %s", err.msg);
    if (!proto_str_eq(e->code, code))
        fail_msg("err %.*s (%.*s), want %s", (int)e->code.len, e->code.ptr, (int)e->msg.len,
                 e->msg.ptr, code);
    proto_error_free(e);
}

/* JSON of an admin response; fails unless the status is as expected. */
static json_t *admin_call(fx *f, const char *method, const char *path, const char *query,
                          const char *body, int want_status)
{
    req_opts o = {method, path,     query, body ? "application/json" : NULL, NULL,
                  NULL,   f->admin, body,  body ? strlen(body) : 0};
    srv_response *r = call(f, o);
    json_error_t jerr;
    json_t *j;

    if (r->status != want_status)
        fail_msg("%s %s: status %d, want %d: %.*s", method, path, r->status, want_status,
                 (int)r->body.len, r->body.ptr);
    assert_string_equal(r->content_type, "application/json");
    j = json_loadb(r->body.ptr, r->body.len, 0, &jerr);
    if (!j)
        fail_msg("%s %s: reply is not JSON: %s", method, path, jerr.text);
    resp_free(r);
    return j;
}

typedef struct device {
    char id[65];    /* device id */
    char auth[200]; /* "Bearer <token>" */
} device;

static void add_device(fx *f, const char *grids_json, device *d)
{
    char body[256];
    json_t *j;
    snprintf(body, sizeof(body), "{\"grids\":%s,\"name\":\"张伟\"}", grids_json);
    j = admin_call(f, "POST", "/v1/admin/devices", NULL, body, 201);
    snprintf(d->id, sizeof(d->id), "%s", json_string_value(json_object_get(j, "id")));
    snprintf(d->auth, sizeof(d->auth), "Bearer %s", json_string_value(json_object_get(j, "token")));
    json_decref(j);
}

/* ------------------------------------------------------------------------------------ */
/* sync bodies                                                                          */

typedef struct resident {
    uint8_t id[16];   /* record id */
    proto_field f[2]; /* name, grid */
} resident;

static void make_resident(resident *r, const char *name, const char *grid)
{
    assert_int_equal(uuid_v7(r->id, hlc_wall_ms(NULL)), GS_OK);
    memset(r->f, 0, sizeof(r->f));
    r->f[0].name = proto_cstr("name");
    r->f[0].value.type = PV_STR;
    r->f[0].value.u.s = proto_cstr(name);
    r->f[1].name = proto_cstr("grid");
    r->f[1].value.type = PV_STR;
    r->f[1].value.u.s = proto_cstr(grid);
}

static void encode_req(gs_buf *out, const char *dev, uint64_t cur, uint64_t low, proto_change *ch,
                       uint32_t n)
{
    proto_sync_req m;
    memset(&m, 0, sizeof(m));
    m.version = PROTO_VERSION;
    m.device = proto_cstr(dev);
    m.cursor = cur;
    m.low = low;
    m.now = hlc_pack(hlc_wall_ms(NULL), 0);
    m.changes = ch;
    m.n_changes = n;
    buf_init(out, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(out, &m), GS_OK);
}

/* POSTs a sync body as the device; returns the decoded 200 response. */
static proto_sync_resp *sync_call(fx *f, const device *d, const gs_buf *body, int deflate,
                                  srv_response **raw)
{
    req_opts o = {
        NULL,    NULL,      NULL,     PROTO_CONTENT_TYPE, NULL, deflate ? "gzip, deflate" : NULL,
        d->auth, body->ptr, body->len};
    srv_response *r = call(f, o);
    proto_sync_resp *m = NULL;
    gs_buf plain;
    gs_err err;

    if (r->status != 200)
        fail_msg("sync: status %d", r->status);
    buf_init(&plain, PROTO_MAX_BODY);
    if (r->content_encoding) {
        assert_string_equal(r->content_encoding, "deflate");
        assert_int_equal(zbody_inflate(r->body.ptr, r->body.len, PROTO_MAX_BODY, &plain, &err),
                         GS_OK);
    } else {
        assert_int_equal(buf_add(&plain, r->body.ptr, r->body.len), GS_OK);
    }
    if (proto_decode_sync_resp(plain.ptr, plain.len, &m, &err))
        fail_msg("sync response does not decode: %s", err.msg);
    /* the decoded strings point into plain: keep it alive as long as m (leaked to m's arena
     * is not possible, so hand it over through raw's body) */
    buf_free(&r->body);
    r->body = plain;
    if (raw)
        *raw = r;
    else
        fail_msg("sync_call needs raw to keep the body alive");
    return m;
}

/* ------------------------------------------------------------------------------------ */
/* status codes                                                                         */

/* GET /v1/schema: a device's token (not an admin's, not none), MessagePack, the same
 * document as GET /v1/admin/schema in JSON, and what a client needs of each field. */
static void test_schema_for_devices(void **state)
{
    fx *f = *state;
    device a;
    srv_response *r;
    json_t *admin, *dev, *tables, *t, *fl, *e;
    size_t i, k;
    int seen_next = 0, seen_scope = 0, seen_tomb = 0;

    add_device(f, "[\"g1\"]", &a);
    {
        const char *auths[] = {NULL, "Bearer nodot", f->admin};
        for (i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
            r = call(f, (req_opts){.method = "GET", .path = "/v1/schema", .auth = auths[i]});
            expect_sync_error(r, 401, "auth");
            resp_free(r);
        }
    }
    r = call(f, (req_opts){.method = "POST", .path = "/v1/schema", .auth = a.auth});
    expect_sync_error(r, 405, "method");
    assert_non_null(strstr(r->extra_headers, "Allow: GET"));
    resp_free(r);

    r = call(f, (req_opts){.method = "GET", .path = "/v1/schema", .auth = a.auth});
    if (r->status != 200)
        fail_msg("GET /v1/schema: status %d", r->status);
    assert_string_equal(r->content_type, PROTO_CONTENT_TYPE);
    dev = jout_from_msgpack(r->body.ptr, r->body.len);
    if (!dev)
        fail_msg("the schema (%zu bytes) is not one MessagePack document", r->body.len);
    resp_free(r);
    admin = admin_call(f, "GET", "/v1/admin/schema", NULL, NULL, 200);
    if (!json_equal(admin, dev))
        fail_msg("GET /v1/schema and GET /v1/admin/schema differ");
    json_decref(admin);

    assert_int_equal(json_integer_value(json_object_get(dev, "v")), PROTO_VERSION);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(dev, "limits"), "changes")),
                     PROTO_MAX_CHANGES);
    tables = json_object_get(dev, "tables");
    assert_int_equal(json_array_size(tables), schema_n_tables);
    json_array_foreach(tables, i, t)
    {
        const schema_table *st = &schema_tables[i];
        fl = json_object_get(t, "fields");
        assert_string_equal(json_string_value(json_object_get(t, "name")), st->name);
        assert_int_equal(json_array_size(fl), st->n_fields + 1);
        json_array_foreach(fl, k, e)
        {
            const char *name = json_string_value(json_object_get(e, "name"));
            json_t *enums = json_object_get(e, "enums");
            size_t j;
            json_t *en;
            if (k == st->n_fields) { /* the tombstone, last */
                assert_string_equal(name, SCHEMA_DELETED_FIELD);
                assert_true(json_is_true(json_object_get(e, "implicit")));
                assert_string_equal(json_string_value(json_object_get(e, "policy")), "delete");
                seen_tomb++;
                continue;
            }
            assert_string_equal(name, st->fields[k].name);
            assert_int_equal(json_array_size(enums), st->fields[k].n_enums);
            if (json_is_true(json_object_get(e, "scope"))) {
                assert_string_equal(name, SCHEMA_SCOPE_FIELD);
                seen_scope++;
            }
            json_array_foreach(enums, j, en)
            {
                assert_non_null(json_string_value(
                    json_object_get(json_object_get(en, "label"), "zh")));
                seen_next += json_object_get(en, "next") != NULL;
            }
        }
    }
    assert_int_equal(seen_scope, schema_n_tables);
    assert_int_equal(seen_tomb, schema_n_tables);
    assert_true(seen_next >= 11); /* dispute.status 5 values, errand.status 6 */
    /* a few values a client builds forms and checks from */
    t = json_array_get(tables, 0);
    assert_string_equal(json_string_value(json_object_get(t, "name")), "resident");
    fl = json_object_get(t, "fields");
    for (k = 0, e = NULL; k < json_array_size(fl) && !e; k++)
        if (strcmp(json_string_value(json_object_get(json_array_get(fl, k), "name")), "name") == 0)
            e = json_array_get(fl, k);
    assert_non_null(e);
    assert_true(json_is_true(json_object_get(e, "required")));
    assert_int_equal(json_integer_value(json_object_get(e, "max_len")), 200);
    json_decref(dev);
}

/* jout_from_msgpack: the admin's JSON form of the schema document; anything that is not
 * one document of map, array, str, int, float, bool and nil is refused, not guessed. */
static void test_jout_from_msgpack(void **state)
{
    static const struct {
        const char *name;  /* what the bytes are */
        const char *bytes; /* MessagePack */
        size_t len;        /* bytes */
        const char *json;  /* the JSON wanted, NULL: refused */
    } cases[] = {
        {"nested", "\x83\xa1\x61\x92\x01\xc0\xa1\x62\x81\xa1\x63\xc3\xa1\x64\xcb\x3f\xf8\0\0\0\0\0\0",
         23, "{\"a\":[1,null],\"b\":{\"c\":true},\"d\":1.5}"},
        {"negative and utf-8", "\x92\xd0\x85\xa3\xe7\xbd\x91", 7, "[-123,\"网\"]"},
        {"int key", "\x81\x01\x02", 3, NULL},
        {"trailing byte", "\x80\x00", 2, NULL},
        {"truncated", "\x92\x01", 2, NULL},
        {"bin", "\x91\xc4\x01\x00", 4, NULL},
        {"ext", "\x91\xd4\x01\x00", 4, NULL},
        {"uint above 2^63-1", "\x91\xcf\x80\0\0\0\0\0\0\0", 10, NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *got = jout_from_msgpack(cases[i].bytes, cases[i].len), *want = NULL;
        if (cases[i].json)
            want = json_loads(cases[i].json, 0, NULL);
        if (!cases[i].json ? got != NULL : !json_equal(got, want))
            fail_msg("%s: got %s", cases[i].name, got ? json_dumps(got, JSON_COMPACT) : "NULL");
        json_decref(got);
        json_decref(want);
    }
}

static void test_auth_and_device_checks(void **state)
{
    fx *f = *state;
    device a, b;
    gs_buf body;
    srv_response *r;
    char bad[256];

    add_device(f, "[\"g1\"]", &a);
    add_device(f, "[\"g1\"]", &b);
    encode_req(&body, a.id, 0, 1, NULL, 0);
    const char *auths[] = {NULL,           "",      "Basic abc", "Bearer ", "Bearer nodot",
                           "Bearer d-x.y", f->admin};
    for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
        req_opts o = {NULL,     NULL,     NULL,    PROTO_CONTENT_TYPE, NULL, NULL,
                      auths[i], body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 401, "auth");
        assert_null(strstr(r->log_note, "Bearer"));
        resp_free(r);
    }
    /* the right device with a wrong secret */
    snprintf(bad, sizeof(bad), "%s", a.auth);
    bad[strlen(bad) - 1] ^= 1;
    {
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, bad, body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 401, "auth");
        resp_free(r);
    }
    assert_int_equal(atomic_load(&f->metrics.auth_failures), 8);
    /* B's token with A's dev */
    {
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, b.auth, body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 403, "wrong_device");
        resp_free(r);
    }
    /* method and content type */
    {
        req_opts o = {"GET", NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, a.auth, NULL, 0};
        r = call(f, o);
        expect_sync_error(r, 405, "method");
        assert_non_null(strstr(r->extra_headers, "Allow: POST"));
        resp_free(r);
    }
    {
        req_opts o = {NULL, NULL, NULL, "application/json", NULL, NULL, a.auth, body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 415, "content_type");
        resp_free(r);
    }
    {
        req_opts o = {NULL, "/v1/nothing", NULL, NULL, NULL, NULL, a.auth, NULL, 0};
        r = call(f, o);
        expect_sync_error(r, 404, "not_found");
        resp_free(r);
    }
    /* revoked: 401 from then on */
    {
        char path[128];
        json_t *j;
        snprintf(path, sizeof(path), "/v1/admin/devices/%s/revoke", a.id);
        j = admin_call(f, "POST", path, NULL, NULL, 200);
        assert_true(json_is_true(json_object_get(j, "revoked")));
        json_decref(j);
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, a.auth, body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 401, "auth");
        resp_free(r);
    }
    buf_free(&body);
}

/* Packs a map from alternating keys and a packing step, for hand-broken bodies. */
typedef struct packbuf {
    char data[4096]; /* bytes */
    size_t len;      /* in use */
} packbuf;

static int pb_write(void *d, const char *b, size_t n)
{
    packbuf *p = d;
    memcpy(p->data + p->len, b, n);
    p->len += n;
    return 0;
}

static void pk_key(msgpack_packer *pk, const char *k)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
}

/* A SyncRequest map with the given variation: 0 good, 1 v as str, 2 no "low",
 * 3 extra key, 4 v = 0, 5 nested too deep. */
static void pack_req(packbuf *p, const char *dev, int variant)
{
    msgpack_packer pk;
    int n = variant == 2 ? 5 : variant == 3 ? 7 : 6;
    memset(p, 0, sizeof(*p));
    msgpack_packer_init(&pk, p, pb_write);
    msgpack_pack_map(&pk, (size_t)n);
    pk_key(&pk, "v");
    if (variant == 1)
        pk_key(&pk, "1");
    else
        msgpack_pack_uint32(&pk, variant == 4 ? 0 : 1);
    pk_key(&pk, "dev");
    pk_key(&pk, dev);
    pk_key(&pk, "cur");
    msgpack_pack_uint32(&pk, 0);
    if (variant != 2) {
        pk_key(&pk, "low");
        msgpack_pack_uint32(&pk, 1);
    }
    pk_key(&pk, "now");
    msgpack_pack_uint64(&pk, 1);
    pk_key(&pk, "ch");
    if (variant == 5) {
        msgpack_pack_array(&pk, 1);
        for (int i = 0; i < 10; i++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_array(&pk, 0);
    }
    if (variant == 3) {
        pk_key(&pk, "zzz");
        msgpack_pack_nil(&pk);
    }
}

static void test_bad_bodies_400_413_426(void **state)
{
    fx *f = *state;
    device a;
    packbuf p;
    srv_response *r;
    static const struct {
        int variant;      /* pack_req variant */
        int cut;          /* bytes to drop from the end (truncated) */
        int extra;        /* bytes to add (trailing) */
        int status;       /* want */
        const char *code; /* want */
    } cases[] = {
        {1, 0, 0, 400, "wrong_type"},       {2, 0, 0, 400, "missing_field"},
        {3, 0, 0, 400, "unknown_field"},    {0, 3, 0, 400, "truncated"},
        {0, 0, 2, 400, "trailing_bytes"},   {5, 0, 0, 400, "too_deep"},
        {4, 0, 0, 426, "upgrade_required"},
    };

    add_device(f, "[\"g1\"]", &a);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pack_req(&p, a.id, cases[i].variant);
        p.len -= (size_t)cases[i].cut;
        if (cases[i].extra) {
            p.data[p.len++] = (char)0xc0;
            p.data[p.len++] = (char)0xc0;
        }
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, a.auth, p.data, p.len};
        r = call(f, o);
        expect_sync_error(r, cases[i].status, cases[i].code);
        if (cases[i].status == 426) {
            proto_error *e;
            gs_err err;
            assert_int_equal(proto_decode_error(r->body.ptr, r->body.len, &e, &err), GS_OK);
            assert_int_equal(e->min_version, PROTO_MIN_VERSION);
            proto_error_free(e);
        }
        resp_free(r);
    }
    /* not MessagePack at all */
    {
        static const char junk[] = "\xc1 not msgpack";
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, a.auth, junk, 13};
        r = call(f, o);
        expect_sync_error(r, 400, "malformed");
        resp_free(r);
    }
    /* corrupt deflate */
    {
        static const char junk[] = "\x78\x9c\xff\xff\xff\xff";
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, "deflate", NULL, a.auth, junk, 6};
        r = call(f, o);
        expect_sync_error(r, 400, "bad_encoding");
        resp_free(r);
    }
    /* an unknown Content-Encoding */
    {
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, "gzip", NULL, a.auth, "x", 1};
        r = call(f, o);
        expect_sync_error(r, 415, "content_type");
        assert_non_null(strstr(r->extra_headers, "Accept-Encoding: deflate"));
        resp_free(r);
    }
    /* a deflate body that inflates past 8 MiB (a zip bomb): 413, without inflating it all */
    {
        size_t big = PROTO_MAX_BODY + 4096;
        char *zeros = calloc(1, big);
        gs_buf z;
        gs_err err;
        buf_init(&z, PROTO_MAX_BODY);
        assert_int_equal(zbody_deflate(zeros, big, ZBODY_LEVEL_BEST_LINK, &z, &err), GS_OK);
        assert_true(z.len < 64 * 1024);
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, "deflate", NULL, a.auth, z.ptr, z.len};
        r = call(f, o);
        expect_sync_error(r, 413, "too_large");
        resp_free(r);
        /* and a plain body over the limit */
        req_opts o2 = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, a.auth, zeros, big};
        r = call(f, o2);
        expect_sync_error(r, 413, "too_large");
        resp_free(r);
        buf_free(&z);
        free(zeros);
    }
    /* the device's last result says what went wrong */
    {
        json_t *j = admin_call(f, "GET", "/v1/admin/devices", NULL, NULL, 200);
        json_t *d0 = json_array_get(json_object_get(j, "devices"), 0);
        assert_string_equal(json_string_value(json_object_get(d0, "last_result")), "413 too_large");
        json_decref(j);
    }
}

/* ------------------------------------------------------------------------------------ */
/* a good sync                                                                          */

/* Pushes n new residents of grid as d with seqs from seq0; returns the decoded response. */
static proto_sync_resp *push_residents(fx *f, const device *d, const char *grid, int n,
                                       uint64_t seq0, uint64_t cur, srv_response **raw,
                                       resident *out)
{
    resident *res = out ? out : calloc((size_t)n, sizeof(*res));
    proto_change *ch = calloc((size_t)n, sizeof(*ch));
    proto_sync_resp *m;
    gs_buf body;

    for (int i = 0; i < n; i++) {
        make_resident(&res[i], "王秀英", grid);
        ch[i].seq = seq0 + (uint64_t)i;
        ch[i].table = proto_cstr("resident");
        memcpy(ch[i].id, res[i].id, 16);
        ch[i].hlc = hlc_pack(hlc_wall_ms(NULL), (uint32_t)i);
        ch[i].fields = res[i].f;
        ch[i].n_fields = 2;
    }
    encode_req(&body, d->id, cur, seq0, ch, (uint32_t)n);
    m = sync_call(f, d, &body, 0, raw);
    buf_free(&body);
    free(ch);
    if (!out)
        free(res);
    return m;
}

/* A body of n new residents of grid as d, seqs from seq0 (res keeps the field storage). */
static void residents_body(gs_buf *body, const device *d, const char *grid, int n, uint64_t seq0,
                           resident *res, proto_change *ch)
{
    for (int i = 0; i < n; i++) {
        make_resident(&res[i], "王秀英", grid);
        memset(&ch[i], 0, sizeof(ch[i]));
        ch[i].seq = seq0 + (uint64_t)i;
        ch[i].table = proto_cstr("resident");
        memcpy(ch[i].id, res[i].id, 16);
        ch[i].hlc = hlc_pack(hlc_wall_ms(NULL), (uint32_t)i);
        ch[i].fields = res[i].f;
        ch[i].n_fields = 2;
    }
    encode_req(body, d->id, 0, seq0, ch, (uint32_t)n);
}

/* Changes a device pulls from cursor 0 (one page is enough here). */
static uint32_t pulled_from_0(fx *f, const device *d)
{
    srv_response *raw = NULL;
    proto_sync_resp *m;
    gs_buf body;
    uint32_t n;

    encode_req(&body, d->id, 0, 1, NULL, 0);
    m = sync_call(f, d, &body, 0, &raw);
    n = m->n_changes;
    proto_sync_resp_free(m);
    resp_free(raw);
    buf_free(&body);
    return n;
}

static void revoke_with(fx *f, const device *d, const char *body, const char *want_wipe)
{
    char path[128];
    json_t *j;
    snprintf(path, sizeof(path), "/v1/admin/devices/%s/revoke", d->id);
    j = admin_call(f, "POST", path, NULL, body, 200);
    assert_true(json_is_true(json_object_get(j, "revoked")));
    assert_string_equal(json_string_value(json_object_get(j, "wipe")), want_wipe);
    json_decref(j);
}

static const char *last_result(fx *f, const device *d)
{
    static char out[STORE_RESULT_MAX + 1];
    json_t *j = admin_call(f, "GET", "/v1/admin/devices", NULL, NULL, 200), *x;
    size_t i;
    out[0] = '\0';
    json_array_foreach(json_object_get(j, "devices"), i, x)
    {
        if (strcmp(json_string_value(json_object_get(x, "id")), d->id) == 0)
            snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(x, "last_result")));
    }
    json_decref(j);
    return out;
}

/* Remote wipe (issue 21): a device revoked with wipe "now" gets 410 wiped from its head on
 * and nothing it sends is merged; one revoked with "after_upload" has each batch merged
 * (exactly once) and answered 410 upload_then_wipe with nothing to read, then 410 wiped to
 * an empty batch; a wrong token stays 401; the revoke body is checked. */
static void test_revoke_with_wipe(void **state)
{
    fx *f = *state;
    device now, up, watch;
    resident res[3];
    proto_change ch[3];
    gs_buf body, empty;
    srv_response *r, head;
    size_t max_body = 0;
    char bad[256];

    add_device(f, "[\"g1\"]", &now);
    add_device(f, "[\"g1\"]", &up);
    add_device(f, "[\"g1\"]", &watch);
    assert_int_equal(pulled_from_0(f, &watch), 0);

    /* the revoke body: only "wipe", one of three names */
    {
        char path[128];
        const char *bodies[] = {"{\"wipe\":\"later\"}", "{\"wipe\":1}", "{\"other\":1}",
                                "[\"now\"]"};
        snprintf(path, sizeof(path), "/v1/admin/devices/%s/revoke", now.id);
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
            json_decref(admin_call(f, "POST", path, NULL, bodies[i], 400));
        json_t *j = admin_call(f, "GET", "/v1/admin/devices", NULL, NULL, 200);
        json_t *x = json_array_get(json_object_get(j, "devices"), 0);
        assert_false(json_is_true(json_object_get(x, "revoked"))); /* refused: nothing done */
        assert_string_equal(json_string_value(json_object_get(x, "wipe")), "none");
        json_decref(j);
    }

    /* wipe now: 410 from the head, nothing merged */
    revoke_with(f, &now, "{\"wipe\":\"now\"}", "now");
    residents_body(&body, &now, "g1", 2, 1, res, ch);
    {
        req_opts o = {NULL,    NULL,    NULL, PROTO_CONTENT_TYPE, NULL, NULL,
                      now.auth, body.ptr, body.len};
        srv_request req;
        memset(&req, 0, sizeof(req));
        req.method = sl("POST");
        req.path = sl("/v1/sync");
        req.content_type = sl(PROTO_CONTENT_TYPE);
        req.authorization = sl(now.auth);
        req.peer = "127.0.0.1:1";
        memset(&head, 0, sizeof(head));
        buf_init(&head.body, RESP_CAP);
        assert_int_equal(app_head_check(f->app, &req, &head, &max_body), 1);
        expect_sync_error(&head, 410, "wiped");
        buf_free(&head.body);
        r = call(f, o);
        expect_sync_error(r, 410, "wiped");
        resp_free(r);
    }
    buf_free(&body);
    assert_int_equal(pulled_from_0(f, &watch), 0);
    assert_string_equal(last_result(f, &now), "410 wiped");
    /* a plain revoke after it keeps the wipe */
    revoke_with(f, &now, NULL, "now");
    /* a wrong secret is 401, whatever the device's state */
    snprintf(bad, sizeof(bad), "%s", now.auth);
    bad[strlen(bad) - 1] ^= 1;
    encode_req(&empty, now.id, 0, 1, NULL, 0);
    {
        req_opts o = {NULL, NULL, NULL, PROTO_CONTENT_TYPE, NULL, NULL, bad, empty.ptr, empty.len};
        r = call(f, o);
        expect_sync_error(r, 401, "auth");
        resp_free(r);
    }
    buf_free(&empty);

    /* wipe after upload: the head passes, the batch is merged once, then wiped */
    revoke_with(f, &up, "{\"wipe\":\"after_upload\"}", "after_upload");
    {
        srv_request req;
        memset(&req, 0, sizeof(req));
        req.method = sl("POST");
        req.path = sl("/v1/sync");
        req.content_type = sl(PROTO_CONTENT_TYPE);
        req.authorization = sl(up.auth);
        req.peer = "127.0.0.1:1";
        memset(&head, 0, sizeof(head));
        buf_init(&head.body, RESP_CAP);
        assert_int_equal(app_head_check(f->app, &req, &head, &max_body), 0);
        buf_free(&head.body);
    }
    residents_body(&body, &up, "g1", 3, 1, res, ch);
    for (int round = 0; round < 2; round++) { /* the same batch again: merged only once */
        req_opts o = {NULL,    NULL,    NULL, PROTO_CONTENT_TYPE, NULL, NULL,
                      up.auth, body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 410, "upload_then_wipe");
        resp_free(r);
        assert_int_equal(pulled_from_0(f, &watch), 3);
    }
    buf_free(&body);
    assert_string_equal(last_result(f, &up), "410 upload_then_wipe ch=3 acc=0 rej=0 dup=3");
    encode_req(&empty, up.id, 0, 4, NULL, 0);
    {
        req_opts o = {NULL,    NULL,    NULL, PROTO_CONTENT_TYPE, NULL, NULL,
                      up.auth, empty.ptr, empty.len};
        r = call(f, o);
        expect_sync_error(r, 410, "wiped");
        resp_free(r);
    }
    buf_free(&empty);
    assert_string_equal(last_result(f, &up), "410 wiped");
    /* the latest order counts: now the upload is refused too */
    revoke_with(f, &up, "{\"wipe\":\"now\"}", "now");
    residents_body(&body, &up, "g1", 1, 4, res, ch);
    {
        req_opts o = {NULL,    NULL,    NULL, PROTO_CONTENT_TYPE, NULL, NULL,
                      up.auth, body.ptr, body.len};
        r = call(f, o);
        expect_sync_error(r, 410, "wiped");
        resp_free(r);
    }
    buf_free(&body);
    assert_int_equal(pulled_from_0(f, &watch), 3);
}

/* A refused change of a record the server has: the answer carries the server's whole
 * record (every field with its version and clock, and the creation clock); a version 1
 * request gets a version 1 answer, without clk, per-field clocks or fix. */
static void test_sync_fix_and_version_1_answer(void **state)
{
    fx *f = *state;
    device a;
    resident res;
    proto_change ch;
    proto_field ahead;
    gs_buf body;
    proto_sync_resp *m;
    srv_response *r;
    proto_sync_req q;

    add_device(f, "[\"g1\"]", &a);
    make_resident(&res, "王秀英", "g1");
    memset(&ch, 0, sizeof(ch));
    ch.seq = 1;
    ch.table = proto_cstr("resident");
    memcpy(ch.id, res.id, 16);
    ch.hlc = hlc_pack(hlc_wall_ms(NULL), 0);
    ch.fields = res.f;
    ch.n_fields = 2;
    encode_req(&body, a.id, 0, 1, &ch, 1);
    m = sync_call(f, &a, &body, 0, &r);
    assert_true(m->acks[0].ok);
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&body);
    /* the same record, one field stamped 3 days ahead: refused, and the state comes back */
    ahead = res.f[0];
    ahead.value.u.s = proto_cstr("未来");
    ahead.hlc = hlc_pack(hlc_wall_ms(NULL) + 3 * 86400000ull, 0);
    ch.seq = 2;
    ch.fields = &ahead;
    ch.n_fields = 1;
    encode_req(&body, a.id, 0, 2, &ch, 1);
    m = sync_call(f, &a, &body, 0, &r);
    assert_false(m->acks[0].ok);
    assert_true(proto_str_eq(m->acks[0].err, "clock_ahead"));
    assert_int_equal(m->n_fixes, 1);
    assert_memory_equal(m->fixes[0].id, res.id, 16);
    assert_true(m->fixes[0].created > 0);
    assert_int_equal(m->fixes[0].n_fields, 2);
    for (uint32_t i = 0; i < 2; i++) {
        const proto_field *sf = &m->fixes[0].fields[i];
        assert_true(sf->ver > 0);
        assert_true(sf->hlc > 0 && sf->hlc < ahead.hlc);
        if (proto_str_eq(sf->name, "name"))
            assert_true(proto_str_eq(sf->value.u.s, "王秀英"));
    }
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&body);
    /* a version 1 client: a version 1 answer */
    memset(&q, 0, sizeof(q));
    q.version = 1;
    q.device = proto_cstr(a.id);
    q.low = 3;
    q.now = hlc_pack(hlc_wall_ms(NULL), 0);
    ch.seq = 3;
    q.changes = &ch;
    q.n_changes = 1;
    buf_init(&body, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(&body, &q), GS_OK);
    m = sync_call(f, &a, &body, 0, &r);
    assert_int_equal(m->version, 1);
    assert_int_equal(m->clock_ms, 0);
    assert_int_equal(m->n_fixes, 0);
    assert_false(m->acks[0].ok);
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&body);
}

static void test_sync_end_to_end(void **state)
{
    fx *f = *state;
    device a, b;
    resident res[3];
    proto_change ch[3];
    gs_buf body, empty;
    proto_sync_resp *m, *m2;
    srv_response *r, *r2;
    char want[SRV_LOG_NOTE_MAX];

    add_device(f, "[\"g1\"]", &a);
    add_device(f, "[\"g1\",\"g2\"]", &b);
    memset(ch, 0, sizeof(ch));
    for (int i = 0; i < 3; i++) {
        make_resident(&res[i], i == 1 ? "李娟" : "王秀英", i == 2 ? "g2" : "g1");
        ch[i].seq = (uint64_t)i + 1;
        ch[i].table = proto_cstr("resident");
        memcpy(ch[i].id, res[i].id, 16);
        ch[i].hlc = hlc_pack(hlc_wall_ms(NULL), (uint32_t)i);
        ch[i].fields = res[i].f;
        ch[i].n_fields = 2;
    }
    encode_req(&body, a.id, 0, 1, ch, 3);
    m = sync_call(f, &a, &body, 0, &r);
    assert_int_equal(m->n_acks, 3);
    assert_true(m->acks[0].ok);
    assert_true(m->acks[1].ok);
    assert_true(m->acks[1].version > m->acks[0].version);
    assert_false(m->acks[2].ok); /* g2 is not A's grid */
    assert_true(proto_str_eq(m->acks[2].err, "out_of_scope"));
    assert_int_equal(m->n_changes, 0); /* A wrote everything it could see */
    assert_true(m->now > 0);
    snprintf(want, sizeof(want), "dev=%s ch=3 acc=2 rej=1 conf=0 pull=0", a.id);
    assert_string_equal(r->log_note, want);
    /* version 2: the server's clock, and the state of the refused record: none for A */
    assert_int_equal(m->version, PROTO_VERSION);
    assert_true(m->clock_ms + 60000 > hlc_wall_ms(NULL) && m->clock_ms < hlc_wall_ms(NULL) + 60000);
    assert_int_equal(m->n_fixes, 1);
    assert_memory_equal(m->fixes[0].id, res[2].id, 16);
    assert_int_equal(m->fixes[0].created, 0);
    assert_int_equal(m->fixes[0].n_fields, 0);
    /* the same request again (a retry after a cut): the same acks, nothing applied */
    m2 = sync_call(f, &a, &body, 0, &r2);
    assert_int_equal(m2->n_acks, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(m2->acks[i].ok, m->acks[i].ok);
        assert_int_equal(m2->acks[i].version, m->acks[i].version);
        assert_int_equal(m2->acks[i].err.len, m->acks[i].err.len);
    }
    assert_non_null(strstr(r2->log_note, "acc=0 rej=0 conf=0 pull=0 dup=3"));
    assert_int_equal(m2->n_fixes, 1); /* the retry gets the record state again */
    assert_int_equal(atomic_load(&f->metrics.changes_duplicate), 3);
    resp_free(r2);
    proto_sync_resp_free(m2);
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&body);
    /* 20 more from A; then B, with nothing to push, pulls 22 residents, compressed */
    m = push_residents(f, &a, "g1", 20, 4, 0, &r, NULL);
    resp_free(r);
    proto_sync_resp_free(m);
    encode_req(&empty, b.id, 0, 1, NULL, 0);
    m = sync_call(f, &b, &empty, 1, &r);
    assert_string_equal(r->content_encoding, "deflate");
    assert_int_equal(m->n_acks, 0);
    assert_int_equal(m->n_changes, 22);
    assert_false(m->more);
    for (uint32_t i = 0; i < m->n_changes; i++) {
        assert_true(proto_str_eq(m->changes[i].table, "resident"));
        assert_int_equal(m->changes[i].n_fields, 2);
        if (i)
            assert_true(m->changes[i].fields[0].ver > m->changes[i - 1].fields[0].ver);
    }
    assert_true(m->cursor >= m->changes[21].fields[0].ver);
    buf_free(&empty);
    encode_req(&empty, b.id, m->cursor, 1, NULL, 0);
    resp_free(r);
    proto_sync_resp_free(m);
    m = sync_call(f, &b, &empty, 1, &r);
    assert_int_equal(m->n_changes, 0);
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&empty);
    assert_int_equal(atomic_load(&f->metrics.syncs), 5);
    assert_int_equal(atomic_load(&f->metrics.changes_merged), 22);
    assert_int_equal(atomic_load(&f->metrics.changes_rejected), 1);
    assert_int_equal(atomic_load(&f->metrics.changes_pulled), 22);
}

/* A page limit from the request ("max") and from the configuration. */
static void test_pull_pages_respect_max(void **state)
{
    fx *f = *state;
    device a, b;
    proto_sync_resp *m;
    srv_response *r;
    proto_sync_req q;
    gs_buf body;
    uint64_t cur = 0;
    int total = 0, pages = 0;

    add_device(f, "[\"g1\"]", &a);
    add_device(f, "[\"g1\"]", &b);
    m = push_residents(f, &a, "g1", 25, 1, 0, &r, NULL);
    resp_free(r);
    proto_sync_resp_free(m);
    do {
        memset(&q, 0, sizeof(q));
        q.version = PROTO_VERSION;
        q.device = proto_cstr(b.id);
        q.cursor = cur;
        q.low = 1;
        q.pull_max = 10;
        buf_init(&body, PROTO_MAX_BODY);
        assert_int_equal(proto_encode_sync_req(&body, &q), GS_OK);
        m = sync_call(f, &b, &body, 0, &r);
        assert_true(m->n_changes <= 10);
        total += (int)m->n_changes;
        pages++;
        cur = m->cursor;
        buf_free(&body);
        resp_free(r);
        if (!m->more) {
            proto_sync_resp_free(m);
            break;
        }
        proto_sync_resp_free(m);
    } while (pages < 10);
    assert_int_equal(total, 25);
    assert_int_equal(pages, 3);
}

/* ------------------------------------------------------------------------------------ */
/* admin API                                                                            */

static void test_admin_conflict_resolution_reaches_devices(void **state)
{
    fx *f = *state;
    device a, b;
    resident res;
    proto_field pa, pb;
    proto_change ca, cb;
    proto_sync_resp *m;
    srv_response *r;
    gs_buf body;
    uint64_t v0, cur_a, cur_b;
    json_t *j, *c;
    char path[128], idtext[UUID_TEXT_LEN + 1];
    json_int_t cid;
    int seen = 0;

    add_device(f, "[\"g1\"]", &a);
    add_device(f, "[\"g1\"]", &b);
    m = push_residents(f, &a, "g1", 1, 1, 0, &r, &res);
    v0 = m->acks[0].version;
    cur_a = m->cursor;
    resp_free(r);
    proto_sync_resp_free(m);
    /* both edit the name having seen v0; B's edit is later and wins */
    memset(&pa, 0, sizeof(pa));
    pa.name = proto_cstr("name");
    pa.value.type = PV_STR;
    pa.value.u.s = proto_cstr("王秀英 (A)");
    pa.ver = v0;
    pb = pa;
    pb.value.u.s = proto_cstr("<script>alert(1)</script>");
    memset(&ca, 0, sizeof(ca));
    ca.seq = 2;
    ca.table = proto_cstr("resident");
    memcpy(ca.id, res.id, 16);
    ca.hlc = hlc_pack(hlc_wall_ms(NULL) - 1000, 0);
    ca.fields = &pa;
    ca.n_fields = 1;
    cb = ca;
    cb.seq = 1;
    cb.hlc = hlc_pack(hlc_wall_ms(NULL), 0);
    cb.fields = &pb;
    encode_req(&body, a.id, cur_a, 2, &ca, 1);
    m = sync_call(f, &a, &body, 0, &r);
    assert_true(m->acks[0].ok);
    cur_a = m->cursor;
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&body);
    encode_req(&body, b.id, 0, 1, &cb, 1);
    m = sync_call(f, &b, &body, 0, &r);
    assert_true(m->acks[0].ok);
    assert_int_equal(m->acks[0].n_lost, 0);
    cur_b = m->cursor;
    assert_non_null(strstr(r->log_note, "conf=1"));
    resp_free(r);
    proto_sync_resp_free(m);
    buf_free(&body);

    j = admin_call(f, "GET", "/v1/admin/conflicts", "state=open&grid=g1", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "conflicts")), 1);
    c = json_array_get(json_object_get(j, "conflicts"), 0);
    cid = json_integer_value(json_object_get(c, "id"));
    assert_string_equal(json_string_value(json_object_get(c, "field")), "name");
    assert_string_equal(json_string_value(json_object_get(c, "policy")), "lww");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "winner"), "device")),
                        b.id);
    json_decref(j);
    j = admin_call(f, "GET", "/v1/admin/conflicts", "state=open&grid=g9", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "conflicts")), 0);
    json_decref(j);

    snprintf(path, sizeof(path), "/v1/admin/conflicts/%lld", (long long)cid);
    j = admin_call(f, "GET", path, NULL, NULL, 200);
    uuid_format(res.id, idtext);
    assert_string_equal(json_string_value(json_object_get(j, "record")), idtext);
    assert_string_equal(json_string_value(json_object_get(j, "table")), "resident");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "table_label"), "zh")),
                        "居民");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "resident"), "name")),
                        "<script>alert(1)</script>");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "other"), "value")),
                        "王秀英 (A)");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "other"), "worker")),
                        "张伟");
    assert_true(json_is_null(json_object_get(j, "resolution")));
    json_decref(j);

    /* resolve: keep the other (A's) value, with a note */
    snprintf(path, sizeof(path), "/v1/admin/conflicts/%lld/resolve", (long long)cid);
    j = admin_call(f, "POST", path, NULL, "{\"keep\":\"other\",\"note\":\"户籍核对\"}", 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "resolved");
    c = json_object_get(j, "resolution");
    assert_string_equal(json_string_value(json_object_get(c, "note")), "户籍核对");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "old"), "value")),
                        "<script>alert(1)</script>");
    assert_string_equal(json_string_value(json_object_get(json_object_get(c, "new"), "value")),
                        "王秀英 (A)");
    /* the audit names the admin: the one `gridsyncd init` makes is "county" */
    assert_string_equal(json_string_value(json_object_get(c, "admin")), "county");
    json_decref(j);
    j = admin_call(f, "POST", path, NULL, "{\"keep\":\"winner\"}", 409);
    json_decref(j);

    /* both devices get the admin's value at their next sync */
    for (int d = 0; d < 2; d++) {
        encode_req(&body, d ? b.id : a.id, d ? cur_b : cur_a, d ? 2 : 3, NULL, 0);
        m = sync_call(f, d ? &b : &a, &body, 0, &r);
        for (uint32_t i = 0; i < m->n_changes; i++)
            for (uint32_t k = 0; k < m->changes[i].n_fields; k++)
                if (proto_str_eq(m->changes[i].fields[k].name, "name") &&
                    m->changes[i].fields[k].value.type == PV_STR &&
                    m->changes[i].fields[k].value.u.s.len == strlen("王秀英 (A)") &&
                    memcmp(m->changes[i].fields[k].value.u.s.ptr, "王秀英 (A)",
                           strlen("王秀英 (A)")) == 0)
                    seen++;
        resp_free(r);
        proto_sync_resp_free(m);
        buf_free(&body);
    }
    assert_int_equal(seen, 2);

    /* status: per device and per grid */
    j = admin_call(f, "GET", "/v1/admin/status", NULL, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "devices")), 2);
    c = json_array_get(json_object_get(j, "grids"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "grid")), "g1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "records"), "resident")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "records"), "visit")),
                     0);
    assert_int_equal(json_integer_value(json_object_get(c, "open_conflicts")), 0);
    json_decref(j);
}

/* The id of the one open conflict on resident `res`: devices a and b both edit `field` from
 * version v0, b's edit later (it wins). */
static json_int_t make_conflict(fx *f, const char *field, proto_value va, proto_value vb,
                                resident *res)
{
    device a, b;
    proto_field pa, pb;
    proto_change ca, cb;
    proto_sync_resp *m;
    srv_response *r;
    gs_buf body;
    uint64_t v0;
    json_t *j;
    json_int_t cid;

    add_device(f, "[\"g1\"]", &a);
    add_device(f, "[\"g1\"]", &b);
    m = push_residents(f, &a, "g1", 1, 1, 0, &r, res);
    v0 = m->acks[0].version;
    resp_free(r);
    proto_sync_resp_free(m);
    memset(&pa, 0, sizeof(pa));
    pa.name = proto_cstr(field);
    pa.value = va;
    pa.ver = v0;
    pb = pa;
    pb.value = vb;
    memset(&ca, 0, sizeof(ca));
    ca.seq = 2;
    ca.table = proto_cstr("resident");
    memcpy(ca.id, res->id, 16);
    ca.hlc = hlc_pack(hlc_wall_ms(NULL) - 1000, 0);
    ca.fields = &pa;
    ca.n_fields = 1;
    cb = ca;
    cb.seq = 1;
    cb.hlc = hlc_pack(hlc_wall_ms(NULL), 0);
    cb.fields = &pb;
    for (int d = 0; d < 2; d++) {
        encode_req(&body, d ? b.id : a.id, 0, d ? 1 : 2, d ? &cb : &ca, 1);
        m = sync_call(f, d ? &b : &a, &body, 0, &r);
        assert_true(m->acks[0].ok);
        resp_free(r);
        proto_sync_resp_free(m);
        buf_free(&body);
    }
    j = admin_call(f, "GET", "/v1/admin/conflicts", "state=open", NULL, 200);
    if (json_array_size(json_object_get(j, "conflicts")) != 1)
        fail_msg("%zu open conflicts, want 1", json_array_size(json_object_get(j, "conflicts")));
    cid = json_integer_value(json_object_get(json_array_get(json_object_get(j, "conflicts"), 0),
                                             "id"));
    json_decref(j);
    return cid;
}

/* A value the schema refuses is the admin's mistake, not a server fault: 17..32 tags pass
 * the JSON reader (at most PROTO_MAX_TAGS) but not resident.tags (at most 16; the schema
 * says GS_E_TOO_LARGE, merge_admin_set answers GS_E_INVALID), 33 fail the reader. Each is
 * 400 invalid naming the limit, the conflict stays open, and a good value then resolves. */
static void test_admin_resolve_with_too_many_tags_is_400(void **state)
{
    fx *f = *state;
    static const struct {
        int n;            /* tags given */
        const char *want; /* in the message */
    } cases[] = {{17, "17 tags, at most 16"}, {32, "32 tags, at most 16"},
                 {33, "33 tags, at most 32"}};
    proto_str one = proto_cstr("elderly"), other = proto_cstr("veteran");
    proto_value va = {.type = PV_STRLIST}, vb = {.type = PV_STRLIST};
    resident res;
    json_int_t cid;
    char path[128], body[1024];
    json_t *j;

    va.u.list.items = &one;
    va.u.list.n = 1;
    vb.u.list.items = &other;
    vb.u.list.n = 1;
    cid = make_conflict(f, "tags", va, vb, &res);
    snprintf(path, sizeof(path), "/v1/admin/conflicts/%lld/resolve", (long long)cid);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = (size_t)snprintf(body, sizeof(body), "{\"value\":[");
        for (int k = 0; k < cases[i].n; k++)
            n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"elderly\"", k ? "," : "");
        snprintf(body + n, sizeof(body) - n, "]}");
        j = admin_call(f, "POST", path, NULL, body, 400);
        assert_string_equal(json_string_value(json_object_get(j, "error")), "invalid");
        if (!strstr(json_string_value(json_object_get(j, "message")), cases[i].want))
            fail_msg("%d tags: message '%s', want it to say '%s'", cases[i].n,
                     json_string_value(json_object_get(j, "message")), cases[i].want);
        json_decref(j);
    }
    snprintf(path, sizeof(path), "/v1/admin/conflicts/%lld", (long long)cid);
    j = admin_call(f, "GET", path, NULL, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "open");
    json_decref(j);
    snprintf(path, sizeof(path), "/v1/admin/conflicts/%lld/resolve", (long long)cid);
    j = admin_call(f, "POST", path, NULL, "{\"value\":[\"elderly\",\"veteran\"]}", 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "current"), "value")), 2);
    json_decref(j);
}

/* Fills a stretch of the stack below the caller with a non-zero pattern, so that a later
 * call at the same depth that reads a variable it never wrote sees garbage, not zeros. */
static __attribute__((noinline)) void stack_paint(void)
{
    volatile unsigned char junk[64 * 1024];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = 0xA5;
}

/* A conflict on a field the record does not hold (here recorded straight into the store
 * file on a second connection): the resolution's old value is "no value" (null). The
 * resolver read the current value into an uninitialised store_field when the field was not
 * found and audited whatever was on the stack. */
static void test_admin_resolve_field_not_stored(void **state)
{
    fx *f = *state;
    device a;
    resident res;
    proto_sync_resp *m;
    srv_response *r;
    store *st;
    store_conflict c;
    int64_t cid;
    gs_err err;
    char path[128];
    json_t *j, *old;

    add_device(f, "[\"g1\"]", &a);
    m = push_residents(f, &a, "g1", 1, 1, 0, &r, &res); /* name and grid, no phone */
    resp_free(r);
    proto_sync_resp_free(m);
    memset(&c, 0, sizeof(c));
    snprintf(c.tbl, sizeof(c.tbl), "resident");
    memcpy(c.rid, res.id, 16);
    snprintf(c.grid, sizeof(c.grid), "g1");
    snprintf(c.field, sizeof(c.field), "phone");
    c.winner.value.type = PV_STR;
    c.winner.value.u.s = proto_cstr("13800138000");
    c.winner.hlc = hlc_pack(hlc_wall_ms(NULL), 0);
    c.winner.version = 7;
    snprintf(c.winner.device, sizeof(c.winner.device), "%s", a.id);
    c.other = c.winner;
    c.other.value.u.s = proto_cstr("13900139000");
    c.created_ms = (int64_t)hlc_wall_ms(NULL);
    if (store_open(&st, f->cfg.db_path, &err))
        fail_msg("store: %s", err.msg);
    if (store_begin(st, &err) || store_conflict_add(st, &c, &cid, &err) ||
        store_commit(st, &err))
        fail_msg("conflict: %s", err.msg);
    store_close(st);

    snprintf(path, sizeof(path), "/v1/admin/conflicts/%lld/resolve", (long long)cid);
    stack_paint();
    j = admin_call(f, "POST", path, NULL, "{\"keep\":\"winner\"}", 200);
    old = json_object_get(json_object_get(j, "resolution"), "old");
    if (!json_is_null(json_object_get(old, "value")))
        fail_msg("old value is not null: %s", json_dumps(old, JSON_COMPACT));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "current"), "value")),
                        "13800138000");
    json_decref(j);
}

static void test_admin_api_errors(void **state)
{
    fx *f = *state;
    device a;
    srv_response *r;
    static const struct {
        const char *method, *path, *query, *body; /* the request */
        int status;                               /* want */
        const char *code;                         /* want */
    } cases[] = {
        {"POST", "/v1/admin/devices", NULL, "{", 400, "malformed"},
        {"POST", "/v1/admin/devices", NULL, "[]", 400, "wrong_type"},
        {"POST", "/v1/admin/devices", NULL, "{\"name\":\"x\"}", 400, "missing_field"},
        {"POST", "/v1/admin/devices", NULL, "{\"grids\":[]}", 400, "wrong_type"},
        {"POST", "/v1/admin/devices", NULL, "{\"grids\":[\"g\",\"g\"]}", 400, "invalid"},
        {"POST", "/v1/admin/devices", NULL, "{\"grids\":[\"a\\u0001b\"]}", 400, "invalid"},
        {"POST", "/v1/admin/devices", NULL, "{\"grids\":[\"a\\u0000b\"]}", 400, "malformed"},
        {"POST", "/v1/admin/devices", NULL, "{\"grids\":[\"g\"],\"x\":1}", 400, "unknown_field"},
        {"POST", "/v1/admin/devices", NULL, "{\"grids\":[\"g\"],\"grids\":[\"h\"]}", 400,
         "malformed"},
        {"POST", "/v1/admin/devices/d-nope/revoke", NULL, NULL, 404, "not_found"},
        {"GET", "/v1/admin/conflicts/999", NULL, NULL, 404, "not_found"},
        {"GET", "/v1/admin/conflicts/abc", NULL, NULL, 404, "not_found"},
        {"GET", "/v1/admin/conflicts", "state=maybe", NULL, 400, "invalid"},
        {"GET", "/v1/admin/conflicts", "limit=0", NULL, 400, "invalid"},
        {"GET", "/v1/admin/conflicts", "grid=%zz", NULL, 400, "invalid"},
        {"POST", "/v1/admin/conflicts/1/resolve", NULL, "{\"keep\":\"both\"}", 400, "invalid"},
        {"POST", "/v1/admin/conflicts/1/resolve", NULL, "{}", 400, "missing_field"},
        {"POST", "/v1/admin/conflicts/1/resolve", NULL, "[\"winner\"]", 400, "wrong_type"},
        {"POST", "/v1/admin/conflicts/1/resolve", NULL, "{\"keep\":\"winner\",\"x\":1}", 400,
         "unknown_field"},
        {"POST", "/v1/admin/conflicts/1/resolve", NULL, "{\"keep\":\"winner\"}", 404, "not_found"},
        {"DELETE", "/v1/admin/devices", NULL, NULL, 405, "method"},
        {"GET", "/v1/admin/status/x", NULL, NULL, 404, "not_found"},
        {"GET", "/v1/admin/", NULL, NULL, 404, "not_found"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = admin_call(f, cases[i].method, cases[i].path, cases[i].query, cases[i].body,
                               cases[i].status);
        if (strcmp(json_string_value(json_object_get(j, "error")), cases[i].code) != 0)
            fail_msg("%s %s: error %s, want %s", cases[i].method, cases[i].path,
                     json_string_value(json_object_get(j, "error")), cases[i].code);
        assert_true(json_is_string(json_object_get(j, "message")));
        json_decref(j);
    }
    /* a device token is not an admin token */
    add_device(f, "[\"g1\"]", &a);
    {
        req_opts o = {"GET", "/v1/admin/devices", NULL, NULL, NULL, NULL, a.auth, NULL, 0};
        r = call(f, o);
        assert_int_equal(r->status, 401);
        assert_non_null(strstr(r->body.ptr, "\"auth\""));
        resp_free(r);
    }
    /* JSON bodies only, at most 1 MiB */
    {
        req_opts o = {"POST",   "/v1/admin/devices",   NULL, "text/plain", NULL, NULL,
                      f->admin, "{\"grids\":[\"g\"]}", 15};
        r = call(f, o);
        assert_int_equal(r->status, 415);
        resp_free(r);
    }
    {
        size_t big = 1024 * 1024 + 1;
        char *b = malloc(big);
        memset(b, ' ', big);
        req_opts o = {
            "POST", "/v1/admin/devices", NULL, "application/json", NULL, NULL, f->admin, b, big};
        r = call(f, o);
        assert_int_equal(r->status, 413);
        resp_free(r);
        free(b);
    }
}

/* ------------------------------------------------------------------------------------ */
/* 50 devices at once                                                                   */

#define N_DEV 50
#define N_BATCH 4
#define N_PER 25

typedef struct worker {
    fx *f;                     /* the world */
    device d;                  /* this thread's device */
    int bad_status;            /* statuses other than 200 seen */
    int not_ok;                /* acks not ok */
    int dup_mismatch;          /* a replayed batch answered differently */
    int pulled;                /* changes pulled */
    double max_ms;             /* slowest exchange */
    pthread_barrier_t *pushed; /* every device has pushed: the final pulls may start */
} worker;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int sync_raw(worker *w, const gs_buf *body, proto_sync_resp **out, gs_buf *keep)
{
    req_opts o = {NULL, NULL,      NULL,      PROTO_CONTENT_TYPE, NULL,
                  NULL, w->d.auth, body->ptr, body->len};
    double t0 = now_ms();
    srv_response *r = call(w->f, o);
    double dt = now_ms() - t0;
    gs_err err;
    int rc = -1;

    if (dt > w->max_ms)
        w->max_ms = dt;
    if (r->status == 200) {
        *keep = r->body;
        buf_init(&r->body, 1);
        rc = proto_decode_sync_resp(keep->ptr, keep->len, out, &err);
    } else {
        w->bad_status++;
    }
    resp_free(r);
    return rc;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    uint64_t seq = 1, cur = 0, cur_before_last = 0, versions[N_PER] = {0};
    gs_buf last;

    buf_init(&last, PROTO_MAX_BODY);
    for (int b = 0; b < N_BATCH; b++) {
        resident res[N_PER];
        proto_change ch[N_PER];
        proto_sync_resp *m = NULL;
        gs_buf body, keep;
        memset(ch, 0, sizeof(ch));
        for (int i = 0; i < N_PER; i++) {
            make_resident(&res[i], "并发测试", "g1");
            ch[i].seq = seq + (uint64_t)i;
            ch[i].table = proto_cstr("resident");
            memcpy(ch[i].id, res[i].id, 16);
            ch[i].hlc = hlc_pack(hlc_wall_ms(NULL), (uint32_t)i);
            ch[i].fields = res[i].f;
            ch[i].n_fields = 2;
        }
        encode_req(&body, w->d.id, cur, seq, ch, N_PER);
        if (b == N_BATCH - 1) {
            buf_add(&last, body.ptr, body.len);
            cur_before_last = cur;
        }
        if (sync_raw(w, &body, &m, &keep) == GS_OK) {
            for (uint32_t i = 0; i < m->n_acks; i++) {
                w->not_ok += !m->acks[i].ok;
                versions[i] = m->acks[i].version;
            }
            w->pulled += (int)m->n_changes;
            cur = m->cursor;
            proto_sync_resp_free(m);
            buf_free(&keep);
        }
        buf_free(&body);
        seq += N_PER;
    }
    /* the last request again, as after a cut connection: the same acks, nothing applied */
    {
        proto_sync_resp *m = NULL;
        gs_buf keep;
        if (sync_raw(w, &last, &m, &keep) == GS_OK) {
            w->dup_mismatch += m->n_acks != N_PER;
            for (uint32_t i = 0; i < m->n_acks && i < N_PER; i++)
                w->dup_mismatch += !m->acks[i].ok || m->acks[i].version != versions[i];
            /* it pulls from the old cursor again: what it pulls is not counted twice */
            (void)cur_before_last;
            proto_sync_resp_free(m);
            buf_free(&keep);
        }
    }
    /* pull until nothing is left, once every device has pushed */
    pthread_barrier_wait(w->pushed);
    for (int guard = 0; guard < 100; guard++) {
        proto_sync_resp *m = NULL;
        gs_buf body, keep;
        int more = 0;
        encode_req(&body, w->d.id, cur, seq, NULL, 0);
        if (sync_raw(w, &body, &m, &keep) == GS_OK) {
            w->pulled += (int)m->n_changes;
            cur = m->cursor;
            more = m->more;
            proto_sync_resp_free(m);
            buf_free(&keep);
        }
        buf_free(&body);
        if (!more)
            break;
    }
    buf_free(&last);
    return NULL;
}

static void test_50_devices_at_once(void **state)
{
    fx *f = *state;
    worker *w = calloc(N_DEV, sizeof(*w));
    pthread_t th[N_DEV];
    pthread_barrier_t pushed;
    double t0, dt, worst = 0;
    json_t *j, *g;

    assert_int_equal(pthread_barrier_init(&pushed, NULL, N_DEV), 0);
    for (int i = 0; i < N_DEV; i++) {
        w[i].f = f;
        w[i].pushed = &pushed;
        add_device(f, "[\"g1\"]", &w[i].d);
    }
    t0 = now_ms();
    for (int i = 0; i < N_DEV; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    for (int i = 0; i < N_DEV; i++)
        pthread_join(th[i], NULL);
    dt = now_ms() - t0;
    pthread_barrier_destroy(&pushed);
    for (int i = 0; i < N_DEV; i++) {
        if (w[i].bad_status || w[i].not_ok || w[i].dup_mismatch)
            fail_msg("device %d: %d non-200, %d rejected, %d replay mismatches", i, w[i].bad_status,
                     w[i].not_ok, w[i].dup_mismatch);
        /* everyone else's records, each exactly once */
        if (w[i].pulled != (N_DEV - 1) * N_BATCH * N_PER)
            fail_msg("device %d pulled %d changes, want %d", i, w[i].pulled,
                     (N_DEV - 1) * N_BATCH * N_PER);
        if (w[i].max_ms > worst)
            worst = w[i].max_ms;
    }
    j = admin_call(f, "GET", "/v1/admin/status", NULL, NULL, 200);
    g = json_array_get(json_object_get(j, "grids"), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g, "records"), "resident")),
                     N_DEV * N_BATCH * N_PER);
    json_decref(j);
    assert_int_equal(atomic_load(&f->metrics.changes_merged), N_DEV * N_BATCH * N_PER);
    assert_int_equal(atomic_load(&f->metrics.changes_duplicate), N_DEV * N_PER);
    printf("50 devices at once: %d pushes of %d changes, %d exchanges in %.0f ms "
           "(%.0f exchanges/s), %d changes merged, %llu pulled (%.0f pulled/s), "
           "slowest exchange %.0f ms (waiting for the store lock included)\n",
           N_DEV * N_BATCH, N_PER, (int)atomic_load(&f->metrics.syncs), dt,
           atomic_load(&f->metrics.syncs) / (dt / 1000), N_DEV * N_BATCH * N_PER,
           (unsigned long long)atomic_load(&f->metrics.changes_pulled),
           atomic_load(&f->metrics.changes_pulled) / (dt / 1000), worst);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auth_and_device_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schema_for_devices, setup, teardown),
        cmocka_unit_test(test_jout_from_msgpack),
        cmocka_unit_test_setup_teardown(test_revoke_with_wipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_bodies_400_413_426, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_fix_and_version_1_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_pages_respect_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_conflict_resolution_reaches_devices, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_admin_resolve_with_too_many_tags_is_400, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_admin_resolve_field_not_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_api_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_50_devices_at_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
