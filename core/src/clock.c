/*
 * clock.c — live and simulated clocks (see clock.h).
 */
#include "nx/clock.h"
#include "nx/error.h"

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

int64_t nx_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int nx_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + (int)d;
    }
    *out = v;
    return 0;
}

int nx_rfc3339_ns(const char *s, size_t len, int64_t *out)
{
    int Y, M, D, h, m, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':' || nx_digits(s, 4, &Y) || nx_digits(s + 5, 2, &M) ||
        nx_digits(s + 8, 2, &D) || nx_digits(s + 11, 2, &h) || nx_digits(s + 14, 2, &m) ||
        nx_digits(s + 17, 2, &sec) || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 ||
        sec > 60)
        return NX_ESYNTAX;
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        int nd = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (s[i] - '0');
                nd++;
            }
            i++;
        }
        if (nd == 0)
            return NX_ESYNTAX;
        while (nd < 9) {
            frac *= 10;
            nd++;
        }
    }
    int64_t off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (nx_digits(s + i + 1, 2, &oh) || nx_digits(s + i + 4, 2, &om))
            return NX_ESYNTAX;
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return NX_ESYNTAX;
    }
    if (i != len)
        return NX_ESYNTAX;
    int64_t days = nx_days_from_civil(Y, M, D);
    int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - off;
    if (secs > INT64_MAX / NX_NS_PER_SEC - 1 || secs < -(INT64_MAX / NX_NS_PER_SEC) + 1)
        return NX_ESYNTAX; /* beyond what int64 ns can hold: found by fuzz_alpaca */
    *out = secs * NX_NS_PER_SEC + frac;
    return 0;
}
