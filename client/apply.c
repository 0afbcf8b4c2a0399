/*
 * apply.c: see apply.h for what a record shows after a response.
 *
 * Per record touched, the order is: read its versions once (fvers.h), settle or write its
 * fields in one statement, recompute `updated` from the clocks of the values it now holds,
 * write its versions back once. Acknowledgments are settled in one pass over the sent rows
 * (a merge of the acks with the rows in seq order) and the rows go with one range delete:
 * the sync of 10,000 new records cost twelve statements per change before, three now.
 */
#include "apply.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "fieldpack.h"
#include "fvers.h"
#include "outbox.h"
#include "pval.h"
#include "record.h"

#include <stdio.h>
#include <string.h>

/* ---- writing fields into records ---- */

/* One field value to write into a record row. */
typedef struct col_value {
    const schema_field *f;   /* the field (the tombstone included) */
    const proto_value *v;    /* its value; nil clears it */
} col_value;

/* UPDATE t SET each field, updated (when not 0), created (when not 0) WHERE id: one
 * statement for a whole pulled change or record state. */
static int record_write(gs_db *db, const schema_table *t, const uint8_t id[16],
                        const col_value *cols, uint32_t n, uint64_t updated, uint64_t created)
{
    char sql[4096];
    size_t len;
    sqlite3_stmt *st;
    int src = SQLITE_OK, rc, k = 3;

    len = (size_t)snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET ", t->name);
    for (uint32_t i = 0; i < n && len < sizeof(sql); i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s\"%s\" = ?%d", i ? ", " : "",
                                cols[i].f->name, k++);
    if (len < sizeof(sql))
        len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                "%supdated = coalesce(?1, updated), created = coalesce(?2, "
                                "created) WHERE id = ?%d",
                                n ? ", " : "", k);
    if (len >= sizeof(sql))
        return gs_err_set(&db->err, GS_E_STATE, "%s: too many fields to write", t->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    if (updated)
        sqlite3_bind_int64(st, 1, (int64_t)updated);
    if (created)
        sqlite3_bind_int64(st, 2, (int64_t)created);
    for (uint32_t i = 0; i < n && src == SQLITE_OK; i++) {
        if (strcmp(cols[i].f->name, SCHEMA_DELETED_FIELD) == 0)
            src = sqlite3_bind_int(st, (int)i + 3, cols[i].v->type == PV_BOOL && cols[i].v->u.b);
        else
            src = pval_bind(st, (int)i + 3, cols[i].f, cols[i].v);
    }
    if (src == SQLITE_OK)
        src = sqlite3_bind_blob(st, k, id, 16, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing a record");
    db_done(st);
    return rc;
}

/* The fields carried by pending rows of the record other than except_seq, as
 * "\0name\0name\0..." in names, and the greatest clock among them in *max_hlc (0: none).
 * *n_rows gets the number of such rows. */
static int pending_scan(gs_db *db, const uint8_t id[16], uint64_t except_seq, gs_buf *names,
                        uint64_t *max_hlc, int *n_rows)
{
    sqlite3_stmt *st;
    fieldset fs;
    int src = SQLITE_DONE, rc = db_prepare_static(db, "SELECT fields, hlc FROM outbox "
                                               "WHERE rid = ?1 AND seq != ?2",
                                           &st);

    if (rc)
        return rc;
    fieldset_init(&fs);
    buf_reset(names);
    *max_hlc = 0;
    *n_rows = 0;
    rc = buf_add(names, "", 1);
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)except_seq);
    while (rc == GS_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        rc = fieldpack_decode(&fs, sqlite3_column_blob(st, 0),
                              (size_t)sqlite3_column_bytes(st, 0),
                              (uint64_t)sqlite3_column_int64(st, 1));
        if (rc) {
            rc = gs_err_set(&db->err, rc, "an outbox row is damaged");
            break;
        }
        (*n_rows)++;
        for (uint32_t i = 0; i < fs.n && rc == GS_OK; i++) {
            if (fs.fields[i].hlc > *max_hlc)
                *max_hlc = fs.fields[i].hlc;
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

/* updated = the greatest clock among the record's values: the server's (fv) and the
 * pending local edits' (pending_max); 0 when nothing is known. A field seen before clocks
 * were kept (hlc 0) leaves the clock unknown: then updated never moves back (*keep 1). */
static uint64_t updated_of(const fvers *fv, uint64_t pending_max, int *keep)
{
    uint64_t hi = fvers_max_hlc(fv, keep);
    return pending_max > hi ? pending_max : hi;
}

/* Writes updated (from updated_of) and created into the record. */
static int record_times(gs_db *db, const schema_table *t, const uint8_t id[16], const fvers *fv,
                        uint64_t pending_max, uint64_t created)
{
    char sql[200];
    sqlite3_stmt *st;
    int keep, src, rc;
    uint64_t hi = updated_of(fv, pending_max, &keep);

    if (hi == 0 && created == 0)
        return GS_OK;
    snprintf(sql, sizeof(sql),
             "UPDATE \"%s\" SET updated = %s, created = coalesce(?3, created) WHERE id = ?2",
             t->name, hi == 0 ? "updated" : keep ? "max(updated, ?1)" : "?1");
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)hi);
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
    if (created)
        sqlite3_bind_int64(st, 3, (int64_t)created);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing a record");
    db_done(st);
    return rc;
}

