/*
 * test_orders.c — the order manager on the paper venue: entries protected
 * at once, stop-loss and take-profit filled at the right prices (also when a
 * candle gaps through), trailing stops that follow and fire, time limits,
 * panic close; venue updates duplicated and out of order (a scripted
 * bridge); a stop that cannot be placed closes the position; a stop the venue
 * cancels is placed again; money equal to an independent recomputation from
 * the fills; and a property test over random sequences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/binance.h"
#include "nx/hmac.h"
#include "nx/oms.h"
#include "nx/paper.h"
#include "nx/error.h"

#include "money_oracle.h"

#define SEC   1000000000LL
#define P(x)  ((int64_t)((x) * 100))  /* price units, scale 2 */
#define Q(x)  ((int64_t)((x) * 1000)) /* qty units, scale 3 */

static nx_symtab_t T;
static nx_bridge_t *V;
static nx_oms_t *M;
static nx_trade_closed_t closed[256];
static int nclosed;

/* every fill, as the journal saw it */
static mo_fill_t fills[4096];
static int nfills;

static void on_closed(void *ctx, const nx_trade_closed_t *t)
{
    (void)ctx;
    closed[nclosed++] = *t;
}

static void journal(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    if (ev->hdr.type == NX_EV_ORDER_UPDATE && ev->u.order.fill_id && nfills < 4096) {
        const nx_ev_order_update_t *u = &ev->u.order;
        fills[nfills++] = (mo_fill_t){u->fill_id, u->session, ev->hdr.symbol, u->side, u->last_px,
                                      u->last_qty, u->fee, u->maker};
    }
}

/* every rejection the venue reported */
static nx_ev_order_update_t rejects[16];
static int nrejects;

/* the paper venue reports to the OMS (M, created right after it) */
static void to_oms(void *ctx, uint32_t symbol, const nx_ev_order_update_t *u)
{
    (void)ctx;
    if (u->status == NX_OS_REJECTED && nrejects < 16)
        rejects[nrejects++] = *u;
    nx_oms_on_update(M, symbol, u);
}

static uint32_t max_open; /* the paper venue's open-order limit, 0 = its default */
static mo_fees_t schedule; /* the fee schedule the venue was given */

static void setup_paper(uint32_t slip_bp, uint32_t fee_bp)
{
    nx_symtab_init(&T);
    assert_int_equal(nx_symtab_add(&T, NX_VENUE_PAPER, "BTCUSDT", 2, 3, 10, 1, P(5), NULL), 0);
    assert_int_equal(nx_symtab_add(&T, NX_VENUE_PAPER, "ETHUSDT", 2, 3, 1, 1, P(5), NULL), 1);
    nx_paper_opts_t po = {slip_bp, fee_bp, fee_bp / 2, to_oms, NULL, max_open};
    schedule = (mo_fees_t){fee_bp, fee_bp / 2};
    V = nx_paper_create(&po, &T);
    assert_non_null(V);
    nx_oms_opts_t oo = {&T, V, 40, on_closed, journal, NULL};
    M = nx_oms_create(&oo);
    assert_non_null(M);
    nclosed = nfills = nrejects = 0;
}

static void teardown_paper(void)
{
    nx_oms_destroy(M);
    nx_paper_destroy(V);
}

static void trade(uint32_t sym, int64_t px, int64_t t)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.symbol = sym;
    ev.u.trade.price = px;
    ev.u.trade.qty = 1;
    nx_paper_on_market(V, &ev);
    nx_oms_on_price(M, sym, px, 0, 0, t);
}

static void candle(uint32_t sym, int64_t o, int64_t h, int64_t l, int64_t c, int64_t t)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_KLINE;
    ev.hdr.symbol = sym;
    ev.u.kline.open = o;
    ev.u.kline.high = h;
    ev.u.kline.low = l;
    ev.u.kline.close = c;
    ev.u.kline.interval_s = 900;
    ev.u.kline.closed = 1;
    nx_paper_on_market(V, &ev);
    nx_oms_on_price(M, sym, c, l, h, t);
}

static int enter(uint32_t session, uint32_t sym, uint8_t side, int64_t qty, int64_t sl, int64_t tp,
                 int64_t trail, int64_t act, int64_t limit, int64_t t)
{
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.session = session;
    in.side = side;
    in.qty = qty;
    in.stop_loss = sl;
    in.take_profit = tp;
    in.trail_offset = trail;
    in.trail_activate = act;
    in.leverage = 5;
    in.order_type = NX_ORD_MARKET;
    return nx_oms_enter(M, sym, &in, limit, t);
}

/* The auditor's balance from the journal's fills (money_oracle.h). */
static int64_t recompute(uint32_t session, int64_t initial)
{
    int mismatches = 0;
    int64_t b = mo_balance(fills, nfills, session, 2, 1000, initial, schedule, &mismatches);
    assert_int_equal(mismatches, 0); /* every fee is the schedule's */
    return b;
}

static void test_take_profit_and_stop_loss_prices(void **state)
{
    (void)state;
    setup_paper(0, 4);
    assert_int_equal(nx_oms_add_session(M, 7, P(10000)), 0);
    trade(0, P(50000), 1 * SEC);
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), P(49700), P(50600), 0, 0, 0, 2 * SEC), 0);
    nx_position_info_t pi;
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.qty, Q(0.1));
    assert_int_equal(pi.avg_px, P(50000));
    assert_int_equal(pi.protected_sl, 1); /* the stop is at the venue at once */
    assert_int_equal(pi.protected_tp, 1);
    assert_int_equal(nx_paper_open_orders(V, 7), 2);
    assert_int_equal(pi.liq_px, P(50000) - P(50000) * (2000 - 40) / 10000); /* 5x */
    candle(0, P(50000), P(50590), P(49800), P(50500), 3 * SEC); /* neither level */
    assert_int_equal(nclosed, 0);
    candle(0, P(50500), P(50700), P(50400), P(50650), 4 * SEC); /* reaches the target */
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_TP);
    assert_int_equal(closed[0].exit_px, P(50600));
    /* 0.1 x 600 = 60.00; fees 4 bp taker on 5000.00 and 5060.00 = 2.00 + 2.03 (rounded up) */
    assert_int_equal(closed[0].fees, 200 + 203);
    assert_int_equal(closed[0].pnl, P(60) - 403);
    assert_int_equal(nx_paper_open_orders(V, 7), 0); /* the stop went with it */
    nx_account_info_t ai;
    nx_oms_account(M, 7, &ai);
    assert_int_equal(ai.balance, P(10000) + P(60) - 403);
    assert_int_equal(ai.balance, recompute(7, P(10000)));

    /* a short stopped out; the candle opens beyond the stop: filled at the open */
    assert_int_equal(enter(7, 0, NX_SIDE_SELL, Q(0.1), P(50900), P(50000), 0, 0, 0, 5 * SEC), 0);
    candle(0, P(51000), P(51100), P(50950), P(51050), 6 * SEC);
    assert_int_equal(nclosed, 2);
    assert_int_equal(closed[1].reason, NX_EXIT_SL);
    assert_int_equal(closed[1].entry_px, P(50650));
    assert_int_equal(closed[1].exit_px, P(51000));
    nx_oms_account(M, 7, &ai);
    assert_int_equal(ai.balance, recompute(7, P(10000)));
    /* a candle reaching both: the stop is what fills */
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), P(50500), P(51500), 0, 0, 0, 7 * SEC), 0);
    candle(0, P(51050), P(51600), P(50400), P(51000), 8 * SEC);
    assert_int_equal(closed[2].reason, NX_EXIT_SL);
    assert_int_equal(closed[2].exit_px, P(50500));
    teardown_paper();
}

