/*
 * store_rec.c: the records half of the SQLite store (store.h): records, the pull index,
 * departures, the change log and the acks. store.c has the rest (open, migrations,
 * transactions, devices, admins, conflicts, audit).
 *
 * Layout (schema 3, issue 14: one row per record):
 *
 *   records(tbl, id) -> grid, deleted, created_hlc, updated_hlc, version,
 *                       fields = [[name, value, version, hlc, writer], ...] (sval.h)
 *   pulls(grid, version) -> tbl, rid, writer
 *   moves(from_grid, version, ...)   departures, as in schema 2
 *   changes(version) -> device, seq, tbl, rid
 *   ack_ranges(device, first_seq) -> last_seq, first_version
 *   acks(device, seq) -> ok, ack       the acks a range cannot hold
 *
 * The pull index has one row per version that some current field of a record still has:
 * a change that writes fields adds the row of its version; a version none of the record's
 * fields has any more loses its row; a record that moves to another grid (every field
 * re-stamped with the move's version) has exactly one row, in the new grid. So a pull reads
 * the index in version order and, for each row, the fields of that record at that version:
 * exactly the field states of version > cursor, grouped by change, as before, with one
 * index row per change instead of one field_state row per field.
 *
 * Acks: accepted changes of one device with consecutive seqs get consecutive versions (a
 * batch is one transaction, versions are handed out in order), so a run of them is one
 * ack_ranges row (seq first..last, version first_version + (seq - first_seq)); rejected
 * changes and changes with lost fields keep a row of their own in acks.
 *
 * Writers are device numbers (devices.rowid; 0 is the admin pseudo-device) in the blob and
 * the index, ids in store_field. A number is resolved once per handle (s->dev_ids).
 */
#include "store_db.h"

#include "common/alloc.h"
#include "proto/schema.h"

#include <stdlib.h>

static const char *const rsql[RQ_N] = {
    [RQ_REC_META] = "SELECT grid, deleted, created_hlc, updated_hlc, version FROM records "
                    "WHERE tbl = ?1 AND id = ?2",
    [RQ_REC_GET] = "SELECT grid, deleted, created_hlc, updated_hlc, version, fields FROM records "
                   "WHERE tbl = ?1 AND id = ?2",
    [RQ_REC_PUT] = "INSERT INTO records (tbl, id, grid, deleted, created_hlc, updated_hlc, "
                   "version, fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (tbl, id) "
                   "DO UPDATE SET grid = excluded.grid, deleted = excluded.deleted, "
                   "updated_hlc = excluded.updated_hlc, version = excluded.version, "
                   "fields = excluded.fields",
    [RQ_PULLS_ADD] = "INSERT INTO pulls (grid, version, tbl, rid, writer) "
                     "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (grid, version) DO UPDATE SET "
                     "tbl = excluded.tbl, rid = excluded.rid, writer = excluded.writer",
    [RQ_PULLS_DEL] = "DELETE FROM pulls WHERE grid = ?1 AND version = ?2",
    [RQ_MOVE_ADD] = "INSERT INTO moves (from_grid, version, tbl, rid, field, value, to_grid, "
                    "hlc, device) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [RQ_CHG_ADD] = "INSERT INTO changes (version, device, seq, tbl, rid) VALUES (?1, ?2, ?3, ?4, ?5)",
    [RQ_ACK_GET] = "SELECT ack FROM acks WHERE device = ?1 AND seq = ?2",
    [RQ_RANGE_GET] = "SELECT first_seq, first_version FROM ack_ranges WHERE device = ?1 AND "
                     "first_seq <= ?2 AND last_seq >= ?2 ORDER BY first_seq DESC LIMIT 1",
    [RQ_ACK_MAX] = "SELECT coalesce((SELECT max(seq) FROM acks WHERE device = ?1), 0), "
                   "coalesce((SELECT max(last_seq) FROM ack_ranges WHERE device = ?1), 0)",
    [RQ_ACK_PUT] = "INSERT INTO acks (device, seq, ok, ack) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (device, seq) DO UPDATE SET ok = excluded.ok, ack = excluded.ack",
    [RQ_RANGE_PUT] = "INSERT INTO ack_ranges (device, first_seq, last_seq, first_version) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device, first_seq) DO UPDATE SET "
                     "last_seq = excluded.last_seq, first_version = excluded.first_version",
    [RQ_ACK_PRUNE] = "DELETE FROM acks WHERE device = ?1 AND seq < ?2",
    [RQ_RANGE_PRUNE] = "DELETE FROM ack_ranges WHERE device = ?1 AND last_seq < ?2",
    /* a range that straddles low keeps its part from low on (its key moves with it) */
    [RQ_RANGE_TRIM] = "UPDATE ack_ranges SET first_version = first_version + (?2 - first_seq), "
                      "first_seq = ?2 WHERE device = ?1 AND first_seq < ?2 AND last_seq >= ?2",
    /* Index rows of the device's grid written by other devices, and departures from it,
     * in version order (a version is one change: no two rows share one). */
    [RQ_PULL1] = "SELECT version, tbl, rid, 0, NULL, NULL, NULL FROM pulls "
                 "WHERE grid = ?3 AND version > ?2 AND writer <> ?1 "
                 "UNION ALL SELECT version, tbl, rid, 1, field, value, hlc FROM moves "
                 "WHERE from_grid = ?3 AND version > ?2 AND device <> ?4 ORDER BY 1",
    /* several grids: SQLite reads each grid's range and sorts what is after the cursor */
    [RQ_PULLN] = "SELECT version, tbl, rid, 0, NULL, NULL, NULL FROM pulls "
                 "WHERE grid IN (SELECT grid FROM device_grids WHERE device = ?3) "
                 "AND version > ?2 AND writer <> ?1 "
                 "UNION ALL SELECT version, tbl, rid, 1, field, value, hlc FROM moves "
                 "WHERE from_grid IN (SELECT grid FROM device_grids WHERE device = ?3) "
                 "AND to_grid NOT IN (SELECT grid FROM device_grids WHERE device = ?3) "
                 "AND version > ?2 AND device <> ?3 ORDER BY 1",
    [RQ_DEV_ID] = "SELECT id FROM devices WHERE rowid = ?1",
    /* col_meta's and col_fields' columns first, as RQ_REC_GET, then where the scan is */
    [RQ_REC_SCAN] = "SELECT grid, deleted, created_hlc, updated_hlc, version, fields, rowid, id "
                    "FROM records WHERE tbl = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
};

