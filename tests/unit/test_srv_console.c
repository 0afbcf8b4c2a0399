/*
 * test_srv_console.c: the web console's server side (server/console.c) through app_handle on
 * a real store made by app_init_store, as the network layer calls it, plus its session
 * table driven directly with a fake clock.
 *
 * Covers: the embedded assets with their security headers (CSP without inline script,
 * nosniff, DENY, no-referrer), deflate, HEAD, 404 and 405; sign-in with a good token, bad
 * ones, a device token, bad bodies and a form post; the cookie's flags; the session with its
 * csrf token accepted by the admin API (including the schema endpoint), refused without the
 * token or with a wrong one, and never by /v1/sync; sign-out; idle and absolute expiry; the
 * session cap; and that no token, cookie or csrf value reaches a log line.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/hlc.h"
#include "common/zbody.h"
#include "proto/proto.h"
#include "server/admin_api.h"
#include "server/app.h"
#include "server/console.h"
#include "server/store.h"
#include "tests/lib/tdir.h"

#define RESP_CAP (8u * 1024 * 1024)
#define LOG_MAX 64

typedef struct fx {
    char dir[TDIR_MAX];       /* temporary folder */
    srv_config cfg;           /* settings */
    srv_metrics metrics;      /* counters */
    gs_logger lg;             /* capturing logger */
    srv_app *app;             /* the application */
    char token[160];          /* the admin token */
    char *log[LOG_MAX];       /* captured log lines */
    size_t n_log;             /* entries in log */
    pthread_mutex_t log_lock; /* guards log */
} fx;

