/*
 * bench_srv_warn.c: issue 15's sweep at county scale. A store holds 200,000 residents of
 * 400 grids (every tenth lives alone, every tenth more is elderly or disabled) and 50,000
 * open care requests, each with the watch row the rules keep, their last visits spread over
 * the last 20 days; then the server "comes back after a week": one sweep opens every
 * warning whose time came, in transactions of 1,000 rows, as gridsyncd's sweep thread does.
 * Figures: the full sweep's time and the warnings it opened, then a steady sweep (nothing
 * due) as the thread runs it every rules_sweep_s. Records are written through the merge as
 * the server (merge_server_put) and watch rows through the store, as the rules would leave
 * them; the 2,000,000 visits are not written (a sweep never reads visits: their only trace
 * is each resident's last-visit time).
 *   bench_srv_warn [RESIDENTS]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/arena.h"
#include "common/hlc.h"
#include "common/rc.h"
#include "common/uuid.h"
#include "server/merge.h"
#include "server/rules.h"
#include "server/sval.h"
#include "server/store.h"
#include "server/warn.h"
#include "tests/lib/tbench.h"

#define DAY INT64_C(86400000)
#define GRIDS 400
#define SWEEP_ROWS 1000 /* rows per transaction, as api.c's sweep thread */

/* Bytes this process has had written to disk so far (/proc/self/io write_bytes): the
 * sweep's WAL frames and the checkpointer's copies. */
static long long write_bytes(void)
{
    char line[128];
    long long n = -1;
    FILE *f = fopen("/proc/self/io", "r");
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "write_bytes: %lld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_srv_warn: %s: %s\n", what, msg);
    exit(1);
}

static int add_count(void *ud, const char *rule, int level, int64_t n)
{
    (void)rule;
    (void)level;
    *(long long *)ud += n;
    return 0;
}

/* Open warnings in the store (the dashboard's count). */
static long long count_open(store *st)
{
    long long n = 0;
    gs_err err;
    if (store_watch_open_counts(st, add_count, &n, &err))
        die("open counts", err.msg);
    return n;
}

static proto_field text_field(const char *name, const char *v)
{
    proto_field f;
    memset(&f, 0, sizeof(f));
    f.name = proto_cstr(name);
    f.value.type = PV_STR;
    f.value.u.s = proto_cstr(v);
    return f;
}

static int64_t clock_ms;
static uint64_t fake_clock(void *ud)
{
    (void)ud;
    return (uint64_t)clock_ms;
}

