/*
 * test_ops — the operations surface of a running engine (issue 20), on the
 * main job's market (the bundled BTCUSDT 15m candles served on loopback in
 * Binance USD-M's wire format, paper trading):
 *  - /metrics in Prometheus's text format: the series an operator needs,
 *    with values that move as the engine works, accepted by Debian's
 *    `promtool check metrics`, and no name of a person in them;
 *  - a real Prometheus server (Debian's `prometheus`) scrapes it and a
 *    PromQL query returns the engine's series;
 *  - /health: 200 and ready while the feed flows, 503 once the replay
 *    stalls the stream past web.health_stale_s, 200 again when it flows;
 *    other paths 404, other methods 405;
 *  - systemd: with NOTIFY_SOCKET and WATCHDOG_USEC set (as systemd sets
 *    them for Type=notify, WatchdogSec=), READY=1 comes, then WATCHDOG=1
 *    pings; a strategy that blocks the engine thread (the stall test
 *    plugin) stops the pings for as long as it blocks; they come back
 *    after; SIGTERM sends STOPPING=1;
 *  - signing in: a one-time link from the console's /dashboard becomes an
 *    HttpOnly, SameSite=Strict session cookie; reused or expired links are
 *    refused; signing out needs the session's CSRF token;
 *  - the deploy files: the compose file's Nexus config passes check-config
 *    and its Prometheus config promtool (no container engine here to run
 *    docker compose itself).
 *
 * argv[1] = the nexus binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "proc.h"
#include "../http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static const char *nexus_bin;
static char dir[256], cfg[300];
static proc_t P;
static int web_port, replay_port;
static int link_ttl_s = 600; /* web.link_ttl_s of the next config */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *src_dir(void)
{
    return getenv("NX_SOURCE_DIR") ? getenv("NX_SOURCE_DIR") : NX_SOURCE_DIR_DEFAULT;
}

/* The main job's config, its paths absolute, with the web server on any
 * free port and a feed called stale after `stale_s`; `stall` adds the
 * stall test plugin beside scalping. */
static const char *web_extra = ""; /* more keys of "web" (", \"k\": v") */

static void write_config(int stale_s, int stall)
{
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "{ \"log\": { \"level\": \"info\" }, \"data_dir\": \"%s/data\",\n"
            "  \"engine\": { \"clock\": \"live\" },\n"
            "  \"web\": { \"listen\": \"127.0.0.1:0\", \"health_stale_s\": %d, \"link_ttl_s\": "
            "%d%s },\n"
            "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
            "                   \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\" } ],\n"
            "  \"feeds\": [ { \"venue\": \"binance-usdm\", \"streams\": [\"trades\", \"klines\"],\n"
            "      \"ws_url\": \"wss://fstream.binance.com\", \"rest_url\": "
            "\"https://fapi.binance.com\",\n"
            "      \"kline_interval\": \"15m\", \"stale_s\": 0, \"replay_speed\": 40000,\n"
            "      \"replay\": \"%s/tests/data/candles/"
            "binance_spot_BTCUSDT_15m_20210112_20210605.csv\" } ],\n"
            "  \"cortex\": { \"timeframes\": [\"15m\"], \"allow_unsigned\": true,\n"
            "    \"plugin_dir\": \"%s\",\n"
            "    \"strategies\": [ { \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] }%s ] },\n"
            "  \"users\": [ { \"id\": 1, \"chat_id\": 4242, \"name\": \"zelda-ops\", \"role\": "
            "\"owner\" } ],\n"
            "  \"trading\": { \"sessions\": [ { \"name\": \"zelda-session\", \"user\": 1,\n"
            "      \"mode\": \"pilot\", \"equity\": \"10000\", \"cooldown_s\": 0 } ] } }\n",
            dir, stale_s, link_ttl_s, web_extra, src_dir(), dir,
            stall ? ", { \"plugin\": \"stall\", \"timeframes\": [\"15m\"] }" : "");
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s/scalping.so' '%s/stall.so' '%s/'", NX_PLUGIN_DIR,
             NX_TEST_PLUGIN_DIR, dir);
    assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nx-ops-XXXXXX");
    assert_non_null(mkdtemp(dir));
    memset(&P, 0, sizeof P);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (P.pid > 0) {
        kill(P.pid, SIGKILL);
        waitpid(P.pid, NULL, 0);
        P.pid = 0;
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* nexus run on the config, extra environment in env (NULL-ended NAME=VALUE
 * pairs); waits for the web server's port and the replay's. */
static int console_in = -1; /* the console's standard input (start_console) */

static void start_with(char *const env[], int console)
{
    char *argv[] = {(char *)nexus_bin, "run", "--config", cfg, console ? "--console" : NULL,
                    NULL};
    for (int i = 0; env && env[i]; i++)
        putenv(env[i]);
    int in[2] = {-1, -1}, saved = -1;
    if (console) { /* the owner's terminal: a pipe on its standard input */
        assert_int_equal(pipe(in), 0);
        saved = dup(0);
        dup2(in[0], 0);
    }
    spawn(&P, argv);
    if (console) {
        dup2(saved, 0);
        close(saved);
        close(in[0]);
        console_in = in[1];
    }
    for (int i = 0; env && env[i]; i++) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(env[i], "="), env[i]);
        unsetenv(name);
    }
    if (!pump(&P, "serving /metrics and /health on http", 20000))
        fail_msg("no web server; nexus said:\n%s", P.ebuf);
    const char *w = strstr(P.ebuf, "serving /metrics and /health on http");
    pump(&P, "127.0.0.1:", 5000); /* (the rest of the line) */
    w = strstr(w, "://127.0.0.1:");
    assert_non_null(w);
    web_port = atoi(w + strlen("://127.0.0.1:"));
    const char *r = strstr(P.ebuf, " served on 127.0.0.1:");
    assert_non_null(r);
    replay_port = atoi(r + strlen(" served on 127.0.0.1:"));
    assert_true(web_port > 0 && replay_port > 0);
}

