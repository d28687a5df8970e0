/*
 * bench_regime — the regime classifier's costs on one core (nthread=1).
 *
 *  - step: what the engine does per closed candle of the regime timeframe
 *    per symbol — the 22 features updated from their incremental
 *    indicators, the row scaled, one prediction (the booster's trees
 *    walked in process) — timed per candle over the real 15m file with
 *    the shipped model (models/regime-btc-15m), p50/p99;
 *  - predict: the prediction alone (scaling and the walk) on the same
 *    rows, p50/p99, so step/predict says what the features add;
 *  - xgb: the same rows asked of XGBoost's C API
 *    (XGBoosterPredictFromDense): the reference in the same run, and
 *    xgb/predict what the walk saves;
 *  - train: `nexus train`'s work on the 13,843 bundled candles (features,
 *    labels, 5-fold TimeSeriesSplit, the final fit), seconds.
 *
 * `bench_regime [MODEL]` measures another model (the shipped one by default).
 *
 * Last line: {"bench":"regime","step_p50_ns":..,"step_p99_ns":..,
 * "predict_p50_ns":..,"predict_p99_ns":..,"xgb_p50_ns":..,"xgb_p99_ns":..,
 * "ratio_step_predict":..,"ratio_xgb_predict":..,"train_s":..}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/clock.h"
#include "nx/regime.h"
#include "tsc.h"

#define MAXC 20000
static int64_t t_[MAXC];
static double o_[MAXC], h_[MAXC], l_[MAXC], c_[MAXC], v_[MAXC];
static int n_;
static double rows_[MAXC][NX_RF_COUNT];
static double step_ns[MAXC], pred_ns[MAXC], xgb_ns[MAXC];

static void load(void)
{
    FILE *f = fopen(NX_SOURCE_DIR_DEFAULT
                    "/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv",
                    "r");
    if (!f) {
        perror("candles");
        exit(1);
    }
    char line[256];
    while (fgets(line, sizeof line, f) && n_ < MAXC) {
        long long t;
        if (sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf", &t, &o_[n_], &h_[n_], &l_[n_], &c_[n_],
                   &v_[n_]) == 6)
            t_[n_++] = t;
    }
    fclose(f);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[(int)(p * (n - 1))];
}

int main(int argc, char **argv)
{
    load();
    calibrate();
    char err[600];
    nx_regime_model_t *m;
    const char *model = argc > 1 ? argv[1] : NX_SOURCE_DIR_DEFAULT "/models/regime-btc-15m";
    if (nx_regime_model_load(&m, model, 1, err, sizeof err)) {
        fprintf(stderr, "bench_regime: %s\n", err);
        return 1;
    }
    double probs[NX_RC_COUNT];
    /* step: features + scaling + prediction, per candle */
    static nx_regime_feat_t s;
    int steps = 0, nrows = 0;
    for (int pass = 0; pass < 3; pass++) { /* the last pass is the one kept */
        nx_regime_feat_init(&s);
        steps = nrows = 0;
        for (int i = 0; i < n_; i++) {
            uint64_t a = ticks();
            int full = nx_regime_feat_update(&s, t_[i], o_[i], h_[i], l_[i], c_[i], v_[i]);
            if (full)
                nx_regime_model_predict(m, s.f, probs);
            uint64_t b = ticks();
            if (full) {
                step_ns[steps++] = (double)(b - a) * ns_per_tick;
                memcpy(rows_[nrows++], s.f, sizeof s.f);
            }
        }
    }
    /* the prediction alone, on the same rows */
    int preds = 0;
    for (int pass = 0; pass < 3; pass++) {
        preds = 0;
        for (int i = 0; i < nrows; i++) {
            uint64_t a = ticks();
            nx_regime_model_predict(m, rows_[i], probs);
            uint64_t b = ticks();
            pred_ns[preds++] = (double)(b - a) * ns_per_tick;
        }
    }
    /* the same rows through XGBoost's C API: the reference */
    for (int pass = 0; pass < 3; pass++)
        for (int i = 0; i < nrows; i++) {
            uint64_t a = ticks();
            nx_regime_model_predict_booster(m, rows_[i], probs);
            uint64_t b = ticks();
            xgb_ns[i] = (double)(b - a) * ns_per_tick;
        }
    double s50 = pct(step_ns, steps, 0.50), s99 = pct(step_ns, steps, 0.99);
    double p50 = pct(pred_ns, preds, 0.50), p99 = pct(pred_ns, preds, 0.99);
    double x50 = pct(xgb_ns, nrows, 0.50), x99 = pct(xgb_ns, nrows, 0.99);
    nx_regime_model_free(m);
    printf("candles %d, predicted %d (the rest warm the features up)\n", n_, steps);
    printf("step (features + scaling + predict): p50 %.0f ns, p99 %.0f ns\n", s50, s99);
    printf("predict alone (scaling + the trees walked): p50 %.0f ns, p99 %.0f ns\n", p50, p99);
    printf("the same through XGBoost (XGBoosterPredictFromDense): p50 %.0f ns, p99 %.0f ns\n",
           x50, x99);

    /* training, as `nexus train` with its defaults */
    int64_t t0 = nx_mono_ns();
    static double x[MAXC * NX_RF_COUNT];
    static int y[MAXC];
    uint32_t n = 0;
    nx_regime_feat_init(&s);
    int64_t first = 0, last = 0;
    for (int i = 0; i < n_; i++) {
        int full = nx_regime_feat_update(&s, t_[i], o_[i], h_[i], l_[i], c_[i], v_[i]);
        int label = full ? nx_regime_label(c_, (size_t)n_, (size_t)i, s.f[NX_RF_RV16],
                                           s.f[NX_RF_RET16])
                         : -1;
        if (label < 0)
            continue;
        memcpy(&x[(size_t)n * NX_RF_COUNT], s.f, sizeof s.f);
        y[n++] = label;
        if (!first)
            first = t_[i];
        last = t_[i];
    }
    char dir[] = "/tmp/bench-regime-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    nx_regime_train_opts_t o = {5, 40, 3, 0.12, "bench"};
    static nx_regime_train_report_t rep;
    if (nx_regime_train(x, y, n, first, last, &o, dir, &rep, err, sizeof err)) {
        fprintf(stderr, "bench_regime: %s\n", err);
        return 1;
    }
    double train_s = (double)(nx_mono_ns() - t0) / 1e9;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd))
        return 1;
    printf("train: %u rows, 5 folds + the final fit: %.2f s\n", n, train_s);
    printf("{\"bench\":\"regime\",\"step_p50_ns\":%.0f,\"step_p99_ns\":%.0f,\"predict_p50_ns\":%.0f,"
           "\"predict_p99_ns\":%.0f,\"xgb_p50_ns\":%.0f,\"xgb_p99_ns\":%.0f,"
           "\"ratio_step_predict\":%.2f,\"ratio_xgb_predict\":%.1f,\"train_s\":%.2f}\n",
           s50, s99, p50, p99, x50, x99, s50 / p50, x50 / p50, train_s);
    return 0;
}
