/*
 * console.c: the web console's server side (see console.h for the routes, the session
 * life and the invariants; docs/CONSOLE.md for the page).
 *
 * Sessions live in the store (store_session.c), so that every gridsyncd process on one
 * database knows them and haproxy may send a browser's requests to any (issue 20): at most
 * CONSOLE_MAX_SESSIONS admins signed in at once, the least recently used ending first. The
 * store holds SHA-256 of each cookie value, never the value, so neither a core dump nor a
 * copy of the database hands out live sessions. Every store use holds the app's store lock
 * and flushes an open sync group first, as the admin API does. The admin token is checked through the
 * admin API's own check (admin_api_auth), so the console accepts exactly the tokens the
 * API does.
 */
#define _POSIX_C_SOURCE 200809L
#include "console.h"

#include "common/alloc.h"
#include "common/hlc.h"
#include "common/zbody.h"
#include "auth.h"
#include "group.h"
#include "store.h"

#include <jansson.h>
#include <mbedtls/constant_time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Bytes of a session or csrf value: the base64url secret of an auth token. */
#define SECRET_LEN 43

/* Every console answer: no inline script or style, nothing from elsewhere, no framing.
 * require-trusted-types-for makes Chromium refuse any string-to-HTML sink (innerHTML and
 * friends) in the page, so a slip in app.js cannot turn field data into markup. */
#define SECURITY_HEADERS                                                                           \
    "Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self'; "           \
    "img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "                     \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "                                \
    "require-trusted-types-for 'script'\r\n"                                                       \
    "X-Content-Type-Options: nosniff\r\n"                                                          \
    "X-Frame-Options: DENY\r\n"                                                                    \
    "Referrer-Policy: no-referrer\r\n"                                                             \
    "Cross-Origin-Opener-Policy: same-origin\r\n"                                                  \
    "Cross-Origin-Resource-Policy: same-origin\r\n"

#define COOKIE_ATTRS "; HttpOnly; Secure; SameSite=Strict; Path=/"

typedef store_session session;
_Static_assert(sizeof(((session *)0)->csrf) > SECRET_LEN, "a csrf token fits a session");
_Static_assert(AUTH_HASH_LEN == STORE_HASH_LEN, "one hash length");

struct console {
    admin_env *env;    /* token checks, the store and its lock, metrics, log */
    console_opts opts; /* limits and clock, defaults filled in */
};

static int64_t wall_clock(void *ud)
{
    (void)ud;
    return (int64_t)hlc_wall_ms(NULL);
}

static int64_t now_ms(console *c)
{
    return c->opts.clock(c->opts.clock_ud);
}

static int slice_is(srv_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.ptr && s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static int ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (char)(y + 32);
        if (x != y)
            return 0;
    }
    return 1;
}

const console_asset *console_asset_find(const char *name, size_t len)
{
    for (size_t i = 0; i < console_n_assets; i++)
        if (strlen(console_assets[i].name) == len && memcmp(console_assets[i].name, name, len) == 0)
            return &console_assets[i];
    return NULL;
}

/* ------------------------------------------------------------------------------------ */
/* answers                                                                              */

/* The security headers, Cache-Control and any extra lines (each "Name: v\r\n"). */
static void set_headers(srv_response *resp, const char *cache, const char *extra)
{
    int n = snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                     SECURITY_HEADERS "Cache-Control: %s\r\n%s", cache, extra ? extra : "");
    /* the fixed part fits by far; never send a cut header line */
    if (n < 0 || (size_t)n >= sizeof(resp->extra_headers))
        snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                 SECURITY_HEADERS "Cache-Control: no-store\r\n");
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return buf_add((gs_buf *)data, buffer, size) ? -1 : 0;
}

