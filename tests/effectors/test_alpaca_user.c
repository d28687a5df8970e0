/*
 * test_alpaca_user — Alpaca's trade_updates frames and order objects
 * decoded (nx/alpaca_user.h), against the captures in
 * tests/data/samples/alpaca_trade_updates.jsonl and alpaca_rest.jsonl (see
 * their README); expected values read off those lines by hand, times
 * converted by hand from their offsets:
 *
 *  - authorized, unauthorized, listening;
 *  - the captured fill: event, execution id, price, quantity, position
 *    after it, its time, the order's id, status and times;
 *  - the REST order object (an order by notional: no qty) on its own;
 *  - a bracket's new event with its two legs held, and a leg's own fill
 *    (constructed from the documented fields: spec §3.3–3.4);
 *  - errors by key: an unknown event, a fill without its execution id,
 *    a malformed frame; nothing is allocated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nx/alpaca_user.h"
#include "nx/error.h"

#include "../sample_line.h"

#include "../alloc_count.h"

static nx_symtab_t T;
static uint32_t SOL, AAPL, SPY;

static int setup(void **state)
{
    (void)state;
    nx_symtab_init(&T);
    /* the same names elsewhere must not be found */
    nx_symtab_add(&T, NX_VENUE_BINANCE_SPOT, "SOLUSD", 2, 2, 1, 1, 0, NULL);
    SOL = (uint32_t)nx_symtab_add(&T, NX_VENUE_ALPACA, "SOLUSD", 7, 2, 1, 1, 0, NULL);
    AAPL = (uint32_t)nx_symtab_add(&T, NX_VENUE_ALPACA, "AAPL", 2, 4, 1, 1, 0, NULL);
    SPY = (uint32_t)nx_symtab_add(&T, NX_VENUE_ALPACA, "SPY", 2, 0, 1, 1, 0, NULL);
    return SOL == 1 && AAPL == 2 && SPY == 3 ? 0 : -1;
}

static nx_alu_msg_t M;

static void decode(const char *text, nx_alu_kind_t kind)
{
    long before = allocs;
    int rc = nx_alu_frame_decode(text, strlen(text), &T, &M);
    if (rc)
        fail_msg("%d at %s: %s", rc, M.err.key, M.err.what);
    assert_int_equal(M.kind, kind);
    assert_int_equal(allocs, before);
}

static void test_stream_answers(void **state)
{
    (void)state;
    decode(sample_line("alpaca_trade_updates.jsonl", 1), NX_ALU_AUTH);
    assert_int_equal(M.authorized, 1);
    decode(sample_line("alpaca_trade_updates.jsonl", 4), NX_ALU_AUTH);
    assert_int_equal(M.authorized, 0);
    decode(sample_line("alpaca_trade_updates.jsonl", 2), NX_ALU_LISTENING);
    assert_int_equal(M.trade_updates, 1);
    decode("{\"stream\":\"listening\",\"data\":{\"streams\":[]}}", NX_ALU_LISTENING);
    assert_int_equal(M.trade_updates, 0);
}

static void test_captured_fill(void **state)
{
    (void)state;
    decode(sample_line("alpaca_trade_updates.jsonl", 3), NX_ALU_UPDATE);
    const nx_alu_update_t *u = &M.update;
    assert_int_equal(u->event, NX_ALU_E_FILL);
    assert_string_equal(u->execution_id, "2f63ea93-423d-4169-b3f6-3fdafc10c418");
    assert_int_equal(u->price, 1058988475); /* 105.8988475 */
    assert_int_equal(u->qty, 179086);       /* 1790.86 */
    assert_int_equal(u->position_qty, 0);
    assert_int_equal(u->timestamp_ns, 1650390305024916716LL); /* 2022-04-19T17:45:05.024916716Z */
    const nx_alu_order_t *o = &u->order;
    assert_int_equal(o->sym.id, SOL);
    assert_string_equal(o->id, "a5be8f5e-fdfa-41f5-a644-7a74fe947a8f");
    assert_string_equal(o->client_order_id, "4642fd68-d59a-47d7-a9ac-e22f536828d1");
    assert_int_equal(o->client_id, 0);
    assert_int_equal(o->side, NX_SIDE_SELL);
    assert_int_equal(o->type, NX_ALU_T_MARKET);
    assert_int_equal(o->status, NX_ALU_S_FILLED);
    assert_int_equal(o->nx_status, NX_OS_FILLED);
    assert_int_equal(o->order_class, NX_ALU_C_SIMPLE);
    assert_int_equal(o->qty, 179086);
    assert_int_equal(o->filled_qty, 179086);
    assert_int_equal(o->filled_avg_price, 1058988475);
    /* 2022-04-19T13:45:04.981350886-04:00 is 17:45:04.981350886Z */
    assert_int_equal(o->created_ns, 1650390304981350886LL);
    assert_int_equal(o->filled_ns, 1650390305024916716LL);
    assert_int_equal(o->nlegs, 0);
}

