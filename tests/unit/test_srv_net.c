/*
 * test_srv_net.c: gridsyncd's connection engine (server/net.c + tls.c + http.c) in process,
 * with real TLS on 127.0.0.1 and a test handler instead of the application:
 *  - keep-alive: many requests of every body shape on one connection;
 *  - Expect: 100-continue (no one-second stall), chunked uploads, a large answer;
 *  - pipelined requests in one TLS record;
 *  - timeouts: a slow-loris request (each byte in time, the whole too slow), an idle
 *    keep-alive connection, a silent TCP connection that never starts TLS;
 *  - idle and slow connections do not occupy workers;
 *  - the connection cap;
 *  - shutdown: a request in flight finishes with 200 and Connection: close;
 *  - the log line: method, path without the query, status; no secret.
 * Certificates come from certgen (so it is tested too) in a temporary folder.
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
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/rc.h"
#include "server/certgen.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/net.h"
#include "server/tls.h"

/* ---- fixture: certificates once, a server per test -------------------------------------- */

typedef struct certs {
    char dir[128];    /* temporary folder */
    char ca[192];     /* ca.pem */
    char ca_key[192]; /* ca.key */
    char cert[192];   /* server.pem */
    char key[192];    /* server.key */
} certs;

typedef struct server {
    certs *certs;             /* shared certificates */
    srv_config cfg;           /* settings: short timeouts */
    srv_metrics m;            /* counters */
    gs_logger lg;             /* captures lines into log */
    pthread_mutex_t log_lock; /* guards log */
    gs_buf log;               /* every log line, '\n'-separated */
    srv_tls *tls;             /* TLS endpoint */
    srv_net *net;             /* the engine */
    pthread_t thread;         /* runs net_run */
    int run_rc;               /* net_run's result */
    int port;                 /* bound port */
    char base[64];            /* "https://localhost:PORT" */
} server;

