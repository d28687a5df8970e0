/*
 * test_alpaca — Alpaca trading requests (nx/alpaca.h):
 *
 *  - the documentation's own bodies (tests/data/samples/alpaca_rest.jsonl
 *    lines 1 and 2: a bracket buy of SPY, a trailing-stop sell) come out
 *    byte for byte from the same order described in C;
 *  - OCO, OTO, limit with extended hours, stop-limit, trailing by percent,
 *    fractional shares and a client id, each the JSON written by hand from
 *    the documented fields (spec §3.3), and each parses as JSON;
 *  - what Alpaca refuses is refused before it is sent: fractional shares
 *    on anything but a simple market day order, extended hours on a
 *    market order, a bracket's target below its stop, a missing leg, a
 *    trailing leg, a trailing stop by price and percent at once;
 *  - replace bodies, the key headers and the stream's frames; a key with
 *    a line break (a header injection) is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "nx/alpaca.h"
#include "nx/bridge.h"
#include "nx/error.h"

#include "../sample_line.h"

static const nx_alpaca_req_t SPY = {"SPY", 2, 0};   /* whole shares */
static const nx_alpaca_req_t AAPL = {"AAPL", 2, 4}; /* fractional shares to 0.0001 */

static void body_is(const nx_alpaca_req_t *r, const nx_alpaca_order_t *o, const char *want)
{
    char buf[1024];
    int n = nx_alpaca_order_body(buf, sizeof buf, r, o);
    if (n < 0)
        fail_msg("refused (%d), wanted %s", n, want);
    assert_string_equal(buf, want);
    assert_int_equal((size_t)n, strlen(buf));
    json_t *j = json_loads(buf, 0, NULL);
    assert_non_null(j);
    json_decref(j);
}

static void test_documented_bodies(void **state)
{
    (void)state;
    nx_alpaca_order_t o = {.side = NX_SIDE_BUY,
                           .type = NX_ALP_MARKET,
                           .qty = 100,
                           .tif = NX_ALP_GTC,
                           .order_class = NX_ALP_BRACKET,
                           .take_profit = 30100,
                           .stop_loss = 29900,
                           .stop_limit = 29850};
    body_is(&SPY, &o, sample_line("alpaca_rest.jsonl", 1));
    o = (nx_alpaca_order_t){.side = NX_SIDE_SELL,
                            .type = NX_ALP_TRAILING_STOP,
                            .qty = 100,
                            .tif = NX_ALP_DAY,
                            .trail_price = 615};
    body_is(&SPY, &o, sample_line("alpaca_rest.jsonl", 2));
}

static void test_other_orders(void **state)
{
    (void)state;
    /* an OCO closing a long: a sell whose target is above its stop; a
     * limit order whose limit is the target's */
    nx_alpaca_order_t o = {.side = NX_SIDE_SELL,
                           .type = NX_ALP_LIMIT,
                           .qty = 100,
                           .tif = NX_ALP_GTC,
                           .order_class = NX_ALP_OCO,
                           .take_profit = 30100,
                           .stop_loss = 29900,
                           .client_id = 0x7b};
    body_is(&SPY, &o,
            "{\"side\":\"sell\",\"symbol\":\"SPY\",\"type\":\"limit\",\"qty\":\"100\","
            "\"time_in_force\":\"gtc\",\"order_class\":\"oco\",\"take_profit\":{\"limit_price\":"
            "\"301\"},\"stop_loss\":{\"stop_price\":\"299\"},\"client_order_id\":\"nx-7b\"}");
    /* OTO: an entry and its stop */
    o = (nx_alpaca_order_t){.side = NX_SIDE_BUY,
                            .type = NX_ALP_LIMIT,
                            .qty = 10,
                            .limit_price = 30005,
                            .tif = NX_ALP_DAY,
                            .order_class = NX_ALP_OTO,
                            .stop_loss = 29500};
    body_is(&SPY, &o,
            "{\"side\":\"buy\",\"symbol\":\"SPY\",\"type\":\"limit\",\"qty\":\"10\","
            "\"time_in_force\":\"day\",\"limit_price\":\"300.05\",\"order_class\":\"oto\","
            "\"stop_loss\":{\"stop_price\":\"295\"}}");
    /* a limit order in extended hours; a stop-limit; a trailing stop of 1.5% */
    o = (nx_alpaca_order_t){.side = NX_SIDE_BUY,
                            .type = NX_ALP_LIMIT,
                            .qty = 5,
                            .limit_price = 18999,
                            .tif = NX_ALP_DAY,
                            .extended_hours = 1};
    body_is(&SPY, &o,
            "{\"side\":\"buy\",\"symbol\":\"SPY\",\"type\":\"limit\",\"qty\":\"5\","
            "\"time_in_force\":\"day\",\"limit_price\":\"189.99\",\"extended_hours\":true}");
    o = (nx_alpaca_order_t){.side = NX_SIDE_SELL,
                            .type = NX_ALP_STOP_LIMIT,
                            .qty = 5,
                            .stop_price = 18000,
                            .limit_price = 17950,
                            .tif = NX_ALP_GTC};
    body_is(&SPY, &o,
            "{\"side\":\"sell\",\"symbol\":\"SPY\",\"type\":\"stop_limit\",\"qty\":\"5\","
            "\"time_in_force\":\"gtc\",\"limit_price\":\"179.5\",\"stop_price\":\"180\"}");
    o = (nx_alpaca_order_t){.side = NX_SIDE_SELL,
                            .type = NX_ALP_TRAILING_STOP,
                            .qty = 5,
                            .trail_bp = 150,
                            .tif = NX_ALP_GTC};
    body_is(&SPY, &o,
            "{\"side\":\"sell\",\"symbol\":\"SPY\",\"type\":\"trailing_stop\",\"qty\":\"5\","
            "\"time_in_force\":\"gtc\",\"trail_percent\":\"1.5\"}");
    /* fractional shares: a simple market order for the day */
    o = (nx_alpaca_order_t){
        .side = NX_SIDE_BUY, .type = NX_ALP_MARKET, .qty = 12500, .tif = NX_ALP_DAY};
    body_is(&AAPL, &o,
            "{\"side\":\"buy\",\"symbol\":\"AAPL\",\"type\":\"market\",\"qty\":\"1.25\","
            "\"time_in_force\":\"day\"}");
}

