/*
 * resync.c: see resync.h. Runs rarely (after a server restore) and once per record, so it
 * favours plain statements over speed.
 */
#include "resync.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "fieldpack.h"
#include "fvers.h"
#include "outbox.h"
#include "record.h"

#include <stdio.h>
#include <string.h>

/* Step 1: every row frozen, every base 0. */
static int rows_rebase(gs_db *db)
{
    sqlite3_stmt *q = NULL, *u = NULL;
    fieldset fs;
    gs_buf blob;
    int64_t max_seq = 0;
    int src = SQLITE_DONE, rc;

    fieldset_init(&fs);
    buf_init(&blob, FIELDPACK_MAX);
    rc = db_prepare(db, "SELECT seq, hlc, fields FROM outbox ORDER BY seq", &q);
    if (!rc)
        rc = db_prepare(db, "UPDATE outbox SET fields = ?1 WHERE seq = ?2", &u);
    while (rc == GS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(q, 0);
        uint64_t row_hlc = (uint64_t)sqlite3_column_int64(q, 1);

        rc = fieldpack_decode(&fs, sqlite3_column_blob(q, 2), (size_t)sqlite3_column_bytes(q, 2),
                              row_hlc);
        if (rc) {
            rc = gs_err_set(&db->err, rc, "outbox row %lld is damaged", (long long)seq);
            break;
        }
        for (uint32_t i = 0; i < fs.n; i++)
            fs.fields[i].ver = 0;
        buf_reset(&blob);
        rc = fieldpack_encode(&blob, fs.fields, fs.n, row_hlc);
        if (rc) {
            rc = gs_err_set(&db->err, rc, "outbox row %lld cannot be rewritten", (long long)seq);
            break;
        }
        db_done(u);
        sqlite3_bind_blob(u, 1, blob.ptr, (int)blob.len, SQLITE_STATIC);
        sqlite3_bind_int64(u, 2, seq);
        if (sqlite3_step(u) != SQLITE_DONE)
            rc = db_fail(db, sqlite3_errcode(db->sql), "rewriting the outbox");
        if (seq > max_seq)
            max_seq = seq;
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "reading the outbox");
    db_done(q);
    db_done(u);
    fieldset_free(&fs);
    buf_free(&blob);
    if (rc == GS_OK && max_seq > 0)
        rc = outbox_mark_sent(db, 1, (uint64_t)max_seq);
    return rc;
}

/* The clock of field name in the newest outbox row of record id that carries it; *found 0
 * when no row does. */
static int pending_clock(gs_db *db, const uint8_t id[16], const char *name, int *found,
                         uint64_t *clock)
{
    sqlite3_stmt *q = NULL;
    fieldset fs;
    int src = SQLITE_DONE,
        rc = db_prepare(db, "SELECT hlc, fields FROM outbox WHERE rid = ?1 ORDER BY seq", &q);

    *found = 0;
    fieldset_init(&fs);
    if (!rc)
        sqlite3_bind_blob(q, 1, id, 16, SQLITE_STATIC);
    while (rc == GS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        int k;
        rc = fieldpack_decode(&fs, sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1),
                              (uint64_t)sqlite3_column_int64(q, 0));
        if (rc) {
            rc = gs_err_set(&db->err, rc, "an outbox row is damaged");
        } else if ((k = fieldset_find(&fs, name, strlen(name))) >= 0) {
            *found = 1;
            *clock = fs.fields[k].hlc;
        }
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "reading the outbox");
    db_done(q);
    fieldset_free(&fs);
    return rc;
}

/* The record's own outbox rows, replaced by its state row: their values are the record's,
 * and their clocks go with them (pending_clock). */
static int rows_drop(gs_db *db, const uint8_t id[16])
{
    sqlite3_stmt *d = NULL;
    int rc = db_prepare(db, "DELETE FROM outbox WHERE rid = ?1", &d);

    if (rc)
        return rc;
    sqlite3_bind_blob(d, 1, id, 16, SQLITE_STATIC);
    if (sqlite3_step(d) != SQLITE_DONE)
        rc = db_fail(db, sqlite3_errcode(db->sql), "rewriting the outbox");
    db_done(d);
    return rc;
}

