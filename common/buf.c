/* buf.c: see buf.h. Growth doubles, bounded by max + 1 (room for the terminator). */
#include "buf.h"

#include "alloc.h"
#include "rc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void buf_init(gs_buf *b, size_t max)
{
    b->ptr = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_free(gs_buf *b)
{
    gs_free(b->ptr);
    buf_init(b, b->max);
}

void buf_reset(gs_buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

int buf_reserve(gs_buf *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (n > b->max || b->len > b->max - n)
        return GS_E_TOO_LARGE;
    need = b->len + n + 1;
    if (need <= b->cap)
        return GS_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > (size_t)-1 / 2 ? need : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    p = gs_realloc(b->ptr, cap);
    if (!p)
        return GS_E_NOMEM;
    b->ptr = p;
    b->cap = cap;
    return GS_OK;
}

int buf_add(gs_buf *b, const void *data, size_t n)
{
    int rc = buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return GS_OK;
}

int buf_adds(gs_buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addf(gs_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return GS_E_INVALID;
    rc = buf_reserve(b, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return GS_OK;
}

int buf_read_file(gs_buf *b, const char *path, gs_err *err)
{
    FILE *f = fopen(path, "rb");
    size_t start = b->len, n;
    char chunk[4096];
    int rc = GS_OK;

    if (!f)
        return gs_err_set(err, errno == ENOENT ? GS_E_NOTFOUND : GS_E_IO,
                          "cannot open %s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = buf_add(b, chunk, n);
        if (rc)
            break;
    }
    if (!rc && ferror(f))
        rc = GS_E_IO;
    fclose(f);
    if (!rc)
        return GS_OK;
    b->len = start; /* all or nothing */
    if (b->ptr)
        b->ptr[start] = '\0';
    if (rc == GS_E_TOO_LARGE)
        return gs_err_set(err, rc, "%s is larger than %zu bytes", path, b->max - start);
    return gs_err_set(err, rc, "cannot read %s: %s", path, gs_strerror(rc));
}

char *buf_take(gs_buf *b, size_t *len_out)
{
    char *p = b->ptr;
    if (len_out)
        *len_out = b->len;
    buf_init(b, b->max);
    return p;
}
