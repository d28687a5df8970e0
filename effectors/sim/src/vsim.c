/*
 * vsim.c — the venue simulator's trading core (venuesim.h): accounts,
 * orders and conditional orders, matching through the paper venue,
 * positions and money, the user-data events, and the faults. The server
 * (vsim_server.c) authenticates a request and hands it here; every
 * function below runs with nx_vsim.mu held.
 *
 * Scale: tens of accounts, thousands of orders. Orders and conditional
 * orders live in fixed arrays scanned linearly (a few microseconds per
 * request at worst), which keeps the bookkeeping obvious; the simulator
 * is a test fixture and a replay's counterpart, not a hot path.
 *
 * Money is exact: a fill's value is price x qty in the symbol's units; a
 * position keeps the cost of what is open and the cash flow of its episode
 * (from flat to flat), and when it returns to flat the realised P&L of the
 * episode is made to equal that cash flow to the unit, whatever rounding
 * the partial closes reported on the way.
 */
#include "vsim_impl.h"

#include "nx/binance.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/paper.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------- strings ---------- */

void vs_sbf(vs_sb_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && (size_t)k < room) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 512;
        while (cap < b->n + (size_t)k + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void vs_sbfx(vs_sb_t *b, int64_t v, unsigned scale)
{
    char t[NX_FIXED_FMT_MAX];
    nx_fixed_format_full(v, scale, t, sizeof t);
    vs_sbf(b, "\"%s\"", t);
}

void vs_fail(vs_resp_t *out, int status, int code, const char *fmt, ...)
{
    out->status = status;
    out->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->msg, sizeof out->msg, fmt, ap);
    va_end(ap);
}

int64_t vs_now_ms(const nx_vsim_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + s->skew_ms;
}

int vs_account_find(const nx_vsim_t *s, const char *key, size_t n)
{
    for (int i = 0; i < VS_ACCOUNTS; i++)
        if (s->acc[i].used && strlen(s->acc[i].api_key) == n && !memcmp(s->acc[i].api_key, key, n))
            return i;
    return -1;
}

const vs_param_t *vs_param(const vs_req_t *r, const char *k)
{
    size_t kn = strlen(k);
    for (int i = 0; i < r->np; i++)
        if (r->p[i].kn == kn && !memcmp(r->p[i].k, k, kn))
            return &r->p[i];
    return NULL;
}

static int is(const vs_param_t *p, const char *v)
{
    return p && p->vn == strlen(v) && !memcmp(p->v, v, p->vn);
}

/* ---------- numbers ---------- */

/* ids are checked where a request or an event names a symbol */
static const nx_symbol_t *sym(const nx_vsim_t *s, uint32_t id)
{
    return nx_symtab_get(s->symtab, id);
}

static __int128 p10(int e)
{
    __int128 v = 1;
    while (e-- > 0)
        v *= 10;
    return v;
}

/* price x qty units -> money */
static int64_t value_money(const nx_symbol_t *y, __int128 v)
{
    int e = NX_VSIM_MONEY_SCALE - y->price_scale - y->qty_scale;
    return (int64_t)(e >= 0 ? v * p10(e) : v / p10(-e));
}

static int64_t avg_px(__int128 value, int64_t qty)
{
    if (!qty)
        return 0;
    if (value < 0)
        value = -value;
    return (int64_t)((value + qty / 2) / qty); /* price units, rounded */
}

/* the market price an order on `side` would take */
static int64_t ref_px(const nx_vsim_t *s, uint32_t symbol)
{
    return s->mark[symbol];
}

/* ---------- user-data events ---------- */

static void out_raw(nx_vsim_t *s, uint32_t account, char *p, size_t n)
{
    if (s->mute_until_ms && vs_now_ms(s) < s->mute_until_ms) {
        free(p); /* the stream stays up; the event never comes */
        s->st.user_drops++;
        return;
    }
    s->st.user_events++;
    if (s->user_out)
        s->user_out(s, account, p, n);
    else
        free(p);
}

static void flush_held(nx_vsim_t *s)
{
    if (s->held) {
        char *h = s->held;
        s->held = NULL;
        out_raw(s, s->held_account, h, s->held_len);
    }
}

/* An event for the account's streams, through the faults "duplicate" and
 * "reorder". Takes the builder's memory. */
static void emit(nx_vsim_t *s, uint32_t account, vs_sb_t *b)
{
    if (b->oom || !b->p) {
        free(b->p);
        return;
    }
    if (s->f_dup > 0) {
        s->f_dup--;
        char *copy = malloc(b->n + 1);
        if (copy) {
            memcpy(copy, b->p, b->n + 1);
            out_raw(s, account, copy, b->n);
        }
    }
    if (s->f_reorder > 0 && !s->held) {
        s->f_reorder--;
        s->held = b->p;
        s->held_len = b->n;
        s->held_account = account;
        return;
    }
    out_raw(s, account, b->p, b->n);
    flush_held(s);
}

static const char *side_s(uint8_t side)
{
    return side == NX_SIDE_BUY ? "BUY" : "SELL";
}

static const char *type_s(uint8_t t)
{
    switch (t) {
    case VS_LIMIT:
        return "LIMIT";
    case VS_MARKET:
        return "MARKET";
    case VS_STOP_MARKET:
        return "STOP_MARKET";
    case VS_TAKE_PROFIT_MARKET:
        return "TAKE_PROFIT_MARKET";
    case VS_TRAILING:
        return "TRAILING_STOP_MARKET";
    default:
        return "LIQUIDATION";
    }
}

static const char *status_s(uint8_t st)
{
    static const char *const n[] = {"?",        "NEW",      "PARTIALLY_FILLED", "FILLED",
                                    "CANCELED", "REJECTED", "EXPIRED"};
    return st <= VS_EXPIRED ? n[st] : "?";
}

static const char *algo_status_s(uint8_t st)
{
    static const char *const n[] = {"?",        "NEW",      "CANCELED", "TRIGGERED",
                                    "FINISHED", "REJECTED", "EXPIRED"};
    return st <= VS_A_EXPIRED ? n[st] : "?";
}

typedef struct fill_info {
    int64_t px, qty, fee_money, rp_money;
    uint64_t trade_id;
    int maker;
} fill_info_t;

static void order_trade_update(nx_vsim_t *s, const vs_order_t *o, const char *x,
                               const fill_info_t *f)
{
    const nx_symbol_t *y = sym(s, o->symbol);
    int64_t now = vs_now_ms(s);
    vs_sb_t b = {0};
    if (f) { /* TRADE_LITE comes first on Binance */
        vs_sbf(&b, "{\"e\":\"TRADE_LITE\",\"E\":%lld,\"T\":%lld,\"s\":\"%s\",\"q\":", (long long)now,
               (long long)now, y->name);
        vs_sbfx(&b, o->qty, y->qty_scale);
        vs_sbf(&b, ",\"p\":");
        vs_sbfx(&b, o->type == VS_LIMIT ? o->price : 0, y->price_scale);
        vs_sbf(&b, ",\"m\":%s,\"c\":\"%s\",\"S\":\"%s\",\"L\":", f->maker ? "true" : "false",
               o->clid, side_s(o->side));
        vs_sbfx(&b, f->px, y->price_scale);
        vs_sbf(&b, ",\"l\":");
        vs_sbfx(&b, f->qty, y->qty_scale);
        vs_sbf(&b, ",\"t\":%llu,\"i\":%llu}", (unsigned long long)f->trade_id,
               (unsigned long long)o->order_id);
        emit(s, o->account, &b);
        memset(&b, 0, sizeof b);
    }
    vs_sbf(&b, "{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":%lld,\"T\":%lld,\"o\":{\"s\":\"%s\",\"c\":\"%s\","
           "\"S\":\"%s\",\"o\":\"%s\",\"f\":\"GTC\",\"q\":",
           (long long)now, (long long)now, y->name, o->clid, side_s(o->side), type_s(o->type));
    vs_sbfx(&b, o->qty, y->qty_scale);
    vs_sbf(&b, ",\"p\":");
    vs_sbfx(&b, o->type == VS_LIMIT ? o->price : 0, y->price_scale);
    vs_sbf(&b, ",\"ap\":");
    vs_sbfx(&b, avg_px(o->cum_value, o->cum_qty), y->price_scale);
    vs_sbf(&b, ",\"sp\":");
    vs_sbfx(&b, o->stop_price, y->price_scale);
    vs_sbf(&b, ",\"x\":\"%s\",\"X\":\"%s\",\"i\":%llu,\"l\":", x, status_s(o->status),
           (unsigned long long)o->order_id);
    vs_sbfx(&b, f ? f->qty : 0, y->qty_scale);
    vs_sbf(&b, ",\"z\":");
    vs_sbfx(&b, o->cum_qty, y->qty_scale);
    vs_sbf(&b, ",\"L\":");
    vs_sbfx(&b, f ? f->px : 0, y->price_scale);
    vs_sbf(&b, ",\"n\":");
    vs_sbfx(&b, f ? f->fee_money : 0, NX_VSIM_MONEY_SCALE);
    vs_sbf(&b, ",\"N\":\"USDT\",\"T\":%lld,\"t\":%llu,\"b\":\"0\",\"a\":\"0\",\"m\":%s,\"R\":%s,"
           "\"wt\":\"%s\",\"ot\":\"%s\",\"ps\":\"BOTH\",\"cp\":%s,\"rp\":",
           (long long)now, (unsigned long long)(f ? f->trade_id : 0),
           f && f->maker ? "true" : "false", o->reduce_only ? "true" : "false",
           o->orig_type == VS_LIMIT || o->orig_type == VS_MARKET ? "CONTRACT_PRICE" : "MARK_PRICE",
           type_s(o->orig_type), o->close_position ? "true" : "false");
    vs_sbfx(&b, f ? f->rp_money : 0, NX_VSIM_MONEY_SCALE);
    vs_sbf(&b, ",\"pP\":false,\"si\":0,\"ss\":0,\"V\":\"NONE\",\"pm\":\"NONE\",\"gtd\":0}}");
    emit(s, o->account, &b);
}

