/*
 * capture.h: the write path behind gs_db_add / gs_db_update / gs_db_delete: validate, then
 * in ONE transaction write the record row, its outbox entry (outbox_capture) and the
 * advanced counters. Nothing is written when any check fails.
 *
 * Checks, in this order, each failing with GS_E_INVALID and a message naming "table.field":
 * every value against the schema (type, range, length, UTF-8, enum names, tag repeats),
 * required fields present (after defaults), immutable fields unchanged, references naming a
 * live record of the right table on this device. Records of a table only the server writes
 * (schema_table.server_only: warnings) fail with GS_E_READ_ONLY when created or deleted, or
 * when an update changes a field a device may not (schema_device_may_write): what the
 * server's merge would reject read_only.
 */
#ifndef GS_CLIENT_CAPTURE_H
#define GS_CLIENT_CAPTURE_H

#include <stdint.h>

#include "common/uuid.h"
#include "record.h"

/* A reference whose check is put off until a whole import is written (lines may refer to
 * records of later lines). */
typedef struct capture_ref {
    int64_t line;                /* import line that holds the reference */
    const schema_table *t;       /* the referring record's table */
    const schema_field *f;       /* the reference field */
    uint8_t target[UUID_LEN];    /* the id referred to */
} capture_ref;

typedef struct capture_refs {
    capture_ref *items;          /* gs_realloc'd */
    size_t n;                    /* entries in use */
    size_t cap;                  /* entries allocated */
    int64_t line;                /* the line being added; stamped on new entries */
} capture_refs;

/* gs_db_add, with references collected into defer instead of checked when defer is set;
 * with defer set the caller has also checked that a given id is free (gs_db_import looks
 * every id up first). */
int capture_add(gs_db *db, gs_record *rec, capture_refs *defer);

/* Checks that target is a live record of f->ref_table. */
int capture_check_ref(gs_db *db, const schema_table *t, const schema_field *f,
                      const uint8_t target[UUID_LEN]);

void capture_refs_free(capture_refs *refs);

/* A record id as a caller writes it (canonical UUID text, either case) into out; GS_E_INVALID
 * with a message showing the expected form otherwise. */
int capture_parse_id(gs_db *db, const char *id, uint8_t out[UUID_LEN]);

#endif