static void sink(void *ud, int level, const char *line)
{
    fx *f = ud;
    (void)level;
    pthread_mutex_lock(&f->log_lock);
    if (f->n_log < LOG_MAX)
        f->log[f->n_log++] = strdup(line);
    pthread_mutex_unlock(&f->log_lock);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    gs_err err;

    assert_int_equal(tdir_make(f->dir, "console"), 0);
    config_defaults(&f->cfg);
    snprintf(f->cfg.db_path, sizeof(f->cfg.db_path), "%s/gridsyncd.db", f->dir);
    if (app_init_store(f->cfg.db_path, f->token, sizeof(f->token), &err))
        fail_msg("init: %s", err.msg);
    pthread_mutex_init(&f->log_lock, NULL);
    log_init(&f->lg, "test", GS_LOG_DEBUG);
    f->lg.sink = sink;
    f->lg.ud = f;
    if (app_open(&f->app, &f->cfg, &f->metrics, &f->lg, &err))
        fail_msg("open: %s", err.msg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    app_close(f->app);
    for (size_t i = 0; i < f->n_log; i++)
        free(f->log[i]);
    pthread_mutex_destroy(&f->log_lock);
    assert_int_equal(tdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* requests                                                                             */

typedef struct req_opts {
    const char *method; /* default GET */
    const char *path;   /* default /admin */
    const char *ctype;  /* Content-Type */
    const char *auth;   /* Authorization */
    const char *cookie; /* Cookie */
    const char *accept; /* Accept-Encoding */
    const char *body;   /* body text */
    size_t len;         /* body bytes; 0: strlen(body) */
} req_opts;

static srv_slice sl(const char *s)
{
    srv_slice x = {s, s ? strlen(s) : 0};
    return x;
}

static srv_response *
call_with(fx *f, req_opts o, void (*handler)(void *, const srv_request *, srv_response *), void *ud)
{
    srv_request req;
    srv_response *resp = calloc(1, sizeof(*resp));

    memset(&req, 0, sizeof(req));
    req.method = sl(o.method ? o.method : "GET");
    req.path = sl(o.path ? o.path : "/admin");
    req.query = sl("");
    req.content_type = sl(o.ctype);
    req.authorization = sl(o.auth);
    req.cookie = sl(o.cookie);
    req.accept_encoding = sl(o.accept);
    req.body = (const uint8_t *)o.body;
    req.body_len = o.body ? (o.len ? o.len : strlen(o.body)) : 0;
    req.peer = "127.0.0.1:1";
    buf_init(&resp->body, RESP_CAP);
    if (handler)
        handler(ud, &req, resp);
    else
        app_handle(f->app, &req, resp);
    return resp;
}

static srv_response *call(fx *f, req_opts o)
{
    return call_with(f, o, NULL, NULL);
}

static void resp_free(srv_response *r)
{
    buf_free(&r->body);
    free(r);
}

static void expect_status(srv_response *r, int status, const char *what)
{
    if (r->status != status)
        fail_msg("%s: status %d, want %d: %.*s", what, r->status, status,
                 (int)(r->body.len > 300 ? 300 : r->body.len), r->body.ptr ? r->body.ptr : "");
}

/* The value of header name in resp->extra_headers into out; 0 when absent. */
static int header(const srv_response *r, const char *name, char *out, size_t cap)
{
    const char *p = r->extra_headers;
    size_t n = strlen(name);
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        if (!eol)
            break;
        if ((size_t)(eol - p) > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(eol - v), v);
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

static void expect_security_headers(const srv_response *r, const char *what)
{
    char v[600];
    if (!header(r, "Content-Security-Policy", v, sizeof(v)))
        fail_msg("%s: no Content-Security-Policy in %s", what, r->extra_headers);
    if (!strstr(v, "default-src 'self'") || !strstr(v, "script-src 'self'") ||
        strstr(v, "unsafe-inline") || strstr(v, "unsafe-eval") ||
        !strstr(v, "frame-ancestors 'none'"))
        fail_msg("%s: weak Content-Security-Policy: %s", what, v);
    if (!header(r, "X-Content-Type-Options", v, sizeof(v)) || strcmp(v, "nosniff") != 0)
        fail_msg("%s: X-Content-Type-Options missing or wrong", what);
    if (!header(r, "X-Frame-Options", v, sizeof(v)) || strcmp(v, "DENY") != 0)
        fail_msg("%s: X-Frame-Options missing or wrong", what);
    if (!header(r, "Referrer-Policy", v, sizeof(v)) || strcmp(v, "no-referrer") != 0)
        fail_msg("%s: Referrer-Policy missing or wrong", what);
}

static json_t *body_json(const srv_response *r)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->body.ptr, r->body.len, 0, &jerr);
    if (!j)
        fail_msg("reply is not JSON: %s: %.*s", jerr.text, (int)r->body.len, r->body.ptr);
    return j;
}

/* A signed-in console: its Cookie header value and its "Session <csrf>" header. */
typedef struct sess {
    char cookie[200]; /* "__Host-gs_session=..." */
    char value[100];  /* the cookie's value alone */
    char auth[120];   /* "Session <csrf>" */
    char csrf[100];   /* the csrf token alone */
} sess;

static void signin_body(const char *token, char *out, size_t cap)
{
    snprintf(out, cap, "{\"token\":\"%s\"}", token);
}

static void sign_in(fx *f, sess *s)
{
    char body[300], v[300];
    srv_response *r;
    json_t *j;

    signin_body(f->token, body, sizeof(body));
    r = call(f, (req_opts){.method = "POST",
                           .path = "/admin/session",
                           .ctype = "application/json",
                           .body = body});
    expect_status(r, 200, "sign-in");
    if (!header(r, "Set-Cookie", v, sizeof(v)))
        fail_msg("sign-in: no Set-Cookie in %s", r->extra_headers);
    assert_true(strncmp(v, CONSOLE_COOKIE "=", strlen(CONSOLE_COOKIE) + 1) == 0);
    snprintf(s->value, sizeof(s->value), "%.*s", (int)strcspn(v + strlen(CONSOLE_COOKIE) + 1, ";"),
             v + strlen(CONSOLE_COOKIE) + 1);
    snprintf(s->cookie, sizeof(s->cookie), "theme=dark; %s=%s", CONSOLE_COOKIE, s->value);
    j = body_json(r);
    snprintf(s->csrf, sizeof(s->csrf), "%s", json_string_value(json_object_get(j, "csrf")));
    snprintf(s->auth, sizeof(s->auth), "Session %s", s->csrf);
    json_decref(j);
    resp_free(r);
}

/* ------------------------------------------------------------------------------------ */
/* assets                                                                               */

static void test_assets_served_with_security_headers(void **state)
{
    fx *f = *state;
    static const char *const paths[] = {"/admin", "/admin/", "/admin/index.html"};
    char v[200];

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        srv_response *r = call(f, (req_opts){.path = paths[i]});
        const char *p;
        expect_status(r, 200, paths[i]);
        assert_string_equal(r->content_type, "text/html; charset=utf-8");
        expect_security_headers(r, paths[i]);
        assert_true(header(r, "Cache-Control", v, sizeof(v)));
        assert_string_equal(v, "no-store");
        assert_null(strstr(r->extra_headers, "Set-Cookie"));
        /* every script is a file: the CSP would refuse an inline one anyway */
        assert_non_null(strstr(r->body.ptr, "<script"));
        for (p = strstr(r->body.ptr, "<script"); p; p = strstr(p + 1, "<script")) {
            const char *end = strchr(p, '>');
            assert_non_null(end);
            if (!memmem(p, (size_t)(end - p), "src=", 4))
                fail_msg("%s: inline script at byte %td", paths[i], p - r->body.ptr);
        }
        assert_null(strstr(r->body.ptr, "http://"));
        assert_null(strstr(r->body.ptr, "https://"));
        resp_free(r);
    }
    /* every embedded asset is served at its name with the headers and its own type */
    for (size_t i = 0; i < console_n_assets; i++) {
        char path[200];
        const console_asset *a = &console_assets[i];
        srv_response *r;
        snprintf(path, sizeof(path), "/admin/%s", a->name);
        r = call(f, (req_opts){.path = path});
        expect_status(r, 200, path);
        expect_security_headers(r, path);
        assert_string_equal(r->content_type, a->content_type);
        assert_int_equal(r->body.len, a->len);
        assert_memory_equal(r->body.ptr, a->data, a->len);
        resp_free(r);
    }
    assert_non_null(console_asset_find("app.js", 6));
    assert_non_null(console_asset_find("strings.js", 10));
    assert_non_null(console_asset_find("app.css", 7));
    assert_null(console_asset_find("app.j", 5));
}

static void test_assets_deflate_and_head(void **state)
{
    fx *f = *state;
    const console_asset *a = console_asset_find("app.js", 6);
    srv_response *r;
    gs_buf plain;
    gs_err err;

    assert_non_null(a);
    r = call(f, (req_opts){.path = "/admin/app.js", .accept = "gzip, deflate, br"});
    expect_status(r, 200, "app.js deflated");
    assert_non_null(r->content_encoding);
    assert_string_equal(r->content_encoding, "deflate");
    assert_true(r->body.len < a->len);
    buf_init(&plain, RESP_CAP);
    if (zbody_inflate(r->body.ptr, r->body.len, RESP_CAP, &plain, &err))
        fail_msg("inflate: %s", err.msg);
    assert_int_equal(plain.len, a->len);
    assert_memory_equal(plain.ptr, a->data, a->len);
    buf_free(&plain);
    resp_free(r);

    r = call(f, (req_opts){.method = "HEAD", .path = "/admin/app.css"});
    expect_status(r, 200, "HEAD app.css");
    expect_security_headers(r, "HEAD");
    resp_free(r);
}

static void test_unknown_assets_404_and_methods_405(void **state)
{
    fx *f = *state;
    static const char *const missing[] = {
        "/admin/nope.js",   "/admin/../gridsyncd.db", "/admin/app.js/",      "/admin//app.js",
        "/admin/session/x", "/admin/APP.JS",          "/admin/index.html%00"};
    srv_response *r;
    char v[100];

    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        r = call(f, (req_opts){.path = missing[i]});
        expect_status(r, 404, missing[i]);
        expect_security_headers(r, missing[i]);
        resp_free(r);
    }
    /* a path that only starts like the console is not the console */
    r = call(f, (req_opts){.path = "/administrator"});
    expect_status(r, 404, "/administrator");
    assert_string_equal(r->content_type, PROTO_CONTENT_TYPE);
    resp_free(r);

    r = call(f, (req_opts){.method = "POST", .path = "/admin/app.js", .body = "x"});
    expect_status(r, 405, "POST app.js");
    assert_true(header(r, "Allow", v, sizeof(v)));
    assert_string_equal(v, "GET, HEAD");
    resp_free(r);
    r = call(f, (req_opts){.method = "PUT", .path = "/admin/session"});
    expect_status(r, 405, "PUT session");
    resp_free(r);
}

