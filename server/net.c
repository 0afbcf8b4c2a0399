/*
 * net.c: the poller, the workers and the per-connection state machine (see net.h).
 *
 * Ownership invariant: a connection is at every moment in exactly one of three places, and
 * only the thread of that place touches it:
 *  - the poller's watch list (poller thread), waiting for c->want on its socket;
 *  - the job queue (nobody touches it there), on its way to a worker;
 *  - a worker, which advances it with conn_step and puts it on the return list with the
 *    action it asks for (wait, requeue, linger, close); the poller collects that list.
 * The poller keeps the count of connections outside its watch list (`busy`), so it knows
 * when a shutdown has drained. Queues are guarded by mutexes; a worker wakes the poller by
 * writing to an eventfd, which net_stop also uses (with an atomic flag), so it is
 * async-signal-safe.
 *
 * Buffers: each connection's input buffer is reserved to its cap (max_header_bytes + one
 * TLS record) when the connection is made and never moves, as http.h requires.
 */
#define _GNU_SOURCE /* accept4 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "proto/proto.h"
#include "crl.h"
#include "http.h"
#include "peers.h"

#define NET_LINGER_MS 2000          /* how long to drain a client after Connection: close */
#define NET_LINGER_BYTES (1u << 20) /* and how much of it to read before giving up */
#define NET_OUT_MAX (64u * 1024)    /* response head plus a small body copied behind it */
#define NET_INLINE_BODY 16384       /* bodies up to this go in the same TLS record(s) */
#define NET_SMALL_BODY (64u * 1024) /* request bodies admitted outside the in-flight budget */

typedef enum conn_state {
    NC_HANDSHAKE = 0, /* TLS handshake in progress */
    NC_READ = 1,      /* reading a request (or idle between requests) */
    NC_CONTINUE = 2,  /* writing "100 Continue" */
    NC_WRITE = 3,     /* writing a response */
    NC_LINGER = 4,    /* answer sent, write side shut: draining what the client still sends */
} conn_state;

typedef enum conn_action {
    ACT_WAIT = 0,    /* poll for c->want, then step again */
    ACT_REQUEUE = 1, /* step again soon: bytes are already buffered */
    ACT_LINGER = 2,  /* poll and discard until EOF or NET_LINGER_MS */
    ACT_CLOSE = 3,   /* close now */
} conn_action;

typedef struct net_conn {
    int fd;                 /* the socket */
    tls_conn *tls;          /* TLS state on fd */
    conn_state state;       /* see the diagram in net.h */
    conn_action action;     /* what the last worker step asked the poller to do */
    short want;             /* POLLIN or POLLOUT, for ACT_WAIT */
    char peer[96];          /* "ip:port" or "[ip6]:port", for logs */
    peer_key addr;          /* source address key, for the per-address cap (peers.h) */
    unsigned n_requests;    /* requests answered on this connection */
    gs_buf in;              /* raw request bytes; reserved to its cap, never moves */
    http_rx rx;             /* request assembly */
    srv_response resp;      /* the answer being written */
    gs_buf out;             /* response head, and the body when small */
    size_t out_off;         /* bytes of out written */
    size_t body_off;        /* bytes of resp.body written (when sent separately) */
    int send_body;          /* 1: resp.body follows out on the wire */
    int close_after;        /* 1: close once the answer is written */
    int keep_alive;         /* the answer said keep-alive */
    int is_head;            /* the request was HEAD: no body on the wire */
    uint64_t accepted_ms;   /* when accepted (handshake deadline) */
    uint64_t req_start_ms;  /* first byte of the current request; 0 while idle */
    uint64_t last_io_ms;    /* last read or write progress */
    uint64_t idle_since_ms; /* when the connection last became idle */
    uint64_t deadline_ms;   /* computed by the poller from the above */
    size_t linger_bytes;    /* discarded while lingering */
    size_t bytes_out;       /* bytes of the current answer written */
    size_t body_reserved;   /* bytes of body_in_flight this request holds */
    struct net_conn *next;  /* link in the job queue or the return list */
} net_conn;

struct srv_net {
    const srv_config *cfg;     /* settings */
    srv_tls *tls;              /* TLS endpoint */
    srv_metrics *m;            /* counters */
    gs_logger *lg;             /* log */
    net_handler *handler;      /* application */
    net_head_check *head_check; /* application's head check, or NULL */
    atomic_size_t body_in_flight; /* body bytes admitted and not yet answered (workers) */
    void *handler_ud;          /* its context */
    int stop_fd;               /* external stop signal, or -1 */
    int listen_fd;             /* listening socket, -1 once closed */
    int wake_fd;               /* eventfd: returned connections or a stop request */
    int port;                  /* bound port */
    atomic_int stop_requested; /* set by net_stop */
    atomic_int stopping;       /* set by the poller once it has begun to shut down */

    pthread_mutex_t lock;  /* guards jobs, returned, quit */
    pthread_cond_t job_cv; /* signalled when jobs grows or quit is set */
    net_conn *jobs_head;   /* job queue (FIFO) */
    net_conn *jobs_tail;   /* its last element */
    net_conn *returned;    /* connections handed back by workers (LIFO) */
    int quit;              /* workers exit when set and the queue is empty */
    pthread_t *threads;    /* the workers */
    int n_threads;         /* how many started */

