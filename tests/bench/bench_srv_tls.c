/*
 * bench_srv_tls.c: TLS connection set-up rate of gridsyncd's engine on loopback, one client
 * at a time: full handshakes (ECDHE-ECDSA P-256/X25519 + certificate check) and resumed
 * ones (session ticket), each followed by GET /v1/health and a close, as a device that
 * syncs once would do. Server and client share this process and the machine's cores, so
 * the figure is a floor for the server alone.
 *
 * Issue 7 figure 6 runs the same two ways with a real sync instead of /v1/health: each
 * connection POSTs /v1/sync for an enrolled device carrying one new visit (a resident is
 * pushed first), to the real application (app_open on a fresh store, durable commits), and
 * the answer's ack must say accepted: sync sessions per second with a full handshake each time
 * and with session resumption. The health figures are the baseline of the same run: the
 * ratio says what the sync itself adds to a connection.
 *
 * Prints one JSON object per figure: {"bench": ..., "value": ..., "unit": ...}, with
 * "server_cpu_ms": the server's CPU per connection (process CPU less the client thread's),
 * which says what one core of a town server can take, whatever the client costs.
 * BENCH_SECONDS (default 3) sets the time per figure.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/rc.h"
#include "common/hlc.h"
#include "proto/proto.h"
#include "server/app.h"
#include "server/certgen.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/net.h"
#include "server/tls.h"
#include "tests/lib/tbench.h"

static void to_app(void *ud, const srv_request *req, srv_response *resp)
{
    app_handle(ud, req, resp);
}

/* as gridsyncd runs it: bodies judged at their head */
static int app_head_check_cb(void *ud, const srv_request *req, srv_response *resp,
                             size_t *max_body)
{
    return app_head_check(ud, req, resp, max_body);
}

static void *serve(void *arg)
{
    gs_err err;
    net_run(arg, &err);
    return NULL;
}

/* Client state shared by every connection of one run. */
typedef struct client {
    mbedtls_ssl_config conf;       /* client policy */
    mbedtls_x509_crt ca;           /* the test CA */
    mbedtls_entropy_context ent;   /* entropy */
    mbedtls_ctr_drbg_context drbg; /* generator */
    mbedtls_ssl_session saved;     /* session to resume */
    int have_saved;                /* saved holds a session */
    char port[16];                 /* server port */
    char dev[64];                  /* enrolled device id (sync figures) */
    char token[256];               /* its token */
    uint64_t seq;                  /* its last pushed seq */
    uint8_t resident[16];          /* the resident its visits refer to */
} client;

