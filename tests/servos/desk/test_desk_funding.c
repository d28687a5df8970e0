/*
 * test_desk_funding.c — a perpetual's funding on paper positions, from
 * the venue's mark events (Binance markPriceUpdate: r, the rate; T, the
 * next settlement time). Two paper sessions, one long and one short;
 * marks before the settlement time pay nothing; the first mark at or
 * after it settles once, at its mark price and the rate announced before
 * it (a long pays a positive rate, a short receives it); marks repeating
 * the old time, or coming again, pay nothing more; the next settlement
 * pays with its own rate. What is paid comes off the trade's P&L when it
 * closes. Every expected figure is worked by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "desk_fixture.h"
#include "nx/config.h"
#include "nx/desk.h"
#include "nx/oms.h"
#include "nx/shield.h"

#define P(x) ((int64_t)((x) * 100)) /* price units, scale 2 */
#define HOUR (3600LL * 1000)        /* ms */

/* Two PILOT sessions on paper, no fees and no slippage: the P&L is the
 * price move and the funding alone. */
static const char CONFIG[] =
    "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"0.001\",\"price_scale\":2,\"qty_scale\":3}],"
    "\"users\":[{\"id\":1,\"chat_id\":1},{\"id\":2,\"chat_id\":2}],"
    "\"trading\":{\"slippage_bp\":0,\"taker_fee_bp\":0,\"maker_fee_bp\":0,"
    "\"sessions\":[{\"name\":\"long\",\"user\":1,\"mode\":\"pilot\",\"equity\":\"100000\","
    "\"cooldown_s\":0},{\"name\":\"short\",\"user\":2,\"mode\":\"pilot\",\"equity\":\"100000\","
    "\"cooldown_s\":0}]}}";

static struct {
    int notices;
    int64_t received[3]; /* by session id */
    int64_t last_rate, last_mark;
} J;

static void on_journal(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    if (ev->hdr.type == NX_EV_NOTICE && ev->u.notice.kind == NX_NOTE_FUNDING) {
        J.notices++;
        J.received[ev->u.notice.session] += ev->u.notice.pnl;
        J.last_rate = ev->u.notice.exit_px;
        J.last_mark = ev->u.notice.entry_px;
    }
}

static void mark(nx_desk_t *d, int64_t at_ms, int64_t px, int64_t rate_e8, int64_t next_ms)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_MARK;
    ev.hdr.exch_ns = at_ms * 1000000;
    ev.u.mark = (nx_ev_mark_t){px, px, rate_e8, next_ms};
    nx_desk_on_market(d, &ev);
}

static nx_position_info_t position(nx_desk_t *d, uint32_t session)
{
    nx_desk_position_t p[4];
    nx_position_info_t none;
    memset(&none, 0, sizeof none);
    return nx_desk_positions(d, session, p, 4) == 1 ? p[0].pos : none;
}

static int entry(nx_desk_t *d, uint32_t session, const char *side)
{
    nx_ev_control_t c;
    memset(&c, 0, sizeof c);
    c.cmd = NX_CTL_ENTER;
    c.session = session;
    c.arg = 0;
    snprintf(c.text, sizeof c.text, "%s", side);
    return nx_desk_control(d, &c, NULL);
}

