/*
 * rc.c: the message table for gs_rc and the gs_err helpers.
 * Invariant: the tables below have exactly GS_RC_COUNT entries, in enum order
 * (checked by a static assertion).
 */
#include "rc.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} rc_table[] = {
    {"ok", "no error"},
    {"nomem", "out of memory"},
    {"invalid", "invalid input"},
    {"not_found", "not found"},
    {"io", "input/output error"},
    {"db", "database error"},
    {"too_large", "input too large"},
    {"clock", "timestamp outside the allowed clock drift"},
    {"malformed", "malformed message"},
    {"wrong_type", "field has the wrong type"},
    {"missing_field", "required field missing"},
    {"unknown_field", "unknown field"},
    {"over_limit", "value over a protocol limit"},
    {"truncated", "message truncated"},
    {"trailing_bytes", "trailing bytes after message"},
    {"too_deep", "message nested too deeply"},
    {"version", "unsupported protocol version"},
    {"network", "server unreachable"},
    {"timeout", "operation timed out"},
    {"tls", "TLS or certificate failure"},
    {"auth", "authentication refused"},
    {"rejected", "some changes were rejected"},
    {"server", "server error"},
    {"config", "configuration error"},
    {"random", "random number generator failed"},
    {"busy", "resource busy"},
    {"usage", "bad usage"},
    {"crypto", "cryptographic operation failed"},
    {"exists", "already exists"},
    {"state", "operation not valid in the current state"},
    {"read_only", "written by the server only"},
    {"wiped", "this device was wiped on the server's order"},
    {"key", "wrong or missing database key"},
};

_Static_assert(sizeof(rc_table) / sizeof(rc_table[0]) == GS_RC_COUNT,
               "rc_table must have one entry per gs_rc");

const char *gs_strerror(int rc)
{
    if (rc < 0 || rc >= GS_RC_COUNT)
        return "unknown error";
    return rc_table[rc].text;
}

const char *gs_rc_name(int rc)
{
    if (rc < 0 || rc >= GS_RC_COUNT)
        return "unknown";
    return rc_table[rc].name;
}

void gs_err_clear(gs_err *err)
{
    if (!err)
        return;
    err->rc = GS_OK;
    err->msg[0] = '\0';
}

int gs_err_vset(gs_err *err, int rc, const char *fmt, va_list ap)
{
    if (!err)
        return rc;
    err->rc = rc;
    if (!fmt) {
        snprintf(err->msg, sizeof(err->msg), "%s", gs_strerror(rc));
        return rc;
    }
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return rc;
}

int gs_err_set(gs_err *err, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gs_err_vset(err, rc, fmt, ap);
    va_end(ap);
    return rc;
}

void gs_err_prefix(gs_err *err, const char *fmt, ...)
{
    char prefix[128];
    char old[GS_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t plen;

    memcpy(old, err->msg, sizeof(old));
    plen = strlen(prefix);
    if (plen >= sizeof(err->msg))
        plen = sizeof(err->msg) - 1;
    memcpy(err->msg, prefix, plen);
    /* the message is truncated, never the prefix that says where it happened */
    snprintf(err->msg + plen, sizeof(err->msg) - plen, "%.*s", (int)(sizeof(old) - 1), old);
}

const char *gs_err_msg(const gs_err *err, int rc)
{
    if (err && err->rc == rc && err->msg[0])
        return err->msg;
    return gs_strerror(rc);
}
