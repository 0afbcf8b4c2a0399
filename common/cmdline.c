/*
 * cmdline.c: see cmdline.h. The exit-code table has one entry per gs_rc, in enum order
 * (checked by a static assertion), so a new gs_rc cannot be added without deciding its
 * exit code here, and the README table is this table.
 */
#include "cmdline.h"
#include "realfmt.h"

#include "rc.h"

#include <stdio.h>
#include <stdlib.h>

static const unsigned char exit_codes[] = {
    [GS_OK] = GS_EXIT_OK,
    [GS_E_NOMEM] = GS_EXIT_FAIL,
    [GS_E_INVALID] = GS_EXIT_USAGE,
    [GS_E_NOTFOUND] = GS_EXIT_NOTFOUND,
    [GS_E_IO] = GS_EXIT_FAIL,
    [GS_E_DB] = GS_EXIT_FAIL,
    [GS_E_TOO_LARGE] = GS_EXIT_USAGE, /* input over a cap: a file, a value, a line */
    [GS_E_CLOCK] = GS_EXIT_FAIL,
    [GS_E_PROTO] = GS_EXIT_FAIL,
    [GS_E_PROTO_TYPE] = GS_EXIT_FAIL,
    [GS_E_PROTO_MISSING] = GS_EXIT_FAIL,
    [GS_E_PROTO_UNKNOWN] = GS_EXIT_FAIL,
    [GS_E_PROTO_LIMIT] = GS_EXIT_FAIL,
    [GS_E_PROTO_TRUNCATED] = GS_EXIT_FAIL,
    [GS_E_PROTO_TRAILING] = GS_EXIT_FAIL,
    [GS_E_PROTO_DEPTH] = GS_EXIT_FAIL,
    [GS_E_PROTO_VERSION] = GS_EXIT_FAIL,
    [GS_E_NETWORK] = GS_EXIT_UNREACHABLE,
    [GS_E_TIMEOUT] = GS_EXIT_UNREACHABLE,
    /* a certificate that does not match the CA or host name: retrying will not help, and
     * 4 would tell a script to retry */
    [GS_E_TLS] = GS_EXIT_FAIL,
    [GS_E_AUTH] = GS_EXIT_AUTH,
    [GS_E_REJECTED] = GS_EXIT_REJECTED,
    [GS_E_SERVER] = GS_EXIT_FAIL,
    /* a configuration file or setting the person gave is wrong or missing: fix it and run
     * again (gridsyncd.service does not restart on 2) */
    [GS_E_CONFIG] = GS_EXIT_USAGE,
    [GS_E_RANDOM] = GS_EXIT_FAIL,
    [GS_E_BUSY] = GS_EXIT_FAIL,
    [GS_E_USAGE] = GS_EXIT_USAGE,
    [GS_E_CRYPTO] = GS_EXIT_FAIL,
    [GS_E_EXISTS] = GS_EXIT_USAGE, /* e.g. init into what is already initialised */
    [GS_E_STATE] = GS_EXIT_FAIL,
    [GS_E_READ_ONLY] = GS_EXIT_USAGE, /* a warning's level set by hand: the input is wrong */
    [GS_E_WIPED] = GS_EXIT_WIPED, /* a remote wipe ran (or an interrupted one completed) */
    [GS_E_KEY] = GS_EXIT_KEY, /* an encrypted database opened with the wrong key, or none */
};

_Static_assert(sizeof(exit_codes) / sizeof(exit_codes[0]) == GS_RC_COUNT,
               "exit_codes must have one entry per gs_rc");

int cmdline_exit_code(int rc)
{
    if (rc < 0 || rc >= GS_RC_COUNT)
        return GS_EXIT_FAIL;
    return exit_codes[rc];
}

void cmdline_json_error(const char *code, const char *message)
{
    json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message);

    if (!o) /* the message quoted bytes that are not UTF-8: keep the code, say so */
        o = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message",
                      "(the message quotes input that is not UTF-8; see stderr)");
    if (!o || cmdline_print_json(o, CMDLINE_JSON_FLAGS) != GS_OK)
        puts("{\"error\":{\"code\":\"nomem\",\"message\":\"out of memory\"}}");
    json_decref(o);
}

int cmdline_usage_verror(const char *prog, int json, const char *fmt, va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "%s: %s\n(%s --help lists the commands)\n", prog, msg, prog);
    if (json)
        cmdline_json_error(gs_rc_name(GS_E_USAGE), msg);
    return GS_EXIT_USAGE;
}

int cmdline_usage_error(const char *prog, int json, const char *fmt, ...)
{
    va_list ap;
    int code;

    va_start(ap, fmt);
    code = cmdline_usage_verror(prog, json, fmt, ap);
    va_end(ap);
    return code;
}

int cmdline_fail(const char *prog, int json, int rc, const char *message)
{
    if (!message || !*message)
        message = gs_strerror(rc);
    fprintf(stderr, "%s: %s\n", prog, message);
    if (json)
        cmdline_json_error(gs_rc_name(rc), message);
    return cmdline_exit_code(rc);
}

int cmdline_print_json(const json_t *j, size_t flags)
{
    char *text = json_dumps(j, flags);

    if (!text)
        return GS_E_NOMEM;
    realfmt_json_reals(text); /* reals: the shortest text that reads back the same */
    puts(text);
    free(text); /* jansson's own allocation */
    return GS_OK;
}
