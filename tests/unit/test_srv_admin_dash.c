/*
 * test_srv_admin_dash.c: the admin API's dashboard, warnings and records endpoints
 * (server/dash.c, server/admin_warnings.c, server/admin_records.c through admin_api_handle)
 * on a real store file, with the server's clock set by the test:
 * - the dashboard of a small town whose every figure is known, written straight into the
 *   rows the rules keep (watch, visit_days, dispute_visits, devices): residents by tag,
 *   coverage at the rule's window and not a millisecond more, visits per day over the
 *   default and a chosen range, open care requests by priority and age at each bucket's
 *   bound, disputes per month and the share closed, open warnings by rule and level,
 *   silent devices; the town equal to the sum of its grids, one grid alone; bad queries;
 * - warnings raised by the real rules from merged records: the list's order (open first,
 *   the most urgent first), its filters and pages, the subject in context; an
 *   acknowledgement written as the admin (state, note, ack_by, ack_at) that a cleared
 *   warning refuses with 409; 404s and 400s;
 * - records page by page in creation order, filtered by creation time, with every field;
 * - auth, method and the error shape of the new endpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hlc.h"
#include "common/isotime.h"
#include "common/uuid.h"
#include "server/admin_api.h"
#include "server/auth.h"
#include "server/merge.h"
#include "server/rules.h"
#include "server/store.h"
#include "server/warn.h"
#include "tests/lib/tdir.h"
#include "tests/lib/tvalue.h"

#define DAY INT64_C(86400000)
#define HOUR INT64_C(3600000)
#define RESP_CAP (8u * 1024 * 1024)

/* 2026-11-18T11:06:40Z, 19:06:40 in Beijing */
static const int64_t T0 = INT64_C(1795000000000);

typedef struct fx {
    char dir[TDIR_MAX];
    char path[TDIR_MAX + 16];
    store *st;
    int64_t now; /* the server's clock */
    hlc clock;
    srv_config cfg;
    srv_metrics metrics;
    gs_logger lg;
    pthread_mutex_t lock;
    admin_env env;
    char admin_id[64];
    char auth[200]; /* "Bearer <admin token>" */
    gs_arena arena;
    store_device dev; /* d-a, grid g1, for the merged records */
    uint64_t seq;
} fx;

static uint64_t fake_now(void *ud)
{
    return (uint64_t)((fx *)ud)->now;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    uint8_t hash[AUTH_HASH_LEN];
    char token[AUTH_TOKEN_MAX + 1];
    gs_err err;

    assert_int_equal(tdir_make(f->dir, "dash"), 0);
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    assert_int_equal(store_open(&f->st, f->path, &err), GS_OK);
    f->now = T0;
    hlc_init(&f->clock, 0, 300000, fake_now, f);
    config_defaults(&f->cfg);
    f->cfg.rules.silent_days = f->cfg.silent_days;
    log_init(&f->lg, "test", GS_LOG_OFF);
    pthread_mutex_init(&f->lock, NULL);
    assert_int_equal(auth_new_id(AUTH_ADMIN_PREFIX, f->admin_id, sizeof(f->admin_id)), GS_OK);
    assert_int_equal(auth_new_token(f->admin_id, token, sizeof(token), hash), GS_OK);
    assert_int_equal(store_begin(f->st, &err), GS_OK);
    assert_int_equal(store_admin_add(f->st, f->admin_id, hash, T0, &err), GS_OK);
    assert_int_equal(store_commit(f->st, &err), GS_OK);
    snprintf(f->auth, sizeof(f->auth), "Bearer %s", token);
    f->env.st = f->st;
    f->env.lock = &f->lock;
    f->env.clock = &f->clock;
    f->env.cfg = &f->cfg;
    f->env.metrics = &f->metrics;
    f->env.lg = &f->lg;
    arena_init(&f->arena, SVAL_ARENA_MAX);
    f->seq = 1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->st);
    arena_free(&f->arena);
    pthread_mutex_destroy(&f->lock);
    assert_int_equal(tdir_remove(f->dir), 0);
    free(f);
    return 0;
}

/* ---- requests --------------------------------------------------------------------------- */

static srv_slice sl(const char *s)
{
    srv_slice x = {s, s ? strlen(s) : 0};
    return x;
}

/* The answer's JSON; fails unless the status is want. auth NULL: the admin's token. */
static json_t *req(fx *f, const char *method, const char *path, const char *query, const char *body,
                   const char *auth, int want)
{
    srv_request rq;
    srv_response resp;
    json_error_t jerr;
    json_t *j;

    memset(&rq, 0, sizeof(rq));
    memset(&resp, 0, sizeof(resp));
    rq.method = sl(method);
    rq.path = sl(path);
    rq.query = sl(query ? query : "");
    rq.content_type = sl(body ? "application/json" : NULL);
    rq.authorization = sl(auth ? auth : f->auth);
    rq.body = (const uint8_t *)body;
    rq.body_len = body ? strlen(body) : 0;
    rq.peer = "127.0.0.1:1";
    buf_init(&resp.body, RESP_CAP);
    admin_api_handle(&f->env, &rq, &resp);
    if (resp.status != want)
        fail_msg("%s %s?%s: status %d, want %d: %.*s", method, path, query ? query : "",
                 resp.status, want, (int)resp.body.len, resp.body.ptr);
    j = json_loadb(resp.body.ptr, resp.body.len, 0, &jerr);
    if (!j)
        fail_msg("%s %s: not JSON: %s", method, path, jerr.text);
    buf_free(&resp.body);
    return j;
}

static json_t *get(fx *f, const char *path, const char *query, int want)
{
    return req(f, "GET", path, query, NULL, NULL, want);
}

