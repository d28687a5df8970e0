/*
 * test_backtest — `nexus backtest` as a trader runs it, on the bundled
 * BTCUSDT 15m candles (13,843, real) with the built-in trend, scalping and
 * grid plugins:
 *  - the same inputs give byte-identical orders and statistics, run after run;
 *  - the statistics agree with a recomputation from the order stream's
 *    fills alone (each trade's P&L from its cash flow and fees, then win
 *    rate, profit factor, expectancy, the final equity) and with the
 *    textbook formulas applied to the equity it reports (drawdown, Sharpe,
 *    Sortino) — written here, not taken from the engine;
 *  - --from/--to bound the trading;
 *  - bad inputs are refused with a clear message: a recording out of time
 *    order, a truncated CSV, data of no configured symbol, a missing file;
 *  - the look-ahead check passes the built-in strategies and catches one
 *    that reads the next candle from the data file.
 *
 * argv[1] = the nexus binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "nx/fixed.h"
#include "proc.h"

static const char *nexus_bin;
static char dir[256], cfg[300], csv[512];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nx-bt-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(cfg, sizeof cfg, "%s/bt.json", dir);
    snprintf(csv, sizeof csv, "%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv",
             getenv("NX_SOURCE_DIR") ? getenv("NX_SOURCE_DIR") : NX_SOURCE_DIR_DEFAULT);
    char text[2048];
    snprintf(text, sizeof text,
             "{ \"log\": { \"level\": \"warn\" },\n"
             "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
             "                   \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\" } ],\n"
             "  \"cortex\": { \"timeframes\": [\"15m\", \"1h\", \"4h\"], \"allow_unsigned\": true,\n"
             "    \"plugin_dir\": \"%s\",\n"
             "    \"strategies\": [ { \"plugin\": \"trend\", \"timeframes\": [\"15m\", \"4h\"] },\n"
             "                     { \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] },\n"
             "                     { \"plugin\": \"grid\", \"timeframes\": [\"15m\"] } ] },\n"
             "  \"users\": [ { \"id\": 1, \"chat_id\": 1001, \"name\": \"owner\", \"role\": \"owner\" } ],\n"
             "  \"trading\": { \"slippage_bp\": 2, \"taker_fee_bp\": 4, \"maker_fee_bp\": 2,\n"
             "    \"sessions\": [ { \"name\": \"owner\", \"user\": 1, \"mode\": \"pilot\",\n"
             "      \"equity\": \"10000\", \"symbols\": [\"BTCUSDT\"], \"leverage\": 2,\n"
             "      \"trail_bp\": 150, \"cooldown_s\": 3600, \"breaker_halt_s\": 86400 } ] } }\n",
             NX_PLUGIN_DIR);
    write_file(cfg, text);
    /* NX_BT_CANDLES=N: the first N candles only (the sanitizer builds run
     * the engine ten times slower; 3500 still cross the first hole) */
    const char *cut = getenv("NX_BT_CANDLES");
    if (cut && atoi(cut) > 0) {
        char src[512], line[256];
        snprintf(src, sizeof src, "%s", csv);
        snprintf(csv, sizeof csv, "%s/slice.csv", dir);
        FILE *in = fopen(src, "r"), *out = fopen(csv, "w");
        assert_non_null(in);
        assert_non_null(out);
        for (int i = 0; i <= atoi(cut) && fgets(line, sizeof line, in); i++)
            fputs(line, out);
        fclose(in);
        fclose(out);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* nexus backtest with these arguments after --config; its exit status. */
static int backtest(proc_t *p, const char *a1, const char *a2, const char *a3, const char *a4,
                    const char *a5, const char *a6, const char *a7)
{
    char *argv[12] = {(char *)nexus_bin, "backtest", "--config", cfg};
    int n = 4;
    const char *more[] = {a1, a2, a3, a4, a5, a6, a7};
    for (int i = 0; i < 7 && more[i]; i++)
        argv[n++] = (char *)more[i];
    argv[n] = NULL;
    spawn(p, argv);
    return finish(p);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void test_same_answer_every_run(void **state)
{
    (void)state;
    char o[2][400], s[2][400];
    proc_t P;
    for (int i = 0; i < 2; i++) {
        snprintf(o[i], sizeof o[i], "%s/orders%d.jsonl", dir, i);
        snprintf(s[i], sizeof s[i], "%s/stats%d.json", dir, i);
        assert_int_equal(backtest(&P, "--orders", o[i], "--stats", s[i], csv, NULL, NULL), 0);
    }
    if (!getenv("NX_BT_CANDLES"))
        assert_non_null(strstr(P.obuf, "backtest: 69195 events from 2021-01-12T00:00:00 to "
                                       "2021-06-05T14:30:00 UTC"));
    for (int k = 0; k < 2; k++) {
        size_t n0, n1;
        char *a = slurp(k ? s[0] : o[0], &n0), *b = slurp(k ? s[1] : o[1], &n1);
        assert_true(n0 > 1000);
        assert_int_equal(n0, n1);
        assert_memory_equal(a, b, n0);
        free(a);
        free(b);
    }
}

static int64_t money(const char *s)
{
    int64_t v = 0;
    assert_int_equal(nx_fixed_parse(s, strlen(s), 8, &v), 0);
    return v;
}

static int64_t jmoney(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    assert_non_null(s);
    return money(s);
}

static int64_t floor_div(__int128 a, int64_t b)
{
    __int128 q = a / b;
    if (a % b && (a < 0) != (b < 0))
        q--;
    return (int64_t)q;
}

/* A trade of session 1 as its fills build it: the cash flow (sells -
 * buys, price x qty at 10^-8 x 10^-8), the position and the fees. */
typedef struct fill_trade {
    __int128 cash;
    int64_t pos, fees;
} fill_trade_t;

/* One line of the order stream: a fill of session 1 goes into t; 1 when
 * it left the position flat (the trade closed; t->cash and t->fees are
 * its, for the caller to take and clear). */
static int add_fill(json_t *j, fill_trade_t *t)
{
    const char *px = json_string_value(json_object_get(j, "fill_px"));
    if (!px || json_integer_value(json_object_get(j, "session")) != 1)
        return 0;
    int64_t p = money(px), q = jmoney(j, "fill_qty");
    int buy = !strcmp(json_string_value(json_object_get(j, "side")), "buy");
    t->cash += (__int128)p * q * (buy ? -1 : 1);
    t->pos += buy ? q : -q;
    t->fees += jmoney(j, "fee");
    return t->pos == 0;
}

/* The --stats file: its root (the caller frees it) and its first session. */
static json_t *stats_of(const char *path, json_t **ss)
{
    size_t n;
    char *text = slurp(path, &n);
    json_t *root = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(root);
    *ss = json_array_get(json_object_get(root, "sessions"), 0);
    return root;
}

/* The statistics against a recomputation from the fills. Money at 10^-8
 * of the quote (the session's money scale: the symbol's price scale). */
static void test_statistics_recomputed_from_the_fills(void **state)
{
    (void)state;
    char o[400], s[400];
    snprintf(o, sizeof o, "%s/orders.jsonl", dir);
    snprintf(s, sizeof s, "%s/stats.json", dir);
    proc_t P;
    assert_int_equal(backtest(&P, "--orders", o, "--stats", s, csv, NULL, NULL), 0);
    /* each trade from the fills: position, cash flow (sells - buys, price x
     * qty at 10^-8 x 10^-8) and fees, closed when the position is flat */
    FILE *f = fopen(o, "r");
    assert_non_null(f);
    char line[4096];
    int64_t pnls[4096];
    fill_trade_t tr = {0};
    int ntr = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        if (add_fill(j, &tr)) { /* back to 10^-8 of the quote: floor, as money is kept */
            assert_true(ntr < 4096);
            pnls[ntr++] = floor_div(tr.cash, 100000000LL) - tr.fees;
            tr.cash = 0, tr.fees = 0;
        }
        json_decref(j);
    }
    fclose(f);
    __int128 cash = tr.cash;
    int64_t pos = tr.pos, fees = tr.fees;
    /* a position still open at the end, at the data's last price (the last
     * candle's close, its last trade) */
    f = fopen(csv, "r");
    assert_non_null(f);
    char last_line[4096] = "";
    while (fgets(line, sizeof line, f))
        snprintf(last_line, sizeof last_line, "%s", line);
    fclose(f);
    char *c4 = last_line;
    for (int k = 0; k < 4; k++)
        c4 = strchr(c4, ',') + 1;
    int64_t last_px = 0;
    assert_int_equal(nx_fixed_parse(c4, (size_t)(strchr(c4, ',') - c4), 8, &last_px), 0);
    int64_t open_pnl = pos ? floor_div(cash + (__int128)last_px * pos, 100000000LL) - fees : 0;
    json_t *ss, *root = stats_of(s, &ss);
    json_t *trades = json_object_get(ss, "trades");
    assert_int_equal(json_array_size(trades), (size_t)ntr);
    int wins = 0;
    int64_t gw = 0, gl = 0, total = 0;
    for (int i = 0; i < ntr; i++) {
        int64_t p = jmoney(json_array_get(trades, (size_t)i), "pnl");
        if (p != pnls[i])
            fail_msg("trade %d: the engine says %lld, the fills %lld (10^-8)", i, (long long)p,
                     (long long)pnls[i]);
        wins += pnls[i] > 0;
        total += pnls[i];
        if (pnls[i] > 0)
            gw += pnls[i];
        else
            gl -= pnls[i];
    }
    assert_true(ntr > (getenv("NX_BT_CANDLES") ? 10 : 100));
    /* each trade says the market regime it was opened in (the rules' read:
     * this config routes nothing by regime); only the first hours have none */
    int read = 0;
    for (int i = 0; i < ntr; i++)
        read += strcmp(json_string_value(json_object_get(json_array_get(trades, (size_t)i),
                                                         "regime")),
                       "unknown") != 0;
    assert_true(read >= ntr * 9 / 10);
    assert_int_equal(json_integer_value(json_object_get(ss, "trade_count")), ntr);
    assert_int_equal(json_integer_value(json_object_get(ss, "wins")), wins);
    assert_true(fabs(json_real_value(json_object_get(ss, "win_rate")) - (double)wins / ntr) < 1e-6);
    assert_true(fabs(json_real_value(json_object_get(ss, "profit_factor")) - (double)gw / gl) <
                1e-4);
    assert_int_equal(jmoney(ss, "gross_win"), gw);
    assert_int_equal(jmoney(ss, "gross_loss"), gl);
    /* expectancy: the mean P&L a trade, rounded to 10^-8 */
    assert_int_equal(jmoney(ss, "expectancy"), (int64_t)llround((double)total / ntr));
    int64_t e0 = jmoney(ss, "start_equity"), e1 = jmoney(ss, "final_equity");
    assert_int_equal(e1, e0 + total + open_pnl);
    if (pos)
        print_message("open at the end: %lld (qty units), worth %lld (10^-8 USDT)\n",
                      (long long)pos, (long long)open_pnl);
    assert_true(fabs(json_real_value(json_object_get(ss, "total_return")) -
                     ((double)e1 / (double)e0 - 1)) < 1e-6);
    /* the equity points: drawdown from the peak, and the daily returns'
     * Sharpe and Sortino (sample deviation; 365 days a year) */
    json_t *eq = json_object_get(ss, "equity");
    double peak = (double)e0, dd = 0, prev = (double)e0, sum = 0, sum2 = 0, down = 0;
    int days = 0;
    for (size_t i = 0; i < json_array_size(eq); i++) {
        json_t *pt = json_array_get(eq, i);
        double v = (double)money(json_string_value(json_array_get(pt, 1)));
        peak = v > peak ? v : peak;
        dd = 1 - v / peak > dd ? 1 - v / peak : dd;
        if (json_integer_value(json_array_get(pt, 0)) % 86400000 == 0) {
            double r = v / prev - 1;
            prev = v;
            sum += r;
            sum2 += r * r;
            down += r < 0 ? r * r : 0;
            days++;
        }
    }
    assert_true(days >= (getenv("NX_BT_CANDLES") ? 20 : 140)); /* 12 Jan .. 5 Jun */
    double m = sum / days, sd = sqrt((sum2 - days * m * m) / (days - 1));
    assert_true(fabs(json_real_value(json_object_get(ss, "max_drawdown")) - dd) < 1e-6);
    assert_true(fabs(json_real_value(json_object_get(ss, "sharpe")) - m / sd * sqrt(365.0)) < 1e-3);
    assert_true(fabs(json_real_value(json_object_get(ss, "sortino")) -
                     m / sqrt(down / days) * sqrt(365.0)) < 1e-3);
    print_message("%d trades recomputed from their fills; final equity %lld (10^-8 USDT)\n", ntr,
                  (long long)e1);
    json_decref(root);
}

/* Funding on a perpetual, where the data has it: the candles with a
 * SYNTHETIC series of Binance markPriceUpdate frames (written here, not
 * recorded: the bundled data has no funding) — every 8 h a settlement, its
 * rate announced in the frame before it (r, with T its time), cycling
 * through negative, zero and positive rates, the mark at the settlement
 * the candle's close. Each trade's P&L must be its fills' cash flow and
 * fees less the funding worked out here: at each settlement, the
 * position the fills had built by then x the mark x the rate (Binance's
 * definition), a payment rounded up to 10^-8, a receipt down. */
static void test_funding_from_mark_frames(void **state)
{
    (void)state;
    /* the candles: open times and closes */
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[4096];
    static int64_t open_ms[20000];
    static char close_s[20000][32];
    int nc = 0;
    while (fgets(line, sizeof line, f) && nc < 20000) {
        long long t;
        char c[32];
        if (sscanf(line, "%lld,%*[^,],%*[^,],%*[^,],%31[^,],", &t, c) == 2) {
            open_ms[nc] = t;
            snprintf(close_s[nc], sizeof close_s[nc], "%s", c);
            nc++;
        }
    }
    fclose(f);
    assert_true(nc > 1000);
    /* settlements every 8 h from the first whole day; the frame after
     * each comes 7.013 s past it (no candle's trade is at that time) */
    const int64_t H8 = 8 * 3600 * 1000LL, AFTER = 7013;
    int64_t first = (open_ms[0] / 86400000 + 1) * 86400000;
    static int64_t st_ms[1000], st_mark[1000], st_rate[1000];
    int ns = 0;
    for (int64_t t = first; t + H8 < open_ms[nc - 1] && ns < 1000; t += H8) {
        int k = 0;
        while (k + 1 < nc && open_ms[k + 1] <= t)
            k++;
        st_ms[ns] = t;
        st_mark[ns] = money(close_s[k]);
        st_rate[ns] = 10000LL * (ns % 7 - 2) + 37 * (ns % 3); /* -0.0002 .. +0.00040074 */
        ns++;
    }
    char marks[400];
    snprintf(marks, sizeof marks, "%s/marks_SYNTHETIC.jsonl", dir);
    f = fopen(marks, "w");
    assert_non_null(f);
    for (int i = -1; i < ns - 1; i++) {
        int64_t e = i < 0 ? st_ms[0] - 1800000 : st_ms[i] + AFTER;
        const char *p = close_s[0];
        char pbuf[40], rbuf[40];
        if (i >= 0) {
            nx_fixed_format(st_mark[i], 8, pbuf, sizeof pbuf);
            p = pbuf;
        }
        nx_fixed_format(st_rate[i + 1], 8, rbuf, sizeof rbuf);
        fprintf(f,
                "{\"stream\":\"btcusdt@markPrice@1s\",\"data\":{\"e\":\"markPriceUpdate\","
                "\"E\":%lld,\"s\":\"BTCUSDT\",\"p\":\"%s\",\"i\":\"%s\",\"P\":\"%s\","
                "\"r\":\"%s\",\"T\":%lld}}\n",
                (long long)e, p, p, p, rbuf, (long long)st_ms[i + 1]);
    }
    fclose(f);
    char o[400], s[400];
    snprintf(o, sizeof o, "%s/orders.jsonl", dir);
    snprintf(s, sizeof s, "%s/stats.json", dir);
    proc_t P;
    assert_int_equal(backtest(&P, "--orders", o, "--stats", s, csv, marks, NULL), 0);

    /* the trades from the fills, with the funding worked out here */
    f = fopen(o, "r");
    assert_non_null(f);
    int64_t funding = 0, pnls[4096], total_funding = 0;
    fill_trade_t tr = {0};
    int ntr = 0, k = 0, charged = 0, told = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        int64_t t_ms = json_integer_value(json_object_get(j, "exch_ns")) / 1000000;
        /* the settlements before this event, on the position built so far */
        while (k < ns - 1 && st_ms[k] + AFTER <= t_ms) {
            __int128 v = (__int128)tr.pos * st_mark[k] * st_rate[k];
            __int128 div = (__int128)10000000000000000LL;
            __int128 q = v / div;
            if (v % div && v > 0)
                q++;
            funding += (int64_t)q;
            total_funding += (int64_t)q;
            charged += q != 0;
            k++;
        }
        const char *kind = json_string_value(json_object_get(j, "kind"));
        told += kind && !strcmp(kind, "funding");
        if (add_fill(j, &tr)) {
            assert_true(ntr < 4096);
            pnls[ntr++] = floor_div(tr.cash, 100000000LL) - tr.fees - funding;
            tr.cash = 0, tr.fees = 0, funding = 0;
        }
        json_decref(j);
    }
    fclose(f);
    json_t *ss, *root = stats_of(s, &ss);
    json_t *trades = json_object_get(ss, "trades");
    assert_int_equal(json_array_size(trades), (size_t)ntr);
    for (int i = 0; i < ntr; i++) {
        int64_t p = jmoney(json_array_get(trades, (size_t)i), "pnl");
        if (p != pnls[i])
            fail_msg("trade %d: the engine says %lld, the fills and funding %lld (10^-8)", i,
                     (long long)p, (long long)pnls[i]);
    }
    assert_true(charged > 20);
    assert_int_equal(told, charged); /* one journal notice a payment */
    assert_int_equal(json_integer_value(json_object_get(ss, "funding_settlements")), charged);
    assert_int_equal(jmoney(ss, "funding"), -total_funding);
    print_message("%d settlements (synthetic rates), %d charged a position, %lld received "
                  "(10^-8 USDT); %d trades agree with their fills and funding\n",
                  ns, charged, (long long)-total_funding, ntr);
    json_decref(root);
}

