/*
 * tickguard.h — the bad-tick filter: market prints nobody should trade on
 * are held back or quarantined before candles, stops or fills see them.
 *
 * The decoders already refuse what cannot be true of one value (a price of
 * zero, a candle whose high is below its low: nx_*_bad in event.h). What
 * only the recent history shows is caught here, per symbol, on every trade,
 * quote, candle and mark price, in this order:
 *
 *   time       a trade, quote or mark price older than the newest accepted
 *              one of its kind by more than `backwards_ms`, or a candle for
 *              an open time already closed (NX_BAD_TIME). Backfilled
 *              candles (NX_EVF_BACKFILL) fill holes in the past by design
 *              and are not checked for time.
 *   duplicate  a trade id among the symbol's last NX_TG_IDS (NX_BAD_DUP).
 *   band       a price further than `band_bp` from the median of the last
 *              `window` accepted prices (each price of the event: a trade's,
 *              a quote's bid and ask, a candle's open, high, low and close,
 *              a mark price) makes the event a suspect.
 *
 * A suspect is held, not dropped: the next prints decide. A print back
 * within the band of the median decides every held suspect: those within
 * the band of that print are let through, the others were bad ticks and
 * are quarantined (NX_BAD_BAND). A print away from the median that is
 * within the band of held suspects counts as agreeing with them; once one
 * has `confirm` agreeing prints the market really moved: the suspects that
 * print agrees with are let through, the others quarantined. A print that
 * agrees with nothing is held as one more suspect (at most NX_TG_HOLD; the
 * oldest then goes to quarantine). Held events come out in order, ahead of
 * the print that decided them. A real crash (2021-05-19: BTC 36,500 to
 * 30,000 in half an hour) and a real wick are therefore let through one
 * print late, even with a bad tick among them; a lone print at 10x or
 * 0.001x never is. What may pass is a print just beyond the band whose
 * market follows within the band of it: within twice the band of the
 * median, never a wild price.
 *
 * Until a symbol has 3 accepted prices there is no median and every price
 * is accepted: the first prints of a session are trusted.
 *
 * Only accepted events move the guard's state (its median, times and ids),
 * so nothing quarantined changes how later prints are judged.
 *
 * Threads and cost: one guard belongs to the one thread that consumes the
 * market ring (the engine thread). No allocation after create. Per event:
 * a few compares, and for an accepted price one insertion into a sorted
 * window (a memmove of at most `window` prices).
 */
#ifndef NX_TICKGUARD_H
#define NX_TICKGUARD_H

#include <stdint.h>

#include "nx/event.h"

#define NX_TG_WINDOW_MAX 63 /* accepted prices a median may be taken over */
#define NX_TG_IDS        64 /* recent trade ids kept per symbol */
#define NX_TG_HOLD       8  /* events held per symbol while a suspect waits */

/* An event quarantined: why, and the median it was judged against (price
 * units, 0 when the kind is not about the band). */
typedef void nx_tickguard_bad_cb(void *ctx, const nx_event_t *ev, nx_bad_kind_t why,
                                 int64_t ref_px);

typedef struct nx_tickguard_opts {
    uint32_t band_bp;      /* suspect beyond this from the median; default 1500 (15%), 0 = off */
    uint32_t window;       /* prices the median is taken over; default 15, 3..NX_TG_WINDOW_MAX */
    uint32_t confirm;      /* agreeing prints that let a suspect through; default 1, 1..7 */
    uint32_t backwards_ms; /* how far back a stream may step; default 1000 */
    nx_tickguard_bad_cb *on_bad;
    void *ctx;
} nx_tickguard_opts_t;

typedef struct nx_tickguard_stats {
    uint64_t checked;                  /* market events with a price, judged */
    uint64_t suspects;                 /* events held as suspects */
    uint64_t let_through;              /* held events a confirmed move let through */
    uint64_t quarantined[NX_BAD_COUNT]; /* by kind */
} nx_tickguard_stats_t;

typedef struct nx_tickguard nx_tickguard_t;

void nx_tickguard_opts_default(nx_tickguard_opts_t *o);

/* A guard for symbol ids 0 .. nsym-1 (events of other symbols pass).
 * Returns NULL for options out of range or no memory. */
nx_tickguard_t *nx_tickguard_create(const nx_tickguard_opts_t *o, uint32_t nsym);
void nx_tickguard_destroy(nx_tickguard_t *g);

/* Judge one event. Puts the events to use now, in order, into out[] (room
 * for NX_TG_HOLD + 1) and returns how many: 1 (the event itself, also for
 * every event without a price: book levels, timers, commands), 0 (it is
 * held, or quarantined: on_bad was called), or the held events followed by
 * this one when it confirmed a move. Held copies stay valid until the next
 * call. */
uint32_t nx_tickguard_filter(nx_tickguard_t *g, const nx_event_t *ev, const nx_event_t **out);

/* The median of the symbol's recent accepted prices, 0 while unknown. */
int64_t nx_tickguard_ref(const nx_tickguard_t *g, uint32_t symbol);

void nx_tickguard_stats(const nx_tickguard_t *g, nx_tickguard_stats_t *st);

#endif /* NX_TICKGUARD_H */