static void account_update(nx_vsim_t *s, uint32_t account, uint32_t symbol, const char *why)
{
    const vs_account_t *a = &s->acc[account];
    const vs_pos_t *p = &a->pos[symbol];
    const nx_symbol_t *y = sym(s, symbol);
    int64_t now = vs_now_ms(s);
    vs_sb_t b = {0};
    vs_sbf(&b, "{\"e\":\"ACCOUNT_UPDATE\",\"E\":%lld,\"T\":%lld,\"a\":{\"m\":\"%s\",\"B\":[{\"a\":"
           "\"USDT\",\"wb\":",
           (long long)now, (long long)now, why);
    vs_sbfx(&b, a->wallet, NX_VSIM_MONEY_SCALE);
    vs_sbf(&b, ",\"cw\":");
    vs_sbfx(&b, a->wallet, NX_VSIM_MONEY_SCALE);
    vs_sbf(&b, ",\"bc\":\"0\"}],\"P\":[{\"s\":\"%s\",\"pa\":", y->name);
    vs_sbfx(&b, p->qty, y->qty_scale);
    int64_t aq = p->qty < 0 ? -p->qty : p->qty;
    int64_t ep = avg_px(p->cost, aq);
    vs_sbf(&b, ",\"ep\":");
    vs_sbfx(&b, ep, y->price_scale);
    vs_sbf(&b, ",\"bep\":");
    vs_sbfx(&b, ep, y->price_scale);
    vs_sbf(&b, ",\"cr\":");
    vs_sbfx(&b, p->realized, NX_VSIM_MONEY_SCALE);
    __int128 up = p->qty ? ((__int128)s->mark[symbol] * aq - p->cost) * (p->qty > 0 ? 1 : -1) : 0;
    vs_sbf(&b, ",\"up\":");
    vs_sbfx(&b, value_money(y, up), NX_VSIM_MONEY_SCALE);
    vs_sbf(&b, ",\"mt\":\"cross\",\"iw\":\"0\",\"ps\":\"BOTH\"}]}}");
    emit(s, account, &b);
}

static void algo_update(nx_vsim_t *s, const vs_algo_t *g, const char *reason)
{
    const nx_symbol_t *y = sym(s, g->symbol);
    int64_t now = vs_now_ms(s);
    vs_sb_t b = {0};
    vs_sbf(&b, "{\"e\":\"ALGO_UPDATE\",\"E\":%lld,\"T\":%lld,\"o\":{\"caid\":\"%s\",\"aid\":%llu,"
           "\"at\":\"CONDITIONAL\",\"o\":\"%s\",\"s\":\"%s\",\"S\":\"%s\",\"ps\":\"BOTH\","
           "\"f\":\"GTC\",\"q\":",
           (long long)now, (long long)now, g->clid, (unsigned long long)g->algo_id,
           type_s(g->type), y->name, side_s(g->side));
    vs_sbfx(&b, g->qty, y->qty_scale);
    vs_sbf(&b, ",\"X\":\"%s\",\"tp\":", algo_status_s(g->status));
    vs_sbfx(&b, g->trigger, y->price_scale);
    vs_sbf(&b, ",\"p\":\"0\",\"wt\":\"MARK_PRICE\",\"pm\":\"NONE\",\"cp\":%s,\"pP\":false,"
           "\"R\":%s,\"tt\":%lld,\"gtd\":0",
           g->close_position ? "true" : "false", g->close_position ? "false" : "true",
           (long long)g->trigger_ms);
    if (g->order_id)
        vs_sbf(&b, ",\"ai\":\"%llu\"", (unsigned long long)g->order_id);
    if (g->type == VS_TRAILING) {
        vs_sbf(&b, ",\"cr\":");
        vs_sbfx(&b, g->callback_bp, 2);
    }
    if (reason)
        vs_sbf(&b, ",\"rm\":\"%s\"", reason);
    vs_sbf(&b, ",\"V\":\"NONE\"}}");
    emit(s, g->account, &b);
}

/* ---------- objects in answers ---------- */

static void order_json(nx_vsim_t *s, vs_sb_t *b, const vs_order_t *o)
{
    const nx_symbol_t *y = sym(s, o->symbol);
    vs_sbf(b, "{\"orderId\":%llu,\"symbol\":\"%s\",\"status\":\"%s\",\"clientOrderId\":\"%s\","
           "\"price\":",
           (unsigned long long)o->order_id, y->name, status_s(o->status), o->clid);
    vs_sbfx(b, o->type == VS_LIMIT ? o->price : 0, y->price_scale);
    vs_sbf(b, ",\"avgPrice\":");
    vs_sbfx(b, avg_px(o->cum_value, o->cum_qty), y->price_scale);
    vs_sbf(b, ",\"origQty\":");
    vs_sbfx(b, o->qty, y->qty_scale);
    vs_sbf(b, ",\"executedQty\":");
    vs_sbfx(b, o->cum_qty, y->qty_scale);
    vs_sbf(b, ",\"cumQty\":");
    vs_sbfx(b, o->cum_qty, y->qty_scale);
    vs_sbf(b, ",\"cumQuote\":");
    vs_sbfx(b, value_money(y, o->cum_value), NX_VSIM_MONEY_SCALE);
    vs_sbf(b, ",\"timeInForce\":\"GTC\",\"type\":\"%s\",\"reduceOnly\":%s,\"closePosition\":%s,"
           "\"side\":\"%s\",\"positionSide\":\"BOTH\",\"stopPrice\":",
           type_s(o->type), o->reduce_only ? "true" : "false",
           o->close_position ? "true" : "false", side_s(o->side));
    vs_sbfx(b, o->stop_price, y->price_scale);
    vs_sbf(b, ",\"workingType\":\"CONTRACT_PRICE\",\"priceProtect\":false,\"origType\":\"%s\","
           "\"priceMatch\":\"NONE\",\"selfTradePreventionMode\":\"NONE\",\"goodTillDate\":0,"
           "\"time\":%lld,\"updateTime\":%lld}",
           type_s(o->orig_type), (long long)o->time_ms, (long long)o->update_ms);
}

static void algo_json(nx_vsim_t *s, vs_sb_t *b, const vs_algo_t *g)
{
    const nx_symbol_t *y = sym(s, g->symbol);
    vs_sbf(b, "{\"algoId\":%llu,\"clientAlgoId\":\"%s\",\"algoType\":\"CONDITIONAL\","
           "\"orderType\":\"%s\",\"symbol\":\"%s\",\"side\":\"%s\",\"positionSide\":\"BOTH\","
           "\"timeInForce\":\"GTC\",\"quantity\":",
           (unsigned long long)g->algo_id, g->clid, type_s(g->type), y->name, side_s(g->side));
    vs_sbfx(b, g->qty, y->qty_scale);
    vs_sbf(b, ",\"algoStatus\":\"%s\",\"actualOrderId\":\"%llu\",\"triggerPrice\":",
           algo_status_s(g->status), (unsigned long long)g->order_id);
    vs_sbfx(b, g->trigger, y->price_scale);
    vs_sbf(b, ",\"price\":\"0\",\"workingType\":\"MARK_PRICE\",\"closePosition\":%s,"
           "\"reduceOnly\":%s,\"activatePrice\":",
           g->close_position ? "true" : "false", g->close_position ? "false" : "true");
    vs_sbfx(b, g->activate, y->price_scale);
    vs_sbf(b, ",\"callbackRate\":");
    vs_sbfx(b, g->callback_bp, 2);
    vs_sbf(b, ",\"createTime\":%lld,\"updateTime\":%lld,\"triggerTime\":%lld}",
           (long long)g->time_ms, (long long)g->update_ms, (long long)g->trigger_ms);
}

/* ---------- positions and money ---------- */

static int64_t used_margin(const nx_vsim_t *s, const vs_account_t *a)
{
    int64_t m = 0;
    for (uint32_t i = 0; i < s->nsym; i++)
        if (a->pos[i].qty)
            m += value_money(sym(s, i), a->pos[i].cost) / (a->pos[i].leverage ? a->pos[i].leverage : 1);
    return m;
}

/* A fill of `qty` at `px` on the account's position; returns the money
 * realised by it. */
static int64_t apply_fill(nx_vsim_t *s, uint32_t account, uint32_t symbol, uint8_t side,
                          int64_t px, int64_t qty, int64_t fee_money)
{
    const nx_symbol_t *y = sym(s, symbol);
    vs_account_t *a = &s->acc[account];
    vs_pos_t *p = &a->pos[symbol];
    int64_t d = side == NX_SIDE_BUY ? qty : -qty;
    __int128 v = (__int128)px * qty;
    int64_t rp = 0;
    p->cash += side == NX_SIDE_BUY ? -v : v;
    if (p->qty == 0 || (p->qty > 0) == (d > 0)) {
        p->cost += v;
        p->qty += d;
    } else {
        int64_t aq = p->qty < 0 ? -p->qty : p->qty;
        int64_t closed = qty < aq ? qty : aq;
        __int128 cost_closed = p->cost * closed / aq;
        __int128 val = ((__int128)px * closed - cost_closed) * (p->qty > 0 ? 1 : -1);
        p->cost -= cost_closed;
        p->qty += p->qty > 0 ? -closed : closed;
        rp = value_money(y, val);
        if (p->qty == 0) {
            /* flat: the episode's P&L is its cash flow, to the unit */
            __int128 rest = (__int128)px * (qty - closed);
            __int128 ep_cash = p->cash - (side == NX_SIDE_BUY ? -rest : rest);
            rp = value_money(y, ep_cash) - p->rp_reported;
            p->rp_reported = 0;
            p->cost = 0;
            p->cash = side == NX_SIDE_BUY ? -rest : rest;
            if (qty > closed) { /* through zero: the rest opens the other way */
                p->cost = rest;
                p->qty = side == NX_SIDE_BUY ? qty - closed : -(qty - closed);
            }
        } else {
            p->rp_reported += rp;
        }
    }
    p->realized += rp;
    p->fees += fee_money;
    a->wallet += rp - fee_money;
    return rp;
}

/* ---------- orders ---------- */

static vs_order_t *order_new(nx_vsim_t *s)
{
    vs_order_t *free_ = NULL, *oldest = NULL;
    for (int i = 0; i < VS_ORDERS; i++) {
        vs_order_t *o = &s->orders[i];
        if (!o->used) {
            free_ = o;
            break;
        }
        if (o->status >= VS_FILLED && (!oldest || o->update_ms < oldest->update_ms))
            oldest = o;
    }
    vs_order_t *o = free_ ? free_ : oldest;
    if (o) {
        memset(o, 0, sizeof *o);
        o->used = 1;
        o->order_id = ++s->next_order_id;
    }
    return o;
}

static vs_order_t *order_by_uid(nx_vsim_t *s, uint64_t uid)
{
    for (int i = 0; i < VS_ORDERS; i++) {
        vs_order_t *o = &s->orders[i];
        if (o->used && (o->paper_uid[0] == uid || o->paper_uid[1] == uid))
            return o;
    }
    return NULL;
}

static int open_status(uint8_t st)
{
    return st == VS_NEW || st == VS_PARTIAL;
}

/* The paper venue's answer about one of its orders (inside place/cancel
 * or on a market event). */
