/*
 * test_tickguard.c — the bad-tick filter (tickguard.h).
 *
 *  - the real BTCUSDT candles of 2021-05-18..20 (the May crash: 36,500 to
 *    30,000 in half an hour), as the replay streams them (four trades per
 *    candle and the closed kline), with hostile prints mixed in: every real
 *    event comes out exactly once and in order, the crash engages the band
 *    and is let through, every hostile print is quarantined with its kind;
 *  - the band's rules on hand-made prints: a lone outlier quarantined
 *    against the median, a move confirmed and let through one print late,
 *    a print agreeing with nothing quarantined alone, confirm = 2;
 *  - time going backwards (with the slack), candles closed twice,
 *    backfill allowed; duplicate ids, a held suspect's id included;
 *  - events without a price pass untouched; the band can be turned off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/fixed.h"
#include "nx/tickguard.h"

#define MS 1000000LL

typedef struct seen {
    uint64_t seq[256];
    nx_bad_kind_t why[256];
    int64_t ref[256];
    int n;
} seen_t;

static void on_bad(void *ctx, const nx_event_t *ev, nx_bad_kind_t why, int64_t ref)
{
    seen_t *s = ctx;
    if (s->n < 256) {
        s->seq[s->n] = ev->hdr.seq;
        s->why[s->n] = why;
        s->ref[s->n] = ref;
    }
    s->n++;
}

static nx_tickguard_t *guard(seen_t *s, uint32_t band_bp, uint32_t confirm)
{
    nx_tickguard_opts_t o;
    nx_tickguard_opts_default(&o);
    o.band_bp = band_bp;
    o.confirm = confirm;
    o.on_bad = on_bad;
    o.ctx = s;
    memset(s, 0, sizeof *s);
    nx_tickguard_t *g = nx_tickguard_create(&o, 4);
    assert_non_null(g);
    return g;
}

static nx_event_t trade(uint64_t tag, int64_t px, int64_t t_ms, uint64_t id)
{
    nx_event_t e;
    memset(&e, 0, sizeof e);
    e.hdr.type = NX_EV_TRADE;
    e.hdr.seq = tag;
    e.hdr.exch_ns = t_ms * MS;
    e.u.trade = (nx_ev_trade_t){.price = px, .qty = 100, .trade_id = id};
    return e;
}

static nx_event_t kline(uint64_t tag, int64_t open_ms, int64_t o, int64_t h, int64_t l, int64_t c,
                        int closed)
{
    nx_event_t e;
    memset(&e, 0, sizeof e);
    e.hdr.type = NX_EV_KLINE;
    e.hdr.seq = tag;
    e.hdr.exch_ns = (open_ms + 900000) * MS;
    e.u.kline = (nx_ev_kline_t){.open_ms = open_ms,
                                .open = o,
                                .high = h,
                                .low = l,
                                .close = c,
                                .volume = 100,
                                .interval_s = 900,
                                .closed = (uint8_t)closed};
    return e;
}

/* Feed one event; append what comes out (by tag) to outs. */
static uint32_t feed(nx_tickguard_t *g, const nx_event_t *e, uint64_t *outs, int *nout)
{
    const nx_event_t *use[NX_TG_HOLD + 1];
    uint32_t n = nx_tickguard_filter(g, e, use);
    for (uint32_t i = 0; i < n; i++)
        outs[(*nout)++] = use[i]->hdr.seq;
    return n;
}

/* ---- the real crash with hostile prints ---- */

typedef struct candle {
    int64_t t, o, h, l, c;
} candle_t;

static int load(candle_t *cs, int cap, int64_t from_ms, int64_t to_ms)
{
    const char *src = getenv("NX_SOURCE_DIR");
    char path[512];
    snprintf(path, sizeof path,
             "%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv",
             src ? src : NX_SOURCE_DIR_DEFAULT);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < cap) {
        char o[32], h[32], l[32], c[32];
        long long t;
        if (sscanf(line, "%lld,%31[^,],%31[^,],%31[^,],%31[^,],", &t, o, h, l, c) != 5 ||
            t < from_ms || t >= to_ms)
            continue;
        candle_t *x = &cs[n++];
        x->t = t;
        assert_int_equal(nx_fixed_parse(o, strlen(o), 2, &x->o), 0);
        assert_int_equal(nx_fixed_parse(h, strlen(h), 2, &x->h), 0);
        assert_int_equal(nx_fixed_parse(l, strlen(l), 2, &x->l), 0);
        assert_int_equal(nx_fixed_parse(c, strlen(c), 2, &x->c), 0);
    }
    fclose(f);
    return n;
}

#define HOSTILE 1000000000ULL /* tags of hostile events */

