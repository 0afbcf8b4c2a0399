/*
 * codec.c: decoding of the sync protocol's MessagePack messages (PROTOCOL.md) with
 * msgpack-c 4.0, and the small value helpers of proto.h. Encoding is in encode.c.
 *
 * A body is decoded in three steps, each of which may refuse it:
 *
 *   bytes --scan--> known-good framing --msgpack_unpack_next--> object tree --walk--> proto_*
 *
 *   1. scan (ours, allocates nothing): the top object is a map; every byte is a MessagePack
 *      type; nothing is cut short; nothing follows the message; nesting stays within
 *      PROTO_MAX_DEPTH; no container announces more than PROTO_MAX_CHANGES entries or more
 *      entries than bytes are left. msgpack-c is only trusted with input that passed: its
 *      parse stack is fixed (MSGPACK_EMBED_STACK_SIZE, 32) and it reports deeper input as
 *      MSGPACK_UNPACK_NOMEM_ERROR, and it allocates room for a container's announced count
 *      before reading a single element of it.
 *   2. msgpack_unpack_next builds the tree in a zone; str and bin objects point into the
 *      input.
 *   3. walk: the tree is checked against the message layout (types, required, unknown and
 *      duplicate keys, limits, the version floor, seq order) and copied into proto_* structs.
 *      The message struct and all its arrays live in an arena of gs_malloc'd chunks that the
 *      message owns (its `arena` field); the zone is freed before returning.
 *
 * Invariants: on failure *out is untouched, err says what and where ("ch[3].f.kind[0]:
 * expected str, got int") and nothing stays allocated; on success every proto_str of the
 * message points into the caller's input, which must outlive the message.
 */
#include "proto.h"

#include "common/alloc.h"
#include "common/arena.h"

#include <msgpack.h>
#include <msgpack/unpack_define.h> /* MSGPACK_EMBED_STACK_SIZE */

