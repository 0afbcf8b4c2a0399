/*
 * store_watch.c: the rows the warning rules keep (store.h "what the warning rules watch"):
 * watch, one row per (rule, subject) read by key, by the due index for the sweep and by
 * ref for visits that close earlier ones; dispute_visits for the repeated-dispute rule.
 * They change in the transaction of the merge or the sweep that decided them, so a warning
 * and the row that says it is open are committed together or not at all.
 */
#include "store_db.h"

#include <string.h>

static const char *const wsql[WQ_N] = {
    [WQ_GET] = "SELECT grid, ref, since, deadline, until, due, info, warning, level FROM watch "
               "WHERE rule = ?1 AND subject = ?2",
    [WQ_PUT] = "INSERT INTO watch (rule, subject, grid, ref, since, deadline, until, due, info, "
               "warning, level) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
               "ON CONFLICT (rule, subject) DO UPDATE SET grid = excluded.grid, "
               "ref = excluded.ref, since = excluded.since, deadline = excluded.deadline, "
               "until = excluded.until, due = excluded.due, info = excluded.info, "
               "warning = excluded.warning, level = excluded.level",
    /* the state of a row whose grid and ref stay: in place, those indexes untouched */
    [WQ_UPDATE] = "UPDATE watch SET since = ?3, deadline = ?4, until = ?5, due = ?6, info = ?7, "
                  "warning = ?8, level = ?9 WHERE rule = ?1 AND subject = ?2",
    [WQ_DEL] = "DELETE FROM watch WHERE rule = ?1 AND subject = ?2",
    [WQ_DUE] = "SELECT rule, subject, grid, ref, since, deadline, until, due, info, warning, "
               "level FROM watch WHERE due IS NOT NULL AND due <= ?1 ORDER BY due LIMIT ?2",
    [WQ_SCAN] = "SELECT rule, subject, grid, ref, since, deadline, until, due, info, warning, "
                "level FROM watch WHERE (rule, subject) > (?1, ?2) ORDER BY rule, subject "
                "LIMIT ?3",
    [WQ_BY_REF] = "SELECT rule, subject, grid, ref, since, deadline, until, due, info, warning, "
                  "level FROM watch WHERE rule = ?1 AND ref = ?2",
    [WQ_OPEN_COUNTS] = "SELECT rule, level, count(*) FROM watch WHERE warning IS NOT NULL "
                       "GROUP BY rule, level",
    [WQ_DISPUTE_ADD] = "INSERT INTO dispute_visits (resident, at, visit, grid) "
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [WQ_EMPTY] = "SELECT NOT EXISTS (SELECT 1 FROM watch) AND EXISTS (SELECT 1 FROM records "
                 "WHERE tbl IN ('resident', 'visit', 'care'))",
    [WQ_DAYS_EMPTY] = "SELECT NOT EXISTS (SELECT 1 FROM visit_days)",
    [WQ_VISIT_DAY] = "INSERT INTO visit_days (grid, day, n) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (grid, day) DO UPDATE SET n = visit_days.n + excluded.n",
    /* the latest n only: a resident with many disputes costs n rows a dispute, not all */
    [WQ_DISPUTE_RECENT] = "SELECT at FROM dispute_visits WHERE resident = ?1 AND at >= ?2 "
                          "ORDER BY at DESC LIMIT ?3",
};

static int wprep(store *s, int q, eng_stmt **out, gs_err *err)
{
    return prep_slot(s, &s->wstmt[q], wsql[q], out, err);
}

static void bind_opt(eng_stmt *st, int i, int64_t v)
{
    if (v)
        eng_bind_i64(st, i, v);
    else
        eng_bind_null(st, i);
}

/* Reads columns from first on (grid, ref, since, deadline, until, due, info, warning, level). */
static void col_watch(eng_stmt *st, int first, store_watch *w)
{
    const void *id;

    col_text(st, first, w->grid, sizeof(w->grid));
    col_text(st, first + 1, w->ref, sizeof(w->ref));
    w->since = eng_col_i64(st, first + 2);
    w->deadline = eng_col_i64(st, first + 3);
    w->until = eng_col_i64(st, first + 4);
    w->due = eng_col_i64(st, first + 5);
    w->info = eng_col_i64(st, first + 6);
    id = eng_col_blob(st, first + 7);
    w->has_warning = id && eng_col_bytes(st, first + 7) == 16;
    if (w->has_warning)
        memcpy(w->warning, id, 16);
    w->level = (int)eng_col_i64(st, first + 8);
}

int store_watch_get(store *s, const char *rule, const char *subject, store_watch *out,
                    gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_GET, &st, err), row = 0;

    if (rc)
        return rc;
    bind_text(st, 1, rule);
    bind_text(st, 2, subject);
    rc = step(s, st, &row, err);
    if (!rc && !row)
        rc = GS_E_NOTFOUND;
    if (!rc) {
        memset(out, 0, sizeof(*out));
        snprintf(out->rule, sizeof(out->rule), "%s", rule);
        snprintf(out->subject, sizeof(out->subject), "%s", subject);
        col_watch(st, 0, out);
    }
    done(st);
    return rc;
}

