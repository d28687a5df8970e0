/*
 * desk.c — signals to orders, per user session (see desk.h).
 *
 * For each signal the desk asks every session that trades the symbol's
 * shield (shield.h) for a decision and carries it out on the order manager
 * (oms.h) over the paper venue (paper.h): PILOT approvals become orders with
 * their stop-loss and take-profit (and trailing stop / time limit from the
 * session's config), exits close positions (Sentinel's Black Swan as
 * "sentinel"), WATCHER notifications are journaled, and COPILOT asks become
 * approval requests that wait for the person's APPROVE or REJECT until they
 * expire (one per session and symbol: a newer signal replaces an older
 * request). Market events reach the paper venue and the order manager
 * before the cortex, so an order placed on a candle's close fills at that
 * close and its stops watch the next candle.
 *
 * Money: a session's equity is held at the price scale of the symbols it
 * trades (the example configs use one scale for every symbol).
 */
#include "desk_int.h"

#include "nx/oms.h"
#include "nx/paper.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/shield.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void desk_sync_position(nx_desk_t *d, desk_session_t *s, uint32_t sym)
{
    nx_position_info_t pi;
    if (nx_oms_position(d->oms, s->id, sym, &pi) == 0) {
        int64_t q = pi.qty < 0 ? -pi.qty : pi.qty;
        const nx_symbol_t *y = nx_symtab_get(d->symtab, sym);
        __int128 notional = (__int128)q * pi.avg_px;
        nx_shield_on_position(&s->risk, sym, pi.qty, (int64_t)(notional / nx_pow10[y->qty_scale]));
    }
}

/* The venue's updates reach the order manager; a fill is the only thing
 * that moves a position, so it is also where the shield learns of it. */
static void on_update(void *ctx, uint32_t symbol, const nx_ev_order_update_t *u)
{
    nx_desk_t *d = ctx;
    nx_oms_on_update(d->oms, symbol, u);
    desk_session_t *s = u->last_qty ? desk_session(d, u->session) : NULL;
    if (s)
        desk_sync_position(d, s, symbol);
}

/* ---------- the router: each session's orders to its venue ---------- */

static nx_bridge_t *venue_of(nx_desk_t *d, uint32_t session)
{
    desk_session_t *s = desk_session(d, session);
    return s && s->live ? s->live : d->venue;
}

static int r_place(nx_bridge_t *b, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    nx_bridge_t *v = venue_of(((desk_router_t *)b)->d, in->session);
    return v->ops->place(v, in, symbol);
}

static int r_cancel(nx_bridge_t *b, uint64_t clid, uint32_t symbol)
{
    nx_bridge_t *v = venue_of(((desk_router_t *)b)->d, nx_clid_session(clid));
    return v->ops->cancel(v, clid, symbol);
}

static int r_cancel_all(nx_bridge_t *b, uint32_t session, uint32_t symbol)
{
    nx_desk_t *d = ((desk_router_t *)b)->d;
    if (session != NX_SESSION_ALL) {
        nx_bridge_t *v = venue_of(d, session);
        return v->ops->cancel_all(v, session, symbol);
    }
    int rc = d->venue->ops->cancel_all(d->venue, session, symbol);
    for (uint32_t i = 0; i < d->n; i++)
        if (d->s[i].live) {
            int r = d->s[i].live->ops->cancel_all(d->s[i].live, d->s[i].id, symbol);
            rc = rc ? rc : r;
        }
    return rc;
}

static int r_amend(nx_bridge_t *b, uint64_t clid, int64_t price, int64_t qty)
{
    nx_bridge_t *v = venue_of(((desk_router_t *)b)->d, nx_clid_session(clid));
    return v->ops->amend(v, clid, price, qty);
}

static int r_protective(nx_bridge_t *b, uint32_t session, uint32_t symbol, int64_t sl, int64_t tp)
{
    nx_bridge_t *v = venue_of(((desk_router_t *)b)->d, session);
    return v->ops->set_protective(v, session, symbol, sl, tp);
}

static int r_query(nx_bridge_t *b, uint32_t session)
{
    nx_bridge_t *v = venue_of(((desk_router_t *)b)->d, session);
    return v->ops->query(v, session);
}

static const nx_bridge_ops_t router_ops = {"desk", r_place, r_cancel, r_cancel_all,
                                           r_amend, r_protective, r_query};

int nx_desk_set_venue(nx_desk_t *d, uint32_t session, nx_bridge_t *live)
{
    desk_session_t *s = desk_session(d, session);
    if (!s)
        return NX_ENOENT;
    s->live = live;
    return 0;
}

/* A notice for the session's person, in the journal. */
static void desk_notice(nx_desk_t *d, uint32_t session, uint32_t symbol, uint8_t kind,
                        int64_t qty, int64_t entry_px, int64_t exit_px, int64_t pnl)
{
    if (!d->journal)
        return;
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_NOTICE;
    ev.hdr.symbol = symbol;
    ev.hdr.venue = (uint8_t)nx_symtab_get(d->symtab, symbol)->venue;
    ev.hdr.exch_ns = d->now;
    ev.u.notice.session = session;
    ev.u.notice.kind = kind;
    ev.u.notice.qty = qty;
    ev.u.notice.entry_px = entry_px;
    ev.u.notice.exit_px = exit_px;
    ev.u.notice.pnl = pnl;
    d->journal(d->ctx, &ev);
}

/* Holds a session: no new entry until a person resumes it. */
static void desk_hold(nx_desk_t *d, desk_session_t *s)
{
    s->risk.paused = 1;
    s->held = 1;
    desk_dirty(d, s->id);
}

/* The session's default stop for a position of signed `qty` on a symbol:
 * default_stop_bp (10% if none) from the last price, on the tick. */
static int64_t default_stop(const nx_desk_t *d, const desk_session_t *s, uint32_t symbol,
                            int64_t qty, uint32_t *bp_out)
{
    const nx_symbol_t *y = nx_symtab_get(d->symtab, symbol);
    int64_t px = d->last_px[symbol];
    uint32_t bp = s->conf.default_stop_bp ? s->conf.default_stop_bp : 1000;
    *bp_out = bp;
    int64_t tick = y->tick_size > 0 ? y->tick_size : 1, d_px = (int64_t)((__int128)px * bp / 10000);
    int64_t trigger = qty > 0 ? px - d_px : px + d_px;
    return qty > 0 ? trigger / tick * tick : (trigger + tick - 1) / tick * tick;
}

/* A position at the venue that the order manager does not hold (the
 * user's own, or one a crash kept from storage). Adopted (adopt_px set,
 * nx_desk_set_foreign): booked as the session's trade with a stop of its
 * own. Otherwise not booked, but not left unprotected either — a stop on
 * the whole position (closePosition) at the session's default stop
 * distance from the last price, under a client id of its own range (bit
 * 39 of the sequence, never the order manager's: their updates are not the
 * order manager's either). Both wait for a price if there is none yet. */
