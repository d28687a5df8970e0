/*
 * bybit.c — Bybit V5 trading requests, serialized and signed (bybit.h).
 *
 * Bodies are written field by field in the order of Bybit's own examples
 * (category, symbol, side, orderType, qty, …): the venue signs whatever
 * bytes arrive, so the order only has to be the same in what is signed
 * and what is sent, which it is — the same buffer. Every value is a
 * symbol, a fixed word, an "nx-<hex>" id or a number written from an
 * integer: nothing needs JSON escaping, and the symbol is checked for it.
 * Nothing is allocated.
 */
#include "nx/bybit.h"
#include "nx/binance.h"
#include "nx/bridge.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <stdio.h>
#include <string.h>

#include "wbuf.h"

static void put_i64(out_t *o, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    put(o, t, (size_t)n);
}

/* ,"key":"<decimal>" — a price or quantity, exact, as Bybit wants them
 * (strings); NX_BYBIT_CANCEL writes "0". */
static void put_dec(out_t *o, const char *key, int64_t v, unsigned scale)
{
    char t[NX_FIXED_FMT_MAX];
    PUT_LIT(o, ",\"");
    put_s(o, key);
    PUT_LIT(o, "\":\"");
    if (v == NX_BYBIT_CANCEL)
        PUT_LIT(o, "0");
    else
        put(o, t, nx_fixed_format(v, scale, t, sizeof t));
    PUT_LIT(o, "\"");
}

static void put_clid(out_t *o, uint64_t client_id)
{
    char t[24];
    PUT_LIT(o, ",\"orderLinkId\":\"");
    put(o, t, (size_t)nx_binance_clid_format(client_id, t));
    PUT_LIT(o, "\"");
}

/* A symbol or category: letters, digits and - _ / . only (nothing a JSON
 * string would have to escape), 1..31 of them. */
static int word_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 31)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '/' || c == '.'))
            return 0;
    }
    return 1;
}

static int req_ok(const nx_bybit_req_t *r)
{
    return r && word_ok(r->category) && word_ok(r->symbol) &&
           r->price_scale <= NX_FIXED_MAX_SCALE && r->qty_scale <= NX_FIXED_MAX_SCALE;
}

static int linear(const nx_bybit_req_t *r)
{
    return !strcmp(r->category, "linear");
}

/* {"category":"..","symbol":".." */
static void open_body(out_t *o, const nx_bybit_req_t *r)
{
    PUT_LIT(o, "{\"category\":\"");
    put_s(o, r->category);
    PUT_LIT(o, "\",\"symbol\":\"");
    put_s(o, r->symbol);
    PUT_LIT(o, "\"");
}

static int close_body(out_t *o)
{
    PUT_LIT(o, "}");
    return o->over ? NX_ETOOLONG : (int)o->n;
}

int nx_bybit_order_body(char *buf, size_t cap, const nx_bybit_req_t *r,
                        const nx_ev_order_intent_t *in)
{
    if (!buf || !cap || !req_ok(r) || !in || in->qty <= 0 ||
        (in->side != NX_SIDE_BUY && in->side != NX_SIDE_SELL) ||
        (in->order_type != NX_ORD_MARKET && in->order_type != NX_ORD_LIMIT) ||
        (in->order_type == NX_ORD_LIMIT && in->price <= 0) || in->stop_loss < 0 ||
        in->take_profit < 0)
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    open_body(&o, r);
    PUT_LIT(&o, ",\"side\":\"");
    put_s(&o, in->side == NX_SIDE_BUY ? "Buy" : "Sell");
    PUT_LIT(&o, "\",\"orderType\":\"");
    put_s(&o, in->order_type == NX_ORD_MARKET ? "Market" : "Limit");
    PUT_LIT(&o, "\"");
    put_dec(&o, "qty", in->qty, r->qty_scale);
    if (in->order_type == NX_ORD_LIMIT) {
        put_dec(&o, "price", in->price, r->price_scale);
        PUT_LIT(&o, ",\"timeInForce\":\"GTC\"");
    }
    if (linear(r))
        PUT_LIT(&o, ",\"positionIdx\":0");
    if (in->client_id)
        put_clid(&o, in->client_id);
    if (in->reduce_only)
        PUT_LIT(&o, ",\"reduceOnly\":true");
    if (in->take_profit)
        put_dec(&o, "takeProfit", in->take_profit, r->price_scale);
    if (in->stop_loss)
        put_dec(&o, "stopLoss", in->stop_loss, r->price_scale);
    if ((in->take_profit || in->stop_loss) && linear(r))
        PUT_LIT(&o, ",\"tpslMode\":\"Full\"");
    return close_body(&o);
}

