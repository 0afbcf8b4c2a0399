/*
 * apply.c: see apply.h for what a record shows after a response.
 *
 * Per record touched, the order is: settle or write the fields, then recompute `updated`
 * from the clocks of the values the record now holds (record_refresh_updated). Field
 * versions and clocks live in field_version (outbox.c); the pending rows of a record are
 * read once per record touched (pending_scan).
 */
#include "apply.h"

#include "common/buf.h"
#include "fieldpack.h"
#include "outbox.h"
#include "pval.h"

#include <stdio.h>
#include <string.h>

/* ---- writing fields into records ---- */

/* UPDATE t SET field = value WHERE id (`updated` follows in record_refresh_updated). */
static int record_write_field(gs_db *db, const schema_table *t, const uint8_t id[16],
                              const schema_field *f, const proto_value *v)
{
    char sql[256];
    sqlite3_stmt *st;
    int src, rc;

    snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET \"%s\" = ?1 WHERE id = ?2", t->name, f->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    if (strcmp(f->name, SCHEMA_DELETED_FIELD) == 0)
        src = sqlite3_bind_int(st, 1, v->type == PV_BOOL && v->u.b);
    else
        src = pval_bind(st, 1, f, v);
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_STATIC);
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
    int src = SQLITE_DONE, rc = db_prepare(db, "SELECT fields, hlc FROM outbox "
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

/* updated = the greatest clock among the record's values: the server's (field_version) and
 * the pending local edits' (pending_max). A field seen before clocks were kept (hlc 0)
 * leaves the clock unknown, so updated then never moves back. created, when not 0, is the
 * server's creation clock of the record. */
static int record_refresh_updated(gs_db *db, const schema_table *t, const uint8_t id[16],
                                  uint64_t pending_max, uint64_t created)
{
    char sql[200];
    sqlite3_stmt *st;
    uint64_t hi = 0;
    int unknown = 0, src, rc = db_prepare(db, "SELECT max(hlc), min(hlc) FROM field_version "
                                              "WHERE rid = ?1",
                                          &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        hi = (uint64_t)sqlite3_column_int64(st, 0);
        unknown = sqlite3_column_int64(st, 1) == 0;
    } else if (src != SQLITE_ROW) {
        rc = db_fail(db, src, "reading field versions");
    }
    db_done(st);
    if (rc)
        return rc;
    if (pending_max > hi)
        hi = pending_max;
    if (hi == 0 && created == 0)
        return GS_OK;
    snprintf(sql, sizeof(sql),
             "UPDATE \"%s\" SET updated = %s, created = coalesce(?3, created) WHERE id = ?2",
             t->name, hi == 0 ? "updated" : unknown ? "max(updated, ?1)" : "?1");
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

static int apply_ack_locked(gs_db *db, const proto_ack *ack, apply_stats *st)
{
    fieldset fs;
    gs_buf names;
    const schema_table *t = NULL;
    uint8_t id[16];
    uint64_t pmax = 0;
    int found = 0, n_rows = 0, taken = 0, rc;

    fieldset_init(&fs);
    buf_init(&names, FIELDPACK_MAX * 4);
    rc = outbox_row_read(db, 0, ack->seq, &found, &t, id, &fs);
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
        goto out; /* the response's record state (apply_fix) puts the server's values back */
    }
    rc = check_lost(db, t, ack);
    if (rc)
        goto out;
    for (uint32_t i = 0; i < fs.n; i++) {
        if (lost_index(ack, fs.fields[i].name) >= 0)
            continue;
        rc = outbox_version_set(db, id, fs.fields[i].name, ack->version, fs.fields[i].hlc);
        if (rc)
            goto out;
    }
    if (ack->n_lost) {
        rc = pending_scan(db, id, ack->seq, &names, &pmax, &n_rows);
        if (rc)
            goto out;
    }
    for (uint32_t i = 0; i < ack->n_lost; i++) {
        const proto_field *lf = &ack->lost[i];
        rc = outbox_version_set(db, id, lf->name, lf->ver, lf->hlc);
        if (rc)
            goto out;
        if (names_has(&names, lf->name))
            continue; /* a newer local edit of the field is still to be pushed */
        rc = record_write_field(db, t, id, field_of(t, lf->name), &lf->value);
        if (rc)
            goto out;
        taken++;
        if (st)
            st->lost_taken++;
    }
    /* the record's values changed to the server's: so may its time */
    if (taken)
        rc = record_refresh_updated(db, t, id, pmax, 0);
    if (rc == GS_OK)
        rc = row_delete(db, ack->seq);
    if (rc == GS_OK && st)
        st->acked++;
out:
    buf_free(&names);
    fieldset_free(&fs);
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
    int src, rc = GS_OK;

    snprintf(sql, sizeof(sql), "DELETE FROM \"%s\" WHERE id = ?1", t->name);
    for (int i = 0; i < 2 && rc == GS_OK; i++) {
        rc = db_prepare(db, i == 0 ? sql : "DELETE FROM field_version WHERE rid = ?1", &st);
        if (rc)
            break;
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = db_fail(db, src, "dropping a record");
        db_done(st);
    }
    return rc;
}

static int apply_pull_locked(gs_db *db, const proto_change *c, apply_stats *st)
{
    const schema_table *t = schema_table_find(c->table.ptr, c->table.len);
    gs_buf names;
    uint64_t pmax = 0;
    int exists = 0, n_rows = 0, written = 0, rc;

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
    buf_init(&names, FIELDPACK_MAX * 4);
    rc = pending_scan(db, c->id, 0, &names, &pmax, &n_rows);
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
        rc = outbox_version_get(db, c->id, pf->name.ptr, pf->name.len, &local, NULL);
        if (rc)
            break;
        if (local >= pf->ver) {
            if (st)
                st->stale++;
            continue;
        }
        if (!exists) {
            rc = record_create_empty(db, t, c->id, c->created ? c->created : c->hlc);
            if (rc)
                break;
            exists = 1;
        }
        rc = record_write_field(db, t, c->id, f, &pf->value);
        if (rc == GS_OK)
            rc = outbox_version_set(db, c->id, pf->name, pf->ver, pf->hlc);
        if (rc == GS_OK && st)
            st->pulled_fields++;
        written++;
    }
    if (rc == GS_OK && written)
        rc = record_refresh_updated(db, t, c->id, pmax, c->created);
    buf_free(&names);
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

/* Writes the server's value of f (NULL: none, the field is cleared) unless a pending row
 * carries the field. */
static int fix_field(gs_db *db, const schema_table *t, const uint8_t id[16],
                     const schema_field *f, const proto_field *pf, const gs_buf *names)
{
    static const proto_value nil = {.type = PV_NIL};
    proto_str name = proto_cstr(f->name);
    sqlite3_stmt *st;
    int src, rc;

    if (names_has(names, name))
        return GS_OK;
    rc = record_write_field(db, t, id, f, pf ? &pf->value : &nil);
    if (rc || pf)
        return rc ? rc : outbox_version_set(db, id, name, pf->ver, pf->hlc);
    rc = db_prepare(db, "DELETE FROM field_version WHERE rid = ?1 AND field = ?2", &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, 16, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing field versions");
    db_done(st);
    return rc;
}

static int apply_fix_locked(gs_db *db, const proto_change *s, apply_stats *st)
{
    const schema_table *t = schema_table_find(s->table.ptr, s->table.len);
    const schema_field *del;
    gs_buf names;
    uint64_t pmax = 0;
    int exists = 0, n_rows = 0, rc;

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
    buf_init(&names, FIELDPACK_MAX * 4);
    rc = pending_scan(db, s->id, 0, &names, &pmax, &n_rows);
    if (rc == GS_OK)
        rc = record_exists(db, t, s->id, &exists);
    if (rc)
        goto out;
    if (s->created == 0) {
        /* the server has no such record for this device: it exists only here, or left
           its grids; a pending row of it keeps it until that row is settled too */
        if (exists && n_rows == 0) {
            rc = record_drop(db, t, s->id);
            if (rc == GS_OK && st)
                st->fix_dropped++;
        }
        goto out;
    }
    if (!exists)
        rc = record_create_empty(db, t, s->id, s->created);
    for (size_t i = 0; i < t->n_fields && rc == GS_OK; i++)
        rc = fix_field(db, t, s->id, &t->fields[i], state_field(s, t->fields[i].name), &names);
    del = schema_field_find(t, SCHEMA_DELETED_FIELD, strlen(SCHEMA_DELETED_FIELD));
    if (rc == GS_OK && del)
        rc = fix_field(db, t, s->id, del, state_field(s, SCHEMA_DELETED_FIELD), &names);
    if (rc == GS_OK)
        rc = record_refresh_updated(db, t, s->id, pmax, s->created);
    if (rc == GS_OK && st)
        st->fixed++;
out:
    buf_free(&names);
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

    for (uint32_t i = 0; i < resp->n_acks && rc == GS_OK; i++)
        rc = apply_ack_locked(db, &resp->acks[i], st);
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