static void protect_unknown(nx_desk_t *d, desk_session_t *s, uint32_t symbol, int64_t qty)
{
    const nx_symbol_t *y = nx_symtab_get(d->symtab, symbol);
    if (d->last_px[symbol] <= 0 || !y) { /* placed at the first price (nx_desk_on_market) */
        if (!s->unprotected[symbol])
            d->n_unprotected++;
        s->unprotected[symbol] = qty;
        return;
    }
    if (s->unprotected[symbol]) {
        s->unprotected[symbol] = 0;
        d->n_unprotected--;
    }
    uint32_t bp;
    int64_t trigger = default_stop(d, s, symbol, qty, &bp);
    int64_t entry = s->adopt_px[symbol];
    s->adopt_px[symbol] = 0;
    if (entry > 0) {
        int rc = nx_oms_adopt_position(d->oms, s->id, symbol, qty, entry, trigger,
                                       (uint8_t)(s->conf.leverage ? s->conf.leverage : 1), d->now);
        char q[32], e[32], t[32];
        nx_fixed_format(qty, y->qty_scale, q, sizeof q);
        nx_fixed_format(entry, y->price_scale, e, sizeof e);
        nx_fixed_format(trigger, y->price_scale, t, sizeof t);
        if (rc)
            NX_LOGK(NX_LOG_ERROR, "desk", "desk.adopt",
                    "%s: the venue's %s %s position from %s could not be taken over "
                    "(live.foreign adopt): %s",
                    s->name, q, y->name, e, nx_strerror(rc));
        else
            NX_LOGK(NX_LOG_WARN, "desk", "desk.adopt",
                    "%s: the venue's %s %s position from %s is taken over as the session's own, "
                    "its stop at %s (live.foreign adopt)",
                    s->name, q, y->name, e, t);
        if (rc == NX_ESTATE || rc == NX_EINVAL) { /* held, as without adoption */
            desk_hold(d, s);
            return;
        }
        desk_notice(d, s->id, symbol, NX_NOTE_POSITION_ADOPTED, qty, entry, trigger, 0);
        desk_dirty(d, s->id);
        return;
    }
    nx_ev_order_intent_t in;
    memset(&in, 0, sizeof in);
    in.session = s->id;
    in.client_id = nx_clid_make(s->id, (1ULL << 39) | ((uint64_t)(d->now / NX_NS_PER_MS) &
                                                        ((1ULL << 39) - 1)));
    in.side = qty > 0 ? NX_SIDE_SELL : NX_SIDE_BUY;
    in.order_type = NX_ORD_STOP_MARKET;
    in.price = trigger;
    in.qty = 0; /* the whole position, whatever it is when it fires */
    in.reduce_only = 1;
    int rc = s->live->ops->place(s->live, &in, symbol);
    NX_LOGK(rc ? NX_LOG_ERROR : NX_LOG_WARN, "desk", "desk.protect_unknown",
            "%s: a stop for the whole %s position the engine does not hold %s, %u bp from the "
            "last price",
            s->name, y->name, rc ? "could not be placed" : "was placed", bp);
}

int nx_desk_position_state(const nx_desk_t *d, uint32_t session, uint32_t symbol,
                           nx_oms_pos_state_t *out)
{
    return nx_oms_save_position(d->oms, session, symbol, out);
}

void nx_desk_venue_position(nx_desk_t *d, uint32_t session, uint32_t symbol, int64_t qty,
                            int64_t entry_px)
{
    desk_session_t *s = desk_session(d, session);
    if (!s || symbol >= d->nsym)
        return;
    nx_position_info_t pi;
    int64_t mine = nx_oms_position(d->oms, session, symbol, &pi) == 0 ? pi.qty : 0;
    if (mine == qty)
        return;
    if (d->adopt_foreign && qty && !mine && entry_px > 0 && s->live) {
        /* the person's own position, which the session takes over */
        s->adopt_px[symbol] = entry_px;
        protect_unknown(d, s, symbol, qty);
        return;
    }
    /* nothing is invented: the engine does not take the venue's word for a
     * position it never traded, nor drop one it holds; it stops opening
     * new ones and asks a person */
    desk_hold(d, s);
    NX_LOGK(NX_LOG_ERROR, "desk", "desk.mismatch",
            "%s: the venue holds %lld on %s, the engine %lld (qty units): session held until a "
            "person resumes it",
            s->name, (long long)qty, nx_symtab_get(d->symtab, symbol)->name, (long long)mine);
    desk_notice(d, session, symbol, NX_NOTE_POSITION_MISMATCH, qty, mine, 0, 0);
    if (qty && !mine && s->live)
        protect_unknown(d, s, symbol, qty);
}

void nx_desk_set_foreign(nx_desk_t *d, int adopt)
{
    d->adopt_foreign = adopt != 0;
}

int nx_desk_foreign_order(nx_desk_t *d, uint32_t session, uint32_t symbol)
{
    desk_session_t *s = desk_session(d, session);
    if (!s || d->adopt_foreign)
        return 0;
    desk_hold(d, s);
    NX_LOGK(NX_LOG_ERROR, "desk", "desk.foreign_order",
            "%s: an order Nexus did not place is open at the venue%s%s: session held until a "
            "person resumes it (live.foreign \"adopt\" trades on beside such orders)",
            s->name, symbol < d->nsym ? " on " : "",
            symbol < d->nsym ? nx_symtab_get(d->symtab, symbol)->name : "");
    return 1;
}

void nx_desk_set_saving(nx_desk_t *d, int on)
{
    d->no_saves = !on;
}

void nx_desk_venue_balance(nx_desk_t *d, uint32_t session, int64_t wallet_e8)
{
    desk_session_t *s = desk_session(d, session);
    nx_account_info_t ai;
    if (!s || nx_oms_account(d->oms, session, &ai))
        return;
    const nx_symbol_t *first = nx_symtab_get(d->symtab, 0);
    unsigned ps = first ? first->price_scale : 8;
    if (ps > 8)
        return;
    int64_t open_fees = 0; /* paid at the venue already, booked by the engine at the close */
    for (uint32_t k = 0; k < d->nsym; k++) {
        nx_position_info_t pi;
        if (nx_oms_position(d->oms, session, k, &pi) == 0 && pi.qty)
            open_fees += pi.fees;
    }
    /* the venue's wallet in the session's money units (floor) */
    int64_t wallet = wallet_e8 / nx_pow10[8 - ps] - (wallet_e8 % nx_pow10[8 - ps] < 0);
    int64_t need = ai.balance - open_fees;
    if (wallet >= need - need / 100)
        return;
    s->risk.paused = 1;
    s->held = 1;
    char w[32], n[32];
    nx_fixed_format(wallet, ps, w, sizeof w);
    nx_fixed_format(ai.balance, ps, n, sizeof n);
    NX_LOGK(NX_LOG_ERROR, "desk", "desk.balance_short",
            "%s: the venue's wallet holds %s USDT, the session's balance is %s: session held "
            "until a person resumes it",
            s->name, w, n);
    if (d->journal) {
        nx_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.hdr.type = NX_EV_NOTICE;
        ev.hdr.symbol = NX_SYMBOL_NONE;
        ev.hdr.exch_ns = d->now;
        ev.u.notice.session = session;
        ev.u.notice.kind = NX_NOTE_BALANCE_SHORT;
        ev.u.notice.qty = wallet;
        ev.u.notice.entry_px = ai.balance;
        d->journal(d->ctx, &ev);
    }
    desk_dirty(d, session);
}

void nx_desk_on_order_update(nx_desk_t *d, uint32_t symbol, const nx_ev_order_update_t *u)
{
    if (symbol >= d->nsym || !desk_session(d, u->session))
        return;
    on_update(d, symbol, u);
    if (d->dirty)
        desk_save_dirty(d);
}

/* Tell the session's person (through the journal, to the chat layer). */
static void notice(nx_desk_t *d, const desk_session_t *s, uint32_t sym, nx_notice_kind_t kind,
                   uint8_t reason, int64_t until_ns, const nx_trade_closed_t *t)
{
    if (!d->journal)
        return;
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_NOTICE;
    ev.hdr.symbol = sym;
    const nx_symbol_t *y = sym < d->nsym ? nx_symtab_get(d->symtab, sym) : NULL;
    ev.hdr.venue = y ? (uint8_t)y->venue : 0;
    ev.hdr.exch_ns = d->now;
    ev.u.notice.session = s->id;
    ev.u.notice.kind = (uint8_t)kind;
    ev.u.notice.reason = reason;
    ev.u.notice.until_ns = until_ns;
    if (t) {
        ev.u.notice.qty = t->qty;
        ev.u.notice.entry_px = t->entry_px;
        ev.u.notice.exit_px = t->exit_px;
        ev.u.notice.pnl = t->pnl;
        ev.u.notice.dir = t->dir;
    }
    d->journal(d->ctx, &ev);
}

