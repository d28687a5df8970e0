/*
 * bybit_user.h — Bybit V5 private WebSocket frames, decoded: the private
 * stream's topics (order, execution, position, wallet; all-in-one or
 * categorised, "order.linear"), its control answers (auth, subscribe,
 * pong) and the trade API's answers (order.create / amend / cancel). Wire
 * format: shared/spec/exchanges.md §2.6; captures in
 * tests/data/samples/bybit_private_*.jsonl and bybit_ws_control.jsonl.
 *
 * A topic frame carries a list (`data`) of records, several fills in one
 * message: nx_bbu_frame_decode() reads the frame's envelope, and
 * nx_bbu_next() decodes its records one at a time, so no fill is ever cut
 * for want of room. Records point nowhere: every string the engine keeps
 * (symbol, ids, reasons) is copied into the record's arrays. The message
 * reads buf until its last record is taken: buf must outlive those calls.
 *
 * Symbols are looked up under the record's own category (linear:
 * NX_VENUE_BYBIT_LINEAR, spot: NX_VENUE_BYBIT_SPOT): the all-in-one topics
 * carry every category of the account. A record of a symbol the table does
 * not hold (an option, a pair Nexus does not trade) is decoded with sym.id
 * NX_SYMBOL_NONE and its prices and quantities 0: the caller skips it.
 *
 * Numbers: prices and quantities are int64 fixed-point at the symbol's
 * scales, exact (more digits than the scale is an error); averages the
 * venue computes (avgPrice, entryPrice, markPrice, liqPrice) are rounded
 * to the price scale. Money (fees, P&L, values, balances) is at
 * NX_BBU_MONEY_SCALE. Bybit sends every number as a string, "" for none.
 *
 * Tolerance: keys in any order, unknown keys skipped, an optional key
 * absent, null or "" reads as 0 or "". Enumerations Nexus acts on (side,
 * order status, execution type) must hold a known value; descriptive ones
 * read an unknown value as 0 (OTHER).
 *
 * Threads: any thread; no allocation, no lock, no read outside buf.
 */
#ifndef NX_BYBIT_USER_H
#define NX_BYBIT_USER_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/jscan.h"
#include "nx/symtab.h"

#define NX_BBU_MONEY_SCALE 8  /* fees, P&L, balances: 10^-8 of the coin */
#define NX_BBU_ID_MAX      47 /* orderId (a UUID, or digits on spot), execId, reqId, bytes */
#define NX_BBU_CLID_MAX    36 /* orderLinkId: Bybit allows up to 36 */
#define NX_BBU_TEXT_MAX    63 /* a reason or message; longer is cut */
#define NX_BBU_COIN_MAX    15 /* "USDT" */
#define NX_BBU_COINS_MAX   8  /* coins kept per wallet record */

typedef enum nx_bbu_kind {
    NX_BBU_NONE = 0,  /* nothing decoded (an error) */
    NX_BBU_ORDER,     /* topic order[.category]: records nx_bbu_order_t */
    NX_BBU_EXECUTION, /* topic execution[.category]: records nx_bbu_exec_t */
    NX_BBU_POSITION,  /* topic position[.category]: records nx_bbu_position_t */
    NX_BBU_WALLET,    /* topic wallet: records nx_bbu_wallet_t */
    NX_BBU_CONTROL,   /* auth, subscribe, ping/pong answers: msg.ctl */
    NX_BBU_REPLY,     /* a trade API answer (order.create, …): msg.reply */
    NX_BBU_OTHER,     /* any other topic: only msg.topic is set */
} nx_bbu_kind_t;

/* orderStatus. */
typedef enum nx_bbu_status {
    NX_BBU_S_NEW = 1,
    NX_BBU_S_PARTIALLY_FILLED,
    NX_BBU_S_UNTRIGGERED, /* a conditional order waiting for its trigger */
    NX_BBU_S_REJECTED,
    NX_BBU_S_FILLED,
    NX_BBU_S_CANCELLED,
    NX_BBU_S_TRIGGERED,
    NX_BBU_S_DEACTIVATED, /* a TP/SL or conditional order that can no longer fire */
    NX_BBU_S_PARTIALLY_FILLED_CANCELED,
} nx_bbu_status_t;

/* stopOrderType: what kind of conditional order this is ("" = a plain one). */
typedef enum nx_bbu_stop_type {
    NX_BBU_ST_NONE = 0, /* "", "UNKNOWN" or a name not listed */
    NX_BBU_ST_TAKE_PROFIT,
    NX_BBU_ST_STOP_LOSS,
    NX_BBU_ST_TRAILING_STOP,
    NX_BBU_ST_STOP,
    NX_BBU_ST_PARTIAL_TAKE_PROFIT,
    NX_BBU_ST_PARTIAL_STOP_LOSS,
    NX_BBU_ST_TPSL_ORDER,
} nx_bbu_stop_type_t;

