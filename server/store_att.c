/*
 * store_att.c: the index of attachment bytes (store.h, "attachment bytes"): the table
 * attachment_blobs of migration 7. The bytes themselves are files (server/blobs.c). These
 * statements run a few times per uploaded blob, never per change, so they are prepared on
 * each call rather than given slots in the store handle. The SQL is the same on SQLite and
 * PostgreSQL.
 */
#include "store_db.h"

static int att_prep(store *s, const char *sql, eng_stmt **out, gs_err *err)
{
    return eng_prepare(s->e, sql, out, err);
}

static void att_row(eng_stmt *st, store_att_blob *b)
{
    memset(b, 0, sizeof(*b));
    col_text(st, 0, b->sha256, sizeof(b->sha256));
    b->size = eng_col_i64(st, 1);
    col_text(st, 2, b->device, sizeof(b->device));
    col_text(st, 3, b->grid, sizeof(b->grid));
    b->created_ms = eng_col_i64(st, 4);
}

int store_att_get(store *s, const char *sha256, store_att_blob *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc = att_prep(s,
                               "SELECT sha256, size, device, grid, created FROM "
                               "attachment_blobs WHERE sha256 = ?1",
                               &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, sha256);
    rc = step(s, st, &row, err);
    if (rc == GS_OK && row)
        att_row(st, out);
    else if (rc == GS_OK)
        rc = GS_E_NOTFOUND;
    eng_finalize(st);
    return rc;
}

int store_att_put(store *s, const store_att_blob *b, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = att_prep(s,
                      "INSERT INTO attachment_blobs (sha256, size, device, grid, created) "
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (sha256) DO NOTHING",
                      &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, b->sha256);
    eng_bind_i64(st, 2, b->size);
    bind_text(st, 3, b->device);
    bind_text(st, 4, b->grid);
    eng_bind_i64(st, 5, b->created_ms);
    rc = step(s, st, NULL, err);
    eng_finalize(st);
    return rc;
}

int store_att_del(store *s, const char *sha256, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = att_prep(s, "DELETE FROM attachment_blobs WHERE sha256 = ?1", &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, sha256);
    rc = step(s, st, NULL, err);
    eng_finalize(st);
    return rc;
}

/* The sum of size over rows whose column col (device or grid) is v. */
static int att_sum(store *s, const char *sql, const char *v, int64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc;

    *out = 0;
    if (!v)
        return GS_OK;
    rc = att_prep(s, sql, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, v);
    rc = step(s, st, &row, err);
    if (rc == GS_OK && row && !eng_col_null(st, 0))
        *out = eng_col_i64(st, 0);
    eng_finalize(st);
    return rc;
}

int store_att_usage(store *s, const char *device, const char *grid, int64_t *device_bytes,
                    int64_t *grid_bytes, gs_err *err)
{
    int64_t d = 0, g = 0;
    int rc = att_sum(s, "SELECT sum(size) FROM attachment_blobs WHERE device = ?1", device, &d,
                     err);

    if (rc == GS_OK)
        rc = att_sum(s, "SELECT sum(size) FROM attachment_blobs WHERE grid = ?1", grid, &g, err);
    if (rc == GS_OK) {
        if (device_bytes)
            *device_bytes = d;
        if (grid_bytes)
            *grid_bytes = g;
    }
    return rc;
}

int store_att_each(store *s, store_att_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    store_att_blob b;
    int row = 0, rc = att_prep(s,
                               "SELECT sha256, size, device, grid, created FROM "
                               "attachment_blobs ORDER BY sha256",
                               &st, err);

    if (rc)
        return rc;
    while ((rc = step(s, st, &row, err)) == GS_OK && row) {
        att_row(st, &b);
        rc = cb(ud, &b);
        if (rc)
            break;
    }
    eng_finalize(st);
    return rc;
}
