/*
 * record_json.c: see record_json.h. jansson allocates with its own malloc (so
 * allocation-failure tests do not reach it); every jansson call's NULL result is still
 * checked.
 */
#include "record_json.h"

#include "common/alloc.h"
#include "common/realfmt.h"
#include "common/hlc.h"
#include "proto/value_json.h"

#include <stdlib.h>
#include <string.h>

/* json_object_set_new that reports failure (it steals value either way). */
static int put(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return GS_E_NOMEM;
    return json_object_set_new(obj, key, value) ? GS_E_NOMEM : GS_OK;
}

int record_json_from_record(const gs_record *rec, json_t **out, gs_err *err)
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
        rc = put(obj, rec->t->fields[i].name, proto_value_to_json(&rec->t->fields[i], &s->v));
    }
    if (rc == GS_OK && rec->created)
        rc = put(obj, "created", proto_time_to_json((int64_t)hlc_physical(rec->created)));
    if (rc == GS_OK && rec->updated)
        rc = put(obj, "updated", proto_time_to_json((int64_t)hlc_physical(rec->updated)));
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
    rc = record_json_from_record(rec, &obj, &rec->db->err);
    if (rc)
        return rc;
    text = json_dumps(obj, RECORD_JSON_DUMP_FLAGS);
    json_decref(obj);
    if (!text)
        return gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
    realfmt_json_reals(text); /* exact at 17 digits, then the shortest that reads back */
    /* handed over as gs_malloc memory so the caller frees everything with gs_free */
    copy = gs_strdup(text);
    free(text);
    if (!copy)
        return gs_err_set(&rec->db->err, GS_E_NOMEM, "out of memory");
    *out = copy;
    return GS_OK;
}

/* Sets field i of rec from JSON value j. */
static int set_from_json(gs_db *db, gs_record *rec, size_t i, json_t *j)
{
    gs_arena a;
    proto_value v;
    int rc;

    arena_init(&a, ARENA_NO_CAP); /* bounded by the line, which the import caps */
    rc = proto_value_from_json(rec->t, &rec->t->fields[i], j, &a, &v, &db->err);
    if (rc == GS_OK)
        rc = record_put(rec, i, &v, 1);
    arena_free(&a);
    return rc;
}

int record_json_to_record(gs_db *db, json_t *obj, gs_record **out)
{
    json_t *type, *id, *value;
    const schema_table *t;
    gs_record *rec = NULL;
    const char *key;
    int rc;

    if (!json_is_object(obj))
        return gs_err_set(&db->err, GS_E_INVALID, "a line must be one JSON object, not %s",
                          proto_json_kind(obj));
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
