/*
 * cmd_data.c — `nexus data download`: candles from a venue's REST klines
 * endpoint into the bundled CSV format (open_time_ms,open,high,low,close,
 * volume), for `nexus backtest`, `nexus train` and the feeds' replays.
 *
 *   nexus data download --venue V --symbol S --tf TF --from T --to T
 *                       --out FILE.csv [--base URL]
 *
 * Paging: each request asks for one window of at most a page of candles
 * (Binance USD-M 1500, spot 1000, Bybit 1000, Alpaca 1000), from --from
 * on, until --to: whichever order a venue lists a page in (Bybit newest
 * first), the window holds only that page's candles. Prices and volumes
 * are written as the venue wrote them (Alpaca's JSON numbers as their
 * shortest exact decimal, %.15g).
 *
 * Rate limits: Binance's request weight (the klines endpoint's, by page
 * size) is counted against 80% of the IP's 2400 (USD-M) or 6000 (spot)
 * per minute, and its X-MBX-USED-WEIGHT-1M header is believed when it
 * says more; Bybit's 600 requests per 5 s per IP and Alpaca's 200 per
 * minute, likewise at 80%; a 429 or 418 stops the download for its
 * Retry-After, then the same page is asked again. The file is written to
 * FILE.csv.part and renamed when whole: an interrupted download leaves no
 * file that looks complete.
 *
 * HTTP is libwebsockets' client (the library the feeds use): one
 * connection per request, TLS for https.
 */
#include "cli.h"

#include "nx/clock.h"
#include "nx/decode.h"
#include "nx/error.h"
#include "nx/venue.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX (8u << 20)

static void sleep_ns(int64_t ns)
{
    if (ns <= 0)
        return;
    struct timespec ts = {ns / NX_NS_PER_SEC, ns % NX_NS_PER_SEC};
    while (nanosleep(&ts, &ts) && errno == EINTR) {
    }
}

typedef struct http {
    char *body;
    size_t len;
    int status, retry_after_s, done, failed;
    long used_weight; /* X-MBX-USED-WEIGHT-1M, -1 if absent */
    const char *key_id, *secret; /* Alpaca's headers */
} http_t;

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    http_t *h = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        if (!h || !h->key_id)
            break;
        unsigned char **p = (unsigned char **)in, *end = (*p) + len;
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)"APCA-API-KEY-ID:",
                                        (const unsigned char *)h->key_id, (int)strlen(h->key_id),
                                        p, end) ||
            lws_add_http_header_by_name(wsi, (const unsigned char *)"APCA-API-SECRET-KEY:",
                                        (const unsigned char *)h->secret, (int)strlen(h->secret),
                                        p, end))
            return -1;
        break;
    }
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
        h->status = (int)lws_http_client_http_response(wsi);
        char v[32];
        if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_RETRY_AFTER) > 0)
            h->retry_after_s = atoi(v);
        if (lws_hdr_custom_copy(wsi, v, sizeof v, "x-mbx-used-weight-1m:", 21) > 0)
            h->used_weight = atol(v);
        break;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (h->len + len >= BODY_MAX) {
            h->failed = 1;
            return -1;
        }
        memcpy(h->body + h->len, in, len);
        h->len += len;
        h->body[h->len] = 0;
        break;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buffer[4096 + LWS_PRE];
        char *px = buffer + LWS_PRE;
        int lenx = sizeof buffer - LWS_PRE;
        if (lws_http_client_read(wsi, &px, &lenx) < 0)
            return -1;
        return 0;
    }
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        h->done = 1;
        return -1;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (h) {
            h->failed = 1;
            h->done = 1;
        }
        break;
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (h)
            h->done = 1;
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"nx-data", http_cb, 0, 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

typedef struct base {
    char host[256];
    int port, ssl;
    char prefix[128]; /* a path before the endpoint's, if the URL has one */
} base_t;

