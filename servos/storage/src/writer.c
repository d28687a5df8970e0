/*
 * writer.c — the storage writer (see writer.h).
 */
#include "nx/writer.h"

#include "nx/error.h"
#include "nx/log.h"

#include <stdlib.h>
#include <time.h>

struct nx_writer {
    nx_writer_opts_t o;
    nx_ring_consumer_t *c;
    uint64_t base;    /* database sequence of ring sequence 0, minus one */
    uint64_t acked;   /* last database sequence stored */
    uint64_t written; /* entries stored this run */
    int failing;      /* consecutive failed batches */
    nx_journal_entry_t *batch;
};

int nx_writer_create(nx_writer_t **out, const nx_writer_opts_t *o)
{
    *out = NULL;
    nx_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NX_ENOMEM;
    w->o = *o;
    if (!w->o.batch_max)
        w->o.batch_max = 4096;
    w->batch = calloc(w->o.batch_max, sizeof *w->batch);
    w->c = nx_ring_consumer(o->ring, o->consumer);
    int rc = w->batch && w->c ? nx_store_journal_last(o->store, &w->base) : NX_ENOMEM;
    if (rc) {
        if (rc != NX_ENOMEM)
            NX_ERROR("store", "cannot read the journal's last sequence: %s",
                     nx_store_error(o->store));
        free(w->batch);
        free(w);
        return rc;
    }
    w->acked = w->base;
    *out = w;
    return 0;
}

int nx_writer_step(nx_writer_t *w, int64_t wait_ns)
{
    uint64_t seq;
    uint32_t n = nx_ring_wait(w->o.ring, w->c, w->o.batch_max, &seq, wait_ns);
    if (n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        w->batch[i] = (nx_journal_entry_t){w->base + seq + i + 1, nx_bus_event(w->o.ring, seq + i)};
    int rc = nx_store_journal_batch(w->o.store, w->o.symtab, w->batch, (int)n);
    if (rc) {
        nx_ring_unpoll(w->c, seq); /* the same entries again next time */
        if (w->failing++ == 0)
            NX_ERROR("store", "journal batch of %u entries not stored, will retry: %s", n,
                     nx_store_error(w->o.store));
        return rc;
    }
    if (w->failing) {
        NX_INFO("store", "journal stored again after %d failed tries", w->failing);
        w->failing = 0;
    }
    if (w->o.on_entry) /* stored: now others may act on it (the chat layer's notices) */
        for (uint32_t i = 0; i < n; i++)
            w->o.on_entry(w->o.ctx, w->batch[i].ev);
    nx_ring_release(w->c, seq + n); /* only now: the slots may be reused */
    w->acked = w->base + seq + n;
    w->written += n;
    if (w->o.on_ack)
        w->o.on_ack(w->o.ctx, w->acked);
    return (int)n;
}

int nx_writer_drain(nx_writer_t *w, int attempts)
{
    int failed = 0;
    for (;;) {
        int rc = nx_writer_step(w, 10 * 1000000LL);
        if (rc < 0) {
            if (++failed >= attempts)
                return rc;
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        failed = 0;
        if (rc == 0 && nx_ring_is_closed(w->o.ring)) {
            /* closed: anything published before the close is visible now */
            if (nx_writer_step(w, 0) == 0)
                return 0;
        }
    }
}

uint64_t nx_writer_written(const nx_writer_t *w)
{
    return w->written;
}

void nx_writer_destroy(nx_writer_t *w)
{
    if (!w)
        return;
    free(w->batch);
    free(w);
}
