/*
 * engine_pg.h: the PostgreSQL half of engine.h (engine_pg.c), for engine.c alone. Each call
 * is its engine.h namesake on a connection or statement of kind ENG_PG.
 */
#ifndef GS_SERVER_ENGINE_PG_H
#define GS_SERVER_ENGINE_PG_H

#include "server/engine.h"

typedef struct pg_conn pg_conn;
typedef struct pg_stmt pg_stmt;

int pg_open(pg_conn **out, const char *conninfo, gs_err *err);
void pg_close(pg_conn *c);
int pg_exec(pg_conn *c, const char *sql, gs_err *err);
int pg_prepare(pg_conn *c, const char *sql, pg_stmt **out, gs_err *err);
void pg_finalize(pg_stmt *st);
void pg_bind_i64(pg_stmt *st, int i, int64_t v);
void pg_bind_ref(pg_stmt *st, int i, const void *p, size_t n, int is_text);
int pg_bind_copy(pg_stmt *st, int i, const void *p, size_t n);
void pg_bind_null(pg_stmt *st, int i);
int pg_step(pg_stmt *st, int *row, gs_err *err);
int pg_col_null(pg_stmt *st, int i);
int64_t pg_col_i64(pg_stmt *st, int i);
const void *pg_col_blob(pg_stmt *st, int i);
size_t pg_col_bytes(pg_stmt *st, int i);
void pg_reset(pg_stmt *st);
int64_t pg_changes(pg_conn *c);
int pg_in_txn(pg_conn *c);

#endif
