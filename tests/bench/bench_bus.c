/*
 * bench_bus — the event bus, one producer thread and one consumer thread,
 * 64-byte events, against Concurrency Kit's ck_ring in the same process.
 *
 * Runs, each pinned producer->CPU 0, consumer->CPU 1 (when there are two):
 *  1. pingpong: one cache line bounced between the two threads; the
 *     one-way handoff time is this machine's floor for any cross-thread
 *     queue (C2C in research/perf.md).
 *  2. throughput, nx ring, batched claim/publish and batch poll (how the
 *     network thread and the engine use it);
 *  3. throughput, nx ring, one event per claim and per poll;
 *  4. throughput, ck_ring SPSC with the same 64-byte events (copy in/out,
 *     its only mode);
 *  5. one-way latency: the producer stamps the TSC into each event just
 *     before publishing and the consumer subtracts on receipt; events are
 *     sent one at a time, each after the previous was consumed, so this
 *     is the handoff latency without queueing. Same for ck_ring.
 *
 * Every consumer checks the sequence numbers it receives (sum and order),
 * so a fast but wrong ring would fail loudly.
 *
 *   bench_bus [EVENTS]      (default 10^8; NX_BENCH_EVENTS also works)
 */
#include <ck_ring.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#include "nx/clock.h"
#include "tsc.h"
#include "nx/ring.h"

typedef struct bev {
    uint64_t seq;
    uint64_t tsc;
    uint8_t pad[48];
} __attribute__((aligned(64))) bev_t;
_Static_assert(sizeof(bev_t) == 64, "64-byte events");

CK_RING_PROTOTYPE(bev, bev)

#define CAP   4096
#define BATCH 64

static uint64_t n_events;

static void pin(int cpu)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 2)
        return;
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu % n, &s);
    pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static void fail(const char *what)
{
    fprintf(stderr, "bench_bus: VERIFICATION FAILED: %s\n", what);
    exit(1);
}

/* ---------- pingpong ---------- */

static _Atomic uint64_t pp_line __attribute__((aligned(128)));
#define PP_ROUNDS 2000000

static void *pp_peer(void *arg)
{
    (void)arg;
    pin(1);
    for (uint64_t i = 1; i <= PP_ROUNDS; i++) {
        while (atomic_load_explicit(&pp_line, memory_order_acquire) != 2 * i - 1)
            ;
        atomic_store_explicit(&pp_line, 2 * i, memory_order_release);
    }
    return NULL;
}

static double pingpong(void)
{
    pthread_t th;
    atomic_store(&pp_line, 0);
    pthread_create(&th, NULL, pp_peer, NULL);
    pin(0);
    int64_t t0 = nx_mono_ns();
    for (uint64_t i = 1; i <= PP_ROUNDS; i++) {
        atomic_store_explicit(&pp_line, 2 * i - 1, memory_order_release);
        while (atomic_load_explicit(&pp_line, memory_order_acquire) != 2 * i)
            ;
    }
    int64_t t1 = nx_mono_ns();
    pthread_join(th, NULL);
    return (double)(t1 - t0) / (2.0 * PP_ROUNDS);
}

/* ---------- nx ring throughput ---------- */

typedef struct targ {
    nx_ring_t *r;
    ck_ring_t *ck;
    bev_t *ckbuf;
    uint32_t batch;
    uint64_t sum;
} targ_t;

static void *nx_consumer(void *p)
{
    targ_t *a = p;
    pin(1);
    nx_ring_consumer_t *c = nx_ring_consumer(a->r, 0);
    uint64_t expect = 0, sum = 0;
    while (expect < n_events) {
        uint64_t seq;
        uint32_t n = nx_ring_poll(a->r, c, a->batch == 1 ? 1 : CAP, &seq);
        if (!n) {
            nx_cpu_relax();
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            const bev_t *e = nx_ring_slot(a->r, seq + i);
            if (e->seq != expect)
                fail("nx ring delivered out of order");
            sum += e->seq;
            expect++;
        }
        nx_ring_release(c, seq + n);
    }
    a->sum = sum;
    return NULL;
}

