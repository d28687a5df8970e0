/*
 * cmd_model.c — the regime classifier's commands (regime.h does the work):
 *
 *   nexus model features --candles FILE.csv   the features per candle, CSV
 *   nexus model predict --model PATH --csv FEATURES.csv
 *                                             class probabilities per row
 *   nexus train --candles FILE.csv [--candles ...] --out DIR [--folds K]
 *               [--rounds N] [--depth D] [--eta E]
 */
#include "cli.h"

#include "nx/error.h"
#include "nx/regime.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- candles in ---------------------------------------------------------- */

typedef struct candles {
    int64_t *t;
    double *o, *h, *l, *c, *v;
    size_t n, cap;
} candles_t;

static void candles_free(candles_t *k)
{
    free(k->t), free(k->o), free(k->h), free(k->l), free(k->c), free(k->v);
    memset(k, 0, sizeof *k);
}

/* The bundled format: open_time_ms,open,high,low,close,volume (a header line
 * is skipped). NX_EXIT_OK, or the file and line of what is wrong. */
static int candles_read(const char *cmd, const char *path, candles_t *k)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "nexus %s: %s: %s\n", cmd, path, strerror(errno));
        return NX_EXIT_CONFIG;
    }
    char line[512];
    long lineno = 0;
    int rc = NX_EXIT_OK;
    while (rc == NX_EXIT_OK && fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1 && strstr(line, "open_time"))
            continue;
        long long t;
        double o, h, l, c, v;
        if (sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf", &t, &o, &h, &l, &c, &v) != 6 || !(c > 0) ||
            !(h >= l)) {
            fprintf(stderr,
                    "nexus %s: %s:%ld: expected open_time_ms,open,high,low,close,volume with "
                    "positive prices\n",
                    cmd, path, lineno);
            rc = NX_EXIT_CONFIG;
            break;
        }
        if (k->n == k->cap) {
            size_t cap = k->cap ? k->cap * 2 : 4096;
            int64_t *nt = realloc(k->t, cap * sizeof *nt);
            if (nt)
                k->t = nt;
            double **cols[] = {&k->o, &k->h, &k->l, &k->c, &k->v};
            int ok = nt != NULL;
            for (int i = 0; ok && i < 5; i++) {
                double *g = realloc(*cols[i], cap * sizeof *g);
                if (g)
                    *cols[i] = g;
                ok = g != NULL;
            }
            if (!ok) {
                fprintf(stderr, "nexus %s: out of memory\n", cmd);
                rc = NX_EXIT_FAIL;
                break;
            }
            k->cap = cap;
        }
        k->t[k->n] = t, k->o[k->n] = o, k->h[k->n] = h, k->l[k->n] = l, k->c[k->n] = c;
        k->v[k->n++] = v;
    }
    fclose(f);
    if (rc == NX_EXIT_OK && k->n == 0) {
        fprintf(stderr, "nexus %s: %s: no candles\n", cmd, path);
        rc = NX_EXIT_CONFIG;
    }
    return rc;
}

/* ---- nexus model features ------------------------------------------------ */

static void features_help(FILE *out)
{
    fprintf(out,
            "usage: nexus model features --candles FILE.csv\n\n"
            "Read candles (open_time_ms,open,high,low,close,volume; a header line is skipped)\n"
            "and print the regime classifier's features per candle as CSV: open_time_ms, then\n"
            "one column per feature, named as the model names them (empty while a feature\n"
            "is still inside its lookback). The engine computes them with the same code.\n");
}

static void model_help(FILE *out)
{
    fprintf(out,
            "usage: nexus model features --candles FILE.csv\n"
            "       nexus model predict --model PATH --csv FEATURES.csv\n\n"
            "features: the regime classifier's features per candle (see `features --help`).\n"
            "predict:  for each row of FEATURES.csv (a header of feature names; columns the\n"
            "          model does not know are ignored, a missing one is an error, an empty\n"
            "          cell is a missing value), the class probabilities (%%.9g), one CSV line\n"
            "          per row under a header of the model's classes. PATH is the model file\n"
            "          (model.json) or its folder; meta.json is read beside it.\n");
}