/* Funding on an open position, by hand: qty x mark x rate, a payment
 * rounded up and a receipt down (a fraction of a cent never favours the
 * session), kept with the position through a save and a restore, and off
 * the trade's P&L when it closes. */
static void test_funding(void **state)
{
    (void)state;
    setup_paper(0, 0); /* no fees, no slippage: the P&L is the move and the funding */
    assert_int_equal(nx_oms_add_session(M, 7, P(10000)), 0);
    assert_int_equal(nx_oms_funding(M, 7, 0, P(50000), 10000), 0); /* flat: nothing */
    trade(0, P(50000), 1 * SEC);
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), P(49000), P(52000), 0, 0, 0, 2 * SEC), 0);
    /* 0.1 x 50000 x 0.0001 = 0.50 USDT, 50 cents */
    assert_int_equal(nx_oms_funding(M, 7, 0, P(50000), 10000), 50);
    /* 0.1 x 50100 x -0.00012345 = -0.61848...: 61 cents received, not 62 */
    assert_int_equal(nx_oms_funding(M, 7, 0, P(50100), -12345), -61);
    /* 0.1 x 50000 x 0.00000123 = 0.00615: 1 cent paid, not 0 */
    assert_int_equal(nx_oms_funding(M, 7, 0, P(50000), 123), 1);
    nx_position_info_t pi;
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.funding, 50 - 61 + 1);
    trade(0, P(50000), 3 * SEC);
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.unrealized, 10); /* flat price: the 10 cents received */
    /* saved and opened again: the funding goes with it */
    nx_oms_pos_state_t st;
    assert_int_equal(nx_oms_save_position(M, 7, 0, &st), 0);
    assert_int_equal(st.funding, -10);
    nx_oms_t *m2 = nx_oms_create(&(nx_oms_opts_t){&T, V, 40, on_closed, journal, NULL});
    assert_int_equal(nx_oms_add_session(m2, 7, P(10000)), 0);
    assert_int_equal(nx_oms_restore_position(m2, 7, 0, &st), 0);
    nx_oms_position(m2, 7, 0, &pi);
    assert_int_equal(pi.funding, -10);
    nx_oms_destroy(m2);
    /* the target: 0.1 x 2000 = 200.00, and the 10 cents received */
    candle(0, P(50000), P(52100), P(49900), P(52050), 4 * SEC);
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_TP);
    assert_int_equal(closed[0].funding, -10);
    assert_int_equal(closed[0].pnl, P(200) + 10);
    nx_account_info_t ai;
    nx_oms_account(M, 7, &ai);
    assert_int_equal(ai.balance, P(10000) + P(200) + 10);
    /* a short receives a positive rate: 0.2 x 51000 x 0.0001 = 1.02 */
    assert_int_equal(enter(7, 0, NX_SIDE_SELL, Q(0.2), P(53000), P(50000), 0, 0, 0, 5 * SEC), 0);
    assert_int_equal(nx_oms_funding(M, 7, 0, P(51000), 10000), -102);
    assert_int_equal(nx_oms_funding(M, 8, 0, P(51000), 10000), 0); /* no such session */
    teardown_paper();
}

/* A position the person opened themselves (an order the order manager
 * did not send) is adopted: booked at the venue's entry price, its stop
 * at the venue at once, and closed at that stop as the session's own
 * trade, its money by hand (no entry fee: the venue took it before). */
static void test_adopted_position(void **state)
{
    (void)state;
    setup_paper(0, 4);
    assert_int_equal(nx_oms_add_session(M, 7, P(10000)), 0);
    trade(0, P(50000), 1 * SEC);
    nx_ev_order_intent_t own;
    memset(&own, 0, sizeof own);
    own.client_id = nx_clid_make(7, 1ULL << 39 | 1); /* not the order manager's */
    own.session = 7;
    own.side = NX_SIDE_BUY;
    own.order_type = NX_ORD_MARKET;
    own.qty = Q(0.1);
    own.leverage = 5;
    assert_int_equal(V->ops->place(V, &own, 0), 0);
    nx_position_info_t pi;
    assert_int_equal(nx_oms_position(M, 7, 0, &pi) == 0 ? pi.qty : 0, 0); /* not booked */
    assert_int_equal(nx_oms_adopt_position(M, 7, 0, 0, P(50000), P(49000), 5, 2 * SEC),
                     NX_EINVAL);
    assert_int_equal(nx_oms_adopt_position(M, 7, 0, Q(0.1), P(50000), 0, 5, 2 * SEC), NX_EINVAL);
    assert_int_equal(nx_oms_adopt_position(M, 9, 0, Q(0.1), P(50000), P(49000), 5, 2 * SEC),
                     NX_ENOENT);
    assert_int_equal(nx_oms_adopt_position(M, 7, 0, Q(0.1), P(50000), P(49000), 5, 2 * SEC), 0);
    assert_int_equal(nx_oms_adopt_position(M, 7, 0, Q(0.1), P(50000), P(49000), 5, 2 * SEC),
                     NX_ESTATE);
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.qty, Q(0.1));
    assert_int_equal(pi.avg_px, P(50000));
    assert_int_equal(pi.protected_sl, 1);
    assert_int_equal(nx_paper_open_orders(V, 7), 1);
    candle(0, P(50000), P(50100), P(48900), P(49100), 3 * SEC);
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_SL);
    assert_int_equal(closed[0].entry_px, P(50000));
    assert_int_equal(closed[0].exit_px, P(49000));
    /* 0.1 x -1000 = -100.00; the exit's fee 4 bp of 4900.00 = 1.96 */
    assert_int_equal(closed[0].fees, 196);
    assert_int_equal(closed[0].pnl, -P(100) - 196);
    nx_account_info_t ai;
    nx_oms_account(M, 7, &ai);
    assert_int_equal(ai.balance, P(10000) - P(100) - 196);
    assert_int_equal(nx_paper_open_orders(V, 7), 0);
    teardown_paper();
}

/* The venue liquidates (its own orders, "autoclose-...", no client id of
 * ours): each of its fills reduces the position once, and the trade closes
 * as a liquidation, its money by hand; the stop that rested is cancelled. */
