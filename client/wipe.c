/*
 * wipe.c: see wipe.h.
 */
#include "wipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest database path a wipe handles (the marker's suffix included). */
#define WIPE_PATH_MAX 4096

/* What the marker says to a person who finds it (no record data). */
static const char marker_text[] =
    "gridsync: this device was revoked with a remote wipe. Its database and the files next\n"
    "to it are being deleted; the next open of the database completes the deletion.\n";

/* SQLite's files of a database, the database itself first, and whether each is cut to 0
 * bytes before it is unlinked. Not the -shm: other connections have it mapped in memory,
 * and a mapped file cut short kills them with SIGBUS; it holds the WAL's index (page and
 * frame numbers), no record data. */
static const struct {
    const char *suffix;
    int cut;
} files[] = {{"", 1}, {"-wal", 1}, {"-shm", 0}, {"-journal", 1}};

static int path_with(const char *db_path, const char *suffix, char *out, size_t cap,
                     gs_err *err)
{
    int n = snprintf(out, cap, "%s%s", db_path, suffix);
    if (n < 0 || (size_t)n >= cap)
        return gs_err_set(err, GS_E_TOO_LARGE, "the database path is too long to wipe");
    return GS_OK;
}

int wipe_marker_path(const char *db_path, char *out, size_t cap)
{
    return path_with(db_path, WIPE_MARKER_SUFFIX, out, cap, NULL);
}

/* The test hook of wipe.h: dies here when GRIDSYNC_WIPE_FAULT names this point. */
static void fault_point(const char *name)
{
    const char *f = getenv("GRIDSYNC_WIPE_FAULT");
    if (f && strcmp(f, name) == 0)
        raise(SIGKILL);
}

/* fsync of the folder that holds path, so that creations and unlinks in it are durable. */
static int folder_sync(const char *path, gs_err *err)
{
    char dir[WIPE_PATH_MAX];
    const char *slash = strrchr(path, '/');
    int fd, rc = GS_OK;

    if (!slash) {
        dir[0] = '.';
        dir[1] = '\0';
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof(dir))
            return gs_err_set(err, GS_E_TOO_LARGE, "the database path is too long to wipe");
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gs_err_set(err, GS_E_IO, "wipe: cannot open the folder %s: %s", dir,
                          strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL) /* some file systems cannot sync a folder */
        rc = gs_err_set(err, GS_E_IO, "wipe: cannot sync the folder %s: %s", dir,
                        strerror(errno));
    close(fd);
    return rc;
}

/* Writes the marker and makes it durable (the file and its folder entry). */
static int marker_write(const char *marker, gs_err *err)
{
    size_t off = 0, len = sizeof(marker_text) - 1;
    int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return gs_err_set(err, GS_E_IO, "wipe: cannot create %s: %s", marker, strerror(errno));
    while (off < len) {
        ssize_t n = write(fd, marker_text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            close(fd);
            return gs_err_set(err, GS_E_IO, "wipe: cannot write %s: %s", marker, strerror(e));
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return gs_err_set(err, GS_E_IO, "wipe: cannot sync %s: %s", marker, strerror(e));
    }
    close(fd);
    return folder_sync(marker, err);
}

/* Cuts path to 0 bytes (durably) when cut, and unlinks it; a file that is not there is
 * fine. */
static int file_erase(const char *path, int cut, gs_err *err)
{
    int fd = cut ? open(path, O_WRONLY | O_CLOEXEC) : -1;

    if (cut && fd < 0 && errno != ENOENT)
        return gs_err_set(err, GS_E_IO, "wipe: cannot open %s: %s", path, strerror(errno));
    if (fd >= 0) {
        if (ftruncate(fd, 0) != 0 || fsync(fd) != 0) {
            int e = errno;
            close(fd);
            return gs_err_set(err, GS_E_IO, "wipe: cannot empty %s: %s", path, strerror(e));
        }
        close(fd);
    }
    if (unlink(path) != 0 && errno != ENOENT)
        return gs_err_set(err, GS_E_IO, "wipe: cannot delete %s: %s", path, strerror(errno));
    return GS_OK;
}

/* Everything after the marker: the files, the folder, the marker. */
static int wipe_files(const char *db_path, const char *marker, gs_err *err)
{
    char path[WIPE_PATH_MAX];
    int rc = GS_OK;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]) && !rc; i++) {
        rc = path_with(db_path, files[i].suffix, path, sizeof(path), err);
        if (!rc)
            rc = file_erase(path, files[i].cut, err);
        if (!rc && i == 0)
            fault_point("db");
    }
    if (!rc)
        rc = folder_sync(db_path, err);
    if (!rc && unlink(marker) != 0 && errno != ENOENT)
        rc = gs_err_set(err, GS_E_IO, "wipe: cannot delete %s: %s", marker, strerror(errno));
    if (!rc)
        rc = folder_sync(db_path, err);
    return rc;
}

/* Whether the marker of db_path is there: 1 yes, 0 no, or a gs_rc below 0 negated. */
static int marker_there(const char *db_path, char *marker, size_t cap, gs_err *err)
{
    struct stat sb;
    int rc = path_with(db_path, WIPE_MARKER_SUFFIX, marker, cap, err);

    if (rc)
        return -rc;
    if (stat(marker, &sb) == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    return -gs_err_set(err, GS_E_IO, "cannot check for %s: %s", marker, strerror(errno));
}

int wipe_resume(const char *db_path, gs_err *err)
{
    char marker[WIPE_PATH_MAX], real[PATH_MAX];
    const char *base = db_path;
    int rc, there;

    if (strcmp(db_path, ":memory:") == 0 || !db_path[0])
        return GS_OK;
    there = marker_there(db_path, marker, sizeof(marker), err);
    /* SQLite names the file by its resolved path, and wipe_device puts the marker there:
     * a database opened through a symbolic link has it next to the link's target */
    if (there == 0 && realpath(db_path, real) && strcmp(real, db_path) != 0) {
        base = real;
        there = marker_there(real, marker, sizeof(marker), err);
    }
    if (there <= 0)
        return -there;
    rc = wipe_files(base, marker, err);
    if (rc)
        return rc;
    return gs_err_set(err, GS_E_WIPED,
                      "a remote wipe of %s was interrupted and has now been completed: this "
                      "device's records, attachments and token are deleted; enrol it again "
                      "(gridsync init) to use it",
                      db_path);
}

int wipe_device(gs_db *db)
{
    char db_path[WIPE_PATH_MAX], marker[WIPE_PATH_MAX];
    const char *name = db->sql ? sqlite3_db_filename(db->sql, "main") : NULL;
    int rc;

    if (!name || !name[0]) { /* an in-memory database: nothing on disk */
        rc = db_detach_file(db);
        return rc ? rc : gs_err_set(&db->err, GS_E_WIPED, "the server ordered a wipe of "
                                    "this revoked device: its data is deleted");
    }
    rc = path_with(name, "", db_path, sizeof(db_path), &db->err);
    if (!rc)
        rc = path_with(name, WIPE_MARKER_SUFFIX, marker, sizeof(marker), &db->err);
    if (!rc)
        rc = marker_write(marker, &db->err);
    if (rc)
        return rc;
    fault_point("marker");
    rc = db_detach_file(db);
    if (!rc)
        rc = wipe_files(db_path, marker, &db->err);
    if (rc)
        return rc;
    return gs_err_set(&db->err, GS_E_WIPED,
                      "the server ordered a wipe of this revoked device: its records, "
                      "attachments and token are deleted (%s); enrol it again (gridsync init) "
                      "to use it",
                      db_path);
}
