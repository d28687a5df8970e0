/*
 * test_desk_market.c — US stocks on the desk (issue 21): a PILOT session
 * on an alpaca symbol, with the NYSE calendar from the scheduler as the
 * engine gives it (nx_nyse_days), driven through late November 2026:
 *
 *  - no entry on a Saturday, on Thanksgiving, before the open, nor in the
 *    last 15 minutes before the close (16:00, and 13:00 on the early
 *    close the day after Thanksgiving); one 20 minutes before that early
 *    close is taken;
 *  - the pattern-day-trader rule with $20,000: three day trades (Monday,
 *    Tuesday, Wednesday) and the Friday's entry is refused (the person is
 *    told, once that day however many signals come), and the next
 *    Monday's too (Thursday was a holiday: still within five business
 *    days); on Tuesday Monday's has left the window and an entry is taken;
 *    a position held overnight is not a day trade;
 *  - a crypto session of the same desk is not held to any of it.
 * The expected refusals are read off the exchange's calendar by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "desk_fixture.h"
#include "nx/config.h"
#include "nx/desk.h"
#include "nx/sched.h"
#include "nx/shield.h"

#define P(x) ((int64_t)((x)*100)) /* price units, scale 2 */

static const char CONFIG[] =
    "{\"symbols\":[{\"venue\":\"alpaca\",\"symbol\":\"AAPL\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"1\",\"min_notional\":\"1\",\"price_scale\":2,\"qty_scale\":0}],"
    "\"users\":[{\"id\":1,\"chat_id\":1}],"
    "\"trading\":{\"slippage_bp\":0,\"sessions\":[{\"name\":\"stocks\",\"user\":1,"
    "\"venue\":\"alpaca\",\"mode\":\"pilot\",\"equity\":\"20000\",\"cooldown_s\":0,"
    "\"stale_s\":0,\"close_buffer_s\":900,\"breaker_losses\":100}]}}";

static struct {
    int closed, near, pdt, other, told;
} J;

static void on_journal(void *ctx, const nx_event_t *ev)
{
    (void)ctx;
    if (ev->hdr.type == NX_EV_NOTICE && ev->u.notice.kind == NX_NOTE_REFUSED &&
        ev->u.notice.reason == NX_REJ_PDT)
        J.told++;
    if (ev->hdr.type != NX_EV_DECISION || ev->u.decision.verdict != NX_V_REJECT)
        return;
    switch (ev->u.decision.reason) {
    case NX_REJ_MARKET_CLOSED:
        J.closed++;
        break;
    case NX_REJ_NEAR_CLOSE:
        J.near++;
        break;
    case NX_REJ_PDT:
        J.pdt++;
        break;
    default:
        J.other++;
    }
}

static int64_t utc_ms(int y, int mo, int d, int h, int mi)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

/* A print at $200 and a signal at the same moment. */
static void at(nx_desk_t *d, int64_t ms, uint8_t side)
{
    fx_desk_trade(d, ms * 1000000, 0, P(200));
    fx_desk_signal(d, (fx_desk_signal_t){.exch_ns = ms * 1000000,
                                         .side = side,
                                         .ref_price = P(200),
                                         .sl_price = P(190),
                                         .atr = P(2)});
}

static nx_desk_market_day_t days[60];

static nx_desk_t *desk(void)
{
    static nx_nyse_day_t ny[60];
    assert_int_equal(nx_nyse_days(utc_ms(2026, 11, 1, 12, 0), 60, ny), 0);
    for (int i = 0; i < 60; i++)
        days[i] = (nx_desk_market_day_t){ny[i].start_ms, ny[i].end_ms, ny[i].open_ms,
                                         ny[i].close_ms, ny[i].index,  (uint8_t)ny[i].trading};
    memset(&J, 0, sizeof J);
    nx_desk_t *d = fx_desk_load(CONFIG, "market", on_journal);
    nx_desk_set_market_days(d, days, 60);
    return d;
}

