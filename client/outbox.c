/*
 * outbox.c: see outbox.h for the row life cycle and its invariants.
 *
 * Versions: field_version(rid, field) holds the server version of each field the device
 * last saw (from an ack or a pull); an absent row means 0, "never saw one". Versions only
 * grow: every upsert keeps the greater of old and new.
 */
#include "outbox.h"

#include "../common/alloc.h"
#include "../common/buf.h"
#include "../common/uuid.h"
#include "fieldpack.h"
#include "pval.h"

#include <stdio.h>
#include <string.h>

struct outbox_iter {
    gs_db *db;           /* the handle */
    sqlite3_stmt *st;    /* SELECT over the oldest rows; finalised by outbox_iter_free */
    fieldset fs;         /* the current row's fields */
    proto_change cur;    /* the current change; points into fs and table */
    char table[SCHEMA_NAME_MAX + 1]; /* the current row's table name */
};

/* ---- versions ---- */

static int version_get(gs_db *db, const uint8_t id[16], const char *field, size_t len,
                       uint64_t *out)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare(db, "SELECT ver FROM field_version WHERE rid = ?1 AND field = ?2",
                             &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, field, (int)len, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else if (src == SQLITE_DONE)
        *out = 0;
    else
        rc = db_fail(db, src, "reading field versions");
    db_done(st);
    return rc;
}

static int version_max(gs_db *db, const uint8_t id[16], uint64_t *out)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare(db, "SELECT max(ver) FROM field_version WHERE rid = ?1", &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0); /* NULL reads as 0 */
    else
        rc = db_fail(db, src, "reading field versions");
    db_done(st);
    return rc;
}

static int version_set(gs_db *db, const uint8_t id[16], proto_str field, uint64_t ver)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare(db, "INSERT INTO field_version(rid, field, ver) VALUES(?1, ?2, ?3) "
                                 "ON CONFLICT(rid, field) DO UPDATE SET "
                                 "ver = max(ver, excluded.ver)",
                             &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, field.ptr, (int)field.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)ver);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing field versions");
    db_done(st);
    return rc;
}

/* The base a field gets when it first enters a row. */
static int base_of(gs_db *db, const uint8_t id[16], proto_str name, uint64_t *out)
{
    if (proto_str_eq(name, SCHEMA_DELETED_FIELD))
        return version_max(db, id, out);
    return version_get(db, id, name.ptr, name.len, out);
}

/* ---- capture ---- */

static int row_insert(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t stamp,
                      const gs_buf *blob)
{
    sqlite3_stmt *st;
    uint64_t seq;
    int src, rc = db_seq_next(db, &seq);

    if (rc)
        return rc;
    rc = db_prepare(db, "INSERT INTO outbox(seq, tbl, rid, hlc, fields, sent) "
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
static int unsent_row(gs_db *db, const uint8_t id[16], uint64_t *seq, fieldset *fs)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare(db, "SELECT seq, fields FROM outbox WHERE rid = ?1 AND sent = 0 "
                                 "ORDER BY seq DESC LIMIT 1",
                             &st);

    if (rc)
        return rc;
    *seq = 0;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
        rc = fieldpack_decode(fs, sqlite3_column_blob(st, 1),
                              (size_t)sqlite3_column_bytes(st, 1));
        if (rc)
            rc = gs_err_set(&db->err, rc, "outbox row %llu is damaged",
                            (unsigned long long)*seq);
    } else if (src != SQLITE_DONE) {
        rc = db_fail(db, src, "reading the outbox");
    }
    db_done(st);
    return rc;
}

