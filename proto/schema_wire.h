/*
 * schema_wire.h: the record schema (schema.c) as one MessagePack document, the answer of
 * GET /v1/schema (PROTOCOL.md 10) to devices and, converted to JSON, of GET
 * /v1/admin/schema (docs/ADMIN-API.md) to admins: one description of the schema, written
 * in one place, so a device and the console never read two versions of it.
 *
 * Invariants: the document is a pure function of schema.c and the limits of proto.h (the
 * same bytes on every call of one build); keys are only ever appended; a key whose meaning
 * does not apply to a field is still present (nil, false or 0), except an enum value's
 * "next", present only when its field declares a status path.
 */
#ifndef GS_PROTO_SCHEMA_WIRE_H
#define GS_PROTO_SCHEMA_WIRE_H

#include "common/buf.h"

/* The wire names of the schema's types and policies ("text", "lww"); "unknown" otherwise. */
const char *schema_wire_type_name(int type);
const char *schema_wire_policy_name(int policy);

/* Appends the schema document to out: GS_OK, or GS_E_TOO_LARGE / GS_E_NOMEM with out as it
 * was. */
int proto_encode_schema(gs_buf *out);

#endif