/* Sends j (and releases it) as JSON, no-store, with extra header lines. */
static void reply_json(srv_response *resp, int status, json_t *j, const char *extra)
{
    buf_reset(&resp->body);
    if (!j || json_dump_callback(j, dump_cb, &resp->body, JSON_COMPACT) != 0 ||
        buf_add(&resp->body, "\n", 1) != GS_OK) {
        buf_reset(&resp->body);
        buf_adds(&resp->body, "{\"error\":\"server\",\"message\":\"cannot build the reply\"}\n");
        status = 500;
        extra = NULL;
    }
    json_decref(j);
    resp->status = status;
    resp->content_type = ADMIN_CONTENT_TYPE;
    resp->content_encoding = NULL;
    set_headers(resp, "no-store", extra);
}

/* {"error": code, "message": msg}, the admin API's error shape. */
static void reply_err(srv_response *resp, int status, const char *code, const char *msg,
                      const char *extra)
{
    reply_json(resp, status, json_pack("{s:s, s:s}", "error", code, "message", msg), extra);
}

static void reply_text(srv_response *resp, int status, const char *text, const char *extra)
{
    buf_reset(&resp->body);
    buf_adds(&resp->body, text);
    resp->status = status;
    resp->content_type = "text/plain; charset=utf-8";
    resp->content_encoding = NULL;
    set_headers(resp, "no-store", extra);
}

static void serve_asset(const srv_request *req, srv_response *resp, const console_asset *a)
{
    gs_err err;
    int html = strncmp(a->content_type, "text/html", 9) == 0;

    buf_reset(&resp->body);
    resp->content_encoding = NULL;
    /* the assets are small and this saves most of them on a slow county link */
    if (a->len > 1024 &&
        zbody_accepts_deflate(req->accept_encoding.ptr, req->accept_encoding.len) &&
        zbody_deflate(a->data, a->len, ZBODY_LEVEL_BEST_LINK, &resp->body, &err) == GS_OK) {
        resp->content_encoding = "deflate";
    } else {
        buf_reset(&resp->body);
        if (buf_add(&resp->body, a->data, a->len) != GS_OK) {
            reply_text(resp, 500, "cannot send the page\n", NULL);
            return;
        }
    }
    resp->status = 200;
    resp->content_type = a->content_type;
    /* the page is always fetched fresh (it names the scripts); the rest is revalidated too,
     * so an upgraded server never runs old script against a new API */
    set_headers(resp, html ? "no-store" : "no-cache", "Vary: Accept-Encoding\r\n");
}

/* ------------------------------------------------------------------------------------ */
/* sessions                                                                             */

/* The value of the session cookie in a Cookie header, or 0. */
static int cookie_value(srv_slice cookie, const char **val, size_t *len)
{
    static const char name[] = CONSOLE_COOKIE;
    size_t i = 0, nl = sizeof(name) - 1;

    while (cookie.ptr && i < cookie.len) {
        size_t end = i, s = i;
        while (end < cookie.len && cookie.ptr[end] != ';')
            end++;
        while (s < end && (cookie.ptr[s] == ' ' || cookie.ptr[s] == '\t'))
            s++;
        if (end - s > nl && memcmp(cookie.ptr + s, name, nl) == 0 && cookie.ptr[s + nl] == '=') {
            size_t v = s + nl + 1, e = end;
            while (e > v && (cookie.ptr[e - 1] == ' ' || cookie.ptr[e - 1] == '\t'))
                e--;
            if (e - v != SECRET_LEN)
                return 0;
            *val = cookie.ptr + v;
            *len = e - v;
            return 1;
        }
        i = end + 1;
    }
    return 0;
}

/* The csrf token of an "Authorization: Session <csrf>" header: 1 found, 0 another scheme
 * or none. */
static int session_header(srv_slice h, const char **csrf, size_t *len)
{
    static const char scheme[] = CONSOLE_AUTH_SCHEME;
    size_t n = sizeof(scheme) - 1, i;

    if (!h.ptr || h.len <= n || !ieq(h.ptr, scheme, n) || h.ptr[n] != ' ')
        return 0;
    i = n;
    while (i < h.len && h.ptr[i] == ' ')
        i++;
    *csrf = h.ptr + i;
    *len = h.len - i;
    while (*len && (*csrf)[*len - 1] == ' ')
        (*len)--;
    return 1;
}

