/*
 * paper.h — the paper venue, a NexusBridge adapter that simulates an
 * exchange on the engine's own market events.
 */
#ifndef NX_PAPER_H
#define NX_PAPER_H

#include <stdint.h>

#include "nx/bridge.h"
#include "nx/event.h"
#include "nx/symtab.h"

/*
 * The paper venue: a simulated exchange driven by the same market events as
 * the strategies, so live paper trading and a replay behave alike.
 *  - market orders fill at once at the best price on the order's side (ask
 *    to buy, bid to sell; the last trade or candle close without a quote)
 *    made worse by slippage_bp, rounded to the tick away from the trader;
 *  - limit orders rest and fill at their price only when the market trades
 *    through them (a trade beyond, or a candle whose range crosses), maker;
 *  - stop-market and take-profit-market orders rest until the price reaches
 *    their trigger, then fill at the trigger (or at the opening price when a
 *    candle gaps past it), with slippage, taker. In one candle that reaches
 *    both a position's stop and its target, the stop fills first: a replay
 *    never credits the better outcome it cannot prove.
 * Fees: notional x bp / 10^4, rounded up, in quote units.
 * Sanity: a price further than sanity_bp from the last accepted one (a
 * trade, a quote's mid, any of a candle's prices; nx/pxband.h) moves
 * nothing and fills nothing: a stop that it would trigger waits for a sane
 * print. A second print that agrees with the refused one is a real move.
 * Engine thread; no allocation after create. The restore and resume calls
 * below run at start-up, before the engine thread.
 */
typedef struct nx_paper_opts {
    uint32_t slippage_bp;  /* market and stop fills */
    uint32_t taker_fee_bp; /* 4 = 0.04% */
    uint32_t maker_fee_bp; /* 2 = 0.02% */
    nx_order_update_cb on_update;
    void *ctx;
    /* Resting orders one session may hold on one symbol (Binance USD-M
     * refuses past 200 per symbol, "-2025 Reach max open order limit"):
     * more are rejected with NX_OREJ_MAX_OPEN. 0 = 200. */
    uint32_t max_open_orders;
    uint32_t sanity_bp; /* refuse prices this far from the last accepted; 0 = 2500 (25%) */
    /* An order reaches the venue this long after it is sent (market time:
     * the exchange times of the market events): a market order fills at
     * the first price from then on, a resting order can fill only from
     * then. 0 = at once. */
    uint32_t latency_ms;
} nx_paper_opts_t;

#define NX_PAPER_MAX_ORDERS 4096

/* NULL on bad options or out of memory. */
nx_bridge_t *nx_paper_create(const nx_paper_opts_t *o, const nx_symtab_t *symtab);
void nx_paper_destroy(nx_bridge_t *b);
/* Feed a market event (trade, bbo, closed kline): moves prices, fills
 * what the market reached. */
void nx_paper_on_market(nx_bridge_t *b, const nx_event_t *ev);
/* Market prices refused as insane so far. */
uint64_t nx_paper_refused(const nx_bridge_t *b);
/* Resting orders now (for tests and panic checks). */
uint32_t nx_paper_open_orders(const nx_bridge_t *b, uint32_t session);
/* Recovery: the venue's book from storage. An order resting before the
 * restart rests again, unchanged and without an update (its acknowledgement
 * was stored); venue and fill ids continue after the highest stored, so no
 * fill id repeats. NX_EINVAL for an order the venue would not hold (a
 * market order, no price), NX_EEXIST, NX_EFULL. */
int nx_paper_restore_order(nx_bridge_t *b, const nx_ev_order_intent_t *in, uint32_t symbol);
void nx_paper_resume_ids(nx_bridge_t *b, uint64_t last_venue_id, uint64_t last_fill_id);
/* A resting order by client id: 0 with its trigger or limit price and qty,
 * or NX_ENOENT. */
int nx_paper_order(const nx_bridge_t *b, uint64_t client_id, uint32_t *symbol, int64_t *price,
                   int64_t *qty);

#endif /* NX_PAPER_H */
