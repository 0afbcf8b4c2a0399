/*
 * cjson.h: records as JSON objects (jansson), the shape shared by `--json` output and
 * import lines:
 *
 *   {"type": "visit", "id": "0193...", "resident": "0193...", "kind": "routine",
 *    "visited_at": "2026-11-27T01:30:00Z", "notes": "...", "follow_up": true,
 *    "created": "2026-11-27T01:30:05.120Z", "updated": "..."}
 *
 * Field names are the schema's; times are ISO 8601 UTC strings (input also takes offsets,
 * date-only local dates and integer ms); references are ids; tags are arrays of names.
 */
#ifndef GS_CLIENT_CJSON_H
#define GS_CLIENT_CJSON_H

#include <jansson.h>

#include "record.h"

/* jansson flags for everything we print: compact, keys in insertion order, UTF-8 as is. */
#define CJSON_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

/* The record as a new JSON object. */
int cjson_from_record(const gs_record *rec, json_t **out, gs_err *err);

/* A new record of the object's "type" with its "id" (if any) and every field it gives.
 * "created" and "updated" are ignored (the device sets them). GS_E_INVALID naming the
 * field for anything that does not fit. */
int cjson_to_record(gs_db *db, json_t *obj, gs_record **out);

#endif
