/*
 * test_regime.c — the regime classifier (nx/regime.h) against references
 * from outside its code:
 *
 *   features   the 22 features over the 2,000 real BTCUSDT 15m candles of
 *              tests/data/ta_reference, each written out again here from
 *              TA-Lib's own columns (ta.csv) or straight from the candles,
 *              calendar fields from libc's gmtime_r and a few dates by hand
 *   inference  tests/data/xgboost: a model trained by XGBoost's Python
 *              package, its rows and the probabilities Python gave
 *              (expected.csv); the library and `nexus model predict` must
 *              give the same to 1e-6
 *   loading    the engine refuses a model whose features are not its own;
 *              broken copies of the reference model fail with the file's
 *              path and the problem in the message, never a crash
 *   training   `nexus train` twice gives the same bytes, and its model
 *              loads and predicts; on SYNTHETIC random rows a model able to
 *              memorise (checked in-sample) scores chance on every CV fold,
 *              whose ranges are scikit-learn's TimeSeriesSplit formula
 *
 * argv[1] = the nexus binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nx/error.h"
#include "nx/regime.h"

static const char *nexus_bin;
static char tmp_dir[256]; /* this run's scratch folder, removed at the end */

#define CANDLES_FILE "tests/data/ta_reference/binance_spot_BTCUSDT_15m_first2000.candles.csv"
#define TA_FILE      "tests/data/ta_reference/binance_spot_BTCUSDT_15m_first2000.ta.csv"
#define XGB_DIR      "tests/data/xgboost"
#define NCANDLES     2000
#define CLASSES_CSV  "trend,scalping,mean_reversion,grid"

/* ---- helpers ----------------------------------------------------------------- */

static const char *src_path(const char *rel)
{
    static char buf[4][512];
    static int k;
    const char *src = getenv("NX_SOURCE_DIR");
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", src ? src : NX_SOURCE_DIR_DEFAULT, rel);
    return b;
}

static const char *tmp_path(const char *rel)
{
    static char buf[4][512];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, 512, "%s/%s", tmp_dir, rel);
    return b;
}

/* Split a CSV line into fields, in place (numbers and names, no quoting). */
static int split(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = 0;
    f[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == ',') {
            *p = 0;
            f[n++] = p + 1;
        }
    return n;
}

/* A whole file, NUL-terminated; its length in *len. The caller frees. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static void spill(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
    size_t n;
    char *b = slurp(from, &n);
    spill(to, b, n);
    free(b);
}

/* A fresh folder under the scratch folder holding a copy of the reference
 * model; returns its path. */
static const char *model_copy(const char *name)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmp_dir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/model.json", dir);
    copy_file(src_path(XGB_DIR "/model.json"), a);
    snprintf(b, sizeof b, "%s/meta.json", dir);
    copy_file(src_path(XGB_DIR "/meta.json"), b);
    return dir;
}

/* Run nexus with args (NULL-terminated), stdout and stderr into files;
 * returns its exit status (a signal fails the test). Waits for the process
 * itself to end. */
static int run_nexus(const char *out, const char *err, const char *const *args)
{
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)nexus_bin;
    while (*args && n < 15)
        argv[n++] = (char *)*args++;
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0)
            _exit(127);
        dup2(fo, 1);
        dup2(fe, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st))
        fail_msg("nexus %s did not exit normally (signal %d)", args[0],
                 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return WEXITSTATUS(st);
}

/* Rows of class probabilities under the header CLASSES_CSV (expected.csv
 * and `nexus model predict` print this). Returns the number of rows. */
static int read_probs(const char *path, double (*p)[NX_RC_COUNT], int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("%s: cannot open", path);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, f));
    line[strcspn(line, "\r\n")] = 0;
    assert_string_equal(line, CLASSES_CSV);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *cell[8];
        if (n == max)
            fail_msg("%s: more than %d rows", path, max);
        if (split(line, cell, 8) != NX_RC_COUNT)
            fail_msg("%s: row %d has not %d cells", path, n + 1, NX_RC_COUNT);
        for (int c = 0; c < NX_RC_COUNT; c++) {
            char *end;
            p[n][c] = strtod(cell[c], &end);
            if (end == cell[c] || *end)
                fail_msg("%s: row %d: \"%s\" is not a number", path, n + 1, cell[c]);
        }
        n++;
    }
    fclose(f);
    return n;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

/* The reference candles. */
static int64_t ct[NCANDLES];
static double co[NCANDLES], ch[NCANDLES], cl[NCANDLES], cc[NCANDLES], cv[NCANDLES];

static void read_candles(void)
{
    FILE *f = fopen(src_path(CANDLES_FILE), "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_non_null(strstr(line, "open_time_ms"));
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(n < NCANDLES);
        long long t;
        assert_int_equal(
            sscanf(line, "%lld,%lf,%lf,%lf,%lf,%lf", &t, &co[n], &ch[n], &cl[n], &cc[n], &cv[n]),
            6);
        ct[n++] = t;
    }
    fclose(f);
    assert_int_equal(n, NCANDLES);
}

