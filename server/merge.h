/*
 * merge.h: the server's field-level merge (PROTOCOL.md section 5, docs/MERGE.md).
 *
 * For each pushed change, in batch order:
 *
 *   stored ack for (device, seq)? --yes--> answer it again (duplicate), apply nothing
 *        | no
 *   validate: schema (invalid), clock guard (clock_ahead), scope (out_of_scope),
 *             immutable fields (immutable), references (not_found)
 *        | any fails --> rejected ack, stored; the rest of the batch goes on
 *        | all pass
 *   next server version V; per field: fast-forward, equal, or concurrent -> policy
 *   (lww / status / delete) picks the winner, a conflict row records both sides;
 *   the record row, the change log and the ack (with `lost`) are written.
 *
 * Invariants:
 *  - the caller runs a whole batch inside one store transaction and rolls it back when
 *    merge_batch fails: a batch is applied entirely or not at all;
 *  - a (device, seq) is applied at most once; its ack is stored until the device's `low`
 *    passes it, so a retry gets the identical ack;
 *  - a field's state only changes by a change that won it; each accepted change gets a
 *    version strictly above every earlier one;
 *  - a record whose grid changes has all its fields re-stamped with the change's version,
 *    so devices of the new grid pull the whole record.
 */
#ifndef GS_SERVER_MERGE_H
#define GS_SERVER_MERGE_H

#include <stdint.h>

#include "common/hlc.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "store.h"

/* References a batch remembers as found (a hash set): visits and care requests of one grid
 * worker point at a few dozen residents, and each lookup is a store read. */
#define MERGE_REF_CACHE 1024

/* The writer id of admin resolutions (never a device id: those start "d-"). */
#define MERGE_ADMIN_DEVICE STORE_ADMIN_DEVICE

typedef struct merge_ctx {
    store *st;            /* inside the caller's transaction */
    hlc *clock;           /* server HLC: the drift guard, advanced by accepted changes */
    gs_arena *arena;    /* acks' messages and lost values are allocated here */
    int64_t now_ms;       /* wall time written into conflict rows */
    uint32_t n_accepted;  /* out: changes applied */
    uint32_t n_rejected;  /* out: changes rejected */
    uint32_t n_duplicate; /* out: changes answered from a stored ack */
    uint32_t n_conflicts; /* out: conflicts recorded (opened or an open one updated) */
    uint32_t max_new_conflicts; /* in: conflicts one batch may open (0: no cap); beyond it
                                   a conflict only updates an open one of its (record,
                                   field), else it is counted in n_unlogged, not recorded */
    uint32_t n_opened;    /* out: conflicts opened */
    uint32_t n_unlogged;  /* out: conflicts beyond max_new_conflicts, not recorded */
    /* private to merge.c: what one batch has learnt inside its transaction */
    uint64_t ack_max;     /* the device's highest seq with a stored ack; above it, no ack */
    struct {
        const char *tbl;  /* schema table name (static); NULL: an empty slot */
        uint8_t id[16];   /* a record the store holds */
    } refs[MERGE_REF_CACHE]; /* references found (rows are never removed in a batch) */
    uint32_t n_ref_hits;  /* out: reference checks answered by the cache */
    store_rec *recs;      /* two records (as read, as written), allocated on first use */
    uint64_t run_first, run_last, run_first_ver; /* the open run of plain accepted acks */
    uint32_t run_n;       /* changes in it (0: none open) */
    struct warn_batch *warn; /* set by the caller: the rules see every accepted change */
} merge_ctx;

/* Cannot fail. */
void merge_init(merge_ctx *m, store *st, hlc *clock, gs_arena *arena, int64_t now_ms);

/* Merges req's changes pushed by dev, writing one ack per change into acks (req->n_changes
 * entries; their strings and lost lists live in m->arena), then forgets dev's acks below
 * req->low. Rejections are acks, not errors; a failure (store fault, out of memory) means
 * the caller must roll the transaction back. */
int merge_batch(merge_ctx *m, const store_device *dev, const proto_sync_req *req, proto_ack *acks,
                gs_err *err);

/* Writes an admin's value into one field of an existing record, as an ordinary change by
 * MERGE_ADMIN_DEVICE with a new version (so devices pull it). The value is checked against
 * the schema (GS_E_INVALID) and references must exist (GS_E_NOTFOUND). *version_out gets
 * the version. */
/* Writes fields[0..n) (names and values; ver and hlc are set here) of record id of tbl as
 * the server, pseudo-device STORE_SERVER_DEVICE: creates the record when it is new, else a
 * change based on the current versions (a fast-forward), with a new version so devices pull
 * it. For the warning rules (warn.c). GS_E_INVALID when the schema refuses a value. */
int merge_server_put(merge_ctx *m, const char *tbl, const uint8_t id[16], proto_field *fields,
                     uint32_t n, uint64_t *version_out, gs_err *err);
int merge_admin_set(merge_ctx *m, const char *tbl, const uint8_t id[16], const char *field,
                    const proto_value *v, uint64_t *version_out, gs_err *err);

#endif
