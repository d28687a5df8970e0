/*
 * cortex_fixture.h — what the cortex tests share: a symbol table, the real
 * 15m candle file, kline and trade events, and a signal collector.
 * Header-only; include after cmocka.
 */
#ifndef NX_CORTEX_FIXTURE_H
#define NX_CORTEX_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/cortex.h"
#include "nx/fixed.h"
#include "nx/symtab.h"

#define FX_MAX_CANDLES 20000
#define FX_MAX_SIGNALS 4096

typedef struct fx_row {
    int64_t t, o, h, l, c, v; /* ms; price and qty at scale 8 */
} fx_row_t;

static fx_row_t fx_rows[FX_MAX_CANDLES];
static int fx_nrows;

/* Load the real BTCUSDT 15m file (13,843 candles, 2021-01-12..06-05). */
static inline void fx_load_candles(void)
{
    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path,
             "%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv",
             src ? src : NX_SOURCE_DIR_DEFAULT);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    fx_nrows = 0;
    while (fgets(line, sizeof line, f) && fx_nrows < FX_MAX_CANDLES) {
        char *fld[6];
        line[strcspn(line, "\r\n")] = 0;
        int n = 0;
        fld[n++] = line;
        for (char *p = line; *p && n < 6; p++)
            if (*p == ',') {
                *p = 0;
                fld[n++] = p + 1;
            }
        if (n != 6 || !strcmp(fld[0], "open_time_ms"))
            continue;
        fx_row_t *r = &fx_rows[fx_nrows++];
        r->t = atoll(fld[0]);
        int64_t *dst[5] = {&r->o, &r->h, &r->l, &r->c, &r->v};
        for (int i = 0; i < 5; i++)
            assert_int_equal(nx_fixed_parse(fld[i + 1], strlen(fld[i + 1]), 8, dst[i]), 0);
    }
    fclose(f);
}

/* Symbols BTCUSDT (id 0) and ETHUSDT (id 1), both at scale 8. */
static inline nx_symtab_t *fx_symtab(void)
{
    nx_symtab_t *t = malloc(sizeof *t);
    assert_non_null(t);
    nx_symtab_init(t);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 8, 1, 1, 0, NULL), 0);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BINANCE_USDM, "ETHUSDT", 8, 8, 1, 1, 0, NULL), 1);
    return t;
}

static inline void fx_kline(nx_event_t *ev, uint32_t sym, int64_t open_ms, uint32_t interval_s,
                            int64_t o, int64_t h, int64_t l, int64_t c, int64_t v)
{
    memset(ev, 0, sizeof *ev);
    ev->hdr.type = NX_EV_KLINE;
    ev->hdr.venue = NX_VENUE_BINANCE_USDM;
    ev->hdr.symbol = sym;
    ev->hdr.exch_ns = (open_ms + (int64_t)interval_s * 1000) * 1000000;
    ev->u.kline.open_ms = open_ms;
    ev->u.kline.open = o;
    ev->u.kline.high = h;
    ev->u.kline.low = l;
    ev->u.kline.close = c;
    ev->u.kline.volume = v;
    ev->u.kline.interval_s = interval_s;
    ev->u.kline.closed = 1;
}

static inline void fx_trade(nx_event_t *ev, uint32_t sym, uint64_t seq, int64_t ts_ms, int64_t px,
                            int64_t qty)
{
    memset(ev, 0, sizeof *ev);
    ev->hdr.type = NX_EV_TRADE;
    ev->hdr.venue = NX_VENUE_BINANCE_USDM;
    ev->hdr.symbol = sym;
    ev->hdr.seq = seq;
    ev->hdr.exch_ns = ts_ms * 1000000;
    ev->u.trade.price = px;
    ev->u.trade.qty = qty;
}

typedef struct fx_signals {
    int n;
    nx_event_t ev[FX_MAX_SIGNALS];
} fx_signals_t;

static inline void fx_collect(void *ctx, const nx_event_t *sig)
{
    fx_signals_t *s = ctx;
    if (s->n < FX_MAX_SIGNALS)
        s->ev[s->n++] = *sig;
}

static inline const char *fx_plugin(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s.so", NX_PLUGIN_DIR, name);
    return buf;
}

static inline const char *fx_fixture(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s.so", NX_TEST_PLUGIN_DIR, name);
    return buf;
}

/* A started cortex on 15m/1h/4h candles with the built-in trend, scalping
 * (15m only) and Sentinel plugins, signals to on_signal (the desk tests). */
static inline nx_cortex_t *fx_cortex_builtin(nx_symtab_t *t, nx_signal_cb on_signal)
{
    static uint32_t tfs[] = {900, 3600, 14400};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tfs;
    o.ntf = 3;
    o.allow_unsigned = 1;
    o.on_signal = on_signal;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    char path[512], err[512];
    const char *plugins[] = {"trend", "scalping", "sentinel"};
    for (int k = 0; k < 3; k++) {
        nx_strategy_conf_t sc = {0};
        sc.path = fx_plugin(plugins[k], path, sizeof path);
        if (k == 1) {
            sc.tf_s = tfs;
            sc.ntf = 1;
        }
        assert_true(nx_cortex_add_strategy(cx, &sc, err, sizeof err) >= 0);
    }
    assert_int_equal(nx_cortex_start(cx), 0);
    return cx;
}

#endif /* NX_CORTEX_FIXTURE_H */
