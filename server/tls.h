/*
 * tls.h: gridsyncd's TLS endpoint over Mbed TLS 2.28, on non-blocking sockets.
 *
 * One srv_tls per server: the random generator, and the current credential (certificate,
 * key, configuration, session cache and session-ticket keys), shared by the connections
 * (Mbed TLS locks the shared parts itself when built with MBEDTLS_THREADING_C, as Debian
 * builds it). tls_reload (SIGHUP) reads the files again into a new credential that new
 * handshakes get; a connection keeps the credential it started with, which is freed with its
 * last connection. One tls_conn per connection, used by one thread at a time.
 *
 * Policy (tls_open): TLS 1.2 minimum (2.28 has no usable 1.3); only ECDHE-ECDSA with AEAD
 * (ChaCha20-Poly1305, AES-128-GCM, AES-256-GCM); groups P-256 then X25519; signature hashes
 * SHA-256 or better; no renegotiation; resumption by session cache and by tickets.
 *
 * Every I/O call returns at once: > 0 bytes done, or one of the TLS_* codes below; the
 * caller waits for the socket to become readable (TLS_WANT_READ) or writable
 * (TLS_WANT_WRITE) and repeats the call with the same arguments.
 */
#ifndef GS_SERVER_TLS_H
#define GS_SERVER_TLS_H

#include <stddef.h>

#include "common/rc.h"
#include "certgen.h"
#include "config.h"

#define TLS_WANT_READ (-1)  /* wait until the socket is readable, then call again */
#define TLS_WANT_WRITE (-2) /* wait until the socket is writable, then call again */
#define TLS_CLOSED (-3)     /* the peer closed the connection (close_notify or EOF) */
#define TLS_FAILED (-4)     /* a fatal error: close the connection; tls_conn_error says why */

typedef struct srv_tls srv_tls;
typedef struct tls_conn tls_conn;

/* Loads cfg->cert_path and cfg->key_path, seeds the generator, sets the policy above. */
int tls_open(srv_tls **out, const srv_config *cfg, gs_err *err);
/* After every tls_conn is freed. */
void tls_close(srv_tls *t);

/* Reads the certificate and key files again (the paths tls_open got) into a new credential
 * for the handshakes that start from now on; connections already open keep theirs. On
 * failure (unreadable, not a pair, not EC) nothing changes. Any thread. */
int tls_reload(srv_tls *t, gs_err *err);

/* Serial, validity and names of the certificate new handshakes get. Any thread. */
void tls_cert_info(srv_tls *t, certgen_info *out);

/* A server-side TLS connection on the connected, non-blocking socket fd (not owned). */
int tls_conn_new(srv_tls *t, int fd, tls_conn **out);
void tls_conn_free(tls_conn *c);

/* 0 when the handshake is done, else TLS_WANT_READ, TLS_WANT_WRITE, TLS_CLOSED or
 * TLS_FAILED. */
int tls_conn_handshake(tls_conn *c);

/* Application data: bytes read (> 0) or a TLS_* code; TLS_CLOSED at the peer's end. */
long tls_conn_read(tls_conn *c, void *buf, size_t n);

/* Bytes written (> 0, possibly fewer than n) or a TLS_* code. After TLS_WANT_*, call again
 * with the same buf and n. */
long tls_conn_write(tls_conn *c, const void *buf, size_t n);

/* 1 if bytes already received sit inside the TLS layer, so the socket may never become
 * readable again for them: read before waiting. */
int tls_conn_pending(const tls_conn *c);

/* Sends close_notify once, without waiting. */
void tls_conn_close_notify(tls_conn *c);

/* The last Mbed TLS error as text ("SSL - ..."), for the log. */
const char *tls_conn_error(tls_conn *c);

/* "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256" once the handshake is done. */
void tls_conn_describe(const tls_conn *c, char *out, size_t cap);

#endif