/* ---- acks ---- */

static int reject_row(gs_db *db, uint64_t seq, const proto_ack *ack)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "INSERT OR REPLACE INTO rejected(seq, tbl, rid, hlc, fields, "
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

static int range_delete(gs_db *db, uint64_t first, uint64_t last)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_static(db, "DELETE FROM outbox WHERE seq BETWEEN ?1 AND ?2", &st);

    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)first);
    sqlite3_bind_int64(st, 2, (int64_t)last);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "removing acknowledged changes");
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

/* Every lost value must fit the schema before anything changes. */
static int check_lost(gs_db *db, const schema_table *t, const proto_ack *ack)
{
    for (uint32_t i = 0; i < ack->n_lost; i++) {
        const schema_field *f = field_of(t, ack->lost[i].name);
        gs_err verr;
        if (!f)
            return gs_err_set(&db->err, GS_E_PROTO, "ack %llu: unknown field '%.*s' in lost",
                              (unsigned long long)ack->seq, (int)ack->lost[i].name.len,
                              ack->lost[i].name.ptr);
        if (schema_check_value(t, f, &ack->lost[i].value, &verr))
            return gs_err_set(&db->err, GS_E_PROTO, "ack %llu: %s",
                              (unsigned long long)ack->seq, verr.msg);
    }
    return GS_OK;
}

/* The sent rows of a request, read in seq order beside its acks. */
typedef struct sent_rows {
    sqlite3_stmt *st;      /* SELECT over seq first..last (not from the cache: kept open) */
    int have;              /* a row is current */
    uint64_t seq;          /* its seq */
    const schema_table *t; /* its table */
    uint8_t id[16];        /* its record */
    fieldset fs;           /* its fields */
} sent_rows;

static int rows_next(gs_db *db, sent_rows *r)
{
    int src = sqlite3_step(r->st);
    const char *tbl;

    r->have = 0;
    if (src == SQLITE_DONE)
        return GS_OK;
    if (src != SQLITE_ROW)
        return db_fail(db, src, "reading the outbox");
    r->seq = (uint64_t)sqlite3_column_int64(r->st, 0);
    tbl = (const char *)sqlite3_column_text(r->st, 1);
    r->t = tbl ? schema_table_find(tbl, strlen(tbl)) : NULL;
    if (!r->t || sqlite3_column_bytes(r->st, 2) != 16)
        return gs_err_set(&db->err, GS_E_DB, "outbox row %llu is damaged",
                          (unsigned long long)r->seq);
    memcpy(r->id, sqlite3_column_blob(r->st, 2), 16);
    if (fieldpack_decode(&r->fs, sqlite3_column_blob(r->st, 4),
                         (size_t)sqlite3_column_bytes(r->st, 4),
                         (uint64_t)sqlite3_column_int64(r->st, 3)))
        return gs_err_set(&db->err, GS_E_DB, "outbox row %llu is damaged",
                          (unsigned long long)r->seq);
    r->have = 1;
    return GS_OK;
}

