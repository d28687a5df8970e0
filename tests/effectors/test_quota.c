/*
 * test_quota — request limits kept at a share (nx/quota.h): Bybit's 600
 * requests per 5 s per IP and Alpaca's 200 per minute per key at 80%; a
 * stream of requests faster than the share is cut so that no 5 s window
 * (checked independently: every window ending at an accepted request,
 * counted by brute force) holds more than 480; Bybit's reported
 * per-endpoint limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nx/error.h"
#include "nx/quota.h"

#define MS  1000000LL
#define SEC (1000 * MS)

static nx_quota_t Q;

static void test_bybit_ip_burst(void **state)
{
    (void)state;
    assert_int_equal(nx_quota_init(&Q, 600, 5 * SEC, 80), 0);
    for (int i = 0; i < 480; i++)
        assert_int_equal(nx_quota_take(&Q, 1000 * SEC + i * MS), 1);
    int64_t now = 1000 * SEC + 480 * MS;
    assert_int_equal(nx_quota_take(&Q, now), 0); /* the 481st: over 80% */
    assert_int_equal(nx_quota_used(&Q, now), 480);
    assert_int_equal(Q.max_pct, 80);
    /* the first leaves the window 5 s after it went */
    assert_int_equal(nx_quota_wait_ns(&Q, now), 5 * SEC - 480 * MS);
    assert_int_equal(nx_quota_take(&Q, 1005 * SEC - 1), 0);
    assert_int_equal(nx_quota_wait_ns(&Q, 1005 * SEC), 0);
    assert_int_equal(nx_quota_take(&Q, 1005 * SEC), 1);
}

static void test_steady_stream(void **state)
{
    (void)state;
    /* 100 requests a second for 20 s: 500 per 5 s asked, 480 allowed */
    assert_int_equal(nx_quota_init(&Q, 600, 5 * SEC, 80), 0);
    static int64_t sent[2000];
    int n = 0, refused = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t t = i * 10 * MS;
        if (nx_quota_take(&Q, t))
            sent[n++] = t;
        else
            refused++;
    }
    assert_true(refused > 0);
    int worst = 0;
    for (int i = 0; i < n; i++) {
        int c = 0;
        for (int j = 0; j <= i; j++)
            c += sent[i] - sent[j] < 5 * SEC;
        worst = c > worst ? c : worst;
    }
    assert_int_equal(worst, 480); /* full use of the share, never more */
    assert_int_equal(Q.max_pct, 80);
}

static void test_alpaca_minute(void **state)
{
    (void)state;
    assert_int_equal(nx_quota_init(&Q, 200, 60 * SEC, 80), 0);
    for (int i = 0; i < 160; i++)
        assert_int_equal(nx_quota_take(&Q, i * 100 * MS), 1);
    assert_int_equal(nx_quota_take(&Q, 16 * SEC), 0);
    assert_int_equal(nx_quota_wait_ns(&Q, 16 * SEC), 44 * SEC);
}

static void test_reported(void **state)
{
    (void)state;
    nx_quota_reported_t r = {0};
    assert_true(nx_quota_reported_ok(&r, 80, 1)); /* nothing reported yet */
    r = (nx_quota_reported_t){.limit = 10, .left = 9, .reset_ms = 2000};
    assert_true(nx_quota_reported_ok(&r, 80, 1000)); /* 1 used: 2 of 10 after */
    r.left = 3;                                      /* 7 used: 8 after, 80% */
    assert_true(nx_quota_reported_ok(&r, 80, 1000));
    r.left = 2; /* 8 used: 9 would be 90% */
    assert_false(nx_quota_reported_ok(&r, 80, 1000));
    assert_true(nx_quota_reported_ok(&r, 80, 2000)); /* past the reset */
}

static void test_refused(void **state)
{
    (void)state;
    assert_int_equal(nx_quota_init(&Q, 0, SEC, 80), NX_EINVAL);
    assert_int_equal(nx_quota_init(&Q, 10, 0, 80), NX_EINVAL);
    assert_int_equal(nx_quota_init(&Q, 10, SEC, 0), NX_EINVAL);
    assert_int_equal(nx_quota_init(&Q, 10, SEC, 101), NX_EINVAL);
    assert_int_equal(nx_quota_init(&Q, 1, SEC, 50), NX_EINVAL);    /* a share of nothing */
    assert_int_equal(nx_quota_init(&Q, 5000, SEC, 80), NX_EINVAL); /* more than remembered */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bybit_ip_burst), cmocka_unit_test(test_steady_stream),
        cmocka_unit_test(test_alpaca_minute),  cmocka_unit_test(test_reported),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
