/*
 * mean_reversion.c — fading an overextended move: price touches or crosses
 * a Bollinger band while RSI diverges (price makes a new extreme, RSI does
 * not), target the middle band.
 *
 * Parameters, defaults in brackets: bb_period [20], bb_k [2], rsi_period
 * [14], lookback [20] (candles searched for the previous extreme, <= 64),
 * sl_atr [2]. Default timeframes 1h, 4h.
 *
 * BUY when the candle's low is at or below the lower band and below every
 * low of the previous `lookback` candles, while RSI now is above RSI at the
 * candle of that previous lowest low (bullish divergence). SELL is the
 * mirror at the upper band. Stop sl_atr x ATR; take-profit the middle band.
 */
#include "nexus_plugin.h"
#include "signal.h"

#define MAX_LOOKBACK 64

typedef struct rec {
    double low[MAX_LOOKBACK], high[MAX_LOOKBACK], rsi[MAX_LOOKBACK];
    uint32_t head, count;
} rec_t;

typedef struct state {
    plug_host_t h;
    int s_bb, s_rsi;
    uint32_t lookback;
    double sl_atr;
    uint32_t n;
    rec_t r[];
} state_t;

PLUG_SERIES_STATE(0x4d52564eu) /* "MRVN" */

static int init(void *p, const nexus_init_t *in, const char **err)
{
    state_t *s = state_bind(p, in);
    s->s_bb = plug_ind(&s->h, NEXUS_IND_BBANDS, plug_param(&s->h, "bb_period", 20),
                       plug_param(&s->h, "bb_k", 2.0), 0);
    s->s_rsi = plug_ind(&s->h, NEXUS_IND_RSI, plug_param(&s->h, "rsi_period", 14), 0, 0);
    double lb = plug_param(&s->h, "lookback", 20);
    s->sl_atr = plug_param(&s->h, "sl_atr", 2.0);
    if (s->s_bb < 0 || s->s_rsi < 0) {
        *err = "bb_period/rsi_period must be whole numbers in 1..256 and bb_k in (0, 10]";
        return -1;
    }
    if (!(lb >= 2 && lb <= MAX_LOOKBACK) || !(s->sl_atr > 0)) {
        *err = "lookback must be in 2..64 and sl_atr > 0";
        return -1;
    }
    s->lookback = (uint32_t)lb;
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    state_t *s = p;
    rec_t *r = &s->r[v->series];
    double up = v->ind[s->s_bb], mid = v->ind[s->s_bb + 1], lo = v->ind[s->s_bb + 2];
    double rsi = v->ind[s->s_rsi];
    if (plug_ok(up) && plug_ok(rsi) && r->count >= s->lookback) {
        /* previous extremes over the last `lookback` candles, and RSI there */
        double min_low = 0, max_high = 0, rsi_at_min = 0, rsi_at_max = 0;
        for (uint32_t i = 0; i < s->lookback; i++) {
            uint32_t k = (r->head + MAX_LOOKBACK - 1 - i) % MAX_LOOKBACK;
            if (i == 0 || r->low[k] < min_low) {
                min_low = r->low[k];
                rsi_at_min = r->rsi[k];
            }
            if (i == 0 || r->high[k] > max_high) {
                max_high = r->high[k];
                rsi_at_max = r->rsi[k];
            }
        }
        if (v->bar.low <= lo && v->bar.low < min_low && rsi > rsi_at_min)
            plug_emit(&s->h, v->symbol, NEXUS_BUY, plug_clamp01(0.6 + (rsi - rsi_at_min) / 50.0),
                      NEXUS_LEVEL_ATR, s->sl_atr, NEXUS_LEVEL_PRICE, mid, "bb_rsi_divergence_low");
        else if (v->bar.high >= up && v->bar.high > max_high && rsi < rsi_at_max)
            plug_emit(&s->h, v->symbol, NEXUS_SELL, plug_clamp01(0.6 + (rsi_at_max - rsi) / 50.0),
                      NEXUS_LEVEL_ATR, s->sl_atr, NEXUS_LEVEL_PRICE, mid, "bb_rsi_divergence_high");
    }
    if (plug_ok(rsi)) { /* only candles with an RSI can be compared against */
        r->low[r->head] = v->bar.low;
        r->high[r->head] = v->bar.high;
        r->rsi[r->head] = rsi;
        r->head = (r->head + 1) % MAX_LOOKBACK;
        if (r->count < MAX_LOOKBACK)
            r->count++;
    }
}

PLUG_BUILTIN("mean_reversion", "1.0.0", "1h,4h")
