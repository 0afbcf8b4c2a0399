/*
 * record.c: gs_record, its setters and getters (gridsync.h), and reading records from the
 * generated record tables. Every public call clears the handle's last error first and sets
 * it, naming "table.field", when it fails.
 */
#include "record.h"

#include "common/alloc.h"
#include "common/isotime.h"
#include "pval.h"

#include <string.h>

/* gs_record_text's answers: the longest is a 4000-byte text. */
#define RECORD_TEXT_MAX (GS_LIMIT_TEXT + 64)

int record_field_index(const schema_table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->n_fields; i++)
        if (strlen(t->fields[i].name) == len && memcmp(t->fields[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

int record_new(gs_db *db, const schema_table *t, gs_record **out)
{
    gs_record *rec = gs_calloc(1, sizeof(*rec));

    if (!rec)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    rec->slots = gs_calloc(t->n_fields ? t->n_fields : 1, sizeof(record_slot));
    if (!rec->slots) {
        gs_free(rec);
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    }
    rec->db = db;
    rec->t = t;
    buf_init(&rec->text, RECORD_TEXT_MAX);
    *out = rec;
    return GS_OK;
}

void record_set_id(gs_record *rec, const uint8_t id[UUID_LEN])
{
    memcpy(rec->id, id, UUID_LEN);
    uuid_format(id, rec->id_text);
    rec->has_id = 1;
}

static void slot_clear(record_slot *s)
{
    pval_free(&s->v);
    gs_free(s->tag_view);
    s->tag_view = NULL;
    s->ref_text[0] = '\0';
}

int record_put(gs_record *rec, size_t i, const proto_value *v, int mark_set)
{
    proto_value copy;
    int rc = pval_copy(&copy, v);

    if (rc)
        return gs_err_set(&rec->db->err, rc, "out of memory");
    slot_clear(&rec->slots[i]);
    rec->slots[i].v = copy;
    if (mark_set)
        rec->slots[i].set = 1;
    return GS_OK;
}

void gs_record_free(gs_record *rec)
{
    if (!rec)
        return;
    for (size_t i = 0; i < rec->t->n_fields; i++)
        slot_clear(&rec->slots[i]);
    gs_free(rec->slots);
    buf_free(&rec->text);
    gs_free(rec);
}

int gs_record_new(gs_db *db, const char *table, gs_record **out)
{
    const schema_table *t;

    if (!db || !out)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    t = table ? schema_table_find(table, strlen(table)) : NULL;
    if (!t)
        return gs_err_set(&db->err, GS_E_INVALID, "unknown record type '%.64s'",
                          table ? table : "(null)");
    return record_new(db, t, out);
}

const char *gs_record_table(const gs_record *rec)
{
    return rec->t->name;
}

const char *gs_record_id(const gs_record *rec)
{
    return rec->id_text;
}

int gs_record_set_id(gs_record *rec, const char *id)
{
    uint8_t raw[UUID_LEN];

    gs_err_clear(&rec->db->err);
    if (rec->stored)
        return gs_err_set(&rec->db->err, GS_E_STATE,
                          "%s %s is stored already; its id cannot change", rec->t->name,
                          rec->id_text);
    if (!id || uuid_parse(id, strlen(id), raw))
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s.id: '%.40s' is not a record id",
                          rec->t->name, id ? id : "(null)");
    record_set_id(rec, raw);
    return GS_OK;
}

uint64_t gs_record_created(const gs_record *rec)
{
    return rec->created;
}

uint64_t gs_record_updated(const gs_record *rec)
{
    return rec->updated;
}

int gs_record_deleted(const gs_record *rec)
{
    return rec->deleted;
}

/* Finds field; on failure records why. */
static int find_field(const gs_record *rec, const char *field, int *index)
{
    int i;

    gs_err_clear(&rec->db->err);
    if (!field)
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s: no field name given",
                          rec->t->name);
    i = record_field_index(rec->t, field, strlen(field));
    if (i < 0)
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s: unknown field '%.64s'",
                          rec->t->name, field);
    *index = i;
    return GS_OK;
}

static const char *type_words(schema_type type)
{
    switch (type) {
    case ST_TEXT: return "text";
    case ST_INT: return "a whole number";
    case ST_BOOL: return "true or false";
    case ST_REAL: return "a number";
    case ST_TIME: return "a time";
    case ST_ENUM: return "one of a list of names";
    case ST_REF: return "a record id";
    case ST_TAGS: return "a list of tags";
    }
    return "?";
}

/* Finds field and checks it is one of the types the setter or getter handles. */
static int typed_field(const gs_record *rec, const char *field, unsigned type_mask, int *index)
{
    int rc = find_field(rec, field, index);
    const schema_field *f;

    if (rc)
        return rc;
    f = &rec->t->fields[*index];
    if (!(type_mask & (1u << f->type)))
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s.%s: the value must be %s",
                          rec->t->name, f->name, type_words(f->type));
    return GS_OK;
}

