/*
 * oms.h — the order manager: intents in, orders out through one venue
 * bridge, positions and money kept in integers, every position protected.
 */
#ifndef NX_OMS_H
#define NX_OMS_H

#include <stdint.h>

#include "nx/bridge.h"
#include "nx/event.h"
#include "nx/symtab.h"

/*
 * The order manager: intents in, orders out through one bridge, positions
 * and money kept in integers, and every position protected.
 *  - Client ids: nx_clid_make(session, ++sequence); an order is stored
 *    before the venue sees it, so a venue that answers inside place()
 *    (the paper venue) finds it.
 *  - Venue updates may come twice or out of order: a status only moves
 *    forward (new < acked < partial < filled/cancelled/rejected/expired,
 *    the last four final) and a fill counts once by its fill id, so the
 *    money does not depend on the delivery order.
 *  - On the entry's fill the stop-loss and take-profit go to the venue at
 *    once as reduce-only STOP_MARKET / TAKE_PROFIT_MARKET orders; if the
 *    stop cannot be placed the position is closed at market (emergency);
 *    a protective order the venue cancels is placed again; when the
 *    position closes the other one is cancelled. A trailing stop (with an
 *    activation price) is followed by the engine on every price and moved
 *    to the venue by amending the stop-loss order, so it fires at its level
 *    like any stop (emulated, with an exit at market, on a venue that
 *    cannot amend); time limits exit at market.
 *  - Money: a position's P&L is its cash flow (sum of sells minus buys,
 *    price x qty) converted to quote units once, floor, minus its fees and
 *    the funding it paid — exact to the smallest unit and independent of
 *    fill order.
 * Engine thread; no allocation after create. The restore and resume calls
 * below run at start-up, before the engine thread.
 */
typedef enum nx_exit_reason {
    NX_EXIT_NONE = 0,
    NX_EXIT_TP,
    NX_EXIT_SL,
    NX_EXIT_TRAILING,
    NX_EXIT_TIME,
    NX_EXIT_SENTINEL,
    NX_EXIT_SIGNAL,
    NX_EXIT_MANUAL,
    NX_EXIT_PANIC,
    NX_EXIT_EMERGENCY, /* the stop could not be placed */
    NX_EXIT_LIQUIDATION, /* the venue liquidated the position */
    NX_EXIT_ADL,         /* the venue's auto-deleveraging closed it */
} nx_exit_reason_t;

const char *nx_exit_reason_name(nx_exit_reason_t r);

#define NX_OMS_MAX_SESSIONS 64
#define NX_OMS_MAX_SYMBOLS  64
#define NX_OMS_MAX_ORDERS   256 /* per session, recycled once final */
#define NX_SESSION_ALL      0xffffffffu

typedef struct nx_trade_closed {
    uint32_t session, symbol;
    nx_exit_reason_t reason;
    int64_t qty;      /* qty units closed (> 0) */
    int8_t dir;       /* +1 long, -1 short */
    int64_t entry_px; /* average, price units */
    int64_t exit_px;  /* average, price units */
    int64_t pnl;      /* quote units, after fees and funding */
    int64_t fees;
    int64_t funding;  /* quote units paid in funding while it was open (< 0: received) */
    int64_t opened_ns, closed_ns;
} nx_trade_closed_t;

typedef struct nx_oms_opts {
    const nx_symtab_t *symtab;
    nx_bridge_t *bridge;
    uint32_t maint_margin_bp; /* for the approximate liquidation price (40 = 0.4%) */
    void (*on_closed)(void *ctx, const nx_trade_closed_t *t);
    void (*journal)(void *ctx, const nx_event_t *ev); /* every intent and update */
    void *ctx;
} nx_oms_opts_t;

typedef struct nx_position_info {
    int64_t qty;        /* signed qty units */
    int64_t avg_px;     /* price units */
    int64_t sl, tp;     /* protective levels, 0 = none */
    int64_t trail_stop; /* current trailing stop, 0 = not active */
    int64_t liq_px;     /* approximate liquidation price, 0 = none */
    int64_t unrealized; /* quote units at the last price, after fees and funding */
    int64_t fees;
    int64_t funding; /* quote units paid so far (< 0: received) */
    uint8_t leverage;
    uint8_t protected_sl; /* a live stop-loss order is at the venue */
    uint8_t protected_tp; /* a live take-profit order is at the venue */
} nx_position_info_t;

typedef struct nx_account_info {
    int64_t balance;    /* quote units: initial + realised P&L (after fees) */
    int64_t realized;   /* sum of closed trades' P&L */
    int64_t fees;       /* all fees paid */
    int64_t margin;     /* held by open positions: entry notional / leverage */
    int64_t unrealized; /* open positions at the last price, after their fees */
    int64_t equity;     /* balance + unrealized */
    int64_t available;  /* equity - margin: what a new entry may use */
    uint32_t trades, wins, open_positions, open_orders;
    uint64_t duplicates, unknown_updates; /* venue updates ignored */
} nx_account_info_t;

typedef struct nx_oms nx_oms_t;

nx_oms_t *nx_oms_create(const nx_oms_opts_t *o);
void nx_oms_destroy(nx_oms_t *m);
/* Open the books of a session with a starting balance (quote units). */
int nx_oms_add_session(nx_oms_t *m, uint32_t session, int64_t balance);
/* After a restart: client ids of the session continue after sequence
 * `last` (the highest stored), so no id is ever used twice. */
