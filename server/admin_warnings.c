/*
 * admin_warnings.c: see admin_warnings.h.
 *
 * A list is made in two parts, each read by index: the not-cleared warnings (the rules'
 * open watch rows, a few per subject in trouble) are read whole, sorted and cut at the
 * cursor; the cleared ones are paged from the newest id down, the cursor being an id.
 * A page's cursor is the last warning it shows (next_after); a warning that changes state
 * between two pages may be shown twice or not at all, as with any list that moves.
 */
#include "admin_warnings.h"

#include "common/alloc.h"
#include "common/hlc.h"
#include "common/uuid.h"
#include "jout.h"
#include "rules.h"
#include "merge.h"
#include "proto/value_json.h"

#include <stdlib.h>
#include <string.h>

#define WARNING_TABLE "warning"

/* Where a warning goes in a list. */
typedef struct wkey {
    uint8_t id[16]; /* the warning */
    int state;      /* index in warning.state: open, acknowledged, cleared */
    int level;      /* index in warning.level: notice, attention, urgent */
    int64_t since;  /* when its condition began */
} wkey;

static const schema_table *wtable(void)
{
    return schema_table_find(WARNING_TABLE, strlen(WARNING_TABLE));
}

static const schema_field *wfield(const char *name)
{
    const schema_table *t = wtable();
    return t ? schema_field_find(t, name, strlen(name)) : NULL;
}

/* The index of the enum value r holds in field, or -1. */
static int enum_index(const store_rec *r, const char *field)
{
    const schema_field *f = wfield(field);
    const proto_value *v = store_rec_value(r, field);
    const schema_enum *e =
        f && v && v->type == PV_STR ? schema_enum_find(f, v->u.s.ptr, v->u.s.len) : NULL;
    return e ? (int)(e - f->enums) : -1;
}

/* The index of the final state (cleared): the one flagged SEF_TERMINAL. */
static int cleared_state(void)
{
    const schema_field *f = wfield("state");
    for (size_t i = 0; f && i < f->n_enums; i++)
        if (f->enums[i].flags & SEF_TERMINAL)
            return (int)i;
    return -1;
}

unsigned admin_warnings_state_bit(const char *name, size_t len)
{
    const schema_field *f = wfield("state");
    const schema_enum *e = f ? schema_enum_find(f, name, len) : NULL;
    return e ? 1u << (e - f->enums) : 0;
}

static void key_of(const uint8_t id[16], const store_rec *r, wkey *k)
{
    const proto_value *since = store_rec_value(r, "since");

    memcpy(k->id, id, 16);
    k->state = enum_index(r, "state");
    k->level = enum_index(r, "level");
    k->since = since && since->type == PV_INT ? since->u.i : 0;
}

/* Open before acknowledged, urgent first, oldest first, then by id. */
static int key_cmp(const void *pa, const void *pb)
{
    const wkey *a = pa, *b = pb;

    if (a->state != b->state)
        return a->state < b->state ? -1 : 1;
    if (a->level != b->level)
        return a->level > b->level ? -1 : 1;
    if (a->since != b->since)
        return a->since < b->since ? -1 : 1;
    return memcmp(a->id, b->id, 16);
}

/* ---- one warning as JSON ---------------------------------------------------------------- */

static json_t *text_or_null(const store_rec *r, const char *field)
{
    const proto_value *v = store_rec_value(r, field);
    return v && v->type == PV_STR ? json_stringn(v->u.s.ptr ? v->u.s.ptr : "", v->u.s.len)
                                  : json_null();
}

/* The time of resident id's last visit, or null when none is known: the rules keep it in
 * the resident's unvisited_vulnerable row (rules.h, RULES_INFO_VISITED). */
static json_t *last_visit(store *st, const uint8_t id[16], const store_rec *r)
{
    char text[UUID_TEXT_LEN + 1];
    store_watch w;
    gs_err err;

    uuid_format(id, text);
    if (store_watch_get(st, "unvisited_vulnerable", text, &w, &err) != GS_OK ||
        (!((unsigned)w.info & RULES_INFO_VISITED) &&
         w.since <= (int64_t)hlc_physical(r->meta.created_hlc)))
        return json_null();
    return jout_iso(w.since);
}

/* {"id","name","phone","address","last_visit"} of resident id, or null when it is not
 * there. */
