/*
 * dbkey.c: encryption at rest, the public gs_db_can_encrypt and gs_db_rekey (gridsync.h).
 * The encryption itself is SQLCipher's (make SQLCIPHER=1): every page of the database and
 * of its WAL is AES-256-CBC with a per-page HMAC, under a key derived from the app's
 * (PBKDF2); gs_db_open_key gives the key to the connection before the first read
 * (common/sqldb.c) and keeps a copy only in the handle's memory, so that a failed rekey can
 * go back to the old file. Attachments' bytes are rows of the same file (attach.c), so they are
 * encrypted with everything else and no other file of the device holds residents' data.
 *
 * Rekey, and why it is atomic:
 *
 *   PATH (old key) --ATTACH PATH.rekey KEY new, sqlcipher_export--> PATH.rekey (new key)
 *        fsync PATH.rekey; close PATH (its WAL checkpointed and removed)
 *        rename(PATH.rekey, PATH); fsync the folder; reopen PATH with the new key
 *
 * Until the rename PATH is the old file, whole; after it, the new one, complete on disk
 * before it got the name. A crash in between leaves a PATH.rekey that the next rekey
 * removes. SQLCipher's own PRAGMA rekey rewrites pages in place through the WAL and its
 * 3.x releases advise against it in WAL mode; a copy also leaves no old-key page behind
 * in the file's free pages.
 *
 * Invariant: on any failure before the rename, the handle is back on PATH with the old key
 * (the connection is only closed after PATH.rekey is complete).
 */
#define _POSIX_C_SOURCE 200809L
#include "db.h"

#include "common/alloc.h"
#include "common/sqldb.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DBKEY_PATH_MAX 4096

int gs_db_can_encrypt(void)
{
#ifdef GS_SQLCIPHER
    return 1;
#else
    return 0;
#endif
}

#ifdef GS_SQLCIPHER
static void unlink_rekey_files(const char *tmp)
{
    static const char *const sfx[] = {"", "-journal", "-wal", "-shm"};
    char p[DBKEY_PATH_MAX + 16];

    for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", tmp, sfx[i]);
        unlink(p);
    }
}

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return -1;
    if (fsync(fd) != 0)
        rc = -1;
    close(fd);
    return rc;
}

/* The folder of path, for the fsync that makes the rename durable. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* Copies main into tmp under key, user_version included (sqlcipher_export copies the
 * schema and rows only). */
