/*
 * tzif.c — a zone's UTC offset at any instant, read from its TZif file
 * (RFC 8536) in /usr/share/zoneinfo, without the C library's local time.
 *
 * Why not localtime_r/mktime: they follow the process-wide TZ variable,
 * and switching it (setenv + tzset) in a running multi-threaded process is
 * a data race with every thread that reads the environment or local time
 * (getenv, strftime, the resolver...). Reading the file ourselves touches
 * nothing shared. tzdata is a required Debian package, so the files are
 * always there; the zone rules are still not written here.
 *
 * The design: load a zone once per call of the scheduler (a few KB, one
 * open and read; the scheduler runs a handful of times a minute on the
 * service thread), keep the version-2 (64-bit) transition table, and
 * binary-search it. After the last transition the file's footer, a
 * POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0", gives the rule;
 * Debian ships "fat" files (transitions listed to 2037) but slim ones
 * end in 2007 and depend on the footer, so both are handled.
 */
#include "tzif.h"

#include "nx/clock.h"
#include "nx/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZIF_MAX_BYTES (256 * 1024) /* the largest zone file is ~4 KB */

static int64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

static int leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- the POSIX TZ footer ----------------------------------------------- */

static const char *tz_name(const char *p)
{
    if (*p == '<') {
        while (*p && *p != '>')
            p++;
        return *p ? p + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] in seconds; NULL on a malformed field. */
static const char *tz_hms(const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    int32_t v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        int n = 0;
        while (isdigit((unsigned char)*p) && n < 200)
            n = n * 10 + (*p++ - '0');
        v[i] = n;
        if (i < 2 && *p == ':' && isdigit((unsigned char)p[1]))
            p++;
        else
            break;
    }
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

static const char *tz_rule(const char *p, nx_tz_rule_t *r)
{
    if (*p == 'M') {
        int v[3] = {0, 0, 0};
        p++;
        for (int i = 0; i < 3; i++) {
            if (!isdigit((unsigned char)*p))
                return NULL;
            while (isdigit((unsigned char)*p) && v[i] < 100)
                v[i] = v[i] * 10 + (*p++ - '0');
            if (i < 2 && *p++ != '.')
                return NULL;
        }
        if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6)
            return NULL;
        r->kind = 'M', r->m = v[0], r->w = v[1], r->d = v[2];
    } else {
        r->kind = 'N';
        if (*p == 'J')
            r->kind = 'J', p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        int n = 0;
        while (isdigit((unsigned char)*p) && n < 1000)
            n = n * 10 + (*p++ - '0');
        if (n > 365 || (r->kind == 'J' && n < 1))
            return NULL;
        r->d = n;
    }
    r->time = 2 * 3600;
    if (*p == '/')
        p = tz_hms(p + 1, &r->time);
    return p;
}

/* 0, or -1 for a footer this reader does not understand. */
static int posix_parse(const char *s, nx_tz_t *tz)
{
    int32_t off;
    const char *p = tz_name(s);
    if (!p || !(p = tz_hms(p, &off)))
        return -1;
    tz->std_off = -off; /* POSIX counts west of Greenwich */
    tz->has_dst = 0;
    if (!*p)
        return 0;
    if (!(p = tz_name(p)))
        return -1;
    tz->dst_off = tz->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = tz_hms(p, &off)))
            return -1;
        tz->dst_off = -off;
    }
    if (*p++ != ',' || !(p = tz_rule(p, &tz->start)) || *p++ != ',' ||
        !(p = tz_rule(p, &tz->end)) || *p)
        return -1;
    tz->has_dst = 1;
    return 0;
}

