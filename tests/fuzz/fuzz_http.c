/*
 * fuzz_http.c: libFuzzer target for gridsyncd's HTTP request handling (server/http.c):
 * the head parser, the chunked decoder and request assembly with keep-alive, 100-continue
 * and pipelining, plus the response writer on whatever was parsed.
 *
 * Input: byte 0 picks how the stream is cut into reads (1..256 bytes, or all at once),
 * byte 1 picks small or default limits; the rest is what a client sends on one connection.
 * Besides crashes and sanitizer reports, it traps on broken promises:
 *  - a head reported complete lies inside the input, and its slices inside the buffer;
 *  - the stream gives the same requests (count, bodies, final verdict) whether it arrives
 *    in one read or in small ones: framing must not depend on TCP segmentation;
 *  - the input buffer never moves while a request is assembled.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/rc.h"
#include "server/http.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* What one connection's stream produced, for the comparison. */
typedef struct outcome {
    int n_requests;     /* complete requests */
    uint64_t body_hash; /* FNV-1a over every body and path */
    int refused;        /* 1 if the stream ended in a refusal */
    int status;         /* its status */
    int continues;      /* 100-continue answers asked for */
} outcome;

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void inside(const gs_buf *in, srv_slice s)
{
    if (s.len == 0)
        return;
    CHECK(s.ptr >= in->ptr && s.ptr + s.len <= in->ptr + in->len);
}

/* Feeds data to one assembler in reads of `piece` bytes (0: all at once). */
static void run(const uint8_t *data, size_t len, size_t piece, size_t max_head, size_t max_body,
                outcome *o)
{
    http_rx rx;
    gs_buf in, out;
    srv_response resp;
    size_t off = 0;
    char *base;

    memset(o, 0, sizeof(*o));
    o->body_hash = 1469598103934665603ull;
    http_rx_init(&rx, max_head, max_body);
    rx.pause_at_head = 1; /* as net.c runs it: every body waits for http_rx_accept_head */
    buf_init(&in, max_head + HTTP_IO_ROOM);
    buf_init(&out, 1 << 16);
    memset(&resp, 0, sizeof(resp));
    buf_init(&resp.body, 1 << 16);
    if (buf_reserve(&in, max_head + HTTP_IO_ROOM) != GS_OK)
        goto done;
    base = in.ptr;
    for (int steps = 0; steps < 100000; steps++) {
        http_rx_result r = http_rx_step(&rx, &in);
        CHECK(in.ptr == base);
        if (r == RX_SEND_CONTINUE) {
            o->continues++;
            continue;
        }
        if (r == RX_HEAD_READY) {
            CHECK(rx.state == RX_BODY && rx.head_pending);
            CHECK(http_rx_accept_head(&rx, max_body) == RX_WANT_READ);
            continue;
        }
        if (r == RX_REQUEST) {
            srv_request req;
            http_rx_request(&rx, &req, "fuzz");
            inside(&in, req.method);
            inside(&in, req.path);
            inside(&in, req.query);
            inside(&in, req.authorization);
            inside(&in, req.content_type);
            CHECK(req.body_len == rx.body.len);
            CHECK(req.body_len <= max_body);
            o->n_requests++;
            o->body_hash = fnv(o->body_hash, req.path.ptr, req.path.len);
            if (req.body_len)
                o->body_hash = fnv(o->body_hash, req.body, req.body_len);
            /* answer it, as the server would */
            buf_reset(&out);
            resp.extra_headers[0] = '\0';
            resp.content_type = "text/plain";
            resp.content_encoding = NULL;
            CHECK(http_write_head(&out, 200, &resp, req.body_len, rx.keep_alive) == GS_OK);
            if (!rx.keep_alive)
                break;
            http_rx_next(&rx, &in);
            continue;
        }
        if (r == RX_REFUSE) {
            o->refused = 1;
            o->status = rx.err.status;
            CHECK(rx.err.status >= 400 && rx.err.status < 600 && rx.err.msg && rx.err.code);
            CHECK(http_error_response(&resp, rx.err.status, rx.err.code, rx.err.msg,
                                      rx.err.status & 1) == GS_OK);
            break;
        }
        /* RX_WANT_READ */
        size_t room = http_rx_read_room(&rx, &in);
        size_t n = len - off;
        if (n == 0) {
            /* the stream ends mid-head: rx may have put off parsing until a line ends;
             * the verdict it would reach then must match the other run's */
            if (rx.state == RX_HEAD && in.len) {
                http_head h;
                http_error e;
                size_t look = in.len < max_head ? in.len : max_head;
                long pr = http_parse_head(in.ptr, look, max_head, &h, &e);
                if (pr == HTTP_BAD) {
                    o->refused = 1;
                    o->status = e.status;
                }
                CHECK(pr <= 0); /* a complete head would have been taken */
            }
            break;
        }
        CHECK(room > 0);
        if (piece && n > piece)
            n = piece;
        if (n > room)
            n = room;
        memcpy(in.ptr + in.len, data + off, n);
        in.len += n;
        in.ptr[in.len] = '\0';
        off += n;
    }
done:
    http_rx_free(&rx);
    buf_free(&in);
    buf_free(&out);
    buf_free(&resp.body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome whole, split;
    size_t piece, max_head, max_body;

    if (size < 2)
        return 0;
    piece = data[0] == 0 ? 1 : data[0];
    max_head = (data[1] & 1) ? 256 : 16384;
    max_body = (data[1] & 2) ? 100 : 1 << 20;
    data += 2;
    size -= 2;

    /* the parser alone, on an exact-size copy so reads past the end are caught */
    {
        char *copy = malloc(size ? size : 1);
        http_head h;
        http_error e;
        if (!copy)
            return 0;
        memcpy(copy, data, size);
        long r = http_parse_head(copy, size, max_head, &h, &e);
        CHECK(r == HTTP_NEED_MORE || r == HTTP_BAD || (r > 0 && (size_t)r <= size));
        if (r > 0) {
            CHECK((size_t)r <= max_head);
            CHECK(h.n_headers <= HTTP_MAX_HEADERS);
            CHECK(h.path.ptr == h.target.ptr && h.path.len <= h.target.len);
        }
        if (r == HTTP_BAD)
            CHECK(e.status >= 400 && e.msg != NULL);
        /* the chunked decoder alone */
        {
            http_chunked d;
            gs_buf body;
            size_t used = 0;
            buf_init(&body, max_body);
            http_chunked_init(&d);
            int c = http_chunked_feed(&d, copy, size, &used, &body, &e);
            CHECK(c == HTTP_BAD || c == 0 || c == 1);
            if (c >= 0)
                CHECK(used <= size && body.len <= max_body);
            buf_free(&body);
        }
        free(copy);
    }

    run(data, size, 0, max_head, max_body, &whole);
    run(data, size, piece, max_head, max_body, &split);
    /* framing must not depend on how the bytes were cut into reads, except that a client
     * that has not started its body when the head completes is offered 100 Continue */
    CHECK(whole.n_requests == split.n_requests);
    CHECK(whole.body_hash == split.body_hash);
    CHECK(whole.refused == split.refused);
    CHECK(whole.status == split.status);
    return 0;
}
