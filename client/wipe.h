/*
 * wipe.h: the remote wipe of a revoked device (issue 21; PROTOCOL.md section 1, 410
 * `wiped`). Everything the device holds is in its database file: records, outbox,
 * attachments' bytes (attachment_blob) and the token (meta): so a wipe deletes the file and
 * SQLite's companions of it. The files of database PATH:
 *
 *   PATH-wipe       the marker: written and made durable before anything is deleted
 *   PATH            the database
 *   PATH-wal        SQLite's write-ahead log (holds recent records too)
 *   PATH-shm        the WAL index
 *   PATH-journal    a rollback journal (only if the file was ever out of WAL mode)
 *
 *   wipe_device:  marker (fsync file and folder) ─► connection closed ─► each file cut to
 *                 0 bytes (fsync; not the -shm) and unlinked ─► folder fsync ─► marker
 *                 unlinked ─► folder fsync
 *   gs_db_open:   marker present? ─► the same deletes, then GS_E_WIPED (never opened)
 *
 * Invariants:
 *  - no file is deleted before the marker is durable, and the marker goes last: a wipe
 *    killed at any point leaves the marker, and the next open completes the wipe before it
 *    reads anything (so a half-deleted database, e.g. a file without its WAL, is never
 *    opened);
 *  - the database, -wal and -journal are cut to 0 bytes before they are unlinked: another
 *    handle that still has them open (a second GridSync on the same file) reads nothing
 *    either; the -shm is only unlinked (other handles have it mapped: cut short, it would
 *    kill them with SIGBUS), it holds the WAL's index, no record data;
 *  - the marker holds no record data (a fixed line).
 *
 * Freed blocks on flash are beyond a file system's reach: the platform's storage encryption
 * (Android encrypts app storage) is what keeps them unreadable.
 *
 * Test hook: GRIDSYNC_WIPE_FAULT=marker kills the process (SIGKILL) once the marker is
 * durable, GRIDSYNC_WIPE_FAULT=db once the database file itself is deleted and before its
 * -wal and -shm (tests/integration/remote_wipe.sh).
 */
#ifndef GS_CLIENT_WIPE_H
#define GS_CLIENT_WIPE_H

#include "common/rc.h"
#include "db.h"

#define WIPE_MARKER_SUFFIX "-wipe"

/* The marker's path for db_path into out (cap bytes); GS_E_TOO_LARGE when it does not fit. */
int wipe_marker_path(const char *db_path, char *out, size_t cap);

/* At open, before the file is touched: GS_OK when no marker is there; otherwise completes
 * the interrupted wipe and returns GS_E_WIPED (GS_E_IO when a file cannot be deleted; the
 * marker then stays for the next try). The message says what happened and what to do. */
int wipe_resume(const char *db_path, gs_err *err);

/* The wipe ordered by the server: marker, db's connection closed (the handle keeps an empty
 * in-memory database: every later call fails until gs_db_close), files deleted, marker
 * removed. Returns GS_E_WIPED with a message in db->err when done, GS_E_IO when a step
 * failed (the marker stays: the next open completes it). */
int wipe_device(gs_db *db);

#endif
