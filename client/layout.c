/*
 * layout.c: see layout.h. The numbered steps are append-only: step N turns a version N-1
 * file into a version N file and is never edited once released.
 */
#include "layout.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/sqldb.h"
#include "client/fvers.h"
#include "proto/schema.h"

#include <stdio.h>
#include <string.h>

static const char *const reserved[] = {"meta", "outbox", "field_version", "rejected",
                                       "record_version", "attachment_blob"};

/* Step 1: the fixed tables. */
static const char step1[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY NOT NULL, v) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS outbox("
    " seq INTEGER PRIMARY KEY NOT NULL,"  /* the device's change number, never reused */
    " tbl TEXT NOT NULL,"                 /* schema table */
    " rid BLOB NOT NULL,"                 /* record id, 16 bytes */
    " hlc INTEGER NOT NULL,"              /* HLC of the row's first edit */
    " fields BLOB NOT NULL,"              /* fieldpack: name -> [value, base, hlc] */
    " sent INTEGER NOT NULL DEFAULT 0);"  /* 1 once sent: frozen from then on */
    "CREATE INDEX IF NOT EXISTS outbox_rid ON outbox(rid, sent);"
    "CREATE TABLE IF NOT EXISTS field_version("
    " rid BLOB NOT NULL, field TEXT NOT NULL, ver INTEGER NOT NULL,"
    " PRIMARY KEY(rid, field)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rejected("
    " seq INTEGER PRIMARY KEY NOT NULL, tbl TEXT NOT NULL, rid BLOB NOT NULL,"
    " hlc INTEGER NOT NULL, fields BLOB NOT NULL, code TEXT NOT NULL,"
    " message TEXT NOT NULL, at INTEGER NOT NULL);";

/* Step 2: per-field clocks. field_version keeps the clock of the edit that gave each value
 * (0: seen before clocks were kept), so `updated` is the same on every device; outbox and
 * rejected rows keep a clock per field inside their fieldpack blobs (older rows decode with
 * the row's clock, needing no rewrite). */
static const char step2[] =
    "ALTER TABLE field_version ADD COLUMN hlc INTEGER NOT NULL DEFAULT 0;";

/* Step 3: one version row per record, and a "sent up to" mark instead of a flag per row
 * (issue 14: settling a change was twelve statements). record_version's blobs are built
 * from field_version's rows in C (fvers.h); outbox.sent stays as a column nobody reads
 * (DROP COLUMN needs SQLite 3.35, which older Android releases do not have). */
static const char step3[] =
    "CREATE TABLE IF NOT EXISTS record_version(rid BLOB PRIMARY KEY NOT NULL,"
    " fields BLOB NOT NULL) WITHOUT ROWID;"
    "INSERT OR REPLACE INTO meta(k, v) SELECT 'sent_upto', coalesce(max(seq), 0) FROM outbox "
    " WHERE sent = 1;"
    "DROP INDEX IF EXISTS outbox_rid;"
    "CREATE INDEX IF NOT EXISTS outbox_rid_seq ON outbox(rid, seq);";

static int step3_versions(gs_db *db);
static int reconcile_table(gs_db *db, const schema_table *t);

/* Step 4 (issue 19): the bytes of attachments, outside the record tables. key: the SHA-256
 * (hex) of the bytes, or "original/<attachment id>" for a camera original kept on request
 * (it still has its EXIF and never leaves the device). kind: 1 the stored image or PDF, 2
 * a thumbnail, 3 an original. sent: bytes the server has acknowledged (an upload resumes
 * from there). The attachment records are a schema table (proto/schema.c), made by
 * reconcile_table; their index on the owning record is made here, after it. */
static const char step4[] =
    "CREATE TABLE IF NOT EXISTS attachment_blob(key TEXT PRIMARY KEY NOT NULL,"
    " kind INTEGER NOT NULL, data BLOB NOT NULL, sent INTEGER NOT NULL DEFAULT 0);";

static int step4_index(gs_db *db);

/* A step: SQL, then (optional) code. */
typedef struct layout_step {
    const char *sql;            /* run first */
    int (*code)(gs_db *db);     /* then this, NULL when none */
} layout_step;

static const layout_step steps[DB_LAYOUT_VERSION] = {
    {step1, NULL},
    {step2, NULL},
    {step3, step3_versions},
    {step4, step4_index},
};

/* field_version rows -> one record_version row per record, then field_version goes. */
static int step3_versions(gs_db *db)
{
    sqlite3_stmt *q = NULL;
    fvers fv;
    uint8_t cur[16];
    int have = 0, src, rc = GS_OK;

    src = sqlite3_prepare_v2(db->sql, "SELECT rid, field, ver, hlc FROM field_version "
                                      "ORDER BY rid", -1, &q, NULL);
    if (src != SQLITE_OK)
        return db_fail(db, src, "upgrading field versions");
    fv.n = 0;
    while (rc == GS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        const void *rid = sqlite3_column_blob(q, 0);
        const char *field = (const char *)sqlite3_column_text(q, 1);
        if (sqlite3_column_bytes(q, 0) != 16 || !field)
            continue; /* a damaged row: the version is re-learnt at the next pull */
        if (have && memcmp(cur, rid, 16) != 0) {
            fv.dirty = 1;
            rc = fvers_store(db, cur, &fv);
            fv.n = 0;
        }
        memcpy(cur, rid, 16);
        have = 1;
        if (rc == GS_OK)
            rc = fvers_raise(&fv, field, strlen(field), (uint64_t)sqlite3_column_int64(q, 2),
                             (uint64_t)sqlite3_column_int64(q, 3));
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "upgrading field versions");
    sqlite3_finalize(q);
    if (rc == GS_OK && have) {
        fv.dirty = 1;
        rc = fvers_store(db, cur, &fv);
    }
    if (rc == GS_OK)
        rc = db_exec(db, "DROP TABLE field_version");
    return rc;
}

int layout_reserved(const char *name)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(name, reserved[i]) == 0)
            return 1;
    return strncmp(name, "sqlite_", 7) == 0;
}

