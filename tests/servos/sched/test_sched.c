/*
 * test_sched.c — cron parsing; next-run times in America/New_York across
 * both 2026 DST changes (the gap runs once after it, the repeated hour
 * runs once); the NYSE calendar (holidays, early closes, regular hours);
 * "trading days only"; and the runner over the scheduled_tasks table:
 * a due task runs and is rescheduled, a task missed while down runs once
 * (or is skipped, as configured), an unknown zone is refused; zone
 * offsets against published figures (New York's 2026 DST changes, London,
 * Kolkata's +5:30, a southern zone, years past the files' tables) and the
 * process's TZ never touched: setenv/unsetenv/tzset are wrapped at link
 * time and counted (issue 16).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "nx/error.h"
#include "nx/sched.h"
#include "nx/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The environment calls the scheduler must never make on a running
 * process (test_sched links with --wrap for each). */
static int env_calls;
int __real_setenv(const char *name, const char *value, int overwrite);
int __wrap_setenv(const char *name, const char *value, int overwrite);
int __wrap_setenv(const char *name, const char *value, int overwrite)
{
    env_calls++;
    return __real_setenv(name, value, overwrite);
}
int __real_unsetenv(const char *name);
int __wrap_unsetenv(const char *name);
int __wrap_unsetenv(const char *name)
{
    env_calls++;
    return __real_unsetenv(name);
}
void __real_tzset(void);
void __wrap_tzset(void);
void __wrap_tzset(void)
{
    env_calls++;
    __real_tzset();
}

/* UTC wall time → ms. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return (int64_t)timegm(&tm) * 1000;
}

static int64_t next(const char *expr, const char *tz, int64_t after, int trading)
{
    nx_cron_t c;
    char err[128];
    if (nx_cron_parse(expr, &c, err, sizeof err))
        fail_msg("%s: %s", expr, err);
    int64_t t = 0;
    assert_int_equal(nx_cron_next(&c, tz, after, trading, &t), 0);
    return t;
}

static void test_parse(void **state)
{
    (void)state;
    nx_cron_t c;
    char err[128];
    assert_int_equal(nx_cron_parse("*/15 9-16 * jan-mar mon-fri", &c, err, sizeof err), 0);
    assert_true(c.minutes == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30) | (1ULL << 45)));
    assert_int_equal(c.hours, 0x1fe00);
    assert_int_equal(c.months, 0xe);
    assert_int_equal(c.wdays, 0x3e);
    assert_int_equal(nx_cron_parse("0 0 * * 7", &c, err, sizeof err), 0);
    assert_int_equal(c.wdays, 1); /* 7 is Sunday */
    assert_int_equal(nx_cron_parse("@daily", &c, err, sizeof err), 0);
    assert_int_equal(nx_cron_parse("5,10-12/2 * * * *", &c, err, sizeof err), 0);
    assert_true(c.minutes == ((1ULL << 5) | (1ULL << 10) | (1ULL << 12)));
    static const char *const bad[] = {"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *",
                                      "* * * 13 *", "* * * * 8", "*/0 * * * *", "a * * * *",
                                      "5-1 * * * *", "* * * * * *"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(nx_cron_parse(bad[i], &c, err, sizeof err), NX_EINVAL);
    assert_int_equal(nx_cron_parse("61 * * * *", &c, err, sizeof err), NX_EINVAL);
    assert_non_null(strstr(err, "minute"));
}

