/*
 * test_srv_transport.c: the HTTPS client (common/transport.c) against gridsyncd's own
 * connection engine (server/net.c + tls.c + http.c) in process, with real TLS on an
 * ephemeral port of 127.0.0.1 and certificates from certgen. It is named test_srv_* only to
 * link the server objects it runs the client against; the module under test is the
 * transport. The server's handler answers canned responses by path and records what it saw,
 * so both ends of every request are checked:
 *  - a GET and a POST succeed, with status and body byte-exact; the request (method, path,
 *    query, bearer token, content type, body) arrives byte-exact; the base URL's trailing
 *    slashes are dropped; an empty POST sends nothing and reads nothing;
 *  - compression: a body over 512 bytes is deflated (and inflates to the original on the
 *    server), a short or incompressible one is sent as it is, compress = 0 neither deflates
 *    nor asks for deflate; a deflated answer is inflated; a corrupt one is GS_E_PROTO;
 *  - every status the callers map (client/csync.c, admin/main.c) comes back as GS_OK with
 *    the status and the server's error body unchanged, including a 413 from the network
 *    layer's own body cap;
 *  - the response cap: an answer over it, plain or inflated from a small deflated body,
 *    is GS_E_TOO_LARGE, and the link serves again afterwards;
 *  - errors: a CA that did not sign the server, a certificate for another name, a CA PEM
 *    that is no certificate -> GS_E_TLS; trust comes from the enrolment CA only, not from
 *    the system's store (run in a mount namespace; skipped where none can be made); a
 *    closed port -> GS_E_NETWORK; a server that never answers the handshake, an answer
 *    slower than the total timeout -> GS_E_TIMEOUT; a bad URL or a missing setting ->
 *    GS_E_CONFIG; each with its message, and *status untouched;
 *  - transport_stats: requests, bytes each way (equal to what the server logged as in= and
 *    out=), bodies before compression and after decompression, connections: one for many
 *    requests on a kept-alive link, a second after the server closed it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <mbedtls/md.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/rc.h"
#include "common/transport.h"
#include "common/zbody.h"
#include "server/certgen.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/net.h"
#include "server/tls.h"
#include "tests/lib/tdir.h"

#define TOKEN "dev-7.s3cr3t-token"
#define CA_CN "gridsync test ca"        /* lower case: see capath_name */
#define OTHER_CA_CN "gridsync other ca" /* a CA that signed nothing the server uses */

/* ---- fixture: certificates once, a server per test -------------------------------------- */

typedef struct certs {
    char dir[TDIR_MAX];  /* temporary folder */
    char ca[128];        /* ca.pem: signed both server certificates */
    char ca_key[128];    /* ca.key */
    char cert[128];      /* server.pem: localhost, 127.0.0.1 */
    char key[128];       /* server.key */
    char alien[128];     /* alien.pem: signed by ca for elsewhere.example only */
    char alien_key[128]; /* alien.key */
    char capath[128];    /* a folder with ca.pem under its OpenSSL hash name */
    gs_buf ca_pem;       /* ca.pem's bytes */
    gs_buf other_ca_pem; /* other.pem's bytes: a CA that signed none of these */
} certs;

/* What the handler saw of the last request. */
typedef struct seen {
    int n;           /* requests handled */
    char method[16]; /* "GET", "POST" */
    char path[256];  /* without the query */
    char query[256]; /* after '?' */
    char ctype[128]; /* Content-Type, "(none)" when absent */
    char cenc[64];   /* Content-Encoding, "(none)" when absent */
    char aenc[64];   /* Accept-Encoding, "(none)" when absent */
    char auth[128];  /* Authorization, "(none)" when absent */
    gs_buf body;     /* the body as it arrived (deflated if it was sent so) */
} seen;

typedef struct server {
    certs *certs;         /* shared certificates */
    srv_config cfg;       /* settings: short timeouts */
    srv_metrics m;        /* counters */
    gs_logger lg;         /* captures lines into log */
    pthread_mutex_t lock; /* guards log and seen */
    gs_buf log;           /* every log line, '\n'-separated */
    seen seen;            /* the last request */
    srv_tls *tls;         /* TLS endpoint */
    srv_net *net;         /* the engine */
    pthread_t thread;     /* runs net_run */
    int run_rc;           /* net_run's result */
    int port;             /* bound port */
    char base[64];        /* "https://localhost:PORT" */
} server;

static void capture(void *ud, int level, const char *line)
{
    server *s = ud;
    (void)level;
    pthread_mutex_lock(&s->lock);
    buf_adds(&s->log, line);
    buf_adds(&s->log, "\n");
    pthread_mutex_unlock(&s->lock);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Text that compresses well, like a sync body. */
static void fill_text(char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = "visit elderly_checkin 3 ok; "[i % 28];
}

/* Bytes that do not compress (xorshift), with NULs and every other value among them. */
static void fill_noise(char *p, size_t n, uint32_t seed)
{
    uint32_t x = seed ? seed : 2463534242u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)(x >> 24);
    }
}

/* The body of /ok: every byte value, NUL first, so a C-string slip shows. */
#define OK_LEN 1000
static void fill_ok(char *p)
{
    for (size_t i = 0; i < OK_LEN; i++)
        p[i] = (char)((i * 7) & 0xff);
}

static int slice_eq(srv_slice a, const char *s)
{
    return a.len == strlen(s) && memcmp(a.ptr, s, a.len) == 0;
}

static void copy_slice(char *out, size_t cap, srv_slice v)
{
    if (!v.ptr)
        snprintf(out, cap, "(none)");
    else
        snprintf(out, cap, "%.*s", (int)v.len, v.ptr);
}

