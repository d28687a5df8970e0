/*
 * cmd_run.c — `nexus run --config FILE`: validate the config, start the
 * engine threads, log one start-up summary line, and stop cleanly on
 * SIGINT/SIGTERM (drain the rings, join the threads, exit 0).
 *
 * Signals are blocked in every thread and taken synchronously by the main
 * thread with sigtimedwait(), so no code runs in signal context.
 */
#include "cli.h"
#include "engine.h"

#include "nx/config.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- replayed feeds: recorded data served from inside the run ------------ */

typedef struct replays {
    nx_replay_t *r[NX_CONFIG_MAX_FEEDS];
    pthread_t th[NX_CONFIG_MAX_FEEDS];
    int n;
} replays_t;

static void *serve(void *arg)
{
    nx_replay_run(arg);
    return NULL;
}

/* "scheme://host:port/path" -> "scheme://127.0.0.1:PORT/path" */
static void to_loopback(char *url, size_t cap, const char *scheme, int port)
{
    const char *p = strstr(url, "://");
    const char *path = p ? strchr(p + 3, '/') : NULL;
    char out[256];
    snprintf(out, sizeof out, "%s://127.0.0.1:%d%s", scheme, port, path ? path : "");
    snprintf(url, cap, "%s", out);
}

/* A loopback venue per feed with `replay`, started before the engine; the
 * feed's URLs point at it. Blocked signals are inherited by its thread. */
static int replays_start(replays_t *rp, nx_config_t *cfg)
{
    for (uint32_t i = 0; i < cfg->n_feeds; i++) {
        nx_config_feed_t *f = &cfg->feeds[i];
        if (!f->replay[0])
            continue;
        nx_replay_opts_t o;
        nx_cli_replay_opts(f, &o);
        int rc = nx_replay_create(&rp->r[rp->n], &o);
        if (rc) {
            NX_ERROR("replay", "cannot serve %s: %s", f->replay, nx_strerror(rc));
            return rc;
        }
        int port = nx_replay_port(rp->r[rp->n]);
        to_loopback(f->ws_url, sizeof f->ws_url, "ws", port);
        to_loopback(f->rest_url, sizeof f->rest_url, "http", port);
        if (pthread_create(&rp->th[rp->n], NULL, serve, rp->r[rp->n])) {
            nx_replay_destroy(rp->r[rp->n]);
            return NX_ESYSTEM;
        }
        NX_INFO("replay", "%s served on 127.0.0.1:%d as %s", f->replay, port,
                nx_venue_name(f->venue));
        rp->n++;
    }
    return 0;
}

static int replays_done(replays_t *rp)
{
    for (int i = 0; i < rp->n; i++)
        if (!nx_replay_done(rp->r[i]))
            return 0;
    return rp->n > 0;
}

static void replays_stop(replays_t *rp)
{
    for (int i = 0; i < rp->n; i++) {
        nx_replay_stop(rp->r[i]);
        pthread_join(rp->th[i], NULL);
        nx_replay_destroy(rp->r[i]);
    }
    rp->n = 0;
}

/* REST requests (backfill of candles) the feeds still have queued or in flight. */
static uint64_t rest_pending(const nx_engine_t *e)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t st;
        nx_feed_stats(e->feeds[i], &st);
        n += st.rest_pending;
    }
    return n;
}

/* A replay is a simulation: each run starts from an empty database of its
 * own (data_dir/replay), so an earlier run's positions and cooldowns on
 * the same data do not carry over (a replay with DATABASE_URL set was
 * refused before: nx_cli_config_load). */
