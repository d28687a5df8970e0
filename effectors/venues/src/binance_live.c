/*
 * binance_live.c — the live Binance USD-M adapter (binance_live.h).
 *
 * Engine thread: the bridge's calls check the filters and push a command
 * on a single-producer ring (core's nx_ring, NO_DROP, never waited on: a
 * full ring is refused with NX_EFULL), then wake the loop.
 * Network thread: everything else. An order the adapter knows lives in a
 * fixed table by client id with its state:
 *
 *   QUEUED --send--> SENT --answer--> OPEN --update--> FINAL
 *                      \--no answer--> UNKNOWN --query--> OPEN | FINAL | QUEUED (not there: resend)
 *
 * Work waits in a FIFO of actions (send, cancel, query, cancel-all) that
 * the service loop runs when their time has come and the quotas allow;
 * one that may not go yet stops nothing behind it but its own kind.
 * Answers are parsed with jansson: they come at network speed, after the
 * latency that matters (the signed request leaving) has been paid.
 *
 * Workload: a few accounts, a few orders a second each, bursts of tens;
 * tables are scanned linearly (1024 orders, 4096 actions).
 */
#include "nx/binance_live.h"
#include "nx/binance.h"
#include "nx/binance_user.h"
#include "nx/clock.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/hmac.h"
#include "nx/log.h"
#include "nx/ring.h"

#include <jansson.h>
#include <pthread.h>
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BL_ACCOUNTS 32
#define BL_ORDERS   1024
#define BL_ACTIONS  4096
#define BL_REST     64
#define BL_WSQ      256
#define BL_RXMAX    (1u << 20)
#define BL_CMDS     4096
#define BL_FOREIGN  64

enum { CMD_PLACE = 1, CMD_CANCEL, CMD_CANCEL_ALL, CMD_AMEND };
enum { ST_FREE = 0, ST_QUEUED, ST_SENT, ST_OPEN, ST_UNKNOWN, ST_FINAL };
enum { ACT_SEND = 1, ACT_CANCEL, ACT_QUERY, ACT_CANCEL_ALL, ACT_TRADES, ACT_EXINFO, ACT_MODIFY };
enum { R_PLACE = 1, R_CANCEL, R_QUERY, R_CANCEL_ALL, R_TRADES, R_TIME, R_LISTEN, R_KEEPALIVE,
       R_EXINFO, R_LEVERAGE, R_MARGIN_TYPE, R_POSITIONS, R_BALANCE, R_MODIFY,
       R_OPEN_ORDERS, R_OPEN_ALGOS, R_FORCE_ORDERS, R_FORCE_TRADES, R_ORPHAN };

typedef struct cmd {
    uint8_t op;
    uint32_t symbol, session;
    uint64_t clid;
    int64_t price, qty;
    nx_ev_order_intent_t in;
} cmd_t;

/* a ring slot: the ring wants a power-of-two element */
#define BL_SLOT 128
_Static_assert(sizeof(cmd_t) <= BL_SLOT, "a command fits its ring slot");

typedef struct order {
    uint8_t state, algo, amending, cancel_sent, sends, time_retries;
    uint8_t adopted;   /* stored before a restart, not sent by this process */
    uint8_t missing;   /* queries in a row the venue answered "does not exist" */
    uint8_t modifying; /* a LIMIT order's new price or quantity to send (order.modify) */
    uint32_t session, symbol;
    uint64_t clid, venue_id;
    uint64_t replaced_id;    /* an amended algo order's old id: its CANCELED is ours */
    nx_ev_order_intent_t in; /* what to send (again) */
    int64_t ts_ms;           /* the timestamp of the last send */
    int64_t deadline_ns;     /* SENT: no answer by then -> UNKNOWN */
    int64_t cum_qty;         /* reported so far */
    uint32_t req_id;         /* the WebSocket API request in flight */
} order_t;

typedef struct action {
    uint8_t kind;
    uint32_t idx;     /* order index, or the session for CANCEL_ALL */
    uint32_t symbol;  /* CANCEL_ALL */
    int64_t at_ns;    /* not before */
} action_t;

typedef struct account {
    int used;
    uint32_t session;
    char api_key[96];
    nx_hmac_key_t *key;
    nx_hmac_key_t *ws_key; /* key with the WebSocket API's first signed block absorbed */
    char listen_key[NX_BNU_KEY_MAX + 1];
    struct lws *stream;
    int stream_state;     /* 0 down, 1 key asked, 2 connecting, 3 up */
    int had_stream;       /* a gap follows a first connection */
    atomic_int stream_up; /* the engine thread reads it: no entry while the stream is down */
    int positions_due;    /* report the venue's positions once its orders are settled */
    /* after a gap: the venue's own orders (liquidation, ADL) since the last
     * event seen are asked for (force_due), then their fills; the
     * positions wait until none is in flight (forced_pending) */
    int force_due, forced_pending;
    int64_t last_event_ms; /* venue time of the stream's latest event */
    int quota_told;       /* orders are being held for the quota, and that was said */
    /* venue ids of open orders Nexus did not place that were reported
     * (a ring: each is told once, not at every reconciliation) */
    uint64_t foreign[BL_FOREIGN];
    uint32_t nforeign;
    int setup_retries;    /* leverage and margin-type requests refused for the clock (-1021) */
    /* leverage set at the venue per symbol (0 = not yet), and a request
     * for it in flight: an entry waits for its answer */
    uint8_t *lev;
    uint8_t *lev_pending;
    uint8_t *margin_type; /* per symbol: 0 not yet set, 1 asked, 2 settled (options.margin_type) */
    int64_t keepalive_at_ns, reconnect_at_ns;
    uint32_t attempts;
    /* own order sends, for the per-account quotas: times of the last ones */
    int64_t sent10[BL_CMDS], sent60[BL_CMDS];
    uint32_t h10, t10, h60, t60;
    uint32_t answered; /* sends (in t10's count) whose answer has come */
    char *rx;
    size_t rx_n, rx_cap;
} account_t;

typedef struct rest {
    int used;
    struct lws *wsi;
    struct nx_bnlive *b;
    uint8_t kind, done;
    uint32_t idx, session, symbol;
    char method[8];
    char path[2048];
    char *body;
    size_t body_n;
    char *buf;
    size_t len;
    int status, retry_after_s, weight;
    int sent;
} rest_t;

typedef struct wsconn {
    struct lws *wsi;
    int state; /* 0 down, 1 connecting, 2 up */
    char *q[BL_WSQ];
    size_t qn[BL_WSQ];
    uint32_t qh, qt;
    char *rx;
    size_t rx_n, rx_cap;
    int64_t reconnect_at_ns;
    uint32_t attempts;
} wsconn_t;

typedef struct url {
    char host[128], base[256];
    int port, ssl;
} url_t;

struct nx_bnlive {
    nx_bridge_t base; /* first: the bridge handle */
    nx_bnlive_opts_t o;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    url_t rest_u, api_u, stream_u;
    int has_api;
    nx_ring_t *cmds;
    nx_ring_consumer_t *cc;
    account_t acc[BL_ACCOUNTS];
    order_t orders[BL_ORDERS];
    action_t acts[BL_ACTIONS];
    uint32_t nacts;
    rest_t rest[BL_REST];
    wsconn_t api;
    uint32_t next_req;
    int64_t offset_ms;
    int64_t blocked_until_ns; /* 429/418 in force */
    lws_sorted_usec_list_t tick;
    int started;
    /* the symbols' filters: the caller's (opts.filters), or loaded from
     * exchangeInfo at start by the network thread and published with
     * filters_ready (release); the engine thread reads them after an
     * acquire of it, and refuses orders until then */
    nx_bn_filters_t *own_filters;
    const nx_bn_filters_t *filters;
    atomic_int filters_ready;
    _Atomic uint64_t refused; /* engine thread: orders refused before sending */
    nx_bnlive_stats_t st;   /* network thread */
    pthread_mutex_t snap_mu; /* guards snap: what other threads read */
    nx_bnlive_stats_t snap;
};

/* ---------- small things ---------- */

static int64_t real_ms(void)
{
    return nx_real_ns() / NX_NS_PER_MS;
}

static int64_t venue_ms(const nx_bnlive_t *b)
{
    return real_ms() + b->offset_ms;
}

static int parse_url(const char *s, url_t *u)
{
    char tmp[512];
    const char *prot, *ads, *path;
    if (!s || strlen(s) >= sizeof tmp)
        return -1;
    snprintf(tmp, sizeof tmp, "%s", s);
    if (lws_parse_uri(tmp, &prot, &ads, &u->port, &path))
        return -1;
    u->ssl = !strcmp(prot, "https") || !strcmp(prot, "wss");
    snprintf(u->host, sizeof u->host, "%s", ads);
    /* lws_parse_uri drops the path's leading '/' */
    snprintf(u->base, sizeof u->base, "%s%s", path[0] ? "/" : "", path);
    if (u->base[0] && u->base[strlen(u->base) - 1] == '/')
        u->base[strlen(u->base) - 1] = 0;
    return 0;
}

static account_t *account_of(nx_bnlive_t *b, uint32_t session)
{
    for (int i = 0; i < BL_ACCOUNTS; i++)
        if (b->acc[i].used && b->acc[i].session == session)
            return &b->acc[i];
    return NULL;
}

static const nx_symbol_t *sym(const nx_bnlive_t *b, uint32_t id)
{
    return nx_symtab_get(b->o.symtab, id);
}

