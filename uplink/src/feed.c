/*
 * feed.c — venue connections, subscriptions, reconnects, backfill and book
 * resync on the network thread (see feed.h). Each feed's connections run on
 * its own client vhost of the process's loop (net.h).
 *
 * Workload: a few connections, 10^2..10^5 frames/s in bursts, a REST call
 * now and then. Frames go through the decoder straight into the market
 * ring; only closed klines take a detour through the continuity filter
 * (the decoder holds the frame, the filter suppresses duplicates and holds
 * back klines that arrive ahead of a gap, then the frame is published).
 * Everything else here is control: one 50 ms timer per feed drives the
 * watchdog, reconnect backoff, Bybit pings, connection renewal and queued
 * REST requests.
 */
#include "nx/feed.h"
#include "nx/clock.h"

#include "decode_impl.h"
#include "nx/book.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"

#include <libwebsockets.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REST_SLOTS 8
#define REST_BUF   (4u << 20)
#define FRAME_BUF  (4u << 20)
#define STASH      64
#define TICK_US    50000

enum { LEG_DOWN = 0, LEG_CONNECTING, LEG_UP };
enum { REST_KLINES = 1, REST_DEPTH };

typedef struct leg {
    struct nx_feed *f;
    int idx; /* 0 = market/main, 1 = public (Binance book streams) */
    struct lws *wsi;
    int state;
    int close_now;
    char *buf; /* frame assembly */
    size_t len;
    int64_t last_rx_ns, down_since_ns, up_since_ns, reconnect_at_ns, last_ping_ns;
    int64_t last_tx_ns; /* last control message sent (pacing) */
    uint32_t attempts;
    int alpaca_state;  /* 0 wait "connected", 1 auth sent, 2 subscribed */
    char out[8][4096]; /* queued control messages */
    uint32_t out_head, out_tail;
    int ever_up;
} leg_t;

typedef struct rest {
    struct nx_feed *f;
    int used, kind, inflight;
    uint32_t symbol;
    struct lws *wsi;
    char path[512];
    char *buf;
    size_t len;
    int status, retry_after_s, completed;
    int64_t not_before_ns;
    int closing;  /* its answer is handled, its connection not yet closed: not reused */
    int oversize; /* the answer outgrew REST_BUF: dropped, not parsed */
} rest_t;

typedef struct sym_state {
    uint16_t refs[5];       /* per stream bit */
    int64_t last_closed_ms; /* open time of the last published closed kline, -1 none */
    uint32_t interval_s;
    int backfill_inflight, backfill_retried;
    uint64_t book_msgs_seen; /* book messages applied at the last check */
    int64_t book_changed_ns; /* when that count last moved */
    nx_event_t stash[STASH];
    uint32_t nstash;
} sym_state_t;

struct nx_feed {
    struct lws_context *ctx; /* the net's (net.h) */
    struct lws_vhost *vh;    /* this feed's client vhost on it (freed with the net) */
    nx_clock_t *clock;       /* the net's: receive time stamps */
    nx_feed_opts_t o;
    char ws_prot[8], ws_host[128], ws_base[256];
    int ws_port, ws_ssl;
    char rest_prot[8], rest_host[128], rest_base[256];
    int rest_port, rest_ssl;
    char kline_iv[16];
    nx_symtab_t *symtab;
    nx_ring_t *ring;
    nx_decoder_t dec;
    nx_bookset_t books;
    leg_t legs[2];
    int nlegs;
    sym_state_t *syms;
    rest_t rest[REST_SLOTS];
    nx_feed_stats_t st;
    int started, stopped;
    uint64_t req_id;
    lws_sorted_usec_list_t tick;
};

/* Stats are written by the network thread and read by others: relaxed
 * atomics keep that well defined (every field is 64 bits). */
#define ST_ADD(f, field, n) __atomic_fetch_add(&(f)->st.field, (n), __ATOMIC_RELAXED)
#define ST_SET(f, field, v) __atomic_store_n(&(f)->st.field, (v), __ATOMIC_RELAXED)

static int64_t now_ns(const nx_feed_t *f)
{
    (void)f;
    return nx_mono_ns();
}

static int is_binance(const nx_feed_t *f)
{
    return f->o.venue == NX_VENUE_BINANCE_USDM || f->o.venue == NX_VENUE_BINANCE_SPOT;
}

static int is_bybit(const nx_feed_t *f)
{
    return f->o.venue == NX_VENUE_BYBIT_LINEAR || f->o.venue == NX_VENUE_BYBIT_SPOT;
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i < cap - 1; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = 0;
}

/* ---------- subscriptions ---------- */

static unsigned wire(const nx_feed_t *f, uint32_t sym)
{
    unsigned m = 0;
    for (int b = 0; b < 5; b++)
        if (f->syms[sym].refs[b])
            m |= 1u << b;
    return m;
}

unsigned nx_feed_wire_streams(const nx_feed_t *f, uint32_t symbol)
{
    return symbol < NX_SYMTAB_MAX ? wire(f, symbol) : 0;
}

/* Which leg carries a stream (Binance USD-M routes book streams to /public). */
static int leg_of(const nx_feed_t *f, unsigned stream)
{
    if (f->o.venue == NX_VENUE_BINANCE_USDM && (stream & (NX_FEED_BOOK | NX_FEED_BBO)))
        return 1;
    return 0;
}

