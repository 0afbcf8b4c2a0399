/*
 * db.c: see db.h. Also the public open/close/batch/error calls of gridsync.h.
 *
 * Invariants:
 *  - tx_depth counts the transactions this handle has open; batch implies tx_depth >= 1;
 *  - counters_loaded is only ever set inside a transaction and cleared when the outermost
 *    one ends (commit or rollback), so no write uses counters another process advanced;
 *  - every statement in the cache belongs to this handle's connection and is reset.
 */
#define _POSIX_C_SOURCE 200809L
#include "db.h"

#include "common/alloc.h"
#include "common/sqldb.h"
#include "proto/schema.h"
#include "layout.h"
#include "wipe.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>


struct db_stmt_entry {
    char *sql;             /* the statement's text, the cache key */
    size_t len;            /* its length */
    unsigned hash;         /* its FNV-1a hash, compared before the text */
    sqlite3_stmt *st;      /* prepared once, reset after each use */
    db_stmt_entry *next;   /* next entry in the same bucket */
};

const char *gs_version(void)
{
    return GS_VERSION;
}

int db_fail(gs_db *db, int src, const char *what)
{
    int rc = sqldb_rc(src);

    return gs_err_set(&db->err, rc, "%s: %s (sqlite %d)%s", what,
                      db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(src), src,
                      rc == GS_E_BUSY ? "; another program is writing to the database, try again"
                                      : "");
}

static unsigned hash_sql(const char *s, size_t *len)
{
    unsigned h = 2166136261u;
    const char *p = s;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    *len = (size_t)(p - s);
    return h;
}

int db_prepare(gs_db *db, const char *sql, sqlite3_stmt **out)
{
    size_t len;
    unsigned h = hash_sql(sql, &len), b = h % DB_STMT_BUCKETS;
    db_stmt_entry *e;
    sqlite3_stmt *st = NULL;
    int src;

    for (e = db->stmts[b]; e; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->sql, sql, len) == 0) {
            *out = e->st;
            return GS_OK;
        }
    e = gs_calloc(1, sizeof(*e));
    if (!e)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    e->sql = gs_strdup(sql);
    if (!e->sql) {
        gs_free(e);
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    }
    src = sqldb_prepare_persistent(db->sql, sql, &st);
    if (src != SQLITE_OK) {
        gs_free(e->sql);
        gs_free(e);
        return db_fail(db, src, "preparing a statement");
    }
    e->st = st;
    e->hash = h;
    e->len = len;
    e->next = db->stmts[b];
    db->stmts[b] = e;
    *out = st;
    return GS_OK;
}

int db_prepare_static(gs_db *db, const char *sql, sqlite3_stmt **out)
{
    /* a literal's address names its text for the life of the program: no hashing */
    size_t slot = ((uintptr_t)sql >> 3) % DB_LIT_SLOTS;
    int rc;

    if (db->lit_key[slot] == sql) {
        *out = db->lit_st[slot];
        return GS_OK;
    }
    rc = db_prepare(db, sql, out);
    if (rc == GS_OK) {
        db->lit_key[slot] = sql;
        db->lit_st[slot] = *out;
    }
    return rc;
}

int db_prepare_memo(gs_db *db, const schema_table *t, int kind, db_sql_build_fn *build,
                    sqlite3_stmt **out)
{
    size_t slot = (size_t)(t - schema_tables) * DB_SQL_KINDS + (size_t)kind;
    gs_buf sql;
    int rc;

    if (!db->memo) {
        db->memo = gs_calloc(schema_n_tables * DB_SQL_KINDS, sizeof(char *));
        db->memo_st = gs_calloc(schema_n_tables * DB_SQL_KINDS, sizeof(sqlite3_stmt *));
        if (!db->memo || !db->memo_st) {
            gs_free(db->memo);
            gs_free(db->memo_st);
            db->memo = NULL;
            db->memo_st = NULL;
            return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
        }
    }
    if (db->memo_st[slot]) {
        *out = db->memo_st[slot];
        return GS_OK;
    }
    if (!db->memo[slot]) {
        buf_init(&sql, 64 * 1024);
        rc = build(t, &sql);
        if (rc) {
            buf_free(&sql);
            return gs_err_set(&db->err, rc, "out of memory");
        }
        db->memo[slot] = buf_take(&sql, NULL);
    }
    rc = db_prepare(db, db->memo[slot], out);
    if (rc == GS_OK)
        db->memo_st[slot] = *out;
    return rc;
}