static int active_locks(const desk_session_t *s, int64_t now)
{
    int n = 0;
    for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++)
        n += s->risk.locks[i].active && s->risk.locks[i].until_ns > now;
    return n;
}

/* The market day holding ms, or NULL outside the table (a binary search:
 * 13 steps over thirty years). */
static const nx_desk_market_day_t *market_day(const nx_desk_t *d, int64_t ms)
{
    uint32_t lo = 0, hi = d->ndays;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ms < d->days[mid].start_ms)
            hi = mid;
        else if (ms >= d->days[mid].end_ms)
            lo = mid + 1;
        else
            return &d->days[mid];
    }
    return NULL;
}

static void on_closed(void *ctx, const nx_trade_closed_t *t)
{
    nx_desk_t *d = ctx;
    desk_session_t *s = desk_session(d, t->session);
    if (!s)
        return;
    desk_dirty(d, s->id);
    int64_t atr = t->symbol < NX_SHIELD_MAX_SYMBOLS ? d->last_atr[t->symbol] : 0;
    int64_t when = t->closed_ns ? t->closed_ns : d->now;
    uint8_t was_tripped = s->risk.tripped;
    int locks_before = active_locks(s, when);
    nx_shield_on_trade_closed(&s->conf, &s->risk, t->symbol, t->pnl, t->reason == NX_EXIT_SL, atr,
                              t->exit_px, when);
    if (s->conf.pdt_min_equity && t->opened_ns) { /* opened and closed on one trading day */
        const nx_desk_market_day_t *a = market_day(d, t->opened_ns / NX_NS_PER_MS),
                                   *b = market_day(d, when / NX_NS_PER_MS);
        if (a && a == b && a->trading)
            nx_shield_on_day_trade(&s->risk, a->index);
    }
    notice(d, s, t->symbol, NX_NOTE_CLOSED, (uint8_t)t->reason, 0, t);
    if (s->risk.tripped && !was_tripped)
        notice(d, s, NX_SYMBOL_NONE, NX_NOTE_BREAKER, 0, s->risk.halt_until, NULL);
    if (active_locks(s, when) > locks_before)
        for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++) {
            const nx_lock_t *l = &s->risk.locks[i];
            if (l->active && l->until_ns > when &&
                (l->symbol == t->symbol || l->symbol == NX_SYMBOL_NONE))
                notice(d, s, l->symbol, NX_NOTE_LOCK, l->reason, l->until_ns, NULL);
        }
    if ((unsigned)t->reason < 16)
        s->exits_by[t->reason]++;
    d->trades[d->n_trades++ % NX_DESK_TRADES] = *t;
    nx_account_info_t ai;
    nx_oms_account(d->oms, s->id, &ai);
    if (ai.balance > s->peak)
        s->peak = ai.balance;
    if (s->peak > 0) {
        int64_t dd = (int64_t)((__int128)(s->peak - ai.balance) * 10000 / s->peak);
        if (dd > s->max_dd_bp)
            s->max_dd_bp = dd;
    }
    const nx_symbol_t *y = nx_symtab_get(d->symtab, t->symbol);
    char pnl[NX_FIXED_FMT_MAX];
    nx_fixed_format(t->pnl, y->price_scale, pnl, sizeof pnl);
    NX_DEBUG("desk", "%s: %s %s closed (%s), P&L %s", s->name, y->name,
             t->dir > 0 ? "long" : "short", nx_exit_reason_name(t->reason), pnl);
}

static void journal(void *ctx, const nx_event_t *ev)
{
    nx_desk_t *d = ctx;
    desk_dirty(d, ev->hdr.type == NX_EV_ORDER_INTENT ? ev->u.intent.session : ev->u.order.session);
    if (d->journal)
        d->journal(d->ctx, ev);
}

int nx_desk_create(nx_desk_t **out, const nx_config_t *cfg, const nx_symtab_t *symtab,
                   nx_journal_cb jcb, void *jctx)
{
    *out = NULL;
    nx_desk_t *d = calloc(1, sizeof *d);
    if (!d)
        return NX_ENOMEM;
    d->symtab = symtab;
    d->nsym = nx_symtab_count(symtab);
    d->journal = jcb;
    d->ctx = jctx;
    d->next_expiry = INT64_MAX;
    if (d->nsym > NX_SHIELD_MAX_SYMBOLS) {
        NX_ERROR("desk", "paper trading supports up to %d symbols", NX_SHIELD_MAX_SYMBOLS);
        free(d);
        return NX_EINVAL;
    }
    nx_paper_opts_t po = {cfg->trading.slippage_bp,
                          cfg->trading.taker_fee_bp,
                          cfg->trading.maker_fee_bp,
                          on_update,
                          d,
                          cfg->trading.max_open_orders,
                          cfg->trading.sanity_bp,
                          cfg->trading.latency_ms};
    d->sanity_bp = cfg->trading.sanity_bp ? cfg->trading.sanity_bp : 2500;
    d->venue = nx_paper_create(&po, symtab);
    d->router.base.ops = &router_ops;
    d->router.d = d;
    nx_oms_opts_t oo = {symtab, &d->router.base, 40, on_closed, journal, d};
    d->oms = d->venue ? nx_oms_create(&oo) : NULL;
    d->trades = calloc(NX_DESK_TRADES, sizeof *d->trades);
    d->save = malloc(NX_STATE_TEXT_MAX);
    d->snap = malloc(sizeof *d->snap);
    if (!d->oms || !d->trades || !d->save || !d->snap) {
        nx_desk_destroy(d);
        return NX_ENOMEM;
    }
    *out = d;
    return 0;
}

