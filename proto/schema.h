/*
 * schema.h: the record types of gridsync, declared once.
 *
 * Change capture, validation, merge policies, the CLI, the server store and the admin
 * console all read these tables; adding a record type (say, mediation cases) is one more
 * schema_table in schema.c and nothing else. Names are wire names: they appear in
 * MessagePack changes, SQLite columns, JSON and CLI output, so they are only ever appended.
 *
 * Every table implicitly has, besides its declared fields:
 *   id       16-byte UUIDv7 (bin 16 on the wire)
 *   created  HLC of the creation, updated  HLC of the last change (uint64)
 *   deleted  the tombstone (bool), a field of its own on the wire (SCHEMA_DELETED_FIELD)
 * and exactly one declared field flagged SF_SCOPE (the grid) that decides which devices
 * may push and pull the record.
 */
#ifndef GS_PROTO_SCHEMA_H
#define GS_PROTO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "common/limits.h"
#include "common/rc.h"

/* How a field's value travels (MessagePack type) and is checked. */
typedef enum schema_type {
    ST_TEXT = 1, /* str, valid UTF-8, at most max_len bytes */
    ST_INT = 2,  /* int within [min, max] */
    ST_BOOL = 3, /* bool */
    ST_REAL = 4, /* float 64 (float 32 and int accepted on input) within [min, max] */
    ST_TIME = 5, /* int, milliseconds since 1970-01-01T00:00:00Z */
    ST_ENUM = 6, /* str, one of the field's enum values */
    ST_REF = 7,  /* bin 16, the id of a record of ref_table */
    ST_TAGS = 8, /* array of str, each one of the field's enum values, no repeats */
} schema_type;

/* How the server settles two concurrent edits of one field (see PROTOCOL.md "Merge"). */
typedef enum schema_policy {
    SP_LWW = 1,    /* last writer wins on HLC, ties to the greater device id */
    SP_STATUS = 2, /* terminal enum values (SEF_TERMINAL) stick against a concurrent
                      non-terminal edit, unless that edit is a later explicit reopen
                      (to the field's SEF_REOPEN value); otherwise LWW */
    SP_DELETE = 3, /* the tombstone: a delete concurrent with an update wins (the record
                      stays deleted, the update's values are kept underneath so an admin
                      can restore them); only for SCHEMA_DELETED_FIELD */
} schema_policy;

/* Field flags. */
#define SF_REQUIRED 0x01u  /* must be present and not nil when a record is created */
#define SF_SCOPE 0x02u     /* the grid: decides which devices see the record */
#define SF_IMMUTABLE 0x04u /* set at creation, never changed afterwards */
#define SF_FROM_DEVICE 0x08u /* defaulted by the client from its device settings (grid, worker) */
#define SF_DEFAULT_NOW 0x10u /* ST_TIME: defaulted by the client to the time of creation */
#define SF_REF_SCOPED 0x40u /* ST_REF: a device may only refer to a record of one of its
                                own grids (a dispute's party, an errand's resident) */
