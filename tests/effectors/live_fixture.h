/*
 * live_fixture.h — the live Binance USD-M adapter against the venue
 * simulator, both on real sockets on loopback, for the tests that drive
 * them: the test's main thread is the engine thread (it calls the bridge,
 * and the order manager when the test gives one), a second thread runs the
 * adapter's network loop, a third the simulator. Every wait is for an
 * update, a notice or a position report, with a deadline that only a
 * failure reaches. Up to four accounts: sessions 1..4, keys KEY[0..3].
 * Money: BTCUSDT at price scale 2, qty scale 3, taker fee 4 bp; the fee in
 * an update is in quote units at the price scale (cents), rounded up.
 */
#ifndef NX_TEST_LIVE_FIXTURE_H
#define NX_TEST_LIVE_FIXTURE_H

#include <errno.h>
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
#include "nx/oms.h"
#include "nx/venuesim.h"
#include "wire.h"

static const char *const KEY[4] = {
    "liveAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    "liveBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    "liveCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC",
    "liveDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD"};
static const char *const SECRET[4] = {
    "live-secret-A-loopback-only-00000000000000000000000000000000000000",
    "live-secret-B-loopback-only-11111111111111111111111111111111111111",
    "live-secret-C-loopback-only-22222222222222222222222222222222222222",
    "live-secret-D-loopback-only-33333333333333333333333333333333333333"};
#define KEY_A KEY[0]
#define KEY_B KEY[1]

static nx_symtab_t symtab;
static uint32_t BTC;
static nx_vsim_t *sim;
static pthread_t sim_th, net_th;
static int port;
static struct lws_context *ctx;
static nx_bnlive_t *bl;
static nx_bn_filters_t filters[4];
static atomic_int net_stop;
static int started, naccounts;
static nx_oms_t *oms;          /* the order manager, when the test has one */
static nx_trade_closed_t closed[64];
static int nclosed;

#define MAXU 4096
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static nx_ev_order_update_t ups[MAXU];
static uint32_t up_symbol[MAXU];
static int nups, fed; /* fed: the updates given to the order manager so far */
static char notices[16][400];
static uint8_t notice_what[16]; /* nx_venue_note_t of each */
static uint32_t notice_session[16];
static int nnotices;
static int64_t wallet_seen[4]; /* the last wallet reported per session, 10^-8 USDT (-1 none) */
typedef struct report {
    uint32_t session, symbol;
    int64_t qty, entry_px;
} report_t;
static report_t reports[64];
static int nreports;