/* ------------------------------------------------------------------------------------ */
/* sign-in                                                                              */

static void test_signin_good_token_sets_strict_cookie(void **state)
{
    fx *f = *state;
    char body[300], v[300];
    const char *val, *secret = strchr(f->token, '.');
    srv_response *r;
    json_t *j;

    assert_non_null(secret);
    signin_body(f->token, body, sizeof(body));
    r = call(f, (req_opts){.method = "POST",
                           .path = "/admin/session",
                           .ctype = "application/json; charset=utf-8",
                           .body = body});
    expect_status(r, 200, "sign-in");
    expect_security_headers(r, "sign-in");
    assert_true(header(r, "Cache-Control", v, sizeof(v)));
    assert_string_equal(v, "no-store");
    assert_true(header(r, "Set-Cookie", v, sizeof(v)));
    assert_true(strncmp(v, CONSOLE_COOKIE "=", strlen(CONSOLE_COOKIE) + 1) == 0);
    val = v + strlen(CONSOLE_COOKIE) + 1;
    assert_int_equal(strcspn(val, ";"), 43);
    for (size_t i = 0; i < 43; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", val[i]))
            fail_msg("cookie value is not base64url: %s", v);
    if (!strstr(v, "; HttpOnly") || !strstr(v, "; Secure") || !strstr(v, "; SameSite=Strict") ||
        !strstr(v, "; Path=/") || strstr(v, "Domain=") || strstr(v, "Max-Age"))
        fail_msg("cookie flags: %s", v);
    /* the cookie is not the token's secret */
    assert_null(strstr(v, secret + 1));
    j = body_json(r);
    assert_true(json_is_string(json_object_get(j, "admin")));
    /* the admin is the one whose token it is: "a-xxxx" of "a-xxxx.secret" */
    assert_int_equal(json_string_length(json_object_get(j, "admin")), (size_t)(secret - f->token));
    assert_memory_equal(json_string_value(json_object_get(j, "admin")), f->token,
                        (size_t)(secret - f->token));
    assert_int_equal(json_string_length(json_object_get(j, "csrf")), 43);
    assert_true(strncmp(json_string_value(json_object_get(j, "csrf")), val, 43) != 0);
    assert_non_null(strstr(r->log_note, "admin="));
    json_decref(j);
    resp_free(r);
    assert_int_equal(atomic_load(&f->metrics.auth_failures), 0);
}

static void test_signin_refuses_bad_tokens_and_bodies(void **state)
{
    fx *f = *state;
    char wrong[200], body[400], device_token[200];
    srv_response *r;
    json_t *j;
    size_t n;

    /* a wrong secret for the right admin; an unknown admin; a device's token */
    snprintf(wrong, sizeof(wrong), "%s", f->token);
    n = strlen(wrong);
    wrong[n - 1] = wrong[n - 1] == 'A' ? 'B' : 'A';
    {
        char auth[200];
        srv_response *d;
        snprintf(auth, sizeof(auth), "Bearer %s", f->token);
        d = call(f, (req_opts){.method = "POST",
                               .path = "/v1/admin/devices",
                               .auth = auth,
                               .ctype = "application/json",
                               .body = "{\"grids\":[\"g1\"]}"});
        expect_status(d, 201, "device add");
        j = body_json(d);
        snprintf(device_token, sizeof(device_token), "%s",
                 json_string_value(json_object_get(j, "token")));
        json_decref(j);
        resp_free(d);
    }
    const char *tokens[] = {wrong, "a-000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                            device_token, "no-dot", "."};
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        signin_body(tokens[i], body, sizeof(body));
        r = call(f, (req_opts){.method = "POST",
                               .path = "/admin/session",
                               .ctype = "application/json",
                               .body = body});
        expect_status(r, 401, tokens[i]);
        expect_security_headers(r, "refused sign-in");
        assert_null(strstr(r->extra_headers, "Set-Cookie"));
        j = body_json(r);
        assert_string_equal(json_string_value(json_object_get(j, "error")), "auth");
        json_decref(j);
        resp_free(r);
    }
    assert_int_equal(atomic_load(&f->metrics.auth_failures), 5);

    /* bodies that are not {"token": "..."} */
    const char *bad[] = {NULL,
                         "[]",
                         "{}",
                         "{\"token\":1}",
                         "{\"token\":\"\"}",
                         "not json",
                         "{\"token\":\"x\",\"token\":\"y\"}",
                         "{\"token\":\"x\",\"more\":1}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = call(f, (req_opts){.method = "POST",
                               .path = "/admin/session",
                               .ctype = "application/json",
                               .body = bad[i]});
        expect_status(r, 400, bad[i] ? bad[i] : "no body");
        assert_null(strstr(r->extra_headers, "Set-Cookie"));
        resp_free(r);
    }
    /* a cross-site HTML form can only send form types: refused before the token is read */
    snprintf(body, sizeof(body), "token=%s", f->token);
    r = call(f, (req_opts){.method = "POST",
                           .path = "/admin/session",
                           .ctype = "application/x-www-form-urlencoded",
                           .body = body});
    expect_status(r, 415, "form post");
    assert_null(strstr(r->extra_headers, "Set-Cookie"));
    resp_free(r);
    r = call(f,
             (req_opts){
                 .method = "POST", .path = "/admin/session", .ctype = "text/plain", .body = "{}"});
    expect_status(r, 415, "text/plain post");
    resp_free(r);
    /* over the size limit */
    {
        char *big = calloc(1, CONSOLE_SIGNIN_MAX + 100);
        memset(big, ' ', CONSOLE_SIGNIN_MAX + 50);
        r = call(f, (req_opts){.method = "POST",
                               .path = "/admin/session",
                               .ctype = "application/json",
                               .body = big});
        expect_status(r, 413, "big sign-in");
        resp_free(r);
        free(big);
    }
    /* nothing of this reached the admin API as a session */
    r = call(f, (req_opts){.path = "/admin/session"});
    expect_status(r, 401, "no session");
    resp_free(r);
}

