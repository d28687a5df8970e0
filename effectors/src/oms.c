/*
 * oms.c — the order manager (see oms.h for its contract).
 *
 * Per session: a fixed table of orders (recycled once final) and one
 * position slot per symbol. A handful of users with a few orders each: a
 * linear search by client id over 256 slots costs less than a hash would,
 * and it never allocates. Entry and exit values are kept as price x qty in 128
 * bits so nothing is rounded until a position closes.
 */
#include "nx/oms.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <stdlib.h>
#include <string.h>

enum { ROLE_ENTRY = 1, ROLE_SL, ROLE_TP, ROLE_EXIT };
#define MAX_FILLS 8

typedef struct oms_order {
    uint64_t clid;
    uint32_t symbol;
    uint8_t used, role, side, type, status, cancel_asked, reason, nfills;
    int64_t qty, price, cum;
    uint64_t fills[MAX_FILLS];
} oms_order_t;

typedef struct oms_pos {
    int64_t qty;          /* signed */
    __int128 entry_value; /* sum px x qty of the fills that opened it */
    int64_t entry_qty;
    __int128 exit_value;
    int64_t exit_qty;
    int64_t fees;
    int64_t funding; /* quote units paid (< 0: received) */
    int64_t sl, tp, trail_offset, trail_activate, trail_best, trail_stop;
    int64_t deadline_ns, opened_ns, last_px;
    uint64_t entry_clid, sl_clid, tp_clid, exit_clid;
    uint8_t pending_entry, closing, exit_reason, leverage, trail_on;
    uint8_t trail_at_venue; /* the venue's stop-loss order stands at the trailing stop */
    int8_t dir;
} oms_pos_t;

typedef struct oms_session {
    uint32_t id;
    uint64_t seq;
    int64_t balance, realized, fees;
    uint32_t trades, wins;
    uint64_t duplicates, unknown;
    uint64_t forced[8]; /* the venue's own fills seen last (liquidation, ADL), by fill id */
    uint32_t nforced;
    oms_pos_t pos[NX_OMS_MAX_SYMBOLS];
    oms_order_t orders[NX_OMS_MAX_ORDERS];
} oms_session_t;

struct nx_oms {
    nx_oms_opts_t o;
    int64_t now;      /* the latest time the engine gave us (updates carry none) */
    int64_t last_px[NX_OMS_MAX_SYMBOLS]; /* the latest price per symbol, for margin checks */
    oms_session_t *s; /* [NX_OMS_MAX_SESSIONS], the first n in use (never removed) */
    uint32_t n;
};

static const char *const exit_names[] = {"none",     "tp",     "sl",     "trailing", "time",
                                         "sentinel", "signal", "manual", "panic",    "emergency",
                                         "liquidation", "adl"};

const char *nx_exit_reason_name(nx_exit_reason_t r)
{
    return (unsigned)r < sizeof exit_names / sizeof exit_names[0] ? exit_names[r] : "?";
}

static int64_t floor_div(__int128 a, int64_t b)
{
    __int128 q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return (int64_t)q;
}

/* The position's cash flow so far: sells minus buys, price x qty. */
static __int128 cash_of(const oms_pos_t *p)
{
    return p->dir > 0 ? p->exit_value - p->entry_value : p->entry_value - p->exit_value;
}

static oms_session_t *session_of(const nx_oms_t *m, uint32_t id)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->s[i].id == id)
            return &m->s[i];
    return NULL;
}

static int is_final(uint8_t st)
{
    return st == NX_OS_FILLED || st == NX_OS_CANCELLED || st == NX_OS_REJECTED ||
           st == NX_OS_EXPIRED;
}

static oms_order_t *order_new(oms_session_t *s)
{
    for (uint32_t i = 0; i < NX_OMS_MAX_ORDERS; i++) {
        oms_order_t *o = &s->orders[i];
        if (!o->used || is_final(o->status)) {
            memset(o, 0, sizeof *o);
            o->used = 1;
            return o;
        }
    }
    return NULL;
}

static oms_order_t *order_find(oms_session_t *s, uint64_t clid)
{
    for (uint32_t i = 0; i < NX_OMS_MAX_ORDERS; i++)
        if (s->orders[i].used && s->orders[i].clid == clid)
            return &s->orders[i];
    return NULL;
}

static void journal_intent(nx_oms_t *m, uint32_t symbol, const nx_ev_order_intent_t *in)
{
    if (!m->o.journal)
        return;
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_ORDER_INTENT;
    ev.hdr.symbol = symbol;
    ev.u.intent = *in;
    m->o.journal(m->o.ctx, &ev);
}