int nx_desk_add_session(nx_desk_t *d, uint32_t id, const nx_config_session_t *c, uint64_t follow)
{
    if (!id || id >= (1u << NX_CLID_SESSION_BITS))
        return NX_EINVAL;
    if (desk_session(d, id))
        return NX_EEXIST;
    if (d->n >= NX_CONFIG_MAX_SESSIONS)
        return NX_EFULL;
    desk_session_t *s = &d->s[d->n];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", c->name);
    s->id = id;
    s->user = c->user;
    s->follow = follow;
    nx_risk_conf_default(&s->conf);
    s->conf.mode = (nx_mode_t)c->mode;
    s->conf.leverage = c->leverage;
    s->conf.size_pct_bp = c->size_bp;
    s->conf.risk_pct_bp = c->risk_bp;
    s->conf.max_positions = c->max_positions;
    s->conf.max_trades_day = c->max_trades_day;
    s->conf.weekly_loss_bp = c->weekly_loss_bp;
    s->conf.max_drawdown_bp = c->max_drawdown_bp;
    s->conf.max_drawdown_lock_ns = (int64_t)c->drawdown_lock_s * NX_NS_PER_SEC;
    s->conf.stale_ns = (int64_t)c->stale_s * NX_NS_PER_SEC;
    s->conf.breaker_losses = c->breaker_losses;
    s->conf.breaker_halt_ns = (int64_t)c->breaker_halt_s * NX_NS_PER_SEC;
    s->conf.breaker_max_halts = c->breaker_max_halts;
    s->conf.cooldown_ns = (int64_t)c->cooldown_s * NX_NS_PER_SEC;
    s->conf.sl_guard_stops = c->sl_guard_stops;
    s->conf.sl_guard_window_ns = (int64_t)c->sl_guard_window_s * NX_NS_PER_SEC;
    s->conf.sl_guard_lock_ns = (int64_t)c->sl_guard_lock_s * NX_NS_PER_SEC;
    s->conf.low_profit_trades = c->low_profit_trades;
    s->conf.low_profit_lock_ns = (int64_t)c->low_profit_lock_s * NX_NS_PER_SEC;
    s->conf.approval_ttl_ns = (int64_t)c->approval_ttl_s * NX_NS_PER_SEC;
    s->conf.approval_drift_bp = c->approval_drift_bp;
    s->conf.default_stop_bp = c->stop_bp;
    int64_t eq = 0;
    const nx_symbol_t *first = nx_symtab_get(d->symtab, 0);
    unsigned ps = first ? first->price_scale : 8;
    const char *const money[] = {c->equity, c->daily_loss_stop, c->max_symbol_exposure,
                                 c->max_total_exposure, c->low_profit_min};
    int64_t *const to[] = {&eq, &s->conf.daily_loss_stop, &s->conf.max_symbol_exposure,
                           &s->conf.max_total_exposure, &s->conf.low_profit_min};
    int bad = 0;
    for (int k = 0; k < 5; k++)
        bad |= nx_fixed_parse(money[k], strlen(money[k]), ps, to[k]) != 0;
    s->conf.market_hours = (uint8_t)(c->market_hours != 0);
    s->conf.close_buffer_ns = (int64_t)c->close_buffer_s * NX_NS_PER_SEC;
    /* FINRA's pattern-day-trader minimum: $25,000 of equity */
    s->conf.pdt_min_equity = c->pdt && ps <= 12 ? 25000 * nx_pow10[ps] : 0;
    if (bad || eq <= 0 || nx_risk_conf_check(&s->conf)) {
        NX_ERROR("desk", "session %u (%s): equity %s or a limit cannot be used", id, c->name,
                 c->equity);
        return NX_EINVAL;
    }
    s->trail_bp = c->trail_bp;
    s->time_limit_ns = (int64_t)c->time_limit_s * NX_NS_PER_SEC;
    nx_risk_state_init(&s->risk, eq, 0);
    s->start_equity = s->peak = eq;
    for (uint32_t k = 0; k < d->nsym; k++) {
        const nx_symbol_t *y = nx_symtab_get(d->symtab, k);
        s->trades[k] = c->n_symbols == 0 && y->venue == c->venue;
    }
    for (uint32_t k = 0; k < c->n_symbols; k++)
        if (c->symbols[k] < d->nsym)
            s->trades[c->symbols[k]] = 1;
    if (nx_oms_add_session(d->oms, s->id, eq))
        return NX_EINVAL;
    static const char *const modes[] = {"watcher", "copilot", "pilot"};
    NX_INFO("desk", "session %u (%s, user %lld): %s, paper equity %s, leverage %ux, size %u bp%s",
            id, s->name, (long long)s->user, modes[c->mode <= 2 ? c->mode : 2], c->equity,
            c->leverage, c->size_bp, c->trail_bp ? ", trailing stop" : "");
    d->n++;
    return 0;
}

/* Every decision, rejections and request outcomes included, goes to the
 * journal. */
static void journal_decision(nx_desk_t *d, const desk_session_t *s, uint32_t sym, uint8_t venue,
                             const nx_ev_signal_t *g, const nx_decision_t *dec, uint32_t request,
                             int64_t expires_ns, int64_t now)
{
    /* a rejection or a notification changes only counters (saved with the
     * next change, and at shutdown); a request and its outcome are state */
    if (request || (dec->verdict != NX_V_REJECT && dec->verdict != NX_V_NOTIFY))
        desk_dirty(d, s->id);
    if (!d->journal)
        return;
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_DECISION;
    ev.hdr.venue = venue;
    ev.hdr.symbol = sym;
    ev.hdr.exch_ns = now;
    ev.hdr.recv_ns = d->clock_ns; /* expires_ns is on this clock */
    ev.u.decision.session = s->id;
    ev.u.decision.strategy = g->strategy;
    ev.u.decision.verdict = (uint8_t)dec->verdict;
    ev.u.decision.reason = (uint8_t)dec->reason;
    ev.u.decision.side = dec->side;
    ev.u.decision.signal_side = g->side;
    ev.u.decision.qty = dec->verdict == NX_V_REJECT ? 0 : dec->qty;
    ev.u.decision.price = dec->price;
    ev.u.decision.stop_loss = dec->stop_loss;
    ev.u.decision.take_profit = dec->take_profit;
    ev.u.decision.request = request;
    ev.u.decision.expires_ns = expires_ns;
    d->journal(d->ctx, &ev);
}

/* Carry out an approved decision: an entry with its protection, or an exit. */
static void act(nx_desk_t *d, desk_session_t *s, uint32_t sym, const nx_decision_t *dec,
                int sentinel, int64_t now)
{
    s->orders++;
    if (dec->reduce_only) {
        nx_oms_exit(d->oms, s->id, sym, sentinel ? NX_EXIT_SENTINEL : NX_EXIT_SIGNAL, now);
        return;
    }
    nx_ev_order_intent_t it;
    memset(&it, 0, sizeof it);
    it.session = s->id;
    it.side = dec->side;
    it.qty = dec->qty;
    it.stop_loss = dec->stop_loss;
    it.take_profit = dec->take_profit;
    it.leverage = dec->leverage;
    it.order_type = NX_ORD_MARKET;
    if (s->trail_bp)
        it.trail_offset = (int64_t)((__int128)dec->price * s->trail_bp / 10000);
    int rc = nx_oms_enter(d->oms, sym, &it, s->time_limit_ns, now);
    if (rc)
        NX_LOGK(NX_LOG_WARN, "desk", "desk.enter", "%s: order on %s not placed: %s", s->name,
                nx_symtab_get(d->symtab, sym)->name, nx_strerror(rc));
}

static void next_expiry(nx_desk_t *d)
{
    d->next_expiry = INT64_MAX;
    for (uint32_t i = 0, left = d->n_pending; left && i < DESK_MAX_PENDING; i++)
        if (d->pending[i].id) {
            left--;
            if (d->pending[i].expires_ns < d->next_expiry)
                d->next_expiry = d->pending[i].expires_ns;
        }
}

/* A request leaves the book with its outcome journaled. */
static void resolve(nx_desk_t *d, pending_t *p, nx_reject_t why, int64_t now)
{
    desk_session_t *s = desk_session(d, p->session);
    nx_decision_t dec;
    memset(&dec, 0, sizeof dec);
    dec.verdict = NX_V_REJECT;
    dec.reason = why;
    dec.price = d->last_px[p->symbol];
    journal_decision(d, s, p->symbol, p->venue, &p->signal, &dec, p->id, 0, now);
    if (why == NX_REJ_EXPIRED)
        s->expired++;
    else
        s->declined++;
    d->done[p->id % DESK_MAX_PENDING].id = p->id;
    d->done[p->id % DESK_MAX_PENDING].session = p->session;
    d->done[p->id % DESK_MAX_PENDING].reason = (uint8_t)why;
    p->id = 0;
    d->n_pending--;
    next_expiry(d);
}

static pending_t *pending_find(nx_desk_t *d, uint32_t id)
{
    for (uint32_t i = 0; id && i < DESK_MAX_PENDING; i++)
        if (d->pending[i].id == id)
            return &d->pending[i];
    return NULL;
}

/* COPILOT: the decision becomes a request (replacing an older one for the
 * same session and symbol). */
