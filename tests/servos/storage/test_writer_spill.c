/*
 * test_writer_spill.c — the journal writer when storage fails (issue 16:
 * with the disk full, 68 of 74 fills happened unstored and a full journal
 * ring would have stopped the engine). Real faults, no mock:
 *
 *  - PostgreSQL (a real server, pg_fixture.h) stopped mid-run: what comes
 *    meanwhile goes to the spill file and is acknowledged; once the server
 *    is back the file's entries are moved into it, in order, and the file
 *    is emptied; every entry is stored once, sequences without a gap.
 *  - The process ends while the server is away: the next writer stores the
 *    file's entries before anything else; a move cut short (part of the
 *    file already stored) is finished without doubling any entry.
 *  - SQLite on a full disk (a 1 MiB tmpfs): neither the database nor the
 *    spill file takes a batch, the writer says NX_WRITER_DOWN and the
 *    entries wait in the ring; space again, and every one is stored.
 *  - A spill file of another layout is refused by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pg_fixture.h"
#include "tmpfs_fixture.h"

#include "nx/error.h"
#include "nx/ring.h"
#include "nx/store.h"
#include "nx/writer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static nx_symtab_t T;
static uint64_t next_id = 1; /* each event's own number, in its control arg */
static uint64_t acked;

static void on_ack(void *ctx, uint64_t seq)
{
    (void)ctx;
    acked = seq;
}

static nx_ring_t *ring(void)
{
    nx_ring_t *r;
    assert_int_equal(
        nx_ring_create(&r, "journal", 1024, sizeof(nx_event_t), 1, NX_RING_NO_DROP, NX_WAIT_BLOCK),
        0);
    return r;
}

static void publish(nx_ring_t *r, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t seq;
        assert_int_equal(nx_bus_claim(r, 1, &seq), 1);
        nx_event_t *ev = nx_bus_event(r, seq);
        uint64_t s = ev->hdr.seq;
        memset(ev, 0, sizeof *ev);
        ev->hdr.seq = s;
        ev->hdr.type = NX_EV_CONTROL;
        ev->hdr.symbol = NX_SYMBOL_NONE;
        ev->hdr.exch_ns = 1621382400000000000LL + (int64_t)next_id;
        ev->u.control.cmd = NX_CTL_PAUSE;
        ev->u.control.arg = (int64_t)next_id++;
        nx_ring_publish(r, seq + 1);
    }
}

static nx_writer_t *writer(nx_store_t *st, nx_ring_t *r, const char *spill)
{
    nx_writer_opts_t o = {st, &T, r, 0, 64, on_ack, NULL, NULL, spill};
    nx_writer_t *w;
    int rc = nx_writer_create(&w, &o);
    if (rc)
        fail_msg("writer: %s", nx_strerror(rc));
    return w;
}

/* Steps until the ring is empty; returns the entries made durable. */
static int drain(nx_writer_t *w)
{
    int total = 0, n;
    while ((n = nx_writer_step(w, 0)) > 0)
        total += n;
    assert_true(n == 0);
    return total;
}

static void stored_exactly(nx_store_t *st, uint64_t n)
{
    uint64_t last = 0, count = 0;
    assert_int_equal(nx_store_journal_last(st, &last), 0);
    assert_int_equal(nx_store_journal_count(st, 1, n, &count), 0);
    assert_int_equal(last, n);
    assert_int_equal(count, n); /* every sequence 1..n once: no gap, no double */
}

/* The store at url (PostgreSQL) or, with url NULL, SQLite in dir; its
 * tables made. Fails the test, saying why, when it cannot be opened. */
static nx_store_t *open_store(const char *url, const char *dir)
{
    char err[512];
    nx_store_t *st;
    if (nx_store_open(&st, url, dir, err, sizeof err))
        fail_msg("%s", err);
    int applied;
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
    return st;
}

