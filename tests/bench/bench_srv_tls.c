/*
 * bench_srv_tls.c: TLS connection set-up rate of gridsyncd's engine on loopback, one client
 * at a time: full handshakes (ECDHE-ECDSA P-256/X25519 + certificate check) and resumed
 * ones (session ticket), each followed by GET /v1/health and a close, as a device that
 * syncs once would do. Server and client share this process and the machine's cores, so
 * the figure is a floor for the server alone.
 *
 * Prints one JSON object per figure: {"bench": ..., "value": ..., "unit": ...}.
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

#include "../../common/log.h"
#include "../../common/rc.h"
#include "../../server/certgen.h"
#include "../../server/config.h"
#include "../../server/metrics.h"
#include "../../server/net.h"
#include "../../server/tls.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void no_app(void *ud, const srv_request *req, srv_response *resp)
{
    (void)ud;
    (void)req;
    resp->status = 404;
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
} client;

/* One connection: handshake (resuming if asked), GET /v1/health, close. 0 on success. */
static int one(client *c, int resume)
{
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    unsigned char buf[1024];
    static const char req[] =
        "GET /v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    int r, ok = -1, one_flag = 1;

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
    if (mbedtls_ssl_write(&ssl, (const unsigned char *)req, sizeof(req) - 1) != sizeof(req) - 1)
        goto out;
    r = mbedtls_ssl_read(&ssl, buf, sizeof(buf));
    if (r > 12 && memcmp(buf, "HTTP/1.1 200", 12) == 0)
        ok = 0;
    mbedtls_ssl_close_notify(&ssl);
out:
    mbedtls_ssl_free(&ssl);
    mbedtls_net_free(&net);
    return ok;
}

static double run(client *c, int resume, double seconds, long *failures)
{
    double t0 = now_s(), t;
    long n = 0;
    *failures = 0;
    do {
        if (one(c, resume) == 0)
            n++;
        else
            (*failures)++;
        t = now_s();
    } while (t - t0 < seconds);
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
    srv_net *n = NULL;
    pthread_t th;
    client c;
    long fails_full, fails_resumed;
    double full, resumed;
    int status = 1;

    if (!mkdtemp(dir))
        return 1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
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
    metrics_init(&m);
    log_init(&lg, "bench", GS_LOG_WARN);
    if (tls_open(&tls, &cfg, &err)) {
        fprintf(stderr, "tls: %s\n", err.msg);
        goto cleanup;
    }
    net_opts o = {&cfg, tls, &m, &lg, no_app, NULL, -1};
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

    full = run(&c, 0, secs, &fails_full);
    resumed = run(&c, 1, secs, &fails_resumed);
    printf("{\"bench\": \"srv_tls_full_handshakes_per_s\", \"value\": %.1f, \"unit\": \"1/s\", "
           "\"clients\": 1, \"failures\": %ld}\n",
           full, fails_full);
    printf("{\"bench\": \"srv_tls_resumed_handshakes_per_s\", \"value\": %.1f, \"unit\": "
           "\"1/s\", \"clients\": 1, \"failures\": %ld}\n",
           resumed, fails_resumed);
    status = (fails_full || fails_resumed || !c.have_saved) ? 1 : 0;

    mbedtls_ssl_session_free(&c.saved);
    mbedtls_ssl_config_free(&c.conf);
    mbedtls_x509_crt_free(&c.ca);
    mbedtls_ctr_drbg_free(&c.drbg);
    mbedtls_entropy_free(&c.ent);
    net_stop(n);
    pthread_join(th, NULL);
cleanup:
    net_free(n);
    tls_close(tls);
    unlink(ca);
    unlink(ca_key);
    unlink(cert);
    unlink(key);
    rmdir(dir);
    return status;
}
