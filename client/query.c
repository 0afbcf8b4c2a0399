/*
 * query.c: gs_list, the generic listing of live records of one table with equality
 * conditions on any fields (a tags field matches records that carry every tag given).
 * The SELECT is built on the first gs_list_next and stays open until gs_list_free, so it
 * is prepared outside the handle's statement cache. Other modules may add a fixed condition
 * and an order of their own (query.h).
 */
#include "query.h"

#include "common/alloc.h"
#include "common/buf.h"
#include "pval.h"
#include "record.h"

#include <string.h>

#define LIST_MAX_WHERE 16

typedef struct list_cond {
    size_t field;        /* index in the table's fields */
    proto_value value;   /* owned; PV_NIL matches "no value" */
} list_cond;

struct gs_list {
    gs_db *db;                      /* the handle */
    const schema_table *t;          /* the table listed */
    list_cond conds[LIST_MAX_WHERE]; /* conditions, all must hold */
    size_t n_conds;                 /* entries in conds */
    int64_t limit;                  /* most records returned; -1 all */
    char *sql_where;                /* list_set_sql: a condition of the library's, or NULL */
    char *sql_order;                /* list_set_sql: ORDER BY terms, or NULL: id DESC */
    sqlite3_stmt *st;               /* the query once started */
    int done;                       /* the query has returned its last row */
};

/* A tags column holds pval_tags_json's compact array, ["a","b"]. Inside a JSON string a
 * quote is always escaped, so `,"tag",` found in the array's inside between commas is one
 * whole element: an exact tag match without SQLite's JSON1, which SQLCipher 3.4's SQLite
 * lacks (make SQLCIPHER=1). The needle is tag's own JSON form with a comma either side. */
static int bind_tag(sqlite3_stmt *st, int param, proto_str *tag)
{
    proto_value one = {.type = PV_STRLIST, .u.list = {.items = tag, .n = 1}};
    gs_buf b;
    int rc;

    buf_init(&b, 6 * (size_t)PROTO_MAX_STR + 8); /* \u00XX at worst */
    rc = pval_tags_json(&one, &b);
    if (rc == GS_OK) {
        b.ptr[0] = ',';
        b.ptr[b.len - 1] = ',';
        if (sqlite3_bind_text(st, param, b.ptr, (int)b.len, SQLITE_TRANSIENT) != SQLITE_OK)
            rc = GS_E_NOMEM;
    }
    buf_free(&b);
    return rc;
}

int gs_list_new(gs_db *db, const char *table, gs_list **out)
{
    const schema_table *t;
    gs_list *l;

    if (!db || !out)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    t = table ? schema_table_find(table, strlen(table)) : NULL;
    if (!t)
        return gs_err_set(&db->err, GS_E_INVALID, "unknown record type '%.64s'",
                          table ? table : "(null)");
    l = gs_calloc(1, sizeof(*l));
    if (!l)
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    l->db = db;
    l->t = t;
    l->limit = -1;
    *out = l;
    return GS_OK;
}

int gs_list_where(gs_list *l, const char *field, const char *text)
{
    gs_db *db = l->db;
    list_cond *c;
    int i, rc;

    gs_err_clear(&db->err);
    if (l->st)
        return gs_err_set(&db->err, GS_E_STATE, "the list has started already");
    if (l->n_conds == LIST_MAX_WHERE)
        return gs_err_set(&db->err, GS_E_INVALID, "at most %d conditions", LIST_MAX_WHERE);
    i = field ? record_field_index(l->t, field, strlen(field)) : -1;
    if (i < 0)
        return gs_err_set(&db->err, GS_E_INVALID, "%s: unknown field '%.64s'", l->t->name,
                          field ? field : "(null)");
    c = &l->conds[l->n_conds];
    rc = pval_parse(l->t, &l->t->fields[i], text ? text : "", &c->value, &db->err);
    if (rc)
        return rc;
    if (c->value.type != PV_NIL) {
        /* a condition that no record can meet is a typing mistake worth telling */
        rc = schema_check_value(l->t, &l->t->fields[i], &c->value, &db->err);
        if (rc) {
            db->err.rc = GS_E_INVALID;
            pval_free(&c->value);
            return GS_E_INVALID;
        }
    }
    c->field = (size_t)i;
    l->n_conds++;
    return GS_OK;
}

