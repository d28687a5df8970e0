/*
 * test_storage_faults.c — `nexus run` when its storage fails (issue 16: on
 * a full disk the engine went on trading with nothing durable, and then
 * could not be stopped: SIGTERM, a second SIGTERM and --duration were all
 * ignored). The real binary on the bundled BTCUSDT candles, served by a
 * `nexus replay` process on 127.0.0.1, trading for a PILOT session; real
 * faults:
 *
 *  - PostgreSQL stopped mid-run and started again: trading goes on (the
 *    journal goes to the spill file), the file is moved into the database
 *    once it is back, and the database ends up with every fill the run
 *    made.
 *  - The disk full under SQLite (a tmpfs filled up mid-run): nothing is
 *    durable, so no new position is opened (an entry is refused with its
 *    reason, at most the open position's exit fills), and a SIGTERM ends
 *    the process after storage.drain_s; with a long drain_s a second
 *    SIGTERM ends it at once. The process says how many entries it could
 *    not store and exits non-zero.
 *  - A database that can be read but not written (PostgreSQL set read-only)
 *    is refused at start with what to do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pg_fixture.h"
#include "tmpfs_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CANDLES_ROWS 13843
#define RUN_S        150 /* the replay's length: long enough for a slow (sanitizer) build */

static const char *nexus_bin;
static pid_t replay_pid, run_pid;
static int replay_port;

static const char *src_path(const char *rel)
{
    static char p[1024];
    const char *s = getenv("NX_SOURCE_DIR");
    snprintf(p, sizeof p, "%s/%s", s ? s : NX_SOURCE_DIR_DEFAULT, rel);
    return p;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd (an inotify watch, a pidfd) has something, at most until
 * the deadline: 1 if it came. */
static int ready_by(int fd, int64_t end)
{
    int64_t left = end - now_ms();
    struct pollfd p = {fd, POLLIN, 0};
    return left > 0 && poll(&p, 1, (int)left) == 1;
}

/* The bundled candles over RUN_S seconds. */
static void replay_start(void)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    char speed[32];
    snprintf(speed, sizeof speed, "%d", CANDLES_ROWS * 900 / RUN_S);
    replay_pid = fork();
    assert_true(replay_pid >= 0);
    if (replay_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(out[1], 1);
        close(out[0]);
        execl(nexus_bin, nexus_bin, "replay", "--venue", "binance-usdm", "--candles",
              src_path("tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv"),
              "--speed", speed, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[256] = "";
    if (!fgets(line, sizeof line, f))
        fail_msg("replay did not start");
    const char *p = strstr(line, "127.0.0.1:");
    assert_non_null(p);
    replay_port = atoi(p + 10);
    fclose(f);
}

static void stop_all(void)
{
    if (run_pid > 0) {
        kill(run_pid, SIGKILL);
        waitpid(run_pid, NULL, 0);
        run_pid = 0;
    }
    if (replay_pid > 0) {
        kill(replay_pid, SIGKILL);
        waitpid(replay_pid, NULL, 0);
        replay_pid = 0;
    }
}

static int teardown(void **state)
{
    (void)state;
    stop_all();
    return 0;
}

static void write_config(const char *path, const char *data_dir, int drain_s)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"data_dir\":\"%s\",\"engine\":{\"stats_interval_s\":0},"
            "\"storage\":{\"drain_s\":%d},\"symbols\":["
            "{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
            "\"lot_size\":\"0.00001\",\"min_notional\":\"5\"}],"
            "\"feeds\":[{\"venue\":\"binance-usdm\",\"ws_url\":\"ws://127.0.0.1:%d\","
            "\"rest_url\":\"http://127.0.0.1:%d\",\"streams\":[\"klines\"],"
            "\"kline_interval\":\"15m\",\"stale_s\":0,\"watchdog_ms\":120000}],"
            "\"cortex\":{\"timeframes\":[\"15m\",\"1h\",\"4h\"],\"plugin_dir\":\"%s\","
            "\"allow_unsigned\":true,\"strategies\":[{\"plugin\":\"trend\"},{\"plugin\":"
            "\"scalping\",\"timeframes\":[\"15m\"]}]},"
            "\"users\":[{\"id\":1,\"chat_id\":1001}],"
            "\"trading\":{\"sessions\":[{\"name\":\"pia\",\"user\":1,\"mode\":\"pilot\","
            "\"cooldown_s\":0,\"breaker_losses\":100}]}}",
            data_dir, drain_s, replay_port, replay_port, NX_PLUGIN_DIR);
    fclose(f);
}

