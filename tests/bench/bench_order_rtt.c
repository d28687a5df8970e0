/*
 * bench_order_rtt — order sent to acknowledgement received, on loopback
 * against the venue simulator (effectors/sim), through the live Binance
 * adapter as the engine uses it: the bridge call on this thread (the
 * engine's), the adapter's network thread signing and sending, the
 * simulator's thread checking key, signature, timestamp, filters and
 * quotas and answering, the answer parsed and delivered as an ACKED
 * update. Over the WebSocket API and over REST (a new connection per
 * request, as the adapter's REST path works), in the same run; one order
 * at a time, each cancelled (untimed) before the next.
 *
 *   bench_order_rtt [ORDERS]     (default 2000 per path)
 *
 * Last line: {"bench":"order_rtt","ws_p50_ns":..,"ws_p99_ns":..,
 * "rest_p50_ns":..,"rest_p99_ns":..,"ratio":rest_p50/ws_p50}
 */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nx/binance_filters.h"
#include "nx/binance_live.h"
#include "nx/clock.h"
#include "nx/venuesim.h"

#define KEY    "benchKEYbenchKEYbenchKEYbenchKEYbenchKEYbenchKEYbenchKEYbenchKEY"
#define SECRET "bench-secret-loopback-only-000000000000000000000000000000000000"

static nx_symtab_t symtab;
static uint32_t BTC;
static nx_vsim_t *sim;
static struct lws_context *ctx;
static nx_bnlive_t *bl;
static atomic_int stop_net;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t want_clid;
static uint8_t want_status;
static int64_t got_ns;

static void on_update(void *c, uint32_t symbol, const nx_ev_order_update_t *u)
{
    (void)c, (void)symbol;
    int64_t t = nx_mono_ns();
    pthread_mutex_lock(&mu);
    if (u->client_id == want_clid && u->status == want_status && !got_ns) {
        got_ns = t;
        pthread_cond_signal(&cv);
    }
    pthread_mutex_unlock(&mu);
}

static void *sim_main(void *a)
{
    nx_vsim_run(a);
    return NULL;
}

static void *net_main(void *a)
{
    (void)a;
    nx_bnlive_start(bl);
    while (!atomic_load(&stop_net))
        lws_service(ctx, 0);
    return NULL;
}

static int64_t await(uint64_t clid, uint8_t status)
{
    pthread_mutex_lock(&mu);
    while (!got_ns) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        if (pthread_cond_timedwait(&cv, &mu, &dl)) {
            fprintf(stderr, "no update %d for %llx\n", status, (unsigned long long)clid);
            exit(1);
        }
    }
    int64_t t = got_ns;
    pthread_mutex_unlock(&mu);
    return t;
}

static void expect(uint64_t clid, uint8_t status)
{
    pthread_mutex_lock(&mu);
    want_clid = clid;
    want_status = status;
    got_ns = 0;
    pthread_mutex_unlock(&mu);
}

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* n orders over one path; the round trips, sorted, into rtt */
static void run(int rest_only, int n, int64_t *rtt, uint32_t session)
{
    int port = nx_vsim_port(sim);
    char rest[64], api[64], stream[64];
    snprintf(rest, sizeof rest, "http://127.0.0.1:%d", port);
    snprintf(api, sizeof api, "ws://127.0.0.1:%d/ws-fapi/v1", port);
    snprintf(stream, sizeof stream, "ws://127.0.0.1:%d", port);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    ctx = lws_create_context(&info);
    nx_bnlive_opts_t o;
    memset(&o, 0, sizeof o);
    o.symtab = &symtab;
    o.ctx = ctx;
    o.rest_url = rest;
    o.ws_api_url = rest_only ? NULL : api;
    o.stream_url = stream;
    o.orders_10s = o.orders_1m = 100000000;
    o.weight_1m = 100000000;
    o.on_update = on_update;
    bl = nx_bnlive_create(&o);
    nx_bnlive_add_account(bl, session, KEY, SECRET, strlen(SECRET));
    atomic_store(&stop_net, 0);
    pthread_t th;
    pthread_create(&th, NULL, net_main, NULL);
    nx_bridge_t *br = nx_bnlive_bridge(bl);
    int warm = n / 10 + 20;
    for (int i = 0; i < warm + n; i++) {
        nx_ev_order_intent_t in;
        memset(&in, 0, sizeof in);
        in.client_id = nx_clid_make(session, (uint64_t)i + 1);
        in.session = session;
        in.side = NX_SIDE_BUY;
        in.order_type = NX_ORD_LIMIT;
        in.price = 5000000; /* 50000.00: rests below the market */
        in.qty = 10;
        expect(in.client_id, NX_OS_ACKED);
        int64_t t0 = nx_mono_ns();
        if (br->ops->place(br, &in, BTC)) {
            fprintf(stderr, "place refused\n");
            exit(1);
        }
        int64_t t1 = await(in.client_id, NX_OS_ACKED);
        if (i >= warm)
            rtt[i - warm] = t1 - t0;
        expect(in.client_id, NX_OS_CANCELLED);
        br->ops->cancel(br, in.client_id, BTC);
        await(in.client_id, NX_OS_CANCELLED);
    }
    atomic_store(&stop_net, 1);
    lws_cancel_service(ctx);
    pthread_join(th, NULL);
    lws_context_destroy(ctx);
    nx_bnlive_destroy(bl);
    qsort(rtt, (size_t)n, sizeof *rtt, cmp);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    if (n < 100)
        n = 100;
    nx_symtab_init(&symtab);
    BTC = (uint32_t)nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 10000,
                                  NULL);
    lws_set_log_level(0, NULL);
    nx_vsim_opts_t so;
    nx_vsim_opts_default(&so);
    so.symtab = &symtab;
    so.quiet = 1;
    so.weight_1m = so.orders_10s = so.orders_1m = 100000000;
    if (nx_vsim_create(&sim, &so) || nx_vsim_add_account(sim, KEY, SECRET, 100000000000LL))
        return 1;
    pthread_t st;
    pthread_create(&st, NULL, sim_main, sim);
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.symbol = BTC;
    ev.u.trade.price = 6000000;
    ev.u.trade.qty = 1000;
    nx_vsim_on_market(sim, &ev);
    int64_t *ws = calloc((size_t)n, sizeof *ws), *rs = calloc((size_t)n, sizeof *rs);
    run(0, n, ws, 1);
    run(1, n, rs, 1);
    nx_vsim_stop(sim);
    pthread_join(st, NULL);
    nx_vsim_stats_t vs;
    nx_vsim_stats(sim, &vs);
    nx_vsim_destroy(sim);
    double w50 = (double)ws[n / 2], w99 = (double)ws[n * 99 / 100], r50 = (double)rs[n / 2],
           r99 = (double)rs[n * 99 / 100];
    printf("bench_order_rtt: %d orders per path (plus warm-up), one at a time, loopback; "
           "venue counted %llu orders, %llu signature failures\n",
           n, (unsigned long long)vs.orders, (unsigned long long)vs.bad_signature);
    printf("WebSocket API: p50 %.1f us, p99 %.1f us\n", w50 / 1e3, w99 / 1e3);
    printf("REST (new connection each): p50 %.1f us, p99 %.1f us\n", r50 / 1e3, r99 / 1e3);
    printf("{\"bench\":\"order_rtt\",\"ws_p50_ns\":%.0f,\"ws_p99_ns\":%.0f,\"rest_p50_ns\":%.0f,"
           "\"rest_p99_ns\":%.0f,\"ratio\":%.2f}\n",
           w50, w99, r50, r99, r50 / w50);
    free(ws);
    free(rs);
    return 0;
}
