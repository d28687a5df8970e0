/*
 * config.h — the one JSON configuration file, validated in full before
 * anything starts.
 *
 * The file is parsed with jansson (duplicate keys rejected), then checked
 * against a declarative schema (config_schema.c): every unknown key, wrong
 * type and out-of-range value is reported — all of them, not just the first
 * — with the file, line, column, key path and the allowed values, e.g.
 *
 *   nexus.json:7:21: engine.market_ring: 1000 is not allowed; expected a
 *   power of two in 1024..16777216
 *
 * Secrets never come from the file: a key that looks like one ("token",
 * "secret", "password", "api_key") is refused with a pointer to the
 * environment variable to use instead.
 *
 * `nexus check-config --describe` prints the schema key by key (types,
 * ranges, defaults, meaning); config/README.md is that output.
 *
 * Threads: loading is start-up work on the main thread; the resulting
 * nx_config_t is read-only afterwards and may be shared.
 */
#ifndef NX_CONFIG_H
#define NX_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "nx/clock.h"
#include "nx/compiler.h"
#include "nx/log.h"
#include "nx/ring.h"
#include "nx/symtab.h"
#include "nx/venue.h"

#define NX_CONFIG_MAX_SYMBOLS 256
#define NX_CONFIG_MAX_ERRORS  32
#define NX_PATH_MAX           256

typedef struct nx_config_symbol {
    nx_venue_t venue;
    char symbol[NX_SYMBOL_NAME_MAX + 1];
    uint8_t price_scale, qty_scale;
    int64_t tick_size;    /* price units */
    int64_t lot_size;     /* qty units */
    int64_t min_notional; /* price units */
} nx_config_symbol_t;

#define NX_CONFIG_MAX_FEEDS 8

typedef struct nx_config_feed {
    nx_venue_t venue;
    char ws_url[256], rest_url[256];
    unsigned streams; /* bit 0 trades, 1 bbo, 2 klines, 3 book, 4 mark */
    char kline_interval[16];
    uint32_t watchdog_ms;
    uint32_t stale_s;
    uint32_t book_depth;
    char replay[NX_PATH_MAX]; /* "" = the venue itself */
    uint32_t replay_speed;
    char replay_symbol[24];
} nx_config_feed_t;

#define NX_CONFIG_MAX_STRATEGIES 16
#define NX_CONFIG_MAX_KEYS       8

typedef struct nx_config_strategy {
    char plugin[32], name[32];
    char path[NX_PATH_MAX]; /* resolved: explicit, or plugin_dir/<plugin>.so */
    uint32_t n_symbols;
    uint32_t symbols[64]; /* symbol ids (config order = symtab ids) */
    uint32_t ntf;
    uint32_t tf_s[9];
    char params[1024]; /* JSON object text */
} nx_config_strategy_t;

#define NX_CONFIG_MAX_SESSIONS 64

#define NX_CONFIG_MAX_USERS 64

/* A user the config seeds into an empty database. */
typedef struct nx_config_user {
    int64_t id, chat_id;
    char name[64];
    uint32_t role; /* 0 pending, 1 subscriber, 2 admin, 3 owner (store.h's nx_role_t) */
} nx_config_user_t;

#define NX_CONFIG_SESSION_STRATEGIES 16