static void test_liquidation_closes_the_trade(void **state)
{
    (void)state;
    setup_paper(0, 4);
    assert_int_equal(nx_oms_add_session(M, 7, P(10000)), 0);
    trade(0, P(50000), 1 * SEC);
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), P(49700), 0, 0, 0, 0, 2 * SEC), 0);
    assert_int_equal(nx_paper_open_orders(V, 7), 1);
    nx_ev_order_update_t u;
    memset(&u, 0, sizeof u);
    u.session = 7;
    u.side = NX_SIDE_SELL;
    u.status = NX_OS_PARTIAL;
    u.reason = NX_OFORCED_LIQUIDATION;
    u.fill_id = 9001;
    u.last_px = P(41000);
    u.last_qty = Q(0.06);
    u.fee = 123;
    nx_oms_on_update(M, 0, &u);
    nx_oms_on_update(M, 0, &u); /* the same fill again: once */
    nx_position_info_t pi;
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.qty, Q(0.04));
    assert_int_equal(nclosed, 0);
    u.fill_id = 9002;
    u.status = NX_OS_FILLED;
    u.last_px = P(40900);
    u.last_qty = Q(0.05); /* more than is left: never past flat */
    u.fee = 82;
    nx_oms_on_update(M, 0, &u);
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_LIQUIDATION);
    /* 5000.00 in; 0.06 x 41000 + 0.04 x 40900 = 4096.00 out; fees 2.00
     * (4 bp on entry) + 1.23 + 0.82 */
    assert_int_equal(closed[0].fees, 200 + 123 + 82);
    assert_int_equal(closed[0].pnl, P(4096) - P(5000) - 405);
    assert_int_equal(closed[0].exit_px, (P(41000) * 60 + P(40900) * 40) / 100);
    assert_int_equal(nx_paper_open_orders(V, 7), 0); /* its stop is cancelled */
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.qty, 0);
    /* a forced fill with nothing open (a position Nexus does not hold) and
     * an ADL fill of another session that has none: nothing moves */
    u.fill_id = 9003;
    nx_oms_on_update(M, 0, &u);
    u.session = 8;
    u.reason = NX_OFORCED_ADL;
    nx_oms_on_update(M, 0, &u);
    assert_int_equal(nclosed, 1);
    nx_account_info_t ai;
    nx_oms_account(M, 7, &ai);
    assert_int_equal(ai.balance, P(10000) + P(4096) - P(5000) - 405);
    /* auto-deleveraging closes a short the same way, as "adl" */
    assert_int_equal(enter(7, 0, NX_SIDE_SELL, Q(0.02), P(42000), 0, 0, 0, 0, 3 * SEC), 0);
    memset(&u, 0, sizeof u);
    u.session = 7;
    u.side = NX_SIDE_BUY;
    u.status = NX_OS_FILLED;
    u.reason = NX_OFORCED_ADL;
    u.fill_id = 9101;
    u.last_px = P(40000);
    u.last_qty = Q(0.02);
    u.fee = 32;
    nx_oms_on_update(M, 0, &u);
    assert_int_equal(nclosed, 2);
    assert_int_equal(closed[1].reason, NX_EXIT_ADL);
    assert_int_equal(closed[1].dir, -1);
    assert_int_equal(closed[1].exit_px, P(40000));
    assert_int_equal(nx_paper_open_orders(V, 7), 0);
    assert_string_equal(nx_exit_reason_name(NX_EXIT_LIQUIDATION), "liquidation");
    assert_string_equal(nx_exit_reason_name(NX_EXIT_ADL), "adl");
    teardown_paper();
}

/* A price only to the paper venue (the order manager, behind the desk's
 * own sanity band in a run, does not see these). */
static void paper_trade(uint32_t sym, int64_t px)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.symbol = sym;
    ev.u.trade.price = px;
    ev.u.trade.qty = 1;
    nx_paper_on_market(V, &ev);
}

/* Issue 16: a sell of 6,980 BTC at 0 and a buy at 90,018,000,000 were
 * filled from bad prints. Prices further than 25% (the default) from the
 * last accepted one fill nothing; the stop waits for a sane print; two
 * prints that agree are a real move. */
static void test_insane_prices_fill_nothing(void **state)
{
    (void)state;
    setup_paper(0, 4);
    assert_int_equal(nx_oms_add_session(M, 7, P(100000)), 0);
    trade(0, P(50000), 1 * SEC);
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), P(49000), P(51000), 0, 0, 0, 2 * SEC), 0);
    assert_int_equal(nx_paper_open_orders(V, 7), 2);
    paper_trade(0, P(0.01));    /* would fill the stop */
    paper_trade(0, 9001800000000LL); /* would fill the target */
    assert_int_equal(nclosed, 0);
    assert_int_equal(nx_paper_refused(V), 2);
    /* a candle whose low is a bad print: no sweep */
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_KLINE;
    ev.u.kline = (nx_ev_kline_t){.open = P(50000), .high = P(50100), .low = P(1), .close = P(50050),
                                 .interval_s = 900, .closed = 1};
    nx_paper_on_market(V, &ev);
    assert_int_equal(nclosed, 0);
    assert_int_equal(nx_paper_refused(V), 3);
    assert_int_equal(nx_paper_open_orders(V, 7), 2); /* both still rest */
    /* a sane print through the stop fills it, at that print */
    paper_trade(0, P(48900));
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_SL);
    assert_int_equal(closed[0].exit_px, P(48900));
    /* a real move of 40%: the first print is refused, the second agrees */
    paper_trade(0, P(70000));
    assert_int_equal(nx_paper_refused(V), 4);
    paper_trade(0, P(70100));
    assert_int_equal(nx_paper_refused(V), 4);
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), 0, 0, 0, 0, 0, 3 * SEC), 0);
    nx_position_info_t pi;
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.avg_px, P(70100));
    teardown_paper();
}

/* The venue's open-order limit per session and symbol (Binance USD-M:
 * 200): with a limit of 1 the stop rests and the target is rejected with
 * its reason; the position keeps its stop and still closes on it; another
 * session and another symbol have their own count. */
static void test_open_order_limit(void **state)
{
    (void)state;
    max_open = 1;
    setup_paper(0, 4);
    max_open = 0;
    assert_int_equal(nx_oms_add_session(M, 7, P(10000)), 0);
    assert_int_equal(nx_oms_add_session(M, 8, P(10000)), 0);
    trade(0, P(50000), 1 * SEC);
    trade(1, P(3000), 1 * SEC);
    assert_int_equal(enter(7, 0, NX_SIDE_BUY, Q(0.1), P(49700), P(50600), 0, 0, 0, 2 * SEC), 0);
    assert_int_equal(nrejects, 1);
    assert_int_equal(rejects[0].reason, NX_OREJ_MAX_OPEN);
    assert_int_equal(rejects[0].session, 7);
    assert_string_equal(nx_order_reject_name(NX_OREJ_MAX_OPEN),
                        "open-order limit on the symbol reached");
    nx_position_info_t pi;
    nx_oms_position(M, 7, 0, &pi);
    assert_int_equal(pi.qty, Q(0.1));
    assert_int_equal(pi.protected_sl, 1);
    assert_int_equal(pi.protected_tp, 0); /* the level is known, the order is not there */
    assert_int_equal(pi.tp, P(50600));
    assert_int_equal(nx_paper_open_orders(V, 7), 1);
    /* session 8 on the same symbol, and session 7 on another: their own count */
    assert_int_equal(enter(8, 0, NX_SIDE_BUY, Q(0.1), P(49700), 0, 0, 0, 0, 2 * SEC), 0);
    assert_int_equal(enter(7, 1, NX_SIDE_BUY, Q(1), P(2900), 0, 0, 0, 0, 2 * SEC), 0);
    assert_int_equal(nrejects, 1);
    assert_int_equal(nx_paper_open_orders(V, 7), 2);
    assert_int_equal(nx_paper_open_orders(V, 8), 1);
    candle(0, P(50000), P(50700), P(49600), P(49650), 3 * SEC); /* past the lost target, then the stop */
    assert_int_equal(nclosed, 2);
    assert_int_equal(closed[0].reason, NX_EXIT_SL);
    assert_int_equal(closed[0].exit_px, P(49700));
    teardown_paper();
    /* out of range */
    nx_paper_opts_t po = {0, 4, 2, to_oms, NULL, NX_PAPER_MAX_ORDERS + 1};
    assert_null(nx_paper_create(&po, &T));
}

