/*
 * event.h — the one event type that flows over every ring in Nexus.
 *
 * An event is a fixed-size, cache-line aligned tagged union: a 32-byte header
 * (type, venue, flags, symbol id, exchange time, receive time, sequence) and a
 * 96-byte payload, 128 bytes in all (two cache lines). Fixed size means a ring
 * slot *is* an event: parsers write straight into the slot they claimed and
 * consumers read it in place, with no allocation and no copy.
 *
 * Why 128 and not 64 bytes: a closed kline carries open time, OHLC, base and
 * quote volume and a trade count, 64 bytes of payload before the header; an
 * order intent carries price, quantity, stop-loss, take-profit and trailing
 * figures. Squeezing those into 32 bytes would mean narrowing prices below
 * int64 ticks, which a BTC price at scale 8 (3.5e12 ticks) does not survive.
 * The bus itself is element-size generic (see ring.h), so 64-byte records are
 * still possible where a stage wants them, and bench_bus measures both.
 *
 * Units, everywhere: prices and quantities are int64 fixed-point in the
 * symbol's price/qty scale (see symtab.h and fixed.h); times are int64
 * nanoseconds since the Unix epoch, UTC; ids from venues are 64-bit.
 */
#ifndef NX_EVENT_H
#define NX_EVENT_H

#include <stdalign.h>
#include <stdint.h>

#include "nx/compiler.h"

typedef enum nx_event_type {
    NX_EV_NONE = 0,
    NX_EV_TRADE,        /* a public trade (aggTrade, publicTrade, Alpaca t) */
    NX_EV_BBO,          /* best bid/offer (bookTicker, Alpaca q) */
    NX_EV_KLINE,        /* a candle update or close (kline, Alpaca b) */
    NX_EV_BOOK,         /* one L2 level change (depthUpdate, orderbook delta) */
    NX_EV_MARK,         /* mark/index price and funding */
    NX_EV_SIGNAL,       /* a strategy's opinion */
    NX_EV_ORDER_INTENT, /* what the shield approved, to be placed */
    NX_EV_ORDER_UPDATE, /* venue order state change, possibly with a fill */
    NX_EV_CONTROL,      /* pause, resume, mode change, reload, ... */
    NX_EV_TIMER,        /* a clock tick or a deadline */
    NX_EV_STATUS,       /* feed status: connected, stale, gap, resync */
    NX_EV_DECISION,     /* what a session's shield made of a signal */
    NX_EV_STATE,        /* one part of a session's saved state (journal, recovery) */
    NX_EV_NOTICE,       /* something a person is told: a trade closed, a breaker trip, a lock */
    NX_EV_TYPE_COUNT
} nx_event_type_t;

/* Header flags. */
enum {
    NX_EVF_SNAPSHOT = 1u << 0, /* part of a full snapshot, not a delta */
    NX_EVF_LAST = 1u << 1,     /* last event of a batch from one frame */
    NX_EVF_STALE = 1u << 2,    /* data older than the configured staleness age */
    NX_EVF_GAP = 1u << 3,      /* events were lost before this one (ring overrun, feed gap) */
    NX_EVF_REPLAY = 1u << 4,   /* produced by replay/backtest, not a live venue */
    NX_EVF_BACKFILL = 1u << 5, /* fetched over REST to fill a gap */
};

typedef enum nx_side {
    NX_SIDE_NONE = 0,
    NX_SIDE_BUY = 1,
    NX_SIDE_SELL = 2,
} nx_side_t;

#define NX_SYMBOL_NONE UINT32_MAX

typedef struct nx_event_hdr {
    uint8_t type;    /* nx_event_type_t */
    uint8_t venue;   /* nx_venue_t */
    uint16_t flags;  /* NX_EVF_* */
    uint32_t symbol; /* symbol id (symtab.h), NX_SYMBOL_NONE if not about a symbol */
    uint64_t seq;    /* producer's sequence number, strictly increasing per ring */
    int64_t exch_ns; /* exchange event time, ns since epoch UTC (0 = unknown) */
    int64_t recv_ns; /* time Nexus received it, ns since epoch UTC (clock.h) */
} nx_event_hdr_t;