/* ---- 1. the features against TA-Lib and the candles ----------------------------- */

/* A TA-Lib column: the value per row, NaN where TA-Lib has none. */
#define TA_COLS 32
static double ta[TA_COLS][NCANDLES];
static char ta_names[TA_COLS][32];
static int ta_ncol;

static void read_ta(void)
{
    FILE *f = fopen(src_path(TA_FILE), "r");
    assert_non_null(f);
    char line[4096];
    char *cell[TA_COLS + 1];
    assert_non_null(fgets(line, sizeof line, f));
    ta_ncol = split(line, cell, TA_COLS);
    for (int k = 0; k < ta_ncol; k++)
        snprintf(ta_names[k], sizeof ta_names[k], "%s", cell[k]);
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(n < NCANDLES);
        assert_int_equal(split(line, cell, TA_COLS), ta_ncol);
        for (int k = 0; k < ta_ncol; k++)
            ta[k][n] = cell[k][0] ? strtod(cell[k], NULL) : NAN;
        n++;
    }
    fclose(f);
    assert_int_equal(n, NCANDLES);
}

static const double *ta_col(const char *name)
{
    for (int k = 0; k < ta_ncol; k++)
        if (!strcmp(ta_names[k], name))
            return ta[k];
    fail_msg("%s has no column %s", TA_FILE, name);
    return NULL;
}

static double want[NCANDLES][NX_RF_COUNT]; /* the test's own features */
static double got[NCANDLES][NX_RF_COUNT];  /* nx_regime_feat's */
static int got_rc[NCANDLES];

/* The features written out again: TA-Lib's indicators, the rest from the
 * candles (NaN propagates where a lookback is not full). */
static void reference_features(void)
{
    const double *ema20 = ta_col("ema20"), *ema50 = ta_col("ema50"), *ema200 = ta_col("ema200"),
                 *rsi = ta_col("rsi14"), *natr = ta_col("natr14"), *adx = ta_col("adx14"),
                 *pdi = ta_col("plus_di14"), *mdi = ta_col("minus_di14"), *bbu = ta_col("bb_upper"),
                 *bbm = ta_col("bb_middle"), *bbl = ta_col("bb_lower"), *hist = ta_col("macd_hist"),
                 *tclose = ta_col("close");
    for (int t = 0; t < NCANDLES; t++) {
        double *w = want[t];
        assert_true(tclose[t] == cc[t]); /* the two files are the same candles */
        w[NX_RF_EMA20_SLOPE] = t ? ema20[t] / ema20[t - 1] - 1 : NAN;
        w[NX_RF_EMA50_SLOPE] = t ? ema50[t] / ema50[t - 1] - 1 : NAN;
        w[NX_RF_EMA200_SLOPE] = t ? ema200[t] / ema200[t - 1] - 1 : NAN;
        w[NX_RF_EMA_SPREAD] = ema50[t] / ema200[t] - 1;
        w[NX_RF_RSI14] = rsi[t];
        w[NX_RF_RSI14_SMA5] =
            t >= 4 ? (rsi[t - 4] + rsi[t - 3] + rsi[t - 2] + rsi[t - 1] + rsi[t]) / 5 : NAN;
        w[NX_RF_NATR14] = natr[t];
        double vsum = 0;
        for (int k = t - 19; k >= 0 && k <= t; k++)
            vsum += cv[k];
        w[NX_RF_VOL_REL20] = t >= 19 ? cv[t] / (vsum / 20) : NAN;
        time_t secs = (time_t)(ct[t] / 1000);
        struct tm tm;
        assert_non_null(gmtime_r(&secs, &tm));
        w[NX_RF_HOUR_UTC] = tm.tm_hour;
        w[NX_RF_DOW_UTC] = (tm.tm_wday + 6) % 7; /* tm_wday: 0 = Sunday; ours: 0 = Monday */
        double hh = -INFINITY, ll = INFINITY;
        for (int k = t - 49; k >= 0 && k <= t; k++) {
            hh = fmax(hh, ch[k]);
            ll = fmin(ll, cl[k]);
        }
        w[NX_RF_DIST_HIGH50] = t >= 49 ? cc[t] / hh - 1 : NAN;
        w[NX_RF_DIST_LOW50] = t >= 49 ? cc[t] / ll - 1 : NAN;
        w[NX_RF_ADX14] = adx[t];
        w[NX_RF_PLUS_DI14] = pdi[t];
        w[NX_RF_MINUS_DI14] = mdi[t];
        w[NX_RF_BB_WIDTH] = (bbu[t] - bbl[t]) / bbm[t];
        w[NX_RF_BB_POS] = (cc[t] - bbl[t]) / (bbu[t] - bbl[t]);
        w[NX_RF_MACD_HIST] = hist[t] / cc[t];
        w[NX_RF_RET1] = t >= 1 ? cc[t] / cc[t - 1] - 1 : NAN;
        w[NX_RF_RET4] = t >= 4 ? cc[t] / cc[t - 4] - 1 : NAN;
        w[NX_RF_RET16] = t >= 16 ? cc[t] / cc[t - 16] - 1 : NAN;
        double sq = 0; /* the last 16 log returns: candles t-15 .. t against the one before */
        for (int k = t - 15; k >= 1 && k <= t; k++)
            sq += log(cc[k] / cc[k - 1]) * log(cc[k] / cc[k - 1]);
        w[NX_RF_RV16] = t >= 16 ? sqrt(sq / 16) : NAN;
    }
}