int nx_oms_resume_ids(nx_oms_t *m, uint32_t session, uint64_t last);
/* Open a position: intent->session/side/qty/leverage/stop_loss/take_profit/
 * trail_offset/trail_activate are used; the client id is assigned here.
 * time_limit_ns > 0 closes it after that long. Returns 0, NX_ESTATE (a
 * position or entry is already open on the symbol), NX_EPERM (its margin,
 * qty x last price / leverage, exceeds the available equity), NX_EINVAL,
 * NX_ENOENT (unknown session) or the venue's error. */
int nx_oms_enter(nx_oms_t *m, uint32_t symbol, const nx_ev_order_intent_t *intent,
                 int64_t time_limit_ns, int64_t now_ns);
/* Close a position at market, cancelling its protective orders. */
int nx_oms_exit(nx_oms_t *m, uint32_t session, uint32_t symbol, nx_exit_reason_t why,
                int64_t now_ns);
/* Close every position and cancel every order of a session, or of all. */
int nx_oms_panic(nx_oms_t *m, uint32_t session, int64_t now_ns);
/* A venue's order update (the bridge's callback lands here). A fill with
 * client_id 0 and reason NX_OFORCED_* is the venue's own (liquidation,
 * auto-deleveraging): it reduces the session's position, once per fill
 * id, and closes the trade with that reason when the position is flat. */
void nx_oms_on_update(nx_oms_t *m, uint32_t symbol, const nx_ev_order_update_t *u);
/* A price (trade or candle close; for a candle, its low and high too):
 * marks to market, moves trailing stops and fires them, ends time limits. */
void nx_oms_on_price(nx_oms_t *m, uint32_t symbol, int64_t price, int64_t low, int64_t high,
                     int64_t now_ns);
int nx_oms_position(const nx_oms_t *m, uint32_t session, uint32_t symbol, nx_position_info_t *out);
/* A perpetual's funding settles on the session's open position on the
 * symbol: it pays qty x mark x rate (rate_e8 = the rate x 10^8; a long
 * pays a positive rate, a short receives it), in quote units rounded
 * down, so a fraction of a unit always goes against the session. The sum
 * is the position's (nx_position_info_t.funding) and comes off its P&L
 * when it closes, as its fees do. Returns what was paid (< 0: received),
 * 0 if the session holds nothing on the symbol. */
int64_t nx_oms_funding(nx_oms_t *m, uint32_t session, uint32_t symbol, int64_t mark_px,
                       int64_t rate_e8);
/* The time of the market event about to reach the venue: a fill it causes
 * (a stop, a target) closes its trade at this time. */
void nx_oms_clock(nx_oms_t *m, int64_t now_ns);

/* What an open position is, whole, for saving it and for opening it again
 * after a restart: its money exactly (entry and exit value as price x qty),
 * its protection and trailing state, and the client ids of its protective
 * orders at the venue. */
typedef struct nx_oms_pos_state {
    int64_t qty; /* signed qty units */
    __int128 entry_value, exit_value;
    int64_t entry_qty, exit_qty, fees;
    int64_t sl, tp, trail_offset, trail_activate, trail_best, trail_stop;
    int64_t deadline_ns, opened_ns, last_px;
    uint64_t sl_clid, tp_clid;
    uint8_t leverage, trail_on, trail_at_venue;
    int64_t funding;
} nx_oms_pos_state_t;

/* 0 with the state of an open position, NX_ENOENT if flat (or no session). */
int nx_oms_save_position(const nx_oms_t *m, uint32_t session, uint32_t symbol,
                         nx_oms_pos_state_t *out);
/* Open a position again as saved, with its stop-loss and take-profit orders
 * as resting at the venue (sl_clid/tp_clid, 0 = none) at their levels. No
 * order is sent and nothing is journaled: the venue already holds them.
 * NX_ESTATE if the symbol is not flat, NX_EINVAL, NX_ENOENT, NX_EFULL. */
int nx_oms_restore_position(nx_oms_t *m, uint32_t session, uint32_t symbol,
                            const nx_oms_pos_state_t *st);
/* Take over a position the venue holds and the order manager does not (a
 * person's own, with live.foreign "adopt"): booked as opened at the venue's
 * average entry price `entry_px` for `qty` (signed qty units; no fee, the
 * venue took it before Nexus knew), then protected as any entry fill is: a
 * reduce-only stop-loss at `sl` goes to the venue at once, and a stop that
 * cannot be placed closes the position at market (NX_EXIT_EMERGENCY). From
 * then on it is the session's trade: stops, exits, panic and its closing
 * P&L as for its own. 0, NX_ESTATE (the symbol is not flat), NX_EINVAL,
 * NX_ENOENT, or the venue's error for the stop. */
int nx_oms_adopt_position(nx_oms_t *m, uint32_t session, uint32_t symbol, int64_t qty,
                          int64_t entry_px, int64_t sl, uint8_t leverage, int64_t now_ns);
/* The session's money as saved: balance, realised P&L, fees, trade counts. */
int nx_oms_restore_account(nx_oms_t *m, uint32_t session, int64_t balance, int64_t realized,
                           int64_t fees, uint32_t trades, uint32_t wins);
int nx_oms_account(const nx_oms_t *m, uint32_t session, nx_account_info_t *out);

#endif /* NX_OMS_H */
