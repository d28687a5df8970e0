/*
 * test_strategies.c — the five built-in strategy plugins, loaded as the
 * engine loads them (real .so files through the cortex), fed crafted candle
 * sequences that must and must not trigger them, and Sentinel on the real
 * crash of 2021-05-19 in the bundled BTCUSDT data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "cortex_fixture.h"
#include "nx/indicators.h"

#define MAXB 1200
#define T0   1609459200000LL /* 2021-01-01T00:00Z */
#define TF   900

typedef struct bars {
    int n;
    double o[MAXB], h[MAXB], l[MAXB], c[MAXB], v[MAXB];
} bars_t;

static bars_t B;

static void bar(double o, double h, double l, double c, double v)
{
    assert_true(B.n < MAXB);
    B.o[B.n] = o;
    B.h[B.n] = h;
    B.l[B.n] = l;
    B.c[B.n] = c;
    B.v[B.n] = v;
    B.n++;
}

/* A candle from the previous close to c, with wicks of w on both sides. */
static void to(double c, double w, double v)
{
    double o = B.n ? B.c[B.n - 1] : c;
    bar(o, fmax(o, c) + w, fmin(o, c) - w, c, v);
}

static int64_t fx8(double x)
{
    return llround(x * 1e8);
}

static fx_signals_t *S;

/* Run `plugin` on BTCUSDT (symbol 0) 15m candles B; returns the signals. */
static fx_signals_t *run(const char *plugin, const char *params, uint32_t sym_mask)
{
    nx_symtab_t *t = fx_symtab();
    static const uint32_t tf[] = {TF};
    memset(S, 0, sizeof *S);
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tf;
    o.ntf = 1;
    o.allow_unsigned = 1;
    o.on_signal = fx_collect;
    o.ctx = S;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    char path[512], err[512];
    uint32_t syms[2], nsym = 0;
    for (uint32_t i = 0; i < 2; i++)
        if (sym_mask & (1u << i))
            syms[nsym++] = i;
    nx_strategy_conf_t sc = {0};
    sc.path = fx_plugin(plugin, path, sizeof path);
    sc.params_json = params;
    sc.symbols = syms;
    sc.nsym = nsym;
    sc.tf_s = tf;
    sc.ntf = 1;
    int id = nx_cortex_add_strategy(cx, &sc, err, sizeof err);
    if (id < 0)
        print_message("%s\n", err);
    assert_true(id >= 0);
    assert_int_equal(nx_cortex_start(cx), 0);
    nx_event_t ev;
    for (int i = 0; i < B.n; i++) {
        for (uint32_t k = 0; k < nsym; k++) {
            fx_kline(&ev, syms[k], T0 + (int64_t)i * TF * 1000, TF, fx8(B.o[i]), fx8(B.h[i]),
                     fx8(B.l[i]), fx8(B.c[i]), fx8(B.v[i]));
            nx_cortex_on_event(cx, &ev);
        }
    }
    nx_cortex_destroy(cx);
    free(t);
    return S;
}

static int count(const fx_signals_t *s, int side, const char *reason)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += s->ev[i].u.signal.side == side && (!reason || !strcmp(s->ev[i].u.signal.reason, reason));
    return n;
}

/* index of the candle a signal fired on */
static int bar_of(const nx_event_t *e)
{
    return (int)((e->hdr.exch_ns / 1000000 - T0) / (TF * 1000)) - 1;
}

/* ---- trend ------------------------------------------------------------- */

static void test_trend_cross_with_strong_adx_buys(void **state)
{
    (void)state;
    B.n = 0;
    for (int i = 0; i < 90; i++) /* steady decline: fast below slow */
        to(200 - i * 1.0, 0.3, 10);
    for (int i = 0; i < 60; i++) /* strong rally: fast crosses up, ADX high */
        to(B.c[B.n - 1] + 2.5, 0.3, 10);
    fx_signals_t *s = run("trend", NULL, 1);
    assert_int_equal(count(s, NX_SIG_BUY, "ema_cross_up"), 1);
    assert_int_equal(count(s, NX_SIG_SELL, NULL), 0);
    const nx_ev_signal_t *g = &s->ev[0].u.signal;
    assert_int_equal(g->sl_kind, NX_LEVEL_ATR_MULT);
    assert_true(fabs(g->sl_value - 1.5) < 1e-12);
    assert_true(g->confidence >= 0.5 && g->confidence <= 1.0);
    assert_true(g->atr > 0);
    assert_int_equal(g->tf_s, TF);
    assert_int_equal(g->ref_price, fx8(B.c[bar_of(&s->ev[0])]));
    /* the mirror image sells */
    B.n = 0;
    for (int i = 0; i < 90; i++)
        to(100 + i * 1.0, 0.3, 10);
    for (int i = 0; i < 60; i++)
        to(B.c[B.n - 1] - 2.5, 0.3, 10);
    s = run("trend", NULL, 1);
    assert_int_equal(count(s, NX_SIG_SELL, "ema_cross_down"), 1);
    assert_int_equal(count(s, NX_SIG_BUY, NULL), 0);
}

