/*
 * test_ring.c — the event bus under real concurrency.
 *
 * Two (or three) threads, 10^7 events by default (NX_RING_TEST_EVENTS
 * overrides), across many wrap-arounds of a small ring, with random batch
 * sizes on both sides. Every event carries its sequence number and a
 * checksum of it; the consumer verifies nothing is lost, duplicated,
 * reordered or torn. Never-block mode with a slow consumer must count every
 * dropped event exactly: received + overruns == attempted, the gaps in
 * hdr.seq add up to the overruns, and every gap is flagged. Where the
 * number of drops must be known in advance, the threads run in lock-step
 * (the consumer paused while the producer overfills the ring), so the
 * count does not depend on scheduling.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/event.h"
#include "nx/ring.h"

static uint64_t n_events(void)
{
    const char *s = getenv("NX_RING_TEST_EVENTS");
    return s ? strtoull(s, NULL, 10) : 10000000ULL;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

typedef struct xorshift {
    uint64_t s;
} rng_t;

static uint32_t rnd(rng_t *r, uint32_t max)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return (uint32_t)(r->s % max) + 1;
}

typedef struct prod_arg {
    nx_ring_t *r;
    uint64_t total;
    uint32_t max_batch;
    uint64_t attempted;
} prod_arg_t;

static void *producer(void *p)
{
    prod_arg_t *a = p;
    rng_t rng = {0x9E3779B97F4A7C15ULL};
    uint64_t sent = 0;
    while (sent < a->total) {
        uint32_t want = rnd(&rng, a->max_batch);
        if (want > a->total - sent)
            want = (uint32_t)(a->total - sent);
        uint64_t seq;
        uint32_t got = nx_bus_claim(a->r, want, &seq);
        for (uint32_t i = 0; i < got; i++) {
            nx_event_t *e = nx_bus_event(a->r, seq + i);
            e->hdr.type = NX_EV_TRADE;
            e->u.trade.trade_id = e->hdr.seq;
            e->u.trade.price = (int64_t)mix(e->hdr.seq);
            e->u.trade.qty = ~(int64_t)e->hdr.seq;
        }
        if (got)
            nx_ring_publish(a->r, seq + got);
        /* No-drop may hand out fewer slots than asked (never zero): send
         * the rest next time. Never-block dropped the shortfall. */
        sent += a->r->policy == NX_RING_NEVER_BLOCK ? want : got;
    }
    a->attempted = sent;
    nx_ring_close(a->r);
    return NULL;
}

typedef struct cons_arg {
    nx_ring_t *r;
    uint32_t idx;
    uint32_t max_batch;
    int slow; /* spin a little per event to force overruns */
    uint64_t received;
    uint64_t gaps;       /* sum of seq jumps */
    uint64_t gap_events; /* events after a seq jump */
    uint64_t gap_flags;  /* events carrying NX_EVF_GAP */
    uint64_t errors;
    uint64_t last_seq;
} cons_arg_t;

static void *consumer(void *p)
{
    cons_arg_t *a = p;
    nx_ring_consumer_t *c = nx_ring_consumer(a->r, a->idx);
    rng_t rng = {0xDEADBEEFCAFEULL + a->idx};
    uint64_t expect = 0;
    for (;;) {
        uint64_t seq;
        uint32_t n = nx_ring_wait(a->r, c, rnd(&rng, a->max_batch), &seq, -1);
        if (n == 0)
            break;
        for (uint32_t i = 0; i < n; i++) {
            const nx_event_t *e = nx_bus_event(a->r, seq + i);
            uint64_t s = e->hdr.seq;
            if (e->u.trade.trade_id != s || e->u.trade.price != (int64_t)mix(s) ||
                e->u.trade.qty != ~(int64_t)s)
                a->errors++; /* torn or corrupted slot */
            if (s < expect)
                a->errors++; /* duplicate or reordered */
            if (s > expect) {
                a->gaps += s - expect;
                a->gap_events++;
            }
            if (e->hdr.flags & NX_EVF_GAP)
                a->gap_flags++;
            expect = s + 1;
            a->received++;
            if (a->slow) {
                for (volatile int k = 0; k < a->slow; k++)
                    ;
            }
        }
        nx_ring_release(c, seq + n);
    }
    a->last_seq = expect;
    return NULL;
}

