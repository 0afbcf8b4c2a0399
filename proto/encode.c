/*
 * encode.c: encoding of the sync protocol's messages (PROTOCOL.md) with msgpack-c 4.0,
 * through value.c's packer (which also writes each field value).
 *
 * Output is the canonical form of PROTOCOL.md: map keys in the documented order, every int
 * in its shortest MessagePack encoding (msgpack_pack_uint64/int64 choose it), reals as
 * float 64, str 8 for 32..255-byte strings, optional keys only when they carry something
 * (max != 0, min_v != 0, a non-empty lost, ct != 0, a non-empty fix), seq only in pushed
 * changes, a field's own clock only where it differs from its change's. The version of
 * the message decides its form: version 1 has no per-field clocks, ct, clk or fix.
 *
 * Invariants: an encoder writes only messages its decoder accepts (it checks the same
 * limits, returning the code the decoder would give), and on any failure the buffer is cut
 * back to its length at the call, so a half-written message never stays behind.
 */
#include "proto.h"

#include "value.h"

#include <string.h>

static int put_key(proto_packer *e, const char *key)
{
    return proto_pack_str(e, key, strlen(key));
}

/* A name (table, field, device, error code): lo..PROTO_MAX_NAME bytes. */
static int put_name(proto_packer *e, proto_str s, uint32_t lo)
{
    if (s.len < lo)
        return GS_E_PROTO_LIMIT;
    return proto_pack_text(e, s, PROTO_MAX_NAME);
}

static int put_text(proto_packer *e, proto_str s)
{
    return proto_pack_text(e, s, PROTO_MAX_STR);
}

/* name -> [value, ver] or, in version 2, [value, ver, hlc] for each field; names unique,
 * each at most PROTO_MAX_NAME bytes. ctx_hlc is the enclosing change's clock: a field's own
 * is written only when it differs (in version 2; always when ctx_hlc is 0 and the field
 * has one). with_hlc forces the third element (record states). */
static int put_fields(proto_packer *e, const proto_field *f, uint32_t n, uint32_t min,
                      uint32_t version, uint64_t ctx_hlc, int with_hlc)
{
    int rc;

    if (n < min || n > PROTO_MAX_FIELDS || (n && !f))
        return GS_E_PROTO_LIMIT;
    rc = proto_pack_map(e, n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        int third = with_hlc || (version >= 2 && f[i].hlc != 0 && f[i].hlc != ctx_hlc);
        for (uint32_t j = 0; j < i; j++)
            if (f[j].name.len == f[i].name.len &&
                (f[i].name.len == 0 || memcmp(f[j].name.ptr, f[i].name.ptr, f[i].name.len) == 0))
                return GS_E_PROTO;
        rc = put_name(e, f[i].name, 0);
        if (!rc)
            rc = proto_pack_array(e, third ? 3 : 2);
        if (!rc)
            rc = proto_pack_value(e, &f[i].value);
        if (!rc)
            rc = proto_pack_uint(e, f[i].ver);
        if (!rc && third)
            rc = proto_pack_uint(e, f[i].hlc);
    }
    return rc;
}

/* The change's clock as written: version 1 has one clock per change, so a change whose
 * fields carry later edits is stamped with the latest (what a version 1 client sent). */
static uint64_t change_hlc(const proto_change *c, uint32_t version)
{
    uint64_t h = c->hlc;

    if (version < 2 && c->n_fields <= PROTO_MAX_FIELDS) /* put_fields refuses more */
        for (uint32_t i = 0; i < c->n_fields; i++)
            if (c->fields && c->fields[i].hlc > h)
                h = c->fields[i].hlc;
    return h;
}

static int put_change(proto_packer *e, const proto_change *c, int kind, uint32_t version)
{
    int pushed = kind == PROTO_CH_PUSHED, state = kind == PROTO_CH_STATE;
    int with_ct = version >= 2 && !pushed && c->created != 0;
    int raw = c->f_raw != NULL;
    uint64_t hlc = raw ? c->hlc : change_hlc(c, version);
    int rc;

    if (kind != PROTO_CH_PULLED && kind != PROTO_CH_PUSHED && kind != PROTO_CH_STATE)
        return GS_E_INVALID;
    /* stored bytes are version 2's form of a pushed change: anything else needs the fields */
    if (raw && (!pushed || version < 2 || c->f_raw_len == 0))
        return GS_E_INVALID;
    if ((pushed && c->seq == 0) || (state && version < 2))
        return GS_E_PROTO_LIMIT;
    /* seq t id hlc ct f: pushed 5, pulled 4 or 5, state (no seq, no hlc) 3 or 4 */
    rc = proto_pack_map(e, (size_t)(state ? 3 : pushed ? 5 : 4) + (size_t)with_ct);
    if (!rc && pushed) {
        rc = put_key(e, "seq");
        if (!rc)
            rc = proto_pack_uint(e, c->seq);
    }
    if (!rc)
        rc = put_key(e, "t");
    if (!rc)
        rc = put_name(e, c->table, 0);
    if (!rc)
        rc = put_key(e, "id");
    if (!rc) {
        rc = proto_pack_bin(e, c->id, 16);
    }
    if (!rc && !state) {
        rc = put_key(e, "hlc");
        if (!rc)
            rc = proto_pack_uint(e, hlc);
    }
    if (!rc && with_ct) {
        rc = put_key(e, "ct");
        if (!rc)
            rc = proto_pack_uint(e, c->created);
    }
    if (!rc)
        rc = put_key(e, "f");
    if (!rc && raw)
        rc = buf_add(e->out, c->f_raw, c->f_raw_len);
    else if (!rc)
        rc = put_fields(e, c->fields, c->n_fields, state ? 0 : 1, version, state ? 0 : hlc, state);
    return rc;
}