typedef struct nx_ev_trade {
    int64_t price;     /* price ticks, > 0 */
    int64_t qty;       /* quantity lots, > 0 */
    uint64_t trade_id; /* venue trade id (aggregate id for aggTrade) */
    uint8_t aggressor; /* nx_side_t of the taker; NONE if the venue does not say */
} nx_ev_trade_t;

typedef struct nx_ev_bbo {
    int64_t bid_px, bid_qty; /* ticks, lots */
    int64_t ask_px, ask_qty; /* ticks, lots */
    uint64_t update_id;      /* venue book update id, 0 if none */
} nx_ev_bbo_t;

typedef struct nx_ev_kline {
    int64_t open_ms;                /* candle open time, ms since epoch UTC */
    int64_t open, high, low, close; /* price ticks */
    int64_t volume;                 /* base volume, qty lots */
    int64_t quote_volume;           /* quote volume, price*qty in price ticks, 0 if unknown */
    uint32_t interval_s;            /* 60 for 1m ... 86400 for 1d */
    uint32_t trades;                /* trade count, 0 if unknown */
    uint8_t closed;                 /* 1 = final update for this candle */
} nx_ev_kline_t;

typedef struct nx_ev_book {
    int64_t price;      /* level price ticks */
    int64_t qty;        /* new absolute quantity lots; 0 = remove the level */
    uint64_t first_id;  /* first update id in the venue message (Binance U) */
    uint64_t last_id;   /* final update id (Binance u, Bybit u) */
    uint64_t prev_id;   /* previous message's final id (Binance pu), 0 if none */
    uint64_t venue_seq; /* cross-sequence (Bybit seq), 0 if none */
    uint8_t side;       /* NX_SIDE_BUY = bid, NX_SIDE_SELL = ask */
} nx_ev_book_t;

typedef struct nx_ev_mark {
    int64_t mark_px;         /* price ticks */
    int64_t index_px;        /* price ticks, 0 if unknown */
    int64_t funding_rate_e8; /* funding rate * 1e8 (0.00038167 -> 38167) */
    int64_t next_funding_ms; /* ms since epoch, 0 if unknown */
} nx_ev_mark_t;

typedef enum nx_signal_side {
    NX_SIG_BUY = 1,
    NX_SIG_SELL,
    NX_SIG_EXIT_LONG,
    NX_SIG_EXIT_SHORT,
} nx_signal_side_t;

typedef enum nx_level_kind {
    NX_LEVEL_NONE = 0,
    NX_LEVEL_ATR_MULT, /* value is a multiple of ATR (double) */
    NX_LEVEL_PRICE,    /* value is an absolute price in ticks */
} nx_level_kind_t;

typedef struct nx_ev_signal {
    double confidence; /* 0..1 */
    double sl_value;   /* ATR multiple when sl_kind == NX_LEVEL_ATR_MULT */
    double tp_value;   /* ATR multiple when tp_kind == NX_LEVEL_ATR_MULT */
    int64_t sl_price;  /* price ticks when sl_kind == NX_LEVEL_PRICE */
    int64_t tp_price;  /* price ticks when tp_kind == NX_LEVEL_PRICE */
    int64_t ref_price; /* price ticks the signal was computed at (the candle close) */
    int64_t atr;       /* ATR(14) of the series in price ticks, 0 if not known yet */
    uint32_t tf_s;     /* timeframe of the candle that fired, seconds (0 = a tick) */
    uint16_t strategy; /* strategy slot id in the cortex */
    uint8_t side;      /* nx_signal_side_t */
    uint8_t sl_kind;   /* nx_level_kind_t */
    uint8_t tp_kind;   /* nx_level_kind_t */
    char reason[24];   /* short tag, NUL-terminated ("ema_cross", "black_swan") */
} nx_ev_signal_t;

