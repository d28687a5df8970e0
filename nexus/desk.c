/*
 * desk.c — signals to orders, per user session (see desk.h).
 *
 * For each signal the desk asks every session that trades the symbol's
 * shield (shield.h) for a decision and carries it out on the order manager
 * (effectors.h) over the paper venue: PILOT approvals become orders with
 * their stop-loss and take-profit (and trailing stop / time limit from the
 * session's config), exits close positions (Sentinel's Black Swan as
 * "sentinel"), WATCHER notifications and COPILOT approval requests are
 * counted here (the chat bot turns them into messages in a later release),
 * and rejections are counted by reason. Market events reach the paper venue
 * and the order manager before the cortex, so an order placed on a candle's
 * close fills at that close and its stops watch the next candle.
 *
 * Money: a session's equity is held at the price scale of the symbols it
 * trades (the example configs use one scale for every symbol).
 */
#include "desk.h"

#include "nx/effectors.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/shield.h"

#include <stdlib.h>
#include <string.h>

typedef struct desk_session {
    char name[32];
    uint32_t id;
    nx_risk_conf_t conf;
    nx_risk_state_t risk;
    uint8_t trades[NX_SHIELD_MAX_SYMBOLS];
    uint32_t trail_bp;
    int64_t time_limit_ns;
    int64_t start_equity, peak, max_dd_bp;
    uint64_t notifications, approvals, orders, by_reason[NX_REJ_COUNT];
    uint64_t exits_by[16];
} desk_session_t;

struct nx_desk {
    const nx_symtab_t *symtab;
    uint32_t nsym;
    nx_bridge_t *venue;
    nx_oms_t *oms;
    nx_journal_cb journal;
    void *ctx;
    int64_t last_px[NX_SHIELD_MAX_SYMBOLS], last_ns[NX_SHIELD_MAX_SYMBOLS];
    int64_t now;
    uint32_t n;
    desk_session_t s[NX_CONFIG_MAX_SESSIONS];
};

static desk_session_t *session_by_id(nx_desk_t *d, uint32_t id)
{
    return id >= 1 && id <= d->n ? &d->s[id - 1] : NULL;
}

static void sync_position(nx_desk_t *d, desk_session_t *s, uint32_t sym)
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
    desk_session_t *s = u->last_qty ? session_by_id(d, u->session) : NULL;
    if (s)
        sync_position(d, s, symbol);
}

static void on_closed(void *ctx, const nx_trade_closed_t *t)
{
    nx_desk_t *d = ctx;
    desk_session_t *s = session_by_id(d, t->session);
    if (!s)
        return;
    nx_shield_on_trade_closed(&s->conf, &s->risk, t->symbol, t->pnl, t->reason == NX_EXIT_SL, 0,
                              t->exit_px, t->closed_ns ? t->closed_ns : d->now);
    if ((unsigned)t->reason < 16)
        s->exits_by[t->reason]++;
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
    if (d->journal)
        d->journal(d->ctx, ev);
}

