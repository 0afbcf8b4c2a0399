/*
 * rc.h: the result codes (defined once, in the public client/gridsync_rc.h) and the error
 * record that carries a message a person can act on.
 *
 * Invariant: every code has an entry in rc.c's message table (a static assertion).
 */
#ifndef GS_COMMON_RC_H
#define GS_COMMON_RC_H

#include <stdarg.h>

/* The codes are public API, so their one definition is the public, self-contained
 * client/gridsync_rc.h (GS_OK .. GS_E_STATE, GS_RC_COUNT, gs_strerror, gs_rc_name). */
#include "client/gridsync_rc.h"

#define GS_ERR_MSG_MAX 512

/* The last error of a handle: its code and a message naming what went wrong and, where
 * possible, what to do. Embedded by value in handles; no allocation. */
typedef struct gs_err {
    int rc;                    /* GS_OK when no error is recorded */
    char msg[GS_ERR_MSG_MAX];  /* NUL-terminated; "" when no error is recorded */
} gs_err;

void gs_err_clear(gs_err *err);

/* Records rc and a formatted message in err (which may be NULL) and returns rc, so that
 * `return gs_err_set(err, GS_E_INVALID, "...")` reads naturally. */
int gs_err_set(gs_err *err, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gs_err_vset(gs_err *err, int rc, const char *fmt, va_list ap);

/* Prefixes the message already in err with a formatted context ("ch[3]: " + msg). */
void gs_err_prefix(gs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* err->msg when set, else gs_strerror(rc). */
const char *gs_err_msg(const gs_err *err, int rc);

#endif