/* An error answer's code. */
static void expect_error(fx *f, const char *method, const char *path, const char *query,
                         const char *body, int status, const char *code)
{
    json_t *j = req(f, method, path, query, body, NULL, status);
    const char *got = json_string_value(json_object_get(j, "error"));
    if (!got || strcmp(got, code) != 0)
        fail_msg("%s %s?%s: error %s, want %s", method, path, query ? query : "",
                 got ? got : "(none)", code);
    assert_non_null(json_string_value(json_object_get(j, "message")));
    json_decref(j);
}

/* The value at a path of keys, "visits.by_day.0.n" (a number is an array index); NULL when
 * there is none. */
static json_t *at(json_t *j, const char *path)
{
    json_t *v = j;

    while (v && *path) {
        char key[64];
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)(n < 63 ? n : 63), path);
        v = key[0] >= '0' && key[0] <= '9' ? json_array_get(v, strtoul(key, NULL, 10))
                                           : json_object_get(v, key);
        path += n + (path[n] == '.');
    }
    return v;
}

static json_int_t ival(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", path);
    return json_integer_value(v);
}

/* A number, NAN for null. */
static double rval(json_t *j, const char *path)
{
    json_t *v = at(j, path);
    if (json_is_null(v))
        return NAN;
    if (!json_is_number(v))
        fail_msg("%s is not a number", path);
    return json_number_value(v);
}

static const char *sval(json_t *j, const char *path)
{
    const char *s = json_string_value(at(j, path));
    if (!s)
        fail_msg("%s is not a string", path);
    return s;
}

/* The breakdown entry of grid g. */
static json_t *grid_entry(json_t *dash, const char *g)
{
    json_t *e;
    size_t i;
    json_array_foreach(json_object_get(dash, "grids"), i,
                       e) if (strcmp(sval(e, "grid"), g) == 0) return e;
    fail_msg("no grid %s in the breakdown", g);
    return NULL;
}

/* ---- a town written straight into the rules' rows ------------------------------------------ */

static void txn(fx *f, int begin)
{
    gs_err err;
    if (begin)
        assert_int_equal(store_begin(f->st, &err), GS_OK);
    else
        assert_int_equal(store_commit(f->st, &err), GS_OK);
}

static unsigned tags(const char *a, const char *b)
{
    return (a ? rules_tag_bit(a) : 0) | (b ? rules_tag_bit(b) : 0);
}

static void watch_row(fx *f, const char *rule, const char *subject, const char *grid, int64_t since,
                      int64_t deadline, int64_t info, int warning_level)
{
    store_watch w;
    gs_err err;

    memset(&w, 0, sizeof(w));
    snprintf(w.rule, sizeof(w.rule), "%s", rule);
    snprintf(w.subject, sizeof(w.subject), "%s", subject);
    snprintf(w.grid, sizeof(w.grid), "%s", grid);
    w.since = since;
    w.deadline = deadline;
    w.info = info;
    if (warning_level >= 0) {
        w.has_warning = 1;
        assert_int_equal(uuid_v7(w.warning, (uint64_t)f->now), GS_OK);
        w.level = warning_level;
    }
    assert_int_equal(store_watch_put(f->st, &w, &err), GS_OK);
}

static void device(fx *f, const char *id, const char *g1, const char *g2, int64_t created,
                   int64_t synced, int revoked)
{
    store_device d;
    gs_err err;

    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "%s", id);
    snprintf(d.name, sizeof(d.name), "手机%s", id);
    snprintf(d.grids[d.n_grids++], sizeof(d.grids[0]), "%s", g1);
    if (g2)
        snprintf(d.grids[d.n_grids++], sizeof(d.grids[0]), "%s", g2);
    d.created_ms = created;
    assert_int_equal(store_device_add(f->st, &d, &err), GS_OK);
    if (synced)
        assert_int_equal(store_device_synced(f->st, id, synced, "ok", 0, &err), GS_OK);
    if (revoked)
        assert_int_equal(store_device_revoke(f->st, id, created + HOUR, STORE_WIPE_NONE, &err), GS_OK);
}