int outbox_capture(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t stamp,
                   const proto_field *fields, uint32_t n, int creating)
{
    fieldset fs;
    proto_field *merged = NULL;
    uint32_t n_merged = 0;
    uint64_t seq = 0;
    gs_buf blob;
    sqlite3_stmt *st;
    int src, rc = GS_OK;

    fieldset_init(&fs);
    buf_init(&blob, FIELDPACK_MAX);
    if (!creating) {
        rc = unsent_row(db, id, &seq, &fs);
        if (rc)
            goto out;
    }
    merged = gs_calloc((size_t)fs.n + n + 1, sizeof(proto_field));
    if (!merged) {
        rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
        goto out;
    }
    /* the unsent row's fields first, keeping their bases; new values overwrite them */
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
            continue;
        }
        merged[n_merged] = fields[i];
        merged[n_merged].ver = 0;
        if (!creating) {
            rc = base_of(db, id, fields[i].name, &merged[n_merged].ver);
            if (rc)
                goto out;
        }
        n_merged++;
    }
    rc = fieldpack_encode(&blob, merged, n_merged);
    if (rc) {
        rc = gs_err_set(&db->err, rc, "%s: the change is too large to record", t->name);
        goto out;
    }
    if (seq == 0) {
        rc = row_insert(db, t, id, stamp, &blob);
        goto out;
    }
    rc = db_prepare(db, "UPDATE outbox SET hlc = ?1, fields = ?2 WHERE seq = ?3 AND sent = 0",
                    &st);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, (int64_t)stamp);
    sqlite3_bind_blob(st, 2, blob.ptr, (int)blob.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)seq);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing the outbox");
    db_done(st);
out:
    gs_free(merged);
    buf_free(&blob);
    fieldset_free(&fs);
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

int outbox_iter_next(outbox_iter *it, const proto_change **out)
{
    gs_db *db = it->db;
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
    if (!tbl || n <= 0 || n > SCHEMA_NAME_MAX || sqlite3_column_bytes(it->st, 2) != 16)
        return gs_err_set(&db->err, GS_E_DB, "outbox row %llu is damaged",
                          (unsigned long long)it->cur.seq);
    memcpy(it->table, tbl, (size_t)n);
    it->table[n] = '\0';
    memcpy(it->cur.id, sqlite3_column_blob(it->st, 2), 16);
    it->cur.hlc = (uint64_t)sqlite3_column_int64(it->st, 3);
    rc = fieldpack_decode(&it->fs, sqlite3_column_blob(it->st, 4),
                          (size_t)sqlite3_column_bytes(it->st, 4));
    if (rc)
        return gs_err_set(&db->err, rc, "outbox row %llu is damaged",
                          (unsigned long long)it->cur.seq);
    it->cur.table.ptr = it->table;
    it->cur.table.len = (uint32_t)n;
    it->cur.fields = it->fs.fields;
    it->cur.n_fields = it->fs.n;
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
    sqlite3_stmt *st;
    int src, rc = db_tx_begin(db);

    if (rc)
        return rc;
    rc = db_prepare(db, "UPDATE outbox SET sent = 1 WHERE seq BETWEEN ?1 AND ?2", &st);
    if (rc)
        goto out;
    sqlite3_bind_int64(st, 1, (int64_t)first_seq);
    sqlite3_bind_int64(st, 2, (int64_t)last_seq);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "marking changes sent");
    db_done(st);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
out:
    if (rc)
        db_tx_rollback(db);
    return rc;
}

