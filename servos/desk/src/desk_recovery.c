/*
 * desk_recovery.c — the desk opened again after a restart, and checked
 * against the venue and the stored fills (see desk.h for the order of the
 * steps; the saved text is read through its codec, desk_state.h).
 *
 * Start-up only, before the first market event: it allocates (the decoded
 * state) and logs freely. Nothing is invented: what was saved is restored
 * as saved, and a session whose saved state, fills and venue do not agree
 * is held until a person resumes it.
 */
#include "desk_int.h"

#include "nx/error.h"
#include "nx/log.h"
#include "nx/paper.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nx_desk_restore_order(nx_desk_t *d, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    desk_session_t *s = desk_session(d, in->session);
    if (s && s->live)
        return 0; /* the live venue holds its own book; the adapter adopts it (engine) */
    return nx_paper_restore_order(d->venue, in, symbol);
}

void nx_desk_resume_fills(nx_desk_t *d, uint64_t last_fill_id)
{
    nx_paper_resume_ids(d->venue, last_fill_id, last_fill_id);
}

static void restore_risk(desk_session_t *s, const nx_state_risk_t *r)
{
    nx_risk_state_t *x = &s->risk;
    x->equity = r->equity;
    x->peak_equity = r->peak;
    x->day_start_ms = r->day_ms;
    x->week_start_ms = r->week_ms;
    x->week_start_equity = r->week_equity;
    x->day_pnl = r->day_pnl;
    x->week_pnl = r->week_pnl;
    x->trades_today = r->trades_today;
    x->consecutive_losses = r->losses;
    x->halts = r->halts;
    x->tripped = r->tripped;
    x->kill = r->kill;
    x->paused = r->paused;
    s->held = r->held;
    x->halt_until = r->halt_until;
    x->n_day_trades = r->n_day_trades;
    memcpy(x->day_trades, r->day_trades, sizeof x->day_trades);
}

static int restore_desk(desk_session_t *s, const nx_state_desk_t *k)
{
    if (k->mode < NX_MODE_WATCHER || k->mode > NX_MODE_PILOT)
        return NX_EINVAL;
    s->conf.mode = (nx_mode_t)k->mode;
    s->start_equity = k->start_equity;
    s->peak = k->peak;
    s->max_dd_bp = k->max_dd_bp;
    s->notifications = k->notifications;
    s->approvals = k->approvals;
    s->orders = k->orders;
    s->approved = k->approved;
    s->declined = k->declined;
    s->expired = k->expired;
    memcpy(s->exits_by, k->exits, sizeof s->exits_by);
    for (uint32_t i = 0; i < NX_REJ_COUNT; i++)
        s->by_reason[i] = i < k->n_rejects ? k->rejects[i] : 0;
    return 0;
}

static int restore_lists(nx_desk_t *d, desk_session_t *s, const nx_state_session_t *st)
{
    for (uint32_t i = 0; i < st->n_locks; i++) {
        int64_t sym = st->locks[i].symbol;
        if (sym < -1 || sym >= (int64_t)d->nsym)
            return NX_EINVAL;
        s->risk.locks[i] = (nx_lock_t){sym < 0 ? NX_SYMBOL_NONE : (uint32_t)sym,
                                       (uint8_t)st->locks[i].reason, 1, st->locks[i].until_ns};
    }
    for (uint32_t i = 0; i < st->n_symbols; i++) {
        const nx_state_symbol_t *x = &st->symbols[i];
        if (x->sym < 0 || x->sym >= (int64_t)d->nsym)
            return NX_EINVAL;
        nx_risk_symbol_t *q = &s->risk.sym[x->sym];
        q->cooldown_until = x->cooldown_until;
        q->n_stopouts = x->n_stopouts;
        q->n_results = x->n_results;
        memcpy(q->stopouts, x->stopouts, sizeof q->stopouts);
        memcpy(q->results, x->results, sizeof q->results);
    }
    return 0;
}

static int restore_position(nx_desk_t *d, desk_session_t *s, const nx_state_position_t *v)
{
    int64_t y = v->sym;
    if (!v->ok || y < 0 || y >= (int64_t)d->nsym ||
        strcmp(v->name, nx_symtab_get(d->symtab, (uint32_t)y)->name) != 0)
        return NX_EINVAL;
    nx_oms_pos_state_t p;
    memset(&p, 0, sizeof p);
    p.entry_value = v->entry_value;
    p.exit_value = v->exit_value;
    p.qty = v->qty;
    p.entry_qty = v->entry_qty;
    p.exit_qty = v->exit_qty;
    p.fees = v->fees;
    p.funding = v->funding;
    p.sl = v->sl;
    p.tp = v->tp;
    p.trail_offset = v->trail_offset;
    p.trail_activate = v->trail_activate;
    p.trail_best = v->trail_best;
    p.trail_stop = v->trail_stop;
    p.trail_on = v->trail_on;
    p.trail_at_venue = v->trail_at_venue;
    p.deadline_ns = v->deadline_ns;
    p.opened_ns = v->opened_ns;
    p.last_px = v->last_px;
    p.leverage = v->leverage;
    p.sl_clid = v->sl_clid;
    p.tp_clid = v->tp_clid;
    int rc = nx_oms_restore_position(d->oms, s->id, (uint32_t)y, &p);
    if (rc)
        return rc;
    desk_sync_position(d, s, (uint32_t)y);
    if (d->last_px[y] <= 0)
        d->last_px[y] = p.last_px;
    return 0;
}

