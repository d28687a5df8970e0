/*
 * tzif.h — a zone's UTC offsets read from its TZif file (tzif.c), private
 * to the scheduler. Any thread may use its own nx_tz_t; nothing is shared.
 */
#ifndef NX_SCHED_TZIF_H
#define NX_SCHED_TZIF_H

#include <stdint.h>

typedef struct nx_tz_rule {
    char kind;    /* 'M' month.week.day, 'J' Julian 1..365, 'N' zero-based day */
    int m, w, d;  /* M: month 1..12, week 1..5 (5 = last), weekday 0..6 (0 = Sunday); J/N: day */
    int32_t time; /* seconds after local midnight the change happens (default 02:00) */
} nx_tz_rule_t;

typedef struct nx_tz {
    int64_t *at;  /* transition instants, UTC s, ascending; n of them (heap) */
    uint8_t *idx; /* the type each transition starts (heap) */
    int n, ntypes;
    int32_t utoff[256];       /* each type's offset, s east of UTC */
    int footer;               /* the POSIX rule below holds after the last transition */
    int32_t std_off, dst_off; /* s east of UTC */
    int has_dst;
    nx_tz_rule_t start, end;
} nx_tz_t;

/* Loads /usr/share/zoneinfo/<zone>. 0; NX_EINVAL for a name that is not a
 * zone file (or tries to leave the folder); NX_ENOMEM. "UTC" loads even
 * without tzdata. The caller frees with nx_tz_free. Blocks on file I/O. */
int nx_tz_load(nx_tz_t *tz, const char *zone);
void nx_tz_free(nx_tz_t *tz);
/* The zone's offset (s east of UTC) at instant t (UTC s). */
int32_t nx_tz_offset(const nx_tz_t *tz, int64_t t);
/* Days since 1970-01-01 of a proleptic Gregorian date. */

#endif /* NX_SCHED_TZIF_H */