static void test_real_crash_with_hostile_prints(void **state)
{
    (void)state;
    static candle_t cs[400];
    /* 2021-05-18 00:00 .. 2021-05-21 00:00 UTC */
    int nc = load(cs, 400, 1621296000000LL, 1621555200000LL);
    assert_int_equal(nc, 288); /* 3 days of 15-minute candles, no gap in these days */
    seen_t s;
    nx_tickguard_t *g = guard(&s, 1500, 1);
    static uint64_t outs[4096];
    int nout = 0;
    uint64_t real = 0, hostile = 0, tid = 1, trades = 0;
    uint64_t want_kind[NX_BAD_COUNT] = {0};
    static nx_bad_kind_t kind_of[512];
    int crash_held = 0;
    for (int i = 0; i < nc; i++) {
        const candle_t *c = &cs[i];
        int64_t px[4] = {c->o, c->h, c->l, c->c};
        int64_t at[4] = {c->t, c->t + 225000, c->t + 450000, c->t + 899999};
        for (int k = 0; k < 4; k++, tid++) {
            nx_event_t e = trade(real++, px[k], at[k], tid);
            feed(g, &e, outs, &nout);
            if (c->t == 1621429200000LL && k == 2) /* 2021-05-19 13:00, the low of 30,000 */
                crash_held = nout < (int)real;     /* held: not out yet */
            if (++trades % 5 || k == 3)
                continue;
            /* a hostile print after every 5th real trade, kinds in turn */
            nx_event_t h;
            unsigned kind = (unsigned)(hostile % 9);
            uint64_t tag = HOSTILE + hostile;
            switch (kind) {
            case 0:
                h = trade(tag, 0, at[k], 900000 + hostile);
                kind_of[hostile] = NX_BAD_PRICE;
                break;
            case 1:
                h = trade(tag, px[k], at[k], 900000 + hostile);
                h.u.trade.qty = 0;
                kind_of[hostile] = NX_BAD_QTY;
                break;
            case 2: /* low above high */
                h = kline(tag, c->t, px[k], px[k] / 2, px[k] * 2, px[k], 1);
                kind_of[hostile] = NX_BAD_KLINE;
                break;
            case 3:
                h = trade(tag, 9001800000000LL, at[k], 900000 + hostile);
                kind_of[hostile] = NX_BAD_BAND;
                break;
            case 4: /* seven days old */
                h = trade(tag, px[k], at[k] - 7 * 86400000LL, 900000 + hostile);
                kind_of[hostile] = NX_BAD_TIME;
                break;
            case 5: /* the last id again at ten times the price */
                h = trade(tag, px[k] * 10, at[k], tid);
                kind_of[hostile] = NX_BAD_DUP;
                break;
            case 6: /* the running candle at ten times */
                h = kline(tag, c->t, c->o * 10, c->h * 10, c->l * 10, px[k] * 10, 0);
                kind_of[hostile] = NX_BAD_BAND;
                break;
            case 7: /* a tenth */
                h = trade(tag, px[k] / 10, at[k], 900000 + hostile);
                kind_of[hostile] = NX_BAD_BAND;
                break;
            default: /* the previous candle closed again */
                h = kline(tag, c->t - 900000, cs[i - 1].o, cs[i - 1].h, cs[i - 1].l, cs[i - 1].c,
                          1);
                kind_of[hostile] = NX_BAD_TIME;
                break;
            }
            want_kind[kind_of[hostile]]++;
            hostile++;
            assert_int_equal(feed(g, &h, outs, &nout), 0);
        }
        nx_event_t k = kline(real++, c->t, c->o, c->h, c->l, c->c, 1);
        feed(g, &k, outs, &nout);
    }
    /* one more print after the last: whatever was still held is decided */
    nx_event_t last = trade(real++, cs[nc - 1].c, cs[nc - 1].t + 900000, tid);
    feed(g, &last, outs, &nout);
    printf("# %llu real events, %llu hostile; out %d\n", (unsigned long long)real,
           (unsigned long long)hostile, nout);
    /* every real event, once, in order */
    assert_int_equal(nout, (int)real);
    for (int i = 0; i < nout; i++)
        assert_int_equal(outs[i], (uint64_t)i);
    /* every hostile one quarantined, with its kind */
    assert_int_equal(s.n, (int)hostile);
    for (int i = 0; i < s.n; i++) {
        assert_true(s.seq[i] >= HOSTILE);
        assert_int_equal(s.why[i], kind_of[s.seq[i] - HOSTILE]);
    }
    nx_tickguard_stats_t st;
    nx_tickguard_stats(g, &st);
    for (int k = 1; k < NX_BAD_COUNT; k++)
        assert_int_equal(st.quarantined[k], want_kind[k]);
    /* the crash engaged the band, and the band let it through */
    printf("# suspects %llu, let through %llu\n", (unsigned long long)st.suspects,
           (unsigned long long)st.let_through);
    assert_true(crash_held);
    assert_true(st.let_through > 0);
    /* every suspect was either let through or quarantined as a band outlier */
    assert_int_equal(st.let_through + st.quarantined[NX_BAD_BAND], st.suspects);
    nx_tickguard_destroy(g);
}

