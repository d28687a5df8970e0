/*
 * test_regime_route.c — routing strategies by market regime (cortex.h,
 * nx_cortex_set_regime) with real XGBoost models and real plugins.
 *
 * Six instances of the emitter fixture (an entry and an exit on every 15m
 * candle) named trend, scalping, mean_reversion, grid, sentinel and extra
 * run on the real BTCUSDT 15m candles. Models trained on constant labels
 * (each class in turn) force the regime: only the routed strategy's
 * entries reach the signal callback, with Sentinel's and extra's (named in
 * no route); every exit does. A model trained on random labels is never
 * 70% sure: the rule-based read decides every candle, by the documented
 * mapping. A model reloaded from its folder changes the regime between two
 * candles; one that does not load leaves the running one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cortex_fixture.h"

#include "nx/error.h"
#include "nx/regime.h"

#include <math.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define NCANDLES 3000
#define NSTRAT   6
static const char *const NAMES[NSTRAT] = {"trend", "scalping", "mean_reversion",
                                          "grid",  "sentinel", "extra"};

static char DIR_[64];
static int coarse; /* the emitters run on 1h candles: they send on every 4th 15m candle */
static int no_always; /* "always" empty, instance 4 from a plugin named sentinel */
static int entries[NSTRAT], exits[NSTRAT];

static void on_signal(void *ctx, const nx_event_t *sig)
{
    (void)ctx;
    uint16_t id = sig->u.signal.strategy;
    assert_true(id < NSTRAT);
    if (sig->u.signal.side == NX_SIG_BUY)
        entries[id]++;
    else if (sig->u.signal.side == NX_SIG_EXIT_LONG)
        exits[id]++;
}

/* A model trained on the real candles' features with labels from label(i). */
static void train(const char *dir, int (*label)(uint32_t i, int arg), int arg)
{
    static double x[NCANDLES * NX_RF_COUNT];
    static int y[NCANDLES];
    static nx_regime_feat_t s;
    nx_regime_feat_init(&s);
    uint32_t n = 0;
    for (int i = 0; i < NCANDLES; i++) {
        const fx_row_t *r = &fx_rows[i];
        if (nx_regime_feat_update(&s, r->t, r->o / 1e8, r->h / 1e8, r->l / 1e8, r->c / 1e8,
                                  r->v / 1e8)) {
            memcpy(&x[(size_t)n * NX_RF_COUNT], s.f, sizeof s.f);
            y[n] = label(n, arg);
            n++;
        }
    }
    nx_regime_train_opts_t o = {0, 20, 2, 0.3, "test"};
    nx_regime_train_report_t rep;
    char err[512];
    if (nx_regime_train(x, y, n, fx_rows[0].t, fx_rows[NCANDLES - 1].t, &o, dir, &rep, err,
                        sizeof err))
        fail_msg("%s", err);
}

static int constant(uint32_t i, int c)
{
    (void)i;
    return c;
}

static int scrambled(uint32_t i, int seed)
{
    uint64_t z = (uint64_t)i * 0x9e3779b97f4a7c15ULL + (uint64_t)seed;
    z ^= z >> 31;
    z *= 0xbf58476d1ce4e5b9ULL;
    z ^= z >> 29;
    return (int)(z % NX_RC_COUNT);
}

static nx_cortex_t *routed_cortex_ex(nx_symtab_t *t, const char *model, int rules_on_error,
                                     char *why, size_t cap)
{
    /* 1h before 15m: the regime's 15m must still close first */
    static uint32_t tfs[] = {900}, coarse_tfs[] = {3600, 900}, hour[] = {3600};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = coarse ? coarse_tfs : tfs;
    o.ntf = coarse ? 2 : 1;
    o.allow_unsigned = 1;
    o.on_signal = on_signal;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    char path[512], err[512];
    for (int k = 0; k < NSTRAT; k++) {
        nx_strategy_conf_t sc = {0};
        sc.name = NAMES[k];
        sc.path =
            fx_fixture(no_always && k == 4 ? "emitter_sentinel" : "emitter", path, sizeof path);
        if (coarse) {
            sc.tf_s = hour;
            sc.ntf = 1;
        }
        assert_int_equal(nx_cortex_add_strategy(cx, &sc, err, sizeof err), k);
    }
    static const char routes[4][1][32] = {{"trend"}, {"scalping"}, {"mean_reversion"}, {"grid"}};
    static const char always[1][32] = {"sentinel"};
    nx_cortex_regime_conf_t rc = {0};
    rc.model = model;
    rc.tf_s = 900;
    rc.threshold = 0.70;
    for (int k = 0; k < 4; k++) {
        rc.routes[k] = routes[k];
        rc.n_routes[k] = 1;
    }
    rc.always = always;
    rc.n_always = no_always ? 0 : 1;
    rc.rules_on_error = rules_on_error;
    if (nx_cortex_set_regime(cx, &rc, err, sizeof err))
        fail_msg("%s", err);
    if (why)
        snprintf(why, cap, "%s", err);
    assert_int_equal(nx_cortex_start(cx), 0);
    return cx;
}

