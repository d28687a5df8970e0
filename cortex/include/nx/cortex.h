/*
 * cortex.h — events in, decisions out: multi-timeframe candles, incremental
 * indicators, the strategy host for the plugin .so files, and the regime classifier.
 *
 * Public interface (runs on the engine thread, no allocation per event):
 *  - Candles per symbol for configured timeframes (1m 3m 5m 15m 30m 1h 2h 4h
 *    1d), aligned to exchange time (UTC), built from trades or 1m klines,
 *    with gaps flagged rather than invented.
 *  - Indicators updated in O(1) on each closed candle, matching TA-Lib.
 *  - The strategy host loads signed plugins (plugins/nexus_plugin.h) with
 *    dlopen, hot-swaps them between two events, and turns their output into
 *    NX_EV_SIGNAL events for the shield.
 */
#ifndef NX_CORTEX_H
#define NX_CORTEX_H

#include <stdint.h>

#include "nx/event.h"

/* Timeframes a candle series may use, in seconds. */
typedef enum nx_timeframe {
    NX_TF_1M = 60,
    NX_TF_3M = 180,
    NX_TF_5M = 300,
    NX_TF_15M = 900,
    NX_TF_30M = 1800,
    NX_TF_1H = 3600,
    NX_TF_2H = 7200,
    NX_TF_4H = 14400,
    NX_TF_1D = 86400,
} nx_timeframe_t;

/* The open time (ms since epoch) of the candle of `tf` seconds containing
 * t_ms: candles are aligned to UTC, so this is t_ms rounded down. */
static inline int64_t nx_tf_floor_ms(int64_t t_ms, nx_timeframe_t tf)
{
    int64_t p = (int64_t)tf * 1000;
    int64_t r = t_ms % p;
    return t_ms - (r < 0 ? r + p : r);
}

#endif /* NX_CORTEX_H */
