/*
 * test_value.c: a field value in every form it takes (proto/value.c, value_json.c,
 * value_text.c, and schema_value_eq):
 * - MessagePack: every kind of value and the limits round-trip byte-exactly; the writer
 *   refuses what the reader refuses, leaving the buffer as it was; hostile bytes (empty,
 *   0xc1, cut short, trailing, too deep, huge counts, ext, map, over the limits) are refused
 *   with the protocol's codes, every prefix of a value is "truncated", and allocation
 *   failure leaks nothing;
 * - equality: a table of pairs, checked both ways, every value equal to itself, and the
 *   field's normal form (an int for a real field, no tombstone value);
 * - JSON both ways: the shape of each type, inputs accepted and refused with the field's
 *   name, and to -> from giving the value back for values of every schema field;
 * - text: what each type accepts and refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "common/alloc.h"
#include "common/arena.h"
#include "proto/value.h"
#include "proto/value_json.h"
#include "proto/value_text.h"
#include "tests/lib/tvalue.h"

static const char ID[16] = {0x01, 0x9a, (char)0xc5, (char)0xe1, (char)0xc2, 0x10, 0x7c, 0x3d,
                            (char)0xa0, 0x4f, 0x50, 0x61, 0x72, (char)0x83, (char)0x94,
                            (char)0xa5};
static proto_str TAGS[] = {{"elderly", 7}, {"lives_alone", 11}, {"", 0}};

/* Bit-for-bit sameness, stricter than proto_value_eq (order of tags, sign of zero, NaN). */
static int same_bits(const proto_value *a, const proto_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case PV_NIL: return 1;
    case PV_BOOL: return a->u.b == b->u.b;
    case PV_INT: return a->u.i == b->u.i;
    case PV_REAL: return memcmp(&a->u.r, &b->u.r, sizeof(double)) == 0;
    case PV_STR:
    case PV_BIN:
        return a->u.s.len == b->u.s.len &&
               (a->u.s.len == 0 || memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0);
    case PV_STRLIST:
        if (a->u.list.n != b->u.list.n)
            return 0;
        for (uint32_t i = 0; i < a->u.list.n; i++)
            if (a->u.list.items[i].len != b->u.list.items[i].len ||
                memcmp(a->u.list.items[i].ptr, b->u.list.items[i].ptr, a->u.list.items[i].len))
                return 0;
        return 1;
    }
    return 0;
}

/* ---- MessagePack ---------------------------------------------------------------------- */

static void test_msgpack_round_trips_every_kind_and_limit(void **state)
{
    static char big[PROTO_MAX_STR], tag64[PROTO_MAX_NAME];
    proto_str many[PROTO_MAX_TAGS];
    proto_value in[16];
    size_t n = 0;
    gs_arena a;
    gs_buf b, again;
    (void)state;

    memset(big, 'x', sizeof(big));
    memset(tag64, 't', sizeof(tag64));
    for (size_t i = 0; i < PROTO_MAX_TAGS; i++)
        many[i] = (proto_str){tag64, PROTO_MAX_NAME};
    in[n++] = tv_nil();
    in[n++] = tv_bool(1);
    in[n++] = tv_bool(0);
    in[n++] = tv_int(INT64_MIN);
    in[n++] = tv_int(INT64_MAX);
    in[n++] = tv_int(-33);
    in[n++] = tv_int(0);
    in[n++] = tv_real(-0.0);
    in[n++] = tv_real(NAN);
    in[n++] = tv_real(29.5);
    in[n++] = tv_strn("王秀英", 9);
    in[n++] = tv_strn(big, PROTO_MAX_STR);
    in[n++] = tv_bin(ID, 16);
    in[n++] = tv_tags(TAGS, 3);
    in[n++] = tv_tags(NULL, 0);
    in[n++] = tv_tags(many, PROTO_MAX_TAGS);
    arena_init(&a, ARENA_NO_CAP);
    buf_init(&b, 1 << 20);
    buf_init(&again, 1 << 20);
    for (size_t i = 0; i < n; i++) {
        proto_value out;
        gs_err err;
        buf_reset(&b);
        buf_reset(&again);
        assert_int_equal(proto_value_encode(&b, &in[i]), GS_OK);
        if (proto_value_decode(&a, b.ptr, b.len, &out, &err) != GS_OK)
            fail_msg("value %zu: %s", i, err.msg);
        if (!same_bits(&in[i], &out))
            fail_msg("value %zu (type %d) changed on the way", i, in[i].type);
        /* the decoded value borrows from the arena's copy, never from the input */
        if ((out.type == PV_STR || out.type == PV_BIN) && out.u.s.len)
            assert_true(out.u.s.ptr < b.ptr || out.u.s.ptr >= b.ptr + b.len);
        assert_int_equal(proto_value_encode(&again, &out), GS_OK);
        assert_int_equal(again.len, b.len);
        assert_memory_equal(again.ptr, b.ptr, b.len);
    }
    /* the canonical forms of PROTOCOL.md 7.4 */
    buf_reset(&b);
    assert_int_equal(proto_value_encode(&b, &in[9]), GS_OK);
    assert_memory_equal(b.ptr, "\xcb\x40\x3d\x80\x00\x00\x00\x00\x00", 9);
    buf_reset(&b);
    in[0] = tv_int(-200);
    assert_int_equal(proto_value_encode(&b, &in[0]), GS_OK);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "\xd1\xff\x38", 3);
    buf_free(&b);
    buf_free(&again);
    arena_free(&a);
}

