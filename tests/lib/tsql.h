/*
 * tsql.h: one-value SQLite queries for assertions on what a database file holds, on any
 * connection (a gs_db's own, or a plain one opened beside it).
 */
#ifndef GS_TESTS_TSQL_H
#define GS_TESTS_TSQL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The first column of the first row of sql as an integer, -1 when there is no row. Fails
 * the test, with SQLite's message, when sql does not prepare. */
int64_t tsql_int(sqlite3 *db, const char *sql);

/* The same as text, copied into buf (cap bytes) and returned; "" when there is no row or
 * the value is NULL. */
const char *tsql_text(sqlite3 *db, const char *sql, char *buf, size_t cap);

#endif