/* FNV-1a 64 over every table, field, type and the layout version: any schema change the
 * record tables must follow changes it. */
static void schema_sig(char out[17])
{
    uint64_t h = 14695981039346656037ull;
    char num[16];

#define MIX(s)                                                                               \
    for (const char *p_ = (s); *p_; p_++)                                                    \
        h = (h ^ (unsigned char)*p_) * 1099511628211ull;                                     \
    h = (h ^ 0xffu) * 1099511628211ull;

    snprintf(num, sizeof(num), "%d", DB_LAYOUT_VERSION);
    MIX(num);
    for (size_t i = 0; i < schema_n_tables; i++) {
        const schema_table *t = &schema_tables[i];
        MIX(t->name);
        for (size_t k = 0; k < t->n_fields; k++) {
            MIX(t->fields[k].name);
            MIX(db_sql_type(t->fields[k].type));
            MIX(t->fields[k].type == ST_REF ? "ref" : "");
        }
    }
#undef MIX
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* 1 if t has a column named col. */
static int has_column(gs_db *db, const char *table, const char *col, int *out)
{
    char sql[128];
    sqlite3_stmt *st = NULL;
    int src, found = 0;

    snprintf(sql, sizeof(sql), "PRAGMA table_info(\"%s\")", table);
    src = sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL);
    if (src != SQLITE_OK)
        return db_fail(db, src, "reading the database layout");
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (name && strcmp(name, col) == 0)
            found = 1;
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE)
        return db_fail(db, src, "reading the database layout");
    *out = found;
    return GS_OK;
}

static int add_column(gs_db *db, const char *table, const char *col, const char *decl)
{
    char sql[256];
    int present = 0, rc = has_column(db, table, col, &present);

    if (rc || present)
        return rc;
    snprintf(sql, sizeof(sql), "ALTER TABLE \"%s\" ADD COLUMN \"%s\" %s", table, col, decl);
    return db_exec(db, sql);
}