static nx_cortex_t *routed_cortex(nx_symtab_t *t, const char *model)
{
    return routed_cortex_ex(t, model, 0, NULL, 0);
}

/* The documented mapping of the rule-based read to a route. */
static int rule_route(int rule)
{
    switch (rule) {
    case NX_REGIME_TREND_UP:
    case NX_REGIME_TREND_DOWN:
        return NX_RC_TREND;
    case NX_REGIME_VOLATILE:
        return NX_RC_SCALPING;
    case NX_REGIME_RANGE:
        return NX_RC_GRID;
    case NX_REGIME_MIXED:
        return NX_RC_MEAN_REVERSION;
    default:
        return -1;
    }
}

typedef struct tally {
    int by_model, by_rules, none, blocked;
    int rules_gave; /* by the rules, and a regime (not "none yet") */
    int coarse_closes;
} tally_t;

/* Candles [from, to) through the cortex, each checked: the entries that
 * came are exactly the regime's route's, Sentinel's and extra's; every
 * exit came. want_cls >= 0: the model must decide it once its features are
 * there. */
static void run(nx_cortex_t *cx, int from, int to, int want_cls, tally_t *t)
{
    for (int i = from; i < to; i++) {
        memset(entries, 0, sizeof entries);
        memset(exits, 0, sizeof exits);
        const fx_row_t *r = &fx_rows[i];
        nx_event_t ev;
        fx_kline(&ev, 0, r->t, 900, r->o, r->h, r->l, r->c, r->v);
        nx_cortex_on_event(cx, &ev);
        nx_regime_read_t g;
        assert_int_equal(nx_cortex_regime_read(cx, 0, &g), 0);
        assert_true(g.on);
        if (g.by_rules) {
            assert_int_equal(g.cls, rule_route(g.rule));
            if (g.has_probs) /* the model spoke, below its threshold */
                for (int c = 0; c < NX_RC_COUNT; c++)
                    assert_true(g.probs[c] < 0.70);
            t->by_rules++;
            t->rules_gave += g.cls >= 0;
        } else {
            assert_true(g.has_probs);
            assert_true(g.probs[g.cls] >= 0.70);
            t->by_model++;
        }
        if (want_cls >= 0 && g.has_probs) {
            assert_false(g.by_rules);
            assert_int_equal(g.cls, want_cls);
        }
        t->none += g.cls < 0;
        for (int k = 0; k < NSTRAT; k++) {
            int pass = g.cls < 0 || k == g.cls || k == 4 || k == 5;
            if (coarse && !exits[k])
                continue; /* its candle did not close with this one */
            if (entries[k] != pass)
                fail_msg("candle %d, regime %d (%s): %s sent %d entries, want %d", i, g.cls,
                         g.by_rules ? "rules" : "model", NAMES[k], entries[k], pass);
            assert_int_equal(exits[k], 1);
            t->blocked += !pass;
            t->coarse_closes += coarse;
            assert_int_equal(!!(g.active & (1ULL << k)), pass);
        }
    }
}