static void test_new_york_across_dst(void **state)
{
    (void)state;
    const char *NY = "America/New_York";
    /* 16:15 every day: 21:15 UTC in winter, 20:15 UTC in summer */
    assert_int_equal(next("15 16 * * *", NY, utc(2026, 3, 7, 21, 16), 0), utc(2026, 3, 8, 20, 15));
    assert_int_equal(next("15 16 * * *", NY, utc(2026, 3, 6, 12, 0), 0), utc(2026, 3, 6, 21, 15));
    assert_int_equal(next("15 16 * * *", NY, utc(2026, 10, 31, 21, 0), 0),
                     utc(2026, 11, 1, 21, 15)); /* Nov 1: EST again */
    assert_int_equal(next("15 16 * * *", NY, utc(2026, 10, 31, 12, 0), 0),
                     utc(2026, 10, 31, 20, 15));
    /* spring forward, 2026-03-08: 02:30 does not happen; it runs once, at 03:00 EDT */
    assert_int_equal(next("30 2 * * *", NY, utc(2026, 3, 8, 0, 0), 0), utc(2026, 3, 8, 7, 0));
    assert_int_equal(next("30 2 * * *", NY, utc(2026, 3, 8, 7, 0), 0), utc(2026, 3, 9, 6, 30));
    assert_int_equal(next("30 2 * * *", NY, utc(2026, 3, 7, 0, 0), 0), utc(2026, 3, 7, 7, 30));
    /* fall back, 2026-11-01: 01:30 happens twice; it runs once, the first time (EDT) */
    assert_int_equal(next("30 1 * * *", NY, utc(2026, 11, 1, 4, 0), 0), utc(2026, 11, 1, 5, 30));
    assert_int_equal(next("30 1 * * *", NY, utc(2026, 11, 1, 5, 30), 0), utc(2026, 11, 2, 6, 30));
    /* every half hour through the repeated hour: 01:00 and 01:30 once each, then 02:00 EST */
    assert_int_equal(next("*/30 * * * *", NY, utc(2026, 11, 1, 5, 0), 0), utc(2026, 11, 1, 5, 30));
    assert_int_equal(next("*/30 * * * *", NY, utc(2026, 11, 1, 5, 30), 0), utc(2026, 11, 1, 7, 0));
    /* a zone far from New York, and UTC itself */
    assert_int_equal(next("0 9 * * *", "Asia/Tokyo", utc(2026, 7, 1, 0, 0), 0),
                     utc(2026, 7, 2, 0, 0));
    assert_int_equal(next("0 9 * * *", "UTC", utc(2026, 7, 1, 0, 0), 0), utc(2026, 7, 1, 9, 0));
    /* the 31st skips short months; Feb 30 never comes */
    assert_int_equal(next("0 0 31 * *", "UTC", utc(2026, 4, 1, 0, 0), 0), utc(2026, 5, 31, 0, 0));
    nx_cron_t c;
    char err[64];
    int64_t t;
    nx_cron_parse("0 0 30 2 *", &c, err, sizeof err);
    assert_int_equal(nx_cron_next(&c, "UTC", utc(2026, 1, 1, 0, 0), 0, &t), NX_ENOENT);
    assert_int_equal(nx_cron_next(&c, "Mars/Olympus_Mons", 0, 0, &t), NX_EINVAL);
    assert_int_equal(nx_cron_next(&c, "../../etc/passwd", 0, 0, &t), NX_EINVAL);
    /* the process's own zone is left as it was */
    assert_null(getenv("TZ"));
}

static int32_t offset(const char *zone, int64_t utc_ms)
{
    int32_t off = 1;
    assert_int_equal(nx_tz_utc_offset(zone, utc_ms / 1000, &off), 0);
    return off;
}

/* Offsets as published (timeanddate.com, the zones' legal time):
 * New York EST -5:00, EDT -4:00 from 2026-03-08 02:00 EST (07:00 UTC) to
 * 2026-11-01 02:00 EDT (06:00 UTC); London GMT, BST +1:00 from 2026-03-29
 * 01:00 UTC to 2026-10-25 01:00 UTC; India +5:30 all year, no DST;
 * Sydney AEST +10:00, AEDT +11:00 from the first Sunday of October to the
 * first Sunday of April. Years after 2037 are past Debian's transition
 * tables and come from the files' POSIX rule. */