static void capture(void *ud, int level, const char *line)
{
    server *s = ud;
    (void)level;
    pthread_mutex_lock(&s->log_lock);
    buf_adds(&s->log, line);
    buf_adds(&s->log, "\n");
    pthread_mutex_unlock(&s->log_lock);
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

/* The test application: /echo returns the body, /slow waits, /big sends 3 MiB. */
static void handler(void *ud, const srv_request *req, srv_response *resp)
{
    (void)ud;
    if (req->path.len == 5 && memcmp(req->path.ptr, "/echo", 5) == 0) {
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        if (req->body_len)
            buf_add(&resp->body, req->body, req->body_len);
        snprintf(resp->log_note, sizeof(resp->log_note), "echo=%zu", req->body_len);
    } else if (req->path.len == 5 && memcmp(req->path.ptr, "/slow", 5) == 0) {
        sleep_ms(800);
        resp->status = 200;
        resp->content_type = "text/plain";
        buf_adds(&resp->body, "slow done");
    } else if (req->path.len == 4 && memcmp(req->path.ptr, "/big", 4) == 0) {
        resp->status = 200;
        resp->content_type = "application/octet-stream";
        for (int i = 0; i < 3 * 1024 * 1024 / 16; i++)
            buf_add(&resp->body, "0123456789abcdef", 16);
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

static int group_setup(void **state)
{
    certs *c = calloc(1, sizeof(*c));
    const char *names[] = {"localhost", "127.0.0.1"};
    char tmpl[] = "/tmp/gs_net_XXXXXX";
    gs_err err;
    if (!c || !mkdtemp(tmpl))
        return -1;
    snprintf(c->dir, sizeof(c->dir), "%s", tmpl);
    snprintf(c->ca, sizeof(c->ca), "%s/ca.pem", c->dir);
    snprintf(c->ca_key, sizeof(c->ca_key), "%s/ca.key", c->dir);
    snprintf(c->cert, sizeof(c->cert), "%s/server.pem", c->dir);
    snprintf(c->key, sizeof(c->key), "%s/server.key", c->dir);
    if (certgen_make_ca(c->ca, c->ca_key, "test CA", &err) != GS_OK ||
        certgen_make_server(c->ca, c->ca_key, c->cert, c->key, names, 2, &err) != GS_OK) {
        fprintf(stderr, "certgen: %s\n", err.msg);
        return -1;
    }
    *state = c;
    return 0;
}

static int group_teardown(void **state)
{
    certs *c = *state;
    unlink(c->ca);
    unlink(c->ca_key);
    unlink(c->cert);
    unlink(c->key);
    rmdir(c->dir);
    free(c);
    return 0;
}

/* A server with the given pool and cap; timeouts of 0 keep the short test defaults (read
 * 600 ms, request 1500 ms, idle 1000 ms), per_address 0 makes it max_conn. */
static server *start_ex(certs *c, int workers, int max_conn, int read_ms, int request_ms,
                        int idle_ms, int per_address)
{
    server *s = calloc(1, sizeof(*s));
    gs_err err;
    assert_non_null(s);
    s->certs = c;
    config_defaults(&s->cfg);
    snprintf(s->cfg.listen, sizeof(s->cfg.listen), "127.0.0.1:0");
    snprintf(s->cfg.cert_path, sizeof(s->cfg.cert_path), "%s", c->cert);
    snprintf(s->cfg.key_path, sizeof(s->cfg.key_path), "%s", c->key);
    s->cfg.workers = workers;
    s->cfg.max_connections = max_conn;
    s->cfg.read_timeout_ms = read_ms ? read_ms : 600;
    s->cfg.request_timeout_ms = request_ms ? request_ms : 1500;
    s->cfg.idle_timeout_ms = idle_ms ? idle_ms : 1000;
    /* a fresh connection's first byte waits as long as an idle one; the per-address cap
     * is out of the way unless a test lowers it (every client here is 127.0.0.1) */
    s->cfg.handshake_timeout_ms = s->cfg.idle_timeout_ms;
    s->cfg.max_connections_per_address = per_address ? per_address : max_conn;
    s->cfg.shutdown_timeout_ms = 3000;
    s->cfg.max_header_bytes = 4096;
    s->cfg.max_body_bytes = 4 * 1024 * 1024;
    metrics_init(&s->m);
    pthread_mutex_init(&s->log_lock, NULL);
    buf_init(&s->log, 1 << 22);
    log_init(&s->lg, "gridsyncd", getenv("GS_TEST_DEBUG") ? GS_LOG_DEBUG : GS_LOG_INFO);
    s->lg.sink = capture;
    s->lg.ud = s;
    assert_int_equal(tls_open(&s->tls, &s->cfg, &err), GS_OK);
    net_opts o = {&s->cfg, s->tls, &s->m, &s->lg, handler, NULL, -1, NULL};
    if (net_new(&s->net, &o, &err) != GS_OK)
        fail_msg("net_new: %s", err.msg);
    s->port = net_port(s->net);
    assert_true(s->port > 0);
    snprintf(s->base, sizeof(s->base), "https://localhost:%d", s->port);
    assert_int_equal(pthread_create(&s->thread, NULL, run_thread, s), 0);
    return s;
}

static server *start(certs *c, int workers, int max_conn)
{
    return start_ex(c, workers, max_conn, 0, 0, 0, 0);
}

/* Stops the engine and waits for net_run to return; counters stay readable. */
static void halt(server *s)
{
    net_stop(s->net);
    pthread_join(s->thread, NULL);
    assert_int_equal(s->run_rc, GS_OK);
    assert_int_equal(atomic_load(&s->m.connections_open), 0);
}

static void release(server *s)
{
    net_free(s->net);
    tls_close(s->tls);
    buf_free(&s->log);
    pthread_mutex_destroy(&s->log_lock);
    free(s);
}

static void stop(server *s)
{
    halt(s);
    release(s);
}

/* ---- curl client ------------------------------------------------------------------------ */

typedef struct reply {
    long status;         /* HTTP status */
    gs_buf body;         /* body received */
    long connects;       /* new connections for this transfer */
    double seconds;      /* total time */
    char connection[32]; /* value of the Connection header */
} reply;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    return buf_add(&r->body, p, sz * n) == GS_OK ? sz * n : 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    reply *r = ud;
    size_t len = sz * n;
    if (len > 12 && strncasecmp(p, "Connection: ", 12) == 0)
        snprintf(r->connection, sizeof(r->connection), "%.*s", (int)(len - 14), p + 12);
    return len;
}

/* Supplies a chunked upload from memory. */
typedef struct upload {
    const char *data; /* bytes to send */
    size_t len;       /* how many */
    size_t off;       /* sent so far */
} upload;

static size_t on_read(char *p, size_t sz, size_t n, void *ud)
{
    upload *u = ud;
    size_t take = sz * n;
    if (take > u->len - u->off)
        take = u->len - u->off;
    if (take > 7000)
        take = 7000; /* several chunks */
    memcpy(p, u->data + u->off, take);
    u->off += take;
    return take;
}

static CURL *client(const server *s)
{
    CURL *h = curl_easy_init();
    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_CAINFO, s->certs->ca);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    return h;
}

/* One request on handle h; body NULL for GET. chunked: send the body chunked. */
static CURLcode request(CURL *h, const server *s, const char *path, const char *body, size_t len,
                        int chunked, struct curl_slist *extra, reply *r)
{
    char url[256];
    struct curl_slist *hdrs = extra;
    CURLcode cc;
    upload up = {body, len, 0};
    memset(r, 0, sizeof(*r));
    buf_init(&r->body, 8 << 20);
    snprintf(url, sizeof(url), "%s%s", s->base, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        if (chunked) {
            hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
            curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(h, CURLOPT_READDATA, &up);
        } else {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        }
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &r->seconds);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    if (chunked && hdrs != extra) {
        /* only the node we appended is ours */
        struct curl_slist *last = hdrs;
        if (extra) {
            while (last->next && last->next->next)
                last = last->next;
            curl_slist_free_all(last->next);
            last->next = NULL;
        } else {
            curl_slist_free_all(hdrs);
        }
    }
    return cc;
}

/* ---- raw TLS client (mbedTLS), for byte-level control -------------------------------------- */

typedef struct tcli {
    mbedtls_net_context net;       /* socket */
    mbedtls_ssl_context ssl;       /* TLS */
    mbedtls_ssl_config conf;       /* client policy */
    mbedtls_x509_crt ca;           /* trusted CA */
    mbedtls_entropy_context ent;   /* entropy */
    mbedtls_ctr_drbg_context drbg; /* generator */
} tcli;

static void tcli_open(tcli *t, const server *s)
{
    char port[16];
    int r;
    mbedtls_net_init(&t->net);
    mbedtls_ssl_init(&t->ssl);
    mbedtls_ssl_config_init(&t->conf);
    mbedtls_x509_crt_init(&t->ca);
    mbedtls_entropy_init(&t->ent);
    mbedtls_ctr_drbg_init(&t->drbg);
    assert_int_equal(mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->ent, NULL, 0), 0);
    assert_int_equal(mbedtls_x509_crt_parse_file(&t->ca, s->certs->ca), 0);
    snprintf(port, sizeof(port), "%d", s->port);
    assert_int_equal(mbedtls_net_connect(&t->net, "127.0.0.1", port, MBEDTLS_NET_PROTO_TCP), 0);
    assert_int_equal(mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT,
                                                 MBEDTLS_SSL_TRANSPORT_STREAM,
                                                 MBEDTLS_SSL_PRESET_DEFAULT),
                     0);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
    mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
    mbedtls_ssl_conf_read_timeout(&t->conf, 5000);
    assert_int_equal(mbedtls_ssl_setup(&t->ssl, &t->conf), 0);
    assert_int_equal(mbedtls_ssl_set_hostname(&t->ssl, "localhost"), 0);
    mbedtls_ssl_set_bio(&t->ssl, &t->net, mbedtls_net_send, NULL, mbedtls_net_recv_timeout);
    while ((r = mbedtls_ssl_handshake(&t->ssl)) != 0)
        if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
            fail_msg("client handshake: -0x%04x", (unsigned)-r);
}