static void paper_update(void *ctx, uint32_t symbol, const nx_ev_order_update_t *u)
{
    nx_vsim_t *s = ctx;
    vs_order_t *o = order_by_uid(s, u->client_id);
    if (!o)
        return;
    const nx_symbol_t *y = sym(s, symbol);
    if (u->status == NX_OS_FILLED || u->status == NX_OS_PARTIAL) {
        fill_info_t f;
        memset(&f, 0, sizeof f);
        f.px = u->last_px;
        f.qty = u->last_qty;
        f.maker = u->maker;
        /* the venue's commission to 10^-8 USDT (rounded up), not the
         * paper venue's, which is rounded up to the symbol's tick */
        __int128 num = (__int128)f.px * f.qty *
                       (f.maker ? s->o.maker_fee_bp : s->o.taker_fee_bp);
        int e = NX_VSIM_MONEY_SCALE - y->price_scale - y->qty_scale;
        __int128 den = (__int128)10000 * (e < 0 ? p10(-e) : 1);
        if (e > 0)
            num *= p10(e);
        f.fee_money = (int64_t)(num / den + (num % den != 0));
        f.trade_id = ++s->next_trade_id;
        f.rp_money = apply_fill(s, o->account, o->symbol, o->side, f.px, f.qty, f.fee_money);
        o->cum_qty += f.qty;
        o->cum_value += (__int128)f.px * f.qty;
        s->trades[s->ntrades++ % VS_TRADES] =
            (vs_trade_t){o->account, o->symbol, f.trade_id, o->order_id, o->side, (uint8_t)f.maker,
                         f.px, f.qty, f.fee_money, f.rp_money, vs_now_ms(s)};
        o->update_ms = vs_now_ms(s);
        if (u->status == NX_OS_FILLED && o->parts)
            o->parts--;
        o->status = o->cum_qty >= o->qty ? VS_FILLED : VS_PARTIAL;
        s->st.fills++;
        order_trade_update(s, o, o->type == VS_LIQ ? "CALCULATED" : "TRADE", &f);
        account_update(s, o->account, o->symbol, "ORDER");
    } else if (u->status == NX_OS_REJECTED || u->status == NX_OS_EXPIRED) {
        if (o->parts)
            o->parts--;
        if (!o->parts && open_status(o->status)) {
            o->status = VS_EXPIRED;
            o->update_ms = vs_now_ms(s);
            order_trade_update(s, o, "EXPIRED", NULL);
        }
    }
}

/* Hand an accepted order to the paper venue, in one part or two (the
 * fault "partial"). */
static void submit(nx_vsim_t *s, vs_order_t *o, int split)
{
    const nx_symbol_t *y = sym(s, o->symbol);
    int64_t q1 = o->qty, q2 = 0;
    if (split && y->lot_size > 0) {
        q1 = o->qty / 2 / y->lot_size * y->lot_size;
        if (q1 <= 0 || q1 >= o->qty)
            q1 = o->qty;
        q2 = o->qty - q1;
    }
    o->part_qty[0] = q1;
    o->part_qty[1] = q2;
    o->parts = q2 ? 2 : 1;
    for (int k = 0; k < (q2 ? 2 : 1); k++) {
        o->paper_uid[k] = ++s->next_uid;
        nx_ev_order_intent_t in;
        memset(&in, 0, sizeof in);
        in.client_id = o->paper_uid[k];
        in.session = o->account + 1;
        in.side = o->side;
        in.order_type = o->type == VS_LIMIT ? NX_ORD_LIMIT : NX_ORD_MARKET;
        in.price = o->type == VS_LIMIT ? o->price : 0;
        in.qty = k ? q2 : q1;
        s->paper->ops->place(s->paper, &in, o->symbol);
        if (!open_status(o->status))
            break;
    }
}

static void cancel_order(nx_vsim_t *s, vs_order_t *o, const char *x)
{
    for (int k = 0; k < 2; k++)
        if (o->paper_uid[k])
            s->paper->ops->cancel(s->paper, o->paper_uid[k], o->symbol);
    o->parts = 0;
    o->status = VS_CANCELED;
    o->update_ms = vs_now_ms(s);
    order_trade_update(s, o, x, NULL);
}

static vs_order_t *find_order(nx_vsim_t *s, uint32_t account, uint32_t symbol, const vs_req_t *r)
{
    const vs_param_t *id = vs_param(r, "orderId"), *c = vs_param(r, "origClientOrderId");
    uint64_t oid = id ? strtoull(id->v, NULL, 10) : 0;
    vs_order_t *best = NULL;
    for (int i = 0; i < VS_ORDERS; i++) {
        vs_order_t *o = &s->orders[i];
        if (!o->used || o->account != account || o->symbol != symbol)
            continue;
        if ((id && o->order_id == oid) ||
            (!id && c && strlen(o->clid) == c->vn && !memcmp(o->clid, c->v, c->vn))) {
            if (!best || o->order_id > best->order_id) /* the latest with that client id */
                best = o;
        }
    }
    return best;
}

static vs_algo_t *find_algo(nx_vsim_t *s, uint32_t account, const vs_req_t *r)
{
    const vs_param_t *id = vs_param(r, "algoId"), *c = vs_param(r, "clientAlgoId");
    uint64_t aid = id ? strtoull(id->v, NULL, 10) : 0;
    vs_algo_t *best = NULL;
    for (int i = 0; i < VS_ALGOS; i++) {
        vs_algo_t *g = &s->algos[i];
        if (!g->used || g->account != account)
            continue;
        if ((id && g->algo_id == aid) ||
            (!id && c && strlen(g->clid) == c->vn && !memcmp(g->clid, c->v, c->vn)))
            if (!best || g->algo_id > best->algo_id)
                best = g;
    }
    return best;
}

/* ---------- request parameters ---------- */

static int need(const vs_req_t *r, const char *k, vs_resp_t *out, const vs_param_t **p)
{
    *p = vs_param(r, k);
    if (*p && (*p)->vn)
        return 1;
    vs_fail(out, 400, -1102,
            "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", k);
    return 0;
}

static int symbol_of(nx_vsim_t *s, const vs_req_t *r, vs_resp_t *out, uint32_t *id)
{
    const vs_param_t *p;
    if (!need(r, "symbol", out, &p))
        return 0;
    uint32_t x = nx_symtab_find(s->symtab, NX_VENUE_BINANCE_USDM, p->v, p->vn);
    if (x == NX_SYMBOL_NONE || x >= s->nsym) {
        vs_fail(out, 400, -1121, "Invalid symbol.");
        return 0;
    }
    *id = x;
    return 1;
}

static int decimal(const vs_param_t *p, unsigned scale, int64_t *v, vs_resp_t *out, const char *k)
{
    int rc = nx_fixed_parse(p->v, p->vn, scale, v);
    if (rc == NX_EPRECISION) {
        vs_fail(out, 400, -1111, "Precision is over the maximum defined for this asset.");
        return 0;
    }
    if (rc) {
        vs_fail(out, 400, -1102,
                "Mandatory parameter '%s' was not sent, was empty/null, or malformed.", k);
        return 0;
    }
    return 1;
}

static int side_of(const vs_req_t *r, vs_resp_t *out, uint8_t *side)
{
    const vs_param_t *p;
    if (!need(r, "side", out, &p))
        return 0;
    if (is(p, "BUY"))
        *side = NX_SIDE_BUY;
    else if (is(p, "SELL"))
        *side = NX_SIDE_SELL;
    else {
        vs_fail(out, 400, -1117, "Invalid side.");
        return 0;
    }
    return 1;
}