static int parse_base(const char *url, base_t *b)
{
    memset(b, 0, sizeof *b);
    const char *p;
    if (!strncmp(url, "https://", 8))
        b->ssl = 1, b->port = 443, p = url + 8;
    else if (!strncmp(url, "http://", 7))
        b->port = 80, p = url + 7;
    else
        return -1;
    size_t n = strcspn(p, ":/");
    if (!n || n >= sizeof b->host)
        return -1;
    memcpy(b->host, p, n);
    p += n;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (port <= 0 || port > 65535)
            return -1;
        b->port = (int)port;
        p = end;
    }
    snprintf(b->prefix, sizeof b->prefix, "%s", *p == '/' ? p : "");
    size_t l = strlen(b->prefix);
    if (l && b->prefix[l - 1] == '/')
        b->prefix[l - 1] = 0;
    return 0;
}

/* One GET; the answer in h. 0, or -1 when no answer came (connection). */
static int http_get(struct lws_context *ctx, const base_t *b, const char *path, http_t *h)
{
    char full[1024];
    snprintf(full, sizeof full, "%s%s", b->prefix, path);
    h->len = 0;
    h->body[0] = 0;
    h->status = 0;
    h->retry_after_s = 0;
    h->used_weight = -1;
    h->done = h->failed = 0;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.address = b->host;
    ci.port = b->port;
    ci.path = full;
    ci.host = b->host;
    ci.origin = b->host;
    ci.method = "GET";
    ci.ssl_connection = b->ssl ? LCCSCF_USE_SSL : 0;
    ci.protocol = protocols[0].name;
    ci.userdata = h;
    if (!lws_client_connect_via_info(&ci))
        return -1;
    int64_t deadline = nx_mono_ns() + 30 * NX_NS_PER_SEC;
    while (!h->done && nx_mono_ns() < deadline)
        lws_service(ctx, 100);
    return h->done && !h->failed && h->status ? 0 : -1;
}

/* ---- the venues ------------------------------------------------------------ */

typedef struct venue_api {
    nx_venue_t venue;
    const char *base;
    int page;          /* candles per request */
    int weight;        /* Binance: the request's weight at that page size */
    int budget;        /* per window, at 80% */
    int window_s;      /* the quota's window */
} venue_api_t;

static int api_of(nx_venue_t v, venue_api_t *a)
{
    memset(a, 0, sizeof *a);
    a->venue = v;
    switch (v) {
    case NX_VENUE_BINANCE_USDM: /* klines weight 10 at limit > 1000; 2400 per minute */
        *a = (venue_api_t){v, "https://fapi.binance.com", 1500, 10, 2400 * 8 / 10, 60};
        return 0;
    case NX_VENUE_BINANCE_SPOT: /* weight 2 at any limit; 6000 per minute */
        *a = (venue_api_t){v, "https://api.binance.com", 1000, 2, 6000 * 8 / 10, 60};
        return 0;
    case NX_VENUE_BYBIT_LINEAR:
    case NX_VENUE_BYBIT_SPOT: /* 600 requests per 5 s per IP */
        *a = (venue_api_t){v, "https://api.bybit.com", 1000, 1, 600 * 8 / 10, 5};
        return 0;
    case NX_VENUE_ALPACA: /* 200 requests per minute per key; pages of 1000 (10000 allowed) */
        *a = (venue_api_t){v, "https://data.alpaca.markets", 1000, 1, 200 * 8 / 10, 60};
        return 0;
    default:
        return -1;
    }
}

static const char *bybit_iv(uint32_t s, char *buf, size_t cap)
{
    if (s == 86400)
        return "D";
    if (s == 604800)
        return "W";
    snprintf(buf, cap, "%u", s / 60);
    return buf;
}

static const char *binance_iv(uint32_t s, char *buf, size_t cap)
{
    if (s % 86400 == 0)
        snprintf(buf, cap, "%ud", s / 86400);
    else if (s % 3600 == 0)
        snprintf(buf, cap, "%uh", s / 3600);
    else
        snprintf(buf, cap, "%um", s / 60);
    return buf;
}

