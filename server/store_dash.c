/*
 * store_dash.c: the reads of the town dashboard, the admin's warning list and the export's
 * pages (store.h "the dashboard, the warning list and the export"; server/dash.c,
 * server/admin_warnings.c, server/admin_records.c use them).
 *
 * Every figure comes from the rows the warning rules keep as changes merge (store_watch.c):
 * a resident's tags and last visit, an open care request's priority and time, a dispute
 * visit, the visits of a grid's day, an open warning. So no statement here reads a record's
 * fields blob, and each reads by an index (migration 5 in store.c): the whole town by the
 * rule's rows or by time, one grid by its grid (INDEXED BY where SQLite, without statistics,
 * would rather walk the town's rows of a rule than look a grid's up). The rows the town has
 * many of (residents, care requests, disputes) go to the caller one by one, in index order:
 * summing them in C costs less than SQLite's sort for a GROUP BY over rows in another
 * order (bench_srv_dash, 200,000 residents: 124 -> ~50 ms); what a figure means (which
 * tags, which windows, which buckets) is the caller's.
 *
 * Invariant: like the other store files, every function resets its statement before it
 * returns, so no read keeps a WAL snapshot open between calls.
 */
#include "store_db.h"

#include "rules.h"

#include <string.h>

static const char *const dsql[DQ_N] = {
    /* info: the tag mask, and bit 30 (RULES_INFO_VISITED) once a visit is known */
    [DQ_RESIDENTS] = "SELECT grid, info, since FROM watch WHERE rule = ?1 AND "
                     "(info & 1073741823) <> 0",
    [DQ_RESIDENTS_G] = "SELECT grid, info, since FROM watch INDEXED BY watch_grid WHERE "
                       "grid = ?2 AND rule = ?1 AND (info & 1073741823) <> 0",
    [DQ_VISIT_DAYS] = "SELECT grid, day, n FROM visit_days WHERE day >= ?1 AND day <= ?2",
    [DQ_VISIT_DAYS_G] = "SELECT grid, day, n FROM visit_days WHERE grid = ?3 AND day >= ?1 "
                        "AND day <= ?2",
    /* the town over a long range: the table in key order (+day: not by the day index, which
     * costs a lookup of n per row) */
    [DQ_VISIT_DAYS_SCAN] = "SELECT grid, day, n FROM visit_days WHERE +day >= ?1 AND +day <= ?2",
    /* deadline is set while the request is neither done nor cancelled (warn.c on_care) */
    [DQ_CARE] = "SELECT grid, info, since FROM watch WHERE rule = ?1 AND deadline IS NOT NULL",
    [DQ_CARE_G] = "SELECT grid, info, since FROM watch INDEXED BY watch_grid WHERE grid = ?2 "
                  "AND rule = ?1 AND deadline IS NOT NULL",
    /* both read from a covering index: (at, grid), (grid, at) */
    [DQ_DISPUTES] = "SELECT grid, at FROM dispute_visits WHERE at >= ?1 AND at <= ?2",
    [DQ_DISPUTES_G] = "SELECT grid, at FROM dispute_visits WHERE grid = ?3 AND at >= ?1 AND "
                      "at <= ?2",
    /* a dispute_open row is there while the visit's follow-up is open (warn.c on_followup) */
    [DQ_DISPUTES_OPEN] = "SELECT grid, since FROM watch WHERE rule = ?3 AND since >= ?1 AND "
                         "since <= ?2 AND (deadline IS NOT NULL OR warning IS NOT NULL)",
    [DQ_DISPUTES_OPEN_G] = "SELECT grid, since FROM watch INDEXED BY watch_grid WHERE "
                           "grid = ?4 AND rule = ?3 AND since >= ?1 AND since <= ?2 AND "
                           "(deadline IS NOT NULL OR warning IS NOT NULL)",
    [DQ_WARNINGS] = "SELECT grid, rule, level, count(*) FROM watch WHERE warning IS NOT NULL "
                    "GROUP BY grid, rule, level",
    [DQ_WARNINGS_G] = "SELECT grid, rule, level, count(*) FROM watch WHERE grid = ?1 AND "
                      "warning IS NOT NULL GROUP BY grid, rule, level",
    [DQ_SILENT] = "SELECT id FROM devices WHERE revoked = 0 AND "
                  "(CASE WHEN last_sync > 0 THEN last_sync ELSE created END) < ?1 ORDER BY id",
    [DQ_SILENT_G] = "SELECT d.id FROM device_grids g JOIN devices d ON d.id = g.device "
                    "WHERE g.grid = ?2 AND d.revoked = 0 AND (CASE WHEN d.last_sync > 0 "
                    "THEN d.last_sync ELSE d.created END) < ?1 ORDER BY d.id",
    [DQ_WARN_LIVE] = "SELECT warning FROM watch WHERE warning IS NOT NULL",
    [DQ_WARN_LIVE_G] = "SELECT warning FROM watch WHERE grid = ?1 AND warning IS NOT NULL",
    [DQ_WARN_PAGE] = "SELECT id FROM records WHERE tbl = 'warning' AND id < ?1 AND deleted = 0 "
                     "ORDER BY id DESC LIMIT ?2",
    [DQ_WARN_PAGE_G] = "SELECT id FROM records WHERE tbl = 'warning' AND id < ?1 AND "
                       "grid = ?3 AND deleted = 0 ORDER BY id DESC LIMIT ?2",
    [DQ_REC_PAGE] = "SELECT id FROM records WHERE tbl = ?1 AND id >= ?2 AND id <= ?3 AND "
                    "id > ?4 AND deleted = 0 ORDER BY id LIMIT ?5",
};

