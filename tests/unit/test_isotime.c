/*
 * test_isotime.c: ISO 8601 parsing (every accepted form, and a table of refusals), the UTC
 * and local formatters, and the civil-date arithmetic against known day numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/isotime.h"
#include "common/rc.h"

/* 2026-11-27T01:30:00Z */
#define T0 INT64_C(1795743000000)

static void test_parse_accepts(void **state)
{
    static const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"2026-11-27T01:30:00Z", T0},
        {"2026-11-27t01:30:00z", T0},
        {"2026-11-27T09:30:00+08:00", T0},
        {"2026-11-27T09:30:00+0800", T0},
        {"2026-11-27T09:30:00+08", T0},
        {"2026-11-26T20:30:00-05:00", T0},
        {"2026-11-27T09:30:00", T0},         /* no offset: Beijing time */
        {"2026-11-27 09:30", T0},            /* space, no seconds */
        {"2026-11-27T01:30:00.250Z", T0 + 250},
        {"2026-11-27T01:30:00,5Z", T0 + 500},
        {"2026-11-27T01:30:00.123456789Z", T0 + 123}, /* truncated, not rounded */
        {"2026-11-27", T0 - (INT64_C(9) * 3600 + 30 * 60) * 1000}, /* local midnight */
        {"1970-01-01T00:00:00Z", 0},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2024-02-29T00:00:00Z", INT64_C(1709164800000)},     /* leap day */
        {"2000-02-29T00:00:00Z", INT64_C(951782400000)},      /* 400-year leap */
        {"9999-12-31T23:59:59.999Z", INT64_C(253402300799999)},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = -42;
        int rc = isotime_parse(cases[i].text, strlen(cases[i].text), &ms);
        if (rc != GS_OK || ms != cases[i].ms)
            fail_msg("'%s': rc %d ms %lld, expected %lld", cases[i].text, rc, (long long)ms,
                     (long long)cases[i].ms);
    }
}

static void test_parse_refuses(void **state)
{
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11",
        "26-11-27",
        "2026-13-01",
        "2026-00-10",
        "2026-02-29",                /* not a leap year */
        "1900-02-29",                /* century, not leap */
        "2026-11-31",
        "2026-11-27T24:00:00Z",
        "2026-11-27T09:60Z",
        "2026-11-27T09:30:60Z",      /* no leap seconds */
        "2026-11-27T9:30Z",
        "2026-11-27T09:30:00.Z",     /* fraction without digits */
        "2026-11-27T09:30:00+19:00", /* offset out of range */
        "2026-11-27T09:30:00+08:",
        "2026-11-27T09:30:00+08:7",
        "2026-11-27T09:30:00 Z",
        "2026-11-27T",
        "2026-11-27X09:30",
        "2026-11-27T09:30:00Zjunk",
        "0000-01-01",
        "20261127T093000Z",          /* basic form not accepted */
        "2026-W48-5",
        "yesterday",
    };
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 7;
        if (isotime_parse(bad[i], strlen(bad[i]), &ms) != GS_E_INVALID)
            fail_msg("accepted '%s' as %lld", bad[i], (long long)ms);
        assert_int_equal(ms, 7); /* untouched */
    }
    assert_int_equal(isotime_parse(NULL, 0, NULL), GS_E_INVALID);
}

static void test_parse_respects_length(void **state)
{
    /* a slice of a longer buffer: only len bytes count */
    const char *s = "2026-11-27T01:30:00Zgarbage";
    int64_t ms;
    (void)state;

    assert_int_equal(isotime_parse(s, 20, &ms), GS_OK);
    assert_int_equal(ms, T0);
    assert_int_equal(isotime_parse(s, 10, &ms), GS_OK); /* "2026-11-27" */
    assert_int_equal(isotime_parse(s, 12, &ms), GS_E_INVALID);
}

