/*
 * test_srv_engine.c: the store's engine interface (server/engine.c, engine_pg.c) gives the
 * same answers on SQLite and on PostgreSQL: binds and columns of every kind (NULL, empty,
 * negative, the int64 extremes, bytes with NULs), parameters out of order and inside
 * quotes, rebinding a parameter with another type, a read inside another read's loop,
 * rows changed, unique violations as GS_E_EXISTS; and, on PostgreSQL alone, a connection
 * killed by the server outside and inside a transaction.
 *
 * Every test runs on a SQLite file; on PostgreSQL when GS_TEST_PG holds a database URL
 * (tests/integration/engine_pg.sh starts a throwaway cluster and sets it), else it is
 * skipped there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/engine.h"
#include "tests/lib/tdir.h"

typedef struct fx {
    char dir[TDIR_MAX]; /* SQLite: the temporary folder */
    eng *e;             /* the connection under test */
    int pg;             /* 1 on PostgreSQL */
} fx;

static int open_fx(void **state, int pg)
{
    fx *f = calloc(1, sizeof(*f));
    gs_err err = {0};
    char target[TDIR_MAX + 16];
    const char *url = getenv("GS_TEST_PG");

    assert_non_null(f);
    f->pg = pg;
    if (pg) {
        if (!url || !*url) {
            free(f);
            *state = NULL;
            return 0; /* each test skips */
        }
        snprintf(target, sizeof(target), "%s", url);
        if (strlen(url) >= sizeof(target))
            fail_msg("GS_TEST_PG is too long for this test");
    } else {
        assert_int_equal(tdir_make(f->dir, "engine"), 0);
        snprintf(target, sizeof(target), "%s/t.db", f->dir);
    }
    if (eng_open(&f->e, url && pg ? url : target, NULL, &err))
        fail_msg("eng_open: %s", err.msg);
    /* every test starts from the same empty table */
    if (eng_exec(f->e, "DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS u", &err))
        fail_msg("drop: %s", err.msg);
    if (eng_exec(f->e,
                 pg ? "CREATE TABLE t (k TEXT PRIMARY KEY, n BIGINT, b BYTEA, s TEXT)"
                    : "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, b BLOB, s TEXT)",
                 &err))
        fail_msg("create: %s", err.msg);
    *state = f;
    return 0;
}

static int setup_lite(void **state) { return open_fx(state, 0); }
static int setup_pg(void **state) { return open_fx(state, 1); }

static int teardown(void **state)
{
    fx *f = *state;
    if (!f)
        return 0;
    eng_close(f->e);
    if (f->dir[0])
        tdir_remove(f->dir);
    free(f);
    return 0;
}

static fx *get(void **state)
{
    fx *f = *state;
    if (!f)
        skip(); /* PostgreSQL without GS_TEST_PG */
    return f;
}

static eng_stmt *prep(fx *f, const char *sql)
{
    eng_stmt *st = NULL;
    gs_err err = {0};
    if (eng_prepare(f->e, sql, &st, &err))
        fail_msg("prepare %s: %s", sql, err.msg);
    return st;
}

/* Steps st to its end, expecting no row. */
static void run(eng_stmt *st)
{
    gs_err err = {0};
    int row = -1;
    if (eng_step(st, &row, &err))
        fail_msg("step: %s", err.msg);
    assert_int_equal(row, 0);
    eng_reset(st);
}

static void put(fx *f, const char *k, int64_t n, const void *b, size_t nb, const char *s)
{
    eng_stmt *st = prep(f, "INSERT INTO t (k, n, b, s) VALUES (?1, ?2, ?3, ?4)");
    eng_bind_text(st, 1, k);
    eng_bind_i64(st, 2, n);
    if (b)
        eng_bind_blob(st, 3, b, nb);
    else
        eng_bind_null(st, 3);
    if (s)
        eng_bind_text(st, 4, s);
    else
        eng_bind_null(st, 4);
    run(st);
    assert_int_equal(eng_changes(f->e), 1);
    eng_finalize(st);
}

