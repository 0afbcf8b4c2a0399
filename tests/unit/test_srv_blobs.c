/*
 * test_srv_blobs.c: the attachment wire's target parser and State (proto/attwire.c) and the
 * server's blob folder (server/blobs.c): resume, retry, beyond the end, past the committed
 * offset, a wrong hash leaves nothing, a right one becomes ROOT/ab/cd... named by its hash.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/sha256.h"
#include "proto/attwire.h"
#include "server/blobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ATT "01a242ec-152b-72f0-a66f-cbfe74a02aba"

static void parse_targets(void **state)
{
    static const struct {
        const char *path, *query;
        int rc;
    } cases[] = {
        {"/v1/attachments/" H64, "att=" ATT, GS_OK},
        {"/v1/attachments/" H64, "att=" ATT "&offset=65536", GS_OK},
        {"/v1/attachments/" H64, "offset=0&att=" ATT "&length=10", GS_OK},
        {"/v1/attachments/" H64, "", GS_E_INVALID},                       /* no att */
        {"/v1/attachments/" H64 "0", "att=" ATT, GS_E_INVALID},          /* 65 digits */
        {"/v1/attachments/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "att=" ATT, GS_E_INVALID},                                       /* upper case */
        {"/v1/attachments/" H64, "att=" ATT "&offset=01", GS_E_INVALID},  /* leading zero */
        {"/v1/attachments/" H64, "att=" ATT "&offset=-1", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=" ATT "&offset=9007199254740992", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=" ATT "&offset=1&offset=2", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=" ATT "&", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=" ATT "&&offset=1", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=" ATT "&length=0", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=" ATT "&x=1", GS_E_INVALID},
        {"/v1/attachments/" H64, "att=nope", GS_E_INVALID},
        {"/v1/sync", "", GS_E_NOTFOUND},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        attwire_req r;
        const char *why = NULL;
        int rc = attwire_parse(cases[i].path, strlen(cases[i].path), cases[i].query,
                               strlen(cases[i].query), &r, &why);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s?%s): rc %d, want %d (%s)", i, cases[i].path, cases[i].query,
                     rc, cases[i].rc, why ? why : "");
        if (rc == GS_E_INVALID)
            assert_non_null(why);
    }
    {
        attwire_req r;
        const char *q = "offset=70&att=" ATT "&length=5";
        assert_int_equal(attwire_parse("/v1/attachments/" H64, 80, q, strlen(q), &r, NULL),
                         GS_OK);
        assert_string_equal(r.sha256, H64);
        assert_string_equal(r.att, ATT);
        assert_true(r.has_offset && r.offset == 70 && r.has_length && r.length == 5);
    }
}

static void state_round_trip(void **state)
{
    attwire_state in = {65536, 200000, 0}, out;
    gs_buf b;
    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(attwire_encode_state(&b, &in), GS_OK);
    assert_int_equal(attwire_decode_state(b.ptr, b.len, &out), GS_OK);
    assert_true(out.off == 65536 && out.size == 200000 && !out.done);
    assert_int_not_equal(attwire_decode_state(b.ptr, b.len - 1, &out), GS_OK);
    buf_free(&b);
    /* done with off below size is a lie */
    in.done = 1;
    buf_init(&b, 1024);
    assert_int_equal(attwire_encode_state(&b, &in), GS_OK);
    assert_int_not_equal(attwire_decode_state(b.ptr, b.len, &out), GS_OK);
    buf_free(&b);
}

static void blob_upload(void **state)
{
    char root[] = "/tmp/test_blobs.XXXXXX", path[2048], hex[65];
    unsigned char data[150000], sum[32];
    uint64_t off = 0;
    int done = 0;
    blobs *b = NULL;
    gs_err err;
    struct stat sb;
    (void)state;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 31 + 7);
    assert_int_equal(sha256_of(data, sizeof(data), sum), GS_OK);
    sha256_hex(sum, hex);
    assert_non_null(mkdtemp(root));
    assert_int_equal(blobs_open(&b, root, &err), GS_OK);
    /* past the committed offset, beyond the end: refused, nothing written */
    assert_int_equal(blobs_write(b, hex, sizeof(data), 10, data + 10, 5, &off, &done, &err),
                     GS_E_STATE);
    assert_int_equal(blobs_write(b, hex, sizeof(data), 149999, data, 2, &off, &done, &err),
                     GS_E_INVALID);
    assert_int_equal(blobs_stat(b, hex, &off, &done, &err), GS_OK);
    assert_true(off == 0 && !done);
    /* two chunks, the second retried overlapping the first */
    assert_int_equal(blobs_write(b, hex, sizeof(data), 0, data, 65536, &off, &done, &err), GS_OK);
    assert_true(off == 65536 && !done);
    assert_int_equal(blobs_write(b, hex, sizeof(data), 60000, data + 60000, 65536, &off, &done,
                                 &err), GS_OK);
    assert_true(off == 125536 && !done);
    assert_int_equal(blobs_write(b, hex, sizeof(data), 125536, data + 125536,
                                 sizeof(data) - 125536, &off, &done, &err), GS_OK);
    assert_true(off == sizeof(data) && done);
    assert_int_equal(blobs_path(b, hex, path, sizeof(path)), GS_OK);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal((size_t)sb.st_size, sizeof(data));
    {
        gs_buf out;
        uint64_t size = 0;
        buf_init(&out, 1 << 20);
        assert_int_equal(blobs_read(b, hex, 100, 50, &out, &size, &err), GS_OK);
        assert_int_equal(out.len, 50);
        assert_memory_equal(out.ptr, data + 100, 50);
        assert_int_equal(size, sizeof(data));
        buf_free(&out);
    }
    /* a wrong hash: the part goes, nothing becomes visible */
    {
        char other[65];
        memcpy(other, hex, 65);
        other[0] = other[0] == 'a' ? 'b' : 'a';
        assert_int_equal(blobs_write(b, other, 1000, 0, data, 1000, &off, &done, &err),
                         GS_E_CRYPTO);
        assert_int_equal(blobs_stat(b, other, &off, &done, &err), GS_OK);
        assert_true(off == 0 && !done);
    }
    assert_int_equal(blobs_remove(b, hex, &err), GS_OK);
    assert_int_not_equal(stat(path, &sb), 0);
    blobs_close(b);
    snprintf(path, sizeof(path), "rm -rf %s", root);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_targets),
        cmocka_unit_test(state_round_trip),
        cmocka_unit_test(blob_upload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
