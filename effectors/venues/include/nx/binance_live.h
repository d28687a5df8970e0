/*
 * binance_live.h — the live Binance USD-M adapter behind NexusBridge: real
 * orders with each session's own keys, over the WebSocket API with REST as
 * the fallback, the user-data stream, and the rules that keep an order from
 * being lost or sent twice.
 *
 * Two threads. The bridge's calls (place, cancel, cancel_all, amend) come
 * on the engine thread: each is checked against the symbol's filters (a
 * local refusal names the filter and nothing is sent), put on a
 * single-producer ring and the network loop is woken; they never block.
 * Everything else runs on the network thread, inside the loop's callbacks:
 * signing at send time (the venue's clock: local time plus the measured
 * offset), the WebSocket API and REST connections, the user-data stream,
 * and what comes back, which leaves through on_update as
 * nx_ev_order_update_t (the engine publishes those to its own thread).
 *
 * Rules:
 *  - Client ids are the engine's (nx-<hex>, nx/binance.h), for orders and
 *    conditional orders alike, so a retry is idempotent while the first is
 *    open and every update finds its session.
 *  - Stop-loss and take-profit orders become conditional (algo) orders,
 *    reduce-only, working on the mark price; amending one is a cancel and
 *    a new one under the same client id (the venue cannot amend them), and
 *    the cancel's echo is not reported as the venue's.
 *  - Quotas: the request weight (the whole process shares one IP) is read
 *    from every answer, and orders per 10 s and per minute are counted per
 *    account; a request that would take any of them past quota_pct of its
 *    limit waits. A 429 or 418 stops everything until Retry-After; while
 *    stopped, new entries are refused (reason: rate limited) and exits wait.
 *  - No blind retry: an order whose answer did not come (a timeout, a lost
 *    connection, HTTP 503 "unknown") is queried by its client id once its
 *    recvWindow has run out — after that the venue can no longer accept
 *    the first copy — and sent again only if the venue does not have it.
 *    -1021 (timestamp outside recvWindow: not executed) measures the clock
 *    offset again and sends once more.
 *  - The user-data stream: a listen key per account, kept alive, a new one
 *    on expiry; after any gap the open orders are queried and what changed
 *    meanwhile is reported, fills with the venue's own trade ids (the order
 *    manager counts a fill once by its id); then, once nothing is left to
 *    ask about, the venue's positions (on_position) for the engine to
 *    compare with its own, its wallet (on_balance), and its open orders
 *    and algo orders: one whose client id is not this session's is
 *    reported once (on_notice, NX_VN_FOREIGN_ORDER). An order Nexus did not
 *    place that opens or fills on the stream asks for all of it again.
 *
 * Keys: each account's secret is prepared into an HMAC key in locked
 * memory (nx/hmac.h); the API key is sent only as X-MBX-APIKEY or apiKey;
 * neither is ever logged.
 */
#ifndef NX_BINANCE_LIVE_H
#define NX_BINANCE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/binance_filters.h"
#include "nx/bridge.h"
#include "nx/symtab.h"

struct lws_context;
typedef struct nx_bnlive nx_bnlive_t;

/* Something a person must know: what (nx_venue_note_t), the symbol
 * (NX_SYMBOL_NONE if none), a number that goes with it (the leverage
 * refused), and the adapter's words for the log. */
typedef void (*nx_bnlive_notice_cb)(void *ctx, uint32_t session, uint8_t what, uint32_t symbol,
                                    int64_t value, const char *text);
/* The venue's USDT wallet balance of a session's account, 10^-8 USDT. */
typedef void (*nx_bnlive_balance_cb)(void *ctx, uint32_t session, int64_t wallet_e8);
/* The venue's position of a session on a symbol (signed qty units; 0 when
 * flat) and its average entry price (price units; 0 when flat), for every
 * symbol of the venue in the table. */
typedef void (*nx_bnlive_position_cb)(void *ctx, uint32_t session, uint32_t symbol, int64_t qty,
                                      int64_t entry_px);