/* Trading only between --from and --to; the indicators warm up before. */
static void test_from_and_to(void **state)
{
    (void)state;
    char s[400];
    snprintf(s, sizeof s, "%s/stats.json", dir);
    proc_t P;
    assert_int_equal(backtest(&P, "--from", "2021-01-20", "--to", "2021-02-10", "--stats", s, csv),
                     0);
    json_t *ss, *root = stats_of(s, &ss);
    json_t *trades = json_object_get(ss, "trades");
    assert_true(json_array_size(trades) > 5);
    for (size_t i = 0; i < json_array_size(trades); i++) {
        json_t *t = json_array_get(trades, i);
        assert_true(json_integer_value(json_object_get(t, "opened_ms")) >= 1611100800000LL);
        assert_true(json_integer_value(json_object_get(t, "closed_ms")) <= 1612915200000LL);
    }
    json_decref(root);
    assert_int_equal(backtest(&P, "--from", "2021-04-01", "--to", "2021-03-01", csv, NULL, NULL),
                     64);
    assert_non_null(strstr(P.ebuf, "--to must be after --from"));
    assert_int_equal(backtest(&P, "--from", "yesterday", csv, NULL, NULL, NULL, NULL), 64);
    assert_non_null(strstr(P.ebuf, "--from yesterday: want 2021-03-01"));
}