static void notice(nx_bnlive_t *b, uint32_t session, uint8_t what, uint32_t symbol,
                   int64_t value, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void notice(nx_bnlive_t *b, uint32_t session, uint8_t what, uint32_t symbol,
                   int64_t value, const char *fmt, ...)
{
    char text[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    NX_WARN("binance", "session %u: %s", session, text);
    if (b->o.on_notice)
        b->o.on_notice(b->o.ctx_cb, session, what, symbol, value, text);
}

/* The counters as other threads see them: copied before every update
 * leaves and after every pass, so a reader woken by an update sees the
 * counters that led to it. */
static void publish_stats(nx_bnlive_t *b)
{
    pthread_mutex_lock(&b->snap_mu);
    b->snap = b->st;
    pthread_mutex_unlock(&b->snap_mu);
}

/* A commission in 10^-8 of the quote asset, in the symbol's price units
 * (quote units at the price scale), rounded up. */
static int64_t fee_units(int64_t fee_e8, uint8_t price_scale)
{
    __int128 num = (__int128)fee_e8 * nx_pow10[price_scale];
    return (int64_t)(num / 100000000 + (num % 100000000 > 0));
}

static void deliver(nx_bnlive_t *b, uint32_t symbol, const nx_ev_order_update_t *u)
{
    b->st.updates++;
    publish_stats(b);
    if (b->o.on_update)
        b->o.on_update(b->o.ctx_cb, symbol, u);
}

static void update(nx_bnlive_t *b, order_t *o, uint8_t status, uint8_t reason)
{
    nx_ev_order_update_t u;
    memset(&u, 0, sizeof u);
    u.client_id = o->clid;
    u.venue_id = o->venue_id;
    u.session = o->session;
    u.status = status;
    u.side = o->in.side;
    u.reason = reason;
    u.cum_qty = o->cum_qty;
    deliver(b, o->symbol, &u);
}

static order_t *order_by_clid(nx_bnlive_t *b, uint64_t clid)
{
    for (int i = 0; i < BL_ORDERS; i++)
        if (b->orders[i].state != ST_FREE && b->orders[i].clid == clid)
            return &b->orders[i];
    return NULL;
}

static order_t *order_new(nx_bnlive_t *b)
{
    for (int i = 0; i < BL_ORDERS; i++)
        if (b->orders[i].state == ST_FREE || b->orders[i].state == ST_FINAL) {
            memset(&b->orders[i], 0, sizeof b->orders[i]);
            return &b->orders[i];
        }
    return NULL;
}

static uint32_t idx_of(nx_bnlive_t *b, order_t *o)
{
    return (uint32_t)(o - b->orders);
}

static int act(nx_bnlive_t *b, uint8_t kind, uint32_t idx, uint32_t symbol, int64_t at_ns)
{
    if (b->nacts == BL_ACTIONS)
        return NX_EFULL;
    b->acts[b->nacts++] = (action_t){kind, idx, symbol, at_ns};
    return 0;
}

static int is_algo_type(uint8_t t)
{
    return t == NX_ORD_STOP_MARKET || t == NX_ORD_TAKE_PROFIT_MARKET || t == NX_ORD_TRAILING_STOP;
}

/* the engine's order as the venue's algo order */
static void algo_of(const order_t *o, nx_binance_algo_t *a)
{
    memset(a, 0, sizeof *a);
    a->client_id = o->clid;
    a->side = o->in.side;
    a->type = o->in.order_type;
    a->qty = o->in.qty;
    if (o->in.order_type == NX_ORD_TRAILING_STOP) {
        a->activate_price = o->in.trail_activate;
        a->callback_bp = (uint32_t)(o->in.trail_offset > 0 ? o->in.trail_offset : 100);
    } else
        a->trigger_price = o->in.price;
}

/* ---------- quotas ---------- */

static uint32_t window_count(const int64_t *t, uint32_t h, uint32_t tl, int64_t now, int64_t span,
                             uint32_t *head)
{
    while (h != tl && now - t[h % BL_CMDS] >= span)
        h++;
    *head = h;
    return tl - h;
}

/* May the account send one more order now? */
static int order_quota_ok(nx_bnlive_t *b, account_t *a, int64_t now)
{
    uint32_t c10 = window_count(a->sent10, a->h10, a->t10, now, 10 * NX_NS_PER_SEC, &a->h10);
    uint32_t c60 = window_count(a->sent60, a->h60, a->t60, now, 60 * NX_NS_PER_SEC, &a->h60);
    uint64_t lim10 = (uint64_t)b->o.orders_10s * b->o.quota_pct / 100,
             lim60 = (uint64_t)b->o.orders_1m * b->o.quota_pct / 100;
    return c10 + 1 <= lim10 && c60 + 1 <= lim60 && c10 + 1 < BL_CMDS && c60 + 1 < BL_CMDS;
}

static void order_sent(nx_bnlive_t *b, account_t *a, int64_t now)
{
    a->sent10[a->t10++ % BL_CMDS] = now;
    a->sent60[a->t60++ % BL_CMDS] = now;
    uint32_t c10 = a->t10 - a->h10, c60 = a->t60 - a->h60;
    uint32_t p10 = b->o.orders_10s ? (uint32_t)((uint64_t)c10 * 100 / b->o.orders_10s) : 0;
    uint32_t p60 = b->o.orders_1m ? (uint32_t)((uint64_t)c60 * 100 / b->o.orders_1m) : 0;
    if (p10 > b->st.max_orders_10s_pct)
        b->st.max_orders_10s_pct = p10;
    if (p60 > b->st.max_orders_1m_pct)
        b->st.max_orders_1m_pct = p60;
}

/* An order's answer came: the oldest send not yet answered counts in the
 * windows from now, not from when it left. The venue counts an order when
 * it arrives, somewhere between the two; counting from the answer keeps
 * what the venue counts inside what is counted here, however long a send
 * took on the way (a 10 s window measured from the sends alone once let a
 * slow first order and a fast third land in one venue window: 100%). */
static void order_answered(account_t *a, int64_t now)
{
    if (a->answered >= a->t10)
        return;
    uint32_t i = a->answered++;
    if (i >= a->h10 && now > a->sent10[i % BL_CMDS])
        a->sent10[i % BL_CMDS] = now;
    if (i >= a->h60 && now > a->sent60[i % BL_CMDS])
        a->sent60[i % BL_CMDS] = now;
}

static int weight_ok(nx_bnlive_t *b, uint32_t w)
{
    return (uint64_t)(b->st.used_weight + w) * 100 <= (uint64_t)b->o.weight_1m * b->o.quota_pct;
}

static void weight_seen(nx_bnlive_t *b, uint32_t used)
{
    b->st.used_weight = used;
    uint32_t p = b->o.weight_1m ? (uint32_t)((uint64_t)used * 100 / b->o.weight_1m) : 0;
    if (p > b->st.max_weight_pct)
        b->st.max_weight_pct = p;
}

/* ---------- REST ---------- */

static rest_t *rest_slot(nx_bnlive_t *b)
{
    for (int i = 0; i < BL_REST; i++)
        if (!b->rest[i].used) {
            rest_t *r = &b->rest[i];
            memset(r, 0, sizeof *r);
            r->used = 1;
            r->b = b;
            return r;
        }
    return NULL;
}

/* Send: method, path (with its query for GET/DELETE), a form body for
 * POST/PUT (or NULL), keyed by the account. */
static int rest_send(nx_bnlive_t *b, rest_t *r)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = b->ctx;
    ci.vhost = b->vh;
    ci.address = b->rest_u.host;
    ci.port = b->rest_u.port;
    ci.path = r->path;
    ci.host = b->rest_u.host;
    ci.origin = b->rest_u.host;
    ci.method = r->method;
    ci.ssl_connection = b->rest_u.ssl ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "nx-bn-rest";
    ci.userdata = r;
    ci.pwsi = &r->wsi;
    b->st.sent_rest++;
    if (!lws_client_connect_via_info(&ci)) {
        r->wsi = NULL;
        return -1;
    }
    return 0;
}

static int send_signed(nx_bnlive_t *b, account_t *a, uint8_t kind, uint32_t idx, uint32_t symbol,
                       const char *method, const char *path, const char *params);

/* The venue's own orders on a symbol during a stream gap (GET
 * /fapi/v1/forceOrders since the last event): each that traded is told to
 * the person and its fills are asked for (idx 1 = auto-deleveraging). */
static void forced_orders(nx_bnlive_t *b, account_t *a, uint32_t symbol, json_t *arr)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *cid = json_string_value(json_object_get(x, "clientOrderId"));
        const char *ex = json_string_value(json_object_get(x, "executedQty"));
        json_t *idv = json_object_get(x, "orderId");
        int64_t q = 0;
        if (!json_is_integer(idv) || !ex ||
            nx_fixed_parse(ex, strlen(ex), sym(b, symbol)->qty_scale, &q) || q <= 0)
            continue;
        int adl = cid && !strncmp(cid, "adl_", 4);
        notice(b, a->session, adl ? NX_VN_ADL : NX_VN_LIQUIDATED, symbol, 0,
               adl ? "Binance's auto-deleveraging closed the %s position while the stream was "
                     "down."
                   : "Binance liquidated the %s position while the stream was down.",
               sym(b, symbol)->name);
        char q2[96];
        snprintf(q2, sizeof q2, "symbol=%s&orderId=%llu", sym(b, symbol)->name,
                 (unsigned long long)json_integer_value(idv));
        if (send_signed(b, a, R_FORCE_TRADES, (uint32_t)adl, symbol, "GET", "/fapi/v1/userTrades",
                        q2) == 0)
            a->forced_pending++;
    }
}

/* The fills of a venue's own order, as its stream would have given them:
 * to the order manager under no client id, with the venue's trade ids
 * (a fill the stream did give is counted once). */
static void forced_fills(nx_bnlive_t *b, account_t *a, uint32_t symbol, uint32_t adl, json_t *arr)
{
    const nx_symbol_t *y = sym(b, symbol);
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        int64_t px, qty, fee;
        const char *ps = json_string_value(json_object_get(t, "price")),
                   *qs = json_string_value(json_object_get(t, "qty")),
                   *fs = json_string_value(json_object_get(t, "commission")),
                   *sd = json_string_value(json_object_get(t, "side"));
        if (!ps || !qs || !fs || !sd || nx_fixed_parse(ps, strlen(ps), y->price_scale, &px) ||
            nx_fixed_parse(qs, strlen(qs), y->qty_scale, &qty) ||
            nx_fixed_parse(fs, strlen(fs), NX_BNU_MONEY_SCALE, &fee))
            continue;
        nx_ev_order_update_t u;
        memset(&u, 0, sizeof u);
        u.venue_id = (uint64_t)json_integer_value(json_object_get(t, "orderId"));
        u.session = a->session;
        u.side = !strcmp(sd, "BUY") ? NX_SIDE_BUY : NX_SIDE_SELL;
        u.status = NX_OS_FILLED;
        u.fill_id = (uint64_t)json_integer_value(json_object_get(t, "id"));
        u.last_px = px;
        u.last_qty = qty;
        u.fee = fee_units(fee, y->price_scale);
        u.reason = adl ? NX_OFORCED_ADL : NX_OFORCED_LIQUIDATION;
        deliver(b, symbol, &u);
    }
}

/* A price the venue averaged (entryPrice: more decimals than the tick)
 * in price units, the digits past the symbol's scale dropped. */
static int price_cut(const char *s, unsigned scale, int64_t *out)
{
    char t[48];
    size_t n = strlen(s);
    const char *dot = strchr(s, '.');
    if (dot && (size_t)(dot - s) + 1 + scale < n)
        n = (size_t)(dot - s) + 1 + scale;
    if (n >= sizeof t)
        return NX_EOVERFLOW;
    memcpy(t, s, n);
    t[n] = 0;
    if (n && t[n - 1] == '.')
        t[--n] = 0;
    return nx_fixed_parse(t, n, scale, out);
}

/* An open order or algo order of the account from the venue's list: one
 * whose client id is not this session's was not placed by Nexus, and its
 * person is told once (by venue id). One with this session's client id
 * that no order here has was sent before a crash that kept it from
 * storage: nothing here follows it, and a forgotten stop would close a
 * later position, so it is cancelled (a restored position's protection is
 * placed again under ids of its own). */
static void foreign_order(nx_bnlive_t *b, account_t *a, json_t *x, int algo)
{
    const char *cid = json_string_value(json_object_get(x, algo ? "clientAlgoId" : "clientOrderId"));
    uint64_t clid = cid ? nx_binance_clid_parse(cid, strlen(cid)) : 0;
    if (clid && nx_clid_session(clid) == a->session) {
        const char *name = json_string_value(json_object_get(x, "symbol"));
        uint32_t y = 0, ny = nx_symtab_count(b->o.symtab);
        while (name && y < ny &&
               (sym(b, y)->venue != NX_VENUE_BINANCE_USDM || strcmp(sym(b, y)->name, name)))
            y++;
        if (order_by_clid(b, clid) || !name || y == ny)
            return;
        char q[128], id[NX_BNU_CLID_MAX + 1];
        nx_binance_clid_format(clid, id);
        snprintf(q, sizeof q, "symbol=%s&%s=%s", sym(b, y)->name,
                 algo ? "clientAlgoId" : "origClientOrderId", id);
        NX_WARN("binance", "session %u: order %s on %s rests at the venue, sent before a crash "
                "that kept it from storage: cancelled", a->session, id, sym(b, y)->name);
        send_signed(b, a, R_ORPHAN, 0, y, "DELETE", algo ? "/fapi/v1/algoOrder" : "/fapi/v1/order",
                    q);
        return;
    }
    json_t *idv = json_object_get(x, algo ? "algoId" : "orderId");
    uint64_t id = json_is_integer(idv) ? (uint64_t)json_integer_value(idv) : 0;
    id = id << 1 | (uint64_t)(algo != 0); /* the two kinds number apart */
    for (uint32_t k = 0; k < BL_FOREIGN && k < a->nforeign; k++)
        if (a->foreign[k] == id)
            return;
    a->foreign[a->nforeign++ % BL_FOREIGN] = id;
    const char *name = json_string_value(json_object_get(x, "symbol"));
    const char *side = json_string_value(json_object_get(x, "side"));
    const char *type = json_string_value(json_object_get(x, algo ? "orderType" : "type"));
    const char *qty = json_string_value(json_object_get(x, algo ? "quantity" : "origQty"));
    const char *px = json_string_value(json_object_get(x, algo ? "triggerPrice" : "price"));
    uint32_t symbol = NX_SYMBOL_NONE;
    for (uint32_t y = 0; name && y < nx_symtab_count(b->o.symtab); y++)
        if (sym(b, y)->venue == NX_VENUE_BINANCE_USDM && !strcmp(sym(b, y)->name, name))
            symbol = y;
    notice(b, a->session, NX_VN_FOREIGN_ORDER, symbol, 0,
           "an order Nexus did not place is open at the venue: %s %s %s %s at %s",
           name ? name : "?", side ? side : "?", type ? type : "?", qty ? qty : "?",
           px ? px : "?");
}