static void test_zone_offsets(void **state)
{
    (void)state;
    const char *NY = "America/New_York";
    const int64_t s = 1000;
    assert_int_equal(offset(NY, utc(2026, 3, 8, 7, 0) - s), -5 * 3600);
    assert_int_equal(offset(NY, utc(2026, 3, 8, 7, 0)), -4 * 3600);
    assert_int_equal(offset(NY, utc(2026, 11, 1, 6, 0) - s), -4 * 3600);
    assert_int_equal(offset(NY, utc(2026, 11, 1, 6, 0)), -5 * 3600);
    assert_int_equal(offset(NY, utc(2026, 1, 15, 12, 0)), -5 * 3600);
    assert_int_equal(offset(NY, utc(2026, 7, 15, 12, 0)), -4 * 3600);
    const char *LON = "Europe/London";
    assert_int_equal(offset(LON, utc(2026, 3, 29, 1, 0) - s), 0);
    assert_int_equal(offset(LON, utc(2026, 3, 29, 1, 0)), 3600);
    assert_int_equal(offset(LON, utc(2026, 10, 25, 1, 0) - s), 3600);
    assert_int_equal(offset(LON, utc(2026, 10, 25, 1, 0)), 0);
    assert_int_equal(offset("Asia/Kolkata", utc(2026, 1, 1, 0, 0)), 5 * 3600 + 1800);
    assert_int_equal(offset("Asia/Kolkata", utc(2026, 7, 1, 0, 0)), 5 * 3600 + 1800);
    assert_int_equal(offset("UTC", utc(2026, 7, 1, 0, 0)), 0);
    /* past the tables: 2040's second Sunday of March is the 11th, first of November the 4th */
    assert_int_equal(offset(NY, utc(2040, 3, 11, 7, 0) - s), -5 * 3600);
    assert_int_equal(offset(NY, utc(2040, 3, 11, 7, 0)), -4 * 3600);
    assert_int_equal(offset(NY, utc(2040, 11, 4, 6, 0) - s), -4 * 3600);
    assert_int_equal(offset(NY, utc(2040, 11, 4, 6, 0)), -5 * 3600);
    /* southern summer spans the new year */
    assert_int_equal(offset("Australia/Sydney", utc(2040, 1, 1, 0, 0)), 11 * 3600);
    assert_int_equal(offset("Australia/Sydney", utc(2040, 7, 1, 0, 0)), 10 * 3600);
    assert_int_equal(offset("Australia/Sydney", utc(2026, 1, 1, 0, 0)), 11 * 3600);
    int32_t off;
    assert_int_equal(nx_tz_utc_offset("Mars/Olympus_Mons", 0, &off), NX_EINVAL);
    assert_int_equal(nx_tz_utc_offset("../../etc/passwd", 0, &off), NX_EINVAL);
    assert_int_equal(nx_tz_utc_offset("/etc/localtime", 0, &off), NX_EINVAL);
    /* 09:00 in Kolkata is 03:30 UTC; in London on the day BST starts, 08:00 is 07:00 UTC */
    assert_int_equal(next("0 9 * * *", "Asia/Kolkata", utc(2026, 7, 1, 0, 0), 0),
                     utc(2026, 7, 1, 3, 30));
    assert_int_equal(next("0 8 * * *", LON, utc(2026, 3, 29, 0, 0), 0), utc(2026, 3, 29, 7, 0));
}

/* The process's TZ is never changed: not its value, not by any call. */
static void test_tz_untouched(void **state)
{
    (void)state;
    assert_int_equal(__real_setenv("TZ", "Europe/Paris", 1), 0);
    const char *before = getenv("TZ");
    env_calls = 0;
    assert_int_equal(next("15 16 * * *", "America/New_York", utc(2026, 3, 7, 21, 16), 0),
                     utc(2026, 3, 8, 20, 15));
    assert_true(nx_nyse_open(utc(2026, 11, 24, 14, 30)));
    assert_int_equal(offset("Asia/Kolkata", 0), 5 * 3600 + 1800);
    assert_int_equal(env_calls, 0);
    assert_ptr_equal(getenv("TZ"), before);
    assert_string_equal(getenv("TZ"), "Europe/Paris");
    assert_int_equal(__real_unsetenv("TZ"), 0);
}

static void test_nyse_calendar(void **state)
{
    (void)state;
    /* holidays 2025-2027 as NYSE published them, observed days included */
    assert_true(nx_nyse_holiday(2025, 1, 9));   /* National Day of Mourning */
    assert_true(nx_nyse_holiday(2026, 4, 3));   /* Good Friday */
    assert_true(nx_nyse_holiday(2026, 7, 3));   /* Independence Day observed */
    assert_true(nx_nyse_holiday(2027, 6, 18));  /* Juneteenth observed */
    assert_true(nx_nyse_holiday(2027, 12, 24)); /* Christmas observed */
    assert_false(nx_nyse_holiday(2026, 7, 4));  /* a Saturday: observed the day before */
    assert_true(nx_nyse_early_close(2026, 11, 27));
    assert_true(nx_nyse_early_close(2026, 12, 24));
    assert_false(nx_nyse_trading_day(2026, 11, 26)); /* Thanksgiving */
    assert_false(nx_nyse_trading_day(2026, 11, 28)); /* Saturday */
    assert_true(nx_nyse_trading_day(2026, 11, 27));
    assert_true(nx_nyse_known(2026) && !nx_nyse_known(2028));
    int days = 0;
    for (int m = 1; m <= 12; m++)
        for (int d = 1; d <= 31; d++) {
            struct tm tm = {0};
            tm.tm_year = 2026 - 1900;
            tm.tm_mon = m - 1;
            tm.tm_mday = d;
            time_t t = timegm(&tm);
            struct tm back;
            gmtime_r(&t, &back);
            if (back.tm_mon == m - 1)
                days += nx_nyse_trading_day(2026, m, d);
        }
    assert_int_equal(days, 251); /* the exchange's 2026 trading days */
    /* regular hours, in New York time */
    assert_false(nx_nyse_open(utc(2026, 11, 24, 14, 29))); /* 09:29 EST */
    assert_true(nx_nyse_open(utc(2026, 11, 24, 14, 30)));
    assert_true(nx_nyse_open(utc(2026, 11, 24, 20, 59)));
    assert_false(nx_nyse_open(utc(2026, 11, 24, 21, 0))); /* 16:00 */
    assert_true(nx_nyse_open(utc(2026, 11, 27, 17, 59)));  /* 12:59, early close day */
    assert_false(nx_nyse_open(utc(2026, 11, 27, 18, 0)));  /* 13:00 */
    assert_true(nx_nyse_open(utc(2026, 7, 2, 13, 30)));    /* 09:30 EDT */
    assert_false(nx_nyse_open(utc(2026, 7, 3, 15, 0)));    /* holiday */
    /* a daily report at 16:15 New York time on trading days only */
    assert_int_equal(next("15 16 * * *", "America/New_York", utc(2026, 11, 25, 22, 0), 1),
                     utc(2026, 11, 27, 21, 15)); /* past Thanksgiving */
    assert_int_equal(next("15 16 * * *", "America/New_York", utc(2026, 11, 27, 22, 0), 1),
                     utc(2026, 11, 30, 21, 15)); /* past the weekend */
}

