/*
 * store_db.h: what the files of the store (store.c, store_rec.c, store_watch.c,
 * store_dash.c) share: the handle, its statement slots and small helpers over the engine
 * (server/engine.h: SQLite or PostgreSQL). Not for any other file: store.h is the store's
 * interface.
 */
#ifndef GS_SERVER_STORE_DB_H
#define GS_SERVER_STORE_DB_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/sqldb.h"
#include "proto/value.h"
#include "server/engine.h"
#include "server/store.h"

/* store.c's statements */
enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q_META_GET,
    Q_META_SET,
    Q_META_PUT,
    Q_VER_NEXT,
    Q_VER_LOCK,
    Q_DEV_ADD,
    Q_DEV_GRID_ADD,
    Q_DEV_GET,
    Q_DEV_GRIDS,
    Q_DEV_REVOKE,
    Q_DEV_SYNCED,
    Q_DEV_LIST,
    Q_ADM_ADD,
    Q_ADM_GET,
    Q_ADM_COUNT,
    Q_CONF_ADD,
    Q_CONF_BUMP,
    Q_CONF_GET,
    Q_CONF_LIST,
    Q_CONF_RESOLVE,
    Q_AUD_ADD,
    Q_AUD_GET,
    Q_REC_COUNTS,
    Q_CONF_COUNTS,
    Q_N
};


/* store_rec.c's statements */
enum {
    RQ_REC_META,
    RQ_REC_GET,
    RQ_REC_PUT,
    RQ_PULLS_ADD,
    RQ_PULLS_DEL,
    RQ_MOVE_ADD,
    RQ_CHG_ADD,
    RQ_ACK_GET,
    RQ_RANGE_GET,
    RQ_ACK_MAX,
    RQ_ACK_PUT,
    RQ_RANGE_PUT,
    RQ_ACK_PRUNE,
    RQ_RANGE_PRUNE,
    RQ_RANGE_TRIM,
    RQ_PULL1,
    RQ_PULLN,
    RQ_DEV_ID,
    RQ_REC_SCAN,
    RQ_N
};

/* store_watch.c's statements */
enum {
    WQ_GET,
    WQ_PUT,
    WQ_SCAN,
    WQ_UPDATE,
    WQ_DEL,
    WQ_DUE,
    WQ_BY_REF,
    WQ_OPEN_COUNTS,
    WQ_DISPUTE_ADD,
    WQ_DISPUTE_RECENT,
    WQ_VISIT_DAY,
    WQ_EMPTY,
    WQ_DAYS_EMPTY,
    WQ_N
};

/* store_dash.c's statements: the dashboard's figures, the warning list, the export's pages.
 * A _G statement is the one-grid form of the one before it (its own statement, so each
 * reads by its own index rather than through an "?1 IS NULL OR" SQLite cannot index). */
enum {
    DQ_RESIDENTS,
    DQ_RESIDENTS_G,
    DQ_VISIT_DAYS,
    DQ_VISIT_DAYS_G,
    DQ_VISIT_DAYS_SCAN,
    DQ_CARE,
    DQ_CARE_G,
    DQ_DISPUTES,
    DQ_DISPUTES_G,
    DQ_DISPUTES_OPEN,
    DQ_DISPUTES_OPEN_G,
    DQ_WARNINGS,
    DQ_WARNINGS_G,
    DQ_SILENT,
    DQ_SILENT_G,
    DQ_WARN_LIVE,
    DQ_WARN_LIVE_G,
    DQ_WARN_PAGE,
    DQ_WARN_PAGE_G,
    DQ_REC_PAGE,
    DQ_N
};

/* store_enrol.c's statements: enrolment codes */
enum {
    EQ_ADD,
    EQ_BY_HASH,
    EQ_BY_ID,
    EQ_LIST,
    EQ_USE,
    EQ_REVOKE,
    EQ_DEV_RENAME,
    EQ_N
};

/* store_session.c's statements: the console's sessions */
enum {
    SQ_PUT,
    SQ_GET,
    SQ_TOUCH,
    SQ_DEL,
    SQ_EXPIRE,
    SQ_COUNT,
    SQ_LRU_DEL,
    SQ_N
};

