/*
 * codec.c: decoding of the sync protocol's MessagePack messages (PROTOCOL.md) with
 * msgpack-c 4.0, and the string helpers of proto.h. Encoding is in encode.c; a field value
 * is read and written by value.c.
 *
 * A body is decoded in three steps, each of which may refuse it:
 *
 *   bytes --scan--> known-good framing --msgpack_unpack_next--> object tree --walk--> proto_*
 *
 *   1. scan (proto_scan in value.c, ours, allocates nothing): the top object is a map;
 *      every byte is a MessagePack type; nothing is cut short; nothing follows the message;
 *      nesting stays within PROTO_MAX_DEPTH; no container announces more than
 *      PROTO_MAX_CHANGES entries or more entries than bytes are left. msgpack-c is only
 *      trusted with input that passed: its parse stack is fixed (MSGPACK_EMBED_STACK_SIZE,
 *      32) and it reports deeper input as MSGPACK_UNPACK_NOMEM_ERROR, and it allocates room
 *      for a container's announced count before reading a single element of it.
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
#include "schema.h"
#include "value.h"

#include <msgpack.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- walk ---------------------------------------------------------------------------- */

/* State of one walk over a decoded object tree. */
typedef struct dec {
    gs_err *err;        /* where a failure is described; may be NULL */
    gs_arena arena;     /* storage of the message being built */
    size_t plen;        /* bytes of path in use */
    char path[192];     /* where the walk is, e.g. "ch[3].f.kind[0]"; NUL-terminated */
    int screen;         /* pushed changes' fields read against the schema (get_fields) */
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
    if (!p && size && count > (d->arena.max - d->arena.used) / size)
        *rc = fail(d, GS_E_PROTO_LIMIT, "the message needs more than %zu bytes decoded",
                   d->arena.max);
    else if (!p)
        *rc = fail(d, GS_E_NOMEM, "out of memory decoding the message");
    return p;
}

static int get_uint(dec *d, const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return fail(d, GS_E_PROTO_TYPE, "expected uint, got %s", proto_obj_type(o));
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
        return fail(d, GS_E_PROTO_TYPE, "expected bool, got %s", proto_obj_type(o));
    *out = o->via.boolean ? 1 : 0;
    return GS_OK;
}