#define T(x) (1u << (x))

static int put_new(gs_record *rec, int i, proto_value *v)
{
    return record_put(rec, (size_t)i, v, 1);
}

int gs_record_set_str(gs_record *rec, const char *field, const char *utf8)
{
    proto_value v;
    int i, rc = typed_field(rec, field, T(ST_TEXT) | T(ST_ENUM), &i);

    if (rc)
        return rc;
    if (!utf8)
        return gs_record_clear(rec, field);
    memset(&v, 0, sizeof(v));
    v.type = PV_STR;
    v.u.s.ptr = utf8;
    {
        size_t len = strlen(utf8);
        /* anything this long is refused by the length check anyway */
        v.u.s.len = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    }
    return put_new(rec, i, &v);
}

int gs_record_set_int(gs_record *rec, const char *field, int64_t value)
{
    proto_value v;
    int i, rc = typed_field(rec, field, T(ST_INT) | T(ST_TIME) | T(ST_REAL), &i);

    if (rc)
        return rc;
    memset(&v, 0, sizeof(v));
    if (rec->t->fields[i].type == ST_REAL) {
        v.type = PV_REAL;
        v.u.r = (double)value;
    } else {
        v.type = PV_INT;
        v.u.i = value;
    }
    return put_new(rec, i, &v);
}

int gs_record_set_bool(gs_record *rec, const char *field, int value)
{
    proto_value v;
    int i, rc = typed_field(rec, field, T(ST_BOOL), &i);

    if (rc)
        return rc;
    memset(&v, 0, sizeof(v));
    v.type = PV_BOOL;
    v.u.b = value ? 1 : 0;
    return put_new(rec, i, &v);
}

int gs_record_set_real(gs_record *rec, const char *field, double value)
{
    proto_value v;
    int i, rc = typed_field(rec, field, T(ST_REAL), &i);

    if (rc)
        return rc;
    memset(&v, 0, sizeof(v));
    v.type = PV_REAL;
    v.u.r = value;
    return put_new(rec, i, &v);
}

int gs_record_set_time(gs_record *rec, const char *field, int64_t unix_ms)
{
    proto_value v;
    int i, rc = typed_field(rec, field, T(ST_TIME), &i);

    if (rc)
        return rc;
    memset(&v, 0, sizeof(v));
    v.type = PV_INT;
    v.u.i = unix_ms;
    return put_new(rec, i, &v);
}

int gs_record_set_ref(gs_record *rec, const char *field, const char *id)
{
    proto_value v;
    uint8_t raw[UUID_LEN];
    int i, rc = typed_field(rec, field, T(ST_REF), &i);

    if (rc)
        return rc;
    if (!id)
        return gs_record_clear(rec, field);
    if (uuid_parse(id, strlen(id), raw))
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s.%s: '%.40s' is not a record id",
                          rec->t->name, field, id);
    memset(&v, 0, sizeof(v));
    v.type = PV_BIN;
    v.u.s.ptr = (const char *)raw;
    v.u.s.len = UUID_LEN;
    return put_new(rec, i, &v);
}

int gs_record_add_tag(gs_record *rec, const char *field, const char *tag)
{
    proto_value v;
    proto_str *items;
    const proto_value *old;
    int i, rc = typed_field(rec, field, T(ST_TAGS), &i);

    if (rc)
        return rc;
    if (!tag)
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s.%s: no tag given", rec->t->name,
                          field);
    old = &rec->slots[i].v;
    /* a list one longer, borrowing the old strings; record_put copies it all */
    items = gs_calloc((old->type == PV_STRLIST ? old->u.list.n : 0) + 1, sizeof(proto_str));
    if (!items)
        return gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
    memset(&v, 0, sizeof(v));
    v.type = PV_STRLIST;
    v.u.list.items = items;
    if (old->type == PV_STRLIST) {
        memcpy(items, old->u.list.items, old->u.list.n * sizeof(proto_str));
        v.u.list.n = old->u.list.n;
    }
    items[v.u.list.n].ptr = tag;
    items[v.u.list.n].len = (uint32_t)strnlen(tag, GS_LIMIT_NAME * 4 + 1);
    v.u.list.n++;
    rc = put_new(rec, i, &v);
    gs_free(items);
    return rc;
}

int gs_record_clear(gs_record *rec, const char *field)
{
    proto_value v;
    int i, rc = find_field(rec, field, &i);

    if (rc)
        return rc;
    memset(&v, 0, sizeof(v));
    v.type = PV_NIL;
    return put_new(rec, i, &v);
}

