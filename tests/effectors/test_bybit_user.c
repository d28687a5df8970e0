/*
 * test_bybit_user — Bybit V5 private WebSocket frames decoded
 * (nx/bybit_user.h), against the captures and documentation examples in
 * tests/data/samples (bybit_private_*.jsonl, bybit_ws_control.jsonl; see
 * their README for where each line comes from). Expected values are read
 * off those lines by hand.
 *
 *  - order, execution and position records: every field Nexus uses, at
 *    the symbol's scales; an option's record decoded with no symbol id;
 *  - several fills in one frame taken one by one, none lost;
 *  - the documented race: a cancel after a fill gives a second Filled with
 *    a cancelType, flagged;
 *  - control answers (auth, subscribe, pong) and a trade API answer with
 *    its rate-limit header;
 *  - errors named by key: malformed JSON, a missing key, an unknown status,
 *    a price with more digits than its scale;
 *  - nothing is allocated (malloc/calloc/realloc wrapped at link time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nx/bybit_user.h"
#include "nx/error.h"

#include "../sample_line.h"

/* ---------- allocation counting ---------- */

#include "../alloc_count.h"

/* ---------- fixtures ---------- */

static nx_symtab_t T;
static uint32_t BTC, ETH;

/* BTCUSDT linear at tick 0.01 and step 0.001 (2 and 3 decimals); ETHUSDT
 * on spot; BTCUSDT on Binance too, which a Bybit record must not find. */
static int setup(void **state)
{
    (void)state;
    nx_symtab_init(&T);
    nx_symtab_add(&T, NX_VENUE_BINANCE_USDM, "BTCUSDT", 1, 3, 1, 1, 0, NULL);
    BTC = (uint32_t)nx_symtab_add(&T, NX_VENUE_BYBIT_LINEAR, "BTCUSDT", 2, 3, 1, 1, 0, NULL);
    ETH = (uint32_t)nx_symtab_add(&T, NX_VENUE_BYBIT_SPOT, "ETHUSDT", 2, 4, 1, 1, 0, NULL);
    return BTC == 1 && ETH == 2 ? 0 : -1;
}

static nx_bbu_msg_t M;
static nx_bbu_record_t R;

/* Decode text, expect `kind`; allocation-free. */
static void decode(const char *text, nx_bbu_kind_t kind)
{
    long before = allocs;
    int rc = nx_bbu_frame_decode(text, strlen(text), &T, &M);
    if (rc)
        fail_msg("%d at %s: %s", rc, M.err.key, M.err.what);
    assert_int_equal(M.kind, kind);
    assert_int_equal(allocs, before);
}

/* The next record: 1 expected; allocation-free. */
static void next(void)
{
    long before = allocs;
    int rc = nx_bbu_next(&M, &R);
    if (rc != 1)
        fail_msg("next: %d at %s: %s", rc, M.err.key ? M.err.key : "",
                 M.err.what ? M.err.what : "");
    assert_int_equal(allocs, before);
}