/* The town of the figures the dashboard tests expect (see each block). */
static void small_town(fx *f)
{
    int64_t now = f->now, today = isotime_local_day(now, ISOTIME_LOCAL_OFFSET_MIN);
    gs_err err;

    txn(f, 1);
    /* residents: g1 tagged 6, vulnerable 5 (r1 r2 r3 r4 r7), visited in time 2 (r1, r3: r7
     * is at its 7 days to the millisecond, which is due); g2 one disabled, visited */
    watch_row(f, "unvisited_vulnerable", "r1", "g1", now - 2 * DAY, 0, tags("lives_alone", 0), -1);
    watch_row(f, "unvisited_vulnerable", "r2", "g1", now - 8 * DAY, 0,
              tags("lives_alone", "elderly"), 1);
    watch_row(f, "unvisited_vulnerable", "r3", "g1", now - 10 * DAY, 0, tags("elderly", 0), -1);
    watch_row(f, "unvisited_vulnerable", "r4", "g1", now - 15 * DAY, 0,
              tags("elderly", "low_income"), -1);
    watch_row(f, "unvisited_vulnerable", "r5", "g1", now - 30 * DAY, 0, tags("low_income", 0), -1);
    watch_row(f, "unvisited_vulnerable", "r6", "g1", now - 30 * DAY, 0, 0, -1);
    watch_row(f, "unvisited_vulnerable", "r7", "g1", now - 7 * DAY, 0, tags("special_care", 0), -1);
    watch_row(f, "unvisited_vulnerable", "r8", "g2", now - 1 * DAY, 0, tags("disabled", 0), -1);
    /* visits per day: g1 3 today, 2 yesterday, 100 forty days ago; g2 1 today, 4 on the
     * range's first day (29 days ago), 7 on the day before it */
    for (int i = 0; i < 3; i++)
        assert_int_equal(store_visit_day_add(f->st, "g1", today, 1, &err), GS_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(store_visit_day_add(f->st, "g1", today - 1, 1, &err), GS_OK);
    for (int i = 0; i < 100; i++)
        assert_int_equal(store_visit_day_add(f->st, "g1", today - 40, 1, &err), GS_OK);
    assert_int_equal(store_visit_day_add(f->st, "g2", today, 1, &err), GS_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(store_visit_day_add(f->st, "g2", today - 29, 1, &err), GS_OK);
    for (int i = 0; i < 7; i++)
        assert_int_equal(store_visit_day_add(f->st, "g2", today - 30, 1, &err), GS_OK);
    /* open care requests (info: 0 low, 1 normal, 2 urgent) at each bucket's edge; c7 is done
     * (no deadline) */
    watch_row(f, "care_overdue", "c1", "g1", now - 2 * HOUR, now + DAY, 2, -1);
    watch_row(f, "care_overdue", "c2", "g1", now - 2 * DAY, now + DAY, 1, -1);
    watch_row(f, "care_overdue", "c3", "g1", now - 5 * DAY, now + DAY, 0, -1);
    watch_row(f, "care_overdue", "c4", "g1", now - 10 * DAY, now - 3 * DAY, 0, 1);
    watch_row(f, "care_overdue", "c5", "g1", now - 1 * DAY, now + DAY, 1, -1);
    watch_row(f, "care_overdue", "c6", "g2", now - 3 * DAY, now + DAY, 2, -1);
    watch_row(f, "care_overdue", "c7", "g1", now - 3 * HOUR, 0, 1, -1);
    /* disputes: v1 (two days ago, follow-up open), v2 (three days, closed), v3 (forty days,
     * out of the default range), v4 (g2, twenty days: October) */
    assert_int_equal(store_dispute_add(f->st, "r2", now - 2 * DAY, "v1", "g1", &err), GS_OK);
    assert_int_equal(store_dispute_add(f->st, "r2", now - 3 * DAY, "v2", "g1", &err), GS_OK);
    assert_int_equal(store_dispute_add(f->st, "r3", now - 40 * DAY, "v3", "g1", &err), GS_OK);
    assert_int_equal(store_dispute_add(f->st, "r8", now - 20 * DAY, "v4", "g2", &err), GS_OK);
    watch_row(f, "dispute_open", "v1", "g1", now - 2 * DAY, now + 13 * DAY, 0, -1);
    /* open warnings: r2's and c4's (attention, g1) and a silent device's (notice, g2) */
    watch_row(f, "device_silent", "d-3", "g2", now - 5 * DAY, now - 2 * DAY, 0, 0);
    /* devices: d-1 synced an hour ago; d-2 (g1 and g2) four days ago; d-3 (g2) never, made
     * five days ago; d-4 revoked: silent are d-2 and d-3 */
    device(f, "d-1", "g1", NULL, now - 30 * DAY, now - HOUR, 0);
    device(f, "d-2", "g1", "g2", now - 30 * DAY, now - 4 * DAY, 0);
    device(f, "d-3", "g2", NULL, now - 5 * DAY, 0, 0);
    device(f, "d-4", "g2", NULL, now - 10 * DAY, 0, 1);
    txn(f, 0);
}

static void test_dashboard_town_figures(void **state)
{
    fx *f = *state;
    json_t *d, *g1, *g2;
    int64_t today = isotime_local_day(T0, ISOTIME_LOCAL_OFFSET_MIN);

    small_town(f);
    d = get(f, "/v1/admin/dashboard", NULL, 200);
    /* the range: 30 whole Beijing days, today the last */
    assert_int_equal(ival(d, "to_ms"), T0);
    assert_int_equal(ival(d, "from_ms"), (today - 29) * DAY - 8 * HOUR);
    assert_string_equal(sval(d, "from"), "2026-10-19T16:00:00Z");
    assert_true(json_is_null(json_object_get(d, "grid")));
    assert_int_equal(ival(d, "rules.unvisited_days_alone"), 7);
    /* residents by tag */
    assert_int_equal(ival(d, "residents.tagged"), 7);
    assert_int_equal(ival(d, "residents.by_tag.lives_alone"), 2);
    assert_int_equal(ival(d, "residents.by_tag.elderly"), 3);
    assert_int_equal(ival(d, "residents.by_tag.disabled"), 1);
    assert_int_equal(ival(d, "residents.by_tag.low_income"), 2);
    assert_int_equal(ival(d, "residents.by_tag.special_care"), 1);
    assert_int_equal(ival(d, "residents.by_tag.veteran"), 0);
    /* coverage: r1, r3, r8 of r1 r2 r3 r4 r7 r8 */
    assert_int_equal(ival(d, "coverage.vulnerable"), 6);
    assert_int_equal(ival(d, "coverage.visited"), 3);
    assert_true(fabs(rval(d, "coverage.ratio") - 0.5) < 1e-9);
    /* visits per day: 30 days, the first 4 (g2), yesterday 2, today 4; 10 in all */
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "visits"), "by_day")), 30);
    assert_string_equal(sval(d, "visits.by_day.0.day"), "2026-10-20");
    assert_int_equal(ival(d, "visits.by_day.0.n"), 4);
    assert_int_equal(ival(d, "visits.by_day.1.n"), 0);
    assert_int_equal(ival(d, "visits.by_day.28.n"), 2);
    assert_string_equal(sval(d, "visits.by_day.29.day"), "2026-11-18");
    assert_int_equal(ival(d, "visits.by_day.29.n"), 4);
    assert_int_equal(ival(d, "visits.total"), 10);
    /* open care requests by priority and age: a bound belongs to the older bucket */
    assert_int_equal(ival(d, "care_open.total"), 6);
    assert_int_equal(ival(d, "care_open.by_priority.urgent.total"), 2);
    assert_int_equal(ival(d, "care_open.by_priority.urgent.lt_1d"), 1);
    assert_int_equal(ival(d, "care_open.by_priority.urgent.d3_7"), 1);
    assert_int_equal(ival(d, "care_open.by_priority.normal.d1_3"), 2);
    assert_int_equal(ival(d, "care_open.by_priority.normal.lt_1d"), 0);
    assert_int_equal(ival(d, "care_open.by_priority.low.d3_7"), 1);
    assert_int_equal(ival(d, "care_open.by_priority.low.gt_7d"), 1);
    assert_int_equal(ival(d, "care_open.by_age.lt_1d"), 1);
    assert_int_equal(ival(d, "care_open.by_age.d1_3"), 2);
    assert_int_equal(ival(d, "care_open.by_age.d3_7"), 2);
    assert_int_equal(ival(d, "care_open.by_age.gt_7d"), 1);
    /* disputes: October 1 of 1 closed, November 1 of 2 */
    assert_int_equal(ival(d, "disputes.total"), 3);
    assert_int_equal(ival(d, "disputes.closed"), 2);
    assert_true(fabs(rval(d, "disputes.ratio") - 2.0 / 3) < 1e-9);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "disputes"), "by_month")),
                     2);
    assert_string_equal(sval(d, "disputes.by_month.0.month"), "2026-10");
    assert_int_equal(ival(d, "disputes.by_month.0.total"), 1);
    assert_int_equal(ival(d, "disputes.by_month.0.closed"), 1);
    assert_string_equal(sval(d, "disputes.by_month.1.month"), "2026-11");
    assert_int_equal(ival(d, "disputes.by_month.1.total"), 2);
    assert_int_equal(ival(d, "disputes.by_month.1.closed"), 1);
    /* open warnings by rule and level */
    assert_int_equal(ival(d, "warnings_open.total"), 3);
    assert_int_equal(ival(d, "warnings_open.by_rule.unvisited_vulnerable.attention"), 1);
    assert_int_equal(ival(d, "warnings_open.by_rule.care_overdue.attention"), 1);
    assert_int_equal(ival(d, "warnings_open.by_rule.device_silent.notice"), 1);
    assert_int_equal(ival(d, "warnings_open.by_rule.hazard_open.total"), 0);
    assert_int_equal(ival(d, "warnings_open.by_level.attention"), 2);
    assert_int_equal(ival(d, "warnings_open.by_level.urgent"), 0);
    /* silent devices */
    assert_int_equal(ival(d, "devices_silent.total"), 2);
    assert_string_equal(sval(d, "devices_silent.devices.0.id"), "d-2");
    assert_string_equal(sval(d, "devices_silent.devices.1.id"), "d-3");
    assert_true(json_is_null(json_object_get(
        json_array_get(json_object_get(json_object_get(d, "devices_silent"), "devices"), 1),
        "last_sync")));
    /* the breakdown: by name, adding up to the town */
    assert_int_equal(json_array_size(json_object_get(d, "grids")), 2);
    assert_string_equal(sval(d, "grids.0.grid"), "g1");
    g1 = grid_entry(d, "g1");
    g2 = grid_entry(d, "g2");
    assert_int_equal(ival(g1, "tagged"), 6);
    assert_int_equal(ival(g1, "vulnerable"), 5);
    assert_int_equal(ival(g1, "visited"), 2);
    assert_true(fabs(rval(g1, "coverage") - 0.4) < 1e-9);
    assert_int_equal(ival(g1, "visits"), 5);
    assert_int_equal(ival(g2, "visits"), 5);
    assert_int_equal(ival(g1, "care_open"), 5);
    assert_int_equal(ival(g2, "care_open"), 1);
    assert_int_equal(ival(g1, "disputes"), 2);
    assert_int_equal(ival(g1, "disputes_closed"), 1);
    assert_int_equal(ival(g2, "disputes_closed"), 1);
    assert_int_equal(ival(g1, "warnings_open"), 2);
    assert_int_equal(ival(g2, "warnings_open"), 1);
    assert_int_equal(ival(g1, "devices_silent"), 1);
    assert_int_equal(ival(g2, "devices_silent"), 2);
    json_decref(d);
}

