/*
 * dash.c: see dash.h. The store's rows (store_dash.c) are summed per grid as they arrive;
 * the town's figures are the sums of its grids', so the breakdown always adds up to the
 * whole. What a figure means lives in one place each: which tags make a resident
 * vulnerable, and for how long, in rules.c (the rule's own windows); a grid's day in
 * common/isotime.h; the names of tags, priorities, levels and rules in the schema and
 * rules.c. Here are only the age buckets of open care requests (<1 d, 1-3 d, 3-7 d, >7 d).
 */
#include "dash.h"

#include "common/alloc.h"
#include "common/isotime.h"
#include "jout.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)
#define N_TAGS_MAX 32    /* bits of a watch row's tag mask */
#define N_PRIORITY 3     /* care_overdue's info: 0 low, 1 normal, 2 urgent (store.h) */
#define N_AGE 4          /* the age buckets */
#define N_LEVEL 3        /* warning levels: notice, attention, urgent */
#define MONTHS_MAX 26    /* months DASH_DAYS_MAX days can touch */
#define WINDOW_CACHE 256 /* tag masks whose window is remembered: any of 8 tags */

/* The age buckets of open care requests: their names and lower bounds in days. */
static const char *const age_names[N_AGE] = {"lt_1d", "d1_3", "d3_7", "gt_7d"};
static const int64_t age_days[N_AGE - 1] = {1, 3, 7};

/* One grid's figures. */
typedef struct dgrid {
    char name[GS_LIMIT_NAME + 1];
    const char *town;                      /* q->town_of's, "" when none (outlives d) */
    int64_t tags[N_TAGS_MAX];              /* residents per tag */
    int64_t tagged;                        /* residents with any tag */
    int64_t vulnerable;                    /* watched by unvisited_vulnerable */
    int64_t visited;                       /* of those, visited within the window */
    int64_t visits;                        /* visits in the range */
    int64_t care[N_PRIORITY][N_AGE];       /* open care requests */
    int64_t disputes, disputes_open;       /* dispute visits in the range; follow-up open */
    int64_t warnings[RULE_COUNT][N_LEVEL]; /* open warnings */
    int64_t silent;                        /* silent devices of the grid */
} dgrid;

/* Everything one answer adds up. */
typedef struct dash {
    const dash_query *q;           /* what is asked */
    const srv_config *cfg;         /* the rules' windows, silent_days */
    store *st;                     /* read under the caller's lock */
    dgrid *grids;                  /* the grids seen, in order of first sight */
    uint32_t n, cap;               /* entries in grids, room */
    uint32_t *slots;               /* open addressing over grids (index + 1; 0 empty) */
    uint32_t cap_slots;            /* a power of two, at least twice n */
    int64_t day_from, n_days;      /* the range's Beijing days */
    int64_t *days;                 /* visits per day of the range, the town's (or the grid's) */
    int64_t month_y0;              /* the range's first month: its year */
    unsigned month_m0;             /* and month (1..12) */
    int n_months;                  /* months the range touches */
    int64_t months[MONTHS_MAX][2]; /* disputes per month: all, with follow-up open */
    int64_t window[WINDOW_CACHE];  /* unvisited_vulnerable's window per tag mask */
    uint8_t window_known[WINDOW_CACHE]; /* window[mask] holds it */
    json_t *silent;                     /* the silent devices, as a JSON array */
    int bad;                            /* a JSON allocation failed */
    gs_err *err;                        /* what failed */
} dash;

/* ---- grids -------------------------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static uint32_t *slot_of(dash *d, const char *name)
{
    uint32_t mask = d->cap_slots - 1, i = name_hash(name) & mask;
    for (;; i = (i + 1) & mask) {
        uint32_t k = d->slots[i];
        if (!k || strcmp(d->grids[k - 1].name, name) == 0)
            return &d->slots[i];
    }
}

static int grow(dash *d)
{
    if (d->n == d->cap) {
        uint32_t cap = d->cap ? d->cap * 2 : 64;
        dgrid *g = gs_realloc(d->grids, (size_t)cap * sizeof(*g));
        if (!g)
            return GS_E_NOMEM;
        d->grids = g;
        d->cap = cap;
    }
    if (2 * (d->n + 1) > d->cap_slots) {
        uint32_t cap = d->cap_slots ? d->cap_slots * 2 : 128;
        uint32_t *slots = gs_calloc(cap, sizeof(*slots));
        if (!slots)
            return GS_E_NOMEM;
        gs_free(d->slots);
        d->slots = slots;
        d->cap_slots = cap;
        for (uint32_t k = 0; k < d->n; k++)
            *slot_of(d, d->grids[k].name) = k + 1;
    }
    return GS_OK;
}

/* The figures of grid name, made zero on first sight; NULL when out of memory. */
static dgrid *grid_of(dash *d, const char *name)
{
    uint32_t *slot;
    dgrid *g;

    if (d->cap_slots) {
        slot = slot_of(d, name);
        if (*slot)
            return &d->grids[*slot - 1];
    }
    if (grow(d)) {
        gs_err_set(d->err, GS_E_NOMEM, "dashboard: out of memory");
        return NULL;
    }
    g = &d->grids[d->n];
    memset(g, 0, sizeof(*g));
    snprintf(g->name, sizeof(g->name), "%s", name);
    g->town = d->q->town_of ? d->q->town_of(d->q->ud, name) : "";
    *slot_of(d, name) = ++d->n;
    return g;
}

