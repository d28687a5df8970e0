/*
 * cmd_replay.c — `nexus replay`: serve recorded frames or candles on
 * 127.0.0.1 in a venue's own wire format (see uplink/include/nx/replay.h).
 * Prints "listening on 127.0.0.1:PORT" on stdout once ready; stops on
 * SIGINT/SIGTERM, or by itself with --exit-when-done.
 */
#include "cli.h"

#include "nx/error.h"
#include "nx/replay.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void help(FILE *out)
{
    fprintf(
        out,
        "usage: nexus replay --venue VENUE (--frames FILE | --candles FILE) [options]\n\n"
        "Serve a venue's WebSocket streams and REST endpoints on 127.0.0.1 from recorded\n"
        "frames (JSON lines) or a candle CSV (open_time_ms,open,high,low,close,volume).\n\n"
        "  --venue V            binance-usdm | binance-spot | bybit-linear | bybit-spot | alpaca\n"
        "  --frames FILE        raw frames, one per line\n"
        "  --candles FILE       candles, turned into trades and closed klines\n"
        "  --symbol S           symbol of the candle file (default BTCUSDT)\n"
        "  --port N             port (default 0: any free port)\n"
        "  --speed X            0 = as fast as the client reads (default), 1 = as\n"
        "                       recorded, N = N times faster\n"
        "  --drop-every N       drop the WebSocket every N messages\n"
        "  --drop-gap N         messages a client misses per drop (default 8)\n"
        "  --drop-max N         at most N drops\n"
        "  --malformed-every N  send a malformed frame every N messages\n"
        "  --skip-every N       skip one depth update id every N depth updates\n"
        "  --skip-after N       ... none of the first N (let clients sync first)\n"
        "  --stall-every N --stall-ms MS   pause the stream every N messages\n"
        "  --http429-first N    answer the first N REST requests with 429\n"
        "  --retry-after S      Retry-After seconds on 429 answers (default 1)\n"
        "  --hostile-every N    candles: a frame nobody should trade on after every N\n"
        "                       trades (price 0 or below, no quantity, a candle whose low\n"
        "                       is above its high, a price far off, old, a repeated id)\n"
        "  --exit-when-done     stop once the stream has been sent to the end\n"
        "Faults on command: GET /_replay/fault?kind=drop|stall|skip|malformed|http429\n"
        "Counters: GET /_replay/status\n");
}

static void *serve(void *arg)
{
    nx_replay_run(arg);
    return NULL;
}

