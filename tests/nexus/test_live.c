/*
 * test_live — live trading end to end, as an operator runs it: `nexus
 * replay --venue-sim` serves a replay's market data and the venue's
 * trading side on loopback; users' keys are stored with `nexus keys set`
 * (sealed); `nexus run` trades PILOT sessions live on the simulator. Then
 * three records are compared to the smallest unit (10^-8 USDT): the
 * journal's fills, the venue's own (GET /fapi/v1/userTrades, signed as any
 * client would), and a recomputation from the venue's fills alone against
 * the venue's wallet and the engine's balance.
 *
 * argv[1] = the nexus binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "nx/binance.h"
#include "nx/bridge.h"
#include "nx/fixed.h"
#include "nx/hmac.h"
#include "proc.h"
#include "wire.h"

static const char *nexus_bin;
static char dir[256], cfg_tpl[300], run_cfg[300], accts[300], slice[300];
static int port_r, port_s;
static proc_t R; /* the replay and its simulator */
static pid_t engine_pid; /* the `nexus run` of a test in progress: killed by teardown */

static const struct {
    const char *key, *secret;
    int64_t chat;
} users[2] = {{"liveKeyOwner0000000000000000000000000000000000000000000000000000",
               "live-secret-owner-loopback-only-000000000000000000000000000000", 1001},
              {"liveKeyAlice0000000000000000000000000000000000000000000000000000",
               "live-secret-alice-loopback-only-111111111111111111111111111111", 1002}};

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* The first n candles of the bundled BTCUSDT 15-minute file. */
static void write_slice(int n)
{
    char src[512], line[256];
    snprintf(src, sizeof src, "%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv",
             getenv("NX_SOURCE_DIR") ? getenv("NX_SOURCE_DIR") : NX_SOURCE_DIR_DEFAULT);
    FILE *in = fopen(src, "r"), *out = fopen(slice, "w");
    assert_non_null(in);
    assert_non_null(out);
    for (int i = 0; i <= n && fgets(line, sizeof line, in); i++)
        fputs(line, out);
    fclose(in);
    fclose(out);
}

static const char *owner_mode = "pilot"; /* the owner's session: pilot, or copilot */
static const char *margin_type = "keep"; /* live.margin_type */
static const char *foreign = "hold";     /* live.foreign */
static const char *sim_quotas;           /* --sim-quotas for the next start_venue, or NULL */

static void write_config(const char *path, int port_replay, int port_sim)
{
    char text[4096];
    snprintf(
        text, sizeof text,
        "{\n"
        "  \"engine\": { \"stats_interval_s\": 0 },\n"
        "  \"log\": { \"level\": \"info\" },\n"
        "  \"data_dir\": \"data\",\n"
        "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
        "                   \"tick_size\": \"0.01\", \"lot_size\": \"0.001\", \"min_notional\": \"5\" } ],\n"
        "  \"feeds\": [ { \"venue\": \"binance-usdm\", \"ws_url\": \"ws://127.0.0.1:%d\",\n"
        "                 \"rest_url\": \"http://127.0.0.1:%d\", \"streams\": [\"trades\", \"klines\"],\n"
        "                 \"kline_interval\": \"15m\", \"stale_s\": 0 } ],\n"
        "  \"cortex\": { \"timeframes\": [\"15m\", \"1h\", \"4h\"], \"allow_unsigned\": true,\n"
        "              \"plugin_dir\": \"%s\",\n"
        "              \"strategies\": [ { \"plugin\": \"trend\", \"timeframes\": [\"15m\", \"4h\"] },\n"
        "                               { \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] } ] },\n"
        "  \"live\": { \"recv_window_ms\": 1000, \"answer_timeout_ms\": 1000, \"margin_type\": \"%s\",\n"
        "            \"foreign\": \"%s\",\n"
        "            \"binance_usdm_testnet\": {\n"
        "     \"rest_url\": \"http://127.0.0.1:%d\", \"ws_api_url\": \"ws://127.0.0.1:%d/ws-fapi/v1\",\n"
        "     \"stream_url\": \"ws://127.0.0.1:%d\" } },\n"
        "  \"storage\": { \"key_file\": \"master.key\", \"owner_chat_id\": 1001 },\n"
        "  \"users\": [ { \"id\": 1, \"chat_id\": 1001, \"name\": \"owner\", \"role\": \"owner\" },\n"
        "             { \"id\": 2, \"chat_id\": 1002, \"name\": \"alice\", \"role\": \"subscriber\" } ],\n"
        "  \"trading\": { \"sessions\": [\n"
        "    { \"name\": \"owner\", \"user\": 1, \"mode\": \"%s\", \"equity\": \"10000\",\n"
        "      \"symbols\": [\"BTCUSDT\"], \"leverage\": 2, \"cooldown_s\": 0, \"breaker_losses\": 100,\n"
        "      \"max_positions\": 1, \"approval_drift_bp\": 1000,\n"
        "      \"execution\": \"binance-usdm-testnet\" },\n"
        "    { \"name\": \"alice\", \"user\": 2, \"mode\": \"pilot\", \"equity\": \"5000\",\n"
        "      \"symbols\": [\"BTCUSDT\"], \"leverage\": 3, \"size_bp\": 800, \"cooldown_s\": 0,\n"
        "      \"breaker_losses\": 100, \"max_positions\": 1, \"strategies\": [\"scalping\"],\n"
        "      \"execution\": \"binance-usdm-testnet\" } ] }\n"
        "}\n",
        port_replay, port_replay, NX_PLUGIN_DIR, margin_type, foreign, port_sim, port_sim, port_sim,
        owner_mode);
    write_file(path, text, 0644);
}

/* A shell line in the test's folder; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && ", dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nx-live-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cfg_tpl, sizeof cfg_tpl, "%s/symbols.json", dir);
    snprintf(run_cfg, sizeof run_cfg, "%s/run.json", dir);
    snprintf(accts, sizeof accts, "%s/accounts.txt", dir);
    snprintf(slice, sizeof slice, "%s/slice.csv", dir);
    write_config(cfg_tpl, 1, 1); /* the simulator reads only its symbols */
    char a[1024];
    snprintf(a, sizeof a, "%s %s 10000\n%s %s 5000\n", users[0].key, users[0].secret, users[1].key,
             users[1].secret);
    write_file(accts, a, 0600);
    assert_int_equal(sh("'%s' keys genkey > master.key && chmod 600 master.key", nexus_bin), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    owner_mode = "pilot";
    margin_type = "keep";
    foreign = "hold";
    sim_quotas = NULL;
    if (engine_pid > 0) { /* a test that failed mid-run leaves no engine behind */
        kill(engine_pid, SIGKILL);
        waitpid(engine_pid, NULL, 0);
        engine_pid = 0;
    }
    if (R.pid > 0) {
        kill(R.pid, SIGTERM);
        finish(&R);
        R.pid = 0;
    }
    sh("cd / && rm -rf '%s'", dir);
    return 0;
}