static int rprep(store *s, int q, eng_stmt **out, gs_err *err)
{
    return prep_slot(s, &s->rstmt[q], rsql[q], out, err);
}

static int damaged(gs_err *err, int rc, const char *what)
{
    if (rc == GS_E_NOMEM)
        return gs_err_set(err, rc, "out of memory reading %s", what);
    return gs_err_set(err, GS_E_DB, "store: damaged %s", what);
}

/* ---- device numbers ------------------------------------------------------------------ */

/* The id of device number num ("admin" for 0). */
static int dev_id_of(store *s, uint32_t num, char *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc, row = 0;

    if (num == 0 || num == STORE_SERVER_NUM) {
        snprintf(out, GS_LIMIT_NAME + 1, "%s", num ? STORE_SERVER_DEVICE : STORE_ADMIN_DEVICE);
        return GS_OK;
    }
    if (num < s->n_dev_ids && s->dev_ids[num][0]) {
        memcpy(out, s->dev_ids[num], GS_LIMIT_NAME + 1);
        return GS_OK;
    }
    rc = rprep(s, RQ_DEV_ID, &st, err);
    if (rc)
        return rc;
    eng_bind_i64(st, 1, num);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_DB, "store: a record names device number %u, which is unknown",
                        num);
    if (!rc)
        col_text(st, 0, out, GS_LIMIT_NAME + 1);
    done(st);
    if (rc)
        return rc;
    if (num >= s->n_dev_ids) {
        uint32_t cap = num + 64;
        char(*p)[GS_LIMIT_NAME + 1] = gs_realloc(s->dev_ids, (size_t)cap * sizeof(*p));
        if (!p)
            return GS_OK; /* not kept: looked up again next time */
        memset(p + s->n_dev_ids, 0, (size_t)(cap - s->n_dev_ids) * sizeof(*p));
        s->dev_ids = p;
        s->n_dev_ids = cap;
    }
    memcpy(s->dev_ids[num], out, GS_LIMIT_NAME + 1);
    return GS_OK;
}