/* ^[.A-Z:/a-z0-9_-]{1,36}$ */
static int clid_ok(const vs_param_t *p)
{
    if (!p->vn || p->vn > VS_CLID_MAX)
        return 0;
    for (size_t i = 0; i < p->vn; i++) {
        char c = p->v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == ':' || c == '/' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int filters_ok(nx_vsim_t *s, uint32_t symbol, const nx_ev_order_intent_t *in,
                      vs_resp_t *out)
{
    int code = 0;
    char why[200];
    if (!nx_bn_filters_check(&s->filters[symbol], in, s->mark[symbol], s->mark[symbol], &code,
                             why, sizeof why))
        return 1;
    if (!code)
        code = -1102;
    char msg[200];
    if (!nx_bn_filters_venue_msg(&s->filters[symbol], code, msg, sizeof msg))
        snprintf(msg, sizeof msg, "%s", why);
    vs_fail(out, 400, code, "%s", msg);
    return 0;
}

static void count_open(nx_vsim_t *s, uint32_t account, uint32_t symbol, uint32_t *orders,
                       uint32_t *algos)
{
    *orders = *algos = 0;
    for (int i = 0; i < VS_ORDERS; i++)
        if (s->orders[i].used && s->orders[i].account == account &&
            s->orders[i].symbol == symbol && open_status(s->orders[i].status))
            (*orders)++;
    for (int i = 0; i < VS_ALGOS; i++)
        if (s->algos[i].used && s->algos[i].account == account && s->algos[i].symbol == symbol &&
            s->algos[i].status == VS_A_NEW)
            (*algos)++;
}

static int open_ok(nx_vsim_t *s, uint32_t account, uint32_t symbol, int algo, vs_resp_t *out)
{
    uint32_t no, na;
    count_open(s, account, symbol, &no, &na);
    int code = 0;
    char why[160];
    if (!nx_bn_filters_check_open(&s->filters[symbol], no + na, na, algo, &code, why, sizeof why))
        return 1;
    char msg[200];
    if (!nx_bn_filters_venue_msg(&s->filters[symbol], code, msg, sizeof msg))
        snprintf(msg, sizeof msg, "%s", why);
    vs_fail(out, 400, code, "%s", msg);
    return 0;
}

/* ---------- the operations ---------- */

static void op_order_place(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    uint8_t side;
    const vs_param_t *t, *q, *p;
    if (!symbol_of(s, r, out, &symbol) || !side_of(r, out, &side) || !need(r, "type", out, &t))
        return;
    const nx_symbol_t *y = sym(s, symbol);
    uint8_t type;
    if (is(t, "LIMIT"))
        type = VS_LIMIT;
    else if (is(t, "MARKET"))
        type = VS_MARKET;
    else if (is(t, "STOP") || is(t, "STOP_MARKET") || is(t, "TAKE_PROFIT") ||
             is(t, "TAKE_PROFIT_MARKET") || is(t, "TRAILING_STOP_MARKET")) {
        vs_fail(out, 400, -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API "
                "endpoints instead.");
        return;
    } else {
        vs_fail(out, 400, -1116, "Invalid orderType.");
        return;
    }
    if (vs_param(r, "closePosition")) {
        vs_fail(out, 400, -1106, "Parameter 'closePosition' sent when not required.");
        return;
    }
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.side = side;
    in.order_type = type == VS_LIMIT ? NX_ORD_LIMIT : NX_ORD_MARKET;
    in.reduce_only = is(vs_param(r, "reduceOnly"), "true");
    if (!need(r, "quantity", out, &q) || !decimal(q, y->qty_scale, &in.qty, out, "quantity"))
        return;
    if (type == VS_LIMIT) {
        if (!need(r, "price", out, &p) || !decimal(p, y->price_scale, &in.price, out, "price") ||
            !need(r, "timeInForce", out, &t))
            return;
    }
    const vs_param_t *c = vs_param(r, "newClientOrderId");
    if (c && !clid_ok(c)) {
        vs_fail(out, 400, -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.");
        return;
    }
    if (!filters_ok(s, symbol, &in, out) || !open_ok(s, r->account, symbol, 0, out))
        return;
    vs_account_t *a = &s->acc[r->account];
    vs_pos_t *pos = &a->pos[symbol];
    if (c)
        for (int i = 0; i < VS_ORDERS; i++) {
            vs_order_t *o = &s->orders[i];
            if (o->used && o->account == r->account && open_status(o->status) &&
                strlen(o->clid) == c->vn && !memcmp(o->clid, c->v, c->vn)) {
                vs_fail(out, 400, -4116, "ClientOrderId is duplicated.");
                return;
            }
        }
    if (in.reduce_only) {
        int closing = pos->qty && ((pos->qty > 0) != (side == NX_SIDE_BUY));
        if (!closing) {
            vs_fail(out, 400, -2022, "ReduceOnly Order is rejected.");
            return;
        }
        int64_t aq = pos->qty < 0 ? -pos->qty : pos->qty;
        if (in.qty > aq)
            in.qty = aq; /* the venue reduces it to the position */
    } else {
        int64_t px = type == VS_LIMIT ? in.price : ref_px(s, symbol);
        int64_t margin = value_money(y, (__int128)px * in.qty) /
                         (pos->leverage ? pos->leverage : 1);
        if (margin > a->wallet - used_margin(s, a)) {
            vs_fail(out, 400, -2019, "Margin is insufficient.");
            return;
        }
    }
    if (s->f_reject > 0) {
        s->f_reject--;
        vs_fail(out, 400, s->f_reject_code ? s->f_reject_code : -2019, "%s",
                s->f_reject_code == -2019 || !s->f_reject_code ? "Margin is insufficient."
                                                               : "Rejected by the simulator.");
        return;
    }
    if (type == VS_MARKET && ref_px(s, symbol) <= 0) {
        vs_fail(out, 400, -1008, "Server is currently overloaded with other requests. Please try "
                                 "again in a few minutes."); /* no market yet */
        return;
    }
    vs_order_t *o = order_new(s);
    if (!o) {
        vs_fail(out, 503, -1008, "Server is currently overloaded with other requests.");
        return;
    }
    o->account = r->account;
    o->symbol = symbol;
    o->side = side;
    o->type = o->orig_type = type;
    o->price = in.price;
    o->qty = in.qty;
    o->reduce_only = in.reduce_only;
    o->status = VS_NEW;
    o->time_ms = o->update_ms = vs_now_ms(s);
    if (c)
        memcpy(o->clid, c->v, c->vn);
    else
        snprintf(o->clid, sizeof o->clid, "sim%llu", (unsigned long long)o->order_id);
    s->st.orders++;
    out->is_order = 1;
    vs_sbf(&out->result, "%s", "");
    vs_order_t ack = *o;
    order_trade_update(s, o, "NEW", NULL);
    int split = s->f_partial > 0;
    if (split)
        s->f_partial--;
    submit(s, o, split);
    order_json(s, &out->result, is(vs_param(r, "newOrderRespType"), "RESULT") ? o : &ack);
}

static void op_order_cancel(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_of(s, r, out, &symbol))
        return;
    if (!vs_param(r, "orderId") && !vs_param(r, "origClientOrderId")) {
        vs_fail(out, 400, -1102, "Either orderId or origClientOrderId must be sent.");
        return;
    }
    vs_order_t *o = find_order(s, r->account, symbol, r);
    if (!o || !open_status(o->status)) {
        vs_fail(out, 400, -2011, "Unknown order sent.");
        return;
    }
    s->st.cancels++;
    out->is_order = 1;
    cancel_order(s, o, "CANCELED");
    order_json(s, &out->result, o);
}

/* PUT /fapi/v1/order, order.modify: a resting LIMIT order's price and
 * quantity (symbol, side, quantity, price, and orderId or
 * origClientOrderId); it loses its place in the queue, as on the venue. */
static void op_order_modify(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    uint8_t side;
    const vs_param_t *q, *p;
    if (!symbol_of(s, r, out, &symbol) || !side_of(r, out, &side))
        return;
    if (!vs_param(r, "orderId") && !vs_param(r, "origClientOrderId")) {
        vs_fail(out, 400, -1102, "Either orderId or origClientOrderId must be sent.");
        return;
    }
    const nx_symbol_t *y = sym(s, symbol);
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.side = side;
    in.order_type = NX_ORD_LIMIT;
    if (!need(r, "quantity", out, &q) || !decimal(q, y->qty_scale, &in.qty, out, "quantity") ||
        !need(r, "price", out, &p) || !decimal(p, y->price_scale, &in.price, out, "price"))
        return;
    vs_order_t *o = find_order(s, r->account, symbol, r);
    if (!o || !open_status(o->status)) {
        vs_fail(out, 400, -2013, "Order does not exist.");
        return;
    }
    if (o->type != VS_LIMIT || o->side != side) {
        vs_fail(out, 400, -1102, "Only a LIMIT order of the same side can be modified.");
        return;
    }
    if (in.price == o->price && in.qty == o->qty) {
        vs_fail(out, 400, -5027, "No need to modify the order.");
        return;
    }
    if (in.qty <= o->cum_qty) {
        vs_fail(out, 400, -2027, "Quantity less than or equal to the executed quantity.");
        return;
    }
    in.reduce_only = o->reduce_only;
    if (!filters_ok(s, symbol, &in, out))
        return;
    for (int k = 0; k < 2; k++) /* out of the book; back at the end of the queue */
        if (o->paper_uid[k])
            s->paper->ops->cancel(s->paper, o->paper_uid[k], o->symbol);
    o->price = in.price;
    o->qty = in.qty;
    o->update_ms = vs_now_ms(s);
    s->st.amendments++;
    out->is_order = 1;
    vs_order_t ack = *o;
    order_trade_update(s, o, "AMENDMENT", NULL);
    o->paper_uid[0] = ++s->next_uid;
    o->paper_uid[1] = 0;
    o->parts = 1;
    nx_ev_order_intent_t pin;
    memset(&pin, 0, sizeof pin);
    pin.client_id = o->paper_uid[0];
    pin.session = o->account + 1;
    pin.side = o->side;
    pin.order_type = NX_ORD_LIMIT;
    pin.price = o->price;
    pin.qty = o->qty - o->cum_qty;
    s->paper->ops->place(s->paper, &pin, o->symbol);
    order_json(s, &out->result, &ack);
}

static void op_order_status(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_of(s, r, out, &symbol))
        return;
    vs_order_t *o = find_order(s, r->account, symbol, r);
    if (!o) {
        vs_fail(out, 400, -2013, "Order does not exist.");
        return;
    }
    order_json(s, &out->result, o);
}

static int symbol_opt(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out, uint32_t *symbol)
{
    *symbol = NX_SYMBOL_NONE;
    return !vs_param(r, "symbol") || symbol_of(s, r, out, symbol);
}

static void op_open_orders(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_opt(s, r, out, &symbol))
        return;
    vs_sbf(&out->result, "[");
    int n = 0;
    for (int i = 0; i < VS_ORDERS; i++) {
        vs_order_t *o = &s->orders[i];
        if (o->used && o->account == r->account && open_status(o->status) &&
            (symbol == NX_SYMBOL_NONE || o->symbol == symbol)) {
            if (n++)
                vs_sbf(&out->result, ",");
            order_json(s, &out->result, o);
        }
    }
    vs_sbf(&out->result, "]");
}

/* GET /fapi/v1/forceOrders: the account's liquidation orders (the venue's
 * own, "autoclose-..."), on the symbol if given, from startTime; the
 * simulator makes no auto-deleveraging orders, so autoCloseType=ADL lists
 * none. */
static void op_force_orders(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_opt(s, r, out, &symbol))
        return;
    const vs_param_t *ty = vs_param(r, "autoCloseType"), *from = vs_param(r, "startTime");
    int64_t since = from ? strtoll(from->v, NULL, 10) : 0;
    vs_sbf(&out->result, "[");
    int n = 0;
    for (int i = 0; !(ty && !strcmp(ty->v, "ADL")) && i < VS_ORDERS; i++) {
        const vs_order_t *o = &s->orders[i];
        if (o->used && o->account == r->account && o->orig_type == VS_LIQ &&
            o->time_ms >= since && (symbol == NX_SYMBOL_NONE || o->symbol == symbol)) {
            if (n++)
                vs_sbf(&out->result, ",");
            order_json(s, &out->result, o);
        }
    }
    vs_sbf(&out->result, "]");
}

/* GET /fapi/v1/allOrders: every order of the account on the symbol that
 * the simulator still holds, oldest first */
static void op_all_orders(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_of(s, r, out, &symbol))
        return;
    vs_sbf(&out->result, "[");
    int n = 0;
    for (uint64_t id = 0;;) { /* by order id: the array is not in order once slots recycle */
        const vs_order_t *best = NULL;
        for (int i = 0; i < VS_ORDERS; i++) {
            const vs_order_t *o = &s->orders[i];
            if (o->used && o->account == r->account && o->symbol == symbol && o->order_id > id &&
                (!best || o->order_id < best->order_id))
                best = o;
        }
        if (!best)
            break;
        if (n++)
            vs_sbf(&out->result, ",");
        order_json(s, &out->result, best);
        id = best->order_id;
    }
    vs_sbf(&out->result, "]");
}

static void op_cancel_all(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_of(s, r, out, &symbol))
        return;
    for (int i = 0; i < VS_ORDERS; i++) {
        vs_order_t *o = &s->orders[i];
        if (o->used && o->account == r->account && o->symbol == symbol &&
            open_status(o->status)) {
            s->st.cancels++;
            cancel_order(s, o, "CANCELED");
        }
    }
    vs_sbf(&out->result, "{\"code\":200,\"msg\":\"The operation of cancel all open order is done.\"}");
}

