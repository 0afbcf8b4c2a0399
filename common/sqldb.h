/*
 * sqldb.h: what the device database (client/db.c) and the town server's store
 * (server/store.c) do the same way with SQLite: how a SQLite failure becomes a gs_rc, how
 * a file is opened, and how a file from a newer program is refused.
 *
 * Both files hold residents' names and addresses (and, on a device, its token): they are
 * created with mode 0600, and SQLite gives the -wal and -shm files the database's mode.
 * Both promise that a reported write survives power loss: WAL with synchronous=FULL.
 */
#ifndef GS_COMMON_SQLDB_H
#define GS_COMMON_SQLDB_H

#include <sqlite3.h>

#include "common/rc.h"

#define SQLDB_BUSY_TIMEOUT_MS 5000 /* how long a writer waits for another's lock */

/* The one mapping of a SQLite result code (primary or extended) to gs_rc: BUSY, LOCKED ->
 * GS_E_BUSY; NOMEM -> GS_E_NOMEM; IOERR, FULL, CANTOPEN, READONLY, PERM -> GS_E_IO; a
 * PRIMARY KEY or UNIQUE violation -> GS_E_EXISTS; anything else (other constraints,
 * CORRUPT, NOTADB, misuse) -> GS_E_DB. */
int sqldb_rc(int src);

typedef struct sqldb_opts {
    int page_size;       /* page size of a new file; 0: SQLite's default */
    const char *pragmas; /* more PRAGMAs run after the open, or NULL */
} sqldb_opts;

/* Opens path (creating it, mode 0600, when absent) for use by one thread at a time:
 * extended result codes, busy timeout, WAL (":memory:" excepted), synchronous=FULL, then
 * opts. *out is set whenever a connection was made, also on failure, so the caller can
 * close it. GS_E_IO when the file cannot be created or opened, else sqldb_rc's codes;
 * err says which step failed. */
int sqldb_open(const char *path, const sqldb_opts *opts, sqlite3 **out, gs_err *err);

/* PRAGMA user_version into *out. GS_E_STATE when it is above known: the file was written by
 * a newer `program`, which is named in the message; nothing is changed. */
int sqldb_user_version(sqlite3 *db, int known, const char *program, int *out, gs_err *err);

#endif
