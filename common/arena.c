/* arena.c: see arena.h. */
#include "arena.h"

#include "alloc.h"

#include <stdalign.h>
#include <string.h>

/* One block of storage; blocks are chained newest first. */
struct arena_chunk {
    arena_chunk *next;  /* the previous (older) chunk, or NULL */
    size_t size;        /* bytes of data */
    size_t used;        /* bytes of data handed out */
    max_align_t data[]; /* the storage, aligned for any type */
};

void arena_init(gs_arena *a, size_t max)
{
    a->head = NULL;
    a->used = 0;
    a->max = max;
}

void *arena_alloc(gs_arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    arena_chunk *c = a->head;
    void *p;

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - align - sizeof(*c))
        return NULL;
    /* the cap counts what is handed out, so it is checked after rounding */
    n = (n + align - 1) / align * align;
    if (n > a->max || a->used > a->max - n)
        return NULL;
    if (!c || c->size - c->used < n) {
        size_t size = c ? c->size * 2 : ARENA_FIRST_CHUNK;
        if (size > ARENA_MAX_CHUNK)
            size = ARENA_MAX_CHUNK;
        if (size < n)
            size = n;
        c = gs_malloc(sizeof(*c) + size);
        if (!c)
            return NULL;
        c->next = a->head;
        c->size = size;
        c->used = 0;
        a->head = c;
    }
    p = (unsigned char *)c->data + c->used;
    c->used += n;
    a->used += n;
    memset(p, 0, n);
    return p;
}

void *arena_alloc_array(gs_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return arena_alloc(a, count * size);
}

char *arena_strndup(gs_arena *a, const char *s, size_t n)
{
    char *p = n < SIZE_MAX ? arena_alloc(a, n + 1) : NULL;

    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void arena_free(gs_arena *a)
{
    arena_chunk *c = a->head;

    while (c) {
        arena_chunk *next = c->next;
        gs_free(c);
        c = next;
    }
    a->head = NULL;
    a->used = 0;
}