static void answer(nx_bnlive_t *b, uint8_t kind, uint32_t idx, uint32_t session, uint32_t symbol,
                   int transport_ok, int status, const char *body, size_t len, int retry_after_s);

/* The venue's quotas, as exchangeInfo's rateLimits gives them (request
 * weight a minute, orders per 10 s and per minute): what the 80% is of.
 * Where the list lacks one, the one known stays (Binance's by default). */
static void rate_limits(nx_bnlive_t *b, const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *rl = j ? json_object_get(j, "rateLimits") : NULL;
    size_t i;
    json_t *x;
    json_array_foreach(rl, i, x)
    {
        const char *type = json_string_value(json_object_get(x, "rateLimitType"));
        const char *iv = json_string_value(json_object_get(x, "interval"));
        json_int_t n = json_integer_value(json_object_get(x, "intervalNum"));
        json_int_t lim = json_integer_value(json_object_get(x, "limit"));
        if (!type || !iv || lim <= 0 || lim > 1000000)
            continue;
        uint32_t *to = !strcmp(type, "REQUEST_WEIGHT") && !strcmp(iv, "MINUTE") && n == 1
                           ? &b->o.weight_1m
                       : !strcmp(type, "ORDERS") && !strcmp(iv, "SECOND") && n == 10
                           ? &b->o.orders_10s
                       : !strcmp(type, "ORDERS") && !strcmp(iv, "MINUTE") && n == 1
                           ? &b->o.orders_1m
                           : NULL;
        if (to && *to != (uint32_t)lim) {
            NX_INFO("binance", "the venue's %s quota per %lld %s is %lld (was %u)", type,
                    (long long)n, iv, (long long)lim, *to);
            *to = (uint32_t)lim;
        }
    }
    json_decref(j);
}

static void rest_finish(rest_t *r, int ok)
{
    nx_bnlive_t *b = r->b;
    if (r->done)
        return;
    r->done = 1;
    if (r->weight > 0)
        weight_seen(b, (uint32_t)r->weight);
    answer(b, r->kind, r->idx, r->session, r->symbol, ok, r->status, r->buf ? r->buf : "", r->len,
           r->retry_after_s);
    free(r->body);
    free(r->buf);
    r->body = r->buf = NULL;
}

static int rest_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    rest_t *r = user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
        if (!r)
            break;
        unsigned char **p = in, *end = *p + len;
        account_t *a = account_of(r->b, r->session);
        if (a && lws_add_http_header_by_name(wsi, (const unsigned char *)"X-MBX-APIKEY:",
                                             (const unsigned char *)a->api_key,
                                             (int)strlen(a->api_key), p, end))
            return -1;
        if (r->body) {
            char cl[24];
            snprintf(cl, sizeof cl, "%zu", r->body_n);
            if (lws_add_http_header_by_token(
                    wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                    (const unsigned char *)"application/x-www-form-urlencoded", 33, p, end) ||
                lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                             (const unsigned char *)cl, (int)strlen(cl), p, end))
                return -1;
            lws_client_http_body_pending(wsi, 1);
            lws_callback_on_writable(wsi);
        }
        break;
    }
    case LWS_CALLBACK_CLIENT_HTTP_WRITEABLE:
        if (!r || !r->body || r->sent)
            break;
        {
            unsigned char *buf = malloc(LWS_PRE + r->body_n + 1);
            if (!buf)
                return -1;
            memcpy(buf + LWS_PRE, r->body, r->body_n);
            int n = lws_write(wsi, buf + LWS_PRE, r->body_n, LWS_WRITE_HTTP_FINAL);
            free(buf);
            if (n != (int)r->body_n)
                return -1;
            r->sent = 1;
            lws_client_http_body_pending(wsi, 0);
        }
        break;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP: {
        if (!r)
            break;
        r->status = (int)lws_http_client_http_response(wsi);
        char v[32];
        if (lws_hdr_copy(wsi, v, sizeof v, WSI_TOKEN_HTTP_RETRY_AFTER) > 0)
            r->retry_after_s = atoi(v);
        if (lws_hdr_custom_copy(wsi, v, sizeof v, "x-mbx-used-weight-1m:", 21) > 0)
            r->weight = atoi(v);
        break;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (!r)
            break;
        if (r->len + len < BL_RXMAX) {
            char *nb = realloc(r->buf, r->len + len + 1);
            if (!nb)
                return -1;
            r->buf = nb;
            memcpy(r->buf + r->len, in, len);
            r->len += len;
            r->buf[r->len] = 0;
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
        if (r)
            rest_finish(r, 1);
        return -1; /* one request per connection */
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        if (!r)
            break;
        rest_finish(r, 0);
        r->wsi = NULL;
        r->used = 0;
        break;
    default:
        break;
    }
    return 0;
}

/* ---------- building and sending requests ---------- */

static void req_of(nx_bnlive_t *b, const order_t *o, account_t *a, nx_binance_req_t *rq)
{
    const nx_symbol_t *y = sym(b, o->symbol);
    rq->symbol = y->name;
    rq->price_scale = y->price_scale;
    rq->qty_scale = y->qty_scale;
    rq->timestamp_ms = venue_ms(b);
    rq->recv_window_ms = b->o.recv_window_ms;
    rq->key = a->key;
    rq->api_key = a->api_key;
    rq->ws_key = a->ws_key;
}

static void ws_api_queue(nx_bnlive_t *b, char *frame, size_t n)
{
    wsconn_t *w = &b->api;
    if (w->qt - w->qh >= BL_WSQ) {
        free(frame);
        return;
    }
    w->q[w->qt % BL_WSQ] = frame;
    w->qn[w->qt % BL_WSQ] = n;
    w->qt++;
    lws_callback_on_writable(w->wsi);
}

/* Send a place, cancel or query for an order: over the WebSocket API when
 * it is up (place and cancel), else REST. */
static int send_order_request(nx_bnlive_t *b, order_t *o, uint8_t kind)
{
    account_t *a = account_of(b, o->session);
    if (!a)
        return NX_ENOENT;
    nx_binance_req_t rq;
    req_of(b, o, a, &rq);
    o->ts_ms = rq.timestamp_ms;
    int64_t now = nx_mono_ns();
    if (kind != R_QUERY && b->has_api && b->api.state == 2) {
        char *frame = malloc(1024);
        if (!frame)
            return NX_ENOMEM;
        uint32_t id = ++b->next_req;
        int n;
        if (kind == R_PLACE) {
            if (o->algo) {
                nx_binance_algo_t al;
                algo_of(o, &al);
                n = nx_binance_ws_algo_place(frame, 1024, &rq, id, &al);
            } else
                n = nx_binance_ws_order_place(frame, 1024, &rq, id, &o->in);
        } else if (kind == R_MODIFY) {
            nx_ev_order_intent_t in = o->in;
            in.client_id = o->clid;
            n = nx_binance_ws_modify(frame, 1024, &rq, id, &in);
        } else
            n = nx_binance_ws_cancel(frame, 1024, &rq, id, o->clid, o->algo);
        if (n < 0) {
            free(frame);
            return n;
        }
        o->req_id = id;
        o->deadline_ns = now + (int64_t)b->o.answer_timeout_ms * NX_NS_PER_MS;
        b->st.sent_ws++;
        ws_api_queue(b, frame, (size_t)n);
        return 0;
    }
    rest_t *r = rest_slot(b);
    if (!r)
        return NX_EFULL;
    r->kind = kind;
    r->idx = idx_of(b, o);
    r->session = o->session;
    r->symbol = o->symbol;
    char q[1024];
    int n;
    const char *ep = o->algo ? "/fapi/v1/algoOrder" : "/fapi/v1/order";
    if (kind == R_PLACE || kind == R_MODIFY) {
        nx_ev_order_intent_t in = o->in;
        in.client_id = o->clid;
        if (kind == R_MODIFY) {
            n = nx_binance_modify_request(q, sizeof q, &rq, &in);
        } else if (o->algo) {
            nx_binance_algo_t al;
            algo_of(o, &al);
            n = nx_binance_algo_request(q, sizeof q, &rq, &al);
        } else
            n = nx_binance_order_request(q, sizeof q, &rq, &o->in);
        if (n < 0) {
            r->used = 0;
            return n;
        }
        snprintf(r->method, sizeof r->method, kind == R_MODIFY ? "PUT" : "POST");
        snprintf(r->path, sizeof r->path, "%s%s", b->rest_u.base, ep);
        r->body = malloc((size_t)n + 1);
        if (!r->body) {
            r->used = 0;
            return NX_ENOMEM;
        }
        memcpy(r->body, q, (size_t)n + 1);
        r->body_n = (size_t)n;
    } else {
        n = nx_binance_cancel_request(q, sizeof q, &rq, o->clid, o->algo);
        if (n < 0) {
            r->used = 0;
            return n;
        }
        snprintf(r->method, sizeof r->method, "%s", kind == R_QUERY ? "GET" : "DELETE");
        snprintf(r->path, sizeof r->path, "%s%s?%s", b->rest_u.base, ep, q);
    }
    o->deadline_ns = now + (int64_t)b->o.answer_timeout_ms * NX_NS_PER_MS;
    if (rest_send(b, r)) {
        free(r->body);
        r->used = 0;
        return NX_EIO;
    }
    return 0;
}

/* A signed GET/DELETE (query in the path) or POST (body) of the account. */
static int send_signed(nx_bnlive_t *b, account_t *a, uint8_t kind, uint32_t idx, uint32_t symbol,
                       const char *method, const char *path, const char *params)
{
    rest_t *r = rest_slot(b);
    if (!r)
        return NX_EFULL;
    r->kind = kind;
    r->idx = idx;
    r->session = a->session;
    r->symbol = symbol;
    char q[1024];
    int n = snprintf(q, sizeof q, "%s%srecvWindow=%u&timestamp=%lld", params, *params ? "&" : "",
                     b->o.recv_window_ms, (long long)venue_ms(b));
    n = nx_binance_sign(q, (size_t)n, sizeof q, a->key);
    if (n < 0) {
        r->used = 0;
        return n;
    }
    snprintf(r->method, sizeof r->method, "%s", method);
    if (!strcmp(method, "POST")) {
        snprintf(r->path, sizeof r->path, "%s%s", b->rest_u.base, path);
        r->body = strdup(q);
        r->body_n = (size_t)n;
    } else
        snprintf(r->path, sizeof r->path, "%s%s?%s", b->rest_u.base, path, q);
    if (rest_send(b, r)) {
        free(r->body);
        r->used = 0;
        return NX_EIO;
    }
    return 0;
}

/* An unsigned request (time, listen keys). */
static int send_plain(nx_bnlive_t *b, account_t *a, uint8_t kind, const char *method,
                      const char *path)
{
    rest_t *r = rest_slot(b);
    if (!r)
        return NX_EFULL;
    r->kind = kind;
    r->session = a ? a->session : 0;
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s%s", b->rest_u.base, path);
    if (strcmp(method, "GET")) {
        r->body = strdup("");
        r->body_n = 0;
    }
    if (rest_send(b, r)) {
        free(r->body);
        r->used = 0;
        return NX_EIO;
    }
    return 0;
}

/* ---------- answers ---------- */

