/*
 * test_store_crash.c — nothing acknowledged is lost, nothing is stored
 * twice: a child process journals at full speed through the real ring and
 * the real writer, reporting each acknowledgement on a pipe, and is killed
 * with SIGKILL at a random moment, 20 times per backend (SQLite, and a
 * PostgreSQL server this test starts). After each kill the database holds
 * every sequence from 1 to the last acknowledged one exactly once (the
 * count over that range equals its length; the primary key forbids a
 * second copy), it passes the consistency check, and the next child
 * carries on after the last stored sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "journal_mix.h"
#include "pg_fixture.h"

#include "nx/error.h"
#include "nx/ring.h"
#include "nx/store.h"
#include "nx/writer.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KILLS 20

static pg_fixture_t PGX;
static int pg_up;
static char DIR_[64];
static nx_symtab_t T;
static int ack_fd = -1;

static void on_ack(void *ctx, uint64_t seq)
{
    (void)ctx;
    if (write(ack_fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
        _exit(3);
}

typedef struct producer {
    nx_ring_t *ring;
    uint64_t run; /* which of the runs: keeps their client ids apart */
    _Atomic int stop;
} producer_t;

/* Journal entries at full speed (journal_mix.h). */
static void *produce(void *arg)
{
    producer_t *p = arg;
    for (uint64_t i = 0; !atomic_load(&p->stop); i++) {
        uint64_t seq;
        while (nx_ring_claim(p->ring, 1, &seq) != 1)
            ;
        jm_entry(nx_bus_event(p->ring, seq), i, p->run);
        nx_ring_publish(p->ring, seq + 1);
    }
    return NULL;
}

static void child(const char *url, uint64_t run)
{
    char err[512];
    nx_store_t *st;
    if (nx_store_open(&st, url, DIR_, err, sizeof err))
        _exit(2);
    nx_ring_t *ring;
    if (nx_ring_create(&ring, "journal", 1 << 14, sizeof(nx_event_t), 1, NX_RING_NO_DROP,
                       NX_WAIT_BLOCK))
        _exit(2);
    nx_writer_t *w;
    nx_writer_opts_t o = {st, &T, ring, 0, 512, on_ack, NULL};
    if (nx_writer_create(&w, &o))
        _exit(2);
    producer_t p = {ring, run, 0};
    pthread_t th;
    pthread_create(&th, NULL, produce, &p);
    for (;;)
        if (nx_writer_step(w, 1000000LL) < 0)
            _exit(4);
}

static void crash_loop(const char *url)
{
    char err[512];
    nx_store_t *st;
    if (nx_store_open(&st, url, DIR_, err, sizeof err))
        fail_msg("%s", err);
    int applied;
    assert_int_equal(nx_store_migrate(st, 0, &applied), 0);
    nx_store_close(st);
    uint64_t prev_last = 0;
    srand((unsigned)time(NULL));
    for (int k = 0; k < KILLS; k++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            ack_fd = fds[1];
            child(url, (uint64_t)k);
        }
        close(fds[1]);
        /* the first acknowledgement (however slow the machine or the build),
         * then a random 0..300 ms of full-speed writing before the kill */
        uint64_t ack = 0, a, acks = 0;
        struct pollfd pf = {fds[0], POLLIN, 0};
        if (poll(&pf, 1, 30000) == 1 && read(fds[0], &a, sizeof a) == (ssize_t)sizeof a) {
            ack = a;
            acks = 1;
        }
        struct timespec ts = {0, (rand() % 300) * 1000000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        while (read(fds[0], &a, sizeof a) == (ssize_t)sizeof a) {
            assert_true(a > ack); /* acknowledgements only grow */
            ack = a;
            acks++;
        }
        close(fds[0]);
        assert_int_equal(nx_store_open(&st, url, DIR_, err, sizeof err), 0);
        uint64_t last, n;
        assert_int_equal(nx_store_journal_last(st, &last), 0);
        assert_true(acks > 0);              /* it did write */
        assert_true(ack > prev_last);       /* after the previous run's entries */
        assert_true(last >= ack);           /* everything acknowledged is there ... */
        assert_int_equal(nx_store_journal_count(st, 1, last, &n), 0);
        assert_int_equal(n, last);          /* ... exactly once, with no hole */
        if (nx_store_check(st))
            fail_msg("after kill %d: %s", k, nx_store_error(st));
        nx_store_close(st);
        print_message("# kill %2d: %llu acknowledgements, last acknowledged %llu, stored %llu\n",
                      k + 1, (unsigned long long)acks, (unsigned long long)ack,
                      (unsigned long long)last);
        prev_last = last;
    }
}

static void test_sqlite_survives_kill_9(void **state)
{
    (void)state;
    crash_loop(NULL);
}

static void test_postgresql_survives_kill_9(void **state)
{
    (void)state;
    if (getenv("NX_SKIP_PG"))
        skip();
    assert_true(pg_up);
    assert_int_equal(pgx_reset(&PGX), 0);
    crash_loop(PGX.url);
}

static int setup(void **state)
{
    (void)state;
    snprintf(DIR_, sizeof DIR_, "/tmp/nexus-crash-%d", (int)getpid());
    mkdir(DIR_, 0700);
    nx_symtab_init(&T);
    nx_symtab_add(&T, NX_VENUE_PAPER, "BTCUSDT", 2, 5, 1, 1, 0, NULL);
    if (!getenv("NX_SKIP_PG"))
        pg_up = pgx_start(&PGX) == 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pgx_stop(&PGX);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", DIR_);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_survives_kill_9),
        cmocka_unit_test(test_postgresql_survives_kill_9),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
