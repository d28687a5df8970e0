/*
 * feed.h — live market data from one venue over WebSocket, kept whole.
 *
 * A feed owns the venue connections ("legs") for a set of subscribed
 * symbols and streams: Binance USD-M uses two legs on the 2026 routed bases
 * (/public for book streams, /market for trades, klines and mark price),
 * Bybit V5 and Alpaca one each. Every leg parses frames straight into the
 * market ring (decode.h) on the network thread.
 *
 * Never silently stale:
 *  - a per-leg watchdog reconnects a leg that received nothing for
 *    `watchdog_ms`, and reports NX_ST_STALE;
 *  - reconnects back off exponentially with jitter (backoff_min_ms ..
 *    backoff_max_ms), reset by a healthy connection;
 *  - REST answers 429/418 are honoured: no REST request is sent before the
 *    Retry-After time passes;
 *  - after any reconnect or kline gap, missing closed klines are fetched
 *    over REST (/fapi/v1/klines, /v5/market/kline, Alpaca bars) and
 *    published in order, flagged NX_EVF_BACKFILL; live klines that would
 *    duplicate or jump ahead of them are held back or suppressed, so
 *    downstream sees every closed candle exactly once, in order;
 *  - order books resync on any gap or crossing (REST snapshot for Binance,
 *    resubscribe for Bybit) with NX_ST_BOOK_GAP / NX_ST_BOOK_RESYNCED status
 *    events, and when a live book has not moved for `book_stale_ms` while
 *    its connection is up (NX_ST_STALE);
 *  - the Bybit `ping` op is sent every 20 s; Binance pings are answered by
 *    libwebsockets; a Binance leg is renewed before the venue's 24 h limit.
 *
 * Subscriptions are reference-counted per (symbol, stream): many users
 * watching one symbol make one wire subscription.
 *
 * Threads: nx_feed_create and the first nx_feed_subscribe calls run at
 * start-up, on the thread that will start the network thread (the engine
 * makes its feeds before any thread runs); from then on every function
 * runs on the network thread that services the nx_net_t, except
 * nx_feed_stats (any thread, relaxed counters, never blocks). Destroy a
 * feed after its net (nx_net_destroy runs its connections' close
 * callbacks), once no thread reads its stats.
 */
#ifndef NX_FEED_H
#define NX_FEED_H

#include <stdint.h>

#include "nx/clock.h"
#include "nx/decode.h"
#include "nx/net.h"
#include "nx/ring.h"
#include "nx/symtab.h"
#include "nx/venue.h"

typedef struct nx_feed nx_feed_t;

enum {
    NX_FEED_TRADES = 1u << 0,
    NX_FEED_BBO = 1u << 1,
    NX_FEED_KLINES = 1u << 2,
    NX_FEED_BOOK = 1u << 3,
    NX_FEED_MARK = 1u << 4,
};

typedef struct nx_feed_opts {
    nx_venue_t venue;
    const char *ws_url;         /* "wss://fstream.binance.com", "ws://127.0.0.1:9911" */
    const char *rest_url;       /* "https://fapi.binance.com", "http://127.0.0.1:9911" */
    const char *kline_interval; /* "1m" (Binance), "1" (Bybit); Alpaca bars are 1m */
    uint32_t watchdog_ms;       /* default 10000 */
    uint32_t backoff_min_ms;    /* default 50 */
    uint32_t backoff_max_ms;    /* default 30000 */
    uint32_t book_depth;        /* levels kept per side, default 1000 */
    int64_t stale_ns;           /* default 60 s */
    uint32_t max_age_s;         /* renew a connection after this long, default 23.5 h */
    uint32_t book_stale_ms;     /* resync a live book unchanged this long, default 60000 */
    uint32_t ping_s;            /* Bybit `ping` op period, default 20 */
    const char *alpaca_key, *alpaca_secret; /* from the environment; never logged */
} nx_feed_opts_t;

typedef struct nx_feed_stats {
    uint64_t frames, events, errors, control;
    uint64_t connects, disconnects, reconnect_max_ms, reconnect_total_ms;
    uint64_t watchdog_fires;
    uint64_t pings, pongs; /* Bybit ping ops sent, pong replies seen */
    uint64_t rest_requests, rest_errors, http429;
    uint64_t backfill_requests, backfill_klines, klines_suppressed;
    uint64_t book_gaps, book_resyncs, book_stale;
    int64_t rest_blocked_until_ns; /* Retry-After in force until */
    int64_t last_429_ns, first_rest_after_429_ns;
    uint64_t rest_pending; /* REST requests queued or in flight now (backfill, snapshots) */
    uint64_t bad[NX_BAD_COUNT]; /* values refused by kind: frames and REST candles */
    /* Dropped, each counted and logged at its first (issue 16): */
    uint64_t stash_dropped;   /* live closed klines past the 64 held while a hole is fetched */
    uint64_t control_dropped; /* subscription changes past the 8 queued on a connection */
    uint64_t rest_oversize;   /* REST answers over 4 MiB, not parsed */
} nx_feed_stats_t;

void nx_feed_opts_default(nx_feed_opts_t *o);

/* Create a feed on `net` producing into `ring` (never-block market ring).
 * Start-up: allocates its buffers and adds its own client vhost to the
 * net's context (the vhost goes with nx_net_destroy). Returns NULL on bad
 * options or when the vhost cannot be made. */
nx_feed_t *nx_feed_create(nx_net_t *net, const nx_feed_opts_t *o, nx_symtab_t *symtab,
                          nx_ring_t *ring);

/* Add one reference to (symbol, streams); the first reference subscribes
 * on the wire (now if connected, else at connect). Returns 0 or NX_EINVAL. */
int nx_feed_subscribe(nx_feed_t *f, uint32_t symbol, unsigned streams);
/* Drop one reference to (symbol, streams); the last one unsubscribes on
 * the wire (now if connected; a reconnect leaves it out). A stream with no
 * reference left is skipped. On Bybit, BBO and MARK share one topic, which
 * is unsubscribed only when neither is left. Returns 0 or NX_EINVAL
 * (unknown symbol, no or unknown stream bits). */
int nx_feed_unsubscribe(nx_feed_t *f, uint32_t symbol, unsigned streams);
/* Wire subscriptions for a symbol (after de-duplication), for tests. */
unsigned nx_feed_wire_streams(const nx_feed_t *f, uint32_t symbol);

/* Connect every leg that has subscriptions. */
int nx_feed_start(nx_feed_t *f);
/* Close every leg and stop reconnecting. */
void nx_feed_stop(nx_feed_t *f);

void nx_feed_stats(const nx_feed_t *f, nx_feed_stats_t *st);
const nx_decoder_stats_t *nx_feed_decoder_stats(const nx_feed_t *f);

/* The local book of a subscribed symbol (network thread), or NULL. */
struct nx_book;
const struct nx_book *nx_feed_book(nx_feed_t *f, uint32_t symbol);

/* Free the feed. Its connections call back into it until they are closed:
 * destroy it after nx_net_destroy (which closes them). */
void nx_feed_destroy(nx_feed_t *f);

#endif /* NX_FEED_H */
