/*
 * attach.c: see attach.h. gs_db_attach runs in phases: check the arguments and find the
 * record (nothing written), make the bytes small (media.c, nothing written), then one
 * transaction: the blob rows (INSERT OR IGNORE: the same content is stored once) and the
 * attachment record through the ordinary write path (capture_add), so it has an outbox
 * entry like any record.
 */
#include "attach.h"

#include "capture.h"
#include "common/alloc.h"
#include "common/sha256.h"
#include "media.h"
#include "record.h"

#include <stdio.h>
#include <string.h>

#define ATTACH_CAPTION_MAX 400

static const schema_table *att_table(void)
{
    return schema_table_find(ATTACH_TABLE, strlen(ATTACH_TABLE));
}

static int put_blob(gs_db *db, const char *key, int kind, const void *p, size_t n)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(
        db, "INSERT OR IGNORE INTO attachment_blob(key, kind, data) VALUES(?1, ?2, ?3)", &st);

    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, kind);
    sqlite3_bind_blob64(st, 3, p, n, SQLITE_STATIC);
    src = sqlite3_step(st);
    db_done(st);
    return src == SQLITE_DONE ? GS_OK : db_fail(db, src, "storing an attachment's bytes");
}

/* Fills the attachment record's fields from the prepared media. */
static int fill_record(gs_record *a, const gs_record *owner, const char *owner_id,
                       const media_out *m, const char *sum_hex, const char *thumb_hex,
                       const char *caption)
{
    const char *grid = NULL;
    int rc = gs_record_get_str(owner, SCHEMA_SCOPE_FIELD, &grid);

    if (rc == GS_OK)
        rc = gs_record_set_str(a, SCHEMA_SCOPE_FIELD, grid);
    if (rc == GS_OK)
        rc = gs_record_set_str(a, "record", owner_id);
    if (rc == GS_OK)
        rc = gs_record_set_str(a, "record_type", gs_record_table(owner));
    if (rc == GS_OK)
        rc = gs_record_set_str(a, "mime",
                               m->kind == MEDIA_PDF ? "application/pdf" : "image/jpeg");
    if (rc == GS_OK)
        rc = gs_record_set_str(a, "sha256", sum_hex);
    if (rc == GS_OK)
        rc = gs_record_set_int(a, "bytes", (int64_t)m->full_len);
    if (rc == GS_OK && m->kind == MEDIA_JPEG) {
        rc = gs_record_set_int(a, "width", m->width);
        if (rc == GS_OK)
            rc = gs_record_set_int(a, "height", m->height);
        if (rc == GS_OK)
            rc = gs_record_set_str(a, "thumb_sha256", thumb_hex);
        if (rc == GS_OK)
            rc = gs_record_set_int(a, "thumb_bytes", (int64_t)m->thumb_len);
    }
    if (rc == GS_OK && caption && *caption)
        rc = gs_record_set_str(a, "caption", caption);
    return rc;
}

static int write_attachment(gs_db *db, gs_record *a, const media_out *m, const char *sum_hex,
                            const char *thumb_hex, const void *orig, size_t orig_len)
{
    int rc = db_tx_begin_undoable(db);

    if (rc)
        return rc;
    rc = put_blob(db, sum_hex, ATTACH_KIND_FULL, m->full, m->full_len);
    if (rc == GS_OK && m->thumb)
        rc = put_blob(db, thumb_hex, ATTACH_KIND_THUMB, m->thumb, m->thumb_len);
    if (rc == GS_OK)
        rc = capture_add(db, a, NULL);
    if (rc == GS_OK && orig) {
        char key[16 + GS_ID_TEXT_LEN];
        snprintf(key, sizeof(key), "original/%s", gs_record_id(a));
        rc = put_blob(db, key, ATTACH_KIND_ORIGINAL, orig, orig_len);
    }
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    else
        db_tx_rollback(db);
    return rc;
}

