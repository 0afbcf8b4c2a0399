/*
 * bench_srv_merge.c: issue 7 figure 5, how many pushed changes gridsyncd's application merges
 * per second with 1, 10 and 100 devices pushing at once, beside the raw SQLite ceiling of the
 * same writes measured in the same run.
 *
 * Server side: app_open on a fresh store, devices enrolled through the admin API, then a pool
 * of the server's worker count (config "workers", 8, as net.c runs) serves the devices one
 * after another, handing app_handle encoded POST /v1/sync bodies (the bytes a device sends:
 * a resident, then visits of 9 fields each, in batches of up to BATCH changes), so the figure
 * covers authentication, decoding, validation, the field-level merge, the store writes and
 * the durable commit; TLS and HTTP framing are not in it (bench_srv_tls measures those).
 * Ceiling: the same number of changes written straight to a store file of the same schema
 * and pragmas (store_open makes it: WAL, synchronous=FULL, foreign keys), one transaction per
 * batch, with the row shape of schema 3 and nothing else: one records upsert per change with
 * the change's fields as the same blob (sval_rec_encode) and one pull index row, prepared
 * statements, one thread; no reads, no change log, no acks (issue 14: "append-free, one
 * record upsert + index per change"). ratio = merge rate / ceiling rate.
 * Every run pushes the same number of changes in all, so the three figures move the same data. Each
 * device has its own grid (a town's workers each keep their own), so an answer carries no
 * pulled changes and the figure is the merge alone.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/hlc.h"
#include "common/log.h"
#include "common/rc.h"
#include "proto/proto.h"
#include "server/app.h"
#include "server/config.h"
#include "server/metrics.h"
#include "server/store.h"
#include "server/sval.h"
#include "tests/lib/tbench.h"

#define TOTAL_DEFAULT 10000
#define BATCH 5000
#define MAX_DEV 100
#define VISIT_FIELDS 9

static const char *const kinds[] = {"routine",         "routine", "routine", "routine",
                                    "routine",         "routine", "elderly_checkin",
                                    "elderly_checkin", "dispute", "safety_hazard"};
static const char *const phrases[] = {
    "老人身体状况良好", "血压偏高", "已提醒按时服药", "家中卫生整洁", "子女在外打工",
    "邻居反映夜间无人照看", "厨房燃气管道老化", "已联系村委会维修", "宣传新农合缴费政策",
    "询问低保申请进度", "院墙有裂缝需要加固", "两户因宅基地边界发生争执", "已现场调解",
};

/* One device's pre-encoded requests. */
typedef struct device {
    char id[64];         /* device id */
    char auth[256];      /* "Bearer id.secret" */
    char grid[32];       /* its own grid, so no device pulls another's pushes */
    gs_buf bodies[16];   /* encoded sync requests, in order */
    int n_bodies;        /* entries in bodies */
    srv_app *app;        /* shared application */
    int failures;        /* requests not answered 200 or changes not accepted */
    uint32_t n_changes;  /* changes this device pushes */
} device;

/* CPU seconds of the whole process (every thread), user and system. */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_srv_merge: %s: %s\n", what, msg);
    exit(1);
}

/* A UUIDv7 from a fixed-seed generator: 48-bit ms, version 7, variant 10. */
static void make_notes(char *out, size_t cap, uint64_t *seed)
{
    size_t want = 40 + tbench_rng(seed) % 81, chars = 0, len = 0;
    while (chars < want && len + 8 < cap) {
        const char *p = phrases[tbench_rng(seed) % (sizeof(phrases) / sizeof(phrases[0]))];
        for (size_t k = 0; p[k] && chars < want && len + 8 < cap; k += 3, chars++, len += 3)
            memcpy(out + len, p + k, 3);
    }
    out[len] = '\0';
}

static proto_str S(const char *s)
{
    proto_str r = {s, (uint32_t)strlen(s)};
    return r;
}

/* The visits' fields: values point into notes (per change) and the shared strings. */
typedef struct visit_src {
    uint8_t id[16];     /* visit id */
    char notes[400];    /* 40-120 Chinese characters */
    const char *kind;   /* visit kind */
    int64_t at_ms;      /* visited_at */
    int follow_up;      /* flag */
    double lat, lon;    /* place */
} visit_src;

