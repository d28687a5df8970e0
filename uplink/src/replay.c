/*
 * replay.c — the exchange on loopback (see replay.h).
 *
 * One lws context, one vhost on 127.0.0.1, one protocol that handles both
 * plain HTTP (REST endpoints) and WebSocket upgrades, dispatching on the
 * request path. The message store is built once at start; per connection
 * the server keeps a cursor and a short queue of control replies (acks,
 * pongs, book snapshots). The server also applies every depth message to
 * its own books as the live position passes it (sent or skipped), so a
 * depth snapshot served over REST is consistent with the stream.
 */
#include "nx/replay.h"

#include "nx/book.h"
#include "nx/clock.h"
#include "nx/decode.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <errno.h>
#include <libwebsockets.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { K_OTHER = 0, K_TRADE, K_KLINE, K_DEPTH, K_BBO };

typedef struct msg {
    char *data;
    uint32_t len;
    uint8_t kind;
    uint32_t symbol; /* server symtab id, NX_SYMBOL_NONE if none */
    int64_t ts_ms;   /* exchange time, for pacing */
    int64_t raw_ts_ms; /* as read (frames: 0 when the frame carries none), before filling */
    int64_t open_ms; /* klines: candle open time */
    char stream[64]; /* Binance stream name or Bybit topic */
} msg_t;

typedef struct candle {
    int64_t open_ms;
    char o[32], h[32], l[32], c[32], v[32];
} candle_t;

#define MAX_CLIENTS 16
#define NX_REPLAY_BACKFILL_SETTLE_MS 200
#define NX_REPLAY_SUB_SETTLE_MS      100
#define CTL_SLOTS   8

typedef struct pss {
    struct nx_replay *r;
    struct lws *wsi;
    uint64_t cursor;
    uint32_t since_drop;
    int closing;
    int authed;           /* Alpaca */
    int streaming;        /* sending market messages */
    int64_t stream_from_ns; /* Bybit: not before the subscription is whole */
    char filter[1024];    /* "|stream1|stream2|" requested; empty = all */
    char *ctl[CTL_SLOTS]; /* queued control replies */
    uint32_t ctl_head, ctl_tail;
    /* HTTP response in flight */
    char *body;
    size_t body_len;
    int status;
    int retry_after;
    int klines; /* a klines request: its connection's close is the client's backfill done */
} pss_t;

struct nx_replay {
    nx_replay_opts_t o;
    struct lws_context *ctx;
    int port;
    msg_t *msgs;
    uint64_t n;
    candle_t *candles;
    uint64_t ncandles;
    uint32_t interval_s;
    uint64_t *kline_msg; /* candles: index of each candle's kline message */
    /* live state */
    uint64_t pos;     /* next message the live stream would send */
    /* wait_backfill_ms: the kline after each hole in the candles, where a
     * client backfills; the stream waits there for that backfill */
    uint64_t *holds;
    uint64_t nholds, next_hold;
    uint64_t klines_closed, closed_at_hold; /* klines connections closed, in all / at the hold */
    int64_t klines_closed_ns;               /* when the last one closed */
    int64_t held_since_ns;
    uint64_t applied; /* messages applied to the server's books */
    int64_t t0_wall_ns, t0_msg_ms;
    pss_t *clients[MAX_CLIENTS];
    /* server-side view of the stream */
    nx_symtab_t *symtab;
    nx_ring_t *ring;
    nx_decoder_t dec;
    nx_bookset_t books;
    uint64_t depth_seen;
    /* faults on command */
    int cmd_drop, cmd_skip, cmd_malformed;
    uint32_t cmd_429, cmd_stall_ms;
    uint32_t cmd_oversize; /* the next REST answers padded past 4 MiB */
    int64_t stall_until_ns;
    /* stats */
    nx_replay_stats_t st;
    _Atomic int stop;
    _Atomic int done; /* a client was sent the stream to its end (nx_replay_done) */
    lws_sorted_usec_list_t tick;
};

void nx_replay_opts_default(nx_replay_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->venue = NX_VENUE_BINANCE_USDM;
    o->symbol = "BTCUSDT";
    o->drop_gap = 8;
    o->retry_after_s = 1;
}

/* ---------- store ---------- */

static int push(nx_replay_t *r, char *data, size_t len, uint8_t kind, int64_t ts_ms,
                int64_t open_ms, const char *stream)
{
    if ((r->n & (r->n - 1)) == 0 || r->n == 0) {
        uint64_t cap = r->n ? r->n * 2 : 1024;
        msg_t *m = realloc(r->msgs, cap * sizeof *m);
        if (!m)
            return NX_ENOMEM;
        r->msgs = m;
    }
    msg_t *m = &r->msgs[r->n++];
    memset(m, 0, sizeof *m);
    m->data = data;
    m->len = (uint32_t)len;
    m->kind = kind;
    m->ts_ms = m->raw_ts_ms = ts_ms;
    m->open_ms = open_ms;
    m->symbol = NX_SYMBOL_NONE;
    if (stream)
        snprintf(m->stream, sizeof m->stream, "%s", stream);
    return 0;
}

/* Value of "key":"..." in a frame (first occurrence), into out. */
static int str_field(const char *s, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(s, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    const char *e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = 0;
    return 0;
}

/* Open a source file for reading, or say why not (NX_EIO). */
static FILE *open_source(const char *path, char *why, size_t cap)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            snprintf(why, cap, "no such file: %s", path);
        else
            snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(why, cap, "%s is a folder, not a file", path);
        return NULL;
    }
    FILE *f = fopen(path, "r");
    if (!f)
        snprintf(why, cap, "cannot read %s: %s", path, strerror(errno));
    return f;
}

static int load_frames(nx_replay_t *r, const char *path, char *why, size_t cap_why)
{
    FILE *f = open_source(path, why, cap_why);
    if (!f)
        return NX_EIO;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        char stream[64] = "";
        if (str_field(line, "stream", stream, sizeof stream))
            str_field(line, "topic", stream, sizeof stream);
        uint8_t kind =
            strstr(line, "depthUpdate") || strstr(line, "\"topic\":\"orderbook.") ? K_DEPTH
            : strstr(line, "aggTrade") || strstr(line, "publicTrade") || strstr(line, "\"T\":\"t\"")
                ? K_TRADE
            : strstr(line, "\"kline") || strstr(line, "\"T\":\"b\"") ? K_KLINE
            : strstr(line, "bookTicker")                             ? K_BBO
                                                                     : K_OTHER;
        /* Exchange time for pacing: decode the frame and take its first event. */
        int64_t ts = 0;
        uint64_t first;
        int ne = nx_decode_frame(&r->dec, line, (size_t)len, &first);
        uint32_t sym = NX_SYMBOL_NONE;
        if (ne > 0) {
            const nx_event_t *e = nx_bus_event(r->ring, first);
            ts = e->hdr.exch_ns / NX_NS_PER_MS;
            sym = e->hdr.symbol;
        }
        nx_ring_consumer_t *c = nx_ring_consumer(r->ring, 0);
        nx_ring_release(c, nx_ring_next(r->ring));
        c->polled = nx_ring_next(r->ring);
        char *copy = malloc((size_t)len + 1);
        if (!copy || push(r, copy, (size_t)len, kind, ts, 0, stream)) {
            free(copy);
            fclose(f);
            free(line);
            return NX_ENOMEM;
        }
        memcpy(copy, line, (size_t)len + 1);
        r->msgs[r->n - 1].symbol = sym;
    }
    free(line);
    fclose(f);
    /* Fill missing times forward so pacing never jumps back. */
    int64_t last = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        if (r->msgs[i].ts_ms < last || r->msgs[i].ts_ms == 0)
            r->msgs[i].ts_ms = last;
        last = r->msgs[i].ts_ms;
    }
    return 0;
}

