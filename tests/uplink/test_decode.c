/*
 * test_decode.c — the venue parsers against real frames.
 *
 *  - every frame of every capture and market-data sample decodes with 0
 *    errors;
 *  - per file, event counts by type equal an independent count made with
 *    jansson from the same frames (the rules in decode.h, re-implemented);
 *  - the Bybit and XRPUSDT books stay gap-free and never cross, after
 *    every message;
 *  - after each capture, every book equals the one rebuilt from the raw
 *    messages by the simple reference implementation below;
 *  - field values, malformed frames (nothing published, counted), shuffled
 *    and unknown keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/clock.h"
#include "nx/book.h"
#include "nx/decode.h"
#include "nx/error.h"
#include "nx/event_json.h"
#include "nx/fixed.h"

/* ---------- helpers ---------- */

static char path_buf[512];
static const char *data_path(const char *rel)
{
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path_buf, sizeof path_buf, "%s/tests/data/%s", src ? src : NX_SOURCE_DIR_DEFAULT, rel);
    return path_buf;
}

typedef struct lines {
    char **v;
    size_t n;
} lines_t;

static lines_t read_lines(const char *rel)
{
    lines_t L = {0};
    FILE *f = fopen(data_path(rel), "r");
    if (!f)
        fail_msg("cannot open %s", path_buf);
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

static void free_lines(lines_t *L)
{
    for (size_t i = 0; i < L->n; i++)
        free(L->v[i]);
    free(L->v);
}

typedef struct rig {
    nx_symtab_t symtab;
    nx_ring_t *ring;
    nx_decoder_t dec;
    nx_bookset_t books;
} rig_t;

static rig_t *rig_new(nx_venue_t v)
{
    rig_t *r = calloc(1, sizeof *r);
    nx_symtab_init(&r->symtab);
    assert_int_equal(nx_ring_create(&r->ring, "t", 1 << 16, sizeof(nx_event_t), 1,
                                    NX_RING_NEVER_BLOCK, NX_WAIT_SPIN),
                     0);
    assert_int_equal(nx_decoder_init(&r->dec, v, &r->symtab, r->ring), 0);
    r->dec.auto_intern = 1;
    nx_bookset_init(&r->books, v, 1000, 1 << 14);
    r->books.assume_empty = v == NX_VENUE_BINANCE_USDM || v == NX_VENUE_BINANCE_SPOT;
    return r;
}

static void rig_free(rig_t *r)
{
    nx_bookset_free(&r->books);
    nx_decoder_fini(&r->dec);
    nx_ring_destroy(r->ring);
    free(r);
}

/* Drain everything published so far. */
static void drain(rig_t *r)
{
    uint64_t seq;
    uint32_t n;
    nx_ring_consumer_t *c = nx_ring_consumer(r->ring, 0);
    while ((n = nx_ring_poll(r->ring, c, 1 << 16, &seq)) > 0)
        nx_ring_release(c, seq + n);
}

/* ---------- independent counting with jansson ---------- */

typedef struct counts {
    uint64_t trade, bbo, kline, book, mark;
} counts_t;

static size_t arr_len(json_t *o, const char *k)
{
    json_t *a = json_object_get(o, k);
    return json_is_array(a) ? json_array_size(a) : 0;
}

/* A candle can be true (decode.h): prices > 0, volume >= 0, its low at
 * or below its open and close and its high at or above them. Binance's
 * documented kline example (samples/binance_kline.jsonl) has its low above
 * its open: decoders refuse it. Numbers are strings or JSON numbers. */
static double num(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? atof(json_string_value(v)) : json_number_value(v);
}
static int candle_true(json_t *o, const char *ko, const char *kh, const char *kl, const char *kc,
                       const char *kv)
{
    double op = num(o, ko), h = num(o, kh), l = num(o, kl), c = num(o, kc), v = num(o, kv);
    return op > 0 && h > 0 && l > 0 && c > 0 && v >= 0 && l <= op && l <= c && h >= op && h >= c;
}

static void count_binance_payload(json_t *p, counts_t *c)
{
    const char *e = json_string_value(json_object_get(p, "e"));
    if (!e) {
        if (json_object_get(p, "u") && json_object_get(p, "b") && json_object_get(p, "a"))
            c->bbo++;
        return;
    }
    if (!strcmp(e, "aggTrade") || !strcmp(e, "trade"))
        c->trade++;
    else if (!strcmp(e, "bookTicker"))
        c->bbo++;
    else if (!strcmp(e, "kline"))
        c->kline += candle_true(json_object_get(p, "k"), "o", "h", "l", "c", "v");
    else if (!strcmp(e, "markPriceUpdate"))
        c->mark++;
    else if (!strcmp(e, "depthUpdate")) {
        size_t n = arr_len(p, "b") + arr_len(p, "a");
        c->book += n ? n : 1;
    }
}

static void count_binance(json_t *j, counts_t *c)
{
    json_t *d = json_object_get(j, "data");
    json_t *p = d ? d : j;
    if (json_is_array(p)) {
        size_t i;
        json_t *x;
        json_array_foreach(p, i, x) count_binance_payload(x, c);
    } else {
        count_binance_payload(p, c);
    }
}

typedef struct tick {
    char sym[32];
    double bid, ask, mark;
} tick_t;

static tick_t ticks[64];
static int nticks;

static tick_t *tick_of(const char *sym)
{
    for (int i = 0; i < nticks; i++)
        if (!strcmp(ticks[i].sym, sym))
            return &ticks[i];
    tick_t *t = &ticks[nticks++];
    memset(t, 0, sizeof *t);
    snprintf(t->sym, sizeof t->sym, "%s", sym);
    return t;
}

static int has_str(json_t *o, const char *k, double *v)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (!s || !*s)
        return 0;
    *v = atof(s);
    return 1;
}

