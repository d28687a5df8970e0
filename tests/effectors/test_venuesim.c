/*
 * test_venuesim — the venue simulator as a client sees it: real sockets on
 * loopback, requests signed as Binance documents (the signer is checked
 * against Binance's official vector in test_orders), the user-data stream
 * read and decoded frame by frame. Expected money is worked by hand in
 * the comments (BTCUSDT at price scale 2, qty scale 3, taker fee 4 bp).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "nx/binance.h"
#include "nx/binance_user.h"
#include "nx/error.h"
#include "nx/hmac.h"
#include "nx/venuesim.h"
#include "wire.h"

#define KEY_A    "simkeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define SECRET_A "secretA-not-a-real-secret-used-only-on-loopback-0000000000000000000"
#define KEY_B    "simkeyBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define SECRET_B "secretB-not-a-real-secret-used-only-on-loopback-1111111111111111111"

static nx_symtab_t symtab;
static uint32_t BTC;
static nx_vsim_t *sim;
static pthread_t th;
static int port;
static nx_hmac_key_t *key_a, *key_b;

static void *serve(void *arg)
{
    nx_vsim_run(arg);
    return NULL;
}

static void start(uint32_t weight_1m, uint32_t orders_10s)
{
    nx_symtab_init(&symtab);
    /* tick 0.10, lot 0.001, minimum notional 100.00 */
    BTC = (uint32_t)nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 10000,
                                  NULL);
    nx_vsim_opts_t o;
    nx_vsim_opts_default(&o);
    o.symtab = &symtab;
    o.quiet = 1;
    o.weight_1m = weight_1m;
    o.orders_10s = orders_10s;
    assert_int_equal(nx_vsim_create(&sim, &o), 0);
    /* 1000 USDT each */
    assert_int_equal(nx_vsim_add_account(sim, KEY_A, SECRET_A, 100000000000LL), 0);
    assert_int_equal(nx_vsim_add_account(sim, KEY_B, SECRET_B, 100000000000LL), 0);
    assert_int_equal(nx_vsim_add_account(sim, KEY_A, SECRET_A, 1), NX_EEXIST);
    port = nx_vsim_port(sim);
    assert_true(port > 0);
    pthread_create(&th, NULL, serve, sim);
    nx_hmac_key_create(&key_a, SECRET_A, strlen(SECRET_A));
    nx_hmac_key_create(&key_b, SECRET_B, strlen(SECRET_B));
}