static void run(nx_ring_policy_t policy, nx_wait_t wait, uint32_t consumers, uint64_t cap,
                uint64_t total, int slow, uint64_t *overruns_out, cons_arg_t *out)
{
    nx_ring_t *r;
    assert_int_equal(nx_ring_create(&r, "test", cap, sizeof(nx_event_t), consumers, policy, wait),
                     0);
    prod_arg_t pa = {.r = r, .total = total, .max_batch = 64};
    cons_arg_t ca[4];
    pthread_t pt, ct[4];
    for (uint32_t i = 0; i < consumers; i++) {
        ca[i] = (cons_arg_t){.r = r, .idx = i, .max_batch = 128, .slow = slow};
        assert_int_equal(pthread_create(&ct[i], NULL, consumer, &ca[i]), 0);
    }
    assert_int_equal(pthread_create(&pt, NULL, producer, &pa), 0);
    pthread_join(pt, NULL);
    for (uint32_t i = 0; i < consumers; i++) {
        pthread_join(ct[i], NULL);
        out[i] = ca[i];
    }
    nx_ring_stats_t st;
    nx_ring_stats(r, &st);
    *overruns_out = st.overruns;
    assert_int_equal(pa.attempted, total);
    nx_ring_destroy(r);
}

static void test_no_drop_spin(void **state)
{
    (void)state;
    uint64_t total = n_events(), ovr;
    cons_arg_t c[1];
    run(NX_RING_NO_DROP, NX_WAIT_SPIN_YIELD, 1, 1024, total, 0, &ovr, c);
    assert_int_equal(ovr, 0);
    assert_int_equal(c[0].errors, 0);
    assert_int_equal(c[0].gaps, 0);
    assert_int_equal(c[0].received, total);
    assert_int_equal(c[0].last_seq, total);
}

static void test_no_drop_block_two_consumers(void **state)
{
    (void)state;
    uint64_t total = n_events() / 4, ovr;
    cons_arg_t c[2];
    run(NX_RING_NO_DROP, NX_WAIT_BLOCK, 2, 256, total, 0, &ovr, c);
    assert_int_equal(ovr, 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(c[i].errors, 0);
        assert_int_equal(c[i].gaps, 0);
        assert_int_equal(c[i].received, total);
    }
}

static void test_never_block_counts_overruns(void **state)
{
    (void)state;
    uint64_t total = n_events() / 4, ovr;
    cons_arg_t c[1];
    run(NX_RING_NEVER_BLOCK, NX_WAIT_SPIN_YIELD, 1, 1024, total, 200, &ovr, c);
    /* How many drop depends on scheduling; that each is counted does not. */
    assert_int_equal(c[0].errors, 0);
    assert_int_equal(c[0].received + ovr, total);
    /* Drops after the last published event leave no visible gap. */
    assert_int_equal(c[0].gaps + (total - c[0].last_seq), ovr);
    /* every visible gap is flagged, on the event after it, and nothing else is */
    assert_int_equal(c[0].gap_flags, c[0].gap_events);
}

/* Lock-step: each round the consumer is paused while the producer, alone,
 * tries CAP + DROP single events on an empty ring of CAP slots (exactly
 * DROP fail), then the consumer drains it while the producer waits. One
 * last event makes the final round's gap visible. Every number below
 * follows from that schedule. */
enum { LS_CAP = 64, LS_DROP = 5, LS_ROUNDS = 1000 };

typedef struct lockstep {
    nx_ring_t *r;
    _Atomic int turn; /* 0: the producer fills, 1: the consumer drains */
    cons_arg_t c;
} lockstep_t;

static void *lockstep_consumer(void *p)
{
    lockstep_t *ls = p;
    nx_ring_consumer_t *c = nx_ring_consumer(ls->r, 0);
    uint64_t expect = 0;
    for (;;) {
        while (atomic_load(&ls->turn) == 0)
            sched_yield();
        if (atomic_load(&ls->turn) == 2)
            break;
        uint64_t seq;
        uint32_t n;
        while ((n = nx_ring_poll(ls->r, c, 1000, &seq)) > 0) {
            for (uint32_t i = 0; i < n; i++) {
                const nx_event_t *e = nx_bus_event(ls->r, seq + i);
                if (e->hdr.seq > expect) {
                    ls->c.gaps += e->hdr.seq - expect;
                    ls->c.gap_events++;
                }
                if (e->hdr.seq < expect || e->u.trade.trade_id != e->hdr.seq)
                    ls->c.errors++;
                if (e->hdr.flags & NX_EVF_GAP)
                    ls->c.gap_flags++;
                expect = e->hdr.seq + 1;
                ls->c.received++;
            }
            nx_ring_release(c, seq + n);
        }
        atomic_store(&ls->turn, 0);
    }
    return NULL;
}