/* The store, locked, with no sync group open on it; unlock with store_done. */
static store *store_take(console *c)
{
    pthread_mutex_lock(c->env->lock);
    if (c->env->group)
        group_flush(c->env->group);
    return c->env->st;
}

static void store_done(console *c)
{
    pthread_mutex_unlock(c->env->lock);
}

/* The live session the request's cookie names into *out: 1 found, 0 not (or the store
 * failed: logged). Ends the sessions it finds expired on the way. */
static int session_find(console *c, const srv_request *req, int64_t now, session *out)
{
    uint8_t hash[AUTH_HASH_LEN];
    const char *val;
    size_t len;
    gs_err err;
    int rc;

    if (!cookie_value(req->cookie, &val, &len) || auth_hash(val, len, hash) != GS_OK)
        return 0;
    rc = store_session_get(store_take(c), hash, now - c->opts.idle_ms,
                           now - c->opts.max_age_ms, out, &err);
    store_done(c);
    if (rc && rc != GS_E_NOTFOUND)
        log_error(c->env->lg, "console: session lookup: %s", err.msg);
    return rc == GS_OK;
}

/* The session of the request if its csrf token matches too. */
static int session_check(console *c, const srv_request *req, int64_t now, session *out)
{
    const char *csrf;
    size_t len;

    if (!session_header(req->authorization, &csrf, &len) || len != SECRET_LEN)
        return 0;
    if (!session_find(c, req, now, out))
        return 0;
    return strlen(out->csrf) == SECRET_LEN && mbedtls_ct_memcmp(out->csrf, csrf, SECRET_LEN) == 0;
}

/* Counts a session's use now (its idle time starts again). */
static void session_touch(console *c, const session *ss, int64_t now)
{
    gs_err err;
    if (store_session_touch(store_take(c), ss->id_hash, now, &err))
        log_error(c->env->lg, "console: session use: %s", err.msg);
    store_done(c);
}

int console_session_auth(void *ud, const srv_request *req, char *admin_id, size_t cap)
{
    console *c = ud;
    const char *csrf;
    size_t len;
    int64_t now = now_ms(c);
    session s;
    int rc = GS_E_AUTH;

    if (!session_header(req->authorization, &csrf, &len))
        return GS_E_NOTFOUND;
    if (session_check(c, req, now, &s) && strlen(s.admin) < cap) {
        session_touch(c, &s, now);
        memcpy(admin_id, s.admin, strlen(s.admin) + 1);
        rc = GS_OK;
    }
    memset(&s, 0, sizeof(s));
    return rc;
}

size_t console_n_sessions(console *c)
{
    int64_t now = now_ms(c), n = 0;
    gs_err err;

    if (store_session_count(store_take(c), now - c->opts.idle_ms, now - c->opts.max_age_ms, &n,
                            &err))
        log_error(c->env->lg, "console: counting sessions: %s", err.msg);
    store_done(c);
    return (size_t)n;
}

/* A fresh random secret (base64url, SECRET_LEN characters) into out, its hash into hash. */
static int new_secret(char out[SECRET_LEN + 1], uint8_t hash[AUTH_HASH_LEN])
{
    char token[AUTH_TOKEN_MAX + 1];
    int rc = auth_new_token("s", token, sizeof(token), hash);

    /* auth_new_token makes "s.<secret>" and hashes only the secret */
    if (!rc && strlen(token) != 2 + SECRET_LEN)
        rc = GS_E_CRYPTO;
    if (!rc)
        memcpy(out, token + 2, SECRET_LEN + 1);
    memset(token, 0, sizeof(token));
    return rc;
}

/* The session's answer, with the admin's name, role and towns (what the page shows). */
static json_t *session_json(console *c, const session *s, int64_t idle_ms)
{
    json_t *o = json_pack("{s:s, s:s, s:I}", "admin", s->admin, "csrf", s->csrf, "idle_ms",
                          (json_int_t)idle_ms);
    admin_api_describe(c->env, s->admin, o);
    return o;
}

