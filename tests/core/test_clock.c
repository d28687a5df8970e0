/*
 * test_clock.c — live and simulated clocks behind one interface.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <time.h>

#include "nx/clock.h"

static void test_live(void **state)
{
    (void)state;
    nx_clock_t c;
    nx_clock_init_live(&c);
    int64_t a = nx_clock_mono(&c), b = nx_clock_mono(&c);
    assert_true(b >= a);
    /* Realtime is wall-clock ns since the epoch: after 2020, before 2100. */
    int64_t now = nx_clock_now(&c);
    assert_true(now > 1577836800LL * NX_NS_PER_SEC);
    assert_true(now < 4102444800LL * NX_NS_PER_SEC);
    assert_true(nx_clock_advance(&c, 5) >= 0); /* no effect in live mode */
}

static void test_sim(void **state)
{
    (void)state;
    nx_clock_t c;
    int64_t t0 = 1610409600000LL * NX_NS_PER_MS;
    nx_clock_init_sim(&c, t0);
    assert_int_equal(nx_clock_now(&c), t0);
    assert_int_equal(nx_clock_mono(&c), t0);
    /* Time stands still until advanced by event time... */
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    assert_int_equal(nx_clock_now(&c), t0);
    assert_int_equal(nx_clock_advance(&c, t0 + 900 * NX_NS_PER_SEC), t0 + 900 * NX_NS_PER_SEC);
    assert_int_equal(nx_clock_now(&c), t0 + 900 * NX_NS_PER_SEC);
    /* ...and never runs backwards on an out-of-order event. */
    assert_int_equal(nx_clock_advance(&c, t0), t0 + 900 * NX_NS_PER_SEC);
    assert_int_equal(nx_clock_mono(&c), t0 + 900 * NX_NS_PER_SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_live), cmocka_unit_test(test_sim)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
