/*
 * dash.h: the town dashboard (概览, issue 15 section 2): GET /v1/admin/dashboard's figures
 * for the whole town with a per-grid breakdown, or for one grid (docs/ADMIN-API.md
 * "Dashboard" has the JSON and what each figure counts).
 *
 * Two kinds of figure:
 *  - as of now: residents by tag, coverage of the vulnerable residents (visited within
 *    their rule's window), open care requests by priority and age, open warnings by rule
 *    and level, silent devices;
 *  - over the range from..to: visits per day (Beijing days, whole days), dispute visits per
 *    month and the share of them closed (化解率).
 * Every figure comes from the rows the warning rules keep (store_dash.c): nothing decodes
 * a record, so the answer costs the same whatever the number of records behind it.
 */
#ifndef GS_SERVER_DASH_H
#define GS_SERVER_DASH_H

#include <stdint.h>

#include <jansson.h>

#include "common/rc.h"
#include "config.h"
#include "store.h"

#define DASH_DAYS_DEFAULT 30 /* the range when none is given: the last 30 days */
#define DASH_DAYS_MAX 731    /* the longest range: two years of days in one answer */

typedef struct dash_query {
    const char *grid; /* one grid, or NULL for the whole town */
    int64_t from_ms;  /* the range, ms since 1970, from <= to */
    int64_t to_ms;
    int64_t now_ms; /* "now" of the figures as of now */
    /* the admin's scope (admin_roles.h): rows of a grid grid_ok refuses are left out (NULL:
     * every grid); town_of names each grid's town for the breakdown, which is then sorted by
     * town, then grid (NULL: by grid, no town) */
    int (*grid_ok)(void *ud, const char *grid);
    const char *(*town_of)(void *ud, const char *grid);
    void *ud; /* passed to both */
} dash_query;

/* The range of the last `days` days: from the start of the Beijing day days - 1 days before
 * now's to now (so `days` whole days in the per-day chart, today the last). */
void dash_last_days(int64_t now_ms, int days, int64_t *from_ms, int64_t *to_ms);

/* Checks q's range: GS_E_INVALID, with the reason in err, when from > to or when it spans
 * more than DASH_DAYS_MAX days. */
int dash_check(const dash_query *q, gs_err *err);

/* The dashboard as a new JSON object in *out; the store is read as it is (the caller holds
 * its lock). cfg gives the rules' windows and silent_days. GS_E_NOMEM or a store error. */
int dash_build(store *st, const srv_config *cfg, const dash_query *q, json_t **out, gs_err *err);

#endif
