/*
 * test_config.c — every class of config error is reported with the right
 * file:line:column, key path and allowed values; a valid file loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nx/config.h"
#include "nx/error.h"

static nx_config_t cfg;
static nx_config_errors_t errs;

static int load(const char *text)
{
    return nx_config_load_string(text, strlen(text), "t.json", &cfg, &errs);
}

/* Exactly one error at line:col whose path and message contain the given
 * strings. */
static void expect_one(const char *text, int line, int col, const char *path, const char *msg)
{
    int rc = load(text);
    if (rc != NX_ECONFIG || errs.count != 1) {
        nx_config_errors_print(&errs, stderr);
        fail_msg("expected exactly one error, got rc=%d count=%d", rc, errs.count);
    }
    const nx_config_error_t *e = &errs.e[0];
    if (e->line != line || e->column != col || !strstr(e->path, path) || !strstr(e->message, msg)) {
        nx_config_errors_print(&errs, stderr);
        fail_msg("wanted %d:%d %s '%s'", line, col, path, msg);
    }
}

static void test_valid_and_defaults(void **state)
{
    (void)state;
    assert_int_equal(load("{}"), 0);
    assert_int_equal(cfg.engine.market_ring, 65536);
    assert_int_equal(cfg.engine.wait, NX_WAIT_BLOCK);
    assert_int_equal(cfg.n_symbols, 0);
    assert_int_equal(load("{\"engine\":{\"market_ring\":2048,\"wait\":\"spin\",\"clock\":\"sim\"},"
                          "\"symbols\":[{\"venue\":\"bybit-linear\",\"symbol\":\"BTCUSDT\","
                          "\"tick_size\":\"0.10\",\"lot_size\":\"0.001\",\"price_scale\":2}]}"),
                     0);
    assert_int_equal(cfg.engine.market_ring, 2048);
    assert_int_equal(cfg.engine.wait, NX_WAIT_SPIN);
    assert_int_equal(cfg.engine.clock, NX_CLOCK_SIM);
    assert_int_equal(cfg.n_symbols, 1);
    assert_int_equal(cfg.symbols[0].venue, NX_VENUE_BYBIT_LINEAR);
    assert_int_equal(cfg.symbols[0].tick_size, 10);    /* 0.10 at scale 2 */
    assert_int_equal(cfg.symbols[0].lot_size, 100000); /* 0.001 at scale 8 */

    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/config/nexus.example.json", src ? src : NX_SOURCE_DIR_DEFAULT);
    if (nx_config_load(path, &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fail_msg("the shipped example config must be valid");
    }
    assert_true(cfg.n_symbols >= 1);
    snprintf(path, sizeof path, "%s/config/replay.example.json", src ? src : NX_SOURCE_DIR_DEFAULT);
    if (nx_config_load(path, &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fail_msg("the shipped replay config must be valid");
    }
    assert_int_equal(cfg.n_feeds, 1); /* the main job: the bundled candles, served by nexus run */
    assert_int_equal(cfg.feeds[0].venue, NX_VENUE_BINANCE_USDM);
    assert_int_equal(cfg.feeds[0].streams, 0x5u); /* trades, klines */
    assert_non_null(strstr(cfg.feeds[0].replay, "tests/data/candles/"));
    assert_int_equal(cfg.feeds[0].replay_speed, 0);
    assert_string_equal(cfg.feeds[0].replay_symbol, "BTCUSDT");
    /* A feed for a venue without symbols, and a bad URL, are refused. */
    assert_int_equal(load("{\"feeds\":[{\"venue\":\"alpaca\",\"ws_url\":\"http://x\","
                          "\"rest_url\":\"http://x\"}]}"),
                     NX_ECONFIG);
    assert_int_equal(errs.count, 2);
}

static void test_syntax_error(void **state)
{
    (void)state;
    expect_one("{\n  \"engine\": {\n    \"market_ring\": 1024,\n  }\n}\n", 4, 3, "(syntax)",
               "invalid JSON");
    expect_one("{\n  \"log\": {},\n  \"log\": {}\n}\n", 3, 3, "(syntax)", "duplicate");
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_one("{\n  \"engine\": {\n    \"market_rnig\": 1024\n  }\n}\n", 3, 5,
               "engine.market_rnig", "allowed keys here: market_ring, order_ring");
    expect_one("{\"log\": {\"level\": \"info\"}, \"colour\": true}", 1, 28, "colour",
               "unknown key");
}

static void test_wrong_type(void **state)
{
    (void)state;
    expect_one("{\n  \"engine\": {\n    \"market_ring\": \"big\"\n  }\n}\n", 3, 20,
               "engine.market_ring", "expected an integer, got a string");
    expect_one("{\"engine\": []}", 1, 12, "engine", "expected an object, got an array");
    expect_one("{\"symbols\": [{\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": 0.01, "
               "\"lot_size\": \"1\"}]}",
               1, 65, "symbols[0].tick_size", "decimal number written as a string");
}

static void test_out_of_range(void **state)
{
    (void)state;
    expect_one("{\n  \"engine\": {\n    \"market_ring\": 1000\n  }\n}\n", 3, 20,
               "engine.market_ring", "expected a power of two in 1024..16777216");
    expect_one("{\n  \"engine\": {\n    \"stats_interval_s\": -5\n  }\n}\n", 3, 25,
               "engine.stats_interval_s", "-5 is not allowed; expected an integer in 0..86400");
    expect_one("{\"log\": {\"level\": \"verbose\"}}", 1, 19, "log.level",
               "expected one of \"debug\", \"info\", \"warn\", \"error\"");
    expect_one("{\"symbols\": [\n {\"venue\": \"kraken\", \"symbol\": \"X\", \"tick_size\": \"1\", "
               "\"lot_size\": \"1\"}]}",
               2, 12, "symbols[0].venue", "\"binance-usdm\"");
    expect_one("{\"symbols\": [{\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": \"0\", "
               "\"lot_size\": \"1\"}]}",
               1, 65, "symbols[0].tick_size", "expected a decimal > 0");
    expect_one(
        "{\"symbols\": [{\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": \"1.5x\", "
        "\"lot_size\": \"1\"}]}",
        1, 65, "symbols[0].tick_size", "malformed input");
}

/* live.foreign: hold by default, adopt when asked, anything else named. */
static void test_live_foreign(void **state)
{
    (void)state;
    assert_int_equal(load("{}"), 0);
    assert_int_equal(cfg.live.foreign_adopt, 0);
    assert_int_equal(load("{\"live\": {\"foreign\": \"hold\"}}"), 0);
    assert_int_equal(cfg.live.foreign_adopt, 0);
    assert_int_equal(load("{\"live\": {\"foreign\": \"adopt\"}}"), 0);
    assert_int_equal(cfg.live.foreign_adopt, 1);
    expect_one("{\"live\": {\"foreign\": \"ignore\"}}", 1, 22, "live.foreign",
               "expected one of \"hold\", \"adopt\"");
}

static void test_missing_and_semantic(void **state)
{
    (void)state;
    expect_one(
        "{\"symbols\": [{\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"lot_size\": \"1\"}]}", 1,
        14, "symbols[0]", "missing required key \"tick_size\"");
    /* Tick finer than the price scale cannot be held exactly. */
    expect_one(
        "{\"symbols\": [{\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": \"0.001\", "
        "\"lot_size\": \"1\", \"price_scale\": 2}]}",
        1, 65, "symbols[0].tick_size", "cannot be held exactly at scale 2");
    expect_one("{\"symbols\": [\n"
               "  {\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": \"0.01\", "
               "\"lot_size\": \"1\"},\n"
               "  {\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": \"0.01\", "
               "\"lot_size\": \"1\"}\n"
               "]}",
               3, 33, "symbols[1].symbol", "already listed at symbols[0]");
    /* Money is kept at one price scale: a symbol at another is refused
     * (issue 16: it was silently mixed with symbol 0's). */
    expect_one("{\"symbols\": [\n"
               "  {\"venue\": \"alpaca\", \"symbol\": \"AAPL\", \"tick_size\": \"0.01\", "
               "\"lot_size\": \"1\", \"price_scale\": 2},\n"
               "  {\"venue\": \"alpaca\", \"symbol\": \"MSFT\", \"tick_size\": \"0.01\", "
               "\"lot_size\": \"1\", \"price_scale\": 4}\n"
               "]}",
               3, 94, "symbols[1].price_scale",
               "price_scale 4 differs from symbols[0] (AAPL, price_scale 2): account money is kept "
               "at one price scale");
}

#define SYM                                                                                        \
    "{\"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\", "                       \
    "\"tick_size\": \"0.1\", \"lot_size\": \"0.001\"}],\n"

static void test_cortex_section(void **state)
{
    (void)state;
    /* defaults */
    assert_int_equal(load("{}"), 0);
    assert_int_equal(cfg.cortex.ntf, 3);
    assert_int_equal(cfg.cortex.tf_s[1], 900);
    assert_int_equal(cfg.cortex.watch, 1);
    assert_int_equal(cfg.cortex.allow_unsigned, 0);
    /* a full section */
    assert_int_equal(
        load(SYM
             " \"cortex\": {\"timeframes\": [\"5m\", \"1h\"], \"candles_from\": \"trades\",\n"
             "  \"trusted_keys\": [\"18V3XtDM4ie/K980uNExBgL9h7lX3QmoZSNqZx5QTA4=\"],\n"
             "  \"strategies\": [{\"plugin\": \"trend\", \"symbols\": [\"BTCUSDT\"],\n"
             "    \"timeframes\": [\"15m\"], \"params\": {\"adx_min\": 30, \"x\": [1, \"a\"]}},\n"
             "   {\"plugin\": \"trend\", \"name\": \"trend_slow\"}]}}"),
        0);
    assert_int_equal(cfg.cortex.ntf, 2);
    assert_int_equal(cfg.cortex.tf_s[0], 300);
    assert_int_equal(cfg.cortex.candles_from_trades, 1);
    assert_int_equal(cfg.cortex.n_keys, 1);
    assert_int_equal(cfg.cortex.n_strategies, 2);
    assert_string_equal(cfg.cortex.strategies[0].params, "{\"adx_min\":30,\"x\":[1,\"a\"]}");
    assert_int_equal(cfg.cortex.strategies[0].n_symbols, 1);
    assert_int_equal(cfg.cortex.strategies[0].tf_s[0], 900);
    assert_string_equal(cfg.cortex.strategies[1].name, "trend_slow");
    assert_string_equal(cfg.cortex.strategies[1].params, "{}");
    /* each mistake, with its position */
    expect_one(
        SYM
        " \"cortex\": {\"strategies\": [{\"plugin\": \"trend\", \"symbols\": [\"DOGEUSDT\"]}]}}",
        2, 60, "cortex.strategies[0].symbols[0]", "not a configured symbol");
    expect_one(
        SYM " \"cortex\": {\"trusted_keys\": [\"not-a-key-but-44-characters-long-xxxxxxxxxx=\"]}}",
        2, 30, "cortex.trusted_keys[0]", "not a base64 Ed25519 public key");
    expect_one(SYM
               " \"cortex\": {\"strategies\": [{\"plugin\": \"trend\"}, {\"plugin\": \"trend\"}]}}",
               2, 60, "cortex.strategies[1].plugin", "already listed at cortex.strategies[0]");
    expect_one(SYM " \"cortex\": {\"strategies\": [{\"plugin\": \"trend\", \"params\": [1]}]}}", 2,
               58, "cortex.strategies[0].params", "expected an object");
    expect_one(SYM " \"cortex\": {\"timeframes\": [\"7m\"]}}", 2, 28, "cortex.timeframes[0]",
               "not allowed");
    expect_one(SYM " \"cortex\": {\"strategies\": [{\"plugin\": \"../evil\"}]}}", 2, 39,
               "cortex.strategies[0].plugin", "plugin names use a-z");
    expect_one(SYM " \"cortex\": {\"strategies\": [{\"name\": \"x\"}]}}", 2, 28,
               "cortex.strategies[0]", "missing required key \"plugin\"");
}

/* Some error with this path and message (its position not checked). */
static void expect_somewhere(const char *text, const char *path, const char *msg)
{
    int rc = load(text);
    for (int i = 0; rc == NX_ECONFIG && i < errs.count; i++)
        if (strstr(errs.e[i].path, path) && strstr(errs.e[i].message, msg))
            return;
    nx_config_errors_print(&errs, stderr);
    fail_msg("rc=%d: wanted %s '%s'", rc, path, msg);
}

static void test_regime_section(void **state)
{
    (void)state;
    assert_int_equal(load("{}"), 0);
    assert_int_equal(cfg.cortex.regime.on, 0);
    assert_int_equal(cfg.cortex.regime.threshold_pct, 70);
    assert_int_equal(cfg.cortex.regime.tf_s, 900);
    assert_string_equal(cfg.cortex.regime.routes[3][0], "grid");
    assert_string_equal(cfg.cortex.regime.always[0], "sentinel");
    assert_int_equal(
        load(SYM " \"cortex\": {\"strategies\": [{\"plugin\": \"trend\", \"name\": \"t2\"}],\n"
                 "  \"regime\": {\"model\": \"m\", \"timeframe\": \"1h\", \"threshold_pct\": 80,"
                 " \"on_error\": \"rules\", \"routes\": {\"trend\": [\"t2\", \"sentinel\"],"
                 " \"grid\": []}, \"always\": []}}}"),
        0);
    assert_int_equal(cfg.cortex.regime.on, 1);
    assert_int_equal(cfg.cortex.regime.tf_s, 3600);
    assert_int_equal(cfg.cortex.regime.threshold_pct, 80);
    assert_int_equal(cfg.cortex.regime.rules_on_error, 1);
    assert_int_equal(cfg.cortex.regime.n_routes[0], 2);
    assert_string_equal(cfg.cortex.regime.routes[0][0], "t2");
    assert_int_equal(cfg.cortex.regime.n_routes[1], 1); /* scalping: its default */
    assert_int_equal(cfg.cortex.regime.n_routes[3], 0);
    assert_int_equal(cfg.cortex.regime.n_always, 0);
    expect_somewhere(SYM " \"cortex\": {\"regime\": {\"routes\": {\"trend\": [\"nope\"]}}}}",
                     "cortex.regime.routes.trend[0]", "not a configured strategy");
    expect_somewhere(SYM " \"cortex\": {\"regime\": {\"threshold_pct\": 101}}}",
                     "cortex.regime.threshold_pct", "");
    /* 5m candles cannot be built from 15m klines */
    expect_somewhere(
        SYM " \"feeds\": [{\"venue\": \"binance-usdm\", \"ws_url\": \"ws://x\","
            " \"rest_url\": \"http://x\", \"streams\": [\"klines\"], \"kline_interval\": \"15m\"}],"
            " \"cortex\": {\"regime\": {\"timeframe\": \"5m\"}}}",
        "cortex.regime.timeframe", "cannot be built from feeds[0]'s 15m klines");
    /* from trades they can */
    assert_int_equal(
        load(
            SYM
            " \"feeds\": [{\"venue\": \"binance-usdm\", \"ws_url\": \"ws://x\","
            " \"rest_url\": \"http://x\", \"streams\": [\"klines\"], \"kline_interval\": \"15m\"}],"
            " \"cortex\": {\"candles_from\": \"trades\","
            " \"regime\": {\"timeframe\": \"5m\"}}}"),
        0);
}

static void test_secrets_refused(void **state)
{
    (void)state;
    expect_one("{\n  \"telegram_token\": \"123:abc\"\n}", 2, 3, "telegram_token",
               "secrets are never read from the config file; use NEXUS_TELEGRAM_TOKEN");
    expect_one("{\"log\": {\"api_key\": \"x\"}}", 1, 10, "log.api_key", "secrets are never read");
}

static void test_all_errors_reported(void **state)
{
    (void)state;
    assert_int_equal(load("{\n \"engine\": {\"market_ring\": 3, \"wait\": \"nap\"},\n"
                          " \"log\": {\"format\": 7},\n \"bogus\": 1\n}"),
                     NX_ECONFIG);
    assert_int_equal(errs.count, 4);
    char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    nx_config_errors_print(&errs, f);
    fclose(f);
    assert_non_null(strstr(buf, "t.json:2:28: engine.market_ring:"));
    assert_non_null(strstr(buf, "t.json:2:39: engine.wait:"));
    assert_non_null(strstr(buf, "t.json:3:20: log.format:"));
    assert_non_null(strstr(buf, "t.json:4:2: bogus: unknown key"));
}

static void test_missing_file(void **state)
{
    (void)state;
    assert_int_equal(nx_config_load("/nonexistent/nexus.json", &cfg, &errs), NX_EIO);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.e[0].message, "No such file"));
    /* a folder reads as an empty file: it is named for what it is */
    assert_int_equal(nx_config_load("/tmp", &cfg, &errs), NX_EIO);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.e[0].message, "is a folder, not a config file");
}