/* ---- records --------------------------------------------------------------------------- */

static void col_meta(eng_stmt *st, store_record *out)
{
    col_text(st, 0, out->grid, sizeof(out->grid));
    out->deleted = (int)eng_col_i64(st, 1) != 0;
    out->created_hlc = col_u64(st, 2);
    out->updated_hlc = col_u64(st, 3);
    out->version = col_u64(st, 4);
}

int store_record_get(store *s, const char *tbl, const uint8_t id[16], store_record *out,
                     gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = rprep(s, RQ_REC_META, &st, err), row = 0;

    if (rc)
        return rc;
    bind_text(st, 1, tbl);
    bind_id(st, 2, id);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no such %s", tbl);
    if (!rc)
        col_meta(st, out);
    done(st);
    return rc;
}

/* Decodes the blob of column col into r's fields, names mapped to the schema's. */
static int col_fields(store *s, eng_stmt *st, int col, const schema_table *t, gs_arena *a,
                      store_rec *r, gs_err *err)
{
    sval_rec_field *f = arena_alloc(a, STORE_REC_FIELDS * sizeof(*f));
    uint32_t n = 0;
    int rc;

    if (!f)
        return gs_err_set(err, GS_E_NOMEM, "out of memory reading a record");
    rc = sval_rec_decode(a, eng_col_blob(st, col), eng_col_bytes(st, col), f,
                         STORE_REC_FIELDS, &n);
    if (rc)
        return damaged(err, rc, "record");
    r->n = 0;
    for (uint32_t i = 0; i < n; i++) {
        const schema_field *sf = schema_field_find(t, f[i].name, f[i].name_len);
        store_field *out = &r->f[r->n];
        if (!sf)
            continue; /* a field a newer schema had: not ours to interpret */
        r->names[r->n] = sf->name;
        out->value = f[i].value;
        out->version = f[i].version;
        out->hlc = f[i].hlc;
        out->writer = f[i].writer;
        rc = dev_id_of(s, f[i].writer, out->device, err);
        if (rc)
            return rc;
        r->n++;
    }
    return GS_OK;
}

int store_rec_get(store *s, const char *tbl, const uint8_t id[16], gs_arena *a, store_rec *out,
                  gs_err *err)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    eng_stmt *st = NULL;
    int rc, row = 0;

    if (!t)
        return gs_err_set(err, GS_E_NOTFOUND, "no record type %s", tbl);
    rc = rprep(s, RQ_REC_GET, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, tbl);
    bind_id(st, 2, id);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = gs_err_set(err, GS_E_NOTFOUND, "no such %s", tbl);
    if (!rc) {
        col_meta(st, &out->meta);
        rc = col_fields(s, st, 5, t, a, out, err);
    }
    done(st);
    return rc;
}

int store_rec_scan(store *s, const char *tbl, int64_t *after, uint32_t max, gs_arena *a,
                   store_rec_cb *cb, void *ud, uint32_t *n_out, gs_err *err)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    eng_stmt *st = NULL;
    int rc, row = 1;
    uint32_t n = 0;

    *n_out = 0;
    if (!t)
        return gs_err_set(err, GS_E_NOTFOUND, "no record type %s", tbl);
    rc = rprep(s, RQ_REC_SCAN, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, tbl);
    eng_bind_i64(st, 2, *after);
    eng_bind_i64(st, 3, max);
    while (!rc) {
        store_rec r;
        const void *id;
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        id = eng_col_blob(st, 7);
        if (!id || eng_col_bytes(st, 7) != 16) {
            rc = gs_err_set(err, GS_E_DB, "store: damaged record id");
            break;
        }
        col_meta(st, &r.meta);
        rc = col_fields(s, st, 5, t, a, &r, err);
        if (!rc) {
            *after = eng_col_i64(st, 6);
            n++;
            rc = cb(ud, id, &r);
        }
    }
    done(st);
    *n_out = n;
    return rc;
}

static int has_version(const store_rec *r, uint64_t v)
{
    for (uint32_t i = 0; r && i < r->n; i++)
        if (r->f[i].version == v)
            return 1;
    return 0;
}

