/*
 * sentinel.c — always on, whatever else runs.
 *
 * Black Swan (defence): a candle of `btc_symbol` that closes more than
 * drop_pct below its open means the whole market is falling: EXIT_LONG with
 * confidence 1.0 for every symbol (NEXUS_ALL_SYMBOLS; shorts stay open).
 *
 * Shark (offence): on the symbols listed in shark_targets, a strong
 * downtrend — ADX > adx_min and close < EMA(50) < EMA(200) — emits SELL
 * (open a short) when it begins, with a stop of sl_atr x ATR.
 *
 * Parameters, defaults in brackets: btc_symbol ["BTCUSDT"], drop_pct [4],
 * shark_targets [[]], adx_min [25], sl_atr [2], tp_atr [4]. Default
 * timeframes 15m, 1h.
 */
#include "nexus_plugin.h"
#include "signal.h"

typedef struct rec {
    uint8_t is_btc, is_target, in_shark, pad[5];
} rec_t;

typedef struct state {
    plug_host_t h;
    int s_adx, s_e50, s_e200;
    double drop, adx_min, sl_atr, tp_atr;
    uint32_t n;
    rec_t r[];
} state_t;

PLUG_SERIES_STATE(0x53454e54u) /* "SENT" */

static int init(void *p, const nexus_init_t *in, const char **err)
{
    state_t *s = state_bind(p, in);
    const nexus_host_api_t *a = in->api;
    nexus_host_t *h = in->host;
    char btc[32];
    if (a->param_str(h, "btc_symbol", btc, sizeof btc) < 0) {
        const char *d = "BTCUSDT";
        for (unsigned i = 0; (btc[i] = d[i]) != 0; i++)
            ;
    }
    s->drop = plug_param(&s->h, "drop_pct", 4.0) / 100.0;
    s->adx_min = plug_param(&s->h, "adx_min", 25);
    s->sl_atr = plug_param(&s->h, "sl_atr", 2.0);
    s->tp_atr = plug_param(&s->h, "tp_atr", 4.0);
    if (!(s->drop > 0 && s->drop < 1) || !(s->sl_atr > 0) || !(s->tp_atr > 0)) {
        *err = "drop_pct must be in (0, 100) and sl_atr, tp_atr > 0";
        return -1;
    }
    s->s_adx = plug_ind(&s->h, NEXUS_IND_ADX, 14, 0, 0);
    s->s_e50 = plug_ind(&s->h, NEXUS_IND_EMA, 50, 0, 0);
    s->s_e200 = plug_ind(&s->h, NEXUS_IND_EMA, 200, 0, 0);
    if (s->s_adx < 0 || s->s_e50 < 0 || s->s_e200 < 0) {
        *err = "the host refused an indicator";
        return -1;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        nexus_series_info_t si = {NEXUS_PLUGIN_ABI_VERSION, sizeof si, 0, 0, 0};
        if (a->series_info(h, i, &si) < 0) {
            *err = "no series information";
            return -1;
        }
        const char *x = si.symbol_name, *y = btc;
        while (*x && *x == *y)
            x++, y++;
        s->r[i].is_btc = *x == *y;
        s->r[i].is_target = (uint8_t)a->param_has(h, "shark_targets", si.symbol_name);
    }
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    state_t *s = p;
    rec_t *r = &s->r[v->series];
    const nexus_bar_t *b = &v->bar;
    if (r->is_btc && b->open > 0 && (b->open - b->close) / b->open > s->drop)
        plug_emit(&s->h, NEXUS_ALL_SYMBOLS, NEXUS_EXIT_LONG, 1.0, NEXUS_LEVEL_NONE, 0,
                  NEXUS_LEVEL_NONE, 0, "black_swan");
    if (r->is_target) {
        double adx = v->ind[s->s_adx], e50 = v->ind[s->s_e50], e200 = v->ind[s->s_e200];
        int shark =
            plug_ok(adx) && plug_ok(e200) && adx > s->adx_min && b->close < e50 && e50 < e200;
        if (shark && !r->in_shark)
            plug_emit(&s->h, v->symbol, NEXUS_SELL, plug_clamp01(0.5 + (adx - s->adx_min) / 50.0),
                      NEXUS_LEVEL_ATR, s->sl_atr, NEXUS_LEVEL_ATR, s->tp_atr, "shark");
        r->in_shark = (uint8_t)shark;
    }
}

PLUG_BUILTIN("sentinel", "1.0.0", "15m,1h")
