/*
 * cmd_replay.c — `nexus replay`: serve recorded frames or candles on
 * 127.0.0.1 in a venue's own wire format (see uplink/include/nx/replay.h).
 * Prints "listening on 127.0.0.1:PORT" on stdout once ready; stops on
 * SIGINT/SIGTERM, or by itself with --exit-when-done.
 */
#include "cli.h"

#include "nx/config.h"
#include "nx/decode.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/replay.h"
#include "nx/vault.h"
#include "nx/venuesim.h"

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
        "  --history            REST klines serve every candle of the file, as a venue's\n"
        "                       history does (without it, those the stream has passed)\n"
        "  --wait-backfill MS   after a hole in the candles, hold the stream until the\n"
        "                       client's klines request has been answered (at most MS):\n"
        "                       every run the same, as `nexus run`'s own replay does\n"
        "  --retry-after S      Retry-After seconds on 429 answers (default 1)\n"
        "  --hostile-every N    candles: a frame nobody should trade on after every N\n"
        "                       trades (price 0 or below, no quantity, a candle whose low\n"
        "                       is above its high, a price far off, old, a repeated id)\n"
        "  --exit-when-done     stop once the stream has been sent to the end\n"
        "Faults on command: GET /_replay/fault?kind=drop|stall|skip|malformed|http429\n"
        "Counters: GET /_replay/status\n\n"
        "The venue's trading side beside it (Binance USD-M only):\n"
        "  --venue-sim PORT     serve REST orders, the WebSocket API and the user-data\n"
        "                       stream on 127.0.0.1:PORT (0: any free port), matching\n"
        "                       against the messages as they are sent\n"
        "  --sim-config FILE    the symbols (scales, tick, lot, minimum notional) from\n"
        "                       this Nexus config\n"
        "  --sim-accounts FILE  one account per line: API_KEY SECRET [WALLET_USDT]\n"
        "                       (secrets never on the command line)\n"
        "Simulator faults: GET /_sim/fault?kind=reject|unknown|timeout|timeout_algo|slow|\n"
        "  drop_user|mute_user|expire_key|duplicate|reorder|cancel_stop|purge|partial|\n"
        "  liquidate|skew|http429\n"
        "  [&n=N][&ms=MS][&code=C]; with &every=MS on a schedule until kind=clear;\n"
        "  counters: GET /_sim/status\n"
        "  --sim-fault-every KIND:EVERY_MS[:N[:MS]]   a fault on a schedule from the start\n"
        "                       (repeatable, up to 16)\n"
        "  --sim-quotas W:O10:O60   the simulator's quotas: request weight per minute (all\n"
        "                       accounts), orders per 10 s and per minute (each account);\n"
        "                       Binance's 2400:300:1200 by default\n");
}

static void *serve(void *arg)
{
    nx_replay_run(arg);
    return NULL;
}

static void *serve_sim(void *arg)
{
    nx_vsim_run(arg);
    return NULL;
}

/* The simulator's market: each replayed message decoded on the replay's
 * thread (the decoder's ring has that one producer and consumer) and
 * handed to the simulator. */
typedef struct simfeed {
    nx_vsim_t *sim;
    nx_symtab_t symtab;
    nx_decoder_t dec;
    nx_ring_t *ring;
    nx_ring_consumer_t *c;
} simfeed_t;

static void sim_message(void *ctx, const char *data, size_t len)
{
    simfeed_t *f = ctx;
    uint64_t first, seq;
    if (nx_decode_frame(&f->dec, data, len, &first) <= 0)
        return;
    uint32_t n;
    while ((n = nx_ring_poll(f->ring, f->c, 64, &seq)) > 0) {
        for (uint32_t i = 0; i < n; i++)
            nx_vsim_on_market(f->sim, nx_bus_event(f->ring, seq + i));
        nx_ring_release(f->c, seq + n);
    }
}