/* execType. */
typedef enum nx_bbu_exec_type {
    NX_BBU_X_TRADE = 1,
    NX_BBU_X_ADL_TRADE,
    NX_BBU_X_FUNDING,
    NX_BBU_X_BUST_TRADE, /* a liquidation */
    NX_BBU_X_DELIVERY,
    NX_BBU_X_SETTLE,
    NX_BBU_X_BLOCK_TRADE,
    NX_BBU_X_MOVE_POSITION,
} nx_bbu_exec_type_t;

/* orderType. */
typedef enum nx_bbu_otype {
    NX_BBU_OT_OTHER = 0,
    NX_BBU_OT_MARKET,
    NX_BBU_OT_LIMIT,
} nx_bbu_otype_t;

/* A record of the order topic. */
typedef struct nx_bbu_order {
    nx_sym_ref_t sym;                        /* symbol */
    char order_id[NX_BBU_ID_MAX + 1];        /* orderId */
    char link_id[NX_BBU_CLID_MAX + 1];       /* orderLinkId, "" for an order not sent with one */
    uint64_t client_id;                      /* ours from link_id ("nx-<hex>"), else 0 */
    uint8_t side;                            /* nx_side_t */
    uint8_t type;                            /* nx_bbu_otype_t */
    uint8_t status;                          /* nx_bbu_status_t */
    uint8_t nx_status;                       /* the engine's nx_order_status_t for it */
    uint8_t stop_type;                       /* nx_bbu_stop_type_t */
    uint8_t reduce_only;                     /* reduceOnly */
    uint8_t close_on_trigger;                /* closeOnTrigger */
    uint8_t cancelled_after_fill;            /* Filled with a cancelType other than UNKNOWN:
                                                the race's second Filled (spec §2.6) */
    int64_t price;                           /* price, 0 for a market order */
    int64_t qty;                             /* qty */
    int64_t avg_price;                       /* avgPrice, rounded */
    int64_t cum_qty;                         /* cumExecQty */
    int64_t leaves_qty;                      /* leavesQty */
    int64_t cum_fee;                         /* cumExecFee, money */
    int64_t trigger_price;                   /* triggerPrice */
    int64_t take_profit;                     /* takeProfit */
    int64_t stop_loss;                       /* stopLoss */
    int64_t created_ms, updated_ms;          /* createdTime, updatedTime */
    char cancel_type[NX_BBU_TEXT_MAX + 1];   /* cancelType ("CancelByUser", "UNKNOWN", …) */
    char reject_reason[NX_BBU_TEXT_MAX + 1]; /* rejectReason ("EC_NoError", …) */
} nx_bbu_order_t;

/* A record of the execution topic: one fill (or a funding, a delivery). */
typedef struct nx_bbu_exec {
    nx_sym_ref_t sym;
    char order_id[NX_BBU_ID_MAX + 1];
    char link_id[NX_BBU_CLID_MAX + 1];
    uint64_t client_id;
    char exec_id[NX_BBU_ID_MAX + 1]; /* execId: a fill is counted once by it */
    uint8_t side;
    uint8_t exec_type;  /* nx_bbu_exec_type_t; absent reads as a trade */
    uint8_t maker;      /* isMaker */
    uint8_t stop_type;  /* stopOrderType of the order that filled */
    int64_t price;      /* execPrice */
    int64_t qty;        /* execQty */
    int64_t leaves_qty; /* leavesQty */
    int64_t closed_qty; /* closedSize: how much of a position this fill closed */
    int64_t fee;        /* execFee, money, signed (a rebate < 0) */
    int64_t value;      /* execValue, money */
    int64_t pnl;        /* execPnl, money */
    int64_t mark_price; /* markPrice, rounded */
    int64_t exec_ms;    /* execTime */
    uint64_t seq;       /* seq */
} nx_bbu_exec_t;

/* A record of the position topic (sent on every order create, amend and
 * cancel, even unchanged). */
typedef struct nx_bbu_position {
    nx_sym_ref_t sym;
    uint8_t side;          /* nx_side_t; 0 when flat ("") */
    uint8_t tpsl_mode;     /* tpslMode: 1 Full, 2 Partial, 0 not sent */
    uint64_t position_idx; /* positionIdx: 0 one-way, 1/2 hedge */
    int64_t size;          /* size, a quantity (≥ 0; side says which way) */
    int64_t entry_price;   /* entryPrice, rounded */
    int64_t mark_price;    /* markPrice, rounded */
    int64_t liq_price;     /* liqPrice, rounded */
    int64_t take_profit;   /* takeProfit ("0": none) */
    int64_t stop_loss;     /* stopLoss */
    int64_t trailing_stop; /* trailingStop: a price distance */
    int64_t leverage;      /* leverage, money scale ("10" -> 10 * 10^8) */
    int64_t unrealized;    /* unrealisedPnl, money */
    int64_t realized;      /* cumRealisedPnl, money */
    int64_t updated_ms;    /* updatedTime */
    uint64_t seq;          /* seq */
    char status[16];       /* positionStatus: Normal, Liq, Adl */
} nx_bbu_position_t;

