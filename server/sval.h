/*
 * sval.h: stored values. How gridsyncd keeps proto values, acks and change-log entries as
 * bytes (MessagePack, the same encoding a value has on the wire), and the arena that the
 * values read back live in.
 *
 * Invariants:
 *  - sval_decode(sval_encode(v)) equals v for every proto_value the codec can produce;
 *  - everything decoded points into the arena it was decoded with (never into the blob
 *    passed in), so it stays valid until that arena is freed;
 *  - an arena never hands out more than its max bytes in total: a request cannot make the
 *    server allocate without bound.
 */
#ifndef GS_SERVER_SVAL_H
#define GS_SERVER_SVAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rc.h"
#include "proto/proto.h"

#define SVAL_ARENA_MAX (256u * 1024 * 1024) /* default cap of one request's arena */

typedef struct sval_chunk sval_chunk;

typedef struct sval_arena {
    sval_chunk *head; /* newest chunk first; NULL when empty */
    size_t used;      /* bytes handed out, over all chunks */
    size_t max;       /* cap on used; past it allocations fail */
} sval_arena;

/* Cannot fail; allocates nothing. */
void sval_arena_init(sval_arena *a, size_t max);
/* n bytes aligned for any type, zeroed; NULL when out of memory or over the cap. */
void *sval_arena_alloc(sval_arena *a, size_t n);
/* A NUL-terminated copy of s[0..n) in the arena; NULL on failure. */
char *sval_arena_strndup(sval_arena *a, const char *s, size_t n);
void sval_arena_free(sval_arena *a);

/* Appends the MessagePack of v to out. */
int sval_encode(gs_buf *out, const proto_value *v);
/* Decodes a blob made by sval_encode. GS_E_DB when it is not one value (a damaged store),
 * GS_E_NOMEM. */
int sval_decode(sval_arena *a, const void *blob, size_t len, proto_value *out);
/* A deep copy of v into the arena. */
int sval_copy(sval_arena *a, const proto_value *v, proto_value *out);

/* An ack without its seq (the store keys it): ok, version, err, msg, lost. */
int sval_ack_encode(gs_buf *out, const proto_ack *ack);
/* Fills every member of *ack but seq, which it leaves as it was. */
int sval_ack_decode(sval_arena *a, const void *blob, size_t len, proto_ack *ack);

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
int sval_rec_decode(sval_arena *a, const void *blob, size_t len, sval_rec_field *f, uint32_t cap,
                    uint32_t *n_out);

#endif
