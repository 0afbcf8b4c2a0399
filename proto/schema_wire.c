/*
 * schema_wire.c: the schema document of schema_wire.h, written with value.c's packer.
 *
 *   {v, limits: {body, changes, fields, str, name, tags, depth},
 *    tables: [{name, label: {zh, en}, title, server_only,
 *              fields: [{name, type, label, policy, required, scope, immutable, implicit,
 *                        from_device, default_now, ref_scoped, device_edit, max_len, min,
 *                        max, ref_table, default,
 *                        enums: [{name, label, terminal, reopen, device, next?}]}]}]}
 *
 * Each table's declared fields come in display order, then its tombstone "deleted"
 * (implicit: true). The map sizes below are counted by hand: test_schema_wire decodes the
 * whole document, which catches a count that is off.
 */
#include "schema_wire.h"

#include "proto.h"
#include "schema.h"
#include "value.h"

#include <string.h>

#define FIELD_KEYS 18u
#define TABLE_KEYS 5u

const char *schema_wire_type_name(int type)
{
    switch (type) {
    case ST_TEXT:
        return "text";
    case ST_INT:
        return "int";
    case ST_BOOL:
        return "bool";
    case ST_REAL:
        return "real";
    case ST_TIME:
        return "time";
    case ST_ENUM:
        return "enum";
    case ST_REF:
        return "ref";
    case ST_TAGS:
        return "tags";
    }
    return "unknown";
}

const char *schema_wire_policy_name(int policy)
{
    switch (policy) {
    case SP_LWW:
        return "lww";
    case SP_STATUS:
        return "status";
    case SP_DELETE:
        return "delete";
    }
    return "unknown";
}

static int put_str(proto_packer *e, const char *s)
{
    return proto_pack_str(e, s ? s : "", s ? strlen(s) : 0);
}

/* key, then a str (nil for NULL) */
static int kv_str(proto_packer *e, const char *key, const char *s)
{
    int rc = put_str(e, key);
    if (!rc)
        rc = s ? put_str(e, s) : proto_pack_nil(e);
    return rc;
}

static int kv_bool(proto_packer *e, const char *key, int b)
{
    int rc = put_str(e, key);
    return rc ? rc : proto_pack_bool(e, b != 0);
}

static int kv_uint(proto_packer *e, const char *key, uint64_t n)
{
    int rc = put_str(e, key);
    return rc ? rc : proto_pack_uint(e, n);
}

static int kv_labels(proto_packer *e, const char *zh, const char *en)
{
    int rc = put_str(e, "label");
    if (!rc)
        rc = proto_pack_map(e, 2);
    if (!rc)
        rc = put_str(e, "zh");
    if (!rc)
        rc = put_str(e, zh);
    if (!rc)
        rc = put_str(e, "en");
    if (!rc)
        rc = put_str(e, en);
    return rc;
}

/* A bound of a range: an int for int and time fields, a real for real ones; nil when the
 * field has no range (min and max both 0, schema.h). */
static int kv_bound(proto_packer *e, const char *key, const schema_field *f, double x)
{
    proto_value v;
    int rc = put_str(e, key);

    if (rc)
        return rc;
    if (f->min == 0 && f->max == 0)
        return proto_pack_nil(e);
    memset(&v, 0, sizeof(v));
    if (f->type == ST_REAL) {
        v.type = PV_REAL;
        v.u.r = x;
    } else {
        v.type = PV_INT;
        v.u.i = (int64_t)x;
    }
    return proto_pack_value(e, &v);
}

/* The most a value of f may hold: bytes of a text, entries of a tag list; 0 for the rest. */
static uint64_t max_len(const schema_field *f)
{
    if (f->type == ST_TEXT)
        return f->max_len ? f->max_len : GS_LIMIT_TEXT;
    if (f->type == ST_TAGS)
        return f->max_len ? f->max_len : GS_LIMIT_TAGS;
    return 0;
}

/* next: the status path of enum value i, split at spaces (schema_field.next) */
static int put_next(proto_packer *e, const char *path)
{
    size_t n = 0;
    int rc;

    for (const char *p = path + strspn(path, " "); *p; p += strspn(p, " ")) {
        p += strcspn(p, " ");
        n++;
    }
    rc = put_str(e, "next");
    if (!rc)
        rc = proto_pack_array(e, n);
    for (const char *p = path + strspn(path, " "); *p && !rc; p += strspn(p, " ")) {
        size_t len = strcspn(p, " ");
        rc = proto_pack_str(e, p, len);
        p += len;
    }
    return rc;
}