static void test_never_block_exact_drops(void **state)
{
    (void)state;
    lockstep_t ls = {0};
    assert_int_equal(nx_ring_create(&ls.r, "lockstep", LS_CAP, sizeof(nx_event_t), 1,
                                    NX_RING_NEVER_BLOCK, NX_WAIT_SPIN),
                     0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, lockstep_consumer, &ls), 0);
    uint64_t published = 0, refused = 0;
    for (int round = 0; round <= LS_ROUNDS; round++) {
        int tries = round < LS_ROUNDS ? LS_CAP + LS_DROP : 1; /* the last: one event */
        for (int i = 0; i < tries; i++) {
            uint64_t seq;
            if (nx_bus_claim(ls.r, 1, &seq) != 1) {
                refused++;
                continue;
            }
            nx_bus_event(ls.r, seq)->u.trade.trade_id = nx_bus_event(ls.r, seq)->hdr.seq;
            nx_ring_publish(ls.r, seq + 1);
            published++;
        }
        atomic_store(&ls.turn, 1);
        while (atomic_load(&ls.turn) == 1)
            sched_yield();
    }
    atomic_store(&ls.turn, 2);
    pthread_join(t, NULL);
    nx_ring_stats_t st;
    nx_ring_stats(ls.r, &st);
    assert_int_equal(refused, (uint64_t)LS_ROUNDS * LS_DROP);
    assert_int_equal(st.overruns, (uint64_t)LS_ROUNDS * LS_DROP);
    assert_int_equal(published, (uint64_t)LS_ROUNDS * LS_CAP + 1);
    assert_int_equal(ls.c.received, (uint64_t)LS_ROUNDS * LS_CAP + 1);
    assert_int_equal(ls.c.errors, 0);
    assert_int_equal(ls.c.gaps, (uint64_t)LS_ROUNDS * LS_DROP);
    assert_int_equal(ls.c.gap_events, LS_ROUNDS);
    assert_int_equal(ls.c.gap_flags, LS_ROUNDS);
    nx_ring_destroy(ls.r);
}

/* A never-block ring drops nothing while it has room, however slow its
 * consumer: with the consumer not reading at all, exactly CAP events fit
 * and the next is the first dropped. No timing is involved. */
static void test_never_block_drops_only_when_full(void **state)
{
    (void)state;
    enum { CAP = 1 << 10 };
    nx_ring_t *r;
    assert_int_equal(
        nx_ring_create(&r, "x", CAP, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK, NX_WAIT_SPIN), 0);
    rng_t rng = {42};
    uint64_t sent = 0, seq;
    while (sent < CAP) { /* random batches up to the brim: all fit */
        uint32_t want = rnd(&rng, 64);
        if (want > CAP - sent)
            want = (uint32_t)(CAP - sent);
        assert_int_equal(nx_bus_claim(r, want, &seq), want);
        nx_ring_publish(r, seq + want);
        sent += want;
    }
    nx_ring_stats_t st;
    nx_ring_stats(r, &st);
    assert_int_equal(st.overruns, 0);
    assert_int_equal(nx_bus_claim(r, 1, &seq), 0); /* full: the first drop */
    nx_ring_stats(r, &st);
    assert_int_equal(st.overruns, 1);
    nx_ring_consumer_t *c = nx_ring_consumer(r, 0);
    assert_int_equal(nx_ring_poll(r, c, 2 * CAP, &seq), CAP);
    assert_int_equal(seq, 0);
    for (uint32_t i = 0; i < CAP; i++)
        assert_int_equal(nx_bus_event(r, seq + i)->hdr.seq, i);
    nx_ring_destroy(r);
}

static void test_init_rejects_bad_geometry(void **state)
{
    (void)state;
    nx_ring_t *r;
    assert_int_equal(nx_ring_create(&r, "x", 1000, 128, 1, NX_RING_NO_DROP, NX_WAIT_SPIN),
                     NX_EINVAL);
    assert_int_equal(nx_ring_create(&r, "x", 1024, 100, 1, NX_RING_NO_DROP, NX_WAIT_SPIN),
                     NX_EINVAL);
    assert_int_equal(nx_ring_create(&r, "x", 1024, 128, 0, NX_RING_NO_DROP, NX_WAIT_SPIN),
                     NX_EINVAL);
    assert_int_equal(nx_ring_create(&r, "x", 1024, 128, NX_RING_MAX_CONSUMERS + 1, NX_RING_NO_DROP,
                                    NX_WAIT_SPIN),
                     NX_EINVAL);
    assert_int_equal(nx_ring_create(&r, "x", 1024, 64, 1, NX_RING_NO_DROP, NX_WAIT_SPIN), 0);
    assert_int_equal(nx_ring_capacity(r), 1024);
    nx_ring_destroy(r);
}

