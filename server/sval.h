/*
 * sval.h: stored values. How gridsyncd keeps proto values, acks and change-log entries as
 * bytes (MessagePack, the same encoding a value has on the wire). Values read back live in
 * a gs_arena (common/arena.h) the caller owns; one request's arena is capped at
 * SVAL_ARENA_MAX, so a request cannot make the server allocate without bound.
 *
 * Invariants:
 *  - sval_decode(proto_value_encode(v)) equals v for every proto_value the codec can
 *    produce, and likewise for acks;
 *  - the bytes are those the hand-written encoder and reader of earlier versions used and
 *    accepted (msgpack-c's shortest forms), so existing stores read unchanged: acks whose
 *    lost entries have three elements (before per-field clocks) or four;
 *  - everything decoded points into the arena it was decoded with (never into the blob
 *    passed in), so it stays valid until that arena is freed.
 */
#ifndef GS_SERVER_SVAL_H
#define GS_SERVER_SVAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/rc.h"
#include "proto/proto.h"

#define SVAL_ARENA_MAX (256u * 1024 * 1024) /* default cap of one request's arena */

/* Decodes a value blob (proto_value_encode: the MessagePack of the wire value) from the
 * store. GS_E_DB when it is not one value (a damaged store), GS_E_NOMEM. */
int sval_decode(gs_arena *a, const void *blob, size_t len, proto_value *out);

/* An ack without its seq (the store keys it): ok, version, err, msg, lost. */
int sval_ack_encode(gs_buf *out, const proto_ack *ack);
/* Fills every member of *ack but seq, which it leaves as it was. */
int sval_ack_decode(gs_arena *a, const void *blob, size_t len, proto_ack *ack);

/* A change's fields as pushed: map name -> [value, base] (the change log's "fields"). */
int sval_fields_encode(gs_buf *out, const proto_field *fields, uint32_t n);

/* One field of a stored record (the record row's blob). */
typedef struct sval_rec_field {
    const char *name;    /* encode: NUL-terminated; decode: name_len bytes in the arena */
    size_t name_len;     /* decode: bytes in name */
    proto_value value;   /* the value (arena memory when decoded) */
    uint64_t version;    /* server version of the value */
    uint64_t hlc;        /* clock of the edit that wrote it */
    uint32_t writer;     /* device number of the writer (0: admin) */
} sval_rec_field;

/* The fields of a record as one blob: [[name, value, version, hlc, writer], ...]. */
int sval_rec_encode(gs_buf *out, const sval_rec_field *f, uint32_t n);
/* Decodes at most cap fields into f; GS_E_DB when the blob is damaged or holds more. */
int sval_rec_decode(gs_arena *a, const void *blob, size_t len, sval_rec_field *f, uint32_t cap,
                    uint32_t *n_out);

#endif