static proto_str S(const char *s)
{
    proto_str r = {s, (uint32_t)strlen(s)};
    return r;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The HTTP request of the next sync: seq 1 pushes the resident, later ones one visit. */
static int sync_request(client *c, gs_buf *out)
{
    proto_sync_req req;
    proto_change ch;
    proto_field f[6];
    uint8_t id[16];
    uint64_t now = wall_ms(), seq = ++c->seq;
    char head[512];
    gs_buf body;
    int n, rc;

    memset(&req, 0, sizeof(req));
    memset(&ch, 0, sizeof(ch));
    memset(f, 0, sizeof(f));
    for (int i = 0; i < 16; i++)
        id[i] = (uint8_t)(seq * 131 + (uint64_t)i * 7 + (uint64_t)c->port[0]);
    id[6] = (uint8_t)(0x70 | (id[6] & 0x0f));
    id[8] = (uint8_t)(0x80 | (id[8] & 0x3f));
    if (seq == 1)
        memcpy(c->resident, id, 16);
    ch.seq = seq;
    ch.hlc = hlc_pack(now, 0);
    memcpy(ch.id, id, 16);
    ch.fields = f;
    f[0].name = S("grid");
    f[0].value.type = PV_STR;
    f[0].value.u.s = S("东风村3组");
    if (seq == 1) {
        ch.table = S("resident");
        f[1].name = S("name");
        f[1].value.type = PV_STR;
        f[1].value.u.s = S("王秀英");
        ch.n_fields = 2;
    } else {
        ch.table = S("visit");
        f[1].name = S("resident");
        f[1].value.type = PV_BIN;
        f[1].value.u.s.ptr = (const char *)c->resident;
        f[1].value.u.s.len = 16;
        f[2].name = S("worker");
        f[2].value.type = PV_STR;
        f[2].value.u.s = S("张三");
        f[3].name = S("visited_at");
        f[3].value.type = PV_INT;
        f[3].value.u.i = (int64_t)now;
        f[4].name = S("kind");
        f[4].value.type = PV_STR;
        f[4].value.u.s = S("routine");
        f[5].name = S("notes");
        f[5].value.type = PV_STR;
        f[5].value.u.s = S("老人身体状况良好，已提醒按时服药，家中卫生整洁，子女在外打工");
        ch.n_fields = 6;
    }
    req.version = 1;
    req.device = S(c->dev);
    req.low = seq;
    req.cursor = 0;
    req.now = hlc_pack(now, 0);
    req.pull_max = 1;
    req.changes = &ch;
    req.n_changes = 1;
    buf_init(&body, PROTO_MAX_BODY);
    rc = proto_encode_sync_req(&body, &req);
    n = snprintf(head, sizeof(head),
                 "POST /v1/sync HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                 "Authorization: Bearer %s\r\nContent-Type: application/vnd.msgpack\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 c->token, body.len);
    buf_reset(out);
    if (rc == GS_OK && (n < 0 || (size_t)n >= sizeof(head)))
        rc = GS_E_TOO_LARGE;
    if (rc == GS_OK)
        rc = buf_add(out, head, (size_t)n);
    if (rc == GS_OK)
        rc = buf_add(out, body.ptr, body.len);
    buf_free(&body);
    return rc;
}

/* One connection: handshake (resuming if asked), GET /v1/health or one sync, close. 0 on
 * success. */
static int one(client *c, int resume, int sync)
{
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    unsigned char buf[1024];
    static const char req[] =
        "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    int r, ok = -1, one_flag = 1;
    gs_buf sreq;
    const unsigned char *out = (const unsigned char *)req;
    size_t out_len = sizeof(req) - 1;

    buf_init(&sreq, PROTO_MAX_BODY);
    if (sync) {
        if (sync_request(c, &sreq) != GS_OK) {
            buf_free(&sreq);
            return -1;
        }
        out = (const unsigned char *)sreq.ptr;
        out_len = sreq.len;
    }

    mbedtls_net_init(&net);
    mbedtls_ssl_init(&ssl);
    if (mbedtls_net_connect(&net, "127.0.0.1", c->port, MBEDTLS_NET_PROTO_TCP) != 0 ||
        mbedtls_ssl_setup(&ssl, &c->conf) != 0 || mbedtls_ssl_set_hostname(&ssl, "localhost") != 0)
        goto out;
    /* as curl does: without it Nagle holds the client's second handshake record for the
     * server's delayed ACK (40 ms), and the bench measures that instead of TLS */
    setsockopt(net.fd, IPPROTO_TCP, TCP_NODELAY, &one_flag, sizeof(one_flag));
    mbedtls_ssl_set_bio(&ssl, &net, mbedtls_net_send, mbedtls_net_recv, NULL);
    if (resume && c->have_saved)
        mbedtls_ssl_set_session(&ssl, &c->saved);
    while ((r = mbedtls_ssl_handshake(&ssl)) != 0)
        if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
            goto out;
    if (resume && !c->have_saved) {
        if (mbedtls_ssl_get_session(&ssl, &c->saved) == 0)
            c->have_saved = 1;
    }
    for (size_t done = 0; done < out_len; done += (size_t)r) {
        r = mbedtls_ssl_write(&ssl, out + done, out_len - done);
        if (r <= 0)
            goto out;
    }
    r = mbedtls_ssl_read(&ssl, buf, sizeof(buf));
    if (r > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0)
        ok = 0;
    if (ok == 0 && sync) {
        /* the small answer comes in one record: its one ack must say accepted */
        const unsigned char *body = memmem(buf, (size_t)r, "\r\n\r\n", 4);
        proto_sync_resp *resp = NULL;
        gs_err err;
        ok = -1;
        if (body && proto_decode_sync_resp(body + 4, (size_t)(buf + r - (body + 4)), &resp,
                                           &err) == GS_OK &&
            resp->n_acks == 1 && resp->acks[0].ok)
            ok = 0;
        proto_sync_resp_free(resp);
    }
    mbedtls_ssl_close_notify(&ssl);
out:
    mbedtls_ssl_free(&ssl);
    mbedtls_net_free(&net);
    buf_free(&sreq);
    return ok;
}

/* Enrolls one device of grid 东风村3组 through the admin API, straight into the app. */
static int enroll(srv_app *app, const char *admin_token, client *c)
{
    static const char body[] = "{\"grids\":[\"东风村3组\"],\"name\":\"bench\"}";
    char auth[300];
    srv_request req;
    srv_response resp;
    const char *p;
    int ok = -1;

    snprintf(auth, sizeof(auth), "Bearer %s", admin_token);
    memset(&req, 0, sizeof(req));
    memset(&resp, 0, sizeof(resp));
    req.method.ptr = "POST";
    req.method.len = 4;
    req.path.ptr = "/v1/admin/devices";
    req.path.len = strlen(req.path.ptr);
    req.authorization.ptr = auth;
    req.authorization.len = strlen(auth);
    req.content_type.ptr = "application/json";
    req.content_type.len = strlen(req.content_type.ptr);
    req.body = (const uint8_t *)body;
    req.body_len = sizeof(body) - 1;
    req.peer = "127.0.0.1:1";
    buf_init(&resp.body, 65536);
    app_handle(app, &req, &resp);
    if (resp.status == 201 && buf_add(&resp.body, "", 1) == GS_OK) {
        const char *js = (const char *)resp.body.ptr;
        const char *keys[2] = {"\"id\":", "\"token\":"};
        char *outs[2] = {c->dev, c->token};
        size_t caps[2] = {sizeof(c->dev), sizeof(c->token)};
        ok = 0;
        for (int k = 0; k < 2 && ok == 0; k++) {
            size_t i = 0;
            p = strstr(js, keys[k]);
            if (!p) {
                ok = -1;
                break;
            }
            p += strlen(keys[k]);
            while (*p == ' ' || *p == '"')
                p++;
            while (*p && *p != '"' && i + 1 < caps[k])
                outs[k][i++] = *p++;
            outs[k][i] = '\0';
        }
    }
    buf_free(&resp.body);
    return ok;
}

static double cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sessions per second for `seconds`; *srv_ms gets the server's CPU per session: the
 * process's CPU time less this (the client's) thread's, so the client's own handshake work
 * (ECDSA verify, its ECDHE half) on the same two cores is not charged to the server. */
