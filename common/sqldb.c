/*
 * sqldb.c: see sqldb.h.
 */
#include "sqldb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef SQLITE_OPEN_EXRESCODE /* SQLite 3.37; SQLCipher 3.4's 3.15 has the call below only */
#define SQLITE_OPEN_EXRESCODE 0
#endif

int sqldb_rc(int src)
{
    switch (src & 0xff) {
    case SQLITE_OK:
        return GS_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return GS_E_BUSY;
    case SQLITE_NOMEM:
        return GS_E_NOMEM;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return GS_E_IO;
    case SQLITE_CONSTRAINT:
        return src == SQLITE_CONSTRAINT_PRIMARYKEY || src == SQLITE_CONSTRAINT_UNIQUE
                   ? GS_E_EXISTS
                   : GS_E_DB;
    default:
        return GS_E_DB;
    }
}

static int fail(sqlite3 *db, int src, gs_err *err, const char *what, const char *path)
{
    return gs_err_set(err, sqldb_rc(src), "%s %s: %s (sqlite %d)", what, path,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(src), src);
}

static int exec(sqlite3 *db, const char *sql, const char *path, gs_err *err)
{
    int src = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? GS_OK : fail(db, src, err, "setting up", path);
}

static int wal(sqlite3 *db, const char *path, gs_err *err)
{
    sqlite3_stmt *st = NULL;
    char mode[16] = "";
    int src = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);

    if (src == SQLITE_OK) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            const unsigned char *m = sqlite3_column_text(st, 0);
            snprintf(mode, sizeof(mode), "%s", m ? (const char *)m : "?");
            src = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (src != SQLITE_OK)
        return fail(db, src, err, "switching to WAL mode", path);
    /* an in-memory database (tests) reports "memory"; anything else must be WAL */
    if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
        return gs_err_set(err, GS_E_DB, "%s: the database refused WAL mode (got '%s')", path,
                          mode);
    return GS_OK;
}

/* A file that does not decrypt reads as SQLITE_NOTADB at the first page. */
static int probe_key(sqlite3 *db, const char *path, int keyed, gs_err *err)
{
    int src = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);

    if (src == SQLITE_OK)
        return GS_OK;
    if ((src & 0xff) != SQLITE_NOTADB)
        return fail(db, src, err, "cannot read", path);
    return keyed ? gs_err_set(err, GS_E_KEY,
                              "%s: the key does not open this database (a wrong key, or a "
                              "file that is not encrypted or not a database); nothing was "
                              "changed",
                              path)
                 : gs_err_set(err, GS_E_KEY,
                              "%s: the database is encrypted (or is not a database): give its "
                              "key (GRIDSYNC_KEY_FILE)%s",
                              path,
#ifdef GS_SQLCIPHER
                              ""
#else
                              " to a gridsync built with make SQLCIPHER=1"
#endif
                 );
}

static int set_key(sqlite3 *db, const sqldb_opts *opts, const char *path, gs_err *err)
{
#ifdef GS_SQLCIPHER
    int src = sqlite3_key(db, opts->key, (int)opts->key_len);
    return src == SQLITE_OK ? GS_OK : fail(db, src, err, "cannot set the key of", path);
#else
    (void)db;
    (void)opts;
    return gs_err_set(err, GS_E_KEY,
                      "%s: a key was given, but this build has no encryption (SQLite, not "
                      "SQLCipher): build with make SQLCIPHER=1",
                      path);
#endif
}

int sqldb_open(const char *path, const sqldb_opts *opts, sqlite3 **out, gs_err *err)
{
    char sql[64];
    int src, rc;

    *out = NULL;
    if (strcmp(path, ":memory:") != 0 && path[0] != '\0') {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
            return gs_err_set(err, GS_E_IO, "cannot open or create %s: %s", path,
                              strerror(errno));
        close(fd);
    }
    src = sqlite3_open_v2(path, out,
                          SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                              SQLITE_OPEN_EXRESCODE,
                          NULL);
    if (src != SQLITE_OK)
        return fail(*out, src, err, "cannot open", path);
    sqlite3_extended_result_codes(*out, 1);
    if (opts && opts->key_len) {
        rc = set_key(*out, opts, path, err);
        if (rc)
            return rc;
    }
    if (opts && opts->probe_key) {
        rc = probe_key(*out, path, opts->key_len != 0, err);
        if (rc)
            return rc;
    }
    sqlite3_busy_timeout(*out, SQLDB_BUSY_TIMEOUT_MS);
    if (opts && opts->page_size) {
        /* only a file without pages takes it; an existing one keeps its own */
        snprintf(sql, sizeof(sql), "PRAGMA page_size = %d", opts->page_size);
        rc = exec(*out, sql, path, err);
        if (rc)
            return rc;
    }
    rc = wal(*out, path, err);
    /* FULL: a commit is on disk, WAL included, before the write is reported done */
    if (!rc)
        rc = exec(*out, "PRAGMA synchronous = FULL", path, err);
    if (!rc && opts && opts->pragmas)
        rc = exec(*out, opts->pragmas, path, err);
    return rc;
}

int sqldb_user_version(sqlite3 *db, int known, const char *program, int *out, gs_err *err)
{
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    int v = 0;

    if (src == SQLITE_OK) {
        src = sqlite3_step(st);
        if (src == SQLITE_ROW) {
            v = sqlite3_column_int(st, 0);
            src = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (src != SQLITE_OK)
        return gs_err_set(err, sqldb_rc(src), "reading the file's version: %s (sqlite %d)",
                          sqlite3_errmsg(db), src);
    if (v > known)
        return gs_err_set(err, GS_E_STATE,
                          "the file has version %d, written by a newer %s (this one knows up to "
                          "%d): update %s",
                          v, program, known, program);
    *out = v;
    return GS_OK;
}
