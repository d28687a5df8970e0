/*
 * decode.h — venue frames to normalised events, straight into ring slots.
 *
 * One decoder per connection. nx_decode_frame() takes one WebSocket text
 * frame in the venue's own format (Binance combined-stream envelopes or raw
 * payloads, Bybit V5 topic messages, Alpaca arrays), claims slots on the
 * market ring, fills them, and publishes them together: a frame's events
 * appear all at once or, if the frame turns out malformed half-way, not at
 * all. Prices and quantities go through nx_fixed_parse at the symbol's
 * scales, never through double; ids are 64-bit; unknown keys are skipped;
 * key order is not assumed. Nothing here allocates after init.
 *
 * What each frame yields:
 *   Binance aggTrade, trade          -> 1 NX_EV_TRADE
 *           bookTicker               -> 1 NX_EV_BBO
 *           kline                    -> 1 NX_EV_KLINE
 *           depthUpdate              -> 1 NX_EV_BOOK per level (1 marker with
 *                                       side NONE if it has no levels)
 *           markPriceUpdate          -> 1 NX_EV_MARK (arrays: 1 per element)
 *   Bybit   publicTrade              -> 1 NX_EV_TRADE per trade
 *           orderbook.N              -> 1 NX_EV_BOOK per level (snapshot:
 *                                       NX_EVF_SNAPSHOT), marker if empty
 *           kline.I                  -> 1 NX_EV_KLINE per candle
 *           tickers                  -> NX_EV_BBO when bid/ask changed and
 *                                       both sides are known (deltas merged
 *                                       per symbol), NX_EV_MARK when mark,
 *                                       index or funding changed
 *   Alpaca  t / q / b,u,d            -> NX_EV_TRADE / NX_EV_BBO / NX_EV_KLINE
 * A value that cannot be true (a price of zero or less, a trade of no
 * quantity, a candle whose high and low do not bound it: nx_*_bad in
 * event.h) yields no event: the element is left out of its frame, the
 * rest of the frame goes on, and st.bad[] counts it by kind. A book level
 * with such a value fails its whole frame (a book missing one level of an
 * update is wrong), counted by kind and as an error.
 * Subscription acknowledgements, pongs and other control frames yield no
 * event and count as `control`; well-formed frames of kinds Nexus does not
 * use count as `ignored`; anything else is an error (counted, with a short
 * excerpt in last_error for a debounced log line).
 *
 * Threads: a decoder belongs to the one thread that produces on its ring.
 */
#ifndef NX_DECODE_H
#define NX_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/ring.h"
#include "nx/symtab.h"
#include "nx/venue.h"

typedef struct nx_decoder_stats {
    uint64_t frames;
    uint64_t events;
    uint64_t by_type[NX_EV_TYPE_COUNT];
    uint64_t errors;         /* malformed or unexpected frames */
    uint64_t control;        /* acks, pongs, venue error messages */
    uint64_t ignored;        /* well-formed but not used (other event kinds) */
    uint64_t unknown_symbol; /* frames for symbols not in the table */
    uint64_t dropped;        /* events lost because the ring was full */
    /* values refused by kind (nx_bad_kind_t); written with relaxed atomics
     * so another thread may read them while the decoder runs */
    uint64_t bad[NX_BAD_COUNT];
} nx_decoder_stats_t;

/* Bybit tickers arrive as a snapshot then partial deltas; the decoder
 * keeps the merged view per symbol so every BBO/MARK it emits is whole. */
typedef struct nx_ticker_state {
    int64_t bid_px, bid_qty, ask_px, ask_qty;
    int64_t mark_px, index_px, funding_rate_e8, next_funding_ms;
} nx_ticker_state_t;

typedef struct nx_decoder {
    nx_venue_t venue;
    nx_symtab_t *symtab;
    nx_ring_t *ring;
    int auto_intern;  /* add unknown symbols (price/qty scale 8): for `nexus decode` */
    int64_t recv_ns;  /* receive time stamped on this frame's events */
    int64_t stale_ns; /* flag events older than this (recv - exch); 0 = never */
    int hold;         /* claim and fill but do not publish: nx_decoder_publish() */
    nx_decoder_stats_t st;
    nx_ticker_state_t *tickers;            /* [NX_SYMTAB_MAX], Bybit only */
    char last_error[160];                  /* "what: excerpt" of the last error */
    char last_sym[NX_SYMBOL_NAME_MAX + 1]; /* one-entry symbol cache */
    uint32_t last_sym_len, last_sym_id;
    /* per-frame state */
    uint64_t frame_seq; /* first slot claimed for this frame */
    uint32_t frame_events;
    uint32_t frame_flags; /* flags every event of this frame gets */
} nx_decoder_t;

/* Set up a decoder for a venue on a ring (start-up: allocates the Bybit
 * ticker table). Returns 0, NX_EINVAL or NX_ENOMEM. */
int nx_decoder_init(nx_decoder_t *d, nx_venue_t venue, nx_symtab_t *symtab, nx_ring_t *ring);
void nx_decoder_fini(nx_decoder_t *d);

/* Decode one frame. Returns the number of events published (>= 0) and
 * their first sequence in *first_seq, or a negative NX_E… code for a
 * malformed frame (nothing published, st.errors counted, last_error set). */
int nx_decode_frame(nx_decoder_t *d, const char *frame, size_t len, uint64_t *first_seq);

/* With d->hold set: publish what the last nx_decode_frame() filled (after
 * the caller had a look, e.g. to suppress duplicate klines by turning them
 * into NX_EV_NONE). */
void nx_decoder_publish(nx_decoder_t *d);

/* Decode a Binance REST depth snapshot (GET /fapi/v1/depth or
 * /api/v3/depth) for `symbol` into NX_EV_BOOK events flagged
 * NX_EVF_SNAPSHOT with first_id = last_id = lastUpdateId. Same returns. */
int nx_decode_binance_depth_snapshot(nx_decoder_t *d, uint32_t symbol, const char *body, size_t len,
                                     uint64_t *first_seq);

/* Publish one NX_EV_STATUS event (connected, stale, book gap, ...) on the
 * decoder's ring, between frames. Returns 0, or NX_EFULL if dropped. */
int nx_decode_status(nx_decoder_t *d, uint32_t symbol, nx_status_code_t code, uint64_t count,
                     const char *detail);

/* nx_rfc3339_ns, RFC 3339 timestamps to ns: nx/clock.h. */

/* Kline interval name to seconds: Binance "1m".."1M", Bybit "1".."D","W","M".
 * 0 if unknown. Months count as 30 days. */
uint32_t nx_interval_seconds(nx_venue_t venue, const char *s, size_t len);

#endif /* NX_DECODE_H */
