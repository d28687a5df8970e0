/*
 * test_binance_user.c — the Binance USD-M user-data decoder
 * (effectors/venues/include/nx/binance_user.h) against the captured frames.
 *
 *  - every line of tests/data/samples/binance_orderTradeUpdate.jsonl and
 *    binance_userData_other.jsonl, each field checked against a value typed
 *    by hand from the sample text (decimals at the scales set up below);
 *  - the same frames in a combined-stream envelope, keys reordered and
 *    spaced, and the engine's order status for every Binance status;
 *  - liquidation and ADL client ids, listenKeyExpired, the other events and
 *    a reply, averages rounded to the tick, ACCOUNT_UPDATE lists longer than
 *    their arrays, positions on symbols the table does not hold;
 *  - malformed frames each refused with the key named; every proper prefix
 *    of every sample refused, and every one-byte change of every sample
 *    decoded or refused (each from an exact-size heap copy, so the
 *    sanitizer builds catch a read past the end);
 *  - a decode allocates nothing (malloc/calloc/realloc wrapped at link
 *    time, as in tests/uplink/test_decode_alloc.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/binance_user.h"
#include "nx/error.h"

/* ---------- allocation counting ---------- */

#include "../alloc_count.h"

/* ---------- fixtures ---------- */

static nx_symtab_t T;
static uint32_t BTC, SOL, SEI, ACE;
static nx_bnu_msg_t M;

/* Scales as Binance's exchangeInfo gives them (tick 0.10 / step 0.001 for
 * BTCUSDT, 0.01 / 0.01 for SOLUSDT, 0.0001 / 1 for SEIUSDT, 0.0001 / 0.01
 * for ACEUSDT), written as the number of decimals. */
static int setup(void **state)
{
    (void)state;
    nx_symtab_init(&T);
    BTC = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 0, NULL);
    SOL = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "SOLUSDT", 2, 2, 1, 1, 0, NULL);
    SEI = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "SEIUSDT", 4, 0, 1, 1, 0, NULL);
    ACE = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "ACEUSDT", 4, 2, 1, 1, 0, NULL);
    /* the same name on another venue must not be found */
    nx_symtab_add(&T, NX_VENUE_BYBIT_LINEAR, "XRPUSDT", 4, 1, 1, 1, 0, NULL);
    return BTC == 0 && SOL == 1 && SEI == 2 && ACE == 3 ? 0 : -1;
}

typedef struct lines {
    char **v;
    size_t n;
} lines_t;

static lines_t samples(const char *name)
{
    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/samples/%s", src ? src : NX_SOURCE_DIR_DEFAULT,
             name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    lines_t L = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        L.v = realloc(L.v, (L.n + 1) * sizeof *L.v);
        L.v[L.n++] = strdup(line);
    }
    free(line);
    fclose(f);
    return L;
}

static void lines_free(lines_t *L)
{
    for (size_t i = 0; i < L->n; i++)
        free(L->v[i]);
    free(L->v);
}

/* Decode len bytes of s from an exact-size heap copy (a read past the end
 * is a sanitizer report) into M. */
static int decode_n(const char *s, size_t len)
{
    char *buf = malloc(len ? len : 1);
    memcpy(buf, s, len);
    int rc = nx_bnu_frame_decode(buf, len, &T, &M);
    free(buf);
    return rc;
}

static int decode(const char *s)
{
    return decode_n(s, strlen(s));
}

/* s with its one occurrence of `from` replaced by `to`, in one of four
 * static buffers used in turn (so that edits nest). */
