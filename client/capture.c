/*
 * capture.c: see capture.h. Also gs_db_get. Every public call here clears the handle's
 * error first. Each write checks everything it can (values, references, the id) before its
 * first change, so a refused write leaves no trace even inside a batch (db.h explains why
 * inner levels are not savepoints).
 *
 * Records of a server_only table (warnings) are refused here as the server's merge would
 * refuse them (read_only), with the same schema helpers and messages, so nothing the server
 * must reject ever reaches the outbox: no creation, no deletion, and on update only the
 * SF_DEVICE_EDIT fields, enums only to SEF_DEVICE values (GS_E_READ_ONLY).
 */
#include "capture.h"

#include "attach.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "device.h"
#include "outbox.h"
#include "pval.h"

#include <stdio.h>
#include <string.h>

#define SQL_MAX (64 * 1024)

void capture_refs_free(capture_refs *refs)
{
    gs_free(refs->items);
    memset(refs, 0, sizeof(*refs));
}

static int defer_ref(gs_db *db, capture_refs *refs, const schema_table *t,
                     const schema_field *f, const proto_value *v)
{
    if (refs->n == refs->cap) {
        size_t cap = refs->cap ? refs->cap * 2 : 64;
        capture_ref *p = gs_realloc(refs->items, cap * sizeof(*p));
        if (!p)
            return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
        refs->items = p;
        refs->cap = cap;
    }
    refs->items[refs->n].line = refs->line;
    refs->items[refs->n].t = t;
    refs->items[refs->n].f = f;
    memcpy(refs->items[refs->n].target, v->u.s.ptr, UUID_LEN);
    refs->n++;
    return GS_OK;
}

int capture_check_ref(gs_db *db, const schema_table *t, const schema_field *f,
                      const uint8_t target[UUID_LEN])
{
    const schema_table *rt = schema_table_find(f->ref_table, strlen(f->ref_table));
    char sql[128], idtext[UUID_TEXT_LEN + 1];
    sqlite3_stmt *st;
    int src, rc;

    if (!rt)
        return gs_err_set(&db->err, GS_E_STATE, "%s.%s: refers to unknown table %s", t->name,
                          f->name, f->ref_table);
    snprintf(sql, sizeof(sql), "SELECT deleted FROM \"%s\" WHERE id = ?1", rt->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, target, UUID_LEN, SQLITE_STATIC);
    src = sqlite3_step(st);
    uuid_format(target, idtext);
    if (src == SQLITE_DONE)
        rc = gs_err_set(&db->err, GS_E_INVALID, "%s.%s: there is no %s %s on this device",
                        t->name, f->name, rt->name, idtext);
    else if (src == SQLITE_ROW && sqlite3_column_int(st, 0))
        rc = gs_err_set(&db->err, GS_E_INVALID, "%s.%s: %s %s is deleted", t->name, f->name,
                        rt->name, idtext);
    else if (src != SQLITE_ROW)
        rc = db_fail(db, src, "looking up a reference");
    db_done(st);
    return rc;
}

/* schema_check_value, with over-long text reported as invalid input like every other
 * refusal of a value. */
static int check_value(gs_db *db, const schema_table *t, const schema_field *f,
                       const proto_value *v)
{
    int rc = schema_check_value(t, f, v, &db->err);
    if (rc == GS_E_TOO_LARGE) {
        db->err.rc = GS_E_INVALID;
        rc = GS_E_INVALID;
    }
    /* the server would refuse it out_of_scope at the next sync: say so now, offline */
    if (rc == GS_OK && (f->flags & SF_SCOPE) && v->type == PV_STR && db->grids &&
        !db_has_grid(db, v->u.s.ptr, v->u.s.len)) {
        char list[GS_LIMIT_GRIDS * (GS_LIMIT_NAME + 1)];
        snprintf(list, sizeof(list), "%s", db->grids);
        for (char *q = list; *q; q++)
            if (*q == '\n')
                *q = ',';
        rc = gs_err_set(&db->err, GS_E_INVALID, "%s.%s: '%.*s' is not one of this device's "
                        "grids (%s)", t->name, f->name, (int)v->u.s.len, v->u.s.ptr, list);
    }
    return rc;
}

/* Fills each unset field that has a default: the device's grid (the scope field) or worker
 * name (any other SF_FROM_DEVICE field), "now" for SF_DEFAULT_NOW, the schema's enum
 * default. Defaults are not marked set. */
