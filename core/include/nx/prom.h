/*
 * prom.h — the Prometheus text exposition format (version 0.0.4), written
 * into a caller's buffer, and a histogram any one thread observes into
 * while another renders it.
 *
 * Writing: nx_prom_family() once per metric name (its # HELP and # TYPE),
 * then nx_prom_sample() per label set. Label values are escaped as the
 * format requires (backslash, double quote, newline); a buffer too small
 * sets `full` and writes nothing more, so a scrape is whole or refused,
 * never cut in the middle of a line.
 *
 * Histogram: fixed upper bounds in seconds, counts kept in relaxed
 * atomics (one writer: plain increments, no lock; readers see each count
 * whole, if not all of them at one instant — what Prometheus expects of a
 * scrape). The sum is kept in nanoseconds.
 */
#ifndef NX_PROM_H
#define NX_PROM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nx_prom {
    char *buf;
    size_t cap, len;
    int full;
} nx_prom_t;

void nx_prom_init(nx_prom_t *p, char *buf, size_t cap);
/* # HELP and # TYPE lines; type is "counter", "gauge" or "histogram". */
void nx_prom_family(nx_prom_t *p, const char *name, const char *type, const char *help);
/* name{k1="v1",...} value: labels is NULL or pairs (key, value) ending in
 * NULL; value is printed exactly for integers (%.10g otherwise). */
void nx_prom_sample(nx_prom_t *p, const char *name, const char *const *labels, double value);

#define NX_PROM_BUCKETS 16
typedef struct nx_prom_hist {
    uint32_t n;                          /* bounds used */
    double le[NX_PROM_BUCKETS];          /* upper bounds, seconds, increasing */
    int64_t le_ns[NX_PROM_BUCKETS];      /* the same in ns */
    _Atomic uint64_t count[NX_PROM_BUCKETS + 1]; /* per bucket (not cumulative); last: +Inf */
    _Atomic uint64_t sum_ns;
} nx_prom_hist_t;

/* A histogram with these upper bounds in seconds (at most NX_PROM_BUCKETS,
 * increasing). */
void nx_prom_hist_init(nx_prom_hist_t *h, const double *le, uint32_t n);
/* One observation of ns nanoseconds (one thread). */
void nx_prom_hist_observe(nx_prom_hist_t *h, int64_t ns);
/* Its _bucket (cumulative, le="…" and "+Inf"), _sum and _count lines with
 * these labels (after nx_prom_family(p, name, "histogram", …)). */
void nx_prom_hist_write(nx_prom_t *p, const char *name, const char *const *labels,
                        const nx_prom_hist_t *h);

#endif /* NX_PROM_H */