static void test_postgresql_stopped_mid_run(void **state)
{
    (void)state;
    pg_fixture_t pg;
    if (pgx_start(&pg))
        fail_msg("cannot start PostgreSQL (initdb/pg_ctl): install postgresql");
    char dir[] = "/tmp/nx-spill-XXXXXX", spill[96];
    assert_non_null(mkdtemp(dir));
    snprintf(spill, sizeof spill, "%s/journal.spill", dir);
    nx_store_t *st = open_store(pg.url, NULL);
    nx_ring_t *r = ring();
    nx_writer_t *w = writer(st, r, spill);
    next_id = 1;

    publish(r, 100);
    assert_int_equal(drain(w), 100);
    assert_int_equal(nx_writer_state(w), NX_WRITER_STORING);
    assert_int_equal(acked, 100);

    /* the server goes away: the next entries are durable in the file */
    assert_int_equal(pgx_halt(&pg), 0);
    publish(r, 100);
    assert_int_equal(drain(w), 100);
    assert_int_equal(nx_writer_state(w), NX_WRITER_SPILLING);
    assert_int_equal(nx_writer_spill_held(w), 100);
    assert_int_equal(acked, 200); /* acknowledged: on disk */
    publish(r, 50);
    assert_int_equal(drain(w), 50);
    assert_int_equal(nx_writer_spill_held(w), 150);
    struct stat sb;
    assert_int_equal(stat(spill, &sb), 0);
    assert_true(sb.st_size > 150 * (off_t)sizeof(nx_event_t));

    /* back: the file moves in (tried once a second), then it is empty */
    assert_int_equal(pgx_resume(&pg), 0);
    for (int i = 0; i < 300 && nx_writer_state(w) != NX_WRITER_STORING; i++)
        nx_writer_step(w, 10 * 1000000LL);
    assert_int_equal(nx_writer_state(w), NX_WRITER_STORING);
    assert_int_equal(nx_writer_spill_held(w), 0);
    assert_int_equal(stat(spill, &sb), 0);
    assert_int_equal(sb.st_size, 0);
    publish(r, 10);
    assert_int_equal(drain(w), 10);
    stored_exactly(st, 260);
    uint64_t spilled, moved;
    nx_writer_spill_totals(w, &spilled, &moved);
    assert_int_equal(spilled, 150);
    assert_int_equal(moved, 150);

    /* away again, and the process ends: the file keeps 20 */
    assert_int_equal(pgx_halt(&pg), 0);
    publish(r, 20);
    assert_int_equal(drain(w), 20);
    assert_int_equal(nx_writer_spill_held(w), 20);
    nx_writer_destroy(w);
    nx_store_close(st);
    nx_ring_destroy(r);

    /* back; a move was cut short after the file's first 8 entries */
    assert_int_equal(pgx_resume(&pg), 0);
    st = open_store(pg.url, NULL);
    {
        r = ring();
        uint64_t saved = next_id;
        next_id = 261; /* the same entries as the file's first 8 */
        publish(r, 8);
        next_id = saved;
        nx_ring_consumer_t *c = nx_ring_consumer(r, 0);
        uint64_t seq = 0;
        assert_int_equal(nx_ring_poll(r, c, 8, &seq), 8);
        nx_journal_entry_t e[8];
        for (int i = 0; i < 8; i++)
            e[i] = (nx_journal_entry_t){261 + (uint64_t)i, nx_bus_event(r, seq + (uint64_t)i)};
        assert_int_equal(nx_store_journal_batch(st, &T, e, 8), 0);
        nx_ring_destroy(r);
    }
    /* a new writer stores the other 12 before anything else */
    r = ring();
    w = writer(st, r, spill);
    assert_int_equal(nx_writer_spill_held(w), 0);
    nx_writer_spill_totals(w, &spilled, &moved);
    assert_int_equal(moved, 12);
    stored_exactly(st, 280);
    publish(r, 5);
    assert_int_equal(drain(w), 5);
    stored_exactly(st, 285);
    nx_writer_destroy(w);
    nx_store_close(st);
    nx_ring_destroy(r);
    pgx_stop(&pg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* SQLite and its spill file on a disk that fills up. */
static void test_disk_full(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-full-XXXXXX", spill[96];
    tmpfs_mount(dir, "1m");
    snprintf(spill, sizeof spill, "%s/journal.spill", dir);
    nx_store_t *st = open_store(NULL, dir);
    nx_ring_t *r = ring();
    nx_writer_t *w = writer(st, r, spill);
    next_id = 1;
    publish(r, 50);
    assert_int_equal(drain(w), 50);
    /* the rest of the disk taken */
    tmpfs_fill_up(dir);
    /* entries keep coming until neither takes them */
    int published = 50, durable = 50, down = 0;
    for (int k = 0; k < 200 && !down; k++) {
        publish(r, 16);
        published += 16;
        int n;
        while ((n = nx_writer_step(w, 0)) > 0)
            durable += n;
        down = n < 0;
    }
    assert_true(down);
    assert_int_equal(nx_writer_state(w), NX_WRITER_DOWN);
    print_message("# disk full: %d published, %d durable, %d wait in the ring (%s)\n", published,
                  durable, published - durable, nx_writer_error(w));
    assert_true(published > durable);
    /* still down on the next tries: nothing released, nothing lost */
    assert_true(nx_writer_step(w, 0) < 0);
    /* space again */
    tmpfs_free_up(dir);
    for (int i = 0; i < 300 && durable < published; i++) {
        int n = nx_writer_step(w, 10 * 1000000LL);
        durable += n > 0 ? n : 0;
    }
    assert_int_equal(durable, published);
    for (int i = 0; i < 300 && nx_writer_spill_held(w); i++)
        nx_writer_step(w, 10 * 1000000LL);
    assert_int_equal(nx_writer_spill_held(w), 0);
    stored_exactly(st, (uint64_t)published);
    nx_writer_destroy(w);
    nx_store_close(st);
    nx_ring_destroy(r);
    tmpfs_unmount(dir);
}

/* What is not a spill file of this build is refused, and left alone. */
static void test_foreign_spill_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-foreign-XXXXXX", spill[96];
    assert_non_null(mkdtemp(dir));
    snprintf(spill, sizeof spill, "%s/journal.spill", dir);
    FILE *f = fopen(spill, "w");
    assert_non_null(f);
    static const char text[] = "NXSPILL0 written by some other version of the layout, not this one";
    fputs(text, f);
    fclose(f);
    nx_store_t *st = open_store(NULL, dir);
    nx_ring_t *r = ring();
    nx_writer_opts_t o = {st, &T, r, 0, 64, NULL, NULL, NULL, spill};
    nx_writer_t *w = NULL;
    assert_int_equal(nx_writer_create(&w, &o), NX_EIO);
    assert_null(w);
    struct stat sb;
    assert_int_equal(stat(spill, &sb), 0);
    assert_int_equal(sb.st_size, strlen(text)); /* untouched */
    nx_store_close(st);
    nx_ring_destroy(r);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    nx_symtab_init(&T);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postgresql_stopped_mid_run),
        cmocka_unit_test(test_disk_full),
        cmocka_unit_test(test_foreign_spill_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