    /* poller-only state */
    net_conn **watch;            /* connections waiting on their socket */
    size_t n_watch;              /* entries in watch */
    struct pollfd *pfds;         /* scratch for poll() */
    int busy;                    /* connections in the job queue or a worker */
    int open;                    /* connections open in all */
    uint64_t accept_pause_until; /* after EMFILE: stop polling the listener until then */
    uint64_t last_refuse_log;    /* rate limit for "connection cap reached" warnings */
    uint64_t last_evict_log;     /* rate limit for eviction notes */
    peer_table peers;            /* open connections per source address */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void wake(srv_net *n)
{
    uint64_t one = 1;
    ssize_t r = write(n->wake_fd, &one, sizeof(one));
    (void)r; /* a full counter already means "wake up" */
}

void net_stop(srv_net *n)
{
    atomic_store(&n->stop_requested, 1);
    wake(n);
}

int net_port(const srv_net *n)
{
    return n->port;
}

static int bind_listen(srv_net *n, gs_err *err)
{
    char host[256], port_s[16];
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int port, r, fd = -1, one = 1, last_errno = 0;

    if (config_split_listen(n->cfg->listen, host, sizeof(host), &port) != GS_OK)
        return gs_err_set(err, GS_E_CONFIG, "listen \"%s\": expected HOST:PORT", n->cfg->listen);
    snprintf(port_s, sizeof(port_s), "%d", port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    r = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, port_s, &hints, &res);
    if (r != 0)
        return gs_err_set(err, GS_E_CONFIG, "listen \"%s\": %s", n->cfg->listen, gai_strerror(r));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 511) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return gs_err_set(err, GS_E_IO, "cannot listen on %s: %s", n->cfg->listen,
                          strerror(last_errno));
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        n->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    n->listen_fd = fd;
    return GS_OK;
}

/* Every connection is a descriptor: lift the soft RLIMIT_NOFILE (1024 under systemd and
 * most shells) towards the hard one so that max_connections is reachable; a lower limit
 * shows up as accept() failing with EMFILE, which the poller survives but logs. */
static void raise_fd_limit(srv_net *n)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)n->cfg->max_connections + 64; /* + database, log, listener, TLS */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warn(n->lg, "open-file limit %llu is below max_connections = %d; raise LimitNOFILE",
                 (unsigned long long)rl.rlim_cur, n->cfg->max_connections);
}

int net_new(srv_net **out, const net_opts *opts, gs_err *err)
{
    srv_net *n = gs_calloc(1, sizeof(*n));
    int rc = GS_OK;
    size_t cap;

    if (!n)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    n->cfg = opts->cfg;
    n->tls = opts->tls;
    n->m = opts->metrics;
    n->lg = opts->lg;
    n->handler = opts->handler;
    n->head_check = opts->head_check;
    atomic_init(&n->body_in_flight, 0);
    n->handler_ud = opts->handler_ud;
    n->stop_fd = opts->stop_fd;
    n->listen_fd = -1;
    n->wake_fd = -1;
    atomic_init(&n->stop_requested, 0);
    atomic_init(&n->stopping, 0);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->job_cv, NULL);
    cap = (size_t)n->cfg->max_connections;
    n->watch = gs_calloc(cap, sizeof(*n->watch));
    n->pfds = gs_calloc(cap + 3, sizeof(*n->pfds));
    n->threads = gs_calloc((size_t)n->cfg->workers, sizeof(*n->threads));
    if (!n->watch || !n->pfds || !n->threads || peers_init(&n->peers, cap) != GS_OK) {
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory");
        goto out;
    }
    n->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->wake_fd < 0) {
        rc = gs_err_set(err, GS_E_IO, "eventfd: %s", strerror(errno));
        goto out;
    }
    raise_fd_limit(n);
    rc = bind_listen(n, err);
    if (rc)
        goto out;
    *out = n;
    n = NULL;
out:
    net_free(n);
    return rc;
}

/* ---- connections --------------------------------------------------------------------- */

/* Gives back what the current request holds of the in-flight body budget. */
static void body_release(srv_net *n, net_conn *c)
{
    if (c->body_reserved) {
        atomic_fetch_sub(&n->body_in_flight, c->body_reserved);
        c->body_reserved = 0;
    }
}

static void conn_free(srv_net *n, net_conn *c)
{
    body_release(n, c);
    if (c->tls)
        tls_conn_free(c->tls);
    if (c->fd >= 0)
        close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->resp.body);
    http_rx_free(&c->rx);
    peers_remove(&n->peers, &c->addr);
    gs_free(c);
    n->open--;
    atomic_fetch_sub(&n->m->connections_open, 1);
}

/* Closes politely: close_notify when the TLS session is up, then the socket. */
static void conn_close(srv_net *n, net_conn *c)
{
    if (c->state != NC_HANDSHAKE && c->state != NC_LINGER && c->tls)
        tls_conn_close_notify(c->tls);
    conn_free(n, c);
}

