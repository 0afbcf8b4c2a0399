/*
 * test_client_pval.c: typed values as the client keeps them (client/pval.c), against a real
 * SQLite database in memory:
 * - bind -> read through a column of every schema type gives the value back, stored in
 *   the column type pval.h documents (TEXT, INTEGER, INTEGER 0/1, REAL also for an int,
 *   BLOB of 16, TEXT holding a JSON array, NULL);
 * - a column holding the wrong type for its field (a file edited by hand) is GS_E_DB
 *   naming the field, never a guess;
 * - owned values: deep copies independent of their source, every string NUL-terminated,
 *   pval_free leaving nil; allocation failure at every step of a copy is GS_E_NOMEM with
 *   the destination nil and nothing leaked;
 * - tags as JSON text: quotes, backslashes and control characters escaped, read back
 *   by jansson as the same strings;
 * - text for people (pval_format) of every type, and parsing (pval_parse) into owned values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "client/pval.h"
#include "common/alloc.h"
#include "tests/lib/tsql.h"
#include "tests/lib/tvalue.h"

static const uint8_t ID[16] = {0x01, 0x9a, 0xc5, 0xe1, 0xc2, 0x10, 0x7c, 0x3d,
                               0xa0, 0x4f, 0x50, 0x61, 0x72, 0x83, 0x94, 0xa5};
static proto_str TAGS[] = {{"elderly", 7}, {"lives_alone", 11}};

static const schema_field *field(const char *table, const char *name)
{
    const schema_table *t = schema_table_find(table, strlen(table));
    const schema_field *f = t ? schema_field_find(t, name, strlen(name)) : NULL;
    if (!f)
        fail_msg("no field %s.%s in the schema", table, name);
    return f;
}

static sqlite3 *mem_db(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (v)", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* Stores v as field f (pval_bind), and returns the statement reading it back, stepped. */
static sqlite3_stmt *store_and_select(sqlite3 *db, const schema_field *f, const proto_value *v)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_exec(db, "DELETE FROM t", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1)", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(pval_bind(st, 1, f, v), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM t", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    return st;
}

/* A value, bit for bit: type and contents (tags in order). */
static int same(const proto_value *a, const proto_value *b)
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

/* Every string of an owned value ends with a NUL just past its length. */
static void expect_nul_terminated(const proto_value *v)
{
    if (v->type == PV_STR || v->type == PV_BIN) {
        assert_non_null(v->u.s.ptr);
        assert_int_equal(v->u.s.ptr[v->u.s.len], '\0');
    } else if (v->type == PV_STRLIST) {
        for (uint32_t i = 0; i < v->u.list.n; i++)
            assert_int_equal(v->u.list.items[i].ptr[v->u.list.items[i].len], '\0');
    }
}

static void test_bind_read_round_trip_and_storage(void **state)
{
    static const struct {
        const char *table, *field; /* the schema field */
        proto_value v;             /* written */
        const char *storage;       /* SQLite's typeof() of the column */
        const char *stored;        /* the column as text (hex for a blob), or NULL */
        proto_value back;          /* read back */
    } cases[] = {
        {"resident", "name", TV_STR("王秀英"), "text", "王秀英", TV_STR("王秀英")},
        {"resident", "address", TV_STR(""), "text", "", TV_STR("")},
        {"resident", "phone", TV_NIL, "null", NULL, TV_NIL},
        {"resident", "born", TV_INT(1941), "integer", "1941", TV_INT(1941)},
        {"visit", "visited_at", TV_INT(1795743000250), "integer", "1795743000250",
         TV_INT(1795743000250)},
        {"visit", "kind", TV_STR("routine"), "text", "routine", TV_STR("routine")},
        {"visit", "follow_up", TV_BOOL(1), "integer", "1", TV_BOOL(1)},
        {"visit", "follow_up", TV_BOOL(0), "integer", "0", TV_BOOL(0)},
        {"visit", "lat", TV_REAL(29.5625), "real", "29.5625", TV_REAL(29.5625)},
        {"visit", "lat", TV_INT(30), "real", "30.0", TV_REAL(30.0)}, /* an int for a real */
        {"visit", "lat", TV_REAL(-0.0), "real", NULL, TV_REAL(-0.0)},
        {"visit", "resident", TV_REF(ID), "blob", "019ac5e1c2107c3da04f5061728394a5",
         TV_REF(ID)},
        {"resident", "tags", TV_TAGS(TAGS, 2), "text", "[\"elderly\",\"lives_alone\"]",
         TV_TAGS(TAGS, 2)},
        {"resident", "tags", TV_TAGS(NULL, 0), "text", "[]", TV_TAGS(NULL, 0)},
    };
    sqlite3 *db = mem_db();
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const schema_field *f = field(cases[i].table, cases[i].field);
        sqlite3_stmt *st = store_and_select(db, f, &cases[i].v);
        proto_value got;
        gs_err err;
        char buf[128];

        gs_err_clear(&err);
        if (pval_read(st, 0, f, &got, &err) != GS_OK)
            fail_msg("case %zu (%s.%s): %s", i, cases[i].table, cases[i].field, err.msg);
        sqlite3_finalize(st);
        if (!same(&got, &cases[i].back))
            fail_msg("case %zu (%s.%s) read back type %d, not what was written", i,
                     cases[i].table, cases[i].field, (int)got.type);
        expect_nul_terminated(&got);
        pval_free(&got);
        assert_int_equal(got.type, PV_NIL);
        tsql_text(db, "SELECT typeof(v) FROM t", buf, sizeof(buf));
        if (strcmp(buf, cases[i].storage) != 0)
            fail_msg("case %zu (%s.%s) stored as %s, want %s", i, cases[i].table,
                     cases[i].field, buf, cases[i].storage);
        if (cases[i].stored) {
            tsql_text(db, strcmp(cases[i].storage, "blob") ? "SELECT v FROM t"
                                                           : "SELECT lower(hex(v)) FROM t",
                      buf, sizeof(buf));
            if (strcmp(buf, cases[i].stored) != 0)
                fail_msg("case %zu (%s.%s) stored '%s', want '%s'", i, cases[i].table,
                         cases[i].field, buf, cases[i].stored);
        }
    }
    sqlite3_close(db);
}

