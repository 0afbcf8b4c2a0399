/*
 * outbox.c: see outbox.h for the row life cycle and its invariants.
 *
 * A row is sent when its seq is at most meta sent_upto (one meta write freezes a whole
 * request's rows). The bases of new fields come from the record's versions (fvers.h).
 * Applying a server response is apply.c.
 */
#include "outbox.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "common/uuid.h"
#include "fieldpack.h"
#include "fvers.h"
#include "proto/value.h"
#include "pval.h"

#include <stdio.h>
#include <string.h>

struct outbox_iter {
    gs_db *db;           /* the handle */
    sqlite3_stmt *st;    /* SELECT over the oldest rows; finalised by outbox_iter_free */
    fieldset fs;         /* the current row's fields */
    proto_change cur;    /* the current change; points into fs and table */
    char table[GS_LIMIT_NAME + 1]; /* the current row's table name */
    int raw;                       /* outbox_iter_raw: wire-form rows as their bytes */
};

/* ---- capture ---- */

static int row_insert(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t stamp,
                      const gs_buf *blob)
{
    sqlite3_stmt *st;
    uint64_t seq;
    int src, rc = db_seq_next(db, &seq);

    if (rc)
        return rc;
    rc = db_prepare_static(db, "INSERT INTO outbox(seq, tbl, rid, hlc, fields, sent) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, 0)",
                    &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)stamp);
    sqlite3_bind_blob(st, 5, blob->ptr, (int)blob->len, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing the outbox");
    db_done(st);
    return rc;
}

/* Finds the record's unsent row; *seq 0 when there is none. Decodes its fields into fs. */
static int unsent_row(gs_db *db, const uint8_t id[16], uint64_t *seq, uint64_t *row_hlc,
                      fieldset *fs)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "SELECT seq, fields, hlc FROM outbox WHERE rid = ?1 AND "
                                 "seq > (SELECT coalesce(max(v), 0) FROM meta "
                                 "WHERE k = 'sent_upto') ORDER BY seq DESC LIMIT 1",
                             &st);

    if (rc)
        return rc;
    *seq = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        *row_hlc = (uint64_t)sqlite3_column_int64(st, 2);
        rc = fieldpack_decode(fs, sqlite3_column_blob(st, 1),
                              (size_t)sqlite3_column_bytes(st, 1), *row_hlc);
        if (rc)
            rc = gs_err_set(&db->err, rc, "outbox row %llu is damaged",
                            (unsigned long long)*seq);
    } else if (src != SQLITE_DONE) {
        rc = db_fail(db, src, "reading the outbox");
    }
    db_done(st);
    return rc;
}

/* Whether this edit sets again a status with a declared path (schema_field.next) that the
 * unsent row already changes from a server version (base not 0: not the record's creation,
 * which may start anywhere) to another value. */
static int steps_a_path(const schema_table *t, const fieldset *fs, const proto_field *fields,
                        uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const schema_field *f = schema_field_find(t, fields[i].name.ptr, fields[i].name.len);
        if (!f || !f->next)
            continue;
        for (uint32_t k = 0; k < fs->n; k++)
            if (fs->fields[k].ver && fs->fields[k].name.len == fields[i].name.len &&
                memcmp(fs->fields[k].name.ptr, fields[i].name.ptr, fields[i].name.len) == 0 &&
                !schema_value_eq(f, &fs->fields[k].value, &fields[i].value))
                return 1;
    }
    return 0;
}

int outbox_capture(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t stamp,
                   const proto_field *fields, uint32_t n, int creating)
{
    fieldset fs;
    fvers *fv = NULL;
    proto_field *merged = NULL;
    uint32_t n_merged = 0;
    uint64_t seq = 0, row_hlc = stamp; /* a new row's clock is this edit's */
    gs_buf blob;
    sqlite3_stmt *st;
    int src, rc = GS_OK;

    fieldset_init(&fs);
    buf_init(&blob, FIELDPACK_MAX);
    if (!creating) {
        rc = unsent_row(db, id, &seq, &row_hlc, &fs);
        if (rc)
            goto out;
        if (seq && steps_a_path(t, &fs, fields, n)) {
            /* a new row: folding two steps of a status path into one would send the server
               a jump it refuses (resolved -> mediating for resolved -> reported -> mediating) */
            fieldset_free(&fs);
            fieldset_init(&fs);
            seq = 0;
            row_hlc = stamp;
        }
        fv = gs_malloc(sizeof(*fv));
        if (!fv) {
            rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
            goto out;
        }
        rc = fvers_load(db, id, fv);
        if (rc)
            goto out;
    }
    merged = gs_calloc((size_t)fs.n + n + 1, sizeof(proto_field));
    if (!merged) {
        rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
        goto out;
    }
    /* the unsent row's fields first, keeping their bases and clocks; a field edited again
       takes the new value and this edit's clock, the others keep their own edit's */
    for (uint32_t i = 0; i < fs.n; i++)
        merged[n_merged++] = fs.fields[i];
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k;
        for (k = 0; k < n_merged; k++)
            if (merged[k].name.len == fields[i].name.len &&
                memcmp(merged[k].name.ptr, fields[i].name.ptr, fields[i].name.len) == 0)
                break;
        if (k < n_merged) {
            merged[k].value = fields[i].value;
            merged[k].hlc = stamp;
            continue;
        }
        merged[n_merged] = fields[i];
        merged[n_merged].ver = 0;
        merged[n_merged].hlc = stamp;
        /* a field's base is the version last seen of it; a delete's, of any field */
        if (fv)
            merged[n_merged].ver = proto_str_eq(fields[i].name, SCHEMA_DELETED_FIELD)
                                       ? fvers_max_ver(fv)
                                       : fvers_ver(fv, fields[i].name.ptr, fields[i].name.len);
        n_merged++;
    }
    rc = fieldpack_encode(&blob, merged, n_merged, row_hlc);
    if (rc) {
        rc = gs_err_set(&db->err, rc, "%s: the change is too large to record", t->name);
        goto out;
    }
    if (seq == 0) {
        rc = row_insert(db, t, id, stamp, &blob);
        goto out;
    }
    /* the row keeps the clock of its first edit: for a new record, its creation */
    rc = db_prepare_static(db, "UPDATE outbox SET fields = ?2 WHERE seq = ?3", &st);
    if (rc)
        goto out;
    sqlite3_bind_blob(st, 2, blob.ptr, (int)blob.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)seq);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing the outbox");
    db_done(st);