static void test_rest_order(void **state)
{
    (void)state;
    const char *t = sample_line("alpaca_rest.jsonl", 3);
    nx_alu_order_t o;
    nx_alu_error_t err;
    long before = allocs;
    assert_int_equal(nx_alu_order_decode(t, strlen(t), &T, &o, &err), 0);
    assert_int_equal(allocs, before);
    assert_int_equal(o.sym.id, AAPL);
    assert_string_equal(o.id, "61e69015-8549-4bfd-b9c3-01e75843f47d");
    assert_int_equal(o.status, NX_ALU_S_ACCEPTED);
    assert_int_equal(o.nx_status, NX_OS_ACKED);
    assert_int_equal(o.qty, 0); /* an order by notional */
    assert_int_equal(o.filled_qty, 0);
    assert_int_equal(o.created_ns, 1615919881942282000LL); /* 2021-03-16T18:38:01.942282Z */
    assert_int_equal(o.filled_ns, 0);                      /* null */
    assert_int_equal(nx_alu_order_decode("[1]", 3, &T, &o, &err), NX_ETYPE);
}

static void test_bracket_legs(void **state)
{
    (void)state;
    /* a bracket buy of 10 SPY, ours, accepted: its legs held */
    decode("{\"stream\":\"trade_updates\",\"data\":{\"event\":\"new\",\"order\":{"
           "\"client_order_id\":\"nx-2a0001\",\"id\":\"b-1\",\"legs\":["
           "{\"id\":\"leg-tp\",\"limit_price\":\"301\",\"side\":\"sell\",\"status\":\"held\","
           "\"symbol\":\"SPY\",\"type\":\"limit\"},"
           "{\"id\":\"leg-sl\",\"side\":\"sell\",\"status\":\"held\",\"stop_price\":\"299.5\","
           "\"symbol\":\"SPY\",\"type\":\"stop\"}],"
           "\"order_class\":\"bracket\",\"qty\":\"10\",\"side\":\"buy\",\"status\":\"new\","
           "\"symbol\":\"SPY\",\"type\":\"market\"},\"timestamp\":\"2026-11-23T15:00:00Z\"}}",
           NX_ALU_UPDATE);
    const nx_alu_order_t *o = &M.update.order;
    assert_int_equal(M.update.event, NX_ALU_E_NEW);
    assert_int_equal(o->client_id, 0x2a0001);
    assert_int_equal(o->order_class, NX_ALU_C_BRACKET);
    assert_int_equal(o->nlegs, 2);
    assert_string_equal(o->legs[0].id, "leg-tp");
    assert_int_equal(o->legs[0].type, NX_ALU_T_LIMIT);
    assert_int_equal(o->legs[0].limit_price, 30100);
    assert_int_equal(o->legs[0].status, NX_ALU_S_HELD);
    assert_string_equal(o->legs[1].id, "leg-sl");
    assert_int_equal(o->legs[1].stop_price, 29950);
    assert_int_equal(M.update.timestamp_ns, 1795446000000000000LL);
    /* the stop leg fills later, on its own id: the position goes flat */
    decode("{\"stream\":\"trade_updates\",\"data\":{\"event\":\"fill\",\"execution_id\":\"x-9\","
           "\"order\":{\"id\":\"leg-sl\",\"order_class\":\"bracket\",\"qty\":\"10\","
           "\"filled_qty\":\"10\",\"filled_avg_price\":\"299.4012\",\"side\":\"sell\","
           "\"status\":\"filled\",\"stop_price\":\"299.5\",\"symbol\":\"SPY\",\"type\":\"stop\"},"
           "\"position_qty\":\"0\",\"price\":\"299.4012\",\"qty\":\"10\","
           "\"timestamp\":\"2026-11-23T16:30:00.5-05:00\"}}",
           NX_ALU_UPDATE);
    assert_string_equal(M.update.order.id, "leg-sl");
    assert_int_equal(M.update.price, 29940); /* sub-penny, rounded to the cent */
    assert_int_equal(M.update.qty, 10);
    assert_int_equal(M.update.timestamp_ns, 1795469400500000000LL); /* 21:30:00.5Z */
    /* a partial fill of a short: the position after it negative */
    decode(
        "{\"stream\":\"trade_updates\",\"data\":{\"event\":\"partial_fill\",\"execution_id\":"
        "\"x-10\",\"order\":{\"id\":\"s-1\",\"qty\":\"5\",\"filled_qty\":\"2\",\"side\":\"sell\","
        "\"status\":\"partially_filled\",\"symbol\":\"AAPL\",\"type\":\"limit\",\"limit_price\":"
        "\"190\"},\"position_qty\":\"-2\",\"price\":\"190\",\"qty\":\"2\",\"timestamp\":"
        "\"2026-11-23T15:00:00Z\"}}",
        NX_ALU_UPDATE);
    assert_int_equal(M.update.position_qty, -20000);
    assert_int_equal(M.update.order.nx_status, NX_OS_PARTIAL);
}