static uint8_t status_of(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "NEW"))
        return NX_OS_ACKED;
    if (!strcmp(s, "PARTIALLY_FILLED"))
        return NX_OS_PARTIAL;
    if (!strcmp(s, "FILLED"))
        return NX_OS_FILLED;
    if (!strcmp(s, "CANCELED"))
        return NX_OS_CANCELLED;
    if (!strcmp(s, "REJECTED"))
        return NX_OS_REJECTED;
    if (!strcmp(s, "EXPIRED") || !strcmp(s, "EXPIRED_IN_MATCH"))
        return NX_OS_EXPIRED;
    return 0;
}

static uint8_t algo_status_of(const char *s)
{
    if (!s)
        return 0;
    if (!strcmp(s, "NEW"))
        return NX_OS_ACKED;
    if (!strcmp(s, "CANCELED"))
        return NX_OS_CANCELLED;
    if (!strcmp(s, "REJECTED"))
        return NX_OS_REJECTED;
    if (!strcmp(s, "EXPIRED"))
        return NX_OS_EXPIRED;
    return 0; /* TRIGGERING, TRIGGERED, FINISHED: the real order reports */
}

static int is_entry(const order_t *o)
{
    return !o->in.reduce_only && !o->algo;
}

static void blocked(nx_bnlive_t *b, int retry_after_s)
{
    int64_t until = nx_mono_ns() + (int64_t)(retry_after_s > 0 ? retry_after_s : 1) * NX_NS_PER_SEC;
    if (until > b->blocked_until_ns)
        b->blocked_until_ns = until;
    b->st.rate_limited++;
}

/* The outcome of an order request is not known: ask the venue once the
 * first copy can no longer be accepted. */
static void unknown(nx_bnlive_t *b, order_t *o)
{
    if (o->state != ST_SENT)
        return;
    o->state = ST_UNKNOWN;
    b->st.unknown++;
    int64_t wait_ms = o->ts_ms + b->o.recv_window_ms + 1000 - venue_ms(b);
    act(b, ACT_QUERY, idx_of(b, o), 0, nx_mono_ns() + (wait_ms > 0 ? wait_ms : 0) * NX_NS_PER_MS);
}

static void fills_from_trades(nx_bnlive_t *b, order_t *o, json_t *arr)
{
    const nx_symbol_t *y = sym(b, o->symbol);
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        int64_t px, qty, fee;
        const char *ps = json_string_value(json_object_get(t, "price")),
                   *qs = json_string_value(json_object_get(t, "qty")),
                   *fs = json_string_value(json_object_get(t, "commission"));
        if (!ps || !qs || !fs || nx_fixed_parse(ps, strlen(ps), y->price_scale, &px) ||
            nx_fixed_parse(qs, strlen(qs), y->qty_scale, &qty) ||
            nx_fixed_parse(fs, strlen(fs), NX_BNU_MONEY_SCALE, &fee))
            continue;
        nx_ev_order_update_t u;
        memset(&u, 0, sizeof u);
        u.client_id = o->clid;
        u.venue_id = o->venue_id;
        u.session = o->session;
        u.side = o->in.side;
        u.fill_id = (uint64_t)json_integer_value(json_object_get(t, "id"));
        u.last_px = px;
        u.last_qty = qty;
        /* commission (10^-8 USDT) to quote units at the price scale, up */
        u.fee = fee_units(fee, y->price_scale);
        u.maker = json_is_true(json_object_get(t, "maker"));
        o->cum_qty += qty;
        u.cum_qty = o->cum_qty;
        u.status = o->cum_qty >= o->in.qty ? NX_OS_FILLED : NX_OS_PARTIAL;
        deliver(b, o->symbol, &u);
    }
}

/* The result object of an order (REST or WebSocket API), for an order the
 * adapter sent or queried. */
static void order_result(nx_bnlive_t *b, order_t *o, json_t *res, uint8_t kind)
{
    o->missing = 0;
    uint8_t st = o->algo ? algo_status_of(json_string_value(json_object_get(res, "algoStatus")))
                         : status_of(json_string_value(json_object_get(res, "status")));
    json_t *id = json_object_get(res, o->algo ? "algoId" : "orderId");
    if (json_is_integer(id))
        o->venue_id = (uint64_t)json_integer_value(id);
    if (kind == R_CANCEL && o->amending) {
        /* amended: the same client id again, at its new level */
        o->amending = 0;
        o->cancel_sent = 0;
        o->state = ST_QUEUED;
        o->sends = 0;
        act(b, ACT_SEND, idx_of(b, o), 0, 0);
        return;
    }
    if (!st) { /* an algo order triggered or finished: the real order reports */
        o->state = ST_OPEN;
        json_t *real = json_object_get(res, "actualOrderId");
        uint64_t rid = json_is_string(real) ? strtoull(json_string_value(real), NULL, 10)
                       : json_is_integer(real) ? (uint64_t)json_integer_value(real)
                                               : 0;
        if (kind == R_QUERY && rid) {
            /* it fired while nobody listened: follow the market order it
             * became (same client id) to its fills */
            o->algo = 0;
            o->venue_id = rid;
            act(b, ACT_QUERY, idx_of(b, o), 0, 0);
        }
        return;
    }
    if (kind == R_QUERY && !o->algo) {
        const char *ex = json_string_value(json_object_get(res, "executedQty"));
        int64_t done_qty = 0;
        if (ex)
            nx_fixed_parse(ex, strlen(ex), sym(b, o->symbol)->qty_scale, &done_qty);
        if (done_qty > o->cum_qty) { /* fills we have not reported: ask for them */
            o->state = ST_OPEN;
            act(b, ACT_TRADES, idx_of(b, o), 0, 0);
            if (st == NX_OS_FILLED)
                return; /* the fills carry FILLED */
        }
    }
    o->state = st >= NX_OS_FILLED ? ST_FINAL : ST_OPEN;
    if (st == NX_OS_FILLED && o->cum_qty < o->in.qty)
        return; /* FILLED is reported with its fills (stream or trades) */
    update(b, o, st, 0);
}

