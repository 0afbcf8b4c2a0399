/*
 * pval.h: field values (proto_value) as the client keeps them: owned copies, SQLite
 * columns, and the text people type and read. Equality is schema_value_eq (proto/).
 *
 * An "owned" value holds its strings in gs_malloc'd memory, each NUL-terminated (the NUL
 * is not counted in len), so callers may use them as C strings; pval_free releases them
 * and leaves PV_NIL. A "borrowed" value (as in a proto_change built by hand or decoded)
 * points into someone else's memory and is never passed to pval_free.
 *
 * Column storage by schema type: text, enum -> TEXT; int, time (ms) -> INTEGER; bool ->
 * INTEGER 0/1; real -> REAL; ref -> BLOB(16); tags -> TEXT, a JSON array of tag names;
 * no value -> NULL.
 */
#ifndef GS_CLIENT_PVAL_H
#define GS_CLIENT_PVAL_H

#include <sqlite3.h>

#include "common/buf.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "proto/schema.h"

void pval_free(proto_value *v);
/* Deep copy of src into dst (which must hold no owned memory). GS_E_NOMEM leaves dst nil. */
int pval_copy(proto_value *dst, const proto_value *src);

/* Binds v to parameter col of st in the storage of field f; returns a SQLite code. */
int pval_bind(sqlite3_stmt *st, int col, const schema_field *f, const proto_value *v);
/* Reads column col of st as field f into an owned value. GS_E_DB when the stored value
 * does not fit the field's type (the file was edited by hand). */
int pval_read(sqlite3_stmt *st, int col, const schema_field *f, proto_value *out,
              gs_err *err);

/* Parses text as a person writes a value of field f (proto_value_parse, the one parser)
 * into an owned value; "" is nil. GS_E_INVALID with a message naming t.f, GS_E_NOMEM. */
int pval_parse(const schema_table *t, const schema_field *f, const char *text,
               proto_value *out, gs_err *err);

/* Appends v as text for people to out: times ISO 8601 UTC, refs as ids, bools true/false,
 * tags comma-separated; nil appends nothing. */
int pval_format(const schema_field *f, const proto_value *v, gs_buf *out);

/* Tags as the JSON array text stored in their column. */
int pval_tags_json(const proto_value *v, gs_buf *out);

#endif
