/*
 * desk_state.h — the desk's saved state: its format, and the one codec
 * that writes and reads it.
 *
 * After every step that changed a session (an order, a fill, a decision, a
 * command) the desk journals the session's whole state as one JSON text in
 * NX_EV_STATE parts; the store keeps the latest text per session and
 * derives the positions, locks and equity tables from it; recovery opens it
 * again after a restart; the scheduled reports read it. Every one of them
 * goes through this codec: nobody else builds or parses the text.
 *
 * Format, version 1. A session's state is one object:
 *   {"v":1,"name":..,"now":ns,
 *    "account":{"balance","realized","fees","trades","wins","equity",
 *               "balance_dec","equity_dec"},
 *    "desk":{"mode","start_equity","peak","max_dd_bp","notifications",
 *            "approvals","orders","approved","declined","expired",
 *            "exits":[16 counts by exit reason],"rejects":[counts by reason]},
 *    "risk":{"equity","peak","day_ms","week_ms","week_equity","day_pnl",
 *            "week_pnl","trades_today","losses","halts","tripped","kill",
 *            "paused","held","halt_until",
 *            "day_trades":[count, 8 trading-day indices] (only when count > 0)},
 *    "locks":[[symbol id or -1 (every symbol), reason, until_ns]...],
 *    "symbols":[[id, cooldown_until, n_stopouts, n_results,
 *                [16 stop-out times], [16 trade results]]...],
 *    "positions":[{"sym","name","qty","entry_value","exit_value",
 *                  "entry_qty","exit_qty","fees","sl","tp",
 *                  "trail":[offset, activate, best, stop, on, at_venue],
 *                  "deadline","opened","last_px","lev","sl_id","tp_id",
 *                  "funding" (only when not 0),"qty_dec","avg_px","sl_dec","tp_dec"}...],
 *    "approvals":[{"id","sym","venue","asked_ns","expires_ns",
 *                  "dec":[verdict, reason, side, reduce_only, leverage, qty,
 *                         price, stop_loss, take_profit],
 *                  "sig":[confidence, sl_value, tp_value, sl_price,
 *                         tp_price, ref_price, atr, tf_s, strategy, side,
 *                         sl_kind, tp_kind, reason]}...]}
 * The desk's own state (journaled as session 0) is
 *   {"v":1,"global_kill":0|1,"atr":[latest ATR per symbol id]}.
 * Integers are the engine's own units (price, qty and quote units, ns) so a
 * restore is exact; entry_value and exit_value (price x qty, 128 bits) are
 * decimal strings; the *_dec fields repeat money, quantities and levels as
 * decimal text for people and dashboards (the store copies them into its
 * tables), and the signal's doubles are written with 17 significant digits,
 * so they read back bit for bit.
 *
 * The types below are that format as C structs, in plain integers, so the
 * store and the reports read a state without knowing the shield or the
 * order manager; the desk converts from and to its own state.
 *
 * Threads and cost: pure functions, any thread. Encoding writes into the
 * caller's buffer and never allocates (the desk encodes on the engine
 * thread); decoding parses with jansson and allocates while it runs (start-
 * up and service thread only).
 */
#ifndef NX_DESK_STATE_H
#define NX_DESK_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/fixed.h"
#include "nx/symtab.h" /* NX_SYMBOL_NAME_MAX */

#define NX_STATE_VERSION       1
#define NX_STATE_TEXT_MAX      (64 * 1024) /* a saved text never exceeds this */
#define NX_STATE_MAX_SYMBOLS   64          /* = NX_SHIELD_MAX_SYMBOLS (the desk checks) */
#define NX_STATE_MAX_LOCKS     32          /* = NX_SHIELD_MAX_LOCKS */
#define NX_STATE_RING          16          /* = NX_SHIELD_RING */
#define NX_STATE_DAY_TRADES    8           /* = NX_SHIELD_DAY_TRADES */
#define NX_STATE_MAX_APPROVALS 256         /* pending requests of the whole desk */
#define NX_STATE_EXITS         16          /* exit reasons counted */
#define NX_STATE_MAX_REJECTS   64          /* reject reasons counted (>= NX_REJ_COUNT) */
#define NX_STATE_NAME_MAX      32          /* a session's name, with its NUL */

typedef struct nx_state_account {
    int64_t balance, realized, fees, equity; /* quote units */
    uint32_t trades, wins;
    char balance_dec[NX_FIXED_FMT_MAX], equity_dec[NX_FIXED_FMT_MAX]; /* for people */
} nx_state_account_t;

typedef struct nx_state_desk {
    int mode; /* nx_mode_t */
    int64_t start_equity, peak, max_dd_bp;
    uint64_t notifications, approvals, orders, approved, declined, expired;
    uint64_t exits[NX_STATE_EXITS];         /* closed trades by nx_exit_reason_t */
    uint32_t n_rejects;                     /* entries of rejects written or read */
    uint64_t rejects[NX_STATE_MAX_REJECTS]; /* decisions by nx_reject_t */
} nx_state_desk_t;

