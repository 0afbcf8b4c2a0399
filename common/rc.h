/*
 * rc.h: the one result-code enum of gridsync and the error record that carries a message
 * a person can act on.
 *
 * Invariants: GS_OK is 0; codes are only appended, never renumbered (scripts and the
 * wire-level error names depend on them); every code has an entry in the message table.
 */
#ifndef GS_COMMON_RC_H
#define GS_COMMON_RC_H

#include <stdarg.h>

typedef enum gs_rc {
    GS_OK = 0,
    GS_E_NOMEM = 1,          /* an allocation failed */
    GS_E_INVALID = 2,        /* bad argument or input that fails validation */
    GS_E_NOTFOUND = 3,       /* the named record, device or file does not exist */
    GS_E_IO = 4,             /* a file or socket operation failed */
    GS_E_DB = 5,             /* SQLite reported an error */
    GS_E_TOO_LARGE = 6,      /* input over a hard cap */
    GS_E_CLOCK = 7,          /* a timestamp beyond the allowed drift, or the clock overflowed */
    GS_E_PROTO = 8,          /* malformed MessagePack or message */
    GS_E_PROTO_TYPE = 9,     /* a field has the wrong MessagePack type */
    GS_E_PROTO_MISSING = 10, /* a required field is absent */
    GS_E_PROTO_UNKNOWN = 11, /* a field the protocol does not define */
    GS_E_PROTO_LIMIT = 12,   /* a count, length or value is over a protocol limit */
    GS_E_PROTO_TRUNCATED = 13, /* the bytes end before the message does */
    GS_E_PROTO_TRAILING = 14,  /* bytes follow the end of the message */
    GS_E_PROTO_DEPTH = 15,     /* nesting deeper than the protocol allows */
    GS_E_PROTO_VERSION = 16,   /* the peer speaks a protocol version we do not */
    GS_E_NETWORK = 17,       /* the server could not be reached */
    GS_E_TIMEOUT = 18,       /* an operation did not finish in time */
    GS_E_TLS = 19,           /* TLS handshake or certificate verification failed */
    GS_E_AUTH = 20,          /* the token was refused */
    GS_E_REJECTED = 21,      /* the server refused some changes */
    GS_E_SERVER = 22,        /* the server answered with an error */
    GS_E_CONFIG = 23,        /* a configuration file or setting is wrong */
    GS_E_RANDOM = 24,        /* the operating system's CSPRNG failed */
    GS_E_BUSY = 25,          /* the resource is busy; try again */
    GS_E_USAGE = 26,         /* a command line is wrong */
    GS_E_CRYPTO = 27,        /* a cryptographic operation failed */
    GS_E_EXISTS = 28,        /* the thing to create is already there */
    GS_E_STATE = 29,         /* the call does not fit the object's current state */
    GS_RC_COUNT              /* not a code: one past the last */
} gs_rc;

/* A short fixed English description of rc; never NULL. */
const char *gs_strerror(int rc);

/* A stable lower-case name for rc ("too_large"), used in logs and wire error bodies. */
const char *gs_rc_name(int rc);

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
