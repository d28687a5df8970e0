/*
 * test_bybit — Bybit V5 requests serialized and signed (nx/bybit.h).
 *
 *  - signatures: the vectors of spec/exchanges.md §2.4 and §2.6 (the
 *    docs' plaintexts signed with secret TEST_SECRET), byte for byte;
 *  - every body is the JSON written out by hand here from the documented
 *    fields (§2.5: prices and quantities as strings, positionIdx a
 *    number, reduceOnly a boolean), parses as JSON, and its REST headers
 *    sign exactly those bytes (checked with OpenSSL's own HMAC, not
 *    ours);
 *  - the trade API's frame carries the same body, a string timestamp
 *    header and no signature; the auth frame is the documented shape;
 *  - each documented retCode has its outcome and words;
 *  - what is not a valid request is refused, and nothing is written past
 *    the buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "nx/bybit.h"
#include "nx/bridge.h"
#include "nx/error.h"
#include "nx/hmac.h"

static nx_hmac_key_t *key; /* TEST_SECRET, the spec's */

static int setup(void **state)
{
    (void)state;
    return nx_hmac_key_create(&key, "TEST_SECRET", 11);
}

static int teardown(void **state)
{
    (void)state;
    nx_hmac_key_free(key);
    return 0;
}

static nx_bybit_req_t btc(void)
{
    return (nx_bybit_req_t){.category = "linear",
                            .symbol = "BTCUSDT",
                            .price_scale = 2,
                            .qty_scale = 3,
                            .timestamp_ms = 1658385579423,
                            .recv_window_ms = 5000,
                            .key = key,
                            .api_key = "XXXXXXXXXX"};
}

/* OpenSSL's HMAC-SHA256 of msg as lower-case hex: the reference. */
static void openssl_hex(const char *msg, size_t len, char out[65])
{
    unsigned char mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "TEST_SECRET", 11, (const unsigned char *)msg, len, mac, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

static void test_spec_vectors(void **state)
{
    (void)state;
    nx_bybit_req_t r = btc();
    char hex[NX_HMAC_HEX_LEN + 1] = "";
    /* GET: timestamp + key + recv window + query (§2.4) */
    r.timestamp_ms = 1658384314791;
    assert_int_equal(nx_bybit_sign(&r, "category=option&symbol=BTC-29JUL22-25000-C", 42, hex), 0);
    assert_string_equal(hex, "5baaf0068f5b69812dce0d00afa14c6496a5fec0daeb25b2f3ebde3aba2043a3");
    /* POST: the raw body */
    r.timestamp_ms = 1658385579423;
    const char *body =
        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\",\"orderType\":\"Market\","
        "\"qty\":\"0.001\"}";
    assert_int_equal(nx_bybit_sign(&r, body, strlen(body), hex), 0);
    assert_string_equal(hex, "df868a2e3ae66ce13a7e539173f3fee29d4ad643454713703989b34d03cea388");
    /* the private stream's auth (§2.6) */
    char buf[512];
    int n = nx_bybit_ws_auth(buf, sizeof buf, key, "XXXXXXXXXX", 1662350400000, 7);
    assert_true(n > 0);
    assert_string_equal(buf,
                        "{\"req_id\":\"7\",\"op\":\"auth\",\"args\":[\"XXXXXXXXXX\","
                        "1662350400000,"
                        "\"3bb8ca2f636ef247204255cfc8d279254c025f1573f5563159121ac165f4f0a8\"]}");
    assert_int_equal((size_t)n, strlen(buf));
}

/* body is valid JSON, and the REST headers for it sign exactly its bytes. */
static void check_signed(const nx_bybit_req_t *r, const char *body, int n)
{
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(body));
    json_error_t err;
    json_t *j = json_loads(body, 0, &err);
    if (!j)
        fail_msg("not JSON (%s): %s", err.text, body);
    json_decref(j);
    char h[512], pre[1024], want[65];
    int hn = nx_bybit_rest_headers(h, sizeof h, r, body, (size_t)n);
    assert_true(hn > 0);
    int pn = snprintf(pre, sizeof pre, "%lld%s%u%s", (long long)r->timestamp_ms, r->api_key,
                      r->recv_window_ms ? r->recv_window_ms : 5000, body);
    openssl_hex(pre, (size_t)pn, want);
    char expect[512];
    snprintf(expect, sizeof expect,
             "X-BAPI-API-KEY: %s\r\nX-BAPI-TIMESTAMP: %lld\r\nX-BAPI-RECV-WINDOW: %u\r\n"
             "X-BAPI-SIGN: %s\r\n",
             r->api_key, (long long)r->timestamp_ms, r->recv_window_ms ? r->recv_window_ms : 5000,
             want);
    assert_string_equal(h, expect);
}

