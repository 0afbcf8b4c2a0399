/*
 * test_srv_http.c: gridsyncd's HTTP/1.1 framing (server/http.c) without sockets:
 *  - http_parse_head on complete heads, on every proper prefix of them (must be "need
 *    more", never an error or a wrong answer), on bad input and at each limit;
 *  - the chunked decoder on good and bad framing, fed in pieces of every size;
 *  - request assembly (http_rx): Content-Length and chunked bodies split at every point,
 *    413 before the body is read, 100-continue, keep-alive rules, pipelining, smuggling
 *    guards, and the headers handed to the application;
 *  - response heads and the small error bodies.
 * Parsed input is copied into a heap block of exactly its size, so AddressSanitizer
 * catches any read past the end (picohttpparser's guard-page idea).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/rc.h"
#include "server/http.h"

#define MAX_HEAD 16384

static char *exact_copy(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static int slice_eq(srv_slice s, const char *lit)
{
    return s.len == strlen(lit) && (s.len == 0 || memcmp(s.ptr, lit, s.len) == 0);
}

#define assert_slice(s, lit)                                                                       \
    do {                                                                                           \
        if (!slice_eq((s), (lit)))                                                                 \
            fail_msg("slice \"%.*s\" != \"%s\"", (int)(s).len, (s).ptr ? (s).ptr : "", (lit));     \
    } while (0)

/* ---- http_parse_head: good heads ------------------------------------------------------ */

typedef struct good_case {
    const char *name;     /* what the case shows */
    const char *text;     /* the head, possibly followed by body bytes */
    size_t head_len;      /* expected return value (0: strlen(text)) */
    const char *method;   /* expected method */
    const char *path;     /* expected path */
    const char *query;    /* expected query */
    int minor;            /* expected minor version */
    size_t n_headers;     /* expected header count */
    const char *h0_name;  /* first header name, or NULL */
    const char *h0_value; /* first header value */
} good_case;

static const good_case good_cases[] = {
    {"simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, "GET", "/", "", 1, 1, "Host", "a"},
    {"HTTP/1.0 without headers", "GET /x HTTP/1.0\r\n\r\n", 0, "GET", "/x", "", 0, 0, NULL, NULL},
    {"query split off", "GET /v1/health?token=abc&x=1 HTTP/1.1\r\nHost: h\r\n\r\n", 0, "GET",
     "/v1/health", "token=abc&x=1", 1, 1, "Host", "h"},
    {"empty query", "GET /p? HTTP/1.1\r\nHost: h\r\n\r\n", 0, "GET", "/p", "", 1, 1, "Host", "h"},
    {"value blanks trimmed", "POST /v1/sync HTTP/1.1\r\nContent-Type: \t app/x \t\r\n\r\n", 0,
     "POST", "/v1/sync", "", 1, 1, "Content-Type", "app/x"},
    {"empty value", "GET / HTTP/1.1\r\nX-Empty:\r\nHost: h\r\n\r\n", 0, "GET", "/", "", 1, 2,
     "X-Empty", ""},
    {"body bytes after head are not consumed",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", 47, "POST", "/", "", 1, 2,
     "Host", "h"},
    {"leading empty lines ignored", "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 0, "GET", "/", "",
     1, 1, "Host", "h"},
    {"UTF-8 in a value", "GET / HTTP/1.1\r\nX-Note: \xe7\xbd\x91\xe6\xa0\xbc\r\n\r\n", 0, "GET",
     "/", "", 1, 1, "X-Note", "\xe7\xbd\x91\xe6\xa0\xbc"},
    {"token characters in a method", "M-SEARCH! / HTTP/1.1\r\nHost: h\r\n\r\n", 0, "M-SEARCH!", "/",
     "", 1, 1, "Host", "h"},
    {"colon in a value", "GET / HTTP/1.1\r\nAuthorization: Bearer a.b:c\r\n\r\n", 0, "GET", "/", "",
     1, 1, "Authorization", "Bearer a.b:c"},
};

static void test_parse_good_heads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const good_case *c = &good_cases[i];
        size_t len = strlen(c->text);
        size_t want = c->head_len ? c->head_len : len;
        char *buf = exact_copy(c->text, len);
        http_head h;
        http_error e = {0, NULL, NULL};
        long r = http_parse_head(buf, len, MAX_HEAD, &h, &e);
        if (r != (long)want)
            fail_msg("%s: returned %ld, want %zu (%d %s)", c->name, r, want, e.status,
                     e.msg ? e.msg : "");
        assert_slice(h.method, c->method);
        assert_slice(h.path, c->path);
        assert_slice(h.query, c->query);
        assert_int_equal(h.minor_version, c->minor);
        assert_int_equal(h.n_headers, c->n_headers);
        if (c->h0_name) {
            assert_slice(h.headers[0].name, c->h0_name);
            assert_slice(h.headers[0].value, c->h0_value);
        }
        free(buf);
    }
}