typedef struct nx_bnlive_opts {
    const nx_symtab_t *symtab;
    const nx_bn_filters_t *filters; /* per symbol id, from exchangeInfo; NULL = the adapter
                                       loads GET /fapi/v1/exchangeInfo at start, and refuses
                                       orders (NX_ESTATE) until it has */
    struct lws_context *ctx;        /* the network loop: the adapter adds its client vhost */
    const char *rest_url;           /* "https://fapi.binance.com", "http://127.0.0.1:8080" */
    const char *ws_api_url;         /* "wss://ws-fapi.binance.com/ws-fapi/v1"; NULL = REST only */
    const char *stream_url;         /* "wss://fstream.binance.com" (user data at /ws/<key>) */
    uint32_t recv_window_ms;        /* default 5000 */
    uint32_t answer_timeout_ms;     /* no answer this long: outcome unknown (default 5000) */
    uint32_t keepalive_s;           /* listen key keep-alive period (default 1800) */
    uint32_t quota_pct;             /* stay at or under this % of every quota (default 80) */
    uint32_t weight_1m;             /* the venue's limits (defaults 2400, 300, 1200), replaced by
                                       exchangeInfo's rateLimits when it gives them */
    uint32_t orders_10s;
    uint32_t orders_1m;
    const char *margin_type;        /* "ISOLATED" or "CROSSED", set on each symbol before its
                                       first entry; NULL = the account's own stays */
    nx_order_update_cb on_update;   /* network thread */
    nx_bnlive_notice_cb on_notice;  /* network thread: something a person must know */
    nx_bnlive_position_cb on_position; /* network thread: the venue's positions, after each
                                          (re)connection of the account's stream once the
                                          orders asked about are settled (may be NULL) */
    nx_bnlive_balance_cb on_balance; /* network thread: the account's wallet, asked with
                                        the positions (may be NULL) */
    void *ctx_cb;
} nx_bnlive_opts_t;

typedef struct nx_bnlive_stats {
    uint64_t sent_ws, sent_rest, answers, rejects, local_refusals;
    uint64_t unknown, queries, resent, time_syncs, rate_limited, held_for_quota;
    uint64_t stream_events, stream_connects, stream_gaps, keys_renewed;
    uint64_t updates, amends;
    int64_t clock_offset_ms;   /* venue - local */
    uint32_t used_weight;      /* the venue's last X-MBX-USED-WEIGHT-1M */
    uint32_t max_weight_pct;   /* highest weight reported, % of weight_1m */
    uint32_t max_orders_10s_pct, max_orders_1m_pct; /* highest own counts, % of limits */
    int ws_api_up;
    uint32_t streams_up;
} nx_bnlive_stats_t;

/* Make the adapter on the loop's context (before the network thread
 * starts, or on it). NULL on bad options or out of memory. */
nx_bnlive_t *nx_bnlive_create(const nx_bnlive_opts_t *o);
/* A session's account: its API key and secret (read, not kept: the secret
 * is prepared into locked memory and the caller may wipe its copy).
 * Before nx_bnlive_start. 0, NX_EINVAL, NX_EEXIST, NX_EFULL, NX_ENOMEM. */
int nx_bnlive_add_account(nx_bnlive_t *b, uint32_t session, const char *api_key,
                          const void *secret, size_t secret_len);
/* After a restart: an order the engine stored as open at the venue (its
 * intent, as placed), so the venue's updates about it are followed; start
 * asks the venue how each is now. Before nx_bnlive_start. 0, NX_EINVAL (no
 * such account), NX_EEXIST, NX_EFULL. */
int nx_bnlive_adopt(nx_bnlive_t *b, const nx_ev_order_intent_t *in, uint32_t symbol);
/* Network thread: measure the clock offset, load the filters when the
 * caller gave none, query adopted orders, open the WebSocket API and every
 * account's user-data stream. */
int nx_bnlive_start(nx_bnlive_t *b);
/* The bridge (engine thread; nx/bridge.h). */
nx_bridge_t *nx_bnlive_bridge(nx_bnlive_t *b);
/* Any thread: the counters as of the last update delivered or the last
 * pass of the loop (a copy under a lock). */
void nx_bnlive_stats(const nx_bnlive_t *b, nx_bnlive_stats_t *st);
/* After the network thread stopped. Wipes the keys. */
void nx_bnlive_destroy(nx_bnlive_t *b);

#endif /* NX_BINANCE_LIVE_H */