static void test_order_bodies(void **state)
{
    (void)state;
    nx_bybit_req_t r = btc();
    char buf[1024];
    /* the spec's market order, byte for byte (positionIdx: one-way mode) */
    nx_ev_order_intent_t in = {
        .side = NX_SIDE_BUY, .order_type = NX_ORD_MARKET, .qty = 1}; /* 0.001 */
    int n = nx_bybit_order_body(buf, sizeof buf, &r, &in);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\","
                             "\"orderType\":\"Market\",\"qty\":\"0.001\",\"positionIdx\":0}");
    check_signed(&r, buf, n);
    /* the docs' limit order (§2.5): sell 1 at 30000 GTC, reduce-only, with
     * our id; and an entry with its stop and target on the order */
    in = (nx_ev_order_intent_t){.client_id = 0x2a0001,
                                .side = NX_SIDE_SELL,
                                .order_type = NX_ORD_LIMIT,
                                .qty = 1000,
                                .price = 3000000,
                                .reduce_only = 1};
    n = nx_bybit_order_body(buf, sizeof buf, &r, &in);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Sell\","
                             "\"orderType\":\"Limit\",\"qty\":\"1\",\"price\":\"30000\","
                             "\"timeInForce\":\"GTC\",\"positionIdx\":0,"
                             "\"orderLinkId\":\"nx-2a0001\",\"reduceOnly\":true}");
    check_signed(&r, buf, n);
    in = (nx_ev_order_intent_t){.client_id = 0x2a0002,
                                .side = NX_SIDE_BUY,
                                .order_type = NX_ORD_MARKET,
                                .qty = 15,
                                .stop_loss = 2950050,
                                .take_profit = 3100000};
    n = nx_bybit_order_body(buf, sizeof buf, &r, &in);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"side\":\"Buy\","
                             "\"orderType\":\"Market\",\"qty\":\"0.015\",\"positionIdx\":0,"
                             "\"orderLinkId\":\"nx-2a0002\",\"takeProfit\":\"31000\","
                             "\"stopLoss\":\"29500.5\",\"tpslMode\":\"Full\"}");
    check_signed(&r, buf, n);
    /* spot: no position index, no position-linked mode */
    nx_bybit_req_t s = r;
    s.category = "spot";
    in = (nx_ev_order_intent_t){.side = NX_SIDE_SELL, .order_type = NX_ORD_MARKET, .qty = 2};
    n = nx_bybit_order_body(buf, sizeof buf, &s, &in);
    assert_string_equal(buf, "{\"category\":\"spot\",\"symbol\":\"BTCUSDT\",\"side\":\"Sell\","
                             "\"orderType\":\"Market\",\"qty\":\"0.002\"}");
    check_signed(&s, buf, n);
}

