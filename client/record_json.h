/*
 * record_json.h: records as JSON objects (jansson), the shape shared by `--json` output
 * and import lines:
 *
 *   {"type": "visit", "id": "0193...", "resident": "0193...", "kind": "routine",
 *    "visited_at": "2026-11-27T01:30:00Z", "notes": "...", "follow_up": true,
 *    "created": "2026-11-27T01:30:05.120Z", "updated": "..."}
 *
 * Field names are the schema's; each value is written and read by proto/value_json.h, the
 * mapping the admin API uses too (times ISO 8601 UTC strings, input also offsets, date-only
 * local dates and integer ms; references ids; tags arrays of names). "created" and
 * "updated" are the physical part of the record's HLCs, in the same ISO form.
 */
#ifndef GS_CLIENT_RECORD_JSON_H
#define GS_CLIENT_RECORD_JSON_H

#include <jansson.h>

#include "record.h"

/* jansson flags for everything we print: compact, keys in insertion order, UTF-8 as is. */
#define RECORD_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

/* The record as a new JSON object. */
int record_json_from_record(const gs_record *rec, json_t **out, gs_err *err);

/* A new record of the object's "type" with its "id" (if any) and every field it gives.
 * "created" and "updated" are ignored (the device sets them). GS_E_INVALID naming the
 * field for anything that does not fit. */
int record_json_to_record(gs_db *db, json_t *obj, gs_record **out);

#endif
