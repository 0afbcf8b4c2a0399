/*
 * test_client_fieldpack.c: the outbox blob (client/fieldpack.c), on its own:
 * - encode -> decode gives back every kind of value, with each field's base and clock, at
 *   the protocol's limits too (a 4000-byte text, 32 tags, 64 fields), in the wire's "f"
 *   map, canonical bytes, a field's own clock written only where it is not the row's;
 * - rows of earlier versions (arrays of entries) still read: four-element entries keep
 *   their own clock (even 0), three-element ones take the row's, in one blob mixed;
 * - a decoded fieldset owns its bytes: the input can be overwritten and freed at once;
 *   decoding again frees what the set held;
 * - the writer refuses what cannot be sent (a bin that is not an id, a text or tag list
 *   over the limits, a full buffer, no memory) and leaves the buffer as it was;
 * - damaged blobs, a table of them and every prefix of a good one, are GS_E_DB and leave
 *   the set empty; allocation failure is GS_E_NOMEM, never GS_E_DB, and leaks nothing;
 * - fieldset_find matches whole names only.
 * test_client_outbox.c checks the bytes of blobs written by earlier versions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/fieldpack.h"
#include "common/alloc.h"
#include "proto/value.h"
#include "tests/lib/tvalue.h"

static const uint8_t ID[16] = {0x01, 0x9a, 0xc5, 0xe1, 0xc2, 0x10, 0x7c, 0x3d,
                               0xa0, 0x4f, 0x50, 0x61, 0x72, 0x83, 0x94, 0xa5};
static proto_str TAGS[] = {{"elderly", 7}, {"lives_alone", 11}};

/* A field with its own clock. */
static proto_field fld(const char *name, proto_value v, uint64_t base, uint64_t hlc)
{
    proto_field f = tv_field(name, v, base);
    f.hlc = hlc;
    return f;
}

/* Fails unless fs holds exactly fields[0..n), in order, values equal bit for bit. */
static void expect_fields(const fieldset *fs, const proto_field *fields, uint32_t n)
{
    if (fs->n != n)
        fail_msg("decoded %u fields, want %u", fs->n, n);
    for (uint32_t i = 0; i < n; i++) {
        const proto_field *got = &fs->fields[i], *want = &fields[i];
        if (got->name.len != want->name.len ||
            memcmp(got->name.ptr, want->name.ptr, want->name.len) != 0)
            fail_msg("field %u: name '%.*s', want '%.*s'", i, (int)got->name.len,
                     got->name.ptr, (int)want->name.len, want->name.ptr);
        if (got->value.type != want->value.type || !proto_value_eq(&got->value, &want->value))
            fail_msg("field %u (%.*s): value differs (type %d, want %d)", i,
                     (int)want->name.len, want->name.ptr, (int)got->value.type,
                     (int)want->value.type);
        if (got->ver != want->ver || got->hlc != want->hlc)
            fail_msg("field %u (%.*s): base %llu hlc %llu, want %llu %llu", i,
                     (int)want->name.len, want->name.ptr, (unsigned long long)got->ver,
                     (unsigned long long)got->hlc, (unsigned long long)want->ver,
                     (unsigned long long)want->hlc);
    }
}

static void test_round_trip_every_kind(void **state)
{
    proto_field f[] = {
        fld("name", tv_str("王秀英"), 0, UINT64_C(0x0193a5f07c1e0001)),
        fld("address", tv_str(""), 3, 7),
        fld("phone", tv_nil(), 4, 8),          /* a cleared field */
        fld("born", tv_int(1941), 5, 9),
        fld("neg", tv_int(INT64_MIN), 6, 10),
        fld("lat", tv_real(-29.5625), 7, 11),
        fld("follow_up", tv_bool(1), 8, 12),
        fld("deleted", tv_bool(0), 9, 13),
        fld("resident", tv_ref(ID), UINT64_MAX, UINT64_MAX),
        fld("tags", tv_tags(TAGS, 2), 10, 14),
        fld("none", tv_tags(NULL, 0), 11, 15), /* an empty tag list is not nil */
    };
    uint32_t n = sizeof(f) / sizeof(f[0]);
    fieldset fs;
    gs_buf b;
    (void)state;

    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, n, 1), GS_OK);
    assert_true(fieldpack_is_wire(b.ptr, b.len));
    fieldset_init(&fs);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_OK);
    expect_fields(&fs, f, n);
    /* no fields at all is a blob too (an empty map) */
    buf_reset(&b);
    assert_int_equal(fieldpack_encode(&b, NULL, 0, 1), GS_OK);
    assert_int_equal(b.len, 1);
    assert_int_equal((unsigned char)b.ptr[0], 0x80);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_OK);
    assert_int_equal(fs.n, 0);
    fieldset_free(&fs);
    buf_free(&b);
}