/* ---- the band's rules ---- */

static void prime(nx_tickguard_t *g, uint64_t *outs, int *nout, int64_t px, int n, int64_t *t)
{
    for (int i = 0; i < n; i++) {
        nx_event_t e = trade(100 + (uint64_t)i, px + (i % 3), (*t)++, 0);
        assert_int_equal(feed(g, &e, outs, nout), 1);
    }
}

static void test_band_rules(void **state)
{
    (void)state;
    seen_t s;
    uint64_t outs[64];
    int nout = 0;
    int64_t t = 1000;
    nx_tickguard_t *g = guard(&s, 1500, 1);
    prime(g, outs, &nout, 10000, 15, &t); /* median 10001 */
    assert_int_equal(nx_tickguard_ref(g, 0), 10001);
    /* a lone print 30% up, then the market where it was: quarantined
     * against the median */
    nx_event_t a = trade(1, 13000, t++, 0), b = trade(2, 10002, t++, 0);
    assert_int_equal(feed(g, &a, outs, &nout), 0);
    assert_int_equal(s.n, 0); /* held, not judged yet */
    nout = 0;
    assert_int_equal(feed(g, &b, outs, &nout), 1);
    assert_int_equal(outs[0], 2);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seq[0], 1);
    assert_int_equal(s.why[0], NX_BAD_BAND);
    assert_int_equal(s.ref[0], 10001);
    /* a move: 13000 then 13100 agree: both out, in order, one print late */
    nx_event_t c = trade(3, 13000, t++, 0), d = trade(4, 13100, t++, 0);
    assert_int_equal(feed(g, &c, outs, &nout), 0);
    nout = 0;
    assert_int_equal(feed(g, &d, outs, &nout), 2);
    assert_int_equal(outs[0], 3);
    assert_int_equal(outs[1], 4);
    assert_int_equal(s.n, 1);
    /* agrees with nothing: a print at 100,000 while 20,000 waits as a
     * suspect waits too; 20,200 confirms 20,000 and quarantines 100,000 */
    nx_event_t e = trade(5, 20000, t++, 0), f = trade(6, 100000, t++, 0),
               h = trade(7, 20200, t++, 0);
    assert_int_equal(feed(g, &e, outs, &nout), 0);
    assert_int_equal(feed(g, &f, outs, &nout), 0);
    assert_int_equal(s.n, 1);
    nout = 0;
    assert_int_equal(feed(g, &h, outs, &nout), 2);
    assert_int_equal(outs[0], 5);
    assert_int_equal(outs[1], 7);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[1], 6);
    /* a bad tick held first does not stop a real move behind it: 9e6 is
     * held, 26,000 (a move from ~20,000) is held, 26,100 confirms the move */
    nx_event_t u = trade(8, 9000000, t++, 0), v = trade(9, 26000, t++, 0),
               w = trade(10, 26100, t++, 0);
    assert_int_equal(feed(g, &u, outs, &nout), 0);
    assert_int_equal(feed(g, &v, outs, &nout), 0);
    nout = 0;
    assert_int_equal(feed(g, &w, outs, &nout), 2);
    assert_int_equal(outs[0], 9);
    assert_int_equal(outs[1], 10);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.seq[2], 8);
    nx_tickguard_destroy(g);

    /* confirm = 2: two agreeing prints after the suspect */
    g = guard(&s, 1500, 2);
    nout = 0;
    prime(g, outs, &nout, 10000, 15, &t);
    nx_event_t m1 = trade(11, 12000, t++, 0), m2 = trade(12, 12050, t++, 0),
               m3 = trade(13, 12100, t++, 0);
    assert_int_equal(feed(g, &m1, outs, &nout), 0);
    assert_int_equal(feed(g, &m2, outs, &nout), 0);
    nout = 0;
    assert_int_equal(feed(g, &m3, outs, &nout), 3);
    assert_int_equal(outs[0], 11);
    assert_int_equal(outs[2], 13);
    /* ... and two suspects the market did not follow are both quarantined */
    nx_event_t n1 = trade(14, 20000, t++, 0), n2 = trade(15, 20100, t++, 0),
               n3 = trade(16, 10050, t++, 0);
    assert_int_equal(feed(g, &n1, outs, &nout), 0);
    assert_int_equal(feed(g, &n2, outs, &nout), 0);
    assert_int_equal(feed(g, &n3, outs, &nout), 1);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.seq[0], 14);
    assert_int_equal(s.seq[1], 15);
    nx_tickguard_destroy(g);

    /* the band off: ten times passes */
    g = guard(&s, 0, 1);
    nout = 0;
    prime(g, outs, &nout, 10000, 15, &t);
    nx_event_t x = trade(20, 100000, t++, 0);
    assert_int_equal(feed(g, &x, outs, &nout), 1);
    nx_tickguard_destroy(g);
}