static const char *edit(const char *s, const char *from, const char *to)
{
    static char bufs[4][4096];
    static unsigned turn;
    char *out = bufs[turn++ % 4];
    const char *at = strstr(s, from);
    if (!at || strstr(at + 1, from))
        fail_msg("'%s' is not in the frame exactly once", from);
    snprintf(out, sizeof bufs[0], "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
    return out;
}

/* The call fails with rc and names key and fault. */
#define assert_refused(frame, rc, key_, what_)                                                     \
    do {                                                                                           \
        assert_int_equal(decode(frame), rc);                                                       \
        assert_string_equal(M.err.key, key_);                                                      \
        assert_string_equal(M.err.what, what_);                                                    \
    } while (0)

/* ---------- ORDER_TRADE_UPDATE samples ---------- */

static void test_order_samples(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    assert_int_equal(L.n, 7);
    const nx_bnu_order_t *o = &M.u.order;

    /* 1: limit order accepted, hedge mode LONG */
    assert_int_equal(decode(L.v[0]), 0);
    assert_int_equal(M.kind, NX_BNU_ORDER);
    assert_int_equal(M.event_ms, 1704459987709LL);
    assert_int_equal(M.tx_ms, 1704459987707LL);
    assert_string_equal(o->sym.name, "BTCUSDT");
    assert_int_equal(o->sym.id, BTC);
    assert_int_equal(o->sym.price_scale, 2);
    assert_int_equal(o->sym.qty_scale, 3);
    assert_string_equal(o->client_id, "web_w4Sot5R1ym9ChzWfGdAm");
    assert_int_equal(o->side, NX_SIDE_BUY);
    assert_int_equal(o->type, NX_BNU_OT_LIMIT);
    assert_int_equal(o->tif, NX_BNU_TIF_GTC);
    assert_int_equal(o->qty, 10);        /* 0.010 */
    assert_int_equal(o->price, 2000000); /* 20000 */
    assert_int_equal(o->avg_price, 0);
    assert_int_equal(o->stop_price, 0);
    assert_int_equal(o->exec, NX_BNU_X_NEW);
    assert_int_equal(o->status, NX_BNU_S_NEW);
    assert_int_equal(o->nx_status, NX_OS_ACKED);
    assert_int_equal(o->order_id, 238950797096ULL);
    assert_int_equal(o->last_qty, 0);
    assert_int_equal(o->cum_qty, 0);
    assert_int_equal(o->last_price, 0);
    assert_int_equal(o->fee, 0);
    assert_string_equal(o->fee_asset, "USDT");
    assert_int_equal(o->trade_ms, 1704459987707LL);
    assert_int_equal(o->trade_id, 0);
    assert_int_equal(o->maker, 0);
    assert_int_equal(o->reduce_only, 0);
    assert_int_equal(o->working_type, NX_BNU_WT_CONTRACT_PRICE);
    assert_int_equal(o->orig_type, NX_BNU_OT_LIMIT);
    assert_int_equal(o->position_side, NX_BNU_PS_LONG);
    assert_int_equal(o->close_position, 0);
    assert_int_equal(o->realized_pnl, 0);
    assert_int_equal(o->flags, 0);

    /* 2: the same order canceled */
    assert_int_equal(decode(L.v[1]), 0);
    assert_int_equal(M.event_ms, 1704460185746LL);
    assert_int_equal(M.tx_ms, 1704460185744LL);
    assert_string_equal(o->client_id, "web_w4Sot5R1ym9ChzWfGdAm");
    assert_int_equal(o->order_id, 238950797096ULL);
    assert_int_equal(o->exec, NX_BNU_X_CANCELED);
    assert_int_equal(o->status, NX_BNU_S_CANCELED);
    assert_int_equal(o->nx_status, NX_OS_CANCELLED);
    assert_int_equal(o->price, 2000000);
    assert_int_equal(o->qty, 10);

    /* 3: reduce-only market close, NEW */
    assert_int_equal(decode(L.v[2]), 0);
    assert_int_equal(M.event_ms, 1731955175166LL);
    assert_string_equal(o->client_id, "android_WrDCjqlzTWlU9FGcNp1Q");
    assert_int_equal(o->side, NX_SIDE_SELL);
    assert_int_equal(o->type, NX_BNU_OT_MARKET);
    assert_int_equal(o->qty, 2); /* 0.002 */
    assert_int_equal(o->price, 0);
    assert_int_equal(o->order_id, 482277363667ULL);
    assert_int_equal(o->reduce_only, 1);
    assert_int_equal(o->position_side, NX_BNU_PS_BOTH);
    assert_int_equal(o->nx_status, NX_OS_ACKED);

    /* 4: the same order filled, with realized PnL */
    assert_int_equal(decode(L.v[3]), 0);
    assert_int_equal(o->exec, NX_BNU_X_TRADE);
    assert_int_equal(o->status, NX_BNU_S_FILLED);
    assert_int_equal(o->nx_status, NX_OS_FILLED);
    assert_int_equal(o->avg_price, 9085320); /* 90853.20000 */
    assert_int_equal(o->last_qty, 2);        /* 0.002 */
    assert_int_equal(o->cum_qty, 2);
    assert_int_equal(o->last_price, 9085320); /* 90853.20 */
    assert_int_equal(o->fee, 9085320);        /* 0.09085320 at 8 decimals */
    assert_string_equal(o->fee_asset, "USDT");
    assert_int_equal(o->trade_id, 5612520599ULL);
    assert_int_equal(o->trade_ms, 1731955175166LL);
    assert_int_equal(o->realized_pnl, -177340000); /* -1.77340000 */
    assert_int_equal(o->maker, 0);
    assert_int_equal(o->reduce_only, 1);

    /* 5: triggered STOP_MARKET filled */
    assert_int_equal(decode(L.v[4]), 0);
    assert_int_equal(M.event_ms, 1709228306019LL);
    assert_int_equal(M.tx_ms, 1709228306018LL);
    assert_string_equal(o->sym.name, "SEIUSDT");
    assert_int_equal(o->sym.id, SEI);
    assert_string_equal(o->client_id, "w9M1Sao5kbDXw7fnCVd097");
    assert_int_equal(o->side, NX_SIDE_SELL);
    assert_int_equal(o->type, NX_BNU_OT_MARKET);
    assert_int_equal(o->orig_type, NX_BNU_OT_STOP_MARKET);
    assert_int_equal(o->qty, 53);
    assert_int_equal(o->avg_price, 8500); /* 0.8500000 at 4 decimals */
    assert_int_equal(o->stop_price, 8500);
    assert_int_equal(o->exec, NX_BNU_X_TRADE);
    assert_int_equal(o->nx_status, NX_OS_FILLED);
    assert_int_equal(o->order_id, 3026735289ULL);
    assert_int_equal(o->last_qty, 53);
    assert_int_equal(o->cum_qty, 53);
    assert_int_equal(o->last_price, 8500);
    assert_int_equal(o->fee, 2252500); /* 0.02252500 */
    assert_int_equal(o->trade_id, 148502631ULL);
    assert_int_equal(o->realized_pnl, -255990000); /* -2.55990000 */
    assert_int_equal(o->reduce_only, 0);

    /* 6: IOC expired unfilled */
    assert_int_equal(decode(L.v[5]), 0);
    assert_string_equal(o->sym.name, "ACEUSDT");
    assert_int_equal(o->sym.id, ACE);
    assert_string_equal(o->client_id, "x-nXtHr5jjSNF17322011");
    assert_int_equal(o->side, NX_SIDE_BUY);
    assert_int_equal(o->tif, NX_BNU_TIF_IOC);
    assert_int_equal(o->qty, 126);     /* 1.26 */
    assert_int_equal(o->price, 78833); /* 7.883300 at 4 decimals */
    assert_int_equal(o->exec, NX_BNU_X_EXPIRED);
    assert_int_equal(o->status, NX_BNU_S_EXPIRED);
    assert_int_equal(o->nx_status, NX_OS_EXPIRED);
    assert_int_equal(o->order_id, 374805065ULL);
    assert_int_equal(o->cum_qty, 0);

    /* 7: newer frame with er */
    assert_int_equal(decode(L.v[6]), 0);
    assert_int_equal(M.event_ms, 1771856732584LL);
    assert_string_equal(o->sym.name, "SOLUSDT");
    assert_int_equal(o->sym.id, SOL);
    assert_string_equal(o->client_id, "SOLUSDT_BOTH_1771856732181_1");
    assert_int_equal(o->type, NX_BNU_OT_MARKET);
    assert_int_equal(o->qty, 10); /* 0.1 at 2 decimals */
    assert_int_equal(o->order_id, 199033476993ULL);
    assert_int_equal(o->nx_status, NX_OS_ACKED);
    lines_free(&L);
}

/* Every Binance status to the engine's, and the execution types. */
static void test_order_statuses(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    static const struct {
        const char *X;
        int status, nx;
    } st[] = {
        {"NEW", NX_BNU_S_NEW, NX_OS_ACKED},
        {"PARTIALLY_FILLED", NX_BNU_S_PARTIALLY_FILLED, NX_OS_PARTIAL},
        {"FILLED", NX_BNU_S_FILLED, NX_OS_FILLED},
        {"CANCELED", NX_BNU_S_CANCELED, NX_OS_CANCELLED},
        {"REJECTED", NX_BNU_S_REJECTED, NX_OS_REJECTED},
        {"EXPIRED", NX_BNU_S_EXPIRED, NX_OS_EXPIRED},
        {"EXPIRED_IN_MATCH", NX_BNU_S_EXPIRED_IN_MATCH, NX_OS_EXPIRED},
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"X\":\"%s\"", st[i].X);
        assert_int_equal(decode(edit(L.v[0], "\"X\":\"NEW\"", to)), 0);
        assert_int_equal(M.u.order.status, st[i].status);
        assert_int_equal(M.u.order.nx_status, st[i].nx);
    }
    static const struct {
        const char *x;
        int exec;
    } ex[] = {{"NEW", NX_BNU_X_NEW},
              {"CANCELED", NX_BNU_X_CANCELED},
              {"CALCULATED", NX_BNU_X_CALCULATED},
              {"EXPIRED", NX_BNU_X_EXPIRED},
              {"AMENDMENT", NX_BNU_X_AMENDMENT}};
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"x\":\"%s\"", ex[i].x);
        assert_int_equal(decode(edit(L.v[0], "\"x\":\"NEW\"", to)), 0);
        assert_int_equal(M.u.order.exec, ex[i].exec);
    }
    /* descriptive values Nexus does not list read as OTHER */
    assert_int_equal(decode(edit(L.v[0], "\"ot\":\"LIMIT\"", "\"ot\":\"SOMETHING_NEW\"")), 0);
    assert_int_equal(M.u.order.orig_type, NX_BNU_OT_OTHER);
    assert_int_equal(decode(edit(L.v[0], "\"o\":\"LIMIT\"", "\"o\":\"TRAILING_STOP_MARKET\"")), 0);
    assert_int_equal(M.u.order.type, NX_BNU_OT_TRAILING_STOP_MARKET);
    assert_int_equal(decode(edit(L.v[0], "\"wt\":\"CONTRACT_PRICE\"", "\"wt\":\"MARK_PRICE\"")), 0);
    assert_int_equal(M.u.order.working_type, NX_BNU_WT_MARK_PRICE);
    lines_free(&L);
}

