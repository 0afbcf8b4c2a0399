/*
 * zbody.h: HTTP body compression, the one zlib wrapper of gridsync: "Content-Encoding:
 * deflate" is zlib-wrapped DEFLATE (RFC 1950), as PROTOCOL.md section 1 says. The device
 * client deflates its request bodies with it (common/transport.c), gridsyncd inflates them
 * and deflates its answers and console assets.
 *
 * Invariants:
 *  - inflating untrusted bytes is where zip bombs live: zbody_inflate stops as soon as the
 *    output would pass the cap (GS_E_TOO_LARGE) and never allocates past it, whatever the
 *    stream claims;
 *  - both directions grow their output as zlib produces it, never reserving a bound the
 *    size of the input (on a handheld the deflated request is the peak of a sync), and
 *    never past out->max;
 *  - on failure out holds what it held before.
 */
#ifndef GS_COMMON_ZBODY_H
#define GS_COMMON_ZBODY_H

#include <stddef.h>

#include "common/buf.h"
#include "common/rc.h"

/* Inflates in[0..len) into out (appending), at most max bytes. GS_E_TOO_LARGE past max,
 * GS_E_PROTO for a corrupt or truncated stream or bytes after its end, GS_E_NOMEM. On
 * failure out holds what it held before. */
int zbody_inflate(const void *in, size_t len, size_t max, gs_buf *out, gs_err *err);

/* zlib levels for zbody_deflate. FAST: what a handheld sends, most of the ratio of level 6
 * at several times the speed on its CPU. BEST_LINK: what the server sends, where the 2G
 * link and not the 50 MB/s that level 6 runs at is the bottleneck (level 1 is ~10% larger). */
#define ZBODY_LEVEL_FAST 1
#define ZBODY_LEVEL_BEST_LINK 6

/* Deflates in[0..len) at level (0..9) into out (appending). out->max bounds the result:
 * GS_E_TOO_LARGE when the stream would pass it, so a caller that wants compression only
 * when it pays sets max below len and sends the body as it is on GS_E_TOO_LARGE.
 * GS_E_NOMEM, GS_E_INVALID for a bad level. */
int zbody_deflate(const void *in, size_t len, int level, gs_buf *out, gs_err *err);

/* 1 when an Accept-Encoding value lists deflate (or *) without q=0. */
int zbody_accepts_deflate(const char *value, size_t len);

/* 1 when a Content-Encoding value is exactly "deflate" (case-insensitive, spaces around
 * allowed); 0 for "identity" or absent; -1 for anything else. */
int zbody_content_encoding(const char *value, size_t len);

#endif