static void test_msgpack_writer_refuses_what_the_reader_refuses(void **state)
{
    static char big[PROTO_MAX_STR + 1], tag65[PROTO_MAX_NAME + 1];
    proto_str many[PROTO_MAX_TAGS + 1], longtag[1] = {{tag65, PROTO_MAX_NAME + 1}};
    struct {
        proto_value v;
        int rc;
    } cases[] = {
        {tv_strn(big, PROTO_MAX_STR + 1), GS_E_PROTO_LIMIT},
        {tv_strn(NULL, 3), GS_E_PROTO_LIMIT},
        {tv_bin(ID, 15), GS_E_PROTO_TYPE},
        {tv_bin(NULL, 16), GS_E_PROTO_TYPE},
        {tv_tags(many, PROTO_MAX_TAGS + 1), GS_E_PROTO_LIMIT},
        {tv_tags(longtag, 1), GS_E_PROTO_LIMIT},
        {tv_tags(NULL, 2), GS_E_PROTO_LIMIT},
        {{.type = (proto_vtype)99}, GS_E_PROTO_TYPE},
    };
    proto_value ok = tv_strn("abc", 3);
    gs_buf b;
    (void)state;

    for (size_t i = 0; i < PROTO_MAX_TAGS + 1; i++)
        many[i] = (proto_str){"a", 1};
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_adds(&b, "prefix"), GS_OK);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = proto_value_encode(&b, &cases[i].v);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %s, wanted %s", i, gs_rc_name(rc), gs_rc_name(cases[i].rc));
        assert_string_equal(b.ptr, "prefix"); /* nothing stays behind */
    }
    buf_free(&b);
    /* a capped buffer: too large, and nothing stays behind */
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "pre"), GS_OK);
    ok = tv_strn(big, 100);
    assert_int_equal(proto_value_encode(&b, &ok), GS_E_TOO_LARGE);
    assert_int_equal(b.len, 3);
    buf_free(&b);
}

