/*
 * alloc.c: malloc wrappers with a failure-injection countdown for tests, and byte counters
 * for the memory benchmark.
 *
 * The countdown and the counters are the only process-wide mutable state in the libraries:
 * the countdown exists only so tests can fail allocation N, and at its default (-1) it is
 * never touched by an allocation; the counters only add and subtract what malloc reports
 * for each block (relaxed atomics: a few nanoseconds per call, measured in
 * docs/BENCHMARKS.md), and no code path reads them but gs_alloc_counts_get.
 * Invariant: in_use is the sum of malloc_usable_size over the blocks allocated here and not
 * yet freed through gs_free/gs_realloc; peak >= in_use.
 */
#include "alloc.h"

#include <malloc.h> /* malloc_usable_size: glibc, bionic and musl */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long fail_countdown = -1;
static _Atomic size_t bytes_in_use;
static _Atomic size_t bytes_peak;
static _Atomic uint64_t n_allocs;

static void count_add(void *p)
{
    size_t n, now, peak;

    if (!p)
        return;
    n = malloc_usable_size(p);
    now = atomic_fetch_add_explicit(&bytes_in_use, n, memory_order_relaxed) + n;
    atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    peak = atomic_load_explicit(&bytes_peak, memory_order_relaxed);
    while (now > peak &&
           !atomic_compare_exchange_weak_explicit(&bytes_peak, &peak, now, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static void count_sub(size_t n)
{
    atomic_fetch_sub_explicit(&bytes_in_use, n, memory_order_relaxed);
}

void gs_alloc_counts_get(gs_alloc_counts *out)
{
    out->in_use = atomic_load_explicit(&bytes_in_use, memory_order_relaxed);
    out->peak = atomic_load_explicit(&bytes_peak, memory_order_relaxed);
    out->allocs = atomic_load_explicit(&n_allocs, memory_order_relaxed);
}

void gs_alloc_peak_reset(void)
{
    atomic_store(&bytes_peak, atomic_load(&bytes_in_use));
}

void gs_alloc_fail_after(long n)
{
    atomic_store(&fail_countdown, n);
}

static int should_fail(void)
{
    long left = atomic_load(&fail_countdown);
    if (left < 0)
        return 0;
    if (left == 0)
        return 1;
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void *gs_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    void *p = malloc(n ? n : 1);
    count_add(p);
    return p;
}

void *gs_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    count_add(p);
    return p;
}

void *gs_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    size_t old = p ? malloc_usable_size(p) : 0;
    void *q = realloc(p, n ? n : 1);
    if (q) { /* on failure p is still held, and still counted */
        count_sub(old);
        count_add(q);
    }
    return q;
}

void gs_free(void *p)
{
    if (p)
        count_sub(malloc_usable_size(p));
    free(p);
}

char *gs_strndup(const char *s, size_t n)
{
    char *copy;

    if (!s)
        return NULL;
    copy = gs_malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

char *gs_strdup(const char *s)
{
    return s ? gs_strndup(s, strlen(s)) : NULL;
}
