/*
 * layout.h: the device database's tables, created and migrated forward on open.
 *
 * Two kinds of migration, both in one transaction so a crash mid-way leaves the file as it
 * was:
 *  - numbered steps for the fixed tables (meta, outbox, field_version, rejected), recorded
 *    in PRAGMA user_version (DB_LAYOUT_VERSION); a file with a higher number was written by
 *    a newer gridsync and is refused (GS_E_STATE) rather than damaged;
 *  - the record tables are generated from proto/schema.c: a missing table is created, a
 *    missing column is added (schema names are only ever appended, never renamed, so this
 *    is all a new record type or field needs). A hash of the schema kept in meta lets an
 *    open skip this when nothing changed.
 */
#ifndef GS_CLIENT_LAYOUT_H
#define GS_CLIENT_LAYOUT_H

#include "db.h"

/* Sets the pragmas (WAL, synchronous=FULL) and brings the layout up to date. */
int layout_migrate(gs_db *db);

/* 1 if name is one of the fixed tables a schema table must not be called. */
int layout_reserved(const char *name);

#endif
