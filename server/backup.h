/*
 * backup.h: `gridsyncd backup` and `gridsyncd restore` (docs/SERVER.md, "Backup and
 * restore").
 *
 *   backup:  store ──sqlite3 online backup──> OUT.partial ──verified──> rename to OUT
 *   restore: FILE ──verified──> DIR/gridsyncd.db.restoring ──migrations, new epoch──>
 *            rename over the store (the server stopped)
 *
 * Invariants: OUT (or the store) is never half-written: until the rename only a
 * .partial/.restoring file exists, which a kill -9 leaves behind and the next run
 * replaces. A backup is taken while the server serves: SQLite's backup API copies one
 * snapshot (a WAL reader does not block the writer). A restored store gets a new epoch, so
 * every device re-sends what it holds and pulls again from 0 (PROTOCOL.md 2.9).
 */
#ifndef GS_SERVER_BACKUP_H
#define GS_SERVER_BACKUP_H

#include <stdint.h>

#include "common/rc.h"

/* Copies the store at db_path to out, verified. */
int backup_run(const char *db_path, const char *out, gs_err *err);
/* Puts the backup file in place of the store at db_path, with a new epoch in *epoch. */
int backup_restore(const char *file, const char *db_path, uint64_t *epoch, gs_err *err);

#endif
