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
 * Sync-side calls (issue 5) each run in one transaction, or inside the caller's when one
 * is open (db_tx_begin nests), so PROTOCOL.md step 3 is outbox_apply_response or a caller's
 * db_tx_begin / several outbox_apply_* / db_tx_commit. Pulled values and `lost` values are
 * never captured as local changes.
 */
#ifndef GS_CLIENT_OUTBOX_H
#define GS_CLIENT_OUTBOX_H

#include <stdint.h>

#include "../proto/proto.h"
#include "../proto/schema.h"
#include "db.h"

/* ---- capture (capture.c) ---- */

/* Records an edit of record id of t at stamp (an HLC): fields are name -> new value (ver ignored).
 * creating: the record is new (every base is 0). Merges into the record's unsent row if
 * there is one, else appends a row with the next seq. Must run inside a transaction. */
int outbox_capture(gs_db *db, const schema_table *t, const uint8_t id[16], uint64_t stamp,
                   const proto_field *fields, uint32_t n, int creating);

/* ---- reading (sync) ---- */

typedef struct outbox_iter outbox_iter;

/* Iterates the oldest max_changes rows (sent or not: every row is unacknowledged) in seq
 * order, one decoded row in memory at a time. The iterator holds a read statement open:
 * finish (outbox_iter_free) before writing, e.g. before outbox_mark_sent. */
int outbox_iter_open(gs_db *db, uint32_t max_changes, outbox_iter **out);
/* *out is the next change (valid until the next call or free), or NULL at the end. */
int outbox_iter_next(outbox_iter *it, const proto_change **out);
void outbox_iter_free(outbox_iter *it);

/* Freezes rows first_seq..last_seq: they are about to be sent and must not change any
 * more. Call it BEFORE the request leaves the device. */
int outbox_mark_sent(gs_db *db, uint64_t first_seq, uint64_t last_seq);

/* The request's "low": the smallest seq still in the outbox, or next_seq when empty (every
 * seq below is settled). */
int outbox_low(gs_db *db, uint64_t *low);

/* Rows in the outbox, and how many of them are sent. */
int outbox_count(gs_db *db, int64_t *pending, int64_t *sent);

/* ---- applying a response (sync) ---- */

typedef struct outbox_stats {
    uint32_t acked;          /* rows removed by an ok ack */
    uint32_t rejected;       /* rows moved to the rejected table */
    uint32_t unknown_acks;   /* acks for seqs not in the outbox (already settled) */
    uint32_t lost_taken;     /* `lost` values written into records */
    uint32_t pulled_fields;  /* pulled fields written into records */
    uint32_t kept_local;     /* pulled fields skipped: a local edit of the field is pending */
    uint32_t stale;          /* pulled fields skipped: the local version is as new or newer */
    uint32_t skipped;        /* pulled fields skipped: unknown table or field, or a value
                                the schema refuses (from a newer server) */
    uint32_t departed;       /* records dropped: pulled as moved to a grid not this device's */
} outbox_stats;

/* Settles one pushed change. ok: the row goes, each field's version becomes ack->version,
 * each `lost` field takes the server's value and version (the value is written into the
 * record unless another pending row of the record carries that field: that newer local
 * edit still has to be pushed). Rejected: the row moves to the rejected table with the
 * server's code and message. An ack for a seq not in the outbox changes nothing. st may
 * be NULL. GS_E_PROTO when a lost value does not fit the schema. */
int outbox_apply_ack(gs_db *db, const proto_ack *ack, outbox_stats *st);

/* Applies one pulled change (ver = server version of each value). A field is skipped when
 * a pending local change of the record carries it, or when the device has already seen
 * that version or a newer one of it. A record the device does not have is created. */
int outbox_apply_pull(gs_db *db, const proto_change *c, outbox_stats *st);

/* Stores the pull cursor; reads it (0 before the first sync). */
int outbox_set_cursor(gs_db *db, uint64_t cursor);
int outbox_get_cursor(gs_db *db, uint64_t *cursor);

/* PROTOCOL.md section 4 step 3 in one transaction: every ack, every pulled change, the new
 * cursor, the server's clock merged into ours. Nothing is applied if any step fails. */
int outbox_apply_response(gs_db *db, const proto_sync_resp *resp, outbox_stats *st);

/* Records when a sync ended and how ("ok" or a message), for gridsync status. */
int outbox_set_sync_result(gs_db *db, int64_t at_ms, const char *result);

#endif