/* "API_KEY SECRET [WALLET]" lines; '#' starts a comment. */
static int sim_accounts(nx_vsim_t *sim, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "nexus replay: cannot read %s\n", path);
        return NX_EIO;
    }
    char line[1024];
    int n = 0, lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char key[256], secret[600], wallet[64] = "10000";
        if (line[0] == '#' || line[0] == '\n')
            continue;
        int k = sscanf(line, "%255s %599s %63s", key, secret, wallet);
        int64_t w = 0;
        if (k < 2 || nx_fixed_parse(wallet, strlen(wallet), NX_VSIM_MONEY_SCALE, &w) || w <= 0) {
            fprintf(stderr, "nexus replay: %s:%d: expected API_KEY SECRET [WALLET_USDT]\n", path,
                    lineno);
            rc = NX_ESYNTAX;
        } else if ((rc = nx_vsim_add_account(sim, key, secret, w))) {
            fprintf(stderr, "nexus replay: %s:%d: %s\n", path, lineno, nx_strerror(rc));
        } else {
            n++;
        }
        nx_secret_wipe(secret, sizeof secret);
    }
    nx_secret_wipe(line, sizeof line);
    fclose(f);
    if (!rc && !n) {
        fprintf(stderr, "nexus replay: %s holds no account\n", path);
        rc = NX_EINVAL;
    }
    return rc;
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
        O_SIM,
        O_SIM_CONFIG,
        O_SIM_ACCOUNTS,
        O_SIM_EVERY,
        O_HISTORY,
        O_WAIT_BACKFILL,
        O_SIM_QUOTAS,
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
                                         {"venue-sim", required_argument, 0, O_SIM},
                                         {"sim-config", required_argument, 0, O_SIM_CONFIG},
                                         {"sim-accounts", required_argument, 0, O_SIM_ACCOUNTS},
                                         {"sim-fault-every", required_argument, 0, O_SIM_EVERY},
                                         {"history", no_argument, 0, O_HISTORY},
                                         {"wait-backfill", required_argument, 0, O_WAIT_BACKFILL},
                                         {"sim-quotas", required_argument, 0, O_SIM_QUOTAS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    nx_replay_opts_t o;
    nx_replay_opts_default(&o);
    const char *venue = NULL, *sim_config = NULL, *sim_accts = NULL;
    const char *sim_every[16];
    int n_every = 0;
    int exit_when_done = 0, c, sim_port = -1;
    unsigned quota_w = 0, quota_10s = 0, quota_1m = 0;
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
        case O_HISTORY:
            o.history = 1;
            break;
        case O_WAIT_BACKFILL:
            o.wait_backfill_ms = (uint32_t)atoi(optarg);
            break;
        case O_SIM_QUOTAS:
            if (sscanf(optarg, "%u:%u:%u", &quota_w, &quota_10s, &quota_1m) != 3 || !quota_w ||
                !quota_10s || !quota_1m) {
                fprintf(stderr, "nexus replay: --sim-quotas %s: want WEIGHT_1M:ORDERS_10S:"
                                "ORDERS_1M, each above 0\n", optarg);
                return NX_EXIT_USAGE;
            }
            break;
        case O_HOSTILE:
            o.hostile_every = (uint32_t)atol(optarg);
            break;
        case O_SIM:
            sim_port = atoi(optarg);
            break;
        case O_SIM_CONFIG:
            sim_config = optarg;
            break;
        case O_SIM_EVERY:
            if (n_every == 16) {
                fprintf(stderr, "nexus replay: at most 16 --sim-fault-every\n");
                return NX_EXIT_USAGE;
            }
            sim_every[n_every++] = optarg;
            break;
        case O_SIM_ACCOUNTS:
            sim_accts = optarg;
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
    if (sim_port >= 0 && (o.venue != NX_VENUE_BINANCE_USDM || !sim_config || !sim_accts)) {
        fprintf(stderr, "nexus replay: --venue-sim serves Binance USD-M (--venue binance-usdm) "
                        "and needs --sim-config and --sim-accounts\n");
        return NX_EXIT_USAGE;
    }
    static simfeed_t feed; /* the replay's thread uses it until the end of this function */
    static nx_config_t scfg;
    if (sim_port >= 0) {
        nx_config_errors_t errs;
        if (nx_config_load(sim_config, &scfg, &errs)) {
            nx_config_errors_print(&errs, stderr);
            return NX_EXIT_CONFIG;
        }
        nx_symtab_init(&feed.symtab);
        nx_vsim_opts_t so;
        nx_vsim_opts_default(&so);
        so.symtab = &feed.symtab;
        so.port = sim_port;
        if (quota_w) { /* --sim-quotas: smaller than Binance's, for a test to reach */
            so.weight_1m = quota_w;
            so.orders_10s = quota_10s;
            so.orders_1m = quota_1m;
        }
        int rc;
        if ((rc = nx_config_symbols_intern(&scfg, &feed.symtab)) ||
            (rc = nx_ring_create(&feed.ring, "sim", 1 << 12, sizeof(nx_event_t), 1,
                                 NX_RING_NEVER_BLOCK, NX_WAIT_SPIN)) ||
            (rc = nx_decoder_init(&feed.dec, o.venue, &feed.symtab, feed.ring)) ||
            (rc = nx_vsim_create(&feed.sim, &so)) ||
            (rc = sim_accounts(feed.sim, sim_accts))) {
            fprintf(stderr, "nexus replay: the venue simulator cannot start: %s\n",
                    nx_strerror(rc));
            nx_vsim_destroy(feed.sim);
            return NX_EXIT_CONFIG;
        }
        for (int i = 0; i < n_every; i++) { /* KIND:MS[:N[:ARG_MS]] */
            char kind[32] = "", why[256];
            long long every = 0, n = 1, ms = 0;
            if (sscanf(sim_every[i], "%31[a-z_0-9]:%lld:%lld:%lld", kind, &every, &n, &ms) < 2 ||
                nx_vsim_schedule(feed.sim, kind, every, n, ms, 0, why, sizeof why)) {
                fprintf(stderr,
                        "nexus replay: --sim-fault-every %s: want KIND:EVERY_MS[:N[:MS]] with a "
                        "fault kind and EVERY_MS >= 10\n",
                        sim_every[i]);
                nx_vsim_destroy(feed.sim);
                return NX_EXIT_USAGE;
            }
        }
        feed.c = nx_ring_consumer(feed.ring, 0);
        o.on_message = sim_message;
        o.on_message_ctx = &feed;
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
    pthread_t th, sth;
    if (feed.sim) {
        printf("nexus replay: venue simulator on 127.0.0.1:%d (REST, /ws-fapi/v1, /ws/<listenKey>)\n",
               nx_vsim_port(feed.sim));
        fflush(stdout);
        pthread_create(&sth, NULL, serve_sim, feed.sim);
    }
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
    if (feed.sim) {
        nx_vsim_stop(feed.sim);
        pthread_join(sth, NULL);
        nx_vsim_stats_t vs;
        nx_vsim_stats(feed.sim, &vs);
        fprintf(stderr,
                "{\"venue_sim\":{\"requests\":%llu,\"orders\":%llu,\"algo_orders\":%llu,"
                "\"fills\":%llu,\"rejects\":%llu,\"bad_signature\":%llu,\"http429\":%llu,"
                "\"max_weight_pct\":%u,\"max_orders_10s_pct\":%u}}\n",
                (unsigned long long)vs.requests, (unsigned long long)vs.orders,
                (unsigned long long)vs.algo_orders, (unsigned long long)vs.fills,
                (unsigned long long)vs.rejects, (unsigned long long)vs.bad_signature,
                (unsigned long long)vs.http429, vs.max_weight_pct, vs.max_orders_10s_pct);
        nx_vsim_destroy(feed.sim);
        nx_decoder_fini(&feed.dec);
        nx_ring_destroy(feed.ring);
    }
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
