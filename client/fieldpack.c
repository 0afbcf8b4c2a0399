/*
 * fieldpack.c: see fieldpack.h. Decoding checks the framing (proto_scan) before msgpack-c
 * sees the bytes, and every entry before the fieldset is handed out, so a damaged row is
 * reported, never half-read.
 */
#include "fieldpack.h"

#include "proto/value.h"

#include <string.h>

int fieldpack_encode(gs_buf *out, const proto_field *fields, uint32_t n)
{
    proto_packer p;
    int rc;

    proto_packer_init(&p, out);
    rc = proto_pack_array(&p, n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        const proto_field *f = &fields[i];
        rc = proto_pack_array(&p, 4);
        if (!rc)
            rc = proto_pack_str(&p, f->name.ptr, f->name.len);
        if (!rc)
            rc = proto_pack_value(&p, &f->value);
        if (!rc)
            rc = proto_pack_uint(&p, f->ver);
        if (!rc)
            rc = proto_pack_uint(&p, f->hlc);
    }
    return proto_packer_end(&p, rc);
}

void fieldset_init(fieldset *fs)
{
    fs->fields = NULL;
    fs->n = 0;
    arena_init(&fs->arena, ARENA_NO_CAP); /* bounded by FIELDPACK_MAX bytes of input */
}

void fieldset_free(fieldset *fs)
{
    arena_free(&fs->arena);
    fieldset_init(fs);
}

/* One entry [name, value, base] or [name, value, base, hlc] into f. */
static int get_entry(fieldset *fs, const msgpack_object *o, uint64_t row_hlc, proto_field *f)
{
    const msgpack_object *e = o->via.array.ptr;
    int rc;

    if (o->type != MSGPACK_OBJECT_ARRAY || (o->via.array.size != 3 && o->via.array.size != 4) ||
        e[0].type != MSGPACK_OBJECT_STR || e[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        (o->via.array.size == 4 && e[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER))
        return GS_E_DB;
    rc = proto_value_get(&e[1], &fs->arena, NULL, &f->value, NULL);
    if (rc)
        return rc == GS_E_NOMEM ? rc : GS_E_DB;
    f->name.ptr = e[0].via.str.ptr;
    f->name.len = e[0].via.str.size;
    f->ver = e[2].via.u64;
    f->hlc = o->via.array.size == 4 ? e[3].via.u64 : row_hlc;
    return GS_OK;
}

int fieldpack_decode(fieldset *fs, const void *p, size_t len, uint64_t row_hlc)
{
    msgpack_unpacked up;
    const msgpack_object *top;
    proto_field *fields = NULL;
    char *copy;
    int rc;

    fieldset_free(fs);
    if (len > FIELDPACK_MAX)
        return GS_E_DB;
    copy = arena_alloc(&fs->arena, len);
    if (!copy)
        return GS_E_NOMEM;
    if (len)
        memcpy(copy, p, len);
    msgpack_unpacked_init(&up);
    rc = proto_unpack(copy, len, 0, &up, NULL);
    if (rc) {
        rc = rc == GS_E_NOMEM ? rc : GS_E_DB;
        goto out;
    }
    top = &up.data;
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size > PROTO_MAX_FIELDS) {
        rc = GS_E_DB;
        goto out;
    }
    fields = arena_alloc_array(&fs->arena, top->via.array.size, sizeof(*fields));
    if (!fields) {
        rc = GS_E_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < top->via.array.size && !rc; i++)
        rc = get_entry(fs, &top->via.array.ptr[i], row_hlc, &fields[i]);
    if (!rc) {
        fs->fields = fields;
        fs->n = top->via.array.size;
    }
out:
    msgpack_unpacked_destroy(&up);
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
