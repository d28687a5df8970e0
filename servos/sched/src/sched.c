/*
 * sched.c — cron in a time zone, the NYSE calendar, the task runner (see
 * sched.h).
 *
 * Local time comes from the zone's TZif file in Debian's tz database, read
 * by tzif.c: the zone rules are not written here, and the process's TZ is
 * never touched (changing it races with every other thread).
 */
#include "nx/sched.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "tzif.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- cron ------------------------------------------------------------- */

static const char *const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const WDAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int number(const char **p, const char *const *names, int nnames, int base, int *out)
{
    if (isdigit((unsigned char)**p)) {
        int v = 0;
        while (isdigit((unsigned char)**p) && v < 1000)
            v = v * 10 + (*(*p)++ - '0');
        *out = v;
        return 0;
    }
    for (int i = 0; names && i < nnames; i++)
        if (!strncasecmp(*p, names[i], 3)) {
            *p += 3;
            *out = i + base;
            return 0;
        }
    return -1;
}

/* One field into a bit set over lo..hi. */
static int field(const char *s, int lo, int hi, const char *const *names, int nnames, int base,
                 uint64_t *bits, int *star)
{
    *bits = 0;
    *star = 0;
    const char *p = s;
    for (;;) {
        int a, b, step = 1;
        if (*p == '*') {
            p++;
            a = lo, b = hi;
            *star = 1;
        } else {
            if (number(&p, names, nnames, base, &a))
                return -1;
            b = a;
            if (*p == '-') {
                p++;
                if (number(&p, names, nnames, base, &b))
                    return -1;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p) || number(&p, NULL, 0, 0, &step) || step < 1)
                return -1;
            if (a == b && !*star)
                b = hi; /* "5/15": from 5 on */
            *star = 0;
        }
        if (a < lo || b > hi || a > b)
            return -1;
        for (int v = a; v <= b; v += step)
            *bits |= 1ULL << v;
        if (*p == ',') {
            p++;
            *star = 0;
            continue;
        }
        return *p ? -1 : 0;
    }
}

int nx_cron_parse(const char *expr, nx_cron_t *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    static const struct {
        const char *at, *is;
    } macros[] = {{"@hourly", "0 * * * *"},
                  {"@daily", "0 0 * * *"},
                  {"@midnight", "0 0 * * *"},
                  {"@weekly", "0 0 * * 0"},
                  {"@monthly", "0 0 1 * *"},
                  {"@yearly", "0 0 1 1 *"},
                  {"@annually", "0 0 1 1 *"}};
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (!strcmp(expr, macros[i].at))
            expr = macros[i].is;
    char buf[256], *f[6];
    snprintf(buf, sizeof buf, "%s", expr);
    int n = 0;
    for (char *tok = strtok(buf, " \t"); tok && n < 6; tok = strtok(NULL, " \t"))
        f[n++] = tok;
    if (n != 5) {
        snprintf(err, cap, "a cron expression has 5 fields (minute hour day month weekday), "
                           "not %d",
                 n);
        return NX_EINVAL;
    }
    static const char *const what[] = {"minute (0-59)", "hour (0-23)", "day of month (1-31)",
                                       "month (1-12 or jan-dec)", "weekday (0-7 or sun-sat)"};
    uint64_t bits[5];
    int star[5];
    int bad = field(f[0], 0, 59, NULL, 0, 0, &bits[0], &star[0]);
    bad = bad ? 0 : field(f[1], 0, 23, NULL, 0, 0, &bits[1], &star[1]) ? 1 : -1;
    if (bad == -1)
        bad = field(f[2], 1, 31, NULL, 0, 0, &bits[2], &star[2]) ? 2 : -1;
    if (bad == -1)
        bad = field(f[3], 1, 12, MONTHS, 12, 1, &bits[3], &star[3]) ? 3 : -1;
    if (bad == -1)
        bad = field(f[4], 0, 7, WDAYS, 7, 0, &bits[4], &star[4]) ? 4 : -1;
    if (bad != -1) {
        snprintf(err, cap, "bad %s field \"%s\"", what[bad], f[bad]);
        return NX_EINVAL;
    }
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->mdays = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
    out->mday_star = (uint8_t)star[2];
    out->wday_star = (uint8_t)star[4];
    return 0;
}