int nx_bybit_amend_body(char *buf, size_t cap, const nx_bybit_req_t *r, uint64_t client_id,
                        int64_t qty, int64_t price)
{
    if (!buf || !cap || !req_ok(r) || !client_id || qty < 0 || price < 0 || (!qty && !price))
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    open_body(&o, r);
    put_clid(&o, client_id);
    if (qty)
        put_dec(&o, "qty", qty, r->qty_scale);
    if (price)
        put_dec(&o, "price", price, r->price_scale);
    return close_body(&o);
}

int nx_bybit_cancel_body(char *buf, size_t cap, const nx_bybit_req_t *r, uint64_t client_id)
{
    if (!buf || !cap || !req_ok(r) || !client_id)
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    open_body(&o, r);
    put_clid(&o, client_id);
    return close_body(&o);
}

int nx_bybit_cancel_all_body(char *buf, size_t cap, const nx_bybit_req_t *r)
{
    if (!buf || !cap || !req_ok(r))
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    open_body(&o, r);
    return close_body(&o);
}

static int protect_value_ok(int64_t v)
{
    return v >= 0 || v == NX_BYBIT_CANCEL;
}

int nx_bybit_protect_body(char *buf, size_t cap, const nx_bybit_req_t *r,
                          const nx_bybit_protect_t *p)
{
    if (!buf || !cap || !req_ok(r) || !linear(r) || !p || !protect_value_ok(p->take_profit) ||
        !protect_value_ok(p->stop_loss) || !protect_value_ok(p->trailing) || p->active_price < 0 ||
        (!p->take_profit && !p->stop_loss && !p->trailing) || (p->active_price && p->trailing <= 0))
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    open_body(&o, r);
    PUT_LIT(&o, ",\"tpslMode\":\"Full\",\"positionIdx\":0");
    if (p->take_profit)
        put_dec(&o, "takeProfit", p->take_profit, r->price_scale);
    if (p->stop_loss)
        put_dec(&o, "stopLoss", p->stop_loss, r->price_scale);
    if (p->trailing)
        put_dec(&o, "trailingStop", p->trailing, r->price_scale);
    if (p->active_price)
        put_dec(&o, "activePrice", p->active_price, r->price_scale);
    return close_body(&o);
}

int nx_bybit_leverage_body(char *buf, size_t cap, const nx_bybit_req_t *r, unsigned leverage)
{
    if (!buf || !cap || !req_ok(r) || !linear(r) || leverage < 1 || leverage > 100)
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    open_body(&o, r);
    PUT_LIT(&o, ",\"buyLeverage\":\"");
    put_i64(&o, leverage);
    PUT_LIT(&o, "\",\"sellLeverage\":\"");
    put_i64(&o, leverage);
    PUT_LIT(&o, "\"");
    return close_body(&o);
}

/* ---- signing ---- */

static uint32_t recv_window(const nx_bybit_req_t *r)
{
    return r->recv_window_ms ? r->recv_window_ms : 5000;
}

int nx_bybit_sign(const nx_bybit_req_t *r, const char *payload, size_t len,
                  char hex[NX_HMAC_HEX_LEN])
{
    if (!r || !r->key || !r->api_key || !word_ok(r->api_key) || (!payload && len) || !hex)
        return NX_EINVAL;
    /* timestamp + api key + recv window + payload, contiguous: the HMAC
     * runs over one buffer (hmac.h) */
    char pre[2048];
    out_t o = {pre, sizeof pre, 0, 0};
    put_i64(&o, r->timestamp_ms);
    put_s(&o, r->api_key);
    put_i64(&o, recv_window(r));
    put(&o, payload ? payload : "", len);
    if (o.over)
        return NX_ETOOLONG;
    nx_hmac_sha256_hex(r->key, pre, o.n, hex);
    return 0;
}

int nx_bybit_rest_headers(char *buf, size_t cap, const nx_bybit_req_t *r, const char *payload,
                          size_t len)
{
    char sig[NX_HMAC_HEX_LEN];
    if (!buf || !cap)
        return NX_EINVAL;
    int rc = nx_bybit_sign(r, payload, len, sig);
    if (rc)
        return rc;
    out_t o = {buf, cap, 0, 0};
    PUT_LIT(&o, "X-BAPI-API-KEY: ");
    put_s(&o, r->api_key);
    PUT_LIT(&o, "\r\nX-BAPI-TIMESTAMP: ");
    put_i64(&o, r->timestamp_ms);
    PUT_LIT(&o, "\r\nX-BAPI-RECV-WINDOW: ");
    put_i64(&o, recv_window(r));
    PUT_LIT(&o, "\r\nX-BAPI-SIGN: ");
    put(&o, sig, sizeof sig);
    PUT_LIT(&o, "\r\n");
    return o.over ? NX_ETOOLONG : (int)o.n;
}

