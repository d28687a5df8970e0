/*
 * ring.h — the event bus: a pre-allocated, power-of-two, single-producer,
 * multi-consumer ring with Disruptor-style sequences.
 *
 * Workload. The market ring carries 10^5..10^7 events/s from the network
 * thread to the engine thread; the order ring a few per second; the journal
 * ring every order, fill and signal to the storage writer. Producer and
 * consumers are pinned to different cores of a machine that may have only
 * two, so the design minimises cache-line transfers per event:
 *
 *  - Sequences are free-running uint64 counters, masked by capacity-1. A
 *    uint64 at 10^9 events/s wraps after 584 years, so there is no ABA.
 *  - The producer publishes with one store-release of `head`; each consumer
 *    releases with one store-release of its own `cursor`. Both sides cache
 *    the other's position and only re-read it (one cache miss) when the
 *    cached value says the ring is full/empty, so in steady state a batch of
 *    N events costs two line transfers, not 2N.
 *  - Batch claim/publish and batch poll/release: a producer may claim up to
 *    N slots, fill them in place (zero copy: a slot *is* an nx_event_t), and
 *    publish them all at once; a consumer reads everything available.
 *  - Every consumer has its own cursor (broadcast: each sees every event).
 *
 * Two policies:
 *  - NX_RING_NO_DROP: the producer waits for the slowest consumer (orders,
 *    journal: nothing may be lost).
 *  - NX_RING_NEVER_BLOCK: the producer never waits; when the ring is full the
 *    claim returns fewer slots than asked and the shortfall is counted as an
 *    overrun (market data: the network thread must keep reading sockets).
 *    The producer stamps hdr.seq = slot sequence + drops so far, so a
 *    consumer also sees the gap in the sequence numbers (nx_bus_claim does
 *    this for events).
 *
 * Consumer wait strategies: NX_WAIT_SPIN (lowest latency, burns a core),
 * NX_WAIT_SPIN_YIELD (spin ~2^12 times, then sched_yield), NX_WAIT_BLOCK
 * (spin briefly, then sleep on a futex the producer wakes). The producer's
 * publish only pays for the wake-up check on rings created with BLOCK.
 *
 * Memory ordering, each pairing named:
 *  R1/A1: producer writes slots, then store-release head (R1); a consumer's
 *         load-acquire of head (A1) makes those slot writes visible.
 *  R2/A2: a consumer reads slots, then store-release its cursor (R2); the
 *         producer's load-acquire of cursors (A2) orders its later slot
 *         overwrites after those reads.
 *  F1/F2: BLOCK only. Producer: head store, seq_cst fence (F1), load waiters.
 *         Consumer: seq_cst increment of waiters (F2), load head. One of the
 *         two always sees the other, so a wake-up is never missed.
 *
 * Threads: exactly one thread may call the producer functions; each
 * consumer's functions are called by exactly one thread (not necessarily the
 * same for different consumers). nx_ring_stats() may be called by anyone.
 * Nothing here allocates except nx_ring_create().
 */
#ifndef NX_RING_H
#define NX_RING_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "nx/compiler.h"
#include "nx/event.h"

typedef enum nx_ring_policy {
    NX_RING_NO_DROP = 0,
    NX_RING_NEVER_BLOCK = 1,
} nx_ring_policy_t;

typedef enum nx_wait {
    NX_WAIT_SPIN = 0,
    NX_WAIT_SPIN_YIELD = 1,
    NX_WAIT_BLOCK = 2,
} nx_wait_t;

#define NX_RING_MAX_CONSUMERS 8

/* One consumer's position, alone on its own pair of cache lines. */
typedef struct nx_ring_consumer {
    alignas(NX_FALSE_SHARING_RANGE) _Atomic uint64_t cursor; /* all seq < cursor are released */
    alignas(NX_FALSE_SHARING_RANGE) uint64_t cached_head;    /* consumer-private copy of head */
    uint64_t polled; /* consumer-private: seq after last poll */
} nx_ring_consumer_t;

typedef struct nx_ring {
    /* Read-only after init: shared freely by every thread. */
    alignas(NX_FALSE_SHARING_RANGE) uint8_t *slots;
    uint64_t mask;       /* capacity - 1 */
    uint32_t elem_shift; /* log2(element size) */
    uint32_t n_consumers;
    uint8_t policy; /* nx_ring_policy_t */
    uint8_t wait;   /* nx_wait_t of the consumers */
    char name[22];

    /* Producer-written, consumer-read. */
    alignas(NX_FALSE_SHARING_RANGE) _Atomic uint64_t head; /* all seq < head are published */
    _Atomic uint64_t overruns;                             /* events dropped (NEVER_BLOCK) */

    /* Producer-private. */
    alignas(NX_FALSE_SHARING_RANGE) uint64_t claim_next; /* next seq to claim */
    uint64_t cached_gate;                                /* min consumer cursor, cached */
    uint64_t drops;                                      /* producer copy of overruns */
    uint64_t drops_flagged;                              /* drops already marked NX_EVF_GAP */
    uint64_t producer_waits;                             /* times the producer had to wait */

    /* Blocking support (NX_WAIT_BLOCK) and shutdown. */
    alignas(NX_FALSE_SHARING_RANGE) _Atomic uint32_t futex_seq;
    _Atomic uint32_t waiters;
    _Atomic uint32_t closed;

    nx_ring_consumer_t consumers[NX_RING_MAX_CONSUMERS];
} nx_ring_t;

