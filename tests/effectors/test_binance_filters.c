/*
 * test_binance_filters.c — Binance USD-M symbol filters from an exchangeInfo
 * body: every value at the symbol's scales, each filter's boundary from both
 * sides with the venue's error code and the sentence people read, the
 * rounding helpers, and the load's refusals (a symbol missing, a filter too
 * fine for Nexus's scale, a symbol not TRADING, malformed JSON).
 *
 * Expected values are worked out by hand in the comments beside them, from
 * the filter strings below, not from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "nx/binance_filters.h"
#include "nx/error.h"

/*
 * The exchangeInfo excerpt. The project holds no captured exchangeInfo body
 * (tests/data, /work/shared/spec/samples and uplink/src/replay.c have none
 * with filters), so:
 *  - BLZUSDT is the response example of Binance's USD-M docs, "Exchange
 *    Information" (GET /fapi/v1/exchangeInfo,
 *    developers.binance.com/docs/derivatives/usds-margined-futures/market-data/rest-api/Exchange-Information),
 *    with the example's trailing comma after "notional": "5.0" removed (it is
 *    not valid JSON) and its comments dropped;
 *  - BTCUSDT and XYZUSDT are CONSTRUCTED: BTCUSDT with values of the shape
 *    the live listing uses (multiplierDecimal as a string, as Binance's SDK
 *    changelog 5.0.0 records), XYZUSDT with a minimum that is not a multiple
 *    of its tick and step, so the documented rules "(price - minPrice) %
 *    tickSize" and "(quantity - minQty) % stepSize" differ from a plain
 *    "% tickSize"; it has no MARKET_LOT_SIZE and no MIN_NOTIONAL;
 *  - ETHUSDT is listed SETTLING with a tick far finer than any scale: it is
 *    not in the symtab of most tests, so neither matters there.
 */
static const char EXCHANGE_INFO[] =
    "{\"timezone\":\"UTC\",\"serverTime\":1565613908500,"
    "\"rateLimits\":[{\"interval\":\"MINUTE\",\"intervalNum\":1,\"limit\":2400,"
    "\"rateLimitType\":\"REQUEST_WEIGHT\"},{\"interval\":\"MINUTE\",\"intervalNum\":1,"
    "\"limit\":1200,\"rateLimitType\":\"ORDERS\"}],"
    "\"exchangeFilters\":[],"
    "\"assets\":[{\"asset\":\"USDT\",\"marginAvailable\":true,\"autoAssetExchange\":0}],"
    "\"symbols\":["
    /* the docs' example */
    "{\"symbol\":\"BLZUSDT\",\"pair\":\"BLZUSDT\",\"contractType\":\"PERPETUAL\","
    "\"deliveryDate\":4133404800000,\"onboardDate\":1598252400000,\"status\":\"TRADING\","
    "\"maintMarginPercent\":\"2.5000\",\"requiredMarginPercent\":\"5.0000\","
    "\"baseAsset\":\"BLZ\",\"quoteAsset\":\"USDT\",\"marginAsset\":\"USDT\","
    "\"pricePrecision\":5,\"quantityPrecision\":0,\"baseAssetPrecision\":8,"
    "\"quotePrecision\":8,\"underlyingType\":\"COIN\",\"underlyingSubType\":[\"STORAGE\"],"
    "\"settlePlan\":0,\"triggerProtect\":\"0.15\","
    "\"filters\":["
    "{\"filterType\":\"PRICE_FILTER\",\"maxPrice\":\"300\",\"minPrice\":\"0.0001\","
    "\"tickSize\":\"0.0001\"},"
    "{\"filterType\":\"LOT_SIZE\",\"maxQty\":\"10000000\",\"minQty\":\"1\",\"stepSize\":\"1\"},"
    "{\"filterType\":\"MARKET_LOT_SIZE\",\"maxQty\":\"590119\",\"minQty\":\"1\","
    "\"stepSize\":\"1\"},"
    "{\"filterType\":\"MAX_NUM_ORDERS\",\"limit\":200},"
    "{\"filterType\":\"MAX_NUM_ALGO_ORDERS\",\"limit\":10},"
    "{\"filterType\":\"MIN_NOTIONAL\",\"notional\":\"5.0\"},"
    "{\"filterType\":\"PERCENT_PRICE\",\"multiplierUp\":\"1.1500\","
    "\"multiplierDown\":\"0.8500\",\"multiplierDecimal\":4}],"
    "\"OrderType\":[\"LIMIT\",\"MARKET\",\"STOP\",\"STOP_MARKET\",\"TAKE_PROFIT\","
    "\"TAKE_PROFIT_MARKET\",\"TRAILING_STOP_MARKET\"],"
    "\"timeInForce\":[\"GTC\",\"IOC\",\"FOK\",\"GTX\"],"
    "\"liquidationFee\":\"0.010000\",\"marketTakeBound\":\"0.30\"},"
    /* CONSTRUCTED */
    "{\"symbol\":\"BTCUSDT\",\"status\":\"TRADING\",\"pricePrecision\":2,"
    "\"quantityPrecision\":3,\"filters\":["
    "{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"261.10\",\"maxPrice\":\"809484\","
    "\"tickSize\":\"0.10\"},"
    "{\"filterType\":\"LOT_SIZE\",\"minQty\":\"0.001\",\"maxQty\":\"1000\","
    "\"stepSize\":\"0.001\"},"
    "{\"filterType\":\"MARKET_LOT_SIZE\",\"minQty\":\"0.001\",\"maxQty\":\"120\","
    "\"stepSize\":\"0.001\"},"
    "{\"filterType\":\"MAX_NUM_ORDERS\",\"limit\":200},"
    "{\"filterType\":\"MAX_NUM_ALGO_ORDERS\",\"limit\":10},"
    "{\"filterType\":\"MIN_NOTIONAL\",\"notional\":\"100\"},"
    "{\"filterType\":\"PERCENT_PRICE\",\"multiplierUp\":\"1.0500\","
    "\"multiplierDown\":\"0.9500\",\"multiplierDecimal\":\"4\"},"
    "{\"filterType\":\"POSITION_RISK_CONTROL\",\"positionControlSide\":\"NONE\"}]},"
    "{\"symbol\":\"XYZUSDT\",\"status\":\"TRADING\",\"pricePrecision\":2,"
    "\"quantityPrecision\":3,\"filters\":["
    "{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"0.05\",\"maxPrice\":\"1000\","
    "\"tickSize\":\"0.02\"},"
    "{\"filterType\":\"LOT_SIZE\",\"minQty\":\"0.005\",\"maxQty\":\"10\","
    "\"stepSize\":\"0.002\"}]},"
    "{\"symbol\":\"ETHUSDT\",\"status\":\"SETTLING\",\"filters\":["
    "{\"filterType\":\"PRICE_FILTER\",\"tickSize\":\"0.0000000001\"}]}"
    "]}";