/* PostgreSQL's own texts: its planner takes no INDEXED BY (and finds watch_grid itself). */
static const char *const dsql_pg[DQ_N] = {
    [DQ_RESIDENTS_G] = "SELECT grid, info, since FROM watch WHERE grid = ?2 AND rule = ?1 AND "
                       "(info & 1073741823) <> 0",
    [DQ_CARE_G] = "SELECT grid, info, since FROM watch WHERE grid = ?2 AND rule = ?1 AND "
                  "deadline IS NOT NULL",
    [DQ_DISPUTES_OPEN_G] = "SELECT grid, since FROM watch WHERE grid = ?4 AND rule = ?3 AND "
                           "since >= ?1 AND since <= ?2 AND "
                           "(deadline IS NOT NULL OR warning IS NOT NULL)",
};

/* The longest range of days the town's visits are read for by the day index: a day's
 * rows (one per grid) cost a lookup each there, while the whole table read in key order
 * costs a tenth of that per row; with a year or more of days in the table, the scan wins
 * beyond about a month (bench_srv_dash: a year's range 80 -> 10 ms). */
#define VISIT_DAYS_BY_INDEX 31

/* Above every 16-byte id (blobs compare by bytes, then by length): "from the newest". */
static const uint8_t id_top[17] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                   0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

/* Statement q, or its one-grid form q + 1 with grid bound at parameter grid_param. */
static int dprep(store *s, int q, const char *grid, int grid_param, eng_stmt **out, gs_err *err)
{
    int rc;

    if (grid)
        q++;
    rc = prep_slot(s, &s->dstmt[q], on_engine(s, dsql[q], dsql_pg[q]), out, err);
    if (!rc && grid)
        bind_text(*out, grid_param, grid);
    return rc;
}

/* Steps st to its end, handing each row to row(); resets it. */
static int each_row(store *s, eng_stmt *st, int (*row)(eng_stmt *, void *), void *ud,
                    gs_err *err)
{
    int rc = GS_OK, more = 1;

    while (!rc) {
        rc = step(s, st, &more, err);
        if (rc || !more)
            break;
        rc = row(st, ud);
    }
    done(st);
    return rc;
}