static void refused(const nx_alpaca_req_t *r, nx_alpaca_order_t o, const char *why)
{
    char buf[1024];
    int n = nx_alpaca_order_body(buf, sizeof buf, r, &o);
    if (n != NX_EINVAL)
        fail_msg("%s: not refused (%d): %s", why, n, n > 0 ? buf : "");
}

static void test_refused(void **state)
{
    (void)state;
    const nx_alpaca_order_t mkt = {
        .side = NX_SIDE_BUY, .type = NX_ALP_MARKET, .qty = 10000, .tif = NX_ALP_DAY};
    nx_alpaca_order_t o = mkt;
    o.qty = 12500;
    o.tif = NX_ALP_GTC;
    refused(&AAPL, o, "fractional gtc");
    o = mkt;
    o.qty = 12500;
    o.type = NX_ALP_LIMIT;
    o.limit_price = 100;
    refused(&AAPL, o, "fractional limit");
    o = mkt;
    o.extended_hours = 1;
    refused(&AAPL, o, "extended hours on a market order");
    o = mkt;
    o.order_class = NX_ALP_BRACKET;
    o.take_profit = 29900;
    o.stop_loss = 30100;
    refused(&SPY, o, "a bracket buy with its target below its stop");
    o.take_profit = 30100;
    o.stop_loss = 0;
    refused(&SPY, o, "a bracket without its stop");
    o.stop_loss = 29900;
    o.stop_limit = 30000;
    refused(&SPY, o, "a bracket stop whose limit is above its stop");
    o.stop_limit = 0;
    o.tif = NX_ALP_IOC;
    refused(&SPY, o, "a bracket in ioc");
    o = (nx_alpaca_order_t){.side = NX_SIDE_SELL,
                            .type = NX_ALP_TRAILING_STOP,
                            .qty = 1,
                            .tif = NX_ALP_DAY,
                            .trail_price = 100,
                            .trail_bp = 100};
    refused(&SPY, o, "trailing by price and percent");
    o.trail_bp = 0;
    o.order_class = NX_ALP_BRACKET;
    o.take_profit = 100;
    o.stop_loss = 200;
    refused(&SPY, o, "a trailing bracket");
    o = mkt;
    o.qty = 1;
    o.order_class = NX_ALP_OCO;
    o.take_profit = 30100;
    o.stop_loss = 29900;
    refused(&SPY, o, "an OCO that is not a limit order");
    o = mkt;
    o.qty = 1;
    o.type = NX_ALP_LIMIT;
    refused(&SPY, o, "a limit without its price");
    o = mkt;
    o.qty = 0;
    refused(&SPY, o, "no quantity");
    const nx_alpaca_req_t bad = {"SPY\",\"side\":\"sell", 2, 0};
    refused(&bad, mkt, "a symbol that would leave its string");
    char buf[16];
    assert_int_equal(nx_alpaca_order_body(buf, sizeof buf, &SPY, &mkt), NX_ETOOLONG);
}

static void test_replace_and_keys(void **state)
{
    (void)state;
    char buf[256];
    assert_true(nx_alpaca_replace_body(buf, sizeof buf, &SPY, 0, 30050, 0, 0) > 0);
    assert_string_equal(buf, "{\"limit_price\":\"300.5\"}");
    assert_true(nx_alpaca_replace_body(buf, sizeof buf, &SPY, 20, 0, 0, 250) > 0);
    assert_string_equal(buf, "{\"qty\":\"20\",\"trail\":\"2.5\"}");
    assert_int_equal(nx_alpaca_replace_body(buf, sizeof buf, &SPY, 0, 0, 0, 0), NX_EINVAL);
    assert_true(nx_alpaca_auth_headers(buf, sizeof buf, "PKTEST1", "SECRET2") > 0);
    assert_string_equal(buf, "APCA-API-KEY-ID: PKTEST1\r\nAPCA-API-SECRET-KEY: SECRET2\r\n");
    assert_int_equal(nx_alpaca_auth_headers(buf, sizeof buf, "PK\r\nX-Evil: 1", "S"), NX_EINVAL);
    assert_true(nx_alpaca_ws_auth(buf, sizeof buf, "PKTEST1", "SECRET2") > 0);
    assert_string_equal(buf, "{\"action\":\"authenticate\",\"data\":{\"key_id\":\"PKTEST1\","
                             "\"secret_key\":\"SECRET2\"}}");
    assert_int_equal(nx_alpaca_ws_auth(buf, sizeof buf, "PK\"", "S"), NX_EINVAL);
    assert_true(nx_alpaca_ws_listen(buf, sizeof buf) > 0);
    assert_string_equal(buf, "{\"action\":\"listen\",\"data\":{\"streams\":[\"trade_updates\"]}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documented_bodies),
        cmocka_unit_test(test_other_orders),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_replace_and_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