static json_t *resident_json(store *st, const uint8_t id[16], gs_arena *a, int *bad)
{
    store_rec r;
    gs_err err;
    json_t *o;

    if (store_rec_get(st, "resident", id, a, &r, &err) != GS_OK)
        return json_null();
    o = json_object();
    jout_set(bad, o, "id", jout_uuid(id));
    jout_set(bad, o, "name", text_or_null(&r, "name"));
    jout_set(bad, o, "phone", text_or_null(&r, "phone"));
    jout_set(bad, o, "address", text_or_null(&r, "address"));
    jout_set(bad, o, "last_visit", last_visit(st, id, &r));
    return o;
}

/* The resident a warning is about: its subject, or the resident of its subject (a care
 * request, a visit). */
static json_t *subject_resident(store *st, const store_rec *w, gs_arena *a, int *bad)
{
    const proto_value *type = store_rec_value(w, "subject_type");
    const proto_value *subj = store_rec_value(w, "subject");
    const proto_value *ref;
    uint8_t id[16];
    store_rec r;
    gs_err err;

    if (!type || type->type != PV_STR || !subj || subj->type != PV_STR ||
        uuid_parse(subj->u.s.ptr, subj->u.s.len, id) != GS_OK)
        return json_null();
    if (proto_str_eq(type->u.s, "resident"))
        return resident_json(st, id, a, bad);
    if (!(proto_str_eq(type->u.s, "care") || proto_str_eq(type->u.s, "visit")))
        return json_null();
    if (store_rec_get(st, proto_str_eq(type->u.s, "care") ? "care" : "visit", id, a, &r, &err))
        return json_null();
    ref = store_rec_value(&r, "resident");
    if (!ref || ref->type != PV_BIN || ref->u.s.len != 16)
        return json_null();
    return resident_json(st, (const uint8_t *)ref->u.s.ptr, a, bad);
}

/* {"id","name"} of the device a device_silent warning is about, else null. */
static json_t *subject_device(store *st, const store_rec *w, int *bad)
{
    const proto_value *type = store_rec_value(w, "subject_type");
    const proto_value *subj = store_rec_value(w, "subject");
    store_device *d;
    json_t *o = NULL;
    gs_err err;

    if (!type || type->type != PV_STR || !proto_str_eq(type->u.s, "device") || !subj ||
        subj->type != PV_STR)
        return json_null();
    d = gs_malloc(sizeof(*d));
    if (d && store_device_get(st, subj->u.s.ptr, subj->u.s.len, d, &err) == GS_OK) {
        o = json_object();
        jout_set(bad, o, "id", jout_str(d->id));
        jout_set(bad, o, "name", jout_str(d->name));
    }
    gs_free(d);
    return o ? o : json_null();
}

static json_t *enum_labels(const store_rec *r, const char *field)
{
    const schema_field *f = wfield(field);
    int i = enum_index(r, field);
    return i >= 0 ? jout_labels(f->enums[i].label_zh, f->enums[i].label_en) : json_null();
}

/* The warning as a list shows it: every field in the schema's order (null when not set),
 * the labels of its enums, its subject in context. */
static json_t *warning_json(store *st, const uint8_t id[16], const store_rec *r, gs_arena *a,
                            int *bad)
{
    const schema_table *t = wtable();
    json_t *o = json_object(), *labels = json_object();

    jout_set(bad, o, "id", jout_uuid(id));
    jout_set(bad, o, "version", json_integer((json_int_t)r->meta.version));
    for (size_t i = 0; t && i < t->n_fields; i++) {
        const schema_field *f = &t->fields[i];
        const proto_value *v = store_rec_value(r, f->name);
        jout_set(bad, o, f->name, v ? proto_value_to_json(f, v) : json_null());
        if (f->type == ST_ENUM)
            jout_set(bad, labels, f->name, enum_labels(r, f->name));
    }
    jout_set(bad, o, "labels", labels);
    jout_set(bad, o, "resident", subject_resident(st, r, a, bad));
    jout_set(bad, o, "device", subject_device(st, r, bad));
    return o;
}

/* ---- the list ------------------------------------------------------------------------- */

