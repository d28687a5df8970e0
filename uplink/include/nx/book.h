/*
 * book.h — local L2 order books kept in sync with a venue's diff stream.
 *
 * Storage: per side a sorted array of (price, qty) levels, bids descending
 * and asks ascending, with a fixed capacity (`depth`) allocated at start.
 * Updates land near the top of the book (measured on the captures: most
 * within the first 20 levels), so binary search plus a short memmove beats
 * a tree and keeps the best levels in one or two cache lines. A level that
 * would fall beyond `depth` is not kept; the worst level is evicted when a
 * better one arrives at a full side.
 *
 * Sync rules, exactly as the venues document them:
 *  Binance USD-M: buffer diffs until the REST snapshot (lastUpdateId L)
 *    arrives; drop buffered diffs with u < L; the first applied needs
 *    U <= L <= u; every later one needs pu == the previous u.
 *  Binance spot: the same, with U == previous u + 1 for continuity and
 *    U <= L + 1 <= u for the first diff.
 *  Bybit V5: a snapshot replaces the book; each delta needs
 *    u == previous u + 1.
 *  Partial-book streams (Binance depth5/10/20) replace the book.
 * A broken chain or a crossed book (best bid >= best ask) is a gap: the
 * book goes back to waiting for a snapshot and the caller must request one
 * (REST for Binance, resubscribe for Bybit) and publish a status event.
 *
 * Threads: a book belongs to the network thread that feeds it.
 */
#ifndef NX_BOOK_H
#define NX_BOOK_H

#include <stdint.h>

#include "nx/event.h"
#include "nx/venue.h"

typedef struct nx_level {
    int64_t px;  /* price ticks */
    int64_t qty; /* quantity lots, > 0 */
} nx_level_t;

typedef enum nx_book_state {
    NX_BOOK_WAIT_SNAPSHOT = 0, /* buffering diffs until a snapshot */
    NX_BOOK_LIVE = 1,
} nx_book_state_t;

typedef enum nx_book_result {
    NX_BOOK_APPLIED = 0, /* the message changed the book */
    NX_BOOK_BUFFERED,    /* kept for after the snapshot */
    NX_BOOK_SKIPPED,     /* older than the snapshot, or waiting for one */
    NX_BOOK_GAP,         /* chain broken or book crossed: request a snapshot */
    NX_BOOK_RESYNCED,    /* a snapshot (and buffered diffs) made the book live */
} nx_book_result_t;

/* One buffered diff level (Binance, while waiting for the snapshot). */
typedef struct nx_book_pending {
    nx_ev_book_t lv;
    uint8_t last; /* last level of its message */
} nx_book_pending_t;

typedef struct nx_book {
    uint32_t symbol;
    uint8_t venue;        /* nx_venue_t: picks the sync rule */
    uint8_t state;        /* nx_book_state_t */
    uint8_t assume_empty; /* no snapshot will come: start from an empty book */
    uint32_t depth;       /* levels kept per side */
    uint32_t nbids, nasks;
    nx_level_t *bids, *asks;
    uint64_t last_id;  /* final update id of the last applied message */
    int first_pending; /* Binance: the first diff after the snapshot is next */
    uint64_t snapshot_id;
    nx_book_pending_t *pending;
    uint32_t npending, pending_cap;
    int64_t last_update_ns; /* exchange time of the last applied message */
    /* counters */
    uint64_t messages, gaps, syncs, resyncs, crossed, overflow;
    uint8_t after_gap; /* a gap happened; the next snapshot is a resync */
} nx_book_t;

/* Allocate a book for (venue, symbol) keeping `depth` levels per side and
 * buffering up to `pending_cap` diff levels before a snapshot (start-up).
 * Returns 0, NX_EINVAL or NX_ENOMEM. */
int nx_book_init(nx_book_t *b, nx_venue_t venue, uint32_t symbol, uint32_t depth,
                 uint32_t pending_cap);
void nx_book_free(nx_book_t *b);

/* Set one level (qty 0 removes it). */
void nx_book_set(nx_book_t *b, uint8_t side, int64_t px, int64_t qty);

/* Forget the book and wait for a new snapshot (after a gap or reconnect). */
void nx_book_reset(nx_book_t *b);

static inline int nx_book_crossed(const nx_book_t *b)
{
    return b->nbids && b->nasks && b->bids[0].px >= b->asks[0].px;
}

/*
 * A set of books for one venue connection, indexed by symbol id, applying
 * each decoded frame's NX_EV_BOOK events and reporting gaps and resyncs as
 * NX_EV_STATUS events on the decoder's ring. A symbol's book is allocated
 * the first time it appears (or when subscribed), never per message.
 */
#include "nx/decode.h"

typedef struct nx_bookset {
    nx_venue_t venue;
    uint32_t depth, pending_cap;
    int assume_empty; /* replaying captures without snapshots */
    nx_book_t *books[NX_SYMTAB_MAX];
    uint64_t gaps, resyncs, crossed;
    /* Called on a gap so the owner can request a snapshot (REST for
     * Binance, resubscribe for Bybit). May be NULL. */
    void (*on_gap)(void *ctx, uint32_t symbol);
    void *ctx;
} nx_bookset_t;

void nx_bookset_init(nx_bookset_t *s, nx_venue_t venue, uint32_t depth, uint32_t pending_cap);
void nx_bookset_free(nx_bookset_t *s);

/* The book for a symbol, created on first use; NULL on allocation failure. */
nx_book_t *nx_bookset_get(nx_bookset_t *s, uint32_t symbol);

/* Apply the n events published by the decoder from first_seq (only the
 * NX_EV_BOOK ones matter), publishing a status event per gap and per
 * recovery. Returns the number of gaps found. */
uint32_t nx_bookset_apply(nx_bookset_t *s, nx_decoder_t *d, uint64_t first_seq, uint32_t n);

#endif /* NX_BOOK_H */