/* A column that does not hold its field's type is a damaged file: GS_E_DB naming the
 * field, *out untouched. */
static void test_wrong_column_type_is_db_error(void **state)
{
    static const struct {
        const char *table, *field; /* the field read */
        const char *sql;           /* what the column holds */
    } cases[] = {
        {"resident", "name", "INSERT INTO t VALUES (42)"},
        {"resident", "name", "INSERT INTO t VALUES (x'00')"},
        {"visit", "kind", "INSERT INTO t VALUES (1.5)"},
        {"resident", "born", "INSERT INTO t VALUES ('1941')"},
        {"resident", "born", "INSERT INTO t VALUES (1941.5)"},
        {"visit", "visited_at", "INSERT INTO t VALUES ('2026-11-27')"},
        {"visit", "follow_up", "INSERT INTO t VALUES ('true')"},
        {"visit", "follow_up", "INSERT INTO t VALUES (0.0)"},
        {"visit", "lat", "INSERT INTO t VALUES ('29.5')"},
        {"visit", "lat", "INSERT INTO t VALUES (x'0102')"},
        {"visit", "resident", "INSERT INTO t VALUES (x'019ac5e1c2107c3da04f5061728394')"},
        {"visit", "resident", "INSERT INTO t VALUES ('019ac5e1-c210-7c3d-a04f-5061728394a5')"},
        {"resident", "tags", "INSERT INTO t VALUES ('elderly')"},
        {"resident", "tags", "INSERT INTO t VALUES ('[1, 2]')"},
        {"resident", "tags", "INSERT INTO t VALUES ('{\"a\": \"b\"}')"},
        {"resident", "tags", "INSERT INTO t VALUES ('[\"elderly\", null]')"},
        {"resident", "tags", "INSERT INTO t VALUES ('[\"elderly\"')"},
        {"resident", "tags", "INSERT INTO t VALUES (7)"},
    };
    sqlite3 *db = mem_db();
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const schema_field *f = field(cases[i].table, cases[i].field);
        proto_value got = TV_INT(-7);
        sqlite3_stmt *st;
        gs_err err;
        int rc;

        assert_int_equal(sqlite3_exec(db, "DELETE FROM t", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, cases[i].sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, "SELECT v FROM t", -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        gs_err_clear(&err);
        rc = pval_read(st, 0, f, &got, &err);
        sqlite3_finalize(st);
        if (rc != GS_E_DB)
            fail_msg("case %zu (%s.%s, %s): rc %d, want GS_E_DB", i, cases[i].table,
                     cases[i].field, cases[i].sql, rc);
        if (strncmp(err.msg, cases[i].field, strlen(cases[i].field)) != 0 ||
            !strstr(err.msg, "wrong type"))
            fail_msg("case %zu: message '%s' does not name %s", i, err.msg, cases[i].field);
        assert_int_equal(got.type, PV_INT); /* untouched */
        assert_int_equal(got.u.i, -7);
    }
    sqlite3_close(db);
}

static void test_copy_is_deep_and_owned(void **state)
{
    char text[] = "老人身体状况良好";
    char bin[16];
    char t1[] = "elderly", t2[] = "veteran";
    proto_str tags[2] = {{t1, 7}, {t2, 7}};
    proto_value src[] = {tv_str(text), tv_bin(bin, 16), tv_tags(tags, 2), tv_tags(NULL, 0),
                         tv_strn(NULL, 0), tv_int(-5), tv_real(2.5), tv_bool(1), tv_nil()};
    (void)state;

    memcpy(bin, ID, 16);
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        proto_value copy;
        assert_int_equal(pval_copy(&copy, &src[i]), GS_OK);
        assert_true(same(&copy, &src[i]));
        expect_nul_terminated(&copy);
        if (src[i].type == PV_STR || src[i].type == PV_BIN)
            assert_true(copy.u.s.ptr != src[i].u.s.ptr || src[i].u.s.len == 0);
        if (src[i].type == PV_STRLIST && src[i].u.list.n)
            assert_true(copy.u.list.items != src[i].u.list.items &&
                        copy.u.list.items[0].ptr != src[i].u.list.items[0].ptr);
        pval_free(&copy);
        assert_int_equal(copy.type, PV_NIL);
        pval_free(&copy); /* freeing nil again is harmless */
    }
    /* changing the source after the copy changes nothing in it */
    {
        proto_value copy;
        assert_int_equal(pval_copy(&copy, &src[2]), GS_OK);
        t1[0] = 'X';
        tags[1].len = 3;
        assert_int_equal(copy.u.list.n, 2);
        assert_string_equal(copy.u.list.items[0].ptr, "elderly");
        assert_int_equal(copy.u.list.items[1].len, 7);
        pval_free(&copy);
        assert_int_equal(pval_copy(&copy, &src[0]), GS_OK);
        memset(text, '?', sizeof(text) - 1);
        assert_string_equal(copy.u.s.ptr, "老人身体状况良好");
        pval_free(&copy);
    }
}