static void test_dashboard_one_grid_and_range(void **state)
{
    fx *f = *state;
    char q[128];
    json_t *d;

    small_town(f);
    /* g2 alone */
    d = get(f, "/v1/admin/dashboard", "grid=g2", 200);
    assert_string_equal(sval(d, "grid"), "g2");
    assert_int_equal(json_array_size(json_object_get(d, "grids")), 1);
    assert_int_equal(ival(d, "residents.tagged"), 1);
    assert_int_equal(ival(d, "coverage.visited"), 1);
    assert_int_equal(ival(d, "visits.total"), 5);
    assert_int_equal(ival(d, "visits.by_day.0.n"), 4);
    assert_int_equal(ival(d, "care_open.by_priority.urgent.d3_7"), 1);
    assert_int_equal(ival(d, "disputes.total"), 1);
    assert_int_equal(ival(d, "warnings_open.total"), 1);
    assert_int_equal(ival(d, "devices_silent.total"), 2);
    json_decref(d);
    /* a grid nobody has: every figure 0, one entry */
    d = get(f, "/v1/admin/dashboard", "grid=%E5%9F%8E%E5%85%B3-9", 200);
    assert_string_equal(sval(d, "grid"), "城关-9");
    assert_int_equal(ival(d, "grids.0.visits"), 0);
    assert_true(json_is_null(json_object_get(json_object_get(d, "coverage"), "ratio")));
    json_decref(d);
    /* the last 46 days: the visits and the dispute of forty days ago come in */
    snprintf(q, sizeof(q), "from=%lld&to=%lld", (long long)(T0 - 45 * DAY), (long long)T0);
    d = get(f, "/v1/admin/dashboard", q, 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "visits"), "by_day")), 46);
    assert_int_equal(ival(d, "visits.total"), 117);
    assert_int_equal(ival(grid_entry(d, "g1"), "visits"), 105);
    assert_int_equal(ival(d, "disputes.total"), 4);
    assert_int_equal(ival(d, "disputes.by_month.0.total"), 2);
    assert_int_equal(ival(d, "disputes.by_month.0.closed"), 2);
    /* the figures as of now do not move with the range */
    assert_int_equal(ival(d, "care_open.total"), 6);
    json_decref(d);
    /* the last 3 days */
    d = get(f, "/v1/admin/dashboard", "days=3", 200);
    assert_int_equal(json_array_size(json_object_get(json_object_get(d, "visits"), "by_day")), 3);
    assert_int_equal(ival(d, "visits.total"), 6);
    json_decref(d);
    /* only `to`: the 30 days up to it */
    snprintf(q, sizeof(q), "to=%lld", (long long)(T0 - DAY));
    d = get(f, "/v1/admin/dashboard", q, 200);
    assert_int_equal(ival(d, "to_ms"), T0 - DAY);
    assert_string_equal(sval(d, "visits.by_day.29.day"), "2026-11-17");
    assert_int_equal(ival(d, "visits.by_day.29.n"), 2);
    json_decref(d);
}

