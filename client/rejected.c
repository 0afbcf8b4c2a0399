/*
 * rejected.c: the changes the server refused, as the worker sees and handles them:
 * gs_db_rejected lists them, gs_db_retry sends one again as a new change, gs_db_drop gives
 * one up.
 *
 * A rejected change never shadows the server's data: when the server refuses a change it
 * sends its own state of the record (apply.c), so the device shows what everyone else
 * sees, and the refused values wait here. Retrying is an ordinary local edit made now
 * (a fresh clock, the bases the device has now, every check of gs_db_add / gs_db_update /
 * gs_db_delete), in one transaction with the removal of the rejected row:
 *
 *   rejected row ──gs_db_retry──> a new outbox row (new seq), or nothing when the record
 *        │                        already holds every refused value
 *        └──────gs_db_drop───> gone
 */
#include "common/alloc.h"
#include "common/sqldb.h"
#include "common/uuid.h"
#include "capture.h"
#include "outbox.h"
#include "record.h"

#include <stdio.h>
#include <string.h>

int gs_db_rejected(gs_db *db, gs_rejected_cb *cb, void *ud)
{
    sqlite3_stmt *st = NULL;
    int src, rc = GS_OK;

    if (!db || !cb)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    /* not cached: the callback may call back into the handle */
    src = sqlite3_prepare_v2(db->sql,
                             "SELECT seq, tbl, rid, code, message, at FROM rejected ORDER BY seq",
                             -1, &st, NULL);
    if (src != SQLITE_OK)
        return db_fail(db, src, "reading rejected changes");
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        gs_rejected_info info;
        char id[UUID_TEXT_LEN + 1] = "";
        if (sqlite3_column_bytes(st, 2) == UUID_LEN)
            uuid_format(sqlite3_column_blob(st, 2), id);
        info.seq = (uint64_t)sqlite3_column_int64(st, 0);
        info.table = (const char *)sqlite3_column_text(st, 1);
        info.id = id;
        info.code = (const char *)sqlite3_column_text(st, 3);
        info.message = (const char *)sqlite3_column_text(st, 4);
        info.at_ms = sqlite3_column_int64(st, 5);
        if (!info.table)
            info.table = "";
        if (!info.code)
            info.code = "";
        if (!info.message)
            info.message = "";
        rc = cb(ud, &info);
        if (rc)
            break;
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "reading rejected changes");
    sqlite3_finalize(st);
    return rc;
}

/* One rejected row, read. */
typedef struct rejected_row {
    const schema_table *t; /* its table */
    uint8_t id[UUID_LEN];  /* its record */
    fieldset fs;           /* the refused fields and values */
} rejected_row;

static int row_read(gs_db *db, uint64_t seq, rejected_row *r)
{
    int found = 0, rc = outbox_row_read(db, 1, seq, &found, &r->t, r->id, &r->fs);

    if (rc == GS_OK && !found)
        rc = gs_err_set(&db->err, GS_E_NOTFOUND,
                        "there is no rejected change #%llu (gridsync status lists them)",
                        (unsigned long long)seq);
    return rc;
}

/* Commits on success, else rolls back keeping the message of the failure. */
static int tx_end(gs_db *db, int rc)
{
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc) {
        gs_err keep = db->err;
        db_tx_rollback(db);
        db->err = keep;
    }
    return rc;
}

static int row_remove(gs_db *db, uint64_t seq)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "DELETE FROM rejected WHERE seq = ?1", &st);

    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "removing a rejected change");
    db_done(st);
    return rc;
}

/* The record's newest unsent outbox row, 0 when none. */
static int unsent_seq(gs_db *db, const uint8_t id[UUID_LEN], uint64_t *out)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "SELECT max(seq) FROM outbox WHERE rid = ?1 AND seq > "
                                 "(SELECT coalesce(max(v), 0) FROM meta WHERE k = 'sent_upto')",
                             &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, UUID_LEN, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0); /* NULL reads as 0 */
    else
        rc = db_fail(db, src, "reading the outbox");
    db_done(st);
    return rc;
}