/* The bytes are MessagePack's shortest forms, reals float 64, and a field's clock is
 * there only where it is not the row's; 0, no clock, means the row's too. */
static void test_canonical_bytes(void **state)
{
    /* {"born": [1941, 3, 5], "lat": [29.5, 0], "x": [nil, 7]}, row 0x0193a5f07c1e0001 */
    static const char want[] = "\x83"
                               "\xa4" "born" "\x93" "\xcd\x07\x95" "\x03" "\x05"
                               "\xa3" "lat" "\x92" "\xcb\x40\x3d\x80\x00\x00\x00\x00\x00"
                               "\x00"
                               "\xa1" "x" "\x92" "\xc0" "\x07";
    proto_field f[3] = {fld("born", tv_int(1941), 3, 5),
                        fld("lat", tv_real(29.5), 0, UINT64_C(0x0193a5f07c1e0001)),
                        fld("x", tv_nil(), 7, 0)};
    gs_buf b;
    (void)state;

    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, 3, UINT64_C(0x0193a5f07c1e0001)), GS_OK);
    assert_int_equal(b.len, sizeof(want) - 1);
    assert_memory_equal(b.ptr, want, b.len);
    buf_free(&b);
}

static void test_three_and_four_element_entries(void **state)
{
    /* [["name","x",7], ["born",1941,8,5], ["grid","g1",9,0]] */
    static const char mixed[] = "\x93"
                                "\x93\xa4name\xa1x\x07"
                                "\x94\xa4" "born\xcd\x07\x95\x08\x05"
                                "\x94\xa4grid\xa2g1\x09\x00";
    proto_field want[3] = {fld("name", tv_str("x"), 7, 99), fld("born", tv_int(1941), 8, 5),
                           fld("grid", tv_str("g1"), 9, 0)};
    fieldset fs;
    (void)state;

    fieldset_init(&fs);
    assert_int_equal(fieldpack_decode(&fs, mixed, sizeof(mixed) - 1, 99), GS_OK);
    /* the three-element entry takes the row's clock, 99; the others keep their own, 0 too */
    expect_fields(&fs, want, 3);
    /* and written again it is a wire map: the row's clock implied, the other explicit (a
     * clock of 0 is no clock of its own: the row's) */
    {
        gs_buf b;
        fieldset again;
        buf_init(&b, FIELDPACK_MAX);
        assert_int_equal(fieldpack_encode(&b, fs.fields, fs.n, 99), GS_OK);
        assert_true(fieldpack_is_wire(b.ptr, b.len));
        assert_int_equal((unsigned char)b.ptr[0], 0x83);
        assert_int_equal((unsigned char)b.ptr[6], 0x92); /* "name": [value, base] */
        fieldset_init(&again);
        assert_int_equal(fieldpack_decode(&again, b.ptr, b.len, 99), GS_OK);
        want[2].hlc = 99;
        expect_fields(&again, want, 3);
        /* read with another row clock, only the field without its own clock follows it */
        assert_int_equal(fieldpack_decode(&again, b.ptr, b.len, 12345), GS_OK);
        assert_int_equal(again.fields[0].hlc, 12345);
        assert_int_equal(again.fields[1].hlc, 5);
        assert_int_equal(again.fields[2].hlc, 12345);
        fieldset_free(&again);
        buf_free(&b);
    }
    fieldset_free(&fs);
}