/* Alpaca's RFC 3339 times: "2021-03-01T12:00:00Z" */
static void rfc3339(int64_t ms, char *out, size_t cap)
{
    int n = nx_utc_format(ms / 1000, out, cap);
    if (n > 0 && (size_t)n + 1 < cap)
        out[n] = 'Z', out[n + 1] = 0;
}

static void request_path(const venue_api_t *a, const char *sym, uint32_t tf_s, int64_t from_ms,
                         int64_t to_ms, const char *page_token, char *out, size_t cap)
{
    char iv[16], f[40], t[40];
    switch (a->venue) {
    case NX_VENUE_BINANCE_USDM:
    case NX_VENUE_BINANCE_SPOT:
        snprintf(out, cap, "%s?symbol=%s&interval=%s&startTime=%lld&endTime=%lld&limit=%d",
                 a->venue == NX_VENUE_BINANCE_USDM ? "/fapi/v1/klines" : "/api/v3/klines", sym,
                 binance_iv(tf_s, iv, sizeof iv), (long long)from_ms, (long long)to_ms, a->page);
        break;
    case NX_VENUE_BYBIT_LINEAR:
    case NX_VENUE_BYBIT_SPOT:
        snprintf(out, cap, "/v5/market/kline?category=%s&symbol=%s&interval=%s&start=%lld&end=%lld"
                 "&limit=%d",
                 a->venue == NX_VENUE_BYBIT_LINEAR ? "linear" : "spot", sym,
                 bybit_iv(tf_s, iv, sizeof iv), (long long)from_ms, (long long)to_ms, a->page);
        break;
    default: /* Alpaca */
        rfc3339(from_ms, f, sizeof f);
        rfc3339(to_ms, t, sizeof t);
        if (tf_s % 86400 == 0)
            snprintf(iv, sizeof iv, "%uDay", tf_s / 86400);
        else if (tf_s % 3600 == 0)
            snprintf(iv, sizeof iv, "%uHour", tf_s / 3600);
        else
            snprintf(iv, sizeof iv, "%uMin", tf_s / 60);
        snprintf(out, cap, "/v2/stocks/%s/bars?timeframe=%s&start=%s&end=%s&limit=%d%s%s", sym, iv,
                 f, t, a->page, page_token && *page_token ? "&page_token=" : "",
                 page_token && *page_token ? page_token : "");
        break;
    }
}

typedef struct row {
    int64_t t;
    char f[5][40]; /* open, high, low, close, volume */
} row_t;

static int text_of(json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        return snprintf(out, cap, "%s", json_string_value(v)) < (int)cap ? 0 : -1;
    if (json_is_integer(v))
        return snprintf(out, cap, "%lld", (long long)json_integer_value(v)), 0;
    if (json_is_real(v))
        return snprintf(out, cap, "%.15g", json_real_value(v)), 0;
    return -1;
}

/* The page's candles into rows (any order); the next page token (Alpaca).
 * The number of rows, or -1 with the reason in why. */