/* Out of memory at each allocation of a copy: GS_E_NOMEM, the destination nil, nothing
 * leaked (LeakSanitizer under make asan); then the copy succeeds. */
static void test_copy_allocation_failure(void **state)
{
    static proto_str three[3] = {{"elderly", 7}, {"lives_alone", 11}, {"disabled", 8}};
    proto_value src[] = {tv_str("王秀英"), tv_ref(ID), tv_tags(three, 3)};
    (void)state;

    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        int failures = 0, rc = GS_E_NOMEM;
        for (long n = 0; n < 10 && rc != GS_OK; n++) {
            proto_value dst = TV_INT(1);
            gs_alloc_fail_after(n);
            rc = pval_copy(&dst, &src[i]);
            gs_alloc_fail_after(-1);
            if (rc == GS_OK) {
                assert_true(same(&dst, &src[i]));
                pval_free(&dst);
                break;
            }
            assert_int_equal(rc, GS_E_NOMEM);
            assert_int_equal(dst.type, PV_NIL);
            failures++;
        }
        assert_int_equal(rc, GS_OK);
        /* a text or an id takes one allocation, a list one per tag and one for the array */
        assert_int_equal(failures, src[i].type == PV_STRLIST ? 4 : 1);
    }
}

static void test_tags_json_escapes_and_reads_back(void **state)
{
    proto_str odd[] = {{"a\"b", 3}, {"back\\slash", 10}, {"tab\there", 8}, {"\x01", 1},
                       {"网格", 6}, {"", 0}};
    proto_value v = tv_tags(odd, 6);
    const schema_field *f = field("resident", "tags");
    json_error_t jerr;
    json_t *arr;
    gs_buf b;
    (void)state;

    buf_init(&b, 4096);
    assert_int_equal(pval_tags_json(&v, &b), GS_OK);
    assert_int_equal(buf_add(&b, "", 1), GS_OK); /* a NUL for the comparisons */
    assert_string_equal(b.ptr, "[\"a\\\"b\",\"back\\\\slash\",\"tab\\u0009here\","
                               "\"\\u0001\",\"网格\",\"\"]");
    arr = json_loads(b.ptr, 0, &jerr);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 6);
    for (size_t i = 0; i < 6; i++) {
        json_t *s = json_array_get(arr, i);
        assert_true(json_is_string(s));
        assert_int_equal(json_string_length(s), odd[i].len);
        assert_memory_equal(json_string_value(s), odd[i].ptr, odd[i].len);
    }
    json_decref(arr);
    buf_reset(&b);
    v = tv_tags(NULL, 0);
    assert_int_equal(pval_tags_json(&v, &b), GS_OK);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.ptr, "[]", 2);
    buf_free(&b);
    /* and through a column: the same strings come back */
    {
        sqlite3 *db = mem_db();
        proto_value in = tv_tags(odd, 6), got;
        sqlite3_stmt *st = store_and_select(db, f, &in);
        gs_err err;
        assert_int_equal(pval_read(st, 0, f, &got, &err), GS_OK);
        sqlite3_finalize(st);
        assert_true(same(&got, &in));
        pval_free(&got);
        sqlite3_close(db);
    }
}

