/*
 * test_shield.c — the risk shield, decision by decision: sizing (share of
 * equity, leverage, risk at the stop, lot rounding, minimum notional),
 * stop/target levels, every limit and its reason code, the circuit breaker
 * (trips after exactly N losses, stays until reset, or halts and resumes),
 * volatility-scaled cooldowns, protections (stop-loss guard, low-profit
 * pair, drawdown) that lock and unlock, the kill switch (only exits pass),
 * the three modes and COPILOT approvals (valid, expired, drifted).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "nx/shield.h"

#define SEC    1000000000LL
#define MIN    (60 * SEC)
#define HOUR   (60 * MIN)
#define T0     (1621382400LL * SEC)  /* 2021-05-19T00:00Z, a Wednesday */
#define USD(x) ((int64_t)((x)*100))  /* quote units at price scale 2 */
#define BTC(x) ((int64_t)((x)*1000)) /* qty units at qty scale 3 */

static nx_risk_conf_t C;
static nx_risk_state_t S;
static nx_ev_signal_t G;
static nx_shield_input_t IN;
/* BTCUSDT-like rules: price scale 2, qty scale 3, tick 0.10, lot 0.001,
 * min $5; ids 0..3 */
static nx_symbol_t SYM[4];
static nx_decision_t D;

static void setup_all(int64_t equity)
{
    nx_risk_conf_default(&C);
    C.stale_ns = 0;
    C.cooldown_ns = 0;
    nx_risk_state_init(&S, equity, T0);
    memset(&G, 0, sizeof G);
    G.side = NX_SIG_BUY;
    G.confidence = 0.8;
    G.atr = USD(200);
    G.sl_kind = NX_LEVEL_ATR_MULT;
    G.sl_value = 1.5;
    G.tp_kind = NX_LEVEL_ATR_MULT;
    G.tp_value = 3;
    memset(&IN, 0, sizeof IN);
    IN.signal = &G;
    for (uint32_t i = 0; i < 4; i++) {
        memset(&SYM[i], 0, sizeof SYM[i]);
        SYM[i].id = i;
        SYM[i].price_scale = 2;
        SYM[i].qty_scale = 3;
        SYM[i].tick_size = 10;
        SYM[i].lot_size = 1;
        SYM[i].min_notional = USD(5);
    }
    IN.sym = &SYM[0];
    IN.price = USD(50000);
}

static void decide(int64_t now)
{
    nx_shield_decide(&C, &S, &IN, now, &D);
}

static void test_sizing_and_levels(void **state)
{
    (void)state;
    setup_all(USD(10000));
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    assert_int_equal(D.side, NX_SIDE_BUY);
    assert_int_equal(D.qty, BTC(0.010));       /* 5% of 10,000 = 500 USDT at 50,000 */
    assert_int_equal(D.stop_loss, USD(49700)); /* 1.5 x ATR 200 below */
    assert_int_equal(D.take_profit, USD(50600));
    assert_int_equal(D.leverage, 1);
    /* leverage multiplies the notional */
    setup_all(USD(10000));
    C.leverage = 10;
    decide(T0);
    assert_int_equal(D.qty, BTC(0.100));
    /* risk-based: 1% of equity lost at the stop (300 away) = 0.333 BTC,
     * but leverage 1 caps the notional at the equity: 0.2 BTC */
    setup_all(USD(10000));
    C.risk_pct_bp = 100;
    decide(T0);
    assert_int_equal(D.qty, BTC(0.200));
    C.leverage = 20;
    S.sym[0].cooldown_until = 0;
    S.trades_today = 0;
    decide(T0);
    assert_int_equal(D.qty, BTC(0.333));
    /* a sell mirrors the levels */
    setup_all(USD(10000));
    G.side = NX_SIG_SELL;
    decide(T0);
    assert_int_equal(D.side, NX_SIDE_SELL);
    assert_int_equal(D.stop_loss, USD(50300));
    assert_int_equal(D.take_profit, USD(49400));
    /* price levels given by the strategy are rounded to the tick */
    setup_all(USD(10000));
    G.sl_kind = NX_LEVEL_PRICE;
    G.sl_price = 4899996; /* 48999.96 -> 49000.00 */
    G.tp_kind = NX_LEVEL_NONE;
    decide(T0);
    assert_int_equal(D.stop_loss, USD(49000));
    assert_int_equal(D.take_profit, 0);
    /* a signal without a stop gets the session's default one: no position is unprotected */
    setup_all(USD(10000));
    G.sl_kind = NX_LEVEL_NONE;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    assert_int_equal(D.stop_loss, USD(45000)); /* 10% below */
    G.side = NX_SIG_SELL;
    C.default_stop_bp = 250;
    S.trades_today = 0;
    decide(T0 + HOUR);
    assert_int_equal(D.stop_loss, USD(51250));
    setup_all(USD(10000));
    G.sl_kind = NX_LEVEL_PRICE;
    G.sl_price = 4899996;
    G.tp_kind = NX_LEVEL_NONE;
    /* a stop above a buy's entry is a bad signal */
    G.sl_price = USD(51000);
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_BAD_SIGNAL);
    /* an ATR stop without an ATR is a bad signal */
    setup_all(USD(10000));
    G.atr = 0;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_BAD_SIGNAL);
    /* too small for the venue */
    setup_all(USD(50));
    decide(T0); /* 2.50 USDT < 5 */
    assert_int_equal(D.verdict, NX_V_REJECT);
    assert_int_equal(D.reason, NX_REJ_MIN_NOTIONAL);
    assert_string_equal(nx_reject_name(D.reason), "min_notional");
}

