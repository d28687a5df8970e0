/*
 * pxband.h — a sanity band around the last accepted price: the last line
 * of defence against a bad print, for whatever fills or sizes orders (the
 * paper venue, the desk).
 *
 * A price within band_bp of the reference is sane and becomes the
 * reference. A price outside it is refused and remembered as a suspect;
 * the next price that agrees with the suspect (within the band of it) is
 * taken as a move, not a bad tick, and becomes the reference. So a lone
 * print at 10x never fills anything, and a market that really moved is
 * followed one print late. The first price is the first reference.
 *
 * Header only; no state beyond the struct; any thread that owns the struct.
 */
#ifndef NX_PXBAND_H
#define NX_PXBAND_H

#include <stdint.h>

typedef struct nx_pxband {
    int64_t ref;     /* last accepted price, 0 = none yet */
    int64_t suspect; /* last refused price, 0 = none */
} nx_pxband_t;

/* p within band_bp of ref (128-bit arithmetic: any int64 prices). */
static inline int nx_px_within(int64_t p, int64_t ref, uint32_t band_bp)
{
    __int128 d = (__int128)p - ref;
    if (d < 0)
        d = -d;
    return d * 10000 <= (__int128)ref * band_bp;
}

/* Is p sane? If so it becomes the reference. Prices <= 0 are never sane. */
static inline int nx_pxband_take(nx_pxband_t *b, int64_t p, uint32_t band_bp)
{
    if (p <= 0)
        return 0;
    if (b->ref <= 0 || nx_px_within(p, b->ref, band_bp) ||
        (b->suspect > 0 && nx_px_within(p, b->suspect, band_bp))) {
        b->ref = p;
        b->suspect = 0;
        return 1;
    }
    b->suspect = p;
    return 0;
}

/* A candle: sane when its open, high, low and close all are within the band
 * of the reference (or its close confirms the last suspect and its range is
 * within the band of that close); the close becomes the reference. */
static inline int nx_pxband_take_range(nx_pxband_t *b, int64_t open, int64_t high, int64_t low,
                                       int64_t close, uint32_t band_bp)
{
    if (open <= 0 || high <= 0 || low <= 0 || close <= 0)
        return 0;
    int64_t r = b->ref;
    if (r > 0 && b->suspect > 0 && nx_px_within(close, b->suspect, band_bp))
        r = close; /* a move confirmed: judge the candle around where the market is now */
    if (r <= 0 || (nx_px_within(open, r, band_bp) && nx_px_within(high, r, band_bp) &&
                   nx_px_within(low, r, band_bp) && nx_px_within(close, r, band_bp))) {
        b->ref = close;
        b->suspect = 0;
        return 1;
    }
    b->suspect = close;
    return 0;
}

#endif /* NX_PXBAND_H */
