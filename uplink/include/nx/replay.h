/*
 * replay.h — the exchange on loopback: a libwebsockets server on 127.0.0.1
 * that speaks a venue's own wire format, for tests and for the main job.
 *
 * Sources: raw recorded frames (JSON lines, byte for byte as captured), or
 * a candle CSV (open_time_ms,open,high,low,close,volume) turned into that
 * venue's trade and closed-kline messages (four trades per candle: open,
 * high, low, close, a quarter of the volume each).
 *
 * Serving: WebSocket market streams (Binance combined /stream and routed
 * /public /market bases, Bybit V5 /v5/public/{linear,spot} with subscribe
 * and ping ops, Alpaca /v2/{feed} with auth and subscribe) and the REST
 * endpoints the feeds use: klines (/fapi/v1/klines, /api/v3/klines,
 * /v5/market/kline, /v2/stocks/{symbol}/bars), depth snapshot
 * (/fapi/v1/depth, built from the book the server has streamed so far, so
 * a client can resync), exchange info and server time.
 *
 * The stream is "live": one server-wide position advances through the
 * messages (paced as recorded, scaled, or as fast as the client reads), so
 * a client that disconnects misses what is sent meanwhile and must backfill
 * over REST, as with a real venue. REST klines only return candles the
 * stream has already closed.
 *
 * Fault injection, on a schedule (options) or on command
 * (GET /_replay/fault?kind=drop|stall|skip|malformed|http429|oversize[&n=..]
 * [&ms=..]): drop the WebSocket connection (and skip `drop_gap` messages,
 * the data the client misses), stall, skip a depth update id, send a
 * malformed frame, answer REST with 429 and Retry-After, pad the next REST
 * answers with 5 MiB of whitespace. GET /_replay/status reports counters.
 *
 * Hostile data (candle sources, hostile_every): after every Nth trade (not
 * a candle's last), one frame nobody should trade on, in the venue's own
 * format, kinds in turn: 0 a trade at price 0, 1 at -36385.82, 2 a trade
 * of quantity 0, 3 a closed candle whose low is above its high, 4 a trade
 * at 90,018,000,000, 5 a trade at the current price stamped seven days
 * earlier, 6 the previous trade's id again at ten times its price, 7 an
 * update of the running candle at ten times its prices (Alpaca: a trade at
 * a tenth of the price). The first four a decoder refuses on sight; the
 * rest only a bad-tick filter can catch. They are built into the stream
 * at load, so every client that reads it all gets each of them once.
 *
 * Threads: the server runs its own lws context on the thread that calls
 * nx_replay_run(); nx_replay_stop() may be called from any thread.
 */
#ifndef NX_REPLAY_H
#define NX_REPLAY_H

#include <stdint.h>

#include "nx/venue.h"

#define NX_REPLAY_HOSTILE_KINDS 8

typedef struct nx_replay_opts {
    nx_venue_t venue;
    const char *frames_path;  /* raw frames, one per line; or NULL */
    const char *candles_path; /* candle CSV; or NULL */
    const char *symbol;       /* symbol of the candle CSV (default BTCUSDT) */
    int port;                 /* 0 = any free port (see nx_replay_port) */
    double speed;             /* 0 = as fast as the client reads; 1 = as recorded; N = x N */
    uint32_t drop_every;      /* drop the connection every N messages (0 = never) */
    uint32_t drop_gap;        /* messages the client misses per drop (default 8) */
    uint32_t drop_max;        /* stop dropping after this many drops (0 = no limit) */
    uint32_t malformed_every; /* send a malformed frame every N messages */
    uint32_t skip_every;      /* drop one depth update every N depth updates */
    uint32_t skip_after;      /* ... but none of the first N (clients syncing their books) */
    uint32_t stall_every;     /* pause the stream every N messages ... */
    uint32_t stall_ms;        /* ... for this long */
    uint32_t http429_first;   /* answer the first N REST requests with 429 */
    uint32_t retry_after_s;   /* Retry-After on those answers (default 1) */
    uint32_t hostile_every;   /* a hostile frame after every N trades (0 = never) */
    uint32_t wait_backfill_ms; /* candles: after the kline that follows a hole in the data, send
                                  nothing more until a klines request made since has been
                                  answered and closed, and 200 ms more for the client (whose
                                  stream is quiet) to use it — or this long has passed; so a
                                  client that backfills sees the same order every run (0 = no) */
    /* Each message once, as the live position passes it (just before a
     * client gets it, or when a drop skips it): what a venue simulator
     * beside the replay matches against. On the server's thread. */
    void (*on_message)(void *ctx, const char *data, size_t len);
    void *on_message_ctx;
    int quiet;
    int history; /* REST klines serve every candle (the data's end is now), not only those
                    the stream has passed */
} nx_replay_opts_t;