static void count_bybit(json_t *j, counts_t *c)
{
    const char *topic = json_string_value(json_object_get(j, "topic"));
    if (!topic)
        return;
    json_t *data = json_object_get(j, "data");
    if (!strncmp(topic, "publicTrade.", 12))
        c->trade += json_array_size(data);
    else if (!strncmp(topic, "kline.", 6)) {
        size_t i;
        json_t *x;
        json_array_foreach(data, i, x) c->kline += candle_true(x, "open", "high", "low", "close",
                                                               "volume");
    }
    else if (!strncmp(topic, "orderbook.", 10)) {
        size_t n = arr_len(data, "b") + arr_len(data, "a");
        c->book += n ? n : 1;
    } else if (!strncmp(topic, "tickers.", 8)) {
        tick_t *t = tick_of(json_string_value(json_object_get(data, "symbol")));
        const char *type = json_string_value(json_object_get(j, "type"));
        if (type && !strcmp(type, "snapshot"))
            t->bid = t->ask = t->mark = 0;
        double v;
        int bbo = 0, mark = 0;
        if (has_str(data, "bid1Price", &v)) {
            t->bid = v;
            bbo = 1;
        }
        if (has_str(data, "ask1Price", &v)) {
            t->ask = v;
            bbo = 1;
        }
        bbo |= has_str(data, "bid1Size", &v) | has_str(data, "ask1Size", &v);
        if (has_str(data, "markPrice", &v)) {
            t->mark = v;
            mark = 1;
        }
        mark |= has_str(data, "indexPrice", &v) | has_str(data, "fundingRate", &v);
        if (bbo && t->bid > 0 && t->ask > 0)
            c->bbo++;
        if (mark && t->mark > 0)
            c->mark++;
    }
}

static void count_alpaca(json_t *j, counts_t *c)
{
    size_t i;
    json_t *x;
    json_array_foreach(j, i, x)
    {
        const char *T = json_string_value(json_object_get(x, "T"));
        if (!T)
            continue;
        if (!strcmp(T, "t"))
            c->trade++;
        else if (!strcmp(T, "q"))
            c->bbo++;
        else if (!strcmp(T, "b") || !strcmp(T, "u") || !strcmp(T, "d"))
            c->kline += candle_true(x, "o", "h", "l", "c", "v");
    }
}

/* ---------- reference books: the simplest thing that can be right ---------- */

typedef struct rlev {
    long long px, qty;
} rlev_t;

typedef struct rbook {
    char sym[32];
    rlev_t side[2][4096];
    int n[2];
    int live;
} rbook_t;

static rbook_t *rbooks;
static int nrbooks;

/* Decimal string -> integer at scale 8, written independently of
 * nx_fixed_parse: split at '.', pad the fraction. */
static long long dec8(const char *s)
{
    char ip[32] = {0}, fp[16] = "00000000";
    const char *dot = strchr(s, '.');
    size_t il = dot ? (size_t)(dot - s) : strlen(s);
    memcpy(ip, s, il);
    if (dot) {
        size_t fl = strlen(dot + 1);
        memcpy(fp, dot + 1, fl < 8 ? fl : 8);
    }
    return atoll(ip) * 100000000LL + atoll(fp);
}