static void test_dashboard_refuses_bad_queries(void **state)
{
    fx *f = *state;
    char q[128];
    json_t *j;

    expect_error(f, "GET", "/v1/admin/dashboard", "from=yesterday", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/dashboard", "from=-5", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/dashboard", "grid=", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/dashboard", "days=0", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/dashboard", "days=732", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/dashboard", "days=3&from=1", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/dashboard", "grid=%ZZ", NULL, 400, "invalid");
    snprintf(q, sizeof(q), "from=%lld&to=%lld", (long long)T0, (long long)(T0 - 1));
    expect_error(f, "GET", "/v1/admin/dashboard", q, NULL, 400, "invalid");
    snprintf(q, sizeof(q), "from=%lld&to=%lld", (long long)(T0 - 800 * DAY), (long long)T0);
    expect_error(f, "GET", "/v1/admin/dashboard", q, NULL, 400, "invalid");
    expect_error(f, "POST", "/v1/admin/dashboard", NULL, "{}", 405, "method");
    j = req(f, "GET", "/v1/admin/dashboard", NULL, NULL, "Bearer a-000000000000.nope", 401);
    assert_string_equal(sval(j, "error"), "auth");
    json_decref(j);
    /* an empty store: zeros, 30 days */
    j = get(f, "/v1/admin/dashboard", NULL, 200);
    assert_int_equal(ival(j, "visits.total"), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "visits"), "by_day")), 30);
    assert_int_equal(json_array_size(json_object_get(j, "grids")), 0);
    json_decref(j);
}

/* ---- warnings raised by the rules, from merged records ------------------------------------ */

static void add_sync_device(fx *f)
{
    gs_err err;

    memset(&f->dev, 0, sizeof(f->dev));
    snprintf(f->dev.id, sizeof(f->dev.id), "d-a");
    snprintf(f->dev.name, sizeof(f->dev.name), "张三的手机");
    snprintf(f->dev.grids[0], sizeof(f->dev.grids[0]), "g1");
    f->dev.n_grids = 1;
    f->dev.created_ms = f->now;
    txn(f, 1);
    assert_int_equal(store_device_add(f->st, &f->dev, &err), GS_OK);
    txn(f, 0);
    assert_int_equal(store_device_get(f->st, "d-a", 3, &f->dev, &err), GS_OK);
}

/* One change by device d-a, the rules watching (as a sync does). */
static void push(fx *f, const char *tbl, const uint8_t id[16], proto_field *fields, uint32_t n)
{
    proto_sync_req rq;
    proto_change c;
    proto_ack ack;
    merge_ctx m;
    warn_batch wb;
    gs_err err;

    memset(&c, 0, sizeof(c));
    c.table = proto_cstr(tbl);
    memcpy(c.id, id, 16);
    c.fields = fields;
    c.n_fields = n;
    c.seq = f->seq++;
    c.hlc = hlc_pack((uint64_t)f->now, 0);
    memset(&rq, 0, sizeof(rq));
    rq.version = 2;
    rq.device = proto_cstr(f->dev.id);
    rq.low = c.seq;
    rq.changes = &c;
    rq.n_changes = 1;
    merge_init(&m, f->st, &f->clock, &f->arena, f->now);
    warn_init(&wb, &f->cfg.rules, f->st, &f->clock, &f->arena, f->now);
    m.warn = &wb;
    txn(f, 1);
    if (merge_batch(&m, &f->dev, &rq, &ack, &err) || warn_settle(&wb, &err))
        fail_msg("push: %s", err.msg);
    if (!ack.ok)
        fail_msg("push rejected: %.*s", (int)ack.msg.len, ack.msg.ptr);
    txn(f, 0);
}

static void sweep(fx *f)
{
    warn_batch wb;
    uint32_t n;
    gs_err err;

    warn_init(&wb, &f->cfg.rules, f->st, &f->clock, &f->arena, f->now);
    txn(f, 1);
    if (warn_sweep(&wb, 1000, &n, &err))
        fail_msg("sweep: %s", err.msg);
    txn(f, 0);
}

