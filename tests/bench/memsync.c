/*
 * memsync.c: one `gridsync sync` of a device database, through libgridsync as the CLI does
 * it, with the client's memory split by who holds it (issue 21, item 5). Run by
 * tests/bench/bench_mem.sh against a real gridsyncd over TLS; prints one JSON line:
 *
 *   memsync LABEL DB
 *
 * What it measures, and how exactly:
 *   gridsync_heap_peak_kb  the most gridsync's own code held at once through common/alloc.c
 *                          (exact: every gs_malloc/gs_free is counted)
 *   sqlite_heap_peak_kb    SQLite's own highwater (sqlite3_status64 MEMORY_USED: the page
 *                          cache, statements, schema; exact)
 *   own_kb                 the two added: the library's own share, an upper bound of what
 *                          it held at any one moment (the two peaks need not coincide)
 *   heap_peak_kb           everything malloc held (mallinfo2: in-use chunks plus mmapped
 *                          blocks, every arena), sampled every millisecond by a thread
 *   other_heap_peak_kb     the largest heap_peak - gridsync - SQLite seen at one sample:
 *                          what libcurl, OpenSSL, zlib and msgpack-c allocated
 *   peak_rss_kb            the kernel's VmHWM at the end (exact)
 *   at_peak                /proc/self/smaps read every 20 ms; the sample with the most
 *                          resident memory, split by mapping: each library's pages (its
 *                          code, read-only data and its own written data), the program,
 *                          the heap and other anonymous memory (malloc's mmapped blocks,
 *                          thread stacks), the stack
 * The sampler thread costs the sync a little CPU; bench_mem.sh times the sync with the CLI.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/gridsync.h"
#include "common/alloc.h"

/* Where a mapping's pages are counted. */
enum { M_CURL, M_SSL, M_CRYPTO, M_SQLITE, M_LIBC, M_OTHER_LIB, M_PROGRAM, M_HEAP, M_ANON,
       M_STACK, M_N };
static const char *const m_names[M_N] = {"libcurl", "libssl", "libcrypto", "libsqlite3",
                                         "libc", "other_libs", "program", "heap", "anon",
                                         "stack"};

#define N_OTHER 48 /* other libraries named one by one */

typedef struct split {
    long rss_kb[M_N];   /* resident pages of each kind */
    long dirty_kb[M_N]; /* of which private dirty (this process's own copy) */
    long total_kb;      /* all resident */
    char other[N_OTHER][64]; /* the other libraries' file names */
    long other_kb[N_OTHER];  /* and their resident pages */
    int n_other;             /* entries used */
} split;

static void add_other(split *out, const char *path, long kb)
{
    const char *base = strrchr(path, '/');
    int i;

    base = base ? base + 1 : path;
    for (i = 0; i < out->n_other; i++)
        if (strcmp(out->other[i], base) == 0)
            break;
    if (i == out->n_other) {
        if (i == N_OTHER)
            return;
        snprintf(out->other[i], sizeof(out->other[i]), "%.63s", base);
        out->n_other++;
    }
    out->other_kb[i] += kb;
}

typedef struct sampler {
    atomic_int stop;      /* set by main when the sync is over */
    char self[512];       /* this program's path, as smaps names it */
    size_t heap_peak;     /* the most malloc held (bytes) */
    size_t other_peak;    /* the most heap outside gridsync and SQLite at one sample */
    split at_peak;        /* the smaps sample with the most resident memory */
    long samples;         /* mallinfo2 samples */
} sampler;

static int kind_of(const char *path, const char *self)
{
    if (!*path)
        return M_ANON;
    if (strcmp(path, "[heap]") == 0)
        return M_HEAP;
    if (strncmp(path, "[stack", 6) == 0)
        return M_STACK;
    if (path[0] == '[') /* [vdso], [vvar]: the kernel's */
        return M_OTHER_LIB;
    if (strcmp(path, self) == 0)
        return M_PROGRAM;
    if (strstr(path, "/libcurl"))
        return M_CURL;
    if (strstr(path, "/libssl"))
        return M_SSL;
    if (strstr(path, "/libcrypto"))
        return M_CRYPTO;
    if (strstr(path, "/libsqlite3"))
        return M_SQLITE;
    if (strstr(path, "/libc.so") || strstr(path, "/ld-linux"))
        return M_LIBC;
    return M_OTHER_LIB;
}