static rbook_t *rbook_of(const char *sym)
{
    for (int i = 0; i < nrbooks; i++)
        if (!strcmp(rbooks[i].sym, sym))
            return &rbooks[i];
    rbook_t *b = &rbooks[nrbooks++];
    memset(b, 0, sizeof *b);
    snprintf(b->sym, sizeof b->sym, "%s", sym);
    return b;
}

static void rset(rbook_t *b, int side, long long px, long long qty)
{
    for (int i = 0; i < b->n[side]; i++) {
        if (b->side[side][i].px == px) {
            if (qty)
                b->side[side][i].qty = qty;
            else
                b->side[side][i] = b->side[side][--b->n[side]];
            return;
        }
    }
    if (qty) {
        assert_true(b->n[side] < 4096);
        b->side[side][b->n[side]++] = (rlev_t){px, qty};
    }
}

static void rapply(rbook_t *b, json_t *levels, int side)
{
    size_t i;
    json_t *l;
    json_array_foreach(levels, i, l) rset(b, side, dec8(json_string_value(json_array_get(l, 0))),
                                          dec8(json_string_value(json_array_get(l, 1))));
}

static void ref_binance(json_t *j)
{
    json_t *d = json_object_get(j, "data");
    json_t *p = d ? d : j;
    const char *e = json_string_value(json_object_get(p, "e"));
    if (!e || strcmp(e, "depthUpdate"))
        return;
    rbook_t *b = rbook_of(json_string_value(json_object_get(p, "s")));
    b->live = 1;
    rapply(b, json_object_get(p, "b"), 0);
    rapply(b, json_object_get(p, "a"), 1);
}

static void ref_bybit(json_t *j)
{
    const char *topic = json_string_value(json_object_get(j, "topic"));
    if (!topic || strncmp(topic, "orderbook.", 10))
        return;
    json_t *data = json_object_get(j, "data");
    rbook_t *b = rbook_of(json_string_value(json_object_get(data, "s")));
    if (!strcmp(json_string_value(json_object_get(j, "type")), "snapshot")) {
        b->n[0] = b->n[1] = 0;
        b->live = 1;
    }
    if (!b->live)
        return;
    rapply(b, json_object_get(data, "b"), 0);
    rapply(b, json_object_get(data, "a"), 1);
}

static int cmp_lev(const void *a, const void *b)
{
    long long x = ((const rlev_t *)a)->px, y = ((const rlev_t *)b)->px;
    return x < y ? -1 : x > y;
}

/* Our book for each reference book must hold exactly the same levels. */
static void compare_books(rig_t *r)
{
    assert_true(nrbooks > 0);
    for (int i = 0; i < nrbooks; i++) {
        rbook_t *rb = &rbooks[i];
        uint32_t id = nx_symtab_find(&r->symtab, r->dec.venue, rb->sym, strlen(rb->sym));
        assert_int_not_equal(id, NX_SYMBOL_NONE);
        nx_book_t *b = r->books.books[id];
        assert_non_null(b);
        for (int side = 0; side < 2; side++) {
            qsort(rb->side[side], (size_t)rb->n[side], sizeof(rlev_t), cmp_lev);
            uint32_t n = side ? b->nasks : b->nbids;
            const nx_level_t *lv = side ? b->asks : b->bids;
            if ((int)n != rb->n[side])
                fail_msg("%s side %d: %u levels, reference %d", rb->sym, side, n, rb->n[side]);
            for (uint32_t k = 0; k < n; k++) {
                /* bids are descending in our book, the reference ascending */
                const rlev_t *want = &rb->side[side][side ? k : n - 1 - k];
                assert_int_equal(lv[k].px, want->px);
                assert_int_equal(lv[k].qty, want->qty);
            }
        }
    }
}

/* ---------- the file-driven test ---------- */

typedef struct file_case {
    const char *rel;
    nx_venue_t venue;
    int check_books; /* gap-free, never crossed, equal to reference */
} file_case_t;