static void test_format_utc(void **state)
{
    static const struct {
        int64_t ms;
        const char *text;
    } cases[] = {
        {T0, "2026-11-27T01:30:00Z"},
        {T0 + 250, "2026-11-27T01:30:00.250Z"},
        {0, "1970-01-01T00:00:00Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {INT64_C(951782400000), "2000-02-29T00:00:00Z"},
        {INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
    };
    char out[ISOTIME_MAX];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(isotime_format(cases[i].ms, out), GS_OK);
        assert_string_equal(out, cases[i].text);
    }
    assert_int_equal(isotime_format(INT64_C(253402300800000), out), GS_E_INVALID);
    assert_string_equal(out, "");
    assert_int_equal(isotime_format(INT64_MIN, out), GS_E_INVALID);
}

static void test_format_local_and_round_trip(void **state)
{
    char out[ISOTIME_MAX];
    int64_t back;
    (void)state;

    assert_int_equal(isotime_format_local(T0, ISOTIME_LOCAL_OFFSET_MIN, out), GS_OK);
    assert_string_equal(out, "2026-11-27 09:30");
    assert_int_equal(isotime_format_local(T0, -300, out), GS_OK);
    assert_string_equal(out, "2026-11-26 20:30");
    /* the local form parses back to the same minute */
    assert_int_equal(isotime_parse(out, strlen(out), &back), GS_OK);
    assert_int_equal(isotime_format_local(INT64_MAX, 0, out), GS_E_INVALID);
    /* every ms of a day around a leap year boundary round-trips through the UTC form */
    for (int64_t ms = INT64_C(951782400000) - 86400000; ms < INT64_C(951782400000) + 86400000;
         ms += 3599999) {
        assert_int_equal(isotime_format(ms, out), GS_OK);
        assert_int_equal(isotime_parse(out, strlen(out), &back), GS_OK);
        assert_int_equal(back, ms);
    }
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(isotime_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(isotime_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(isotime_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(isotime_days_from_civil(2026, 11, 27), 20784);
    assert_int_equal(isotime_days_from_civil(1, 1, 1), -719162);
}

/* A grid's day: Beijing midnight is 16:00 UTC the day before; floored before 1970 too. */
static void test_local_day_and_civil_from_days(void **state)
{
    static const struct {
        int64_t days;
        int64_t y;
        unsigned m, d;
    } dates[] = {{0, 1970, 1, 1}, {-1, 1969, 12, 31}, {11017, 2000, 3, 1},
                 {20784, 2026, 11, 27}, {-719162, 1, 1, 1}, {11016, 2000, 2, 29}};
    const int64_t day = INT64_C(86400000), bj = ISOTIME_LOCAL_OFFSET_MIN;
    int64_t midnight = 20784 * day - 8 * INT64_C(3600000); /* 2026-11-27 00:00 +08:00 */
    (void)state;
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        int64_t y;
        unsigned m, d;
        isotime_civil_from_days(dates[i].days, &y, &m, &d);
        assert_int_equal(y, dates[i].y);
        assert_int_equal(m, dates[i].m);
        assert_int_equal(d, dates[i].d);
    }
    assert_int_equal(isotime_local_midnight(20784, (int)bj), midnight);
    assert_int_equal(isotime_local_midnight(0, 0), 0);
    assert_int_equal(isotime_local_day(midnight, (int)bj), 20784);
    assert_int_equal(isotime_local_day(midnight - 1, (int)bj), 20783);
    assert_int_equal(isotime_local_day(midnight + day - 1, (int)bj), 20784);
    assert_int_equal(isotime_local_day(midnight, 0), 20783);
    assert_int_equal(isotime_local_day(-1, 0), -1);
    assert_int_equal(isotime_local_day(-8 * INT64_C(3600000), (int)bj), 0);
    assert_int_equal(isotime_local_day(-8 * INT64_C(3600000) - 1, (int)bj), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_parse_respects_length),
        cmocka_unit_test(test_format_utc),
        cmocka_unit_test(test_format_local_and_round_trip),
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_local_day_and_civil_from_days),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