/* Venue names of one stream for a symbol; returns how many (0..1). */
static int stream_name(const nx_feed_t *f, uint32_t sym, unsigned stream, char *out, size_t cap)
{
    const nx_symbol_t *s = nx_symtab_get(f->symtab, sym);
    if (!s)
        return 0;
    char l[32];
    lower(s->name, l, sizeof l);
    if (is_binance(f)) {
        switch (stream) {
        case NX_FEED_TRADES:
            snprintf(out, cap, "%s@aggTrade", l);
            return 1;
        case NX_FEED_BBO:
            snprintf(out, cap, "%s@bookTicker", l);
            return 1;
        case NX_FEED_KLINES:
            snprintf(out, cap, "%s@kline_%s", l, f->kline_iv);
            return 1;
        case NX_FEED_BOOK:
            snprintf(out, cap, "%s@depth@100ms", l);
            return 1;
        case NX_FEED_MARK:
            if (f->o.venue != NX_VENUE_BINANCE_USDM)
                return 0;
            snprintf(out, cap, "%s@markPrice@1s", l);
            return 1;
        }
        return 0;
    }
    if (is_bybit(f)) {
        switch (stream) {
        case NX_FEED_TRADES:
            snprintf(out, cap, "publicTrade.%s", s->name);
            return 1;
        case NX_FEED_BBO:
        case NX_FEED_MARK:
            snprintf(out, cap, "tickers.%s", s->name);
            return 1;
        case NX_FEED_KLINES:
            snprintf(out, cap, "kline.%s.%s", f->kline_iv, s->name);
            return 1;
        case NX_FEED_BOOK: {
            /* Bybit serves depths 1, 50, 200 and 500 (linear); take the
             * smallest that covers the depth kept. */
            uint32_t d = f->o.book_depth;
            unsigned t = d <= 1 ? 1 : d <= 50 ? 50 : d <= 200 ? 200 : 500;
            snprintf(out, cap, "orderbook.%u.%s", t, s->name);
            return 1;
        }
        }
        return 0;
    }
    snprintf(out, cap, "%s", s->name); /* Alpaca lists symbols per channel */
    return 1;
}

/* A counted drop: the first of each kind is logged at once (the keyed log
 * then debounces the rest), and every one shows in the feed's stats
 * (/health, the stop summary). */
static void dropped(nx_feed_t *f, uint64_t *counter, const char *key, const char *what)
{
    if (__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED) == 0)
        NX_LOGK(NX_LOG_WARN, "feed", key, "%s: %s (counted in /health)",
                nx_venue_name(f->o.venue), what);
}

static void queue_out(leg_t *l, const char *msg)
{
    if (l->out_tail - l->out_head >= 8) {
        /* a burst of subscription changes: the next connect sends all */
        dropped(l->f, &l->f->st.control_dropped, "feed.control_dropped",
                "a subscription change was dropped: 8 already wait on the connection");
        return;
    }
    snprintf(l->out[l->out_tail++ % 8], sizeof l->out[0], "%s", msg);
    if (l->wsi)
        lws_callback_on_writable(l->wsi);
}

/* Bybit carries BBO and MARK in one topic (tickers.<symbol>), which must go
 * on the wire with the first of them and off with the last. Is the topic
 * `name` of stream b also that of a stream wired apart from `streams`
 * (already subscribed, or still in use), or of one earlier in `streams`
 * (sent once for both)? */
static int bybit_topic_shared(const nx_feed_t *f, uint32_t sym, unsigned b, unsigned streams,
                              const char *name)
{
    unsigned others = (wire(f, sym) & ~streams) | (streams & (b - 1));
    char n2[96];
    for (unsigned o = 1; o <= NX_FEED_MARK; o <<= 1)
        if ((others & o) && stream_name(f, sym, o, n2, sizeof n2) && !strcmp(n2, name))
            return 1;
    return 0;
}

/* Send the (un)subscription for these streams of a symbol on a live leg.
 * Called after the references changed: wire() already says what stays. */
static void wire_change(nx_feed_t *f, uint32_t sym, unsigned streams, int sub)
{
    char msg[1024], name[96];
    for (unsigned b = 1; b <= NX_FEED_MARK; b <<= 1) {
        if (!(streams & b) || !stream_name(f, sym, b, name, sizeof name))
            continue;
        if (is_bybit(f) && bybit_topic_shared(f, sym, b, streams, name))
            continue;
        leg_t *l = &f->legs[leg_of(f, b)];
        if (l->state != LEG_UP) {
            if (sub && f->started && l->state == LEG_DOWN && !l->reconnect_at_ns)
                l->reconnect_at_ns = now_ns(f); /* bring the leg up at the next tick */
            continue;
        }
        if (is_binance(f))
            snprintf(msg, sizeof msg, "{\"method\":\"%s\",\"params\":[\"%s\"],\"id\":%llu}",
                     sub ? "SUBSCRIBE" : "UNSUBSCRIBE", name, (unsigned long long)++f->req_id);
        else if (is_bybit(f))
            snprintf(msg, sizeof msg, "{\"op\":\"%s\",\"args\":[\"%s\"],\"req_id\":\"%llu\"}",
                     sub ? "subscribe" : "unsubscribe", name, (unsigned long long)++f->req_id);
        else {
            const char *ch = b == NX_FEED_TRADES ? "trades" : b == NX_FEED_BBO ? "quotes" : "bars";
            if (b == NX_FEED_BOOK || b == NX_FEED_MARK)
                continue;
            snprintf(msg, sizeof msg, "{\"action\":\"%s\",\"%s\":[\"%s\"]}",
                     sub ? "subscribe" : "unsubscribe", ch, name);
        }
        queue_out(l, msg);
    }
}

int nx_feed_subscribe(nx_feed_t *f, uint32_t symbol, unsigned streams)
{
    if (!nx_symtab_get(f->symtab, symbol) || !streams || streams > 31)
        return NX_EINVAL;
    unsigned fresh = 0;
    for (int b = 0; b < 5; b++) {
        if (!(streams & (1u << b)))
            continue;
        if (f->syms[symbol].refs[b]++ == 0)
            fresh |= 1u << b;
    }
    if (fresh)
        wire_change(f, symbol, fresh, 1);
    return 0;
}

int nx_feed_unsubscribe(nx_feed_t *f, uint32_t symbol, unsigned streams)
{
    if (!nx_symtab_get(f->symtab, symbol) || !streams || streams > 31)
        return NX_EINVAL;
    unsigned gone = 0;
    for (int b = 0; b < 5; b++) {
        if (!(streams & (1u << b)) || !f->syms[symbol].refs[b])
            continue;
        if (--f->syms[symbol].refs[b] == 0)
            gone |= 1u << b;
    }
    if (gone)
        wire_change(f, symbol, gone, 0);
    return 0;
}

/* ---------- REST ---------- */

