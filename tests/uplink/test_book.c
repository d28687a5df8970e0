/*
 * test_book.c — the venue sync rules of the local order books, driven by
 * real frame shapes through the decoder: Binance USD-M (buffer, REST
 * snapshot, drop u < L, first U <= L <= u, pu chaining), Binance spot
 * (U == u + 1), Bybit (snapshot then u + 1), crossed books, depth limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/book.h"
#include "nx/decode.h"
#include "nx/error.h"

typedef struct rig {
    nx_symtab_t symtab;
    nx_ring_t *ring;
    nx_decoder_t dec;
    nx_bookset_t books;
    uint32_t sym;
    int gap_calls;
} rig_t;

static void on_gap(void *ctx, uint32_t symbol)
{
    rig_t *r = ctx;
    (void)symbol;
    r->gap_calls++;
}

static rig_t *rig(nx_venue_t v)
{
    rig_t *r = calloc(1, sizeof *r);
    nx_symtab_init(&r->symtab);
    r->sym = (uint32_t)nx_symtab_add(&r->symtab, v, "BTCUSDT", 2, 3, 1, 1, 0, NULL);
    assert_int_equal(nx_ring_create(&r->ring, "b", 4096, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                                    NX_WAIT_SPIN),
                     0);
    assert_int_equal(nx_decoder_init(&r->dec, v, &r->symtab, r->ring), 0);
    nx_bookset_init(&r->books, v, 5, 1024);
    r->books.on_gap = on_gap;
    r->books.ctx = r;
    return r;
}

static void done(rig_t *r)
{
    nx_bookset_free(&r->books);
    nx_decoder_fini(&r->dec);
    nx_ring_destroy(r->ring);
    free(r);
}

static void drain(rig_t *r)
{
    uint64_t s;
    uint32_t n;
    while ((n = nx_ring_poll(r->ring, nx_ring_consumer(r->ring, 0), 4096, &s)) > 0)
        nx_ring_release(nx_ring_consumer(r->ring, 0), s + n);
}

/* Feed one frame; return gaps found. */
static uint32_t feed(rig_t *r, const char *frame)
{
    uint64_t first;
    int n = nx_decode_frame(&r->dec, frame, strlen(frame), &first);
    if (n < 0)
        fail_msg("%s", r->dec.last_error);
    uint32_t g = nx_bookset_apply(&r->books, &r->dec, first, (uint32_t)n);
    drain(r);
    return g;
}

static uint32_t snapshot(rig_t *r, const char *body)
{
    uint64_t first;
    int n = nx_decode_binance_depth_snapshot(&r->dec, r->sym, body, strlen(body), &first);
    if (n < 0)
        fail_msg("%s", r->dec.last_error);
    uint32_t g = nx_bookset_apply(&r->books, &r->dec, first, (uint32_t)n);
    drain(r);
    return g;
}

static char *diff(uint64_t U, uint64_t u, uint64_t pu, const char *bids, const char *asks)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"e\":\"depthUpdate\",\"E\":1,\"T\":1,\"s\":\"BTCUSDT\",\"U\":%llu,\"u\":%llu,"
             "\"pu\":%llu,\"b\":%s,\"a\":%s}",
             (unsigned long long)U, (unsigned long long)u, (unsigned long long)pu, bids, asks);
    return buf;
}

static void test_binance_usdm_sync(void **state)
{
    (void)state;
    rig_t *r = rig(NX_VENUE_BINANCE_USDM);
    nx_book_t *b = nx_bookset_get(&r->books, r->sym);
    /* Diffs arrive before the snapshot: buffered. */
    assert_int_equal(feed(r, diff(90, 95, 89, "[[\"99.00\",\"1\"]]", "[]")),
                     0); /* u < L: dropped */
    assert_int_equal(feed(r, diff(96, 105, 95, "[[\"100.00\",\"2\"]]", "[]")),
                     0); /* bridges L=100 */
    assert_int_equal(feed(r, diff(106, 110, 105, "[]", "[[\"101.00\",\"3\"]]")), 0);
    assert_int_equal(b->state, NX_BOOK_WAIT_SNAPSHOT);
    assert_int_equal(b->nbids + b->nasks, 0);
    /* REST snapshot with lastUpdateId 100. */
    assert_int_equal(snapshot(r, "{\"lastUpdateId\":100,\"E\":1,\"T\":1,\"bids\":[[\"100.00\","
                                 "\"1\"],[\"98.00\",\"5\"]],\"asks\":[[\"102.00\",\"4\"]]}"),
                     0);
    assert_int_equal(b->state, NX_BOOK_LIVE);
    /* The u<L diff was skipped (no 99.00), the bridging one applied
     * (100.00 -> 2), the next one too (ask 101.00). */
    assert_int_equal(b->nbids, 2);
    assert_int_equal(b->bids[0].px, 10000);
    assert_int_equal(b->bids[0].qty, 2000);
    assert_int_equal(b->bids[1].px, 9800);
    assert_int_equal(b->asks[0].px, 10100);
    assert_int_equal(b->last_id, 110);
    /* Live chaining by pu. */
    assert_int_equal(feed(r, diff(111, 120, 110, "[[\"98.00\",\"0\"]]", "[]")), 0);
    assert_int_equal(b->nbids, 1);
    /* A broken chain: pu != previous u. */
    assert_int_equal(feed(r, diff(125, 130, 121, "[]", "[]")), 1);
    assert_int_equal(r->gap_calls, 1);
    assert_int_equal(b->state, NX_BOOK_WAIT_SNAPSHOT);
    assert_int_equal(r->books.gaps, 1);
    /* Recovery: buffer, new snapshot, resynced. */
    assert_int_equal(feed(r, diff(131, 140, 130, "[[\"100.50\",\"1\"]]", "[]")), 0);
    assert_int_equal(snapshot(r, "{\"lastUpdateId\":135,\"bids\":[[\"100.00\",\"1\"]],"
                                 "\"asks\":[[\"102.00\",\"1\"]]}"),
                     0);
    assert_int_equal(b->state, NX_BOOK_LIVE);
    assert_int_equal(b->bids[0].px, 10050);
    assert_int_equal(r->books.resyncs, 1);
    assert_int_equal(r->dec.st.by_type[NX_EV_STATUS], 2); /* one gap, one resync */
    /* A snapshot newer than every buffered diff, then a diff that does not
     * bridge it: gap. */
    assert_int_equal(feed(r, diff(200, 210, 190, "[]", "[]")), 1);
    done(r);
}

