/*
 * resync.h: what a device does when the server it syncs with is no longer the history it
 * knew (PROTOCOL.md 2.9): a new epoch in a SyncResponse, or a cursor answered below the one
 * sent (the server's last version is below what the device already pulled). Both mean the
 * server was restored from a backup, or replaced, and lacks some of what the device holds.
 *
 * resync_start, in one transaction with nothing else:
 *   1. every outbox row is frozen (sent) and its bases set to 0: the versions they name
 *      belong to the old history;
 *   2. every record the device holds is queued again as one new row (new seq) with each
 *      field's value, its own clock (fvers.h; for a field a pending row carries, that row's
 *      clock: the record shows that edit) and base 0; the record's older rows go, since
 *      their values and clocks are in the new row (a pending edit alone could reach a
 *      server that lacks the record and be refused as a creation without its required
 *      fields). The server merges by clock, so what it already holds changes nothing and
 *      what it lacks comes back;
 *   3. every known server version is forgotten (fvers ver 0, clocks kept), so the pull
 *      from 0 and the acks of step 2 set them again in the new history;
 *   4. the cursor goes to 0 and the new epoch is kept.
 * Nothing local is lost: until the acks come, the queued rows keep local values over
 * pulled ones (apply.c, kept_local). Nothing is doubled: records are keyed by id, and a
 * field with the value and clock the server holds is no conflict.
 *
 * Not re-sent: records of server-only tables (the server writes them; a device edit of
 * them still pending is in the outbox and goes as usual).
 */
#ifndef GS_CLIENT_RESYNC_H
#define GS_CLIENT_RESYNC_H

#include <stdint.h>

#include "db.h"

#define DB_META_SERVER_EPOCH "server_epoch" /* "ep" of the last response (0: none seen) */

/* Steps 1 to 4 above; epoch is the server's new one (0: keep what is stored). *n_queued
 * gets the number of records queued again. */
int resync_start(gs_db *db, uint64_t epoch, uint64_t *n_queued);

#endif