int gs_db_attach(gs_db *db, const char *record_id, const void *data, size_t len,
                 const char *caption, const gs_attach_opts *opts, char *out_id)
{
    uint8_t raw[UUID_LEN], sum[SHA256_LEN];
    char owner_id[UUID_TEXT_LEN + 1], sum_hex[SHA256_HEX_LEN + 1], thumb_hex[SHA256_HEX_LEN + 1];
    gs_record *owner = NULL, *a = NULL;
    media_opts mo = {1600, 80, 320};
    media_out m;
    int rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    memset(&m, 0, sizeof(m));
    thumb_hex[0] = '\0';
    if (!data && len)
        return gs_err_set(&db->err, GS_E_INVALID, "gs_db_attach: no bytes given");
    if (caption && strlen(caption) > ATTACH_CAPTION_MAX)
        return gs_err_set(&db->err, GS_E_TOO_LARGE,
                          "attachment.caption: %zu bytes, the most is %d", strlen(caption),
                          ATTACH_CAPTION_MAX);
    if (opts && opts->long_side)
        mo.long_side = opts->long_side;
    if (opts && opts->quality)
        mo.quality = opts->quality;
    if (opts && opts->thumb_side)
        mo.thumb_side = opts->thumb_side;
    rc = capture_parse_id(db, record_id, raw);
    if (rc)
        return rc;
    uuid_format(raw, owner_id);
    rc = record_load(db, raw, &owner);
    if (rc == GS_E_NOTFOUND || (rc == GS_OK && owner->deleted)) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no record %s on this device%s",
                        owner_id, owner ? " (it was deleted)" : "");
        goto out;
    }
    if (rc)
        goto out;
    if (strcmp(owner->t->name, ATTACH_TABLE) == 0 || owner->t->server_only) {
        rc = gs_err_set(&db->err, GS_E_INVALID, "a %s cannot have attachments",
                        owner->t->name);
        goto out;
    }
    rc = media_prepare(data, len, &mo, &m, &db->err);
    if (rc)
        goto out;
    rc = sha256_of(m.full, m.full_len, sum);
    if (rc == GS_OK) {
        sha256_hex(sum, sum_hex);
        if (m.thumb && (rc = sha256_of(m.thumb, m.thumb_len, sum)) == GS_OK)
            sha256_hex(sum, thumb_hex);
    }
    if (rc) {
        rc = gs_err_set(&db->err, rc, "cannot compute the SHA-256 of the attachment");
        goto out;
    }
    rc = record_new(db, att_table(), &a);
    if (rc == GS_OK)
        rc = fill_record(a, owner, owner_id, &m, sum_hex, thumb_hex, caption);
    if (rc == GS_OK)
        rc = write_attachment(db, a, &m, sum_hex, thumb_hex,
                              opts && opts->keep_original ? data : NULL, len);
    if (rc == GS_OK && out_id)
        memcpy(out_id, gs_record_id(a), GS_ID_TEXT_LEN + 1);
out:
    media_out_free(&m);
    gs_record_free(a);
    gs_record_free(owner);
    return rc;
}

/* The columns gs_db_attachments reads, with whether each blob is present. */
static const char list_sql[] =
    "SELECT a.id, a.record, a.mime, a.sha256, coalesce(a.caption, ''), a.bytes,"
    " coalesce(a.thumb_bytes, 0), coalesce(a.width, 0), coalesce(a.height, 0),"
    " EXISTS(SELECT 1 FROM attachment_blob b WHERE b.key = a.sha256),"
    " EXISTS(SELECT 1 FROM attachment_blob b WHERE b.key = a.thumb_sha256)"
    " FROM attachment a WHERE a.record = ?1 AND a.deleted = 0 ORDER BY a.id";

int gs_db_attachments(gs_db *db, const char *record_id, gs_attachment_cb *cb, void *ud)
{
    uint8_t raw[UUID_LEN];
    char owner_id[UUID_TEXT_LEN + 1], att_id[UUID_TEXT_LEN + 1];
    sqlite3_stmt *st;
    int src, rc;

    if (!db || !cb)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    rc = capture_parse_id(db, record_id, raw);
    if (rc)
        return rc;
    uuid_format(raw, owner_id);
    rc = db_prepare_static(db, list_sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, owner_id, -1, SQLITE_STATIC);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        gs_attachment_info info;
        if (sqlite3_column_bytes(st, 0) != UUID_LEN)
            continue;
        uuid_format(sqlite3_column_blob(st, 0), att_id);
        memset(&info, 0, sizeof(info));
        info.id = att_id;
        info.record = (const char *)sqlite3_column_text(st, 1);
        info.mime = (const char *)sqlite3_column_text(st, 2);
        info.sha256 = (const char *)sqlite3_column_text(st, 3);
        info.caption = (const char *)sqlite3_column_text(st, 4);
        info.bytes = sqlite3_column_int64(st, 5);
        info.thumb_bytes = sqlite3_column_int64(st, 6);
        info.width = sqlite3_column_int(st, 7);
        info.height = sqlite3_column_int(st, 8);
        info.have_full = sqlite3_column_int(st, 9);
        info.have_thumb = sqlite3_column_int(st, 10);
        if (!info.record || !info.mime || !info.sha256 || !info.caption)
            continue;
        rc = cb(ud, &info);
        if (rc)
            break;
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "listing attachments");
    db_done(st);
    return rc;
}