static int pulls_del(store *s, const char *grid, uint64_t v, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = rprep(s, RQ_PULLS_DEL, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, grid);
    bind_u64(st, 2, v);
    return exec_done(s, st, err);
}

/* Keeps the pull index in step with the record's field versions (see the file comment). */
static int pulls_update(store *s, const char *tbl, const uint8_t id[16], const store_rec *old,
                        const store_rec *r, uint32_t writer, gs_err *err)
{
    int moved = old && strcmp(old->meta.grid, r->meta.grid) != 0;
    eng_stmt *st = NULL;
    int rc = GS_OK;

    /* versions the record no longer has (every one, when it changed grid) */
    for (uint32_t i = 0; old && i < old->n && rc == GS_OK; i++) {
        uint64_t v = old->f[i].version;
        int first = 1;
        for (uint32_t j = 0; j < i && first; j++)
            first = old->f[j].version != v;
        if (first && (moved || !has_version(r, v)))
            rc = pulls_del(s, old->meta.grid, v, err);
    }
    if (rc || !has_version(r, r->meta.version))
        return rc;
    rc = rprep(s, RQ_PULLS_ADD, &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, r->meta.grid);
    bind_u64(st, 2, r->meta.version);
    bind_text(st, 3, tbl);
    bind_id(st, 4, id);
    eng_bind_i64(st, 5, writer);
    return exec_done(s, st, err);
}

int store_rec_put(store *s, const char *tbl, const uint8_t id[16], const store_rec *old,
                  const store_rec *r, uint32_t writer, gs_err *err)
{
    sval_rec_field f[STORE_REC_FIELDS];
    eng_stmt *st = NULL;
    gs_buf b;
    int rc;

    if (r->n > STORE_REC_FIELDS)
        return gs_err_set(err, GS_E_INVALID, "store: %u fields in a record", r->n);
    for (uint32_t i = 0; i < r->n; i++) {
        f[i].name = r->names[i];
        f[i].value = r->f[i].value;
        f[i].version = r->f[i].version;
        f[i].hlc = r->f[i].hlc;
        f[i].writer = r->f[i].writer;
    }
    buf_init(&b, PROTO_MAX_BODY);
    rc = sval_rec_encode(&b, f, r->n);
    if (rc) {
        buf_free(&b);
        return gs_err_set(err, rc, "store: cannot encode a %s", tbl);
    }
    rc = rprep(s, RQ_REC_PUT, &st, err);
    if (!rc) {
        bind_text(st, 1, tbl);
        bind_id(st, 2, id);
        bind_text(st, 3, r->meta.grid);
        eng_bind_i64(st, 4, r->meta.deleted ? 1 : 0);
        bind_u64(st, 5, r->meta.created_hlc);
        bind_u64(st, 6, r->meta.updated_hlc);
        bind_u64(st, 7, r->meta.version);
        eng_bind_blob(st, 8, b.ptr, b.len);
        rc = exec_done(s, st, err);
    }
    buf_free(&b);
    if (!rc)
        rc = pulls_update(s, tbl, id, old, r, writer, err);
    return rc;
}

/* ---- one field at a time (the admin API, the tombstone rule) ---- */

int store_field_get(store *s, const char *tbl, const uint8_t id[16], const char *field,
                    gs_arena *a, store_field *out, gs_err *err)
{
    store_rec *r = arena_alloc(a, sizeof(*r));
    int rc;

    if (!r)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = store_rec_get(s, tbl, id, a, r, err);
    if (rc)
        return rc;
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], field) == 0) {
            *out = r->f[i];
            return GS_OK;
        }
    return gs_err_set(err, GS_E_NOTFOUND, "no field %s.%s", tbl, field);
}

int store_rec_latest_other(const store_rec *r, const char *device, uint64_t above, size_t *index)
{
    int found = 0;

    for (uint32_t i = 0; i < r->n; i++) {
        if (strcmp(r->names[i], SCHEMA_DELETED_FIELD) == 0 || r->f[i].version <= above ||
            strcmp(r->f[i].device, device) == 0)
            continue;
        if (!found || r->f[i].version > r->f[*index].version)
            *index = i;
        found = 1;
    }
    return found;
}

const proto_value *store_rec_value(const store_rec *r, const char *field)
{
    for (uint32_t i = 0; i < r->n; i++)
        if (strcmp(r->names[i], field) == 0)
            return &r->f[i].value;
    return NULL;
}