/* A decoded set points into its own arena: the input may go away at once. */
static void test_decoded_set_owns_its_bytes(void **state)
{
    proto_field f[2] = {fld("notes", tv_str("老人身体状况良好"), 2, 3),
                        fld("tags", tv_tags(TAGS, 2), 4, 5)};
    fieldset fs;
    gs_buf b;
    char *copy;
    (void)state;

    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, 2, 1), GS_OK);
    copy = malloc(b.len);
    assert_non_null(copy);
    memcpy(copy, b.ptr, b.len);
    fieldset_init(&fs);
    assert_int_equal(fieldpack_decode(&fs, copy, b.len, 1), GS_OK);
    memset(copy, 0xAA, b.len);
    free(copy); /* AddressSanitizer reports any read of it below */
    expect_fields(&fs, f, 2);
    /* decoding again replaces (and frees) what the set held */
    assert_int_equal(fieldpack_decode(&fs, b.ptr, 1, 1), GS_E_DB);
    assert_int_equal(fs.n, 0);
    assert_null(fs.fields);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_OK);
    expect_fields(&fs, f, 2);
    fieldset_free(&fs);
    fieldset_free(&fs); /* twice: harmless */
    buf_free(&b);
}

/* What the protocol could not carry is never written, and the buffer keeps what it had. */
static void test_writer_refuses_and_leaves_buffer(void **state)
{
    static char long_text[PROTO_MAX_STR + 1];
    static proto_str many[PROTO_MAX_TAGS + 1];
    proto_field bad[] = {
        fld("resident", tv_bin(ID, 15), 0, 1),                       /* not an id */
        fld("notes", tv_strn(long_text, PROTO_MAX_STR + 1), 0, 1),   /* text too long */
        fld("tags", tv_tags(many, PROTO_MAX_TAGS + 1), 0, 1),        /* too many tags */
    };
    const int want_rc[] = {GS_E_PROTO_TYPE, GS_E_PROTO_LIMIT, GS_E_PROTO_LIMIT};
    proto_field ok = fld("name", tv_str("甲"), 0, 1);
    gs_buf b;
    (void)state;

    memset(long_text, 'x', sizeof(long_text));
    for (uint32_t i = 0; i <= PROTO_MAX_TAGS; i++)
        many[i] = proto_cstr("elderly");
    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(buf_add(&b, "keep", 4), GS_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        proto_field two[2] = {ok, bad[i]}; /* the good field first: it must go too */
        int rc = fieldpack_encode(&b, two, 2, 1);
        if (rc != want_rc[i])
            fail_msg("bad field %zu: rc %d, want %d", i, rc, want_rc[i]);
        assert_int_equal(b.len, 4);
        assert_memory_equal(b.ptr, "keep", 4);
    }
    buf_free(&b);
    /* a buffer whose cap the blob would pass */
    buf_init(&b, 8);
    assert_int_equal(buf_add(&b, "keep", 4), GS_OK);
    assert_int_equal(fieldpack_encode(&b, &ok, 1, 1), GS_E_TOO_LARGE);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.ptr, "keep", 4);
    buf_free(&b);
    /* no memory for the buffer to grow */
    buf_init(&b, FIELDPACK_MAX);
    gs_alloc_fail_after(0);
    assert_int_equal(fieldpack_encode(&b, &ok, 1, 1), GS_E_NOMEM);
    gs_alloc_fail_after(-1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

/* The protocol's limits exactly: a 4000-byte text, 32 tags of 64 bytes, 64 fields. */
static void test_limits_round_trip(void **state)
{
    static char text[PROTO_MAX_STR];
    static char tag[PROTO_MAX_NAME];
    static proto_str tags[PROTO_MAX_TAGS];
    static char names[PROTO_MAX_FIELDS][8];
    static proto_field f[PROTO_MAX_FIELDS];
    fieldset fs;
    gs_buf b;
    (void)state;

    /* 1333 Chinese characters and one byte: a text of exactly the limit */
    for (size_t i = 0; i + 3 <= sizeof(text); i += 3)
        memcpy(text + i, "很", 3);
    text[sizeof(text) - 1] = '!';
    memset(tag, 't', sizeof(tag));
    for (uint32_t i = 0; i < PROTO_MAX_TAGS; i++)
        tags[i] = (proto_str){tag, PROTO_MAX_NAME};
    for (uint32_t i = 0; i < PROTO_MAX_FIELDS; i++) {
        snprintf(names[i], sizeof(names[i]), "f%u", i);
        f[i] = fld(names[i], i % 2 ? tv_strn(text, PROTO_MAX_STR) : tv_tags(tags, PROTO_MAX_TAGS),
                   i, 1000 + i);
    }
    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, PROTO_MAX_FIELDS, 1), GS_OK);
    assert_true(b.len <= FIELDPACK_MAX);
    fieldset_init(&fs);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_OK);
    expect_fields(&fs, f, PROTO_MAX_FIELDS);
    fieldset_free(&fs);
    buf_free(&b);
}