static void test_orders(void **state)
{
    (void)state;
    /* the docs' option order: decoded, no symbol id, nothing at a scale */
    decode(sample_line("bybit_private_order.jsonl", 1), NX_BBU_ORDER);
    assert_string_equal(M.topic, "order");
    assert_int_equal(M.creation_ms, 1672364262474);
    next();
    assert_int_equal(R.order.sym.id, NX_SYMBOL_NONE);
    assert_string_equal(R.order.sym.name, "ETH-30DEC22-1400-C");
    assert_string_equal(R.order.order_id, "5cf98598-39a7-459e-97bf-76ca765ee020");
    assert_int_equal(R.order.status, NX_BBU_S_FILLED);
    assert_int_equal(R.order.nx_status, NX_OS_FILLED);
    assert_int_equal(R.order.side, NX_SIDE_SELL);
    assert_int_equal(R.order.price, 0);
    assert_int_equal(R.order.cum_fee, 35863500); /* 0.358635 at 10^-8 */
    assert_int_equal(R.order.cancelled_after_fill, 0);
    assert_int_equal(nx_bbu_next(&M, &R), 0);
    /* a captured linear market order, filled */
    decode(sample_line("bybit_private_order.jsonl", 2), NX_BBU_ORDER);
    next();
    assert_int_equal(R.order.sym.id, BTC);
    assert_string_equal(R.order.order_id, "b49d6860-3062-4295-aa1f-c6471f3c9b20");
    assert_string_equal(R.order.link_id, "1708249213491");
    assert_int_equal(R.order.client_id, 0); /* not one of ours */
    assert_int_equal(R.order.type, NX_BBU_OT_MARKET);
    assert_int_equal(R.order.price, 4925760);
    assert_int_equal(R.order.qty, 3);
    assert_int_equal(R.order.avg_price, 5185000);
    assert_int_equal(R.order.cum_qty, 3);
    assert_int_equal(R.order.leaves_qty, 0);
    assert_int_equal(R.order.cum_fee, 8555250);
    assert_int_equal(R.order.take_profit, 0);
    assert_int_equal(R.order.created_ms, 1708249213755);
    assert_int_equal(R.order.updated_ms, 1708249213758);
    assert_string_equal(R.order.cancel_type, "UNKNOWN");
    assert_string_equal(R.order.reject_reason, "EC_NoError");
    /* the categorised minimal one: partly filled, the average rounded */
    decode(sample_line("bybit_private_order.jsonl", 3), NX_BBU_ORDER);
    next();
    assert_int_equal(R.order.status, NX_BBU_S_PARTIALLY_FILLED);
    assert_int_equal(R.order.nx_status, NX_OS_PARTIAL);
    assert_int_equal(R.order.price, 6400050);
    assert_int_equal(R.order.qty, 2500);
    assert_int_equal(R.order.cum_qty, 1250);
    assert_int_equal(R.order.avg_price, 6400025);
    assert_int_equal(R.order.type, NX_BBU_OT_LIMIT);
}

static void test_race_and_ours(void **state)
{
    (void)state;
    /* spec §2.6: a cancel racing a fill gives a second Filled, with
     * cancelType CancelByUser and rejectReason EC_OrigClOrdIDDoesNotExist
     * (written from that description); the id is ours */
    decode("{\"topic\":\"order\",\"creationTime\":5,\"data\":[{\"category\":\"linear\","
           "\"symbol\":\"BTCUSDT\",\"orderId\":\"o-1\",\"orderLinkId\":\"nx-2a0001\","
           "\"side\":\"Buy\",\"orderType\":\"Limit\",\"price\":\"64000\",\"qty\":\"0.010\","
           "\"orderStatus\":\"Filled\",\"cumExecQty\":\"0.010\",\"leavesQty\":\"0\","
           "\"cancelType\":\"CancelByUser\",\"rejectReason\":\"EC_OrigClOrdIDDoesNotExist\","
           "\"stopOrderType\":\"StopLoss\",\"reduceOnly\":true,\"closeOnTrigger\":true}]}",
           NX_BBU_ORDER);
    next();
    assert_int_equal(R.order.client_id, 0x2a0001);
    assert_int_equal(R.order.cancelled_after_fill, 1);
    assert_int_equal(R.order.stop_type, NX_BBU_ST_STOP_LOSS);
    assert_int_equal(R.order.reduce_only, 1);
    assert_int_equal(R.order.close_on_trigger, 1);
}

static void test_executions(void **state)
{
    (void)state;
    decode(sample_line("bybit_private_execution.jsonl", 1), NX_BBU_EXECUTION);
    next();
    assert_int_equal(R.exec.sym.id, BTC);
    assert_string_equal(R.exec.exec_id, "0ab1bdf7-4219-438b-b30a-32ec863018f7");
    assert_string_equal(R.exec.order_id, "9aac161b-8ed6-450d-9cab-c5cc67c21784");
    assert_int_equal(R.exec.exec_type, NX_BBU_X_TRADE);
    assert_int_equal(R.exec.side, NX_SIDE_SELL);
    assert_int_equal(R.exec.price, 9590010);
    assert_int_equal(R.exec.qty, 500);
    assert_int_equal(R.exec.closed_qty, 500);
    assert_int_equal(R.exec.fee, 2637252750); /* 26.3725275 */
    assert_int_equal(R.exec.value, 4795005000000);
    assert_int_equal(R.exec.pnl, 5000000);
    assert_int_equal(R.exec.mark_price, 9590148);
    assert_int_equal(R.exec.exec_ms, 1746270400353);
    assert_int_equal(R.exec.maker, 0);
    assert_int_equal(R.exec.seq, 140612148849382ull);
    assert_int_equal(nx_bbu_next(&M, &R), 0);
    /* the fill of the captured order above */
    decode(sample_line("bybit_private_execution.jsonl", 2), NX_BBU_EXECUTION);
    next();
    assert_string_equal(R.exec.order_id, "b49d6860-3062-4295-aa1f-c6471f3c9b20");
    assert_int_equal(R.exec.price, 5185000);
    assert_int_equal(R.exec.qty, 3);
    assert_int_equal(R.exec.fee, 8555250);
    assert_int_equal(R.exec.stop_type, NX_BBU_ST_NONE); /* "UNKNOWN" */
    /* the minimal categorised one: no execType, a fill; a maker */
    decode(sample_line("bybit_private_execution.jsonl", 3), NX_BBU_EXECUTION);
    assert_string_equal(M.topic, "execution.linear");
    next();
    assert_int_equal(R.exec.exec_type, NX_BBU_X_TRADE);
    assert_int_equal(R.exec.maker, 1);
    assert_int_equal(R.exec.qty, 10);
    assert_int_equal(R.exec.seq, 9);
}

