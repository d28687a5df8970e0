/*
 * cortex.h — events in, decisions out: multi-timeframe candles, incremental
 * indicators, the strategy host for the plugin .so files, and the market
 * read with its rule-based regime, and routing strategies by the regime
 * the trained classifier (regime.h) reads, falling back to the rules.
 *
 * Public interface (runs on the engine thread, no allocation per event):
 *  - Candles per symbol for configured timeframes (1m 3m 5m 15m 30m 1h 2h 4h
 *    1d), aligned to exchange time (UTC), built from trades or 1m klines,
 *    with gaps flagged rather than invented.
 *  - Indicators updated in O(1) on each closed candle, matching TA-Lib.
 *  - The strategy host loads signed plugins (plugins/nexus_plugin.h) with
 *    dlopen, hot-swaps them between two events, and turns their output into
 *    NX_EV_SIGNAL events for the shield.
 *
 * May use: core and the plugin ABI (plugins/nexus_plugin.h); libxgboost
 * through regime.h.
 */
#ifndef NX_CORTEX_H
#define NX_CORTEX_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

/* Timeframes a candle series may use, in seconds. */
typedef enum nx_timeframe {
    NX_TF_1M = 60,
    NX_TF_3M = 180,
    NX_TF_5M = 300,
    NX_TF_15M = 900,
    NX_TF_30M = 1800,
    NX_TF_1H = 3600,
    NX_TF_2H = 7200,
    NX_TF_4H = 14400,
    NX_TF_1D = 86400,
} nx_timeframe_t;

/*
 * The cortex: one per engine, driven by the engine thread.
 *
 *   nx_cortex_create()        start-up: options, symbols, candle timeframes
 *   nx_cortex_add_strategy()  start-up: load one plugin instance (refusals
 *                             name the file and the reason; the cortex
 *                             keeps the strategies it has)
 *   nx_cortex_start()         series, indicators, the plugin watcher thread
 *   nx_cortex_on_event()      per market event (engine thread)
 *   nx_cortex_poll()          between events: apply prepared hot swaps
 *   nx_cortex_destroy()
 *
 * Signals leave through opts.on_signal as complete NX_EV_SIGNAL events
 * (header symbol/venue/exch_ns set, seq left 0 for the publisher); closed
 * candles through opts.on_candle as closed NX_EV_KLINE events.
 */
typedef struct nx_cortex nx_cortex_t;

typedef void (*nx_signal_cb)(void *ctx, const nx_event_t *signal);

#define NX_CORTEX_MAX_STRATEGIES 32

typedef struct nx_cortex_opts {
    const nx_symtab_t *symtab;  /* symbols, read-only; outlives the cortex */
    const uint32_t *tf_s;       /* candle timeframes (seconds); strategies' are added */
    uint32_t ntf;
    int candles_from_trades;    /* 1: build candles from trades; 0: from closed klines */
    int allow_unsigned;         /* development only: load unsigned plugins, with a warning */
    const char *const *trusted_keys; /* base64 Ed25519 public keys */
    uint32_t n_trusted;
    int watch;                  /* 1: reload a plugin when its file (or .sig) changes */
    uint32_t watch_debounce_ms; /* quiet time after the last change before reloading */
    nx_signal_cb on_signal;
    /* Optional: every closed candle of every timeframe, as a closed
     * NX_EV_KLINE event (interval_s = the timeframe), before the strategies
     * see it. Same ctx. */
    nx_signal_cb on_candle;
    void *ctx;
    int market_read;            /* 1: keep the indicators of nx_cortex_market_read */
} nx_cortex_opts_t;

typedef struct nx_strategy_conf {
    const char *name;        /* instance name; NULL = the plugin's own name */
    const char *path;        /* the .so file */
    const char *params_json; /* JSON object text, NULL = "{}" */
    const uint32_t *symbols; /* symbol ids; NULL/0 = every symbol */
    uint32_t nsym;
    const uint32_t *tf_s;    /* timeframes; NULL/0 = the plugin's default */
    uint32_t ntf;
} nx_strategy_conf_t;

typedef struct nx_strategy_info {
    char name[32], plugin[32], version[32], path[256];
    char last_error[320]; /* last refusal (load or reload), "" if none */
    uint32_t n_series, generation;
    uint64_t calls, ticks, signals, refused_signals, swaps, reload_failures;
    uint64_t unrouted; /* entry signals the regime kept from the sessions */
} nx_strategy_info_t;

