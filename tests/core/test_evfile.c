/*
 * test_evfile — the binary market-event file (nx/evfile.h):
 *  - every market event type written and read back field for field, with
 *    the bytes the layout in evfile.h documents (counted by hand here);
 *  - symbols mapped by venue and name onto the reader's table; events of
 *    a symbol it lacks skipped and counted; other scales refused;
 *  - a file of another version, one cut inside an event, one with a
 *    damaged type or end mark, and a file that is no event file: refused,
 *    each with its reason; one without its end mark (a killed recorder's)
 *    read whole and said incomplete;
 *  - the reader's clock never steps back (records are in arrival order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nx/evfile.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/nx-evfile-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static void table(nx_symtab_t *t)
{
    nx_symtab_init(t);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 0, NULL), 0);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BYBIT_LINEAR, "ETHUSDT", 2, 2, 1, 1, 0, NULL), 1);
}

static nx_event_t event(uint8_t type, uint32_t sym, int64_t t_ns)
{
    nx_event_t e;
    memset(&e, 0, sizeof e);
    e.hdr.type = type;
    e.hdr.symbol = sym;
    e.hdr.flags = NX_EVF_BACKFILL;
    e.hdr.exch_ns = t_ns;
    e.hdr.recv_ns = t_ns + 1234;
    return e;
}

/* The five kinds, one each, with distinctive values in every field. */
static int make(nx_event_t *ev)
{
    int n = 0;
    nx_event_t e = event(NX_EV_TRADE, 0, 1000000000);
    e.u.trade = (nx_ev_trade_t){.price = 3529101, .qty = 1234, .trade_id = 0x123456789aULL,
                                .aggressor = NX_SIDE_SELL};
    ev[n++] = e;
    e = event(NX_EV_BBO, 1, 2000000000);
    e.u.bbo = (nx_ev_bbo_t){.bid_px = 100, .bid_qty = 2, .ask_px = 101, .ask_qty = 3,
                            .update_id = UINT64_MAX};
    ev[n++] = e;
    e = event(NX_EV_KLINE, 0, 3000000000);
    e.u.kline = (nx_ev_kline_t){.open_ms = 1610409600000, .open = 1, .high = 5, .low = -2,
                                .close = 4, .volume = 77, .quote_volume = 88, .interval_s = 900,
                                .trades = 4, .closed = 1};
    ev[n++] = e;
    e = event(NX_EV_BOOK, 1, 2500000000); /* an earlier time, from another venue */
    e.u.book = (nx_ev_book_t){.price = 99, .qty = 0, .first_id = 5, .last_id = 9, .prev_id = 4,
                              .venue_seq = 42, .side = NX_SIDE_BUY};
    ev[n++] = e;
    e = event(NX_EV_MARK, 0, 4000000000);
    e.u.mark = (nx_ev_mark_t){.mark_px = 3529000, .index_px = 3528000,
                              .funding_rate_e8 = -38167, .next_funding_ms = 1610438400000};
    ev[n++] = e;
    return n;
}