static void ask(nx_desk_t *d, desk_session_t *s, uint32_t sym, uint8_t venue,
                const nx_ev_signal_t *g, const nx_decision_t *dec, int64_t now)
{
    pending_t *slot = NULL;
    for (uint32_t i = 0; i < DESK_MAX_PENDING; i++) {
        pending_t *p = &d->pending[i];
        if (p->id && p->session == s->id && p->symbol == sym)
            resolve(d, p, NX_REJ_EXPIRED, now); /* superseded */
        if (!p->id && !slot)
            slot = p;
    }
    if (!slot) { /* the book is full: the oldest request gives way */
        slot = &d->pending[0];
        for (uint32_t i = 1; i < DESK_MAX_PENDING; i++)
            if (d->pending[i].id < slot->id)
                slot = &d->pending[i];
        resolve(d, slot, NX_REJ_EXPIRED, now);
    }
    slot->id = ++d->next_request;
    slot->session = s->id;
    slot->symbol = sym;
    slot->venue = venue;
    slot->asked = *dec;
    slot->signal = *g;
    slot->asked_ns = d->clock_ns; /* a person's time: the engine clock */
    slot->expires_ns = d->clock_ns + s->conf.approval_ttl_ns;
    d->n_pending++;
    if (slot->expires_ns < d->next_expiry)
        d->next_expiry = slot->expires_ns;
    s->approvals++;
    journal_decision(d, s, sym, venue, g, dec, slot->id, slot->expires_ns, now);
}

/* Requests whose time ran out on the engine clock. */
static void expire_due(nx_desk_t *d)
{
    for (uint32_t i = 0; d->n_pending && i < DESK_MAX_PENDING; i++) {
        pending_t *p = &d->pending[i];
        if (p->id && d->clock_ns > p->expires_ns)
            resolve(d, p, NX_REJ_EXPIRED, d->last_ns[p->symbol]);
    }
}

/* A perpetual's mark event: once one comes at or after the settlement
 * time the venue announced, funding settles at that event's mark price and
 * the rate the venue gave before the time, on every paper session's open
 * position on the symbol (a live venue books its own: the engine learns of
 * it from the wallet). Each settlement time is paid once, whatever the
 * marks repeat; a journal notice (NX_NOTE_FUNDING) holds each payment. */
static void funding(nx_desk_t *d, uint32_t sym, const nx_ev_mark_t *mk, int64_t at_ns)
{
    desk_funding_t *f = &d->fund[sym];
    int64_t at_ms = at_ns / 1000000;
    if (f->next_ms && at_ms >= f->next_ms && f->rate_e8 != INT64_MIN && mk->mark_px > 0) {
        d->now = at_ns > d->now ? at_ns : d->now;
        for (uint32_t i = 0; i < d->n; i++) {
            desk_session_t *s = &d->s[i];
            if (s->live)
                continue;
            int64_t paid = nx_oms_funding(d->oms, s->id, sym, mk->mark_px, f->rate_e8);
            if (!paid)
                continue;
            nx_position_info_t pi;
            nx_oms_position(d->oms, s->id, sym, &pi);
            desk_notice(d, s->id, sym, NX_NOTE_FUNDING, pi.qty, mk->mark_px, f->rate_e8, -paid);
            desk_dirty(d, s->id);
        }
        f->settled_ms = f->next_ms;
        f->next_ms = 0;
    }
    if (mk->next_funding_ms > f->settled_ms)
        f->next_ms = mk->next_funding_ms;
    if (mk->funding_rate_e8 != INT64_MIN)
        f->rate_e8 = mk->funding_rate_e8;
}

void nx_desk_on_market(nx_desk_t *d, const nx_event_t *ev)
{
    int64_t rx = ev->hdr.recv_ns ? ev->hdr.recv_ns : ev->hdr.exch_ns;
    if (rx > d->clock_ns)
        d->clock_ns = rx;
    if (d->clock_ns > d->next_expiry)
        expire_due(d);
    if (d->dirty)
        desk_save_dirty(d);
    uint32_t sym = ev->hdr.symbol;
    if (sym >= d->nsym)
        return; /* a heartbeat: the clock only */
    if (ev->hdr.type == NX_EV_MARK) {
        funding(d, sym, &ev->u.mark, ev->hdr.exch_ns ? ev->hdr.exch_ns : ev->hdr.recv_ns);
        return;
    }
    int trade = ev->hdr.type == NX_EV_TRADE;
    int candle = ev->hdr.type == NX_EV_KLINE && ev->u.kline.closed;
    if (!trade && !candle && ev->hdr.type != NX_EV_BBO)
        return;
    /* a price out of line with the market moves nothing: not a trailing
     * stop, not the price orders are sized at (pxband.h); the venue, which
     * sees every print, judges them by its own band the same way */
    int sane = !trade && !candle;
    if (trade)
        sane = nx_pxband_take(&d->band[sym], ev->u.trade.price, d->sanity_bp);
    else if (candle)
        sane = nx_pxband_take_range(&d->band[sym], ev->u.kline.open, ev->u.kline.high,
                                    ev->u.kline.low, ev->u.kline.close, d->sanity_bp);
    int64_t now = ev->hdr.exch_ns ? ev->hdr.exch_ns : ev->hdr.recv_ns;
    d->now = now;
    nx_oms_clock(d->oms, now);
    nx_paper_on_market(d->venue, ev);
    if (!sane) {
        d->insane++;
        NX_LOGK(NX_LOG_WARN, "desk", "desk.insane",
                "%s: a price far from the last accepted %lld was not traded on",
                nx_symtab_get(d->symtab, sym)->name, (long long)d->band[sym].ref);
        return;
    }
    if (trade) {
        d->last_px[sym] = ev->u.trade.price;
        nx_oms_on_price(d->oms, sym, ev->u.trade.price, 0, 0, d->now);
    } else if (candle) {
        d->last_px[sym] = ev->u.kline.close;
        nx_oms_on_price(d->oms, sym, ev->u.kline.close, ev->u.kline.low, ev->u.kline.high, d->now);
    } else {
        return; /* a quote: the venue's */
    }
    d->last_ns[sym] = now;
    d->last_rx[sym] = d->clock_ns;
    for (uint32_t i = 0; d->n_unprotected && i < d->n; i++) /* waiting for a price */
        if (d->s[i].unprotected[sym])
            protect_unknown(d, &d->s[i], sym, d->s[i].unprotected[sym]);
    if (d->dirty)
        desk_save_dirty(d);
}

void nx_desk_set_storage_down(nx_desk_t *d, int down)
{
    if (d->storage_down != down)
        NX_LOGK(down ? NX_LOG_ERROR : NX_LOG_INFO, "desk", "desk.storage",
                down ? "storage is down: no new entry until it is back; exits and stops run"
                     : "storage is back: entries again");
    d->storage_down = down;
}

void nx_desk_set_market_days(nx_desk_t *d, const nx_desk_market_day_t *days, uint32_t n)
{
    d->days = days;
    d->ndays = days ? n : 0;
}

void nx_desk_set_sentinel(nx_desk_t *d, uint64_t strategies)
{
    d->sentinel = strategies;
}

static void shield_input(const nx_desk_t *d, uint32_t sym, const nx_ev_signal_t *g, int64_t now,
                         nx_shield_input_t *in)
{
    memset(in, 0, sizeof *in);
    in->signal = g;
    in->sym = nx_symtab_get(d->symtab, sym);
    in->price = d->last_px[sym];
    in->data_age_ns = d->clock_ns - d->last_rx[sym]; /* silence on the engine clock */
    if (in->sym && in->sym->venue == NX_VENUE_ALPACA) { /* US stocks: the market's hours */
        int64_t ms = now / NX_NS_PER_MS;
        const nx_desk_market_day_t *day = market_day(d, ms);
        int open = day && day->trading && ms >= day->open_ms && ms < day->close_ms;
        in->market_closed = !open;
        in->to_close_ns = open ? (day->close_ms - ms) * NX_NS_PER_MS : 0;
        in->trading_day = day ? day->index : 0;
    }
    in->global_kill = d->global_kill;
    in->storage_down = d->storage_down;
    in->sentinel = g->strategy < 64 && (d->sentinel >> g->strategy & 1);
}

