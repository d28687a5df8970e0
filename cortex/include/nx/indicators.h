/*
 * indicators.h — incremental technical indicators that reproduce TA-Lib.
 *
 * Each indicator is a small struct updated once per closed candle in O(1)
 * with no allocation (window buffers are fixed arrays up to
 * NX_IND_MAX_PERIOD). Values match TA-Lib 0.6 with its defaults (unstable
 * period 0): same seeding, same lookback, same order of floating-point
 * operations where that decides the last bits (running sums for SMA and the
 * Bollinger deviation, Wilder smoothing as x*(n-1)+v)/n, MACD's fast EMA
 * seeded on the slow EMA's window, Stochastic's division by range/100).
 * tests/cortex/test_indicators.c checks every column against TA-Lib's
 * output for 2,000 real candles.
 *
 * Usage: nx_xxx_init(&x, params); then per candle nx_xxx_update(&x, ...)
 * returns 1 when x.value (or the named outputs) holds a value, 0 while still
 * inside the lookback.
 *
 * Threads: an indicator belongs to the thread that updates it (the engine).
 */
#ifndef NX_INDICATORS_H
#define NX_INDICATORS_H

#include <stddef.h>
#include <stdint.h>

#define NX_IND_MAX_PERIOD 256

/* Fixed-capacity window of the last `n` values. */
typedef struct nx_window {
    double v[NX_IND_MAX_PERIOD];
    uint32_t n, count, head; /* head = index of the oldest value when full */
} nx_window_t;

typedef struct nx_sma {
    uint32_t n, count;
    double total; /* sum of the last n-1 values (TA-Lib keeps it that way) */
    nx_window_t w;
    double value;
} nx_sma_t;

typedef struct nx_ema {
    uint32_t n, count;
    double k, sum, value;
} nx_ema_t;

typedef struct nx_rsi {
    uint32_t n, count;
    double prev, gain, loss, value;
} nx_rsi_t;

typedef struct nx_atr {
    uint32_t n, count;
    double prev_close, sum, value; /* value = ATR */
    double natr;
} nx_atr_t;

typedef struct nx_adx {
    uint32_t n, count;
    double prev_high, prev_low, prev_close;
    double pdm, mdm, tr, sum_dx;
    double plus_di, minus_di, adx;
    int di_valid, adx_valid;
} nx_adx_t;

typedef struct nx_bbands {
    uint32_t n, count;
    double k;      /* deviations */
    double total;  /* as nx_sma_t */
    double total2; /* running sum of squares (TA-Lib's periodTotal2) */
    nx_window_t w;
    double upper, middle, lower;
} nx_bbands_t;

typedef struct nx_macd {
    uint32_t fast, slow, signal_n, count;
    nx_ema_t efast, eslow, esignal;
    double macd, signal, hist;
} nx_macd_t;

/* Rolling maximum or minimum over n values (monotonic deque). */
typedef struct nx_rolling {
    uint32_t n, count;
    double v[NX_IND_MAX_PERIOD];
    uint32_t idx[NX_IND_MAX_PERIOD];
    uint32_t front, size;
    int is_max;
} nx_rolling_t;

typedef struct nx_stoch {
    uint32_t k_n;
    nx_rolling_t hh, ll;
    nx_sma_t slow_k, slow_d;
    double k, d;
} nx_stoch_t;

typedef struct nx_obv {
    uint32_t count;
    double prev_close, value;
} nx_obv_t;

int nx_sma_init(nx_sma_t *s, uint32_t n);
int nx_sma_update(nx_sma_t *s, double x);
int nx_ema_init(nx_ema_t *e, uint32_t n);
int nx_ema_update(nx_ema_t *e, double x);
int nx_rsi_init(nx_rsi_t *r, uint32_t n);
int nx_rsi_update(nx_rsi_t *r, double close);
int nx_atr_init(nx_atr_t *a, uint32_t n);
int nx_atr_update(nx_atr_t *a, double high, double low, double close); /* also NATR */
int nx_adx_init(nx_adx_t *a, uint32_t n);
/* Returns 1 when +DI/-DI are valid; a.adx_valid says when ADX is. */
int nx_adx_update(nx_adx_t *a, double high, double low, double close);
int nx_bbands_init(nx_bbands_t *b, uint32_t n, double k);
int nx_bbands_update(nx_bbands_t *b, double x);
int nx_macd_init(nx_macd_t *m, uint32_t fast, uint32_t slow, uint32_t signal);
int nx_macd_update(nx_macd_t *m, double close);
int nx_rolling_init(nx_rolling_t *r, uint32_t n, int is_max);
int nx_rolling_update(nx_rolling_t *r, double x, double *out);
int nx_stoch_init(nx_stoch_t *s, uint32_t k, uint32_t slow_k, uint32_t slow_d);
int nx_stoch_update(nx_stoch_t *s, double high, double low, double close);
void nx_obv_init(nx_obv_t *o);
int nx_obv_update(nx_obv_t *o, double close, double volume);



/*
 * The standard set, with exactly the columns of the TA-Lib reference file
 * (tests/data/ta_reference/, the .ta.csv file): what `nexus indicators --csv` prints.
 */
typedef struct nx_taset {
    nx_ema_t ema20, ema50, ema200;
    nx_sma_t sma20;
    nx_rsi_t rsi14;
    nx_atr_t atr14;
    nx_adx_t adx14;
    nx_bbands_t bb20;
    nx_macd_t macd;
    nx_stoch_t st5, st14;
    nx_obv_t obv;
    double close;
    /* validity of the last update, per group */
    uint8_t v_ema20, v_ema50, v_ema200, v_sma20, v_rsi, v_atr, v_di, v_adx, v_bb, v_macd, v_st5,
        v_st14;
} nx_taset_t;

#define NX_TASET_HEADER                                                                            \
    "open_time_ms,close,ema20,ema50,ema200,sma20,rsi14,atr14,natr14,adx14,plus_di14,minus_di14,"   \
    "bb_upper,bb_middle,bb_lower,macd,macd_signal,macd_hist,stoch_5_3_3_k,stoch_5_3_3_d,"          \
    "stoch_14_3_3_k,stoch_14_3_3_d,obv"

void nx_taset_init(nx_taset_t *t);
void nx_taset_update(nx_taset_t *t, double open, double high, double low, double close,
                     double volume);
/* One CSV row (no newline) for the candle just added: values as %.17g,
 * empty where there is no value yet. Returns the length written. */
int nx_taset_row(const nx_taset_t *t, int64_t open_time_ms, char *buf, size_t cap);

#endif /* NX_INDICATORS_H */