static double run(client *c, int resume, int sync, double seconds, long *failures,
                  double *srv_ms)
{
    double t0 = tbench_now_s(), t;
    double p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    long n = 0;
    *failures = 0;
    do {
        if (one(c, resume, sync) == 0)
            n++;
        else
            (*failures)++;
        t = tbench_now_s();
    } while (t - t0 < seconds);
    *srv_ms = n ? 1000.0 *
                      ((cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0) - (cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0)) /
                      (double)n
                : 0;
    return (double)n / (t - t0);
}

int main(void)
{
    char dir[] = "/tmp/gs_bench_tls_XXXXXX";
    char ca[128], ca_key[128], cert[128], key[128];
    const char *names[] = {"localhost", "127.0.0.1"};
    const char *secs_env = getenv("BENCH_SECONDS");
    double secs = secs_env ? strtod(secs_env, NULL) : 3.0;
    srv_config cfg;
    srv_metrics m;
    gs_logger lg;
    gs_err err;
    srv_tls *tls = NULL;
    srv_app *app = NULL;
    char db[128], admin_token[256];
    srv_net *n = NULL;
    pthread_t th;
    client c;
    long fails_full, fails_resumed;
    double full, resumed, sync_full, sync_resumed;
    double ms_full, ms_resumed, ms_sync_full, ms_sync_resumed;
    long fails_sync_full, fails_sync_resumed;
    int status = 1;

    app_process_init(); /* as gridsyncd does */

    if (!mkdtemp(dir))
        return 1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(db, sizeof(db), "%s/store.db", dir);
    if (certgen_make_ca(ca, ca_key, "bench CA", &err) ||
        certgen_make_server(ca, ca_key, cert, key, names, 2, &err)) {
        fprintf(stderr, "certgen: %s\n", err.msg);
        goto cleanup;
    }
    config_defaults(&cfg);
    snprintf(cfg.listen, sizeof(cfg.listen), "127.0.0.1:0");
    snprintf(cfg.cert_path, sizeof(cfg.cert_path), "%s", cert);
    snprintf(cfg.key_path, sizeof(cfg.key_path), "%s", key);
    cfg.workers = 2;
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", db);
    metrics_init(&m);
    log_init(&lg, "bench", GS_LOG_ERROR);
    if (app_init_store(db, admin_token, sizeof(admin_token), &err) ||
        app_open(&app, &cfg, &m, &lg, &err)) {
        fprintf(stderr, "app: %s\n", err.msg);
        goto cleanup;
    }
    if (tls_open(&tls, &cfg, &err)) {
        fprintf(stderr, "tls: %s\n", err.msg);
        goto cleanup;
    }
    net_opts o = {&cfg, tls, &m, &lg, to_app, app, -1, app_head_check_cb};
    if (net_new(&n, &o, &err)) {
        fprintf(stderr, "net: %s\n", err.msg);
        goto cleanup;
    }
    if (secs <= 0)
        secs = 3.0;
    pthread_create(&th, NULL, serve, n);

    memset(&c, 0, sizeof(c));
    mbedtls_ssl_config_init(&c.conf);
    mbedtls_x509_crt_init(&c.ca);
    mbedtls_entropy_init(&c.ent);
    mbedtls_ctr_drbg_init(&c.drbg);
    mbedtls_ssl_session_init(&c.saved);
    snprintf(c.port, sizeof(c.port), "%d", net_port(n));
    mbedtls_ctr_drbg_seed(&c.drbg, mbedtls_entropy_func, &c.ent, NULL, 0);
    mbedtls_x509_crt_parse_file(&c.ca, ca);
    mbedtls_ssl_config_defaults(&c.conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                MBEDTLS_SSL_PRESET_DEFAULT);
    mbedtls_ssl_conf_authmode(&c.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&c.conf, &c.ca, NULL);
    mbedtls_ssl_conf_rng(&c.conf, mbedtls_ctr_drbg_random, &c.drbg);

    if (enroll(app, admin_token, &c) != 0) {
        fprintf(stderr, "bench_srv_tls: could not enroll a device\n");
        goto cleanup;
    }
    full = run(&c, 0, 0, secs, &fails_full, &ms_full);
    resumed = run(&c, 1, 0, secs, &fails_resumed, &ms_resumed);
    sync_full = run(&c, 0, 1, secs, &fails_sync_full, &ms_sync_full);
    sync_resumed = run(&c, 1, 1, secs, &fails_sync_resumed, &ms_sync_resumed);
    printf("{\"bench\": \"srv_tls_full_handshakes_per_s\", \"value\": %.1f, \"unit\": \"1/s\", "
           "\"clients\": 1, \"failures\": %ld, \"server_cpu_ms\": %.2f}\n",
           full, fails_full, ms_full);
    printf("{\"bench\": \"srv_tls_resumed_handshakes_per_s\", \"value\": %.1f, \"unit\": "
           "\"1/s\", \"clients\": 1, \"failures\": %ld, \"server_cpu_ms\": %.2f}\n",
           resumed, fails_resumed, ms_resumed);
    printf("{\"bench\": \"srv_sync_sessions_new_tls_per_s\", \"value\": %.1f, \"unit\": "
           "\"1/s\", \"clients\": 1, \"failures\": %ld, \"ratio_to_health_full\": %.2f, "
           "\"server_cpu_ms\": %.2f}\n",
           sync_full, fails_sync_full, sync_full / full, ms_sync_full);
    printf("{\"bench\": \"srv_sync_sessions_resumed_tls_per_s\", \"value\": %.1f, \"unit\": "
           "\"1/s\", \"clients\": 1, \"failures\": %ld, \"ratio_to_health_resumed\": %.2f, "
           "\"server_cpu_ms\": %.2f}\n",
           sync_resumed, fails_sync_resumed, sync_resumed / resumed, ms_sync_resumed);
    status = (fails_full || fails_resumed || fails_sync_full || fails_sync_resumed ||
              !c.have_saved) ? 1 : 0;

    mbedtls_ssl_session_free(&c.saved);
    mbedtls_ssl_config_free(&c.conf);
    mbedtls_x509_crt_free(&c.ca);
    mbedtls_ctr_drbg_free(&c.drbg);
    mbedtls_entropy_free(&c.ent);
    net_stop(n);
    pthread_join(th, NULL);
cleanup:
    net_free(n);
    app_close(app);
    tls_close(tls);
    unlink(db);
    unlink(ca);
    unlink(ca_key);
    unlink(cert);
    unlink(key);
    rmdir(dir);
    return status;
}
