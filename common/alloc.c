/*
 * alloc.c: malloc wrappers with a failure-injection countdown for tests.
 *
 * The countdown is the one piece of process-wide mutable state in the libraries: it exists
 * only so tests can fail allocation N, it is atomic, and at its default (-1) it is never
 * touched by an allocation.
 */
#include "alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long fail_countdown = -1;

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
    return malloc(n ? n : 1);
}

void *gs_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *gs_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void gs_free(void *p)
{
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