/* A candle CSV: open_time_ms,open,high,low,close,volume, a header line
 * allowed, open times increasing. Every field is checked here, with the
 * line it is on, so that building the messages cannot fail on the data. */
static int load_candles(nx_replay_t *r, const char *path, char *why, size_t cap_why)
{
    FILE *f = open_source(path, why, cap_why);
    if (!f)
        return NX_EIO;
    char line[512];
    uint64_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            snprintf(why, cap_why, "%s:%ld: line longer than %zu characters", path, lineno,
                     sizeof line - 2);
            rc = NX_ESYNTAX;
            break;
        }
        if (lineno == 1 && strstr(line, "open_time"))
            continue;
        candle_t c;
        memset(&c, 0, sizeof c);
        long long ot;
        char tail;
        int got = sscanf(line, "%lld,%31[^,],%31[^,],%31[^,],%31[^,],%31[^,\r\n]%c", &ot, c.o, c.h,
                         c.l, c.c, c.v, &tail);
        if (got < 6 || (got == 7 && tail != '\r' && tail != '\n')) {
            snprintf(why, cap_why, "%s:%ld: expected open_time_ms,open,high,low,close,volume", path,
                     lineno);
            rc = NX_ESYNTAX;
            break;
        }
        const char *fields[5] = {c.o, c.h, c.l, c.c, c.v};
        static const char *const names[5] = {"open", "high", "low", "close", "volume"};
        for (int k = 0; k < 5 && !rc; k++) {
            int64_t x, least = k < 4 ? 1 : 0; /* prices > 0, a volume >= 0 */
            if (nx_fixed_parse(fields[k], strlen(fields[k]), 8, &x) || x < least) {
                snprintf(why, cap_why, "%s:%ld: %s \"%s\" is not a decimal %s 0", path, lineno,
                         names[k], fields[k], k < 4 ? ">" : ">=");
                rc = NX_ESYNTAX;
            }
        }
        if (!rc && r->ncandles && ot <= r->candles[r->ncandles - 1].open_ms) {
            snprintf(why, cap_why,
                     "%s:%ld: open time %lld is not after the previous candle's (%lld)", path,
                     lineno, ot, (long long)r->candles[r->ncandles - 1].open_ms);
            rc = NX_ESYNTAX;
        }
        if (rc)
            break;
        c.open_ms = ot;
        if (r->ncandles == cap) {
            cap = cap ? cap * 2 : 4096;
            candle_t *nc = realloc(r->candles, cap * sizeof *nc);
            if (!nc) {
                rc = NX_ENOMEM;
                break;
            }
            r->candles = nc;
        }
        r->candles[r->ncandles++] = c;
    }
    fclose(f);
    if (!rc && r->ncandles < 2) {
        snprintf(why, cap_why, "%s: %llu candle%s; a replay needs at least 2", path,
                 (unsigned long long)r->ncandles, r->ncandles == 1 ? "" : "s");
        rc = NX_ESYNTAX;
    }
    if (rc)
        return rc;
    /* The interval is the smallest step (the file may have gaps). */
    int64_t step = INT64_MAX;
    for (uint64_t i = 1; i < r->ncandles; i++) {
        int64_t d = r->candles[i].open_ms - r->candles[i - 1].open_ms;
        if (d < step)
            step = d;
    }
    r->interval_s = (uint32_t)(step / 1000);
    return 0;
}

static void iv_name(const nx_replay_t *r, char *out, size_t cap)
{
    uint32_t s = r->interval_s;
    if (r->o.venue == NX_VENUE_BYBIT_LINEAR || r->o.venue == NX_VENUE_BYBIT_SPOT) {
        if (s == 86400)
            snprintf(out, cap, "D");
        else
            snprintf(out, cap, "%u", s / 60);
    } else if (s % 86400 == 0)
        snprintf(out, cap, "%ud", s / 86400);
    else if (s % 3600 == 0)
        snprintf(out, cap, "%uh", s / 3600);
    else
        snprintf(out, cap, "%um", s / 60);
}

