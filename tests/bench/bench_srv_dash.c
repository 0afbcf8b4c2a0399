/*
 * bench_srv_dash.c: issue 15 "Scale and speed": the dashboard request for a county-sized
 * town, the whole town and one grid (target <= 200 ms each), and the export's reads of one
 * month of visits, through app_handle (authentication, routing, the store's reads, the
 * JSON) on a store file of the real schema.
 *
 * The data are written straight into the store file's tables, as the warning rules leave
 * them after a year of syncs: 400 grids; 200,000 residents (one unvisited_vulnerable watch
 * row each, about 35% tagged, their last visits spread over 40 days, 4% of the overdue with
 * an open warning); 2,000,000 visits over 365 days as visit_days rows (146,000 of them),
 * 5% of them disputes (100,000 dispute_visits rows, a fifth with an open follow-up, most
 * of those overdue with a warning); 50,000 open care requests of the last 14 days
 * (care_overdue rows, a third of the overdue with a warning); 800 devices, 5% silent. Records rows are written for the export's month only: the 200,000 residents and
 * the ~166,000 visits of the last 30 days (the export reads pages of those by index; the
 * year's other visits would sit beside them in the table and change nothing of a page).
 *
 * Prints one JSON line per figure: the median of ROUNDS requests (and the slowest), the
 * target, and the answer's size. The store is left as it is made (no ANALYZE): SQLite
 * plans as it would on a town's server.
 */
#define _GNU_SOURCE
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/hlc.h"
#include "common/isotime.h"
#include "common/log.h"
#include "common/rc.h"
#include "common/uuid.h"
#include "proto/proto.h"
#include "server/app.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/rules.h"
#include "server/sval.h"
#include "tests/lib/tbench.h"

#define N_GRIDS 400
#define N_RESIDENTS 200000
#define N_VISITS 2000000
#define N_DAYS 365
#define N_CARE 50000
#define N_DEVICES 800
#define ROUNDS 7
#define TARGET_MS 200.0
#define DAY_MS INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_srv_dash: %s: %s\n", what, msg);
    exit(1);
}

static void grid_name(int g, char *out, size_t cap)
{
    snprintf(out, cap, "西华-%03d", g);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg ? msg : "?");
}

static sqlite3_stmt *prep(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    return st;
}