int gs_db_attachment_get(gs_db *db, const char *att_id, int which, void **data, size_t *len)
{
    uint8_t raw[UUID_LEN];
    char id_text[UUID_TEXT_LEN + 1], key[16 + GS_ID_TEXT_LEN];
    sqlite3_stmt *st;
    const char *sql;
    void *copy = NULL;
    size_t n = 0;
    int src, rc, have;

    if (!db || !data || !len || which < GS_ATT_FULL || which > GS_ATT_ORIGINAL)
        return db ? gs_err_set(&db->err, GS_E_INVALID, "gs_db_attachment_get: bad argument")
                  : GS_E_INVALID;
    gs_err_clear(&db->err);
    rc = capture_parse_id(db, att_id, raw);
    if (rc)
        return rc;
    uuid_format(raw, id_text);
    snprintf(key, sizeof(key), "original/%s", id_text);
    sql = which == GS_ATT_FULL
              ? "SELECT 1, b.data FROM attachment a LEFT JOIN attachment_blob b ON"
                " b.key = a.sha256 WHERE a.id = ?1 AND a.deleted = 0"
          : which == GS_ATT_THUMB
              ? "SELECT 1, b.data FROM attachment a LEFT JOIN attachment_blob b ON"
                " b.key = a.thumb_sha256 WHERE a.id = ?1 AND a.deleted = 0"
              : "SELECT 1, b.data FROM attachment a LEFT JOIN attachment_blob b ON"
                " b.key = ?2 WHERE a.id = ?1 AND a.deleted = 0";
    rc = db_prepare_static(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, raw, UUID_LEN, SQLITE_STATIC);
    if (which == GS_ATT_ORIGINAL)
        sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    have = src == SQLITE_ROW && sqlite3_column_type(st, 1) == SQLITE_BLOB;
    if (src == SQLITE_ROW && !have) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "the %s of attachment %s is not on this device%s",
                        which == GS_ATT_THUMB ? "thumbnail" : which == GS_ATT_FULL ? "file"
                                                                                   : "original",
                        id_text,
                        which == GS_ATT_ORIGINAL ? " (it was not kept)"
                        : which == GS_ATT_THUMB  ? " (a PDF has none, or it is not synced yet)"
                                                 : " (it is not synced yet)");
    } else if (src == SQLITE_DONE) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no attachment %s on this device",
                        id_text);
    } else if (src != SQLITE_ROW) {
        rc = db_fail(db, src, "reading an attachment");
    } else {
        n = (size_t)sqlite3_column_bytes(st, 1);
        copy = gs_malloc(n ? n : 1);
        if (!copy)
            rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory for %zu bytes", n);
        else
            memcpy(copy, sqlite3_column_blob(st, 1), n);
    }
    db_done(st);
    if (rc == GS_OK) {
        *data = copy;
        *len = n;
    }
    return rc;
}

int gs_db_attachments_pending(gs_db *db, int64_t *files, int64_t *bytes)
{
    sqlite3_stmt *st;
    int64_t nf, nb;
    int src, rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    rc = db_prepare_static(db,
                           "SELECT count(*), coalesce(sum(length(data) - sent), 0) FROM"
                           " attachment_blob WHERE kind IN (1, 2) AND sent < length(data)",
                           &st);
    if (rc)
        return rc;
    src = sqlite3_step(st);
    nf = sqlite3_column_int64(st, 0);
    nb = sqlite3_column_int64(st, 1);
    db_done(st);
    if (src != SQLITE_ROW)
        return db_fail(db, src, "counting attachment bytes to send");
    if (files)
        *files = nf;
    if (bytes)
        *bytes = nb;
    return GS_OK;
}

/* Drops blob rows no live attachment names (and originals of deleted attachments). */
static int drop_unused_blobs(gs_db *db)
{
    return db_exec(db,
                   "DELETE FROM attachment_blob WHERE kind IN (1, 2) AND NOT EXISTS"
                   " (SELECT 1 FROM attachment a WHERE a.deleted = 0 AND"
                   " (a.sha256 = attachment_blob.key OR a.thumb_sha256 = attachment_blob.key));"
                   "DELETE FROM attachment_blob WHERE kind = 3 AND NOT EXISTS"
                   " (SELECT 1 FROM attachment a WHERE a.deleted = 0 AND"
                   " 'original/' || lower(substr(hex(a.id), 1, 8) || '-' ||"
                   " substr(hex(a.id), 9, 4) || '-' || substr(hex(a.id), 13, 4) || '-' ||"
                   " substr(hex(a.id), 17, 4) || '-' || substr(hex(a.id), 21)) ="
                   " attachment_blob.key)");
}

int attach_on_delete(gs_db *db, const schema_table *t, const char *id_text)
{
    sqlite3_stmt *st;
    uint8_t (*ids)[UUID_LEN] = NULL;
    size_t n = 0, cap = 0;
    int src, rc;

    if (strcmp(t->name, ATTACH_TABLE) == 0)
        return drop_unused_blobs(db);
    rc = db_prepare_static(db, "SELECT id FROM attachment WHERE record = ?1 AND deleted = 0",
                           &st);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, id_text, -1, SQLITE_STATIC);
    /* collect first: each deletion below uses statements of its own */
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != UUID_LEN)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *p = gs_realloc(ids, ncap * sizeof(*ids));
            if (!p) {
                rc = gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
                break;
            }
            ids = p;
            cap = ncap;
        }
        memcpy(ids[n++], sqlite3_column_blob(st, 0), UUID_LEN);
    }
    if (rc == GS_OK && src != SQLITE_DONE)
        rc = db_fail(db, src, "finding a record's attachments");
    db_done(st);
    for (size_t i = 0; i < n && rc == GS_OK; i++) {
        char att[UUID_TEXT_LEN + 1];
        uuid_format(ids[i], att);
        rc = gs_db_delete(db, att); /* recurses once: it drops the bytes */
    }
    gs_free(ids);
    return rc;
}
