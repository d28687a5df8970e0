/*
 * bench_backtest — events per second through the whole engine (decoder,
 * bad-tick filter, desk with the paper venue, cortex with the strategy
 * plugins, regime routing) on the bundled 13,843 BTCUSDT 15m candles
 * (69,195 events: four trades and a closed kline each):
 *
 *   json        `nexus backtest` on the example config (five strategies,
 *               Sentinel, the XGBoost regime model on every 15m candle),
 *               reading the venue's JSON messages: the engine loop alone,
 *               as `nexus backtest` times it (reading the file apart);
 *   json_plain  the same without the regime model (trend, scalping, grid):
 *               what the rest of the engine costs;
 *   bin, bin_plain  both again from the event file `nexus record` writes of
 *               the same series (recorded here first, through the loopback
 *               replay): no JSON decoded;
 *   replay      the reference: `nexus run` on the same file through its
 *               loopback replay (WebSocket and REST on 127.0.0.1, three
 *               threads, the journal stored in SQLite), events over the
 *               process's wall time.
 * Best of three runs each, in this process's run.
 *
 *   bench_backtest
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run a shell command; its stderr and stdout (merged) into out. */
static int run(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double backtest_rate(const char *cfg, const char *csv, double *ms)
{
    static char out[1 << 20];
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' backtest --config '%s' '%s' 2>&1", NX_NEXUS_BIN, cfg, csv);
    double best = 0;
    for (int i = 0; i < 3; i++) {
        if (run(cmd, out, sizeof out)) {
            fprintf(stderr, "bench_backtest: %s failed:\n%s\n", cmd, out);
            exit(1);
        }
        const char *p = strstr(out, "events through the engine in ");
        double t, r;
        if (!p || sscanf(p, "events through the engine in %lf ms (%lf", &t, &r) != 2) {
            fprintf(stderr, "bench_backtest: no timing in:\n%s\n", out);
            exit(1);
        }
        if (r > best)
            best = r, *ms = t;
    }
    return best;
}

int main(void)
{
    const char *src = getenv("NX_SOURCE_DIR") ? getenv("NX_SOURCE_DIR") : NX_SOURCE_DIR_DEFAULT;
    char csv[512], ex[512], plain[512], tmp[] = "/tmp/nx-bench-bt-XXXXXX";
    snprintf(csv, sizeof csv, "%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv",
             src);
    snprintf(ex, sizeof ex, "%s/config/replay.example.json", src);
    if (!mkdtemp(tmp))
        return 1;
    snprintf(plain, sizeof plain, "%s/plain.json", tmp);
    FILE *f = fopen(plain, "w");
    if (!f)
        return 1;
    fprintf(f,
            "{ \"log\": { \"level\": \"info\" },\n"
            "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
            "                   \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\" } ],\n"
            "  \"cortex\": { \"timeframes\": [\"15m\", \"1h\", \"4h\"], \"allow_unsigned\": true,\n"
            "    \"strategies\": [ { \"plugin\": \"trend\", \"timeframes\": [\"15m\", \"4h\"] },\n"
            "                     { \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] },\n"
            "                     { \"plugin\": \"grid\", \"timeframes\": [\"15m\"] } ] },\n"
            "  \"users\": [ { \"id\": 1, \"chat_id\": 1001, \"name\": \"owner\", \"role\": \"owner\" } ],\n"
            "  \"trading\": { \"slippage_bp\": 2, \"taker_fee_bp\": 4, \"maker_fee_bp\": 2,\n"
            "    \"sessions\": [ { \"name\": \"owner\", \"user\": 1, \"mode\": \"pilot\",\n"
            "      \"equity\": \"10000\", \"symbols\": [\"BTCUSDT\"], \"leverage\": 2,\n"
            "      \"trail_bp\": 150, \"cooldown_s\": 3600, \"breaker_halt_s\": 86400 } ] } }\n");
    fclose(f);
    double ms_json = 0, ms_plain = 0, ms_bin = 0, ms_bin_plain = 0;
    double json = backtest_rate(ex, csv, &ms_json);
    double json_plain = backtest_rate(plain, csv, &ms_plain);
    char nxev[600], rec[2048];
    static char rout[1 << 20];
    snprintf(nxev, sizeof nxev, "%s/series.nxev", tmp);
    snprintf(rec, sizeof rec, "cd '%s/config' && '%s' record --config replay.example.json --out '%s' 2>&1",
             src, NX_NEXUS_BIN, nxev);
    if (run(rec, rout, sizeof rout)) {
        fprintf(stderr, "bench_backtest: nexus record failed:\n%.2000s\n", rout);
        return 1;
    }
    double bin = backtest_rate(ex, nxev, &ms_bin);
    double bin_plain = backtest_rate(plain, nxev, &ms_bin_plain);
    /* the reference: nexus run through the loopback replay, in a scratch
     * copy of the example config's folder layout (its data_dir is its own) */
    static char out[1 << 22];
    char cmd[2048];
    /* (a replay run starts from an empty database under the config's
     * data_dir, config/nexus-data/replay) */
    snprintf(cmd, sizeof cmd, "cd '%s/config' && '%s' run --config replay.example.json 2>&1", src,
             NX_NEXUS_BIN);
    double replay = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        if (run(cmd, out, sizeof out)) {
            fprintf(stderr, "bench_backtest: nexus run failed:\n%.2000s\n", out);
            return 1;
        }
        double el = now_s() - t0;
        const char *p = NULL, *q = out;
        while ((q = strstr(q, "events ")))
            p = q++;
        unsigned long long ev = 0;
        if (!p || sscanf(p, "events %llu", &ev) != 1 || !ev) {
            fprintf(stderr, "bench_backtest: no event count from nexus run\n");
            return 1;
        }
        if ((double)ev / el > replay)
            replay = (double)ev / el;
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd))
        return 1;
    printf("bench_backtest: 69195 events (13843 candles), best of 3 each\n");
    printf("json, example config (regime model on): %.0f events/s, %.1f ms for the series\n", json,
           ms_json);
    printf("json, no regime model:                  %.0f events/s, %.1f ms for the series\n",
           json_plain, ms_plain);
    printf("event file, example config:             %.0f events/s, %.1f ms for the series\n", bin,
           ms_bin);
    printf("event file, no regime model:            %.0f events/s, %.1f ms for the series\n",
           bin_plain, ms_bin_plain);
    printf("loopback replay (nexus run):            %.0f events/s\n", replay);
    printf("{\"bench\":\"backtest\",\"bin_events_per_s\":%.0f,\"bin_plain_events_per_s\":%.0f,"
           "\"json_events_per_s\":%.0f,\"json_plain_events_per_s\":%.0f,"
           "\"replay_events_per_s\":%.0f,\"series_ms\":%.1f,\"ratio_vs_replay\":%.2f}\n",
           bin, bin_plain, json, json_plain, replay, ms_json, replay > 0 ? json / replay : 0);
    return 0;
}