static void test_features_match_talib(void **state)
{
    (void)state;
    read_candles();
    read_ta();
    reference_features();
    static nx_regime_feat_t s;
    nx_regime_feat_init(&s);
    for (int t = 0; t < NCANDLES; t++) {
        got_rc[t] = nx_regime_feat_update(&s, ct[t], co[t], ch[t], cl[t], cc[t], cv[t]);
        memcpy(got[t], s.f, sizeof got[t]);
    }

    /* the calendar by hand: the first candle opens 2021-01-12 00:00 UTC, a
     * Tuesday; candle 480 (5 days on) Sunday 2021-01-17 00:00; the last,
     * 1999 * 15 min on, Monday 2021-02-01 19:45 */
    assert_true(ct[0] == 1610409600000LL);
    assert_true(ct[480] == 1610841600000LL && ct[1999] == 1612208700000LL);
    static const struct {
        int row;
        double hour, dow;
    } cal[] = {{0, 0, 1}, {480, 0, 6}, {1999, 19, 0}};
    for (size_t i = 0; i < sizeof cal / sizeof cal[0]; i++) {
        assert_true(want[cal[i].row][NX_RF_HOUR_UTC] == cal[i].hour);
        assert_true(want[cal[i].row][NX_RF_DOW_UTC] == cal[i].dow);
        assert_true(got[cal[i].row][NX_RF_HOUR_UTC] == cal[i].hour);
        assert_true(got[cal[i].row][NX_RF_DOW_UTC] == cal[i].dow);
    }

    /* every value, and a value exactly where the reference has one */
    int values = 0, exact = 0, first_all = -1, rows_all = 0;
    double worst = 0;
    for (int t = 0; t < NCANDLES; t++) {
        int all = 1;
        for (int f = 0; f < NX_RF_COUNT; f++) {
            double a = got[t][f], b = want[t][f];
            if (isnan(a) != isnan(b))
                fail_msg("row %d %s: ours %.17g, reference %.17g", t, nx_regime_feature_name(f), a,
                         b);
            if (isnan(b)) {
                all = 0;
                continue;
            }
            double d = fabs(a - b) / fmax(1.0, fabs(b));
            if (d > 1e-9)
                fail_msg("row %d %s: ours %.17g, reference %.17g", t, nx_regime_feature_name(f), a,
                         b);
            worst = fmax(worst, d);
            values++;
            exact += a == b;
        }
        if (all) {
            if (first_all < 0)
                first_all = t;
            rows_all++;
        } else if (first_all >= 0) {
            fail_msg("row %d: a feature is missing again after row %d had them all", t, first_all);
        }
    }
    printf("# %d values, %d bit-exact, worst difference %.3g\n", values, exact, worst);

    /* complete from row 200: TA-Lib's EMA(200) first has a value at row 199
     * (the mean of the first 200 closes), and its slope needs the one before */
    assert_int_equal(first_all, 200);
    assert_int_equal(rows_all, NCANDLES - 200);
    int ones = 0;
    for (int t = 0; t < NCANDLES; t++) {
        if (got_rc[t] != (t >= first_all))
            fail_msg("row %d: nx_regime_feat_update returned %d", t, got_rc[t]);
        ones += got_rc[t];
    }
    assert_int_equal(ones, rows_all);
    /* before that, the features still warming up are NaN (the check above
     * already asked for NaN exactly where the reference has none); the
     * slowest of them is the EMA(200) slope */
    assert_true(isnan(got[199][NX_RF_EMA200_SLOPE]) && !isnan(got[199][NX_RF_EMA_SPREAD]));
    for (int f = 0; f < NX_RF_COUNT; f++)
        if (f != NX_RF_HOUR_UTC && f != NX_RF_DOW_UTC)
            assert_true(isnan(got[0][f])); /* nothing but the calendar on the first candle */
}

/* ---- 2. the Python-trained model's probabilities ---------------------------------- */

#define XGB_ROWS 200

static double expected[XGB_ROWS + 1][NX_RC_COUNT];

