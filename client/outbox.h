/*
 * outbox.h: the device's change log (PROTOCOL.md 2.2 and 4), written by every local edit
 * and consumed by the sync.
 *
 * A row is one pending change: (seq, table, record id, hlc, fields name -> [value, base],
 * sent). Life of a row:
 *
 *     local edit ──> UNSENT ──outbox_mark_sent──> SENT ──ack ok──> removed, versions set
 *                      ^  │                         │
 *     later edits of   └──┘ merged in (compaction)  └──ack rejected──> rejected table
 *     the same record          ... but once SENT a row is frozen: a later edit of the
 *                              record makes a new row with a new seq
 *
 * Invariants:
 *  - seq is never reused (meta next_seq, not the rowid, hands them out);
 *  - at most one UNSENT row per record, and it is that record's newest row;
 *  - a field's base is the server version the device had seen when the field first entered
 *    the row (compaction overwrites values and the hlc, never bases); for "deleted" it is
 *    the greatest version seen of any field of the record;
 *  - the row and the record change in the same transaction (the caller's: capture.c).
 *
 *  - each field of a row keeps the clock of its own edit; the row's hlc is its first edit's
 *    and never changes (merging rows never merges clocks: an older edit must not travel
 *    with a newer edit's time, or it would win last-writer-wins unfairly).
 *
 * Sync-side calls each run in one transaction, or inside the caller's when one is open
 * (db_tx_begin nests). Applying a server response is apply.h.
 */
#ifndef GS_CLIENT_OUTBOX_H
#define GS_CLIENT_OUTBOX_H

#include <stdint.h>

#include "proto/proto.h"
#include "proto/schema.h"
#include "db.h"
#include "fieldpack.h"

/* ---- capture (capture.c) ---- */

/* Records an edit of record id of t at stamp (an HLC): fields are name -> new value (ver and
 * hlc ignored: each field gets its base and the clock stamp). creating: the record is new
 * (every base is 0). Merges into the record's unsent row if there is one, else appends a
 * row with the next seq. Must run inside a transaction. */
int outbox_capture(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t stamp,
                   const proto_field *fields, uint32_t n, int creating);

/* Appends a new row (the next seq) carrying fields as they are, each with its own base and
 * clock, row_hlc the row's: a record queued again after a server restore (resync.h). The
 * caller has frozen every older row, so the record keeps at most one unsent row. Must run
 * inside a transaction. */
int outbox_append_state(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t row_hlc,
                        const proto_field *fields, uint32_t n);
/* ---- reading (sync) ---- */

typedef struct outbox_iter outbox_iter;

/* Iterates the oldest max_changes rows (sent or not: every row is unacknowledged) in seq
 * order, one decoded row in memory at a time. The iterator holds a read statement open:
 * finish (outbox_iter_free) before writing, e.g. before outbox_mark_sent. */
int outbox_iter_open(gs_db *db, uint32_t max_changes, outbox_iter **out);
/* From now on a row stored in the wire's form (fieldpack_is_wire) comes as its bytes
 * (proto_change.f_raw, fields NULL), checked for framing only: for a request to a version 2
 * server, which takes them as they are. Older rows are still decoded. */
void outbox_iter_raw(outbox_iter *it);
/* *out is the next change (valid until the next call or free), or NULL at the end. */
int outbox_iter_next(outbox_iter *it, const proto_change **out);
void outbox_iter_free(outbox_iter *it);

/* Freezes rows first_seq..last_seq (with every older row: rows are sent oldest first):
 * they are about to be sent and must not change any more. Call it BEFORE the request
 * leaves the device. */
int outbox_mark_sent(gs_db *db, uint64_t first_seq, uint64_t last_seq);

/* The request's "low": the smallest seq still in the outbox, or next_seq when empty (every
 * seq below is settled). */
int outbox_low(gs_db *db, uint64_t *low);

/* Removes every row up to last_seq without an ack: the server said it merged them but
 * sends no acks (PROTOCOL.md 1, 410 upload_then_wipe: the device wipes itself after). */
int outbox_drop_upto(gs_db *db, uint64_t last_seq);

/* Rows in the outbox, and how many of them are sent. */
int outbox_count(gs_db *db, int64_t *pending, int64_t *sent);

/* Reads row seq of the outbox (rejected 0) or of the rejected table (1): its table, record
 * id and fields (each with its clock). *found is 0 when there is no such row. */
int outbox_row_read(gs_db *db, int rejected, uint64_t seq, int *found, const schema_table **t,
                    uint8_t id[16], fieldset *fs);

/* Stores the pull cursor; reads it (0 before the first sync). */
int outbox_set_cursor(gs_db *db, uint64_t cursor);
int outbox_get_cursor(gs_db *db, uint64_t *cursor);

/* Records when a sync ended and how ("ok" or a message), for gridsync status. */
int outbox_set_sync_result(gs_db *db, int64_t at_ms, const char *result);

#endif