static void format_peer(const struct sockaddr_storage *ss, socklen_t sl, char *out, size_t cap)
{
    char host[64], serv[16]; /* numeric forms only: INET6_ADDRSTRLEN is 46 */
    if (getnameinfo((const struct sockaddr *)ss, sl, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(out, cap, "?");
        return;
    }
    if (ss->ss_family == AF_INET6)
        snprintf(out, cap, "[%s]:%s", host, serv);
    else
        snprintf(out, cap, "%s:%s", host, serv);
}

/* Starts a connection on an accepted socket; NULL (socket closed) on failure. */
static net_conn *conn_new(srv_net *n, int fd, const struct sockaddr_storage *ss, socklen_t sl)
{
    net_conn *c = gs_calloc(1, sizeof(*c));
    size_t in_cap = n->cfg->max_header_bytes + HTTP_IO_ROOM;
    int one = 1;

    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->state = NC_HANDSHAKE;
    c->want = POLLIN;
    format_peer(ss, sl, c->peer, sizeof(c->peer));
    c->addr = peers_key(ss);
    peers_add(&n->peers, &c->addr); /* cannot fail: the table has max_connections slots */
    buf_init(&c->in, in_cap);
    buf_init(&c->out, NET_OUT_MAX);
    buf_init(&c->resp.body, NET_MAX_RESPONSE_BYTES);
    http_rx_init(&c->rx, n->cfg->max_header_bytes, n->cfg->max_body_bytes);
    c->rx.pause_at_head = 1; /* see head_ready */
    c->accepted_ms = c->last_io_ms = c->idle_since_ms = now_ms();
    n->open++;
    atomic_fetch_add(&n->m->connections_open, 1);
    atomic_fetch_add(&n->m->connections, 1);
    /* request/answer traffic: Nagle would hold a small answer for the client's delayed ACK */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (buf_reserve(&c->in, in_cap) != GS_OK || tls_conn_new(n->tls, fd, &c->tls) != GS_OK) {
        log_error(n->lg, "%s: out of memory for a new connection", c->peer);
        conn_free(n, c);
        return NULL;
    }
    return c;
}

/* 1 while the connection holds no request the server has begun to work on: a TLS
 * handshake, an idle keep-alive wait, or a request head still arriving. Such a connection
 * costs its client nothing to hold, so it is what the caps take back first. */
static int conn_evictable(const net_conn *c)
{
    return c->state == NC_HANDSHAKE || (c->state == NC_READ && c->rx.state == RX_HEAD);
}

/* The handshake and first-byte deadline: handshake_timeout_ms, a fifth of it (at least
 * 200 ms) once three quarters of max_connections are open, so that a flood turns over
 * its slots quickly while an honest handshake (a few round trips, < 2 s on 2G) fits. */
static uint64_t handshake_budget(const srv_net *n)
{
    uint64_t full = (uint64_t)n->cfg->handshake_timeout_ms, short_ = full / 5;
    if ((int64_t)n->open * 4 < (int64_t)n->cfg->max_connections * 3)
        return full;
    return short_ < 200 ? (full < 200 ? full : 200) : short_;
}

/* The moment the poller gives up on a waiting connection. */
static uint64_t conn_deadline(const srv_net *n, const net_conn *c)
{
    const srv_config *cfg = n->cfg;
    uint64_t stall = c->last_io_ms + (uint64_t)cfg->read_timeout_ms, whole, head;

    switch (c->state) {
    case NC_HANDSHAKE:
        whole = c->accepted_ms + handshake_budget(n);
        return stall < whole ? stall : whole;
    case NC_READ:
        if (http_rx_idle(&c->rx, &c->in))
            return c->idle_since_ms + (c->n_requests ? (uint64_t)cfg->idle_timeout_ms
                                                     : handshake_budget(n));
        whole = c->req_start_ms + (uint64_t)cfg->request_timeout_ms;
        if (c->rx.state == RX_HEAD) {
            head = c->req_start_ms + (uint64_t)cfg->head_timeout_ms;
            if (head < whole)
                whole = head;
        }
        return stall < whole ? stall : whole;
    case NC_LINGER:
        return c->last_io_ms + NET_LINGER_MS;
    case NC_CONTINUE:
    case NC_WRITE:
    default:
        return stall;
    }
}

/* ---- one request --------------------------------------------------------------------- */

static int slice_is(srv_slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

/* A path of the device protocol, whose errors are MessagePack Error bodies (PROTOCOL.md 1);
 * every other path's are JSON. */
static int device_path(srv_slice path)
{
    return slice_is(path, PROTO_SYNC_PATH) || slice_is(path, PROTO_SCHEMA_PATH);
}

/* The CA's CRL (crl.h): the file ca.crl next to the configured CA certificate, read per
 * request (rare; a new one needs no restart). GS_E_NOTFOUND when there is none. */
static int read_crl(const srv_net *n, gs_buf *out)
{
    char path[SRV_PATH_MAX + 32];
    const char *ca = n->cfg->ca_path, *slash = strrchr(ca, '/');
    int dir_len = slash ? (int)(slash - ca) : 1;
    unsigned char der[CRL_DER_MAX + 1];
    size_t len;
    FILE *f;
    int rc;

    if ((size_t)snprintf(path, sizeof(path), "%.*s/%s", dir_len, slash ? ca : ".",
                         CRL_FILE_NAME) >= sizeof(path))
        return GS_E_TOO_LARGE;
    f = fopen(path, "rb");
    if (!f)
        return GS_E_NOTFOUND;
    len = fread(der, 1, sizeof(der), f);
    rc = ferror(f) ? GS_E_IO : len == 0 ? GS_E_NOTFOUND : len > CRL_DER_MAX ? GS_E_TOO_LARGE : GS_OK;
    fclose(f);
    if (!rc)
        rc = buf_add(out, der, len);
    return rc;
}

/* /v1/health, /metrics and the CA's CRL, answered here so they work whatever state the app
 * is in. */
static int builtin(srv_net *n, const srv_request *req, srv_response *resp)
{
    int is_health = slice_is(req->path, "/v1/health");
    int is_metrics = slice_is(req->path, "/metrics");
    int is_crl = slice_is(req->path, CRL_HTTP_PATH);
    int rc;

    if (!is_health && !is_metrics && !is_crl)
        return 0;
    if (!slice_is(req->method, "GET") && !slice_is(req->method, "HEAD")) {
        http_error_response(resp, 405, "method", "only GET and HEAD are allowed here", 0);
        snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: GET, HEAD\r\n");
        return 1;
    }
    resp->status = 200;
    snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Cache-Control: no-store\r\n");
    if (is_crl) {
        rc = read_crl(n, &resp->body);
        if (rc == GS_E_NOTFOUND) {
            http_error_response(resp, 404, "not_found", "this server has no CRL", 0);
            return 1;
        }
        /* public, signed and changing rarely: caches may keep it for a day */
        snprintf(resp->extra_headers, sizeof(resp->extra_headers),
                 "Cache-Control: public, max-age=86400\r\n");
        resp->content_type = "application/pkix-crl";
        if (rc && rc != GS_E_NOMEM) {
            http_error_response(resp, 500, "server", "the CRL file cannot be read", 0);
            return 1;
        }
    } else if (is_health) {
        resp->content_type = "application/json";
        rc = buf_addf(&resp->body, "{\"status\":\"ok\",\"version\":\"%s\"}\n", GS_VERSION);
    } else {
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        rc = metrics_render(n->m, &resp->body);
    }
    if (rc)
        http_error_response(resp, 500, "server", "out of memory", 0);
    return 1;
}

/* Fills c->resp for the complete request in c->rx, or the refusal in it. */
static void answer(srv_net *n, net_conn *c)
{
    srv_response *resp = &c->resp;
    int head_ok = c->rx.head_len > 0 || c->rx.head.line_ok;
    int sync_path = head_ok && device_path(c->rx.head.path);

    resp->status = 0;
    resp->content_type = NULL;
    resp->content_encoding = NULL;
    buf_reset(&resp->body);
    resp->extra_headers[0] = '\0';
    resp->log_note[0] = '\0';
    c->is_head = head_ok && slice_is(c->rx.head.method, "HEAD");

    if (c->rx.state == RX_ERROR) {
        http_error_response(resp, c->rx.err.status, c->rx.err.code, c->rx.err.msg, sync_path);
        c->close_after = 1;
        return;
    }
    srv_request req;
    http_rx_request(&c->rx, &req, c->peer);
    if (!builtin(n, &req, resp))
        n->handler(n->handler_ud, &req, resp);
    if (resp->status < 100 || resp->status > 599) {
        log_error(n->lg, "%s: handler answered status %d; sending 500", c->peer, resp->status);
        http_error_response(resp, 500, "server", "internal error", sync_path);
    }
    c->close_after = !c->rx.keep_alive || atomic_load(&n->stopping);
}

/* Builds an answer in c->resp to a request refused at its head. */
static void refuse_at_head(net_conn *c, int status, const char *code, const char *msg)
{
    srv_response *resp = &c->resp;
    int sync_path = device_path(c->rx.head.path);
    resp->status = 0;
    resp->content_type = NULL;
    resp->content_encoding = NULL;
    buf_reset(&resp->body);
    resp->extra_headers[0] = '\0';
    resp->log_note[0] = '\0';
    http_error_response(resp, status, code, msg, sync_path);
}

/* The head of a request with a body is in and nothing of the body has been read: the
 * application judges it (a token that does not verify is answered 401 now, not after 8 MiB),
 * the route's limit replaces max_body_bytes, and the body's size is taken from the global
 * budget for bodies in flight. Returns 1 when c->resp holds a refusal to send before
 * closing, 0 to go on reading the body. */
static int head_ready(srv_net *n, net_conn *c)
{
    size_t limit = n->cfg->max_body_bytes, want, before;
    srv_request req;
    const char *path = c->rx.head.path.ptr;
    size_t plen = c->rx.head.path.len;

    c->is_head = 0;
    c->resp.status = 0;
    c->resp.extra_headers[0] = '\0';
    c->resp.log_note[0] = '\0';
    buf_reset(&c->resp.body);
    if ((plen == 10 && memcmp(path, "/v1/health", 10) == 0) ||
        (plen == 8 && memcmp(path, "/metrics", 8) == 0) ||
        (plen == strlen(CRL_HTTP_PATH) && memcmp(path, CRL_HTTP_PATH, plen) == 0)) {
        limit = 0; /* GET-only built-ins */
        http_rx_request(&c->rx, &req, c->peer);
        if (!slice_is(req.method, "GET") && !slice_is(req.method, "HEAD")) {
            builtin(n, &req, &c->resp); /* its 405 with Allow */
            return 1;
        }
    } else if (n->head_check) {
        http_rx_request(&c->rx, &req, c->peer);
        if (n->head_check(n->handler_ud, &req, &c->resp, &limit)) {
            if (c->resp.status < 100 || c->resp.status > 599)
                refuse_at_head(c, 500, "server", "internal error");
            return 1;
        }
    }
    if (http_rx_accept_head(&c->rx, limit) == RX_REFUSE) {
        refuse_at_head(c, c->rx.err.status, c->rx.err.code, c->rx.err.msg);
        return 1;
    }
    want = c->rx.chunked ? limit : (size_t)c->rx.content_length;
    /* a small body (a device's usual batch, a form) is always admitted: its memory is
     * bounded by the connection caps, and a flood of large ones must not stop honest
     * devices from syncing */
    if (want <= NET_SMALL_BODY)
        return 0;
    before = atomic_fetch_add(&n->body_in_flight, want);
    if (before + want > n->cfg->max_body_bytes_in_flight && before > 0) {
        /* over the budget: unless it is the only body (a limit below one body must not
         * refuse everything), the client retries later */
        atomic_fetch_sub(&n->body_in_flight, want);
        atomic_fetch_add(&n->m->bodies_refused, 1);
        refuse_at_head(c, 429, "busy",
                       "the server is receiving too many request bodies at once; retry later");
        snprintf(c->resp.extra_headers, sizeof(c->resp.extra_headers), "Retry-After: 5\r\n");
        return 1;
    }
    c->body_reserved = want;
    return 0;
}

/* Builds the bytes to write for c->resp. */
static void prepare_write(srv_net *n, net_conn *c)
{
    srv_response *resp = &c->resp;
    size_t body_len = resp->body.len;
    int rc;

    buf_reset(&c->out);
    c->out_off = c->body_off = c->bytes_out = 0;
    rc = http_write_head(&c->out, resp->status, resp, body_len, !c->close_after);
    if (rc) {
        log_error(n->lg, "%s: cannot build the response head (%s); sending 500", c->peer,
                  rc == GS_E_INVALID ? "bad extra_headers from the handler" : gs_strerror(rc));
        http_error_response(resp, 500, "server", "internal error", 0);
        resp->extra_headers[0] = '\0';
        buf_reset(&c->out);
        body_len = resp->body.len;
        http_write_head(&c->out, 500, resp, body_len, !c->close_after);
    }
    c->send_body = !c->is_head && body_len > 0;
    if (c->send_body && body_len <= NET_INLINE_BODY &&
        buf_add(&c->out, resp->body.ptr, body_len) == GS_OK)
        c->send_body = 0;
}

/* The request's log line and counters, once its answer is written (or failed). */
static void finish_request(srv_net *n, net_conn *c, const char *failure)
{
    srv_response *resp = &c->resp;
    uint64_t t = now_ms();
    uint64_t start = c->req_start_ms ? c->req_start_ms : t;
    int head_ok = c->rx.head_len > 0 || c->rx.head.line_ok;
    srv_slice method = head_ok ? c->rx.head.method : (srv_slice){"-", 1};
    srv_slice path = head_ok ? c->rx.head.path : (srv_slice){"-", 1};
    int status = resp->status;

    atomic_fetch_add(&n->m->requests, 1);
    if (status >= 400 && status < 500)
        atomic_fetch_add(&n->m->responses_4xx, 1);
    if (status >= 500)
        atomic_fetch_add(&n->m->responses_5xx, 1);
    metrics_observe_latency(n->m, (t - start) * 1000);
    /* the path only: a query string could carry a secret; never headers or bodies */
    log_info(n->lg, "%s %.*s %.*s %d in=%zu out=%zu ms=%llu%s%s%s%s", c->peer, (int)method.len,
             method.ptr, path.len > 200 ? 200 : (int)path.len, path.ptr, status, c->rx.bytes_in,
             c->bytes_out, (unsigned long long)(t - start), resp->log_note[0] ? " " : "",
             resp->log_note, failure ? " " : "", failure ? failure : "");
}

/* Writes out, then the separate body; returns 1 when all is written, 0 to wait, -1 on a
 * dead connection. */
static int write_pending(net_conn *c)
{
    for (;;) {
        const char *p;
        size_t left;
        if (c->out_off < c->out.len) {
            p = c->out.ptr + c->out_off;
            left = c->out.len - c->out_off;
        } else if (c->send_body && c->body_off < c->resp.body.len) {
            p = c->resp.body.ptr + c->body_off;
            left = c->resp.body.len - c->body_off;
        } else {
            return 1;
        }
        long w = tls_conn_write(c->tls, p, left);
        if (w == TLS_WANT_WRITE) {
            c->want = POLLOUT;
            return 0;
        }
        if (w == TLS_WANT_READ) {
            c->want = POLLIN;
            return 0;
        }
        if (w < 0)
            return -1;
        if (c->out_off < c->out.len)
            c->out_off += (size_t)w;
        else
            c->body_off += (size_t)w;
        c->bytes_out += (size_t)w;
        c->last_io_ms = now_ms();
    }
}

/* Advances c as far as possible without waiting (worker thread). */
static conn_action conn_step(srv_net *n, net_conn *c)
{
    for (;;) {
        switch (c->state) {
        case NC_HANDSHAKE: {
            int r = tls_conn_handshake(c->tls);
            if (r == TLS_WANT_READ || r == TLS_WANT_WRITE) {
                /* the stall clock measures the client, not our queue or our ECDHE work */
                c->last_io_ms = now_ms();
                c->want = r == TLS_WANT_READ ? POLLIN : POLLOUT;
                return ACT_WAIT;
            }
            if (r != 0) {
                atomic_fetch_add(&n->m->tls_failures, 1);
                log_info(n->lg, "%s TLS handshake failed: %s", c->peer, tls_conn_error(c->tls));
                return ACT_CLOSE;
            }
            if (n->lg && n->lg->level >= GS_LOG_DEBUG) {
                char what[128];
                tls_conn_describe(c->tls, what, sizeof(what));
                log_debug(n->lg, "%s TLS up: %s", c->peer, what);
            }
            c->state = NC_READ;
            c->idle_since_ms = c->last_io_ms = now_ms();
            continue;
        }
        case NC_READ: {
            http_rx_result res = http_rx_step(&c->rx, &c->in);
            if (res == RX_WANT_READ) {
                size_t room = http_rx_read_room(&c->rx, &c->in);
                long got;
                if (room == 0) {
                    /* http.h promises room until a verdict; never wait on a full buffer */
                    log_error(n->lg, "%s: input buffer full without a verdict", c->peer);
                    return ACT_CLOSE;
                }
                if (room > INT32_MAX)
                    room = INT32_MAX;
                got = tls_conn_read(c->tls, c->in.ptr + c->in.len, room);
                if (got > 0) {
                    if (http_rx_idle(&c->rx, &c->in))
                        c->req_start_ms = now_ms();
                    c->in.len += (size_t)got;
                    c->in.ptr[c->in.len] = '\0';
                    c->last_io_ms = now_ms();
                    continue;
                }
                if (got == TLS_WANT_READ || got == TLS_WANT_WRITE) {
                    c->want = got == TLS_WANT_READ ? POLLIN : POLLOUT;
                    return ACT_WAIT;
                }
                if (!http_rx_idle(&c->rx, &c->in))
                    log_info(n->lg, "%s closed the connection in the middle of a request (%s)",
                             c->peer, tls_conn_error(c->tls));
                return ACT_CLOSE;
            }
            if (res == RX_HEAD_READY) {
                if (head_ready(n, c)) {
                    c->close_after = 1; /* the body stays unread: the connection cannot go on */
                    prepare_write(n, c);
                    c->state = NC_WRITE;
                }
                continue;
            }
            if (res == RX_SEND_CONTINUE) {
                buf_reset(&c->out);
                c->out_off = 0;
                c->send_body = 0;
                if (buf_adds(&c->out, "HTTP/1.1 100 Continue\r\n\r\n") != GS_OK)
                    return ACT_CLOSE;
                c->state = NC_CONTINUE;
                continue;
            }
            answer(n, c);
            prepare_write(n, c);
            c->state = NC_WRITE;
            continue;
        }
        case NC_CONTINUE: {
            int w = write_pending(c);
            if (w == 0)
                return ACT_WAIT;
            if (w < 0)
                return ACT_CLOSE;
            buf_reset(&c->out);
            c->out_off = 0;
            c->state = NC_READ;
            continue;
        }
        case NC_WRITE: {
            int w = write_pending(c);
            if (w == 0)
                return ACT_WAIT;
            finish_request(n, c, w < 0 ? "(client gone before the answer was sent)" : NULL);
            c->n_requests++;
            body_release(n, c);
            buf_free(&c->resp.body);
            if (w < 0)
                return ACT_CLOSE;
            if (c->close_after) {
                tls_conn_close_notify(c->tls);
                shutdown(c->fd, SHUT_WR);
                c->state = NC_LINGER;
                c->last_io_ms = now_ms();
                return ACT_LINGER;
            }
            http_rx_next(&c->rx, &c->in);
            buf_reset(&c->out);
            c->state = NC_READ;
            c->idle_since_ms = c->last_io_ms = now_ms();
            c->req_start_ms = c->in.len ? c->idle_since_ms : 0;
            /* pipelined bytes in our buffer or inside TLS: no readiness event will come */
            if (c->in.len || tls_conn_pending(c->tls))
                return ACT_REQUEUE;
            c->want = POLLIN;
            return ACT_WAIT;
        }
        case NC_LINGER:
        default:
            return ACT_LINGER;
        }
    }
}

/* ---- workers ------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    srv_net *n = arg;
    for (;;) {
        net_conn *c;
        pthread_mutex_lock(&n->lock);
        while (!n->jobs_head && !n->quit)
            pthread_cond_wait(&n->job_cv, &n->lock);
        if (!n->jobs_head) {
            pthread_mutex_unlock(&n->lock);
            break;
        }
        c = n->jobs_head;
        n->jobs_head = c->next;
        if (!n->jobs_head)
            n->jobs_tail = NULL;
        pthread_mutex_unlock(&n->lock);

        c->next = NULL;
        c->action = conn_step(n, c);

        pthread_mutex_lock(&n->lock);
        c->next = n->returned;
        n->returned = c;
        pthread_mutex_unlock(&n->lock);
        wake(n);
    }
    return NULL;
}

/* Poller: hands c to the workers. */
static void enqueue(srv_net *n, net_conn *c)
{
    c->next = NULL;
    n->busy++;
    pthread_mutex_lock(&n->lock);
    if (n->jobs_tail)
        n->jobs_tail->next = c;
    else
        n->jobs_head = c;
    n->jobs_tail = c;
    pthread_cond_signal(&n->job_cv);
    pthread_mutex_unlock(&n->lock);
}

/* ---- poller -------------------------------------------------------------------------- */

static void watch_add(srv_net *n, net_conn *c)
{
    c->deadline_ms = conn_deadline(n, c);
    n->watch[n->n_watch++] = c; /* cannot overflow: open <= max_connections */
}

static void watch_remove(srv_net *n, size_t i)
{
    n->watch[i] = n->watch[--n->n_watch];
}

/* True if a connection can be dropped at once on shutdown: nothing of a request is in. */
static int conn_idle(const net_conn *c)
{
    return c->state == NC_HANDSHAKE || (c->state == NC_READ && http_rx_idle(&c->rx, &c->in));
}

static void collect_returned(srv_net *n)
{
    net_conn *list;
    pthread_mutex_lock(&n->lock);
    list = n->returned;
    n->returned = NULL;
    pthread_mutex_unlock(&n->lock);
    while (list) {
        net_conn *c = list;
        list = c->next;
        c->next = NULL;
        n->busy--;
        switch (c->action) {
        case ACT_WAIT:
            if (atomic_load(&n->stopping) && conn_idle(c))
                conn_close(n, c);
            else
                watch_add(n, c);
            break;
        case ACT_REQUEUE:
            enqueue(n, c);
            break;
        case ACT_LINGER:
            c->want = POLLIN;
            watch_add(n, c);
            break;
        case ACT_CLOSE:
        default:
            conn_close(n, c);
            break;
        }
    }
}

/* At a cap: closes the connection, among those waiting in the watch list from key (all of
 * them when key is NULL), that has moved no bytes for longest without a request in progress.
 * Returns 0 when there is none: every slot is doing real work, and the newcomer is the one
 * refused. Taking back an idle slot instead of refusing is what keeps a flood of silent
 * connections from locking honest devices out: the flood can only displace itself. */
static int evict_oldest(srv_net *n, const peer_key *key)
{
    size_t best = SIZE_MAX;
    uint64_t best_since = UINT64_MAX, t;

    for (size_t i = 0; i < n->n_watch; i++) {
        const net_conn *c = n->watch[i];
        uint64_t since;
        if (!conn_evictable(c) || (key && !peers_same(&c->addr, key)))
            continue;
        /* the least recently active goes first: a device in the middle of its handshake
         * or between the requests of a sync moved bytes a moment ago, a silent or
         * byte-a-second holder did not (a slow handshake on a loaded server must not be
         * what a flood displaces) */
        since = c->last_io_ms;
        if (since < best_since) {
            best_since = since;
            best = i;
        }
    }
    if (best == SIZE_MAX)
        return 0;
    net_conn *c = n->watch[best];
    watch_remove(n, best);
    atomic_fetch_add(&n->m->connections_evicted, 1);
    t = now_ms();
    if (t - n->last_evict_log >= 1000) {
        log_info(n->lg, "%s: closed to make room at a connection cap (further evictions "
                 "this second not logged)", c->peer);
        n->last_evict_log = t;
    }
    conn_close(n, c);
    return 1;
}

static void accept_all(srv_net *n)
{
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(n->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_warn(n->lg, "accept: %s; pausing new connections for 100 ms", strerror(errno));
                n->accept_pause_until = now_ms() + 100;
            }
            return; /* EAGAIN, or a connection that died before we took it */
        }
        peer_key key = peers_key(&ss);
        const char *refused = NULL;
        if (peers_count(&n->peers, &key) >= n->cfg->max_connections_per_address &&
            !evict_oldest(n, &key))
            refused = "max_connections_per_address";
        else if (n->open >= n->cfg->max_connections && !evict_oldest(n, NULL))
            refused = "max_connections";
        if (refused) {
            uint64_t t = now_ms();
            char who[96];
            format_peer(&ss, sl, who, sizeof(who));
            close(fd);
            atomic_fetch_add(&n->m->connections_refused, 1);
            if (t - n->last_refuse_log >= 1000) {
                int cap = strcmp(refused, "max_connections") == 0
                              ? n->cfg->max_connections
                              : n->cfg->max_connections_per_address;
                log_warn(n->lg, "%s: connection cap (%s = %d) reached with every connection "
                         "busy; refusing (further refusals this second not logged)", who, refused,
                         cap);
                n->last_refuse_log = t;
            }
            continue;
        }
        net_conn *c = conn_new(n, fd, &ss, sl);
        if (c)
            watch_add(n, c);
    }
}

