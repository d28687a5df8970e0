/*
 * binance_user.h — Binance USD-M user-data stream frames, decoded.
 *
 * The user-data stream is how a live adapter learns what happened to its
 * orders and its account: order updates and fills (ORDER_TRADE_UPDATE and
 * its fast summary TRADE_LITE), conditional orders held by the venue's algo
 * service (ALGO_UPDATE), balances and positions (ACCOUNT_UPDATE), and the
 * expiry of the listen key that opened the stream (listenKeyExpired). Wire
 * format: shared/spec/exchanges.md §1.7; captures in
 * tests/data/samples/binance_orderTradeUpdate.jsonl and
 * binance_userData_other.jsonl.
 *
 * One call decodes one frame (a raw /ws payload, or a combined-stream
 * envelope {"stream":..,"data":{..}}) into a caller-provided tagged struct:
 * no allocation, no lock, no blocking call, no read outside buf[0..len).
 * Strings the engine keeps (symbol, client order id, assets, the listen
 * key, a failure reason) are copied into fixed arrays of the struct, so
 * the result does not point into the frame and outlives it.
 *
 * Numbers: prices and quantities are int64 fixed-point at the scales of
 * the frame's symbol in the caller's symbol table (nx/symtab.h, venue
 * binance-usdm): prices at price_scale, quantities at qty_scale, parsed
 * exactly (nx/fixed.h: a price with more digits than its scale is an
 * error, not rounded). Averages the venue computes (average fill price,
 * entry price, break-even price) may carry more digits than a tick: they
 * are rounded to the price scale, half away from zero, and nothing decides
 * an order from them. Money (commission, realized and unrealized PnL,
 * balances) is at NX_BNU_MONEY_SCALE whatever the symbol.
 *
 * Tolerance: keys may come in any order; unknown keys are skipped; an
 * optional key that is absent, null or "" reads as 0, false or "". A
 * required key missing, a value of the wrong type or out of its range, and
 * a symbol the table does not hold are errors that name the key.
 * Enumerations Nexus acts on (side, execution type, order and algo status)
 * must hold a known value; descriptive ones (order type, time in force,
 * working type, reason) read an unknown value as ..._OTHER.
 */
#ifndef NX_BINANCE_USER_H
#define NX_BINANCE_USER_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

#define NX_BNU_MONEY_SCALE   8   /* balances, commission, PnL: 10^-8 of the asset */
#define NX_BNU_CLID_MAX      36  /* client order / algo id, bytes (Binance allows 1..36) */
#define NX_BNU_ASSET_MAX     15  /* asset name ("USDT", "BNFCR"), bytes */
#define NX_BNU_TEXT_MAX      63  /* a failure reason, bytes; longer text is cut */
#define NX_BNU_KEY_MAX       127 /* listen key, bytes (64 today) */
#define NX_BNU_EVENT_MAX     39  /* an unrecognised event's name, bytes; longer is cut */
#define NX_BNU_BALANCES_MAX  8   /* balances kept per ACCOUNT_UPDATE */
#define NX_BNU_POSITIONS_MAX 16  /* positions kept per ACCOUNT_UPDATE */

typedef enum nx_bnu_kind {
    NX_BNU_NONE = 0,    /* nothing decoded (an error) */
    NX_BNU_ORDER,       /* ORDER_TRADE_UPDATE: u.order */
    NX_BNU_ALGO,        /* ALGO_UPDATE: u.algo */
    NX_BNU_ACCOUNT,     /* ACCOUNT_UPDATE: u.account */
    NX_BNU_TRADE_LITE,  /* TRADE_LITE: u.lite */
    NX_BNU_KEY_EXPIRED, /* listenKeyExpired: u.expired */
    NX_BNU_OTHER,       /* any other event, or a reply to a request: u.other */
} nx_bnu_kind_t;

