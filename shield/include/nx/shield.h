/*
 * shield.h — per-user risk between a signal and an order.
 *
 * Pure and deterministic: no I/O, no allocation, no clock (time is a
 * parameter), no globals — the caller owns the configuration and the state,
 * so a decision can be replayed and tested exactly. For each user session
 * subscribed to a signal's symbol the desk calls nx_shield_decide(), which
 * answers approve / resize / reject (with a reason code that reaches the
 * user), or, by mode, notify (WATCHER) or ask (COPILOT). Outcomes flow back
 * through nx_shield_on_trade_closed() (breaker, protections, P&L limits)
 * and nx_shield_on_position() (exposure).
 *
 * Money is integers: equity, P&L and notional in quote units at the
 * symbol's price scale (USDT x 10^price_scale), quantities in qty units
 * (10^-qty_scale), prices in price units. Products go through 128 bits.
 *
 * Threads: one session's state belongs to the engine thread.
 */
#ifndef NX_SHIELD_H
#define NX_SHIELD_H

#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

typedef enum nx_mode {
    NX_MODE_WATCHER = 0, /* signals become notifications only */
    NX_MODE_COPILOT = 1, /* each trade needs the user's approval */
    NX_MODE_PILOT = 2,   /* autonomous */
} nx_mode_t;

/* Why a signal did not become an order (the table only grows at the end). */
typedef enum nx_reject {
    NX_REJ_NONE = 0,
    NX_REJ_KILL_SWITCH,
    NX_REJ_BREAKER,
    NX_REJ_COOLDOWN,
    NX_REJ_LOCKED,
    NX_REJ_MAX_POSITIONS,
    NX_REJ_EXPOSURE,
    NX_REJ_DAILY_LOSS,
    NX_REJ_WEEKLY_LOSS,
    NX_REJ_DRAWDOWN,
    NX_REJ_STALE_DATA,
    NX_REJ_MIN_NOTIONAL,
    NX_REJ_PAUSED,
    NX_REJ_WATCHER,
    NX_REJ_MAX_TRADES,
    NX_REJ_NO_POSITION,   /* an exit for a position the user does not hold */
    NX_REJ_HAS_POSITION,  /* an entry while a position on the symbol is open */
    NX_REJ_EXPIRED,       /* COPILOT: approved after the request expired */
    NX_REJ_DRIFT,         /* COPILOT: the price moved beyond the allowed drift */
    NX_REJ_BAD_SIGNAL,    /* no price, no ATR for an ATR stop, unknown side; the desk: a
                           * signal priced outside its sanity band of the market */
    NX_REJ_DECLINED,      /* COPILOT: the user rejected the request */
    NX_REJ_STORAGE,       /* nothing can be made durable now (storage down): no new entry */
    NX_REJ_MARKET_CLOSED, /* US stocks: the market is closed (night, weekend, holiday) */
    NX_REJ_NEAR_CLOSE,    /* US stocks: within the no-new-entries window before the close */
    NX_REJ_PDT,           /* pattern-day-trader rule: a fourth day trade in five business days
                             with equity under the rule's minimum */
    NX_REJ_COUNT
} nx_reject_t;

/* Short reason name ("breaker", "cooldown", ...). */
const char *nx_reject_name(nx_reject_t r);

typedef enum nx_verdict {
    NX_V_REJECT = 0,
    NX_V_APPROVE, /* order as asked */
    NX_V_RESIZE,  /* order, smaller than asked (a limit cut it) */
    NX_V_NOTIFY,  /* WATCHER: tell the user, do not trade */
    NX_V_ASK,     /* COPILOT: create an approval request */
} nx_verdict_t;

#define NX_SHIELD_MAX_SYMBOLS 64
#define NX_SHIELD_MAX_LOCKS   32
#define NX_SHIELD_RING        16 /* stop-outs and trade results kept per symbol */
#define NX_SHIELD_DAY_TRADES  8  /* day trades remembered (the rule looks at the last 5 days) */
#define NX_PDT_DAY_TRADES     3  /* day trades allowed in 5 business days under the minimum */
#define NX_PDT_DAYS           5

