/*
 * venuesim.h — a Binance USD-M futures venue on 127.0.0.1, for tests and
 * for `nexus replay`: the trading side that the market replay (replay.h)
 * does not have. Tests never touch Binance; they trade against this.
 *
 * It speaks the venue's documented wire formats (spec/exchanges.md §1):
 *  - REST: GET /fapi/v1/time, /fapi/v1/exchangeInfo; POST/PUT/DELETE/GET
 *    /fapi/v1/order, GET /fapi/v1/openOrders, DELETE /fapi/v1/allOpenOrders;
 *    POST/DELETE/GET /fapi/v1/algoOrder, GET /fapi/v1/openAlgoOrders,
 *    DELETE /fapi/v1/algoOpenOrders; GET /fapi/v3/positionRisk,
 *    /fapi/v3/balance, /fapi/v1/userTrades, /fapi/v1/allOrders,
 *    /fapi/v1/forceOrders; POST /fapi/v1/leverage,
 *    /fapi/v1/marginType; POST/PUT/DELETE
 *    /fapi/v1/listenKey.
 *  - WebSocket API at /ws-fapi/v1: order.place, order.modify, order.cancel, order.status,
 *    algoOrder.place, algoOrder.cancel (answers {"id","status","result" |
 *    "error","rateLimits"}).
 *  - User-data stream at /ws/<listenKey> and /private/ws?listenKey=<k>:
 *    ORDER_TRADE_UPDATE, TRADE_LITE, ALGO_UPDATE, ACCOUNT_UPDATE,
 *    listenKeyExpired.
 * And it checks what the venue checks: the X-MBX-APIKEY header (-2014,
 * -2015), the HMAC-SHA256 signature over the exact parameter bytes (REST)
 * or the sorted parameters (WebSocket API) (-1022), timestamp and
 * recvWindow against its clock (-1021), mandatory parameters (-1102), the
 * symbol's filters in integers (nx/binance_filters.h: -1111, -4014, -4023,
 * -4164 ...), reduce-only (-2022), margin (-2019), duplicate client ids
 * (-4116), unknown orders (-2013, -2011), conditional types on the plain
 * order endpoint (-4120).
 *
 * Matching is the paper venue's (paper.h: fills at the quoted side with
 * slippage, resting limits fill when traded through, taker and maker fees,
 * rounded up) on the market events given to nx_vsim_on_market. Conditional
 * (algo) orders rest in the simulator and fire on the mark price — the
 * last trade, or a candle's low and high, when the source carries no mark
 * stream — as a market order of the triggered type, as Binance's algo
 * service does; closePosition closes what the position is at that moment.
 * Positions and money per account: a one-way position per symbol, wallet
 * balance in USDT at NX_VSIM_MONEY_SCALE, isolated-style margin at the
 * symbol's leverage, liquidation at entry x (1 -/+ 1/leverage + maint).
 *
 * Quotas (Binance's exchangeInfo rateLimits, scaled by options): request
 * weight per minute for the whole process (one IP), orders per 10 s and
 * per minute per account. Every answer carries X-MBX-USED-WEIGHT-1M and,
 * for orders, X-MBX-ORDER-COUNT-10S / -1M (the WebSocket API: rateLimits).
 * Past a quota: 429 with Retry-After (-1003 or -1015); a request before
 * Retry-After has passed: 418, banned for twice as long.
 *
 * Faults, by nx_vsim_fault or GET /_sim/fault?kind=..&n=..&ms=..&code=..:
 *   reject     the next n orders refused with `code` (default -2019)
 *   unknown    the next n orders accepted, the answer lost: REST answers
 *              HTTP 503 "Unknown error", the WebSocket API answers nothing
 *   timeout    the next n orders never answered and not executed
 *   timeout_algo  the same for the next n conditional orders only
 *   slow       the next n answers delayed by ms
 *   drop_user  every user-data stream connection closed (with ms: none
 *              connects again for ms, and what happens meanwhile is lost)
 *   mute_user  user-data events lost for ms, the connections left open
 *   expire_key every listen key expired (listenKeyExpired, then closed)
 *   duplicate  the next n user-data events sent twice
 *   reorder    the next n user-data events each sent after the one after it
 *   cancel_stop every resting conditional order cancelled by the venue
 *   purge      what the venue forgets after days: cancelled or expired
 *              orders with no fill and cancelled conditional orders, so
 *              a query for one answers -2013 "Order does not exist."
 *   partial    the next n orders filled in two parts
 *   liquidate  every open position liquidated now ("autoclose-…")
 *   skew       the venue's clock moved by ms (may be negative)
 *   http429    the next n requests answered 429 with Retry-After ms/1000 s
 *   clear      every pending fault above forgotten, and every schedule
 * On a schedule, by nx_vsim_schedule or the same request with &every=MS:
 * the fault injected every MS milliseconds until "clear".
 * GET /_sim/status reports the counters as JSON.
 *
 * Threads: the server runs its own libwebsockets context on the thread
 * that calls nx_vsim_run; every other call may come from any thread (one
 * mutex inside; the simulator is not on anyone's hot path).
 */
#ifndef NX_VENUESIM_H
#define NX_VENUESIM_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