static void on_position(void *c, uint32_t session, uint32_t symbol, int64_t qty, int64_t entry_px)
{
    (void)c;
    pthread_mutex_lock(&mu);
    if (nreports < 64)
        reports[nreports++] = (report_t){session, symbol, qty, entry_px};
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_update(void *c, uint32_t symbol, const nx_ev_order_update_t *u)
{
    (void)c;
    pthread_mutex_lock(&mu);
    if (nups < MAXU) {
        up_symbol[nups] = symbol;
        ups[nups++] = *u;
    }
    if (getenv("BL_DEBUG"))
        fprintf(stderr, "UPD clid %llx st %d px %lld qty %lld fill %llu venue %llu\n",
                (unsigned long long)u->client_id, u->status, (long long)u->last_px,
                (long long)u->last_qty, (unsigned long long)u->fill_id,
                (unsigned long long)u->venue_id);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_notice(void *c, uint32_t session, uint8_t what, uint32_t symbol, int64_t value,
                      const char *text)
{
    (void)c, (void)symbol, (void)value;
    pthread_mutex_lock(&mu);
    if (nnotices < 16) {
        notice_what[nnotices] = what;
        notice_session[nnotices] = session;
        snprintf(notices[nnotices++], sizeof notices[0], "%s", text);
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_balance(void *c, uint32_t session, int64_t wallet_e8)
{
    (void)c;
    pthread_mutex_lock(&mu);
    if (session >= 1 && session <= 4)
        wallet_seen[session - 1] = wallet_e8;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_closed(void *c, const nx_trade_closed_t *t)
{
    (void)c;
    if (nclosed < 64)
        closed[nclosed++] = *t;
}

/* Wait until pred(arg) holds, up to ms; 1 if it did. pred runs with mu
 * held, after every update, notice or report. With an order manager, the
 * updates go to it here, on this thread (the engine thread), in the order
 * they came, before pred looks. */
typedef int (*pred_fn)(const void *arg);
static int wait_for(pred_fn pred, const void *arg, int ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000)
        dl.tv_sec++, dl.tv_nsec -= 1000000000;
    pthread_mutex_lock(&mu);
    int ok = 0, timed_out = 0;
    for (;;) {
        while (oms && fed < nups) {
            nx_ev_order_update_t u = ups[fed];
            uint32_t y = up_symbol[fed++];
            pthread_mutex_unlock(&mu);
            nx_oms_on_update(oms, y, &u);
            pthread_mutex_lock(&mu);
        }
        if ((ok = pred(arg)) || timed_out)
            break;
        timed_out = pthread_cond_timedwait(&cv, &mu, &dl) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&mu);
    return ok;
}

typedef struct want_report {
    uint32_t session;
    int64_t qty;
} want_report_t;

static int has_report(const void *arg)
{
    const want_report_t *w = arg;
    for (int i = 0; i < nreports; i++)
        if (reports[i].session == w->session && reports[i].qty == w->qty)
            return 1;
    return 0;
}

/* a position report of the session with this qty, waiting up to ms */
static int wait_report(uint32_t session, int64_t qty, int ms)
{
    want_report_t w = {session, qty};
    return wait_for(has_report, &w, ms);
}

typedef struct want_update {
    uint64_t clid, old_id;
    uint8_t status;
    int found;
} want_update_t;

static int has_update(const void *arg)
{
    want_update_t *w = (want_update_t *)arg;
    for (int i = 0; i < nups; i++)
        if (ups[i].client_id == w->clid && ups[i].status == w->status &&
            (!w->old_id || ups[i].venue_id != w->old_id)) {
            w->found = i;
            return 1;
        }
    return 0;
}

/* the index of the first update of clid with this status, waiting up to
 * ms; -1 if none came */
static int wait_update(uint64_t clid, uint8_t status, int ms)
{
    want_update_t w = {clid, 0, status, -1};
    return wait_for(has_update, &w, ms) ? w.found : -1;
}

/* an update of clid with this status under another venue id than old_id */
static inline int wait_update_renewed(uint64_t clid, uint8_t status, uint64_t old_id, int ms)
{
    want_update_t w = {clid, old_id, status, -1};
    return wait_for(has_update, &w, ms);
}

static inline int count_updates(uint64_t clid, uint8_t status)
{
    pthread_mutex_lock(&mu);
    int n = 0;
    for (int i = 0; i < nups; i++)
        n += ups[i].client_id == clid && ups[i].status == status;
    pthread_mutex_unlock(&mu);
    return n;
}

static int has_notice(const void *arg)
{
    for (int i = 0; i < nnotices; i++)
        if (strstr(notices[i], arg))
            return 1;
    return 0;
}

/* a notice containing text, waiting up to ms */
static int wait_notice(const char *text, int ms)
{
    return wait_for(has_notice, text, ms);
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
    int accounts;            /* 0 = two */
    uint32_t weight_1m;      /* the venue's request weight per minute, 0 = its default */
    const char *margin_type; /* the adapter's option */
    int with_oms;            /* an order manager on the bridge, sessions 1..accounts */
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
    if (su->weight_1m)
        so.weight_1m = su->weight_1m;
    assert_int_equal(nx_vsim_create(&sim, &so), 0);
    naccounts = su->accounts ? su->accounts : 2;
    for (int i = 0; i < naccounts; i++)
        assert_int_equal(nx_vsim_add_account(sim, KEY[i], SECRET[i], 100000000000LL), 0);
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
    char rest[64], api[64], stream[64];
    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", port);
    snprintf(api, sizeof api, "ws://127.0.0.1:%d/ws-fapi/v1", port);
    snprintf(stream, sizeof stream, "ws://127.0.0.1:%d", port);
    nx_bnlive_opts_t o;
    memset(&o, 0, sizeof o);
    o.symtab = &symtab;
    o.filters = filters;
    o.ctx = ctx;
    o.rest_url = rest;
    o.ws_api_url = su->rest_only ? NULL : api;
    o.stream_url = stream;
    o.answer_timeout_ms = su->answer_timeout_ms;
    o.recv_window_ms = su->recv_window_ms;
    o.orders_10s = su->orders_10s;
    o.weight_1m = su->weight_1m;
    o.margin_type = su->margin_type;
    o.on_update = on_update;
    o.on_notice = on_notice;
    o.on_position = on_position;
    o.on_balance = on_balance;
    bl = nx_bnlive_create(&o);
    assert_non_null(bl);
    for (int i = 0; i < naccounts; i++)
        assert_int_equal(
            nx_bnlive_add_account(bl, (uint32_t)i + 1, KEY[i], SECRET[i], strlen(SECRET[i])), 0);
    assert_int_equal(nx_bnlive_add_account(bl, 2, KEY_B, SECRET[1], 3), NX_EEXIST);
    nups = fed = nnotices = nreports = nclosed = 0;
    for (int i = 0; i < 4; i++)
        wallet_seen[i] = -1;
    oms = NULL;
    if (su->with_oms) {
        nx_oms_opts_t mo;
        memset(&mo, 0, sizeof mo);
        mo.symtab = &symtab;
        mo.bridge = nx_bnlive_bridge(bl);
        mo.maint_margin_bp = 40;
        mo.on_closed = on_closed;
        oms = nx_oms_create(&mo);
        assert_non_null(oms);
        for (int i = 0; i < naccounts; i++) /* 1000.00 USDT, as the venue's wallet */
            assert_int_equal(nx_oms_add_session(oms, (uint32_t)i + 1, 100000), 0);
    }
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
    if (oms)
        nx_oms_destroy(oms);
    oms = NULL;
}

static int teardown(void **state)
{
    (void)state;
    stop();
    return 0;
}

/* A trade on the venue's market (and the order manager's last price). */
static void trade(int64_t price)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.symbol = BTC;
    ev.u.trade.price = price;
    ev.u.trade.qty = 1000;
    nx_vsim_on_market(sim, &ev);
    if (oms)
        nx_oms_on_price(oms, BTC, price, 0, 0, nx__clock_ns(CLOCK_REALTIME));
}

/* the adapter's streams are up: each account's first position report
 * comes once its stream has connected and its orders are settled */
static void wait_streams(void)
{
    for (int i = 0; i < naccounts; i++)
        assert_true(wait_report((uint32_t)i + 1, 0, 10000));
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

static void fault(const char *kind, int n, int ms)
{
    char why[200];
    assert_int_equal(nx_vsim_fault(sim, kind, n, ms, 0, why, sizeof why), 0);
}

#endif /* NX_TEST_LIVE_FIXTURE_H */
