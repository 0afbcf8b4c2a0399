/*
 * record.h: struct gs_record, the in-memory record of any schema table, and the internal
 * calls the write path and queries use on it.
 *
 * A record holds one slot per declared field of its table (schema order). A slot's value
 * is owned (pval.h); PV_NIL means "no value". The set flag marks the fields a caller gave
 * since the record was made or read: they are what gs_db_update writes.
 */
#ifndef GS_CLIENT_RECORD_H
#define GS_CLIENT_RECORD_H

#include <sqlite3.h>

#include "common/buf.h"
#include "common/uuid.h"
#include "proto/proto.h"
#include "proto/schema.h"
#include "db.h"

typedef struct record_slot {
    proto_value v;                  /* owned value; PV_NIL: none */
    int set;                        /* given by a setter since made or read */
    char ref_text[UUID_TEXT_LEN + 1]; /* gs_record_get_ref's answer */
    const char **tag_view;          /* gs_record_get_tags's answer (gs_malloc'd) */
} record_slot;

struct gs_record {
    gs_db *db;                      /* the handle errors are reported on */
    const schema_table *t;          /* the record's table */
    uint8_t id[UUID_LEN];           /* valid when has_id */
    int has_id;                     /* id given by gs_record_set_id or assigned/read */
    int stored;                     /* read from or written to the database */
    char id_text[UUID_TEXT_LEN + 1]; /* "" until has_id */
    uint64_t created;               /* HLC of the creation, 0 for a new record */
    uint64_t updated;               /* HLC of the last change */
    int deleted;                    /* tombstone */
    record_slot *slots;             /* t->n_fields entries */
    gs_buf text;                    /* gs_record_text's answer */
};

/* Index of the declared field name in t, or -1 (also for "deleted", which is implicit). */
int record_field_index(const schema_table *t, const char *name, size_t len);

/* A new empty record of t. */
int record_new(gs_db *db, const schema_table *t, gs_record **out);
void record_set_id(gs_record *rec, const uint8_t id[UUID_LEN]);
/* Replaces slot i's value with a copy of v; marks it set when mark_set. */
int record_put(gs_record *rec, size_t i, const proto_value *v, int mark_set);

/* The SELECT list that record_from_row reads: "id, created, updated, deleted, f1, ...". */
int record_select_list(const schema_table *t, gs_buf *out);
/* "SELECT <record_select_list> FROM t WHERE id = ?1" (a db_sql_build_fn). */
int record_by_id_sql(const schema_table *t, gs_buf *out);
/* Reads a row selected with record_select_list into a new record. */
int record_from_row(gs_db *db, const schema_table *t, sqlite3_stmt *st, gs_record **out);

/* Finds the record with this id in any table (live or deleted); GS_E_NOTFOUND if none. */
int record_load(gs_db *db, const uint8_t id[UUID_LEN], gs_record **out);
/* The same from table t only. */
int record_load_in(gs_db *db, const schema_table *t, const uint8_t id[UUID_LEN], gs_record **out);
/* The table of the record with this id and whether it is deleted (either may be NULL),
 * in one statement whatever the number of tables; GS_E_NOTFOUND if no table has it. */
int record_locate(gs_db *db, const uint8_t id[UUID_LEN], const schema_table **t, int *deleted);

#endif