out:
    gs_free(merged);
    gs_free(fv);
    buf_free(&blob);
    fieldset_free(&fs);
    return rc;
}

int outbox_append_state(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t row_hlc,
                        const proto_field *fields, uint32_t n)
{
    gs_buf blob;
    int rc;

    buf_init(&blob, FIELDPACK_MAX);
    rc = fieldpack_encode(&blob, fields, n, row_hlc);
    if (rc)
        rc = gs_err_set(&db->err, rc, "%s: the record is too large to queue again", t->name);
    else
        rc = row_insert(db, t, id, row_hlc, &blob);
    buf_free(&blob);
    return rc;
}

/* ---- reading one row ---- */

int outbox_row_read(gs_db *db, int rejected, uint64_t seq, int *found, const schema_table **t,
                    uint8_t id[16], fieldset *fs)
{
    sqlite3_stmt *q;
    int src, rc = db_prepare_static(db, rejected ? "SELECT tbl, rid, hlc, fields FROM rejected WHERE seq = ?1"
                                          : "SELECT tbl, rid, hlc, fields FROM outbox WHERE seq = ?1",
                             &q);
    const char *what = rejected ? "rejected change" : "outbox row";

    if (rc)
        return rc;
    *found = 0;
    sqlite3_bind_int64(q, 1, (int64_t)seq);
    src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        const char *tbl = (const char *)sqlite3_column_text(q, 0);
        *found = 1;
        *t = tbl ? schema_table_find(tbl, strlen(tbl)) : NULL;
        if (!*t || sqlite3_column_bytes(q, 1) != 16) {
            rc = gs_err_set(&db->err, GS_E_DB, "%s %llu is damaged", what,
                            (unsigned long long)seq);
        } else {
            memcpy(id, sqlite3_column_blob(q, 1), 16);
            rc = fieldpack_decode(fs, sqlite3_column_blob(q, 3),
                                  (size_t)sqlite3_column_bytes(q, 3),
                                  (uint64_t)sqlite3_column_int64(q, 2));
            if (rc)
                rc = gs_err_set(&db->err, rc, "%s %llu is damaged", what,
                                (unsigned long long)seq);
        }
    } else if (src != SQLITE_DONE) {
        rc = db_fail(db, src, rejected ? "reading rejected changes" : "reading the outbox");
    }
    db_done(q);
    return rc;
}

/* ---- iteration ---- */

int outbox_iter_open(gs_db *db, uint32_t max_changes, outbox_iter **out)
{
    outbox_iter *it = gs_calloc(1, sizeof(*it));
    int src;

    if (!it)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    it->db = db;
    fieldset_init(&it->fs);
    /* not from the cache: the statement stays open across the caller's other calls */
    src = sqlite3_prepare_v2(db->sql,
                             "SELECT seq, tbl, rid, hlc, fields FROM outbox ORDER BY seq "
                             "LIMIT ?1",
                             -1, &it->st, NULL);
    if (src != SQLITE_OK) {
        int rc = db_fail(db, src, "reading the outbox");
        gs_free(it);
        return rc;
    }
    sqlite3_bind_int64(it->st, 1, (int64_t)max_changes);
    *out = it;
    return GS_OK;
}

void outbox_iter_raw(outbox_iter *it)
{
    it->raw = 1;
}

