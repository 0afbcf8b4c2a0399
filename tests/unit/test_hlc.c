/*
 * test_hlc.c: the hybrid logical clock against a scripted wall clock: local events,
 * receives, counter overflow, a wall clock stepping backwards, and the drift guard; and
 * once against the real clock: its physical part is the system time, in the documented
 * layout.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/hlc.h"
#include "common/rc.h"

/* A wall clock the test sets by hand. */
typedef struct fake_clock {
    uint64_t ms; /* what the clock says now */
} fake_clock;

static uint64_t fake_now(void *ud)
{
    return ((fake_clock *)ud)->ms;
}

static const uint64_t T0 = UINT64_C(1795000000000); /* 2026-11-18 */
static const uint64_t DRIFT = 300000;               /* 5 minutes */

static void test_now_takes_wall_time_then_counts(void **state)
{
    fake_clock fc = {T0};
    hlc c;
    uint64_t a, b;
    (void)state;

    hlc_init(&c, 0, DRIFT, fake_now, &fc);
    assert_int_equal(hlc_now(&c, &a), GS_OK);
    assert_int_equal(hlc_physical(a), T0);
    assert_int_equal(hlc_logical(a), 0);
    assert_int_equal(hlc_now(&c, &b), GS_OK); /* same millisecond: the counter advances */
    assert_int_equal(hlc_physical(b), T0);
    assert_int_equal(hlc_logical(b), 1);
    fc.ms = T0 + 5;
    assert_int_equal(hlc_now(&c, &b), GS_OK); /* the wall clock moved: counter resets */
    assert_int_equal(hlc_physical(b), T0 + 5);
    assert_int_equal(hlc_logical(b), 0);
}

static void test_now_monotonic_when_wall_clock_steps_back(void **state)
{
    fake_clock fc = {T0};
    hlc c;
    uint64_t prev, next;
    (void)state;

    hlc_init(&c, 0, DRIFT, fake_now, &fc);
    assert_int_equal(hlc_now(&c, &prev), GS_OK);
    /* NTP steps the clock back an hour: the HLC must keep increasing, on the old time */
    fc.ms = T0 - 3600 * 1000;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(hlc_now(&c, &next), GS_OK);
        assert_true(next > prev);
        assert_int_equal(hlc_physical(next), T0);
        prev = next;
    }
}

static void test_now_counter_overflow_carries(void **state)
{
    fake_clock fc = {T0};
    hlc c;
    uint64_t t;
    (void)state;

    hlc_init(&c, hlc_pack(T0, HLC_LOGICAL_MAX - 1), DRIFT, fake_now, &fc);
    assert_int_equal(hlc_now(&c, &t), GS_OK);
    assert_int_equal(hlc_logical(t), HLC_LOGICAL_MAX);
    assert_int_equal(hlc_physical(t), T0);
    assert_int_equal(hlc_now(&c, &t), GS_OK); /* 0xFFFF + 1 carries into the next ms */
    assert_int_equal(hlc_physical(t), T0 + 1);
    assert_int_equal(hlc_logical(t), 0);
}

static void test_now_refuses_past_48_bits(void **state)
{
    fake_clock fc = {T0};
    hlc c;
    uint64_t t = 42;
    (void)state;

    hlc_init(&c, hlc_pack(HLC_PHYSICAL_MAX, HLC_LOGICAL_MAX), DRIFT, fake_now, &fc);
    assert_int_equal(hlc_now(&c, &t), GS_E_CLOCK);
    assert_int_equal(t, 42); /* out-parameter untouched on failure */
}

/* recv cases: (local last, wall, remote) -> expected (physical, logical) */
static const struct recv_case {
    const char *name;
    uint64_t last_p;
    uint32_t last_l;
    uint64_t wall;
    uint64_t remote_p;
    uint32_t remote_l;
    uint64_t want_p;
    uint32_t want_l;
} recv_cases[] = {
    {"wall ahead of both", T0, 3, T0 + 10, T0 + 5, 7, T0 + 10, 0},
    {"remote ahead, within drift", T0, 3, T0, T0 + 1000, 7, T0 + 1000, 8},
    {"local ahead", T0 + 50, 3, T0, T0 + 20, 9, T0 + 50, 4},
    {"all equal: max counter + 1", T0, 3, T0, T0, 9, T0, 10},
    {"all equal: local counter larger", T0, 12, T0, T0, 9, T0, 13},
    {"remote counter at max carries", T0, 0, T0, T0 + 100, HLC_LOGICAL_MAX, T0 + 101, 0},
};