static void test_funding_settles_once_at_its_time(void **state)
{
    (void)state;
    memset(&J, 0, sizeof J);
    nx_desk_t *d = fx_desk_load(CONFIG, "funding", on_journal);
    int64_t t0 = fx_desk_now_ms; /* 2021-05-19 05:33:20 UTC */
    int64_t settle = t0 + 2 * HOUR + 1000;
    for (int i = 0; i < 3; i++)
        fx_desk_trade_next(d, P(50000));
    assert_int_equal(entry(d, 1, "long"), 0);
    assert_int_equal(entry(d, 2, "short"), 0);
    nx_position_info_t L = position(d, 1), S = position(d, 2);
    assert_true(L.qty > 0 && S.qty < 0);
    assert_int_equal(L.avg_px, P(50000));
    assert_int_equal(S.avg_px, P(50000));

    /* before the time: the rate changes, nothing is paid */
    mark(d, t0 + 10000, P(50010), 12000, settle);   /* 0.00012 */
    mark(d, settle - 1, P(50020), 10000, settle);   /* 0.0001, the rate that applies */
    assert_int_equal(J.notices, 0);
    assert_int_equal(position(d, 1).funding, 0);

    /* the first mark at the time settles, at its own mark price, 50100.00:
     * the long pays qty x 50100 x 0.0001; the short receives as much */
    mark(d, settle, P(50100), 9000, settle + 8 * HOUR);
    assert_int_equal(J.notices, 2);
    assert_int_equal(J.last_mark, P(50100));
    assert_int_equal(J.last_rate, 10000);
    /* qty in lots (0.001 BTC): paid = lots/1000 x 50100 x 0.0001 USDT, in
     * cents x100: lots x 50100 x 0.0001 / 1000 x 100 = lots x 0.501 cents,
     * rounded up for the payer and down for the receiver */
    int64_t lq = L.qty, sq = -S.qty;
    int64_t paid_long = (lq * 501 + 999) / 1000, got_short = sq * 501 / 1000;
    assert_int_equal(position(d, 1).funding, paid_long);
    assert_int_equal(position(d, 2).funding, -got_short);
    assert_int_equal(J.received[1], -paid_long);
    assert_int_equal(J.received[2], got_short);

    /* the same settlement again (a mark repeating the old time, a second
     * mark after it): nothing more */
    mark(d, settle + 500, P(50100), 10000, settle);
    mark(d, settle + 1000, P(50100), 9000, settle + 8 * HOUR);
    assert_int_equal(J.notices, 2);

    /* the next one, eight hours on, at the rate announced for it: a
     * negative rate, so the long receives: lots x 50000 x -0.00005 / 1000
     * x 100 cents = -lots x 0.25 cents */
    mark(d, settle + 8 * HOUR - 5000, P(50000), -5000, settle + 8 * HOUR);
    mark(d, settle + 8 * HOUR + 20, P(50000), -3000, settle + 16 * HOUR);
    assert_int_equal(J.notices, 4);
    int64_t got_long = lq * 25 / 100, paid_short = (sq * 25 + 99) / 100;
    assert_int_equal(position(d, 1).funding, paid_long - got_long);
    assert_int_equal(position(d, 2).funding, -got_short + paid_short);

    /* closed at 50000: the price moved nothing, so the P&L is the funding */
    fx_desk_now_ms = settle + 8 * HOUR + 60000;
    fx_desk_trade_next(d, P(50000));
    nx_ev_control_t c;
    memset(&c, 0, sizeof c);
    c.cmd = NX_CTL_PANIC;
    c.session = 0;
    assert_int_equal(nx_desk_control(d, &c, NULL), 0);
    fx_desk_trade_next(d, P(50000));
    nx_desk_info_t i1, i2;
    assert_int_equal(nx_desk_info(d, 1, &i1), 0);
    assert_int_equal(nx_desk_info(d, 2, &i2), 0);
    assert_int_equal(i1.balance, P(100000) - (paid_long - got_long));
    assert_int_equal(i2.balance, P(100000) + got_short - paid_short);
    print_message("# long %lld lots paid %lld, received %lld cents; short %lld lots received "
                  "%lld, paid %lld cents\n",
                  (long long)lq, (long long)paid_long, (long long)got_long, (long long)sq,
                  (long long)got_short, (long long)paid_short);
    /* flat: a later settlement pays nothing */
    mark(d, settle + 16 * HOUR, P(50000), 10000, settle + 24 * HOUR);
    assert_int_equal(J.notices, 4);
    nx_desk_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_funding_settles_once_at_its_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
