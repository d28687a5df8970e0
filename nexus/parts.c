/*
 * parts.c — the trading parts of the engine made from a config (parts.h).
 */
#include "parts.h"

#include "nx/error.h"
#include "nx/log.h"
#include "nx/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the built-in plugins live when the config does not say: next to
 * the binary (build/bin/../plugins, or an install's ../lib/nexus/plugins). */
static void plugin_dir(const nx_config_t *cfg, char *out, size_t cap)
{
    if (cfg->cortex.plugin_dir[0]) {
        snprintf(out, cap, "%s", cfg->cortex.plugin_dir);
        return;
    }
    char exe[200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "plugins");
        return;
    }
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(out, cap, "%s/../plugins", exe);
    if (access(out, F_OK) != 0)
        snprintf(out, cap, "%s/../lib/nexus/plugins", exe);
}

/* Routing by regime (cortex.regime): the model loaded and checked, the
 * routes resolved. A model that does not load stops the start, or with
 * on_error "rules" is logged and the rule-based read decides alone. */
static int regime_init(const nx_config_t *c, nx_cortex_t *cx)
{
    if (!c->cortex.regime.on)
        return 0;
    nx_cortex_regime_conf_t rc = {0};
    rc.model = c->cortex.regime.model;
    rc.tf_s = c->cortex.regime.tf_s;
    rc.threshold = c->cortex.regime.threshold_pct / 100.0;
    for (int k = 0; k < 4; k++) {
        rc.routes[k] = c->cortex.regime.routes[k];
        rc.n_routes[k] = c->cortex.regime.n_routes[k];
    }
    rc.always = c->cortex.regime.always;
    rc.n_always = c->cortex.regime.n_always;
    rc.rules_on_error = c->cortex.regime.rules_on_error;
    char err[600];
    int r = nx_cortex_set_regime(cx, &rc, err, sizeof err);
    if (r)
        NX_ERROR("regime", "cannot route strategies by regime: %s", err);
    else if (err[0])
        NX_ERROR("regime",
                 "the regime model is not used (%s): the rule-based read decides; /models reload "
                 "tries it again",
                 err);
    return r;
}

/* Create the cortex and load every configured strategy, Sentinel always.
 * A plugin that is refused is logged with its file and reason; the engine
 * runs on the others. Only a failure to create the cortex is fatal. */
int nx_parts_cortex(const nx_config_t *c, const nx_symtab_t *symtab, nx_signal_cb on_signal,
                    nx_signal_cb on_candle, void *ctx, int market_read, nx_cortex_t **out)
{
    *out = NULL;
    const char *keys[NX_CONFIG_MAX_KEYS];
    for (uint32_t i = 0; i < c->cortex.n_keys; i++)
        keys[i] = c->cortex.trusted_keys[i];
    nx_cortex_opts_t o = {0};
    o.symtab = symtab;
    /* the regime's timeframe is built whatever cortex.timeframes says (the
     * cortex closes it first: nx_cortex_set_regime) */
    uint32_t tfs[10], ntf = c->cortex.ntf, has = !c->cortex.regime.on;
    for (uint32_t i = 0; i < ntf; i++) {
        tfs[i] = c->cortex.tf_s[i];
        has |= tfs[i] == c->cortex.regime.tf_s;
    }
    if (!has)
        tfs[ntf++] = c->cortex.regime.tf_s;
    o.tf_s = tfs;
    o.ntf = ntf;
    o.candles_from_trades = c->cortex.candles_from_trades;
    o.allow_unsigned = c->cortex.allow_unsigned;
    o.trusted_keys = keys;
    o.n_trusted = c->cortex.n_keys;
    o.watch = c->cortex.watch;
    o.on_signal = on_signal;
    o.on_candle = on_candle;
    o.ctx = ctx;
    o.market_read = market_read; /* what /regime shows */
    nx_cortex_t *cx;
    int rc = nx_cortex_create(&cx, &o);
    if (rc)
        return rc;
    if (c->cortex.allow_unsigned)
        NX_WARN("cortex", "cortex.allow_unsigned is on: plugins load without a signature check "
                          "(development only)");
    char dir[NX_PATH_MAX], path[NX_PATH_MAX + 64], err[512];
    plugin_dir(c, dir, sizeof dir);
    int have_sentinel = 0;
    for (uint32_t i = 0; i <= c->cortex.n_strategies; i++) {
        nx_config_strategy_t sentinel;
        const nx_config_strategy_t *s = &c->cortex.strategies[i];
        if (i == c->cortex.n_strategies) {
            if (have_sentinel)
                break;
            memset(&sentinel, 0, sizeof sentinel); /* always on, with its defaults */
            snprintf(sentinel.plugin, sizeof sentinel.plugin, "sentinel");
            snprintf(sentinel.name, sizeof sentinel.name, "sentinel");
            snprintf(sentinel.params, sizeof sentinel.params, "{}");
            s = &sentinel;
        }
        have_sentinel |= !strcmp(s->plugin, "sentinel");
        if (s->path[0])
            snprintf(path, sizeof path, "%s", s->path);
        else
            snprintf(path, sizeof path, "%s/%s.so", dir, s->plugin);
        nx_strategy_conf_t sc = {0};
        sc.name = s->name;
        sc.path = path;
        sc.params_json = s->params;
        sc.symbols = s->symbols;
        sc.nsym = s->n_symbols;
        sc.tf_s = s->tf_s;
        sc.ntf = s->ntf;
        if (nx_cortex_add_strategy(cx, &sc, err, sizeof err) < 0)
            NX_ERROR("cortex", "strategy %s not loaded: %s", s->name, err);
    }
    if ((rc = regime_init(c, cx))) {
        nx_cortex_destroy(cx);
        return rc;
    }
    *out = cx;
    return 0;
}