#define NX_VSIM_MONEY_SCALE 8 /* USDT amounts: 10^-8 */

typedef struct nx_vsim nx_vsim_t;

typedef struct nx_vsim_opts {
    const nx_symtab_t *symtab; /* the symbols served (venue binance-usdm), their scales,
                                  tick, lot and minimum notional; must outlive the sim */
    int port;                  /* 0 = any free port (nx_vsim_port) */
    uint32_t weight_1m;        /* request weight per minute, all accounts (default 2400) */
    uint32_t orders_10s;       /* orders per 10 s per account (default 300) */
    uint32_t orders_1m;        /* orders per minute per account (default 1200) */
    uint32_t taker_fee_bp;     /* default 4 (0.04%) */
    uint32_t maker_fee_bp;     /* default 2 */
    uint32_t slippage_bp;      /* market fills, default 0 */
    uint32_t maint_margin_bp;  /* liquidation, default 40 (0.4%) */
    uint32_t listen_key_ttl_s; /* without keep-alive, default 3600 */
    uint32_t default_leverage; /* default 20 */
    int quiet;                 /* no libwebsockets log */
} nx_vsim_opts_t;

typedef struct nx_vsim_stats {
    uint64_t requests, ws_requests, orders, algo_orders, cancels, fills, rejects;
    uint64_t bad_key, bad_signature, bad_timestamp, http429, http418;
    uint64_t unknown_answers, timeouts, user_events, user_drops, keys_expired;
    uint64_t venue_cancels, liquidations, scheduled_faults, amendments;
    uint32_t max_weight_pct;     /* the highest request weight seen, % of the quota */
    uint32_t max_orders_10s_pct; /* the highest order count of any account, % of quota */
    uint32_t max_orders_1m_pct;
    uint32_t user_connections;   /* open now */
    uint32_t api_connections;    /* WebSocket API connections open now */
} nx_vsim_stats_t;

/* One account's view, as the venue holds it (the test's independent
 * record). */
typedef struct nx_vsim_position {
    int64_t qty;            /* signed, the symbol's qty units */
    int64_t entry_px;       /* average entry, price units (rounded), 0 if flat */
    int64_t realized;       /* money, all closed P&L on the symbol */
    int64_t fees;           /* money, all fees paid on the symbol */
    uint32_t open_orders;   /* resting plain orders */
    uint32_t open_algos;    /* resting conditional orders */
    uint32_t leverage;
    uint8_t isolated;       /* margin type ISOLATED (else CROSSED, the venue's default) */
    int64_t stop_qty;       /* what resting stops on the closing side would close: a
                               closePosition stop counts as the whole position */
} nx_vsim_position_t;

void nx_vsim_opts_default(nx_vsim_opts_t *o);
/* Bind 127.0.0.1:port. 0, NX_EINVAL, NX_ENOMEM, NX_ESYSTEM. */
int nx_vsim_create(nx_vsim_t **out, const nx_vsim_opts_t *o);
/* An account: its API key, its secret and its starting USDT wallet
 * (money units). 0, NX_EEXIST (the key is taken), NX_EFULL, NX_EINVAL. */
int nx_vsim_add_account(nx_vsim_t *s, const char *api_key, const char *secret, int64_t wallet);
int nx_vsim_port(const nx_vsim_t *s);
/* Serve until nx_vsim_stop (the calling thread runs the server). */
int nx_vsim_run(nx_vsim_t *s);
void nx_vsim_stop(nx_vsim_t *s);
void nx_vsim_destroy(nx_vsim_t *s);

/* A market event (trade, bbo, closed kline, mark price) of a symtab
 * symbol: moves the prices, fills what it reaches, fires conditional
 * orders and liquidations. Any thread. */
void nx_vsim_on_market(nx_vsim_t *s, const nx_event_t *ev);
/* Inject a fault (kinds above). 0, or NX_EINVAL with why. Any thread. */
int nx_vsim_fault(nx_vsim_t *s, const char *kind, int64_t n, int64_t ms, int code, char *why,
                  size_t cap);
/* The same fault, injected every every_ms (>= 10) from every_ms on, until
 * "clear"; at most 16. 0, NX_EINVAL, NX_EFULL. Any thread. */
int nx_vsim_schedule(nx_vsim_t *s, const char *kind, int64_t every_ms, int64_t n, int64_t ms,
                     int code, char *why, size_t cap);
void nx_vsim_stats(nx_vsim_t *s, nx_vsim_stats_t *st);
/* An account's position and money on a symbol; 0 or NX_ENOENT. */
int nx_vsim_position(nx_vsim_t *s, const char *api_key, uint32_t symbol, nx_vsim_position_t *out);
/* Client ids the venue executed twice: pairs of orders (or of conditional
 * orders) of one account under one client id that both rest or have
 * filled. An amended stop (the old one cancelled) does not count. */
uint32_t nx_vsim_duplicates(nx_vsim_t *s);
/* An account's wallet balance (money units); 0 or NX_ENOENT. */
int nx_vsim_wallet(nx_vsim_t *s, const char *api_key, int64_t *wallet);

#endif /* NX_VENUESIM_H */