static void test_time_and_duplicates(void **state)
{
    (void)state;
    seen_t s;
    uint64_t outs[64];
    int nout = 0;
    nx_tickguard_t *g = guard(&s, 1500, 1);
    nx_event_t a = trade(1, 10000, 10000, 1);
    feed(g, &a, outs, &nout);
    nx_event_t b = trade(2, 10000, 9100, 2); /* 0.9 s back: within the slack */
    assert_int_equal(feed(g, &b, outs, &nout), 1);
    nx_event_t c = trade(3, 10000, 8900, 3); /* 1.1 s back */
    assert_int_equal(feed(g, &c, outs, &nout), 0);
    assert_int_equal(s.why[0], NX_BAD_TIME);
    nx_event_t d = trade(4, 10000, 10001, 2); /* id 2 again */
    assert_int_equal(feed(g, &d, outs, &nout), 0);
    assert_int_equal(s.why[1], NX_BAD_DUP);
    /* a held suspect's id is taken too */
    nx_event_t p = trade(5, 10001, 10002, 5);
    feed(g, &p, outs, &nout);
    nx_event_t q = trade(6, 14000, 10003, 6), r = trade(7, 14000, 10004, 6);
    assert_int_equal(feed(g, &q, outs, &nout), 0); /* held */
    assert_int_equal(feed(g, &r, outs, &nout), 0);
    assert_int_equal(s.why[2], NX_BAD_DUP);
    /* candles: closed twice, or older, is time gone back; backfill may */
    nx_event_t k1 = kline(10, 0, 10000, 10010, 9990, 10000, 1);
    nx_event_t k2 = kline(11, 900000, 10000, 10010, 9990, 10000, 1);
    nx_event_t k3 = kline(12, 900000, 10000, 10010, 9990, 10000, 1);
    nx_event_t k4 = kline(13, 900000, 10000, 10010, 9990, 10000, 0); /* an update of it */
    nx_event_t k5 = kline(14, 0, 10000, 10010, 9990, 10000, 1);
    k5.hdr.flags = NX_EVF_BACKFILL;
    nx_event_t k6 = kline(15, 1800000, 10000, 10010, 9990, 10000, 0);
    nout = 0;
    feed(g, &k1, outs, &nout);
    feed(g, &k2, outs, &nout);
    s.n = 0;
    assert_int_equal(feed(g, &k3, outs, &nout), 0);
    assert_int_equal(feed(g, &k4, outs, &nout), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.why[0], NX_BAD_TIME);
    assert_int_equal(s.why[1], NX_BAD_TIME);
    assert_int_equal(feed(g, &k5, outs, &nout), 1);
    assert_int_equal(feed(g, &k6, outs, &nout), 1);
    nx_tickguard_destroy(g);
}

static void test_events_without_price_pass(void **state)
{
    (void)state;
    seen_t s;
    uint64_t outs[64];
    int nout = 0;
    int64_t t = 1;
    nx_tickguard_t *g = guard(&s, 1500, 1);
    prime(g, outs, &nout, 10000, 15, &t);
    nx_event_t sus = trade(1, 20000, t++, 0);
    assert_int_equal(feed(g, &sus, outs, &nout), 0);
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    const nx_event_t *use[NX_TG_HOLD + 1];
    for (int type = NX_EV_BOOK; type < NX_EV_TYPE_COUNT; type++) {
        if (type == NX_EV_MARK)
            continue;
        ev.hdr.type = (uint8_t)type;
        assert_int_equal(nx_tickguard_filter(g, &ev, use), 1);
        assert_ptr_equal(use[0], &ev);
    }
    ev = trade(2, 0, t++, 0); /* another symbol than the guard knows: untouched */
    ev.hdr.symbol = 9;
    assert_int_equal(nx_tickguard_filter(g, &ev, use), 1);
    assert_int_equal(s.n, 0);
    nx_tickguard_opts_t o;
    nx_tickguard_opts_default(&o);
    o.window = 2;
    assert_null(nx_tickguard_create(&o, 1));
    o.window = 15;
    o.confirm = NX_TG_HOLD;
    assert_null(nx_tickguard_create(&o, 1));
    nx_tickguard_destroy(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_crash_with_hostile_prints),
        cmocka_unit_test(test_band_rules),
        cmocka_unit_test(test_time_and_duplicates),
        cmocka_unit_test(test_events_without_price_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