static void test_trailing_and_time_limit(void **state)
{
    (void)state;
    setup_paper(0, 0);
    nx_oms_add_session(M, 1, P(10000));
    trade(0, P(100), 0);
    /* trail 2.00 once price reached 102.00 */
    assert_int_equal(enter(1, 0, NX_SIDE_BUY, Q(1), P(90), 0, P(2), P(102), 0, 1 * SEC), 0);
    trade(0, P(101), 2 * SEC);
    nx_position_info_t pi;
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.trail_stop, 0); /* not active yet */
    trade(0, P(99.5), 3 * SEC);          /* would have stopped an active trail at 99 */
    assert_int_equal(nclosed, 0);
    trade(0, P(103), 4 * SEC);
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.trail_stop, P(101));
    trade(0, P(106), 5 * SEC); /* follows */
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.trail_stop, P(104));
    trade(0, P(105), 6 * SEC); /* does not move back */
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.trail_stop, P(104));
    assert_int_equal(nclosed, 0);
    trade(0, P(104), 7 * SEC); /* fires */
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_TRAILING);
    assert_int_equal(closed[0].exit_px, P(104));
    assert_int_equal(closed[0].pnl, P(4));
    assert_int_equal(nx_paper_open_orders(V, 1), 0);

    /* time limit: closed at market once it is over */
    assert_int_equal(enter(1, 0, NX_SIDE_SELL, Q(1), P(110), P(90), 0, 0, 60 * SEC, 10 * SEC), 0);
    trade(0, P(103.5), 69 * SEC);
    assert_int_equal(nclosed, 1);
    trade(0, P(103), 70 * SEC);
    assert_int_equal(nclosed, 2);
    assert_int_equal(closed[1].reason, NX_EXIT_TIME);
    assert_int_equal(closed[1].pnl, P(1));
    nx_account_info_t ai;
    nx_oms_account(M, 1, &ai);
    assert_int_equal(ai.balance, recompute(1, P(10000)));
    assert_int_equal(ai.trades, 2);
    assert_int_equal(ai.wins, 2);
    teardown_paper();
}

/* On candles the trailing stop is the venue's stop-loss order, amended as
 * the best price moves: it fires at its level inside the next candle, or at
 * the open when that candle gaps past it, like any stop. */
static void test_trailing_on_candles_fires_at_its_level(void **state)
{
    (void)state;
    setup_paper(0, 0);
    nx_oms_add_session(M, 1, P(10000));
    trade(0, P(100), 0);
    assert_int_equal(enter(1, 0, NX_SIDE_BUY, Q(1), P(90), 0, P(3), 0, 0, 1 * SEC), 0);
    candle(0, P(100), P(110), P(99), P(109), 2 * SEC);
    nx_position_info_t pi;
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.trail_stop, P(107));
    assert_int_equal(pi.sl, P(107)); /* the stop order at the venue moved up */
    assert_int_equal(pi.protected_sl, 1);
    assert_int_equal(nx_paper_open_orders(V, 1), 1);
    candle(0, P(108), P(109), P(105), P(106), 3 * SEC); /* crosses 107 inside the candle */
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_TRAILING);
    assert_int_equal(closed[0].exit_px, P(107)); /* its level, not the close (106) */
    assert_int_equal(nx_paper_open_orders(V, 1), 0);

    /* a short without a fixed stop: the trail places one; the next candle gaps past it */
    trade(0, P(106), 4 * SEC);
    assert_int_equal(enter(1, 0, NX_SIDE_SELL, Q(1), 0, 0, P(2), 0, 0, 5 * SEC), 0);
    assert_int_equal(nx_paper_open_orders(V, 1), 0);
    candle(0, P(106), P(106.5), P(100), P(101), 6 * SEC);
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.trail_stop, P(102));
    assert_int_equal(nx_paper_open_orders(V, 1), 1);
    candle(0, P(103), P(104), P(102.5), P(103.5), 7 * SEC); /* opens above 102 */
    assert_int_equal(nclosed, 2);
    assert_int_equal(closed[1].reason, NX_EXIT_TRAILING);
    assert_int_equal(closed[1].exit_px, P(103)); /* the gap's open */

    /* a candle that makes a new high and closes below the new trail: out at the close */
    trade(0, P(100), 8 * SEC);
    assert_int_equal(enter(1, 0, NX_SIDE_BUY, Q(1), P(90), 0, P(3), 0, 0, 9 * SEC), 0);
    candle(0, P(100), P(110), P(99.5), P(106), 10 * SEC);
    assert_int_equal(nclosed, 3);
    assert_int_equal(closed[2].reason, NX_EXIT_TRAILING);
    assert_int_equal(closed[2].exit_px, P(106));
    nx_account_info_t ai;
    nx_oms_account(M, 1, &ai);
    assert_int_equal(ai.balance, recompute(1, P(10000)));
    teardown_paper();
}

/* An entry needs its margin (qty x price / leverage) free in the session's
 * equity; what open positions hold and lose counts against it. */
static void test_margin_checked_before_entry(void **state)
{
    (void)state;
    setup_paper(0, 0);
    nx_oms_add_session(M, 1, P(1000));
    trade(0, P(50000), 1 * SEC);
    trade(1, P(2000), 1 * SEC);
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.session = 1;
    in.side = NX_SIDE_BUY;
    in.qty = Q(0.12); /* 6,000 of BTC */
    in.stop_loss = P(49000);
    in.leverage = 5; /* needs 1,200 */
    assert_int_equal(nx_oms_enter(M, 0, &in, 0, 2 * SEC), NX_EPERM);
    assert_int_equal(nx_paper_open_orders(V, 1), 0);
    assert_int_equal(nfills, 0);
    in.leverage = 10; /* needs 600 */
    assert_int_equal(nx_oms_enter(M, 0, &in, 0, 2 * SEC), 0);
    trade(0, P(49500), 3 * SEC); /* 0.12 x -500 = -60 open */
    nx_account_info_t ai;
    nx_oms_account(M, 1, &ai);
    assert_int_equal(ai.margin, P(600));
    assert_int_equal(ai.unrealized, -P(60));
    assert_int_equal(ai.equity, P(940));
    assert_int_equal(ai.available, P(340));
    in.qty = Q(1.75); /* 3,500 of ETH at 10x: 350 > 340 */
    in.stop_loss = P(1900);
    assert_int_equal(nx_oms_enter(M, 1, &in, 0, 4 * SEC), NX_EPERM);
    in.qty = Q(1.7); /* 340 */
    assert_int_equal(nx_oms_enter(M, 1, &in, 0, 4 * SEC), 0);
    nx_oms_account(M, 1, &ai);
    assert_int_equal(ai.open_positions, 2);
    assert_int_equal(ai.available, 0);
    teardown_paper();
}

