/*
 * gridsync_rc.h: the result codes of gridsync, part of the public API of libgridsync
 * (installed next to gridsync.h, which includes it) and the one definition of them: the
 * library, the server and the tools include this same file through common/rc.h.
 *
 * Invariants: GS_OK is 0; codes are only appended, never renumbered (scripts, the exit
 * codes of the command lines and the wire-level error names depend on them).
 * Self-contained: includes nothing, so it can sit in any include path.
 */
#ifndef GRIDSYNC_RC_H
#define GRIDSYNC_RC_H

/* What libgridsync.so exports: it is built with -fvisibility=hidden, so a function is
 * public only when its declaration carries GS_API (and only gs_* ones do). */
#ifndef GS_API
#if defined(__GNUC__) && __GNUC__ >= 4
#define GS_API __attribute__((visibility("default")))
#else
#define GS_API
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gs_rc {
    GS_OK = 0,
    GS_E_NOMEM = 1,            /* an allocation failed */
    GS_E_INVALID = 2,          /* bad argument or input that fails validation */
    GS_E_NOTFOUND = 3,         /* the named record, device or file does not exist */
    GS_E_IO = 4,               /* a file or socket operation failed */
    GS_E_DB = 5,               /* SQLite reported an error */
    GS_E_TOO_LARGE = 6,        /* input over a hard cap */
    GS_E_CLOCK = 7,            /* a timestamp beyond the allowed drift, or clock overflow */
    GS_E_PROTO = 8,            /* malformed MessagePack or message */
    GS_E_PROTO_TYPE = 9,       /* a field has the wrong MessagePack type */
    GS_E_PROTO_MISSING = 10,   /* a required field is absent */
    GS_E_PROTO_UNKNOWN = 11,   /* a field the protocol does not define */
    GS_E_PROTO_LIMIT = 12,     /* a count, length or value is over a protocol limit */
    GS_E_PROTO_TRUNCATED = 13, /* the bytes end before the message does */
    GS_E_PROTO_TRAILING = 14,  /* bytes follow the end of the message */
    GS_E_PROTO_DEPTH = 15,     /* nesting deeper than the protocol allows */
    GS_E_PROTO_VERSION = 16,   /* the peer speaks a protocol version we do not */
    GS_E_NETWORK = 17,         /* the server could not be reached */
    GS_E_TIMEOUT = 18,         /* an operation did not finish in time */
    GS_E_TLS = 19,             /* TLS handshake or certificate verification failed */
    GS_E_AUTH = 20,            /* the token was refused */
    GS_E_REJECTED = 21,        /* the server refused some changes */
    GS_E_SERVER = 22,          /* the server answered with an error */
    GS_E_CONFIG = 23,          /* a configuration file or setting is wrong */
    GS_E_RANDOM = 24,          /* the operating system's CSPRNG failed */
    GS_E_BUSY = 25,            /* the resource is busy; try again */
    GS_E_USAGE = 26,           /* a command line is wrong */
    GS_E_CRYPTO = 27,          /* a cryptographic operation failed */
    GS_E_EXISTS = 28,          /* the thing to create is already there */
    GS_E_STATE = 29,           /* the call does not fit the object's current state */
    GS_E_READ_ONLY = 30,       /* the record or field is written by the server only */
    GS_E_WIPED = 31,           /* the device was revoked with a wipe: its data and token are
                                  deleted (PROTOCOL.md 1, 410); enrol it again */
    GS_E_KEY = 32,             /* the database's key is wrong or missing (encryption at rest) */
    GS_RC_COUNT                /* not a code: one past the last */
} gs_rc;

/* A short fixed English description of rc; never NULL. */
GS_API const char *gs_strerror(int rc);

/* A stable lower-case name for rc ("too_large"), used in logs and wire error bodies. */
GS_API const char *gs_rc_name(int rc);

#ifdef __cplusplus
}
#endif

#endif