static void test_bad_inputs(void **state)
{
    (void)state;
    proc_t P;
    char path[400];
    /* recorded frames out of time order */
    snprintf(path, sizeof path, "%s/unsorted.jsonl", dir);
    write_file(path,
               "{\"e\":\"aggTrade\",\"E\":1626912000100,\"s\":\"BTCUSDT\",\"a\":1,\"p\":\"32000.10\","
               "\"q\":\"0.010\",\"f\":1,\"l\":1,\"T\":1626912000100,\"m\":false}\n"
               "{\"e\":\"aggTrade\",\"E\":1626912000050,\"s\":\"BTCUSDT\",\"a\":2,\"p\":\"32000.20\","
               "\"q\":\"0.010\",\"f\":2,\"l\":2,\"T\":1626912000050,\"m\":false}\n");
    assert_int_equal(backtest(&P, path, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(P.ebuf, "message 2 is at 1626912000050 ms, before an earlier one of "
                                   "its stream (1626912000100 ms): the file is not in time order"));
    /* a CSV cut in the middle of a line */
    snprintf(path, sizeof path, "%s/cut.csv", dir);
    write_file(path, "open_time_ms,open,high,low,close,volume\n"
                     "1610409600000,35410.37,35547.19,34702.65,34771.31,2309.12384\n"
                     "1610410500000,34771.31,349");
    assert_int_equal(backtest(&P, path, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(P.ebuf, "cut.csv:3"));
    /* frames of a symbol the config does not trade */
    snprintf(path, sizeof path, "%s/eth.jsonl", dir);
    write_file(path,
               "{\"e\":\"aggTrade\",\"E\":1626912000100,\"s\":\"ETHUSDT\",\"a\":1,\"p\":\"2000.10\","
               "\"q\":\"0.010\",\"f\":1,\"l\":1,\"T\":1626912000100,\"m\":false}\n");
    assert_int_equal(backtest(&P, path, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(P.obuf, "1 messages for symbols the config does not have"));
    assert_non_null(strstr(P.ebuf, "no market event of the config's symbols in the data"));
    /* a file that is not there, and no file at all */
    snprintf(path, sizeof path, "%s/none.csv", dir);
    assert_int_equal(backtest(&P, path, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(P.ebuf, "none.csv"));
    assert_int_equal(backtest(&P, NULL, NULL, NULL, NULL, NULL, NULL, NULL), 64);
    assert_non_null(strstr(P.ebuf, "usage: nexus backtest"));
}

/* The PILOT session's decisions, orders, fills and notices in a JSON-lines
 * file, without what only a wall clock sets (receive times, an approval's
 * expiry) and the journal's sequence: one compact text per line. */
static char **stream_of(const char *path, int *n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char line[65536];
    char **out = NULL;
    int cap = 0;
    *n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] != '{')
            continue;
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            continue;
        const char *t = json_string_value(json_object_get(j, "type"));
        if (t && json_integer_value(json_object_get(j, "session")) == 1 &&
            (!strcmp(t, "decision") || !strcmp(t, "order_update") || !strcmp(t, "notice"))) {
            static const char *const drop[] = {"seq", "recv_ns", "venue", "expires_ns"};
            for (int k = 0; k < 4; k++)
                json_object_del(j, drop[k]);
            if (*n == cap) {
                cap = cap ? cap * 2 : 4096;
                out = realloc(out, (size_t)cap * sizeof *out);
                assert_non_null(out);
            }
            out[(*n)++] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        }
        json_decref(j);
    }
    fclose(f);
    return out;
}

static void free_stream(char **s, int n)
{
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* `nexus run` on the same candles served by its loopback replay (the
 * main job's way: the WebSocket and REST wire format, the feed, its
 * backfill of the data's four holes), with --events, into out. */
static void live_config_with(char *rcfg, size_t cap, const char *more)
{
    char text[2560];
    snprintf(rcfg, cap, "%s/run.json", dir);
    size_t n;
    char *base = slurp(cfg, &n);
    /* the backtest's config with a feed that replays the file */
    char *at = strstr(base, "\"cortex\"");
    assert_non_null(at);
    snprintf(text, sizeof text,
             "%.*s\"data_dir\": \"%s/data\",\n"
             "  \"feeds\": [ { \"venue\": \"binance-usdm\", \"ws_url\": \"wss://fstream.binance.com\",\n"
             "    \"rest_url\": \"https://fapi.binance.com\", \"streams\": [\"trades\", \"klines\"],\n"
             "    \"kline_interval\": \"15m\", \"stale_s\": 0, \"replay\": \"%s\" } ],\n  %s%s",
             (int)(at - base), base, dir, csv, more, at);
    free(base);
    write_file(rcfg, text);
}

static void live_config(char *rcfg, size_t cap)
{
    live_config_with(rcfg, cap, "");
}

/* `nexus run --config rcfg --events` to its end, its output into out. */
static void run_config(const char *rcfg, const char *out)
{
    char *argv[] = {(char *)nexus_bin, "run", "--config", (char *)rcfg, "--events", NULL};
    proc_t *P = calloc(1, sizeof *P);
    assert_non_null(P);
    spawn(P, argv);
    FILE *o = fopen(out, "w");
    assert_non_null(o);
    /* the events are more than a pipe holds: read them as they come */
    char buf[65536];
    ssize_t k;
    struct pollfd fds[2];
    int open_fds = 2;
    while (open_fds) {
        fds[0] = (struct pollfd){P->out, POLLIN, 0};
        fds[1] = (struct pollfd){P->err, POLLIN, 0};
        if (poll(fds, 2, 60000) <= 0)
            fail_msg("nexus run said nothing for a minute");
        for (int i = 0; i < 2; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP)))
                continue;
            int fd = i ? P->err : P->out;
            if (fd < 0)
                continue;
            k = read(fd, buf, sizeof buf);
            if (k <= 0) {
                close(fd);
                *(i ? &P->err : &P->out) = -1;
                open_fds--;
            } else if (!i) {
                fwrite(buf, 1, (size_t)k, o);
            }
        }
    }
    fclose(o);
    int st;
    waitpid(P->pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    free(P);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/data'", dir); /* the next run starts empty too */
    assert_int_equal(system(cmd), 0);
}

static void run_live_with(const char *out, const char *more)
{
    char rcfg[400];
    live_config_with(rcfg, sizeof rcfg, more);
    run_config(rcfg, out);
}

static void run_live(const char *out)
{
    run_live_with(out, "");
}

/* The backtest's orders are the live replay's, decision for decision and
 * fill for fill; and the live replay (the main job's path) gives the same
 * every run. */
static void test_backtest_equals_the_live_replay(void **state)
{
    (void)state;
    char o[400], r1[400], r2[400];
    snprintf(o, sizeof o, "%s/orders.jsonl", dir);
    snprintf(r1, sizeof r1, "%s/run1.jsonl", dir);
    snprintf(r2, sizeof r2, "%s/run2.jsonl", dir);
    proc_t P;
    assert_int_equal(backtest(&P, "--orders", o, csv, NULL, NULL, NULL, NULL), 0);
    run_live(r1);
    run_live(r2);
    int nb, n1, n2;
    char **b = stream_of(o, &nb), **l1 = stream_of(r1, &n1), **l2 = stream_of(r2, &n2);
    assert_true(nb > (getenv("NX_BT_CANDLES") ? 100 : 1000));
    for (int i = 0; i < nb && i < n1; i++)
        if (strcmp(b[i], l1[i]))
            fail_msg("entry %d differs:\nbacktest %s\nlive     %s", i, b[i], l1[i]);
    assert_int_equal(nb, n1);
    for (int i = 0; i < n1 && i < n2; i++)
        if (strcmp(l1[i], l2[i]))
            fail_msg("two live replays differ at entry %d:\n%s\n%s", i, l1[i], l2[i]);
    assert_int_equal(n1, n2);
    print_message("%d decisions, orders, fills and closed trades: the backtest's are the live "
                  "replay's, twice\n",
                  nb);
    free_stream(b, nb);
    free_stream(l1, n1);
    free_stream(l2, n2);
}

/* A real Bybit recording (linear, 2026-08-09: trades, tickers, 1m klines
 * and 200-level books of BTC, ETH, SOL and DOGE on one connection, as it
 * came): the backtest takes its four symbols merged as they arrived, and
 * its orders are those of `nexus run` fed the same file by the loopback
 * replay. The ticker fixture buys on every trade, so each symbol's first
 * trade in the file (found here, with jansson) is a decision at that
 * trade's time, and its fill lies within the prices the file shows for
 * that symbol (none from another symbol's book). */
static void test_bybit_recording_several_symbols(void **state)
{
    (void)state;
    static const char *const syms[4] = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT"};
    char rec[512], plug[400], bcfg[400], rcfg[400], o[400], r1[400], cmd[1400];
    snprintf(rec, sizeof rec, "%s/tests/data/ws/bybit_v5_linear_public_20260809_first400.jsonl",
             getenv("NX_SOURCE_DIR") ? getenv("NX_SOURCE_DIR") : NX_SOURCE_DIR_DEFAULT);
    snprintf(plug, sizeof plug, "%s/plugins", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s/ticker.so' '%s/sentinel.so' '%s/'", plug,
             NX_TEST_PLUGIN_DIR, NX_PLUGIN_DIR, plug);
    assert_int_equal(system(cmd), 0);
    /* the first trade time and the price range of each symbol, from the file */
    int64_t first_ms[4] = {0};
    double lo[4], hi[4];
    for (int k = 0; k < 4; k++)
        lo[k] = 1e300, hi[k] = 0;
    FILE *f = fopen(rec, "r");
    assert_non_null(f);
    static char line[65536];
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        const char *topic = json_string_value(json_object_get(j, "topic"));
        for (int k = 0; topic && k < 4; k++) {
            const char *dot = strrchr(topic, '.');
            if (!dot || strcmp(dot + 1, syms[k]))
                continue;
            json_t *d = json_object_get(j, "data");
            const char *px[3] = {0};
            if (!strncmp(topic, "publicTrade.", 12)) {
                json_t *t = json_array_get(d, 0);
                px[0] = json_string_value(json_object_get(t, "p"));
                if (!first_ms[k])
                    first_ms[k] = json_integer_value(json_object_get(t, "T"));
            } else if (!strncmp(topic, "tickers.", 8)) {
                px[0] = json_string_value(json_object_get(d, "lastPrice"));
                px[1] = json_string_value(json_object_get(d, "bid1Price"));
                px[2] = json_string_value(json_object_get(d, "ask1Price"));
            }
            for (int q = 0; q < 3; q++)
                if (px[q]) {
                    double v = atof(px[q]);
                    lo[k] = v < lo[k] ? v : lo[k];
                    hi[k] = v > hi[k] ? v : hi[k];
                }
        }
        json_decref(j);
    }
    fclose(f);
    /* the backtest's config, and the same with a feed replaying the file */
    const char *body =
        "  \"symbols\": [\n"
        "    { \"venue\": \"bybit-linear\", \"symbol\": \"BTCUSDT\", \"tick_size\": \"0.10\", "
        "\"lot_size\": \"0.001\" },\n"
        "    { \"venue\": \"bybit-linear\", \"symbol\": \"ETHUSDT\", \"tick_size\": \"0.01\", "
        "\"lot_size\": \"0.01\" },\n"
        "    { \"venue\": \"bybit-linear\", \"symbol\": \"SOLUSDT\", \"tick_size\": \"0.010\", "
        "\"lot_size\": \"0.1\" },\n"
        "    { \"venue\": \"bybit-linear\", \"symbol\": \"DOGEUSDT\", \"tick_size\": \"0.00001\", "
        "\"lot_size\": \"1\" } ],\n"
        "  \"cortex\": { \"timeframes\": [\"1m\"], \"allow_unsigned\": true, \"plugin_dir\": "
        "\"%s\",\n"
        "    \"strategies\": [ { \"plugin\": \"ticker\", \"timeframes\": [\"1m\"] } ] },\n"
        "  \"users\": [ { \"id\": 1, \"chat_id\": 1001, \"name\": \"owner\", \"role\": \"owner\" } "
        "],\n"
        "  \"trading\": { \"slippage_bp\": 2, \"taker_fee_bp\": 5, \"maker_fee_bp\": 2,\n"
        "    \"sessions\": [ { \"name\": \"owner\", \"user\": 1, \"mode\": \"pilot\", \"equity\": "
        "\"10000\",\n"
        "      \"venue\": \"bybit-linear\", \"leverage\": 2 } ] } }\n";
    char text[4096], part[2048];
    snprintf(part, sizeof part, body, plug);
    snprintf(bcfg, sizeof bcfg, "%s/bybit.json", dir);
    snprintf(text, sizeof text, "{ \"log\": { \"level\": \"warn\" },\n%s", part);
    write_file(bcfg, text);
    snprintf(rcfg, sizeof rcfg, "%s/bybit_run.json", dir);
    snprintf(text, sizeof text,
             "{ \"log\": { \"level\": \"warn\" }, \"data_dir\": \"%s/data\",\n"
             "  \"feeds\": [ { \"venue\": \"bybit-linear\", \"ws_url\": "
             "\"wss://stream.bybit.com/v5/public/linear\",\n"
             "    \"rest_url\": \"https://api.bybit.com\", \"streams\": [\"trades\", \"bbo\", "
             "\"klines\", \"book\", \"mark\"],\n"
             "    \"kline_interval\": \"1\", \"book_depth\": 200, \"stale_s\": 0, \"replay\": "
             "\"%s\" } ],\n%s",
             dir, rec, part);
    write_file(rcfg, text);
    snprintf(o, sizeof o, "%s/bybit_orders.jsonl", dir);
    snprintf(r1, sizeof r1, "%s/bybit_run.jsonl", dir);
    char *argv[] = {(char *)nexus_bin, "backtest", "--config", bcfg, "--orders", o, rec, NULL};
    proc_t P;
    spawn(&P, argv);
    int rc = finish(&P);
    if (rc)
        fprintf(stderr, "%s\n", P.ebuf);
    assert_int_equal(rc, 0);
    assert_null(strstr(P.ebuf, "error"));
    /* each symbol: a decision at its first trade, a fill within its prices */
    int nb;
    char **b = stream_of(o, &nb);
    for (int k = 0; k < 4; k++) {
        int decided = 0, filled = 0;
        for (int i = 0; i < nb; i++) {
            json_t *j = json_loads(b[i], 0, NULL);
            const char *t = json_string_value(json_object_get(j, "type"));
            if (strcmp(json_string_value(json_object_get(j, "symbol")), syms[k])) {
                json_decref(j);
                continue;
            }
            if (!strcmp(t, "decision") && !decided) {
                decided = 1;
                assert_int_equal(json_integer_value(json_object_get(j, "exch_ns")),
                                 first_ms[k] * 1000000);
                assert_string_equal(json_string_value(json_object_get(j, "verdict")), "approve");
            }
            const char *fp = json_string_value(json_object_get(j, "fill_px"));
            if (fp) {
                filled++;
                double v = atof(fp); /* slippage 2 bp, a tick of rounding: within 0.1% */
                if (v < lo[k] * 0.999 || v > hi[k] * 1.001)
                    fail_msg("%s filled at %s, outside %g..%g, the prices of its data", syms[k], fp,
                             lo[k], hi[k]);
            }
            json_decref(j);
        }
        assert_true(decided);
        assert_true(filled >= 1);
    }
    /* the same orders through the loopback replay and the live path */
    run_config(rcfg, r1);
    int n1;
    char **l1 = stream_of(r1, &n1);
    for (int i = 0; i < nb && i < n1; i++)
        if (strcmp(b[i], l1[i]))
            fail_msg("entry %d differs:\nbacktest %s\nlive     %s", i, b[i], l1[i]);
    assert_int_equal(nb, n1);
    print_message("Bybit, 4 symbols from one recording: %d decisions, orders and fills, the "
                  "live replay's\n",
                  nb);
    free_stream(b, nb);
    free_stream(l1, n1);
}