static void answer(nx_bnlive_t *b, uint8_t kind, uint32_t idx, uint32_t session, uint32_t symbol,
                   int transport_ok, int status, const char *body, size_t len, int retry_after_s)
{
    b->st.answers++;
    account_t *a = account_of(b, session);
    if (a && (kind == R_PLACE || kind == R_MODIFY))
        order_answered(a, nx_mono_ns());
    if (kind == R_TIME) {
        json_t *j = transport_ok ? json_loadb(body, len, 0, NULL) : NULL;
        json_t *t = j ? json_object_get(j, "serverTime") : NULL;
        if (json_is_integer(t)) {
            b->offset_ms = json_integer_value(t) - real_ms();
            b->st.clock_offset_ms = b->offset_ms;
            b->st.time_syncs++;
        }
        json_decref(j);
        return;
    }
    if (kind == R_EXINFO) {
        char why[256] = "";
        int rc = transport_ok && status == 200
                     ? nx_bn_filters_load(body, len, b->o.symtab, b->own_filters,
                                          nx_symtab_count(b->o.symtab), why, sizeof why)
                     : NX_EIO;
        if (rc) {
            NX_ERROR("binance", "exchangeInfo not usable (%s): no order is sent until it is",
                     why[0] ? why : "no answer");
            act(b, ACT_EXINFO, 0, 0, nx_mono_ns() + 5 * NX_NS_PER_SEC);
        } else {
            b->filters = b->own_filters;
            atomic_store_explicit(&b->filters_ready, 1, memory_order_release);
            rate_limits(b, body, len);
        }
        return;
    }
    if (kind == R_LISTEN || kind == R_KEEPALIVE) {
        if (!a)
            return;
        json_t *j = transport_ok ? json_loadb(body, len, 0, NULL) : NULL;
        const char *k = j ? json_string_value(json_object_get(j, "listenKey")) : NULL;
        if (status == 200 && k) {
            snprintf(a->listen_key, sizeof a->listen_key, "%s", k);
            a->keepalive_at_ns = nx_mono_ns() + (int64_t)b->o.keepalive_s * NX_NS_PER_SEC;
            if (kind == R_LISTEN)
                a->stream_state = 2, a->reconnect_at_ns = 0; /* connect now */
        } else if (kind == R_KEEPALIVE) { /* -1125: gone; a new one */
            a->stream_state = 0;
            a->reconnect_at_ns = 0;
            if (a->stream)
                lws_set_timeout(a->stream, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else {
            a->stream_state = 0;
            a->reconnect_at_ns = nx_mono_ns() + NX_NS_PER_SEC;
        }
        json_decref(j);
        return;
    }
    if (kind == R_CANCEL_ALL)
        return; /* the stream reports each cancel */
    if (kind == R_BALANCE) {
        json_t *j = transport_ok && status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x)
        {
            const char *asset = json_string_value(json_object_get(x, "asset"));
            const char *bal = json_string_value(json_object_get(x, "balance"));
            int64_t w;
            if (a && asset && bal && !strcmp(asset, "USDT") &&
                nx_fixed_parse(bal, strlen(bal), 8, &w) == 0)
                b->o.on_balance(b->o.ctx_cb, session, w);
        }
        json_decref(j); /* no answer: the next reconciliation asks again */
        return;
    }
    if (kind == R_POSITIONS) {
        json_t *j = transport_ok && status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
        if (a && !json_is_array(j)) {
            a->positions_due = 1; /* asked again */
        } else if (a && b->o.on_position) {
            NX_INFO("binance", "session %u: the venue's positions, for the desk to compare",
                    a->session);
            for (uint32_t y = 0; y < nx_symtab_count(b->o.symtab); y++) {
                const nx_symbol_t *z = sym(b, y);
                if (z->venue != NX_VENUE_BINANCE_USDM)
                    continue;
                int64_t q = 0, px = 0;
                size_t i;
                json_t *x;
                json_array_foreach(j, i, x)
                {
                    const char *n = json_string_value(json_object_get(x, "symbol"));
                    const char *amt = json_string_value(json_object_get(x, "positionAmt"));
                    const char *ep = json_string_value(json_object_get(x, "entryPrice"));
                    if (n && amt && !strcmp(n, z->name)) {
                        nx_fixed_parse(amt, strlen(amt), z->qty_scale, &q);
                        if (!ep || price_cut(ep, z->price_scale, &px))
                            px = 0;
                    }
                }
                b->o.on_position(b->o.ctx_cb, session, y, q, q ? px : 0);
            }
        }
        json_decref(j);
        return;
    }
    if (kind == R_FORCE_ORDERS || kind == R_FORCE_TRADES) {
        if (a && a->forced_pending)
            a->forced_pending--;
        json_t *j = transport_ok && status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
        if (a && symbol < nx_symtab_count(b->o.symtab) && json_is_array(j)) {
            if (kind == R_FORCE_ORDERS)
                forced_orders(b, a, symbol, j);
            else
                forced_fills(b, a, symbol, idx, j);
        } else if (a && !json_is_array(j)) {
            NX_WARN("binance", "session %u: the venue's liquidation orders could not be read; "
                    "the positions are compared without them", a->session);
        }
        json_decref(j);
        return;
    }
    if (kind == R_ORPHAN) { /* not cancelled: the next reconciliation finds it again */
        if (!transport_ok || status != 200)
            NX_WARN("binance", "session %u: an order left from before a crash could not be "
                    "cancelled (HTTP %d); asked again at the next reconciliation",
                    a ? a->session : 0, status);
        else if (a)
            notice(b, a->session, NX_VN_ORPHAN_CANCELLED, symbol, 0,
                   "an order Nexus sent on %s just before a crash, and did not store, was "
                   "cancelled at the venue",
                   symbol < nx_symtab_count(b->o.symtab) ? sym(b, symbol)->name : "?");
        return;
    }
    if (kind == R_OPEN_ORDERS || kind == R_OPEN_ALGOS) {
        json_t *j = transport_ok && status == 200 ? json_loadb(body, len, 0, NULL) : NULL;
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x)
        {
            if (a)
                foreign_order(b, a, x, kind == R_OPEN_ALGOS);
        }
        json_decref(j); /* no answer: the next reconciliation asks again */
        return;
    }
    if (kind == R_MARGIN_TYPE || kind == R_LEVERAGE) {
        if (!a || symbol >= nx_symtab_count(b->o.symtab))
            return;
        json_t *j = transport_ok && len ? json_loadb(body, len, 0, NULL) : NULL;
        json_int_t code = j ? json_integer_value(json_object_get(j, "code")) : 0;
        const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
        int ok = transport_ok && status == 200;
        if (code == -1021 && a->setup_retries < 3) {
            /* not applied: measure the clock again; the next order asks again */
            a->setup_retries++;
            send_plain(b, NULL, R_TIME, "GET", "/fapi/v1/time");
            if (kind == R_LEVERAGE)
                a->lev_pending[symbol] = 0;
            else
                a->margin_type[symbol] = 0;
        } else if (kind == R_MARGIN_TYPE) {
            a->margin_type[symbol] = 2; /* settled either way: not asked for each order */
            if (!ok && code != -4046) /* -4046: it is that already */
                notice(b, session, NX_VN_MARGIN_KEPT, symbol, 0,
                       "the venue kept its own margin type on %s (%s)",
                       sym(b, symbol)->name, msg ? msg : "no answer");
        } else {
            a->lev_pending[symbol] = 0;
            a->lev[symbol] = (uint8_t)idx; /* asked for; if refused, not again for each order */
            if (!ok)
                notice(b, session, NX_VN_LEVERAGE_REFUSED, symbol, idx,
                       "the venue refused leverage %ux on %s (%s); its own applies",
                       idx, sym(b, symbol)->name, msg ? msg : "no answer");
        }
        json_decref(j);
        return;
    }
    if (idx >= BL_ORDERS)
        return;
    order_t *o = &b->orders[idx];
    if (o->state == ST_FREE || o->session != session)
        return;
    (void)symbol;
    json_t *j = transport_ok && len ? json_loadb(body, len, 0, NULL) : NULL;
    if (kind == R_TRADES) {
        if (json_is_array(j))
            fills_from_trades(b, o, j);
        if (o->cum_qty >= o->in.qty)
            o->state = ST_FINAL;
        json_decref(j);
        return;
    }
    if (kind == R_MODIFY) {
        /* the stream's AMENDMENT (or fill) says the same; the answer only
         * settles whether it must go again */
        json_int_t code = j ? json_integer_value(json_object_get(j, "code")) : 0;
        o->modifying = 0;
        if (transport_ok && status == 200 && j)
            order_result(b, o, j, kind);
        else if (code == -1021 && o->time_retries < 2) {
            o->time_retries++;
            o->modifying = 1;
            send_plain(b, NULL, R_TIME, "GET", "/fapi/v1/time");
            act(b, ACT_MODIFY, idx, 0, nx_mono_ns() + 200 * NX_NS_PER_MS);
        } else if (!transport_ok || status >= 500)
            act(b, ACT_QUERY, idx, 0, nx_mono_ns() + NX_NS_PER_SEC); /* where is it now? */
        else if (code != -5027 && code != -2013) { /* unchanged / filled or gone meanwhile */
            const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
            NX_WARN("binance", "session %u: the venue did not modify order %llx (%lld: %s); "
                    "it rests as it was", o->session, (unsigned long long)o->clid,
                    (long long)code, msg ? msg : "?");
        }
        json_decref(j);
        return;
    }
    if (!transport_ok || status == 503 || status == 408 || (status >= 500 && !j)) {
        if (kind == R_PLACE)
            unknown(b, o);
        else if (kind == R_CANCEL) /* did it go? the query tells */
            act(b, ACT_QUERY, idx, 0, nx_mono_ns() + NX_NS_PER_SEC);
        else if (kind == R_QUERY)
            act(b, ACT_QUERY, idx, 0, nx_mono_ns() + NX_NS_PER_SEC);
        json_decref(j);
        return;
    }
    int code = j ? (int)json_integer_value(json_object_get(j, "code")) : 0;
    if (status == 200 && j && (json_object_get(j, "orderId") || json_object_get(j, "algoId") ||
                               json_object_get(j, "algoStatus"))) {
        order_result(b, o, j, kind);
    } else if (status == 200 && kind == R_CANCEL && o->algo) {
        /* {"algoId":..,"code":"200","msg":"success"} */
        if (o->amending)
            order_result(b, o, j, kind);
        else {
            o->state = ST_FINAL;
            update(b, o, NX_OS_CANCELLED, 0);
        }
    } else if (status == 429 || status == 418) {
        blocked(b, retry_after_s);
        if (kind == R_PLACE) {
            o->state = ST_QUEUED;
            if (is_entry(o)) { /* no new risk while the venue says stop */
                o->state = ST_FINAL;
                update(b, o, NX_OS_REJECTED, NX_OREJ_VENUE);
                notice(b, o->session, NX_VN_SLOWED_DOWN, o->symbol, 0,
                       "Binance asked Nexus to slow down; a new entry was not sent.");
            } else
                act(b, ACT_SEND, idx, 0, b->blocked_until_ns);
        } else
            act(b, kind == R_CANCEL ? ACT_CANCEL : ACT_QUERY, idx, 0, b->blocked_until_ns);
    } else if (code == -1021 && o->time_retries < 2) {
        /* not executed: measure the clock again and send once more */
        o->time_retries++;
        send_plain(b, NULL, R_TIME, "GET", "/fapi/v1/time");
        o->state = kind == R_PLACE ? ST_QUEUED : o->state;
        act(b, kind == R_PLACE ? ACT_SEND : kind == R_CANCEL ? ACT_CANCEL : ACT_QUERY, idx, 0,
            nx_mono_ns() + 200 * NX_NS_PER_MS);
    } else if (kind == R_QUERY && code == -2013 && o->state == ST_OPEN && o->venue_id) {
        /* acknowledged once, and the venue no longer has it: Binance drops
         * a cancelled or expired order without fills from its records
         * after days, so a stop it cancelled during a long gap is not
         * found. Asked three times, a second apart (a query may lag the
         * order), it is taken as cancelled; a stop is then placed again. */
        if (++o->missing < 3) {
            act(b, ACT_QUERY, idx, 0, nx_mono_ns() + NX_NS_PER_SEC);
        } else {
            NX_WARN("binance",
                    "session %u: order %llx is no longer known to the venue: taken "
                    "as cancelled",
                    o->session, (unsigned long long)o->clid);
            o->state = ST_FINAL;
            update(b, o, NX_OS_CANCELLED, 0);
        }
    } else if (kind == R_QUERY && code == -2013 && o->state != ST_UNKNOWN) {
        /* asked about an order whose own answer is still to come (a
         * reconciliation after the stream came up): that answer tells */
    } else if (kind == R_QUERY && code == -2013) {
        /* the venue does not have it, and can no longer accept the first
         * copy (its recvWindow has passed): send it again */
        if (o->cancel_sent) {
            o->state = ST_FINAL;
            update(b, o, NX_OS_CANCELLED, 0);
        } else if (o->adopted && is_entry(o)) {
            /* an entry from before the restart that never reached the
             * venue: sent now, it would open a position on a signal long
             * gone; it expires instead (protective orders are sent) */
            o->state = ST_FINAL;
            update(b, o, NX_OS_EXPIRED, 0);
        } else if (o->sends < 3) {
            b->st.resent++;
            o->state = ST_QUEUED;
            act(b, ACT_SEND, idx, 0, 0);
        } else {
            o->state = ST_FINAL;
            update(b, o, NX_OS_REJECTED, NX_OREJ_VENUE);
            notice(b, o->session, NX_VN_NOT_PLACED, o->symbol, 0,
                   "an order could not be placed after three tries.");
        }
    } else if (kind == R_CANCEL && (code == -2011 || code == -2013)) {
        act(b, ACT_QUERY, idx, 0, 0); /* not open: learn how it ended */
    } else {
        b->st.rejects++;
        const char *msg = j ? json_string_value(json_object_get(j, "msg")) : NULL;
        NX_WARN("binance", "session %u: order %llx refused by Binance (%d %s)", o->session,
                (unsigned long long)o->clid, code, msg ? msg : "");
        if (kind == R_PLACE) {
            o->state = ST_FINAL;
            update(b, o, NX_OS_REJECTED, NX_OREJ_VENUE);
        } else if (kind == R_CANCEL && o->amending) {
            o->amending = 0;
            o->state = ST_OPEN;
        }
    }
    json_decref(j);
}

/* ---------- the WebSocket API and user-data streams ---------- */

enum { WS_API = 1, WS_STREAM };

typedef struct wsuser {
    uint8_t kind;
    uint32_t account; /* index, WS_STREAM */
} wsuser_t;

static wsuser_t api_tag = {WS_API, 0};
/* stream tags carry only an account index: the adapter itself is the
 * vhost's user, so one table serves every adapter of the process */
static wsuser_t stream_tags[BL_ACCOUNTS] = {
#define T(i) {WS_STREAM, i}
    T(0),  T(1),  T(2),  T(3),  T(4),  T(5),  T(6),  T(7),  T(8),  T(9),  T(10),
    T(11), T(12), T(13), T(14), T(15), T(16), T(17), T(18), T(19), T(20), T(21),
    T(22), T(23), T(24), T(25), T(26), T(27), T(28), T(29), T(30), T(31),
#undef T
};

static void ws_connect(nx_bnlive_t *b, const url_t *u, const char *path, wsuser_t *tag,
                       struct lws **pwsi)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = b->ctx;
    ci.vhost = b->vh;
    ci.address = u->host;
    ci.port = u->port;
    ci.path = path;
    ci.host = u->host;
    ci.origin = u->host;
    ci.ssl_connection = u->ssl ? LCCSCF_USE_SSL : 0;
    ci.local_protocol_name = "nx-bn-ws";
    ci.userdata = tag;
    ci.pwsi = pwsi;
    if (!lws_client_connect_via_info(&ci))
        *pwsi = NULL;
}

static void api_frame(nx_bnlive_t *b, const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, 0, NULL);
    if (!j)
        return;
    json_t *rl = json_object_get(j, "rateLimits");
    size_t i;
    json_t *x;
    json_array_foreach(rl, i, x)
    {
        const char *t = json_string_value(json_object_get(x, "rateLimitType"));
        if (t && !strcmp(t, "REQUEST_WEIGHT"))
            weight_seen(b, (uint32_t)json_integer_value(json_object_get(x, "count")));
    }
    uint32_t id = (uint32_t)json_integer_value(json_object_get(j, "id"));
    int status = (int)json_integer_value(json_object_get(j, "status"));
    order_t *o = NULL;
    for (int k = 0; k < BL_ORDERS && id; k++)
        if (b->orders[k].state != ST_FREE && b->orders[k].req_id == id) {
            o = &b->orders[k];
            break;
        }
    if (o) {
        uint8_t kind = o->cancel_sent ? R_CANCEL : o->modifying ? R_MODIFY : R_PLACE;
        o->req_id = 0;
        json_t *res = json_object_get(j, "result"), *err = json_object_get(j, "error");
        int retry = 0;
        json_t *data = err ? json_object_get(err, "data") : NULL;
        if (data && json_is_integer(json_object_get(data, "retryAfter")))
            retry = (int)((json_integer_value(json_object_get(data, "retryAfter")) - venue_ms(b)) /
                          1000) + 1;
        char *body = json_dumps(res ? res : err, JSON_COMPACT);
        answer(b, kind, idx_of(b, o), o->session, o->symbol, 1, status, body ? body : "",
               body ? strlen(body) : 0, retry);
        free(body);
    }
    json_decref(j);
}

