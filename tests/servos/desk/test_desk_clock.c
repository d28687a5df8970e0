/*
 * test_desk_clock.c — a person's time runs on the engine clock (issue 16).
 * The desk used the symbol's last event time for a person's decisions, so
 * while a feed was silent a request never expired and /forcelong never met
 * the 60 s stale-data guard, and in a replay (an hour of market per event)
 * "expires in 300s" meant the next candle. Here the engine's heartbeats
 * (NX_EV_TIMER, receive time = the engine clock) move time while the market
 * is silent:
 *   - a request expires at the first heartbeat past its 300 s, not before;
 *   - a person's entry on a symbol silent for over 60 s is refused as stale
 *     data, and taken again once a price arrives;
 *   - in a replay whose market time races (an hour per event, 10 ms apart on
 *     the engine clock) a request approved 3 market hours later executes: it
 *     waited 30 ms of a person's time.
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

#define P(x)  ((int64_t)((x)*100)) /* price units, scale 2 */
#define SEC   1000000000LL
#define MS    1000000LL
#define HOUR  (3600 * SEC)
#define T0    1621400000000000000LL /* 2021-05-19, market time */
#define CLOCK 1796000000000000000LL /* the engine clock: 2026 */

static const char CONFIG[] =
    "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"0.001\",\"price_scale\":2,\"qty_scale\":3}],"
    "\"users\":[{\"id\":1,\"chat_id\":1}],"
    "\"trading\":{\"slippage_bp\":0,\"sessions\":[{\"name\":\"cole\",\"user\":1,"
    "\"mode\":\"copilot\",\"equity\":\"100000\",\"cooldown_s\":0,\"approval_ttl_s\":300,"
    "\"stale_s\":60}]}}";

static struct {
    uint32_t request;          /* the latest ASK's id */
    int64_t asked_rx, expires; /* its receive time and expiry (engine clock) */
    uint32_t expired;          /* the request that expired, 0 if none */
    int64_t expired_at;        /* the engine clock when it did */
    int64_t clock;             /* the engine clock now (the test's) */
} J;

static void on_journal(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    if (ev->hdr.type != NX_EV_DECISION)
        return;
    const nx_ev_decision_t *d = &ev->u.decision;
    if (d->verdict == NX_V_ASK) {
        J.request = d->request;
        J.asked_rx = ev->hdr.recv_ns;
        J.expires = d->expires_ns;
    } else if (d->request && d->verdict == NX_V_REJECT && d->reason == NX_REJ_EXPIRED) {
        J.expired = d->request;
        J.expired_at = J.clock;
    }
}

static void trade(nx_desk_t *d, int64_t exch, int64_t rx, int64_t px)
{
    J.clock = rx;
    fx_desk_trade(d, exch, rx, px);
}

static void heartbeat(nx_desk_t *d, int64_t rx)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TIMER;
    ev.hdr.symbol = NX_SYMBOL_NONE;
    ev.hdr.recv_ns = J.clock = rx;
    ev.u.timer.deadline_ns = rx;
    nx_desk_on_market(d, &ev);
}

static void buy_signal(nx_desk_t *d, int64_t exch)
{
    fx_desk_signal(d, (fx_desk_signal_t){.exch_ns = exch,
                                         .side = NX_SIG_BUY,
                                         .ref_price = P(50000),
                                         .sl_price = P(49000),
                                         .atr = P(500)});
}

static nx_desk_t *make(void)
{
    nx_desk_t *d = fx_desk_load(CONFIG, "clock", on_journal);
    memset(&J, 0, sizeof J);
    return d;
}

/* The feed falls silent: heartbeats expire the request on time, and a
 * person's entry meets the stale-data guard. */
static void test_silent_feed(void **state)
{
    (void)state;
    nx_desk_t *d = make();
    for (int i = 0; i < 5; i++)
        trade(d, T0 + i * SEC, CLOCK + i * SEC, P(50000));
    buy_signal(d, T0 + 4 * SEC);
    assert_true(J.request > 0);
    assert_int_equal(J.asked_rx, CLOCK + 4 * SEC);
    /* what a person is shown: "expires in 300s" */
    assert_int_equal(J.expires - J.asked_rx, 300 * SEC);
    /* nothing from the market from here on; the engine's 1 Hz heartbeat */
    for (int64_t s = 5; s <= 304; s++)
        heartbeat(d, CLOCK + s * SEC);
    assert_int_equal(J.expired, 0); /* 300 s waited, not more */
    nx_reject_t why = NX_REJ_NONE;
    /* silent for 300 s: a person's entry is refused as stale data */
    assert_int_equal(fx_desk_control(d, NX_CTL_ENTER, 0, "long", &why), NX_ESTATE);
    assert_int_equal(why, NX_REJ_STALE_DATA);
    assert_int_equal(fx_desk_position(d), 0);
    heartbeat(d, CLOCK + 305 * SEC);
    assert_int_equal(J.expired, J.request);
    assert_int_equal(J.expired_at, CLOCK + 305 * SEC);
    /* the request is gone: approving it now says it expired */
    assert_int_equal(fx_desk_control(d, NX_CTL_APPROVE, J.request, NULL, &why), NX_ESTATE);
    assert_int_equal(why, NX_REJ_EXPIRED);
    /* a price again: the entry is taken */
    trade(d, T0 + 306 * SEC, CLOCK + 306 * SEC, P(50000));
    assert_int_equal(fx_desk_control(d, NX_CTL_ENTER, 0, "long", &why), 0);
    assert_true(fx_desk_position(d) > 0);
    nx_desk_destroy(d);
}

/* A replay: an hour of market time per event, 10 ms apart for a person. */
static void test_replay_time_is_not_a_persons(void **state)
{
    (void)state;
    nx_desk_t *d = make();
    int64_t exch = T0, rx = CLOCK;
    for (int i = 0; i < 5; i++)
        trade(d, exch += HOUR, rx += 10 * MS, P(50000));
    buy_signal(d, exch);
    uint32_t asked = J.request;
    assert_true(asked > 0);
    for (int i = 0; i < 3; i++)
        trade(d, exch += HOUR, rx += 10 * MS, P(50000));
    assert_int_equal(J.expired, 0);
    nx_reject_t why = NX_REJ_NONE;
    assert_int_equal(fx_desk_control(d, NX_CTL_APPROVE, asked, NULL, &why), 0);
    assert_true(fx_desk_position(d) > 0);
    nx_desk_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_feed),
        cmocka_unit_test(test_replay_time_is_not_a_persons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