static nx_symtab_t T;
static nx_bn_filters_t F[8];
static uint32_t BTC, BYBIT_BTC, BLZ, XYZ;
static char why[256];

/* BTCUSDT at prices x 10^2, quantities x 10^3; BLZUSDT at 10^6 and 10^1
 * (one price digit finer than its pricePrecision 5, one quantity digit finer
 * than its quantityPrecision 0, so -1111 can be reached); XYZUSDT at 10^2,
 * 10^3; a Bybit BTCUSDT that the Binance listing must not touch. */
static void symtab(int with_eth)
{
    nx_symtab_init(&T);
    BTC = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 10000, NULL);
    BYBIT_BTC = (uint32_t)nx_symtab_add(&T, NX_VENUE_BYBIT_LINEAR, "BTCUSDT", 2, 3, 10, 1, 0, NULL);
    BLZ = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "BLZUSDT", 6, 1, 100, 10, 0, NULL);
    XYZ = (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "XYZUSDT", 2, 3, 2, 2, 0, NULL);
    if (with_eth)
        nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "ETHUSDT", 2, 3, 1, 1, 0, NULL);
}

static int load(const char *body)
{
    return nx_bn_filters_load(body, strlen(body), &T, F, 8, why, sizeof why);
}

static int setup(void **state)
{
    (void)state;
    symtab(0);
    int rc = load(EXCHANGE_INFO);
    if (rc != 0)
        fprintf(stderr, "load: %s\n", why);
    return rc;
}

static nx_ev_order_intent_t order(uint8_t type, uint8_t side, int64_t price, int64_t qty)
{
    return (nx_ev_order_intent_t){.client_id = 1,
                                  .price = price,
                                  .qty = qty,
                                  .session = 1,
                                  .side = side,
                                  .order_type = type,
                                  .leverage = 1};
}

/* Check and return the venue code; NX code into *rc. */
static int venue(uint32_t sym, const nx_ev_order_intent_t *in, int64_t ref, int64_t mark, int *rc)
{
    int vc = 12345;
    *rc = nx_bn_filters_check(&F[sym], in, ref, mark, &vc, why, sizeof why);
    return vc;
}

/* 0 and venue code 0, or the test fails showing why. */
static void accepted(uint32_t sym, nx_ev_order_intent_t in, int64_t ref, int64_t mark)
{
    int rc, vc = venue(sym, &in, ref, mark, &rc);
    if (rc != 0)
        fprintf(stderr, "refused: %s\n", why);
    assert_int_equal(rc, 0);
    assert_int_equal(vc, 0);
}

static void refused(uint32_t sym, nx_ev_order_intent_t in, int64_t ref, int64_t mark, int want_rc,
                    int want_vc, const char *want_why)
{
    int rc, vc = venue(sym, &in, ref, mark, &rc);
    assert_int_equal(rc, want_rc);
    assert_int_equal(vc, want_vc);
    if (want_why)
        assert_string_equal(why, want_why);
}

