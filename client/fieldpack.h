/*
 * fieldpack.h: the changed fields of one outbox or rejected row, as one MessagePack blob.
 * Rows are written in the wire's own form, the "f" map of a version 2 pushed change whose
 * clock is the row's (proto_encode_fields):
 *
 *   { name str: [value, base uint] | [value, base uint, hlc uint], ... }
 *
 * so that a sync to a version 2 server sends the stored bytes as they are
 * (proto_change.f_raw) instead of decoding and encoding every row. hlc is the clock of the
 * edit that gave the field its value, written only when it is not the row's (the row keeps
 * its first edit's clock; a field edited again later keeps its own, so last-writer-wins
 * compares when each value was really written).
 *
 * Rows written by earlier versions hold an array of entries instead, read as before:
 *
 *   [ [name str, value, base uint, hlc uint], ... ]   (entries of three elements, before
 *                                                      per-field clocks: the row's hlc)
 *
 * Values are written and read by proto/value.c (the wire's rules, so what an outbox row
 * holds can always be sent). One blob per change instead of one row per field keeps a
 * write at three statements (record, outbox, counters) however many fields it has.
 * Decoding borrows nothing from the caller: a fieldset owns a copy of the bytes in its
 * arena, and its proto_fields point into it.
 */
#ifndef GS_CLIENT_FIELDPACK_H
#define GS_CLIENT_FIELDPACK_H

#include "common/arena.h"
#include "common/buf.h"
#include "proto/proto.h"

/* Largest blob accepted: 64 fields of 4000 bytes, with room to spare. */
#define FIELDPACK_MAX (PROTO_MAX_FIELDS * (PROTO_MAX_STR + 128))

typedef struct fieldset {
    proto_field *fields; /* decoded fields; names and values point into arena */
    uint32_t n;          /* entries in fields */
    gs_arena arena;      /* the copy of the bytes, fields and tag lists' item arrays */
} fieldset;

/* Appends the encoding of fields (ver = base, hlc = the field's edit) for a row whose clock
 * is row_hlc to out; out is unchanged on failure: GS_E_TOO_LARGE, GS_E_NOMEM, or the
 * encoder's code for a value the protocol cannot carry. */
int fieldpack_encode(gs_buf *out, const proto_field *fields, uint32_t n, uint64_t row_hlc);
/* 1 when p[0..len) is in the wire's form (a map), 0 for an earlier version's array. */
int fieldpack_is_wire(const void *p, size_t len);

/* Cannot fail. */
void fieldset_init(fieldset *fs);
void fieldset_free(fieldset *fs);
/* Decodes p[0..len) into fs (freeing what fs held); a field stored without a clock gets
 * row_hlc. GS_E_DB when the bytes are not a fieldpack blob (a damaged row), GS_E_NOMEM. */
int fieldpack_decode(fieldset *fs, const void *p, size_t len, uint64_t row_hlc);

/* Index of the field named name in fs, or -1. */
int fieldset_find(const fieldset *fs, const char *name, size_t len);

#endif
