/*
 * nexus_plugin.h — the strategy plugin ABI. The only header a plugin sees.
 *
 * A plugin is a shared object exporting one symbol, NEXUS_PLUGIN_ENTRY,
 * which returns its descriptor (nexus_plugin_t). The host:
 *
 *  1. copies the file to a private directory and checks its detached
 *     Ed25519 signature (FILE.sig) against the configured allow-list;
 *  2. loads the copy with dlopen(RTLD_NOW | RTLD_LOCAL), looks up the entry,
 *     and refuses a different major ABI version, a missing callback or a
 *     descriptor smaller than the host needs — with a message naming the
 *     file and the reason — and the engine keeps its other plugins;
 *  3. asks state_size(), hands out that much zeroed memory, and calls
 *     init(). During init, and only then, the plugin reads its parameters
 *     (param_f64 / param_str / param_has) and asks for the indicators it
 *     wants per series (indicator(): returns a slot number);
 *  4. calls on_candle() on the engine thread each time a candle closes on
 *     one of the plugin's series (symbols x timeframes from the config), with
 *     a read-only view: the closed candle and the slot values of the
 *     indicators, NaN while an indicator is still inside its lookback.
 *     on_tick(), if present, sees every trade of the plugin's symbols.
 *     The plugin answers by calling emit() zero or more times.
 *
 * Callbacks run on the engine thread, one at a time, and must not allocate,
 * block or keep pointers to the view after they return. All the memory a
 * plugin needs is its state block (sized by state_size for n_series).
 *
 * Hot swap: when the file changes (or on a reload command), the new version
 * is loaded and initialised beside the old one; then, between two events,
 * the host calls old->snapshot() into a buffer of state_size bytes and
 * new->restore() from it, and the new version takes the next event. A
 * plugin without snapshot/restore starts fresh; a restore that fails (< 0)
 * cancels the swap and the old version keeps running.
 *
 * Compatibility: every struct that crosses the boundary begins with
 * `abi_version` and `struct_size`; fields are only ever appended, so a
 * reader checks struct_size before touching a newer field. Handles are
 * opaque. A minor version adds fields at the end; a major version breaks.
 *
 * Self-contained: includes only <stdint.h> and <stddef.h>.
 */
#ifndef NEXUS_PLUGIN_H
#define NEXUS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define NEXUS_PLUGIN_ABI_MAJOR   1
#define NEXUS_PLUGIN_ABI_MINOR   0
#define NEXUS_PLUGIN_ABI_VERSION ((NEXUS_PLUGIN_ABI_MAJOR << 16) | NEXUS_PLUGIN_ABI_MINOR)
#define NEXUS_PLUGIN_ENTRY       nexus_plugin_entry
#define NEXUS_PLUGIN_ENTRY_NAME  "nexus_plugin_entry"

#if defined(__GNUC__)
#define NEXUS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define NEXUS_PLUGIN_EXPORT
#endif

/* Opaque handle of one plugin instance, owned by the host. */
typedef struct nexus_host nexus_host_t;

/* Signal sides, as the shield understands them. */
enum {
    NEXUS_BUY = 1,
    NEXUS_SELL = 2,
    NEXUS_EXIT_LONG = 3,
    NEXUS_EXIT_SHORT = 4,
};

/* How a stop-loss or take-profit level is expressed. */
enum {
    NEXUS_LEVEL_NONE = 0,
    NEXUS_LEVEL_ATR = 1,   /* value = multiple of the series' ATR(14) from the entry */
    NEXUS_LEVEL_PRICE = 2, /* value = absolute price */
};

/* nexus_signal_t.symbol value meaning "every symbol the host trades"
 * (e.g. a market-wide exit); the host emits one signal per symbol. */
#define NEXUS_ALL_SYMBOLS 0xffffffffu

typedef struct nexus_signal {
    uint32_t abi_version, struct_size;
    uint32_t symbol;   /* host symbol id (nexus_view_t.symbol) or NEXUS_ALL_SYMBOLS */
    int32_t side;      /* NEXUS_BUY ... NEXUS_EXIT_SHORT */
    double confidence; /* 0..1 */
    int32_t sl_kind;   /* NEXUS_LEVEL_* */
    int32_t tp_kind;   /* NEXUS_LEVEL_* */
    double sl_value;   /* ATR multiple (> 0) or price (> 0) */
    double tp_value;   /* ATR multiple (> 0) or price (> 0) */
    char reason[24];   /* short tag, NUL-terminated ("ema_cross") */
} nexus_signal_t;

/* Indicators a plugin may ask for; each has 1..3 outputs in consecutive
 * slots starting at the slot indicator() returns. Parameters p1..p3 as
 * listed; TA-Lib's definitions, seeding and lookbacks. */
enum {
    NEXUS_IND_SMA = 1,        /* p1 n                 -> sma */
    NEXUS_IND_EMA = 2,        /* p1 n                 -> ema */
    NEXUS_IND_RSI = 3,        /* p1 n (Wilder)        -> rsi */
    NEXUS_IND_ATR = 4,        /* p1 n                 -> atr, natr */
    NEXUS_IND_ADX = 5,        /* p1 n                 -> adx, +di, -di */
    NEXUS_IND_BBANDS = 6,     /* p1 n, p2 k (pop. SD) -> upper, middle, lower */
    NEXUS_IND_MACD = 7,       /* p1 fast, p2 slow, p3 signal -> macd, signal, hist */
    NEXUS_IND_STOCH = 8,      /* p1 k, p2 slow k, p3 slow d  -> k, d */
    NEXUS_IND_OBV = 9,        /*                      -> obv */
    NEXUS_IND_VOLUME_SMA = 10, /* p1 n                -> sma of volume */
    NEXUS_IND_HIGHEST = 11,   /* p1 n: highest high of the last n candles, this one included
                                 -> high, distance (close - high) / close (<= 0) */
    NEXUS_IND_LOWEST = 12,    /* p1 n: lowest low of the last n candles, this one included
                                 -> low, distance (close - low) / close (>= 0) */
};