typedef struct nx_config_session {
    char name[32];         /* a label for people */
    int64_t user;          /* the Nexus user id it belongs to */
    nx_venue_t venue;      /* the venue account it trades */
    uint32_t n_strategies; /* followed; 0 = all */
    char strategies[NX_CONFIG_SESSION_STRATEGIES][32];
    uint32_t mode;   /* 0 watcher, 1 copilot, 2 pilot */
    char equity[32]; /* decimal text, converted at each symbol's price scale */
    uint32_t n_symbols;
    uint32_t symbols[64]; /* symbol ids; 0 = all */
    uint32_t leverage, size_bp, risk_bp, max_positions, max_trades_day;
    char daily_loss_stop[32];
    uint32_t weekly_loss_bp, max_drawdown_bp, breaker_losses, breaker_halt_s, cooldown_s;
    uint32_t trail_bp, time_limit_s;
    uint32_t breaker_max_halts, drawdown_lock_s, stale_s;
    char max_symbol_exposure[32], max_total_exposure[32]; /* decimal text, "0" = no limit */
    uint32_t sl_guard_stops, sl_guard_window_s, sl_guard_lock_s;
    uint32_t low_profit_trades, low_profit_lock_s;
    char low_profit_min[32]; /* decimal text, >= 0 */
    uint32_t approval_ttl_s, approval_drift_bp;
    uint32_t stop_bp; /* stop-loss when a signal gives none */
    uint32_t execution; /* where its orders go: nx_config_execution_t */
    uint32_t live_confirmed; /* 1 = its owner confirmed trading real money */
    uint32_t market_hours;   /* 1 = entries only while the venue's market is open */
    uint32_t close_buffer_s; /* with it: no entries this long before the close */
    uint32_t pdt;            /* 1 = the pattern-day-trader rule applies */
} nx_config_session_t;

/* Where a session's orders go. */
typedef enum nx_config_execution {
    NX_EXEC_PAPER = 0,        /* the paper venue, on the engine's own market events */
    NX_EXEC_BINANCE_TESTNET,  /* Binance USD-M testnet, with the user's testnet keys */
    NX_EXEC_BINANCE,          /* Binance USD-M: real money, confirmed by its owner */
} nx_config_execution_t;

const char *nx_config_execution_name(uint32_t execution);

/* A live venue's endpoints. */
enum { NX_MARGIN_KEEP = 0, NX_MARGIN_ISOLATED, NX_MARGIN_CROSS };

typedef struct nx_config_endpoints {
    char rest_url[256];   /* "https://fapi.binance.com" */
    char ws_api_url[256]; /* "wss://ws-fapi.binance.com/ws-fapi/v1"; "" = REST only */
    char stream_url[256]; /* "wss://fstream.binance.com" (user data at /ws/<listenKey>) */
} nx_config_endpoints_t;

