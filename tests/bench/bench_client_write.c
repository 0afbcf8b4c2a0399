/*
 * bench_client_write.c: what change capture costs. Records visits through libgridsync and,
 * in the same run, plain SQLite INSERTs of the same rows into a table of the same shape with
 * the same pragmas (WAL, synchronous=FULL), and prints one JSON line per figure:
 *   - one visit per durable transaction (gs_db_add / an autocommit INSERT), per operation;
 *   - 10,000 visits in one transaction (gs_db_begin ... gs_db_commit / BEGIN ... COMMIT).
 * gridsync's side also validates every value, checks the resident exists, advances the HLC
 * and writes the outbox row; the ratio is the price of that. Each figure is the median of
 * REPEATS runs, each on fresh files, alternating the two sides. The data (kinds, Chinese
 * notes of 40-120 characters, places, times) comes from a fixed seed so runs compare.
 * Note: fdatasync is cheap on a VM with a host write cache; a handheld's flash is slower,
 * which makes the single-write ratio closer to 1 there (the fsync dominates both sides).
 */
#define _POSIX_C_SOURCE 200809L
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/gridsync.h"
#include "common/uuid.h"
#include "tests/lib/tbench.h"

#define SINGLE_N 200
#define BATCH_N 10000
#define REPEATS 3

static const char *const kinds[] = {"routine", "elderly_checkin", "dispute",
                                    "safety_hazard", "policy_outreach", "service"};

static const char *const phrases[] = {
    "老人身体状况良好", "血压偏高", "已提醒按时服药", "家中卫生整洁", "子女在外打工",
    "邻居反映夜间无人照看", "厨房燃气管道老化", "已联系村委会维修", "宣传新农合缴费政策",
    "询问低保申请进度", "院墙有裂缝需要加固", "两户因宅基地边界发生争执", "已现场调解",
    "双方同意下周再谈", "冬季取暖用煤充足", "电线私拉乱接存在隐患", "已告知危险并登记",
    "老人行动不便", "需要上门送餐服务", "孙子在镇上读初中", "今年收成不错", "情绪稳定",
};

typedef struct visit_data {
    char notes[512];   /* 40-120 Chinese characters */
    const char *kind;  /* one of kinds */
    int64_t at_ms;     /* visited_at */
    int follow_up;     /* 0/1 */
    double lat, lon;   /* a place in Xihua county */
} visit_data;

/* xorshift64*: a fixed seed, so every run records the same visits. */

static void make_visits(visit_data *v, size_t n)
{
    uint64_t seed = UINT64_C(20261127);
    for (size_t i = 0; i < n; i++) {
        size_t want = 40 + tbench_rng(&seed) % 81, chars = 0, len = 0;
        while (chars < want) {
            const char *p = phrases[tbench_rng(&seed) % (sizeof(phrases) / sizeof(phrases[0]))];
            /* copy whole characters (3 bytes each) up to want, then a comma */
            for (size_t k = 0; p[k] && chars < want; k += 3, chars++) {
                memcpy(v[i].notes + len, p + k, 3);
                len += 3;
            }
            if (chars < want) {
                memcpy(v[i].notes + len, "，", 3);
                len += 3;
                chars++;
            }
        }
        v[i].notes[len] = '\0';
        v[i].kind = kinds[tbench_rng(&seed) % 6];
        v[i].at_ms = INT64_C(1795743000000) + (int64_t)i * 60000;
        v[i].follow_up = (int)(tbench_rng(&seed) % 5 == 0);
        v[i].lat = 33.70 + (double)(tbench_rng(&seed) % 20000) / 100000.0;
        v[i].lon = 114.40 + (double)(tbench_rng(&seed) % 30000) / 100000.0;
    }
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_client_write: %s: %s\n", what, msg);
    exit(1);
}

/* ---- gridsync side ---- */