/* Order type, o.o and o.ot (and an algo order's o.o). */
typedef enum nx_bnu_otype {
    NX_BNU_OT_OTHER = 0,
    NX_BNU_OT_LIMIT,
    NX_BNU_OT_MARKET,
    NX_BNU_OT_STOP,
    NX_BNU_OT_STOP_MARKET,
    NX_BNU_OT_TAKE_PROFIT,
    NX_BNU_OT_TAKE_PROFIT_MARKET,
    NX_BNU_OT_TRAILING_STOP_MARKET,
    NX_BNU_OT_LIQUIDATION,
} nx_bnu_otype_t;

/* Execution type o.x: what this update reports. */
typedef enum nx_bnu_exec {
    NX_BNU_X_NEW = 1,
    NX_BNU_X_CANCELED,
    NX_BNU_X_CALCULATED, /* a liquidation or ADL fill */
    NX_BNU_X_EXPIRED,
    NX_BNU_X_TRADE,     /* a fill: l, L, t, n are set */
    NX_BNU_X_AMENDMENT, /* price or quantity modified */
} nx_bnu_exec_t;

/* Order status o.X as Binance names it (nx_status maps it to the engine's). */
typedef enum nx_bnu_status {
    NX_BNU_S_NEW = 1,
    NX_BNU_S_PARTIALLY_FILLED,
    NX_BNU_S_FILLED,
    NX_BNU_S_CANCELED,
    NX_BNU_S_REJECTED,
    NX_BNU_S_EXPIRED,
    NX_BNU_S_EXPIRED_IN_MATCH, /* expired by self-trade prevention */
} nx_bnu_status_t;

/* Algo (conditional) order status, ALGO_UPDATE o.X. */
typedef enum nx_bnu_algo_status {
    NX_BNU_AS_NEW = 1,
    NX_BNU_AS_CANCELED,
    NX_BNU_AS_TRIGGERING, /* condition met, the real order being placed */
    NX_BNU_AS_TRIGGERED,  /* the real order placed: order_id is set */
    NX_BNU_AS_FINISHED,
    NX_BNU_AS_REJECTED,
    NX_BNU_AS_EXPIRED,
} nx_bnu_algo_status_t;

/* Algo type, ALGO_UPDATE o.at. */
typedef enum nx_bnu_algo_type {
    NX_BNU_AT_OTHER = 0,
    NX_BNU_AT_CONDITIONAL,
} nx_bnu_algo_type_t;

/* Time in force, o.f. */
typedef enum nx_bnu_tif {
    NX_BNU_TIF_OTHER = 0,
    NX_BNU_TIF_GTC,
    NX_BNU_TIF_IOC,
    NX_BNU_TIF_FOK,
    NX_BNU_TIF_GTX, /* post only */
    NX_BNU_TIF_GTD,
} nx_bnu_tif_t;

/* Position side, ps. */
typedef enum nx_bnu_pside {
    NX_BNU_PS_OTHER = 0,
    NX_BNU_PS_BOTH, /* one-way mode */
    NX_BNU_PS_LONG, /* hedge mode */
    NX_BNU_PS_SHORT,
} nx_bnu_pside_t;

/* Working type, wt: the price a stop watches. */
typedef enum nx_bnu_wtype {
    NX_BNU_WT_OTHER = 0,
    NX_BNU_WT_CONTRACT_PRICE,
    NX_BNU_WT_MARK_PRICE,
} nx_bnu_wtype_t;

/* Margin type of a position, a.P[].mt. */
typedef enum nx_bnu_margin {
    NX_BNU_MT_OTHER = 0,
    NX_BNU_MT_CROSS,
    NX_BNU_MT_ISOLATED,
} nx_bnu_margin_t;