typedef struct name_ix {
    const char *name; /* the field */
    uint32_t i;       /* its index in the record */
} name_ix;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const name_ix *)a)->name, ((const name_ix *)b)->name);
}

int store_fields_each(store *s, const char *tbl, const uint8_t id[16], gs_arena *a,
                      store_field_cb *cb, void *ud, gs_err *err)
{
    store_rec *r = arena_alloc(a, sizeof(*r));
    name_ix ix[STORE_REC_FIELDS];
    int rc;

    if (!r)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = store_rec_get(s, tbl, id, a, r, err);
    if (rc == GS_E_NOTFOUND)
        return GS_OK;
    if (rc)
        return rc;
    for (uint32_t i = 0; i < r->n; i++) {
        ix[i].name = r->names[i];
        ix[i].i = i;
    }
    qsort(ix, r->n, sizeof(ix[0]), by_name);
    for (uint32_t k = 0; k < r->n && !rc; k++)
        rc = cb(ud, ix[k].name, &r->f[ix[k].i]);
    return rc;
}

/* ---- departures and the change log ---------------------------------------------------- */

int store_move_add(store *s, const char *tbl, const uint8_t id[16], const char *field,
                   const char *from_grid, const char *to_grid, uint64_t version, uint64_t hlc,
                   const char *device, gs_err *err)
{
    eng_stmt *st = NULL;
    gs_buf scratch;
    proto_value v = {.type = PV_STR};
    int rc = rprep(s, RQ_MOVE_ADD, &st, err);

    if (rc)
        return rc;
    v.u.s = proto_cstr(to_grid);
    buf_init(&scratch, PROTO_MAX_BODY);
    bind_text(st, 1, from_grid);
    bind_u64(st, 2, version);
    bind_text(st, 3, tbl);
    bind_id(st, 4, id);
    bind_text(st, 5, field);
    rc = bind_value(st, 6, &scratch, &v);
    if (rc) {
        done(st);
        buf_free(&scratch);
        return gs_err_set(err, rc, "store: cannot encode %s.%s", tbl, field);
    }
    bind_text(st, 7, to_grid);
    bind_u64(st, 8, hlc);
    bind_text(st, 9, device);
    rc = exec_done(s, st, err);
    buf_free(&scratch);
    return rc;
}

int store_change_add(store *s, uint64_t version, const char *device, uint64_t seq, const char *tbl,
                     const uint8_t id[16], gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = rprep(s, RQ_CHG_ADD, &st, err);

    if (rc)
        return rc;
    bind_u64(st, 1, version);
    bind_text(st, 2, device);
    bind_u64(st, 3, seq);
    bind_text(st, 4, tbl);
    bind_id(st, 5, id);
    return exec_done(s, st, err);
}

/* ---- acks ------------------------------------------------------------------------------ */

int store_ack_put(store *s, const char *device, const proto_ack *ack, gs_err *err)
{
    eng_stmt *st = NULL;
    gs_buf b;
    int rc = rprep(s, RQ_ACK_PUT, &st, err);

    if (rc)
        return rc;
    buf_init(&b, PROTO_MAX_BODY);
    rc = sval_ack_encode(&b, ack);
    if (rc) {
        done(st);
        buf_free(&b);
        return gs_err_set(err, rc, "store: cannot encode an ack");
    }
    bind_text(st, 1, device);
    bind_u64(st, 2, ack->seq);
    eng_bind_i64(st, 3, ack->ok ? 1 : 0);
    eng_bind_blob(st, 4, b.ptr, b.len);
    rc = exec_done(s, st, err);
    buf_free(&b);
    return rc;
}

int store_ack_range_put(store *s, const char *device, uint64_t first_seq, uint64_t last_seq,
                        uint64_t first_version, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = rprep(s, RQ_RANGE_PUT, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, device);
    bind_u64(st, 2, first_seq);
    bind_u64(st, 3, last_seq);
    bind_u64(st, 4, first_version);
    return exec_done(s, st, err);
}