static void test_msgpack_hostile_bytes_are_refused(void **state)
{
    static const struct {
        const char *bytes;
        size_t len;
        int rc;
    } cases[] = {
        {"", 0, GS_E_PROTO_TRUNCATED},
        {"\xc1", 1, GS_E_PROTO},
        {"\xa3" "ab", 3, GS_E_PROTO_TRUNCATED},
        {"\xc0\xc0", 2, GS_E_PROTO_TRAILING},
        {"\x91\x91\x91\x91\x91\x91\x91\xc0", 8, GS_E_PROTO_DEPTH},
        {"\xdd\xff\xff\xff\xff", 5, GS_E_PROTO_LIMIT},   /* an array of 4 billion */
        {"\xdc\x00\x20\xc0", 4, GS_E_PROTO_TRUNCATED},   /* 32 entries announced, 1 there */
        {"\xd4\x01\x00", 3, GS_E_PROTO_TYPE},            /* ext */
        {"\xd6\xff\x00\x00\x00\x00", 6, GS_E_PROTO_TYPE}, /* the MessagePack timestamp */
        {"\x81\xa1k\xc0", 4, GS_E_PROTO_TYPE},           /* a map */
        {"\xcf\x80\x00\x00\x00\x00\x00\x00\x00", 9, GS_E_PROTO_LIMIT}, /* uint above int64 */
        {"\xc4\x0f" "0123456789abcde", 17, GS_E_PROTO_TYPE},           /* bin 15 */
        {"\x91\x01", 2, GS_E_PROTO_TYPE},                /* a tag that is an int */
        {"\x91\xd9\x41" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 68,
         GS_E_PROTO_LIMIT},                              /* a tag of 65 bytes */
    };
    gs_arena a;
    (void)state;

    arena_init(&a, ARENA_NO_CAP);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        proto_value v = tv_int(7);
        gs_err err;
        int rc;
        gs_err_clear(&err);
        rc = proto_value_decode(&a, cases[i].bytes, cases[i].len, &v, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu: %s (%s), wanted %s", i, gs_rc_name(rc), err.msg,
                     gs_rc_name(cases[i].rc));
        if (err.msg[0] == '\0')
            fail_msg("case %zu: no message", i);
        assert_int_equal(v.type, PV_INT); /* untouched */
    }
    /* over the value limits: 4001-byte str, 33 tags */
    {
        static char buf[8 + PROTO_MAX_STR + 1];
        proto_value v;
        gs_err err;
        buf[0] = (char)0xda, buf[1] = (char)((PROTO_MAX_STR + 1) >> 8);
        buf[2] = (char)((PROTO_MAX_STR + 1) & 0xff);
        memset(buf + 3, 'x', PROTO_MAX_STR + 1);
        assert_int_equal(proto_value_decode(&a, buf, 3 + PROTO_MAX_STR + 1, &v, &err),
                         GS_E_PROTO_LIMIT);
        buf[0] = (char)0xdc, buf[1] = 0, buf[2] = PROTO_MAX_TAGS + 1;
        memset(buf + 3, 0xa0, PROTO_MAX_TAGS + 1);
        assert_int_equal(proto_value_decode(&a, buf, 3 + PROTO_MAX_TAGS + 1, &v, &err),
                         GS_E_PROTO_LIMIT);
    }
    /* a map is only a message at the top */
    {
        gs_err err;
        assert_int_equal(proto_scan("\x80", 1, 1, &err), GS_OK);
        assert_int_equal(proto_scan("\x90", 1, 1, &err), GS_E_PROTO);
        assert_int_equal(proto_scan("\x90", 1, 0, &err), GS_OK);
    }
    arena_free(&a);
}

static void test_msgpack_every_prefix_is_truncated(void **state)
{
    proto_value in[] = {tv_strn("王秀英", 9), tv_bin(ID, 16), tv_tags(TAGS, 3), tv_real(1.5),
                        tv_int(INT64_MIN)};
    gs_arena a;
    gs_buf b;
    (void)state;

    arena_init(&a, ARENA_NO_CAP);
    buf_init(&b, 1 << 16);
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        buf_reset(&b);
        assert_int_equal(proto_value_encode(&b, &in[i]), GS_OK);
        for (size_t cut = 0; cut < b.len; cut++) {
            proto_value v;
            gs_err err;
            int rc = proto_value_decode(&a, b.ptr, cut, &v, &err);
            if (rc != GS_E_PROTO_TRUNCATED)
                fail_msg("value %zu cut to %zu of %zu bytes: %s", i, cut, b.len, gs_rc_name(rc));
        }
    }
    buf_free(&b);
    arena_free(&a);
}

static void test_msgpack_allocation_failure_leaks_nothing(void **state)
{
    proto_value in = tv_tags(TAGS, 3);
    gs_buf b;
    long n;
    int rc = GS_E_NOMEM;
    (void)state;

    buf_init(&b, 1 << 16);
    assert_int_equal(proto_value_encode(&b, &in), GS_OK);
    for (n = 0; rc == GS_E_NOMEM && n < 100; n++) {
        gs_arena a;
        proto_value v;
        gs_err err;
        arena_init(&a, ARENA_NO_CAP);
        gs_alloc_fail_after(n);
        rc = proto_value_decode(&a, b.ptr, b.len, &v, &err);
        gs_alloc_fail_after(-1);
        if (rc != GS_OK && rc != GS_E_NOMEM)
            fail_msg("allocation %ld failing: %s", n, gs_rc_name(rc));
        if (rc == GS_OK)
            assert_true(proto_value_eq(&v, &in));
        arena_free(&a);
    }
    assert_int_equal(rc, GS_OK);
    assert_true(n > 1);
    buf_free(&b);
}