int store_watch_put(store *s, const store_watch *w, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_PUT, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, w->rule);
    bind_text(st, 2, w->subject);
    bind_text(st, 3, w->grid);
    if (w->ref[0])
        bind_text(st, 4, w->ref);
    else
        eng_bind_null(st, 4);
    eng_bind_i64(st, 5, w->since);
    bind_opt(st, 6, w->deadline);
    bind_opt(st, 7, w->until);
    bind_opt(st, 8, w->due);
    eng_bind_i64(st, 9, w->info);
    if (w->has_warning)
        bind_id(st, 10, w->warning);
    else
        eng_bind_null(st, 10);
    eng_bind_i64(st, 11, w->level);
    return exec_done(s, st, err);
}

int store_watch_update(store *s, const store_watch *w, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_UPDATE, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, w->rule);
    bind_text(st, 2, w->subject);
    eng_bind_i64(st, 3, w->since);
    bind_opt(st, 4, w->deadline);
    bind_opt(st, 5, w->until);
    bind_opt(st, 6, w->due);
    eng_bind_i64(st, 7, w->info);
    if (w->has_warning)
        bind_id(st, 8, w->warning);
    else
        eng_bind_null(st, 8);
    eng_bind_i64(st, 9, w->level);
    rc = exec_done(s, st, err);
    /* gone since it was read (deleted earlier in this transaction): write it whole */
    if (!rc && eng_changes(s->e) == 0)
        rc = store_watch_put(s, w, err);
    return rc;
}

int store_watch_del(store *s, const char *rule, const char *subject, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_DEL, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, rule);
    bind_text(st, 2, subject);
    return exec_done(s, st, err);
}

/* Rows of a statement selecting rule, subject and then col_watch's columns, to cb. */
static int watch_rows(store *s, eng_stmt *st, store_watch_cb *cb, void *ud, gs_err *err)
{
    int rc = GS_OK, row = 1;

    while (!rc) {
        store_watch w;
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        memset(&w, 0, sizeof(w));
        col_text(st, 0, w.rule, sizeof(w.rule));
        col_text(st, 1, w.subject, sizeof(w.subject));
        col_watch(st, 2, &w);
        rc = cb(ud, &w);
    }
    done(st);
    return rc;
}

int store_watch_due(store *s, int64_t now, uint32_t max, store_watch_cb *cb, void *ud,
                    gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_DUE, &st, err);

    if (rc)
        return rc;
    eng_bind_i64(st, 1, now);
    eng_bind_i64(st, 2, max);
    return watch_rows(s, st, cb, ud, err);
}

int store_watch_scan(store *s, const char *after_rule, const char *after_subject, uint32_t max,
                     store_watch_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_SCAN, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, after_rule);
    bind_text(st, 2, after_subject);
    eng_bind_i64(st, 3, max);
    return watch_rows(s, st, cb, ud, err);
}

int store_watch_by_ref(store *s, const char *rule, const char *ref, store_watch_cb *cb, void *ud,
                       gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_BY_REF, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, rule);
    bind_text(st, 2, ref);
    return watch_rows(s, st, cb, ud, err);
}

int store_watch_open_counts(store *s, store_warn_count_cb *cb, void *ud, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_OPEN_COUNTS, &st, err), row = 1;

    if (rc)
        return rc;
    while (!rc) {
        char rule[32];
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        col_text(st, 0, rule, sizeof(rule));
        rc = cb(ud, rule, (int)eng_col_i64(st, 1), eng_col_i64(st, 2));
    }
    done(st);
    return rc;
}

int store_dispute_add(store *s, const char *resident, int64_t at, const char *visit,
                      const char *grid, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_DISPUTE_ADD, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, resident);
    eng_bind_i64(st, 2, at);
    bind_text(st, 3, visit);
    bind_text(st, 4, grid);
    return exec_done(s, st, err);
}

int store_watch_needs_backfill(store *s, int *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_EMPTY, &st, err), row = 0;

    if (rc)
        return rc;
    rc = step(s, st, &row, err);
    *out = !rc && row && (int)eng_col_i64(st, 0);
    done(st);
    return rc;
}

int store_visit_days_empty(store *s, int *out, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_DAYS_EMPTY, &st, err), row = 0;

    if (rc)
        return rc;
    rc = step(s, st, &row, err);
    *out = !rc && row && (int)eng_col_i64(st, 0);
    done(st);
    return rc;
}

int store_visit_day_add(store *s, const char *grid, int64_t day, int64_t n, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_VISIT_DAY, &st, err);

    if (rc)
        return rc;
    bind_text(st, 1, grid);
    eng_bind_i64(st, 2, day);
    eng_bind_i64(st, 3, n);
    return exec_done(s, st, err);
}

int store_dispute_recent(store *s, const char *resident, int64_t from, uint32_t n,
                         int64_t *count, int64_t *nth_at, gs_err *err)
{
    eng_stmt *st = NULL;
    int rc = wprep(s, WQ_DISPUTE_RECENT, &st, err), row = 1;

    *count = 0;
    *nth_at = 0;
    if (rc)
        return rc;
    bind_text(st, 1, resident);
    eng_bind_i64(st, 2, from);
    eng_bind_i64(st, 3, n);
    while (!rc) {
        rc = step(s, st, &row, err);
        if (rc || !row)
            break;
        if (++*count == n)
            *nth_at = eng_col_i64(st, 0);
    }
    done(st);
    return rc;
}
