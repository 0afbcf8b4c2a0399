/*
 * zbody.c: see zbody.h. Output grows in steps of at most ZCHUNK bytes through the capped
 * buffer (which doubles its allocation, bounded by its max), so memory follows what zlib
 * has produced, not what the input could become.
 */
#include "zbody.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#define ZCHUNK 65536u

int zbody_inflate(const void *in, size_t len, size_t max, gs_buf *out, gs_err *err)
{
    z_stream zs;
    size_t len0 = out->len;
    int rc = GS_OK, zrc;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return gs_err_set(err, GS_E_NOMEM, "inflate: cannot start zlib");
    if (len > UINT_MAX) {
        rc = gs_err_set(err, GS_E_TOO_LARGE, "compressed body too large");
        goto out;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    do {
        size_t room, got = out->len - len0;
        if (got >= max) {
            /* the cap is reached: one more byte of output means the body is too large */
            unsigned char probe;
            zs.next_out = &probe;
            zs.avail_out = 1;
            zrc = inflate(&zs, Z_NO_FLUSH);
            if (zs.avail_out == 0) {
                rc = gs_err_set(err, GS_E_TOO_LARGE, "inflated body is over the limit of %zu bytes",
                                max);
                goto out;
            }
        } else {
            room = max - got < ZCHUNK ? max - got : ZCHUNK;
            rc = buf_reserve(out, room);
            if (rc) {
                gs_err_set(err, rc, "inflate: out of memory");
                goto out;
            }
            zs.next_out = (Bytef *)out->ptr + out->len;
            zs.avail_out = (uInt)room;
            zrc = inflate(&zs, Z_NO_FLUSH);
            out->len += room - zs.avail_out;
            out->ptr[out->len] = '\0';
        }
        if (zrc == Z_STREAM_END)
            break;
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0) {
            rc = gs_err_set(err, GS_E_PROTO, "deflate body ends before its stream does");
            goto out;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = gs_err_set(err, zrc == Z_MEM_ERROR ? GS_E_NOMEM : GS_E_PROTO,
                            "deflate body is corrupt: %s", zs.msg ? zs.msg : "zlib error");
            goto out;
        }
    } while (1);
    if (zs.avail_in != 0)
        rc = gs_err_set(err, GS_E_PROTO, "%u bytes follow the end of the deflate stream",
                        zs.avail_in);
out:
    inflateEnd(&zs);
    if (rc) {
        out->len = len0;
        if (out->ptr)
            out->ptr[len0] = '\0';
    }
    return rc;
}

int zbody_deflate(const void *in, size_t len, int level, gs_buf *out, gs_err *err)
{
    z_stream zs;
    size_t len0 = out->len;
    int rc = GS_OK, zrc;

    if (level < 0 || level > 9)
        return gs_err_set(err, GS_E_INVALID, "deflate: level %d is not 0..9", level);
    memset(&zs, 0, sizeof(zs));
    if (deflateInit(&zs, level) != Z_OK)
        return gs_err_set(err, GS_E_NOMEM, "deflate: cannot start zlib");
    if (len > UINT_MAX) {
        rc = gs_err_set(err, GS_E_TOO_LARGE, "body too large to compress");
        goto out;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)len;
    do {
        size_t room = ZCHUNK;
        if (out->max - out->len < room)
            room = out->max - out->len;
        if (room == 0) {
            rc = gs_err_set(err, GS_E_TOO_LARGE, "compressed body over the limit of %zu bytes",
                            out->max - len0);
            goto out;
        }
        rc = buf_reserve(out, room);
        if (rc) {
            gs_err_set(err, rc, "deflate: out of memory");
            goto out;
        }
        zs.next_out = (Bytef *)out->ptr + out->len;
        zs.avail_out = (uInt)room;
        zrc = deflate(&zs, Z_FINISH);
        out->len += room - zs.avail_out;
        out->ptr[out->len] = '\0';
        if (zrc == Z_STREAM_ERROR) {
            rc = gs_err_set(err, GS_E_IO, "deflate failed");
            goto out;
        }
    } while (zrc != Z_STREAM_END);
out:
    deflateEnd(&zs);
    if (rc) {
        out->len = len0;
        if (out->ptr)
            out->ptr[len0] = '\0';
    }
    return rc;
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int token_is(const char *p, size_t n, const char *word)
{
    size_t wl = strlen(word);
    if (n != wl)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)p[i]) != word[i])
            return 0;
    return 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces around p[0..*n). */
static const char *trim(const char *p, size_t *n)
{
    while (*n && is_space(*p)) {
        p++;
        (*n)--;
    }
    while (*n && is_space(p[*n - 1]))
        (*n)--;
    return p;
}

/* q=0 (or 0.0, 0.00, 0.000) in the parameters after ';'. */
static int q_zero(const char *p, size_t n)
{
    while (n) {
        const char *semi = memchr(p, ';', n);
        size_t plen = semi ? (size_t)(semi - p) : n;
        const char *q = p;
        size_t qn = plen;
        q = trim(q, &qn);
        if (qn >= 2 && lower((unsigned char)q[0]) == 'q' && q[1] == '=') {
            int zero = qn > 2 && q[2] == '0';
            for (size_t i = 3; i < qn && zero; i++)
                zero = q[i] == '.' || q[i] == '0';
            return zero;
        }
        if (!semi)
            break;
        p = semi + 1;
        n -= plen + 1;
    }
    return 0;
}

int zbody_accepts_deflate(const char *value, size_t len)
{
    const char *p = value;

    if (!value)
        return 0;
    while (len) {
        const char *comma = memchr(p, ',', len);
        size_t item = comma ? (size_t)(comma - p) : len;
        const char *semi = memchr(p, ';', item);
        size_t nlen = semi ? (size_t)(semi - p) : item;
        const char *name = trim(p, &nlen);
        if (token_is(name, nlen, "deflate") || token_is(name, nlen, "*")) {
            if (!semi || !q_zero(semi + 1, item - (size_t)(semi + 1 - p)))
                return 1;
        }
        if (!comma)
            break;
        p = comma + 1;
        len -= item + 1;
    }
    return 0;
}

int zbody_content_encoding(const char *value, size_t len)
{
    const char *p;
    if (!value)
        return 0;
    p = trim(value, &len);
    if (len == 0 || token_is(p, len, "identity"))
        return 0;
    if (token_is(p, len, "deflate"))
        return 1;
    return -1;
}
