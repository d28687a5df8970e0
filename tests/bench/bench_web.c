/*
 * bench_web — the engine's HTTP surface under load, and what that load
 * costs the engine (issue 20). It runs `nexus run` on the main job's
 * market (the bundled BTCUSDT 15m candles on loopback, 150,000x: ~10
 * orders a second on the paper venue) and measures, in this one run:
 *
 *   scrape       GET /metrics alone, 200 times in a row: p50/p99;
 *   idle         10 s with nobody asking: the engine's tick-to-order (its
 *                own histogram's delta, p50/p90 interpolated in a bucket);
 *   load         10 s with 100 signed-in dashboards on keep-alive
 *                connections, each asking in turn the overview, the chart,
 *                the journal and (when web/dist is built) the page and its
 *                script, 10 times a second each (paced) and then as fast
 *                as answered (flood), and a scraper asking GET /metrics
 *                every second: the API's and the page's p50/p99, requests
 *                a second, the scrapes' p99, and tick-to-order again — its
 *                ratio to the idle figure is the load's cost;
 *   lost         market events dropped on the way (the market ring's
 *                overruns, and the feed's events against the engine's);
 *   updates      with the paced load again, the live page open over
 *                WebSocket (signed in with the link from the console's
 *                /dashboard): pause and resume the session 20 times each,
 *                the time from the click (POST /api/act) to the live page
 *                showing it: p50/p99 (target: p99 within 1 s).
 *
 *   bench_web
 *
 * Last line: {"bench":"web","scrape_p50_ms":..,"scrape_p99_ms":..,
 * "api_p50_us":..,"api_p99_us":..,"page_p50_us":..,"page_p99_us":..,
 * "load_scrape_p99_ms":..,"flood_requests_per_s":..,"flood_api_p99_us":..,"tto_p50_us_idle":..,"tto_p50_us_load":..,
 * "tto_p90_us_idle":..,"tto_p90_us_load":..,"ratio_tto_load_idle":..,"overruns":..,
 * "update_p50_ms":..,"update_p99_ms":..}
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"
#include "../http_client.h"

#define CLIENTS 100

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int web_port;

static int dial(void)
{
    return wire_connect(web_port);
}

/* One GET on a keep-alive connection, with the header lines hdr (each
 * ending in CRLF, or ""): the status; the body into buf (cap) when given.
 * -1 if the connection failed. */
static int get_with(int fd, const char *path, const char *hdr, char *buf, size_t cap)
{
    char req[768];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", path, hdr);
    if (write(fd, req, (size_t)n) != n)
        return -1;
    static __thread char in[1 << 20];
    size_t len = 0;
    char *end = NULL;
    while (!(end = strstr(in, "\r\n\r\n"))) {
        ssize_t k = read(fd, in + len, sizeof in - 1 - len);
        if (k <= 0)
            return -1;
        len += (size_t)k;
        in[len] = 0;
    }
    int status = 0;
    sscanf(in, "HTTP/1.%*d %d", &status);
    const char *cl = strcasestr(in, "content-length:");
    size_t want = cl ? (size_t)atol(cl + 15) : 0, head = (size_t)(end + 4 - in);
    while (len < head + want) {
        ssize_t k = read(fd, in + len, sizeof in - 1 - len);
        if (k <= 0)
            return -1;
        len += (size_t)k;
    }
    in[len] = 0;
    if (buf) {
        size_t b = want < cap - 1 ? want : cap - 1;
        memcpy(buf, in + head, b);
        buf[b] = 0;
    }
    /* what came after this answer (nothing: one request at a time) */
    in[0] = 0;
    return status;
}

static int get(int fd, const char *path, char *buf, size_t cap)
{
    return get_with(fd, path, "", buf, cap);
}

/* GET /metrics on a connection of its own (an idle keep-alive connection
 * is closed by the server after a while): 0, or -1 if it failed. */
static int scrape(char *buf, size_t cap)
{
    int fd = dial();
    int st = fd >= 0 ? get(fd, "/metrics", buf, cap) : -1;
    if (fd >= 0)
        close(fd);
    return st == 200 ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp);
    return v[(size_t)(p * (double)(n - 1))];
}

/* ---- the engine's tick-to-order histogram ---- */