/* An accepted change: its fields take the change's version (with their own clocks), each
 * lost field the server's value, version and clock (unless a newer local edit of the
 * field is still pending). */
static int settle_ok(gs_db *db, const sent_rows *r, const proto_ack *ack, fvers *fv,
                     apply_stats *st)
{
    gs_buf names;
    uint64_t pmax = 0;
    int n_rows = 0, taken = 0, rc = check_lost(db, r->t, ack);

    if (rc)
        return rc;
    rc = fvers_load(db, r->id, fv);
    for (uint32_t i = 0; i < r->fs.n && rc == GS_OK; i++)
        if (lost_index(ack, r->fs.fields[i].name) < 0)
            rc = fvers_raise(fv, r->fs.fields[i].name.ptr, r->fs.fields[i].name.len, ack->version,
                             r->fs.fields[i].hlc);
    if (rc == GS_OK && ack->n_lost) {
        col_value cols[PROTO_MAX_FIELDS];
        uint32_t n = 0;
        buf_init(&names, FIELDPACK_MAX * 4);
        rc = pending_scan(db, r->id, ack->seq, &names, &pmax, &n_rows);
        for (uint32_t i = 0; i < ack->n_lost && rc == GS_OK; i++) {
            const proto_field *lf = &ack->lost[i];
            rc = fvers_raise(fv, lf->name.ptr, lf->name.len, lf->ver, lf->hlc);
            if (rc == GS_OK && !names_has(&names, lf->name)) {
                cols[n].f = field_of(r->t, lf->name);
                cols[n++].v = &lf->value;
            }
        }
        buf_free(&names);
        taken = (int)n;
        if (rc == GS_OK && n) {
            int keep;
            /* the record's values changed to the server's: so may its time */
            uint64_t up = updated_of(fv, pmax, &keep);
            rc = record_write(db, r->t, r->id, cols, n, keep ? 0 : up, 0);
            if (rc == GS_OK && keep)
                rc = record_times(db, r->t, r->id, fv, pmax, 0);
        }
    }
    if (rc == GS_OK)
        rc = fvers_store(db, r->id, fv);
    if (rc == GS_OK && st) {
        st->acked++;
        st->lost_taken += (uint32_t)taken;
    }
    if (rc == GS_E_TOO_LARGE)
        rc = gs_err_set(&db->err, GS_E_PROTO, "ack %llu: more fields than a record has",
                        (unsigned long long)ack->seq);
    return rc;
}

/* Settles the acks of one request (in request order, so seq rises): a merge with the sent
 * rows, then one range delete. An ack for a seq not in the outbox changes nothing. */