static void test_python_model_same_probabilities(void **state)
{
    (void)state;
    char err[600] = "";
    nx_regime_model_t *m = NULL;
    int rc = nx_regime_model_load(&m, src_path(XGB_DIR), 0, err, sizeof err);
    if (rc)
        fail_msg("load: %d %s", rc, err);

    /* the model's columns are meta.json's, in its order */
    json_error_t je;
    json_t *meta = json_load_file(src_path(XGB_DIR "/meta.json"), 0, &je);
    assert_non_null(meta);
    json_t *names = json_object_get(meta, "features"), *classes = json_object_get(meta, "classes");
    assert_int_equal(json_array_size(names), 8);
    assert_int_equal(nx_regime_model_features(m), 8);
    for (uint32_t i = 0; i < 8; i++)
        assert_string_equal(nx_regime_model_feature(m, i),
                            json_string_value(json_array_get(names, i)));
    assert_int_equal(nx_regime_model_classes(m), NX_RC_COUNT);
    for (uint32_t c = 0; c < NX_RC_COUNT; c++)
        assert_string_equal(nx_regime_model_class(m, c),
                            json_string_value(json_array_get(classes, c)));
    json_decref(meta);

    assert_int_equal(read_probs(src_path(XGB_DIR "/expected.csv"), expected, XGB_ROWS + 1),
                     XGB_ROWS);

    /* rows.csv: matched by name (its columns are in another order, between
     * two the model does not know) */
    FILE *f = fopen(src_path(XGB_DIR "/rows.csv"), "r");
    assert_non_null(f);
    char line[4096], *cell[32];
    assert_non_null(fgets(line, sizeof line, f));
    int ncell = split(line, cell, 32), col[8];
    assert_int_equal(ncell, 10);
    for (uint32_t i = 0; i < 8; i++) {
        col[i] = -1;
        for (int k = 0; k < ncell; k++)
            if (!strcmp(cell[k], nx_regime_model_feature(m, i)))
                col[i] = k;
        if (col[i] < 0)
            fail_msg("rows.csv has no column %s", nx_regime_model_feature(m, i));
        assert_int_not_equal(col[i], (int)i); /* the order really differs */
    }
    int n = 0;
    double worst = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(n < XGB_ROWS);
        assert_int_equal(split(line, cell, 32), ncell);
        double row[8], p[NX_RC_COUNT];
        for (int i = 0; i < 8; i++)
            row[i] = strtod(cell[col[i]], NULL);
        assert_int_equal(nx_regime_model_predict(m, row, p), 0);
        for (int c = 0; c < NX_RC_COUNT; c++) {
            double d = fabs(p[c] - expected[n][c]);
            if (d > 1e-6)
                fail_msg("row %d %s: ours %.9g, Python's %.9g", n + 1, nx_regime_class_name(c),
                         p[c], expected[n][c]);
            worst = fmax(worst, d);
        }
        n++;
    }
    fclose(f);
    assert_int_equal(n, XGB_ROWS);
    printf("# library: %d rows, worst difference from Python %.3g\n", n, worst);
    nx_regime_model_free(m);

    /* the same through the command line */
    static double cli[XGB_ROWS + 1][NX_RC_COUNT];
    const char *out = tmp_path("predict.out"), *errf = tmp_path("predict.err");
    const char *args[] = {
        "model", "predict", "--model", src_path(XGB_DIR), "--csv", src_path(XGB_DIR "/rows.csv"),
        NULL};
    assert_int_equal(run_nexus(out, errf, args), 0);
    assert_int_equal(read_probs(out, cli, XGB_ROWS + 1), XGB_ROWS);
    worst = 0;
    for (int r = 0; r < XGB_ROWS; r++)
        for (int c = 0; c < NX_RC_COUNT; c++) {
            double d = fabs(cli[r][c] - expected[r][c]);
            if (d > 1e-6)
                fail_msg("nexus model predict, row %d %s: %.9g, Python's %.9g", r + 1,
                         nx_regime_class_name(c), cli[r][c], expected[r][c]);
            worst = fmax(worst, d);
        }
    printf("# nexus model predict: %d rows, worst difference from Python %.3g\n", XGB_ROWS, worst);

    /* a rows file without one of the model's columns (ret_16 taken out of
     * every line) is refused, naming the column */
    size_t len;
    char *text = slurp(src_path(XGB_DIR "/rows.csv"), &len);
    const char *rows = tmp_path("rows_no_ret16.csv");
    FILE *w = fopen(rows, "w");
    assert_non_null(w);
    int drop = -1, lines = 0;
    for (char *save = NULL, *ln = strtok_r(text, "\n", &save); ln;
         ln = strtok_r(NULL, "\n", &save)) {
        int k = split(ln, cell, 32);
        for (int j = 0; drop < 0 && j < k; j++)
            if (!strcmp(cell[j], "ret_16"))
                drop = j;
        assert_true(drop >= 0);
        for (int j = 0, first = 1; j < k; j++)
            if (j != drop) {
                fprintf(w, "%s%s", first ? "" : ",", cell[j]);
                first = 0;
            }
        fputc('\n', w);
        lines++;
    }
    assert_int_equal(fclose(w), 0);
    free(text);
    assert_int_equal(lines, XGB_ROWS + 1);
    const char *args2[] = {"model", "predict", "--model", src_path(XGB_DIR), "--csv", rows, NULL};
    assert_int_equal(run_nexus(out, errf, args2), 2);
    char *e = slurp(errf, NULL);
    assert_contains(e, rows);
    assert_contains(e, "\"ret_16\"");
    free(e);
    char *o = slurp(out, &len);
    assert_int_equal(len, 0); /* no probabilities printed */
    free(o);
}