typedef struct nx_risk_conf {
    nx_mode_t mode;
    uint32_t size_pct_bp;         /* margin per trade, basis points of equity (500 = 5%) */
    uint32_t risk_pct_bp;         /* > 0: size so the stop loses this share of equity */
    uint32_t leverage;            /* 1..20 */
    uint32_t default_stop_bp;     /* stop-loss when the signal gives none (1000 = 10%), 0 = none */
    uint32_t max_positions;       /* open positions, 0 = no limit */
    int64_t max_symbol_exposure;  /* notional per symbol, quote units, 0 = no limit */
    int64_t max_total_exposure;   /* notional in total, quote units, 0 = no limit */
    uint32_t max_trades_day;      /* entries per UTC day, 0 = no limit */
    int64_t daily_loss_stop;      /* realised loss in a UTC day that stops entries, 0 = none */
    uint32_t weekly_loss_bp;      /* realised loss in a week, bp of its opening equity, 0 = none */
    uint32_t max_drawdown_bp;     /* equity below peak by this much locks entries, 0 = none */
    int64_t max_drawdown_lock_ns; /* how long that lock lasts */
    int64_t stale_ns;             /* entries refused on data older than this, 0 = never */
    uint32_t breaker_losses;      /* consecutive losing trades that trip the breaker (3) */
    int64_t breaker_halt_ns;      /* 0: tripped until a manual reset; else auto-resume after */
    uint32_t breaker_max_halts;   /* with a halt duration: the trip after this many needs a reset */
    int64_t cooldown_ns;          /* per symbol after a signal or exit, at the reference volatility */
    uint32_t cooldown_ref_bp;     /* reference ATR/price (bp); cooldown scales by ratio, 0.5x..4x */
    uint32_t sl_guard_stops;      /* stop-loss guard: this many stop-outs ... */
    int64_t sl_guard_window_ns;   /* ... within this window ... */
    int64_t sl_guard_lock_ns;     /* ... lock the pair this long (0 = guard off) */
    uint32_t low_profit_trades;   /* low-profit pairs: over the last N closed trades ... */
    int64_t low_profit_min;       /* ... a total P&L below this (quote units) ... */
    int64_t low_profit_lock_ns;   /* ... locks the pair this long (0 = off) */
    int64_t approval_ttl_ns;      /* COPILOT request lifetime (5 minutes) */
    uint32_t approval_drift_bp;   /* COPILOT: refuse when price moved more than this */
    uint8_t market_hours;         /* entries only while the venue's market is open (US stocks:
                                     the input's market_closed and to_close_ns say when) */
    int64_t close_buffer_ns;      /* with market_hours: no new entry this close to the close */
    int64_t pdt_min_equity;       /* pattern-day-trader rule: under this equity (quote units;
                                     FINRA's $25,000), no entry once NX_PDT_DAY_TRADES day
                                     trades were made in the last NX_PDT_DAYS business days
                                     (a fourth could follow); 0 = off */
} nx_risk_conf_t;

typedef struct nx_lock {
    uint32_t symbol;  /* NX_SYMBOL_NONE = every symbol */
    uint8_t reason;   /* nx_reject_t that caused it (LOCKED by stop-loss guard, DRAWDOWN, ...) */
    uint8_t active;
    int64_t until_ns; /* INT64_MAX = until removed */
} nx_lock_t;

typedef struct nx_risk_symbol {
    int64_t position;      /* signed qty units: > 0 long, < 0 short */
    int64_t notional;      /* |position| x entry price, quote units */
    int64_t cooldown_until;
    int64_t stopouts[NX_SHIELD_RING]; /* times of recent stop-outs */
    int64_t results[NX_SHIELD_RING];  /* P&L of recent closed trades */
    uint32_t n_stopouts, n_results;   /* written so far (ring index = n % RING) */
} nx_risk_symbol_t;

typedef struct nx_risk_state {
    int64_t equity;      /* quote units */
    int64_t peak_equity;
    int64_t day_start_ms, week_start_ms; /* UTC day / week (Monday) being counted */
    int64_t week_start_equity;
    int64_t day_pnl, week_pnl; /* realised */
    uint32_t trades_today;
    uint32_t consecutive_losses;
    uint32_t halts;       /* breaker trips with a halt duration so far */
    uint8_t tripped;      /* breaker: 1 = entries stopped */
    uint8_t kill;         /* this user's kill switch */
    uint8_t paused;       /* /pause */
    int64_t halt_until;   /* breaker auto-resume time, INT64_MAX = manual reset */
    uint32_t open_positions;
    int64_t total_exposure;
    nx_lock_t locks[NX_SHIELD_MAX_LOCKS];
    nx_risk_symbol_t sym[NX_SHIELD_MAX_SYMBOLS];
    int32_t day_trades[NX_SHIELD_DAY_TRADES]; /* trading-day index of each day trade (a ring) */
    uint32_t n_day_trades;                    /* written so far (ring index = n % size) */
} nx_risk_state_t;

