/*
 * value.c: see value.h. The scan was written for the protocol decoder (codec.c) and serves
 * every decode of bytes from outside: PROTOCOL.md 7.5 step 2 is its contract.
 */
#include "value.h"

#include "common/alloc.h"

#include <msgpack/unpack_define.h> /* MSGPACK_EMBED_STACK_SIZE */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- writing ------------------------------------------------------------------------- */

static int packer_write(void *data, const char *bytes, size_t n)
{
    proto_packer *p = data;
    int rc;

    if (p->rc)
        return -1;
    rc = buf_add(p->out, bytes, n);
    if (rc) {
        p->rc = rc;
        return -1;
    }
    return 0;
}

void proto_packer_init(proto_packer *p, gs_buf *out)
{
    p->out = out;
    p->start = out->len;
    p->rc = GS_OK;
    msgpack_packer_init(&p->pk, p, packer_write);
}

int proto_packer_end(proto_packer *p, int rc)
{
    if (!rc)
        rc = p->rc;
    if (rc) {
        p->out->len = p->start;
        if (p->out->ptr)
            p->out->ptr[p->start] = '\0';
    }
    return rc;
}

int proto_pack_nil(proto_packer *p)
{
    msgpack_pack_nil(&p->pk);
    return p->rc;
}

int proto_pack_bool(proto_packer *p, int v)
{
    if (v)
        msgpack_pack_true(&p->pk);
    else
        msgpack_pack_false(&p->pk);
    return p->rc;
}

/* msgpack_pack_uint64 and _int64 pick the shortest encoding (PROTOCOL.md 7.4). */
int proto_pack_uint(proto_packer *p, uint64_t v)
{
    msgpack_pack_uint64(&p->pk, v);
    return p->rc;
}

int proto_pack_str(proto_packer *p, const char *s, size_t n)
{
    msgpack_pack_str(&p->pk, n);
    msgpack_pack_str_body(&p->pk, s, n);
    return p->rc;
}

int proto_pack_bin(proto_packer *p, const void *bytes, size_t n)
{
    msgpack_pack_bin(&p->pk, n);
    msgpack_pack_bin_body(&p->pk, bytes, n);
    return p->rc;
}

int proto_pack_array(proto_packer *p, size_t n)
{
    msgpack_pack_array(&p->pk, n);
    return p->rc;
}

int proto_pack_map(proto_packer *p, size_t n)
{
    msgpack_pack_map(&p->pk, n);
    return p->rc;
}

int proto_pack_text(proto_packer *p, proto_str s, uint32_t max)
{
    if (s.len > max || (s.len && !s.ptr))
        return GS_E_PROTO_LIMIT;
    return proto_pack_str(p, s.ptr, s.len);
}

int proto_pack_value(proto_packer *p, const proto_value *v)
{
    int rc = GS_OK;

    switch (v->type) {
    case PV_NIL:
        return proto_pack_nil(p);
    case PV_BOOL:
        return proto_pack_bool(p, v->u.b);
    case PV_INT:
        msgpack_pack_int64(&p->pk, v->u.i);
        return p->rc;
    case PV_REAL:
        msgpack_pack_double(&p->pk, v->u.r); /* always float 64 */
        return p->rc;
    case PV_STR:
        return proto_pack_text(p, v->u.s, PROTO_MAX_STR);
    case PV_BIN:
        if (v->u.s.len != 16 || !v->u.s.ptr)
            return GS_E_PROTO_TYPE;
        return proto_pack_bin(p, v->u.s.ptr, 16);
    case PV_STRLIST:
        if (v->u.list.n > PROTO_MAX_TAGS || (v->u.list.n && !v->u.list.items))
            return GS_E_PROTO_LIMIT;
        rc = proto_pack_array(p, v->u.list.n);
        for (uint32_t i = 0; i < v->u.list.n && !rc; i++)
            rc = proto_pack_text(p, v->u.list.items[i], PROTO_MAX_NAME);
        return rc;
    }
    return GS_E_PROTO_TYPE;
}

/* ---- scan ---------------------------------------------------------------------------- */