/* ---- 3. the engine takes only models of its own features ---------------------------- */

static void test_engine_refuses_foreign_model(void **state)
{
    (void)state;
    char err[600] = "";
    nx_regime_model_t *m = (nx_regime_model_t *)(void *)err; /* not NULL: load must reset it */
    assert_int_equal(nx_regime_model_load(&m, src_path(XGB_DIR), 1, err, sizeof err), NX_EINVAL);
    assert_null(m);
    printf("# %s\n", err);
    assert_contains(err, src_path(XGB_DIR "/meta.json"));
    /* 8 features in meta.json (counted by hand), 22 in regime.h's list */
    assert_contains(err, "8 features");
    assert_contains(err, "22");
    /* and without `engine` the same model loads */
    assert_int_equal(nx_regime_model_load(&m, src_path(XGB_DIR), 0, err, sizeof err), 0);
    nx_regime_model_free(m);
}

/* ---- 4. broken model files ------------------------------------------------------------ */

/* meta.json of dir rewritten by edit(). */
static void edit_meta(const char *dir, void (*edit)(json_t *))
{
    char path[600];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    edit(root);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER), 0);
    json_decref(root);
}

static void drop_last_feature_only(json_t *root)
{
    json_t *a = json_object_get(root, "features");
    assert_int_equal(json_array_size(a), 8);
    assert_int_equal(json_array_remove(a, 7), 0);
}

static void drop_last_feature(json_t *root)
{
    drop_last_feature_only(root);
    json_t *sc = json_object_get(root, "scaler");
    assert_int_equal(json_array_remove(json_object_get(sc, "center"), 7), 0);
    assert_int_equal(json_array_remove(json_object_get(sc, "scale"), 7), 0);
}

/* The first two features swapped, their scaler entries with them: a
 * meta.json consistent in itself, but not the booster's column order. */
static void swap_first_two(json_t *root)
{
    static const char *const keys[] = {"features", "center", "scale"};
    for (int i = 0; i < 3; i++) {
        json_t *a = i ? json_object_get(json_object_get(root, "scaler"), keys[i])
                      : json_object_get(root, keys[i]);
        json_t *first = json_incref(json_array_get(a, 0));
        assert_int_equal(json_array_remove(a, 0), 0);
        assert_int_equal(json_array_insert_new(a, 1, first), 0);
    }
}

static void three_classes(json_t *root)
{
    json_t *a = json_object_get(root, "classes");
    assert_int_equal(json_array_size(a), 4);
    assert_int_equal(json_array_remove(a, 3), 0);
}

/* Load must fail with rc (any non-zero when 0), err naming file and what. */
static void refused(const char *dir, int rc, const char *file, const char *what, const char *what2)
{
    char err[600] = "", path[600];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    nx_regime_model_t *m = (nx_regime_model_t *)(void *)err; /* not NULL: load must reset it */
    int r = nx_regime_model_load(&m, dir, 0, err, sizeof err);
    printf("# %s\n", err);
    if (rc)
        assert_int_equal(r, rc);
    else
        assert_true(r < 0);
    assert_null(m);
    assert_contains(err, path);
    assert_contains(err, what);
    if (what2)
        assert_contains(err, what2);
    /* the model file's path loads the same way as its folder */
    char model[600];
    snprintf(model, sizeof model, "%s/model.json", dir);
    err[0] = 0;
    assert_true(nx_regime_model_load(&m, model, 0, err, sizeof err) < 0);
    assert_contains(err, path);
    /* and the command line says it and exits 2 */
    const char *args[] = {
        "model", "predict", "--model", dir, "--csv", src_path(XGB_DIR "/rows.csv"), NULL};
    assert_int_equal(run_nexus(tmp_path("bad.out"), tmp_path("bad.err"), args), 2);
    char *e = slurp(tmp_path("bad.err"), NULL);
    assert_contains(e, path);
    assert_contains(e, what);
    free(e);
}

