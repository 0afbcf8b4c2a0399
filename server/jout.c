/*
 * jout.c: see jout.h.
 */
#include "jout.h"

#include "common/isotime.h"
#include "common/rc.h"
#include "common/uuid.h"

#include <msgpack.h>
#include <string.h>

void jout_set(int *bad, json_t *o, const char *k, json_t *v)
{
    if (!o)
        json_decref(v);
    if (!v || !o || json_object_set_new(o, k, v) != 0) /* set_new takes v even when failing */
        *bad = 1;
}

void jout_append(int *bad, json_t *a, json_t *v)
{
    if (!a)
        json_decref(v);
    if (!v || !a || json_array_append_new(a, v) != 0)
        *bad = 1;
}

json_t *jout_str(const char *s)
{
    return json_string(s ? s : "");
}

json_t *jout_iso(int64_t ms)
{
    char b[ISOTIME_MAX];

    if (ms <= 0 || isotime_format(ms, b) != GS_OK)
        return json_null();
    return json_string(b);
}

json_t *jout_uuid(const uint8_t id[16])
{
    char text[UUID_TEXT_LEN + 1];

    uuid_format(id, text);
    return json_string(text);
}

json_t *jout_labels(const char *zh, const char *en)
{
    return json_pack("{s:s, s:s}", "zh", zh ? zh : "", "en", en ? en : "");
}

json_t *jout_ratio(int64_t n, int64_t d)
{
    return d ? json_real((double)n / (double)d) : json_null();
}

static json_t *from_object(const msgpack_object *o)
{
    json_t *j = NULL;

    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return json_null();
    case MSGPACK_OBJECT_BOOLEAN:
        return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return o->via.u64 <= INT64_MAX ? json_integer((json_int_t)o->via.u64) : NULL;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR:
        return json_stringn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_ARRAY:
        j = json_array();
        for (uint32_t i = 0; j && i < o->via.array.size; i++) {
            json_t *v = from_object(&o->via.array.ptr[i]);
            if (!v || json_array_append_new(j, v)) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    case MSGPACK_OBJECT_MAP:
        j = json_object();
        for (uint32_t i = 0; j && i < o->via.map.size; i++) {
            const msgpack_object_kv *kv = &o->via.map.ptr[i];
            char key[256];
            json_t *v;
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size >= sizeof(key)) {
                json_decref(j);
                return NULL;
            }
            memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
            key[kv->key.via.str.size] = '\0';
            v = from_object(&kv->val);
            if (!v || json_object_set_new(j, key, v)) {
                json_decref(j);
                return NULL;
            }
        }
        return j;
    default:
        return NULL;
    }
}

json_t *jout_from_msgpack(const void *bytes, size_t len)
{
    msgpack_unpacked up;
    size_t off = 0;
    json_t *j = NULL;

    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, bytes, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len)
        j = from_object(&up.data);
    msgpack_unpacked_destroy(&up);
    return j;
}
