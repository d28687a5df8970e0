/*
 * regime_train.c — training the regime model through XGBoost's C API
 * (see regime.h): the RobustScaler, TimeSeriesSplit cross-validation, the
 * final fit on every row, model.json and meta.json.
 *
 * Determinism: one thread (nthread=1), the histogram tree method, seed 0,
 * no subsampling, and a meta.json without clocks or hostnames: the same
 * rows give byte-identical files.
 */
#include "nx/error.h"
#include "nx/regime.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <xgboost/c_api.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy's default percentile: linear between the two nearest ranks */
static double percentile(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

void nx_regime_robust_fit(const double *col, size_t n, size_t stride, double *tmp, double *center,
                          double *scale)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(col[i * stride]))
            tmp[k++] = col[i * stride];
    if (!k) {
        *center = 0;
        *scale = 1;
        return;
    }
    qsort(tmp, k, sizeof *tmp, cmp_double);
    *center = percentile(tmp, k, 0.5);
    double iqr = percentile(tmp, k, 0.75) - percentile(tmp, k, 0.25);
    *scale = iqr > 0 ? iqr : 1.0;
}

/* Rows [from, to) scaled into a float matrix. */
static void scale_rows(const double *x, uint32_t from, uint32_t to, const double *center,
                       const double *scale, float *out)
{
    for (uint32_t i = from; i < to; i++)
        for (uint32_t f = 0; f < NX_RF_COUNT; f++)
            out[(size_t)(i - from) * NX_RF_COUNT + f] =
                (float)((x[(size_t)i * NX_RF_COUNT + f] - center[f]) / scale[f]);
}

