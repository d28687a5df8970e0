/*
 * grid.c — a grid around the long-term mean: lines every spacing_atr x ATR
 * above and below EMA(ema_period); a close falling through a line below the
 * mean buys, a close rising through a line above it sells.
 *
 * Parameters, defaults in brackets: ema_period [200], atr_period [14],
 * levels [5] (lines on each side), spacing_atr [1]. Default timeframe 15m.
 *
 * A BUY takes profit at the next line up and stops one spacing below the
 * lowest line (below the grid range); a SELL mirrors it above the highest
 * line. A close beyond the outermost line means the market is trending, not
 * ranging, and the grid stays quiet.
 */
#include "nexus_plugin.h"
#include "signal.h"

typedef struct rec {
    double prev_close;
    uint32_t has_prev, pad;
} rec_t;

typedef struct state {
    plug_host_t h;
    int s_ema, s_atr;
    double levels, spacing;
    uint32_t n;
    rec_t r[];
} state_t;

PLUG_SERIES_STATE(0x47524944u) /* "GRID" */

static int init(void *p, const nexus_init_t *in, const char **err)
{
    state_t *s = state_bind(p, in);
    s->s_ema = plug_ind(&s->h, NEXUS_IND_EMA, plug_param(&s->h, "ema_period", 200), 0, 0);
    s->s_atr = plug_ind(&s->h, NEXUS_IND_ATR, plug_param(&s->h, "atr_period", 14), 0, 0);
    s->levels = plug_param(&s->h, "levels", 5);
    s->spacing = plug_param(&s->h, "spacing_atr", 1.0);
    if (s->s_ema < 0 || s->s_atr < 0) {
        *err = "ema_period and atr_period must be whole numbers in 1..256";
        return -1;
    }
    if (!(s->levels >= 1 && s->levels <= 50) || s->levels != (double)(int)s->levels ||
        !(s->spacing > 0)) {
        *err = "levels must be a whole number in 1..50 and spacing_atr > 0";
        return -1;
    }
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    state_t *s = p;
    rec_t *r = &s->r[v->series];
    double mean = v->ind[s->s_ema], atr = v->ind[s->s_atr], c = v->bar.close;
    if (r->has_prev && plug_ok(mean) && plug_ok(atr) && atr > 0) {
        double step = atr * s->spacing, prev = r->prev_close;
        double n = s->levels;
        /* how many lines below (pos > 0) or above (pos < 0) the mean the close is */
        double pos = (mean - c) / step;
        if (c < prev && pos >= 1 && pos <= n) {
            double k = (double)(int)pos, line = mean - k * step; /* deepest line crossed */
            if (prev >= line)
                plug_emit(&s->h, v->symbol, NEXUS_BUY, plug_clamp01(0.5 + 0.1 * k),
                          NEXUS_LEVEL_PRICE, mean - (n + 1) * step, NEXUS_LEVEL_PRICE, line + step,
                          "grid_buy");
        } else if (c > prev && -pos >= 1 && -pos <= n) {
            double k = (double)(int)-pos, line = mean + k * step;
            if (prev <= line)
                plug_emit(&s->h, v->symbol, NEXUS_SELL, plug_clamp01(0.5 + 0.1 * k),
                          NEXUS_LEVEL_PRICE, mean + (n + 1) * step, NEXUS_LEVEL_PRICE, line - step,
                          "grid_sell");
        }
    }
    r->prev_close = c;
    r->has_prev = 1;
}

PLUG_BUILTIN("grid", "1.0.0", "15m")
