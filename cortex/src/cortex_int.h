/*
 * cortex_int.h — the cortex's private structures, shared by cortex.c (series,
 * indicators, dispatch) and plugin_host.c (loading, verifying, hot swap).
 */
#ifndef NX_CORTEX_INT_H
#define NX_CORTEX_INT_H

#include "nx/candles.h"
#include "nx/clock.h"
#include "nx/cortex.h"
#include "nx/indicators.h"
#include "nx/regime.h"

#include "nexus_plugin.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#define NX_HIST      512 /* closed candles kept per series (warm-up of new indicators) */
#define NX_MAX_REQ   16  /* indicator requests per plugin version */
#define NX_MAX_SLOTS 48  /* indicator output slots per plugin version */
#define NX_ATR_SLOT  0   /* every series' registry entry 0 is ATR(14), for signal stops */

/* One indicator on one series, shared by every strategy that asked for it. */
typedef struct nx_ind_entry {
    int kind;
    double p[3];
    uint32_t nout;
    double out[3]; /* NaN while inside the lookback */
    union {
        nx_sma_t sma;
        nx_ema_t ema;
        nx_rsi_t rsi;
        nx_atr_t atr;
        nx_adx_t adx;
        nx_bbands_t bb;
        nx_macd_t macd;
        nx_stoch_t st;
        nx_obv_t obv;
        nx_rolling_t roll;
    } s;
} nx_ind_entry_t;

struct nx_strategy;

typedef struct nx_sub {
    struct nx_strategy *st;
    uint32_t series; /* index within the strategy */
} nx_sub_t;

/* Candles of one symbol at one timeframe, with their indicators. */
typedef struct nx_cseries {
    uint32_t symbol, tf_s;
    double px_scale, qty_scale; /* 10^-price_scale, 10^-qty_scale */
    uint64_t closed;
    nexus_bar_t *hist; /* ring of NX_HIST */
    uint32_t hist_n, hist_head;
    nx_ind_entry_t **ind;
    uint32_t n_ind, cap_ind;
    nx_sub_t *subs;
    uint32_t n_subs;
} nx_cseries_t;

typedef struct nx_ind_req {
    int kind;
    double p[3];
    uint32_t nout, slot;
} nx_ind_req_t;

/* One loaded version of a plugin: what nexus_host_t stands for. */
struct nexus_host {
    struct nx_strategy *st;
    void *dl;
    const nexus_plugin_t *desc;
    uint32_t generation;
    void *state;
    size_t state_size;
    nx_ind_req_t req[NX_MAX_REQ];
    uint32_t n_req, n_slots;
    const double **src; /* [n_series * n_slots], set when activated */
    double *vals;       /* [n_slots] scratch for the view */
    json_t *params;     /* parsed "params", for the init-time helpers */
    int in_init;
    nexus_init_t init;
};
typedef struct nexus_host nx_pver_t;

typedef struct nx_strategy {
    struct nx_cortex *cx;
    uint16_t id;
    char name[32], plugin[32], path[256], dir[256], base[256];
    char *params_json;
    uint32_t *symbols;
    uint32_t nsym;
    uint32_t tf_s[NX_MAX_TIMEFRAMES], ntf, n_series;
    nx_cseries_t **series; /* [n_series]: symbol index * ntf + timeframe index */
    nx_pver_t *cur;        /* engine thread */
    _Atomic(nx_pver_t *) pending; /* watcher -> engine (release/acquire) */
    _Atomic(nx_pver_t *) retired; /* engine -> watcher (release/acquire) */
    atomic_int reload_req;
    int64_t reload_at_ns; /* watcher thread only */
    uint32_t generation;  /* watcher thread only (and start-up) */
    /* context of the callback in progress (engine thread) */
    const nx_cseries_t *ctx_series;
    int64_t ctx_exch_ns;
    /* counters: written by one thread, read relaxed by any */
    _Atomic uint64_t calls, ticks, signals, refused, swaps, reload_failures, unrouted;
    pthread_mutex_t err_mu; /* guards last_error, version, cur_generation */
    char last_error[320];
    char version[32];        /* of the running version */
    uint32_t cur_generation; /* of the running version */
} nx_strategy_t;

