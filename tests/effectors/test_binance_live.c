/*
 * test_binance_live — the live Binance USD-M adapter against the venue
 * simulator on loopback (live_fixture.h): the bridge's calls and the
 * updates, notices and position reports it gives back.
 */
#include "live_fixture.h"

/* An entry at market over the WebSocket API, its stop at the venue, the
 * stop fires: the updates the order manager gets, with the money. */
static void test_entry_and_native_stop(void **state)
{
    (void)state;
    setup_t su = {0};
    start(&su);
    wait_streams();
    trade(6000000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t in = market(1, 1, NX_SIDE_BUY, 10);
    assert_int_equal(br->ops->place(br, &in, BTC), 0);
    int f = wait_update(in.client_id, NX_OS_FILLED, 5000);
    assert_true(f >= 0);
    assert_int_equal(ups[f].last_px, 6000000);
    assert_int_equal(ups[f].last_qty, 10);
    assert_int_equal(ups[f].fee, 24); /* 600.00 x 4 bp = 0.24 */
    assert_true(ups[f].fill_id > 0);
    assert_int_equal(ups[f].session, 1);
    /* a stop-loss, reduce-only, resting at the venue */
    nx_ev_order_intent_t sl = market(1, 2, NX_SIDE_SELL, 10);
    sl.order_type = NX_ORD_STOP_MARKET;
    sl.price = 5900000;
    sl.reduce_only = 1;
    assert_int_equal(br->ops->place(br, &sl, BTC), 0);
    assert_true(wait_update(sl.client_id, NX_OS_ACKED, 5000) >= 0);
    nx_vsim_position_t p;
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 10);
    assert_int_equal(p.open_algos, 1);
    trade(5890000);
    f = wait_update(sl.client_id, NX_OS_FILLED, 5000);
    assert_true(f >= 0);
    assert_int_equal(ups[f].last_px, 5890000);
    assert_int_equal(ups[f].fee, 24); /* 589.00 x 4 bp = 0.2356, up to 0.24 */
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 0);
    /* B's account never saw A's orders */
    nx_vsim_position(sim, KEY_B, BTC, &p);
    assert_int_equal(p.qty, 0);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_true(st.sent_ws >= 2);
    /* a local refusal names the filter and sends nothing */
    nx_ev_order_intent_t bad = market(1, 3, NX_SIDE_BUY, 10);
    bad.order_type = NX_ORD_LIMIT;
    bad.price = 5900005; /* off the 0.10 tick */
    assert_int_not_equal(br->ops->place(br, &bad, BTC), 0);
    stop();
}

/* Two users side by side, each with their own key; REST only. */
static void test_two_accounts_over_rest(void **state)
{
    (void)state;
    setup_t su = {.rest_only = 1};
    start(&su);
    wait_streams();
    trade(6000000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t a = market(1, 1, NX_SIDE_BUY, 10), b = market(2, 1, NX_SIDE_SELL, 20);
    assert_int_equal(br->ops->place(br, &a, BTC), 0);
    assert_int_equal(br->ops->place(br, &b, BTC), 0);
    assert_true(wait_update(a.client_id, NX_OS_FILLED, 5000) >= 0);
    assert_true(wait_update(b.client_id, NX_OS_FILLED, 5000) >= 0);
    nx_vsim_position_t p;
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 10);
    nx_vsim_position(sim, KEY_B, BTC, &p);
    assert_int_equal(p.qty, -20);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_int_equal(st.sent_ws, 0);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.bad_signature, 0);
    stop();
}

/* The answer is lost (the order went in) and the user-data stream says
 * nothing of it either: the adapter asks once the recvWindow is over and
 * learns it was filled; it does not send it again. One order at the venue. */
static void test_lost_answer_is_queried_not_resent(void **state)
{
    (void)state;
    setup_t su = {.answer_timeout_ms = 300, .recv_window_ms = 1000};
    start(&su);
    wait_streams();
    trade(6000000);
    fault("unknown", 1, 0);
    fault("mute_user", 1, 3000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t in = market(1, 1, NX_SIDE_BUY, 10);
    assert_int_equal(br->ops->place(br, &in, BTC), 0);
    /* the fill comes from the query's answer: the counters that led to it
     * are published before it is delivered */
    assert_true(wait_update(in.client_id, NX_OS_FILLED, 8000) >= 0);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_int_equal(st.unknown, 1);
    assert_int_equal(st.resent, 0);
    assert_int_equal(count_updates(in.client_id, NX_OS_FILLED), 1);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.orders, 1);
    nx_vsim_position_t p;
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 10);
    stop();
}