#define XG(call)                                                                                   \
    do {                                                                                           \
        if ((call) != 0) {                                                                         \
            snprintf(err, cap, "xgboost: %.*s", (int)strcspn(XGBGetLastError(), "\n"),            \
                     XGBGetLastError());                                                           \
            rc = NX_EIO;                                                                           \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Fit scaler and booster on rows [0, n_train); the booster in *out. */
static int fit(const double *x, const int *y, uint32_t n_train, const nx_regime_train_opts_t *o,
               double *center, double *scale, double *tmp, float *mat, BoosterHandle *out,
               char *err, size_t cap)
{
    int rc = 0;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    float *label = malloc((size_t)n_train * sizeof *label);
    if (!label)
        return NX_ENOMEM;
    for (uint32_t f = 0; f < NX_RF_COUNT; f++)
        nx_regime_robust_fit(x + f, n_train, NX_RF_COUNT, tmp, &center[f], &scale[f]);
    scale_rows(x, 0, n_train, center, scale, mat);
    for (uint32_t i = 0; i < n_train; i++)
        label[i] = (float)y[i];
    const char *names[NX_RF_COUNT], *types[NX_RF_COUNT];
    for (int f = 0; f < NX_RF_COUNT; f++) {
        names[f] = nx_regime_feature_name(f);
        types[f] = "float";
    }
    char num[16], buf[32];
    snprintf(num, sizeof num, "%d", NX_RC_COUNT);
    XG(XGDMatrixCreateFromMat(mat, n_train, NX_RF_COUNT, NAN, &dm));
    XG(XGDMatrixSetFloatInfo(dm, "label", label, n_train));
    XG(XGDMatrixSetStrFeatureInfo(dm, "feature_name", names, NX_RF_COUNT));
    XG(XGDMatrixSetStrFeatureInfo(dm, "feature_type", types, NX_RF_COUNT));
    XG(XGBoosterCreate(&dm, 1, &b));
    XG(XGBoosterSetParam(b, "objective", "multi:softprob"));
    XG(XGBoosterSetParam(b, "num_class", num));
    XG(XGBoosterSetParam(b, "nthread", "1"));
    XG(XGBoosterSetParam(b, "seed", "0"));
    XG(XGBoosterSetParam(b, "tree_method", "hist"));
    snprintf(buf, sizeof buf, "%u", o->max_depth);
    XG(XGBoosterSetParam(b, "max_depth", buf));
    snprintf(buf, sizeof buf, "%.17g", o->eta);
    XG(XGBoosterSetParam(b, "eta", buf));
    for (uint32_t r = 0; r < o->rounds; r++)
        XG(XGBoosterUpdateOneIter(b, (int)r, dm));
    *out = b;
    b = NULL;
out:
    if (b)
        XGBoosterFree(b);
    if (dm)
        XGDMatrixFree(dm);
    free(label);
    return rc;
}

/* Probabilities of rows [from, to), scaled as fitted. */
static int predict_rows(BoosterHandle b, const double *x, uint32_t from, uint32_t to,
                        const double *center, const double *scale, float *mat, const float **res,
                        char *err, size_t cap)
{
    int rc = 0;
    scale_rows(x, from, to, center, scale, mat);
    char ai[200];
    snprintf(ai, sizeof ai,
             "{\"data\": [%llu, true], \"shape\": [%u, %d], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)mat, to - from, NX_RF_COUNT);
    const char *conf = "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, "
                       "\"iteration_end\": 0, \"strict_shape\": false, \"cache_id\": 0, "
                       "\"missing\": NaN}";
    const bst_ulong *shape;
    bst_ulong dim;
    XG(XGBoosterPredictFromDense(b, ai, conf, NULL, &shape, &dim, res));
out:
    return rc;
}

static json_t *numbers_json(const double *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

static void utc(int64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_cv(const char *dir, const nx_regime_train_report_t *rep, char *err, size_t cap);

static int write_meta(const char *dir, const double *center, const double *scale, uint32_t n,
                      int64_t first_ms, int64_t last_ms, const nx_regime_train_opts_t *o,
                      const nx_regime_train_report_t *rep, const char *digest, char *err,
                      size_t cap)
{
    json_t *root = json_object(), *feat = json_array(), *cls = json_array();
    for (int f = 0; f < NX_RF_COUNT; f++)
        json_array_append_new(feat, json_string(nx_regime_feature_name(f)));
    for (int c = 0; c < NX_RC_COUNT; c++)
        json_array_append_new(cls, json_string(nx_regime_class_name(c)));
    int major, minor, patch;
    XGBoostVersion(&major, &minor, &patch);
    char ver[32], from[32], to[32];
    snprintf(ver, sizeof ver, "%d.%d.%d", major, minor, patch);
    utc(first_ms, from, sizeof from);
    utc(last_ms, to, sizeof to);
    json_object_set_new(root, "format", json_string(NX_REGIME_META_FORMAT));
    json_object_set_new(root, "model_file", json_string("model.json"));
    json_object_set_new(root, "model_blake2b", json_string(digest));
    json_object_set_new(root, "xgboost_version", json_string(ver));
    json_object_set_new(root, "features", feat);
    json_object_set_new(root, "classes", cls);
    json_object_set_new(root, "scaler",
                        json_pack("{s:s, s:o, s:o}", "kind", "robust", "center",
                                  numbers_json(center, NX_RF_COUNT), "scale",
                                  numbers_json(scale, NX_RF_COUNT)));
    json_object_set_new(root, "label_rule", json_string(NX_REGIME_LABEL_RULE));
    json_object_set_new(root, "train_range",
                        json_pack("{s:s, s:s, s:i, s:s}", "from", from, "to", to, "rows",
                                  (json_int_t)n, "source", o->source ? o->source : ""));
    json_object_set_new(root, "params",
                        json_pack("{s:s, s:i, s:i, s:f, s:s, s:i}", "objective", "multi:softprob",
                                  "rounds", (json_int_t)o->rounds, "max_depth",
                                  (json_int_t)o->max_depth, "eta", o->eta, "tree_method", "hist",
                                  "seed", (json_int_t)0));
    json_t *folds = json_array();
    double acc = 0, ll = 0;
    for (uint32_t k = 0; k < rep->nfolds; k++) {
        const nx_regime_fold_t *fo = &rep->fold[k];
        json_t *cm = json_array();
        for (int t = 0; t < NX_RC_COUNT; t++) {
            json_t *row = json_array();
            for (int p = 0; p < NX_RC_COUNT; p++)
                json_array_append_new(row, json_integer(fo->confusion[t][p]));
            json_array_append_new(cm, row);
        }
        json_array_append_new(folds, json_pack("{s:i, s:i, s:i, s:f, s:f, s:o}", "train_end",
                                               (json_int_t)fo->train_end, "test_begin",
                                               (json_int_t)fo->test_begin, "test_end",
                                               (json_int_t)fo->test_end, "accuracy", fo->accuracy,
                                               "log_loss", fo->log_loss, "confusion", cm));
        acc += fo->accuracy;
        ll += fo->log_loss;
    }
    json_t *per = json_object();
    for (int c = 0; c < NX_RC_COUNT; c++)
        json_object_set_new(per, nx_regime_class_name(c), json_integer(rep->per_class[c]));
    json_object_set_new(root, "class_counts", per);
    json_object_set_new(root, "cv",
                        json_pack("{s:s, s:i, s:o, s:f, s:f}", "method",
                                  "TimeSeriesSplit (expanding window)", "k",
                                  (json_int_t)rep->nfolds, "folds", folds, "mean_accuracy",
                                  rep->nfolds ? acc / rep->nfolds : 0.0, "mean_log_loss",
                                  rep->nfolds ? ll / rep->nfolds : 0.0));
    char path[1024], tmp[1040];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    snprintf(tmp, sizeof tmp, "%s/.meta.json.tmp", dir);
    int rc =
        json_dump_file(root, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (rc || rename(tmp, path)) {
        snprintf(err, cap, "%s: cannot write: %s", path, strerror(errno));
        return NX_EIO;
    }
    return 0;
}

int nx_regime_train(const double *x, const int *y, uint32_t n, int64_t first_ms, int64_t last_ms,
                    const nx_regime_train_opts_t *o, const char *dir, nx_regime_train_report_t *rep,
                    char *err, size_t cap)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(rep, 0, sizeof *rep);
    rep->rows = n;
    uint32_t k = o->folds;
    if (k > sizeof rep->fold / sizeof rep->fold[0] || o->rounds == 0 || o->max_depth == 0 ||
        !(o->eta > 0) || n < (k + 1) * (10 + NX_REGIME_LABEL_H)) {
        snprintf(err, cap,
                 "bad training options (folds 0..16, rounds and depth >= 1, eta > 0) "
                 "or too few rows (%u)",
                 n);
        return NX_EINVAL;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (y[i] < 0 || y[i] >= NX_RC_COUNT) {
            snprintf(err, cap, "row %u: label %d is not a class", i, y[i]);
            return NX_EINVAL;
        }
        for (int f = 0; f < NX_RF_COUNT; f++)
            if (!isfinite(x[(size_t)i * NX_RF_COUNT + f])) {
                snprintf(err, cap, "row %u: %s is %g, not a finite number", i,
                         nx_regime_feature_name(f), x[(size_t)i * NX_RF_COUNT + f]);
                return NX_EINVAL;
            }
        rep->per_class[y[i]]++;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, cap, "%s: cannot make the folder: %s", dir, strerror(errno));
        return NX_EIO;
    }
    nx_regime_one_thread(); /* no OpenMP team for XGBoost's matrices either */
    double center[NX_RF_COUNT], scale[NX_RF_COUNT];
    double *tmp = malloc((size_t)n * sizeof *tmp);
    float *mat = malloc((size_t)n * NX_RF_COUNT * sizeof *mat);
    int rc = tmp && mat ? 0 : NX_ENOMEM;
    /* TimeSeriesSplit as scikit-learn: k test blocks of n / (k + 1) rows at
     * the end, each trained on the rows before it — less the last
     * NX_REGIME_LABEL_H, whose labels are made from candles inside the
     * test block (a purge gap, so no fold learns from its test rows) */
    uint32_t test = k ? n / (k + 1) : 0;
    for (uint32_t f = 0; !rc && f < k; f++) {
        nx_regime_fold_t *fo = &rep->fold[f];
        fo->test_begin = n - (k - f) * test;
        fo->train_end = fo->test_begin - NX_REGIME_LABEL_H;
        fo->test_end = fo->test_begin + test;
        BoosterHandle b = NULL;
        const float *p = NULL;
        rc = fit(x, y, fo->train_end, o, center, scale, tmp, mat, &b, err, cap);
        if (!rc)
            rc = predict_rows(b, x, fo->test_begin, fo->test_end, center, scale, mat, &p, err, cap);
        uint32_t right = 0;
        double loss = 0;
        for (uint32_t i = fo->test_begin; !rc && i < fo->test_end; i++) {
            const float *q = p + (size_t)(i - fo->test_begin) * NX_RC_COUNT;
            int best = 0;
            for (int c = 1; c < NX_RC_COUNT; c++)
                if (q[c] > q[best])
                    best = c;
            fo->confusion[y[i]][best]++;
            right += best == y[i];
            double pt = q[y[i]] < 1e-15 ? 1e-15 : q[y[i]];
            loss -= log(pt);
        }
        if (!rc) {
            fo->accuracy = (double)right / test;
            fo->log_loss = loss / test;
            rep->nfolds++;
        }
        if (b)
            XGBoosterFree(b);
    }
    /* the model itself: every row. Its files are written under temporary
     * names and renamed into place, meta.json last and naming the model's
     * BLAKE2b: a reader never pairs a new model with an old scaler. */
    BoosterHandle b = NULL;
    if (!rc)
        rc = fit(x, y, n, o, center, scale, tmp, mat, &b, err, cap);
    char model[1024], model_tmp[1040], digest[65] = "";
    snprintf(model, sizeof model, "%s/model.json", dir);
    snprintf(model_tmp, sizeof model_tmp, "%s/.model.tmp.json", dir); /* XGBoost picks JSON by the name */
    if (!rc && XGBoosterSaveModel(b, model_tmp)) {
        snprintf(err, cap, "%s: %.*s", model_tmp, (int)strcspn(XGBGetLastError(), "\n"),
                 XGBGetLastError());
        rc = NX_EIO;
    }
    if (b)
        XGBoosterFree(b);
    if (!rc && nx_regime_model_digest(model_tmp, digest)) {
        snprintf(err, cap, "%s: cannot read it back", model_tmp);
        rc = NX_EIO;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!rc && rename(model_tmp, model)) {
        snprintf(err, cap, "%s: %s", model, strerror(errno));
        rc = NX_EIO;
    }
    if (!rc)
        rc = write_meta(dir, center, scale, n, first_ms, last_ms, o, rep, digest, err, cap);
    if (!rc)
        rc = write_cv(dir, rep, err, cap);
    free(tmp);
    free(mat);
    return rc;
}

size_t nx_regime_train_report_text(const nx_regime_train_report_t *rep, char *out, size_t cap)
{
    size_t k = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int w = snprintf(out + k, k < cap ? cap - k : 0, __VA_ARGS__);                             \
        k += w > 0 ? (size_t)w : 0;                                                                \
    } while (0)
    PUT("rows: %u (", rep->rows);
    for (int c = 0; c < NX_RC_COUNT; c++)
        PUT("%s%s %u", c ? ", " : "", nx_regime_class_name(c), rep->per_class[c]);
    PUT(")\n");
    double acc = 0, ll = 0;
    for (uint32_t f = 0; f < rep->nfolds; f++) {
        const nx_regime_fold_t *fo = &rep->fold[f];
        PUT("fold %u: train rows [0, %u), test rows [%u, %u): accuracy %.4f, log loss %.4f\n",
            f + 1, fo->train_end, fo->test_begin, fo->test_end, fo->accuracy, fo->log_loss);
        PUT("  confusion (rows true, columns predicted: trend scalping mean_reversion grid)\n");
        for (int t = 0; t < NX_RC_COUNT; t++)
            PUT("  %-15s %6u %6u %6u %6u\n", nx_regime_class_name(t), fo->confusion[t][0],
                fo->confusion[t][1], fo->confusion[t][2], fo->confusion[t][3]);
        acc += fo->accuracy;
        ll += fo->log_loss;
    }
    if (rep->nfolds)
        PUT("cv mean: accuracy %.4f, log loss %.4f\n", acc / rep->nfolds, ll / rep->nfolds);
#undef PUT
    return k;
}

/* cv.txt: the report as people read it (no clock in it: reproducible). */
static int write_cv(const char *dir, const nx_regime_train_report_t *rep, char *err, size_t cap)
{
    char path[1024], text[8192];
    snprintf(path, sizeof path, "%s/cv.txt", dir);
    size_t n = nx_regime_train_report_text(rep, text, sizeof text);
    FILE *f = fopen(path, "w");
    int ok = f && fwrite(text, 1, n < sizeof text ? n : sizeof text - 1, f) > 0;
    if (f && fclose(f))
        ok = 0;
    if (!ok) {
        snprintf(err, cap, "%s: cannot write: %s", path, strerror(errno));
        return NX_EIO;
    }
    return 0;
}