static int get_str(dec *d, const msgpack_object *o, uint32_t min, uint32_t max, proto_str *out)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return fail(d, GS_E_PROTO_TYPE, "expected str, got %s", proto_obj_type(o));
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
        return fail(d, GS_E_PROTO_TYPE, "expected bin 16, got %s", proto_obj_type(o));
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
        return fail(d, GS_E_PROTO_TYPE, "expected map, got %s", proto_obj_type(o));
    for (uint32_t e = 0; e < o->via.map.size; e++) {
        const msgpack_object *k = &o->via.map.ptr[e].key;
        size_t i, mark;

        if (k->type != MSGPACK_OBJECT_STR)
            return fail(d, GS_E_PROTO_TYPE, "map key: expected str, got %s", proto_obj_type(k));
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

/* A map name -> [value, uint] or [value, uint, uint] (the third is the field's HLC,
 * dflt_hlc when absent; need_hlc: it must be there), as "f" of a change or record state and
 * "lost" of an ack. screen (a pushed change; t its table, NULL when unknown): the field map
 * is read against the schema, and the first name that is not a field of t ends it there
 * (issue 18, item 3): that field is kept by name with a nil value, the rest is not decoded,
 * so an invented field costs nothing past the framing pass; the merge rejects the change
 * `invalid` naming it, as before. Pulled changes are not screened: a device skips fields of
 * a newer server's schema. */
static int get_fields(dec *d, const msgpack_object *o, uint32_t min, uint64_t dflt_hlc,
                      int need_hlc, int screen, const schema_table *t, proto_field **out,
                      uint32_t *n_out)
{
    proto_field *fields = NULL;
    uint32_t n;
    int rc = GS_OK;

    if (o->type != MSGPACK_OBJECT_MAP)
        return fail(d, GS_E_PROTO_TYPE, "expected map of fields, got %s", proto_obj_type(o));
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
            return fail(d, GS_E_PROTO_TYPE, "field name: expected str, got %s", proto_obj_type(k));
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
        if (!rc && screen && (!t || !schema_field_find(t, f->name.ptr, f->name.len))) {
            memset(&f->value, 0, sizeof(f->value)); /* PV_NIL, never read */
            f->ver = 0;
            f->hlc = dflt_hlc;
            path_pop(d, mark);
            n = i + 1;
            break;
        }
        if (!rc && (pair->type != MSGPACK_OBJECT_ARRAY ||
                    !(pair->via.array.size == 3 || (pair->via.array.size == 2 && !need_hlc)))) {
            const char *want = need_hlc ? "[value, version, hlc]" : "[value, version(, hlc)]";
            if (pair->type == MSGPACK_OBJECT_ARRAY)
                rc = fail(d, GS_E_PROTO_TYPE, "expected %s, got array of %u", want,
                          pair->via.array.size);
            else
                rc = fail(d, GS_E_PROTO_TYPE, "expected %s, got %s", want, proto_obj_type(pair));
        }
        if (!rc) {
            size_t m2 = path_index(d, 0);
            rc = proto_value_get(&pair->via.array.ptr[0], &d->arena, d->path, &f->value, d->err);
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
    AT_KEY(d, "f", get_fields(d, v[CK_F], state ? 0 : 1, c->hlc, state, pushed && d->screen,
                              schema_table_find(c->table.ptr, c->table.len), &c->fields,
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
        return fail(d, GS_E_PROTO_TYPE, "expected array of changes, got %s", proto_obj_type(o));
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
    /* versions are SQLite int64: a cursor of 2^63 or more names none, and bound as an
     * int64 it would turn negative and re-send the whole grid (issue 18) */
    AT_KEY(d, "cur", get_uint(d, v[RK_CUR], INT64_MAX, &m->cursor));
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
            AT_KEY(d, "lost", get_fields(d, v[AK_LOST], 0, 0, 0, 0, NULL, &a->lost, &a->n_lost));
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
        return fail(d, GS_E_PROTO_TYPE, "expected array of acks, got %s", proto_obj_type(o));
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

static const char *const resp_keys[] = {"v",    "now", "ack", "ch", "cur",
                                        "more", "clk", "ep",  "fix"};
enum { SK_V, SK_NOW, SK_ACK, SK_CH, SK_CUR, SK_MORE, SK_CLK, SK_EP, SK_FIX, SK_N };

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
    /* ep came with version 3 */
    if (m->version >= 3) {
        rc = need(d, v, resp_keys, SK_EP);
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
    if (v[SK_EP]) {
        AT_KEY(d, "ep", get_uint(d, v[SK_EP], UINT64_MAX, &m->epoch));
        if (m->epoch == 0)
            AT_KEY(d, "ep", fail(d, GS_E_PROTO_LIMIT, "ep must be at least 1"));
    }
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
                  size_t max_objects, walk_fn *walk, void **out, gs_err *err)
{
    dec d = {.err = err};
    msgpack_unpacked up;
    void *m = NULL;
    int rc = GS_OK;

    msgpack_unpacked_init(&up);
    rc = proto_unpack_limit(buf, len, 1, max_objects, &up, err);
    if (rc)
        goto out;
    /* bounded by the object count too; the cap makes the bound explicit (a message
     * past it is refused, not an allocation failure of the process) */
    arena_init(&d.arena, PROTO_DECODE_ARENA_MAX);
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

static int walk_req_screened(dec *d, const msgpack_object *o, void *m)
{
    d->screen = 1;
    return walk_req_any(d, o, m);
}

int proto_decode_sync_req_screened(const void *buf, size_t len, proto_sync_req **out,
                                   gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_sync_req), offsetof(proto_sync_req, arena),
                    schema_max_request_objects(), walk_req_screened, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

int proto_decode_sync_req(const void *buf, size_t len, proto_sync_req **out, gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_sync_req), offsetof(proto_sync_req, arena),
                    schema_max_request_objects(), walk_req_any, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

int proto_decode_sync_resp(const void *buf, size_t len, proto_sync_resp **out, gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_sync_resp), offsetof(proto_sync_resp, arena), SIZE_MAX,
                    walk_resp_any, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

int proto_decode_error(const void *buf, size_t len, proto_error **out, gs_err *err)
{
    void *m;
    int rc = decode(buf, len, sizeof(proto_error), offsetof(proto_error, arena), SIZE_MAX,
                    walk_error_any, &m, err);
    if (!rc)
        *out = m;
    return rc;
}

int proto_decode_fields(const void *buf, size_t len, uint64_t dflt_hlc, gs_arena *a,
                        proto_field **out, uint32_t *n_out, gs_err *err)
{
    dec d = {.err = err};
    msgpack_unpacked up;
    int rc;

    msgpack_unpacked_init(&up);
    rc = proto_unpack_copy(a, buf, len, 1, &up, err);
    if (!rc) {
        d.arena = *a; /* the walk allocates in the caller's arena, handed back after */
        rc = get_fields(&d, &up.data, 0, dflt_hlc, 0, 0, NULL, out, n_out);
        *a = d.arena;
    }
    msgpack_unpacked_destroy(&up);
    return rc;
}

/* A decoded message lives in its own arena, struct included, so the arena is copied out
 * before its chunks go; one built by hand (arena empty) belongs to whoever built it and is
 * left alone. */
static void release(const gs_arena *own)
{
    gs_arena a = *own;
    arena_free(&a);
}

void proto_sync_req_free(proto_sync_req *m)
{
    if (m)
        release(&m->arena);
}

void proto_sync_resp_free(proto_sync_resp *m)
{
    if (m)
        release(&m->arena);
}

void proto_error_free(proto_error *m)
{
    if (m)
        release(&m->arena);
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