static int apply_acks_locked(gs_db *db, const proto_ack *acks, uint32_t n, apply_stats *st)
{
    sent_rows r;
    fvers *fv = NULL;
    int src, rc = GS_OK;

    if (n == 0)
        return GS_OK;
    memset(&r, 0, sizeof(r));
    fieldset_init(&r.fs);
    fv = gs_malloc(sizeof(*fv));
    if (!fv)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    src = sqlite3_prepare_v2(db->sql, "SELECT seq, tbl, rid, hlc, fields FROM outbox "
                                      "WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
                             -1, &r.st, NULL);
    if (src != SQLITE_OK) {
        gs_free(fv);
        return db_fail(db, src, "reading the outbox");
    }
    sqlite3_bind_int64(r.st, 1, (int64_t)acks[0].seq);
    sqlite3_bind_int64(r.st, 2, (int64_t)acks[n - 1].seq);
    rc = rows_next(db, &r);
    for (uint32_t i = 0; i < n && rc == GS_OK; i++) {
        const proto_ack *a = &acks[i];
        while (rc == GS_OK && r.have && r.seq < a->seq)
            rc = rows_next(db, &r);
        if (rc)
            break;
        if (!r.have || r.seq != a->seq) {
            if (st)
                st->unknown_acks++;
            continue;
        }
        if (a->ok) {
            rc = settle_ok(db, &r, a, fv, st);
        } else {
            /* the response's record state (apply_fix) puts the server's values back */
            rc = reject_row(db, a->seq, a);
            if (rc == GS_OK && st)
                st->rejected++;
        }
    }
    sqlite3_finalize(r.st);
    fieldset_free(&r.fs);
    gs_free(fv);
    if (rc == GS_OK)
        rc = range_delete(db, acks[0].seq, acks[n - 1].seq);
    return rc;
}

static int apply_ack_locked(gs_db *db, const proto_ack *ack, apply_stats *st)
{
    return apply_acks_locked(db, ack, 1, st);
}

/* ---- pulls ---- */

/* Whether table t holds id: the one lookup by id (record_locate), its table compared.
 * *other is set when the id is a record of another table: ids are unique across all types
 * (issue 18, item 8), so such a pulled change is not applied. */
static int record_exists(gs_db *db, const schema_table *t, const uint8_t id[16], int *out,
                         int *other)
{
    const schema_table *found = NULL;
    int rc = record_locate(db, id, &found, NULL);

    *out = rc == GS_OK && found == t;
    *other = rc == GS_OK && found != t;
    return rc == GS_E_NOTFOUND ? GS_OK : rc;
}

static int record_create_empty(gs_db *db, const schema_table *t, const uint8_t id[16],
                               uint64_t created)
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
    sqlite3_bind_int64(st, 2, (int64_t)created);
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

/* Drops the local copy of a record and its field versions (should it come back, it is
 * pulled whole). Edits of it still in the outbox stay. */
static int record_drop(gs_db *db, const schema_table *t, const uint8_t id[16])
{
    char sql[128];
    sqlite3_stmt *st;
    int src, rc;

    snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE id = ?1", t->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "dropping a record");
    db_done(st);
    return rc ? rc : fvers_drop(db, id);
}

/* The record's versions and pending edits, read once for one pulled change or state. */
typedef struct touch {
    fvers fv;          /* its versions */
    gs_buf names;      /* fields carried by pending rows ("\0name\0...") */
    uint64_t pmax;     /* the greatest clock among them */
    int n_rows;        /* pending rows of the record */
    int exists;        /* the device has a row for it */
    int other;         /* its id is a record of another table here: not applied */
} touch;

static int touch_read(gs_db *db, const schema_table *t, const uint8_t id[16], touch *tc)
{
    int rc;

    tc->exists = tc->other = 0;
    buf_init(&tc->names, FIELDPACK_MAX * 4);
    rc = pending_scan(db, id, 0, &tc->names, &tc->pmax, &tc->n_rows);
    if (rc == GS_OK)
        rc = record_exists(db, t, id, &tc->exists, &tc->other);
    if (rc == GS_OK)
        rc = fvers_load(db, id, &tc->fv);
    return rc;
}

