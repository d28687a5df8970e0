/*
 * test_desk_sentinel.c — who may close a COPILOT user's position without
 * asking (issue 16). Sentinel's protective exits execute at once and are
 * recorded as Sentinel exits; Sentinel is known by the strategy id the
 * cortex stamps on a signal (nx_desk_set_sentinel), so another plugin that
 * writes "black_swan" as its reason is asked about like any other; an exit
 * a person approved is a signal exit, not a Sentinel one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "desk_fixture.h"
#include "nx/config.h"
#include "nx/desk.h"
#include "nx/error.h"
#include "nx/shield.h"

#define P(x)     ((int64_t)((x)*100)) /* price units, scale 2 */
#define TREND    0                    /* strategy ids as the cortex numbers them */
#define SENTINEL 2

static const char CONFIG[] =
    "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"0.001\",\"price_scale\":2,\"qty_scale\":3}],"
    "\"users\":[{\"id\":1,\"chat_id\":1}],"
    "\"trading\":{\"slippage_bp\":0,\"sessions\":[{\"name\":\"cole\",\"user\":1,"
    "\"mode\":\"copilot\",\"equity\":\"100000\",\"cooldown_s\":0}]}}";

static struct {
    uint32_t last_request; /* the latest ASK's request id */
    int asks;
} J;

static void on_journal(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    if (ev->hdr.type == NX_EV_DECISION && ev->u.decision.verdict == NX_V_ASK) {
        J.asks++;
        J.last_request = ev->u.decision.request;
    }
}

static int64_t now_ms = 1621400000000LL;

static void trade(nx_desk_t *d, int64_t px)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.exch_ns = (now_ms += 1000) * 1000000;
    ev.u.trade = (nx_ev_trade_t){.price = px, .qty = 1000, .trade_id = (uint64_t)now_ms};
    nx_desk_on_market(d, &ev);
}

static void signal(nx_desk_t *d, uint16_t strategy, uint8_t side, const char *reason)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_SIGNAL;
    ev.hdr.exch_ns = now_ms * 1000000;
    ev.u.signal.strategy = strategy;
    ev.u.signal.confidence = 1;
    ev.u.signal.side = side;
    if (side == NX_SIG_BUY) {
        ev.u.signal.sl_kind = NX_LEVEL_PRICE;
        ev.u.signal.sl_price = P(49000);
    }
    ev.u.signal.ref_price = P(50000);
    ev.u.signal.atr = P(500);
    ev.u.signal.tf_s = 900;
    snprintf(ev.u.signal.reason, sizeof ev.u.signal.reason, "%s", reason);
    nx_desk_on_signal(d, &ev);
}

static int approve(nx_desk_t *d, uint32_t request)
{
    nx_ev_control_t c;
    memset(&c, 0, sizeof c);
    c.cmd = NX_CTL_APPROVE;
    c.session = 1;
    c.arg = request;
    nx_reject_t why;
    return nx_desk_control(d, &c, &why);
}

static int64_t position(nx_desk_t *d)
{
    nx_desk_position_t p[4];
    return nx_desk_positions(d, 1, p, 4) == 1 ? p[0].pos.qty : 0;
}

/* Open a long through an approved request. */
static void go_long(nx_desk_t *d)
{
    int asks = J.asks;
    signal(d, TREND, NX_SIG_BUY, "ema_cross");
    assert_int_equal(J.asks, asks + 1);
    assert_int_equal(position(d), 0); /* asked, not done */
    assert_int_equal(approve(d, J.last_request), 0);
    assert_true(position(d) > 0);
}

static nx_exit_reason_t last_exit(nx_desk_t *d)
{
    nx_trade_closed_t last;
    assert_int_equal(nx_desk_trades(d, 1, &last, 1), 1);
    return last.reason;
}

static void test_only_sentinel_closes_without_asking(void **state)
{
    (void)state;
    static nx_config_t cfg;
    static nx_config_errors_t errs;
    if (nx_config_load_string(CONFIG, strlen(CONFIG), "sentinel", &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fail();
    }
    static nx_symtab_t t;
    nx_symtab_init(&t);
    assert_int_equal(nx_config_symbols_intern(&cfg, &t), 0);
    nx_desk_t *d;
    assert_int_equal(fx_desk_create(&d, &cfg, &t, on_journal, NULL), 0);
    nx_desk_set_sentinel(d, 1ULL << SENTINEL);
    for (int i = 0; i < 5; i++)
        trade(d, P(50000));

    /* a trend plugin calling its exit "black_swan" is asked about */
    go_long(d);
    int asks = J.asks;
    signal(d, TREND, NX_SIG_EXIT_LONG, "black_swan");
    assert_int_equal(J.asks, asks + 1);
    assert_true(position(d) > 0);

    /* approved by the person: a signal exit, not a Sentinel one */
    assert_int_equal(approve(d, J.last_request), 0);
    assert_int_equal(position(d), 0);
    assert_int_equal(last_exit(d), NX_EXIT_SIGNAL);

    /* Sentinel's exit needs nobody, whatever it calls it */
    trade(d, P(50000));
    go_long(d);
    asks = J.asks;
    signal(d, SENTINEL, NX_SIG_EXIT_LONG, "volatility");
    assert_int_equal(J.asks, asks);
    assert_int_equal(position(d), 0);
    assert_int_equal(last_exit(d), NX_EXIT_SENTINEL);

    nx_desk_info_t in;
    assert_int_equal(nx_desk_info(d, 1, &in), 0);
    assert_int_equal(in.trades, 2);
    assert_int_equal(in.exits[NX_EXIT_SIGNAL], 1);
    assert_int_equal(in.exits[NX_EXIT_SENTINEL], 1);
    nx_desk_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_only_sentinel_closes_without_asking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