struct store {
    eng *e;                  /* the connection */
    struct sqlite3 *db;      /* its SQLite handle, NULL on PostgreSQL (eng_sqlite) */
    eng_stmt *stmt[Q_N];     /* store.c's statements, prepared on first use */
    eng_stmt *rstmt[RQ_N];   /* store_rec.c's */
    eng_stmt *wstmt[WQ_N];   /* store_watch.c's */
    eng_stmt *dstmt[DQ_N];   /* store_dash.c's */
    eng_stmt *estmt[EQ_N];   /* store_enrol.c's */
    eng_stmt *sstmt[SQ_N];   /* store_session.c's */
    long fault_countdown;    /* test hook: steps until an injected failure; -1 never */
    int in_txn;              /* between store_begin and commit/rollback */
    int pg;                  /* 1 on PostgreSQL: the *_pg[] texts where a statement differs */
    /* Inside a transaction the version counter lives here: read from meta on first use,
     * written back once by store_commit (an UPDATE of meta per change cost ~8% of a merge).
     * The write lock taken by BEGIN IMMEDIATE keeps it exact. */
    int ver_loaded;          /* ver holds meta.version as this transaction sees it */
    int ver_dirty;           /* ver moved: store_commit writes it before COMMIT */
    uint64_t ver;            /* the last version handed out */
    /* the background checkpointer (store_checkpointer_start); ck_on 0: SQLite's own */
    int ck_on;               /* a checkpointer thread runs */
    pthread_t ck_thread;     /* it */
    pthread_mutex_t ck_lock; /* guards the three below */
    pthread_cond_t ck_wake;  /* signalled when the WAL passes ck_pages, and to stop */
    int ck_pages;            /* WAL pages after the last commit */
    int ck_stop;             /* the thread must end */
    struct sqlite3 *ck_db;   /* the checkpointer's own connection */
    uint64_t ck_runs;        /* checkpoints run (for tests and metrics) */
    /* device numbers (devices.rowid) -> ids, filled as records are read (store_rec.c) */
    char (*dev_ids)[GS_LIMIT_NAME + 1]; /* dev_ids[num], "" when not known yet */
    uint32_t n_dev_ids;      /* entries allocated */
};

/* store_pg.c: the PostgreSQL schema, made or brought up to STORE_SCHEMA_VERSION. */
int store_pg_migrate(store *s, gs_err *err);
int store_pg_schema_version(store *s, int *out, gs_err *err);

/* The text of a statement on this store's engine: pg where PostgreSQL needs its own. */
static inline const char *on_engine(const store *s, const char *sql, const char *pg)
{
    return s->pg && pg ? pg : sql;
}

/* The statement in *slot, prepared from sql on first use. */
static inline int prep_slot(store *s, eng_stmt **slot, const char *sql, eng_stmt **out,
                            gs_err *err)
{
    if (!*slot) {
        int rc = eng_prepare(s->e, sql, slot, err);
        if (rc)
            return rc;
    }
    *out = *slot;
    return GS_OK;
}

static inline void done(eng_stmt *st)
{
    if (st)
        eng_reset(st);
}

/* One step: *row 1 for a row, 0 when done. */
static inline int step(store *s, eng_stmt *st, int *row, gs_err *err)
{
    if (s->fault_countdown > 0 && --s->fault_countdown == 0) {
        s->fault_countdown = -1;
        return gs_err_set(err, GS_E_DB, "store: injected fault");
    }
    return eng_step(st, row, err);
}

/* Runs a statement that returns no rows, and resets it. */
static inline int exec_done(store *s, eng_stmt *st, gs_err *err)
{
    int rc = step(s, st, NULL, err);
    done(st);
    return rc;
}

static inline void bind_text(eng_stmt *st, int i, const char *s)
{
    eng_bind_text(st, i, s);
}

static inline void bind_id(eng_stmt *st, int i, const uint8_t id[16])
{
    eng_bind_blob(st, i, id, 16);
}

static inline void bind_u64(eng_stmt *st, int i, uint64_t v)
{
    /* versions and HLCs stay below 2^63: HLCs are 48-bit ms plus a 16-bit counter */
    eng_bind_i64(st, i, (int64_t)v);
}

static inline uint64_t col_u64(eng_stmt *st, int i)
{
    return (uint64_t)eng_col_i64(st, i);
}

/* Copies text column i into out (cap bytes with the NUL). */
static inline void col_text(eng_stmt *st, int i, char *out, size_t cap)
{
    const char *t = eng_col_text(st, i);
    size_t n = eng_col_bytes(st, i);
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = '\0';
}

static inline int col_value(eng_stmt *st, int i, gs_arena *a, proto_value *out)
{
    return sval_decode(a, eng_col_blob(st, i), eng_col_bytes(st, i), out);
}

/* Binds v encoded into scratch. */
static inline int bind_value(eng_stmt *st, int i, gs_buf *scratch, const proto_value *v)
{
    size_t off = scratch->len;
    int rc = proto_value_encode(scratch, v);
    if (rc)
        return rc;
    /* scratch may move while later values are encoded: the bytes are copied */
    return eng_bind_blob_copy(st, i, scratch->ptr + off, scratch->len - off);
}


/* store_rec.c: the migration from schema 2 (a row per field) to 3 (a row per record),
 * inside the migration's transaction. */
int store_rec_migrate_3(store *s, gs_err *err);

#endif