/* ACCOUNT_UPDATE a.m: why balances or positions moved. */
typedef enum nx_bnu_reason {
    NX_BNU_R_OTHER = 0,
    NX_BNU_R_DEPOSIT,
    NX_BNU_R_WITHDRAW,
    NX_BNU_R_ORDER,
    NX_BNU_R_FUNDING_FEE,
    NX_BNU_R_WITHDRAW_REJECT,
    NX_BNU_R_ADJUSTMENT,
    NX_BNU_R_INSURANCE_CLEAR,
    NX_BNU_R_ADMIN_DEPOSIT,
    NX_BNU_R_ADMIN_WITHDRAW,
    NX_BNU_R_MARGIN_TRANSFER,
    NX_BNU_R_MARGIN_TYPE_CHANGE,
    NX_BNU_R_ASSET_TRANSFER,
    NX_BNU_R_OPTIONS_PREMIUM_FEE,
    NX_BNU_R_OPTIONS_SETTLE_PROFIT,
    NX_BNU_R_AUTO_EXCHANGE,
    NX_BNU_R_COIN_SWAP_DEPOSIT,
    NX_BNU_R_COIN_SWAP_WITHDRAW,
} nx_bnu_reason_t;

/* Which other event (u.other.which). */
typedef enum nx_bnu_other {
    NX_BNU_EV_UNKNOWN = 0, /* an event name this decoder does not list */
    NX_BNU_EV_MARGIN_CALL,
    NX_BNU_EV_ACCOUNT_CONFIG_UPDATE,
    NX_BNU_EV_CONDITIONAL_ORDER_TRIGGER_REJECT,
    NX_BNU_EV_GRID_UPDATE,
    NX_BNU_EV_STRATEGY_UPDATE,
    NX_BNU_EV_REPLY, /* no "e": a reply to a request, {"result":..,"id":..} */
} nx_bnu_other_t;

/* Client-order-id flags (nx_bnu_order_t.flags, nx_bnu_trade_lite_t.flags). */
#define NX_BNU_F_LIQUIDATION 0x01 /* client id starts with "autoclose-": the venue liquidated */
#define NX_BNU_F_ADL         0x02 /* client id starts with "adl_autoclose": auto-deleveraging */

/* A symbol as sent and as the caller's table knows it. */
typedef nx_sym_ref_t nx_bnu_sym_t;

/* ORDER_TRADE_UPDATE, the "o" object. */
typedef struct nx_bnu_order {
    nx_bnu_sym_t sym;                     /* o.s */
    char client_id[NX_BNU_CLID_MAX + 1];  /* o.c, NUL-terminated */
    char fee_asset[NX_BNU_ASSET_MAX + 1]; /* o.N, "" when absent */
    uint64_t order_id;                    /* o.i */
    uint64_t trade_id;                    /* o.t, 0 = no fill */
    int64_t qty;                          /* o.q, original qty, qty scale, >= 0 */
    int64_t price;                        /* o.p, limit price, price scale, 0 for market */
    int64_t avg_price;                    /* o.ap, average fill price, price scale (rounded) */
    int64_t stop_price;                   /* o.sp, price scale, 0 = none */
    int64_t last_qty;                     /* o.l, this fill's qty, qty scale */
    int64_t cum_qty;                      /* o.z, filled so far, qty scale */
    int64_t last_price;                   /* o.L, this fill's price, price scale */
    int64_t fee;                          /* o.n, commission, money scale, in fee_asset */
    int64_t realized_pnl;                 /* o.rp, of this fill, money scale, signed */
    int64_t trade_ms;                     /* o.T, epoch ms, 0 when absent */
    uint8_t side;                         /* nx_side_t, o.S */
    uint8_t type;                         /* nx_bnu_otype_t, o.o (MARKET/LIMIT once triggered) */
    uint8_t orig_type;                    /* nx_bnu_otype_t, o.ot */
    uint8_t exec;                         /* nx_bnu_exec_t, o.x */
    uint8_t status;                       /* nx_bnu_status_t, o.X */
    uint8_t nx_status;                    /* nx_order_status_t for status (NEW -> ACKED) */
    uint8_t tif;                          /* nx_bnu_tif_t, o.f */
    uint8_t position_side;                /* nx_bnu_pside_t, o.ps */
    uint8_t working_type;                 /* nx_bnu_wtype_t, o.wt */
    uint8_t maker;                        /* o.m, 1 = this fill was maker */
    uint8_t reduce_only;                  /* o.R */
    uint8_t close_position;               /* o.cp, 1 = close-all conditional order */
    uint8_t flags;                        /* NX_BNU_F_* from client_id */
} nx_bnu_order_t;