/* `nexus record` through the loopback replay (the feed, its backfill),
 * then `nexus backtest` of the event file: the same orders, byte for
 * byte, as the backtest of the CSV; an event file of another version, or
 * cut inside an event, is refused with its reason. */
static void test_record_then_backtest(void **state)
{
    (void)state;
    char rcfg[400], ev[400], o1[400], o2[400];
    live_config(rcfg, sizeof rcfg);
    snprintf(ev, sizeof ev, "%s/market.nxev", dir);
    snprintf(o1, sizeof o1, "%s/orders_csv.jsonl", dir);
    snprintf(o2, sizeof o2, "%s/orders_ev.jsonl", dir);
    static proc_t P;
    char *argv[] = {(char *)nexus_bin, "record", "--config", rcfg, "--out", ev, NULL};
    spawn(&P, argv);
    assert_int_equal(finish(&P), 0);
    assert_null(strstr(P.ebuf, "left out")); /* (warnings: the config logs no info) */
    assert_null(strstr(P.ebuf, "not complete"));
    assert_int_equal(backtest(&P, "--orders", o1, csv, NULL, NULL, NULL, NULL), 0);
    assert_int_equal(backtest(&P, "--orders", o2, ev, NULL, NULL, NULL, NULL), 0);
    size_t n1, n2;
    char *a = slurp(o1, &n1), *b = slurp(o2, &n2);
    assert_true(n1 > 1000);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, n1);
    free(a);
    free(b);
    /* another version: byte 8 is the version */
    char bad[400], cmd[1400];
    snprintf(bad, sizeof bad, "%s/v2.nxev", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && printf '\\002' | dd of='%s' bs=1 seek=8 conv=notrunc 2>/dev/null",
             ev, bad, bad);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(backtest(&P, bad, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(P.ebuf, "an event file of version 2; this nexus reads version 1"));
    /* cut inside an event */
    snprintf(cmd, sizeof cmd, "head -c 100000 '%s' > '%s'", ev, bad);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(backtest(&P, bad, NULL, NULL, NULL, NULL, NULL, NULL), 2);
    assert_non_null(strstr(P.ebuf, "it ends inside an event at byte "));
    /* the look-ahead check cuts event files too (into event files) */
    char *argv2[] = {(char *)nexus_bin, "backtest", "--config", cfg, "--check-lookahead",
                     "--cuts", "4", ev, NULL};
    spawn(&P, argv2);
    int rc = finish(&P);
    if (rc)
        fprintf(stderr, "%s\n%s\n", P.obuf, P.ebuf);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(P.obuf, "look-ahead check: every strategy passes"));
    assert_non_null(strstr(P.obuf, "  trend            passes: "));
}

