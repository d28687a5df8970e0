/*
 * cortex.c — market events to strategy signals, on the engine thread.
 *
 * Path of one event: a trade (or a closed kline) is folded into the
 * symbol's candles (candles.c, O(timeframes)); when a candle closes, the
 * (symbol, timeframe) series pushes it into its history ring, updates each
 * indicator on it once (indicators.c, O(1) each: shared by every strategy
 * that asked for the same kind and parameters), then calls every strategy
 * subscribed to the series with a view whose indicator slots are gathered
 * from those shared outputs. A workload of a few symbols x 3 timeframes x
 * 5 strategies closes a handful of candles per minute, so the cost that
 * matters is the per-trade candle update (~13 ns, bench_cortex) and the
 * worst case, a close on every timeframe at once.
 *
 * Everything is reserved at start (series, history rings, indicator
 * state, slot tables); the steady state allocates nothing, takes no lock
 * and makes no system call (test_cortex_alloc counts). The one exception is
 * a hot swap that asks for an indicator no series had: it is created then,
 * between two events, and warmed up from the history ring.
 */
#include "cortex_int.h"

#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int nx_ind_outputs(int kind)
{
    switch (kind) {
    case NEXUS_IND_SMA:
    case NEXUS_IND_EMA:
    case NEXUS_IND_RSI:
    case NEXUS_IND_OBV:
    case NEXUS_IND_VOLUME_SMA:
        return 1;
    case NEXUS_IND_ATR:
    case NEXUS_IND_STOCH:
    case NEXUS_IND_HIGHEST:
    case NEXUS_IND_LOWEST:
        return 2;
    case NEXUS_IND_ADX:
    case NEXUS_IND_BBANDS:
    case NEXUS_IND_MACD:
        return 3;
    default:
        return 0;
    }
}

/* ---- indicator registry ---------------------------------------------- */

static int ind_init(nx_ind_entry_t *e)
{
    uint32_t a = (uint32_t)e->p[0], b = (uint32_t)e->p[1], c = (uint32_t)e->p[2];
    for (uint32_t i = 0; i < 3; i++)
        e->out[i] = NAN;
    switch (e->kind) {
    case NEXUS_IND_SMA:
    case NEXUS_IND_VOLUME_SMA:
        return nx_sma_init(&e->s.sma, a);
    case NEXUS_IND_EMA:
        return nx_ema_init(&e->s.ema, a);
    case NEXUS_IND_RSI:
        return nx_rsi_init(&e->s.rsi, a);
    case NEXUS_IND_ATR:
        return nx_atr_init(&e->s.atr, a);
    case NEXUS_IND_ADX:
        return nx_adx_init(&e->s.adx, a);
    case NEXUS_IND_BBANDS:
        if (!(e->p[1] > 0 && e->p[1] <= 10))
            return NX_EINVAL;
        return nx_bbands_init(&e->s.bb, a, e->p[1]);
    case NEXUS_IND_MACD:
        return nx_macd_init(&e->s.macd, a, b, c);
    case NEXUS_IND_STOCH:
        return nx_stoch_init(&e->s.st, a, b, c);
    case NEXUS_IND_OBV:
        nx_obv_init(&e->s.obv);
        return 0;
    case NEXUS_IND_HIGHEST:
        return nx_rolling_init(&e->s.roll, a, 1);
    case NEXUS_IND_LOWEST:
        return nx_rolling_init(&e->s.roll, a, 0);
    default:
        return NX_EINVAL;
    }
}

