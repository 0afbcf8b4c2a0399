/*
 * cmdline.h: what the command lines of gridsync have in common: the one mapping from gs_rc
 * to an exit code (README "Exit codes"), and how an error reaches the person or script that
 * ran the program. `gridsync`, `gridsync-admin` and `gridsyncd` use it; it is in common/ so
 * gridsync-admin links it without the device library.
 *
 * How errors look, the same in every CLI:
 *   stderr   PROG: what went wrong, and what to do
 *            (PROG --help lists the commands)          <- usage errors only
 *   stdout   {"error":{"code":"usage","message":"..."}}  <- only with --json
 * "code" is gs_rc_name() of the error ("usage" for a usage error).
 *
 * Invariants: every gs_rc has exactly one exit code, and exit codes, like gs_rc values, are
 * never renumbered (scripts depend on them). All JSON a CLI prints is made by jansson,
 * never by printf, so any text a user typed (quotes, backslashes, control characters)
 * comes out escaped.
 */
#ifndef GS_COMMON_CMDLINE_H
#define GS_COMMON_CMDLINE_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

#define GS_EXIT_OK 0          /* success */
#define GS_EXIT_FAIL 1        /* a failure at run time; the message says what */
#define GS_EXIT_USAGE 2       /* bad usage, bad input or a bad configuration: fix and rerun */
#define GS_EXIT_NOTFOUND 3    /* the record, device, conflict or file does not exist */
#define GS_EXIT_UNREACHABLE 4 /* server unreachable or timed out; nothing lost, retry later */
#define GS_EXIT_AUTH 5        /* the server refused the token */
#define GS_EXIT_REJECTED 6    /* the sync completed but the server rejected some changes */
#define GS_EXIT_WIPED 7       /* the device was revoked with a wipe: its data is deleted */
#define GS_EXIT_KEY 8         /* the database key is wrong or missing; nothing was written */

/* How the CLIs print JSON: one compact line, members in the order they were made, reals to
 * 15 significant digits. The last is what libgridsync uses for records
 * (client/record_json.h), so a record re-printed inside a list reads byte for byte as
 * `show --json` prints it (tests/integration/cli_json.sh checks that). */
#define CMDLINE_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17))

/* The exit code for rc (GS_OK gives GS_EXIT_OK). Codes outside gs_rc give GS_EXIT_FAIL. */
int cmdline_exit_code(int rc);

/* Reports a usage problem: "PROG: MESSAGE" and "(PROG --help lists the commands)" on
 * stderr and, when json, {"error":{"code":"usage","message":MESSAGE}} on stdout. Returns
 * GS_EXIT_USAGE. */
int cmdline_usage_error(const char *prog, int json, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cmdline_usage_verror(const char *prog, int json, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Reports the failure rc: "PROG: MESSAGE" on stderr (gs_strerror(rc) when message is NULL
 * or empty) and, when json, {"error":{"code":gs_rc_name(rc),"message":...}} on stdout.
 * Returns cmdline_exit_code(rc). */
int cmdline_fail(const char *prog, int json, int rc, const char *message);

/* Prints {"error":{"code":CODE,"message":MESSAGE}} and a newline on stdout. A message that
 * is not UTF-8 (it may quote bytes a user gave) is replaced by a note, keeping the code. */
void cmdline_json_error(const char *code, const char *message);

/* Prints j with json_dumps(j, flags) and a newline on stdout. GS_E_NOMEM when jansson cannot
 * make the text (nothing is printed then). */
int cmdline_print_json(const json_t *j, size_t flags);

#endif