static uint64_t lcg = 12345;

static double noise(void) /* deterministic, uniform in [-1, 1) */
{
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg >> 11) / 9007199254740992.0 * 2 - 1;
}

static void test_trend_ignores_crosses_without_adx(void **state)
{
    (void)state;
    /* a range: a slow wave plus noise; the EMAs cross several times while
     * ADX is below 25 */
    B.n = 0;
    lcg = 12345;
    for (int i = 0; i < 400; i++) {
        double o = B.n ? B.c[B.n - 1] : 100, c = 100 + 2 * sin(2 * M_PI * i / 90.0) + 1.5 * noise();
        double h = fmax(o, c) + fabs(noise()) * 0.8, l = fmin(o, c) - fabs(noise()) * 0.8;
        bar(o, h, l, c, 10);
    }
    nx_ema_t f, sl;
    nx_adx_t adx;
    nx_ema_init(&f, 20);
    nx_ema_init(&sl, 50);
    nx_adx_init(&adx, 14);
    int crosses = 0, prev = 0;
    double max_adx = 0;
    for (int i = 0; i < B.n; i++) {
        int a = nx_ema_update(&f, B.c[i]), b = nx_ema_update(&sl, B.c[i]);
        nx_adx_update(&adx, B.h[i], B.l[i], B.c[i]);
        if (a && b) {
            int side = f.value > sl.value ? 1 : -1;
            if (prev && side != prev) {
                crosses++;
                if (adx.adx > max_adx)
                    max_adx = adx.adx;
            }
            prev = side;
        }
    }
    print_message("range: %d EMA crosses, highest ADX at a cross %.1f\n", crosses, max_adx);
    assert_true(crosses >= 4); /* there are crosses ... */
    assert_true(max_adx < 25);
    fx_signals_t *s = run("trend", NULL, 1);
    assert_int_equal(s->n, 0); /* ... and none is confirmed */
    /* with the threshold lowered below the range's ADX every cross fires */
    s = run("trend", "{\"adx_min\": 1}", 1);
    assert_int_equal(s->n, crosses);
}

/* ---- scalping ------------------------------------------------------------ */

static void flat(int n, double px, double v)
{
    for (int i = 0; i < n; i++)
        to(px + (i % 2 ? 0.2 : -0.2), 0.3, v);
}

static void test_scalping_oversold_on_volume(void **state)
{
    (void)state;
    B.n = 0;
    flat(40, 100, 100);
    for (int i = 0; i < 6; i++)
        to(B.c[B.n - 1] - 1.5, 0.3, 100);
    to(B.c[B.n - 1] - 1.5, 0.3, 400); /* the spike */
    fx_signals_t *s = run("scalping", NULL, 1);
    assert_int_equal(s->n, 1);
    assert_int_equal(count(s, NX_SIG_BUY, "rsi_oversold_volume"), 1);
    assert_int_equal(bar_of(&s->ev[0]), B.n - 1);
    assert_true(fabs(s->ev[0].u.signal.sl_value - 1.0) < 1e-12);

    /* same fall, no volume: nothing */
    B.n = 0;
    flat(40, 100, 100);
    for (int i = 0; i < 7; i++)
        to(B.c[B.n - 1] - 1.5, 0.3, 100);
    assert_int_equal(run("scalping", NULL, 1)->n, 0);
    /* volume spike without an RSI extreme: nothing */
    B.n = 0;
    flat(40, 100, 100);
    to(100.5, 0.3, 1000);
    assert_int_equal(run("scalping", NULL, 1)->n, 0);
    /* overbought on volume sells */
    B.n = 0;
    flat(40, 100, 100);
    for (int i = 0; i < 6; i++)
        to(B.c[B.n - 1] + 1.5, 0.3, 100);
    to(B.c[B.n - 1] + 1.5, 0.3, 400);
    s = run("scalping", NULL, 1);
    assert_int_equal(s->n, 1);
    assert_int_equal(count(s, NX_SIG_SELL, "rsi_overbought_volume"), 1);
}

