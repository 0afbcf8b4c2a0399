/*
 * http.c: request parsing and assembly, response heads and error bodies (see http.h).
 *
 * Strictness, chosen because gridsyncd talks to libcurl and browsers and sits behind no
 * proxy: lines end in CRLF only; no obsolete line folding; a field name is a token followed
 * directly by ':'; request targets are visible ASCII in origin form ("/..."); only HTTP/1.0
 * and HTTP/1.1; Content-Length with Transfer-Encoding, differing Content-Lengths, or a
 * transfer coding other than "chunked" are refused, so no two readers of one byte stream
 * could disagree on where a request ends (request smuggling).
 */
#define _GNU_SOURCE /* strcasestr */
#include "http.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/hex.h"
#include "common/rc.h"
#include "proto/proto.h"

/* RFC 9110 tchar: the characters of a token. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static long bad(http_error *e, int status, const char *code, const char *msg)
{
    e->status = status;
    e->code = code;
    e->msg = msg;
    return HTTP_BAD;
}

/* NEED_MORE, unless the head is already longer than allowed. */
static long need_more(size_t i, size_t max_head, http_error *e)
{
    if (i >= max_head)
        return bad(e, 431, "header_too_large", "request head over max_header_bytes");
    return HTTP_NEED_MORE;
}

long http_parse_head(const char *buf, size_t len, size_t max_head, http_head *h, http_error *e)
{
    const unsigned char *p = (const unsigned char *)buf;
    static const char version[] = "HTTP/1.";
    size_t i = 0, start, line_start;

    h->n_headers = 0;
    h->line_ok = 0;
    /* RFC 9112 2.2: a server SHOULD ignore empty lines before the request line */
    while (i < len && p[i] == '\r') {
        if (i + 1 == len)
            return need_more(i, max_head, e);
        if (p[i + 1] != '\n')
            return bad(e, 400, "malformed", "bare CR before the request line");
        i += 2;
        if (i > 64)
            return bad(e, 400, "malformed", "too many empty lines before the request line");
    }
    line_start = i;

    /* method SP */
    start = i;
    while (i < len && is_tchar(p[i]) && i - start <= HTTP_MAX_METHOD)
        i++;
    if (i - start > HTTP_MAX_METHOD)
        return bad(e, 501, "method", "method name too long");
    if (i == len)
        return need_more(i, max_head, e);
    if (p[i] != ' ' || i == start)
        return bad(e, 400, "malformed", "malformed request line: expected METHOD SP TARGET");
    h->method.ptr = buf + start;
    h->method.len = i - start;
    i++;

    /* request-target SP */
    start = i;
    while (i < len && p[i] > 0x20 && p[i] < 0x7f && i - line_start <= HTTP_MAX_REQUEST_LINE)
        i++;
    if (i - line_start > HTTP_MAX_REQUEST_LINE)
        return bad(e, 414, "uri_too_long", "request line too long");
    if (i == len)
        return need_more(i, max_head, e);
    if (p[i] != ' ' || i == start)
        return bad(e, 400, "malformed", "malformed request target");
    if (p[start] != '/')
        return bad(e, 400, "malformed", "request target must be a path starting with /");
    h->target.ptr = buf + start;
    h->target.len = i - start;
    h->path = h->target;
    h->query.ptr = NULL;
    h->query.len = 0;
    {
        const char *q = memchr(h->target.ptr, '?', h->target.len);
        if (q) {
            h->path.len = (size_t)(q - h->target.ptr);
            h->query.ptr = q + 1;
            h->query.len = h->target.len - h->path.len - 1;
        }
    }
    i++;

    /* HTTP-version CRLF */
    for (size_t k = 0; k < sizeof(version) - 1; k++, i++) {
        if (i == len)
            return need_more(i, max_head, e);
        if (p[i] != (unsigned char)version[k])
            return k >= 5 ? bad(e, 505, "http_version", "only HTTP/1.0 and HTTP/1.1 are served")
                          : bad(e, 400, "malformed", "malformed HTTP version");
    }
    if (i == len)
        return need_more(i, max_head, e);
    if (p[i] != '0' && p[i] != '1')
        return bad(e, 505, "http_version", "only HTTP/1.0 and HTTP/1.1 are served");
    h->minor_version = p[i] - '0';
    i++;
    if (i == len)
        return need_more(i, max_head, e);
    if (p[i] != '\r')
        return bad(e, 400, "malformed", "malformed HTTP version");
    i++;
    if (i == len)
        return need_more(i, max_head, e);
    if (p[i] != '\n')
        return bad(e, 400, "malformed", "request line must end in CRLF");
    i++;
    if (i - line_start > HTTP_MAX_REQUEST_LINE + 2)
        return bad(e, 414, "uri_too_long", "request line too long");
    h->line_ok = 1;

    /* header fields, then an empty line */
    for (;;) {
        http_header *f;
        size_t vend;

        if (i >= max_head)
            return bad(e, 431, "header_too_large", "request head over max_header_bytes");
        if (i == len)
            return HTTP_NEED_MORE;
        if (p[i] == '\r') {
            if (i + 1 == len)
                return need_more(i + 1, max_head, e);
            if (p[i + 1] != '\n')
                return bad(e, 400, "malformed", "header section must end in CRLF CRLF");
            i += 2;
            if (i > max_head)
                return bad(e, 431, "header_too_large", "request head over max_header_bytes");
            return (long)i;
        }
        if (p[i] == ' ' || p[i] == '\t')
            return bad(e, 400, "malformed", "obsolete header line folding");
        if (h->n_headers == HTTP_MAX_HEADERS)
            return bad(e, 431, "header_too_large", "too many header fields");
        f = &h->headers[h->n_headers];
        start = i;
        while (i < len && is_tchar(p[i]))
            i++;
        if (i == len)
            return need_more(i, max_head, e);
        if (p[i] != ':' || i == start)
            return bad(e, 400, "malformed", "malformed header field name");
        f->name.ptr = buf + start;
        f->name.len = i - start;
        i++;
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        start = i;
        while (i < len && (p[i] == '\t' || (p[i] >= 0x20 && p[i] != 0x7f)))
            i++;
        if (i == len)
            return need_more(i, max_head, e);
        if (p[i] != '\r')
            return bad(e, 400, "malformed", "invalid character in a header field value");
        vend = i;
        while (vend > start && (p[vend - 1] == ' ' || p[vend - 1] == '\t'))
            vend--;
        f->value.ptr = buf + start;
        f->value.len = vend - start;
        i++;
        if (i == len)
            return need_more(i, max_head, e);
        if (p[i] != '\n')
            return bad(e, 400, "malformed", "header field must end in CRLF");
        i++;
        h->n_headers++;
    }
}