void db_done(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int db_exec(gs_db *db, const char *sql)
{
    int src = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
    if (src != SQLITE_OK)
        return db_fail(db, src, "database statement failed");
    return GS_OK;
}

static void stmts_free(gs_db *db)
{
    for (int b = 0; b < DB_STMT_BUCKETS; b++) {
        db_stmt_entry *e = db->stmts[b];
        while (e) {
            db_stmt_entry *next = e->next;
            sqlite3_finalize(e->st);
            gs_free(e->sql);
            gs_free(e);
            e = next;
        }
        db->stmts[b] = NULL;
    }
    memset(db->lit_key, 0, sizeof(db->lit_key));
}

/* The per-table statement texts and the statement cache (the memo's statements are the
 * cache's). */
static void memo_free(gs_db *db)
{
    stmts_free(db);
    gs_free(db->locate_sql);
    db->locate_sql = NULL;
    if (db->memo)
        for (size_t i = 0; i < schema_n_tables * DB_SQL_KINDS; i++)
            gs_free(db->memo[i]);
    gs_free(db->memo);
    gs_free(db->memo_st);
    db->memo = NULL;
    db->memo_st = NULL;
}

int db_detach_file(gs_db *db)
{
    if (db->tx_depth)
        db_tx_rollback(db);
    while (db->tx_depth)
        db_tx_rollback(db);
    db->batch = 0;
    db->poisoned = 0;
    db->counters_loaded = 0;
    db->counters_dirty = 0;
    memo_free(db);
    if (db->sql && sqlite3_close(db->sql) != SQLITE_OK)
        sqlite3_close_v2(db->sql); /* a list still open: closed when it is freed */
    db->sql = NULL;
    if (sqlite3_open(":memory:", &db->sql) != SQLITE_OK) {
        sqlite3_close(db->sql);
        db->sql = NULL;
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    }
    return GS_OK;
}

/* ---- transactions ---- */

static int counters_flush(gs_db *db)
{
    int rc;

    if (!db->counters_dirty)
        return GS_OK;
    rc = db_meta_set_int(db, DB_META_HLC, (int64_t)db->clock.last);
    if (rc)
        return rc;
    rc = db_meta_set_int(db, DB_META_SEQ, (int64_t)db->next_seq);
    if (rc)
        return rc;
    db->counters_dirty = 0;
    return GS_OK;
}

/* Begins a level; a savepoint level (undoable) is a real SQLite SAVEPOINT. */
static int tx_begin(gs_db *db, int undoable)
{
    char sql[48];
    int rc;

    if (db->tx_depth == 0) {
        rc = db_exec(db, "BEGIN IMMEDIATE");
        if (rc)
            return rc;
        db->counters_loaded = 0;
        db->counters_dirty = 0;
        db->poisoned = 0;
    }
    if (db->tx_depth >= DB_TX_MAX_DEPTH)
        return gs_err_set(&db->err, GS_E_STATE, "transactions nested too deeply");
    /* an inner level is a mark, what SQLite had changed when it began, or a savepoint */
    db->tx_mark[db->tx_depth] = sqldb_total_changes(db->sql);
    db->tx_savepoint[db->tx_depth] = 0;
    if (db->tx_depth > 0 && undoable) {
        snprintf(sql, sizeof(sql), "SAVEPOINT gs%d", db->tx_depth);
        rc = db_exec(db, sql);
        if (rc)
            return rc;
        db->tx_savepoint[db->tx_depth] = 1;
    }
    db->tx_depth++;
    return GS_OK;
}

int db_tx_begin(gs_db *db)
{
    return tx_begin(db, 0);
}

int db_tx_begin_undoable(gs_db *db)
{
    return tx_begin(db, 1);
}

int db_tx_commit(gs_db *db)
{
    char sql[48];
    int rc;

    if (db->tx_depth <= 0)
        return gs_err_set(&db->err, GS_E_STATE, "no transaction to commit");
    if (db->tx_depth > 1) {
        db->tx_depth--;
        if (db->tx_savepoint[db->tx_depth]) {
            snprintf(sql, sizeof(sql), "RELEASE gs%d", db->tx_depth);
            rc = db_exec(db, sql);
            if (rc) {
                db->tx_depth++;
                return rc;
            }
            db->tx_savepoint[db->tx_depth] = 0;
        }
        return GS_OK;
    }
    if (db->poisoned) {
        db_tx_rollback(db);
        return gs_err_set(&db->err, GS_E_STATE,
                          "a write in this batch failed after it had begun writing: the whole "
                          "batch was rolled back");
    }
    rc = counters_flush(db);
    if (rc)
        return rc;
    rc = db_exec(db, "COMMIT");
    if (rc)
        return rc;
    db->tx_depth = 0;
    db->counters_loaded = 0;
    return GS_OK;
}

void db_tx_rollback(gs_db *db)
{
    if (db->tx_depth <= 0)
        return;
    if (db->tx_depth > 1) {
        char sql[80];
        db->tx_depth--;
        if (db->tx_savepoint[db->tx_depth]) {
            snprintf(sql, sizeof(sql), "ROLLBACK TO gs%d; RELEASE gs%d", db->tx_depth,
                     db->tx_depth);
            if (sqlite3_exec(db->sql, sql, NULL, NULL, NULL) != SQLITE_OK)
                db->poisoned = 1;
            db->tx_savepoint[db->tx_depth] = 0;
            return;
        }
        /* an inner level that changed rows cannot be undone alone: the outermost
           transaction must not commit */
        if (sqldb_total_changes(db->sql) != db->tx_mark[db->tx_depth])
            db->poisoned = 1;
        return;
    }
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    db->tx_depth = 0;
    db->counters_loaded = 0;
    db->counters_dirty = 0;
    db->poisoned = 0;
}

/* ---- counters ---- */

int db_counters_load(gs_db *db)
{
    int64_t last, seq;
    int rc;

    if (db->counters_loaded)
        return GS_OK;
    if (db->tx_depth == 0)
        return gs_err_set(&db->err, GS_E_STATE, "counters read outside a transaction");
    rc = db_meta_get_int(db, DB_META_HLC, 0, &last);
    if (rc)
        return rc;
    rc = db_meta_get_int(db, DB_META_SEQ, 1, &seq);
    if (rc)
        return rc;
    if (last < 0 || seq < 1)
        return gs_err_set(&db->err, GS_E_DB, "the database's counters are damaged");
    /* keep a value issued earlier in this process if it is ahead of what is stored */
    if ((uint64_t)last > db->clock.last)
        db->clock.last = (uint64_t)last;
    db->next_seq = (uint64_t)seq;
    db->counters_loaded = 1;
    return GS_OK;
}

int db_hlc_next(gs_db *db, uint64_t *out)
{
    int rc = db_counters_load(db);
    if (rc)
        return rc;
    rc = hlc_now(&db->clock, out);
    if (rc)
        return gs_err_set(&db->err, rc, "the clock has run past the year 10889");
    db->counters_dirty = 1;
    return GS_OK;
}

int db_seq_next(gs_db *db, uint64_t *out)
{
    int rc = db_counters_load(db);
    if (rc)
        return rc;
    *out = db->next_seq++;
    db->counters_dirty = 1;
    return GS_OK;
}

int db_hlc_stamp(gs_db *db, uint64_t *out)
{
    uint64_t stamp;
    int rc = db_tx_begin(db);

    if (rc)
        return rc;
    rc = db_hlc_next(db, &stamp);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc) {
        db_tx_rollback(db);
        return rc;
    }
    *out = stamp;
    return GS_OK;
}