static int cmd_features(int argc, char **argv)
{
    static const struct option opts[] = {
        {"candles", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c')
            path = optarg;
        else if (c == 'h') {
            features_help(stdout);
            return NX_EXIT_OK;
        } else {
            features_help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!path || optind != argc) {
        features_help(stderr);
        return NX_EXIT_USAGE;
    }
    candles_t k = {0};
    int rc = candles_read("model features", path, &k);
    if (rc) {
        candles_free(&k);
        return rc;
    }
    static nx_regime_feat_t s;
    nx_regime_feat_init(&s);
    fputs("open_time_ms", stdout);
    for (int f = 0; f < NX_RF_COUNT; f++)
        printf(",%s", nx_regime_feature_name(f));
    putchar('\n');
    for (size_t i = 0; i < k.n; i++) {
        nx_regime_feat_update(&s, k.t[i], k.o[i], k.h[i], k.l[i], k.c[i], k.v[i]);
        printf("%lld", (long long)k.t[i]);
        for (int f = 0; f < NX_RF_COUNT; f++) {
            if (isnan(s.f[f]))
                fputs(",", stdout);
            else
                printf(",%.17g", s.f[f]);
        }
        putchar('\n');
    }
    candles_free(&k);
    return NX_EXIT_OK;
}

/* ---- nexus model predict ----------------------------------------------------- */

/* Split a CSV line in place (no quoting: numbers and names only). */
static int split(char *line, char **cell, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    for (char *p = line; n < max;) {
        cell[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = 0;
        p = comma + 1;
    }
    return n;
}

static int cmd_predict(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"csv", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *mpath = NULL, *csv = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:h", opts, NULL)) != -1) {
        if (c == 'm')
            mpath = optarg;
        else if (c == 'c')
            csv = optarg;
        else if (c == 'h') {
            model_help(stdout);
            return NX_EXIT_OK;
        } else {
            model_help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!mpath || !csv || optind != argc) {
        model_help(stderr);
        return NX_EXIT_USAGE;
    }
    char err[600];
    nx_regime_model_t *m;
    if (nx_regime_model_load(&m, mpath, 0, err, sizeof err)) {
        fprintf(stderr, "nexus model predict: %s\n", err);
        return NX_EXIT_CONFIG;
    }
    FILE *f = fopen(csv, "r");
    if (!f) {
        fprintf(stderr, "nexus model predict: %s: %s\n", csv, strerror(errno));
        nx_regime_model_free(m);
        return NX_EXIT_CONFIG;
    }
    enum { MAXC = 256 };
    static char line[1 << 16];
    char *cell[MAXC];
    int col[NX_REGIME_MAX_COLS], ncols = 0, rc = NX_EXIT_OK;
    uint32_t nf = nx_regime_model_features(m), nc = nx_regime_model_classes(m);
    if (!fgets(line, sizeof line, f)) {
        fprintf(stderr, "nexus model predict: %s: empty (a header of feature names first)\n", csv);
        rc = NX_EXIT_CONFIG;
    } else {
        ncols = split(line, cell, MAXC);
        for (uint32_t i = 0; i < nf && rc == NX_EXIT_OK; i++) {
            col[i] = -1;
            for (int k = 0; k < ncols; k++)
                if (!strcmp(cell[k], nx_regime_model_feature(m, i)))
                    col[i] = k;
            if (col[i] < 0) {
                fprintf(stderr,
                        "nexus model predict: %s: no column \"%s\" (the model's feature %u)\n", csv,
                        nx_regime_model_feature(m, i), i + 1);
                rc = NX_EXIT_CONFIG;
            }
        }
    }
    for (uint32_t k = 0; rc == NX_EXIT_OK && k < nc; k++)
        printf("%s%s", k ? "," : "", nx_regime_model_class(m, k));
    if (rc == NX_EXIT_OK)
        putchar('\n');
    double row[NX_REGIME_MAX_COLS], probs[NX_REGIME_MAX_COLS];
    long lineno = 1;
    while (rc == NX_EXIT_OK && fgets(line, sizeof line, f)) {
        lineno++;
        int n = split(line, cell, MAXC);
        if (n == 1 && !cell[0][0])
            continue; /* an empty line */
        if (n != ncols) {
            fprintf(stderr, "nexus model predict: %s:%ld: %d cells, the header has %d\n", csv,
                    lineno, n, ncols);
            rc = NX_EXIT_CONFIG;
            break;
        }
        for (uint32_t i = 0; i < nf && rc == NX_EXIT_OK; i++) {
            const char *s = cell[col[i]];
            char *end;
            row[i] = !*s || !strcasecmp(s, "nan") ? NAN : strtod(s, &end);
            if (*s && strcasecmp(s, "nan") && *end) {
                fprintf(stderr, "nexus model predict: %s:%ld: %s is \"%s\", not a number\n", csv,
                        lineno, nx_regime_model_feature(m, i), s);
                rc = NX_EXIT_CONFIG;
            }
        }
        if (rc == NX_EXIT_OK && nx_regime_model_predict(m, row, probs)) {
            fprintf(stderr, "nexus model predict: %s:%ld: the prediction failed\n", csv, lineno);
            rc = NX_EXIT_FAIL;
        }
        for (uint32_t k = 0; rc == NX_EXIT_OK && k < nc; k++)
            printf("%s%.9g", k ? "," : "", probs[k]);
        if (rc == NX_EXIT_OK)
            putchar('\n');
    }
    fclose(f);
    nx_regime_model_free(m);
    return rc;
}

int nx_cmd_model(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "features"))
        return cmd_features(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "predict"))
        return cmd_predict(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        model_help(stdout);
        return NX_EXIT_OK;
    }
    model_help(stderr);
    return NX_EXIT_USAGE;
}

/* ---- nexus train ------------------------------------------------------------------ */