static void test_panic_close(void **state)
{
    (void)state;
    setup_paper(10, 4);
    nx_oms_add_session(M, 1, P(10000));
    nx_oms_add_session(M, 2, P(10000));
    trade(0, P(50000), 0);
    trade(1, P(3000), 0);
    assert_int_equal(enter(1, 0, NX_SIDE_BUY, Q(0.01), P(49000), P(52000), 0, 0, 0, SEC), 0);
    assert_int_equal(enter(1, 1, NX_SIDE_SELL, Q(0.5), P(3100), 0, 0, 0, 0, SEC), 0);
    assert_int_equal(enter(2, 0, NX_SIDE_SELL, Q(0.02), P(51000), 0, 0, 0, 0, SEC), 0);
    assert_int_equal(enter(1, 0, NX_SIDE_BUY, Q(0.01), 0, 0, 0, 0, 0, SEC), NX_ESTATE);
    /* market fills pay the slippage: 50000 + 0.1% = 50050 */
    nx_position_info_t pi;
    nx_oms_position(M, 1, 0, &pi);
    assert_int_equal(pi.avg_px, P(50050));
    assert_int_equal(nx_oms_panic(M, 1, 2 * SEC), 2); /* one user */
    nx_account_info_t ai;
    nx_oms_account(M, 1, &ai);
    assert_int_equal(ai.open_positions, 0);
    assert_int_equal(nx_paper_open_orders(V, 1), 0);
    nx_oms_account(M, 2, &ai);
    assert_int_equal(ai.open_positions, 1); /* the other is untouched */
    assert_int_equal(nx_oms_panic(M, NX_SESSION_ALL, 3 * SEC), 1); /* everyone (owner) */
    nx_oms_account(M, 2, &ai);
    assert_int_equal(ai.open_positions, 0);
    assert_int_equal(nx_paper_open_orders(V, 2), 0);
    for (int i = 0; i < nclosed; i++)
        assert_int_equal(closed[i].reason, NX_EXIT_PANIC);
    nx_oms_account(M, 1, &ai);
    assert_int_equal(ai.balance, recompute(1, P(10000)));
    nx_oms_account(M, 2, &ai);
    assert_int_equal(ai.balance, recompute(2, P(10000)));
    teardown_paper();
}

/* ---- a scripted venue: records intents, the test answers ---------------- */

typedef struct script {
    nx_bridge_t base;
    nx_ev_order_intent_t sent[64];
    uint32_t sym[64];
    int n, fail_stops, cancels;
} script_t;

static script_t SC;

static int sc_place(nx_bridge_t *b, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    script_t *s = (script_t *)b;
    if (s->fail_stops && in->order_type == NX_ORD_STOP_MARKET)
        return NX_EIO;
    s->sym[s->n] = symbol;
    s->sent[s->n++] = *in;
    return 0;
}
static int sc_cancel(nx_bridge_t *b, uint64_t clid, uint32_t symbol)
{
    (void)clid, (void)symbol;
    ((script_t *)b)->cancels++;
    return 0;
}
static int sc_cancel_all(nx_bridge_t *b, uint32_t session, uint32_t symbol)
{
    (void)b, (void)session, (void)symbol;
    return 0;
}
static int sc_amend(nx_bridge_t *b, uint64_t c, int64_t p, int64_t q)
{
    (void)b, (void)c, (void)p, (void)q;
    return 0;
}
static int sc_prot(nx_bridge_t *b, uint32_t s, uint32_t y, int64_t sl, int64_t tp)
{
    (void)b, (void)s, (void)y, (void)sl, (void)tp;
    return NX_ESTATE;
}
static int sc_query(nx_bridge_t *b, uint32_t s)
{
    (void)b, (void)s;
    return 0;
}
static const nx_bridge_ops_t sc_ops = {"script", sc_place, sc_cancel, sc_cancel_all,
                                       sc_amend, sc_prot,  sc_query};

static void setup_script(void)
{
    nx_symtab_init(&T);
    nx_symtab_add(&T, NX_VENUE_PAPER, "BTCUSDT", 2, 3, 10, 1, P(5), NULL);
    memset(&SC, 0, sizeof SC);
    SC.base.ops = &sc_ops;
    nx_oms_opts_t oo = {&T, &SC.base, 40, on_closed, journal, NULL};
    M = nx_oms_create(&oo);
    nx_oms_add_session(M, 3, P(1000));
    nclosed = nfills = 0;
}

static nx_ev_order_update_t upd(const nx_ev_order_intent_t *in, uint8_t st, uint64_t fill,
                                int64_t px, int64_t q, int64_t cum)
{
    nx_ev_order_update_t u;
    memset(&u, 0, sizeof u);
    u.client_id = in->client_id;
    u.session = in->session;
    u.status = st;
    u.side = in->side;
    u.fill_id = fill;
    u.last_px = px;
    u.last_qty = q;
    u.cum_qty = cum;
    u.fee = q ? 1 : 0;
    return u;
}

/* Entry in two partial fills, then exit; delivered in `order` (a
 * permutation with duplicates); returns the final balance. */
static int64_t run_script(const int *order, int n)
{
    setup_script();
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.session = 3;
    in.side = NX_SIDE_BUY;
    in.qty = Q(0.2);
    in.leverage = 1;
    assert_int_equal(nx_oms_enter(M, 0, &in, 0, SEC), 0);
    const nx_ev_order_intent_t *e = &SC.sent[0];
    nx_ev_order_update_t ups[4] = {
        upd(e, NX_OS_ACKED, 0, 0, 0, 0),
        upd(e, NX_OS_PARTIAL, 101, P(100), Q(0.05), Q(0.05)),
        upd(e, NX_OS_FILLED, 102, P(101), Q(0.15), Q(0.2)),
        upd(e, NX_OS_ACKED, 0, 0, 0, 0),
    };
    for (int i = 0; i < n; i++)
        nx_oms_on_update(M, 0, &ups[order[i]]);
    nx_position_info_t pi;
    nx_oms_position(M, 3, 0, &pi);
    assert_int_equal(pi.qty, Q(0.2));
    assert_int_equal(nx_oms_exit(M, 3, 0, NX_EXIT_MANUAL, 2 * SEC), 0);
    const nx_ev_order_intent_t *x = &SC.sent[SC.n - 1];
    assert_int_equal(x->reduce_only, 1);
    assert_int_equal(x->qty, Q(0.2));
    nx_ev_order_update_t f = upd(x, NX_OS_FILLED, 201, P(103), Q(0.2), Q(0.2));
    nx_oms_on_update(M, 0, &f);
    nx_oms_on_update(M, 0, &f); /* duplicate after the close */
    nx_account_info_t ai;
    nx_oms_account(M, 3, &ai);
    assert_int_equal(ai.trades, 1);
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_MANUAL);
    int64_t bal = ai.balance;
    assert_int_equal(bal, recompute(3, P(1000)));
    nx_oms_destroy(M);
    return bal;
}

static void test_out_of_order_and_duplicate_updates(void **state)
{
    (void)state;
    static const int in_order[] = {0, 1, 2};
    static const int shuffled[] = {2, 3, 1, 2, 0, 1, 1}; /* filled first, duplicates, late ack */
    int64_t a = run_script(in_order, 3);
    int64_t b = run_script(shuffled, 7);
    /* (0.05 x 3 + 0.15 x 2) = 0.45 profit, minus 3 units of fees */
    assert_int_equal(a, P(1000) + P(0.45) - 3);
    assert_int_equal(a, b);
}

