/*
 * sval.c: see sval.h. The decoder is hand-written for the small MessagePack subset a stored
 * value uses, works on an arena copy of the blob (SQLite's column memory is only valid until
 * the next step), and treats anything unexpected as a damaged store (GS_E_DB).
 */
#include "sval.h"

#include "common/alloc.h"

#include <msgpack.h>
#include <stddef.h>
#include <string.h>

typedef struct pack_sink {
    gs_buf *out; /* where the bytes go */
    int rc;      /* first failure of buf_add */
} pack_sink;

static int pack_write(void *data, const char *bytes, size_t n)
{
    pack_sink *ps = data;
    int rc = buf_add(ps->out, bytes, n);
    if (rc && !ps->rc)
        ps->rc = rc;
    return rc ? -1 : 0;
}

static void pack_value(msgpack_packer *pk, const proto_value *v)
{
    switch (v->type) {
    case PV_NIL:
        msgpack_pack_nil(pk);
        break;
    case PV_BOOL:
        if (v->u.b)
            msgpack_pack_true(pk);
        else
            msgpack_pack_false(pk);
        break;
    case PV_INT:
        msgpack_pack_int64(pk, v->u.i);
        break;
    case PV_REAL:
        msgpack_pack_double(pk, v->u.r);
        break;
    case PV_STR:
        msgpack_pack_str(pk, v->u.s.len);
        msgpack_pack_str_body(pk, v->u.s.ptr, v->u.s.len);
        break;
    case PV_BIN:
        msgpack_pack_bin(pk, v->u.s.len);
        msgpack_pack_bin_body(pk, v->u.s.ptr, v->u.s.len);
        break;
    case PV_STRLIST:
        msgpack_pack_array(pk, v->u.list.n);
        for (uint32_t i = 0; i < v->u.list.n; i++) {
            msgpack_pack_str(pk, v->u.list.items[i].len);
            msgpack_pack_str_body(pk, v->u.list.items[i].ptr, v->u.list.items[i].len);
        }
        break;
    }
}