static void test_management_bodies(void **state)
{
    (void)state;
    nx_bybit_req_t r = btc();
    r.recv_window_ms = 0; /* the venue's default, 5000, is what is signed and sent */
    char buf[1024];
    int n = nx_bybit_amend_body(buf, sizeof buf, &r, 0x2a0001, 0, 3010000);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
                             "\"orderLinkId\":\"nx-2a0001\",\"price\":\"30100\"}");
    check_signed(&r, buf, n);
    n = nx_bybit_amend_body(buf, sizeof buf, &r, 0x2a0001, 500, 3010000);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
                             "\"orderLinkId\":\"nx-2a0001\",\"qty\":\"0.5\",\"price\":\"30100\"}");
    check_signed(&r, buf, n);
    n = nx_bybit_cancel_body(buf, sizeof buf, &r, 0xff);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
                             "\"orderLinkId\":\"nx-ff\"}");
    check_signed(&r, buf, n);
    /* cancel-all: every kind of order of the symbol, so no orderFilter */
    n = nx_bybit_cancel_all_body(buf, sizeof buf, &r);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\"}");
    check_signed(&r, buf, n);
    /* the position's protection in one call: stop, target and a trailing
     * stop 150.00 away that arms at 31000 */
    nx_bybit_protect_t p = {
        .take_profit = 3200000, .stop_loss = 2900000, .trailing = 15000, .active_price = 3100000};
    n = nx_bybit_protect_body(buf, sizeof buf, &r, &p);
    assert_string_equal(buf,
                        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"tpslMode\":\"Full\","
                        "\"positionIdx\":0,\"takeProfit\":\"32000\",\"stopLoss\":\"29000\","
                        "\"trailingStop\":\"150\",\"activePrice\":\"31000\"}");
    check_signed(&r, buf, n);
    /* "0" cancels: the target cancelled, the stop moved, the rest left */
    p = (nx_bybit_protect_t){.take_profit = NX_BYBIT_CANCEL, .stop_loss = 3000001};
    n = nx_bybit_protect_body(buf, sizeof buf, &r, &p);
    assert_string_equal(buf,
                        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"tpslMode\":\"Full\","
                        "\"positionIdx\":0,\"takeProfit\":\"0\",\"stopLoss\":\"30000.01\"}");
    check_signed(&r, buf, n);
    n = nx_bybit_leverage_body(buf, sizeof buf, &r, 7);
    assert_string_equal(buf, "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
                             "\"buyLeverage\":\"7\",\"sellLeverage\":\"7\"}");
    check_signed(&r, buf, n);
}

static void test_ws_trade_frame(void **state)
{
    (void)state;
    nx_bybit_req_t r = btc();
    char body[512], buf[1024];
    nx_ev_order_intent_t in = {
        .client_id = 9, .side = NX_SIDE_BUY, .order_type = NX_ORD_MARKET, .qty = 1};
    int bn = nx_bybit_order_body(body, sizeof body, &r, &in);
    int n = nx_bybit_ws_trade(buf, sizeof buf, &r, 12, "order.create", body, (size_t)bn);
    assert_true(n > 0);
    char want[1024];
    snprintf(want, sizeof want,
             "{\"reqId\":\"12\",\"header\":{\"X-BAPI-TIMESTAMP\":\"1658385579423\","
             "\"X-BAPI-RECV-WINDOW\":\"5000\"},\"op\":\"order.create\",\"args\":[%s]}",
             body);
    assert_string_equal(buf, want);
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    /* the documented types: reqId and the header's values are strings */
    assert_true(json_is_string(json_object_get(j, "reqId")));
    assert_true(json_is_string(json_object_get(json_object_get(j, "header"), "X-BAPI-TIMESTAMP")));
    assert_int_equal(json_array_size(json_object_get(j, "args")), 1);
    json_decref(j);
    assert_int_equal(nx_bybit_ws_trade(buf, sizeof buf, &r, 1, "order.delete", body, (size_t)bn),
                     NX_EINVAL);
    assert_int_equal(nx_bybit_ws_trade(buf, sizeof buf, &r, 1, "order.cancel", "x", 1), NX_EINVAL);
}

