/*
 * test_srv_tls.c: the server's TLS credential and its reload (server/tls.c), in process:
 * real handshakes between a tls_conn and an Mbed TLS client over a socketpair, the client
 * trusting only the CA, as a device does.
 *  - a connection opened before tls_reload keeps the old certificate and keeps working
 *    after it (its credential lives until the connection is freed: under ASan a credential
 *    freed too early fails here);
 *  - a handshake after tls_reload gets the renewed certificate (new serial);
 *  - a reload of a pair that does not load changes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "server/certgen.h"
#include "server/config.h"
#include "server/tls.h"

typedef struct fixture {
    char dir[64];                    /* temp folder */
    char ca[96], ca_key[96];         /* the CA */
    char cert[96], key[96];          /* the server's pair */
    srv_config cfg;                  /* cert_path, key_path */
    srv_tls *tls;                    /* the endpoint under test */
    mbedtls_entropy_context entropy; /* the clients' generator */
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt trust;          /* what a device pins: the CA */
    mbedtls_ssl_config conf;         /* the clients' configuration */
} fixture;

/* One client connection and the server connection at its other end. */
typedef struct pair {
    int fds[2];              /* [0] server side, [1] client side */
    tls_conn *srv;           /* server end */
    mbedtls_ssl_context cli; /* client end */
} pair;

static int setup(void **state)
{
    static const char *const names[] = {"localhost", "127.0.0.1"};
    fixture *f = calloc(1, sizeof(*f));
    gs_err err;
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/gs_tls_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->ca, sizeof(f->ca), "%s/ca.pem", f->dir);
    snprintf(f->ca_key, sizeof(f->ca_key), "%s/ca.key", f->dir);
    snprintf(f->cert, sizeof(f->cert), "%s/server.pem", f->dir);
    snprintf(f->key, sizeof(f->key), "%s/server.key", f->dir);
    if (certgen_make_ca(f->ca, f->ca_key, "tls test CA", &err) != GS_OK ||
        certgen_make_server(f->ca, f->ca_key, f->cert, f->key, names, 2, &err) != GS_OK) {
        fprintf(stderr, "certgen: %s\n", err.msg);
        return -1;
    }
    config_defaults(&f->cfg);
    snprintf(f->cfg.cert_path, sizeof(f->cfg.cert_path), "%s", f->cert);
    snprintf(f->cfg.key_path, sizeof(f->cfg.key_path), "%s", f->key);
    if (tls_open(&f->tls, &f->cfg, &err) != GS_OK) {
        fprintf(stderr, "tls_open: %s\n", err.msg);
        return -1;
    }
    mbedtls_entropy_init(&f->entropy);
    mbedtls_ctr_drbg_init(&f->drbg);
    mbedtls_x509_crt_init(&f->trust);
    mbedtls_ssl_config_init(&f->conf);
    if (mbedtls_ctr_drbg_seed(&f->drbg, mbedtls_entropy_func, &f->entropy, NULL, 0) ||
        mbedtls_x509_crt_parse_file(&f->trust, f->ca) ||
        mbedtls_ssl_config_defaults(&f->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT))
        return -1;
    mbedtls_ssl_conf_rng(&f->conf, mbedtls_ctr_drbg_random, &f->drbg);
    mbedtls_ssl_conf_authmode(&f->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&f->conf, &f->trust, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    tls_close(f->tls);
    mbedtls_ssl_config_free(&f->conf);
    mbedtls_x509_crt_free(&f->trust);
    mbedtls_ctr_drbg_free(&f->drbg);
    mbedtls_entropy_free(&f->entropy);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

static int cli_send(void *ctx, const unsigned char *buf, size_t len)
{
    ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int cli_recv(void *ctx, unsigned char *buf, size_t len)
{
    ssize_t n = recv(*(int *)ctx, buf, len, 0);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

/* Both ends connected and through the handshake; the serial the client saw in *serial. */
static void pair_open(fixture *f, pair *p, char *serial, size_t cap)
{
    int s_done = 0, c_done = 0;
    const mbedtls_x509_crt *peer;
    certgen_info info;
    gs_err err;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p->fds), 0);
    assert_int_equal(tls_conn_new(f->tls, p->fds[0], &p->srv), GS_OK);
    mbedtls_ssl_init(&p->cli);
    assert_int_equal(mbedtls_ssl_setup(&p->cli, &f->conf), 0);
    assert_int_equal(mbedtls_ssl_set_hostname(&p->cli, "localhost"), 0);
    mbedtls_ssl_set_bio(&p->cli, &p->fds[1], cli_send, cli_recv, NULL);
    for (int i = 0; i < 1000 && !(s_done && c_done); i++) {
        if (!s_done) {
            int r = tls_conn_handshake(p->srv);
            if (r == 0)
                s_done = 1;
            else if (r != TLS_WANT_READ && r != TLS_WANT_WRITE)
                fail_msg("server handshake: %s", tls_conn_error(p->srv));
        }
        if (!c_done) {
            int r = mbedtls_ssl_handshake(&p->cli);
            if (r == 0)
                c_done = 1;
            else if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
                fail_msg("client handshake: -0x%04x", (unsigned)-r);
        }
    }
    assert_true(s_done && c_done);
    peer = mbedtls_ssl_get_peer_cert(&p->cli);
    assert_non_null(peer);
    assert_int_equal(certgen_info_of(peer, &info, &err), GS_OK);
    snprintf(serial, cap, "%s", info.serial);
}

/* A request and its answer on an open pair. */
static void pair_ping(pair *p)
{
    unsigned char buf[16];
    long n = -1;
    assert_int_equal(mbedtls_ssl_write(&p->cli, (const unsigned char *)"ping", 4), 4);
    for (int i = 0; i < 100 && n < 0; i++)
        n = tls_conn_read(p->srv, buf, sizeof(buf));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(tls_conn_write(p->srv, "pong", 4), 4);
    n = -1;
    for (int i = 0; i < 100 && n < 0; i++)
        n = mbedtls_ssl_read(&p->cli, buf, sizeof(buf));
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "pong", 4);
}

