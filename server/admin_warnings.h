/*
 * admin_warnings.h: the town admin's side of the warnings (预警, issue 15): the list of
 * GET /v1/admin/warnings and the acknowledgement of POST /v1/admin/warnings/{id}/ack
 * (docs/ADMIN-API.md "Warnings").
 *
 * Order of a list: the warnings not cleared first, open before acknowledged, the most
 * urgent first (urgent, attention, notice), the oldest condition first (since), then by
 * id, as the handheld lists them (client/warning.c); then the cleared ones, the most
 * recently opened first. The not-cleared warnings are those the rules hold open (their
 * watch rows, store.h), so a list costs the open warnings and the page, never the history.
 *
 * An acknowledgement is the admin's change of state (acknowledged), note, ack_by and
 * ack_at, written through merge_admin_set like a conflict's resolution: ordinary changes by
 * the pseudo-device "admin" that the grid's devices pull, all in one transaction. A cleared
 * warning is final (its condition ended): acknowledging it is refused (GS_E_STATE).
 */
#ifndef GS_SERVER_ADMIN_WARNINGS_H
#define GS_SERVER_ADMIN_WARNINGS_H

#include <stdint.h>

#include <jansson.h>

#include "common/arena.h"
#include "common/hlc.h"
#include "common/rc.h"
#include "store.h"

#define ADMIN_WARNINGS_DEFAULT 100u /* warnings listed when no limit is given */
#define ADMIN_WARNINGS_MAX 1000u    /* most warnings one list returns */

/* What a list holds. states: bit i for the i-th value of warning.state in the schema
 * (open, acknowledged, cleared). */
typedef struct admin_warnings_query {
    const char *grid;     /* one grid, or NULL for the town */
    unsigned states;      /* which states */
    const uint8_t *after; /* the last warning of the previous page, or NULL: the first page */
    uint32_t limit;       /* 1..ADMIN_WARNINGS_MAX */
    /* the admin's scope: warnings of a grid it refuses are left out (NULL: all) */
    int (*grid_ok)(void *ud, const char *grid);
    void *grid_ud;        /* passed to grid_ok */
} admin_warnings_query;

/* The bit of state name ("open") in admin_warnings_query.states; 0 for an unknown name. */
unsigned admin_warnings_state_bit(const char *name, size_t len);

/* {"warnings": [...], "next_after": id or null} in *out (values read into a). GS_E_NOTFOUND
 * when after is not a warning. */
int admin_warnings_list(store *st, const admin_warnings_query *q, gs_arena *a, json_t **out,
                        gs_err *err);

/* Acknowledges warning id as admin at now_ms, with note (NULL: the note stays as it is), in
 * a transaction of its own, and puts the warning as a list shows it in *out. GS_E_NOTFOUND,
 * GS_E_STATE for a cleared warning, GS_E_INVALID for a note the schema refuses (too long). */
int admin_warnings_ack(store *st, hlc *clock, const uint8_t id[16], const char *note,
                       const char *admin, int64_t now_ms, gs_arena *a, json_t **out, gs_err *err);

#endif