int gs_record_set_text(gs_record *rec, const char *field, const char *text)
{
    proto_value v;
    int i, rc = find_field(rec, field, &i);

    if (rc)
        return rc;
    if (!text)
        text = "";
    rc = pval_parse(rec->t, &rec->t->fields[i], text, &v, &rec->db->err);
    if (rc)
        return rc;
    rc = put_new(rec, i, &v);
    pval_free(&v);
    return rc;
}

int gs_record_has(const gs_record *rec, const char *field)
{
    int i = field ? record_field_index(rec->t, field, strlen(field)) : -1;
    return i >= 0 && rec->slots[i].v.type != PV_NIL;
}

/* The slot's value for a getter, or why there is none. */
static int get_slot(const gs_record *rec, const char *field, unsigned mask, int *index)
{
    int rc = typed_field(rec, field, mask, index);
    if (rc)
        return rc;
    if (rec->slots[*index].v.type == PV_NIL)
        return gs_err_set(&rec->db->err, GS_E_NOTFOUND, "%s.%s: has no value", rec->t->name,
                          field);
    return GS_OK;
}

int gs_record_get_str(const gs_record *rec, const char *field, const char **out)
{
    int i, rc = get_slot(rec, field, T(ST_TEXT) | T(ST_ENUM), &i);
    if (rc == GS_OK)
        *out = rec->slots[i].v.u.s.ptr;
    return rc;
}

int gs_record_get_int(const gs_record *rec, const char *field, int64_t *out)
{
    int i, rc = get_slot(rec, field, T(ST_INT) | T(ST_TIME), &i);
    if (rc == GS_OK)
        *out = rec->slots[i].v.u.i;
    return rc;
}

int gs_record_get_bool(const gs_record *rec, const char *field, int *out)
{
    int i, rc = get_slot(rec, field, T(ST_BOOL), &i);
    if (rc == GS_OK)
        *out = rec->slots[i].v.u.b;
    return rc;
}

int gs_record_get_real(const gs_record *rec, const char *field, double *out)
{
    int i, rc = get_slot(rec, field, T(ST_REAL), &i);
    if (rc == GS_OK) {
        const proto_value *v = &rec->slots[i].v;
        *out = v->type == PV_INT ? (double)v->u.i : v->u.r;
    }
    return rc;
}

int gs_record_get_time(const gs_record *rec, const char *field, int64_t *out)
{
    int i, rc = get_slot(rec, field, T(ST_TIME), &i);
    if (rc == GS_OK)
        *out = rec->slots[i].v.u.i;
    return rc;
}

int gs_record_get_ref(const gs_record *rec, const char *field, const char **out_id)
{
    int i, rc = get_slot(rec, field, T(ST_REF), &i);
    record_slot *s;

    if (rc)
        return rc;
    s = &rec->slots[i];
    if (s->v.u.s.len != UUID_LEN)
        return gs_err_set(&rec->db->err, GS_E_INVALID, "%s.%s: not a record id", rec->t->name,
                          field);
    uuid_format((const uint8_t *)s->v.u.s.ptr, s->ref_text);
    *out_id = s->ref_text;
    return GS_OK;
}

int gs_record_get_tags(const gs_record *rec, const char *field, const char *const **out,
                       size_t *n)
{
    int i, rc = get_slot(rec, field, T(ST_TAGS), &i);
    record_slot *s;
    const char **view;

    if (rc)
        return rc;
    s = &rec->slots[i];
    view = gs_calloc(s->v.u.list.n + 1, sizeof(char *));
    if (!view)
        return gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
    for (uint32_t k = 0; k < s->v.u.list.n; k++)
        view[k] = s->v.u.list.items[k].ptr; /* owned strings are NUL-terminated */
    gs_free(s->tag_view);
    s->tag_view = view;
    *out = view;
    *n = s->v.u.list.n;
    return GS_OK;
}

const char *gs_record_text(gs_record *rec, const char *field)
{
    int i;

    if (find_field(rec, field, &i))
        return NULL;
    if (rec->slots[i].v.type == PV_NIL)
        return NULL;
    buf_reset(&rec->text);
    if (pval_format(&rec->t->fields[i], &rec->slots[i].v, &rec->text) != GS_OK) {
        gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
        return NULL;
    }
    return rec->text.ptr ? rec->text.ptr : "";
}

/* ---- reading rows ---- */

int record_select_list(const schema_table *t, gs_buf *out)
{
    int rc = buf_adds(out, "id, created, updated, deleted");
    for (size_t i = 0; i < t->n_fields && rc == GS_OK; i++)
        rc = buf_addf(out, ", \"%s\"", t->fields[i].name);
    return rc;
}