static void stop(void)
{
    nx_vsim_stop(sim);
    pthread_join(th, NULL);
    nx_vsim_destroy(sim);
    nx_hmac_key_free(key_a);
    nx_hmac_key_free(key_b);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* A signed REST request: params (without timestamp) + timestamp, signed. */
static int rest(const char *method, const char *path, const char *params, const char *api_key,
                nx_hmac_key_t *k, int64_t ts, int timeout_ms, wire_resp_t *r)
{
    char q[2048];
    int n = snprintf(q, sizeof q, "%s%stimestamp=%lld", params, *params ? "&" : "",
                     (long long)(ts ? ts : now_ms()));
    n = nx_binance_sign(q, (size_t)n, sizeof q, k);
    assert_true(n > 0);
    if (!strcmp(method, "POST"))
        return wire_http(port, method, path, q, api_key, timeout_ms, r);
    char target[2300];
    snprintf(target, sizeof target, "%s?%s", path, q);
    return wire_http(port, method, target, NULL, api_key, timeout_ms, r);
}

static int code_of(const wire_resp_t *r)
{
    const char *c = strstr(r->body, "\"code\":");
    return c ? atoi(c + 7) : 0;
}

static void done(wire_resp_t *r)
{
    free(r->body);
    r->body = NULL;
}

/* The next user-data frame, decoded; fails the test after 5 s. */
static char *next_event(int fd, nx_bnu_msg_t *m)
{
    char *f = wire_ws_recv(fd, 5000, NULL);
    if (getenv("VS_DEBUG")) fprintf(stderr, "EV %s\n", f ? f : "(none)");
    assert_non_null(f);
    memset(m, 0, sizeof *m);
    int rc = nx_bnu_frame_decode(f, strlen(f), &symtab, m);
    if (rc)
        fprintf(stderr, "undecodable (%s %s): %s\n", m->err.key, m->err.what, f);
    assert_int_equal(rc, 0);
    return f;
}

static int open_stream(const char *api_key)
{
    wire_resp_t r;
    assert_int_equal(wire_http(port, "POST", "/fapi/v1/listenKey", "", api_key, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    char *k = strstr(r.body, "\"listenKey\":\"");
    assert_non_null(k);
    char path[128];
    snprintf(path, sizeof path, "/ws/%.64s", k + 13);
    done(&r);
    int fd = wire_ws_open(port, path);
    assert_true(fd >= 0);
    return fd;
}

/* Who may ask, and how a request must be signed and timed. */
static void test_authentication(void **state)
{
    (void)state;
    start(0, 0);
    wire_resp_t r;
    assert_int_equal(wire_http(port, "GET", "/fapi/v1/time", NULL, NULL, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    long long st = atoll(strstr(r.body, "\"serverTime\":") + 13);
    assert_true(llabs(st - now_ms()) < 5000);
    done(&r);
    /* no key, an unknown key */
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", NULL, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 401);
    assert_int_equal(code_of(&r), -2014);
    done(&r);
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", "nosuchkey", key_a, 0,
                          5000, &r),
                     0);
    assert_int_equal(code_of(&r), -2015);
    done(&r);
    /* A's key signed with B's secret */
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_b, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 400);
    assert_int_equal(code_of(&r), -1022);
    done(&r);
    /* 10 s old with the default 5 s window; 2 s ahead of the venue */
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a,
                          now_ms() - 10000, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -1021);
    done(&r);
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a,
                          now_ms() + 2000, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -1021);
    done(&r);
    /* ... but 10 s old inside a 15 s window is fine */
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT&recvWindow=15000", KEY_A,
                          key_a, now_ms() - 10000, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "[]");
    assert_non_null(wire_header(&r, "X-MBX-USED-WEIGHT-1M"));
    done(&r);
    /* a signature that is not hex, a tampered parameter */
    char target[512];
    snprintf(target, sizeof target, "/fapi/v1/openOrders?symbol=BTCUSDT&timestamp=%lld&signature=zz",
             (long long)now_ms());
    assert_int_equal(wire_http(port, "GET", target, NULL, KEY_A, 5000, &r), 0);
    assert_int_equal(code_of(&r), -1022);
    done(&r);
    /* a request with an empty body runs once (libwebsockets also reports
     * the end of its body: that ran listenKey twice) */
    nx_vsim_stats_t s, s2;
    nx_vsim_stats(sim, &s);
    assert_int_equal(wire_http(port, "POST", "/fapi/v1/listenKey", "", KEY_A, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(wire_http(port, "GET", "/fapi/v1/time", NULL, NULL, 5000, &r), 0);
    done(&r); /* answered after the one before was wholly handled */
    nx_vsim_stats(sim, &s2);
    assert_int_equal(s2.requests, s.requests + 2);
    assert_int_equal(s.bad_key, 2);
    assert_int_equal(s.bad_signature, 2);
    assert_int_equal(s.bad_timestamp, 2);
    stop();
}

/* An entry at market, a stop-loss on the whole position at the mark, the
 * stop fires: every event, and the money to the unit. */
static void test_round_trip_money(void **state)
{
    (void)state;
    start(0, 0);
    int fd = open_stream(KEY_A);
    trade(6000000); /* 60000.00 */
    wire_resp_t r;
    assert_int_equal(rest("POST", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&"
                          "newClientOrderId=nx-1000000001",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"NEW\""));
    assert_non_null(strstr(r.body, "\"clientOrderId\":\"nx-1000000001\""));
    assert_string_equal(wire_header(&r, "X-MBX-ORDER-COUNT-10S"), "1");
    done(&r);
    nx_bnu_msg_t m;
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ORDER);
    assert_int_equal(m.u.order.exec, NX_BNU_X_NEW);
    assert_int_equal(nx_binance_clid_parse(m.u.order.client_id, strlen(m.u.order.client_id)),
                     0x1000000001ULL);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_TRADE_LITE);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ORDER);
    assert_int_equal(m.u.order.exec, NX_BNU_X_TRADE);
    assert_int_equal(m.u.order.status, NX_BNU_S_FILLED);
    assert_int_equal(m.u.order.last_price, 6000000);
    assert_int_equal(m.u.order.last_qty, 10);
    /* fee: 60000.00 x 0.010 = 600.00 notional x 4 bp = 0.24 USDT */
    assert_int_equal(m.u.order.fee, 24000000);
    assert_true(m.u.order.trade_id > 0);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ACCOUNT);
    assert_int_equal(m.u.account.positions[0].amount, 10);
    assert_int_equal(m.u.account.positions[0].entry_price, 6000000);
    assert_int_equal(m.u.account.balances[0].wallet, 100000000000LL - 24000000); /* 999.76 */
    /* a take-profit below the market would fire at once */
    assert_int_equal(rest("POST", "/fapi/v1/algoOrder",
                          "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=TAKE_PROFIT_MARKET&"
                          "triggerPrice=59500&closePosition=true&workingType=MARK_PRICE",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -2021);
    done(&r);
    /* the stop: the engine's own request bytes */
    char body[1024];
    nx_binance_req_t rq = {"BTCUSDT", 2, 3, now_ms(), 5000, key_a, KEY_A};
    nx_binance_algo_t a = {0x1000000002ULL, NX_SIDE_SELL, NX_ORD_STOP_MARKET, 5900000, 0, 0, 0};
    assert_true(nx_binance_algo_request(body, sizeof body, &rq, &a) > 0);
    assert_int_equal(wire_http(port, "POST", "/fapi/v1/algoOrder", body, KEY_A, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"algoStatus\":\"NEW\""));
    assert_non_null(strstr(r.body, "\"clientAlgoId\":\"nx-1000000002\""));
    done(&r);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ALGO);
    assert_int_equal(m.u.algo.status, NX_BNU_AS_NEW);
    assert_int_equal(m.u.algo.trigger_price, 5900000);
    assert_int_equal(m.u.algo.close_position, 1);
    trade(5950000); /* above the trigger: nothing */
    trade(5890000); /* 58900.00: through it */
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ALGO);
    assert_int_equal(m.u.algo.status, NX_BNU_AS_TRIGGERED);
    uint64_t real = m.u.algo.order_id;
    assert_true(real > 0);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ORDER);
    assert_int_equal(m.u.order.exec, NX_BNU_X_NEW);
    assert_int_equal(m.u.order.orig_type, NX_BNU_OT_STOP_MARKET);
    assert_int_equal(m.u.order.order_id, real);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_TRADE_LITE);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ORDER);
    assert_int_equal(m.u.order.status, NX_BNU_S_FILLED);
    assert_int_equal(m.u.order.last_price, 5890000);
    /* (58900 - 60000) x 0.010 = -11.00; fee 589.00 x 4 bp = 0.2356 */
    assert_int_equal(m.u.order.realized_pnl, -1100000000LL);
    assert_int_equal(m.u.order.fee, 23560000);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ACCOUNT);
    assert_int_equal(m.u.account.positions[0].amount, 0);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ALGO);
    assert_int_equal(m.u.algo.status, NX_BNU_AS_FINISHED);
    /* the venue's record: 1000 - 0.24 - 11 - 0.2356 = 988.5244 */
    nx_vsim_position_t p;
    assert_int_equal(nx_vsim_position(sim, KEY_A, BTC, &p), 0);
    assert_int_equal(p.qty, 0);
    assert_int_equal(p.realized, -1100000000LL);
    assert_int_equal(p.fees, 47560000);
    assert_int_equal(p.open_algos, 0);
    int64_t w;
    assert_int_equal(nx_vsim_wallet(sim, KEY_A, &w), 0);
    assert_int_equal(w, 98852440000LL);
    /* the fills as userTrades lists them, with their commissions */
    assert_int_equal(rest("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"price\":\"60000.00\",\"qty\":\"0.010\",\"realizedPnl\":"
                                   "\"0.00000000\",\"commission\":\"0.24000000\""));
    assert_non_null(strstr(r.body, "\"price\":\"58900.00\",\"qty\":\"0.010\",\"realizedPnl\":"
                                   "\"-11.00000000\",\"commission\":\"0.23560000\""));
    done(&r);
    /* B's account did not move */
    assert_int_equal(nx_vsim_wallet(sim, KEY_B, &w), 0);
    assert_int_equal(w, 100000000000LL);
    close(fd);
    stop();
}

