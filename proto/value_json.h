/*
 * value_json.h: a field value as public JSON, the one mapping of gridsync. The CLI's
 * --json records, import lines (docs/CLIENT.md) and the admin API's values (docs/ADMIN-API.md)
 * all go through it, so a value looks the same wherever a person or a program reads it:
 *
 *   schema type   JSON written                         JSON read
 *   text, enum    string                               string
 *   int           integer                              integer
 *   bool          true / false                         true / false
 *   real          number (an int value as a real: 30.0) number (integer or not)
 *   time          ISO 8601 UTC string, "2026-11-27T01:30:00Z" or "...:00.250Z"
 *                 (common/isotime.h; an instant outside years 0001..9999 as integer ms)
 *                                                      ISO 8601 string (any offset; none,
 *                                                      or a date alone: Beijing time) or
 *                                                      integer ms since 1970
 *   ref           record id as UUID text               UUID text (either case)
 *   tags          array of strings                     array of strings
 *   no value      null                                 null
 *
 * Reading checks the JSON type for the field's type and the limits every wire value keeps
 * (PROTOCOL.md 7.2: text at most 4000 bytes, at most 32 tags of at most 64 bytes), so what
 * it returns can always be stored and sent; ranges, enum names and references are the
 * schema's to check (schema_check_value), after.
 */
#ifndef GS_PROTO_VALUE_JSON_H
#define GS_PROTO_VALUE_JSON_H

#include <jansson.h>

#include "common/arena.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"

/* v as a new JSON value. f may be NULL (a field the schema does not know: the value's own
 * type decides, an int staying an int). NULL when out of memory or for a value JSON cannot
 * carry (a real that is not finite, a bin that is not a 16-byte id): null would say "no
 * value", which is not true. */
json_t *proto_value_to_json(const schema_field *f, const proto_value *v);

/* A time (ms since 1970) as the JSON of a time value: the ISO 8601 UTC string, or the
 * integer outside years 0001..9999. NULL when out of memory. */
json_t *proto_time_to_json(int64_t ms);

/* What a person calls the JSON type of j in a message: "a string", "a list", "null"... */
const char *proto_json_kind(const json_t *j);

/* The value of field f of table t that j gives, with its strings and arrays copied into a
 * (j may go before *out is used). On failure *out is untouched and err names the field
 * ("visit.lat: must be a number, not a string"): GS_E_INVALID (wrong JSON type, not a time,
 * not a record id), GS_E_TOO_LARGE (over a wire limit), GS_E_NOMEM. */
int proto_value_from_json(const schema_table *t, const schema_field *f, const json_t *j,
                          gs_arena *a, proto_value *out, gs_err *err);

#endif
