/*
 * fieldpack.c: see fieldpack.h. Decoding checks the whole shape before anything is used,
 * so a damaged row is reported, never half-read.
 */
#include "fieldpack.h"

#include "common/alloc.h"

#include <string.h>

static int write_cb(void *data, const char *buf, size_t len)
{
    return buf_add(data, buf, len) == GS_OK ? 0 : -1;
}

static int pack_value(msgpack_packer *pk, const proto_value *v)
{
    switch (v->type) {
    case PV_NIL:
        return msgpack_pack_nil(pk);
    case PV_BOOL:
        return v->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case PV_INT:
        return msgpack_pack_int64(pk, v->u.i);
    case PV_REAL:
        return msgpack_pack_double(pk, v->u.r);
    case PV_STR:
        if (msgpack_pack_str(pk, v->u.s.len))
            return -1;
        return msgpack_pack_str_body(pk, v->u.s.ptr, v->u.s.len);
    case PV_BIN:
        if (msgpack_pack_bin(pk, v->u.s.len))
            return -1;
        return msgpack_pack_bin_body(pk, v->u.s.ptr, v->u.s.len);
    case PV_STRLIST:
        if (msgpack_pack_array(pk, v->u.list.n))
            return -1;
        for (uint32_t i = 0; i < v->u.list.n; i++)
            if (msgpack_pack_str(pk, v->u.list.items[i].len) ||
                msgpack_pack_str_body(pk, v->u.list.items[i].ptr, v->u.list.items[i].len))
                return -1;
        return 0;
    }
    return -1;
}

int fieldpack_encode(gs_buf *out, const proto_field *fields, uint32_t n)
{
    msgpack_packer pk;
    size_t mark = out->len;

    msgpack_packer_init(&pk, out, write_cb);
    if (msgpack_pack_array(&pk, n))
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        const proto_field *f = &fields[i];
        if (msgpack_pack_array(&pk, 4) || msgpack_pack_str(&pk, f->name.len) ||
            msgpack_pack_str_body(&pk, f->name.ptr, f->name.len) ||
            pack_value(&pk, &f->value) || msgpack_pack_uint64(&pk, f->ver) ||
            msgpack_pack_uint64(&pk, f->hlc))
            goto fail;
    }
    return GS_OK;
fail:
    /* the only way a pack into a gs_buf fails is the buffer refusing bytes */
    out->len = mark;
    if (out->ptr)
        out->ptr[mark] = '\0';
    return out->len + 1 > out->max ? GS_E_TOO_LARGE : GS_E_NOMEM;
}

void fieldset_init(fieldset *fs)
{
    memset(fs, 0, sizeof(*fs));
}

void fieldset_free(fieldset *fs)
{
    if (fs->live)
        msgpack_unpacked_destroy(&fs->up);
    gs_free(fs->fields);
    gs_free(fs->items);
    gs_free(fs->blob);
    fieldset_init(fs);
}

/* Counts the list items a value needs; -1 if the value is not of a stored shape. */
static long value_items(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT64:
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        return 0;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (o->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
                return -1;
        return (long)o->via.array.size;
    default:
        return -1;
    }
}

static void to_value(const msgpack_object *o, proto_value *v, proto_str **items)
{
    memset(v, 0, sizeof(*v));
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        v->type = PV_BOOL;
        v->u.b = o->via.boolean ? 1 : 0;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v->type = PV_INT;
        v->u.i = (int64_t)o->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v->type = PV_INT;
        v->u.i = o->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v->type = PV_REAL;
        v->u.r = o->via.f64;
        break;
    case MSGPACK_OBJECT_STR:
        v->type = PV_STR;
        v->u.s.ptr = o->via.str.ptr;
        v->u.s.len = o->via.str.size;
        break;
    case MSGPACK_OBJECT_BIN:
        v->type = PV_BIN;
        v->u.s.ptr = o->via.bin.ptr;
        v->u.s.len = o->via.bin.size;
        break;
    case MSGPACK_OBJECT_ARRAY:
        v->type = PV_STRLIST;
        v->u.list.items = *items;
        v->u.list.n = o->via.array.size;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            (*items)[i].ptr = o->via.array.ptr[i].via.str.ptr;
            (*items)[i].len = o->via.array.ptr[i].via.str.size;
        }
        *items += o->via.array.size;
        break;
    default:
        v->type = PV_NIL;
    }
}

int fieldpack_decode(fieldset *fs, const void *p, size_t len, uint64_t row_hlc)
{
    size_t off = 0;
    long n_items = 0;
    const msgpack_object *top;
    proto_str *next_item;
    int rc = GS_E_DB;

    fieldset_free(fs);
    if (len > FIELDPACK_MAX)
        return GS_E_DB;
    fs->blob = gs_malloc(len ? len : 1);
    if (!fs->blob)
        return GS_E_NOMEM;
    if (len)
        memcpy(fs->blob, p, len);
    msgpack_unpacked_init(&fs->up);
    fs->live = 1;
    if (msgpack_unpack_next(&fs->up, fs->blob, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != len)
        goto out;
    top = &fs->up.data;
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size > PROTO_MAX_FIELDS)
        goto out;
    for (uint32_t i = 0; i < top->via.array.size; i++) {
        const msgpack_object *e = &top->via.array.ptr[i];
        long k;
        if (e->type != MSGPACK_OBJECT_ARRAY ||
            (e->via.array.size != 3 && e->via.array.size != 4) ||
            e->via.array.ptr[0].type != MSGPACK_OBJECT_STR ||
            e->via.array.ptr[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
            (e->via.array.size == 4 &&
             e->via.array.ptr[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER))
            goto out;
        k = value_items(&e->via.array.ptr[1]);
        if (k < 0)
            goto out;
        n_items += k;
    }
    fs->fields = gs_calloc(top->via.array.size ? top->via.array.size : 1, sizeof(proto_field));
    fs->items = gs_calloc(n_items ? (size_t)n_items : 1, sizeof(proto_str));
    if (!fs->fields || !fs->items) {
        rc = GS_E_NOMEM;
        goto out;
    }
    next_item = fs->items;
    for (uint32_t i = 0; i < top->via.array.size; i++) {
        const msgpack_object *e = top->via.array.ptr[i].via.array.ptr;
        proto_field *f = &fs->fields[i];
        f->name.ptr = e[0].via.str.ptr;
        f->name.len = e[0].via.str.size;
        to_value(&e[1], &f->value, &next_item);
        f->ver = e[2].via.u64;
        f->hlc = top->via.array.ptr[i].via.array.size == 4 ? e[3].via.u64 : row_hlc;
    }
    fs->n = top->via.array.size;
    rc = GS_OK;
out:
    if (rc)
        fieldset_free(fs);
    return rc;
}

int fieldset_find(const fieldset *fs, const char *name, size_t len)
{
    for (uint32_t i = 0; i < fs->n; i++)
        if (fs->fields[i].name.len == len && memcmp(fs->fields[i].name.ptr, name, len) == 0)
            return (int)i;
    return -1;
}