static void test_outcomes(void **state)
{
    (void)state;
    static const struct {
        long code;
        nx_bybit_outcome_t want;
        const char *words;
    } t[] = {
        {0, NX_BYBIT_DONE, "accepted"},
        {110043, NX_BYBIT_UNCHANGED, "leverage was already set"},
        {34040, NX_BYBIT_UNCHANGED, "already set"},
        {110072, NX_BYBIT_DUPLICATE, "already sent"},
        {10002, NX_BYBIT_CLOCK, "clock"},
        {10006, NX_BYBIT_BACKOFF, "rate limit"},
        {10016, NX_BYBIT_UNKNOWN, "internal error"},
        {10003, NX_BYBIT_AUTH, "testnet key"},
        {10004, NX_BYBIT_AUTH, "secret"},
        {10005, NX_BYBIT_AUTH, "permission"},
        {10010, NX_BYBIT_AUTH, "IP address"},
        {110001, NX_BYBIT_NOT_FOUND, "does not exist"},
        {110007, NX_BYBIT_REJECTED, "insufficient balance"},
        {110017, NX_BYBIT_REJECTED, "too small"},
        {110092, NX_BYBIT_REJECTED, "wrong side"},
        {10001, NX_BYBIT_REJECTED, "parameter"},
        {999999, NX_BYBIT_REJECTED, "refused"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        assert_int_equal(nx_bybit_outcome(t[i].code), t[i].want);
        if (!strstr(nx_bybit_ret_words(t[i].code), t[i].words))
            fail_msg("%ld: \"%s\"", t[i].code, nx_bybit_ret_words(t[i].code));
    }
}

static void test_refusals(void **state)
{
    (void)state;
    nx_bybit_req_t r = btc();
    char buf[1024];
    nx_ev_order_intent_t in = {.side = NX_SIDE_BUY, .order_type = NX_ORD_MARKET, .qty = 1};
    /* a symbol that would break out of its JSON string */
    nx_bybit_req_t bad = r;
    bad.symbol = "BTC\",\"side\":\"Sell";
    assert_int_equal(nx_bybit_order_body(buf, sizeof buf, &bad, &in), NX_EINVAL);
    /* no quantity; a limit without a price; a stop order (not an order here) */
    in.qty = 0;
    assert_int_equal(nx_bybit_order_body(buf, sizeof buf, &r, &in), NX_EINVAL);
    in = (nx_ev_order_intent_t){.side = NX_SIDE_BUY, .order_type = NX_ORD_LIMIT, .qty = 1};
    assert_int_equal(nx_bybit_order_body(buf, sizeof buf, &r, &in), NX_EINVAL);
    in.order_type = NX_ORD_STOP_MARKET;
    in.price = 1;
    assert_int_equal(nx_bybit_order_body(buf, sizeof buf, &r, &in), NX_EINVAL);
    /* protection with nothing in it, an activation without a trailing
     * stop, and on spot (no position there) */
    nx_bybit_protect_t p = {0};
    assert_int_equal(nx_bybit_protect_body(buf, sizeof buf, &r, &p), NX_EINVAL);
    p = (nx_bybit_protect_t){.stop_loss = 1, .active_price = 5};
    assert_int_equal(nx_bybit_protect_body(buf, sizeof buf, &r, &p), NX_EINVAL);
    nx_bybit_req_t s = r;
    s.category = "spot";
    p = (nx_bybit_protect_t){.stop_loss = 1};
    assert_int_equal(nx_bybit_protect_body(buf, sizeof buf, &s, &p), NX_EINVAL);
    assert_int_equal(nx_bybit_leverage_body(buf, sizeof buf, &r, 0), NX_EINVAL);
    assert_int_equal(nx_bybit_leverage_body(buf, sizeof buf, &r, 101), NX_EINVAL);
    assert_int_equal(nx_bybit_amend_body(buf, sizeof buf, &r, 1, 0, 0), NX_EINVAL);
    assert_int_equal(nx_bybit_cancel_body(buf, sizeof buf, &r, 0), NX_EINVAL);
    /* too small a buffer: refused, and nothing written past it */
    in = (nx_ev_order_intent_t){.side = NX_SIDE_BUY, .order_type = NX_ORD_MARKET, .qty = 1};
    memset(buf, '#', sizeof buf);
    assert_int_equal(nx_bybit_order_body(buf, 40, &r, &in), NX_ETOOLONG);
    assert_int_equal(buf[40], '#');
    assert_int_equal(nx_bybit_rest_headers(buf, 60, &r, "{}", 2), NX_ETOOLONG);
    assert_int_equal(buf[60], '#');
    /* no key, an API key with a quote in it */
    nx_bybit_req_t nk = r;
    nk.key = NULL;
    char hex[NX_HMAC_HEX_LEN];
    assert_int_equal(nx_bybit_sign(&nk, "{}", 2, hex), NX_EINVAL);
    nk = r;
    nk.api_key = "ab\"c";
    assert_int_equal(nx_bybit_sign(&nk, "{}", 2, hex), NX_EINVAL);
    assert_int_equal(nx_bybit_ws_auth(buf, sizeof buf, key, "ab\"c", 1, 1), NX_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_vectors),      cmocka_unit_test(test_order_bodies),
        cmocka_unit_test(test_management_bodies), cmocka_unit_test(test_ws_trade_frame),
        cmocka_unit_test(test_outcomes),          cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