static void read_smaps(const char *self, split *out)
{
    char line[1024], path[512] = "";
    int kind = M_ANON;
    FILE *f = fopen("/proc/self/smaps", "r");

    memset(out, 0, sizeof(*out));
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        char *end;
        long kb;

        if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' ')) {
            /* "start-end perms offset dev inode [path]": the path after the 5th field */
            char *p = line;
            for (int field = 0; field < 5 && p; field++) {
                p = strchr(p, ' ');
                while (p && *p == ' ')
                    p++;
            }
            if (!p)
                p = line + strlen(line);
            p[strcspn(p, "\n")] = '\0';
            kind = kind_of(p, self);
            snprintf(path, sizeof(path), "%s", p);
            continue;
        }
        if (strncmp(line, "Rss:", 4) == 0) {
            kb = strtol(line + 4, &end, 10);
            out->rss_kb[kind] += kb;
            out->total_kb += kb;
            if (kind == M_OTHER_LIB && path[0] == '/')
                add_other(out, path, kb);
        } else if (strncmp(line, "Private_Dirty:", 14) == 0) {
            kb = strtol(line + 14, &end, 10);
            out->dirty_kb[kind] += kb;
        }
    }
    fclose(f);
}

static size_t heap_now(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static size_t sqlite_now(void)
{
    sqlite3_int64 cur = 0, hi = 0;
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &cur, &hi, 0);
    return (size_t)cur;
}

static void sample(sampler *s, int with_smaps)
{
    gs_alloc_counts ac;
    size_t heap = heap_now(), lib;

    gs_alloc_counts_get(&ac);
    lib = ac.in_use + sqlite_now();
    if (heap > s->heap_peak)
        s->heap_peak = heap;
    if (heap > lib && heap - lib > s->other_peak)
        s->other_peak = heap - lib;
    s->samples++;
    if (with_smaps) {
        split sp;
        read_smaps(s->self, &sp);
        if (sp.total_kb > s->at_peak.total_kb)
            s->at_peak = sp;
    }
}

static void *sampler_main(void *ud)
{
    sampler *s = ud;
    struct timespec ms = {0, 1000000};

    for (long i = 0; !atomic_load(&s->stop); i++) {
        sample(s, i % 20 == 0);
        nanosleep(&ms, NULL);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long hwm_kb(void)
{
    char line[256];
    long kb = 0;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

int main(int argc, char **argv)
{
    static sampler s;
    pthread_t th;
    gs_db *db = NULL;
    gs_sync_summary sum;
    gs_alloc_counts ac;
    sqlite3_int64 sq_cur = 0, sq_hi = 0;
    ssize_t n;
    double t0, t1;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: memsync LABEL DB\n");
        return 2;
    }
    n = readlink("/proc/self/exe", s.self, sizeof(s.self) - 1);
    s.self[n > 0 ? n : 0] = '\0';
    if (pthread_create(&th, NULL, sampler_main, &s) != 0) {
        fprintf(stderr, "memsync: no sampler thread\n");
        return 1;
    }
    t0 = now_s();
    rc = gs_db_open(argv[2], &db);
    if (rc == GS_OK)
        rc = gs_sync_run(db, NULL, &sum);
    t1 = now_s();
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    sample(&s, 1);
    if (rc != GS_OK) {
        fprintf(stderr, "memsync: %s\n", db ? gs_db_errmsg(db) : "out of memory");
        gs_db_close(db);
        return 1;
    }
    gs_alloc_counts_get(&ac);
    sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &sq_cur, &sq_hi, 0);
    printf("{\"bench\":\"client_mem_%s\",\"pushed\":%llu,\"pulled\":%llu,\"requests\":%llu,"
           "\"wall_s\":%.3f,\"peak_rss_kb\":%ld,\"own_kb\":%zu,\"gridsync_heap_peak_kb\":%zu,"
           "\"gridsync_allocs\":%llu,\"sqlite_heap_peak_kb\":%lld,\"heap_peak_kb\":%zu,"
           "\"other_heap_peak_kb\":%zu,\"heap_samples\":%ld,\"at_peak\":{\"rss_kb\":%ld",
           argv[1], (unsigned long long)sum.pushed, (unsigned long long)sum.pulled,
           (unsigned long long)sum.requests, t1 - t0, hwm_kb(),
           (ac.peak + (size_t)sq_hi) / 1024, ac.peak / 1024, (unsigned long long)ac.allocs,
           (long long)sq_hi / 1024, s.heap_peak / 1024, s.other_peak / 1024, s.samples,
           s.at_peak.total_kb);
    for (int k = 0; k < M_N; k++)
        printf(",\"%s\":{\"rss_kb\":%ld,\"private_dirty_kb\":%ld}", m_names[k],
               s.at_peak.rss_kb[k], s.at_peak.dirty_kb[k]);
    printf("},\"other_libs_rss_kb\":{");
    for (int k = 0, first = 1; k < s.at_peak.n_other; k++) {
        if (s.at_peak.other_kb[k] < 100) /* the big ones only */
            continue;
        printf("%s\"%s\":%ld", first ? "" : ",", s.at_peak.other[k], s.at_peak.other_kb[k]);
        first = 0;
    }
    printf("}}\n");
    gs_db_close(db);
    return 0;
}