static void rest_dispatch(nx_feed_t *f);
static void on_book_gap(void *ctx, uint32_t sym);

static int rest_queue(nx_feed_t *f, int kind, uint32_t sym, const char *path)
{
    for (int i = 0; i < REST_SLOTS; i++) {
        rest_t *q = &f->rest[i];
        if (q->used && q->kind == kind && q->symbol == sym && !strcmp(q->path, path))
            return 0; /* already queued */
    }
    for (int i = 0; i < REST_SLOTS; i++) {
        rest_t *q = &f->rest[i];
        if (q->used || q->closing)
            continue;
        q->used = 1;
        ST_ADD(f, rest_pending, 1);
        q->kind = kind;
        q->symbol = sym;
        q->inflight = 0;
        q->not_before_ns = 0;
        snprintf(q->path, sizeof q->path, "%s%s", f->rest_base, path);
        rest_dispatch(f);
        return 0;
    }
    return NX_EFULL;
}

static void rest_dispatch(nx_feed_t *f)
{
    int64_t now = now_ns(f);
    if (now < f->st.rest_blocked_until_ns)
        return; /* Retry-After in force */
    for (int i = 0; i < REST_SLOTS; i++) {
        rest_t *q = &f->rest[i];
        if (!q->used || q->inflight || q->closing || now < q->not_before_ns)
            continue;
        struct lws_client_connect_info ci;
        memset(&ci, 0, sizeof ci);
        ci.context = f->ctx;
        ci.vhost = f->vh;
        ci.address = f->rest_host;
        ci.port = f->rest_port;
        ci.path = q->path;
        ci.host = f->rest_host;
        ci.origin = f->rest_host;
        ci.method = "GET";
        ci.ssl_connection = f->rest_ssl ? LCCSCF_USE_SSL : 0;
        ci.local_protocol_name = "nx-rest";
        ci.userdata = q;
        ci.pwsi = &q->wsi;
        q->len = 0;
        q->oversize = 0;
        q->status = 0;
        q->completed = 0;
        q->retry_after_s = 0;
        q->inflight = 1;
        ST_ADD(f, rest_requests, 1);
        if (f->st.last_429_ns && !f->st.first_rest_after_429_ns)
            ST_SET(f, first_rest_after_429_ns, now);
        if (!lws_client_connect_via_info(&ci)) {
            q->inflight = 0;
            q->not_before_ns = now + 200 * NX_NS_PER_MS;
            ST_ADD(f, rest_errors, 1);
        }
    }
}

static void publish_kline(nx_feed_t *f, uint32_t sym, const nx_ev_kline_t *k, int64_t exch_ns,
                          uint16_t flags)
{
    uint64_t seq;
    if (nx_bus_claim(f->ring, 1, &seq) != 1) {
        f->dec.st.dropped++;
        return;
    }
    nx_event_t *e = nx_bus_event(f->ring, seq);
    e->hdr.type = NX_EV_KLINE;
    e->hdr.venue = (uint8_t)f->o.venue;
    e->hdr.flags |= flags;
    e->hdr.symbol = sym;
    e->hdr.exch_ns = exch_ns;
    e->hdr.recv_ns = nx_clock_now(f->clock);
    e->u.kline = *k;
    nx_ring_publish(f->ring, seq + 1);
    f->dec.st.events++;
    f->dec.st.by_type[NX_EV_KLINE]++;
}

static void request_backfill(nx_feed_t *f, uint32_t sym)
{
    sym_state_t *s = &f->syms[sym];
    if (s->backfill_inflight || s->last_closed_ms < 0 || !s->interval_s)
        return;
    const nx_symbol_t *ss = nx_symtab_get(f->symtab, sym);
    int64_t from = s->last_closed_ms + (int64_t)s->interval_s * 1000;
    char path[400];
    if (f->o.venue == NX_VENUE_BINANCE_USDM)
        snprintf(path, sizeof path,
                 "/fapi/v1/klines?symbol=%s&interval=%s&startTime=%lld&limit=1500", ss->name,
                 f->kline_iv, (long long)from);
    else if (f->o.venue == NX_VENUE_BINANCE_SPOT)
        snprintf(path, sizeof path,
                 "/api/v3/klines?symbol=%s&interval=%s&startTime=%lld&limit=1000", ss->name,
                 f->kline_iv, (long long)from);
    else if (is_bybit(f))
        snprintf(path, sizeof path,
                 "/v5/market/kline?category=%s&symbol=%s&interval=%s&start=%lld&limit=1000",
                 f->o.venue == NX_VENUE_BYBIT_SPOT ? "spot" : "linear", ss->name, f->kline_iv,
                 (long long)from);
    else {
        char ts[40];
        int tl = nx_utc_format(from / 1000, ts, sizeof ts - 1);
        ts[tl] = 'Z';
        ts[tl + 1] = 0;
        snprintf(path, sizeof path, "/v2/stocks/%s/bars?timeframe=1Min&start=%s&limit=10000",
                 ss->name, ts);
    }
    if (rest_queue(f, REST_KLINES, sym, path) == 0) {
        s->backfill_inflight = 1;
        ST_ADD(f, backfill_requests, 1);
    }
}

static void request_depth(nx_feed_t *f, uint32_t sym)
{
    const nx_symbol_t *ss = nx_symtab_get(f->symtab, sym);
    char path[200];
    snprintf(path, sizeof path, "%s?symbol=%s&limit=1000",
             f->o.venue == NX_VENUE_BINANCE_USDM ? "/fapi/v1/depth" : "/api/v3/depth", ss->name);
    rest_queue(f, REST_DEPTH, sym, path);
}

/* Publish the candles of a REST kline answer (read by the venue's parser:
 * nx__rest_klines) after the last one published; then release the stash. */
