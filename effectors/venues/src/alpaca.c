/*
 * alpaca.c — Alpaca trading requests (alpaca.h). Written field by field;
 * every value is a symbol (checked), a fixed word, an "nx-<hex>" id, a key
 * of letters and digits (checked) or a decimal from an integer: nothing
 * needs JSON escaping. Nothing is allocated.
 */
#include "nx/alpaca.h"
#include "nx/binance.h"
#include "nx/bridge.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <stdio.h>
#include <string.h>

#include "wbuf.h"

/* "key":"<decimal>" (with a comma before it unless first) */
static void put_dec(out_t *o, const char *key, int64_t v, unsigned scale, int first)
{
    char t[NX_FIXED_FMT_MAX];
    if (!first)
        put_s(o, ",");
    put_s(o, "\"");
    put_s(o, key);
    put_s(o, "\":\"");
    put(o, t, nx_fixed_format(v, scale, t, sizeof t));
    put_s(o, "\"");
}

static int done(const out_t *o)
{
    return o->over ? NX_ETOOLONG : (int)o->n;
}

/* Letters, digits and . - / only (a ticker, "BRK.B"), 1..23 of them. */
static int symbol_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 23)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '/'))
            return 0;
    }
    return 1;
}

static int key_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (!n || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return 0;
    return 1;
}

static int req_ok(const nx_alpaca_req_t *r)
{
    return r && symbol_ok(r->symbol) && r->price_scale <= NX_FIXED_MAX_SCALE &&
           r->qty_scale <= NX_FIXED_MAX_SCALE;
}

/* What Alpaca accepts, checked before anything is written. */
static int order_ok(const nx_alpaca_req_t *r, const nx_alpaca_order_t *o)
{
    if (!o || o->qty <= 0 || (o->side != NX_SIDE_BUY && o->side != NX_SIDE_SELL) ||
        o->type < NX_ALP_MARKET || o->type > NX_ALP_TRAILING_STOP || o->tif < NX_ALP_DAY ||
        o->tif > NX_ALP_CLS || o->order_class > NX_ALP_OTO || o->limit_price < 0 ||
        o->stop_price < 0 || o->trail_price < 0 || o->take_profit < 0 || o->stop_loss < 0 ||
        o->stop_limit < 0)
        return 0;
    /* an OCO is a limit order whose limit is its take-profit leg's */
    int limit =
        (o->type == NX_ALP_LIMIT || o->type == NX_ALP_STOP_LIMIT) && o->order_class != NX_ALP_OCO;
    int stop = o->type == NX_ALP_STOP || o->type == NX_ALP_STOP_LIMIT;
    int trail = o->type == NX_ALP_TRAILING_STOP;
    if (limit != (o->limit_price > 0) || stop != (o->stop_price > 0))
        return 0;
    if (trail ? (o->trail_price > 0) == (o->trail_bp > 0) : (o->trail_price || o->trail_bp))
        return 0; /* a trailing stop by price or by percent, one of them */
    /* fractional shares: simple market orders for the day only */
    int64_t whole = (int64_t)nx_pow10[r->qty_scale];
    if (o->qty % whole &&
        (o->type != NX_ALP_MARKET || o->tif != NX_ALP_DAY || o->order_class != NX_ALP_SIMPLE))
        return 0;
    if (o->extended_hours &&
        (o->type != NX_ALP_LIMIT || o->tif != NX_ALP_DAY || o->order_class != NX_ALP_SIMPLE))
        return 0;
    /* the position is long after a bracket buy, or before an OCO sell (an
     * OCO closes it): its target above its stop, the stop leg's limit at or
     * below the stop; a short's the other way */
    int buy = o->side == NX_SIDE_BUY;
    int up = o->order_class == NX_ALP_OCO ? !buy : buy;
    switch (o->order_class) {
    case NX_ALP_SIMPLE:
        return !o->take_profit && !o->stop_loss && !o->stop_limit;
    case NX_ALP_BRACKET:
    case NX_ALP_OCO:
        if (!o->take_profit || !o->stop_loss || trail ||
            (o->tif != NX_ALP_DAY && o->tif != NX_ALP_GTC))
            return 0;
        if (up ? o->take_profit <= o->stop_loss : o->take_profit >= o->stop_loss)
            return 0;
        if (o->stop_limit && (up ? o->stop_limit > o->stop_loss : o->stop_limit < o->stop_loss))
            return 0;
        return o->order_class == NX_ALP_BRACKET || o->type == NX_ALP_LIMIT;
    default: /* OTO: one leg */
        return !trail && (o->take_profit > 0) != (o->stop_loss > 0) &&
               (o->tif == NX_ALP_DAY || o->tif == NX_ALP_GTC) && (!o->stop_limit || o->stop_loss);
    }
}

