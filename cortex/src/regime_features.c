/*
 * regime_features.c — the regime classifier's features and its training
 * labels (see regime.h). One implementation for the engine, `nexus model
 * features` and `nexus train`.
 */
#include "nx/cortex.h"
#include "nx/regime.h"

#include <math.h>
#include <string.h>

static const char *const CLASS[NX_RC_COUNT] = {"trend", "scalping", "mean_reversion", "grid"};

const char *nx_regime_class_name(int c)
{
    return c >= 0 && c < NX_RC_COUNT ? CLASS[c] : NULL;
}

int nx_regime_class_parse(const char *name)
{
    for (int c = 0; c < NX_RC_COUNT; c++)
        if (!strcmp(name, CLASS[c]))
            return c;
    return -1;
}

#define NX_RF_NAME(id, name) name,
static const char *const FEATURE[NX_RF_COUNT] = {NX_REGIME_FEATURES(NX_RF_NAME)};
#undef NX_RF_NAME

const char *nx_regime_feature_name(int f)
{
    return f >= 0 && f < NX_RF_COUNT ? FEATURE[f] : NULL;
}

void nx_regime_feat_init(nx_regime_feat_t *s)
{
    memset(s, 0, sizeof *s);
    nx_ema_init(&s->ema20, 20);
    nx_ema_init(&s->ema50, 50);
    nx_ema_init(&s->ema200, 200);
    s->prev_ema20 = s->prev_ema50 = s->prev_ema200 = NAN;
    nx_rsi_init(&s->rsi14, 14);
    nx_sma_init(&s->rsi_sma5, 5);
    nx_sma_init(&s->vol_sma20, 20);
    nx_atr_init(&s->atr14, 14);
    nx_atr_init(&s->atr100, 100);
    nx_adx_init(&s->adx14, 14);
    nx_bbands_init(&s->bb20, 20, 2.0);
    nx_macd_init(&s->macd, 12, 26, 9);
    nx_rolling_init(&s->high50, 50, 1);
    nx_rolling_init(&s->low50, 50, 0);
    for (int f = 0; f < NX_RF_COUNT; f++)
        s->f[f] = NAN;
    s->rule = NX_REGIME_UNKNOWN;
}

/* x / prev - 1, NaN unless both are there. */
static double slope(int valid, double x, double *prev)
{
    double out = valid && !isnan(*prev) ? x / *prev - 1.0 : NAN;
    *prev = valid ? x : NAN;
    return out;
}

