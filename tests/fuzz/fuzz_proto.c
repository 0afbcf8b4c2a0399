/*
 * fuzz_proto.c: libFuzzer target for the protocol decoders (proto/codec.c).
 *
 * Each input is decoded as a SyncRequest, a SyncResponse and an Error. Beyond "no crash, no
 * leak, no out-of-bounds read" (ASan/UBSan), it checks:
 *  - the result is one of the codes the decoders document, and never the "msgpack-c refused
 *    a body the scan accepted" case, which would mean our scan and msgpack-c disagree;
 *  - a decoded message re-encodes (the encoders accept everything the decoders accept), the
 *    encoding decodes again, and encoding that gives the same bytes: decode . encode is the
 *    identity on decoded messages.
 * Seeds: tests/fuzz/corpus/proto/ (made by tests/integration/proto_gen_vectors.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"

#define SCAN_DISAGREES "msgpack-c refused a body the scan accepted: code "

static void check_rc(const char *what, int rc, const gs_err *err)
{
    switch (rc) {
    case GS_OK:
    case GS_E_PROTO:
    case GS_E_PROTO_TYPE:
    case GS_E_PROTO_MISSING:
    case GS_E_PROTO_UNKNOWN:
    case GS_E_PROTO_LIMIT:
    case GS_E_PROTO_TRUNCATED:
    case GS_E_PROTO_TRAILING:
    case GS_E_PROTO_DEPTH:
    case GS_E_PROTO_VERSION:
        break;
    default:
        fprintf(stderr, "%s: unexpected %s: %s\n", what, gs_rc_name(rc), err->msg);
        abort();
    }
    /* compared up to ": code ", which no message built from input keys can contain */
    if (rc && (err->rc != rc || !err->msg[0] ||
               strncmp(err->msg, SCAN_DISAGREES, sizeof(SCAN_DISAGREES) - 1) == 0)) {
        fprintf(stderr, "%s: %s with message '%s'\n", what, gs_rc_name(rc), err->msg);
        abort();
    }
}

static void same_bytes(const char *what, const gs_buf *a, const gs_buf *b)
{
    if (a->len != b->len || memcmp(a->ptr, b->ptr, a->len) != 0) {
        fprintf(stderr, "%s: re-encoding changed the message (%zu vs %zu bytes)\n", what,
                a->len, b->len);
        abort();
    }
}

static void must(const char *what, int rc)
{
    if (rc) {
        fprintf(stderr, "%s: %s\n", what, gs_rc_name(rc));
        abort();
    }
}

static volatile uint64_t sink; /* keeps the decoders' results alive */

/* The server's screened decode (issue 18, item 3): it accepts every request the plain one
 * does, with as many changes, and a change's field list is schema fields, possibly ended by
 * one unknown name with a nil value. */
static void fuzz_req_screened(const uint8_t *data, size_t size, int plain_rc)
{
    proto_sync_req *m = NULL;
    gs_err err;
    int rc = proto_decode_sync_req_screened(data, size, &m, &err);

    check_rc("screened request", rc, &err);
    if (plain_rc == GS_OK && rc != GS_OK)
        abort();
    if (rc)
        return;
    for (uint32_t i = 0; i < m->n_changes; i++) {
        const proto_change *c = &m->changes[i];
        const schema_table *t = schema_table_find(c->table.ptr, c->table.len);
        for (uint32_t k = 0; k < c->n_fields; k++) {
            const proto_field *f = &c->fields[k];
            int known = t && schema_field_find(t, f->name.ptr, f->name.len);
            if (!known && (k + 1 != c->n_fields || f->value.type != PV_NIL))
                abort();
        }
    }
    proto_sync_req_free(m);
}

static void fuzz_req(const uint8_t *data, size_t size)
{
    proto_sync_req *m = NULL, *m2 = NULL;
    gs_buf b1, b2;
    gs_err err;
    int rc = proto_decode_sync_req(data, size, &m, &err);

    check_rc("request", rc, &err);
    fuzz_req_screened(data, size, rc);
    if (rc)
        return;
    sink += m->version + m->cursor + m->n_changes + m->device.len;
    for (uint32_t i = 0; i < m->n_changes; i++)
        sink += m->changes[i].seq + m->changes[i].n_fields + m->changes[i].fields[0].ver;
    buf_init(&b1, PROTO_MAX_BODY);
    buf_init(&b2, PROTO_MAX_BODY);
    must("request: encode", proto_encode_sync_req(&b1, m));
    must("request: decode again", proto_decode_sync_req(b1.ptr, b1.len, &m2, &err));
    must("request: encode again", proto_encode_sync_req(&b2, m2));
    same_bytes("request", &b1, &b2);
    if (m2->n_changes != m->n_changes || m2->cursor != m->cursor)
        abort();
    proto_sync_req_free(m2);
    proto_sync_req_free(m);
    buf_free(&b1);
    buf_free(&b2);
}

static void fuzz_resp(const uint8_t *data, size_t size)
{
    proto_sync_resp *m = NULL, *m2 = NULL;
    gs_buf b1, b2;
    gs_err err;
    int rc = proto_decode_sync_resp(data, size, &m, &err);

    check_rc("response", rc, &err);
    if (rc)
        return;
    sink += m->version + m->cursor + m->n_acks + m->n_changes + (uint64_t)m->more;
    for (uint32_t i = 0; i < m->n_acks; i++)
        sink += m->acks[i].seq + m->acks[i].n_lost + m->acks[i].err.len;
    buf_init(&b1, PROTO_MAX_BODY);
    buf_init(&b2, PROTO_MAX_BODY);
    must("response: encode", proto_encode_sync_resp(&b1, m));
    must("response: decode again", proto_decode_sync_resp(b1.ptr, b1.len, &m2, &err));
    must("response: encode again", proto_encode_sync_resp(&b2, m2));
    same_bytes("response", &b1, &b2);
    proto_sync_resp_free(m2);
    proto_sync_resp_free(m);
    buf_free(&b1);
    buf_free(&b2);
}

static void fuzz_error(const uint8_t *data, size_t size)
{
    proto_error *m = NULL, *m2 = NULL;
    gs_buf b1;
    gs_err err;
    char code[PROTO_MAX_NAME + 1], *msg;
    int rc = proto_decode_error(data, size, &m, &err);

    check_rc("error", rc, &err);
    if (rc)
        return;
    sink += m->code.len + m->msg.len + m->min_version;
    /* proto_encode_error takes C strings: only messages without NUL bytes round-trip */
    if (!memchr(m->code.ptr, 0, m->code.len) &&
        !(m->msg.len && memchr(m->msg.ptr, 0, m->msg.len))) {
        msg = malloc(m->msg.len + 1);
        if (!msg)
            abort();
        memcpy(code, m->code.ptr, m->code.len);
        code[m->code.len] = '\0';
        if (m->msg.len)
            memcpy(msg, m->msg.ptr, m->msg.len);
        msg[m->msg.len] = '\0';
        buf_init(&b1, PROTO_MAX_BODY);
        must("error: encode", proto_encode_error(&b1, code, msg, m->min_version));
        must("error: decode again", proto_decode_error(b1.ptr, b1.len, &m2, &err));
        if (!proto_str_eq(m2->code, code) || m2->msg.len != m->msg.len ||
            m2->min_version != m->min_version)
            abort();
        proto_error_free(m2);
        buf_free(&b1);
        free(msg);
    }
    proto_error_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_req(data, size);
    fuzz_resp(data, size);
    fuzz_error(data, size);
    return 0;
}