#define NB 32
typedef struct hist {
    double le[NB], cum[NB];
    int n;
} hist_t;

static void read_hist(const char *m, hist_t *h)
{
    h->n = 0;
    const char *k = "nexus_tick_to_order_seconds_bucket{le=\"";
    for (const char *p = strstr(m, k); p && h->n < NB; p = strstr(p + 1, k)) {
        const char *v = p + strlen(k);
        h->le[h->n] = strncmp(v, "+Inf", 4) ? atof(v) : 1e9;
        h->cum[h->n] = atof(strchr(v, ' ') + 1);
        h->n++;
    }
}

/* The q-quantile of the observations between two readings, linear inside
 * its bucket (microseconds). */
static double quantile(const hist_t *a, const hist_t *b, double q)
{
    double total = b->cum[b->n - 1] - a->cum[a->n - 1];
    if (total <= 0)
        return 0;
    double want = q * total, lo = 0, below = 0;
    for (int i = 0; i < b->n; i++) {
        double c = b->cum[i] - a->cum[i];
        if (c >= want) {
            double hi = b->le[i] > 1e8 ? lo * 2 : b->le[i];
            double in = c - below;
            return (lo + (hi - lo) * (in > 0 ? (want - below) / in : 0)) * 1e6;
        }
        below = c;
        lo = b->le[i];
    }
    return lo * 1e6;
}

/* A sample's value: its line starts with the name (not # HELP / # TYPE). */
static double series(const char *m, const char *name)
{
    size_t nl = strlen(name);
    for (const char *l = m; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, name, nl) && l[nl] == ' ')
            return atof(l + nl + 1);
    return -1;
}

/* ---- waiting: on an event (the port logged, the load told to stop) with
 * a deadline, never for a fixed time ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static _Atomic int stop_load;

static void cv_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&cv, &a);
    pthread_condattr_destroy(&a);
}

/* Until the deadline (now_s() time) or the load is told to stop. */
static void wait_until(double deadline)
{
    struct timespec ts = {(time_t)deadline, (long)((deadline - (double)(time_t)deadline) * 1e9)};
    pthread_mutex_lock(&mu);
    while (!atomic_load(&stop_load) && now_s() < deadline)
        if (pthread_cond_timedwait(&cv, &mu, &ts))
            break;
    pthread_mutex_unlock(&mu);
}

static void stop_loads(int stop)
{
    pthread_mutex_lock(&mu);
    atomic_store(&stop_load, stop);
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* nexus's standard error, read as it comes (the pipe never fills), kept in
 * a file, and the web server's port taken from it. */
static int err_fd = -1;
static char err_path[128];

static void *read_log(void *arg)
{
    (void)arg;
    FILE *keep = fopen(err_path, "w");
    char buf[8192], line[2048];
    size_t ll = 0;
    ssize_t n;
    while ((n = read(err_fd, buf, sizeof buf)) > 0) {
        if (keep)
            fwrite(buf, 1, (size_t)n, keep);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && ll < sizeof line - 1) {
                line[ll++] = buf[i];
                continue;
            }
            line[ll] = 0;
            ll = 0;
            const char *p = strstr(line, "on http://127.0.0.1:");
            if (p && !web_port) {
                pthread_mutex_lock(&mu);
                web_port = atoi(p + strlen("on http://127.0.0.1:"));
                pthread_cond_broadcast(&cv);
                pthread_mutex_unlock(&mu);
            }
        }
    }
    if (keep)
        fclose(keep);
    return NULL;
}

/* nexus's standard output (its console), read as it comes: the sign-in
 * link /dashboard prints. */
static int out_fd = -1;
static char link_path[160];

static void *read_out(void *arg)
{
    (void)arg;
    static char all[1 << 16];
    size_t len = 0;
    ssize_t n;
    while ((n = read(out_fd, all + len, sizeof all - 1 - len)) > 0) {
        len += (size_t)n;
        all[len] = 0;
        const char *p = strstr(all, "/login?t=");
        if (p && !link_path[0] && strcspn(p, " \r\n") < strlen(p)) {
            pthread_mutex_lock(&mu);
            snprintf(link_path, sizeof link_path, "%.*s", (int)strcspn(p, " \r\n"), p);
            pthread_cond_broadcast(&cv);
            pthread_mutex_unlock(&mu);
        }
        if (len > sizeof all / 2) { /* keep the tail */
            memmove(all, all + len / 2, len - len / 2 + 1);
            len -= len / 2;
        }
    }
    return NULL;
}

