/*
 * clock.c — live and simulated clocks (see clock.h).
 */
#include "nx/clock.h"

#include <time.h>

#include <stdio.h>
#include <stdlib.h>

void nx_clock_init_live(nx_clock_t *c)
{
    c->kind = NX_CLOCK_LIVE;
    atomic_store_explicit(&c->sim_ns, 0, memory_order_relaxed);
}

void nx_clock_init_sim(nx_clock_t *c, int64_t start_ns)
{
    c->kind = NX_CLOCK_SIM;
    atomic_store_explicit(&c->sim_ns, start_ns, memory_order_relaxed);
}

int64_t nx_clock_advance(nx_clock_t *c, int64_t t_ns)
{
    int64_t cur = atomic_load_explicit(&c->sim_ns, memory_order_relaxed);
    if (t_ns > cur) {
        atomic_store_explicit(&c->sim_ns, t_ns, memory_order_relaxed);
        return t_ns;
    }
    return cur;
}

int nx_utc_format(int64_t sec, char *out, size_t cap)
{
    /* civil date from days since 1970-01-01 (H. Hinnant's algorithm): no
     * call into the C library's time-zone state at all */
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
    int n = snprintf(out, cap, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld", (long long)y,
                     (long long)m, (long long)d, (long long)(rem / 3600),
                     (long long)(rem / 60 % 60), (long long)(rem % 60));
    return n < 0 ? 0 : (size_t)n >= cap ? (int)cap - 1 : n;
}

int64_t nx_backoff_ms(int64_t min_ms, int64_t max_ms, uint32_t attempt)
{
    uint32_t shift = attempt < 16 ? attempt : 16;
    int64_t d = min_ms << shift;
    if (d > max_ms)
        d = max_ms;
    if (d < 1)
        return d < 0 ? 0 : d;
    return d / 2 + (int64_t)((uint64_t)rand() % (uint64_t)(d / 2 + 1));
}