/* The number after "n=" in the query, or def. */
static size_t query_n(srv_slice q, size_t def)
{
    char text[32];
    char *end;
    unsigned long long v;
    if (q.len < 3 || q.len >= sizeof(text) || memcmp(q.ptr, "n=", 2) != 0)
        return def;
    snprintf(text, sizeof(text), "%.*s", (int)q.len - 2, q.ptr + 2);
    v = strtoull(text, &end, 10);
    return *end ? def : (size_t)v;
}

/* The test application. Records the request, then answers by path:
 *   /ok           200, OK_LEN binary bytes      /echo      200, the body as it arrived
 *   /status/NNN   NNN with a JSON error body    /big?n=N   200, N bytes of text
 *   /deflate?n=N  200, N bytes of text deflated /baddeflate  "deflate" that is not zlib
 *   /slow         200 after 600 ms              else       404 */
static void handler(void *ud, const srv_request *req, srv_response *resp)
{
    server *s = ud;
    seen *w = &s->seen;

    pthread_mutex_lock(&s->lock);
    w->n++;
    copy_slice(w->method, sizeof(w->method), req->method);
    copy_slice(w->path, sizeof(w->path), req->path);
    copy_slice(w->query, sizeof(w->query), req->query);
    copy_slice(w->ctype, sizeof(w->ctype), req->content_type);
    copy_slice(w->cenc, sizeof(w->cenc), req->content_encoding);
    copy_slice(w->aenc, sizeof(w->aenc), req->accept_encoding);
    copy_slice(w->auth, sizeof(w->auth), req->authorization);
    buf_reset(&w->body);
    if (req->body_len)
        buf_add(&w->body, req->body, req->body_len);
    pthread_mutex_unlock(&s->lock);

    resp->status = 200;
    resp->content_type = "application/octet-stream";
    if (slice_eq(req->path, "/ok")) {
        char ok[OK_LEN];
        fill_ok(ok);
        buf_add(&resp->body, ok, OK_LEN);
    } else if (slice_eq(req->path, "/echo")) {
        if (req->body_len)
            buf_add(&resp->body, req->body, req->body_len);
    } else if (req->path.len == 11 && memcmp(req->path.ptr, "/status/", 8) == 0) {
        resp->status = (int)strtol(req->path.ptr + 8, NULL, 10); /* 3 digits, then the end */
        resp->content_type = "application/json";
        buf_addf(&resp->body, "{\"err\":\"canned\",\"msg\":\"status %d\"}", resp->status);
    } else if (slice_eq(req->path, "/big") || slice_eq(req->path, "/deflate")) {
        size_t n = query_n(req->query, 1000);
        char *text = malloc(n ? n : 1);
        gs_err err;
        if (!text) {
            resp->status = 500;
            return;
        }
        fill_text(text, n);
        if (req->path.len == 4) {
            buf_add(&resp->body, text, n);
        } else {
            resp->content_type = "text/plain";
            resp->content_encoding = "deflate";
            if (zbody_deflate(text, n, ZBODY_LEVEL_BEST_LINK, &resp->body, &err) != GS_OK)
                resp->status = 500;
        }
        free(text);
    } else if (slice_eq(req->path, "/baddeflate")) {
        resp->content_encoding = "deflate";
        buf_adds(&resp->body, "this is not a zlib stream at all");
    } else if (slice_eq(req->path, "/slow")) {
        sleep_ms(600);
        buf_adds(&resp->body, "slow done");
    } else {
        resp->status = 404;
        resp->content_type = "text/plain";
        buf_adds(&resp->body, "no");
    }
}

static void *run_thread(void *arg)
{
    server *s = arg;
    gs_err err;
    s->run_rc = net_run(s->net, &err);
    return NULL;
}

/* OpenSSL's name for a CA file in a CApath folder, "<hash>.0": the hash is the first four
 * bytes, little-endian, of SHA-1 over the canonical encoding of the subject, which for a
 * subject of one lower-case, single-spaced ASCII CN is SET { SEQUENCE { OID cn, UTF8String
 * cn } } (crypto/x509/x_name.c, x509_name_canon). */
static int capath_name(const char *cn, char *out, size_t cap)
{
    unsigned char enc[160], md[20];
    size_t n = strlen(cn);
    if (n > 120)
        return -1;
    enc[0] = 0x31, enc[1] = (unsigned char)(n + 9); /* the SET: everything after here */
    enc[2] = 0x30, enc[3] = (unsigned char)(n + 7); /* the SEQUENCE: OID 5 + string 2 + n */
    enc[4] = 0x06, enc[5] = 0x03, enc[6] = 0x55, enc[7] = 0x04, enc[8] = 0x03;
    enc[9] = 0x0c, enc[10] = (unsigned char)n;
    memcpy(enc + 11, cn, n);
    if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), enc, n + 11, md) != 0)
        return -1;
    snprintf(out, cap, "%08lx.0",
             (unsigned long)md[0] | (unsigned long)md[1] << 8 | (unsigned long)md[2] << 16 |
                 (unsigned long)md[3] << 24);
    return 0;
}

