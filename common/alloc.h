/*
 * alloc.h: the one allocation wrapper of gridsync.
 *
 * Every allocation in common/, proto/, client/ and server/ goes through these so that a test
 * can make the Nth allocation fail (gs_alloc_fail_after) and check that each path reports
 * GS_E_NOMEM and leaks nothing. Library code never aborts on out-of-memory.
 */
#ifndef GS_COMMON_ALLOC_H
#define GS_COMMON_ALLOC_H

#include <stddef.h>

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

#endif