static void pair_close(pair *p)
{
    mbedtls_ssl_free(&p->cli);
    tls_conn_free(p->srv);
    close(p->fds[0]);
    close(p->fds[1]);
}

static void test_reload_keeps_open_connections(void **state)
{
    fixture *f = *state;
    char before[80], after[80], s1[80], s2[80], s3[80];
    certgen_info info;
    pair p1, p2, p3;
    gs_err err;
    int rc;

    tls_cert_info(f->tls, &info);
    snprintf(before, sizeof(before), "%s", info.serial);
    pair_open(f, &p1, s1, sizeof(s1));
    assert_string_equal(s1, before);

    rc = certgen_renew(f->ca, f->ca_key, f->cert, f->key, NULL, &err);
    if (rc)
        fail_msg("renew: %s", err.msg);
    /* nothing changes for the server until it is told */
    pair_open(f, &p2, s2, sizeof(s2));
    assert_string_equal(s2, before);
    pair_close(&p2);

    rc = tls_reload(f->tls, &err);
    if (rc)
        fail_msg("reload: %s", err.msg);
    tls_cert_info(f->tls, &info);
    snprintf(after, sizeof(after), "%s", info.serial);
    assert_string_not_equal(after, before);
    assert_int_equal(info.n_names, 2);

    /* the open connection still works on the old credential */
    pair_ping(&p1);
    /* a new one gets the new certificate, which the device's pinned CA accepts */
    pair_open(f, &p3, s3, sizeof(s3));
    assert_string_equal(s3, after);
    pair_close(&p1); /* the old credential's last connection: freed here */
    pair_ping(&p3);
    pair_close(&p3);
}

static void test_reload_refuses_bad_pair(void **state)
{
    fixture *f = *state;
    char before[80], seen[80], other_cert[128], other_key[128];
    static const char *const names[] = {"localhost"};
    certgen_info info;
    gs_err err;
    pair p;
    FILE *fp;

    tls_cert_info(f->tls, &info);
    snprintf(before, sizeof(before), "%s", info.serial);
    /* a key that is not the certificate's */
    snprintf(other_cert, sizeof(other_cert), "%s/other.pem", f->dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", f->dir);
    assert_int_equal(
        certgen_make_server(f->ca, f->ca_key, other_cert, other_key, names, 1, &err), GS_OK);
    assert_int_equal(rename(other_key, f->key), 0);
    assert_int_equal(tls_reload(f->tls, &err), GS_E_TLS);
    assert_non_null(strstr(err.msg, "does not belong"));
    /* garbage */
    fp = fopen(f->key, "w");
    assert_non_null(fp);
    fputs("not a key\n", fp);
    fclose(fp);
    assert_int_equal(tls_reload(f->tls, &err), GS_E_TLS);
    assert_non_null(strstr(err.msg, "reading private key"));
    /* still the first certificate, and it still serves */
    tls_cert_info(f->tls, &info);
    assert_string_equal(info.serial, before);
    pair_open(f, &p, seen, sizeof(seen));
    assert_string_equal(seen, before);
    pair_ping(&p);
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reload_keeps_open_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_refuses_bad_pair, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