int db_hlc_observe(gs_db *db, uint64_t remote)
{
    uint64_t merged;
    int rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = db_counters_load(db);
    if (rc)
        goto out;
    rc = hlc_recv(&db->clock, remote, &merged);
    if (rc) {
        rc = gs_err_set(&db->err, rc,
                        "the server's clock is more than %u minutes ahead of this device's: "
                        "set the date and time on the handheld",
                        (unsigned)(DB_MAX_DRIFT_MS / 60000));
        goto out;
    }
    db->counters_dirty = 1;
    rc = db_tx_commit(db);
out:
    if (rc)
        db_tx_rollback(db);
    return rc;
}

int db_hlc_rebase(gs_db *db, uint64_t server_now)
{
    uint64_t wall, last;
    int rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = db_counters_load(db);
    if (rc)
        goto out;
    wall = db_wall_ms(db);
    last = hlc_physical(db->clock.last);
    /* Only when the server and our wall clock agree that the HLC is the odd one out: a
       dead-battery clock reset to 2000 must not drag a good HLC back. */
    if (last > wall + DB_MAX_DRIFT_MS && hlc_physical(server_now) <= wall + DB_MAX_DRIFT_MS &&
        wall <= hlc_physical(server_now) + DB_MAX_DRIFT_MS) {
        uint64_t to = hlc_pack(wall, 0);
        db->clock.last = server_now > to ? server_now : to;
        db->counters_dirty = 1;
    }
    rc = db_tx_commit(db);
out:
    if (rc)
        db_tx_rollback(db);
    return rc;
}