typedef struct nx_cortex_stats {
    uint64_t events, candles_closed, candle_gaps, signals, swaps, reload_failures;
    uint32_t strategies;
    /* routing by regime: candles decided by the model or by the rules,
     * entries not routed, model reloads done and refused */
    uint64_t regime_by_model, regime_by_rules, unrouted, model_reloads, model_reload_failures;
} nx_cortex_stats_t;

/* Create a cortex (start-up; allocates). Returns 0 or NX_EINVAL/NX_ENOMEM. */
int nx_cortex_create(nx_cortex_t **out, const nx_cortex_opts_t *opts);

/* Load, verify and initialise one strategy plugin instance (start-up, main
 * thread, before nx_cortex_start). Returns its id (>= 0), or < 0 with
 * "FILE: reason" in err. */
int nx_cortex_add_strategy(nx_cortex_t *cx, const nx_strategy_conf_t *sc, char *err, size_t cap);

/* Build the series and indicators and start the watcher thread. After this
 * only the engine thread calls on_event/poll. Returns 0 or < 0. */
int nx_cortex_start(nx_cortex_t *cx);

/* One market event (engine thread; no allocation, no lock, no syscall):
 * trades and klines build candles; a closed candle updates the series'
 * indicators and calls every strategy on it. A control event
 * NX_CTL_RELOAD (text: a strategy name, empty = all) asks for a reload as
 * nx_cortex_reload does. */
void nx_cortex_on_event(nx_cortex_t *cx, const nx_event_t *ev);

/* Between two events (engine thread): swap in any plugin version (and the
 * regime model) the watcher has prepared, handing state over. Returns the
 * swaps done. One atomic load per strategy when there is nothing to do. */
int nx_cortex_poll(nx_cortex_t *cx);

/* Ask for a reload of strategy `name` ("*" = all) as if its file changed
 * (any thread; the watcher prepares it, the next nx_cortex_poll swaps).
 * Returns 0 or NX_ENOENT. */
int nx_cortex_reload(nx_cortex_t *cx, const char *name);

/* Copy a strategy's description and counters (any thread; counters are
 * relaxed reads, the last error is copied under the strategy's own mutex,
 * held for a copy; no allocation). Returns 0 or NX_ENOENT. */
int nx_cortex_strategy_info(nx_cortex_t *cx, int id, nx_strategy_info_t *out);

/* The ids (bit i = strategy i, the first 64) of the strategies loaded from
 * plugin `plugin` (e.g. "sentinel"): who a signal is from, by the id the
 * cortex stamps on it, never by anything the plugin writes. Any thread. */
uint64_t nx_cortex_strategies_of(const nx_cortex_t *cx, const char *plugin);

/* The current state snapshot of a strategy (engine thread, or after the
 * engine stopped): bytes written, 0 if it has no snapshot. */
size_t nx_cortex_strategy_snapshot(nx_cortex_t *cx, int id, void *buf, size_t cap);

/* The cortex's counters (engine thread, or after it has stopped: the
 * candle counts are plain fields of the engine thread). */
void nx_cortex_stats(const nx_cortex_t *cx, nx_cortex_stats_t *out);

/*
 * The market read of one symbol: what its indicators say now, and the
 * rule-based regime drawn from them (what a person asks with /regime, and
 * the fallback a regime classifier answers with when it is unsure).
 *
 * Rules, on the candles of one timeframe, first match wins:
 *   VOLATILE    ATR(14) >= 1.5 x ATR(100): the recent true range is far
 *               above its long run (a shock, news, a cascade)
 *   TREND_UP    ADX(14) >= 25 and +DI > -DI
 *   TREND_DOWN  ADX(14) >= 25 and -DI >= +DI
 *   RANGE       ADX(14) < 20
 *   MIXED       ADX between 20 and 25: no clear regime
 *   UNKNOWN     an indicator is still inside its lookback (warming up)
 * The ratios make the rules independent of price level and timeframe.
 */
typedef enum nx_regime {
    NX_REGIME_UNKNOWN = 0,
    NX_REGIME_TREND_UP,
    NX_REGIME_TREND_DOWN,
    NX_REGIME_RANGE,
    NX_REGIME_VOLATILE,
    NX_REGIME_MIXED,
} nx_regime_t;

#define NX_REGIME_ADX_TREND 25.0
#define NX_REGIME_ADX_RANGE 20.0
#define NX_REGIME_ATR_SHOCK 1.5

