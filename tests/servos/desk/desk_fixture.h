/*
 * desk_fixture.h — a desk with the sessions of a config, as the engine
 * makes it: nx_desk_create, then each session added under its id. The
 * engine's ids are the rows of the sessions table; here session i of the
 * config gets id i + 1, standing for them.
 *
 * For the tests that drive a desk by hand (test_desk_sanity.c,
 * test_desk_sentinel.c, test_desk_clock.c), also: a desk made from config
 * text, the market and signal events they feed it, and what they ask of
 * its first session (id 1). Header-only; include after cmocka.
 */
#ifndef NX_DESK_FIXTURE_H
#define NX_DESK_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "nx/config.h"
#include "nx/desk.h"

static inline int fx_desk_create(nx_desk_t **d, const nx_config_t *c, const nx_symtab_t *t,
                                 nx_journal_cb journal, void *ctx)
{
    int rc = nx_desk_create(d, c, t, journal, ctx);
    for (uint32_t i = 0; !rc && i < c->trading.n_sessions; i++)
        rc = nx_desk_add_session(*d, i + 1, &c->trading.sessions[i], 0);
    return rc;
}

/* A desk on the config text json (name: what its errors are reported as),
 * journaling to journal with a NULL ctx. Fails the test, printing the
 * config's errors, when json does not load. The config and the symbol
 * table it uses are static and loaded anew by each call: one such desk at
 * a time; the caller destroys it. */
static inline nx_desk_t *fx_desk_load(const char *json, const char *name, nx_journal_cb journal)
{
    static nx_config_t cfg;
    static nx_config_errors_t errs;
    static nx_symtab_t t;
    if (nx_config_load_string(json, strlen(json), name, &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fail();
    }
    nx_symtab_init(&t);
    assert_int_equal(nx_config_symbols_intern(&cfg, &t), 0);
    nx_desk_t *d;
    assert_int_equal(fx_desk_create(&d, &cfg, &t, journal, NULL), 0);
    return d;
}

/* A trade print on the config's first symbol: px in price units, qty 1000
 * lots, at market time exch_ns and engine time recv_ns (0: not stamped);
 * its trade id is exch_ns in ms. */
static inline void fx_desk_trade(nx_desk_t *d, int64_t exch_ns, int64_t recv_ns, int64_t px)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.exch_ns = exch_ns;
    ev.hdr.recv_ns = recv_ns;
    ev.u.trade =
        (nx_ev_trade_t){.price = px, .qty = 1000, .trade_id = (uint64_t)(exch_ns / 1000000)};
    nx_desk_on_market(d, &ev);
}

/* The market clock of fx_desk_trade_next, in ms since the epoch: it starts
 * on 2021-05-19 and each trade moves it a second on. */
static int64_t fx_desk_now_ms = 1621400000000LL;

/* A trade print at px one second of market time after the last one (not
 * stamped with an engine time), for tests where only the order matters. */
static inline void fx_desk_trade_next(nx_desk_t *d, int64_t px)
{
    fx_desk_now_ms += 1000;
    fx_desk_trade(d, fx_desk_now_ms * 1000000, 0, px);
}

/* A strategy's signal, for fx_desk_signal; what is left 0 is not set. */
typedef struct fx_desk_signal {
    int64_t exch_ns;    /* market time */
    uint16_t strategy;  /* slot id, as the cortex numbers them (0: trend) */
    uint8_t side;       /* nx_signal_side_t */
    int64_t ref_price;  /* price units */
    int64_t sl_price;   /* a stop-loss at this price, in price units; 0: none */
    int64_t atr;        /* price units */
    const char *reason; /* NULL: "ema_cross" */
} fx_desk_signal_t;

/* Hand the desk the signal s, with confidence 1, from a 15m candle. */
static inline void fx_desk_signal(nx_desk_t *d, fx_desk_signal_t s)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_SIGNAL;
    ev.hdr.exch_ns = s.exch_ns;
    ev.u.signal.strategy = s.strategy;
    ev.u.signal.confidence = 1;
    ev.u.signal.side = s.side;
    if (s.sl_price) {
        ev.u.signal.sl_kind = NX_LEVEL_PRICE;
        ev.u.signal.sl_price = s.sl_price;
    }
    ev.u.signal.ref_price = s.ref_price;
    ev.u.signal.atr = s.atr;
    ev.u.signal.tf_s = 900;
    snprintf(ev.u.signal.reason, sizeof ev.u.signal.reason, "%s",
             s.reason ? s.reason : "ema_cross");
    nx_desk_on_signal(d, &ev);
}

/* A person's command to session 1: cmd with arg and text (NULL: none).
 * Returns what nx_desk_control returns; why says the refusal's reason. */
static inline int fx_desk_control(nx_desk_t *d, uint8_t cmd, int64_t arg, const char *text,
                                  nx_reject_t *why)
{
    nx_ev_control_t c;
    memset(&c, 0, sizeof c);
    c.cmd = cmd;
    c.session = 1;
    c.arg = arg;
    if (text)
        snprintf(c.text, sizeof c.text, "%s", text);
    return nx_desk_control(d, &c, why);
}

/* Session 1's position in lots: > 0 long, < 0 short, 0 flat. */
static inline int64_t fx_desk_position(const nx_desk_t *d)
{
    nx_desk_position_t p[4];
    return nx_desk_positions(d, 1, p, 4) == 1 ? p[0].pos.qty : 0;
}

#endif