/* 1 when the rows of grid are outside the admin's scope (dash_query.grid_ok). */
static int skip(const dash *d, const char *grid)
{
    return d->q->grid_ok && !d->q->grid_ok(d->q->ud, grid);
}

/* ---- the store's rows ------------------------------------------------------------------ */

/* The window of a tag mask (rules.c), remembered for the masks of the schema's tags. */
static int64_t window_of(dash *d, unsigned mask)
{
    if (mask < WINDOW_CACHE) {
        if (!d->window_known[mask]) {
            d->window[mask] = rules_window_ms(&d->cfg->rules, rules_unvisited_window(mask));
            d->window_known[mask] = 1;
        }
        return d->window[mask];
    }
    return rules_window_ms(&d->cfg->rules, rules_unvisited_window(mask));
}

static int resident_cb(void *ud, const char *grid, unsigned mask, int64_t since)
{
    dash *d = ud;
    dgrid *g = skip(d, grid) ? NULL : grid_of(d, grid);
    int64_t window = window_of(d, mask);

    if (!g)
        return skip(d, grid) ? GS_OK : GS_E_NOMEM;
    for (int i = 0; i < N_TAGS_MAX; i++)
        if (mask & (1u << i))
            g->tags[i]++;
    g->tagged++;
    if (window) { /* visited in time: its warning is not due (warn.c: due at since + window) */
        g->vulnerable++;
        g->visited += since + window > d->q->now_ms;
    }
    return GS_OK;
}

static int day_cb(void *ud, const char *grid, int64_t day, int64_t n)
{
    dash *d = ud;
    dgrid *g = skip(d, grid) ? NULL : grid_of(d, grid);

    if (!g)
        return skip(d, grid) ? GS_OK : GS_E_NOMEM;
    g->visits += n;
    if (day >= d->day_from && day < d->day_from + d->n_days)
        d->days[day - d->day_from] += n;
    return GS_OK;
}

static int care_cb(void *ud, const char *grid, int priority, int64_t since)
{
    dash *d = ud;
    dgrid *g = skip(d, grid) ? NULL : grid_of(d, grid);
    int64_t age = d->q->now_ms - since;
    int bucket = 0;

    if (!g)
        return skip(d, grid) ? GS_OK : GS_E_NOMEM;
    if (priority < 0 || priority >= N_PRIORITY)
        priority = 1; /* as the rule reads an unknown priority: normal */
    while (bucket < N_AGE - 1 && age >= age_days[bucket] * DAY_MS)
        bucket++; /* a bound belongs to the older bucket */
    g->care[priority][bucket]++;
    return GS_OK;
}

/* The index of the month of instant ms (Beijing time) in the range, or -1. */
static int month_index(const dash *d, int64_t ms)
{
    int64_t y, i;
    unsigned m, day;

    isotime_civil_from_days(isotime_local_day(ms, ISOTIME_LOCAL_OFFSET_MIN), &y, &m, &day);
    i = (y - d->month_y0) * 12 + ((int64_t)m - (int64_t)d->month_m0);
    return i >= 0 && i < d->n_months ? (int)i : -1;
}

static int dispute_cb(void *ud, const char *grid, int64_t at, int open)
{
    dash *d = ud;
    dgrid *g = skip(d, grid) ? NULL : grid_of(d, grid);
    int i = month_index(d, at);

    if (!g)
        return skip(d, grid) ? GS_OK : GS_E_NOMEM;
    if (open)
        g->disputes_open++;
    else
        g->disputes++;
    if (i >= 0)
        d->months[i][open ? 1 : 0]++;
    return GS_OK;
}