typedef struct nx_config {
    char path[NX_PATH_MAX];
    struct {
        nx_config_endpoints_t binance_usdm, binance_usdm_testnet;
        uint32_t recv_window_ms, answer_timeout_ms, quota_pct;
        uint32_t margin_type; /* NX_MARGIN_* */
        uint32_t foreign_adopt; /* live.foreign: 0 hold, 1 adopt */
    } live;
    /* The flight recorder: `nexus run` keeps its market input in rotating
     * event files (dir "" = off). */
    struct {
        char dir[NX_PATH_MAX];
        uint32_t max_mb; /* all files together */
        uint32_t files;  /* kept: the newest */
    } recorder;
    /* The engine's HTTP server (servos/web): /metrics and /health. */
    struct {
        char host[64]; /* "" = no server */
        uint32_t port; /* 0 = any free port (the log says which) */
        uint32_t health_stale_s; /* a feed quiet this long is not ready */
        char public_url[256];    /* sign-in links start with it ("" = http://host:port) */
        uint32_t link_ttl_s;     /* a sign-in link is good this long, once */
        uint32_t session_ttl_s;  /* a signed-in browser stays so this long unused */
        char files[256];         /* the dashboard's built pages ("" = the build's own) */
        char reports[256];       /* backtest reports listed on the dashboard ("" = none) */
        char tls_cert[256], tls_key[256]; /* PEM files: HTTPS ("" = plain HTTP) */
    } web;
    struct {
        uint32_t market_ring;      /* events, power of two */
        uint32_t order_ring;       /* events, power of two */
        uint32_t journal_ring;     /* events, power of two */
        nx_wait_t wait;            /* consumer wait strategy */
        nx_clock_kind_t clock;     /* live or sim */
        uint32_t stats_interval_s; /* 0 = no periodic stats line */
        uint32_t heartbeat_ms;     /* timer event period */
        int32_t engine_cpu;        /* pin engine thread, -1 = no pinning */
        int32_t network_cpu;       /* pin network thread, -1 = no pinning */
    } engine;
    struct {
        nx_log_level_t level;
        nx_log_format_t format;
        uint32_t debounce_s;
        char file[NX_PATH_MAX]; /* "" = stderr */
    } log;
    char data_dir[NX_PATH_MAX];
    uint32_t n_symbols;
    nx_config_symbol_t symbols[NX_CONFIG_MAX_SYMBOLS];
    uint32_t n_feeds;
    nx_config_feed_t feeds[NX_CONFIG_MAX_FEEDS];
    struct {
        uint32_t ntf;
        uint32_t tf_s[9];
        int candles_from_trades;
        char plugin_dir[NX_PATH_MAX]; /* "" = next to the binary */
        uint32_t n_keys;
        char trusted_keys[NX_CONFIG_MAX_KEYS][48];
        int allow_unsigned, watch;
        uint32_t n_strategies;
        nx_config_strategy_t strategies[NX_CONFIG_MAX_STRATEGIES];
        /* routing strategies by market regime (cortex.regime; regime.h) */
        struct {
            int on;                  /* the "regime" object is in the config */
            char model[NX_PATH_MAX]; /* model file or folder; "" = the rules decide */
            uint32_t tf_s;           /* the candles it reads */
            uint32_t threshold_pct;  /* below this confidence the rules decide */
            int rules_on_error;      /* a bad model: 1 = log it and let the rules decide */
            /* per class (trend, scalping, mean_reversion, grid): strategy or
             * plugin names whose entries that regime lets through */
            uint32_t n_routes[4];
            char routes[4][NX_CONFIG_MAX_STRATEGIES][32];
            uint32_t n_always; /* never filtered */
            char always[NX_CONFIG_MAX_STRATEGIES][32];
        } regime;
    } cortex;
    struct {
        uint32_t band_bp;      /* bad-tick filter: suspect beyond this from the median, 0 = off */
        uint32_t band_window;  /* accepted prices the median is taken over */
        uint32_t confirm;      /* following prints that confirm a suspect move */
        uint32_t backwards_ms; /* how far back in time a stream may step */
    } market;
    struct {
        uint32_t slippage_bp, taker_fee_bp, maker_fee_bp, max_open_orders;
        uint32_t latency_ms; /* paper venue: orders reach it this late (market time) */
        uint32_t sanity_bp; /* paper venue and desk: no fill or sizing this far from the market */
        uint32_t n_sessions;
        nx_config_session_t sessions[NX_CONFIG_MAX_SESSIONS];
    } trading;
    uint32_t n_users;
    nx_config_user_t users[NX_CONFIG_MAX_USERS];
    struct {
        char key_file[NX_PATH_MAX]; /* "" = NEXUS_MASTER_KEY only */
        uint32_t batch;             /* journal entries per transaction */
        int64_t owner_chat_id;      /* 0 = none */
        char owner_name[64];
        int catch_up_tasks; /* missed scheduled runs run once at start */
        uint32_t drain_s;   /* at a stop, how long to wait for storage that is down */
        uint32_t retain_days; /* what recovery never needs, kept (days); 0 = for ever */
    } storage;
    struct {
        char api_url[NX_PATH_MAX]; /* Bot API base, "https://api.telegram.org" */
        int webhook;               /* 0 = long polling */
        uint32_t poll_timeout_s;
        char webhook_url[NX_PATH_MAX];
        uint32_t webhook_port;
        uint32_t chat_per_s, global_per_s;
        uint32_t confirm_s; /* a /closeall question is good this long */
    } chat;
} nx_config_t;

typedef struct nx_config_error {
    int line, column;  /* 1-based; 0 when the error is about the whole file */
    char path[160];    /* key path, "engine.market_ring", "symbols[2].venue" */
    char message[320]; /* what is wrong and what is allowed */
} nx_config_error_t;

typedef struct nx_config_errors {
    char file[NX_PATH_MAX];
    int count;     /* errors recorded (at most NX_CONFIG_MAX_ERRORS) */
    int truncated; /* 1 if more errors were found than recorded */
    nx_config_error_t e[NX_CONFIG_MAX_ERRORS];
} nx_config_errors_t;