/* ---- chunked bodies ------------------------------------------------------------------ */

enum {
    CH_SIZE = 0,    /* hex digits of a chunk size */
    CH_SIZE_WS,     /* blanks after the size, before ';' or CR */
    CH_EXT,         /* chunk extensions, ignored, until CR */
    CH_SIZE_LF,     /* LF ending the size line */
    CH_DATA,        /* chunk data */
    CH_DATA_CR,     /* CR after chunk data */
    CH_DATA_LF,     /* LF after chunk data */
    CH_TRAILER_BOL, /* start of a trailer line, or the final CRLF */
    CH_TRAILER,     /* inside a trailer field line */
    CH_TRAILER_LF,  /* LF ending a trailer field line */
    CH_END_LF,      /* LF of the final CRLF */
    CH_DONE,        /* the body ended */
};

void http_chunked_init(http_chunked *d)
{
    memset(d, 0, sizeof(*d));
    d->state = CH_SIZE;
}

static int chunk_bad(http_error *e, const char *msg)
{
    bad(e, 400, "malformed", msg);
    return HTTP_BAD;
}

int http_chunked_feed(http_chunked *d, const char *in, size_t len, size_t *consumed, gs_buf *body,
                      http_error *e)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0;

    while (i < len && d->state != CH_DONE) {
        unsigned char c = p[i];
        int v;

        switch (d->state) {
        case CH_SIZE:
            v = hex_digit(c);
            if (v >= 0) {
                if (d->n_digits >= 16)
                    return chunk_bad(e, "chunk size too large");
                d->remaining = d->remaining * 16 + (uint64_t)v;
                d->n_digits++;
                break;
            }
            if (d->n_digits == 0)
                return chunk_bad(e, "malformed chunk size");
            if (c == ' ' || c == '\t')
                d->state = CH_SIZE_WS;
            else if (c == ';')
                d->state = CH_EXT;
            else if (c == '\r')
                d->state = CH_SIZE_LF;
            else
                return chunk_bad(e, "malformed chunk size");
            break;
        case CH_SIZE_WS:
            if (c == ';')
                d->state = CH_EXT;
            else if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c != ' ' && c != '\t')
                return chunk_bad(e, "malformed chunk size line");
            break;
        case CH_EXT:
            if (c == '\r')
                d->state = CH_SIZE_LF;
            else if (c != '\t' && (c < 0x20 || c == 0x7f))
                return chunk_bad(e, "invalid character in a chunk extension");
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return chunk_bad(e, "chunk size line must end in CRLF");
            d->line_len = 0;
            d->n_digits = 0;
            /* a chunk announced past the cap is refused before its data arrives */
            if (d->remaining > body->max - body->len) {
                bad(e, 413, "too_large", "request body over max_body_bytes");
                return HTTP_BAD;
            }
            d->state = d->remaining ? CH_DATA : CH_TRAILER_BOL;
            i++;
            continue;
        case CH_DATA: {
            size_t take = len - i;
            if ((uint64_t)take > d->remaining)
                take = (size_t)d->remaining;
            int rc = buf_add(body, in + i, take);
            if (rc == GS_E_TOO_LARGE) {
                bad(e, 413, "too_large", "request body over max_body_bytes");
                return HTTP_BAD;
            }
            if (rc) {
                bad(e, 500, "server", "out of memory reading the request body");
                return HTTP_BAD;
            }
            d->remaining -= take;
            i += take;
            if (d->remaining == 0)
                d->state = CH_DATA_CR;
            continue;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return chunk_bad(e, "chunk data longer than its size");
            d->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return chunk_bad(e, "chunk data must end in CRLF");
            d->state = CH_SIZE;
            d->remaining = 0;
            d->line_len = 0;
            i++;
            continue;
        case CH_TRAILER_BOL:
            if (c == '\r') {
                d->state = CH_END_LF;
                break;
            }
            d->state = CH_TRAILER;
            continue; /* the byte is part of the field line */
        case CH_TRAILER:
            if (++d->trailer_len > HTTP_MAX_TRAILER)
                return chunk_bad(e, "chunked trailer too long");
            if (c == '\r')
                d->state = CH_TRAILER_LF;
            else if (c != '\t' && (c < 0x20 || c == 0x7f))
                return chunk_bad(e, "invalid character in a chunked trailer");
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return chunk_bad(e, "trailer line must end in CRLF");
            d->state = CH_TRAILER_BOL;
            break;
        case CH_END_LF:
            if (c != '\n')
                return chunk_bad(e, "chunked body must end in CRLF");
            d->state = CH_DONE;
            break;
        default:
            return chunk_bad(e, "chunk decoder in a bad state");
        }
        /* every byte handled by a break above belongs to a size or trailer line */
        if (d->state <= CH_SIZE_LF && ++d->line_len > HTTP_MAX_CHUNK_LINE)
            return chunk_bad(e, "chunk size line too long");
        i++;
    }
    *consumed = i;
    return d->state == CH_DONE ? 1 : 0;
}

