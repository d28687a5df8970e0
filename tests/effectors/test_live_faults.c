/*
 * test_live_faults — every fault the venue simulator injects, each in its
 * own test, with the order manager on the live adapter as in the engine
 * (live_fixture.h: the updates reach the order manager on the test's
 * thread, in the order they came). After each fault the books are checked
 * against the venue's own record:
 *  - no order lost: what the order manager holds as open is what rests at
 *    the venue, and its position is the venue's;
 *  - none duplicated: no client id executed twice at the venue;
 *  - every open position protected within PROTECT_MS of the fault: a stop
 *    on the closing side at the venue for its whole size;
 *  - the person told where a person must act (a notice).
 * Timings: answers time out after 300 ms, recvWindow 1000 ms, so an order
 * whose answer is lost is asked about after 1.3 s and sent again (if the
 * venue never had it) at once.
 */
#include "live_fixture.h"
#include "nx/hmac.h"

#define PX       6000000 /* 60000.00 */
#define SL       5900000
#define TP       6100000
#define QTY      10 /* 0.010 BTC */
#define PROTECT_MS 4000

static const setup_t FAST = {.answer_timeout_ms = 300, .recv_window_ms = 1000, .with_oms = 1};

static int64_t mono_ms(void)
{
    return nx__clock_ns(CLOCK_MONOTONIC) / NX_NS_PER_MS; /* ms */
}

/* An entry through the order manager, with its stop and target. */
static void enter(uint32_t session, uint8_t side, int64_t sl, int64_t tp)
{
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.session = session;
    in.side = side;
    in.qty = QTY;
    in.leverage = 5;
    in.stop_loss = sl;
    in.take_profit = tp;
    in.order_type = NX_ORD_MARKET;
    assert_int_equal(nx_oms_enter(oms, BTC, &in, 0, nx__clock_ns(CLOCK_REALTIME)), 0);
}

typedef struct want_books {
    uint32_t session;
    int64_t qty; /* the position both must hold */
} want_books_t;

/* The order manager and the venue agree: the position, what rests open
 * (plain and conditional orders), and an open position has its stop. */
static int books_agree(const void *arg)
{
    const want_books_t *w = arg;
    nx_position_info_t pi;
    nx_account_info_t ai;
    nx_vsim_position_t vp;
    nx_oms_position(oms, w->session, BTC, &pi);
    nx_oms_account(oms, w->session, &ai);
    nx_vsim_position(sim, KEY[w->session - 1], BTC, &vp);
    int64_t open = w->qty < 0 ? -w->qty : w->qty;
    return pi.qty == w->qty && vp.qty == w->qty &&
           ai.open_orders == vp.open_orders + vp.open_algos &&
           (!w->qty || (pi.protected_sl && vp.stop_qty >= open));
}

/* Wait (up to ms) for the books to agree on qty; then none duplicated. */
static void books(uint32_t session, int64_t qty, int ms)
{
    want_books_t w = {session, qty};
    if (!wait_for(books_agree, &w, ms)) {
        nx_position_info_t pi;
        nx_account_info_t ai;
        nx_vsim_position_t vp;
        nx_oms_position(oms, session, BTC, &pi);
        nx_oms_account(oms, session, &ai);
        nx_vsim_position(sim, KEY[session - 1], BTC, &vp);
        fail_msg("session %u: engine qty %lld (stop %d, %u open), venue qty %lld (stops for "
                 "%lld, %u + %u open), want %lld",
                 session, (long long)pi.qty, pi.protected_sl, ai.open_orders, (long long)vp.qty,
                 (long long)vp.stop_qty, vp.open_orders, vp.open_algos, (long long)qty);
    }
    assert_int_equal(nx_vsim_duplicates(sim), 0);
}

static int trades_closed(const void *arg)
{
    return nclosed >= *(const int *)arg;
}

/* the n-th closed trade, waiting up to ms */
static const nx_trade_closed_t *wait_closed(int n, int ms)
{
    assert_true(wait_for(trades_closed, &n, ms));
    return &closed[n - 1];
}