/* ---- mean reversion ------------------------------------------------------------------ */

static void test_mean_reversion_needs_band_and_divergence(void **state)
{
    (void)state;
    /* crash, rebound, then a slow drift to a lower low: price makes a new
     * low at the lower band while RSI stays above its crash low */
    B.n = 0;
    flat(60, 100, 10);
    for (int i = 0; i < 5; i++)
        to(B.c[B.n - 1] - 3, 0.5, 10);
    for (int i = 0; i < 5; i++)
        to(B.c[B.n - 1] + 2, 0.5, 10);
    for (int i = 0; i < 8; i++) /* drifts down, but stays above the crash low */
        to(B.c[B.n - 1] - 1, 0.5, 10);
    bar(B.c[B.n - 1], B.c[B.n - 1] + 0.5, B.c[B.n - 1] - 7, B.c[B.n - 1] - 1, 10); /* wick */
    fx_signals_t *s = run("mean_reversion", NULL, 1);
    assert_int_equal(count(s, NX_SIG_BUY, "bb_rsi_divergence_low"), 1);
    assert_int_equal(count(s, NX_SIG_SELL, NULL), 0);
    const nx_ev_signal_t *g = &s->ev[s->n - 1].u.signal;
    assert_int_equal(bar_of(&s->ev[s->n - 1]), B.n - 1);
    assert_int_equal(g->tp_kind, NX_LEVEL_PRICE); /* target: the middle band */
    assert_true(g->tp_price > fx8(B.c[B.n - 1]));
    assert_true(fabs(g->sl_value - 2.0) < 1e-12);

    /* a straight crash makes new lows at the band, but RSI makes them too */
    B.n = 0;
    flat(60, 100, 10);
    for (int i = 0; i < 20; i++)
        to(B.c[B.n - 1] - 3, 0.5, 10);
    assert_int_equal(run("mean_reversion", NULL, 1)->n, 0);
}

/* ---- grid ---------------------------------------------------------------------------- */

static void test_grid_levels(void **state)
{
    (void)state;
    B.n = 0;
    flat(230, 100, 10); /* EMA(200) ~100, ATR(14) ~1 */
    to(98.2, 0.0, 10);  /* falls through the first line below the mean */
    fx_signals_t *s = run("grid", NULL, 1);
    assert_int_equal(s->n, 1);
    const nx_ev_signal_t *g = &s->ev[0].u.signal;
    assert_int_equal(g->side, NX_SIG_BUY);
    assert_string_equal(g->reason, "grid_buy");
    assert_int_equal(g->sl_kind, NX_LEVEL_PRICE);
    assert_int_equal(g->tp_kind, NX_LEVEL_PRICE);
    assert_true(g->sl_price < fx8(95)); /* below the grid range (5 lines of ~1) */
    assert_true(g->tp_price > fx8(98.2) && g->tp_price <= fx8(100.5));

    /* rising through a line above the mean sells */
    B.n = 0;
    flat(230, 100, 10);
    to(101.8, 0.0, 10);
    s = run("grid", NULL, 1);
    assert_int_equal(count(s, NX_SIG_SELL, "grid_sell"), 1);
    assert_int_equal(s->n, 1);

    /* a crash far beyond the outermost line: trending, the grid stays quiet */
    B.n = 0;
    flat(230, 100, 10);
    to(80, 0.0, 10);
    assert_int_equal(run("grid", NULL, 1)->n, 0);
    /* wiggles inside the first band: nothing */
    B.n = 0;
    flat(260, 100, 10);
    assert_int_equal(run("grid", NULL, 1)->n, 0);
}

/* ---- sentinel ---------------------------------------------------------------------------- */