static void test_market_hours(void **state)
{
    (void)state;
    nx_desk_t *d = desk();
    at(d, utc_ms(2026, 11, 21, 15, 0), NX_SIG_BUY);  /* Saturday */
    at(d, utc_ms(2026, 11, 26, 15, 0), NX_SIG_BUY);  /* Thanksgiving */
    at(d, utc_ms(2026, 11, 23, 14, 29), NX_SIG_BUY); /* Monday 09:29 EST */
    assert_int_equal(J.closed, 3);
    at(d, utc_ms(2026, 11, 23, 20, 50), NX_SIG_BUY); /* 15:50: ten minutes left */
    at(d, utc_ms(2026, 11, 27, 17, 50), NX_SIG_BUY); /* 12:50, early close at 13:00 */
    assert_int_equal(J.near, 2);
    assert_int_equal(fx_desk_position(d), 0);
    at(d, utc_ms(2026, 11, 27, 17, 40), NX_SIG_BUY); /* 12:40: twenty minutes left */
    assert_true(fx_desk_position(d) > 0);
    /* exits run whatever the hour: Saturday */
    at(d, utc_ms(2026, 11, 28, 15, 0), NX_SIG_EXIT_LONG);
    assert_int_equal(fx_desk_position(d), 0);
    assert_int_equal(J.other, 0);
    nx_desk_destroy(d);
}

static void test_pattern_day_trader(void **state)
{
    (void)state;
    nx_desk_t *d = desk();
    for (int day = 23; day <= 25; day++) { /* Monday to Wednesday: a day trade each */
        at(d, utc_ms(2026, 11, day, 15, 0), NX_SIG_BUY);
        assert_true(fx_desk_position(d) > 0);
        at(d, utc_ms(2026, 11, day, 18, 0), NX_SIG_EXIT_LONG);
        assert_int_equal(fx_desk_position(d), 0);
    }
    assert_int_equal(J.pdt, 0);
    at(d, utc_ms(2026, 11, 27, 15, 0), NX_SIG_BUY); /* Friday: a fourth could follow */
    assert_int_equal(J.pdt, 1);
    assert_int_equal(J.told, 1); /* and the person is told */
    assert_int_equal(fx_desk_position(d), 0);
    at(d, utc_ms(2026, 11, 27, 16, 0), NX_SIG_BUY); /* again that day: told once a day */
    assert_int_equal(J.pdt, 2);
    assert_int_equal(J.told, 1);
    at(d, utc_ms(2026, 11, 30, 15, 0), NX_SIG_BUY); /* Monday: Mon-Wed still in five days */
    assert_int_equal(J.pdt, 3);
    assert_int_equal(J.told, 2);
    at(d, utc_ms(2026, 12, 1, 15, 0), NX_SIG_BUY); /* Tuesday: the first has left */
    assert_int_equal(J.pdt, 3);
    assert_true(fx_desk_position(d) > 0);
    /* held overnight, closed Wednesday: not a day trade, so on Thursday
     * (Tue and Wed's trades in the window) an entry is taken */
    at(d, utc_ms(2026, 12, 2, 15, 0), NX_SIG_EXIT_LONG);
    assert_int_equal(fx_desk_position(d), 0);
    at(d, utc_ms(2026, 12, 3, 15, 0), NX_SIG_BUY);
    assert_true(fx_desk_position(d) > 0);
    assert_int_equal(J.pdt, 3);
    assert_int_equal(J.closed + J.near + J.other, 0);
    nx_desk_destroy(d);
}

/* Without the calendar (or outside it) a US-stock entry is refused as the
 * market closed: the safe side. */
static void test_no_calendar(void **state)
{
    (void)state;
    memset(&J, 0, sizeof J);
    nx_desk_t *d = fx_desk_load(CONFIG, "market", on_journal);
    at(d, utc_ms(2026, 11, 23, 15, 0), NX_SIG_BUY);
    assert_int_equal(J.closed, 1);
    nx_desk_destroy(d);
    d = desk();
    at(d, utc_ms(2027, 3, 1, 15, 0), NX_SIG_BUY); /* past the 60 days given */
    assert_int_equal(J.closed, 1);
    nx_desk_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_market_hours),
        cmocka_unit_test(test_pattern_day_trader),
        cmocka_unit_test(test_no_calendar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
