/*
 * value_json.c: see value_json.h. jansson allocates with its own malloc (so allocation
 * failure tests do not reach it); every jansson call's NULL result is still checked.
 */
#include "value_json.h"

#include "common/isotime.h"
#include "common/uuid.h"
#include "value_text.h"

#include <string.h>

static json_t *str_json(proto_str s)
{
    return json_stringn(s.len ? s.ptr : "", s.len);
}

json_t *proto_time_to_json(int64_t ms)
{
    char text[ISOTIME_MAX];

    if (isotime_format(ms, text) != GS_OK)
        return json_integer(ms);
    return json_string(text);
}

json_t *proto_value_to_json(const schema_field *f, const proto_value *v)
{
    char id[UUID_TEXT_LEN + 1];
    json_t *arr;

    switch (v->type) {
    case PV_NIL:
        return json_null();
    case PV_BOOL:
        return json_boolean(v->u.b);
    case PV_INT:
        if (f && f->type == ST_TIME)
            return proto_time_to_json(v->u.i);
        if (f && f->type == ST_REAL)
            return json_real((double)v->u.i);
        return json_integer(v->u.i);
    case PV_REAL:
        return json_real(v->u.r); /* NULL for NaN and infinities */
    case PV_STR:
        return str_json(v->u.s);
    case PV_BIN:
        if (v->u.s.len != UUID_LEN || !v->u.s.ptr)
            return NULL;
        uuid_format((const uint8_t *)v->u.s.ptr, id);
        return json_string(id);
    case PV_STRLIST:
        arr = json_array();
        for (uint32_t i = 0; arr && i < v->u.list.n; i++) {
            json_t *s = str_json(v->u.list.items[i]);
            if (!s || json_array_append_new(arr, s)) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    return NULL;
}

const char *proto_json_kind(const json_t *j)
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

/* The JSON type each schema type takes, for messages. */
static const char *wanted(schema_type type)
{
    switch (type) {
    case ST_TEXT:
    case ST_ENUM: return "a string";
    case ST_INT: return "a whole number";
    case ST_BOOL: return "true or false";
    case ST_REAL: return "a number";
    case ST_TIME: return "an ISO 8601 time string or ms since 1970";
    case ST_REF: return "a record id string";
    case ST_TAGS: return "a list of tag names";
    }
    return "?";
}

static int oom(gs_err *err)
{
    return gs_err_set(err, GS_E_NOMEM, "out of memory");
}

/* A copy of the JSON string j in a, of at most max bytes. */
static int get_text(const schema_table *t, const schema_field *f, const json_t *j,
                    uint32_t max, const char *what, gs_arena *a, proto_str *out, gs_err *err)
{
    size_t n = json_string_length(j);
    char *p;

    if (n > max)
        return gs_err_set(err, GS_E_TOO_LARGE, "%s.%s: %s%zu bytes, at most %u allowed",
                          t->name, f->name, what, n, max);
    p = arena_strndup(a, json_string_value(j), n);
    if (!p)
        return oom(err);
    out->ptr = p;
    out->len = (uint32_t)n;
    return GS_OK;
}

static int get_tags(const schema_table *t, const schema_field *f, const json_t *j, gs_arena *a,
                    proto_value *v, gs_err *err)
{
    size_t n = json_array_size(j);
    proto_str *items;

    if (n > PROTO_MAX_TAGS)
        return gs_err_set(err, GS_E_TOO_LARGE, "%s.%s: %zu tags, at most %u allowed", t->name,
                          f->name, n, PROTO_MAX_TAGS);
    items = arena_alloc_array(a, n, sizeof(*items));
    if (!items)
        return oom(err);
    for (size_t k = 0; k < n; k++) {
        const json_t *s = json_array_get(j, k);
        int rc;
        if (!json_is_string(s))
            return gs_err_set(err, GS_E_INVALID, "%s.%s: item %zu must be a string, not %s",
                              t->name, f->name, k + 1, proto_json_kind(s));
        rc = get_text(t, f, s, PROTO_MAX_NAME, "a tag of ", a, &items[k], err);
        if (rc)
            return rc;
    }
    v->type = PV_STRLIST;
    v->u.list.items = items;
    v->u.list.n = (uint32_t)n;
    return GS_OK;
}

int proto_value_from_json(const schema_table *t, const schema_field *f, const json_t *j,
                          gs_arena *a, proto_value *out, gs_err *err)
{
    proto_value v;
    int rc = GS_OK;

    memset(&v, 0, sizeof(v));
    v.type = PV_NIL;
    if (json_is_null(j)) {
        *out = v;
        return GS_OK;
    }
    switch (f->type) {
    case ST_TEXT:
    case ST_ENUM:
        if (!json_is_string(j))
            goto wrong;
        v.type = PV_STR;
        rc = get_text(t, f, j, PROTO_MAX_STR, "", a, &v.u.s, err);
        break;
    case ST_INT:
        if (!json_is_integer(j))
            goto wrong;
        v.type = PV_INT;
        v.u.i = json_integer_value(j);
        break;
    case ST_BOOL:
        if (!json_is_boolean(j))
            goto wrong;
        v.type = PV_BOOL;
        v.u.b = json_is_true(j);
        break;
    case ST_REAL:
        if (!json_is_number(j))
            goto wrong;
        v.type = PV_REAL;
        v.u.r = json_number_value(j);
        break;
    case ST_TIME:
        v.type = PV_INT;
        if (json_is_integer(j))
            v.u.i = json_integer_value(j);
        else if (json_is_string(j))
            rc = proto_time_from_text(t, f, json_string_value(j), json_string_length(j),
                                      &v.u.i, err);
        else
            goto wrong;
        break;
    case ST_REF:
        if (!json_is_string(j))
            goto wrong;
        rc = proto_id_from_text(t, f, json_string_value(j), json_string_length(j), a, &v, err);
        break;
    case ST_TAGS:
        if (!json_is_array(j))
            goto wrong;
        rc = get_tags(t, f, j, a, &v, err);
        break;
    default:
        goto wrong;
    }
    if (!rc)
        *out = v;
    return rc;
wrong:
    return gs_err_set(err, GS_E_INVALID, "%s.%s: must be %s, not %s", t->name, f->name,
                      wanted(f->type), proto_json_kind(j));
}