/* Fills f[0..8] with a visit's fields as the client sends them (base version 0). */
static void visit_fields(proto_field *f, const visit_src *v, const uint8_t resident[16],
                         const char *grid)
{
    memset(f, 0, sizeof(*f) * VISIT_FIELDS);
    f[0].name = S("resident");
    f[0].value.type = PV_BIN;
    f[0].value.u.s.ptr = (const char *)resident;
    f[0].value.u.s.len = 16;
    f[1].name = S("grid");
    f[1].value.type = PV_STR;
    f[1].value.u.s = S(grid);
    f[2].name = S("worker");
    f[2].value.type = PV_STR;
    f[2].value.u.s = S("张三");
    f[3].name = S("visited_at");
    f[3].value.type = PV_INT;
    f[3].value.u.i = v->at_ms;
    f[4].name = S("kind");
    f[4].value.type = PV_STR;
    f[4].value.u.s = S(v->kind);
    f[5].name = S("notes");
    f[5].value.type = PV_STR;
    f[5].value.u.s = S(v->notes);
    f[6].name = S("follow_up");
    f[6].value.type = PV_BOOL;
    f[6].value.u.b = v->follow_up;
    f[7].name = S("lat");
    f[7].value.type = PV_REAL;
    f[7].value.u.r = v->lat;
    f[8].name = S("lon");
    f[8].value.type = PV_REAL;
    f[8].value.u.r = v->lon;
}

/* Builds a device's request bodies: change 1 is its resident, then n-1 visits recorded from
 * five days ago plus start_ms, 20-60 s apart (the visits' UUIDv7 ids follow that time). */
static void build_device(device *d, uint32_t n, const char *grid, visit_src *vs, uint64_t *seed,
                         int64_t start_ms)
{
    proto_change *ch = calloc(BATCH, sizeof(*ch));
    proto_field *fl = calloc((size_t)BATCH * VISIT_FIELDS, sizeof(*fl));
    uint8_t resident[16];
    int64_t now = wall_ms(), at = now - INT64_C(5) * 86400000 + start_ms;
    uint64_t seq = 1;
    proto_field rf[2];

    if (!ch || !fl)
        die("build", "no memory");
    tbench_uuid7(resident, (uint64_t)(at - 1000), seed);
    memset(rf, 0, sizeof(rf));
    rf[0].name = S("name");
    rf[0].value.type = PV_STR;
    rf[0].value.u.s = S("王秀英");
    rf[1].name = S("grid");
    rf[1].value.type = PV_STR;
    rf[1].value.u.s = S(grid);
    d->n_changes = n;
    d->n_bodies = 0;
    while (seq <= n) {
        proto_sync_req req;
        uint32_t k = 0;
        memset(&req, 0, sizeof(req));
        req.version = 1;
        req.device = S(d->id);
        req.low = seq;
        for (; k < BATCH && seq <= n; k++, seq++) {
            proto_change *c = &ch[k];
            memset(c, 0, sizeof(*c));
            c->seq = seq;
            c->hlc = hlc_pack((uint64_t)now, (uint32_t)seq);
            if (seq == 1) {
                c->table = S("resident");
                memcpy(c->id, resident, 16);
                c->fields = rf;
                c->n_fields = 2;
            } else {
                visit_src *v = &vs[k];
                at += 20000 + (int64_t)(tbench_rng(seed) % 40001);
                tbench_uuid7(v->id, (uint64_t)at, seed);
                make_notes(v->notes, sizeof(v->notes), seed);
                v->kind = kinds[tbench_rng(seed) % 10];
                v->at_ms = at;
                v->follow_up = tbench_rng(seed) % 5 == 0;
                v->lat = 33.70 + (double)(tbench_rng(seed) % 20000) / 100000.0;
                v->lon = 114.40 + (double)(tbench_rng(seed) % 30000) / 100000.0;
                c->table = S("visit");
                memcpy(c->id, v->id, 16);
                c->fields = &fl[(size_t)k * VISIT_FIELDS];
                c->n_fields = VISIT_FIELDS;
                visit_fields(c->fields, v, resident, grid);
            }
        }
        req.changes = ch;
        req.n_changes = k;
        req.now = hlc_pack((uint64_t)now, 0);
        buf_init(&d->bodies[d->n_bodies], PROTO_MAX_BODY);
        if (proto_encode_sync_req(&d->bodies[d->n_bodies], &req) != GS_OK)
            die("encode", d->id);
        d->n_bodies++;
    }
    free(ch);
    free(fl);
}