typedef struct want_status {
    uint32_t session;
    uint8_t status;
    int n;
} want_status_t;

static int has_status(const void *arg)
{
    const want_status_t *w = arg;
    int n = 0;
    for (int i = 0; i < nups; i++)
        n += ups[i].session == w->session && ups[i].status == w->status;
    return n >= w->n;
}

/* n updates of the session with this status (any order), up to ms */
static int wait_status(uint32_t session, uint8_t status, int n, int ms)
{
    want_status_t w = {session, status, n};
    return wait_for(has_status, &w, ms);
}

/* The venue's realised P&L (10^-8 USDT) against the order manager's closed
 * trades before fees (cents): the same money to the cent. */
static void money_agrees(uint32_t session)
{
    nx_vsim_position_t vp;
    nx_vsim_position(sim, KEY[session - 1], BTC, &vp);
    int64_t gross = 0;
    for (int i = 0; i < nclosed; i++)
        if (closed[i].session == session)
            gross += closed[i].pnl + closed[i].fees;
    assert_int_equal(vp.realized, gross * 1000000);
}

typedef struct want_wallet {
    uint32_t session;
    int64_t wallet;
} want_wallet_t;

static int has_wallet(const void *arg)
{
    const want_wallet_t *w = arg;
    return wallet_seen[w->session - 1] == w->wallet;
}

/* the venue's wallet of the session reported as it is now, up to ms */
static int wait_wallet(uint32_t session, int ms)
{
    want_wallet_t w = {session, 0};
    assert_int_equal(nx_vsim_wallet(sim, KEY[session - 1], &w.wallet), 0);
    return wait_for(has_wallet, &w, ms);
}

static int told(uint8_t what)
{
    pthread_mutex_lock(&mu);
    int n = 0;
    for (int i = 0; i < nnotices; i++)
        n += notice_what[i] == what;
    pthread_mutex_unlock(&mu);
    return n;
}

/* wait_for's predicate: at least want[1] notices of kind want[0] (under mu) */
static int has_told(const void *arg)
{
    const int *want = arg;
    int n = 0;
    for (int i = 0; i < nnotices; i++)
        n += notice_what[i] == want[0];
    return n >= want[1];
}

/* n notices of this kind, waiting up to ms */
static int wait_notices(uint8_t what, int n, int ms)
{
    int want[2] = {what, n};
    return wait_for(has_told, want, ms);
}

/* An entry the venue refuses (-2019, margin): the order manager forgets
 * it; the next one goes and is protected. */
static void test_reject(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    assert_true(wait_wallet(1, 5000)); /* reconciled: the wallet with the positions */
    assert_int_equal(wallet_seen[0], 100000000000LL);
    trade(PX);
    fault("reject", 1, 0);
    enter(1, NX_SIDE_BUY, SL, TP);
    assert_true(wait_status(1, NX_OS_REJECTED, 1, 5000));
    books(1, 0, 2000);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    stop();
}

/* The venue refuses the stop after the entry filled: the position cannot
 * be protected, so it is closed at market at once (emergency). */
static void test_reject_of_the_stop_closes_at_market(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    want_status_t filled = {1, NX_OS_FILLED, 1};
    nx_oms_t *m = oms;
    oms = NULL; /* the fill waits here until the fault is armed */
    nx_oms_enter(m, BTC,
                 &(nx_ev_order_intent_t){.session = 1, .side = NX_SIDE_BUY, .qty = QTY,
                                         .leverage = 5, .stop_loss = SL, .take_profit = TP},
                 0, 0);
    assert_true(wait_for(has_status, &filled, 5000));
    fault("reject", 1, 0);
    oms = m;
    const nx_trade_closed_t *t = wait_closed(1, 5000);
    assert_int_equal(t->reason, NX_EXIT_EMERGENCY);
    books(1, 0, 3000);
    money_agrees(1);
    stop();
}

/* The entry's answer is lost (HTTP 503 / no WebSocket answer) and the
 * stream is mute: the adapter asks the venue, learns it filled, and does
 * not send it again; the position is protected. */