/* The flight recorder: `nexus run` keeps its market input, and the
 * backtest of what it kept reaches the run's very decisions, orders and
 * fills; with small files it keeps only the newest, each complete. */
static void test_flight_recorder(void **state)
{
    (void)state;
    char more[600], live[400], o[400], rec[400];
    snprintf(rec, sizeof rec, "%s/rec", dir);
    snprintf(more, sizeof more, "\"recorder\": { \"dir\": \"%s\", \"max_mb\": 64, \"files\": 2 },\n  ",
             rec);
    snprintf(live, sizeof live, "%s/live.jsonl", dir);
    snprintf(o, sizeof o, "%s/orders.jsonl", dir);
    run_live_with(live, more);
    DIR *d = opendir(rec);
    assert_non_null(d);
    struct dirent *de;
    char file[800] = "";
    int n = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".nxev"))
            snprintf(file, sizeof file, "%s/%s", rec, de->d_name), n++;
    closedir(d);
    assert_int_equal(n, 1); /* 3.7 MB: one file of 32 */
    static proc_t P;
    assert_int_equal(backtest(&P, "--orders", o, file, NULL, NULL, NULL, NULL), 0);
    assert_null(strstr(P.ebuf, "no end mark"));
    int nb, nl;
    char **b = stream_of(o, &nb), **l = stream_of(live, &nl);
    assert_true(nb > (getenv("NX_BT_CANDLES") ? 100 : 1000));
    for (int i = 0; i < nb && i < nl; i++)
        if (strcmp(b[i], l[i]))
            fail_msg("entry %d differs:\nbacktest of the recording %s\nthe run               %s",
                     i, b[i], l[i]);
    assert_int_equal(nb, nl);
    free_stream(b, nb);
    free_stream(l, nl);
    /* 1 MB in 3 files, and two runs into the same folder (the second
     * numbering on from the first; more than 1 MB in all even on the
     * sanitizers' shorter data): the newest three are kept, in a row, the
     * first gone, each whole and none over a third of a megabyte (and its
     * last event) */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", rec);
    assert_int_equal(system(cmd), 0);
    snprintf(more, sizeof more, "\"recorder\": { \"dir\": \"%s\", \"max_mb\": 1, \"files\": 3 },\n  ",
             rec);
    run_live_with(live, more);
    run_live_with(live, more);
    d = opendir(rec);
    assert_non_null(d);
    char *names[16];
    n = 0;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".nxev") && n < 16)
            names[n++] = strdup(de->d_name);
    closedir(d);
    assert_int_equal(n, 3);
    unsigned seqs[3], lo = UINT32_MAX, hi = 0;
    for (int i = 0; i < n; i++) {
        assert_int_equal(sscanf(names[i], "market-%6u-", &seqs[i]), 1);
        lo = seqs[i] < lo ? seqs[i] : lo;
        hi = seqs[i] > hi ? seqs[i] : hi;
    }
    assert_int_equal(hi - lo, 2); /* three in a row */
    assert_true(lo >= 1);         /* the first is gone */
    for (int i = 0; i < n; i++) {
        snprintf(file, sizeof file, "%s/%s", rec, names[i]);
        struct stat st;
        assert_int_equal(stat(file, &st), 0);
        assert_true(st.st_size <= 1048576 / 3 + 200);
        /* each closed, the last at the run's end: each has its end mark */
        assert_int_equal(backtest(&P, file, NULL, NULL, NULL, NULL, NULL, NULL), 0);
        assert_null(strstr(P.ebuf, "no end mark"));
        free(names[i]);
    }
}

