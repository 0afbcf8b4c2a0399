/*
 * value.h: a field value (proto_value, proto.h) as MessagePack bytes, written and read in
 * one place for the wire (encode.c, codec.c), the client's outbox blobs (fieldpack.c) and
 * the server's stored values and acks (server/sval.c), on msgpack-c.
 *
 *   proto_value --proto_pack_value--> bytes            (the canonical form of PROTOCOL.md
 *                                                        7.4: shortest ints, float 64, ...)
 *   bytes --proto_unpack--> msgpack_object tree --proto_value_get--> proto_value
 *          (scan first: the framing pre-pass below)
 *
 * The value rules are those of PROTOCOL.md 7.2, wherever the bytes come from: nil, bool,
 * int (a uint above 2^63-1 is over_limit), float 32 or 64, str of at most PROTO_MAX_STR
 * bytes, bin of exactly 16 bytes, array of at most PROTO_MAX_TAGS str of at most
 * PROTO_MAX_NAME bytes. The writer refuses what the reader would refuse, with the same code,
 * so nothing is stored that cannot be read back or sent. (Every value the client's outbox
 * and the server's store ever held passed the schema, whose limits are within these, so
 * blobs written before this module existed read the same.)
 *
 * Reading borrows: str and bin of a value point into the bytes that were unpacked, tag
 * lists' item arrays come from an arena. Nothing here keeps state between calls.
 */
#ifndef GS_PROTO_VALUE_H
#define GS_PROTO_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/rc.h"
#include "proto/proto.h"

/* ---- writing ------------------------------------------------------------------------- */

/* One encoder call: a msgpack-c packer writing into a capped gs_buf. Every write after the
 * first failure is skipped, and proto_packer_end cuts the buffer back to its length at
 * proto_packer_init, so a half-written message or blob never stays behind. */
typedef struct proto_packer {
    msgpack_packer pk; /* writes into out */
    gs_buf *out;       /* the destination */
    size_t start;      /* out->len at init, restored on failure */
    int rc;            /* the first failure of a write (GS_E_TOO_LARGE or GS_E_NOMEM) */
} proto_packer;

/* Cannot fail. */
void proto_packer_init(proto_packer *p, gs_buf *out);
/* Ends the call: returns rc, else the first write failure; on either, undoes every write. */
int proto_packer_end(proto_packer *p, int rc);

/* Each returns p->rc (GS_OK while every write so far succeeded). */
int proto_pack_nil(proto_packer *p);
int proto_pack_bool(proto_packer *p, int v);
int proto_pack_uint(proto_packer *p, uint64_t v);
int proto_pack_str(proto_packer *p, const char *s, size_t n);
int proto_pack_bin(proto_packer *p, const void *bytes, size_t n);
int proto_pack_array(proto_packer *p, size_t n);
int proto_pack_map(proto_packer *p, size_t n);
/* A str of at most max bytes (GS_E_PROTO_LIMIT past it, or for len > 0 without ptr). */
int proto_pack_text(proto_packer *p, proto_str s, uint32_t max);
/* v by the rules above: GS_E_PROTO_LIMIT (str, tag list or tag too long), GS_E_PROTO_TYPE
 * (a bin that is not 16 bytes, an unknown type), else p->rc. */
int proto_pack_value(proto_packer *p, const proto_value *v);

/* ---- reading ------------------------------------------------------------------------- */

/* Checks the framing of buf[0..len) in one pass that allocates nothing: the top object is a
 * map (top_map) or any object; every byte is a MessagePack type (0xc1 is not); nothing is
 * cut short (GS_E_PROTO_TRUNCATED) or follows the top object (GS_E_PROTO_TRAILING); nesting
 * stays within PROTO_MAX_DEPTH (GS_E_PROTO_DEPTH); no container announces more than
 * PROTO_MAX_CHANGES entries (GS_E_PROTO_LIMIT) or more entries than bytes are left.
 *
 * It exists so that no MessagePack library is trusted with hostile nesting or counts:
 * msgpack-c 4.0 has a fixed parse stack (MSGPACK_EMBED_STACK_SIZE, 32) and reports deeper
 * input as MSGPACK_UNPACK_NOMEM_ERROR, and it allocates room for a container's announced
 * count before reading a single element of it. Every decode of bytes we did not just write
 * ourselves (a request, a response, a stored blob that may be damaged) goes through it. */
