/*
 * net.h: gridsyncd's connection engine: the listening socket, a poller thread, a pool of
 * worker threads, keep-alive, timeouts, the connection cap and graceful shutdown.
 *
 * Model. The thread that calls net_run polls the listening socket and every connection
 * that waits for the network; a connection that becomes ready is queued to the workers. A
 * worker advances it as far as it can without waiting (TLS handshake, reading and parsing a
 * request, calling the handler, writing the answer) and hands it back to the poller with
 * what it waits for. No worker ever waits on a socket, so idle keep-alive connections and
 * slow clients cost a slot in the poll set, not a thread: 8 workers serve hundreds of
 * devices, and a slow-loris client only ties up its own connection until a timeout.
 *
 *   accept --> HANDSHAKE --> READ --(request complete)--> handler --> WRITE --+--> READ
 *                 |           |  \--(100-continue)--> CONTINUE --> READ    |   (keep-alive)
 *                 v           v                                           v
 *               close   close (timeout, EOF)              LINGER (Connection: close) --> close
 *
 * Timeouts (from srv_config): a TLS handshake, and the first request byte after it, must
 * come within handshake_timeout_ms (a fifth of it once 3/4 of max_connections are open); a
 * request head within head_timeout_ms of its first byte, the whole request within
 * request_timeout_ms; no read or write may stall longer than read_timeout_ms while a
 * request or answer is in progress; an idle keep-alive connection is closed after
 * idle_timeout_ms.
 *
 * Caps: at most max_connections_per_address from one IPv4 address or IPv6 /64, and
 * max_connections in all. At either cap the connection with the least recent I/O, of that
 * address (of all, for the global cap), that is handshaking, idle or still sending its head
 * is closed to make room; only when every one is busy with a request is the newcomer closed
 * at once, before TLS (no HTTP answer is possible there).
 *
 * Threads: net_stop may be called from any thread or a signal handler; everything else from
 * the thread that owns the net. The handler is called concurrently from the workers.
 */
#ifndef GS_SERVER_NET_H
#define GS_SERVER_NET_H

#include "common/log.h"
#include "common/rc.h"
#include "app.h"
#include "config.h"
#include "metrics.h"
#include "tls.h"

#define NET_MAX_RESPONSE_BYTES (32u * 1024 * 1024) /* cap on one response body */

/* Answers one request (everything but /v1/health and /metrics). Must always fill resp. */
typedef void net_handler(void *ud, const srv_request *req, srv_response *resp);

/* Judges the head of a request with a body before any of it is read or 100 Continue sent
 * (app_head_check's contract): 0 with *max_body the route's limit, or 1 with resp filled
 * with a refusal that is sent before the connection is closed. Called from the workers. */
typedef int net_head_check(void *ud, const srv_request *req, srv_response *resp,
                           size_t *max_body);

typedef struct net_opts {
    const srv_config *cfg; /* listen address, limits, timeouts, workers; outlives the net */
    srv_tls *tls;          /* the TLS endpoint; outlives the net */
    srv_metrics *metrics;  /* counters; outlives the net */
    gs_logger *lg;         /* where request lines and errors go; outlives the net */
    net_handler *handler;  /* the application */
    void *handler_ud;      /* passed to handler */
    int stop_fd;           /* optional (-1: none): readable means "shut down" (a signalfd) */
    net_head_check *head_check; /* optional (NULL: every body up to max_body_bytes) */
} net_opts;

typedef struct srv_net srv_net;

/* Binds and listens on cfg->listen (port 0: the kernel picks a free one). */
int net_new(srv_net **out, const net_opts *opts, gs_err *err);

/* The port actually bound. */
int net_port(const srv_net *n);

/* Starts the workers and serves until net_stop or stop_fd; then stops accepting, lets
 * requests in flight finish for up to cfg->shutdown_timeout_ms, closes every connection
 * and joins the workers. GS_E_IO (with err) only if the poller itself fails. */
int net_run(srv_net *n, gs_err *err);

/* Asks net_run to shut down; async-signal-safe. */
void net_stop(srv_net *n);

void net_free(srv_net *n);

#endif