static double nx_throughput(uint32_t batch, uint32_t elem_size)
{
    nx_ring_t *r;
    if (nx_ring_create(&r, "bench", CAP, elem_size, 1, NX_RING_NO_DROP, NX_WAIT_SPIN))
        fail("ring create");
    targ_t a = {.r = r, .batch = batch};
    pthread_t th;
    pthread_create(&th, NULL, nx_consumer, &a);
    pin(0);
    int64_t t0 = nx_mono_ns();
    for (uint64_t sent = 0; sent < n_events;) {
        uint32_t want = batch;
        if (want > n_events - sent)
            want = (uint32_t)(n_events - sent);
        uint64_t seq;
        uint32_t got = nx_ring_claim(r, want, &seq);
        for (uint32_t i = 0; i < got; i++) {
            bev_t *e = nx_ring_slot(r, seq + i);
            e->seq = sent + i;
        }
        nx_ring_publish(r, seq + got);
        sent += got;
    }
    pthread_join(th, NULL);
    int64_t t1 = nx_mono_ns();
    if (a.sum != n_events * (n_events - 1) / 2)
        fail("nx ring checksum");
    nx_ring_destroy(r);
    return (double)n_events / ((double)(t1 - t0) / 1e9);
}

/* ---------- ck_ring throughput ---------- */

static void *ck_consumer(void *p)
{
    targ_t *a = p;
    pin(1);
    uint64_t expect = 0, sum = 0;
    bev_t e;
    while (expect < n_events) {
        if (!ck_ring_dequeue_spsc_bev(a->ck, a->ckbuf, &e)) {
            nx_cpu_relax();
            continue;
        }
        if (e.seq != expect)
            fail("ck ring delivered out of order");
        sum += e.seq;
        expect++;
    }
    a->sum = sum;
    return NULL;
}

static double ck_throughput(void)
{
    ck_ring_t ring;
    bev_t *buf = aligned_alloc(128, CAP * sizeof(bev_t));
    ck_ring_init(&ring, CAP);
    targ_t a = {.ck = &ring, .ckbuf = buf};
    pthread_t th;
    pthread_create(&th, NULL, ck_consumer, &a);
    pin(0);
    int64_t t0 = nx_mono_ns();
    bev_t e;
    memset(&e, 0, sizeof e);
    for (uint64_t sent = 0; sent < n_events;) {
        e.seq = sent;
        if (ck_ring_enqueue_spsc_bev(&ring, buf, &e))
            sent++;
        else
            nx_cpu_relax();
    }
    pthread_join(th, NULL);
    int64_t t1 = nx_mono_ns();
    if (a.sum != n_events * (n_events - 1) / 2)
        fail("ck ring checksum");
    free(buf);
    return (double)n_events / ((double)(t1 - t0) / 1e9);
}

/* ---------- one-way latency ---------- */

#define LAT_SAMPLES 2000000
static uint64_t *lat;
static _Atomic uint64_t lat_done;

static void *nx_lat_consumer(void *p)
{
    targ_t *a = p;
    pin(1);
    nx_ring_consumer_t *c = nx_ring_consumer(a->r, 0);
    for (uint64_t k = 0; k < LAT_SAMPLES;) {
        uint64_t seq;
        if (!nx_ring_poll(a->r, c, 1, &seq))
            continue;
        uint64_t now = ticks();
        const bev_t *e = nx_ring_slot(a->r, seq);
        if (e->seq != k)
            fail("nx latency order");
        lat[k++] = now - e->tsc;
        nx_ring_release(c, seq + 1);
        atomic_store_explicit(&lat_done, k, memory_order_release);
    }
    return NULL;
}