typedef enum nx_order_type {
    NX_ORD_MARKET = 1,
    NX_ORD_LIMIT,
    NX_ORD_STOP_MARKET,
    NX_ORD_TAKE_PROFIT_MARKET,
    NX_ORD_TRAILING_STOP,
} nx_order_type_t;

typedef struct nx_ev_order_intent {
    uint64_t client_id;     /* encodes user session and per-session sequence */
    int64_t price;          /* limit price ticks, 0 for market */
    int64_t qty;            /* lots, > 0 */
    int64_t stop_loss;      /* price ticks, 0 = none */
    int64_t take_profit;    /* price ticks, 0 = none */
    int64_t trail_offset;   /* trailing distance in ticks, 0 = none */
    int64_t trail_activate; /* activation price ticks, 0 = immediately */
    uint32_t session;       /* user session id */
    uint8_t side;           /* nx_side_t */
    uint8_t order_type;     /* nx_order_type_t */
    uint8_t reduce_only;    /* 1 = may only reduce a position */
    uint8_t leverage;       /* 1..20 */
    uint8_t amend;          /* 1 = a new price/qty for the live order client_id */
} nx_ev_order_intent_t;

typedef enum nx_order_status {
    NX_OS_NEW = 1,
    NX_OS_ACKED,
    NX_OS_PARTIAL,
    NX_OS_FILLED,
    NX_OS_CANCELLED,
    NX_OS_REJECTED,
    NX_OS_EXPIRED,
} nx_order_status_t;

typedef struct nx_ev_order_update {
    uint64_t client_id; /* our id */
    uint64_t venue_id;  /* venue order id */
    uint64_t fill_id;   /* venue trade/execution id of this fill, 0 if no fill */
    int64_t last_px;    /* fill price ticks, 0 if no fill */
    int64_t last_qty;   /* fill qty lots, 0 if no fill */
    int64_t cum_qty;    /* cumulative filled lots */
    int64_t fee;        /* fee in quote ticks (price scale), signed: rebates < 0 */
    uint32_t session;   /* user session id */
    uint8_t status;     /* nx_order_status_t */
    uint8_t side;       /* nx_side_t */
    uint8_t maker;      /* 1 = maker fill */
    uint8_t reason;     /* nx_order_reject_t when rejected, else 0 */
} nx_ev_order_update_t;

/* Why a venue refused an order (nx_ev_order_update_t.reason). */
typedef enum nx_order_reject {
    NX_OREJ_NONE = 0,
    NX_OREJ_NO_PRICE,  /* a market order before the venue has seen any price */
    NX_OREJ_BOOK_FULL, /* the venue holds no more resting orders */
    NX_OREJ_MAX_OPEN,  /* the account's open-order limit on the symbol is reached */
    NX_OREJ_VENUE,     /* the venue said no (its own code in the log) */
    /* With client_id 0 and a fill: the venue closed the session's position
     * on its own, with no order of ours (session, side, price, qty, fee and
     * fill id are set). */
    NX_OFORCED_LIQUIDATION = 32,
    NX_OFORCED_ADL, /* auto-deleveraging */
} nx_order_reject_t;

typedef enum nx_control_cmd {
    NX_CTL_PAUSE = 1, /* no new entries */
    NX_CTL_RESUME,
    NX_CTL_MODE,     /* arg = new mode */
    NX_CTL_RELOAD,   /* reload plugins / config section named in text */
    NX_CTL_KILL,     /* kill switch: arg 1 on, 0 off */
    NX_CTL_SHUTDOWN, /* drain and stop */
    NX_CTL_PANIC,    /* close every position and cancel every order */
    NX_CTL_RESET,    /* reset the circuit breaker */
    NX_CTL_UNLOCK,   /* remove protection locks: arg = symbol id, NX_SYMBOL_NONE = global */
    NX_CTL_APPROVE,  /* COPILOT: arg = approval request id */
    NX_CTL_REJECT,   /* COPILOT: arg = approval request id */
    NX_CTL_EXIT,     /* close one position at market: arg = symbol id */
    NX_CTL_ENTER,    /* a person's entry: arg = symbol id, text "long" | "short" */
    NX_CTL_SET,      /* a session setting: text = key, arg = value */
    NX_CTL_QUERY,    /* nothing for the desk: a chat query runs between two events */
} nx_control_cmd_t;