static void write_all(const nx_symtab_t *t, const nx_event_t *ev, int n)
{
    nx_evw_t *w;
    assert_int_equal(nx_evw_open(&w, path, t), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(nx_evw_put(w, &ev[i]), 0);
    nx_event_t sig = event(NX_EV_SIGNAL, 0, 5000000000);
    assert_int_equal(nx_evw_put(w, &sig), 1); /* not market data: left out */
    assert_int_equal(nx_evw_count(w), (uint64_t)n);
    assert_int_equal(nx_evw_close(w), 0);
}

static long file_size(void)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void test_round_trip(void **state)
{
    (void)state;
    nx_symtab_t t;
    table(&t);
    nx_event_t ev[8];
    int n = make(ev);
    write_all(&t, ev, n);
    /* 16 header + 2 x 28 symbols + records of 20 + 25/40/65/49/32 + 12 end */
    assert_int_equal(file_size(), 16 + 56 + 5 * 20 + 25 + 40 + 65 + 49 + 32 + 12);
    assert_true(nx_evr_is_evfile(path));
    nx_evr_t *r;
    char why[256];
    assert_int_equal(nx_evr_open(&r, path, &t, why, sizeof why), 0);
    assert_int_equal(nx_evr_count(r), 5);
    assert_true(nx_evr_complete(r));
    int64_t a, z;
    nx_evr_span(r, &a, &z);
    assert_int_equal(a, 1000000000);
    assert_int_equal(z, 4000000000);
    for (int i = 0; i < n; i++) {
        nx_event_t got;
        memset(&got, 0xAB, sizeof got);
        int64_t peek = nx_evr_peek_ns(r);
        assert_int_equal(nx_evr_next(r, &got), 1);
        assert_int_equal(got.hdr.type, ev[i].hdr.type);
        assert_int_equal(got.hdr.symbol, ev[i].hdr.symbol);
        assert_int_equal(got.hdr.venue, i == 1 || i == 3 ? NX_VENUE_BYBIT_LINEAR : NX_VENUE_BINANCE_USDM);
        assert_int_equal(got.hdr.flags, NX_EVF_BACKFILL);
        assert_int_equal(got.hdr.exch_ns, ev[i].hdr.exch_ns);
        assert_int_equal(got.hdr.recv_ns, ev[i].hdr.recv_ns);
        /* the book event is earlier than the kline before it: the clock
         * the reader gives a merge stays at the kline's */
        assert_int_equal(peek, i == 3 ? 3000000000 : ev[i].hdr.exch_ns);
        switch (got.hdr.type) {
        case NX_EV_TRADE:
            assert_memory_equal(&got.u.trade, &ev[i].u.trade, offsetof(nx_ev_trade_t, aggressor) + 1);
            break;
        case NX_EV_BBO:
            assert_memory_equal(&got.u.bbo, &ev[i].u.bbo, sizeof got.u.bbo);
            break;
        case NX_EV_KLINE:
            assert_int_equal(got.u.kline.open_ms, 1610409600000);
            assert_int_equal(got.u.kline.low, -2);
            assert_int_equal(got.u.kline.quote_volume, 88);
            assert_int_equal(got.u.kline.interval_s, 900);
            assert_int_equal(got.u.kline.trades, 4);
            assert_int_equal(got.u.kline.closed, 1);
            break;
        case NX_EV_BOOK:
            assert_int_equal(got.u.book.venue_seq, 42);
            assert_int_equal(got.u.book.prev_id, 4);
            assert_int_equal(got.u.book.side, NX_SIDE_BUY);
            break;
        default:
            assert_int_equal(got.u.mark.funding_rate_e8, -38167);
            assert_int_equal(got.u.mark.next_funding_ms, 1610438400000);
            break;
        }
    }
    nx_event_t got;
    assert_int_equal(nx_evr_next(r, &got), 0);
    assert_int_equal(nx_evr_peek_ns(r), INT64_MAX);
    nx_evr_rewind(r);
    assert_int_equal(nx_evr_next(r, &got), 1);
    assert_int_equal(got.u.trade.price, 3529101);
    nx_evr_close(r);
}

static void test_symbols_mapped(void **state)
{
    (void)state;
    nx_symtab_t t;
    table(&t);
    nx_event_t ev[8];
    int n = make(ev);
    write_all(&t, ev, n);
    /* a reader with ETHUSDT first and no BTCUSDT */
    nx_symtab_t u;
    nx_symtab_init(&u);
    assert_int_equal(nx_symtab_add(&u, NX_VENUE_BYBIT_LINEAR, "ETHUSDT", 2, 2, 1, 1, 0, NULL), 0);
    nx_evr_t *r;
    char why[256];
    assert_int_equal(nx_evr_open(&r, path, &u, why, sizeof why), 0);
    nx_event_t got;
    int k = 0;
    while (nx_evr_next(r, &got)) {
        assert_int_equal(got.hdr.symbol, 0);
        assert_true(got.hdr.type == NX_EV_BBO || got.hdr.type == NX_EV_BOOK);
        k++;
    }
    assert_int_equal(k, 2);
    assert_int_equal(nx_evr_unknown(r), 3);
    nx_evr_close(r);
    /* the same name on another venue is another symbol */
    nx_symtab_init(&u);
    assert_int_equal(nx_symtab_add(&u, NX_VENUE_BINANCE_USDM, "ETHUSDT", 2, 2, 1, 1, 0, NULL), 0);
    assert_int_equal(nx_evr_open(&r, path, &u, why, sizeof why), 0);
    assert_int_equal(nx_evr_next(r, &got), 0);
    assert_int_equal(nx_evr_unknown(r), 5);
    nx_evr_close(r);
    /* other scales: refused, not rounded */
    nx_symtab_init(&u);
    assert_int_equal(nx_symtab_add(&u, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 3, 1, 1, 0, NULL), 0);
    assert_int_not_equal(nx_evr_open(&r, path, &u, why, sizeof why), 0);
    assert_non_null(strstr(why, "BTCUSDT on binance-usdm was recorded with prices in 1e-2 and "
                                "quantities in 1e-3; the config has 1e-8 and 1e-3"));
}

/* Bytes of the file, changed by f, written back. */
static void patch(void (*f)(unsigned char *, long *), long *len)
{
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    static unsigned char b[4096];
    *len = (long)fread(b, 1, sizeof b, in);
    fclose(in);
    f(b, len);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(b, 1, (size_t)*len, out), (size_t)*len);
    fclose(out);
}