static int apply_defaults(gs_db *db, gs_record *rec)
{
    const schema_table *t = rec->t;
    int64_t now = (int64_t)db_wall_ms(db);

    for (size_t i = 0; i < t->n_fields; i++) {
        const schema_field *f = &t->fields[i];
        proto_value v;
        const char *s = NULL;
        int rc;

        if (rec->slots[i].v.type != PV_NIL)
            continue;
        memset(&v, 0, sizeof(v));
        if (f->flags & SF_FROM_DEVICE)
            s = (f->flags & SF_SCOPE) ? db->default_grid : db->worker;
        else if (f->def)
            s = f->def;
        if (s) {
            v.type = PV_STR;
            v.u.s.ptr = s;
            v.u.s.len = (uint32_t)strlen(s);
        } else if ((f->flags & SF_DEFAULT_NOW) && f->type == ST_TIME) {
            v.type = PV_INT;
            v.u.i = now;
        } else {
            continue;
        }
        rc = record_put(rec, i, &v, 0);
        if (rc)
            return rc;
    }
    return GS_OK;
}

static int insert_sql(const schema_table *t, gs_buf *sql)
{
    int rc = buf_addf(sql, "INSERT INTO \"%s\"(id, created, updated, deleted", t->name);
    for (size_t i = 0; i < t->n_fields && rc == GS_OK; i++)
        rc = buf_addf(sql, ", \"%s\"", t->fields[i].name);
    if (rc == GS_OK)
        rc = buf_adds(sql, ") VALUES(?1, ?2, ?2, 0");
    for (size_t i = 0; i < t->n_fields && rc == GS_OK; i++)
        rc = buf_addf(sql, ", ?%zu", i + 3);
    if (rc == GS_OK)
        rc = buf_adds(sql, ")");
    return rc;
}

static int insert_row(gs_db *db, const gs_record *rec, uint64_t stamp)
{
    const schema_table *t = rec->t;
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK;
    int rc = db_prepare_memo(db, t, DB_SQL_INSERT, insert_sql, &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, rec->id, UUID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)stamp);
    for (size_t i = 0; i < t->n_fields && src == SQLITE_OK; i++)
        src = pval_bind(st, (int)i + 3, &t->fields[i], &rec->slots[i].v);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing a record");
    db_done(st);
    return rc;
}

int capture_add(gs_db *db, gs_record *rec, capture_refs *defer)
{
    const schema_table *t = rec->t;
    proto_field *fields = NULL;
    uint32_t n = 0;
    uint8_t id[UUID_LEN];
    uint64_t stamp = 0;
    int rc;

    if (rec->stored)
        return gs_err_set(&db->err, GS_E_STATE, "%s %s is stored already: use gs_db_update",
                          t->name, rec->id_text);
    rc = schema_device_may_create(t, &db->err);
    if (rc)
        return rc;
    rc = apply_defaults(db, rec);
    if (rc)
        return rc;
    fields = gs_calloc(t->n_fields + 1, sizeof(proto_field));
    if (!fields)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    rc = db_tx_begin(db);
    if (rc) {
        gs_free(fields);
        return rc;
    }
    for (size_t i = 0; i < t->n_fields; i++) {
        const schema_field *f = &t->fields[i];
        const proto_value *v = &rec->slots[i].v;

        if (v->type == PV_NIL) {
            if (!(f->flags & SF_REQUIRED))
                continue;
            rc = gs_err_set(&db->err, GS_E_INVALID, "%s.%s: is required%s", t->name, f->name,
                            (f->flags & SF_FROM_DEVICE) && !db->default_grid
                                ? " (this device is not initialised: run gridsync init)"
                                : "");
            goto out;
        }
        rc = check_value(db, t, f, v);
        if (rc)
            goto out;
        if (f->type == ST_REF) {
            rc = defer ? defer_ref(db, defer, t, f, v)
                       : capture_check_ref(db, t, f, (const uint8_t *)v->u.s.ptr);
            if (rc)
                goto out;
        }
        fields[n].name = proto_cstr(f->name);
        fields[n].value = *v;
        n++;
    }
    if (rec->has_id) {
        /* an import (defer set) looked the id up already: it was free */
        memcpy(id, rec->id, UUID_LEN);
        rc = defer ? GS_E_NOTFOUND : record_locate(db, id, NULL, NULL);
        if (rc == GS_OK)
            rc = gs_err_set(&db->err, GS_E_EXISTS, "%s.id: %s is in use already", t->name,
                            rec->id_text);
        else if (rc == GS_E_NOTFOUND)
            rc = GS_OK;
    } else {
        rc = uuid_v7(id, db_wall_ms(db));
        if (rc)
            rc = gs_err_set(&db->err, rc, "the system's random number generator failed");
    }
    if (rc)
        goto out;
    rc = db_hlc_next(db, &stamp);
    if (rc)
        goto out;
    memcpy(rec->id, id, UUID_LEN); /* insert_row reads it; the text form follows on success */
    rc = insert_row(db, rec, stamp);
    if (rc == GS_OK)
        rc = outbox_capture(db, t, id, stamp, fields, n, 1);
    if (rc == GS_OK)
        rc = db_tx_commit(db);
out:
    if (rc)
        db_tx_rollback(db);
    gs_free(fields);
    if (rc)
        return rc;
    record_set_id(rec, id);
    rec->created = rec->updated = stamp;
    rec->stored = 1;
    for (size_t i = 0; i < t->n_fields; i++)
        rec->slots[i].set = 0;
    return GS_OK;
}

