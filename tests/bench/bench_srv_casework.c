/*
 * bench_srv_casework.c: the merge rate of casework (mediation sessions and errands) against
 * that of visits, the issue-16 requirement "within 10% of visits". The same store, merge and
 * batch size for both: one device of one grid pushes TOTAL new records in batches of BATCH
 * through merge_batch on a fresh store file (no TLS, no HTTP: what differs between the two is
 * the schema's work, references and, for errands, the resident's grid checked against the
 * device's (SF_REF_SCOPED)). Each round merges both on fresh files; the figures printed are
 * medians over BENCH_ROUNDS rounds (default 5, at most 15), as JSON lines:
 *   {"bench":"srv_casework","changes":N,"batch":B,"visits_per_s":..,"casework_per_s":..,
 *    "ratio":casework/visits}
 * Usage: bench_srv_casework [TOTAL]   (default 10,000)
 */
#include "common/hlc.h"
#include "common/uuid.h"
#include "server/merge.h"
#include "server/store.h"
#include "tests/lib/tbench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BATCH 500
#define ROUNDS_MAX 15
#define NF 9 /* most fields of one change */

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_srv_casework: %s: %s\n", what, msg);
    exit(1);
}

static proto_str S(const char *s)
{
    return proto_cstr(s);
}

static proto_field fs(const char *name, proto_value v)
{
    proto_field f;
    memset(&f, 0, sizeof(f));
    f.name = S(name);
    f.value = v;
    return f;
}

static proto_value vs(const char *s)
{
    proto_value v = {.type = PV_STR};
    v.u.s = S(s);
    return v;
}

static proto_value vi(int64_t i)
{
    proto_value v = {.type = PV_INT};
    v.u.i = i;
    return v;
}

static proto_value vref(const uint8_t *id)
{
    proto_value v = {.type = PV_BIN};
    v.u.s.ptr = (const char *)id;
    v.u.s.len = 16;
    return v;
}

static const char NOTES[] = "老人身体状况良好，血压偏高，已提醒按时服药，下周再来看看。";

/* One change of kind k (0 visit, 1 mediation, 2 errand) for resident rid / dispute did. */
static uint32_t fill(proto_field *f, int k, const uint8_t *rid, const uint8_t *did, int64_t at,
                     uint32_t i)
{
    static const char *const matters[] = {"social_security_card", "medical_claim",
                                          "senior_card", "subsistence_allowance"};
    if (k == 0) {
        f[0] = fs("resident", vref(rid));
        f[1] = fs("grid", vs("东风村1组"));
        f[2] = fs("worker", vs("王芳"));
        f[3] = fs("visited_at", vi(at));
        f[4] = fs("kind", vs("routine"));
        f[5] = fs("notes", vs(NOTES));
        f[6] = fs("follow_up", (proto_value){.type = PV_BOOL, .u.b = (int)(i % 5 == 0)});
        f[7] = fs("lat", (proto_value){.type = PV_REAL, .u.r = 33.7 + (double)(i % 100) / 1e4});
        f[8] = fs("lon", (proto_value){.type = PV_REAL, .u.r = 114.4 + (double)(i % 77) / 1e4});
        return 9;
    }
    if (k == 1) {
        f[0] = fs("dispute", vref(did));
        f[1] = fs("grid", vs("东风村1组"));
        f[2] = fs("held_at", vi(at));
        f[3] = fs("worker", vs("王芳"));
        f[4] = fs("participants", vs("双方当事人、村调委会"));
        f[5] = fs("agreed", vs(NOTES));
        f[6] = fs("next_step", vs("一周后回访"));
        return 7;
    }
    f[0] = fs("resident", vref(rid));
    f[1] = fs("grid", vs("东风村1组"));
    f[2] = fs("matter", vs(matters[i % 4]));
    f[3] = fs("status", vs("requested"));
    f[4] = fs("requested_at", vi(at));
    f[5] = fs("assignee", vs("王芳"));
    f[6] = fs("notes", vs(NOTES));
    return 7;
}

/* Merges total records (visits when casework is 0, else mediations and errands in turn) on
 * a fresh store in dir; returns changes per second of merge_batch and commit. */
