/*
 * binance.h — Binance USD-M futures requests as the bytes that go on the
 * wire, serialized and signed: REST bodies (application/x-www-form-
 * urlencoded, `signature` last) and WebSocket API frames (JSON text, one
 * request per frame).
 *
 * Signing (spec/exchanges.md §1.5; WebSocket API "General Info"): REST
 * signs the exact parameter bytes sent, in the order sent; the WebSocket
 * API signs "k1=v1&k2=v2…" of every parameter but `signature`, sorted by
 * name — the builders below write their parameters already in that order,
 * so nothing is sorted per request. INT parameters (timestamp, recvWindow)
 * are JSON numbers, decimals and booleans JSON strings.
 * Client order ids are "nx-<hex of the nx_clid>" (≤ 19 of the 36 allowed
 * characters), for orders (newClientOrderId) and algo orders
 * (clientAlgoId) alike, so an answer or an event finds its session.
 *
 * Every builder writes into buf (NUL-terminated) and returns the length, or
 * NX_ETOOLONG / NX_EINVAL. Pure: any thread, no allocation, no lock; the
 * key is only read.
 */
#ifndef NX_BINANCE_H
#define NX_BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/hmac.h"

/* What every signed request of one symbol carries. */
typedef struct nx_binance_req {
    const char *symbol;         /* "BTCUSDT" */
    unsigned price_scale;       /* decimals of the symbol's price units */
    unsigned qty_scale;         /* decimals of its qty units */
    int64_t timestamp_ms;       /* the venue's clock: local time + the measured offset */
    uint32_t recv_window_ms;    /* 0 = not sent (the venue's default, 5000) */
    const nx_hmac_key_t *key;   /* the account's secret, prepared */
    const char *api_key;        /* WebSocket API only: sent as apiKey */
    const nx_hmac_key_t *ws_key; /* WebSocket API, optional: the key with the signed query's
                                    first block ("apiKey=" and the API key's first 57
                                    characters) absorbed, from nx_binance_ws_key */
} nx_binance_req_t;

/* The WebSocket API signs the sorted parameters, which open with apiKey: the
 * first SHA-256 block of every request of an account is the same. */
#define NX_BINANCE_WS_PREFIX 64
/* That block absorbed once into a copy of the key (nx_hmac_key_free it):
 * each signature then hashes one block less. NX_EINVAL if the API key is
 * shorter than 57 characters (Binance's are 64). */
int nx_binance_ws_key(nx_hmac_key_t **out, const nx_hmac_key_t *key, const char *api_key);

/* A conditional (algo) order: the stop-loss, take-profit or trailing stop
 * that rests at the venue and fires on the mark price. */
typedef struct nx_binance_algo {
    uint64_t client_id;      /* -> clientAlgoId "nx-<hex>" */
    uint8_t side;            /* nx_side_t: the closing side */
    uint8_t type;            /* NX_ORD_STOP_MARKET, NX_ORD_TAKE_PROFIT_MARKET, NX_ORD_TRAILING_STOP */
    int64_t trigger_price;   /* price units, > 0 (stop and take-profit) */
    int64_t qty;             /* qty units; 0 = closePosition=true (stop, take-profit only) */
    int64_t activate_price;  /* trailing: price units, 0 = the venue's latest price */
    uint32_t callback_bp;    /* trailing: 10..1000 (0.1%..10%), sent as callbackRate percent */
} nx_binance_algo_t;

/* POST /fapi/v1/order body: "symbol=..&side=..&type=..&quantity=..[&price=
 * ..&timeInForce=GTC][&reduceOnly=true][&newClientOrderId=nx-<hex>]
 * [&recvWindow=..]&timestamp=..&signature=<hex>". LIMIT and MARKET only
 * (conditional types are algo orders). */
int nx_binance_order_request(char *buf, size_t cap, const nx_binance_req_t *r,
                             const nx_ev_order_intent_t *in);
/* POST /fapi/v1/algoOrder body: algoType=CONDITIONAL, the type, triggerPrice
 * or callbackRate/activatePrice, closePosition=true or quantity with
 * reduceOnly=true, workingType=MARK_PRICE, clientAlgoId. */
int nx_binance_algo_request(char *buf, size_t cap, const nx_binance_req_t *r,
                            const nx_binance_algo_t *a);
/* DELETE /fapi/v1/order (algo = 0, origClientOrderId) or /fapi/v1/algoOrder
 * (algo = 1, clientAlgoId) body; also GET /fapi/v1/order's and
 * /fapi/v1/algoOrder's query for the same order. */
int nx_binance_cancel_request(char *buf, size_t cap, const nx_binance_req_t *r,
                              uint64_t client_id, int algo);
/* PUT /fapi/v1/order body: a resting LIMIT order's new price and quantity
 * (in->price, in->qty, in->side; in->client_id as origClientOrderId). */
int nx_binance_modify_request(char *buf, size_t cap, const nx_binance_req_t *r,
                              const nx_ev_order_intent_t *in);
/* Append "&signature=<hex>" (or "signature=<hex>" to an empty query) to the
 * query buf[0..len) under key: any other signed endpoint's parameters,
 * written by the caller. Returns the new length. */
int nx_binance_sign(char *buf, size_t len, size_t cap, const nx_hmac_key_t *key);

/* WebSocket API frames: {"id":<req_id>,"method":"…","params":{…,
 * "signature":"<hex>"}}. order.place (LIMIT/MARKET), algoOrder.place,
 * order.cancel / algoOrder.cancel by client id, and order.modify. */
int nx_binance_ws_order_place(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                              const nx_ev_order_intent_t *in);
int nx_binance_ws_algo_place(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                             const nx_binance_algo_t *a);
int nx_binance_ws_cancel(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                         uint64_t client_id, int algo);
/* order.modify: the same as nx_binance_modify_request. */
int nx_binance_ws_modify(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                         const nx_ev_order_intent_t *in);

/* "nx-<hex>" for a client id into out (≥ 20 bytes); returns its length. */
int nx_binance_clid_format(uint64_t client_id, char *out);
/* The client id in "nx-<hex>", or 0 when the text is not one of ours (a
 * person's order on the venue's site, a liquidation "autoclose-…"). */
uint64_t nx_binance_clid_parse(const char *s, size_t n);

#endif /* NX_BINANCE_H */
