/*
 * cjson.c: see cjson.h. jansson allocates with its own malloc (so allocation-failure tests
 * do not reach it); every jansson call's NULL result is still checked.
 */
#include "cjson.h"

#include "common/alloc.h"
#include "common/hlc.h"
#include "common/isotime.h"
#include "pval.h"

#include <stdlib.h>
#include <string.h>

static json_t *time_json(int64_t ms)
{
    char buf[ISOTIME_MAX];
    if (isotime_format(ms, buf) != GS_OK)
        return json_integer(ms);
    return json_string(buf);
}

static json_t *value_json(const schema_field *f, const proto_value *v)
{
    char id[UUID_TEXT_LEN + 1];
    json_t *arr;

    switch (v->type) {
    case PV_NIL:
        return json_null();
    case PV_BOOL:
        return json_boolean(v->u.b);
    case PV_INT:
        if (f->type == ST_TIME)
            return time_json(v->u.i);
        if (f->type == ST_REAL)
            return json_real((double)v->u.i);
        return json_integer(v->u.i);
    case PV_REAL:
        return json_real(v->u.r);
    case PV_STR:
        return json_stringn(v->u.s.ptr, v->u.s.len);
    case PV_BIN:
        if (v->u.s.len != UUID_LEN)
            return NULL;
        uuid_format((const uint8_t *)v->u.s.ptr, id);
        return json_string(id);
    case PV_STRLIST:
        arr = json_array();
        for (uint32_t i = 0; arr && i < v->u.list.n; i++) {
            json_t *s = json_stringn(v->u.list.items[i].ptr, v->u.list.items[i].len);
            if (!s || json_array_append_new(arr, s)) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    return NULL;
}

/* json_object_set_new that reports failure (it steals value either way). */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return GS_E_NOMEM;
    return json_object_set_new(obj, key, value) ? GS_E_NOMEM : GS_OK;
}

int cjson_from_record(const gs_record *rec, json_t **out, gs_err *err)
{
    json_t *obj = json_object();
    int rc;

    if (!obj)
        return gs_err_set(err, GS_E_NOMEM, "out of memory");
    rc = put(obj, "type", json_string(rec->t->name));
    if (rc == GS_OK && rec->has_id)
        rc = put(obj, "id", json_string(rec->id_text));
    for (size_t i = 0; i < rec->t->n_fields && rc == GS_OK; i++) {
        const record_slot *s = &rec->slots[i];
        if (s->v.type == PV_NIL)
            continue;
        rc = put(obj, rec->t->fields[i].name, value_json(&rec->t->fields[i], &s->v));
    }
    if (rc == GS_OK && rec->created)
        rc = put(obj, "created", time_json((int64_t)hlc_physical(rec->created)));
    if (rc == GS_OK && rec->updated)
        rc = put(obj, "updated", time_json((int64_t)hlc_physical(rec->updated)));
    if (rc == GS_OK && rec->deleted)
        rc = put(obj, "deleted", json_true());
    if (rc) {
        json_decref(obj);
        return gs_err_set(err, rc, "out of memory");
    }
    *out = obj;
    return GS_OK;
}

int gs_record_to_json(const gs_record *rec, char **out)
{
    json_t *obj;
    char *text, *copy;
    int rc;

    if (!rec || !out)
        return GS_E_INVALID;
    gs_err_clear(&rec->db->err);
    rc = cjson_from_record(rec, &obj, &rec->db->err);
    if (rc)
        return rc;
    text = json_dumps(obj, CJSON_DUMP_FLAGS);
    json_decref(obj);
    if (!text)
        return gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
    /* handed over as gs_malloc memory so the caller frees everything with gs_free */
    copy = gs_strdup(text);
    free(text);
    if (!copy)
        return gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
    *out = copy;
    return GS_OK;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "a whole number";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "true/false";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Sets field i of rec from JSON value j. */
static int set_from_json(gs_db *db, gs_record *rec, size_t i, json_t *j)
{
    const schema_table *t = rec->t;
    const schema_field *f = &t->fields[i];
    proto_value v;
    proto_str *items = NULL;
    uint8_t id[UUID_LEN];
    const char *want = NULL;
    int rc;

    memset(&v, 0, sizeof(v));
    v.type = PV_NIL;
    if (json_is_null(j))
        return record_put(rec, i, &v, 1);
    switch (f->type) {
    case ST_TEXT:
    case ST_ENUM:
        if (!json_is_string(j)) {
            want = "a string";
            break;
        }
        v.type = PV_STR;
        v.u.s.ptr = json_string_value(j);
        v.u.s.len = (uint32_t)json_string_length(j);
        break;
    case ST_INT:
        if (!json_is_integer(j)) {
            want = "a whole number";
            break;
        }
        v.type = PV_INT;
        v.u.i = json_integer_value(j);
        break;
    case ST_BOOL:
        if (!json_is_boolean(j)) {
            want = "true or false";
            break;
        }
        v.type = PV_BOOL;
        v.u.b = json_is_true(j);
        break;
    case ST_REAL:
        if (!json_is_number(j)) {
            want = "a number";
            break;
        }
        v.type = PV_REAL;
        v.u.r = json_number_value(j);
        break;
    case ST_TIME:
        v.type = PV_INT;
        if (json_is_integer(j)) {
            v.u.i = json_integer_value(j);
        } else if (!json_is_string(j)) {
            want = "an ISO 8601 time string or ms since 1970";
        } else if (isotime_parse(json_string_value(j), json_string_length(j), &v.u.i)) {
            return gs_err_set(&db->err, GS_E_INVALID,
                              "%s.%s: '%.40s' is not a time; write 2026-11-27T09:30:00+08:00, "
                              "2026-11-27T01:30:00Z or 2026-11-27",
                              t->name, f->name, json_string_value(j));
        }
        break;
    case ST_REF:
        if (!json_is_string(j)) {
            want = "a record id string";
            break;
        }
        if (uuid_parse(json_string_value(j), json_string_length(j), id))
            return gs_err_set(&db->err, GS_E_INVALID, "%s.%s: '%.40s' is not a record id",
                              t->name, f->name, json_string_value(j));
        v.type = PV_BIN;
        v.u.s.ptr = (const char *)id;
        v.u.s.len = UUID_LEN;
        break;
    case ST_TAGS:
        if (!json_is_array(j)) {
            want = "a list of tag names";
            break;
        }
        items = gs_calloc(json_array_size(j) + 1, sizeof(proto_str));
        if (!items)
            return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
        v.type = PV_STRLIST;
        v.u.list.items = items;
        for (size_t k = 0; k < json_array_size(j); k++) {
            json_t *s = json_array_get(j, k);
            if (!json_is_string(s)) {
                gs_free(items);
                return gs_err_set(&db->err, GS_E_INVALID, "%s.%s: item %zu must be a string",
                                  t->name, f->name, k + 1);
            }
            items[k].ptr = json_string_value(s);
            items[k].len = (uint32_t)json_string_length(s);
            v.u.list.n++;
        }
        break;
    }
    if (want)
        return gs_err_set(&db->err, GS_E_INVALID, "%s.%s: must be %s, not %s", t->name,
                          f->name, want, json_kind(j));
    rc = record_put(rec, i, &v, 1);
    gs_free(items);
    return rc;
}

int cjson_to_record(gs_db *db, json_t *obj, gs_record **out)
{
    json_t *type, *id, *value;
    const schema_table *t;
    gs_record *rec = NULL;
    const char *key;
    int rc;

    if (!json_is_object(obj))
        return gs_err_set(&db->err, GS_E_INVALID, "a line must be one JSON object, not %s",
                          json_kind(obj));
    type = json_object_get(obj, "type");
    if (!json_is_string(type))
        return gs_err_set(&db->err, GS_E_INVALID,
                          "type: missing (give \"type\": \"resident\", \"visit\" or ...)");
    t = schema_table_find(json_string_value(type), json_string_length(type));
    if (!t)
        return gs_err_set(&db->err, GS_E_INVALID, "type: unknown record type '%.64s'",
                          json_string_value(type));
    rc = record_new(db, t, &rec);
    if (rc)
        return rc;
    id = json_object_get(obj, "id");
    if (id && !json_is_null(id)) {
        uint8_t raw[UUID_LEN];
        if (!json_is_string(id) || uuid_parse(json_string_value(id), json_string_length(id), raw)) {
            rc = gs_err_set(&db->err, GS_E_INVALID, "%s.id: not a record id", t->name);
            goto out;
        }
        record_set_id(rec, raw);
    }
    json_object_foreach(obj, key, value) {
        int i;
        if (strcmp(key, "type") == 0 || strcmp(key, "id") == 0 || strcmp(key, "created") == 0 ||
            strcmp(key, "updated") == 0)
            continue;
        if (strcmp(key, SCHEMA_DELETED_FIELD) == 0 && json_is_false(value))
            continue;
        if (strcmp(key, SCHEMA_DELETED_FIELD) == 0) {
            rc = gs_err_set(&db->err, GS_E_INVALID, "%s.deleted: deleted records cannot be "
                            "imported", t->name);
            goto out;
        }
        i = record_field_index(t, key, strlen(key));
        if (i < 0) {
            rc = gs_err_set(&db->err, GS_E_INVALID, "%s: unknown field '%.64s'", t->name, key);
            goto out;
        }
        rc = set_from_json(db, rec, (size_t)i, value);
        if (rc)
            goto out;
    }
out:
    if (rc) {
        gs_record_free(rec);
        return rc;
    }
    *out = rec;
    return GS_OK;
}