static void rfc3339(int64_t ms, char *out, size_t cap)
{
    size_t n = (size_t)nx_utc_format(ms / 1000, out, cap);
    snprintf(out + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static char *fmt(size_t *len, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(size_t *len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    int n = vasprintf(&s, f, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    *len = (size_t)n;
    return s;
}

static void lower(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i < cap - 1; i++)
        out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    out[i] = 0;
}

/* One trade message in the venue's format, pushed to the store. */
static int trade_msg(nx_replay_t *r, int64_t at, const char *px, const char *qty, uint64_t tid,
                     int sell, int64_t open_ms)
{
    const char *sym = r->o.symbol;
    char lsym[32];
    lower(sym, lsym, sizeof lsym);
    size_t len = 0;
    char *m = NULL, stream[64];
    switch (r->o.venue) {
    case NX_VENUE_BYBIT_LINEAR:
    case NX_VENUE_BYBIT_SPOT:
        snprintf(stream, sizeof stream, "publicTrade.%s", sym);
        m = fmt(&len,
                "{\"topic\":\"%s\",\"type\":\"snapshot\",\"ts\":%lld,\"data\":[{\"T\":%lld,"
                "\"s\":\"%s\",\"S\":\"%s\",\"v\":\"%s\",\"p\":\"%s\",\"L\":\"PlusTick\","
                "\"i\":\"%llu\",\"BT\":false}]}",
                stream, (long long)at, (long long)at, sym, sell ? "Sell" : "Buy", qty, px,
                (unsigned long long)tid);
        break;
    case NX_VENUE_ALPACA: {
        char ts[40];
        rfc3339(at, ts, sizeof ts);
        snprintf(stream, sizeof stream, "trades.%s", sym);
        m = fmt(&len,
                "[{\"T\":\"t\",\"S\":\"%s\",\"i\":%llu,\"x\":\"V\",\"p\":%s,\"s\":%s,"
                "\"c\":[\"@\"],\"z\":\"C\",\"t\":\"%s\"}]",
                sym, (unsigned long long)tid, px, qty, ts);
        break;
    }
    default:
        snprintf(stream, sizeof stream, "%s@aggTrade", lsym);
        m = fmt(&len,
                "{\"stream\":\"%s\",\"data\":{\"e\":\"aggTrade\",\"E\":%lld,\"a\":%llu,"
                "\"s\":\"%s\",\"p\":\"%s\",\"q\":\"%s\",\"f\":%llu,\"l\":%llu,\"T\":%lld,"
                "\"m\":%s}}",
                stream, (long long)at, (unsigned long long)tid, sym, px, qty,
                (unsigned long long)tid, (unsigned long long)tid, (long long)at,
                sell ? "true" : "false");
    }
    if (!m || push(r, m, len, K_TRADE, at, open_ms, stream)) {
        free(m);
        return NX_ENOMEM;
    }
    return 0;
}

/* One kline message (closed: sent at the candle's end; open: an update
 * at `at`) in the venue's format, pushed to the store. Alpaca bars are
 * always closed. */
static int kline_msg(nx_replay_t *r, const candle_t *c, int closed, int64_t at, uint64_t first_tid,
                     uint64_t last_tid)
{
    const char *sym = r->o.symbol;
    char lsym[32], iv[16];
    lower(sym, lsym, sizeof lsym);
    iv_name(r, iv, sizeof iv);
    int64_t close_ms = c->open_ms + (int64_t)r->interval_s * 1000 - 1;
    int64_t sent = closed ? close_ms + 1 : at;
    size_t len = 0;
    char *m = NULL, stream[64];
    switch (r->o.venue) {
    case NX_VENUE_BYBIT_LINEAR:
    case NX_VENUE_BYBIT_SPOT:
        snprintf(stream, sizeof stream, "kline.%s.%s", iv, sym);
        m = fmt(&len,
                "{\"topic\":\"%s\",\"data\":[{\"start\":%lld,\"end\":%lld,\"interval\":\"%s\","
                "\"open\":\"%s\",\"close\":\"%s\",\"high\":\"%s\",\"low\":\"%s\",\"volume\":"
                "\"%s\",\"turnover\":\"0\",\"confirm\":%s,\"timestamp\":%lld}],\"ts\":%lld,"
                "\"type\":\"snapshot\"}",
                stream, (long long)c->open_ms, (long long)close_ms, iv, c->o, c->c, c->h, c->l,
                c->v, closed ? "true" : "false", (long long)sent, (long long)sent);
        break;
    case NX_VENUE_ALPACA: {
        char ts[40];
        rfc3339(c->open_ms, ts, sizeof ts);
        snprintf(stream, sizeof stream, "bars.%s", sym);
        m = fmt(&len,
                "[{\"T\":\"b\",\"S\":\"%s\",\"o\":%s,\"h\":%s,\"l\":%s,\"c\":%s,\"v\":%s,"
                "\"n\":4,\"vw\":%s,\"t\":\"%s\"}]",
                sym, c->o, c->h, c->l, c->c, c->v, c->c, ts);
        break;
    }
    default:
        snprintf(stream, sizeof stream, "%s@kline_%s", lsym, iv);
        m = fmt(&len,
                "{\"stream\":\"%s\",\"data\":{\"e\":\"kline\",\"E\":%lld,\"s\":\"%s\",\"k\":{"
                "\"t\":%lld,\"T\":%lld,\"s\":\"%s\",\"i\":\"%s\",\"f\":%llu,\"L\":%llu,\"o\":"
                "\"%s\",\"c\":\"%s\",\"h\":\"%s\",\"l\":\"%s\",\"v\":\"%s\",\"n\":4,\"x\":%s,"
                "\"q\":\"0\",\"V\":\"0\",\"Q\":\"0\",\"B\":\"0\"}}}",
                stream, (long long)sent, sym, (long long)c->open_ms, (long long)close_ms, sym, iv,
                (unsigned long long)first_tid, (unsigned long long)last_tid, c->o, c->c, c->h,
                c->l, c->v, closed ? "true" : "false");
    }
    if (!m || push(r, m, len, K_KLINE, sent, c->open_ms, stream)) {
        free(m);
        return NX_ENOMEM;
    }
    return 0;
}

/* A price text times num/den, at 8 decimals ("35235.5" * 10 -> "352355"). */
static void px_scaled(const char *px, int64_t num, int64_t den, char *out, size_t cap)
{
    int64_t v = 0;
    if (nx_fixed_parse(px, strlen(px), 8, &v))
        v = 100000000;
    nx_fixed_format((int64_t)((__int128)v * num / den), 8, out, cap);
}

/* One hostile frame after a real trade of candle c at time `at` (price px,
 * id last_tid): kinds in turn, see replay.h. */
static int hostile_msg(nx_replay_t *r, const candle_t *c, int64_t at, const char *px,
                       uint64_t last_tid)
{
    unsigned kind = (unsigned)(r->st.hostile++ % NX_REPLAY_HOSTILE_KINDS);
    r->st.hostile_by_kind[kind]++;
    uint64_t fresh = 9000000000000ULL + r->st.hostile; /* ids no real trade has */
    char x[48];
    candle_t k = *c;
    switch (kind) {
    case 0:
        return trade_msg(r, at, "0", "0.01", fresh, 0, c->open_ms);
    case 1:
        return trade_msg(r, at, "-36385.82", "0.01", fresh, 1, c->open_ms);
    case 2:
        return trade_msg(r, at, px, "0", fresh, 0, c->open_ms);
    case 3: /* a closed candle whose low is above its high */
        px_scaled(px, 1, 2, k.h, sizeof k.h);
        px_scaled(px, 2, 1, k.l, sizeof k.l);
        snprintf(k.o, sizeof k.o, "%s", px);
        snprintf(k.c, sizeof k.c, "%s", px);
        return kline_msg(r, &k, 1, at, last_tid, last_tid);
    case 4:
        return trade_msg(r, at, "90018000000", "0.01", fresh, 0, c->open_ms);
    case 5: /* seven days in the past */
        return trade_msg(r, at - 7 * 86400000LL, px, "0.01", fresh, 1, c->open_ms);
    case 6: /* the last trade's id again, at ten times its price */
        px_scaled(px, 10, 1, x, sizeof x);
        return trade_msg(r, at, x, "0.01", last_tid, 0, c->open_ms);
    default: /* an update of the running candle at ten times the price (Alpaca: a
              * trade at a tenth: its bars are closed ones) */
        if (r->o.venue == NX_VENUE_ALPACA) {
            px_scaled(px, 1, 10, x, sizeof x);
            return trade_msg(r, at, x, "0.01", fresh, 0, c->open_ms);
        }
        px_scaled(c->o, 10, 1, k.o, sizeof k.o);
        px_scaled(c->h, 10, 1, k.h, sizeof k.h);
        px_scaled(c->l, 10, 1, k.l, sizeof k.l);
        px_scaled(px, 10, 1, k.c, sizeof k.c);
        return kline_msg(r, &k, 0, at, last_tid, last_tid);
    }
}

/* Build the venue's trade and kline messages for every candle. */
static int build_candle_msgs(nx_replay_t *r)
{
    int64_t ivms = (int64_t)r->interval_s * 1000;
    r->kline_msg = calloc(r->ncandles, sizeof *r->kline_msg);
    if (!r->kline_msg)
        return NX_ENOMEM;
    uint64_t tid = 1, trades = 0;
    for (uint64_t i = 0; i < r->ncandles; i++) {
        const candle_t *c = &r->candles[i];
        int64_t vol;
        if (nx_fixed_parse(c->v, strlen(c->v), 8, &vol))
            return NX_ESYNTAX;
        const char *px[4] = {c->o, c->h, c->l, c->c};
        int64_t at[4] = {c->open_ms, c->open_ms + ivms / 4, c->open_ms + ivms / 2,
                         c->open_ms + ivms - 1};
        for (int k = 0; k < 4; k++, tid++) {
            int64_t q = k < 3 ? vol / 4 : vol - 3 * (vol / 4);
            char qs[NX_FIXED_FMT_MAX];
            nx_fixed_format(q, 8, qs, sizeof qs);
            if (trade_msg(r, at[k], px[k], qs, tid, k & 1, c->open_ms))
                return NX_ENOMEM;
            /* a hostile frame after every Nth trade, but never after the
             * candle's last one: it would land among the kline's close */
            if (r->o.hostile_every && ++trades % r->o.hostile_every == 0 && k < 3 &&
                hostile_msg(r, c, at[k], px[k], tid))
                return NX_ENOMEM;
        }
        if (kline_msg(r, c, 1, 0, tid - 4, tid - 1))
            return NX_ENOMEM;
        r->kline_msg[i] = r->n - 1;
    }
    /* where a client finds a hole before a candle and fetches it */
    r->holds = calloc(r->ncandles ? r->ncandles : 1, sizeof *r->holds);
    if (!r->holds)
        return NX_ENOMEM;
    for (uint64_t i = 1; i < r->ncandles; i++)
        if (r->candles[i].open_ms != r->candles[i - 1].open_ms + ivms)
            r->holds[r->nholds++] = r->kline_msg[i];
    return 0;
}

/* ---------- live position and the server's books ---------- */

static void apply_until(nx_replay_t *r, uint64_t end)
{
    for (; r->applied < end && r->applied < r->n; r->applied++) {
        msg_t *m = &r->msgs[r->applied];
        if (r->o.on_message)
            r->o.on_message(r->o.on_message_ctx, m->data, m->len);
        if (m->kind != K_DEPTH)
            continue;
        uint64_t first;
        int ne = nx_decode_frame(&r->dec, m->data, m->len, &first);
        if (ne > 0)
            nx_bookset_apply(&r->books, &r->dec, first, (uint32_t)ne);
        nx_ring_consumer_t *c = nx_ring_consumer(r->ring, 0);
        nx_ring_release(c, nx_ring_next(r->ring));
        c->polled = nx_ring_next(r->ring);
    }
}

/* With wait_backfill_ms, the end stops after the kline that follows a
 * hole until the client's klines request made after it has closed (it
 * read the answer and published the backfill) or the wait runs out: what
 * the client gets after it no longer depends on how fast it fetched. */
static uint64_t hold_end(nx_replay_t *r, uint64_t e)
{
    while (r->o.wait_backfill_ms && r->next_hold < r->nholds) {
        uint64_t h = r->holds[r->next_hold];
        if (e <= h + 1 || r->pos <= h)
            return e < h + 1 ? e : h + 1; /* up to the kline, which goes */
        int64_t now = nx_mono_ns();
        if (!r->held_since_ns) /* sent before its client asked: see ws_writable */
            r->held_since_ns = now;
        /* the answer written and its connection closed, then a moment for
         * the client, whose stream is quiet meanwhile, to read and use it
         * (the client closes after the server here: its close cannot be
         * waited for) */
        int done = r->klines_closed > r->closed_at_hold &&
                   now - r->klines_closed_ns >= NX_REPLAY_BACKFILL_SETTLE_MS * NX_NS_PER_MS;
        if (!done && now - r->held_since_ns < (int64_t)r->o.wait_backfill_ms * NX_NS_PER_MS)
            return h + 1;
        if (!done)
            r->st.backfill_waits_expired++;
        r->next_hold++;
        r->held_since_ns = 0;
    }
    return e;
}

/* Upper bound of what may be sent now. */
static uint64_t live_end(nx_replay_t *r)
{
    if (r->o.speed <= 0)
        return hold_end(r, r->n);
    if (r->n == 0)
        return 0;
    int64_t el_ms = (int64_t)((double)(nx_mono_ns() - r->t0_wall_ns) / 1e6 * r->o.speed);
    int64_t now = r->t0_msg_ms + el_ms;
    uint64_t e = r->pos;
    while (e < r->n && r->msgs[e].ts_ms <= now)
        e++;
    return hold_end(r, e);
}

static int wants(const pss_t *p, const msg_t *m)
{
    if (!p->filter[0] || !m->stream[0])
        return 1;
    char pat[72];
    snprintf(pat, sizeof pat, "|%s|", m->stream);
    return strstr(p->filter, pat) != NULL;
}

/* ---------- HTTP (REST) ---------- */

/* Value of a query argument ("limit="), or NULL. */
static const char *arg(struct lws *wsi, const char *name, char *buf, int len)
{
    return lws_get_urlarg_by_name(wsi, name, buf, len);
}

static char *json_levels(const nx_book_t *b, const nx_symbol_t *s, int asks, int limit, size_t *len)
{
    size_t cap = 64 + (size_t)limit * 64, o = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[o++] = '[';
    uint32_t n = asks ? b->nasks : b->nbids;
    const nx_level_t *lv = asks ? b->asks : b->bids;
    for (uint32_t i = 0; i < n && (int)i < limit; i++) {
        char p[NX_FIXED_FMT_MAX], q[NX_FIXED_FMT_MAX];
        nx_fixed_format(lv[i].px, s->price_scale, p, sizeof p);
        nx_fixed_format(lv[i].qty, s->qty_scale, q, sizeof q);
        o += (size_t)snprintf(out + o, cap - o, "%s[\"%s\",\"%s\"]", i ? "," : "", p, q);
    }
    out[o++] = ']';
    out[o] = 0;
    *len = o;
    return out;
}

static const nx_book_t *book_for(nx_replay_t *r, const char *sym, const nx_symbol_t **s)
{
    uint32_t id = nx_symtab_find(r->symtab, r->o.venue, sym, strlen(sym));
    if (id == NX_SYMBOL_NONE || !r->books.books[id])
        return NULL;
    *s = nx_symtab_get(r->symtab, id);
    return r->books.books[id];
}

/* The candles the live stream has already closed. */
static uint64_t closed_candles(nx_replay_t *r)
{
    uint64_t k = 0;
    while (k < r->ncandles && r->kline_msg[k] < r->pos)
        k++;
    return k;
}

static char *rest_klines(nx_replay_t *r, struct lws *wsi, size_t *len, int *status)
{
    char a[64];
    const char *v;
    int64_t start = 0, end = INT64_MAX;
    long limit = 500;
    int bybit = r->o.venue == NX_VENUE_BYBIT_LINEAR || r->o.venue == NX_VENUE_BYBIT_SPOT;
    if ((v = arg(wsi, bybit ? "start=" : "startTime=", a, sizeof a)))
        start = atoll(v);
    if ((v = arg(wsi, bybit ? "end=" : "endTime=", a, sizeof a)))
        end = atoll(v);
    if ((v = arg(wsi, "limit=", a, sizeof a)))
        limit = atol(v);
    if (r->o.venue == NX_VENUE_ALPACA) {
        int64_t ns;
        if ((v = arg(wsi, "start=", a, sizeof a)) && nx_rfc3339_ns(v, strlen(v), &ns) == 0)
            start = ns / NX_NS_PER_MS;
        if ((v = arg(wsi, "end=", a, sizeof a)) && nx_rfc3339_ns(v, strlen(v), &ns) == 0)
            end = ns / NX_NS_PER_MS;
    }
    if (limit <= 0 || limit > 1500)
        limit = 1500;
    if (!r->candles) {
        *status = 400;
        return fmt(len, "{\"code\":-1121,\"msg\":\"no kline source on this replay\"}");
    }
    uint64_t closed = r->o.history ? r->ncandles : closed_candles(r);
    size_t cap = 256 + (size_t)limit * 200, o = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    if (bybit)
        o += (size_t)snprintf(out, cap,
                              "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"symbol\":\"%s\","
                              "\"category\":\"linear\",\"list\":[",
                              r->o.symbol);
    else if (r->o.venue == NX_VENUE_ALPACA)
        o += (size_t)snprintf(out, cap, "{\"bars\":[");
    else
        out[o++] = '[';
    /* Bybit lists newest first; the others oldest first. */
    long count = 0;
    uint64_t sel[1500];
    for (uint64_t i = 0; i < closed && count < limit; i++) {
        const candle_t *c = &r->candles[i];
        if (c->open_ms < start || c->open_ms > end)
            continue;
        sel[count++] = i;
    }
    for (long k = 0; k < count; k++) {
        const candle_t *c = &r->candles[sel[bybit ? count - 1 - k : k]];
        int64_t close_ms = c->open_ms + (int64_t)r->interval_s * 1000 - 1;
        if (bybit) {
            o += (size_t)snprintf(
                out + o, cap - o, "%s[\"%lld\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"0\"]",
                k ? "," : "", (long long)c->open_ms, c->o, c->h, c->l, c->c, c->v);
        } else if (r->o.venue == NX_VENUE_ALPACA) {
            char ts[40];
            rfc3339(c->open_ms, ts, sizeof ts);
            o += (size_t)snprintf(out + o, cap - o,
                                  "%s{\"t\":\"%s\",\"o\":%s,\"h\":%s,\"l\":%s,\"c\":%s,\"v\":%s,"
                                  "\"n\":4,\"vw\":%s}",
                                  k ? "," : "", ts, c->o, c->h, c->l, c->c, c->v, c->c);
        } else {
            o += (size_t)snprintf(out + o, cap - o,
                                  "%s[%lld,\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",%lld,\"0\",4,\"0\","
                                  "\"0\",\"0\"]",
                                  k ? "," : "", (long long)c->open_ms, c->o, c->h, c->l, c->c, c->v,
                                  (long long)close_ms);
        }
    }
    if (bybit)
        o += (size_t)snprintf(out + o, cap - o, "]},\"retExtInfo\":{},\"time\":%lld}",
                              (long long)(nx_mono_ns() / NX_NS_PER_MS));
    else if (r->o.venue == NX_VENUE_ALPACA)
        o += (size_t)snprintf(out + o, cap - o, "],\"symbol\":\"%s\",\"next_page_token\":null}",
                              r->o.symbol);
    else
        out[o++] = ']';
    out[o] = 0;
    *len = o;
    *status = 200;
    return out;
}

static char *rest_depth(nx_replay_t *r, struct lws *wsi, size_t *len, int *status)
{
    char sb[48], a[32];
    const char *v, *sym = arg(wsi, "symbol=", sb, sizeof sb);
    long limit = 1000;
    if (!sym)
        sym = "";
    if ((v = arg(wsi, "limit=", a, sizeof a)))
        limit = atol(v);
    const nx_symbol_t *s;
    const nx_book_t *b = book_for(r, sym, &s);
    if (!b) {
        *status = 400;
        return fmt(len, "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}");
    }
    size_t bl, al;
    char *bids = json_levels(b, s, 0, (int)limit, &bl),
         *asks = json_levels(b, s, 1, (int)limit, &al);
    int64_t t = b->last_update_ns / NX_NS_PER_MS;
    char *out = fmt(len, "{\"lastUpdateId\":%llu,\"E\":%lld,\"T\":%lld,\"bids\":%s,\"asks\":%s}",
                    (unsigned long long)b->last_id, (long long)t, (long long)t, bids ? bids : "[]",
                    asks ? asks : "[]");
    free(bids);
    free(asks);
    *status = 200;
    return out;
}

static char *rest_status(nx_replay_t *r, size_t *len)
{
    nx_replay_stats_t st;
    nx_replay_stats(r, &st);
    return fmt(
        len,
        "{\"messages\":%llu,\"position\":%llu,\"sent\":%llu,\"drops\":%llu,\"malformed\":%llu,"
        "\"skipped\":%llu,\"stalls\":%llu,\"http429\":%llu,\"rest_requests\":%llu,"
        "\"hostile\":%llu,\"sub_refused\":%llu,\"clients\":%u,\"connections\":%u,\"done\":%s}",
        (unsigned long long)st.messages, (unsigned long long)st.position,
        (unsigned long long)st.sent, (unsigned long long)st.drops, (unsigned long long)st.malformed,
        (unsigned long long)st.skipped, (unsigned long long)st.stalls,
        (unsigned long long)st.http429, (unsigned long long)st.rest_requests,
        (unsigned long long)st.hostile, (unsigned long long)st.sub_refused, st.clients,
        st.connections, st.done ? "true" : "false");
}

static char *rest_fault(nx_replay_t *r, struct lws *wsi, size_t *len, int *status)
{
    char kb[32], a[32];
    const char *v, *kind = arg(wsi, "kind=", kb, sizeof kb);
    if (!kind)
        kind = "";
    long n = (v = arg(wsi, "n=", a, sizeof a)) ? atol(v) : 1;
    long ms = (v = arg(wsi, "ms=", a, sizeof a)) ? atol(v) : 1000;
    *status = 200;
    if (!strcmp(kind, "drop"))
        r->cmd_drop += (int)n;
    else if (!strcmp(kind, "skip"))
        r->cmd_skip += (int)n;
    else if (!strcmp(kind, "malformed"))
        r->cmd_malformed += (int)n;
    else if (!strcmp(kind, "http429"))
        r->cmd_429 += (uint32_t)n;
    else if (!strcmp(kind, "stall"))
        r->cmd_stall_ms = (uint32_t)ms;
    else if (!strcmp(kind, "oversize"))
        r->cmd_oversize += (uint32_t)n;
    else {
        *status = 400;
        return fmt(len,
                   "{\"error\":\"kind must be drop|skip|malformed|http429|stall|oversize\"}");
    }
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (r->clients[i])
            lws_callback_on_writable(r->clients[i]->wsi);
    return fmt(len, "{\"ok\":true}");
}

static int http_request(nx_replay_t *r, struct lws *wsi, pss_t *p, const char *path)
{
    size_t len = 0;
    int status = 200;
    char *body = NULL;
    p->retry_after = 0;
    int is_control = strncmp(path, "/_replay/", 9) == 0;
    if (!is_control) {
        r->st.rest_requests++;
        if (r->st.rest_requests <= r->o.http429_first || r->cmd_429) {
            if (r->cmd_429)
                r->cmd_429--;
            r->st.http429++;
            status = 429;
            p->retry_after = (int)(r->o.retry_after_s ? r->o.retry_after_s : 1);
            body = fmt(&len, "{\"code\":-1003,\"msg\":\"Too many requests; retry after %d s.\"}",
                       p->retry_after);
        }
    }
    if (!body) {
        if (!strcmp(path, "/_replay/status"))
            body = rest_status(r, &len);
        else if (!strcmp(path, "/_replay/fault"))
            body = rest_fault(r, wsi, &len, &status);
        else if (!strcmp(path, "/fapi/v1/klines") || !strcmp(path, "/api/v3/klines") ||
                 !strcmp(path, "/v5/market/kline") ||
                 (!strncmp(path, "/v2/stocks/", 11) && strstr(path, "/bars"))) {
            body = rest_klines(r, wsi, &len, &status);
            p->klines = status == 200;
        }
        else if (!strcmp(path, "/fapi/v1/depth") || !strcmp(path, "/api/v3/depth"))
            body = rest_depth(r, wsi, &len, &status);
        else if (!strcmp(path, "/fapi/v1/time") || !strcmp(path, "/api/v3/time"))
            body = fmt(&len, "{\"serverTime\":%lld}", (long long)(nx_mono_ns() / NX_NS_PER_MS));
        else if (!strcmp(path, "/v5/market/time"))
            body =
                fmt(&len, "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"timeSecond\":\"%lld\"}}",
                    (long long)(time(NULL)));
        else if (!strcmp(path, "/fapi/v1/exchangeInfo") || !strcmp(path, "/api/v3/exchangeInfo"))
            body =
                fmt(&len,
                    "{\"timezone\":\"UTC\",\"symbols\":[{\"symbol\":\"%s\",\"status\":\"TRADING\","
                    "\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"tickSize\":\"0.01\"},"
                    "{\"filterType\":\"LOT_SIZE\",\"stepSize\":\"0.00001\"}]}]}",
                    r->o.symbol);
        else {
            status = 404;
            body = fmt(&len, "{\"code\":-1,\"msg\":\"not found: %s\"}", path);
        }
    }
    if (!body)
        return -1;
    if (!is_control && status == 200 && r->cmd_oversize) {
        /* the same JSON, then whitespace past the 4 MiB a client keeps */
        r->cmd_oversize--;
        size_t big = len + (5u << 20);
        char *b = realloc(body, big + 1);
        if (!b) {
            free(body);
            return -1;
        }
        memset(b + len, ' ', big - len);
        b[big] = 0;
        body = b;
        len = big;
    }
    p->body = body;
    p->body_len = len;
    p->status = status;
    uint8_t hdr[LWS_PRE + 512], *start = &hdr[LWS_PRE], *q = start, *end = &hdr[sizeof hdr - 1];
    if (lws_add_http_common_headers(wsi, (unsigned)status, "application/json", (lws_filepos_t)len,
                                    &q, end))
        return 1;
    if (p->retry_after) {
        char ra[16];
        int n = snprintf(ra, sizeof ra, "%d", p->retry_after);
        if (lws_add_http_header_by_name(
                wsi, (const unsigned char *)"Retry-After:", (const unsigned char *)ra, n, &q, end))
            return 1;
    }
    if (lws_finalize_write_http_header(wsi, start, &q, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

/* ---------- WebSocket ---------- */

static void ctl_push(pss_t *p, char *s)
{
    if (p->ctl_tail - p->ctl_head >= CTL_SLOTS) {
        free(s);
        return;
    }
    p->ctl[p->ctl_tail++ % CTL_SLOTS] = s;
}

static char *bybit_snapshot(nx_replay_t *r, const char *topic)
{
    /* orderbook.<depth>.<symbol> */
    const char *dot = strrchr(topic, '.');
    if (!dot)
        return NULL;
    const nx_symbol_t *s;
    const nx_book_t *b = book_for(r, dot + 1, &s);
    if (!b)
        return NULL;
    size_t bl, al, len;
    char *bids = json_levels(b, s, 0, 1000, &bl), *asks = json_levels(b, s, 1, 1000, &al);
    char *m = fmt(&len,
                  "{\"topic\":\"%s\",\"type\":\"snapshot\",\"ts\":%lld,\"data\":{\"s\":\"%s\","
                  "\"b\":%s,\"a\":%s,\"u\":%llu,\"seq\":1},\"cts\":%lld}",
                  topic, (long long)(b->last_update_ns / NX_NS_PER_MS), dot + 1, bids ? bids : "[]",
                  asks ? asks : "[]", (unsigned long long)b->last_id,
                  (long long)(b->last_update_ns / NX_NS_PER_MS));
    free(bids);
    free(asks);
    return m;
}

static void ws_receive(nx_replay_t *r, struct lws *wsi, pss_t *p, const char *in, size_t len)
{
    char buf[2048];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, in, n);
    buf[n] = 0;
    size_t ml;
    if (r->o.venue == NX_VENUE_ALPACA) {
        if (strstr(buf, "\"auth\"")) {
            p->authed = 1;
            ctl_push(p, fmt(&ml, "[{\"T\":\"success\",\"msg\":\"authenticated\"}]"));
        } else if (strstr(buf, "\"subscribe\"")) {
            if (!p->authed) {
                ctl_push(
                    p, fmt(&ml, "[{\"T\":\"error\",\"code\":401,\"msg\":\"not authenticated\"}]"));
            } else {
                char sym[32] = "*";
                const char *t = strstr(buf, "\"trades\":[\"");
                if (t)
                    sscanf(t + 11, "%31[^\"]", sym);
                ctl_push(
                    p, fmt(&ml,
                           "[{\"T\":\"subscription\",\"trades\":[\"%s\"],\"quotes\":[],"
                           "\"bars\":[\"%s\"],\"updatedBars\":[],\"dailyBars\":[],"
                           "\"statuses\":[],\"lulds\":[],\"corrections\":[],\"cancelErrors\":[]}]",
                           sym, sym));
                p->streaming = 1;
            }
        }
    } else if (r->o.venue == NX_VENUE_BYBIT_LINEAR || r->o.venue == NX_VENUE_BYBIT_SPOT) {
        char req[64] = "";
        str_field(buf, "req_id", req, sizeof req);
        if (strstr(buf, "\"op\":\"ping\"")) {
            ctl_push(p, fmt(&ml,
                            "{\"success\":true,\"ret_msg\":\"pong\",\"conn_id\":\"replay\","
                            "\"req_id\":\"%s\",\"op\":\"ping\"}",
                            req));
        } else if (strstr(buf, "\"op\":\"subscribe\"") || strstr(buf, "\"op\":\"unsubscribe\"")) {
            int sub = strstr(buf, "\"op\":\"subscribe\"") != NULL;
            const char *a = strstr(buf, "\"args\":[");
            char dup[64] = ""; /* Bybit refuses a topic already subscribed (in this request too) */
            for (const char *q = a ? a + 8 : NULL; q && *q == '"';) {
                const char *e = strchr(q + 1, '"');
                if (!e)
                    break;
                char topic[64];
                size_t tl =
                    (size_t)(e - q - 1) < sizeof topic - 1 ? (size_t)(e - q - 1) : sizeof topic - 1;
                memcpy(topic, q + 1, tl);
                topic[tl] = 0;
                char pat[72];
                snprintf(pat, sizeof pat, "|%s|", topic);
                if (sub && strstr(p->filter, pat) && !dup[0])
                    snprintf(dup, sizeof dup, "%s", topic);
                if (sub && !strstr(p->filter, pat) &&
                    strlen(p->filter) + tl + 2 < sizeof p->filter) {
                    if (!p->filter[0])
                        strcat(p->filter, "|");
                    strcat(p->filter, topic);
                    strcat(p->filter, "|");
                } else if (!sub) {
                    char *at = strstr(p->filter, pat);
                    if (at)
                        memmove(at, at + strlen(pat) - 1, strlen(at + strlen(pat) - 1) + 1);
                }
                if (sub && !strncmp(topic, "orderbook.", 10)) {
                    char *snap = bybit_snapshot(r, topic);
                    if (snap)
                        ctl_push(p, snap);
                }
                q = e + 1;
                if (*q == ',')
                    q++;
            }
            if (dup[0]) { /* as Bybit answers it */
                r->st.sub_refused++;
                ctl_push(p, fmt(&ml,
                                "{\"success\":false,\"ret_msg\":\"error:already subscribed,topic:"
                                "%s\",\"conn_id\":\"replay\",\"req_id\":\"%s\",\"op\":\"subscribe\"}",
                                dup, req));
            } else {
                ctl_push(p, fmt(&ml,
                                "{\"success\":true,\"ret_msg\":\"\",\"conn_id\":\"replay\","
                                "\"req_id\":\"%s\",\"op\":\"%s\"}",
                                req, sub ? "subscribe" : "unsubscribe"));
            }
            p->streaming = 1;
            /* a subscription of several requests (spot: 10 topics each)
             * comes back to back; none of it misses the data's start */
            p->stream_from_ns = nx_mono_ns() + NX_REPLAY_SUB_SETTLE_MS * NX_NS_PER_MS;
        }
    } else {
        /* Binance live SUBSCRIBE: acknowledge; the URL already chose streams. */
        if (strstr(buf, "\"method\"")) {
            long id = 0;
            const char *q = strstr(buf, "\"id\":");
            if (q)
                id = atol(q + 5);
            ctl_push(p, fmt(&ml, "{\"result\":null,\"id\":%ld}", id));
        }
    }
    lws_callback_on_writable(wsi);
}

static int ws_write(struct lws *wsi, const char *s, size_t len)
{
    unsigned char *buf = malloc(LWS_PRE + len);
    if (!buf)
        return -1;
    memcpy(buf + LWS_PRE, s, len);
    int n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
    free(buf);
    return n < (int)len ? -1 : 0;
}

static int ws_writable(nx_replay_t *r, struct lws *wsi, pss_t *p)
{
    if (p->closing)
        return -1;
    if (p->ctl_head != p->ctl_tail) {
        char *s = p->ctl[p->ctl_head++ % CTL_SLOTS];
        int rc = ws_write(wsi, s, strlen(s));
        free(s);
        lws_callback_on_writable(wsi);
        return rc;
    }
    if (!p->streaming || nx_mono_ns() < p->stream_from_ns)
        return 0; /* (the tick wakes us) */
    if (nx_mono_ns() < r->stall_until_ns)
        return 0; /* the tick timer wakes us */
    uint64_t end = live_end(r);
    if (p->cursor >= end) {
        if (p->cursor >= r->n) {
            r->st.done = 1;
            atomic_store_explicit(&r->done, 1, memory_order_release);
        }
        return 0;
    }
    /* Scheduled or commanded drop: close, and the client misses drop_gap
     * messages (data the venue sent while the client was away). */
    int drop = r->cmd_drop > 0 || (r->o.drop_every && p->since_drop >= r->o.drop_every &&
                                   (!r->o.drop_max || r->st.drops < r->o.drop_max));
    if (drop) {
        if (r->cmd_drop > 0)
            r->cmd_drop--;
        r->st.drops++;
        p->since_drop = 0;
        uint64_t gap = r->o.drop_gap;
        r->pos = p->cursor + gap < r->n ? p->cursor + gap : r->n;
        apply_until(r, r->pos);
        p->closing = 1;
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *)"replay drop", 11);
        return -1;
    }
    if ((r->o.stall_every && p->cursor && p->cursor % r->o.stall_every == 0 &&
         r->stall_until_ns == 0) ||
        r->cmd_stall_ms) {
        uint32_t ms = r->cmd_stall_ms ? r->cmd_stall_ms : r->o.stall_ms;
        r->cmd_stall_ms = 0;
        r->stall_until_ns = nx_mono_ns() + (int64_t)ms * NX_NS_PER_MS;
        r->st.stalls++;
        return 0;
    }
    r->stall_until_ns = 0;
    /* Next message this client wants. What it skips counts as passed: the
     * replay's position must move on with it, or every later callback
     * (and tick) scans again from where it stood, over every message that
     * came due since — for a klines-only client, most of the file. */
    while (p->cursor < end && !wants(p, &r->msgs[p->cursor]))
        p->cursor++;
    if (p->cursor > r->pos)
        r->pos = p->cursor;
    if (p->cursor >= end)
        return 0;
    msg_t *m = &r->msgs[p->cursor];
    if (r->o.wait_backfill_ms && r->next_hold < r->nholds && p->cursor == r->holds[r->next_hold]) {
        r->closed_at_hold = r->klines_closed; /* the client asks after it has this kline */
        r->held_since_ns = nx_mono_ns();
    }
    apply_until(r, p->cursor + 1);
    if (m->kind == K_DEPTH) {
        r->depth_seen++;
        if (r->cmd_skip > 0 || (r->o.skip_every && r->depth_seen > r->o.skip_after &&
                                r->depth_seen % r->o.skip_every == 0)) {
            if (r->cmd_skip > 0)
                r->cmd_skip--;
            r->st.skipped++;
            p->cursor++;
            if (p->cursor > r->pos)
                r->pos = p->cursor;
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    if (r->cmd_malformed > 0 ||
        (r->o.malformed_every && (r->st.sent + 1) % r->o.malformed_every == 0)) {
        if (r->cmd_malformed > 0)
            r->cmd_malformed--;
        r->st.malformed++;
        r->st.sent++;
        /* Half a frame: what a broken proxy or a bug at the venue sends. */
        int rc = ws_write(wsi, m->data, m->len / 2);
        lws_callback_on_writable(wsi);
        return rc;
    }
    if (ws_write(wsi, m->data, m->len))
        return -1;
    r->st.sent++;
    p->since_drop++;
    p->cursor++;
    if (p->cursor > r->pos)
        r->pos = p->cursor;
    lws_callback_on_writable(wsi);
    return 0;
}

static void add_client(nx_replay_t *r, pss_t *p)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (!r->clients[i]) {
            r->clients[i] = p;
            break;
        }
}

static void del_client(nx_replay_t *r, pss_t *p)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (r->clients[i] == p)
            r->clients[i] = NULL;
    while (p->ctl_head != p->ctl_tail)
        free(p->ctl[p->ctl_head++ % CTL_SLOTS]);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    nx_replay_t *r = lws_context_user(lws_get_context(wsi));
    pss_t *p = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        memset(p, 0, sizeof *p);
        p->r = r;
        char path[256];
        snprintf(path, sizeof path, "%s", (const char *)in);
        return http_request(r, wsi, p, path);
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!p || !p->body)
            return -1;
        unsigned char *buf = malloc(LWS_PRE + p->body_len + 1);
        if (!buf)
            return -1;
        memcpy(buf + LWS_PRE, p->body, p->body_len);
        int n = lws_write(wsi, buf + LWS_PRE, p->body_len, LWS_WRITE_HTTP_FINAL);
        free(buf);
        free(p->body);
        p->body = NULL;
        if (n < 0)
            return -1;
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (!p) /* closed before a request came: nothing of it was kept */
            break;
        free(p->body);
        p->body = NULL;
        if (p->klines) { /* the answer is out: the stream may go on shortly */
            p->klines = 0;
            r->klines_closed++;
            r->klines_closed_ns = nx_mono_ns();
            for (int i = 0; i < MAX_CLIENTS; i++)
                if (r->clients[i])
                    lws_callback_on_writable(r->clients[i]->wsi);
        }
        break;
    case LWS_CALLBACK_ESTABLISHED: {
        memset(p, 0, sizeof *p);
        p->r = r;
        p->wsi = wsi;
        p->cursor = r->pos;
        r->st.connections++;
        if (r->st.connections == 1 && r->o.speed > 0) {
            r->t0_wall_ns = nx_mono_ns();
            r->t0_msg_ms = r->n ? r->msgs[0].ts_ms : 0;
        }
        add_client(r, p);
        char args[1024] = "";
        if (lws_hdr_copy(wsi, args, sizeof args, WSI_TOKEN_HTTP_URI_ARGS) > 0) {
            const char *s = strstr(args, "streams=");
            if (s) {
                snprintf(p->filter, sizeof p->filter, "|%s|", s + 8);
                for (char *c = p->filter; *c; c++)
                    if (*c == '/')
                        *c = '|';
            }
        }
        if (r->o.venue == NX_VENUE_ALPACA) {
            size_t ml;
            ctl_push(p, fmt(&ml, "[{\"T\":\"success\",\"msg\":\"connected\"}]"));
        } else if (r->o.venue == NX_VENUE_BINANCE_USDM || r->o.venue == NX_VENUE_BINANCE_SPOT) {
            p->streaming = 1;
        }
        lws_callback_on_writable(wsi);
        break;
    }
    case LWS_CALLBACK_RECEIVE:
        ws_receive(r, wsi, p, in, len);
        break;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writable(r, wsi, p);
    case LWS_CALLBACK_CLOSED:
        del_client(r, p);
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"replay", callback, sizeof(pss_t), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* The tick nudges the clients when no socket event would wake the loop:
 * a paced stream's next message coming due, a stall ending. It sleeps
 * until the earliest of those (1 ms at least, 50 ms at most): a replay
 * of 15-minute candles at 36,000x sends one message every 25 ms, and a
 * 1 ms tick woke the loop a thousand times a second for it — with the
 * clients' writable callbacks, a whole core (test_feed_replay measures). */
static int64_t tick_wait_us(nx_replay_t *r)
{
    int64_t now = nx_mono_ns(), due = now + 50 * NX_NS_PER_MS;
    if (r->o.speed > 0 && r->t0_wall_ns && r->pos < r->n) {
        double ms = (double)(r->msgs[r->pos].ts_ms - r->t0_msg_ms) / r->o.speed;
        int64_t at = r->t0_wall_ns + (int64_t)(ms * 1e6);
        if (at < due)
            due = at;
    }
    if (r->stall_until_ns && r->stall_until_ns < due)
        due = r->stall_until_ns;
    int64_t us = (due - now) / 1000;
    return us < 1000 ? 1000 : us;
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    nx_replay_t *r = lws_container_of(sul, nx_replay_t, tick);
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (r->clients[i])
            lws_callback_on_writable(r->clients[i]->wsi);
    lws_sul_schedule(r->ctx, 0, &r->tick, on_tick, (lws_usec_t)tick_wait_us(r));
}

/* A replay with its source read (and, with `build`, turned into the
 * venue's messages), not yet serving; why says what is wrong with the
 * source. The part nx_replay_create and nx_replay_check share. */
static int load(nx_replay_t **out, const nx_replay_opts_t *o, int build, char *why, size_t cap)
{
    *out = NULL;
    if (!o || (!o->frames_path == !o->candles_path) || o->venue <= NX_VENUE_NONE ||
        o->venue == NX_VENUE_PAPER || o->venue >= NX_VENUE_COUNT) {
        snprintf(why, cap, "no source, or not a venue that can be replayed");
        return NX_EINVAL;
    }
    nx_replay_t *r = calloc(1, sizeof *r);
    if (!r)
        return NX_ENOMEM;
    r->o = *o;
    if (!r->o.symbol)
        r->o.symbol = "BTCUSDT";
    int rc = NX_ENOMEM;
    r->symtab = malloc(sizeof *r->symtab);
    if (!r->symtab)
        goto fail;
    nx_symtab_init(r->symtab);
    if (nx_ring_create(&r->ring, "replay", 1 << 16, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                       NX_WAIT_SPIN))
        goto fail;
    if ((rc = nx_decoder_init(&r->dec, o->venue, r->symtab, r->ring)))
        goto fail;
    r->dec.auto_intern = 1;
    nx_bookset_init(&r->books, o->venue, 5000, 0);
    r->books.assume_empty = 1;
    if (o->frames_path)
        rc = load_frames(r, o->frames_path, why, cap);
    else if ((rc = load_candles(r, o->candles_path, why, cap)) == 0 && build)
        rc = build_candle_msgs(r);
    if (rc)
        goto fail;
    *out = r;
    return 0;
fail:
    if (rc == NX_ENOMEM)
        snprintf(why, cap, "out of memory");
    nx_replay_destroy(r);
    return rc;
}

int nx_replay_load(nx_replay_t **out, const nx_replay_opts_t *o, char *why, size_t cap)
{
    int rc = load(out, o, 1, why, cap);
    if (!rc)
        memset(&(*out)->dec.st, 0, sizeof (*out)->dec.st);
    return rc;
}

uint64_t nx_replay_count(const nx_replay_t *r)
{
    return r ? r->n : 0;
}

int nx_replay_msg(const nx_replay_t *r, uint64_t i, nx_replay_msg_t *m)
{
    if (!r || i >= r->n)
        return NX_EINVAL;
    m->data = r->msgs[i].data;
    m->len = r->msgs[i].len;
    m->ts_ms = r->msgs[i].ts_ms;
    m->raw_ts_ms = r->msgs[i].raw_ts_ms;
    m->stream = r->msgs[i].stream;
    m->kind = r->msgs[i].kind;
    m->symbol = r->msgs[i].symbol;
    return 0;
}

int nx_replay_check(const nx_replay_opts_t *o, char *why, size_t cap)
{
    nx_replay_t *r;
    int rc = load(&r, o, 0, why, cap);
    nx_replay_destroy(r);
    return rc;
}

int nx_replay_create(nx_replay_t **out, const nx_replay_opts_t *o)
{
    char why[256];
    nx_replay_t *r;
    int rc = load(&r, o, 1, why, sizeof why);
    if (rc)
        return rc;
    /* Replay's own decoder must not count the load pass. */
    memset(&r->dec.st, 0, sizeof r->dec.st);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = o->port ? o->port : 0;
    info.iface = "127.0.0.1";
    info.protocols = protocols;
    info.user = r;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    info.options &= ~(uint64_t)LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    lws_set_log_level(o->quiet ? 0 : LLL_ERR, NULL);
    r->ctx = lws_create_context(&info);
    if (!r->ctx) {
        rc = NX_ESYSTEM;
        goto fail;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(r->ctx, "default");
    r->port = vh ? lws_get_vhost_listen_port(vh) : o->port;
    lws_sul_schedule(r->ctx, 0, &r->tick, on_tick, 1000);
    *out = r;
    return 0;
fail:
    nx_replay_destroy(r);
    return rc;
}

int nx_replay_port(const nx_replay_t *r)
{
    return r->port;
}

int nx_replay_run(nx_replay_t *r)
{
    while (!atomic_load(&r->stop))
        if (lws_service(r->ctx, 0) < 0)
            return NX_ESYSTEM;
    return 0;
}

void nx_replay_stop(nx_replay_t *r)
{
    atomic_store(&r->stop, 1);
    if (r->ctx)
        lws_cancel_service(r->ctx);
}

int nx_replay_done(const nx_replay_t *r)
{
    return atomic_load_explicit(&((nx_replay_t *)r)->done, memory_order_acquire);
}

void nx_replay_stats(nx_replay_t *r, nx_replay_stats_t *st)
{
    *st = r->st;
    st->messages = r->n;
    st->position = r->pos;
    st->clients = 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
        st->clients += r->clients[i] != NULL;
    st->done = r->pos >= r->n;
}

void nx_replay_destroy(nx_replay_t *r)
{
    if (!r)
        return;
    if (r->ctx)
        lws_context_destroy(r->ctx);
    for (uint64_t i = 0; i < r->n; i++)
        free(r->msgs[i].data);
    free(r->msgs);
    free(r->candles);
    free(r->kline_msg);
    free(r->holds);
    nx_bookset_free(&r->books);
    nx_decoder_fini(&r->dec);
    if (r->ring)
        nx_ring_destroy(r->ring);
    free(r->symtab);
    free(r);
}
