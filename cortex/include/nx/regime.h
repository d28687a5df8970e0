/*
 * regime.h — the market regime classifier: features, the trained model
 * (XGBoost through its C API), training, and the rule-based fallback.
 *
 * Four regimes, named after the strategies they suit:
 *   trend           a directed move (the trend strategy)
 *   scalping        volatile without direction (the scalping strategy)
 *   mean_reversion  the recent move turning back (the mean-reversion strategy)
 *   grid            quiet, going nowhere (the grid strategy)
 *
 * Features: nx_regime_feat_t keeps its own incremental indicators for one
 * symbol's candles of one timeframe and turns each closed candle into
 * NX_RF_COUNT numbers (NaN while an indicator is inside its lookback). The
 * engine, `nexus model features` and `nexus train` all use this one
 * implementation.
 *
 * Model: a model folder holds model.json (XGBoost's JSON model format) and
 * meta.json: the format tag, model.json's BLAKE2b (a meta.json never pairs
 * with another model file), the feature names in the model's column order,
 * the classes, the RobustScaler's per-feature center (median) and scale
 * (IQR) fitted on the training rows, the label rule, the training range,
 * the cross-validation scores and the XGBoost version. A prediction scales
 * a feature row ((x - center) / scale in double, then float) and walks the
 * booster's trees for the class probabilities (multi:softprob).
 *
 * Threads: a feature state and a model handle belong to one thread at a
 * time (the engine thread in the engine). XGBoost runs on the calling
 * thread alone (nthread=1, and OpenMP's team size 1: nx_regime_one_thread),
 * so it starts no threads of its own. Nothing here allocates per candle;
 * nx_regime_model_predict reuses its row and margin buffers (XGBoost's own
 * prediction, nx_regime_model_predict_booster, may allocate inside the
 * library: measured in bench_regime).
 *
 * May use: core, the indicators, jansson and libxgboost.
 */
#ifndef NX_REGIME_H
#define NX_REGIME_H

#include <stddef.h>
#include <stdint.h>

#include "nx/indicators.h"

/* The classes, in the shipped model's order. */
typedef enum nx_regime_class {
    NX_RC_TREND = 0,
    NX_RC_SCALPING,
    NX_RC_MEAN_REVERSION,
    NX_RC_GRID,
    NX_RC_COUNT
} nx_regime_class_t;

/* "trend", "scalping", "mean_reversion", "grid"; NULL outside the range. */
const char *nx_regime_class_name(int c);
/* The class of a name, or -1. */
int nx_regime_class_parse(const char *name);

/* ---- features ------------------------------------------------------------ */

/* The features, in this order (the names are the model's column names). */
#define NX_REGIME_FEATURES(X)                                                                      \
    X(EMA20_SLOPE, "ema20_slope")   /* EMA(20) / its previous value - 1 */                         \
    X(EMA50_SLOPE, "ema50_slope")   /* EMA(50), the same */                                        \
    X(EMA200_SLOPE, "ema200_slope") /* EMA(200), the same */                                       \
    X(EMA_SPREAD, "ema50_200")      /* EMA(50) / EMA(200) - 1 */                                   \
    X(RSI14, "rsi14")               /* RSI(14) */                                                  \
    X(RSI14_SMA5, "rsi14_sma5")     /* RSI(14) smoothed: its SMA(5) */                             \
    X(NATR14, "natr14")             /* ATR(14) / close * 100 (TA-Lib NATR) */                      \
    X(VOL_REL20, "vol_rel20")       /* volume / SMA(20) of volume (this candle included) */        \
    X(HOUR_UTC, "hour_utc")         /* of the candle's open, 0..23 */                              \
    X(DOW_UTC, "dow_utc")           /* of the candle's open, 0 = Monday .. 6 = Sunday */           \
    X(DIST_HIGH50, "dist_high50")   /* close / highest high of 50 candles - 1 (<= 0) */            \
    X(DIST_LOW50, "dist_low50")     /* close / lowest low of 50 candles - 1 (>= 0) */              \
    X(ADX14, "adx14")               /* ADX(14) */                                                  \
    X(PLUS_DI14, "plus_di14")       /* +DI(14) */                                                  \
    X(MINUS_DI14, "minus_di14")     /* -DI(14) */                                                  \
    X(BB_WIDTH, "bb_width")         /* Bollinger(20, 2): (upper - lower) / middle */               \
    X(BB_POS, "bb_pos")             /* (close - lower) / (upper - lower) */                        \
    X(MACD_HIST, "macd_hist_rel")   /* MACD(12, 26, 9) histogram / close */                        \
    X(RET1, "ret_1")                /* close / close 1 candle before - 1 */                        \
    X(RET4, "ret_4")                /* 4 candles */                                                \
    X(RET16, "ret_16")              /* 16 candles */                                               \
    X(RV16, "rv_16")                /* realised volatility: RMS of the last 16 log returns */

