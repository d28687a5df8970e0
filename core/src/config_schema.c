/*
 * config_schema.c — what a Nexus config may contain, key by key.
 *
 * This table is the single source of truth: validation (config.c) walks it,
 * `nexus check-config --describe` prints it, and config/README.md is that
 * print. Add a key here, then read it in config.c's extract().
 */
#include "config_schema.h"

#include <stddef.h>

static const char *const wait_choices[] = {"spin", "spin_yield", "block", NULL};
static const char *const clock_choices[] = {"live", "sim", NULL};
static const char *const level_choices[] = {"debug", "info", "warn", "error", NULL};
static const char *const format_choices[] = {"text", "json", NULL};
static const char *const venue_choices[] = {
    "binance-usdm", "binance-spot", "bybit-linear", "bybit-spot", "alpaca", "paper", NULL};

static const nx_cnode_t engine_members[] = {
    {"market_ring", NX_CT_INT,
     "Market-data ring capacity in events (128 B each). Never-block: "
     "a full ring drops and counts events rather than stall the network thread.",
     "65536", 1024, 1 << 24, NX_CF_POW2, NULL, NULL},
    {"order_ring", NX_CT_INT, "Order ring capacity in events. No-drop: the producer waits.", "4096",
     64, 1 << 20, NX_CF_POW2, NULL, NULL},
    {"journal_ring", NX_CT_INT,
     "Journal ring capacity in events (to the storage writer). Nothing is dropped while storage "
     "works (the engine waits for the writer); while nothing is durable the engine never waits: "
     "heartbeats, candles, signals and rejections give way first once it is half full.",
     "65536", 1024, 1 << 24, NX_CF_POW2, NULL, NULL},
    {"wait", NX_CT_ENUM,
     "How consumer threads wait for events: spin (lowest latency, burns a "
     "core), spin_yield, or block (futex; right for machines with few cores).",
     "\"block\"", 0, 0, 0, wait_choices, NULL},
    {"clock", NX_CT_ENUM,
     "live: wall clock. sim: time advances with event timestamps "
     "(replay and backtest).",
     "\"live\"", 0, 0, 0, clock_choices, NULL},
    {"stats_interval_s", NX_CT_INT,
     "Seconds between statistics lines in the log; 0 turns them off.", "10", 0, 86400, 0, NULL,
     NULL},
    {"heartbeat_ms", NX_CT_INT, "Period of the engine's timer event, in milliseconds.", "1000", 1,
     60000, 0, NULL, NULL},
    {"engine_cpu", NX_CT_INT, "CPU to pin the engine thread to; -1 leaves it to the scheduler.",
     "-1", -1, 1023, 0, NULL, NULL},
    {"network_cpu", NX_CT_INT, "CPU to pin the network thread to; -1 leaves it to the scheduler.",
     "-1", -1, 1023, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t log_members[] = {
    {"level", NX_CT_ENUM, "Lowest level written.", "\"info\"", 0, 0, 0, level_choices, NULL},
    {"format", NX_CT_ENUM, "text: one human line per record; json: one JSON object per line.",
     "\"text\"", 0, 0, 0, format_choices, NULL},
    {"debounce_s", NX_CT_INT,
     "Repeats of the same keyed message within this many seconds are "
     "suppressed and summarised as \"(repeated K times)\".",
     "10", 0, 3600, 0, NULL, NULL},
    {"file", NX_CT_STRING,
     "Append the log to this file (a relative path is in the config file's folder); empty means "
     "standard error.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t symbol_members[] = {
    {"venue", NX_CT_ENUM, "Venue the symbol trades on.", "(required)", 0, 0, NX_CF_REQUIRED,
     venue_choices, NULL},
    {"symbol", NX_CT_STRING, "Symbol as the venue spells it (BTCUSDT, AAPL).", "(required)", 1, 23,
     NX_CF_REQUIRED, NULL, NULL},
    {"tick_size", NX_CT_DECIMAL, "Smallest price step, as a decimal string (\"0.10\").",
     "(required)", 0, 0, NX_CF_REQUIRED | NX_CF_POSITIVE, NULL, NULL},
    {"lot_size", NX_CT_DECIMAL, "Smallest quantity step, as a decimal string (\"0.001\").",
     "(required)", 0, 0, NX_CF_REQUIRED | NX_CF_POSITIVE, NULL, NULL},
    {"min_notional", NX_CT_DECIMAL, "Smallest order value price x quantity, decimal string.",
     "\"0\"", 0, 0, 0, NULL, NULL},
    {"price_scale", NX_CT_INT, "Prices are held as integers in units of 10^-price_scale.", "8", 0,
     18, 0, NULL, NULL},
    {"qty_scale", NX_CT_INT, "Quantities are held as integers in units of 10^-qty_scale.", "8", 0,
     18, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const stream_choices[] = {"trades", "bbo", "klines", "book", "mark", NULL};
static const char *const feed_venue_choices[] = {"binance-usdm", "binance-spot", "bybit-linear",
                                                 "bybit-spot",   "alpaca",       NULL};
static const nx_cnode_t stream_elem = {"", NX_CT_ENUM, "A stream to subscribe.", NULL, 0,
                                       0,  0,          stream_choices,           NULL};

static const nx_cnode_t feed_members[] = {
    {"venue", NX_CT_ENUM,
     "Venue to stream from; every configured symbol of this venue is "
     "subscribed.",
     "(required)", 0, 0, NX_CF_REQUIRED, feed_venue_choices, NULL},
    {"ws_url", NX_CT_STRING,
     "WebSocket base URL (wss://fstream.binance.com, "
     "wss://stream.bybit.com/v5/public/linear, wss://stream.data.alpaca.markets/v2/iex, or a "
     "`nexus replay` address such as ws://127.0.0.1:9911).",
     "(required)", 1, 255, NX_CF_REQUIRED, NULL, NULL},
    {"rest_url", NX_CT_STRING,
     "REST base URL for backfill and book snapshots "
     "(https://fapi.binance.com, https://api.bybit.com, https://data.alpaca.markets).",
     "(required)", 1, 255, NX_CF_REQUIRED, NULL, NULL},
    {"streams", NX_CT_ARRAY, "Streams to subscribe per symbol.", "[\"trades\",\"klines\"]", 1, 5, 0,
     NULL, &stream_elem},
    {"kline_interval", NX_CT_STRING,
     "Kline interval in the venue's spelling (\"1m\" on Binance, "
     "\"1\" on Bybit; Alpaca bars are 1 minute).",
     "\"1m\"", 1, 8, 0, NULL, NULL},
    {"watchdog_ms", NX_CT_INT, "Reconnect a connection that received nothing for this long.",
     "10000", 100, 600000, 0, NULL, NULL},
    {"stale_s", NX_CT_INT, "Flag events older than this many seconds as stale; 0 never.", "60", 0,
     86400, 0, NULL, NULL},
    {"book_depth", NX_CT_INT, "Order-book levels kept per side.", "1000", 1, 10000, 0, NULL, NULL},
    {"replay", NX_CT_STRING,
     "Paper trading on recorded data: serve this file (a candle CSV, *.csv, or recorded frames, "
     "one per line) on 127.0.0.1 in the venue's own wire format from inside `nexus run`, and "
     "connect to it as to the venue (the URLs' host and port are replaced, their paths kept). "
     "The run stops by itself at the end of the data, and each run starts from an empty "
     "database under data_dir/replay. A relative path is in the config file's folder.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"replay_speed", NX_CT_INT,
     "With replay: 0 = as fast as the engine reads, 1 = as recorded, N = N times faster.", "0", 0,
     100000000, 0, NULL, NULL},
    {"replay_symbol", NX_CT_STRING, "With a replayed candle CSV: the symbol it is.", "\"BTCUSDT\"",
     1, 23, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t feed_elem = {"",   NX_CT_OBJECT, "One venue connection set.", NULL, 0, 0, 0,
                                     NULL, feed_members};

static const nx_cnode_t symbol_elem = {
    "", NX_CT_OBJECT, "One tradable instrument.", NULL, 0, 0, 0, NULL, symbol_members};

static const char *const tf_choices[] = {"1m", "3m", "5m", "15m", "30m",
                                         "1h", "2h", "4h", "1d",  NULL};
static const char *const candles_from_choices[] = {"klines", "trades", NULL};
static const nx_cnode_t tf_elem = {"", NX_CT_ENUM, "A timeframe.", NULL, 0, 0, 0, tf_choices, NULL};
static const nx_cnode_t key_elem = {
    "",   NX_CT_STRING, "An Ed25519 public key, base64 (44 characters).", NULL, 44, 44, 0,
    NULL, NULL};
static const nx_cnode_t sym_name_elem = {
    "",   NX_CT_STRING, "A configured symbol name (BTCUSDT), on any venue.", NULL, 1, 23, 0,
    NULL, NULL};

static const nx_cnode_t strategy_members[] = {
    {"plugin", NX_CT_STRING,
     "Plugin to run: trend, scalping, mean_reversion, grid, sentinel, or the name of "
     "your own (loaded from plugin_dir/<plugin>.so).",
     "(required)", 1, 31, NX_CF_REQUIRED, NULL, NULL},
    {"name", NX_CT_STRING, "Instance name (to run one plugin twice with other parameters).",
     "the plugin name", 1, 31, 0, NULL, NULL},
    {"path", NX_CT_STRING,
     "Explicit .so path, instead of plugin_dir/<plugin>.so (a relative path is in the config "
     "file's folder).",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"symbols", NX_CT_ARRAY, "Symbols it trades; empty means every configured symbol.", "[]", 0, 64,
     0, NULL, &sym_name_elem},
    {"timeframes", NX_CT_ARRAY, "Timeframes it runs on; empty means the plugin's default.", "[]", 0,
     9, 0, NULL, &tf_elem},
    {"params", NX_CT_JSON, "Parameters handed to the plugin (see plugins/README.md).", "{}", 0,
     1023, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};
static const nx_cnode_t strategy_elem = {"", NX_CT_OBJECT, "One strategy instance.", NULL, 0, 0,
                                         0,  NULL,         strategy_members};

static const char *const on_error_choices[] = {"fail", "rules", NULL};
static const nx_cnode_t route_name_elem = {
    "",   NX_CT_STRING, "A strategy's name or plugin (cortex.strategies[]), or \"sentinel\".",
    NULL, 1,            31,
    0,    NULL,         NULL};
static const nx_cnode_t route_members[] = {
    {"trend", NX_CT_ARRAY, "Strategies whose entries a trending market lets through.",
     "[\"trend\"]", 0, 16, 0, NULL, &route_name_elem},
    {"scalping", NX_CT_ARRAY, "The same, for a volatile market without direction.",
     "[\"scalping\"]", 0, 16, 0, NULL, &route_name_elem},
    {"mean_reversion", NX_CT_ARRAY, "The same, for a move turning back.",
     "[\"mean_reversion\"]", 0, 16, 0, NULL, &route_name_elem},
    {"grid", NX_CT_ARRAY, "The same, for a quiet market going nowhere.", "[\"grid\"]", 0, 16, 0,
     NULL, &route_name_elem},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};
static const nx_cnode_t regime_members[] = {
    {"model", NX_CT_STRING,
     "The trained regime model: its model.json or its folder (meta.json beside it; `nexus "
     "train` writes both). A relative path is in the config file's folder; empty means the "
     "rule-based read decides alone. Loaded at start and again on /models reload (not when "
     "the file changes).",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"timeframe", NX_CT_ENUM,
     "The candles the regime is read on, once per closed candle per symbol (built by the "
     "cortex whatever cortex.timeframes says, and closed first when candles of several "
     "timeframes close together). With candles from klines, a multiple of every feed's "
     "kline_interval.",
     "\"15m\"", 0, 0, 0, tf_choices, NULL},
    {"threshold_pct", NX_CT_INT,
     "The model decides when its most likely class has at least this probability (percent); "
     "below it the rule-based read decides (trend up or down: trend; volatile: scalping; "
     "range: grid; mixed: mean_reversion; still warming up: no filtering). At 25 or less the "
     "model always decides (one of four classes always has a quarter); at 100 it almost never "
     "does.",
     "70", 0, 100, 0, NULL, NULL},
    {"on_error", NX_CT_ENUM,
     "A model that is missing or does not load: fail (refuse to start, naming the file and "
     "the problem) or rules (log it, let the rule-based read decide, and try the file again "
     "on /models reload).",
     "\"fail\"", 0, 0, 0, on_error_choices, NULL},
    {"routes", NX_CT_OBJECT,
     "Per regime, the strategies (instance names or plugins) whose entry signals reach the "
     "sessions; the others' entries are counted as not routed (/plugins, the run summary). "
     "Exits always pass, and a strategy named in no route is never filtered.",
     NULL, 0, 0, 0, NULL, route_members},
    {"always", NX_CT_ARRAY,
     "Strategies never filtered, whatever the regime (Sentinel's protective signals are never "
     "filtered, whatever this says).",
     "[\"sentinel\"]",
     0, 16, 0, NULL, &route_name_elem},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t cortex_members[] = {
    {"timeframes", NX_CT_ARRAY,
     "Candle timeframes built per symbol (strategies' timeframes are added).",
     "[\"1m\",\"15m\",\"4h\"]", 1, 9, 0, NULL, &tf_elem},
    {"candles_from", NX_CT_ENUM,
     "Build candles from the venue's closed klines (exact, the default) or from trades.",
     "\"klines\"", 0, 0, 0, candles_from_choices, NULL},
    {"plugin_dir", NX_CT_STRING,
     "Where plugins are found (a relative path is in the config file's folder); empty means "
     "next to the nexus binary (../plugins or ../lib/nexus/plugins).",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"trusted_keys", NX_CT_ARRAY,
     "Public keys whose signatures are accepted on plugins (`nexus plugin keygen`).", "[]", 0, 8, 0,
     NULL, &key_elem},
    {"allow_unsigned", NX_CT_BOOL,
     "Development only: load plugins without a valid signature (logs a warning per load).", "false",
     0, 0, 0, NULL, NULL},
    {"watch", NX_CT_BOOL, "Hot-swap a plugin when its file or signature changes (inotify).", "true",
     0, 0, 0, NULL, NULL},
    {"strategies", NX_CT_ARRAY,
     "Strategy instances. Sentinel always runs: it is added with its defaults if not listed.", "[]",
     0, 16, 0, NULL, &strategy_elem},
    {"regime", NX_CT_OBJECT,
     "Route strategies by market regime: the regime classifier (an XGBoost model, with the "
     "rule-based read below its confidence threshold) picks which strategies' entry signals "
     "reach the sessions. Without this object every strategy's signals reach them.",
     NULL, 0, 0, 0, NULL, regime_members},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const mode_choices[] = {"watcher", "copilot", "pilot", NULL};
static const char *const margin_type_choices[] = {"keep", "isolated", "cross", NULL};
static const char *const foreign_choices[] = {"hold", "adopt", NULL};
static const char *const execution_choices[] = {"paper", "binance-usdm-testnet", "binance-usdm",
                                                NULL};
static const nx_cnode_t strategy_name_elem = {
    "",
    NX_CT_STRING,
    "A strategy name (cortex.strategies[].name, or \"sentinel\").",
    NULL,
    1,
    31,
    0,
    NULL,
    NULL};
static const nx_cnode_t session_members[] = {
    {"name", NX_CT_STRING,
     "A label for people. A session is found by its id and its user's id, never by this name.",
     "(required)", 1, 31, NX_CF_REQUIRED, NULL, NULL},
    {"user", NX_CT_INT,
     "The id of the Nexus user the session belongs to (`nexus users list`, or a `users` seed). "
     "A config session is a seed: it is written to the database at start when that user has no "
     "session on its venue yet, and from then on lives there (changed from chat, kept across "
     "restarts).",
     "(required)", 1, 9007199254740991LL, NX_CF_REQUIRED, NULL, NULL},
    {"venue", NX_CT_ENUM,
     "The venue account the session trades: its symbols are this venue's. One session per user "
     "and venue.",
     "the first symbol's venue", 0, 0, 0, venue_choices, NULL},
    {"strategies", NX_CT_ARRAY,
     "The strategies whose signals the session follows; empty means all. Sentinel's protective "
     "exits always apply.",
     "[]", 0, 16, 0, NULL, &strategy_name_elem},
    {"mode", NX_CT_ENUM,
     "watcher: signals are notifications only; copilot: each trade waits for approval; pilot: "
     "autonomous.",
     "\"pilot\"", 0, 0, 0, mode_choices, NULL},
    {"equity", NX_CT_DECIMAL, "Starting paper balance in the quote currency.", "\"10000\"", 0, 0,
     NX_CF_POSITIVE, NULL, NULL},
    {"symbols", NX_CT_ARRAY, "Symbols this session trades; empty means all.", "[]", 0, 64, 0, NULL,
     &sym_name_elem},
    {"leverage", NX_CT_INT, "Leverage, 1..20.", "1", 1, 20, 0, NULL, NULL},
    {"size_bp", NX_CT_INT, "Margin per trade in basis points of equity (500 = 5%).", "500", 1,
     10000, 0, NULL, NULL},
    {"risk_bp", NX_CT_INT,
     "When > 0, size so that the stop loses this share of equity (bp), bounded by leverage.", "0",
     0, 10000, 0, NULL, NULL},
    {"max_positions", NX_CT_INT, "Open positions at most; 0 = no limit.", "5", 0, 1000, 0, NULL,
     NULL},
    {"max_trades_day", NX_CT_INT, "Entries per UTC day at most; 0 = no limit.", "0", 0, 100000, 0,
     NULL, NULL},
    {"daily_loss_stop", NX_CT_DECIMAL, "Realised loss in a UTC day that stops entries; 0 = none.",
     "\"0\"", 0, 0, 0, NULL, NULL},
    {"weekly_loss_bp", NX_CT_INT,
     "Weekly realised loss (bp of the week's equity) that stops entries.", "0", 0, 10000, 0, NULL,
     NULL},
    {"max_drawdown_bp", NX_CT_INT, "Drawdown from peak equity (bp) that locks entries for a day.",
     "0", 0, 10000, 0, NULL, NULL},
    {"breaker_losses", NX_CT_INT, "Consecutive losing trades that trip the circuit breaker.", "3",
     1, 100, 0, NULL, NULL},
    {"breaker_halt_s", NX_CT_INT, "0: the breaker waits for a manual reset; else it resumes after.",
     "0", 0, 604800, 0, NULL, NULL},
    {"cooldown_s", NX_CT_INT, "Per-symbol cooldown after a trade or exit, at ATR = 1% of price.",
     "900", 0, 604800, 0, NULL, NULL},
    {"trail_bp", NX_CT_INT, "Trailing stop distance in bp of the entry price; 0 = off.", "0", 0,
     5000, 0, NULL, NULL},
    {"time_limit_s", NX_CT_INT, "Close a position after this long; 0 = never.", "0", 0, 31536000, 0,
     NULL, NULL},
    {"stop_bp", NX_CT_INT,
     "Stop-loss (bp from the entry) for a signal that gives none: no position is unprotected.",
     "1000", 1, 5000, 0, NULL, NULL},
    {"breaker_max_halts", NX_CT_INT,
     "With breaker_halt_s: the trip after this many halts waits for a manual reset; 0 = never.",
     "0", 0, 1000, 0, NULL, NULL},
    {"drawdown_lock_s", NX_CT_INT, "How long the max_drawdown_bp lock lasts.", "86400", 0, 31536000,
     0, NULL, NULL},
    {"stale_s", NX_CT_INT, "Entries are refused on market data older than this; 0 = never.", "60",
     0, 86400, 0, NULL, NULL},
    {"max_symbol_exposure", NX_CT_DECIMAL,
     "Notional per symbol at most (quote currency); larger orders are cut; 0 = no limit.", "\"0\"",
     0, 0, 0, NULL, NULL},
    {"max_total_exposure", NX_CT_DECIMAL,
     "Notional over all positions at most (quote currency); 0 = no limit.", "\"0\"", 0, 0, 0, NULL,
     NULL},
    {"sl_guard_stops", NX_CT_INT,
     "Stop-loss guard: this many stop-outs on a pair within sl_guard_window_s lock it; 0 = off.",
     "0", 0, 16, 0, NULL, NULL},
    {"sl_guard_window_s", NX_CT_INT, "Stop-loss guard lookback.", "86400", 1, 31536000, 0, NULL,
     NULL},
    {"sl_guard_lock_s", NX_CT_INT, "Stop-loss guard: how long the pair stays locked.", "0", 0,
     31536000, 0, NULL, NULL},
    {"low_profit_trades", NX_CT_INT,
     "Low-profit pairs: over a pair's last N closed trades ... (0 = off)", "0", 0, 16, 0, NULL,
     NULL},
    {"low_profit_min", NX_CT_DECIMAL, "... a total P&L below this (quote currency) ...", "\"0\"", 0,
     0, 0, NULL, NULL},
    {"low_profit_lock_s", NX_CT_INT, "... locks the pair this long.", "0", 0, 31536000, 0, NULL,
     NULL},
    {"approval_ttl_s", NX_CT_INT, "COPILOT: an approval request expires after this long.", "300", 1,
     86400, 0, NULL, NULL},
    {"approval_drift_bp", NX_CT_INT,
     "COPILOT: an approval is refused when the price moved more than this since the request.", "50",
     0, 10000, 0, NULL, NULL},
    {"market_hours", NX_CT_BOOL,
     "Entries only while the venue's market is open: for US stocks the NYSE's regular session "
     "(09:30-16:00 New York, 13:00 on early closes; weekends and holidays closed). Exits, stops "
     "and targets run at any time.",
     "true for alpaca, else false", 0, 0, 0, NULL, NULL},
    {"close_buffer_s", NX_CT_INT,
     "With market_hours: no new entries in the session's last seconds before the close.", "300", 0,
     23400, 0, NULL, NULL},
    {"pdt", NX_CT_BOOL,
     "Pattern-day-trader rule (FINRA): with equity under $25,000, no new entry once three day "
     "trades (opened and closed on one trading day) were made in five business days.",
     "true for alpaca, else false", 0, 0, 0, NULL, NULL},
    {"execution", NX_CT_ENUM,
     "Where its orders go: paper (the paper venue), binance-usdm-testnet (Binance's testnet, "
     "with the user's testnet keys) or binance-usdm (real money, with the user's keys: needs "
     "live_confirmed). Keys are stored with `nexus keys set` or /keys.",
     "\"paper\"", 0, 0, 0, execution_choices, NULL},
    {"live_confirmed", NX_CT_BOOL,
     "The owner's explicit yes to trading real money on binance-usdm; without it such a session "
     "does not start.",
     "false", 0, 0, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};
static const nx_cnode_t session_elem = {"", NX_CT_OBJECT, "One trading session.", NULL, 0, 0,
                                        0,  NULL,         session_members};
static const nx_cnode_t trading_members[] = {
    {"slippage_bp", NX_CT_INT, "Paper venue: market and stop fills worse by this (bp).", "2", 0,
     1000, 0, NULL, NULL},
    {"taker_fee_bp", NX_CT_INT, "Paper venue: taker fee (bp).", "4", 0, 1000, 0, NULL, NULL},
    {"maker_fee_bp", NX_CT_INT, "Paper venue: maker fee (bp).", "2", 0, 1000, 0, NULL, NULL},
    {"max_open_orders", NX_CT_INT,
     "Paper venue: resting orders a session may hold per symbol; more are rejected (Binance "
     "USD-M's limit is 200).",
     "200", 1, 4096, 0, NULL, NULL},
    {"sanity_pct", NX_CT_INT,
     "Paper venue and desk: no fill and no order sized at a price further than this (percent) "
     "from the last accepted price; a stop that would fill there waits for a sane print (two "
     "prints in a row that agree move the reference).",
     "25", 1, 1000, 0, NULL, NULL},
    {"latency_ms", NX_CT_INT,
     "Paper venue: an order reaches the venue this long after it is sent, in market time (a "
     "market order fills at the first trade or candle open from then, a resting order can "
     "fill only from then); 0 = at once.",
     "0", 0, 60000, 0, NULL, NULL},
    {"sessions", NX_CT_ARRAY, "Trading sessions on the paper venue.", "[]", 0, 64, 0, NULL,
     &session_elem},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t market_members[] = {
    {"band_pct", NX_CT_INT,
     "Bad-tick filter: a trade, quote, candle or mark price further than this (percent) from the "
     "median of the symbol's recent accepted prices is held as a suspect; the next print lets it "
     "through (a real move) or quarantines it (a bad tick). 0 turns the band off.",
     "15", 0, 1000, 0, NULL, NULL},
    {"band_window", NX_CT_INT, "Bad-tick filter: recent accepted prices the median is taken over.",
     "15", 3, 63, 0, NULL, NULL},
    {"confirm_prints", NX_CT_INT,
     "Bad-tick filter: following prints that must agree with a suspect before it is let through.",
     "1", 1, 7, 0, NULL, NULL},
    {"backwards_ms", NX_CT_INT,
     "Bad-tick filter: a trade, quote or mark price older than the newest of its stream by more "
     "than this is quarantined.",
     "1000", 0, 86400000, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t storage_members[] = {
    {"key_file", NX_CT_STRING,
     "File holding the master key (base64, mode 0600) that seals users' API keys (a relative "
     "path is in the config file's folder); NEXUS_MASTER_KEY in the environment wins. The "
     "database URL comes from DATABASE_URL (PostgreSQL); without it the embedded SQLite file "
     "data_dir/nexus.db is used.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"batch", NX_CT_INT, "Journal entries per storage transaction at most.", "4096", 1, 65536, 0,
     NULL, NULL},
    {"drain_s", NX_CT_INT,
     "At a stop, how long to keep trying to store the journal when neither the database nor the "
     "local spill file (data_dir/journal.spill) takes it; a second SIGTERM or SIGINT stops "
     "waiting at once.",
     "30", 0, 3600, 0, NULL, NULL},
    {"retain_days", NX_CT_INT,
     "How many days of market time the journal keeps what recovery never needs (market data, "
     "candles, signals, heartbeats, feed status, saved states, decisions that asked no one); "
     "older ones are removed once an hour of market time, and the equity curve keeps one value "
     "a day. Orders, fills, commands, notices and approvals are kept for ever. 0 = keep "
     "everything.",
     "30", 0, 36500, 0, NULL, NULL},
    {"owner_chat_id", NX_CT_INT, "The owner's chat id (Telegram user id); 0 = no owner yet.", "0",
     0, 9007199254740991LL, 0, NULL, NULL},
    {"owner_name", NX_CT_STRING, "The owner's name.", "\"owner\"", 1, 63, 0, NULL, NULL},
    {"catch_up_tasks", NX_CT_BOOL,
     "Scheduled tasks whose time passed while Nexus was down run once at start (false: they "
     "wait for their next time).",
     "true", 0, 0, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const chat_mode_choices[] = {"poll", "webhook", NULL};
static const nx_cnode_t chat_members[] = {
    {"api_url", NX_CT_STRING,
     "Telegram Bot API base URL (a self-hosted Bot API server, or a test server). The bot runs "
     "when NEXUS_TELEGRAM_TOKEN is set in the environment; the token is never read from this "
     "file and never logged.",
     "\"https://api.telegram.org\"", 1, 255, 0, NULL, NULL},
    {"mode", NX_CT_ENUM,
     "poll: long polling with getUpdates; webhook: Telegram POSTs updates to webhook_url, "
     "checked against NEXUS_TELEGRAM_WEBHOOK_SECRET.",
     "\"poll\"", 0, 0, 0, chat_mode_choices, NULL},
    {"poll_timeout_s", NX_CT_INT, "getUpdates long-poll timeout in seconds.", "25", 0, 50, 0, NULL,
     NULL},
    {"webhook_url", NX_CT_STRING, "webhook: the public HTTPS URL given to setWebhook.", "\"\"", 0,
     255, 0, NULL, NULL},
    {"webhook_port", NX_CT_INT,
     "webhook: the local port updates are received on (behind a TLS proxy).", "8443", 1, 65535, 0,
     NULL, NULL},
    {"chat_per_s", NX_CT_INT, "Messages per second to one chat at most.", "1", 1, 30, 0, NULL,
     NULL},
    {"global_per_s", NX_CT_INT, "Messages per second over all chats at most.", "30", 1, 1000, 0,
     NULL, NULL},
    {"confirm_s", NX_CT_INT,
     "How long a question such as /closeall's stays good: a Yes after it closes nothing.", "60",
     1, 3600, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const char *const role_choices[] = {"pending", "subscriber", "admin", "owner", NULL};
static const nx_cnode_t user_members[] = {
    {"id", NX_CT_INT, "The user's Nexus id; sessions name it.", "(required)", 1, 9007199254740991LL,
     NX_CF_REQUIRED, NULL, NULL},
    {"chat_id", NX_CT_INT, "Their Telegram user id (the chat account linked to them).",
     "(required)", 1, 9007199254740991LL, NX_CF_REQUIRED, NULL, NULL},
    {"name", NX_CT_STRING, "A label for people; names need not be unique.", "\"user\"", 1, 63, 0,
     NULL, NULL},
    {"role", NX_CT_ENUM, "What they may do.", "\"subscriber\"", 0, 0, 0, role_choices, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};
static const nx_cnode_t user_elem = {"", NX_CT_OBJECT, "One user.", NULL, 0, 0,
                                     0,  NULL,         user_members};

static const nx_cnode_t endpoint_members[] = {
    {"rest_url", NX_CT_STRING, "REST base (orders, queries, listen keys).", "(the venue's)", 1,
     255, 0, NULL, NULL},
    {"ws_api_url", NX_CT_STRING,
     "WebSocket API (orders at the lowest latency); \"\" sends orders over REST only.",
     "(the venue's)", 0, 255, 0, NULL, NULL},
    {"stream_url", NX_CT_STRING, "WebSocket base of the user-data stream (/ws/<listenKey>).",
     "(the venue's)", 1, 255, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};
static const nx_cnode_t live_members[] = {
    {"binance_usdm", NX_CT_OBJECT,
     "Binance USD-M endpoints (default fapi.binance.com, ws-fapi.binance.com, "
     "fstream.binance.com); a test points them at `nexus replay --venue-sim`.",
     NULL, 0, 0, 0, NULL, endpoint_members},
    {"binance_usdm_testnet", NX_CT_OBJECT,
     "Binance USD-M testnet endpoints (default testnet.binancefuture.com).", NULL, 0, 0, 0, NULL,
     endpoint_members},
    {"recv_window_ms", NX_CT_INT, "recvWindow of signed requests.", "5000", 100, 60000, 0, NULL,
     NULL},
    {"answer_timeout_ms", NX_CT_INT,
     "An order with no answer this long is queried by its client id (never sent again blindly).",
     "5000", 100, 60000, 0, NULL, NULL},
    {"quota_pct", NX_CT_INT, "Stay at or under this share of every venue quota.", "80", 10, 100, 0,
     NULL, NULL},
    {"margin_type", NX_CT_ENUM,
     "Margin type set on each symbol before a session's first entry: isolated, cross, or keep "
     "(the account's own). The venue refuses a change while the symbol has a position or open "
     "orders; the person is told and the account's own stays.",
     "\"keep\"", 0, 0, 0, margin_type_choices, NULL},
    {"foreign", NX_CT_ENUM,
     "What a live session does with an order or position on its account that Nexus did not "
     "make (found at start, after a stream gap, or when it fills): hold (stop opening new "
     "trades and tell the person; such a position gets a stop at the venue) or adopt (tell the "
     "person, leave such orders alone, and take such a position over as the session's own "
     "trade, with its default stop).",
     "\"hold\"", 0, 0, 0, foreign_choices, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t recorder_members[] = {
    {"dir", NX_CT_STRING,
     "Folder for the recordings (made if missing; its parent must exist); relative to the "
     "config file's folder. \"\" records nothing.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"max_mb", NX_CT_INT,
     "Megabytes the recordings may take together: each file is max_mb / files, and the oldest "
     "goes when a new one starts.",
     "1024", 1, 1048576, 0, NULL, NULL},
    {"files", NX_CT_INT, "Files kept (the newest).", "8", 2, 1000, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t web_members[] = {
    {"listen", NX_CT_STRING,
     "Where the engine serves /metrics (Prometheus) and /health: HOST:PORT. Loopback by "
     "default: put a proxy with TLS and authentication in front before opening it to a network. "
     "Port 0 takes any free port (the log says which); \"\" serves nothing. A port in use is "
     "logged and the engine trades on without it.",
     "\"127.0.0.1:8080\"", 0, 80, 0, NULL, NULL},
    {"health_stale_s", NX_CT_INT,
     "/health says not ready (503) while a feed has brought no market event for this long.", "60",
     1, 86400, 0, NULL, NULL},
    {"public_url", NX_CT_STRING,
     "The address people open the web pages at, as sign-in links give it (behind a proxy: "
     "its https:// address). \"\" gives http://HOST:PORT of listen.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"link_ttl_s", NX_CT_INT,
     "A sign-in link (chat's /dashboard) works once, within this many seconds.", "600", 1, 86400, 0,
     NULL, NULL},
    {"session_ttl_s", NX_CT_INT,
     "A signed-in browser stays signed in this long after its last request.", "28800", 60, 2592000,
     0, NULL, NULL},
    {"files", NX_CT_STRING,
     "The folder of the dashboard's built pages (index.html, app.js, the chart library), served "
     "under /ui/. \"\" takes the build's own (scripts/dev builds them with npm).",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"reports", NX_CT_STRING,
     "A folder of backtest reports (nexus backtest --report DIR/NAME.html): the dashboard lists "
     "them and opens them for anyone signed in. \"\" lists none.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"tls_cert", NX_CT_STRING,
     "With tls_key: serve HTTPS with this certificate (PEM; the chain after it). Sign-in links "
     "then start https:// and the cookie is Secure. \"\" serves plain HTTP.",
     "\"\"", 0, 255, 0, NULL, NULL},
    {"tls_key", NX_CT_STRING, "The certificate's private key (PEM), read once at start.", "\"\"", 0,
     255, 0, NULL, NULL},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

static const nx_cnode_t root_members[] = {
    {"engine", NX_CT_OBJECT, "Threads, rings and clock.", NULL, 0, 0, 0, NULL, engine_members},
    {"log", NX_CT_OBJECT, "Logging.", NULL, 0, 0, 0, NULL, log_members},
    {"data_dir", NX_CT_STRING,
     "Folder for the embedded database and other state, made if missing (its parent must "
     "exist). A relative path is in the config file's folder; when the key is left out, "
     "nexus-data in the working directory.",
     "\"./nexus-data\"", 1, 255, 0, NULL, NULL},
    {"symbols", NX_CT_ARRAY, "Instruments to trade, with their venue rules.", "[]", 0, 256, 0, NULL,
     &symbol_elem},
    {"feeds", NX_CT_ARRAY,
     "Market-data connections. Secrets (Alpaca keys) come from the "
     "environment: NEXUS_ALPACA_KEY_ID, NEXUS_ALPACA_SECRET_KEY.",
     "[]", 0, 8, 0, NULL, &feed_elem},
    {"cortex", NX_CT_OBJECT, "Candles, indicators and strategy plugins.", NULL, 0, 0, 0, NULL,
     cortex_members},
    {"market", NX_CT_OBJECT,
     "What market data is believed: the bad-tick filter between the feeds and everything that "
     "trades.",
     NULL, 0, 0, 0, NULL, market_members},
    {"trading", NX_CT_OBJECT, "Paper trading: the venue's costs and the sessions that trade.", NULL,
     0, 0, 0, NULL, trading_members},
    {"live", NX_CT_OBJECT,
     "Live venues: where sessions with execution binance-usdm(-testnet) send their orders.", NULL,
     0, 0, 0, NULL, live_members},
    {"storage", NX_CT_OBJECT, "Durable state: users, sessions, the journal.", NULL, 0, 0, 0, NULL,
     storage_members},
    {"users", NX_CT_ARRAY,
     "Users created at start when their id is not in the database yet (seeds: a fresh database, "
     "the main job's replay). A user already stored keeps what the database says.",
     "[]", 0, 64, 0, NULL, &user_elem},
    {"chat", NX_CT_OBJECT, "The Telegram bot.", NULL, 0, 0, 0, NULL, chat_members},
    {"web", NX_CT_OBJECT, "The engine's HTTP server: the dashboard, Prometheus metrics and health.",
     NULL, 0, 0, 0, NULL, web_members},
    {"recorder", NX_CT_OBJECT,
     "The flight recorder: `nexus run` keeps every market event it takes in rotating event "
     "files, so any run can be re-run through `nexus backtest`.",
     NULL, 0, 0, 0, NULL, recorder_members},
    {NULL, 0, NULL, NULL, 0, 0, 0, NULL, NULL},
};

const nx_cnode_t nx_config_session_node = {"", NX_CT_OBJECT, "One trading session.", NULL, 0, 0,
                                           0,  NULL,         session_members};

const nx_cnode_t nx_config_root = {"",   NX_CT_OBJECT, "Nexus configuration.", NULL, 0, 0, 0,
                                   NULL, root_members};