#define L  NX_ORD_LIMIT
#define M  NX_ORD_MARKET
#define SM NX_ORD_STOP_MARKET
#define B  NX_SIDE_BUY
#define S  NX_SIDE_SELL

static void test_load_values(void **state)
{
    (void)state;
    const nx_bn_filters_t *b = &F[BLZ];
    assert_int_equal(b->loaded, 1);
    assert_int_equal(b->symbol, BLZ);
    /* BLZUSDT at price scale 6, quantity scale 1 */
    assert_int_equal(b->min_price, 100);        /* 0.0001 x 10^6 */
    assert_int_equal(b->max_price, 300000000);  /* 300 x 10^6 */
    assert_int_equal(b->tick_size, 100);        /* 0.0001 x 10^6 */
    assert_int_equal(b->min_qty, 10);           /* 1 x 10 */
    assert_int_equal(b->max_qty, 100000000);    /* 10000000 x 10 */
    assert_int_equal(b->step_size, 10);         /* 1 x 10 */
    assert_int_equal(b->mkt_min_qty, 10);       /* 1 x 10 */
    assert_int_equal(b->mkt_max_qty, 5901190);  /* 590119 x 10 */
    assert_int_equal(b->mkt_step_size, 10);     /* 1 x 10 */
    assert_int_equal(b->min_notional, 5000000); /* 5.0 x 10^6 */
    assert_int_equal(b->mult_decimal, 4);
    assert_int_equal(b->mult_up, 11500);  /* 1.1500 x 10^4 */
    assert_int_equal(b->mult_down, 8500); /* 0.8500 x 10^4 */
    assert_int_equal(b->max_orders, 200);
    assert_int_equal(b->max_algo_orders, 10);
    assert_int_equal(b->price_decimals, 5); /* pricePrecision 5 < scale 6 */
    assert_int_equal(b->qty_decimals, 0);   /* quantityPrecision 0 */

    const nx_bn_filters_t *t = &F[BTC];
    assert_int_equal(t->loaded, 1);
    assert_int_equal(t->min_price, 26110);    /* 261.10 x 100 */
    assert_int_equal(t->max_price, 80948400); /* 809484 x 100 */
    assert_int_equal(t->tick_size, 10);       /* 0.10 x 100 */
    assert_int_equal(t->min_qty, 1);          /* 0.001 x 1000 */
    assert_int_equal(t->max_qty, 1000000);    /* 1000 x 1000 */
    assert_int_equal(t->step_size, 1);
    assert_int_equal(t->mkt_max_qty, 120000); /* 120 x 1000 */
    assert_int_equal(t->min_notional, 10000); /* 100 x 100 */
    assert_int_equal(t->mult_decimal, 4);     /* "4", a string */
    assert_int_equal(t->mult_up, 10500);      /* 1.0500 x 10^4 */
    assert_int_equal(t->mult_down, 9500);
    assert_int_equal(t->price_decimals, 2);
    assert_int_equal(t->qty_decimals, 3);

    /* XYZUSDT: no MARKET_LOT_SIZE, so market orders keep LOT_SIZE's rules */
    const nx_bn_filters_t *x = &F[XYZ];
    assert_int_equal(x->min_price, 5); /* 0.05 x 100 */
    assert_int_equal(x->tick_size, 2); /* 0.02 x 100 */
    assert_int_equal(x->min_qty, 5);   /* 0.005 x 1000 */
    assert_int_equal(x->step_size, 2); /* 0.002 x 1000 */
    assert_int_equal(x->mkt_min_qty, 5);
    assert_int_equal(x->mkt_max_qty, 10000); /* 10 x 1000 */
    assert_int_equal(x->mkt_step_size, 2);
    assert_int_equal(x->min_notional, 0); /* not listed: off */
    assert_int_equal(x->mult_up, 0);

    /* The Bybit symbol of the same name is left alone. */
    assert_int_equal(F[BYBIT_BTC].loaded, 0);
    nx_ev_order_intent_t in = order(L, B, 6000000, 1000);
    refused(BYBIT_BTC, in, 0, 0, NX_ESTATE, 0, NULL);
}

