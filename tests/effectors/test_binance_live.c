/*
 * test_binance_live — the live Binance USD-M adapter against the venue
 * simulator, both on real sockets on loopback: the test's main thread is
 * the engine thread (it calls the bridge), a second thread runs the
 * adapter's network loop, a third the simulator. Every wait is for an
 * update or a counter, with a deadline that only a failure reaches.
 * Money: BTCUSDT at price scale 2, qty scale 3, taker fee 4 bp; the fee in
 * an update is in quote units at the price scale (cents), rounded up.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <libwebsockets.h>

#include "nx/binance.h"
#include "nx/binance_filters.h"
#include "nx/binance_live.h"
#include "nx/clock.h"
#include "nx/error.h"
#include "nx/venuesim.h"
#include "wire.h"

#define KEY_A    "liveAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SECRET_A "live-secret-A-loopback-only-00000000000000000000000000000000000000"
#define KEY_B    "liveBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define SECRET_B "live-secret-B-loopback-only-11111111111111111111111111111111111111"

static nx_symtab_t symtab;
static uint32_t BTC;
static nx_vsim_t *sim;
static pthread_t sim_th, net_th;
static int port;
static struct lws_context *ctx;
static nx_bnlive_t *bl;
static nx_bn_filters_t filters[4];
static atomic_int net_stop;
static int started;

#define MAXU 4096
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static nx_ev_order_update_t ups[MAXU];
static int nups;
static char notices[8][400];
static int nnotices;
typedef struct report {
    uint32_t session, symbol;
    int64_t qty;
} report_t;
static report_t reports[64];
static int nreports;

static void on_position(void *c, uint32_t session, uint32_t symbol, int64_t qty)
{
    (void)c;
    pthread_mutex_lock(&mu);
    if (nreports < 64)
        reports[nreports++] = (report_t){session, symbol, qty};
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* a position report of the session with this qty, waiting up to ms */
static int wait_report(uint32_t session, int64_t qty, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    pthread_mutex_lock(&mu);
    int found = 0;
    for (;;) {
        for (int i = 0; i < nreports && !found; i++)
            found = reports[i].session == session && reports[i].qty == qty;
        if (found || pthread_cond_timedwait(&cv, &mu, &dl))
            break;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static void on_update(void *c, uint32_t symbol, const nx_ev_order_update_t *u)
{
    (void)c, (void)symbol;
    pthread_mutex_lock(&mu);
    if (nups < MAXU)
        ups[nups++] = *u;
    if (getenv("BL_DEBUG"))
        fprintf(stderr, "UPD clid %llx st %d px %lld qty %lld fill %llu venue %llu\n",
                (unsigned long long)u->client_id, u->status, (long long)u->last_px,
                (long long)u->last_qty, (unsigned long long)u->fill_id,
                (unsigned long long)u->venue_id);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_notice(void *c, uint32_t session, const char *text)
{
    (void)c, (void)session;
    pthread_mutex_lock(&mu);
    if (nnotices < 8)
        snprintf(notices[nnotices++], sizeof notices[0], "%s", text);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void *sim_main(void *arg)
{
    nx_vsim_run(arg);
    return NULL;
}

static void *net_main(void *arg)
{
    (void)arg;
    nx_bnlive_start(bl);
    while (!atomic_load(&net_stop))
        lws_service(ctx, 0);
    return NULL;
}

typedef struct setup {
    int rest_only;
    uint32_t answer_timeout_ms, recv_window_ms, orders_10s;
} setup_t;

static void start(const setup_t *su)
{
    nx_symtab_init(&symtab);
    BTC = (uint32_t)nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 10000,
                                  NULL);
    nx_vsim_opts_t so;
    nx_vsim_opts_default(&so);
    so.symtab = &symtab;
    so.quiet = 1;
    if (su->orders_10s)
        so.orders_10s = su->orders_10s;
    assert_int_equal(nx_vsim_create(&sim, &so), 0);
    assert_int_equal(nx_vsim_add_account(sim, KEY_A, SECRET_A, 100000000000LL), 0);
    assert_int_equal(nx_vsim_add_account(sim, KEY_B, SECRET_B, 100000000000LL), 0);
    port = nx_vsim_port(sim);
    pthread_create(&sim_th, NULL, sim_main, sim);
    /* the filters, from the venue's own exchangeInfo */
    wire_resp_t r;
    assert_int_equal(wire_http(port, "GET", "/fapi/v1/exchangeInfo", NULL, NULL, 5000, &r), 0);
    char why[200];
    assert_int_equal(nx_bn_filters_load(r.body, r.body_n, &symtab, filters, 4, why, sizeof why), 0);
    free(r.body);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    lws_set_log_level(0, NULL);
    ctx = lws_create_context(&info);
    assert_non_null(ctx);
    char rest[64], api[64];
    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", port);
    snprintf(api, sizeof api, "ws://127.0.0.1:%d/ws-fapi/v1", port);
    nx_bnlive_opts_t o;
    memset(&o, 0, sizeof o);
    o.symtab = &symtab;
    o.filters = filters;
    o.ctx = ctx;
    o.rest_url = rest;
    o.ws_api_url = su->rest_only ? NULL : api;
    o.stream_url = rest[0] ? "ws://127.0.0.1" : NULL;
    char stream[64];
    snprintf(stream, sizeof stream, "ws://127.0.0.1:%d", port);
    o.stream_url = stream;
    o.answer_timeout_ms = su->answer_timeout_ms;
    o.recv_window_ms = su->recv_window_ms;
    o.orders_10s = su->orders_10s;
    o.on_update = on_update;
    o.on_notice = on_notice;
    o.on_position = on_position;
    bl = nx_bnlive_create(&o);
    assert_non_null(bl);
    assert_int_equal(nx_bnlive_add_account(bl, 1, KEY_A, SECRET_A, strlen(SECRET_A)), 0);
    assert_int_equal(nx_bnlive_add_account(bl, 2, KEY_B, SECRET_B, strlen(SECRET_B)), 0);
    assert_int_equal(nx_bnlive_add_account(bl, 2, KEY_B, SECRET_B, 3), NX_EEXIST);
    nups = nnotices = nreports = 0;
    atomic_store(&net_stop, 0);
    pthread_create(&net_th, NULL, net_main, NULL);
    started = 1;
}



/* also the teardown: a failed test's threads must not run into the next */
static void stop(void)
{
    if (!started)
        return;
    started = 0;
    atomic_store(&net_stop, 1);
    lws_cancel_service(ctx);
    pthread_join(net_th, NULL);
    lws_context_destroy(ctx);
    nx_bnlive_destroy(bl);
    nx_vsim_stop(sim);
    pthread_join(sim_th, NULL);
    nx_vsim_destroy(sim);
}

static int teardown(void **state)
{
    (void)state;
    stop();
    return 0;
}

static void trade(int64_t price)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.symbol = BTC;
    ev.u.trade.price = price;
    ev.u.trade.qty = 1000;
    nx_vsim_on_market(sim, &ev);
}

/* the index of the first update of clid with this status, waiting up to
 * ms; -1 if none came */
static int wait_update(uint64_t clid, uint8_t status, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    pthread_mutex_lock(&mu);
    int found = -1;
    for (;;) {
        for (int i = 0; i < nups && found < 0; i++)
            if (ups[i].client_id == clid && ups[i].status == status)
                found = i;
        if (found >= 0 || pthread_cond_timedwait(&cv, &mu, &dl))
            break;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static int count_updates(uint64_t clid, uint8_t status)
{
    pthread_mutex_lock(&mu);
    int n = 0;
    for (int i = 0; i < nups; i++)
        n += ups[i].client_id == clid && ups[i].status == status;
    pthread_mutex_unlock(&mu);
    return n;
}

/* the adapter's streams are up: each account's first position report
 * comes once its stream has connected and its orders are settled */
static void wait_streams(void)
{
    assert_true(wait_report(1, 0, 10000));
    assert_true(wait_report(2, 0, 10000));
}

/* an update of clid with this status under another venue id than old_id */
static int wait_update_renewed(uint64_t clid, uint8_t status, uint64_t old_id, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    pthread_mutex_lock(&mu);
    int found = 0;
    for (;;) {
        for (int i = 0; i < nups && !found; i++)
            found = ups[i].client_id == clid && ups[i].status == status && ups[i].venue_id != old_id;
        if (found || pthread_cond_timedwait(&cv, &mu, &dl))
            break;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

/* a notice containing text, waiting up to ms */
static int wait_notice(const char *text, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    pthread_mutex_lock(&mu);
    int found = 0;
    for (;;) {
        for (int i = 0; i < nnotices && !found; i++)
            found = strstr(notices[i], text) != NULL;
        if (found || pthread_cond_timedwait(&cv, &mu, &dl))
            break;
    }
    pthread_mutex_unlock(&mu);
    return found;
}

static nx_ev_order_intent_t market(uint32_t session, uint64_t seq, uint8_t side, int64_t qty)
{
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.client_id = nx_clid_make(session, seq);
    in.session = session;
    in.side = side;
    in.order_type = NX_ORD_MARKET;
    in.qty = qty;
    return in;
}

/* An entry at market over the WebSocket API, its stop at the venue, the
 * stop fires: the updates the order manager gets, with the money. */
static void test_entry_and_native_stop(void **state)
{
    (void)state;
    setup_t su = {0, 0, 0, 0};
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
    setup_t su = {1, 0, 0, 0};
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

static void fault(const char *kind, int n, int ms)
{
    char why[200];
    assert_int_equal(nx_vsim_fault(sim, kind, n, ms, 0, why, sizeof why), 0);
}

/* The answer is lost (the order went in) and the user-data stream says
 * nothing of it either: the adapter asks once the recvWindow is over and
 * learns it was filled; it does not send it again. One order at the venue. */
static void test_lost_answer_is_queried_not_resent(void **state)
{
    (void)state;
    setup_t su = {0, 300, 1000, 0};
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
    setup_t su = {0, 300, 1000, 0};
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
    setup_t su = {0, 0, 0, 0};
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
    setup_t su = {0, 0, 0, 0};
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
    setup_t su = {0, 0, 0, 0};
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

/* A burst past 80% of the orders-per-10 s quota: the adapter holds the
 * rest; the venue never sees more than 80%. */
static void test_quota_held_at_80_percent(void **state)
{
    (void)state;
    setup_t su = {0, 0, 0, 10}; /* 10 orders per 10 s: 8 may go */
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
        cmocka_unit_test_teardown(test_quota_held_at_80_percent, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