static void test_format_for_people(void **state)
{
    static const struct {
        const char *table, *field; /* the field */
        proto_value v;             /* the value */
        const char *want;          /* as people read it */
    } cases[] = {
        {"resident", "name", TV_STR("王秀英"), "王秀英"},
        {"resident", "phone", TV_NIL, ""},
        {"resident", "born", TV_INT(1941), "1941"},
        {"resident", "born", TV_INT(-12), "-12"},
        {"visit", "visited_at", TV_INT(1795743000250), "2026-11-27T01:30:00.250Z"},
        {"visit", "visited_at", TV_INT(1764201600000), "2025-11-27T00:00:00Z"},
        {"visit", "visited_at", TV_INT(INT64_MAX), "9223372036854775807"}, /* past year 9999 */
        {"visit", "follow_up", TV_BOOL(1), "true"},
        {"visit", "follow_up", TV_BOOL(0), "false"},
        {"visit", "lat", TV_REAL(29.5625), "29.5625"},
        {"visit", "lat", TV_REAL(0.1), "0.1"},
        {"visit", "lat", TV_REAL(1.0 / 3.0), "0.3333333333333333"},
        {"visit", "resident", TV_REF(ID), "019ac5e1-c210-7c3d-a04f-5061728394a5"},
        {"visit", "resident", TV_BIN("\x01\xab", 2), "01ab"}, /* not an id: hex */
        {"resident", "tags", TV_TAGS(TAGS, 2), "elderly,lives_alone"},
        {"resident", "tags", TV_TAGS(NULL, 0), ""},
    };
    gs_buf b;
    (void)state;

    buf_init(&b, 4096);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        buf_reset(&b);
        assert_int_equal(buf_add(&b, "<", 1), GS_OK); /* appended to what is there */
        assert_int_equal(pval_format(field(cases[i].table, cases[i].field), &cases[i].v, &b),
                         GS_OK);
        assert_int_equal(buf_add(&b, "", 1), GS_OK);
        if (strcmp(b.ptr + 1, cases[i].want) != 0 || b.ptr[0] != '<')
            fail_msg("case %zu (%s.%s): '%s', want '<%s'", i, cases[i].table, cases[i].field,
                     b.ptr, cases[i].want);
    }
    buf_free(&b);
}

static void test_parse_into_owned_values(void **state)
{
    const schema_table *res = schema_table_find("resident", 8);
    const schema_table *vis = schema_table_find("visit", 5);
    proto_value v;
    gs_err err;
    char text[] = "1941";
    (void)state;

    assert_int_equal(pval_parse(res, field("resident", "born"), text, &v, &err), GS_OK);
    assert_int_equal(v.type, PV_INT);
    assert_int_equal(v.u.i, 1941);
    pval_free(&v);
    assert_int_equal(pval_parse(res, field("resident", "name"), "王秀英", &v, &err), GS_OK);
    assert_int_equal(v.type, PV_STR);
    assert_string_equal(v.u.s.ptr, "王秀英"); /* owned and NUL-terminated */
    pval_free(&v);
    assert_int_equal(pval_parse(res, field("resident", "phone"), "", &v, &err), GS_OK);
    assert_int_equal(v.type, PV_NIL); /* "" is no value */
    assert_int_equal(pval_parse(vis, field("visit", "resident"),
                                "019ac5e1-c210-7c3d-a04f-5061728394a5", &v, &err),
                     GS_OK);
    assert_int_equal(v.type, PV_BIN);
    assert_int_equal(v.u.s.len, 16);
    assert_memory_equal(v.u.s.ptr, ID, 16);
    pval_free(&v);
    /* refused: the message names the field and quotes the text; *out untouched */
    v = tv_int(-7);
    gs_err_clear(&err);
    assert_int_equal(pval_parse(res, field("resident", "born"), "19x1", &v, &err),
                     GS_E_INVALID);
    assert_non_null(strstr(err.msg, "resident.born"));
    assert_non_null(strstr(err.msg, "19x1"));
    assert_int_equal(v.type, PV_INT);
    assert_int_equal(v.u.i, -7);
    /* out of memory for the owned copy */
    gs_err_clear(&err);
    gs_alloc_fail_after(1); /* the parse's arena first, then the copy */
    {
        int rc = pval_parse(res, field("resident", "name"), "王秀英", &v, &err);
        gs_alloc_fail_after(-1);
        assert_int_equal(rc, GS_E_NOMEM);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bind_read_round_trip_and_storage),
        cmocka_unit_test(test_wrong_column_type_is_db_error),
        cmocka_unit_test(test_copy_is_deep_and_owned),
        cmocka_unit_test(test_copy_allocation_failure),
        cmocka_unit_test(test_tags_json_escapes_and_reads_back),
        cmocka_unit_test(test_format_for_people),
        cmocka_unit_test(test_parse_into_owned_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