/* ALGO_UPDATE, the "o" object: a conditional order held by the venue. */
typedef struct nx_bnu_algo {
    nx_bnu_sym_t sym;                         /* o.s */
    char client_algo_id[NX_BNU_CLID_MAX + 1]; /* o.caid */
    char fail_reason[NX_BNU_TEXT_MAX + 1];    /* o.rm as sent (cut), "" when none */
    uint64_t algo_id;                         /* o.aid */
    uint64_t order_id;                        /* o.ai, the real order once triggered, else 0 */
    int64_t trigger_price;                    /* o.tp, price scale */
    int64_t price;                            /* o.p, price scale, 0 for market */
    int64_t qty;                              /* o.q, qty scale, 0 with close_position */
    uint8_t algo_type;                        /* nx_bnu_algo_type_t, o.at */
    uint8_t type;                             /* nx_bnu_otype_t, o.o */
    uint8_t side;                             /* nx_side_t, o.S */
    uint8_t status;                           /* nx_bnu_algo_status_t, o.X */
    uint8_t tif;                              /* nx_bnu_tif_t, o.f */
    uint8_t position_side;                    /* nx_bnu_pside_t, o.ps */
    uint8_t working_type;                     /* nx_bnu_wtype_t, o.wt */
    uint8_t reduce_only;                      /* o.R */
    uint8_t close_position;                   /* o.cp */
} nx_bnu_algo_t;

/* ACCOUNT_UPDATE, one balance of a.B[]. */
typedef struct nx_bnu_balance {
    char asset[NX_BNU_ASSET_MAX + 1]; /* a */
    int64_t wallet;                   /* wb, money scale */
    int64_t cross_wallet;             /* cw, money scale */
    int64_t change;                   /* bc, change other than PnL and fees, money scale */
} nx_bnu_balance_t;

/* ACCOUNT_UPDATE, one position of a.P[]. */
typedef struct nx_bnu_position {
    nx_bnu_sym_t sym;        /* s; id NX_SYMBOL_NONE for a symbol not in the table */
    int64_t amount;          /* pa, qty scale, < 0 short; 0 when the symbol is unknown */
    int64_t entry_price;     /* ep, price scale (rounded); 0 when the symbol is unknown */
    int64_t breakeven_price; /* bep, price scale (rounded); 0 when the symbol is unknown */
    int64_t realized_total;  /* cr, accumulated realized PnL, money scale */
    int64_t unrealized_pnl;  /* up, money scale */
    int64_t isolated_wallet; /* iw, money scale */
    uint8_t margin_type;     /* nx_bnu_margin_t, mt */
    uint8_t position_side;   /* nx_bnu_pside_t, ps */
} nx_bnu_position_t;

/* ACCOUNT_UPDATE, the "a" object. Only what changed is listed. A position
 * on a symbol the table does not hold is kept with its money fields (the
 * account is shared with whatever else trades on it) and counted in
 * unknown_symbols; it is not an error. Entries beyond the arrays' sizes are
 * counted as cut, not decoded, and not an error. */
typedef struct nx_bnu_account {
    uint8_t reason;          /* nx_bnu_reason_t, a.m */
    uint8_t nbalances;       /* entries used in balances[] */
    uint8_t npositions;      /* entries used in positions[] */
    uint8_t unknown_symbols; /* positions[] entries whose symbol is not in the table */
    uint32_t balances_cut;   /* a.B entries beyond NX_BNU_BALANCES_MAX */
    uint32_t positions_cut;  /* a.P entries beyond NX_BNU_POSITIONS_MAX */
    nx_bnu_balance_t balances[NX_BNU_BALANCES_MAX];
    nx_bnu_position_t positions[NX_BNU_POSITIONS_MAX];
} nx_bnu_account_t;