void nx_desk_on_signal(nx_desk_t *d, const nx_event_t *sig)
{
    uint32_t sym = sig->hdr.symbol;
    if (sym >= d->nsym || d->last_px[sym] <= 0)
        return;
    const nx_ev_signal_t *g = &sig->u.signal;
    if (g->atr > 0 && g->atr != d->last_atr[sym]) {
        d->last_atr[sym] = g->atr;
        d->dirty_global = 1; /* saved: cooldowns after a restart scale alike */
    }
    /* the signal's own clock: in a replay of several venues each symbol's
     * time is its own (live, they agree) */
    int64_t now = sig->hdr.exch_ns ? sig->hdr.exch_ns : d->last_ns[sym];
    nx_shield_input_t in;
    shield_input(d, sym, g, now, &in);
    int insane = g->ref_price > 0 && !nx_px_within(g->ref_price, d->band[sym].ref, d->sanity_bp);
    if (insane)
        d->insane++;
    for (uint32_t i = 0; i < d->n; i++) {
        desk_session_t *s = &d->s[i];
        if (!s->trades[sym] ||
            (s->follow && (g->strategy >= 64 || !(s->follow >> g->strategy & 1))))
            continue; /* not its symbol, or a strategy it does not follow */
        nx_decision_t dec;
        if (insane) { /* sized at a price the market does not show: no */
            memset(&dec, 0, sizeof dec);
            dec.verdict = NX_V_REJECT;
            dec.reason = NX_REJ_BAD_SIGNAL;
            dec.price = g->ref_price;
        } else {
            nx_shield_decide(&s->conf, &s->risk, &in, now, &dec);
        }
        switch (dec.verdict) {
        case NX_V_REJECT:
            s->by_reason[dec.reason < NX_REJ_COUNT ? dec.reason : 0]++;
            if (dec.reason == NX_REJ_PDT && s->pdt_told != in.trading_day) {
                /* a rule that holds entries for days: said once a day */
                s->pdt_told = in.trading_day;
                notice(d, s, sym, NX_NOTE_REFUSED, NX_REJ_PDT, 0, NULL);
            }
            break;
        case NX_V_NOTIFY:
            s->notifications++;
            break;
        case NX_V_ASK:
            ask(d, s, sym, sig->hdr.venue, g, &dec, now);
            continue; /* journaled with its request id */
        case NX_V_APPROVE:
        case NX_V_RESIZE:
            break;
        }
        journal_decision(d, s, sym, sig->hdr.venue, g, &dec, 0, 0, now);
        if (dec.verdict == NX_V_APPROVE || dec.verdict == NX_V_RESIZE)
            act(d, s, sym, &dec, in.sentinel, now);
    }
    if (d->dirty || d->dirty_global)
        desk_save_dirty(d);
}

/* APPROVE / REJECT of request c->arg. */
static int decide_request(nx_desk_t *d, const nx_ev_control_t *c, nx_reject_t *why)
{
    pending_t *p = c->arg > 0 && c->arg <= UINT32_MAX ? pending_find(d, (uint32_t)c->arg) : NULL;
    if (!p && c->arg > 0 && c->arg <= d->next_request) {
        /* an id handed out before: it expired or was decided already */
        uint32_t k = (uint32_t)c->arg % DESK_MAX_PENDING;
        if (c->session && d->done[k].id == c->arg && d->done[k].session != c->session)
            return NX_ENOENT; /* someone else's */
        *why = d->done[k].id == c->arg ? (nx_reject_t)d->done[k].reason : NX_REJ_EXPIRED;
        return NX_ESTATE;
    }
    if (!p || (c->session && c->session != p->session))
        return NX_ENOENT;
    desk_session_t *s = desk_session(d, p->session);
    int64_t now = d->last_ns[p->symbol];
    if (c->cmd == NX_CTL_REJECT) {
        resolve(d, p, NX_REJ_DECLINED, now);
        *why = NX_REJ_DECLINED;
        return 0;
    }
    nx_shield_input_t in;
    shield_input(d, p->symbol, &p->signal, now, &in);
    nx_decision_t dec;
    nx_shield_approve(&s->conf, &s->risk, &in, &p->asked, d->clock_ns - p->asked_ns, now, &dec);
    *why = dec.reason;
    if (dec.verdict != NX_V_APPROVE && dec.verdict != NX_V_RESIZE) {
        resolve(d, p, dec.reason, now); /* refused, with its reason */
        return NX_ESTATE;
    }
    journal_decision(d, s, p->symbol, p->venue, &p->signal, &dec, p->id, 0, now);
    s->approved++;
    uint32_t sym = p->symbol;
    d->done[p->id % DESK_MAX_PENDING].id = p->id;
    d->done[p->id % DESK_MAX_PENDING].session = p->session;
    d->done[p->id % DESK_MAX_PENDING].reason = NX_REJ_NONE;
    p->id = 0;
    d->n_pending--;
    next_expiry(d);
    act(d, s, sym, &dec, in.sentinel, now); /* a strategy's exit a person approved */
    return 0;
}

/* Drop a session's pending requests (after a panic close). */
static void decline_all(nx_desk_t *d, uint32_t session)
{
    for (uint32_t i = 0; d->n_pending && i < DESK_MAX_PENDING; i++) {
        pending_t *p = &d->pending[i];
        if (p->id && (session == NX_SESSION_ALL || p->session == session))
            resolve(d, p, NX_REJ_DECLINED, d->last_ns[p->symbol]);
    }
}

/* A person's own entry (/forcelong, /forceshort): the shield sizes it and
 * applies every limit as for a strategy's signal, but a person who asks
 * needs no approval, so it is decided as in PILOT mode. The stop is the
 * session's default stop. Returns 0, NX_ESTATE (refused: *why says why,
 * the journal has the decision) or NX_EINVAL. */
static int enter(nx_desk_t *d, desk_session_t *s, const nx_ev_control_t *c, nx_reject_t *why)
{
    if (c->arg < 0 || c->arg >= d->nsym || !s->trades[c->arg] || d->last_px[c->arg] <= 0)
        return NX_EINVAL;
    uint32_t sym = (uint32_t)c->arg;
    nx_event_t sig;
    memset(&sig, 0, sizeof sig);
    sig.hdr.type = NX_EV_SIGNAL;
    sig.hdr.symbol = sym;
    sig.hdr.venue = (uint8_t)nx_symtab_get(d->symtab, sym)->venue;
    nx_ev_signal_t *g = &sig.u.signal;
    g->side = !strcmp(c->text, "short") ? NX_SIG_SELL : NX_SIG_BUY;
    g->confidence = 1.0;
    g->ref_price = d->last_px[sym];
    g->atr = d->last_atr[sym];
    g->strategy = UINT16_MAX; /* a person, not a strategy */
    snprintf(g->reason, sizeof g->reason, "manual");
    int64_t now = d->last_ns[sym] ? d->last_ns[sym] : d->now;
    nx_shield_input_t in;
    shield_input(d, sym, g, now, &in);
    int insane = g->ref_price > 0 && !nx_px_within(g->ref_price, d->band[sym].ref, d->sanity_bp);
    if (insane)
        d->insane++;
    nx_mode_t mode = s->conf.mode;
    s->conf.mode = NX_MODE_PILOT;
    nx_decision_t dec;
    nx_shield_decide(&s->conf, &s->risk, &in, now, &dec);
    s->conf.mode = mode;
    journal_decision(d, s, sym, sig.hdr.venue, g, &dec, 0, 0, now);
    if (dec.verdict != NX_V_APPROVE && dec.verdict != NX_V_RESIZE) {
        *why = dec.reason;
        return NX_ESTATE;
    }
    act(d, s, sym, &dec, 0, now);
    return 0;
}