static void train_help(FILE *out)
{
    fprintf(out,
            "usage: nexus train --candles FILE.csv [--candles FILE.csv ...] --out DIR\n"
            "                   [--folds K] [--rounds N] [--depth D] [--eta E]\n\n"
            "Train the regime classifier on candle files (the bundled format, each in time\n"
            "order): the features per candle (as `nexus model features`), a label from the\n"
            "16 candles after it (the rule in meta.json: training only), a RobustScaler\n"
            "fitted on the training rows, TimeSeriesSplit cross-validation with K folds\n"
            "(default 5; each fold trains only on rows before its test range, less the 16\n"
            "whose labels look into it; accuracy, log loss and the confusion matrix printed\n"
            "and saved in DIR/cv.txt), then XGBoost (multi:softprob,\n"
            "histogram trees, one thread; defaults: 40 rounds, depth 3, eta 0.12) on every row.\n"
            "Writes DIR/model.json, DIR/meta.json and DIR/cv.txt; the same input gives the\n"
            "same bytes.\n");
}

int nx_cmd_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"candles", required_argument, 0, 'c'}, {"out", required_argument, 0, 'o'},
        {"folds", required_argument, 0, 'k'},   {"rounds", required_argument, 0, 'r'},
        {"depth", required_argument, 0, 'd'},   {"eta", required_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *files[16], *out = NULL;
    int nfiles = 0, c;
    nx_regime_train_opts_t o = {5, 40, 3, 0.12, NULL};
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:k:r:d:e:h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case 'c':
            if (nfiles == 16) {
                fprintf(stderr, "nexus train: at most 16 candle files\n");
                return NX_EXIT_USAGE;
            }
            files[nfiles++] = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'k':
            o.folds = (uint32_t)strtoul(optarg, &end, 10);
            break;
        case 'r':
            o.rounds = (uint32_t)strtoul(optarg, &end, 10);
            break;
        case 'd':
            o.max_depth = (uint32_t)strtoul(optarg, &end, 10);
            break;
        case 'e':
            o.eta = strtod(optarg, &end);
            break;
        case 'h':
            train_help(stdout);
            return NX_EXIT_OK;
        default:
            train_help(stderr);
            return NX_EXIT_USAGE;
        }
        if (end && (*end || end == optarg)) {
            fprintf(stderr, "nexus train: --%s: \"%s\" is not a number\n",
                    c == 'k'   ? "folds"
                    : c == 'r' ? "rounds"
                    : c == 'd' ? "depth"
                               : "eta",
                    optarg);
            return NX_EXIT_USAGE;
        }
    }
    if (!nfiles || !out || optind != argc) {
        train_help(stderr);
        return NX_EXIT_USAGE;
    }
    /* rows: every candle whose features are all there and whose label the
     * candles after it give, file by file (features start over per file) */
    double *x = NULL;
    int *y = NULL;
    size_t n = 0, cap = 0;
    int64_t first = 0, last = 0;
    int rc = NX_EXIT_OK;
    char source[1024] = "";
    for (int fi = 0; fi < nfiles && rc == NX_EXIT_OK; fi++) {
        candles_t k = {0};
        if ((rc = candles_read("train", files[fi], &k))) {
            candles_free(&k);
            break;
        }
        const char *base = strrchr(files[fi], '/');
        size_t used = strlen(source);
        snprintf(source + used, sizeof source - used, "%s%s (%zu candles)", fi ? ", " : "",
                 base ? base + 1 : files[fi], k.n);
        static nx_regime_feat_t s;
        nx_regime_feat_init(&s);
        for (size_t i = 0; i < k.n; i++) {
            int full = nx_regime_feat_update(&s, k.t[i], k.o[i], k.h[i], k.l[i], k.c[i], k.v[i]);
            int label = full ? nx_regime_label(k.c, k.n, i, s.f[NX_RF_RV16], s.f[NX_RF_RET16]) : -1;
            if (label < 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16384;
                double *nx = realloc(x, cap * NX_RF_COUNT * sizeof *nx);
                int *ny = nx ? realloc(y, cap * sizeof *ny) : NULL;
                if (nx)
                    x = nx;
                if (ny)
                    y = ny;
                if (!nx || !ny) {
                    fprintf(stderr, "nexus train: out of memory\n");
                    rc = NX_EXIT_FAIL;
                    break;
                }
            }
            memcpy(x + n * NX_RF_COUNT, s.f, sizeof s.f);
            y[n] = label;
            if (!n)
                first = k.t[i];
            last = k.t[i];
            n++;
        }
        candles_free(&k);
    }
    o.source = source;
    static nx_regime_train_report_t rep;
    char err[600];
    if (rc == NX_EXIT_OK &&
        nx_regime_train(x, y, (uint32_t)n, first, last, &o, out, &rep, err, sizeof err)) {
        fprintf(stderr, "nexus train: %s\n", err);
        rc = NX_EXIT_FAIL;
    }
    free(x);
    free(y);
    if (rc != NX_EXIT_OK)
        return rc;
    static char text[8192];
    nx_regime_train_report_text(&rep, text, sizeof text);
    fputs(text, stdout);
    printf("wrote %s/model.json, meta.json and cv.txt in %.1f s\n", out, rep.seconds);
    return NX_EXIT_OK;
}