static void test_each_class_routes_its_strategy(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    for (int c = 0; c < NX_RC_COUNT; c++) {
        char dir[128];
        snprintf(dir, sizeof dir, "%s/const%d", DIR_, c);
        train(dir, constant, c);
        nx_cortex_t *cx = routed_cortex(t, dir);
        tally_t tl = {0};
        run(cx, 0, NCANDLES, c, &tl);
        assert_true(tl.by_model > NCANDLES - 300); /* all but the warm-up */
        assert_true(tl.none > 0);                  /* the first candles: nothing filtered */
        nx_cortex_stats_t cs;
        nx_cortex_stats(cx, &cs);
        assert_int_equal(cs.regime_by_model, (uint64_t)tl.by_model);
        assert_int_equal(cs.regime_by_rules, (uint64_t)tl.rules_gave);
        assert_int_equal(cs.unrouted, (uint64_t)tl.blocked);
        uint64_t sum = 0;
        for (int k = 0; k < NSTRAT; k++) {
            nx_strategy_info_t si;
            assert_int_equal(nx_cortex_strategy_info(cx, k, &si), 0);
            sum += si.unrouted;
            if (k >= 4) /* Sentinel, and extra (in no route) */
                assert_int_equal(si.unrouted, 0);
        }
        assert_int_equal(sum, (uint64_t)tl.blocked);
        nx_cortex_destroy(cx);
    }
    free(t);
}

static void test_below_threshold_the_rules_decide(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    char dir[128];
    snprintf(dir, sizeof dir, "%s/scrambled", DIR_);
    train(dir, scrambled, 7);
    nx_cortex_t *cx = routed_cortex(t, dir);
    tally_t tl = {0};
    run(cx, 0, NCANDLES, -1, &tl);
    assert_int_equal(tl.by_model, 0);
    assert_int_equal(tl.by_rules, NCANDLES);
    assert_true(tl.blocked > 0);
    nx_regime_read_t g;
    assert_int_equal(nx_cortex_regime_read(cx, 0, &g), 0);
    assert_true(g.has_probs); /* it did predict: the rules decided because it was unsure */
    nx_cortex_destroy(cx);

    /* no model at all: the same decisions, by the rules */
    cx = routed_cortex(t, NULL);
    tally_t t2 = {0};
    run(cx, 0, NCANDLES, -1, &t2);
    assert_int_equal(t2.by_model, 0);
    assert_int_equal(t2.blocked, tl.blocked);
    nx_cortex_destroy(cx);
    free(t);
}

static void wait_reloads(nx_cortex_t *cx, uint64_t ok, uint64_t refused)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        nx_cortex_poll(cx);
        nx_cortex_stats_t cs;
        nx_cortex_stats(cx, &cs);
        if (cs.model_reloads == ok && cs.model_reload_failures == refused)
            return;
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 20)
            fail_msg("reloads %llu (refused %llu), want %llu (%llu) after 20 s",
                     (unsigned long long)cs.model_reloads,
                     (unsigned long long)cs.model_reload_failures, (unsigned long long)ok,
                     (unsigned long long)refused);
        sched_yield(); /* this loop is the engine thread: it polls between events */
    }
}

static void copy(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp %s/model.json %s/meta.json %s/", from, from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_reload_swaps_the_model(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    char live[128], a[128], b[128];
    snprintf(live, sizeof live, "%s/live", DIR_);
    snprintf(a, sizeof a, "%s/const%d", DIR_, NX_RC_TREND);
    snprintf(b, sizeof b, "%s/const%d", DIR_, NX_RC_GRID);
    train(a, constant, NX_RC_TREND);
    train(b, constant, NX_RC_GRID);
    train(live, constant, NX_RC_TREND);
    nx_cortex_t *cx = routed_cortex(t, live);
    tally_t tl = {0};
    run(cx, 0, 1000, NX_RC_TREND, &tl);
    copy(b, live); /* a new model in place */
    assert_int_equal(nx_cortex_reload_model(cx), 0);
    wait_reloads(cx, 1, 0);
    run(cx, 1000, 2000, NX_RC_GRID, &tl);
    /* a model that does not load: refused, the running one stays */
    char path[160];
    snprintf(path, sizeof path, "%s/model.json", live);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"learner\": tru", f);
    fclose(f);
    assert_int_equal(nx_cortex_reload_model(cx), 0);
    wait_reloads(cx, 1, 1);
    char err[320];
    nx_cortex_model_error(cx, err, sizeof err);
    assert_non_null(strstr(err, path));
    run(cx, 2000, NCANDLES, NX_RC_GRID, &tl);
    nx_cortex_destroy(cx);
    free(t);
}

/* Strategies on 1h candles, whose close comes with a 15m close: routed by
 * the regime read on that 15m candle, not the one before (the cortex closes
 * the regime's timeframe first, though 1h is listed first). The rules
 * change the regime often enough to tell. */