int nx_desk_create(nx_desk_t **out, const nx_config_t *cfg, const nx_symtab_t *symtab,
                   nx_journal_cb jcb, void *jctx)
{
    *out = NULL;
    if (!cfg->trading.n_sessions)
        return 0;
    nx_desk_t *d = calloc(1, sizeof *d);
    if (!d)
        return NX_ENOMEM;
    d->symtab = symtab;
    d->nsym = nx_symtab_count(symtab);
    d->journal = jcb;
    d->ctx = jctx;
    if (d->nsym > NX_SHIELD_MAX_SYMBOLS) {
        NX_ERROR("desk", "paper trading supports up to %d symbols", NX_SHIELD_MAX_SYMBOLS);
        free(d);
        return NX_EINVAL;
    }
    nx_paper_opts_t po = {cfg->trading.slippage_bp, cfg->trading.taker_fee_bp,
                          cfg->trading.maker_fee_bp, on_update, d};
    d->venue = nx_paper_create(&po, symtab);
    nx_oms_opts_t oo = {symtab, d->venue, 40, on_closed, journal, d};
    d->oms = d->venue ? nx_oms_create(&oo) : NULL;
    if (!d->oms) {
        nx_desk_destroy(d);
        return NX_ENOMEM;
    }
    const nx_symbol_t *first = nx_symtab_get(symtab, 0);
    for (uint32_t i = 0; i < cfg->trading.n_sessions; i++) {
        const nx_config_session_t *c = &cfg->trading.sessions[i];
        desk_session_t *s = &d->s[d->n];
        snprintf(s->name, sizeof s->name, "%s", c->name);
        s->id = d->n + 1;
        nx_risk_conf_default(&s->conf);
        s->conf.mode = (nx_mode_t)c->mode;
        s->conf.leverage = c->leverage;
        s->conf.size_pct_bp = c->size_bp;
        s->conf.risk_pct_bp = c->risk_bp;
        s->conf.max_positions = c->max_positions;
        s->conf.max_trades_day = c->max_trades_day;
        s->conf.weekly_loss_bp = c->weekly_loss_bp;
        s->conf.max_drawdown_bp = c->max_drawdown_bp;
        s->conf.max_drawdown_lock_ns = 86400LL * NX_NS_PER_SEC;
        s->conf.breaker_losses = c->breaker_losses;
        s->conf.breaker_halt_ns = (int64_t)c->breaker_halt_s * NX_NS_PER_SEC;
        s->conf.cooldown_ns = (int64_t)c->cooldown_s * NX_NS_PER_SEC;
        s->conf.stale_ns = 0; /* replayed candles are as fresh as the clock they bring */
        int64_t eq = 0, dls = 0;
        unsigned ps = first ? first->price_scale : 8;
        if (nx_fixed_parse(c->equity, strlen(c->equity), ps, &eq) ||
            nx_fixed_parse(c->daily_loss_stop, strlen(c->daily_loss_stop), ps, &dls) ||
            nx_risk_conf_check(&s->conf)) {
            NX_ERROR("desk", "session %s: equity %s or a limit cannot be used", c->name, c->equity);
            nx_desk_destroy(d);
            return NX_EINVAL;
        }
        s->conf.daily_loss_stop = dls;
        s->trail_bp = c->trail_bp;
        s->time_limit_ns = (int64_t)c->time_limit_s * NX_NS_PER_SEC;
        nx_risk_state_init(&s->risk, eq, 0);
        s->start_equity = s->peak = eq;
        for (uint32_t k = 0; k < d->nsym; k++)
            s->trades[k] = c->n_symbols == 0;
        for (uint32_t k = 0; k < c->n_symbols; k++)
            s->trades[c->symbols[k]] = 1;
        if (nx_oms_add_session(d->oms, s->id, eq)) {
            nx_desk_destroy(d);
            return NX_EINVAL;
        }
        static const char *const modes[] = {"watcher", "copilot", "pilot"};
        NX_INFO("desk", "session %s: %s, paper equity %s, leverage %ux, size %u bp%s", s->name,
                modes[c->mode], c->equity, c->leverage, c->size_bp,
                c->trail_bp ? ", trailing stop" : "");
        d->n++;
    }
    *out = d;
    return 0;
}

void nx_desk_on_market(nx_desk_t *d, const nx_event_t *ev)
{
    uint32_t sym = ev->hdr.symbol;
    if (sym >= d->nsym)
        return;
    int64_t now = ev->hdr.exch_ns ? ev->hdr.exch_ns : ev->hdr.recv_ns;
    d->now = now;
    if (ev->hdr.type == NX_EV_TRADE) {
        nx_paper_on_market(d->venue, ev);
        d->last_px[sym] = ev->u.trade.price;
        nx_oms_on_price(d->oms, sym, ev->u.trade.price, 0, 0, d->now);
    } else if (ev->hdr.type == NX_EV_KLINE && ev->u.kline.closed) {
        nx_paper_on_market(d->venue, ev);
        d->last_px[sym] = ev->u.kline.close;
        nx_oms_on_price(d->oms, sym, ev->u.kline.close, ev->u.kline.low, ev->u.kline.high, d->now);
    } else if (ev->hdr.type == NX_EV_BBO) {
        nx_paper_on_market(d->venue, ev);
        return;
    } else {
        return;
    }
    d->last_ns[sym] = now;
}