/* The rows of a sweep's table (its header says how many workers ran). */
static const char *rows_of(const char *out)
{
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    return nl + 1;
}

/* A sweep gives the same table on one worker and on two, sorted by its
 * statistic; the config's own value gives the plain run's figures; a
 * walk-forward shows only its out-of-sample runs. */
static void test_sweeps(void **state)
{
    (void)state;
    static proc_t P1, P2, P0;
    assert_int_equal(backtest(&P1, "--sweep", "trail_bp=100:200:50", "--workers", "1", csv, NULL,
                              NULL),
                     0);
    assert_int_equal(backtest(&P2, "--sweep", "trail_bp=100:200:50", "--workers", "2", csv, NULL,
                              NULL),
                     0);
    assert_non_null(strstr(P1.obuf, "sweep: 3 runs of session 1 on 1 worker, sorted by sharpe"));
    assert_non_null(strstr(P2.obuf, "sweep: 3 runs of session 1 on 2 workers, sorted by sharpe"));
    assert_string_equal(rows_of(P1.obuf), rows_of(P2.obuf));
    /* sorted: each row's sharpe no higher than the one above */
    double prev = 1e9;
    int rows = 0;
    for (const char *r = strstr(P1.obuf, "sharpe "); r; r = strstr(r + 1, "sharpe ")) {
        if (r < rows_of(P1.obuf))
            continue;
        double v = atof(r + 7);
        assert_true(v <= prev);
        prev = v;
        rows++;
    }
    assert_int_equal(rows, 3);
    /* trail_bp 150 is the config's: its return is the plain run's */
    assert_int_equal(backtest(&P0, csv, NULL, NULL, NULL, NULL, NULL, NULL), 0);
    const char *ret = strstr(P0.obuf, "return ");
    const char *row = strstr(P1.obuf, "trail_bp=150");
    assert_non_null(ret);
    assert_non_null(row);
    char want[32];
    snprintf(want, sizeof want, "%.2f%%", atof(ret + 7));
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)(strchr(row, '\n') - row), row);
    if (!strstr(line, want))
        fail_msg("the sweep's row \"%s\" is not the plain run's return %s", line, want);
    /* a strategy's parameter: trend's ema_fast (20 by default, which the
     * config leaves as it is) */
    assert_int_equal(backtest(&P2, "--sweep", "trend.ema_fast=10:30:10", "--workers", "2", csv,
                              NULL, NULL),
                     0);
    assert_non_null(strstr(P2.ebuf, "note: ema_fast is not in strategy trend's params"));
    row = strstr(P2.obuf, "trend.ema_fast=20 ");
    assert_non_null(row);
    snprintf(line, sizeof line, "%.*s", (int)(strchr(row, '\n') - row), row);
    if (!strstr(line, want))
        fail_msg("the sweep's row \"%s\" is not the plain run's return %s", line, want);
    assert_non_null(strstr(P2.obuf, "trend.ema_fast=10 "));
    assert_non_null(strstr(P2.obuf, "trend.ema_fast=30 "));
    assert_int_equal(backtest(&P1, "--sweep", "breakout.window=1:2:1", csv, NULL, NULL, NULL, NULL),
                     64);
    assert_non_null(strstr(P1.ebuf, "the config has no strategy named breakout"));
    /* walk-forward: three windows, two out-of-sample rows, compounded */
    assert_int_equal(backtest(&P1, "--sweep", "trail_bp=100:200:100", "--walk-forward", "2", csv,
                              NULL, NULL),
                     0);
    assert_non_null(strstr(P1.obuf, "walk-forward: 3 windows of "));
    int oos = 0;
    for (const char *r = strstr(P1.obuf, "  20"); r; r = strstr(r + 1, "\n  20"))
        oos++;
    assert_int_equal(oos, 2);
    assert_non_null(strstr(P1.obuf, "out of sample, compounded: "));
    /* what is refused */
    assert_int_equal(backtest(&P1, "--sweep", "colour=1:3:1", csv, NULL, NULL, NULL, NULL), 64);
    assert_non_null(strstr(P1.ebuf, "--sweep colour=1: not a setting of session owner"));
    assert_int_equal(backtest(&P1, "--sweep", "trail_bp=300:100:1", csv, NULL, NULL, NULL, NULL),
                     64);
    assert_non_null(strstr(P1.ebuf, "want KEY=FROM:TO:STEP"));
    assert_int_equal(backtest(&P1, "--walk-forward", "2", csv, NULL, NULL, NULL, NULL), 64);
    assert_non_null(strstr(P1.ebuf, "--walk-forward optimises a --sweep"));
}