int outbox_iter_next(outbox_iter *it, const proto_change **out)
{
    gs_db *db = it->db;
    const void *blob;
    size_t blen;
    const char *tbl;
    int n, rc, src = sqlite3_step(it->st);

    if (src == SQLITE_DONE) {
        *out = NULL;
        return GS_OK;
    }
    if (src != SQLITE_ROW)
        return db_fail(db, src, "reading the outbox");
    memset(&it->cur, 0, sizeof(it->cur));
    it->cur.seq = (uint64_t)sqlite3_column_int64(it->st, 0);
    tbl = (const char *)sqlite3_column_text(it->st, 1);
    n = sqlite3_column_bytes(it->st, 1);
    if (!tbl || n <= 0 || n > GS_LIMIT_NAME || sqlite3_column_bytes(it->st, 2) != 16)
        return gs_err_set(&db->err, GS_E_DB, "outbox row %llu is damaged",
                          (unsigned long long)it->cur.seq);
    memcpy(it->table, tbl, (size_t)n);
    it->table[n] = '\0';
    memcpy(it->cur.id, sqlite3_column_blob(it->st, 2), 16);
    it->cur.hlc = (uint64_t)sqlite3_column_int64(it->st, 3);
    blob = sqlite3_column_blob(it->st, 4);
    blen = (size_t)sqlite3_column_bytes(it->st, 4);
    if (it->raw && fieldpack_is_wire(blob, blen)) {
        /* the framing is checked, so a damaged row is reported here rather than making the
           whole request one the server refuses; the values passed the schema when written */
        rc = blen <= FIELDPACK_MAX && proto_scan(blob, blen, 1, NULL) == GS_OK ? GS_OK : GS_E_DB;
        it->cur.f_raw = blob;
        it->cur.f_raw_len = blen;
    } else {
        rc = fieldpack_decode(&it->fs, blob, blen, it->cur.hlc);
        it->cur.fields = it->fs.fields;
        it->cur.n_fields = it->fs.n;
    }
    if (rc)
        return gs_err_set(&db->err, rc, "outbox row %llu is damaged",
                          (unsigned long long)it->cur.seq);
    it->cur.table.ptr = it->table;
    it->cur.table.len = (uint32_t)n;
    *out = &it->cur;
    return GS_OK;
}

void outbox_iter_free(outbox_iter *it)
{
    if (!it)
        return;
    sqlite3_finalize(it->st);
    fieldset_free(&it->fs);
    gs_free(it);
}

/* ---- small queries ---- */

int outbox_mark_sent(gs_db *db, uint64_t first_seq, uint64_t last_seq)
{
    int64_t upto = 0;
    int rc = db_tx_begin(db);

    (void)first_seq; /* rows are sent oldest first: a mark covers every row up to last_seq */
    if (rc)
        return rc;
    rc = db_meta_get_int(db, DB_META_SENT_UPTO, 0, &upto);
    if (rc == GS_OK && (uint64_t)upto < last_seq)
        rc = db_meta_set_int(db, DB_META_SENT_UPTO, (int64_t)last_seq);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}

int outbox_low(gs_db *db, uint64_t *low)
{
    sqlite3_stmt *st;
    int64_t next;
    int src, rc = db_prepare_static(db, "SELECT min(seq) FROM outbox", &st);

    if (rc)
        return rc;
    src = sqlite3_step(st);
    if (src != SQLITE_ROW) {
        rc = db_fail(db, src, "reading the outbox");
    } else if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
        *low = (uint64_t)sqlite3_column_int64(st, 0);
    } else {
        rc = db_meta_get_int(db, DB_META_SEQ, 1, &next);
        if (rc == GS_OK)
            *low = (uint64_t)next;
    }
    db_done(st);
    return rc;
}

int outbox_count(gs_db *db, int64_t *pending, int64_t *sent)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "SELECT count(*), coalesce(sum(seq <= (SELECT coalesce(max(v), 0) "
                                 "FROM meta WHERE k = 'sent_upto')), 0) FROM outbox",
                             &st);

    if (rc)
        return rc;
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *pending = sqlite3_column_int64(st, 0);
        if (sent)
            *sent = sqlite3_column_int64(st, 1);
    } else {
        rc = db_fail(db, src, "reading the outbox");
    }
    db_done(st);
    return rc;
}

int outbox_drop_upto(gs_db *db, uint64_t last_seq)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "DELETE FROM outbox WHERE seq <= ?1", &st);

    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)last_seq);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "removing merged changes from the outbox");
    db_done(st);
    return rc;
}

int outbox_set_cursor(gs_db *db, uint64_t cursor)
{
    return db_meta_set_int(db, DB_META_CURSOR, (int64_t)cursor);
}

int outbox_get_cursor(gs_db *db, uint64_t *cursor)
{
    int64_t v;
    int rc = db_meta_get_int(db, DB_META_CURSOR, 0, &v);
    if (rc == GS_OK)
        *cursor = (uint64_t)v;
    return rc;
}

int outbox_set_sync_result(gs_db *db, int64_t at_ms, const char *result)
{
    int rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = db_meta_set_int(db, DB_META_SYNC_AT, at_ms);
    if (rc == GS_OK)
        rc = db_meta_set_text(db, DB_META_SYNC_RESULT, result, strlen(result));
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}