/* A lingering connection is readable: discard what the client still sends. */
static int linger_drain(net_conn *c)
{
    char scratch[16384];
    for (;;) {
        ssize_t r = recv(c->fd, scratch, sizeof(scratch), 0);
        if (r > 0) {
            c->linger_bytes += (size_t)r;
            if (c->linger_bytes > NET_LINGER_BYTES)
                return -1;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1; /* EOF or error: done */
    }
}

static void begin_stop(srv_net *n)
{
    atomic_store(&n->stopping, 1);
    if (n->listen_fd >= 0) {
        close(n->listen_fd);
        n->listen_fd = -1;
    }
    for (size_t i = n->n_watch; i-- > 0;) {
        net_conn *c = n->watch[i];
        if (conn_idle(c)) {
            watch_remove(n, i);
            conn_close(n, c);
        }
    }
    log_info(n->lg, "stopping: %d connection(s) still busy, waiting up to %d ms", n->open,
             n->cfg->shutdown_timeout_ms);
}

static void expire(srv_net *n, uint64_t t)
{
    for (size_t i = n->n_watch; i-- > 0;) {
        net_conn *c = n->watch[i];
        if (t < c->deadline_ms)
            continue;
        watch_remove(n, i);
        if (c->state == NC_READ && http_rx_idle(&c->rx, &c->in)) {
            log_debug(n->lg, "%s idle for %d ms; closing", c->peer, n->cfg->idle_timeout_ms);
        } else if (c->state != NC_LINGER) {
            static const char *const what[] = {"TLS handshake", "request", "100 Continue",
                                               "response"};
            atomic_fetch_add(&n->m->timeouts, 1);
            log_info(n->lg, "%s %s timed out (%s); closing", c->peer, what[c->state],
                     c->state == NC_HANDSHAKE || c->state == NC_READ ? "client too slow or silent"
                                                                     : "client not reading");
        }
        conn_close(n, c);
    }
}

int net_run(srv_net *n, gs_err *err)
{
    int rc = GS_OK;
    uint64_t drain_deadline = 0;

    for (int i = 0; i < n->cfg->workers; i++) {
        if (pthread_create(&n->threads[i], NULL, worker_main, n) != 0) {
            rc = gs_err_set(err, GS_E_IO, "cannot start worker thread %d", i);
            break;
        }
        n->n_threads++;
    }
    if (!rc) {
        char host[256];
        int v6, port;
        if (config_split_listen(n->cfg->listen, host, sizeof(host), &port) != GS_OK)
            snprintf(host, sizeof(host), "?");
        v6 = strchr(host, ':') != NULL;
        log_info(n->lg, "listening on %s%s%s:%d, %d workers", v6 ? "[" : "", host, v6 ? "]" : "",
                 n->port, n->n_threads);
    }

    while (!rc) {
        uint64_t t, next;
        size_t base = 0, n_pfd;
        int timeout, r, listen_slot = -1, stop_slot = -1;

        collect_returned(n);
        t = now_ms();
        if (!atomic_load(&n->stopping) && atomic_load(&n->stop_requested)) {
            begin_stop(n);
            drain_deadline = t + (uint64_t)n->cfg->shutdown_timeout_ms;
        }
        expire(n, t);
        if (atomic_load(&n->stopping)) {
            if (t >= drain_deadline && n->n_watch) {
                log_warn(n->lg, "shutdown timeout: closing %zu unfinished connection(s)",
                         n->n_watch);
                while (n->n_watch) {
                    net_conn *c = n->watch[n->n_watch - 1];
                    watch_remove(n, n->n_watch - 1);
                    conn_close(n, c);
                }
            }
            if (n->n_watch == 0 && n->busy == 0)
                break;
        }

        n->pfds[base++] = (struct pollfd){.fd = n->wake_fd, .events = POLLIN};
        if (n->stop_fd >= 0 && !atomic_load(&n->stopping)) {
            stop_slot = (int)base;
            n->pfds[base++] = (struct pollfd){.fd = n->stop_fd, .events = POLLIN};
        }
        if (n->listen_fd >= 0 && t >= n->accept_pause_until) {
            listen_slot = (int)base;
            n->pfds[base++] = (struct pollfd){.fd = n->listen_fd, .events = POLLIN};
        }
        next = t + 1000;
        if (n->accept_pause_until > t && n->accept_pause_until < next)
            next = n->accept_pause_until;
        if (atomic_load(&n->stopping) && drain_deadline < next)
            next = drain_deadline;
        for (size_t i = 0; i < n->n_watch; i++) {
            net_conn *c = n->watch[i];
            n->pfds[base + i] = (struct pollfd){.fd = c->fd, .events = c->want};
            if (c->deadline_ms < next)
                next = c->deadline_ms;
        }
        n_pfd = base + n->n_watch;
        timeout = next > t ? (int)(next - t) : 0;

        r = poll(n->pfds, (nfds_t)n_pfd, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = gs_err_set(err, GS_E_IO, "poll: %s", strerror(errno));
            break;
        }
        if (n->pfds[0].revents) {
            uint64_t v;
            ssize_t got = read(n->wake_fd, &v, sizeof(v));
            (void)got;
        }
        if (stop_slot >= 0 && n->pfds[stop_slot].revents) {
            /* the owner of stop_fd (main's signalfd) reads it; we only react */
            atomic_store(&n->stop_requested, 1);
        }
        /* connections first (watch indices must match pfds), then new ones */
        for (size_t i = n->n_watch; i-- > 0;) {
            net_conn *c = n->watch[i];
            short ev = n->pfds[base + i].revents;
            if (!ev)
                continue;
            watch_remove(n, i);
            if (c->state == NC_LINGER) {
                if (linger_drain(c) == 0) {
                    watch_add(n, c);
                    c->deadline_ms = c->last_io_ms + NET_LINGER_MS;
                } else {
                    conn_free(n, c);
                }
                continue;
            }
            enqueue(n, c);
        }
        if (listen_slot >= 0 && n->pfds[listen_slot].revents && !atomic_load(&n->stop_requested))
            accept_all(n);
    }

    /* every connection is closed or errored; let the workers go */
    pthread_mutex_lock(&n->lock);
    n->quit = 1;
    pthread_cond_broadcast(&n->job_cv);
    pthread_mutex_unlock(&n->lock);
    for (int i = 0; i < n->n_threads; i++)
        pthread_join(n->threads[i], NULL);
    n->n_threads = 0;
    /* after a poll failure, connections may still have come back from the workers */
    pthread_mutex_lock(&n->lock);
    net_conn *left = n->returned;
    n->returned = NULL;
    pthread_mutex_unlock(&n->lock);
    while (left) {
        net_conn *c = left;
        left = c->next;
        n->busy--;
        conn_close(n, c);
    }
    while (n->n_watch) {
        net_conn *c = n->watch[n->n_watch - 1];
        watch_remove(n, n->n_watch - 1);
        conn_close(n, c);
    }
    if (!rc)
        log_info(n->lg, "stopped");
    return rc;
}

void net_free(srv_net *n)
{
    if (!n)
        return;
    if (n->listen_fd >= 0)
        close(n->listen_fd);
    if (n->wake_fd >= 0)
        close(n->wake_fd);
    pthread_mutex_destroy(&n->lock);
    pthread_cond_destroy(&n->job_cv);
    gs_free(n->watch);
    gs_free(n->pfds);
    gs_free(n->threads);
    peers_free(&n->peers);
    gs_free(n);
}
