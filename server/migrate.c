/*
 * migrate.c: see migrate.h. The source is read with SQLite's own calls (one read
 * transaction: one snapshot), the target written and read back through the engine
 * (server/engine.h). Tables and columns come from the SQLite file itself (sqlite_master,
 * table_info), so a table a later migration adds is copied with no change here; the
 * PostgreSQL schema (store_pg.c) must simply have it.
 */
#include "migrate.h"

#include "engine.h"
#include "store.h"

#include "common/buf.h"
#include "common/sha256.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define MAX_TABLES 64
#define MAX_COLS 32
#define NAME_MAX_ 64
#define FETCH_ROWS 2000 /* rows a PostgreSQL cursor hands over at a time */

typedef enum col_kind { K_INT, K_TEXT, K_BLOB } col_kind;

/* One table as both sides see it. */
typedef struct tdef {
    char name[NAME_MAX_];             /* the table */
    int n;                            /* its columns, copied in this order */
    char col[MAX_COLS][NAME_MAX_];    /* their names ("rowid" for an identity kept) */
    col_kind kind[MAX_COLS];          /* how a value is bound and hashed */
    char order[512];                  /* ORDER BY for the checksum: the key, or rowid */
} tdef;

typedef struct job {
    sqlite3 *src;        /* the SQLite store, read only */
    eng *dst;            /* the PostgreSQL database */
    tdef t[MAX_TABLES];  /* what is copied */
    int n_tables;        /* entries in t */
    gs_buf sql;          /* statement text being built */
    gs_buf row;          /* one row's encoding for the checksum */
} job;

static int lite_fail(sqlite3 *db, const char *what, gs_err *err)
{
    return gs_err_set(err, GS_E_DB, "migrate: %s: %s (sqlite %d)", what, sqlite3_errmsg(db),
                      sqlite3_extended_errcode(db));
}

static int is_safe_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= NAME_MAX_)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

/* 1 when the PostgreSQL table has a column named rowid (store_pg.c's identities). */
static int pg_has_rowid(job *j, const char *table, int *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = eng_prepare(j->dst,
                                  "SELECT count(*) FROM information_schema.columns WHERE "
                                  "table_schema = current_schema() AND table_name = ?1 AND "
                                  "column_name = 'rowid'",
                                  &st, err);
    if (!rc) {
        eng_bind_text(st, 1, table);
        rc = eng_step(st, &row, err);
    }
    if (!rc)
        *out = row && eng_col_i64(st, 0) > 0;
    eng_finalize(st);
    return rc;
}

/* The columns of one SQLite table, and the order its rows are compared in. */
static int describe(job *j, tdef *t, gs_err *err)
{
    sqlite3_stmt *st = NULL;
    char sql[128], pk[8][NAME_MAX_];
    int n_pk = 0, rowid = 0, rc = GS_OK;

    snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", t->name);
    if (sqlite3_prepare_v2(j->src, sql, -1, &st, NULL) != SQLITE_OK)
        return lite_fail(j->src, "table_info", err);
    t->n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        const char *type = (const char *)sqlite3_column_text(st, 2);
        int k = sqlite3_column_int(st, 5);
        if (!name || !is_safe_name(name) || t->n >= MAX_COLS - 1) {
            rc = gs_err_set(err, GS_E_DB, "migrate: table %s: a column this gridsyncd cannot "
                                          "copy", t->name);
            break;
        }
        snprintf(t->col[t->n], NAME_MAX_, "%s", name);
        t->kind[t->n] = type && strstr(type, "INT") ? K_INT
                        : type && strstr(type, "BLOB") ? K_BLOB
                                                       : K_TEXT;
        if (k > 0 && k <= 8)
            snprintf(pk[k - 1], NAME_MAX_, "%s", name);
        n_pk = k > n_pk ? k : n_pk;
        t->n++;
    }
    sqlite3_finalize(st);
    if (!rc)
        rc = pg_has_rowid(j, t->name, &rowid, err);
    if (rc)
        return rc;
    if (rowid) { /* the SQLite rowid is data here (a device's number, the export's scan) */
        snprintf(t->col[t->n], NAME_MAX_, "rowid");
        t->kind[t->n++] = K_INT;
    }
    t->order[0] = '\0';
    if (n_pk == 0 && !rowid)
        return gs_err_set(err, GS_E_DB, "migrate: table %s has no key to compare it by",
                          t->name);
    if (n_pk == 0) {
        snprintf(t->order, sizeof(t->order), "rowid");
        return GS_OK;
    }
    for (int i = 0; i < n_pk; i++) {
        size_t len = strlen(t->order);
        snprintf(t->order + len, sizeof(t->order) - len, "%s%s", i ? ", " : "", pk[i]);
    }
    return GS_OK;
}

