/*
 * fieldpack.c: see fieldpack.h. Decoding checks the framing (proto_scan) before msgpack-c
 * sees the bytes, and every entry before the fieldset is handed out, so a damaged row is
 * reported, never half-read.
 */
#include "fieldpack.h"

#include "proto/value.h"

#include <string.h>

int fieldpack_encode(gs_buf *out, const proto_field *fields, uint32_t n, uint64_t row_hlc)
{
    return proto_encode_fields(out, fields, n, row_hlc);
}

int fieldpack_is_wire(const void *p, size_t len)
{
    unsigned char b = len ? *(const unsigned char *)p : 0;
    return (b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf; /* a map */
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

int fieldpack_decode(fieldset *fs, const void *p, size_t len, uint64_t row_hlc)
{
    msgpack_unpacked up;
    const msgpack_object *top;
    proto_field *fields = NULL;
    int rc;

    fieldset_free(fs);
    if (len > FIELDPACK_MAX)
        return GS_E_DB;
    if (fieldpack_is_wire(p, len)) {
        uint32_t n = 0;
        rc = proto_decode_fields(p, len, row_hlc, &fs->arena, &fields, &n, NULL);
        if (rc) {
            fieldset_free(fs);
            return rc == GS_E_NOMEM ? rc : GS_E_DB;
        }
        fs->fields = fields;
        fs->n = n;
        return GS_OK;
    }
    msgpack_unpacked_init(&up);
    rc = proto_unpack_copy(&fs->arena, p, len, 0, &up, NULL);
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
        rc = proto_entry_get(&top->via.array.ptr[i], &fs->arena, row_hlc, &fields[i]);
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