static void test_recv_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(recv_cases) / sizeof(recv_cases[0]); i++) {
        const struct recv_case *k = &recv_cases[i];
        fake_clock fc = {k->wall};
        hlc c;
        uint64_t t;

        hlc_init(&c, hlc_pack(k->last_p, k->last_l), DRIFT, fake_now, &fc);
        if (hlc_recv(&c, hlc_pack(k->remote_p, k->remote_l), &t) != GS_OK)
            fail_msg("%s: recv failed", k->name);
        if (hlc_physical(t) != k->want_p || hlc_logical(t) != k->want_l)
            fail_msg("%s: got (%llu,%u) want (%llu,%u)", k->name,
                     (unsigned long long)hlc_physical(t), hlc_logical(t),
                     (unsigned long long)k->want_p, k->want_l);
        assert_true(t > hlc_pack(k->remote_p, k->remote_l));
        assert_true(t > hlc_pack(k->last_p, k->last_l));
    }
}

static void test_recv_refuses_remote_beyond_drift(void **state)
{
    fake_clock fc = {T0};
    hlc c;
    uint64_t before, t = 7;
    uint64_t year_2031 = UINT64_C(1924992000000);
    (void)state;

    hlc_init(&c, 0, DRIFT, fake_now, &fc);
    assert_int_equal(hlc_now(&c, &before), GS_OK);
    assert_int_equal(hlc_recv(&c, hlc_pack(year_2031, 0), &t), GS_E_CLOCK);
    assert_int_equal(t, 7);
    assert_int_equal(c.last, before); /* the clock was not dragged forward */
    assert_int_equal(hlc_check_drift(&c, hlc_pack(T0 + DRIFT + 1, 0)), GS_E_CLOCK);
    assert_int_equal(hlc_check_drift(&c, hlc_pack(T0 + DRIFT, 0)), GS_OK);
    /* exactly at the drift limit is accepted and moves the clock */
    assert_int_equal(hlc_recv(&c, hlc_pack(T0 + DRIFT, 0), &t), GS_OK);
    assert_int_equal(hlc_physical(t), T0 + DRIFT);
}

/* The system's idea of now in ms, read here rather than through hlc_wall_ms, and the same
 * in whole seconds from time(), a second clock API, so a unit error (s, us) shows. */
static uint64_t system_ms(void)
{
    struct timespec ts;
    assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A clock with no wall clock given runs on the real one: its physical part is the system
 * time in ms (within WALL_TOLERANCE_MS, for a wall clock stepped between the reads), laid
 * out in the top 48 bits with the counter in the low 16; events in one millisecond count
 * up, a new millisecond restarts the counter. */
#define WALL_TOLERANCE_MS 1000u
static void test_real_wall_clock_matches_system_time(void **state)
{
    hlc c;
    uint64_t t, t2, before, after, phys, secs;
    (void)state;

    hlc_init(&c, 0, DRIFT, NULL, NULL);
    before = system_ms();
    assert_int_equal(hlc_now(&c, &t), GS_OK);
    after = system_ms();
    secs = (uint64_t)time(NULL);
    assert_true(hlc_physical(t) > UINT64_C(1700000000000)); /* after 2023 */
    phys = t >> 16;                                         /* the layout, by hand */
    if (phys + WALL_TOLERANCE_MS < before || phys > after + WALL_TOLERANCE_MS)
        fail_msg("HLC physical part %llu ms, system time %llu..%llu ms",
                 (unsigned long long)phys, (unsigned long long)before,
                 (unsigned long long)after);
    if (phys / 1000 + 2 < secs || phys / 1000 > secs + 2)
        fail_msg("HLC physical part %llu ms is not time() = %llu s", (unsigned long long)phys,
                 (unsigned long long)secs);
    assert_int_equal(hlc_physical(t), phys);
    assert_int_equal(t & 0xFFFFu, 0); /* the first event of a new clock: counter 0 */
    assert_int_equal(hlc_logical(t), 0);
    assert_int_equal(hlc_pack(phys, 0), t);

    assert_int_equal(hlc_now(&c, &t2), GS_OK);
    assert_true(t2 > t);
    if ((t2 >> 16) == phys)
        assert_int_equal(t2 & 0xFFFFu, 1); /* same millisecond: the counter moved on */
    else
        assert_int_equal(t2 & 0xFFFFu, 0); /* a later millisecond: counter restarted */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_now_takes_wall_time_then_counts),
        cmocka_unit_test(test_now_monotonic_when_wall_clock_steps_back),
        cmocka_unit_test(test_now_counter_overflow_carries),
        cmocka_unit_test(test_now_refuses_past_48_bits),
        cmocka_unit_test(test_recv_table),
        cmocka_unit_test(test_recv_refuses_remote_beyond_drift),
        cmocka_unit_test(test_real_wall_clock_matches_system_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
