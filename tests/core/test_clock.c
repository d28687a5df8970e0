/*
 * test_clock.c — live and simulated clocks behind one interface.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
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

/* The hand-made UTC formatter agrees with the C library's gmtime_r and
 * strftime over 1900..2400, leap days and negative times included. */
static void test_utc_format(void **state)
{
    (void)state;
    char a[40], b[40];
    int64_t from = -2208988800LL, to = 13569465600LL; /* 1900-01-01 .. 2400-01-01 */
    uint64_t x = 88172645463325252ULL;
    int checked = 0;
    for (int64_t t = from; t < to; t += 86400 * 17 + 3601, checked++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t s = t + (int64_t)(x % 86400);
        time_t tt = (time_t)s;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
        int n = nx_utc_format(s, a, sizeof a);
        assert_int_equal(n, (int)strlen(b));
        assert_string_equal(a, b);
    }
    assert_int_equal(nx_utc_format(951782400, a, sizeof a), 19); /* 2000-02-29 */
    assert_string_equal(a, "2000-02-29T00:00:00");
    assert_true(checked > 10000);
}

/* Retry waits: doubling from min, capped at max, each drawn from [d/2, d]. */
static void test_backoff(void **state)
{
    (void)state;
    for (uint32_t a = 0; a < 40; a++) {
        int64_t d = a < 10 ? (int64_t)200 << a : 30000;
        if (d > 30000)
            d = 30000;
        int64_t lo = INT64_MAX, hi = 0;
        for (int k = 0; k < 200; k++) {
            int64_t w = nx_backoff_ms(200, 30000, a);
            assert_true(w >= d / 2 && w <= d);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        assert_true(hi > lo); /* jittered, not a fixed step */
    }
    assert_int_equal(nx_backoff_ms(0, 100, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_live), cmocka_unit_test(test_sim),
                                       cmocka_unit_test(test_utc_format),
                                       cmocka_unit_test(test_backoff)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