int outbox_low(gs_db *db, uint64_t *low)
{
    sqlite3_stmt *st;
    int64_t next;
    int src, rc = db_prepare(db, "SELECT min(seq) FROM outbox", &st);

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
    int src, rc = db_prepare(db, "SELECT count(*), coalesce(sum(sent), 0) FROM outbox", &st);

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

/* ---- writing fields into records ---- */

/* UPDATE t SET field = value[, updated = max(updated, hlc)] WHERE id. */
static int record_write_field(gs_db *db, const schema_table *t, const uint8_t id[16],
                              const schema_field *f, const proto_value *v, uint64_t stamp)
{
    char sql[256];
    sqlite3_stmt *st;
    int src, rc;

    snprintf(sql, sizeof(sql),
             "UPDATE \"%s\" SET \"%s\" = ?1, updated = max(updated, ?2) WHERE id = ?3", t->name,
             f->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    if (strcmp(f->name, SCHEMA_DELETED_FIELD) == 0)
        src = sqlite3_bind_int(st, 1, v->type == PV_BOOL && v->u.b);
    else
        src = pval_bind(st, 1, f, v);
    sqlite3_bind_int64(st, 2, (int64_t)stamp);
    sqlite3_bind_blob(st, 3, id, 16, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing a record");
    db_done(st);
    return rc;
}

/* Names of the fields carried by pending rows of the record other than except_seq, as
 * "\0name\0name\0...". */
static int pending_names(gs_db *db, const uint8_t id[16], uint64_t except_seq, gs_buf *names)
{
    sqlite3_stmt *st;
    fieldset fs;
    int src, rc = db_prepare(db, "SELECT fields FROM outbox WHERE rid = ?1 AND seq != ?2", &st);

    if (rc)
        return rc;
    fieldset_init(&fs);
    buf_reset(names);
    rc = buf_add(names, "", 1);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)except_seq);
    while (rc == GS_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fieldpack_decode(&fs, sqlite3_column_blob(st, 0),
                              (size_t)sqlite3_column_bytes(st, 0));
        if (rc) {
            rc = gs_err_set(&db->err, rc, "an outbox row is damaged");
            break;
        }
        for (uint32_t i = 0; i < fs.n && rc == GS_OK; i++) {
            rc = buf_add(names, fs.fields[i].name.ptr, fs.fields[i].name.len);
            if (rc == GS_OK)
                rc = buf_add(names, "", 1);
        }
        if (rc && rc != GS_E_DB)
            rc = gs_err_set(&db->err, rc, "out of memory");
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "reading the outbox");
    db_done(st);
    fieldset_free(&fs);
    return rc;
}

static int names_has(const gs_buf *names, proto_str name)
{
    const char *p = names->ptr, *end = names->ptr + names->len;

    while (p && p < end) {
        size_t len = strlen(p);
        if (len == name.len && memcmp(p, name.ptr, len) == 0 && len > 0)
            return 1;
        p += len + 1;
    }
    return 0;
}

/* The schema's field for a wire name, the tombstone included. */
static const schema_field *field_of(const schema_table *t, proto_str name)
{
    return schema_field_find(t, name.ptr, name.len);
}

/* ---- acks ---- */

static int reject_row(gs_db *db, uint64_t seq, const proto_ack *ack)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare(db, "INSERT OR REPLACE INTO rejected(seq, tbl, rid, hlc, fields, "
                                 "code, message, at) SELECT seq, tbl, rid, hlc, fields, ?2, ?3, ?4 "
                                 "FROM outbox WHERE seq = ?1",
                             &st);

    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    if (ack->err.len)
        sqlite3_bind_text(st, 2, ack->err.ptr, (int)ack->err.len, SQLITE_STATIC);
    else
        sqlite3_bind_text(st, 2, "rejected", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ack->msg.len ? ack->msg.ptr : "", (int)ack->msg.len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)db_wall_ms(db));
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "keeping a rejected change");
    db_done(st);
    return rc;
}

static int row_delete(gs_db *db, uint64_t seq)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare(db, "DELETE FROM outbox WHERE seq = ?1", &st);

    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)seq);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "removing an acknowledged change");
    db_done(st);
    return rc;
}

static int lost_index(const proto_ack *ack, proto_str name)
{
    for (uint32_t i = 0; i < ack->n_lost; i++)
        if (ack->lost[i].name.len == name.len &&
            memcmp(ack->lost[i].name.ptr, name.ptr, name.len) == 0)
            return (int)i;
    return -1;
}

