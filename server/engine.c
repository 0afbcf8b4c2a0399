/*
 * engine.c: see engine.h. SQLite here, PostgreSQL in engine_pg.c; every call looks at the
 * connection's kind once and goes to one of the two.
 */
#include "server/engine.h"

#include <sqlite3.h>
#include <string.h>

#include "common/alloc.h"
#include "server/engine_pg.h"

struct eng {
    eng_kind kind;  /* which of the two below */
    sqlite3 *db;    /* ENG_SQLITE */
    pg_conn *pg;    /* ENG_PG */
};

struct eng_stmt {
    eng *e;             /* its connection */
    sqlite3_stmt *lite; /* ENG_SQLITE */
    pg_stmt *pg;        /* ENG_PG */
};

int eng_target_is_pg(const char *target)
{
    return !strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11);
}

static int lite_fail(sqlite3 *db, gs_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(db);
    return gs_err_set(err, sqldb_rc(code), "store: %s: %s (sqlite %d)", what, sqlite3_errmsg(db),
                      code);
}

int eng_open(eng **out, const char *target, const sqldb_opts *opts, gs_err *err)
{
    eng *e = gs_calloc(1, sizeof(*e));
    int rc;

    if (!e)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    if (eng_target_is_pg(target)) {
        e->kind = ENG_PG;
        rc = pg_open(&e->pg, target, err);
    } else {
        e->kind = ENG_SQLITE;
        rc = sqldb_open(target, opts, &e->db, err);
    }
    if (rc) {
        eng_close(e);
        return rc;
    }
    *out = e;
    return GS_OK;
}

void eng_close(eng *e)
{
    if (!e)
        return;
    sqlite3_close(e->db);
    pg_close(e->pg);
    gs_free(e);
}

eng_kind eng_kind_of(const eng *e)
{
    return e->kind;
}

struct sqlite3 *eng_sqlite(eng *e)
{
    return e->db;
}

int eng_exec(eng *e, const char *sql, gs_err *err)
{
    char *msg = NULL;
    int src;

    if (e->kind == ENG_PG)
        return pg_exec(e->pg, sql, err);
    src = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
    if (src != SQLITE_OK) {
        int code = sqlite3_extended_errcode(e->db);
        gs_err_set(err, sqldb_rc(code), "store: %s (sqlite %d)", msg ? msg : sqlite3_errstr(src),
                   code);
        sqlite3_free(msg);
        return err ? err->rc : sqldb_rc(code);
    }
    return GS_OK;
}

int eng_prepare(eng *e, const char *sql, eng_stmt **out, gs_err *err)
{
    eng_stmt *st = gs_calloc(1, sizeof(*st));
    int rc = GS_OK;

    if (!st)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    st->e = e;
    if (e->kind == ENG_PG) {
        rc = pg_prepare(e->pg, sql, &st->pg, err);
    } else if (sqlite3_prepare_v3(e->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->lite, NULL) !=
               SQLITE_OK) {
        rc = lite_fail(e->db, err, "prepare");
    }
    if (rc) {
        eng_finalize(st);
        return rc;
    }
    *out = st;
    return GS_OK;
}

void eng_finalize(eng_stmt *st)
{
    if (!st)
        return;
    sqlite3_finalize(st->lite);
    pg_finalize(st->pg);
    gs_free(st);
}

void eng_bind_i64(eng_stmt *st, int i, int64_t v)
{
    if (st->pg)
        pg_bind_i64(st->pg, i, v);
    else
        sqlite3_bind_int64(st->lite, i, (sqlite3_int64)v);
}

void eng_bind_text(eng_stmt *st, int i, const char *s)
{
    if (st->pg)
        pg_bind_ref(st->pg, i, s, strlen(s), 1);
    else
        sqlite3_bind_text(st->lite, i, s, -1, SQLITE_STATIC);
}

void eng_bind_textn(eng_stmt *st, int i, const char *s, size_t n)
{
    if (st->pg)
        pg_bind_ref(st->pg, i, s, n, 1);
    else
        sqlite3_bind_text(st->lite, i, s, (int)n, SQLITE_STATIC);
}

void eng_bind_blob(eng_stmt *st, int i, const void *p, size_t n)
{
    if (st->pg)
        pg_bind_ref(st->pg, i, p, n, 0);
    else if (n == 0) /* SQLite binds a NULL pointer as NULL: an empty blob is a zeroblob */
        sqlite3_bind_zeroblob(st->lite, i, 0);
    else
        sqlite3_bind_blob(st->lite, i, p, (int)n, SQLITE_STATIC);
}

int eng_bind_blob_copy(eng_stmt *st, int i, const void *p, size_t n)
{
    if (st->pg)
        return pg_bind_copy(st->pg, i, p, n);
    if (n == 0)
        return sqlite3_bind_zeroblob(st->lite, i, 0) == SQLITE_OK ? GS_OK : GS_E_NOMEM;
    return sqlite3_bind_blob(st->lite, i, p, (int)n, SQLITE_TRANSIENT) == SQLITE_OK ? GS_OK
                                                                                   : GS_E_NOMEM;
}

void eng_bind_null(eng_stmt *st, int i)
{
    if (st->pg)
        pg_bind_null(st->pg, i);
    else
        sqlite3_bind_null(st->lite, i);
}

int eng_step(eng_stmt *st, int *row, gs_err *err)
{
    int src;

    if (st->pg)
        return pg_step(st->pg, row, err);
    src = sqlite3_step(st->lite);
    if (src == SQLITE_ROW || src == SQLITE_DONE) {
        if (row)
            *row = src == SQLITE_ROW;
        return GS_OK;
    }
    return lite_fail(st->e->db, err, "step");
}

int eng_col_null(eng_stmt *st, int i)
{
    if (st->pg)
        return pg_col_null(st->pg, i);
    return sqlite3_column_type(st->lite, i) == SQLITE_NULL;
}

int64_t eng_col_i64(eng_stmt *st, int i)
{
    if (st->pg)
        return pg_col_i64(st->pg, i);
    return (int64_t)sqlite3_column_int64(st->lite, i);
}

const void *eng_col_blob(eng_stmt *st, int i)
{
    if (st->pg)
        return pg_col_blob(st->pg, i);
    return sqlite3_column_blob(st->lite, i);
}

const char *eng_col_text(eng_stmt *st, int i)
{
    const char *t;

    if (st->pg) /* libpq ends every value with a NUL, in binary results too */
        t = pg_col_blob(st->pg, i);
    else
        t = (const char *)sqlite3_column_text(st->lite, i);
    return t ? t : "";
}

size_t eng_col_bytes(eng_stmt *st, int i)
{
    if (st->pg)
        return pg_col_bytes(st->pg, i);
    return (size_t)sqlite3_column_bytes(st->lite, i);
}

void eng_reset(eng_stmt *st)
{
    if (st->pg) {
        pg_reset(st->pg);
    } else {
        sqlite3_reset(st->lite);
        sqlite3_clear_bindings(st->lite);
    }
}

int64_t eng_changes(eng *e)
{
    if (e->kind == ENG_PG)
        return pg_changes(e->pg);
    return (int64_t)sqlite3_changes(e->db);
}

int eng_in_txn(eng *e)
{
    if (e->kind == ENG_PG)
        return pg_in_txn(e->pg);
    return !sqlite3_get_autocommit(e->db);
}