static void test_price_filter(void **state)
{
    (void)state;
    /* BTCUSDT: minPrice 261.10, maxPrice 809484, tick 0.10; qty 1.000 keeps
     * every notional here above 100 (261.10 x 1 = 261.1), no mark price. */
    accepted(BTC, order(L, B, 26110, 1000), 0, 0); /* = minPrice */
    refused(BTC, order(L, B, 26100, 1000), 0, 0, NX_ERANGE, -4013,
            "PRICE_FILTER: price 261 is below the minimum 261.1");
    accepted(BTC, order(L, S, 80948400, 1000), 0, 0); /* = maxPrice */
    refused(BTC, order(L, S, 80948410, 1000), 0, 0, NX_ERANGE, -4002,
            "PRICE_FILTER: price 809484.1 is above the maximum 809484");
    /* (60000.10 - 261.10) / 0.10 = 597390, whole; 60000.05: 5979894.5 */
    accepted(BTC, order(L, B, 6000010, 1000), 0, 0);
    refused(BTC, order(L, B, 6000005, 1000), 0, 0, NX_EPRECISION, -4014,
            "PRICE_FILTER: price 60000.05 is not a multiple of the tick 0.1");
    refused(BTC, order(L, B, 0, 1000), 0, 0, NX_EINVAL, -4001,
            "PRICE_FILTER: price 0 is not positive");
    refused(BTC, order(L, B, -10, 1000), 0, 0, NX_EINVAL, -4001, NULL);

    /* XYZUSDT: minPrice 0.05, tick 0.02: 0.07 = 0.05 + 0.02 passes, 0.08 is a
     * multiple of 0.02 but not on the grid from the minimum. */
    accepted(XYZ, order(L, B, 7, 7), 0, 0);
    refused(XYZ, order(L, B, 8, 7), 0, 0, NX_EPRECISION, -4014,
            "PRICE_FILTER: price 0.08 is not the minimum 0.05 plus a multiple of the tick 0.02");

    /* BLZUSDT at price scale 6, pricePrecision 5, tick 0.0001, qty 50 (500):
     * 0.1234 passes (notional 6.17 >= 5); 0.12345 has 5 decimals, so it is
     * within the precision but off the tick; 0.123456 has 6: -1111. */
    accepted(BLZ, order(L, B, 123400, 500), 0, 0);
    refused(BLZ, order(L, B, 123450, 500), 0, 0, NX_EPRECISION, -4014,
            "PRICE_FILTER: price 0.12345 is not a multiple of the tick 0.0001");
    refused(BLZ, order(L, B, 123456, 500), 0, 0, NX_EPRECISION, -1111,
            "pricePrecision: price 0.123456 has more than the 5 decimals Binance takes");

    /* A stop's trigger is held to PRICE_FILTER too (the docs:
     * "price/stopPrice"), with the stop codes; reduce-only so MIN_NOTIONAL
     * stays out of it. */
    nx_ev_order_intent_t st = order(SM, S, 0, 1);
    st.reduce_only = 1;
    refused(BTC, st, 0, 0, NX_EINVAL, -4006, "PRICE_FILTER: trigger price 0 is not positive");
    st.price = 80948410;
    refused(BTC, st, 0, 0, NX_ERANGE, -4007,
            "PRICE_FILTER: trigger price 809484.1 is above the maximum 809484");
    st.price = 5999995;
    refused(BTC, st, 0, 0, NX_EPRECISION, -4014,
            "PRICE_FILTER: trigger price 59999.95 is not a multiple of the tick 0.1");
    st.price = 6000000;
    accepted(BTC, st, 0, 0);
}

static void test_lot_size(void **state)
{
    (void)state;
    /* BTCUSDT LOT_SIZE 0.001..1000, MARKET_LOT_SIZE 0.001..120; price
     * 100000.00 so that 0.001 is worth exactly the minimum notional 100. */
    accepted(BTC, order(L, B, 10000000, 1), 0, 0);       /* = minQty */
    accepted(BTC, order(L, B, 10000000, 1000000), 0, 0); /* = maxQty */
    refused(BTC, order(L, B, 10000000, 1000001), 0, 0, NX_ERANGE, -4005,
            "LOT_SIZE: quantity 1000.001 is above the maximum 1000");
    refused(BTC, order(L, B, 10000000, 0), 0, 0, NX_EINVAL, -4003,
            "LOT_SIZE: quantity 0 is not positive");
    /* A market order is held to MARKET_LOT_SIZE, a limit order is not. */
    accepted(BTC, order(M, B, 0, 120000), 10000000, 10000000);
    refused(BTC, order(M, B, 0, 120001), 10000000, 10000000, NX_ERANGE, -4005,
            "MARKET_LOT_SIZE: quantity 120.001 is above the maximum 120");
    accepted(BTC, order(L, B, 10000000, 120001), 0, 0);

    /* XYZUSDT: minQty 0.005, step 0.002: 0.007 on the grid; 0.006 a multiple
     * of the step but not from the minimum; 0.003 below the minimum; 10.001
     * above 10. No MARKET_LOT_SIZE: a market order meets the same grid. */
    accepted(XYZ, order(L, B, 7, 7), 0, 0);
    refused(XYZ, order(L, B, 7, 6), 0, 0, NX_EPRECISION, -4023,
            "LOT_SIZE: quantity 0.006 is not the minimum 0.005 plus a multiple of the step 0.002");
    refused(XYZ, order(L, B, 7, 3), 0, 0, NX_ERANGE, -4004,
            "LOT_SIZE: quantity 0.003 is below the minimum 0.005");
    refused(XYZ, order(L, B, 7, 10001), 0, 0, NX_ERANGE, -4005,
            "LOT_SIZE: quantity 10.001 is above the maximum 10");
    accepted(XYZ, order(M, S, 0, 9), 0, 0); /* no MIN_NOTIONAL: no price needed */
    refused(XYZ, order(M, S, 0, 6), 0, 0, NX_EPRECISION, -4023,
            "MARKET_LOT_SIZE: quantity 0.006 is not the minimum 0.005 plus a multiple of the "
            "step 0.002");

    /* BLZUSDT: quantityPrecision 0 at quantity scale 1: 1.5 is -1111. */
    refused(BLZ, order(L, B, 123400, 15), 0, 0, NX_EPRECISION, -1111,
            "quantityPrecision: quantity 1.5 has more than the 0 decimals Binance takes");
}