#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* Checks the framing of p[0..len) as described at the top of this file. */
static int scan(const uint8_t *p, size_t len, gs_err *err)
{
    uint64_t left[PROTO_MAX_DEPTH]; /* elements (map: keys and values) still due per level */
    size_t depth = 0;               /* containers open */
    size_t pos = 0;

    if (len == 0)
        return gs_err_set(err, GS_E_PROTO_TRUNCATED, "empty body: expected a map");
    if (!(p[0] >= 0x80 && p[0] <= 0x8f) && p[0] != 0xde && p[0] != 0xdf)
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

/* ---- walk ---------------------------------------------------------------------------- */

/* State of one walk over a decoded object tree. */
typedef struct dec {
    gs_err *err;        /* where a failure is described; may be NULL */
    gs_arena arena;     /* storage of the message being built */
    size_t plen;        /* bytes of path in use */
    char path[192];     /* where the walk is, e.g. "ch[3].f.kind[0]"; NUL-terminated */
} dec;

/* Appends to the path; returns the previous length, to give to path_pop. Names from the
 * input are printed with bytes outside printable ASCII as '?', so an error message never
 * carries control characters into a log line. */
static size_t path_push(dec *d, const char *sep, const char *name, size_t len)
{
    size_t mark = d->plen;
    size_t room = sizeof(d->path) - 1;

    for (; *sep && d->plen < room; sep++)
        d->path[d->plen++] = *sep;
    for (size_t i = 0; i < len && d->plen < room; i++) {
        unsigned char ch = (unsigned char)name[i];
        d->path[d->plen++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    d->path[d->plen] = '\0';
    return mark;
}

/* Appends "[i]". Runs for every list element of every message, so it formats by hand:
 * snprintf here was a tenth of the decoding time of a body of many small lists. */
static size_t path_index(dec *d, uint32_t i)
{
    char num[12];
    size_t n = sizeof(num);

    num[--n] = ']';
    do {
        num[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    num[--n] = '[';
    return path_push(d, "", num + n, sizeof(num) - n);
}

static void path_pop(dec *d, size_t mark)
{
    d->plen = mark;
    d->path[mark] = '\0';
}

static int fail(dec *d, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(dec *d, int rc, const char *fmt, ...)
{
    char what[GS_ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (d->plen)
        return gs_err_set(d->err, rc, "%s: %s", d->path, what);
    return gs_err_set(d->err, rc, "%s", what);
}

static void *dec_alloc(dec *d, size_t count, size_t size, int *rc)
{
    void *p = arena_alloc_array(&d->arena, count, size);
    if (!p)
        *rc = fail(d, GS_E_NOMEM, "out of memory decoding the message");
    return p;
}

static const char *obj_type(const msgpack_object *o)
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

static int get_uint(dec *d, const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(d, GS_E_PROTO_TYPE, "expected uint, got %s", obj_type(o));
    if (o->via.u64 > max)
        return fail(d, GS_E_PROTO_LIMIT, "%llu is over the limit of %llu",
                    (unsigned long long)o->via.u64, (unsigned long long)max);
    *out = o->via.u64;
    return GS_OK;
}

static int get_u32(dec *d, const msgpack_object *o, uint32_t *out)
{
    uint64_t v = 0; /* gcc -O2 cannot see that fail() never returns GS_OK */
    int rc = get_uint(d, o, UINT32_MAX, &v);
    if (!rc)
        *out = (uint32_t)v;
    return rc;
}

static int get_bool(dec *d, const msgpack_object *o, int *out)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return fail(d, GS_E_PROTO_TYPE, "expected bool, got %s", obj_type(o));
    *out = o->via.boolean ? 1 : 0;
    return GS_OK;
}

static int get_str(dec *d, const msgpack_object *o, uint32_t min, uint32_t max, proto_str *out)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(d, GS_E_PROTO_TYPE, "expected str, got %s", obj_type(o));
    if (o->via.str.size < min || o->via.str.size > max)
        return fail(d, GS_E_PROTO_LIMIT, "str of %u bytes, allowed %u..%u", o->via.str.size,
                    min, max);
    out->ptr = o->via.str.ptr;
    out->len = o->via.str.size;
    return GS_OK;
}

static int get_id(dec *d, const msgpack_object *o, uint8_t id[16])
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return fail(d, GS_E_PROTO_TYPE, "expected bin 16, got %s", obj_type(o));
    if (o->via.bin.size != 16)
        return fail(d, GS_E_PROTO_TYPE, "expected bin 16, got bin %u", o->via.bin.size);
    memcpy(id, o->via.bin.ptr, 16);
    return GS_OK;
}

#define MAX_KEYS 8

/* Sorts the entries of map o by the names in keys[0..n): vals[i] is the value of keys[i] or
 * NULL. Fails on a non-map, a key that is not a str, a key not in keys, or a key twice. */
static int get_map(dec *d, const msgpack_object *o, const char *const *keys, size_t n,
                   const msgpack_object **vals)
{
    int rc = GS_OK;

    for (size_t i = 0; i < n; i++)
        vals[i] = NULL;
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail(d, GS_E_PROTO_TYPE, "expected map, got %s", obj_type(o));
    for (uint32_t e = 0; e < o->via.map.size; e++) {
        const msgpack_object *k = &o->via.map.ptr[e].key;
        size_t i, mark;

        if (k->type != MSGPACK_OBJECT_STR)
            return fail(d, GS_E_PROTO_TYPE, "map key: expected str, got %s", obj_type(k));
        for (i = 0; i < n; i++)
            if (strlen(keys[i]) == k->via.str.size &&
                memcmp(keys[i], k->via.str.ptr, k->via.str.size) == 0)
                break;
        mark = path_push(d, d->plen ? "." : "", k->via.str.ptr,
                         k->via.str.size > PROTO_MAX_NAME ? PROTO_MAX_NAME : k->via.str.size);
        if (i == n)
            rc = fail(d, GS_E_PROTO_UNKNOWN, "unknown key");
        else if (vals[i])
            rc = fail(d, GS_E_PROTO, "key given twice");
        else
            vals[i] = &o->via.map.ptr[e].val;
        path_pop(d, mark);
        if (rc)
            return rc;
    }
    return GS_OK;
}

static int need(dec *d, const msgpack_object *const *vals, const char *const *keys, size_t i)
{
    if (!vals[i])
        return fail(d, GS_E_PROTO_MISSING, "required key '%s' is missing", keys[i]);
    return GS_OK;
}

/* Runs the getter call `expr` with the path extended by ".key". */
#define AT_KEY(d, key, expr)                                                                 \
    do {                                                                                     \
        size_t mark_ = path_push((d), (d)->plen ? "." : "", (key), strlen(key));             \
        rc = (expr);                                                                         \
        path_pop((d), mark_);                                                                \
        if (rc)                                                                              \
            goto out;                                                                        \
    } while (0)

static int get_value(dec *d, const msgpack_object *o, proto_value *v)
{
    int rc = GS_OK;

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
            return fail(d, GS_E_PROTO_LIMIT, "int %llu does not fit in 64-bit signed",
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
        return get_str(d, o, 0, PROTO_MAX_STR, &v->u.s);
    case MSGPACK_OBJECT_BIN:
        if (o->via.bin.size != 16)
            return fail(d, GS_E_PROTO_TYPE, "expected bin 16, got bin %u", o->via.bin.size);
        v->type = PV_BIN;
        v->u.s.ptr = o->via.bin.ptr;
        v->u.s.len = 16;
        return GS_OK;
    case MSGPACK_OBJECT_ARRAY: {
        uint32_t n = o->via.array.size;
        proto_str *items = NULL;
        if (n > PROTO_MAX_TAGS)
            return fail(d, GS_E_PROTO_LIMIT, "list of %u strings, at most %u allowed", n,
                        PROTO_MAX_TAGS);
        if (n) {
            items = dec_alloc(d, n, sizeof(*items), &rc);
            if (!items)
                return rc;
        }
        for (uint32_t i = 0; i < n; i++) {
            size_t mark = path_index(d, i);
            rc = get_str(d, &o->via.array.ptr[i], 0, PROTO_MAX_NAME, &items[i]);
            path_pop(d, mark);
            if (rc)
                return rc;
        }
        v->type = PV_STRLIST;
        v->u.list.items = items;
        v->u.list.n = n;
        return GS_OK;
    }
    default:
        break;
    }
    return fail(d, GS_E_PROTO_TYPE,
                "expected a value (nil, bool, int, float, str, bin 16 or array of str), got %s",
                obj_type(o));
}

/* A map name -> [value, uint] or [value, uint, uint] (the third is the field's HLC,
 * dflt_hlc when absent; need_hlc: it must be there), as "f" of a change or record state and
 * "lost" of an ack. */
static int get_fields(dec *d, const msgpack_object *o, uint32_t min, uint64_t dflt_hlc,
                      int need_hlc, proto_field **out, uint32_t *n_out)
{
    proto_field *fields = NULL;
    uint32_t n;
    int rc = GS_OK;

    if (o->type != MSGPACK_OBJECT_MAP)
        return fail(d, GS_E_PROTO_TYPE, "expected map of fields, got %s", obj_type(o));
    n = o->via.map.size;
    if (n < min || n > PROTO_MAX_FIELDS)
        return fail(d, GS_E_PROTO_LIMIT, "%u fields, allowed %u..%u", n, min,
                    PROTO_MAX_FIELDS);
    if (n) {
        fields = dec_alloc(d, n, sizeof(*fields), &rc);
        if (!fields)
            return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        const msgpack_object *pair = &o->via.map.ptr[i].val;
        proto_field *f = &fields[i];
        size_t mark;

        if (k->type != MSGPACK_OBJECT_STR)
            return fail(d, GS_E_PROTO_TYPE, "field name: expected str, got %s", obj_type(k));
        if (k->via.str.size > PROTO_MAX_NAME)
            return fail(d, GS_E_PROTO_LIMIT, "field name of %u bytes, at most %u allowed",
                        k->via.str.size, PROTO_MAX_NAME);
        f->name.ptr = k->via.str.ptr;
        f->name.len = k->via.str.size;
        mark = path_push(d, ".", f->name.ptr, f->name.len);
        for (uint32_t j = 0; j < i && !rc; j++)
            if (fields[j].name.len == f->name.len &&
                memcmp(fields[j].name.ptr, f->name.ptr, f->name.len) == 0)
                rc = fail(d, GS_E_PROTO, "field given twice");
        if (!rc && (pair->type != MSGPACK_OBJECT_ARRAY ||
                    !(pair->via.array.size == 3 || (pair->via.array.size == 2 && !need_hlc)))) {
            const char *want = need_hlc ? "[value, version, hlc]" : "[value, version(, hlc)]";
            if (pair->type == MSGPACK_OBJECT_ARRAY)
                rc = fail(d, GS_E_PROTO_TYPE, "expected %s, got array of %u", want,
                          pair->via.array.size);
            else
                rc = fail(d, GS_E_PROTO_TYPE, "expected %s, got %s", want, obj_type(pair));
        }
        if (!rc) {
            size_t m2 = path_index(d, 0);
            rc = get_value(d, &pair->via.array.ptr[0], &f->value);
            path_pop(d, m2);
        }
        if (!rc) {
            size_t m2 = path_index(d, 1);
            rc = get_uint(d, &pair->via.array.ptr[1], UINT64_MAX, &f->ver);
            path_pop(d, m2);
        }
        f->hlc = dflt_hlc;
        if (!rc && pair->via.array.size == 3) {
            size_t m2 = path_index(d, 2);
            rc = get_uint(d, &pair->via.array.ptr[2], UINT64_MAX, &f->hlc);
            path_pop(d, m2);
        }
        path_pop(d, mark);
        if (rc)
            return rc;
    }
    *out = fields;
    *n_out = n;
    return GS_OK;
}

static const char *const change_keys[] = {"seq", "t", "id", "hlc", "ct", "f"};
enum { CK_SEQ, CK_T, CK_ID, CK_HLC, CK_CT, CK_F, CK_N };

/* A change of the given PROTO_CH_* kind: pushed (seq t id hlc f), pulled (t id hlc [ct] f)
 * or a record state (t id [ct] f, every field with its hlc, f possibly empty). */
static int get_change(dec *d, const msgpack_object *o, int kind, proto_change *c)
{
    const msgpack_object *v[CK_N];
    int pushed = kind == PROTO_CH_PUSHED, state = kind == PROTO_CH_STATE;
    int rc = get_map(d, o, change_keys, CK_N, v);

    if (rc)
        goto out;
    if (!pushed && v[CK_SEQ])
        AT_KEY(d, "seq", fail(d, GS_E_PROTO_UNKNOWN, "not sent in a pulled change"));
    if (pushed && v[CK_CT])
        AT_KEY(d, "ct", fail(d, GS_E_PROTO_UNKNOWN, "not sent in a pushed change"));
    if (state && v[CK_HLC])
        AT_KEY(d, "hlc", fail(d, GS_E_PROTO_UNKNOWN, "not sent in a record state"));
    for (size_t i = 0; i < CK_N; i++) {
        if ((i == CK_SEQ && !pushed) || i == CK_CT || (i == CK_HLC && state))
            continue;
        rc = need(d, v, change_keys, i);
        if (rc)
            goto out;
    }
    if (pushed) {
        AT_KEY(d, "seq", get_uint(d, v[CK_SEQ], UINT64_MAX, &c->seq));
        if (c->seq == 0)
            AT_KEY(d, "seq", fail(d, GS_E_PROTO_LIMIT, "seq must be at least 1"));
    }
    AT_KEY(d, "t", get_str(d, v[CK_T], 0, PROTO_MAX_NAME, &c->table));
    AT_KEY(d, "id", get_id(d, v[CK_ID], c->id));
    if (!state)
        AT_KEY(d, "hlc", get_uint(d, v[CK_HLC], UINT64_MAX, &c->hlc));
    if (v[CK_CT])
        AT_KEY(d, "ct", get_uint(d, v[CK_CT], UINT64_MAX, &c->created));
    AT_KEY(d, "f", get_fields(d, v[CK_F], state ? 0 : 1, c->hlc, state, &c->fields,
                              &c->n_fields));
out:
    return rc;
}

/* An array of n changes at key "ch". For pushed changes also checks that seq rises
 * strictly and that none is below low (those are settled: resending one could apply it
 * twice once the server has forgotten its ack). */
static int get_changes(dec *d, const msgpack_object *o, int kind, uint64_t low,
                       proto_change **out, uint32_t *n_out)
{
    int pushed = kind == PROTO_CH_PUSHED;
    proto_change *ch = NULL;
    uint32_t n;
    int rc = GS_OK;

    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(d, GS_E_PROTO_TYPE, "expected array of changes, got %s", obj_type(o));
    n = o->via.array.size;
    if (n > PROTO_MAX_CHANGES)
        return fail(d, GS_E_PROTO_LIMIT, "%u changes, at most %u allowed", n,
                    PROTO_MAX_CHANGES);
    if (n) {
        ch = dec_alloc(d, n, sizeof(*ch), &rc);
        if (!ch)
            return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t mark = path_index(d, i);
        rc = get_change(d, &o->via.array.ptr[i], kind, &ch[i]);
        if (!rc && pushed && i > 0 && ch[i].seq <= ch[i - 1].seq)
            rc = fail(d, GS_E_PROTO, "seq %llu does not follow seq %llu: seq must rise",
                      (unsigned long long)ch[i].seq, (unsigned long long)ch[i - 1].seq);
        if (!rc && pushed && ch[i].seq < low)
            rc = fail(d, GS_E_PROTO, "seq %llu is below low %llu, so it is already settled",
                      (unsigned long long)ch[i].seq, (unsigned long long)low);
        path_pop(d, mark);
        if (rc)
            return rc;
    }
    *out = ch;
    *n_out = n;
    return GS_OK;
}

static int get_version(dec *d, const msgpack_object *o, uint32_t *out)
{
    int rc = get_u32(d, o, out);
    if (!rc && *out < PROTO_MIN_VERSION)
        rc = fail(d, GS_E_PROTO_VERSION,
                  "protocol version %u is older than the oldest supported, %u", *out,
                  PROTO_MIN_VERSION);
    return rc;
}

static const char *const req_keys[] = {"v", "dev", "cur", "low", "now", "max", "ch"};
enum { RK_V, RK_DEV, RK_CUR, RK_LOW, RK_NOW, RK_MAX, RK_CH, RK_N };

static int walk_req(dec *d, const msgpack_object *o, proto_sync_req *m)
{
    const msgpack_object *v[RK_N];
    int rc = get_map(d, o, req_keys, RK_N, v);

    if (rc)
        goto out;
    for (size_t i = 0; i < RK_N; i++) {
        if (i == RK_MAX)
            continue;
        rc = need(d, v, req_keys, i);
        if (rc)
            goto out;
    }
    AT_KEY(d, "v", get_version(d, v[RK_V], &m->version));
    AT_KEY(d, "dev", get_str(d, v[RK_DEV], 1, PROTO_MAX_NAME, &m->device));
    AT_KEY(d, "cur", get_uint(d, v[RK_CUR], UINT64_MAX, &m->cursor));
    AT_KEY(d, "low", get_uint(d, v[RK_LOW], UINT64_MAX, &m->low));
    AT_KEY(d, "now", get_uint(d, v[RK_NOW], UINT64_MAX, &m->now));
    if (v[RK_MAX])
        AT_KEY(d, "max", get_u32(d, v[RK_MAX], &m->pull_max));
    AT_KEY(d, "ch", get_changes(d, v[RK_CH], PROTO_CH_PUSHED, m->low, &m->changes,
                                &m->n_changes));
out:
    return rc;
}

static const char *const ack_keys[] = {"seq", "ok", "ver", "lost", "err", "msg"};
enum { AK_SEQ, AK_OK, AK_VER, AK_LOST, AK_ERR, AK_MSG, AK_N };

static int get_ack(dec *d, const msgpack_object *o, proto_ack *a)
{
    const msgpack_object *v[AK_N];
    int rc = get_map(d, o, ack_keys, AK_N, v);

    if (rc)
        goto out;
    rc = need(d, v, ack_keys, AK_SEQ);
    if (!rc)
        rc = need(d, v, ack_keys, AK_OK);
    if (rc)
        goto out;
    AT_KEY(d, "seq", get_uint(d, v[AK_SEQ], UINT64_MAX, &a->seq));
    if (a->seq == 0)
        AT_KEY(d, "seq", fail(d, GS_E_PROTO_LIMIT, "seq must be at least 1"));
    AT_KEY(d, "ok", get_bool(d, v[AK_OK], &a->ok));
    if (a->ok) {
        for (size_t i = AK_ERR; i <= AK_MSG; i++)
            if (v[i])
                AT_KEY(d, ack_keys[i], fail(d, GS_E_PROTO_UNKNOWN, "not sent when ok is true"));
        rc = need(d, v, ack_keys, AK_VER);
        if (rc)
            goto out;
        AT_KEY(d, "ver", get_uint(d, v[AK_VER], UINT64_MAX, &a->version));
        if (v[AK_LOST])
            AT_KEY(d, "lost", get_fields(d, v[AK_LOST], 0, 0, 0, &a->lost, &a->n_lost));
    } else {
        for (size_t i = AK_VER; i <= AK_LOST; i++)
            if (v[i])
                AT_KEY(d, ack_keys[i],
                       fail(d, GS_E_PROTO_UNKNOWN, "not sent when ok is false"));
        rc = need(d, v, ack_keys, AK_ERR);
        if (!rc)
            rc = need(d, v, ack_keys, AK_MSG);
        if (rc)
            goto out;
        AT_KEY(d, "err", get_str(d, v[AK_ERR], 0, PROTO_MAX_NAME, &a->err));
        AT_KEY(d, "msg", get_str(d, v[AK_MSG], 0, PROTO_MAX_STR, &a->msg));
    }
out:
    return rc;
}

static int get_acks(dec *d, const msgpack_object *o, proto_ack **out, uint32_t *n_out)
{
    proto_ack *acks = NULL;
    uint32_t n;
    int rc = GS_OK;

    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail(d, GS_E_PROTO_TYPE, "expected array of acks, got %s", obj_type(o));
    n = o->via.array.size;
    if (n > PROTO_MAX_CHANGES)
        return fail(d, GS_E_PROTO_LIMIT, "%u acks, at most %u allowed", n, PROTO_MAX_CHANGES);
    if (n) {
        acks = dec_alloc(d, n, sizeof(*acks), &rc);
        if (!acks)
            return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        size_t mark = path_index(d, i);
        rc = get_ack(d, &o->via.array.ptr[i], &acks[i]);
        if (!rc && i > 0 && acks[i].seq <= acks[i - 1].seq)
            rc = fail(d, GS_E_PROTO, "seq %llu does not follow seq %llu: acks are in request "
                      "order", (unsigned long long)acks[i].seq,
                      (unsigned long long)acks[i - 1].seq);
        path_pop(d, mark);
        if (rc)
            return rc;
    }
    *out = acks;
    *n_out = n;
    return GS_OK;
}

static const char *const resp_keys[] = {"v", "now", "ack", "ch", "cur", "more", "clk", "fix"};
enum { SK_V, SK_NOW, SK_ACK, SK_CH, SK_CUR, SK_MORE, SK_CLK, SK_FIX, SK_N };

static int walk_resp(dec *d, const msgpack_object *o, proto_sync_resp *m)
{
    const msgpack_object *v[SK_N];
    int rc = get_map(d, o, resp_keys, SK_N, v);

    if (rc)
        goto out;
    for (size_t i = 0; i <= SK_MORE; i++) {
        rc = need(d, v, resp_keys, i);
        if (rc)
            goto out;
    }
    AT_KEY(d, "v", get_version(d, v[SK_V], &m->version));
    /* clk came with version 2: required from a server that says it speaks 2 or later */
    if (m->version >= 2) {
        rc = need(d, v, resp_keys, SK_CLK);
        if (rc)
            goto out;
    }
    AT_KEY(d, "now", get_uint(d, v[SK_NOW], UINT64_MAX, &m->now));
    AT_KEY(d, "ack", get_acks(d, v[SK_ACK], &m->acks, &m->n_acks));
    AT_KEY(d, "ch", get_changes(d, v[SK_CH], PROTO_CH_PULLED, 0, &m->changes, &m->n_changes));
    AT_KEY(d, "cur", get_uint(d, v[SK_CUR], UINT64_MAX, &m->cursor));
    AT_KEY(d, "more", get_bool(d, v[SK_MORE], &m->more));
    if (v[SK_CLK])
        AT_KEY(d, "clk", get_uint(d, v[SK_CLK], UINT64_MAX, &m->clock_ms));
    if (v[SK_FIX])
        AT_KEY(d, "fix", get_changes(d, v[SK_FIX], PROTO_CH_STATE, 0, &m->fixes, &m->n_fixes));
out:
    return rc;
}

static const char *const err_keys[] = {"err", "msg", "min_v"};
enum { EK_ERR, EK_MSG, EK_MIN_V, EK_N };

static int walk_error(dec *d, const msgpack_object *o, proto_error *m)
{
    const msgpack_object *v[EK_N];
    int rc = get_map(d, o, err_keys, EK_N, v);

    if (rc)
        goto out;
    rc = need(d, v, err_keys, EK_ERR);
    if (!rc)
        rc = need(d, v, err_keys, EK_MSG);
    if (rc)
        goto out;
    AT_KEY(d, "err", get_str(d, v[EK_ERR], 1, PROTO_MAX_NAME, &m->code));
    AT_KEY(d, "msg", get_str(d, v[EK_MSG], 0, PROTO_MAX_STR, &m->msg));
    if (v[EK_MIN_V])
        AT_KEY(d, "min_v", get_u32(d, v[EK_MIN_V], &m->min_version));
out:
    return rc;
}

typedef int walk_fn(dec *d, const msgpack_object *o, void *m);

/* The three steps of the file comment for one message type; *out gets the message, whose
 * struct of msg_size bytes is the first thing in its arena (arena_off: where its `arena`
 * field is). */
static int decode(const void *buf, size_t len, size_t msg_size, size_t arena_off,
                  walk_fn *walk, void **out, gs_err *err)
{
    dec d = {.err = err};
    msgpack_unpacked up;
    msgpack_unpack_return ur;
    size_t off = 0;
    void *m = NULL;
    int rc = GS_OK;

    msgpack_unpacked_init(&up);
    if (len > PROTO_MAX_BODY) {
        rc = gs_err_set(err, GS_E_TOO_LARGE, "body of %zu bytes, at most %u allowed", len,
                        PROTO_MAX_BODY);
        goto out;
    }
    if (len && !buf) {
        rc = gs_err_set(err, GS_E_INVALID, "no buffer");
        goto out;
    }
    rc = scan(buf, len, err);
    if (rc)
        goto out;
    ur = msgpack_unpack_next(&up, buf, len, &off);
    if (ur == MSGPACK_UNPACK_NOMEM_ERROR) {
        /* the scan keeps nesting far below msgpack-c's fixed stack, so this is memory;
         * were PROTO_MAX_DEPTH ever raised past it, the stack would report here instead */
        rc = PROTO_MAX_DEPTH >= MSGPACK_EMBED_STACK_SIZE
                 ? gs_err_set(err, GS_E_PROTO_DEPTH, "nested deeper than msgpack-c allows")
                 : gs_err_set(err, GS_E_NOMEM, "out of memory parsing the message");
        goto out;
    }
    if (ur != MSGPACK_UNPACK_SUCCESS || off != len) {
        rc = gs_err_set(err, GS_E_PROTO,
                        "msgpack-c refused a body the scan accepted: code %d", (int)ur);
        goto out;
    }
    arena_init(&d.arena, ARENA_NO_CAP); /* bounded by the body's size and counts */
    m = arena_alloc(&d.arena, msg_size);
    if (!m) {
        rc = gs_err_set(err, GS_E_NOMEM, "out of memory decoding the message");
        goto out;
    }
    rc = walk(&d, &up.data, m);
    if (rc)
        goto out;
    memcpy((char *)m + arena_off, &d.arena, sizeof(d.arena));
    *out = m;
    arena_init(&d.arena, 0); /* the message owns the chunks now */
out:
    arena_free(&d.arena);
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int walk_req_any(dec *d, const msgpack_object *o, void *m)
{
    return walk_req(d, o, m);
}

static int walk_resp_any(dec *d, const msgpack_object *o, void *m)
{
    return walk_resp(d, o, m);
}

static int walk_error_any(dec *d, const msgpack_object *o, void *m)
{
    return walk_error(d, o, m);
}

int proto_decode_sync_req(const void *buf, size_t len, proto_sync_req **out, gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_sync_req), offsetof(proto_sync_req, arena),
                    walk_req_any, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

int proto_decode_sync_resp(const void *buf, size_t len, proto_sync_resp **out, gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_sync_resp), offsetof(proto_sync_resp, arena),
                    walk_resp_any, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

int proto_decode_error(const void *buf, size_t len, proto_error **out, gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_error), offsetof(proto_error, arena),
                    walk_error_any, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

/* A decoded message lives in its own arena, struct included; one built by hand (arena
 * empty) belongs to whoever built it and is left alone. */
void proto_sync_req_free(proto_sync_req *m)
{
    gs_arena a;

    if (!m)
        return;
    a = m->arena; /* the struct itself lives in the chunks being freed */
    arena_free(&a);
}

void proto_sync_resp_free(proto_sync_resp *m)
{
    gs_arena a;

    if (!m)
        return;
    a = m->arena; /* the struct itself lives in the chunks being freed */
    arena_free(&a);
}

void proto_error_free(proto_error *m)
{
    gs_arena a;

    if (!m)
        return;
    a = m->arena; /* the struct itself lives in the chunks being freed */
    arena_free(&a);
}

/* ---- value helpers ------------------------------------------------------------------- */

int proto_str_eq(proto_str s, const char *cstr)
{
    size_t n = cstr ? strlen(cstr) : 0;
    return s.len == n && (n == 0 || memcmp(s.ptr, cstr, n) == 0);
}

proto_str proto_cstr(const char *cstr)
{
    proto_str s = {cstr, 0};
    if (cstr) {
        size_t n = strlen(cstr);
        s.len = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    }
    return s;
}

static int str_same(proto_str a, proto_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* How often s occurs in a string list (lists are at most PROTO_MAX_TAGS long). */
static uint32_t list_count(const proto_str *items, uint32_t n_items, proto_str s)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < n_items; i++)
        n += (uint32_t)str_same(items[i], s);
    return n;
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
    case PV_STRLIST:
        /* a list of tags is a set: the same tags in another order are the same value, and
           must not be reported as a conflict */
        if (a->u.list.n != b->u.list.n)
            return 0;
        for (uint32_t i = 0; i < a->u.list.n; i++)
            if (list_count(a->u.list.items, a->u.list.n, a->u.list.items[i]) !=
                list_count(b->u.list.items, b->u.list.n, a->u.list.items[i]))
                return 0;
        return 1;
    }
    return 0;
}