static void test_coarser_strategies_routed_by_this_candle(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    coarse = 1;
    nx_cortex_t *cx = routed_cortex(t, NULL);
    tally_t tl = {0};
    run(cx, 0, NCANDLES, -1, &tl);
    coarse = 0;
    assert_true(tl.coarse_closes > NCANDLES / 4 * NSTRAT - NSTRAT * 2);
    assert_true(tl.blocked > 0);
    nx_cortex_destroy(cx);
    free(t);
}

/* Sentinel's signals are protective: never filtered, even when the config
 * lists no "always" strategy. */
static void test_sentinel_never_filtered(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    no_always = 1;
    nx_cortex_t *cx = routed_cortex(t, NULL);
    tally_t tl = {0};
    run(cx, 0, NCANDLES, -1, &tl); /* instance 4's entries must pass every candle */
    no_always = 0;
    assert_true(tl.blocked > 0);
    nx_strategy_info_t si;
    assert_int_equal(nx_cortex_strategy_info(cx, 4, &si), 0);
    assert_string_equal(si.plugin, "sentinel");
    assert_int_equal(si.unrouted, 0);
    nx_cortex_destroy(cx);
    free(t);
}

/* on_error "rules": a model that does not load at start leaves the rules
 * deciding, says why, and a reload once the file is mended brings it in. */
static void test_bad_model_at_start_then_reloaded(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    char dir[128], good[128], why[600];
    snprintf(dir, sizeof dir, "%s/mended", DIR_);
    snprintf(good, sizeof good, "%s/good", DIR_);
    train(good, constant, NX_RC_GRID);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && cp %s/meta.json %s/ && echo broken > %s/model.json",
             dir, good, dir, dir);
    assert_int_equal(system(cmd), 0);
    nx_cortex_t *cx = routed_cortex_ex(t, dir, 1, why, sizeof why);
    assert_non_null(strstr(why, dir));
    nx_regime_read_t g;
    assert_int_equal(nx_cortex_regime_read(cx, 0, &g), 0);
    assert_false(g.has_model);
    assert_string_equal(g.model, dir); /* kept for a reload */
    char err[320];
    nx_cortex_model_error(cx, err, sizeof err);
    assert_non_null(strstr(err, dir));
    tally_t tl = {0};
    run(cx, 0, 1000, -1, &tl);
    assert_int_equal(tl.by_model, 0);
    copy(good, dir);
    assert_int_equal(nx_cortex_reload_model(cx), 0);
    wait_reloads(cx, 1, 0);
    run(cx, 1000, 2000, NX_RC_GRID, &tl);
    assert_true(tl.by_model > 900);
    nx_cortex_model_error(cx, err, sizeof err);
    assert_string_equal(err, "");
    nx_cortex_destroy(cx);
    free(t);
}

static void test_bad_config_refused(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    static uint32_t tfs[] = {3600};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tfs;
    o.ntf = 1;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    nx_cortex_regime_conf_t rc = {0};
    rc.tf_s = 900; /* not built */
    rc.threshold = 0.7;
    char err[512];
    assert_int_equal(nx_cortex_set_regime(cx, &rc, err, sizeof err), NX_EINVAL);
    assert_non_null(strstr(err, "timeframe"));
    rc.tf_s = 3600;
    rc.model = "/nonexistent/model";
    assert_int_not_equal(nx_cortex_set_regime(cx, &rc, err, sizeof err), 0);
    assert_non_null(strstr(err, "/nonexistent/model: no such file or folder"));
    nx_cortex_destroy(cx);
    free(t);
}

static int setup(void **state)
{
    (void)state;
    fx_load_candles();
    snprintf(DIR_, sizeof DIR_, "/tmp/nx-route-XXXXXX");
    return mkdtemp(DIR_) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_class_routes_its_strategy),
        cmocka_unit_test(test_below_threshold_the_rules_decide),
        cmocka_unit_test(test_reload_swaps_the_model),
        cmocka_unit_test(test_coarser_strategies_routed_by_this_candle),
        cmocka_unit_test(test_bad_model_at_start_then_reloaded),
        cmocka_unit_test(test_sentinel_never_filtered),
        cmocka_unit_test(test_bad_config_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
