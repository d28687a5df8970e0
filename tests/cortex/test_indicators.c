/*
 * test_indicators.c — the incremental indicators against TA-Lib.
 *
 * tests/data/ta_reference holds TA-Lib 0.6's output for 2,000 real BTCUSDT
 * 15m candles. Fed one candle at a time, every column of every row must
 * match: a value exactly where TA-Lib has one (|a-b| <= 1e-9*max(1,|b|),
 * and in fact bit for bit), none where TA-Lib has none. `nexus indicators`
 * must print the reference file itself, byte for byte.
 *
 * argv[1] = the nexus binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/error.h"
#include "nx/indicators.h"

static const char *nexus_bin;

static const char *ref_path(const char *name)
{
    static char buf[2][512];
    static int k;
    const char *src = getenv("NX_SOURCE_DIR");
    char *b = buf[k++ % 2];
    snprintf(b, 512, "%s/tests/data/ta_reference/%s", src ? src : NX_SOURCE_DIR_DEFAULT, name);
    return b;
}

#define NCOL 23

/* Split a CSV line into fields (in place). */
static int split(char *line, char **f)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    f[n++] = line;
    for (char *p = line; *p; p++)
        if (*p == ',') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

static void test_every_column_matches_talib(void **state)
{
    (void)state;
    FILE *cf = fopen(ref_path("binance_spot_BTCUSDT_15m_first2000.candles.csv"), "r");
    FILE *rf = fopen(ref_path("binance_spot_BTCUSDT_15m_first2000.ta.csv"), "r");
    assert_non_null(cf);
    assert_non_null(rf);
    char cl[512], rl[4096], row[4096], header[4096];
    assert_non_null(fgets(cl, sizeof cl, cf)); /* header */
    assert_non_null(fgets(header, sizeof header, rf));
    header[strcspn(header, "\r\n")] = 0;
    assert_string_equal(header, NX_TASET_HEADER);
    char *hf[NCOL + 1];
    assert_int_equal(split(header, hf), NCOL);
    static nx_taset_t t;
    nx_taset_init(&t);
    int rows = 0, values = 0, exact = 0;
    while (fgets(cl, sizeof cl, cf)) {
        assert_non_null(fgets(rl, sizeof rl, rf));
        long long ot;
        double o, h, l, c, v;
        assert_int_equal(sscanf(cl, "%lld,%lf,%lf,%lf,%lf,%lf", &ot, &o, &h, &l, &c, &v), 6);
        nx_taset_update(&t, o, h, l, c, v);
        nx_taset_row(&t, ot, row, sizeof row);
        char *want[NCOL + 1], *got[NCOL + 1];
        assert_int_equal(split(rl, want), NCOL);
        assert_int_equal(split(row, got), NCOL);
        for (int k = 2; k < NCOL; k++) {
            int has_w = want[k][0] != 0, has_g = got[k][0] != 0;
            if (has_w != has_g)
                fail_msg("row %d %s: TA-Lib %s, ours %s", rows, hf[k], has_w ? want[k] : "(none)",
                         has_g ? got[k] : "(none)");
            if (!has_w)
                continue;
            double a = strtod(got[k], NULL), b = strtod(want[k], NULL);
            if (fabs(a - b) > 1e-9 * fmax(1.0, fabs(b)))
                fail_msg("row %d %s: ours %.17g, TA-Lib %.17g", rows, hf[k], a, b);
            values++;
            exact += a == b;
        }
        rows++;
    }
    fclose(cf);
    fclose(rf);
    printf("# %d rows, %d values, %d bit-exact\n", rows, values, exact);
    assert_int_equal(rows, 2000);
    assert_true(values > 40000);
}

static void test_cli_prints_the_reference(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s indicators --csv %s | cmp -s - %s", nexus_bin,
             ref_path("binance_spot_BTCUSDT_15m_first2000.candles.csv"),
             ref_path("binance_spot_BTCUSDT_15m_first2000.ta.csv"));
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "echo 'x,1,2' | %s indicators --csv - > /dev/null 2>&1", nexus_bin);
    assert_int_not_equal(system(cmd), 0); /* bad input is refused, not guessed */
}

static void test_building_blocks(void **state)
{
    (void)state;
    nx_rolling_t mx, mn;
    nx_rolling_init(&mx, 3, 1);
    nx_rolling_init(&mn, 3, 0);
    static const double xs[] = {5, 1, 4, 2, 8, 3, 3, 1};
    static const double hi[] = {5, 5, 5, 4, 8, 8, 8, 3};
    static const double lo[] = {5, 1, 1, 1, 2, 2, 3, 1};
    for (int i = 0; i < 8; i++) {
        double a, b;
        int ok = nx_rolling_update(&mx, xs[i], &a);
        nx_rolling_update(&mn, xs[i], &b);
        assert_int_equal(ok, i >= 2);
        assert_true(a == hi[i] && b == lo[i]);
    }
    nx_sma_t s;
    assert_int_equal(nx_sma_init(&s, 0), NX_EINVAL);
    assert_int_equal(nx_sma_init(&s, NX_IND_MAX_PERIOD + 1), NX_EINVAL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_indicators NEXUS_BINARY\n");
        return 2;
    }
    nexus_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_column_matches_talib),
        cmocka_unit_test(test_cli_prints_the_reference),
        cmocka_unit_test(test_building_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
