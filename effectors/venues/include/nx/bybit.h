/*
 * bybit.h — Bybit V5 trading requests as the bytes that go on the wire,
 * serialized and signed (spec/exchanges.md §2.4–2.7): the JSON bodies of
 * the REST trading endpoints, the headers that sign them, the frames of
 * the WebSocket trade API (wss://…/v5/trade) that carry the same bodies,
 * the private streams' auth frame, and what each documented retCode means
 * for the order that got it.
 *
 * Signing: REST signs timestamp + API key + recv window + the exact body
 * bytes sent (POST) or the query string (GET), HMAC-SHA256 as lower-case
 * hex in X-BAPI-SIGN. The WebSocket trade API signs once per connection
 * (auth: HMAC of "GET/realtime" + expires, as the private stream does);
 * its requests carry only a timestamp header and are not signed each, so
 * an order sent over it costs no HMAC at all.
 * Client order ids are "nx-<hex of the nx_clid>" (orderLinkId, ≤ 19 of the
 * 36 characters allowed), the same text as on Binance.
 *
 * Every builder writes into buf (NUL-terminated) and returns the length, or
 * NX_ETOOLONG / NX_EINVAL. Pure: any thread, no allocation, no lock; the
 * key is only read.
 */
#ifndef NX_BYBIT_H
#define NX_BYBIT_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/hmac.h"

/* What every request of one symbol carries. */
typedef struct nx_bybit_req {
    const char *category;     /* "linear" (USDT perpetuals) or "spot" */
    const char *symbol;       /* "BTCUSDT" */
    unsigned price_scale;     /* decimals of the symbol's price units */
    unsigned qty_scale;       /* decimals of its qty units */
    int64_t timestamp_ms;     /* the venue's clock: local time + the measured offset */
    uint32_t recv_window_ms;  /* X-BAPI-RECV-WINDOW; 0 = 5000, the venue's default */
    const nx_hmac_key_t *key; /* the account's secret, prepared (REST, auth) */
    const char *api_key;      /* X-BAPI-API-KEY */
} nx_bybit_req_t;

/* Bybit's "0" for a take-profit, stop-loss or trailing stop: cancel it. */
#define NX_BYBIT_CANCEL (-1)

/* The protection linked to the position (/v5/position/trading-stop, one
 * call for all three, tpslMode Full): each 0 = not sent (left as it is),
 * NX_BYBIT_CANCEL = "0" (cancelled), else a price (or, for the trailing
 * stop, a price distance) in price units. */
typedef struct nx_bybit_protect {
    int64_t take_profit;
    int64_t stop_loss;
    int64_t trailing;     /* distance from the best price, not a percentage */
    int64_t active_price; /* trailing: the price that arms it; 0 = armed now */
} nx_bybit_protect_t;

/* ---- the bodies (JSON objects, the exact bytes REST signs and sends;
 * the WebSocket trade API sends the same object in its args) ---- */

/* /v5/order/create: Market or Limit (GTC), qty, reduceOnly, orderLinkId;
 * the intent's stop-loss and take-profit ride on the order (tpslMode
 * Full: they become the position's once it fills). positionIdx 0 (one-way
 * mode) on linear. */
int nx_bybit_order_body(char *buf, size_t cap, const nx_bybit_req_t *r,
                        const nx_ev_order_intent_t *in);
/* /v5/order/amend: a resting order's new qty and price (in place, same
 * order id), by orderLinkId; each 0 = unchanged. */
int nx_bybit_amend_body(char *buf, size_t cap, const nx_bybit_req_t *r, uint64_t client_id,
                        int64_t qty, int64_t price);
/* /v5/order/cancel by orderLinkId. */
int nx_bybit_cancel_body(char *buf, size_t cap, const nx_bybit_req_t *r, uint64_t client_id);
/* /v5/order/cancel-all for the symbol: every kind (no orderFilter), the
 * conditional, TP/SL and trailing orders included. */
int nx_bybit_cancel_all_body(char *buf, size_t cap, const nx_bybit_req_t *r);
/* /v5/position/trading-stop: the position's take-profit, stop-loss and
 * trailing stop in one call (linear only). NX_EINVAL if all are 0. */
int nx_bybit_protect_body(char *buf, size_t cap, const nx_bybit_req_t *r,
                          const nx_bybit_protect_t *p);
/* /v5/position/set-leverage: buy and sell leverage alike (one-way mode),
 * 1..100 (the engine's ceiling is the shield's, 20). */
int nx_bybit_leverage_body(char *buf, size_t cap, const nx_bybit_req_t *r, unsigned leverage);

/* ---- REST ---- */

/* The four header lines that sign a request (each ending in CRLF):
 * X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW, X-BAPI-SIGN over
 * timestamp + api_key + recv window + payload[0..len) (the body of a
 * POST, the query of a GET). */
int nx_bybit_rest_headers(char *buf, size_t cap, const nx_bybit_req_t *r, const char *payload,
                          size_t len);
/* The 64 hex digits alone (not NUL-terminated). */
int nx_bybit_sign(const nx_bybit_req_t *r, const char *payload, size_t len,
                  char hex[NX_HMAC_HEX_LEN]);

/* ---- WebSocket ---- */

/* {"req_id":"<req_id>","op":"auth","args":["<api key>",<expires_ms>,
 * "<hex of HMAC(secret, "GET/realtime" + expires_ms)>"]}: the first frame
 * on the private stream and on the trade API. */
int nx_bybit_ws_auth(char *buf, size_t cap, const nx_hmac_key_t *key, const char *api_key,
                     int64_t expires_ms, uint64_t req_id);
/* A trade API request: {"reqId":"<req_id>","header":{"X-BAPI-TIMESTAMP":
 * "..","X-BAPI-RECV-WINDOW":".."},"op":"<op>","args":[<body>]} with op
 * "order.create", "order.amend" or "order.cancel" and body one of the
 * bodies above (its length blen). */
int nx_bybit_ws_trade(char *buf, size_t cap, const nx_bybit_req_t *r, uint64_t req_id,
                      const char *op, const char *body, size_t blen);

/* ---- answers ---- */

/* What a retCode means for the request that got it (spec §2.7). */
typedef enum nx_bybit_outcome {
    NX_BYBIT_DONE = 1,  /* 0: accepted */
    NX_BYBIT_UNCHANGED, /* 110043 leverage, 34040 TP/SL: already so — a success */
    NX_BYBIT_DUPLICATE, /* 110072: that orderLinkId exists — the first send got there;
                           the order is queried, not sent again */
    NX_BYBIT_CLOCK,     /* 10002: timestamp outside the recv window — the clock offset
                           is measured again, then the request may go again */
    NX_BYBIT_BACKOFF,   /* 10006: the rate limit — wait for the limit's reset */
    NX_BYBIT_UNKNOWN,   /* 10016: the venue erred; whether it acted is unknown —
                           reconcile before anything else */
    NX_BYBIT_AUTH,      /* 10003 key, 10004 signature, 10005 permission, 10010 IP:
                           the account's keys or settings, told to the user */
    NX_BYBIT_NOT_FOUND, /* 110001: no such order (filled or cancelled already) */
    NX_BYBIT_REJECTED,  /* any other: the order is refused, as is */
} nx_bybit_outcome_t;

nx_bybit_outcome_t nx_bybit_outcome(long ret_code);
/* A person's words for a retCode ("insufficient balance", "the API key is
 * not valid (a testnet key on mainnet?)"); a generic phrase for codes not
 * documented. Never NULL. */
const char *nx_bybit_ret_words(long ret_code);

#endif /* NX_BYBIT_H */