static void stream_frame(nx_bnlive_t *b, account_t *a, const char *text, size_t len)
{
    nx_bnu_msg_t m;
    b->st.stream_events++;
    if (nx_bnu_frame_decode(text, len, b->o.symtab, &m)) {
        NX_WARN("binance", "session %u: a user-data frame was not understood (%s: %s)", a->session,
                m.err.key, m.err.what);
        return;
    }
    if (m.event_ms > a->last_event_ms)
        a->last_event_ms = m.event_ms;
    if (m.kind == NX_BNU_KEY_EXPIRED) {
        a->stream_state = 0; /* a new key, a new connection, then a reconciliation */
        a->reconnect_at_ns = 0;
        b->st.keys_renewed++;
        return;
    }
    if (m.kind == NX_BNU_ORDER) {
        const nx_bnu_order_t *x = &m.u.order;
        if (x->flags & (NX_BNU_F_LIQUIDATION | NX_BNU_F_ADL)) {
            /* the venue closed the position itself: each fill goes to the
             * order manager, which closes the trade; the person is told once */
            int liq = (x->flags & NX_BNU_F_LIQUIDATION) != 0;
            if (x->nx_status == NX_OS_FILLED)
                notice(b, a->session, liq ? NX_VN_LIQUIDATED : NX_VN_ADL, x->sym.id, 0,
                       liq ? "Binance liquidated the %s position."
                           : "Binance's auto-deleveraging closed the %s position.",
                       x->sym.name);
            if ((x->exec == NX_BNU_X_TRADE || x->exec == NX_BNU_X_CALCULATED) && x->last_qty > 0) {
                nx_ev_order_update_t u;
                memset(&u, 0, sizeof u);
                u.venue_id = x->order_id;
                u.session = a->session;
                u.side = x->side;
                u.status = x->nx_status;
                u.cum_qty = x->cum_qty;
                u.fill_id = x->trade_id;
                u.last_px = x->last_price;
                u.last_qty = x->last_qty;
                u.fee = fee_units(x->fee, x->sym.price_scale);
                u.reason = liq ? NX_OFORCED_LIQUIDATION : NX_OFORCED_ADL;
                deliver(b, x->sym.id, &u);
            }
            return;
        }
        uint64_t clid = nx_binance_clid_parse(x->client_id, strlen(x->client_id));
        order_t *o = clid ? order_by_clid(b, clid) : NULL;
        if (!clid || nx_clid_session(clid) != a->session) {
            /* not ours: an order opening or filling on the account asks
             * for the positions and open orders again, so the person is
             * told and the desk compares at once, not after the next gap */
            if (x->exec == NX_BNU_X_NEW || x->exec == NX_BNU_X_TRADE ||
                x->exec == NX_BNU_X_CALCULATED) {
                if (!a->positions_due)
                    NX_INFO("binance", "session %u: an order Nexus did not place %s on %s: the "
                            "account's positions and orders are asked for again",
                            a->session, x->exec == NX_BNU_X_NEW ? "opened" : "filled",
                            x->sym.name);
                a->positions_due = 1;
            }
            return;
        }
        nx_ev_order_update_t u;
        memset(&u, 0, sizeof u);
        u.client_id = clid;
        u.venue_id = x->order_id;
        u.session = a->session;
        u.side = x->side;
        u.status = x->nx_status;
        u.cum_qty = x->cum_qty;
        if (x->exec == NX_BNU_X_TRADE || x->exec == NX_BNU_X_CALCULATED) {
            u.fill_id = x->trade_id;
            u.last_px = x->last_price;
            u.last_qty = x->last_qty;
            u.fee = fee_units(x->fee, x->sym.price_scale);
            u.maker = x->maker;
        } else if (x->exec == NX_BNU_X_NEW && o && o->algo) {
            return; /* the triggered order opening: its fill reports */
        } else if (x->exec == NX_BNU_X_CANCELED && o && o->amending) {
            return; /* our own amend's cancel */
        }
        if (o) {
            if (u.fill_id && x->cum_qty > o->cum_qty)
                o->cum_qty = x->cum_qty;
            if (x->order_id && !o->algo)
                o->venue_id = x->order_id;
            if (u.status >= NX_OS_FILLED)
                o->state = ST_FINAL;
            else if (o->state == ST_SENT || o->state == ST_UNKNOWN)
                o->state = ST_OPEN;
        }
        deliver(b, x->sym.id, &u);
        return;
    }
    if (m.kind == NX_BNU_ALGO) {
        const nx_bnu_algo_t *x = &m.u.algo;
        uint64_t clid = nx_binance_clid_parse(x->client_algo_id, strlen(x->client_algo_id));
        if (!clid || nx_clid_session(clid) != a->session) {
            /* not ours: a conditional order opening on the account (a stop
             * the person set in the venue's app) asks for the open orders
             * again, as an ORDER_TRADE_UPDATE of one does */
            if (x->status == NX_BNU_AS_NEW) {
                if (!a->positions_due)
                    NX_INFO("binance", "session %u: a conditional order Nexus did not place "
                            "opened on %s: the account's positions and orders are asked for "
                            "again", a->session, x->sym.name);
                a->positions_due = 1;
            }
            return;
        }
        order_t *o = order_by_clid(b, clid);
        if (!o || o->session != a->session)
            return;
        uint8_t st = 0;
        switch (x->status) {
        case NX_BNU_AS_NEW:
            if (o->replaced_id && x->algo_id == o->replaced_id)
                return;
            st = NX_OS_ACKED;
            break;
        case NX_BNU_AS_CANCELED:
            if (o->amending || (o->replaced_id && x->algo_id == o->replaced_id))
                return; /* the old one of our own amend */
            st = NX_OS_CANCELLED;
            break;
        case NX_BNU_AS_REJECTED:
            st = NX_OS_REJECTED;
            break;
        case NX_BNU_AS_EXPIRED:
            st = NX_OS_EXPIRED;
            break;
        default:
            return; /* triggering, triggered, finished: the real order reports */
        }
        o->venue_id = x->algo_id;
        if (st >= NX_OS_CANCELLED)
            o->state = ST_FINAL;
        else if (o->state == ST_SENT || o->state == ST_UNKNOWN)
            o->state = ST_OPEN;
        update(b, o, st, st == NX_OS_REJECTED ? NX_OREJ_VENUE : 0);
    }
}

/* After a gap in an account's stream: ask about every order not final. */
static void reconcile(nx_bnlive_t *b, account_t *a)
{
    for (int i = 0; i < BL_ORDERS; i++) {
        order_t *o = &b->orders[i];
        if (o->session == a->session && (o->state == ST_OPEN || o->state == ST_UNKNOWN))
            act(b, ACT_QUERY, (uint32_t)i, 0, 0);
    }
}

static int ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                 size_t len)
{
    nx_bnlive_t *b = lws_vhost_user(lws_get_vhost(wsi));
    wsuser_t *t = user;
    if (!b)
        return 0;
    account_t *a = t && t->kind == WS_STREAM ? &b->acc[t->account] : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (t && t->kind == WS_API) {
            b->api.state = 2;
            b->api.attempts = 0;
            b->st.ws_api_up = 1;
            lws_callback_on_writable(wsi);
        } else if (a) {
            a->stream_state = 3;
            a->attempts = 0;
            b->st.stream_connects++;
            b->st.streams_up++;
            if (a->had_stream)
                b->st.stream_gaps++;
            NX_INFO("binance", "session %u: user-data stream %s", a->session,
                    a->had_stream ? "connected again: orders not final are asked about"
                                  : "connected");
            /* the first connection too: orders sent before it (a restart's
             * adopted ones) may have moved while nobody listened */
            reconcile(b, a);
            if (a->had_stream && a->last_event_ms)
                a->force_due = 1; /* the venue's own orders meanwhile */
            a->had_stream = 1;
            a->positions_due = 1;
            atomic_store_explicit(&a->stream_up, 1, memory_order_release);
        }
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        char **rx = t && t->kind == WS_API ? &b->api.rx : a ? &a->rx : NULL;
        size_t *rn = t && t->kind == WS_API ? &b->api.rx_n : a ? &a->rx_n : NULL;
        size_t *rc = t && t->kind == WS_API ? &b->api.rx_cap : a ? &a->rx_cap : NULL;
        if (!rx)
            break;
        if (*rn + len + 1 > *rc) {
            size_t cap = (*rn + len + 1) * 2;
            if (cap > BL_RXMAX)
                return -1;
            char *nb = realloc(*rx, cap);
            if (!nb)
                return -1;
            *rx = nb;
            *rc = cap;
        }
        memcpy(*rx + *rn, in, len);
        *rn += len;
        (*rx)[*rn] = 0;
        if (!lws_is_final_fragment(wsi))
            break;
        if (t->kind == WS_API)
            api_frame(b, *rx, *rn);
        else
            stream_frame(b, a, *rx, *rn);
        *rn = 0;
        break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        if (t && t->kind == WS_API && b->api.qh != b->api.qt) {
            wsconn_t *w = &b->api;
            uint32_t k = w->qh % BL_WSQ;
            unsigned char *buf = malloc(LWS_PRE + w->qn[k]);
            if (!buf)
                return -1;
            memcpy(buf + LWS_PRE, w->q[k], w->qn[k]);
            int n = lws_write(wsi, buf + LWS_PRE, w->qn[k], LWS_WRITE_TEXT);
            free(buf);
            free(w->q[k]);
            w->q[k] = NULL;
            w->qh++;
            if (n < 0)
                return -1;
            if (w->qh != w->qt)
                lws_callback_on_writable(wsi);
        }
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (t && t->kind == WS_API) {
            b->api.state = 0;
            b->api.wsi = NULL;
            b->st.ws_api_up = 0;
            b->api.reconnect_at_ns =
                nx_mono_ns() + nx_backoff_ms(50, 5000, b->api.attempts++) * NX_NS_PER_MS;
            while (b->api.qh != b->api.qt) { /* never sent: their orders go by REST */
                free(b->api.q[b->api.qh % BL_WSQ]);
                b->api.q[b->api.qh++ % BL_WSQ] = NULL;
            }
            /* what was sent and not answered: outcome unknown */
            for (int i = 0; i < BL_ORDERS; i++) {
                order_t *o = &b->orders[i];
                if (o->req_id && o->state == ST_SENT) {
                    o->req_id = 0;
                    unknown(b, o);
                }
            }
        } else if (a) {
            atomic_store_explicit(&a->stream_up, 0, memory_order_release);
            if (a->stream_state == 3 && b->st.streams_up)
                b->st.streams_up--;
            a->stream = NULL;
            a->stream_state = 0;
            a->reconnect_at_ns =
                nx_mono_ns() + nx_backoff_ms(50, 5000, a->attempts++) * NX_NS_PER_MS;
        }
        break;
    default:
        break;
    }
    return 0;
}

/* ---------- the service loop (network thread) ---------- */