static void run_start(const char *cfg, const char *env, const char *out, const char *err)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s exec %s run --config %s --events > %s 2> %s", env ? env : "",
             nexus_bin, cfg, out, err);
    run_pid = fork();
    assert_true(run_pid >= 0);
    if (run_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
}

/* Lines of a file holding both texts (b may be NULL). */
static int count(const char *path, const char *a, const char *b)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    static char line[8192];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strstr(line, a) && (!b || strstr(line, b));
    fclose(f);
    return n;
}

#define FILL   "\"fill_qty\""
#define UPDATE "\"type\":\"order_update\""

static int fills(const char *out)
{
    return count(out, UPDATE, FILL);
}

/* Wait (at most ms) until the file at path, as written by the run, holds
 * at least n lines with a and b: checked each time the file changes
 * (inotify), not on a timer. */
static int wait_lines(const char *path, const char *a, const char *b, int n, int ms)
{
    int64_t end = now_ms() + ms;
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    assert_true(in >= 0);
    int ok = 0;
    while (!ok) {
        if (inotify_add_watch(in, path, IN_MODIFY) < 0) { /* not made yet: its folder */
            char dir[256];
            snprintf(dir, sizeof dir, "%s", path);
            *strrchr(dir, '/') = 0;
            assert_true(inotify_add_watch(in, dir, IN_CREATE) >= 0);
        }
        if ((ok = count(path, a, b) >= n) || !ready_by(in, end))
            break;
        char ev[4096];
        while (read(in, ev, sizeof ev) > 0)
            ;
    }
    close(in);
    return ok;
}

static int wait_text(const char *path, const char *text, int ms)
{
    return wait_lines(path, text, NULL, 1, ms);
}

static int wait_fills(const char *out, int n, int ms)
{
    return wait_lines(out, UPDATE, FILL, n, ms);
}

/* The run's exit status, waiting at most ms for it to end (its pidfd);
 * -1 if it is still running. */
static int wait_exit(int ms)
{
    int fd = (int)syscall(SYS_pidfd_open, run_pid, 0);
    assert_true(fd >= 0);
    int ended = ready_by(fd, now_ms() + ms);
    close(fd);
    int st;
    if (!ended || waitpid(run_pid, &st, 0) != run_pid)
        return -1;
    run_pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* "fills: N" of `nexus db status`. */
static long db_fills(const char *cfg, const char *env)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s db --config %s status", env ? env : "", nexus_bin, cfg);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    long n = -1;
    while (fgets(line, sizeof line, p))
        sscanf(line, "fills: %ld", &n);
    pclose(p);
    return n;
}