/* dir/name holding text. */
static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A config's relative paths are relative to its folder, however it is
 * named and wherever it is loaded from; absolute and empty ones, and the
 * defaults it leaves out, are kept (issue 16: `nexus run --config
 * /abs/x.json` from another folder looked for its candles in that folder). */
static void test_paths_relative_to_the_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/nx-config-paths-XXXXXX", etc[64], path[512], want[512], cwd[512];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(etc, sizeof etc, "%s/etc", dir);
    assert_int_equal(mkdir(etc, 0700), 0);
    const char *text =
        "{\"data_dir\": \"data\", \"log\": {\"file\": \"./logs/n.log\"},\n"
        " \"symbols\": [{\"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\", \"tick_size\": "
        "\"0.01\", \"lot_size\": \"0.001\"}],\n"
        " \"feeds\": [{\"venue\": \"binance-usdm\", \"ws_url\": \"wss://x\", \"rest_url\": "
        "\"https://x\", \"replay\": \"../candles.csv\"}],\n"
        " \"cortex\": {\"plugin_dir\": \".\", \"strategies\": [{\"plugin\": \"trend\", \"path\": "
        "\"/opt/trend.so\"}, {\"plugin\": \"grid\", \"path\": \"so/grid.so\"}]},\n"
        " \"storage\": {\"key_file\": \"\"}}\n";
    put(etc, "n.json", text);
    put(etc, "bare.json", "{}");

    snprintf(path, sizeof path, "%s/n.json", etc); /* an absolute name */
    if (nx_config_load(path, &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fail();
    }
    snprintf(want, sizeof want, "%s/data", etc);
    assert_string_equal(cfg.data_dir, want);
    snprintf(want, sizeof want, "%s/logs/n.log", etc);
    assert_string_equal(cfg.log.file, want);
    snprintf(want, sizeof want, "%s/../candles.csv", etc);
    assert_string_equal(cfg.feeds[0].replay, want);
    assert_string_equal(cfg.cortex.plugin_dir, etc);
    assert_string_equal(cfg.cortex.strategies[0].path, "/opt/trend.so");
    snprintf(want, sizeof want, "%s/so/grid.so", etc);
    assert_string_equal(cfg.cortex.strategies[1].path, want);
    assert_string_equal(cfg.storage.key_file, "");

    /* a relative name, from another folder and from the config's own */
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(nx_config_load("etc/n.json", &cfg, &errs), 0);
    assert_string_equal(cfg.data_dir, "etc/data");
    assert_string_equal(cfg.feeds[0].replay, "etc/../candles.csv");
    assert_string_equal(cfg.cortex.plugin_dir, "etc");
    assert_int_equal(nx_config_load("./etc/n.json", &cfg, &errs), 0);
    assert_string_equal(cfg.log.file, "./etc/logs/n.log");
    assert_int_equal(chdir(etc), 0);
    assert_int_equal(nx_config_load("n.json", &cfg, &errs), 0);
    assert_string_equal(cfg.data_dir, "data");
    assert_string_equal(cfg.log.file, "./logs/n.log");
    assert_string_equal(cfg.feeds[0].replay, "../candles.csv");
    assert_int_equal(chdir(cwd), 0);

    /* a default the file leaves out stays in the working directory */
    snprintf(path, sizeof path, "%s/bare.json", etc);
    assert_int_equal(nx_config_load(path, &cfg, &errs), 0);
    assert_string_equal(cfg.data_dir, "./nexus-data");
    assert_string_equal(cfg.log.file, "");
    /* text without a file has no folder: paths as written */
    assert_int_equal(load(text), 0);
    assert_string_equal(cfg.data_dir, "data");
    assert_string_equal(cfg.feeds[0].replay, "../candles.csv");

    /* too long once joined to the folder: refused at the key */
    char lng[400];
    snprintf(lng, sizeof lng, "{\n \"data_dir\": \"%0250d\"\n}\n", 7);
    put(etc, "long.json", lng);
    snprintf(path, sizeof path, "%s/long.json", etc);
    assert_int_equal(nx_config_load(path, &cfg, &errs), NX_ECONFIG);
    assert_int_equal(errs.count, 1);
    assert_int_equal(errs.e[0].line, 2);
    assert_int_equal(errs.e[0].column, 14);
    assert_string_equal(errs.e[0].path, "data_dir");
    snprintf(want, sizeof want, "%zu characters once in the config's folder %s; at most 255",
             strlen(etc) + 1 + 250, etc);
    assert_string_equal(errs.e[0].message, want);

    /* the shipped replay config names its candles from any folder (ctest
     * runs this in the build tree) */
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/config/replay.example.json", src ? src : NX_SOURCE_DIR_DEFAULT);
    assert_int_equal(nx_config_load(path, &cfg, &errs), 0);
    assert_int_equal(access(cfg.feeds[0].replay, R_OK), 0);
    assert_int_equal(nx_config_check_paths(&cfg, &errs), 0);
    char rm[96];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    assert_int_equal(system(rm), 0);
}