/* The New York day: session times in UTC across DST and an early close,
 * trading-day indices (the expected ones counted independently: Python's
 * datetime over every day from 1970-01-01, weekdays less the same holiday
 * list), and the day's bounds. */
static void test_nyse_day(void **state)
{
    (void)state;
    nx_nyse_day_t d;
    assert_int_equal(nx_nyse_day(utc(2026, 11, 27, 15, 0), &d), 0); /* the day after Thanksgiving */
    assert_true(d.trading);
    assert_int_equal(d.open_ms, utc(2026, 11, 27, 14, 30)); /* 09:30 EST */
    assert_int_equal(d.close_ms, utc(2026, 11, 27, 18, 0)); /* 13:00: early close */
    assert_int_equal(d.index, 14827);
    assert_int_equal(d.start_ms, utc(2026, 11, 27, 5, 0)); /* New York midnight */
    assert_int_equal(d.end_ms, utc(2026, 11, 28, 5, 0));
    assert_int_equal(nx_nyse_day(utc(2026, 11, 26, 16, 0), &d), 0); /* Thanksgiving */
    assert_false(d.trading);
    assert_int_equal(d.open_ms, 0);
    assert_int_equal(d.index, 14826); /* the Wednesday's */
    assert_int_equal(nx_nyse_day(utc(2026, 11, 30, 15, 0), &d), 0);
    assert_int_equal(d.index, 14828);
    assert_int_equal(nx_nyse_day(utc(2026, 12, 7, 23, 0), &d), 0); /* 18:00 New York */
    assert_int_equal(d.index, 14833);
    assert_int_equal(d.close_ms, utc(2026, 12, 7, 21, 0));
    assert_int_equal(nx_nyse_day(utc(2026, 12, 8, 4, 59), &d), 0); /* still the 7th there */
    assert_int_equal(d.index, 14833);
    assert_int_equal(nx_nyse_day(utc(2026, 12, 5, 15, 0), &d), 0); /* a Saturday */
    assert_false(d.trading);
    assert_int_equal(d.index, 14832);
    /* summer time, and the Friday holiday before a Monday */
    assert_int_equal(nx_nyse_day(utc(2026, 7, 6, 12, 0), &d), 0);
    assert_int_equal(d.open_ms, utc(2026, 7, 6, 13, 30)); /* 09:30 EDT */
    assert_int_equal(d.close_ms, utc(2026, 7, 6, 20, 0));
    assert_int_equal(d.index, 14725);
    assert_int_equal(nx_nyse_day(utc(2026, 7, 2, 15, 0), &d), 0);
    assert_int_equal(d.index, 14724);
    /* the spring-forward day is 23 hours long */
    assert_int_equal(nx_nyse_day(utc(2026, 3, 8, 15, 0), &d), 0);
    assert_int_equal(d.end_ms - d.start_ms, 23 * 3600 * 1000LL);
    assert_int_equal(nx_nyse_day(utc(2024, 12, 31, 15, 0), &d), 0);
    assert_int_equal(d.index, 14349);
    /* the table: the same days, one after another, across the DST change */
    static nx_nyse_day_t t[400];
    assert_int_equal(nx_nyse_days(utc(2026, 1, 1, 12, 0), 400, t), 0);
    for (int i = 1; i < 400; i++)
        assert_int_equal(t[i].start_ms, t[i - 1].end_ms);
    nx_nyse_day_t one;
    for (int i = 0; i < 400; i += 37) {
        assert_int_equal(nx_nyse_day(t[i].start_ms + 3600000, &one), 0);
        assert_memory_equal(&one, &t[i], sizeof one);
    }
    assert_int_equal(t[0].index, 14599); /* 2026-01-01, a holiday: the 2025-12-31 index */
    assert_false(t[0].trading);
}