/* The venue's refusals, each with its documented code. */
static void test_refusals(void **state)
{
    (void)state;
    start(0, 0);
    trade(6000000);
    static const struct {
        const char *path, *params;
        int code;
    } cases[] = {
        /* 60000.05 is off the 0.10 tick */
        {"/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&"
                           "price=60000.05", -4014},
        /* a fourth decimal on a 3-decimal quantity */
        {"/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.0105", -1111},
        /* 0.001 x 60000 = 60.00 < the 100.00 minimum */
        {"/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001", -4164},
        {"/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.010&"
                           "stopPrice=59000", -4120},
        {"/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010&reduceOnly=true",
         -2022},
        {"/fapi/v1/order", "symbol=ETHUSDT&side=BUY&type=MARKET&quantity=0.010", -1121},
        {"/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET", -1102},
        {"/fapi/v1/order", "symbol=BTCUSDT&side=UP&type=MARKET&quantity=1", -1117},
        /* 2 BTC = 120,000 USDT at 20x needs 6,000 of margin; the wallet has 1,000 */
        {"/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=2", -2019},
        {"/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&"
                           "newClientOrderId=has%20space", -1100},
    };
    wire_resp_t r;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rest("POST", cases[i].path, cases[i].params, KEY_A, key_a, 0, 5000, &r), 0);
        if (code_of(&r) != cases[i].code)
            fprintf(stderr, "case %zu: %s\n", i, r.body);
        assert_int_equal(code_of(&r), cases[i].code);
        assert_int_equal(r.status, 400);
        done(&r);
    }
    /* a resting limit, then the same client id again */
    const char *lim = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&"
                      "price=59000&newClientOrderId=nx-77";
    assert_int_equal(rest("POST", "/fapi/v1/order", lim, KEY_A, key_a, 0, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(rest("POST", "/fapi/v1/order", lim, KEY_A, key_a, 0, 5000, &r), 0);
    assert_int_equal(code_of(&r), -4116);
    done(&r);
    /* modify (PUT /fapi/v1/order): the venue's refusals, then a new price */
    static const struct {
        int b; /* account B's key */
        const char *params;
        int code;
    } mods[] = {
        {0, "symbol=BTCUSDT&side=BUY&quantity=0.010&price=59000&origClientOrderId=nx-77", -5027},
        {0, "symbol=BTCUSDT&side=SELL&quantity=0.010&price=59500&origClientOrderId=nx-77", -1102},
        {1, "symbol=BTCUSDT&side=BUY&quantity=0.010&price=59500&origClientOrderId=nx-77", -2013},
        {0, "symbol=BTCUSDT&side=BUY&quantity=0.010&price=59500.05&origClientOrderId=nx-77",
         -4014},
    };
    for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++) {
        assert_int_equal(rest("PUT", "/fapi/v1/order", mods[i].params, mods[i].b ? KEY_B : KEY_A,
                              mods[i].b ? key_b : key_a, 0, 5000, &r),
                         0);
        if (code_of(&r) != mods[i].code)
            fprintf(stderr, "modify case %zu: %s\n", i, r.body);
        assert_int_equal(code_of(&r), mods[i].code);
        done(&r);
    }
    assert_int_equal(rest("PUT", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&quantity=0.020&price=59500&"
                          "origClientOrderId=nx-77",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"price\":\"59500.00\""));
    assert_non_null(strstr(r.body, "\"origQty\":\"0.020\""));
    done(&r);
    /* the margin type cannot change while an order rests */
    assert_int_equal(rest("POST", "/fapi/v1/marginType", "symbol=BTCUSDT&marginType=ISOLATED",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -4047);
    done(&r);
    assert_int_equal(rest("POST", "/fapi/v1/marginType", "symbol=BTCUSDT&marginType=CROSSED",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -4046); /* cross is the default */
    done(&r);
    /* B cannot see or cancel A's order */
    assert_int_equal(rest("DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nx-77",
                          KEY_B, key_b, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -2011);
    done(&r);
    assert_int_equal(rest("GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nx-77", KEY_B,
                          key_b, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -2013);
    done(&r);
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_non_null(strstr(r.body, "\"clientOrderId\":\"nx-77\""));
    done(&r);
    assert_int_equal(rest("DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nx-77",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"CANCELED\""));
    done(&r);
    assert_int_equal(rest("DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nx-77",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -2011); /* already cancelled */
    done(&r);
    stop();
}

/* The WebSocket API: the engine's own order.place frame, its answer with
 * the rate limits, a tampered one refused, a cancel. */
static void test_ws_api(void **state)
{
    (void)state;
    start(0, 0);
    trade(6000000);
    int fd = wire_ws_open(port, "/ws-fapi/v1");
    assert_true(fd >= 0);
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.side = NX_SIDE_BUY;
    in.order_type = NX_ORD_LIMIT;
    in.qty = 10;
    in.price = 5900000;
    in.client_id = 0x2000000001ULL;
    nx_binance_req_t rq = {"BTCUSDT", 2, 3, now_ms(), 5000, key_a, KEY_A};
    char frame[1024];
    assert_true(nx_binance_ws_order_place(frame, sizeof frame, &rq, 41, &in) > 0);
    assert_int_equal(wire_ws_send(fd, frame), 0);
    char *ans = wire_ws_recv(fd, 5000, NULL);
    assert_non_null(ans);
    assert_non_null(strstr(ans, "\"id\":41,\"status\":200,\"result\":{"));
    assert_non_null(strstr(ans, "\"clientOrderId\":\"nx-2000000001\""));
    assert_non_null(strstr(ans, "\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\","
                                "\"intervalNum\":10,\"limit\":300,\"count\":1"));
    free(ans);
    /* the same frame with one digit of the price changed */
    char *p = strstr(frame, "\"price\":\"59000\"");
    assert_non_null(p);
    p[10] = '1';
    assert_int_equal(wire_ws_send(fd, frame), 0);
    ans = wire_ws_recv(fd, 5000, NULL);
    assert_non_null(strstr(ans, "\"status\":400,\"error\":{\"code\":-1022"));
    free(ans);
    rq.timestamp_ms = now_ms();
    assert_true(nx_binance_ws_cancel(frame, sizeof frame, &rq, 42, in.client_id, 0) > 0);
    assert_int_equal(wire_ws_send(fd, frame), 0);
    ans = wire_ws_recv(fd, 5000, NULL);
    assert_non_null(strstr(ans, "\"id\":42,\"status\":200"));
    assert_non_null(strstr(ans, "\"status\":\"CANCELED\""));
    free(ans);
    close(fd);
    stop();
}

/* Past the request weight: 429 with Retry-After, and 418 for the client
 * that keeps going; past the orders per 10 s: 429 -1015. */
static void test_quotas(void **state)
{
    (void)state;
    start(10, 3); /* 10 weight a minute, 3 orders per 10 s */
    wire_resp_t r;
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000,
                              &r),
                         0);
        assert_int_equal(r.status, 200);
        assert_int_equal(atoi(wire_header(&r, "X-MBX-USED-WEIGHT-1M")), i);
        done(&r);
    }
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 429);
    assert_int_equal(code_of(&r), -1003);
    assert_true(atoi(wire_header(&r, "Retry-After")) >= 1);
    done(&r);
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 418);
    done(&r);
    nx_vsim_stats_t s;
    nx_vsim_stats(sim, &s);
    assert_int_equal(s.http429, 1);
    assert_int_equal(s.http418, 1);
    assert_int_equal(s.max_weight_pct, 100);
    stop();

    start(0, 3);
    trade(6000000);
    for (int i = 1; i <= 4; i++) {
        char params[256];
        snprintf(params, sizeof params,
                 "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=5%d000",
                 i);
        assert_int_equal(rest("POST", "/fapi/v1/order", params, KEY_A, key_a, 0, 5000, &r), 0);
        if (i <= 3) {
            assert_int_equal(r.status, 200);
            assert_int_equal(atoi(wire_header(&r, "X-MBX-ORDER-COUNT-10S")), i);
        } else {
            assert_int_equal(r.status, 429);
            assert_int_equal(code_of(&r), -1015);
        }
        done(&r);
    }
    /* the order count is per account: B still may */
    assert_int_equal(rest("POST", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&"
                          "price=55000",
                          KEY_B, key_b, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    done(&r);
    stop();
}

static void fault(const char *kind, int n, int ms)
{
    char target[128];
    snprintf(target, sizeof target, "/_sim/fault?kind=%s&n=%d&ms=%d", kind, n, ms);
    wire_resp_t r;
    assert_int_equal(wire_http(port, "GET", target, NULL, NULL, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    done(&r);
}

/* Lost answers: "unknown" executes and answers 503, "timeout" neither
 * executes nor answers; a query tells them apart, which is how a client
 * must resolve either. */
static void test_lost_answers(void **state)
{
    (void)state;
    start(0, 0);
    trade(6000000);
    wire_resp_t r;
    fault("unknown", 1, 0);
    assert_int_equal(rest("POST", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&newClientOrderId=u1",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 503);
    done(&r);
    assert_int_equal(rest("GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=u1", KEY_A,
                          key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"status\":\"FILLED\""));
    done(&r);
    fault("timeout", 1, 0);
    assert_int_equal(rest("POST", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&newClientOrderId=t1",
                          KEY_A, key_a, 0, 300, &r),
                     -1); /* nothing came back */
    /* the server answers in order, so this answer comes after it had the
     * lost request in hand */
    assert_int_equal(rest("GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=t1", KEY_A,
                          key_a, 0, 5000, &r),
                     0);
    assert_int_equal(code_of(&r), -2013);
    done(&r);
    /* slow: the answer comes, late */
    fault("slow", 1, 300);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000, &r),
                     0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_int_equal(r.status, 200);
    assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 300);
    done(&r);
    /* http429 on command: Retry-After in whole seconds */
    fault("http429", 1, 2000);
    assert_int_equal(rest("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 429);
    assert_string_equal(wire_header(&r, "Retry-After"), "2");
    done(&r);
    stop();
}

/* Stream faults: duplicates, out of order, partial fills, a stop the
 * venue cancels, a liquidation, the stream dropped, the key expired. */
static void test_stream_faults(void **state)
{
    (void)state;
    start(0, 0);
    int fd = open_stream(KEY_A);
    trade(6000000);
    wire_resp_t r;
    nx_bnu_msg_t m;
    /* partial: one order, two fills, 0.005 + 0.005 */
    fault("partial", 1, 0);
    assert_int_equal(rest("POST", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", KEY_A, key_a, 0,
                          5000, &r),
                     0);
    done(&r);
    int fills = 0;
    int64_t sum = 0;
    while (fills < 2) {
        free(next_event(fd, &m));
        if (m.kind == NX_BNU_ORDER && m.u.order.exec == NX_BNU_X_TRADE) {
            sum += m.u.order.last_qty;
            assert_int_equal(m.u.order.status,
                             ++fills == 1 ? NX_BNU_S_PARTIALLY_FILLED : NX_BNU_S_FILLED);
            assert_int_equal(m.u.order.cum_qty, sum);
        }
    }
    assert_int_equal(sum, 10);
    free(next_event(fd, &m)); /* the last ACCOUNT_UPDATE */
    assert_int_equal(m.kind, NX_BNU_ACCOUNT);
    /* duplicate: the stop's NEW twice */
    fault("duplicate", 1, 0);
    assert_int_equal(rest("POST", "/fapi/v1/algoOrder",
                          "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&"
                          "triggerPrice=50000&closePosition=true&clientAlgoId=sl1",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    done(&r);
    char *e1 = next_event(fd, &m), *e2 = next_event(fd, &m);
    assert_string_equal(e1, e2);
    assert_int_equal(m.kind, NX_BNU_ALGO);
    free(e1);
    free(e2);
    /* the venue cancels the resting stop */
    fault("cancel_stop", 1, 0);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ALGO);
    assert_int_equal(m.u.algo.status, NX_BNU_AS_CANCELED);
    assert_true(strlen(m.u.algo.fail_reason) > 0);
    /* reorder: the leverage answer makes no event; a cancel-all of nothing
     * neither; an order's NEW and its fill come the other way round */
    fault("reorder", 1, 0);
    assert_int_equal(rest("POST", "/fapi/v1/order",
                          "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", KEY_A, key_a, 0,
                          5000, &r),
                     0);
    done(&r);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_TRADE_LITE); /* came before the held NEW */
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ORDER);
    assert_int_equal(m.u.order.exec, NX_BNU_X_NEW);
    free(next_event(fd, &m));
    assert_int_equal(m.u.order.exec, NX_BNU_X_TRADE);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_ACCOUNT);
    assert_int_equal(m.u.account.positions[0].amount, 20);
    /* liquidation: the venue closes the position as "autoclose-…" */
    fault("liquidate", 1, 0);
    for (;;) {
        free(next_event(fd, &m));
        if (m.kind == NX_BNU_ORDER && m.u.order.exec == NX_BNU_X_CALCULATED)
            break;
    }
    assert_true(m.u.order.flags & NX_BNU_F_LIQUIDATION);
    assert_int_equal(m.u.order.last_qty, 20);
    nx_vsim_position_t p;
    nx_vsim_position(sim, KEY_A, BTC, &p);
    assert_int_equal(p.qty, 0);
    /* the stream dropped: the socket closes */
    fault("drop_user", 1, 0);
    int closed = 0;
    char *f;
    while ((f = wire_ws_recv(fd, 5000, &closed)) != NULL)
        free(f);
    assert_true(closed);
    close(fd);
    /* the key expired: the event, then the close, then keep-alive fails */
    fd = open_stream(KEY_A);
    fault("expire_key", 1, 0);
    free(next_event(fd, &m));
    assert_int_equal(m.kind, NX_BNU_KEY_EXPIRED);
    while ((f = wire_ws_recv(fd, 5000, &closed)) != NULL)
        free(f);
    assert_true(closed);
    close(fd);
    assert_int_equal(wire_http(port, "PUT", "/fapi/v1/listenKey", "", KEY_A, 5000, &r), 0);
    assert_int_equal(code_of(&r), -1125);
    done(&r);
    stop();
}

/* A cancelled conditional order stays queryable when the next one takes a
 * slot (as on the venue); "purge" forgets it as the venue does days
 * later: "does not exist". */
static void test_finished_orders_stay_queryable(void **state)
{
    (void)state;
    start(0, 0);
    trade(6000000);
    wire_resp_t r;
    assert_int_equal(rest("POST", "/fapi/v1/algoOrder",
                          "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&"
                          "triggerPrice=50000&closePosition=true&clientAlgoId=a1",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(
        rest("DELETE", "/fapi/v1/algoOrder", "clientAlgoId=a1", KEY_A, key_a, 0, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(rest("POST", "/fapi/v1/algoOrder",
                          "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&"
                          "triggerPrice=51000&closePosition=true&clientAlgoId=a2",
                          KEY_A, key_a, 0, 5000, &r),
                     0);
    assert_int_equal(r.status, 200);
    done(&r);
    assert_int_equal(
        rest("GET", "/fapi/v1/algoOrder", "clientAlgoId=a1", KEY_A, key_a, 0, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"algoStatus\":\"CANCELED\""));
    done(&r);
    fault("purge", 1, 0);
    assert_int_equal(
        rest("GET", "/fapi/v1/algoOrder", "clientAlgoId=a1", KEY_A, key_a, 0, 5000, &r), 0);
    assert_int_equal(code_of(&r), -2013);
    done(&r);
    assert_int_equal(
        rest("GET", "/fapi/v1/algoOrder", "clientAlgoId=a2", KEY_A, key_a, 0, 5000, &r), 0);
    assert_non_null(strstr(r.body, "\"algoStatus\":\"NEW\""));
    done(&r);
    stop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authentication),
        cmocka_unit_test(test_round_trip_money),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_ws_api),
        cmocka_unit_test(test_quotas),
        cmocka_unit_test(test_lost_answers),
        cmocka_unit_test(test_stream_faults),
        cmocka_unit_test(test_finished_orders_stay_queryable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