/* would a conditional order fire at once at this mark? */
static int immediate(const vs_algo_t *g, int64_t mark)
{
    if (mark <= 0)
        return 0;
    switch (g->type) {
    case VS_STOP_MARKET:
        return g->side == NX_SIDE_SELL ? mark <= g->trigger : mark >= g->trigger;
    case VS_TAKE_PROFIT_MARKET:
        return g->side == NX_SIDE_SELL ? mark >= g->trigger : mark <= g->trigger;
    default: /* trailing: SELL arms above the market, BUY below */
        return g->activate && (g->side == NX_SIDE_SELL ? g->activate <= mark : g->activate >= mark);
    }
}

static void op_algo_place(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    const vs_param_t *at, *t, *p;
    uint32_t symbol;
    uint8_t side;
    if (!need(r, "algoType", out, &at))
        return;
    if (!is(at, "CONDITIONAL")) {
        vs_fail(out, 400, -1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or "
                                 "malformed.");
        return;
    }
    if (!symbol_of(s, r, out, &symbol) || !side_of(r, out, &side) || !need(r, "type", out, &t))
        return;
    const nx_symbol_t *y = sym(s, symbol);
    vs_algo_t g;
    memset(&g, 0, sizeof g);
    g.account = r->account;
    g.symbol = symbol;
    g.side = side;
    if (is(t, "STOP_MARKET"))
        g.type = VS_STOP_MARKET;
    else if (is(t, "TAKE_PROFIT_MARKET"))
        g.type = VS_TAKE_PROFIT_MARKET;
    else if (is(t, "TRAILING_STOP_MARKET"))
        g.type = VS_TRAILING;
    else {
        vs_fail(out, 400, -1116, "Invalid orderType.");
        return;
    }
    g.close_position = is(vs_param(r, "closePosition"), "true");
    const vs_param_t *q = vs_param(r, "quantity");
    if (g.close_position && (q || vs_param(r, "reduceOnly"))) {
        vs_fail(out, 400, -1106, "Parameter 'quantity' sent when not required.");
        return;
    }
    if (g.close_position && g.type == VS_TRAILING) {
        vs_fail(out, 400, -1106, "Parameter 'closePosition' sent when not required.");
        return;
    }
    if (!g.close_position &&
        (!need(r, "quantity", out, &q) || !decimal(q, y->qty_scale, &g.qty, out, "quantity")))
        return;
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.side = side;
    in.reduce_only = 1;
    in.qty = g.qty ? g.qty : (s->filters[symbol].min_qty ? s->filters[symbol].min_qty : 1);
    if (g.type == VS_TRAILING) {
        const vs_param_t *cr;
        int64_t cb;
        if (!need(r, "callbackRate", out, &cr) || !decimal(cr, 2, &cb, out, "callbackRate"))
            return;
        if (cb < 10 || cb > 1000) {
            vs_fail(out, 400, -2007, "Invalid callBack rate.");
            return;
        }
        g.callback_bp = (uint32_t)cb;
        const vs_param_t *ap = vs_param(r, "activatePrice");
        if (ap && !decimal(ap, y->price_scale, &g.activate, out, "activatePrice"))
            return;
        in.order_type = NX_ORD_TRAILING_STOP;
        in.price = g.activate;
    } else {
        if (!need(r, "triggerPrice", out, &p) ||
            !decimal(p, y->price_scale, &g.trigger, out, "triggerPrice"))
            return;
        in.order_type = g.type == VS_STOP_MARKET ? NX_ORD_STOP_MARKET : NX_ORD_TAKE_PROFIT_MARKET;
        in.price = g.trigger;
    }
    if (!filters_ok(s, symbol, &in, out) || !open_ok(s, r->account, symbol, 1, out))
        return;
    const vs_param_t *c = vs_param(r, "clientAlgoId");
    if (c && !clid_ok(c)) {
        vs_fail(out, 400, -1100, "Illegal characters found in parameter 'clientAlgoId'; legal "
                                 "range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.");
        return;
    }
    if (c)
        for (int i = 0; i < VS_ALGOS; i++) {
            vs_algo_t *o = &s->algos[i];
            if (o->used && o->account == r->account && o->status == VS_A_NEW &&
                strlen(o->clid) == c->vn && !memcmp(o->clid, c->v, c->vn)) {
                vs_fail(out, 400, -4116, "ClientOrderId is duplicated.");
                return;
            }
        }
    if (immediate(&g, s->mark[symbol])) {
        vs_fail(out, 400, -2021, "Order would immediately trigger.");
        return;
    }
    if (s->f_reject > 0) {
        s->f_reject--;
        vs_fail(out, 400, s->f_reject_code ? s->f_reject_code : -2019, "Margin is insufficient.");
        return;
    }
    /* a free slot, else the one finished longest ago: as on the venue, a
     * cancelled or finished algo order stays queryable for a while (taking
     * the first finished one forgot a stop cancelled a moment before, and
     * its query said "does not exist") */
    vs_algo_t *slot = NULL;
    for (int i = 0; i < VS_ALGOS; i++) {
        vs_algo_t *o = &s->algos[i];
        if (!o->used) {
            slot = o;
            break;
        }
        if (o->status != VS_A_NEW && (!slot || o->update_ms < slot->update_ms))
            slot = o;
    }
    if (!slot) {
        vs_fail(out, 503, -1008, "Server is currently overloaded with other requests.");
        return;
    }
    g.used = 1;
    g.algo_id = ++s->next_algo_id;
    g.status = VS_A_NEW;
    g.time_ms = g.update_ms = vs_now_ms(s);
    if (c)
        memcpy(g.clid, c->v, c->vn);
    else
        snprintf(g.clid, sizeof g.clid, "simalgo%llu", (unsigned long long)g.algo_id);
    *slot = g;
    s->st.algo_orders++;
    out->is_order = 1;
    algo_update(s, slot, NULL);
    algo_json(s, &out->result, slot);
}

static void algo_cancelled(nx_vsim_t *s, vs_algo_t *g, const char *why)
{
    g->status = VS_A_CANCELED;
    g->update_ms = vs_now_ms(s);
    algo_update(s, g, why);
}

static void op_algo_cancel(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    if (!vs_param(r, "algoId") && !vs_param(r, "clientAlgoId")) {
        vs_fail(out, 400, -1102, "Either algoId or clientAlgoId must be sent.");
        return;
    }
    vs_algo_t *g = find_algo(s, r->account, r);
    if (!g || g->status != VS_A_NEW) {
        vs_fail(out, 400, -2011, "Unknown order sent.");
        return;
    }
    s->st.cancels++;
    out->is_order = 1;
    algo_cancelled(s, g, NULL);
    vs_sbf(&out->result, "{\"algoId\":%llu,\"clientAlgoId\":\"%s\",\"code\":\"200\",\"msg\":"
           "\"success\"}",
           (unsigned long long)g->algo_id, g->clid);
}

static void op_algo_status(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    vs_algo_t *g = find_algo(s, r->account, r);
    if (!g) {
        vs_fail(out, 400, -2013, "Order does not exist.");
        return;
    }
    algo_json(s, &out->result, g);
}

static void op_open_algos(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_opt(s, r, out, &symbol))
        return;
    vs_sbf(&out->result, "[");
    int n = 0;
    for (int i = 0; i < VS_ALGOS; i++) {
        vs_algo_t *g = &s->algos[i];
        if (g->used && g->account == r->account && g->status == VS_A_NEW &&
            (symbol == NX_SYMBOL_NONE || g->symbol == symbol)) {
            if (n++)
                vs_sbf(&out->result, ",");
            algo_json(s, &out->result, g);
        }
    }
    vs_sbf(&out->result, "]");
}

static void op_algo_cancel_all(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_of(s, r, out, &symbol))
        return;
    for (int i = 0; i < VS_ALGOS; i++) {
        vs_algo_t *g = &s->algos[i];
        if (g->used && g->account == r->account && g->symbol == symbol && g->status == VS_A_NEW) {
            s->st.cancels++;
            algo_cancelled(s, g, NULL);
        }
    }
    vs_sbf(&out->result, "{\"code\":200,\"msg\":\"The operation of cancel all open order is done.\"}");
}

static void op_position_risk(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_opt(s, r, out, &symbol))
        return;
    vs_account_t *a = &s->acc[r->account];
    vs_sbf(&out->result, "[");
    int n = 0;
    for (uint32_t i = 0; i < s->nsym; i++) {
        vs_pos_t *p = &a->pos[i];
        if ((symbol != NX_SYMBOL_NONE && i != symbol) || (!p->qty && symbol == NX_SYMBOL_NONE))
            continue;
        const nx_symbol_t *y = sym(s, i);
        int64_t aq = p->qty < 0 ? -p->qty : p->qty;
        int64_t ep = avg_px(p->cost, aq);
        __int128 up = p->qty ? ((__int128)s->mark[i] * aq - p->cost) * (p->qty > 0 ? 1 : -1) : 0;
        if (n++)
            vs_sbf(&out->result, ",");
        vs_sbf(&out->result, "{\"symbol\":\"%s\",\"positionSide\":\"BOTH\",\"positionAmt\":",
               y->name);
        vs_sbfx(&out->result, p->qty, y->qty_scale);
        vs_sbf(&out->result, ",\"entryPrice\":");
        vs_sbfx(&out->result, ep, y->price_scale);
        vs_sbf(&out->result, ",\"breakEvenPrice\":");
        vs_sbfx(&out->result, ep, y->price_scale);
        vs_sbf(&out->result, ",\"markPrice\":");
        vs_sbfx(&out->result, s->mark[i], y->price_scale);
        vs_sbf(&out->result, ",\"unRealizedProfit\":");
        vs_sbfx(&out->result, value_money(y, up), NX_VSIM_MONEY_SCALE);
        vs_sbf(&out->result, ",\"notional\":");
        vs_sbfx(&out->result, value_money(y, (__int128)s->mark[i] * p->qty), NX_VSIM_MONEY_SCALE);
        vs_sbf(&out->result,
               ",\"marginAsset\":\"USDT\",\"marginType\":\"%s\",\"leverage\":\"%u\","
               "\"updateTime\":%lld}",
               p->isolated ? "isolated" : "cross", p->leverage, (long long)vs_now_ms(s));
    }
    vs_sbf(&out->result, "]");
}

