/*
 * bench_client_crypt.c: what encryption at rest costs a write (docs/BENCHMARKS.md, figure
 * 12). Built only on SQLCipher (make SQLCIPHER=1; `make bench` builds it into
 * build/release-sqlcipher and tests/bench/bench_crypt.sh runs it): the same library, the
 * same visits, once on a plain file (no key) and once on an encrypted one, alternating,
 * median of REPEATS runs on fresh files. One JSON line:
 *   - open: gs_db_open vs gs_db_open_key (SQLCipher derives the page key with PBKDF2 on
 *     every open: what each `gridsync` command pays once);
 *   - one visit per durable transaction (gs_db_add), per operation;
 *   - 10,000 visits in one transaction (gs_db_begin ... gs_db_commit), per second.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/gridsync.h"
#include "tests/lib/tbench.h"
#include "tests/lib/tdir.h"

#define SINGLE_N 200
#define BATCH_N 10000
#define OPENS 5
#define REPEATS 5
#define KEY "a passphrase the app keeps in the Android Keystore"

static const char *const phrases[] = {"老人身体状况良好", "血压偏高", "已提醒按时服药",
                                      "家中卫生整洁", "子女在外打工", "厨房燃气管道老化",
                                      "宣传新农合缴费政策", "已现场调解", "情绪稳定"};

static void die(gs_db *db, const char *what)
{
    fprintf(stderr, "bench_client_crypt: %s: %s\n", what, db ? gs_db_errmsg(db) : "?");
    exit(1);
}

static gs_db *open_db(const char *path, int keyed)
{
    gs_db *db = NULL;
    if (gs_db_open_key(path, keyed ? KEY : NULL, keyed ? strlen(KEY) : 0, &db) != GS_OK)
        die(db, "open");
    return db;
}

static gs_db *fresh(const char *dir, int k, int keyed, char resident[40])
{
    static const char ca[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    const char *grids[] = {"东风村3组"};
    gs_device_config cfg = {.device_id = "dev-1", .token = "dev-1.secret",
                            .server_url = "https://127.0.0.1:8443", .ca_pem = ca,
                            .ca_pem_len = sizeof(ca) - 1, .grids = grids, .n_grids = 1};
    char path[256];
    gs_record *r;
    gs_db *db;

    snprintf(path, sizeof(path), "%s/%s-%d.db", dir, keyed ? "key" : "plain", k);
    db = open_db(path, keyed);
    if (gs_db_init_device(db, &cfg) != GS_OK)
        die(db, "init");
    if (gs_record_new(db, "resident", &r) || gs_record_set_str(r, "name", "张秀兰") ||
        gs_db_add(db, r))
        die(db, "resident");
    snprintf(resident, 40, "%s", gs_record_id(r));
    gs_record_free(r);
    return db;
}

static void add_visit(gs_db *db, const char *resident, uint64_t *seed)
{
    char notes[512] = "";
    size_t len = 0;
    gs_record *v;

    while (len < 200) {
        const char *p = phrases[tbench_rng(seed) % (sizeof(phrases) / sizeof(phrases[0]))];
        len += (size_t)snprintf(notes + len, sizeof(notes) - len, "%s，", p);
    }
    if (gs_record_new(db, "visit", &v) || gs_record_set_ref(v, "resident", resident) ||
        gs_record_set_str(v, "kind", "routine") || gs_record_set_str(v, "notes", notes) ||
        gs_db_add(db, v))
        die(db, "visit");
    gs_record_free(v);
}

/* Seconds for n visits, one transaction each (batch 0) or all in one. */
static double run(const char *dir, int k, int keyed, size_t n, int batch)
{
    char resident[40];
    uint64_t seed = UINT64_C(20261204);
    gs_db *db = fresh(dir, k, keyed, resident);
    double t0 = tbench_now_s(), t;

    if (batch && gs_db_begin(db) != GS_OK)
        die(db, "begin");
    for (size_t i = 0; i < n; i++)
        add_visit(db, resident, &seed);
    if (batch && gs_db_commit(db) != GS_OK)
        die(db, "commit");
    t = tbench_now_s() - t0;
    gs_db_close(db);
    return t;
}

static double open_s(const char *dir, int keyed)
{
    char path[256];
    double t0;
    gs_db *db;

    snprintf(path, sizeof(path), "%s/%s-0.db", dir, keyed ? "key" : "plain");
    t0 = tbench_now_s();
    db = open_db(path, keyed);
    t0 = tbench_now_s() - t0;
    gs_db_close(db);
    return t0;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), tbench_cmp_double);
    return v[n / 2];
}

int main(void)
{
    char dir[TDIR_MAX];
    double sp[REPEATS], sk[REPEATS], bp[REPEATS], bk[REPEATS], op[OPENS], ok[OPENS];
    double single_p, single_k, batch_p, batch_k, open_p, open_k;

    if (!gs_db_can_encrypt()) {
        fprintf(stderr, "bench_client_crypt: this build has no SQLCipher (make SQLCIPHER=1)\n");
        return 1;
    }
    if (tdir_make(dir, "bench-crypt"))
        return 1;
    for (int r = 0; r < REPEATS; r++) {
        sp[r] = run(dir, 2 * r, 0, SINGLE_N, 0);
        sk[r] = run(dir, 2 * r, 1, SINGLE_N, 0);
        bk[r] = run(dir, 2 * r + 1, 1, BATCH_N, 1);
        bp[r] = run(dir, 2 * r + 1, 0, BATCH_N, 1);
    }
    for (int r = 0; r < OPENS; r++) {
        op[r] = open_s(dir, 0);
        ok[r] = open_s(dir, 1);
    }
    single_p = median(sp, REPEATS) / SINGLE_N * 1e3;
    single_k = median(sk, REPEATS) / SINGLE_N * 1e3;
    batch_p = BATCH_N / median(bp, REPEATS);
    batch_k = BATCH_N / median(bk, REPEATS);
    open_p = median(op, OPENS) * 1e3;
    open_k = median(ok, OPENS) * 1e3;
    printf("{\"bench\":\"client_crypt_write\",\"engine\":\"SQLCipher %s\","
           "\"single_plain_ms\":%.3f,\"single_encrypted_ms\":%.3f,\"single_ratio\":%.2f,"
           "\"batch_%d_plain_per_s\":%.0f,\"batch_%d_encrypted_per_s\":%.0f,\"batch_ratio\":%.2f,"
           "\"open_plain_ms\":%.2f,\"open_encrypted_ms\":%.2f,"
           "\"note\":\"same library on SQLCipher, no key vs a key; median of %d\"}\n",
           "3.4.1", single_p, single_k, single_k / single_p, BATCH_N, batch_p, BATCH_N, batch_k,
           batch_p / batch_k, open_p, open_k, REPEATS);
    tdir_remove(dir);
    return 0;
}