static void test_damaged_blobs_refused(void **state)
{
#define B(lit) {lit, sizeof(lit) - 1}
    static const struct {
        const char *p; /* the bytes */
        size_t len;    /* their length */
    } damaged[] = {
        B(""),                                    /* nothing */
        B("\xc0"),                                /* nil, neither a map nor an array */
        B("\x05"),                                /* an int */
        B("\xa4name"),                            /* a str */
        B("\x91\xc0"),                            /* an entry that is nil */
        B("\x91\x90"),                            /* an empty entry */
        B("\x91\x92\xa4name\xc0"),                /* two elements */
        B("\x91\x95\xa4name\xc0\x01\x02\x03"),    /* five elements */
        B("\x91\x93\x01\xc0\x01"),                /* a name that is an int */
        B("\x91\x93\xc4\x04name\xc0\x01"),        /* a name that is bin */
        B("\x91\x93\xa4name\xc0\xa1x"),           /* a base that is str */
        B("\x91\x93\xa4name\xc0\xff"),            /* a negative base */
        B("\x91\x93\xa4name\xc0\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"), /* a float base */
        B("\x91\x94\xa4name\xc0\x01\xff"),        /* a negative clock */
        B("\x91\x94\xa4name\xc0\x01\xc0"),        /* a nil clock */
        B("\x91\x93\xa4name\x81\xa1k\xa1v\x01"),  /* a map value */
        B("\x91\x93\xa4name\xd4\x01\x00\x01"),    /* an ext value */
        B("\x91\x93\xa4name\x92\x01\x02\x01"),    /* tags that are ints */
        B("\x91\x93\xa4name\xc4\x02zz\x07"),      /* a bin that is not an id */
        B("\x91\x93\xa4name\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x01"), /* int past 2^63-1 */
        B("\x91\x93\xa4name\xc1\x07"),            /* 0xc1 is not MessagePack */
        B("\x93\x93\xa4name\xc0\x01"),            /* three entries announced, one there */
        B("\x91\x93\xa4name\xc0\x01\xc0"),        /* a byte after the blob */
        B("\xdc\xff\xff\x93\xa4name\xc0\x01"),    /* 65535 entries announced */
        B("\x92\x93\xa4name\xc0\x01\x92\x01"),    /* a good entry, then a damaged one */
        B("\x91\x93\xa4name\x91\x91\x91\x91\x91\x91\xc0\x07"), /* nested too deep */
        /* the wire's map form */
        B("\x81\xa4name\xc0"),                   /* an entry that is not an array */
        B("\x81\xa4name\x91\xc0"),               /* one element */
        B("\x81\xa4name\x94\xc0\x01\x02\x03"),   /* four elements */
        B("\x81\x01\x92\xc0\x01"),               /* a name that is an int */
        B("\x81\xa4name\x92\xc0\xff"),           /* a negative base */
        B("\x81\xa4name\x92\xc0\xa1x"),          /* a base that is str */
        B("\x81\xa4name\x93\xc0\x01\xc0"),       /* a nil clock */
        B("\x81\xa4name\x92\x81\xa1k\xa1v\x01"), /* a map value */
        B("\x82\xa4name\x92\xc0\x01"),           /* two fields announced, one there */
        B("\x81\xa4name\x92\xc0\x01\xc0"),       /* a byte after the map */
        B("\x82\xa4name\x92\xc0\x01\xa4name\x92\xc0\x02"), /* a name twice */
        B("\xde\xff\xff\xa4name\x92\xc0\x01"),   /* 65535 fields announced */
    };
#undef B
    fieldset fs;
    (void)state;

    fieldset_init(&fs);
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        /* the set holds a good decode first: a failure must empty it */
        assert_int_equal(fieldpack_decode(&fs, "\x91\x93\xa1" "a\xc0\x00", 6, 1), GS_OK);
        assert_int_equal(fs.n, 1);
        int rc = fieldpack_decode(&fs, damaged[i].p, damaged[i].len, 1);
        if (rc != GS_E_DB)
            fail_msg("damaged blob %zu: rc %d (%s), want GS_E_DB", i, rc, gs_rc_name(rc));
        if (fs.n != 0 || fs.fields != NULL)
            fail_msg("damaged blob %zu left %u fields in the set", i, fs.n);
    }
    fieldset_free(&fs);
}

