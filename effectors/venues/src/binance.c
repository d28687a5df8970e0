/*
 * binance.c — Binance USD-M requests, serialized and signed (binance.h).
 *
 * Each builder lists its parameters once, as (name, value) pairs in the
 * order they go out: the REST order keeps the order of Binance's own
 * signing example (so the official vector checks it byte for byte), every
 * WebSocket API request is listed alphabetically, which is its signing
 * order. Values are formatted into the list's scratch space; the list is
 * then written as a query (REST) or as the sorted query to sign plus the
 * JSON frame (WebSocket API). Nothing is allocated: an order costs the
 * formatting (~100 ns) and one HMAC under the prepared key (hmac.h).
 */
#include "nx/binance.h"
#include "nx/bridge.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <string.h>

#include "wbuf.h"

#define MAX_PARAMS 16

typedef struct kv {
    const char *k;
    const char *v;
    uint32_t kn, n;
    uint8_t num; /* a JSON number in a WebSocket frame, not a string */
} kv_t;

typedef struct params {
    kv_t p[MAX_PARAMS];
    int n, over;
    size_t used;
    char scratch[320];
} params_t;

/* Names are string literals: their lengths are known at compile time. */
#define K(lit) lit, sizeof(lit) - 1

static void add(params_t *ps, const char *k, size_t kn, const char *v, size_t n, int num)
{
    if (ps->n == MAX_PARAMS) {
        ps->over = 1;
        return;
    }
    ps->p[ps->n++] = (kv_t){k, v, (uint32_t)kn, (uint32_t)n, (uint8_t)num};
}

static void add_str(params_t *ps, const char *k, size_t kn, const char *v)
{
    add(ps, k, kn, v, strlen(v), 0);
}

/* Room in the scratch for one formatted value, or NULL. */
static char *room(params_t *ps, size_t need)
{
    if (ps->used + need > sizeof ps->scratch) {
        ps->over = 1;
        return NULL;
    }
    return ps->scratch + ps->used;
}

static void add_fixed(params_t *ps, const char *k, size_t kn, int64_t v, unsigned scale)
{
    char *s = room(ps, NX_FIXED_FMT_MAX);
    if (!s)
        return;
    size_t n = nx_fixed_format(v, scale, s, NX_FIXED_FMT_MAX);
    ps->used += n;
    add(ps, k, kn, s, n, 0);
}