static void test_values_round_trip(void **state)
{
    fx *f = get(state);
    static const uint8_t bytes[] = {0, 1, 0, 0xff, 0x80, 0};
    static const struct {
        const char *k;
        int64_t n;
        const uint8_t *b;
        size_t nb;
        const char *s;
    } rows[] = {
        {"a", 0, bytes, sizeof(bytes), "网格员"},
        {"b", -1, bytes, 1, ""},
        {"c", INT64_MAX, NULL, 0, NULL},
        {"d", INT64_MIN, (const uint8_t *)"", 0, "it's"},
        {"e", 4294967296, bytes + 1, 3, "x"},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    eng_stmt *st;
    gs_err err = {0};
    int row;

    for (size_t i = 0; i < n; i++)
        put(f, rows[i].k, rows[i].n, rows[i].b, rows[i].nb, rows[i].s);
    st = prep(f, "SELECT k, n, b, s FROM t ORDER BY k");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(eng_step(st, &row, &err), GS_OK);
        assert_int_equal(row, 1);
        assert_string_equal(eng_col_text(st, 0), rows[i].k);
        assert_true(eng_col_i64(st, 1) == rows[i].n);
        assert_int_equal(eng_col_null(st, 2), rows[i].b == NULL);
        assert_int_equal(eng_col_bytes(st, 2), rows[i].nb);
        if (rows[i].nb)
            assert_memory_equal(eng_col_blob(st, 2), rows[i].b, rows[i].nb);
        assert_int_equal(eng_col_null(st, 3), rows[i].s == NULL);
        assert_string_equal(eng_col_text(st, 3), rows[i].s ? rows[i].s : "");
    }
    assert_int_equal(eng_step(st, &row, &err), GS_OK);
    assert_int_equal(row, 0);
    eng_finalize(st);
}

static void test_params_out_of_order_and_quoted(void **state)
{
    fx *f = get(state);
    eng_stmt *st = prep(f, "SELECT ?2 - ?1, 'what?1 -- ?2', ?1");
    gs_err err = {0};
    int row;

    eng_bind_i64(st, 1, 10);
    eng_bind_i64(st, 2, 52);
    assert_int_equal(eng_step(st, &row, &err), GS_OK);
    assert_int_equal(row, 1);
    assert_int_equal(eng_col_i64(st, 0), 42);
    assert_string_equal(eng_col_text(st, 1), "what?1 -- ?2");
    assert_int_equal(eng_col_i64(st, 2), 10);
    eng_finalize(st);
}

/* A parameter bound NULL, then text, then NULL again (PostgreSQL prepares it twice). */
static void test_rebind_other_type(void **state)
{
    fx *f = get(state);
    eng_stmt *st;
    gs_err err = {0};
    int row;
    int64_t count[3];

    put(f, "a", 1, NULL, 0, "one");
    put(f, "b", 2, NULL, 0, "two");
    st = prep(f, "SELECT count(*) FROM t WHERE CAST(?1 AS TEXT) IS NULL OR s = ?1");
    for (int i = 0; i < 3; i++) {
        if (i == 1)
            eng_bind_text(st, 1, "two");
        else
            eng_bind_null(st, 1);
        assert_int_equal(eng_step(st, &row, &err), GS_OK);
        assert_int_equal(row, 1);
        count[i] = eng_col_i64(st, 0);
        eng_reset(st);
    }
    assert_int_equal(count[0], 2);
    assert_int_equal(count[1], 1);
    assert_int_equal(count[2], 2);
    eng_finalize(st);
}

/* A parameter that is sometimes NULL (watch.warning) keeps its statement: PostgreSQL would
 * otherwise hold one more prepared statement per change for as long as the connection. */