typedef struct nx_state_risk {
    int64_t equity, peak, day_ms, week_ms, week_equity, day_pnl, week_pnl, halt_until;
    uint32_t trades_today, losses, halts;
    uint8_t tripped, kill, paused, held;
    uint32_t n_day_trades;                   /* day trades counted so far (the PDT rule) */
    int32_t day_trades[NX_STATE_DAY_TRADES]; /* their trading-day indices, a ring */
} nx_state_risk_t;

typedef struct nx_state_lock {
    int64_t symbol;   /* symbol id, -1 = every symbol */
    uint32_t reason;  /* nx_reject_t */
    int64_t until_ns; /* INT64_MAX = until removed */
} nx_state_lock_t;

typedef struct nx_state_symbol {
    int64_t sym; /* symbol id (the reader checks it is one) */
    int64_t cooldown_until;
    uint32_t n_stopouts, n_results;
    int64_t stopouts[NX_STATE_RING], results[NX_STATE_RING];
} nx_state_symbol_t;

typedef struct nx_state_position {
    int64_t sym; /* symbol id (the reader checks it is one, and its name) */
    char name[NX_SYMBOL_NAME_MAX + 1];
    int64_t qty;                      /* signed qty units */
    __int128 entry_value, exit_value; /* price x qty */
    int64_t entry_qty, exit_qty, fees, sl, tp;
    int64_t funding; /* quote units paid (< 0: received); "funding", written when not 0 */
    int64_t trail_offset, trail_activate, trail_best, trail_stop;
    uint8_t trail_on, trail_at_venue, leverage;
    int64_t deadline_ns, opened_ns, last_px;
    uint64_t sl_clid, tp_clid;
    /* for people: the same values as decimal text at the symbol's scales */
    char qty_dec[NX_FIXED_FMT_MAX], avg_px[NX_FIXED_FMT_MAX], sl_dec[NX_FIXED_FMT_MAX],
        tp_dec[NX_FIXED_FMT_MAX];
    uint8_t ok; /* decoded: every exact field read (trail whole, values numbers) */
} nx_state_position_t;

typedef struct nx_state_approval {
    int64_t id, sym; /* request id (1..UINT32_MAX), symbol id: the reader checks both */
    uint32_t venue;
    int64_t asked_ns, expires_ns;
    /* the decision asked for (shield's nx_decision_t) */
    int verdict, reason;
    uint32_t side, reduce_only, leverage;
    int64_t qty, price, stop_loss, take_profit;
    nx_ev_signal_t signal; /* the signal it came from */
    uint8_t ok;            /* decoded: dec and sig arrays whole */
} nx_state_approval_t;

typedef struct nx_state_session {
    char name[NX_STATE_NAME_MAX];
    int64_t now; /* the desk's clock when saved */
    uint8_t has_account;
    nx_state_account_t account;
    nx_state_desk_t desk;
    nx_state_risk_t risk;
    uint32_t n_locks, n_symbols, n_positions, n_approvals;
    nx_state_lock_t locks[NX_STATE_MAX_LOCKS];
    nx_state_symbol_t symbols[NX_STATE_MAX_SYMBOLS];
    nx_state_position_t positions[NX_STATE_MAX_SYMBOLS];
    nx_state_approval_t approvals[NX_STATE_MAX_APPROVALS];
} nx_state_session_t;

typedef struct nx_state_global {
    int global_kill;
    uint32_t n_atr;
    int64_t atr[NX_STATE_MAX_SYMBOLS]; /* latest ATR per symbol id, price units */
} nx_state_global_t;

/* Write a session's state as text into buf (NUL-terminated); *len = its
 * length. Every field is written as it is in *s, the decimal texts too
 * (the writer formats them at its scales), so encoding what was decoded
 * gives the same text back. Returns 0 or NX_ETOOLONG (buf too small:
 * nothing usable was written). No allocation. */
int nx_state_encode(const nx_state_session_t *s, char *buf, size_t cap, size_t *len);
int nx_state_encode_global(const nx_state_global_t *g, char *buf, size_t cap, size_t *len);

/* Read a session's saved text into *out (every field not in the text is
 * 0). Returns 0, or NX_EINVAL when the text is not a version-1 state (not
 * JSON, not an object, another version, more entries than the limits) with
 * the reason in err. A position or approval whose exact fields are
 * malformed is kept with ok = 0: what it means is the reader's call (the
 * desk refuses to restore it, the store still shows it). Allocates while
 * it runs. */
int nx_state_decode(const char *text, size_t len, nx_state_session_t *out, char *err, size_t cap);
int nx_state_decode_global(const char *text, size_t len, nx_state_global_t *out, char *err,
                           size_t cap);

#endif /* NX_DESK_STATE_H */