typedef struct nx_bbu_coin {
    char coin[NX_BBU_COIN_MAX + 1];
    int64_t equity;     /* equity, money */
    int64_t wallet;     /* walletBalance, money */
    int64_t unrealized; /* unrealisedPnl, money */
} nx_bbu_coin_t;

/* A record of the wallet topic: one account. */
typedef struct nx_bbu_wallet {
    char account_type[16];   /* accountType: UNIFIED, CONTRACT, … */
    int64_t total_equity;    /* totalEquity, money (USD) */
    int64_t total_wallet;    /* totalWalletBalance */
    int64_t total_available; /* totalAvailableBalance */
    uint8_t ncoins;
    uint32_t coins_cut; /* coins beyond NX_BBU_COINS_MAX */
    nx_bbu_coin_t coins[NX_BBU_COINS_MAX];
} nx_bbu_wallet_t;

/* An answer to auth, subscribe or ping. */
typedef struct nx_bbu_control {
    char op[16];                       /* "auth", "subscribe", "ping", "pong" */
    uint8_t success;                   /* success (a private pong has none: 1) */
    char ret_msg[NX_BBU_TEXT_MAX + 1]; /* ret_msg */
    char req_id[NX_BBU_ID_MAX + 1];    /* req_id */
} nx_bbu_control_t;

/* A trade API answer. */
typedef struct nx_bbu_reply {
    char op[16];                       /* "order.create", "order.amend", "order.cancel", "auth" */
    char req_id[NX_BBU_ID_MAX + 1];    /* reqId */
    int64_t ret_code;                  /* retCode (nx_bybit_outcome() says what it means) */
    char ret_msg[NX_BBU_TEXT_MAX + 1]; /* retMsg */
    char order_id[NX_BBU_ID_MAX + 1];  /* data.orderId */
    char link_id[NX_BBU_CLID_MAX + 1]; /* data.orderLinkId */
    uint64_t client_id;                /* ours from link_id */
    int64_t limit;                     /* header X-Bapi-Limit, 0 when absent */
    int64_t limit_left;                /* header X-Bapi-Limit-Status */
    int64_t limit_reset_ms;            /* header X-Bapi-Limit-Reset-Timestamp */
} nx_bbu_reply_t;

typedef struct nx_bbu_error {
    const char *key;  /* the key at fault as a path: "data[].execQty", "topic", "" */
    const char *what; /* "missing", "not a string", "malformed JSON", ... */
} nx_bbu_error_t;

typedef struct nx_bbu_msg {
    uint8_t kind;        /* nx_bbu_kind_t */
    char topic[32];      /* topic as sent (cut), "" for answers */
    int64_t creation_ms; /* creationTime, 0 when absent */
    nx_bbu_error_t err;  /* set when a decode fails */
    union {
        nx_bbu_control_t ctl;
        nx_bbu_reply_t reply;
    } u;
    /* the records still to take (nx_bbu_next): a cursor into buf */
    const nx_symtab_t *symtab;
    nx_jcur_t rest;
    int started;
} nx_bbu_msg_t;

/* One record of any topic kind. */
typedef union nx_bbu_record {
    nx_bbu_order_t order;
    nx_bbu_exec_t exec;
    nx_bbu_position_t position;
    nx_bbu_wallet_t wallet;
} nx_bbu_record_t;

/*
 * Decode one frame, buf[0..len) (need not be NUL-terminated): its kind,
 * topic and creation time; for a control answer or a trade API answer the
 * whole of it (msg->u); for a topic frame a cursor on its records.
 * 0, or a negative code with msg->err set: NX_ESYNTAX (malformed JSON, a
 * required key missing), NX_ETYPE, NX_ETOOLONG, NX_EINVAL (NULL argument).
 */
int nx_bbu_frame_decode(const char *buf, size_t len, const nx_symtab_t *symtab, nx_bbu_msg_t *msg);

/*
 * The next record of a topic frame into *rec (the member of msg->kind):
 * 1, 0 when there are no more, or a negative code with msg->err set (the
 * codes above, NX_ERANGE for an unknown value of an enumeration Nexus acts
 * on, NX_EPRECISION, NX_EOVERFLOW). After an error, the frame's other
 * records are not to be trusted either: the caller reconciles.
 */
int nx_bbu_next(nx_bbu_msg_t *msg, nx_bbu_record_t *rec);

/* "order", "execution", …, "control", "reply", "other", "none". */
const char *nx_bbu_kind_name(nx_bbu_kind_t kind);

#endif /* NX_BYBIT_USER_H */
