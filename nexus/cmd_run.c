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
#include "nx/log.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *out)
{
    fprintf(out, "usage: nexus run --config FILE [--duration SECONDS]\n\n"
                 "Start the engine. Stops cleanly on SIGINT or SIGTERM: rings are drained and\n"
                 "every thread joined before exit 0.\n\n"
                 "  -c, --config FILE      config file (see config/nexus.example.json)\n"
                 "  -d, --duration SECONDS stop by itself after this many seconds\n"
                 "  -e, --events           print every market event the engine receives as a\n"
                 "                         JSON line on standard output\n"
                 "  -h, --help             this text\n");
}

int nx_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"duration", required_argument, 0, 'd'},
                                         {"events", no_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = NULL;
    double duration = 0;
    int c, print_events = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:eh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'd': {
            char *end;
            duration = strtod(optarg, &end);
            if (*end || duration <= 0) {
                fprintf(stderr, "nexus run: --duration wants a positive number of seconds\n");
                return NX_EXIT_USAGE;
            }
            break;
        }
        case 'e':
            print_events = 1;
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

    static nx_config_t cfg;
    static nx_config_errors_t errs;
    if (nx_config_load(path, &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fprintf(stderr, "%s: %d problem%s; nothing was started\n", path, errs.count,
                errs.count == 1 ? "" : "s");
        return NX_EXIT_CONFIG;
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

    /* Block the stop signals before any thread exists so all inherit it. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    int rc = nx_log_start(&lo);
    if (rc) {
        fprintf(stderr, "nexus run: cannot start the logger: %s\n", nx_strerror(rc));
        return NX_EXIT_FAIL;
    }

    static nx_engine_t eng;
    if ((rc = nx_engine_init(&eng, &cfg))) {
        NX_ERROR("main", "cannot initialise the engine: %s", nx_strerror(rc));
        nx_log_stop();
        return NX_EXIT_FAIL;
    }
    eng.print_events = print_events;
    if ((rc = nx_engine_start(&eng))) {
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
    for (;;) {
        int64_t left = deadline - nx_mono_ns();
        if (left <= 0)
            break;
        if (left > NX_NS_PER_SEC)
            left = NX_NS_PER_SEC;
        struct timespec ts = {left / NX_NS_PER_SEC, left % NX_NS_PER_SEC};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            why = sig == SIGINT ? "SIGINT" : "SIGTERM";
            break;
        }
    }
    NX_INFO("main", "stopping (%s): draining rings", why);
    nx_engine_request_stop(&eng);
    nx_engine_join(&eng);

    nx_ring_stats_t m, j;
    nx_ring_stats(eng.market, &m);
    nx_ring_stats(eng.journal, &j);
    NX_INFO("main",
            "stopped cleanly: market published=%llu consumed=%llu overruns=%llu; journal "
            "published=%llu written=%llu",
            (unsigned long long)m.published, (unsigned long long)atomic_load(&eng.engine_events),
            (unsigned long long)m.overruns, (unsigned long long)j.published,
            (unsigned long long)atomic_load(&eng.journal_written));
    nx_engine_destroy(&eng);
    nx_log_stop();
    if (log_fd != 2)
        close(log_fd);
    return NX_EXIT_OK;
}