/* What one list works with. */
typedef struct wlist {
    store *st;                     /* read under the caller's lock */
    const admin_warnings_query *q; /* what is asked */
    gs_arena *a;                   /* the records read */
    gs_err *err;                   /* what failed */
    wkey *keys;                    /* the not-cleared warnings */
    size_t n_keys, cap_keys;
    json_t *out;       /* the warnings shown */
    uint8_t last[16];  /* the last one shown */
    uint8_t below[16]; /* the cleared part goes on below this id */
    int has_below;     /* below holds an id */
    uint32_t n_page;   /* ids the last page of cleared ones read */
    int bad;           /* a JSON allocation failed */
} wlist;

static int live_cb(void *ud, const uint8_t id[16])
{
    wlist *w = ud;

    if (w->n_keys == w->cap_keys) {
        size_t cap = w->cap_keys ? w->cap_keys * 2 : 256;
        wkey *k = arena_alloc_array(w->a, cap, sizeof(*k));
        if (!k)
            return gs_err_set(w->err, GS_E_NOMEM, "warnings: out of memory");
        if (w->n_keys)
            memcpy(k, w->keys, w->n_keys * sizeof(*k));
        w->keys = k;
        w->cap_keys = cap;
    }
    memcpy(w->keys[w->n_keys++].id, id, 16);
    return GS_OK;
}

/* Appends warning id (r as read) to the answer. */
static void show(wlist *w, const uint8_t id[16], const store_rec *r)
{
    jout_append(&w->bad, w->out, warning_json(w->st, id, r, w->a, &w->bad));
    memcpy(w->last, id, 16);
}

/* The not-cleared warnings of the query's states, sorted, from after the cursor. */
static int live_part(wlist *w, const wkey *cursor)
{
    size_t kept = 0;
    int cleared = cleared_state(), rc;

    rc = store_warning_live(w->st, w->q->grid, live_cb, w, w->err);
    for (size_t i = 0; !rc && i < w->n_keys; i++) {
        store_rec r;
        wkey k;
        rc = store_rec_get(w->st, WARNING_TABLE, w->keys[i].id, w->a, &r, w->err);
        if (rc == GS_E_NOTFOUND) { /* a watch row naming a warning not there: not listed */
            rc = GS_OK;
            continue;
        }
        if (rc)
            break;
        key_of(w->keys[i].id, &r, &k);
        if (r.meta.deleted || k.state < 0 || k.state == cleared ||
            !(w->q->states & (1u << k.state)) ||
            (w->q->grid_ok && !w->q->grid_ok(w->q->grid_ud, r.meta.grid)))
            continue;
        if (cursor && key_cmp(&k, cursor) <= 0)
            continue;
        w->keys[kept++] = k;
    }
    if (rc)
        return rc;
    if (kept)
        qsort(w->keys, kept, sizeof(*w->keys), key_cmp);
    for (size_t i = 0; i < kept && json_array_size(w->out) < w->q->limit && !rc; i++) {
        store_rec r;
        rc = store_rec_get(w->st, WARNING_TABLE, w->keys[i].id, w->a, &r, w->err);
        if (!rc)
            show(w, w->keys[i].id, &r);
    }
    return rc;
}

static int cleared_cb(void *ud, const uint8_t id[16])
{
    wlist *w = ud;
    store_rec r;
    int rc;

    w->n_page++;
    memcpy(w->below, id, 16);
    w->has_below = 1;
    if (json_array_size(w->out) >= w->q->limit)
        return GS_OK;
    rc = store_rec_get(w->st, WARNING_TABLE, id, w->a, &r, w->err);
    if (rc)
        return rc;
    if (enum_index(&r, "state") == cleared_state() &&
        !(w->q->grid_ok && !w->q->grid_ok(w->q->grid_ud, r.meta.grid)))
        show(w, id, &r);
    return GS_OK;
}

/* The cleared warnings, newest first, below w->below when has_below. */
static int cleared_part(wlist *w)
{
    int rc = GS_OK;

    while (!rc && json_array_size(w->out) < w->q->limit) {
        uint32_t want = w->q->limit - (uint32_t)json_array_size(w->out);
        w->n_page = 0;
        rc = store_warning_page(w->st, w->q->grid, w->has_below ? w->below : NULL, want, cleared_cb,
                                w, w->err);
        if (!rc && w->n_page < want)
            break; /* no more */
    }
    return rc;
}