static int warn_cb(void *ud, const char *grid, const char *rule, int level, int64_t n)
{
    dash *d = ud;
    dgrid *g = skip(d, grid) ? NULL : grid_of(d, grid);
    rule_id r = rule_find(rule);

    if (!g)
        return skip(d, grid) ? GS_OK : GS_E_NOMEM;
    if (r != RULE_COUNT && level >= 0 && level < N_LEVEL)
        g->warnings[r][level] += n;
    return GS_OK;
}

static json_t *silent_json(dash *d, const store_device *dev)
{
    json_t *o = json_object(), *grids = json_array();

    for (size_t i = 0; i < dev->n_grids; i++)
        jout_append(&d->bad, grids, jout_str(dev->grids[i]));
    jout_set(&d->bad, o, "id", jout_str(dev->id));
    jout_set(&d->bad, o, "name", jout_str(dev->name));
    jout_set(&d->bad, o, "grids", grids);
    jout_set(&d->bad, o, "last_sync_ms", json_integer(dev->last_sync_ms));
    jout_set(&d->bad, o, "last_sync", jout_iso(dev->last_sync_ms));
    jout_set(&d->bad, o, "created_ms", json_integer(dev->created_ms));
    return o;
}

static int silent_cb(void *ud, const char *id)
{
    dash *d = ud;
    store_device *dev = gs_malloc(sizeof(*dev));
    int rc = dev ? store_device_get(d->st, id, strlen(id), dev, d->err)
                 : gs_err_set(d->err, GS_E_NOMEM, "dashboard: out of memory");

    int seen = 0; /* one of its grids is in the admin's scope */

    for (size_t i = 0; !rc && i < dev->n_grids; i++) {
        dgrid *g;
        if ((d->q->grid && strcmp(d->q->grid, dev->grids[i]) != 0) || skip(d, dev->grids[i]))
            continue;
        seen = 1;
        g = grid_of(d, dev->grids[i]);
        if (!g)
            rc = GS_E_NOMEM;
        else
            g->silent++;
    }
    if (!rc && (seen || !d->q->grid_ok))
        jout_append(&d->bad, d->silent, silent_json(d, dev));
    gs_free(dev);
    return rc;
}

/* Every figure, read from the store in the order of the answer. */
static int read_all(dash *d)
{
    const dash_query *q = d->q;
    int r;

    r = store_dash_residents(d->st, q->grid, resident_cb, d, d->err);
    if (!r)
        r = store_dash_visit_days(d->st, q->grid, d->day_from, d->day_from + d->n_days - 1, day_cb,
                                  d, d->err);
    if (!r)
        r = store_dash_care(d->st, q->grid, care_cb, d, d->err);
    if (!r)
        r = store_dash_disputes(d->st, q->grid, q->from_ms, q->to_ms, dispute_cb, d, d->err);
    if (!r)
        r = store_dash_warnings(d->st, q->grid, warn_cb, d, d->err);
    if (!r)
        r = store_dash_silent(d->st, q->grid, q->now_ms - (int64_t)d->cfg->silent_days * DAY_MS,
                              silent_cb, d, d->err);
    if (r == GS_E_NOMEM)
        gs_err_set(d->err, r, "dashboard: out of memory");
    return r;
}

/* ---- the answer ---------------------------------------------------------------------- */

static const schema_field *schema_enum_field(const char *tbl, const char *field)
{
    const schema_table *t = schema_table_find(tbl, strlen(tbl));
    return t ? schema_field_find(t, field, strlen(field)) : NULL;
}

/* The sum of every grid's figures: the town's, or the one grid's. */
static void total_of(const dash *d, dgrid *t)
{
    memset(t, 0, sizeof(*t));
    for (uint32_t k = 0; k < d->n; k++) {
        const dgrid *g = &d->grids[k];
        for (int i = 0; i < N_TAGS_MAX; i++)
            t->tags[i] += g->tags[i];
        t->tagged += g->tagged;
        t->vulnerable += g->vulnerable;
        t->visited += g->visited;
        t->visits += g->visits;
        for (int p = 0; p < N_PRIORITY; p++)
            for (int a = 0; a < N_AGE; a++)
                t->care[p][a] += g->care[p][a];
        t->disputes += g->disputes;
        t->disputes_open += g->disputes_open;
        for (int r = 0; r < RULE_COUNT; r++)
            for (int l = 0; l < N_LEVEL; l++)
                t->warnings[r][l] += g->warnings[r][l];
        t->silent += g->silent;
    }
}

