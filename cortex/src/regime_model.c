/*
 * regime_model.c — a trained regime model: its metadata checked, its
 * XGBoost booster loaded through the C API, one row predicted at a time
 * (see regime.h).
 *
 * Prediction walks the booster's trees here, not through
 * XGBoosterPredictFromDense: the library call costs 9.6 µs per row on the
 * shipped model (160 trees of 15 nodes; bench_regime, PERFORMANCE.md), most
 * of it the call's set-up, not the trees, and the engine predicts at every
 * candle close. The trees are the ones XGBoost loaded and checked, taken
 * from its own JSON of the model (XGBoosterSaveModelToBuffer), and summed
 * the way its CPU predictor sums them (a float margin from base_score, the
 * trees in order; softmax as its common/math.h has it). test_regime checks
 * every row against XGBoost itself (the C API here and Python's outputs). A
 * model this walk does not cover (categorical splits, another booster than
 * gbtree) is predicted by the library.
 */
#include "nx/error.h"
#include "nx/log.h"
#include "nx/regime.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xgboost/c_api.h>

struct nx_regime_model {
    char digest[65]; /* meta.json's model_blake2b ("" = not given) */
    BoosterHandle b;
    DMatrixHandle proxy; /* reused by every prediction (no proxy made per call) */
    uint32_t nfeat, nclass;
    char **feat, **cls;
    double *center, *scale;
    float *row;                    /* the scaled row, reused */
    char array_if[160], conf[200]; /* XGBoosterPredictFromDense's inputs, made once */
    char path[512];
    /* the trees, flat (NULL: predicted by the library) */
    struct rm_node *node;
    uint32_t *root;  /* each tree's first node */
    uint32_t *group; /* each tree's class */
    uint32_t ntree;
    uint32_t depth; /* the deepest tree's: the steps of every walk */
    float base;   /* base_score: every class's margin starts there */
    float *margin; /* one per class, reused */
};

/* A node: an inner one sends a row left when its feature is below cond
 * (a missing one where dleft says); a leaf holds its value in cond, as
 * XGBoost's JSON does, and leads to itself (both children its own index),
 * so every tree is walked the same number of steps (the deepest tree's)
 * with no test for the end: several trees go down side by side, each step
 * a select, not a branch the processor must guess. */
struct rm_node {
    float cond;
    int32_t child[2]; /* left, right: picked by index, not by a branch */
    uint16_t feat;
    uint8_t dleft;
};

static int fail(char *err, size_t cap, int rc, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t cap, int rc, const char *path, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, cap, "%s: %s", path, what);
    return rc;
}

void nx_regime_model_free(nx_regime_model_t *m)
{
    if (!m)
        return;
    if (m->b)
        XGBoosterFree(m->b);
    if (m->proxy)
        XGDMatrixFree(m->proxy);
    for (uint32_t i = 0; m->feat && i < m->nfeat; i++)
        free(m->feat[i]);
    for (uint32_t i = 0; m->cls && i < m->nclass; i++)
        free(m->cls[i]);
    free(m->feat);
    free(m->cls);
    free(m->center);
    free(m->scale);
    free(m->row);
    free(m->node);
    free(m->root);
    free(m->group);
    free(m->margin);
    free(m);
}

/* OpenMP's thread count for the calling thread: libxgboost brings libgomp
 * and runs some of its work (reading a model's trees, making a matrix) on
 * an OpenMP team sized to the machine. One thread instead: a model is small,
 * the engine keeps no idle team threads, and ThreadSanitizer (which cannot
 * see into libgomp) sees every access. Weak: a libxgboost built without
 * OpenMP needs nothing. */
extern void omp_set_num_threads(int n) __attribute__((weak));

void nx_regime_one_thread(void)
{
    if (omp_set_num_threads)
        omp_set_num_threads(1);
}

