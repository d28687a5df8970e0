/*
 * writer.c — the storage writer (see writer.h).
 *
 * The spill file: a 32-byte header (magic, event size, layout tag) and
 * records of a sequence number, the event's bytes and a 16-byte BLAKE2b
 * (libsodium) of both. The file belongs to the build that wrote it (events
 * are stored as their in-memory bytes, which is what makes one append and
 * fdatasync per batch enough); another layout is refused by name. A record
 * torn by a crash during the append was never acknowledged: it and what
 * follows it are dropped, and said so.
 */
#include "nx/writer.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPILL_MAGIC    "NXSPILL1"
#define SPILL_HDR      32
#define SPILL_SUM      16
#define SPILL_REC      (8 + sizeof(nx_event_t) + SPILL_SUM)
#define SPILL_RETRY_NS NX_NS_PER_SEC /* how often a move into the store is tried */

struct nx_writer {
    nx_writer_opts_t o;
    nx_ring_consumer_t *c;
    uint64_t base;    /* database sequence of ring sequence 0, minus one */
    uint64_t acked;   /* last database sequence made durable */
    uint64_t written; /* entries made durable this run */
    int failing;      /* consecutive failed batches */
    nx_journal_entry_t *batch;
    nx_writer_state_t state;
    char err[256];
    /* the spill file */
    int fd;                     /* -1: none */
    uint64_t held;              /* records in it */
    uint64_t spilled, moved;    /* this run */
    int64_t next_move_ns;       /* monotonic */
    uint8_t *buf;               /* batch_max records */
    nx_event_t *evs;            /* batch_max events read back */
    nx_journal_entry_t *moving; /* batch_max entries of a move */
};

static void sum(uint8_t out[SPILL_SUM], const uint8_t *rec)
{
    crypto_generichash(out, SPILL_SUM, rec, 8 + sizeof(nx_event_t), NULL, 0);
}