/* ---------- the other samples ---------- */

static void test_other_samples(void **state)
{
    (void)state;
    lines_t L = samples("binance_userData_other.jsonl");
    assert_int_equal(L.n, 4);

    /* 1: TRADE_LITE */
    const nx_bnu_trade_lite_t *t = &M.u.lite;
    assert_int_equal(decode(L.v[0]), 0);
    assert_int_equal(M.kind, NX_BNU_TRADE_LITE);
    assert_int_equal(M.event_ms, 1771856732584LL);
    assert_int_equal(M.tx_ms, 1771856732584LL);
    assert_string_equal(t->sym.name, "SOLUSDT");
    assert_int_equal(t->sym.id, SOL);
    assert_int_equal(t->qty, 10);  /* 0.10 */
    assert_int_equal(t->price, 0); /* 0.0000 */
    assert_int_equal(t->maker, 0);
    assert_string_equal(t->client_id, "SOLUSDT_BOTH_1771856732181_1");
    assert_int_equal(t->side, NX_SIDE_BUY);
    assert_int_equal(t->last_price, 8019); /* 80.1900 */
    assert_int_equal(t->last_qty, 10);     /* 0.10 */
    assert_int_equal(t->trade_id, 3181138052ULL);
    assert_int_equal(t->order_id, 199033476993ULL);
    assert_int_equal(t->flags, 0);

    /* 2: ACCOUNT_UPDATE after that fill */
    const nx_bnu_account_t *a = &M.u.account;
    assert_int_equal(decode(L.v[1]), 0);
    assert_int_equal(M.kind, NX_BNU_ACCOUNT);
    assert_int_equal(M.event_ms, 1771856732584LL);
    assert_int_equal(M.tx_ms, 1771856732584LL);
    assert_int_equal(a->reason, NX_BNU_R_ORDER);
    assert_int_equal(a->nbalances, 1);
    assert_int_equal(a->balances_cut, 0);
    assert_string_equal(a->balances[0].asset, "USDT");
    assert_int_equal(a->balances[0].wallet, 173744723); /* 1.73744723 */
    assert_int_equal(a->balances[0].cross_wallet, 173744723);
    assert_int_equal(a->balances[0].change, 0);
    assert_int_equal(a->npositions, 1);
    assert_int_equal(a->positions_cut, 0);
    assert_int_equal(a->unknown_symbols, 0);
    const nx_bnu_position_t *p = &a->positions[0];
    assert_string_equal(p->sym.name, "SOLUSDT");
    assert_int_equal(p->sym.id, SOL);
    assert_int_equal(p->amount, 10);                 /* 0.1 */
    assert_int_equal(p->entry_price, 8019);          /* 80.19 */
    assert_int_equal(p->realized_total, 2683159999); /* 26.83159999 */
    assert_int_equal(p->unrealized_pnl, 0);
    assert_int_equal(p->margin_type, NX_BNU_MT_CROSS);
    assert_int_equal(p->isolated_wallet, 0);
    assert_int_equal(p->position_side, NX_BNU_PS_BOTH);
    assert_int_equal(p->breakeven_price, 8023); /* 80.230095 rounded to 2 decimals */

    /* 3: ACCOUNT_UPDATE, position closed */
    assert_int_equal(decode(L.v[2]), 0);
    assert_int_equal(M.event_ms, 1731955175166LL);
    assert_int_equal(a->reason, NX_BNU_R_ORDER);
    assert_int_equal(a->nbalances, 1);
    assert_int_equal(a->balances[0].wallet, 64089671759); /* 640.89671759 */
    assert_int_equal(a->balances[0].cross_wallet, 64089671759);
    assert_int_equal(a->npositions, 1);
    assert_string_equal(a->positions[0].sym.name, "BTCUSDT");
    assert_int_equal(a->positions[0].sym.id, BTC);
    assert_int_equal(a->positions[0].amount, 0);
    assert_int_equal(a->positions[0].entry_price, 0);
    assert_int_equal(a->positions[0].realized_total, -177340000); /* -1.77340000 */
    assert_int_equal(a->positions[0].breakeven_price, 0);

    /* 4: ALGO_UPDATE, triggered */
    const nx_bnu_algo_t *g = &M.u.algo;
    assert_int_equal(decode(L.v[3]), 0);
    assert_int_equal(M.kind, NX_BNU_ALGO);
    assert_int_equal(M.event_ms, 1700000000001LL);
    assert_int_equal(M.tx_ms, 1700000000002LL);
    assert_string_equal(g->client_algo_id, "algo-client");
    assert_int_equal(g->algo_id, 9001);
    assert_int_equal(g->algo_type, NX_BNU_AT_CONDITIONAL);
    assert_int_equal(g->type, NX_BNU_OT_STOP_MARKET);
    assert_string_equal(g->sym.name, "BTCUSDT");
    assert_int_equal(g->sym.id, BTC);
    assert_int_equal(g->side, NX_SIDE_SELL);
    assert_int_equal(g->position_side, NX_BNU_PS_SHORT);
    assert_int_equal(g->tif, NX_BNU_TIF_GTC);
    assert_int_equal(g->qty, 200); /* 0.2 */
    assert_int_equal(g->status, NX_BNU_AS_TRIGGERED);
    assert_int_equal(g->trigger_price, 19000); /* 190 */
    assert_int_equal(g->price, 0);
    assert_int_equal(g->working_type, NX_BNU_WT_CONTRACT_PRICE);
    assert_int_equal(g->close_position, 0);
    assert_int_equal(g->reduce_only, 1);
    assert_int_equal(g->order_id, 77); /* "ai":"77", a string */
    assert_string_equal(g->fail_reason, "");

    /* a rejected algo order says why */
    assert_int_equal(
        decode(edit(edit(L.v[3], "\"X\":\"TRIGGERED\"", "\"X\":\"REJECTED\""), "\"ai\":\"77\"",
                    "\"ai\":\"\",\"rm\":\"Reduce only order is rejected\"")),
        0);
    assert_int_equal(g->status, NX_BNU_AS_REJECTED);
    assert_int_equal(g->order_id, 0);
    assert_string_equal(g->fail_reason, "Reduce only order is rejected");
    lines_free(&L);
}