static int runs;
static int64_t last_task;

static int action(void *ctx, int64_t id, int64_t user, const char *what, char *result, size_t cap)
{
    (void)ctx, (void)user;
    runs++;
    last_task = id;
    snprintf(result, cap, "%s sent", what);
    return 0;
}

static int keep(void *ctx, const nx_store_task_t *t)
{
    *(nx_store_task_t *)ctx = *t;
    return 1;
}

static void test_runner(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-sched-XXXXXX", err[256];
    assert_non_null(mkdtemp(dir));
    nx_store_t *st;
    assert_int_equal(nx_store_open(&st, NULL, dir, err, sizeof err), 0);
    int applied;
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
    int64_t uid, id, other;
    assert_int_equal(nx_store_user_add(st, 5, "tess", NX_ROLE_SUBSCRIBER, "America/New_York", &uid),
                     0);
    int64_t now = utc(2026, 11, 24, 12, 0); /* a Tuesday */
    assert_int_equal(nx_sched_add(st, uid, "15 16 * * *", "America/New_York", "daily_report", 1,
                                  now, &id, err, sizeof err),
                     0);
    assert_int_equal(nx_sched_add(st, uid, "0 8 * * *", "Nowhere/Land", "x", 0, now, &other, err,
                                  sizeof err),
                     NX_EINVAL);
    assert_non_null(strstr(err, "unknown time zone"));
    assert_int_equal(nx_sched_add(st, uid, "0 8 * *", "UTC", "x", 0, now, &other, err, sizeof err),
                     NX_EINVAL);
    nx_store_task_t t;
    assert_int_equal(nx_store_tasks_due(st, INT64_MAX, keep, &t), 0);
    assert_int_equal(t.next_run_ms, utc(2026, 11, 24, 21, 15));
    /* not due yet */
    assert_int_equal(nx_sched_run_due(st, utc(2026, 11, 24, 21, 14), 1, action, NULL), 0);
    /* due: runs, result stored, next is Wednesday (Thursday is Thanksgiving) */
    assert_int_equal(nx_sched_run_due(st, utc(2026, 11, 24, 21, 15), 1, action, NULL), 1);
    assert_int_equal(runs, 1);
    assert_int_equal(last_task, id);
    assert_int_equal(nx_store_tasks_due(st, INT64_MAX, keep, &t), 0);
    assert_string_equal(t.last_result, "daily_report sent");
    assert_int_equal(t.last_run_ms, utc(2026, 11, 24, 21, 15));
    assert_int_equal(t.next_run_ms, utc(2026, 11, 25, 21, 15));
    /* down from Wednesday to the next Tuesday: one catch-up run, not four */
    assert_int_equal(nx_sched_run_due(st, utc(2026, 12, 1, 12, 0), 1, action, NULL), 1);
    assert_int_equal(runs, 2);
    assert_int_equal(nx_store_tasks_due(st, INT64_MAX, keep, &t), 0);
    assert_int_equal(t.next_run_ms, utc(2026, 12, 1, 21, 15));
    assert_int_equal(nx_sched_run_due(st, utc(2026, 12, 1, 12, 0), 1, action, NULL), 0);
    /* without catch-up a missed run is skipped and says so */
    assert_int_equal(nx_sched_run_due(st, utc(2026, 12, 9, 12, 0), 0, action, NULL), 0);
    assert_int_equal(runs, 2);
    assert_int_equal(nx_store_tasks_due(st, INT64_MAX, keep, &t), 0);
    assert_string_equal(t.last_result, "skipped: missed while down");
    assert_int_equal(t.next_run_ms, utc(2026, 12, 9, 21, 15));
    nx_store_close(st);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),         cmocka_unit_test(test_new_york_across_dst),
        cmocka_unit_test(test_zone_offsets),  cmocka_unit_test(test_tz_untouched),
        cmocka_unit_test(test_nyse_calendar), cmocka_unit_test(test_nyse_day),
        cmocka_unit_test(test_runner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
