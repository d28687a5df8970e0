/*
 * uplink.h — market data in: venue WebSocket/REST clients, normalisation
 * into events, local order books, gap detection and backfill.
 *
 * Public interface (the network thread owns every feed):
 *  - A feed is one venue connection set (Binance USD-M, Bybit V5 linear or
 *    spot, Alpaca). It is configured with the symbols to stream, writes
 *    normalised events straight into claimed slots of the market ring
 *    (nx_bus_claim / nx_ring_publish, never-block), and reports its state
 *    with NX_EV_STATUS events (connected, stale, book gap, resynced).
 *  - Parsers turn one raw frame into zero or more events without allocating;
 *    prices and quantities go through nx_fixed_parse at the symbol's scales.
 *  - Subscriptions are reference-counted per (venue, symbol, stream), so many
 *    users watching one symbol cost one subscription.
 */
#ifndef NX_UPLINK_H
#define NX_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/ring.h"
#include "nx/symtab.h"
#include "nx/venue.h"

/* The streams a feed can carry for a symbol (bit set). */
typedef enum nx_stream {
    NX_STREAM_TRADES = 1u << 0,
    NX_STREAM_BBO = 1u << 1,
    NX_STREAM_KLINE_1M = 1u << 2,
    NX_STREAM_BOOK = 1u << 3,
    NX_STREAM_MARK = 1u << 4,
} nx_stream_t;

/* Parser result for one frame: events written and whether the frame was
 * understood. A frame that is valid JSON but not market data (a subscribe
 * acknowledgement) yields 0 events and NX_OK. */
typedef struct nx_parse_result {
    uint32_t events; /* events published for this frame */
    int error;       /* 0 or a negative NX_E… code (malformed frame) */
} nx_parse_result_t;

#endif /* NX_UPLINK_H */