static void test_stop_failures(void **state)
{
    (void)state;
    /* the stop cannot be placed: the position is closed at once */
    setup_script();
    SC.fail_stops = 1;
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.session = 3;
    in.side = NX_SIDE_BUY;
    in.qty = Q(0.1);
    in.stop_loss = P(95);
    in.take_profit = P(110);
    assert_int_equal(nx_oms_enter(M, 0, &in, 0, SEC), 0);
    nx_ev_order_update_t u = upd(&SC.sent[0], NX_OS_FILLED, 1, P(100), Q(0.1), Q(0.1));
    nx_oms_on_update(M, 0, &u);
    const nx_ev_order_intent_t *x = &SC.sent[SC.n - 1];
    assert_int_equal(x->order_type, NX_ORD_MARKET);
    assert_int_equal(x->reduce_only, 1);
    assert_int_equal(x->side, NX_SIDE_SELL);
    nx_ev_order_update_t f = upd(x, NX_OS_FILLED, 2, P(99), Q(0.1), Q(0.1));
    nx_oms_on_update(M, 0, &f);
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_EMERGENCY);
    nx_oms_destroy(M);

    /* the stop is taken, then refused later (a live venue's -2021 "would
     * immediately trigger"): the position is closed at market at once */
    setup_script();
    assert_int_equal(nx_oms_enter(M, 0, &in, 0, SEC), 0);
    u = upd(&SC.sent[0], NX_OS_FILLED, 1, P(100), Q(0.1), Q(0.1));
    nx_oms_on_update(M, 0, &u);
    assert_int_equal(SC.sent[1].order_type, NX_ORD_STOP_MARKET);
    int sent = SC.n;
    nx_ev_order_update_t late = upd(&SC.sent[1], NX_OS_REJECTED, 0, 0, 0, 0);
    nx_oms_on_update(M, 0, &late);
    assert_int_equal(SC.n, sent + 1);
    x = &SC.sent[SC.n - 1];
    assert_int_equal(x->order_type, NX_ORD_MARKET);
    assert_int_equal(x->reduce_only, 1);
    f = upd(x, NX_OS_FILLED, 2, P(99), Q(0.1), Q(0.1));
    nx_oms_on_update(M, 0, &f);
    assert_int_equal(nclosed, 1);
    assert_int_equal(closed[0].reason, NX_EXIT_EMERGENCY);
    nx_oms_destroy(M);

    /* the venue cancels the stop: it is placed again */
    setup_script();
    assert_int_equal(nx_oms_enter(M, 0, &in, 0, SEC), 0);
    u = upd(&SC.sent[0], NX_OS_FILLED, 1, P(100), Q(0.1), Q(0.1));
    nx_oms_on_update(M, 0, &u);
    assert_int_equal(SC.n, 3); /* entry, stop, target */
    assert_int_equal(SC.sent[1].order_type, NX_ORD_STOP_MARKET);
    assert_int_equal(SC.sent[1].price, P(95));
    assert_int_equal(SC.sent[2].order_type, NX_ORD_TAKE_PROFIT_MARKET);
    nx_ev_order_update_t c = upd(&SC.sent[1], NX_OS_CANCELLED, 0, 0, 0, 0);
    nx_oms_on_update(M, 0, &c);
    assert_int_equal(SC.n, 4);
    assert_int_equal(SC.sent[3].order_type, NX_ORD_STOP_MARKET);
    assert_int_equal(SC.sent[3].price, P(95));
    assert_true(SC.sent[3].client_id != SC.sent[1].client_id);
    /* an exit the venue rejects: still open, protected again, and a new exit works */
    assert_int_equal(nx_oms_exit(M, 3, 0, NX_EXIT_MANUAL, 2 * SEC), 0);
    const nx_ev_order_intent_t *ex = &SC.sent[SC.n - 1];
    assert_int_equal(ex->order_type, NX_ORD_MARKET);
    nx_ev_order_update_t rej = upd(ex, NX_OS_REJECTED, 0, 0, 0, 0);
    nx_oms_on_update(M, 0, &rej);
    nx_position_info_t pi;
    nx_oms_position(M, 3, 0, &pi);
    assert_int_equal(pi.qty, Q(0.1));
    assert_int_equal(SC.sent[SC.n - 2].order_type, NX_ORD_STOP_MARKET);
    assert_int_equal(SC.sent[SC.n - 1].order_type, NX_ORD_TAKE_PROFIT_MARKET);
    int before = SC.n;
    assert_int_equal(nx_oms_exit(M, 3, 0, NX_EXIT_MANUAL, 3 * SEC), 0);
    assert_int_equal(SC.n, before + 1);
    /* unknown ids are counted and ignored */
    nx_ev_order_update_t bogus = c;
    bogus.client_id = nx_clid_make(3, 999);
    nx_oms_on_update(M, 0, &bogus);
    nx_account_info_t ai;
    nx_oms_account(M, 3, &ai);
    assert_int_equal(ai.unknown_updates, 1);
    nx_oms_destroy(M);
}

/* ---- property test -------------------------------------------------------------- */

static uint64_t rng = 42;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33) % n;
}

static void test_random_sequences_keep_invariants(void **state)
{
    (void)state;
    for (int run = 0; run < 20; run++) {
        setup_paper(rnd(20), rnd(10));
        for (uint32_t s = 1; s <= 3; s++)
            nx_oms_add_session(M, s, P(100000));
        int64_t px[2] = {P(50000), P(3000)};
        int64_t t = 0;
        for (int step = 0; step < 2000; step++) {
            t += SEC;
            uint32_t sym = rnd(2), ses = 1 + rnd(3);
            int64_t tick = sym ? 1 : 10;
            switch (rnd(6)) {
            case 0: { /* a signal: enter with random protection */
                int64_t p0 = px[sym];
                int buy = rnd(2);
                int64_t d = p0 / 100 + tick;
                d -= d % tick;
                enter(ses, sym, buy ? NX_SIDE_BUY : NX_SIDE_SELL, Q(0.001) * (1 + rnd(50)),
                      rnd(4) ? (buy ? p0 - d : p0 + d) : 0, rnd(2) ? (buy ? p0 + d : p0 - d) : 0,
                      rnd(3) ? 0 : d / 2, 0, rnd(4) ? 0 : 30 * SEC, t);
                break;
            }
            case 1:
                nx_oms_exit(M, ses, sym, NX_EXIT_SIGNAL, t);
                break;
            case 2: { /* a candle */
                int64_t o = px[sym], c = o + ((int64_t)rnd(201) - 100) * o / 10000;
                c -= c % tick;
                int64_t h = (o > c ? o : c) + tick * rnd(50), l = (o < c ? o : c) - tick * rnd(50);
                candle(sym, o, h, l, c, t);
                px[sym] = c;
                break;
            }
            case 5:
                if (rnd(50) == 0)
                    nx_oms_panic(M, ses, t);
                break;
            default: { /* a trade */
                int64_t c = px[sym] + ((int64_t)rnd(21) - 10) * tick;
                trade(sym, c, t);
                px[sym] = c;
                break;
            }
            }
            /* invariants after every step */
            for (uint32_t s = 1; s <= 3; s++) {
                for (uint32_t k = 0; k < 2; k++) {
                    nx_position_info_t pi;
                    nx_oms_position(M, s, k, &pi);
                    if (pi.qty && pi.sl && !pi.protected_sl)
                        fail_msg("run %d step %d: session %u symbol %u qty %lld sl %lld unprotected", run,
                                 step, s, k, (long long)pi.qty, (long long)pi.sl);
                }
                /* at most a stop and a target resting per position */
                assert_true(nx_paper_open_orders(V, s) <= 4);
            }
        }
        nx_oms_panic(M, NX_SESSION_ALL, t + SEC);
        for (uint32_t s = 1; s <= 3; s++) {
            nx_account_info_t ai;
            nx_oms_account(M, s, &ai);
            if (ai.open_positions) {
                for (uint32_t k = 0; k < 2; k++) {
                    nx_position_info_t pi;
                    nx_oms_position(M, s, k, &pi);
                    print_message("run %d session %u sym %u qty %lld sl %lld tp %lld prot %u open orders %u\n", run, s, k,
                                  (long long)pi.qty, (long long)pi.sl, (long long)pi.tp, pi.protected_sl, ai.open_orders);
                }
            }
            assert_int_equal(ai.open_positions, 0);
            assert_int_equal(nx_paper_open_orders(V, s), 0);
            assert_int_equal(ai.balance, recompute(s, P(100000))); /* to the unit */
        }
        for (int i = 0; i < nclosed; i++)
            assert_true(closed[i].qty > 0);
        teardown_paper();
    }
}