/* What the venue is asked for an order (a new one, or an amend of it). */
static void intent_of(const oms_order_t *o, uint32_t session, int reduce_only, uint8_t lev,
                      nx_ev_order_intent_t *in)
{
    memset(in, 0, sizeof *in);
    in->client_id = o->clid;
    in->price = o->price;
    in->qty = o->qty;
    in->session = session;
    in->side = o->side;
    in->order_type = o->type;
    in->reduce_only = (uint8_t)reduce_only;
    in->leverage = lev ? lev : 1;
}

/* Send one order; on a synchronous venue its updates arrive inside. */
static int send(nx_oms_t *m, oms_session_t *s, uint32_t symbol, uint8_t role, uint8_t side,
                uint8_t type, int64_t qty, int64_t price, int reduce_only, uint8_t lev,
                uint64_t *clid_out)
{
    oms_order_t *o = order_new(s);
    if (!o)
        return NX_EFULL;
    o->clid = nx_clid_make(s->id, ++s->seq);
    o->symbol = symbol;
    o->role = role;
    o->side = side;
    o->type = type;
    o->qty = qty;
    o->price = price;
    o->status = NX_OS_NEW;
    if (clid_out)
        *clid_out = o->clid;
    nx_ev_order_intent_t in;
    intent_of(o, s->id, reduce_only, lev, &in);
    journal_intent(m, symbol, &in);
    int rc = m->o.bridge->ops->place(m->o.bridge, &in, symbol);
    if (rc && !is_final(o->status))
        o->status = NX_OS_REJECTED;
    return rc;
}

static void cancel(nx_oms_t *m, oms_session_t *s, uint64_t clid, uint32_t symbol)
{
    if (!clid)
        return;
    oms_order_t *o = order_find(s, clid);
    if (!o || is_final(o->status))
        return;
    o->cancel_asked = 1;
    m->o.bridge->ops->cancel(m->o.bridge, clid, symbol);
}

static int place_protective(nx_oms_t *m, oms_session_t *s, uint32_t symbol, oms_pos_t *p, int sl)
{
    int64_t level = sl ? p->sl : p->tp;
    if (!level)
        return 0;
    uint8_t side = p->dir > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
    int64_t qty = p->qty < 0 ? -p->qty : p->qty;
    return send(m, s, symbol, sl ? ROLE_SL : ROLE_TP, side,
                sl ? NX_ORD_STOP_MARKET : NX_ORD_TAKE_PROFIT_MARKET, qty, level, 1, p->leverage,
                sl ? &p->sl_clid : &p->tp_clid);
}

static int exit_at_market(nx_oms_t *m, oms_session_t *s, uint32_t symbol, oms_pos_t *p,
                          nx_exit_reason_t why)
{
    if (!p->qty || p->closing)
        return p->qty ? 0 : NX_ENOENT;
    p->closing = 1;
    p->exit_reason = (uint8_t)why;
    cancel(m, s, p->sl_clid, symbol);
    cancel(m, s, p->tp_clid, symbol);
    if (!p->qty) /* a protective order filled before its cancel landed */
        return 0;
    uint8_t side = p->dir > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
    int64_t qty = p->qty < 0 ? -p->qty : p->qty;
    int rc =
        send(m, s, symbol, ROLE_EXIT, side, NX_ORD_MARKET, qty, 0, 1, p->leverage, &p->exit_clid);
    if (rc && p->qty)
        p->closing = 0; /* try again on the next price */
    return rc;
}

static void close_position(nx_oms_t *m, oms_session_t *s, uint32_t symbol, oms_pos_t *p,
                           nx_exit_reason_t why, int64_t now_ns)
{
    const nx_symbol_t *sym = nx_symtab_get(m->o.symtab, symbol);
    int64_t scale = nx_pow10[sym->qty_scale];
    nx_trade_closed_t t;
    memset(&t, 0, sizeof t);
    t.session = s->id;
    t.symbol = symbol;
    t.reason = why;
    t.dir = p->dir;
    t.qty = p->entry_qty;
    t.entry_px = p->entry_qty ? (int64_t)(p->entry_value / p->entry_qty) : 0;
    t.exit_px = p->exit_qty ? (int64_t)(p->exit_value / p->exit_qty) : 0;
    t.fees = p->fees;
    t.funding = p->funding;
    t.pnl = floor_div(cash_of(p), scale) - p->fees - p->funding;
    t.opened_ns = p->opened_ns;
    t.closed_ns = now_ns;
    s->balance += t.pnl;
    s->realized += t.pnl;
    s->trades++;
    s->wins += t.pnl > 0;
    /* the other protective order goes */
    cancel(m, s, p->sl_clid, symbol);
    cancel(m, s, p->tp_clid, symbol);
    memset(p, 0, sizeof *p);
    if (m->o.on_closed)
        m->o.on_closed(m->o.ctx, &t);
}