static void start(char *const env[])
{
    start_with(env, 0);
}

/* The value of one series (its full name with labels as written), -1 if absent. */
static double series(const char *text, const char *name)
{
    size_t nl = strlen(name);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, name, nl) && l[nl] == ' ')
            return strtod(l + nl + 1, NULL);
    return -1;
}

static double metric(const char *name)
{
    char *b = NULL;
    int st = http(web_port, "GET", "/metrics", &b);
    assert_int_equal(st, 200);
    double v = series(b, name);
    free(b);
    return v;
}

/* Wait until the series reaches at least `min` (the event, not a time). */
static void wait_metric(const char *name, double min, int timeout_ms)
{
    int64_t t0 = now_ms();
    double v = -1;
    while ((v = metric(name)) < min && now_ms() - t0 < timeout_ms)
        pump(&P, "(never)", 100);
    if (v < min)
        fail_msg("%s is %g after %d ms, want at least %g", name, v, timeout_ms, min);
}

static int health(char **body)
{
    return http(web_port, "GET", "/health", body);
}

/* Wait until /health answers `want` (timeout_ms at most): the status it
 * last gave, its body (parsed; the caller frees it) in *h when given. */
static int wait_health(int want, int timeout_ms, json_t **h)
{
    int64_t t0 = now_ms();
    char *b = NULL;
    int st;
    while ((st = health(&b)) != want && now_ms() - t0 < timeout_ms) {
        free(b);
        b = NULL;
        pump(&P, "(never)", 100);
    }
    if (h) {
        *h = json_loads(b ? b : "", 0, NULL);
        assert_non_null(*h);
    }
    free(b);
    return st;
}

static void stop_engine(void)
{
    kill(P.pid, SIGTERM);
    assert_int_equal(finish(&P), 0);
    P.pid = 0;
}