/* Local midnight (seconds as if UTC) of the rule's day in year y. */
static int64_t rule_day(const nx_tz_rule_t *r, int64_t y)
{
    int64_t jan1 = nx_days_from_civil(y, 1, 1);
    if (r->kind == 'J') /* 1..365, Feb 29 never counted */
        return (jan1 + r->d - 1 + (leap(y) && r->d >= 60)) * 86400;
    if (r->kind == 'N')
        return (jan1 + r->d) * 86400;
    int64_t first = nx_days_from_civil(y, r->m, 1);
    int wd_first = (int)(((first % 7) + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
    int64_t day = first + (r->d - wd_first + 7) % 7 + (r->w - 1) * 7;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int len = mdays[r->m - 1] + (r->m == 2 && leap(y));
    while (day - first >= len) /* week 5 is "the last" */
        day -= 7;
    return day * 86400;
}

static int32_t posix_offset(const nx_tz_t *tz, int64_t t)
{
    if (!tz->has_dst)
        return tz->std_off;
    int64_t days = (t + tz->std_off) / 86400 - ((t + tz->std_off) % 86400 < 0);
    /* the civil year of that day */
    int64_t y = 1970 + days / 366;
    while (nx_days_from_civil(y + 1, 1, 1) <= days)
        y++;
    while (nx_days_from_civil(y, 1, 1) > days)
        y--;
    /* a rule's time is local time in the offset in force before it */
    int64_t start = rule_day(&tz->start, y) + tz->start.time - tz->std_off;
    int64_t end = rule_day(&tz->end, y) + tz->end.time - tz->dst_off;
    int dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    return dst ? tz->dst_off : tz->std_off;
}

/* ---- the file ------------------------------------------------------------ */

int nx_tz_load(nx_tz_t *tz, const char *zone)
{
    memset(tz, 0, sizeof *tz);
    if (!zone || !*zone || zone[0] == '/' || strstr(zone, "..") || strlen(zone) > 200)
        return NX_EINVAL;
    char path[256];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (!strcmp(zone, "UTC")) /* no tzdata at all: UTC is still UTC */
            return 0;
        return NX_EINVAL;
    }
    unsigned char *b = malloc(TZIF_MAX_BYTES);
    size_t len = b ? fread(b, 1, TZIF_MAX_BYTES, f) : 0;
    fclose(f);
    int rc = NX_EINVAL;
    if (!b)
        return NX_ENOMEM;
    if (len < 44 || memcmp(b, "TZif", 4))
        goto done;
    /* version 1 block: skipped for the 64-bit block after it */
    const unsigned char *h = b;
    size_t at = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (at + 44 > len || memcmp(h, "TZif", 4))
            goto done;
        int tsz = pass ? 8 : 4;
        int64_t isut = be(h + 20, 4), isstd = be(h + 24, 4), nleap = be(h + 28, 4),
                ntime = be(h + 32, 4), ntype = be(h + 36, 4), nchar = be(h + 40, 4);
        if (isut < 0 || isstd < 0 || nleap < 0 || ntime < 0 || ntype < 1 || ntype > 256 ||
            nchar < 0)
            goto done;
        size_t body =
            (size_t)(ntime * tsz + ntime + ntype * 6 + nchar + nleap * (tsz + 4) + isstd + isut);
        if (at + 44 + body > len)
            goto done;
        if (pass == 0 && h[4] >= '2') { /* a 64-bit block follows */
            at += 44 + body;
            h = b + at;
            continue;
        }
        const unsigned char *p = h + 44;
        tz->at = malloc(sizeof *tz->at * (size_t)(ntime ? ntime : 1));
        tz->idx = malloc((size_t)(ntime ? ntime : 1));
        if (!tz->at || !tz->idx) {
            rc = NX_ENOMEM;
            goto done;
        }
        for (int64_t i = 0; i < ntime; i++)
            tz->at[i] = be(p + i * tsz, tsz);
        for (int64_t i = 0; i < ntime; i++) {
            tz->idx[i] = p[ntime * tsz + i];
            if (tz->idx[i] >= ntype)
                goto done;
        }
        const unsigned char *ti = p + ntime * tsz + ntime;
        for (int64_t i = 0; i < ntype; i++)
            tz->utoff[i] = (int32_t)be(ti + i * 6, 4);
        tz->n = (int)ntime;
        tz->ntypes = (int)ntype;
        /* before the first transition: the first type (RFC 8536 3.2) */
        tz->std_off = tz->utoff[0];
        tz->footer = 0;
        if (pass == 1) {
            const char *foot = (const char *)(h + 44 + body);
            size_t left = len - (at + 44 + body);
            char s[128];
            if (left > 2 && foot[0] == '\n') {
                size_t k = 1;
                while (k < left && foot[k] != '\n' && k < sizeof s)
                    k++;
                if (k < left && k < sizeof s && k > 1) {
                    memcpy(s, foot + 1, k - 1);
                    s[k - 1] = 0;
                    tz->footer = posix_parse(s, tz) == 0;
                }
            }
        }
        rc = 0;
        break;
    }
done:
    free(b);
    if (rc)
        nx_tz_free(tz);
    return rc;
}

void nx_tz_free(nx_tz_t *tz)
{
    free(tz->at);
    free(tz->idx);
    tz->at = NULL;
    tz->idx = NULL;
    tz->n = 0;
}

int32_t nx_tz_offset(const nx_tz_t *tz, int64_t t)
{
    if (tz->n == 0)
        return tz->footer ? posix_offset(tz, t) : (tz->ntypes ? tz->utoff[0] : 0);
    if (t < tz->at[0])
        return tz->utoff[0];
    if (t >= tz->at[tz->n - 1] && tz->footer)
        return posix_offset(tz, t);
    int lo = 0, hi = tz->n - 1; /* the last transition at or before t */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return tz->utoff[tz->idx[lo]];
}
