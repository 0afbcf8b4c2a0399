/*
 * test_uuid.c: UUIDv7 layout (RFC 9562 5.7), ordering, randomness, and the strict text
 * form in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/rc.h"
#include "common/uuid.h"

static void test_v7_layout(void **state)
{
    uint8_t id[UUID_LEN];
    const uint64_t ms = UINT64_C(0x017F22E279B0); /* RFC 9562 appendix A.6 example time */
    (void)state;

    assert_int_equal(uuid_v7(id, ms), GS_OK);
    assert_int_equal(uuid_v7_ms(id), ms);
    assert_int_equal(uuid_version(id), 7);
    assert_int_equal(id[8] & 0xC0, 0x80); /* variant 10 */
    assert_int_equal(id[0], 0x01);
    assert_int_equal(id[5], 0xB0);
}

static void test_v7_orders_by_time_and_is_random(void **state)
{
    uint8_t a[UUID_LEN], b[UUID_LEN], c[UUID_LEN];
    (void)state;

    assert_int_equal(uuid_v7(a, 1000), GS_OK);
    assert_int_equal(uuid_v7(b, 1001), GS_OK);
    assert_int_equal(uuid_v7(c, 1001), GS_OK);
    assert_true(memcmp(a, b, UUID_LEN) < 0);
    /* same millisecond: 74 random bits make a collision practically impossible */
    assert_true(memcmp(b, c, UUID_LEN) != 0);
}

static void test_format_parse_round_trip(void **state)
{
    const char *text = "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"; /* RFC 9562 A.6 */
    uint8_t id[UUID_LEN];
    char back[UUID_TEXT_LEN + 1];
    (void)state;

    assert_int_equal(uuid_parse(text, strlen(text), id), GS_OK);
    assert_int_equal(uuid_version(id), 7);
    assert_int_equal(uuid_v7_ms(id), UINT64_C(0x017F22E279B0));
    uuid_format(id, back);
    assert_string_equal(back, text);
    assert_int_equal(uuid_parse("017F22E2-79B0-7CC3-98C4-DC0C0C07398F", 36, id), GS_OK);
    uuid_format(id, back);
    assert_string_equal(back, text); /* output is always lower case */
}

static void test_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398",   /* short */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398f0", /* long */
        "017f22e279b07cc398c4dc0c0c07398f",      /* no dashes */
        "017f22e2+79b0-7cc3-98c4-dc0c0c07398f",  /* wrong separator */
        "017f22e2-79b0-7cc3-98c4-dc0c0c07398g",  /* not hex */
        "{17f22e2-79b0-7cc3-98c4-dc0c0c07398f",  /* brace */
    };
    uint8_t id[UUID_LEN];
    memset(id, 0xAA, sizeof(id));
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (uuid_parse(bad[i], strlen(bad[i]), id) != GS_E_INVALID)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(id[0], 0xAA); /* untouched on failure */
    }
    assert_int_equal(uuid_parse(NULL, 36, id), GS_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v7_layout),
        cmocka_unit_test(test_v7_orders_by_time_and_is_random),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_parse_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
