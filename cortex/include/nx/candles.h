/*
 * candles.h — multi-timeframe candles per symbol, built from trades or from
 * the venue's klines, aligned to UTC, closing exactly once per timeframe.
 *
 * Input is either trades (price, qty, exchange time) or closed klines of a
 * base interval (1m live, or the 15m of a candle file). A candle of
 * timeframe T covers [k*T, (k+1)*T) in exchange time (UTC epoch ms). It
 * closes when its last base kline arrives (open + base == end), or when
 * the first input of a later bucket arrives. Nothing is invented: when base
 * candles are missing inside a bucket, or whole buckets are missing, the
 * next candle that closes carries NX_CANDLE_GAP and the count of missing
 * base candles; the feed's REST backfill (uplink) is what fills holes, and
 * since it delivers missing klines before later ones, a hole seen here is
 * one the venue itself has.
 *
 * Prices and quantities stay fixed-point (ticks and lots of the symbol).
 * No allocation after nx_candles_init; O(timeframes) per input.
 *
 * Threads: engine thread.
 */
#ifndef NX_CANDLES_H
#define NX_CANDLES_H

#include <stdint.h>

#include "nx/event.h"

#define NX_MAX_TIMEFRAMES 9

enum { NX_CANDLE_GAP = 1u << 0 };

typedef struct nx_candle {
    int64_t open_ms;          /* bucket start, UTC epoch ms */
    int64_t open, high, low, close; /* price ticks */
    int64_t volume;           /* qty lots */
    uint32_t trades;          /* inputs folded in */
    uint32_t missing;         /* base candles missing inside or before it */
    uint32_t tf_s;            /* timeframe, seconds */
    uint8_t flags;            /* NX_CANDLE_* */
} nx_candle_t;

typedef void (*nx_candle_close_cb)(void *ctx, uint32_t symbol, const nx_candle_t *c);

typedef struct nx_candle_series {
    nx_candle_t cur;
    int has_cur;
    int64_t last_close_end_ms; /* end of the last closed candle, 0 none */
    uint32_t base_seen;        /* base candles folded into cur */
} nx_candle_series_t;

typedef struct nx_candles {
    uint32_t ntf;
    uint32_t tf_s[NX_MAX_TIMEFRAMES];
    uint32_t nsym;
    nx_candle_series_t *series; /* [nsym * ntf] */
    nx_candle_close_cb on_close;
    void *ctx;
    uint64_t closed, gaps;
} nx_candles_t;

/* Parse "1m,15m,4h" (any of 1m 3m 5m 15m 30m 1h 2h 4h 1d) into seconds.
 * Returns the count, or NX_EINVAL naming nothing more (callers report). */
int nx_timeframes_parse(const char *list, uint32_t *out, uint32_t max);

/* Series for `nsym` symbols and the given timeframes (start-up: allocates).
 * Returns 0, NX_EINVAL or NX_ENOMEM. */
int nx_candles_init(nx_candles_t *c, uint32_t nsym, const uint32_t *tf_s, uint32_t ntf,
                    nx_candle_close_cb cb, void *ctx);
void nx_candles_free(nx_candles_t *c);

/* Fold a trade in. */
void nx_candles_on_trade(nx_candles_t *c, uint32_t symbol, int64_t ts_ms, int64_t price,
                         int64_t qty);

/* Fold a closed base kline in (its interval must divide every timeframe
 * that is not smaller than it; smaller timeframes are ignored). */
void nx_candles_on_kline(nx_candles_t *c, uint32_t symbol, const nx_ev_kline_t *k);

#endif /* NX_CANDLES_H */