static void apply_fill(oms_session_t *s, uint32_t symbol, oms_order_t *o,
                       const nx_ev_order_update_t *u)
{
    oms_pos_t *p = &s->pos[symbol];
    int64_t q = u->last_qty, px = u->last_px;
    int buy = o->side == NX_SIDE_BUY;
    __int128 v = (__int128)px * q;
    p->fees += u->fee;
    s->fees += u->fee;
    p->last_px = px;
    if (o->role == ROLE_ENTRY) {
        p->qty += buy ? q : -q;
        p->entry_value += v;
        p->entry_qty += q;
    } else {
        /* reduce-only: never past flat */
        int64_t open = p->qty < 0 ? -p->qty : p->qty;
        if (q > open)
            q = open;
        p->qty += buy ? q : -q;
        p->exit_value += (__int128)px * q;
        p->exit_qty += q;
    }
}

/* what happens after an order's state moved */
static void after(nx_oms_t *m, oms_session_t *s, uint32_t symbol, oms_order_t *o, int filled_now,
                  int64_t now_ns)
{
    oms_pos_t *p = &s->pos[symbol];
    if (o->role == ROLE_ENTRY) {
        if (o->status == NX_OS_FILLED && filled_now && p->pending_entry) {
            p->pending_entry = 0;
            /* protect at once: a stop that cannot be placed closes the position */
            if (place_protective(m, s, symbol, p, 1) != 0 || (p->sl && !p->sl_clid)) {
                exit_at_market(m, s, symbol, p, NX_EXIT_EMERGENCY);
                return;
            }
            oms_order_t *slo = p->sl_clid ? order_find(s, p->sl_clid) : NULL;
            if (slo && slo->status == NX_OS_REJECTED) {
                exit_at_market(m, s, symbol, p, NX_EXIT_EMERGENCY);
                return;
            }
            place_protective(m, s, symbol, p, 0);
        } else if (o->status == NX_OS_REJECTED || o->status == NX_OS_CANCELLED ||
                   o->status == NX_OS_EXPIRED) {
            if (p->pending_entry && !p->qty)
                memset(p, 0, sizeof *p);
        }
        return;
    }
    if (filled_now && p->qty == 0 && (p->entry_qty > 0)) {
        nx_exit_reason_t why = o->role == ROLE_SL
                                   ? (p->trail_at_venue ? NX_EXIT_TRAILING : NX_EXIT_SL)
                               : o->role == ROLE_TP ? NX_EXIT_TP
                                                    : (nx_exit_reason_t)p->exit_reason;
        close_position(m, s, symbol, p, why, now_ns);
        return;
    }
    /* an exit the venue refused: the position stays open, so it gets its
     * protection back and the next exit request tries again */
    if (o->role == ROLE_EXIT &&
        (o->status == NX_OS_REJECTED || o->status == NX_OS_CANCELLED ||
         o->status == NX_OS_EXPIRED) &&
        p->qty && p->closing && p->exit_clid == o->clid) {
        p->closing = 0;
        p->exit_clid = 0;
        if (place_protective(m, s, symbol, p, 1) == 0)
            place_protective(m, s, symbol, p, 0);
        return;
    }
    /* a stop the venue refused or let expire after taking the request (a
     * live venue answers later than the paper venue, inside place()): the
     * position is not protected, so it is closed at market */
    if (o->role == ROLE_SL && (o->status == NX_OS_REJECTED || o->status == NX_OS_EXPIRED) &&
        p->qty && !p->closing && p->sl_clid == o->clid) {
        exit_at_market(m, s, symbol, p, NX_EXIT_EMERGENCY);
        return;
    }
    /* the venue cancelled a protective order we did not ask to cancel */
    if ((o->role == ROLE_SL || o->role == ROLE_TP) && o->status == NX_OS_CANCELLED &&
        !o->cancel_asked && p->qty && !p->closing) {
        int sl = o->role == ROLE_SL;
        if (place_protective(m, s, symbol, p, sl) != 0 && sl)
            exit_at_market(m, s, symbol, p, NX_EXIT_EMERGENCY);
    }
}

static int status_rank(uint8_t st)
{
    switch (st) {
    case NX_OS_NEW:
        return 0;
    case NX_OS_ACKED:
        return 1;
    case NX_OS_PARTIAL:
        return 2;
    default:
        return is_final(st) ? 3 : -1;
    }
}

static void journal_update(nx_oms_t *m, uint32_t symbol, const nx_ev_order_update_t *u)
{
    if (!m->o.journal)
        return;
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_ORDER_UPDATE;
    ev.hdr.symbol = symbol;
    ev.u.order = *u;
    m->o.journal(m->o.ctx, &ev);
}

/* A fill the venue made on its own, with no order of ours (a liquidation,
 * auto-deleveraging): it reduces the position, never past flat; the trade
 * closes with that reason when nothing is left. */