static int restore_approval(nx_desk_t *d, desk_session_t *s, const nx_state_approval_t *v)
{
    int64_t id = v->id, y = v->sym;
    if (!v->ok || id <= 0 || id > UINT32_MAX || y < 0 || y >= (int64_t)d->nsym)
        return NX_EINVAL;
    pending_t *slot = NULL;
    for (uint32_t i = 0; i < DESK_MAX_PENDING && !slot; i++)
        if (!d->pending[i].id)
            slot = &d->pending[i];
    if (!slot)
        return NX_EFULL;
    memset(slot, 0, sizeof *slot);
    slot->id = (uint32_t)id;
    slot->session = s->id;
    slot->symbol = (uint32_t)y;
    slot->venue = (uint8_t)v->venue;
    slot->asked_ns = v->asked_ns;
    slot->expires_ns = v->expires_ns;
    nx_decision_t *a = &slot->asked;
    a->verdict = (nx_verdict_t)v->verdict;
    a->reason = (nx_reject_t)v->reason;
    a->side = (uint8_t)v->side;
    a->reduce_only = (uint8_t)v->reduce_only;
    a->leverage = (uint8_t)v->leverage;
    a->qty = v->qty;
    a->price = v->price;
    a->stop_loss = v->stop_loss;
    a->take_profit = v->take_profit;
    slot->signal = v->signal;
    d->n_pending++;
    if (slot->expires_ns < d->next_expiry)
        d->next_expiry = slot->expires_ns;
    if (slot->id > d->next_request)
        d->next_request = slot->id;
    if (d->last_px[y] <= 0)
        d->last_px[y] = a->price;
    return 0;
}

static int restore_global(nx_desk_t *d, const char *text, size_t len)
{
    nx_state_global_t g;
    char err[160];
    if (nx_state_decode_global(text, len, &g, err, sizeof err)) {
        NX_ERROR("recovery", "the desk's saved state is unreadable: %s", err);
        return NX_EINVAL;
    }
    d->global_kill = g.global_kill;
    for (uint32_t y = 0; y < d->nsym && y < g.n_atr; y++)
        d->last_atr[y] = g.atr[y];
    if (d->global_kill)
        NX_WARN("recovery", "the global kill switch was on and stays on");
    return 0;
}

int nx_desk_restore(nx_desk_t *d, uint32_t session, uint64_t seq, const char *text, size_t len)
{
    if (session == 0)
        return restore_global(d, text, len);
    nx_state_session_t *st = malloc(sizeof *st);
    char err[160];
    int rc = st ? nx_state_decode(text, len, st, err, sizeof err) : NX_ENOMEM;
    if (rc) {
        NX_ERROR("recovery", "session %u: saved state unreadable: %s", session,
                 st ? err : "out of memory");
        free(st);
        desk_session_t *s = desk_session(d, session);
        if (s)
            s->restored = 2; /* present but unusable */
        return NX_EINVAL;
    }
    desk_session_t *s = desk_session(d, session);
    if (!s || strcmp(st->name, s->name) != 0) {
        NX_ERROR("recovery",
                 "saved state of session %u belongs to \"%s\", the config names it \"%s\": not "
                 "restored",
                 session, st->name[0] ? st->name : "?", s ? s->name : "(none)");
        rc = NX_ESTATE;
    }
    if (!rc)
        rc = nx_oms_restore_account(d->oms, s->id, st->account.balance, st->account.realized,
                                    st->account.fees, st->account.trades, st->account.wins);
    if (!rc)
        rc = restore_desk(s, &st->desk);
    if (!rc) {
        restore_risk(s, &st->risk);
        rc = restore_lists(d, s, st);
    }
    for (uint32_t i = 0; i < st->n_positions; i++) {
        if (!rc && (rc = restore_position(d, s, &st->positions[i])) != 0)
            NX_ERROR("recovery", "session %s: saved position %u cannot be opened again: %s",
                     s->name, i, nx_strerror(rc));
    }
    for (uint32_t i = 0; i < st->n_approvals && !rc; i++)
        rc = restore_approval(d, s, &st->approvals[i]);
    if (st->now > d->now)
        d->now = st->now;
    free(st);
    if (s) {
        s->restored = rc ? 2 : 1;
        s->saved_seq = (int64_t)seq;
    }
    return rc;
}