/* Steps 2 and 3 for one record. */
static int record_requeue(gs_db *db, const schema_table *t, const uint8_t id[16], int *queued)
{
    static const proto_value v_true = {.type = PV_BOOL, .u.b = 1};
    proto_field fields[PROTO_MAX_FIELDS + 1];
    gs_record *rec = NULL;
    fvers *fv = gs_malloc(sizeof(*fv));
    uint64_t row_hlc = 0;
    uint32_t n = 0;
    int rc;

    *queued = 0;
    if (!fv)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    rc = record_load_in(db, t, id, &rec);
    if (!rc)
        rc = fvers_load(db, id, fv);
    for (size_t i = 0; rc == GS_OK && i <= t->n_fields && n <= PROTO_MAX_FIELDS; i++) {
        const char *name = i < t->n_fields ? t->fields[i].name : SCHEMA_DELETED_FIELD;
        const fvers_entry *e = fvers_find(fv, name, strlen(name));
        const proto_value *v;
        int pending = 0;

        if (i < t->n_fields) {
            if (strcmp(name, SCHEMA_DELETED_FIELD) == 0)
                continue;
            v = &rec->slots[i].v;
            /* no value and no known edit: nothing to tell the server */
            if (v->type == PV_NIL && !e)
                continue;
        } else {
            if (!rec->deleted)
                continue;
            v = &v_true;
        }
        /* a required field without a value would make the server refuse the whole row */
        if (v->type == PV_NIL && i < t->n_fields && (t->fields[i].flags & SF_REQUIRED))
            continue;
        memset(&fields[n], 0, sizeof(fields[n]));
        rc = pending_clock(db, id, name, &pending, &fields[n].hlc);
        if (rc)
            break;
        fields[n].name = proto_cstr(name);
        fields[n].value = *v;
        fields[n].ver = 0;
        /* the clock of the edit behind the value: a pending row's when one carries the field
         * (the record shows that edit), else the one fvers keeps; unknown (0): the record's
         * last change */
        if (!pending)
            fields[n].hlc = e && e->hlc ? e->hlc : rec->updated ? rec->updated : rec->created;
        if (!row_hlc || fields[n].hlc < row_hlc)
            row_hlc = fields[n].hlc;
        n++;
    }
    if (rc == GS_OK && n > 0 && row_hlc > 0) {
        /* one row per record: a pending row alone could reach a server that lacks the record
           and be refused as a creation without its required fields */
        rc = rows_drop(db, id);
        if (rc == GS_OK)
            rc = outbox_append_state(db, t, id, row_hlc, fields, n);
        if (rc == GS_OK)
            *queued = 1;
    }
    /* step 3: the versions of the old history mean nothing in the new one */
    for (uint32_t i = 0; rc == GS_OK && i < fv->n; i++) {
        fv->e[i].ver = 0;
        fv->dirty = 1;
    }
    if (rc == GS_OK)
        rc = fvers_store(db, id, fv);
    gs_record_free(rec);
    gs_free(fv);
    return rc;
}

static int table_requeue(gs_db *db, const schema_table *t, uint64_t *n_queued)
{
    char sql[160];
    sqlite3_stmt *q = NULL;
    int src = SQLITE_DONE, rc;

    /* by creation, so a record comes before the records that refer to it */
    snprintf(sql, sizeof(sql), "SELECT id FROM \"%s\" ORDER BY created, id", t->name);
    rc = db_prepare(db, sql, &q);
    while (rc == GS_OK && (src = sqlite3_step(q)) == SQLITE_ROW) {
        uint8_t id[16];
        int queued = 0;

        if (sqlite3_column_bytes(q, 0) != 16)
            continue;
        memcpy(id, sqlite3_column_blob(q, 0), 16);
        rc = record_requeue(db, t, id, &queued);
        *n_queued += (uint64_t)queued;
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "reading the records");
    db_done(q);
    return rc;
}

int resync_start(gs_db *db, uint64_t epoch, uint64_t *n_queued)
{
    uint64_t n = 0;
    int rc = db_tx_begin(db);

    if (rc)
        return rc;
    rc = rows_rebase(db);
    /* tables in schema order: the ones referred to come first */
    for (size_t i = 0; rc == GS_OK && i < schema_n_tables; i++)
        if (!schema_tables[i].server_only)
            rc = table_requeue(db, &schema_tables[i], &n);
    /* records of server-only tables keep no versions of the old history either */
    for (size_t i = 0; rc == GS_OK && i < schema_n_tables; i++)
        if (schema_tables[i].server_only) {
            char sql[160];
            snprintf(sql, sizeof(sql),
                     "DELETE FROM record_version WHERE rid IN (SELECT id FROM \"%s\")",
                     schema_tables[i].name);
            rc = db_exec(db, sql);
        }
    if (rc == GS_OK)
        rc = outbox_set_cursor(db, 0);
    if (rc == GS_OK && epoch)
        rc = db_meta_set_int(db, DB_META_SERVER_EPOCH, (int64_t)epoch);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc) {
        db_tx_rollback(db);
        return rc;
    }
    *n_queued = n;
    return GS_OK;
}
