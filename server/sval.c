/*
 * sval.c: see sval.h. The formats are built from proto/value.c's packer, entries and
 * reader; blobs are copied into the arena before they are read (SQLite's column memory is
 * only valid until the next step) and go through proto_scan like any bytes from outside,
 * and anything unexpected is a damaged store (GS_E_DB).
 */
#include "sval.h"

#include "proto/value.h"

#include <string.h>

int sval_decode(gs_arena *a, const void *blob, size_t len, proto_value *out)
{
    int rc = proto_value_decode(a, blob, len, out, NULL);
    return rc == GS_OK || rc == GS_E_NOMEM ? rc : GS_E_DB;
}

/* An ack blob: [ok, ver, err, msg, [[name, value, ver, hlc], ...]]; the seq is the key.
 * Acks stored before per-field clocks have [name, value, ver] entries (hlc read as 0). */
int sval_ack_encode(gs_buf *out, const proto_ack *ack)
{
    proto_packer p;
    int rc;

    proto_packer_init(&p, out);
    rc = proto_pack_array(&p, 5);
    if (!rc)
        rc = proto_pack_bool(&p, ack->ok);
    if (!rc)
        rc = proto_pack_uint(&p, ack->version);
    if (!rc)
        rc = proto_pack_str(&p, ack->err.ptr, ack->err.len);
    if (!rc)
        rc = proto_pack_str(&p, ack->msg.ptr, ack->msg.len);
    if (!rc)
        rc = proto_pack_array(&p, ack->n_lost);
    for (uint32_t i = 0; i < ack->n_lost && !rc; i++)
        rc = proto_pack_entry(&p, &ack->lost[i]);
    return proto_packer_end(&p, rc);
}

static int is_uint(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
}

static proto_str str_of(const msgpack_object *o)
{
    proto_str s = {o->via.str.size ? o->via.str.ptr : NULL, o->via.str.size};
    return s;
}

int sval_ack_decode(gs_arena *a, const void *blob, size_t len, proto_ack *ack)
{
    msgpack_unpacked up;
    const msgpack_object *e, *lost;
    proto_ack k = *ack;
    int rc;

    msgpack_unpacked_init(&up);
    rc = proto_unpack_copy(a, blob, len, 0, &up, NULL);
    if (rc) {
        rc = rc == GS_E_NOMEM ? rc : GS_E_DB;
        goto out;
    }
    e = up.data.via.array.ptr;
    rc = GS_E_DB;
    if (up.data.type != MSGPACK_OBJECT_ARRAY || up.data.via.array.size != 5 ||
        e[0].type != MSGPACK_OBJECT_BOOLEAN || !is_uint(&e[1]) ||
        e[2].type != MSGPACK_OBJECT_STR || e[3].type != MSGPACK_OBJECT_STR ||
        e[4].type != MSGPACK_OBJECT_ARRAY || e[4].via.array.size > PROTO_MAX_FIELDS + 1)
        goto out;
    lost = &e[4];
    k.ok = e[0].via.boolean ? 1 : 0;
    k.version = e[1].via.u64;
    k.err = str_of(&e[2]);
    k.msg = str_of(&e[3]);
    k.n_lost = lost->via.array.size;
    k.lost = k.n_lost ? arena_alloc_array(a, k.n_lost, sizeof(proto_field)) : NULL;
    rc = k.n_lost && !k.lost ? GS_E_NOMEM : GS_OK;
    for (uint32_t i = 0; i < k.n_lost && !rc; i++)
        rc = proto_entry_get(&lost->via.array.ptr[i], a, 0, &k.lost[i]);
    if (!rc)
        *ack = k;
out:
    msgpack_unpacked_destroy(&up);
    return rc;
}

int sval_fields_encode(gs_buf *out, const proto_field *fields, uint32_t n)
{
    proto_packer p;
    int rc;

    proto_packer_init(&p, out);
    rc = proto_pack_map(&p, n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = proto_pack_str(&p, fields[i].name.ptr, fields[i].name.len);
        if (!rc)
            rc = proto_pack_array(&p, 2);
        if (!rc)
            rc = proto_pack_value(&p, &fields[i].value);
        if (!rc)
            rc = proto_pack_uint(&p, fields[i].ver);
    }
    return proto_packer_end(&p, rc);
}

/* A record's fields: [[name, value, version, hlc, writer], ...] (writer: a device number,
 * 0 for the admin pseudo-device). */
int sval_rec_encode(gs_buf *out, const sval_rec_field *f, uint32_t n)
{
    proto_packer p;
    int rc;

    proto_packer_init(&p, out);
    rc = proto_pack_array(&p, n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        rc = proto_pack_array(&p, 5);
        if (!rc)
            rc = proto_pack_str(&p, f[i].name, strlen(f[i].name));
        if (!rc)
            rc = proto_pack_value(&p, &f[i].value);
        if (!rc)
            rc = proto_pack_uint(&p, f[i].version);
        if (!rc)
            rc = proto_pack_uint(&p, f[i].hlc);
        if (!rc)
            rc = proto_pack_uint(&p, f[i].writer);
    }
    return proto_packer_end(&p, rc);
}

int sval_rec_decode(gs_arena *a, const void *blob, size_t len, sval_rec_field *f, uint32_t cap,
                    uint32_t *n_out)
{
    msgpack_unpacked up;
    const msgpack_object *top;
    uint32_t n = 0;
    int rc;

    msgpack_unpacked_init(&up);
    rc = proto_unpack_copy(a, blob, len, 0, &up, NULL);
    if (rc) {
        rc = rc == GS_E_NOMEM ? rc : GS_E_DB;
        goto out;
    }
    top = &up.data;
    rc = GS_E_DB;
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size > cap)
        goto out;
    n = top->via.array.size;
    rc = GS_OK;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const msgpack_object *e = top->via.array.ptr[i].via.array.ptr;
        const msgpack_object *o = &top->via.array.ptr[i];
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5 ||
            e[0].type != MSGPACK_OBJECT_STR || e[0].via.str.size == 0 || !is_uint(&e[2]) ||
            !is_uint(&e[3]) || !is_uint(&e[4]) || e[4].via.u64 > UINT32_MAX) {
            rc = GS_E_DB;
            break;
        }
        f[i].name = e[0].via.str.ptr; /* not NUL-terminated: the caller maps it to the schema's */
        f[i].name_len = e[0].via.str.size;
        rc = proto_value_get(&e[1], a, "", &f[i].value, NULL);
        if (rc && rc != GS_E_NOMEM)
            rc = GS_E_DB;
        f[i].version = e[2].via.u64;
        f[i].hlc = e[3].via.u64;
        f[i].writer = (uint32_t)e[4].via.u64;
    }
    if (!rc)
        *n_out = n;
out:
    msgpack_unpacked_destroy(&up);
    return rc;
}