/* ---------- framing, key order ---------- */

static void test_envelope_and_key_order(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    static char buf[4096];
    /* combined stream: the stream is named by the listen key */
    snprintf(buf, sizeof buf,
             "{\"stream\":\"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1\","
             "\"data\":%s}",
             L.v[3]);
    assert_int_equal(decode(buf), 0);
    assert_int_equal(M.kind, NX_BNU_ORDER);
    assert_int_equal(M.event_ms, 1731955175166LL);
    assert_int_equal(M.u.order.order_id, 482277363667ULL);
    assert_int_equal(M.u.order.last_price, 9085320);
    assert_int_equal(M.u.order.trade_id, 5612520599ULL);
    /* data first, with white space */
    snprintf(buf, sizeof buf, " {\n  \"data\" : %s ,\n  \"stream\" : \"k\"\n}\n", L.v[3]);
    assert_int_equal(decode(buf), 0);
    assert_int_equal(M.u.order.realized_pnl, -177340000);
    /* an envelope in an envelope is not a Binance frame */
    char inner[2048];
    snprintf(inner, sizeof inner, "{\"stream\":\"k\",\"data\":%s}", L.v[3]);
    snprintf(buf, sizeof buf, "{\"stream\":\"k\",\"data\":%s}", inner);
    assert_refused(buf, NX_ESYNTAX, "data", "nested envelope");
    assert_refused("{\"stream\":\"k\",\"data\":[1]}", NX_ETYPE, "data", "not an object");

    /* keys in another order, unknown keys and white space anywhere */
    const char *shuffled =
        "{ \"o\" : { \"ps\":\"BOTH\", \"L\":\"90853.20\", \"new_key\":{\"x\":[1,{\"X\":\"?\"}]},"
        " \"X\":\"PARTIALLY_FILLED\", \"t\":5612520599, \"z\":\"0.001\", \"l\":\"0.001\","
        " \"i\":482277363667, \"x\":\"TRADE\", \"q\":\"0.002\", \"o\":\"MARKET\", \"S\":\"SELL\","
        " \"c\":\"nx-1f\", \"s\":\"BTCUSDT\", \"m\":true, \"n\":\"-0.00100000\", \"N\":\"BNB\" },"
        " \"E\":1731955175166, \"unknown\":null, \"e\":\"ORDER_TRADE_UPDATE\" }";
    assert_int_equal(decode(shuffled), 0);
    const nx_bnu_order_t *o = &M.u.order;
    assert_int_equal(M.tx_ms, 0); /* no top-level T */
    assert_string_equal(o->client_id, "nx-1f");
    assert_int_equal(o->status, NX_BNU_S_PARTIALLY_FILLED);
    assert_int_equal(o->nx_status, NX_OS_PARTIAL);
    assert_int_equal(o->last_qty, 1);
    assert_int_equal(o->cum_qty, 1);
    assert_int_equal(o->qty, 2);
    assert_int_equal(o->last_price, 9085320);
    assert_int_equal(o->maker, 1);
    assert_int_equal(o->fee, -100000); /* a rebate */
    assert_string_equal(o->fee_asset, "BNB");
    /* optional keys absent read as zero */
    assert_int_equal(o->price, 0);
    assert_int_equal(o->avg_price, 0);
    assert_int_equal(o->trade_ms, 0);
    assert_int_equal(o->tif, NX_BNU_TIF_OTHER);
    assert_int_equal(o->orig_type, NX_BNU_OT_OTHER);
    lines_free(&L);
}

/* ---------- client ids, the other events ---------- */

