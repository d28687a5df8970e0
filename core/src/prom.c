/*
 * prom.c — the Prometheus text exposition format (see prom.h).
 */
#include "nx/prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void nx_prom_init(nx_prom_t *p, char *buf, size_t cap)
{
    p->buf = buf;
    p->cap = cap;
    p->len = 0;
    p->full = cap == 0;
    if (cap)
        buf[0] = 0;
}

static void put(nx_prom_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(nx_prom_t *p, const char *fmt, ...)
{
    if (p->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= p->cap - p->len) {
        p->full = 1;
        p->buf[p->len] = 0;
        return;
    }
    p->len += (size_t)n;
}

/* A label value: \ " and newline escaped, as the format asks. */
static void put_value(nx_prom_t *p, const char *v)
{
    for (; *v && !p->full; v++) {
        if (*v == '\\')
            put(p, "\\\\");
        else if (*v == '"')
            put(p, "\\\"");
        else if (*v == '\n')
            put(p, "\\n");
        else
            put(p, "%c", *v);
    }
}

static void put_labels(nx_prom_t *p, const char *const *labels, const char *k, const char *v)
{
    int any = 0;
    for (int i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
        put(p, "%s%s=\"", any ? "," : "{", labels[i]);
        put_value(p, labels[i + 1]);
        put(p, "\"");
        any = 1;
    }
    if (k) {
        put(p, "%s%s=\"", any ? "," : "{", k);
        put_value(p, v);
        put(p, "\"");
        any = 1;
    }
    if (any)
        put(p, "}");
}

void nx_prom_family(nx_prom_t *p, const char *name, const char *type, const char *help)
{
    put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_number(nx_prom_t *p, double v)
{
    if (isnan(v))
        put(p, "NaN");
    else if (isinf(v))
        put(p, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 9e15)
        put(p, "%.0f", v);
    else
        put(p, "%.10g", v);
}

void nx_prom_sample(nx_prom_t *p, const char *name, const char *const *labels, double value)
{
    size_t at = p->len;
    put(p, "%s", name);
    put_labels(p, labels, NULL, NULL);
    put(p, " ");
    put_number(p, value);
    put(p, "\n");
    if (p->full) /* never half a line */
        p->buf[p->len = at] = 0;
}

void nx_prom_hist_init(nx_prom_hist_t *h, const double *le, uint32_t n)
{
    memset(h, 0, sizeof *h);
    h->n = n > NX_PROM_BUCKETS ? NX_PROM_BUCKETS : n;
    for (uint32_t i = 0; i < h->n; i++) {
        h->le[i] = le[i];
        h->le_ns[i] = (int64_t)llround(le[i] * 1e9);
    }
}

void nx_prom_hist_observe(nx_prom_hist_t *h, int64_t ns)
{
    uint32_t i = 0;
    while (i < h->n && ns > h->le_ns[i])
        i++;
    atomic_fetch_add_explicit(&h->count[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
}

void nx_prom_hist_write(nx_prom_t *p, const char *name, const char *const *labels,
                        const nx_prom_hist_t *h)
{
    char nm[160], le[32];
    uint64_t cum = 0;
    snprintf(nm, sizeof nm, "%s_bucket", name);
    for (uint32_t i = 0; i <= h->n; i++) {
        cum += atomic_load_explicit(&((nx_prom_hist_t *)h)->count[i], memory_order_relaxed);
        if (i < h->n)
            snprintf(le, sizeof le, "%.9g", h->le[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        size_t at = p->len;
        put(p, "%s", nm);
        put_labels(p, labels, "le", le);
        put(p, " %llu\n", (unsigned long long)cum);
        if (p->full)
            p->buf[p->len = at] = 0;
    }
    snprintf(nm, sizeof nm, "%s_sum", name);
    nx_prom_sample(p, nm, labels,
                   (double)atomic_load_explicit(&((nx_prom_hist_t *)h)->sum_ns,
                                                memory_order_relaxed) / 1e9);
    snprintf(nm, sizeof nm, "%s_count", name);
    nx_prom_sample(p, nm, labels, (double)cum);
}