static int handle(srv_app *app, const char *method, const char *path, const char *auth,
                  const char *ctype, const void *body, size_t len, srv_response *resp)
{
    srv_request req;
    memset(&req, 0, sizeof(req));
    memset(resp, 0, sizeof(*resp));
    req.method.ptr = method;
    req.method.len = strlen(method);
    req.path.ptr = path;
    req.path.len = strlen(path);
    req.authorization.ptr = auth;
    req.authorization.len = strlen(auth);
    req.content_type.ptr = ctype;
    req.content_type.len = strlen(ctype);
    req.body = body;
    req.body_len = len;
    req.peer = "127.0.0.1:1";
    buf_init(&resp->body, PROTO_MAX_BODY);
    app_handle(app, &req, resp);
    return resp->status;
}

/* Copies the JSON string value of key from js into out. */
static void json_str(const char *js, size_t len, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p, *end = js + len;
    size_t i = 0;
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = memmem(js, len, pat, strlen(pat));
    if (!p)
        die("admin answer lacks", key);
    p += strlen(pat);
    while (p < end && (*p == ' ' || *p == '"'))
        p++;
    while (p < end && *p != '"' && i + 1 < cap)
        out[i++] = *p++;
    out[i] = '\0';
}

/* The devices waiting to be served, taken in turn by the workers. */
typedef struct pool {
    device *devs;
    int n_dev;
    atomic_int next;
} pool;

static void push_device(device *d)
{
    for (int b = 0; b < d->n_bodies; b++) {
        srv_response resp;
        proto_sync_resp *r = NULL;
        gs_err err;
        int st = handle(d->app, "POST", "/v1/sync", d->auth, "application/vnd.msgpack",
                        d->bodies[b].ptr, d->bodies[b].len, &resp);
        if (st != 200 || proto_decode_sync_resp(resp.body.ptr, resp.body.len, &r, &err)) {
            if (d->failures++ == 0)
                fprintf(stderr, "bench_srv_merge: %s: status %d %.*s\n", d->id, st,
                        (int)(resp.body.len > 200 ? 200 : resp.body.len),
                        resp.body.ptr ? (const char *)resp.body.ptr : "");
        } else {
            for (uint32_t i = 0; i < r->n_acks; i++)
                if (!r->acks[i].ok && d->failures++ == 0)
                    fprintf(stderr, "bench_srv_merge: rejected seq %llu: %.*s\n",
                            (unsigned long long)r->acks[i].seq, (int)r->acks[i].msg.len,
                            r->acks[i].msg.ptr);
        }
        proto_sync_resp_free(r);
        buf_free(&resp.body);
    }
}

/* A worker of the pool: as gridsyncd's (net.c), it serves one device's request after
 * another; a device's bodies go in order, as one device's syncs do. */
static void *worker(void *arg)
{
    pool *p = arg;
    for (int i; (i = atomic_fetch_add(&p->next, 1)) < p->n_dev;)
        push_device(&p->devs[i]);
    return NULL;
}

/* One figure: n_dev devices push TOTAL changes through a fresh app. Returns changes/s, in
 * *commits the transactions that committed them (several syncs share one under load) and in
 * *cpu the process's CPU seconds. The devices' visits are recorded over the same hours, so
 * their ids interleave in the store's id index as a town's do; with apart set, each device's
 * come after the one before's (a diagnostic: what the interleaving costs). */
