/*
 * desk.h — the trading desk: where a strategy's signal meets each user
 * session's shield and becomes orders on its venue: the paper venue, or a
 * live one the engine sets for the session (nx_desk_set_venue; engine
 * thread).
 *
 * A person acts on the desk through control events (nx_desk_control): the
 * chat layer (chat.h) turns people's commands into them, the engine thread hands
 * them here between market events, so a command and the market never race.
 * Every decision, approval request and its outcome, order and fill goes to
 * the journal callback. A session is known by its id in storage (the
 * sessions table), belongs to one user (by id) and trades one venue's
 * symbols; its name is a label.
 *
 * The desk is servos' trading part: it uses core, the shield, the
 * effectors (order manager, paper venue, the bridge live venues implement)
 * and its saved-state codec
 * (desk_state.h), and knows nothing of chat, storage or the engine around
 * it — they call it, never the other way.
 *
 * Threads: nx_desk_create and the recovery calls (nx_desk_resume_*,
 * nx_desk_restore*, nx_desk_reconcile) run at start-up, before any thread
 * (they allocate and log); nx_desk_summary and nx_desk_destroy after the
 * threads have ended. Everything else — market events, signals, commands
 * and every read call — runs on the engine thread only, between two market
 * events, and neither allocates nor blocks (the chat layer reads the desk
 * there, through the engine's calls).
 */
#ifndef NX_DESK_H
#define NX_DESK_H

#include "nx/config.h"
#include "nx/oms.h"
#include "nx/event.h"
#include "nx/shield.h"
#include "nx/symtab.h"

typedef struct nx_desk nx_desk_t;

typedef void (*nx_journal_cb)(void *ctx, const nx_event_t *ev);

/* The paper venue (the config's trading costs) and the order manager,
 * with no session yet (start-up; allocates everything it will use).
 * Returns 0 or NX_EINVAL/NX_ENOMEM with the reason logged. */
int nx_desk_create(nx_desk_t **out, const nx_config_t *cfg, const nx_symtab_t *symtab,
                   nx_journal_cb journal, void *ctx);
/* A session from its settings (a config session, as stored): id is its
 * storage id (1..2^24-1, client order ids carry it), follow the strategy
 * ids whose signals it takes (bit i = strategy i; 0 = all). Its symbols
 * are c->symbols, or every symbol of c->venue. At start-up, or on the
 * engine thread for one made at run time (no allocation). Returns 0,
 * NX_EEXIST, NX_EFULL (NX_CONFIG_MAX_SESSIONS held) or NX_EINVAL. */
int nx_desk_add_session(nx_desk_t *d, uint32_t id, const nx_config_session_t *c, uint64_t follow);
/* The strategy ids (bit i = strategy i) that are Sentinel: their exits
 * are protective, so they execute in COPILOT mode without asking and are
 * recorded as Sentinel exits. Who a signal is from is the id the cortex
 * stamps on it (nx_cortex_strategies_of), never its reason text: no other
 * plugin can pass for Sentinel. Start-up; none until set. */
void nx_desk_set_sentinel(nx_desk_t *d, uint64_t strategies);
/* A day of the US stock market (New York), in UTC ms: the scheduler's
 * NYSE calendar (nx_nyse_days) as a table the desk looks days up in on the
 * engine thread, where no file is read. */
typedef struct nx_desk_market_day {
    int64_t start_ms, end_ms;  /* New York midnight to midnight */
    int64_t open_ms, close_ms; /* the regular session; 0 on a closed day */
    int32_t index;             /* trading-day index: business days, holidays skipped */
    uint8_t trading;
} nx_desk_market_day_t;
/* The table, days in order each starting where the one before ends; the
 * caller's, kept until the desk is destroyed. Sessions with market_hours
 * enter US stocks only inside a day's session (and not within their
 * close_buffer_s of its close); sessions with pdt count their day trades
 * by it. A moment outside the table, or no table, reads as the market
 * closed (no entry; exits run). Start-up. */
void nx_desk_set_market_days(nx_desk_t *d, const nx_desk_market_day_t *days, uint32_t n);
/* Storage is down (1: nothing can be made durable) or back (0): while
 * down every new entry is refused (NX_REJ_STORAGE); exits, stops, targets
 * and trailing run as ever. Engine thread. */
void nx_desk_set_storage_down(nx_desk_t *d, int down);
/* Whether each change journals the session's state (the default, for
 * recovery); a backtest, which stores nothing, turns it off. */
void nx_desk_set_saving(nx_desk_t *d, int on);
/* A market event, before the cortex sees it: fills, stops, trailing, marks;
 * COPILOT requests whose time ran out expire here. A perpetual's mark
 * event settles its funding on the paper sessions' positions once its
 * settlement time has come (nx_oms_funding; a NX_NOTE_FUNDING notice each). */
