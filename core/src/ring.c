/*
 * ring.c — slow paths of the bus: set-up, the producer's wait for space,
 * consumer waiting (spin / spin-then-yield / futex), wake-ups and close.
 * The fast paths are inline in ring.h.
 */
#include "nx/ring.h"
#include "nx/error.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Spins before yielding (~4k pause instructions is 10-50 µs: long enough to
 * catch a producer mid-batch, short enough not to starve a 2-core box). */
#define SPIN_LIMIT 4096
/* Spins before a BLOCK consumer goes to sleep on the futex. */
#define BLOCK_SPIN 256

static int is_pow2(uint64_t x)
{
    return x && !(x & (x - 1));
}

static uint32_t log2u(uint64_t x)
{
    return (uint32_t)__builtin_ctzll(x);
}

size_t nx_ring_memsize(uint64_t capacity, uint32_t elem_size)
{
    if (!is_pow2(capacity) || !is_pow2(elem_size))
        return 0;
    size_t head =
        (sizeof(nx_ring_t) + NX_FALSE_SHARING_RANGE - 1) & ~(size_t)(NX_FALSE_SHARING_RANGE - 1);
    return head + (size_t)capacity * elem_size;
}

int nx_ring_init(nx_ring_t *r, const char *name, uint64_t capacity, uint32_t elem_size,
                 uint32_t n_consumers, nx_ring_policy_t policy, nx_wait_t wait)
{
    if (!r || !is_pow2(capacity) || !is_pow2(elem_size) || elem_size < 8 || n_consumers == 0 ||
        n_consumers > NX_RING_MAX_CONSUMERS || ((uintptr_t)r % NX_FALSE_SHARING_RANGE) != 0 ||
        capacity > (1ull << 40))
        return NX_EINVAL;
    size_t head = nx_ring_memsize(capacity, elem_size) - (size_t)capacity * elem_size;
    memset(r, 0, head);
    r->slots = (uint8_t *)r + head;
    memset(r->slots, 0, (size_t)capacity * elem_size);
    r->mask = capacity - 1;
    r->elem_shift = log2u(elem_size);
    r->n_consumers = n_consumers;
    r->policy = (uint8_t)policy;
    r->wait = (uint8_t)wait;
    {
        size_t n = name ? strlen(name) : 0;
        if (n >= sizeof r->name)
            n = sizeof r->name - 1;
        if (n)
            memcpy(r->name, name, n);
        r->name[n] = 0;
    }
    return 0;
}

int nx_ring_create(nx_ring_t **out, const char *name, uint64_t capacity, uint32_t elem_size,
                   uint32_t n_consumers, nx_ring_policy_t policy, nx_wait_t wait)
{
    size_t sz = nx_ring_memsize(capacity, elem_size);
    if (sz == 0)
        return NX_EINVAL;
    void *mem = aligned_alloc(NX_FALSE_SHARING_RANGE, sz);
    if (!mem)
        return NX_ENOMEM;
    int rc = nx_ring_init(mem, name, capacity, elem_size, n_consumers, policy, wait);
    if (rc) {
        free(mem);
        return rc;
    }
    *out = mem;
    return 0;
}

void nx_ring_destroy(nx_ring_t *r)
{
    free(r);
}

uint64_t nx_ring__gate(nx_ring_t *r)
{
    uint64_t min = UINT64_MAX;
    for (uint32_t i = 0; i < r->n_consumers; i++) {
        uint64_t c = atomic_load_explicit(&r->consumers[i].cursor, memory_order_acquire); /* A2 */
        if (c < min)
            min = c;
    }
    return min;
}

static void nap(unsigned round)
{
    if (round < SPIN_LIMIT) {
        nx_cpu_relax();
    } else if (round < SPIN_LIMIT + 64) {
        sched_yield();
    } else {
        struct timespec ts = {0, 50 * 1000}; /* 50 µs: the consumer is far behind */
        nanosleep(&ts, NULL);
    }
}