static void test_binance_spot_sync(void **state)
{
    (void)state;
    rig_t *r = rig(NX_VENUE_BINANCE_SPOT);
    nx_book_t *b = nx_bookset_get(&r->books, r->sym);
    assert_int_equal(feed(r, diff(101, 103, 0, "[[\"10.00\",\"1\"]]", "[]")), 0);
    assert_int_equal(snapshot(r, "{\"lastUpdateId\":100,\"bids\":[],\"asks\":[[\"11.00\",\"1\"]]}"),
                     0);
    assert_int_equal(b->nbids, 1);                               /* U <= L+1 <= u: applied */
    assert_int_equal(feed(r, diff(104, 104, 0, "[]", "[]")), 0); /* U == u + 1 */
    assert_int_equal(feed(r, diff(106, 107, 0, "[]", "[]")), 1); /* 105 missing */
    done(r);
}

static char *bybit(const char *type, uint64_t u, const char *bids, const char *asks)
{
    static char buf[512];
    snprintf(buf, sizeof buf,
             "{\"topic\":\"orderbook.50.BTCUSDT\",\"type\":\"%s\",\"ts\":1,\"data\":{\"s\":"
             "\"BTCUSDT\",\"b\":%s,\"a\":%s,\"u\":%llu,\"seq\":7}}",
             type, bids, asks, (unsigned long long)u);
    return buf;
}

static void test_bybit_sync_and_cross(void **state)
{
    (void)state;
    rig_t *r = rig(NX_VENUE_BYBIT_LINEAR);
    nx_book_t *b = nx_bookset_get(&r->books, r->sym);
    assert_int_equal(feed(r, bybit("delta", 9, "[[\"1\",\"1\"]]", "[]")), 0); /* before snapshot */
    assert_int_equal(b->nbids, 0);
    assert_int_equal(
        feed(r, bybit("snapshot", 10, "[[\"100\",\"1\"],[\"99\",\"1\"]]", "[[\"101\",\"1\"]]")), 0);
    assert_int_equal(feed(r, bybit("delta", 11, "[[\"100\",\"0\"]]", "[]")), 0);
    assert_int_equal(b->bids[0].px, 9900);
    assert_int_equal(feed(r, bybit("delta", 12, "[]", "[]")), 0); /* empty delta keeps the chain */
    assert_int_equal(feed(r, bybit("delta", 14, "[]", "[]")), 1); /* 13 missing */
    assert_int_equal(feed(r, bybit("snapshot", 20, "[[\"100\",\"1\"]]", "[[\"101\",\"1\"]]")), 0);
    assert_int_equal(r->books.resyncs, 1);
    /* A delta that crosses the book (bid above the ask) is a gap. */
    assert_int_equal(feed(r, bybit("delta", 21, "[[\"102\",\"1\"]]", "[]")), 1);
    assert_int_equal(r->books.crossed, 1);
    done(r);
}

static void test_depth_limit(void **state)
{
    (void)state;
    nx_book_t b;
    assert_int_equal(nx_book_init(&b, NX_VENUE_BYBIT_LINEAR, 0, 3, 0), 0);
    for (int p = 1; p <= 5; p++)
        nx_book_set(&b, NX_SIDE_SELL, p, 1);
    assert_int_equal(b.nasks, 3);
    assert_int_equal(b.asks[2].px, 3);   /* the best three are kept */
    nx_book_set(&b, NX_SIDE_SELL, 0, 1); /* better level evicts the worst */
    assert_int_equal(b.asks[0].px, 0);
    assert_int_equal(b.asks[2].px, 2);
    nx_book_set(&b, NX_SIDE_SELL, 9, 0); /* unknown removal is harmless */
    for (int p = 10; p < 13; p++)
        nx_book_set(&b, NX_SIDE_BUY, p, 1);
    assert_int_equal(b.bids[0].px, 12);
    assert_false(nx_book_crossed(&b) == 0);
    nx_book_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binance_usdm_sync),
        cmocka_unit_test(test_binance_spot_sync),
        cmocka_unit_test(test_bybit_sync_and_cross),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
