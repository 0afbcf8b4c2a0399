/*
 * test_zbody.c: HTTP body compression (common/zbody.c), shared by the device client's
 * transport and gridsyncd: round trips at the levels each side uses, the output cap
 * (what the client's "only when it pays" relies on), hostile inflate input, and the
 * header values that negotiate deflate.
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
#include "common/zbody.h"

/* Text that compresses well, like a sync body. */
static char *make_text(size_t n)
{
    char *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = "visit elderly_checkin 东风村3组 "[i % 30];
    return p;
}

/* Bytes that do not compress (a xorshift stream). */
static char *make_noise(size_t n)
{
    char *p = malloc(n);
    uint32_t x = 2463534242u;
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (char)(x & 0xff);
    }
    return p;
}

static void test_deflate_inflate_round_trip_at_each_level(void **state)
{
    static const int levels[] = {ZBODY_LEVEL_FAST, ZBODY_LEVEL_BEST_LINK, 0, 9};
    static const size_t sizes[] = {0, 1, 511, 512, 70000, 300000};
    (void)state;
    for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t n = sizes[s];
            char *text = make_text(n ? n : 1);
            gs_buf z, back;
            gs_err err;
            buf_init(&z, 1024 * 1024);
            buf_init(&back, 1024 * 1024);
            if (zbody_deflate(text, n, levels[l], &z, &err) != GS_OK)
                fail_msg("level %d, %zu bytes: deflate failed: %s", levels[l], n, err.msg);
            if (zbody_inflate(z.ptr, z.len, n, &back, &err) != GS_OK)
                fail_msg("level %d, %zu bytes: inflate failed: %s", levels[l], n, err.msg);
            assert_int_equal(back.len, n);
            assert_memory_equal(back.ptr ? back.ptr : "", text, n);
            if (n >= 512 && levels[l] > 0 && z.len >= n / 4)
                fail_msg("level %d, %zu bytes: deflated to %zu", levels[l], n, z.len);
            buf_free(&z);
            buf_free(&back);
            free(text);
        }
}

/* The client sets the cap one byte under the body: incompressible bodies are refused with
 * GS_E_TOO_LARGE and the buffer is left as it was, so the body goes out as it is. */
static void test_deflate_cap_refuses_and_keeps_buffer(void **state)
{
    size_t n = 20000;
    char *noise = make_noise(n), *text = make_text(n);
    gs_buf z;
    gs_err err;
    (void)state;

    buf_init(&z, n - 1);
    assert_int_equal(zbody_deflate(noise, n, ZBODY_LEVEL_FAST, &z, &err), GS_E_TOO_LARGE);
    assert_int_equal(z.len, 0);
    assert_non_null(strstr(err.msg, "over the limit"));
    /* compressible text fits the same cap */
    assert_int_equal(zbody_deflate(text, n, ZBODY_LEVEL_FAST, &z, &err), GS_OK);
    assert_true(z.len > 0 && z.len < n / 4);
    buf_free(&z);

    /* appending: what was there before a refusal stays, byte for byte */
    buf_init(&z, 100);
    assert_int_equal(buf_adds(&z, "head"), GS_OK);
    assert_int_equal(zbody_deflate(noise, n, ZBODY_LEVEL_BEST_LINK, &z, &err), GS_E_TOO_LARGE);
    assert_int_equal(z.len, 4);
    assert_string_equal(z.ptr, "head");
    buf_free(&z);

    buf_init(&z, 100);
    assert_int_equal(zbody_deflate(text, 10, 10, &z, &err), GS_E_INVALID);
    assert_int_equal(zbody_deflate(text, 10, -1, &z, &err), GS_E_INVALID);
    buf_free(&z);
    free(noise);
    free(text);
}

static void test_inflate_hostile_input(void **state)
{
    size_t n = 1024 * 1024;
    char *zeros = calloc(1, n);
    gs_buf z, out;
    gs_err err;
    (void)state;

    assert_non_null(zeros);
    buf_init(&z, n);
    assert_int_equal(zbody_deflate(zeros, n, ZBODY_LEVEL_BEST_LINK, &z, &err), GS_OK);

    /* a bomb: 1 MiB of zeros from ~1 KB, against a 64 KiB cap */
    buf_init(&out, 1024 * 1024 * 8);
    assert_int_equal(zbody_inflate(z.ptr, z.len, 65536, &out, &err), GS_E_TOO_LARGE);
    assert_int_equal(out.len, 0);
    /* what it allocated follows the cap (the buffer doubles), not the stream's 1 MiB */
    if (out.cap > 2 * 65536 + 1)
        fail_msg("inflating against a 64 KiB cap allocated %zu bytes", out.cap);
    /* exactly at the cap is fine */
    assert_int_equal(zbody_inflate(z.ptr, z.len, n, &out, &err), GS_OK);
    assert_int_equal(out.len, n);
    buf_free(&out);

    /* truncated */
    buf_init(&out, n);
    assert_int_equal(zbody_inflate(z.ptr, z.len / 2, n, &out, &err), GS_E_PROTO);
    assert_int_equal(out.len, 0);
    /* bytes after the end of the stream */
    assert_int_equal(buf_adds(&z, "xyz"), GS_OK);
    assert_int_equal(zbody_inflate(z.ptr, z.len, n, &out, &err), GS_E_PROTO);
    assert_non_null(strstr(err.msg, "follow the end"));
    /* not zlib at all */
    assert_int_equal(zbody_inflate("plain text, not deflate", 23, n, &out, &err), GS_E_PROTO);
    assert_int_equal(out.len, 0);
    buf_free(&out);
    buf_free(&z);
    free(zeros);
}

typedef struct header_case {
    const char *value; /* the header value */
    int accepts;       /* zbody_accepts_deflate (Accept-Encoding) */
    int encoding;      /* zbody_content_encoding (Content-Encoding) */
} header_case;

static void test_header_values(void **state)
{
    static const header_case cases[] = {
        {"deflate", 1, 1},
        {" Deflate ", 1, 1},
        {"gzip, deflate", 1, -1},
        {"deflate;q=0", 0, -1},
        {"deflate; q=0.000", 0, -1},
        {"deflate;q=0.5", 1, -1},
        {"*", 1, -1},
        {"gzip", 0, -1},
        {"identity", 0, 0},
        {"", 0, 0},
        {"br", 0, -1},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const header_case *c = &cases[i];
        int a = zbody_accepts_deflate(c->value, strlen(c->value));
        int e = zbody_content_encoding(c->value, strlen(c->value));
        if (a != c->accepts || e != c->encoding)
            fail_msg("\"%s\": accepts %d (want %d), encoding %d (want %d)", c->value, a,
                     c->accepts, e, c->encoding);
    }
    assert_int_equal(zbody_accepts_deflate(NULL, 0), 0);
    assert_int_equal(zbody_content_encoding(NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deflate_inflate_round_trip_at_each_level),
        cmocka_unit_test(test_deflate_cap_refuses_and_keeps_buffer),
        cmocka_unit_test(test_inflate_hostile_input),
        cmocka_unit_test(test_header_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