int gs_db_add(gs_db *db, gs_record *rec)
{
    if (!db || !rec)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    if (rec->db != db)
        return gs_err_set(&db->err, GS_E_INVALID, "the record was made on another handle");
    if (strcmp(rec->t->name, ATTACH_TABLE) == 0) /* its bytes must come with it */
        return gs_err_set(&db->err, GS_E_INVALID,
                          "attachments are made with gs_db_attach (gridsync attach)");
    return capture_add(db, rec, NULL);
}

static int update_row(gs_db *db, const schema_table *t, const uint8_t id[UUID_LEN],
                      const proto_field *fields, const size_t *idx, uint32_t n, uint64_t stamp)
{
    gs_buf sql;
    sqlite3_stmt *st = NULL;
    int src = SQLITE_OK, rc;

    buf_init(&sql, SQL_MAX);
    rc = buf_addf(&sql, "UPDATE \"%s\" SET ", t->name);
    for (uint32_t i = 0; i < n && rc == GS_OK; i++)
        rc = buf_addf(&sql, "\"%s\" = ?%u, ", t->fields[idx[i]].name, i + 3);
    if (rc == GS_OK)
        rc = buf_adds(&sql, "updated = ?2 WHERE id = ?1");
    if (rc) {
        buf_free(&sql);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    rc = db_prepare(db, sql.ptr, &st);
    buf_free(&sql);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, UUID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)stamp);
    for (uint32_t i = 0; i < n && src == SQLITE_OK; i++)
        src = pval_bind(st, (int)i + 3, &t->fields[idx[i]], &fields[i].value);
    if (src == SQLITE_OK)
        src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "writing a record");
    db_done(st);
    return rc;
}

int gs_db_update(gs_db *db, gs_record *rec)
{
    const schema_table *t;
    gs_record *cur = NULL;
    proto_field *fields = NULL;
    size_t *idx = NULL;
    uint32_t n = 0;
    uint64_t stamp = 0;
    int rc;

    if (!db || !rec)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    t = rec->t;
    if (rec->db != db)
        return gs_err_set(&db->err, GS_E_INVALID, "the record was made on another handle");
    if (!rec->has_id)
        return gs_err_set(&db->err, GS_E_INVALID, "%s: no id given: which record to update?",
                          t->name);
    fields = gs_calloc(t->n_fields + 1, sizeof(proto_field));
    idx = gs_calloc(t->n_fields + 1, sizeof(size_t));
    if (!fields || !idx) {
        gs_free(fields);
        gs_free(idx);
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    }
    rc = db_tx_begin(db);
    if (rc)
        goto done;
    rc = record_load_in(db, t, rec->id, &cur);
    if (rc == GS_E_NOTFOUND || (rc == GS_OK && cur->deleted)) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no %s %s on this device%s",
                        t->name, rec->id_text, cur ? " (it was deleted)" : "");
        goto out;
    }
    if (rc)
        goto out;
    for (size_t i = 0; i < t->n_fields; i++) {
        const schema_field *f = &t->fields[i];
        const proto_value *v = &rec->slots[i].v;

        if (!rec->slots[i].set)
            continue;
        rc = check_value(db, t, f, v);
        if (rc)
            goto out;
        if (schema_value_eq(f, v, &cur->slots[i].v))
            continue;
        /* before the immutability check: for a warning the server says read_only first */
        rc = schema_device_may_write(t, f, v, &db->err);
        if (rc)
            goto out;
        if (f->flags & SF_IMMUTABLE) {
            rc = gs_err_set(&db->err, GS_E_INVALID, "%s.%s: cannot be changed once the record "
                            "exists", t->name, f->name);
            goto out;
        }
        if (f->type == ST_REF && v->type == PV_BIN) {
            rc = capture_check_ref(db, t, f, (const uint8_t *)v->u.s.ptr);
            if (rc)
                goto out;
        }
        fields[n].name = proto_cstr(f->name);
        fields[n].value = *v;
        idx[n] = i;
        n++;
    }
    if (n) {
        rc = db_hlc_next(db, &stamp);
        if (rc == GS_OK)
            rc = update_row(db, t, rec->id, fields, idx, n, stamp);
        if (rc == GS_OK)
            rc = outbox_capture(db, t, rec->id, stamp, fields, n, 0);
    }
    if (rc == GS_OK)
        rc = db_tx_commit(db);