/* The replay with its simulator, paced so an order's round trip (well
 * under a millisecond here) is a few seconds of market time. */
static void start_venue(int candles, int speed)
{
    write_slice(candles);
    char sp[16];
    snprintf(sp, sizeof sp, "%d", speed);
    char *argv[] = {(char *)nexus_bin, "replay", "--venue", "binance-usdm", "--candles", slice,
                    "--symbol", "BTCUSDT", "--speed", sp, "--venue-sim", "0", "--sim-config",
                    cfg_tpl, "--sim-accounts", accts, sim_quotas ? "--sim-quotas" : NULL,
                    (char *)sim_quotas, NULL};
    spawn(&R, argv);
    for (int i = 0; i < 200 && !strstr(R.obuf, "simulator on"); i++)
        pump(&R, "(never)", 50);
    char *a = strstr(R.obuf, "listening on 127.0.0.1:"), *b = strstr(R.obuf, "simulator on 127.0.0.1:");
    assert_non_null(a);
    assert_non_null(b);
    port_r = atoi(a + 23);
    port_s = atoi(b + 23);
    write_config(run_cfg, port_r, port_s);
}

static int run_nexus(proc_t *p, const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {(char *)nexus_bin, (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    spawn(p, argv);
    return finish(p);
}

/* Status of the replay: how far its stream has gone. */
static int replay_done(void)
{
    wire_resp_t r;
    if (wire_http(port_r, "GET", "/_replay/status", NULL, NULL, 2000, &r))
        return 0;
    int done = strstr(r.body, "\"done\":1") != NULL || strstr(r.body, "\"done\":true") != NULL;
    free(r.body);
    return done;
}

/* A signed GET to the simulator with a user's key; the JSON answer. */
static json_t *venue_get(int u, const char *path, const char *params)
{
    nx_hmac_key_t *k;
    assert_int_equal(nx_hmac_key_create(&k, users[u].secret, strlen(users[u].secret)), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char q[1024];
    int n = snprintf(q, sizeof q, "%s&timestamp=%lld", params,
                     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    assert_true(nx_binance_sign(q, (size_t)n, sizeof q, k) > 0);
    nx_hmac_key_free(k);
    char target[1400];
    snprintf(target, sizeof target, "%s?%s", path, q);
    wire_resp_t r;
    assert_int_equal(wire_http(port_s, "GET", target, NULL, users[u].key, 5000, &r), 0);
    assert_int_equal(r.status, 200);
    json_t *j = json_loadb(r.body, r.body_n, 0, NULL);
    free(r.body);
    assert_non_null(j);
    return j;
}

static int64_t money(const char *s)
{
    int64_t v = 0;
    assert_int_equal(nx_fixed_parse(s, strlen(s), 8, &v), 0);
    return v;
}

static int64_t jmoney(json_t *o, const char *k)
{
    return money(json_string_value(json_object_get(o, k)));
}

/* Rows of the journal's notices whose JSON is LIKE the pattern. */
static int64_t journal_count(sqlite3 *h, const char *like)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM journal WHERE type = 14 AND "
                                           "data LIKE ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, like, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* A PILOT session per user trades the replay live; journal, venue and a
 * recomputation agree to 10^-8 USDT; each user's key signed only that
 * user's orders. */
static void test_two_users_trade_live_and_the_books_agree(void **state)
{
    (void)state;
    start_venue(600, 60000);
    proc_t P;
    /* without keys a live session does not start, and says what to do */
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0);
    assert_non_null(strstr(P.ebuf, "no Binance keys stored"));
    assert_non_null(strstr(P.ebuf, "nexus keys set"));
    for (int u = 0; u < 2; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set %lld "
                            "binance-usdm >/dev/null",
                            users[u].key, users[u].secret, nexus_bin, (long long)users[u].chat),
                         0);
    /* the whole stream, traded live; stopped once the replay has sent it all */
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, NULL};
    spawn(&P, argv);
    engine_pid = P.pid;
    assert_true(pump(&P, "trades on binance-usdm-testnet", 20000));
    for (int i = 0; i < 1200 && !replay_done(); i++)
        pump(&P, "(never)", 100);
    assert_true(replay_done());
    pump(&P, "(never)", 1500); /* the last answers of the venue come in */
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    assert_null(strstr(P.ebuf, "secret-"));
    assert_null(strstr(P.ebuf, users[0].key));

    char db[400];
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    for (int u = 0; u < 2; u++) {
        json_t *trades = venue_get(u, "/fapi/v1/userTrades", "symbol=BTCUSDT");
        size_t nt = json_array_size(trades);
        assert_true(nt >= 4); /* at least two round trips each */
        /* each venue fill is in the journal once, with its price, qty, fee;
         * meanwhile the cash flow is recomputed from the venue's fills:
         * sells - buys, price x qty, until the last time the position was
         * flat (what is realised), and every commission */
        int64_t cash = 0, cash_flat = 0, fees = 0, fees_flat = 0, rp = 0, qty = 0;
        for (size_t i = 0; i < nt; i++) {
            json_t *t = json_array_get(trades, i);
            sqlite3_stmt *st;
            assert_int_equal(sqlite3_prepare_v2(h,
                                                "SELECT price, qty, fee, side, session FROM fills "
                                                "WHERE fill_id = ?",
                                                -1, &st, NULL),
                             SQLITE_OK);
            sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(t, "id")));
            assert_int_equal(sqlite3_step(st), SQLITE_ROW);
            int64_t jp = money((const char *)sqlite3_column_text(st, 0)),
                    jq = money((const char *)sqlite3_column_text(st, 1)),
                    jf = money((const char *)sqlite3_column_text(st, 2));
            assert_int_equal(sqlite3_column_int64(st, 4), u + 1); /* its own session */
            assert_int_equal(jp, jmoney(t, "price"));
            assert_int_equal(jq, jmoney(t, "qty"));
            assert_int_equal(jf, jmoney(t, "commission"));
            int buy = json_is_true(json_object_get(t, "buyer"));
            assert_string_equal((const char *)sqlite3_column_text(st, 3), buy ? "buy" : "sell");
            assert_int_equal(sqlite3_step(st), SQLITE_DONE);
            sqlite3_finalize(st);
            /* price x qty at 10^-8 x 10^-8, back to 10^-8: exact here (the
             * venue's grid is 0.01 x 0.001) */
            __int128 v = (__int128)jmoney(t, "price") * jmoney(t, "qty");
            assert_true(v % 100000000 == 0);
            cash += (int64_t)(v / 100000000) * (buy ? -1 : 1);
            fees += jmoney(t, "commission");
            rp += jmoney(t, "realizedPnl");
            qty += buy ? jmoney(t, "qty") : -jmoney(t, "qty");
            if (qty == 0) {
                cash_flat = cash;
                fees_flat = fees;
            }
        }
        /* the journal has no fill the venue does not */
        char q[128];
        snprintf(q, sizeof q, "SELECT count(*) FROM fills WHERE session = %d", u + 1);
        sqlite3_stmt *st;
        sqlite3_prepare_v2(h, q, -1, &st, NULL);
        sqlite3_step(st);
        assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)nt);
        sqlite3_finalize(st);
        json_t *pos = venue_get(u, "/fapi/v3/positionRisk", "symbol=BTCUSDT");
        int64_t open_qty = json_array_size(pos) ? jmoney(json_array_get(pos, 0), "positionAmt") : 0;
        json_decref(pos);
        assert_int_equal(open_qty, qty);
        json_t *bal = venue_get(u, "/fapi/v3/balance", "");
        int64_t wallet = jmoney(json_array_get(bal, 0), "balance");
        json_decref(bal);
        int64_t start = u ? 500000000000LL : 1000000000000LL;
        /* the venue's wallet: its own realised P&L less every commission,
         * and the recomputed cash flow of the closed round trips less every
         * commission (an open position's entry fee is paid already) */
        assert_int_equal(wallet - start, rp - fees);
        assert_int_equal(wallet - start, cash_flat - fees);
        /* the engine's balance counts a trade's fees when it closes */
        snprintf(q, sizeof q,
                 "SELECT balance FROM equity WHERE session = %d ORDER BY at_ns DESC LIMIT 1", u + 1);
        sqlite3_prepare_v2(h, q, -1, &st, NULL);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        int64_t engine_balance = money((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        assert_int_equal(engine_balance, start + cash_flat - fees_flat);
        print_message("user %d: %zu fills at the venue and in the journal, open %lld, wallet "
                      "change %lld (1e-8 USDT) = recomputed %lld\n",
                      u + 1, nt, (long long)open_qty, (long long)(wallet - start),
                      (long long)(cash_flat - fees));
        json_decref(trades);
    }
    sqlite3_close(h);
    wire_resp_t r;
    assert_int_equal(wire_http(port_s, "GET", "/_sim/status", NULL, NULL, 2000, &r), 0);
    assert_non_null(strstr(r.body, "\"bad_signature\":0"));
    assert_non_null(strstr(r.body, "\"bad_key\":0"));
    free(r.body);
}

