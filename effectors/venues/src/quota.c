/*
 * quota.c — request limits kept at a share (quota.h).
 */
#include "nx/quota.h"
#include "nx/error.h"

int nx_quota_init(nx_quota_t *q, uint32_t limit, int64_t span_ns, uint32_t pct)
{
    if (!q || !limit || span_ns <= 0 || pct < 1 || pct > 100)
        return NX_EINVAL;
    uint32_t allowed = (uint32_t)((uint64_t)limit * pct / 100);
    if (!allowed || allowed > NX_QUOTA_MAX)
        return NX_EINVAL;
    q->span_ns = span_ns;
    q->limit = limit;
    q->allowed = allowed;
    q->head = q->tail = 0;
    q->max_pct = 0;
    return 0;
}

/* Forget the sends that left the window. */
static void expire(nx_quota_t *q, int64_t now)
{
    while (q->head != q->tail && now - q->t[q->head % NX_QUOTA_MAX] >= q->span_ns)
        q->head++;
}

uint32_t nx_quota_used(nx_quota_t *q, int64_t now)
{
    expire(q, now);
    return q->tail - q->head;
}

int nx_quota_take(nx_quota_t *q, int64_t now)
{
    if (nx_quota_used(q, now) + 1 > q->allowed)
        return 0;
    q->t[q->tail++ % NX_QUOTA_MAX] = now;
    uint32_t pct = (uint32_t)((uint64_t)(q->tail - q->head) * 100 / q->limit);
    if (pct > q->max_pct)
        q->max_pct = pct;
    return 1;
}

int64_t nx_quota_wait_ns(nx_quota_t *q, int64_t now)
{
    if (nx_quota_used(q, now) + 1 <= q->allowed)
        return 0;
    /* the oldest send in the window leaves it first */
    int64_t wait = q->t[q->head % NX_QUOTA_MAX] + q->span_ns - now;
    return wait > 0 ? wait : 0;
}

int nx_quota_reported_ok(const nx_quota_reported_t *r, uint32_t pct, int64_t now_ms)
{
    if (!r || !r->limit || now_ms >= r->reset_ms)
        return 1;
    uint32_t used = r->left <= r->limit ? r->limit - r->left : 0;
    return (uint64_t)(used + 1) * 100 <= (uint64_t)r->limit * pct;
}