#define NX_RF_ENUM(id, name) NX_RF_##id,
typedef enum nx_regime_feature { NX_REGIME_FEATURES(NX_RF_ENUM) NX_RF_COUNT } nx_regime_feature_t;
#undef NX_RF_ENUM

/* The feature's name, NULL outside the range. */
const char *nx_regime_feature_name(int f);

#define NX_REGIME_RET_MAX 16 /* the longest return looked back on */

typedef struct nx_regime_feat {
    nx_ema_t ema20, ema50, ema200;
    double prev_ema20, prev_ema50, prev_ema200;
    nx_rsi_t rsi14;
    nx_sma_t rsi_sma5, vol_sma20;
    nx_atr_t atr14, atr100; /* atr100: the rule-based read's ratio */
    nx_adx_t adx14;
    nx_bbands_t bb20;
    nx_macd_t macd;
    nx_rolling_t high50, low50;
    double close[NX_REGIME_RET_MAX + 1]; /* ring of the last closes */
    double lr2[NX_REGIME_RET_MAX];       /* ring of squared log returns */
    uint64_t n;                          /* candles seen */
    double f[NX_RF_COUNT];               /* the last candle's features */
    int rule;                            /* nx_regime_t (cortex.h) of the last candle */
} nx_regime_feat_t;

void nx_regime_feat_init(nx_regime_feat_t *s);
/* One closed candle (prices and volume as numbers). Fills s->f; returns 1
 * when every feature has a value, 0 while one is still warming up. */
int nx_regime_feat_update(nx_regime_feat_t *s, int64_t open_ms, double open, double high,
                          double low, double close, double volume);

/* ---- the trained model ------------------------------------------------------ */

#define NX_REGIME_META_FORMAT "nexus-regime-model/1"
#define NX_REGIME_MAX_COLS    64

typedef struct nx_regime_model nx_regime_model_t;

/* Load a model: `path` is its model file (model.json) or its folder; the
 * metadata is meta.json beside it. With `engine` set, the model must be
 * one the engine can feed: its features exactly this build's, in this
 * order, and its classes the four above. Returns 0, or a negative NX_E…
 * code with "PATH: what is wrong" in err (a missing or truncated file, not
 * an XGBoost model, a feature count or class list that does not match).
 * Allocates; the caller frees with nx_regime_model_free. */
int nx_regime_model_load(nx_regime_model_t **out, const char *path, int engine, char *err,
                         size_t cap);
void nx_regime_model_free(nx_regime_model_t *m);

uint32_t nx_regime_model_features(const nx_regime_model_t *m);
const char *nx_regime_model_feature(const nx_regime_model_t *m, uint32_t i);
uint32_t nx_regime_model_classes(const nx_regime_model_t *m);
const char *nx_regime_model_class(const nx_regime_model_t *m, uint32_t i);
/* The model file's path as loaded. */
const char *nx_regime_model_path(const nx_regime_model_t *m);

/* XGBoost's OpenMP work on the calling thread runs on that thread alone
 * (nx_regime_model_load and nx_regime_train call it themselves). */
void nx_regime_one_thread(void);

/* The BLAKE2b-256 of a file as 64 hex digits (meta.json's model_blake2b:
 * a meta.json names the one model file it was written with). */
int nx_regime_model_digest(const char *path, char hex[65]);

/* Class probabilities of one row of raw (unscaled) features in the model's
 * column order; NaN = missing. probs has room for the model's classes.
 * The booster's trees are walked here, summed as XGBoost's CPU predictor
 * sums them (a model with categorical splits or another booster than
 * gbtree is asked of XGBoost instead). Returns 0 or NX_EIO (XGBoost's
 * message in the log). */