int gs_list_limit(gs_list *l, int64_t limit)
{
    gs_err_clear(&l->db->err);
    if (l->st)
        return gs_err_set(&l->db->err, GS_E_STATE, "the list has started already");
    if (limit < 0)
        return gs_err_set(&l->db->err, GS_E_INVALID, "the limit must be 0 or more");
    l->limit = limit;
    return GS_OK;
}

int list_set_sql(gs_list *l, const char *where, const char *order)
{
    char *w = NULL, *o = NULL;

    if (l->st)
        return gs_err_set(&l->db->err, GS_E_STATE, "the list has started already");
    if ((where && !(w = gs_strdup(where))) || (order && !(o = gs_strdup(order)))) {
        gs_free(w);
        return gs_err_set(&l->db->err, GS_E_NOMEM, "out of memory");
    }
    gs_free(l->sql_where);
    gs_free(l->sql_order);
    l->sql_where = w;
    l->sql_order = o;
    return GS_OK;
}

static int start(gs_list *l)
{
    gs_db *db = l->db;
    const schema_table *t = l->t;
    gs_buf sql;
    int param = 1, src, rc;

    buf_init(&sql, 64 * 1024);
    rc = buf_adds(&sql, "SELECT ");
    if (rc == GS_OK)
        rc = record_select_list(t, &sql);
    if (rc == GS_OK)
        rc = buf_addf(&sql, " FROM \"%s\" WHERE deleted = 0", t->name);
    for (size_t i = 0; i < l->n_conds && rc == GS_OK; i++) {
        const list_cond *c = &l->conds[i];
        const char *name = t->fields[c->field].name;
        if (c->value.type == PV_NIL) {
            rc = buf_addf(&sql, " AND \"%s\" IS NULL", name);
        } else if (c->value.type == PV_STRLIST) {
            for (uint32_t k = 0; k < c->value.u.list.n && rc == GS_OK; k++)
                rc = buf_addf(&sql,
                              " AND instr(',' || substr(\"%s\".\"%s\", 2,"
                              " length(\"%s\".\"%s\") - 2) || ',', ?%d) > 0",
                              t->name, name, t->name, name, param++);
        } else {
            rc = buf_addf(&sql, " AND \"%s\" = ?%d", name, param++);
        }
    }
    if (rc == GS_OK && l->sql_where)
        rc = buf_addf(&sql, " AND (%s)", l->sql_where);
    if (rc == GS_OK)
        /* ids are UUIDv7, time-ordered: the primary key gives newest first without an
           index on created that every insert would pay for */
        rc = buf_addf(&sql, " ORDER BY %s LIMIT ?%d", l->sql_order ? l->sql_order : "id DESC",
                      param);
    if (rc) {
        buf_free(&sql);
        return gs_err_set(&db->err, rc, "out of memory");
    }
    src = sqlite3_prepare_v2(db->sql, sql.ptr, -1, &l->st, NULL);
    buf_free(&sql);
    if (src != SQLITE_OK)
        return db_fail(db, src, "listing records");
    param = 1;
    for (size_t i = 0; i < l->n_conds; i++) {
        const list_cond *c = &l->conds[i];
        if (c->value.type == PV_NIL)
            continue;
        if (c->value.type == PV_STRLIST) {
            for (uint32_t k = 0; k < c->value.u.list.n; k++) {
                rc = bind_tag(l->st, param++, &c->value.u.list.items[k]);
                if (rc)
                    return gs_err_set(&db->err, rc, "out of memory");
            }
            continue;
        }
        pval_bind(l->st, param++, &t->fields[c->field], &c->value);
    }
    sqlite3_bind_int64(l->st, param, l->limit);
    return GS_OK;
}

int gs_list_next(gs_list *l, gs_record **out)
{
    gs_db *db = l->db;
    int src, rc;

    gs_err_clear(&db->err);
    if (l->done) {
        *out = NULL;
        return GS_OK;
    }
    if (!l->st) {
        rc = start(l);
        if (rc)
            return rc;
    }
    src = sqlite3_step(l->st);
    if (src == SQLITE_DONE) {
        l->done = 1;
        *out = NULL;
        return GS_OK;
    }
    if (src != SQLITE_ROW)
        return db_fail(db, src, "listing records");
    return record_from_row(db, l->t, l->st, out);
}

void gs_list_free(gs_list *l)
{
    if (!l)
        return;
    sqlite3_finalize(l->st);
    for (size_t i = 0; i < l->n_conds; i++)
        pval_free(&l->conds[i].value);
    gs_free(l->sql_where);
    gs_free(l->sql_order);
    gs_free(l);
}