static void take_commands(nx_bnlive_t *b)
{
    uint64_t seq;
    uint32_t n;
    while ((n = nx_ring_poll(b->cmds, b->cc, 64, &seq)) > 0) {
        for (uint32_t i = 0; i < n; i++) {
            const cmd_t *c = nx_ring_slot(b->cmds, seq + i);
            order_t *o = c->op == CMD_PLACE ? NULL : order_by_clid(b, c->clid);
            switch (c->op) {
            case CMD_PLACE:
                o = order_new(b);
                if (!o) {
                    nx_ev_order_update_t u;
                    memset(&u, 0, sizeof u);
                    u.client_id = c->in.client_id;
                    u.session = c->session;
                    u.status = NX_OS_REJECTED;
                    u.reason = NX_OREJ_BOOK_FULL;
                    deliver(b, c->symbol, &u);
                    break;
                }
                o->state = ST_QUEUED;
                o->session = c->session;
                o->symbol = c->symbol;
                o->clid = c->in.client_id;
                o->in = c->in;
                o->algo = (uint8_t)is_algo_type(c->in.order_type);
                act(b, ACT_SEND, idx_of(b, o), 0, 0);
                break;
            case CMD_CANCEL:
                if (o && o->state != ST_FINAL)
                    act(b, ACT_CANCEL, idx_of(b, o), 0, 0);
                break;
            case CMD_AMEND:
                if (o && o->state != ST_FINAL && !o->algo && o->in.order_type == NX_ORD_LIMIT) {
                    /* a resting limit order is modified in place (order.modify) */
                    if (c->price > 0)
                        o->in.price = c->price;
                    if (c->qty > 0)
                        o->in.qty = c->qty;
                    o->modifying = 1;
                    b->st.amends++;
                    act(b, ACT_MODIFY, idx_of(b, o), 0, 0);
                } else if (o && o->state != ST_FINAL) {
                    /* a conditional order cannot be modified: cancelled and
                     * placed again under the same client id */
                    if (c->price > 0)
                        o->in.price = c->price;
                    if (c->qty > 0)
                        o->in.qty = c->qty;
                    o->amending = 1;
                    o->replaced_id = o->venue_id;
                    b->st.amends++;
                    act(b, ACT_CANCEL, idx_of(b, o), 0, 0);
                }
                break;
            case CMD_CANCEL_ALL:
                act(b, ACT_CANCEL_ALL, c->session, c->symbol, 0);
                break;
            }
        }
        nx_ring_release(b->cc, seq + n);
    }
}

/* Run one action; 1 if done, 0 if it must wait. */
static int run(nx_bnlive_t *b, const action_t *x, int64_t now)
{
    if (now < b->blocked_until_ns)
        return 0;
    if (x->kind == ACT_EXINFO)
        return send_plain(b, NULL, R_EXINFO, "GET", "/fapi/v1/exchangeInfo") == 0;
    if (x->kind == ACT_CANCEL_ALL) {
        account_t *a = account_of(b, x->idx);
        if (!a || !weight_ok(b, 2))
            return !a;
        char p[64];
        snprintf(p, sizeof p, "symbol=%s", sym(b, x->symbol)->name);
        send_signed(b, a, R_CANCEL_ALL, 0, x->symbol, "DELETE", "/fapi/v1/allOpenOrders", p);
        send_signed(b, a, R_CANCEL_ALL, 0, x->symbol, "DELETE", "/fapi/v1/algoOpenOrders", p);
        return 1;
    }
    order_t *o = &b->orders[x->idx];
    account_t *a = account_of(b, o->session);
    if (!a || o->state == ST_FREE)
        return 1;
    switch (x->kind) {
    case ACT_SEND:
        if (o->state != ST_QUEUED)
            return 1;
        if (!o->algo && !o->in.reduce_only && b->o.margin_type && a->margin_type[o->symbol] != 2) {
            /* the margin type asked for, set at the venue before the first entry */
            if (a->margin_type[o->symbol] == 1 || !weight_ok(b, 1))
                return 0;
            char p[96];
            snprintf(p, sizeof p, "symbol=%s&marginType=%s", sym(b, o->symbol)->name,
                     b->o.margin_type);
            if (send_signed(b, a, R_MARGIN_TYPE, 0, o->symbol, "POST", "/fapi/v1/marginType",
                            p) == 0)
                a->margin_type[o->symbol] = 1;
            return 0;
        }
        if (!o->algo && !o->in.reduce_only && o->in.leverage && a->lev[o->symbol] != o->in.leverage) {
            /* the session's leverage on this symbol, set at the venue first */
            if (a->lev_pending[o->symbol] || !weight_ok(b, 1))
                return 0;
            char p[96];
            snprintf(p, sizeof p, "symbol=%s&leverage=%u", sym(b, o->symbol)->name,
                     (unsigned)o->in.leverage);
            if (send_signed(b, a, R_LEVERAGE, o->in.leverage, o->symbol, "POST",
                            "/fapi/v1/leverage", p) == 0)
                a->lev_pending[o->symbol] = 1;
            return 0;
        }
        if (!order_quota_ok(b, a, now) || !weight_ok(b, 1)) {
            b->st.held_for_quota++;
            if (!a->quota_told) {
                a->quota_told = 1;
                notice(b, a->session, NX_VN_QUOTA_HELD, o->symbol, 0,
                       "orders are held back to stay within %u%% of the venue's quotas; they "
                       "go as the quota frees",
                       b->o.quota_pct);
            }
            return 0;
        }
        a->quota_told = 0;
        o->sends++;
        o->state = ST_SENT;
        order_sent(b, a, now);
        if (send_order_request(b, o, R_PLACE)) {
            o->state = ST_QUEUED;
            return 0;
        }
        return 1;
    case ACT_CANCEL:
        if (o->state == ST_FINAL)
            return 1;
        if (o->state == ST_QUEUED) { /* never sent: nothing to cancel at the venue */
            if (!o->amending) {
                o->state = ST_FINAL;
                update(b, o, NX_OS_CANCELLED, 0);
            } else {
                o->amending = 0;
            }
            return 1;
        }
        if (o->state == ST_SENT || o->state == ST_UNKNOWN)
            return 0; /* after its answer */
        if (!weight_ok(b, 1))
            return 0;
        o->cancel_sent = 1;
        return send_order_request(b, o, R_CANCEL) == 0;
    case ACT_MODIFY:
        if (o->state == ST_FINAL || o->state == ST_QUEUED || !o->modifying) {
            o->modifying = 0; /* gone, or not sent yet: it goes at the new price */
            return 1;
        }
        if (o->state != ST_OPEN || o->req_id)
            return 0; /* after the placement's answer */
        if (!order_quota_ok(b, a, now) || !weight_ok(b, 1))
            return 0;
        order_sent(b, a, now); /* a modify counts as an order */
        return send_order_request(b, o, R_MODIFY) == 0;
    case ACT_QUERY:
        if (o->state == ST_FINAL || o->state == ST_QUEUED)
            return 1;
        if (!weight_ok(b, 1))
            return 0;
        b->st.queries++;
        return send_order_request(b, o, R_QUERY) == 0;
    case ACT_TRADES: {
        if (!weight_ok(b, 5))
            return 0;
        char p[128];
        snprintf(p, sizeof p, "symbol=%s&orderId=%llu", sym(b, o->symbol)->name,
                 (unsigned long long)o->venue_id);
        return send_signed(b, a, R_TRADES, x->idx, o->symbol, "GET", "/fapi/v1/userTrades", p) ==
               0;
    }
    }
    return 1;
}

/* Nothing of the account's is in flight or waiting to be asked about: its
 * position at the venue is what its orders made it. */
static int settled(const nx_bnlive_t *b, const account_t *a)
{
    if (a->force_due || a->forced_pending)
        return 0;
    for (int i = 0; i < BL_ORDERS; i++) {
        const order_t *o = &b->orders[i];
        if (o->session == a->session &&
            (o->state == ST_QUEUED || o->state == ST_SENT || o->state == ST_UNKNOWN))
            return 0;
    }
    for (uint32_t i = 0; i < b->nacts; i++) {
        const action_t *x = &b->acts[i];
        if ((x->kind == ACT_QUERY || x->kind == ACT_TRADES || x->kind == ACT_SEND) &&
            b->orders[x->idx].session == a->session)
            return 0;
    }
    return 1;
}

/* One pass: commands from the engine, answers that never came, the
 * actions whose time has come (in place; those run() appends land after
 * the old ones and are kept), and the connections to (re)open. */
static void service_all(nx_bnlive_t *b)
{
    take_commands(b);
    int64_t now = nx_mono_ns();
    for (int i = 0; i < BL_ORDERS; i++) {
        order_t *o = &b->orders[i];
        if (o->state == ST_SENT && o->deadline_ns && now > o->deadline_ns) {
            o->req_id = 0;
            unknown(b, o);
        }
    }
    uint32_t n = b->nacts, k = 0;
    for (uint32_t i = 0; i < n; i++) {
        action_t x = b->acts[i];
        if (x.at_ns > now || !run(b, &x, now))
            b->acts[k++] = x;
    }
    /* appended during the pass: b->acts[n .. b->nacts) */
    for (uint32_t i = n; i < b->nacts; i++)
        b->acts[k++] = b->acts[i];
    b->nacts = k;
    publish_stats(b);
    /* connections */
    if (b->has_api && b->api.state == 0 && now >= b->api.reconnect_at_ns) {
        char path[300];
        snprintf(path, sizeof path, "%s", b->api_u.base[0] ? b->api_u.base : "/");
        b->api.state = 1;
        ws_connect(b, &b->api_u, path, &api_tag, &b->api.wsi);
        if (!b->api.wsi) {
            b->api.state = 0;
            b->api.reconnect_at_ns = now + nx_backoff_ms(50, 5000, b->api.attempts++) * NX_NS_PER_MS;
        }
    }
    for (int i = 0; i < BL_ACCOUNTS; i++) {
        account_t *a = &b->acc[i];
        if (!a->used)
            continue;
        if (a->stream_state == 0 && now >= a->reconnect_at_ns) {
            a->stream_state = 1;
            if (send_plain(b, a, R_LISTEN, "POST", "/fapi/v1/listenKey"))
                a->stream_state = 0, a->reconnect_at_ns = now + NX_NS_PER_SEC;
        } else if (a->stream_state == 2 && !a->stream && now >= a->reconnect_at_ns) {
            char path[400];
            snprintf(path, sizeof path, "%s/ws/%s", b->stream_u.base, a->listen_key);
            ws_connect(b, &b->stream_u, path, &stream_tags[i], &a->stream);
            if (!a->stream)
                a->stream_state = 0, a->reconnect_at_ns = now + NX_NS_PER_SEC;
        }
        /* after a gap: liquidation and ADL orders since the last event
         * (weight 20 per symbol), then the fills of each (5) */
        if (a->force_due && a->stream_state == 3 &&
            weight_ok(b, 20 * nx_symtab_count(b->o.symtab))) {
            a->force_due = 0;
            for (uint32_t y = 0; y < nx_symtab_count(b->o.symtab); y++) {
                if (sym(b, y)->venue != NX_VENUE_BINANCE_USDM)
                    continue;
                char q[96];
                snprintf(q, sizeof q, "symbol=%s&startTime=%lld", sym(b, y)->name,
                         (long long)a->last_event_ms);
                if (send_signed(b, a, R_FORCE_ORDERS, 0, y, "GET", "/fapi/v1/forceOrders", q))
                    a->force_due = 1; /* asked again */
                else
                    a->forced_pending++;
            }
        }
        /* positions 5, balance 5, open orders and algo orders 1 each per symbol */
        if (a->positions_due && a->stream_state == 3 && settled(b, a) &&
            weight_ok(b, 10 + 2 * nx_symtab_count(b->o.symtab))) {
            a->positions_due = 0;
            if (send_signed(b, a, R_POSITIONS, 0, 0, "GET", "/fapi/v3/positionRisk", ""))
                a->positions_due = 1;
            else {
                if (b->o.on_balance) /* and the wallet, for the desk to compare too */
                    send_signed(b, a, R_BALANCE, 0, 0, "GET", "/fapi/v3/balance", "");
                /* and what is open that Nexus did not place, per symbol
                 * (weight 1 each; the whole account's list weighs 40) */
                for (uint32_t y = 0; b->o.on_notice && y < nx_symtab_count(b->o.symtab); y++) {
                    if (sym(b, y)->venue != NX_VENUE_BINANCE_USDM)
                        continue;
                    char q[64];
                    snprintf(q, sizeof q, "symbol=%s", sym(b, y)->name);
                    send_signed(b, a, R_OPEN_ORDERS, 0, y, "GET", "/fapi/v1/openOrders", q);
                    send_signed(b, a, R_OPEN_ALGOS, 0, y, "GET", "/fapi/v1/openAlgoOrders", q);
                }
            }
        }
        if (a->listen_key[0] && a->keepalive_at_ns && now >= a->keepalive_at_ns) {
            a->keepalive_at_ns = now + (int64_t)b->o.keepalive_s * NX_NS_PER_SEC;
            send_plain(b, a, R_KEEPALIVE, "PUT", "/fapi/v1/listenKey");
        }
    }
}

