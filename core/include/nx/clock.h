/*
 * clock.h — one time interface for live trading, replay and backtest.
 *
 * Live: monotonic time for durations and timeouts, realtime for timestamps
 * (both ns). Simulated: time stands still until the engine advances it to
 * the timestamp of the event it is about to process, so a backtest of a
 * recording and a live run of the same data see the same clock readings at
 * the same events. Time never runs backwards in either mode.
 *
 * The clock is a plain struct, not a vtable: nx_clock_now() is one
 * predictable branch and either a vDSO clock_gettime (~20 ns) or one relaxed
 * load (~1 ns).
 *
 * Threads: any thread may read; in simulated mode only one thread (the one
 * replaying events) may advance.
 */
#ifndef NX_CLOCK_H
#define NX_CLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nx/compiler.h"

typedef enum nx_clock_kind {
    NX_CLOCK_LIVE = 0,
    NX_CLOCK_SIM = 1,
} nx_clock_kind_t;

typedef struct nx_clock {
    nx_clock_kind_t kind;
    _Atomic int64_t sim_ns; /* SIM: current time, ns since epoch UTC */
} nx_clock_t;

#define NX_NS_PER_SEC 1000000000LL
#define NX_NS_PER_MS  1000000LL
#define NX_NS_PER_US  1000LL

void nx_clock_init_live(nx_clock_t *c);

/* "YYYY-MM-DDTHH:MM:SS" of a time in seconds since the epoch, UTC; returns
 * the length written. Formats the fields itself rather than with
 * strftime(), which reads the process's TZ and locale: UTC on every
 * machine, whatever its local zone. Any thread; no allocation. */
int nx_utc_format(int64_t sec, char *out, size_t cap);

/* Simulated clock starting at start_ns (ns since epoch). */
void nx_clock_init_sim(nx_clock_t *c, int64_t start_ns);

/* SIM only: move time forward to t_ns. Earlier times are ignored (time never
 * runs backwards; out-of-order events keep the later reading). Returns the
 * clock's time after the call. */
int64_t nx_clock_advance(nx_clock_t *c, int64_t t_ns);

/* One clock_gettime reading in ns (vDSO, no syscall on x86-64). */
NX_INLINE int64_t nx__clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * NX_NS_PER_SEC + ts.tv_nsec;
}

/* Wall-clock time, ns since the Unix epoch (UTC). */
NX_INLINE int64_t nx_clock_now(nx_clock_t *c)
{
    if (c->kind == NX_CLOCK_SIM)
        return atomic_load_explicit(&c->sim_ns, memory_order_relaxed);
    return nx__clock_ns(CLOCK_REALTIME);
}

/* Monotonic time for durations, ns from an arbitrary origin. In SIM mode it
 * is the simulated time, so timeouts expire by event time in a backtest. */
NX_INLINE int64_t nx_clock_mono(nx_clock_t *c)
{
    if (c->kind == NX_CLOCK_SIM)
        return atomic_load_explicit(&c->sim_ns, memory_order_relaxed);
    return nx__clock_ns(CLOCK_MONOTONIC);
}

/* Monotonic ns of the real machine, whatever the mode (for measuring). */
NX_INLINE int64_t nx_mono_ns(void)
{
    return nx__clock_ns(CLOCK_MONOTONIC);
}

/* Wall-clock ns of the real machine (UTC), whatever the mode: storage
 * timestamps, the scheduler, log records. */
NX_INLINE int64_t nx_real_ns(void)
{
    return nx__clock_ns(CLOCK_REALTIME);
}

/* How long to wait before retry number `attempt` (0 = the first): the
 * delay d = min_ms << attempt, capped at max_ms, drawn uniformly from
 * [d/2, d] so that many clients do not retry in step. Milliseconds. Uses
 * rand(): one thread at a time (the network thread's clients). */
int64_t nx_backoff_ms(int64_t min_ms, int64_t max_ms, uint32_t attempt);

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
int64_t nx_days_from_civil(int64_t y, int m, int d);

/* n ASCII digits at s (no sign, no space) to *out: 0, or -1 if any is not
 * a digit. For the fixed-width fields of timestamps and interval names. */
int nx_digits(const char *s, int n, int *out);

/* An RFC 3339 timestamp ("2023-04-06T11:54:26.838232225Z", offsets such
 * as "-04:00" allowed) to ns since the epoch. 0 or NX_ESYNTAX. */
int nx_rfc3339_ns(const char *s, size_t len, int64_t *out);

#endif /* NX_CLOCK_H */