int nx_regime_feat_update(nx_regime_feat_t *s, int64_t open_ms, double open, double high,
                          double low, double close, double volume)
{
    (void)open;
    double *f = s->f;
    /* each update in a statement of its own: the order in which a call's
     * arguments are evaluated is unspecified, and slope() must see the
     * value after the update */
    int e20 = nx_ema_update(&s->ema20, close);
    int e50 = nx_ema_update(&s->ema50, close);
    int e200 = nx_ema_update(&s->ema200, close);
    f[NX_RF_EMA20_SLOPE] = slope(e20, s->ema20.value, &s->prev_ema20);
    f[NX_RF_EMA50_SLOPE] = slope(e50, s->ema50.value, &s->prev_ema50);
    f[NX_RF_EMA200_SLOPE] = slope(e200, s->ema200.value, &s->prev_ema200);
    f[NX_RF_EMA_SPREAD] = e200 ? s->ema50.value / s->ema200.value - 1.0 : NAN;
    int rsi = nx_rsi_update(&s->rsi14, close);
    f[NX_RF_RSI14] = rsi ? s->rsi14.value : NAN;
    f[NX_RF_RSI14_SMA5] =
        rsi && nx_sma_update(&s->rsi_sma5, s->rsi14.value) ? s->rsi_sma5.value : NAN;
    int atr = nx_atr_update(&s->atr14, high, low, close);
    int atr100 = nx_atr_update(&s->atr100, high, low, close);
    f[NX_RF_NATR14] = atr ? s->atr14.natr : NAN;
    f[NX_RF_VOL_REL20] = nx_sma_update(&s->vol_sma20, volume) && s->vol_sma20.value > 0
                             ? volume / s->vol_sma20.value
                             : NAN;
    int64_t sec = open_ms / 1000;
    f[NX_RF_HOUR_UTC] = (double)((sec / 3600) % 24);
    f[NX_RF_DOW_UTC] = (double)((sec / 86400 + 3) % 7); /* 1970-01-01 was a Thursday */
    double hh, ll;
    int h = nx_rolling_update(&s->high50, high, &hh), l = nx_rolling_update(&s->low50, low, &ll);
    f[NX_RF_DIST_HIGH50] = h ? close / hh - 1.0 : NAN;
    f[NX_RF_DIST_LOW50] = l ? close / ll - 1.0 : NAN;
    nx_adx_update(&s->adx14, high, low, close);
    f[NX_RF_ADX14] = s->adx14.adx_valid ? s->adx14.adx : NAN;
    f[NX_RF_PLUS_DI14] = s->adx14.di_valid ? s->adx14.plus_di : NAN;
    f[NX_RF_MINUS_DI14] = s->adx14.di_valid ? s->adx14.minus_di : NAN;
    if (nx_bbands_update(&s->bb20, close)) {
        double width = s->bb20.upper - s->bb20.lower;
        f[NX_RF_BB_WIDTH] = width / s->bb20.middle;
        f[NX_RF_BB_POS] = width > 0 ? (close - s->bb20.lower) / width : 0.5;
    } else {
        f[NX_RF_BB_WIDTH] = f[NX_RF_BB_POS] = NAN;
    }
    f[NX_RF_MACD_HIST] = nx_macd_update(&s->macd, close) ? s->macd.hist / close : NAN;

    /* returns and realised volatility over the rings of closes */
    enum { R = NX_REGIME_RET_MAX + 1 };
    uint64_t i = s->n;
    double prev = i ? s->close[(i - 1) % R] : NAN;
    s->close[i % R] = close;
    if (i)
        s->lr2[(i - 1) % NX_REGIME_RET_MAX] = pow(log(close / prev), 2);
    f[NX_RF_RET1] = i >= 1 ? close / prev - 1.0 : NAN;
    f[NX_RF_RET4] = i >= 4 ? close / s->close[(i - 4) % R] - 1.0 : NAN;
    f[NX_RF_RET16] = i >= 16 ? close / s->close[(i - 16) % R] - 1.0 : NAN;
    if (i >= NX_REGIME_RET_MAX) {
        double sum = 0;
        for (int k = 0; k < NX_REGIME_RET_MAX; k++)
            sum += s->lr2[k];
        f[NX_RF_RV16] = sqrt(sum / NX_REGIME_RET_MAX);
    } else {
        f[NX_RF_RV16] = NAN;
    }
    s->n++;

    /* the rule-based read on the same candles (cortex.h's rules) */
    nx_market_read_t r;
    memset(&r, 0, sizeof r);
    r.adx = f[NX_RF_ADX14];
    r.plus_di = f[NX_RF_PLUS_DI14];
    r.minus_di = f[NX_RF_MINUS_DI14];
    r.atr14 = atr ? s->atr14.value : NAN;
    r.atr100 = atr100 ? s->atr100.value : NAN;
    s->rule = (int)nx_regime_of(&r);

    for (int k = 0; k < NX_RF_COUNT; k++)
        if (isnan(f[k]))
            return 0;
    return 1;
}

int nx_regime_label(const double *close, size_t n, size_t i, double rv16, double ret16)
{
    if (i + NX_REGIME_LABEL_H >= n || isnan(rv16) || isnan(ret16))
        return -1;
    double net = 0, sq = 0;
    for (size_t k = i + 1; k <= i + NX_REGIME_LABEL_H; k++) {
        double r = log(close[k] / close[k - 1]);
        net += r;
        sq += r * r;
    }
    double path = sqrt(sq);
    if (fabs(net) >= 1.25 * path)
        return NX_RC_TREND;
    if (path / 4.0 >= 1.25 * rv16)
        return NX_RC_SCALPING;
    if (net * ret16 < 0 && fabs(net) >= 0.5 * path)
        return NX_RC_MEAN_REVERSION;
    return NX_RC_GRID;
}