static void *ck_lat_consumer(void *p)
{
    targ_t *a = p;
    pin(1);
    bev_t e;
    for (uint64_t k = 0; k < LAT_SAMPLES;) {
        if (!ck_ring_dequeue_spsc_bev(a->ck, a->ckbuf, &e))
            continue;
        uint64_t now = ticks();
        if (e.seq != k)
            fail("ck latency order");
        lat[k++] = now - e.tsc;
        atomic_store_explicit(&lat_done, k, memory_order_release);
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct pct {
    double p50, p99, p999, max;
} pct_t;

static pct_t percentiles(void)
{
    qsort(lat, LAT_SAMPLES, sizeof lat[0], cmp_u64);
    pct_t p;
    p.p50 = (double)lat[LAT_SAMPLES / 2] * ns_per_tick;
    p.p99 = (double)lat[(uint64_t)(LAT_SAMPLES * 0.99)] * ns_per_tick;
    p.p999 = (double)lat[(uint64_t)(LAT_SAMPLES * 0.999)] * ns_per_tick;
    p.max = (double)lat[LAT_SAMPLES - 1] * ns_per_tick;
    return p;
}

static void wait_consumed(uint64_t k)
{
    while (atomic_load_explicit(&lat_done, memory_order_acquire) < k)
        nx_cpu_relax();
    /* A short pause so the next send does not ride on the consumer's
     * still-hot line; ~100 ns. */
    for (int i = 0; i < 20; i++)
        nx_cpu_relax();
}

static pct_t nx_latency(void)
{
    nx_ring_t *r;
    if (nx_ring_create(&r, "lat", CAP, sizeof(bev_t), 1, NX_RING_NO_DROP, NX_WAIT_SPIN))
        fail("ring create");
    targ_t a = {.r = r};
    atomic_store(&lat_done, 0);
    pthread_t th;
    pthread_create(&th, NULL, nx_lat_consumer, &a);
    pin(0);
    for (uint64_t k = 0; k < LAT_SAMPLES; k++) {
        uint64_t seq;
        nx_ring_claim(r, 1, &seq);
        bev_t *e = nx_ring_slot(r, seq);
        e->seq = k;
        e->tsc = ticks();
        nx_ring_publish(r, seq + 1);
        wait_consumed(k + 1);
    }
    pthread_join(th, NULL);
    nx_ring_destroy(r);
    return percentiles();
}

static pct_t ck_latency(void)
{
    ck_ring_t ring;
    bev_t *buf = aligned_alloc(128, CAP * sizeof(bev_t));
    ck_ring_init(&ring, CAP);
    targ_t a = {.ck = &ring, .ckbuf = buf};
    atomic_store(&lat_done, 0);
    pthread_t th;
    pthread_create(&th, NULL, ck_lat_consumer, &a);
    pin(0);
    bev_t e;
    memset(&e, 0, sizeof e);
    for (uint64_t k = 0; k < LAT_SAMPLES; k++) {
        e.seq = k;
        e.tsc = ticks();
        while (!ck_ring_enqueue_spsc_bev(&ring, buf, &e))
            ;
        wait_consumed(k + 1);
    }
    pthread_join(th, NULL);
    free(buf);
    return percentiles();
}

int main(int argc, char **argv)
{
    n_events = 100000000ULL;
    const char *env = getenv("NX_BENCH_EVENTS");
    if (argc > 1)
        n_events = strtoull(argv[1], NULL, 10);
    else if (env)
        n_events = strtoull(env, NULL, 10);
    if (n_events < 1000)
        n_events = 1000;
    lat = malloc(LAT_SAMPLES * sizeof *lat);
    calibrate();
    printf("bench_bus: %" PRIu64 " events of %zu bytes, ring capacity %d, batch %d, cpus %ld\n",
           n_events, sizeof(bev_t), CAP, BATCH, sysconf(_SC_NPROCESSORS_ONLN));
    printf("tsc: %.4f ns/tick\n", ns_per_tick);

    double pp = pingpong();
    printf("pingpong (cache-line handoff, one way): %.1f ns\n", pp);

    /* Interleave runs so drift on a shared machine hits both sides. */
    double nx_b1 = nx_throughput(BATCH, sizeof(bev_t));
    double ck1 = ck_throughput();
    double nx_b2 = nx_throughput(BATCH, sizeof(bev_t));
    double ck2 = ck_throughput();
    double nx_single = nx_throughput(1, sizeof(bev_t));
    double nx_ev128 = nx_throughput(BATCH, sizeof(nx_event_t));
    double nx_b = nx_b1 > nx_b2 ? nx_b1 : nx_b2;
    double ck = ck1 > ck2 ? ck1 : ck2;
    printf("throughput nx batched(%d): %.1f M events/s (runs %.1f, %.1f)\n", BATCH, nx_b / 1e6,
           nx_b1 / 1e6, nx_b2 / 1e6);
    printf("throughput nx unbatched:   %.1f M events/s\n", nx_single / 1e6);
    printf("throughput nx batched, 128-byte nx_event_t: %.1f M events/s\n", nx_ev128 / 1e6);
    printf("throughput ck_ring spsc:   %.1f M events/s (runs %.1f, %.1f)\n", ck / 1e6, ck1 / 1e6,
           ck2 / 1e6);

    pct_t nl = nx_latency();
    pct_t cl = ck_latency();
    printf(
        "one-way latency nx: p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  max %.0f ns (%d samples)\n",
        nl.p50, nl.p99, nl.p999, nl.max, LAT_SAMPLES);
    printf("one-way latency ck: p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns  max %.0f ns\n", cl.p50,
           cl.p99, cl.p999, cl.max);
    printf(
        "{\"bench\":\"bus\",\"events_per_s\":%.0f,\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"p999_ns\":%.0f,"
        "\"ck_events_per_s\":%.0f,\"ratio_vs_ck\":%.2f,\"pingpong_ns\":%.1f}\n",
        nx_b, nl.p50, nl.p99, nl.p999, ck, nx_b / ck, pp);
    free(lat);
    return 0;
}
