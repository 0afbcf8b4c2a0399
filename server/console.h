/*
 * console.h: the web console for admins, served by gridsyncd at /admin on its TLS port
 * (docs/CONSOLE.md): the page's assets, embedded in the binary at build time from
 * server/console/ by scripts/embed_assets.c, and the sign-in sessions that let the page
 * call the JSON admin API (/v1/admin/...) without keeping the admin token.
 *
 *   GET    /admin, /admin/         index.html
 *   GET    /admin/NAME             an embedded asset (404 for anything else)
 *   POST   /admin/session          {"token": T} -> 200 {"admin","csrf"} + session cookie
 *   GET    /admin/session          the signed-in admin and csrf token again, or 401
 *   DELETE /admin/session          sign-out (needs the csrf token, like any API call)
 *
 * Session life:
 *
 *   sign-in (admin token checked) --> ACTIVE --(idle > idle_ms, age > max_age_ms)--> gone
 *                                       |  \--sign-out, or a sign-in over it--------> gone
 *                                       +--each accepted request refreshes its idle time
 *
 * Invariants:
 *  - the session id is 32 bytes from the OS CSPRNG, sent only in the cookie
 *    (HttpOnly; Secure; SameSite=Strict; Path=/, name with the __Host- prefix); the server
 *    keeps only its SHA-256 and compares hashes in constant time; sessions live in memory
 *    and end with the process;
 *  - a session authenticates an admin API request only together with its per-session
 *    csrf token, sent by the page as "Authorization: Session <csrf>": a cross-site page can
 *    neither read the token nor set that header, and SameSite=Strict keeps the cookie off
 *    cross-site requests anyway; /v1/sync never looks at cookies;
 *  - every console answer carries a strict Content-Security-Policy (no inline script),
 *    nosniff, X-Frame-Options DENY and Referrer-Policy no-referrer;
 *  - no cookie, token or csrf value ever reaches a log line or log_note.
 */
#ifndef GS_SERVER_CONSOLE_H
#define GS_SERVER_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"
#include "admin_api.h"
#include "app.h"

#define CONSOLE_PREFIX "/admin"
#define CONSOLE_COOKIE "__Host-gs_session"
#define CONSOLE_IDLE_MS (12LL * 3600 * 1000)    /* a session unused this long ends */
#define CONSOLE_MAX_AGE_MS (7LL * 86400 * 1000) /* and any session ends after this */
#define CONSOLE_MAX_SESSIONS 64                 /* then the least recently used goes */
#define CONSOLE_SIGNIN_MAX 4096                 /* bytes of a sign-in body */
#define CONSOLE_AUTH_SCHEME "Session"           /* Authorization scheme of the page */

/* One embedded file of server/console/ (the table is generated at build time). */
typedef struct console_asset {
    const char *name;          /* file name, served at /admin/<name> */
    const char *content_type;  /* from the file's extension */
    const unsigned char *data; /* the bytes */
    size_t len;                /* bytes in data */
} console_asset;

extern const console_asset console_assets[];
extern const size_t console_n_assets;

/* The asset called name[0..len), or NULL. */
const console_asset *console_asset_find(const char *name, size_t len);

/* Clock of the sessions, in ms since 1970; tests replace it. */
typedef int64_t console_clock(void *ud);

typedef struct console_opts {
    int64_t idle_ms;      /* 0: CONSOLE_IDLE_MS */
    int64_t max_age_ms;   /* 0: CONSOLE_MAX_AGE_MS */
    console_clock *clock; /* NULL: the wall clock */
    void *clock_ud;       /* passed to clock */
} console_opts;

typedef struct console console;

/* A console checking admin tokens through env (which outlives it); opts may be NULL. */
int console_new(console **out, admin_env *env, const console_opts *opts, gs_err *err);

/* console_free(NULL) is a no-op. */
void console_free(console *c);

/* Answers a request whose path is /admin or starts with /admin/. Never fails. Safe to call
 * from several threads at once. */
void console_handle(console *c, const srv_request *req, srv_response *resp);

/* For admin_env.session_auth: GS_E_NOTFOUND when the request's Authorization is not of the
 * console's scheme (the caller then checks it as a token); GS_OK with the admin's id when
 * its session cookie names a live session whose csrf token matches; GS_E_AUTH otherwise.
 * ud is the console. */
int console_session_auth(void *ud, const srv_request *req, char *admin_id, size_t cap);

/* Live sessions (for tests and logs). */
size_t console_n_sessions(console *c);

#endif