static double run_merge(const char *dir, int n_dev, uint32_t total, int apart, int rules,
                        int *failures, uint64_t *commits, double *cpu)
{
    char db[256], token[256], auth[300];
    srv_config cfg;
    srv_metrics m;
    gs_logger lg;
    gs_err err;
    srv_app *app = NULL;
    device *devs = calloc((size_t)n_dev, sizeof(*devs));
    visit_src *vs = calloc(BATCH, sizeof(*vs));
    pthread_t th[MAX_DEV];
    uint64_t seed = UINT64_C(20261127);
    double t0, t, c0;
    int n_workers;
    pool p;

    if (!devs || !vs)
        die("run", "no memory");
    snprintf(db, sizeof(db), "%s/merge-%d.db", dir, n_dev);
    if (app_init_store(db, token, sizeof(token), &err))
        die("init store", err.msg);
    config_defaults(&cfg);
    cfg.rules.enabled = rules; /* the warning rules watch every change (issue 15) */
    snprintf(cfg.db_path, sizeof(cfg.db_path), "%s", db);
    metrics_init(&m);
    log_init(&lg, "bench", GS_LOG_ERROR);
    if (app_open(&app, &cfg, &m, &lg, &err))
        die("app_open", err.msg);
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    for (int i = 0; i < n_dev; i++) {
        srv_response resp;
        char body[128], secret[200];
        snprintf(devs[i].grid, sizeof(devs[i].grid), "东风村%d组", i + 1);
        snprintf(body, sizeof(body), "{\"grids\":[\"%s\"],\"name\":\"bench-%d\"}",
                 devs[i].grid, i);
        if (handle(app, "POST", "/v1/admin/devices", auth, "application/json", body,
                   strlen(body), &resp) != 201)
            die("device add", "not 201");
        json_str((const char *)resp.body.ptr, resp.body.len, "id", devs[i].id,
                 sizeof(devs[i].id));
        json_str((const char *)resp.body.ptr, resp.body.len, "token", secret, sizeof(secret));
        snprintf(devs[i].auth, sizeof(devs[i].auth), "Bearer %s", secret);
        buf_free(&resp.body);
        devs[i].app = app;
        build_device(&devs[i], total / (uint32_t)n_dev, devs[i].grid, vs, &seed,
                     apart ? (int64_t)i * 40000 * (total / (uint32_t)n_dev + 1) : 0);
    }
    n_workers = n_dev < cfg.workers ? n_dev : cfg.workers;
    p.devs = devs;
    p.n_dev = n_dev;
    atomic_init(&p.next, 0);
    t0 = tbench_now_s();
    c0 = tbench_cpu_s();
    for (int i = 0; i < n_workers; i++)
        pthread_create(&th[i], NULL, worker, &p);
    for (int i = 0; i < n_workers; i++)
        pthread_join(th[i], NULL);
    t = tbench_now_s() - t0;
    *cpu = tbench_cpu_s() - c0;
    *failures = 0;
    for (int i = 0; i < n_dev; i++) {
        *failures += devs[i].failures;
        for (int b = 0; b < devs[i].n_bodies; b++)
            buf_free(&devs[i].bodies[b]);
    }
    *commits = atomic_load(&m.sync_commits);
    app_close(app);
    free(devs);
    free(vs);
    return (double)total / t;
}

/* ---- the raw SQLite ceiling ---- */

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die(sql, msg);
}

