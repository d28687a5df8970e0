/*
 * paper.c — the paper venue (see paper.h for the fill rules).
 *
 * Resting orders live in one fixed array scanned on each market event of
 * their symbol: a few to a few hundred resting stops and targets for a
 * handful of users, so a linear scan (~1 ns per order) beats any index. The
 * scan stops at the high-water mark of live slots, so an idle venue costs
 * nothing per trade.
 * Everything is integers: prices in price units, quantities in qty units,
 * fees in quote units (price units of the symbol's price scale).
 */
#include "nx/paper.h"
#include "nx/clock.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/pxband.h"

#include <stdlib.h>
#include <string.h>

typedef struct paper_order {
    uint64_t clid, venue_id;
    uint32_t session, symbol;
    int64_t price, qty; /* limit or trigger price; qty units */
    uint8_t side, type, reduce_only, live;
    int64_t due_ns; /* with a latency: when it reaches the venue (0: it has) */
} paper_order_t;

typedef struct paper_px {
    int64_t bid, ask, last;
    nx_pxband_t band;
} paper_px_t;

typedef struct paper {
    nx_bridge_t base; /* first: the bridge handle */
    nx_paper_opts_t o;
    const nx_symtab_t *symtab;
    paper_px_t *px; /* per symbol */
    uint32_t nsym;
    paper_order_t orders[NX_PAPER_MAX_ORDERS];
    uint32_t hw; /* slots at or above hw are all free */
    uint64_t next_venue_id, next_fill_id;
    uint64_t refused; /* insane prices */
    int64_t now_ns;   /* the latest market event's exchange time */
} paper_t;

static const nx_symbol_t *sym_of(const paper_t *p, uint32_t symbol)
{
    return symbol < p->nsym ? nx_symtab_get(p->symtab, symbol) : NULL;
}

/* An order leaves the book (filled or cancelled). */
static void retire(paper_t *p, paper_order_t *o)
{
    o->live = 0;
    while (p->hw && !p->orders[p->hw - 1].live)
        p->hw--;
}

/* price made worse for the trader by bp, on the tick grid away from them */
static int64_t slip(const nx_symbol_t *s, int64_t px, int buy, uint32_t bp)
{
    __int128 d = (__int128)px * bp;
    int64_t adj = (int64_t)(d / 10000) + (d % 10000 != 0);
    int64_t x = buy ? px + adj : px - adj;
    int64_t t = s->tick_size > 0 ? s->tick_size : 1;
    int64_t r = x % t;
    if (r)
        x = buy ? x - r + t : x - r;
    return x;
}

static int64_t fee_of(const nx_symbol_t *s, int64_t px, int64_t qty, uint32_t bp)
{
    __int128 num = (__int128)px * qty * bp;
    __int128 den = (__int128)nx_pow10[s->qty_scale] * 10000;
    return (int64_t)(num / den + (num % den != 0));
}

static void emit(paper_t *p, const paper_order_t *o, uint8_t status, int64_t px, int64_t qty,
                 int64_t fee, int maker, uint8_t reason)
{
    nx_ev_order_update_t u;
    memset(&u, 0, sizeof u);
    u.client_id = o->clid;
    u.venue_id = o->venue_id;
    u.session = o->session;
    u.status = status;
    u.side = o->side;
    u.reason = reason;
    if (qty) {
        u.fill_id = ++p->next_fill_id;
        u.last_px = px;
        u.last_qty = qty;
        u.cum_qty = qty; /* paper fills whole orders */
        u.fee = fee;
        u.maker = (uint8_t)maker;
    }
    if (p->o.on_update)
        p->o.on_update(p->o.ctx, o->symbol, &u);
}

static void fill(paper_t *p, paper_order_t *o, int64_t px, int maker)
{
    const nx_symbol_t *s = sym_of(p, o->symbol);
    retire(p, o);
    emit(p, o, NX_OS_FILLED, px, o->qty,
         fee_of(s, px, o->qty, maker ? p->o.maker_fee_bp : p->o.taker_fee_bp), maker, 0);
}

static int64_t market_px(const paper_t *p, uint32_t symbol, int buy)
{
    const paper_px_t *x = &p->px[symbol];
    int64_t q = buy ? x->ask : x->bid;
    return q > 0 ? q : x->last;
}