static void run_file(const file_case_t *fc)
{
    lines_t L = read_lines(fc->rel);
    assert_true(L.n > 0);
    rig_t *r = rig_new(fc->venue);
    counts_t want = {0};
    nticks = 0;
    nrbooks = 0;
    rbooks = calloc(64, sizeof *rbooks);
    for (size_t i = 0; i < L.n; i++) {
        uint64_t first;
        int n = nx_decode_frame(&r->dec, L.v[i], strlen(L.v[i]), &first);
        if (n < 0)
            fail_msg("%s line %zu: %s", fc->rel, i + 1, r->dec.last_error);
        uint32_t gaps = nx_bookset_apply(&r->books, &r->dec, first, (uint32_t)n);
        if (fc->check_books) {
            assert_int_equal(gaps, 0);
            for (uint32_t s = 0; s < nx_symtab_count(&r->symtab); s++)
                if (r->books.books[s])
                    assert_false(nx_book_crossed(r->books.books[s]));
        }
        drain(r);
        json_error_t je;
        json_t *j = json_loads(L.v[i], 0, &je);
        assert_non_null(j);
        if (fc->venue == NX_VENUE_BINANCE_USDM || fc->venue == NX_VENUE_BINANCE_SPOT) {
            count_binance(j, &want);
            ref_binance(j);
        } else if (fc->venue == NX_VENUE_ALPACA) {
            count_alpaca(j, &want);
        } else {
            count_bybit(j, &want);
            ref_bybit(j);
        }
        json_decref(j);
    }
    const nx_decoder_stats_t *st = &r->dec.st;
    if (st->errors)
        fail_msg("%s: %llu errors, last: %s", fc->rel, (unsigned long long)st->errors,
                 r->dec.last_error);
    assert_int_equal(st->frames, L.n);
    assert_int_equal(st->by_type[NX_EV_TRADE], want.trade);
    assert_int_equal(st->by_type[NX_EV_BBO], want.bbo);
    assert_int_equal(st->by_type[NX_EV_KLINE], want.kline);
    assert_int_equal(st->by_type[NX_EV_BOOK], want.book);
    assert_int_equal(st->by_type[NX_EV_MARK], want.mark);
    assert_int_equal(st->dropped, 0);
    if (fc->check_books) {
        assert_int_equal(r->books.gaps, 0);
        compare_books(r);
    }
    free(rbooks);
    rig_free(r);
    free_lines(&L);
}