static void test_postgresql_stopped_mid_run(void **state)
{
    (void)state;
    pg_fixture_t pg;
    if (pgx_start(&pg))
        fail_msg("cannot start PostgreSQL (initdb/pg_ctl): install postgresql");
    char dir[] = "/tmp/nx-pgout-XXXXXX", cfg[96], out[96], err[96], env[400];
    assert_non_null(mkdtemp(dir));
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    snprintf(out, sizeof out, "%s/events.jsonl", dir);
    snprintf(err, sizeof err, "%s/log", dir);
    snprintf(env, sizeof env, "DATABASE_URL='%s'", pg.url);
    replay_start();
    write_config(cfg, dir, 30);
    run_start(cfg, env, out, err);
    assert_true(wait_fills(out, 3, 60000));

    /* the server goes away: trading goes on, into the spill file */
    assert_int_equal(pgx_halt(&pg), 0);
    assert_true(wait_text(err, "entries go to the spill file", 30000));
    int at_halt = fills(out);
    assert_true(wait_fills(out, at_halt + 3, 60000));
    int while_away = fills(out) - at_halt;

    /* back: the file moves into the database */
    assert_int_equal(pgx_resume(&pg), 0);
    assert_true(wait_text(err, "moved from the spill file into the store", 30000));
    assert_true(wait_text(err, "the store takes the journal again", 5000));
    kill(run_pid, SIGTERM);
    assert_int_equal(wait_exit(60000), 0);
    int made = fills(out);
    long stored = db_fills(cfg, env);
    print_message("# %d fills in all, %d while PostgreSQL was away; stored %ld\n", made, while_away,
                  stored);
    assert_int_equal(stored, made);
    assert_int_equal(count(err, "could not be stored", NULL), 0);
    stop_all();
    pgx_stop(&pg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A run whose disk fills up; stopped by one SIGTERM (drain_s 2) or by two
 * (drain_s 600). */
static void disk_full(int second_sigterm)
{
    char dir[] = "/tmp/nx-full-XXXXXX", cfg[96], out[96], err[96], cmd[512];
    tmpfs_mount(dir, "8m");
    /* the config, the output and the log outside it */
    snprintf(cfg, sizeof cfg, "%s.json", dir);
    snprintf(out, sizeof out, "%s.jsonl", dir);
    snprintf(err, sizeof err, "%s.log", dir);
    replay_start();
    write_config(cfg, dir, second_sigterm ? 600 : 2);
    run_start(cfg, NULL, out, err);
    assert_true(wait_fills(out, 3, 60000));
    tmpfs_fill_up(dir);
    assert_true(wait_text(err, "storage is down: no new entry", 60000));
    /* an entry refused for it (reason 21: storage down) */
    assert_true(wait_text(out, "\"reason\":21", 60000));
    int at_refusal = fills(out);
    /* a negative check: 40 more candles (10 hours of market) pass */
    int candles = count(out, "\"type\":\"kline\"", "\"closed\":true");
    assert_true(wait_lines(out, "\"type\":\"kline\"", "\"closed\":true", candles + 40, 60000));
    int after = fills(out) - at_refusal;
    print_message("# fills after the first refusal: %d (an open position's exit at most)\n", after);
    assert_true(after <= 1);

    int64_t t0 = now_ms();
    kill(run_pid, SIGTERM);
    int rc;
    if (second_sigterm) {
        assert_true(wait_text(err, "stopping (SIGTERM)", 10000));
        assert_int_equal(wait_exit(3000), -1); /* waiting for storage, as asked */
        kill(run_pid, SIGTERM);
        rc = wait_exit(10000);
        assert_true(count(err, "SIGTERM again: not waiting for storage", NULL) == 1);
    } else {
        rc = wait_exit(20000);
    }
    print_message("# stopped %lld ms after the first SIGTERM, exit status %d\n",
                  (long long)(now_ms() - t0), rc);
    assert_int_equal(rc, 1); /* what it could not store, it says */
    assert_true(count(err, "journal entries could not be stored (storage down)", NULL) == 1);
    stop_all();
    tmpfs_unmount(dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", cfg, out, err);
    assert_int_equal(system(cmd), 0);
}

static void test_disk_full_one_sigterm(void **state)
{
    (void)state;
    disk_full(0);
}

static void test_disk_full_second_sigterm(void **state)
{
    (void)state;
    disk_full(1);
}

static void test_unwritable_database_refused_at_start(void **state)
{
    (void)state;
    pg_fixture_t pg;
    if (pgx_start(&pg))
        fail_msg("cannot start PostgreSQL (initdb/pg_ctl): install postgresql");
    char dir[] = "/tmp/nx-ro-XXXXXX", cfg[96], out[96], err[96], env[400], cmd[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    snprintf(out, sizeof out, "%s/events.jsonl", dir);
    snprintf(err, sizeof err, "%s/log", dir);
    snprintf(env, sizeof env, "DATABASE_URL='%s'", pg.url);
    replay_port = 9; /* never reached */
    write_config(cfg, dir, 30);
    /* a database in use (its tables made), then read-only */
    snprintf(cmd, sizeof cmd, "%s %s db --config %s migrate > /dev/null", env, nexus_bin, cfg);
    assert_int_equal(system(cmd), 0);
    PGconn *c = PQconnectdb(pg.url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, "ALTER DATABASE postgres SET default_transaction_read_only = on");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    run_start(cfg, env, out, err);
    int rc = wait_exit(60000);
    assert_int_not_equal(rc, 0);
    assert_int_equal(
        count(err, "Nexus does not trade on storage it cannot write", "read-only transaction"), 1);
    assert_int_equal(fills(out), 0);
    pgx_stop(&pg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_storage_faults NEXUS_BINARY [TEST_NAME_PATTERN]\n");
        return 2;
    }
    static char abs_bin[4096];
    nexus_bin = realpath(argv[1], abs_bin) ? abs_bin : argv[1];
    if (argc > 2)
        cmocka_set_test_filter(argv[2]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unwritable_database_refused_at_start, teardown),
        cmocka_unit_test_teardown(test_postgresql_stopped_mid_run, teardown),
        cmocka_unit_test_teardown(test_disk_full_one_sigterm, teardown),
        cmocka_unit_test_teardown(test_disk_full_second_sigterm, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