static void test_describe_lists_every_key(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    nx_config_describe(f);
    fclose(f);
    static const char *const keys[] = {"`engine.market_ring`",  "`engine.wait`",
                                       "`log.debounce_s`",      "`data_dir`",
                                       "`symbols[].tick_size`", "`symbols[].venue`"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(strstr(buf, keys[i]));
    free(buf);
}

/* Sessions and users: seeds in the file, and one session as JSON (the
 * database's text) read, written and edited through the same schema. */
static void test_sessions_and_users(void **state)
{
    (void)state;
    const char *base =
        "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.1\","
        "\"lot_size\":\"0.001\"},{\"venue\":\"bybit-linear\",\"symbol\":\"ETHUSDT\","
        "\"tick_size\":\"0.01\",\"lot_size\":\"0.01\"}],"
        "\"cortex\":{\"strategies\":[{\"plugin\":\"trend\"},{\"plugin\":\"grid\"}]},"
        "\"users\":[{\"id\":4,\"chat_id\":9004,\"name\":\"dana\",\"role\":\"admin\"},"
        "{\"id\":5,\"chat_id\":9005}],"
        "\"trading\":{\"sessions\":[{\"name\":\"d\",\"user\":4,\"strategies\":[\"grid\"]},"
        "{\"name\":\"e\",\"user\":5,\"venue\":\"bybit-linear\",\"symbols\":[\"ETHUSDT\"]}]}}";
    if (load(base)) {
        nx_config_errors_print(&errs, stderr);
        fail();
    }
    assert_int_equal(cfg.n_users, 2);
    assert_int_equal(cfg.users[0].id, 4);
    assert_int_equal(cfg.users[0].chat_id, 9004);
    assert_string_equal(cfg.users[0].name, "dana");
    assert_int_equal(cfg.users[0].role, 2);
    assert_string_equal(cfg.users[1].name, "user");
    assert_int_equal(cfg.users[1].role, 1);
    const nx_config_session_t *d = &cfg.trading.sessions[0], *e = &cfg.trading.sessions[1];
    assert_int_equal(d->user, 4);
    assert_int_equal(d->venue, NX_VENUE_BINANCE_USDM); /* the first symbol's */
    assert_int_equal(d->n_strategies, 1);
    assert_string_equal(d->strategies[0], "grid");
    assert_int_equal(e->venue, NX_VENUE_BYBIT_LINEAR);
    assert_int_equal(e->n_symbols, 1);
    assert_int_equal(e->symbols[0], 1);
    /* one session per user and venue; a session trades its venue's symbols */
    expect_one("{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":"
               "\"0.1\",\"lot_size\":\"0.001\"}],\"trading\":{\"sessions\":[{\"name\":\"a\","
               "\"user\":1},{\"name\":\"b\",\"user\":1}]}}",
               1, 159, "trading.sessions[1].user", "already has a session on binance-usdm");
    expect_one("{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":"
               "\"0.1\",\"lot_size\":\"0.001\"}],\"trading\":{\"sessions\":[{\"name\":\"a\"}]}}",
               1, 118, "trading.sessions[0]", "missing required key \"user\"");

    /* a session as JSON: checked like the file, defaults filled in */
    assert_int_equal(load(base), 0);
    nx_config_session_t x;
    const char *mine = "{\"name\":\"mine\",\"user\":5,\"leverage\":3,\"mode\":\"copilot\"}";
    assert_int_equal(nx_config_session_parse(&cfg, mine, strlen(mine), &x, &errs), 0);
    assert_string_equal(x.name, "mine");
    assert_int_equal(x.user, 5);
    assert_int_equal(x.leverage, 3);
    assert_int_equal(x.mode, 1);
    assert_int_equal(x.size_bp, 500);
    assert_int_equal(x.approval_ttl_s, 300);
    assert_string_equal(x.equity, "10000");
    const char *bad = "{\"name\":\"m\",\"user\":5,\"venue\":\"bybit-linear\",\"symbols\":"
                      "[\"BTCUSDT\"],\"strategies\":[\"nope\"]}";
    assert_int_equal(nx_config_session_parse(&cfg, bad, strlen(bad), &x, &errs), NX_ECONFIG);
    assert_int_equal(errs.count, 2);
    assert_string_equal(errs.e[0].path, "session.symbols[0]");
    assert_string_equal(errs.e[0].message,
                        "BTCUSDT is on binance-usdm; this session trades on bybit-linear");
    assert_string_equal(errs.e[1].path, "session.strategies[0]");
    const char *range = "{\"name\":\"m\",\"user\":5,\"leverage\":21}";
    assert_int_equal(nx_config_session_parse(&cfg, range, strlen(range), &x, &errs), NX_ECONFIG);
    assert_string_equal(errs.e[0].path, "session.leverage");
    /* written whole, read back the same, written again the same */
    char a[4096], b[4096];
    int n = nx_config_session_json(&cfg, e, a, sizeof a);
    assert_true(n > 0);
    assert_int_equal(nx_config_session_parse(&cfg, a, (size_t)n, &x, &errs), 0);
    assert_int_equal(nx_config_session_json(&cfg, &x, b, sizeof b), n);
    assert_string_equal(a, b);
    assert_int_equal(x.venue, NX_VENUE_BYBIT_LINEAR);
    assert_int_equal(x.user, 5);
    assert_int_equal(nx_config_session_json(&cfg, e, a, 16), NX_ETOOLONG);
    /* one key changed, the whole checked */
    assert_int_equal(nx_config_session_edit(&cfg, mine, "leverage", "7", a, sizeof a, &errs), 0);
    assert_int_equal(nx_config_session_parse(&cfg, a, strlen(a), &x, &errs), 0);
    assert_int_equal(x.leverage, 7);
    assert_int_equal(x.mode, 1); /* the rest kept */
    assert_int_equal(nx_config_session_edit(&cfg, mine, "leverage", "70", a, sizeof a, &errs),
                     NX_ECONFIG);
    assert_string_equal(errs.e[0].path, "session.leverage");
    assert_int_equal(nx_config_session_edit(&cfg, mine, "mode", "\"pilot\"", a, sizeof a, &errs),
                     0);
    assert_non_null(strstr(a, "\"mode\":\"pilot\""));
    assert_int_equal(nx_config_session_edit(&cfg, mine, "colour", "1", a, sizeof a, &errs),
                     NX_ECONFIG);
    assert_string_equal(errs.e[0].path, "session.colour");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_and_defaults),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_out_of_range),
        cmocka_unit_test(test_missing_and_semantic),
        cmocka_unit_test(test_live_foreign),
        cmocka_unit_test(test_secrets_refused),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_describe_lists_every_key),
        cmocka_unit_test(test_paths_relative_to_the_file),
        cmocka_unit_test(test_cortex_section),
        cmocka_unit_test(test_regime_section),
        cmocka_unit_test(test_sessions_and_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