static int replay_storage(nx_config_t *cfg)
{
    char dir[NX_PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/replay", cfg->data_dir);
    if (strlen(dir) >= sizeof cfg->data_dir)
        return NX_ETOOLONG;
    mkdir(cfg->data_dir, 0700);
    static const char *const files[] = {"nexus.db", "nexus.db-wal", "nexus.db-shm",
                                        "journal.spill"};
    for (int i = 0; i < 4; i++) {
        char p[NX_PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    memcpy(cfg->data_dir, dir, strlen(dir) + 1); /* fits: checked above */
    return 0;
}

/* The live one-line progress: on a terminal, redrawn in place. */
static void progress(nx_engine_t *e, int tty, int final)
{
    const nx_symbol_t *y = nx_symtab_get(e->symtab, 0);
    char pnl[NX_FIXED_FMT_MAX];
    nx_fixed_format(atomic_load(&e->desk_pnl), y ? y->price_scale : 8, pnl, sizeof pnl);
    char line[256];
    snprintf(line, sizeof line,
             "events %llu | candles %llu | signals %llu | trades %u | open positions %u | "
             "P&L %s",
             (unsigned long long)atomic_load(&e->engine_events),
             (unsigned long long)atomic_load(&e->engine_by_type[NX_EV_KLINE]),
             (unsigned long long)atomic_load(&e->signals), atomic_load(&e->desk_trades),
             atomic_load(&e->desk_open), pnl);
    if (tty)
        fprintf(stdout, "\r%-110s%s", line, final ? "\n" : "");
    else if (final)
        fprintf(stdout, "%s\n", line);
    fflush(stdout);
}

static void help(FILE *out)
{
    fprintf(out, "usage: nexus run --config FILE [--duration SECONDS]\n\n"
                 "Start the engine. Stops cleanly on SIGINT or SIGTERM: rings are drained and\n"
                 "every thread joined before exit 0. With replayed feeds (the feeds' \"replay\"\n"
                 "key) it stops by itself at the end of the data and prints a summary.\n\n"
                 "  -c, --config FILE      config file (see config/nexus.example.json)\n"
                 "  -d, --duration SECONDS stop by itself after this many seconds\n"
                 "  -e, --events           print every market event the engine receives as a\n"
                 "                         JSON line on standard output\n"
                 "      --console          read chat commands from the terminal as the owner\n"
                 "                         (the same commands and replies as the Telegram bot,\n"
                 "                         which runs when NEXUS_TELEGRAM_TOKEN is set)\n"
                 "      --record FILE      write every market event the engine takes to FILE,\n"
                 "                         an event file `nexus backtest` reads\n"
                 "  -h, --help             this text\n");
}

static void record_help(FILE *out)
{
    fprintf(out, "usage: nexus record --config FILE --out FILE [--duration SECONDS]\n\n"
                 "Connect the config's feeds (live, or its replays) and write every market event\n"
                 "the engine takes, with the time it came, to an event file that `nexus backtest`\n"
                 "reads; nothing trades (the config's sessions and strategies are left out).\n"
                 "Stops on SIGINT or SIGTERM, after --duration, or at the end of replayed data.\n");
}

static int run_main(const sigset_t *set, const char *path, double duration, int print_events,
                    int console, const char *record, int record_only);

/* The stop signals are blocked first (a stop asked for while the config
 * loads is taken once the engine runs, as a clean stop), and before any
 * thread exists, so all inherit it. */
static void block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

/* --duration's seconds into *out; 0, or -1 with the reason on stderr. */
static int parse_duration(const char *cmd, const char *arg, double *out)
{
    char *end;
    *out = strtod(arg, &end);
    if (*end || *out <= 0) {
        fprintf(stderr, "nexus %s: --duration wants a positive number of seconds\n", cmd);
        return -1;
    }
    return 0;
}

/* `nexus record`: `nexus run` that only records. */
int nx_cmd_record(int argc, char **argv)
{
    sigset_t set;
    block_stop_signals(&set);
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"out", required_argument, 0, 'o'},
                                         {"duration", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *out = NULL;
    double duration = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'd':
            if (parse_duration("record", optarg, &duration))
                return NX_EXIT_USAGE;
            break;
        case 'h':
            record_help(stdout);
            return NX_EXIT_OK;
        default:
            record_help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!path || !out || optind != argc) {
        record_help(stderr);
        return NX_EXIT_USAGE;
    }
    return run_main(&set, path, duration, 0, 0, out, 1);
}

int nx_cmd_run(int argc, char **argv)
{
    sigset_t set;
    block_stop_signals(&set);
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"duration", required_argument, 0, 'd'},
                                         {"events", no_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {"console", no_argument, 0, 'C'},
                                         {"record", required_argument, 0, 'r'},
                                         {0, 0, 0, 0}};
    const char *path = NULL, *record = NULL;
    double duration = 0;
    int c, print_events = 0, console = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:eh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'd':
            if (parse_duration("run", optarg, &duration))
                return NX_EXIT_USAGE;
            break;
        case 'e':
            print_events = 1;
            break;
        case 'C':
            console = 1;
            break;
        case 'r':
            record = optarg;
            break;
        case 'h':
            help(stdout);
            return NX_EXIT_OK;
        default:
            help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!path || optind != argc) {
        help(stderr);
        return NX_EXIT_USAGE;
    }
    return run_main(&set, path, duration, print_events, console, record, 0);
}