static void forced_fill(nx_oms_t *m, oms_session_t *s, uint32_t symbol,
                        const nx_ev_order_update_t *u)
{
    oms_pos_t *p = &s->pos[symbol];
    for (uint32_t i = 0; i < sizeof s->forced / sizeof s->forced[0]; i++)
        if (s->forced[i] == u->fill_id) {
            s->duplicates++;
            return;
        }
    int buy = u->side == NX_SIDE_BUY;
    if (!p->qty || buy != (p->qty < 0)) {
        s->unknown++; /* nothing of ours to close: reconciliation compares the positions */
        return;
    }
    s->forced[s->nforced++ % (sizeof s->forced / sizeof s->forced[0])] = u->fill_id;
    int64_t open = p->qty < 0 ? -p->qty : p->qty, q = u->last_qty < open ? u->last_qty : open;
    p->fees += u->fee;
    s->fees += u->fee;
    p->last_px = u->last_px;
    p->qty += buy ? q : -q;
    p->exit_value += (__int128)u->last_px * q;
    p->exit_qty += q;
    if (!p->qty)
        close_position(m, s, symbol, p,
                       u->reason == NX_OFORCED_ADL ? NX_EXIT_ADL : NX_EXIT_LIQUIDATION, m->now);
}

void nx_oms_on_update(nx_oms_t *m, uint32_t symbol, const nx_ev_order_update_t *u)
{
    if (!u->client_id && u->fill_id && u->last_qty > 0 &&
        (u->reason == NX_OFORCED_LIQUIDATION || u->reason == NX_OFORCED_ADL)) {
        oms_session_t *fs = session_of(m, u->session);
        journal_update(m, symbol, u);
        if (fs && symbol < NX_OMS_MAX_SYMBOLS)
            forced_fill(m, fs, symbol, u);
        return;
    }
    oms_session_t *s = session_of(m, nx_clid_session(u->client_id));
    oms_order_t *o = s ? order_find(s, u->client_id) : NULL;
    journal_update(m, symbol, u);
    if (!o || symbol >= NX_OMS_MAX_SYMBOLS || o->symbol != symbol) {
        if (s)
            s->unknown++;
        return;
    }
    int filled_now = 0;
    if (u->fill_id && u->last_qty > 0) {
        int seen = 0;
        for (uint32_t i = 0; i < o->nfills; i++)
            seen |= o->fills[i] == u->fill_id;
        if (seen || o->cum >= o->qty) {
            s->duplicates++;
        } else {
            if (o->nfills < MAX_FILLS)
                o->fills[o->nfills++] = u->fill_id;
            apply_fill(s, symbol, o, u);
            o->cum += u->last_qty;
            filled_now = 1;
        }
    } else if (status_rank(u->status) <= status_rank(o->status)) {
        s->duplicates++;
    }
    /* a status only moves forward; final is final */
    if (!is_final(o->status) && status_rank(u->status) > status_rank(o->status)) {
        o->status = u->status;
        o->reason = u->reason;
    }
    if (o->status == NX_OS_FILLED && o->cum < o->qty)
        o->status = NX_OS_PARTIAL; /* "filled" arrived before the fills: wait for them */
    if (o->cum >= o->qty && o->qty > 0)
        o->status = NX_OS_FILLED;
    after(m, s, symbol, o, filled_now && o->status == NX_OS_FILLED, m->now);
}

/* An open position's P&L if closed at its last price, after its fees and
 * funding. */
static int64_t unrealized_of(const oms_pos_t *p, int64_t qty_div)
{
    return floor_div(cash_of(p) + (__int128)p->last_px * p->qty, qty_div) - p->fees - p->funding;
}

/* Margin held by a session's open positions (entry notional / leverage)
 * and their P&L at the last prices, quote units. */
static void margin_of(const nx_oms_t *m, const oms_session_t *s, int64_t *margin,
                      int64_t *unrealized)
{
    *margin = *unrealized = 0;
    uint32_t nsym = nx_symtab_count(m->o.symtab);
    for (uint32_t k = 0; k < nsym && k < NX_OMS_MAX_SYMBOLS; k++) {
        const oms_pos_t *p = &s->pos[k];
        if (!p->qty || !p->entry_qty)
            continue;
        int64_t div = nx_pow10[nx_symtab_get(m->o.symtab, k)->qty_scale];
        __int128 open = p->qty < 0 ? -p->qty : p->qty;
        __int128 notional = open * (p->entry_value / p->entry_qty);
        *margin += (int64_t)(notional / div / (p->leverage ? p->leverage : 1));
        *unrealized += unrealized_of(p, div);
    }
}