static int apply_ack_locked(gs_db *db, const proto_ack *ack, outbox_stats *st)
{
    sqlite3_stmt *q;
    fieldset fs;
    gs_buf names;
    const schema_table *t = NULL;
    uint8_t id[16];
    uint64_t stamp = 0;
    int src, found = 0, rc = db_prepare(db, "SELECT tbl, rid, hlc, fields FROM outbox "
                                            "WHERE seq = ?1",
                                        &q);

    if (rc)
        return rc;
    fieldset_init(&fs);
    buf_init(&names, FIELDPACK_MAX);
    sqlite3_bind_int64(q, 1, (int64_t)ack->seq);
    src = sqlite3_step(q);
    if (src == SQLITE_ROW) {
        const char *tbl = (const char *)sqlite3_column_text(q, 0);
        found = 1;
        t = tbl ? schema_table_find(tbl, strlen(tbl)) : NULL;
        if (!t || sqlite3_column_bytes(q, 1) != 16) {
            rc = gs_err_set(&db->err, GS_E_DB, "outbox row %llu is damaged",
                            (unsigned long long)ack->seq);
        } else {
            memcpy(id, sqlite3_column_blob(q, 1), 16);
            stamp = (uint64_t)sqlite3_column_int64(q, 2);
            rc = fieldpack_decode(&fs, sqlite3_column_blob(q, 3),
                                  (size_t)sqlite3_column_bytes(q, 3));
            if (rc)
                rc = gs_err_set(&db->err, rc, "outbox row %llu is damaged",
                                (unsigned long long)ack->seq);
        }
    } else if (src != SQLITE_DONE) {
        rc = db_fail(db, src, "reading the outbox");
    }
    db_done(q);
    if (rc)
        goto out;
    if (!found) {
        if (st)
            st->unknown_acks++;
        goto out;
    }
    if (!ack->ok) {
        rc = reject_row(db, ack->seq, ack);
        if (rc == GS_OK)
            rc = row_delete(db, ack->seq);
        if (rc == GS_OK && st)
            st->rejected++;
        goto out;
    }
    /* check every lost value before changing anything */
    for (uint32_t i = 0; i < ack->n_lost; i++) {
        const schema_field *f = field_of(t, ack->lost[i].name);
        gs_err verr;
        if (!f) {
            rc = gs_err_set(&db->err, GS_E_PROTO, "ack %llu: unknown field '%.*s' in lost",
                            (unsigned long long)ack->seq, (int)ack->lost[i].name.len,
                            ack->lost[i].name.ptr);
            goto out;
        }
        if (schema_check_value(t, f, &ack->lost[i].value, &verr)) {
            rc = gs_err_set(&db->err, GS_E_PROTO, "ack %llu: %s", (unsigned long long)ack->seq,
                            verr.msg);
            goto out;
        }
    }
    for (uint32_t i = 0; i < fs.n; i++) {
        if (lost_index(ack, fs.fields[i].name) >= 0)
            continue;
        rc = version_set(db, id, fs.fields[i].name, ack->version);
        if (rc)
            goto out;
    }
    if (ack->n_lost) {
        rc = pending_names(db, id, ack->seq, &names);
        if (rc)
            goto out;
    }
    for (uint32_t i = 0; i < ack->n_lost; i++) {
        const proto_field *lf = &ack->lost[i];
        rc = version_set(db, id, lf->name, lf->ver);
        if (rc)
            goto out;
        if (names_has(&names, lf->name))
            continue; /* a newer local edit of the field is still to be pushed */
        rc = record_write_field(db, t, id, field_of(t, lf->name), &lf->value, stamp);
        if (rc)
            goto out;
        if (st)
            st->lost_taken++;
    }
    rc = row_delete(db, ack->seq);
    if (rc == GS_OK && st)
        st->acked++;
out:
    buf_free(&names);
    fieldset_free(&fs);
    return rc;
}

int outbox_apply_ack(gs_db *db, const proto_ack *ack, outbox_stats *st)
{
    int rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = apply_ack_locked(db, ack, st);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}

/* ---- pulls ---- */

static int record_exists(gs_db *db, const schema_table *t, const uint8_t id[16], int *out)
{
    char sql[128];
    sqlite3_stmt *st;
    int src, rc;

    snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" WHERE id = ?1", t->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW || src == SQLITE_DONE)
        *out = src == SQLITE_ROW;
    else
        rc = db_fail(db, src, "reading a record");
    db_done(st);
    return rc;
}

static int record_create_empty(gs_db *db, const schema_table *t, const uint8_t id[16],
                               uint64_t stamp)
{
    char sql[160];
    sqlite3_stmt *st;
    int src, rc;

    snprintf(sql, sizeof(sql),
             "INSERT INTO \"%s\"(id, created, updated, deleted) VALUES(?1, ?2, ?2, 0)",
             t->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)stamp);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing a pulled record");
    db_done(st);
    return rc;
}

/* Whether c moves its record to a grid this device does not have: a departure
 * (PROTOCOL.md section 5, grid moves). */