static uint64_t be_read(const uint8_t *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

/* What a first byte says the object is, for messages about the top object. */
static const char *byte_type(uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return "int";
    if (b <= 0x8f || b == 0xde || b == 0xdf)
        return "map";
    if (b <= 0x9f || b == 0xdc || b == 0xdd)
        return "array";
    if (b <= 0xbf || (b >= 0xd9 && b <= 0xdb))
        return "str";
    switch (b) {
    case 0xc0: return "nil";
    case 0xc1: return "the unused byte 0xc1";
    case 0xc2:
    case 0xc3: return "bool";
    case 0xc4:
    case 0xc5:
    case 0xc6: return "bin";
    case 0xca:
    case 0xcb: return "float";
    }
    return "ext";
}

int proto_scan(const void *buf, size_t len, int top_map, gs_err *err)
{
    return proto_scan_limit(buf, len, top_map, SIZE_MAX, err);
}

int proto_scan_limit(const void *buf, size_t len, int top_map, size_t max_objects, gs_err *err)
{
    const uint8_t *p = buf;
    uint64_t left[PROTO_MAX_DEPTH]; /* elements (map: keys and values) still due per level */
    size_t depth = 0;               /* containers open */
    size_t pos = 0;
    size_t n_objects = 0;           /* objects seen: msgpack-c builds one 24-byte node each */

    if (len == 0)
        return gs_err_set(err, GS_E_PROTO_TRUNCATED,
                          top_map ? "empty body: expected a map" : "no bytes: expected a value");
    if (top_map && !(p[0] >= 0x80 && p[0] <= 0x8f) && p[0] != 0xde && p[0] != 0xdf)
        return gs_err_set(err, GS_E_PROTO, "not a message: expected a map, got %s",
                          byte_type(p[0]));
    for (;;) {
        uint8_t b;
        size_t hdr = 1, width = 0;   /* header bytes; bytes of its length field */
        uint64_t body = 0, n = 0;    /* payload bytes; container entries */
        int container = 0, map = 0;

        if (pos >= len)
            return gs_err_set(err, GS_E_PROTO_TRUNCATED,
                              "the body ends at byte %zu, inside the message", len);
        if (++n_objects > max_objects)
            return gs_err_set(err, GS_E_PROTO_LIMIT,
                              "the message holds more than %zu MessagePack objects (at byte "
                              "%zu), more than any valid one can",
                              max_objects, pos);
        b = p[pos];
        if (b <= 0x7f || b >= 0xe0) {
            /* fixint */
        } else if (b <= 0x8f) {
            container = map = 1;
            n = b & 0x0f;
        } else if (b <= 0x9f) {
            container = 1;
            n = b & 0x0f;
        } else if (b <= 0xbf) {
            body = b & 0x1f;
        } else {
            switch (b) {
            case 0xc0: case 0xc2: case 0xc3: break;
            case 0xc1:
                return gs_err_set(err, GS_E_PROTO,
                                  "byte %zu is 0xc1, which is not MessagePack", pos);
            case 0xc4: case 0xd9: hdr = 2; width = 1; break;  /* bin 8, str 8 */
            case 0xc5: case 0xda: hdr = 3; width = 2; break;  /* bin 16, str 16 */
            case 0xc6: case 0xdb: hdr = 5; width = 4; break;  /* bin 32, str 32 */
            case 0xc7: hdr = 3; width = 1; break;             /* ext 8: len, type */
            case 0xc8: hdr = 4; width = 2; break;             /* ext 16 */
            case 0xc9: hdr = 6; width = 4; break;             /* ext 32 */
            case 0xca: body = 4; break;                       /* float 32 */
            case 0xcb: body = 8; break;                       /* float 64 */
            case 0xcc: case 0xd0: body = 1; break;
            case 0xcd: case 0xd1: body = 2; break;
            case 0xce: case 0xd2: body = 4; break;
            case 0xcf: case 0xd3: body = 8; break;
            case 0xd4: body = 2; break;                       /* fixext: type + data */
            case 0xd5: body = 3; break;
            case 0xd6: body = 5; break;
            case 0xd7: body = 9; break;
            case 0xd8: body = 17; break;
            case 0xdc: hdr = 3; width = 2; container = 1; break;
            case 0xdd: hdr = 5; width = 4; container = 1; break;
            case 0xde: hdr = 3; width = 2; container = map = 1; break;
            case 0xdf: hdr = 5; width = 4; container = map = 1; break;
            }
        }
        if (len - pos < hdr)
            return gs_err_set(err, GS_E_PROTO_TRUNCATED,
                              "the body ends at byte %zu, inside the header at byte %zu", len,
                              pos);
        if (width) {
            uint64_t v = be_read(p + pos + 1, width);
            if (container)
                n = v;
            else
                body = v;
        }
        if (!container) {
            if (body > len - pos - hdr)
                return gs_err_set(err, GS_E_PROTO_TRUNCATED,
                                  "the object at byte %zu needs %llu bytes, %zu are left", pos,
                                  (unsigned long long)body, len - pos - hdr);
            pos += hdr + (size_t)body;
        } else {
            uint64_t items = map ? 2 * n : n;
            if (depth >= PROTO_MAX_DEPTH)
                return gs_err_set(err, GS_E_PROTO_DEPTH,
                                  "the %s at byte %zu is nested deeper than %u levels",
                                  map ? "map" : "array", pos, PROTO_MAX_DEPTH);
            if (n > PROTO_MAX_CHANGES)
                return gs_err_set(err, GS_E_PROTO_LIMIT,
                                  "the %s at byte %zu has %llu entries; no list in the "
                                  "protocol may have more than %u",
                                  map ? "map" : "array", pos, (unsigned long long)n,
                                  PROTO_MAX_CHANGES);
            pos += hdr;
            if (items > len - pos)
                return gs_err_set(err, GS_E_PROTO_TRUNCATED,
                                  "the %s at byte %zu announces %llu entries, only %zu bytes "
                                  "are left",
                                  map ? "map" : "array", pos - hdr, (unsigned long long)n,
                                  len - pos);
            if (items) {
                left[depth++] = items;
                continue;
            }
        }
        /* one object is complete: close every container it completes */
        for (;;) {
            if (depth == 0) {
                if (pos != len)
                    return gs_err_set(err, GS_E_PROTO_TRAILING,
                                      "%zu bytes follow the end of the message at byte %zu",
                                      len - pos, pos);
                return GS_OK;
            }
            if (--left[depth - 1] > 0)
                break;
            depth--;
        }
    }
}

/* ---- reading ------------------------------------------------------------------------- */

int proto_unpack(const void *buf, size_t len, int top_map, msgpack_unpacked *up, gs_err *err)
{
    return proto_unpack_limit(buf, len, top_map, SIZE_MAX, up, err);
}

int proto_unpack_limit(const void *buf, size_t len, int top_map, size_t max_objects,
                       msgpack_unpacked *up, gs_err *err)
{
    msgpack_unpack_return ur;
    size_t off = 0;
    int rc;

    if (len > PROTO_MAX_BODY)
        return gs_err_set(err, GS_E_TOO_LARGE, "body of %zu bytes, at most %u allowed", len,
                          PROTO_MAX_BODY);
    if (len && !buf)
        return gs_err_set(err, GS_E_INVALID, "no buffer");
    rc = proto_scan_limit(buf, len, top_map, max_objects, err);
    if (rc)
        return rc;
    ur = msgpack_unpack_next(up, buf, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        /* the scan keeps nesting far below msgpack-c's fixed stack, so this is memory;
         * were PROTO_MAX_DEPTH ever raised past it, the stack would report here instead */
        return PROTO_MAX_DEPTH >= MSGPACK_EMBED_STACK_SIZE
                   ? gs_err_set(err, GS_E_PROTO_DEPTH, "nested deeper than msgpack-c allows")
                   : gs_err_set(err, GS_E_NOMEM, "out of memory parsing the message");
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
        return gs_err_set(err, GS_E_PROTO, "msgpack-c refused bytes the scan accepted: code %d",
                          (int)ur);
    return GS_OK;
}

int proto_unpack_copy(gs_arena *a, const void *bytes, size_t len, int top_map,
                      msgpack_unpacked *up, gs_err *err)
{
    void *copy = arena_alloc(a, len);

    if (!copy)
        return gs_err_set(err, GS_E_NOMEM, "out of memory reading stored bytes");
    if (len)
        memcpy(copy, bytes, len);
    return proto_unpack(copy, len, top_map, up, err);
}

const char *proto_obj_type(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_BOOLEAN: return "bool";
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return "int";
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return "float";
    case MSGPACK_OBJECT_STR: return "str";
    case MSGPACK_OBJECT_ARRAY: return "array";
    case MSGPACK_OBJECT_MAP: return "map";
    case MSGPACK_OBJECT_BIN: return "bin";
    case MSGPACK_OBJECT_EXT: return "ext";
    }
    return "unknown";
}

static int vfail(gs_err *err, const char *where, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int vfail(gs_err *err, const char *where, int rc, const char *fmt, ...)
{
    char what[GS_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (where && *where)
        return gs_err_set(err, rc, "%s: %s", where, what);
    return gs_err_set(err, rc, "%s", what);
}

/* A str of at most max bytes; where names it in a failure. */
static int get_str(const msgpack_object *o, uint32_t max, const char *where, proto_str *out,
                   gs_err *err)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return vfail(err, where, GS_E_PROTO_TYPE, "expected str, got %s", proto_obj_type(o));
    if (o->via.str.size > max)
        return vfail(err, where, GS_E_PROTO_LIMIT, "str of %u bytes, allowed 0..%u",
                     o->via.str.size, max);
    out->ptr = o->via.str.ptr;
    out->len = o->via.str.size;
    return GS_OK;
}

static int get_tags(const msgpack_object *o, gs_arena *a, const char *where, proto_value *v,
                    gs_err *err)
{
    uint32_t n = o->via.array.size;
    proto_str *items = NULL;

    if (n > PROTO_MAX_TAGS)
        return vfail(err, where, GS_E_PROTO_LIMIT, "list of %u strings, at most %u allowed", n,
                     PROTO_MAX_TAGS);
    if (n) {
        items = arena_alloc_array(a, n, sizeof(*items));
        if (!items)
            return vfail(err, where, GS_E_NOMEM, "out of memory decoding the message");
    }
    for (uint32_t i = 0; i < n; i++) {
        int rc = get_str(&o->via.array.ptr[i], PROTO_MAX_NAME, NULL, &items[i], NULL);
        if (rc) {
            /* the path of the item is only spelled out when it is needed */
            char at[256];
            snprintf(at, sizeof(at), "%s[%u]", where ? where : "", i);
            return get_str(&o->via.array.ptr[i], PROTO_MAX_NAME, at, &items[i], err);
        }
    }
    v->type = PV_STRLIST;
    v->u.list.items = items;
    v->u.list.n = n;
    return GS_OK;
}

int proto_value_get(const msgpack_object *o, gs_arena *a, const char *where, proto_value *v,
                    gs_err *err)
{
    memset(v, 0, sizeof(*v));
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        v->type = PV_NIL;
        return GS_OK;
    case MSGPACK_OBJECT_BOOLEAN:
        v->type = PV_BOOL;
        v->u.b = o->via.boolean ? 1 : 0;
        return GS_OK;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return vfail(err, where, GS_E_PROTO_LIMIT, "int %llu does not fit in 64-bit signed",
                         (unsigned long long)o->via.u64);
        v->type = PV_INT;
        v->u.i = (int64_t)o->via.u64;
        return GS_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v->type = PV_INT;
        v->u.i = o->via.i64;
        return GS_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v->type = PV_REAL;
        v->u.r = o->via.f64;
        return GS_OK;
    case MSGPACK_OBJECT_STR:
        v->type = PV_STR;
        return get_str(o, PROTO_MAX_STR, where, &v->u.s, err);
    case MSGPACK_OBJECT_BIN:
        if (o->via.bin.size != 16)
            return vfail(err, where, GS_E_PROTO_TYPE, "expected bin 16, got bin %u",
                         o->via.bin.size);
        v->type = PV_BIN;
        v->u.s.ptr = o->via.bin.ptr;
        v->u.s.len = 16;
        return GS_OK;
    case MSGPACK_OBJECT_ARRAY:
        return get_tags(o, a, where, v, err);
    default:
        break;
    }
    return vfail(err, where, GS_E_PROTO_TYPE,
                 "expected a value (nil, bool, int, float, str, bin 16 or array of str), got %s",
                 proto_obj_type(o));
}

/* ---- a field as a stored entry ------------------------------------------------------- */

int proto_pack_entry(proto_packer *p, const proto_field *f)
{
    int rc = proto_pack_array(p, 4);

    if (!rc)
        rc = proto_pack_str(p, f->name.ptr, f->name.len);
    if (!rc)
        rc = proto_pack_value(p, &f->value);
    if (!rc)
        rc = proto_pack_uint(p, f->ver);
    if (!rc)
        rc = proto_pack_uint(p, f->hlc);
    return rc;
}

int proto_entry_get(const msgpack_object *o, gs_arena *a, uint64_t dflt_hlc, proto_field *f)
{
    const msgpack_object *e = o->via.array.ptr;
    uint32_t n = o->via.array.size;
    int rc;

    if (o->type != MSGPACK_OBJECT_ARRAY || (n != 3 && n != 4) ||
        e[0].type != MSGPACK_OBJECT_STR || e[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
        (n == 4 && e[3].type != MSGPACK_OBJECT_POSITIVE_INTEGER))
        return GS_E_DB;
    rc = proto_value_get(&e[1], a, NULL, &f->value, NULL);
    if (rc)
        return rc == GS_E_NOMEM ? rc : GS_E_DB;
    f->name.ptr = e[0].via.str.size ? e[0].via.str.ptr : NULL;
    f->name.len = e[0].via.str.size;
    f->ver = e[2].via.u64;
    f->hlc = n == 4 ? e[3].via.u64 : dflt_hlc;
    return GS_OK;
}

/* ---- one value as bytes, and copies -------------------------------------------------- */

int proto_value_encode(gs_buf *out, const proto_value *v)
{
    proto_packer p;

    proto_packer_init(&p, out);
    return proto_packer_end(&p, proto_pack_value(&p, v));
}

int proto_value_decode(gs_arena *a, const void *bytes, size_t len, proto_value *out,
                       gs_err *err)
{
    msgpack_unpacked up;
    proto_value v;
    int rc;

    msgpack_unpacked_init(&up);
    rc = proto_unpack_copy(a, bytes, len, 0, &up, err);
    if (!rc)
        rc = proto_value_get(&up.data, a, "", &v, err);
    msgpack_unpacked_destroy(&up);
    if (!rc)
        *out = v;
    return rc;
}

int proto_value_copy(gs_arena *a, const proto_value *v, proto_value *out)
{
    proto_value c = *v;

    if (v->type == PV_STR || v->type == PV_BIN) {
        c.u.s.ptr = v->u.s.len ? arena_strndup(a, v->u.s.ptr, v->u.s.len) : NULL;
        if (v->u.s.len && !c.u.s.ptr)
            return GS_E_NOMEM;
    } else if (v->type == PV_STRLIST) {
        uint32_t n = v->u.list.n;
        c.u.list.items = n ? arena_alloc_array(a, n, sizeof(proto_str)) : NULL;
        if (n && !c.u.list.items)
            return GS_E_NOMEM;
        for (uint32_t i = 0; i < n; i++) {
            proto_str s = v->u.list.items[i];
            c.u.list.items[i].len = s.len;
            c.u.list.items[i].ptr = s.len ? arena_strndup(a, s.ptr, s.len) : NULL;
            if (s.len && !c.u.list.items[i].ptr)
                return GS_E_NOMEM;
        }
    }
    *out = c;
    return GS_OK;
}

/* ---- equality ------------------------------------------------------------------------ */

static int str_same(proto_str a, proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* 1 if every item of x is among the items of y (lists are at most PROTO_MAX_TAGS long, so
 * the quadratic walk is cheaper than sorting copies). */
static int list_within(const proto_value *x, const proto_value *y)
{
    for (uint32_t i = 0; i < x->u.list.n; i++) {
        uint32_t j = 0;
        while (j < y->u.list.n && !str_same(x->u.list.items[i], y->u.list.items[j]))
            j++;
        if (j == y->u.list.n)
            return 0;
    }
    return 1;
}

int proto_value_eq(const proto_value *a, const proto_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case PV_NIL: return 1;
    case PV_BOOL: return !a->u.b == !b->u.b;
    case PV_INT: return a->u.i == b->u.i;
    /* numeric equality (so 0.0 equals -0.0), except that NaN equals NaN: a value is
     * always equal to itself */
    case PV_REAL: return a->u.r == b->u.r || (isnan(a->u.r) && isnan(b->u.r));
    case PV_STR:
    case PV_BIN: return str_same(a->u.s, b->u.s);
    /* a list of tags is a set (docs/CLIENT.md): the same tags in another order, or one
     * given twice, are the same value, and must not be reported as a change or a conflict */
    case PV_STRLIST: return list_within(a, b) && list_within(b, a);
    }
    return 0;
}