/* XGBoost's last error, its first line (the rest is a stack trace). */
static const char *xgb_error(void)
{
    static __thread char line[240];
    const char *e = XGBGetLastError();
    snprintf(line, sizeof line, "%.*s", (int)strcspn(e, "\n"), e);
    return line;
}

/* An array of strings from meta.json; its length in *n. */
static int strings(json_t *a, char ***out, uint32_t *n)
{
    if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > NX_REGIME_MAX_COLS)
        return NX_EINVAL;
    *n = (uint32_t)json_array_size(a);
    if (!(*out = calloc(*n, sizeof **out)))
        return NX_ENOMEM;
    for (uint32_t i = 0; i < *n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !*s || !((*out)[i] = strdup(s)))
            return NX_EINVAL;
    }
    return 0;
}

static int numbers(json_t *a, uint32_t n, double **out)
{
    if (!json_is_array(a) || json_array_size(a) != n)
        return NX_EINVAL;
    if (!(*out = calloc(n, sizeof **out)))
        return NX_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_number(v))
            return NX_EINVAL;
        (*out)[i] = json_number_value(v);
        if (!isfinite((*out)[i]))
            return NX_EINVAL;
    }
    return 0;
}

/* The model file and its meta.json from a file or folder path. */
static void paths(const char *path, char *model, char *meta, size_t cap)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(model, cap, "%s/model.json", path);
        snprintf(meta, cap, "%s/meta.json", path);
        return;
    }
    snprintf(model, cap, "%s", path);
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash - path) : 0;
    snprintf(meta, cap, "%.*s%smeta.json", dir, path, slash ? "/" : "");
}

/* What the metadata says, checked. */
static int read_meta(nx_regime_model_t *m, const char *meta, int engine, char *err, size_t cap)
{
    struct stat sb;
    if (stat(meta, &sb) != 0)
        return fail(err, cap, NX_ENOENT, meta, "no such file (a model's meta.json is beside it)");
    json_error_t je;
    json_t *root = json_load_file(meta, 0, &je);
    if (!root)
        return fail(err, cap, NX_EINVAL, meta, "not readable as JSON (line %d: %s)", je.line,
                    je.text);
    int rc = 0;
    const char *fmt = json_string_value(json_object_get(root, "format"));
    json_t *sc = json_object_get(root, "scaler");
    const char *kind = json_string_value(json_object_get(sc, "kind"));
    if (!fmt || strcmp(fmt, NX_REGIME_META_FORMAT))
        rc = fail(err, cap, NX_EINVAL, meta, "format is not \"%s\"", NX_REGIME_META_FORMAT);
    else if (strings(json_object_get(root, "features"), &m->feat, &m->nfeat))
        rc = fail(err, cap, NX_EINVAL, meta, "\"features\" is not a list of 1 to %d names",
                  NX_REGIME_MAX_COLS);
    else if (strings(json_object_get(root, "classes"), &m->cls, &m->nclass) || m->nclass < 2)
        rc = fail(err, cap, NX_EINVAL, meta, "\"classes\" is not a list of 2 or more names");
    else if (!kind || strcmp(kind, "robust") ||
             numbers(json_object_get(sc, "center"), m->nfeat, &m->center) ||
             numbers(json_object_get(sc, "scale"), m->nfeat, &m->scale))
        rc = fail(err, cap, NX_EINVAL, meta,
                  "\"scaler\" is not a robust scaler with a center and a scale per feature");
    for (uint32_t i = 0; !rc && i < m->nfeat; i++)
        if (m->scale[i] == 0)
            rc = fail(err, cap, NX_EINVAL, meta, "the scale of %s is 0", m->feat[i]);
    const char *dg = json_string_value(json_object_get(root, "model_blake2b"));
    if (!rc && dg && strlen(dg) != 64)
        rc = fail(err, cap, NX_EINVAL, meta, "\"model_blake2b\" is not 64 hex digits");
    snprintf(m->digest, sizeof m->digest, "%s", !rc && dg ? dg : "");
    if (!rc && engine) {
        if (m->nfeat != NX_RF_COUNT)
            rc = fail(err, cap, NX_EINVAL, meta,
                      "the model has %u features, this engine computes %d (%s .. %s)", m->nfeat,
                      NX_RF_COUNT, nx_regime_feature_name(0),
                      nx_regime_feature_name(NX_RF_COUNT - 1));
        for (uint32_t i = 0; !rc && i < m->nfeat; i++)
            if (strcmp(m->feat[i], nx_regime_feature_name((int)i)))
                rc =
                    fail(err, cap, NX_EINVAL, meta, "feature %u is \"%s\", this engine's is \"%s\"",
                         i + 1, m->feat[i], nx_regime_feature_name((int)i));
        if (!rc && m->nclass != NX_RC_COUNT)
            rc = fail(err, cap, NX_EINVAL, meta,
                      "the model has %u classes, the engine routes by %d (trend, scalping, "
                      "mean_reversion, grid)",
                      m->nclass, NX_RC_COUNT);
        for (uint32_t i = 0; !rc && i < m->nclass; i++)
            if (strcmp(m->cls[i], nx_regime_class_name((int)i)))
                rc = fail(err, cap, NX_EINVAL, meta, "class %u is \"%s\", the engine's is \"%s\"",
                          i + 1, m->cls[i], nx_regime_class_name((int)i));
    }
    json_decref(root);
    return rc;
}