static double run_ceiling(const char *dir, int n_dev, uint32_t total)
{
    static const char *const vnames[VISIT_FIELDS] = {"resident", "grid", "worker",
                                                     "visited_at", "kind", "notes",
                                                     "follow_up", "lat", "lon"};
    char path[256];
    store *st = NULL;
    gs_err err;
    sqlite3 *db;
    sqlite3_stmt *rec, *idx;
    visit_src *vs = calloc(1, sizeof(*vs));
    uint64_t seed = UINT64_C(20261127), version = 0;
    uint8_t resident[16];
    int64_t now = wall_ms(), at = now - INT64_C(5) * 86400000;
    uint32_t per = total / (uint32_t)n_dev;
    gs_buf blob;
    double t0, t;

    snprintf(path, sizeof(path), "%s/ceiling-%d.db", dir, n_dev);
    if (!vs || store_open(&st, path, &err))
        die("ceiling store", vs ? err.msg : "no memory");
    store_close(st);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", sqlite3_errmsg(db));
    exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
             "PRAGMA busy_timeout = 5000");
    /* the row shape of schema 3: one record upsert with every field in one blob, one pull
       index row per change; no change log, no acks, no reads */
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO records (tbl, id, grid, deleted, created_hlc, "
                           "updated_hlc, version, fields) VALUES (?1, ?2, ?3, 0, ?4, ?4, ?5, ?6) "
                           "ON CONFLICT (tbl, id) DO UPDATE SET updated_hlc = excluded.updated_hlc,"
                           " version = excluded.version, fields = excluded.fields",
                           -1, &rec, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT OR REPLACE INTO pulls (grid, version, tbl, rid, writer) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
                           -1, &idx, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    buf_init(&blob, 1 << 20);
    t0 = tbench_now_s();
    for (int d = 0; d < n_dev; d++) {
        char grid[32];
        snprintf(grid, sizeof(grid), "东风村%d组", d + 1);
        tbench_uuid7(resident, (uint64_t)(at - 1000), &seed);
        for (uint32_t seq = 1; seq <= per;) {
            exec(db, "BEGIN IMMEDIATE");
            for (uint32_t k = 0; k < BATCH && seq <= per; k++, seq++) {
                proto_field f[VISIT_FIELDS];
                sval_rec_field rf[VISIT_FIELDS];
                int n_f = VISIT_FIELDS;
                const char *tbl = seq == 1 ? "resident" : "visit";
                const uint8_t *rid = resident;
                uint64_t h = hlc_pack((uint64_t)now, seq);
                if (seq == 1) {
                    n_f = 2;
                    memset(f, 0, sizeof(f));
                    f[0].name = S("name");
                    f[0].value.type = PV_STR;
                    f[0].value.u.s = S("王秀英");
                    f[1].name = S("grid");
                    f[1].value.type = PV_STR;
                    f[1].value.u.s = S(grid);
                } else {
                    at += 20000 + (int64_t)(tbench_rng(&seed) % 40001);
                    tbench_uuid7(vs->id, (uint64_t)at, &seed);
                    make_notes(vs->notes, sizeof(vs->notes), &seed);
                    vs->kind = kinds[tbench_rng(&seed) % 10];
                    vs->at_ms = at;
                    vs->follow_up = tbench_rng(&seed) % 5 == 0;
                    vs->lat = 33.70 + (double)(tbench_rng(&seed) % 20000) / 100000.0;
                    vs->lon = 114.40 + (double)(tbench_rng(&seed) % 30000) / 100000.0;
                    visit_fields(f, vs, resident, grid);
                    rid = vs->id;
                }
                version++;
                for (int i = 0; i < n_f; i++) {
                    rf[i].name = seq == 1 ? (i == 0 ? "name" : "grid") : vnames[i];
                    rf[i].value = f[i].value;
                    rf[i].version = version;
                    rf[i].hlc = h;
                    rf[i].writer = (uint32_t)d + 1;
                }
                buf_reset(&blob);
                if (sval_rec_encode(&blob, rf, (uint32_t)n_f))
                    die("encode", "record blob");
                sqlite3_bind_text(rec, 1, tbl, -1, SQLITE_STATIC);
                sqlite3_bind_blob(rec, 2, rid, 16, SQLITE_STATIC);
                sqlite3_bind_text(rec, 3, grid, -1, SQLITE_STATIC);
                sqlite3_bind_int64(rec, 4, (sqlite3_int64)h);
                sqlite3_bind_int64(rec, 5, (sqlite3_int64)version);
                sqlite3_bind_blob(rec, 6, blob.ptr, (int)blob.len, SQLITE_STATIC);
                if (sqlite3_step(rec) != SQLITE_DONE)
                    die("record", sqlite3_errmsg(db));
                sqlite3_reset(rec);
                sqlite3_bind_text(idx, 1, grid, -1, SQLITE_STATIC);
                sqlite3_bind_int64(idx, 2, (sqlite3_int64)version);
                sqlite3_bind_text(idx, 3, tbl, -1, SQLITE_STATIC);
                sqlite3_bind_blob(idx, 4, rid, 16, SQLITE_STATIC);
                sqlite3_bind_int64(idx, 5, d + 1);
                if (sqlite3_step(idx) != SQLITE_DONE)
                    die("index", sqlite3_errmsg(db));
                sqlite3_reset(idx);
            }
            exec(db, "COMMIT");
        }
    }
    t = tbench_now_s() - t0;
    buf_free(&blob);
    sqlite3_finalize(rec);
    sqlite3_finalize(idx);
    sqlite3_close(db);
    free(vs);
    return (double)total / t;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), tbench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#define ROUNDS_MAX 15

/* bench_srv_merge [TOTAL [DEVICES]]: by default 10,000 changes with 1, 10 and 100 devices;
 * with arguments one figure (for profiling). BENCH_ROUNDS (default 5, at most 15) rounds,
 * each running every figure once, ceiling then merge on fresh files: the figures printed are
 * the medians (one run on a shared machine moves by a third from one round to the next),
 * then the ratios of the medians: 100 and 10 devices to 1, and 100 devices whose visits'
 * ids do not interleave to 1. The merge figures are the store's (issue 14) with the warning
 * rules off, as the ceiling has none; srv_merge_rules gives one device's rate with the rules
 * on beside it (issue 15: at least 0.9 of it). */
