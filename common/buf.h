/*
 * buf.h: a growable byte buffer with a hard cap, for everything read from a network or a
 * file (in the manner of curl's dynbuf). Appending past the cap fails with GS_E_TOO_LARGE
 * and leaves the buffer as it was. The content is always NUL-terminated for convenience;
 * the terminator is not counted in len.
 */
#ifndef GS_COMMON_BUF_H
#define GS_COMMON_BUF_H

#include <stddef.h>

typedef struct gs_buf {
    char *ptr;   /* NULL until the first append */
    size_t len;  /* bytes in use, excluding the NUL terminator */
    size_t cap;  /* bytes allocated */
    size_t max;  /* hard cap on len */
} gs_buf;

/* Cannot fail; allocates nothing. */
void buf_init(gs_buf *b, size_t max);
void buf_free(gs_buf *b);
/* Forgets the content, keeps the allocation. */
void buf_reset(gs_buf *b);
int buf_add(gs_buf *b, const void *data, size_t n);
int buf_adds(gs_buf *b, const char *s);
int buf_addf(gs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes room for n more bytes without changing len. */
int buf_reserve(gs_buf *b, size_t n);
/* Appends the whole content of the file at path. Errors, with a message in err naming the
 * file: GS_E_NOTFOUND (no such file), GS_E_IO (cannot open or read), GS_E_TOO_LARGE (over
 * b->max; b keeps what it held before), GS_E_NOMEM. */
struct gs_err;
int buf_read_file(gs_buf *b, const char *path, struct gs_err *err);

/* Hands the allocation to the caller (who frees it with gs_free) and re-initialises b. */
char *buf_take(gs_buf *b, size_t *len_out);

#endif
