/*
 * warn.h: the warning rules at work (issue 15, docs/WARNINGS.md). The server raises a
 * warning record (schema type "warning", written by the pseudo-device "server") when a
 * rule's condition holds and clears it when the condition ends; devices pull warnings like
 * any record.
 *
 * How, without ever scanning the residents:
 *  - every accepted change (merge.c calls warn_on_record with the merged record) updates
 *    the watch rows of the subjects it concerns (store.h "what the warning rules watch"):
 *    a visit moves its resident's last-visit time, a care request its deadline, a dispute
 *    visit its resident's recent disputes, and queues those subjects;
 *  - warn_settle, after the batch, opens or clears the queued subjects' warnings;
 *  - warn_sweep, every rules_sweep_s, settles the rows whose due time has come (by index):
 *    the time-driven half (seven days without a visit pass without any change arriving).
 * Both run inside the caller's transaction, so a warning, and the row that says it is
 * open, commit together or not at all: one condition never holds two open warnings, across
 * re-evaluation, restarts and kill -9.
 */
#ifndef GS_SERVER_WARN_H
#define GS_SERVER_WARN_H

#include <stdint.h>

#include "common/arena.h"
#include "common/hlc.h"
#include "common/limits.h"
#include "common/rc.h"
#include "proto/schema.h"
#include "rules.h"
#include "store.h"

#define WARN_REF_BUCKETS 256
#define WARN_DAYS 32 /* (grid, day) pairs counted before they are written */

/* What one transaction's rules work with. */
typedef struct warn_batch {
    const rules_config *cfg; /* thresholds and which rules run */
    store *st;               /* inside the caller's transaction */
    hlc *clock;              /* the server HLC, for the warnings' changes */
    gs_arena *arena;         /* the queue and the records read */
    int64_t now_ms;          /* the wall clock the rules compare against */
    /* the rows this transaction has read or changed, by (rule, subject): a batch of 5,000
     * visits of one resident reads and writes its row once, at settle */
    struct warn_row {
        store_watch w;   /* the row as it is now */
        /* its grid and ref as the store holds them: when neither moved, settling updates
         * the row's state in place and leaves the grid and ref indexes alone */
        char grid0[GS_LIMIT_NAME + 1], ref0[GS_LIMIT_NAME + 1];
        uint8_t rule;    /* rule_id */
        uint8_t found;   /* the store holds it (else it is new) */
        uint8_t dirty;   /* changed since read: written by warn_settle */
        uint8_t queued;  /* to settle */
        uint8_t linked;  /* in ref_head's chains */
        uint32_t next_ref; /* the next row of the same ref bucket (index + 1; 0: none) */
    } *rows;
    uint32_t n_rows, cap_rows;
    uint32_t *slots;         /* open addressing over rows (index + 1; 0: empty) */
    uint32_t cap_slots;      /* a power of two, at least twice n_rows */
    /* the follow-up rows (dispute_open, hazard_open) of this batch by resident, so that a
     * closing visit finds those not written yet: heads of chains through next_ref */
    uint32_t ref_head[WARN_REF_BUCKETS];
    /* new visits per (grid, day) of this batch, written at settle: one upsert per pair,
     * not one per visit (a day's work is one pair; it was 8% of a merge's CPU) */
    struct warn_day {
        char grid[GS_LIMIT_NAME + 1];
        int64_t day;
        int64_t n;
    } days[WARN_DAYS];
    uint32_t n_days;
    struct merge_ctx *merge; /* the warnings' changes (warn.c: batch_merge), in arena */
    int facts_only;          /* write the rows' facts, open and clear nothing (backfill: the
                                sweep after it settles what is due, once all is read) */
    uint32_t n_opened;       /* out: warnings opened */
    uint32_t n_cleared;      /* out: warnings cleared */
} warn_batch;

/* Cannot fail. */
void warn_init(warn_batch *wb, const rules_config *cfg, store *st, hlc *clock, gs_arena *arena,
               int64_t now_ms);
/* The facts of record id of table t as a change left it (r: every field, as stored;
 * created: the change created it). Also counts a new visit in its grid's day (visit_days),
 * rules on or off. */
int warn_on_record(warn_batch *wb, const schema_table *t, const uint8_t id[16],
                   const store_rec *r, int created, gs_err *err);
/* Device d synced at now (its silence starts again). */
int warn_on_sync(warn_batch *wb, const store_device *d, gs_err *err);
/* Opens or clears the warnings of the queued subjects, and writes the batch's visit counts. */
int warn_settle(warn_batch *wb, gs_err *err);
/* For a store from before the rules (store_watch_needs_backfill): passes once over every
 * resident, visit and care request, in the order they were first written, as if each had
 * just merged (visits counted in visit_days when nothing is counted yet), in transactions
 * of 1,000 records, writing the watch rows only: the next sweep opens what is due, once
 * every fact is in (a resident read before his visits would otherwise open and clear a
 * warning at once). Devices get their row at their next sync. *n_records counts them. */
int warn_backfill(const rules_config *cfg, store *st, hlc *clock, int64_t now_ms,
                  uint64_t *n_records, gs_err *err);
/* The rules' thresholds or the rules that run are not those the store's rows were computed
 * with (store_rules_sig_get differs from rules_signature): passes once over every watch row,
 * 1,000 a transaction, computes its deadline again under cfg and settles those that change
 * (a warning opens or clears at once, or waits for the sweep at its new time), then records
 * cfg's signature. *n_changed counts the rows settled. */
int warn_rederive(const rules_config *cfg, store *st, hlc *clock, int64_t now_ms,
                  uint64_t *n_changed, gs_err *err);
/* Settles at most max rows whose due time is at or before now; *n_rows: how many (fewer
 * than max: nothing more is due). */
int warn_sweep(warn_batch *wb, uint32_t max, uint32_t *n_rows, gs_err *err);


#endif