int nx_bybit_ws_auth(char *buf, size_t cap, const nx_hmac_key_t *key, const char *api_key,
                     int64_t expires_ms, uint64_t req_id)
{
    if (!buf || !cap || !key || !word_ok(api_key) || expires_ms <= 0)
        return NX_EINVAL;
    char msg[40], sig[NX_HMAC_HEX_LEN];
    int n = snprintf(msg, sizeof msg, "GET/realtime%lld", (long long)expires_ms);
    nx_hmac_sha256_hex(key, msg, (size_t)n, sig);
    out_t o = {buf, cap, 0, 0};
    PUT_LIT(&o, "{\"req_id\":\"");
    put_i64(&o, (int64_t)req_id);
    PUT_LIT(&o, "\",\"op\":\"auth\",\"args\":[\"");
    put_s(&o, api_key);
    PUT_LIT(&o, "\",");
    put_i64(&o, expires_ms);
    PUT_LIT(&o, ",\"");
    put(&o, sig, sizeof sig);
    PUT_LIT(&o, "\"]}");
    return o.over ? NX_ETOOLONG : (int)o.n;
}

int nx_bybit_ws_trade(char *buf, size_t cap, const nx_bybit_req_t *r, uint64_t req_id,
                      const char *op, const char *body, size_t blen)
{
    if (!buf || !cap || !r || !body || blen < 2 || body[0] != '{' || body[blen - 1] != '}' || !op ||
        (strcmp(op, "order.create") && strcmp(op, "order.amend") && strcmp(op, "order.cancel")))
        return NX_EINVAL;
    out_t o = {buf, cap, 0, 0};
    PUT_LIT(&o, "{\"reqId\":\"");
    put_i64(&o, (int64_t)req_id);
    PUT_LIT(&o, "\",\"header\":{\"X-BAPI-TIMESTAMP\":\"");
    put_i64(&o, r->timestamp_ms);
    PUT_LIT(&o, "\",\"X-BAPI-RECV-WINDOW\":\"");
    put_i64(&o, recv_window(r));
    PUT_LIT(&o, "\"},\"op\":\"");
    put_s(&o, op);
    PUT_LIT(&o, "\",\"args\":[");
    put(&o, body, blen);
    PUT_LIT(&o, "]}");
    return o.over ? NX_ETOOLONG : (int)o.n;
}

/* ---- answers ---- */

nx_bybit_outcome_t nx_bybit_outcome(long ret_code)
{
    switch (ret_code) {
    case 0:
        return NX_BYBIT_DONE;
    case 110043: /* leverage not modified */
    case 34040:  /* TP/SL not modified */
        return NX_BYBIT_UNCHANGED;
    case 110072:
        return NX_BYBIT_DUPLICATE;
    case 10002:
        return NX_BYBIT_CLOCK;
    case 10006:
        return NX_BYBIT_BACKOFF;
    case 10016:
        return NX_BYBIT_UNKNOWN;
    case 10003:
    case 10004:
    case 10005:
    case 10010:
        return NX_BYBIT_AUTH;
    case 110001:
        return NX_BYBIT_NOT_FOUND;
    default:
        return NX_BYBIT_REJECTED;
    }
}

const char *nx_bybit_ret_words(long ret_code)
{
    switch (ret_code) {
    case 0:
        return "accepted";
    case 10001:
        return "the venue found a parameter wrong";
    case 10002:
        return "the request's time was outside the venue's window (clock drift)";
    case 10003:
        return "the API key is not valid (a testnet key on mainnet, or the reverse?)";
    case 10004:
        return "the signature did not match (is the API secret right?)";
    case 10005:
        return "the API key lacks the permission (it needs trading enabled)";
    case 10006:
        return "too many requests: the venue's rate limit";
    case 10010:
        return "the API key does not allow this IP address";
    case 10016:
        return "the venue had an internal error";
    case 110001:
        return "the order does not exist (already filled or cancelled)";
    case 110004:
    case 110007:
    case 110012:
        return "insufficient balance";
    case 110017:
        return "the quantity is too small once rounded to the venue's step";
    case 110020:
        return "too many open orders (more than 500)";
    case 110043:
        return "the leverage was already set";
    case 110072:
        return "an order with this id was already sent";
    case 110092:
    case 110093:
        return "the trigger price is on the wrong side of the market";
    case 34040:
        return "the take-profit and stop-loss were already set";
    default:
        return "the venue refused the request";
    }
}