static void resident(fx *f, uint8_t id[16], const char *name, const char *tag)
{
    proto_str t[1] = {proto_cstr(tag)};
    proto_field fs[4] = {tv_field("name", tv_str(name), 0), tv_field("grid", tv_str("g1"), 0),
                         tv_field("phone", tv_str("13800000000"), 0),
                         tv_field("tags", tv_tags(t, 1), 0)};
    assert_int_equal(uuid_v7(id, (uint64_t)f->now), GS_OK);
    push(f, "resident", id, fs, tag ? 4 : 3);
}

static void visit(fx *f, uint8_t id[16], const uint8_t rid[16], const char *kind)
{
    proto_field fs[5] = {tv_field("resident", tv_ref(rid), 0), tv_field("grid", tv_str("g1"), 0),
                         tv_field("worker", tv_str("张三"), 0),
                         tv_field("visited_at", tv_int(f->now), 0),
                         tv_field("kind", tv_str(kind), 0)};
    assert_int_equal(uuid_v7(id, (uint64_t)f->now), GS_OK);
    push(f, "visit", id, fs, 5);
}

static void care(fx *f, uint8_t id[16], const uint8_t rid[16], const char *priority)
{
    proto_field fs[6] = {
        tv_field("resident", tv_ref(rid), 0),    tv_field("grid", tv_str("g1"), 0),
        tv_field("category", tv_str("meal"), 0), tv_field("priority", tv_str(priority), 0),
        tv_field("status", tv_str("open"), 0),   tv_field("requested_at", tv_int(f->now), 0)};
    assert_int_equal(uuid_v7(id, (uint64_t)f->now), GS_OK);
    push(f, "care", id, fs, 6);
}

/* Three residents living alone, 王 at T0, 李 and 赵 a day later, and an urgent care request
 * of 赵's; at T0 + 9 d the sweep has opened four warnings: the care request's (urgent, due
 * after 24 h) and the three residents' (attention, due after 7 days). */
typedef struct town2 {
    uint8_t wang[16], li[16], zhao[16], care[16];
} town2;

static void warned_town(fx *f, town2 *t)
{
    snprintf(f->cfg.rules.disabled, sizeof(f->cfg.rules.disabled), "device_silent");
    add_sync_device(f);
    resident(f, t->wang, "王秀英", "lives_alone");
    f->now += DAY;
    resident(f, t->li, "李大爷", "lives_alone");
    resident(f, t->zhao, "赵六", "lives_alone");
    care(f, t->care, t->zhao, "urgent");
    f->now = T0 + 9 * DAY;
    sweep(f);
}

static int is_id(json_t *w, const uint8_t id[16])
{
    char text[UUID_TEXT_LEN + 1];
    uuid_format(id, text);
    return strcmp(sval(w, "id"), text) == 0;
}

static int is_subject(json_t *w, const uint8_t id[16])
{
    char text[UUID_TEXT_LEN + 1];
    uuid_format(id, text);
    return strcmp(sval(w, "subject"), text) == 0;
}

static void test_warnings_listed_in_order_with_context(void **state)
{
    fx *f = *state;
    town2 t;
    json_t *l, *w, *d;

    warned_town(f, &t);
    l = get(f, "/v1/admin/warnings", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 4);
    assert_true(json_is_null(json_object_get(l, "next_after")));
    /* urgent first, then attention by since: 王 (T0), then 李 and 赵 (T0 + 1 d) by id */
    w = json_array_get(json_object_get(l, "warnings"), 0);
    assert_string_equal(sval(w, "rule"), "care_overdue");
    assert_string_equal(sval(w, "level"), "urgent");
    assert_string_equal(sval(w, "labels.level.zh"), "紧急");
    assert_string_equal(sval(w, "state"), "open");
    assert_string_equal(sval(w, "resident.name"), "赵六");
    assert_string_equal(sval(w, "resident.phone"), "13800000000");
    assert_true(json_is_null(json_object_get(json_object_get(w, "resident"), "last_visit")));
    assert_true(json_is_null(json_object_get(w, "device")));
    assert_true(json_is_null(json_object_get(w, "note")));
    assert_true(is_subject(w, t.care));
    w = json_array_get(json_object_get(l, "warnings"), 1);
    assert_string_equal(sval(w, "rule"), "unvisited_vulnerable");
    assert_string_equal(sval(w, "title"), "独居老人王秀英已9天未走访");
    assert_string_equal(sval(w, "since"), "2026-11-18T11:06:40Z");
    assert_string_equal(sval(w, "resident.name"), "王秀英");
    assert_string_equal(sval(w, "labels.rule.zh"), "重点人员未走访");
    assert_string_equal(sval(w, "grid"), "g1");
    assert_true(json_is_null(json_object_get(json_object_get(w, "resident"), "last_visit")));
    {
        json_t *a = json_array_get(json_object_get(l, "warnings"), 2);
        json_t *b = json_array_get(json_object_get(l, "warnings"), 3);
        assert_true(strcmp(sval(a, "id"), sval(b, "id")) < 0);
    }
    /* the dashboard counts the same open warnings */
    d = get(f, "/v1/admin/dashboard", NULL, 200);
    assert_int_equal(ival(d, "warnings_open.total"), 4);
    assert_int_equal(ival(d, "warnings_open.by_rule.unvisited_vulnerable.attention"), 3);
    assert_int_equal(ival(d, "warnings_open.by_rule.care_overdue.urgent"), 1);
    json_decref(d);
    /* a visit clears 王's warning; the cleared one names the visit as her last */
    json_decref(l);
    {
        uint8_t v[16];
        f->now = T0 + 9 * DAY + HOUR;
        visit(f, v, t.wang, "routine");
        l = get(f, "/v1/admin/warnings", "state=cleared", 200);
        assert_int_equal(json_array_size(json_object_get(l, "warnings")), 1);
        w = json_array_get(json_object_get(l, "warnings"), 0);
        assert_true(is_subject(w, t.wang));
        assert_string_equal(sval(w, "resident.last_visit"), "2026-11-27T12:06:40Z");
        json_decref(l);
    }
    /* a visit dated before its resident was recorded is still her last visit */
    {
        uint8_t sun[16], c2[16], v[16];
        size_t k;
        f->now = T0 + 10 * DAY;
        resident(f, sun, "孙桂芝", NULL);
        care(f, c2, sun, "urgent");
        f->now = T0 + 10 * DAY - 3 * HOUR;
        visit(f, v, sun, "routine");
        f->now = T0 + 12 * DAY;
        sweep(f);
        l = get(f, "/v1/admin/warnings", NULL, 200);
        for (k = 0; k < json_array_size(json_object_get(l, "warnings")); k++)
            if (is_subject(json_array_get(json_object_get(l, "warnings"), k), c2))
                break;
        assert_true(k < json_array_size(json_object_get(l, "warnings")));
        w = json_array_get(json_object_get(l, "warnings"), k);
        assert_string_equal(sval(w, "resident.name"), "孙桂芝");
        assert_string_equal(sval(w, "resident.last_visit"), "2026-11-28T08:06:40Z");
        json_decref(l);
    }
    /* another grid: none */
    l = get(f, "/v1/admin/warnings", "grid=g2", 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 0);
    json_decref(l);
}

