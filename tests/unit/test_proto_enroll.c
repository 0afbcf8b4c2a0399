/*
 * test_proto_enroll.c: the enrolment code and URI (proto/enroll.c): a code reads back
 * whatever its case and dashes and with O/I/L for 0/1; a bad code or URI is refused with a
 * message naming the part; a formatted URI parses back to what it was made of, the
 * server's URL percent-encoded and decoded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "proto/enroll.h"

static const char FP[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_code_format_and_canon(void **state)
{
    const unsigned char bytes[ENROLL_CODE_BYTES] = {0, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54,
                                                    0xb6, 0x35, 0xcf};
    char shown[ENROLL_CODE_SHOWN + 1], canon[ENROLL_CODE_LEN + 1];
    gs_err err;
    (void)state;

    enroll_code_format(bytes, shown);
    assert_string_equal(shown, "0123-4567-89AB-CDEF");
    assert_int_equal(enroll_code_canon(shown, canon, &err), GS_OK);
    assert_string_equal(canon, "0123456789ABCDEF");
    /* lower case, blanks, O for 0, I and L for 1 */
    assert_int_equal(enroll_code_canon("o1i3 4567 89ab cdef", canon, &err), GS_OK);
    assert_string_equal(canon, "0113456789ABCDEF");
    assert_int_equal(enroll_code_canon("0123-4567-89AB-CDE", canon, &err), GS_E_INVALID);
    assert_non_null(strstr(err.msg, "15"));
    assert_int_equal(enroll_code_canon("0123-4567-89AB-CDEFG", canon, &err), GS_E_INVALID);
    assert_int_equal(enroll_code_canon("0123-4567-89AB-CDEU", canon, &err), GS_E_INVALID);
    assert_non_null(strstr(err.msg, "'U'"));
}

static void test_uri_round_trip(void **state)
{
    char uri[ENROLL_URI_MAX + 1];
    enroll_uri u;
    gs_err err;
    (void)state;

    assert_int_equal(enroll_uri_format("https://town.example:8443/x y", "abcd-efgh-jkmn-pqrs",
                                       FP, uri, sizeof(uri), &err),
                     GS_OK);
    assert_string_equal(uri, "gridsync://enroll?u=https://town.example:8443/x%20y"
                             "&c=ABCDEFGHJKMNPQRS&fp=" "0123456789abcdef0123456789abcdef"
                             "0123456789abcdef0123456789abcdef");
    assert_int_equal(enroll_uri_parse(uri, &u, &err), GS_OK);
    assert_string_equal(u.server, "https://town.example:8443/x y");
    assert_string_equal(u.code, "ABCDEFGHJKMNPQRS");
    assert_string_equal(u.fp, FP);
    /* any order, an unknown parameter ignored, upper-case hex, the shown code form */
    assert_int_equal(enroll_uri_parse("gridsync://enroll?v=2&fp=0123456789ABCDEF0123456789abcdef"
                                      "0123456789abcdef0123456789abcdef&c=ABCD-EFGH-JKMN-PQRS"
                                      "&u=https%3A%2F%2F127.0.0.1%3A9",
                                      &u, &err),
                     GS_OK);
    assert_string_equal(u.server, "https://127.0.0.1:9");
    assert_string_equal(u.fp, FP);
    assert_int_equal(enroll_uri_format("https://h", "ABCD", FP, uri, sizeof(uri), &err),
                     GS_E_INVALID);
    assert_int_equal(enroll_uri_format("https://h", "ABCDEFGHJKMNPQRS", FP, uri, 40, &err),
                     GS_E_TOO_LARGE);
}

static void test_uri_refused(void **state)
{
    static const struct {
        const char *uri;  /* input */
        const char *part; /* in the message */
    } bad[] = {
        {"gridsync://enrol?u=https://h&c=ABCDEFGHJKMNPQRS", "not an enrolment URI"},
        {"gridsync://enroll?u=https://h&c=ABCDEFGHJKMNPQRS", "fingerprint"},
        {"gridsync://enroll?c=ABCDEFGHJKMNPQRS&fp=", "fp must be"},
        {"gridsync://enroll?u=http://h&c=ABCDEFGHJKMNPQRS&fp=0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef",
         "https"},
        {"gridsync://enroll?u=https://h&u=https://h&c=ABCDEFGHJKMNPQRS", "twice"},
        {"gridsync://enroll?u=https://h%0a&c=ABCDEFGHJKMNPQRS&fp=0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef",
         "server URL"},
        {"gridsync://enroll?u=https://h%4&c=ABCDEFGHJKMNPQRS", "server URL"},
        {"gridsync://enroll?u=https://h&c=ABCD&fp=0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef",
         "enrolment code"},
        {"gridsync://enroll?u=https://h&c=ABCDEFGHJKMNPQRS&fp=0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdeg",
         "hex"},
    };
    enroll_uri u;
    gs_err err;
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gs_err_clear(&err);
        if (enroll_uri_parse(bad[i].uri, &u, &err) != GS_E_INVALID || !strstr(err.msg, bad[i].part))
            fail_msg("case %zu (%s): rc %d, message '%s', want '%s'", i, bad[i].uri, err.rc,
                     err.msg, bad[i].part);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_format_and_canon),
        cmocka_unit_test(test_uri_round_trip),
        cmocka_unit_test(test_uri_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