static void test_unknown_status(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("unknown", 1, 0);
    fault("mute_user", 1, 2000);
    int64_t t0 = mono_ms();
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    print_message("lost answer: protected %lld ms after the entry was sent\n",
                  (long long)(mono_ms() - t0));
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_int_equal(st.resent, 0);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.orders, 1);
    stop();
}

/* A slow answer (2 s, past the 300 ms timeout): asked about, filled; the
 * late answer changes nothing. */
static void test_slow_answer(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("slow", 1, 2000);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_int_equal(st.resent, 0);
    nx_position_info_t pi;
    nx_oms_position(oms, 1, BTC, &pi);
    assert_int_equal(pi.qty, QTY); /* one fill, however many times it was told */
    stop();
}

/* The entry never reached the matching engine: once the window is over
 * the query finds nothing and it is sent again; one order at the venue. */
static void test_timeout_of_the_entry(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("timeout", 1, 0);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_int_equal(st.resent, 1);
    stop();
}

/* The stop never reached the venue: the position is open and bare until
 * the adapter has asked and sent it again — within the bound. */
static void test_timeout_of_the_stop(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("timeout_algo", 1, 0);
    int64_t t0 = mono_ms();
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    print_message("swallowed stop: protected %lld ms after the entry was sent\n",
                  (long long)(mono_ms() - t0));
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_true(st.resent >= 1);
    stop();
}

/* The user-data stream drops and the stop fires while nobody listens:
 * after reconnecting, the fill is asked for and the trade closes. */
static void test_stream_drop_while_the_stop_fires(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    fault("drop_user", 1, 0);
    trade(SL - 1000);
    const nx_trade_closed_t *t = wait_closed(1, 8000);
    assert_int_equal(t->reason, NX_EXIT_SL);
    books(1, 0, 3000);
    money_agrees(1);
    /* after the gap the wallet is asked for too: the venue's, after the loss */
    assert_true(wait_wallet(1, 5000));
    assert_true(wallet_seen[0] < 100000000000LL);
    stop();
}

/* The listen key expires: a new one, a new connection, a reconciliation
 * (the venue's position reported again); the next fill comes through it. */
static void test_listen_key_expiry(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    fault("expire_key", 1, 0);
    assert_true(wait_report(1, QTY, 8000)); /* reconciled on the new connection */
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    assert_true(st.keys_renewed >= 1);
    trade(TP + 1000);
    const nx_trade_closed_t *t = wait_closed(1, 5000);
    assert_int_equal(t->reason, NX_EXIT_TP);
    books(1, 0, 3000);
    money_agrees(1);
    stop();
}

/* Every user-data event twice: each fill counts once, the money agrees. */
static void test_duplicate_events(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("duplicate", 50, 0);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    trade(TP + 1000);
    wait_closed(1, 5000);
    books(1, 0, 3000);
    money_agrees(1);
    nx_account_info_t ai;
    nx_oms_account(oms, 1, &ai);
    assert_true(ai.duplicates > 0);
    stop();
}

/* User-data events out of order: the same books and money. */
static void test_reordered_events(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("reorder", 50, 0);
    enter(1, NX_SIDE_SELL, TP, SL); /* a short: stop above, target below */
    books(1, -QTY, PROTECT_MS);
    trade(SL - 1000);
    const nx_trade_closed_t *t = wait_closed(1, 5000);
    assert_int_equal(t->reason, NX_EXIT_TP);
    books(1, 0, 3000);
    money_agrees(1);
    stop();
}

/* The venue cancels the resting stop and target: both go back, within
 * the bound. */
static void test_venue_cancels_the_stop(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    int64_t t0 = nx__clock_ns(CLOCK_MONOTONIC);
    fault("cancel_stop", 1, 0);
    assert_true(wait_status(1, NX_OS_CANCELLED, 2, 5000));
    books(1, QTY, PROTECT_MS);
    print_message("stop cancelled by the venue: protected again in %lld us\n",
                  (long long)((nx__clock_ns(CLOCK_MONOTONIC) - t0) / 1000));
    nx_vsim_position_t vp;
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.open_algos, 2); /* the target too */
    stop();
}

