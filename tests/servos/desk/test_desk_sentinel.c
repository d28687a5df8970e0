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

/* A signal at the last trade's time, from 50,000, a buy's stop-loss at 49,000. */
static void signal(nx_desk_t *d, uint16_t strategy, uint8_t side, const char *reason)
{
    fx_desk_signal(d, (fx_desk_signal_t){.exch_ns = fx_desk_now_ms * 1000000,
                                         .strategy = strategy,
                                         .side = side,
                                         .ref_price = P(50000),
                                         .sl_price = side == NX_SIG_BUY ? P(49000) : 0,
                                         .atr = P(500),
                                         .reason = reason});
}

static int approve(nx_desk_t *d, uint32_t request)
{
    nx_reject_t why;
    return fx_desk_control(d, NX_CTL_APPROVE, request, NULL, &why);
}

/* Open a long through an approved request. */
static void go_long(nx_desk_t *d)
{
    int asks = J.asks;
    signal(d, TREND, NX_SIG_BUY, "ema_cross");
    assert_int_equal(J.asks, asks + 1);
    assert_int_equal(fx_desk_position(d), 0); /* asked, not done */
    assert_int_equal(approve(d, J.last_request), 0);
    assert_true(fx_desk_position(d) > 0);
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
    nx_desk_t *d = fx_desk_load(CONFIG, "sentinel", on_journal);
    nx_desk_set_sentinel(d, 1ULL << SENTINEL);
    for (int i = 0; i < 5; i++)
        fx_desk_trade_next(d, P(50000));

    /* a trend plugin calling its exit "black_swan" is asked about */
    go_long(d);
    int asks = J.asks;
    signal(d, TREND, NX_SIG_EXIT_LONG, "black_swan");
    assert_int_equal(J.asks, asks + 1);
    assert_true(fx_desk_position(d) > 0);

    /* approved by the person: a signal exit, not a Sentinel one */
    assert_int_equal(approve(d, J.last_request), 0);
    assert_int_equal(fx_desk_position(d), 0);
    assert_int_equal(last_exit(d), NX_EXIT_SIGNAL);

    /* Sentinel's exit needs nobody, whatever it calls it */
    fx_desk_trade_next(d, P(50000));
    go_long(d);
    asks = J.asks;
    signal(d, SENTINEL, NX_SIG_EXIT_LONG, "volatility");
    assert_int_equal(J.asks, asks);
    assert_int_equal(fx_desk_position(d), 0);
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