static int parse_page(const venue_api_t *a, const char *body, row_t *rows, int cap,
                      char *token, size_t tcap, char *why, size_t wcap)
{
    json_error_t err;
    json_t *j = json_loads(body, 0, &err);
    if (!j) {
        snprintf(why, wcap, "the answer is not JSON (%s)", err.text);
        return -1;
    }
    json_t *list = j;
    *token = 0;
    if (a->venue == NX_VENUE_BYBIT_LINEAR || a->venue == NX_VENUE_BYBIT_SPOT) {
        json_t *rc = json_object_get(j, "retCode");
        if (json_integer_value(rc) != 0) {
            const char *m = json_string_value(json_object_get(j, "retMsg"));
            snprintf(why, wcap, "Bybit answered retCode %lld: %s", (long long)json_integer_value(rc),
                     m ? m : "?");
            json_decref(j);
            return -1;
        }
        list = json_object_get(json_object_get(j, "result"), "list");
    } else if (a->venue == NX_VENUE_ALPACA) {
        list = json_object_get(j, "bars");
        const char *t = json_string_value(json_object_get(j, "next_page_token"));
        if (t)
            snprintf(token, tcap, "%s", t);
        if (json_is_null(list)) { /* no bars in the window */
            json_decref(j);
            return 0;
        }
    }
    if (!json_is_array(list)) {
        snprintf(why, wcap, "no list of candles in the answer");
        json_decref(j);
        return -1;
    }
    int n = 0;
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x)
    {
        if (n == cap)
            break;
        row_t *r = &rows[n];
        int bad = 0;
        if (a->venue == NX_VENUE_ALPACA) {
            const char *ts = json_string_value(json_object_get(x, "t"));
            int64_t ns;
            static const char *const k[] = {"o", "h", "l", "c", "v"};
            if (!ts || nx_rfc3339_ns(ts, strlen(ts), &ns))
                bad = 1;
            else
                r->t = ns / NX_NS_PER_MS;
            for (int f = 0; f < 5 && !bad; f++)
                bad = text_of(json_object_get(x, k[f]), r->f[f], sizeof r->f[f]);
        } else {
            json_t *t0 = json_array_get(x, 0);
            if (json_is_integer(t0))
                r->t = json_integer_value(t0);
            else if (json_is_string(t0))
                r->t = strtoll(json_string_value(t0), NULL, 10);
            else
                bad = 1;
            for (int f = 0; f < 5 && !bad; f++)
                bad = text_of(json_array_get(x, (size_t)f + 1), r->f[f], sizeof r->f[f]);
        }
        if (bad) {
            snprintf(why, wcap, "candle %zu of a page is not what the venue documents", i + 1);
            json_decref(j);
            return -1;
        }
        n++;
    }
    json_decref(j);
    return n;
}

static int by_time(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}


static uint32_t parse_tf(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (n <= 0)
        return 0;
    long mult = !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : 0;
    return mult && n * mult <= 86400 ? (uint32_t)(n * mult) : 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: nexus data download --venue V --symbol S --tf TF --from T --to T --out F.csv\n"
            "                           [--base URL]\n\n"
            "Candles from the venue's REST klines endpoint into the CSV nexus backtest, nexus\n"
            "train and the feeds' replays read (open_time_ms,open,high,low,close,volume), page\n"
            "by page within the venue's rate limits (at most 80%% of each).\n\n"
            "  --venue V   binance-usdm, binance-spot, bybit-linear, bybit-spot or alpaca\n"
            "              (Alpaca's keys from NEXUS_ALPACA_KEY_ID, NEXUS_ALPACA_SECRET_KEY)\n"
            "  --symbol S  the venue's spelling: BTCUSDT, AAPL\n"
            "  --tf TF     1m, 5m, 15m, 1h, 4h, 1d ...\n"
            "  --from T, --to T   2021-03-01, 2021-03-01T12:00:00 (UTC) or ms since the epoch;\n"
            "              candles that open from --from up to before --to\n"
            "  --out F     the CSV (written as F.part, renamed when whole)\n"
            "  --base URL  another server than the venue's (a test's `nexus replay`)\n");
}

