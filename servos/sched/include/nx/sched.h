/*
 * sched.h — the scheduler: cron expressions evaluated in a user's time
 * zone, DST-correct, the NYSE calendar, and the runner over the
 * scheduled_tasks table.
 *
 * Cron: five fields, minute hour day-of-month month day-of-week, each "*",
 * a number, a range "a-b", a list "a,b", a step "*\/n" or "a-b/n"; month
 * and weekday names (jan..dec, sun..sat); 0 or 7 is Sunday; @hourly,
 * @daily, @weekly, @monthly, @yearly. When both day fields are restricted
 * a day matches either (classic cron).
 *
 * Time zones are IANA names resolved by the C library from the system's
 * tz database (Debian's tzdata): wall-clock times, so "15 16 * * 1-5" in
 * America/New_York is 16:15 in New York summer and winter alike. Across
 * DST changes: a wall time that does not exist that day (the spring-
 * forward gap) runs at the first instant after the gap; a wall time that
 * happens twice (fall back) runs once, at its first occurrence.
 *
 * NYSE: regular session 09:30–16:00 America/New_York on trading days,
 * 13:00 on early-close days; the exchange's published holidays and early
 * closes for 2025–2027. Outside those years nx_nyse_known() is 0 and only
 * weekends count as closed.
 *
 * Threads: any thread may call these; they share nothing. A zone's
 * offsets are read from its TZif file (/usr/share/zoneinfo, from Debian's
 * required tzdata package) on each call, so they block on a small file
 * read and allocate a few KB; the process's TZ is never changed (setenv
 * and tzset in a running multi-threaded process race with every thread
 * that reads the environment or local time).
 */
#ifndef NX_SCHED_H
#define NX_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "nx/store.h"

typedef struct nx_cron {
    uint64_t minutes; /* bit m: minute m */
    uint32_t hours;   /* bit h */
    uint32_t mdays;   /* bit d, 1..31 */
    uint16_t months;  /* bit m, 1..12 */
    uint8_t wdays;    /* bit d, 0 = Sunday */
    uint8_t mday_star, wday_star;
} nx_cron_t;

/* 0, or NX_EINVAL with the reason in err. */
int nx_cron_parse(const char *expr, nx_cron_t *out, char *err, size_t cap);

/* The first run strictly after after_ms (UTC ms) in time zone tz; with
 * trading_days_only, only on NYSE trading days (their date in tz). 0 and
 * *next_ms, NX_EINVAL for an unknown zone, NX_ENOENT if none within five
 * years (e.g. "0 0 30 2 *"). */
int nx_cron_next(const nx_cron_t *c, const char *tz, int64_t after_ms, int trading_days_only,
                 int64_t *next_ms);

/* The UTC offset of zone at utc_sec (s since the epoch), in seconds east
 * of UTC (New York in winter: -18000). 0, or NX_EINVAL for an unknown
 * zone, NX_ENOMEM. */
int nx_tz_utc_offset(const char *zone, int64_t utc_sec, int32_t *offset_sec);

/* NYSE calendar (dates in New York). */
int nx_nyse_known(int year);
int nx_nyse_holiday(int year, int month, int day);
int nx_nyse_early_close(int year, int month, int day);
int nx_nyse_trading_day(int year, int month, int day);
/* Is the regular session open at utc_ms? */
int nx_nyse_open(int64_t utc_ms);

/* The New York day of an instant, as the US-stock rules need it: whether
 * it is a trading day, its regular session in UTC ms (09:30 to 16:00, or
 * 13:00 on an early close; 0 and 0 on a closed day), its trading-day index
 * (trading days from 1970-01-01 to that day, itself included: on a closed
 * day, the last trading day's index), so that two trading days are n
 * business days apart when their indices are, holidays skipped; and the
 * day's bounds in UTC ms (New York midnight to midnight), for the caller
 * to reuse the answer until the day is over. */
typedef struct nx_nyse_day {
    int trading;
    int64_t open_ms, close_ms;
    int32_t index;
    int64_t start_ms, end_ms;
} nx_nyse_day_t;
/* 0, or NX_EINVAL when the zone database lacks America/New_York. */
int nx_nyse_day(int64_t utc_ms, nx_nyse_day_t *out);
/* n consecutive New York days from the day of from_ms, into out[n] (the
 * zone read once): a table to look days up in where reading files is not
 * allowed (the engine thread). 0 or NX_EINVAL. */
int nx_nyse_days(int64_t from_ms, uint32_t n, nx_nyse_day_t *out);

/* The runner. An action is a name the caller knows ("daily_report",
 * ...); it returns 0 and a one-line result, or an error code. */
typedef int (*nx_task_fn)(void *ctx, int64_t task_id, int64_t user_id, const char *action,
                          char *result, size_t cap);

/* A new task; its first run is computed from now_ms. */
int nx_sched_add(nx_store_t *st, int64_t user_id, const char *cron, const char *tz,
                 const char *action, int trading_days_only, int64_t now_ms, int64_t *id,
                 char *err, size_t cap);
/* Run every task due at now_ms (next_run_ms <= now), then store its last
 * run, result and next run. A task whose time passed while Nexus was down
 * runs once (not once per missed time) when catch_up is 1; with 0 it is
 * moved to its next time without running. Returns how many ran, or < 0. */
int nx_sched_run_due(nx_store_t *st, int64_t now_ms, int catch_up, nx_task_fn fn, void *ctx);

#endif /* NX_SCHED_H */
