/*
 * bench_store — journal rows per second into storage, through the real
 * writer (nx_writer: the journal ring drained in batches, one transaction
 * each), against one INSERT per row in its own transaction, in the same
 * run: on a PostgreSQL server started for the run (tests/servos/
 * pg_fixture.h: a private socket, fsync on) and on SQLite (WAL,
 * synchronous=FULL).
 *
 * The rows are an engine's journal mix, per 20 entries: 12 closed candles,
 * 4 shield decisions, 2 signals, 1 order intent, 1 fill (the last three
 * also write their signals/orders/fills rows, counted once as one journal
 * row). Last line:
 *   {"bench":"store","pg_rows_per_s":…,"pg_single_rows_per_s":…,
 *    "pg_ratio":…,"sqlite_rows_per_s":…}
 *
 *   bench_store [ROWS]   (default 200000)
 */
#include "../servos/storage/journal_mix.h"
#include "../servos/storage/pg_fixture.h"

#include "nx/error.h"
#include "nx/ring.h"
#include "nx/store.h"
#include "nx/writer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static nx_symtab_t T;
static char DIR_[64];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct feed {
    nx_ring_t *ring;
    uint64_t n, run;
} feed_t;

static void *producer(void *arg)
{
    feed_t *f = arg;
    for (uint64_t i = 0; i < f->n;) {
        uint64_t seq;
        uint32_t k = nx_ring_claim(f->ring, f->n - i < 256 ? (uint32_t)(f->n - i) : 256, &seq);
        for (uint32_t j = 0; j < k; j++)
            jm_entry(nx_bus_event(f->ring, seq + j), i + j, f->run);
        nx_ring_publish(f->ring, seq + k);
        i += k;
    }
    nx_ring_close(f->ring);
    return NULL;
}

static nx_store_t *open_fresh(const char *url)
{
    char err[512];
    nx_store_t *st;
    if (nx_store_open(&st, url, DIR_, err, sizeof err)) {
        fprintf(stderr, "bench_store: %s\n", err);
        exit(1);
    }
    int applied;
    if (nx_store_migrate(st, 0, &applied)) {
        fprintf(stderr, "bench_store: %s\n", nx_store_error(st));
        exit(1);
    }
    return st;
}

/* Rows per second through the writer. */
static double batched(nx_store_t *st, uint64_t rows, uint64_t run)
{
    nx_ring_t *ring;
    nx_ring_create(&ring, "journal", 1 << 16, sizeof(nx_event_t), 1, NX_RING_NO_DROP,
                   NX_WAIT_BLOCK);
    nx_writer_t *w;
    nx_writer_opts_t o = {st, &T, ring, 0, 4096, NULL, NULL};
    if (nx_writer_create(&w, &o))
        exit(1);
    feed_t f = {ring, rows, run};
    double t0 = now_s();
    pthread_t th;
    pthread_create(&th, NULL, producer, &f);
    int rc = nx_writer_drain(w, 3);
    double dt = now_s() - t0;
    pthread_join(th, NULL);
    if (rc || nx_writer_written(w) != rows) {
        fprintf(stderr, "bench_store: writer rc %d, %llu of %llu rows: %s\n", rc, (unsigned long long)nx_writer_written(w), (unsigned long long)rows, nx_store_error(st));
        exit(1);
    }
    nx_writer_destroy(w);
    nx_ring_destroy(ring);
    return (double)rows / dt;
}

/* Rows per second, one INSERT per row, each its own transaction. */
static double single(nx_store_t *st, uint64_t rows, uint64_t run)
{
    uint64_t last;
    nx_store_journal_last(st, &last);
    nx_event_t e;
    double t0 = now_s();
    for (uint64_t i = 0; i < rows; i++) {
        jm_entry(&e, i, run);
        nx_journal_entry_t j = {last + i + 1, &e};
        if (nx_store_journal_one(st, &T, &j)) {
            fprintf(stderr, "bench_store: %s\n", nx_store_error(st));
            exit(1);
        }
    }
    return (double)rows / (now_s() - t0);
}

int main(int argc, char **argv)
{
    uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 200000;
    uint64_t few = rows / 40 < 500 ? 500 : rows / 40;
    nx_symtab_init(&T);
    nx_symtab_add(&T, NX_VENUE_PAPER, "BTCUSDT", 2, 5, 1, 1, 0, NULL);
    snprintf(DIR_, sizeof DIR_, "/tmp/nexus-bench-store-%d", (int)getpid());
    mkdir(DIR_, 0700);

    pg_fixture_t pg;
    if (pgx_start(&pg)) {
        pgx_stop(&pg);
        return 1;
    }
    nx_store_t *st = open_fresh(pg.url);
    double pg_single = single(st, few, 1);
    double pg_batched = batched(st, rows, 2);
    nx_store_close(st);
    pgx_stop(&pg);
    printf("postgresql: batched writer %.0f rows/s (%llu rows), one INSERT per row %.0f rows/s "
           "(%llu rows), ratio %.1f\n",
           pg_batched, (unsigned long long)rows, pg_single, (unsigned long long)few,
           pg_batched / pg_single);

    st = open_fresh(NULL);
    double sl_single = single(st, few / 4, 1);
    double sl_batched = batched(st, rows, 2);
    nx_store_close(st);
    printf("sqlite: batched writer %.0f rows/s, one INSERT per row %.0f rows/s, ratio %.1f\n",
           sl_batched, sl_single, sl_batched / sl_single);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    if (system(cmd) != 0)
        return 1;
    printf("{\"bench\":\"store\",\"pg_rows_per_s\":%.0f,\"pg_single_rows_per_s\":%.0f,"
           "\"pg_ratio\":%.1f,\"sqlite_rows_per_s\":%.0f,\"sqlite_single_rows_per_s\":%.0f}\n",
           pg_batched, pg_single, pg_batched / pg_single, sl_batched, sl_single);
    return 0;
}