/* ------------------------------------------------------------------------------------ */
/* the session and the admin API                                                        */

static void test_session_accepted_by_admin_api(void **state)
{
    fx *f = *state;
    srv_response *r;
    sess s;
    json_t *j, *tables, *t, *fields, *fld, *e;
    size_t i, k, m;
    int saw_visit = 0, saw_care = 0, saw_urgent = 0, saw_deleted = 0;

    sign_in(f, &s);
    r = call(f, (req_opts){.path = "/v1/admin/status", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 200, "status with a session");
    j = body_json(r);
    assert_true(json_is_array(json_object_get(j, "devices")));
    assert_int_equal(json_integer_value(json_object_get(j, "silent_days")), 3);
    json_decref(j);
    assert_non_null(strstr(r->log_note, "admin=a-"));
    resp_free(r);

    /* the schema, with the labels the console shows */
    r = call(f, (req_opts){.path = "/v1/admin/schema", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 200, "schema");
    j = body_json(r);
    tables = json_object_get(j, "tables");
    assert_int_equal(json_array_size(tables), schema_n_tables);
    json_array_foreach(tables, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *zh = json_string_value(json_object_get(json_object_get(t, "label"), "zh"));
        saw_visit += strcmp(name, "visit") == 0 && strcmp(zh, "走访") == 0;
        saw_care += strcmp(name, "care") == 0 && strcmp(zh, "养老服务需求") == 0;
        fields = json_object_get(t, "fields");
        assert_int_equal(json_array_size(fields), schema_tables[i].n_fields + 1);
        json_array_foreach(fields, k, fld)
        {
            const char *fname = json_string_value(json_object_get(fld, "name"));
            if (strcmp(fname, "deleted") == 0) {
                saw_deleted++;
                assert_true(json_is_true(json_object_get(fld, "implicit")));
                assert_string_equal(json_string_value(json_object_get(fld, "policy")), "delete");
            }
            json_array_foreach(json_object_get(fld, "enums"), m, e)
            {
                if (strcmp(json_string_value(json_object_get(e, "name")), "urgent") == 0)
                    saw_urgent += strcmp(json_string_value(
                                             json_object_get(json_object_get(e, "label"), "zh")),
                                         "紧急") == 0;
            }
        }
    }
    assert_int_equal(saw_visit, 1);
    assert_int_equal(saw_care, 1);
    assert_int_equal(saw_urgent, 2); /* a care request's priority, a warning's level */
    assert_int_equal(saw_deleted, (int)schema_n_tables);
    json_decref(j);
    resp_free(r);

    /* the scheme is case-insensitive like Bearer; spaces around the token are fine */
    {
        char auth[160];
        snprintf(auth, sizeof(auth), "session  %s ", s.csrf);
        r = call(f, (req_opts){.path = "/v1/admin/devices", .cookie = s.cookie, .auth = auth});
        expect_status(r, 200, "lower-case scheme");
        resp_free(r);
    }
    /* the page can be reloaded: GET /admin/session gives the same csrf token back */
    r = call(f, (req_opts){.path = "/admin/session", .cookie = s.cookie});
    expect_status(r, 200, "session get");
    expect_security_headers(r, "session get");
    j = body_json(r);
    assert_string_equal(json_string_value(json_object_get(j, "csrf")), s.csrf);
    json_decref(j);
    resp_free(r);
    /* the bearer token still works beside sessions (gridsync-admin) */
    {
        char auth[200];
        snprintf(auth, sizeof(auth), "Bearer %s", f->token);
        r = call(f, (req_opts){.path = "/v1/admin/status", .auth = auth});
        expect_status(r, 200, "bearer");
        resp_free(r);
    }
}

static void test_csrf_token_required(void **state)
{
    fx *f = *state;
    srv_response *r;
    sess s, other;
    char wrong[160], *p;

    sign_in(f, &s);
    sign_in(f, &other);
    snprintf(wrong, sizeof(wrong), "%s", s.auth);
    p = wrong + strlen(wrong) - 1;
    *p = *p == 'A' ? 'B' : 'A';
    struct {
        const char *what;   /* the case */
        const char *cookie; /* Cookie */
        const char *auth;   /* Authorization */
    } cases[] = {
        {"cookie alone (a cross-site request)", s.cookie, NULL},
        {"cookie with a wrong csrf token", s.cookie, wrong},
        {"cookie with another session's csrf token", s.cookie, other.auth},
        {"csrf token without the cookie", NULL, s.auth},
        {"csrf token with a made-up cookie",
         CONSOLE_COOKIE "=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", s.auth},
        {"empty csrf token", s.cookie, "Session "},
        {"a bearer token that is the cookie", NULL, NULL},
    };
    char bearer_cookie[200];
    snprintf(bearer_cookie, sizeof(bearer_cookie), "Bearer %s", s.value);
    cases[6].auth = bearer_cookie;
    cases[6].cookie = s.cookie;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* a state-changing request: it must be refused before anything is looked up */
        r = call(f, (req_opts){.method = "POST",
                               .path = "/v1/admin/devices",
                               .cookie = cases[i].cookie,
                               .auth = cases[i].auth,
                               .ctype = "application/json",
                               .body = "{\"grids\":[\"evil\"]}"});
        expect_status(r, 401, cases[i].what);
        resp_free(r);
        r = call(f, (req_opts){.path = "/v1/admin/devices",
                               .cookie = cases[i].cookie,
                               .auth = cases[i].auth});
        expect_status(r, 401, cases[i].what);
        resp_free(r);
    }
    /* no device was added by any of them */
    r = call(f, (req_opts){.path = "/v1/admin/devices", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 200, "list");
    assert_null(strstr(r->body.ptr, "evil"));
    resp_free(r);
    /* and with the token, the same POST works */
    r = call(f, (req_opts){.method = "POST",
                           .path = "/v1/admin/devices",
                           .cookie = s.cookie,
                           .auth = s.auth,
                           .ctype = "application/json",
                           .body = "{\"grids\":[\"城关-1\"],\"name\":\"李娜\"}"});
    expect_status(r, 201, "device add with session");
    resp_free(r);
}

static void test_session_never_accepted_by_sync(void **state)
{
    fx *f = *state;
    srv_response *r;
    proto_error *e = NULL;
    gs_buf body;
    gs_err err;
    sess s;
    proto_sync_req m;

    sign_in(f, &s);
    memset(&m, 0, sizeof(m));
    m.version = PROTO_VERSION;
    m.device = proto_cstr("d-000000000000");
    m.low = 1;
    m.now = hlc_pack(hlc_wall_ms(NULL), 0);
    buf_init(&body, PROTO_MAX_BODY);
    assert_int_equal(proto_encode_sync_req(&body, &m), GS_OK);
    const char *auths[] = {NULL, s.auth, "Bearer x.y"};
    for (size_t i = 0; i < 3; i++) {
        r = call(f, (req_opts){.method = "POST",
                               .path = PROTO_SYNC_PATH,
                               .cookie = s.cookie,
                               .auth = auths[i],
                               .ctype = PROTO_CONTENT_TYPE,
                               .body = body.ptr,
                               .len = body.len});
        expect_status(r, 401, "sync with a console session");
        assert_string_equal(r->content_type, PROTO_CONTENT_TYPE);
        assert_int_equal(proto_decode_error(r->body.ptr, r->body.len, &e, &err), GS_OK);
        assert_true(proto_str_eq(e->code, "auth"));
        proto_error_free(e);
        resp_free(r);
    }
    buf_free(&body);
}

static void test_signout(void **state)
{
    fx *f = *state;
    srv_response *r;
    sess s, keep;
    char v[300];

    sign_in(f, &s);
    sign_in(f, &keep);
    /* without the csrf token (another site's request): refused, the session stays */
    r = call(f, (req_opts){.method = "DELETE", .path = "/admin/session", .cookie = s.cookie});
    expect_status(r, 401, "sign-out without csrf");
    resp_free(r);
    r = call(f, (req_opts){.path = "/v1/admin/status", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 200, "still signed in");
    resp_free(r);

    r = call(f,
             (req_opts){
                 .method = "DELETE", .path = "/admin/session", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 200, "sign-out");
    expect_security_headers(r, "sign-out");
    assert_true(header(r, "Set-Cookie", v, sizeof(v)));
    if (strncmp(v, CONSOLE_COOKIE "=;", strlen(CONSOLE_COOKIE) + 2) != 0 ||
        !strstr(v, "Max-Age=0") || !strstr(v, "Secure") || !strstr(v, "Path=/"))
        fail_msg("sign-out cookie: %s", v);
    resp_free(r);
    /* the old cookie and token are dead everywhere */
    r = call(f, (req_opts){.path = "/v1/admin/status", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 401, "after sign-out");
    resp_free(r);
    r = call(f, (req_opts){.path = "/admin/session", .cookie = s.cookie});
    expect_status(r, 401, "session get after sign-out");
    resp_free(r);
    r = call(f,
             (req_opts){
                 .method = "DELETE", .path = "/admin/session", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 401, "second sign-out");
    resp_free(r);
    /* another admin session is untouched */
    r = call(f, (req_opts){.path = "/v1/admin/status", .cookie = keep.cookie, .auth = keep.auth});
    expect_status(r, 200, "other session");
    resp_free(r);
}

/* A sign-in over an existing session replaces it: the old cookie stops working. */
static void test_signin_replaces_session(void **state)
{
    fx *f = *state;
    char body[300], cookie[200];
    srv_response *r;
    sess s;

    sign_in(f, &s);
    signin_body(f->token, body, sizeof(body));
    r = call(f, (req_opts){.method = "POST",
                           .path = "/admin/session",
                           .cookie = s.cookie,
                           .ctype = "application/json",
                           .body = body});
    expect_status(r, 200, "second sign-in");
    resp_free(r);
    snprintf(cookie, sizeof(cookie), "%s", s.cookie);
    r = call(f, (req_opts){.path = "/v1/admin/status", .cookie = cookie, .auth = s.auth});
    expect_status(r, 401, "replaced session");
    resp_free(r);
}

/* ------------------------------------------------------------------------------------ */
/* the session table with a fake clock                                                  */

typedef struct direct {
    store *st;            /* the store of the fixture's folder */
    pthread_mutex_t lock; /* store lock */
    hlc clock;            /* server HLC */
    admin_env env;        /* what the console checks tokens with */
    console *c;           /* the console under test */
    int64_t now;          /* the fake clock */
} direct;

static int64_t fake_clock(void *ud)
{
    return ((direct *)ud)->now;
}

static void direct_open(fx *f, direct *d, int64_t idle, int64_t max_age)
{
    console_opts o = {idle, max_age, fake_clock, d};
    gs_err err;

    memset(d, 0, sizeof(*d));
    d->now = 1800000000000;
    if (store_open(&d->st, f->cfg.db_path, &err))
        fail_msg("store: %s", err.msg);
    pthread_mutex_init(&d->lock, NULL);
    hlc_init(&d->clock, 0, 300000, NULL, NULL);
    d->env.st = d->st;
    d->env.lock = &d->lock;
    d->env.clock = &d->clock;
    d->env.cfg = &f->cfg;
    d->env.metrics = &f->metrics;
    d->env.lg = &f->lg;
    assert_int_equal(console_new(&d->c, &d->env, &o, &err), GS_OK);
    d->env.session_auth = console_session_auth;
    d->env.session_ud = d->c;
}

static void direct_close(direct *d)
{
    console_free(d->c);
    pthread_mutex_destroy(&d->lock);
    store_close(d->st);
}

static void console_cb(void *ud, const srv_request *req, srv_response *resp)
{
    console_handle(ud, req, resp);
}

static void admin_cb(void *ud, const srv_request *req, srv_response *resp)
{
    admin_api_handle(ud, req, resp);
}

static void direct_sign_in(fx *f, direct *d, sess *s)
{
    char body[300], v[300];
    srv_response *r;
    json_t *j;

    signin_body(f->token, body, sizeof(body));
    r = call_with(
        f,
        (req_opts){
            .method = "POST", .path = "/admin/session", .ctype = "application/json", .body = body},
        console_cb, d->c);
    expect_status(r, 200, "direct sign-in");
    assert_true(header(r, "Set-Cookie", v, sizeof(v)));
    snprintf(s->value, sizeof(s->value), "%.43s", v + strlen(CONSOLE_COOKIE) + 1);
    snprintf(s->cookie, sizeof(s->cookie), "%s=%s", CONSOLE_COOKIE, s->value);
    j = body_json(r);
    snprintf(s->csrf, sizeof(s->csrf), "%s", json_string_value(json_object_get(j, "csrf")));
    snprintf(s->auth, sizeof(s->auth), "Session %s", s->csrf);
    json_decref(j);
    resp_free(r);
}

/* 200 or 401 for a status request through the admin API with s. */
static int direct_status(fx *f, direct *d, const sess *s)
{
    srv_response *r =
        call_with(f, (req_opts){.path = "/v1/admin/status", .cookie = s->cookie, .auth = s->auth},
                  admin_cb, &d->env);
    int status = r->status;
    resp_free(r);
    return status;
}

static void test_session_idle_and_absolute_expiry(void **state)
{
    fx *f = *state;
    const int64_t idle = 60000, max_age = 300000;
    direct d;
    sess s;

    direct_open(f, &d, idle, max_age);
    direct_sign_in(f, &d, &s);
    assert_int_equal(console_n_sessions(d.c), 1);
    /* each use refreshes the idle time ... */
    for (int i = 0; i < 4; i++) {
        d.now += idle - 1;
        assert_int_equal(direct_status(f, &d, &s), 200);
    }
    /* ... but not past the absolute limit */
    d.now += max_age - 4 * (idle - 1) + 1;
    assert_int_equal(direct_status(f, &d, &s), 401);
    assert_int_equal(console_n_sessions(d.c), 0);

    /* idle for longer than idle_ms: gone */
    direct_sign_in(f, &d, &s);
    d.now += idle;
    assert_int_equal(direct_status(f, &d, &s), 200);
    d.now += idle + 1;
    assert_int_equal(direct_status(f, &d, &s), 401);
    assert_int_equal(console_n_sessions(d.c), 0);
    direct_close(&d);
}

static void test_session_cap_ends_least_recently_used(void **state)
{
    fx *f = *state;
    direct d;
    sess *s = calloc(CONSOLE_MAX_SESSIONS + 1, sizeof(*s));

    direct_open(f, &d, 0, 0);
    for (int i = 0; i < CONSOLE_MAX_SESSIONS; i++) {
        d.now += 10;
        direct_sign_in(f, &d, &s[i]);
    }
    assert_int_equal(console_n_sessions(d.c), CONSOLE_MAX_SESSIONS);
    /* session 0 is used now, so session 1 is the least recently used */
    d.now += 10;
    assert_int_equal(direct_status(f, &d, &s[0]), 200);
    d.now += 10;
    direct_sign_in(f, &d, &s[CONSOLE_MAX_SESSIONS]);
    assert_int_equal(console_n_sessions(d.c), CONSOLE_MAX_SESSIONS);
    assert_int_equal(direct_status(f, &d, &s[1]), 401);
    assert_int_equal(direct_status(f, &d, &s[0]), 200);
    assert_int_equal(direct_status(f, &d, &s[2]), 200);
    assert_int_equal(direct_status(f, &d, &s[CONSOLE_MAX_SESSIONS]), 200);
    direct_close(&d);
    free(s);
}

/* ------------------------------------------------------------------------------------ */
/* logs                                                                                 */

static void test_no_secret_in_logs(void **state)
{
    fx *f = *state;
    char wrong[200], body[300];
    srv_response *r;
    sess s;
    const char *secret = strchr(f->token, '.') + 1;
    size_t signed_in = 0, refused = 0;

    sign_in(f, &s);
    r = call(f, (req_opts){.path = "/v1/admin/status", .cookie = s.cookie, .auth = s.auth});
    resp_free(r);
    snprintf(wrong, sizeof(wrong), "%sX", f->token);
    signin_body(wrong, body, sizeof(body));
    r = call(f, (req_opts){.method = "POST",
                           .path = "/admin/session",
                           .ctype = "application/json",
                           .body = body});
    expect_status(r, 401, "wrong token");
    assert_null(strstr(r->log_note, secret));
    resp_free(r);
    r = call(f,
             (req_opts){
                 .method = "DELETE", .path = "/admin/session", .cookie = s.cookie, .auth = s.auth});
    expect_status(r, 200, "sign-out");
    assert_null(strstr(r->log_note, s.value));
    resp_free(r);
    for (size_t i = 0; i < f->n_log; i++) {
        const char *l = f->log[i];
        if (strstr(l, secret) || strstr(l, s.value) || strstr(l, s.csrf))
            fail_msg("a secret in the log: %s", l);
        signed_in += strstr(l, "signed in") != NULL;
        refused += strstr(l, "sign-in refused") != NULL;
    }
    assert_int_equal(signed_in, 1);
    assert_int_equal(refused, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assets_served_with_security_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assets_deflate_and_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_assets_404_and_methods_405, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_good_token_sets_strict_cookie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_refuses_bad_tokens_and_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_accepted_by_admin_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csrf_token_required, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_never_accepted_by_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_replaces_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_idle_and_absolute_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_cap_ends_least_recently_used, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_in_logs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