int nx_oms_enter(nx_oms_t *m, uint32_t symbol, const nx_ev_order_intent_t *in,
                 int64_t time_limit_ns, int64_t now_ns)
{
    oms_session_t *s = session_of(m, in->session);
    if (!s)
        return NX_ENOENT;
    m->now = now_ns;
    if (symbol >= NX_OMS_MAX_SYMBOLS || symbol >= nx_symtab_count(m->o.symtab) || in->qty <= 0 ||
        (in->side != NX_SIDE_BUY && in->side != NX_SIDE_SELL))
        return NX_EINVAL;
    oms_pos_t *p = &s->pos[symbol];
    if (p->qty || p->pending_entry || p->closing)
        return NX_ESTATE;
    if (m->last_px[symbol] > 0) { /* the margin it needs must be free, as at a venue */
        int64_t margin, unreal, lev = in->leverage ? in->leverage : 1;
        margin_of(m, s, &margin, &unreal);
        __int128 need = (__int128)in->qty * m->last_px[symbol] /
                        nx_pow10[nx_symtab_get(m->o.symtab, symbol)->qty_scale] / lev;
        if (need > (__int128)s->balance + unreal - margin)
            return NX_EPERM;
    }
    memset(p, 0, sizeof *p);
    p->dir = in->side == NX_SIDE_BUY ? 1 : -1;
    p->sl = in->stop_loss;
    p->tp = in->take_profit;
    p->trail_offset = in->trail_offset;
    p->trail_activate = in->trail_activate;
    p->leverage = in->leverage ? in->leverage : 1;
    p->deadline_ns = time_limit_ns > 0 ? now_ns + time_limit_ns : 0;
    p->opened_ns = now_ns;
    p->pending_entry = 1;
    int rc = send(m, s, symbol, ROLE_ENTRY, in->side, NX_ORD_MARKET, in->qty, 0, 0, p->leverage,
                  &p->entry_clid);
    if (rc && p->pending_entry && !p->qty)
        memset(p, 0, sizeof *p);
    return rc;
}

int nx_oms_exit(nx_oms_t *m, uint32_t session, uint32_t symbol, nx_exit_reason_t why,
                int64_t now_ns)
{
    m->now = now_ns;
    oms_session_t *s = session_of(m, session);
    if (!s || symbol >= NX_OMS_MAX_SYMBOLS)
        return NX_ENOENT;
    return exit_at_market(m, s, symbol, &s->pos[symbol], why);
}

int nx_oms_panic(nx_oms_t *m, uint32_t session, int64_t now_ns)
{
    int n = 0;
    for (uint32_t i = 0; i < m->n; i++) {
        oms_session_t *s = &m->s[i];
        if (session != NX_SESSION_ALL && s->id != session)
            continue;
        for (uint32_t k = 0; k < NX_OMS_MAX_SYMBOLS; k++)
            if (s->pos[k].qty && nx_oms_exit(m, s->id, k, NX_EXIT_PANIC, now_ns) == 0)
                n++;
        /* and every order still resting: nothing of this session stays at the venue */
        uint32_t nsym = nx_symtab_count(m->o.symtab);
        for (uint32_t k = 0; k < nsym && k < NX_OMS_MAX_SYMBOLS; k++) {
            for (uint32_t j = 0; j < NX_OMS_MAX_ORDERS; j++) {
                oms_order_t *o = &s->orders[j];
                if (o->used && o->symbol == k && !is_final(o->status) && o->role != ROLE_EXIT)
                    o->cancel_asked = 1;
            }
            m->o.bridge->ops->cancel_all(m->o.bridge, s->id, k);
        }
    }
    return n;
}

/* Move the venue's stop-loss order up to the trailing stop (placing one
 * when the position has none), so the venue fires it at its price, gaps
 * included, exactly like a fixed stop. 0, or the venue's error (then the
 * engine keeps emulating the trail on prices). */
static int trail_to_venue(nx_oms_t *m, oms_session_t *s, uint32_t symbol, oms_pos_t *p)
{
    if (p->sl && (p->dir > 0 ? p->trail_stop <= p->sl : p->trail_stop >= p->sl))
        return 0; /* the fixed stop is still the tighter one */
    oms_order_t *o = p->sl_clid ? order_find(s, p->sl_clid) : NULL;
    int rc;
    if (o && !is_final(o->status)) {
        nx_ev_order_intent_t in;
        intent_of(o, s->id, 1, p->leverage, &in);
        in.price = p->trail_stop;
        in.amend = 1;
        journal_intent(m, symbol, &in);
        rc = m->o.bridge->ops->amend(m->o.bridge, o->clid, p->trail_stop, 0);
        if (rc == 0)
            o->price = p->trail_stop;
    } else {
        int64_t was = p->sl;
        p->sl = p->trail_stop;
        rc = place_protective(m, s, symbol, p, 1);
        if (rc)
            p->sl = was;
    }
    if (rc == 0) {
        p->sl = p->trail_stop;
        p->trail_at_venue = 1;
    }
    return rc;
}