/* HMAC-SHA256 under a prepared key against RFC 4231's vectors: case 2
 * (a short key) and case 6 (a key longer than a block, hashed first). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    nx_hmac_key_t *k = NULL;
    char hex[NX_HMAC_HEX_LEN + 1] = {0};
    assert_int_equal(nx_hmac_key_create(&k, "Jefe", 4), 0);
    static const char m2[] = "what do ya want for nothing?";
    nx_hmac_sha256_hex(k, m2, strlen(m2), hex);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    assert_true(nx_hmac_sha256_verify(k, m2, strlen(m2), hex, 64));
    /* Binance signatures are not case sensitive */
    assert_true(nx_hmac_sha256_verify(
        k, m2, strlen(m2), "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843", 64));
    hex[5] = hex[5] == '0' ? '1' : '0';
    assert_false(nx_hmac_sha256_verify(k, m2, strlen(m2), hex, 64));
    assert_false(nx_hmac_sha256_verify(k, m2, strlen(m2), hex, 63));
    nx_hmac_key_free(k);
    uint8_t big[131];
    memset(big, 0xaa, sizeof big);
    assert_int_equal(nx_hmac_key_create(&k, big, sizeof big), 0);
    static const char m6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
    nx_hmac_sha256_hex(k, m6, strlen(m6), hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    nx_hmac_key_free(k);
    assert_int_equal(nx_hmac_key_create(&k, "", 0), NX_EINVAL);
    assert_null(k);
}

static const char bn_secret[] = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
static const char bn_api_key[] = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83";

/* Binance's official HMAC vector (spec/exchanges.md, "SIGNED Endpoint
 * Examples for POST /fapi/v1/order"), and a market order with our id. */
static void test_binance_order_request_signature(void **state)
{
    (void)state;
    nx_hmac_key_t *key = NULL;
    assert_int_equal(nx_hmac_key_create(&key, bn_secret, strlen(bn_secret)), 0);
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.side = NX_SIDE_BUY;
    in.order_type = NX_ORD_LIMIT;
    in.qty = 1;
    in.price = 9000;
    nx_binance_req_t r = {"BTCUSDT", 0, 0, 1591702613943LL, 5000, key, bn_api_key};
    char buf[768];
    int n = nx_binance_order_request(buf, sizeof buf, &r, &in);
    assert_true(n > 0);
    assert_string_equal(buf, "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&"
                             "timeInForce=GTC&recvWindow=5000&timestamp=1591702613943&signature="
                             "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9");
    assert_int_equal(n, (int)strlen(buf));
    in.order_type = NX_ORD_MARKET;
    in.side = NX_SIDE_SELL;
    in.qty = Q(0.125);
    in.reduce_only = 1;
    in.client_id = nx_clid_make(7, 42);
    nx_binance_req_t r2 = {"BTCUSDT", 2, 3, 1700000000000LL, 0, key, bn_api_key};
    n = nx_binance_order_request(buf, sizeof buf, &r2, &in);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.125&reduceOnly="
                                "true&newClientOrderId=nx-7000000002a&timestamp=1700000000000&"
                                "signature="));
    assert_int_equal(strlen(strstr(buf, "signature=")), 10 + 64);
    /* too small a buffer, or a stop order (the algo endpoint's job) */
    assert_int_equal(nx_binance_order_request(buf, 40, &r2, &in), NX_ETOOLONG);
    in.order_type = NX_ORD_STOP_MARKET;
    assert_int_equal(nx_binance_order_request(buf, sizeof buf, &r2, &in), NX_EINVAL);
    nx_hmac_key_free(key);
}

/* The WebSocket API signs its parameters sorted by name (Binance's "WebSocket
 * API General Info"); the expected signatures were computed outside Nexus:
 *   echo -n '<payload>' | openssl dgst -sha256 -hmac <secret>
 * with the official example's secret. */
