/*
 * candles.c — multi-timeframe aggregation (see candles.h).
 */
#include "nx/candles.h"
#include "nx/error.h"

#include <stdlib.h>
#include <string.h>

int nx_timeframes_parse(const char *list, uint32_t *out, uint32_t max)
{
    static const struct {
        const char *name;
        uint32_t s;
    } tf[] = {{"1m", 60},     {"3m", 180},    {"5m", 300},    {"15m", 900},  {"30m", 1800},
              {"1h", 3600},   {"2h", 7200},   {"4h", 14400},  {"1d", 86400}};
    uint32_t n = 0;
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        uint32_t s = 0;
        for (size_t i = 0; i < sizeof tf / sizeof tf[0]; i++)
            if (strlen(tf[i].name) == len && !memcmp(tf[i].name, p, len))
                s = tf[i].s;
        if (!s || n >= max)
            return NX_EINVAL;
        out[n++] = s;
        p = e ? e + 1 : NULL;
    }
    return n ? (int)n : NX_EINVAL;
}

int nx_candles_init(nx_candles_t *c, uint32_t nsym, const uint32_t *tf_s, uint32_t ntf,
                    nx_candle_close_cb cb, void *ctx)
{
    if (!ntf || ntf > NX_MAX_TIMEFRAMES || !nsym)
        return NX_EINVAL;
    memset(c, 0, sizeof *c);
    c->series = calloc((size_t)nsym * ntf, sizeof *c->series);
    if (!c->series)
        return NX_ENOMEM;
    c->nsym = nsym;
    c->ntf = ntf;
    for (uint32_t i = 0; i < ntf; i++) {
        if (!tf_s[i] || 86400 % tf_s[i] != 0) {
            free(c->series);
            c->series = NULL;
            return NX_EINVAL;
        }
        c->tf_s[i] = tf_s[i];
    }
    c->on_close = cb;
    c->ctx = ctx;
    return 0;
}

void nx_candles_free(nx_candles_t *c)
{
    free(c->series);
    c->series = NULL;
}

static int64_t floor_to(int64_t t, int64_t p)
{
    int64_t r = t % p;
    return t - (r < 0 ? r + p : r);
}

static void close_cur(nx_candles_t *c, uint32_t sym, nx_candle_series_t *s, int64_t base_ms)
{
    int64_t tf_ms = (int64_t)s->cur.tf_s * 1000;
    /* Base candles missing inside the bucket. */
    if (base_ms > 0) {
        uint32_t expect = (uint32_t)(tf_ms / base_ms);
        if (s->base_seen < expect)
            s->cur.missing += expect - s->base_seen;
    }
    if (s->cur.missing)
        s->cur.flags |= NX_CANDLE_GAP;
    if (s->cur.flags & NX_CANDLE_GAP)
        c->gaps++;
    c->closed++;
    if (c->on_close)
        c->on_close(c->ctx, sym, &s->cur);
    s->last_close_end_ms = s->cur.open_ms + tf_ms;
    s->has_cur = 0;
}

/* Fold one input (a trade, or a base candle [open_ms, open_ms+base_ms)). */
static void fold(nx_candles_t *c, uint32_t sym, int64_t open_ms, int64_t base_ms, int64_t o,
                 int64_t h, int64_t l, int64_t cl, int64_t v)
{
    if (sym >= c->nsym)
        return;
    for (uint32_t i = 0; i < c->ntf; i++) {
        int64_t tf_ms = (int64_t)c->tf_s[i] * 1000;
        if (base_ms > tf_ms)
            continue; /* coarser input cannot build a finer candle */
        nx_candle_series_t *s = &c->series[(size_t)sym * c->ntf + i];
        int64_t bucket = floor_to(open_ms, tf_ms);
        if (s->has_cur && bucket < s->cur.open_ms)
            continue; /* late input for a closed bucket: never rewrite history */
        if (s->has_cur && bucket > s->cur.open_ms)
            close_cur(c, sym, s, base_ms);
        if (!s->has_cur) {
            if (s->last_close_end_ms && bucket < s->last_close_end_ms)
                continue; /* already closed */
            memset(&s->cur, 0, sizeof s->cur);
            s->cur.open_ms = bucket;
            s->cur.tf_s = c->tf_s[i];
            s->cur.open = o;
            s->cur.high = h;
            s->cur.low = l;
            s->base_seen = 0;
            s->has_cur = 1;
            /* Whole buckets missing before this one. */
            if (s->last_close_end_ms && bucket > s->last_close_end_ms) {
                s->cur.flags |= NX_CANDLE_GAP;
                if (base_ms > 0)
                    s->cur.missing += (uint32_t)((bucket - s->last_close_end_ms) / base_ms);
                else
                    s->cur.missing += (uint32_t)((bucket - s->last_close_end_ms) / tf_ms);
            }
        }
        if (h > s->cur.high)
            s->cur.high = h;
        if (l < s->cur.low)
            s->cur.low = l;
        s->cur.close = cl;
        s->cur.volume += v;
        s->cur.trades++;
        s->base_seen++;
        /* The last base candle of the bucket closes it at once. */
        if (base_ms > 0 && open_ms + base_ms == bucket + tf_ms)
            close_cur(c, sym, s, base_ms);
    }
}

void nx_candles_on_trade(nx_candles_t *c, uint32_t symbol, int64_t ts_ms, int64_t price,
                         int64_t qty)
{
    fold(c, symbol, ts_ms, 0, price, price, price, price, qty);
}

void nx_candles_on_kline(nx_candles_t *c, uint32_t symbol, const nx_ev_kline_t *k)
{
    if (!k->closed || !k->interval_s)
        return;
    fold(c, symbol, k->open_ms, (int64_t)k->interval_s * 1000, k->open, k->high, k->low, k->close,
         k->volume);
}
