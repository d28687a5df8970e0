/*
 * bench_tick_to_order — from the bytes of a real Binance aggTrade frame to
 * a signed Binance order request, in one process, on one core:
 *
 *   frame bytes -> uplink decoder -> market ring slot -> bad-tick guard
 *   (tickguard.h, as the engine runs it) -> cortex (the trade
 *   reaches a strategy plugin loaded as a real .so, tests/cortex/plugins/
 *   ticker.c, which decides BUY on that tick) -> signal -> shield (sizing,
 *   limits, levels) -> order manager (client id, intent) -> venue bridge
 *   that serializes the WebSocket API's order.place frame and signs it
 *   (HMAC-SHA256 under the account's key, prepared once: nx/hmac.h).
 *
 * The bridge answers each order with a rejection so the next tick may
 * enter again (the cost of handling that update is included). One TSC pair
 * per tick; p50/p99/p99.9 over 10^6 ticks cycling the capture's 32 aggTrade
 * frames (each cycle renumbered as new trades a millisecond apart, so the
 * guard sees no repeat). shield_ns / guard_ns: the shield's decision and
 * the guard's judgement alone (p50). Reference in the
 * same run: decoding the same frames alone (ratio_vs_decode). The signing
 * alone is timed both ways on the same request: under the prepared key
 * (sign_ns) and with OpenSSL's one-shot HMAC(), which sets the key up on
 * every call (sign_oneshot_ns) — the cost the prepared key removes.
 *
 *   bench_tick_to_order [DATA_DIR]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/cortex.h"
#include "nx/decode.h"
#include "nx/binance.h"
#include "nx/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "nx/oms.h"
#include "nx/shield.h"
#include "nx/tickguard.h"
#include "tsc.h"

#define N 1000000

static char *frames[64];
static size_t flen[64];
static int nframes;

static nx_symtab_t symtab;
static nx_ring_t *ring;
static nx_decoder_t dec;
static nx_cortex_t *cx;
static nx_oms_t *oms;
static nx_risk_conf_t conf;
static nx_risk_state_t risk;
static double *shield_t, *guard_t;
static uint64_t n_shield, orders, bytes;
static char request[768];
static nx_hmac_key_t *key;
static nx_hmac_key_t *ws_key; /* the key with the request's first block absorbed */
static uint64_t req_id;
static uint64_t rejects[NX_REJ_COUNT];

/* Binance's documented example key pair (not an account) */
static const char secret[] = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
static const char api_key[] = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83";

/* the venue: serialize and sign, then refuse (so the next tick can enter) */
typedef struct bench_bridge {
    nx_bridge_t base;
} bench_bridge_t;

static int bb_place(nx_bridge_t *b, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    (void)b;
    const nx_symbol_t *s = nx_symtab_get(&symtab, symbol);
    nx_binance_req_t r = {s->name, s->price_scale, s->qty_scale, 1626992741575LL, 5000, key,
                          api_key, ws_key};
    int n = nx_binance_ws_order_place(request, sizeof request, &r, ++req_id, in);
    if (n > 0) {
        bytes += (uint64_t)n;
        orders++;
    }
    nx_ev_order_update_t u;
    memset(&u, 0, sizeof u);
    u.client_id = in->client_id;
    u.session = in->session;
    u.status = NX_OS_REJECTED;
    nx_oms_on_update(oms, symbol, &u);
    return 0;
}
static int bb_cancel(nx_bridge_t *b, uint64_t c, uint32_t s)
{
    (void)b, (void)c, (void)s;
    return 0;
}
static int bb_cancel_all(nx_bridge_t *b, uint32_t se, uint32_t s)
{
    (void)b, (void)se, (void)s;
    return 0;
}
static int bb_amend(nx_bridge_t *b, uint64_t c, int64_t p, int64_t q)
{
    (void)b, (void)c, (void)p, (void)q;
    return 0;
}
static int bb_prot(nx_bridge_t *b, uint32_t se, uint32_t s, int64_t sl, int64_t tp)
{
    (void)b, (void)se, (void)s, (void)sl, (void)tp;
    return 0;
}
static int bb_query(nx_bridge_t *b, uint32_t se)
{
    (void)b, (void)se;
    return 0;
}
static const nx_bridge_ops_t bb_ops = {"bench", bb_place, bb_cancel, bb_cancel_all,
                                       bb_amend, bb_prot,  bb_query};
static bench_bridge_t bridge = {{&bb_ops}};