static void test_metrics_on_the_main_job(void **state)
{
    (void)state;
    write_config(60, 0);
    start(NULL);
    /* ready once the feed flows */
    json_t *h = NULL;
    assert_int_equal(wait_health(200, 20000, &h), 200);
    assert_string_equal(json_string_value(json_object_get(h, "status")), "ready");
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(h, "feeds"), 0),
                                             "connected")));
    json_decref(h);
    /* the engine trades: events, orders and tick-to-order move */
    wait_metric("nexus_feed_events_total{venue=\"binance-usdm\",feed=\"0\"}", 1000, 30000);
    wait_metric("nexus_orders_total{kind=\"new\"}", 1, 60000);
    wait_metric("nexus_tick_to_order_seconds_count", 1, 10000);
    wait_metric("nexus_fills_total", 1, 10000);
    char *m = NULL;
    assert_int_equal(http(web_port, "GET", "/metrics", &m), 200);
    assert_true(series(m, "nexus_feed_connected{venue=\"binance-usdm\",feed=\"0\"}") == 1);
    assert_true(series(m, "nexus_engine_events_total") > 1000);
    assert_true(series(m, "nexus_signals_total{strategy=\"scalping\"}") >= 1);
    assert_true(series(m, "nexus_sessions{mode=\"pilot\"}") == 1);
    assert_true(series(m, "nexus_storage_state{state=\"storing\"}") == 1);
    assert_true(series(m, "nexus_ring_overruns_total{ring=\"market\"}") == 0);
    assert_true(series(m, "nexus_engine_heartbeat_age_seconds") < 5);
    /* the histogram's buckets are cumulative and end at the count */
    double cnt = series(m, "nexus_tick_to_order_seconds_count");
    assert_true(series(m, "nexus_tick_to_order_seconds_bucket{le=\"+Inf\"}") == cnt);
    assert_true(series(m, "nexus_tick_to_order_seconds_bucket{le=\"0.001\"}") <= cnt);
    /* no person in it: not the user's name, the session's, nor the chat id */
    assert_null(strstr(m, "zelda"));
    assert_null(strstr(m, "4242"));
    /* Prometheus's own checker accepts it (Debian's prometheus package) */
    char path[300], cmd[1024];
    snprintf(path, sizeof path, "%s/metrics.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(m, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "promtool check metrics < '%s' > '%s.check' 2>&1", path, path);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "cat '%s.check'", path);
        (void)system(cmd);
        fail_msg("promtool check metrics refused the scrape");
    }
    free(m);
    /* what is not served */
    assert_int_equal(http(web_port, "GET", "/nothing-here", NULL), 404);
    assert_int_equal(http(web_port, "POST", "/metrics", NULL), 405);
    stop_engine();
}

/* The value of the first series a PromQL query (URL-encoded) returns from
 * Prometheus's HTTP API on port; -1 if none (yet). */
static double promql(int port, const char *query)
{
    char path[512], *b = NULL;
    snprintf(path, sizeof path, "/api/v1/query?query=%s", query);
    double v = -1;
    if (http(port, "GET", path, &b) == 200) {
        json_t *j = json_loads(b, 0, NULL);
        json_t *r = json_object_get(json_object_get(j, "data"), "result");
        const char *s = json_string_value(json_array_get(
            json_object_get(json_array_get(r, 0), "value"), 1));
        if (s)
            v = atof(s);
        json_decref(j);
    }
    free(b);
    return v;
}

/* A real Prometheus server scrapes the engine every second; a PromQL query
 * over its HTTP API returns the engine's series with a value. */
