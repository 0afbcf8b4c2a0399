/*
 * arena.h: the one region allocator of gridsync. Many small allocations that die together
 * (a decoded message, the values one request reads from the store, a decoded outbox blob)
 * come from chunks that are freed at once.
 *
 * Invariants:
 *  - every pointer handed out is zeroed and aligned for any type (max_align_t);
 *  - an arena never hands out more than its max bytes in total (counted after rounding to
 *    the alignment), so input cannot make it allocate without bound; past the cap, or when
 *    gs_malloc fails, an allocation returns NULL and the arena stays valid;
 *  - chunks come from gs_malloc (so allocation-failure tests reach them): the first is
 *    ARENA_FIRST_CHUNK bytes, each next one twice the last up to ARENA_MAX_CHUNK, and a
 *    request larger than that gets a chunk of its own;
 *  - a zeroed gs_arena is empty with a cap of 0 (every allocation fails): set it up with
 *    arena_init. arena_free of an empty or zeroed arena is a no-op.
 */
#ifndef GS_COMMON_ARENA_H
#define GS_COMMON_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define ARENA_FIRST_CHUNK 4096u
#define ARENA_MAX_CHUNK (1024u * 1024u)
#define ARENA_NO_CAP SIZE_MAX /* max for an arena bounded only by its caller's input */

typedef struct arena_chunk arena_chunk;

typedef struct gs_arena {
    arena_chunk *head; /* newest chunk first; NULL when nothing was allocated */
    size_t used;       /* bytes handed out over all chunks */
    size_t max;        /* cap on used */
} gs_arena;

/* Cannot fail; allocates nothing. */
void arena_init(gs_arena *a, size_t max);
/* n bytes (1 when n is 0), zeroed; NULL when out of memory or over the cap. */
void *arena_alloc(gs_arena *a, size_t n);
/* count * size bytes, NULL also when the product overflows. */
void *arena_alloc_array(gs_arena *a, size_t count, size_t size);
/* A NUL-terminated copy of s[0..n) (s may be NULL when n is 0); NULL on failure. */
char *arena_strndup(gs_arena *a, const char *s, size_t n);
/* Frees every chunk; the arena is empty afterwards, with the same cap. */
void arena_free(gs_arena *a);

#endif