static double run(const char *dir, int casework, uint32_t total, int round)
{
    char path[300];
    store *st = NULL;
    store_device dev;
    hlc clock;
    gs_arena arena;
    gs_err err;
    uint8_t rid[16], did[16];
    proto_change *ch = calloc(BATCH, sizeof(*ch));
    proto_field *fl = calloc((size_t)BATCH * NF, sizeof(*fl));
    uint8_t (*ids)[16] = calloc(BATCH, 16);
    proto_ack *acks = calloc(BATCH, sizeof(*acks));
    int64_t at = (int64_t)time(NULL) * 1000 - INT64_C(5) * 86400000;
    uint64_t seq = 1;
    double t0, t = 0;

    if (!ch || !fl || !ids || !acks)
        die("memory", "out of memory");
    snprintf(path, sizeof(path), "%s/cw-%d-%d.db", dir, casework, round);
    if (store_open(&st, path, &err))
        die("store", err.msg);
    hlc_init(&clock, 0, 300000, NULL, NULL);
    memset(&dev, 0, sizeof(dev));
    snprintf(dev.id, sizeof(dev.id), "d-bench");
    snprintf(dev.name, sizeof(dev.name), "bench");
    snprintf(dev.grids[0], sizeof(dev.grids[0]), "东风村1组");
    dev.n_grids = 1;
    if (store_begin(st, &err) || store_device_add(st, &dev, &err) || store_commit(st, &err) ||
        store_device_get(st, "d-bench", 7, &dev, &err))
        die("device", err.msg);
    /* the resident and the dispute every change refers to, in a batch of their own */
    for (int k = 0; k < 2; k++) {
        proto_sync_req req;
        merge_ctx m;
        proto_field *f = fl;
        uint32_t n;
        memset(&ch[0], 0, sizeof(ch[0]));
        if (uuid_v7(k ? did : rid, (uint64_t)at))
            die("uuid", "v7");
        if (k == 0) {
            f[0] = fs("name", vs("王秀英"));
            f[1] = fs("grid", vs("东风村1组"));
            n = 2;
        } else {
            f[0] = fs("party", vref(rid));
            f[1] = fs("grid", vs("东风村1组"));
            f[2] = fs("category", vs("homestead"));
            f[3] = fs("summary", vs("宅基地边界争议"));
            f[4] = fs("reported_at", vi(at));
            f[5] = fs("status", vs("reported"));
            n = 6;
        }
        ch[0].seq = seq++;
        ch[0].table = S(k ? "dispute" : "resident");
        memcpy(ch[0].id, k ? did : rid, 16);
        ch[0].fields = f;
        ch[0].n_fields = n;
        if (hlc_now(&clock, &ch[0].hlc))
            die("hlc", "now");
        memset(&req, 0, sizeof(req));
        req.version = 2;
        req.device = S(dev.id);
        req.low = 1;
        req.changes = ch;
        req.n_changes = 1;
        arena_init(&arena, SVAL_ARENA_MAX);
        merge_init(&m, st, &clock, &arena, (int64_t)time(NULL) * 1000);
        if (store_begin(st, &err) || merge_batch(&m, &dev, &req, acks, &err) ||
            store_commit(st, &err))
            die("setup batch", err.msg);
        if (!acks[0].ok)
            die("setup rejected", acks[0].msg.ptr ? acks[0].msg.ptr : "?");
        arena_free(&arena);
    }
    for (uint32_t done = 0; done < total;) {
        proto_sync_req req;
        merge_ctx m;
        uint32_t n = total - done < BATCH ? total - done : BATCH;
        for (uint32_t i = 0; i < n; i++) {
            int kind = casework ? 1 + (int)((done + i) % 2) : 0;
            at += 30000;
            if (uuid_v7(ids[i], (uint64_t)at))
                die("uuid", "v7");
            memset(&ch[i], 0, sizeof(ch[i]));
            ch[i].seq = seq++;
            ch[i].table = S(kind == 0 ? "visit" : kind == 1 ? "mediation" : "errand");
            memcpy(ch[i].id, ids[i], 16);
            ch[i].fields = &fl[(size_t)i * NF];
            ch[i].n_fields = fill(ch[i].fields, kind, rid, did, at, done + i);
            if (hlc_now(&clock, &ch[i].hlc))
                die("hlc", "now");
        }
        memset(&req, 0, sizeof(req));
        req.version = 2;
        req.device = S(dev.id);
        req.low = 1;
        req.changes = ch;
        req.n_changes = n;
        arena_init(&arena, SVAL_ARENA_MAX);
        t0 = tbench_now_s();
        merge_init(&m, st, &clock, &arena, (int64_t)time(NULL) * 1000);
        if (store_begin(st, &err) || merge_batch(&m, &dev, &req, acks, &err) ||
            store_commit(st, &err))
            die("batch", err.msg);
        t += tbench_now_s() - t0;
        for (uint32_t i = 0; i < n; i++)
            if (!acks[i].ok)
                die("rejected", acks[i].msg.ptr ? acks[i].msg.ptr : "?");
        arena_free(&arena);
        done += n;
    }
    store_close(st);
    free(ch);
    free(fl);
    free(ids);
    free(acks);
    return (double)total / t;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), tbench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/bench-casework-XXXXXX", cmd[64];
    uint32_t total = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000;
    const char *env = getenv("BENCH_ROUNDS");
    int rounds = env ? (int)strtol(env, NULL, 10) : 5;
    double v[ROUNDS_MAX], c[ROUNDS_MAX], mv, mc;

    if (rounds < 1 || rounds > ROUNDS_MAX)
        rounds = 5;
    if (total == 0 || !mkdtemp(dir))
        die("setup", "usage: bench_srv_casework [TOTAL], or no temporary folder");
    for (int r = 0; r < rounds; r++) {
        v[r] = run(dir, 0, total, r);
        c[r] = run(dir, 1, total, r);
    }
    mv = median(v, rounds);
    mc = median(c, rounds);
    printf("{\"bench\":\"srv_casework\",\"rounds\":%d,\"changes\":%u,\"batch\":%d,"
           "\"visits_per_s\":%.0f,\"casework_per_s\":%.0f,\"ratio\":%.3f}\n",
           rounds, total, BATCH, mv, mc, mc / mv);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
