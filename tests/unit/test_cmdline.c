/*
 * test_cmdline.c: the layer gridsync, gridsync-admin and gridsyncd share (common/cmdline.c):
 * every gs_rc has the exit code the README's "Exit codes" table gives it, and errors are
 * printed the same way (stderr text; with --json an error object made by jansson, valid
 * whatever the message holds).
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cmdline.h"
#include "common/rc.h"

/* The README table, by error kind. Anything not listed is 1. */
static const struct {
    int rc;   /* the error */
    int exit; /* its documented exit code */
} documented[] = {
    {GS_OK, 0},
    {GS_E_USAGE, 2},
    {GS_E_INVALID, 2},
    {GS_E_CONFIG, 2},
    {GS_E_TOO_LARGE, 2},
    {GS_E_EXISTS, 2},
    {GS_E_READ_ONLY, 2},
    {GS_E_KEY, 8},
    {GS_E_NOTFOUND, 3},
    {GS_E_NETWORK, 4},
    {GS_E_TIMEOUT, 4},
    {GS_E_AUTH, 5},
    {GS_E_REJECTED, 6},
    {GS_E_WIPED, 7},
    {GS_E_TLS, 1},
};

static void test_every_rc_has_the_documented_exit_code(void **state)
{
    (void)state;
    for (int rc = 0; rc < GS_RC_COUNT; rc++) {
        int want = 1;
        for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++)
            if (documented[i].rc == rc)
                want = documented[i].exit;
        if (cmdline_exit_code(rc) != want)
            fail_msg("%s (%d): exit %d, the README says %d", gs_rc_name(rc), rc,
                     cmdline_exit_code(rc), want);
    }
    assert_int_equal(cmdline_exit_code(-1), GS_EXIT_FAIL);
    assert_int_equal(cmdline_exit_code(GS_RC_COUNT), GS_EXIT_FAIL);
}

/* What a call printed on stdout and stderr. */
typedef struct captured {
    char out[2048]; /* stdout */
    char err[2048]; /* stderr */
} captured;

static void read_back(FILE *f, char *buf, size_t cap)
{
    size_t n;
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs fn with stdout and stderr sent to temporary files. */
static int capture(captured *c, int (*fn)(void *), void *ud)
{
    FILE *out = tmpfile(), *err = tmpfile();
    int saved_out, saved_err, code;

    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(STDOUT_FILENO);
    saved_err = dup(STDERR_FILENO);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    code = fn(ud);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    read_back(out, c->out, sizeof(c->out));
    read_back(err, c->err, sizeof(c->err));
    return code;
}

static int usage_json(void *ud)
{
    return cmdline_usage_error("gridsync-admin", 1, "unknown command '%s'", (const char *)ud);
}

static int usage_plain(void *ud)
{
    return cmdline_usage_error("gridsync", 0, "unknown command '%s'", (const char *)ud);
}

static int fail_json(void *ud)
{
    return cmdline_fail("gridsync", 1, GS_E_NOTFOUND, ud);
}

static int fail_no_message(void *ud)
{
    (void)ud;
    return cmdline_fail("gridsync-admin", 1, GS_E_AUTH, NULL);
}

/* The error object on stdout: one line, valid JSON, the code and message given. */
static void expect_error_object(const char *out, const char *code, const char *message)
{
    json_error_t jerr;
    json_t *j = json_loads(out, 0, &jerr);
    const char *got_code, *got_msg;

    if (!j)
        fail_msg("not JSON (%s): %s", jerr.text, out);
    got_code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    got_msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    if (!got_code || strcmp(got_code, code) != 0 || !got_msg || strcmp(got_msg, message) != 0)
        fail_msg("error object %s, wanted code %s and message %s", out, code, message);
    /* one line */
    if (!strchr(out, '\n') || strchr(out, '\n')[1] != '\0')
        fail_msg("not one line: %s", out);
    json_decref(j);
}

static void test_usage_error_looks_the_same_in_every_cli(void **state)
{
    captured c;
    const char *word = "de\"vice\\\x01";
    (void)state;

    assert_int_equal(capture(&c, usage_plain, "frob"), GS_EXIT_USAGE);
    assert_string_equal(c.err,
                        "gridsync: unknown command 'frob'\n(gridsync --help lists the commands)\n");
    assert_string_equal(c.out, "");

    /* a quote, a backslash and a control character a user typed, escaped by jansson */
    assert_int_equal(capture(&c, usage_json, (void *)word), GS_EXIT_USAGE);
    assert_non_null(strstr(c.err, "gridsync-admin: unknown command 'de\"vice"));
    assert_non_null(strstr(c.err, "(gridsync-admin --help lists the commands)\n"));
    expect_error_object(c.out, "usage", "unknown command 'de\"vice\\\x01'");
}

static void test_fail_prints_message_and_maps_exit_code(void **state)
{
    captured c;
    (void)state;

    assert_int_equal(capture(&c, fail_json, "no record 0193a5f0 \"x\""), GS_EXIT_NOTFOUND);
    assert_string_equal(c.err, "gridsync: no record 0193a5f0 \"x\"\n");
    expect_error_object(c.out, "not_found", "no record 0193a5f0 \"x\"");

    /* no message: the code's own text */
    assert_int_equal(capture(&c, fail_no_message, NULL), GS_EXIT_AUTH);
    assert_string_equal(c.err, "gridsync-admin: authentication refused\n");
    expect_error_object(c.out, "auth", "authentication refused");

    /* a message quoting bytes that are not UTF-8 still gives valid JSON with the code */
    assert_int_equal(capture(&c, fail_json, "name: '\xff\xfe' is not UTF-8"), GS_EXIT_NOTFOUND);
    expect_error_object(c.out, "not_found",
                        "(the message quotes input that is not UTF-8; see stderr)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rc_has_the_documented_exit_code),
        cmocka_unit_test(test_usage_error_looks_the_same_in_every_cli),
        cmocka_unit_test(test_fail_prints_message_and_maps_exit_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