void nx_desk_on_market(nx_desk_t *d, const nx_event_t *ev);
/* A session trades on a live venue (a NexusBridge adapter, nx/bridge.h)
 * instead of the paper venue: its orders go there, and the venue's
 * answers come back through nx_desk_on_order_update. Start-up, after
 * nx_desk_add_session. 0 or NX_ENOENT. */
int nx_desk_set_venue(nx_desk_t *d, uint32_t session, nx_bridge_t *live);
/* A live venue's order update (NX_EV_ORDER_UPDATE from the market ring):
 * to the order manager, as the paper venue's come. Engine thread. */
void nx_desk_on_order_update(nx_desk_t *d, uint32_t symbol, const nx_ev_order_update_t *u);
/* What a live venue says the session's position on a symbol is (signed
 * qty units; `entry_px` its average entry, price units, 0 if unknown),
 * once the orders it was asked about are settled. Another figure than the
 * order manager's holds the session (no new entry until a person resumes
 * it) and journals a NX_NOTE_POSITION_MISMATCH notice for its person; a
 * position the session does not hold at all is given a stop at the venue
 * either way. With nx_desk_set_foreign(d, 1) such a position (the engine
 * flat on the symbol) is adopted instead: booked as the session's trade at
 * the venue's entry price with the session's default stop distance from
 * the last price (nx_oms_adopt_position), a NX_NOTE_POSITION_ADOPTED
 * notice journaled, and the session not held. Engine thread. */
void nx_desk_venue_position(nx_desk_t *d, uint32_t session, uint32_t symbol, int64_t qty,
                            int64_t entry_px);
/* An order open at a live venue that Nexus did not place (live.foreign):
 * 0 (the default) holds the session when one is found; 1 leaves it to the
 * person and adopts the positions it makes (nx_desk_venue_position). */
void nx_desk_set_foreign(nx_desk_t *d, int adopt);
/* A live venue reports an order open on the session's account that Nexus
 * did not place: under the default policy the session is held until a
 * person resumes it. 1 if it was held, 0 if it trades on. Engine thread. */
int nx_desk_foreign_order(nx_desk_t *d, uint32_t session, uint32_t symbol);
/* A live venue's wallet for a session's account (10^-8 USDT), compared
 * with the session's balance less the fees its open positions paid (the
 * venue takes them at the fill, the engine when the trade closes). Short
 * by more than 1% of the balance (a deposit is not a problem, and a live
 * venue's funding payments, which the engine does not book, are small): the session is held and
 * its person told (NX_NOTE_BALANCE_SHORT). Engine thread. */
void nx_desk_venue_balance(nx_desk_t *d, uint32_t session, int64_t wallet_e8);
/* A strategy signal: every session trading the symbol decides and acts. */
void nx_desk_on_signal(nx_desk_t *d, const nx_event_t *sig);

/* A person's command (session 0 = every session; the caller has checked
 * the person may do it):
 *   PAUSE / RESUME    no new entries (exits still run) / entries again
 *   MODE  arg         watcher (0), copilot (1), pilot (2)
 *   KILL  arg 1|0     kill switch on/off: only exits pass; session 0 is the
 *                     global switch, which overrides every session's
 *   PANIC             close every position, cancel every order
 *   RESET             reset the circuit breaker
 *   UNLOCK arg        remove the locks of symbol arg (NX_SYMBOL_NONE: the
 *                     global ones)
 *   APPROVE / REJECT arg   decide approval request arg (COPILOT)
 *   EXIT  arg         close the position on symbol arg at market
 *   ENTER arg text    a person's own entry on symbol arg, text "long" or
 *                     "short": sized and limited by the shield, no approval
 *   SET   text arg    change the setting named text to arg (nx_desk_setting
 *                     lists them with their ranges); NX_ERANGE if outside
 * Returns 0, NX_ENOENT (no such session, request or position), NX_ESTATE
 * (an APPROVE refused: the request expired or was decided already, the
 * price drifted, or a limit now applies; *why, if not NULL, says which and
 * the journal has the decision) or NX_EINVAL. */
int nx_desk_control(nx_desk_t *d, const nx_ev_control_t *c, nx_reject_t *why);

/* What a person can ask about a session. */
typedef struct nx_desk_info {
    char name[32]; /* a label */
    int64_t user;  /* the user it belongs to */
    nx_mode_t mode;
    uint8_t paused, kill, global_kill, breaker_tripped;
    uint8_t held;             /* paused at start-up: its saved state and the venue disagreed */
    int64_t breaker_until_ns; /* INT64_MAX = until reset */
    int64_t balance, start_equity, fees; /* quote units */
    uint32_t trades, wins, open_positions, pending_approvals;
    uint32_t max_drawdown_bp;
    uint64_t approved, declined, expired; /* COPILOT request outcomes */
    uint64_t notifications, approval_requests;
    uint64_t exits[16]; /* closed trades by nx_exit_reason_t */
} nx_desk_info_t;

typedef struct nx_desk_approval {
    uint32_t id, session, symbol;
    nx_decision_t asked; /* side, qty, price, stop-loss, take-profit */
    int64_t asked_ns, expires_ns;
} nx_desk_approval_t;