uint64_t db_wall_ms(gs_db *db)
{
    return dclock_now(&db->dc);
}

void db_set_clock(gs_db *db, hlc_clock_fn *fn, void *ud)
{
    db->dc.raw = fn ? fn : hlc_wall_ms;
    db->dc.raw_ud = ud;
}

void db_set_mono_clock(gs_db *db, hlc_clock_fn *fn, void *ud)
{
    db->dc.mono = fn ? fn : dclock_system_mono;
    db->dc.mono_ud = ud;
}

int db_clock_load(gs_db *db)
{
    int64_t off = 0, raw = 0, mono = 0;
    int rc = db_meta_get_int(db, DB_META_CLOCK_OFFSET, 0, &off);

    if (!rc)
        rc = db_meta_get_int(db, DB_META_CLOCK_RAW, 0, &raw);
    if (!rc)
        rc = db_meta_get_int(db, DB_META_CLOCK_MONO, 0, &mono);
    if (rc)
        return rc;
    db->dc.offset_ms = off;
    db->dc.ref_raw = (uint64_t)raw;
    db->dc.ref_mono = (uint64_t)mono;
    return GS_OK;
}

int db_clock_learn(gs_db *db, uint64_t server_ms, uint64_t send_raw, uint64_t send_mono,
                   uint64_t recv_raw, uint64_t recv_mono)
{
    dclock keep = db->dc;
    int rc;

    if (!dclock_learn(&db->dc, server_ms, send_raw, send_mono, recv_raw, recv_mono))
        return GS_OK;
    rc = db_tx_begin(db);
    if (rc == GS_OK)
        rc = db_meta_set_int(db, DB_META_CLOCK_OFFSET, db->dc.offset_ms);
    if (rc == GS_OK)
        rc = db_meta_set_int(db, DB_META_CLOCK_RAW, (int64_t)db->dc.ref_raw);
    if (rc == GS_OK)
        rc = db_meta_set_int(db, DB_META_CLOCK_MONO, (int64_t)db->dc.ref_mono);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc) {
        db_tx_rollback(db);
        db->dc = keep;
    }
    return rc;
}

/* ---- meta ---- */

int db_meta_get_int(gs_db *db, const char *key, int64_t dflt, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = db_prepare_static(db, "SELECT v FROM meta WHERE k = ?1", &st);
    int src;

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE)
        *out = dflt;
    else
        rc = db_fail(db, src, "reading the device settings");
    db_done(st);
    return rc;
}