static int paper_place(nx_bridge_t *b, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    paper_t *p = (paper_t *)b;
    const nx_symbol_t *s = sym_of(p, symbol);
    if (!s || in->qty <= 0 || (in->side != NX_SIDE_BUY && in->side != NX_SIDE_SELL))
        return NX_EINVAL;
    paper_order_t tmp = {
        in->client_id, ++p->next_venue_id, in->session,    symbol,          in->price,
        in->qty,       in->side,           in->order_type, in->reduce_only, 1};
    for (uint32_t i = 0; i < p->hw; i++)
        if (p->orders[i].live && p->orders[i].clid == in->client_id)
            return NX_EEXIST; /* a retry of a live order: idempotent */
    int buy = in->side == NX_SIDE_BUY;
    if (p->o.latency_ms && in->order_type == NX_ORD_MARKET)
        tmp.due_ns = p->now_ns + (int64_t)p->o.latency_ms * NX_NS_PER_MS;
    if (in->order_type == NX_ORD_MARKET && !tmp.due_ns) {
        int64_t px = market_px(p, symbol, buy);
        if (px <= 0) {
            emit(p, &tmp, NX_OS_REJECTED, 0, 0, 0, 0, NX_OREJ_NO_PRICE);
            return 0;
        }
        emit(p, &tmp, NX_OS_ACKED, 0, 0, 0, 0, 0);
        fill(p, &tmp, slip(s, px, buy, p->o.slippage_bp), 0);
        return 0;
    }
    if (in->order_type != NX_ORD_LIMIT && in->order_type != NX_ORD_STOP_MARKET &&
        in->order_type != NX_ORD_TAKE_PROFIT_MARKET && !tmp.due_ns)
        return NX_EINVAL;
    if (in->price <= 0 && in->order_type != NX_ORD_MARKET)
        return NX_EINVAL;
    if (p->o.latency_ms) /* on its way to the venue until then */
        tmp.due_ns = p->now_ns + (int64_t)p->o.latency_ms * NX_NS_PER_MS;
    uint32_t open = 0;
    for (uint32_t i = 0; i < p->hw; i++)
        open += p->orders[i].live && p->orders[i].session == in->session &&
                p->orders[i].symbol == symbol;
    if (open >= p->o.max_open_orders) {
        emit(p, &tmp, NX_OS_REJECTED, 0, 0, 0, 0, NX_OREJ_MAX_OPEN);
        return 0;
    }
    for (uint32_t i = 0; i < NX_PAPER_MAX_ORDERS; i++) {
        if (!p->orders[i].live) {
            p->orders[i] = tmp;
            if (i >= p->hw)
                p->hw = i + 1;
            emit(p, &tmp, NX_OS_ACKED, 0, 0, 0, 0, 0);
            return 0;
        }
    }
    emit(p, &tmp, NX_OS_REJECTED, 0, 0, 0, 0, NX_OREJ_BOOK_FULL);
    return NX_EFULL;
}

static int paper_cancel(nx_bridge_t *b, uint64_t clid, uint32_t symbol)
{
    paper_t *p = (paper_t *)b;
    for (uint32_t i = 0; i < p->hw; i++) {
        paper_order_t *o = &p->orders[i];
        if (o->live && o->clid == clid && o->symbol == symbol) {
            retire(p, o);
            emit(p, o, NX_OS_CANCELLED, 0, 0, 0, 0, 0);
            return 0;
        }
    }
    return NX_ENOENT;
}

static int paper_cancel_all(nx_bridge_t *b, uint32_t session, uint32_t symbol)
{
    paper_t *p = (paper_t *)b;
    for (uint32_t i = 0; i < p->hw; i++) {
        paper_order_t *o = &p->orders[i];
        if (o->live && o->session == session && (symbol == NX_SYMBOL_NONE || o->symbol == symbol)) {
            retire(p, o);
            emit(p, o, NX_OS_CANCELLED, 0, 0, 0, 0, 0);
        }
    }
    return 0;
}

