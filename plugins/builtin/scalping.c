/*
 * scalping.c — short-term exhaustion: RSI beyond its bands on a volume
 * spike.
 *
 * Parameters, defaults in brackets: rsi_period [14], rsi_low [30],
 * rsi_high [70], volume_period [20], volume_mult [1.5], sl_atr [1],
 * tp_atr [1.5]. Default timeframes 5m, 15m.
 *
 * RSI < rsi_low with volume > volume_mult x SMA(volume): BUY; RSI >
 * rsi_high with the same spike: SELL. Fires on the candle where the
 * condition starts, not again while it lasts. Confidence grows with the
 * distance of RSI beyond its band.
 */
#include "nexus_plugin.h"
#include "signal.h"

typedef struct rec {
    int32_t was; /* -1 oversold spike last candle, +1 overbought, 0 none */
    uint32_t pad;
} rec_t;

typedef struct state {
    plug_host_t h;
    int s_rsi, s_vsma;
    double lo, hi, mult, sl_atr, tp_atr;
    uint32_t n;
    rec_t r[];
} state_t;

PLUG_SERIES_STATE(0x5343414cu) /* "SCAL" */

static int init(void *p, const nexus_init_t *in, const char **err)
{
    state_t *s = state_bind(p, in);
    s->s_rsi = plug_ind(&s->h, NEXUS_IND_RSI, plug_param(&s->h, "rsi_period", 14), 0, 0);
    s->s_vsma = plug_ind(&s->h, NEXUS_IND_VOLUME_SMA, plug_param(&s->h, "volume_period", 20), 0, 0);
    s->lo = plug_param(&s->h, "rsi_low", 30);
    s->hi = plug_param(&s->h, "rsi_high", 70);
    s->mult = plug_param(&s->h, "volume_mult", 1.5);
    s->sl_atr = plug_param(&s->h, "sl_atr", 1.0);
    s->tp_atr = plug_param(&s->h, "tp_atr", 1.5);
    if (s->s_rsi < 0 || s->s_vsma < 0) {
        *err = "rsi_period and volume_period must be whole numbers in 1..256";
        return -1;
    }
    if (!(s->lo > 0 && s->lo < s->hi && s->hi < 100) || !(s->mult > 0) || !(s->sl_atr > 0) ||
        !(s->tp_atr > 0)) {
        *err = "need 0 < rsi_low < rsi_high < 100 and volume_mult, sl_atr, tp_atr > 0";
        return -1;
    }
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    state_t *s = p;
    rec_t *r = &s->r[v->series];
    double rsi = v->ind[s->s_rsi], vsma = v->ind[s->s_vsma];
    int now = 0;
    if (plug_ok(rsi) && plug_ok(vsma) && v->bar.volume > s->mult * vsma)
        now = rsi < s->lo ? -1 : rsi > s->hi ? 1 : 0;
    if (now && now != r->was) {
        double beyond = now < 0 ? s->lo - rsi : rsi - s->hi;
        double conf = plug_clamp01(0.55 + beyond / 40.0);
        plug_emit(&s->h, v->symbol, now < 0 ? NEXUS_BUY : NEXUS_SELL, conf, NEXUS_LEVEL_ATR,
                  s->sl_atr, NEXUS_LEVEL_ATR, s->tp_atr,
                  now < 0 ? "rsi_oversold_volume" : "rsi_overbought_volume");
    }
    r->was = now;
}

PLUG_BUILTIN("scalping", "1.0.0", "5m,15m")