static void test_liquidation_and_adl(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    /* the venue closing a position: client id autoclose-..., x CALCULATED */
    const char *liq = edit(L.v[3], "\"c\":\"android_WrDCjqlzTWlU9FGcNp1Q\"",
                           "\"c\":\"autoclose-1731955175166000\"");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", edit(liq, "\"x\":\"TRADE\"", "\"x\":\"CALCULATED\""));
    assert_int_equal(decode(edit(buf, "\"o\":\"MARKET\"", "\"o\":\"LIQUIDATION\"")), 0);
    assert_string_equal(M.u.order.client_id, "autoclose-1731955175166000");
    assert_int_equal(M.u.order.flags, NX_BNU_F_LIQUIDATION);
    assert_int_equal(M.u.order.exec, NX_BNU_X_CALCULATED);
    assert_int_equal(M.u.order.type, NX_BNU_OT_LIQUIDATION);
    assert_int_equal(M.u.order.nx_status, NX_OS_FILLED);

    assert_int_equal(
        decode(edit(L.v[3], "\"c\":\"android_WrDCjqlzTWlU9FGcNp1Q\"", "\"c\":\"adl_autoclose\"")),
        0);
    assert_int_equal(M.u.order.flags, NX_BNU_F_ADL);
    /* "autoclose" alone, or inside the id, is an ordinary id */
    assert_int_equal(
        decode(edit(L.v[3], "\"c\":\"android_WrDCjqlzTWlU9FGcNp1Q\"", "\"c\":\"my-autoclose-1\"")),
        0);
    assert_int_equal(M.u.order.flags, 0);

    /* TRADE_LITE carries the same flag */
    lines_t O = samples("binance_userData_other.jsonl");
    assert_int_equal(decode(edit(O.v[0], "\"c\":\"SOLUSDT_BOTH_1771856732181_1\"",
                                 "\"c\":\"autoclose-17718567321\"")),
                     0);
    assert_int_equal(M.u.lite.flags, NX_BNU_F_LIQUIDATION);

    /* 36 bytes is the longest client id Binance accepts; 37 is refused */
    assert_int_equal(decode(edit(L.v[0], "\"c\":\"web_w4Sot5R1ym9ChzWfGdAm\"",
                                 "\"c\":\"abcdefghijklmnopqrstuvwxyz0123456789\"")),
                     0);
    assert_string_equal(M.u.order.client_id, "abcdefghijklmnopqrstuvwxyz0123456789");
    assert_refused(edit(L.v[0], "\"c\":\"web_w4Sot5R1ym9ChzWfGdAm\"",
                        "\"c\":\"abcdefghijklmnopqrstuvwxyz0123456789X\""),
                   NX_ETOOLONG, "o.c", "too long");
    lines_free(&O);
    lines_free(&L);
}

static void test_other_events(void **state)
{
    (void)state;
    /* Binance's documented listenKeyExpired example */
    assert_int_equal(
        decode("{\"e\":\"listenKeyExpired\",\"E\":1576653824250,\"listenKey\":"
               "\"WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv\"}"),
        0);
    assert_int_equal(M.kind, NX_BNU_KEY_EXPIRED);
    assert_int_equal(M.event_ms, 1576653824250LL);
    assert_string_equal(M.u.expired.listen_key,
                        "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv");
    assert_refused("{\"e\":\"listenKeyExpired\",\"E\":1576653824250}", NX_ESYNTAX, "listenKey",
                   "missing");

    /* MARGIN_CALL: its top-level "p" is a list, not TRADE_LITE's price */
    assert_int_equal(decode("{\"e\":\"MARGIN_CALL\",\"E\":1587727187525,\"cw\":\"3.16812045\","
                            "\"p\":[{\"s\":\"ETHUSDT\",\"ps\":\"LONG\",\"pa\":\"1.327\",\"mt\":"
                            "\"CROSSED\",\"iw\":\"0\",\"mp\":\"187.17127\",\"up\":\"-1.166074\","
                            "\"mm\":\"1.614445\"}]}"),
                     0);
    assert_int_equal(M.kind, NX_BNU_OTHER);
    assert_int_equal(M.u.other.which, NX_BNU_EV_MARGIN_CALL);
    assert_string_equal(M.u.other.name, "MARGIN_CALL");
    assert_int_equal(M.event_ms, 1587727187525LL);

    assert_int_equal(decode("{\"e\":\"ACCOUNT_CONFIG_UPDATE\",\"E\":1611646737479,\"T\":"
                            "1611646737476,\"ac\":{\"s\":\"BTCUSDT\",\"l\":25}}"),
                     0);
    assert_int_equal(M.u.other.which, NX_BNU_EV_ACCOUNT_CONFIG_UPDATE);
    assert_int_equal(M.tx_ms, 1611646737476LL);
    assert_int_equal(decode("{\"e\":\"CONDITIONAL_ORDER_TRIGGER_REJECT\",\"E\":1685517224945,"
                            "\"T\":1685517224955,\"or\":{\"s\":\"ETHUSDT\",\"i\":155618472834,"
                            "\"r\":\"Due to your insufficient balance.\"}}"),
                     0);
    assert_int_equal(M.u.other.which, NX_BNU_EV_CONDITIONAL_ORDER_TRIGGER_REJECT);
    /* an event this decoder has never heard of: named, cut to fit */
    assert_int_equal(decode("{\"e\":\"SOME_FUTURE_EVENT_WITH_A_VERY_LONG_NAME_INDEED\",\"E\":1}"),
                     0);
    assert_int_equal(M.u.other.which, NX_BNU_EV_UNKNOWN);
    assert_string_equal(M.u.other.name, "SOME_FUTURE_EVENT_WITH_A_VERY_LONG_NAME");
    /* a reply to a request */
    assert_int_equal(decode("{\"result\":null,\"id\":1}"), 0);
    assert_int_equal(M.kind, NX_BNU_OTHER);
    assert_int_equal(M.u.other.which, NX_BNU_EV_REPLY);
    assert_string_equal(nx_bnu_kind_name(NX_BNU_ORDER), "ORDER_TRADE_UPDATE");
    assert_string_equal(nx_bnu_kind_name(NX_BNU_KEY_EXPIRED), "listenKeyExpired");
    assert_string_equal(nx_bnu_kind_name(NX_BNU_OTHER), "other");
    assert_string_equal(nx_bnu_kind_name((nx_bnu_kind_t)99), "none");
}