static void test_prometheus_scrapes_it(void **state)
{
    (void)state;
    write_config(60, 0);
    start(NULL);
    wait_metric("nexus_feed_events_total{venue=\"binance-usdm\",feed=\"0\"}", 1, 20000);
    /* a free port for Prometheus's own web API */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    int prom_port = ntohs(a.sin_port);
    close(s);
    char yml[400], data[400];
    snprintf(yml, sizeof yml, "%s/prometheus.yml", dir);
    snprintf(data, sizeof data, "%s/prom-data", dir);
    FILE *f = fopen(yml, "w");
    assert_non_null(f);
    fprintf(f,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: nexus\n    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            web_port);
    fclose(f);
    char listen[64];
    snprintf(listen, sizeof listen, "--web.listen-address=127.0.0.1:%d", prom_port);
    char cfgarg[450], dataarg[450];
    snprintf(cfgarg, sizeof cfgarg, "--config.file=%s", yml);
    snprintf(dataarg, sizeof dataarg, "--storage.tsdb.path=%s", data);
    pid_t prom = fork();
    assert_true(prom >= 0);
    if (prom == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("prometheus", "prometheus", cfgarg, dataarg, listen, (char *)NULL);
        _exit(127);
    }
    /* the query: the engine's events as Prometheus scraped them */
    double got = -1;
    int64_t t0 = now_ms();
    while ((got = promql(prom_port, "nexus_engine_events_total%7Bjob%3D%22nexus%22%7D")) <= 0 &&
           now_ms() - t0 < 60000)
        pump(&P, "(never)", 250);
    /* and the scrape itself was healthy: up == 1 */
    double up = promql(prom_port, "up%7Bjob%3D%22nexus%22%7D");
    kill(prom, SIGTERM);
    waitpid(prom, NULL, 0);
    print_message("# Prometheus scraped nexus_engine_events_total = %.0f, up = %.0f\n", got, up);
    assert_true(got > 0);
    assert_true(up == 1);
    stop_engine();
}

/* /health turns 503 when the feed goes quiet (the replay stalls its stream
 * for 8 s; health_stale_s 2) and 200 again when it flows. */
static void test_health_follows_the_feed(void **state)
{
    (void)state;
    write_config(2, 0);
    start(NULL);
    assert_int_equal(wait_health(200, 20000, NULL), 200);
    char path[128];
    snprintf(path, sizeof path, "/_replay/fault?kind=stall&ms=8000");
    assert_int_equal(http(replay_port, "GET", path, NULL), 200);
    int64_t t0 = now_ms();
    json_t *h = NULL;
    assert_int_equal(wait_health(503, 7000, &h), 503);
    assert_string_equal(json_string_value(json_object_get(h, "status")), "not_ready");
    json_t *fd = json_array_get(json_object_get(h, "feeds"), 0);
    assert_true(json_is_false(json_object_get(fd, "fresh")));
    assert_true(json_real_value(json_object_get(fd, "last_event_age_s")) >= 2.0);
    assert_true(json_is_true(json_object_get(json_object_get(h, "engine"), "alive")));
    json_decref(h);
    print_message("# 503 after %lld ms of stall\n", (long long)(now_ms() - t0));
    /* the stream comes back: ready again */
    assert_int_equal(wait_health(200, 20000, NULL), 200);
    stop_engine();
}

/* systemd's notify protocol on a socket the test listens on. */
static int notify_fd = -1;