/* The request never reached the matching engine: the query finds
 * nothing, and only then is the order sent again. One order at the venue. */
static void test_timeout_is_resent_after_the_window(void **state)
{
    (void)state;
    setup_t su = {.answer_timeout_ms = 300, .recv_window_ms = 1000};
    start(&su);
    wait_streams();
    trade(6000000);
    fault("timeout", 1, 0);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t in = market(1, 1, NX_SIDE_BUY, 10);
    assert_int_equal(br->ops->place(br, &in, BTC), 0);
    assert_true(wait_update(in.client_id, NX_OS_FILLED, 8000) >= 0);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_int_equal(st.unknown, 1);
    assert_int_equal(st.resent, 1);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.orders, 1);
    assert_int_equal(vs.timeouts, 1);
    assert_int_equal(count_updates(in.client_id, NX_OS_FILLED), 1);
    stop();
}

/* 429: nothing more is sent until Retry-After; a new entry meanwhile is
 * refused, an exit waits and goes after. */
static void test_429_stops_sending(void **state)
{
    (void)state;
    setup_t su = {0};
    start(&su);
    wait_streams();
    trade(6000000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t in = market(1, 1, NX_SIDE_BUY, 10);
    assert_int_equal(br->ops->place(br, &in, BTC), 0);
    assert_true(wait_update(in.client_id, NX_OS_FILLED, 5000) >= 0);
    fault("http429", 1, 1000);
    nx_ev_order_intent_t e2 = market(1, 2, NX_SIDE_BUY, 10);
    assert_int_equal(br->ops->place(br, &e2, BTC), 0);
    assert_true(wait_update(e2.client_id, NX_OS_REJECTED, 5000) >= 0);
    nx_ev_order_intent_t x = market(1, 3, NX_SIDE_SELL, 10);
    x.reduce_only = 1;
    assert_int_equal(br->ops->place(br, &x, BTC), 0);
    assert_true(wait_update(x.client_id, NX_OS_FILLED, 5000) >= 0);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.http429, 1);
    assert_int_equal(vs.http418, 0); /* nothing was sent during the ban */
    nx_vsim_position_t p;
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 0);
    assert_true(nnotices >= 1);
    stop();
}

/* The stream drops while a resting order fills: after reconnecting, the
 * adapter asks and reports the fill with the venue's trade id. */
static void test_fill_during_stream_gap(void **state)
{
    (void)state;
    setup_t su = {0};
    start(&su);
    wait_streams();
    trade(6000000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t lim = market(1, 1, NX_SIDE_BUY, 10);
    lim.order_type = NX_ORD_LIMIT;
    lim.price = 5950000;
    assert_int_equal(br->ops->place(br, &lim, BTC), 0);
    assert_true(wait_update(lim.client_id, NX_OS_ACKED, 5000) >= 0);
    fault("drop_user", 1, 0);
    trade(5940000); /* fills the limit while nobody listens (maybe) */
    int f = wait_update(lim.client_id, NX_OS_FILLED, 8000);
    assert_true(f >= 0);
    nx_vsim_position_t p; /* the venue's own record of the fill */
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 10);
    assert_int_equal(ups[f].last_px, p.entry_px);
    assert_int_equal(ups[f].last_qty, 10);
    assert_true(ups[f].fill_id >= 5000000000ULL);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_true(st.stream_connects >= 3); /* both accounts, and A again */
    /* after the gap, once the order is settled: the venue's position,
     * for the engine to compare (flat at the first connection) */
    assert_true(wait_report(1, 0, 5000));
    assert_true(wait_report(1, 10, 5000));
    assert_true(wait_report(2, 0, 5000));
    stop();
}

/* A stop amended: the venue holds the new trigger under the same client
 * id, and the engine hears no cancellation. */
static void test_amend_stop(void **state)
{
    (void)state;
    setup_t su = {0};
    start(&su);
    wait_streams();
    trade(6000000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t in = market(1, 1, NX_SIDE_BUY, 10);
    br->ops->place(br, &in, BTC);
    assert_true(wait_update(in.client_id, NX_OS_FILLED, 5000) >= 0);
    nx_ev_order_intent_t sl = market(1, 2, NX_SIDE_SELL, 10);
    sl.order_type = NX_ORD_STOP_MARKET;
    sl.price = 5900000;
    sl.reduce_only = 1;
    br->ops->place(br, &sl, BTC);
    int k = wait_update(sl.client_id, NX_OS_ACKED, 5000);
    assert_true(k >= 0);
    uint64_t old_id = ups[k].venue_id;
    assert_int_equal(br->ops->amend(br, sl.client_id, 5950000, 0), 0);
    /* the new one acknowledged: an ACKED of the same client id under the
     * venue's new algo id (each ACKED comes twice: the answer and the
     * stream; the order manager takes it once) */
    assert_true(wait_update_renewed(sl.client_id, NX_OS_ACKED, old_id, 5000));
    assert_int_equal(count_updates(sl.client_id, NX_OS_CANCELLED), 0);
    nx_vsim_position_t p;
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.open_algos, 1);
    trade(5945000); /* below the new trigger, above the old */
    int f = wait_update(sl.client_id, NX_OS_FILLED, 5000);
    assert_true(f >= 0);
    assert_int_equal(ups[f].last_px, 5945000);
    stop();
}