/* Writes the collected values with the record's new times, and its versions. */
static int touch_write(gs_db *db, const schema_table *t, const uint8_t id[16], touch *tc,
                       const col_value *cols, uint32_t n, uint64_t created)
{
    int keep, rc;
    uint64_t up = updated_of(&tc->fv, tc->pmax, &keep);

    if (!tc->exists) {
        rc = record_create_empty(db, t, id, created);
        if (rc)
            return rc;
        tc->exists = 1;
        keep = 0;
    }
    rc = record_write(db, t, id, cols, n, keep ? 0 : up, created);
    if (rc == GS_OK && keep)
        rc = record_times(db, t, id, &tc->fv, tc->pmax, 0);
    if (rc == GS_OK)
        rc = fvers_store(db, id, &tc->fv);
    return rc;
}

static int apply_pull_locked(gs_db *db, const proto_change *c, apply_stats *st)
{
    const schema_table *t = schema_table_find(c->table.ptr, c->table.len);
    col_value cols[PROTO_MAX_FIELDS];
    touch *tc;
    uint32_t n = 0;
    int rc;

    if (!t) {
        if (st)
            st->skipped += c->n_fields;
        return GS_OK;
    }
    if (departs(db, t, c)) {
        /* unsent edits of it stay: pushed, the server refuses them out_of_scope */
        rc = record_drop(db, t, c->id);
        if (rc == GS_OK && st)
            st->departed++;
        return rc;
    }
    tc = gs_malloc(sizeof(*tc));
    if (!tc)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    rc = touch_read(db, t, c->id, tc);
    if (rc == GS_OK && tc->other) {
        if (st)
            st->skipped += c->n_fields;
        n = 0;
    }
    for (uint32_t i = 0; !tc->other && i < c->n_fields && rc == GS_OK; i++) {
        const proto_field *pf = &c->fields[i];
        const schema_field *f = field_of(t, pf->name);
        gs_err verr;

        if (!f || schema_check_value(t, f, &pf->value, &verr) != GS_OK) {
            if (st)
                st->skipped++;
        } else if (names_has(&tc->names, pf->name)) {
            if (st)
                st->kept_local++;
        } else if (fvers_ver(&tc->fv, pf->name.ptr, pf->name.len) >= pf->ver) {
            if (st)
                st->stale++;
        } else if (n < PROTO_MAX_FIELDS) {
            rc = fvers_raise(&tc->fv, pf->name.ptr, pf->name.len, pf->ver, pf->hlc);
            cols[n].f = f;
            cols[n++].v = &pf->value;
            if (st)
                st->pulled_fields++;
        }
    }
    if (rc == GS_OK && n)
        rc = touch_write(db, t, c->id, tc, cols, n, c->created ? c->created : 0);
    buf_free(&tc->names);
    gs_free(tc);
    return rc;
}

/* ---- record states ---- */

static const proto_field *state_field(const proto_change *s, const char *name)
{
    for (uint32_t i = 0; i < s->n_fields; i++)
        if (proto_str_eq(s->fields[i].name, name))
            return &s->fields[i];
    return NULL;
}