int nx_cmd_replay(int argc, char **argv)
{
    enum {
        O_FRAMES = 256,
        O_CANDLES,
        O_SYMBOL,
        O_PORT,
        O_SPEED,
        O_DROP_EVERY,
        O_DROP_GAP,
        O_DROP_MAX,
        O_MALFORMED,
        O_SKIP,
        O_SKIP_AFTER,
        O_STALL_EVERY,
        O_STALL_MS,
        O_429,
        O_RETRY,
        O_DONE,
        O_HOSTILE,
    };
    static const struct option opts[] = {{"venue", required_argument, 0, 'v'},
                                         {"frames", required_argument, 0, O_FRAMES},
                                         {"candles", required_argument, 0, O_CANDLES},
                                         {"symbol", required_argument, 0, O_SYMBOL},
                                         {"port", required_argument, 0, O_PORT},
                                         {"speed", required_argument, 0, O_SPEED},
                                         {"drop-every", required_argument, 0, O_DROP_EVERY},
                                         {"drop-gap", required_argument, 0, O_DROP_GAP},
                                         {"drop-max", required_argument, 0, O_DROP_MAX},
                                         {"malformed-every", required_argument, 0, O_MALFORMED},
                                         {"skip-every", required_argument, 0, O_SKIP},
                                         {"skip-after", required_argument, 0, O_SKIP_AFTER},
                                         {"stall-every", required_argument, 0, O_STALL_EVERY},
                                         {"stall-ms", required_argument, 0, O_STALL_MS},
                                         {"http429-first", required_argument, 0, O_429},
                                         {"retry-after", required_argument, 0, O_RETRY},
                                         {"exit-when-done", no_argument, 0, O_DONE},
                                         {"hostile-every", required_argument, 0, O_HOSTILE},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    nx_replay_opts_t o;
    nx_replay_opts_default(&o);
    const char *venue = NULL;
    int exit_when_done = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "v:h", opts, NULL)) != -1) {
        switch (c) {
        case 'v':
            venue = optarg;
            break;
        case O_FRAMES:
            o.frames_path = optarg;
            break;
        case O_CANDLES:
            o.candles_path = optarg;
            break;
        case O_SYMBOL:
            o.symbol = optarg;
            break;
        case O_PORT:
            o.port = atoi(optarg);
            break;
        case O_SPEED:
            o.speed = atof(optarg);
            break;
        case O_DROP_EVERY:
            o.drop_every = (uint32_t)atol(optarg);
            break;
        case O_DROP_GAP:
            o.drop_gap = (uint32_t)atol(optarg);
            break;
        case O_DROP_MAX:
            o.drop_max = (uint32_t)atol(optarg);
            break;
        case O_MALFORMED:
            o.malformed_every = (uint32_t)atol(optarg);
            break;
        case O_SKIP:
            o.skip_every = (uint32_t)atol(optarg);
            break;
        case O_SKIP_AFTER:
            o.skip_after = (uint32_t)atol(optarg);
            break;
        case O_STALL_EVERY:
            o.stall_every = (uint32_t)atol(optarg);
            break;
        case O_STALL_MS:
            o.stall_ms = (uint32_t)atol(optarg);
            break;
        case O_429:
            o.http429_first = (uint32_t)atol(optarg);
            break;
        case O_RETRY:
            o.retry_after_s = (uint32_t)atol(optarg);
            break;
        case O_DONE:
            exit_when_done = 1;
            break;
        case O_HOSTILE:
            o.hostile_every = (uint32_t)atol(optarg);
            break;
        case 'h':
            help(stdout);
            return NX_EXIT_OK;
        default:
            help(stderr);
            return NX_EXIT_USAGE;
        }
    }
    if (!venue || optind != argc || !o.frames_path == !o.candles_path || o.speed < 0) {
        help(stderr);
        return NX_EXIT_USAGE;
    }
    o.venue = nx_venue_parse(venue, strlen(venue));
    if (o.venue == NX_VENUE_NONE || o.venue == NX_VENUE_PAPER) {
        fprintf(stderr, "nexus replay: unknown venue '%s'\n", venue);
        return NX_EXIT_USAGE;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    nx_replay_t *r;
    int rc = nx_replay_create(&r, &o);
    if (rc) {
        char why[320];
        if (rc == NX_ESYSTEM || nx_replay_check(&o, why, sizeof why) == 0)
            snprintf(why, sizeof why, "%s (%s)", nx_strerror(rc),
                     o.frames_path ? o.frames_path : o.candles_path);
        fprintf(stderr, "nexus replay: cannot start: %s\n", why);
        return rc == NX_ESYSTEM ? NX_EXIT_FAIL : NX_EXIT_CONFIG;
    }
    nx_replay_stats_t st;
    nx_replay_stats(r, &st);
    printf("nexus replay: listening on 127.0.0.1:%d (%s, %llu messages)\n", nx_replay_port(r),
           venue, (unsigned long long)st.messages);
    fflush(stdout);
    pthread_t th;
    pthread_create(&th, NULL, serve, r);
    for (;;) {
        struct timespec ts = {0, 100000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (exit_when_done) {
            nx_replay_stats(r, &st);
            if (st.done && st.clients == 0)
                break;
        }
    }
    nx_replay_stop(r);
    pthread_join(th, NULL);
    nx_replay_stats(r, &st);
    fprintf(stderr,
            "{\"replay\":\"%s\",\"messages\":%llu,\"sent\":%llu,\"connections\":%u,\"drops\":%llu,"
            "\"malformed\":%llu,\"skipped\":%llu,\"http429\":%llu,\"rest_requests\":%llu}\n",
            venue, (unsigned long long)st.messages, (unsigned long long)st.sent, st.connections,
            (unsigned long long)st.drops, (unsigned long long)st.malformed,
            (unsigned long long)st.skipped, (unsigned long long)st.http429,
            (unsigned long long)st.rest_requests);
    nx_replay_destroy(r);
    return NX_EXIT_OK;
}