static void test_bad_model_files(void **state)
{
    (void)state;
    size_t len;
    char path[600];

    /* first the copy itself loads: what breaks below is the edit alone */
    const char *dir = model_copy("good");
    char err[600] = "";
    nx_regime_model_t *m = NULL;
    if (nx_regime_model_load(&m, dir, 0, err, sizeof err))
        fail_msg("the unedited copy: %s", err);
    nx_regime_model_free(m);

    /* an objective that gives one class, not probabilities */
    dir = model_copy("softmax");
    snprintf(path, sizeof path, "%s/model.json", dir);
    char *sm = slurp(path, &len);
    char *o = strstr(sm, "\"multi:softprob\"");
    assert_non_null(o);
    memcpy(o, "\"multi:softmax\" ", 16); /* same length: the JSON stays whole */
    spill(path, sm, len);
    free(sm);
    refused(dir, NX_EINVAL, "model.json", "objective is multi:softmax", NULL);

    /* a meta.json naming another model file's BLAKE2b */
    dir = model_copy("other_model");
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *mt = slurp(path, &len);
    char *brace = strrchr(mt, '}');
    assert_non_null(brace);
    char edited[8192];
    assert_true(len < sizeof edited - 200);
    int cut = (int)(brace - mt);
    snprintf(edited, sizeof edited, "%.*s, \"model_blake2b\": \"%064d\"}\n", cut, mt, 7);
    spill(path, edited, strlen(edited));
    free(mt);
    refused(dir, NX_EINVAL, "model.json", "not the model its meta.json describes", NULL);

    /* model.json cut to half its bytes */
    dir = model_copy("truncated");
    snprintf(path, sizeof path, "%s/model.json", dir);
    char *text = slurp(path, &len);
    assert_true(len > 1000);
    spill(path, text, len / 2);
    free(text);
    refused(dir, NX_EINVAL, "model.json", "not an XGBoost model", NULL);

    /* model.json some other text */
    dir = model_copy("text");
    snprintf(path, sizeof path, "%s/model.json", dir);
    static const char prose[] = "These are not the trees you are looking for.\n";
    spill(path, prose, sizeof prose - 1);
    refused(dir, NX_EINVAL, "model.json", "not an XGBoost model", NULL);

    /* model.json empty */
    dir = model_copy("empty");
    snprintf(path, sizeof path, "%s/model.json", dir);
    spill(path, "", 0);
    refused(dir, NX_EINVAL, "model.json", "not an XGBoost model", NULL);

    /* meta.json with one feature (and its scaler entries) fewer than the
     * booster's 8 */
    dir = model_copy("seven_features");
    edit_meta(dir, drop_last_feature);
    refused(dir, NX_EINVAL, "model.json", "8 features", "names 7");

    /* one feature fewer but the scaler left at 8 */
    dir = model_copy("seven_names");
    edit_meta(dir, drop_last_feature_only);
    refused(dir, NX_EINVAL, "meta.json", "scaler", NULL);

    /* the features named in another order than the booster's */
    dir = model_copy("swapped");
    edit_meta(dir, swap_first_two);
    refused(dir, NX_EINVAL, "model.json", "feature 1 is", NULL);

    /* 3 classes in meta.json, 4 in the booster */
    dir = model_copy("three_classes");
    edit_meta(dir, three_classes);
    refused(dir, NX_EINVAL, "model.json", "4 classes", "names 3");

    /* meta.json not JSON */
    dir = model_copy("meta_text");
    snprintf(path, sizeof path, "%s/meta.json", dir);
    spill(path, "features: ret_1, ret_4\n", 23);
    refused(dir, NX_EINVAL, "meta.json", "not readable as JSON", NULL);

    /* meta.json missing */
    dir = model_copy("no_meta");
    snprintf(path, sizeof path, "%s/meta.json", dir);
    assert_int_equal(unlink(path), 0);
    refused(dir, NX_ENOENT, "meta.json", "no such file", NULL);

    /* model.json missing */
    dir = model_copy("no_model");
    snprintf(path, sizeof path, "%s/model.json", dir);
    assert_int_equal(unlink(path), 0);
    refused(dir, NX_ENOENT, "model.json", "no such file", NULL);
}

/* ---- 5. training: the same bytes twice, and a model the engine takes ----------------- */

static void train_cli(const char *out_dir)
{
    const char *args[] = {
        "train", "--candles", src_path(CANDLES_FILE), "--out", out_dir, "--folds", "3", "--rounds",
        "20",    NULL};
    if (run_nexus(tmp_path("train.out"), tmp_path("train.err"), args) != 0) {
        char *e = slurp(tmp_path("train.err"), NULL);
        fail_msg("nexus train: %s", e);
    }
}