static void op_balance(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    vs_account_t *a = &s->acc[r->account];
    vs_sbf(&out->result, "[{\"accountAlias\":\"sim\",\"asset\":\"USDT\",\"balance\":");
    vs_sbfx(&out->result, a->wallet, NX_VSIM_MONEY_SCALE);
    vs_sbf(&out->result, ",\"crossWalletBalance\":");
    vs_sbfx(&out->result, a->wallet, NX_VSIM_MONEY_SCALE);
    vs_sbf(&out->result, ",\"availableBalance\":");
    vs_sbfx(&out->result, a->wallet - used_margin(s, a), NX_VSIM_MONEY_SCALE);
    vs_sbf(&out->result, ",\"marginAvailable\":true,\"updateTime\":%lld}]", (long long)vs_now_ms(s));
}

/* GET /fapi/v1/userTrades: symbol, and orderId or fromId */
static void op_user_trades(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    if (!symbol_of(s, r, out, &symbol))
        return;
    const vs_param_t *oid = vs_param(r, "orderId"), *from = vs_param(r, "fromId");
    uint64_t want = oid ? strtoull(oid->v, NULL, 10) : 0, after = from ? strtoull(from->v, NULL, 10) : 0;
    const nx_symbol_t *y = sym(s, symbol);
    vs_sbf(&out->result, "[");
    int n = 0;
    uint64_t first = s->ntrades > VS_TRADES ? s->ntrades - VS_TRADES : 0;
    for (uint64_t i = first; i < s->ntrades; i++) {
        const vs_trade_t *t = &s->trades[i % VS_TRADES];
        if (t->account != r->account || t->symbol != symbol || (oid && t->order_id != want) ||
            (from && t->id < after))
            continue;
        vs_sbf(&out->result, "%s{\"symbol\":\"%s\",\"id\":%llu,\"orderId\":%llu,\"side\":\"%s\","
               "\"price\":",
               n++ ? "," : "", y->name, (unsigned long long)t->id, (unsigned long long)t->order_id,
               side_s(t->side));
        vs_sbfx(&out->result, t->px, y->price_scale);
        vs_sbf(&out->result, ",\"qty\":");
        vs_sbfx(&out->result, t->qty, y->qty_scale);
        vs_sbf(&out->result, ",\"realizedPnl\":");
        vs_sbfx(&out->result, t->rp_money, NX_VSIM_MONEY_SCALE);
        vs_sbf(&out->result, ",\"commission\":");
        vs_sbfx(&out->result, t->fee_money, NX_VSIM_MONEY_SCALE);
        vs_sbf(&out->result, ",\"commissionAsset\":\"USDT\",\"time\":%lld,\"buyer\":%s,"
               "\"maker\":%s,\"positionSide\":\"BOTH\"}",
               (long long)t->time_ms, t->side == NX_SIDE_BUY ? "true" : "false",
               t->maker ? "true" : "false");
    }
    vs_sbf(&out->result, "]");
}

static void op_leverage(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    const vs_param_t *l;
    if (!symbol_of(s, r, out, &symbol) || !need(r, "leverage", out, &l))
        return;
    long v = strtol(l->v, NULL, 10);
    if (v < 1 || v > 125) {
        vs_fail(out, 400, -4028, "Leverage %ld is not valid", v);
        return;
    }
    s->acc[r->account].pos[symbol].leverage = (uint32_t)v;
    vs_sbf(&out->result, "{\"leverage\":%ld,\"maxNotionalValue\":\"1000000\",\"symbol\":\"%s\"}", v,
           sym(s, symbol)->name);
}

/* POST /fapi/v1/marginType: ISOLATED or CROSSED, not while the symbol has
 * a position or open orders (the venue's codes) */
static void op_margin_type(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    uint32_t symbol;
    const vs_param_t *t;
    if (!symbol_of(s, r, out, &symbol) || !need(r, "marginType", out, &t))
        return;
    int iso = is(t, "ISOLATED");
    if (!iso && !is(t, "CROSSED")) {
        vs_fail(out, 400, -1116, "Invalid marginType.");
        return;
    }
    vs_pos_t *p = &s->acc[r->account].pos[symbol];
    if (p->isolated == iso) {
        vs_fail(out, 400, -4046, "No need to change margin type.");
        return;
    }
    if (p->qty) {
        vs_fail(out, 400, -4048, "Margin type cannot be changed if there exists position.");
        return;
    }
    for (int i = 0; i < VS_ORDERS; i++) {
        const vs_order_t *o = &s->orders[i];
        if (o->used && o->account == r->account && o->symbol == symbol && open_status(o->status)) {
            vs_fail(out, 400, -4047, "Margin type cannot be changed if there exists open orders.");
            return;
        }
    }
    p->isolated = (uint8_t)iso;
    vs_sbf(&out->result, "{\"code\":200,\"msg\":\"success\"}");
}

static void op_listen_key(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out, int what)
{
    vs_account_t *a = &s->acc[r->account];
    int64_t now = vs_now_ms(s), ttl = (int64_t)s->o.listen_key_ttl_s * 1000;
    if (what == 0) { /* create, or extend the live one */
        if (!a->listen_expiry_ms) {
            static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
            unsigned seed = (unsigned)(now ^ (r->account * 2654435761u) ^ s->st.requests);
            for (int i = 0; i < 64; i++) {
                seed = seed * 1103515245u + 12345u;
                a->listen_key[i] = al[(seed >> 16) % (sizeof al - 1)];
            }
            a->listen_key[64] = 0;
        }
        a->listen_expiry_ms = now + ttl;
        vs_sbf(&out->result, "{\"listenKey\":\"%s\"}", a->listen_key);
    } else if (what == 1) { /* keep-alive */
        if (!a->listen_expiry_ms) {
            vs_fail(out, 400, -1125, "This listenKey does not exist.");
            return;
        }
        a->listen_expiry_ms = now + ttl;
        vs_sbf(&out->result, "{\"listenKey\":\"%s\"}", a->listen_key);
    } else {
        a->listen_expiry_ms = 0;
        if (s->user_close)
            s->user_close(s, r->account, 0);
        vs_sbf(&out->result, "{}");
    }
}

static const struct {
    const char *op;
    void (*fn)(nx_vsim_t *, vs_req_t *, vs_resp_t *);
    uint32_t weight;
} ops[] = {
    {"order.place", op_order_place, 0},         {"order.cancel", op_order_cancel, 1},
    {"order.modify", op_order_modify, 0},
    {"order.status", op_order_status, 1},       {"openOrders", op_open_orders, 1},
    {"allOpenOrders.cancel", op_cancel_all, 1}, {"algoOrder.place", op_algo_place, 0},
    {"algoOrder.cancel", op_algo_cancel, 1},    {"algoOrder.status", op_algo_status, 1},
    {"openAlgoOrders", op_open_algos, 1},       {"algoOpenOrders.cancel", op_algo_cancel_all, 1},
    {"positionRisk", op_position_risk, 5},      {"balance", op_balance, 5},
    {"leverage", op_leverage, 1},               {"userTrades", op_user_trades, 5},
    {"allOrders", op_all_orders, 5},            {"marginType", op_margin_type, 1},
    {"forceOrders", op_force_orders, 20},
};

uint32_t vs_weight(const char *op, const vs_req_t *r)
{
    if (!strcmp(op, "openOrders") && !vs_param(r, "symbol"))
        return 40;
    if (!strcmp(op, "forceOrders") && !vs_param(r, "symbol"))
        return 50;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(ops[i].op, op))
            return ops[i].weight;
    return 1;
}

void vs_handle(nx_vsim_t *s, vs_req_t *r, vs_resp_t *out)
{
    if (!strcmp(r->op, "listenKey.create"))
        op_listen_key(s, r, out, 0);
    else if (!strcmp(r->op, "listenKey.keepalive"))
        op_listen_key(s, r, out, 1);
    else if (!strcmp(r->op, "listenKey.close"))
        op_listen_key(s, r, out, 2);
    else {
        size_t i;
        for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!strcmp(ops[i].op, r->op)) {
                ops[i].fn(s, r, out);
                break;
            }
        if (i == sizeof ops / sizeof ops[0])
            vs_fail(out, 400, -1, "Unknown method.");
    }
    if (out->code)
        s->st.rejects++;
    flush_held(s);
}

/* ---------- the market ---------- */

/* A conditional order fires: a market order of the triggered type for
 * what it closes. */
static void trigger(nx_vsim_t *s, vs_algo_t *g)
{
    vs_pos_t *p = &s->acc[g->account].pos[g->symbol];
    int64_t aq = p->qty < 0 ? -p->qty : p->qty;
    int closing = p->qty && ((p->qty > 0) != (g->side == NX_SIDE_BUY));
    g->trigger_ms = g->update_ms = vs_now_ms(s);
    if (!closing) { /* nothing to close: a reduce-only order expires */
        g->status = VS_A_EXPIRED;
        algo_update(s, g, "ReduceOnly Order is rejected.");
        return;
    }
    vs_order_t *o = order_new(s);
    if (!o) {
        g->status = VS_A_REJECTED;
        algo_update(s, g, "Server is currently overloaded.");
        return;
    }
    o->account = g->account;
    o->symbol = g->symbol;
    o->side = g->side;
    o->type = VS_MARKET;
    o->orig_type = g->type;
    o->qty = g->close_position || g->qty > aq ? aq : g->qty;
    o->reduce_only = !g->close_position;
    o->close_position = g->close_position;
    o->stop_price = g->trigger;
    o->status = VS_NEW;
    o->time_ms = o->update_ms = g->trigger_ms;
    memcpy(o->clid, g->clid, sizeof o->clid);
    g->order_id = o->order_id;
    g->status = VS_A_TRIGGERED;
    algo_update(s, g, NULL);
    order_trade_update(s, o, "NEW", NULL);
    submit(s, o, 0);
    g->status = VS_A_FINISHED;
    g->update_ms = vs_now_ms(s);
    algo_update(s, g, NULL);
}

static void check_algos(nx_vsim_t *s, uint32_t symbol, int64_t lo, int64_t hi)
{
    for (int i = 0; i < VS_ALGOS; i++) {
        vs_algo_t *g = &s->algos[i];
        if (!g->used || g->symbol != symbol || g->status != VS_A_NEW)
            continue;
        int sell = g->side == NX_SIDE_SELL, fire = 0;
        if (g->type == VS_STOP_MARKET)
            fire = sell ? lo <= g->trigger : hi >= g->trigger;
        else if (g->type == VS_TAKE_PROFIT_MARKET)
            fire = sell ? hi >= g->trigger : lo <= g->trigger;
        else {
            if (!g->armed && (!g->activate || (sell ? hi >= g->activate : lo <= g->activate))) {
                g->armed = 1;
                g->best = sell ? hi : lo;
            }
            if (g->armed) {
                if (sell ? hi > g->best : lo < g->best)
                    g->best = sell ? hi : lo;
                __int128 d = (__int128)g->best * g->callback_bp / 10000;
                g->trigger = sell ? g->best - (int64_t)d : g->best + (int64_t)d;
                fire = sell ? lo <= g->trigger : hi >= g->trigger;
            }
        }
        if (fire)
            trigger(s, g);
    }
}