static void test_captures(void **state)
{
    (void)state;
    static const file_case_t cases[] = {
        {"ws/binance_usdm_futures_combined_20210722_first500.jsonl", NX_VENUE_BINANCE_USDM, 1},
        {"ws/bybit_v5_linear_public_20260809_first400.jsonl", NX_VENUE_BYBIT_LINEAR, 1},
        {"ws/bybit_v5_linear_orderbook500_XRPUSDT_20241201.jsonl", NX_VENUE_BYBIT_LINEAR, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_file(&cases[i]);
}

static void test_samples(void **state)
{
    (void)state;
    static const file_case_t cases[] = {
        {"samples/binance_aggTrade.jsonl", NX_VENUE_BINANCE_USDM, 0},
        {"samples/binance_bookTicker.jsonl", NX_VENUE_BINANCE_USDM, 0},
        {"samples/binance_kline.jsonl", NX_VENUE_BINANCE_USDM, 0},
        {"samples/binance_markPrice.jsonl", NX_VENUE_BINANCE_USDM, 0},
        {"samples/binance_depthUpdate.jsonl", NX_VENUE_BINANCE_USDM, 0},
        {"samples/binance_trade.jsonl", NX_VENUE_BINANCE_SPOT, 0},
        {"samples/bybit_publicTrade.jsonl", NX_VENUE_BYBIT_LINEAR, 0},
        {"samples/bybit_orderbook.jsonl", NX_VENUE_BYBIT_LINEAR, 0},
        {"samples/bybit_kline.jsonl", NX_VENUE_BYBIT_LINEAR, 0},
        {"samples/bybit_tickers.jsonl", NX_VENUE_BYBIT_LINEAR, 0},
        {"samples/bybit_ws_control.jsonl", NX_VENUE_BYBIT_LINEAR, 0},
        {"samples/alpaca_trades.jsonl", NX_VENUE_ALPACA, 0},
        {"samples/alpaca_quotes.jsonl", NX_VENUE_ALPACA, 0},
        {"samples/alpaca_bars.jsonl", NX_VENUE_ALPACA, 0},
        {"samples/alpaca_control.jsonl", NX_VENUE_ALPACA, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        run_file(&cases[i]);
}

/* ---------- field values ---------- */

static const nx_event_t *decode_one(rig_t *r, const char *frame, int want_events)
{
    uint64_t first;
    int n = nx_decode_frame(&r->dec, frame, strlen(frame), &first);
    if (n != want_events)
        fail_msg("decoded %d events (want %d): %s", n, want_events, r->dec.last_error);
    return n > 0 ? nx_bus_event(r->ring, first) : NULL;
}

static void test_binance_fields(void **state)
{
    (void)state;
    rig_t *r = rig_new(NX_VENUE_BINANCE_USDM);
    const nx_event_t *e = decode_one(
        r,
        "{\"stream\":\"btcusdt@aggTrade\",\"data\":{\"e\":\"aggTrade\",\"E\":1786171884624,"
        "\"a\":3404749954,\"s\":\"BTCUSDT\",\"p\":\"64990.90\",\"q\":\"0.002\",\"nq\":\"0.002\","
        "\"f\":7960913511,\"l\":7960913511,\"T\":1786171884471,\"m\":true,\"st\":1}}",
        1);
    assert_int_equal(e->hdr.type, NX_EV_TRADE);
    assert_int_equal(e->u.trade.price, 6499090000000LL);
    assert_int_equal(e->u.trade.qty, 200000);
    assert_int_equal(e->u.trade.trade_id, 3404749954ULL);
    assert_int_equal(e->u.trade.aggressor, NX_SIDE_SELL);
    assert_int_equal(e->hdr.exch_ns, 1786171884471LL * 1000000);
    assert_true(e->hdr.flags & NX_EVF_LAST);
    /* Keys in another order, unknown keys, spaces: same event. */
    e = decode_one(r,
                   " { \"m\" : false , \"zz\" : {\"x\":[1,2,{\"y\":\"}\"}]}, \"q\":\"1.5\", "
                   "\"p\":\"100\", \"a\":7, \"T\":5, \"s\":\"BTCUSDT\", \"e\":\"aggTrade\" } ",
                   1);
    assert_int_equal(e->u.trade.price, 10000000000LL);
    assert_int_equal(e->u.trade.qty, 150000000);
    assert_int_equal(e->u.trade.aggressor, NX_SIDE_BUY);
    /* Mark price with a negative funding rate. */
    e = decode_one(r,
                   "{\"e\":\"markPriceUpdate\",\"E\":1761731536000,\"s\":\"SOLUSDT\","
                   "\"p\":\"194.36713158\",\"P\":\"194.24338995\",\"i\":\"194.44842105\","
                   "\"r\":\"-0.00003843\",\"T\":1761753600000}",
                   1);
    assert_int_equal(e->u.mark.mark_px, 19436713158LL);
    assert_int_equal(e->u.mark.index_px, 19444842105LL);
    assert_int_equal(e->u.mark.funding_rate_e8, -3843);
    assert_int_equal(e->u.mark.next_funding_ms, 1761753600000LL);
    /* Ids above 2^32 in depth updates, zero-qty removals. */
    e = decode_one(r,
                   "{\"e\":\"depthUpdate\",\"E\":1,\"T\":2,\"s\":\"ETHUSDT\",\"U\":11289273841677,"
                   "\"u\":11289273848795,\"pu\":11289273841549,\"b\":[[\"1353.77\",\"0.000\"]],"
                   "\"a\":[[\"1879.10\",\"0.035\"]]}",
                   2);
    assert_int_equal(e->u.book.first_id, 11289273841677ULL);
    assert_int_equal(e->u.book.prev_id, 11289273841549ULL);
    assert_int_equal(e->u.book.qty, 0);
    assert_int_equal(e->u.book.side, NX_SIDE_BUY);
    /* Subscription replies and other event kinds publish nothing. */
    decode_one(r, "{\"result\":null,\"id\":1}", 0);
    decode_one(r, "{\"e\":\"forceOrder\",\"E\":1,\"o\":{}}", 0);
    assert_int_equal(r->dec.st.control, 1);
    assert_int_equal(r->dec.st.ignored, 1);
    char json[1024];
    assert_true(nx_event_json(e, &r->symtab, json, sizeof json) > 0);
    assert_non_null(strstr(json, "\"price\":\"1353.77\""));
    rig_free(r);
}

static void test_malformed_frames(void **state)
{
    (void)state;
    rig_t *r = rig_new(NX_VENUE_BINANCE_USDM);
    static const char *const bad[] = {
        "",
        "{",
        "not json",
        "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"p\":\"1\",\"q\":\"1\",\"a\":1,\"T\":1,\"m\":true",
        "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"p\":\"abc\",\"q\":\"1\",\"a\":1,\"T\":1}",
        "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"p\":1.5,\"q\":\"1\",\"a\":\"x\",\"T\":1}",
        "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"p\":\"0.123456789\",\"q\":\"1\",\"a\":1,\"T\":1}",
        "{\"e\":\"kline\",\"E\":1,\"s\":\"BTCUSDT\",\"k\":{\"t\":1,\"i\":\"7x\"}}",
        /* a depth update whose 2nd level is broken: the 1st must not leak */
        ("{\"e\":\"depthUpdate\",\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\"pu\":0,\"b\":[[\"1\",\"1\"],"
         "[\"x\",\"1\"]],\"a\":[]}"),
        "{\"e\":\"aggTrade\"} trailing",
        "[1,2,3]",
        "{\"unexpected\":true}",
    };
    uint64_t head_before = nx_ring_next(r->ring);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t first;
        int n = nx_decode_frame(&r->dec, bad[i], strlen(bad[i]), &first);
        if (n >= 0)
            fail_msg("accepted malformed frame %zu: %s", i, bad[i]);
        assert_true(strlen(r->dec.last_error) > 0);
    }
    assert_int_equal(r->dec.st.errors, sizeof bad / sizeof bad[0]);
    assert_int_equal(nx_ring_next(r->ring), head_before); /* nothing published */
    nx_ring_stats_t st;
    nx_ring_stats(r->ring, &st);
    assert_int_equal(st.published, 0);
    /* The decoder carries on. */
    decode_one(r,
               "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"p\":\"1\",\"q\":\"1\",\"a\":1,\"T\":1,"
               "\"m\":false}",
               1);
    rig_free(r);
}

static void test_bybit_and_alpaca_fields(void **state)
{
    (void)state;
    rig_t *r = rig_new(NX_VENUE_BYBIT_LINEAR);
    const nx_event_t *e = decode_one(
        r,
        "{\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1756500000000,\"data\":"
        "[{\"T\":1756500000123,\"s\":\"BTCUSDT\",\"S\":\"Buy\",\"v\":\"0.015\",\"p\":\"65000.5\","
        "\"L\":\"PlusTick\",\"i\":\"a1\",\"BT\":false},{\"T\":1756500000456,\"s\":\"BTCUSDT\","
        "\"S\":\"Sell\",\"v\":\"1.25\",\"p\":\"64999.25\",\"i\":\"123\",\"BT\":false}]}",
        2);
    assert_int_equal(e->u.trade.aggressor, NX_SIDE_BUY);
    assert_int_equal(e->u.trade.price, 6500050000000LL);
    assert_int_equal(nx_bus_event(r->ring, e->hdr.seq + 1)->u.trade.trade_id, 123);
    /* Tickers: a delta with only the bid still yields a whole BBO. */
    decode_one(r,
               "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"symbol\":"
               "\"BTCUSDT\",\"bid1Price\":\"10\",\"bid1Size\":\"1\",\"ask1Price\":\"11\","
               "\"ask1Size\":\"2\",\"markPrice\":\"10.5\",\"fundingRate\":\"-0.005\"}}",
               2);
    e = decode_one(
        r,
        "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"data\":{\"symbol\":\"BTCUSDT\","
        "\"bid1Price\":\"10.5\",\"bid1Size\":\"3\"},\"cs\":1,\"ts\":2}",
        1);
    assert_int_equal(e->hdr.type, NX_EV_BBO);
    assert_int_equal(e->u.bbo.bid_px, 1050000000);
    assert_int_equal(e->u.bbo.ask_px, 1100000000);
    assert_int_equal(e->u.bbo.ask_qty, 200000000);
    rig_free(r);

    r = rig_new(NX_VENUE_ALPACA);
    e = decode_one(r,
                   "[{\"T\":\"q\",\"S\":\"AMD\",\"bx\":\"K\",\"bp\":91.95,\"bs\":2,\"ax\":\"Q\","
                   "\"ap\":91.98,\"as\":1,\"c\":[\"R\"],\"z\":\"C\",\"t\":\"2023-04-06T11:54:21."
                   "670905508Z\"}]",
                   1);
    assert_int_equal(e->u.bbo.bid_px, 9195000000LL);
    assert_int_equal(e->u.bbo.ask_qty, 100000000);
    assert_int_equal(e->hdr.exch_ns, 1680782061670905508LL);
    int64_t ns;
    assert_int_equal(nx_rfc3339_ns("2021-02-22T19:15:00Z", 20, &ns), 0);
    assert_int_equal(ns, 1614021300LL * 1000000000);
    assert_int_equal(nx_rfc3339_ns("2022-04-28T14:07:04.451420928-04:00", 35, &ns), 0);
    assert_int_equal(ns, 1651169224451420928LL);
    assert_int_equal(nx_rfc3339_ns("2022-04-28 junk", 15, &ns), NX_ESYNTAX);
    assert_int_equal(nx_interval_seconds(NX_VENUE_BINANCE_USDM, "4h", 2), 14400);
    assert_int_equal(nx_interval_seconds(NX_VENUE_BYBIT_LINEAR, "240", 3), 14400);
    assert_int_equal(nx_interval_seconds(NX_VENUE_BYBIT_LINEAR, "D", 1), 86400);
    assert_int_equal(nx_interval_seconds(NX_VENUE_BINANCE_USDM, "7x", 2), 0);
    rig_free(r);
}

/* What cannot be true yields no event, is counted by kind, and leaves the
 * rest of its frame and the decoder going (issue 16: a price of 0, of
 * -36,385.82, a candle with high < low reached fills before). */
static void test_values_that_cannot_be_true(void **state)
{
    (void)state;
    rig_t *r = rig_new(NX_VENUE_BINANCE_USDM);
#define AGG(p, q)                                                                                  \
    "{\"e\":\"aggTrade\",\"E\":1,\"s\":\"BTCUSDT\",\"p\":\"" p "\",\"q\":\"" q                    \
    "\",\"a\":7,\"T\":1,\"m\":true}"
#define KL(o, h, l, c, v)                                                                          \
    "{\"e\":\"kline\",\"E\":1,\"s\":\"BTCUSDT\",\"k\":{\"t\":0,\"i\":\"1m\",\"o\":\"" o           \
    "\",\"h\":\"" h "\",\"l\":\"" l "\",\"c\":\"" c "\",\"v\":\"" v "\",\"x\":true}}"
    static const struct {
        const char *frame;
        nx_bad_kind_t kind;
    } bad[] = {
        {AGG("0", "1"), NX_BAD_PRICE},
        {AGG("-36385.82", "1"), NX_BAD_PRICE},
        {AGG("35000", "0"), NX_BAD_QTY},
        {AGG("35000", "-1"), NX_BAD_QTY},
        {KL("10", "12", "9", "0", "1"), NX_BAD_PRICE},
        {KL("10", "12", "9", "11", "-1"), NX_BAD_QTY},
        {KL("10", "9", "12", "11", "1"), NX_BAD_KLINE},    /* high below low */
        {KL("13", "12", "9", "11", "1"), NX_BAD_KLINE},    /* open above the high */
        {KL("10", "12", "10.5", "10", "1"), NX_BAD_KLINE}, /* close below the low */
        {"{\"e\":\"bookTicker\",\"s\":\"BTCUSDT\",\"b\":\"0\",\"B\":\"1\",\"a\":\"10\","
         "\"A\":\"1\",\"u\":5}",
         NX_BAD_PRICE},
        {"{\"e\":\"markPriceUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"p\":\"-1\",\"r\":\"0\"}",
         NX_BAD_PRICE},
    };
    uint64_t want[NX_BAD_COUNT] = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t first;
        int n = nx_decode_frame(&r->dec, bad[i].frame, strlen(bad[i].frame), &first);
        if (n != 0)
            fail_msg("frame %zu gave %d events: %s", i, n, bad[i].frame);
        want[bad[i].kind]++;
        for (int k = 0; k < NX_BAD_COUNT; k++)
            assert_int_equal(r->dec.st.bad[k], want[k]);
    }
    assert_int_equal(r->dec.st.errors, 0); /* refused, not malformed */
    nx_ring_stats_t rs;
    nx_ring_stats(r->ring, &rs);
    assert_int_equal(rs.published, 0);
    /* a zero-volume candle whose open, high, low and close are one price is true */
    decode_one(r, KL("10", "10", "10", "10", "0"), 1);
    /* a book level at price 0 fails its whole frame (a book missing a level is wrong) */
    const char *lvl = "{\"e\":\"depthUpdate\",\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\"pu\":0,\"b\":"
                      "[[\"1\",\"1\"],[\"0\",\"1\"]],\"a\":[]}";
    uint64_t first;
    assert_true(nx_decode_frame(&r->dec, lvl, strlen(lvl), &first) < 0);
    assert_int_equal(r->dec.st.bad[NX_BAD_PRICE], want[NX_BAD_PRICE] + 1);
    decode_one(r, AGG("35000", "1"), 1); /* the decoder carries on */
    rig_free(r);
#undef AGG
#undef KL

    /* Bybit: one bad trade among good ones leaves only itself out; a
     * ticker's negative bid is refused and the merged view keeps the old */
    r = rig_new(NX_VENUE_BYBIT_LINEAR);
    const nx_event_t *e = decode_one(
        r,
        "{\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":["
        "{\"T\":1,\"s\":\"BTCUSDT\",\"S\":\"Buy\",\"v\":\"0.1\",\"p\":\"65000\",\"i\":\"1\"},"
        "{\"T\":2,\"s\":\"BTCUSDT\",\"S\":\"Buy\",\"v\":\"0.1\",\"p\":\"0\",\"i\":\"2\"},"
        "{\"T\":3,\"s\":\"BTCUSDT\",\"S\":\"Sell\",\"v\":\"0\",\"p\":\"65001\",\"i\":\"3\"},"
        "{\"T\":4,\"s\":\"BTCUSDT\",\"S\":\"Sell\",\"v\":\"0.2\",\"p\":\"65002\",\"i\":\"4\"}]}",
        2);
    assert_int_equal(e->u.trade.trade_id, 1);
    assert_int_equal(nx_bus_event(r->ring, e->hdr.seq + 1)->u.trade.trade_id, 4);
    assert_int_equal(r->dec.st.bad[NX_BAD_PRICE], 1);
    assert_int_equal(r->dec.st.bad[NX_BAD_QTY], 1);
    decode_one(r,
               "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"snapshot\",\"ts\":1,\"data\":{\"symbol\":"
               "\"BTCUSDT\",\"bid1Price\":\"10\",\"bid1Size\":\"1\",\"ask1Price\":\"11\","
               "\"ask1Size\":\"2\"}}",
               1);
    e = decode_one(r,
                   "{\"topic\":\"tickers.BTCUSDT\",\"type\":\"delta\",\"ts\":2,\"data\":{"
                   "\"symbol\":\"BTCUSDT\",\"bid1Price\":\"-5\",\"ask1Size\":\"3\"}}",
                   1);
    assert_int_equal(e->u.bbo.bid_px, 1000000000); /* kept */
    assert_int_equal(e->u.bbo.ask_qty, 300000000);
    assert_int_equal(r->dec.st.bad[NX_BAD_PRICE], 2);
    rig_free(r);

    /* Alpaca: a bar whose low is above its high, among good elements */
    r = rig_new(NX_VENUE_ALPACA);
    decode_one(r,
               "[{\"T\":\"b\",\"S\":\"AAPL\",\"o\":10,\"h\":9,\"l\":12,\"c\":11,\"v\":5,"
               "\"t\":\"2024-01-02T15:00:00Z\"},{\"T\":\"t\",\"S\":\"AAPL\",\"i\":1,\"p\":10,"
               "\"s\":1,\"t\":\"2024-01-02T15:00:01Z\"}]",
               1);
    assert_int_equal(r->dec.st.bad[NX_BAD_KLINE], 1);
    uint64_t f2;
    const char *only = "[{\"T\":\"t\",\"S\":\"AAPL\",\"i\":2,\"p\":-1,\"s\":1,"
                       "\"t\":\"2024-01-02T15:00:02Z\"}]";
    assert_int_equal(nx_decode_frame(&r->dec, only, strlen(only), &f2), 0);
    assert_int_equal(r->dec.st.bad[NX_BAD_PRICE], 1);
    assert_int_equal(r->dec.st.ignored, 0); /* refused, not "a kind Nexus does not use" */
    rig_free(r);
}

static void test_stale_flag(void **state)
{
    (void)state;
    rig_t *r = rig_new(NX_VENUE_BINANCE_USDM);
    r->dec.stale_ns = 60LL * 1000000000; /* the default age */
    const char *f = "{\"e\":\"aggTrade\",\"s\":\"BTCUSDT\",\"p\":\"1\",\"q\":\"1\",\"a\":1,"
                    "\"T\":1700000000000,\"m\":true}";
    r->dec.recv_ns = 1700000000000LL * 1000000 + 59LL * 1000000000; /* 59 s later: fresh */
    const nx_event_t *e = decode_one(r, f, 1);
    assert_false(e->hdr.flags & NX_EVF_STALE);
    r->dec.recv_ns = 1700000000000LL * 1000000 + 61LL * 1000000000; /* 61 s later: stale */
    e = decode_one(r, f, 1);
    assert_true(e->hdr.flags & NX_EVF_STALE);
    char json[1024];
    nx_event_json(e, &r->symtab, json, sizeof json);
    assert_non_null(strstr(json, "\"stale\":true"));
    rig_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_samples),
        cmocka_unit_test(test_binance_fields),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_bybit_and_alpaca_fields),
        cmocka_unit_test(test_stale_flag),
        cmocka_unit_test(test_values_that_cannot_be_true),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
