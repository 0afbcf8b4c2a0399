/*
 * engine.h: the database engine under the store, SQLite or PostgreSQL, behind one small
 * statement interface (issue 20). The store (store*.c) writes its SQL once, with SQLite's
 * numbered parameters ?1, ?2 ..., and runs it through these calls on either engine; what
 * the engines do differently (transactions, locks, the DDL of a migration) the store asks
 * for by eng_kind_of.
 *
 *   eng_prepare ─► eng_bind_* ─► eng_step ... (row: eng_col_*) ... done ─► eng_reset ─┐
 *                      ▲                                                             │
 *                      └─────────────────────────────────────────────────────────────┘
 *
 * Invariants and differences the store relies on:
 *  - a connection and its statements are used by one thread at a time;
 *  - PostgreSQL: the whole result of a statement is fetched by its first eng_step (libpq
 *    runs one query at a time per connection, and the store reads inside the loops of
 *    other reads), so a statement that may return many rows must say LIMIT;
 *  - PostgreSQL: ?N becomes $N outside quotes; parameters are sent in binary with the type
 *    of their bind (bigint, bytea, text; a NULL's type is left to the server, so write
 *    CAST(?2 AS TEXT) where only a NULL could tell it); results come back in binary and a
 *    column must be bigint, integer, smallint, boolean, bytea or text (cast a sum() or a
 *    count that is numeric to bigint);
 *  - a bound blob or text is read at the step: it must stay alive until then
 *    (eng_bind_blob_copy copies it for values whose buffer moves);
 *  - errors become gs_rc codes at this boundary, the engine's own code in the message:
 *    a unique violation GS_E_EXISTS, a lock timeout or a serialization failure GS_E_BUSY
 *    (retry the transaction), a lost connection or a full disk GS_E_IO;
 *  - a lost PostgreSQL connection is reopened by the next eng_step outside a transaction,
 *    and statements are prepared again on the new connection.
 */
#ifndef GS_SERVER_ENGINE_H
#define GS_SERVER_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/rc.h"
#include "common/sqldb.h"

typedef struct eng eng;           /* one connection */
typedef struct eng_stmt eng_stmt; /* one prepared statement of it */

typedef enum eng_kind { ENG_SQLITE, ENG_PG } eng_kind;

/* 1 when target names a PostgreSQL database ("postgresql://..." or "postgres://..."). */
int eng_target_is_pg(const char *target);
/* Opens target: a PostgreSQL URL, or else the path of a SQLite file (made with opts, see
 * sqldb_open). *out is set only on success. */
int eng_open(eng **out, const char *target, const sqldb_opts *opts, gs_err *err);
void eng_close(eng *e);
eng_kind eng_kind_of(const eng *e);
/* The SQLite connection (NULL for PostgreSQL), for what only SQLite has: the WAL hook,
 * checkpoints, the online backup. */
struct sqlite3 *eng_sqlite(eng *e);

/* Runs sql, one or more statements without parameters, discarding any rows. */
int eng_exec(eng *e, const char *sql, gs_err *err);
/* Prepares sql for repeated use (PostgreSQL: on the first step, with its binds' types). */
int eng_prepare(eng *e, const char *sql, eng_stmt **out, gs_err *err);
void eng_finalize(eng_stmt *st);

/* Parameters are numbered from 1, as in the SQL. */
void eng_bind_i64(eng_stmt *st, int i, int64_t v);
void eng_bind_text(eng_stmt *st, int i, const char *s); /* NUL-terminated, kept until the step */
void eng_bind_textn(eng_stmt *st, int i, const char *s, size_t n); /* n bytes, kept */
void eng_bind_blob(eng_stmt *st, int i, const void *p, size_t n); /* kept until the step */
int eng_bind_blob_copy(eng_stmt *st, int i, const void *p, size_t n); /* GS_E_NOMEM */
void eng_bind_null(eng_stmt *st, int i);

/* One step: *row 1 with a row to read, 0 when the statement is done (row may be NULL). */
int eng_step(eng_stmt *st, int *row, gs_err *err);
/* Columns of the current row, numbered from 0. NULL reads as 0, NULL and 0 bytes. */
int eng_col_null(eng_stmt *st, int i);
int64_t eng_col_i64(eng_stmt *st, int i);
const void *eng_col_blob(eng_stmt *st, int i);
const char *eng_col_text(eng_stmt *st, int i); /* NUL-terminated, valid until the next step */
size_t eng_col_bytes(eng_stmt *st, int i);
/* Ready to run again: the result and the bindings are dropped. */
void eng_reset(eng_stmt *st);
/* 1 while a transaction is open (or, on PostgreSQL, died with its connection and still
 * needs its ROLLBACK). SQLite ends a transaction itself after some errors (a full disk). */
int eng_in_txn(eng *e);
/* Rows inserted, updated or deleted by the last statement done on the connection. */
int64_t eng_changes(eng *e);

#endif