static int departs(const gs_db *db, const schema_table *t, const proto_change *c)
{
    const schema_field *scope = schema_scope_field(t);

    if (!scope || !db->grids)
        return 0;
    for (uint32_t i = 0; i < c->n_fields; i++) {
        const proto_field *pf = &c->fields[i];
        if (proto_str_eq(pf->name, scope->name) && pf->value.type == PV_STR)
            return !db_has_grid(db, pf->value.u.s.ptr, pf->value.u.s.len);
    }
    return 0;
}

/* Drops the local copy of a record that left this device's grids, and its field versions
 * (should it come back, it is pulled whole). Edits of it still in the outbox stay: pushed,
 * the server refuses them out_of_scope and `gridsync status` lists them. */
static int record_drop(gs_db *db, const schema_table *t, const uint8_t id[16])
{
    char sql[128];
    sqlite3_stmt *st;
    int src, rc = GS_OK;

    snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE id = ?1", t->name);
    for (int i = 0; i < 2 && rc == GS_OK; i++) {
        rc = db_prepare(db, i == 0 ? sql : "DELETE FROM field_version WHERE rid = ?1", &st);
        if (rc)
            break;
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_fail(db, src, "dropping a record that left this device's grids");
        db_done(st);
    }
    return rc;
}

static int apply_pull_locked(gs_db *db, const proto_change *c, outbox_stats *st)
{
    const schema_table *t = schema_table_find(c->table.ptr, c->table.len);
    gs_buf names;
    int exists = 0, rc;

    if (!t) {
        if (st)
            st->skipped += c->n_fields;
        return GS_OK;
    }
    if (departs(db, t, c)) {
        rc = record_drop(db, t, c->id);
        if (rc == GS_OK && st)
            st->departed++;
        return rc;
    }
    buf_init(&names, FIELDPACK_MAX * 4);
    rc = pending_names(db, c->id, 0, &names);
    if (rc == GS_OK)
        rc = record_exists(db, t, c->id, &exists);
    for (uint32_t i = 0; i < c->n_fields && rc == GS_OK; i++) {
        const proto_field *pf = &c->fields[i];
        const schema_field *f = field_of(t, pf->name);
        uint64_t local;
        gs_err verr;

        if (!f || schema_check_value(t, f, &pf->value, &verr) != GS_OK) {
            if (st)
                st->skipped++;
            continue;
        }
        if (names_has(&names, pf->name)) {
            if (st)
                st->kept_local++;
            continue;
        }
        rc = version_get(db, c->id, pf->name.ptr, pf->name.len, &local);
        if (rc)
            break;
        if (local >= pf->ver) {
            if (st)
                st->stale++;
            continue;
        }
        if (!exists) {
            rc = record_create_empty(db, t, c->id, c->hlc);
            if (rc)
                break;
            exists = 1;
        }
        rc = record_write_field(db, t, c->id, f, &pf->value, c->hlc);
        if (rc == GS_OK)
            rc = version_set(db, c->id, pf->name, pf->ver);
        if (rc == GS_OK && st)
            st->pulled_fields++;
    }
    buf_free(&names);
    return rc;
}

int outbox_apply_pull(gs_db *db, const proto_change *c, outbox_stats *st)
{
    int rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = apply_pull_locked(db, c, st);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}

int outbox_apply_response(gs_db *db, const proto_sync_resp *resp, outbox_stats *st)
{
    int rc = db_tx_begin(db);

    if (rc)
        return rc;
    for (uint32_t i = 0; i < resp->n_acks && rc == GS_OK; i++)
        rc = apply_ack_locked(db, &resp->acks[i], st);
    for (uint32_t i = 0; i < resp->n_changes && rc == GS_OK; i++)
        rc = apply_pull_locked(db, &resp->changes[i], st);
    if (rc == GS_OK)
        rc = outbox_set_cursor(db, resp->cursor);
    if (rc == GS_OK && resp->now) {
        uint64_t merged;
        rc = db_counters_load(db);
        /* a server clock beyond the drift guard is not followed, but the response is still
           good: its acks and changes carry server versions, not our clock */
        if (rc == GS_OK && hlc_recv(&db->clock, resp->now, &merged) == GS_OK)
            db->counters_dirty = 1;
    }
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}