static void test_min_notional(void **state)
{
    (void)state;
    /* BTCUSDT notional 100: 100000.00 x 0.001 = 100 passes; 99999.90 x 0.001
     * = 99.9999 does not. */
    accepted(BTC, order(L, B, 10000000, 1), 0, 0);
    refused(BTC, order(L, B, 9999990, 1), 0, 0, NX_ERANGE, -4164,
            "MIN_NOTIONAL: notional 99.9999 (price 99999.9 x quantity 0.001) is below the "
            "minimum 100; only a reduce-only order may be smaller");
    /* reduce-only is exempt ("... (unless you choose reduce only)") */
    nx_ev_order_intent_t ro = order(L, S, 9999990, 1);
    ro.reduce_only = 1;
    accepted(BTC, ro, 0, 0);
    /* an amend answers with the modify-order code */
    nx_ev_order_intent_t am = order(L, B, 9999990, 1);
    am.amend = 1;
    refused(BTC, am, 0, 0, NX_ERANGE, -5029, NULL);

    /* A market order is valued at the mark price (the docs), at the
     * reference price when the mark is not known. */
    accepted(BTC, order(M, B, 0, 1), 0, 10000000);
    refused(BTC, order(M, B, 0, 1), 10000000, 9999990, NX_ERANGE, -4164,
            "MIN_NOTIONAL: notional 99.9999 (mark price 99999.9 x quantity 0.001) is below the "
            "minimum 100; only a reduce-only order may be smaller");
    accepted(BTC, order(M, B, 0, 1), 10000000, 0);
    refused(BTC, order(M, B, 0, 1), 9999990, 0, NX_ERANGE, -4164, NULL);
    refused(BTC, order(M, B, 0, 1), 0, 0, NX_EINVAL, 0,
            "MIN_NOTIONAL: no mark or reference price to value a market order");

    /* A stop that is not reduce-only is valued at its trigger: 60000 x 0.001
     * = 60 < 100; 0.002 x 60000 = 120 passes. */
    refused(BTC, order(SM, S, 6000000, 1), 0, 0, NX_ERANGE, -4164,
            "MIN_NOTIONAL: notional 60 (trigger price 60000 x quantity 0.001) is below the "
            "minimum 100; only a reduce-only order may be smaller");
    accepted(BTC, order(SM, S, 6000000, 2), 0, 0);

    /* BLZUSDT notional 5.0 at price scale 6, qty scale 1: 0.1 x 50 = 5
     * passes, 0.0999 x 50 = 4.995 does not. */
    accepted(BLZ, order(L, B, 100000, 500), 0, 0);
    refused(BLZ, order(L, B, 99900, 500), 0, 0, NX_ERANGE, -4164,
            "MIN_NOTIONAL: notional 4.995 (price 0.0999 x quantity 50) is below the minimum 5; "
            "only a reduce-only order may be smaller");
}