static void test_exposure_resizes(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.max_symbol_exposure = USD(300);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_RESIZE);
    assert_int_equal(D.reason, NX_REJ_EXPOSURE);
    assert_int_equal(D.qty, BTC(0.006));
    setup_all(USD(10000));
    C.max_total_exposure = USD(1000);
    nx_shield_on_position(&S, 1, BTC(1), USD(1000)); /* another symbol holds it all */
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_EXPOSURE);
    assert_int_equal(D.verdict, NX_V_REJECT);
}

static void test_limits(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.max_positions = 1;
    nx_shield_on_position(&S, 1, BTC(0.01), USD(500));
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_MAX_POSITIONS);
    nx_shield_on_position(&S, 1, 0, 0);
    assert_int_equal(S.open_positions, 0);
    assert_int_equal(S.total_exposure, 0);
    /* one position per symbol */
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_HAS_POSITION);
    nx_shield_on_position(&S, 0, 0, 0);
    /* trades per day, reset at the next UTC day */
    C.max_trades_day = 2;
    decide(T0);
    decide(T0 + 1);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    decide(T0 + 2);
    assert_int_equal(D.reason, NX_REJ_MAX_TRADES);
    decide(T0 + 24 * HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* daily loss stop ($), reset the next day */
    setup_all(USD(10000));
    C.daily_loss_stop = USD(100);
    nx_shield_on_trade_closed(&C, &S, 0, -USD(60), 0, 0, 0, T0 + HOUR);
    decide(T0 + HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    nx_shield_on_trade_closed(&C, &S, 1, -USD(40), 0, 0, 0, T0 + HOUR);
    S.sym[0].cooldown_until = 0;
    decide(T0 + 2 * HOUR);
    assert_int_equal(D.reason, NX_REJ_DAILY_LOSS);
    decide(T0 + 24 * HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* weekly loss stop (% of the week's opening equity) */
    setup_all(USD(10000));
    C.weekly_loss_bp = 500;
    nx_shield_on_trade_closed(&C, &S, 1, -USD(499), 0, 0, 0, T0);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    nx_shield_on_trade_closed(&C, &S, 1, -USD(1), 0, 0, 0, T0 + 24 * HOUR);
    S.sym[0].cooldown_until = 0;
    decide(T0 + 24 * HOUR);
    assert_int_equal(D.reason, NX_REJ_WEEKLY_LOSS);
    decide(T0 + 5 * 24 * HOUR); /* Monday 2021-05-24: a new week */
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* stale data */
    setup_all(USD(10000));
    C.stale_ns = 5 * SEC;
    IN.data_age_ns = 6 * SEC;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_STALE_DATA);
    /* pause */
    IN.data_age_ns = 0;
    S.paused = 1;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_PAUSED);
}

static void test_breaker(void **state)
{
    (void)state;
    setup_all(USD(10000));
    for (int i = 0; i < 2; i++)
        nx_shield_on_trade_closed(&C, &S, 1, -USD(10), 0, 0, 0, T0);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE); /* two losses: still trading */
    /* a win resets the count */
    nx_shield_on_trade_closed(&C, &S, 1, USD(1), 0, 0, 0, T0);
    for (int i = 0; i < 2; i++)
        nx_shield_on_trade_closed(&C, &S, 1, -USD(10), 0, 0, 0, T0);
    assert_int_equal(S.tripped, 0);
    nx_shield_on_trade_closed(&C, &S, 1, -USD(10), 0, 0, 0, T0);
    assert_int_equal(S.tripped, 1); /* exactly the third in a row */
    S.sym[0].cooldown_until = 0;
    decide(T0 + 30 * 24 * HOUR);
    assert_int_equal(D.reason, NX_REJ_BREAKER); /* stays tripped, however long */
    /* exits still pass */
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    G.side = NX_SIG_EXIT_LONG;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    G.side = NX_SIG_BUY;
    nx_shield_on_position(&S, 0, 0, 0);
    nx_shield_reset_breaker(&S);
    decide(T0 + 30 * 24 * HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);

    /* with a halt duration: resumes by itself, until the max number of halts */
    setup_all(USD(10000));
    C.breaker_halt_ns = HOUR;
    C.breaker_max_halts = 1;
    for (int i = 0; i < 3; i++)
        nx_shield_on_trade_closed(&C, &S, 1, -USD(10), 0, 0, 0, T0);
    decide(T0 + 59 * MIN);
    assert_int_equal(D.reason, NX_REJ_BREAKER);
    decide(T0 + HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    for (int i = 0; i < 3; i++)
        nx_shield_on_trade_closed(&C, &S, 1, -USD(10), 0, 0, 0, T0 + 2 * HOUR);
    S.sym[0].cooldown_until = 0;
    decide(T0 + 10 * HOUR);
    assert_int_equal(D.reason, NX_REJ_BREAKER); /* second trip: manual reset only */
}

static void test_cooldown_scales_with_atr(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.cooldown_ns = 10 * MIN;
    C.cooldown_ref_bp = 100; /* ATR 1% of price = 10 minutes */
    G.atr = USD(500);        /* 1% of 50,000 */
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    decide(T0 + 9 * MIN);
    assert_int_equal(D.reason, NX_REJ_COOLDOWN);
    G.atr = USD(1000); /* twice as volatile: twice as long */
    decide(T0 + 10 * MIN);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    decide(T0 + 29 * MIN);
    assert_int_equal(D.reason, NX_REJ_COOLDOWN);
    decide(T0 + 30 * MIN);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* after an exit too */
    nx_shield_on_trade_closed(&C, &S, 0, USD(5), 0, USD(250), USD(50000), T0 + HOUR);
    decide(T0 + HOUR + 4 * MIN); /* 0.5% -> 5 minutes */
    assert_int_equal(D.reason, NX_REJ_COOLDOWN);
    decide(T0 + HOUR + 5 * MIN);
    assert_int_equal(D.verdict, NX_V_APPROVE);
}

static void test_protections_lock_and_unlock(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.breaker_losses = 100;
    C.sl_guard_stops = 2;
    C.sl_guard_window_ns = HOUR;
    C.sl_guard_lock_ns = 6 * HOUR;
    nx_shield_on_trade_closed(&C, &S, 0, -USD(10), 1, 0, 0, T0);
    nx_shield_on_trade_closed(&C, &S, 0, -USD(10), 1, 0, 0, T0 + 2 * HOUR); /* outside window */
    decide(T0 + 2 * HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    nx_shield_on_trade_closed(&C, &S, 0, -USD(10), 1, 0, 0, T0 + 2 * HOUR + MIN);
    decide(T0 + 2 * HOUR + MIN);
    assert_int_equal(D.reason, NX_REJ_LOCKED);
    const nx_lock_t *l = nx_shield_lock_for(&S, 0, T0 + 3 * HOUR);
    assert_non_null(l);
    assert_int_equal(l->until_ns, T0 + 8 * HOUR + MIN);
    IN.sym = &SYM[1]; /* the lock is per pair */
    decide(T0 + 3 * HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    IN.sym = &SYM[0];
    decide(T0 + 8 * HOUR + MIN); /* expired */
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* a manual unlock */
    nx_shield_on_trade_closed(&C, &S, 0, -USD(10), 1, 0, 0, T0 + 9 * HOUR);
    nx_shield_on_trade_closed(&C, &S, 0, -USD(10), 1, 0, 0, T0 + 9 * HOUR);
    S.sym[0].cooldown_until = 0;
    decide(T0 + 9 * HOUR);
    assert_int_equal(D.reason, NX_REJ_LOCKED);
    assert_int_equal(nx_shield_unlock(&S, 0), 1);
    decide(T0 + 9 * HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);

    /* low-profit pair: the last 3 trades sum below the minimum */
    setup_all(USD(10000));
    C.breaker_losses = 100;
    C.low_profit_trades = 3;
    C.low_profit_min = USD(1);
    C.low_profit_lock_ns = HOUR;
    nx_shield_on_trade_closed(&C, &S, 0, USD(2), 0, 0, 0, T0);
    nx_shield_on_trade_closed(&C, &S, 0, -USD(1), 0, 0, 0, T0);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE); /* only two trades yet */
    nx_shield_on_trade_closed(&C, &S, 0, -USD(0.5), 0, 0, 0, T0);
    S.sym[0].cooldown_until = 0;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_LOCKED);

    /* max drawdown: a global lock for a while */
    setup_all(USD(10000));
    C.max_drawdown_bp = 1000;
    C.max_drawdown_lock_ns = 24 * HOUR;
    nx_shield_on_equity(&C, &S, USD(12000), T0);
    nx_shield_on_equity(&C, &S, USD(10900), T0); /* 9.2% below the peak */
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    nx_shield_on_equity(&C, &S, USD(10800), T0); /* 10% */
    S.sym[0].cooldown_until = 0;
    IN.sym = &SYM[3];
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_DRAWDOWN);
    nx_shield_on_equity(&C, &S, USD(12500), T0); /* recovered, but the lock holds */
    decide(T0 + HOUR);
    assert_int_equal(D.reason, NX_REJ_DRAWDOWN);
    assert_int_equal(nx_shield_unlock(&S, NX_SYMBOL_NONE), 1);
    decide(T0 + HOUR);
    assert_int_equal(D.verdict, NX_V_APPROVE);
}