out:
    if (rc)
        db_tx_rollback(db);
done:
    if (rc == GS_OK) {
        rec->created = cur->created;
        rec->updated = n ? stamp : cur->updated;
        rec->stored = 1;
        for (size_t i = 0; i < t->n_fields; i++)
            rec->slots[i].set = 0;
    }
    gs_record_free(cur);
    gs_free(fields);
    gs_free(idx);
    return rc;
}

int capture_parse_id(gs_db *db, const char *id, uint8_t out[UUID_LEN])
{
    if (!id || uuid_parse(id, strlen(id), out))
        return gs_err_set(&db->err, GS_E_INVALID,
                          "'%.40s' is not a record id (like 0193a5f0-7c1e-7b3d-9f00-2c4e5a6b7c8d)",
                          id ? id : "(null)");
    return GS_OK;
}

int gs_db_delete(gs_db *db, const char *id)
{
    uint8_t raw[UUID_LEN];
    gs_record *cur = NULL;
    proto_field del;
    gs_err why;
    uint64_t stamp;
    char sql[128];
    sqlite3_stmt *st;
    int src, rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    rc = capture_parse_id(db, id, raw);
    if (rc)
        return rc;
    rc = db_tx_begin(db);
    if (rc)
        return rc;
    rc = record_load(db, raw, &cur);
    if (rc == GS_E_NOTFOUND || (rc == GS_OK && cur->deleted)) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no record %s on this device%s", id,
                        cur ? " (it was deleted already)" : "");
        goto out;
    }
    if (rc)
        goto out;
    memset(&del, 0, sizeof(del));
    del.name = proto_cstr(SCHEMA_DELETED_FIELD);
    del.value.type = PV_BOOL;
    del.value.u.b = 1;
    /* a deletion is the field "deleted" set: refused for a warning, as the server does */
    rc = schema_device_may_write(cur->t, schema_field_find(cur->t, del.name.ptr, del.name.len),
                                 &del.value, &why);
    if (rc) {
        rc = gs_err_set(&db->err, rc, "%s %s cannot be deleted on a device: %s", cur->t->name,
                        id, why.msg);
        goto out;
    }
    rc = db_hlc_next(db, &stamp);
    if (rc)
        goto out;
    snprintf(sql, sizeof(sql), "UPDATE \"%s\" SET deleted = 1, updated = ?2 WHERE id = ?1",
             cur->t->name);
    rc = db_prepare(db, sql, &st);
    if (rc)
        goto out;
    sqlite3_bind_blob(st, 1, raw, UUID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)stamp);
    src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = db_fail(db, src, "deleting a record");
    db_done(st);
    if (rc)
        goto out;
    rc = outbox_capture(db, cur->t, raw, stamp, &del, 1, 0);
    if (rc == GS_OK) {
        /* a record's attachments go with it, in this same transaction (issue 19) */
        char canon[UUID_TEXT_LEN + 1];
        uuid_format(raw, canon);
        rc = attach_on_delete(db, cur->t, canon);
    }
    if (rc == GS_OK)
        rc = db_tx_commit(db);
out:
    if (rc)
        db_tx_rollback(db);
    gs_record_free(cur);
    return rc;
}

int gs_db_get(gs_db *db, const char *id, gs_record **out)
{
    uint8_t raw[UUID_LEN];
    gs_record *rec = NULL;
    int rc;

    if (!db || !out)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    rc = capture_parse_id(db, id, raw);
    if (rc)
        return rc;
    rc = record_load(db, raw, &rec);
    if (rc == GS_E_NOTFOUND || (rc == GS_OK && rec->deleted)) {
        rc = gs_err_set(&db->err, GS_E_NOTFOUND, "there is no record %s on this device%s", id,
                        rec ? " (it was deleted)" : "");
        gs_record_free(rec);
        return rc;
    }
    if (rc)
        return rc;
    *out = rec;
    return GS_OK;
}
