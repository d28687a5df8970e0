/*
 * writer.h — the storage writer: the service thread's consumer of the
 * journal ring.
 *
 * Each step takes what the ring holds (up to batch_max entries), stores it
 * in one transaction (nx_store_journal_batch) and only then releases the
 * slots and acknowledges: an entry acknowledged is on disk, and an entry
 * not yet stored is still in the ring. The hot path never waits on it (the
 * ring is large; when the database is slow, batches grow instead). A store
 * error keeps the entries and is retried on the next step, with the error
 * logged once per streak.
 *
 * Sequence numbers are unique across restarts: the first entry of a run is
 * stored under the database's last sequence + 1.
 *
 * Threads: one writer per ring consumer, used by one thread (the service
 * thread) only.
 */
#ifndef NX_WRITER_H
#define NX_WRITER_H

#include <stdint.h>

#include "nx/ring.h"
#include "nx/store.h"
#include "nx/symtab.h"

typedef struct nx_writer nx_writer_t;

typedef struct nx_writer_opts {
    nx_store_t *store;
    const nx_symtab_t *symtab;
    nx_ring_t *ring;    /* the journal ring (events) */
    uint32_t consumer;  /* its consumer index for the writer */
    uint32_t batch_max; /* entries per transaction at most; 0 = 4096 */
    /* after each commit: the last sequence stored (optional) */
    void (*on_ack)(void *ctx, uint64_t seq);
    void *ctx;
    /* after each commit, each entry of the batch in order (optional; ctx) */
    void (*on_entry)(void *ctx, const nx_event_t *ev);
} nx_writer_opts_t;

int nx_writer_create(nx_writer_t **out, const nx_writer_opts_t *o);
/* One batch: waits up to wait_ns for the first entry. Returns how many
 * entries were stored (0 if none came), or a negative NX_E… code when the
 * store failed (nothing released; retried next time). */
int nx_writer_step(nx_writer_t *w, int64_t wait_ns);
/* Everything, until the ring is closed and empty (shutdown). 0 or the last
 * error after `attempts` failed tries in a row. */
int nx_writer_drain(nx_writer_t *w, int attempts);
uint64_t nx_writer_written(const nx_writer_t *w); /* entries this run */
void nx_writer_destroy(nx_writer_t *w);

#endif
