/*
 * effectors.h — orders out: the order manager, protective exits (SL/TP,
 * trailing), and venues behind one interface (NexusBridge).
 *
 * Public interface: every order carries a 64-bit client order id that
 * encodes the user session and a per-session sequence, so a retry after a
 * timeout is idempotent at the venue. Venues (paper, Binance USD-M, Bybit,
 * Alpaca) implement nx_bridge_ops_t.
 */
#ifndef NX_EFFECTORS_H
#define NX_EFFECTORS_H

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

typedef struct nx_bridge nx_bridge_t;

/* NexusBridge: what every venue adapter implements. Each call is made on
 * the network thread and must not block; results come back as
 * NX_EV_ORDER_UPDATE events. Return 0 or a negative NX_E… code. */
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

#endif /* NX_EFFECTORS_H */