static void test_train_deterministic_and_round_trip(void **state)
{
    (void)state;
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/train_a", tmp_dir);
    snprintf(b, sizeof b, "%s/train_b", tmp_dir);
    train_cli(a);
    train_cli(b);
    static const char *const files[] = {"model.json", "meta.json"};
    for (int i = 0; i < 2; i++) {
        char pa[600], pb[600];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        size_t la, lb;
        char *ta_ = slurp(pa, &la), *tb = slurp(pb, &lb);
        assert_true(la > 100);
        assert_int_equal(la, lb);
        if (memcmp(ta_, tb, la))
            fail_msg("%s differs between two runs on the same candles", files[i]);
        free(ta_);
        free(tb);
    }

    /* meta.json's record of the run, by hand: rows 200 (first complete
     * features) to 1983 (the last with 16 candles after it) = 1,784 rows;
     * TimeSeriesSplit(3): test blocks of 1784 / 4 = 446 rows */
    char mp[600];
    snprintf(mp, sizeof mp, "%s/meta.json", a);
    json_error_t je;
    json_t *meta = json_load_file(mp, 0, &je);
    assert_non_null(meta);
    json_t *range = json_object_get(meta, "train_range");
    assert_int_equal(json_integer_value(json_object_get(range, "rows")), 1784);
    assert_string_equal(json_string_value(json_object_get(range, "from")), "2021-01-14T02:00:00Z");
    assert_string_equal(json_string_value(json_object_get(range, "to")), "2021-02-01T15:45:00Z");
    json_t *folds = json_object_get(json_object_get(meta, "cv"), "folds");
    assert_int_equal(json_array_size(folds), 3);
    for (int k = 0; k < 3; k++) {
        json_t *fo = json_array_get(folds, (size_t)k);
        /* the 16 rows before the test block, whose labels look into it, purged */
        assert_int_equal(json_integer_value(json_object_get(fo, "train_end")),
                         446 * (k + 1) - 16);
        assert_int_equal(json_integer_value(json_object_get(fo, "test_begin")), 446 * (k + 1));
        assert_int_equal(json_integer_value(json_object_get(fo, "test_end")), 446 * (k + 2));
    }
    json_decref(meta);

    /* the engine takes it, twice, independently */
    char err[600] = "";
    nx_regime_model_t *m1 = NULL, *m2 = NULL;
    if (nx_regime_model_load(&m1, a, 1, err, sizeof err))
        fail_msg("engine load: %s", err);
    if (nx_regime_model_load(&m2, b, 1, err, sizeof err))
        fail_msg("engine load: %s", err);
    read_candles();
    static nx_regime_feat_t s;
    nx_regime_feat_init(&s);
    int rows = 0, best_seen[NX_RC_COUNT] = {0};
    for (int t = 0; t < NCANDLES; t++) {
        if (!nx_regime_feat_update(&s, ct[t], co[t], ch[t], cl[t], cc[t], cv[t]))
            continue;
        double p1[NX_RC_COUNT], p2[NX_RC_COUNT], sum = 0;
        assert_int_equal(nx_regime_model_predict(m1, s.f, p1), 0);
        assert_int_equal(nx_regime_model_predict(m2, s.f, p2), 0);
        int best = 0;
        for (int c = 0; c < NX_RC_COUNT; c++) {
            if (!(p1[c] >= 0 && p1[c] <= 1))
                fail_msg("row %d: probability %.9g of %s", t, p1[c], nx_regime_class_name(c));
            if (p1[c] != p2[c])
                fail_msg("row %d %s: %.9g, then %.9g", t, nx_regime_class_name(c), p1[c], p2[c]);
            sum += p1[c];
            best = p1[c] > p1[best] ? c : best;
        }
        if (fabs(sum - 1) > 1e-6)
            fail_msg("row %d: probabilities sum to %.9g", t, sum);
        best_seen[best]++;
        rows++;
    }
    assert_int_equal(rows, NCANDLES - 200);
    printf("# trained model's argmax over %d rows: trend %d, scalping %d, mean_reversion %d, "
           "grid %d\n",
           rows, best_seen[0], best_seen[1], best_seen[2], best_seen[3]);
    nx_regime_model_free(m1);
    nx_regime_model_free(m2);
}

/* ---- 6. cross-validation never trains on its test rows -------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t xorshift64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_cv_never_trains_on_its_test_rows(void **state)
{
    (void)state;
    /* SYNTHETIC rows: uniform random features and uniform random labels,
     * from the test's own fixed-seed xorshift. Nothing to learn: a model
     * can only memorise them, so out of sample it scores chance (0.25). */
    enum { N = 1200, K = 4 };
    static double x[N][NX_RF_COUNT];
    static int y[N];
    for (int i = 0; i < N; i++) {
        for (int f = 0; f < NX_RF_COUNT; f++)
            x[i][f] = (double)(xorshift64() >> 11) / 9007199254740992.0;
        y[i] = (int)(xorshift64() >> 62);
    }
    nx_regime_train_opts_t o = {
        .folds = K, .rounds = 200, .max_depth = 8, .eta = 0.3, .source = "SYNTHETIC"};
    static nx_regime_train_report_t rep;
    char err[600] = "", dir[512];
    snprintf(dir, sizeof dir, "%s/synthetic", tmp_dir);
    int64_t t0 = 1610409600000LL;
    int rc = nx_regime_train(&x[0][0], y, N, t0, t0 + (N - 1) * 900000LL, &o, dir, &rep, err,
                             sizeof err);
    if (rc)
        fail_msg("train: %d %s", rc, err);
    assert_int_equal(rep.rows, N);
    assert_int_equal(rep.nfolds, K);

    /* scikit-learn's TimeSeriesSplit(n_splits=K): test_size = n // (K + 1),
     * fold i tests [n - (K - i) * test_size, + test_size) and trains on
     * everything before: here 240-row blocks at 240, 480, 720, 960 */
    uint32_t test_size = N / (K + 1);
    assert_int_equal(test_size, 240);
    static const uint32_t begin_by_hand[K] = {240, 480, 720, 960};
    for (uint32_t i = 0; i < K; i++) {
        const nx_regime_fold_t *fo = &rep.fold[i];
        uint32_t begin = N - (K - i) * test_size;
        assert_int_equal(begin, begin_by_hand[i]);
        assert_int_equal(fo->test_begin, begin);
        assert_int_equal(fo->test_end, begin + test_size);
        assert_int_equal(fo->train_end, fo->test_begin - 16); /* the purge gap */
        if (i + 1 < K)
            assert_int_equal(fo->test_end, rep.fold[i + 1].test_begin); /* contiguous, ordered */
        uint32_t total = 0, right = 0;
        for (int t = 0; t < NX_RC_COUNT; t++)
            for (int p = 0; p < NX_RC_COUNT; p++) {
                total += fo->confusion[t][p];
                right += t == p ? fo->confusion[t][p] : 0;
            }
        assert_int_equal(total, test_size);
        assert_true(fabs(fo->accuracy - (double)right / test_size) < 1e-12);
        printf("# fold %u: train [0, %u), test [%u, %u), accuracy %.4f\n", i + 1, fo->train_end,
               fo->test_begin, fo->test_end, fo->accuracy);
        /* chance is 0.25, its standard deviation over 240 rows 0.028 */
        if (!(fo->accuracy < 0.40))
            fail_msg("fold %u scores %.3f on random labels: it has seen its test rows", i + 1,
                     fo->accuracy);
    }
    assert_int_equal(rep.fold[K - 1].test_end, N);

    /* the same settings do memorise: the final model (trained on every
     * row) on its first 240 training rows */
    nx_regime_model_t *m = NULL;
    if (nx_regime_model_load(&m, dir, 1, err, sizeof err))
        fail_msg("load: %s", err);
    int right = 0;
    for (int i = 0; i < 240; i++) {
        double p[NX_RC_COUNT];
        assert_int_equal(nx_regime_model_predict(m, x[i], p), 0);
        int best = 0;
        for (int c = 1; c < NX_RC_COUNT; c++)
            best = p[c] > p[best] ? c : best;
        right += best == y[i];
    }
    nx_regime_model_free(m);
    printf("# in-sample accuracy of the final model on rows [0, 240): %.4f\n", right / 240.0);
    assert_true(right > 0.8 * 240);
}