int store_ack_get(store *s, const char *device, uint64_t seq, gs_arena *a, proto_ack *out,
                  gs_err *err)
{
    eng_stmt *st = NULL;
    proto_ack ack;
    int rc = rprep(s, RQ_ACK_GET, &st, err), row = 0;

    if (rc)
        return rc;
    bind_text(st, 1, device);
    bind_u64(st, 2, seq);
    rc = step(s, st, &row, err);
    memset(&ack, 0, sizeof(ack));
    ack.seq = seq;
    if (!rc && row) {
        rc = sval_ack_decode(a, eng_col_blob(st, 0), eng_col_bytes(st, 0),
                             &ack);
        if (rc)
            damaged(err, rc, "ack");
    }
    done(st);
    if (!rc && !row) {
        rc = rprep(s, RQ_RANGE_GET, &st, err);
        if (rc)
            return rc;
        bind_text(st, 1, device);
        bind_u64(st, 2, seq);
        rc = step(s, st, &row, err);
        if (!rc && row) {
            ack.ok = 1;
            ack.version = col_u64(st, 1) + (seq - col_u64(st, 0));
        }
        done(st);
        if (!rc && !row)
            rc = gs_err_set(err, GS_E_NOTFOUND, "no ack");
    }
    if (!rc)
        *out = ack;
    return rc;
}

int store_ack_max(store *s, const char *device, uint64_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = rprep(s, RQ_ACK_MAX, &st, err), row = 0;

    if (rc)
        return rc;
    bind_text(st, 1, device);
    rc = step(s, st, &row, err);
    if (!rc) {
        uint64_t one = row ? col_u64(st, 0) : 0, ranges = row ? col_u64(st, 1) : 0;
        *out = one > ranges ? one : ranges;
    }
    done(st);
    return rc;
}

int store_ack_prune(store *s, const char *device, uint64_t low, gs_err *err)
{
    static const int q[] = {RQ_ACK_PRUNE, RQ_RANGE_PRUNE, RQ_RANGE_TRIM};
    int rc = GS_OK;

    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]) && !rc; i++) {
        eng_stmt *st = NULL;
        rc = rprep(s, q[i], &st, err);
        if (rc)
            break;
        bind_text(st, 1, device);
        bind_u64(st, 2, low);
        rc = exec_done(s, st, err);
    }
    return rc;
}

/* ---- pull -------------------------------------------------------------------------------- */

/* The fields of one index row: the record's fields at that version. */
static int pull_index_row(store *s, eng_stmt *st, gs_arena *a, store_pull_cb *cb, void *ud,
                          int *stop, gs_err *err)
{
    const schema_table *t;
    const char *tn = eng_col_text(st, 1);
    store_pull_row pr;
    store_rec *r;
    uint64_t v = col_u64(st, 0);
    int rc;

    t = tn ? schema_table_find(tn, eng_col_bytes(st, 1)) : NULL;
    if (!t || eng_col_bytes(st, 2) != 16)
        return gs_err_set(err, GS_E_DB, "store: damaged pull index row (version %llu)",
                          (unsigned long long)v);
    r = arena_alloc(a, sizeof(*r));
    if (!r)
        return gs_err_set(err, GS_E_NOMEM, "pull: out of memory");
    rc = store_rec_get(s, t->name, eng_col_blob(st, 2), a, r, err);
    if (rc == GS_E_NOTFOUND)
        return gs_err_set(err, GS_E_DB, "store: the pull index names a %s that is not there",
                          t->name);
    if (rc)
        return rc;
    memset(&pr, 0, sizeof(pr));
    pr.version = v;
    pr.tbl = t->name;
    pr.rid = eng_col_blob(st, 2);
    for (uint32_t i = 0; i < r->n && !*stop; i++) {
        if (r->f[i].version != v)
            continue;
        pr.field = r->names[i];
        pr.value = &r->f[i].value;
        pr.hlc = r->f[i].hlc;
        rc = cb(ud, &pr);
        if (rc == 1)
            *stop = 1;
        else if (rc)
            return rc;
    }
    return GS_OK;
}