/* the desk's path for one session, as servos/desk/src/desk.c does it */
static void on_signal(void *ctx, const nx_event_t *sig)
{
    (void)ctx;
    uint32_t sym = sig->hdr.symbol;
    const nx_symbol_t *s = nx_symtab_get(&symtab, sym);
    nx_shield_input_t in;
    memset(&in, 0, sizeof in);
    in.signal = &sig->u.signal;
    in.sym = s;
    in.price = sig->u.signal.ref_price;
    nx_decision_t d;
    static int64_t now = 1626992741575LL * 1000000;
    now += 1000; /* replayed frames cycle; the clock moves on */
    uint64_t a = ticks();
    nx_shield_decide(&conf, &risk, &in, now, &d);
    uint64_t b = ticks();
    if (n_shield < N)
        shield_t[n_shield++] = (double)(b - a) * ns_per_tick;
    if (d.verdict != NX_V_APPROVE && d.verdict != NX_V_RESIZE) {
        rejects[d.reason < NX_REJ_COUNT ? d.reason : 0]++;
        return;
    }
    nx_ev_order_intent_t it;
    memset(&it, 0, sizeof it);
    it.session = 1;
    it.side = d.side;
    it.qty = d.qty;
    it.stop_loss = d.stop_loss;
    it.take_profit = d.take_profit;
    it.leverage = d.leverage;
    it.order_type = NX_ORD_MARKET;
    nx_oms_enter(oms, sym, &it, 0, now);
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static void load(const char *dir)
{
    char path[1024], *line = NULL;
    size_t cap = 0;
    ssize_t len;
    snprintf(path, sizeof path, "%s/ws/binance_usdm_futures_combined_20210722_first500.jsonl", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) > 0 && nframes < 64) {
        line[--len] = 0;
        if (!strstr(line, "@aggTrade"))
            continue;
        frames[nframes] = strdup(line);
        flen[nframes++] = (size_t)len;
    }
    free(line);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *src = getenv("NX_SOURCE_DIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/data", src ? src : NX_SOURCE_DIR_DEFAULT);
    load(argc > 1 ? argv[1] : dir);
    calibrate();
    if (nx_hmac_key_create(&key, secret, sizeof secret - 1) ||
        nx_binance_ws_key(&ws_key, key, api_key))
        return 1;
    shield_t = calloc(N, sizeof *shield_t);
    guard_t = calloc(N, sizeof *guard_t);
    double *lat = calloc(N, sizeof *lat), *ref = calloc(N, sizeof *ref);
    nx_symtab_init(&symtab);
    nx_ring_create(&ring, "bench", 1024, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                   NX_WAIT_SPIN);
    nx_ring_consumer_t *c = nx_ring_consumer(ring, 0);
    nx_decoder_init(&dec, NX_VENUE_BINANCE_USDM, &symtab, ring);
    dec.auto_intern = 1; /* the capture's symbols, at scale 8 */
    for (int i = 0; i < nframes; i++) {
        uint64_t s0;
        nx_decode_frame(&dec, frames[i], flen[i], &s0);
    }
    uint64_t seq = 0;
    uint32_t got = nx_ring_poll(ring, c, 1024, &seq);
    nx_ring_release(c, seq + got);

    nx_cortex_opts_t co = {0};
    static const uint32_t tf[] = {60};
    co.symtab = &symtab;
    co.tf_s = tf;
    co.ntf = 1;
    co.allow_unsigned = 1;
    co.on_signal = on_signal;
    if (nx_cortex_create(&cx, &co))
        return 1;
    char err[512];
    nx_strategy_conf_t sc = {0};
    sc.path = NX_TEST_PLUGIN_DIR "/ticker.so";
    if (nx_cortex_add_strategy(cx, &sc, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    nx_cortex_start(cx);
    nx_oms_opts_t oo = {&symtab, &bridge.base, 40, NULL, NULL, NULL};
    oms = nx_oms_create(&oo);
    nx_oms_add_session(oms, 1, 1000000000000LL); /* 10,000 USDT at scale 8 */
    nx_risk_conf_default(&conf);
    conf.cooldown_ns = 0;
    conf.stale_ns = 0;
    conf.max_positions = 0;
    nx_risk_state_init(&risk, 1000000000000LL, 0);

    /* the bad-tick guard, as the engine runs it before the cortex */
    nx_tickguard_opts_t go = {1500, 15, 1, 1000, NULL, NULL}; /* the config's defaults */
    nx_tickguard_t *guard = nx_tickguard_create(&go, nx_symtab_count(&symtab));
    uint64_t tid = 1;
    int64_t tns = 1621382400000000000LL;
    for (int pass = 0; pass < 2; pass++) { /* warm-up, then measured */
        for (int i = 0; i < N; i++) {
            int k = i % nframes;
            uint64_t t0 = ticks();
            uint64_t first;
            nx_decode_frame(&dec, frames[k], flen[k], &first);
            uint32_t n = nx_ring_poll(ring, c, 8, &seq);
            for (uint32_t j = 0; j < n; j++) {
                nx_event_t *ev = nx_bus_event(ring, seq + j);
                /* the 32 frames cycled are new trades each time, not repeats */
                ev->u.trade.trade_id = tid++;
                ev->hdr.exch_ns = tns += 1000000;
                const nx_event_t *use[NX_TG_HOLD + 1];
                uint64_t g0 = ticks();
                uint32_t m = nx_tickguard_filter(guard, ev, use);
                guard_t[i] = (double)(ticks() - g0) * ns_per_tick;
                for (uint32_t u = 0; u < m; u++)
                    nx_cortex_on_event(cx, use[u]);
            }
            nx_ring_release(c, seq + n);
            uint64_t t1 = ticks();
            lat[i] = (double)(t1 - t0) * ns_per_tick;
        }
        if (pass == 0) {
            n_shield = 0;
            orders = bytes = 0;
        }
    }
    uint64_t orders_measured = orders;
    /* reference: the same frames decoded and consumed, nothing else */
    for (int i = 0; i < N; i++) {
        int k = i % nframes;
        uint64_t t0 = ticks(), first;
        nx_decode_frame(&dec, frames[k], flen[k], &first);
        uint32_t n = nx_ring_poll(ring, c, 8, &seq);
        nx_ring_release(c, seq + n);
        ref[i] = (double)(ticks() - t0) * ns_per_tick;
    }
    /* the signing alone, both ways, on the last request's bytes */
    enum { NS = 200000 };
    double *sp = calloc(NS, sizeof *sp), *so = calloc(NS, sizeof *so);
    size_t rlen = strlen(request) > 300 ? 300 : strlen(request);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen;
    char hex[NX_HMAC_HEX_LEN];
    for (int i = 0; i < NS; i++) {
        uint64_t a = ticks();
        nx_hmac_sha256_hex(key, request, rlen, hex);
        uint64_t b = ticks();
        HMAC(EVP_sha256(), secret, (int)sizeof secret - 1, (const unsigned char *)request, rlen,
             mac, &maclen);
        uint64_t d = ticks();
        sp[i] = (double)(b - a) * ns_per_tick;
        so[i] = (double)(d - b) * ns_per_tick;
    }
    qsort(sp, NS, sizeof *sp, cmp);
    qsort(so, NS, sizeof *so, cmp);
    qsort(lat, N, sizeof *lat, cmp);
    qsort(ref, N, sizeof *ref, cmp);
    qsort(shield_t, n_shield, sizeof *shield_t, cmp);
    qsort(guard_t, N, sizeof *guard_t, cmp);
    nx_tickguard_stats_t gs;
    nx_tickguard_stats(guard, &gs);
    double p50 = lat[N / 2], p99 = lat[N / 100 * 99], p999 = lat[N / 1000 * 999];
    double shield = n_shield ? shield_t[n_shield / 2] : 0;
    printf("bench_tick_to_order: %d real aggTrade frames cycled, %d ticks, %llu orders signed "
           "(%.0f bytes each)\n",
           nframes, N, (unsigned long long)orders_measured,
           orders ? (double)bytes / (double)orders : 0.0);
    printf("last request: %.120s...\n", request);
    printf("tick to signed order: p50 %.0f ns, p99 %.0f ns, p99.9 %.0f ns; shield p50 %.0f ns; "
           "bad-tick guard p50 %.0f ns, p99 %.0f ns\n",
           p50, p99, p999, shield, guard_t[N / 2], guard_t[N / 100 * 99]);
    for (int r = 0; r < NX_REJ_COUNT; r++)
        if (rejects[r])
            printf("shield rejections %s: %llu\n", nx_reject_name((nx_reject_t)r),
                   (unsigned long long)rejects[r]);
    uint64_t held_out = 0;
    for (int b = 0; b < NX_BAD_COUNT; b++)
        held_out += gs.quarantined[b];
    printf("bad-tick guard: %llu prints judged, %llu suspects, %llu quarantined\n",
           (unsigned long long)gs.checked, (unsigned long long)gs.suspects,
           (unsigned long long)held_out);
    printf("reference, decode alone: p50 %.0f ns\n", ref[N / 2]);
    printf("signing %zu bytes: prepared key p50 %.0f ns, one-shot HMAC() p50 %.0f ns (x%.1f)\n",
           rlen, sp[NS / 2], so[NS / 2], so[NS / 2] / sp[NS / 2]);
    printf("{\"bench\":\"tick_to_order\",\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"p999_ns\":%.0f,"
           "\"shield_ns\":%.0f,\"guard_ns\":%.0f,\"sign_ns\":%.0f,\"sign_oneshot_ns\":%.0f,"
           "\"ratio_vs_decode\":%.1f}\n",
           p50, p99, p999, shield, guard_t[N / 2], sp[NS / 2], so[NS / 2], p50 / ref[N / 2]);
    free(sp);
    free(so);
    nx_hmac_key_free(key);
    nx_tickguard_destroy(guard);
    nx_cortex_destroy(cx);
    nx_oms_destroy(oms);
    return 0;
}