static void test_kill_switch_lets_only_exits_through(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.cooldown_ns = HOUR;
    S.kill = 1;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_KILL_SWITCH);
    G.side = NX_SIG_SELL;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_KILL_SWITCH);
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    G.side = NX_SIG_EXIT_LONG;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    assert_int_equal(D.side, NX_SIDE_SELL);
    assert_int_equal(D.qty, BTC(0.01));
    assert_int_equal(D.reduce_only, 1);
    G.side = NX_SIG_EXIT_SHORT; /* nothing short to exit */
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_NO_POSITION);
    /* the owner's global switch */
    setup_all(USD(10000));
    IN.global_kill = 1;
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_KILL_SWITCH);
}

/* US stocks: entries only while the market is open and not in the last
 * minutes before the close; exits whenever. */
static void test_market_hours(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.market_hours = 1;
    C.close_buffer_ns = 15 * MIN;
    IN.market_closed = 1;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_REJECT);
    assert_int_equal(D.reason, NX_REJ_MARKET_CLOSED);
    assert_string_equal(nx_reject_name(D.reason), "market_closed");
    IN.market_closed = 0;
    IN.to_close_ns = 15 * MIN; /* 15:45 in New York: inside the window */
    decide(T0);
    assert_int_equal(D.reason, NX_REJ_NEAR_CLOSE);
    IN.to_close_ns = 15 * MIN + 1;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* an exit while closed: allowed (the broker queues it, or it waits) */
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    IN.market_closed = 1;
    G.side = NX_SIG_EXIT_LONG;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* crypto sessions: no market hours, whatever the input says */
    setup_all(USD(10000));
    IN.market_closed = 1;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
}