int main(int argc, char **argv)
{
    int n_res = argc > 1 ? atoi(argv[1]) : 200000, n_care = n_res / 4;
    char dir[] = "/tmp/gs_bench_warn_XXXXXX", path[128], cmd[96];
    store *st = NULL;
    hlc clock;
    rules_config cfg;
    gs_err err;
    uint64_t seed = UINT64_C(20261203);
    int64_t t0 = INT64_C(1795000000000);
    uint32_t opened = 0, txns = 0, n;
    double t, full_s, steady_s, cpu0, full_cpu, same_s, changed_s;
    uint64_t same_n = 0, changed_n = 0;
    long long opened_before;
    long long w0, sweep_bytes;
    uint8_t (*rids)[16];

    if (n_res < 1000)
        die("usage", "bench_srv_warn [RESIDENTS >= 1000]");
    rids = malloc((size_t)n_res * sizeof(*rids));
    if (!rids)
        die("malloc", "no memory");
    if (!mkdtemp(dir))
        die("mkdtemp", "no /tmp");
    snprintf(path, sizeof(path), "%s/s.db", dir);
    /* checkpoints in their own thread, off the sweep's transactions, as gridsyncd runs them */
    if (store_open(&st, path, &err) || store_checkpointer_start(st, path, &err))
        die("store_open", err.msg);
    clock_ms = t0;
    hlc_init(&clock, 0, 300000, fake_clock, NULL);
    rules_defaults(&cfg);

    /* the county as the rules left it, one transaction per 10,000 records */
    for (int i = 0; i < n_res + n_care; i++) {
        gs_arena arena;
        merge_ctx m;
        uint8_t id[16];
        char grid[32], name[32], idtext[UUID_TEXT_LEN + 1];
        store_watch w;
        int care = i >= n_res;
        proto_str tag;
        proto_field f[7];
        uint32_t nf = 0;

        if (i % 10000 == 0 && store_begin(st, &err))
            die("begin", err.msg);
        arena_init(&arena, SVAL_ARENA_MAX);
        snprintf(grid, sizeof(grid), "西华-%03d", (int)(rng(&seed) % GRIDS));
        snprintf(name, sizeof(name), "居民%d", i);
        if (uuid_v7(id, (uint64_t)t0) != GS_OK)
            die("uuid", "no random bytes");
        memset(&w, 0, sizeof(w));
        uuid_format(id, idtext);
        snprintf(w.subject, sizeof(w.subject), "%s", idtext);
        snprintf(w.grid, sizeof(w.grid), "%s", grid);
        w.since = t0 - (int64_t)(rng(&seed) % (uint64_t)(20 * DAY));
        if (!care) {
            int kind = (int)(rng(&seed) % 10);
            f[nf++] = text_field("name", name);
            f[nf++] = text_field("grid", grid);
            snprintf(w.rule, sizeof(w.rule), "unvisited_vulnerable");
            if (kind <= 1) {
                tag = proto_cstr(kind == 0 ? "lives_alone" : "elderly");
                memset(&f[nf], 0, sizeof(f[nf]));
                f[nf].name = proto_cstr("tags");
                f[nf].value.type = PV_STRLIST;
                f[nf].value.u.list.items = &tag;
                f[nf].value.u.list.n = 1;
                nf++;
                w.info = kind == 0 ? 1 : 2; /* lives_alone, elderly: bits 0 and 1 */
                w.deadline = w.since + (kind == 0 ? cfg.unvisited_days_alone : cfg.unvisited_days) * DAY;
                w.due = w.deadline;
            }
        } else {
            /* a care request of one of the residents, made up to 10 days ago */
            int prio = (int)(rng(&seed) % 3);
            static const char *const prios[] = {"low", "normal", "urgent"};
            int who = (int)(rng(&seed) % (uint64_t)n_res);
            memset(&f[nf], 0, sizeof(f[nf]));
            f[nf].name = proto_cstr("resident");
            f[nf].value.type = PV_BIN;
            f[nf].value.u.s.ptr = (const char *)rids[who];
            f[nf].value.u.s.len = 16;
            nf++;
            uuid_format(rids[who], w.ref);
            f[nf++] = text_field("grid", grid);
            f[nf++] = text_field("category", "meal");
            f[nf++] = text_field("priority", prios[prio]);
            f[nf++] = text_field("status", "open");
            memset(&f[nf], 0, sizeof(f[nf]));
            f[nf].name = proto_cstr("requested_at");
            f[nf].value.type = PV_INT;
            w.since = t0 - (int64_t)(rng(&seed) % (uint64_t)(10 * DAY));
            f[nf].value.u.i = w.since;
            nf++;
            snprintf(w.rule, sizeof(w.rule), "care_overdue");
            w.info = prio;
            w.deadline = w.since + (prio == 2 ? 24 : prio == 1 ? 72 : 168) * INT64_C(3600000);
            w.due = w.deadline;
        }
        if (!care)
            memcpy(rids[i], id, 16);
        merge_init(&m, st, &clock, &arena, t0);
        if (merge_server_put(&m, care ? "care" : "resident", id, f, nf, NULL, &err))
            die("record", err.msg);
        if (store_watch_put(st, &w, &err))
            die("watch", err.msg);
        arena_free(&arena);
        if ((i % 10000 == 9999 || i == n_res + n_care - 1) && store_commit(st, &err))
            die("commit", err.msg);
    }

    /* a week later: every warning whose time came opens */
    clock_ms = t0 + 7 * DAY;
    w0 = write_bytes();
    cpu0 = tbench_cpu_s();
    t = tbench_now_s();
    do {
        gs_arena arena;
        warn_batch wb;
        arena_init(&arena, SVAL_ARENA_MAX);
        if (store_begin(st, &err))
            die("begin", err.msg);
        warn_init(&wb, &cfg, st, &clock, &arena, clock_ms);
        if (warn_sweep(&wb, SWEEP_ROWS, &n, &err) || store_commit(st, &err))
            die("sweep", err.msg);
        opened += wb.n_opened;
        txns++;
        arena_free(&arena);
    } while (n == SWEEP_ROWS);
    full_s = tbench_now_s() - t;
    sweep_bytes = write_bytes() - w0;
    full_cpu = tbench_cpu_s() - cpu0;
    /* and the next minute: nothing is due */
    clock_ms += 60000;
    t = tbench_now_s();
    {
        gs_arena arena;
        warn_batch wb;
        arena_init(&arena, SVAL_ARENA_MAX);
        if (store_begin(st, &err))
            die("begin", err.msg);
        warn_init(&wb, &cfg, st, &clock, &arena, clock_ms);
        if (warn_sweep(&wb, SWEEP_ROWS, &n, &err) || store_commit(st, &err))
            die("sweep", err.msg);
        arena_free(&arena);
    }
    steady_s = tbench_now_s() - t;
    /* every subject evaluated again: with the same thresholds (a restart: the pass reads
     * every watch row and settles none), then after unvisited_days_alone 7 -> 10 (the
     * warnings of those last visited 7 to 10 days ago clear) */
    t = tbench_now_s();
    if (warn_rederive(&cfg, st, &clock, clock_ms, &same_n, &err))
        die("rederive", err.msg);
    same_s = tbench_now_s() - t;
    cfg.unvisited_days_alone = 10;
    opened_before = count_open(st);
    t = tbench_now_s();
    if (warn_rederive(&cfg, st, &clock, clock_ms, &changed_n, &err))
        die("rederive", err.msg);
    changed_s = tbench_now_s() - t;
    printf("{\"bench\":\"srv_warn_sweep\",\"residents\":%d,\"care\":%d,\"grids\":%d,"
           "\"catch_up_sweep_s\":%.3f,\"catch_up_sweep_cpu_s\":%.3f,\"opened\":%u,\"transactions\":%u,"
           "\"us_per_warning\":%.1f,\"bytes_written_per_warning\":%lld,"
           "\"steady_sweep_ms\":%.2f,\"steady_rows\":%u}\n",
           n_res, n_care, GRIDS, full_s, full_cpu, opened, txns,
           opened ? full_s * 1e6 / opened : 0, opened ? sweep_bytes / (long long)opened : 0,
           steady_s * 1000, n);
    printf("{\"bench\":\"srv_warn_full_pass\",\"watch_rows\":%d,\"unchanged_s\":%.3f,"
           "\"unchanged_settled\":%llu,\"threshold_7_to_10_s\":%.3f,"
           "\"threshold_7_to_10_settled\":%llu,\"threshold_7_to_10_cleared\":%lld}\n",
           n_res + n_care, same_s, (unsigned long long)same_n, changed_s,
           (unsigned long long)changed_n, opened_before - count_open(st));
    store_close(st);
    free(rids);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_srv_warn: could not remove %s\n", dir);
    return 0;
}