static int notify_read(char *out, size_t cap, int timeout_ms)
{
    struct pollfd p = {notify_fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    ssize_t n = recv(notify_fd, out, cap - 1, 0);
    if (n <= 0)
        return 0;
    out[n] = 0;
    return 1;
}

/* Wait for a message holding `what`; 1 if it came within timeout_ms. */
static int notify_wait(const char *what, int timeout_ms)
{
    int64_t t0 = now_ms();
    char m[512];
    while (now_ms() - t0 < timeout_ms) {
        pump(&P, "(never)", 0);
        if (notify_read(m, sizeof m, 50) && strstr(m, what))
            return 1;
    }
    return 0;
}

static void test_systemd_watchdog(void **state)
{
    (void)state;
    write_config(60, 1);
    char sock[300], stall[300], on[310];
    snprintf(sock, sizeof sock, "%s/notify.sock", dir);
    snprintf(stall, sizeof stall, "%s/stall", dir);
    snprintf(on, sizeof on, "%s.on", stall);
    notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(notify_fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof a.sun_path);
    memcpy(a.sun_path, sock, strlen(sock) + 1);
    assert_int_equal(bind(notify_fd, (struct sockaddr *)&a, sizeof a), 0);
    static char e1[400], e2[64], e3[400];
    snprintf(e1, sizeof e1, "NOTIFY_SOCKET=%s", sock);
    snprintf(e2, sizeof e2, "WATCHDOG_USEC=1000000"); /* a ping every 0.5 s */
    snprintf(e3, sizeof e3, "NX_STALL_FILE=%s", stall);
    char *env[] = {e1, e2, e3, NULL};
    start(env);
    assert_true(notify_wait("READY=1", 20000));
    for (int i = 0; i < 3; i++)
        assert_true(notify_wait("WATCHDOG=1", 3000));
    /* the engine thread blocked inside a strategy: no ping while it is */
    FILE *f = fopen(stall, "w");
    assert_non_null(f);
    fclose(f);
    int64_t t0 = now_ms();
    struct stat sb;
    while (stat(on, &sb) != 0 && now_ms() - t0 < 30000)
        pump(&P, "(never)", 20);
    assert_int_equal(stat(on, &sb), 0); /* stuck from now */
    /* a ping already on its way when it blocked may still be read: drain
     * 0.6 s (one period and a little), then 3 s of silence, 6 periods */
    char m[512];
    int64_t d0 = now_ms();
    while (now_ms() - d0 < 600)
        notify_read(m, sizeof m, 50);
    int pings = 0;
    d0 = now_ms();
    while (now_ms() - d0 < 3000) {
        pump(&P, "(never)", 0);
        if (notify_read(m, sizeof m, 50) && strstr(m, "WATCHDOG=1"))
            pings++;
    }
    assert_int_equal(pings, 0);
    /* /health says so too: the engine is not alive */
    char *b = NULL;
    assert_int_equal(health(&b), 503);
    assert_non_null(strstr(b, "\"alive\":false"));
    free(b);
    /* let it go: the pings come back */
    unlink(stall);
    assert_true(notify_wait("WATCHDOG=1", 3000));
    kill(P.pid, SIGTERM);
    assert_true(notify_wait("STOPPING=1", 10000));
    assert_int_equal(finish(&P), 0);
    P.pid = 0;
    close(notify_fd);
    notify_fd = -1;
}

/* Signing in to the web pages: the owner asks for a link at the console
 * (chat's /dashboard), the link becomes an HttpOnly, SameSite=Strict
 * session cookie once, a second use and an expired link are refused, the
 * session's actions need its CSRF token, and signing out ends it. */
static const char *console_link(void)
{
    long seen = (long)P.olen;
    assert_int_equal(write(console_in, "/dashboard\n", 11), 11);
    int64_t t0 = now_ms();
    while (!strstr(P.obuf + seen, "/login?t=") && now_ms() - t0 < 20000)
        pump(&P, "(never)", 50);
    const char *at = strstr(P.obuf + seen, "/login?t=");
    if (!at)
        fail_msg("no link at the console:\n%s", P.obuf + seen);
    static char path[128];
    size_t n = strcspn(at, " \n\r<\"");
    assert_true(n < sizeof path);
    memcpy(path, at, n);
    path[n] = 0;
    return path;
}

static void test_sign_in_by_link(void **state)
{
    (void)state;
    link_ttl_s = 4;
    write_config(60, 0);
    link_ttl_s = 600;
    start_with(NULL, 1);
    /* nobody is signed in yet */
    char *b = NULL, *h = NULL;
    assert_int_equal(http(web_port, "GET", "/api/me", &b), 401);
    free(b);
    char link[128];
    snprintf(link, sizeof link, "%s", console_link());
    assert_int_equal(http_full(web_port, "GET", link, NULL, &h, &b), 303);
    free(b);
    const char *sc = strcasestr(h, "set-cookie: nx_session=");
    assert_non_null(sc);
    char cookie[160];
    size_t cn = strcspn(sc + 12, ";\r\n");
    assert_true(cn < sizeof cookie);
    memcpy(cookie, sc + 12, cn);
    cookie[cn] = 0;
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(sc, "\r\n"), sc);
    assert_non_null(strstr(line, "HttpOnly"));
    assert_non_null(strstr(line, "SameSite=Strict"));
    assert_non_null(strstr(line, "Path=/"));
    assert_non_null(strcasestr(h, "location: /ui/"));
    free(h);
    /* the cookie is the owner (user 1), with a CSRF token for actions */
    char hdr[256];
    snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", cookie);
    assert_int_equal(http_full(web_port, "GET", "/api/me", hdr, NULL, &b), 200);
    json_t *me = json_loads(b, 0, NULL);
    free(b);
    assert_non_null(me);
    assert_int_equal(json_integer_value(json_object_get(me, "user")), 1);
    assert_string_equal(json_string_value(json_object_get(me, "role")), "owner");
    char csrf[80];
    snprintf(csrf, sizeof csrf, "%s", json_string_value(json_object_get(me, "csrf")));
    assert_true(strlen(csrf) >= 40);
    json_decref(me);
    /* the same link again: refused, it was used */
    assert_int_equal(http(web_port, "GET", link, &b), 403);
    assert_non_null(strstr(b, "used already"));
    free(b);
    /* a cookie nobody was given, and none */
    assert_int_equal(http_full(web_port, "GET", "/api/me",
                               "Cookie: nx_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
                               NULL, NULL),
                     401);
    /* an action without the CSRF token (a cross-site form would send the
     * cookie, never the header): refused, still signed in */
    assert_int_equal(http_full(web_port, "POST", "/logout", hdr, NULL, NULL), 403);
    char bad[400];
    snprintf(bad, sizeof bad, "%sX-CSRF-Token: %.20sWRONGWRONGWRONGWRONGWRONGWRONG\r\n", hdr,
             csrf);
    assert_int_equal(http_full(web_port, "POST", "/logout", bad, NULL, NULL), 403);
    assert_int_equal(http_full(web_port, "GET", "/api/me", hdr, NULL, NULL), 200);
    /* with it: signed out, the cookie no longer opens anything */
    char good[400];
    snprintf(good, sizeof good, "%sX-CSRF-Token: %s\r\n", hdr, csrf);
    assert_int_equal(http_full(web_port, "POST", "/logout", good, NULL, NULL), 200);
    assert_int_equal(http_full(web_port, "GET", "/api/me", hdr, NULL, NULL), 401);
    /* a link left past its 4 s: refused as expired */
    snprintf(link, sizeof link, "%s", console_link());
    int64_t t0 = now_ms();
    while (now_ms() - t0 < 4500)
        pump(&P, "(never)", 100);
    assert_int_equal(http(web_port, "GET", link, &b), 403);
    assert_non_null(strstr(b, "expired"));
    free(b);
    /* the link never reached the log */
    assert_null(strstr(P.ebuf, link + strlen("/login?t=")));
    close(console_in);
    console_in = -1;
    stop_engine();
}

