/*
 * sched.c — cron in a time zone, the NYSE calendar, the task runner (see
 * sched.h).
 *
 * Local time comes from the C library (localtime_r/mktime under TZ=zone),
 * which reads Debian's tz database: the zone rules are not written here.
 */
#include "nx/sched.h"

#include "nx/error.h"

#include <ctype.h>
#include <pthread.h>
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

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/* TZ=zone for the calls between enter and leave. 0, or NX_EINVAL for a
 * name the tz database does not have. */
static int tz_enter(const char *zone, char *saved, size_t cap)
{
    pthread_mutex_lock(&tz_lock);
    const char *old = getenv("TZ");
    snprintf(saved, cap, "%s", old ? old : "");
    char path[300];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
    FILE *f = strstr(zone, "..") ? NULL : fopen(path, "rb");
    char magic[4] = {0};
    int ok = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
    if (f)
        fclose(f);
    if (!ok && strcmp(zone, "UTC")) {
        pthread_mutex_unlock(&tz_lock);
        return NX_EINVAL;
    }
    setenv("TZ", zone, 1);
    tzset();
    return 0;
}

static void tz_leave(const char *saved, int had)
{
    if (had)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    pthread_mutex_unlock(&tz_lock);
}

static struct tm tm_of(int y, int m, int d, int h, int mi, int isdst)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_isdst = isdst;
    return tm;
}

/* The instant of wall time y-m-d h:mi in the current zone: its first
 * occurrence if it happens twice, the end of the gap if it does not
 * happen. */
static time_t wall(int y, int m, int d, int h, int mi)
{
    time_t best = (time_t)-1;
    for (int dst = 0; dst <= 1; dst++) {
        struct tm tm = tm_of(y, m, d, h, mi, dst);
        time_t t = mktime(&tm);
        struct tm back;
        localtime_r(&t, &back);
        if (back.tm_year == y - 1900 && back.tm_mon == m - 1 && back.tm_mday == d &&
            back.tm_hour == h && back.tm_min == mi && (best == (time_t)-1 || t < best))
            best = t;
    }
    if (best != (time_t)-1)
        return best;
    /* not a wall time that day: the first minute after it that is */
    struct tm tm = tm_of(y, m, d, h, mi, -1);
    time_t t = mktime(&tm); /* normalised past the gap */
    for (time_t probe = t - 4 * 3600; probe <= t; probe += 60) {
        struct tm lt;
        localtime_r(&probe, &lt);
        long want = ((long)(y - 1900) * 400 + m - 1) * 40 + d, got =
                    ((long)lt.tm_year * 400 + lt.tm_mon) * 40 + lt.tm_mday;
        if (got > want || (got == want && lt.tm_hour * 60 + lt.tm_min >= h * 60 + mi))
            return probe - probe % 60;
    }
    return t;
}

int nx_cron_next(const nx_cron_t *c, const char *tz, int64_t after_ms, int trading_days_only,
                 int64_t *next_ms)
{
    char saved[128];
    int had = getenv("TZ") != NULL;
    if (tz_enter(tz && *tz ? tz : "UTC", saved, sizeof saved))
        return NX_EINVAL;
    time_t after = (time_t)(after_ms / 1000);
    struct tm day;
    localtime_r(&after, &day);
    int rc = NX_ENOENT;
    for (int k = 0; k < 5 * 366 + 2 && rc == NX_ENOENT; k++) {
        int y = day.tm_year + 1900, m = day.tm_mon + 1, d = day.tm_mday;
        if (day_matches(c, &day) && (!trading_days_only || nx_nyse_trading_day(y, m, d))) {
            for (int h = 0; h < 24 && rc == NX_ENOENT; h++) {
                if (!(c->hours & (1u << h)))
                    continue;
                for (int mi = 0; mi < 60; mi++) {
                    if (!(c->minutes & (1ULL << mi)))
                        continue;
                    time_t t = wall(y, m, d, h, mi);
                    if ((int64_t)t * 1000 > after_ms) {
                        *next_ms = (int64_t)t * 1000;
                        rc = 0;
                        break;
                    }
                }
            }
        }
        /* the next calendar day, at noon (never in a DST gap) */
        struct tm nd = {0};
        nd.tm_year = day.tm_year;
        nd.tm_mon = day.tm_mon;
        nd.tm_mday = day.tm_mday + 1;
        nd.tm_hour = 12;
        nd.tm_isdst = -1;
        time_t nt = mktime(&nd);
        localtime_r(&nt, &day);
    }
    tz_leave(saved, had);
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
    char saved[128];
    int had = getenv("TZ") != NULL;
    if (tz_enter("America/New_York", saved, sizeof saved))
        return 0;
    time_t t = (time_t)(utc_ms / 1000);
    struct tm lt;
    localtime_r(&t, &lt);
    tz_leave(saved, had);
    int y = lt.tm_year + 1900, m = lt.tm_mon + 1, d = lt.tm_mday;
    if (!nx_nyse_trading_day(y, m, d))
        return 0;
    int minute = lt.tm_hour * 60 + lt.tm_min;
    int close = nx_nyse_early_close(y, m, d) ? 13 * 60 : 16 * 60;
    return minute >= 9 * 60 + 30 && minute < close;
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