typedef struct nx_ev_control {
    int64_t arg;      /* command argument */
    uint32_t session; /* user session, 0 = global */
    uint8_t cmd;      /* nx_control_cmd_t */
    uint16_t call;    /* engine call slot + 1 (a reply is waited for), 0 = none */
    char text[48];    /* optional detail, NUL-terminated */
} nx_ev_control_t;

typedef struct nx_ev_timer {
    int64_t deadline_ns; /* the time this tick stands for, ns since epoch */
    uint64_t tick;       /* tick count since the timer started */
    uint32_t timer_id;   /* which timer */
} nx_ev_timer_t;

typedef enum nx_status_code {
    NX_ST_CONNECTED = 1,
    NX_ST_DISCONNECTED,
    NX_ST_STALE,
    NX_ST_BOOK_GAP,
    NX_ST_BOOK_RESYNCED,
    NX_ST_OVERRUN,
} nx_status_code_t;

typedef struct nx_ev_status {
    uint64_t count; /* e.g. events lost in an overrun */
    uint8_t code;   /* nx_status_code_t */
    char detail[48];
} nx_ev_status_t;

/* The shield's verdict on a signal for one user session (journal). */
typedef struct nx_ev_decision {
    int64_t qty;         /* qty units of the order (0 when rejected) */
    int64_t price;       /* reference price, price units */
    int64_t stop_loss;   /* price units, 0 = none */
    int64_t take_profit; /* price units, 0 = none */
    uint32_t session;    /* user session */
    uint16_t strategy;   /* the signal's strategy slot */
    uint8_t verdict;     /* 0 reject, 1 approve, 2 resize, 3 notify, 4 ask (shield.h nx_verdict_t) */
    uint8_t reason;      /* shield.h nx_reject_t */
    uint8_t side;        /* nx_side_t of the order */
    uint8_t signal_side; /* nx_signal_side_t */
    uint32_t request;    /* COPILOT approval request id (ask, and its outcome), 0 = none */
    int64_t expires_ns;  /* ask: when the request expires */
} nx_ev_decision_t;

/* A session's durable state (positions, money, breaker, locks, pending
 * approvals) as one JSON text, carried through the journal in parts of up
 * to NX_STATE_PART bytes, published back to back; the store keeps the
 * latest whole text per session (store.h, servos/storage). Session 0 = the desk's
 * own (the global kill switch). */
#define NX_STATE_PART 86
typedef struct nx_ev_state {
    uint32_t session;
    uint16_t part, parts; /* part 0..parts-1 */
    uint8_t len;          /* bytes of data used */
    char data[NX_STATE_PART];
} nx_ev_state_t;

/* What a person is told about their session (the chat layer's notifications;
 * journal). */