static void test_binance_ws_and_algo_signatures(void **state)
{
    (void)state;
    nx_hmac_key_t *key = NULL;
    assert_int_equal(nx_hmac_key_create(&key, bn_secret, strlen(bn_secret)), 0);
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.side = NX_SIDE_BUY;
    in.order_type = NX_ORD_LIMIT;
    in.qty = 1;
    in.price = 9000;
    nx_binance_req_t r = {"BTCUSDT", 0, 0, 1591702613943LL, 5000, key, bn_api_key};
    char buf[1024];
    int n = nx_binance_ws_order_place(buf, sizeof buf, &r, 17, &in);
    assert_true(n > 0);
    assert_string_equal(
        buf, "{\"id\":17,\"method\":\"order.place\",\"params\":{\"apiKey\":\"dbefbc809e3e83c283a984c3a"
             "1459732ea7db1360ca80c5c2c8867408d28cc83\",\"price\":\"9000\",\"quantity\":\"1\","
             "\"recvWindow\":5000,\"side\":\"BUY\",\"symbol\":\"BTCUSDT\",\"timeInForce\":\"GTC\","
             "\"timestamp\":1591702613943,\"type\":\"LIMIT\",\"signature\":\"5b8fe2b962b8e1b2b82fb"
             "40e548d56147c2a8f835b5f1393ae4b4b90c38b527f\"}}");
    /* the same frame, signed under the key with its first block absorbed
     * (the signature computed independently above: openssl dgst) */
    nx_hmac_key_t *wk = NULL;
    assert_int_equal(nx_binance_ws_key(&wk, key, bn_api_key), 0);
    r.ws_key = wk;
    char buf2[1024];
    assert_int_equal(nx_binance_ws_order_place(buf2, sizeof buf2, &r, 17, &in), n);
    assert_string_equal(buf2, buf);
    r.ws_key = NULL;
    nx_hmac_key_free(wk);
    assert_int_equal(nx_binance_ws_key(&wk, key, "short"), NX_EINVAL);
    assert_int_equal(nx_hmac_key_prefixed(&wk, key, "apiKey=", 7), NX_EINVAL);
    /* REST algo order: a stop-loss on the whole position at the mark */
    nx_binance_algo_t a = {nx_clid_make(7, 43), NX_SIDE_SELL, NX_ORD_STOP_MARKET, 6000050, 0, 0, 0};
    nx_binance_req_t r2 = {"BTCUSDT", 2, 3, 1700000000000LL, 0, key, bn_api_key};
    n = nx_binance_algo_request(buf, sizeof buf, &r2, &a);
    assert_true(n > 0);
    assert_string_equal(buf, "algoType=CONDITIONAL&clientAlgoId=nx-7000000002b&closePosition=true&"
                             "side=SELL&symbol=BTCUSDT&timestamp=1700000000000&triggerPrice=60000.5&"
                             "type=STOP_MARKET&workingType=MARK_PRICE&signature=7ab9bde847e777230977"
                             "77c04bc49a2280eec8b2f22a5cf8635fb14db2f62625");
    /* WebSocket API trailing stop: 1.5% behind, armed at 66000 */
    nx_binance_algo_t t = {nx_clid_make(7, 44), NX_SIDE_SELL, NX_ORD_TRAILING_STOP, 0, Q(0.01),
                           6600000, 150};
    nx_binance_req_t r3 = {"BTCUSDT", 2, 3, 1700000000000LL, 5000, key, bn_api_key};
    n = nx_binance_ws_algo_place(buf, sizeof buf, &r3, 18, &t);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"method\":\"algoOrder.place\""));
    assert_non_null(strstr(buf, "\"callbackRate\":\"1.5\""));
    assert_non_null(strstr(buf, "\"signature\":\"8e8f2ee96b27db0aadac14b8944d4891227bba6f49c104e6c"
                                "795290ecea5d971\"}}"));
    /* a callback outside 0.1%..10%, a stop with no trigger */
    t.callback_bp = 5;
    assert_int_equal(nx_binance_ws_algo_place(buf, sizeof buf, &r3, 18, &t), NX_EINVAL);
    a.trigger_price = 0;
    assert_int_equal(nx_binance_algo_request(buf, sizeof buf, &r2, &a), NX_EINVAL);
    /* cancel by client id over the WebSocket API */
    n = nx_binance_ws_cancel(buf, sizeof buf, &r3, 19, nx_clid_make(7, 42), 0);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"method\":\"order.cancel\",\"params\":{\"apiKey\":\"dbefbc"));
    assert_non_null(strstr(buf, "\"origClientOrderId\":\"nx-7000000002a\",\"recvWindow\":5000,"
                                "\"symbol\":\"BTCUSDT\",\"timestamp\":1700000000000,"));
    /* client ids: ours round-trip, anyone else's are 0 */
    char id[24];
    assert_int_equal(nx_binance_clid_format(nx_clid_make(7, 42), id), 14);
    assert_int_equal(nx_binance_clid_parse(id, 14), nx_clid_make(7, 42));
    assert_int_equal(nx_binance_clid_parse("autoclose-1700", 14), 0);
    assert_int_equal(nx_binance_clid_parse("nx-", 3), 0);
    assert_int_equal(nx_binance_clid_parse("nx-12G", 6), 0);
    nx_hmac_key_free(key);
}

/* ---- the paper venue's order latency ------------------------------------ */

static nx_ev_order_update_t lat_u[16];
static int lat_n;

static void lat_cb(void *ctx, uint32_t symbol, const nx_ev_order_update_t *u)
{
    (void)ctx, (void)symbol;
    if (lat_n < 16)
        lat_u[lat_n++] = *u;
}

static void lat_trade(nx_bridge_t *b, int64_t px, int64_t t_ms)
{
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_TRADE;
    ev.hdr.symbol = 0;
    ev.hdr.exch_ns = t_ms * 1000000;
    ev.u.trade.price = px;
    ev.u.trade.qty = 1;
    nx_paper_on_market(b, &ev);
}

static nx_ev_order_intent_t lat_order(uint64_t clid, uint8_t type, int64_t px)
{
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.client_id = clid;
    in.session = 1;
    in.side = NX_SIDE_BUY;
    in.order_type = type;
    in.qty = Q(1);
    in.price = px;
    return in;
}

/* With trading.latency_ms = 100 an order reaches the paper venue 100 ms
 * of market time after it is sent: a market order fills at the first
 * trade from then (not the price when it was sent), a limit order cannot
 * fill on a trade before then. Without a latency the market order fills
 * at once at the last price. */
static void test_paper_latency(void **state)
{
    (void)state;
    nx_symtab_init(&T);
    assert_int_equal(nx_symtab_add(&T, NX_VENUE_PAPER, "BTCUSDT", 2, 3, 1, 1, 0, NULL), 0);
    nx_paper_opts_t po = {0, 0, 0, lat_cb, NULL, 0, 0, 100};
    nx_bridge_t *b = nx_paper_create(&po, &T);
    assert_non_null(b);
    lat_n = 0;
    lat_trade(b, P(100), 1000);
    nx_ev_order_intent_t mk = lat_order(1, NX_ORD_MARKET, 0);
    assert_int_equal(b->ops->place(b, &mk, 0), 0);
    assert_int_equal(lat_n, 1);
    assert_int_equal(lat_u[0].status, NX_OS_ACKED);
    lat_trade(b, P(101), 1050); /* 50 ms: still on its way */
    assert_int_equal(lat_n, 1);
    lat_trade(b, P(102), 1100); /* 100 ms: there, at this trade's price */
    assert_int_equal(lat_n, 2);
    assert_int_equal(lat_u[1].status, NX_OS_FILLED);
    assert_int_equal(lat_u[1].last_px, P(102));
    assert_int_equal(lat_u[1].last_qty, Q(1));
    nx_ev_order_intent_t lim = lat_order(2, NX_ORD_LIMIT, P(100));
    assert_int_equal(b->ops->place(b, &lim, 0), 0); /* sent at 1100: there at 1200 */
    assert_int_equal(lat_n, 3);
    lat_trade(b, P(99), 1150); /* through the limit, but before it arrived */
    assert_int_equal(lat_n, 3);
    lat_trade(b, P(99.5), 1250);
    assert_int_equal(lat_n, 4);
    assert_int_equal(lat_u[3].status, NX_OS_FILLED);
    assert_int_equal(lat_u[3].last_px, P(99.5));
    nx_paper_destroy(b);
    /* no latency: at once, at the last price */
    po.latency_ms = 0;
    b = nx_paper_create(&po, &T);
    lat_n = 0;
    lat_trade(b, P(100), 1000);
    mk.client_id = 3;
    assert_int_equal(b->ops->place(b, &mk, 0), 0);
    assert_int_equal(lat_n, 2);
    assert_int_equal(lat_u[1].status, NX_OS_FILLED);
    assert_int_equal(lat_u[1].last_px, P(100));
    nx_paper_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_profit_and_stop_loss_prices),
        cmocka_unit_test(test_liquidation_closes_the_trade),
        cmocka_unit_test(test_adopted_position),
        cmocka_unit_test(test_funding),
        cmocka_unit_test(test_open_order_limit),
        cmocka_unit_test(test_paper_latency),
        cmocka_unit_test(test_insane_prices_fill_nothing),
        cmocka_unit_test(test_trailing_and_time_limit),
        cmocka_unit_test(test_trailing_on_candles_fires_at_its_level),
        cmocka_unit_test(test_margin_checked_before_entry),
        cmocka_unit_test(test_panic_close),
        cmocka_unit_test(test_out_of_order_and_duplicate_updates),
        cmocka_unit_test(test_stop_failures),
        cmocka_unit_test(test_random_sequences_keep_invariants),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_binance_order_request_signature),
        cmocka_unit_test(test_binance_ws_and_algo_signatures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