int nx_regime_model_predict(nx_regime_model_t *m, const double *row, double *probs);

/* The same, always asked of XGBoost (XGBoosterPredictFromDense): the
 * reference the walk is measured and checked against. */
int nx_regime_model_predict_booster(nx_regime_model_t *m, const double *row, double *probs);

/* ---- training ------------------------------------------------------------------ */

/* The label of a candle from the candles after it (training only, never in
 * the engine: it looks ahead). With r_k the log returns of the H = 16
 * candles after candle i, net = sum r_k, path = sqrt(sum r_k^2), and
 * rv the candle's own rv_16 feature:
 *   trend           |net| >= 1.25 * path (the net move outweighs the noise)
 *   scalping        else path / 4 >= 1.25 * rv (volatility grows, no direction)
 *   mean_reversion  else net and ret_16 have opposite signs and
 *                   |net| >= 0.5 * path (the last move turns back)
 *   grid            otherwise
 * -1 when the 16 candles after it are not all there. */
#define NX_REGIME_LABEL_H 16
#define NX_REGIME_LABEL_RULE                                                                       \
    "16 candles ahead, r = their log returns, net = sum r, path = sqrt(sum r^2): trend if "        \
    "|net| >= 1.25*path; else scalping if path/4 >= 1.25*rv_16; else mean_reversion if net and "   \
    "ret_16 have opposite signs and |net| >= 0.5*path; else grid"
int nx_regime_label(const double *close, size_t n, size_t i, double rv16, double ret16);

typedef struct nx_regime_train_opts {
    uint32_t folds;  /* TimeSeriesSplit folds (expanding window); 0 = none */
    uint32_t rounds; /* boosting rounds */
    uint32_t max_depth;
    double eta;
    const char *source; /* what the rows came from, for the metadata */
} nx_regime_train_opts_t;

/* One cross-validation fold: rows [0, train_end) trained, [test_begin,
 * test_end) tested, with train_end = test_begin - NX_REGIME_LABEL_H: the
 * rows just before the test range, whose labels look into it, are left
 * out (a purge gap), and nothing at or after it is trained on. */
typedef struct nx_regime_fold {
    uint32_t train_end, test_begin, test_end;
    double accuracy, log_loss;
    uint32_t confusion[NX_RC_COUNT][NX_RC_COUNT]; /* [true][predicted] */
} nx_regime_fold_t;

typedef struct nx_regime_train_report {
    uint32_t rows, nfolds;
    uint32_t per_class[NX_RC_COUNT];
    nx_regime_fold_t fold[16];
    double seconds;
} nx_regime_train_report_t;

/* Train on n rows (features x[n][NX_RF_COUNT] in order, all finite,
 * labels y[n], rows in time order, first_ms/last_ms their candles' open
 * times): cross-validate, then fit the scaler and the model on every row
 * and write model.json, meta.json (naming model.json's BLAKE2b) and cv.txt
 * (the report as nx_regime_train_report_text gives it) into dir (made if
 * missing); each file is written under a temporary name and renamed into
 * place. Deterministic: the same rows give byte-identical files. Returns
 * 0 or a negative NX_E… code with the reason in err. */
int nx_regime_train(const double *x, const int *y, uint32_t n, int64_t first_ms, int64_t last_ms,
                    const nx_regime_train_opts_t *o, const char *dir,
                    nx_regime_train_report_t *report, char *err, size_t cap);

/* The report for people: class counts, then per fold its rows, accuracy,
 * log loss and confusion matrix, then the means. Returns the length it
 * needed (as snprintf). */
size_t nx_regime_train_report_text(const nx_regime_train_report_t *rep, char *out, size_t cap);

/* The RobustScaler's fit of one column (linear-interpolation percentiles,
 * as numpy and scikit-learn): center = median, scale = q75 - q25 (1 when
 * that is 0). NaNs are left out. tmp has room for n doubles. */
void nx_regime_robust_fit(const double *col, size_t n, size_t stride, double *tmp, double *center,
                          double *scale);

#endif /* NX_REGIME_H */
