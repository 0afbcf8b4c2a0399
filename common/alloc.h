/*
 * alloc.h: the one allocation wrapper of gridsync.
 *
 * Every allocation in common/, proto/, client/ and server/ goes through these so that a test
 * can make the Nth allocation fail (gs_alloc_fail_after) and check that each path reports
 * GS_E_NOMEM and leaks nothing. Library code never aborts on out-of-memory.
 *
 * They also count the bytes the libraries hold (as malloc_usable_size reports them), so a
 * benchmark can tell gridsync's own heap from SQLite's (sqlite3_status) and from what
 * libcurl, OpenSSL, zlib and msgpack-c allocate (docs/BENCHMARKS.md, issue 21).
 */
#ifndef GS_COMMON_ALLOC_H
#define GS_COMMON_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "client/gridsync_rc.h" /* GS_API */

void *gs_malloc(size_t n);
void *gs_calloc(size_t count, size_t size);
void *gs_realloc(void *p, size_t n);
/* Public too (gridsync.h): what frees the strings the library hands an app. */
GS_API void gs_free(void *p);
char *gs_strdup(const char *s);
char *gs_strndup(const char *s, size_t n);

/* Test hook: the next n allocations succeed, every later one fails, until called with -1
 * (the default: never fail). Process-wide by nature; used only by tests. */
void gs_alloc_fail_after(long n);

/* The heap gridsync's own code holds through these wrappers, process-wide: bytes in use
 * now, the most in use since the start or the last gs_alloc_peak_reset, and how many
 * allocations were made. A block allocated here and freed elsewhere (or the reverse)
 * would skew the counts, never memory: every block is malloc's own. */
typedef struct gs_alloc_counts {
    size_t in_use;   /* bytes held now */
    size_t peak;     /* the most held at once */
    uint64_t allocs; /* successful gs_malloc/gs_calloc/gs_realloc calls */
} gs_alloc_counts;

void gs_alloc_counts_get(gs_alloc_counts *out);
/* Starts a new peak from what is in use now. */
void gs_alloc_peak_reset(void);

#endif