int db_meta_get_text(gs_db *db, const char *key, char **out)
{
    sqlite3_stmt *st;
    int rc = db_prepare_static(db, "SELECT v FROM meta WHERE k = ?1", &st);
    int src;
    char *v = NULL;

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const char *txt = (const char *)sqlite3_column_text(st, 0);
        int n = sqlite3_column_bytes(st, 0);
        v = gs_strndup(txt ? txt : "", (size_t)n);
        if (!v)
            rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    } else if (src != SQLITE_ROW && src != SQLITE_DONE) {
        rc = db_fail(db, src, "reading the device settings");
    }
    db_done(st);
    if (rc == GS_OK)
        *out = v;
    return rc;
}

int db_meta_set_int(gs_db *db, const char *key, int64_t v)
{
    sqlite3_stmt *st;
    int rc = db_prepare_static(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)",
                        &st);
    int src;

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, v);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing the device settings");
    db_done(st);
    return rc;
}

int db_meta_set_text(gs_db *db, const char *key, const char *v, size_t len)
{
    sqlite3_stmt *st;
    int rc = db_prepare_static(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?1, ?2)",
                        &st);
    int src;

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (v)
        sqlite3_bind_text(st, 2, v, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 2);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing the device settings");
    db_done(st);
    return rc;
}

int db_load_defaults(gs_db *db)
{
    char *grids = NULL, *first = NULL, *worker = NULL;
    int rc = db_meta_get_text(db, DB_META_GRIDS, &grids);

    if (!rc)
        rc = db_meta_get_text(db, DB_META_WORKER, &worker);
    if (!rc && grids) {
        first = gs_strndup(grids, strcspn(grids, "\n"));
        if (!first)
            rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    }
    if (rc) {
        gs_free(grids);
        gs_free(worker);
        return rc;
    }
    gs_free(db->default_grid);
    gs_free(db->grids);
    gs_free(db->worker);
    db->default_grid = first;
    db->grids = grids;
    db->worker = worker;
    return GS_OK;
}

int db_has_grid(const gs_db *db, const char *grid, size_t len)
{
    const char *p = db->grids;

    while (p && *p) {
        size_t n = strcspn(p, "\n");
        if (n == len && memcmp(p, grid, len) == 0)
            return 1;
        p += n;
        if (*p == '\n')
            p++;
    }
    return 0;
}

const char *db_sql_type(int type)
{
    switch (type) {
    case ST_TEXT:
    case ST_ENUM:
    case ST_TAGS: /* a JSON array of the tag names */
        return "TEXT";
    case ST_REAL:
        return "REAL";
    case ST_REF: /* the 16 id bytes */
        return "BLOB";
    default: /* ST_INT, ST_BOOL (0/1), ST_TIME (ms) */
        return "INTEGER";
    }
}

/* ---- public ---- */

int db_conn_open(gs_db *db, const void *key, size_t key_len)
{
    /* a 16 MiB cache keeps a 10,000-record batch from spilling pages into the WAL before
       its commit */
    sqldb_opts o = {
        /* the page cache bounded at 2 MiB for the handheld (issue 21); 10,000 visits in
           one transaction measured as fast as with 16 MiB (bench_client_write) */
        .pragmas = "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-2048; PRAGMA temp_store=MEMORY;",
        .key = key,
        .key_len = key_len,
        .probe_key = 1};
    int rc = sqldb_open(db->path, &o, &db->sql, &db->err);

    if (rc && db->sql) {
        /* nothing of a file that does not open is kept: the next call cannot use it */
        sqlite3_close(db->sql);
        db->sql = NULL;
    }
    return rc;
}

int db_key_keep(gs_db *db, const void *key, size_t key_len)
{
    unsigned char *copy = NULL;

    if (key_len) {
        copy = gs_malloc(key_len);
        if (!copy)
            return GS_E_NOMEM;
        memcpy(copy, key, key_len);
    }
    if (db->key) {
        explicit_bzero(db->key, db->key_len);
        gs_free(db->key);
    }
    db->key = copy;
    db->key_len = key_len;
    return GS_OK;
}

