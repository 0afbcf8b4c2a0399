/*
 * app.h: the seam between gridsyncd's network layer (net.c, http.c, tls.c, main.c) and its
 * application (api.c and the store, merge and admin modules behind it).
 *
 * The network layer owns sockets, TLS, HTTP framing, limits on header and body size,
 * timeouts, keep-alive, the connection cap, the per-request log line, /v1/health and
 * /metrics. It hands every other complete request to app_handle and writes back what that
 * fills in. The application never sees a socket; the network layer never sees SQLite.
 *
 * Threads: app_handle is called concurrently from the network layer's worker threads and
 * must be safe for that; everything else here is called from one thread.
 */
#ifndef GS_SERVER_APP_H
#define GS_SERVER_APP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/rc.h"
#include "config.h"
#include "metrics.h"

/* A complete request as parsed by http.c. Strings are slices of the connection's buffer,
 * not NUL-terminated, valid only during app_handle. Absent headers have ptr NULL, len 0. */
typedef struct srv_slice {
    const char *ptr; /* NULL when absent */
    size_t len;      /* bytes */
} srv_slice;

typedef struct srv_request {
    srv_slice method;           /* "GET", "POST", ... */
    srv_slice path;             /* "/v1/sync", without the query */
    srv_slice query;            /* after '?', without it; empty when none */
    srv_slice content_type;     /* Content-Type header value */
    srv_slice content_encoding; /* Content-Encoding header value ("deflate" or absent) */
    srv_slice accept_encoding;  /* Accept-Encoding header value */
    srv_slice authorization;    /* Authorization header value: never log it */
    srv_slice cookie;           /* Cookie header value: never log it */
    srv_slice origin;           /* Origin header value (CSRF check for the console) */
    const uint8_t *body;        /* the body, de-chunked, NOT inflated; NULL when empty */
    size_t body_len;            /* bytes in body (the network layer caps it) */
    const char *peer;           /* "127.0.0.1:40312", for logs */
} srv_request;

#define SRV_EXTRA_HEADERS_MAX 1024
#define SRV_LOG_NOTE_MAX 160

typedef struct srv_response {
    int status;                 /* HTTP status; 0 means 500 */
    const char *content_type;   /* a static string; NULL when the body is empty */
    const char *content_encoding; /* "deflate" when body is already compressed, else NULL */
    gs_buf body;                /* the body; initialised by the caller with a cap */
    char extra_headers[SRV_EXTRA_HEADERS_MAX]; /* complete "Name: value\r\n" lines, or "" */
    char log_note[SRV_LOG_NOTE_MAX]; /* appended to the request's log line ("dev=... ch=3");
                                        never a token, cookie or other secret */
} srv_response;

typedef struct srv_app srv_app;

/* Opens the store named in cfg and everything the handlers need. metrics and lg outlive
 * the app. */
/* Process-wide settings for a process that serves syncs; call first in main(), before any
 * thread or SQLite use. See api.c for what and why. */
void app_process_init(void);

int app_open(srv_app **out, const srv_config *cfg, srv_metrics *metrics, gs_logger *lg,
             gs_err *err);

/* Finishes nothing in flight (the network layer has drained its workers first), closes the
 * store cleanly. app_close(NULL) is a no-op. */
void app_close(srv_app *app);

/* Runs the warning rules' time-driven sweep as of now_ms (the sweep thread calls it every
 * rules_sweep_s with the wall clock; tests call it with their own): settles every watch row
 * whose time has come, in transactions of at most 1,000 rows. *opened and *cleared (may be
 * NULL) count the warnings it opened and cleared. */
int app_sweep(srv_app *app, int64_t now_ms, uint32_t *opened, uint32_t *cleared, gs_err *err);

/* Answers one request. Always fills resp (status, body, content type); never fails. */
void app_handle(srv_app *app, const srv_request *req, srv_response *resp);

/* Judges the head of a request that announces a body, before a byte of the body is read
 * or 100 Continue promised (req has no body yet): 0 with *max_body set to the route's body
 * limit (sync: max_body_bytes; schema: 1 KiB; enrolment: ENROLL_BODY_MAX;
 * admin API and console: ADMIN_BODY_MAX), or 1 with resp
 * filled with the refusal (401 without a valid token on /v1/sync and /v1/admin, 404 for an
 * unknown path), after which the connection is closed without reading the body. The
 * handler checks the same things again on the complete request. */
int app_head_check(srv_app *app, const srv_request *req, srv_response *resp, size_t *max_body);

/* For `gridsyncd init`: creates an empty store at db_path and a first admin, writing the
 * admin's token (shown once, stored only as a hash) into token_out. */
int app_init_store(const char *db_path, char *token_out, size_t token_cap, gs_err *err);

#endif