/* Candle flags. */
enum {
    NEXUS_BAR_GAP = 1u << 0, /* base candles were missing inside or before this candle */
};

typedef struct nexus_bar {
    int64_t open_ms; /* bucket start, UTC epoch ms */
    double open, high, low, close, volume;
    uint32_t flags; /* NEXUS_BAR_* */
    uint32_t tf_s;  /* timeframe in seconds (60 .. 86400) */
} nexus_bar_t;

/* What on_candle sees. Valid only during the call. */
typedef struct nexus_view {
    uint32_t abi_version, struct_size;
    uint32_t series;         /* 0 .. n_series-1 within this plugin instance */
    uint32_t symbol;         /* host symbol id, for nexus_signal_t.symbol */
    const char *symbol_name; /* "BTCUSDT" */
    uint64_t closed;         /* candles closed on this series so far, this one included */
    nexus_bar_t bar;         /* the candle that just closed */
    const double *ind;       /* indicator outputs by slot; NaN = no value yet */
    uint32_t n_ind;          /* slots in ind */
    uint32_t pad_;
} nexus_view_t;

/* A trade, for on_tick. */
typedef struct nexus_tick {
    uint32_t abi_version, struct_size;
    uint32_t series;  /* first series of this symbol within the instance */
    uint32_t symbol;  /* host symbol id */
    uint64_t seq;     /* the event's sequence number on the market bus */
    int64_t ts_ms;    /* exchange time, UTC epoch ms */
    double price, qty;
    int32_t side;     /* aggressor: 1 buy, 2 sell, 0 unknown */
    uint32_t pad_;
} nexus_tick_t;

/* A series the plugin instance serves (series_info). */
typedef struct nexus_series_info {
    uint32_t abi_version, struct_size;
    uint32_t symbol;         /* host symbol id */
    uint32_t tf_s;           /* timeframe, seconds */
    const char *symbol_name; /* "BTCUSDT", valid while the plugin is loaded */
} nexus_series_info_t;

/* What the host offers a plugin (grows only at the end). `host` is the
 * handle init() received. */
typedef struct nexus_host_api {
    uint32_t abi_version, struct_size;
    /* Emit a signal (from on_candle or on_tick); 0, or < 0 if the host
     * refused it (bad side, confidence outside 0..1, unknown symbol...). */
    int (*emit)(nexus_host_t *host, const nexus_signal_t *sig);
    /* Log a line through the host's logger (level 0 debug .. 3 error). */
    void (*log)(nexus_host_t *host, int level, const char *msg);
    /* init only: a numeric parameter, or def when absent. */
    double (*param_f64)(nexus_host_t *host, const char *key, double def);
    /* init only: a string parameter copied into buf; its length, or -1
     * when absent or not a string (buf then holds ""). */
    int (*param_str)(nexus_host_t *host, const char *key, char *buf, size_t cap);
    /* init only: 1 if parameter `key` is an array of strings holding
     * `value` (or the string itself equals it), else 0. */
    int (*param_has)(nexus_host_t *host, const char *key, const char *value);
    /* init only: ask for an indicator on every series of this instance;
     * returns its first output slot, or < 0 (unknown kind, bad period). */
    int (*indicator)(nexus_host_t *host, int kind, double p1, double p2, double p3);
    /* Describe series i (0 .. n_series-1); 0 or < 0. */
    int (*series_info)(nexus_host_t *host, uint32_t i, nexus_series_info_t *out);
} nexus_host_api_t;

/* Given to state_size() and init(). */
typedef struct nexus_init {
    uint32_t abi_version, struct_size;
    uint32_t n_series;       /* symbols x timeframes this instance serves */
    uint32_t pad_;
    const char *params_json; /* the strategy's "params" object as JSON text, "{}" if none */
    const nexus_host_api_t *api;
    nexus_host_t *host;
} nexus_init_t;

/* What a plugin provides (grows only at the end). */
typedef struct nexus_plugin {
    uint32_t abi_version, struct_size;
    const char *name;       /* "trend" */
    const char *version;    /* "1.0.0" */
    const char *timeframes; /* default timeframes, "15m,4h" */
    /* Bytes of state memory wanted (> 0). */
    size_t (*state_size)(const nexus_init_t *init);
    /* Initialise state (zeroed host memory); 0, or < 0 with *err set to a
     * static reason. */
    int (*init)(void *state, const nexus_init_t *init, const char **err);
    /* A candle closed on one of the plugin's series. Required. */
    void (*on_candle)(void *state, const nexus_view_t *view);
    /* Optional: every trade of the plugin's symbols. NULL if not wanted. */
    void (*on_tick)(void *state, const nexus_tick_t *tick);
    /* Optional state hand-over for hot swap: NULL if not supported.
     * snapshot returns the bytes written (<= cap) or 0 on failure. */
    size_t (*snapshot)(const void *state, void *buf, size_t cap);
    int (*restore)(void *state, const void *buf, size_t len);
    /* Optional: release anything init took (nothing, for well-behaved plugins). */
    void (*fini)(void *state);
} nexus_plugin_t;

typedef const nexus_plugin_t *(*nexus_plugin_entry_fn)(void);

#endif /* NEXUS_PLUGIN_H */