static int on_klines(nx_feed_t *f, rest_t *q)
{
    sym_state_t *s = &f->syms[q->symbol];
    /* One page: the largest asked for is Binance USD-M's 1500. */
    enum { MAXK = 1500 };
    static nx_ev_kline_t ks[MAXK];
    uint32_t nk = 0, iv = s->interval_s ? s->interval_s : 60;
    uint64_t bad[NX_BAD_COUNT] = {0}, nbad = 0;
    int rc = nx__rest_klines(f->o.venue, q->buf, q->len, nx_symtab_get(f->symtab, q->symbol), iv,
                             ks, MAXK, &nk, bad);
    if (rc < 0)
        return -1;
    /* rc == NX_REST_NOLIST (Alpaca's "bars":null when the range has none):
     * no candle, as an empty list; the stash is released below. */
    for (int k = 0; k < NX_BAD_COUNT; k++) {
        if (bad[k])
            __atomic_fetch_add(&f->dec.st.bad[k], bad[k], __ATOMIC_RELAXED);
        nbad += bad[k];
    }
    int64_t ivms = (int64_t)iv * 1000;
    for (uint32_t i = 0; i < nk; i++) {
        if (ks[i].open_ms <= s->last_closed_ms)
            continue;
        publish_kline(f, q->symbol, &ks[i], (ks[i].open_ms + ivms) * NX_NS_PER_MS, NX_EVF_BACKFILL);
        s->last_closed_ms = ks[i].open_ms;
        ST_ADD(f, backfill_klines, 1);
    }
    s->backfill_inflight = 0;
    /* A full page (counting the candles left out): there is more. */
    if (nk + nbad >= 1000) {
        request_backfill(f, q->symbol);
        return 0;
    }
    /* Release held-back live klines in order. A hole left before one of them
     * is asked for once more (the REST answer may predate it); after that
     * the venue has no candle there and the gap is real. */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < s->nstash; i++) {
        nx_event_t *e = &s->stash[i];
        int64_t open = e->u.kline.open_ms;
        if (open <= s->last_closed_ms) {
            ST_ADD(f, klines_suppressed, 1);
            continue;
        }
        if (open > s->last_closed_ms + ivms && !s->backfill_retried) {
            s->stash[keep++] = *e;
            continue;
        }
        publish_kline(f, q->symbol, &e->u.kline, e->hdr.exch_ns, 0);
        s->last_closed_ms = open;
    }
    s->nstash = keep;
    if (keep) {
        s->backfill_retried = 1;
        request_backfill(f, q->symbol);
    } else {
        s->backfill_retried = 0;
    }
    return 0;
}

static void on_depth(nx_feed_t *f, rest_t *q)
{
    uint64_t first;
    f->dec.recv_ns = nx_clock_now(f->clock);
    int n = nx_decode_binance_depth_snapshot(&f->dec, q->symbol, q->buf, q->len, &first);
    if (n < 0) {
        ST_ADD(f, rest_errors, 1);
        NX_LOGK(NX_LOG_WARN, "feed", "feed.depth", "%s: bad depth snapshot: %s",
                nx_venue_name(f->o.venue), f->dec.last_error);
        return;
    }
    nx_bookset_apply(&f->books, &f->dec, first, (uint32_t)n);
}

static void rest_done(nx_feed_t *f, rest_t *q)
{
    int64_t now = now_ns(f);
    q->inflight = 0;
    if (q->status == 429 || q->status == 418) {
        /* Honour Retry-After; without one, 418 (an IP ban) waits longer. */
        int ra = q->retry_after_s > 0 ? q->retry_after_s : q->status == 418 ? 120 : 5;
        ST_SET(f, rest_blocked_until_ns, now + (int64_t)ra * NX_NS_PER_SEC);
        ST_SET(f, last_429_ns, now);
        ST_SET(f, first_rest_after_429_ns, 0);
        ST_ADD(f, http429, 1);
        NX_LOGK(NX_LOG_WARN, "feed", "feed.429", "%s: REST answered %d; waiting %d s (Retry-After)",
                nx_venue_name(f->o.venue), q->status, ra);
        return; /* stays queued */
    }
    if (q->status != 200 || !q->completed || q->oversize) {
        /* an answer over REST_BUF was dropped whole (counted): asked again */
        ST_ADD(f, rest_errors, 1);
        q->not_before_ns = now + 500 * NX_NS_PER_MS;
        return; /* retried */
    }
    int ok = 0;
    if (q->kind == REST_KLINES) {
        ok = on_klines(f, q) == 0;
        if (!ok)
            f->syms[q->symbol].backfill_inflight = 0;
    } else {
        on_depth(f, q);
        ok = 1;
    }
    if (!ok)
        ST_ADD(f, rest_errors, 1);
    q->used = 0;
    ST_ADD(f, rest_pending, (uint64_t)-1);
}

