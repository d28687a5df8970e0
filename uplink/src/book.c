/*
 * book.c — L2 book storage and the venue sync rules (see book.h).
 */
#include "nx/book.h"
#include "nx/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nx_book_init(nx_book_t *b, nx_venue_t venue, uint32_t symbol, uint32_t depth,
                 uint32_t pending_cap)
{
    if (!b || depth == 0 || depth > (1u << 20))
        return NX_EINVAL;
    memset(b, 0, sizeof *b);
    b->venue = (uint8_t)venue;
    b->symbol = symbol;
    b->depth = depth;
    b->bids = calloc(depth, sizeof *b->bids);
    b->asks = calloc(depth, sizeof *b->asks);
    b->pending_cap = pending_cap;
    b->pending = pending_cap ? calloc(pending_cap, sizeof *b->pending) : NULL;
    if (!b->bids || !b->asks || (pending_cap && !b->pending)) {
        nx_book_free(b);
        return NX_ENOMEM;
    }
    return 0;
}

void nx_book_free(nx_book_t *b)
{
    free(b->bids);
    free(b->asks);
    free(b->pending);
    b->bids = b->asks = NULL;
    b->pending = NULL;
}

static void book_clear(nx_book_t *b)
{
    b->nbids = b->nasks = 0;
}

void nx_book_reset(nx_book_t *b)
{
    book_clear(b);
    b->state = NX_BOOK_WAIT_SNAPSHOT;
    b->npending = 0;
    b->first_pending = 0;
}

/* Index of px in a side, or where it would go. Bids sort descending. */
static uint32_t find(const nx_level_t *lv, uint32_t n, int64_t px, int desc, int *found)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        int64_t m = lv[mid].px;
        if (m == px) {
            *found = 1;
            return mid;
        }
        if (desc ? m > px : m < px)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

void nx_book_set(nx_book_t *b, uint8_t side, int64_t px, int64_t qty)
{
    int desc = side == NX_SIDE_BUY;
    nx_level_t *lv = desc ? b->bids : b->asks;
    uint32_t *n = desc ? &b->nbids : &b->nasks;
    int found;
    uint32_t i = find(lv, *n, px, desc, &found);
    if (found) {
        if (qty > 0) {
            lv[i].qty = qty;
        } else {
            memmove(&lv[i], &lv[i + 1], (size_t)(*n - i - 1) * sizeof *lv);
            (*n)--;
        }
        return;
    }
    if (qty <= 0)
        return; /* removing a level we never had is normal */
    if (i >= b->depth) {
        b->overflow++;
        return; /* beyond the depth we keep */
    }
    if (*n == b->depth) {
        (*n)--; /* evict the worst level */
        b->overflow++;
    }
    memmove(&lv[i + 1], &lv[i], (size_t)(*n - i) * sizeof *lv);
    lv[i].px = px;
    lv[i].qty = qty;
    (*n)++;
}

static void apply_levels(nx_book_t *b, const nx_event_t *const *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const nx_ev_book_t *l = &ev[i]->u.book;
        if (l->side != NX_SIDE_NONE)
            nx_book_set(b, l->side, l->price, l->qty);
    }
}

static int is_spot(const nx_book_t *b)
{
    return b->venue == NX_VENUE_BINANCE_SPOT;
}

/* Binance: may the diff (U, u, pu) follow what the book has? */
static int binance_chains(const nx_book_t *b, const nx_ev_book_t *m)
{
    if (b->first_pending) {
        uint64_t L = b->snapshot_id;
        /* The documented bridge is U <= L <= u. A diff that starts right
         * after L (pu == L on futures, U == L + 1 on spot) continues the
         * snapshot exactly too: it happens when the snapshot was taken at
         * the end of a diff the client already had. */
        return is_spot(b) ? (m->first_id <= L + 1 && m->last_id >= L + 1)
                          : ((m->first_id <= L && m->last_id >= L) || m->prev_id == L);
    }
    return is_spot(b) ? m->first_id == b->last_id + 1 : m->prev_id == b->last_id;
}

static nx_book_result_t gap(nx_book_t *b)
{
    b->gaps++;
    b->after_gap = 1;
    nx_book_reset(b);
    return NX_BOOK_GAP;
}

