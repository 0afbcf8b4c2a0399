/*
 * apply.h: PROTOCOL.md section 4 step 3 on the device: a server response written into the
 * device database. Acknowledgments settle outbox rows, pulled changes and `lost` values are
 * written into records, record states ("fix") put back the server's version of records
 * whose changes were refused, and the cursor and the server's clock are kept.
 *
 * What a record shows after a response (docs/CLIENT.md "What a device shows"):
 *  - a field carried by a pending outbox row shows the local edit (the server decides it
 *    when the row is pushed);
 *  - every other field shows the server's value as last received, with its version and the
 *    clock of the edit that wrote it (field_version);
 *  - `updated` is the greatest clock among the record's values (pending edits included) and
 *    `created` the clock of the record's creation, so two devices holding the same values
 *    show the same times;
 *  - a rejected change is kept aside (the rejected table) and never shadows the server:
 *    the response's state of its record replaces the refused values.
 *
 * Every call runs in one transaction, or inside the caller's (db_tx_begin nests). Pulled,
 * lost and fixed values are never captured as local changes.
 */
#ifndef GS_CLIENT_APPLY_H
#define GS_CLIENT_APPLY_H

#include <stdint.h>

#include "proto/proto.h"
#include "db.h"

typedef struct apply_stats {
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
    uint32_t fixed;          /* records put back to the server's state after a rejection */
    uint32_t fix_dropped;    /* records dropped: refused, and the server has no such record */
} apply_stats;

/* Settles one pushed change. ok: the row goes, each field's version becomes ack->version
 * (with the field's own clock), each `lost` field takes the server's value, version and
 * clock (the value is written into the record unless another pending row of the record
 * carries that field: that newer local edit still has to be pushed). Rejected: the row
 * moves to the rejected table with the server's code and message. An ack for a seq not in
 * the outbox changes nothing. st may be NULL. GS_E_PROTO when a lost value does not fit
 * the schema. */
int apply_ack(gs_db *db, const proto_ack *ack, apply_stats *st);

/* Applies one pulled change (ver = server version of each value). A field is skipped when
 * a pending local change of the record carries it, or when the device has already seen
 * that version or a newer one of it. A record the device does not have is created (with
 * the change's ct as its creation time). A change that moves the record to a grid this
 * device does not have drops the record. */
int apply_pull(gs_db *db, const proto_change *c, apply_stats *st);

/* Puts record state s (PROTO_CH_STATE) in place of whatever the device shows: every field
 * not carried by a pending row takes the server's value, version and clock, whatever the
 * local version; a field the server has no value for is cleared. A state without fields
 * (the server has no such record for this device) drops the record unless a pending row
 * still carries it. */
int apply_fix(gs_db *db, const proto_change *s, apply_stats *st);

/* The whole response in one transaction: every ack, every pulled change, every record
 * state, the new cursor, the server's protocol version, its clock merged into ours.
 * Nothing is applied if any step fails. */
int apply_response(gs_db *db, const proto_sync_resp *resp, apply_stats *st);

#endif