static int rest_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    rest_t *q = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
        q->status = (int)lws_http_client_http_response(wsi);
        char ra[32];
        if (lws_hdr_copy(wsi, ra, sizeof ra, WSI_TOKEN_HTTP_RETRY_AFTER) > 0)
            q->retry_after_s = atoi(ra);
        break;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (q->len + len < REST_BUF) {
            memcpy(q->buf + q->len, in, len);
            q->len += len;
            q->buf[q->len] = 0;
        } else if (!q->oversize) { /* never parsed cut: retried by rest_done */
            q->oversize = 1;
            dropped(q->f, &q->f->st.rest_oversize, "feed.rest_oversize",
                    "a REST answer over 4 MiB was dropped");
        }
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
        /* The answer is whole: handle it now (a keep-alive connection may
         * stay open long after). */
        q->completed = 1;
        /* the slot is not reused before this connection has closed: a
         * request sent from it now (the next backfill page) would have its
         * own connection's callbacks mixed with this one's close */
        q->closing = 1;
        if (q->inflight)
            rest_done(q->f, q);
        return -1; /* one request per connection: close it */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (!q)
            break;
        q->closing = 0;
        if (q->inflight) {
            q->wsi = NULL;
            rest_done(q->f, q); /* failed before completing: retried */
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---------- WebSocket legs ---------- */

static void leg_connect(nx_feed_t *f, leg_t *l)
{
    char path[8192];
    size_t o = 0;
    int streams = 0;
    if (is_binance(f)) {
        const char *route =
            f->o.venue == NX_VENUE_BINANCE_USDM ? (l->idx ? "/public" : "/market") : "";
        o = (size_t)snprintf(path, sizeof path, "%s%s/stream?streams=", f->ws_base, route);
        for (uint32_t s = 0; s < nx_symtab_count(f->symtab); s++) {
            unsigned w = wire(f, s);
            for (unsigned b = 1; b <= NX_FEED_MARK; b <<= 1) {
                char name[96];
                if (!(w & b) || leg_of(f, b) != l->idx || !stream_name(f, s, b, name, sizeof name))
                    continue;
                if (o + strlen(name) + 2 >= sizeof path) {
                    /* The URL holds ~300 streams; more need another leg
                     * (not built yet): say so rather than drop silently. */
                    NX_LOGK(NX_LOG_ERROR, "feed", "feed.url_full",
                            "%s: too many streams for one connection; %s and later not subscribed",
                            nx_venue_name(f->o.venue), name);
                    break;
                }
                o += (size_t)snprintf(path + o, sizeof path - o, "%s%s", streams ? "/" : "", name);
                streams++;
            }
        }
        if (!streams)
            return;
    } else {
        snprintf(path, sizeof path, "%s", f->ws_base[0] ? f->ws_base : "/");
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = f->ctx;
    ci.vhost = f->vh;
    ci.address = f->ws_host;
    ci.port = f->ws_port;
    ci.path = path;
    ci.host = f->ws_host;
    ci.origin = f->ws_host;
    ci.ssl_connection = f->ws_ssl ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "nx-ws";
    ci.userdata = l;
    ci.pwsi = &l->wsi;
    l->state = LEG_CONNECTING;
    l->len = 0;
    l->close_now = 0;
    l->alpaca_state = 0;
    l->out_head = l->out_tail = 0;
    l->reconnect_at_ns = 0;
    if (!lws_client_connect_via_info(&ci)) {
        l->state = LEG_DOWN;
        l->wsi = NULL;
        l->attempts++;
        l->reconnect_at_ns = now_ns(f) + 100 * NX_NS_PER_MS;
    }
}

static void leg_schedule_reconnect(nx_feed_t *f, leg_t *l)
{
    int64_t j = nx_backoff_ms(f->o.backoff_min_ms, f->o.backoff_max_ms, l->attempts);
    l->attempts++;
    l->reconnect_at_ns = now_ns(f) + j * NX_NS_PER_MS;
}

static void send_subscriptions(nx_feed_t *f, leg_t *l)
{
    char msg[4096];
    if (is_bybit(f)) {
        /* Spot takes at most 10 topics per request; linear any number, up
         * to 21,000 characters per connection (one request while it fits
         * the message). */
        int most = f->o.venue == NX_VENUE_BYBIT_SPOT ? 10 : INT_MAX;
        size_t o = 0;
        int n = 0;
        for (uint32_t s = 0; s < nx_symtab_count(f->symtab); s++) {
            unsigned w = wire(f, s);
            for (unsigned b = 1; b <= NX_FEED_MARK; b <<= 1) {
                char name[96];
                /* BBO and MARK share one topic: sent once, with the first
                 * (Bybit refuses a request naming a topic twice) */
                if (!(w & b) || !stream_name(f, s, b, name, sizeof name) ||
                    bybit_topic_shared(f, s, b, w, name))
                    continue;
                if (n && o + strlen(name) + 8 > sizeof l->out[0]) { /* full: send it */
                    snprintf(msg + o, sizeof msg - o, "]}");
                    queue_out(l, msg);
                    n = 0;
                }
                if (n == 0)
                    o = (size_t)snprintf(msg, sizeof msg,
                                         "{\"op\":\"subscribe\",\"req_id\":\"%llu\",\"args\":[",
                                         (unsigned long long)++f->req_id);
                o += (size_t)snprintf(msg + o, sizeof msg - o, "%s\"%s\"", n ? "," : "", name);
                if (++n == most) {
                    snprintf(msg + o, sizeof msg - o, "]}");
                    queue_out(l, msg);
                    n = 0;
                }
            }
        }
        if (n) {
            snprintf(msg + o, sizeof msg - o, "]}");
            queue_out(l, msg);
        }
    } else if (f->o.venue == NX_VENUE_ALPACA) {
        char tr[1024] = "", qu[1024] = "", ba[1024] = "";
        for (uint32_t s = 0; s < nx_symtab_count(f->symtab); s++) {
            unsigned w = wire(f, s);
            const nx_symbol_t *ss = nx_symtab_get(f->symtab, s);
            if (w & NX_FEED_TRADES)
                snprintf(tr + strlen(tr), sizeof tr - strlen(tr), "%s\"%s\"", tr[0] ? "," : "",
                         ss->name);
            if (w & NX_FEED_BBO)
                snprintf(qu + strlen(qu), sizeof qu - strlen(qu), "%s\"%s\"", qu[0] ? "," : "",
                         ss->name);
            if (w & NX_FEED_KLINES)
                snprintf(ba + strlen(ba), sizeof ba - strlen(ba), "%s\"%s\"", ba[0] ? "," : "",
                         ss->name);
        }
        snprintf(msg, sizeof msg,
                 "{\"action\":\"subscribe\",\"trades\":[%s],\"quotes\":[%s],\"bars\":[%s]}", tr, qu,
                 ba);
        queue_out(l, msg);
    }
}

static void status(nx_feed_t *f, uint32_t sym, nx_status_code_t code, uint64_t count, const char *d)
{
    f->dec.recv_ns = nx_clock_now(f->clock);
    nx_decode_status(&f->dec, sym, code, count, d);
}

static void on_up(nx_feed_t *f, leg_t *l)
{
    int64_t now = now_ns(f);
    l->state = LEG_UP;
    l->up_since_ns = now;
    l->last_rx_ns = now;
    l->last_ping_ns = now;
    ST_ADD(f, connects, 1);
    if (l->down_since_ns) {
        uint64_t ms = (uint64_t)((now - l->down_since_ns) / NX_NS_PER_MS);
        ST_ADD(f, reconnect_total_ms, ms);
        if (ms > f->st.reconnect_max_ms)
            ST_SET(f, reconnect_max_ms, ms);
    }
    status(f, NX_SYMBOL_NONE, NX_ST_CONNECTED, f->st.connects, l->idx ? "public" : "market");
    if (is_bybit(f))
        send_subscriptions(f, l);
    /* Whatever happened while we were away: backfill klines, resync books. */
    for (uint32_t s = 0; s < nx_symtab_count(f->symtab); s++) {
        unsigned w = wire(f, s);
        if (!w)
            continue;
        if ((w & NX_FEED_KLINES) && leg_of(f, NX_FEED_KLINES) == l->idx && l->ever_up)
            request_backfill(f, s);
        if ((w & NX_FEED_BOOK) && leg_of(f, NX_FEED_BOOK) == l->idx) {
            nx_book_t *b = nx_bookset_get(&f->books, s);
            if (b)
                nx_book_reset(b);
            if (is_binance(f))
                request_depth(f, s);
        }
    }
    l->ever_up = 1;
}

static void on_down(nx_feed_t *f, leg_t *l)
{
    if (l->state == LEG_UP) {
        ST_ADD(f, disconnects, 1);
        status(f, NX_SYMBOL_NONE, NX_ST_DISCONNECTED, f->st.disconnects,
               l->idx ? "public" : "market");
    }
    l->state = LEG_DOWN;
    l->wsi = NULL;
    if (!l->down_since_ns)
        l->down_since_ns = now_ns(f);
    if (!f->stopped)
        leg_schedule_reconnect(f, l);
}

/* Hold a live closed kline back while a hole before it is fetched; past
 * STASH of them, it is dropped (counted): the backfill brings it back if
 * the venue still has it. */
static void stash(nx_feed_t *f, sym_state_t *s, const nx_event_t *e)
{
    if (s->nstash < STASH)
        s->stash[s->nstash++] = *e;
    else
        dropped(f, &f->st.stash_dropped, "feed.stash_dropped",
                "a live kline was dropped: 64 already wait for a backfill");
}

/* After decoding a frame (held): keep closed klines whole and in order. */
static void filter_klines(nx_feed_t *f, uint64_t first, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        nx_event_t *e = nx_bus_event(f->ring, first + i);
        if (e->hdr.type != NX_EV_KLINE || !e->u.kline.closed || e->hdr.symbol >= NX_SYMTAB_MAX)
            continue;
        sym_state_t *s = &f->syms[e->hdr.symbol];
        if (!s->interval_s)
            s->interval_s = e->u.kline.interval_s;
        int64_t open = e->u.kline.open_ms, ivms = (int64_t)s->interval_s * 1000;
        int pass = 0;
        if (s->backfill_inflight) {
            stash(f, s, e);
        } else if (s->last_closed_ms < 0 || open == s->last_closed_ms + ivms ||
                   (f->o.venue == NX_VENUE_ALPACA && open > s->last_closed_ms)) {
            /* Alpaca sends no bar for a minute without trades, so a hole
             * between bars is normal there; only reconnects backfill. */
            pass = 1;
        } else if (open > s->last_closed_ms + ivms) {
            /* A hole before this candle: hold it back and fetch the hole. */
            stash(f, s, e);
            request_backfill(f, e->hdr.symbol);
        } else {
            ST_ADD(f, klines_suppressed, 1); /* a duplicate */
        }
        if (pass) {
            s->last_closed_ms = open;
        } else {
            e->hdr.type = NX_EV_NONE;
            f->dec.st.by_type[NX_EV_KLINE]--;
            f->dec.st.by_type[NX_EV_NONE]++;
        }
    }
}

static void on_frame(nx_feed_t *f, leg_t *l, const char *buf, size_t len)
{
    f->dec.recv_ns = nx_clock_now(f->clock);
    if (f->o.venue == NX_VENUE_ALPACA && l->alpaca_state < 2) {
        /* Alpaca handshake: connected -> auth -> authenticated -> subscribe. */
        if (l->alpaca_state == 0 && strstr(buf, "\"connected\"")) {
            char msg[1024];
            snprintf(msg, sizeof msg,
                     "{\"action\":\"auth\",\"key\":\"%.400s\",\"secret\":\"%.400s\"}",
                     f->o.alpaca_key ? f->o.alpaca_key : "",
                     f->o.alpaca_secret ? f->o.alpaca_secret : "");
            queue_out(l, msg);
            l->alpaca_state = 1;
        } else if (l->alpaca_state == 1 && strstr(buf, "\"authenticated\"")) {
            send_subscriptions(f, l);
            l->alpaca_state = 2;
        } else if (strstr(buf, "\"error\"")) {
            NX_LOGK(NX_LOG_ERROR, "feed", "feed.alpaca.auth", "alpaca: %.*s",
                    (int)(len < 120 ? len : 120), buf);
        }
    }
    if (is_bybit(f) && strstr(buf, "\"ret_msg\":\"pong\""))
        ST_ADD(f, pongs, 1);
    uint64_t first;
    f->dec.hold = 1;
    int n = nx_decode_frame(&f->dec, buf, len, &first);
    f->dec.hold = 0;
    ST_ADD(f, frames, 1);
    if (n < 0) {
        ST_ADD(f, errors, 1);
        NX_LOGK(NX_LOG_WARN, "feed", "feed.malformed", "%s: malformed frame: %s",
                nx_venue_name(f->o.venue), f->dec.last_error);
        return;
    }
    if (n > 0) {
        filter_klines(f, first, (uint32_t)n);
        nx_decoder_publish(&f->dec);
        ST_ADD(f, events, (uint64_t)n);
        nx_bookset_apply(&f->books, &f->dec, first, (uint32_t)n);
        ST_SET(f, book_gaps, f->books.gaps);
        ST_SET(f, book_resyncs, f->books.resyncs);
    }
}

static void on_book_gap(void *ctx, uint32_t sym)
{
    nx_feed_t *f = ctx;
    if (is_binance(f)) {
        request_depth(f, sym);
    } else if (is_bybit(f)) {
        char name[96], msg[512];
        if (!stream_name(f, sym, NX_FEED_BOOK, name, sizeof name))
            return;
        leg_t *l = &f->legs[0];
        snprintf(msg, sizeof msg, "{\"op\":\"unsubscribe\",\"args\":[\"%s\"],\"req_id\":\"%llu\"}",
                 name, (unsigned long long)++f->req_id);
        queue_out(l, msg);
        snprintf(msg, sizeof msg, "{\"op\":\"subscribe\",\"args\":[\"%s\"],\"req_id\":\"%llu\"}",
                 name, (unsigned long long)++f->req_id);
        queue_out(l, msg);
    }
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    leg_t *l = user;
    nx_feed_t *f = l ? l->f : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        on_up(f, l);
        if (l->out_tail != l->out_head)
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        l->last_rx_ns = now_ns(f);
        l->attempts = 0;
        l->down_since_ns = 0;
        if (l->len + len >= FRAME_BUF) {
            l->len = 0; /* a frame larger than any venue sends: drop it, count it */
            ST_ADD(f, errors, 1);
            break;
        }
        memcpy(l->buf + l->len, in, len);
        l->len += len;
        if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
            l->buf[l->len] = 0;
            on_frame(f, l, l->buf, l->len);
            l->len = 0;
        }
        break;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (l->close_now)
            return -1;
        /* Binance drops a connection that sends more than 10 messages a
         * second: keep control messages at most one per 150 ms (the 50 ms
         * tick asks again while the queue is not empty). Bybit and Alpaca
         * have no such rule: theirs go back to back, so a subscription of
         * several requests is whole at once. */
        if (is_binance(f) && l->out_head != l->out_tail &&
            now_ns(f) - l->last_tx_ns < 150 * NX_NS_PER_MS)
            break;
        if (l->out_head != l->out_tail) {
            l->last_tx_ns = now_ns(f);
            const char *m = l->out[l->out_head++ % 8];
            size_t ml = strlen(m);
            unsigned char buf[LWS_PRE + sizeof l->out[0]];
            memcpy(buf + LWS_PRE, m, ml);
            if (lws_write(wsi, buf + LWS_PRE, ml, LWS_WRITE_TEXT) < (int)ml)
                return -1;
            if (l->out_head != l->out_tail)
                lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (l) {
            NX_LOGK(NX_LOG_WARN, "feed", "feed.connect", "%s: connection failed: %s",
                    nx_venue_name(f->o.venue), in ? (const char *)in : "?");
            on_down(f, l);
        }
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (l)
            on_down(f, l);
        break;
    default:
        break;
    }
    return 0;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    nx_feed_t *f = lws_container_of(sul, nx_feed_t, tick);
    int64_t now = now_ns(f);
    for (int i = 0; i < f->nlegs; i++) {
        leg_t *l = &f->legs[i];
        if (f->stopped)
            break;
        if (l->state == LEG_DOWN && l->reconnect_at_ns && now >= l->reconnect_at_ns)
            leg_connect(f, l);
        if (l->state != LEG_UP)
            continue;
        if (l->out_head != l->out_tail)
            lws_callback_on_writable(l->wsi); /* paced control messages */
        if (now - l->last_rx_ns > (int64_t)f->o.watchdog_ms * NX_NS_PER_MS) {
            ST_ADD(f, watchdog_fires, 1);
            status(f, NX_SYMBOL_NONE, NX_ST_STALE, f->st.watchdog_fires, "no data: reconnecting");
            NX_LOGK(NX_LOG_WARN, "feed", "feed.watchdog", "%s: no data for %u ms: reconnecting",
                    nx_venue_name(f->o.venue), f->o.watchdog_ms);
            l->close_now = 1;
            lws_callback_on_writable(l->wsi);
        } else if (now - l->up_since_ns > (int64_t)f->o.max_age_s * NX_NS_PER_SEC) {
            l->close_now = 1; /* renew before the venue's 24 h cut; backfill covers the seam */
            lws_callback_on_writable(l->wsi);
        } else if (is_bybit(f) && now - l->last_ping_ns > (int64_t)f->o.ping_s * NX_NS_PER_SEC) {
            l->last_ping_ns = now;
            ST_ADD(f, pings, 1);
            queue_out(l, "{\"op\":\"ping\"}");
        }
    }
    /* A live book that stopped moving while its connection is up is no
     * longer trusted: resync it (and say so). */
    for (uint32_t s = 0; s < nx_symtab_count(f->symtab) && !f->stopped; s++) {
        nx_book_t *b = f->books.books[s];
        if (!b || !(wire(f, s) & NX_FEED_BOOK) || f->legs[leg_of(f, NX_FEED_BOOK)].state != LEG_UP)
            continue;
        sym_state_t *ss = &f->syms[s];
        if (b->messages != ss->book_msgs_seen || !ss->book_changed_ns) {
            ss->book_msgs_seen = b->messages;
            ss->book_changed_ns = now;
        } else if (b->state == NX_BOOK_LIVE &&
                   now - ss->book_changed_ns > (int64_t)f->o.book_stale_ms * NX_NS_PER_MS) {
            ss->book_changed_ns = now;
            ST_ADD(f, book_stale, 1);
            status(f, s, NX_ST_STALE, f->st.book_stale, "book stale: resyncing");
            nx_book_reset(b);
            on_book_gap(f, s);
        }
    }
    rest_dispatch(f);
    if (!f->stopped)
        lws_sul_schedule(f->ctx, 0, &f->tick, on_tick, TICK_US);
}