/* Every proper prefix of a good head is "need more": never an error, never a head. */
static void test_parse_every_prefix_needs_more(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        const good_case *c = &good_cases[i];
        size_t full = c->head_len ? c->head_len : strlen(c->text);
        for (size_t cut = 0; cut < full; cut++) {
            char *buf = exact_copy(c->text, cut);
            http_head h;
            http_error e = {0, NULL, NULL};
            long r = http_parse_head(buf, cut, MAX_HEAD, &h, &e);
            if (r != HTTP_NEED_MORE)
                fail_msg("%s: prefix of %zu bytes returned %ld (%d %s)", c->name, cut, r, e.status,
                         e.msg ? e.msg : "");
            free(buf);
        }
    }
}

/* ---- http_parse_head: bad heads and limits --------------------------------------------- */

typedef struct bad_case {
    const char *name; /* what is wrong */
    const char *text; /* the input */
    int status;       /* expected status */
} bad_case;

static const bad_case bad_cases[] = {
    {"bare LF ends the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
    {"bare LF ends a header", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
    {"space before the colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400},
    {"obsolete line folding", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400},
    {"NUL in a value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400},
    {"control character in a value", "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", 400},
    {"DEL in a value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400},
    {"empty header name", "GET / HTTP/1.1\r\n: v\r\n\r\n", 400},
    {"no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400},
    {"two spaces after the method", "GET  / HTTP/1.1\r\n\r\n", 400},
    {"no method", " / HTTP/1.1\r\n\r\n", 400},
    {"target not a path", "GET http://a/ HTTP/1.1\r\n\r\n", 400},
    {"asterisk target", "OPTIONS * HTTP/1.1\r\n\r\n", 400},
    {"control character in the target", "GET /a\x01 HTTP/1.1\r\n\r\n", 400},
    {"lower-case version", "GET / http/1.1\r\n\r\n", 400},
    {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505},
    {"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", 505},
    {"HTTP/0.9 style", "GET /\r\n\r\n", 400},
    {"junk after the version", "GET / HTTP/1.1x\r\n\r\n", 400},
    {"TLS bytes on the HTTP port", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
    {"bare CR before the request", "\rGET / HTTP/1.1\r\n\r\n", 400},
    {"CR without LF at the end of the head", "GET / HTTP/1.1\r\nHost: h\r\n\rX", 400},
    {"method too long", "ABCDEFGHIJKLMNOPQRSTUVWXYZ / HTTP/1.1\r\n\r\n", 501},
};

static void test_parse_bad_heads(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *c = &bad_cases[i];
        /* sizeof-based length: some inputs hold a NUL */
        size_t len = strlen(c->text);
        if (strcmp(c->name, "NUL in a value") == 0)
            len = sizeof("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n") - 1;
        char *buf = exact_copy(c->text, len);
        http_head h;
        http_error e = {0, NULL, NULL};
        long r = http_parse_head(buf, len, MAX_HEAD, &h, &e);
        if (r != HTTP_BAD || e.status != c->status)
            fail_msg("%s: returned %ld status %d, want HTTP_BAD %d", c->name, r, e.status,
                     c->status);
        assert_non_null(e.msg);
        assert_non_null(e.code);
        free(buf);
    }
}

/* Builds "GET /<path> HTTP/1.1\r\n" + n headers "X-n: <value_len bytes>" (+ end). */
static char *build_head(size_t path_len, int n_headers, size_t value_len, int complete,
                        size_t *len_out)
{
    gs_buf b;
    buf_init(&b, 1u << 24);
    assert_int_equal(buf_adds(&b, "GET /"), GS_OK);
    for (size_t i = 0; i < path_len; i++)
        assert_int_equal(buf_add(&b, "p", 1), GS_OK);
    assert_int_equal(buf_adds(&b, " HTTP/1.1\r\nHost: h\r\n"), GS_OK);
    for (int i = 0; i < n_headers; i++) {
        assert_int_equal(buf_addf(&b, "X-%d: ", i), GS_OK);
        for (size_t k = 0; k < value_len; k++)
            assert_int_equal(buf_add(&b, "v", 1), GS_OK);
        assert_int_equal(buf_adds(&b, "\r\n"), GS_OK);
    }
    if (complete)
        assert_int_equal(buf_adds(&b, "\r\n"), GS_OK);
    return buf_take(&b, len_out);
}

typedef struct limit_case {
    const char *name; /* the limit */
    size_t path_len;  /* path bytes */
    int n_headers;    /* extra headers (Host is always there) */
    size_t value_len; /* bytes per extra header value */
    int complete;     /* 1: ends with the blank line */
    size_t max_head;  /* the head limit */
    long want;        /* HTTP_NEED_MORE, HTTP_BAD, or > 0 for "complete" */
    int status;       /* for HTTP_BAD */
} limit_case;

static const limit_case limit_cases[] = {
    /* "GET /" + path + " HTTP/1.1" is 14 + path bytes */
    {"request line at the limit", 8192 - 14, 0, 0, 1, 65536, 1, 0},
    {"request line one over", 8192 - 13, 0, 0, 1, 65536, HTTP_BAD, 414},
    {"request line over, incomplete", 9000, 0, 0, 0, 65536, HTTP_BAD, 414},
    {"63 headers plus Host", 1, 63, 1, 1, MAX_HEAD, 1, 0},
    {"64 headers plus Host", 1, 64, 1, 1, MAX_HEAD, HTTP_BAD, 431},
    {"head over max_head, complete", 1, 10, 2000, 1, MAX_HEAD, HTTP_BAD, 431},
    {"head over max_head, incomplete", 1, 10, 2000, 0, MAX_HEAD, HTTP_BAD, 431},
    {"head under max_head, incomplete", 1, 3, 100, 0, MAX_HEAD, HTTP_NEED_MORE, 0},
};

static void test_parse_limits(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
        const limit_case *c = &limit_cases[i];
        size_t len;
        char *text = build_head(c->path_len, c->n_headers, c->value_len, c->complete, &len);
        char *buf = exact_copy(text, len);
        http_head h;
        http_error e = {0, NULL, NULL};
        long r = http_parse_head(buf, len, c->max_head, &h, &e);
        int ok =
            c->want > 0 ? r == (long)len : r == c->want && (r != HTTP_BAD || e.status == c->status);
        if (!ok)
            fail_msg("%s: %zu bytes returned %ld status %d (want %ld/%d)", c->name, len, r,
                     e.status, c->want, c->status);
        free(buf);
        free(text);
    }
}

/* A head of exactly max_head bytes passes; one byte less of limit refuses it. */
static void test_parse_head_limit_is_exact(void **state)
{
    const char *t = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t len = strlen(t);
    http_head h;
    http_error e;
    (void)state;
    assert_int_equal(http_parse_head(t, len, len, &h, &e), (long)len);
    assert_int_equal(http_parse_head(t, len, len - 1, &h, &e), HTTP_BAD);
    assert_int_equal(e.status, 431);
}

/* ---- chunked decoder ------------------------------------------------------------------ */

typedef struct chunk_case {
    const char *name; /* what the case shows */
    const char *in;   /* chunked bytes */
    const char *out;  /* decoded body, or NULL for an error */
    size_t tail;      /* bytes after the end that must not be consumed */
    int status;       /* for errors */
} chunk_case;

static const chunk_case chunk_cases[] = {
    {"two chunks", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "abcde", 0, 0},
    {"upper and lower hex", "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n",
     "01234567890123456789", 0, 0},
    {"extensions ignored", "3;name=val\r\nabc\r\n0;last\r\n\r\n", "abc", 0, 0},
    {"blank before extension", "3 ;x\r\nabc\r\n0\r\n\r\n", "abc", 0, 0},
    {"trailer fields ignored", "1\r\nz\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\n", "z", 0, 0},
    {"empty body", "0\r\n\r\n", "", 0, 0},
    {"leading zeros", "0003\r\nabc\r\n0\r\n\r\n", "abc", 0, 0},
    {"next request left alone", "1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "a", 16, 0},
    {"no size", "\r\nabc\r\n0\r\n\r\n", NULL, 0, 400},
    {"bad hex", "g\r\n", NULL, 0, 400},
    {"negative size", "-1\r\n", NULL, 0, 400},
    {"bare LF after size", "3\nabc\r\n0\r\n\r\n", NULL, 0, 400},
    {"data longer than size", "2\r\nabc\r\n0\r\n\r\n", NULL, 0, 400},
    {"no CRLF after data", "3\r\nabcX\r\n", NULL, 0, 400},
    {"size overflow", "11111111111111111\r\n", NULL, 0, 400},
    {"over the cap", "41\r\n", NULL, 0, 413}, /* cap 64, one chunk of 65 */
    {"over the cap in pieces",
     "20\r\n"
     "0123456789abcdef0123456789abcdef\r\n"
     "20\r\n"
     "0123456789abcdef0123456789abcdef\r\n"
     "1\r\nx\r\n0\r\n\r\n",
     NULL, 0, 413},
    {"control character in extension", "1;\x01\r\na\r\n0\r\n\r\n", NULL, 0, 400},
    {"bad final CRLF", "0\r\n\rX", NULL, 0, 400},
};

/* Feeds in to a decoder piece bytes at a time; returns 1 done, 0 need more, HTTP_BAD. */
static int feed_chunked(const char *in, size_t len, size_t piece, gs_buf *out, size_t *used,
                        http_error *e)
{
    http_chunked d;
    size_t off = 0;
    http_chunked_init(&d);
    while (off < len) {
        size_t n = len - off < piece ? len - off : piece;
        char *part = exact_copy(in + off, n);
        size_t consumed = 0;
        int r = http_chunked_feed(&d, part, n, &consumed, out, e);
        free(part);
        if (r == HTTP_BAD)
            return r;
        off += consumed;
        if (r == 1) {
            *used = off;
            return 1;
        }
        assert_int_equal(consumed, n);
    }
    *used = off;
    return 0;
}

static void test_chunked_cases_at_every_piece_size(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(chunk_cases) / sizeof(chunk_cases[0]); i++) {
        const chunk_case *c = &chunk_cases[i];
        size_t len = strlen(c->in);
        for (size_t piece = 1; piece <= len; piece++) {
            gs_buf out;
            size_t used = 0;
            http_error e = {0, NULL, NULL};
            buf_init(&out, 64);
            int r = feed_chunked(c->in, len, piece, &out, &used, &e);
            if (c->out) {
                if (r != 1)
                    fail_msg("%s (pieces of %zu): returned %d (%s)", c->name, piece, r,
                             e.msg ? e.msg : "");
                assert_int_equal(out.len, strlen(c->out));
                assert_memory_equal(out.ptr ? out.ptr : "", c->out, out.len);
                assert_int_equal(used, len - c->tail);
            } else if (r != HTTP_BAD || e.status != c->status) {
                fail_msg("%s (pieces of %zu): returned %d status %d, want %d", c->name, piece, r,
                         e.status, c->status);
            }
            buf_free(&out);
        }
    }
}

static void test_chunked_incomplete_needs_more(void **state)
{
    const char *in = "5\r\nhello\r\n0\r\n\r\n";
    size_t len = strlen(in);
    (void)state;
    for (size_t cut = 0; cut < len; cut++) {
        gs_buf out;
        size_t used = 0;
        http_error e;
        buf_init(&out, 64);
        assert_int_equal(feed_chunked(in, cut, 3, &out, &used, &e), 0);
        buf_free(&out);
    }
}

/* ---- request assembly ------------------------------------------------------------------ */

typedef struct rx_run {
    http_rx rx;          /* the assembler */
    gs_buf in;           /* its input buffer, reserved once */
    int continues;       /* RX_SEND_CONTINUE seen */
    http_rx_result last; /* final result */
} rx_run;

static void run_init(rx_run *t, size_t max_head, size_t max_body)
{
    memset(t, 0, sizeof(*t));
    http_rx_init(&t->rx, max_head, max_body);
    buf_init(&t->in, max_head + HTTP_IO_ROOM);
    assert_int_equal(buf_reserve(&t->in, max_head + HTTP_IO_ROOM), GS_OK);
}

static void run_free(rx_run *t)
{
    http_rx_free(&t->rx);
    buf_free(&t->in);
}

/* Pushes data in pieces, as a socket would deliver it, until a request or refusal.
 * Returns how many bytes of data were delivered. */
static size_t run_feed(rx_run *t, const char *data, size_t len, size_t piece)
{
    size_t off = 0;
    for (;;) {
        http_rx_result r = http_rx_step(&t->rx, &t->in);
        if (r == RX_SEND_CONTINUE) {
            t->continues++;
            continue;
        }
        if (r == RX_REQUEST || r == RX_REFUSE) {
            t->last = r;
            return off;
        }
        size_t room = http_rx_read_room(&t->rx, &t->in);
        size_t n = len - off;
        if (n == 0) {
            t->last = RX_WANT_READ;
            return off;
        }
        assert_true(room > 0);
        if (n > piece)
            n = piece;
        if (n > room)
            n = room;
        char *before = t->in.ptr;
        memcpy(t->in.ptr + t->in.len, data + off, n);
        t->in.len += n;
        t->in.ptr[t->in.len] = '\0';
        assert_ptr_equal(before, t->in.ptr); /* the buffer never moves */
        off += n;
    }
}

static void test_rx_content_length_body_split_everywhere(void **state)
{
    const char *req = "POST /v1/sync HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n"
                      "Content-Type: application/vnd.msgpack\r\n\r\nhello world";
    size_t len = strlen(req);
    (void)state;
    for (size_t piece = 1; piece <= len; piece++) {
        rx_run t;
        srv_request r;
        run_init(&t, 1024, 64);
        assert_int_equal(run_feed(&t, req, len, piece), len);
        assert_int_equal(t.last, RX_REQUEST);
        http_rx_request(&t.rx, &r, "peer");
        assert_slice(r.method, "POST");
        assert_slice(r.path, "/v1/sync");
        assert_slice(r.content_type, "application/vnd.msgpack");
        assert_int_equal(r.body_len, 11);
        assert_memory_equal(r.body, "hello world", 11);
        assert_int_equal(t.rx.keep_alive, 1);
        assert_int_equal(t.rx.bytes_in, len);
        assert_int_equal(t.continues, 0);
        run_free(&t);
    }
}

static void test_rx_chunked_body_split_everywhere(void **state)
{
    const char *req = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nhello\r\n1;x=y\r\n \r\n5\r\nworld\r\n0\r\nT: 1\r\n\r\n";
    size_t len = strlen(req);
    (void)state;
    for (size_t piece = 1; piece <= len; piece++) {
        rx_run t;
        srv_request r;
        run_init(&t, 1024, 64);
        assert_int_equal(run_feed(&t, req, len, piece), len);
        assert_int_equal(t.last, RX_REQUEST);
        http_rx_request(&t.rx, &r, "peer");
        assert_int_equal(r.body_len, 11);
        assert_memory_equal(r.body, "hello world", 11);
        assert_int_equal(t.rx.bytes_in, len);
        run_free(&t);
    }
}

typedef struct refuse_case {
    const char *name; /* why it is refused */
    const char *text; /* request bytes */
    int status;       /* expected status */
    int before_body;  /* 1: the verdict must come before any body byte is read */
} refuse_case;

static const refuse_case refuse_cases[] = {
    {"Content-Length over the cap", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n", 413,
     1},
    {"huge Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9999999999999\r\n\r\n",
     413, 1},
    {"Content-Length too many digits",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400, 1},
    {"Content-Length with a sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400,
     1},
    {"Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400, 1},
    {"conflicting Content-Length",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, 1},
    {"Content-Length and chunked",
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     1},
    {"gzip transfer coding",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, 1},
    {"two Transfer-Encoding headers",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked"
     "\r\n\r\n",
     400, 1},
    {"chunked in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, 1},
    {"POST without a length", "POST / HTTP/1.1\r\nHost: h\r\n\r\n", 411, 1},
    {"unknown expectation",
     "POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n"
     "Content-Length: 1\r\n\r\n",
     417, 1},
    {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400, 1},
    {"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, 1},
    {"two Authorization headers",
     "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nauthorization: b\r\n\r\n", 400, 1},
    {"two Content-Type headers",
     "GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n", 400, 1},
    {"chunked body over the cap",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
     "40\r\n0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
     "1\r\nx\r\n0\r\n\r\n",
     413, 0},
    {"bad chunk framing",
     "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
     "zz\r\n",
     400, 0},
    {"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 400, 1},
};

static void test_rx_refusals(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(refuse_cases) / sizeof(refuse_cases[0]); i++) {
        const refuse_case *c = &refuse_cases[i];
        size_t len = strlen(c->text);
        for (size_t piece = 1; piece <= len; piece += (piece < 8 ? 1 : 7)) {
            rx_run t;
            run_init(&t, 1024, 64);
            run_feed(&t, c->text, len, piece);
            if (t.last != RX_REFUSE || t.rx.err.status != c->status)
                fail_msg("%s (pieces of %zu): result %d status %d, want refuse %d", c->name, piece,
                         t.last, t.rx.err.status, c->status);
            assert_int_equal(t.rx.keep_alive, 0);
            if (c->before_body)
                assert_int_equal(t.rx.body.len, 0);
            run_free(&t);
        }
    }
}

/* 413 is decided on the head alone: the body need not (and does not) arrive. */
static void test_rx_413_before_body(void **state)
{
    const char *head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\n\r\n";
    rx_run t;
    (void)state;
    run_init(&t, 1024, 1000);
    assert_int_equal(run_feed(&t, head, strlen(head), 1000), strlen(head));
    assert_int_equal(t.last, RX_REFUSE);
    assert_int_equal(t.rx.err.status, 413);
    assert_string_equal(t.rx.err.code, "too_large");
    run_free(&t);
}

static void test_rx_head_over_limit_is_431(void **state)
{
    size_t len;
    char *text = build_head(1, 40, 100, 1, &len); /* ~4.4 KB head against a 2 KB limit */
    rx_run t;
    (void)state;
    run_init(&t, 2048, 64);
    run_feed(&t, text, len, 700);
    assert_int_equal(t.last, RX_REFUSE);
    assert_int_equal(t.rx.err.status, 431);
    run_free(&t);
    free(text);
}

static void test_rx_expect_continue(void **state)
{
    const char *head = "POST /v1/sync HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n";
    rx_run t;
    (void)state;
    run_init(&t, 1024, 64);
    /* the head alone: the client waits for 100 Continue */
    run_feed(&t, head, strlen(head), 4096);
    assert_int_equal(t.continues, 1);
    assert_int_equal(t.last, RX_WANT_READ);
    /* then the body */
    run_feed(&t, "abcde", 5, 4096);
    assert_int_equal(t.last, RX_REQUEST);
    assert_int_equal(t.continues, 1);
    assert_int_equal(t.rx.body.len, 5);
    run_free(&t);

    /* head and body together: the client did not wait, so no 100 Continue */
    {
        char both[256];
        snprintf(both, sizeof(both), "%sabcde", head);
        run_init(&t, 1024, 64);
        run_feed(&t, both, strlen(both), 4096);
        assert_int_equal(t.last, RX_REQUEST);
        assert_int_equal(t.continues, 0);
        run_free(&t);
    }
}

typedef struct ka_case {
    const char *name; /* the rule */
    const char *text; /* a complete request */
    int keep_alive;   /* expected */
} ka_case;

static const ka_case ka_cases[] = {
    {"HTTP/1.1 default", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 1},
    {"Connection: close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", 0},
    {"close among tokens", "GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, Close\r\n\r\n", 0},
    {"HTTP/1.0 default", "GET / HTTP/1.0\r\n\r\n", 0},
    {"HTTP/1.0 keep-alive still closes", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0},
};

static void test_rx_keep_alive_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ka_cases) / sizeof(ka_cases[0]); i++) {
        rx_run t;
        run_init(&t, 1024, 64);
        run_feed(&t, ka_cases[i].text, strlen(ka_cases[i].text), 4096);
        if (t.last != RX_REQUEST || t.rx.keep_alive != ka_cases[i].keep_alive)
            fail_msg("%s: result %d keep_alive %d", ka_cases[i].name, t.last, t.rx.keep_alive);
        run_free(&t);
    }
}

static void test_rx_pipelined_requests(void **state)
{
    const char *two = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
                      "GET /b?q=1 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n"
                      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nok\r\n0\r\n\r\n";
    size_t len = strlen(two);
    (void)state;
    for (size_t piece = 1; piece <= len; piece++) {
        rx_run t;
        srv_request r;
        size_t off;
        run_init(&t, 1024, 64);
        off = run_feed(&t, two, len, piece);
        assert_int_equal(t.last, RX_REQUEST);
        http_rx_request(&t.rx, &r, "p");
        assert_slice(r.path, "/a");
        assert_memory_equal(r.body, "xyz", 3);
        http_rx_next(&t.rx, &t.in);
        off += run_feed(&t, two + off, len - off, piece);
        assert_int_equal(t.last, RX_REQUEST);
        http_rx_request(&t.rx, &r, "p");
        assert_slice(r.path, "/b");
        assert_slice(r.query, "q=1");
        assert_slice(r.authorization, "Bearer t");
        assert_null(r.body);
        http_rx_next(&t.rx, &t.in);
        off += run_feed(&t, two + off, len - off, piece);
        assert_int_equal(t.last, RX_REQUEST);
        http_rx_request(&t.rx, &r, "p");
        assert_slice(r.path, "/c");
        assert_memory_equal(r.body, "ok", 2);
        assert_int_equal(off, len);
        http_rx_next(&t.rx, &t.in);
        assert_true(http_rx_idle(&t.rx, &t.in));
        run_free(&t);
    }
}

static void test_rx_fills_request_headers(void **state)
{
    const char *text =
        "PUT /v1/admin/x?a=b HTTP/1.1\r\nhost: h\r\nCONTENT-TYPE: application/json\r\n"
        "Content-Encoding: deflate\r\nAccept-Encoding: deflate, gzip\r\n"
        "Cookie: s=1\r\nOrigin: https://h\r\nAuthorization: Bearer abc\r\n"
        "Content-Length: 2\r\n\r\n{}";
    rx_run t;
    srv_request r;
    (void)state;
    run_init(&t, 1024, 64);
    run_feed(&t, text, strlen(text), 4096);
    assert_int_equal(t.last, RX_REQUEST);
    http_rx_request(&t.rx, &r, "1.2.3.4:5");
    assert_slice(r.method, "PUT");
    assert_slice(r.path, "/v1/admin/x");
    assert_slice(r.query, "a=b");
    assert_slice(r.content_type, "application/json");
    assert_slice(r.content_encoding, "deflate");
    assert_slice(r.accept_encoding, "deflate, gzip");
    assert_slice(r.cookie, "s=1");
    assert_slice(r.origin, "https://h");
    assert_slice(r.authorization, "Bearer abc");
    assert_string_equal(r.peer, "1.2.3.4:5");
    assert_int_equal(r.body_len, 2);
    run_free(&t);

    /* absent headers are NULL slices */
    run_init(&t, 1024, 64);
    run_feed(&t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, 4096);
    http_rx_request(&t.rx, &r, "p");
    assert_null(r.authorization.ptr);
    assert_null(r.cookie.ptr);
    assert_null(r.content_type.ptr);
    assert_null(r.body);
    run_free(&t);
}

/* A client dribbling a head one byte at a time costs a parse per line, not per byte, and
 * still gets its request. */
static void test_rx_one_byte_at_a_time(void **state)
{
    size_t len;
    char *text = build_head(100, 60, 200, 1, &len);
    rx_run t;
    (void)state;
    run_init(&t, MAX_HEAD, 64);
    assert_int_equal(run_feed(&t, text, len, 1), len);
    assert_int_equal(t.last, RX_REQUEST);
    assert_int_equal(t.rx.head.n_headers, 61);
    run_free(&t);
    free(text);
}

/* ---- responses ------------------------------------------------------------------------- */

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_write_head(void **state)
{
    srv_response resp;
    gs_buf out;
    (void)state;
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body, 1024);
    buf_init(&out, 4096);
    resp.status = 200;
    resp.content_type = "application/vnd.msgpack";
    resp.content_encoding = "deflate";
    snprintf(resp.extra_headers, sizeof(resp.extra_headers), "X-A: 1\r\nVary: Accept-Encoding\r\n");
    assert_int_equal(http_write_head(&out, 200, &resp, 42, 1), GS_OK);
    assert_true(strncmp(out.ptr, "HTTP/1.1 200 OK\r\nDate: ", 23) == 0);
    assert_non_null(strstr(out.ptr, "\r\nContent-Type: application/vnd.msgpack\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nContent-Length: 42\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nContent-Encoding: deflate\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nConnection: keep-alive\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nStrict-Transport-Security: max-age=31536000\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nX-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nX-A: 1\r\nVary: Accept-Encoding\r\n\r\n"));
    assert_int_equal(strstr(out.ptr, "\r\n\r\n") - out.ptr + 4, (long)out.len);

    /* the application's own policy header wins over the default */
    buf_reset(&out);
    snprintf(resp.extra_headers, sizeof(resp.extra_headers),
             "Strict-Transport-Security: max-age=60\r\n");
    assert_int_equal(http_write_head(&out, 200, &resp, 0, 1), GS_OK);
    assert_int_equal(count_of(out.ptr, "Strict-Transport-Security"), 1);
    assert_non_null(strstr(out.ptr, "max-age=60\r\n"));

    buf_reset(&out);
    resp.extra_headers[0] = '\0';
    assert_int_equal(http_write_head(&out, 413, &resp, 0, 0), GS_OK);
    assert_true(strncmp(out.ptr, "HTTP/1.1 413 Content Too Large\r\n", 32) == 0);
    assert_non_null(strstr(out.ptr, "\r\nContent-Length: 0\r\n"));
    assert_non_null(strstr(out.ptr, "\r\nConnection: close\r\n"));
    assert_null(strstr(out.ptr, "\r\nContent-Type:")); /* no body, no type */

    /* extra headers that could end the head early or split a line are refused */
    static const char *const bad_extra[] = {"X-A: 1",    "X-A: 1\n", "X-A: 1\r\n\r\nX: 2\r\n",
                                            "X-A 1\r\n", ": 1\r\n",  "X-A: 1\rX-B: 2\r\n"};
    for (size_t i = 0; i < sizeof(bad_extra) / sizeof(bad_extra[0]); i++) {
        snprintf(resp.extra_headers, sizeof(resp.extra_headers), "%s", bad_extra[i]);
        buf_reset(&out);
        if (http_write_head(&out, 200, &resp, 0, 1) != GS_E_INVALID)
            fail_msg("extra headers \"%s\" accepted", bad_extra[i]);
    }
    buf_free(&out);
    buf_free(&resp.body);
}

static void test_error_bodies(void **state)
{
    srv_response resp;
    static const unsigned char want_mp[] = {0x82, 0xa3, 'e', 'r',  'r', 0xa9, 't', 'o',
                                            'o',  '_',  'l', 'a',  'r', 'g',  'e', 0xa3,
                                            'm',  's',  'g', 0xa2, 'n', 'o'};
    (void)state;
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body, 1024);
    assert_int_equal(http_error_response(&resp, 413, "too_large", "no", 1), GS_OK);
    assert_int_equal(resp.status, 413);
    assert_string_equal(resp.content_type, "application/vnd.msgpack");
    assert_int_equal(resp.body.len, sizeof(want_mp));
    assert_memory_equal(resp.body.ptr, want_mp, sizeof(want_mp));

    /* a message of 40 bytes takes the str8 form */
    assert_int_equal(
        http_error_response(&resp, 400, "malformed", "0123456789012345678901234567890123456789", 1),
        GS_OK);
    assert_int_equal((unsigned char)resp.body.ptr[15], 0xa3);
    assert_int_equal((unsigned char)resp.body.ptr[19], 0xd9);
    assert_int_equal((unsigned char)resp.body.ptr[20], 40);

    assert_int_equal(http_error_response(&resp, 400, "malformed", "bad \"x\"\\\n", 0), GS_OK);
    assert_string_equal(resp.content_type, "application/json");
    assert_string_equal(resp.body.ptr,
                        "{\"err\":\"malformed\",\"msg\":\"bad \\\"x\\\"\\\\\\u000a\"}\n");
    buf_free(&resp.body);
}

static void test_reason_and_ieq(void **state)
{
    (void)state;
    assert_string_equal(http_reason(431), "Request Header Fields Too Large");
    assert_string_equal(http_reason(599), "Unknown");
    assert_true(http_slice_ieq((srv_slice){"Content-LENGTH", 14}, "content-length"));
    assert_false(http_slice_ieq((srv_slice){"Content-Lengt", 13}, "content-length"));
    assert_false(http_slice_ieq((srv_slice){NULL, 0}, "x"));
    assert_true(http_slice_ieq((srv_slice){NULL, 0}, ""));
}

/* net.c's mode: a request with a body stops at its head; nothing of the body is taken
 * and 100 Continue is not promised until http_rx_accept_head, whose route limit can
 * refuse a declared length there (413) or hold a chunked body to it. */
static void test_pause_at_head(void **state)
{
    static const char head[] = "POST /v1/sync HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                               "Content-Length: 5\r\n\r\n";
    static const char chunked[] = "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  "\r\n8\r\n12345678\r\n0\r\n\r\n";
    http_rx rx;
    gs_buf in;
    (void)state;
    for (int round = 0; round < 3; round++) {
        http_rx_init(&rx, 4096, 1 << 20);
        rx.pause_at_head = 1;
        buf_init(&in, 8192);
        assert_int_equal(buf_reserve(&in, 8192), GS_OK);
        if (round < 2) {
            assert_int_equal(buf_add(&in, head, sizeof(head) - 1), GS_OK);
            assert_int_equal(http_rx_step(&rx, &in), RX_HEAD_READY);
            assert_int_equal(http_rx_step(&rx, &in), RX_HEAD_READY); /* until decided */
            assert_int_equal(rx.continue_sent, 0);
            if (round == 0) {
                assert_int_equal(http_rx_accept_head(&rx, 4), RX_REFUSE);
                assert_int_equal(rx.err.status, 413);
            } else {
                assert_int_equal(http_rx_accept_head(&rx, 5), RX_WANT_READ);
                assert_int_equal(http_rx_step(&rx, &in), RX_SEND_CONTINUE);
                assert_int_equal(buf_add(&in, "hello", 5), GS_OK);
                assert_int_equal(http_rx_step(&rx, &in), RX_REQUEST);
                assert_int_equal(rx.body.len, 5);
                /* the route's limit held for this request only */
                http_rx_next(&rx, &in);
                assert_int_equal(rx.body.max, 1 << 20);
                assert_int_equal(rx.pause_at_head, 1);
            }
        } else {
            assert_int_equal(buf_add(&in, chunked, sizeof(chunked) - 1), GS_OK);
            assert_int_equal(http_rx_step(&rx, &in), RX_HEAD_READY);
            assert_int_equal(http_rx_accept_head(&rx, 4), RX_WANT_READ);
            assert_int_equal(http_rx_step(&rx, &in), RX_REFUSE);
            assert_int_equal(rx.err.status, 413);
        }
        http_rx_free(&rx);
        buf_free(&in);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pause_at_head),
        cmocka_unit_test(test_parse_good_heads),
        cmocka_unit_test(test_parse_every_prefix_needs_more),
        cmocka_unit_test(test_parse_bad_heads),
        cmocka_unit_test(test_parse_limits),
        cmocka_unit_test(test_parse_head_limit_is_exact),
        cmocka_unit_test(test_chunked_cases_at_every_piece_size),
        cmocka_unit_test(test_chunked_incomplete_needs_more),
        cmocka_unit_test(test_rx_content_length_body_split_everywhere),
        cmocka_unit_test(test_rx_chunked_body_split_everywhere),
        cmocka_unit_test(test_rx_refusals),
        cmocka_unit_test(test_rx_413_before_body),
        cmocka_unit_test(test_rx_head_over_limit_is_431),
        cmocka_unit_test(test_rx_expect_continue),
        cmocka_unit_test(test_rx_keep_alive_rules),
        cmocka_unit_test(test_rx_pipelined_requests),
        cmocka_unit_test(test_rx_fills_request_headers),
        cmocka_unit_test(test_rx_one_byte_at_a_time),
        cmocka_unit_test(test_write_head),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_reason_and_ieq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