typedef struct nx_shield_input {
    const nx_ev_signal_t *signal;
    const nx_symbol_t *sym; /* the symbol and its rules: id, scales, tick, lot, min notional */
    int64_t price;       /* current price (price units) the order would trade at */
    int64_t data_age_ns; /* how long the symbol has been silent (engine clock) */
    int global_kill;     /* the owner's global kill switch */
    int storage_down;    /* nothing can be made durable: entries refused, exits pass */
    int sentinel;        /* from the Sentinel strategy (by its id): its exits need no approval */
    int market_closed;   /* with conf market_hours: the venue's market is closed now */
    int64_t to_close_ns; /* with conf market_hours: time left to today's close, 0 = unknown */
    int32_t trading_day; /* with the PDT rule: today's trading-day index (nx_nyse_day), 0 =
                            unknown (the rule then refuses nothing) */
} nx_shield_input_t;

typedef struct nx_decision {
    nx_verdict_t verdict;
    nx_reject_t reason; /* why rejected, or why resized (the limit that cut it) */
    uint8_t side;       /* NX_SIDE_BUY / NX_SIDE_SELL of the order */
    uint8_t reduce_only;
    uint8_t leverage;
    int64_t qty;        /* qty units, a multiple of lot_size */
    int64_t price;      /* reference price (price units) */
    int64_t stop_loss;  /* price units, 0 = none */
    int64_t take_profit;
} nx_decision_t;

void nx_risk_conf_default(nx_risk_conf_t *c);
/* 0, or NX_EINVAL naming nothing more if a value is outside its range
 * (leverage 1..20, bp <= 10000, ...). */
int nx_risk_conf_check(const nx_risk_conf_t *c);
void nx_risk_state_init(nx_risk_state_t *s, int64_t equity, int64_t now_ns);

/* Decide on one signal for one session. Always fills *out. */
void nx_shield_decide(const nx_risk_conf_t *c, nx_risk_state_t *s, const nx_shield_input_t *in,
                      int64_t now_ns, nx_decision_t *out);

/* COPILOT: the user approved request `asked` (a NX_V_ASK decision at price
 * asked->price) after it waited waited_ns for them — a person's time, on
 * the engine clock, not the market's. Re-decides at now_ns with the
 * current state and price: executes only if the request has not expired
 * (approval_ttl) and the price has not drifted beyond approval_drift_bp;
 * otherwise a rejection with NX_REJ_EXPIRED / NX_REJ_DRIFT (or whatever
 * limit now applies). */
void nx_shield_approve(const nx_risk_conf_t *c, nx_risk_state_t *s, const nx_shield_input_t *in,
                       const nx_decision_t *asked, int64_t waited_ns, int64_t now_ns,
                       nx_decision_t *out);

/* A position changed (fill): its signed qty and its notional at entry. */
void nx_shield_on_position(nx_risk_state_t *s, uint32_t symbol, int64_t position,
                           int64_t notional);

/* A trade closed with realised P&L `pnl` (quote units, after fees);
 * stopout = closed by its stop-loss. Updates equity, the daily/weekly
 * totals, the breaker, the cooldown and the protections. */
void nx_shield_on_trade_closed(const nx_risk_conf_t *c, nx_risk_state_t *s, uint32_t symbol,
                               int64_t pnl, int stopout, int64_t atr, int64_t price,
                               int64_t now_ns);

/* Mark-to-market equity (for the drawdown guard). */
void nx_shield_on_equity(const nx_risk_conf_t *c, nx_risk_state_t *s, int64_t equity,
                         int64_t now_ns);

/* A day trade was made (a position opened and closed on one trading day,
 * trading_day its index): counted for the pattern-day-trader rule. */
void nx_shield_on_day_trade(nx_risk_state_t *s, int32_t trading_day);
/* Day trades in the NX_PDT_DAYS business days ending at trading_day. */
uint32_t nx_shield_day_trades(const nx_risk_state_t *s, int32_t trading_day);

void nx_shield_reset_breaker(nx_risk_state_t *s);
/* Remove the locks of `symbol` (NX_SYMBOL_NONE: the global ones). Returns how many. */
int nx_shield_unlock(nx_risk_state_t *s, uint32_t symbol);
/* The active lock that applies to symbol at now, or NULL. */
const nx_lock_t *nx_shield_lock_for(const nx_risk_state_t *s, uint32_t symbol, int64_t now_ns);

#endif /* NX_SHIELD_H */