/* The regime of one symbol (engine thread). */
typedef struct nx_sym_regime {
    nx_regime_feat_t feat;
    double probs[NX_RC_COUNT];
    int cls;       /* -1: no regime, nothing filtered */
    int by_rules;
    int has_probs;
    int64_t open_ms;
    uint64_t decided;
} nx_sym_regime_t;

/* Routing by regime (regime_route.c). */
typedef struct nx_route {
    int on;
    uint32_t tf_s;
    double threshold;
    uint64_t active[NX_RC_COUNT]; /* per class: strategies whose entries pass */
    uint64_t free;                /* never filtered: "always", or in no route */
    nx_regime_model_t *model;     /* engine thread */
    char model_path[512];         /* "" = rules only */
    _Atomic(nx_regime_model_t *) pending, retired; /* watcher <-> engine, as plugins */
    atomic_int reload_req;
    pthread_mutex_t err_mu; /* guards last_error */
    char last_error[320];
    nx_sym_regime_t *sym; /* [nsym], from nx_cortex_start */
    _Atomic uint64_t by_model, by_rules, unrouted, reloads, reload_failures;
} nx_route_t;

struct nx_cortex {
    nx_cortex_opts_t o;
    char **trusted;
    uint32_t nsym;
    uint32_t tf_s[NX_MAX_TIMEFRAMES], ntf;
    nx_candles_t candles;
    nx_cseries_t *series; /* [nsym * ntf] */
    uint32_t read_ti;     /* timeframe index of the market read (15m, else the first) */
    int64_t *last_px;     /* [nsym] last trade or close, ticks */
    nx_sub_t **tick_subs; /* [nsym] -> array */
    uint32_t *n_tick_subs;
    nx_strategy_t *st[NX_CORTEX_MAX_STRATEGIES];
    uint32_t n_st;
    char cache_dir[256];
    int started;
    /* watcher */
    pthread_t th;
    int th_started, ino_fd, ev_fd;
    atomic_int stop;
    /* engine-thread counters, read relaxed */
    _Atomic uint64_t events, signals, swaps, reload_failures;
    nx_route_t route;
};

/* plugin_host.c */
nx_pver_t *nx_pver_load(nx_strategy_t *st, char *err, size_t cap);
void nx_pver_free(nx_pver_t *v);
int nx_watch_start(struct nx_cortex *cx);
void nx_watch_stop(struct nx_cortex *cx);
void nx_strategy_set_error(nx_strategy_t *st, const char *msg);
void nx_strategy_set_running(nx_strategy_t *st, const nx_pver_t *v);
extern const nexus_host_api_t nx_host_api;

/* regime_route.c */
int nx_route_start(struct nx_cortex *cx);
void nx_route_on_candle(struct nx_cortex *cx, uint32_t sym, const nexus_bar_t *b);
/* 1 when the regime keeps this signal of st on sym from the sessions
 * (counted). */
int nx_route_blocks(struct nx_cortex *cx, nx_strategy_t *st, uint32_t sym, int side);
void nx_route_watch(struct nx_cortex *cx); /* watcher thread */
int nx_route_poll(struct nx_cortex *cx);   /* engine thread: 1 if a model was swapped in */
void nx_route_free(struct nx_cortex *cx);

/* cortex.c */
int nx_pver_activate(nx_pver_t *v);
int nx_ind_outputs(int kind);

/* Strategy id by instance name, or NX_ENOENT (cortex.c). */
int nx_cortex_strategy_find(const nx_cortex_t *cx, const char *name);

#endif /* NX_CORTEX_INT_H */