static int paper_amend(nx_bridge_t *b, uint64_t clid, int64_t price, int64_t qty)
{
    paper_t *p = (paper_t *)b;
    for (uint32_t i = 0; i < p->hw; i++) {
        paper_order_t *o = &p->orders[i];
        if (o->live && o->clid == clid) {
            if (price > 0)
                o->price = price;
            if (qty > 0)
                o->qty = qty;
            emit(p, o, NX_OS_ACKED, 0, 0, 0, 0, 0);
            return 0;
        }
    }
    return NX_ENOENT;
}

/* The paper venue holds stops natively: the order manager places them as
 * STOP_MARKET / TAKE_PROFIT_MARKET orders, so there is nothing separate. */
static int paper_set_protective(nx_bridge_t *b, uint32_t session, uint32_t symbol, int64_t sl,
                                int64_t tp)
{
    (void)b, (void)session, (void)symbol, (void)sl, (void)tp;
    return NX_ESTATE;
}

static int paper_query(nx_bridge_t *b, uint32_t session)
{
    return (int)nx_paper_open_orders(b, session);
}

static const nx_bridge_ops_t paper_ops = {
    "paper",     paper_place,          paper_cancel, paper_cancel_all,
    paper_amend, paper_set_protective, paper_query,
};

uint64_t nx_paper_refused(const nx_bridge_t *b)
{
    return ((const paper_t *)b)->refused;
}

uint32_t nx_paper_open_orders(const nx_bridge_t *b, uint32_t session)
{
    const paper_t *p = (const paper_t *)b;
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->hw; i++)
        n += p->orders[i].live && p->orders[i].session == session;
    return n;
}

int nx_paper_restore_order(nx_bridge_t *b, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    paper_t *p = (paper_t *)b;
    if (!sym_of(p, symbol) || in->qty <= 0 || in->price <= 0 ||
        (in->side != NX_SIDE_BUY && in->side != NX_SIDE_SELL) ||
        (in->order_type != NX_ORD_LIMIT && in->order_type != NX_ORD_STOP_MARKET &&
         in->order_type != NX_ORD_TAKE_PROFIT_MARKET))
        return NX_EINVAL;
    for (uint32_t i = 0; i < p->hw; i++)
        if (p->orders[i].live && p->orders[i].clid == in->client_id)
            return NX_EEXIST;
    for (uint32_t i = 0; i < NX_PAPER_MAX_ORDERS; i++) {
        if (!p->orders[i].live) {
            p->orders[i] = (paper_order_t){in->client_id, ++p->next_venue_id, in->session,
                                           symbol,        in->price,          in->qty,
                                           in->side,      in->order_type,     in->reduce_only,
                                           1};
            if (i >= p->hw)
                p->hw = i + 1;
            return 0;
        }
    }
    return NX_EFULL;
}

void nx_paper_resume_ids(nx_bridge_t *b, uint64_t last_venue_id, uint64_t last_fill_id)
{
    paper_t *p = (paper_t *)b;
    if (last_venue_id > p->next_venue_id)
        p->next_venue_id = last_venue_id;
    if (last_fill_id > p->next_fill_id)
        p->next_fill_id = last_fill_id;
}

int nx_paper_order(const nx_bridge_t *b, uint64_t clid, uint32_t *symbol, int64_t *price,
                   int64_t *qty)
{
    const paper_t *p = (const paper_t *)b;
    for (uint32_t i = 0; i < p->hw; i++) {
        const paper_order_t *o = &p->orders[i];
        if (o->live && o->clid == clid) {
            *symbol = o->symbol;
            *price = o->price;
            *qty = o->qty;
            return 0;
        }
    }
    return NX_ENOENT;
}

