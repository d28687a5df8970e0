/*
 * trend.c — trend following: EMA(fast) crossing EMA(slow), confirmed by
 * ADX above a threshold (a cross in a trendless market is noise).
 *
 * Parameters (config "params"), defaults in brackets: ema_fast [20],
 * ema_slow [50], adx_period [14], adx_min [25], sl_atr [1.5], tp_atr [3].
 * Default timeframes 15m, 4h.
 *
 * Fast crossing above slow with ADX > adx_min: BUY; below: SELL. Stop
 * sl_atr x ATR, take-profit tp_atr x ATR from the entry. Confidence grows
 * with ADX: 0.5 at the threshold, 1.0 at threshold + 25.
 */
#include "nexus_plugin.h"
#include "signal.h"

typedef struct rec {
    double prev_fast, prev_slow;
    uint32_t has_prev, pad;
} rec_t;

typedef struct state {
    plug_host_t h;
    int s_fast, s_slow, s_adx;
    double adx_min, sl_atr, tp_atr;
    uint32_t n;
    rec_t r[];
} state_t;

#define MAGIC 0x54524e44u /* "TRND" */

PLUG_SERIES_STATE(MAGIC)

static int init(void *p, const nexus_init_t *in, const char **err)
{
    state_t *s = state_bind(p, in);
    double fast = plug_param(&s->h, "ema_fast", 20), slow = plug_param(&s->h, "ema_slow", 50);
    if (!(fast < slow)) {
        *err = "ema_fast must be shorter than ema_slow";
        return -1;
    }
    s->s_fast = plug_ind(&s->h, NEXUS_IND_EMA, fast, 0, 0);
    s->s_slow = plug_ind(&s->h, NEXUS_IND_EMA, slow, 0, 0);
    s->s_adx = plug_ind(&s->h, NEXUS_IND_ADX, plug_param(&s->h, "adx_period", 14), 0, 0);
    s->adx_min = plug_param(&s->h, "adx_min", 25);
    s->sl_atr = plug_param(&s->h, "sl_atr", 1.5);
    s->tp_atr = plug_param(&s->h, "tp_atr", 3.0);
    if (s->s_fast < 0 || s->s_slow < 0 || s->s_adx < 0) {
        *err = "ema_fast, ema_slow and adx_period must be whole numbers in 1..256";
        return -1;
    }
    if (!(s->sl_atr > 0) || !(s->tp_atr > 0)) {
        *err = "sl_atr and tp_atr must be > 0";
        return -1;
    }
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    state_t *s = p;
    rec_t *r = &s->r[v->series];
    double f = v->ind[s->s_fast], sl = v->ind[s->s_slow], adx = v->ind[s->s_adx];
    if (!plug_ok(f) || !plug_ok(sl))
        return;
    if (r->has_prev && plug_ok(adx) && adx > s->adx_min) {
        double conf = plug_clamp01(0.5 + (adx - s->adx_min) / 50.0);
        if (r->prev_fast <= r->prev_slow && f > sl)
            plug_emit(&s->h, v->symbol, NEXUS_BUY, conf, NEXUS_LEVEL_ATR, s->sl_atr,
                      NEXUS_LEVEL_ATR, s->tp_atr, "ema_cross_up");
        else if (r->prev_fast >= r->prev_slow && f < sl)
            plug_emit(&s->h, v->symbol, NEXUS_SELL, conf, NEXUS_LEVEL_ATR, s->sl_atr,
                      NEXUS_LEVEL_ATR, s->tp_atr, "ema_cross_down");
    }
    r->prev_fast = f;
    r->prev_slow = sl;
    r->has_prev = 1;
}

PLUG_BUILTIN("trend", "1.0.0", "15m,4h")