/* The shipped model's trees walked by the engine give XGBoost's own
 * probabilities (the C API, XGBoosterPredictFromDense) on every candle of
 * the first 2000 15m candles, and again with one feature missing in turn
 * (NaN: the walk takes each split's default side): within 1e-6, the same
 * class first, the same side of the router's 0.70. */
static void test_tree_walk_is_xgboost(void **state)
{
    (void)state;
    read_candles();
    char err[600];
    nx_regime_model_t *m = NULL;
    if (nx_regime_model_load(&m, src_path("models/regime-btc-15m"), 1, err, sizeof err))
        fail_msg("load: %s", err);
    static nx_regime_feat_t s;
    nx_regime_feat_init(&s);
    int rows = 0, missing = 0;
    double worst = 0;
    for (int i = 0; i < NCANDLES; i++) {
        if (!nx_regime_feat_update(&s, ct[i], co[i], ch[i], cl[i], cc[i], cv[i]))
            continue;
        for (int gap = -1; gap < NX_RF_COUNT; gap += gap < 0 ? 1 + i % 7 : 7) {
            double row[NX_RF_COUNT], pw[NX_RC_COUNT], px[NX_RC_COUNT];
            memcpy(row, s.f, sizeof row);
            if (gap >= 0) {
                row[gap] = NAN;
                missing++;
            }
            assert_int_equal(nx_regime_model_predict(m, row, pw), 0);
            assert_int_equal(nx_regime_model_predict_booster(m, row, px), 0);
            int bw = 0, bx = 0;
            for (int c = 0; c < NX_RC_COUNT; c++) {
                double d = fabs(pw[c] - px[c]);
                if (d > 1e-6)
                    fail_msg("candle %d (feature %d missing): %s walked %.9g, XGBoost %.9g", i,
                             gap, nx_regime_class_name(c), pw[c], px[c]);
                worst = fmax(worst, d);
                bw = pw[c] > pw[bw] ? c : bw;
                bx = px[c] > px[bx] ? c : bx;
            }
            assert_int_equal(bw, bx);
            assert_int_equal(pw[bw] >= 0.70, px[bx] >= 0.70);
            rows++;
        }
    }
    nx_regime_model_free(m);
    printf("# %d rows (%d with a feature missing), worst difference from XGBoost %.3g\n", rows,
           missing, worst);
    assert_true(rows > 3000 && missing > 1500);
}

/* ---- main ---------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    const char *t = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/nx_regime_XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_regime NEXUS_BINARY\n");
        return 2;
    }
    nexus_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_features_match_talib),
        cmocka_unit_test(test_python_model_same_probabilities),
        cmocka_unit_test(test_tree_walk_is_xgboost),
        cmocka_unit_test(test_engine_refuses_foreign_model),
        cmocka_unit_test(test_bad_model_files),
        cmocka_unit_test(test_train_deterministic_and_round_trip),
        cmocka_unit_test(test_cv_never_trains_on_its_test_rows),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
