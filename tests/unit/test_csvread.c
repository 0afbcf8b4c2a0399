/*
 * test_csvread.c: the CSV reader (common/csvread.c) on what a county office's spreadsheet
 * saves: a BOM, CRLF and LF, quoted fields with commas, quotes and line ends, empty lines;
 * and the errors, each naming the line a text editor shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/csvread.h"

/* Reads text whole: its records joined as "a|b;c|d;" in out. Returns csv_next's last. */
static int read_all(const char *text, char *out, size_t cap, gs_err *err, size_t *last_line)
{
    static csv_reader r;
    const char *f[CSV_FIELDS_MAX];
    size_t n, o = 0;
    int rc;

    csv_init(&r, text, strlen(text));
    out[0] = '\0';
    while ((rc = csv_next(&r, f, CSV_FIELDS_MAX, &n, err)) == 1) {
        for (size_t i = 0; i < n; i++)
            o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? "|" : "", f[i]);
        o += (size_t)snprintf(out + o, cap - o, ";");
        *last_line = r.line;
    }
    return rc;
}

static void test_csv_records(void **state)
{
    static const struct {
        const char *text, *want;
        size_t last_line;
    } cases[] = {
        {"a,b\nc,d\n", "a|b;c|d;", 2},
        {"a,b\r\nc,d", "a|b;c|d;", 2},
        {"\xEF\xBB\xBF" "code,name\r\nXH-0412,东风村3组\r\n", "code|name;XH-0412|东风村3组;", 2},
        {"x,\"东风村4组, 北\",y\n", "x|东风村4组, 北|y;", 1},
        {"\"say \"\"hi\"\"\",2\n", "say \"hi\"|2;", 1},
        {"\"two\nlines\",x\nnext,y\n", "two\nlines|x;next|y;", 3},
        {"a\n\nb\n", "a;;b;", 3},
        {",,\n", "||;", 1},
        {"", "", 0},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[256];
        size_t line = 0;
        gs_err err;
        assert_int_equal(read_all(cases[i].text, out, sizeof(out), &err, &line), 0);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(line, cases[i].last_line);
    }
}

static void test_csv_errors_name_the_line(void **state)
{
    static const struct {
        const char *text, *msg;
    } cases[] = {
        {"a,b\nc,\"open\n", "line 2: a quoted field never ends"},
        {"a,b\n\"x\"y,z\n", "line 2: text after a closing quote"},
        {"ok\n\"a\nb\",c\n1,\"2\"3\n", "line 4: text after a closing quote"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[256];
        size_t line = 0;
        gs_err err;
        assert_int_equal(read_all(cases[i].text, out, sizeof(out), &err, &line), GS_E_INVALID);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: '%s', want '%s'", i, err.msg, cases[i].msg);
    }
}

static void test_csv_limits(void **state)
{
    static char big[CSV_RECORD_MAX + 100];
    char many[CSV_FIELDS_MAX * 2 + 8];
    char out[256];
    size_t line = 0, o = 0;
    gs_err err;

    (void)state;
    memset(big, 'x', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(read_all(big, out, sizeof(out), &err, &line), GS_E_INVALID);
    assert_non_null(strstr(err.msg, "line 1: a record longer than"));
    for (int i = 0; i <= CSV_FIELDS_MAX; i++)
        o += (size_t)snprintf(many + o, sizeof(many) - o, i ? ",x" : "x");
    assert_int_equal(read_all(many, out, sizeof(out), &err, &line), GS_E_INVALID);
    assert_non_null(strstr(err.msg, "more than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_records),
        cmocka_unit_test(test_csv_errors_name_the_line),
        cmocka_unit_test(test_csv_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