uint64_t nx_parts_follow_mask(nx_cortex_t *cx, const nx_config_session_t *x)
{
    if (!x->n_strategies || !cx)
        return 0;
    uint64_t m = 1ULL << 63; /* no strategy uses it: "only these", even if none loaded */
    nx_strategy_info_t si;
    for (int i = 0; i < 63 && nx_cortex_strategy_info(cx, i, &si) == 0; i++) {
        int take = !strcmp(si.plugin, "sentinel"); /* protective exits always apply */
        for (uint32_t k = 0; k < x->n_strategies && !take; k++)
            take = !strcmp(si.name, x->strategies[k]);
        if (take)
            m |= 1ULL << i;
    }
    return m;
}

void nx_parts_guard_opts(const nx_config_t *c, nx_tickguard_opts_t *o)
{
    nx_tickguard_opts_default(o);
    o->band_bp = c->market.band_bp;
    o->window = c->market.band_window;
    o->confirm = c->market.confirm;
    o->backwards_ms = c->market.backwards_ms;
}

nx_desk_market_day_t *nx_parts_market_days(const nx_config_t *c, uint32_t *n)
{
    *n = 0;
    int stocks = 0;
    for (uint32_t i = 0; i < c->n_symbols; i++)
        stocks |= c->symbols[i].venue == NX_VENUE_ALPACA;
    if (!stocks)
        return NULL;
    enum { DAYS = 7671 };                    /* 2015-01-01 .. 2035-12-31 */
    const int64_t from_ms = 1420113600000LL; /* 2015-01-01T12:00Z */
    nx_nyse_day_t *ny = malloc(DAYS * sizeof *ny);
    nx_desk_market_day_t *out = malloc(DAYS * sizeof *out);
    if (!ny || !out || nx_nyse_days(from_ms, DAYS, ny)) {
        NX_ERROR("engine", "cannot build the US market calendar (is tzdata installed?): US-stock "
                           "entries are refused as if the market were closed");
        free(ny);
        free(out);
        return NULL;
    }
    for (uint32_t i = 0; i < DAYS; i++)
        out[i] = (nx_desk_market_day_t){ny[i].start_ms, ny[i].end_ms, ny[i].open_ms,
                                        ny[i].close_ms, ny[i].index,  (uint8_t)ny[i].trading};
    free(ny);
    *n = DAYS;
    return out;
}