int proto_scan(const void *buf, size_t len, int top_map, gs_err *err);

/* proto_scan, refusing (GS_E_PROTO_LIMIT) a message of more than max_objects objects
 * (every scalar, string and container counts one): msgpack-c builds a node per object, so
 * this bounds its zone at about 24 bytes x max_objects before it allocates anything. */
int proto_scan_limit(const void *buf, size_t len, int top_map, size_t max_objects, gs_err *err);

/* proto_scan, then msgpack_unpack_next into up (which the caller has initialised with
 * msgpack_unpacked_init and destroys). GS_E_TOO_LARGE over PROTO_MAX_BODY, GS_E_INVALID for
 * buf NULL with len > 0, proto_scan's codes, GS_E_NOMEM. str and bin objects in up point
 * into buf. */
int proto_unpack(const void *buf, size_t len, int top_map, msgpack_unpacked *up, gs_err *err);

/* proto_unpack with proto_scan_limit's object bound. */
int proto_unpack_limit(const void *buf, size_t len, int top_map, size_t max_objects,
                       msgpack_unpacked *up, gs_err *err);

/* proto_unpack of a copy of bytes made in a, so the objects (and values read from them)
 * point into a, not into bytes (a SQLite column's memory lasts one step). GS_E_NOMEM when
 * the copy cannot be made. */
int proto_unpack_copy(gs_arena *a, const void *bytes, size_t len, int top_map,
                      msgpack_unpacked *up, gs_err *err);

/* "nil", "bool", "int", "negative int", "float", "str", "array", "map", "bin", "ext". */
const char *proto_obj_type(const msgpack_object *o);

/* The value o holds, by the rules above; item arrays of tag lists come from a. On failure
 * err says what, prefixed by where ("ch[3].f.tags[0]"; a tag's index is appended: "...[1]")
 * when where is not empty: GS_E_PROTO_TYPE, GS_E_PROTO_LIMIT, GS_E_NOMEM. */
int proto_value_get(const msgpack_object *o, gs_arena *a, const char *where, proto_value *v,
                    gs_err *err);

/* ---- a field as a stored entry ------------------------------------------------------- */

/* [name, value, ver, hlc]: one field in the stores' own formats, the client's outbox blobs
 * (client/fieldpack.c: ver is the base) and the server's acks' lost lists (server/sval.c).
 * Entries written before per-field clocks have three elements, [name, value, ver]. */
int proto_pack_entry(proto_packer *p, const proto_field *f);
/* Reads such an entry into f, a three-element one with hlc dflt_hlc; f's name and value
 * point into the unpacked bytes and a. GS_E_DB when o is not an entry (a damaged store),
 * GS_E_NOMEM. */
int proto_entry_get(const msgpack_object *o, gs_arena *a, uint64_t dflt_hlc, proto_field *f);

/* ---- one value as bytes, and copies -------------------------------------------------- */

/* Appends the MessagePack of v (proto_pack_value) to out; out is unchanged on failure. */
int proto_value_encode(gs_buf *out, const proto_value *v);
/* Decodes bytes made by proto_value_encode (exactly one value). The bytes are copied into
 * a first, so *out points only into a (a SQLite column's memory lasts one step). Codes of
 * proto_unpack and proto_value_get. */
int proto_value_decode(gs_arena *a, const void *bytes, size_t len, proto_value *out,
                       gs_err *err);
/* A deep copy of v into a. GS_E_NOMEM. */
int proto_value_copy(gs_arena *a, const proto_value *v, proto_value *out);

#endif