typedef struct nx_replay nx_replay_t;

typedef struct nx_replay_stats {
    uint64_t messages; /* messages in the store */
    uint64_t position; /* live position */
    uint64_t sent;     /* frames written to clients */
    uint64_t drops, malformed, skipped, stalls, http429, rest_requests;
    uint64_t sub_refused; /* Bybit subscribe requests refused: a topic already subscribed */
    uint64_t hostile;                                    /* hostile frames in the stream */
    uint64_t backfill_waits_expired; /* holds released by wait_backfill_ms, not by a backfill */
    uint64_t hostile_by_kind[NX_REPLAY_HOSTILE_KINDS];   /* ... by kind (0..7 above) */
    uint32_t clients;     /* WebSocket clients connected now */
    uint32_t connections; /* WebSocket connections accepted in all */
    int done;             /* the stream reached its end */
} nx_replay_stats_t;

void nx_replay_opts_default(nx_replay_opts_t *o);

/* Load the source and bind 127.0.0.1:port. Returns 0, or NX_EIO (file),
 * NX_ESYNTAX (bad CSV), NX_ESYSTEM (socket), NX_EINVAL. nx_replay_check
 * says why a source is refused. */
int nx_replay_create(nx_replay_t **out, const nx_replay_opts_t *o);

/* Read and check the source as nx_replay_create would, without serving it
 * (what `nexus check-config` and `nexus run` check before starting). 0, or
 * the code nx_replay_create would return with the reason in why: "no such
 * file: PATH", "PATH is a folder, not a file", and for a candle CSV the
 * line, "PATH:LINE: expected open_time_ms,open,high,low,close,volume",
 * a price that is not a decimal > 0, an open time not after the one
 * before. Allocates while it runs (the whole source); any thread. */
int nx_replay_check(const nx_replay_opts_t *o, char *why, size_t cap);

/* The messages a replay would stream, without serving them (`nexus
 * backtest` feeds them to the engine's decoder in process): the source
 * read and turned into messages as nx_replay_create does, no socket.
 * 0 or nx_replay_check's codes with why. nx_replay_destroy frees it. */
int nx_replay_load(nx_replay_t **out, const nx_replay_opts_t *o, char *why, size_t cap);
typedef struct nx_replay_msg {
    const char *data; /* the venue's payload (not the combined-stream envelope) */
    size_t len;
    int64_t ts_ms;     /* its exchange time, filled forward where a frame has none */
    int64_t raw_ts_ms; /* the time it carries (0: none) */
    /* the stream it came on: a Binance stream name or Bybit topic ("" if
     * the frame names none), the kind of message and its symbol (ids of
     * the replay's own table, NX_SYMBOL_NONE if none); one stream's times
     * never go back, while a venue's streams may arrive seconds apart */
    const char *stream;
    uint8_t kind;
    uint32_t symbol;
} nx_replay_msg_t;
uint64_t nx_replay_count(const nx_replay_t *r);
/* Message i (0 <= i < count). 0 or NX_EINVAL. */
int nx_replay_msg(const nx_replay_t *r, uint64_t i, nx_replay_msg_t *m);

/* The bound port. */
int nx_replay_port(const nx_replay_t *r);

/* Serve until nx_replay_stop(). */
int nx_replay_run(nx_replay_t *r);
void nx_replay_stop(nx_replay_t *r);
/* Counters: on the server's thread only (or after it stopped). */
void nx_replay_stats(nx_replay_t *r, nx_replay_stats_t *st);
/* Any thread: 1 once a client has been sent the whole stream. */
int nx_replay_done(const nx_replay_t *r);
void nx_replay_destroy(nx_replay_t *r);

#endif /* NX_REPLAY_H */