int record_from_row(gs_db *db, const schema_table *t, sqlite3_stmt *st, gs_record **out)
{
    gs_record *rec;
    int rc = record_new(db, t, &rec);

    if (rc)
        return rc;
    if (sqlite3_column_type(st, 0) != SQLITE_BLOB || sqlite3_column_bytes(st, 0) != UUID_LEN) {
        rc = gs_err_set(&db->err, GS_E_DB, "%s: a row has a damaged id", t->name);
        goto out;
    }
    record_set_id(rec, sqlite3_column_blob(st, 0));
    rec->created = (uint64_t)sqlite3_column_int64(st, 1);
    rec->updated = (uint64_t)sqlite3_column_int64(st, 2);
    rec->deleted = sqlite3_column_int(st, 3) != 0;
    rec->stored = 1;
    for (size_t i = 0; i < t->n_fields; i++) {
        rc = pval_read(st, (int)i + 4, &t->fields[i], &rec->slots[i].v, &db->err);
        if (rc) {
            gs_err_prefix(&db->err, "%s.", t->name);
            goto out;
        }
    }
out:
    if (rc) {
        gs_record_free(rec);
        return rc;
    }
    *out = rec;
    return GS_OK;
}

int record_by_id_sql(const schema_table *t, gs_buf *out)
{
    int rc = buf_adds(out, "SELECT ");
    if (rc == GS_OK)
        rc = record_select_list(t, out);
    if (rc == GS_OK)
        rc = buf_addf(out, " FROM \"%s\" WHERE id = ?1", t->name);
    return rc;
}

/* "SELECT 0, deleted FROM t0 WHERE id = ?1 UNION ALL SELECT 1, deleted FROM t1 ...": one
 * statement finds an id in any table (each table's primary key is one index lookup). */
static int locate_sql(gs_db *db, const char **out)
{
    gs_buf sql;
    int rc = GS_OK;

    if (db->locate_sql) {
        *out = db->locate_sql;
        return GS_OK;
    }
    buf_init(&sql, 64 * 1024);
    for (size_t k = 0; k < schema_n_tables && rc == GS_OK; k++)
        rc = buf_addf(&sql, "%sSELECT %zu, deleted FROM \"%s\" WHERE id = ?1", k ? " UNION ALL " : "",
                      k, schema_tables[k].name);
    if (rc) {
        buf_free(&sql);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    db->locate_sql = buf_take(&sql, NULL);
    *out = db->locate_sql;
    return GS_OK;
}

int record_locate(gs_db *db, const uint8_t id[UUID_LEN], const schema_table **t, int *deleted)
{
    const char *sql = NULL;
    sqlite3_stmt *st = NULL;
    int src, rc = locate_sql(db, &sql);

    if (rc == GS_OK)
        rc = db_prepare(db, sql, &st);
    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, UUID_LEN, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);
        if (k < 0 || (size_t)k >= schema_n_tables) {
            rc = gs_err_set(&db->err, GS_E_DB, "reading a record: bad table index");
        } else {
            if (t)
                *t = &schema_tables[k];
            if (deleted)
                *deleted = sqlite3_column_int(st, 1) != 0;
            /* ids are unique across all types (issue 18, item 8); a database from before
               that holds one id in two tables answers for neither, so nothing by id (a
               delete) reaches a record of another type than the one meant */
            src = sqlite3_step(st);
            if (src == SQLITE_ROW)
                rc = gs_err_set(&db->err, GS_E_EXISTS, "id names records of two tables");
            else if (src != SQLITE_DONE)
                rc = db_fail(db, src, "reading a record");
        }
    } else if (src == SQLITE_DONE) {
        rc = GS_E_NOTFOUND;
    } else {
        rc = db_fail(db, src, "reading a record");
    }
    db_done(st);
    return rc;
}

int record_load_in(gs_db *db, const schema_table *t, const uint8_t id[UUID_LEN], gs_record **out)
{
    sqlite3_stmt *st;
    int src, rc = db_prepare_memo(db, t, DB_SQL_BY_ID, record_by_id_sql, &st);

    if (rc)
        return rc;
    sqlite3_bind_blob(st, 1, id, UUID_LEN, SQLITE_STATIC);
    src = sqlite3_step(st);
    if (src == SQLITE_ROW)
        rc = record_from_row(db, t, st, out);
    else if (src == SQLITE_DONE)
        rc = GS_E_NOTFOUND;
    else
        rc = db_fail(db, src, "reading a record");
    db_done(st);
    return rc;
}

int record_load(gs_db *db, const uint8_t id[UUID_LEN], gs_record **out)
{
    const schema_table *t = NULL;
    int rc = record_locate(db, id, &t, NULL);

    return rc ? rc : record_load_in(db, t, id, out);
}