/* One HTTPS request on loopback, the server's certificate checked against
 * ca (a PEM file) for the address 127.0.0.1; the status (-1: no TLS), the
 * headers into *head (malloc'd, or NULL). */
static int https_full(int port, const char *ca, const char *method, const char *path,
                      const char *extra, char **head)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, ca, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx), "127.0.0.1");
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        fd = -1;
    }
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (fd >= 0 && SSL_connect(ssl) == 1) {
        char req[1024];
        int n = snprintf(req, sizeof req,
                         "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                         "Content-Length: 0\r\n\r\n",
                         method, path, extra ? extra : "");
        SSL_write(ssl, req, n);
        static char buf[1 << 16];
        size_t len = 0;
        int k;
        while (len < sizeof buf - 1 &&
               (k = SSL_read(ssl, buf + len, (int)(sizeof buf - 1 - len))) > 0)
            len += (size_t)k;
        buf[len] = 0;
        sscanf(buf, "HTTP/1.%*d %d", &status);
        if (head) {
            char *b = strstr(buf, "\r\n\r\n");
            *head = strndup(buf, b ? (size_t)(b - buf) : len);
        }
    }
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return status;
}

/* HTTPS (web.tls_cert/tls_key, a certificate made here for 127.0.0.1):
 * the server answers over TLS with that certificate and not in the clear,
 * the sign-in link starts https:// and its cookie is Secure. */