static void test_warning_ack_as_admin_and_cleared_refused(void **state)
{
    fx *f = *state;
    town2 t;
    json_t *l, *w;
    char path[128], id[UUID_TEXT_LEN + 1], wang_warning[UUID_TEXT_LEN + 1];
    store_field sf;
    uint8_t wid[16], vid[16];
    gs_err err;

    warned_town(f, &t);
    l = get(f, "/v1/admin/warnings", NULL, 200);
    snprintf(wang_warning, sizeof(wang_warning), "%s",
             sval(json_array_get(json_object_get(l, "warnings"), 1), "id"));
    snprintf(id, sizeof(id), "%s", sval(json_array_get(json_object_get(l, "warnings"), 0), "id"));
    json_decref(l);
    /* acknowledge the urgent one with a note */
    f->now += HOUR;
    snprintf(path, sizeof(path), "/v1/admin/warnings/%s/ack", id);
    w = req(f, "POST", path, NULL, "{\"note\":\"已电话联系家属\"}", NULL, 200);
    assert_string_equal(sval(w, "state"), "acknowledged");
    assert_string_equal(sval(w, "note"), "已电话联系家属");
    assert_string_equal(sval(w, "ack_by"), f->admin_id);
    assert_string_equal(sval(w, "ack_at"), "2026-11-27T12:06:40Z");
    json_decref(w);
    /* written as the admin, so the grid's devices pull it */
    assert_int_equal(uuid_parse(id, strlen(id), wid), GS_OK);
    assert_int_equal(store_field_get(f->st, "warning", wid, "state", &f->arena, &sf, &err), GS_OK);
    assert_string_equal(sf.device, "admin");
    /* again, without a note: the note stays */
    w = req(f, "POST", path, NULL, NULL, NULL, 200);
    assert_string_equal(sval(w, "note"), "已电话联系家属");
    json_decref(w);
    /* the list: acknowledged after the open ones; state=open leaves it out */
    l = get(f, "/v1/admin/warnings", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 4);
    assert_string_equal(sval(json_array_get(json_object_get(l, "warnings"), 3), "id"), id);
    json_decref(l);
    l = get(f, "/v1/admin/warnings", "state=open", 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 3);
    json_decref(l);
    l = get(f, "/v1/admin/warnings", "state=acknowledged", 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 1);
    json_decref(l);
    /* a visit clears 王's: listed with state=cleared, and its ack is refused */
    visit(f, vid, t.wang, "elderly_checkin");
    l = get(f, "/v1/admin/warnings", "state=cleared", 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 1);
    w = json_array_get(json_object_get(l, "warnings"), 0);
    assert_string_equal(sval(w, "id"), wang_warning);
    assert_string_equal(sval(w, "state"), "cleared");
    json_decref(l);
    snprintf(path, sizeof(path), "/v1/admin/warnings/%s/ack", wang_warning);
    expect_error(f, "POST", path, NULL, "{\"note\":\"x\"}", 409, "state");
    l = get(f, "/v1/admin/warnings", "state=all", 200);
    assert_int_equal(json_array_size(json_object_get(l, "warnings")), 4);
    assert_string_equal(sval(json_array_get(json_object_get(l, "warnings"), 3), "state"),
                        "cleared");
    json_decref(l);
    /* refusals */
    expect_error(f, "POST", "/v1/admin/warnings/not-an-id/ack", NULL, "{}", 404, "not_found");
    expect_error(f, "POST", "/v1/admin/warnings/0190f5a4-7b3c-7def-8a12-3456789abcde/ack", NULL,
                 "{}", 404, "not_found");
    snprintf(path, sizeof(path), "/v1/admin/warnings/%s/ack", id);
    expect_error(f, "POST", path, NULL, "{\"note\":1}", 400, "wrong_type");
    expect_error(f, "POST", path, NULL, "{\"notes\":\"x\"}", 400, "unknown_field");
    expect_error(f, "POST", path, NULL, "[1]", 400, "wrong_type");
    expect_error(f, "GET", path, NULL, NULL, 405, "method");
    {
        /* a note over the schema's 4000 bytes */
        char body[4100];
        memset(body, 'x', sizeof(body));
        memcpy(body, "{\"note\":\"", 9);
        memcpy(body + sizeof(body) - 3, "\"}", 3);
        expect_error(f, "POST", path, NULL, body, 400, "invalid");
    }
    expect_error(f, "GET", "/v1/admin/warnings", "state=opened", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/warnings", "limit=0", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/warnings", "after=xyz", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/warnings", "after=0190f5a4-7b3c-7def-8a12-3456789abcde", NULL,
                 400, "invalid");
}

