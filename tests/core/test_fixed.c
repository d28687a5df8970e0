/*
 * test_fixed.c — exact decimal parsing and formatting: round trips,
 * boundaries, and every rejection class.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "nx/error.h"
#include "nx/fixed.h"

static int parse(const char *s, unsigned scale, int64_t *out)
{
    return nx_fixed_parse(s, strlen(s), scale, out);
}

static void test_examples(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(parse("0.00012345", 8, &v), 0);
    assert_int_equal(v, 12345);
    assert_int_equal(parse("35547.19", 8, &v), 0);
    assert_int_equal(v, 3554719000000LL);
    assert_int_equal(parse("35547.19", 2, &v), 0);
    assert_int_equal(v, 3554719);
    assert_int_equal(parse("19720", 8, &v), 0);
    assert_int_equal(v, 1972000000000LL);
    assert_int_equal(parse("0", 8, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse("-0.5", 1, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(parse("-0", 4, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(parse("007.10", 2, &v), 0);
    assert_int_equal(v, 710);
    /* Trailing zeros beyond the scale are exact, so accepted. */
    assert_int_equal(parse("126.1800", 2, &v), 0);
    assert_int_equal(v, 12618);
    assert_int_equal(parse("5.000000000000000000000", 0, &v), 0);
    assert_int_equal(v, 5);
}

static void test_round_trip(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "0",
        "1",
        "-1",
        "0.1",
        "0.00000001",
        "35547.19",
        "19720",
        "-123.456",
        "92233720368.54775807",
        "-92233720368.54775807",
        "0.5",
        "1000000",
        "7.611",
    };
    char buf[NX_FIXED_FMT_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v;
        assert_int_equal(parse(cases[i], 8, &v), 0);
        assert_true(nx_fixed_format(v, 8, buf, sizeof buf) > 0);
        assert_string_equal(buf, cases[i]);
    }
    /* Every scale, a sweep of values: parse(format(v)) == v. */
    for (unsigned scale = 0; scale <= NX_FIXED_MAX_SCALE; scale++) {
        for (int64_t v = -2000; v <= 2000; v += 7) {
            int64_t w;
            size_t n = nx_fixed_format(v * 997, scale, buf, sizeof buf);
            assert_true(n > 0);
            assert_int_equal(nx_fixed_parse(buf, n, scale, &w), 0);
            assert_int_equal(w, v * 997);
            n = nx_fixed_format_full(v * 997, scale, buf, sizeof buf);
            assert_int_equal(nx_fixed_parse(buf, n, scale, &w), 0);
            assert_int_equal(w, v * 997);
        }
    }
    assert_true(nx_fixed_format_full(3554719000000LL, 8, buf, sizeof buf) > 0);
    assert_string_equal(buf, "35547.19000000");
}

static void test_boundaries(void **state)
{
    (void)state;
    int64_t v;
    char buf[NX_FIXED_FMT_MAX];
    assert_int_equal(parse("9223372036854775807", 0, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(parse("-9223372036854775807", 0, &v), 0);
    assert_int_equal(v, -INT64_MAX);
    assert_int_equal(parse("9223372036854775808", 0, &v), NX_EOVERFLOW);
    assert_int_equal(parse("99999999999999999999", 0, &v), NX_EOVERFLOW);
    assert_int_equal(parse("92233720368.54775807", 8, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(parse("92233720368.54775808", 8, &v), NX_EOVERFLOW);
    assert_int_equal(parse("92233720369", 8, &v), NX_EOVERFLOW);
    assert_int_equal(parse("0.000000000000000001", 18, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(parse("9.223372036854775807", 18, &v), 0);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(parse("10", 18, &v), NX_EOVERFLOW);
    /* Many leading zeros are fine: the value is what counts. */
    assert_int_equal(parse("0000000000000000000000001", 8, &v), 0);
    assert_int_equal(v, 100000000);
    assert_true(nx_fixed_format(INT64_MIN, 8, buf, sizeof buf) > 0);
    assert_string_equal(buf, "-92233720368.54775808");
    assert_true(nx_fixed_format(INT64_MAX, 0, buf, sizeof buf) > 0);
    assert_string_equal(buf, "9223372036854775807");
    /* Too small a buffer is refused, not truncated. */
    assert_int_equal(nx_fixed_format(123456, 2, buf, 7), 0);
    assert_int_equal(nx_fixed_format(123456, 2, buf, 8), 7);
    assert_string_equal(buf, "1234.56");
}

static void test_rejections(void **state)
{
    (void)state;
    int64_t v = 42;
    assert_int_equal(nx_fixed_parse("", 0, 8, &v), NX_EEMPTY);
    assert_int_equal(nx_fixed_parse(NULL, 0, 8, &v), NX_EEMPTY);
    static const char *const junk[] = {"-",   ".",  ".5",  "1.",   "1..2", "1.2.3", "+1",
                                       " 1",  "1 ", "1e5", "1E-3", "abc",  "12a",   "0x10",
                                       "--1", "1-", "1,5", "NaN",  "inf",  "\"1\""};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        int rc = parse(junk[i], 8, &v);
        if (rc != NX_ESYNTAX)
            fail_msg("'%s' gave %s, expected NX_ESYNTAX", junk[i], nx_errname(rc));
    }
    assert_int_equal(parse("0.123456789", 8, &v), NX_EPRECISION);
    assert_int_equal(parse("1.05", 1, &v), NX_EPRECISION);
    assert_int_equal(parse("1.5", 0, &v), NX_EPRECISION);
    assert_int_equal(parse("1.000000001", 8, &v), NX_EPRECISION);
    assert_int_equal(parse("1", 19, &v), NX_EINVAL);
    /* The output is untouched on every failure. */
    assert_int_equal(v, 42);
    /* Length is honoured: no read past len. */
    assert_int_equal(nx_fixed_parse("12345", 3, 0, &v), 0);
    assert_int_equal(v, 123);
    /* Error codes have names and sentences. */
    assert_string_equal(nx_errname(NX_EPRECISION), "NX_EPRECISION");
    assert_string_equal(nx_strerror(NX_EPRECISION), "more fraction digits than the scale allows");
    assert_string_equal(nx_strerror(-9999), "unknown error");
}

static void test_rescale(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(nx_fixed_rescale(12618, 2, 8, &v), 0);
    assert_int_equal(v, 12618000000LL);
    assert_int_equal(nx_fixed_rescale(12618000000LL, 8, 2, &v), 0);
    assert_int_equal(v, 12618);
    assert_int_equal(nx_fixed_rescale(12618000001LL, 8, 2, &v), NX_EPRECISION);
    assert_int_equal(nx_fixed_rescale(INT64_MAX, 0, 1, &v), NX_EOVERFLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),   cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_boundaries), cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_rescale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