static void test_several_fills(void **state)
{
    (void)state;
    /* three fills of one order and a funding, one frame; the last on a
     * pair not in the table (decoded, no id): each taken, none lost */
    static const char frame[] =
        "{\"topic\":\"execution\",\"creationTime\":7,\"data\":["
        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"execId\":\"e1\",\"execPrice\":\"64000\","
        "\"execQty\":\"0.001\",\"execType\":\"Trade\",\"orderId\":\"o\",\"side\":\"Buy\"},"
        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"execId\":\"e2\",\"execPrice\":\"64000."
        "5\","
        "\"execQty\":\"0.002\",\"execType\":\"Trade\",\"orderId\":\"o\",\"side\":\"Buy\"},"
        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"execId\":\"e3\",\"execPrice\":\"64001\","
        "\"execQty\":\"0.003\",\"execType\":\"Trade\",\"orderId\":\"o\",\"side\":\"Buy\"},"
        "{\"category\":\"linear\",\"symbol\":\"BTCUSDT\",\"execId\":\"f1\",\"execPrice\":\"64000\","
        "\"execQty\":\"0\",\"execType\":\"Funding\",\"execFee\":\"-0.12\",\"orderId\":\"\","
        "\"side\":\"Buy\"},"
        "{\"category\":\"spot\",\"symbol\":\"SOLUSDT\",\"execId\":\"s1\",\"execPrice\":\"150.123\","
        "\"execQty\":\"1\",\"execType\":\"Trade\",\"orderId\":\"x\",\"side\":\"Sell\"}]}";
    decode(frame, NX_BBU_EXECUTION);
    static const char *const ids[] = {"e1", "e2", "e3", "f1", "s1"};
    static const int64_t qty[] = {1, 2, 3, 0, 0};
    int64_t sum = 0;
    for (int i = 0; i < 5; i++) {
        next();
        assert_string_equal(R.exec.exec_id, ids[i]);
        assert_int_equal(R.exec.qty, qty[i]);
        sum += R.exec.exec_type == NX_BBU_X_TRADE && R.exec.sym.id == BTC ? R.exec.qty : 0;
        if (i == 3) {
            assert_int_equal(R.exec.exec_type, NX_BBU_X_FUNDING);
            assert_int_equal(R.exec.fee, -12000000);
        }
    }
    assert_int_equal(R.exec.sym.id, NX_SYMBOL_NONE);
    assert_int_equal(sum, 6);
    assert_int_equal(nx_bbu_next(&M, &R), 0);
    assert_int_equal(nx_bbu_next(&M, &R), 0); /* and stays done */
}