/* Per-session settings a person may change (/config set), each within the
 * range the config file allows: where the value lives (a field of the
 * session's risk conf, or of the session itself) and its unit, so setting
 * and listing read the same table. */
typedef struct conf_key {
    const char *key;
    int64_t lo, hi;
    int in_session; /* 0: a field of nx_risk_conf_t; 1: of desk_session_t */
    size_t off;     /* offsetof that field */
    int64_t unit;   /* 1: a uint32_t; NX_NS_PER_SEC: an int64_t in ns, set in seconds */
} conf_key_t;
#define RISK(k, f, lo, hi, u)                                                                      \
    {                                                                                              \
        k, lo, hi, 0, offsetof(nx_risk_conf_t, f), u                                               \
    }
#define SESS(k, f, lo, hi, u)                                                                      \
    {                                                                                              \
        k, lo, hi, 1, offsetof(desk_session_t, f), u                                               \
    }
static const conf_key_t conf_keys[] = {
    RISK("leverage", leverage, 1, 20, 1),
    RISK("size_bp", size_pct_bp, 1, 10000, 1),
    RISK("risk_bp", risk_pct_bp, 0, 10000, 1),
    RISK("max_positions", max_positions, 0, 1000, 1),
    RISK("max_trades_day", max_trades_day, 0, 100000, 1),
    SESS("trail_bp", trail_bp, 0, 5000, 1),
    RISK("stop_bp", default_stop_bp, 1, 5000, 1),
    RISK("cooldown_s", cooldown_ns, 0, 604800, NX_NS_PER_SEC),
    SESS("time_limit_s", time_limit_ns, 0, 31536000, NX_NS_PER_SEC),
    RISK("approval_ttl_s", approval_ttl_ns, 1, 86400, NX_NS_PER_SEC),
    RISK("breaker_losses", breaker_losses, 1, 100, 1),
    {NULL, 0, 0, 0, 0, 0},
};
#undef RISK
#undef SESS

static int64_t conf_get(const void *base, const conf_key_t *k)
{
    const char *p = (const char *)base + k->off;
    if (k->unit == 1)
        return *(const uint32_t *)(const void *)p;
    return *(const int64_t *)(const void *)p / k->unit;
}

static void conf_put(void *base, const conf_key_t *k, int64_t v)
{
    char *p = (char *)base + k->off;
    if (k->unit == 1)
        *(uint32_t *)(void *)p = (uint32_t)v;
    else
        *(int64_t *)(void *)p = v * k->unit;
}

static int set_conf(desk_session_t *s, const char *key, int64_t v)
{
    const conf_key_t *k = conf_keys;
    while (k->key && strcmp(k->key, key))
        k++;
    if (!k->key || v < k->lo || v > k->hi)
        return NX_ERANGE;
    if (k->in_session) {
        conf_put(s, k, v);
        return 0;
    }
    nx_risk_conf_t c = s->conf; /* the shield checks the whole of it first */
    conf_put(&c, k, v);
    if (nx_risk_conf_check(&c))
        return NX_ERANGE;
    s->conf = c;
    return 0;
}

int nx_desk_setting(const nx_desk_t *d, uint32_t session, int i, const char **key, int64_t *value,
                    int64_t *lo, int64_t *hi)
{
    const desk_session_t *s = desk_session((nx_desk_t *)d, session);
    if (!s || i < 0 || i >= (int)(sizeof conf_keys / sizeof conf_keys[0]) - 1)
        return NX_ENOENT;
    const conf_key_t *k = &conf_keys[i];
    *key = k->key;
    *value = conf_get(k->in_session ? (const void *)s : (const void *)&s->conf, k);
    *lo = k->lo;
    *hi = k->hi;
    return 0;
}

int nx_desk_positions(const nx_desk_t *d, uint32_t session, nx_desk_position_t *out, int max)
{
    int n = 0;
    for (uint32_t sym = 0; sym < d->nsym && n < max; sym++) {
        nx_position_info_t p;
        if (nx_oms_position(d->oms, session, sym, &p) || p.qty == 0)
            continue;
        out[n].symbol = sym;
        out[n].pos = p;
        out[n].last_px = d->last_px[sym];
        n++;
    }
    return n;
}

static int session_command(nx_desk_t *d, desk_session_t *s, const nx_ev_control_t *c)
{
    switch (c->cmd) {
    case NX_CTL_PAUSE:
    case NX_CTL_RESUME:
        s->risk.paused = c->cmd == NX_CTL_PAUSE;
        s->held = 0; /* a person has looked: resumed, or paused on purpose */
        return 0;
    case NX_CTL_MODE:
        if (c->arg < NX_MODE_WATCHER || c->arg > NX_MODE_PILOT)
            return NX_EINVAL;
        s->conf.mode = (nx_mode_t)c->arg;
        return 0;
    case NX_CTL_KILL:
        s->risk.kill = c->arg != 0;
        return 0;
    case NX_CTL_RESET:
        nx_shield_reset_breaker(&s->risk);
        return 0;
    case NX_CTL_UNLOCK:
        if (c->arg != NX_SYMBOL_NONE && (c->arg < 0 || c->arg >= d->nsym))
            return NX_EINVAL;
        return nx_shield_unlock(&s->risk, (uint32_t)c->arg) > 0 ? 0 : NX_ENOENT;
    case NX_CTL_EXIT:
        if (c->arg < 0 || c->arg >= d->nsym)
            return NX_EINVAL;
        return nx_oms_exit(d->oms, s->id, (uint32_t)c->arg, NX_EXIT_MANUAL,
                           d->last_ns[c->arg] ? d->last_ns[c->arg] : d->now);
    case NX_CTL_PANIC:
        nx_oms_panic(d->oms, s->id, d->now);
        decline_all(d, s->id);
        return 0;
    case NX_CTL_SET:
        return set_conf(s, c->text, c->arg);
    default:
        return NX_EINVAL; /* not the desk's (reload, shutdown: the engine's) */
    }
}

static int control(nx_desk_t *d, const nx_ev_control_t *c, nx_reject_t *why);

int nx_desk_control(nx_desk_t *d, const nx_ev_control_t *c, nx_reject_t *why)
{
    int rc = control(d, c, why);
    if (c->session)
        desk_dirty(d, c->session);
    else
        d->dirty = desk_every_session(d);
    d->dirty_global |= c->session == 0;
    desk_save_dirty(d);
    return rc;
}

static int control(nx_desk_t *d, const nx_ev_control_t *c, nx_reject_t *why)
{
    nx_reject_t ignored;
    if (!why)
        why = &ignored;
    *why = NX_REJ_NONE;
    if (c->cmd == NX_CTL_APPROVE || c->cmd == NX_CTL_REJECT)
        return decide_request(d, c, why);
    if (c->session) {
        desk_session_t *s = desk_session(d, c->session);
        if (s && c->cmd == NX_CTL_ENTER)
            return enter(d, s, c, why); /* a refusal says why, as an approval's does */
        return s ? session_command(d, s, c) : NX_ENOENT;
    }
    if (c->cmd == NX_CTL_KILL) { /* the global switch, kept apart from the users' own */
        d->global_kill = c->arg != 0;
        NX_WARN("desk", "global kill switch %s", d->global_kill ? "ON: only exits pass" : "off");
        return 0;
    }
    if (c->cmd == NX_CTL_PANIC) {
        nx_oms_panic(d->oms, NX_SESSION_ALL, d->now);
        decline_all(d, NX_SESSION_ALL);
        return 0;
    }
    int rc = 0, any = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        int r = session_command(d, &d->s[i], c);
        any |= r == 0;
        if (r && r != NX_ENOENT)
            rc = r;
    }
    return rc ? rc : any ? 0 : NX_ENOENT;
}