static void header(uint8_t h[SPILL_HDR])
{
    memset(h, 0, SPILL_HDR);
    memcpy(h, SPILL_MAGIC, 8);
    uint32_t size = (uint32_t)sizeof(nx_event_t), types = NX_EV_TYPE_COUNT;
    memcpy(h + 8, &size, 4);
    memcpy(h + 12, &types, 4);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : ENOSPC;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static int spill_fail(nx_writer_t *w, int e, const char *what)
{
    snprintf(w->err, sizeof w->err, "spill file %s: %s: %s", w->o.spill_path, what, strerror(e));
    return NX_EIO;
}

/* Append n entries as records, durably; on failure the file is cut back to
 * where it was (a partial record would be refused at the next read). */
static int spill_append(nx_writer_t *w, const nx_journal_entry_t *e, uint32_t n)
{
    off_t end = lseek(w->fd, 0, SEEK_END);
    if (end < 0)
        return spill_fail(w, errno, "seek");
    int rc = 0;
    if (end == 0) {
        uint8_t h[SPILL_HDR];
        header(h);
        rc = write_all(w->fd, h, SPILL_HDR);
    }
    for (uint32_t i = 0; i < n && !rc; i++) {
        uint8_t *r = w->buf + (size_t)i * SPILL_REC;
        memcpy(r, &e[i].seq, 8);
        memcpy(r + 8, e[i].ev, sizeof(nx_event_t));
        sum(r + 8 + sizeof(nx_event_t), r);
    }
    if (!rc)
        rc = write_all(w->fd, w->buf, (size_t)n * SPILL_REC);
    if (!rc && fdatasync(w->fd) != 0)
        rc = errno;
    if (rc) {
        if (ftruncate(w->fd, end) != 0 || fdatasync(w->fd) != 0)
            NX_ERROR("store", "spill file %s could not be cut back after a failed write: %s",
                     w->o.spill_path, strerror(errno));
        return spill_fail(w, rc, "append");
    }
    w->held += n;
    w->spilled += n;
    return 0;
}

static int read_all(int fd, uint8_t *p, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, p + got, n - got, at + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    return 0;
}

/* Records in the file (checked), from its header on; a torn or damaged
 * record ends the file there. */
static int spill_scan(nx_writer_t *w, uint64_t *records)
{
    *records = 0;
    struct stat sb;
    if (fstat(w->fd, &sb) != 0)
        return spill_fail(w, errno, "stat");
    if (sb.st_size == 0)
        return 0;
    uint8_t h[SPILL_HDR], want[SPILL_HDR];
    header(want);
    if (sb.st_size < SPILL_HDR || read_all(w->fd, h, SPILL_HDR, 0) || memcmp(h, want, SPILL_HDR)) {
        snprintf(w->err, sizeof w->err,
                 "%s is not a journal spill file of this build of Nexus (another version wrote "
                 "it, or it is damaged): store its entries with the version that wrote it, or "
                 "move it away",
                 w->o.spill_path);
        return NX_EIO;
    }
    uint64_t n = (uint64_t)(sb.st_size - SPILL_HDR) / SPILL_REC;
    uint8_t s[SPILL_SUM];
    uint64_t good = 0;
    for (; good < n; good++) {
        uint8_t *r = w->buf;
        if (read_all(w->fd, r, SPILL_REC, SPILL_HDR + (off_t)(good * SPILL_REC)))
            break;
        sum(s, r);
        if (memcmp(s, r + 8 + sizeof(nx_event_t), SPILL_SUM))
            break;
    }
    off_t keep = SPILL_HDR + (off_t)(good * SPILL_REC);
    if (keep != sb.st_size) {
        NX_WARN("store",
                "spill file %s: %lld bytes after entry %llu are a record torn by a crash while "
                "it was written (never acknowledged): dropped",
                w->o.spill_path, (long long)(sb.st_size - keep), (unsigned long long)good);
        if (ftruncate(w->fd, keep) != 0 || fdatasync(w->fd) != 0)
            return spill_fail(w, errno, "truncate");
    }
    *records = good;
    return 0;
}

/* Move the file's records into the store, batch by batch, skipping those
 * the store has (a move cut short before); then empty the file. */
static int spill_move(nx_writer_t *w)
{
    uint64_t last = 0;
    if (nx_store_journal_last(w->o.store, &last)) {
        snprintf(w->err, sizeof w->err, "%s", nx_store_error(w->o.store));
        return NX_EIO;
    }
    uint64_t i = 0;
    while (i < w->held) {
        uint32_t n = 0;
        for (; i < w->held && n < w->o.batch_max; i++) {
            uint8_t *r = w->buf;
            if (read_all(w->fd, r, SPILL_REC, SPILL_HDR + (off_t)(i * SPILL_REC)))
                return spill_fail(w, errno ? errno : EIO, "read");
            uint64_t seq;
            memcpy(&seq, r, 8);
            if (seq <= last)
                continue; /* stored by a move cut short */
            memcpy(&w->evs[n], r + 8, sizeof(nx_event_t));
            w->moving[n] = (nx_journal_entry_t){seq, &w->evs[n]};
            n++;
        }
        if (n && nx_store_journal_batch(w->o.store, w->o.symtab, w->moving, (int)n)) {
            snprintf(w->err, sizeof w->err, "%s", nx_store_error(w->o.store));
            return NX_EIO;
        }
        if (n) {
            last = w->moving[n - 1].seq;
            w->moved += n;
        }
    }
    if (ftruncate(w->fd, 0) != 0 || fdatasync(w->fd) != 0)
        return spill_fail(w, errno, "empty");
    NX_INFO("store", "%llu journal entries moved from the spill file into the store",
            (unsigned long long)w->held);
    w->held = 0;
    return 0;
}

int nx_writer_create(nx_writer_t **out, const nx_writer_opts_t *o)
{
    *out = NULL;
    nx_writer_t *w = calloc(1, sizeof *w);
    if (!w)
        return NX_ENOMEM;
    w->o = *o;
    w->fd = -1;
    if (o->spill_path && !(w->o.spill_path = strdup(o->spill_path))) {
        free(w);
        return NX_ENOMEM;
    }
    if (!w->o.batch_max)
        w->o.batch_max = 4096;
    w->batch = calloc(w->o.batch_max, sizeof *w->batch);
    w->c = nx_ring_consumer(o->ring, o->consumer);
    int rc = w->batch && w->c ? 0 : NX_ENOMEM;
    if (!rc && o->spill_path) {
        w->buf = malloc((size_t)w->o.batch_max * SPILL_REC);
        w->evs = aligned_alloc(NX_CACHELINE, (size_t)w->o.batch_max * sizeof(nx_event_t));
        w->moving = calloc(w->o.batch_max, sizeof *w->moving);
        rc = w->buf && w->evs && w->moving ? 0 : NX_ENOMEM;
        if (!rc && (w->fd = open(o->spill_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
            rc = spill_fail(w, errno, "open");
        if (!rc)
            rc = spill_scan(w, &w->held);
        if (!rc && w->held) {
            NX_INFO("store", "%llu journal entries wait in the spill file %s: storing them",
                    (unsigned long long)w->held, o->spill_path);
            rc = spill_move(w);
        }
        if (rc && rc != NX_ENOMEM)
            NX_ERROR("store", "%s%s", w->err,
                     w->held ? " (the entries stay in the file; Nexus starts once they are "
                               "stored)"
                             : "");
    }
    if (!rc && (rc = nx_store_journal_last(o->store, &w->base)))
        NX_ERROR("store", "cannot read the journal's last sequence: %s", nx_store_error(o->store));
    if (rc) {
        nx_writer_destroy(w);
        return rc;
    }
    w->acked = w->base;
    *out = w;
    return 0;
}

/* The batch is durable: others may act on it, the slots may be reused. */
static int done(nx_writer_t *w, uint64_t seq, uint32_t n)
{
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

/* While the file holds entries: once a second, try to move them on. */
static void try_move(nx_writer_t *w)
{
    if (!w->held || nx_mono_ns() < w->next_move_ns)
        return;
    w->next_move_ns = nx_mono_ns() + SPILL_RETRY_NS;
    if (spill_move(w) == 0) {
        NX_INFO("store",
                "the store takes the journal again (%llu entries went through the "
                "spill file)",
                (unsigned long long)w->spilled);
        w->state = NX_WRITER_STORING;
    }
}

int nx_writer_step(nx_writer_t *w, int64_t wait_ns)
{
    uint64_t seq;
    if (w->fd >= 0)
        try_move(w);
    uint32_t n = nx_ring_wait(w->o.ring, w->c, w->o.batch_max, &seq, wait_ns);
    if (n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        w->batch[i] = (nx_journal_entry_t){w->base + seq + i + 1, nx_bus_event(w->o.ring, seq + i)};
    int rc = NX_EIO;
    if (!w->held) {
        rc = nx_store_journal_batch(w->o.store, w->o.symtab, w->batch, (int)n);
        if (rc)
            snprintf(w->err, sizeof w->err, "%s", nx_store_error(w->o.store));
    }
    if (rc && w->fd >= 0) { /* the spill file keeps them, in order after what it holds */
        int first = !w->held;
        if (spill_append(w, w->batch, n) == 0) {
            if (first) {
                NX_ERROR("store",
                         "the store does not take the journal (%s): entries go to the "
                         "spill file %s until it does",
                         w->err, w->o.spill_path);
                w->next_move_ns = nx_mono_ns() + SPILL_RETRY_NS;
            }
            w->state = NX_WRITER_SPILLING;
            w->failing = 0;
            return done(w, seq, n);
        }
    }
    if (rc) {
        nx_ring_unpoll(w->c, seq); /* the same entries again next time */
        w->state = NX_WRITER_DOWN;
        if (w->failing++ == 0)
            NX_ERROR("store", "journal batch of %u entries not stored, will retry: %s", n, w->err);
        return rc;
    }
    if (w->failing) {
        NX_INFO("store", "journal stored again after %d failed tries", w->failing);
        w->failing = 0;
    }
    w->state = NX_WRITER_STORING;
    return done(w, seq, n);
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

nx_writer_state_t nx_writer_state(const nx_writer_t *w)
{
    return w->state;
}

uint64_t nx_writer_spill_held(const nx_writer_t *w)
{
    return w->held;
}

void nx_writer_spill_totals(const nx_writer_t *w, uint64_t *spilled, uint64_t *moved)
{
    *spilled = w->spilled;
    *moved = w->moved;
}

const char *nx_writer_error(const nx_writer_t *w)
{
    return w->err;
}

void nx_writer_destroy(nx_writer_t *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->buf);
    free(w->evs);
    free(w->moving);
    free(w->batch);
    free((char *)w->o.spill_path);
    free(w);
}
