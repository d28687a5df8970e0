/*
 * bridge.h — NexusBridge: the one interface every venue adapter implements
 * (the paper venue today; Binance USD-M, Bybit V5 and Alpaca as they come),
 * and the client order ids every order carries.
 *
 * A client order id encodes the user session and a per-session sequence,
 * so a retry after a timeout is idempotent at the venue and an update can
 * be routed to its session without a lookup table.
 */
#ifndef NX_BRIDGE_H
#define NX_BRIDGE_H

#include <stdint.h>

#include "nx/event.h"

/* Client order id layout: high 24 bits user session, low 40 bits the
 * session's order sequence (10^12 orders per session). */
#define NX_CLID_SESSION_BITS 24
#define NX_CLID_SEQ_BITS     40

static inline uint64_t nx_clid_make(uint32_t session, uint64_t seq)
{
    return ((uint64_t)session << NX_CLID_SEQ_BITS) | (seq & ((1ULL << NX_CLID_SEQ_BITS) - 1));
}

static inline uint32_t nx_clid_session(uint64_t clid)
{
    return (uint32_t)(clid >> NX_CLID_SEQ_BITS);
}

static inline uint64_t nx_clid_seq(uint64_t clid)
{
    return clid & ((1ULL << NX_CLID_SEQ_BITS) - 1);
}

/* Every venue adapter's handle begins with its table. */
typedef struct nx_bridge {
    const struct nx_bridge_ops *ops;
} nx_bridge_t;

/* NexusBridge: what every venue adapter implements. The order manager
 * makes each call on the engine thread, between two market events: it must
 * not block (a live adapter queues the request for the network thread and
 * returns). What the venue answers comes back through the adapter's
 * nx_order_update_cb as NX_EV_ORDER_UPDATE payloads — the paper venue
 * answers inside the call. Return 0 or a negative NX_E… code.
 * set_protective and query are part of the interface for live venues
 * (protection attached to a position, a venue's open orders); the order
 * manager does not call them yet. */
typedef struct nx_bridge_ops {
    const char *name;
    int (*place)(nx_bridge_t *b, const nx_ev_order_intent_t *intent, uint32_t symbol);
    int (*cancel)(nx_bridge_t *b, uint64_t client_id, uint32_t symbol);
    int (*cancel_all)(nx_bridge_t *b, uint32_t session, uint32_t symbol);
    int (*amend)(nx_bridge_t *b, uint64_t client_id, int64_t price, int64_t qty);
    int (*set_protective)(nx_bridge_t *b, uint32_t session, uint32_t symbol, int64_t stop_loss,
                          int64_t take_profit);
    int (*query)(nx_bridge_t *b, uint32_t session);
} nx_bridge_ops_t;

/* Where a venue's order updates go (the order manager). */
typedef void (*nx_order_update_cb)(void *ctx, uint32_t symbol, const nx_ev_order_update_t *u);

#endif /* NX_BRIDGE_H */