int nx_alpaca_order_body(char *buf, size_t cap, const nx_alpaca_req_t *r,
                         const nx_alpaca_order_t *o)
{
    static const char *const types[] = {"",     "market",     "limit",
                                        "stop", "stop_limit", "trailing_stop"};
    static const char *const tifs[] = {"", "day", "gtc", "ioc", "fok", "opg", "cls"};
    static const char *const classes[] = {"simple", "bracket", "oco", "oto"};
    if (!buf || !cap || !req_ok(r) || !order_ok(r, o))
        return NX_EINVAL;
    out_t w = {buf, cap, 0, 0};
    put_s(&w, "{\"side\":\"");
    put_s(&w, o->side == NX_SIDE_BUY ? "buy" : "sell");
    put_s(&w, "\",\"symbol\":\"");
    put_s(&w, r->symbol);
    put_s(&w, "\",\"type\":\"");
    put_s(&w, types[o->type]);
    put_s(&w, "\"");
    put_dec(&w, "qty", o->qty, r->qty_scale, 0);
    put_s(&w, ",\"time_in_force\":\"");
    put_s(&w, tifs[o->tif]);
    put_s(&w, "\"");
    if (o->limit_price)
        put_dec(&w, "limit_price", o->limit_price, r->price_scale, 0);
    if (o->stop_price)
        put_dec(&w, "stop_price", o->stop_price, r->price_scale, 0);
    if (o->trail_price)
        put_dec(&w, "trail_price", o->trail_price, r->price_scale, 0);
    if (o->trail_bp)
        put_dec(&w, "trail_percent", o->trail_bp, 2, 0); /* bp -> percent */
    if (o->extended_hours)
        put_s(&w, ",\"extended_hours\":true");
    if (o->order_class != NX_ALP_SIMPLE) {
        put_s(&w, ",\"order_class\":\"");
        put_s(&w, classes[o->order_class]);
        put_s(&w, "\"");
        if (o->take_profit) {
            put_s(&w, ",\"take_profit\":{");
            put_dec(&w, "limit_price", o->take_profit, r->price_scale, 1);
            put_s(&w, "}");
        }
        if (o->stop_loss) {
            put_s(&w, ",\"stop_loss\":{");
            put_dec(&w, "stop_price", o->stop_loss, r->price_scale, 1);
            if (o->stop_limit)
                put_dec(&w, "limit_price", o->stop_limit, r->price_scale, 0);
            put_s(&w, "}");
        }
    }
    if (o->client_id) {
        char t[24];
        put_s(&w, ",\"client_order_id\":\"");
        put(&w, t, (size_t)nx_binance_clid_format(o->client_id, t));
        put_s(&w, "\"");
    }
    put_s(&w, "}");
    return done(&w);
}

int nx_alpaca_replace_body(char *buf, size_t cap, const nx_alpaca_req_t *r, int64_t qty,
                           int64_t limit_price, int64_t stop_price, int64_t trail)
{
    if (!buf || !cap || !req_ok(r) || qty < 0 || limit_price < 0 || stop_price < 0 || trail < 0 ||
        !(qty || limit_price || stop_price || trail))
        return NX_EINVAL;
    out_t w = {buf, cap, 0, 0};
    int first = 1;
    put_s(&w, "{");
    const struct {
        const char *k;
        int64_t v;
        unsigned scale;
    } f[] = {{"qty", qty, r->qty_scale},
             {"limit_price", limit_price, r->price_scale},
             {"stop_price", stop_price, r->price_scale},
             {"trail", trail, r->price_scale}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v) {
            put_dec(&w, f[i].k, f[i].v, f[i].scale, first);
            first = 0;
        }
    put_s(&w, "}");
    return done(&w);
}

int nx_alpaca_auth_headers(char *buf, size_t cap, const char *key_id, const char *secret)
{
    if (!buf || !cap || !key_ok(key_id) || !key_ok(secret))
        return NX_EINVAL;
    out_t w = {buf, cap, 0, 0};
    put_s(&w, "APCA-API-KEY-ID: ");
    put_s(&w, key_id);
    put_s(&w, "\r\nAPCA-API-SECRET-KEY: ");
    put_s(&w, secret);
    put_s(&w, "\r\n");
    return done(&w);
}

int nx_alpaca_ws_auth(char *buf, size_t cap, const char *key_id, const char *secret)
{
    if (!buf || !cap || !key_ok(key_id) || !key_ok(secret))
        return NX_EINVAL;
    out_t w = {buf, cap, 0, 0};
    put_s(&w, "{\"action\":\"authenticate\",\"data\":{\"key_id\":\"");
    put_s(&w, key_id);
    put_s(&w, "\",\"secret_key\":\"");
    put_s(&w, secret);
    put_s(&w, "\"}}");
    return done(&w);
}

int nx_alpaca_ws_listen(char *buf, size_t cap)
{
    if (!buf || !cap)
        return NX_EINVAL;
    out_t w = {buf, cap, 0, 0};
    put_s(&w, "{\"action\":\"listen\",\"data\":{\"streams\":[\"trade_updates\"]}}");
    return done(&w);
}