static void fails(const char *text, int want, const char *key)
{
    int rc = nx_alu_frame_decode(text, strlen(text), &T, &M);
    if (rc != want)
        fail_msg("%s: %d, not %d (%s: %s)", text, rc, want, M.err.key ? M.err.key : "",
                 M.err.what ? M.err.what : "");
    assert_string_equal(M.err.key, key);
}

static void test_errors(void **state)
{
    (void)state;
    fails(
        "{\"stream\":\"trade_updates\",\"data\":{\"event\":\"teleported\",\"order\":{\"id\":\"a\","
        "\"side\":\"buy\",\"status\":\"new\",\"symbol\":\"SPY\"}}}",
        NX_ERANGE, "data.event");
    fails("{\"stream\":\"trade_updates\",\"data\":{\"event\":\"fill\",\"order\":{\"id\":\"a\","
          "\"side\":\"buy\",\"status\":\"filled\",\"symbol\":\"SPY\"},\"qty\":\"1\"}}",
          NX_ESYNTAX, "data.execution_id");
    fails("{\"stream\":\"trade_updates\",\"data\":{\"event\":\"new\"}}", NX_ESYNTAX, "data.order");
    fails("{\"stream\":\"trade_updates\",\"data\":{\"event\":\"new\",\"order\":{\"id\":\"a\","
          "\"side\":\"buy\",\"status\":\"new\",\"symbol\":\"SPY\",\"created_at\":\"yesterday\"}}}",
          NX_ESYNTAX, "data.order.created_at");
    fails("{\"stream\":\"trade_updates\",\"data\":{\"event\":\"fill\",\"execution_id\":\"e\","
          "\"order\":{\"id\":\"a\",\"side\":\"buy\",\"status\":\"filled\",\"symbol\":\"SPY\"},"
          "\"qty\":\"1.5\"}}",
          NX_EPRECISION, "data.qty");
    fails("{\"stream\":\"trade_updates\",\"data\":", NX_ESYNTAX, "");
    fails("{\"data\":{}}", NX_ESYNTAX, "stream");
}

int main(void)
{
#ifndef NX_NO_WRAP
    long before = allocs;
    free(malloc(16));
    if (allocs == before) {
        fprintf(stderr, "malloc is not wrapped\n");
        return 1;
    }
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_answers), cmocka_unit_test(test_captured_fill),
        cmocka_unit_test(test_rest_order),     cmocka_unit_test(test_bracket_legs),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