uint64_t nx_ring__producer_wait(nx_ring_t *r, uint64_t need)
{
    uint64_t cap = r->mask + 1;
    r->producer_waits++;
    for (unsigned round = 0;; round++) {
        r->cached_gate = nx_ring__gate(r);
        uint64_t free_slots = r->cached_gate + cap - r->claim_next;
        if (free_slots >= need)
            return free_slots;
        if (atomic_load_explicit(&r->closed, memory_order_acquire))
            return 0;
        nap(round);
    }
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

void nx_ring__wake(nx_ring_t *r)
{
    atomic_thread_fence(memory_order_seq_cst); /* F1 */
    if (atomic_load_explicit(&r->waiters, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&r->futex_seq, 1, memory_order_release);
        futex(&r->futex_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint32_t nx_ring_wait(nx_ring_t *r, nx_ring_consumer_t *c, uint32_t max, uint64_t *seq,
                      int64_t timeout_ns)
{
    uint32_t n = nx_ring_poll(r, c, max, seq);
    if (n)
        return n;
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : mono_ns() + timeout_ns;
    for (unsigned round = 0;; round++) {
        n = nx_ring_poll(r, c, max, seq);
        if (n)
            return n;
        if (atomic_load_explicit(&r->closed, memory_order_acquire)) {
            /* Closed: a last look, since the producer may have published
             * right before closing. */
            return nx_ring_poll(r, c, max, seq);
        }
        if ((round & 63) == 63 && mono_ns() >= deadline)
            return 0;
        switch ((nx_wait_t)r->wait) {
        case NX_WAIT_SPIN:
            nx_cpu_relax();
            break;
        case NX_WAIT_SPIN_YIELD:
            if (round < SPIN_LIMIT)
                nx_cpu_relax();
            else
                sched_yield();
            break;
        case NX_WAIT_BLOCK:
            if (round < BLOCK_SPIN) {
                nx_cpu_relax();
                break;
            }
            {
                uint32_t key = atomic_load_explicit(&r->futex_seq, memory_order_acquire);
                atomic_fetch_add_explicit(&r->waiters, 1, memory_order_seq_cst); /* F2 */
                uint64_t head = atomic_load_explicit(&r->head, memory_order_seq_cst);
                if (head == c->polled && !atomic_load_explicit(&r->closed, memory_order_acquire)) {
                    int64_t left = deadline == INT64_MAX ? 0 : deadline - mono_ns();
                    if (deadline != INT64_MAX && left <= 0) {
                        atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
                        return 0;
                    }
                    /* Cap each sleep at 100 ms so a lost race with close()
                     * costs at most that. */
                    if (left <= 0 || left > 100000000)
                        left = 100000000;
                    struct timespec ts = {left / 1000000000, left % 1000000000};
                    futex(&r->futex_seq, FUTEX_WAIT_PRIVATE, key, &ts);
                }
                atomic_fetch_sub_explicit(&r->waiters, 1, memory_order_relaxed);
            }
            break;
        }
    }
}

void nx_ring_close(nx_ring_t *r)
{
    atomic_store_explicit(&r->closed, 1, memory_order_release);
    atomic_fetch_add_explicit(&r->futex_seq, 1, memory_order_release);
    futex(&r->futex_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

int nx_ring_is_closed(const nx_ring_t *r)
{
    return (int)atomic_load_explicit(&((nx_ring_t *)r)->closed, memory_order_acquire);
}

void nx_ring_stats(const nx_ring_t *r, nx_ring_stats_t *st)
{
    nx_ring_t *m = (nx_ring_t *)r;
    uint64_t head = atomic_load_explicit(&m->head, memory_order_relaxed);
    uint64_t min = head;
    for (uint32_t i = 0; i < r->n_consumers; i++) {
        uint64_t c = atomic_load_explicit(&m->consumers[i].cursor, memory_order_relaxed);
        if (c < min)
            min = c;
    }
    st->published = head;
    st->overruns = atomic_load_explicit(&m->overruns, memory_order_relaxed);
    st->max_lag = head - min;
    st->capacity = r->mask + 1;
}

const char *nx_wait_name(nx_wait_t w)
{
    return w == NX_WAIT_SPIN ? "spin" : w == NX_WAIT_SPIN_YIELD ? "spin_yield" : "block";
}