static void test_positions(void **state)
{
    (void)state;
    decode(sample_line("bybit_private_position.jsonl", 1), NX_BBU_POSITION);
    next();
    assert_int_equal(R.position.sym.id, BTC);
    assert_int_equal(R.position.side, 0); /* flat: "" */
    assert_int_equal(R.position.size, 0);
    assert_int_equal(R.position.position_idx, 2);
    assert_int_equal(R.position.leverage, 1000000000); /* 10 */
    assert_int_equal(R.position.mark_price, 2818450);
    assert_int_equal(R.position.realized, -2506579337);
    assert_int_equal(R.position.tpsl_mode, 1);
    assert_string_equal(R.position.status, "Normal");
    assert_int_equal(R.position.seq, 8327597863ull);
    assert_int_equal(R.position.updated_ms, 1697682317038);
    decode(sample_line("bybit_private_position.jsonl", 2), NX_BBU_POSITION);
    next();
    assert_int_equal(R.position.side, NX_SIDE_BUY);
    assert_int_equal(R.position.size, 10);
    assert_int_equal(R.position.entry_price, 6400000);
    assert_int_equal(R.position.seq, 10);
    /* the protection the venue holds on the position, as the desk sets it */
    decode("{\"topic\":\"position\",\"data\":[{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
           "\"side\":\"Sell\",\"size\":\"0.015\",\"entryPrice\":\"30000.005\",\"takeProfit\":"
           "\"29000\","
           "\"stopLoss\":\"30500.5\",\"trailingStop\":\"150\",\"tpslMode\":\"Full\"}]}",
           NX_BBU_POSITION);
    next();
    assert_int_equal(R.position.side, NX_SIDE_SELL);
    assert_int_equal(R.position.entry_price, 3000001); /* rounded half away from zero */
    assert_int_equal(R.position.take_profit, 2900000);
    assert_int_equal(R.position.stop_loss, 3050050);
    assert_int_equal(R.position.trailing_stop, 15000);
}

static void test_wallet(void **state)
{
    (void)state;
    /* the shape of the docs' wallet example (websocket/private/wallet),
     * cut to the keys Nexus reads */
    decode("{\"id\":\"w\",\"topic\":\"wallet\",\"creationTime\":1700034722104,\"data\":[{"
           "\"accountType\":\"UNIFIED\",\"totalEquity\":\"620.21045581\","
           "\"totalWalletBalance\":\"610.5\",\"totalAvailableBalance\":\"600\",\"coin\":["
           "{\"coin\":\"USDT\",\"equity\":\"600.1\",\"walletBalance\":\"590\",\"unrealisedPnl\":"
           "\"10.1\"},"
           "{\"coin\":\"BTC\",\"equity\":\"0.00023\",\"walletBalance\":\"0.00023\","
           "\"unrealisedPnl\":\"0\"}"
           "]}]}",
           NX_BBU_WALLET);
    next();
    assert_string_equal(R.wallet.account_type, "UNIFIED");
    assert_int_equal(R.wallet.total_equity, 62021045581);
    assert_int_equal(R.wallet.ncoins, 2);
    assert_string_equal(R.wallet.coins[1].coin, "BTC");
    assert_int_equal(R.wallet.coins[1].equity, 23000);
    assert_int_equal(R.wallet.coins[0].unrealized, 1010000000);
}

static void test_answers(void **state)
{
    (void)state;
    static const char *const ops[] = {"subscribe", "ping",      "pong",
                                      "auth",      "subscribe", "subscribe"};
    for (int i = 0; i < 6; i++) {
        decode(sample_line("bybit_ws_control.jsonl", i + 1), NX_BBU_CONTROL);
        assert_string_equal(M.u.ctl.op, ops[i]);
        assert_int_equal(M.u.ctl.success, 1);
    }
    assert_string_equal(M.u.ctl.req_id, "10001");
    decode(sample_line("bybit_ws_control.jsonl", 2), NX_BBU_CONTROL);
    assert_string_equal(M.u.ctl.ret_msg, "pong");
    /* a failed auth (shape unverified by the spec: success false) */
    decode("{\"success\":false,\"ret_msg\":\"Params Error\",\"op\":\"auth\",\"conn_id\":\"c\"}",
           NX_BBU_CONTROL);
    assert_int_equal(M.u.ctl.success, 0);
    assert_string_equal(M.u.ctl.ret_msg, "Params Error");
    /* the trade API's answer, in the shape of the docs' example
     * (websocket/trade/guideline): data's ids, the rate-limit header */
    decode("{\"reqId\":\"12\",\"retCode\":0,\"retMsg\":\"OK\",\"op\":\"order.create\",\"data\":{"
           "\"orderId\":\"a4c1718d-0aca-4a25-b1b5-5e1cc9ae4b1e\",\"orderLinkId\":\"nx-9\"},"
           "\"header\":{\"X-Bapi-Limit\":\"10\",\"X-Bapi-Limit-Status\":\"9\","
           "\"X-Bapi-Limit-Reset-Timestamp\":\"1711001595207\",\"Traceid\":\"t\","
           "\"Timenow\":\"1711001595209\"},\"connId\":\"c\"}",
           NX_BBU_REPLY);
    assert_string_equal(M.u.reply.op, "order.create");
    assert_string_equal(M.u.reply.req_id, "12");
    assert_int_equal(M.u.reply.ret_code, 0);
    assert_string_equal(M.u.reply.order_id, "a4c1718d-0aca-4a25-b1b5-5e1cc9ae4b1e");
    assert_int_equal(M.u.reply.client_id, 9);
    assert_int_equal(M.u.reply.limit, 10);
    assert_int_equal(M.u.reply.limit_left, 9);
    assert_int_equal(M.u.reply.limit_reset_ms, 1711001595207);
    /* a refusal: the code and the venue's words */
    decode("{\"reqId\":\"13\",\"retCode\":110007,\"retMsg\":\"ab not enough for new order\","
           "\"op\":\"order.create\",\"data\":{},\"header\":{},\"connId\":\"c\"}",
           NX_BBU_REPLY);
    assert_int_equal(M.u.reply.ret_code, 110007);
    assert_string_equal(M.u.reply.ret_msg, "ab not enough for new order");
    /* a topic Nexus does not read */
    decode("{\"topic\":\"greeks\",\"data\":[]}", NX_BBU_OTHER);
    assert_int_equal(nx_bbu_next(&M, &R), 0);
}

