/*
 * admin_records.c: see admin_records.h. The page's ids come from the records' id index
 * (store_rec_page); each record is then read whole (store_rec_get) and written with the
 * one JSON form of values (proto/value_json.h): every declared field in the schema's
 * order, null when not set, so a reader can rely on the columns; and, for each reference,
 * the title of the record it names (a visit's resident's name), so that an export reads
 * like the register without fetching every resident.
 */
#include "admin_records.h"

#include "common/hlc.h"
#include "jout.h"
#include "proto/value_json.h"

#include <string.h>

typedef struct rpage {
    store *st;             /* read under the caller's lock */
    const schema_table *t; /* the records' type */
    gs_arena *a;           /* the records read */
    gs_err *err;           /* what failed */
    json_t *list;          /* the records */
    uint8_t last[16];      /* the last one read */
    uint32_t n_read;       /* records the page read */
    const admin_records_query *q; /* the grid filters */
    int bad;               /* a JSON allocation failed */
} rpage;

/* The title of the record a reference names (a resident's name), or null. */
static json_t *ref_title(rpage *p, const schema_field *f, const proto_value *v)
{
    const schema_table *rt = schema_table_find(f->ref_table, strlen(f->ref_table));
    const schema_field *tf = rt ? schema_title_field(rt) : NULL;
    const proto_value *title;
    store_rec ref;
    gs_err ignored;

    if (!tf || v->type != PV_BIN || v->u.s.len != 16 ||
        store_rec_get(p->st, rt->name, (const uint8_t *)v->u.s.ptr, p->a, &ref, &ignored))
        return json_null();
    title = store_rec_value(&ref, tf->name);
    return title && title->type == PV_STR
               ? json_stringn(title->u.s.ptr ? title->u.s.ptr : "", title->u.s.len)
               : json_null();
}

static json_t *record_json(rpage *p, const uint8_t id[16], const store_rec *r)
{
    json_t *o = json_object(), *fields = json_object(), *titles = json_object();
    int64_t created = (int64_t)hlc_physical(r->meta.created_hlc);
    int64_t updated = (int64_t)hlc_physical(r->meta.updated_hlc);

    for (size_t i = 0; i < p->t->n_fields; i++) {
        const schema_field *f = &p->t->fields[i];
        const proto_value *v = store_rec_value(r, f->name);
        jout_set(&p->bad, fields, f->name, v ? proto_value_to_json(f, v) : json_null());
        if (f->type == ST_REF && v)
            jout_set(&p->bad, titles, f->name, ref_title(p, f, v));
    }
    jout_set(&p->bad, o, "id", jout_uuid(id));
    jout_set(&p->bad, o, "grid", jout_str(r->meta.grid));
    jout_set(&p->bad, o, "version", json_integer((json_int_t)r->meta.version));
    jout_set(&p->bad, o, "created_ms", json_integer(created));
    jout_set(&p->bad, o, "created", jout_iso(created));
    jout_set(&p->bad, o, "updated_ms", json_integer(updated));
    jout_set(&p->bad, o, "updated", jout_iso(updated));
    jout_set(&p->bad, o, "fields", fields);
    jout_set(&p->bad, o, "ref_titles", titles);
    return o;
}

static int page_cb(void *ud, const uint8_t id[16])
{
    rpage *p = ud;
    store_rec r;
    int rc = store_rec_get(p->st, p->t->name, id, p->a, &r, p->err);

    if (rc)
        return rc;
    memcpy(p->last, id, 16);
    p->n_read++;
    if ((p->q->grid && strcmp(p->q->grid, r.meta.grid) != 0) ||
        (p->q->grid_ok && !p->q->grid_ok(p->q->grid_ud, r.meta.grid)))
        return GS_OK;
    jout_append(&p->bad, p->list, record_json(p, id, &r));
    return GS_OK;
}

int admin_records_page(store *st, const admin_records_query *q, gs_arena *a, json_t **out,
                       gs_err *err)
{
    rpage p = {st, q->t, a, err, json_array(), {0}, 0, q, 0};
    json_t *o;
    int rc = GS_OK;

    if (!p.list)
        return gs_err_set(err, GS_E_NOMEM, "records: out of memory");
    if (q->after) { /* a cursor that names no record is a client's mistake: say so */
        store_record rec;
        rc = store_record_get(st, q->t->name, q->after, &rec, err);
    }
    if (!rc)
        rc = store_rec_page(st, q->t->name, q->from_ms, q->to_ms, q->after, q->limit, page_cb, &p,
                            err);
    if (rc) {
        json_decref(p.list);
        return rc;
    }
    o = json_object();
    jout_set(&p.bad, o, "type", jout_str(q->t->name));
    jout_set(&p.bad, o, "from_ms", json_integer(q->from_ms));
    jout_set(&p.bad, o, "to_ms", json_integer(q->to_ms));
    jout_set(&p.bad, o, "records", p.list);
    jout_set(&p.bad, o, "next_after",
             p.n_read == q->limit ? jout_uuid(p.last) : json_null());
    if (p.bad) {
        json_decref(o);
        return gs_err_set(err, GS_E_NOMEM, "records: out of memory building the answer");
    }
    *out = o;
    return GS_OK;
}
