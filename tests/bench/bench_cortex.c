/*
 * bench_cortex — the cortex's per-event costs on one core.
 *
 *  - candle update per trade: trades folded into 1m/15m/4h candles of one
 *    symbol (nx_candles_on_trade), mean over 10^7 trades;
 *  - all indicators per closed candle: the standard TA-Lib set (EMA
 *    20/50/200, SMA 20, RSI, ATR/NATR, ADX/+DI/-DI, Bollinger, MACD, two
 *    Stochastics, OBV) plus volume SMA 20 and rolling high/low 20, per
 *    candle of the real 15m file, cycled; p50/p99 over samples that are each
 *    the mean of 16 consecutive closes under one TSC pair (the VM's TSC moves
 *    in ~10 ns steps), the timer's own cost (measured in the run) removed;
 *  - reference in the same run: recomputing the same indicators over the
 *    last 200 candles at each close, as a batch library would
 *    (ratio_vs_batch).
 *  - plugin call overhead: 1m klines through a whole cortex (candle, ATR and
 *    EMA update, dispatch) with and without a plugin that reads one
 *    indicator (tests/cortex/plugins/nop.c, a real .so through the host);
 *    the difference per closed candle is what the host adds to call it
 *    (view, slot gather, indirect call); and the same with the market
 *    read's indicators kept (what /regime reads), their cost per close.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/candles.h"
#include "nx/cortex.h"
#include "nx/clock.h"
#include "nx/indicators.h"
#include "tsc.h"

#define MAXC 20000
static double o_[MAXC], h_[MAXC], l_[MAXC], c_[MAXC], v_[MAXC];
static int n_;

static void load(void)
{
    FILE *f = fopen(NX_SOURCE_DIR_DEFAULT "/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv", "r");
    if (!f) {
        perror("candles");
        exit(1);
    }
    char line[256];
    while (fgets(line, sizeof line, f) && n_ < MAXC) {
        long long t;
        if (sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf", &t, &o_[n_], &h_[n_], &l_[n_], &c_[n_], &v_[n_]) == 6)
            n_++;
    }
    fclose(f);
}

typedef struct all {
    nx_taset_t ta;
    nx_sma_t vol20;
    nx_rolling_t hi20, lo20;
    double dist_hi, dist_lo;
} all_t;

static void all_init(all_t *a)
{
    nx_taset_init(&a->ta);
    nx_sma_init(&a->vol20, 20);
    nx_rolling_init(&a->hi20, 20, 1);
    nx_rolling_init(&a->lo20, 20, 0);
}

static inline void all_update(all_t *a, int i)
{
    nx_taset_update(&a->ta, o_[i], h_[i], l_[i], c_[i], v_[i]);
    nx_sma_update(&a->vol20, v_[i]);
    double hi, lo;
    nx_rolling_update(&a->hi20, h_[i], &hi);
    nx_rolling_update(&a->lo20, l_[i], &lo);
    a->dist_hi = (hi - c_[i]) / c_[i];
    a->dist_lo = (c_[i] - lo) / c_[i];
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static volatile double sink;

/* ns per closed candle through a cortex: bare (0), with the nop plugin
 * (1), or keeping the market read's indicators (2) */
static double cortex_close_ns(int with_plugin)
{
    static nx_symtab_t t;
    nx_symtab_init(&t);
    nx_symtab_add(&t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 8, 1, 1, 0, NULL);
    static const uint32_t tf[] = {60};
    nx_cortex_opts_t o = {0};
    o.symtab = &t;
    o.tf_s = tf;
    o.ntf = 1;
    o.allow_unsigned = 1;
    o.market_read = with_plugin == 2;
    nx_cortex_t *cx;
    if (nx_cortex_create(&cx, &o))
        return -1;
    if (with_plugin == 1) {
        char err[512];
        nx_strategy_conf_t sc = {0};
        sc.path = NX_TEST_PLUGIN_DIR "/nop.so";
        if (nx_cortex_add_strategy(cx, &sc, err, sizeof err) < 0) {
            fprintf(stderr, "%s\n", err);
            return -1;
        }
    }
    nx_cortex_start(cx);
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_KLINE;
    ev.hdr.symbol = 0;
    ev.u.kline.interval_s = 60;
    ev.u.kline.closed = 1;
    enum { N = 3000000 };
    int64_t t0 = 0;
    for (int i = -100000; i < N; i++) {
        if (i == 0)
            t0 = nx_mono_ns();
        int k = (i + 100000) % n_;
        ev.u.kline.open_ms = 1610409600000LL + (int64_t)(i + 100000) * 60000;
        ev.u.kline.open = (int64_t)(o_[k] * 1e8);
        ev.u.kline.high = (int64_t)(h_[k] * 1e8);
        ev.u.kline.low = (int64_t)(l_[k] * 1e8);
        ev.u.kline.close = (int64_t)(c_[k] * 1e8);
        ev.u.kline.volume = (int64_t)(v_[k] * 1e8);
        nx_cortex_on_event(cx, &ev);
    }
    double ns = (double)(nx_mono_ns() - t0) / N;
    nx_cortex_destroy(cx);
    return ns;
}