static int group_setup(void **state)
{
    certs *c = calloc(1, sizeof(*c));
    const char *names[] = {"localhost", "127.0.0.1"};
    const char *alien_names[] = {"elsewhere.example"};
    char other[160], other_key[160], hashed[200], hname[16];
    gs_err err;
    if (!c || tdir_make(c->dir, "transport") != 0)
        return -1;
    snprintf(c->ca, sizeof(c->ca), "%s/ca.pem", c->dir);
    snprintf(c->ca_key, sizeof(c->ca_key), "%s/ca.key", c->dir);
    snprintf(c->cert, sizeof(c->cert), "%s/server.pem", c->dir);
    snprintf(c->key, sizeof(c->key), "%s/server.key", c->dir);
    snprintf(c->alien, sizeof(c->alien), "%s/alien.pem", c->dir);
    snprintf(c->alien_key, sizeof(c->alien_key), "%s/alien.key", c->dir);
    snprintf(c->capath, sizeof(c->capath), "%s/capath", c->dir);
    snprintf(other, sizeof(other), "%s/other.pem", c->dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", c->dir);
    buf_init(&c->ca_pem, 1 << 16);
    buf_init(&c->other_ca_pem, 1 << 16);
    if (certgen_make_ca(c->ca, c->ca_key, CA_CN, &err) != GS_OK ||
        certgen_make_server(c->ca, c->ca_key, c->cert, c->key, names, 2, &err) != GS_OK ||
        certgen_make_server(c->ca, c->ca_key, c->alien, c->alien_key, alien_names, 1, &err) !=
            GS_OK ||
        certgen_make_ca(other, other_key, OTHER_CA_CN, &err) != GS_OK ||
        buf_read_file(&c->ca_pem, c->ca, &err) != GS_OK ||
        buf_read_file(&c->other_ca_pem, other, &err) != GS_OK) {
        fprintf(stderr, "certificates: %s\n", err.msg);
        return -1;
    }
    if (mkdir(c->capath, 0755) != 0 || capath_name(CA_CN, hname, sizeof(hname)) != 0)
        return -1;
    snprintf(hashed, sizeof(hashed), "%s/%s", c->capath, hname);
    if (certgen_write_new_file(hashed, c->ca_pem.ptr, c->ca_pem.len, 0644, &err) != GS_OK)
        return -1;
    *state = c;
    return 0;
}

static int group_teardown(void **state)
{
    certs *c = *state;
    buf_free(&c->ca_pem);
    buf_free(&c->other_ca_pem);
    tdir_remove(c->dir);
    free(c);
    return 0;
}

/* A server with the given certificate, body cap and idle timeout (0: 1 s). */
static server *start_ex(certs *c, const char *cert, const char *key, size_t max_body, int idle_ms)
{
    server *s = calloc(1, sizeof(*s));
    gs_err err;
    assert_non_null(s);
    s->certs = c;
    config_defaults(&s->cfg);
    snprintf(s->cfg.listen, sizeof(s->cfg.listen), "127.0.0.1:0");
    snprintf(s->cfg.cert_path, sizeof(s->cfg.cert_path), "%s", cert);
    snprintf(s->cfg.key_path, sizeof(s->cfg.key_path), "%s", key);
    s->cfg.workers = 2;
    s->cfg.max_connections = 16;
    s->cfg.read_timeout_ms = 2000;
    s->cfg.request_timeout_ms = 3000;
    s->cfg.idle_timeout_ms = idle_ms ? idle_ms : 1000;
    s->cfg.shutdown_timeout_ms = 3000;
    s->cfg.max_body_bytes = max_body;
    metrics_init(&s->m);
    pthread_mutex_init(&s->lock, NULL);
    buf_init(&s->log, 1 << 20);
    buf_init(&s->seen.body, 1 << 22);
    log_init(&s->lg, "gridsyncd", getenv("GS_TEST_DEBUG") ? GS_LOG_DEBUG : GS_LOG_INFO);
    s->lg.sink = capture;
    s->lg.ud = s;
    if (tls_open(&s->tls, &s->cfg, &err) != GS_OK)
        fail_msg("tls_open: %s", err.msg);
    net_opts o = {&s->cfg, s->tls, &s->m, &s->lg, handler, s, -1, NULL};
    if (net_new(&s->net, &o, &err) != GS_OK)
        fail_msg("net_new: %s", err.msg);
    s->port = net_port(s->net);
    assert_true(s->port > 0);
    snprintf(s->base, sizeof(s->base), "https://localhost:%d", s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, run_thread, s), 0);
    return s;
}

static server *start(certs *c)
{
    return start_ex(c, c->cert, c->key, 1 << 20, 0);
}