void nx_desk_on_signal(nx_desk_t *d, const nx_event_t *sig)
{
    uint32_t sym = sig->hdr.symbol;
    if (sym >= d->nsym || d->last_px[sym] <= 0)
        return;
    const nx_symbol_t *y = nx_symtab_get(d->symtab, sym);
    const nx_ev_signal_t *g = &sig->u.signal;
    /* the signal's own clock: in a replay of several venues each symbol's
     * time is its own (live, they agree) */
    int64_t now = sig->hdr.exch_ns ? sig->hdr.exch_ns : d->last_ns[sym];
    nx_shield_input_t in;
    memset(&in, 0, sizeof in);
    in.signal = g;
    in.sym = y;
    in.price = d->last_px[sym];
    in.data_age_ns = now - d->last_ns[sym];
    in.sentinel = strcmp(g->reason, "black_swan") == 0;
    for (uint32_t i = 0; i < d->n; i++) {
        desk_session_t *s = &d->s[i];
        if (!s->trades[sym])
            continue;
        nx_decision_t dec;
        nx_shield_decide(&s->conf, &s->risk, &in, now, &dec);
        if (d->journal) { /* every decision, rejections included, goes to the journal */
            nx_event_t ev;
            memset(&ev, 0, sizeof ev);
            ev.hdr.type = NX_EV_DECISION;
            ev.hdr.venue = sig->hdr.venue;
            ev.hdr.symbol = sym;
            ev.hdr.exch_ns = now;
            ev.u.decision.session = s->id;
            ev.u.decision.strategy = g->strategy;
            ev.u.decision.verdict = (uint8_t)dec.verdict;
            ev.u.decision.reason = (uint8_t)dec.reason;
            ev.u.decision.side = dec.side;
            ev.u.decision.signal_side = g->side;
            ev.u.decision.qty = dec.verdict == NX_V_REJECT ? 0 : dec.qty;
            ev.u.decision.price = dec.price;
            ev.u.decision.stop_loss = dec.stop_loss;
            ev.u.decision.take_profit = dec.take_profit;
            d->journal(d->ctx, &ev);
        }
        switch (dec.verdict) {
        case NX_V_REJECT:
            s->by_reason[dec.reason < NX_REJ_COUNT ? dec.reason : 0]++;
            break;
        case NX_V_NOTIFY:
            s->notifications++;
            break;
        case NX_V_ASK:
            s->approvals++;
            break;
        case NX_V_APPROVE:
        case NX_V_RESIZE:
            s->orders++;
            if (dec.reduce_only) {
                nx_oms_exit(d->oms, s->id, sym, in.sentinel ? NX_EXIT_SENTINEL : NX_EXIT_SIGNAL,
                            now);
            } else {
                nx_ev_order_intent_t it;
                memset(&it, 0, sizeof it);
                it.session = s->id;
                it.side = dec.side;
                it.qty = dec.qty;
                it.stop_loss = dec.stop_loss;
                it.take_profit = dec.take_profit;
                it.leverage = dec.leverage;
                it.order_type = NX_ORD_MARKET;
                if (s->trail_bp)
                    it.trail_offset = (int64_t)((__int128)dec.price * s->trail_bp / 10000);
                int rc = nx_oms_enter(d->oms, sym, &it, s->time_limit_ns, now);
                if (rc)
                    NX_LOGK(NX_LOG_WARN, "desk", "desk.enter", "%s: order on %s not placed: %s",
                            s->name, y->name, nx_strerror(rc));
            }
            break;
        }
    }
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
            "sentinel=%llu signal=%llu | notifications=%llu approval_requests=%llu "
            "rejected=%llu (breaker=%llu cooldown=%llu has_position=%llu)",
            s->name, modes[s->conf.mode], ai.trades, ai.wins,
            ai.trades ? 100.0 * ai.wins / ai.trades : 0.0, pnl, fees, bal,
            (double)s->max_dd_bp / 100.0, ai.open_positions,
            (unsigned long long)s->exits_by[NX_EXIT_TP],
            (unsigned long long)s->exits_by[NX_EXIT_SL],
            (unsigned long long)s->exits_by[NX_EXIT_TRAILING],
            (unsigned long long)s->exits_by[NX_EXIT_TIME],
            (unsigned long long)s->exits_by[NX_EXIT_SENTINEL],
            (unsigned long long)s->exits_by[NX_EXIT_SIGNAL], (unsigned long long)s->notifications,
            (unsigned long long)s->approvals, (unsigned long long)rej,
            (unsigned long long)s->by_reason[NX_REJ_BREAKER],
            (unsigned long long)s->by_reason[NX_REJ_COOLDOWN],
            (unsigned long long)s->by_reason[NX_REJ_HAS_POSITION]);
    }
}

void nx_desk_destroy(nx_desk_t *d)
{
    if (!d)
        return;
    nx_oms_destroy(d->oms);
    nx_paper_destroy(d->venue);
    free(d);
}