static int list_tables(job *j, gs_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = GS_OK;

    if (sqlite3_prepare_v2(j->src,
                           "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                           "name NOT LIKE 'sqlite_%' ORDER BY name",
                           -1, &st, NULL) != SQLITE_OK)
        return lite_fail(j->src, "listing the tables", err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (!name || !is_safe_name(name) || j->n_tables >= MAX_TABLES)
            rc = gs_err_set(err, GS_E_DB, "migrate: a table this gridsyncd cannot copy");
        else
            snprintf(j->t[j->n_tables++].name, NAME_MAX_, "%s", name);
    }
    sqlite3_finalize(st);
    /* what others reference first (device_grids names devices, audit conflicts): the
       database checks its foreign keys row by row */
    for (int i = 0, front = 0; !rc && i < j->n_tables; i++) {
        if (strcmp(j->t[i].name, "devices") == 0 || strcmp(j->t[i].name, "conflicts") == 0) {
            tdef tmp = j->t[front];
            j->t[front++] = j->t[i];
            j->t[i] = tmp;
        }
    }
    for (int i = 0; !rc && i < j->n_tables; i++)
        rc = describe(j, &j->t[i], err);
    return rc;
}

/* "SELECT c1, c2 ... FROM t" (+ ORDER BY) into j->sql. */
static int select_sql(job *j, const tdef *t, int ordered)
{
    buf_reset(&j->sql);
    int rc = buf_adds(&j->sql, "SELECT ");
    for (int c = 0; !rc && c < t->n; c++)
        rc = buf_addf(&j->sql, "%s%s", c ? ", " : "", t->col[c]);
    if (!rc)
        rc = buf_addf(&j->sql, " FROM %s", t->name);
    if (!rc && ordered)
        rc = buf_addf(&j->sql, " ORDER BY %s", t->order);
    if (!rc)
        rc = buf_add(&j->sql, "", 1);
    return rc;
}

/* ---- copying ------------------------------------------------------------------------- */

static int copy_table(job *j, const tdef *t, int64_t *rows, gs_err *err)
{
    sqlite3_stmt *src = NULL;
    eng_stmt *ins = NULL;
    int rc = select_sql(j, t, 0), s;

    if (!rc && sqlite3_prepare_v2(j->src, (const char *)j->sql.ptr, -1, &src, NULL) != SQLITE_OK)
        return lite_fail(j->src, t->name, err);
    buf_reset(&j->sql);
    rc = rc ? rc : buf_addf(&j->sql, "INSERT INTO %s (", t->name);
    for (int c = 0; !rc && c < t->n; c++)
        rc = buf_addf(&j->sql, "%s%s", c ? ", " : "", t->col[c]);
    rc = rc ? rc : buf_adds(&j->sql, ") VALUES (");
    for (int c = 0; !rc && c < t->n; c++)
        rc = buf_addf(&j->sql, "%s?%d", c ? ", " : "", c + 1);
    rc = rc ? rc : buf_add(&j->sql, ")", 2);
    if (rc) {
        sqlite3_finalize(src);
        return gs_err_set(err, rc, "migrate: out of memory");
    }
    rc = eng_prepare(j->dst, (const char *)j->sql.ptr, &ins, err);
    while (!rc && (s = sqlite3_step(src)) == SQLITE_ROW) {
        for (int c = 0; c < t->n; c++) {
            if (sqlite3_column_type(src, c) == SQLITE_NULL)
                eng_bind_null(ins, c + 1);
            else if (t->kind[c] == K_INT)
                eng_bind_i64(ins, c + 1, sqlite3_column_int64(src, c));
            else if (t->kind[c] == K_BLOB)
                eng_bind_blob(ins, c + 1, sqlite3_column_blob(src, c),
                              (size_t)sqlite3_column_bytes(src, c));
            else
                eng_bind_textn(ins, c + 1, (const char *)sqlite3_column_text(src, c),
                               (size_t)sqlite3_column_bytes(src, c));
        }
        rc = eng_step(ins, NULL, err);
        eng_reset(ins);
        (*rows)++;
    }
    if (!rc && s != SQLITE_DONE)
        rc = lite_fail(j->src, t->name, err);
    if (rc)
        gs_err_prefix(err, "migrate: copying %s: ", t->name);
    eng_finalize(ins);
    sqlite3_finalize(src);
    return rc;
}

/* The identities continue after the copied numbers (a new device gets the next one). */
static int move_identities(job *j, gs_err *err)
{
    static const char *const ids[][2] = {
        {"devices", "rowid"}, {"records", "rowid"}, {"conflicts", "id"}, {"audit", "id"}};
    char sql[256];
    int rc = GS_OK;

    for (size_t i = 0; !rc && i < sizeof(ids) / sizeof(ids[0]); i++) {
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('%s', '%s'), "
                 "coalesce((SELECT max(%s) FROM %s), 0) + 1, false)",
                 ids[i][0], ids[i][1], ids[i][1], ids[i][0]);
        rc = eng_exec(j->dst, sql, err);
    }
    return rc;
}