/* Disputes closed: those of them without an open follow-up (never below 0, should a
 * visit's time have moved between the two reads' rows). */
static int64_t closed_of(int64_t all, int64_t open)
{
    return all > open ? all - open : 0;
}

static int64_t care_total(const dgrid *g)
{
    int64_t n = 0;
    for (int p = 0; p < N_PRIORITY; p++)
        for (int a = 0; a < N_AGE; a++)
            n += g->care[p][a];
    return n;
}

static int64_t warnings_total(const dgrid *g)
{
    int64_t n = 0;
    for (int r = 0; r < RULE_COUNT; r++)
        for (int l = 0; l < N_LEVEL; l++)
            n += g->warnings[r][l];
    return n;
}

static json_t *residents_json(dash *d, const dgrid *t)
{
    const schema_field *tags = schema_enum_field("resident", "tags");
    json_t *o = json_object(), *by = json_object();

    for (size_t i = 0; tags && i < tags->n_enums && i < N_TAGS_MAX; i++)
        jout_set(&d->bad, by, tags->enums[i].name, json_integer(t->tags[i]));
    jout_set(&d->bad, o, "tagged", json_integer(t->tagged));
    jout_set(&d->bad, o, "by_tag", by);
    return o;
}

static json_t *coverage_json(dash *d, const dgrid *t)
{
    json_t *o = json_object();

    jout_set(&d->bad, o, "vulnerable", json_integer(t->vulnerable));
    jout_set(&d->bad, o, "visited", json_integer(t->visited));
    jout_set(&d->bad, o, "ratio", jout_ratio(t->visited, t->vulnerable));
    return o;
}

/* "2026-11-18": the Beijing date of day number day. */
static void day_text(int64_t day, char *out, size_t cap)
{
    int64_t y;
    unsigned m, dd;
    isotime_civil_from_days(day, &y, &m, &dd);
    snprintf(out, cap, "%04lld-%02u-%02u", (long long)y, m, dd);
}

static json_t *visits_json(dash *d, const dgrid *t)
{
    json_t *o = json_object(), *by = json_array();
    char day[16];

    for (int64_t i = 0; i < d->n_days; i++) {
        day_text(d->day_from + i, day, sizeof(day));
        jout_append(&d->bad, by, json_pack("{s:s, s:I}", "day", day, "n", (json_int_t)d->days[i]));
    }
    jout_set(&d->bad, o, "total", json_integer(t->visits));
    jout_set(&d->bad, o, "by_day", by);
    return o;
}

static json_t *ages_json(dash *d, const int64_t n[N_AGE])
{
    json_t *o = json_object();
    int64_t total = 0;

    for (int a = 0; a < N_AGE; a++)
        total += n[a];
    jout_set(&d->bad, o, "total", json_integer(total));
    for (int a = 0; a < N_AGE; a++)
        jout_set(&d->bad, o, age_names[a], json_integer(n[a]));
    return o;
}

static json_t *care_json(dash *d, const dgrid *t)
{
    const schema_field *prio = schema_enum_field("care", "priority");
    json_t *o = json_object(), *by = json_object();
    int64_t ages[N_AGE] = {0};

    for (int p = 0; p < N_PRIORITY; p++) {
        for (int a = 0; a < N_AGE; a++)
            ages[a] += t->care[p][a];
        jout_set(&d->bad, by, prio && (size_t)p < prio->n_enums ? prio->enums[p].name : "?",
                 ages_json(d, t->care[p]));
    }
    jout_set(&d->bad, o, "total", json_integer(care_total(t)));
    jout_set(&d->bad, o, "by_priority", by);
    jout_set(&d->bad, o, "by_age", ages_json(d, ages));
    return o;
}