static void report(nx_desk_report_cb cb, void *ctx, desk_session_t *s, int *bad, const char *fmt,
                   ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    NX_ERROR("recovery", "session %s: %s", s->name, text);
    if (cb)
        cb(ctx, s->id, text);
    *bad = 1;
}

/* One protective order of a restored position against the venue's book. */
static int protection_held(nx_desk_t *d, uint32_t symbol, uint64_t clid, int64_t level, int64_t qty)
{
    uint32_t vs;
    int64_t vpx, vqty;
    return nx_paper_order(d->venue, clid, &vs, &vpx, &vqty) == 0 && vs == symbol && vpx == level &&
           vqty == qty;
}

int nx_desk_reconcile(nx_desk_t *d, const nx_desk_fills_t *fills, int nf, nx_desk_report_cb cb,
                      void *ctx)
{
    int held = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        desk_session_t *s = &d->s[i];
        int bad = 0, had_fills = 0;
        uint32_t expect_orders = 0;
        if (s->restored == 2)
            report(cb, ctx, s, &bad, "its saved state could not be restored");
        for (int k = 0; k < nf; k++)
            if (fills[k].session == s->id && fills[k].symbol >= d->nsym)
                report(cb, ctx, s, &bad, "a stored fill (journal %llu) could not be read",
                       (unsigned long long)fills[k].last_seq);
        for (uint32_t y = 0; y < d->nsym; y++) {
            nx_oms_pos_state_t p;
            int open = nx_oms_save_position(d->oms, s->id, y, &p) == 0;
            int64_t net = 0;
            uint64_t last = 0;
            for (int k = 0; k < nf; k++)
                if (fills[k].session == s->id && fills[k].symbol == y) {
                    net += fills[k].net_qty;
                    if (fills[k].last_seq > last)
                        last = fills[k].last_seq;
                }
            had_fills |= last != 0;
            const char *name = nx_symtab_get(d->symtab, y)->name;
            if (last && s->restored == 1 && (int64_t)last > s->saved_seq)
                report(cb, ctx, s, &bad,
                       "%s: fills were stored after its saved state (fill at journal %llu, "
                       "state at %lld)",
                       name, (unsigned long long)last, (long long)s->saved_seq);
            if (net != (open ? p.qty : 0))
                report(cb, ctx, s, &bad,
                       "%s: the saved position is %lld qty units, its stored fills add up to "
                       "%lld",
                       name, (long long)(open ? p.qty : 0), (long long)net);
            if (!open)
                continue;
            int64_t q = p.qty < 0 ? -p.qty : p.qty;
            if (!p.sl_clid)
                report(cb, ctx, s, &bad, "%s: the position has no stop-loss at the venue", name);
            if (s->live)
                continue; /* a live venue's book is asked about by its adapter, and its
                             positions compared (nx_desk_venue_position) */
            if (p.sl_clid && !protection_held(d, y, p.sl_clid, p.sl, q))
                report(cb, ctx, s, &bad, "%s: the venue does not hold its stop-loss %llu as saved",
                       name, (unsigned long long)p.sl_clid);
            if (p.tp_clid && !protection_held(d, y, p.tp_clid, p.tp, q))
                report(cb, ctx, s, &bad,
                       "%s: the venue does not hold its take-profit %llu as saved", name,
                       (unsigned long long)p.tp_clid);
            expect_orders += (p.sl_clid != 0) + (p.tp_clid != 0);
        }
        uint32_t resting = nx_paper_open_orders(d->venue, s->id);
        if (!s->live && resting != expect_orders)
            report(cb, ctx, s, &bad,
                   "the venue holds %u orders of this session, its saved state knows %u", resting,
                   expect_orders);
        if (!s->restored && (had_fills || resting))
            report(cb, ctx, s, &bad, "orders and fills are stored but no saved state");
        if (bad) {
            s->risk.paused = 1;
            s->held = 1;
            held++;
            NX_ERROR("recovery", "session %s is paused until a person resumes it", s->name);
        } else if (s->restored == 1) {
            nx_account_info_t a;
            nx_oms_account(d->oms, s->id, &a);
            NX_INFO("recovery",
                    "session %s restored: %u open position%s, %u resting order%s, "
                    "%u trades so far",
                    s->name, a.open_positions, a.open_positions == 1 ? "" : "s", resting,
                    resting == 1 ? "" : "s", a.trades);
        }
        desk_dirty(d, s->id);
    }
    return held;
}