static int venue_modified(const void *arg)
{
    (void)arg;
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    return vs.amendments == 1;
}

/* A resting limit order modified in place (order.modify over the
 * WebSocket API, then PUT /fapi/v1/order over REST): one order at the
 * venue, never cancelled, filled at its new price. */
static void test_modify_limit(void **state)
{
    (void)state;
    for (int rest_only = 0; rest_only <= 1; rest_only++) {
        setup_t su = {.rest_only = rest_only};
        start(&su);
        wait_streams();
        trade(6000000);
        nx_bridge_t *br = nx_bnlive_bridge(bl);
        nx_ev_order_intent_t lim = market(1, 1, NX_SIDE_BUY, 10);
        lim.order_type = NX_ORD_LIMIT;
        lim.price = 5950000;
        assert_int_equal(br->ops->place(br, &lim, BTC), 0);
        assert_true(wait_update(lim.client_id, NX_OS_ACKED, 5000) >= 0);
        assert_int_equal(br->ops->amend(br, lim.client_id, 5990000, 20), 0);
        /* the venue has modified it (looked at now and after each update:
         * the answer and the stream's AMENDMENT come after the change) */
        assert_true(wait_for(venue_modified, NULL, 5000));
        nx_vsim_stats_t vs;
        trade(5992000); /* above the new price: nothing */
        trade(5985000); /* below the new price, above the old: fills 0.020 */
        int f = wait_update(lim.client_id, NX_OS_FILLED, 5000);
        assert_true(f >= 0);
        assert_int_equal(count_updates(lim.client_id, NX_OS_CANCELLED), 0);
        nx_vsim_position_t p;
        nx_vsim_position(sim, KEY_A, BTC, &p);
        assert_int_equal(p.qty, 20);
        nx_vsim_stats(sim, &vs);
        assert_int_equal(vs.orders, 1);
        assert_int_equal(vs.cancels, 0);
        nx_bnlive_stats_t st;
        nx_bnlive_stats(bl, &st);
        if (rest_only)
            assert_int_equal(st.sent_ws, 0);
        else
            assert_true(st.sent_ws >= 2);
        stop();
    }
}

/* A burst past 80% of the orders-per-10 s quota: the adapter holds the
 * rest; the venue never sees more than 80%. */
static void test_quota_held_at_80_percent(void **state)
{
    (void)state;
    setup_t su = {.orders_10s = 10}; /* 10 orders per 10 s: 8 may go */
    start(&su);
    wait_streams();
    trade(6000000);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    for (int i = 1; i <= 10; i++) {
        nx_ev_order_intent_t lim = market(1, (uint64_t)i, NX_SIDE_BUY, 10);
        lim.order_type = NX_ORD_LIMIT;
        lim.price = 5000000 + i * 1000;
        assert_int_equal(br->ops->place(br, &lim, BTC), 0);
    }
    for (int i = 1; i <= 8; i++)
        assert_true(wait_update(nx_clid_make(1, (uint64_t)i), NX_OS_ACKED, 5000) >= 0);
    /* the ninth is held, not sent, and that is said */
    assert_true(wait_notice("held back", 5000));
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_true(st.held_for_quota > 0);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.orders, 8);
    assert_int_equal(vs.max_orders_10s_pct, 80);
    assert_int_equal(vs.http429, 0);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_entry_and_native_stop, teardown),
        cmocka_unit_test_teardown(test_two_accounts_over_rest, teardown),
        cmocka_unit_test_teardown(test_lost_answer_is_queried_not_resent, teardown),
        cmocka_unit_test_teardown(test_timeout_is_resent_after_the_window, teardown),
        cmocka_unit_test_teardown(test_429_stops_sending, teardown),
        cmocka_unit_test_teardown(test_fill_during_stream_gap, teardown),
        cmocka_unit_test_teardown(test_amend_stop, teardown),
        cmocka_unit_test_teardown(test_modify_limit, teardown),
        cmocka_unit_test_teardown(test_quota_held_at_80_percent, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