int admin_warnings_list(store *st, const admin_warnings_query *q, gs_arena *a, json_t **out,
                        gs_err *err)
{
    wlist w;
    wkey cursor;
    int rc = GS_OK, cleared = cleared_state(), in_cleared = 0;
    json_t *o;

    memset(&w, 0, sizeof(w));
    w.st = st;
    w.q = q;
    w.a = a;
    w.err = err;
    if (q->after) {
        store_rec r;
        rc = store_rec_get(st, WARNING_TABLE, q->after, a, &r, err);
        if (rc)
            return rc;
        key_of(q->after, &r, &cursor);
        in_cleared = cursor.state == cleared;
        memcpy(w.below, q->after, 16);
        w.has_below = in_cleared;
    }
    w.out = json_array();
    if (!w.out)
        return gs_err_set(err, GS_E_NOMEM, "warnings: out of memory");
    if (!in_cleared && (q->states & ~(1u << cleared)))
        rc = live_part(&w, q->after ? &cursor : NULL);
    if (!rc && cleared >= 0 && (q->states & (1u << cleared)))
        rc = cleared_part(&w);
    o = json_object();
    jout_set(&w.bad, o, "warnings", w.out);
    jout_set(&w.bad, o, "next_after",
             json_array_size(w.out) == q->limit ? jout_uuid(w.last) : json_null());
    if (!rc && w.bad)
        rc = gs_err_set(err, GS_E_NOMEM, "warnings: out of memory building the answer");
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return GS_OK;
}

/* ---- acknowledging ----------------------------------------------------------------------- */

/* The admin's writes, inside the open transaction. */
static int ack_write(store *st, hlc *clock, const uint8_t id[16], const char *note,
                     const char *admin, int64_t now_ms, gs_arena *a, gs_err *err)
{
    const proto_value state = {.type = PV_STR, .u.s = proto_cstr("acknowledged")};
    const proto_value by = {.type = PV_STR, .u.s = proto_cstr(admin)};
    const proto_value at = {.type = PV_INT, .u.i = now_ms};
    proto_value text = {.type = PV_STR};
    uint64_t version;
    merge_ctx m;
    int rc;

    merge_init(&m, st, clock, a, now_ms);
    rc = merge_admin_set(&m, WARNING_TABLE, id, "state", &state, &version, err);
    if (!rc && note) {
        text.u.s = proto_cstr(note);
        rc = merge_admin_set(&m, WARNING_TABLE, id, "note", &text, &version, err);
    }
    if (!rc)
        rc = merge_admin_set(&m, WARNING_TABLE, id, "ack_by", &by, &version, err);
    if (!rc)
        rc = merge_admin_set(&m, WARNING_TABLE, id, "ack_at", &at, &version, err);
    if (!rc)
        rc = store_hlc_set(st, clock->last, err);
    return rc;
}

int admin_warnings_ack(store *st, hlc *clock, const uint8_t id[16], const char *note,
                       const char *admin, int64_t now_ms, gs_arena *a, json_t **out, gs_err *err)
{
    char text[UUID_TEXT_LEN + 1];
    int bad = 0, rc;
    store_rec r;
    json_t *o;

    uuid_format(id, text);
    rc = store_begin(st, err);
    if (rc)
        return rc;
    rc = store_rec_get(st, WARNING_TABLE, id, a, &r, err);
    if (!rc && r.meta.deleted)
        rc = GS_E_NOTFOUND;
    if (rc == GS_E_NOTFOUND)
        gs_err_set(err, rc, "no warning %s", text);
    if (!rc && enum_index(&r, "state") == cleared_state())
        rc = gs_err_set(err, GS_E_STATE,
                        "warning %s is cleared: its condition has ended, there is nothing to "
                        "acknowledge",
                        text);
    if (!rc)
        rc = ack_write(st, clock, id, note, admin, now_ms, a, err);
    if (!rc)
        rc = store_commit(st, err);
    if (rc) {
        store_rollback(st);
        return rc;
    }
    rc = store_rec_get(st, WARNING_TABLE, id, a, &r, err);
    if (rc)
        return rc;
    o = warning_json(st, id, &r, a, &bad);
    if (!o || bad) {
        json_decref(o);
        return gs_err_set(err, GS_E_NOMEM, "warnings: out of memory building the answer");
    }
    *out = o;
    return GS_OK;
}