typedef enum nx_notice_kind {
    NX_NOTE_CLOSED = 1,     /* a trade closed: reason = nx_exit_reason_t (oms.h) */
    NX_NOTE_BREAKER,        /* the circuit breaker tripped: until_ns (INT64_MAX = manual reset) */
    NX_NOTE_LOCK,           /* a protection lock: symbol in the header, reason = nx_reject_t */
    NX_NOTE_BADTICK,        /* market data held out (session 0, for the owner): symbol in the
                             * header, reason = nx_bad_kind_t, exit_px = the price refused,
                             * entry_px = the recent reference, qty = how many since the last */
    NX_NOTE_VENUE_POSITION, /* a live venue's position (network thread to engine thread, not
                             * journaled): symbol in the header, qty = signed qty units */
    NX_NOTE_POSITION_MISMATCH, /* the venue holds another position than the engine: symbol
                                * in the header, qty = the venue's, entry_px = the engine's
                                * (signed qty units); the session is held */
    NX_NOTE_VENUE_BALANCE,     /* a live venue's wallet (network thread to engine thread, not
                                * journaled): qty = USDT at 10^-8 */
    NX_NOTE_BALANCE_SHORT,     /* the venue's wallet holds less than the session's balance:
                                * qty = the venue's, entry_px = the engine's (the session's money
                                * units); the session is held */
    NX_NOTE_VENUE,             /* something a live venue did that the person should know:
                                * reason = nx_venue_note_t, symbol in the header (NX_SYMBOL_NONE if
                                * none), qty = the leverage for NX_VN_LEVERAGE_REFUSED, 1 for
                                * NX_VN_FOREIGN_ORDER if the session was held for it */
    NX_NOTE_POSITION_ADOPTED,  /* a venue position Nexus did not open became the session's
                                * trade (live.foreign "adopt"): symbol in the header, qty =
                                * signed qty units, entry_px = the venue's entry price,
                                * exit_px = the stop placed */
    NX_NOTE_FUNDING,           /* a perpetual's funding settled on a paper position: symbol in
                                * the header, qty = the position (signed qty units), entry_px =
                                * the mark price, exit_px = the rate x 10^8, pnl = what the
                                * session received (< 0: paid), quote units */
    NX_NOTE_REFUSED,           /* an entry refused by a rule the person should hear of even
                                * unasked (the pattern-day-trader rule, once a trading day):
                                * symbol in the header, reason = nx_reject_t */
} nx_notice_kind_t;

/* What a live venue did (NX_NOTE_VENUE's reason). */
typedef enum nx_venue_note {
    NX_VN_LIQUIDATED = 1,   /* the venue liquidated the position */
    NX_VN_ADL,              /* its auto-deleveraging closed the position */
    NX_VN_MARGIN_KEPT,      /* it refused the margin type asked for; its own stays */
    NX_VN_LEVERAGE_REFUSED, /* it refused the leverage asked for; its own applies */
    NX_VN_SLOWED_DOWN,      /* it answered 429/418: a new entry was not sent */
    NX_VN_NOT_PLACED,       /* an order could not be placed after three tries */
    NX_VN_QUOTA_HELD,       /* orders are held back to stay within the quotas */
    NX_VN_FOREIGN_ORDER,    /* an order Nexus did not place is open on the account */
    NX_VN_ORPHAN_CANCELLED, /* an order Nexus sent but never stored (a crash) was cancelled */
} nx_venue_note_t;

typedef struct nx_ev_notice {
    int64_t qty;       /* closed: qty units */
    int64_t entry_px;  /* closed: average entry, price units */
    int64_t exit_px;   /* closed: average exit, price units */
    int64_t pnl;       /* closed: quote units, after fees */
    int64_t until_ns;  /* breaker, lock: until when */
    uint32_t session;
    uint8_t kind;      /* nx_notice_kind_t */
    uint8_t reason;    /* see kind */
    int8_t dir;        /* closed: +1 long, -1 short */
} nx_ev_notice_t;

#define NX_EVENT_SIZE    128
#define NX_EVENT_PAYLOAD (NX_EVENT_SIZE - sizeof(nx_event_hdr_t))

typedef struct nx_event {
    alignas(NX_CACHELINE) nx_event_hdr_t hdr;
    union {
        nx_ev_trade_t trade;
        nx_ev_bbo_t bbo;
        nx_ev_kline_t kline;
        nx_ev_book_t book;
        nx_ev_mark_t mark;
        nx_ev_signal_t signal;
        nx_ev_order_intent_t intent;
        nx_ev_order_update_t order;
        nx_ev_control_t control;
        nx_ev_timer_t timer;
        nx_ev_status_t status;
        nx_ev_decision_t decision;
        nx_ev_state_t state;
        nx_ev_notice_t notice;
        uint8_t raw[NX_EVENT_PAYLOAD];
    } u;
} nx_event_t;