static int day_matches(const nx_cron_t *c, const struct tm *tm)
{
    if (!(c->months & (1u << (tm->tm_mon + 1))))
        return 0;
    int md = (c->mdays >> tm->tm_mday) & 1, wd = (c->wdays >> tm->tm_wday) & 1;
    if (c->mday_star || c->wday_star)
        return md && wd;
    return md || wd; /* both restricted: either */
}

/* ---- local time under a zone ----------------------------------------- */

/* Wall time is computed from the zone's own offsets (tzif.c), never by
 * switching TZ: setenv/tzset race with every other thread that reads the
 * environment or local time. A "local second" below is the wall time
 * counted as if it were UTC (timegm of the wall fields). */

/* The wall-clock fields at instant t in zone tz. */
static void local_tm(const nx_tz_t *tz, int64_t t, struct tm *out)
{
    time_t l = (time_t)(t + nx_tz_offset(tz, t));
    gmtime_r(&l, out);
}

/* The instant of wall time L (local seconds) in tz: its first occurrence
 * if it happens twice, the first minute after the gap if it does not
 * happen (spring forward). */
static int64_t wall(const nx_tz_t *tz, int64_t L)
{
    /* the offsets in force within a day either side: one, or two around a change */
    int32_t cand[3] = {nx_tz_offset(tz, L - 86400), nx_tz_offset(tz, L),
                       nx_tz_offset(tz, L + 86400)};
    int64_t best = INT64_MAX, lo = INT64_MAX, hi = INT64_MIN;
    for (int i = 0; i < 3; i++) {
        int64_t t = L - cand[i];
        if (nx_tz_offset(tz, t) == cand[i] && t < best)
            best = t;
        lo = t < lo ? t : lo;
        hi = t > hi ? t : hi;
    }
    if (best != INT64_MAX)
        return best;
    /* not a wall time that day: the first minute after it that is */
    for (int64_t probe = lo - lo % 60; probe <= hi; probe += 60)
        if (probe + nx_tz_offset(tz, probe) >= L)
            return probe;
    return hi;
}

static int64_t local_seconds(int y, int m, int d, int h, int mi)
{
    return nx_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60;
}

int nx_tz_utc_offset(const char *zone, int64_t utc_sec, int32_t *offset_sec)
{
    nx_tz_t tz;
    int rc = nx_tz_load(&tz, zone);
    if (rc)
        return rc;
    *offset_sec = nx_tz_offset(&tz, utc_sec);
    nx_tz_free(&tz);
    return 0;
}

int nx_cron_next(const nx_cron_t *c, const char *tz, int64_t after_ms, int trading_days_only,
                 int64_t *next_ms)
{
    nx_tz_t zone;
    int rc = nx_tz_load(&zone, tz && *tz ? tz : "UTC");
    if (rc)
        return rc == NX_ENOMEM ? rc : NX_EINVAL;
    int64_t after = after_ms / 1000 - (after_ms % 1000 < 0);
    struct tm day;
    local_tm(&zone, after, &day);
    /* noon of the first day, local seconds: the days are walked in local
     * dates, so a DST change never skips or repeats one */
    int64_t noon = local_seconds(day.tm_year + 1900, day.tm_mon + 1, day.tm_mday, 12, 0);
    rc = NX_ENOENT;
    for (int k = 0; k < 5 * 366 + 2 && rc == NX_ENOENT; k++, noon += 86400) {
        time_t n = (time_t)noon;
        gmtime_r(&n, &day);
        int y = day.tm_year + 1900, m = day.tm_mon + 1, d = day.tm_mday;
        if (!day_matches(c, &day) || (trading_days_only && !nx_nyse_trading_day(y, m, d)))
            continue;
        for (int h = 0; h < 24 && rc == NX_ENOENT; h++) {
            if (!(c->hours & (1u << h)))
                continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!(c->minutes & (1ULL << mi)))
                    continue;
                int64_t t = wall(&zone, local_seconds(y, m, d, h, mi));
                if (t * 1000 > after_ms) {
                    *next_ms = t * 1000;
                    rc = 0;
                    break;
                }
            }
        }
    }
    nx_tz_free(&zone);
    return rc;
}

