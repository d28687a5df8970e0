/*
 * event_json.c — events as JSON (see event_json.h).
 */
#include "nx/event_json.h"
#include "nx/fixed.h"
#include "nx/venue.h"

#include <stdarg.h>
#include <stdio.h>

typedef struct out {
    char *buf;
    size_t cap, n;
    int overflow;
} out_t;

NX_PRINTF(2, 3) static void put(out_t *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= o->cap - o->n)
        o->overflow = 1;
    else
        o->n += (size_t)r;
}

static void dec(out_t *o, const char *key, int64_t v, unsigned scale)
{
    char b[NX_FIXED_FMT_MAX];
    nx_fixed_format(v, scale, b, sizeof b);
    put(o, ",\"%s\":\"%s\"", key, b);
}

static const char *side_name(uint8_t s)
{
    return s == NX_SIDE_BUY ? "buy" : s == NX_SIDE_SELL ? "sell" : "none";
}

static const char *status_name(uint8_t c)
{
    static const char *const n[] = {"?",        "connected",     "disconnected", "stale",
                                    "book_gap", "book_resynced", "overrun"};
    return c < sizeof n / sizeof n[0] ? n[c] : "?";
}

size_t nx_event_json(const nx_event_t *e, const nx_symtab_t *t, char *buf, size_t cap)
{
    out_t o = {buf, cap, 0, 0};
    const nx_symbol_t *s = e->hdr.symbol != NX_SYMBOL_NONE ? nx_symtab_get(t, e->hdr.symbol) : NULL;
    unsigned ps = s ? s->price_scale : 8, qs = s ? s->qty_scale : 8;
    put(&o, "{\"type\":\"%s\",\"venue\":\"%s\"", nx_event_type_name((nx_event_type_t)e->hdr.type),
        nx_venue_name((nx_venue_t)e->hdr.venue));
    if (s)
        put(&o, ",\"symbol\":\"%s\"", s->name);
    put(&o, ",\"seq\":%llu,\"exch_ns\":%lld", (unsigned long long)e->hdr.seq,
        (long long)e->hdr.exch_ns);
    if (e->hdr.recv_ns)
        put(&o, ",\"recv_ns\":%lld", (long long)e->hdr.recv_ns);
    if (e->hdr.flags & NX_EVF_STALE)
        put(&o, ",\"stale\":true");
    if (e->hdr.flags & NX_EVF_GAP)
        put(&o, ",\"gap\":true");
    switch (e->hdr.type) {
    case NX_EV_TRADE:
        dec(&o, "price", e->u.trade.price, ps);
        dec(&o, "qty", e->u.trade.qty, qs);
        put(&o, ",\"trade_id\":%llu,\"aggressor\":\"%s\"", (unsigned long long)e->u.trade.trade_id,
            side_name(e->u.trade.aggressor));
        break;
    case NX_EV_BBO:
        dec(&o, "bid", e->u.bbo.bid_px, ps);
        dec(&o, "bid_qty", e->u.bbo.bid_qty, qs);
        dec(&o, "ask", e->u.bbo.ask_px, ps);
        dec(&o, "ask_qty", e->u.bbo.ask_qty, qs);
        put(&o, ",\"update_id\":%llu", (unsigned long long)e->u.bbo.update_id);
        break;
    case NX_EV_KLINE:
        put(&o, ",\"open_ms\":%lld,\"interval_s\":%u", (long long)e->u.kline.open_ms,
            e->u.kline.interval_s);
        dec(&o, "open", e->u.kline.open, ps);
        dec(&o, "high", e->u.kline.high, ps);
        dec(&o, "low", e->u.kline.low, ps);
        dec(&o, "close", e->u.kline.close, ps);
        dec(&o, "volume", e->u.kline.volume, qs);
        dec(&o, "quote_volume", e->u.kline.quote_volume, ps);
        put(&o, ",\"trades\":%u,\"closed\":%s", e->u.kline.trades,
            e->u.kline.closed ? "true" : "false");
        break;
    case NX_EV_BOOK:
        put(&o, ",\"side\":\"%s\"",
            e->u.book.side == NX_SIDE_BUY    ? "bid"
            : e->u.book.side == NX_SIDE_SELL ? "ask"
                                             : "none");
        if (e->u.book.side != NX_SIDE_NONE) {
            dec(&o, "price", e->u.book.price, ps);
            dec(&o, "qty", e->u.book.qty, qs);
        }
        put(&o, ",\"first_id\":%llu,\"last_id\":%llu,\"prev_id\":%llu,\"venue_seq\":%llu",
            (unsigned long long)e->u.book.first_id, (unsigned long long)e->u.book.last_id,
            (unsigned long long)e->u.book.prev_id, (unsigned long long)e->u.book.venue_seq);
        if (e->hdr.flags & NX_EVF_SNAPSHOT)
            put(&o, ",\"snapshot\":true");
        break;
    case NX_EV_MARK:
        dec(&o, "mark", e->u.mark.mark_px, ps);
        dec(&o, "index", e->u.mark.index_px, ps);
        dec(&o, "funding_rate", e->u.mark.funding_rate_e8, 8);
        put(&o, ",\"next_funding_ms\":%lld", (long long)e->u.mark.next_funding_ms);
        break;
    case NX_EV_STATUS:
        put(&o, ",\"status\":\"%s\",\"count\":%llu,\"detail\":\"%s\"",
            status_name(e->u.status.code), (unsigned long long)e->u.status.count,
            e->u.status.detail);
        break;
    case NX_EV_CONTROL: {
        static const char *const cmds[] = {"?",      "pause", "resume",  "mode",    "reload",
                                           "kill",   "shutdown", "panic", "reset", "unlock",
                                           "approve", "reject", "exit", "enter", "set",
                                           "query"};
        const nx_ev_control_t *c = &e->u.control;
        put(&o, ",\"cmd\":\"%s\",\"session\":%u,\"arg\":%lld",
            c->cmd < sizeof cmds / sizeof cmds[0] ? cmds[c->cmd] : "?", c->session,
            (long long)c->arg);
        break;
    }
    case NX_EV_NOTICE: {
        static const char *const kinds[] = {
            "?",          "closed",          "breaker",          "lock",          "bad_tick",
            "venue_position", "position_mismatch", "venue_balance", "balance_short", "venue",
            "position_adopted", "funding"};
        const nx_ev_notice_t *n = &e->u.notice;
        put(&o, ",\"kind\":\"%s\",\"session\":%u,\"reason\":%u,\"dir\":%d",
            n->kind < sizeof kinds / sizeof kinds[0] ? kinds[n->kind] : "?", n->session,
            n->reason, n->dir);
        if (n->kind == NX_NOTE_CLOSED) {
            dec(&o, "qty", n->qty, qs);
            dec(&o, "entry", n->entry_px, ps);
            dec(&o, "exit", n->exit_px, ps);
            dec(&o, "pnl", n->pnl, ps);
        } else if (n->kind == NX_NOTE_BADTICK) {
            dec(&o, "price", n->exit_px, ps);
            dec(&o, "median", n->entry_px, ps);
            put(&o, ",\"count\":%lld", (long long)n->qty);
        } else if (n->kind == NX_NOTE_VENUE_POSITION || n->kind == NX_NOTE_POSITION_MISMATCH) {
            dec(&o, "venue_qty", n->qty, qs);
            if (n->kind == NX_NOTE_POSITION_MISMATCH)
                dec(&o, "engine_qty", n->entry_px, qs);
        } else if (n->kind == NX_NOTE_BALANCE_SHORT) {
            dec(&o, "venue_wallet", n->qty, ps);
            dec(&o, "engine_balance", n->entry_px, ps);
        } else if (n->kind == NX_NOTE_VENUE_BALANCE) {
            dec(&o, "venue_wallet", n->qty, 8);
        } else if (n->kind == NX_NOTE_VENUE) {
            put(&o, ",\"value\":%lld", (long long)n->qty);
        } else if (n->kind == NX_NOTE_FUNDING) {
            dec(&o, "qty", n->qty, qs);
            dec(&o, "mark", n->entry_px, ps);
            dec(&o, "rate", n->exit_px, 8);
            dec(&o, "received", n->pnl, ps);
        } else if (n->kind == NX_NOTE_POSITION_ADOPTED) {
            dec(&o, "venue_qty", n->qty, qs);
            dec(&o, "entry", n->entry_px, ps);
            dec(&o, "stop", n->exit_px, ps);
        }
        break;
    }
    case NX_EV_TIMER:
        put(&o, ",\"tick\":%llu", (unsigned long long)e->u.timer.tick);
        break;
    case NX_EV_STATE:
        put(&o, ",\"session\":%u,\"part\":%u,\"parts\":%u,\"len\":%u", e->u.state.session,
            e->u.state.part, e->u.state.parts, e->u.state.len);
        break;
    case NX_EV_DECISION: {
        static const char *const verdicts[] = {"reject", "approve", "resize", "notify", "ask"};
        const nx_ev_decision_t *d = &e->u.decision;
        put(&o, ",\"session\":%u,\"strategy\":%u,\"verdict\":\"%s\",\"reason\":%u", d->session,
            d->strategy, d->verdict < 5 ? verdicts[d->verdict] : "?", d->reason);
        if (d->request)
            put(&o, ",\"request\":%u", d->request);
        if (d->expires_ns)
            put(&o, ",\"expires_ns\":%lld", (long long)d->expires_ns);
        if (d->qty) {
            put(&o, ",\"side\":\"%s\"", side_name(d->side));
            dec(&o, "qty", d->qty, qs);
            dec(&o, "price", d->price, ps);
            if (d->stop_loss)
                dec(&o, "stop_loss", d->stop_loss, ps);
            if (d->take_profit)
                dec(&o, "take_profit", d->take_profit, ps);
        }
        break;
    }
    case NX_EV_ORDER_UPDATE: {
        static const char *const st[] = {"?",      "new",       "acked",   "partial",
                                         "filled", "cancelled", "rejected", "expired"};
        const nx_ev_order_update_t *u = &e->u.order;
        put(&o, ",\"session\":%u,\"client_id\":%llu,\"status\":\"%s\",\"side\":\"%s\"",
            u->session, (unsigned long long)u->client_id, u->status < 8 ? st[u->status] : "?",
            side_name(u->side));
        if (u->last_qty) {
            dec(&o, "fill_px", u->last_px, ps);
            dec(&o, "fill_qty", u->last_qty, qs);
            dec(&o, "fee", u->fee, ps);
        }
        break;
    }
    case NX_EV_SIGNAL: {
        static const char *const sides[] = {"?", "buy", "sell", "exit_long", "exit_short"};
        const nx_ev_signal_t *g = &e->u.signal;
        put(&o, ",\"side\":\"%s\",\"confidence\":%.4g,\"strategy\":%u,\"reason\":\"%s\"",
            g->side < 5 ? sides[g->side] : "?", g->confidence, g->strategy, g->reason);
        dec(&o, "ref_price", g->ref_price, ps);
        dec(&o, "atr", g->atr, ps);
        if (g->sl_kind == NX_LEVEL_ATR_MULT)
            put(&o, ",\"sl_atr\":%.4g", g->sl_value);
        else if (g->sl_kind == NX_LEVEL_PRICE)
            dec(&o, "sl_price", g->sl_price, ps);
        if (g->tp_kind == NX_LEVEL_ATR_MULT)
            put(&o, ",\"tp_atr\":%.4g", g->tp_value);
        else if (g->tp_kind == NX_LEVEL_PRICE)
            dec(&o, "tp_price", g->tp_price, ps);
        put(&o, ",\"tf_s\":%u", g->tf_s);
        break;
    }
    default:
        break;
    }
    put(&o, "}");
    return o.overflow ? 0 : o.n;
}