/* Fill cfg with every default (what an empty "{}" file gives). */
void nx_config_defaults(nx_config_t *cfg);

/* Load and validate the file at path. Returns 0 and a complete *cfg, or
 * NX_ECONFIG with every problem in *errs (NX_EIO if the file cannot be
 * read, or is a folder, also described in *errs). cfg is left with
 * defaults on failure.
 *
 * Paths written in the file (data_dir, log.file, feeds[].replay,
 * cortex.plugin_dir, cortex.strategies[].path, storage.key_file) are
 * relative to the file's own folder, wherever nexus is started: cfg holds
 * them joined to it ("config/../tests/x.csv" for "../tests/x.csv" in
 * config/replay.json). A default the file leaves out (data_dir's
 * ./nexus-data) stays relative to the working directory. */
int nx_config_load(const char *path, nx_config_t *cfg, nx_config_errors_t *errs);

/* Same, from a string; `name` stands for the file name in messages. With
 * no file there is no folder: paths are kept as written. */
int nx_config_load_string(const char *text, size_t len, const char *name, nx_config_t *cfg,
                          nx_config_errors_t *errs);

/* What `nexus run` will do with the config's paths, checked on the file
 * system now, changing nothing: data_dir is a folder it can write in, or
 * one it can make (its parent is a folder it can write in); log.file is a
 * file it can append to, or one it can make; each feed's replay file
 * exists, is a file and can be read. Every problem is added to errs under
 * its key ("feeds[0].replay"), without a position, e.g. "no such file:
 * /data/btc.csv". Returns the number added. Main thread (stat and access
 * only). */
int nx_config_check_paths(const nx_config_t *cfg, nx_config_errors_t *errs);

/* Add a problem found outside the file's text (a path, a data file) under
 * key path `key`; past NX_CONFIG_MAX_ERRORS it is only counted as
 * truncated. */
void nx_config_errors_add(nx_config_errors_t *errs, const char *key, const char *fmt, ...)
    NX_PRINTF(3, 4);

/* "file:line:col: path: message" per error, one per line. */
void nx_config_errors_print(const nx_config_errors_t *errs, FILE *out);

/* Print the schema: every key with type, allowed values, default and
 * meaning, as Markdown. */
void nx_config_describe(FILE *out);

/*
 * Trading sessions as JSON: the text stored in the database (sessions.
 * config) and what a person's new session is made from. The session's
 * symbols and strategies must be the config's.
 *  - nx_config_session_parse: one session object, checked key by key like
 *    the file (errors name "session.<key>"), with every default filled in.
 *    Returns 0 or NX_ECONFIG.
 *  - nx_config_session_json: the whole session as compact JSON, every key
 *    written; reading it back gives the same session. Returns the length,
 *    or NX_ETOOLONG.
 *  - nx_config_session_edit: the session text with one key set to the JSON
 *    value `value` ("3", "\"copilot\""), checked as a whole; out holds the
 *    new text. Returns 0, NX_ECONFIG (with the reason) or NX_ETOOLONG.
 * Any thread; they allocate while they run (jansson).
 */
int nx_config_session_parse(const nx_config_t *cfg, const char *text, size_t len,
                            nx_config_session_t *out, nx_config_errors_t *errs);
int nx_config_session_json(const nx_config_t *cfg, const nx_config_session_t *s, char *buf,
                           size_t cap);
int nx_config_session_edit(const nx_config_t *cfg, const char *text, const char *key,
                           const char *value, char *out, size_t cap, nx_config_errors_t *errs);
/* A stored session: its settings text with the row's own user, name,
 * venue and mode put over whatever the text says (NULL or "" text: all
 * defaults). 0 or NX_ECONFIG. */
int nx_config_session_from_row(const nx_config_t *cfg, const char *text, int64_t user,
                               const char *name, const char *venue, const char *mode,
                               nx_config_session_t *out, nx_config_errors_t *errs);

/* Intern every configured symbol into t. Returns 0 or the first
 * nx_symtab_add error (validation already guarantees success). */
int nx_config_symbols_intern(const nx_config_t *cfg, nx_symtab_t *t);

#endif /* NX_CONFIG_H */