/* ---- NYSE --------------------------------------------------------------- */

/* Published by NYSE Group (holidays and 1:00 p.m. early closes, announced
 * 2024-11-08 for 2025-2027; the 2025-01-09 closure, a National Day of
 * Mourning, was added later). yyyymmdd. */
static const int HOLIDAYS[] = {
    20250101, 20250109, 20250120, 20250217, 20250418, 20250526, 20250619, 20250704, 20250901,
    20251127, 20251225, 20260101, 20260119, 20260216, 20260403, 20260525, 20260619, 20260703,
    20260907, 20261126, 20261225, 20270101, 20270118, 20270215, 20270326, 20270531, 20270618,
    20270705, 20270906, 20271125, 20271224,
};
static const int EARLY[] = {20250703, 20251128, 20251224, 20261127, 20261224, 20271126};

static int listed(const int *v, size_t n, int y, int m, int d)
{
    int key = y * 10000 + m * 100 + d;
    for (size_t i = 0; i < n; i++)
        if (v[i] == key)
            return 1;
    return 0;
}

int nx_nyse_known(int year)
{
    return year >= 2025 && year <= 2027;
}

int nx_nyse_holiday(int y, int m, int d)
{
    return listed(HOLIDAYS, sizeof HOLIDAYS / sizeof HOLIDAYS[0], y, m, d);
}

int nx_nyse_early_close(int y, int m, int d)
{
    return listed(EARLY, sizeof EARLY / sizeof EARLY[0], y, m, d);
}