typedef struct nx_ring_stats {
    uint64_t published; /* events published so far */
    uint64_t overruns;  /* events dropped because the ring was full */
    uint64_t max_lag;   /* published - slowest consumer's cursor */
    uint64_t capacity;
} nx_ring_stats_t;

/* Bytes of memory (including slots) a ring of `capacity` elements of
 * `elem_size` bytes needs. capacity and elem_size must be powers of two. */
size_t nx_ring_memsize(uint64_t capacity, uint32_t elem_size);

/* Initialise a ring in caller-provided memory of nx_ring_memsize() bytes,
 * aligned to NX_FALSE_SHARING_RANGE. Returns 0, or NX_EINVAL if capacity or
 * elem_size is not a power of two (elem_size >= 8), n_consumers is 0 or above
 * NX_RING_MAX_CONSUMERS, or mem is misaligned. Slots are zeroed. */
int nx_ring_init(nx_ring_t *r, const char *name, uint64_t capacity, uint32_t elem_size,
                 uint32_t n_consumers, nx_ring_policy_t policy, nx_wait_t wait);

/* Allocate (aligned) and initialise; *out owns the memory: nx_ring_destroy().
 * Returns 0, NX_EINVAL as nx_ring_init, or NX_ENOMEM. Start-up only. */
int nx_ring_create(nx_ring_t **out, const char *name, uint64_t capacity, uint32_t elem_size,
                   uint32_t n_consumers, nx_ring_policy_t policy, nx_wait_t wait);
void nx_ring_destroy(nx_ring_t *r);

NX_INLINE uint64_t nx_ring_capacity(const nx_ring_t *r)
{
    return r->mask + 1;
}

NX_INLINE void *nx_ring_slot(const nx_ring_t *r, uint64_t seq)
{
    return r->slots + ((seq & r->mask) << r->elem_shift);
}

/* Slow paths, out of line. */
uint64_t nx_ring__gate(nx_ring_t *r);
uint64_t nx_ring__producer_wait(nx_ring_t *r, uint64_t need);
void nx_ring__wake(nx_ring_t *r);

/*
 * Producer: claim up to `n` (1..capacity) consecutive slots starting at
 * *seq. Returns how many were claimed.
 *  NO_DROP: waits (spin, then yield) until at least one slot is free;
 *           returns >= 1 unless the ring was closed (then 0).
 *  NEVER_BLOCK: never waits; returns 0..n, and counts n - returned as
 *           overruns.
 * The claimed slots must be filled and then published, in order.
 */
NX_INLINE uint32_t nx_ring_claim(nx_ring_t *r, uint32_t n, uint64_t *seq)
{
    uint64_t next = r->claim_next;
    uint64_t cap = r->mask + 1;
    *seq = next;
    uint64_t free_slots = r->cached_gate + cap - next;
    if (NX_UNLIKELY(free_slots < n)) {
        r->cached_gate = nx_ring__gate(r); /* A2 */
        free_slots = r->cached_gate + cap - next;
        if (free_slots == 0) {
            if (r->policy == NX_RING_NEVER_BLOCK) {
                r->drops += n;
                atomic_store_explicit(&r->overruns, r->drops, memory_order_relaxed);
                return 0;
            }
            free_slots = nx_ring__producer_wait(r, 1);
            if (free_slots == 0)
                return 0;
        }
        if (free_slots < n) {
            if (r->policy == NX_RING_NEVER_BLOCK) {
                r->drops += n - free_slots;
                atomic_store_explicit(&r->overruns, r->drops, memory_order_relaxed);
            }
            n = (uint32_t)free_slots;
        }
    }
    r->claim_next = next + n;
    return n;
}

/* Producer: how many slots are free now (the consumers' progress read
 * afresh). A NO_DROP producer that must not wait claims only after seeing
 * room here. */
NX_INLINE uint64_t nx_ring_free(nx_ring_t *r)
{
    r->cached_gate = nx_ring__gate(r);
    return r->cached_gate + r->mask + 1 - r->claim_next;
}