static int put_req_head(proto_packer *e, const proto_sync_req *m, uint32_t n_changes)
{
    int rc;

    if (m->version < PROTO_MIN_VERSION)
        return GS_E_PROTO_VERSION;
    if (n_changes > PROTO_MAX_CHANGES)
        return GS_E_PROTO_LIMIT;
    rc = proto_pack_map(e, m->pull_max ? 7 : 6);
    if (!rc)
        rc = put_key(e, "v");
    if (!rc)
        rc = proto_pack_uint(e, m->version);
    if (!rc)
        rc = put_key(e, "dev");
    if (!rc)
        rc = put_name(e, m->device, 1);
    if (!rc)
        rc = put_key(e, "cur");
    if (!rc)
        rc = proto_pack_uint(e, m->cursor);
    if (!rc)
        rc = put_key(e, "low");
    if (!rc)
        rc = proto_pack_uint(e, m->low);
    if (!rc)
        rc = put_key(e, "now");
    if (!rc)
        rc = proto_pack_uint(e, m->now);
    if (!rc && m->pull_max) {
        rc = put_key(e, "max");
        if (!rc)
            rc = proto_pack_uint(e, m->pull_max);
    }
    if (!rc)
        rc = put_key(e, "ch");
    if (!rc)
        rc = proto_pack_array(e, n_changes);
    return rc;
}

int proto_encode_sync_req_head(gs_buf *out, const proto_sync_req *m, uint32_t n_changes)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_req_head(&e, m, n_changes));
}

int proto_encode_change(gs_buf *out, const proto_change *c, int kind, uint32_t version)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_change(&e, c, kind, version));
}

int proto_encode_fields(gs_buf *out, const proto_field *fields, uint32_t n, uint64_t ctx_hlc)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_fields(&e, fields, n, 0, PROTO_VERSION, ctx_hlc, 0));
}

int proto_encode_sync_req(gs_buf *out, const proto_sync_req *m)
{
    proto_packer e;
    int rc;

    proto_packer_init(&e, out);
    if (m->n_changes && !m->changes)
        return proto_packer_end(&e, GS_E_INVALID);
    rc = put_req_head(&e, m, m->n_changes);
    for (uint32_t i = 0; i < m->n_changes && !rc; i++) {
        /* the decoder's batch rules: seq rises, and none is already settled */
        if (m->changes[i].seq != 0 &&
            ((i > 0 && m->changes[i].seq <= m->changes[i - 1].seq) ||
             m->changes[i].seq < m->low))
            rc = GS_E_PROTO;
        else
            rc = put_change(&e, &m->changes[i], PROTO_CH_PUSHED, m->version);
    }
    return proto_packer_end(&e, rc);
}

static int put_ack(proto_packer *e, const proto_ack *a, uint32_t version)
{
    int rc;

    if (a->seq == 0)
        return GS_E_PROTO_LIMIT;
    rc = proto_pack_map(e, a->ok ? (a->n_lost ? 4 : 3) : 4);
    if (!rc)
        rc = put_key(e, "seq");
    if (!rc)
        rc = proto_pack_uint(e, a->seq);
    if (!rc)
        rc = put_key(e, "ok");
    if (!rc)
        rc = proto_pack_bool(e, a->ok);
    if (rc)
        return rc;
    if (a->ok) {
        rc = put_key(e, "ver");
        if (!rc)
            rc = proto_pack_uint(e, a->version);
        if (!rc && a->n_lost) {
            rc = put_key(e, "lost");
            if (!rc)
                rc = put_fields(e, a->lost, a->n_lost, 1, version, 0, 0);
        }
    } else {
        rc = put_key(e, "err");
        if (!rc)
            rc = put_name(e, a->err, 0);
        if (!rc)
            rc = put_key(e, "msg");
        if (!rc)
            rc = put_text(e, a->msg);
    }
    return rc;
}