static int apply_fix_locked(gs_db *db, const proto_change *s, apply_stats *st)
{
    static const proto_value nil = {.type = PV_NIL};
    const schema_table *t = schema_table_find(s->table.ptr, s->table.len);
    const schema_field *del;
    col_value cols[PROTO_MAX_FIELDS + 1];
    touch *tc;
    uint32_t n = 0;
    int rc;

    if (!t)
        return GS_OK;
    for (uint32_t i = 0; i < s->n_fields; i++) {
        const schema_field *f = field_of(t, s->fields[i].name);
        gs_err verr;
        if (!f || schema_check_value(t, f, &s->fields[i].value, &verr))
            return gs_err_set(&db->err, GS_E_PROTO, "fix: %s.%.*s does not fit this device's "
                              "schema", t->name, (int)s->fields[i].name.len,
                              s->fields[i].name.ptr);
    }
    tc = gs_malloc(sizeof(*tc));
    if (!tc)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    rc = touch_read(db, t, s->id, tc);
    if (rc || tc->other)
        goto out; /* an id of another table here: not this record's */
    if (s->created == 0) {
        /* the server has no such record for this device: it exists only here, or left
           its grids; a pending row of it keeps it until that row is settled too */
        if (tc->exists && tc->n_rows == 0) {
            rc = record_drop(db, t, s->id);
            if (rc == GS_OK && st)
                st->fix_dropped++;
        }
        goto out;
    }
    /* every field no pending edit carries takes the server's value, whatever version the
       device holds; a field the server has no value for is cleared */
    del = schema_field_find(t, SCHEMA_DELETED_FIELD, strlen(SCHEMA_DELETED_FIELD));
    for (size_t i = 0; i <= t->n_fields && rc == GS_OK; i++) {
        const schema_field *f = i < t->n_fields ? &t->fields[i] : del;
        const proto_field *pf;
        if (!f || names_has(&tc->names, proto_cstr(f->name)))
            continue;
        pf = state_field(s, f->name);
        if (pf)
            rc = fvers_put(&tc->fv, f->name, strlen(f->name), pf->ver, pf->hlc);
        else
            fvers_clear(&tc->fv, f->name, strlen(f->name));
        cols[n].f = f;
        cols[n++].v = pf ? &pf->value : &nil;
    }
    if (rc == GS_OK)
        rc = touch_write(db, t, s->id, tc, cols, n, s->created);
    if (rc == GS_OK && st)
        st->fixed++;
out:
    buf_free(&tc->names);
    gs_free(tc);
    return rc;
}

/* ---- the calls ---- */

typedef int locked_fn(gs_db *db, const void *arg, apply_stats *st);

static int in_tx(gs_db *db, locked_fn *fn, const void *arg, apply_stats *st)
{
    int rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = fn(db, arg, st);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
    if (rc)
        db_tx_rollback(db);
    return rc;
}

static int ack_fn(gs_db *db, const void *arg, apply_stats *st)
{
    return apply_ack_locked(db, arg, st);
}

static int pull_fn(gs_db *db, const void *arg, apply_stats *st)
{
    return apply_pull_locked(db, arg, st);
}

static int fix_fn(gs_db *db, const void *arg, apply_stats *st)
{
    return apply_fix_locked(db, arg, st);
}

int apply_ack(gs_db *db, const proto_ack *ack, apply_stats *st)
{
    return in_tx(db, ack_fn, ack, st);
}

int apply_pull(gs_db *db, const proto_change *c, apply_stats *st)
{
    return in_tx(db, pull_fn, c, st);
}

int apply_fix(gs_db *db, const proto_change *s, apply_stats *st)
{
    return in_tx(db, fix_fn, s, st);
}

static int response_fn(gs_db *db, const void *arg, apply_stats *st)
{
    const proto_sync_resp *resp = arg;
    int rc = GS_OK;

    rc = apply_acks_locked(db, resp->acks, resp->n_acks, st);
    for (uint32_t i = 0; i < resp->n_changes && rc == GS_OK; i++)
        rc = apply_pull_locked(db, &resp->changes[i], st);
    /* after the pulls: a state is at least as new as any change of this page */
    for (uint32_t i = 0; i < resp->n_fixes && rc == GS_OK; i++)
        rc = apply_fix_locked(db, &resp->fixes[i], st);
    if (rc == GS_OK)
        rc = outbox_set_cursor(db, resp->cursor);
    if (rc == GS_OK)
        rc = db_meta_set_int(db, DB_META_SERVER_PROTO, resp->version);
    if (rc == GS_OK && resp->now) {
        uint64_t merged;
        rc = db_counters_load(db);
        /* a server clock beyond the drift guard is not followed, but the response is still
           good: its acks and changes carry server versions, not our clock */
        if (rc == GS_OK && hlc_recv(&db->clock, resp->now, &merged) == GS_OK)
            db->counters_dirty = 1;
    }
    return rc;
}

int apply_response(gs_db *db, const proto_sync_resp *resp, apply_stats *st)
{
    return in_tx(db, response_fn, resp, st);
}
