/*
 * http.h: HTTP/1.1 request framing for gridsyncd, with no sockets and no TLS in it, so every
 * line can be unit-tested and fuzzed.
 *
 * Three layers, each working on slices of the caller's buffer, in the picohttpparser manner:
 *  - http_parse_head: the request line and header fields. Allocates nothing; returns the
 *    head length when complete, HTTP_NEED_MORE while every byte so far could still begin a
 *    valid head, HTTP_BAD with a status and reason otherwise.
 *  - http_chunked_*: an incremental de-chunker (RFC 9112 section 7.1).
 *  - http_rx_*: one connection's request assembly: head, then a Content-Length or chunked
 *    body capped at max_body (413 as soon as the cap is known to be passed, before the body
 *    is read), the Expect: 100-continue handshake, keep-alive and pipelined bytes.
 * And the response side: http_write_head and the small error bodies of the network layer.
 *
 * Request assembly state machine (http_rx_step):
 *
 *   RX_HEAD --head complete, no body--------------------------------> RX_DONE
 *      |  \--head complete, body announced--> RX_BODY --body done---> RX_DONE
 *      |                                         |                       |
 *      +--bad bytes, limits------> RX_ERROR <-----+ bad chunk, over cap  | http_rx_next:
 *                                                                        v pipelined bytes
 *                                                                     RX_HEAD  kept
 * Invariant kept for the caller: while a request is being assembled, bytes [0, head_len) of
 * the input buffer hold its head unchanged; body framing bytes after it are consumed and
 * removed, so the room to read into (http_rx_read_room) never runs out before a verdict.
 * The input buffer must never move (reserve it to its cap before the first read): the parsed
 * head points into it.
 */
#ifndef GS_SERVER_HTTP_H
#define GS_SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "app.h"

#define HTTP_MAX_HEADERS 64        /* header fields in one request; more is 431 */
#define HTTP_MAX_REQUEST_LINE 8192 /* bytes of the request line; more is 414 */
#define HTTP_MAX_METHOD 20         /* bytes of a method name */
#define HTTP_MAX_CHUNK_LINE 1024   /* bytes of a chunk-size line with its extensions */
#define HTTP_MAX_TRAILER 4096      /* bytes of the trailer section of a chunked body */
#define HTTP_IO_ROOM 16384         /* input room beyond the head limit: one TLS record */

#define HTTP_NEED_MORE (-2)
#define HTTP_BAD (-1)

/* Why a request is refused, for the status line and the error body. */
typedef struct http_error {
    int status;       /* 400, 411, 413, 414, 417, 431, 501, 505 */
    const char *code; /* stable lower-case code for the error body ("malformed") */
    const char *msg;  /* static English sentence naming the problem */
} http_error;

typedef struct http_header {
    srv_slice name;  /* as sent; compare case-insensitively */
    srv_slice value; /* without surrounding blanks */
} http_header;

typedef struct http_head {
    srv_slice method;                      /* token, e.g. "GET" */
    srv_slice target;                      /* the whole request target, path and query */
    srv_slice path;                        /* target up to '?' */
    srv_slice query;                       /* after '?', without it; len 0 when none */
    int minor_version;                     /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    int line_ok;                           /* 1 once the request line parsed: method and
                                              path are set even if a header is bad */
    http_header headers[HTTP_MAX_HEADERS]; /* in the order received */
    size_t n_headers;                      /* entries used in headers */
} http_head;

/* Returns the head length (> 0) when buf[0..len) starts with a complete request head, or
 * HTTP_NEED_MORE, or HTTP_BAD with *e set. A head longer than max_head is a 431 even when
 * incomplete, so a caller may call this with up to max_head bytes and trust NEED_MORE. */
long http_parse_head(const char *buf, size_t len, size_t max_head, http_head *out, http_error *e);

/* Incremental chunked decoder state. */
typedef struct http_chunked {
    int state;          /* position in the chunk grammar (private) */
    uint64_t remaining; /* data bytes left in the current chunk, or the size being read */
    size_t line_len;    /* bytes of the current size line or trailer line so far */
    size_t trailer_len; /* bytes of trailer fields so far */
    int n_digits;       /* hex digits of the current size */
} http_chunked;

void http_chunked_init(http_chunked *d);

/* Decodes in[0..len) into body (whose cap is the body limit: passing it is a 413). Returns
 * 1 when the last chunk and trailer ended, *consumed then saying where; 0 when all of in was
 * consumed and more is needed; HTTP_BAD with *e set on bad framing or over the cap. */
int http_chunked_feed(http_chunked *d, const char *in, size_t len, size_t *consumed, gs_buf *body,
                      http_error *e);

typedef enum http_rx_state {
    RX_HEAD = 0,  /* reading the head */
    RX_BODY = 1,  /* reading a Content-Length or chunked body */
    RX_DONE = 2,  /* a complete request is available */
    RX_ERROR = 3, /* the request is refused: answer rx.err and close */
} http_rx_state;