static gs_db *gs_fresh(const char *dir, int k, char resident[40])
{
    static const char ca[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const char *grids[] = {"东风村3组"};
    gs_device_config cfg = {"bench-1", "bench-1.s", "https://127.0.0.1:1", ca,
                            sizeof(ca) - 1, grids, 1, "张三"};
    char path[256];
    gs_db *db;
    gs_record *r;

    snprintf(path, sizeof(path), "%s/gs-%d.db", dir, k);
    if (gs_db_open(path, &db) != GS_OK)
        die("open", gs_db_errmsg(db));
    if (gs_db_init_device(db, &cfg) != GS_OK)
        die("init", gs_db_errmsg(db));
    if (gs_record_new(db, "resident", &r) || gs_record_set_str(r, "name", "王秀英") ||
        gs_db_add(db, r))
        die("resident", gs_db_errmsg(db));
    snprintf(resident, 40, "%s", gs_record_id(r));
    gs_record_free(r);
    return db;
}

static void gs_visit(gs_db *db, const char *resident, const visit_data *v)
{
    gs_record *r;
    if (gs_record_new(db, "visit", &r) || gs_record_set_ref(r, "resident", resident) ||
        gs_record_set_str(r, "kind", v->kind) || gs_record_set_str(r, "notes", v->notes) ||
        gs_record_set_time(r, "visited_at", v->at_ms) ||
        gs_record_set_bool(r, "follow_up", v->follow_up) ||
        gs_record_set_real(r, "lat", v->lat) || gs_record_set_real(r, "lon", v->lon) ||
        gs_db_add(db, r))
        die("add visit", gs_db_errmsg(db));
    gs_record_free(r);
}

static double gs_run(const char *dir, int k, const visit_data *v, size_t n, int batch)
{
    char resident[40];
    gs_db *db = gs_fresh(dir, k, resident);
    double t0 = tbench_now_s(), t;

    if (batch && gs_db_begin(db))
        die("begin", gs_db_errmsg(db));
    for (size_t i = 0; i < n; i++)
        gs_visit(db, resident, &v[i]);
    if (batch && gs_db_commit(db))
        die("commit", gs_db_errmsg(db));
    t = tbench_now_s() - t0;
    gs_db_close(db);
    return t;
}

/* ---- plain SQLite side ---- */

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

static double plain_run(const char *dir, int k, const visit_data *v, size_t n, int batch)
{
    char path[256];
    sqlite3 *db;
    sqlite3_stmt *st;
    uint8_t resident[16], id[16];
    double t0, t;

    snprintf(path, sizeof(path), "%s/plain-%d.db", dir, k);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open plain", sqlite3_errmsg(db));
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
             "CREATE TABLE visit(id BLOB PRIMARY KEY NOT NULL, created INTEGER NOT NULL,"
             " updated INTEGER NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, resident BLOB,"
             " grid TEXT, worker TEXT, visited_at INTEGER, kind TEXT, notes TEXT,"
             " follow_up INTEGER, lat REAL, lon REAL)");
    if (uuid_v7(resident, 1795743000000))
        die("uuid", "no randomness");
    if (sqlite3_prepare_v2(db, "INSERT INTO visit VALUES(?1, ?2, ?2, 0, ?3, ?4, ?5, ?6, ?7, "
                               "?8, ?9, ?10, ?11)",
                           -1, &st, NULL) != SQLITE_OK)
        die("prepare", sqlite3_errmsg(db));
    t0 = tbench_now_s();
    if (batch)
        exec(db, "BEGIN");
    for (size_t i = 0; i < n; i++) {
        if (uuid_v7(id, (uint64_t)v[i].at_ms))
            die("uuid", "no randomness");
        sqlite3_bind_blob(st, 1, id, 16, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        sqlite3_bind_blob(st, 3, resident, 16, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, "东风村3组", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, "张三", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, v[i].at_ms);
        sqlite3_bind_text(st, 7, v[i].kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, v[i].notes, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 9, v[i].follow_up);
        sqlite3_bind_double(st, 10, v[i].lat);
        sqlite3_bind_double(st, 11, v[i].lon);
        if (sqlite3_step(st) != SQLITE_DONE)
            die("insert", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    if (batch)
        exec(db, "COMMIT");
    t = tbench_now_s() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return t;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), tbench_cmp_double);
    return v[n / 2];
}

int main(void)
{
    char dir[] = "/tmp/gs-bench-XXXXXX";
    visit_data *v = calloc(BATCH_N, sizeof(*v));
    double gs_single[REPEATS], plain_single[REPEATS], gs_batch[REPEATS], plain_batch[REPEATS];
    double g, p;
    char cmd[64];
    size_t bytes = 0;

    if (!v || !mkdtemp(dir))
        die("setup", "no memory or no /tmp");
    make_visits(v, BATCH_N);
    for (size_t i = 0; i < BATCH_N; i++)
        bytes += strlen(v[i].notes);
    for (int k = 0; k < REPEATS; k++) {
        /* alternate which side goes first so neither always meets a warm cache */
        if (k % 2 == 0) {
            gs_single[k] = gs_run(dir, 10 + k, v, SINGLE_N, 0);
            plain_single[k] = plain_run(dir, 10 + k, v, SINGLE_N, 0);
            gs_batch[k] = gs_run(dir, 20 + k, v, BATCH_N, 1);
            plain_batch[k] = plain_run(dir, 20 + k, v, BATCH_N, 1);
        } else {
            plain_single[k] = plain_run(dir, 10 + k, v, SINGLE_N, 0);
            gs_single[k] = gs_run(dir, 10 + k, v, SINGLE_N, 0);
            plain_batch[k] = plain_run(dir, 20 + k, v, BATCH_N, 1);
            gs_batch[k] = gs_run(dir, 20 + k, v, BATCH_N, 1);
        }
    }
    g = median(gs_single, REPEATS) / SINGLE_N;
    p = median(plain_single, REPEATS) / SINGLE_N;
    printf("{\"bench\":\"client_write\",\"case\":\"one_visit_per_durable_transaction\","
           "\"n\":%d,\"gridsync_us_per_visit\":%.1f,\"plain_insert_us_per_row\":%.1f,"
           "\"ratio\":%.2f,\"repeats\":%d}\n",
           SINGLE_N, g * 1e6, p * 1e6, g / p, REPEATS);
    g = median(gs_batch, REPEATS);
    p = median(plain_batch, REPEATS);
    printf("{\"bench\":\"client_write\",\"case\":\"10000_visits_one_transaction\","
           "\"n\":%d,\"gridsync_ms\":%.1f,\"plain_insert_ms\":%.1f,\"gridsync_visits_per_s\":"
           "%.0f,\"plain_rows_per_s\":%.0f,\"ratio\":%.2f,\"avg_notes_bytes\":%zu,"
           "\"repeats\":%d}\n",
           BATCH_N, g * 1e3, p * 1e3, BATCH_N / g, BATCH_N / p, g / p, bytes / BATCH_N,
           REPEATS);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_client_write: could not remove %s\n", dir);
    free(v);
    return 0;
}