void nx_oms_on_price(nx_oms_t *m, uint32_t symbol, int64_t price, int64_t low, int64_t high,
                     int64_t now_ns)
{
    if (symbol >= NX_OMS_MAX_SYMBOLS || price <= 0)
        return;
    m->now = now_ns;
    m->last_px[symbol] = price;
    if (!low || low > price)
        low = price;
    if (!high || high < price)
        high = price;
    for (uint32_t i = 0; i < m->n; i++) {
        oms_session_t *s = &m->s[i];
        oms_pos_t *p = &s->pos[symbol];
        if (!p->qty || p->closing)
            continue;
        p->last_px = price;
        if (p->deadline_ns && now_ns >= p->deadline_ns) {
            exit_at_market(m, s, symbol, p, NX_EXIT_TIME);
            continue;
        }
        if (!p->trail_offset)
            continue;
        /* the stop as it stood when this price path began fires first (at
         * the venue when it holds it, which saw this price before us); then
         * the best price moves it */
        if (p->trail_on && !p->trail_at_venue &&
            (p->dir > 0 ? low <= p->trail_stop : high >= p->trail_stop)) {
            exit_at_market(m, s, symbol, p, NX_EXIT_TRAILING);
            continue;
        }
        int64_t best = p->dir > 0 ? high : low;
        if (!p->trail_on && (!p->trail_activate || (p->dir > 0 ? best >= p->trail_activate
                                                               : best <= p->trail_activate))) {
            p->trail_on = 1;
            p->trail_best = best;
        }
        if (!p->trail_on)
            continue;
        if (p->dir > 0 ? best > p->trail_best : best < p->trail_best)
            p->trail_best = best;
        int64_t was = p->trail_stop;
        p->trail_stop =
            p->dir > 0 ? p->trail_best - p->trail_offset : p->trail_best + p->trail_offset;
        /* on the venue's tick grid, on the loose side: a venue takes no other price */
        const nx_symbol_t *y = nx_symtab_get(m->o.symtab, symbol);
        int64_t tick = y && y->tick_size > 1 ? y->tick_size : 1, r = p->trail_stop % tick;
        if (r)
            p->trail_stop += p->dir > 0 ? -r : tick - r;
        /* a price already through the new level (a candle that rose and
         * fell back): no venue would accept that stop, so exit now */
        if (p->dir > 0 ? price <= p->trail_stop : price >= p->trail_stop)
            exit_at_market(m, s, symbol, p, NX_EXIT_TRAILING);
        else if (p->trail_stop != was && trail_to_venue(m, s, symbol, p) != 0)
            p->trail_at_venue = 0; /* emulated from here on */
    }
}

int nx_oms_position(const nx_oms_t *m, uint32_t session, uint32_t symbol, nx_position_info_t *out)
{
    memset(out, 0, sizeof *out);
    oms_session_t *s = session_of(m, session);
    if (!s || symbol >= NX_OMS_MAX_SYMBOLS)
        return NX_ENOENT;
    const oms_pos_t *p = &s->pos[symbol];
    const nx_symbol_t *sym = nx_symtab_get(m->o.symtab, symbol);
    out->qty = p->qty;
    out->sl = p->sl;
    out->tp = p->tp;
    out->trail_stop = p->trail_on ? p->trail_stop : 0;
    out->fees = p->fees;
    out->funding = p->funding;
    out->leverage = p->leverage;
    if (p->entry_qty)
        out->avg_px = (int64_t)(p->entry_value / p->entry_qty);
    if (p->qty && sym) {
        out->unrealized = unrealized_of(p, nx_pow10[sym->qty_scale]);
        /* liquidation when the loss eats the margin (1/leverage) less maintenance */
        int64_t lev = p->leverage ? p->leverage : 1;
        int64_t keep = 10000 / lev - (int64_t)m->o.maint_margin_bp; /* bp of entry */
        if (keep > 0 && lev > 1)
            out->liq_px = p->dir > 0 ? out->avg_px - out->avg_px * keep / 10000
                                     : out->avg_px + out->avg_px * keep / 10000;
        const oms_order_t *slo = p->sl_clid ? order_find(s, p->sl_clid) : NULL;
        out->protected_sl = slo && !is_final(slo->status);
        const oms_order_t *tpo = p->tp_clid ? order_find(s, p->tp_clid) : NULL;
        out->protected_tp = tpo && !is_final(tpo->status);
    }
    return 0;
}