static void pack_cstr(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int sval_encode(gs_buf *out, const proto_value *v)
{
    pack_sink ps = {out, GS_OK};
    msgpack_packer pk;
    size_t len0 = out->len;

    msgpack_packer_init(&pk, &ps, pack_write);
    pack_value(&pk, v);
    if (ps.rc)
        out->len = len0;
    return ps.rc;
}

/* A reader over a blob that has already been copied into the arena. */
typedef struct rd {
    const uint8_t *p; /* the blob */
    size_t len;       /* its bytes */
    size_t pos;       /* next byte to read */
} rd;

static int rd_need(rd *r, size_t n)
{
    return r->len - r->pos >= n ? GS_OK : GS_E_DB;
}

static uint64_t rd_be(rd *r, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | r->p[r->pos + i];
    r->pos += n;
    return v;
}

/* Reads a str header; *n is its length and the bytes start at r->pos. */
static int rd_str_head(rd *r, uint32_t *n)
{
    uint8_t b;
    size_t w;

    if (rd_need(r, 1))
        return GS_E_DB;
    b = r->p[r->pos++];
    if ((b & 0xE0) == 0xA0) {
        *n = b & 0x1F;
    } else {
        if (b == 0xD9)
            w = 1;
        else if (b == 0xDA)
            w = 2;
        else if (b == 0xDB)
            w = 4;
        else
            return GS_E_DB;
        if (rd_need(r, w))
            return GS_E_DB;
        *n = (uint32_t)rd_be(r, w);
    }
    return rd_need(r, *n);
}

static int rd_str(rd *r, proto_str *s)
{
    uint32_t n;
    if (rd_str_head(r, &n))
        return GS_E_DB;
    s->ptr = n ? (const char *)r->p + r->pos : NULL;
    s->len = n;
    r->pos += n;
    return GS_OK;
}

static int rd_array_head(rd *r, uint32_t *n)
{
    uint8_t b;
    if (rd_need(r, 1))
        return GS_E_DB;
    b = r->p[r->pos++];
    if ((b & 0xF0) == 0x90) {
        *n = b & 0x0F;
        return GS_OK;
    }
    if (b != 0xDC && b != 0xDD)
        return GS_E_DB;
    if (rd_need(r, b == 0xDC ? 2 : 4))
        return GS_E_DB;
    *n = (uint32_t)rd_be(r, b == 0xDC ? 2 : 4);
    return GS_OK;
}

static int rd_uint(rd *r, uint64_t *out)
{
    uint8_t b;
    size_t w;
    if (rd_need(r, 1))
        return GS_E_DB;
    b = r->p[r->pos++];
    if (b <= 0x7F) {
        *out = b;
        return GS_OK;
    }
    if (b < 0xCC || b > 0xCF)
        return GS_E_DB;
    w = (size_t)1 << (b - 0xCC);
    if (rd_need(r, w))
        return GS_E_DB;
    *out = rd_be(r, w);
    return GS_OK;
}

static int rd_value(rd *r, gs_arena *a, proto_value *v)
{
    uint8_t b;
    uint64_t u;
    uint32_t n;

    memset(v, 0, sizeof(*v));
    if (rd_need(r, 1))
        return GS_E_DB;
    b = r->p[r->pos];
    if (b <= 0x7F || b >= 0xE0) {
        r->pos++;
        v->type = PV_INT;
        v->u.i = b <= 0x7F ? b : (int64_t)(int8_t)b;
        return GS_OK;
    }
    if ((b & 0xE0) == 0xA0 || b == 0xD9 || b == 0xDA || b == 0xDB) {
        v->type = PV_STR;
        return rd_str(r, &v->u.s);
    }
    if ((b & 0xF0) == 0x90 || b == 0xDC || b == 0xDD) {
        if (rd_array_head(r, &n))
            return GS_E_DB;
        if (n > PROTO_MAX_TAGS)
            return GS_E_DB;
        v->type = PV_STRLIST;
        v->u.list.n = n;
        v->u.list.items = n ? arena_alloc(a, n * sizeof(proto_str)) : NULL;
        if (n && !v->u.list.items)
            return GS_E_NOMEM;
        for (uint32_t i = 0; i < n; i++)
            if (rd_str(r, &v->u.list.items[i]))
                return GS_E_DB;
        return GS_OK;
    }
    r->pos++;
    switch (b) {
    case 0xC0:
        v->type = PV_NIL;
        return GS_OK;
    case 0xC2:
    case 0xC3:
        v->type = PV_BOOL;
        v->u.b = b == 0xC3;
        return GS_OK;
    case 0xCC:
    case 0xCD:
    case 0xCE:
    case 0xCF:
        r->pos--;
        if (rd_uint(r, &u) || u > INT64_MAX)
            return GS_E_DB;
        v->type = PV_INT;
        v->u.i = (int64_t)u;
        return GS_OK;
    case 0xD0:
    case 0xD1:
    case 0xD2:
    case 0xD3: {
        size_t w = (size_t)1 << (b - 0xD0);
        if (rd_need(r, w))
            return GS_E_DB;
        u = rd_be(r, w);
        v->type = PV_INT;
        if (w == 1)
            v->u.i = (int8_t)u;
        else if (w == 2)
            v->u.i = (int16_t)u;
        else if (w == 4)
            v->u.i = (int32_t)u;
        else
            memcpy(&v->u.i, &u, sizeof(u));
        return GS_OK;
    }
    case 0xCA: {
        uint32_t bits;
        float f;
        if (rd_need(r, 4))
            return GS_E_DB;
        bits = (uint32_t)rd_be(r, 4);
        memcpy(&f, &bits, sizeof(f));
        v->type = PV_REAL;
        v->u.r = f;
        return GS_OK;
    }
    case 0xCB:
        if (rd_need(r, 8))
            return GS_E_DB;
        u = rd_be(r, 8);
        v->type = PV_REAL;
        memcpy(&v->u.r, &u, sizeof(u));
        return GS_OK;
    case 0xC4:
    case 0xC5:
    case 0xC6: {
        size_t w = (size_t)1 << (b - 0xC4);
        if (rd_need(r, w))
            return GS_E_DB;
        n = (uint32_t)rd_be(r, w);
        if (rd_need(r, n))
            return GS_E_DB;
        v->type = PV_BIN;
        v->u.s.ptr = n ? (const char *)r->p + r->pos : NULL;
        v->u.s.len = n;
        r->pos += n;
        return GS_OK;
    }
    }
    return GS_E_DB;
}

/* Copies blob into the arena and starts a reader on the copy. */
static int rd_start(rd *r, gs_arena *a, const void *blob, size_t len)
{
    uint8_t *copy = arena_alloc(a, len);
    if (!copy)
        return GS_E_NOMEM;
    if (len)
        memcpy(copy, blob, len);
    r->p = copy;
    r->len = len;
    r->pos = 0;
    return GS_OK;
}

int sval_decode(gs_arena *a, const void *blob, size_t len, proto_value *out)
{
    rd r;
    proto_value v;
    int rc = rd_start(&r, a, blob, len);

    if (rc)
        return rc;
    rc = rd_value(&r, a, &v);
    if (!rc && r.pos != r.len)
        rc = GS_E_DB;
    if (!rc)
        *out = v;
    return rc;
}

int sval_copy(gs_arena *a, const proto_value *v, proto_value *out)
{
    proto_value c = *v;

    if (v->type == PV_STR || v->type == PV_BIN) {
        c.u.s.ptr = v->u.s.len ? arena_strndup(a, v->u.s.ptr, v->u.s.len) : NULL;
        if (v->u.s.len && !c.u.s.ptr)
            return GS_E_NOMEM;
    } else if (v->type == PV_STRLIST) {
        uint32_t n = v->u.list.n;
        c.u.list.items = n ? arena_alloc(a, n * sizeof(proto_str)) : NULL;
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

/* An ack blob: [ok, ver, err, msg, [[name, value, ver, hlc], ...]]; the seq is the key.
 * Acks stored before per-field clocks have [name, value, ver] entries (hlc read as 0). */
int sval_ack_encode(gs_buf *out, const proto_ack *ack)
{
    pack_sink ps = {out, GS_OK};
    msgpack_packer pk;
    size_t len0 = out->len;

    msgpack_packer_init(&pk, &ps, pack_write);
    msgpack_pack_array(&pk, 5);
    if (ack->ok)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_pack_uint64(&pk, ack->version);
    pack_cstr(&pk, ack->err.ptr, ack->err.len);
    pack_cstr(&pk, ack->msg.ptr, ack->msg.len);
    msgpack_pack_array(&pk, ack->n_lost);
    for (uint32_t i = 0; i < ack->n_lost; i++) {
        msgpack_pack_array(&pk, 4);
        pack_cstr(&pk, ack->lost[i].name.ptr, ack->lost[i].name.len);
        pack_value(&pk, &ack->lost[i].value);
        msgpack_pack_uint64(&pk, ack->lost[i].ver);
        msgpack_pack_uint64(&pk, ack->lost[i].hlc);
    }
    if (ps.rc)
        out->len = len0;
    return ps.rc;
}

int sval_ack_decode(gs_arena *a, const void *blob, size_t len, proto_ack *ack)
{
    rd r;
    uint32_t n;
    uint8_t b;
    proto_ack k = *ack;
    int rc = rd_start(&r, a, blob, len);

    if (rc)
        return rc;
    if (rd_array_head(&r, &n) || n != 5 || rd_need(&r, 1))
        return GS_E_DB;
    b = r.p[r.pos++];
    if (b != 0xC2 && b != 0xC3)
        return GS_E_DB;
    k.ok = b == 0xC3;
    if (rd_uint(&r, &k.version) || rd_str(&r, &k.err) || rd_str(&r, &k.msg) ||
        rd_array_head(&r, &n))
        return GS_E_DB;
    if (n > PROTO_MAX_FIELDS + 1)
        return GS_E_DB;
    k.n_lost = n;
    k.lost = n ? arena_alloc(a, n * sizeof(proto_field)) : NULL;
    if (n && !k.lost)
        return GS_E_NOMEM;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m;
        if (rd_array_head(&r, &m) || (m != 3 && m != 4) || rd_str(&r, &k.lost[i].name))
            return GS_E_DB;
        rc = rd_value(&r, a, &k.lost[i].value);
        if (rc)
            return rc;
        k.lost[i].hlc = 0;
        if (rd_uint(&r, &k.lost[i].ver) || (m == 4 && rd_uint(&r, &k.lost[i].hlc)))
            return GS_E_DB;
    }
    if (r.pos != r.len)
        return GS_E_DB;
    *ack = k;
    return GS_OK;
}

int sval_fields_encode(gs_buf *out, const proto_field *fields, uint32_t n)
{
    pack_sink ps = {out, GS_OK};
    msgpack_packer pk;
    size_t len0 = out->len;

    msgpack_packer_init(&pk, &ps, pack_write);
    msgpack_pack_map(&pk, n);
    for (uint32_t i = 0; i < n; i++) {
        pack_cstr(&pk, fields[i].name.ptr, fields[i].name.len);
        msgpack_pack_array(&pk, 2);
        pack_value(&pk, &fields[i].value);
        msgpack_pack_uint64(&pk, fields[i].ver);
    }
    if (ps.rc)
        out->len = len0;
    return ps.rc;
}