int main(int argc, char **argv)
{
    char dir[] = "/tmp/gs_bench_merge_XXXXXX";
    int devices[3] = {1, 10, 100};
    size_t n_figures = 3;
    uint32_t total = TOTAL_DEFAULT;
    double merge[3][ROUNDS_MAX], ceil[3][ROUNDS_MAX], commits[3][ROUNDS_MAX], med[3], med_ceil[3];
    double cpu[3][ROUNDS_MAX], apart[ROUNDS_MAX], rules_on[ROUNDS_MAX];
    int failures[3] = {0, 0, 0}, rounds = 5;
    const char *env = getenv("BENCH_ROUNDS");
    char cmd[96], sub[64];
    int status = 0;

    app_process_init(); /* as gridsyncd does */

    if (argc > 1)
        total = (uint32_t)strtoul(argv[1], NULL, 10);
    if (argc > 2) {
        devices[0] = (int)strtol(argv[2], NULL, 10);
        n_figures = 1;
    }
    if (env)
        rounds = (int)strtol(env, NULL, 10);
    if (total < 100 || devices[0] < 1 || devices[0] > MAX_DEV || rounds < 1 ||
        rounds > ROUNDS_MAX)
        die("usage", "bench_srv_merge [TOTAL>=100 [DEVICES 1..100]], BENCH_ROUNDS 1..15");

    if (!mkdtemp(dir))
        die("mkdtemp", "no /tmp");
    for (int r = 0; r < rounds; r++) {
        snprintf(sub, sizeof(sub), "%s/r%d", dir, r);
        if (mkdir(sub, 0700) != 0)
            die("mkdir", sub);
        for (size_t i = 0; i < n_figures; i++) {
            int f = 0;
            uint64_t c = 0;
            ceil[i][r] = run_ceiling(sub, devices[i], total);
            /* the store's own rate (issue 14), rules off: the ceiling has none either */
            merge[i][r] = run_merge(sub, devices[i], total, 0, 0, &f, &c, &cpu[i][r]);
            commits[i][r] = (double)c;
            failures[i] += f;
        }
        if (n_figures == 3) {
            int f = 0;
            uint64_t c = 0;
            double ignored;
            snprintf(sub, sizeof(sub), "%s/r%d/apart", dir, r);
            if (mkdir(sub, 0700) != 0)
                die("mkdir", sub);
            apart[r] = run_merge(sub, devices[2], total, 1, 0, &f, &c, &ignored);
            failures[2] += f;
            snprintf(sub, sizeof(sub), "%s/r%d/rules", dir, r);
            if (mkdir(sub, 0700) != 0)
                die("mkdir", sub);
            rules_on[r] = run_merge(sub, devices[0], total, 0, 1, &f, &c, &ignored);
            failures[0] += f;
        }
    }
    for (size_t i = 0; i < n_figures; i++) {
        double m = median(merge[i], rounds), c = median(ceil[i], rounds);
        med[i] = m;
        med_ceil[i] = c;
        printf("{\"bench\":\"srv_merge\",\"devices\":%d,\"changes\":%d,\"batch\":%d,"
               "\"rounds\":%d,\"merged_changes_per_s\":%.0f,\"raw_sqlite_ceiling_per_s\":%.0f,"
               "\"ratio\":%.2f,\"commits\":%.0f,\"cpu_us_per_change\":%.1f,"
               "\"merged_min\":%.0f,\"merged_max\":%.0f,\"failures\":%d}\n",
               devices[i], total, BATCH, rounds, m, c, m / c, median(commits[i], rounds),
               median(cpu[i], rounds) * 1e6 / total,
               merge[i][0], merge[i][rounds - 1], failures[i]);
        if (failures[i])
            status = 1;
    }
    if (n_figures == 3) {
        double on = median(rules_on, rounds);
        printf("{\"bench\":\"srv_merge_scaling\",\"rounds\":%d,\"devices_100_over_1\":%.2f,"
               "\"devices_10_over_1\":%.2f,\"devices_100_ids_apart_over_1\":%.2f,"
               "\"ceiling_100_over_1\":%.2f,\"ceiling_10_over_1\":%.2f}\n",
               rounds, med[2] / med[0], med[1] / med[0], median(apart, rounds) / med[0],
               med_ceil[2] / med_ceil[0], med_ceil[1] / med_ceil[0]);
        printf("{\"bench\":\"srv_merge_rules\",\"rounds\":%d,\"devices\":1,"
               "\"rules_on_per_s\":%.0f,\"rules_off_per_s\":%.0f,\"on_over_off\":%.2f}\n",
               rounds, on, med[0], on / med[0]);
    }
    fflush(stdout);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_srv_merge: could not remove %s\n", dir);
    return status;
}