static void test_null_keeps_the_statement(void **state)
{
    fx *f = get(state);
    eng_stmt *st, *n_prep;
    gs_err err = {0};
    int row;

    st = prep(f, "INSERT INTO t (k, n, b) VALUES (?1, 1, ?2)");
    for (int i = 0; i < 40; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        eng_bind_text(st, 1, k);
        if (i % 2)
            eng_bind_blob(st, 2, "x", 1);
        else
            eng_bind_null(st, 2);
        run(st);
    }
    eng_finalize(st);
    if (eng_kind_of(f->e) != ENG_PG)
        return;
    n_prep = prep(f, "SELECT count(*) FROM pg_prepared_statements");
    assert_int_equal(eng_step(n_prep, &row, &err), GS_OK);
    assert_int_equal(row, 1);
    /* the INSERT as first prepared (b unknown), once again with bytea, and this one */
    if (eng_col_i64(n_prep, 0) > 3)
        fail_msg("%lld prepared statements for 40 inserts", (long long)eng_col_i64(n_prep, 0));
    eng_finalize(n_prep);
}

/* The store reads inside the loops of other reads (libpq: one query at a time). */
static void test_read_inside_read(void **state)
{
    fx *f = get(state);
    eng_stmt *outer, *inner;
    gs_err err = {0};
    int row, seen = 0;
    int64_t sum = 0;

    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        put(f, k, i, NULL, 0, NULL);
    }
    outer = prep(f, "SELECT k, n FROM t ORDER BY n");
    inner = prep(f, "SELECT n * 10 FROM t WHERE k = ?1");
    while (eng_step(outer, &row, &err) == GS_OK && row) {
        int inner_row;
        eng_bind_text(inner, 1, eng_col_text(outer, 0));
        assert_int_equal(eng_step(inner, &inner_row, &err), GS_OK);
        assert_int_equal(inner_row, 1);
        assert_int_equal(eng_col_i64(inner, 0), eng_col_i64(outer, 1) * 10);
        sum += eng_col_i64(inner, 0);
        eng_reset(inner);
        seen++;
    }
    assert_int_equal(err.rc, GS_OK);
    assert_int_equal(seen, 5);
    assert_int_equal(sum, 100);
    eng_finalize(inner);
    eng_finalize(outer);
}

static void test_changes_and_returning(void **state)
{
    fx *f = get(state);
    eng_stmt *st;
    gs_err err = {0};
    int row;

    put(f, "a", 1, NULL, 0, NULL);
    put(f, "b", 1, NULL, 0, NULL);
    put(f, "c", 2, NULL, 0, NULL);
    st = prep(f, "UPDATE t SET n = n + 100 WHERE n = ?1");
    eng_bind_i64(st, 1, 1);
    run(st);
    assert_int_equal(eng_changes(f->e), 2);
    eng_finalize(st);
    st = prep(f, "UPDATE t SET n = n + 1 WHERE k = ?1 RETURNING n");
    eng_bind_text(st, 1, "c");
    assert_int_equal(eng_step(st, &row, &err), GS_OK);
    assert_int_equal(row, 1);
    assert_int_equal(eng_col_i64(st, 0), 3);
    eng_finalize(st);
}

static void test_unique_violation_is_exists(void **state)
{
    fx *f = get(state);
    eng_stmt *st;
    gs_err err = {0};

    put(f, "a", 1, NULL, 0, NULL);
    st = prep(f, "INSERT INTO t (k, n) VALUES (?1, ?2)");
    eng_bind_text(st, 1, "a");
    eng_bind_i64(st, 2, 2);
    assert_int_equal(eng_step(st, NULL, &err), GS_E_EXISTS);
    assert_non_null(strstr(err.msg, f->pg ? "postgresql 23505" : "sqlite"));
    eng_finalize(st);
    /* a statement with a bad column is GS_E_DB at its prepare (SQLite) or step (PostgreSQL) */
    err.rc = GS_OK;
    if (eng_prepare(f->e, "SELECT nosuch FROM t", &st, &err) == GS_OK) {
        assert_int_equal(eng_step(st, NULL, &err), GS_E_DB);
        eng_finalize(st);
    }
    assert_int_equal(err.rc, GS_E_DB);
}