int64_t nx_oms_funding(nx_oms_t *m, uint32_t session, uint32_t symbol, int64_t mark_px,
                       int64_t rate_e8)
{
    oms_session_t *s = session_of(m, session);
    const nx_symbol_t *sym = nx_symtab_get(m->o.symtab, symbol);
    if (!s || !sym || symbol >= NX_OMS_MAX_SYMBOLS || !s->pos[symbol].qty || mark_px <= 0)
        return 0;
    oms_pos_t *p = &s->pos[symbol];
    /* qty x mark is price x qty units; / 10^qty_scale is quote units, and
     * the rate's 10^8 comes off with it: one division, rounded against the
     * session (a payment up, a receipt down) */
    __int128 v = (__int128)p->qty * mark_px * rate_e8;
    __int128 div = (__int128)nx_pow10[sym->qty_scale] * 100000000;
    __int128 q = v / div; /* toward zero; up when a payment has a remainder */
    if (v % div != 0 && v > 0)
        q++;
    int64_t paid = q > INT64_MAX / 4 ? INT64_MAX / 4 : q < -INT64_MAX / 4 ? -INT64_MAX / 4 : (int64_t)q;
    p->funding += paid;
    return paid;
}

void nx_oms_clock(nx_oms_t *m, int64_t now_ns)
{
    m->now = now_ns;
}

int nx_oms_save_position(const nx_oms_t *m, uint32_t session, uint32_t symbol,
                         nx_oms_pos_state_t *out)
{
    memset(out, 0, sizeof *out);
    oms_session_t *s = session_of(m, session);
    if (!s || symbol >= NX_OMS_MAX_SYMBOLS || !s->pos[symbol].qty)
        return NX_ENOENT;
    const oms_pos_t *p = &s->pos[symbol];
    *out = (nx_oms_pos_state_t){p->qty,          p->entry_value,    p->exit_value,
                                p->entry_qty,    p->exit_qty,       p->fees,
                                p->sl,           p->tp,             p->trail_offset,
                                p->trail_activate, p->trail_best,   p->trail_stop,
                                p->deadline_ns,  p->opened_ns,      p->last_px,
                                0,               0,                 p->leverage,
                                p->trail_on,     p->trail_at_venue, p->funding};
    /* only orders still live at the venue count as its protection */
    const oms_order_t *o = p->sl_clid ? order_find(s, p->sl_clid) : NULL;
    out->sl_clid = o && !is_final(o->status) ? o->clid : 0;
    o = p->tp_clid ? order_find(s, p->tp_clid) : NULL;
    out->tp_clid = o && !is_final(o->status) ? o->clid : 0;
    return 0;
}

/* A protective order as the venue holds it, without sending anything. */
static int adopt(oms_session_t *s, uint32_t symbol, const oms_pos_t *p, uint64_t clid, int sl)
{
    if (!clid)
        return 0;
    if (nx_clid_session(clid) != s->id || order_find(s, clid))
        return NX_EINVAL;
    oms_order_t *o = order_new(s);
    if (!o)
        return NX_EFULL;
    o->clid = clid;
    o->symbol = symbol;
    o->role = sl ? ROLE_SL : ROLE_TP;
    o->side = p->dir > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
    o->type = sl ? NX_ORD_STOP_MARKET : NX_ORD_TAKE_PROFIT_MARKET;
    o->qty = p->qty < 0 ? -p->qty : p->qty;
    o->price = sl ? p->sl : p->tp;
    o->status = NX_OS_ACKED;
    if (nx_clid_seq(clid) > s->seq)
        s->seq = nx_clid_seq(clid);
    return 0;
}

int nx_oms_restore_position(nx_oms_t *m, uint32_t session, uint32_t symbol,
                            const nx_oms_pos_state_t *st)
{
    oms_session_t *s = session_of(m, session);
    if (!s || symbol >= NX_OMS_MAX_SYMBOLS || symbol >= nx_symtab_count(m->o.symtab))
        return NX_ENOENT;
    oms_pos_t *p = &s->pos[symbol];
    if (p->qty || p->pending_entry || p->closing)
        return NX_ESTATE;
    int64_t open = st->qty < 0 ? -st->qty : st->qty;
    if (!st->qty || st->entry_qty <= 0 || st->entry_value <= 0 || st->exit_qty < 0 ||
        open != st->entry_qty - st->exit_qty || st->leverage < 1 || st->leverage > 125)
        return NX_EINVAL;
    memset(p, 0, sizeof *p);
    p->qty = st->qty;
    p->dir = st->qty > 0 ? 1 : -1;
    p->entry_value = st->entry_value;
    p->entry_qty = st->entry_qty;
    p->exit_value = st->exit_value;
    p->exit_qty = st->exit_qty;
    p->fees = st->fees;
    p->funding = st->funding;
    p->sl = st->sl;
    p->tp = st->tp;
    p->trail_offset = st->trail_offset;
    p->trail_activate = st->trail_activate;
    p->trail_best = st->trail_best;
    p->trail_stop = st->trail_stop;
    p->deadline_ns = st->deadline_ns;
    p->opened_ns = st->opened_ns;
    p->last_px = st->last_px;
    p->leverage = st->leverage;
    p->trail_on = st->trail_on != 0;
    p->trail_at_venue = st->trail_at_venue != 0;
    int rc = adopt(s, symbol, p, st->sl_clid, 1);
    if (!rc)
        rc = adopt(s, symbol, p, st->tp_clid, 0);
    if (rc) {
        for (uint32_t j = 0; j < NX_OMS_MAX_ORDERS; j++)
            if (s->orders[j].used && s->orders[j].symbol == symbol &&
                (s->orders[j].clid == st->sl_clid || s->orders[j].clid == st->tp_clid))
                memset(&s->orders[j], 0, sizeof s->orders[j]);
        memset(p, 0, sizeof *p);
        return rc;
    }
    p->sl_clid = st->sl_clid;
    p->tp_clid = st->tp_clid;
    if (m->last_px[symbol] <= 0)
        m->last_px[symbol] = st->last_px;
    return 0;
}