/* The booster's own idea of its classes (learner_model_param.num_class). */
static int booster_classes(BoosterHandle b, uint32_t *n, char *objective, size_t cap)
{
    bst_ulong len = 0;
    const char *conf = NULL;
    if (XGBoosterSaveJsonConfig(b, &len, &conf))
        return NX_EIO;
    json_t *root = json_loadb(conf, len, 0, NULL);
    json_t *learner = json_object_get(root, "learner");
    const char *s = json_string_value(
        json_object_get(json_object_get(learner, "learner_model_param"), "num_class"));
    const char *obj =
        json_string_value(json_object_get(json_object_get(learner, "objective"), "name"));
    *n = s ? (uint32_t)strtoul(s, NULL, 10) : 0;
    snprintf(objective, cap, "%s", obj ? obj : "?");
    json_decref(root);
    return 0;
}

int nx_regime_model_digest(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f || sodium_init() < 0) {
        if (f)
            fclose(f);
        return NX_EIO;
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    unsigned char buf[65536], out[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_generichash_update(&st, buf, n);
    int bad = ferror(f);
    fclose(f);
    crypto_generichash_final(&st, out, sizeof out);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    return bad ? NX_EIO : 0;
}

/* The booster's trees from its own JSON of the model, for the walk; 0 with
 * m->node NULL when the model is one the walk does not cover (the library
 * predicts it), NX_ENOMEM. */
static int load_trees(nx_regime_model_t *m)
{
    bst_ulong len = 0;
    const char *buf = NULL;
    if (XGBoosterSaveModelToBuffer(m->b, "{\"format\": \"json\"}", &len, &buf))
        return 0;
    json_t *root = json_loadb(buf, len, 0, NULL);
    json_t *lr = json_object_get(root, "learner");
    json_t *gb = json_object_get(lr, "gradient_booster");
    json_t *model = json_object_get(gb, "model");
    json_t *trees = json_object_get(model, "trees"), *info = json_object_get(model, "tree_info");
    const char *name = json_string_value(json_object_get(gb, "name"));
    const char *bs =
        json_string_value(json_object_get(json_object_get(lr, "learner_model_param"), "base_score"));
    size_t nt = json_array_size(trees), total = 0;
    int ok = name && !strcmp(name, "gbtree") && bs && nt && json_array_size(info) == nt;
    for (size_t t = 0; ok && t < nt; t++) {
        json_t *x = json_array_get(trees, t);
        size_t n = json_array_size(json_object_get(x, "left_children"));
        json_t *st = json_object_get(x, "split_type");
        for (size_t i = 0; i < json_array_size(st); i++)
            ok &= json_integer_value(json_array_get(st, i)) == 0; /* numerical splits only */
        ok &= n > 0 && json_array_size(json_object_get(x, "right_children")) == n &&
              json_array_size(json_object_get(x, "split_conditions")) == n &&
              json_array_size(json_object_get(x, "split_indices")) == n &&
              json_array_size(json_object_get(x, "default_left")) == n;
        json_int_t g = json_integer_value(json_array_get(info, t));
        ok &= g >= 0 && g < (json_int_t)m->nclass;
        total += n;
    }
    int rc = 0;
    if (ok && (!(m->node = calloc(total, sizeof *m->node)) ||
               !(m->root = calloc(nt, sizeof *m->root)) ||
               !(m->group = calloc(nt, sizeof *m->group)) ||
               !(m->margin = calloc(m->nclass, sizeof *m->margin))))
        rc = NX_ENOMEM;
    size_t at = 0;
    for (size_t t = 0; ok && !rc && t < nt; t++) {
        json_t *x = json_array_get(trees, t);
        json_t *l = json_object_get(x, "left_children"), *r = json_object_get(x, "right_children");
        json_t *c = json_object_get(x, "split_conditions"), *f = json_object_get(x, "split_indices");
        json_t *d = json_object_get(x, "default_left");
        size_t n = json_array_size(l);
        m->root[t] = (uint32_t)at;
        m->group[t] = (uint32_t)json_integer_value(json_array_get(info, t));
        for (size_t i = 0; ok && i < n; i++) {
            struct rm_node *o = &m->node[at + i];
            json_int_t li = json_integer_value(json_array_get(l, i));
            json_int_t ri = json_integer_value(json_array_get(r, i));
            json_int_t fi = json_integer_value(json_array_get(f, i));
            o->cond = (float)json_number_value(json_array_get(c, i));
            o->dleft = json_integer_value(json_array_get(d, i)) != 0;
            if (li < 0) { /* a leaf */
                o->child[0] = o->child[1] = (int32_t)(at + i);
                continue;
            }
            /* children after their parent (XGBoost numbers them so): a walk
             * always ends */
            ok &= li > (json_int_t)i && li < (json_int_t)n && ri > (json_int_t)i &&
                  ri < (json_int_t)n && fi >= 0 && fi < (json_int_t)m->nfeat;
            o->child[0] = (int32_t)(at + (size_t)li);
            o->child[1] = (int32_t)(at + (size_t)ri);
            o->feat = (uint16_t)fi;
        }
        at += n;
    }
    /* each node's depth (children come after their parent): the deepest
     * leaf is how many steps a walk takes */
    uint32_t *dep = ok && !rc ? calloc(total ? total : 1, sizeof *dep) : NULL;
    if (ok && !rc && !dep)
        rc = NX_ENOMEM;
    for (size_t i = 0; dep && i < total; i++) {
        const struct rm_node *o = &m->node[i];
        if (o->child[0] != (int32_t)i) {
            dep[o->child[0]] = dep[o->child[1]] = dep[i] + 1;
            if (dep[i] + 1 > m->depth)
                m->depth = dep[i] + 1;
        }
    }
    free(dep);
    ok &= m->depth <= 64;
    if (ok && !rc) {
        m->ntree = (uint32_t)nt;
        m->base = strtof(bs, NULL);
    } else {
        free(m->node);
        free(m->root);
        free(m->group);
        m->node = NULL;
        m->root = m->group = NULL;
    }
    json_decref(root);
    return rc;
}

int nx_regime_model_load(nx_regime_model_t **out, const char *path, int engine, char *err,
                         size_t cap)
{
    *out = NULL;
    nx_regime_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return NX_ENOMEM;
    char meta[512];
    paths(path, m->path, meta, sizeof meta);
    struct stat sb;
    int rc = stat(path, &sb) != 0 ? fail(err, cap, NX_ENOENT, path, "no such file or folder")
                                  : read_meta(m, meta, engine, err, cap);
    if (!rc && stat(m->path, &sb) != 0)
        rc = fail(err, cap, NX_ENOENT, m->path, "no such file");
    /* the model meta.json describes, not another one written beside it */
    char hex[65];
    if (!rc && m->digest[0] && (nx_regime_model_digest(m->path, hex) || strcmp(hex, m->digest)))
        rc = fail(err, cap, NX_EINVAL, m->path,
                  "not the model its meta.json describes (BLAKE2b differs): retrain, or copy "
                  "both files together");
    /* one thread from the start: loading too (its trees are otherwise read
     * by an OpenMP team) */
    nx_regime_one_thread();
    if (!rc && (XGBoosterCreate(NULL, 0, &m->b) || XGBoosterSetParam(m->b, "nthread", "1") ||
                XGBoosterLoadModel(m->b, m->path)))
        rc = fail(err, cap, NX_EINVAL, m->path, "not an XGBoost model: %s", xgb_error());
    bst_ulong nf = 0;
    uint32_t nc = 0;
    char objective[64] = "";
    if (!rc && (XGBoosterSetParam(m->b, "nthread", "1") || XGBoosterGetNumFeature(m->b, &nf) ||
                booster_classes(m->b, &nc, objective, sizeof objective)))
        rc = fail(err, cap, NX_EINVAL, m->path, "XGBoost cannot read it: %s", xgb_error());
    if (!rc && strcmp(objective, "multi:softprob"))
        rc = fail(err, cap, NX_EINVAL, m->path,
                  "its objective is %s; a regime model gives class probabilities "
                  "(multi:softprob)",
                  objective);
    if (!rc && nf != m->nfeat)
        rc = fail(err, cap, NX_EINVAL, m->path,
                  "the booster takes %llu features, its meta.json names %u", (unsigned long long)nf,
                  m->nfeat);
    if (!rc && nc != m->nclass)
        rc = fail(err, cap, NX_EINVAL, m->path,
                  "the booster has %u classes (multi:softprob), its meta.json names %u", nc,
                  m->nclass);
    /* feature names the booster carries must be the metadata's */
    bst_ulong nn = 0;
    const char **names = NULL;
    if (!rc && XGBoosterGetStrFeatureInfo(m->b, "feature_name", &nn, &names) == 0 && nn) {
        for (uint32_t i = 0; !rc && i < m->nfeat && i < nn; i++)
            if (strcmp(names[i], m->feat[i]))
                rc = fail(err, cap, NX_EINVAL, m->path,
                          "the booster's feature %u is \"%s\", its meta.json says \"%s\"", i + 1,
                          names[i], m->feat[i]);
    }
    if (!rc && !(m->row = calloc(m->nfeat, sizeof *m->row)))
        rc = NX_ENOMEM;
    if (!rc && XGProxyDMatrixCreate(&m->proxy))
        rc = fail(err, cap, NX_EIO, m->path, "XGBoost: %s", xgb_error());
    if (!rc)
        rc = load_trees(m);
    if (rc) {
        nx_regime_model_free(m);
        return rc;
    }
    /* the row's array interface (its address never changes) and the
     * prediction config: made once, not per prediction */
    snprintf(m->array_if, sizeof m->array_if,
             "{\"data\": [%llu, true], \"shape\": [1, %u], \"typestr\": \"<f4\", \"version\": 3}",
             (unsigned long long)(uintptr_t)m->row, m->nfeat);
    snprintf(m->conf, sizeof m->conf,
             "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
             "\"strict_shape\": false, \"cache_id\": 0, \"missing\": NaN}");
    *out = m;
    return 0;
}

uint32_t nx_regime_model_features(const nx_regime_model_t *m)
{
    return m->nfeat;
}

const char *nx_regime_model_feature(const nx_regime_model_t *m, uint32_t i)
{
    return i < m->nfeat ? m->feat[i] : NULL;
}

uint32_t nx_regime_model_classes(const nx_regime_model_t *m)
{
    return m->nclass;
}

const char *nx_regime_model_class(const nx_regime_model_t *m, uint32_t i)
{
    return i < m->nclass ? m->cls[i] : NULL;
}

const char *nx_regime_model_path(const nx_regime_model_t *m)
{
    return m->path;
}

int nx_regime_model_predict_booster(nx_regime_model_t *m, const double *row, double *probs)
{
    for (uint32_t i = 0; i < m->nfeat; i++)
        m->row[i] = (float)((row[i] - m->center[i]) / m->scale[i]);
    const bst_ulong *shape = NULL;
    bst_ulong dim = 0;
    const float *res = NULL;
    if (XGBoosterPredictFromDense(m->b, m->array_if, m->conf, m->proxy, &shape, &dim, &res)) {
        NX_LOGK(NX_LOG_ERROR, "regime", "regime.predict", "%s: prediction failed: %s", m->path,
                xgb_error());
        return NX_EIO;
    }
    bst_ulong got = 1;
    for (bst_ulong d = 0; d < dim; d++)
        got *= shape[d];
    if (got != m->nclass) {
        NX_LOGK(NX_LOG_ERROR, "regime", "regime.predict", "%s: %llu values for one row, %u classes",
                m->path, (unsigned long long)got, m->nclass);
        return NX_EIO;
    }
    for (uint32_t c = 0; c < m->nclass; c++)
        probs[c] = res[c];
    return 0;
}

int nx_regime_model_predict(nx_regime_model_t *m, const double *row, double *probs)
{
    if (!m->node)
        return nx_regime_model_predict_booster(m, row, probs);
    for (uint32_t i = 0; i < m->nfeat; i++)
        m->row[i] = (float)((row[i] - m->center[i]) / m->scale[i]);
    for (uint32_t c = 0; c < m->nclass; c++)
        m->margin[c] = m->base;
    /* four trees down side by side, then their leaves added in tree order
     * (the float sum's order is XGBoost's) */
    const struct rm_node *nd = m->node;
    const float *x = m->row;
#define RM_STEP(i)                                                                                 \
    do {                                                                                           \
        const struct rm_node *o_ = &nd[i];                                                         \
        float v_ = x[o_->feat];                                                                    \
        i = (uint32_t)o_->child[!((v_ < o_->cond) | (isnan(v_) & o_->dleft))];                     \
    } while (0)
    uint32_t t = 0;
    for (; t + 4 <= m->ntree; t += 4) {
        uint32_t a = m->root[t], b = m->root[t + 1], c = m->root[t + 2], e = m->root[t + 3];
        for (uint32_t k = 0; k < m->depth; k++) {
            RM_STEP(a);
            RM_STEP(b);
            RM_STEP(c);
            RM_STEP(e);
        }
        m->margin[m->group[t]] += nd[a].cond;
        m->margin[m->group[t + 1]] += nd[b].cond;
        m->margin[m->group[t + 2]] += nd[c].cond;
        m->margin[m->group[t + 3]] += nd[e].cond;
    }
    for (; t < m->ntree; t++) {
        uint32_t a = m->root[t];
        for (uint32_t k = 0; k < m->depth; k++)
            RM_STEP(a);
        m->margin[m->group[t]] += nd[a].cond;
    }
#undef RM_STEP
    /* softmax: a float maximum, a double sum of float exponentials, each
     * divided by that sum as a float */
    float wmax = m->margin[0];
    for (uint32_t c = 1; c < m->nclass; c++)
        wmax = fmaxf(m->margin[c], wmax);
    double wsum = 0;
    for (uint32_t c = 0; c < m->nclass; c++) {
        m->margin[c] = expf(m->margin[c] - wmax);
        wsum += m->margin[c];
    }
    for (uint32_t c = 0; c < m->nclass; c++)
        probs[c] = m->margin[c] / (float)wsum;
    return 0;
}