/* Faults on a schedule: the venue cancels the resting orders every 300 ms
 * and sends every event twice now and then; each time both go back; once
 * the schedule is cleared the books agree. */
static void test_faults_on_a_schedule(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    char why[200];
    assert_int_equal(nx_vsim_schedule(sim, "cancel_stop", 300, 1, 0, 0, why, sizeof why), 0);
    assert_int_equal(nx_vsim_schedule(sim, "duplicate", 200, 5, 0, 0, why, sizeof why), 0);
    assert_int_equal(nx_vsim_schedule(sim, "clear", 200, 1, 0, 0, why, sizeof why), NX_EINVAL);
    enter(1, NX_SIDE_BUY, SL, TP);
    /* six cancellations reported (some twice: the duplicates), the
     * orders placed again each time */
    assert_true(wait_status(1, NX_OS_CANCELLED, 6, 8000));
    fault("clear", 1, 0);
    books(1, QTY, PROTECT_MS);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_true(vs.scheduled_faults >= 2);
    assert_true(vs.venue_cancels >= 3);
    stop();
}

/* The entry fills in two parts: the stop covers the whole position. */
static void test_partial_fills(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    fault("partial", 1, 0);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    assert_true(wait_status(1, NX_OS_PARTIAL, 1, 100));
    stop();
}

/* The venue liquidates: the trade closes as a liquidation with the
 * venue's money, nothing is left resting, the person is told. */
static void test_liquidation(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    fault("liquidate", 1, 0);
    const nx_trade_closed_t *t = wait_closed(1, 5000);
    assert_int_equal(t->reason, NX_EXIT_LIQUIDATION);
    assert_true(wait_notice("liquidated", 2000));
    assert_int_equal(told(NX_VN_LIQUIDATED), 1);
    /* the target the liquidation took with it: its cancel is answered
     * "unknown order", which is settled by a query, not at once */
    books(1, 0, 8000);
    money_agrees(1);
    stop();
}

static int stream_down(const void *arg)
{
    (void)arg;
    nx_bnlive_stats_t st;
    nx_bnlive_stats(bl, &st);
    return st.streams_up < (uint32_t)naccounts;
}

typedef struct want_later_report {
    int after;
    uint32_t session;
    int64_t qty;
} want_later_report_t;

static int later_report(const void *arg)
{
    const want_later_report_t *w = arg;
    for (int i = w->after; i < nreports; i++)
        if (reports[i].session == w->session && reports[i].qty == w->qty)
            return 1;
    return 0;
}

/* The venue liquidates while the account's stream is down and no stream
 * can connect (its events are lost, as on the venue): after the gap the
 * adapter asks for the venue's own orders since the last event it saw and
 * for their fills, so the trade closes as a liquidation with the venue's
 * prices and fees, the person is told, and the positions compared after
 * agree. */
static void test_liquidation_during_a_stream_gap(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    fault("drop_user", 1, 1500);
    assert_true(wait_for(stream_down, NULL, 3000));
    pthread_mutex_lock(&mu);
    int before = nreports;
    pthread_mutex_unlock(&mu);
    fault("liquidate", 1, 0);
    const nx_trade_closed_t *t = wait_closed(1, 8000);
    assert_int_equal(t->reason, NX_EXIT_LIQUIDATION);
    assert_true(wait_notice("liquidated the BTCUSDT position while the stream was down", 2000));
    assert_int_equal(told(NX_VN_LIQUIDATED), 1);
    /* the target the liquidation took with it: its cancel is answered
     * "unknown order", which is settled by a query, not at once */
    books(1, 0, 8000);
    money_agrees(1);
    want_later_report_t w = {before, 1, 0};
    assert_true(wait_for(later_report, &w, 5000));
    stop();
}

/* During a stream gap the venue cancels the stop and the target, and then
 * forgets them, as it does days later with cancelled orders that never
 * filled (a query answers -2013). Acknowledged once and no longer known,
 * each is taken as cancelled after three answers a second apart, and the
 * position is protected again. */