static void tcli_close(tcli *t)
{
    mbedtls_ssl_free(&t->ssl);
    mbedtls_ssl_config_free(&t->conf);
    mbedtls_x509_crt_free(&t->ca);
    mbedtls_ctr_drbg_free(&t->drbg);
    mbedtls_entropy_free(&t->ent);
    mbedtls_net_free(&t->net);
}

static int tcli_write(tcli *t, const char *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        int r = mbedtls_ssl_write(&t->ssl, (const unsigned char *)s + off, n - off);
        if (r == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (r < 0)
            return r;
        off += (size_t)r;
    }
    return 0;
}

/* Reads until `want` occurrences of "HTTP/1.1 " bodies are complete (crudely: until the
 * text holds n status lines and the last Content-Length worth of body) or the peer closes.
 * Returns bytes read, or -1 when the server closed the connection with nothing more. */
static long tcli_read_some(tcli *t, gs_buf *out, int timeout_ms)
{
    unsigned char chunk[4096];
    mbedtls_ssl_conf_read_timeout(&t->conf, (uint32_t)timeout_ms);
    int r = mbedtls_ssl_read(&t->ssl, chunk, sizeof(chunk));
    if (r > 0) {
        buf_add(out, chunk, (size_t)r);
        return r;
    }
    if (r == MBEDTLS_ERR_SSL_TIMEOUT)
        return 0;
    return -1; /* close_notify, EOF, reset */
}

