/*
 * quota.h — staying inside a venue's request limits, at or under a share
 * of them (80% by default). Nothing uses it yet: it is written for the
 * Bybit and Alpaca live adapters, which do not exist yet. Two kinds:
 *
 *  - a limit the client counts itself: n requests per sliding window
 *    (Bybit: 600 per 5 s per IP; Alpaca: 200 per minute per key). Each
 *    request is counted when it leaves; nx_quota_take answers whether one
 *    more fits now and counts it if so, nx_quota_wait_ns how long until
 *    one would;
 *  - a limit the venue reports after each answer (Bybit's X-Bapi-Limit,
 *    X-Bapi-Limit-Status: what is left, X-Bapi-Limit-Reset-Timestamp):
 *    nx_quota_reported_ok answers whether one more request keeps the use
 *    at or under the share until the reset.
 *
 * The highest use seen is kept (max_pct), for the tests that show a run
 * never went past the share. Pure: no clock (times are parameters), no
 * allocation, no lock; one owner thread.
 */
#ifndef NX_QUOTA_H
#define NX_QUOTA_H

#include <stdint.h>

#define NX_QUOTA_MAX 1024 /* requests remembered per window: at most this many allowed */

typedef struct nx_quota {
    int64_t span_ns;         /* the window */
    uint32_t limit;          /* the venue's limit per window */
    uint32_t allowed;        /* limit x pct / 100: what this client takes at most */
    uint32_t head, tail;     /* the sends still inside the window: t[head..tail) */
    uint32_t max_pct;        /* the highest use seen, % of the limit */
    int64_t t[NX_QUOTA_MAX]; /* when each was sent, a ring */
} nx_quota_t;

/* limit requests per span_ns, at most pct% of them (1..100). 0, or
 * NX_EINVAL (a zero limit or span, pct outside 1..100, or a share larger
 * than NX_QUOTA_MAX). */
int nx_quota_init(nx_quota_t *q, uint32_t limit, int64_t span_ns, uint32_t pct);
/* One more request at now: 1 and counted if it fits, 0 if not (nothing
 * counted). */
int nx_quota_take(nx_quota_t *q, int64_t now);
/* How long from now until one more fits: 0 if it fits now. */
int64_t nx_quota_wait_ns(nx_quota_t *q, int64_t now);
/* Requests in the window at now. */
uint32_t nx_quota_used(nx_quota_t *q, int64_t now);

/* What the venue said of a limit after an answer. */
typedef struct nx_quota_reported {
    uint32_t limit;   /* X-Bapi-Limit; 0 = nothing reported yet */
    uint32_t left;    /* X-Bapi-Limit-Status: requests left until the reset */
    int64_t reset_ms; /* X-Bapi-Limit-Reset-Timestamp */
} nx_quota_reported_t;

/* May one more request go at now_ms and keep the use at or under pct% of
 * the limit? Past the reset, or before anything was reported: yes. */
int nx_quota_reported_ok(const nx_quota_reported_t *r, uint32_t pct, int64_t now_ms);

#endif /* NX_QUOTA_H */