static nx_book_result_t after_apply(nx_book_t *b, const nx_ev_book_t *m, int64_t ts)
{
    b->last_id = m->last_id;
    b->last_update_ns = ts;
    if (nx_book_crossed(b)) {
        b->crossed++;
        return gap(b);
    }
    return NX_BOOK_APPLIED;
}

static void buffer(nx_book_t *b, const nx_event_t *const *ev, uint32_t n);

/* Apply one Binance diff while live. */
static nx_book_result_t binance_diff(nx_book_t *b, const nx_event_t *const *ev, uint32_t n)
{
    const nx_ev_book_t *m = &ev[0]->u.book;
    if (b->first_pending && m->last_id < b->snapshot_id)
        return NX_BOOK_SKIPPED; /* older than the snapshot */
    if (!binance_chains(b, m)) {
        gap(b);
        /* This diff is valid; keep it for after the next snapshot. */
        if (b->pending)
            buffer(b, ev, n);
        return NX_BOOK_GAP;
    }
    b->first_pending = 0;
    apply_levels(b, ev, n);
    return after_apply(b, m, ev[0]->hdr.exch_ns);
}

static nx_book_result_t replay_pending(nx_book_t *b)
{
    /* Re-walk the buffered levels message by message. */
    uint32_t start = 0;
    for (uint32_t i = 0; i < b->npending; i++) {
        if (!b->pending[i].last)
            continue;
        const nx_ev_book_t *m = &b->pending[start].lv;
        if (b->first_pending && m->last_id < b->snapshot_id) {
            start = i + 1; /* older than the snapshot */
            continue;
        }
        if (!binance_chains(b, m))
            return gap(b);
        b->first_pending = 0;
        for (uint32_t k = start; k <= i; k++) {
            const nx_ev_book_t *l = &b->pending[k].lv;
            if (l->side != NX_SIDE_NONE)
                nx_book_set(b, l->side, l->price, l->qty);
        }
        b->last_id = m->last_id;
        if (nx_book_crossed(b)) {
            b->crossed++;
            return gap(b);
        }
        start = i + 1;
    }
    b->npending = 0;
    return NX_BOOK_RESYNCED;
}

static void buffer(nx_book_t *b, const nx_event_t *const *ev, uint32_t n)
{
    if (b->npending + n > b->pending_cap) {
        /* The snapshot is late: keep only the newest diffs (the snapshot
         * will be newer than the ones dropped). */
        b->overflow++;
        b->npending = 0;
        if (n > b->pending_cap)
            return;
    }
    for (uint32_t i = 0; i < n; i++) {
        b->pending[b->npending].lv = ev[i]->u.book;
        b->pending[b->npending].last = i == n - 1;
        b->npending++;
    }
}

/* Apply one venue message: the n NX_EV_BOOK events of one frame for this
 * book's symbol (all sharing the message's update ids; a marker event with
 * side NONE stands for a message without levels). Snapshot messages carry
 * NX_EVF_SNAPSHOT. Never allocates. */
static nx_book_result_t book_apply(nx_book_t *b, const nx_event_t *const *ev, uint32_t n)
{
    if (n == 0)
        return NX_BOOK_SKIPPED;
    b->messages++;
    const nx_ev_book_t *m = &ev[0]->u.book;
    int snapshot = (ev[0]->hdr.flags & NX_EVF_SNAPSHOT) != 0;
    int binance = b->venue == NX_VENUE_BINANCE_USDM || b->venue == NX_VENUE_BINANCE_SPOT;

    if (snapshot) {
        book_clear(b);
        apply_levels(b, ev, n);
        b->state = NX_BOOK_LIVE;
        b->syncs++;
        if (b->after_gap) {
            b->resyncs++;
            b->after_gap = 0;
        }
        if (binance && m->prev_id == 0 && m->first_id == m->last_id) {
            /* A REST snapshot: buffered diffs follow it. */
            b->snapshot_id = m->last_id;
            b->last_id = m->last_id;
            b->first_pending = 1;
            b->last_update_ns = ev[0]->hdr.exch_ns;
            if (nx_book_crossed(b)) {
                b->crossed++;
                return gap(b);
            }
            return replay_pending(b);
        }
        /* Bybit snapshot, or a Binance partial-book message. */
        b->first_pending = 0;
        if (after_apply(b, m, ev[0]->hdr.exch_ns) == NX_BOOK_GAP)
            return NX_BOOK_GAP;
        return NX_BOOK_RESYNCED;
    }

    if (b->state != NX_BOOK_LIVE) {
        if (b->assume_empty && b->messages == 1) {
            /* Replaying a capture that starts mid-stream: take the first
             * diff as the start and check the chain from there. */
            b->state = NX_BOOK_LIVE;
            apply_levels(b, ev, n);
            return after_apply(b, m, ev[0]->hdr.exch_ns);
        }
        if (binance && b->pending) {
            buffer(b, ev, n);
            return NX_BOOK_BUFFERED;
        }
        return NX_BOOK_SKIPPED; /* Bybit: wait for the snapshot */
    }

    if (binance)
        return binance_diff(b, ev, n);
    if (m->last_id != b->last_id + 1)
        return gap(b);
    apply_levels(b, ev, n);
    return after_apply(b, m, ev[0]->hdr.exch_ns);
}