/* Waits until the server closes the connection; returns ms waited or -1 on timeout. */
static long tcli_wait_closed(tcli *t, int max_ms)
{
    uint64_t t0 = mono_ms();
    gs_buf junk;
    buf_init(&junk, 1 << 20);
    while ((long)(mono_ms() - t0) < max_ms) {
        if (tcli_read_some(t, &junk, 100) < 0) {
            buf_free(&junk);
            return (long)(mono_ms() - t0);
        }
    }
    buf_free(&junk);
    return -1;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_keepalive_every_body_shape(void **state)
{
    server *s = start(*state, 2, 16);
    CURL *h = client(s);
    size_t sizes[] = {0, 1, 1000, 1025, 20000, 300000};
    char *data = malloc(300000);
    long connects = 0;
    assert_non_null(data);
    for (size_t i = 0; i < 300000; i++)
        data[i] = (char)('a' + i % 26);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            reply r;
            CURLcode cc = request(h, s, "/echo", data, sizes[i], round, NULL, &r);
            if (cc != CURLE_OK || r.status != 200 || r.body.len != sizes[i] ||
                (sizes[i] && memcmp(r.body.ptr, data, sizes[i]) != 0))
                fail_msg("size %zu chunked %d: curl %d status %ld got %zu bytes", sizes[i], round,
                         cc, r.status, r.body.len);
            /* Expect: 100-continue (curl sends it over 1 KiB) must not cost curl's 1 s wait */
            if (r.seconds > 0.9)
                fail_msg("size %zu chunked %d took %.2f s", sizes[i], round, r.seconds);
            assert_string_equal(r.connection, "keep-alive");
            connects += r.connects;
            buf_free(&r.body);
        }
    }
    assert_int_equal(connects, 1);
    free(data);
    curl_easy_cleanup(h);
    halt(s);
    assert_int_equal(atomic_load(&s->m.connections), 1);
    assert_int_equal(atomic_load(&s->m.requests), 12);
    release(s);
}