static void test_https(void **state)
{
    (void)state;
    char cert[300], key[300], cmd[1200], extra[800];
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
             "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' 2>/dev/null",
             key, cert);
    assert_int_equal(system(cmd), 0);
    snprintf(extra, sizeof extra, ", \"tls_cert\": \"%s\", \"tls_key\": \"%s\"", cert, key);
    web_extra = extra;
    write_config(60, 0);
    web_extra = "";
    /* under LeakSanitizer: libwebsockets 4.1's TLS server leaves ~700 KB
     * of OpenSSL's objects (certificates and their ASN.1, all allocated
     * inside libcrypto) behind at exit, once, whatever was served; those,
     * and only those, are not counted for this engine */
    char supp[320];
    snprintf(supp, sizeof supp, "%s/lsan.supp", dir);
    FILE *sf = fopen(supp, "w");
    assert_non_null(sf);
    fputs("leak:libcrypto.so\n", sf);
    fclose(sf);
    static char lsan[400];
    snprintf(lsan, sizeof lsan, "LSAN_OPTIONS=suppressions=%s", supp);
    char *env[] = {lsan, NULL};
    start_with(env, 1);
    assert_non_null(strstr(P.ebuf, "serving /metrics and /health on https://127.0.0.1:"));
    char *h = NULL;
    assert_int_equal(https_full(web_port, cert, "GET", "/metrics", NULL, &h), 200);
    free(h);
    /* in the clear: no answer a browser would take */
    assert_true(http(web_port, "GET", "/metrics", NULL) != 200);
    /* the link, and its cookie */
    long seen = (long)P.olen;
    assert_int_equal(write(console_in, "/dashboard\n", 11), 11);
    int64_t t0 = now_ms();
    while (!strstr(P.obuf + seen, "/login?t=") && now_ms() - t0 < 20000)
        pump(&P, "(never)", 50);
    const char *l = strstr(P.obuf + seen, "https://127.0.0.1:");
    assert_non_null(l);
    const char *at = strstr(l, "/login?t=");
    assert_non_null(at);
    char path[128];
    snprintf(path, sizeof path, "%.*s", (int)strcspn(at, " \n\r<\""), at);
    assert_int_equal(https_full(web_port, cert, "GET", path, NULL, &h), 303);
    const char *sc = strcasestr(h, "set-cookie: nx_session=");
    assert_non_null(sc);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)strcspn(sc, "\r\n"), sc);
    assert_non_null(strstr(line, "; Secure"));
    assert_non_null(strstr(line, "HttpOnly"));
    free(h);
    close(console_in);
    console_in = -1;
    stop_engine();
}

/* What docker-compose.yml runs is checked as far as this machine can
 * without a container engine: the Nexus config it mounts passes `nexus
 * check-config`, and the Prometheus config it mounts passes `promtool check
 * config`; the compose file names both and publishes on loopback only. */
static void test_deploy_files(void **state)
{
    (void)state;
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' check-config deploy/nexus.compose.json > /dev/null",
             src_dir(), nexus_bin);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "promtool check config '%s/deploy/prometheus.yml' > /dev/null",
             src_dir());
    assert_int_equal(system(cmd), 0);
    char path[400];
    snprintf(path, sizeof path, "%s/docker-compose.yml", src_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    assert_non_null(strstr(text, "./deploy/nexus.compose.json:/etc/nexus/compose.json"));
    assert_non_null(strstr(text, "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml"));
    assert_non_null(strstr(text, "\"127.0.0.1:8080:8080\""));
    assert_null(strstr(text, "\"8080:8080\""));
    /* the unit file asks systemd for what the engine sends */
    snprintf(path, sizeof path, "%s/deploy/nexus.service", src_dir());
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    assert_non_null(strstr(text, "\nType=notify\n"));
    assert_non_null(strstr(text, "\nWatchdogSec="));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_ops NEXUS_BINARY\n");
        return 2;
    }
    static char bin[4096];
    nexus_bin = realpath(argv[1], bin) ? bin : argv[1];
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_metrics_on_the_main_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prometheus_scrapes_it, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_follows_the_feed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_systemd_watchdog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_in_by_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_https, setup, teardown),
        cmocka_unit_test(test_deploy_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