/* A callback of any of store.h's types, cast back to its own by the row reader that knows it
 * (a cast between function pointer types, which C allows). */
typedef void (*any_fn)(void);

typedef struct cb_ctx {
    any_fn cb; /* the caller's callback, of the type the function takes */
    void *ud;  /* its argument */
} cb_ctx;

/* ---- the dashboard ---- */

static int resident_row(eng_stmt *st, void *ud)
{
    cb_ctx *c = ud;
    char grid[GS_LIMIT_NAME + 1];

    col_text(st, 0, grid, sizeof(grid));
    return ((store_dash_resident_cb *)c->cb)(c->ud, grid, (unsigned)eng_col_i64(st, 1) & ~RULES_INFO_VISITED,
                                             eng_col_i64(st, 2));
}

int store_dash_residents(store *s, const char *grid, store_dash_resident_cb *cb, void *ud,
                         gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_RESIDENTS, grid, 2, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, rule_key(RULE_UNVISITED));
    return each_row(s, st, resident_row, &c, err);
}

static int day_row(eng_stmt *st, void *ud)
{
    cb_ctx *c = ud;
    char grid[GS_LIMIT_NAME + 1];

    col_text(st, 0, grid, sizeof(grid));
    return ((store_dash_day_cb *)c->cb)(c->ud, grid, eng_col_i64(st, 1),
                                        eng_col_i64(st, 2));
}

int store_dash_visit_days(store *s, const char *grid, int64_t day_from, int64_t day_to,
                          store_dash_day_cb *cb, void *ud, gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = !grid && day_to - day_from >= VISIT_DAYS_BY_INDEX
                 ? prep_slot(s, &s->dstmt[DQ_VISIT_DAYS_SCAN], dsql[DQ_VISIT_DAYS_SCAN], &st, err)
                 : dprep(s, DQ_VISIT_DAYS, grid, 3, &st, err);

    if (rc)
        return rc;
    eng_bind_i64(st, 1, day_from);
    eng_bind_i64(st, 2, day_to);
    return each_row(s, st, day_row, &c, err);
}

static int care_row(eng_stmt *st, void *ud)
{
    cb_ctx *c = ud;
    char grid[GS_LIMIT_NAME + 1];

    col_text(st, 0, grid, sizeof(grid));
    return ((store_dash_care_cb *)c->cb)(c->ud, grid, (int)eng_col_i64(st, 1),
                                         eng_col_i64(st, 2));
}

int store_dash_care(store *s, const char *grid, store_dash_care_cb *cb, void *ud, gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_CARE, grid, 2, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, rule_key(RULE_CARE_OVERDUE));
    return each_row(s, st, care_row, &c, err);
}

/* A dispute row of the statement (grid, time), with the open flag of the statement. */
typedef struct dispute_ctx {
    cb_ctx c;
    int open;
} dispute_ctx;

static int dispute_row(eng_stmt *st, void *ud)
{
    dispute_ctx *d = ud;
    char grid[GS_LIMIT_NAME + 1];

    col_text(st, 0, grid, sizeof(grid));
    return ((store_dash_dispute_cb *)d->c.cb)(d->c.ud, grid, eng_col_i64(st, 1), d->open);
}

int store_dash_disputes(store *s, const char *grid, int64_t from, int64_t to,
                        store_dash_dispute_cb *cb, void *ud, gs_err *err)
{
    dispute_ctx d = {{(any_fn)cb, ud}, 0};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_DISPUTES, grid, 3, &st, err);

    if (rc)
        return rc;
    eng_bind_i64(st, 1, from);
    eng_bind_i64(st, 2, to);
    rc = each_row(s, st, dispute_row, &d, err);
    if (!rc)
        rc = dprep(s, DQ_DISPUTES_OPEN, grid, 4, &st, err);
    if (rc)
        return rc;
    eng_bind_i64(st, 1, from);
    eng_bind_i64(st, 2, to);
    bind_text(st, 3, rule_key(RULE_DISPUTE_OPEN));
    d.open = 1;
    return each_row(s, st, dispute_row, &d, err);
}