typedef struct nx_market_read {
    uint32_t symbol, tf_s;
    uint64_t closed;       /* candles closed on that series */
    int64_t open_ms;       /* of the last closed candle, 0 if none */
    double close;          /* of the last closed candle */
    double adx, plus_di, minus_di, ema50, ema200, atr14, atr100, natr14;
    double bb_upper, bb_middle, bb_lower; /* Bollinger(20, 2) */
    double rsi14;          /* NaN: still inside the lookback */
    nx_regime_t regime;
} nx_market_read_t;

/* The regime the rules above give for these values (any thread). */
nx_regime_t nx_regime_of(const nx_market_read_t *r);
/* "trend up", "trend down", "range", "volatile", "mixed", "unknown". */
const char *nx_regime_name(nx_regime_t r);

/* Read a symbol's indicators on the read timeframe: 15m when the cortex
 * builds it, else its first timeframe (the read's indicators are kept on
 * that one only, and only with opts.market_read). Engine thread only, or
 * after the engine stopped. 0, NX_ENOENT (no such symbol), NX_ESTATE (not
 * started) or NX_EINVAL (the cortex was made without market_read). */
int nx_cortex_market_read(nx_cortex_t *cx, uint32_t symbol, nx_market_read_t *out);

/*
 * Routing by market regime (regime.h): once per closed candle of the
 * regime timeframe per symbol, on the engine thread, the regime model
 * gives class probabilities; at or above the threshold its most likely
 * class is the regime, below it (or with no model, or while a feature is
 * warming up) the rule-based read above decides: trend up or down ->
 * trend, volatile -> scalping, range -> grid, mixed -> mean_reversion,
 * unknown -> no regime (nothing filtered). The regime lets through the
 * entry signals (buy, sell) of the strategies its route names; exits, the
 * "always" strategies (Sentinel) and strategies named in no route are
 * never filtered. A signal kept back is counted per strategy (unrouted).
 */
typedef struct nx_cortex_regime_conf {
    const char *model; /* model file or folder; NULL or "" = the rules decide alone */
    uint32_t tf_s;     /* a timeframe the cortex builds */
    double threshold;  /* 0..1 */
    const char (*routes[4])[32]; /* per class: strategy instance or plugin names */
    uint32_t n_routes[4];
    const char (*always)[32];
    uint32_t n_always;
    /* a model that does not load: 0 = refuse (the call fails), 1 = route by
     * the rules, keep the path for nx_cortex_reload_model, say why in err
     * and in nx_cortex_model_error (the call returns 0) */
    int rules_on_error;
} nx_cortex_regime_conf_t;

/* Start-up, after the strategies are added and before nx_cortex_start:
 * load the model (its features and classes must be this build's) and
 * resolve the routes; Sentinel's strategies are never filtered, whatever
 * the lists say. 0 (err set when the model was refused under
 * rules_on_error), or < 0 with "PATH: what is wrong" in err (the cortex
 * then routes nothing). */
int nx_cortex_set_regime(nx_cortex_t *cx, const nx_cortex_regime_conf_t *c, char *err,
                         size_t cap);

/* The regime of one symbol, for /regime (engine thread, or after it stopped). */
typedef struct nx_regime_read {
    int on;           /* routing by regime is configured */
    int has_model;    /* a model is loaded */
    char model[512];  /* its path, or the configured one ("" = none) */
    uint32_t tf_s;
    double threshold;
    uint64_t decided; /* candles the regime was read on */
    int64_t open_ms;  /* of the last of them */
    int cls;          /* the regime (nx_regime_class_t), -1 = none: nothing filtered */
    int by_rules;     /* the rules decided (no model, warming up, or below the threshold) */
    int has_probs;    /* the model gave probs for the last candle */
    double probs[4];  /* per class (nx_regime_class_t order) */
    int rule;         /* the rule-based read (nx_regime_t) */
    uint64_t active;  /* strategies (bit = id) whose entries reach the sessions now */
} nx_regime_read_t;
int nx_cortex_regime_read(nx_cortex_t *cx, uint32_t symbol, nx_regime_read_t *out);

/* Load the regime model again from its path (any thread): the watcher
 * thread loads it, the next nx_cortex_poll swaps it in; a model that does
 * not load leaves the running one (logged, counted, its error in *err of
 * nx_cortex_model_error). 0, or NX_ENOENT when no model is configured. */
int nx_cortex_reload_model(nx_cortex_t *cx);
/* The last model reload's refusal ("" if none; any thread). */
void nx_cortex_model_error(nx_cortex_t *cx, char *out, size_t cap);

/* Stop the watcher, finalise and unload every plugin, free everything. */
void nx_cortex_destroy(nx_cortex_t *cx);

#endif /* NX_CORTEX_H */