/* Day of week, 0 = Sunday (Sakamoto). */
static int weekday(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

int nx_nyse_trading_day(int y, int m, int d)
{
    int wd = weekday(y, m, d);
    return wd != 0 && wd != 6 && !nx_nyse_holiday(y, m, d);
}

int nx_nyse_open(int64_t utc_ms)
{
    nx_tz_t ny;
    if (nx_tz_load(&ny, "America/New_York"))
        return 0;
    struct tm lt;
    local_tm(&ny, utc_ms / 1000 - (utc_ms % 1000 < 0), &lt);
    nx_tz_free(&ny);
    int y = lt.tm_year + 1900, m = lt.tm_mon + 1, d = lt.tm_mday;
    if (!nx_nyse_trading_day(y, m, d))
        return 0;
    int minute = lt.tm_hour * 60 + lt.tm_min;
    int close = nx_nyse_early_close(y, m, d) ? 13 * 60 : 16 * 60;
    return minute >= 9 * 60 + 30 && minute < close;
}

/* Trading days from 1970-01-01 to day number n (days since the epoch),
 * n included: the weekdays (1970-01-01 was a Thursday) less the listed
 * holidays up to it. */
static int32_t trading_index(int64_t n)
{
    static const int pre[7] = {0, 1, 2, 2, 2, 3, 4}; /* weekdays in the first r days from a Thu */
    int64_t k = n + 1;
    int64_t count = k / 7 * 5 + pre[k % 7];
    for (size_t i = 0; i < sizeof HOLIDAYS / sizeof HOLIDAYS[0]; i++)
        count -= nx_days_from_civil(HOLIDAYS[i] / 10000, HOLIDAYS[i] / 100 % 100,
                                    HOLIDAYS[i] % 100) <= n;
    return (int32_t)count;
}

/* The New York day of civil date (y, m, d), day number n, in zone ny. */
static void nyse_day_of(const nx_tz_t *ny, int y, int m, int d, int64_t n, nx_nyse_day_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t midnight = n * 86400; /* the day's wall-clock seconds, as if UTC */
    out->start_ms = wall(ny, midnight) * 1000;
    out->end_ms = wall(ny, midnight + 86400) * 1000;
    out->trading = nx_nyse_trading_day(y, m, d);
    out->index = trading_index(n);
    if (out->trading) {
        out->open_ms = wall(ny, midnight + (9 * 60 + 30) * 60) * 1000;
        out->close_ms = wall(ny, midnight + (nx_nyse_early_close(y, m, d) ? 13 : 16) * 3600) * 1000;
    }
}

int nx_nyse_days(int64_t from_ms, uint32_t count, nx_nyse_day_t *out)
{
    nx_tz_t ny;
    if (!out || nx_tz_load(&ny, "America/New_York"))
        return NX_EINVAL;
    struct tm lt;
    local_tm(&ny, from_ms / 1000 - (from_ms % 1000 < 0), &lt);
    int64_t n = nx_days_from_civil(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
    for (uint32_t i = 0; i < count; i++, n++) {
        time_t t = (time_t)(n * 86400); /* the civil date of day number n */
        struct tm c;
        gmtime_r(&t, &c);
        nyse_day_of(&ny, c.tm_year + 1900, c.tm_mon + 1, c.tm_mday, n, &out[i]);
    }
    nx_tz_free(&ny);
    return 0;
}

int nx_nyse_day(int64_t utc_ms, nx_nyse_day_t *out)
{
    memset(out, 0, sizeof *out);
    return nx_nyse_days(utc_ms, 1, out);
}

/* ---- the runner ----------------------------------------------------------- */

int nx_sched_add(nx_store_t *st, int64_t user_id, const char *cron, const char *tz,
                 const char *action, int trading_days_only, int64_t now_ms, int64_t *id,
                 char *err, size_t cap)
{
    nx_cron_t c;
    int rc = nx_cron_parse(cron, &c, err, cap);
    if (rc)
        return rc;
    int64_t next;
    rc = nx_cron_next(&c, tz, now_ms, trading_days_only, &next);
    if (rc == NX_EINVAL) {
        snprintf(err, cap, "unknown time zone \"%s\" (an IANA name such as America/New_York)", tz);
        return rc;
    }
    if (rc) {
        snprintf(err, cap, "\"%s\" never happens", cron);
        return rc;
    }
    rc = nx_store_task_add(st, user_id, cron, tz, action, trading_days_only, next, id);
    if (rc)
        snprintf(err, cap, "%s", nx_store_error(st));
    return rc;
}

typedef struct due {
    nx_store_task_t t[256];
    int n;
} due_t;

static int collect(void *ctx, const nx_store_task_t *t)
{
    due_t *d = ctx;
    if (d->n < 256)
        d->t[d->n++] = *t;
    return d->n == 256;
}

int nx_sched_run_due(nx_store_t *st, int64_t now_ms, int catch_up, nx_task_fn fn, void *ctx)
{
    static due_t d;
    d.n = 0;
    int rc = nx_store_tasks_due(st, now_ms, collect, &d);
    if (rc)
        return rc;
    int ran = 0;
    for (int i = 0; i < d.n; i++) {
        const nx_store_task_t *t = &d.t[i];
        nx_cron_t c;
        char result[256] = "", err[128];
        int64_t next = 0;
        /* missed while down: more than a minute late */
        int missed = now_ms - t->next_run_ms > 60000;
        int run = !missed || catch_up;
        if (nx_cron_parse(t->cron, &c, err, sizeof err) ||
            nx_cron_next(&c, t->tz, now_ms, t->trading_days_only, &next)) {
            snprintf(result, sizeof result, "not scheduled again: %s", err);
            next = INT64_MAX;
            run = 0;
        }
        if (run) {
            int r = fn(ctx, t->id, t->user_id, t->action, result, sizeof result);
            if (r && !result[0])
                snprintf(result, sizeof result, "failed: %s", nx_strerror(r));
            ran++;
        } else if (!result[0]) {
            snprintf(result, sizeof result, "skipped: missed while down");
        }
        if ((rc = nx_store_task_done(st, t->id, run ? now_ms : 0, result, next)))
            return rc;
    }
    return ran;
}