/* ---- equality ------------------------------------------------------------------------- */

static void test_equality_table(void **state)
{
    proto_str ab[] = {{"a", 1}, {"b", 1}}, ba[] = {{"b", 1}, {"a", 1}}, aab[] = {{"a", 1},
                                                                             {"a", 1},
                                                                             {"b", 1}};
    proto_str a1[] = {{"a", 1}}, ac[] = {{"a", 1}, {"c", 1}};
    char id2[16];
    struct {
        proto_value x, y;
        int eq;
    } cases[] = {
        {tv_nil(), tv_nil(), 1},
        {tv_nil(), tv_bool(0), 0},
        {tv_nil(), tv_strn("", 0), 0},
        {tv_bool(1), tv_bool(2), 1},
        {tv_bool(1), tv_bool(0), 0},
        {tv_int(1), tv_int(1), 1},
        {tv_int(1), tv_int(2), 0},
        {tv_int(1), tv_real(1.0), 0}, /* types must match; the field's normal form decides */
        {tv_real(0.0), tv_real(-0.0), 1},
        {tv_real(NAN), tv_real(NAN), 1}, /* a value equals itself */
        {tv_real(NAN), tv_real(1.0), 0},
        {tv_real(0.1 + 0.2), tv_real(0.3), 0},
        {tv_strn("ab", 2), tv_strn("ab", 2), 1},
        {tv_strn("ab", 2), tv_strn("abc", 2), 1}, /* len counts, not the NUL */
        {tv_strn("ab", 2), tv_strn("ab", 1), 0},
        {tv_strn("ab", 2), tv_bin("ab", 2), 0},
        {tv_strn("", 0), tv_strn(NULL, 0), 1},
        {tv_bin(ID, 16), tv_bin(ID, 16), 1},
        {tv_bin(ID, 16), tv_bin(id2, 16), 0},
        {tv_tags(ab, 2), tv_tags(ba, 2), 1}, /* sets: order does not matter */
        {tv_tags(ab, 2), tv_tags(aab, 3), 1}, /* nor repeats */
        {tv_tags(ab, 2), tv_tags(a1, 1), 0},
        {tv_tags(ab, 2), tv_tags(ac, 2), 0},
        {tv_tags(NULL, 0), tv_tags(NULL, 0), 1},
        {tv_tags(NULL, 0), tv_nil(), 0},
    };
    (void)state;

    memcpy(id2, ID, 16);
    id2[15] ^= 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (proto_value_eq(&cases[i].x, &cases[i].y) != cases[i].eq ||
            proto_value_eq(&cases[i].y, &cases[i].x) != cases[i].eq)
            fail_msg("case %zu: equality should be %d both ways", i, cases[i].eq);
        if (!proto_value_eq(&cases[i].x, &cases[i].x) || !proto_value_eq(&cases[i].y, &cases[i].y))
            fail_msg("case %zu: a value is not equal to itself", i);
    }
}

static void test_equality_of_a_field_compares_normal_forms(void **state)
{
    const schema_table *visit = schema_table_find("visit", 5);
    const schema_table *res = schema_table_find("resident", 8);
    const schema_field *lat = schema_field_find(visit, "lat", 3);
    const schema_field *born = schema_field_find(res, "born", 4);
    const schema_field *del = schema_field_find(visit, SCHEMA_DELETED_FIELD,
                                                strlen(SCHEMA_DELETED_FIELD));
    proto_value i30 = tv_int(30), r30 = tv_real(30.0), r31 = tv_real(30.5), n = tv_nil(),
                f = tv_bool(0);
    proto_value t = tv_bool(1), out;
    (void)state;

    assert_true(schema_value_eq(lat, &i30, &r30));
    assert_true(schema_value_eq(lat, &r30, &i30));
    assert_false(schema_value_eq(lat, &i30, &r31));
    assert_false(schema_value_eq(born, &i30, &r30)); /* an int field has no such form */
    assert_true(schema_value_eq(del, &n, &f));       /* no tombstone is "not deleted" */
    assert_false(schema_value_eq(del, &n, &t));
    schema_value_normal(lat, &i30, &out);
    assert_int_equal(out.type, PV_REAL);
    assert_true(out.u.r == 30.0);
    schema_value_normal(born, &i30, &out);
    assert_int_equal(out.type, PV_INT);
}