int nx_desk_info(const nx_desk_t *d, uint32_t session, nx_desk_info_t *out)
{
    memset(out, 0, sizeof *out);
    const desk_session_t *s = desk_session((nx_desk_t *)d, session);
    if (!s)
        return NX_ENOENT;
    nx_account_info_t ai;
    nx_oms_account(d->oms, s->id, &ai);
    snprintf(out->name, sizeof out->name, "%s", s->name);
    out->user = s->user;
    out->mode = s->conf.mode;
    out->paused = s->risk.paused;
    out->held = s->held;
    out->kill = s->risk.kill;
    out->global_kill = (uint8_t)d->global_kill;
    out->breaker_tripped = s->risk.tripped && d->now < s->risk.halt_until;
    out->breaker_until_ns = s->risk.tripped ? s->risk.halt_until : 0;
    out->balance = ai.balance;
    out->start_equity = s->start_equity;
    out->fees = ai.fees;
    out->trades = ai.trades;
    out->wins = ai.wins;
    out->open_positions = ai.open_positions;
    out->max_drawdown_bp = (uint32_t)s->max_dd_bp;
    out->approved = s->approved;
    out->declined = s->declined;
    out->expired = s->expired;
    out->notifications = s->notifications;
    out->approval_requests = s->approvals;
    memcpy(out->exits, s->exits_by, sizeof out->exits);
    for (uint32_t i = 0; i < DESK_MAX_PENDING; i++)
        out->pending_approvals += d->pending[i].id && d->pending[i].session == s->id;
    return 0;
}

int nx_desk_locks(const nx_desk_t *d, uint32_t session, nx_lock_t *out, int max)
{
    const desk_session_t *s = desk_session((nx_desk_t *)d, session);
    int n = 0;
    for (int i = 0; s && i < NX_SHIELD_MAX_LOCKS && n < max; i++) {
        const nx_lock_t *l = &s->risk.locks[i];
        int64_t now = l->symbol < d->nsym ? d->last_ns[l->symbol] : d->now;
        if (l->active && now < l->until_ns)
            out[n++] = *l;
    }
    return n;
}

int nx_desk_approvals(const nx_desk_t *d, uint32_t session, nx_desk_approval_t *out, int max)
{
    const pending_t *all[DESK_MAX_PENDING];
    int n = 0;
    for (uint32_t i = 0; i < DESK_MAX_PENDING; i++) {
        const pending_t *p = &d->pending[i];
        if (!p->id || (session && p->session != session))
            continue;
        int k = n++;
        for (; k > 0 && all[k - 1]->id > p->id; k--) /* oldest (lowest id) first */
            all[k] = all[k - 1];
        all[k] = p;
    }
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++)
        out[i] = (nx_desk_approval_t){all[i]->id,    all[i]->session,  all[i]->symbol,
                                      all[i]->asked, all[i]->asked_ns, all[i]->expires_ns};
    return n;
}

int nx_desk_trades(const nx_desk_t *d, uint32_t session, nx_trade_closed_t *out, int max)
{
    uint64_t first = d->n_trades > NX_DESK_TRADES ? d->n_trades - NX_DESK_TRADES : 0;
    int n = 0;
    /* newest backwards until max are found, then put in order */
    for (uint64_t i = d->n_trades; i > first && n < max; i--) {
        const nx_trade_closed_t *t = &d->trades[(i - 1) % NX_DESK_TRADES];
        if (!session || t->session == session)
            out[n++] = *t;
    }
    for (int i = 0; i < n / 2; i++) {
        nx_trade_closed_t x = out[i];
        out[i] = out[n - 1 - i];
        out[n - 1 - i] = x;
    }
    return n;
}

int nx_desk_resume_ids(nx_desk_t *d, uint32_t session, uint64_t last_client_seq)
{
    return nx_oms_resume_ids(d->oms, session, last_client_seq);
}

void nx_desk_resume_requests(nx_desk_t *d, uint32_t last_request)
{
    if (last_request > d->next_request)
        d->next_request = last_request;
}

uint32_t nx_desk_sessions(const nx_desk_t *d)
{
    return d ? d->n : 0;
}

uint32_t nx_desk_session_at(const nx_desk_t *d, uint32_t i)
{
    return d && i < d->n ? d->s[i].id : 0;
}

int64_t nx_desk_now(const nx_desk_t *d)
{
    return d->now;
}

void nx_desk_summary(const nx_desk_t *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; i < d->n; i++) {
        const desk_session_t *s = &d->s[i];
        nx_account_info_t ai;
        nx_oms_account(d->oms, s->id, &ai);
        const nx_symbol_t *y = nx_symtab_get(d->symtab, 0);
        unsigned ps = y ? y->price_scale : 8;
        char bal[NX_FIXED_FMT_MAX], pnl[NX_FIXED_FMT_MAX], fees[NX_FIXED_FMT_MAX];
        nx_fixed_format(ai.balance, ps, bal, sizeof bal);
        nx_fixed_format(ai.balance - s->start_equity, ps, pnl, sizeof pnl);
        nx_fixed_format(ai.fees, ps, fees, sizeof fees);
        uint64_t rej = 0;
        for (int r = 0; r < NX_REJ_COUNT; r++)
            rej += s->by_reason[r];
        static const char *const modes[] = {"watcher", "copilot", "pilot"};
        NX_INFO(
            "summary",
            "session %s (%s): trades=%u wins=%u win_rate=%.1f%% pnl=%s fees=%s balance=%s "
            "max_drawdown=%.2f%% open_positions=%u exits tp=%llu sl=%llu trailing=%llu time=%llu "
            "sentinel=%llu signal=%llu | notifications=%llu approval_requests=%llu approved=%llu "
            "declined=%llu expired=%llu rejected=%llu (breaker=%llu cooldown=%llu "
            "has_position=%llu storage_down=%llu)",
            s->name, modes[s->conf.mode], ai.trades, ai.wins,
            ai.trades ? 100.0 * ai.wins / ai.trades : 0.0, pnl, fees, bal,
            (double)s->max_dd_bp / 100.0, ai.open_positions,
            (unsigned long long)s->exits_by[NX_EXIT_TP],
            (unsigned long long)s->exits_by[NX_EXIT_SL],
            (unsigned long long)s->exits_by[NX_EXIT_TRAILING],
            (unsigned long long)s->exits_by[NX_EXIT_TIME],
            (unsigned long long)s->exits_by[NX_EXIT_SENTINEL],
            (unsigned long long)s->exits_by[NX_EXIT_SIGNAL], (unsigned long long)s->notifications,
            (unsigned long long)s->approvals, (unsigned long long)s->approved,
            (unsigned long long)s->declined, (unsigned long long)s->expired,
            (unsigned long long)rej, (unsigned long long)s->by_reason[NX_REJ_BREAKER],
            (unsigned long long)s->by_reason[NX_REJ_COOLDOWN],
            (unsigned long long)s->by_reason[NX_REJ_HAS_POSITION],
            (unsigned long long)s->by_reason[NX_REJ_STORAGE]);
    }
}

void nx_desk_destroy(nx_desk_t *d)
{
    if (!d)
        return;
    nx_oms_destroy(d->oms);
    nx_paper_destroy(d->venue);
    free(d->trades);
    free(d->save);
    free(d->snap);
    free(d);
}