static void test_venue_forgets_a_cancelled_stop(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    fault("drop_user", 1, 1000);
    assert_true(wait_for(stream_down, NULL, 3000));
    fault("cancel_stop", 1, 0);
    fault("purge", 1, 0);
    assert_true(wait_status(1, NX_OS_CANCELLED, 2, 8000));
    books(1, QTY, PROTECT_MS);
    nx_vsim_position_t vp;
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.open_algos, 2); /* the target too */
    stop();
}

/* The venue's clock jumps 5 s ahead, past the recvWindow: the first order
 * is refused with -1021, the offset is measured again, the order goes
 * once. */
static void test_clock_skew(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    nx_bnlive_stats_t st0, st;
    nx_bnlive_stats(bl, &st0);
    fault("skew", 1, -5000);
    enter(1, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    nx_bnlive_stats(bl, &st);
    assert_true(st.time_syncs > st0.time_syncs);
    assert_true(st.clock_offset_ms < -4000);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_true(vs.bad_timestamp >= 1);
    stop();
}

/* Cancel-all of a session on a symbol takes both kinds: plain orders and
 * conditional ones. */
static void test_cancel_all_both_kinds(void **state)
{
    (void)state;
    setup_t su = {0};
    start(&su);
    wait_streams();
    trade(PX);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    nx_ev_order_intent_t lim = market(1, 1, NX_SIDE_BUY, QTY);
    lim.order_type = NX_ORD_LIMIT;
    lim.price = 5000000;
    nx_ev_order_intent_t stp = market(1, 2, NX_SIDE_BUY, QTY);
    stp.order_type = NX_ORD_STOP_MARKET;
    stp.price = 6500000;
    assert_int_equal(br->ops->place(br, &lim, BTC), 0);
    assert_int_equal(br->ops->place(br, &stp, BTC), 0);
    assert_true(wait_update(lim.client_id, NX_OS_ACKED, 5000) >= 0);
    assert_true(wait_update(stp.client_id, NX_OS_ACKED, 5000) >= 0);
    nx_vsim_position_t vp;
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.open_orders + vp.open_algos, 2);
    assert_int_equal(br->ops->cancel_all(br, 1, BTC), 0);
    assert_true(wait_update(lim.client_id, NX_OS_CANCELLED, 5000) >= 0);
    assert_true(wait_update(stp.client_id, NX_OS_CANCELLED, 5000) >= 0);
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.open_orders + vp.open_algos, 0);
    stop();
}

/* A signed POST with an account's key, as a person's own client would. */
static void venue_post(int acct, const char *path, const char *params, wire_resp_t *r)
{
    nx_hmac_key_t *k;
    assert_int_equal(nx_hmac_key_create(&k, SECRET[acct], strlen(SECRET[acct])), 0);
    char q[512];
    int n = snprintf(q, sizeof q, "%s&timestamp=%lld", params,
                     (long long)(nx__clock_ns(CLOCK_REALTIME) / NX_NS_PER_MS));
    assert_true(nx_binance_sign(q, (size_t)n, sizeof q, k) > 0);
    nx_hmac_key_free(k);
    assert_int_equal(wire_http(port, "POST", path, q, KEY[acct], 5000, r), 0);
}

/* The margin type asked for is set before the first entry; where the
 * venue refuses it (an open order of the person's own), the person is
 * told and the entry still goes under the account's own. */
static void test_margin_type(void **state)
{
    (void)state;
    setup_t su = FAST;
    su.margin_type = "ISOLATED";
    start(&su);
    wait_streams();
    trade(PX);
    wire_resp_t r;
    venue_post(1, "/fapi/v1/order",
               "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&"
               "price=50000&newClientOrderId=web_manual_1",
               &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    enter(1, NX_SIDE_BUY, SL, TP);
    enter(2, NX_SIDE_BUY, SL, TP);
    books(1, QTY, PROTECT_MS);
    assert_true(wait_notice("kept its own margin type on BTCUSDT", 5000));
    assert_int_equal(told(NX_VN_MARGIN_KEPT), 1); /* B's only */
    nx_vsim_position_t vp;
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.isolated, 1);
    nx_vsim_position(sim, KEY_B, BTC, &vp);
    assert_int_equal(vp.isolated, 0);
    assert_int_equal(vp.qty, QTY);
    stop();
}