static json_t *disputes_json(dash *d, const dgrid *t)
{
    json_t *o = json_object(), *by = json_array();
    int64_t y = d->month_y0;
    unsigned m = d->month_m0;

    for (int i = 0; i < d->n_months; i++) {
        char month[16];
        json_t *e = json_object();
        snprintf(month, sizeof(month), "%04lld-%02u", (long long)y, m);
        jout_set(&d->bad, e, "month", json_string(month));
        jout_set(&d->bad, e, "total", json_integer(d->months[i][0]));
        int64_t closed = closed_of(d->months[i][0], d->months[i][1]);
        jout_set(&d->bad, e, "closed", json_integer(closed));
        jout_set(&d->bad, e, "ratio", jout_ratio(closed, d->months[i][0]));
        jout_append(&d->bad, by, e);
        if (++m > 12) {
            m = 1;
            y++;
        }
    }
    jout_set(&d->bad, o, "total", json_integer(t->disputes));
    jout_set(&d->bad, o, "closed", json_integer(closed_of(t->disputes, t->disputes_open)));
    jout_set(&d->bad, o, "ratio",
             jout_ratio(closed_of(t->disputes, t->disputes_open), t->disputes));
    jout_set(&d->bad, o, "by_month", by);
    return o;
}

static json_t *warnings_json(dash *d, const dgrid *t)
{
    const schema_field *lv = schema_enum_field("warning", "level");
    json_t *o = json_object(), *by = json_object(), *levels = json_object();
    int64_t per_level[N_LEVEL] = {0};

    for (int r = 0; r < RULE_COUNT; r++) {
        json_t *e = json_object();
        int64_t n = 0;
        for (int l = 0; l < N_LEVEL; l++) {
            jout_set(&d->bad, e, lv && (size_t)l < lv->n_enums ? lv->enums[l].name : "?",
                     json_integer(t->warnings[r][l]));
            n += t->warnings[r][l];
            per_level[l] += t->warnings[r][l];
        }
        jout_set(&d->bad, e, "total", json_integer(n));
        jout_set(&d->bad, by, rule_key((rule_id)r), e);
    }
    for (int l = 0; l < N_LEVEL; l++)
        jout_set(&d->bad, levels, lv && (size_t)l < lv->n_enums ? lv->enums[l].name : "?",
                 json_integer(per_level[l]));
    jout_set(&d->bad, o, "total", json_integer(warnings_total(t)));
    jout_set(&d->bad, o, "by_rule", by);
    jout_set(&d->bad, o, "by_level", levels);
    return o;
}

/* One grid's line of the breakdown. */
static json_t *grid_json(dash *d, const dgrid *g)
{
    json_t *o = json_object();

    jout_set(&d->bad, o, "grid", jout_str(g->name));
    if (d->q->town_of)
        jout_set(&d->bad, o, "town", jout_str(g->town));
    jout_set(&d->bad, o, "tagged", json_integer(g->tagged));
    jout_set(&d->bad, o, "vulnerable", json_integer(g->vulnerable));
    jout_set(&d->bad, o, "visited", json_integer(g->visited));
    jout_set(&d->bad, o, "coverage", jout_ratio(g->visited, g->vulnerable));
    jout_set(&d->bad, o, "visits", json_integer(g->visits));
    jout_set(&d->bad, o, "care_open", json_integer(care_total(g)));
    jout_set(&d->bad, o, "disputes", json_integer(g->disputes));
    jout_set(&d->bad, o, "disputes_closed", json_integer(closed_of(g->disputes, g->disputes_open)));
    jout_set(&d->bad, o, "dispute_ratio",
             jout_ratio(closed_of(g->disputes, g->disputes_open), g->disputes));
    jout_set(&d->bad, o, "warnings_open", json_integer(warnings_total(g)));
    jout_set(&d->bad, o, "devices_silent", json_integer(g->silent));
    return o;
}

/* By town, then grid: the county's breakdown reads town by town (town "" without a
 * registry, so then by grid alone). */
static int by_name(const void *a, const void *b)
{
    const dgrid *x = a, *y = b;
    int c = strcmp(x->town, y->town);
    return c ? c : strcmp(x->name, y->name);
}