/* Over the limits a reader must hold: 65 fields, a longer text, 33 tags, a blob past
 * FIELDPACK_MAX (never even scanned). */
static void test_blobs_over_the_limits_refused(void **state)
{
    gs_buf b;
    fieldset fs;
    char *big;
    (void)state;

    buf_init(&b, 2 * FIELDPACK_MAX);
    fieldset_init(&fs);
    /* 65 fields, by hand (the writer is given no chance to refuse) */
    assert_int_equal(buf_add(&b, "\xdc\x00\x41", 3), GS_OK);
    for (int i = 0; i < 65; i++)
        assert_int_equal(buf_add(&b, "\x93\xa1x\xc0\x00", 5), GS_OK);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_E_DB);
    /* a text of 4001 bytes */
    buf_reset(&b);
    assert_int_equal(buf_add(&b, "\x91\x93\xa1x\xda\x0f\xa1", 7), GS_OK);
    for (int i = 0; i < 4001; i++)
        assert_int_equal(buf_add(&b, "y", 1), GS_OK);
    assert_int_equal(buf_add(&b, "\x00", 1), GS_OK);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_E_DB);
    /* 33 tags */
    buf_reset(&b);
    assert_int_equal(buf_add(&b, "\x91\x93\xa1x\xdc\x00\x21", 7), GS_OK);
    for (int i = 0; i < 33; i++)
        assert_int_equal(buf_add(&b, "\xa1t", 2), GS_OK);
    assert_int_equal(buf_add(&b, "\x00", 1), GS_OK);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_E_DB);
    /* past FIELDPACK_MAX: refused by its length alone, though well framed (60 fields named
     * with 5000 bytes each; names are checked against the schema later, not here) */
    buf_reset(&b);
    assert_int_equal(buf_add(&b, "\xdc\x00\x3c", 3), GS_OK);
    big = malloc(5000);
    assert_non_null(big);
    memset(big, 'n', 5000);
    for (int i = 0; i < 60; i++) {
        assert_int_equal(buf_add(&b, "\x93\xda\x13\x88", 4), GS_OK);
        assert_int_equal(buf_add(&b, big, 5000), GS_OK);
        assert_int_equal(buf_add(&b, "\xc0\x00", 2), GS_OK);
    }
    free(big);
    assert_true(b.len > FIELDPACK_MAX);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_E_DB);
    /* the same with 50 such fields is under the limit, and decodes */
    b.ptr[2] = 50;
    assert_int_equal(fieldpack_decode(&fs, b.ptr, 3 + 50 * 5006, 1), GS_OK);
    assert_int_equal(fs.n, 50);
    fieldset_free(&fs);
    assert_int_equal(fs.n, 0);
    fieldset_free(&fs);
    buf_free(&b);
}