/* The look-ahead check: the five built-in strategies pass it; a plugin
 * that reads the next candle from the data file (tests/cortex/plugins/
 * peek.c) is caught, with the time of a signal it could not have made. */
static void test_lookahead_check(void **state)
{
    (void)state;
    char cfg2[320], text[2048];
    snprintf(cfg2, sizeof cfg2, "%s/la.json", dir);
    const char *head =
        "{ \"log\": { \"level\": \"warn\" },\n"
        "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
        "                   \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\" } ],\n"
        "  \"cortex\": { \"timeframes\": [\"15m\", \"1h\", \"4h\"], \"allow_unsigned\": true,\n"
        "    \"plugin_dir\": \"%s\",\n"
        "    \"strategies\": [ %s ] },\n"
        "  \"users\": [ { \"id\": 1, \"chat_id\": 1001, \"name\": \"owner\", \"role\": \"owner\" } ],\n"
        "  \"trading\": { \"sessions\": [ { \"name\": \"owner\", \"user\": 1, \"mode\": \"pilot\",\n"
        "      \"equity\": \"10000\", \"symbols\": [\"BTCUSDT\"] } ] } }\n";
    snprintf(text, sizeof text, head, NX_PLUGIN_DIR,
             "{ \"plugin\": \"trend\", \"timeframes\": [\"15m\", \"4h\"] },"
             "{ \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] },"
             "{ \"plugin\": \"mean_reversion\", \"timeframes\": [\"15m\"] },"
             "{ \"plugin\": \"grid\", \"timeframes\": [\"15m\"] },"
             "{ \"plugin\": \"sentinel\", \"timeframes\": [\"15m\"] }");
    write_file(cfg2, text);
    static proc_t P;
    char *argv[] = {(char *)nexus_bin, "backtest", "--config", cfg2, "--check-lookahead",
                    "--cuts", "6", csv, NULL};
    spawn(&P, argv);
    int rc = finish(&P);
    if (rc)
        fprintf(stderr, "%s\n%s\n", P.obuf, P.ebuf);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(P.obuf, "look-ahead check: 6 cuts between "));
    assert_non_null(strstr(P.obuf, "look-ahead check: every strategy passes"));
    assert_null(strstr(P.obuf, "LOOKS AHEAD"));
    /* the built-ins that signal on this data are each named as passing,
     * having had signals to compare */
    for (const char *name = "trend\0scalping\0grid\0"; *name; name += strlen(name) + 1) {
        char want[64];
        snprintf(want, sizeof want, "  %-16s passes: its signals up to each cut (", name);
        const char *at = strstr(P.obuf, want);
        assert_non_null(at);
        assert_true(atol(at + strlen(want)) > 0);
    }

    /* trend and the peeking fixture, side by side in one plugin directory */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s/trend.so' '%s/trend.so'", NX_PLUGIN_DIR, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(text, sizeof text, head, dir,
             "{ \"plugin\": \"trend\", \"timeframes\": [\"15m\", \"4h\"] },"
             "{ \"plugin\": \"peek\", \"timeframes\": [\"15m\"] }");
    write_file(cfg2, text);
    snprintf(cmd, sizeof cmd, "cp '%s/peek.so' '%s/peek.so'", NX_TEST_PLUGIN_DIR, dir);
    assert_int_equal(system(cmd), 0);
    spawn(&P, argv);
    rc = finish(&P);
    if (rc != 1)
        fprintf(stderr, "%s\n%s\n", P.obuf, P.ebuf);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(P.obuf, "look-ahead check: FAILED"));
    const char *bad = strstr(P.obuf, "  peek             LOOKS AHEAD: its signals change at ");
    assert_non_null(bad);
    /* it peeks at every candle, so at every cut */
    assert_non_null(strstr(bad, "at 6 of 6 cuts"));
    assert_non_null(strstr(bad, "is there only with the data after "));
    assert_non_null(strstr(P.obuf, "  trend            passes: "));
    /* the check refuses what it cannot honour */
    char *argv2[] = {(char *)nexus_bin, "backtest", "--config", cfg2, "--check-lookahead",
                     "--orders", "x.jsonl", csv, NULL};
    spawn(&P, argv2);
    assert_int_equal(finish(&P), 64);
    assert_non_null(strstr(P.ebuf, "--check-lookahead runs the backtest many times"));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_backtest NEXUS_BINARY\n");
        return 2;
    }
    nexus_bin = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_answer_every_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statistics_recomputed_from_the_fills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_funding_from_mark_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_from_and_to, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backtest_equals_the_live_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bybit_recording_several_symbols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweeps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookahead_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_then_backtest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flight_recorder, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