static void fails(const char *text, int want, const char *key, int at_next)
{
    int rc = nx_bbu_frame_decode(text, strlen(text), &T, &M);
    if (at_next && rc == 0)
        rc = nx_bbu_next(&M, &R);
    if (rc != want)
        fail_msg("%s: %d, not %d (%s: %s)", text, rc, want, M.err.key ? M.err.key : "",
                 M.err.what ? M.err.what : "");
    assert_string_equal(M.err.key, key);
}

static void test_errors(void **state)
{
    (void)state;
    fails("{\"topic\":\"order\",\"data\":[", NX_ESYNTAX, "", 0);
    fails("{\"topic\":\"order\",\"data\":{}}", NX_ETYPE, "data", 0);
    fails("{\"topic\":\"order\"}", NX_ESYNTAX, "data", 0);
    fails("{\"success\":true}", NX_ESYNTAX, "topic", 0);
    fails("{\"topic\":\"order\",\"data\":[] } x", NX_ESYNTAX, "", 0);
    /* in a record: the order's status missing, unknown; a price finer
     * than the tick; a fill without its id */
    fails("{\"topic\":\"order\",\"data\":[{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
          "\"orderId\":\"o\",\"side\":\"Buy\"}]}",
          NX_ESYNTAX, "data[].orderStatus", 1);
    fails("{\"topic\":\"order\",\"data\":[{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
          "\"orderId\":\"o\",\"side\":\"Buy\",\"orderStatus\":\"Sleeping\"}]}",
          NX_ERANGE, "data[].orderStatus", 1);
    fails("{\"topic\":\"order\",\"data\":[{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
          "\"orderId\":\"o\",\"side\":\"Buy\",\"orderStatus\":\"New\",\"price\":\"1.001\"}]}",
          NX_EPRECISION, "data[].price", 1);
    fails("{\"topic\":\"execution\",\"data\":[{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
          "\"orderId\":\"o\",\"execPrice\":\"1\",\"execQty\":\"1\"}]}",
          NX_ESYNTAX, "data[].execId", 1);
    fails("{\"topic\":\"execution\",\"data\":[{\"category\":\"linear\",\"symbol\":\"BTCUSDT\","
          "\"orderId\":\"o\",\"execId\":\"e\",\"execPrice\":\"1\",\"execQty\":\"1\","
          "\"side\":\"Up\"}]}",
          NX_ERANGE, "data[].side", 1);
    assert_int_equal(nx_bbu_frame_decode(NULL, 0, &T, &M), NX_EINVAL);
    assert_int_equal(nx_bbu_frame_decode("{}", 2, &T, NULL), NX_EINVAL);
}

int main(void)
{
#ifndef NX_NO_WRAP
    /* the counter sees an allocation (the wrap is linked in) */
    long before = allocs;
    free(malloc(16));
    if (allocs == before) {
        fprintf(stderr, "malloc is not wrapped\n");
        return 1;
    }
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_orders),     cmocka_unit_test(test_race_and_ours),
        cmocka_unit_test(test_executions), cmocka_unit_test(test_several_fills),
        cmocka_unit_test(test_positions),  cmocka_unit_test(test_wallet),
        cmocka_unit_test(test_answers),    cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