static void test_percent_price(void **state)
{
    (void)state;
    /* BTCUSDT up 1.0500, down 0.9500; mark 60000.00:
     * cap 60000 x 1.05 = 63000.00, floor 60000 x 0.95 = 57000.00. */
    int64_t mark = 6000000;
    accepted(BTC, order(L, B, 6300000, 1000), 0, mark);
    refused(BTC, order(L, B, 6300010, 1000), 0, mark, NX_ERANGE, -4016,
            "PERCENT_PRICE: buy price 63000.1 is above 63000, the mark price 60000 x "
            "multiplierUp 1.05");
    accepted(BTC, order(L, S, 5700000, 1000), 0, mark);
    refused(BTC, order(L, S, 5699990, 1000), 0, mark, NX_ERANGE, -4024,
            "PERCENT_PRICE: sell price 56999.9 is below 57000, the mark price 60000 x "
            "multiplierDown 0.95");
    /* A sell far above the mark and a buy far below are not this filter's
     * business. */
    accepted(BTC, order(L, S, 9000000, 1000), 0, mark);
    accepted(BTC, order(L, B, 3000000, 1000), 0, mark);

    /* Mark 60000.10: cap 63000.105, floor 57000.095, neither on the price
     * grid: 63000.10 and 57000.10 pass, 63000.20 and 57000.00 do not; the
     * sentence shows the last passing grid price (floor / ceiling). */
    mark = 6000010;
    accepted(BTC, order(L, B, 6300010, 1000), 0, mark);
    refused(BTC, order(L, B, 6300020, 1000), 0, mark, NX_ERANGE, -4016,
            "PERCENT_PRICE: buy price 63000.2 is above 63000.1, the mark price 60000.1 x "
            "multiplierUp 1.05");
    accepted(BTC, order(L, S, 5700010, 1000), 0, mark);
    refused(BTC, order(L, S, 5700000, 1000), 0, mark, NX_ERANGE, -4024,
            "PERCENT_PRICE: sell price 57000 is below 57000.1, the mark price 60000.1 x "
            "multiplierDown 0.95");

    /* A market order whose counterparty's best price is outside the band:
     * -4131. */
    mark = 6000000;
    accepted(BTC, order(M, B, 0, 1000), 6300000, mark);
    refused(BTC, order(M, B, 0, 1000), 6300010, mark, NX_ERANGE, -4131,
            "PERCENT_PRICE: the best ask 63000.1 is above 63000, the mark price 60000 x "
            "multiplierUp 1.05");
    accepted(BTC, order(M, S, 0, 1000), 5700000, mark);
    refused(BTC, order(M, S, 0, 1000), 5699990, mark, NX_ERANGE, -4131, NULL);

    /* Without a mark price the band cannot be drawn: not checked. */
    accepted(BTC, order(L, B, 9000000, 1000), 0, 0);
}

static void test_bad_order(void **state)
{
    (void)state;
    nx_ev_order_intent_t in = order(99, B, 6000000, 1000);
    refused(BTC, in, 0, 0, NX_EINVAL, -1116, NULL);
    in = order(L, NX_SIDE_NONE, 6000000, 1000);
    refused(BTC, in, 0, 0, NX_EINVAL, -1117, NULL);
}

static void test_open_orders(void **state)
{
    (void)state;
    int vc;
    /* BTCUSDT: MAX_NUM_ORDERS 200 (normal and algo together),
     * MAX_NUM_ALGO_ORDERS 10. */
    assert_int_equal(nx_bn_filters_check_open(&F[BTC], 199, 9, 1, &vc, why, sizeof why), 0);
    assert_int_equal(vc, 0);
    assert_int_equal(nx_bn_filters_check_open(&F[BTC], 200, 0, 0, &vc, why, sizeof why), NX_EFULL);
    assert_int_equal(vc, -2025);
    assert_string_equal(why, "MAX_NUM_ORDERS: 200 orders are open on the symbol, the limit is 200");
    assert_int_equal(nx_bn_filters_check_open(&F[BTC], 50, 10, 1, &vc, why, sizeof why), NX_EFULL);
    assert_int_equal(vc, -4045);
    assert_string_equal(why, "MAX_NUM_ALGO_ORDERS: 10 conditional orders are open on the symbol, "
                             "the limit is 10");
    /* ten algo orders open do not stop a plain limit order */
    assert_int_equal(nx_bn_filters_check_open(&F[BTC], 50, 10, 0, &vc, why, sizeof why), 0);
}

static void test_rounding(void **state)
{
    (void)state;
    /* BTCUSDT tick 0.10 from 261.10: 60000.05 -> 60000.00 to buy,
     * 60000.10 to sell; on-grid prices stay. */
    assert_int_equal(nx_bn_filters_round_price(&F[BTC], 6000005, NX_SIDE_BUY), 6000000);
    assert_int_equal(nx_bn_filters_round_price(&F[BTC], 6000005, NX_SIDE_SELL), 6000010);
    assert_int_equal(nx_bn_filters_round_price(&F[BTC], 6000010, NX_SIDE_BUY), 6000010);
    assert_int_equal(nx_bn_filters_round_price(&F[BTC], 6000010, NX_SIDE_SELL), 6000010);
    /* XYZUSDT grid 0.05 + k x 0.02: 0.08 -> 0.07 (buy), 0.09 (sell) */
    assert_int_equal(nx_bn_filters_round_price(&F[XYZ], 8, NX_SIDE_BUY), 7);
    assert_int_equal(nx_bn_filters_round_price(&F[XYZ], 8, NX_SIDE_SELL), 9);
    /* below the minimum the grid continues down: 0.02 -> 0.01 (buy), 0.03
     * (sell); the check then refuses 0.01 as below the minimum */
    assert_int_equal(nx_bn_filters_round_price(&F[XYZ], 2, NX_SIDE_BUY), 1);
    assert_int_equal(nx_bn_filters_round_price(&F[XYZ], 2, NX_SIDE_SELL), 3);

    /* XYZUSDT quantities 0.005 + k x 0.002, floored: 0.008 -> 0.007,
     * 0.006 -> 0.005, 0.004 -> 0 (below the minimum, nothing to send) */
    assert_int_equal(nx_bn_filters_round_qty(&F[XYZ], 8, 0), 7);
    assert_int_equal(nx_bn_filters_round_qty(&F[XYZ], 6, 0), 5);
    assert_int_equal(nx_bn_filters_round_qty(&F[XYZ], 4, 0), 0);
    assert_int_equal(nx_bn_filters_round_qty(&F[XYZ], 0, 1), 0);
    /* BLZUSDT step 1 at quantity scale 1: 12.7 -> 12; above the maximum is
     * left for the check to refuse */
    assert_int_equal(nx_bn_filters_round_qty(&F[BLZ], 127, 0), 120);
    assert_int_equal(nx_bn_filters_round_qty(&F[BLZ], 5901197, 1), 5901190);
    /* what rounding gives, the check passes */
    nx_ev_order_intent_t in = order(L, B, nx_bn_filters_round_price(&F[XYZ], 8, NX_SIDE_BUY),
                                    nx_bn_filters_round_qty(&F[XYZ], 8, 0));
    accepted(XYZ, in, 0, 0);
}