static void ind_update(nx_ind_entry_t *e, const nexus_bar_t *b)
{
    double *o = e->out;
    double x;
    switch (e->kind) {
    case NEXUS_IND_SMA:
        o[0] = nx_sma_update(&e->s.sma, b->close) ? e->s.sma.value : NAN;
        break;
    case NEXUS_IND_VOLUME_SMA:
        o[0] = nx_sma_update(&e->s.sma, b->volume) ? e->s.sma.value : NAN;
        break;
    case NEXUS_IND_EMA:
        o[0] = nx_ema_update(&e->s.ema, b->close) ? e->s.ema.value : NAN;
        break;
    case NEXUS_IND_RSI:
        o[0] = nx_rsi_update(&e->s.rsi, b->close) ? e->s.rsi.value : NAN;
        break;
    case NEXUS_IND_ATR:
        if (nx_atr_update(&e->s.atr, b->high, b->low, b->close)) {
            o[0] = e->s.atr.value;
            o[1] = e->s.atr.natr;
        } else {
            o[0] = o[1] = NAN;
        }
        break;
    case NEXUS_IND_ADX: {
        int di = nx_adx_update(&e->s.adx, b->high, b->low, b->close);
        o[0] = e->s.adx.adx_valid ? e->s.adx.adx : NAN;
        o[1] = di ? e->s.adx.plus_di : NAN;
        o[2] = di ? e->s.adx.minus_di : NAN;
        break;
    }
    case NEXUS_IND_BBANDS:
        if (nx_bbands_update(&e->s.bb, b->close)) {
            o[0] = e->s.bb.upper;
            o[1] = e->s.bb.middle;
            o[2] = e->s.bb.lower;
        } else {
            o[0] = o[1] = o[2] = NAN;
        }
        break;
    case NEXUS_IND_MACD:
        if (nx_macd_update(&e->s.macd, b->close)) {
            o[0] = e->s.macd.macd;
            o[1] = e->s.macd.signal;
            o[2] = e->s.macd.hist;
        } else {
            o[0] = o[1] = o[2] = NAN;
        }
        break;
    case NEXUS_IND_STOCH:
        if (nx_stoch_update(&e->s.st, b->high, b->low, b->close)) {
            o[0] = e->s.st.k;
            o[1] = e->s.st.d;
        } else {
            o[0] = o[1] = NAN;
        }
        break;
    case NEXUS_IND_OBV:
        nx_obv_update(&e->s.obv, b->close, b->volume);
        o[0] = e->s.obv.value;
        break;
    case NEXUS_IND_HIGHEST:
    case NEXUS_IND_LOWEST:
        if (nx_rolling_update(&e->s.roll, e->kind == NEXUS_IND_HIGHEST ? b->high : b->low, &x) &&
            b->close != 0) {
            o[0] = x;
            o[1] = (b->close - x) / b->close;
        } else {
            o[0] = o[1] = NAN;
        }
        break;
    }
}

/* Find or create (warming it from history) an indicator on a series.
 * Start-up or swap time only: may allocate. */
static nx_ind_entry_t *registry_get(nx_cseries_t *cs, int kind, const double p[3])
{
    for (uint32_t i = 0; i < cs->n_ind; i++) {
        nx_ind_entry_t *e = cs->ind[i];
        if (e->kind == kind && e->p[0] == p[0] && e->p[1] == p[1] && e->p[2] == p[2])
            return e;
    }
    if (cs->n_ind == cs->cap_ind) {
        uint32_t cap = cs->cap_ind ? cs->cap_ind * 2 : 8;
        nx_ind_entry_t **n = realloc(cs->ind, cap * sizeof *n);
        if (!n)
            return NULL;
        cs->ind = n;
        cs->cap_ind = cap;
    }
    nx_ind_entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->kind = kind;
    memcpy(e->p, p, sizeof e->p);
    e->nout = (uint32_t)nx_ind_outputs(kind);
    if (ind_init(e)) {
        free(e);
        return NULL;
    }
    /* warm up from the candles this series has already closed */
    uint32_t start = (cs->hist_head + NX_HIST - cs->hist_n) % NX_HIST;
    for (uint32_t i = 0; i < cs->hist_n; i++)
        ind_update(e, &cs->hist[(start + i) % NX_HIST]);
    cs->ind[cs->n_ind++] = e;
    return e;
}

/* Resolve a version's indicator requests on every series it serves.
 * Start-up or swap time (engine thread). 0 or NX_ENOMEM/NX_EINVAL. */