static int put_resp_head(proto_packer *e, const proto_sync_resp *m, uint32_t n_acks)
{
    int rc;

    if (m->version < PROTO_MIN_VERSION)
        return GS_E_PROTO_VERSION;
    if (n_acks > PROTO_MAX_CHANGES)
        return GS_E_PROTO_LIMIT;
    if (m->n_fixes > PROTO_MAX_CHANGES)
        return GS_E_PROTO_LIMIT;
    if (m->n_fixes && m->version < 2)
        return GS_E_PROTO_UNKNOWN; /* version 1 has no "fix" */
    /* v now ack ch cur more, then in version 2 clk, in version 3 ep, and (when there are
     * any) fix */
    if (m->version >= 3 && m->epoch == 0)
        return GS_E_PROTO_LIMIT; /* version 3 requires "ep", and 0 is no epoch */
    rc = proto_pack_map(e, (size_t)6 + (m->version >= 2) + (m->version >= 3) +
                               (m->n_fixes > 0));
    if (!rc)
        rc = put_key(e, "v");
    if (!rc)
        rc = proto_pack_uint(e, m->version);
    if (!rc)
        rc = put_key(e, "now");
    if (!rc)
        rc = proto_pack_uint(e, m->now);
    if (!rc)
        rc = put_key(e, "ack");
    if (!rc)
        rc = proto_pack_array(e, n_acks);
    return rc;
}

static int put_resp_mid(proto_packer *e, uint32_t n_changes)
{
    int rc;

    if (n_changes > PROTO_MAX_CHANGES)
        return GS_E_PROTO_LIMIT;
    rc = put_key(e, "ch");
    if (!rc)
        rc = proto_pack_array(e, n_changes);
    return rc;
}

static int put_resp_tail(proto_packer *e, const proto_sync_resp *m)
{
    int rc = put_key(e, "cur");
    if (!rc)
        rc = proto_pack_uint(e, m->cursor);
    if (!rc)
        rc = put_key(e, "more");
    if (!rc)
        rc = proto_pack_bool(e, m->more);
    if (!rc && m->version >= 2) {
        rc = put_key(e, "clk");
        if (!rc)
            rc = proto_pack_uint(e, m->clock_ms);
    }
    if (!rc && m->version >= 3) {
        rc = put_key(e, "ep");
        if (!rc)
            rc = proto_pack_uint(e, m->epoch);
    }
    if (!rc && m->version >= 2 && m->n_fixes) {
        rc = put_key(e, "fix");
        if (!rc)
            rc = proto_pack_array(e, m->n_fixes);
    }
    return rc;
}

int proto_encode_sync_resp_head(gs_buf *out, const proto_sync_resp *m, uint32_t n_acks)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_resp_head(&e, m, n_acks));
}

int proto_encode_ack(gs_buf *out, const proto_ack *a, uint32_t version)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_ack(&e, a, version));
}

int proto_encode_sync_resp_mid(gs_buf *out, uint32_t n_changes)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_resp_mid(&e, n_changes));
}

int proto_encode_sync_resp_tail(gs_buf *out, const proto_sync_resp *m)
{
    proto_packer e;
    proto_packer_init(&e, out);
    return proto_packer_end(&e, put_resp_tail(&e, m));
}

int proto_encode_sync_resp(gs_buf *out, const proto_sync_resp *m)
{
    proto_packer e;
    int rc;

    proto_packer_init(&e, out);
    if ((m->n_acks && !m->acks) || (m->n_changes && !m->changes) || (m->n_fixes && !m->fixes))
        return proto_packer_end(&e, GS_E_INVALID);
    rc = put_resp_head(&e, m, m->n_acks);
    for (uint32_t i = 0; i < m->n_acks && !rc; i++) {
        if (m->acks[i].seq != 0 && i > 0 && m->acks[i].seq <= m->acks[i - 1].seq)
            rc = GS_E_PROTO; /* acks follow the request's order, where seq rises */
        else
            rc = put_ack(&e, &m->acks[i], m->version);
    }
    if (!rc)
        rc = put_resp_mid(&e, m->n_changes);
    for (uint32_t i = 0; i < m->n_changes && !rc; i++)
        rc = put_change(&e, &m->changes[i], PROTO_CH_PULLED, m->version);
    if (!rc)
        rc = put_resp_tail(&e, m);
    for (uint32_t i = 0; i < m->n_fixes && !rc; i++)
        rc = put_change(&e, &m->fixes[i], PROTO_CH_STATE, m->version);
    return proto_packer_end(&e, rc);
}

int proto_encode_error(gs_buf *out, const char *code, const char *msg, uint32_t min_version)
{
    proto_packer e;
    int rc;

    proto_packer_init(&e, out);
    rc = proto_pack_map(&e, min_version ? 3 : 2);
    if (!rc)
        rc = put_key(&e, "err");
    if (!rc)
        rc = put_name(&e, proto_cstr(code), 1);
    if (!rc)
        rc = put_key(&e, "msg");
    if (!rc)
        rc = put_text(&e, proto_cstr(msg ? msg : ""));
    if (!rc && min_version) {
        rc = put_key(&e, "min_v");
        if (!rc)
            rc = proto_pack_uint(&e, min_version);
    }
    return proto_packer_end(&e, rc);
}