static int download(int argc, char **argv)
{
    static const struct option opts[] = {
        {"venue", required_argument, 0, 'v'}, {"symbol", required_argument, 0, 's'},
        {"tf", required_argument, 0, 't'},    {"from", required_argument, 0, 'f'},
        {"to", required_argument, 0, 'T'},    {"out", required_argument, 0, 'o'},
        {"base", required_argument, 0, 'b'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *venue_s = NULL, *sym = NULL, *tf_s = NULL, *from_s = NULL, *to_s = NULL,
               *out = NULL, *base_s = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'v': venue_s = optarg; break;
        case 's': sym = optarg; break;
        case 't': tf_s = optarg; break;
        case 'f': from_s = optarg; break;
        case 'T': to_s = optarg; break;
        case 'o': out = optarg; break;
        case 'b': base_s = optarg; break;
        case 'h': usage(stdout); return NX_EXIT_OK;
        default: usage(stderr); return NX_EXIT_USAGE;
        }
    }
    if (!venue_s || !sym || !tf_s || !from_s || !to_s || !out || optind != argc) {
        usage(stderr);
        return NX_EXIT_USAGE;
    }
    venue_api_t a;
    nx_venue_t v = nx_venue_parse(venue_s, strlen(venue_s));
    if (api_of(v, &a)) {
        fprintf(stderr, "nexus data download: --venue %s: one of binance-usdm, binance-spot, "
                        "bybit-linear, bybit-spot, alpaca\n", venue_s);
        return NX_EXIT_USAGE;
    }
    uint32_t tf = parse_tf(tf_s);
    int64_t from = nx_cli_parse_time(from_s), to = nx_cli_parse_time(to_s);
    from = from < 0 ? -1 : from / NX_NS_PER_MS;
    to = to < 0 ? -1 : to / NX_NS_PER_MS;
    if (!tf) {
        fprintf(stderr, "nexus data download: --tf %s: want 1m, 15m, 1h, 4h, 1d ... (a day at "
                        "most)\n", tf_s);
        return NX_EXIT_USAGE;
    }
    if (from < 0 || to < 0 || to <= from) {
        fprintf(stderr, "nexus data download: --from and --to: two times, --from first "
                        "(2021-03-01, 2021-03-01T12:00:00 UTC, or ms since the epoch)\n");
        return NX_EXIT_USAGE;
    }
    for (const char *p = sym; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')) {
            fprintf(stderr, "nexus data download: --symbol %s: upper-case letters and digits, "
                            "as the venue spells it\n", sym);
            return NX_EXIT_USAGE;
        }
    base_t b;
    if (parse_base(base_s ? base_s : a.base, &b)) {
        fprintf(stderr, "nexus data download: --base %s: want http(s)://host[:port]\n", base_s);
        return NX_EXIT_USAGE;
    }
    static http_t h;
    memset(&h, 0, sizeof h);
    if (v == NX_VENUE_ALPACA) {
        h.key_id = getenv("NEXUS_ALPACA_KEY_ID");
        h.secret = getenv("NEXUS_ALPACA_SECRET_KEY");
        if (!h.key_id || !h.secret) {
            fprintf(stderr, "nexus data download: Alpaca wants NEXUS_ALPACA_KEY_ID and "
                            "NEXUS_ALPACA_SECRET_KEY in the environment\n");
            return NX_EXIT_CONFIG;
        }
    }
    char part[4200];
    snprintf(part, sizeof part, "%s.part", out);
    FILE *f = fopen(part, "w");
    if (!f) {
        fprintf(stderr, "nexus data download: cannot write %s: %s\n", part, strerror(errno));
        return NX_EXIT_CONFIG;
    }
    lws_set_log_level(0, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    struct lws_context *ctx = lws_create_context(&info);
    row_t *rows = calloc((size_t)a.page, sizeof *rows);
    if (!ctx || !(h.body = malloc(BODY_MAX)) || !rows) {
        fprintf(stderr, "nexus data download: cannot start (out of memory?)\n");
        fclose(f);
        unlink(part);
        if (ctx)
            lws_context_destroy(ctx);
        free(h.body);
        free(rows);
        return NX_EXIT_FAIL;
    }
    fprintf(f, "open_time_ms,open,high,low,close,volume\n");
    /* the quota: what this download spent in its current window */
    int64_t win_start = nx_mono_ns(), spent = 0;
    int64_t at = from - from % ((int64_t)tf * 1000); /* a candle's open */
    if (at < from)
        at += (int64_t)tf * 1000;
    int64_t last = INT64_MIN;
    uint64_t total = 0, requests = 0, waits = 0;
    int rc = NX_EXIT_OK, tries = 0;
    char token[512] = "", why[256];
    while (at < to) {
        int64_t end = at + (int64_t)a.page * tf * 1000 - 1; /* one page of candles at most */
        if (end >= to)
            end = to - 1;
        int64_t now = nx_mono_ns();
        if (now - win_start >= (int64_t)a.window_s * NX_NS_PER_SEC)
            win_start = now, spent = 0;
        if (spent + a.weight > a.budget) { /* at 80%: wait for the next window */
            waits++;
            sleep_ns(win_start + (int64_t)a.window_s * NX_NS_PER_SEC - now);
            continue;
        }
        char path[1024];
        request_path(&a, sym, tf, at, end, token, path, sizeof path);
        spent += a.weight;
        requests++;
        if (http_get(ctx, &b, path, &h)) {
            if (++tries >= 5) {
                fprintf(stderr, "nexus data download: no answer from %s:%d after 5 tries\n",
                        b.host, b.port);
                rc = NX_EXIT_FAIL;
                break;
            }
            sleep_ns((int64_t)tries * NX_NS_PER_SEC);
            continue;
        }
        if (h.used_weight >= 0 && h.used_weight > spent) /* others on this IP spend too */
            spent = h.used_weight;
        if (h.status == 429 || h.status == 418) {
            int s = h.retry_after_s > 0 ? h.retry_after_s : 60;
            fprintf(stderr, "nexus data download: the venue asks to wait (HTTP %d): %d s\n",
                    h.status, s);
            waits++;
            sleep_ns((int64_t)s * NX_NS_PER_SEC);
            continue;
        }
        if (h.status != 200) {
            fprintf(stderr, "nexus data download: HTTP %d for %s: %.300s\n", h.status, path,
                    h.body);
            rc = h.status >= 500 ? NX_EXIT_FAIL : NX_EXIT_CONFIG;
            break;
        }
        tries = 0;
        int n = parse_page(&a, h.body, rows, a.page, token, sizeof token, why, sizeof why);
        if (n < 0) {
            fprintf(stderr, "nexus data download: %s: %s\n", path, why);
            rc = NX_EXIT_FAIL;
            break;
        }
        qsort(rows, (size_t)n, sizeof *rows, by_time);
        for (int i = 0; i < n; i++) {
            if (rows[i].t < at || rows[i].t > end || rows[i].t <= last)
                continue; /* outside the window asked for, or written already */
            fprintf(f, "%lld,%s,%s,%s,%s,%s\n", (long long)rows[i].t, rows[i].f[0], rows[i].f[1],
                    rows[i].f[2], rows[i].f[3], rows[i].f[4]);
            last = rows[i].t;
            total++;
        }
        if (*token)
            continue; /* Alpaca: the same window's next page */
        at = end + 1;
    }
    lws_context_destroy(ctx);
    free(h.body);
    free(rows);
    if (fclose(f) && rc == NX_EXIT_OK) {
        fprintf(stderr, "nexus data download: cannot write %s\n", part);
        rc = NX_EXIT_FAIL;
    }
    if (rc != NX_EXIT_OK) {
        unlink(part);
        return rc;
    }
    if (!total) {
        unlink(part);
        fprintf(stderr, "nexus data download: the venue has no %s %s candles between --from and "
                        "--to\n", sym, tf_s);
        return NX_EXIT_CONFIG;
    }
    if (rename(part, out)) {
        fprintf(stderr, "nexus data download: cannot rename %s to %s: %s\n", part, out,
                strerror(errno));
        return NX_EXIT_FAIL;
    }
    printf("downloaded %llu %s %s candles into %s (%llu requests%s)\n", (unsigned long long)total,
           sym, tf_s, out, (unsigned long long)requests,
           waits ? ", waited for the venue's rate limit" : "");
    return NX_EXIT_OK;
}

int nx_cmd_data(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "download"))
        return download(argc - 1, argv + 1);
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return NX_EXIT_OK;
    }
    usage(stderr);
    return NX_EXIT_USAGE;
}
