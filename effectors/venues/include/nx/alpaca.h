/*
 * alpaca.h — Alpaca trading requests (US stocks and ETFs) as the bytes
 * that go on the wire (spec/exchanges.md §3.3–3.4): the JSON body of
 * POST /v2/orders — market, limit, stop, stop-limit and trailing-stop
 * orders, and the order classes that leave the stop and the target
 * resting with the broker (bracket, OCO, OTO) — the body of PATCH
 * /v2/orders/{id} (replace), the two key headers every request carries,
 * and the trade_updates stream's authenticate and listen frames.
 *
 * The builders check what Alpaca refuses, so nothing is sent to be
 * rejected: fractional quantities only on simple market day orders,
 * extended hours only for limit day orders, a bracket's two legs on the
 * right sides of each other (a buy's target above its stop) and in day or
 * gtc, a trailing stop by price or by percent and never as a bracket leg.
 * Client order ids are "nx-<hex of the nx_clid>" (≤ 19 of the 48
 * characters allowed).
 *
 * Every builder writes into buf (NUL-terminated) and returns the length, or
 * NX_ETOOLONG / NX_EINVAL. Pure: any thread, no allocation, no lock.
 */
#ifndef NX_ALPACA_H
#define NX_ALPACA_H

#include <stddef.h>
#include <stdint.h>

/* What every request of one symbol carries. */
typedef struct nx_alpaca_req {
    const char *symbol;   /* "AAPL" */
    unsigned price_scale; /* decimals of the symbol's price units */
    unsigned qty_scale;   /* decimals of its qty units (fractional shares: > 0) */
} nx_alpaca_req_t;

typedef enum nx_alpaca_type {
    NX_ALP_MARKET = 1,
    NX_ALP_LIMIT,
    NX_ALP_STOP,
    NX_ALP_STOP_LIMIT,
    NX_ALP_TRAILING_STOP,
} nx_alpaca_type_t;

typedef enum nx_alpaca_tif {
    NX_ALP_DAY = 1,
    NX_ALP_GTC,
    NX_ALP_IOC,
    NX_ALP_FOK,
    NX_ALP_OPG, /* at the opening auction */
    NX_ALP_CLS, /* at the closing auction */
} nx_alpaca_tif_t;

typedef enum nx_alpaca_class {
    NX_ALP_SIMPLE = 0,
    NX_ALP_BRACKET, /* entry + take-profit + stop-loss, the legs active once it fills */
    NX_ALP_OCO,     /* a limit take-profit and a stop-loss for a position held: one cancels
                       the other */
    NX_ALP_OTO,     /* entry + one leg */
} nx_alpaca_class_t;

typedef struct nx_alpaca_order {
    uint64_t client_id;  /* -> client_order_id "nx-<hex>"; 0 = none (Alpaca makes one) */
    uint8_t side;        /* nx_side_t */
    uint8_t type;        /* nx_alpaca_type_t */
    uint8_t tif;         /* nx_alpaca_tif_t */
    uint8_t order_class; /* nx_alpaca_class_t */
    uint8_t extended_hours;
    int64_t qty;         /* qty units, > 0 */
    int64_t limit_price; /* limit and stop-limit (and an OCO's take-profit side) */
    int64_t stop_price;  /* stop and stop-limit */
    int64_t trail_price; /* trailing stop by a price distance ... */
    uint32_t trail_bp;   /* ... or by a percentage, in bp (0.01%) */
    int64_t take_profit; /* bracket, OCO, OTO: take_profit.limit_price; 0 = none */
    int64_t stop_loss;   /* bracket, OCO, OTO: stop_loss.stop_price; 0 = none */
    int64_t stop_limit;  /* the stop leg as a stop-limit: stop_loss.limit_price; 0 = none */
} nx_alpaca_order_t;

/* POST /v2/orders body, keys in the order of Alpaca's own examples: side,
 * symbol, type, qty, time_in_force, the prices, extended_hours,
 * order_class with take_profit and stop_loss, client_order_id. */
int nx_alpaca_order_body(char *buf, size_t cap, const nx_alpaca_req_t *r,
                         const nx_alpaca_order_t *o);
/* PATCH /v2/orders/{id} body: a resting order's new qty, limit_price,
 * stop_price, trail (price distance); each 0 = unchanged; at least one. */
int nx_alpaca_replace_body(char *buf, size_t cap, const nx_alpaca_req_t *r, int64_t qty,
                           int64_t limit_price, int64_t stop_price, int64_t trail);
/* "APCA-API-KEY-ID: ..\r\nAPCA-API-SECRET-KEY: ..\r\n": every REST
 * request's authentication. Keys are letters and digits (anything else,
 * a CR or LF above all, is refused). */
int nx_alpaca_auth_headers(char *buf, size_t cap, const char *key_id, const char *secret);
/* The trade_updates stream: {"action":"authenticate","data":{"key_id":..,
 * "secret_key":..}}, then {"action":"listen","data":{"streams":
 * ["trade_updates"]}}. */
int nx_alpaca_ws_auth(char *buf, size_t cap, const char *key_id, const char *secret);
int nx_alpaca_ws_listen(char *buf, size_t cap);

#endif /* NX_ALPACA_H */