static void stop(server *s)
{
    net_stop(s->net);
    pthread_join(s->thread, NULL);
    assert_int_equal(s->run_rc, GS_OK);
    net_free(s->net);
    tls_close(s->tls);
    buf_free(&s->log);
    buf_free(&s->seen.body);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A snapshot of what the handler saw, taken under the lock. */
static seen last(server *s)
{
    seen w;
    pthread_mutex_lock(&s->lock);
    w = s->seen;
    w.body.ptr = NULL; /* the copy does not own it: compare through s->seen.body */
    pthread_mutex_unlock(&s->lock);
    return w;
}

/* Sums in= and out= over the request lines in the log once there are `want` of them (the
 * line is written just after the answer, so it may trail the client by a moment). */
static void logged_bytes(server *s, int want, uint64_t *in, uint64_t *out)
{
    uint64_t t0 = mono_ms();
    for (;;) {
        int lines = 0;
        *in = *out = 0;
        pthread_mutex_lock(&s->lock);
        for (const char *p = s->log.ptr; p && (p = strstr(p, " in=")) != NULL; p++) {
            const char *o = strstr(p, " out=");
            lines++;
            *in += strtoull(p + 4, NULL, 10);
            *out += o ? strtoull(o + 5, NULL, 10) : 0;
        }
        pthread_mutex_unlock(&s->lock);
        if (lines >= want)
            break;
        if (mono_ms() - t0 > 3000)
            fail_msg("%d request lines logged, want %d:\n%s", lines, want,
                     s->log.ptr ? s->log.ptr : "");
        sleep_ms(5);
    }
}

/* ---- the client ------------------------------------------------------------------------- */

static transport *link_ex(const char *base, const char *ca, size_t ca_len, int compress,
                          long connect_ms, long total_ms)
{
    transport *t = NULL;
    transport_opts o;
    gs_err err;
    memset(&o, 0, sizeof(o));
    o.base_url = base;
    o.ca_pem = ca;
    o.ca_pem_len = ca_len;
    o.token = TOKEN;
    o.compress = compress;
    o.connect_timeout_ms = connect_ms;
    o.total_timeout_ms = total_ms;
    if (transport_new(&t, &o, &err) != GS_OK)
        fail_msg("transport_new: %s", err.msg);
    return t;
}

/* A link to s that trusts its CA. */
static transport *link_to(server *s, int compress)
{
    return link_ex(s->base, s->certs->ca_pem.ptr, s->certs->ca_pem.len, compress, 3000, 5000);
}

/* A request that must fail with want_rc and a message containing want_msg, leaving *status
 * as it was. */
static void expect_failure(transport *t, const char *path, int want_rc, const char *want_msg)
{
    gs_buf resp;
    gs_err err;
    long status = -7;
    int rc;
    buf_init(&resp, 1 << 20);
    gs_err_clear(&err);
    rc = transport_get(t, path, &status, &resp, &err);
    if (rc != want_rc || !strstr(err.msg, want_msg))
        fail_msg("GET %s: %s (%d) \"%s\", want %s and \"%s\"", path, gs_rc_name(rc), rc, err.msg,
                 gs_rc_name(want_rc), want_msg);
    assert_int_equal(err.rc, want_rc);
    assert_int_equal(status, -7);
    buf_free(&resp);
}

/* A 127.0.0.1 port with a socket bound to it: listening (a TCP peer that never speaks) or
 * not (connections refused). The caller closes *fd. */
static int local_port(int listening, int *fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(*fd >= 0);
    assert_int_equal(bind(*fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (listening)
        assert_int_equal(listen(*fd, 4), 0);
    assert_int_equal(getsockname(*fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* ---- tests: requests and answers --------------------------------------------------------- */

static void test_get_returns_status_and_body_byte_exact(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 1);
    char ok[OK_LEN];
    gs_buf resp;
    gs_err err;
    long status = 0;
    seen w;
    fill_ok(ok);
    buf_init(&resp, 1 << 20);
    assert_int_equal(transport_get(t, "/ok", &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, OK_LEN);
    assert_memory_equal(resp.ptr, ok, OK_LEN);
    w = last(s);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.method, "GET");
    assert_string_equal(w.path, "/ok");
    assert_string_equal(w.auth, "Bearer " TOKEN);
    assert_string_equal(w.ctype, "(none)");
    assert_int_equal(s->seen.body.len, 0);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

static void test_post_body_arrives_byte_exact(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 1);
    char body[300]; /* under the deflate threshold: sent as it is */
    gs_buf resp;
    gs_err err;
    long status = 0;
    seen w;
    fill_noise(body, sizeof(body), 1);
    body[0] = body[150] = '\0';
    buf_init(&resp, 1 << 20);
    assert_int_equal(transport_post(t, "/echo", "application/x-test; v=1", body, sizeof(body),
                                    &status, &resp, &err),
                     GS_OK);
    assert_int_equal(status, 200);
    w = last(s);
    assert_string_equal(w.method, "POST");
    assert_string_equal(w.path, "/echo");
    assert_string_equal(w.ctype, "application/x-test; v=1");
    assert_string_equal(w.cenc, "(none)");
    assert_string_equal(w.auth, "Bearer " TOKEN);
    assert_int_equal(s->seen.body.len, sizeof(body));
    assert_memory_equal(s->seen.body.ptr, body, sizeof(body));
    /* and the answer, which echoes it, is byte-exact too */
    assert_int_equal(resp.len, sizeof(body));
    assert_memory_equal(resp.ptr, body, sizeof(body));
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

static void test_base_url_slashes_and_query(void **state)
{
    server *s = start(*state);
    char base[80];
    transport *t;
    gs_buf resp;
    gs_err err;
    long status = 0;
    seen w;
    snprintf(base, sizeof(base), "%s///", s->base);
    t = link_ex(base, s->certs->ca_pem.ptr, s->certs->ca_pem.len, 1, 3000, 5000);
    buf_init(&resp, 1 << 20);
    assert_int_equal(transport_get(t, "/echo?since=42&x=%2F", &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    w = last(s);
    assert_string_equal(w.path, "/echo");
    assert_string_equal(w.query, "since=42&x=%2F");
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

/* An empty body must go as Content-Length: 0: with no POSTFIELDS curl would read the body
 * from stdin instead. */
static void test_empty_post(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 1);
    gs_buf resp;
    gs_err err;
    long status = 0;
    seen w;
    buf_init(&resp, 1 << 20);
    assert_int_equal(transport_post(t, "/echo", "application/json", NULL, 0, &status, &resp, &err),
                     GS_OK);
    assert_int_equal(status, 200);
    w = last(s);
    assert_string_equal(w.method, "POST");
    assert_int_equal(s->seen.body.len, 0);
    assert_int_equal(resp.len, 0);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

/* ---- tests: compression ----------------------------------------------------------------- */

static void test_large_body_deflated_and_inflates_on_server(void **state)
{
    enum { N = 20000 };
    server *s = start(*state);
    transport *t = link_to(s, 1);
    char *body = malloc(N);
    gs_buf resp, inflated;
    gs_err err;
    long status = 0;
    seen w;
    assert_non_null(body);
    fill_text(body, N);
    buf_init(&resp, 1 << 20);
    buf_init(&inflated, 1 << 20);
    assert_int_equal(
        transport_post(t, "/echo", "application/msgpack", body, N, &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    w = last(s);
    assert_string_equal(w.cenc, "deflate");
    assert_string_equal(w.ctype, "application/msgpack");
    if (s->seen.body.len >= N / 4)
        fail_msg("server got %zu bytes for %d of text: not deflated", s->seen.body.len, N);
    assert_int_equal(zbody_inflate(s->seen.body.ptr, s->seen.body.len, N, &inflated, &err), GS_OK);
    assert_int_equal(inflated.len, N);
    assert_memory_equal(inflated.ptr, body, N);
    assert_int_equal(transport_get_stats(t)->body_up_raw, N);
    assert_true(transport_get_stats(t)->bytes_up < N / 4 + 1024);
    buf_free(&inflated);
    buf_free(&resp);
    free(body);
    transport_free(t);
    stop(s);
}

/* Under 512 bytes, or not smaller deflated: sent as it is. And the next request on the same
 * link does not inherit the previous one's Content-Encoding. */
static void test_short_or_incompressible_body_sent_as_is(void **state)
{
    static const struct {
        size_t len; /* body bytes */
        int noise;  /* 1: incompressible */
    } cases[] = {{511, 0}, {4000, 1}, {5000, 0}, {600, 1}};
    server *s = start(*state);
    transport *t = link_to(s, 1);
    char *body = malloc(5000);
    gs_buf resp;
    gs_err err;
    assert_non_null(body);
    buf_init(&resp, 1 << 20);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long status = 0;
        int want_deflated = cases[i].len >= 512 && !cases[i].noise;
        seen w;
        if (cases[i].noise)
            fill_noise(body, cases[i].len, (uint32_t)i + 7);
        else
            fill_text(body, cases[i].len);
        assert_int_equal(transport_post(t, "/echo", "application/msgpack", body, cases[i].len,
                                        &status, &resp, &err),
                         GS_OK);
        assert_int_equal(status, 200);
        w = last(s);
        if (strcmp(w.cenc, want_deflated ? "deflate" : "(none)") != 0)
            fail_msg("case %zu (%zu bytes, noise %d): Content-Encoding %s", i, cases[i].len,
                     cases[i].noise, w.cenc);
        if (!want_deflated) {
            assert_int_equal(s->seen.body.len, cases[i].len);
            assert_memory_equal(s->seen.body.ptr, body, cases[i].len);
        }
    }
    buf_free(&resp);
    free(body);
    transport_free(t);
    stop(s);
}

static void test_no_compress_neither_deflates_nor_asks(void **state)
{
    enum { N = 20000 };
    server *s = start(*state);
    transport *plain = link_to(s, 0), *packed = link_to(s, 1);
    char *body = malloc(N);
    gs_buf resp;
    gs_err err;
    long status = 0;
    seen w;
    assert_non_null(body);
    fill_text(body, N);
    buf_init(&resp, 1 << 20);
    assert_int_equal(
        transport_post(plain, "/echo", "application/msgpack", body, N, &status, &resp, &err),
        GS_OK);
    w = last(s);
    assert_string_equal(w.cenc, "(none)");
    assert_string_equal(w.aenc, "(none)");
    assert_int_equal(s->seen.body.len, N);
    assert_memory_equal(s->seen.body.ptr, body, N);
    assert_true(transport_get_stats(plain)->bytes_up > N);
    /* the same with compress on asks for deflate */
    assert_int_equal(transport_get(packed, "/ok", &status, &resp, &err), GS_OK);
    w = last(s);
    assert_string_equal(w.aenc, "deflate");
    buf_free(&resp);
    free(body);
    transport_free(plain);
    transport_free(packed);
    stop(s);
}

static void test_deflated_answer_inflated(void **state)
{
    enum { N = 50000 };
    server *s = start(*state);
    transport *t = link_to(s, 1);
    char *want = malloc(N);
    gs_buf resp;
    gs_err err;
    long status = 0;
    const transport_stats *st = transport_get_stats(t);
    assert_non_null(want);
    fill_text(want, N);
    buf_init(&resp, 1 << 20);
    assert_int_equal(transport_get(t, "/deflate?n=50000", &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, N);
    assert_memory_equal(resp.ptr, want, N);
    assert_int_equal(st->body_down_raw, N);
    if (st->bytes_down >= N / 4)
        fail_msg("%llu bytes down for %d deflated: counted after inflating?",
                 (unsigned long long)st->bytes_down, N);
    buf_free(&resp);
    free(want);
    transport_free(t);
    stop(s);
}

static void test_corrupt_deflated_answer_is_proto_error(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 1);
    expect_failure(t, "/baddeflate", GS_E_PROTO, "could not be decompressed");
    assert_int_equal(transport_get_stats(t)->requests, 0);
    transport_free(t);
    stop(s);
}

/* ---- tests: statuses and caps ------------------------------------------------------------ */

/* The transport returns statuses; csync.c and admin/main.c give them meaning (their
 * mapping is tested in test_client_sync.c). Each must come back unchanged, with the error
 * body those callers read the server's message from. */
static void test_statuses_returned_with_their_body(void **state)
{
    static const int statuses[] = {201, 400, 401, 403, 404, 409, 413, 426, 429, 500, 503};
    server *s = start(*state);
    transport *t = link_to(s, 1);
    gs_buf resp;
    gs_err err;
    buf_init(&resp, 1 << 20);
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        char path[32], want[64];
        long status = 0;
        int rc;
        snprintf(path, sizeof(path), "/status/%d", statuses[i]);
        snprintf(want, sizeof(want), "{\"err\":\"canned\",\"msg\":\"status %d\"}", statuses[i]);
        /* POST and GET alike, as csync posts and the admin CLI does both */
        if (i % 2)
            rc = transport_get(t, path, &status, &resp, &err);
        else
            rc = transport_post(t, path, "application/json", "{}", 2, &status, &resp, &err);
        if (rc != GS_OK || status != statuses[i] || resp.len != strlen(want) ||
            memcmp(resp.ptr, want, resp.len) != 0)
            fail_msg("%s: %s \"%s\", status %ld, body \"%s\"", path, gs_rc_name(rc),
                     rc ? err.msg : "", status, resp.ptr ? resp.ptr : "");
    }
    assert_int_equal(transport_get_stats(t)->requests, sizeof(statuses) / sizeof(statuses[0]));
    assert_int_equal(transport_get_stats(t)->connects, 1);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

/* A body over the server's own cap is refused by the network layer before it is read: the
 * client must still get the 413, not a broken connection. */
static void test_body_over_server_cap_gets_413(void **state)
{
    enum { N = 200000 };
    certs *c = *state;
    server *s = start_ex(c, c->cert, c->key, 16384, 0);
    transport *t = link_to(s, 0);
    char *body = malloc(N);
    gs_buf resp;
    gs_err err;
    long status = 0;
    int rc;
    assert_non_null(body);
    fill_noise(body, N, 3);
    buf_init(&resp, 1 << 20);
    rc = transport_post(t, "/echo", "application/msgpack", body, N, &status, &resp, &err);
    if (rc != GS_OK)
        fail_msg("POST over the cap: %s \"%s\"", gs_rc_name(rc), err.msg);
    assert_int_equal(status, 413);
    assert_int_equal(last(s).n, 0); /* the handler never saw it */
    /* and the link serves again */
    assert_int_equal(transport_get(t, "/ok", &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    buf_free(&resp);
    free(body);
    transport_free(t);
    stop(s);
}

static void test_answer_over_cap_is_too_large(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 1);
    gs_buf resp;
    gs_err err;
    long status = -7;
    buf_init(&resp, 1000);
    assert_int_equal(transport_get(t, "/big?n=1000", &status, &resp, &err), GS_OK);
    assert_int_equal(resp.len, 1000); /* exactly the cap is allowed */
    status = -7;
    assert_int_equal(transport_get(t, "/big?n=1001", &status, &resp, &err), GS_E_TOO_LARGE);
    assert_non_null(strstr(err.msg, "larger than 1000 bytes"));
    assert_int_equal(status, -7);
    assert_true(resp.len <= 1000);
    /* a small deflated answer that inflates past the cap (a zip bomb) is refused alike */
    assert_int_equal(transport_get(t, "/deflate?n=2000000", &status, &resp, &err), GS_E_TOO_LARGE);
    assert_int_equal(status, -7);
    assert_int_equal(transport_get_stats(t)->requests, 1);
    /* the link serves again */
    assert_int_equal(transport_get(t, "/big?n=10", &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    assert_int_equal(resp.len, 10);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

/* ---- tests: failures -------------------------------------------------------------------- */

static void test_wrong_ca_is_tls_error(void **state)
{
    server *s = start(*state);
    certs *c = *state;
    transport *t = link_ex(s->base, c->other_ca_pem.ptr, c->other_ca_pem.len, 1, 3000, 5000);
    expect_failure(t, "/ok", GS_E_TLS, "cannot verify the server");
    assert_int_equal(last(s).n, 0);
    assert_int_equal(transport_get_stats(t)->requests, 0);
    transport_free(t);
    stop(s);
}

static void test_certificate_for_another_name_is_tls_error(void **state)
{
    certs *c = *state;
    server *s = start_ex(c, c->alien, c->alien_key, 1 << 20, 0);
    transport *t = link_to(s, 1);
    expect_failure(t, "/ok", GS_E_TLS, "cannot verify the server");
    assert_int_equal(last(s).n, 0);
    transport_free(t);
    stop(s);
}

/* The CA PEM as the device keeps it may be damaged or empty: never a connection. */
static void test_ca_that_is_no_certificate_is_tls_error(void **state)
{
    static const char *bad[] = {"", "not a certificate\n",
                                "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"};
    server *s = start(*state);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        transport *t = link_ex(s->base, bad[i], strlen(bad[i]), 1, 3000, 5000);
        expect_failure(t, "/ok", GS_E_TLS, "cannot verify the server");
        transport_free(t);
    }
    assert_int_equal(last(s).n, 0);
    stop(s);
}

/* libcurl's built-in CApath (Debian: /etc/ssl/certs), or NULL when it has none. */
static const char *default_capath(void)
{
    static char path[256];
    CURL *h = curl_easy_init();
    char *p = NULL;
    path[0] = '\0';
    if (h && curl_easy_getinfo(h, CURLINFO_CAPATH, &p) == CURLE_OK && p)
        snprintf(path, sizeof(path), "%s", p);
    curl_easy_cleanup(h);
    return path[0] ? path : NULL;
}

/* 0 if a plain curl handle, told to trust only `ca` (a CA that signed nothing here) as a
 * blob and left with its default CApath, reaches base: the planted store is in effect. */
static int plain_curl_reaches(const char *base, const gs_buf *ca)
{
    struct curl_blob blob = {ca->ptr, ca->len, CURL_BLOB_COPY};
    char url[160];
    CURL *h = curl_easy_init();
    CURLcode cc;
    if (!h)
        return -1;
    snprintf(url, sizeof(url), "%s/v1/health", base);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    cc = curl_easy_perform(h);
    curl_easy_cleanup(h);
    return cc == CURLE_OK ? 0 : -1;
}

/* Runs in a child, in its own mount namespace where libcurl's default CApath holds the
 * server's CA under its hash name: a link whose enrolment CA is another one must still
 * refuse. Exit 0: refused with GS_E_TLS; 1: it trusted the system store; 2: another
 * result; 3: the planted store had no effect (the check would prove nothing); 77: no
 * namespace here, or no default CApath to plant in. */
static int system_store_child(const certs *c, const char *base)
{
    const char *capath = default_capath();
    transport *t = NULL;
    transport_opts o;
    gs_buf resp;
    gs_err err;
    long status = 0;
    int rc;
    if (!capath)
        return 77;
    if (unshare(CLONE_NEWNS) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
        return 77;
    /* private first, so the bind below never reaches the host's namespace */
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount(c->capath, capath, NULL, MS_BIND, NULL) != 0)
        return 77;
    if (plain_curl_reaches(base, &c->other_ca_pem) != 0)
        return 3;
    memset(&o, 0, sizeof(o));
    o.base_url = base;
    o.ca_pem = c->other_ca_pem.ptr;
    o.ca_pem_len = c->other_ca_pem.len;
    o.token = TOKEN;
    o.connect_timeout_ms = 3000;
    o.total_timeout_ms = 5000;
    if (transport_new(&t, &o, &err) != GS_OK)
        return 2;
    buf_init(&resp, 1 << 16);
    rc = transport_get(t, "/ok", &status, &resp, &err);
    if (getenv("GS_TEST_DEBUG"))
        fprintf(stderr, "system store child: %s %s\n", gs_rc_name(rc), rc ? err.msg : "");
    buf_free(&resp);
    transport_free(t);
    return rc == GS_E_TLS ? 0 : rc == GS_OK ? 1 : 2;
}

static void test_system_ca_store_not_trusted(void **state)
{
    certs *c = *state;
    server *s;
    int wstatus = 0, code, fds[2];
    char base[128];
    pid_t pid;
    /* fork before the server's threads exist: a child forked while a worker held a lock
     * (the allocator's, under AddressSanitizer) would wait for it forever. It learns the
     * server's address through a pipe. */
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        ssize_t n;
        size_t got = 0;
        close(fds[1]);
        while (got < sizeof(base) - 1 && (n = read(fds[0], base + got, sizeof(base) - 1 - got)) > 0)
            got += (size_t)n;
        base[got] = '\0';
        _exit(got ? system_store_child(c, base) : 2);
    }
    close(fds[0]);
    s = start(c);
    snprintf(base, sizeof(base), "%s", s->base);
    assert_int_equal(write(fds[1], base, strlen(base)), (ssize_t)strlen(base));
    close(fds[1]);
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    stop(s);
    assert_true(WIFEXITED(wstatus));
    code = WEXITSTATUS(wstatus);
    if (code == 77) {
        fprintf(stderr, "no mount namespace or no default CApath here: not checked\n");
        skip();
    }
    if (code == 3)
        fail_msg("the CA planted in libcurl's default CApath did not take: check capath_name");
    if (code == 1)
        fail_msg("a server signed by a CA in the system store was trusted: the link must "
                 "trust only the enrolment CA");
    assert_int_equal(code, 0);
}

static void test_closed_port_is_network_error(void **state)
{
    int fd;
    int port = local_port(0, &fd);
    char base[64];
    certs *c = *state;
    transport *t;
    uint64_t t0 = mono_ms();
    snprintf(base, sizeof(base), "https://localhost:%d", port);
    t = link_ex(base, c->ca_pem.ptr, c->ca_pem.len, 1, 3000, 5000);
    expect_failure(t, "/ok", GS_E_NETWORK, "server unreachable");
    assert_true(mono_ms() - t0 < 2000);
    assert_int_equal(transport_get_stats(t)->requests, 0);
    assert_int_equal(transport_get_stats(t)->connects, 0);
    transport_free(t);
    close(fd);
}

/* A TCP peer that accepts into its backlog and never says a word: the handshake is part of
 * the connect, so connect_timeout_ms ends it. */
static void test_silent_server_times_out(void **state)
{
    int fd;
    int port = local_port(1, &fd);
    char base[64];
    certs *c = *state;
    transport *t;
    uint64_t t0 = mono_ms(), took;
    snprintf(base, sizeof(base), "https://localhost:%d", port);
    t = link_ex(base, c->ca_pem.ptr, c->ca_pem.len, 1, 300, 5000);
    expect_failure(t, "/ok", GS_E_TIMEOUT, "did not answer in time");
    took = mono_ms() - t0;
    if (took < 250 || took > 2000)
        fail_msg("timed out after %llu ms with a 300 ms connect timeout", (unsigned long long)took);
    transport_free(t);
    close(fd);
}

static void test_slow_answer_times_out(void **state)
{
    server *s = start(*state);
    transport *t = link_ex(s->base, s->certs->ca_pem.ptr, s->certs->ca_pem.len, 1, 3000, 250);
    expect_failure(t, "/slow", GS_E_TIMEOUT, "did not answer in time");
    assert_int_equal(last(s).n, 1); /* it was the answer that was late, not the connection */
    transport_free(t);
    stop(s);
}

static void test_bad_settings_refused(void **state)
{
    certs *c = *state;
    static const struct {
        const char *url;   /* base_url */
        int ca;            /* 1: give the CA */
        const char *token; /* token */
        const char *msg;   /* part of the message */
    } cases[] = {
        {"http://localhost:1", 1, TOKEN, "must start with https://"},
        {"localhost:1", 1, TOKEN, "must start with https://"},
        {NULL, 1, TOKEN, "are all needed"},
        {"https://localhost:1", 0, TOKEN, "are all needed"},
        {"https://localhost:1", 1, NULL, "are all needed"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        transport *t = (transport *)&cases; /* must stay as it is */
        transport_opts o;
        gs_err err;
        int rc;
        memset(&o, 0, sizeof(o));
        o.base_url = cases[i].url;
        o.ca_pem = cases[i].ca ? c->ca_pem.ptr : NULL;
        o.ca_pem_len = cases[i].ca ? c->ca_pem.len : 0;
        o.token = cases[i].token;
        rc = transport_new(&t, &o, &err);
        if (rc != GS_E_CONFIG || !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: %s \"%s\"", i, gs_rc_name(rc), err.msg);
        assert_ptr_equal(t, (transport *)&cases);
    }
}

static void test_oversized_url_and_type_refused(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 1);
    char path[2100], ctype[200];
    gs_buf resp;
    gs_err err;
    long status = -7;
    path[0] = '/';
    memset(path + 1, 'a', sizeof(path) - 2);
    path[sizeof(path) - 1] = '\0';
    memset(ctype, 'x', sizeof(ctype) - 1);
    ctype[sizeof(ctype) - 1] = '\0';
    buf_init(&resp, 1 << 16);
    assert_int_equal(transport_get(t, path, &status, &resp, &err), GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "URL too long"));
    assert_int_equal(transport_post(t, "/echo", ctype, "x", 1, &status, &resp, &err), GS_E_INVALID);
    assert_non_null(strstr(err.msg, "content type too long"));
    assert_int_equal(status, -7);
    assert_int_equal(last(s).n, 0);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

/* ---- tests: statistics and the connection ------------------------------------------------ */

/* bytes_up and bytes_down are the HTTP bytes on the wire: exactly what the server counted
 * in and out for the same requests. */
static void test_stats_match_the_server(void **state)
{
    server *s = start(*state);
    transport *t = link_to(s, 0);
    const transport_stats *st = transport_get_stats(t);
    char body[3000];
    gs_buf resp;
    gs_err err;
    long status = 0;
    uint64_t in, out, down = 0;
    fill_noise(body, sizeof(body), 9);
    buf_init(&resp, 1 << 20);
    assert_int_equal(st->requests, 0);
    assert_int_equal(st->bytes_up, 0);
    assert_int_equal(transport_get(t, "/ok", &status, &resp, &err), GS_OK);
    down += resp.len;
    /* a small POST goes out with its headers in one send: counted once all the same */
    assert_int_equal(
        transport_post(t, "/echo", "application/msgpack", body, 100, &status, &resp, &err), GS_OK);
    down += resp.len;
    assert_int_equal(
        transport_post(t, "/echo", "application/msgpack", body, 3000, &status, &resp, &err), GS_OK);
    down += resp.len;
    assert_int_equal(transport_get(t, "/status/404", &status, &resp, &err), GS_OK);
    down += resp.len;
    assert_int_equal(st->requests, 4);
    assert_int_equal(st->body_up_raw, 3100);
    assert_int_equal(st->body_down_raw, down);
    assert_int_equal(st->connects, 1);
    logged_bytes(s, 4, &in, &out);
    if (st->bytes_up != in || st->bytes_down != out)
        fail_msg("client counted up %llu down %llu, the server in=%llu out=%llu",
                 (unsigned long long)st->bytes_up, (unsigned long long)st->bytes_down,
                 (unsigned long long)in, (unsigned long long)out);
    buf_free(&resp);
    /* a failed request is no completed request, and its body is not counted */
    buf_init(&resp, 10);
    assert_int_equal(transport_get(t, "/ok", &status, &resp, &err), GS_E_TOO_LARGE);
    assert_int_equal(st->requests, 4);
    assert_int_equal(st->body_down_raw, down);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

/* One connection for a run of requests, POST and GET mixed (each a fresh request: a GET
 * after a POST sends no body); a new one once the server closed the idle link. */
static void test_keepalive_reuses_one_connection(void **state)
{
    certs *c = *state;
    server *s = start_ex(c, c->cert, c->key, 1 << 20, 300);
    transport *t = link_to(s, 1);
    const transport_stats *st = transport_get_stats(t);
    char body[2000];
    gs_buf resp;
    gs_err err;
    long status = 0;
    fill_text(body, sizeof(body));
    buf_init(&resp, 1 << 20);
    for (int i = 0; i < 6; i++) {
        seen w;
        if (i % 2)
            assert_int_equal(transport_get(t, "/ok", &status, &resp, &err), GS_OK);
        else
            assert_int_equal(transport_post(t, "/echo", "application/msgpack", body, sizeof(body),
                                            &status, &resp, &err),
                             GS_OK);
        assert_int_equal(status, 200);
        w = last(s);
        assert_string_equal(w.method, i % 2 ? "GET" : "POST");
        assert_string_equal(w.cenc, i % 2 ? "(none)" : "deflate");
        if (i % 2)
            assert_int_equal(s->seen.body.len, 0);
    }
    assert_int_equal(st->connects, 1);
    assert_int_equal(atomic_load(&s->m.connections), 1);
    sleep_ms(600); /* the server closes the idle connection */
    assert_int_equal(transport_get(t, "/ok", &status, &resp, &err), GS_OK);
    assert_int_equal(status, 200);
    assert_int_equal(st->connects, 2);
    assert_int_equal(st->requests, 7);
    buf_free(&resp);
    transport_free(t);
    stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_returns_status_and_body_byte_exact),
        cmocka_unit_test(test_post_body_arrives_byte_exact),
        cmocka_unit_test(test_base_url_slashes_and_query),
        cmocka_unit_test(test_empty_post),
        cmocka_unit_test(test_large_body_deflated_and_inflates_on_server),
        cmocka_unit_test(test_short_or_incompressible_body_sent_as_is),
        cmocka_unit_test(test_no_compress_neither_deflates_nor_asks),
        cmocka_unit_test(test_deflated_answer_inflated),
        cmocka_unit_test(test_corrupt_deflated_answer_is_proto_error),
        cmocka_unit_test(test_statuses_returned_with_their_body),
        cmocka_unit_test(test_body_over_server_cap_gets_413),
        cmocka_unit_test(test_answer_over_cap_is_too_large),
        cmocka_unit_test(test_wrong_ca_is_tls_error),
        cmocka_unit_test(test_certificate_for_another_name_is_tls_error),
        cmocka_unit_test(test_ca_that_is_no_certificate_is_tls_error),
        cmocka_unit_test(test_system_ca_store_not_trusted),
        cmocka_unit_test(test_closed_port_is_network_error),
        cmocka_unit_test(test_silent_server_times_out),
        cmocka_unit_test(test_slow_answer_times_out),
        cmocka_unit_test(test_bad_settings_refused),
        cmocka_unit_test(test_oversized_url_and_type_refused),
        cmocka_unit_test(test_stats_match_the_server),
        cmocka_unit_test(test_keepalive_reuses_one_connection),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
