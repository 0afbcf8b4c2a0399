/*
 * zbody.h: HTTP body compression for gridsyncd: "Content-Encoding: deflate" is zlib-wrapped
 * DEFLATE (RFC 1950), as PROTOCOL.md section 1 says.
 *
 * Inflating untrusted bytes is where zip bombs live: zbody_inflate stops as soon as the
 * output would pass the cap (GS_E_TOO_LARGE) and never allocates past it, whatever the
 * stream claims.
 */
#ifndef GS_SERVER_ZBODY_H
#define GS_SERVER_ZBODY_H

#include <stddef.h>

#include "common/buf.h"
#include "common/rc.h"

/* Inflates in[0..len) into out (appending), at most max bytes. GS_E_TOO_LARGE past max,
 * GS_E_PROTO for a corrupt or truncated stream or bytes after its end, GS_E_NOMEM. On
 * failure out holds what it held before. */
int zbody_inflate(const void *in, size_t len, size_t max, gs_buf *out, gs_err *err);

/* Deflates in[0..len) into out (appending; out's cap bounds the result). */
int zbody_deflate(const void *in, size_t len, gs_buf *out, gs_err *err);

/* 1 when an Accept-Encoding value lists deflate (or *) without q=0. */
int zbody_accepts_deflate(const char *value, size_t len);

/* 1 when a Content-Encoding value is exactly "deflate" (case-insensitive, spaces around
 * allowed); 0 for "identity" or absent; -1 for anything else. */
int zbody_content_encoding(const char *value, size_t len);

#endif