/* A departure: the record's scope field set to its new grid. */
static int pull_move_row(eng_stmt *st, gs_arena *a, store_pull_cb *cb, void *ud, int *stop,
                         gs_err *err)
{
    const char *tn = eng_col_text(st, 1), *fn = eng_col_text(st, 4);
    const schema_table *t = tn ? schema_table_find(tn, eng_col_bytes(st, 1)) : NULL;
    const schema_field *f = t && fn ? schema_field_find(t, fn, eng_col_bytes(st, 4)) : NULL;
    store_pull_row pr;
    proto_value *v;
    int rc;

    if (!f || eng_col_bytes(st, 2) != 16)
        return gs_err_set(err, GS_E_DB, "store: damaged moves row (version %lld)",
                          (long long)eng_col_i64(st, 0));
    v = arena_alloc(a, sizeof(*v));
    if (!v)
        return gs_err_set(err, GS_E_NOMEM, "pull: out of memory");
    rc = col_value(st, 5, a, v);
    if (rc)
        return damaged(err, rc, "moves row");
    memset(&pr, 0, sizeof(pr));
    pr.version = col_u64(st, 0);
    pr.tbl = t->name;
    pr.rid = eng_col_blob(st, 2);
    pr.field = f->name;
    pr.value = v;
    pr.hlc = col_u64(st, 6);
    rc = cb(ud, &pr);
    if (rc == 1)
        *stop = 1;
    return rc == 1 ? GS_OK : rc;
}

int store_pull_scan(store *s, const store_device *dev, uint64_t cursor, gs_arena *a,
                    store_pull_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = rprep(s, dev->n_grids == 1 ? RQ_PULL1 : RQ_PULLN, &st, err), row = 1, stop = 0;

    if (rc)
        return rc;
    eng_bind_i64(st, 1, dev->num);
    bind_u64(st, 2, cursor);
    if (dev->n_grids == 1) {
        bind_text(st, 3, dev->grids[0]);
        bind_text(st, 4, dev->id);
    } else {
        bind_text(st, 3, dev->id); /* no parameter unused: PostgreSQL could not type it */
    }
    while (!rc && !stop) {
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        if ((int)eng_col_i64(st, 3) == 0)
            rc = pull_index_row(s, st, a, cb, ud, &stop, err);
        else
            rc = pull_move_row(st, a, cb, ud, &stop, err);
    }
    done(st);
    return rc;
}

/* ---- migration 2 -> 3 -------------------------------------------------------------------- */

/* The number of device id (0 for the admin), through the devices table. */
static int dev_num_of(store *s, const char *id, uint32_t *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int row = 0, rc;

    if (strcmp(id, STORE_ADMIN_DEVICE) == 0) {
        *out = 0;
        return GS_OK;
    }
    rc = eng_prepare(s->e, "SELECT rowid FROM devices WHERE id = ?1", &st, err);
    if (rc)
        return rc;
    bind_text(st, 1, id);
    rc = eng_step(st, &row, err);
    if (!rc && row)
        *out = (uint32_t)eng_col_i64(st, 0);
    else if (!rc)
        rc = gs_err_set(err, GS_E_DB, "store: field_state names an unknown device '%s'", id);
    eng_finalize(st);
    return rc;
}

