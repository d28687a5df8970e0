/*
 * taset.c — the standard indicator set with the reference file's columns.
 */
#include "nx/indicators.h"

#include <stdio.h>

void nx_taset_init(nx_taset_t *t)
{
    nx_ema_init(&t->ema20, 20);
    nx_ema_init(&t->ema50, 50);
    nx_ema_init(&t->ema200, 200);
    nx_sma_init(&t->sma20, 20);
    nx_rsi_init(&t->rsi14, 14);
    nx_atr_init(&t->atr14, 14);
    nx_adx_init(&t->adx14, 14);
    nx_bbands_init(&t->bb20, 20, 2.0);
    nx_macd_init(&t->macd, 12, 26, 9);
    nx_stoch_init(&t->st5, 5, 3, 3);
    nx_stoch_init(&t->st14, 14, 3, 3);
    nx_obv_init(&t->obv);
    t->v_ema20 = t->v_ema50 = t->v_ema200 = t->v_sma20 = t->v_rsi = t->v_atr = 0;
    t->v_di = t->v_adx = t->v_bb = t->v_macd = t->v_st5 = t->v_st14 = 0;
}

void nx_taset_update(nx_taset_t *t, double open, double high, double low, double close,
                     double volume)
{
    (void)open;
    t->close = close;
    t->v_ema20 = (uint8_t)nx_ema_update(&t->ema20, close);
    t->v_ema50 = (uint8_t)nx_ema_update(&t->ema50, close);
    t->v_ema200 = (uint8_t)nx_ema_update(&t->ema200, close);
    t->v_sma20 = (uint8_t)nx_sma_update(&t->sma20, close);
    t->v_rsi = (uint8_t)nx_rsi_update(&t->rsi14, close);
    t->v_atr = (uint8_t)nx_atr_update(&t->atr14, high, low, close);
    t->v_di = (uint8_t)nx_adx_update(&t->adx14, high, low, close);
    t->v_adx = (uint8_t)t->adx14.adx_valid;
    t->v_bb = (uint8_t)nx_bbands_update(&t->bb20, close);
    t->v_macd = (uint8_t)nx_macd_update(&t->macd, close);
    t->v_st5 = (uint8_t)nx_stoch_update(&t->st5, high, low, close);
    t->v_st14 = (uint8_t)nx_stoch_update(&t->st14, high, low, close);
    nx_obv_update(&t->obv, close, volume);
}

static int put(char *buf, size_t cap, int o, int valid, double v)
{
    if ((size_t)o >= cap)
        return o;
    return o + (valid ? snprintf(buf + o, cap - (size_t)o, ",%.17g", v)
                      : snprintf(buf + o, cap - (size_t)o, ","));
}

int nx_taset_row(const nx_taset_t *t, int64_t open_time_ms, char *buf, size_t cap)
{
    int o = snprintf(buf, cap, "%lld,%.17g", (long long)open_time_ms, t->close);
    o = put(buf, cap, o, t->v_ema20, t->ema20.value);
    o = put(buf, cap, o, t->v_ema50, t->ema50.value);
    o = put(buf, cap, o, t->v_ema200, t->ema200.value);
    o = put(buf, cap, o, t->v_sma20, t->sma20.value);
    o = put(buf, cap, o, t->v_rsi, t->rsi14.value);
    o = put(buf, cap, o, t->v_atr, t->atr14.value);
    o = put(buf, cap, o, t->v_atr, t->atr14.natr);
    o = put(buf, cap, o, t->v_adx, t->adx14.adx);
    o = put(buf, cap, o, t->v_di, t->adx14.plus_di);
    o = put(buf, cap, o, t->v_di, t->adx14.minus_di);
    o = put(buf, cap, o, t->v_bb, t->bb20.upper);
    o = put(buf, cap, o, t->v_bb, t->bb20.middle);
    o = put(buf, cap, o, t->v_bb, t->bb20.lower);
    o = put(buf, cap, o, t->v_macd, t->macd.macd);
    o = put(buf, cap, o, t->v_macd, t->macd.signal);
    o = put(buf, cap, o, t->v_macd, t->macd.hist);
    o = put(buf, cap, o, t->v_st5, t->st5.k);
    o = put(buf, cap, o, t->v_st5, t->st5.d);
    o = put(buf, cap, o, t->v_st14, t->st14.k);
    o = put(buf, cap, o, t->v_st14, t->st14.d);
    o = put(buf, cap, o, 1, t->obv.value);
    return o;
}