static void test_warnings_paged_like_one_list(void **state)
{
    fx *f = *state;
    town2 t;
    json_t *all, *page;
    char q[128], after[UUID_TEXT_LEN + 1] = "";
    uint8_t vid[16];
    size_t n = 0;

    warned_town(f, &t);
    visit(f, vid, t.wang, "routine");
    f->now += 8 * DAY;
    sweep(f); /* 王 again: one cleared, four open */
    all = get(f, "/v1/admin/warnings", "state=all", 200);
    assert_int_equal(json_array_size(json_object_get(all, "warnings")), 5);
    for (int guard = 0; guard < 10; guard++) {
        const char *next;
        snprintf(q, sizeof(q), "state=all&limit=2%s%s", after[0] ? "&after=" : "", after);
        page = get(f, "/v1/admin/warnings", q, 200);
        for (size_t i = 0; i < json_array_size(json_object_get(page, "warnings")); i++, n++)
            assert_string_equal(sval(json_array_get(json_object_get(page, "warnings"), i), "id"),
                                sval(json_array_get(json_object_get(all, "warnings"), n), "id"));
        next = json_string_value(json_object_get(page, "next_after"));
        if (!next) {
            json_decref(page);
            break;
        }
        snprintf(after, sizeof(after), "%s", next);
        json_decref(page);
    }
    assert_int_equal(n, 5);
    json_decref(all);
}

/* ---- records ---------------------------------------------------------------------------- */

static void test_records_paged_in_creation_order(void **state)
{
    fx *f = *state;
    uint8_t r1[16], r2[16], v[5][16];
    json_t *p, *rec;
    char q[256];

    add_sync_device(f);
    resident(f, r1, "王秀英", "elderly");
    for (int i = 0; i < 5; i++) {
        f->now = T0 + i * DAY;
        visit(f, v[i], r1, i == 2 ? "dispute" : "routine");
    }
    f->now = T0 + 6 * DAY;
    resident(f, r2, "李大爷", NULL);
    p = get(f, "/v1/admin/records", "type=visit", 200);
    assert_string_equal(sval(p, "type"), "visit");
    assert_int_equal(json_array_size(json_object_get(p, "records")), 5);
    assert_true(json_is_null(json_object_get(p, "next_after")));
    rec = json_array_get(json_object_get(p, "records"), 2);
    assert_true(is_id(rec, v[2]));
    assert_string_equal(sval(rec, "grid"), "g1");
    assert_int_equal(ival(rec, "created_ms"), T0 + 2 * DAY);
    assert_string_equal(sval(rec, "fields.kind"), "dispute");
    assert_string_equal(sval(rec, "fields.worker"), "张三");
    assert_string_equal(sval(rec, "ref_titles.resident"), "王秀英");
    assert_string_equal(sval(rec, "fields.visited_at"), "2026-11-20T11:06:40Z");
    assert_true(json_is_null(json_object_get(json_object_get(rec, "fields"), "notes")));
    assert_non_null(json_object_get(json_object_get(rec, "fields"), "lon"));
    json_decref(p);
    /* created on days 1..3 only, two a page */
    snprintf(q, sizeof(q), "type=visit&from=%lld&to=%lld&limit=2", (long long)(T0 + DAY),
             (long long)(T0 + 3 * DAY));
    p = get(f, "/v1/admin/records", q, 200);
    assert_int_equal(json_array_size(json_object_get(p, "records")), 2);
    assert_true(is_id(json_array_get(json_object_get(p, "records"), 0), v[1]));
    assert_true(is_id(json_array_get(json_object_get(p, "records"), 1), v[2]));
    snprintf(q, sizeof(q), "type=visit&from=%lld&to=%lld&limit=2&after=%s", (long long)(T0 + DAY),
             (long long)(T0 + 3 * DAY), sval(p, "next_after"));
    json_decref(p);
    p = get(f, "/v1/admin/records", q, 200);
    assert_int_equal(json_array_size(json_object_get(p, "records")), 1);
    assert_true(is_id(json_array_get(json_object_get(p, "records"), 0), v[3]));
    assert_true(json_is_null(json_object_get(p, "next_after")));
    json_decref(p);
    /* residents: both, the tags as a list */
    p = get(f, "/v1/admin/records", "type=resident", 200);
    assert_int_equal(json_array_size(json_object_get(p, "records")), 2);
    assert_string_equal(sval(p, "records.0.fields.tags.0"), "elderly");
    assert_true(json_is_null(json_object_get(
        json_object_get(json_array_get(json_object_get(p, "records"), 1), "fields"), "tags")));
    json_decref(p);
    /* refusals */
    expect_error(f, "GET", "/v1/admin/records", NULL, NULL, 400, "missing_field");
    expect_error(f, "GET", "/v1/admin/records", "type=visits", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/records", "type=visit&limit=5001", NULL, 400, "invalid");
    expect_error(f, "GET", "/v1/admin/records", "type=visit&from=5&to=4", NULL, 400, "invalid");
    snprintf(q, sizeof(q), "type=care&after=%s", "0190f5a4-7b3c-7def-8a12-3456789abcde");
    expect_error(f, "GET", "/v1/admin/records", q, NULL, 400, "invalid");
    expect_error(f, "POST", "/v1/admin/records", "type=visit", "{}", 405, "method");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dashboard_town_figures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_one_grid_and_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dashboard_refuses_bad_queries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warnings_listed_in_order_with_context, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_warning_ack_as_admin_and_cleared_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_warnings_paged_like_one_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_paged_in_creation_order, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