#define SF_DEVICE_EDIT 0x20u /* of a table written by the server (schema_table.server_only):
                                a field a device may change (a warning's state and note) */

/* Enum value flags. */
#define SEF_TERMINAL 0x01u /* a final state for SP_STATUS */
#define SEF_REOPEN 0x02u   /* the value an explicit reopen sets, for SP_STATUS */
#define SEF_DEVICE 0x04u   /* of an SF_DEVICE_EDIT enum field: a value a device may set */

typedef struct schema_enum {
    const char *name;     /* wire value */
    const char *label_zh; /* Simplified Chinese label for people */
    const char *label_en; /* English label for people */
    unsigned flags;       /* SEF_* */
} schema_enum;

typedef struct schema_field {
    const char *name;           /* wire, column and JSON name */
    schema_type type;           /* ST_* */
    unsigned flags;             /* SF_* */
    schema_policy policy;       /* merge policy */
    uint32_t max_len;           /* ST_TEXT: bytes; ST_TAGS: number of tags */
    double min, max;            /* ST_INT, ST_REAL, ST_TIME: inclusive range (0, 0: none) */
    const schema_enum *enums;   /* ST_ENUM, ST_TAGS: the values */
    size_t n_enums;             /* entries in enums */
    const char *ref_table;      /* ST_REF: the table referred to */
    const char *def;            /* ST_ENUM: value given at creation when none is; or NULL */
    const char *const *next;    /* SP_STATUS: per enum value (same index), the values a writer
                                   who saw it may set next, space-separated; NULL (the
                                   array or an entry): any value */
    const char *cli_flag;       /* CLI option name without "--", NULL if not settable */
    const char *label_zh;       /* Simplified Chinese label */
    const char *label_en;       /* English label */
} schema_field;

typedef struct schema_table {
    const char *name;           /* wire and SQL table name ("visit") */
    const char *cli_name;       /* CLI noun ("visit"); plural for list below */
    const char *cli_plural;     /* "visits" */
    const char *label_zh;       /* "走访" */
    const char *label_en;       /* "Visit" */
    const schema_field *fields; /* declared fields, in display order */
    size_t n_fields;            /* entries in fields */
    const char *title;          /* the text field that names a record for people (a
                                   resident's name), shown next to references; or NULL */
    int server_only;            /* records are created by the server (pseudo-device
                                   "server"); a device may only change SF_DEVICE_EDIT
                                   fields, to SEF_DEVICE values for enums (read_only) */
} schema_table;

/* The wire name of the tombstone field, present in every table. */
#define SCHEMA_DELETED_FIELD "deleted"

/* The field that names a record's grid in every table. */
#define SCHEMA_SCOPE_FIELD "grid"

/* Names and texts: GS_LIMIT_NAME and GS_LIMIT_TEXT (common/limits.h). */

extern const schema_table schema_tables[];
extern const size_t schema_n_tables;

/* The most MessagePack objects a valid SyncRequest can hold: PROTO_MAX_CHANGES changes of
 * the widest table, every field given with its hlc and every tag list full, plus the
 * request's own keys. The decoder refuses a request of more before building anything. */
size_t schema_max_request_objects(void);

const schema_table *schema_table_find(const char *name, size_t len);
const schema_table *schema_table_by_cli(const char *cli_name_or_plural);
const schema_field *schema_field_find(const schema_table *t, const char *name, size_t len);
/* Index of f in t->fields. */
size_t schema_field_index(const schema_table *t, const schema_field *f);
const schema_field *schema_scope_field(const schema_table *t);
/* t's title field (schema_table.title), or NULL when its records have none. */
const schema_field *schema_title_field(const schema_table *t);
const schema_enum *schema_enum_find(const schema_field *f, const char *name, size_t len);

/* Whether a device may write value v (NULL: any) to field f of table t: always for a table
 * the devices write; for a server_only one only SF_DEVICE_EDIT fields, enum values flagged
 * SEF_DEVICE. On refusal err says what ("warning.level is set by the server only") and the
 * code is GS_E_READ_ONLY. Creating records of a server_only table is refused by the caller
 * with schema_device_may_create; deleting one is a write of the field "deleted", which no
 * such table lets a device make. */
struct proto_value;
int schema_device_may_write(const schema_table *t, const schema_field *f,
                            const struct proto_value *v, gs_err *err);
/* GS_OK when a device may create records of t; GS_E_READ_ONLY with a message when not. */
int schema_device_may_create(const schema_table *t, gs_err *err);

struct proto_value;
struct proto_change;

/* Checks one value against its field: type, range, length, UTF-8, enum membership, tag
 * repeats. nil is accepted for any field not SF_REQUIRED. On failure err names the field
 * ("visit.kind: 'walk' is not one of routine, elderly_checkin, ...") and the code is
 * GS_E_INVALID or GS_E_TOO_LARGE. */
int schema_check_value(const schema_table *t, const schema_field *f,
                       const struct proto_value *v, gs_err *err);

/* Checks every field of a change: known table and field names, no field twice, each value
 * by schema_check_value; when creating is set, also that every SF_REQUIRED field is present.
 * Does not check references or scope, which need a store. */
int schema_check_change(const struct proto_change *c, int creating, gs_err *err);

/* The field's normal form of v in *out (borrowing v's strings): an int given for a real
 * field is that real (the wire and the client's setters accept an int there), and no value
 * of a tombstone (SP_DELETE) is false. Every other value is itself. */
void schema_value_normal(const schema_field *f, const struct proto_value *v,
                         struct proto_value *out);

/* 1 if a and b are the same value of field f: proto_value_eq of their normal forms. This is
 * the one meaning of "the value did not change" on both sides: the client writes nothing
 * for an update that changes no value, and the server records no conflict for concurrent
 * edits that wrote the same value (tests/unit/test_value_agree.c checks they agree). */
int schema_value_eq(const schema_field *f, const struct proto_value *a,
                    const struct proto_value *b);

/* Whether a writer who saw value from (NULL or nil: none, a new record) may set field f to
 * to: always unless f declares a path (schema_field.next) for the enum value from, then only to
 * from itself or one of next. On refusal err names the field and the values allowed
 * ("dispute.status: resolved may become reported, not mediating") and the code is
 * GS_E_INVALID. Concurrent edits are not transitions: SP_STATUS settles them. */
int schema_transition_ok(const schema_table *t, const schema_field *f,
                         const struct proto_value *from, const struct proto_value *to,
                         gs_err *err);

#endif