/* A signed POST to the simulator with a user's key (a person's own order
 * on the venue's site, as far as Nexus can tell). */
static int venue_post(int u, const char *path, const char *params, wire_resp_t *r)
{
    nx_hmac_key_t *k;
    assert_int_equal(nx_hmac_key_create(&k, users[u].secret, strlen(users[u].secret)), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char q[1024];
    int n = snprintf(q, sizeof q, "%s&timestamp=%lld", params,
                     (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    assert_true(nx_binance_sign(q, (size_t)n, sizeof q, k) > 0);
    nx_hmac_key_free(k);
    return wire_http(port_s, "POST", path, q, users[u].key, 5000, r);
}

/* Is every open position at the venue protected: a resting conditional
 * order on the closing side for at least its size? 1 if flat. */
static int protected_now(int u)
{
    json_t *pos = venue_get(u, "/fapi/v3/positionRisk", "symbol=BTCUSDT");
    int64_t q = json_array_size(pos) ? jmoney(json_array_get(pos, 0), "positionAmt") : 0;
    json_decref(pos);
    if (!q)
        return 1;
    json_t *algos = venue_get(u, "/fapi/v1/openAlgoOrders", "symbol=BTCUSDT");
    int64_t covered = 0;
    for (size_t i = 0; i < json_array_size(algos); i++) {
        json_t *a = json_array_get(algos, i);
        const char *side = json_string_value(json_object_get(a, "side"));
        const char *type = json_string_value(json_object_get(a, "orderType"));
        int closing = (q > 0) == !strcmp(side, "SELL");
        if (closing && !strcmp(type, "STOP_MARKET"))
            covered += json_is_true(json_object_get(a, "closePosition")) ? (q < 0 ? -q : q)
                                                                          : jmoney(a, "quantity");
    }
    json_decref(algos);
    return covered >= (q < 0 ? -q : q);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A position at the venue that Nexus never traded (the user's own, from
 * the venue's site): at start the venue's positions are compared with the
 * engine's; under live.foreign "hold" (the default) this one is not
 * adopted, the session is held (no new entry) and its person is told. An
 * order of the other user's own, resting on the venue, holds that user's
 * session the same way. */
static void test_foreign_position_holds_the_session(void **state)
{
    (void)state;
    start_venue(400, 2000);
    proc_t P;
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0);
    for (int u = 0; u < 2; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set "
                            "%lld binance-usdm >/dev/null",
                            users[u].key, users[u].secret, nexus_bin, (long long)users[u].chat),
                         0);
    /* the market starts when a client reads it: one trade, then the order */
    int ws = wire_ws_open(port_r, "/stream?streams=btcusdt@aggTrade");
    assert_true(ws >= 0);
    free(wire_ws_recv(ws, 5000, NULL));
    close(ws);
    wire_resp_t r;
    /* 1x: no liquidation however long a slow build takes to start */
    assert_int_equal(venue_post(0, "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=1", &r), 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_int_equal(venue_post(0, "/fapi/v1/order",
                                "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&"
                                "newClientOrderId=web_manual_1",
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_int_equal(venue_post(1, "/fapi/v1/order",
                                "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&"
                                "quantity=0.010&price=20000&newClientOrderId=web_manual_2",
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    free(r.body);
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, NULL};
    spawn(&P, argv);
    engine_pid = P.pid;
    assert_true(pump(&P, "alice: an order Nexus did not place is open at the venue on BTCUSDT: "
                         "session held",
                     20000));
    int seen = strstr(P.ebuf, "the venue holds 1000000 on BTCUSDT, the engine 0") ||
               pump(&P, "the venue holds 1000000 on BTCUSDT, the engine 0", 20000);
    if (!seen && getenv("NX_LIVE_LOGS"))
        write_file("/tmp/nx-live-foreign.log", P.ebuf, 0644);
    assert_true(seen);
    assert_non_null(strstr(P.ebuf, "owner: the venue holds"));
    assert_null(strstr(P.ebuf, "alice: the venue holds")); /* alice's account is flat */
    /* not booked, but not left bare: a stop on the whole position */
    int64_t t0 = now_ms();
    while (!protected_now(0)) {
        if (now_ms() - t0 > 5000) {
            if (getenv("NX_LIVE_LOGS"))
                write_file("/tmp/nx-live-foreign.log", P.ebuf, 0644);
            fail_msg("the position Nexus does not hold was left without a stop");
        }
        pump(&P, "(never)", 50);
    }
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    /* the person is told: the notice is in the journal */
    char db[400];
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM journal WHERE type = 14 "
                                           "AND data LIKE '%position_mismatch%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_int64(st, 0) >= 1);
    sqlite3_finalize(st);
    /* alice is told of her order, and that her session was held for it */
    assert_int_equal(journal_count(h, "%\"kind\":\"venue\",\"session\":2,\"reason\":8,"
                                      "\"dir\":0,\"value\":1%"),
                     1);
    sqlite3_close(h);
}

/* live.foreign "adopt": a position the person opened on the venue's site
 * before Nexus started becomes the session's trade — booked at the
 * venue's entry price, a stop of its own at the venue, the person told in
 * words — and the person's resting order is reported and left alone, the
 * session not held. When the person then closes the position on the
 * venue's site, the stream's fill has the positions compared at once (not
 * at the next gap): the venue is flat, the engine is not, the session is
 * held. */
static void test_foreign_position_adopted(void **state)
{
    (void)state;
    foreign = "adopt";
    owner_mode = "copilot"; /* nothing approved: the owner's only orders are the adoption's */
    start_venue(400, 2000);
    proc_t P;
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0);
    for (int u = 0; u < 2; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set "
                            "%lld binance-usdm >/dev/null",
                            users[u].key, users[u].secret, nexus_bin, (long long)users[u].chat),
                         0);
    int ws = wire_ws_open(port_r, "/stream?streams=btcusdt@aggTrade");
    assert_true(ws >= 0);
    free(wire_ws_recv(ws, 5000, NULL));
    close(ws);
    wire_resp_t r;
    assert_int_equal(venue_post(0, "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=1", &r), 0);
    free(r.body);
    assert_int_equal(venue_post(0, "/fapi/v1/order",
                                "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&"
                                "newClientOrderId=web_manual_1",
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_int_equal(venue_post(0, "/fapi/v1/order",
                                "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&"
                                "quantity=0.010&price=20000&newClientOrderId=web_manual_2",
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    free(r.body);
    json_t *pos = venue_get(0, "/fapi/v3/positionRisk", "symbol=BTCUSDT");
    int64_t entry = jmoney(json_array_get(pos, 0), "entryPrice");
    json_decref(pos);
    assert_true(entry > 0);
    int in[2];
    assert_int_equal(pipe(in), 0);
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, "--console", NULL};
    int saved = dup(0);
    dup2(in[0], 0);
    spawn(&P, argv);
    dup2(saved, 0);
    close(saved);
    close(in[0]);
    engine_pid = P.pid;
    int64_t t0 = now_ms();
    while (!(strstr(P.obuf, "has taken it over") && strstr(P.obuf, "Nexus leaves it alone")) &&
           now_ms() - t0 < 20000)
        pump(&P, "(never)", 50);
    if (getenv("NX_LIVE_LOGS")) {
        write_file("/tmp/nx-live-adopt.out", P.obuf, 0644);
        write_file("/tmp/nx-live-adopt.err", P.ebuf, 0644);
    }
    assert_non_null(strstr(P.obuf, "Nexus found a long 0.01 BTCUSDT position at the venue that "
                                   "it did not open and has taken it over: entry "));
    assert_non_null(strstr(P.obuf, "An order Nexus did not place is open on BTCUSDT at the "
                                   "venue. Nexus leaves it alone and takes over the position if "
                                   "it fills."));
    assert_non_null(strstr(P.ebuf, "is taken over as the session's own, its stop at "));
    /* protected at the venue by the session's own stop */
    for (t0 = now_ms(); !protected_now(0);) {
        if (now_ms() - t0 > 5000)
            fail_msg("the adopted position was left without a stop");
        pump(&P, "(never)", 50);
    }
    assert_null(strstr(P.ebuf, "owner: the venue holds"));
    assert_null(strstr(P.ebuf, "session held"));
    /* the person closes it on the venue's site */
    assert_int_equal(venue_post(0, "/fapi/v1/order",
                                "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010&"
                                "reduceOnly=true&newClientOrderId=web_manual_3",
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    free(r.body);
    int held = pump(&P, "owner: the venue holds 0 on BTCUSDT, the engine 1000000 ", 10000);
    if (!held && getenv("NX_LIVE_LOGS"))
        write_file("/tmp/nx-live-adopt.err", P.ebuf, 0644);
    assert_true(held);
    close(in[1]);
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    /* the journal: the adoption at the venue's entry price */
    char db[400];
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT data FROM journal WHERE type = 14 AND data "
                                           "LIKE '%\"kind\":\"position_adopted\"%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    json_t *j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    assert_non_null(j);
    assert_int_equal(jmoney(j, "entry"), entry);
    assert_int_equal(jmoney(j, "venue_qty"), 1000000); /* 0.010 at 10^-8 */
    json_decref(j);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* once */
    sqlite3_finalize(st);
    assert_int_equal(journal_count(h, "%\"kind\":\"venue\",\"session\":1,\"reason\":8,"
                                      "\"dir\":0,\"value\":0%"),
                     1);
    sqlite3_close(h);
}

/* COPILOT: the owner is asked, approves on the console, and the approval
 * becomes an order at the venue signed with the owner's key. */
static void test_copilot_approval_becomes_a_live_order(void **state)
{
    (void)state;
    owner_mode = "copilot";
    start_venue(600, 3000); /* a person's pace: the price must not run from the request */
    proc_t P;
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0);
    for (int u = 0; u < 2; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set "
                            "%lld binance-usdm >/dev/null",
                            users[u].key, users[u].secret, nexus_bin, (long long)users[u].chat),
                         0);
    /* the engine with its console on a pipe: the owner's terminal */
    int in[2];
    assert_int_equal(pipe(in), 0);
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, "--console", NULL};
    /* spawn() makes the output pipes; the child inherits stdin, so the
     * pipe's read end stands in for it while spawn forks */
    int saved = dup(0);
    dup2(in[0], 0);
    spawn(&P, argv);
    dup2(saved, 0);
    close(saved);
    close(in[0]);
    engine_pid = P.pid;
    char *req = NULL;
    int64_t t0 = now_ms();
    while (!(req = strstr(P.obuf, "Request ")) && now_ms() - t0 < 30000)
        pump(&P, "(never)", 50);
    if (!req && getenv("NX_LIVE_LOGS")) {
        write_file("/tmp/nx-live-copilot.out", P.obuf, 0644);
        write_file("/tmp/nx-live-copilot.err", P.ebuf, 0644);
    }
    assert_non_null(req);
    unsigned id = (unsigned)atoi(req + 8);
    assert_true(id > 0);
    char line[32];
    int n = snprintf(line, sizeof line, "!ap:%u\n", id);
    assert_int_equal(write(in[1], line, (size_t)n), n);
    /* the approved order reaches the venue, from the owner's account */
    int traded = 0;
    for (t0 = now_ms(); !traded && now_ms() - t0 < 20000;) {
        json_t *tr = venue_get(0, "/fapi/v1/userTrades", "symbol=BTCUSDT");
        traded = json_array_size(tr) > 0;
        json_decref(tr);
        if (!traded)
            pump(&P, "(never)", 100);
    }
    assert_true(traded);
    close(in[1]);
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    /* the order is the owner's session's own: its client id names session 1 */
    json_t *all = venue_get(0, "/fapi/v1/allOrders", "symbol=BTCUSDT");
    assert_true(json_array_size(all) >= 1);
    const char *ci = json_string_value(json_object_get(json_array_get(all, 0), "clientOrderId"));
    assert_int_equal(nx_clid_session(nx_binance_clid_parse(ci, strlen(ci))), 1);
    json_decref(all);
}

/* `nexus replay --sim-fault-every KIND:MS`: the simulator injects the
 * fault on that schedule from the start (its counters say so); a spec it
 * cannot use is refused before anything starts. */
static void test_sim_faults_on_a_schedule(void **state)
{
    (void)state;
    write_slice(50);
    proc_t P;
    char *bad[] = {(char *)nexus_bin, "replay", "--venue", "binance-usdm", "--candles", slice,
                   "--symbol", "BTCUSDT", "--venue-sim", "0", "--sim-config", cfg_tpl,
                   "--sim-accounts", accts, "--sim-fault-every", "meteor:100", NULL};
    spawn(&P, bad);
    assert_int_equal(finish(&P), 64); /* a usage error */
    assert_non_null(strstr(P.ebuf, "--sim-fault-every meteor:100: want KIND:EVERY_MS"));
    char *argv[] = {(char *)nexus_bin, "replay", "--venue", "binance-usdm", "--candles", slice,
                    "--symbol", "BTCUSDT", "--venue-sim", "0", "--sim-config", cfg_tpl,
                    "--sim-accounts", accts, "--sim-fault-every", "duplicate:50:3",
                    "--sim-fault-every", "cancel_stop:80", NULL};
    spawn(&R, argv);
    for (int i = 0; i < 200 && !strstr(R.obuf, "simulator on"); i++)
        pump(&R, "(never)", 50);
    char *b = strstr(R.obuf, "simulator on 127.0.0.1:");
    assert_non_null(b);
    port_s = atoi(b + 23);
    int64_t t0 = now_ms(), n = 0;
    while (n < 4 && now_ms() - t0 < 10000) { /* the status after each poll's answer */
        wire_resp_t r;
        assert_int_equal(wire_http(port_s, "GET", "/_sim/status", NULL, NULL, 2000, &r), 0);
        char *f = strstr(r.body, "\"scheduled_faults\":");
        n = f ? atoll(f + 19) : 0;
        free(r.body);
    }
    assert_true(n >= 4);
    wire_resp_t r; /* cleared: the schedule stops */
    assert_int_equal(wire_http(port_s, "GET", "/_sim/fault?kind=clear", NULL, NULL, 2000, &r), 0);
    free(r.body);
    assert_int_equal(
        wire_http(port_s, "GET", "/_sim/fault?kind=skew&every=5", NULL, NULL, 2000, &r), 0);
    assert_int_equal(r.status, 400); /* at least 10 ms */
    free(r.body);
}

/* At start the venue's wallets are compared too: the owner's holds 4000
 * USDT where the session counts on 10000 — the session is held and the
 * owner told in words at the console. Alice's account has an open order
 * of her own, so the venue keeps its margin type when Nexus asks for
 * isolated: she is told (the journal's notice), and her session trades on. */
static void test_short_wallet_and_venue_notices(void **state)
{
    (void)state;
    margin_type = "isolated";
    foreign = "adopt"; /* alice's own order is reported, and she trades on beside it */
    char a[1024];
    snprintf(a, sizeof a, "%s %s 4000\n%s %s 5000\n", users[0].key, users[0].secret, users[1].key,
             users[1].secret);
    write_file(accts, a, 0600);
    start_venue(600, 3000);
    proc_t P;
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0);
    for (int u = 0; u < 2; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set "
                            "%lld binance-usdm >/dev/null",
                            users[u].key, users[u].secret, nexus_bin, (long long)users[u].chat),
                         0);
    wire_resp_t r;
    assert_int_equal(venue_post(1, "/fapi/v1/order",
                                "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&"
                                "quantity=0.010&price=20000&newClientOrderId=web_manual_2",
                                &r),
                     0);
    assert_int_equal(r.status, 200);
    free(r.body);
    int in[2];
    assert_int_equal(pipe(in), 0);
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, "--console", NULL};
    int saved = dup(0);
    dup2(in[0], 0);
    spawn(&P, argv);
    dup2(saved, 0);
    close(saved);
    close(in[0]);
    engine_pid = P.pid;
    int64_t t0 = now_ms();
    while (!strstr(P.obuf, "Your wallet at the venue holds 4000 USDT, less than this "
                           "session's balance of 10000.") &&
           now_ms() - t0 < 20000)
        pump(&P, "(never)", 50);
    if (getenv("NX_LIVE_LOGS")) {
        write_file("/tmp/nx-live-wallet.out", P.obuf, 0644);
        write_file("/tmp/nx-live-wallet.err", P.ebuf, 0644);
    }
    assert_non_null(strstr(P.obuf, "Your wallet at the venue holds 4000 USDT"));
    assert_non_null(strstr(P.ebuf, "owner: the venue's wallet holds 4000 USDT"));
    /* alice's session trades on under the venue's margin type */
    int traded = 0;
    for (t0 = now_ms(); !traded && now_ms() - t0 < 30000;) {
        json_t *tr = venue_get(1, "/fapi/v1/userTrades", "symbol=BTCUSDT");
        traded = json_array_size(tr) > 0;
        json_decref(tr);
        if (!traded)
            pump(&P, "(never)", 100);
    }
    assert_true(traded);
    assert_non_null(strstr(P.ebuf, "kept its own margin type on BTCUSDT"));
    close(in[1]);
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    /* the owner's session sent nothing: held from the start */
    json_t *all = venue_get(0, "/fapi/v1/allOrders", "symbol=BTCUSDT");
    assert_int_equal(json_array_size(all), 0);
    json_decref(all);
    char db[400];
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT count(*) FROM journal WHERE type = 14 AND data "
                                        "LIKE '%\"kind\":\"venue\",\"session\":2,\"reason\":3%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

/* kill -9 at random moments while two sessions trade live, restart,
 * reconcile: after each restart every open position at the venue is
 * protected within a bound (a stop at the venue for its whole size, within
 * 8 s: the adapter asks about what it stored once a recvWindow of 1 s and
 * a second have passed, and sends what the venue does not have);
 * no order is ever at the venue twice (client ids unique), none the engine
 * stored as open is missing there, none open there is unknown to it. */
static void test_kill_9_cycles(void **state)
{
    (void)state;
    const char *env = getenv("NX_LIVE_CYCLES");
    int cycles = env ? atoi(env) : 50;
    start_venue(12000, 36000); /* 300 s of stream, more than the cycles take */
    proc_t P;
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0); /* seeds */
    for (int u = 0; u < 2; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set "
                            "%lld binance-usdm >/dev/null",
                            users[u].key, users[u].secret, nexus_bin, (long long)users[u].chat),
                         0);
    unsigned seed = 18;
    int64_t worst_ms = 0;
    int with_position = 0; /* kills while user 1 held a position at the venue */
    int held_told = 0;     /* sessions held at the end: the venue and the engine disagreed */
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, NULL};
    for (int c = 0; c < cycles; c++) {
        spawn(&P, argv);
        engine_pid = P.pid;
        assert_true(pump(&P, "trades on binance-usdm-testnet", 30000));
        int64_t up = now_ms();
        /* after a restart: protected within the bound */
        for (int u = 0; u < 2; u++) {
            while (!protected_now(u)) {
                if (now_ms() - up > 8000) {
                    if (getenv("NX_LIVE_LOGS")) {
                        pump(&P, "(never)", 300);
                        write_file("/tmp/nx-live-last.log", P.ebuf, 0644);
                    }
                    fail_msg("cycle %d: user %d's position is not protected 8 s after the "
                             "restart",
                             c, u + 1);
                }
                pump(&P, "(never)", 50);
            }
        }
        if (now_ms() - up > worst_ms)
            worst_ms = now_ms() - up;
        /* the kill, at a random moment (the fault's schedule, seeded); every
         * other cycle after an entry filled at the venue whose stop never
         * got there (the venue swallows the next conditional order: the
         * crash came between the fill and the protection) */
        if (c % 2) {
            wire_resp_t fr;
            assert_int_equal(wire_http(port_s, "GET", "/_sim/fault?kind=timeout_algo&n=1", NULL,
                                       NULL, 2000, &fr),
                             0);
            free(fr.body);
            int64_t t0 = now_ms();
            while (now_ms() - t0 < 8000) {
                json_t *pos = venue_get(0, "/fapi/v3/positionRisk", "symbol=BTCUSDT");
                int open = json_array_size(pos) > 0;
                json_decref(pos);
                if (open)
                    break;
                pump(&P, "(never)", 20);
            }
            pump(&P, "(never)", (int)(rand_r(&seed) % 300));
        } else {
            pump(&P, "(never)", 500 + (int)(rand_r(&seed) % 3000));
        }
        json_t *pos = venue_get(0, "/fapi/v3/positionRisk", "symbol=BTCUSDT");
        with_position += json_array_size(pos) > 0;
        json_decref(pos);
        kill(P.pid, SIGKILL);
        pump(&P, NULL, 5000);
        wire_resp_t fr; /* a swallowed stop the crash came before: not the next run's */
        assert_int_equal(wire_http(port_s, "GET", "/_sim/fault?kind=clear", NULL, NULL, 2000, &fr),
                         0);
        free(fr.body);
        if (getenv("NX_LIVE_LOGS")) {
            char lp[300];
            snprintf(lp, sizeof lp, "%s/cycle%02d.log", getenv("NX_LIVE_LOGS"), c);
            write_file(lp, P.ebuf, 0644);
        }
        int st;
        waitpid(P.pid, &st, 0);
        engine_pid = 0;
        assert_true(WIFSIGNALED(st));
        assert_true(replay_done() == 0); /* the market was still moving */
    }
    /* a last start, stopped cleanly, and the books compared */
    spawn(&P, argv);
    engine_pid = P.pid;
    assert_true(pump(&P, "trades on binance-usdm-testnet", 30000));
    int64_t up = now_ms();
    for (int u = 0; u < 2; u++)
        while (!protected_now(u)) {
            if (now_ms() - up > 8000)
                fail_msg("user %d's position is not protected after the last restart", u + 1);
            pump(&P, "(never)", 50);
        }
    pump(&P, "(never)", 3000); /* adopted orders are asked about after 2 s, then the positions */
    /* the market stops (the replay stalls its stream, so nothing moves at
     * the venue), the engine settles and stops, and then the positions it
     * saved are the venue's — or it held the session and said so: nothing
     * is silently out of step */
    wire_resp_t fr;
    assert_int_equal(wire_http(port_r, "GET", "/_replay/fault?kind=stall&ms=120000", NULL, NULL,
                               2000, &fr),
                     0);
    free(fr.body);
    pump(&P, "(never)", 2000);
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    static const char *const names[2] = {"owner", "alice"};
    char posdb[400];
    snprintf(posdb, sizeof posdb, "%s/data/nexus.db", dir);
    sqlite3 *ph;
    assert_int_equal(sqlite3_open(posdb, &ph), SQLITE_OK);
    for (int u = 0; u < 2; u++) {
        json_t *pos = venue_get(u, "/fapi/v3/positionRisk", "symbol=BTCUSDT");
        int64_t venue_qty =
            json_array_size(pos) ? jmoney(json_array_get(pos, 0), "positionAmt") : 0;
        json_decref(pos);
        char q[160];
        snprintf(q, sizeof q, "SELECT qty FROM positions WHERE session = %d", u + 1);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(ph, q, -1, &st, NULL), SQLITE_OK);
        int64_t engine_qty = sqlite3_step(st) == SQLITE_ROW
                                 ? money((const char *)sqlite3_column_text(st, 0))
                                 : 0;
        sqlite3_finalize(st);
        char told[64];
        snprintf(told, sizeof told, "%s: the venue holds", names[u]);
        if (venue_qty != engine_qty && !strstr(P.ebuf, told)) {
            if (getenv("NX_LIVE_LOGS"))
                write_file("/tmp/nx-live-last.log", P.ebuf, 0644);
            fail_msg("user %d: the venue holds %lld, the engine saved %lld, and nothing was "
                     "said",
                     u + 1, (long long)venue_qty, (long long)engine_qty);
        }
        held_told += strstr(P.ebuf, told) != NULL;
    }
    sqlite3_close(ph);
    char db[400];
    snprintf(db, sizeof db, "%s/data/nexus.db", dir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    int64_t orders = 0;
    for (int u = 0; u < 2; u++) {
        json_t *all = venue_get(u, "/fapi/v1/allOrders", "symbol=BTCUSDT");
        size_t n = json_array_size(all);
        orders += (int64_t)n;
        for (size_t i = 0; i < n; i++) {
            const char *ci = json_string_value(json_object_get(json_array_get(all, i), "clientOrderId"));
            for (size_t k = i + 1; k < n; k++)
                if (!strcmp(ci, json_string_value(json_object_get(json_array_get(all, k),
                                                                   "clientOrderId"))))
                    fail_msg("user %d: client id %s at the venue twice", u + 1, ci);
        }
        json_decref(all);
        /* what rests at the venue is what the engine holds as open, and
         * the other way round */
        json_t *open = venue_get(u, "/fapi/v1/openAlgoOrders", "symbol=BTCUSDT");
        for (size_t i = 0; i < json_array_size(open); i++) {
            const char *ci =
                json_string_value(json_object_get(json_array_get(open, i), "clientAlgoId"));
            uint64_t clid = nx_binance_clid_parse(ci, strlen(ci));
            assert_true(clid != 0);
            char q[200];
            snprintf(q, sizeof q, "SELECT status FROM orders WHERE client_id = %lld",
                     (long long)clid);
            sqlite3_stmt *st;
            sqlite3_prepare_v2(h, q, -1, &st, NULL);
            if (sqlite3_step(st) != SQLITE_ROW)
                fail_msg("user %d: %s rests at the venue, unknown to the engine", u + 1, ci);
            sqlite3_finalize(st);
        }
        json_decref(open);
    }
    sqlite3_close(h);
    print_message("%d kill -9 cycles (%d with a position open at the venue): %lld orders at the "
                  "venue, none twice; every position protected within %lld ms of a restart; "
                  "%d session(s) held at the end for a position the engine had lost\n",
                  cycles, with_position, (long long)orders, (long long)worst_ms, held_told);
    assert_true(with_position >= cycles / 4); /* the crashes did hit open positions */
}

/* Four users whose sessions follow the same strategies: each signal is a
 * burst of entries, stops and targets on four accounts at once, through
 * the whole engine (cortex, shield, desk, order manager, adapter), against
 * a simulator whose quotas are small enough to reach (120 weight a minute
 * for all, 3 orders per 10 s and 20 a minute per account: an entry with its
 * stop and target alone would be 100%). The engine takes the quotas from
 * the venue's exchangeInfo; no quota is ever above 80%, nothing is
 * answered 429 or 418, and every user trades. */
static void test_signal_burst_many_users(void **state)
{
    (void)state;
    static const char *const keys[4][2] = {
        {"burstKey1000000000000000000000000000000000000000000000000000000", "burst-secret-1-loopback-only-0000000000000000000000000000000"},
        {"burstKey2000000000000000000000000000000000000000000000000000000", "burst-secret-2-loopback-only-0000000000000000000000000000000"},
        {"burstKey3000000000000000000000000000000000000000000000000000000", "burst-secret-3-loopback-only-0000000000000000000000000000000"},
        {"burstKey4000000000000000000000000000000000000000000000000000000", "burst-secret-4-loopback-only-0000000000000000000000000000000"}};
    char a[2048];
    size_t o = 0;
    for (int u = 0; u < 4; u++)
        o += (size_t)snprintf(a + o, sizeof a - o, "%s %s 10000\n", keys[u][0], keys[u][1]);
    write_file(accts, a, 0600);
    sim_quotas = "120:3:20";
    start_venue(500, 30000);
    /* the run's config: four users, a PILOT session each on the same
     * strategies, all on the testnet (the simulator) */
    char text[6000];
    o = (size_t)snprintf(
        text, sizeof text,
        "{\n  \"engine\": { \"stats_interval_s\": 0 },\n  \"log\": { \"level\": \"info\" },\n"
        "  \"data_dir\": \"data\", \"web\": { \"listen\": \"127.0.0.1:0\" },\n"
        "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
        "     \"tick_size\": \"0.01\", \"lot_size\": \"0.001\", \"min_notional\": \"5\" } ],\n"
        "  \"feeds\": [ { \"venue\": \"binance-usdm\", \"ws_url\": \"ws://127.0.0.1:%d\",\n"
        "     \"rest_url\": \"http://127.0.0.1:%d\", \"streams\": [\"trades\", \"klines\"],\n"
        "     \"kline_interval\": \"15m\", \"stale_s\": 0 } ],\n"
        "  \"cortex\": { \"timeframes\": [\"15m\", \"1h\", \"4h\"], \"allow_unsigned\": true,\n"
        "     \"plugin_dir\": \"%s\",\n"
        "     \"strategies\": [ { \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] } ] },\n"
        "  \"live\": { \"recv_window_ms\": 1000, \"answer_timeout_ms\": 1000,\n"
        "     \"binance_usdm_testnet\": { \"rest_url\": \"http://127.0.0.1:%d\",\n"
        "       \"ws_api_url\": \"ws://127.0.0.1:%d/ws-fapi/v1\", \"stream_url\": \"ws://127.0.0.1:%d\" } },\n"
        "  \"storage\": { \"key_file\": \"master.key\", \"owner_chat_id\": 2001 },\n"
        "  \"users\": [",
        port_r, port_r, NX_PLUGIN_DIR, port_s, port_s, port_s);
    for (int u = 0; u < 4; u++)
        o += (size_t)snprintf(text + o, sizeof text - o,
                              "%s{ \"id\": %d, \"chat_id\": %d, \"name\": \"u%d\", \"role\": \"%s\" }",
                              u ? ", " : "", u + 1, 2001 + u, u + 1, u ? "subscriber" : "owner");
    o += (size_t)snprintf(text + o, sizeof text - o, " ],\n  \"trading\": { \"sessions\": [");
    for (int u = 0; u < 4; u++)
        o += (size_t)snprintf(
            text + o, sizeof text - o,
            "%s{ \"name\": \"u%d\", \"user\": %d, \"mode\": \"pilot\", \"equity\": \"10000\",\n"
            "  \"symbols\": [\"BTCUSDT\"], \"leverage\": 2, \"cooldown_s\": 0, \"breaker_losses\": 100,\n"
            "  \"max_positions\": 1, \"execution\": \"binance-usdm-testnet\" }",
            u ? ",\n" : "", u + 1, u + 1);
    snprintf(text + o, sizeof text - o, " ] }\n}\n");
    write_file(run_cfg, text, 0644);
    proc_t P;
    /* a first start makes the users (and says no keys are stored) */
    assert_int_not_equal(run_nexus(&P, "run", "--config", run_cfg, NULL), 0);
    assert_non_null(strstr(P.ebuf, "no Binance keys stored"));
    for (int u = 0; u < 4; u++)
        assert_int_equal(sh("printf '%%s\\n%%s\\n' '%s' '%s' | '%s' keys --config run.json set %d "
                            "binance-usdm >/dev/null",
                            keys[u][0], keys[u][1], nexus_bin, 2001 + u),
                         0);
    char *argv[] = {(char *)nexus_bin, "run", "--config", run_cfg, NULL};
    spawn(&P, argv);
    engine_pid = P.pid;
    assert_true(pump(&P, "trades on binance-usdm-testnet", 20000));
    assert_true(pump(&P, "serving /metrics and /health on http://127.0.0.1:", 20000));
    int web = atoi(strstr(P.ebuf, "serving /metrics and /health on http://127.0.0.1:") +
                   strlen("serving /metrics and /health on http://127.0.0.1:"));
    for (int i = 0; i < 1200 && !replay_done(); i++)
        pump(&P, "(never)", 100);
    assert_true(replay_done());
    pump(&P, "(never)", 1500);
    /* the operator sees the same: the quotas' peaks in /metrics, none above 80% */
    wire_resp_t mr;
    assert_int_equal(wire_http(web, "GET", "/metrics", NULL, NULL, 5000, &mr), 0);
    assert_int_equal(mr.status, 200);
    char *mt = strndup(mr.body, mr.body_n);
    free(mr.body);
    static const char *const quotas[] = {"weight_1m", "orders_10s", "orders_1m"};
    double peak[3];
    for (int q = 0; q < 3; q++) {
        char name[160];
        snprintf(name, sizeof name,
                 "nexus_venue_quota_peak_ratio{venue=\"binance-usdm-testnet\",quota=\"%s\"} ",
                 quotas[q]);
        const char *at = strstr(mt, name);
        assert_non_null(at);
        peak[q] = atof(at + strlen(name));
        assert_true(peak[q] <= 0.80);
    }
    assert_true(peak[1] > 0); /* orders went: the 10 s quota was used */
    assert_non_null(
        strstr(mt, "nexus_venue_rate_limited_total{venue=\"binance-usdm-testnet\"} 0\n"));
    free(mt);
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    engine_pid = 0;
    assert_non_null(strstr(P.ebuf, "the venue's ORDERS quota per 10 SECOND is 3"));
    wire_resp_t r;
    assert_int_equal(wire_http(port_s, "GET", "/_sim/status", NULL, NULL, 2000, &r), 0);
    json_t *st = json_loadb(r.body, r.body_n, 0, NULL);
    free(r.body);
    assert_non_null(st);
    long long orders = json_integer_value(json_object_get(st, "orders")) +
                       json_integer_value(json_object_get(st, "algo_orders"));
    long long w = json_integer_value(json_object_get(st, "max_weight_pct"));
    long long o10 = json_integer_value(json_object_get(st, "max_orders_10s_pct"));
    long long o60 = json_integer_value(json_object_get(st, "max_orders_1m_pct"));
    print_message("signal bursts for 4 users: %lld orders at the venue; highest weight %lld%%, "
                  "orders per 10 s %lld%%, per minute %lld%% of the quotas\n",
                  orders, w, o10, o60);
    assert_true(orders >= 4 * 3); /* each account entered and was protected */
    assert_true(w <= 80);
    assert_true(o10 <= 80);
    assert_true(o60 <= 80);
    assert_int_equal(json_integer_value(json_object_get(st, "http429")), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "http418")), 0);
    assert_int_equal(json_integer_value(json_object_get(st, "bad_signature")), 0);
    json_decref(st);
    /* every user traded at the venue */
    for (int u = 0; u < 4; u++) {
        nx_hmac_key_t *k;
        assert_int_equal(nx_hmac_key_create(&k, keys[u][1], strlen(keys[u][1])), 0);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char q[512];
        int n = snprintf(q, sizeof q, "symbol=BTCUSDT&timestamp=%lld",
                         (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        assert_true(nx_binance_sign(q, (size_t)n, sizeof q, k) > 0);
        nx_hmac_key_free(k);
        char target[800];
        snprintf(target, sizeof target, "/fapi/v1/userTrades?%s", q);
        assert_int_equal(wire_http(port_s, "GET", target, NULL, keys[u][0], 5000, &r), 0);
        json_t *t = json_loadb(r.body, r.body_n, 0, NULL);
        free(r.body);
        if (json_array_size(t) < 1)
            fail_msg("user %d made no fill", u + 1);
        json_decref(t);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_live NEXUS_BINARY\n");
        return 2;
    }
    nexus_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_users_trade_live_and_the_books_agree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_foreign_position_holds_the_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_position_adopted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copilot_approval_becomes_a_live_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sim_faults_on_a_schedule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_wallet_and_venue_notices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signal_burst_many_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_9_cycles, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