static int run_main(const sigset_t *set, const char *path, double duration, int print_events,
                    int console, const char *record, int record_only)
{
    int rc;
    static nx_config_t cfg;
    int bad = nx_cli_config_load(path, &cfg); /* what check-config checks, word for word */
    if (bad)
        return bad;
    if (record_only) { /* the market only: nothing trades, no strategy runs */
        cfg.trading.n_sessions = 0;
        cfg.cortex.n_strategies = 0;
        cfg.cortex.regime.on = 0;
    }

    int log_fd = 2;
    if (cfg.log.file[0]) {
        log_fd = open(cfg.log.file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (log_fd < 0) {
            fprintf(stderr, "nexus run: cannot open log file %s: %s\n", cfg.log.file,
                    strerror(errno));
            return NX_EXIT_CONFIG;
        }
    }
    nx_log_opts_t lo;
    nx_log_opts_default(&lo);
    lo.level = cfg.log.level;
    lo.format = cfg.log.format;
    lo.fd = log_fd;
    lo.debounce_ms = cfg.log.debounce_s * 1000;

    signal(SIGPIPE, SIG_IGN); /* a peer that hung up is an error return, not a death */

    rc = nx_log_start(&lo);
    if (rc) {
        fprintf(stderr, "nexus run: cannot start the logger: %s\n", nx_strerror(rc));
        return NX_EXIT_FAIL;
    }

    static replays_t rp;
    int replaying = 0;
    for (uint32_t i = 0; i < cfg.n_feeds; i++)
        replaying |= cfg.feeds[i].replay[0] != 0;
    if (replaying && ((rc = replay_storage(&cfg)) || (rc = replays_start(&rp, &cfg)))) {
        NX_ERROR("main", "cannot start the replayed feeds: %s", nx_strerror(rc));
        replays_stop(&rp);
        nx_log_stop();
        return NX_EXIT_CONFIG;
    }
    static nx_engine_t eng;
    if ((rc = nx_engine_init(&eng, &cfg))) {
        replays_stop(&rp);
        NX_ERROR("main", "cannot initialise the engine: %s", nx_strerror(rc));
        nx_log_stop();
        return NX_EXIT_FAIL;
    }
    eng.print_events = print_events;
    eng.console = console;
    eng.record_path = record;
    if ((rc = nx_engine_start(&eng))) {
        replays_stop(&rp);
        NX_ERROR("main", "cannot start the engine threads: %s", nx_strerror(rc));
        nx_engine_destroy(&eng);
        nx_log_stop();
        return NX_EXIT_FAIL;
    }
    char summary[1024];
    nx_engine_summary(&eng, summary, sizeof summary);
    NX_INFO("main", "%s", summary);

    int64_t deadline = duration > 0 ? nx_mono_ns() + (int64_t)(duration * 1e9) : INT64_MAX;
    const char *why = "duration elapsed";
    int tty = replaying && !print_events && !console && isatty(1);
    uint64_t seen = 0;
    int64_t quiet_since = 0;
    for (;;) {
        int64_t left = deadline - nx_mono_ns();
        if (left <= 0)
            break;
        if (left > NX_NS_PER_SEC / 4)
            left = NX_NS_PER_SEC / 4;
        struct timespec ts = {left / NX_NS_PER_SEC, left % NX_NS_PER_SEC};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            why = sig == SIGINT ? "SIGINT" : "SIGTERM";
            break;
        }
        if (atomic_load(&eng.halted)) {
            why = "the market data went back in time";
            break;
        }
        if (!replaying)
            continue;
        if (tty)
            progress(&eng, 1, 0);
        /* the end of the data: every replay sent all, no candle backfill is
         * pending, and the engine has taken nothing new for a second */
        uint64_t now_seen = atomic_load(&eng.engine_by_type[NX_EV_KLINE]) +
                            atomic_load(&eng.engine_by_type[NX_EV_TRADE]);
        if (now_seen != seen || !replays_done(&rp) || rest_pending(&eng)) {
            seen = now_seen;
            quiet_since = nx_mono_ns();
        } else if (nx_mono_ns() - quiet_since >= NX_NS_PER_SEC) {
            why = "end of the replayed data";
            break;
        }
    }
    NX_INFO("main", "stopping (%s): draining rings", why);
    nx_engine_request_stop(&eng);
    /* storage that stays away is waited for storage.drain_s at most; a
     * second SIGTERM or SIGINT ends the wait at once */
    while (!atomic_load(&eng.service_done)) {
        struct timespec ts = {0, 250 * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if ((sig == SIGINT || sig == SIGTERM) && !atomic_exchange(&eng.give_up, 1))
            NX_WARN("main", "%s again: not waiting for storage any longer",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    nx_engine_join(&eng);
    replays_stop(&rp);
    if (replaying)
        progress(&eng, tty, 1);

    nx_ring_stats_t m, j;
    nx_ring_stats(eng.market, &m);
    nx_ring_stats(eng.journal, &j);
    NX_INFO("main",
            "stopped cleanly: market published=%llu consumed=%llu overruns=%llu; journal "
            "published=%llu written=%llu shed=%llu lost=%llu",
            (unsigned long long)m.published, (unsigned long long)atomic_load(&eng.engine_events),
            (unsigned long long)m.overruns, (unsigned long long)j.published,
            (unsigned long long)atomic_load(&eng.journal_written),
            (unsigned long long)atomic_load(&eng.journal_shed),
            (unsigned long long)atomic_load(&eng.journal_lost));
    int halted = atomic_load(&eng.halted);
    uint64_t unstored = atomic_load(&eng.unstored);
    if (halted)
        fprintf(stderr, "nexus run: refused: %s\n", eng.halted_why);
    if (unstored)
        fprintf(stderr, "nexus run: %llu journal entries could not be stored (storage down)\n",
                (unsigned long long)unstored);
    nx_engine_destroy(&eng);
    nx_log_stop();
    if (log_fd != 2)
        close(log_fd);
    return halted || unstored ? NX_EXIT_FAIL : NX_EXIT_OK;
}
