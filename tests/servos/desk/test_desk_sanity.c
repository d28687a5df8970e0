/*
 * test_desk_sanity.c — the desk's sanity band (issue 16: bad prints filled
 * a sell of 6,980 BTC at 0 and a buy at 90,018,000,000, and moved trailing
 * stops). A PILOT session with a trailing stop holds a long; prints far
 * from the market (25% by default) move nothing: no fill, no trailing
 * amend, no exit; a sane print does; a signal priced far from the market
 * is refused with its reason; a real move (two prints in a row) is taken.
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
#include "nx/shield.h"

#define P(x) ((int64_t)((x) * 100)) /* price units, scale 2 */

static const char CONFIG[] =
    "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"0.001\",\"price_scale\":2,\"qty_scale\":3}],"
    "\"users\":[{\"id\":1,\"chat_id\":1}],"
    "\"trading\":{\"slippage_bp\":0,\"sessions\":[{\"name\":\"pia\",\"user\":1,\"mode\":\"pilot\","
    "\"equity\":\"100000\",\"trail_bp\":150,\"cooldown_s\":0}]}}";

static struct {
    int intents, amends, fills, rejects_bad_signal;
    int64_t fill_lo, fill_hi;
} J;

static void on_journal(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    if (ev->hdr.type == NX_EV_ORDER_INTENT) {
        J.intents++;
        J.amends += ev->u.intent.amend;
    } else if (ev->hdr.type == NX_EV_ORDER_UPDATE && ev->u.order.last_qty) {
        int64_t px = ev->u.order.last_px;
        J.fills++;
        if (!J.fill_lo || px < J.fill_lo)
            J.fill_lo = px;
        if (px > J.fill_hi)
            J.fill_hi = px;
    } else if (ev->hdr.type == NX_EV_DECISION && ev->u.decision.verdict == NX_V_REJECT &&
               ev->u.decision.reason == NX_REJ_BAD_SIGNAL) {
        J.rejects_bad_signal++;
    }
}

/* A signal at the last trade's time, its stop-loss 2% below ref. */
static void signal(nx_desk_t *d, uint8_t side, int64_t ref)
{
    fx_desk_signal(d, (fx_desk_signal_t){.exch_ns = fx_desk_now_ms * 1000000,
                                         .side = side,
                                         .ref_price = ref,
                                         .sl_price = ref - ref / 50,
                                         .atr = ref / 100});
}

static void test_prints_far_from_the_market_move_nothing(void **state)
{
    (void)state;
    nx_desk_t *d = fx_desk_load(CONFIG, "sanity", on_journal);
    for (int i = 0; i < 5; i++)
        fx_desk_trade_next(d, P(50000) + i);
    signal(d, NX_SIG_BUY, P(50004));
    assert_true(fx_desk_position(d) > 0);
    assert_int_equal(J.fills, 1);
    int amends = J.amends, intents = J.intents;
    /* 100 times the price: the trailing stop would jump, the target fill */
    fx_desk_trade_next(d, P(5000000));
    /* a hundredth: the stop would fill */
    fx_desk_trade_next(d, P(500));
    fx_desk_trade_next(d, P(0.01));
    assert_true(fx_desk_position(d) > 0);
    assert_int_equal(J.fills, 1);
    assert_int_equal(J.amends, amends);
    assert_int_equal(J.intents, intents);
    /* a sane print moves the trailing stop up */
    fx_desk_trade_next(d, P(51000));
    assert_true(J.amends > amends);
    assert_true(fx_desk_position(d) > 0);
    /* a signal priced ten times the market is refused, with its reason */
    intents = J.intents;
    signal(d, NX_SIG_SELL, P(510000));
    assert_int_equal(J.rejects_bad_signal, 1);
    assert_int_equal(J.intents, intents); /* nothing ordered */
    /* a real fall of 30%: two prints that agree; the stop fills at the
     * second, the first having filled nothing */
    fx_desk_trade_next(d, P(35700));
    assert_true(fx_desk_position(d) > 0);
    fx_desk_trade_next(d, P(35600));
    assert_int_equal(fx_desk_position(d), 0);
    assert_int_equal(J.fills, 2);
    assert_int_equal(J.fill_lo, P(35600));
    assert_true(J.fill_hi <= P(51000));
    nx_desk_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prints_far_from_the_market_move_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