static void liquidate(nx_vsim_t *s, uint32_t account, uint32_t symbol)
{
    vs_pos_t *p = &s->acc[account].pos[symbol];
    if (!p->qty)
        return;
    for (int i = 0; i < VS_ORDERS; i++) { /* the venue cancels what rests first */
        vs_order_t *o = &s->orders[i];
        if (o->used && o->account == account && o->symbol == symbol && open_status(o->status))
            cancel_order(s, o, "CANCELED");
    }
    for (int i = 0; i < VS_ALGOS; i++) {
        vs_algo_t *g = &s->algos[i];
        if (g->used && g->account == account && g->symbol == symbol && g->status == VS_A_NEW)
            algo_cancelled(s, g, "Position liquidated.");
    }
    vs_order_t *o = order_new(s);
    if (!o)
        return;
    o->account = account;
    o->symbol = symbol;
    o->side = p->qty > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
    o->type = o->orig_type = VS_LIQ;
    o->qty = p->qty < 0 ? -p->qty : p->qty;
    o->reduce_only = 1;
    o->status = VS_NEW;
    o->time_ms = o->update_ms = vs_now_ms(s);
    snprintf(o->clid, sizeof o->clid, "autoclose-%lld", (long long)o->time_ms);
    s->st.liquidations++;
    submit(s, o, 0);
}

static void check_liquidations(nx_vsim_t *s, uint32_t symbol, int64_t lo, int64_t hi)
{
    uint32_t mm = s->o.maint_margin_bp;
    for (int i = 0; i < VS_ACCOUNTS; i++) {
        vs_account_t *a = &s->acc[i];
        if (!a->used || !a->pos[symbol].qty)
            continue;
        vs_pos_t *p = &a->pos[symbol];
        int64_t aq = p->qty < 0 ? -p->qty : p->qty;
        __int128 entry = p->cost / aq, lev = p->leverage ? p->leverage : 1;
        /* long: entry x (1 - 1/lev + mm); short: entry x (1 + 1/lev - mm) */
        __int128 off = entry * 10000 / lev - entry * mm;
        int64_t liq = (int64_t)(p->qty > 0 ? entry - off / 10000 : entry + off / 10000);
        if (p->qty > 0 ? lo <= liq : hi >= liq)
            liquidate(s, (uint32_t)i, symbol);
    }
}

void nx_vsim_on_market(nx_vsim_t *s, const nx_event_t *ev)
{
    uint32_t symbol = ev->hdr.symbol;
    if (symbol >= s->nsym)
        return;
    int64_t lo, hi, mark;
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
        lo = hi = mark = ev->u.trade.price;
        break;
    case NX_EV_KLINE:
        if (!ev->u.kline.closed)
            return;
        lo = ev->u.kline.low;
        hi = ev->u.kline.high;
        mark = ev->u.kline.close;
        break;
    case NX_EV_MARK:
        lo = hi = mark = ev->u.mark.mark_px;
        break;
    case NX_EV_BBO:
        pthread_mutex_lock(&s->mu);
        nx_paper_on_market(s->paper, ev);
        flush_held(s);
        pthread_mutex_unlock(&s->mu);
        return;
    default:
        return;
    }
    if (mark <= 0 || lo <= 0 || hi < lo)
        return;
    pthread_mutex_lock(&s->mu);
    /* a print far from the market (the replay's hostile frames) is not the
     * mark: no stop fires and no position is liquidated on it, as the
     * paper venue fills nothing on it (pxband.h, 25%) */
    if (!nx_pxband_take_range(&s->band[symbol], mark, hi, lo, mark, 2500)) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (ev->hdr.type != NX_EV_MARK)
        nx_paper_on_market(s->paper, ev);
    s->mark[symbol] = mark;
    check_algos(s, symbol, lo, hi);
    check_liquidations(s, symbol, lo, hi);
    flush_held(s);
    pthread_mutex_unlock(&s->mu);
}

/* ---------- faults, keys, life ---------- */

void vs_expire_keys(nx_vsim_t *s, int all)
{
    int64_t now = vs_now_ms(s);
    for (uint32_t i = 0; i < VS_ACCOUNTS; i++) {
        vs_account_t *a = &s->acc[i];
        if (!a->used || !a->listen_expiry_ms || (!all && a->listen_expiry_ms > now))
            continue;
        vs_sb_t b = {0};
        vs_sbf(&b, "{\"e\":\"listenKeyExpired\",\"E\":%lld,\"listenKey\":\"%s\"}", (long long)now,
               a->listen_key);
        flush_held(s);
        out_raw(s, i, b.p, b.n);
        a->listen_expiry_ms = 0;
        s->st.keys_expired++;
        if (s->user_close)
            s->user_close(s, i, 0);
    }
}

/* the mutex held */
static int fault_locked(nx_vsim_t *s, const char *kind, int64_t n, int64_t ms, int code,
                        char *why, size_t cap)
{
    if (n <= 0)
        n = 1;
    int rc = 0;
    if (!strcmp(kind, "reject")) {
        s->f_reject += n;
        s->f_reject_code = code;
    } else if (!strcmp(kind, "unknown"))
        s->f_unknown += n;
    else if (!strcmp(kind, "timeout"))
        s->f_timeout += n;
    else if (!strcmp(kind, "timeout_algo"))
        s->f_timeout_algo += n;
    else if (!strcmp(kind, "slow")) {
        s->f_slow += n;
        s->f_slow_ms = ms > 0 ? ms : 1000;
    } else if (!strcmp(kind, "drop_user")) {
        s->user_down_until_ms = ms > 0 ? vs_now_ms(s) + ms : 0;
        for (uint32_t i = 0; i < VS_ACCOUNTS; i++)
            if (s->acc[i].used && s->user_close)
                s->user_close(s, i, 1);
        s->st.user_drops++;
    } else if (!strcmp(kind, "clear")) {
        s->f_reject = s->f_unknown = s->f_timeout = s->f_timeout_algo = s->f_slow = 0;
        s->f_dup = s->f_reorder = s->f_partial = s->f_429 = 0;
        s->mute_until_ms = s->user_down_until_ms = 0;
        s->nsched = 0;
    } else if (!strcmp(kind, "mute_user")) {
        s->mute_until_ms = vs_now_ms(s) + (ms > 0 ? ms : 1000);
    } else if (!strcmp(kind, "expire_key"))
        vs_expire_keys(s, 1);
    else if (!strcmp(kind, "duplicate"))
        s->f_dup += n;
    else if (!strcmp(kind, "reorder"))
        s->f_reorder += n;
    else if (!strcmp(kind, "cancel_stop")) {
        for (int i = 0; i < VS_ALGOS; i++)
            if (s->algos[i].used && s->algos[i].status == VS_A_NEW) {
                s->st.venue_cancels++;
                algo_cancelled(s, &s->algos[i], "Order cancelled by the system.");
            }
        flush_held(s);
    } else if (!strcmp(kind, "purge")) {
        /* what the venue drops after days: cancelled or expired orders
         * with no fill, and conditional orders cancelled or expired */
        for (int i = 0; i < VS_ORDERS; i++) {
            vs_order_t *o = &s->orders[i];
            if (o->used && (o->status == VS_CANCELED || o->status == VS_EXPIRED) && !o->cum_qty)
                o->used = 0;
        }
        for (int i = 0; i < VS_ALGOS; i++) {
            vs_algo_t *g = &s->algos[i];
            if (g->used && (g->status == VS_A_CANCELED || g->status == VS_A_EXPIRED ||
                            g->status == VS_A_REJECTED))
                g->used = 0;
        }
    } else if (!strcmp(kind, "partial"))
        s->f_partial += n;
    else if (!strcmp(kind, "liquidate")) {
        for (uint32_t i = 0; i < VS_ACCOUNTS; i++)
            for (uint32_t y = 0; s->acc[i].used && y < s->nsym; y++)
                liquidate(s, i, y);
        flush_held(s);
    } else if (!strcmp(kind, "skew"))
        s->skew_ms += ms;
    else if (!strcmp(kind, "http429")) {
        s->f_429 += n;
        s->f_429_ms = ms > 0 ? ms : 1000;
    } else {
        snprintf(why, cap,
                 "unknown fault '%s' (clear, reject, unknown, timeout, timeout_algo, slow, "
                 "drop_user, mute_user, expire_key, "
                 "duplicate, reorder, cancel_stop, purge, partial, liquidate, skew, http429)",
                 kind);
        rc = NX_EINVAL;
    }
    return rc;
}