static void on_tick(lws_sorted_usec_list_t *sul)
{
    nx_bnlive_t *b = lws_container_of(sul, nx_bnlive_t, tick);
    service_all(b);
    lws_sul_schedule(b->ctx, 0, &b->tick, on_tick, 10 * LWS_US_PER_MS);
}

static int wake_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    (void)user, (void)in, (void)len;
    if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
        nx_bnlive_t *b = lws_vhost_user(lws_get_vhost(wsi));
        if (b && b->started)
            service_all(b);
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"nx-bn-wake", wake_cb, 0, 0, 0, NULL, 0},
    {"nx-bn-rest", rest_cb, 0, 65536, 0, NULL, 0},
    {"nx-bn-ws", ws_cb, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---------- the bridge (engine thread) ---------- */

static int push(nx_bnlive_t *b, const cmd_t *c)
{
    uint64_t seq;
    if (nx_ring_free(b->cmds) < 1 || nx_ring_claim(b->cmds, 1, &seq) != 1)
        return NX_EFULL;
    memcpy(nx_ring_slot(b->cmds, seq), c, sizeof *c);
    nx_ring_publish(b->cmds, seq + 1);
    lws_cancel_service(b->ctx);
    return 0;
}

static int bl_place(nx_bridge_t *br, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    nx_bnlive_t *b = (nx_bnlive_t *)br;
    if (!in || symbol >= nx_symtab_count(b->o.symtab))
        return NX_EINVAL;
    if (!atomic_load_explicit(&b->filters_ready, memory_order_acquire)) {
        atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
        NX_WARN("binance", "session %u: order not sent: the venue's symbol rules are not loaded "
                "yet", in->session);
        return NX_ESTATE;
    }
    if (b->filters[symbol].loaded) {
        nx_ev_order_intent_t chk = *in;
        if (in->order_type == NX_ORD_TRAILING_STOP)
            chk.price = in->trail_activate;
        char why[200];
        int code = 0;
        int rc = nx_bn_filters_check(&b->filters[symbol], &chk, 0, 0, &code, why, sizeof why);
        if (rc && rc != NX_EINVAL) { /* EINVAL: a market order nobody can value yet */
            atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
            NX_WARN("binance", "session %u: order not sent: %s", in->session, why);
            return rc;
        }
    }
    /* an entry is sent only while the venue can tell us what becomes of it
     * (its account's user-data stream is up); exits and protective orders
     * always go */
    if (!in->reduce_only && !is_algo_type(in->order_type)) {
        account_t *a = account_of(b, in->session);
        if (!a || !atomic_load_explicit(&a->stream_up, memory_order_acquire)) {
            atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
            NX_WARN("binance", "session %u: entry not sent: the account's user-data stream is "
                    "not connected", in->session);
            return NX_ESTATE;
        }
    }
    cmd_t c;
    memset(&c, 0, sizeof c);
    c.op = CMD_PLACE;
    c.symbol = symbol;
    c.session = in->session;
    c.in = *in;
    return push(b, &c);
}

static int bl_cancel(nx_bridge_t *br, uint64_t clid, uint32_t symbol)
{
    cmd_t c;
    memset(&c, 0, sizeof c);
    c.op = CMD_CANCEL;
    c.clid = clid;
    c.symbol = symbol;
    c.session = nx_clid_session(clid);
    return push((nx_bnlive_t *)br, &c);
}

static int bl_cancel_all(nx_bridge_t *br, uint32_t session, uint32_t symbol)
{
    cmd_t c;
    memset(&c, 0, sizeof c);
    c.op = CMD_CANCEL_ALL;
    c.session = session;
    c.symbol = symbol;
    return push((nx_bnlive_t *)br, &c);
}

static int bl_amend(nx_bridge_t *br, uint64_t clid, int64_t price, int64_t qty)
{
    cmd_t c;
    memset(&c, 0, sizeof c);
    c.op = CMD_AMEND;
    c.clid = clid;
    c.price = price;
    c.qty = qty;
    c.session = nx_clid_session(clid);
    return push((nx_bnlive_t *)br, &c);
}

static int bl_protective(nx_bridge_t *br, uint32_t session, uint32_t symbol, int64_t sl, int64_t tp)
{
    (void)br, (void)session, (void)symbol, (void)sl, (void)tp;
    return NX_ESTATE; /* protection is the order manager's own stop and target orders */
}

static int bl_query(nx_bridge_t *br, uint32_t session)
{
    (void)br, (void)session;
    return NX_ESTATE;
}

static const nx_bridge_ops_t ops = {"binance-usdm", bl_place, bl_cancel, bl_cancel_all,
                                    bl_amend,       bl_protective, bl_query};

/* ---------- life ---------- */

nx_bnlive_t *nx_bnlive_create(const nx_bnlive_opts_t *o)
{
    if (!o || !o->symtab || !o->ctx || !o->rest_url || !o->stream_url ||
        !nx_symtab_count(o->symtab))
        return NULL;
    const char *mt = NULL; /* the caller's string need not outlive the call */
    if (o->margin_type && !(mt = !strcmp(o->margin_type, "ISOLATED")  ? "ISOLATED"
                                 : !strcmp(o->margin_type, "CROSSED") ? "CROSSED"
                                                                      : NULL))
        return NULL;
    nx_bnlive_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->base.ops = &ops;
    b->o = *o;
    b->o.margin_type = mt;
    pthread_mutex_init(&b->snap_mu, NULL);
    if (!b->o.recv_window_ms)
        b->o.recv_window_ms = 5000;
    if (!b->o.answer_timeout_ms)
        b->o.answer_timeout_ms = 5000;
    if (!b->o.keepalive_s)
        b->o.keepalive_s = 1800;
    if (!b->o.quota_pct)
        b->o.quota_pct = 80;
    if (!b->o.weight_1m)
        b->o.weight_1m = 2400;
    if (!b->o.orders_10s)
        b->o.orders_10s = 300;
    if (!b->o.orders_1m)
        b->o.orders_1m = 1200;
    b->ctx = o->ctx;
    if (parse_url(o->rest_url, &b->rest_u) || parse_url(o->stream_url, &b->stream_u) ||
        (o->ws_api_url && parse_url(o->ws_api_url, &b->api_u)))
        goto fail;
    b->has_api = o->ws_api_url != NULL && o->ws_api_url[0];
    if (o->filters) {
        b->filters = o->filters;
        atomic_store(&b->filters_ready, 1);
    } else if (!(b->own_filters = calloc(nx_symtab_count(o->symtab) + 1, sizeof *b->own_filters)))
        goto fail;
    if (nx_ring_create(&b->cmds, "binance-cmds", BL_CMDS, BL_SLOT, 1, NX_RING_NO_DROP,
                       NX_WAIT_SPIN))
        goto fail;
    b->cc = nx_ring_consumer(b->cmds, 0);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "nx-binance";
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = b;
    b->vh = lws_create_vhost(b->ctx, &info);
    if (!b->vh)
        goto fail;
    return b;
fail:
    nx_bnlive_destroy(b);
    return NULL;
}

int nx_bnlive_add_account(nx_bnlive_t *b, uint32_t session, const char *api_key,
                          const void *secret, size_t secret_len)
{
    if (!b || !api_key || !*api_key || strlen(api_key) >= sizeof b->acc[0].api_key || !secret ||
        !secret_len)
        return NX_EINVAL;
    if (account_of(b, session))
        return NX_EEXIST;
    for (int i = 0; i < BL_ACCOUNTS; i++) {
        account_t *a = &b->acc[i];
        if (a->used)
            continue;
        memset(a, 0, sizeof *a);
        int rc = nx_hmac_key_create(&a->key, secret, secret_len);
        if (rc)
            return rc;
        /* the WebSocket API's first signed block, once (a short key: none) */
        nx_binance_ws_key(&a->ws_key, a->key, api_key);
        uint32_t nsym = nx_symtab_count(b->o.symtab);
        a->lev = calloc(nsym, 1);
        a->lev_pending = calloc(nsym, 1);
        a->margin_type = calloc(nsym, 1);
        if (!a->lev || !a->lev_pending || !a->margin_type) {
            nx_hmac_key_free(a->key);
            nx_hmac_key_free(a->ws_key);
            free(a->lev);
            free(a->lev_pending);
            free(a->margin_type);
            memset(a, 0, sizeof *a);
            return NX_ENOMEM;
        }
        a->used = 1;
        a->session = session;
        snprintf(a->api_key, sizeof a->api_key, "%s", api_key);
        return 0;
    }
    return NX_EFULL;
}

int nx_bnlive_adopt(nx_bnlive_t *b, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    if (!b || !in || b->started || symbol >= nx_symtab_count(b->o.symtab) ||
        !account_of(b, in->session))
        return NX_EINVAL;
    if (order_by_clid(b, in->client_id))
        return NX_EEXIST;
    order_t *o = order_new(b);
    if (!o)
        return NX_EFULL;
    /* whether it ever reached the venue is not known (a crash may have
     * come between storing and sending it): asked once a recvWindow has
     * passed since start, and sent if the venue does not have it */
    o->state = ST_UNKNOWN;
    o->adopted = 1;
    o->session = in->session;
    o->symbol = symbol;
    o->clid = in->client_id;
    o->in = *in;
    o->algo = (uint8_t)is_algo_type(in->order_type);
    return 0;
}

int nx_bnlive_start(nx_bnlive_t *b)
{
    b->started = 1;
    send_plain(b, NULL, R_TIME, "GET", "/fapi/v1/time");
    if (!atomic_load_explicit(&b->filters_ready, memory_order_acquire))
        send_plain(b, NULL, R_EXINFO, "GET", "/fapi/v1/exchangeInfo");
    /* what was open before the restart: how is it now? */
    int64_t after = nx_mono_ns() + ((int64_t)b->o.recv_window_ms + 1000) * NX_NS_PER_MS;
    for (int i = 0; i < BL_ORDERS; i++)
        if (b->orders[i].state == ST_UNKNOWN)
            act(b, ACT_QUERY, (uint32_t)i, 0, after);
    lws_sul_schedule(b->ctx, 0, &b->tick, on_tick, 1);
    return 0;
}

nx_bridge_t *nx_bnlive_bridge(nx_bnlive_t *b)
{
    return &b->base;
}

void nx_bnlive_stats(const nx_bnlive_t *b, nx_bnlive_stats_t *st)
{
    nx_bnlive_t *m = (nx_bnlive_t *)b; /* the lock, not the counters, changes */
    pthread_mutex_lock(&m->snap_mu);
    *st = b->snap;
    pthread_mutex_unlock(&m->snap_mu);
    st->local_refusals = atomic_load_explicit(&m->refused, memory_order_relaxed);
}

void nx_bnlive_destroy(nx_bnlive_t *b)
{
    if (!b)
        return;
    if (b->ctx && b->started)
        lws_sul_cancel(&b->tick);
    for (int i = 0; i < BL_ACCOUNTS; i++) {
        nx_hmac_key_free(b->acc[i].key);
        nx_hmac_key_free(b->acc[i].ws_key);
        free(b->acc[i].rx);
        free(b->acc[i].lev);
        free(b->acc[i].lev_pending);
        free(b->acc[i].margin_type);
        OPENSSL_cleanse(b->acc[i].api_key, sizeof b->acc[i].api_key);
    }
    for (int i = 0; i < BL_REST; i++) {
        free(b->rest[i].body);
        free(b->rest[i].buf);
    }
    while (b->api.qh != b->api.qt)
        free(b->api.q[b->api.qh++ % BL_WSQ]);
    free(b->api.rx);
    if (b->cmds)
        nx_ring_destroy(b->cmds);
    pthread_mutex_destroy(&b->snap_mu);
    free(b->own_filters);
    free(b);
}