/* POST /admin/session {"token": "<admin token>"}. */
static void signin(console *c, const srv_request *req, srv_response *resp)
{
    char header[AUTH_TOKEN_MAX + 16], admin[GS_LIMIT_NAME + 1], cookie[SECRET_LEN + 1];
    char extra[256];
    const json_t *token;
    json_t *body = NULL;
    json_error_t jerr;
    session fresh, old;
    store *st;
    gs_err err;
    int64_t now;
    int had, rc;

    memset(&fresh, 0, sizeof(fresh));
    if (req->body_len > CONSOLE_SIGNIN_MAX) {
        reply_err(resp, 413, "too_large", "the sign-in body is too large", NULL);
        goto out;
    }
    /* a cross-site form cannot send JSON without a CORS preflight we never answer */
    if (!admin_is_json(req->content_type)) {
        reply_err(resp, 415, "content_type", "the body must be " ADMIN_CONTENT_TYPE, NULL);
        goto out;
    }
    body = json_loadb((const char *)(req->body ? req->body : (const uint8_t *)""), req->body_len,
                      JSON_REJECT_DUPLICATES, &jerr);
    token = json_object_get(body, "token");
    if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_string(token) ||
        json_string_length(token) == 0 || json_string_length(token) > AUTH_TOKEN_MAX) {
        reply_err(resp, 400, "malformed", "send {\"token\": \"<admin token>\"}", NULL);
        goto out;
    }
    snprintf(header, sizeof(header), "Bearer %s", json_string_value(token));
    rc = admin_api_auth(c->env, header, strlen(header), admin, sizeof(admin));
    memset(header, 0, sizeof(header));
    if (rc == GS_E_AUTH) {
        atomic_fetch_add(&c->env->metrics->auth_failures, 1);
        log_warn(c->env->lg, "console: sign-in refused from %s", req->peer ? req->peer : "?");
        reply_err(resp, 401, "auth", "this is not a valid admin token", NULL);
        goto out;
    }
    if (!rc)
        rc = new_secret(cookie, fresh.id_hash);
    if (!rc)
        rc = new_secret(fresh.csrf, (uint8_t[AUTH_HASH_LEN]){0});
    if (rc) {
        log_error(c->env->lg, "console: cannot sign in: %s", gs_strerror(rc));
        reply_err(resp, 500, "server", "cannot check the token now", NULL);
        goto out;
    }
    now = now_ms(c);
    fresh.created_ms = fresh.used_ms = now;
    memcpy(fresh.admin, admin, sizeof(admin));

    /* a new sign-in replaces the session the browser had (no session fixation); when
       full, the least recently used session ends */
    memset(&old, 0, sizeof(old));
    had = session_find(c, req, now, &old);
    st = store_take(c);
    rc = had ? store_session_del(st, old.id_hash, &err) : GS_OK;
    if (!rc)
        rc = store_session_put(st, &fresh, CONSOLE_MAX_SESSIONS, &err);
    store_done(c);
    memset(&old, 0, sizeof(old));
    if (rc) {
        log_error(c->env->lg, "console: cannot sign in: %s", err.msg);
        reply_err(resp, 500, "server", "cannot keep the session now", NULL);
        goto out;
    }

    log_info(c->env->lg, "console: admin %s signed in from %s", admin, req->peer ? req->peer : "?");
    snprintf(resp->log_note, sizeof(resp->log_note), "admin=%s", admin);
    snprintf(extra, sizeof(extra), "Set-Cookie: " CONSOLE_COOKIE "=%s" COOKIE_ATTRS "\r\n", cookie);
    reply_json(resp, 200, session_json(c, &fresh, c->opts.idle_ms), extra);
    memset(extra, 0, sizeof(extra));
out:
    memset(cookie, 0, sizeof(cookie));
    memset(&fresh, 0, sizeof(fresh));
    json_decref(body);
}

