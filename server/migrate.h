/*
 * migrate.h: `gridsyncd migrate --from DIR --to postgresql://...` (issue 20): a town's
 * SQLite store copied into a county's PostgreSQL database, verified (docs/SERVER.md 10).
 *
 *   DIR's store ──upgraded to the current schema──> read in one snapshot
 *        │
 *        └──every table, row by row, in ONE PostgreSQL transaction──> the database
 *                         (its versions, acks, device numbers and epoch as they were)
 *   then, in the same transaction: per table the row count and a SHA-256 of every row in
 *   key order, computed from both sides with one row encoding; COMMIT only if all agree.
 *
 * Invariants: the database ends with the whole store or with nothing of it (a kill, a lost
 * connection or a mismatch rolls back): running migrate again is the resume, and is
 * idempotent (a database that already holds this store, same epoch, is verified only).
 * A database holding any other store is refused untouched. Because versions, acks and the
 * epoch are copied as they are, devices go on syncing with their cursors.
 */
#ifndef GS_SERVER_MIGRATE_H
#define GS_SERVER_MIGRATE_H

#include <stdint.h>

#include "common/rc.h"

typedef struct migrate_report {
    int already;     /* 1: the database held this store already; only verified */
    int tables;      /* tables copied (or verified) */
    int64_t rows;    /* rows in them */
    uint64_t epoch;  /* the store's epoch, the same on both sides */
    uint64_t version; /* its last version */
} migrate_report;

/* Copies the SQLite store at from_path into the PostgreSQL database to_url. The server of
 * from_path should be stopped (changes after the snapshot would not be copied). */
int migrate_store(const char *from_path, const char *to_url, migrate_report *rep, gs_err *err);

#endif