static void test_venue_msg(void **state)
{
    (void)state;
    char m[128];
    assert_int_equal(nx_bn_filters_venue_msg(&F[BTC], -4164, m, sizeof m),
                     strlen("Order's notional must be no smaller than 100 (unless you choose "
                            "reduce only)"));
    assert_string_equal(m, "Order's notional must be no smaller than 100 (unless you choose reduce "
                           "only)");
    nx_bn_filters_venue_msg(&F[BTC], -4014, m, sizeof m);
    assert_string_equal(m, "Price not increased by tick size.");
    nx_bn_filters_venue_msg(&F[BTC], -4131, m, sizeof m);
    assert_string_equal(
        m, "The counterparty's best price does not meet the PERCENT_PRICE filter limit");
    assert_int_equal(nx_bn_filters_venue_msg(&F[BTC], -9999, m, sizeof m), 0);
    assert_string_equal(m, "");
}

/* ---------- refusals at load ---------- */

/* EXCHANGE_INFO with the first `from` replaced by `to`. */
static const char *edited(const char *from, const char *to)
{
    static char buf[sizeof EXCHANGE_INFO + 256];
    const char *at = strstr(EXCHANGE_INFO, from);
    assert_non_null(at);
    size_t head = (size_t)(at - EXCHANGE_INFO);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)head, EXCHANGE_INFO, to, at + strlen(from));
    return buf;
}

static void test_missing_symbol(void **state)
{
    (void)state;
    /* ETHUSDT on Binance in the symtab: listed, but SETTLING */
    symtab(1);
    assert_int_equal(load(EXCHANGE_INFO), NX_ESTATE);
    assert_string_equal(why, "exchangeInfo: ETHUSDT is SETTLING on Binance, not TRADING");
    /* not listed at all */
    assert_int_equal(load(edited("\"symbol\":\"ETHUSDT\"", "\"symbol\":\"ETHUSDC\"")), NX_ENOENT);
    assert_string_equal(why, "exchangeInfo: ETHUSDT is not listed by Binance USD-M");
    symtab(0);
}

static void test_not_trading(void **state)
{
    (void)state;
    const char *body = edited("\"symbol\":\"BTCUSDT\",\"status\":\"TRADING\"",
                              "\"symbol\":\"BTCUSDT\",\"status\":\"PENDING_TRADING\"");
    assert_int_equal(load(body), NX_ESTATE);
    assert_string_equal(why, "exchangeInfo: BTCUSDT is PENDING_TRADING on Binance, not TRADING");
}

static void test_too_fine(void **state)
{
    (void)state;
    /* BTCUSDT keeps prices at 2 decimals: a tick of 0.001 cannot be held */
    assert_int_equal(load(edited("\"tickSize\":\"0.10\"", "\"tickSize\":\"0.001\"")),
                     NX_EPRECISION);
    assert_string_equal(why, "exchangeInfo: BTCUSDT PRICE_FILTER tickSize 0.001 needs 3 price "
                             "decimals; Nexus keeps BTCUSDT prices at 2 (the symbol's scale is "
                             "too coarse for the venue)");
    /* ... nor a step of 0.0001 at 3 quantity decimals */
    assert_int_equal(load(edited("\"stepSize\":\"0.001\"", "\"stepSize\":\"0.0001\"")),
                     NX_EPRECISION);
    assert_string_equal(why, "exchangeInfo: BTCUSDT LOT_SIZE stepSize 0.0001 needs 4 quantity "
                             "decimals; Nexus keeps BTCUSDT quantities at 3 (the symbol's scale is "
                             "too coarse for the venue)");
    /* ... nor a minimum notional of 5.005 at 2 price decimals */
    assert_int_equal(load(edited("\"notional\":\"100\"", "\"notional\":\"5.005\"")), NX_EPRECISION);
    /* a multiplier finer than its own multiplierDecimal */
    assert_int_equal(load(edited("\"multiplierUp\":\"1.0500\"", "\"multiplierUp\":\"1.05001\"")),
                     NX_EPRECISION);
    assert_string_equal(why, "exchangeInfo: BTCUSDT PERCENT_PRICE multiplierUp 1.05001 has more "
                             "decimals than its multiplierDecimal 4");
    /* zeros beyond the scale are exact: 0.10000000 is 0.10 */
    assert_int_equal(load(edited("\"tickSize\":\"0.10\"", "\"tickSize\":\"0.10000000\"")), 0);
    assert_int_equal(F[BTC].tick_size, 10);
}