static int put_enum(proto_packer *e, const schema_field *f, size_t i)
{
    const schema_enum *en = &f->enums[i];
    const char *next = f->next ? f->next[i] : NULL;
    int rc = proto_pack_map(e, next ? 6 : 5);

    if (!rc)
        rc = kv_str(e, "name", en->name);
    if (!rc)
        rc = kv_labels(e, en->label_zh, en->label_en);
    if (!rc)
        rc = kv_bool(e, "terminal", en->flags & SEF_TERMINAL);
    if (!rc)
        rc = kv_bool(e, "reopen", en->flags & SEF_REOPEN);
    if (!rc)
        rc = kv_bool(e, "device", en->flags & SEF_DEVICE);
    if (!rc && next)
        rc = put_next(e, next);
    return rc;
}

static int put_field(proto_packer *e, const schema_field *f, int implicit)
{
    int rc = proto_pack_map(e, FIELD_KEYS);

    if (!rc)
        rc = kv_str(e, "name", f->name);
    if (!rc)
        rc = kv_str(e, "type", schema_wire_type_name(f->type));
    if (!rc)
        rc = kv_labels(e, f->label_zh, f->label_en);
    if (!rc)
        rc = kv_str(e, "policy", schema_wire_policy_name(f->policy));
    if (!rc)
        rc = kv_bool(e, "required", f->flags & SF_REQUIRED);
    if (!rc)
        rc = kv_bool(e, "scope", f->flags & SF_SCOPE);
    if (!rc)
        rc = kv_bool(e, "immutable", f->flags & SF_IMMUTABLE);
    if (!rc)
        rc = kv_bool(e, "implicit", implicit);
    if (!rc)
        rc = kv_bool(e, "from_device", f->flags & SF_FROM_DEVICE);
    if (!rc)
        rc = kv_bool(e, "default_now", f->flags & SF_DEFAULT_NOW);
    if (!rc)
        rc = kv_bool(e, "ref_scoped", f->flags & SF_REF_SCOPED);
    if (!rc)
        rc = kv_bool(e, "device_edit", f->flags & SF_DEVICE_EDIT);
    if (!rc)
        rc = kv_uint(e, "max_len", max_len(f));
    if (!rc)
        rc = kv_bound(e, "min", f, f->min);
    if (!rc)
        rc = kv_bound(e, "max", f, f->max);
    if (!rc)
        rc = kv_str(e, "ref_table", f->ref_table);
    if (!rc)
        rc = kv_str(e, "default", f->def);
    if (!rc)
        rc = put_str(e, "enums");
    if (!rc)
        rc = proto_pack_array(e, f->n_enums);
    for (size_t i = 0; i < f->n_enums && !rc; i++)
        rc = put_enum(e, f, i);
    return rc;
}

static int put_table(proto_packer *e, const schema_table *t)
{
    const schema_field *tomb =
        schema_field_find(t, SCHEMA_DELETED_FIELD, sizeof(SCHEMA_DELETED_FIELD) - 1);
    int rc = proto_pack_map(e, TABLE_KEYS);

    if (!rc)
        rc = kv_str(e, "name", t->name);
    if (!rc)
        rc = kv_labels(e, t->label_zh, t->label_en);
    if (!rc)
        rc = kv_str(e, "title", t->title);
    if (!rc)
        rc = kv_bool(e, "server_only", t->server_only);
    if (!rc)
        rc = put_str(e, "fields");
    if (!rc)
        rc = proto_pack_array(e, t->n_fields + (tomb ? 1 : 0));
    for (size_t k = 0; k < t->n_fields && !rc; k++)
        rc = put_field(e, &t->fields[k], 0);
    if (!rc && tomb)
        rc = put_field(e, tomb, 1);
    return rc;
}

static int put_limits(proto_packer *e)
{
    int rc = put_str(e, "limits");

    if (!rc)
        rc = proto_pack_map(e, 7);
    if (!rc)
        rc = kv_uint(e, "body", PROTO_MAX_BODY);
    if (!rc)
        rc = kv_uint(e, "changes", PROTO_MAX_CHANGES);
    if (!rc)
        rc = kv_uint(e, "fields", PROTO_MAX_FIELDS);
    if (!rc)
        rc = kv_uint(e, "str", PROTO_MAX_STR);
    if (!rc)
        rc = kv_uint(e, "name", PROTO_MAX_NAME);
    if (!rc)
        rc = kv_uint(e, "tags", PROTO_MAX_TAGS);
    if (!rc)
        rc = kv_uint(e, "depth", PROTO_MAX_DEPTH);
    return rc;
}

int proto_encode_schema(gs_buf *out)
{
    proto_packer e;
    int rc;

    proto_packer_init(&e, out);
    rc = proto_pack_map(&e, 3);
    if (!rc)
        rc = kv_uint(&e, "v", PROTO_VERSION);
    if (!rc)
        rc = put_limits(&e);
    if (!rc)
        rc = put_str(&e, "tables");
    if (!rc)
        rc = proto_pack_array(&e, schema_n_tables);
    for (size_t i = 0; i < schema_n_tables && !rc; i++)
        rc = put_table(&e, &schema_tables[i]);
    return proto_packer_end(&e, rc);
}