static void step_reset(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die("insert", sqlite3_errmsg(db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* ---- the town ----------------------------------------------------------------------------- */

typedef struct town {
    sqlite3 *db;
    int64_t now;
    uint64_t seed;
    rules_config rules;
    sqlite3_stmt *watch, *rec;
    gs_buf blob;
    uint8_t (*residents)[16]; /* ids, for the visits' references */
    int *resident_grid;
} town;

static void watch_row(town *t, const char *rule, const char *subject, const char *grid,
                      int64_t since, int64_t deadline, int64_t info, int warning, int level)
{
    sqlite3_stmt *st = t->watch;
    uint8_t wid[16];

    sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, grid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, since);
    if (deadline)
        sqlite3_bind_int64(st, 5, deadline);
    if (deadline && deadline > t->now)
        sqlite3_bind_int64(st, 6, deadline);
    sqlite3_bind_int64(st, 7, info);
    if (warning) {
        tbench_uuid7(wid, (uint64_t)t->now, &t->seed);
        sqlite3_bind_blob(st, 8, wid, 16, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int(st, 9, level);
    step_reset(t->db, st);
}

/* A record row with fields f[0..n) written by device 1 at version 1. */
static void record_row(town *t, const char *tbl, const uint8_t id[16], const char *grid,
                       int64_t created, sval_rec_field *f, uint32_t n)
{
    sqlite3_stmt *st = t->rec;
    uint64_t clock = hlc_pack((uint64_t)created, 0);

    for (uint32_t i = 0; i < n; i++) {
        f[i].version = 1;
        f[i].hlc = clock;
        f[i].writer = 1;
    }
    buf_reset(&t->blob);
    if (sval_rec_encode(&t->blob, f, n))
        die("encode", tbl);
    sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, id, 16, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, grid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)clock);
    sqlite3_bind_blob(st, 5, t->blob.ptr, (int)t->blob.len, SQLITE_TRANSIENT);
    step_reset(t->db, st);
}

static proto_value str(const char *s)
{
    proto_value v = {.type = PV_STR};
    v.u.s = proto_cstr(s);
    return v;
}

static void residents(town *t)
{
    static const char *const tag_names[] = {"lives_alone", "elderly",  "disabled",
                                            "low_income",  "veteran",  "special_care"};
    static const char *const surnames[] = {"王", "李", "张", "刘", "陈", "杨", "赵", "黄"};
    char subject[UUID_TEXT_LEN + 1], grid[32], name[32];
    proto_str tags[2];

    for (int i = 0; i < N_RESIDENTS; i++) {
        int g = i % N_GRIDS, n_tags = 0;
        uint64_t r = tbench_rng(&t->seed);
        int64_t since = t->now - (int64_t)(r % (40 * DAY_MS));
        unsigned mask = 0;
        sval_rec_field f[4];
        rule_window w;
        int64_t deadline;

        if (r % 100 < 35) /* a third or so tagged, some twice */
            tags[n_tags++] = proto_cstr(tag_names[(r >> 8) % 6]);
        if (r % 100 < 8)
            tags[n_tags++] = proto_cstr(tag_names[(r >> 16) % 6]);
        if (n_tags == 2 && proto_str_eq(tags[0], tags[1].ptr))
            n_tags = 1;
        for (int k = 0; k < n_tags; k++)
            mask |= rules_tag_bit(tags[k].ptr);
        w = rules_unvisited_window(mask);
        deadline = w != RULE_WINDOW_NONE ? since + rules_window_ms(&t->rules, w) : 0;
        tbench_uuid7(t->residents[i], (uint64_t)(t->now - 400 * DAY_MS), &t->seed);
        t->resident_grid[i] = g;
        uuid_format(t->residents[i], subject);
        grid_name(g, grid, sizeof(grid));
        watch_row(t, "unvisited_vulnerable", subject, grid, since, deadline, mask,
                  deadline && deadline <= t->now && r % 25 == 0, 1);
        snprintf(name, sizeof(name), "%s%d", surnames[(r >> 24) % 8], i);
        memset(f, 0, sizeof(f));
        f[0].name = "name";
        f[0].value = str(name);
        f[1].name = "grid";
        f[1].value = str(grid);
        f[2].name = "phone";
        f[2].value = str("13800000000");
        f[3].name = "tags";
        f[3].value.type = PV_STRLIST;
        f[3].value.u.list.items = tags;
        f[3].value.u.list.n = (uint32_t)n_tags;
        record_row(t, "resident", t->residents[i], grid, t->now - 400 * DAY_MS, f,
                   n_tags ? 4 : 3);
    }
}

/* Visits per grid and day summing to N_VISITS; the last 30 days' visits as records too;
 * 5% of all are disputes. */
static void visits(town *t, int64_t *n_month)
{
    static const char *const kinds[] = {"routine", "routine", "elderly_checkin", "service"};
    sqlite3_stmt *vd = prep(t->db, "INSERT INTO visit_days (grid, day, n) VALUES (?1, ?2, ?3)");
    sqlite3_stmt *dv = prep(t->db, "INSERT OR IGNORE INTO dispute_visits (resident, at, visit, "
                                   "grid) VALUES (?1, ?2, ?3, ?4)");
    int64_t today = isotime_local_day(t->now, ISOTIME_LOCAL_OFFSET_MIN), left = N_VISITS;
    char grid[32], rtext[UUID_TEXT_LEN + 1], vtext[UUID_TEXT_LEN + 1];
    int cells = N_GRIDS * N_DAYS;

    *n_month = 0;
    for (int d = 0; d < N_DAYS; d++) {
        int64_t day = today - (N_DAYS - 1) + d;
        for (int g = 0; g < N_GRIDS; g++, cells--) {
            /* an even share of what is left, +-50%, so the total is exact */
            int64_t share = left / cells, n = cells == 1 ? left : share / 2 +
                                                                 (int64_t)(tbench_rng(&t->seed) %
                                                                           (uint64_t)(share + 1));
            grid_name(g, grid, sizeof(grid));
            if (n > left)
                n = left;
            left -= n;
            sqlite3_bind_text(vd, 1, grid, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(vd, 2, day);
            sqlite3_bind_int64(vd, 3, n);
            step_reset(t->db, vd);
            for (int64_t k = 0; k < n; k++) {
                uint64_t r = tbench_rng(&t->seed);
                int res = (int)((r >> 20) % (N_RESIDENTS / N_GRIDS)) * N_GRIDS + g;
                int64_t at = isotime_local_midnight(day, ISOTIME_LOCAL_OFFSET_MIN) +
                             8 * HOUR_MS + (int64_t)(r % (10 * HOUR_MS));
                int dispute = r % 20 == 0, month = d >= N_DAYS - 30;
                uint8_t vid[16];
                if (!dispute && !month)
                    continue;
                tbench_uuid7(vid, (uint64_t)at, &t->seed);
                uuid_format(vid, vtext);
                uuid_format(t->residents[res], rtext);
                if (dispute) {
                    sqlite3_bind_text(dv, 1, rtext, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_int64(dv, 2, at);
                    sqlite3_bind_text(dv, 3, vtext, -1, SQLITE_TRANSIENT);
                    sqlite3_bind_text(dv, 4, grid, -1, SQLITE_TRANSIENT);
                    step_reset(t->db, dv);
                    if ((r >> 30) % 5 == 0) /* a fifth still open */
                        watch_row(t, "dispute_open", vtext, grid, at, at + 15 * DAY_MS, 0,
                                  at + 15 * DAY_MS <= t->now, 1);
                }
                if (month) {
                    sval_rec_field f[6];
                    memset(f, 0, sizeof(f));
                    f[0].name = "resident";
                    f[0].value.type = PV_BIN;
                    f[0].value.u.s.ptr = (const char *)t->residents[res];
                    f[0].value.u.s.len = 16;
                    f[1].name = "grid";
                    f[1].value = str(grid);
                    f[2].name = "worker";
                    f[2].value = str("张伟");
                    f[3].name = "visited_at";
                    f[3].value.type = PV_INT;
                    f[3].value.u.i = at;
                    f[4].name = "kind";
                    f[4].value = str(dispute ? "dispute" : kinds[(r >> 40) % 4]);
                    f[5].name = "notes";
                    f[5].value = str("老人身体状况良好，已提醒按时服药");
                    record_row(t, "visit", vid, grid, at, f, 6);
                    (*n_month)++;
                }
            }
        }
    }
    sqlite3_finalize(vd);
    sqlite3_finalize(dv);
}

static void care_and_devices(town *t)
{
    sqlite3_stmt *dev = prep(t->db, "INSERT INTO devices (id, name, token_hash, created, "
                                    "last_sync) VALUES (?1, ?2, zeroblob(32), ?3, ?4)");
    sqlite3_stmt *dg = prep(t->db, "INSERT INTO device_grids (device, grid) VALUES (?1, ?2)");
    char subject[UUID_TEXT_LEN + 1], grid[32], id[32], name[32];
    static const int64_t hours[3] = {168, 72, 24};

    for (int i = 0; i < N_CARE; i++) {
        uint64_t r = tbench_rng(&t->seed);
        int prio = (int)(r % 3);
        int64_t since = t->now - (int64_t)((r >> 8) % (14 * DAY_MS));
        int64_t deadline = since + hours[prio] * HOUR_MS;
        uint8_t cid[16];
        tbench_uuid7(cid, (uint64_t)since, &t->seed);
        uuid_format(cid, subject);
        grid_name((int)((r >> 32) % N_GRIDS), grid, sizeof(grid));
        watch_row(t, "care_overdue", subject, grid, since, deadline, prio,
                  deadline <= t->now && (r >> 40) % 3 == 0, prio == 2 ? 2 : 1);
    }
    for (int i = 0; i < N_DEVICES; i++) {
        uint64_t r = tbench_rng(&t->seed);
        int64_t last = t->now - (int64_t)(r % 20 == 0 ? 5 * DAY_MS : (r >> 8) % (12 * HOUR_MS));
        snprintf(id, sizeof(id), "d-%012d", i);
        snprintf(name, sizeof(name), "网格员%d", i);
        grid_name(i % N_GRIDS, grid, sizeof(grid));
        sqlite3_bind_text(dev, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(dev, 2, name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(dev, 3, t->now - 300 * DAY_MS);
        sqlite3_bind_int64(dev, 4, last);
        step_reset(t->db, dev);
        sqlite3_bind_text(dg, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(dg, 2, grid, -1, SQLITE_TRANSIENT);
        step_reset(t->db, dg);
        if (r % 20 == 0)
            watch_row(t, "device_silent", id, grid, last, last + 3 * DAY_MS, 0, 1, 0);
    }
    sqlite3_finalize(dev);
    sqlite3_finalize(dg);
}

static double build_town(const char *path, int64_t now, int64_t *n_month)
{
    town t;
    double t0 = tbench_now_s();

    memset(&t, 0, sizeof(t));
    t.now = now;
    t.seed = UINT64_C(20261203);
    rules_defaults(&t.rules);
    t.residents = calloc(N_RESIDENTS, sizeof(*t.residents));
    t.resident_grid = calloc(N_RESIDENTS, sizeof(*t.resident_grid));
    if (!t.residents || !t.resident_grid)
        die("town", "no memory");
    buf_init(&t.blob, 1u << 20);
    if (sqlite3_open(path, &t.db) != SQLITE_OK)
        die("open", path);
    exec(t.db, "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; BEGIN");
    t.watch = prep(t.db, "INSERT OR REPLACE INTO watch (rule, subject, grid, ref, since, "
                         "deadline, due, info, warning, level) VALUES (?1, ?2, ?3, NULL, ?4, "
                         "?5, ?6, ?7, ?8, ?9)");
    t.rec = prep(t.db, "INSERT INTO records (tbl, id, grid, deleted, created_hlc, updated_hlc, "
                       "version, fields) VALUES (?1, ?2, ?3, 0, ?4, ?4, 1, ?5)");
    residents(&t);
    visits(&t, n_month);
    care_and_devices(&t);
    sqlite3_finalize(t.watch);
    sqlite3_finalize(t.rec);
    exec(t.db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
    sqlite3_close(t.db);
    buf_free(&t.blob);
    free(t.residents);
    free(t.resident_grid);
    return tbench_now_s() - t0;
}

/* ---- the requests ---------------------------------------------------------------------- */

static srv_slice sl(const char *s)
{
    srv_slice x = {s, s ? strlen(s) : 0};
    return x;
}

/* One GET through app_handle; its status, time and answer size. */
static int get(srv_app *app, const char *auth, const char *path, const char *query, double *ms,
               size_t *bytes, gs_buf *keep)
{
    srv_request rq;
    srv_response resp;
    double t0;
    int status;

    memset(&rq, 0, sizeof(rq));
    memset(&resp, 0, sizeof(resp));
    rq.method = sl("GET");
    rq.path = sl(path);
    rq.query = sl(query);
    rq.authorization = sl(auth);
    rq.peer = "127.0.0.1:1";
    buf_init(&resp.body, 64u << 20);
    t0 = tbench_now_s();
    app_handle(app, &rq, &resp);
    *ms = (tbench_now_s() - t0) * 1000.0;
    *bytes = resp.body.len;
    status = resp.status;
    if (status != 200)
        fprintf(stderr, "bench_srv_dash: %s?%s: %d %.*s\n", path, query, status,
                (int)(resp.body.len > 300 ? 300 : resp.body.len), resp.body.ptr);
    if (keep) {
        buf_reset(keep);
        buf_add(keep, resp.body.ptr, resp.body.len);
    }
    buf_free(&resp.body);
    return status;
}

/* The median and the slowest of ROUNDS requests (queries[i % n_queries]). */
static int timed(srv_app *app, const char *auth, const char *figure, const char *path,
                 const char *const *queries, int n_queries)
{
    double ms[ROUNDS];
    size_t bytes = 0;
    int bad = 0;

    for (int i = 0; i < ROUNDS; i++)
        bad |= get(app, auth, path, queries[i % n_queries], &ms[i], &bytes, NULL) != 200;
    qsort(ms, ROUNDS, sizeof(ms[0]), tbench_cmp_double);
    printf("{\"bench\":\"srv_dash\",\"figure\":\"%s\",\"rounds\":%d,\"median_ms\":%.1f,"
           "\"max_ms\":%.1f,\"target_ms\":%.0f,\"met\":%s,\"answer_bytes\":%zu,\"ok\":%s}\n",
           figure, ROUNDS, ms[ROUNDS / 2], ms[ROUNDS - 1], TARGET_MS,
           ms[ROUNDS / 2] <= TARGET_MS ? "true" : "false", bytes, bad ? "false" : "true");
    fflush(stdout);
    return bad;
}

/* The "next_after" of a records page, or "" at the end. */
static void next_after(const gs_buf *b, char *out, size_t cap)
{
    const char *key = "\"next_after\":\"", *p = memmem(b->ptr, b->len, key, strlen(key));
    out[0] = '\0';
    if (p && (size_t)(b->ptr + b->len - p) > strlen(key) + UUID_TEXT_LEN)
        snprintf(out, cap, "%.*s", UUID_TEXT_LEN, p + strlen(key));
}

/* Every page of the month's visits, as gridsync-admin export reads them. */
static int export_month(srv_app *app, const char *auth, int64_t now, int64_t n_month)
{
    int64_t today = isotime_local_day(now, ISOTIME_LOCAL_OFFSET_MIN);
    int64_t from = isotime_local_midnight(today - 29, ISOTIME_LOCAL_OFFSET_MIN);
    char query[256], after[UUID_TEXT_LEN + 1] = "";
    gs_buf page;
    double total = 0, ms, t0 = tbench_now_s();
    size_t bytes, all_bytes = 0;
    int pages = 0, bad = 0;

    buf_init(&page, 64u << 20);
    do {
        snprintf(query, sizeof(query), "type=visit&from=%lld&to=%lld&limit=1000%s%s",
                 (long long)from, (long long)now, after[0] ? "&after=" : "", after);
        bad |= get(app, auth, "/v1/admin/records", query, &ms, &bytes, &page) != 200;
        total += ms;
        all_bytes += bytes;
        pages++;
        next_after(&page, after, sizeof(after));
    } while (after[0] && !bad && pages < 10000);
    buf_free(&page);
    printf("{\"bench\":\"srv_dash\",\"figure\":\"export_month_visits_api\",\"records\":%lld,"
           "\"pages\":%d,\"seconds\":%.2f,\"records_per_s\":%.0f,\"mb\":%.1f,\"ok\":%s}\n",
           (long long)n_month, pages, tbench_now_s() - t0, (double)n_month / (total / 1000.0),
           (double)all_bytes / 1e6, bad ? "false" : "true");
    fflush(stdout);
    return bad;
}

int main(void)
{
    char dir[] = "/tmp/gs-bench-dash-XXXXXX", db[96], token[256], auth[300], cmd[96];
    char q_year[96], grids[ROUNDS][96];
    const char *q_grid[ROUNDS], *q_town[] = {""}, *q_y[] = {q_year};
    srv_config cfg;
    srv_metrics m;
    gs_logger lg;
    srv_app *app = NULL;
    gs_err err;
    int64_t now = (int64_t)hlc_wall_ms(NULL), n_month = 0;
    double build_s;
    int bad = 0;

    app_process_init();
    if (!mkdtemp(dir))
        die("mkdtemp", "no /tmp");
    snprintf(db, sizeof(db), "%s/town.db", dir);
    if (app_init_store(db, token, sizeof(token), &err))
        die("init store", err.msg);
    build_s = build_town(db, now, &n_month);
    printf("{\"bench\":\"srv_dash\",\"figure\":\"town\",\"grids\":%d,\"residents\":%d,"
           "\"visits\":%d,\"visit_days_rows\":%d,\"care_open\":%d,\"devices\":%d,"
           "\"visit_records\":%lld,\"build_s\":%.1f}\n",
           N_GRIDS, N_RESIDENTS, N_VISITS, N_GRIDS * N_DAYS, N_CARE, N_DEVICES,
           (long long)n_month, build_s);
    config_defaults(&cfg);
    cfg.rules.enabled = 0; /* no sweep: the rows stay as written */
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", db);
    metrics_init(&m);
    log_init(&lg, "bench", GS_LOG_ERROR);
    if (app_open(&app, &cfg, &m, &lg, &err))
        die("app_open", err.msg);
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    for (int i = 0; i < ROUNDS; i++) {
        snprintf(grids[i], sizeof(grids[i]), "grid=%%E8%%A5%%BF%%E5%%8D%%8E-%03d", i * 53 % N_GRIDS);
        q_grid[i] = grids[i];
    }
    snprintf(q_year, sizeof(q_year), "from=%lld&to=%lld", (long long)(now - 364 * DAY_MS),
             (long long)now);
    bad |= timed(app, auth, "dashboard_town_30d", "/v1/admin/dashboard", q_town, 1);
    bad |= timed(app, auth, "dashboard_grid_30d", "/v1/admin/dashboard", q_grid, ROUNDS);
    bad |= timed(app, auth, "dashboard_town_365d", "/v1/admin/dashboard", q_y, 1);
    bad |= export_month(app, auth, now, n_month);
    app_close(app);
    if (getenv("BENCH_KEEP")) { /* to look at the plans: sqlite3 DIR/town.db */
        fprintf(stderr, "bench_srv_dash: kept %s\n", dir);
        return bad;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_srv_dash: could not remove %s\n", dir);
    return bad;
}