static size_t fmt_u64(uint64_t v, char *out)
{
    char t[20];
    size_t n = 0;
    do
        t[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

static void add_int(params_t *ps, const char *k, size_t kn, int64_t v)
{
    char *s = room(ps, 21);
    if (!s)
        return;
    size_t n = 0;
    if (v < 0)
        s[n++] = '-';
    n += fmt_u64(v < 0 ? 0 - (uint64_t)v : (uint64_t)v, s + n);
    ps->used += n;
    add(ps, k, kn, s, n, 1);
}

int nx_binance_clid_format(uint64_t client_id, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char t[16];
    int n = 0;
    do
        t[n++] = hex[client_id & 15];
    while ((client_id >>= 4));
    out[0] = 'n', out[1] = 'x', out[2] = '-';
    for (int i = 0; i < n; i++)
        out[3 + i] = t[n - 1 - i];
    out[3 + n] = 0;
    return 3 + n;
}

uint64_t nx_binance_clid_parse(const char *s, size_t n)
{
    if (!s || n < 4 || n > 19 || memcmp(s, "nx-", 3))
        return 0;
    uint64_t v = 0;
    for (size_t i = 3; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return 0;
        v = v << 4 | (uint64_t)d;
    }
    return v;
}

static void add_clid(params_t *ps, const char *k, size_t kn, uint64_t clid)
{
    char *s = room(ps, 20);
    if (!s)
        return;
    int n = nx_binance_clid_format(clid, s);
    ps->used += (size_t)n + 1;
    add(ps, k, kn, s, (size_t)n, 0);
}

/* ---- writing ---- */

static void put_query(out_t *o, const params_t *ps)
{
    for (int i = 0; i < ps->n; i++) {
        if (i)
            PUT_LIT(o, "&");
        put(o, ps->p[i].k, ps->p[i].kn);
        PUT_LIT(o, "=");
        put(o, ps->p[i].v, ps->p[i].n);
    }
}

int nx_binance_sign(char *buf, size_t len, size_t cap, const nx_hmac_key_t *key)
{
    if (!buf || !key || len >= cap)
        return NX_EINVAL;
    out_t o = {buf, cap, len, 0};
    char sig[NX_HMAC_HEX_LEN];
    nx_hmac_sha256_hex(key, buf, len, sig);
    if (len)
        PUT_LIT(&o, "&");
    PUT_LIT(&o, "signature=");
    put(&o, sig, sizeof sig);
    return o.over ? NX_ETOOLONG : (int)o.n;
}

static int rest(char *buf, size_t cap, const params_t *ps, const nx_hmac_key_t *key)
{
    if (ps->over)
        return NX_ETOOLONG;
    out_t o = {buf, cap, 0, 0};
    buf[0] = 0;
    put_query(&o, ps);
    if (o.over)
        return NX_ETOOLONG;
    return nx_binance_sign(buf, o.n, cap, key);
}

/* The sorted query is signed, the frame carries the same pairs as JSON. */
static int ws(char *buf, size_t cap, const char *method, uint64_t req_id, const params_t *ps,
              const nx_binance_req_t *r)
{
    if (ps->over)
        return NX_ETOOLONG;
    char q[512];
    out_t oq = {q, sizeof q, 0, 0};
    put_query(&oq, ps);
    if (oq.over)
        return NX_ETOOLONG;
    char sig[NX_HMAC_HEX_LEN];
    /* the query opens with "apiKey=<key>&": its first block is in ws_key */
    if (r->ws_key && oq.n > NX_BINANCE_WS_PREFIX && !memcmp(q, "apiKey=", 7))
        nx_hmac_sha256_hex(r->ws_key, q + NX_BINANCE_WS_PREFIX, oq.n - NX_BINANCE_WS_PREFIX, sig);
    else
        nx_hmac_sha256_hex(r->key, q, oq.n, sig);
    out_t o = {buf, cap, 0, 0};
    buf[0] = 0;
    char id[21];
    PUT_LIT(&o, "{\"id\":");
    put(&o, id, fmt_u64(req_id, id));
    PUT_LIT(&o, ",\"method\":\"");
    put(&o, method, strlen(method));
    PUT_LIT(&o, "\",\"params\":{");
    for (int i = 0; i < ps->n; i++) {
        PUT_LIT(&o, "\"");
        put(&o, ps->p[i].k, ps->p[i].kn);
        if (ps->p[i].num) {
            PUT_LIT(&o, "\":");
            put(&o, ps->p[i].v, ps->p[i].n);
            PUT_LIT(&o, ",");
        } else {
            PUT_LIT(&o, "\":\"");
            put(&o, ps->p[i].v, ps->p[i].n);
            PUT_LIT(&o, "\",");
        }
    }
    PUT_LIT(&o, "\"signature\":\"");
    put(&o, sig, sizeof sig);
    PUT_LIT(&o, "\"}}");
    return o.over ? NX_ETOOLONG : (int)o.n;
}

static int intent_ok(const nx_binance_req_t *r, const nx_ev_order_intent_t *in)
{
    return r && r->symbol && r->key && in && in->qty > 0 &&
           (in->side == NX_SIDE_BUY || in->side == NX_SIDE_SELL) &&
           (in->order_type == NX_ORD_MARKET ||
            (in->order_type == NX_ORD_LIMIT && in->price > 0));
}

static const char *side_name(uint8_t side)
{
    return side == NX_SIDE_BUY ? "BUY" : "SELL";
}

int nx_binance_order_request(char *buf, size_t cap, const nx_binance_req_t *r,
                             const nx_ev_order_intent_t *in)
{
    if (!buf || !cap || !intent_ok(r, in))
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    add_str(&ps, K("symbol"), r->symbol);
    add_str(&ps, K("side"), side_name(in->side));
    add_str(&ps, K("type"), in->order_type == NX_ORD_MARKET ? "MARKET" : "LIMIT");
    add_fixed(&ps, K("quantity"), in->qty, r->qty_scale);
    if (in->order_type == NX_ORD_LIMIT) {
        add_fixed(&ps, K("price"), in->price, r->price_scale);
        add_str(&ps, K("timeInForce"), "GTC");
    }
    if (in->reduce_only)
        add_str(&ps, K("reduceOnly"), "true");
    if (in->client_id)
        add_clid(&ps, K("newClientOrderId"), in->client_id);
    if (r->recv_window_ms)
        add_int(&ps, K("recvWindow"), r->recv_window_ms);
    add_int(&ps, K("timestamp"), r->timestamp_ms);
    return rest(buf, cap, &ps, r->key);
}

int nx_binance_ws_order_place(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                              const nx_ev_order_intent_t *in)
{
    if (!buf || !cap || !intent_ok(r, in) || !r->api_key)
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    add_str(&ps, K("apiKey"), r->api_key);
    if (in->client_id)
        add_clid(&ps, K("newClientOrderId"), in->client_id);
    if (in->order_type == NX_ORD_LIMIT)
        add_fixed(&ps, K("price"), in->price, r->price_scale);
    add_fixed(&ps, K("quantity"), in->qty, r->qty_scale);
    if (r->recv_window_ms)
        add_int(&ps, K("recvWindow"), r->recv_window_ms);
    if (in->reduce_only)
        add_str(&ps, K("reduceOnly"), "true");
    add_str(&ps, K("side"), side_name(in->side));
    add_str(&ps, K("symbol"), r->symbol);
    if (in->order_type == NX_ORD_LIMIT)
        add_str(&ps, K("timeInForce"), "GTC");
    add_int(&ps, K("timestamp"), r->timestamp_ms);
    add_str(&ps, K("type"), in->order_type == NX_ORD_MARKET ? "MARKET" : "LIMIT");
    return ws(buf, cap, "order.place", req_id, &ps, r);
}

static int algo_ok(const nx_binance_req_t *r, const nx_binance_algo_t *a)
{
    if (!r || !r->symbol || !r->key || !a || (a->side != NX_SIDE_BUY && a->side != NX_SIDE_SELL) ||
        a->qty < 0)
        return 0;
    if (a->type == NX_ORD_TRAILING_STOP)
        return a->qty > 0 && a->callback_bp >= 10 && a->callback_bp <= 1000 &&
               a->activate_price >= 0;
    return (a->type == NX_ORD_STOP_MARKET || a->type == NX_ORD_TAKE_PROFIT_MARKET) &&
           a->trigger_price > 0;
}

static const char *algo_type_name(uint8_t t)
{
    return t == NX_ORD_STOP_MARKET          ? "STOP_MARKET"
           : t == NX_ORD_TAKE_PROFIT_MARKET ? "TAKE_PROFIT_MARKET"
                                            : "TRAILING_STOP_MARKET";
}

/* The algo order's parameters, alphabetically (REST does not care). */
static void algo_params(params_t *ps, const nx_binance_req_t *r, const nx_binance_algo_t *a,
                        int with_api_key)
{
    int trailing = a->type == NX_ORD_TRAILING_STOP;
    if (trailing && a->activate_price)
        add_fixed(ps, K("activatePrice"), a->activate_price, r->price_scale);
    add_str(ps, K("algoType"), "CONDITIONAL");
    if (with_api_key)
        add_str(ps, K("apiKey"), r->api_key);
    if (trailing)
        add_fixed(ps, K("callbackRate"), a->callback_bp, 2); /* bp -> percent, 150 -> "1.5" */
    if (a->client_id)
        add_clid(ps, K("clientAlgoId"), a->client_id);
    if (!a->qty)
        add_str(ps, K("closePosition"), "true");
    if (a->qty)
        add_fixed(ps, K("quantity"), a->qty, r->qty_scale);
    if (r->recv_window_ms)
        add_int(ps, K("recvWindow"), r->recv_window_ms);
    if (a->qty)
        add_str(ps, K("reduceOnly"), "true");
    add_str(ps, K("side"), side_name(a->side));
    add_str(ps, K("symbol"), r->symbol);
    add_int(ps, K("timestamp"), r->timestamp_ms);
    if (!trailing)
        add_fixed(ps, K("triggerPrice"), a->trigger_price, r->price_scale);
    add_str(ps, K("type"), algo_type_name(a->type));
    add_str(ps, K("workingType"), "MARK_PRICE");
}

int nx_binance_algo_request(char *buf, size_t cap, const nx_binance_req_t *r,
                            const nx_binance_algo_t *a)
{
    if (!buf || !cap || !algo_ok(r, a))
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    algo_params(&ps, r, a, 0);
    return rest(buf, cap, &ps, r->key);
}

int nx_binance_ws_algo_place(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                             const nx_binance_algo_t *a)
{
    if (!buf || !cap || !algo_ok(r, a) || !r->api_key)
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    algo_params(&ps, r, a, 1);
    return ws(buf, cap, "algoOrder.place", req_id, &ps, r);
}

static void cancel_params(params_t *ps, const nx_binance_req_t *r, uint64_t clid, int algo,
                          int with_api_key)
{
    if (with_api_key)
        add_str(ps, K("apiKey"), r->api_key);
    if (algo)
        add_clid(ps, K("clientAlgoId"), clid);
    else
        add_clid(ps, K("origClientOrderId"), clid);
    if (r->recv_window_ms)
        add_int(ps, K("recvWindow"), r->recv_window_ms);
    add_str(ps, K("symbol"), r->symbol);
    add_int(ps, K("timestamp"), r->timestamp_ms);
}

int nx_binance_cancel_request(char *buf, size_t cap, const nx_binance_req_t *r,
                              uint64_t client_id, int algo)
{
    if (!buf || !cap || !r || !r->symbol || !r->key || !client_id)
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    cancel_params(&ps, r, client_id, algo, 0);
    return rest(buf, cap, &ps, r->key);
}

int nx_binance_ws_cancel(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                         uint64_t client_id, int algo)
{
    if (!buf || !cap || !r || !r->symbol || !r->key || !r->api_key || !client_id)
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    cancel_params(&ps, r, client_id, algo, 1);
    return ws(buf, cap, algo ? "algoOrder.cancel" : "order.cancel", req_id, &ps, r);
}

/* order.modify's parameters, sorted (the WebSocket API signs them in that
 * order; REST takes any order, so both use it). */
static void modify_params(params_t *ps, const nx_binance_req_t *r,
                          const nx_ev_order_intent_t *in, int with_key)
{
    if (with_key)
        add_str(ps, K("apiKey"), r->api_key);
    add_clid(ps, K("origClientOrderId"), in->client_id);
    add_fixed(ps, K("price"), in->price, r->price_scale);
    add_fixed(ps, K("quantity"), in->qty, r->qty_scale);
    if (r->recv_window_ms)
        add_int(ps, K("recvWindow"), r->recv_window_ms);
    add_str(ps, K("side"), side_name(in->side));
    add_str(ps, K("symbol"), r->symbol);
    add_int(ps, K("timestamp"), r->timestamp_ms);
}

static int modify_ok(const nx_binance_req_t *r, const nx_ev_order_intent_t *in)
{
    return intent_ok(r, in) && in->order_type == NX_ORD_LIMIT && in->client_id;
}

int nx_binance_modify_request(char *buf, size_t cap, const nx_binance_req_t *r,
                              const nx_ev_order_intent_t *in)
{
    if (!buf || !cap || !modify_ok(r, in))
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    modify_params(&ps, r, in, 0);
    return rest(buf, cap, &ps, r->key);
}

int nx_binance_ws_modify(char *buf, size_t cap, const nx_binance_req_t *r, uint64_t req_id,
                         const nx_ev_order_intent_t *in)
{
    if (!buf || !cap || !modify_ok(r, in) || !r->api_key)
        return NX_EINVAL;
    params_t ps;
    ps.n = ps.over = 0;
    ps.used = 0;
    modify_params(&ps, r, in, 1);
    return ws(buf, cap, "order.modify", req_id, &ps, r);
}

int nx_binance_ws_key(nx_hmac_key_t **out, const nx_hmac_key_t *key, const char *api_key)
{
    *out = NULL;
    char prefix[NX_BINANCE_WS_PREFIX + 1];
    if (!key || !api_key || strlen(api_key) < NX_BINANCE_WS_PREFIX - 7)
        return NX_EINVAL;
    memcpy(prefix, "apiKey=", 7);
    memcpy(prefix + 7, api_key, NX_BINANCE_WS_PREFIX - 7);
    return nx_hmac_key_prefixed(out, key, prefix, NX_BINANCE_WS_PREFIX);
}