int nx_oms_adopt_position(nx_oms_t *m, uint32_t session, uint32_t symbol, int64_t qty,
                          int64_t entry_px, int64_t sl, uint8_t leverage, int64_t now_ns)
{
    oms_session_t *s = session_of(m, session);
    if (!s)
        return NX_ENOENT;
    if (symbol >= NX_OMS_MAX_SYMBOLS || symbol >= nx_symtab_count(m->o.symtab) || !qty ||
        entry_px <= 0 || sl <= 0)
        return NX_EINVAL;
    oms_pos_t *p = &s->pos[symbol];
    if (p->qty || p->pending_entry || p->closing)
        return NX_ESTATE;
    int64_t open = qty < 0 ? -qty : qty;
    m->now = now_ns;
    memset(p, 0, sizeof *p);
    p->qty = qty;
    p->dir = qty > 0 ? 1 : -1;
    p->entry_value = (__int128)entry_px * open;
    p->entry_qty = open;
    p->sl = sl;
    p->leverage = leverage ? leverage : 1;
    p->opened_ns = now_ns;
    p->last_px = m->last_px[symbol] > 0 ? m->last_px[symbol] : entry_px;
    if (m->last_px[symbol] <= 0)
        m->last_px[symbol] = entry_px;
    int rc = place_protective(m, s, symbol, p, 1);
    if (rc) /* not left bare: closed, as an entry whose stop fails is */
        exit_at_market(m, s, symbol, p, NX_EXIT_EMERGENCY);
    return rc;
}

int nx_oms_restore_account(nx_oms_t *m, uint32_t session, int64_t balance, int64_t realized,
                           int64_t fees, uint32_t trades, uint32_t wins)
{
    oms_session_t *s = session_of(m, session);
    if (!s)
        return NX_ENOENT;
    if (wins > trades || fees < 0)
        return NX_EINVAL;
    s->balance = balance;
    s->realized = realized;
    s->fees = fees;
    s->trades = trades;
    s->wins = wins;
    return 0;
}

int nx_oms_account(const nx_oms_t *m, uint32_t session, nx_account_info_t *out)
{
    memset(out, 0, sizeof *out);
    oms_session_t *s = session_of(m, session);
    if (!s)
        return NX_ENOENT;
    out->balance = s->balance;
    out->realized = s->realized;
    out->fees = s->fees;
    out->trades = s->trades;
    out->wins = s->wins;
    out->duplicates = s->duplicates;
    out->unknown_updates = s->unknown;
    for (uint32_t k = 0; k < NX_OMS_MAX_SYMBOLS; k++)
        out->open_positions += s->pos[k].qty != 0;
    for (uint32_t j = 0; j < NX_OMS_MAX_ORDERS; j++)
        out->open_orders += s->orders[j].used && !is_final(s->orders[j].status);
    margin_of(m, s, &out->margin, &out->unrealized);
    out->equity = s->balance + out->unrealized;
    out->available = out->equity - out->margin;
    return 0;
}

int nx_oms_resume_ids(nx_oms_t *m, uint32_t session, uint64_t last)
{
    oms_session_t *s = session_of(m, session);
    if (!s)
        return NX_ENOENT;
    if (last > s->seq)
        s->seq = last;
    return 0;
}

int nx_oms_add_session(nx_oms_t *m, uint32_t session, int64_t balance)
{
    if (session_of(m, session))
        return NX_EEXIST;
    if (session >= (1u << NX_CLID_SESSION_BITS))
        return NX_EINVAL;
    if (m->n == NX_OMS_MAX_SESSIONS)
        return NX_EFULL;
    oms_session_t *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    s->id = session;
    s->balance = balance;
    return 0;
}

nx_oms_t *nx_oms_create(const nx_oms_opts_t *o)
{
    if (!o || !o->symtab || !o->bridge)
        return NULL;
    nx_oms_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->s = calloc(NX_OMS_MAX_SESSIONS, sizeof *m->s);
    if (!m->s) {
        free(m);
        return NULL;
    }
    m->o = *o;
    return m;
}

void nx_oms_destroy(nx_oms_t *m)
{
    if (!m)
        return;
    free(m->s);
    free(m);
}