/* Every proper prefix of a good blob is damaged; only the whole blob decodes. */
static void test_every_prefix_refused(void **state)
{
    proto_field f[3] = {fld("name", tv_str("王秀英"), 1, 2), fld("born", tv_int(1941), 3, 4),
                        fld("tags", tv_tags(TAGS, 2), 5, 6)};
    fieldset fs;
    gs_buf b;
    (void)state;

    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, 3, 2), GS_OK);
    fieldset_init(&fs);
    for (size_t len = 0; len < b.len; len++) {
        int rc = fieldpack_decode(&fs, b.ptr, len, 2);
        if (rc != GS_E_DB)
            fail_msg("a prefix of %zu of %zu bytes: rc %d, want GS_E_DB", len, b.len, rc);
        assert_int_equal(fs.n, 0);
    }
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 2), GS_OK);
    expect_fields(&fs, f, 3);
    fieldset_free(&fs);
    buf_free(&b);
}

/* Out of memory at each allocation of a decode: GS_E_NOMEM (the row is not damaged), the
 * set empty, nothing leaked; then it succeeds. */
static void test_decode_allocation_failure(void **state)
{
    proto_field f[2] = {fld("notes", tv_str("走访"), 1, 2), fld("tags", tv_tags(TAGS, 2), 3, 4)};
    fieldset fs;
    gs_buf b;
    int failures = 0, rc = GS_E_NOMEM;
    (void)state;

    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, 2, 2), GS_OK);
    fieldset_init(&fs);
    for (long n = 0; n < 50 && rc != GS_OK; n++) {
        gs_alloc_fail_after(n);
        rc = fieldpack_decode(&fs, b.ptr, b.len, 2);
        gs_alloc_fail_after(-1);
        if (rc == GS_OK)
            break;
        if (rc != GS_E_NOMEM)
            fail_msg("allocation %ld failing gave rc %d, want GS_E_NOMEM", n, rc);
        assert_int_equal(fs.n, 0);
        failures++;
    }
    assert_int_equal(rc, GS_OK);
    assert_true(failures >= 1);
    expect_fields(&fs, f, 2);
    fieldset_free(&fs);
    buf_free(&b);
}

static void test_find_matches_whole_names(void **state)
{
    proto_field f[3] = {fld("name", tv_str("a"), 0, 1), fld("names", tv_str("b"), 0, 1),
                        fld("n", tv_str("c"), 0, 1)};
    fieldset fs;
    gs_buf b;
    (void)state;

    fieldset_init(&fs);
    assert_int_equal(fieldset_find(&fs, "name", 4), -1); /* an empty set */
    buf_init(&b, FIELDPACK_MAX);
    assert_int_equal(fieldpack_encode(&b, f, 3, 1), GS_OK);
    assert_int_equal(fieldpack_decode(&fs, b.ptr, b.len, 1), GS_OK);
    assert_int_equal(fieldset_find(&fs, "name", 4), 0);
    assert_int_equal(fieldset_find(&fs, "names", 5), 1);
    assert_int_equal(fieldset_find(&fs, "n", 1), 2);
    assert_int_equal(fieldset_find(&fs, "nam", 3), -1);
    assert_int_equal(fieldset_find(&fs, "namesake", 8), -1);
    assert_int_equal(fieldset_find(&fs, "names", 4), 0); /* the length decides, not a NUL */
    assert_int_equal(fieldset_find(&fs, "", 0), -1);
    fieldset_free(&fs);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_canonical_bytes),
        cmocka_unit_test(test_three_and_four_element_entries),
        cmocka_unit_test(test_decoded_set_owns_its_bytes),
        cmocka_unit_test(test_writer_refuses_and_leaves_buffer),
        cmocka_unit_test(test_limits_round_trip),
        cmocka_unit_test(test_damaged_blobs_refused),
        cmocka_unit_test(test_blobs_over_the_limits_refused),
        cmocka_unit_test(test_every_prefix_refused),
        cmocka_unit_test(test_decode_allocation_failure),
        cmocka_unit_test(test_find_matches_whole_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
