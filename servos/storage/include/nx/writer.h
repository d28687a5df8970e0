/*
 * writer.h — the storage writer: the service thread's consumer of the
 * journal ring.
 *
 * Each step takes what the ring holds (up to batch_max entries), stores it
 * in one transaction (nx_store_journal_batch) and only then releases the
 * slots and acknowledges: an entry acknowledged is on disk, and an entry
 * not yet stored is still in the ring. The hot path never waits on it (the
 * ring is large; when the database is slow, batches grow instead).
 *
 * When the store fails (the database down, read-only, its disk full), a
 * writer with a spill file appends the batch there instead — one write and
 * an fdatasync, records with a checksum — and acknowledges it: an entry in
 * the spill file is as durable as one in the database. While the file holds
 * entries every new batch goes there too (so the database gets them in
 * order), and once a second the writer tries to move the file's entries
 * into the store (those already stored, by sequence, skipped: a move cut
 * short is finished, never doubled), then empties the file. A writer made
 * with a spill file that still holds entries (the process stopped while
 * the database was away) stores them first, or refuses to start.
 *
 * When neither takes the batch (the database away and the disk full), the
 * entries stay in the ring and are retried on the next step, with the
 * error logged once per streak: nx_writer_state says NX_WRITER_DOWN, and
 * the engine opens no new position until something is durable again.
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
    /* the spill file (optional, e.g. data_dir/journal.spill; copied); NULL:
     * none, a failed batch waits in the ring */
    const char *spill_path;
} nx_writer_opts_t;

typedef enum nx_writer_state {
    NX_WRITER_STORING = 0, /* entries go to the store */
    NX_WRITER_SPILLING,    /* the store fails: entries go to the spill file */
    NX_WRITER_DOWN,        /* neither takes them: they wait in the ring */
} nx_writer_state_t;

/* Returns 0; NX_EIO (a spill file that cannot be opened, is not one, or
 * whose entries the store does not take: the reason is logged) or a
 * store error. */
int nx_writer_create(nx_writer_t **out, const nx_writer_opts_t *o);
/* One batch: waits up to wait_ns for the first entry. Returns how many
 * entries were made durable, in the store or the spill file (0 if none
 * came), or a negative NX_E… code when neither took them (nothing
 * released; retried next time). */
int nx_writer_step(nx_writer_t *w, int64_t wait_ns);
/* Everything, until the ring is closed and empty (shutdown). 0 or the last
 * error after `attempts` failed tries in a row. */
int nx_writer_drain(nx_writer_t *w, int attempts);
uint64_t nx_writer_written(const nx_writer_t *w); /* entries made durable this run */
nx_writer_state_t nx_writer_state(const nx_writer_t *w);
/* Entries in the spill file now, and in all this run (spilled, moved on). */
uint64_t nx_writer_spill_held(const nx_writer_t *w);
void nx_writer_spill_totals(const nx_writer_t *w, uint64_t *spilled, uint64_t *moved);
/* Why the last batch was not stored (the store's or the spill's error). */
const char *nx_writer_error(const nx_writer_t *w);
void nx_writer_destroy(nx_writer_t *w);

#endif