/* The entry price of the session's latest position report with this qty
 * (0 if none). */
static int64_t reported_entry(uint32_t session, int64_t qty)
{
    pthread_mutex_lock(&mu);
    int64_t px = 0;
    for (int i = 0; i < nreports; i++)
        if (reports[i].session == session && reports[i].qty == qty)
            px = reports[i].entry_px;
    pthread_mutex_unlock(&mu);
    return px;
}

/* Orders on the account that Nexus did not place (the person's own, from
 * the venue's site): each open one is reported once, a plain order and an
 * algo order alike, and only for its own account; one that fills on the
 * stream has the positions asked for again at once, with the venue's
 * entry price. */
static void test_foreign_orders(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    wire_resp_t r;
    venue_post(0, "/fapi/v1/order",
               "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&"
               "price=50000&newClientOrderId=web_manual_1",
               &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(wait_notice("an order Nexus did not place is open at the venue: BTCUSDT BUY "
                            "LIMIT 0.010 at 50000",
                            5000));
    /* a stop of the person's own, after the open orders were asked for:
     * its ALGO_UPDATE is what makes the adapter ask again */
    venue_post(0, "/fapi/v1/algoOrder",
               "algoType=CONDITIONAL&symbol=BTCUSDT&side=BUY&type=STOP_MARKET&"
               "triggerPrice=65000&quantity=0.020&clientAlgoId=web_algo_1",
               &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(wait_notice("an order Nexus did not place is open at the venue: BTCUSDT BUY "
                            "STOP_MARKET 0.020 at 65000",
                            5000));
    /* the person fills an order of their own at the market: the stream
     * says so, and the venue's position comes at once with its entry */
    venue_post(0, "/fapi/v1/order",
               "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.005&newClientOrderId=web_manual_2",
               &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(wait_report(1, 5, 5000));
    assert_int_equal(reported_entry(1, 5), PX);
    /* a third order: its list holds the first two as well, told once */
    venue_post(0, "/fapi/v1/order",
               "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.005&"
               "price=70000&newClientOrderId=web_manual_3",
               &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_true(wait_notice("BTCUSDT SELL LIMIT 0.005 at 70000", 5000));
    assert_int_equal(told(NX_VN_FOREIGN_ORDER), 3);
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nnotices; i++) /* B's account holds nothing foreign */
        assert_true(notice_what[i] != NX_VN_FOREIGN_ORDER || notice_session[i] == 1);
    pthread_mutex_unlock(&mu);
    stop();
}

/* A burst of signals for four users at once, on a venue with small
 * quotas: no quota is ever taken above 80%, nothing is answered 429, and
 * every order goes in the end. */
static void test_quota_burst_many_users(void **state)
{
    (void)state;
    setup_t su = {.accounts = 4, .orders_10s = 10, .weight_1m = 100};
    start(&su);
    wait_streams();
    trade(PX);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    for (uint32_t s = 1; s <= 4; s++)
        for (int i = 1; i <= 10; i++) {
            nx_ev_order_intent_t lim = market(s, (uint64_t)i, NX_SIDE_BUY, QTY);
            lim.order_type = NX_ORD_LIMIT;
            lim.price = 5000000 + i * 1000;
            assert_int_equal(br->ops->place(br, &lim, BTC), 0);
        }
    /* 8 of each user's 10 within the first 10 s; the rest held */
    for (uint32_t s = 1; s <= 4; s++)
        for (int i = 1; i <= 8; i++)
            assert_true(wait_update(nx_clid_make(s, (uint64_t)i), NX_OS_ACKED, 8000) >= 0);
    assert_true(wait_notice("held back", 5000));
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    assert_int_equal(vs.orders, 32);
    assert_true(vs.max_orders_10s_pct <= 80);
    assert_true(vs.max_weight_pct <= 80);
    assert_int_equal(vs.http429, 0);
    assert_int_equal(vs.http418, 0);
    print_message("burst of 40 orders for 4 users: %llu sent in the first window, highest order "
                  "count %u%%, highest weight %u%% of the quotas\n",
                  (unsigned long long)vs.orders, vs.max_orders_10s_pct, vs.max_weight_pct);
    stop();
}

/* Orders with the session's own client ids that no order here has — sent
 * before a crash kept them from storage — are cancelled at the next
 * reconciliation (a forgotten stop would close a later position); an id
 * of another session on another account is left alone. */
static void test_own_orders_lost_in_a_crash(void **state)
{
    (void)state;
    start(&FAST);
    wait_streams();
    trade(PX);
    char id1[40], id2[40], id3[40], q[400];
    nx_binance_clid_format(nx_clid_make(1, 900), id1);
    nx_binance_clid_format(nx_clid_make(1, 901), id2);
    nx_binance_clid_format(nx_clid_make(1, 902), id3);
    wire_resp_t r;
    snprintf(q, sizeof q,
             "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=50000&"
             "newClientOrderId=%s",
             id1);
    venue_post(0, "/fapi/v1/order", q, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    snprintf(q, sizeof q,
             "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=50000&"
             "closePosition=true&clientAlgoId=%s",
             id2);
    venue_post(0, "/fapi/v1/algoOrder", q, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    /* on B's account, an id of A's session: not B's, so never B's to cancel */
    snprintf(q, sizeof q,
             "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=50000&"
             "newClientOrderId=%s",
             id3);
    venue_post(1, "/fapi/v1/order", q, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    nx_vsim_position_t vp;
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.open_orders + vp.open_algos, 2);
    fault("drop_user", 1, 0); /* a gap: the reconciliation after it */
    /* each cancelled, and the person told once it is (the venue's answer) */
    assert_true(wait_notices(NX_VN_ORPHAN_CANCELLED, 2, 8000));
    nx_vsim_position(sim, KEY_A, BTC, &vp);
    assert_int_equal(vp.open_orders + vp.open_algos, 0);
    nx_vsim_position(sim, KEY_B, BTC, &vp);
    assert_int_equal(vp.open_orders, 1);
    stop();
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cmocka_set_test_filter(argv[1]); /* one case, for a run over and over */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_reject, teardown),
        cmocka_unit_test_teardown(test_reject_of_the_stop_closes_at_market, teardown),
        cmocka_unit_test_teardown(test_unknown_status, teardown),
        cmocka_unit_test_teardown(test_slow_answer, teardown),
        cmocka_unit_test_teardown(test_timeout_of_the_entry, teardown),
        cmocka_unit_test_teardown(test_timeout_of_the_stop, teardown),
        cmocka_unit_test_teardown(test_stream_drop_while_the_stop_fires, teardown),
        cmocka_unit_test_teardown(test_listen_key_expiry, teardown),
        cmocka_unit_test_teardown(test_duplicate_events, teardown),
        cmocka_unit_test_teardown(test_reordered_events, teardown),
        cmocka_unit_test_teardown(test_venue_cancels_the_stop, teardown),
        cmocka_unit_test_teardown(test_faults_on_a_schedule, teardown),
        cmocka_unit_test_teardown(test_partial_fills, teardown),
        cmocka_unit_test_teardown(test_liquidation, teardown),
        cmocka_unit_test_teardown(test_liquidation_during_a_stream_gap, teardown),
        cmocka_unit_test_teardown(test_venue_forgets_a_cancelled_stop, teardown),
        cmocka_unit_test_teardown(test_clock_skew, teardown),
        cmocka_unit_test_teardown(test_cancel_all_both_kinds, teardown),
        cmocka_unit_test_teardown(test_margin_type, teardown),
        cmocka_unit_test_teardown(test_quota_burst_many_users, teardown),
        cmocka_unit_test_teardown(test_foreign_orders, teardown),
        cmocka_unit_test_teardown(test_own_orders_lost_in_a_crash, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