/* The pattern-day-trader rule: under $25,000, three day trades in the last
 * five business days stop new entries (a fourth could follow); the fourth
 * business day later one of them has left the window; at $25,000 or more
 * the rule does not apply. */
static void test_pattern_day_trader(void **state)
{
    (void)state;
    setup_all(USD(20000));
    C.pdt_min_equity = USD(25000);
    const int32_t mon = 14828; /* trading-day indices, consecutive business days */
    IN.trading_day = mon + 4;  /* Friday */
    nx_shield_on_day_trade(&S, mon);
    nx_shield_on_day_trade(&S, mon + 2);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE); /* two: a third is allowed */
    nx_shield_on_day_trade(&S, mon + 4);
    assert_int_equal(nx_shield_day_trades(&S, mon + 4), 3);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_REJECT);
    assert_int_equal(D.reason, NX_REJ_PDT);
    assert_string_equal(nx_reject_name(D.reason), "pattern_day_trader");
    /* next Monday (mon + 5): Monday's day trade is six business days old */
    IN.trading_day = mon + 5;
    assert_int_equal(nx_shield_day_trades(&S, mon + 5), 2);
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* with $25,000 the rule does not count */
    IN.trading_day = mon + 4;
    nx_shield_on_trade_closed(&C, &S, 0, USD(5000), 0, 0, USD(50000), T0);
    assert_int_equal(S.equity, USD(25000));
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* an unknown trading day refuses nothing; the rule off neither */
    setup_all(USD(20000));
    C.pdt_min_equity = USD(25000);
    for (int i = 0; i < 3; i++)
        nx_shield_on_day_trade(&S, mon + 4);
    IN.trading_day = 0;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    C.pdt_min_equity = 0;
    IN.trading_day = mon + 4;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
    /* exits are never held back by it */
    C.pdt_min_equity = USD(25000);
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    G.side = NX_SIG_EXIT_LONG;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
}