/* TRADE_LITE: the fast fill summary (top-level keys). */
typedef struct nx_bnu_trade_lite {
    nx_bnu_sym_t sym;                    /* s */
    char client_id[NX_BNU_CLID_MAX + 1]; /* c */
    uint64_t order_id;                   /* i */
    uint64_t trade_id;                   /* t */
    int64_t qty;                         /* q, original qty, qty scale */
    int64_t price;                       /* p, original price, price scale */
    int64_t last_qty;                    /* l, qty scale */
    int64_t last_price;                  /* L, price scale */
    uint8_t side;                        /* nx_side_t, S */
    uint8_t maker;                       /* m */
    uint8_t flags;                       /* NX_BNU_F_* from client_id */
} nx_bnu_trade_lite_t;

/* listenKeyExpired: the stream's key is gone; create a new one and reconnect. */
typedef struct nx_bnu_key_expired {
    char listen_key[NX_BNU_KEY_MAX + 1]; /* listenKey */
} nx_bnu_key_expired_t;

/* Any other event: recognised, not decoded beyond e and E. */
typedef struct nx_bnu_other_ev {
    uint8_t which;                   /* nx_bnu_other_t */
    char name[NX_BNU_EVENT_MAX + 1]; /* e as sent (cut), "" for a reply */
} nx_bnu_other_ev_t;

/* What was wrong with a frame: both strings static, never NULL after a
 * failed decode ("" key: the frame as a whole). */
typedef struct nx_bnu_error {
    const char *key;  /* the key at fault as a path: "o.X", "a.P[].pa", "data" */
    const char *what; /* "missing", "unknown symbol", "not a string", "malformed JSON", ... */
} nx_bnu_error_t;

typedef struct nx_bnu_msg {
    uint8_t kind;       /* nx_bnu_kind_t */
    int64_t event_ms;   /* E, epoch ms (0 for a reply) */
    int64_t tx_ms;      /* top-level T, epoch ms, 0 when absent */
    nx_bnu_error_t err; /* set when the decode fails */
    union {
        nx_bnu_order_t order;
        nx_bnu_algo_t algo;
        nx_bnu_account_t account;
        nx_bnu_trade_lite_t lite;
        nx_bnu_key_expired_t expired;
        nx_bnu_other_ev_t other;
    } u;
} nx_bnu_msg_t;

/*
 * Decode one user-data frame, buf[0..len) (need not be NUL-terminated),
 * into *msg. Symbols are looked up in `symtab` under NX_VENUE_BINANCE_USDM.
 *
 * Returns 0 with msg->kind and the matching union member filled (members
 * of other kinds are left as they were; fields the frame does not send
 * read as 0 or ""). On failure returns a negative code with msg->err naming
 * the key and the fault, msg->kind the kind being decoded (NONE if not
 * known yet), and the rest of *msg not to be used:
 *   NX_ENOENT      the symbol is not in the table (its name is in the
 *                  record's sym.name; ACCOUNT_UPDATE positions excepted);
 *   NX_ESYNTAX     malformed JSON, trailing bytes, a required key missing,
 *                  a malformed decimal or integer;
 *   NX_ETYPE       a value of the wrong JSON type;
 *   NX_ERANGE      an enumeration value Nexus acts on is not known;
 *   NX_ETOOLONG    a client id, asset or listen key longer than its array;
 *   NX_EPRECISION  a price or quantity with more digits than its scale;
 *   NX_EOVERFLOW   a value beyond int64 at its scale;
 *   NX_EINVAL      a NULL argument.
 *
 * Threads: any thread; reads the symbol table lock-free (nx_symtab_find).
 * Does not block, take a lock or allocate; the caller owns buf and msg.
 */
int nx_bnu_frame_decode(const char *buf, size_t len, const nx_symtab_t *symtab, nx_bnu_msg_t *msg);

/* "ORDER_TRADE_UPDATE", ..., "other", "none": for logs. Never NULL. */
const char *nx_bnu_kind_name(nx_bnu_kind_t kind);

#endif /* NX_BINANCE_USER_H */