/* ---- request assembly ---------------------------------------------------------------- */

int http_slice_ieq(srv_slice a, const char *s)
{
    size_t n = strlen(s);
    if (a.len != n || (n && !a.ptr))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a.ptr[i], y = (unsigned char)s[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

void http_rx_init(http_rx *rx, size_t max_head, size_t max_body)
{
    memset(rx, 0, sizeof(*rx));
    rx->state = RX_HEAD;
    rx->max_head = max_head;
    rx->max_body = max_body;
    buf_init(&rx->body, max_body);
    http_chunked_init(&rx->chunk);
}

void http_rx_free(http_rx *rx)
{
    buf_free(&rx->body);
}

static http_rx_result refuse(http_rx *rx, int status, const char *code, const char *msg)
{
    bad(&rx->err, status, code, msg);
    rx->state = RX_ERROR;
    rx->keep_alive = 0;
    return RX_REFUSE;
}

/* Parses a Content-Length value: 1 to 19 digits, nothing else. */
static int parse_length(srv_slice v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.len == 0 || v.len > 19)
        return -1;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = n;
    return 0;
}

/* Walks the comma-separated tokens of a Connection value. */
static void connection_tokens(srv_slice v, int *close, int *keep)
{
    size_t i = 0;
    while (i < v.len) {
        size_t s, e;
        while (i < v.len && (v.ptr[i] == ' ' || v.ptr[i] == '\t' || v.ptr[i] == ','))
            i++;
        s = i;
        while (i < v.len && v.ptr[i] != ',')
            i++;
        e = i;
        while (e > s && (v.ptr[e - 1] == ' ' || v.ptr[e - 1] == '\t'))
            e--;
        srv_slice t = {v.ptr + s, e - s};
        if (http_slice_ieq(t, "close"))
            *close = 1;
        else if (http_slice_ieq(t, "keep-alive"))
            *keep = 1;
    }
}

/* Sets *dst to v, refusing a second copy of a header that must appear once. */
static int take_once(srv_slice *dst, srv_slice v)
{
    if (dst->ptr)
        return -1;
    dst->ptr = v.ptr ? v.ptr : "";
    dst->len = v.len;
    return 0;
}

/* Reads the framing and the headers the application sees from a complete head. */
static http_rx_result interpret_head(http_rx *rx)
{
    const http_head *h = &rx->head;
    int have_length = 0, have_te = 0, close = 0, keep = 0, n_host = 0;
    uint64_t length = 0;

    for (size_t i = 0; i < h->n_headers; i++) {
        srv_slice n = h->headers[i].name, v = h->headers[i].value;
        if (http_slice_ieq(n, "content-length")) {
            uint64_t l;
            if (parse_length(v, &l))
                return refuse(rx, 400, "malformed", "malformed Content-Length");
            if (have_length && l != length)
                return refuse(rx, 400, "malformed", "conflicting Content-Length headers");
            have_length = 1;
            length = l;
        } else if (http_slice_ieq(n, "transfer-encoding")) {
            if (have_te)
                return refuse(rx, 400, "malformed", "more than one Transfer-Encoding header");
            if (!http_slice_ieq(v, "chunked"))
                return refuse(rx, 501, "not_implemented",
                              "only Transfer-Encoding: chunked is supported");
            have_te = 1;
        } else if (http_slice_ieq(n, "connection")) {
            connection_tokens(v, &close, &keep);
        } else if (http_slice_ieq(n, "expect")) {
            if (!http_slice_ieq(v, "100-continue"))
                return refuse(rx, 417, "expectation", "only Expect: 100-continue is supported");
            rx->expect_continue = 1;
        } else if (http_slice_ieq(n, "host")) {
            n_host++;
        } else if (http_slice_ieq(n, "content-type")) {
            if (take_once(&rx->content_type, v))
                return refuse(rx, 400, "malformed", "more than one Content-Type header");
        } else if (http_slice_ieq(n, "content-encoding")) {
            if (take_once(&rx->content_encoding, v))
                return refuse(rx, 400, "malformed", "more than one Content-Encoding header");
        } else if (http_slice_ieq(n, "accept-encoding")) {
            if (!rx->accept_encoding.ptr)
                take_once(&rx->accept_encoding, v);
        } else if (http_slice_ieq(n, "authorization")) {
            if (take_once(&rx->authorization, v))
                return refuse(rx, 400, "malformed", "more than one Authorization header");
        } else if (http_slice_ieq(n, "cookie")) {
            if (take_once(&rx->cookie, v))
                return refuse(rx, 400, "malformed", "more than one Cookie header");
        } else if (http_slice_ieq(n, "origin")) {
            if (take_once(&rx->origin, v))
                return refuse(rx, 400, "malformed", "more than one Origin header");
        }
    }
    (void)keep; /* HTTP/1.0 keep-alive is not offered: 1.0 clients get one request each */
    rx->keep_alive = h->minor_version == 1 && !close;
    if (h->minor_version == 1 && n_host != 1)
        return refuse(rx, 400, "malformed",
                      n_host ? "more than one Host header" : "HTTP/1.1 request without Host");
    if (have_te && have_length)
        return refuse(rx, 400, "malformed", "both Content-Length and Transfer-Encoding");
    if (have_te && h->minor_version == 0)
        return refuse(rx, 400, "malformed", "Transfer-Encoding in an HTTP/1.0 request");
    if (!have_te && !have_length &&
        (http_slice_ieq(h->method, "POST") || http_slice_ieq(h->method, "PUT") ||
         http_slice_ieq(h->method, "PATCH")))
        return refuse(rx, 411, "length_required", "a body needs Content-Length or chunked");
    if (have_length && length > rx->body.max)
        return refuse(rx, 413, "too_large", "request body over max_body_bytes");
    rx->chunked = have_te;
    rx->content_length = length;
    return RX_WANT_READ;
}

/* Moves the unconsumed bytes after the head down over n consumed body framing bytes. */
static void drop_after_head(http_rx *rx, gs_buf *in, size_t n)
{
    size_t after = in->len - rx->head_len;
    memmove(in->ptr + rx->head_len, in->ptr + rx->head_len + n, after - n);
    in->len -= n;
    in->ptr[in->len] = '\0';
    rx->bytes_in += n;
}

/* One step of the body. */
static http_rx_result step_body(http_rx *rx, gs_buf *in)
{
    size_t avail = in->len - rx->head_len;
    const char *src = in->ptr + rx->head_len;

    if (rx->chunked) {
        size_t used = 0;
        int r = http_chunked_feed(&rx->chunk, src, avail, &used, &rx->body, &rx->err);
        if (r == HTTP_BAD) {
            rx->state = RX_ERROR;
            rx->keep_alive = 0;
            return RX_REFUSE;
        }
        drop_after_head(rx, in, used);
        if (r == 1) {
            rx->state = RX_DONE;
            return RX_REQUEST;
        }
        return RX_WANT_READ;
    }
    uint64_t want = rx->content_length - rx->body.len;
    size_t take = avail < want ? avail : (size_t)want;
    if (take) {
        int rc = buf_add(&rx->body, src, take);
        if (rc)
            return refuse(rx, rc == GS_E_TOO_LARGE ? 413 : 500,
                          rc == GS_E_TOO_LARGE ? "too_large" : "server",
                          rc == GS_E_TOO_LARGE ? "request body over max_body_bytes"
                                               : "out of memory reading the request body");
        drop_after_head(rx, in, take);
    }
    if (rx->body.len == rx->content_length) {
        rx->state = RX_DONE;
        return RX_REQUEST;
    }
    return RX_WANT_READ;
}

/* The first step of an accepted body: 100 Continue if the client waits for it. */
static http_rx_result body_begin(http_rx *rx, gs_buf *in)
{
    rx->continue_decided = 1;
    /* a client that already started the body is not waiting for 100 Continue */
    if (rx->expect_continue && in->len == rx->head_len) {
        rx->continue_sent = 1;
        return RX_SEND_CONTINUE;
    }
    return step_body(rx, in);
}

http_rx_result http_rx_accept_head(http_rx *rx, size_t max_body)
{
    if (rx->state != RX_BODY || !rx->head_pending)
        return rx->state == RX_ERROR ? RX_REFUSE : RX_WANT_READ;
    rx->head_pending = 0;
    if (max_body < rx->body.max)
        rx->body.max = max_body;
    if (!rx->chunked && rx->content_length > rx->body.max)
        return refuse(rx, 413, "too_large", "request body over this route's limit");
    return RX_WANT_READ;
}

http_rx_result http_rx_step(http_rx *rx, gs_buf *in)
{
    switch (rx->state) {
    case RX_HEAD: {
        size_t look = in->len < rx->max_head ? in->len : rx->max_head;
        size_t from = rx->scanned;
        long r;

        if (look == 0)
            return RX_WANT_READ;
        if (from > look)
            from = 0;
        /* parse again only on the first bytes (to refuse garbage at once), when a line has
         * ended since the last parse, after 1 KiB without a line end, when the request line
         * passes its limit, or at the head limit: a client sending one byte per read must
         * not cost a parse of the whole head per byte */
        if (from != 0 && look < rx->max_head && look - rx->parsed < 1024 &&
            !memchr(in->ptr + from, '\n', look - from) &&
            !(from <= HTTP_MAX_REQUEST_LINE + 2 && look > HTTP_MAX_REQUEST_LINE + 2)) {
            rx->scanned = look;
            return RX_WANT_READ;
        }
        rx->scanned = look;
        rx->parsed = look;
        r = http_parse_head(in->ptr, look, rx->max_head, &rx->head, &rx->err);
        if (r == HTTP_NEED_MORE && look >= rx->max_head)
            r = bad(&rx->err, 431, "header_too_large", "request head over max_header_bytes");
        if (r == HTTP_NEED_MORE)
            return RX_WANT_READ;
        if (r == HTTP_BAD) {
            rx->bytes_in = in->len;
            rx->state = RX_ERROR;
            rx->keep_alive = 0;
            return RX_REFUSE;
        }
        rx->head_len = (size_t)r;
        rx->bytes_in = rx->head_len;
        if (interpret_head(rx) == RX_REFUSE)
            return RX_REFUSE;
        if (!rx->chunked && rx->content_length == 0) {
            rx->state = RX_DONE;
            return RX_REQUEST;
        }
        rx->state = RX_BODY;
        if (rx->pause_at_head) {
            rx->head_pending = 1;
            return RX_HEAD_READY;
        }
        return body_begin(rx, in);
    }
    case RX_BODY:
        if (rx->head_pending)
            return RX_HEAD_READY;
        if (!rx->continue_decided)
            return body_begin(rx, in);
        return step_body(rx, in);
    case RX_DONE:
        return RX_REQUEST;
    case RX_ERROR:
    default:
        return RX_REFUSE;
    }
}

size_t http_rx_read_room(const http_rx *rx, const gs_buf *in)
{
    size_t cap = rx->max_head + HTTP_IO_ROOM;
    if (rx->state == RX_DONE || rx->state == RX_ERROR || in->len >= cap)
        return 0;
    if (rx->state == RX_BODY && !rx->chunked) {
        /* never read past this body: what follows belongs to the next request and would
         * only have to wait in the buffer */
        uint64_t want = rx->content_length - rx->body.len;
        size_t room = cap - in->len;
        return want < room ? (size_t)want : room;
    }
    return cap - in->len;
}

void http_rx_next(http_rx *rx, gs_buf *in)
{
    size_t max_head = rx->max_head, max_body = rx->max_body;
    size_t keep = in->len - rx->head_len;
    int pause = rx->pause_at_head;
    gs_buf body = rx->body;

    memmove(in->ptr, in->ptr + rx->head_len, keep);
    in->len = keep;
    if (in->ptr)
        in->ptr[in->len] = '\0';
    /* keep a small body allocation for the next request; give big ones back */
    if (body.cap > 64 * 1024)
        buf_free(&body);
    else
        buf_reset(&body);
    memset(rx, 0, sizeof(*rx));
    rx->state = RX_HEAD;
    rx->max_head = max_head;
    rx->max_body = max_body;
    rx->pause_at_head = pause;
    rx->body = body;
    rx->body.max = max_body; /* a route's lower limit held for one request only */
    http_chunked_init(&rx->chunk);
}

int http_rx_idle(const http_rx *rx, const gs_buf *in)
{
    return rx->state == RX_HEAD && in->len == 0;
}

void http_rx_request(const http_rx *rx, srv_request *req, const char *peer)
{
    memset(req, 0, sizeof(*req));
    req->method = rx->head.method;
    req->path = rx->head.path;
    req->query = rx->head.query;
    if (!req->query.ptr)
        req->query.ptr = "";
    req->content_type = rx->content_type;
    req->content_encoding = rx->content_encoding;
    req->accept_encoding = rx->accept_encoding;
    req->authorization = rx->authorization;
    req->cookie = rx->cookie;
    req->origin = rx->origin;
    req->body = rx->body.len ? (const uint8_t *)rx->body.ptr : NULL;
    req->body_len = rx->body.len;
    req->peer = peer;
}

/* ---- responses ----------------------------------------------------------------------- */

const char *http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

/* 1 if s is a sequence of "Name: value\r\n" lines with no other CR or LF. */
static int extra_headers_ok(const char *s)
{
    while (*s) {
        const char *colon;
        size_t n = 0;
        while (is_tchar((unsigned char)s[n]))
            n++;
        if (n == 0 || s[n] != ':')
            return 0;
        colon = s + n;
        s = colon + 1;
        while (*s && *s != '\r' && *s != '\n')
            s++;
        if (s[0] != '\r' || s[1] != '\n')
            return 0;
        s += 2;
    }
    return 1;
}

int http_write_head(gs_buf *out, int status, const srv_response *resp, size_t body_len,
                    int keep_alive)
{
    char date[64];
    struct tm tm;
    time_t now = time(NULL);
    int rc;
    int no_body = status == 204 || status == 304 || (status >= 100 && status < 200);

    if (!extra_headers_ok(resp->extra_headers))
        return GS_E_INVALID;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    rc = buf_addf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status, http_reason(status), date);
    if (!rc && body_len && resp->content_type)
        rc = buf_addf(out, "Content-Type: %s\r\n", resp->content_type);
    if (!rc && !no_body)
        rc = buf_addf(out, "Content-Length: %zu\r\n", body_len);
    if (!rc && body_len && resp->content_encoding)
        rc = buf_addf(out, "Content-Encoding: %s\r\n", resp->content_encoding);
    if (!rc)
        rc = buf_adds(out, keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n");
    /* HTTPS only: browsers (the admin console) must never be talked into plain HTTP, nor
     * guess a type other than the one sent, unless the application says otherwise */
    if (!rc && !strcasestr(resp->extra_headers, "strict-transport-security:"))
        rc = buf_adds(out, "Strict-Transport-Security: max-age=31536000\r\n");
    if (!rc && !strcasestr(resp->extra_headers, "x-content-type-options:"))
        rc = buf_adds(out, "X-Content-Type-Options: nosniff\r\n");
    if (!rc)
        rc = buf_adds(out, resp->extra_headers);
    if (!rc)
        rc = buf_adds(out, "\r\n");
    return rc;
}

/* JSON string with the escapes RFC 8259 requires. */
static int json_str(gs_buf *b, const char *s)
{
    int rc = buf_adds(b, "\"");
    for (; !rc && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = buf_addf(b, "\\%c", c);
        else if (c < 0x20)
            rc = buf_addf(b, "\\u%04x", c);
        else
            rc = buf_add(b, s, 1);
    }
    return rc ? rc : buf_adds(b, "\"");
}

int http_error_response(srv_response *resp, int status, const char *code, const char *msg,
                        int msgpack)
{
    int rc;
    resp->status = status;
    resp->content_encoding = NULL;
    buf_reset(&resp->body);
    if (msgpack) {
        resp->content_type = PROTO_CONTENT_TYPE;
        return proto_encode_error(&resp->body, code, msg, 0);
    }
    resp->content_type = "application/json";
    rc = buf_adds(&resp->body, "{\"err\":");
    if (!rc)
        rc = json_str(&resp->body, code);
    if (!rc)
        rc = buf_adds(&resp->body, ",\"msg\":");
    if (!rc)
        rc = json_str(&resp->body, msg);
    if (!rc)
        rc = buf_adds(&resp->body, "}\n");
    return rc;
}