int main(void)
{
    load();
    calibrate();
    /* Timer overhead: an empty timed region. */
    enum { S = 2000000 };
    static double t[S];
    for (int i = 0; i < S; i++) {
        uint64_t a = ticks();
        uint64_t b = ticks();
        t[i] = (double)(b - a) * ns_per_tick;
    }
    qsort(t, S, sizeof t[0], cmp);
    double overhead = t[S / 2];

    /* Candle update per trade. */
    uint32_t tfs[3];
    nx_timeframes_parse("1m,15m,4h", tfs, 3);
    nx_candles_t cs;
    nx_candles_init(&cs, 1, tfs, 3, NULL, NULL);
    int64_t ts = 1610409600000;
    int64_t t0 = nx_mono_ns();
    for (int i = 0; i < 10000000; i++) {
        ts += 37; /* ~1600 trades a minute */
        nx_candles_on_trade(&cs, 0, ts, 3500000000000LL + (i & 1023), 1000 + (i & 7));
    }
    double candle_ns = (double)(nx_mono_ns() - t0) / 1e7;
    sink = (double)cs.closed;

    /* All indicators per close. The TSC of this kind of VM advances in steps
     * of ~25 ticks (~10 ns), as coarse as what is measured, so each sample is
     * the mean of R consecutive closes (R different candles) under one timer
     * pair, as bench_parse does; percentiles are over those samples. */
    enum { R = 16 };
    static all_t a;
    all_init(&a);
    for (int i = 0; i < n_; i++)
        all_update(&a, i); /* warm-up pass */
    int at = 0;
    for (int k = 0; k < S; k++) {
        if (at + R > n_) {
            at = 0;
            all_init(&a);
        }
        uint64_t x = ticks();
        for (int r = 0; r < R; r++)
            all_update(&a, at + r);
        uint64_t y = ticks();
        at += R;
        t[k] = ((double)(y - x) * ns_per_tick - overhead) / R;
    }
    qsort(t, S, sizeof t[0], cmp);
    double p50 = t[S / 2], p99 = t[S * 99 / 100];
    sink = a.ta.ema20.value + a.dist_hi;

    /* Reference: recompute over the last 200 candles at each close. */
    int closes = 2000;
    t0 = nx_mono_ns();
    for (int k = 0; k < closes; k++) {
        int end = 200 + k % (n_ - 200);
        all_t b;
        all_init(&b);
        for (int i = end - 200; i <= end; i++)
            all_update(&b, i);
        sink = b.ta.rsi14.value;
    }
    double batch_ns = (double)(nx_mono_ns() - t0) / closes;
    double mean_inc = 0;
    for (int k = 0; k < S; k++)
        mean_inc += t[k];
    mean_inc /= S;

    /* Plugin call overhead: best of 3 alternating runs each. */
    double bare = 1e18, with = 1e18, read = 1e18;
    for (int r = 0; r < 3; r++) {
        double b = cortex_close_ns(0), w = cortex_close_ns(1), m = cortex_close_ns(2);
        if (b > 0 && b < bare)
            bare = b;
        if (w > 0 && w < with)
            with = w;
        if (m > 0 && m < read)
            read = m;
    }
    double plugin_ns = with - bare;

    printf("bench_cortex: %d real 15m candles; timer overhead %.1f ns (subtracted)\n", n_, overhead);
    printf("candle update per trade (1m,15m,4h): %.1f ns\n", candle_ns);
    printf("all indicators per close: p50 %.0f ns, p99 %.0f ns, mean %.0f ns\n", p50, p99, mean_inc);
    printf("batch reference (recompute over 200 candles per close): %.0f ns per close\n", batch_ns);
    printf("cortex per closed 1m kline: %.1f ns bare, %.1f ns with the nop plugin -> plugin call "
           "%.1f ns\n",
           bare, with, plugin_ns);
    printf("market read (ADX, EMA 50/200, ATR 100, Bollinger, RSI on its timeframe): %.1f ns per "
           "close of that timeframe\n",
           read - bare);
    printf("{\"bench\":\"cortex\",\"candle_update_ns\":%.1f,\"indicators_close_p50_ns\":%.0f,"
           "\"indicators_close_p99_ns\":%.0f,\"plugin_call_ns\":%.1f,\"market_read_ns\":%.1f,"
           "\"ratio_vs_batch\":%.1f}\n",
           candle_ns, p50, p99, plugin_ns, read - bare, batch_ns / mean_inc);
    nx_candles_free(&cs);
    return 0;
}