static void test_large_answer(void **state)
{
    server *s = start(*state, 2, 16);
    CURL *h = client(s);
    reply r;
    assert_int_equal(request(h, s, "/big", NULL, 0, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.body.len, 3 * 1024 * 1024);
    assert_memory_equal(r.body.ptr + 3 * 1024 * 1024 - 16, "0123456789abcdef", 16);
    buf_free(&r.body);
    /* and the connection still serves */
    assert_int_equal(request(h, s, "/echo", "x", 1, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    buf_free(&r.body);
    curl_easy_cleanup(h);
    stop(s);
}

static void test_pipelined_requests_in_one_record(void **state)
{
    server *s = start(*state, 2, 16);
    tcli t;
    gs_buf in;
    const char *reqs = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst"
                       "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "4\r\nlast\r\n0\r\n\r\n";
    uint64_t t0 = mono_ms();
    tcli_open(&t, s);
    buf_init(&in, 1 << 20);
    assert_int_equal(tcli_write(&t, reqs, strlen(reqs)), 0);
    while (count(in.ptr ? in.ptr : "", "HTTP/1.1 200 OK") < 3 || !strstr(in.ptr, "last")) {
        if (tcli_read_some(&t, &in, 200) < 0 || mono_ms() - t0 > 5000)
            fail_msg("pipelined answers incomplete: %s", in.ptr ? in.ptr : "");
    }
    assert_true(strstr(in.ptr, "first") < strstr(in.ptr, "\"status\":\"ok\""));
    assert_true(strstr(in.ptr, "\"status\":\"ok\"") < strstr(in.ptr, "last"));
    buf_free(&in);
    tcli_close(&t);
    stop(s);
}

/* Each byte arrives within read_timeout_ms, but the request takes longer than
 * request_timeout_ms: the overall deadline must cut it. */
static void test_slow_loris_cut_by_request_deadline(void **state)
{
    server *s = start(*state, 2, 16);
    tcli t;
    const char *req = "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    uint64_t t0;
    long closed_after = -1;
    tcli_open(&t, s);
    t0 = mono_ms();
    for (size_t i = 0; i < strlen(req); i++) {
        if (tcli_write(&t, req + i, 1) != 0)
            break; /* the server closed: good */
        gs_buf junk;
        buf_init(&junk, 1 << 16);
        long r = tcli_read_some(&t, &junk, 250); /* 250 ms per byte < read_timeout 600 */
        buf_free(&junk);
        if (r < 0)
            break;
        if (r > 0)
            fail_msg("the server answered a request it never fully got");
    }
    closed_after = (long)(mono_ms() - t0);
    /* request_timeout_ms is 1500; allow scheduling slack */
    if (closed_after < 1300 || closed_after > 3500)
        fail_msg("slow request cut after %ld ms, want about 1500", closed_after);
    assert_true(atomic_load(&s->m.timeouts) >= 1);
    assert_int_equal(atomic_load(&s->m.requests), 0);
    tcli_close(&t);
    stop(s);
}

static void test_idle_keepalive_closed(void **state)
{
    server *s = start(*state, 2, 16);
    tcli t;
    long waited;
    tcli_open(&t, s);
    waited = tcli_wait_closed(&t, 4000);
    if (waited < 800 || waited > 2500)
        fail_msg("idle connection closed after %ld ms, want about 1000", waited);
    assert_int_equal(atomic_load(&s->m.timeouts), 0); /* idle is normal, not a timeout */
    tcli_close(&t);
    stop(s);
}

/* A TCP client that never starts TLS is dropped after read_timeout_ms. */
static void test_silent_tcp_dropped(void **state)
{
    server *s = start(*state, 2, 16);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char c;
    uint64_t t0;
    long waited;
    struct timeval tv = {5, 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    t0 = mono_ms();
    assert_true(recv(fd, &c, 1, 0) <= 0);
    waited = (long)(mono_ms() - t0);
    if (waited < 400 || waited > 2500)
        fail_msg("silent TCP connection dropped after %ld ms, want about 600", waited);
    close(fd);
    stop(s);
}

/* Two workers, ten idle TLS connections and four slow half-requests: a new client is still
 * served at once, because none of them holds a worker. */
static void test_idle_and_slow_clients_hold_no_worker(void **state)
{
    server *s = start(*state, 2, 32);
    tcli idle[10], slow[4];
    CURL *h;
    reply r;
    for (int i = 0; i < 10; i++)
        tcli_open(&idle[i], s);
    for (int i = 0; i < 4; i++) {
        tcli_open(&slow[i], s);
        assert_int_equal(tcli_write(&slow[i], "POST /echo HTTP/1.1\r\nHost: x\r\n", 31), 0);
    }
    h = client(s);
    assert_int_equal(request(h, s, "/echo", "hi", 2, 0, NULL, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    if (r.seconds > 0.5)
        fail_msg("request behind idle clients took %.2f s", r.seconds);
    buf_free(&r.body);
    curl_easy_cleanup(h);
    for (int i = 0; i < 10; i++)
        tcli_close(&idle[i]);
    for (int i = 0; i < 4; i++)
        tcli_close(&slow[i]);
    stop(s);
}

/* A plain TCP connection from src (127.0.0.x) with a receive timeout of 3 s. */
static int tcp_from(const server *s, const char *src)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    struct sockaddr_in b = {.sin_family = AF_INET};
    struct timeval tv = {3, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(inet_pton(AF_INET, src, &b.sin_addr), 1);
    assert_int_equal(bind(fd, (struct sockaddr *)&b, sizeof(b)), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sleep_ms(50); /* let the poller accept it before the next */
    return fd;
}

/* Milliseconds until the server closes fd (-1: not within 3 s). */
static long closed_within(int fd)
{
    char c;
    uint64_t t0 = mono_ms();
    return recv(fd, &c, 1, 0) <= 0 ? (long)(mono_ms() - t0) : -1;
}

/* At the cap the oldest silent connection makes room: the newcomer is kept, the first one
 * closed at once (long before the 600 ms read timeout). */
static void test_connection_cap_evicts_oldest_idle(void **state)
{
    server *s = start(*state, 2, 3);
    int fds[4];
    long w;
    for (int i = 0; i < 4; i++)
        fds[i] = tcp_from(s, "127.0.0.1");
    w = closed_within(fds[0]);
    if (w < 0 || w > 300)
        fail_msg("the oldest connection was closed after %ld ms, want at once", w);
    assert_int_equal(atomic_load(&s->m.connections_evicted), 1);
    assert_int_equal(atomic_load(&s->m.connections_refused), 0);
    assert_int_equal(atomic_load(&s->m.connections), 4);
    assert_int_equal(atomic_load(&s->m.connections_open), 3);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    stop(s);
}

/* Three addresses, a per-address cap of 2: the third connection from 127.0.0.2 evicts that
 * address's oldest, and the other addresses' connections are untouched. */
static void test_per_address_cap(void **state)
{
    server *s = start_ex(*state, 2, 16, 0, 0, 0, 2);
    int a1, a2, a3, b1, c1;
    b1 = tcp_from(s, "127.0.0.3");
    a1 = tcp_from(s, "127.0.0.2");
    a2 = tcp_from(s, "127.0.0.2");
    c1 = tcp_from(s, "127.0.0.4");
    a3 = tcp_from(s, "127.0.0.2");
    long w = closed_within(a1);
    if (w < 0 || w > 300)
        fail_msg("127.0.0.2's oldest was closed after %ld ms, want at once", w);
    assert_int_equal(atomic_load(&s->m.connections_evicted), 1);
    assert_int_equal(atomic_load(&s->m.connections_open), 4);
    close(a1);
    close(a2);
    close(a3);
    close(b1);
    close(c1);
    stop(s);
}

typedef struct slow_call {
    server *s;   /* the server */
    reply r;     /* what came back */
    CURLcode cc; /* curl's verdict */
} slow_call;

static void *slow_thread(void *arg)
{
    slow_call *sc = arg;
    CURL *h = client(sc->s);
    sc->cc = request(h, sc->s, "/slow", NULL, 0, 0, NULL, &sc->r);
    curl_easy_cleanup(h);
    return NULL;
}

/* When every slot is busy with a request, nothing can be evicted: the newcomer is the one
 * closed at once, and the requests in flight finish. */
static void test_connection_cap_refuses_when_all_busy(void **state)
{
    server *s = start(*state, 4, 2);
    slow_call sc[2] = {{s, {0}, CURLE_OK}, {s, {0}, CURLE_OK}};
    pthread_t th[2];
    int fd;
    long w;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, slow_thread, &sc[i]), 0);
    sleep_ms(400); /* both handlers are sleeping (800 ms) */
    fd = tcp_from(s, "127.0.0.1");
    w = closed_within(fd);
    if (w < 0 || w > 300)
        fail_msg("the newcomer was closed after %ld ms, want at once", w);
    close(fd);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(sc[i].cc, CURLE_OK);
        assert_int_equal(sc[i].r.status, 200);
        buf_free(&sc[i].r.body);
    }
    assert_int_equal(atomic_load(&s->m.connections_refused), 1);
    assert_int_equal(atomic_load(&s->m.connections_evicted), 0);
    stop(s);
}

static void test_shutdown_finishes_request_in_flight(void **state)
{
    server *s = start(*state, 2, 16);
    slow_call sc = {s, {0}, CURLE_OK};
    pthread_t th;
    tcli idle;
    uint64_t t0;
    tcli_open(&idle, s);
    assert_int_equal(pthread_create(&th, NULL, slow_thread, &sc), 0);
    sleep_ms(300); /* the handler is now sleeping */
    t0 = mono_ms();
    net_stop(s->net);
    pthread_join(s->thread, NULL);
    assert_true(mono_ms() - t0 < 2500);
    pthread_join(th, NULL);
    assert_int_equal(sc.cc, CURLE_OK);
    assert_int_equal(sc.r.status, 200);
    assert_string_equal(sc.r.body.ptr, "slow done");
    assert_string_equal(sc.r.connection, "close");
    buf_free(&sc.r.body);
    /* the idle connection was closed, and nobody can connect any more */
    assert_true(tcli_wait_closed(&idle, 1000) >= 0);
    tcli_close(&idle);
    {
        CURL *h = client(s);
        reply r;
        assert_int_not_equal(request(h, s, "/v1/health", NULL, 0, 0, NULL, &r), CURLE_OK);
        buf_free(&r.body);
        curl_easy_cleanup(h);
    }
    /* net_run has returned already: only the release is left */
    assert_int_equal(s->run_rc, GS_OK);
    assert_int_equal(atomic_load(&s->m.connections_open), 0);
    release(s);
}

static void test_log_line_has_no_secret(void **state)
{
    server *s = start(*state, 2, 16);
    CURL *h = client(s);
    struct curl_slist *hdrs = NULL;
    reply r;
    hdrs = curl_slist_append(hdrs, "Authorization: Bearer dev-1.SECRETSECRET");
    hdrs = curl_slist_append(hdrs, "Cookie: session=COOKIESECRET");
    assert_int_equal(request(h, s, "/echo?token=QUERYSECRET", "BODYSECRET", 10, 0, hdrs, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    buf_free(&r.body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    halt(s); /* the line is written after the answer: wait for it */
    char *log = s->log.ptr;
    assert_non_null(strstr(log, " POST /echo 200 in="));
    assert_non_null(strstr(log, " echo=10"));
    assert_null(strstr(log, "SECRET"));
    release(s);
}

static void test_bad_requests_answered_and_closed(void **state)
{
    static const struct {
        const char *req;    /* what the client sends */
        const char *status; /* status line it must get */
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", "HTTP/1.1 400 "},
        {"GET / HTTP/2.0\r\n\r\n", "HTTP/1.1 505 "},
        {"POST /echo HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 411 "},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413 "},
        {"PUT /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 "},
        {"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 "},
    };
    server *s = start(*state, 2, 16);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tcli t;
        gs_buf in;
        uint64_t t0 = mono_ms();
        long r;
        tcli_open(&t, s);
        buf_init(&in, 1 << 16);
        assert_int_equal(tcli_write(&t, cases[i].req, strlen(cases[i].req)), 0);
        while ((r = tcli_read_some(&t, &in, 200)) >= 0 && mono_ms() - t0 < 3000)
            if (in.len && strstr(in.ptr, "\r\n\r\n") && i >= 4)
                break; /* 405 and 404 keep the connection */
        if (!in.ptr || strncmp(in.ptr, cases[i].status, strlen(cases[i].status)) != 0)
            fail_msg("case %zu: got \"%.60s\", want \"%s\"", i, in.ptr ? in.ptr : "",
                     cases[i].status);
        if (i < 4 && !strstr(in.ptr, "Connection: close"))
            fail_msg("case %zu: refusal without Connection: close", i);
        buf_free(&in);
        tcli_close(&t);
    }
    halt(s); /* counters are final once every connection is closed */
    if (atomic_load(&s->m.responses_4xx) != 5 || atomic_load(&s->m.responses_5xx) != 1) {
        fprintf(stderr, "%s", s->log.ptr);
        fail_msg("4xx/5xx counts %llu/%llu, want 5/1 (the 505)",
                 (unsigned long long)atomic_load(&s->m.responses_4xx),
                 (unsigned long long)atomic_load(&s->m.responses_5xx));
    }
    release(s);
}

/* 60 clients at once, each with its own connection, three requests each, against two
 * workers: every request answered 200 with its own body, one connection per client. */
static void test_sixty_concurrent_clients(void **state)
{
    enum { N = 60, ROUNDS = 3, BODY = 3000 };
    /* one curl thread doing 60 client handshakes is itself slow: production timeouts */
    server *s = start_ex(*state, 2, 64, 15000, 60000, 30000, 0);
    CURLM *multi = curl_multi_init();
    CURL *h[N];
    reply r[N];
    char *bodies = malloc((size_t)N * BODY);
    char url[128];
    int ok = 0;
    assert_non_null(bodies);
    snprintf(url, sizeof(url), "%s/echo", s->base);
    for (int round = 0; round < ROUNDS; round++) {
        int running = 0;
        for (int i = 0; i < N; i++) {
            char *b = bodies + (size_t)i * BODY;
            memset(b, 'A' + (i + round) % 26, BODY);
            if (round == 0)
                h[i] = client(s);
            memset(&r[i], 0, sizeof(r[i]));
            buf_init(&r[i].body, 1 << 16);
            curl_easy_setopt(h[i], CURLOPT_URL, url);
            curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, b);
            curl_easy_setopt(h[i], CURLOPT_POSTFIELDSIZE, (long)BODY);
            curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(h[i], CURLOPT_WRITEDATA, &r[i]);
            if (i == 0 && getenv("GS_TEST_DEBUG"))
                curl_easy_setopt(h[i], CURLOPT_VERBOSE, 1L);
            curl_multi_add_handle(multi, h[i]);
        }
        do {
            curl_multi_perform(multi, &running);
            if (running)
                curl_multi_poll(multi, NULL, 0, 200, NULL);
        } while (running);
        {
            CURLMsg *msg;
            int left;
            while ((msg = curl_multi_info_read(multi, &left)) != NULL)
                if (msg->msg == CURLMSG_DONE && msg->data.result != CURLE_OK &&
                    getenv("GS_TEST_DEBUG"))
                    fprintf(stderr, "transfer failed: %s\n", curl_easy_strerror(msg->data.result));
        }
        for (int i = 0; i < N; i++) {
            long status = 0;
            curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &status);
            if (status == 200 && r[i].body.len == BODY &&
                memcmp(r[i].body.ptr, bodies + (size_t)i * BODY, BODY) == 0)
                ok++;
            else if (getenv("GS_TEST_DEBUG"))
                fprintf(stderr, "round %d client %d: status %ld, %zu bytes\n", round, i, status,
                        r[i].body.len);
            curl_multi_remove_handle(multi, h[i]);
            buf_free(&r[i].body);
        }
    }
    for (int i = 0; i < N; i++)
        curl_easy_cleanup(h[i]);
    curl_multi_cleanup(multi);
    free(bodies);
    halt(s);
    if (ok != N * ROUNDS) {
        fprintf(stderr, "%s", s->log.ptr);
        fail_msg("%d of %d requests answered right", ok, N * ROUNDS);
    }
    assert_int_equal(atomic_load(&s->m.requests), N * ROUNDS);
    assert_int_equal(atomic_load(&s->m.connections), N);
    assert_int_equal(atomic_load(&s->m.connections_refused), 0);
    release(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_every_body_shape),
        cmocka_unit_test(test_large_answer),
        cmocka_unit_test(test_pipelined_requests_in_one_record),
        cmocka_unit_test(test_slow_loris_cut_by_request_deadline),
        cmocka_unit_test(test_idle_keepalive_closed),
        cmocka_unit_test(test_silent_tcp_dropped),
        cmocka_unit_test(test_idle_and_slow_clients_hold_no_worker),
        cmocka_unit_test(test_connection_cap_evicts_oldest_idle),
        cmocka_unit_test(test_per_address_cap),
        cmocka_unit_test(test_connection_cap_refuses_when_all_busy),
        cmocka_unit_test(test_shutdown_finishes_request_in_flight),
        cmocka_unit_test(test_log_line_has_no_secret),
        cmocka_unit_test(test_bad_requests_answered_and_closed),
        cmocka_unit_test(test_sixty_concurrent_clients),
    };
    int rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