static int warn_row(eng_stmt *st, void *ud)
{
    cb_ctx *c = ud;
    char grid[GS_LIMIT_NAME + 1], rule[32];

    col_text(st, 0, grid, sizeof(grid));
    col_text(st, 1, rule, sizeof(rule));
    return ((store_dash_warn_cb *)c->cb)(c->ud, grid, rule, (int)eng_col_i64(st, 2),
                                         eng_col_i64(st, 3));
}

int store_dash_warnings(store *s, const char *grid, store_dash_warn_cb *cb, void *ud, gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_WARNINGS, grid, 1, &st, err);

    if (rc)
        return rc;
    return each_row(s, st, warn_row, &c, err);
}

static int id_row(eng_stmt *st, void *ud)
{
    cb_ctx *c = ud;
    char id[GS_LIMIT_NAME + 1];

    col_text(st, 0, id, sizeof(id));
    return ((store_dash_id_cb *)c->cb)(c->ud, id);
}

int store_dash_silent(store *s, const char *grid, int64_t before, store_dash_id_cb *cb, void *ud,
                      gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_SILENT, grid, 2, &st, err);

    if (rc)
        return rc;
    eng_bind_i64(st, 1, before);
    return each_row(s, st, id_row, &c, err);
}

/* ---- the warning list and the export ---- */

static int rid_row(eng_stmt *st, void *ud)
{
    cb_ctx *c = ud;
    uint8_t id[16];

    if (eng_col_bytes(st, 0) != 16)
        return GS_OK; /* not a record id: nothing a reader could be given */
    memcpy(id, eng_col_blob(st, 0), 16);
    return ((store_dash_rid_cb *)c->cb)(c->ud, id);
}

int store_warning_live(store *s, const char *grid, store_dash_rid_cb *cb, void *ud, gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_WARN_LIVE, grid, 1, &st, err);

    if (rc)
        return rc;
    return each_row(s, st, rid_row, &c, err);
}

int store_warning_page(store *s, const char *grid, const uint8_t *below, uint32_t limit,
                       store_dash_rid_cb *cb, void *ud, gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    int rc = dprep(s, DQ_WARN_PAGE, grid, 3, &st, err);

    if (rc)
        return rc;
    eng_bind_blob(st, 1, below ? below : id_top, below ? 16 : sizeof(id_top));
    eng_bind_i64(st, 2, limit);
    return each_row(s, st, rid_row, &c, err);
}

/* The first (fill 0x00) or last (0xFF) id a UUIDv7 of instant ms can have. */
static void id_bound(int64_t ms, uint8_t fill, uint8_t id[16])
{
    memset(id, fill, 16);
    for (int i = 0; i < 6; i++)
        id[i] = (uint8_t)((uint64_t)ms >> (40 - 8 * i));
}

int store_rec_page(store *s, const char *tbl, int64_t from_ms, int64_t to_ms, const uint8_t *after,
                   uint32_t limit, store_dash_rid_cb *cb, void *ud, gs_err *err)
{
    cb_ctx c = {(any_fn)cb, ud};
    eng_stmt *st = NULL;
    uint8_t lo[16], hi[16];
    int rc = dprep(s, DQ_REC_PAGE, NULL, 0, &st, err);

    if (rc)
        return rc;
    id_bound(from_ms, 0x00, lo);
    id_bound(to_ms, 0xFF, hi);
    bind_text(st, 1, tbl);
    bind_id(st, 2, lo);
    bind_id(st, 3, hi);
    if (after)
        bind_id(st, 4, after);
    else
        eng_bind_blob(st, 4, NULL, 0); /* below every id */
    eng_bind_i64(st, 5, limit);
    return each_row(s, st, rid_row, &c, err);
}