static void test_single_thread_semantics(void **state)
{
    (void)state;
    nx_ring_t *r;
    assert_int_equal(
        nx_ring_create(&r, "x", 8, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK, NX_WAIT_SPIN), 0);
    nx_ring_consumer_t *c = nx_ring_consumer(r, 0);
    uint64_t seq;
    assert_int_equal(nx_ring_poll(r, c, 10, &seq), 0);
    /* Fill 8, then a claim of 4 gets nothing and counts 4 overruns. */
    assert_int_equal(nx_bus_claim(r, 8, &seq), 8);
    nx_ring_publish(r, seq + 8);
    uint64_t s2;
    assert_int_equal(nx_bus_claim(r, 4, &s2), 0);
    nx_ring_stats_t st;
    nx_ring_stats(r, &st);
    assert_int_equal(st.overruns, 4);
    assert_int_equal(st.max_lag, 8);
    /* Consume 3: then 3 can be claimed; the first carries the gap flag and
     * a sequence 4 past the slot sequence. */
    assert_int_equal(nx_ring_poll(r, c, 3, &seq), 3);
    nx_ring_release(c, seq + 3);
    assert_int_equal(nx_bus_claim(r, 5, &s2), 3);
    assert_int_equal(s2, 8);
    assert_true(nx_bus_event(r, s2)->hdr.flags & NX_EVF_GAP);
    assert_int_equal(nx_bus_event(r, s2)->hdr.seq, 12);
    assert_false(nx_bus_event(r, s2 + 1)->hdr.flags & NX_EVF_GAP);
    nx_ring_publish(r, s2 + 3);
    nx_ring_stats(r, &st);
    assert_int_equal(st.overruns, 6);
    /* Close: the consumer still drains what was published. */
    nx_ring_close(r);
    uint32_t n, total = 0;
    while ((n = nx_ring_wait(r, c, 100, &seq, -1)) > 0) {
        total += n;
        nx_ring_release(c, seq + n);
    }
    assert_int_equal(total, 8);
    assert_int_equal(nx_ring_wait(r, c, 100, &seq, -1), 0);
    nx_ring_destroy(r);
}

typedef struct late {
    nx_ring_t *r;
    _Atomic int waiting;
} late_t;

/* Publishes one event once the main thread is about to wait. */
static void *publish_late(void *p)
{
    late_t *l = p;
    while (!atomic_load(&l->waiting))
        sched_yield();
    uint64_t seq;
    nx_ring_claim(l->r, 1, &seq);
    nx_ring_publish(l->r, seq + 1);
    return NULL;
}

/* A wait with nothing published returns 0 after its timeout, not before
 * (and not never); a wait with a long timeout returns the event as soon
 * as one is published, for every wait strategy. */
static void test_wait_times_out(void **state)
{
    (void)state;
    nx_ring_t *r;
    for (int w = NX_WAIT_SPIN; w <= NX_WAIT_BLOCK; w++) {
        assert_int_equal(nx_ring_create(&r, "x", 64, 64, 1, NX_RING_NO_DROP, (nx_wait_t)w), 0);
        uint64_t seq;
        int64_t t0 = nx_mono_ns();
        assert_int_equal(nx_ring_wait(r, nx_ring_consumer(r, 0), 1, &seq, 5 * NX_NS_PER_MS), 0);
        int64_t waited = nx_mono_ns() - t0;
        if (waited < 5 * NX_NS_PER_MS || waited > 5 * NX_NS_PER_SEC)
            fail_msg("%s: a 5 ms wait took %lld ns", nx_wait_name((nx_wait_t)w),
                     (long long)waited);
        late_t l = {r, 0};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, publish_late, &l), 0);
        atomic_store(&l.waiting, 1);
        assert_int_equal(nx_ring_wait(r, nx_ring_consumer(r, 0), 8, &seq, 60 * NX_NS_PER_SEC), 1);
        assert_int_equal(seq, 0);
        pthread_join(t, NULL);
        nx_ring_destroy(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_rejects_bad_geometry),
        cmocka_unit_test(test_single_thread_semantics),
        cmocka_unit_test(test_wait_times_out),
        cmocka_unit_test(test_no_drop_spin),
        cmocka_unit_test(test_no_drop_block_two_consumers),
        cmocka_unit_test(test_never_block_counts_overruns),
        cmocka_unit_test(test_never_block_exact_drops),
        cmocka_unit_test(test_never_block_drops_only_when_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
