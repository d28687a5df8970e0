/*
 * binance.h — Binance USD-M futures requests as the bytes that go on the
 * wire: serialized and signed, ready for a live adapter to send.
 */
#ifndef NX_BINANCE_H
#define NX_BINANCE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"

/*
 * Binance USD-M order request (POST /fapi/v1/order), as the bytes that go on
 * the wire: "symbol=..&side=..&type=..&quantity=..[&price=..&timeInForce=GTC]
 * [&reduceOnly=true][&newClientOrderId=nx-<hex id>]&recvWindow=..&timestamp=..
 * &signature=<hex HMAC-SHA256 of everything before it under the secret>".
 * Market and limit orders only (conditional orders use the algo endpoint).
 * Writes into buf (NUL-terminated); returns the length, or NX_ETOOLONG /
 * NX_EINVAL. Pure: any thread, no allocation, no lock; the secret is read,
 * never copied.
 */
int nx_binance_order_request(char *buf, size_t cap, const char *symbol,
                             const nx_ev_order_intent_t *in, unsigned price_scale,
                             unsigned qty_scale, int64_t timestamp_ms, uint32_t recv_window_ms,
                             const void *secret, size_t secret_len);

#endif /* NX_BINANCE_H */
