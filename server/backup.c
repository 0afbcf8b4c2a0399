/*
 * backup.c: see backup.h. SQLite's online backup API does the copying: it is the library's
 * own consistent-snapshot copier (a plain cp of a WAL database while it is written can
 * miss the WAL or tear a page).
 */
#include "backup.h"

#include "engine.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int sql_fail(sqlite3 *db, int src, const char *what, const char *path, gs_err *err)
{
    return gs_err_set(err, src == SQLITE_NOMEM ? GS_E_NOMEM : GS_E_DB, "%s %s: %s (sqlite %d)",
                      what, path, db ? sqlite3_errmsg(db) : sqlite3_errstr(src), src);
}

/* Copies the database src_path into dst_path (made anew) with the backup API. */
static int copy_db(const char *src_path, const char *dst_path, gs_err *err)
{
    sqlite3 *src = NULL, *dst = NULL;
    sqlite3_backup *b;
    int s, rc = GS_OK;

    unlink(dst_path);
    s = sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL);
    if (s != SQLITE_OK) {
        rc = sql_fail(src, s, "cannot open", src_path, err);
        goto out;
    }
    sqlite3_busy_timeout(src, 5000);
    s = sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (s != SQLITE_OK) {
        rc = sql_fail(dst, s, "cannot create", dst_path, err);
        goto out;
    }
    b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        rc = sql_fail(dst, sqlite3_errcode(dst), "cannot start the copy into", dst_path, err);
        goto out;
    }
    /* all pages in one step: one read transaction, so one snapshot; in WAL mode the
       server's writer goes on meanwhile */
    do {
        s = sqlite3_backup_step(b, -1);
        if (s == SQLITE_BUSY || s == SQLITE_LOCKED)
            sqlite3_sleep(50);
    } while (s == SQLITE_BUSY || s == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (s != SQLITE_DONE)
        rc = sql_fail(dst, s, "copying", src_path, err);
    else if ((s = sqlite3_errcode(dst)) != SQLITE_OK)
        rc = sql_fail(dst, s, "writing", dst_path, err);
out:
    sqlite3_close(src);
    if (dst && sqlite3_close(dst) != SQLITE_OK && !rc)
        rc = gs_err_set(err, GS_E_IO, "closing %s failed", dst_path);
    return rc;
}

/* The copy is a gridsyncd store that SQLite finds whole: quick_check, then its meta read.
 * *epoch and *version get what it holds (epoch 0 in a store older than epochs). */
static int verify(const char *path, uint64_t *epoch, uint64_t *version, gs_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int s, rc = GS_OK, ok = 0;

    *epoch = *version = 0;
    s = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (s == SQLITE_OK)
        s = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL);
    if (s == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0)
        ok = 1;
    s = sqlite3_errcode(db);
    sqlite3_finalize(st);
    st = NULL;
    if (!ok) {
        rc = gs_err_set(err, GS_E_DB, "%s is not a whole SQLite database (%s)", path,
                        db ? sqlite3_errmsg(db) : sqlite3_errstr(s));
        goto out;
    }
    s = sqlite3_prepare_v2(db, "SELECT key, value FROM meta WHERE key IN ('epoch', 'version')",
                           -1, &st, NULL);
    if (s != SQLITE_OK) {
        rc = gs_err_set(err, GS_E_DB, "%s is not a gridsyncd store: %s", path,
                        sqlite3_errmsg(db));
        goto out;
    }
    ok = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        uint64_t v = (uint64_t)sqlite3_column_int64(st, 1);
        if (k && strcmp(k, "epoch") == 0)
            *epoch = v;
        else if (k && strcmp(k, "version") == 0) {
            *version = v;
            ok = 1;
        }
    }
    if (!ok)
        rc = gs_err_set(err, GS_E_DB, "%s is not a gridsyncd store (no version in meta)", path);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int sync_file(const char *path, gs_err *err)
{
    int fd = open(path, O_RDONLY);
    int rc = GS_OK;

    if (fd < 0 || fsync(fd) != 0)
        rc = gs_err_set(err, GS_E_IO, "fsync %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return rc;
}

int backup_run(const char *db_path, const char *out, gs_err *err)
{
    char tmp[4096];
    uint64_t epoch, version;
    int rc;

    if (eng_target_is_pg(db_path))
        return gs_err_set(err, GS_E_INVALID, "the store is a PostgreSQL database: back it up "
                                             "with pg_dump or a replica (docs/SERVER.md)");
    if (snprintf(tmp, sizeof(tmp), "%s.partial", out) >= (int)sizeof(tmp))
        return gs_err_set(err, GS_E_INVALID, "--out: path too long");
    if (access(db_path, R_OK) != 0)
        return gs_err_set(err, GS_E_NOTFOUND, "no store at %s: %s", db_path, strerror(errno));
    rc = copy_db(db_path, tmp, err);
    if (!rc)
        rc = verify(tmp, &epoch, &version, err);
    if (!rc)
        rc = sync_file(tmp, err);
    if (!rc && rename(tmp, out) != 0)
        rc = gs_err_set(err, GS_E_IO, "rename %s to %s: %s", tmp, out, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}

int backup_restore(const char *file, const char *db_path, uint64_t *epoch_out, gs_err *err)
{
    char tmp[4096], side[4200];
    uint64_t epoch, version;
    store *st = NULL;
    int rc;

    if (eng_target_is_pg(db_path))
        return gs_err_set(err, GS_E_INVALID, "the store is a PostgreSQL database: restore it "
                                             "with pg_restore and give it a new epoch "
                                             "(docs/SERVER.md)");
    if (snprintf(tmp, sizeof(tmp), "%s.restoring", db_path) >= (int)sizeof(tmp))
        return gs_err_set(err, GS_E_INVALID, "--dir: path too long");
    rc = verify(file, &epoch, &version, err);
    if (!rc)
        rc = copy_db(file, tmp, err);
    /* store_open brings an older backup's schema up to date; then the new epoch */
    if (!rc)
        rc = store_open(&st, tmp, err);
    if (!rc)
        rc = store_epoch_renew(st, epoch_out, err);
    store_close(st);
    if (!rc)
        rc = verify(tmp, &epoch, &version, err);
    if (!rc)
        rc = sync_file(tmp, err);
    /* the old store's WAL belongs to the old file: it must not be replayed into the copy */
    for (int i = 0; !rc && i < 2; i++) {
        snprintf(side, sizeof(side), "%s%s", db_path, i ? "-shm" : "-wal");
        if (unlink(side) != 0 && errno != ENOENT)
            rc = gs_err_set(err, GS_E_IO, "cannot remove %s: %s", side, strerror(errno));
    }
    if (!rc && rename(tmp, db_path) != 0)
        rc = gs_err_set(err, GS_E_IO, "rename %s to %s: %s", tmp, db_path, strerror(errno));
    if (rc) {
        unlink(tmp);
        for (int i = 0; i < 2; i++) {
            snprintf(side, sizeof(side), "%s%s", tmp, i ? "-shm" : "-wal");
            unlink(side);
        }
    }
    return rc;
}