/* Creates or completes one record table. */
static int reconcile_table(gs_db *db, const schema_table *t)
{
    gs_buf sql;
    char ix[256];
    int rc;

    buf_init(&sql, 64 * 1024);
    rc = buf_addf(&sql,
                  "CREATE TABLE IF NOT EXISTS \"%s\"(id BLOB PRIMARY KEY NOT NULL,"
                  " created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0,"
                  " deleted INTEGER NOT NULL DEFAULT 0",
                  t->name);
    for (size_t k = 0; k < t->n_fields && rc == GS_OK; k++)
        rc = buf_addf(&sql, ", \"%s\" %s", t->fields[k].name, db_sql_type(t->fields[k].type));
    if (rc == GS_OK)
        rc = buf_adds(&sql, ")");
    if (rc) {
        buf_free(&sql);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    rc = db_exec(db, sql.ptr);
    buf_free(&sql);
    if (rc)
        return rc;
    /* a table made by an older schema (or a version-0 file) may lack columns */
    rc = add_column(db, t->name, "created", "INTEGER NOT NULL DEFAULT 0");
    if (rc == GS_OK)
        rc = add_column(db, t->name, "updated", "INTEGER NOT NULL DEFAULT 0");
    if (rc == GS_OK)
        rc = add_column(db, t->name, "deleted", "INTEGER NOT NULL DEFAULT 0");
    for (size_t k = 0; k < t->n_fields && rc == GS_OK; k++)
        rc = add_column(db, t->name, t->fields[k].name, db_sql_type(t->fields[k].type));
    if (rc)
        return rc;
    /* references are looked up both ways (a resident's visits); nothing else is indexed:
       every index is one more B-tree insert per record */
    for (size_t k = 0; k < t->n_fields && rc == GS_OK; k++) {
        if (t->fields[k].type != ST_REF)
            continue;
        snprintf(ix, sizeof(ix), "CREATE INDEX IF NOT EXISTS \"%s_%s\" ON \"%s\"(\"%s\")",
                 t->name, t->fields[k].name, t->name, t->fields[k].name);
        rc = db_exec(db, ix);
    }
    return rc;
}

static int step4_index(gs_db *db)
{
    const schema_table *t = schema_table_find("attachment", strlen("attachment"));
    int rc = t ? reconcile_table(db, t) : GS_OK;

    if (rc == GS_OK && t)
        rc = db_exec(db, "CREATE INDEX IF NOT EXISTS attachment_by_record ON attachment(record)");
    return rc;
}

static int migrate_locked(gs_db *db, int version, const char *sig)
{
    char *stored = NULL;
    char sql[64];
    int rc = GS_OK;

    for (int64_t v = version; v < DB_LAYOUT_VERSION; v++) {
        rc = db_exec(db, steps[v].sql);
        if (rc == GS_OK && steps[v].code)
            rc = steps[v].code(db);
        if (rc)
            return rc;
    }
    rc = db_meta_get_text(db, DB_META_SCHEMA_SIG, &stored);
    if (rc)
        return rc;
    if (!stored || strcmp(stored, sig) != 0) {
        for (size_t i = 0; i < schema_n_tables && rc == GS_OK; i++)
            rc = reconcile_table(db, &schema_tables[i]);
        if (rc == GS_OK)
            rc = db_meta_set_text(db, DB_META_SCHEMA_SIG, sig, strlen(sig));
    }
    gs_free(stored);
    if (rc)
        return rc;
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", DB_LAYOUT_VERSION);
    return db_exec(db, sql);
}

int layout_migrate(gs_db *db)
{
    int version;
    char sig[17];
    char *stored = NULL;
    int rc;

    for (size_t i = 0; i < schema_n_tables; i++)
        if (layout_reserved(schema_tables[i].name))
            return gs_err_set(&db->err, GS_E_STATE,
                              "schema table '%s' has the name of an internal table",
                              schema_tables[i].name);
    rc = sqldb_user_version(db->sql, DB_LAYOUT_VERSION, "gridsync", &version, &db->err);
    if (rc)
        return rc;
    schema_sig(sig);
    if (version == DB_LAYOUT_VERSION) {
        /* the common case: nothing to do, found without taking the write lock */
        rc = db_meta_get_text(db, DB_META_SCHEMA_SIG, &stored);
        if (rc)
            return rc;
        int same = stored && strcmp(stored, sig) == 0;
        gs_free(stored);
        if (same)
            return GS_OK;
    }
    rc = db_tx_begin(db);
    if (rc)
        return rc;
    /* another process may have migrated while we waited for the lock */
    rc = sqldb_user_version(db->sql, DB_LAYOUT_VERSION, "gridsync", &version, &db->err);
    if (rc == GS_OK)
        rc = migrate_locked(db, version, sig);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}