/* ---- the load ---- */

static double pace_s; /* 0: as fast as answered */
static _Atomic unsigned long long answered, refused;
static double *lat[CLIENTS], *plat[CLIENTS]; /* the API's answers, the page's */
static size_t nlat[CLIENTS], nplat[CLIENTS];
#define LAT_MAX 200000
static char cookie[256]; /* "Cookie: nx_session=...\r\n", once signed in */
static int pages;        /* 1: the engine serves the page (web/dist built) */

/* A signed-in dashboard's requests, in turn: the overview, the chart, the
 * journal and, when served, the page itself (its HTML and script). */
static const char *const routes[] = {"/api/overview", "/api/chart?symbol=BTCUSDT", "/api/trades",
                                     "/ui/", "/ui/app.js"};

static void *client(void *arg)
{
    long id = (long)arg;
    int fd = dial();
    lat[id] = malloc(LAT_MAX * sizeof(double));
    plat[id] = malloc(LAT_MAX * sizeof(double));
    for (unsigned turn = (unsigned)id; fd >= 0 && !atomic_load(&stop_load); turn++) {
        unsigned r = turn % (pages ? 5 : 3);
        double t0 = now_s();
        int st = get_with(fd, routes[r], cookie, NULL, 0);
        if (st < 0) {
            close(fd);
            fd = dial();
            continue;
        }
        double took = now_s() - t0;
        if (st != 200)
            atomic_fetch_add(&refused, 1);
        if (r < 3 && nlat[id] < LAT_MAX)
            lat[id][nlat[id]++] = took;
        else if (r >= 3 && nplat[id] < LAT_MAX)
            plat[id][nplat[id]++] = took;
        atomic_fetch_add(&answered, 1);
        if (pace_s > took) /* a dashboard's pace: one request every pace_s */
            wait_until(t0 + pace_s);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static double scrape_load[64];
static int nscrape_load;

static void *scraper(void *arg)
{
    (void)arg;
    static char body[1 << 20];
    int fd = dial();
    while (fd >= 0 && !atomic_load(&stop_load) && nscrape_load < 64) {
        double t0 = now_s();
        if (get(fd, "/metrics", body, sizeof body) != 200)
            break;
        scrape_load[nscrape_load++] = now_s() - t0;
        wait_until(t0 + 1.0); /* a scrape a second */
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/bench-web-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/nexus.json", dir);
    snprintf(err_path, sizeof err_path, "%s/nexus.err", dir);
    cv_init();
    FILE *f = fopen(cfg, "w");
    if (!f)
        return 1;
    fprintf(f,
            "{ \"log\": { \"level\": \"info\" }, \"data_dir\": \"%s/data\",\n"
            "  \"web\": { \"listen\": \"127.0.0.1:0\" },\n"
            "  \"symbols\": [ { \"venue\": \"binance-usdm\", \"symbol\": \"BTCUSDT\",\n"
            "                   \"tick_size\": \"0.01\", \"lot_size\": \"0.00001\" } ],\n"
            "  \"feeds\": [ { \"venue\": \"binance-usdm\", \"streams\": [\"trades\", \"klines\"],\n"
            "      \"ws_url\": \"wss://fstream.binance.com\", \"rest_url\": \"https://fapi.binance.com\",\n"
            "      \"kline_interval\": \"15m\", \"stale_s\": 0, \"replay_speed\": 150000,\n"
            "      \"replay\": \"%s/tests/data/candles/binance_spot_BTCUSDT_15m_20210112_20210605.csv\" } ],\n"
            "  \"cortex\": { \"timeframes\": [\"15m\", \"1h\", \"4h\"], \"allow_unsigned\": true,\n"
            "    \"plugin_dir\": \"%s\",\n"
            "    \"strategies\": [ { \"plugin\": \"trend\", \"timeframes\": [\"15m\", \"4h\"] },\n"
            "                     { \"plugin\": \"scalping\", \"timeframes\": [\"15m\"] },\n"
            "                     { \"plugin\": \"grid\", \"timeframes\": [\"15m\"] } ] },\n"
            "  \"users\": [ { \"id\": 1, \"chat_id\": 1, \"name\": \"owner\", \"role\": \"owner\" } ],\n"
            "  \"trading\": { \"sessions\": [ { \"name\": \"owner\", \"user\": 1, \"mode\": \"pilot\",\n"
            "      \"equity\": \"10000\", \"cooldown_s\": 0, \"breaker_halt_s\": 3600,\n"
            "      \"max_drawdown_bp\": 10000, \"weekly_loss_bp\": 10000 } ] } }\n",
            dir, NX_SOURCE_DIR_DEFAULT, NX_PLUGIN_DIR);
    fclose(f);
    int ep[2], op[2], ip[2];
    if (pipe(ep) || pipe(op) || pipe(ip))
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(ep[1], 2);
        dup2(op[1], 1);
        dup2(ip[0], 0);
        close(ep[0]), close(ep[1]), close(op[0]), close(op[1]), close(ip[0]), close(ip[1]);
        execl(NX_NEXUS_BIN, NX_NEXUS_BIN, "run", "--config", cfg, "--console", (char *)NULL);
        _exit(127);
    }
    close(ep[1]), close(op[1]), close(ip[0]);
    err_fd = ep[0];
    out_fd = op[0];
    int console = ip[1];
    pthread_t log_th, out_th;
    pthread_create(&log_th, NULL, read_log, NULL);
    pthread_create(&out_th, NULL, read_out, NULL);
    /* the port, once the log says it (20 s at most) */
    double deadline = now_s() + 20;
    struct timespec ts = {(time_t)deadline, 0};
    pthread_mutex_lock(&mu);
    while (!web_port && now_s() < deadline)
        pthread_cond_timedwait(&cv, &mu, &ts);
    pthread_mutex_unlock(&mu);
    if (!web_port) {
        fprintf(stderr, "bench_web: nexus did not serve\n");
        kill(pid, SIGKILL);
        return 1;
    }
    static char m[1 << 20];
    /* trading: the engine's metrics are read, not pushed, so asked every
     * 100 ms until its first order (20 s at most) */
    for (double t0 = now_s(); now_s() - t0 < 20; wait_until(now_s() + 0.1))
        if (!scrape(m, sizeof m) && series(m, "nexus_tick_to_order_seconds_count") > 0)
            break;
    /* signed in as a dashboard is: the link from the console's /dashboard,
     * its cookie, the CSRF token from /api/me */
    if (write(console, "/dashboard\n", 11) == 11) {
        deadline = now_s() + 20;
        struct timespec lts = {(time_t)deadline, 0};
        pthread_mutex_lock(&mu);
        while (!link_path[0] && now_s() < deadline)
            pthread_cond_timedwait(&cv, &mu, &lts);
        pthread_mutex_unlock(&mu);
    }
    char *head = NULL, *me = NULL;
    char *setc = link_path[0] && http_full(web_port, "GET", link_path, NULL, &head, NULL) == 303
                     ? strcasestr(head, "set-cookie: nx_session=")
                     : NULL;
    char act[512] = "";
    if (setc)
        snprintf(cookie, sizeof cookie, "Cookie: %.*s\r\n", (int)strcspn(setc + 12, ";\r\n"),
                 setc + 12);
    free(head);
    const char *tok = cookie[0] && http_full(web_port, "GET", "/api/me", cookie, NULL, &me) == 200
                          ? strstr(me, "\"csrf\":\"")
                          : NULL;
    if (tok)
        snprintf(act, sizeof act, "%sX-CSRF-Token: %.*s\r\n", cookie, (int)strcspn(tok + 8, "\""),
                 tok + 8);
    free(me);
    if (!act[0]) {
        fprintf(stderr, "bench_web: could not sign in\n");
        kill(pid, SIGKILL);
        return 1;
    }
    {
        int pf = dial();
        pages = pf >= 0 && get_with(pf, "/ui/", cookie, NULL, 0) == 200;
        if (pf >= 0)
            close(pf);
        if (!pages)
            printf("the page is not served (web/dist not built: scripts/dev web_build): API "
                   "routes only\n");
    }
    /* scrape time alone, on one keep-alive connection */
    static double sc[200];
    int fd = dial();
    for (int i = 0; i < 200; i++) {
        double t0 = now_s();
        if (get(fd, "/metrics", m, sizeof m) != 200) {
            fprintf(stderr, "bench_web: a scrape failed\n");
            return 1;
        }
        sc[i] = now_s() - t0;
    }
    close(fd);
    size_t mlen = strlen(m);
    double s50 = pct(sc, 200, 0.5) * 1e3, s99 = pct(sc, 200, 0.99) * 1e3;
    printf("scrape alone (%zu bytes): p50 %.3f ms, p99 %.3f ms\n", mlen, s50, s99);
    /* idle */
    hist_t h0, h1;
    if (scrape(m, sizeof m))
        return 1;
    read_hist(m, &h0);
    sleep(10);
    if (scrape(m, sizeof m))
        return 1;
    read_hist(m, &h1);
    /* load: paced (each client 10 requests a second), then a flood (as fast
     * as answered); tick-to-order over each */
    double h50[2], h99[2], p50[2], p99[2], rps[2], ls99[2], l50[2], l90[2];
    hist_t hs[3];
    hs[0] = h1;
    for (int phase = 0; phase < 2; phase++) {
        pace_s = phase == 0 ? 0.1 : 0;
        pthread_t th[CLIENTS], sth;
        atomic_store(&answered, 0);
        stop_loads(0);
        nscrape_load = 0;
        memset(nlat, 0, sizeof nlat);
        memset(nplat, 0, sizeof nplat);
        atomic_store(&refused, 0);
        double l0 = now_s();
        for (long i = 0; i < CLIENTS; i++)
            pthread_create(&th[i], NULL, client, (void *)i);
        pthread_create(&sth, NULL, scraper, NULL);
        sleep(10);
        if (scrape(m, sizeof m))
            return 1;
        read_hist(m, &hs[phase + 1]);
        stop_loads(1);
        for (int i = 0; i < CLIENTS; i++)
            pthread_join(th[i], NULL);
        pthread_join(sth, NULL);
        double secs = now_s() - l0;
        size_t total = 0, ptotal = 0;
        for (int i = 0; i < CLIENTS; i++)
            total += nlat[i], ptotal += nplat[i];
        double *all = malloc((total ? total : 1) * sizeof *all);
        double *pall = malloc((ptotal ? ptotal : 1) * sizeof *pall);
        size_t k = 0, pk = 0;
        for (int i = 0; i < CLIENTS; i++) {
            memcpy(all + k, lat[i], nlat[i] * sizeof *all);
            memcpy(pall + pk, plat[i], nplat[i] * sizeof *pall);
            k += nlat[i], pk += nplat[i];
            free(lat[i]);
            free(plat[i]);
        }
        h50[phase] = pct(all, total, 0.5) * 1e6;
        h99[phase] = pct(all, total, 0.99) * 1e6;
        p50[phase] = ptotal ? pct(pall, ptotal, 0.5) * 1e6 : -1;
        p99[phase] = ptotal ? pct(pall, ptotal, 0.99) * 1e6 : -1;
        free(pall);
        rps[phase] = (double)atomic_load(&answered) / secs;
        ls99[phase] = pct(scrape_load, (size_t)nscrape_load, 0.99) * 1e3;
        free(all);
        l50[phase] = quantile(&hs[phase], &hs[phase + 1], 0.5);
        l90[phase] = quantile(&hs[phase], &hs[phase + 1], 0.9);
        printf("%s: %d dashboards, %.0f answers/s (%llu not 200); API p50 %.0f us, p99 %.0f us; "
               "page p50 %.0f us, p99 %.0f us; %d scrapes, p99 %.3f ms; tick-to-order (%.0f "
               "orders) p50 %.1f us, p90 %.1f us\n",
               phase == 0 ? "paced (10/s each)" : "flood", CLIENTS, rps[phase],
               (unsigned long long)atomic_load(&refused), h50[phase], h99[phase], p50[phase],
               p99[phase], nscrape_load, ls99[phase],
               hs[phase + 1].cum[hs[phase + 1].n - 1] - hs[phase].cum[hs[phase].n - 1], l50[phase],
               l90[phase]);
    }
    double i50 = quantile(&h0, &h1, 0.5), i90 = quantile(&h0, &h1, 0.9);
    printf("tick-to-order idle (%.0f orders): p50 %.1f us, p90 %.1f us\n",
           h1.cum[h1.n - 1] - h0.cum[h0.n - 1], i50, i90);
    if (scrape(m, sizeof m))
        return 1;
    double over = series(m, "nexus_ring_overruns_total{ring=\"market\"}");
    double fe = series(m, "nexus_feed_events_total{venue=\"binance-usdm\",feed=\"0\"}");
    double ee = series(m, "nexus_engine_events_total");
    printf("market events: feed %.0f, engine %.0f, ring overruns %.0f\n", fe, ee, over);
    /* updates: the live page open, with the paced load */
    double u50 = -1, u99 = -1;
    char wsh[512];
    snprintf(wsh, sizeof wsh, "%sSec-WebSocket-Protocol: nx-live\r\n", cookie);
    int ws = act[0] ? wire_ws_open_with(web_port, "/live", wsh) : -1;
    if (ws >= 0) {
        pace_s = 0.1;
        pthread_t th[CLIENTS];
        stop_loads(0);
        memset(nlat, 0, sizeof nlat);
        memset(nplat, 0, sizeof nplat);
        for (long i = 0; i < CLIENTS; i++)
            pthread_create(&th[i], NULL, client, (void *)i);
        static double up[40];
        int nup = 0;
        for (int i = 0; i < 40; i++) {
            int pause = i % 2 == 0;
            double t0 = now_s();
            if (http_full(web_port, "POST",
                          pause ? "/api/act?session=1&do=pause" : "/api/act?session=1&do=resume",
                          act, NULL, NULL) != 200)
                break;
            const char *want = pause ? "\"paused\":true" : "\"paused\":false";
            int seen = 0;
            while (!seen && now_s() - t0 < 10) {
                char *frame = wire_ws_recv(ws, 10000, NULL);
                if (!frame)
                    break;
                seen = strstr(frame, want) != NULL;
                free(frame);
            }
            if (!seen)
                break;
            up[nup++] = now_s() - t0;
        }
        stop_loads(1);
        for (int i = 0; i < CLIENTS; i++) {
            pthread_join(th[i], NULL);
            free(lat[i]);
            free(plat[i]);
        }
        close(ws);
        if (nup == 40) {
            u50 = pct(up, 40, 0.5) * 1e3;
            u99 = pct(up, 40, 0.99) * 1e3;
            printf("updates (%d clients paced, the live page open): click to page p50 %.1f ms, "
                   "p99 %.1f ms\n",
                   CLIENTS, u50, u99);
        } else {
            printf("updates: only %d of 40 seen on the live page\n", nup);
        }
    } else {
        printf("updates: could not sign in or open the live page\n");
    }
    close(console);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    pthread_join(log_th, NULL);
    pthread_join(out_th, NULL);
    close(err_fd);
    close(out_fd);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (getenv("NX_BENCH_KEEP"))
        printf("kept: %s\n", dir);
    else if (system(cmd))
        return 1;
    printf("{\"bench\":\"web\",\"scrape_p50_ms\":%.3f,\"scrape_p99_ms\":%.3f,"
           "\"api_p50_us\":%.0f,\"api_p99_us\":%.0f,\"page_p50_us\":%.0f,\"page_p99_us\":%.0f,"
           "\"load_scrape_p99_ms\":%.3f,\"flood_requests_per_s\":%.0f,\"flood_api_p99_us\":%.0f,"
           "\"tto_p50_us_idle\":%.1f,\"tto_p50_us_load\":%.1f,\"tto_p50_us_flood\":%.1f,"
           "\"tto_p90_us_idle\":%.1f,\"tto_p90_us_load\":%.1f,\"ratio_tto_load_idle\":%.2f,"
           "\"ratio_tto_flood_idle\":%.2f,\"overruns\":%.0f,\"update_p50_ms\":%.1f,"
           "\"update_p99_ms\":%.1f}\n",
           s50, s99, h50[0], h99[0], p50[0], p99[0], ls99[0], rps[1], h99[1], i50, l50[0], l50[1],
           i90, l90[0], i50 > 0 ? l50[0] / i50 : 0, i50 > 0 ? l50[1] / i50 : 0, over, u50, u99);
    return 0;
}
