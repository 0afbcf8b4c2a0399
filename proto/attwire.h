/*
 * attwire.h: the attachment transfer's wire (PROTOCOL.md section 12), pure bytes in and
 * out: the request target of /v1/attachments/<sha256>?att=..&offset=..&length=.. parsed
 * (the parser of untrusted bytes, fuzzed by tests/fuzz/fuzz_attwire.c) and the State
 * answer {off, size, done} encoded and decoded.
 *
 *   device                                  server
 *   PUT  /v1/attachments/H?att=A&offset=N   body: bytes N.. of the blob (1..64 KiB)
 *                                       <-  200 State {off: committed, size, done}
 *   GET  /v1/attachments/H?att=A            <- 200 State (where to resume after a cut)
 *   GET  /v1/attachments/H?att=A&offset=N[&length=L]
 *                                       <-  200 bytes N..N+L of a complete blob
 *
 * Invariants: a parsed request names exactly one lower-case 64-hex hash and one record id;
 * each query key appears at most once; numbers are plain decimal without sign or leading
 * zeros, below 2^53; nothing is allocated, out is written only on success.
 */
#ifndef GS_PROTO_ATTWIRE_H
#define GS_PROTO_ATTWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/rc.h"

#define ATTWIRE_PREFIX "/v1/attachments/"
#define ATTWIRE_CHUNK (64u * 1024u)       /* most bytes of one PUT (and a GET's default) */
#define ATTWIRE_GET_MAX (256u * 1024u)    /* most bytes one GET returns */
#define ATTWIRE_BLOB_MAX (32u * 1024u * 1024u) /* the schema's attachment.bytes maximum */
#define ATTWIRE_OCTETS "application/octet-stream"
#define ATTWIRE_STATE_MAX 64              /* bytes of an encoded State, and then some */

typedef struct attwire_req {
    char sha256[65];    /* the blob's SHA-256, lower-case hex */
    char att[37];       /* the attachment record's id, as given (a UUID in text) */
    int has_offset;     /* 1 when offset= was given */
    uint64_t offset;    /* first byte of the chunk */
    int has_length;     /* 1 when length= was given */
    uint64_t length;    /* most bytes wanted (GET) */
} attwire_req;

/* Parses the path (starting with ATTWIRE_PREFIX) and query (without '?'). GS_E_NOTFOUND
 * when the path is not under the prefix; GS_E_INVALID with *why a static sentence when
 * the target is malformed. */
int attwire_parse(const char *path, size_t path_len, const char *query, size_t query_len,
                  attwire_req *out, const char **why);

typedef struct attwire_state {
    uint64_t off;  /* bytes the server holds durably (== size once done) */
    uint64_t size; /* the blob's size, from its attachment record */
    int done;      /* 1: hash-verified and visible */
} attwire_state;

int attwire_encode_state(gs_buf *out, const attwire_state *st);
/* GS_E_PROTO unless buf is exactly one map of the three keys with sane values. */
int attwire_decode_state(const void *buf, size_t len, attwire_state *out);

#endif
