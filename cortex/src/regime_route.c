/*
 * regime_route.c — routing strategies by market regime (see cortex.h,
 * nx_cortex_set_regime): the regime read once per closed candle of its
 * timeframe per symbol, entry signals let through by it, the model loaded
 * again on the watcher thread and swapped in between two events.
 */
#include "cortex_int.h"

#include "nx/error.h"
#include "nx/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The rule-based read's regime as a route: trend up or down -> trend,
 * volatile -> scalping, range -> grid, mixed -> mean_reversion, unknown ->
 * none (nothing filtered while warming up). */
static int rule_class(int rule)
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

/* Strategies (bit = id) a list names, by instance name or plugin. */
static uint64_t named(const struct nx_cortex *cx, const char (*names)[32], uint32_t n)
{
    uint64_t m = 0;
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t i = 0; i < cx->n_st && i < 64; i++)
            if (!strcmp(cx->st[i]->name, names[k]) || !strcmp(cx->st[i]->plugin, names[k]))
                m |= 1ULL << i;
    return m;
}

int nx_cortex_set_regime(nx_cortex_t *cx, const nx_cortex_regime_conf_t *c, char *err,
                         size_t cap)
{
    nx_route_t *r = &cx->route;
    if (cx->started)
        return NX_ESTATE;
    int ti = -1;
    for (uint32_t i = 0; i < cx->ntf; i++)
        if (cx->tf_s[i] == c->tf_s)
            ti = (int)i;
    if (ti < 0) {
        snprintf(err, cap, "the regime's timeframe (%us) is not one the cortex builds", c->tf_s);
        return NX_EINVAL;
    }
    /* its candles close first when several close together (they close in
     * this list's order): strategies on coarser candles closing at the
     * same moment are routed by the regime of that moment */
    for (int i = ti; i > 0; i--)
        cx->tf_s[i] = cx->tf_s[i - 1];
    cx->tf_s[0] = c->tf_s;
    nx_regime_model_free(r->model);
    r->model = NULL;
    r->model_path[0] = 0;
    if (err && cap)
        err[0] = 0;
    if (!r->on)
        pthread_mutex_init(&r->err_mu, NULL);
    r->last_error[0] = 0;
    if (c->model && *c->model) {
        int rc = nx_regime_model_load(&r->model, c->model, 1, err, cap);
        if (rc && !c->rules_on_error)
            return rc;
        if (rc) /* the rules decide; a reload may bring the model */
            snprintf(r->last_error, sizeof r->last_error, "%s", err);
        snprintf(r->model_path, sizeof r->model_path, "%s", c->model);
    }
    r->tf_s = c->tf_s;
    r->threshold = c->threshold;
    uint64_t listed = 0;
    for (int k = 0; k < NX_RC_COUNT; k++) {
        r->active[k] = named(cx, c->routes[k], c->n_routes[k]);
        listed |= r->active[k];
    }
    uint64_t all = cx->n_st >= 64 ? ~0ULL : (1ULL << cx->n_st) - 1;
    r->free = named(cx, c->always, c->n_always) | (all & ~listed) |
              nx_cortex_strategies_of(cx, "sentinel"); /* protective: never filtered */
    for (uint32_t i = 0; i < cx->n_st && i < 64; i++)
        if (!(listed & (1ULL << i)) && !(named(cx, c->always, c->n_always) & (1ULL << i)))
            NX_INFO("regime", "strategy %s is in no regime route: its entries are not filtered",
                    cx->st[i]->name);
    r->on = 1;
    NX_INFO("regime", "routing by regime on %us candles: %s, threshold %.2f", r->tf_s,
            r->model ? r->model_path : "no model (the rule-based read decides)", r->threshold);
    return 0;
}

int nx_route_start(struct nx_cortex *cx)
{
    nx_route_t *r = &cx->route;
    if (!r->on)
        return 0;
    r->sym = calloc(cx->nsym, sizeof *r->sym);
    if (!r->sym)
        return NX_ENOMEM;
    for (uint32_t s = 0; s < cx->nsym; s++) {
        nx_regime_feat_init(&r->sym[s].feat);
        r->sym[s].cls = -1;
        r->sym[s].by_rules = 1;
    }
    return 0;
}

void nx_route_on_candle(struct nx_cortex *cx, uint32_t sym, const nexus_bar_t *b)
{
    nx_route_t *r = &cx->route;
    if (!r->on || b->tf_s != r->tf_s)
        return;
    nx_sym_regime_t *x = &r->sym[sym];
    int full = nx_regime_feat_update(&x->feat, b->open_ms, b->open, b->high, b->low, b->close,
                                     b->volume);
    x->open_ms = b->open_ms;
    x->decided++;
    x->has_probs = 0;
    if (full && r->model && nx_regime_model_predict(r->model, x->feat.f, x->probs) == 0) {
        x->has_probs = 1;
        int best = 0;
        for (int c = 1; c < NX_RC_COUNT; c++)
            if (x->probs[c] > x->probs[best])
                best = c;
        if (x->probs[best] >= r->threshold) {
            x->cls = best;
            x->by_rules = 0;
            atomic_fetch_add_explicit(&r->by_model, 1, memory_order_relaxed);
            return;
        }
    }
    x->cls = rule_class(x->feat.rule);
    x->by_rules = 1;
    if (x->cls >= 0) /* a regime the rules gave, not "none yet" */
        atomic_fetch_add_explicit(&r->by_rules, 1, memory_order_relaxed);
}

