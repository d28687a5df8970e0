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

#include "nx/cortex.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/indicators.h"
#include "nx/symtab.h"

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

static double col(char **f, char **hf, const char *name)
{
    for (int k = 0; k < NCOL; k++)
        if (!strcmp(hf[k], name))
            return f[k][0] ? strtod(f[k], NULL) : NAN;
    fail_msg("no column %s", name);
    return NAN;
}

static void near(double got, double want, int row, const char *what)
{
    if (isnan(want) != isnan(got))
        fail_msg("row %d %s: ours %g, TA-Lib %g", row, what, got, want);
    if (!isnan(want) && fabs(got - want) > 1e-9 * fmax(1.0, fabs(want)))
        fail_msg("row %d %s: ours %.17g, TA-Lib %.17g", row, what, got, want);
}

/* The cortex's market read (what /regime shows) on the 2,000 real candles
 * fed as closed 15m klines: every value equals TA-Lib's on that candle, and
 * the regime is the documented rule applied to TA-Lib's values (ATR(100)
 * from the TA-Lib-checked ATR), so a wrong input, threshold or order of
 * the rules fails here. */
static void test_market_read_through_the_cortex(void **state)
{
    (void)state;
    nx_symtab_t *t = malloc(sizeof *t);
    assert_non_null(t);
    nx_symtab_init(t);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 8, 1, 1, 0, NULL), 0);
    static const uint32_t tfs[] = {3600, 900};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tfs;
    o.ntf = 2;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    nx_market_read_t r;
    assert_int_equal(nx_cortex_start(cx), 0);
    assert_int_equal(nx_cortex_market_read(cx, 0, &r), NX_EINVAL); /* not asked for */
    nx_cortex_destroy(cx);
    o.market_read = 1;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    assert_int_equal(nx_cortex_market_read(cx, 0, &r), NX_ESTATE);
    assert_int_equal(nx_cortex_start(cx), 0);
    assert_int_equal(nx_cortex_market_read(cx, 1, &r), NX_ENOENT);
    assert_int_equal(nx_cortex_market_read(cx, 0, &r), 0);
    assert_int_equal(r.tf_s, 900); /* 15m preferred, though configured second */
    assert_int_equal(r.closed, 0);
    assert_int_equal(r.regime, NX_REGIME_UNKNOWN);

    FILE *cf = fopen(ref_path("binance_spot_BTCUSDT_15m_first2000.candles.csv"), "r");
    FILE *rf = fopen(ref_path("binance_spot_BTCUSDT_15m_first2000.ta.csv"), "r");
    assert_non_null(cf);
    assert_non_null(rf);
    char cl[512], rl[4096], header[4096];
    assert_non_null(fgets(cl, sizeof cl, cf));
    assert_non_null(fgets(header, sizeof header, rf));
    char *hf[NCOL + 1];
    assert_int_equal(split(header, hf), NCOL);
    nx_atr_t atr100;
    nx_atr_init(&atr100, 100);
    int rows = 0, seen[NX_REGIME_MIXED + 1] = {0};
    while (fgets(cl, sizeof cl, cf)) {
        assert_non_null(fgets(rl, sizeof rl, rf));
        char *f[8];
        assert_int_equal(split(cl, f), 6);
        int64_t v[5];
        for (int k = 0; k < 5; k++)
            assert_int_equal(nx_fixed_parse(f[k + 1], strlen(f[k + 1]), 8, &v[k]), 0);
        nx_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.hdr.type = NX_EV_KLINE;
        ev.hdr.venue = NX_VENUE_BINANCE_USDM;
        ev.hdr.symbol = 0;
        ev.u.kline.open_ms = atoll(f[0]);
        ev.hdr.exch_ns = (ev.u.kline.open_ms + 900000) * 1000000;
        ev.u.kline.open = v[0];
        ev.u.kline.high = v[1];
        ev.u.kline.low = v[2];
        ev.u.kline.close = v[3];
        ev.u.kline.volume = v[4];
        ev.u.kline.interval_s = 900;
        ev.u.kline.closed = 1;
        nx_cortex_on_event(cx, &ev);
        double a100 = nx_atr_update(&atr100, strtod(f[2], NULL), strtod(f[3], NULL),
                                    strtod(f[4], NULL))
                          ? atr100.value
                          : NAN;

        char *w[NCOL + 1];
        assert_int_equal(split(rl, w), NCOL);
        assert_int_equal(nx_cortex_market_read(cx, 0, &r), 0);
        assert_int_equal(r.closed, (uint64_t)rows + 1);
        assert_true(r.open_ms == ev.u.kline.open_ms);
        near(r.close, col(w, hf, "close"), rows, "close");
        near(r.adx, col(w, hf, "adx14"), rows, "adx14");
        near(r.plus_di, col(w, hf, "plus_di14"), rows, "plus_di14");
        near(r.minus_di, col(w, hf, "minus_di14"), rows, "minus_di14");
        near(r.ema50, col(w, hf, "ema50"), rows, "ema50");
        near(r.ema200, col(w, hf, "ema200"), rows, "ema200");
        near(r.atr14, col(w, hf, "atr14"), rows, "atr14");
        near(r.natr14, col(w, hf, "natr14"), rows, "natr14");
        near(r.bb_upper, col(w, hf, "bb_upper"), rows, "bb_upper");
        near(r.bb_lower, col(w, hf, "bb_lower"), rows, "bb_lower");
        near(r.rsi14, col(w, hf, "rsi14"), rows, "rsi14");
        near(r.atr100, a100, rows, "atr100");

        /* the rule, written out again on TA-Lib's numbers */
        double adx = col(w, hf, "adx14"), pdi = col(w, hf, "plus_di14"),
               mdi = col(w, hf, "minus_di14"), atr = col(w, hf, "atr14");
        nx_regime_t want = NX_REGIME_UNKNOWN;
        if (isnan(adx) || isnan(a100))
            want = NX_REGIME_UNKNOWN;
        else if (atr >= 1.5 * a100)
            want = NX_REGIME_VOLATILE;
        else if (adx >= 25)
            want = pdi > mdi ? NX_REGIME_TREND_UP : NX_REGIME_TREND_DOWN;
        else if (adx < 20)
            want = NX_REGIME_RANGE;
        else
            want = NX_REGIME_MIXED;
        if (r.regime != want)
            fail_msg("row %d: regime %s, the rule says %s (adx %g, +di %g, -di %g, atr %g/%g)",
                     rows, nx_regime_name(r.regime), nx_regime_name(want), adx, pdi, mdi, atr,
                     a100);
        seen[r.regime]++;
        rows++;
    }
    fclose(cf);
    fclose(rf);
    assert_int_equal(rows, 2000);
    printf("# regimes over 2,000 candles: unknown %d, trend up %d, trend down %d, range %d, "
           "volatile %d, mixed %d\n",
           seen[0], seen[1], seen[2], seen[3], seen[4], seen[5]);
    assert_int_equal(seen[NX_REGIME_UNKNOWN], 100); /* ATR(100) needs 100 candles */
    for (int k = 1; k <= NX_REGIME_MIXED; k++)
        assert_true(seen[k] > 0); /* real data visits every regime */
    assert_string_equal(nx_regime_name(NX_REGIME_TREND_DOWN), "trend down");
    nx_cortex_destroy(cx);
    free(t);
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
        cmocka_unit_test(test_market_read_through_the_cortex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