void nx_bookset_init(nx_bookset_t *s, nx_venue_t venue, uint32_t depth, uint32_t pending_cap)
{
    memset(s, 0, sizeof *s);
    s->venue = venue;
    s->depth = depth;
    s->pending_cap = pending_cap;
}

void nx_bookset_free(nx_bookset_t *s)
{
    for (uint32_t i = 0; i < NX_SYMTAB_MAX; i++) {
        if (s->books[i]) {
            nx_book_free(s->books[i]);
            free(s->books[i]);
            s->books[i] = NULL;
        }
    }
}

nx_book_t *nx_bookset_get(nx_bookset_t *s, uint32_t symbol)
{
    if (symbol >= NX_SYMTAB_MAX)
        return NULL;
    if (!s->books[symbol]) {
        nx_book_t *b = malloc(sizeof *b);
        if (!b || nx_book_init(b, s->venue, symbol, s->depth, s->pending_cap)) {
            free(b);
            return NULL;
        }
        b->assume_empty = (uint8_t)s->assume_empty;
        s->books[symbol] = b;
    }
    return s->books[symbol];
}

uint32_t nx_bookset_apply(nx_bookset_t *s, nx_decoder_t *d, uint64_t first_seq, uint32_t n)
{
    enum { CHUNK = 1024 };
    const nx_event_t *grp[CHUNK];
    uint32_t gaps = 0;
    uint32_t i = 0;
    while (i < n) {
        const nx_event_t *e = nx_bus_event(d->ring, first_seq + i);
        if (e->hdr.type != NX_EV_BOOK) {
            i++;
            continue;
        }
        /* A message's levels are consecutive and share symbol and ids. */
        uint32_t sym = e->hdr.symbol, k = 0;
        uint64_t id = e->u.book.last_id;
        while (i < n && k < CHUNK) {
            const nx_event_t *f = nx_bus_event(d->ring, first_seq + i);
            if (f->hdr.type != NX_EV_BOOK || f->hdr.symbol != sym || f->u.book.last_id != id)
                break;
            grp[k++] = f;
            i++;
        }
        nx_book_t *b = nx_bookset_get(s, sym);
        if (!b)
            continue;
        uint64_t resyncs_before = b->resyncs, crossed_before = b->crossed;
        nx_book_result_t r = book_apply(b, grp, k);
        if (r == NX_BOOK_GAP) {
            gaps++;
            s->gaps++;
            int crossed = b->crossed > crossed_before;
            s->crossed += (uint64_t)crossed;
            char detail[48];
            snprintf(detail, sizeof detail, "%s at id %llu",
                     crossed ? "crossed book" : "chain broken", (unsigned long long)id);
            nx_decode_status(d, sym, NX_ST_BOOK_GAP, b->gaps, detail);
            if (s->on_gap)
                s->on_gap(s->ctx, sym);
        } else if (b->resyncs > resyncs_before) {
            s->resyncs++;
            nx_decode_status(d, sym, NX_ST_BOOK_RESYNCED, b->resyncs, "snapshot applied");
        }
    }
    return gaps;
}