/* ---------- symbols, averages, lists ---------- */

static void test_symbols(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    lines_t O = samples("binance_userData_other.jsonl");
    /* XRPUSDT is in the table for Bybit only */
    assert_refused(edit(L.v[0], "\"s\":\"BTCUSDT\"", "\"s\":\"XRPUSDT\""), NX_ENOENT, "o.s",
                   "unknown symbol");
    assert_string_equal(M.u.order.sym.name, "XRPUSDT");
    assert_int_equal(M.kind, NX_BNU_ORDER);
    assert_refused(edit(O.v[0], "\"s\":\"SOLUSDT\"", "\"s\":\"DOGEUSDT\""), NX_ENOENT, "s",
                   "unknown symbol");
    assert_refused(edit(O.v[3], "\"s\":\"BTCUSDT\"", "\"s\":\"ETHUSDT\""), NX_ENOENT, "o.s",
                   "unknown symbol");
    assert_refused(edit(L.v[0], "\"s\":\"BTCUSDT\"", "\"s\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ\""),
                   NX_ENOENT, "o.s", "unknown symbol");
    assert_string_equal(M.u.order.sym.name, "ABCDEFGHIJKLMNOPQRSTUVW"); /* cut at 23 */
    assert_refused(edit(L.v[0], "\"s\":\"BTCUSDT\"", "\"s\":\"btcusdt\""), NX_ENOENT, "o.s",
                   "unknown symbol");

    /* a position on a symbol the table does not hold keeps its money */
    assert_int_equal(decode(edit(O.v[1], "\"s\":\"SOLUSDT\"", "\"s\":\"DOGEUSDT\"")), 0);
    const nx_bnu_account_t *a = &M.u.account;
    assert_int_equal(a->unknown_symbols, 1);
    assert_int_equal(a->npositions, 1);
    assert_string_equal(a->positions[0].sym.name, "DOGEUSDT");
    assert_int_equal(a->positions[0].sym.id, NX_SYMBOL_NONE);
    assert_int_equal(a->positions[0].amount, 0);
    assert_int_equal(a->positions[0].entry_price, 0);
    assert_int_equal(a->positions[0].realized_total, 2683159999);
    assert_int_equal(a->balances[0].wallet, 173744723);
    lines_free(&O);
    lines_free(&L);
}

static void test_averages_round(void **state)
{
    (void)state;
    lines_t O = samples("binance_userData_other.jsonl");
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    /* SOLUSDT prices have 2 decimals: the third one rounds, half away from 0 */
    static const struct {
        const char *bep;
        int64_t want;
    } r[] = {{"80.235", 8024}, {"80.2349999", 8023}, {"80.995", 8100},    {"0.005", 1},
             {"0.0049", 0},    {"-0.005", -1},       {"-80.2349", -8023}, {"80.2", 8020}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++) {
        char to[64];
        snprintf(to, sizeof to, "\"bep\":\"%s\"", r[i].bep);
        assert_int_equal(decode(edit(O.v[1], "\"bep\":\"80.230095\"", to)), 0);
        assert_int_equal(M.u.account.positions[0].breakeven_price, r[i].want);
    }
    /* SEIUSDT trades in whole units: an average price is rounded, a
     * quantity with a fraction is refused */
    assert_int_equal(decode(edit(L.v[4], "\"ap\":\"0.8500000\"", "\"ap\":\"0.85005\"")), 0);
    assert_int_equal(M.u.order.avg_price, 8501);
    assert_refused(edit(L.v[4], "\"l\":\"53\"", "\"l\":\"53.5\""), NX_EPRECISION, "o.l",
                   "more digits than the scale");
    assert_refused(edit(L.v[4], "\"L\":\"0.8500000\"", "\"L\":\"0.85005\""), NX_EPRECISION, "o.L",
                   "more digits than the scale");
    assert_refused(edit(O.v[1], "\"bep\":\"80.230095\"", "\"bep\":\"80.2x5\""), NX_ESYNTAX,
                   "a.P[].bep", "bad decimal");
    assert_refused(edit(O.v[1], "\"bep\":\"80.230095\"", "\"bep\":\"99999999999999999.995\""),
                   NX_EOVERFLOW, "a.P[].bep", "out of range");
    lines_free(&L);
    lines_free(&O);
}