/* 0, or NX_ENOENT. */
int nx_desk_info(const nx_desk_t *d, uint32_t session, nx_desk_info_t *out);
/* Active protection locks of a session now (up to max); returns how many. */
int nx_desk_locks(const nx_desk_t *d, uint32_t session, nx_lock_t *out, int max);
/* Pending approval requests of a session (0 = all), oldest first. */
int nx_desk_approvals(const nx_desk_t *d, uint32_t session, nx_desk_approval_t *out, int max);
/* The latest closed trades of a session (0 = all), oldest first, at most
 * max; the desk keeps the last NX_DESK_TRADES. Returns how many. */
#define NX_DESK_TRADES 4096
int nx_desk_trades(const nx_desk_t *d, uint32_t session, nx_trade_closed_t *out, int max);
/* The open positions of a session now (up to max); returns how many. */
typedef struct nx_desk_position {
    uint32_t symbol;
    nx_position_info_t pos; /* signed qty, average entry, protection, unrealised P&L */
    int64_t last_px;        /* the latest price, price units */
} nx_desk_position_t;
int nx_desk_positions(const nx_desk_t *d, uint32_t session, nx_desk_position_t *out, int max);
/* An open position whole, with the client ids of its protective orders
 * (oms.h's nx_oms_save_position): 0, or NX_ENOENT when flat. */
int nx_desk_position_state(const nx_desk_t *d, uint32_t session, uint32_t symbol,
                           nx_oms_pos_state_t *out);
/* The i-th setting a person may change (/config): its key, value now and
 * allowed range. NX_ENOENT past the last. */
int nx_desk_setting(const nx_desk_t *d, uint32_t session, int i, const char **key, int64_t *value,
                    int64_t *lo, int64_t *hi);
/* The desk's clock: the time of the latest market event. */
int64_t nx_desk_now(const nx_desk_t *d);

/* After a restart, from storage: client-id sequences per session and the
 * last approval request id continue where they stopped, so no id is ever
 * reused (the journal and the venue key on them). */
int nx_desk_resume_ids(nx_desk_t *d, uint32_t session, uint64_t last_client_seq);
void nx_desk_resume_requests(nx_desk_t *d, uint32_t last_request);
/* How many sessions, and the id of the i-th (0 past the last). */
uint32_t nx_desk_sessions(const nx_desk_t *d);
uint32_t nx_desk_session_at(const nx_desk_t *d, uint32_t i);

/*
 * Saving and recovery. After every step that changed a session (an order,
 * a fill, a decision, a command) the desk journals the session's whole
 * state — money, open positions with their protective orders and trailing
 * state, breaker, locks, cooldowns, pending approvals — as one text in
 * NX_EV_STATE parts (format and codec: desk_state.h); the store keeps the
 * latest per session.
 *
 * After a restart, before the first market event, in this order:
 *  1. nx_desk_restore_order: each order the venue held (the stored orders
 *     not final) rests at the paper venue again; fill ids continue after
 *     last_fill_id (nx_desk_resume_fills);
 *  2. nx_desk_restore: each session's saved text, with the journal
 *     sequence it was stored under (session 0: the desk's own);
 *  3. nx_desk_reconcile: the saved positions against the venue's book and
 *     the stored fills (net qty per session and symbol, and the last fill's
 *     sequence). A session that does not agree — a position that is not
 *     what its fills add up to, fills stored after its state, a protective
 *     order the venue does not hold or holds at another level, an order
 *     the state does not know, a state that could not be read — is paused
 *     (held) until a person resumes it, and every difference goes to
 *     report(). Nothing is invented: what was saved is restored as saved.
 * Returns the number of sessions held.
 */
int nx_desk_restore_order(nx_desk_t *d, const nx_ev_order_intent_t *in, uint32_t symbol);
void nx_desk_resume_fills(nx_desk_t *d, uint64_t last_fill_id);
int nx_desk_restore(nx_desk_t *d, uint32_t session, uint64_t seq, const char *json, size_t len);

typedef struct nx_desk_fills {
    uint32_t session, symbol; /* symbol NX_SYMBOL_NONE: a stored fill that could not be read */
    int64_t net_qty;          /* buys minus sells, qty units */
    uint64_t last_seq;        /* journal sequence of the latest fill */
} nx_desk_fills_t;

typedef void (*nx_desk_report_cb)(void *ctx, uint32_t session, const char *text);
int nx_desk_reconcile(nx_desk_t *d, const nx_desk_fills_t *fills, int n, nx_desk_report_cb report,
                      void *ctx);
/* Journal every session's state now (at shutdown: the latest prices and
 * trailing levels). */
void nx_desk_save_all(nx_desk_t *d);

/* One summary line per session (trades, win rate, P&L, max drawdown). */
void nx_desk_summary(const nx_desk_t *d);
void nx_desk_destroy(nx_desk_t *d);

#endif