/* GET /admin/session: who is signed in, and the csrf token again for a reloaded page. */
static void session_get(console *c, const srv_request *req, srv_response *resp)
{
    int64_t now = now_ms(c);
    session copy;

    if (!session_find(c, req, now, &copy)) {
        reply_err(resp, 401, "auth", "not signed in", NULL);
        return;
    }
    session_touch(c, &copy, now);
    snprintf(resp->log_note, sizeof(resp->log_note), "admin=%s", copy.admin);
    reply_json(resp, 200, session_json(c, &copy, c->opts.idle_ms), NULL);
    memset(&copy, 0, sizeof(copy));
}

/* DELETE /admin/session: needs the csrf token, so another site cannot sign anyone out. */
static void signout(console *c, const srv_request *req, srv_response *resp)
{
    char admin[GS_LIMIT_NAME + 1] = "";
    session s;
    gs_err err;

    if (session_check(c, req, now_ms(c), &s)) {
        if (store_session_del(store_take(c), s.id_hash, &err) == GS_OK)
            memcpy(admin, s.admin, sizeof(admin));
        else
            log_error(c->env->lg, "console: sign-out: %s", err.msg);
        store_done(c);
    }
    memset(&s, 0, sizeof(s));
    if (!admin[0]) {
        reply_err(resp, 401, "auth", "not signed in", NULL);
        return;
    }
    log_info(c->env->lg, "console: admin %s signed out", admin);
    snprintf(resp->log_note, sizeof(resp->log_note), "admin=%s", admin);
    reply_json(resp, 200, json_pack("{s:b}", "signed_out", 1),
               "Set-Cookie: " CONSOLE_COOKIE "=" COOKIE_ATTRS "; Max-Age=0\r\n");
}

/* ------------------------------------------------------------------------------------ */
/* routing                                                                              */

int console_new(console **out, admin_env *env, const console_opts *opts, gs_err *err)
{
    console *c = gs_calloc(1, sizeof(*c));

    if (!c)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    c->env = env;
    if (opts)
        c->opts = *opts;
    if (c->opts.idle_ms <= 0)
        c->opts.idle_ms = CONSOLE_IDLE_MS;
    if (c->opts.max_age_ms <= 0)
        c->opts.max_age_ms = CONSOLE_MAX_AGE_MS;
    if (!c->opts.clock) {
        c->opts.clock = wall_clock;
        c->opts.clock_ud = NULL;
    }
    (void)err;
    *out = c;
    return GS_OK;
}

void console_free(console *c)
{
    if (!c)
        return;
    gs_free(c);
}

void console_handle(console *c, const srv_request *req, srv_response *resp)
{
    static const char prefix[] = CONSOLE_PREFIX "/";
    int is_get = slice_is(req->method, "GET") || slice_is(req->method, "HEAD");
    srv_slice name = {NULL, 0};
    const console_asset *a;

    resp->status = 500;
    resp->content_encoding = NULL;
    if (slice_is(req->path, CONSOLE_PREFIX "/session")) {
        if (slice_is(req->method, "POST"))
            signin(c, req, resp);
        else if (slice_is(req->method, "GET"))
            session_get(c, req, resp);
        else if (slice_is(req->method, "DELETE"))
            signout(c, req, resp);
        else
            reply_err(resp, 405, "method", "use GET, POST or DELETE here",
                      "Allow: GET, POST, DELETE\r\n");
        return;
    }
    if (slice_is(req->path, CONSOLE_PREFIX) || slice_is(req->path, prefix)) {
        name.ptr = "index.html";
        name.len = 10;
    } else if (req->path.len > sizeof(prefix) - 1 &&
               memcmp(req->path.ptr, prefix, sizeof(prefix) - 1) == 0) {
        name.ptr = req->path.ptr + sizeof(prefix) - 1;
        name.len = req->path.len - (sizeof(prefix) - 1);
    }
    a = name.ptr ? console_asset_find(name.ptr, name.len) : NULL;
    if (!a) {
        reply_text(resp, 404, "not found\n", NULL);
        return;
    }
    if (!is_get) {
        reply_text(resp, 405, "method not allowed\n", "Allow: GET, HEAD\r\n");
        return;
    }
    serve_asset(req, resp, a);
}