_Static_assert(sizeof(nx_event_hdr_t) == 32, "event header is 32 bytes");
_Static_assert(sizeof(nx_event_t) == NX_EVENT_SIZE, "event is two cache lines");
_Static_assert(alignof(nx_event_t) == NX_CACHELINE, "event is cache-line aligned");
_Static_assert(sizeof(nx_ev_kline_t) <= NX_EVENT_PAYLOAD, "kline fits");
_Static_assert(sizeof(nx_ev_signal_t) <= NX_EVENT_PAYLOAD, "signal fits");
_Static_assert(sizeof(nx_ev_order_intent_t) <= NX_EVENT_PAYLOAD, "intent fits");
_Static_assert(sizeof(nx_ev_order_update_t) <= NX_EVENT_PAYLOAD, "order update fits");
_Static_assert(sizeof(nx_ev_decision_t) <= NX_EVENT_PAYLOAD, "decision fits");
_Static_assert(sizeof(nx_ev_state_t) <= NX_EVENT_PAYLOAD, "state part fits");
_Static_assert(sizeof(nx_ev_notice_t) <= NX_EVENT_PAYLOAD, "notice fits");

/* Market data that cannot be true, by kind. The decoders refuse the first
 * three on sight (a value no venue can mean); the engine's bad-tick filter
 * (tickguard.h) quarantines the rest, which only the recent history shows.
 * Each kind is counted where it is refused; nothing refused is traded on. */
typedef enum nx_bad_kind {
    NX_BAD_NONE = 0,
    NX_BAD_PRICE, /* a price of zero or less */
    NX_BAD_QTY,   /* a trade quantity of zero or less, a level's or volume below zero */
    NX_BAD_KLINE, /* a candle whose high and low do not bound its open and close */
    NX_BAD_BAND,  /* far from the recent prices, and the next print did not confirm it */
    NX_BAD_TIME,  /* older than what its stream already said */
    NX_BAD_DUP,   /* a trade id the symbol already had */
    NX_BAD_COUNT
} nx_bad_kind_t;

/* What is wrong with a trade, a candle, a quote or a mark price on its own
 * (NX_BAD_NONE if nothing): prices > 0, trade quantities > 0, volumes and
 * level sizes >= 0, a candle's low <= open, close <= its high. */
static inline nx_bad_kind_t nx_trade_bad(const nx_ev_trade_t *t)
{
    return t->price <= 0 ? NX_BAD_PRICE : t->qty <= 0 ? NX_BAD_QTY : NX_BAD_NONE;
}
static inline nx_bad_kind_t nx_kline_bad(const nx_ev_kline_t *k)
{
    if (k->open <= 0 || k->high <= 0 || k->low <= 0 || k->close <= 0)
        return NX_BAD_PRICE;
    if (k->volume < 0 || k->quote_volume < 0)
        return NX_BAD_QTY;
    if (k->low > k->open || k->low > k->close || k->high < k->open || k->high < k->close)
        return NX_BAD_KLINE;
    return NX_BAD_NONE;
}
static inline nx_bad_kind_t nx_bbo_bad(const nx_ev_bbo_t *q)
{
    if (q->bid_px <= 0 || q->ask_px <= 0)
        return NX_BAD_PRICE;
    return q->bid_qty < 0 || q->ask_qty < 0 ? NX_BAD_QTY : NX_BAD_NONE;
}
static inline nx_bad_kind_t nx_mark_bad(const nx_ev_mark_t *m)
{
    return m->mark_px <= 0 || m->index_px < 0 ? NX_BAD_PRICE : NX_BAD_NONE;
}

/* In words, for people and logs ("price of zero or less"). */
const char *nx_bad_name(nx_bad_kind_t k);

/* "trade", "bbo", ... for logs and JSON; "?" if out of range. */
const char *nx_event_type_name(nx_event_type_t t);

/* Why an order was refused, in words ("open-order limit reached"). */
const char *nx_order_reject_name(nx_order_reject_t r);

#endif /* NX_EVENT_H */