/* A price path reached [lo, hi] after opening at `open`: fill what it touched. */
static void sweep(paper_t *p, uint32_t symbol, int64_t open, int64_t lo, int64_t hi)
{
    const nx_symbol_t *s = sym_of(p, symbol);
    /* stops first (a candle that reaches a stop and a target fills the stop) */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < p->hw; i++) {
            paper_order_t *o = &p->orders[i];
            if (!o->live || o->symbol != symbol || o->due_ns > p->now_ns)
                continue;
            int buy = o->side == NX_SIDE_BUY;
            if (pass == 0 && o->type == NX_ORD_MARKET) { /* arrived: the price now */
                fill(p, o, slip(s, open, buy, p->o.slippage_bp), 0);
            } else if (pass == 0 && o->type == NX_ORD_STOP_MARKET) {
                /* sell stop below the market triggers when price falls to it */
                if (!buy && lo <= o->price)
                    fill(p, o, slip(s, open < o->price ? open : o->price, 0, p->o.slippage_bp), 0);
                else if (buy && hi >= o->price)
                    fill(p, o, slip(s, open > o->price ? open : o->price, 1, p->o.slippage_bp), 0);
            } else if (pass == 1 && o->type == NX_ORD_TAKE_PROFIT_MARKET) {
                if (!buy && hi >= o->price)
                    fill(p, o, slip(s, open > o->price ? open : o->price, 0, p->o.slippage_bp), 0);
                else if (buy && lo <= o->price)
                    fill(p, o, slip(s, open < o->price ? open : o->price, 1, p->o.slippage_bp), 0);
            } else if (pass == 1 && o->type == NX_ORD_LIMIT) {
                /* only when the market trades through the limit */
                if (buy && lo < o->price)
                    fill(p, o, open < o->price ? open : o->price, open >= o->price);
                else if (!buy && hi > o->price)
                    fill(p, o, open > o->price ? open : o->price, open <= o->price);
            }
        }
    }
}

void nx_paper_on_market(nx_bridge_t *b, const nx_event_t *ev)
{
    paper_t *p = (paper_t *)b;
    uint32_t sym = ev->hdr.symbol;
    if (sym >= p->nsym)
        return;
    paper_px_t *x = &p->px[sym];
    uint32_t bp = p->o.sanity_bp;
    if (ev->hdr.exch_ns > p->now_ns)
        p->now_ns = ev->hdr.exch_ns;
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
        if (!nx_pxband_take(&x->band, ev->u.trade.price, bp)) {
            p->refused++;
            break;
        }
        x->last = ev->u.trade.price;
        sweep(p, sym, x->last, x->last, x->last);
        break;
    case NX_EV_BBO:
        if (ev->u.bbo.bid_px <= 0 || ev->u.bbo.ask_px <= 0 ||
            !nx_pxband_take(&x->band, ev->u.bbo.bid_px / 2 + ev->u.bbo.ask_px / 2, bp) ||
            !nx_px_within(ev->u.bbo.bid_px, x->band.ref, bp) ||
            !nx_px_within(ev->u.bbo.ask_px, x->band.ref, bp)) {
            p->refused++;
            break;
        }
        x->bid = ev->u.bbo.bid_px;
        x->ask = ev->u.bbo.ask_px;
        break;
    case NX_EV_KLINE:
        if (!ev->u.kline.closed)
            break;
        if (!nx_pxband_take_range(&x->band, ev->u.kline.open, ev->u.kline.high, ev->u.kline.low,
                                  ev->u.kline.close, bp)) {
            p->refused++;
            break;
        }
        sweep(p, sym, ev->u.kline.open, ev->u.kline.low, ev->u.kline.high);
        x->last = ev->u.kline.close;
        x->bid = x->ask = 0; /* a candle's close is the price now */
        break;
    default:
        break;
    }
}

nx_bridge_t *nx_paper_create(const nx_paper_opts_t *o, const nx_symtab_t *symtab)
{
    if (!o || !symtab || o->slippage_bp > 1000 || o->taker_fee_bp > 1000 || o->maker_fee_bp > 1000 ||
        o->max_open_orders > NX_PAPER_MAX_ORDERS)
        return NULL;
    paper_t *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->base.ops = &paper_ops;
    p->o = *o;
    if (!p->o.max_open_orders)
        p->o.max_open_orders = 200;
    if (!p->o.sanity_bp)
        p->o.sanity_bp = 2500;
    p->symtab = symtab;
    p->nsym = nx_symtab_count(symtab);
    p->px = calloc(p->nsym ? p->nsym : 1, sizeof *p->px);
    if (!p->px) {
        free(p);
        return NULL;
    }
    return &p->base;
}

void nx_paper_destroy(nx_bridge_t *b)
{
    paper_t *p = (paper_t *)b;
    if (!p)
        return;
    free(p->px);
    free(p);
}