int nx_pver_activate(nx_pver_t *v)
{
    nx_strategy_t *st = v->st;
    if (v->src)
        return 0;
    size_t n = (size_t)st->n_series * (v->n_slots ? v->n_slots : 1);
    const double **src = calloc(n, sizeof *src);
    if (!src)
        return NX_ENOMEM;
    for (uint32_t s = 0; s < st->n_series; s++) {
        for (uint32_t r = 0; r < v->n_req; r++) {
            nx_ind_entry_t *e = registry_get(st->series[s], v->req[r].kind, v->req[r].p);
            if (!e) {
                free(src);
                return NX_EINVAL;
            }
            for (uint32_t o = 0; o < v->req[r].nout; o++)
                src[(size_t)s * v->n_slots + v->req[r].slot + o] = &e->out[o];
        }
    }
    v->src = src;
    return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

static int tf_index(const struct nx_cortex *cx, uint32_t tf_s)
{
    for (uint32_t i = 0; i < cx->ntf; i++)
        if (cx->tf_s[i] == tf_s)
            return (int)i;
    return -1;
}

static void on_close(void *ctx, uint32_t sym, const nx_candle_t *c)
{
    struct nx_cortex *cx = ctx;
    int ti = tf_index(cx, c->tf_s);
    if (ti < 0 || sym >= cx->nsym)
        return;
    nx_cseries_t *cs = &cx->series[(size_t)sym * cx->ntf + (uint32_t)ti];
    nexus_bar_t *b = &cs->hist[cs->hist_head];
    b->open_ms = c->open_ms;
    b->open = (double)c->open * cs->px_scale;
    b->high = (double)c->high * cs->px_scale;
    b->low = (double)c->low * cs->px_scale;
    b->close = (double)c->close * cs->px_scale;
    b->volume = (double)c->volume * cs->qty_scale;
    b->flags = (c->flags & NX_CANDLE_GAP) ? NEXUS_BAR_GAP : 0;
    b->tf_s = c->tf_s;
    cs->hist_head = (cs->hist_head + 1) % NX_HIST;
    if (cs->hist_n < NX_HIST)
        cs->hist_n++;
    cs->closed++;
    cx->last_px[sym] = c->close;
    for (uint32_t i = 0; i < cs->n_ind; i++)
        ind_update(cs->ind[i], b);
    nx_route_on_candle(cx, sym, b); /* the regime first: it routes this candle's signals */

    nexus_view_t view;
    view.abi_version = NEXUS_PLUGIN_ABI_VERSION;
    view.struct_size = sizeof view;
    view.symbol = sym;
    view.closed = cs->closed;
    view.symbol_name = nx_symtab_get(cx->o.symtab, sym)->name;
    view.bar = *b;
    view.pad_ = 0;
    int64_t exch_ns = (c->open_ms + (int64_t)c->tf_s * 1000) * 1000000;
    if (cx->o.on_candle) {
        nx_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.hdr.type = NX_EV_KLINE;
        ev.hdr.venue = nx_symtab_get(cx->o.symtab, sym)->venue;
        ev.hdr.symbol = sym;
        ev.hdr.exch_ns = exch_ns;
        ev.u.kline.open_ms = c->open_ms;
        ev.u.kline.open = c->open;
        ev.u.kline.high = c->high;
        ev.u.kline.low = c->low;
        ev.u.kline.close = c->close;
        ev.u.kline.volume = c->volume;
        ev.u.kline.interval_s = c->tf_s;
        ev.u.kline.trades = c->trades;
        ev.u.kline.closed = 1;
        cx->o.on_candle(cx->o.ctx, &ev);
    }
    for (uint32_t i = 0; i < cs->n_subs; i++) {
        nx_strategy_t *st = cs->subs[i].st;
        nx_pver_t *v = st->cur;
        if (!v)
            continue;
        uint32_t s = cs->subs[i].series;
        const double **src = v->src + (size_t)s * v->n_slots;
        for (uint32_t k = 0; k < v->n_slots; k++)
            v->vals[k] = src[k] ? *src[k] : NAN;
        view.series = s;
        view.ind = v->vals;
        view.n_ind = v->n_slots;
        st->ctx_series = cs;
        st->ctx_exch_ns = exch_ns;
        v->desc->on_candle(v->state, &view);
        atomic_store_explicit(&st->calls,
                              atomic_load_explicit(&st->calls, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        st->ctx_series = NULL;
    }
}

static void on_tick(struct nx_cortex *cx, const nx_event_t *ev)
{
    uint32_t sym = ev->hdr.symbol;
    nexus_tick_t t;
    t.abi_version = NEXUS_PLUGIN_ABI_VERSION;
    t.struct_size = sizeof t;
    t.symbol = sym;
    t.seq = ev->hdr.seq;
    t.ts_ms = ev->hdr.exch_ns / 1000000;
    t.price = (double)ev->u.trade.price * cx->series[(size_t)sym * cx->ntf].px_scale;
    t.qty = (double)ev->u.trade.qty * cx->series[(size_t)sym * cx->ntf].qty_scale;
    t.side = ev->u.trade.aggressor;
    t.pad_ = 0;
    for (uint32_t i = 0; i < cx->n_tick_subs[sym]; i++) {
        nx_strategy_t *st = cx->tick_subs[sym][i].st;
        nx_pver_t *v = st->cur;
        if (!v || !v->desc->on_tick)
            continue;
        t.series = cx->tick_subs[sym][i].series;
        st->ctx_series = NULL;
        st->ctx_exch_ns = ev->hdr.exch_ns;
        v->desc->on_tick(v->state, &t);
        atomic_store_explicit(&st->ticks,
                              atomic_load_explicit(&st->ticks, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    }
}

void nx_cortex_on_event(nx_cortex_t *cx, const nx_event_t *ev)
{
    atomic_store_explicit(&cx->events, atomic_load_explicit(&cx->events, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    if (ev->hdr.type == NX_EV_CONTROL && ev->u.control.cmd == NX_CTL_RELOAD) {
        /* "reload" names a strategy, or all of them */
        nx_cortex_reload(cx, ev->u.control.text[0] ? ev->u.control.text : "*");
        return;
    }
    uint32_t sym = ev->hdr.symbol;
    if (sym >= cx->nsym)
        return;
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
        cx->last_px[sym] = ev->u.trade.price;
        if (cx->o.candles_from_trades)
            nx_candles_on_trade(&cx->candles, sym, ev->hdr.exch_ns / 1000000, ev->u.trade.price,
                                ev->u.trade.qty);
        if (cx->n_tick_subs[sym])
            on_tick(cx, ev);
        break;
    case NX_EV_KLINE:
        if (!cx->o.candles_from_trades)
            nx_candles_on_kline(&cx->candles, sym, &ev->u.kline);
        break;
    default:
        break;
    }
}

/* ---- life cycle ------------------------------------------------------------ */

int nx_cortex_create(nx_cortex_t **out, const nx_cortex_opts_t *o)
{
    *out = NULL;
    if (!o->symtab || nx_symtab_count(o->symtab) == 0 || o->ntf > NX_MAX_TIMEFRAMES)
        return NX_EINVAL;
    struct nx_cortex *cx = calloc(1, sizeof *cx);
    if (!cx)
        return NX_ENOMEM;
    cx->o = *o;
    cx->ino_fd = cx->ev_fd = -1;
    cx->nsym = nx_symtab_count(o->symtab);
    for (uint32_t i = 0; i < o->ntf; i++)
        if (tf_index(cx, o->tf_s[i]) < 0)
            cx->tf_s[cx->ntf++] = o->tf_s[i];
    if (o->n_trusted) {
        cx->trusted = calloc(o->n_trusted, sizeof *cx->trusted);
        if (!cx->trusted)
            goto fail;
        for (uint32_t i = 0; i < o->n_trusted; i++)
            if (!(cx->trusted[i] = strdup(o->trusted_keys[i])))
                goto fail;
        cx->o.trusted_keys = (const char *const *)cx->trusted;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(cx->cache_dir, sizeof cx->cache_dir, "%s/nexus-plugins-XXXXXX",
             tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
    if (!mkdtemp(cx->cache_dir)) {
        NX_ERROR("cortex", "cannot create a private directory for plugin copies: %s",
                 cx->cache_dir);
        goto fail;
    }
    *out = cx;
    return 0;
fail:
    if (cx->trusted)
        for (uint32_t i = 0; i < o->n_trusted; i++)
            free(cx->trusted[i]);
    free(cx->trusted);
    free(cx);
    return NX_ENOMEM;
}

static int strategy_build_series(struct nx_cortex *cx, nx_strategy_t *st)
{
    st->series = calloc(st->n_series, sizeof *st->series);
    if (!st->series)
        return NX_ENOMEM;
    for (uint32_t si = 0; si < st->nsym; si++) {
        for (uint32_t ti = 0; ti < st->ntf; ti++) {
            int cti = tf_index(cx, st->tf_s[ti]);
            nx_cseries_t *cs = &cx->series[(size_t)st->symbols[si] * cx->ntf + (uint32_t)cti];
            st->series[si * st->ntf + ti] = cs;
            nx_sub_t *n = realloc(cs->subs, (cs->n_subs + 1) * sizeof *n);
            if (!n)
                return NX_ENOMEM;
            cs->subs = n;
            cs->subs[cs->n_subs].st = st;
            cs->subs[cs->n_subs].series = si * st->ntf + ti;
            cs->n_subs++;
        }
        uint32_t sym = st->symbols[si];
        nx_sub_t *n = realloc(cx->tick_subs[sym], (cx->n_tick_subs[sym] + 1) * sizeof *n);
        if (!n)
            return NX_ENOMEM;
        cx->tick_subs[sym] = n;
        n[cx->n_tick_subs[sym]].st = st;
        n[cx->n_tick_subs[sym]].series = si * st->ntf;
        cx->n_tick_subs[sym]++;
    }
    return 0;
}

/* The market read's indicators, on each symbol's series of the read
 * timeframe only (six O(1) updates per close of that timeframe, shared with
 * any strategy asking for the same; bench_cortex measures them). */
enum { READ_ADX, READ_EMA50, READ_EMA200, READ_ATR100, READ_BB, READ_RSI, READ_N };
static const struct {
    int kind;
    double p[3];
} read_set[READ_N] = {
    [READ_ADX] = {NEXUS_IND_ADX, {14, 0, 0}},     [READ_EMA50] = {NEXUS_IND_EMA, {50, 0, 0}},
    [READ_EMA200] = {NEXUS_IND_EMA, {200, 0, 0}}, [READ_ATR100] = {NEXUS_IND_ATR, {100, 0, 0}},
    [READ_BB] = {NEXUS_IND_BBANDS, {20, 2, 0}},   [READ_RSI] = {NEXUS_IND_RSI, {14, 0, 0}},
};

int nx_cortex_start(nx_cortex_t *cx)
{
    if (cx->started)
        return NX_ESTATE;
    if (!cx->ntf)
        cx->tf_s[cx->ntf++] = 60;
    int rc = nx_candles_init(&cx->candles, cx->nsym, cx->tf_s, cx->ntf, on_close, cx);
    if (rc)
        return rc;
    cx->series = calloc((size_t)cx->nsym * cx->ntf, sizeof *cx->series);
    cx->last_px = calloc(cx->nsym, sizeof *cx->last_px);
    cx->tick_subs = calloc(cx->nsym, sizeof *cx->tick_subs);
    cx->n_tick_subs = calloc(cx->nsym, sizeof *cx->n_tick_subs);
    if (!cx->series || !cx->last_px || !cx->tick_subs || !cx->n_tick_subs)
        return NX_ENOMEM;
    static const double atr14[3] = {14, 0, 0};
    int rti = tf_index(cx, NX_TF_15M);
    cx->read_ti = rti < 0 ? 0 : (uint32_t)rti;
    for (uint32_t s = 0; s < cx->nsym; s++) {
        const nx_symbol_t *sym = nx_symtab_get(cx->o.symtab, s);
        for (uint32_t t = 0; t < cx->ntf; t++) {
            nx_cseries_t *cs = &cx->series[(size_t)s * cx->ntf + t];
            cs->symbol = s;
            cs->tf_s = cx->tf_s[t];
            cs->px_scale = 1.0 / (double)nx_pow10[sym->price_scale];
            cs->qty_scale = 1.0 / (double)nx_pow10[sym->qty_scale];
            cs->hist = calloc(NX_HIST, sizeof *cs->hist);
            if (!cs->hist || !registry_get(cs, NEXUS_IND_ATR, atr14))
                return NX_ENOMEM;
            for (int k = 0; k < READ_N && cx->o.market_read && t == cx->read_ti; k++)
                if (!registry_get(cs, read_set[k].kind, read_set[k].p))
                    return NX_ENOMEM;
        }
    }
    if ((rc = nx_route_start(cx)))
        return rc;
    for (uint32_t i = 0; i < cx->n_st; i++) {
        nx_strategy_t *st = cx->st[i];
        if ((rc = strategy_build_series(cx, st)))
            return rc;
        if (st->cur && (rc = nx_pver_activate(st->cur)))
            return rc;
    }
    if ((rc = nx_watch_start(cx)))
        return rc;
    cx->started = 1;
    return 0;
}

int nx_cortex_poll(nx_cortex_t *cx)
{
    int swapped = nx_route_poll(cx);
    for (uint32_t i = 0; i < cx->n_st; i++) {
        nx_strategy_t *st = cx->st[i];
        /* A1: pairs with the watcher's release store of a prepared version */
        nx_pver_t *v = atomic_load_explicit(&st->pending, memory_order_acquire);
        if (NX_LIKELY(!v))
            continue;
        if (atomic_load_explicit(&st->retired, memory_order_acquire))
            continue; /* the watcher has not collected the previous one yet */
        int64_t t0 = nx_mono_ns();
        nx_pver_t *old = st->cur;
        char why[200] = "";
        int rc = nx_pver_activate(v);
        size_t snap = 0;
        void *buf = NULL;
        if (rc) {
            snprintf(why, sizeof why, "cannot set up its indicators: %s", nx_strerror(rc));
        } else if (old && old->desc->snapshot && v->desc->restore) {
            size_t cap = old->state_size > 4096 ? old->state_size : 4096;
            buf = malloc(cap);
            if (!buf) {
                snprintf(why, sizeof why, "out of memory for the state hand-over");
            } else {
                snap = old->desc->snapshot(old->state, buf, cap);
                if (snap == 0 || snap > cap)
                    snprintf(why, sizeof why, "the running version's snapshot failed");
                else if (v->desc->restore(v->state, buf, snap) < 0)
                    snprintf(why, sizeof why,
                             "the new version refused the running version's state (%zu bytes)",
                             snap);
            }
        }
        free(buf);
        if (why[0]) {
            char msg[320];
            snprintf(msg, sizeof msg, "%.130s: reload refused: %.120s; version %.20s keeps running",
                     st->path, why, old ? old->desc->version : "(none)");
            NX_ERROR("cortex", "%s", msg);
            nx_strategy_set_error(st, msg);
            atomic_fetch_add_explicit(&st->reload_failures, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&cx->reload_failures, 1, memory_order_relaxed);
            atomic_store_explicit(&st->pending, NULL, memory_order_relaxed);
            /* R1: the watcher frees it after its acquire load */
            atomic_store_explicit(&st->retired, v, memory_order_release);
            continue;
        }
        st->cur = v;
        nx_strategy_set_running(st, v);
        atomic_store_explicit(&st->pending, NULL, memory_order_relaxed);
        if (old)
            atomic_store_explicit(&st->retired, old, memory_order_release); /* R1 */
        atomic_fetch_add_explicit(&st->swaps, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&cx->swaps, 1, memory_order_relaxed);
        swapped++;
        NX_INFO("cortex", "strategy %s: now version %s (generation %u) from %s; %s in %lld us",
                st->name, v->desc->version, v->generation, st->path,
                snap ? "state handed over" : "fresh state",
                (long long)((nx_mono_ns() - t0) / 1000));
    }
    return swapped;
}

int nx_cortex_strategy_find(const nx_cortex_t *cx, const char *name)
{
    for (uint32_t i = 0; i < cx->n_st; i++)
        if (strcmp(cx->st[i]->name, name) == 0)
            return (int)i;
    return NX_ENOENT;
}

int nx_cortex_strategy_info(nx_cortex_t *cx, int id, nx_strategy_info_t *out)
{
    if (id < 0 || (uint32_t)id >= cx->n_st)
        return NX_ENOENT;
    nx_strategy_t *st = cx->st[id];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", st->name);
    snprintf(out->plugin, sizeof out->plugin, "%s", st->plugin);
    snprintf(out->path, sizeof out->path, "%s", st->path);
    pthread_mutex_lock(&st->err_mu);
    snprintf(out->last_error, sizeof out->last_error, "%s", st->last_error);
    snprintf(out->version, sizeof out->version, "%s", st->version);
    out->generation = st->cur_generation;
    pthread_mutex_unlock(&st->err_mu);
    out->n_series = st->n_series;
    out->calls = atomic_load_explicit(&st->calls, memory_order_relaxed);
    out->ticks = atomic_load_explicit(&st->ticks, memory_order_relaxed);
    out->signals = atomic_load_explicit(&st->signals, memory_order_relaxed);
    out->refused_signals = atomic_load_explicit(&st->refused, memory_order_relaxed);
    out->swaps = atomic_load_explicit(&st->swaps, memory_order_relaxed);
    out->reload_failures = atomic_load_explicit(&st->reload_failures, memory_order_relaxed);
    out->unrouted = atomic_load_explicit(&st->unrouted, memory_order_relaxed);
    return 0;
}

uint64_t nx_cortex_strategies_of(const nx_cortex_t *cx, const char *plugin)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < cx->n_st && i < 64; i++)
        if (!strcmp(cx->st[i]->plugin, plugin))
            m |= 1ULL << i;
    return m;
}

size_t nx_cortex_strategy_snapshot(nx_cortex_t *cx, int id, void *buf, size_t cap)
{
    if (id < 0 || (uint32_t)id >= cx->n_st)
        return 0;
    nx_pver_t *v = cx->st[id]->cur;
    if (!v || !v->desc->snapshot)
        return 0;
    return v->desc->snapshot(v->state, buf, cap);
}

void nx_cortex_stats(const nx_cortex_t *cx, nx_cortex_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->events = atomic_load_explicit(&cx->events, memory_order_relaxed);
    out->candles_closed = cx->candles.closed;
    out->candle_gaps = cx->candles.gaps;
    out->signals = atomic_load_explicit(&cx->signals, memory_order_relaxed);
    out->swaps = atomic_load_explicit(&cx->swaps, memory_order_relaxed);
    out->reload_failures = atomic_load_explicit(&cx->reload_failures, memory_order_relaxed);
    out->strategies = cx->n_st;
    const nx_route_t *r = &cx->route;
    out->regime_by_model = atomic_load_explicit(&r->by_model, memory_order_relaxed);
    out->regime_by_rules = atomic_load_explicit(&r->by_rules, memory_order_relaxed);
    out->unrouted = atomic_load_explicit(&r->unrouted, memory_order_relaxed);
    out->model_reloads = atomic_load_explicit(&r->reloads, memory_order_relaxed);
    out->model_reload_failures = atomic_load_explicit(&r->reload_failures, memory_order_relaxed);
}

nx_regime_t nx_regime_of(const nx_market_read_t *r)
{
    if (isnan(r->adx) || isnan(r->plus_di) || isnan(r->minus_di) || isnan(r->atr14) ||
        isnan(r->atr100))
        return NX_REGIME_UNKNOWN;
    if (r->atr100 > 0 && r->atr14 >= NX_REGIME_ATR_SHOCK * r->atr100)
        return NX_REGIME_VOLATILE;
    if (r->adx >= NX_REGIME_ADX_TREND)
        return r->plus_di > r->minus_di ? NX_REGIME_TREND_UP : NX_REGIME_TREND_DOWN;
    if (r->adx < NX_REGIME_ADX_RANGE)
        return NX_REGIME_RANGE;
    return NX_REGIME_MIXED;
}

const char *nx_regime_name(nx_regime_t r)
{
    static const char *const names[] = {"unknown", "trend up", "trend down",
                                        "range",   "volatile", "mixed"};
    return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "unknown";
}

/* The value of an indicator entry's output, NaN when the series lacks it. */
static double read_out(const nx_cseries_t *cs, int kind, const double p[3], uint32_t o)
{
    for (uint32_t i = 0; i < cs->n_ind; i++) {
        const nx_ind_entry_t *e = cs->ind[i];
        if (e->kind == kind && e->p[0] == p[0] && e->p[1] == p[1] && e->p[2] == p[2])
            return e->out[o];
    }
    return NAN;
}

int nx_cortex_market_read(nx_cortex_t *cx, uint32_t symbol, nx_market_read_t *out)
{
    if (!cx->started)
        return NX_ESTATE;
    if (!cx->o.market_read)
        return NX_EINVAL;
    if (symbol >= cx->nsym)
        return NX_ENOENT;
    const nx_cseries_t *cs = &cx->series[(size_t)symbol * cx->ntf + cx->read_ti];
    static const double atr14[3] = {14, 0, 0};
    memset(out, 0, sizeof *out);
    out->symbol = symbol;
    out->tf_s = cs->tf_s;
    out->closed = cs->closed;
    out->close = NAN;
    if (cs->hist_n) {
        const nexus_bar_t *b = &cs->hist[(cs->hist_head + NX_HIST - 1) % NX_HIST];
        out->open_ms = b->open_ms;
        out->close = b->close;
    }
    out->adx = read_out(cs, NEXUS_IND_ADX, read_set[READ_ADX].p, 0);
    out->plus_di = read_out(cs, NEXUS_IND_ADX, read_set[READ_ADX].p, 1);
    out->minus_di = read_out(cs, NEXUS_IND_ADX, read_set[READ_ADX].p, 2);
    out->ema50 = read_out(cs, NEXUS_IND_EMA, read_set[READ_EMA50].p, 0);
    out->ema200 = read_out(cs, NEXUS_IND_EMA, read_set[READ_EMA200].p, 0);
    out->atr14 = read_out(cs, NEXUS_IND_ATR, atr14, 0);
    out->natr14 = read_out(cs, NEXUS_IND_ATR, atr14, 1);
    out->atr100 = read_out(cs, NEXUS_IND_ATR, read_set[READ_ATR100].p, 0);
    out->bb_upper = read_out(cs, NEXUS_IND_BBANDS, read_set[READ_BB].p, 0);
    out->bb_middle = read_out(cs, NEXUS_IND_BBANDS, read_set[READ_BB].p, 1);
    out->bb_lower = read_out(cs, NEXUS_IND_BBANDS, read_set[READ_BB].p, 2);
    out->rsi14 = read_out(cs, NEXUS_IND_RSI, read_set[READ_RSI].p, 0);
    out->regime = nx_regime_of(out);
    return 0;
}

void nx_cortex_destroy(nx_cortex_t *cx)
{
    if (!cx)
        return;
    nx_watch_stop(cx);
    nx_route_free(cx);
    for (uint32_t i = 0; i < cx->n_st; i++) {
        nx_strategy_t *st = cx->st[i];
        nx_pver_free(atomic_load(&st->pending));
        nx_pver_free(atomic_load(&st->retired));
        nx_pver_free(st->cur);
        free(st->series);
        free(st->symbols);
        free(st->params_json);
        pthread_mutex_destroy(&st->err_mu);
        free(st);
    }
    if (cx->series) {
        for (size_t i = 0; i < (size_t)cx->nsym * cx->ntf; i++) {
            nx_cseries_t *cs = &cx->series[i];
            for (uint32_t k = 0; k < cs->n_ind; k++)
                free(cs->ind[k]);
            free(cs->ind);
            free(cs->hist);
            free(cs->subs);
        }
    }
    if (cx->tick_subs)
        for (uint32_t s = 0; s < cx->nsym; s++)
            free(cx->tick_subs[s]);
    free(cx->tick_subs);
    free(cx->n_tick_subs);
    free(cx->series);
    free(cx->last_px);
    if (cx->candles.series)
        nx_candles_free(&cx->candles);
    if (cx->trusted)
        for (uint32_t i = 0; i < cx->o.n_trusted; i++)
            free(cx->trusted[i]);
    free(cx->trusted);
    rmdir(cx->cache_dir);
    free(cx);
}
