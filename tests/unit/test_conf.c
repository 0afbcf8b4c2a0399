/*
 * test_conf.c: the one `key = value` reader (common/conf.c) behind gridsyncd.conf and
 * admin.conf: what a line means (blanks, CRLF, comments, '#' inside a value), and each
 * mistake refused with the file, the line and what is wrong.
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

#include "common/conf.h"
#include "common/rc.h"

static const char *const keys[] = {"server", "ca", "token", "workers"};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* What the callback saw: "key=value;" for each call, in order. */
typedef struct seen {
    char text[1024]; /* the calls */
    int refuse;      /* 1: refuse "workers" values that are not digits */
} seen;

static int record(void *ud, size_t key, const char *value, char *why, size_t why_cap)
{
    seen *s = ud;
    size_t n = strlen(s->text);

    if (s->refuse && key == 3 && strspn(value, "0123456789") != strlen(value)) {
        snprintf(why, why_cap, "expected a whole number, got \"%s\"", value);
        return GS_E_CONFIG;
    }
    snprintf(s->text + n, sizeof(s->text) - n, "%s=%s;", keys[key], value);
    return GS_OK;
}

static int parse(const char *text, seen *s, gs_err *err)
{
    char copy[1024];
    size_t len = strlen(text);

    assert_true(len < sizeof(copy));
    memcpy(copy, text, len + 1);
    memset(s->text, 0, sizeof(s->text));
    gs_err_clear(err);
    return conf_parse(copy, len, "x.conf", keys, N_KEYS, record, s, err);
}

typedef struct good_case {
    const char *name; /* what the case shows */
    const char *text; /* the file */
    const char *want; /* the calls */
} good_case;

static const good_case good_cases[] = {
    {"plain", "server = https://t:8443\nca = ca.pem\n", "server=https://t:8443;ca=ca.pem;"},
    {"blanks trimmed", "  server\t=\t https://t  \n", "server=https://t;"},
    {"CRLF", "server = a\r\nca = b\r\n", "server=a;ca=b;"},
    {"no newline at the end", "token = t", "token=t;"},
    {"blank and comment lines", "\n# c\n   \n\t# indented\ntoken = t\n\n", "token=t;"},
    {"comment after a blank", "workers = 4   # four\n", "workers=4;"},
    {"comment after a tab", "workers = 4\t#four\n", "workers=4;"},
    {"a '#' inside a value is text", "ca = /srv/town#2/ca.pem\ntoken = a-1.x#y\n",
     "ca=/srv/town#2/ca.pem;token=a-1.x#y;"},
    {"the first '=' splits", "server = https://t/?a=b\n", "server=https://t/?a=b;"},
    {"empty file", "", ""},
    {"only comments", "# a\n# b", ""},
};

static void test_lines_mean_what_the_docs_say(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
        seen s = {.refuse = 0};
        gs_err err;
        int rc = parse(good_cases[i].text, &s, &err);
        if (rc != GS_OK || strcmp(s.text, good_cases[i].want) != 0)
            fail_msg("%s: rc %d (%s), calls \"%s\", want \"%s\"", good_cases[i].name, rc,
                     err.msg, s.text, good_cases[i].want);
    }
    /* an empty file read from disk has no text at all */
    {
        seen s = {.refuse = 0};
        gs_err err;
        assert_int_equal(conf_parse(NULL, 0, "x.conf", keys, N_KEYS, record, &s, &err), GS_OK);
    }
}

typedef struct bad_case {
    const char *name;   /* the mistake */
    const char *text;   /* the file */
    const char *expect; /* a piece the message must hold */
    const char *calls;  /* the calls made before the mistake */
} bad_case;

static const bad_case bad_cases[] = {
    {"unknown key", "server = a\nsrever = b\n", "x.conf:2: unknown key \"srever\"", "server=a;"},
    {"key set twice", "token = a\n\ntoken = b\n", "x.conf:3: \"token\" already set on line 1",
     "token=a;"},
    {"no equals sign", "server https://t\n", "x.conf:1: expected \"key = value\", got", ""},
    {"empty value", "ca =\n", "x.conf:1: \"ca\" has no value", ""},
    {"only a comment as value", "ca = # none\n", "x.conf:1: \"ca\" has no value", ""},
    {"value refused", "workers = many\n", "x.conf:1: workers: expected a whole number", ""},
    {"key case matters", "Server = a\n", "x.conf:1: unknown key \"Server\"", ""},
    {"error on a later line", "# c\n\nca = b\n  bogus = 1\n", "x.conf:4: unknown key", "ca=b;"},
};

static void test_mistakes_refused_with_file_and_line(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        seen s = {.refuse = 1};
        gs_err err;
        int rc = parse(bad_cases[i].text, &s, &err);
        if (rc != GS_E_CONFIG || !strstr(err.msg, bad_cases[i].expect))
            fail_msg("%s: rc %d, message \"%s\" lacks \"%s\"", bad_cases[i].name, rc, err.msg,
                     bad_cases[i].expect);
        if (strcmp(s.text, bad_cases[i].calls) != 0)
            fail_msg("%s: calls \"%s\", want \"%s\"", bad_cases[i].name, s.text,
                     bad_cases[i].calls);
    }
}

static void test_nul_byte_and_too_many_keys(void **state)
{
    char text[] = "token = a\n\0\n";
    const char *many[CONF_KEYS_MAX + 1];
    seen s = {.refuse = 0};
    gs_err err;
    (void)state;

    assert_int_equal(conf_parse(text, sizeof(text) - 1, "x.conf", keys, N_KEYS, record, &s, &err),
                     GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "NUL"));
    assert_string_equal(s.text, "");
    for (size_t i = 0; i < CONF_KEYS_MAX + 1; i++)
        many[i] = "k";
    assert_int_equal(conf_parse(text, 3, "x.conf", many, CONF_KEYS_MAX + 1, record, &s, &err),
                     GS_E_INVALID);
}

static void test_load_reads_files_and_refuses_missing_or_huge(void **state)
{
    char dir[] = "/tmp/gs_conf_XXXXXX", path[64];
    seen s = {.refuse = 0};
    gs_err err;
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/admin.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("# admin.conf\nserver = https://t:8443\nca = ca.pem\ntoken = a-1.s\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(conf_load(path, keys, N_KEYS, record, &s, &err), GS_OK);
    assert_string_equal(s.text, "server=https://t:8443;ca=ca.pem;token=a-1.s;");

    /* over the cap */
    f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < CONF_FILE_MAX / 8 + 1; i++)
        fputs("# ......", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(conf_load(path, keys, N_KEYS, record, &s, &err), GS_E_CONFIG);
    assert_int_equal(err.rc, GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "larger than"));

    /* missing: a configuration error too, naming the file */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(conf_load(path, keys, N_KEYS, record, &s, &err), GS_E_CONFIG);
    assert_int_equal(err.rc, GS_E_CONFIG);
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_non_null(strstr(err.msg, "admin.conf"));
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_mean_what_the_docs_say),
        cmocka_unit_test(test_mistakes_refused_with_file_and_line),
        cmocka_unit_test(test_nul_byte_and_too_many_keys),
        cmocka_unit_test(test_load_reads_files_and_refuses_missing_or_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