/* ---- verifying ----------------------------------------------------------------------- */

/* A row's encoding: per column a tag (0 NULL, 1 integer, 2 bytes) and the value, integers
 * as 8 bytes big-endian, bytes with a 4-byte length: the same on both sides. */
static int enc_null(gs_buf *b)
{
    return buf_add(b, "\0", 1);
}

static int enc_int(gs_buf *b, int64_t v)
{
    uint8_t x[9] = {1};
    for (int i = 0; i < 8; i++)
        x[1 + i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    return buf_add(b, x, sizeof(x));
}

static int enc_bytes(gs_buf *b, const void *p, size_t n)
{
    uint8_t x[5] = {2, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    int rc = buf_add(b, x, sizeof(x));
    return rc || !n ? rc : buf_add(b, p, n);
}

/* acc = SHA-256(acc || SHA-256(row)): a checksum of the rows in order, one row in memory. */
static int fold(uint8_t acc[SHA256_LEN], const gs_buf *row)
{
    uint8_t two[2 * SHA256_LEN];
    memcpy(two, acc, SHA256_LEN);
    if (sha256_of(row->ptr, row->len, two + SHA256_LEN))
        return GS_E_CRYPTO;
    return sha256_of(two, sizeof(two), acc);
}

static int sum_sqlite(job *j, const tdef *t, int64_t *rows, uint8_t out[SHA256_LEN],
                      gs_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = select_sql(j, t, 1), s;

    memset(out, 0, SHA256_LEN);
    *rows = 0;
    if (!rc && sqlite3_prepare_v2(j->src, (const char *)j->sql.ptr, -1, &st, NULL) != SQLITE_OK)
        return lite_fail(j->src, t->name, err);
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        buf_reset(&j->row);
        for (int c = 0; !rc && c < t->n; c++) {
            if (sqlite3_column_type(st, c) == SQLITE_NULL)
                rc = enc_null(&j->row);
            else if (t->kind[c] == K_INT)
                rc = enc_int(&j->row, sqlite3_column_int64(st, c));
            else
                rc = enc_bytes(&j->row, t->kind[c] == K_BLOB ? sqlite3_column_blob(st, c)
                                                             : (const void *)sqlite3_column_text(st, c),
                               (size_t)sqlite3_column_bytes(st, c));
        }
        rc = rc ? rc : fold(out, &j->row);
        (*rows)++;
    }
    sqlite3_finalize(st);
    if (rc)
        return gs_err_set(err, rc, "migrate: checksum of %s: %s", t->name, gs_strerror(rc));
    return GS_OK;
}

/* The same over PostgreSQL, through a cursor: the engine fetches a whole result at once. */
static int sum_pg(job *j, const tdef *t, int64_t *rows, uint8_t out[SHA256_LEN], gs_err *err)
{
    eng_stmt *fetch = NULL;
    char sql[64];
    int rc = select_sql(j, t, 1), row = 0, got;

    memset(out, 0, SHA256_LEN);
    *rows = 0;
    buf_reset(&j->row);
    rc = rc ? rc : buf_addf(&j->row, "DECLARE sum_cur NO SCROLL CURSOR FOR %s", j->sql.ptr);
    rc = rc ? rc : buf_add(&j->row, "", 1);
    if (rc)
        return gs_err_set(err, rc, "migrate: out of memory");
    rc = eng_exec(j->dst, (const char *)j->row.ptr, err);
    snprintf(sql, sizeof(sql), "FETCH %d FROM sum_cur", FETCH_ROWS);
    if (!rc)
        rc = eng_prepare(j->dst, sql, &fetch, err);
    do {
        got = 0;
        while (!rc && !(rc = eng_step(fetch, &row, err)) && row) {
            buf_reset(&j->row);
            for (int c = 0; !rc && c < t->n; c++) {
                if (eng_col_null(fetch, c))
                    rc = enc_null(&j->row);
                else if (t->kind[c] == K_INT)
                    rc = enc_int(&j->row, eng_col_i64(fetch, c));
                else
                    rc = enc_bytes(&j->row, eng_col_blob(fetch, c), eng_col_bytes(fetch, c));
            }
            rc = rc ? rc : fold(out, &j->row);
            (*rows)++;
            got++;
        }
        if (fetch)
            eng_reset(fetch);
    } while (!rc && got == FETCH_ROWS);
    eng_finalize(fetch);
    if (!rc)
        rc = eng_exec(j->dst, "CLOSE sum_cur", err);
    if (rc)
        gs_err_prefix(err, "migrate: checksum of %s: ", t->name);
    return rc;
}

static int verify(job *j, migrate_report *rep, gs_err *err)
{
    rep->rows = 0;
    for (int i = 0; i < j->n_tables; i++) {
        uint8_t a[SHA256_LEN], b[SHA256_LEN];
        int64_t na = 0, nb = 0;
        int rc = sum_sqlite(j, &j->t[i], &na, a, err);
        if (!rc)
            rc = sum_pg(j, &j->t[i], &nb, b, err);
        if (rc)
            return rc;
        if (na != nb || memcmp(a, b, SHA256_LEN) != 0)
            return gs_err_set(err, GS_E_DB,
                              "migrate: table %s differs after the copy (%lld rows in the "
                              "store, %lld in the database%s); nothing was kept",
                              j->t[i].name, (long long)na, (long long)nb,
                              na == nb ? ", the same count but other values" : "");
        rep->rows += na;
    }
    rep->tables = j->n_tables;
    return GS_OK;
}

/* ---- the whole ----------------------------------------------------------------------- */

static int meta_of(sqlite3 *db, const char *key, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = GS_E_DB;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            *out = (uint64_t)sqlite3_column_int64(st, 0);
            rc = GS_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* What the database holds: 0 nothing yet (a new store), 1 this store (epoch), 2 another. */
static int target_state(job *j, uint64_t epoch, int *state, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = eng_prepare(j->dst,
                                  "SELECT (SELECT value FROM meta WHERE key = 'epoch'), "
                                  "(SELECT value FROM meta WHERE key = 'version'), "
                                  "(SELECT count(*) FROM devices), (SELECT count(*) FROM admins)",
                                  &st, err);
    if (!rc)
        rc = eng_step(st, &row, err);
    if (!rc && row) {
        uint64_t e = (uint64_t)eng_col_i64(st, 0);
        int empty = eng_col_i64(st, 1) == 0 && eng_col_i64(st, 2) == 0 && eng_col_i64(st, 3) == 0;
        *state = e == epoch ? 1 : empty ? 0 : 2;
    }
    eng_finalize(st);
    return rc;
}

int migrate_store(const char *from_path, const char *to_url, migrate_report *rep, gs_err *err)
{
    job j;
    store *st = NULL;
    int rc, state = 0;

    memset(rep, 0, sizeof(*rep));
    memset(&j, 0, sizeof(j));
    if (!eng_target_is_pg(to_url))
        return gs_err_set(err, GS_E_INVALID, "--to: expected a postgresql:// URL");
    if (eng_target_is_pg(from_path))
        return gs_err_set(err, GS_E_INVALID, "--from: the store is already on PostgreSQL");
    /* both at the current schema: the file upgraded as the server would, the database
       made when empty */
    rc = store_open(&st, from_path, err);
    store_close(st);
    st = NULL;
    if (!rc)
        rc = store_open(&st, to_url, err);
    store_close(st);
    if (rc)
        return rc;
    buf_init(&j.sql, 1 << 16);
    buf_init(&j.row, 64 << 20);
    if (sqlite3_open_v2(from_path, &j.src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        rc = lite_fail(j.src, "opening the store", err);
        goto out;
    }
    sqlite3_busy_timeout(j.src, 5000);
    rc = eng_open(&j.dst, to_url, NULL, err);
    if (rc)
        goto out;
    /* one snapshot of the file; the database locked against any server as a writer is */
    if (sqlite3_exec(j.src, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        meta_of(j.src, "epoch", &rep->epoch) || meta_of(j.src, "version", &rep->version)) {
        rc = lite_fail(j.src, "reading the store's meta", err);
        goto out;
    }
    rc = eng_exec(j.dst, "BEGIN; SELECT value FROM meta WHERE key = 'version' FOR UPDATE", err);
    if (!rc)
        rc = target_state(&j, rep->epoch, &state, err);
    if (!rc && state == 2)
        rc = gs_err_set(err, GS_E_EXISTS,
                        "migrate: the database already holds another store (another epoch, "
                        "devices or admins): nothing was changed");
    if (!rc)
        rc = list_tables(&j, err);
    if (!rc && state == 0) {
        rc = eng_exec(j.dst, "DELETE FROM meta", err);
        for (int i = 0; !rc && i < j.n_tables; i++)
            rc = copy_table(&j, &j.t[i], &rep->rows, err);
        if (!rc)
            rc = move_identities(&j, err);
    }
    rep->already = state == 1;
    if (!rc)
        rc = verify(&j, rep, err);
    if (!rc)
        rc = eng_exec(j.dst, "COMMIT", err);
    else
        eng_exec(j.dst, "ROLLBACK", NULL);
out:
    if (j.src) {
        sqlite3_exec(j.src, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(j.src);
    }
    if (j.dst)
        eng_close(j.dst);
    buf_free(&j.sql);
    buf_free(&j.row);
    return rc;
}