static void v2(unsigned char *b, long *n)
{
    (void)n;
    b[8] = 2;
}
static void cut_inside(unsigned char *b, long *n)
{
    (void)b;
    *n -= 12 + 10; /* the end mark and 10 of the last event's 52 bytes */
}
static void no_end(unsigned char *b, long *n)
{
    (void)b;
    *n -= 12;
}
static void bad_type(unsigned char *b, long *n)
{
    (void)n;
    b[16 + 56] = 77; /* the first record's type */
}
static void bad_count(unsigned char *b, long *n)
{
    b[*n - 8] = 9; /* the end mark's count */
}

static void open_fails(const char *want)
{
    nx_symtab_t t;
    table(&t);
    nx_evr_t *r = NULL;
    char why[256] = "";
    assert_int_not_equal(nx_evr_open(&r, path, &t, why, sizeof why), 0);
    assert_null(r);
    if (!strstr(why, want))
        fail_msg("want \"%s\" in \"%s\"", want, why);
}

static void test_bad_files_refused(void **state)
{
    (void)state;
    nx_symtab_t t;
    table(&t);
    nx_event_t ev[8];
    int n = make(ev);
    long len;
    write_all(&t, ev, n);
    patch(v2, &len);
    open_fails("an event file of version 2; this nexus reads version 1");
    write_all(&t, ev, n);
    patch(cut_inside, &len);
    char want[160];
    snprintf(want, sizeof want, "it ends inside an event at byte %ld", len - 42);
    open_fails(want);
    write_all(&t, ev, n);
    patch(bad_type, &len);
    open_fails("byte 72: an event of unknown type 77");
    write_all(&t, ev, n);
    patch(bad_count, &len);
    open_fails("its end mark counts 9 events, the file holds 5");
    FILE *f = fopen(path, "w");
    fputs("open_time,open,high,low,close,volume\n1610409600000,1,2,3,4,5\n", f);
    fclose(f);
    assert_false(nx_evr_is_evfile(path));
    open_fails("not a Nexus event file");
    /* without its end mark (a recorder killed between two flushes): read
     * whole, and said incomplete */
    write_all(&t, ev, n);
    patch(no_end, &len);
    nx_evr_t *r;
    char why[256];
    assert_int_equal(nx_evr_open(&r, path, &t, why, sizeof why), 0);
    assert_false(nx_evr_complete(r));
    assert_int_equal(nx_evr_count(r), 5);
    nx_evr_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbols_mapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_files_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
