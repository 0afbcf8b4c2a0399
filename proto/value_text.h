/*
 * value_text.h: a field value from the text a person types, the one parser of gridsync:
 * the CLI's flags (`--born 1941`, `--at 2026-11-27T09:30`, `--tag a,b`), the library's
 * gs_record_set_text, list filters, and gridsync-admin's `conflicts resolve --value`.
 *
 *   schema type   accepted text
 *   (any)         ""                        no value (clears an optional field)
 *   text, enum    the text as it is         (enum names are the schema's to check)
 *   int           a decimal integer          "1941", "-3"; blanks before it, nothing after
 *   real          a finite decimal number    "29.5", "1e-3"; not "inf" or "nan"; likewise
 *   bool          true, yes, 1 / false, no, 0 (any case)
 *   time          ISO 8601 as common/isotime.h accepts it (no offset: Beijing time)
 *   ref           a record id, UUID text     (either case)
 *   tags          names separated by commas, blanks around them dropped, empty ones skipped
 *
 * Only the form is checked here; ranges, enum and tag names and references are the
 * schema's (schema_check_value) and the store's.
 */
#ifndef GS_PROTO_VALUE_TEXT_H
#define GS_PROTO_VALUE_TEXT_H

#include "common/arena.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"

/* Parses the NUL-terminated text as a value of field f of table t into *out, its strings
 * copied into a. On failure *out is untouched and err names the field and quotes the text
 * ("resident.born: '19x1' is not a whole number"): GS_E_INVALID, GS_E_NOMEM. */
int proto_value_parse(const schema_table *t, const schema_field *f, const char *text,
                      gs_arena *a, proto_value *out, gs_err *err);

/* The two forms the JSON mapping (value_json.c) reads from a string too, with the same
 * messages: a time as isotime_parse reads s[0..len) into *ms, and a record id (UUID text)
 * into *out as a PV_BIN of 16 bytes in a. GS_E_INVALID naming t.f, GS_E_NOMEM. */
int proto_time_from_text(const schema_table *t, const schema_field *f, const char *s,
                         size_t len, int64_t *ms, gs_err *err);
int proto_id_from_text(const schema_table *t, const schema_field *f, const char *s, size_t len,
                       gs_arena *a, proto_value *out, gs_err *err);

#endif