/* ---------- lifecycle ---------- */

/* The feed's protocols live on its own client vhost: the net knows nothing
 * of feeds, and a callback finds its leg or REST slot through the
 * connection's userdata (NULL for the per-vhost and wake-up callbacks,
 * which both protocols ignore). */
static const struct lws_protocols client_protocols[] = {
    {"nx-ws", ws_cb, 0, 65536, 0, NULL, 0},
    {"nx-rest", rest_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* One client vhost per feed. DO_SSL_GLOBAL_INIT is what makes lws give a
 * vhost its client TLS context (wss://, https://), as on the default one. */
static struct lws_vhost *make_vhost(struct lws_context *ctx)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "nx-feed"; /* kept by pointer: a literal */
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = client_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    return lws_create_vhost(ctx, &info);
}

void nx_feed_opts_default(nx_feed_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->kline_interval = "1m";
    o->watchdog_ms = 10000;
    o->backoff_min_ms = 50;
    o->backoff_max_ms = 30000;
    o->book_depth = 1000;
    o->stale_ns = 60 * NX_NS_PER_SEC;
    o->max_age_s = 23 * 3600 + 1800;
    o->book_stale_ms = 60000;
    o->ping_s = 20;
}

static int split_url(const char *url, char *prot, char *host, int *port, char *base, int *ssl)
{
    char tmp[512];
    if (!url || strlen(url) >= sizeof tmp)
        return -1;
    snprintf(tmp, sizeof tmp, "%s", url);
    const char *p, *a, *path;
    if (lws_parse_uri(tmp, &p, &a, port, &path))
        return -1;
    snprintf(prot, 8, "%s", p);
    snprintf(host, 128, "%s", a);
    /* Keep the base path as "/x/y" without a trailing '/', or "" for none
     * (lws_parse_uri hands it back with or without its leading '/'). */
    while (*path == '/')
        path++;
    snprintf(base, 256, "%s%s", path[0] ? "/" : "", path);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        base[--bl] = 0;
    *ssl = !strcmp(prot, "wss") || !strcmp(prot, "https");
    return 0;
}

nx_feed_t *nx_feed_create(nx_net_t *net, const nx_feed_opts_t *o, nx_symtab_t *symtab,
                          nx_ring_t *ring)
{
    if (!net || !o || !o->ws_url || !o->rest_url || o->venue <= NX_VENUE_NONE ||
        o->venue == NX_VENUE_PAPER || o->venue >= NX_VENUE_COUNT)
        return NULL;
    nx_feed_t *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->ctx = nx_net_context(net);
    f->clock = nx_net_clock(net);
    f->o = *o;
    f->symtab = symtab;
    f->ring = ring;
    snprintf(f->kline_iv, sizeof f->kline_iv, "%s", o->kline_interval ? o->kline_interval : "1m");
    if (split_url(o->ws_url, f->ws_prot, f->ws_host, &f->ws_port, f->ws_base, &f->ws_ssl) ||
        split_url(o->rest_url, f->rest_prot, f->rest_host, &f->rest_port, f->rest_base,
                  &f->rest_ssl))
        goto fail;
    f->syms = calloc(NX_SYMTAB_MAX, sizeof *f->syms);
    if (!f->syms || nx_decoder_init(&f->dec, o->venue, symtab, ring))
        goto fail;
    f->dec.stale_ns = o->stale_ns;
    for (uint32_t i = 0; i < NX_SYMTAB_MAX; i++)
        f->syms[i].last_closed_ms = -1;
    nx_bookset_init(&f->books, o->venue, o->book_depth, 1 << 16);
    f->books.on_gap = on_book_gap;
    f->books.ctx = f;
    f->nlegs = o->venue == NX_VENUE_BINANCE_USDM ? 2 : 1;
    for (int i = 0; i < f->nlegs; i++) {
        f->legs[i].f = f;
        f->legs[i].idx = i;
        f->legs[i].buf = malloc(FRAME_BUF + 1);
        if (!f->legs[i].buf)
            goto fail;
    }
    for (int i = 0; i < REST_SLOTS; i++) {
        f->rest[i].f = f;
        f->rest[i].buf = malloc(REST_BUF + 1);
        if (!f->rest[i].buf)
            goto fail;
    }
    /* Last, so no failure path has a vhost to undo: it stays with the net
     * until nx_net_destroy. */
    f->vh = make_vhost(f->ctx);
    if (!f->vh) {
        NX_ERROR("feed", "%s: cannot create the client vhost", nx_venue_name(o->venue));
        goto fail;
    }
    return f;
fail:
    nx_feed_destroy(f);
    return NULL;
}

int nx_feed_start(nx_feed_t *f)
{
    f->started = 1;
    f->stopped = 0;
    for (int i = 0; i < f->nlegs; i++) {
        leg_t *l = &f->legs[i];
        int any = 0;
        for (uint32_t s = 0; s < nx_symtab_count(f->symtab) && !any; s++)
            for (unsigned b = 1; b <= NX_FEED_MARK; b <<= 1)
                if ((wire(f, s) & b) && leg_of(f, b) == i)
                    any = 1;
        if (any)
            leg_connect(f, l);
    }
    lws_sul_schedule(f->ctx, 0, &f->tick, on_tick, TICK_US);
    return 0;
}

void nx_feed_stop(nx_feed_t *f)
{
    f->stopped = 1;
    lws_sul_cancel(&f->tick);
    for (int i = 0; i < f->nlegs; i++) {
        leg_t *l = &f->legs[i];
        l->reconnect_at_ns = 0;
        if (l->wsi && l->state != LEG_DOWN) {
            l->close_now = 1;
            lws_callback_on_writable(l->wsi);
        }
    }
}

void nx_feed_stats(const nx_feed_t *f, nx_feed_stats_t *st)
{
    const uint64_t *src = (const uint64_t *)&f->st;
    uint64_t *dst = (uint64_t *)st;
    for (size_t i = 0; i < sizeof *st / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    for (int k = 0; k < NX_BAD_COUNT; k++)
        st->bad[k] = __atomic_load_n(&f->dec.st.bad[k], __ATOMIC_RELAXED);
}

const nx_book_t *nx_feed_book(nx_feed_t *f, uint32_t symbol)
{
    return symbol < NX_SYMTAB_MAX ? f->books.books[symbol] : NULL;
}

const nx_decoder_stats_t *nx_feed_decoder_stats(const nx_feed_t *f)
{
    return &f->dec.st;
}

void nx_feed_destroy(nx_feed_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < 2; i++) {
        free(f->legs[i].buf);
    }
    for (int i = 0; i < REST_SLOTS; i++)
        free(f->rest[i].buf);
    nx_bookset_free(&f->books);
    nx_decoder_fini(&f->dec);
    free(f->syms);
    free(f);
}