static void test_bad_parameter_text(void **state)
{
    fx *f = get(state);
    eng_stmt *st = NULL;
    gs_err err = {0};

    if (!f->pg)
        skip(); /* SQLite accepts a bare ? */
    assert_int_equal(eng_prepare(f->e, "SELECT ?", &st, &err), GS_E_INVALID);
    assert_null(st);
}

/* Ends the test connection from another one, as a server restart would. */
static void kill_backend(fx *f)
{
    eng *other;
    eng_stmt *st;
    gs_err err = {0};
    eng_stmt *pid_q = prep(f, "SELECT pg_backend_pid()");
    int row;
    int64_t pid;

    assert_int_equal(eng_step(pid_q, &row, &err), GS_OK);
    pid = eng_col_i64(pid_q, 0);
    eng_finalize(pid_q);
    if (eng_open(&other, getenv("GS_TEST_PG"), NULL, &err))
        fail_msg("second connection: %s", err.msg);
    if (eng_prepare(other, "SELECT pg_terminate_backend(CAST(?1 AS INTEGER))", &st, &err))
        fail_msg("%s", err.msg);
    eng_bind_i64(st, 1, pid);
    assert_int_equal(eng_step(st, &row, &err), GS_OK);
    assert_int_equal(eng_col_i64(st, 0), 1);
    eng_finalize(st);
    eng_close(other);
}

static void test_pg_connection_lost(void **state)
{
    fx *f = get(state);
    eng_stmt *st, *rb;
    gs_err err = {0};
    int row;

    if (!f->pg)
        skip();
    put(f, "a", 1, NULL, 0, NULL);
    st = prep(f, "SELECT count(*) FROM t");
    assert_int_equal(eng_step(st, &row, &err), GS_OK);
    eng_reset(st);

    /* outside a transaction: the next step reopens and prepares again */
    kill_backend(f);
    if (eng_step(st, &row, &err)) /* libpq notices the loss only when it next writes */
        assert_int_equal(err.rc, GS_E_IO);
    eng_reset(st);
    if (eng_step(st, &row, &err))
        fail_msg("after a reopen: %s", err.msg);
    assert_int_equal(row, 1);
    assert_int_equal(eng_col_i64(st, 0), 1);
    eng_reset(st);

    /* inside one: nothing runs until the ROLLBACK, whose transaction died */
    assert_int_equal(eng_exec(f->e, "BEGIN", &err), GS_OK);
    put(f, "b", 2, NULL, 0, NULL);
    kill_backend(f);
    rb = prep(f, "ROLLBACK");
    err.rc = GS_OK;
    assert_int_not_equal(eng_step(st, &row, &err), GS_OK);
    eng_reset(st);
    assert_int_equal(eng_step(st, &row, &err), GS_E_IO);
    assert_non_null(strstr(err.msg, "inside a transaction"));
    eng_reset(st);
    assert_int_equal(eng_step(rb, NULL, &err), GS_OK);
    eng_reset(rb);
    if (eng_step(st, &row, &err))
        fail_msg("after the rollback: %s", err.msg);
    assert_int_equal(eng_col_i64(st, 0), 1); /* "b" died with its transaction */
    eng_finalize(rb);
    eng_finalize(st);
}

#define BOTH(fn)                                                                                   \
    {"sqlite: " #fn, fn, setup_lite, teardown, NULL},                                              \
        {"postgresql: " #fn, fn, setup_pg, teardown, NULL}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_values_round_trip),       BOTH(test_params_out_of_order_and_quoted),
        BOTH(test_rebind_other_type),       BOTH(test_read_inside_read),
        BOTH(test_changes_and_returning),   BOTH(test_unique_violation_is_exists),
        BOTH(test_bad_parameter_text),      BOTH(test_pg_connection_lost),
        BOTH(test_null_keeps_the_statement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