/* Converts one record: its field_state rows into one blob, its versions into index rows. */
static int migrate_record(store *s, eng_stmt *fst, eng_stmt *ins, eng_stmt *idx,
                          eng_stmt *mv, const char *tbl, const uint8_t *rid, const char *grid,
                          gs_err *err)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    sval_rec_field f[STORE_REC_FIELDS];
    char dev[STORE_REC_FIELDS][GS_LIMIT_NAME + 1];
    char names[STORE_REC_FIELDS][GS_LIMIT_NAME + 1];
    gs_arena a;
    gs_buf b;
    uint32_t n = 0;
    int row = 0, rc = GS_OK;

    if (!t)
        return gs_err_set(err, GS_E_DB, "store: a record of unknown type %s", tbl);
    arena_init(&a, SVAL_ARENA_MAX);
    buf_init(&b, PROTO_MAX_BODY);
    eng_bind_text(fst, 1, tbl);
    bind_id(fst, 2, rid);
    while (rc == GS_OK && !(rc = eng_step(fst, &row, err)) && row && n < STORE_REC_FIELDS) {
        col_text(fst, 0, names[n], sizeof(names[n]));
        f[n].name = names[n];
        rc = col_value(fst, 1, &a, &f[n].value);
        if (rc) {
            damaged(err, rc, "field value");
            break;
        }
        f[n].version = col_u64(fst, 2);
        f[n].hlc = col_u64(fst, 3);
        col_text(fst, 4, dev[n], sizeof(dev[n]));
        rc = dev_num_of(s, dev[n], &f[n].writer, err);
        n++;
    }
    eng_reset(fst);
    if (rc == GS_OK)
        rc = sval_rec_encode(&b, f, n);
    if (rc == GS_OK) {
        eng_bind_blob(ins, 1, b.ptr, b.len);
        eng_bind_text(ins, 2, tbl);
        bind_id(ins, 3, rid);
        rc = eng_step(ins, NULL, err);
        eng_reset(ins);
    }
    /* one index row per version; the writer of a re-stamped version is the mover */
    for (uint32_t i = 0; i < n && rc == GS_OK; i++) {
        uint32_t writer = f[i].writer;
        int first = 1;
        for (uint32_t j = 0; j < i && first; j++)
            first = f[j].version != f[i].version;
        if (!first)
            continue;
        eng_bind_text(mv, 1, tbl);
        bind_id(mv, 2, rid);
        bind_u64(mv, 3, f[i].version);
        rc = eng_step(mv, &row, err);
        if (!rc && row) {
            char mover[GS_LIMIT_NAME + 1];
            col_text(mv, 0, mover, sizeof(mover));
            rc = dev_num_of(s, mover, &writer, err);
        }
        eng_reset(mv);
        if (rc)
            break;
        bind_text(idx, 1, grid);
        bind_u64(idx, 2, f[i].version);
        eng_bind_text(idx, 3, tbl);
        bind_id(idx, 4, rid);
        eng_bind_i64(idx, 5, writer);
        rc = eng_step(idx, NULL, err);
        eng_reset(idx);
    }
    buf_free(&b);
    arena_free(&a);
    return rc;
}

int store_rec_migrate_3(store *s, gs_err *err)
{
    eng_stmt *rec = NULL, *fst = NULL, *ins = NULL, *idx = NULL, *mv = NULL;
    int row = 0, rc;

    /* SQLite only: a PostgreSQL store starts at the newest schema */
    rc = eng_prepare(s->e, "SELECT tbl, id, grid FROM records", &rec, err);
    if (!rc)
        rc = eng_prepare(s->e, "SELECT field, value, version, hlc, device FROM field_state "
                               "WHERE tbl = ?1 AND rid = ?2 ORDER BY field", &fst, err);
    if (!rc)
        rc = eng_prepare(s->e, "INSERT INTO records_3 (tbl, id, grid, deleted, created_hlc, "
                               "updated_hlc, version, fields) SELECT tbl, id, grid, deleted, "
                               "created_hlc, updated_hlc, version, ?1 FROM records "
                               "WHERE tbl = ?2 AND id = ?3", &ins, err);
    if (!rc)
        rc = eng_prepare(s->e, "INSERT OR REPLACE INTO pulls (grid, version, tbl, rid, writer) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)", &idx, err);
    if (!rc)
        rc = eng_prepare(s->e, "SELECT device FROM moves WHERE tbl = ?1 AND rid = ?2 AND "
                               "version = ?3 LIMIT 1", &mv, err);
    while (rc == GS_OK && !(rc = eng_step(rec, &row, err)) && row) {
        char tbl[GS_LIMIT_NAME + 1], grid[GS_LIMIT_NAME + 1];
        uint8_t rid[16];
        col_text(rec, 0, tbl, sizeof(tbl));
        col_text(rec, 2, grid, sizeof(grid));
        if (eng_col_bytes(rec, 1) != 16) {
            rc = gs_err_set(err, GS_E_DB, "store: a record with a damaged id");
            break;
        }
        memcpy(rid, eng_col_blob(rec, 1), 16);
        rc = migrate_record(s, fst, ins, idx, mv, tbl, rid, grid, err);
    }
    eng_finalize(rec);
    eng_finalize(fst);
    eng_finalize(ins);
    eng_finalize(idx);
    eng_finalize(mv);
    if (rc == GS_OK)
        rc = eng_exec(s->e, "DROP TABLE field_state; DROP TABLE records; "
                            "ALTER TABLE records_3 RENAME TO records; "
                            "CREATE UNIQUE INDEX records_id ON records (tbl, id);", err);
    return rc;
}