static void test_modes_and_approvals(void **state)
{
    (void)state;
    setup_all(USD(10000));
    C.mode = NX_MODE_WATCHER;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_NOTIFY);
    assert_int_equal(S.trades_today, 0); /* nothing traded */
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    G.side = NX_SIG_EXIT_LONG;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_NOTIFY); /* a watcher never orders, exits included */

    setup_all(USD(10000));
    C.mode = NX_MODE_COPILOT;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_ASK);
    nx_decision_t asked = D;
    nx_decision_t out;
    /* approved in time at the same price: executes */
    nx_shield_approve(&C, &S, &IN, &asked, 4 * MIN, T0 + 4 * MIN, &out);
    assert_int_equal(out.verdict, NX_V_APPROVE);
    assert_int_equal(out.qty, asked.qty);
    /* approved too late */
    nx_shield_approve(&C, &S, &IN, &asked, 5 * MIN + 1, T0 + 5 * MIN + 1, &out);
    assert_int_equal(out.verdict, NX_V_REJECT);
    assert_int_equal(out.reason, NX_REJ_EXPIRED);
    /* the price moved more than 0.5% */
    IN.price = USD(50300);
    nx_shield_approve(&C, &S, &IN, &asked, 4 * MIN, T0 + 4 * MIN, &out);
    assert_int_equal(out.reason, NX_REJ_DRIFT);
    IN.price = USD(50200); /* 0.4%: within the drift */
    nx_shield_approve(&C, &S, &IN, &asked, 4 * MIN, T0 + 4 * MIN, &out);
    assert_int_equal(out.verdict, NX_V_APPROVE);
    /* the limits still apply at approval time */
    S.kill = 1;
    nx_shield_approve(&C, &S, &IN, &asked, 4 * MIN, T0 + 4 * MIN, &out);
    assert_int_equal(out.reason, NX_REJ_KILL_SWITCH);
    S.kill = 0;
    /* Sentinel's Black Swan exit does not wait for a person */
    IN.price = USD(50000);
    nx_shield_on_position(&S, 0, BTC(0.01), USD(500));
    G.side = NX_SIG_EXIT_LONG;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_ASK);
    IN.sentinel = 1;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);

    setup_all(USD(10000));
    C.mode = NX_MODE_PILOT;
    decide(T0);
    assert_int_equal(D.verdict, NX_V_APPROVE);
}

static void test_conf_check(void **state)
{
    (void)state;
    nx_risk_conf_default(&C);
    assert_int_equal(nx_risk_conf_check(&C), 0);
    assert_int_equal(C.size_pct_bp, 500);
    assert_int_equal(C.breaker_losses, 3);
    assert_int_equal(C.approval_ttl_ns, 5 * MIN);
    C.leverage = 21;
    assert_int_not_equal(nx_risk_conf_check(&C), 0);
    C.leverage = 0;
    assert_int_not_equal(nx_risk_conf_check(&C), 0);
    C.leverage = 20;
    assert_int_equal(nx_risk_conf_check(&C), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizing_and_levels),
        cmocka_unit_test(test_exposure_resizes),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_breaker),
        cmocka_unit_test(test_cooldown_scales_with_atr),
        cmocka_unit_test(test_protections_lock_and_unlock),
        cmocka_unit_test(test_kill_switch_lets_only_exits_through),
        cmocka_unit_test(test_market_hours),
        cmocka_unit_test(test_pattern_day_trader),
        cmocka_unit_test(test_modes_and_approvals),
        cmocka_unit_test(test_conf_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