static json_t *answer(dash *d)
{
    const dash_query *q = d->q;
    json_t *o = json_object(), *rules = json_object(), *silent = json_object(), *grids;
    dgrid *t = gs_malloc(sizeof(*t));

    if (!t || !o) {
        gs_free(t);
        json_decref(o);
        return NULL;
    }
    total_of(d, t);
    if (d->n) /* the slots are not used after */
        qsort(d->grids, d->n, sizeof(d->grids[0]), by_name);
    grids = json_array();
    for (uint32_t k = 0; k < d->n; k++)
        jout_append(&d->bad, grids, grid_json(d, &d->grids[k]));
    jout_set(&d->bad, rules, "unvisited_days_alone",
             json_integer(d->cfg->rules.unvisited_days_alone));
    jout_set(&d->bad, rules, "unvisited_days", json_integer(d->cfg->rules.unvisited_days));
    jout_set(&d->bad, rules, "silent_days", json_integer(d->cfg->silent_days));
    jout_set(&d->bad, silent, "total", json_integer((json_int_t)json_array_size(d->silent)));
    jout_set(&d->bad, silent, "devices", json_incref(d->silent));
    jout_set(&d->bad, o, "now_ms", json_integer(q->now_ms));
    jout_set(&d->bad, o, "now", jout_iso(q->now_ms));
    jout_set(&d->bad, o, "grid", q->grid ? json_string(q->grid) : json_null());
    jout_set(&d->bad, o, "from_ms", json_integer(q->from_ms));
    jout_set(&d->bad, o, "from", jout_iso(q->from_ms));
    jout_set(&d->bad, o, "to_ms", json_integer(q->to_ms));
    jout_set(&d->bad, o, "to", jout_iso(q->to_ms));
    jout_set(&d->bad, o, "rules", rules);
    jout_set(&d->bad, o, "residents", residents_json(d, t));
    jout_set(&d->bad, o, "coverage", coverage_json(d, t));
    jout_set(&d->bad, o, "visits", visits_json(d, t));
    jout_set(&d->bad, o, "care_open", care_json(d, t));
    jout_set(&d->bad, o, "disputes", disputes_json(d, t));
    jout_set(&d->bad, o, "warnings_open", warnings_json(d, t));
    jout_set(&d->bad, o, "devices_silent", silent);
    jout_set(&d->bad, o, "grids", grids);
    gs_free(t);
    return o;
}

/* ---- entry points ------------------------------------------------------------------- */

void dash_last_days(int64_t now_ms, int days, int64_t *from_ms, int64_t *to_ms)
{
    int64_t today = isotime_local_day(now_ms, ISOTIME_LOCAL_OFFSET_MIN);

    *from_ms = isotime_local_midnight(today - (days - 1), ISOTIME_LOCAL_OFFSET_MIN);
    *to_ms = now_ms;
}

int dash_check(const dash_query *q, gs_err *err)
{
    int64_t d0 = isotime_local_day(q->from_ms, ISOTIME_LOCAL_OFFSET_MIN);
    int64_t d1 = isotime_local_day(q->to_ms, ISOTIME_LOCAL_OFFSET_MIN);

    if (q->from_ms > q->to_ms)
        return gs_err_set(err, GS_E_INVALID, "from is after to");
    if (d1 - d0 + 1 > DASH_DAYS_MAX)
        return gs_err_set(err, GS_E_INVALID, "the range spans %lld days, at most %d",
                          (long long)(d1 - d0 + 1), DASH_DAYS_MAX);
    return GS_OK;
}

/* The range's days and months. */
static void range_init(dash *d)
{
    int64_t d1 = isotime_local_day(d->q->to_ms, ISOTIME_LOCAL_OFFSET_MIN), y1;
    unsigned m1, ignored;

    d->day_from = isotime_local_day(d->q->from_ms, ISOTIME_LOCAL_OFFSET_MIN);
    d->n_days = d1 - d->day_from + 1;
    isotime_civil_from_days(d->day_from, &d->month_y0, &d->month_m0, &ignored);
    isotime_civil_from_days(d1, &y1, &m1, &ignored);
    d->n_months = (int)((y1 - d->month_y0) * 12 + ((int)m1 - (int)d->month_m0) + 1);
}

int dash_build(store *st, const srv_config *cfg, const dash_query *q, json_t **out, gs_err *err)
{
    dash d;
    json_t *o = NULL;
    int rc = dash_check(q, err);

    if (rc)
        return rc;
    memset(&d, 0, sizeof(d));
    d.q = q;
    d.cfg = cfg;
    d.st = st;
    d.err = err;
    range_init(&d);
    d.days = gs_calloc((size_t)d.n_days, sizeof(*d.days));
    d.silent = json_array();
    if (!d.days || !d.silent || (q->grid && !grid_of(&d, q->grid)))
        rc = gs_err_set(err, GS_E_NOMEM, "dashboard: out of memory");
    if (!rc)
        rc = read_all(&d);
    if (!rc) {
        o = answer(&d);
        if (!o || d.bad) {
            json_decref(o);
            rc = gs_err_set(err, GS_E_NOMEM, "dashboard: out of memory building the answer");
        }
    }
    if (!rc)
        *out = o;
    json_decref(d.silent);
    gs_free(d.days);
    gs_free(d.grids);
    gs_free(d.slots);
    return rc;
}