/* Producer: make every claimed slot with seq < end visible to consumers. */
NX_INLINE void nx_ring_publish(nx_ring_t *r, uint64_t end)
{
    atomic_store_explicit(&r->head, end, memory_order_release); /* R1 */
    if (r->wait == NX_WAIT_BLOCK)
        nx_ring__wake(r); /* F1 */
}

/* Producer: give back the claimed but not yet published slots from seq on
 * (a frame that turned out malformed half-way is not published at all).
 * seq must lie between the published head and the next claim. */
NX_INLINE void nx_ring_unclaim(nx_ring_t *r, uint64_t seq)
{
    if (seq >= atomic_load_explicit(&r->head, memory_order_relaxed) && seq <= r->claim_next)
        r->claim_next = seq;
}

/* Producer: the sequence the next claim would start at. */
NX_INLINE uint64_t nx_ring_next(const nx_ring_t *r)
{
    return r->claim_next;
}

NX_INLINE nx_ring_consumer_t *nx_ring_consumer(nx_ring_t *r, uint32_t idx)
{
    NX_DEBUG_ASSERT(idx < r->n_consumers);
    return &r->consumers[idx];
}

/* Consumer: how many events (up to max) are ready from *seq on; never
 * waits. Read them with nx_ring_slot(r, *seq + i), then nx_ring_release(). */
NX_INLINE uint32_t nx_ring_poll(nx_ring_t *r, nx_ring_consumer_t *c, uint32_t max, uint64_t *seq)
{
    uint64_t cur = c->polled;
    uint64_t avail = c->cached_head - cur;
    if (avail == 0) {
        c->cached_head = atomic_load_explicit(&r->head, memory_order_acquire); /* A1 */
        avail = c->cached_head - cur;
        if (avail == 0)
            return 0;
    }
    *seq = cur;
    if (avail > max)
        avail = max;
    c->polled = cur + avail;
    return (uint32_t)avail;
}

/* Consumer: the events from seq on (polled, not released) will be read
 * again by the next poll — a consumer that could not finish them (the
 * storage writer whose batch failed) takes them again. */
NX_INLINE void nx_ring_unpoll(nx_ring_consumer_t *c, uint64_t seq)
{
    c->polled = seq;
}

/* Consumer: done with every event with seq < end; the producer may reuse
 * those slots. */
NX_INLINE void nx_ring_release(nx_ring_consumer_t *c, uint64_t end)
{
    atomic_store_explicit(&c->cursor, end, memory_order_release); /* R2 */
}

/* Consumer: like nx_ring_poll, but waits per the ring's wait strategy for at
 * most timeout_ns (< 0: forever) for at least one event. Returns 0 on
 * timeout, or when the ring is closed and this consumer has read
 * everything. */
uint32_t nx_ring_wait(nx_ring_t *r, nx_ring_consumer_t *c, uint32_t max, uint64_t *seq,
                      int64_t timeout_ns);

/* Any thread: mark the ring closed (idempotent) and wake every waiter.
 * Consumers still drain what was published; a producer blocked in claim
 * returns 0. */
void nx_ring_close(nx_ring_t *r);
int nx_ring_is_closed(const nx_ring_t *r);

/* "spin" | "spin_yield" | "block". */
const char *nx_wait_name(nx_wait_t w);

/* Any thread: a consistent-enough snapshot of counters (relaxed loads). */
void nx_ring_stats(const nx_ring_t *r, nx_ring_stats_t *st);

/*
 * The bus: the ring specialised to nx_event_t, with sequence stamping.
 * nx_bus_claim() claims up to n event slots and returns the first; hdr.seq
 * of each is pre-stamped (slot seq + drops so far, so drops show as gaps),
 * and the first event after a drop carries NX_EVF_GAP. Producer thread only.
 */
NX_INLINE void nx_bus_event_flag_gap(nx_ring_t *r, uint64_t seq)
{
    ((nx_event_t *)nx_ring_slot(r, seq))->hdr.flags |= NX_EVF_GAP;
}

NX_INLINE uint32_t nx_bus_claim(nx_ring_t *r, uint32_t n, uint64_t *seq)
{
    uint64_t drops = r->drops; /* drops before this claim: a shortfall now shows next time */
    uint32_t got = nx_ring_claim(r, n, seq);
    for (uint32_t i = 0; i < got; i++) {
        nx_event_t *e = (nx_event_t *)nx_ring_slot(r, *seq + i);
        e->hdr.seq = *seq + i + drops;
        e->hdr.flags = 0;
    }
    if (got && drops != r->drops_flagged) {
        nx_bus_event_flag_gap(r, *seq);
        r->drops_flagged = drops;
    }
    return got;
}

NX_INLINE nx_event_t *nx_bus_event(const nx_ring_t *r, uint64_t seq)
{
    return (nx_event_t *)nx_ring_slot(r, seq);
}

#endif /* NX_RING_H */
