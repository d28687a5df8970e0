/*
 * engine_record.c — the market recorder of `nexus run --record FILE` and
 * `nexus record`: every market event the engine thread takes off the
 * market ring, as it came (before the bad-tick filter, so a backtest of
 * the file filters it the same way), in an event file (nx/evfile.h) that
 * `nexus backtest` reads.
 *
 * The engine thread copies each market event into a ring of the
 * recorder's own (128 bytes, a few ns); a thread of its own writes them.
 * The engine never waits for the disk: if the recorder falls a whole ring
 * behind, events are left out of the file, counted and said at the end
 * (the file then differs from what the engine saw, and the log says so).
 */
#include "engine.h"

#include "nx/error.h"
#include "nx/evfile.h"
#include "nx/log.h"

#include <stdlib.h>
#include <string.h>

#define REC_RING (1u << 16) /* 8 MiB: seconds of a busy feed */

static int is_market(const nx_event_t *ev)
{
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
    case NX_EV_BBO:
    case NX_EV_KLINE:
    case NX_EV_BOOK:
    case NX_EV_MARK:
        return 1;
    default:
        return 0;
    }
}

static void *recorder_main(void *arg)
{
    nx_engine_t *e = arg;
    nx_ring_consumer_t *c = nx_ring_consumer(e->rec_ring, 0);
    int64_t flush_at = nx_mono_ns() + NX_NS_PER_SEC;
    for (;;) {
        uint64_t seq;
        uint32_t n = nx_ring_wait(e->rec_ring, c, 256, &seq, 200 * NX_NS_PER_MS);
        for (uint32_t i = 0; i < n; i++)
            if (nx_evw_put(e->evw, nx_bus_event(e->rec_ring, seq + i)) < 0 && !e->rec_failed) {
                e->rec_failed = 1;
                NX_ERROR("record", "cannot write %s: the recording stops here", e->record_path);
            }
        if (n)
            nx_ring_release(c, seq + n);
        else if (nx_ring_is_closed(e->rec_ring))
            break;
        if (nx_mono_ns() >= flush_at) { /* a crash loses at most about a second */
            nx_evw_flush(e->evw);
            flush_at = nx_mono_ns() + NX_NS_PER_SEC;
        }
    }
    return NULL;
}

int engine_record_start(nx_engine_t *e)
{
    if (!e->record_path)
        return 0;
    int rc = nx_evw_open(&e->evw, e->record_path, e->symtab);
    if (rc) {
        NX_ERROR("record", "cannot write %s: %s", e->record_path, nx_strerror(rc));
        return rc;
    }
    if ((rc = nx_ring_create(&e->rec_ring, "record", REC_RING, sizeof(nx_event_t), 1,
                             NX_RING_NEVER_BLOCK, NX_WAIT_BLOCK))) {
        nx_evw_close(e->evw);
        e->evw = NULL;
        return rc;
    }
    if (pthread_create(&e->th_rec, NULL, recorder_main, e)) {
        nx_ring_destroy(e->rec_ring);
        e->rec_ring = NULL;
        nx_evw_close(e->evw);
        e->evw = NULL;
        return NX_ESYSTEM;
    }
    NX_INFO("record", "recording every market event to %s", e->record_path);
    return 0;
}

void engine_record_put(nx_engine_t *e, const nx_event_t *ev)
{
    if (!is_market(ev))
        return;
    uint64_t seq;
    if (nx_ring_claim(e->rec_ring, 1, &seq) != 1)
        return; /* counted by the ring as an overrun */
    memcpy(nx_bus_event(e->rec_ring, seq), ev, sizeof *ev);
    nx_ring_publish(e->rec_ring, seq + 1);
}

void engine_record_close(nx_engine_t *e)
{
    if (e->rec_ring)
        nx_ring_close(e->rec_ring);
}

void engine_record_join(nx_engine_t *e)
{
    if (!e->rec_ring)
        return;
    nx_ring_close(e->rec_ring); /* the engine thread closed it, unless it never ran */
    pthread_join(e->th_rec, NULL);
    nx_ring_stats_t st;
    nx_ring_stats(e->rec_ring, &st);
    uint64_t n = nx_evw_count(e->evw), bytes = nx_evw_bytes(e->evw);
    int rc = nx_evw_close(e->evw);
    e->evw = NULL;
    if (rc || e->rec_failed)
        NX_ERROR("record", "%s is not complete: writing it failed", e->record_path);
    else if (st.overruns)
        NX_WARN("record", "%s: %llu events, %llu bytes; %llu left out (the disk fell behind)",
                e->record_path, (unsigned long long)n, (unsigned long long)bytes,
                (unsigned long long)st.overruns);
    else
        NX_INFO("record", "%s: %llu events, %llu bytes, every market event the engine took",
                e->record_path, (unsigned long long)n, (unsigned long long)bytes);
    nx_ring_destroy(e->rec_ring);
    e->rec_ring = NULL;
}