static void test_malformed(void **state)
{
    (void)state;
    /* cut short */
    assert_int_equal(nx_bn_filters_load(EXCHANGE_INFO, 100, &T, F, 8, why, sizeof why), NX_ESYNTAX);
    assert_memory_equal(why, "exchangeInfo: malformed JSON at line 1", 38);
    assert_int_equal(load("{\"timezone\":\"UTC\"}"), NX_ESYNTAX);
    assert_string_equal(why, "exchangeInfo: no \"symbols\" array");
    assert_int_equal(load("[]"), NX_ESYNTAX);
    /* a number where Binance sends a decimal string */
    assert_int_equal(load(edited("\"tickSize\":\"0.10\"", "\"tickSize\":0.1")), NX_ESYNTAX);
    assert_string_equal(why, "exchangeInfo: BTCUSDT PRICE_FILTER tickSize is not a decimal string");
    assert_int_equal(load(edited("\"minQty\":\"0.001\"", "\"minQty\":\"1e-3\"")), NX_ESYNTAX);
    assert_int_equal(load(edited("\"maxQty\":\"1000\"", "\"maxQty\":\"-1000\"")), NX_ERANGE);
    /* minimum above maximum */
    assert_int_equal(load(edited("\"minPrice\":\"261.10\"", "\"minPrice\":\"900000\"")), NX_ERANGE);
    assert_string_equal(
        why, "exchangeInfo: BTCUSDT PRICE_FILTER minPrice 900000 is above maxPrice 809484");
    /* the same symbol twice */
    assert_int_equal(load(edited("{\"symbol\":\"ETHUSDT\"", "{\"symbol\":\"XYZUSDT\"")),
                     NX_ESYNTAX);
    assert_string_equal(why, "exchangeInfo: XYZUSDT is listed twice");
    /* a table too small for the symtab */
    assert_int_equal(
        nx_bn_filters_load(EXCHANGE_INFO, strlen(EXCHANGE_INFO), &T, F, 2, why, sizeof why),
        NX_EFULL);
    /* and a good body loads again after all that */
    assert_int_equal(load(EXCHANGE_INFO), 0);
}

/* What our loopback simulator (uplink/src/replay.c) answers today: only
 * tickSize and stepSize. It loads (every other rule off, market orders on
 * LOT_SIZE's step) at the example config's scales (8 and 8). */
static void test_replay_body(void **state)
{
    (void)state;
    static const char body[] =
        "{\"timezone\":\"UTC\",\"symbols\":[{\"symbol\":\"BTCUSDT\",\"status\":\"TRADING\","
        "\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"tickSize\":\"0.01\"},"
        "{\"filterType\":\"LOT_SIZE\",\"stepSize\":\"0.00001\"}]}]}";
    nx_symtab_init(&T);
    uint32_t id =
        (uint32_t)nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 8, 1000000, 1000, 0, NULL);
    assert_int_equal(load(body), 0);
    assert_int_equal(F[id].tick_size, 1000000); /* 0.01 x 10^8 */
    assert_int_equal(F[id].step_size, 1000);    /* 0.00001 x 10^8 */
    assert_int_equal(F[id].mkt_step_size, 1000);
    assert_int_equal(F[id].min_price, 0);
    assert_int_equal(F[id].min_notional, 0);
    assert_int_equal(F[id].price_decimals, 8); /* no pricePrecision: no -1111 check */
    accepted(id, order(M, B, 0, 1000), 0, 0);
    refused(id, order(M, B, 0, 1500), 0, 0, NX_EPRECISION, -4023, NULL);
    symtab(0);
    assert_int_equal(load(EXCHANGE_INFO), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_load_values, setup),
        cmocka_unit_test_setup(test_price_filter, setup),
        cmocka_unit_test_setup(test_lot_size, setup),
        cmocka_unit_test_setup(test_min_notional, setup),
        cmocka_unit_test_setup(test_percent_price, setup),
        cmocka_unit_test_setup(test_bad_order, setup),
        cmocka_unit_test_setup(test_open_orders, setup),
        cmocka_unit_test_setup(test_rounding, setup),
        cmocka_unit_test_setup(test_venue_msg, setup),
        cmocka_unit_test_setup(test_missing_symbol, setup),
        cmocka_unit_test_setup(test_not_trading, setup),
        cmocka_unit_test_setup(test_too_fine, setup),
        cmocka_unit_test_setup(test_malformed, setup),
        cmocka_unit_test_setup(test_replay_body, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