/* ---- JSON ----------------------------------------------------------------------------- */

static const schema_field *field(const char *table, const char *name)
{
    const schema_table *t = schema_table_find(table, strlen(table));
    const schema_field *f = t ? schema_field_find(t, name, strlen(name)) : NULL;
    if (!f)
        fail_msg("no field %s.%s", table, name);
    return f;
}

static void test_json_shape_of_each_type(void **state)
{
    static const struct {
        const char *table, *field;
        proto_value v;
        const char *json;
    } cases[] = {
        {"resident", "name", {.type = PV_STR, .u.s = {"王秀英", 9}}, "\"王秀英\""},
        {"resident", "born", {.type = PV_INT, .u.i = 1941}, "1941"},
        {"visit", "follow_up", {.type = PV_BOOL, .u.b = 1}, "true"},
        {"visit", "lat", {.type = PV_REAL, .u.r = 29.5}, "29.5"},
        {"visit", "lat", {.type = PV_INT, .u.i = 30}, "30.0"},
        {"visit", "visited_at", {.type = PV_INT, .u.i = INT64_C(1795743000000)},
         "\"2026-11-27T01:30:00Z\""},
        {"visit", "visited_at", {.type = PV_INT, .u.i = INT64_C(1795743000250)},
         "\"2026-11-27T01:30:00.250Z\""},
        {"visit", "visited_at", {.type = PV_INT, .u.i = INT64_C(253402300800000)},
         "253402300800000"}, /* year 10000: no ISO form, the ms */
        {"visit", "resident", {.type = PV_BIN, .u.s = {ID, 16}},
         "\"019ac5e1-c210-7c3d-a04f-5061728394a5\""},
        {"resident", "tags", {.type = PV_STRLIST, .u.list = {TAGS, 2}},
         "[\"elderly\",\"lives_alone\"]"},
        {"resident", "phone", {.type = PV_NIL}, "null"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = proto_value_to_json(field(cases[i].table, cases[i].field), &cases[i].v);
        char *text;
        assert_non_null(j);
        text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (strcmp(text, cases[i].json) != 0)
            fail_msg("case %zu: %s, wanted %s", i, text, cases[i].json);
        free(text);
        json_decref(j);
    }
    /* what JSON cannot carry is an error, not a silent null */
    {
        proto_value nan = tv_real(NAN), bin = tv_bin(ID, 15), i7 = tv_int(7);
        json_t *j;
        assert_null(proto_value_to_json(field("visit", "lat"), &nan));
        assert_null(proto_value_to_json(field("visit", "resident"), &bin));
        j = proto_value_to_json(NULL, &i7); /* an unknown field: the value's own type */
        assert_true(json_is_integer(j));
        json_decref(j);
    }
}

static void test_json_input_accepted_and_refused(void **state)
{
    static const struct {
        const char *table, *field, *json;
        int rc;
        const char *msg; /* must appear in the message; on success the value as text */
    } cases[] = {
        {"visit", "visited_at", "\"2026-11-27T09:30:00+08:00\"", GS_OK, "int:1795743000000"},
        {"visit", "visited_at", "\"2026-11-27T09:30\"", GS_OK, "int:1795743000000"},
        {"visit", "visited_at", "1795743000000", GS_OK, "int:1795743000000"},
        {"visit", "visited_at", "\"yesterday\"", GS_E_INVALID,
         "visit.visited_at: 'yesterday' is not a time"},
        {"visit", "visited_at", "true", GS_E_INVALID,
         "visit.visited_at: must be an ISO 8601 time string or ms since 1970, not true/false"},
        {"visit", "lat", "30", GS_OK, "real:30"},
        {"visit", "lat", "\"30\"", GS_E_INVALID, "visit.lat: must be a number, not a string"},
        {"resident", "born", "1941.0", GS_E_INVALID, "resident.born: must be a whole number"},
        {"resident", "born", "null", GS_OK, "nil"},
        {"visit", "follow_up", "1", GS_E_INVALID, "visit.follow_up: must be true or false"},
        {"visit", "resident", "\"019AC5E1-C210-7C3D-A04F-5061728394A5\"", GS_OK, "ref"},
        {"visit", "resident", "\"019ac5e1\"", GS_E_INVALID,
         "visit.resident: '019ac5e1' is not a record id"},
        {"resident", "tags", "[\"elderly\", 3]", GS_E_INVALID,
         "resident.tags: item 2 must be a string, not a whole number"},
        {"resident", "tags", "\"elderly\"", GS_E_INVALID, "resident.tags: must be a list"},
        {"resident", "tags", "[\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                             "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                             "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\","
                             "\"a\",\"a\",\"a\"]",
         GS_E_TOO_LARGE, "resident.tags: 33 tags, at most 32 allowed"},
        {"resident", "tags",
         "[\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]",
         GS_E_TOO_LARGE, "resident.tags: a tag of 65 bytes, at most 64 allowed"},
        {"care", "priority", "{}", GS_E_INVALID, "care.priority: must be a string, not an object"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const schema_table *t = schema_table_find(cases[i].table, strlen(cases[i].table));
        json_t *j = json_loads(cases[i].json, JSON_DECODE_ANY, NULL);
        proto_value v = tv_int(-1);
        gs_arena a;
        gs_err err;
        int rc;
        assert_non_null(j);
        arena_init(&a, ARENA_NO_CAP);
        gs_err_clear(&err);
        rc = proto_value_from_json(t, field(cases[i].table, cases[i].field), j, &a, &v, &err);
        json_decref(j); /* the value must not need it */
        if (rc != cases[i].rc)
            fail_msg("case %zu: %s (%s), wanted %s", i, gs_rc_name(rc), err.msg,
                     gs_rc_name(cases[i].rc));
        if (rc && !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].msg);
        if (rc)
            assert_true(v.type == PV_INT && v.u.i == -1); /* untouched */
        else if (strncmp(cases[i].msg, "int:", 4) == 0)
            assert_true(v.type == PV_INT && v.u.i == strtoll(cases[i].msg + 4, NULL, 10));
        else if (strncmp(cases[i].msg, "real:", 5) == 0)
            assert_true(v.type == PV_REAL && v.u.r == strtod(cases[i].msg + 5, NULL));
        else if (strcmp(cases[i].msg, "nil") == 0)
            assert_int_equal(v.type, PV_NIL);
        else
            assert_true(v.type == PV_BIN && memcmp(v.u.s.ptr, ID, 16) == 0);
        arena_free(&a);
    }
}

/* Values that pass the schema come back from their JSON as they were, for every field. */
static void test_json_round_trip_every_field(void **state)
{
    (void)state;
    for (size_t k = 0; k < schema_n_tables; k++) {
        const schema_table *t = &schema_tables[k];
        for (size_t i = 0; i < t->n_fields; i++) {
            const schema_field *f = &t->fields[i];
            proto_value v, back;
            proto_str tags[2];
            gs_arena a;
            gs_err err;
            json_t *j;
            memset(&v, 0, sizeof(v));
            switch (f->type) {
            case ST_TEXT: v = tv_strn("王秀英 \"<x>\"\n", 16); break;
            case ST_ENUM: v = tv_strn(f->enums[0].name, (uint32_t)strlen(f->enums[0].name)); break;
            case ST_INT: v = tv_int((int64_t)(f->min + f->max) / 2); break;
            case ST_BOOL: v = tv_bool(1); break;
            case ST_REAL: v = tv_real(-12.345678901234); break;
            case ST_TIME: v = tv_int(INT64_C(1795743000123)); break;
            case ST_REF: v = tv_bin(ID, 16); break;
            case ST_TAGS:
                tags[0] = proto_cstr(f->enums[1].name);
                tags[1] = proto_cstr(f->enums[0].name);
                v = tv_tags(tags, 2);
                break;
            }
            if (schema_check_value(t, f, &v, &err) != GS_OK)
                fail_msg("%s.%s: the test's value is refused: %s", t->name, f->name, err.msg);
            j = proto_value_to_json(f, &v);
            assert_non_null(j);
            arena_init(&a, ARENA_NO_CAP);
            if (proto_value_from_json(t, f, j, &a, &back, &err) != GS_OK)
                fail_msg("%s.%s: %s", t->name, f->name, err.msg);
            if (!same_bits(&v, &back))
                fail_msg("%s.%s did not come back from its JSON", t->name, f->name);
            json_decref(j);
            arena_free(&a);
        }
    }
}

/* ---- text ----------------------------------------------------------------------------- */

static void test_text_parsing_table(void **state)
{
    static const struct {
        const char *table, *field, *text;
        int rc;
        const char *want; /* success: the value as JSON; failure: part of the message */
    } cases[] = {
        {"resident", "name", "王秀英", GS_OK, "\"王秀英\""},
        {"resident", "name", "", GS_OK, "null"},
        {"resident", "born", "1941", GS_OK, "1941"},
        {"resident", "born", "-3", GS_OK, "-3"},
        {"resident", "born", "19x1", GS_E_INVALID, "resident.born: '19x1' is not a whole number"},
        {"resident", "born", " 1941", GS_OK, "1941"}, /* strtoll skips leading blanks */
        {"resident", "born", "99999999999999999999", GS_E_INVALID, "is not a whole number"},
        {"visit", "lat", "29.5", GS_OK, "29.5"},
        {"visit", "lat", "1e-3", GS_OK, "0.001"},
        {"visit", "lat", "inf", GS_E_INVALID, "visit.lat: 'inf' is not a number"},
        {"visit", "lat", "nan", GS_E_INVALID, "visit.lat: 'nan' is not a number"},
        {"visit", "lat", "1e999", GS_E_INVALID, "is not a number"},
        {"visit", "follow_up", "YES", GS_OK, "true"},
        {"visit", "follow_up", "True", GS_OK, "true"},
        {"visit", "follow_up", "1", GS_OK, "true"},
        {"visit", "follow_up", "no", GS_OK, "false"},
        {"visit", "follow_up", "0", GS_OK, "false"},
        {"visit", "follow_up", "maybe", GS_E_INVALID,
         "visit.follow_up: 'maybe' is not true or false"},
        {"visit", "visited_at", "2026-11-27T09:30", GS_OK, "\"2026-11-27T01:30:00Z\""},
        {"visit", "visited_at", "2026-11-27", GS_OK, "\"2026-11-26T16:00:00Z\""},
        {"visit", "visited_at", "2026-13-01", GS_E_INVALID,
         "visit.visited_at: '2026-13-01' is not a time"},
        {"visit", "resident", "019AC5E1-C210-7C3D-A04F-5061728394A5", GS_OK,
         "\"019ac5e1-c210-7c3d-a04f-5061728394a5\""},
        {"visit", "resident", "0193a5f0", GS_E_INVALID,
         "visit.resident: '0193a5f0' is not a record id"},
        {"resident", "tags", " elderly , lives_alone,,", GS_OK, "[\"elderly\",\"lives_alone\"]"},
        {"resident", "tags", ",", GS_OK, "[]"},
        {"care", "priority", "urgent", GS_OK, "\"urgent\""},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const schema_table *t = schema_table_find(cases[i].table, strlen(cases[i].table));
        const schema_field *f = field(cases[i].table, cases[i].field);
        proto_value v = tv_int(-1);
        gs_arena a;
        gs_err err;
        int rc;
        arena_init(&a, ARENA_NO_CAP);
        gs_err_clear(&err);
        rc = proto_value_parse(t, f, cases[i].text, &a, &v, &err);
        if (rc != cases[i].rc)
            fail_msg("case %zu ('%s'): %s (%s), wanted %s", i, cases[i].text, gs_rc_name(rc),
                     err.msg, gs_rc_name(cases[i].rc));
        if (rc) {
            if (!strstr(err.msg, cases[i].want))
                fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, cases[i].want);
            assert_true(v.type == PV_INT && v.u.i == -1);
        } else {
            json_t *j = proto_value_to_json(f, &v);
            char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
            if (strcmp(text, cases[i].want) != 0)
                fail_msg("case %zu ('%s'): %s, wanted %s", i, cases[i].text, text, cases[i].want);
            free(text);
            json_decref(j);
        }
        arena_free(&a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msgpack_round_trips_every_kind_and_limit),
        cmocka_unit_test(test_msgpack_writer_refuses_what_the_reader_refuses),
        cmocka_unit_test(test_msgpack_hostile_bytes_are_refused),
        cmocka_unit_test(test_msgpack_every_prefix_is_truncated),
        cmocka_unit_test(test_msgpack_allocation_failure_leaks_nothing),
        cmocka_unit_test(test_equality_table),
        cmocka_unit_test(test_equality_of_a_field_compares_normal_forms),
        cmocka_unit_test(test_json_shape_of_each_type),
        cmocka_unit_test(test_json_input_accepted_and_refused),
        cmocka_unit_test(test_json_round_trip_every_field),
        cmocka_unit_test(test_text_parsing_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