/* What http_rx_step asks of the caller. */
typedef enum http_rx_result {
    RX_WANT_READ = 0,     /* read more bytes into the input buffer and step again */
    RX_SEND_CONTINUE = 1, /* write "HTTP/1.1 100 Continue", then read and step again */
    RX_REQUEST = 2,       /* rx.state is RX_DONE: answer the request, then http_rx_next */
    RX_REFUSE = 3,        /* rx.state is RX_ERROR: answer rx.err, then close */
    RX_HEAD_READY = 4,    /* (pause_at_head only) the head of a request with a body is in,
                             nothing of the body read or promised: decide with
                             http_rx_accept_head, or answer a refusal and close */
} http_rx_result;

typedef struct http_rx {
    http_rx_state state;        /* see the diagram above */
    size_t max_head;            /* head limit (max_header_bytes) */
    http_head head;             /* the parsed head, valid from RX_BODY on */
    size_t head_len;            /* bytes of the head in the input buffer */
    size_t scanned;             /* input bytes already looked at for a complete head */
    size_t parsed;              /* input bytes seen by the last full parse of the head */
    uint64_t content_length;    /* announced body size (Content-Length) */
    int chunked;                /* 1: Transfer-Encoding: chunked */
    int keep_alive;             /* 1: the connection may serve another request after this */
    int expect_continue;        /* 1: the client waits for 100 Continue before the body */
    int continue_sent;          /* 1: RX_SEND_CONTINUE was returned for this request */
    int pause_at_head;          /* 1: stop at RX_HEAD_READY before any body (kept by
                                   http_rx_next) */
    int head_pending;           /* 1: RX_HEAD_READY returned, http_rx_accept_head not yet */
    int continue_decided;       /* 1: whether to send 100 Continue is settled */
    size_t max_body;            /* the body limit given to http_rx_init */
    http_chunked chunk;         /* de-chunker state */
    gs_buf body;                /* the body, de-chunked; its cap is max_body */
    size_t bytes_in;            /* raw request bytes consumed, for the log line */
    http_error err;             /* why, in RX_ERROR */
    srv_slice content_type;     /* Content-Type value */
    srv_slice content_encoding; /* Content-Encoding value */
    srv_slice accept_encoding;  /* Accept-Encoding value */
    srv_slice authorization;    /* Authorization value: never log it */
    srv_slice cookie;           /* Cookie value: never log it */
    srv_slice origin;           /* Origin value */
} http_rx;

/* Cannot fail; allocates nothing until a body arrives. */
void http_rx_init(http_rx *rx, size_t max_head, size_t max_body);
void http_rx_free(http_rx *rx);

/* After RX_HEAD_READY: the request may send a body of at most max_body bytes (at most the
 * limit given to http_rx_init). RX_WANT_READ: step on (100 Continue comes only now);
 * RX_REFUSE: a declared Content-Length is over it (413, rx.err set). */
http_rx_result http_rx_accept_head(http_rx *rx, size_t max_body);

/* Advances over the bytes in `in` (see http_rx_result). Never fails otherwise. */
http_rx_result http_rx_step(http_rx *rx, gs_buf *in);

/* How many bytes the caller may append to `in` now (0 once a verdict is reached). */
size_t http_rx_read_room(const http_rx *rx, const gs_buf *in);

/* After RX_REQUEST was answered: drops the request's bytes from in (pipelined bytes stay)
 * and starts over at RX_HEAD. */
void http_rx_next(http_rx *rx, gs_buf *in);

/* 1 when no byte of a next request has arrived (in is empty): the connection is idle. */
int http_rx_idle(const http_rx *rx, const gs_buf *in);

/* Fills req from an RX_DONE rx; the slices stay valid until http_rx_next. */
void http_rx_request(const http_rx *rx, srv_request *req, const char *peer);

/* The reason phrase of a status ("Not Found"); "Unknown" for codes we never send. */
const char *http_reason(int status);

/* Appends the status line and headers of a response with body_len body bytes: Date,
 * Content-Type (when there is a body), Content-Length, Content-Encoding, Connection,
 * Strict-Transport-Security and X-Content-Type-Options: nosniff (unless extra_headers has
 * its own), resp->extra_headers, the blank line. GS_E_INVALID when extra_headers is not a sequence
 * of "Name: value\r\n" lines. */
int http_write_head(gs_buf *out, int status, const srv_response *resp, size_t body_len,
                    int keep_alive);

/* Replaces resp's status, type and body with an error answer: a MessagePack Error
 * {err, msg} (PROTOCOL.md 2.6, written by proto_encode_error) when msgpack is 1, else JSON
 * {"err": ..., "msg": ...}. */
int http_error_response(srv_response *resp, int status, const char *code, const char *msg,
                        int msgpack);

/* 1 if the slice equals the NUL-terminated s ignoring ASCII case. */
int http_slice_ieq(srv_slice a, const char *s);

#endif