static void test_account_lists_cut(void **state)
{
    (void)state;
    static char buf[8192];
    size_t n = (size_t)snprintf(
        buf, sizeof buf,
        "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"T\":2,\"a\":{\"m\":\"FUNDING_FEE\",\"B\":[");
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s{\"a\":\"A%d\",\"wb\":\"%d.5\"}",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(buf + n, sizeof buf - n, "],\"P\":[");
    for (int i = 0; i < 18; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s{\"s\":\"%s\",\"pa\":\"-%d\"}",
                              i ? "," : "", i % 2 ? "BTCUSDT" : "SOLUSDT", i);
    snprintf(buf + n, sizeof buf - n, "]}}");
    assert_int_equal(decode(buf), 0);
    const nx_bnu_account_t *a = &M.u.account;
    assert_int_equal(a->reason, NX_BNU_R_FUNDING_FEE);
    assert_int_equal(a->nbalances, 8);
    assert_int_equal(a->balances_cut, 2);
    assert_string_equal(a->balances[7].asset, "A7");
    assert_int_equal(a->balances[7].wallet, 750000000); /* 7.5 */
    assert_int_equal(a->balances[7].cross_wallet, 0);   /* not sent */
    assert_int_equal(a->npositions, 16);
    assert_int_equal(a->positions_cut, 2);
    assert_int_equal(a->positions[15].sym.id, BTC);
    assert_int_equal(a->positions[15].amount, -15000); /* -15 at 3 decimals */
    assert_int_equal(a->positions[14].amount, -1400);  /* -14 at 2 decimals */
    /* no lists at all, an unknown reason */
    assert_int_equal(decode("{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":{\"m\":\"NEW_REASON\"}}"), 0);
    assert_int_equal(a->reason, NX_BNU_R_OTHER);
    assert_int_equal(a->nbalances, 0);
    assert_int_equal(a->npositions, 0);
    assert_int_equal(a->balances_cut, 0);
}

/* ---------- malformed frames ---------- */

static void test_malformed(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    lines_t O = samples("binance_userData_other.jsonl");
    const char *o1 = L.v[0], *o4 = L.v[3];
    assert_refused("", NX_ESYNTAX, "", "malformed JSON");
    assert_refused("   ", NX_ESYNTAX, "", "malformed JSON");
    assert_refused("[]", NX_ESYNTAX, "", "malformed JSON");
    assert_refused("{\"e\":\"TRADE_LITE\",}", NX_ESYNTAX, "", "malformed JSON");
    assert_refused("{\"e\":\"TRADE_LITE\" \"E\":1}", NX_ESYNTAX, "", "malformed JSON");
    assert_refused("{}", NX_ESYNTAX, "e", "missing");
    assert_refused("{\"e\":5,\"E\":1}", NX_ETYPE, "e", "not a string");
    assert_refused("{\"e\":\"MARGIN_CALL\"}", NX_ESYNTAX, "E", "missing");
    assert_refused("{\"e\":\"MARGIN_CALL\",\"E\":\"soon\"}", NX_ESYNTAX, "E", "bad time");
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s}", o1);
    assert_refused(buf, NX_ESYNTAX, "", "trailing bytes after JSON");
    snprintf(buf, sizeof buf, "%s %s", o1, o1);
    assert_refused(buf, NX_ESYNTAX, "", "trailing bytes after JSON");

    /* each fault named by its key */
    assert_refused("{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":1}", NX_ESYNTAX, "o", "missing");
    assert_refused("{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":1,\"o\":[]}", NX_ETYPE, "o",
                   "not an object");
    assert_refused("{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":1,\"o\":{\"s\" 1}}", NX_ESYNTAX, "o",
                   "malformed JSON");
    assert_refused(edit(o1, "\"X\":\"NEW\",", ""), NX_ESYNTAX, "o.X", "missing");
    assert_refused(edit(o1, "\"s\":\"BTCUSDT\",", ""), NX_ESYNTAX, "o.s", "missing");
    assert_refused(edit(o1, "\"i\":238950797096,", ""), NX_ESYNTAX, "o.i", "missing");
    assert_refused(edit(o1, "\"X\":\"NEW\"", "\"X\":\"ALMOST\""), NX_ERANGE, "o.X",
                   "unknown value");
    assert_refused(edit(o1, "\"x\":\"NEW\"", "\"x\":\"new\""), NX_ERANGE, "o.x", "unknown value");
    assert_refused(edit(o1, "\"S\":\"BUY\"", "\"S\":\"LONG\""), NX_ERANGE, "o.S", "unknown value");
    assert_refused(edit(o1, "\"S\":\"BUY\"", "\"S\":1"), NX_ETYPE, "o.S", "not a string");
    assert_refused(edit(o1, "\"p\":\"20000\"", "\"p\":\"20000.001\""), NX_EPRECISION, "o.p",
                   "more digits than the scale");
    assert_refused(edit(o1, "\"p\":\"20000\"", "\"p\":\"2e4\""), NX_ESYNTAX, "o.p", "bad decimal");
    assert_refused(edit(o1, "\"p\":\"20000\"", "\"p\":true"), NX_ETYPE, "o.p", "not a decimal");
    assert_refused(edit(o1, "\"q\":\"0.010\"", "\"q\":\"\""), NX_ESYNTAX, "o.q", "bad decimal");
    assert_refused(edit(o1, "\"q\":\"0.010\"", "\"q\":\"99999999999999999\""), NX_EOVERFLOW, "o.q",
                   "out of range");
    assert_refused(edit(o1, "\"i\":238950797096", "\"i\":-1"), NX_ESYNTAX, "o.i", "bad integer");
    assert_refused(edit(o1, "\"i\":238950797096", "\"i\":18446744073709551616"), NX_ESYNTAX, "o.i",
                   "bad integer");
    assert_refused(edit(o1, "\"i\":238950797096", "\"i\":{}"), NX_ETYPE, "o.i", "bad integer");
    assert_refused(edit(o1, "\"m\":false", "\"m\":\"false\""), NX_ETYPE, "o.m",
                   "not true or false");
    assert_refused(edit(o1, "\"c\":\"web_w4Sot5R1ym9ChzWfGdAm\"", "\"c\":7"), NX_ETYPE, "o.c",
                   "not a string");
    assert_refused(edit(o1, "\"N\":\"USDT\"", "\"N\":\"A_VERY_LONG_ASSET\""), NX_ETOOLONG, "o.N",
                   "too long");
    /* a fill without its trade id */
    assert_refused(edit(o4, "\"t\":5612520599,", ""), NX_ESYNTAX, "o.t", "missing");
    /* optional keys sent as null or "" read as absent */
    assert_int_equal(
        decode(edit(edit(o1, "\"ap\":\"0\"", "\"ap\":null"), "\"rp\":\"0\"", "\"rp\":\"\"")), 0);
    assert_int_equal(M.u.order.avg_price, 0);

    /* TRADE_LITE, ALGO_UPDATE, ACCOUNT_UPDATE */
    assert_refused(edit(O.v[0], "\"t\":3181138052,", ""), NX_ESYNTAX, "t", "missing");
    assert_refused(edit(O.v[0], "\"L\":\"80.1900\"", "\"L\":\"80.1901\""), NX_EPRECISION, "L",
                   "more digits than the scale");
    assert_refused(edit(O.v[3], "\"X\":\"TRIGGERED\"", "\"X\":\"DONE\""), NX_ERANGE, "o.X",
                   "unknown value");
    assert_refused(edit(O.v[3], "\"caid\":\"algo-client\",", ""), NX_ESYNTAX, "o.caid", "missing");
    assert_refused(edit(O.v[3], "\"ai\":\"77\"", "\"ai\":\"7x\""), NX_ESYNTAX, "o.ai",
                   "bad integer");
    assert_refused(edit(O.v[1], ",\"m\":\"ORDER\"", ""), NX_ESYNTAX, "a.m", "missing");
    assert_refused(edit(O.v[1], "\"wb\":\"1.73744723\"", "\"wb\":\"1.737447231\""), NX_EPRECISION,
                   "a.B[].wb", "more digits than the scale");
    assert_refused(edit(O.v[1], "\"pa\":\"0.1\",", ""), NX_ESYNTAX, "a.P[].pa", "missing");
    assert_refused(edit(O.v[1], "\"P\":[{", "\"P\":[7,{"), NX_ETYPE, "a.P[]", "not an object");
    assert_refused(edit(O.v[1], "\"B\":[{", "\"B\":{\"x\":[{"), NX_ESYNTAX, "", "malformed JSON");
    assert_refused(
        edit(O.v[1],
             "\"B\":[{\"a\":\"USDT\",\"wb\":\"1.73744723\",\"cw\":\"1.73744723\",\"bc\":\"0\"}]",
             "\"B\":{}"),
        NX_ETYPE, "a.B", "not an array");
    assert_int_equal(nx_bnu_frame_decode(NULL, 0, &T, &M), NX_EINVAL);
    assert_int_equal(nx_bnu_frame_decode(o1, strlen(o1), NULL, &M), NX_EINVAL);
    assert_int_equal(nx_bnu_frame_decode(o1, strlen(o1), &T, NULL), NX_EINVAL);
    lines_free(&O);
    lines_free(&L);
}

/* Every proper prefix of every sample is an unfinished object: refused,
 * with a fault named, never a crash or a read past its end. */
static void test_prefixes(void **state)
{
    (void)state;
    const char *files[] = {"binance_orderTradeUpdate.jsonl", "binance_userData_other.jsonl"};
    unsigned tried = 0;
    for (int fi = 0; fi < 2; fi++) {
        lines_t L = samples(files[fi]);
        for (size_t i = 0; i < L.n; i++) {
            size_t len = strlen(L.v[i]);
            for (size_t n = 0; n < len; n++) {
                int rc = decode_n(L.v[i], n);
                if (rc >= 0 || !M.err.key || !M.err.what)
                    fail_msg("%s line %zu, %zu of %zu bytes: rc %d", files[fi], i + 1, n, len, rc);
                tried++;
            }
            assert_int_equal(decode_n(L.v[i], len), 0);
        }
        lines_free(&L);
    }
    printf("# %u prefixes refused\n", tried);
    assert_true(tried > 4000); /* 11 frames of 250-700 bytes */
}

/* Every byte of every sample replaced by a few others: a decode or a
 * refusal with the fault named, and a decoded frame's kind is one of the
 * six. */
static void test_byte_changes(void **state)
{
    (void)state;
    const char *files[] = {"binance_orderTradeUpdate.jsonl", "binance_userData_other.jsonl"};
    static const char subst[] = {'"', '0', '9', '.', '-', '{',  '}',  '[',       ']',
                                 ',', ':', ' ', 'e', 'X', '\\', '\0', (char)0xff};
    unsigned ok = 0, refused = 0;
    for (int fi = 0; fi < 2; fi++) {
        lines_t L = samples(files[fi]);
        for (size_t i = 0; i < L.n; i++) {
            size_t len = strlen(L.v[i]);
            char *s = malloc(len);
            for (size_t at = 0; at < len; at++) {
                for (size_t k = 0; k < sizeof subst; k++) {
                    memcpy(s, L.v[i], len);
                    s[at] = subst[k];
                    int rc = decode_n(s, len);
                    if (rc == 0) {
                        assert_true(M.kind >= NX_BNU_ORDER && M.kind <= NX_BNU_OTHER);
                        ok++;
                    } else {
                        assert_non_null(M.err.key);
                        assert_non_null(M.err.what);
                        refused++;
                    }
                }
            }
            free(s);
        }
        lines_free(&L);
    }
    printf("# one-byte changes: %u decoded, %u refused\n", ok, refused);
    assert_true(ok > 0 && refused > 0);
}

/* ---------- no allocation ---------- */

static void test_no_allocation(void **state)
{
    (void)state;
    lines_t L = samples("binance_orderTradeUpdate.jsonl");
    lines_t O = samples("binance_userData_other.jsonl");
    if (L.n != 7 || O.n != 4) {
        lines_free(&O);
        lines_free(&L);
        fail_msg("samples changed: %zu and %zu lines", L.n, O.n);
        return; /* not reached (cmocka jumps out); tells the analyzer so */
    }
    size_t lens[16] = {0};
    for (size_t i = 0; i < L.n; i++)
        lens[i] = strlen(L.v[i]);
    for (size_t i = 0; i < O.n; i++)
        lens[L.n + i] = strlen(O.v[i]);
#ifndef NX_NO_WRAP
    /* the counter sees an allocation (the wrap is linked in) */
    long probe = allocs;
    void *volatile p = malloc(16);
    free(p);
    assert_int_equal(allocs, probe + 1);
#endif
    long before = allocs;
    unsigned frames = 0;
    for (int round = 0; round < 1000; round++) {
        for (size_t i = 0; i < L.n; i++, frames++)
            if (nx_bnu_frame_decode(L.v[i], lens[i], &T, &M) != 0)
                fail_msg("line %zu refused", i + 1);
        for (size_t i = 0; i < O.n; i++, frames++)
            if (nx_bnu_frame_decode(O.v[i], lens[L.n + i], &T, &M) != 0)
                fail_msg("other line %zu refused", i + 1);
        /* a refused frame too */
        if (nx_bnu_frame_decode(L.v[3], lens[3] / 2, &T, &M) != NX_ESYNTAX)
            fail_msg("half a frame decoded");
        frames++;
    }
    long steady = allocs - before;
    printf("# %u frames decoded, %ld allocations\n", frames, steady);
    assert_int_equal(steady, 0);
    lines_free(&O);
    lines_free(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_samples),
        cmocka_unit_test(test_order_statuses),
        cmocka_unit_test(test_other_samples),
        cmocka_unit_test(test_envelope_and_key_order),
        cmocka_unit_test(test_liquidation_and_adl),
        cmocka_unit_test(test_other_events),
        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_averages_round),
        cmocka_unit_test(test_account_lists_cut),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_byte_changes),
        cmocka_unit_test(test_no_allocation),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