int nx_route_blocks(struct nx_cortex *cx, nx_strategy_t *st, uint32_t sym, int side)
{
    nx_route_t *r = &cx->route;
    if (!r->on || (side != NEXUS_BUY && side != NEXUS_SELL) || st->id >= 64)
        return 0; /* exits always reach the sessions */
    uint64_t bit = 1ULL << st->id;
    int cls = r->sym[sym].cls;
    if (cls < 0 || (r->free & bit) || (r->active[cls] & bit))
        return 0;
    atomic_fetch_add_explicit(&st->unrouted, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&r->unrouted, 1, memory_order_relaxed);
    return 1;
}

int nx_cortex_regime_read(nx_cortex_t *cx, uint32_t symbol, nx_regime_read_t *out)
{
    nx_route_t *r = &cx->route;
    memset(out, 0, sizeof *out);
    out->cls = -1;
    out->rule = NX_REGIME_UNKNOWN;
    if (!r->on)
        return 0;
    if (!cx->started)
        return NX_ESTATE;
    if (symbol >= cx->nsym)
        return NX_ENOENT;
    const nx_sym_regime_t *x = &r->sym[symbol];
    out->on = 1;
    out->has_model = r->model != NULL;
    snprintf(out->model, sizeof out->model, "%s",
             r->model ? nx_regime_model_path(r->model) : r->model_path);
    out->tf_s = r->tf_s;
    out->threshold = r->threshold;
    out->decided = x->decided;
    out->open_ms = x->open_ms;
    out->cls = x->cls;
    out->by_rules = x->by_rules;
    out->has_probs = x->has_probs;
    memcpy(out->probs, x->probs, sizeof out->probs);
    out->rule = x->feat.rule;
    uint64_t all = cx->n_st >= 64 ? ~0ULL : (1ULL << cx->n_st) - 1;
    out->active = x->cls < 0 ? all : (r->active[x->cls] | r->free) & all;
    return 0;
}

int nx_cortex_reload_model(nx_cortex_t *cx)
{
    nx_route_t *r = &cx->route;
    if (!r->on || !r->model_path[0])
        return NX_ENOENT;
    atomic_store_explicit(&r->reload_req, 1, memory_order_release);
    if (cx->ev_fd >= 0) {
        uint64_t one = 1;
        ssize_t w = write(cx->ev_fd, &one, sizeof one);
        (void)w;
    }
    return 0;
}

void nx_cortex_model_error(nx_cortex_t *cx, char *out, size_t cap)
{
    nx_route_t *r = &cx->route;
    if (!r->on) {
        snprintf(out, cap, "%s", "");
        return;
    }
    pthread_mutex_lock(&r->err_mu);
    snprintf(out, cap, "%s", r->last_error);
    pthread_mutex_unlock(&r->err_mu);
}

/* Watcher thread: free what the engine retired; load a model asked for
 * (one in flight at a time). */
void nx_route_watch(struct nx_cortex *cx)
{
    nx_route_t *r = &cx->route;
    if (!r->on)
        return;
    nx_regime_model_t *old = atomic_exchange_explicit(&r->retired, NULL, memory_order_acquire);
    nx_regime_model_free(old);
    if (atomic_load_explicit(&r->pending, memory_order_acquire) ||
        !atomic_exchange_explicit(&r->reload_req, 0, memory_order_acq_rel))
        return;
    char err[320];
    nx_regime_model_t *m = NULL;
    int rc = nx_regime_model_load(&m, r->model_path, 1, err, sizeof err);
    pthread_mutex_lock(&r->err_mu);
    snprintf(r->last_error, sizeof r->last_error, "%s", rc ? err : "");
    pthread_mutex_unlock(&r->err_mu);
    if (rc) {
        NX_ERROR("regime", "model reload refused, the running model stays: %s", err);
        atomic_fetch_add_explicit(&r->reload_failures, 1, memory_order_relaxed);
        return;
    }
    atomic_store_explicit(&r->pending, m, memory_order_release);
}

/* Engine thread, between two events: a model the watcher loaded replaces
 * the running one, which goes back to the watcher to be freed. */
int nx_route_poll(struct nx_cortex *cx)
{
    nx_route_t *r = &cx->route;
    nx_regime_model_t *m = atomic_load_explicit(&r->pending, memory_order_acquire);
    if (NX_LIKELY(!m) || atomic_load_explicit(&r->retired, memory_order_acquire))
        return 0;
    nx_regime_model_t *old = r->model;
    r->model = m;
    atomic_store_explicit(&r->pending, NULL, memory_order_relaxed);
    if (old)
        atomic_store_explicit(&r->retired, old, memory_order_release);
    atomic_fetch_add_explicit(&r->reloads, 1, memory_order_relaxed);
    NX_INFO("regime", "model reloaded from %s", r->model_path);
    return 1;
}

void nx_route_free(struct nx_cortex *cx)
{
    nx_route_t *r = &cx->route;
    nx_regime_model_free(r->model);
    nx_regime_model_free(atomic_load(&r->pending));
    nx_regime_model_free(atomic_load(&r->retired));
    r->model = NULL;
    free(r->sym);
    r->sym = NULL;
    if (r->on)
        pthread_mutex_destroy(&r->err_mu);
}