int db_conn_close(gs_db *db)
{
    stmts_free(db);
    if (db->memo_st)
        memset(db->memo_st, 0, schema_n_tables * DB_SQL_KINDS * sizeof(sqlite3_stmt *));
    if (sqlite3_close(db->sql) != SQLITE_OK)
        return gs_err_set(&db->err, GS_E_STATE,
                          "a record list is still open: free it before changing the key");
    db->sql = NULL;
    return GS_OK;
}

int gs_db_open(const char *path, gs_db **out)
{
    return gs_db_open_key(path, NULL, 0, out);
}

int gs_db_open_key(const char *path, const void *key, size_t key_len, gs_db **out)
{
    gs_db *db;
    int rc = GS_OK;

    if (!out)
        return GS_E_INVALID;
    *out = NULL;
    db = gs_calloc(1, sizeof(*db));
    if (!db)
        return GS_E_NOMEM;
    dclock_init(&db->dc);
    hlc_init(&db->clock, 0, DB_MAX_DRIFT_MS, dclock_now, &db->dc);
    if (!path) {
        rc = gs_err_set(&db->err, GS_E_INVALID,
                        "no database given: use --db PATH or set GRIDSYNC_DB");
        goto out;
    }
    if (key_len > GS_DB_KEY_MAX || (key_len && !key)) {
        rc = gs_err_set(&db->err, GS_E_INVALID, "a database key is 1 to %d bytes",
                        GS_DB_KEY_MAX);
        goto out;
    }
    db->path = gs_strdup(path);
    if (!db->path || db_key_keep(db, key, key_len)) {
        rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
        goto out;
    }
    /* a remote wipe killed half-way is completed before anything reads the file (wipe.h) */
    rc = wipe_resume(path, &db->err);
    if (rc)
        goto out;
    /* the file holds the device's token: sqldb_open creates it private */
    rc = db_conn_open(db, key, key_len);
    if (rc)
        goto out;
    rc = layout_migrate(db);
    if (rc)
        goto out;
    rc = db_load_defaults(db);
    if (rc == GS_OK)
        rc = db_clock_load(db);
out:
    *out = db;
    return rc;
}

int gs_db_close(gs_db *db)
{
    int rc = GS_OK;

    if (!db)
        return GS_OK;
    if (db->tx_depth)
        db_tx_rollback(db);
    while (db->tx_depth)
        db_tx_rollback(db);
    memo_free(db);
    if (db->sql && sqlite3_close(db->sql) != SQLITE_OK) {
        /* a gs_list or outbox iterator is still open: the caller's bug, but the connection
           must not leak; it closes when the last statement is finalised */
        sqlite3_close_v2(db->sql);
        rc = GS_E_STATE;
    }
    gs_free(db->default_grid);
    gs_free(db->grids);
    gs_free(db->worker);
    gs_free(db->path);
    db_key_keep(db, NULL, 0);
    gs_free(db);
    return rc;
}

const char *gs_db_errmsg(const gs_db *db)
{
    if (!db)
        return "out of memory";
    if (db->err.rc == GS_OK)
        return "";
    return gs_err_msg(&db->err, db->err.rc);
}

int gs_db_errcode(const gs_db *db)
{
    return db ? db->err.rc : GS_E_NOMEM;
}

int gs_db_begin(gs_db *db)
{
    int rc;

    gs_err_clear(&db->err);
    if (db->batch || db->tx_depth)
        return gs_err_set(&db->err, GS_E_STATE, "a batch is already open");
    rc = db_tx_begin(db);
    if (rc == GS_OK)
        db->batch = 1;
    return rc;
}

int gs_db_commit(gs_db *db)
{
    int rc;

    gs_err_clear(&db->err);
    if (!db->batch)
        return gs_err_set(&db->err, GS_E_STATE, "no batch is open");
    rc = db_tx_commit(db);
    if (rc) {
        db_tx_rollback(db);
        db->batch = 0;
        return rc;
    }
    db->batch = 0;
    return GS_OK;
}

int gs_db_rollback(gs_db *db)
{
    gs_err_clear(&db->err);
    if (!db->batch)
        return gs_err_set(&db->err, GS_E_STATE, "no batch is open");
    db_tx_rollback(db);
    db->batch = 0;
    return GS_OK;
}