static int is_delete(const rejected_row *r)
{
    int k = fieldset_find(&r->fs, SCHEMA_DELETED_FIELD, strlen(SCHEMA_DELETED_FIELD));
    return k >= 0 && r->fs.fields[k].value.type == PV_BOOL && r->fs.fields[k].value.u.b;
}

/* Puts the refused values on rec (marked set); the tombstone is not a slot. */
static int put_fields(gs_record *rec, const rejected_row *r)
{
    for (uint32_t i = 0; i < r->fs.n; i++) {
        const proto_field *f = &r->fs.fields[i];
        int k = record_field_index(r->t, f->name.ptr, f->name.len);
        int rc;
        if (k < 0)
            continue;
        rc = record_put(rec, (size_t)k, &f->value, 1);
        if (rc)
            return gs_err_set(&rec->db->err, rc, "out of memory");
    }
    return GS_OK;
}

/* The edit that resends r: a delete, an update of the record the device shows, or the
 * creation of a record the server never had. */
static int resend(gs_db *db, const rejected_row *r)
{
    gs_record *rec = NULL;
    char text[UUID_TEXT_LEN + 1];
    int rc = record_load(db, r->id, &rec);

    uuid_format(r->id, text);
    if (rc == GS_E_NOTFOUND) {
        if (is_delete(r))
            return gs_err_set(&db->err, GS_E_NOTFOUND, "%s %s is no longer on this device: "
                              "there is nothing to delete", r->t->name, text);
        /* a record only this device had: create it again, under the same id */
        rc = record_new(db, r->t, &rec);
        if (rc == GS_OK) {
            record_set_id(rec, r->id);
            rc = put_fields(rec, r);
        }
        if (rc == GS_OK)
            rc = capture_add(db, rec, NULL);
        gs_record_free(rec);
        return rc;
    }
    if (rc)
        return rc;
    if (rec->t != r->t) {
        gs_record_free(rec);
        return gs_err_set(&db->err, GS_E_STATE, "%s is a %s on this device, not a %s", text,
                          rec->t->name, r->t->name);
    }
    if (rec->deleted) {
        gs_record_free(rec);
        return gs_err_set(&db->err, GS_E_NOTFOUND, "%s %s was deleted meanwhile: its change "
                          "cannot be sent again (gridsync drop gives it up)", r->t->name, text);
    }
    if (is_delete(r)) {
        gs_record_free(rec);
        return gs_db_delete(db, text);
    }
    for (size_t i = 0; i < r->t->n_fields; i++)
        rec->slots[i].set = 0;
    rc = put_fields(rec, r);
    if (rc == GS_OK)
        rc = gs_db_update(db, rec);
    gs_record_free(rec);
    return rc;
}

int gs_db_retry(gs_db *db, uint64_t seq, uint64_t *new_seq)
{
    rejected_row r;
    uint64_t after = 0;
    sqlite3_int64 writes = 0;
    int rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    memset(&r, 0, sizeof(r));
    fieldset_init(&r.fs);
    rc = db_tx_begin_undoable(db);
    if (rc)
        return rc;
    rc = row_read(db, seq, &r);
    if (rc == GS_OK) {
        writes = sqldb_total_changes(db->sql);
        rc = resend(db, &r);
        writes = sqldb_total_changes(db->sql) - writes;
    }
    if (rc == GS_OK && writes > 0)
        rc = unsent_seq(db, r.id, &after);
    if (rc == GS_OK)
        rc = row_remove(db, seq);
    rc = tx_end(db, rc);
    fieldset_free(&r.fs);
    if (rc == GS_OK && new_seq)
        *new_seq = after;
    return rc;
}

int gs_db_drop(gs_db *db, uint64_t seq)
{
    rejected_row r;
    int rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    memset(&r, 0, sizeof(r));
    fieldset_init(&r.fs);
    rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = row_read(db, seq, &r);
    if (rc == GS_OK)
        rc = row_remove(db, seq);
    rc = tx_end(db, rc);
    fieldset_free(&r.fs);
    return rc;
}