static void test_sentinel_black_swan_crafted(void **state)
{
    (void)state;
    B.n = 0;
    flat(30, 100, 10);
    bar(100, 100.2, 96.5, 97, 10); /* -3%: not a black swan */
    flat(5, 97, 10);
    bar(97, 97.1, 91, 92.5, 10); /* -4.6%: black swan */
    fx_signals_t *s = run("sentinel", NULL, 3);
    /* EXIT_LONG with confidence 1.0 for every symbol, BTC and ETH */
    assert_int_equal(count(s, NX_SIG_EXIT_LONG, "black_swan"), 2); /* one per symbol */
    for (int i = 0; i < s->n; i++) {
        assert_true(s->ev[i].u.signal.confidence == 1.0);
        assert_int_equal(bar_of(&s->ev[i]), B.n - 1);
    }
    assert_int_equal(count(s, NX_SIG_SELL, NULL), 0); /* no shark targets configured */
    /* only BTC's candle counts: ETH alone falling 10% is not a black swan */
    s = run("sentinel", NULL, 2);
    assert_int_equal(s->n, 0);
    /* the threshold is a parameter */
    s = run("sentinel", "{\"drop_pct\": 5}", 1);
    assert_int_equal(s->n, 0);
}

static void test_sentinel_shark(void **state)
{
    (void)state;
    B.n = 0;
    lcg = 777;
    for (int i = 0; i < 220; i++) { /* a range ... */
        double o = B.n ? B.c[B.n - 1] : 100, c = 100 + 1.5 * noise();
        bar(o, fmax(o, c) + 0.3, fmin(o, c) - 0.3, c, 10);
    }
    for (int i = 0; i < 60; i++) /* ... then a strong downtrend: close < EMA50 < EMA200, ADX > 25 */
        to(B.c[B.n - 1] - 0.8, 0.2, 10);
    fx_signals_t *s = run("sentinel", "{\"shark_targets\": [\"ETHUSDT\"]}", 3);
    assert_int_equal(count(s, NX_SIG_SELL, "shark"), 1); /* ETH only, once, as the trend starts */
    assert_int_equal(s->n, 1);
    assert_int_equal(s->ev[0].hdr.symbol, 1);
    assert_true(bar_of(&s->ev[0]) >= 220);
    assert_int_equal(s->ev[0].u.signal.sl_kind, NX_LEVEL_ATR_MULT);
    s = run("sentinel", NULL, 3); /* no targets: no shark */
    assert_int_equal(count(s, NX_SIG_SELL, NULL), 0);
}

static void test_sentinel_real_crash_2021_05_19(void **state)
{
    (void)state;
    fx_load_candles();
    B.n = 0;
    /* 2021-05-17 .. 2021-05-21 from the real file (15m) */
    int first = -1;
    for (int i = 0; i < fx_nrows && B.n < MAXB; i++) {
        if (fx_rows[i].t < 1621209600000LL || fx_rows[i].t >= 1621641600000LL)
            continue;
        if (first < 0)
            first = i;
        bar(fx_rows[i].o / 1e8, fx_rows[i].h / 1e8, fx_rows[i].l / 1e8, fx_rows[i].c / 1e8,
            fx_rows[i].v / 1e8);
    }
    int expect[8], ne = 0;
    for (int i = 0; i < B.n; i++)
        if ((B.o[i] - B.c[i]) / B.o[i] > 0.04)
            expect[ne++] = i;
    print_message("%d candles > 4%% down in the window\n", ne);
    assert_int_equal(ne, 5); /* 19th 12:30, 13:00, 13:45; 20th 16:00; 21st 14:15 */
    fx_signals_t *s = run("sentinel", NULL, 1);
    /* each for every symbol the engine trades (BTCUSDT and ETHUSDT here) */
    assert_int_equal(count(s, NX_SIG_EXIT_LONG, "black_swan"), 2 * ne);
    for (int i = 0; i < ne; i++) {
        assert_int_equal(bar_of(&s->ev[2 * i]), expect[i]);
        assert_int_equal(s->ev[2 * i].hdr.symbol, 0);
        assert_int_equal(s->ev[2 * i + 1].hdr.symbol, 1);
    }
    /* the first one is the crash itself, 2021-05-19 12:30 UTC */
    assert_int_equal(fx_rows[first + expect[0]].t, 1621427400000LL);
}

int main(void)
{
    S = calloc(1, sizeof *S);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trend_cross_with_strong_adx_buys),
        cmocka_unit_test(test_trend_ignores_crosses_without_adx),
        cmocka_unit_test(test_scalping_oversold_on_volume),
        cmocka_unit_test(test_mean_reversion_needs_band_and_divergence),
        cmocka_unit_test(test_grid_levels),
        cmocka_unit_test(test_sentinel_black_swan_crafted),
        cmocka_unit_test(test_sentinel_shark),
        cmocka_unit_test(test_sentinel_real_crash_2021_05_19),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(S);
    return rc;
}