int nx_vsim_fault(nx_vsim_t *s, const char *kind, int64_t n, int64_t ms, int code, char *why,
                  size_t cap)
{
    if (!kind) {
        snprintf(why, cap, "no fault kind");
        return NX_EINVAL;
    }
    pthread_mutex_lock(&s->mu);
    int rc = fault_locked(s, kind, n, ms, code, why, cap);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int nx_vsim_schedule(nx_vsim_t *s, const char *kind, int64_t every_ms, int64_t n, int64_t ms,
                     int code, char *why, size_t cap)
{
    static const char *const kinds[] = {
        "reject",    "unknown",    "timeout",   "timeout_algo", "slow",        "drop_user",
        "mute_user", "expire_key", "duplicate", "reorder",      "cancel_stop", "purge",
        "partial",   "liquidate",  "skew",      "http429",      NULL};
    int known = 0;
    for (int i = 0; kind && kinds[i]; i++)
        known |= !strcmp(kind, kinds[i]);
    if (!known || every_ms < 10) {
        snprintf(why, cap, "a schedule needs a fault kind (not clear) and every >= 10 ms");
        return NX_EINVAL;
    }
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->nsched >= VS_SCHEDULES) {
        snprintf(why, cap, "at most %d faults on a schedule", VS_SCHEDULES);
        rc = NX_EFULL;
    } else {
        __typeof__(s->sched[0]) *x = &s->sched[s->nsched++];
        snprintf(x->kind, sizeof x->kind, "%s", kind);
        x->every_ms = every_ms;
        x->next_ms = mono_ms() + every_ms;
        x->n = n;
        x->ms = ms;
        x->code = code;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void vs_run_schedule(nx_vsim_t *s)
{
    int64_t now = mono_ms();
    for (int i = 0; i < s->nsched; i++) {
        __typeof__(s->sched[0]) *x = &s->sched[i];
        if (now < x->next_ms)
            continue;
        x->next_ms = now + x->every_ms;
        char why[200];
        s->st.scheduled_faults++;
        fault_locked(s, x->kind, x->n, x->ms, x->code, why, sizeof why);
    }
}

void nx_vsim_opts_default(nx_vsim_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->weight_1m = 2400;
    o->orders_10s = 300;
    o->orders_1m = 1200;
    o->taker_fee_bp = 4;
    o->maker_fee_bp = 2;
    o->maint_margin_bp = 40;
    o->listen_key_ttl_s = 3600;
    o->default_leverage = 20;
}

/* exchangeInfo from the symtab: the filters the engine will load */
static int build_exchange_info(nx_vsim_t *s)
{
    vs_sb_t b = {0};
    vs_sbf(&b, "{\"timezone\":\"UTC\",\"serverTime\":%lld,\"rateLimits\":["
           "{\"rateLimitType\":\"REQUEST_WEIGHT\",\"interval\":\"MINUTE\",\"intervalNum\":1,"
           "\"limit\":%u},{\"rateLimitType\":\"ORDERS\",\"interval\":\"MINUTE\",\"intervalNum\":1,"
           "\"limit\":%u},{\"rateLimitType\":\"ORDERS\",\"interval\":\"SECOND\",\"intervalNum\":10,"
           "\"limit\":%u}],\"symbols\":[",
           (long long)vs_now_ms(s), s->o.weight_1m, s->o.orders_1m, s->o.orders_10s);
    int n = 0;
    for (uint32_t i = 0; i < s->nsym; i++) {
        const nx_symbol_t *y = sym(s, i);
        if (y->venue != NX_VENUE_BINANCE_USDM)
            continue;
        char tick[NX_FIXED_FMT_MAX], lot[NX_FIXED_FMT_MAX], mn[NX_FIXED_FMT_MAX];
        nx_fixed_format(y->tick_size > 0 ? y->tick_size : 1, y->price_scale, tick, sizeof tick);
        nx_fixed_format(y->lot_size > 0 ? y->lot_size : 1, y->qty_scale, lot, sizeof lot);
        nx_fixed_format(y->min_notional, y->price_scale, mn, sizeof mn);
        vs_sbf(&b, "%s{\"symbol\":\"%s\",\"pair\":\"%s\",\"contractType\":\"PERPETUAL\","
               "\"status\":\"TRADING\",\"pricePrecision\":%u,\"quantityPrecision\":%u,"
               "\"filters\":[{\"filterType\":\"PRICE_FILTER\",\"minPrice\":\"%s\",\"maxPrice\":"
               "\"0\",\"tickSize\":\"%s\"},{\"filterType\":\"LOT_SIZE\",\"minQty\":\"%s\","
               "\"maxQty\":\"1000000\",\"stepSize\":\"%s\"},{\"filterType\":\"MARKET_LOT_SIZE\","
               "\"minQty\":\"%s\",\"maxQty\":\"1000000\",\"stepSize\":\"%s\"},"
               "{\"filterType\":\"MAX_NUM_ORDERS\",\"limit\":200},"
               "{\"filterType\":\"MAX_NUM_ALGO_ORDERS\",\"limit\":10},"
               "{\"filterType\":\"MIN_NOTIONAL\",\"notional\":\"%s\"},"
               "{\"filterType\":\"PERCENT_PRICE\",\"multiplierUp\":\"1.0500\","
               "\"multiplierDown\":\"0.9500\",\"multiplierDecimal\":\"4\"}]}",
               n++ ? "," : "", y->name, y->name, y->price_scale, y->qty_scale, tick, tick, lot,
               lot, lot, lot, mn);
    }
    vs_sbf(&b, "]}");
    if (b.oom)
        return NX_ENOMEM;
    s->exchange_info = b.p;
    s->exchange_info_len = b.n;
    char why[256];
    int rc = nx_bn_filters_load(b.p, b.n, s->symtab, s->filters, s->nsym, why, sizeof why);
    if (rc && !s->o.quiet)
        fprintf(stderr, "venuesim: %s\n", why);
    return rc;
}

int nx_vsim_create(nx_vsim_t **out, const nx_vsim_opts_t *o)
{
    *out = NULL;
    if (!o || !o->symtab || !nx_symtab_count(o->symtab))
        return NX_EINVAL;
    nx_vsim_t *s = calloc(1, sizeof *s);
    if (!s)
        return NX_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    s->o = *o;
    nx_vsim_opts_t d;
    nx_vsim_opts_default(&d);
#define DEF(f)                                                                                    \
    if (!s->o.f)                                                                                  \
    s->o.f = d.f
    DEF(weight_1m);
    DEF(orders_10s);
    DEF(orders_1m);
    DEF(maint_margin_bp);
    DEF(listen_key_ttl_s);
    DEF(default_leverage);
#undef DEF
    s->symtab = o->symtab;
    s->nsym = nx_symtab_count(o->symtab);
    s->next_order_id = 8000000000ULL; /* ids above 2^32, as Binance's are */
    s->next_algo_id = 3000000000000ULL;
    s->next_trade_id = 5000000000ULL;
    int rc = NX_ENOMEM;
    s->filters = calloc(s->nsym, sizeof *s->filters);
    s->mark = calloc(s->nsym, sizeof *s->mark);
    s->band = calloc(s->nsym, sizeof *s->band);
    if (!s->filters || !s->mark || !s->band)
        goto fail;
    if ((rc = build_exchange_info(s)))
        goto fail;
    nx_paper_opts_t po;
    memset(&po, 0, sizeof po);
    po.slippage_bp = s->o.slippage_bp;
    po.taker_fee_bp = s->o.taker_fee_bp;
    po.maker_fee_bp = s->o.maker_fee_bp;
    po.on_update = paper_update;
    po.ctx = s;
    po.max_open_orders = 1000;
    po.sanity_bp = 2500;
    rc = NX_ENOMEM;
    if (!(s->paper = nx_paper_create(&po, s->symtab)))
        goto fail;
    if ((rc = vs_server_create(s)))
        goto fail;
    *out = s;
    return 0;
fail:
    nx_vsim_destroy(s);
    return rc;
}

int nx_vsim_add_account(nx_vsim_t *s, const char *api_key, const char *secret, int64_t wallet)
{
    if (!s || !api_key || !*api_key || strlen(api_key) >= VS_KEY_MAX || !secret || !*secret)
        return NX_EINVAL;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (vs_account_find(s, api_key, strlen(api_key)) >= 0) {
        rc = NX_EEXIST;
        goto out;
    }
    int i = 0;
    while (i < VS_ACCOUNTS && s->acc[i].used)
        i++;
    if (i == VS_ACCOUNTS) {
        rc = NX_EFULL;
        goto out;
    }
    vs_account_t *a = &s->acc[i];
    memset(a, 0, sizeof *a);
    a->pos = calloc(s->nsym, sizeof *a->pos);
    if (!a->pos || (rc = nx_hmac_key_create(&a->key, secret, strlen(secret)))) {
        free(a->pos);
        a->pos = NULL;
        rc = rc ? rc : NX_ENOMEM;
        goto out;
    }
    for (uint32_t y = 0; y < s->nsym; y++)
        a->pos[y].leverage = s->o.default_leverage;
    snprintf(a->api_key, sizeof a->api_key, "%s", api_key);
    a->wallet = wallet;
    a->used = 1;
out:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void nx_vsim_stats(nx_vsim_t *s, nx_vsim_stats_t *st)
{
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    pthread_mutex_unlock(&s->mu);
}

int nx_vsim_position(nx_vsim_t *s, const char *api_key, uint32_t symbol, nx_vsim_position_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&s->mu);
    int i = vs_account_find(s, api_key, strlen(api_key));
    int rc = i < 0 || symbol >= s->nsym ? NX_ENOENT : 0;
    if (!rc) {
        vs_pos_t *p = &s->acc[i].pos[symbol];
        int64_t aq = p->qty < 0 ? -p->qty : p->qty;
        out->qty = p->qty;
        out->entry_px = avg_px(p->cost, aq);
        out->realized = p->realized;
        out->fees = p->fees;
        out->leverage = p->leverage;
        out->isolated = p->isolated;
        count_open(s, (uint32_t)i, symbol, &out->open_orders, &out->open_algos);
        uint8_t closing = p->qty > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
        for (int k = 0; p->qty && k < VS_ALGOS; k++) {
            const vs_algo_t *g = &s->algos[k];
            if (g->used && g->account == (uint32_t)i && g->symbol == symbol &&
                g->status == VS_A_NEW && g->side == closing && g->type != VS_TAKE_PROFIT_MARKET)
                out->stop_qty += g->close_position ? aq : g->qty;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* an order that counts: resting, or filled in part or whole */
static int order_counts(const vs_order_t *o)
{
    return o->used && (open_status(o->status) || o->cum_qty > 0);
}

static int algo_counts(const vs_algo_t *g)
{
    return g->used && (g->status == VS_A_NEW || g->status == VS_A_TRIGGERED ||
                       g->status == VS_A_FINISHED);
}

uint32_t nx_vsim_duplicates(nx_vsim_t *s)
{
    uint32_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < VS_ORDERS; i++)
        for (int k = i + 1; order_counts(&s->orders[i]) && k < VS_ORDERS; k++)
            n += order_counts(&s->orders[k]) && s->orders[k].account == s->orders[i].account &&
                 !strcmp(s->orders[k].clid, s->orders[i].clid);
    for (int i = 0; i < VS_ALGOS; i++)
        for (int k = i + 1; algo_counts(&s->algos[i]) && k < VS_ALGOS; k++)
            n += algo_counts(&s->algos[k]) && s->algos[k].account == s->algos[i].account &&
                 !strcmp(s->algos[k].clid, s->algos[i].clid);
    pthread_mutex_unlock(&s->mu);
    return n;
}

int nx_vsim_wallet(nx_vsim_t *s, const char *api_key, int64_t *wallet)
{
    pthread_mutex_lock(&s->mu);
    int i = vs_account_find(s, api_key, strlen(api_key));
    if (i >= 0)
        *wallet = s->acc[i].wallet;
    pthread_mutex_unlock(&s->mu);
    return i < 0 ? NX_ENOENT : 0;
}

void nx_vsim_destroy(nx_vsim_t *s)
{
    if (!s)
        return;
    vs_server_destroy(s);
    if (s->paper)
        nx_paper_destroy(s->paper);
    for (int i = 0; i < VS_ACCOUNTS; i++) {
        nx_hmac_key_free(s->acc[i].key);
        free(s->acc[i].pos);
    }
    free(s->held);
    free(s->exchange_info);
    free(s->filters);
    free(s->mark);
    free(s->band);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