static int export_to(gs_db *db, const char *tmp, const void *key, size_t key_len)
{
    sqlite3_stmt *st = NULL;
    char sql[64];
    int src, rc = GS_OK, version = 0;

    src = sqlite3_prepare_v2(db->sql, "ATTACH DATABASE ?1 AS rekey KEY ?2", -1, &st, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(st, 1, tmp, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, key, (int)key_len, SQLITE_STATIC);
        src = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (src != SQLITE_DONE && src != SQLITE_OK)
        return db_fail(db, src, "creating the re-encrypted copy");
    src = sqlite3_prepare_v2(db->sql, "PRAGMA main.user_version", -1, &st, NULL);
    if (src == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    src = sqlite3_exec(db->sql, "SELECT sqlcipher_export('rekey')", NULL, NULL, NULL);
    if (src == SQLITE_OK) {
        snprintf(sql, sizeof(sql), "PRAGMA rekey.user_version = %d", version);
        src = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
    }
    if (src != SQLITE_OK)
        rc = db_fail(db, src, "copying the database under the new key");
    src = sqlite3_exec(db->sql, "DETACH DATABASE rekey", NULL, NULL, NULL);
    if (rc == GS_OK && src != SQLITE_OK)
        rc = db_fail(db, src, "closing the re-encrypted copy");
    return rc;
}

/* PATH.rekey is complete: close PATH, check that no other connection keeps a WAL of the
 * old file, rename. On failure before the rename the handle is reopened on the old key. */
static int swap_in(gs_db *db, const char *tmp)
{
    char wal[DBKEY_PATH_MAX + 8], dir[DBKEY_PATH_MAX];
    struct stat sb;
    int rc;

    rc = db_conn_close(db);
    if (rc)
        return rc;
    snprintf(wal, sizeof(wal), "%s-wal", db->path);
    if (stat(wal, &sb) == 0) {
        /* the last connection to close removes the WAL: another one still has the file
           open, and would go on writing to the old file after the rename */
        rc = gs_err_set(&db->err, GS_E_BUSY,
                        "%s: another program has the database open; close it and rekey again",
                        db->path);
        goto reopen_old;
    }
    if (rename(tmp, db->path) != 0) {
        rc = gs_err_set(&db->err, GS_E_IO, "cannot rename %s to %s: %s", tmp, db->path,
                        strerror(errno));
        goto reopen_old;
    }
    dir_of(db->path, dir, sizeof(dir));
    fsync_path(dir, O_RDONLY | O_DIRECTORY); /* best effort: the rename is done */
    return GS_OK;
reopen_old:
    unlink_rekey_files(tmp);
    db_conn_open(db, db->key, db->key_len); /* the old file, untouched: it opened before */
    return rc;
}
#endif

int gs_db_rekey(gs_db *db, const void *new_key, size_t new_len)
{
#ifdef GS_SQLCIPHER
    char tmp[DBKEY_PATH_MAX + 8];
    unsigned char *copy;
    int fd, rc;

    if (!db)
        return GS_E_INVALID;
    gs_err_clear(&db->err);
    if (!new_key || new_len == 0 || new_len > GS_DB_KEY_MAX)
        return gs_err_set(&db->err, GS_E_INVALID, "the new key must be 1 to %d bytes",
                          GS_DB_KEY_MAX);
    if (!db->sql || !db->path)
        return gs_err_set(&db->err, GS_E_STATE, "the database is not open");
    if (db->tx_depth)
        return gs_err_set(&db->err, GS_E_STATE, "a batch is open: commit it before a rekey");
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->sql, NULL); st;
         st = sqlite3_next_stmt(db->sql, st))
        if (sqlite3_stmt_busy(st)) /* the cache's are reset: a gs_list is being read */
            return gs_err_set(&db->err, GS_E_STATE,
                              "a record list is still open: free it before changing the key");
    if (strcmp(db->path, ":memory:") == 0 || db->path[0] == '\0')
        return gs_err_set(&db->err, GS_E_STATE, "an in-memory database has no key to change");
    if (strlen(db->path) >= DBKEY_PATH_MAX)
        return gs_err_set(&db->err, GS_E_INVALID, "the database path is too long");
    snprintf(tmp, sizeof(tmp), "%s.rekey", db->path);
    unlink_rekey_files(tmp); /* left by a rekey that crashed before its rename */
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); /* private, as PATH */
    if (fd < 0)
        return gs_err_set(&db->err, GS_E_IO, "cannot create %s: %s", tmp, strerror(errno));
    close(fd);
    rc = export_to(db, tmp, new_key, new_len);
    if (rc == GS_OK && fsync_path(tmp, O_RDWR) != 0)
        rc = gs_err_set(&db->err, GS_E_IO, "cannot write %s to disk: %s", tmp,
                        strerror(errno));
    if (rc) {
        unlink_rekey_files(tmp);
        return rc;
    }
    copy = gs_malloc(new_len); /* before the rename, so nothing can fail after it but the open */
    if (!copy) {
        unlink_rekey_files(tmp);
        return gs_err_set(&db->err, GS_E_NOMEM, "out of memory");
    }
    memcpy(copy, new_key, new_len);
    rc = swap_in(db, tmp);
    if (rc) {
        explicit_bzero(copy, new_len);
        gs_free(copy);
        unlink_rekey_files(tmp);
        return rc;
    }
    if (db->key) {
        explicit_bzero(db->key, db->key_len);
        gs_free(db->key);
    }
    db->key = copy;
    db->key_len = new_len;
    return db_conn_open(db, new_key, new_len);
#else
    (void)new_key;
    (void)new_len;
    if (!db)
        return GS_E_INVALID;
    return gs_err_set(&db->err, GS_E_KEY,
                      "this gridsync has no encryption (built on SQLite, not SQLCipher): "
                      "build it with make SQLCIPHER=1");
#endif
}
