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
#include <stddef.h>

#include "common/rc.h"

#define SQLDB_BUSY_TIMEOUT_MS 5000 /* how long a writer waits for another's lock */

/* The one mapping of a SQLite result code (primary or extended) to gs_rc: BUSY, LOCKED ->
 * GS_E_BUSY; NOMEM -> GS_E_NOMEM; IOERR, FULL, CANTOPEN, READONLY, PERM -> GS_E_IO; a
 * PRIMARY KEY or UNIQUE violation -> GS_E_EXISTS; anything else (other constraints,
 * CORRUPT, NOTADB, misuse) -> GS_E_DB (sqldb_open's probe makes NOTADB GS_E_KEY). */
int sqldb_rc(int src);

typedef struct sqldb_opts {
    int page_size;       /* page size of a new file; 0: SQLite's default */
    const char *pragmas; /* more PRAGMAs run after the open, or NULL */
    const void *key;     /* SQLCipher key (make SQLCIPHER=1) given before anything is read */
    size_t key_len;      /* its length; 0: no key, a plain file */
    int probe_key;       /* 1: read the schema first, so a file that does not decrypt (wrong
                            key, no key for an encrypted file, a key for a plain one) is
                            GS_E_KEY before anything is written */
} sqldb_opts;

/* SQLCipher 3.4 (make SQLCIPHER=1) embeds SQLite 3.15: the two calls the device library
 * needs that came later, with their older equivalents. */
static inline int sqldb_prepare_persistent(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
#if SQLITE_VERSION_NUMBER >= 3020000
    return sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
#else
    return sqlite3_prepare_v2(db, sql, -1, st, NULL);
#endif
}
static inline sqlite3_int64 sqldb_total_changes(sqlite3 *db)
{
#if SQLITE_VERSION_NUMBER >= 3037000
    return sqlite3_total_changes64(db);
#else
    return sqlite3_total_changes(db); /* a counter compared for change, wraps only at 2^31 */
#endif
}

/* Opens path (creating it, mode 0600, when absent) for use by one thread at a time:
 * extended result codes, the key (opts->key), the probe (opts->probe_key), busy timeout,
 * WAL (":memory:" excepted), synchronous=FULL, then opts. A key in a build without
 * SQLCipher is GS_E_KEY. *out is set whenever a connection was made, also on failure, so the caller can
 * close it. GS_E_IO when the file cannot be created or opened, else sqldb_rc's codes;
 * err says which step failed. */
int sqldb_open(const char *path, const sqldb_opts *opts, sqlite3 **out, gs_err *err);

/* PRAGMA user_version into *out. GS_E_STATE when it is above known: the file was written by
 * a newer `program`, which is named in the message; nothing is changed. */
int sqldb_user_version(sqlite3 *db, int known, const char *program, int *out, gs_err *err);

#endif
