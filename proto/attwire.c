/*
 * attwire.c: see attwire.h. The target parser works on the caller's slices, in the
 * picohttpparser manner: it allocates nothing and reads no byte past path_len/query_len.
 */
#include "attwire.h"

#include "value.h"

#include <msgpack.h>
#include <string.h>

#define NUM_MAX ((uint64_t)1 << 53)

static int is_hex_lower(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A decimal of 1..16 digits, no leading zero (but "0"), below 2^53. */
static int parse_num(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 16 || (n > 1 && p[0] == '0'))
        return GS_E_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return GS_E_INVALID;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    if (v >= NUM_MAX)
        return GS_E_INVALID;
    *out = v;
    return GS_OK;
}

/* A record id in text: 8-4-4-4-12 hex digits, either case. */
static int is_uuid_text(const char *p, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!is_hex_lower(c) && !(c >= 'A' && c <= 'F')) {
            return 0;
        }
    }
    return 1;
}

static int bad(const char **why, const char *msg)
{
    if (why)
        *why = msg;
    return GS_E_INVALID;
}

int attwire_parse(const char *path, size_t path_len, const char *query, size_t query_len,
                  attwire_req *out, const char **why)
{
    const size_t plen = sizeof(ATTWIRE_PREFIX) - 1;
    attwire_req r;
    size_t i = 0;

    if (!path || path_len < plen || memcmp(path, ATTWIRE_PREFIX, plen) != 0)
        return GS_E_NOTFOUND;
    memset(&r, 0, sizeof(r));
    if (path_len - plen != 64)
        return bad(why, "the path must end with the blob's SHA-256 in 64 lower-case hex digits");
    for (size_t k = 0; k < 64; k++) {
        if (!is_hex_lower(path[plen + k]))
            return bad(why, "the path must end with the blob's SHA-256 in 64 lower-case hex "
                            "digits");
        r.sha256[k] = path[plen + k];
    }
    if (!query && query_len)
        return bad(why, "malformed query");
    while (i < query_len) {
        size_t start = i, eq = 0, key_len, val_len;
        const char *key, *val;
        while (i < query_len && query[i] != '&')
            i++;
        for (size_t k = start; k < i; k++)
            if (query[k] == '=') {
                eq = k;
                break;
            }
        if (!eq)
            return bad(why, "each query parameter must be key=value");
        key = query + start;
        key_len = eq - start;
        val = query + eq + 1;
        val_len = i - eq - 1;
        if (key_len == 3 && memcmp(key, "att", 3) == 0) {
            if (r.att[0])
                return bad(why, "att is given twice");
            if (!is_uuid_text(val, val_len))
                return bad(why, "att must be the attachment record's id (a UUID)");
            memcpy(r.att, val, 36);
        } else if (key_len == 6 && memcmp(key, "offset", 6) == 0) {
            if (r.has_offset)
                return bad(why, "offset is given twice");
            if (parse_num(val, val_len, &r.offset))
                return bad(why, "offset must be a decimal number of bytes");
            r.has_offset = 1;
        } else if (key_len == 6 && memcmp(key, "length", 6) == 0) {
            if (r.has_length)
                return bad(why, "length is given twice");
            if (parse_num(val, val_len, &r.length) || r.length == 0)
                return bad(why, "length must be a positive decimal number of bytes");
            r.has_length = 1;
        } else {
            return bad(why, "unknown query parameter (att, offset, length are known)");
        }
        if (i < query_len)
            i++; /* the '&' */
        if (i == query_len && query[i - 1] == '&')
            return bad(why, "the query ends with '&'");
    }
    if (!r.att[0])
        return bad(why, "att (the attachment record's id) is required");
    *out = r;
    return GS_OK;
}

int attwire_encode_state(gs_buf *out, const attwire_state *st)
{
    proto_packer p;
    int rc;

    proto_packer_init(&p, out);
    rc = proto_pack_map(&p, 3);
    if (!rc)
        rc = proto_pack_str(&p, "off", 3);
    if (!rc)
        rc = proto_pack_uint(&p, st->off);
    if (!rc)
        rc = proto_pack_str(&p, "size", 4);
    if (!rc)
        rc = proto_pack_uint(&p, st->size);
    if (!rc)
        rc = proto_pack_str(&p, "done", 4);
    if (!rc)
        rc = proto_pack_bool(&p, st->done);
    return proto_packer_end(&p, rc);
}

int attwire_decode_state(const void *buf, size_t len, attwire_state *out)
{
    msgpack_unpacked up;
    attwire_state st;
    unsigned seen = 0;
    gs_err err;
    int rc;

    memset(&st, 0, sizeof(st));
    if (!buf || len == 0 || len > ATTWIRE_STATE_MAX)
        return GS_E_PROTO;
    msgpack_unpacked_init(&up);
    rc = proto_unpack_limit(buf, len, 1, 16, &up, &err);
    if (rc == GS_OK) {
        const msgpack_object_map *m = &up.data.via.map;
        for (uint32_t i = 0; i < m->size && rc == GS_OK; i++) {
            const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
            unsigned bit = 0;
            if (k->type != MSGPACK_OBJECT_STR) {
                rc = GS_E_PROTO;
                break;
            }
            if (k->via.str.size == 3 && memcmp(k->via.str.ptr, "off", 3) == 0 &&
                v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < NUM_MAX) {
                st.off = v->via.u64;
                bit = 1;
            } else if (k->via.str.size == 4 && memcmp(k->via.str.ptr, "size", 4) == 0 &&
                       v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 < NUM_MAX) {
                st.size = v->via.u64;
                bit = 2;
            } else if (k->via.str.size == 4 && memcmp(k->via.str.ptr, "done", 4) == 0 &&
                       v->type == MSGPACK_OBJECT_BOOLEAN) {
                st.done = v->via.boolean ? 1 : 0;
                bit = 4;
            }
            if (!bit || (seen & bit))
                rc = GS_E_PROTO;
            seen |= bit;
        }
    } else {
        rc = GS_E_PROTO;
    }
    msgpack_unpacked_destroy(&up);
    if (rc == GS_OK && (seen != 7 || st.off > st.size || (st.done && st.off != st.size)))
        rc = GS_E_PROTO;
    if (rc == GS_OK)
        *out = st;
    return rc;
}
