/*
 * desk_save.c — the desk's state saved through the journal (see desk.h;
 * the format and its codec are desk_state.h).
 *
 * After every step that changed a session (a fill, an order, a decision, a
 * command: the session is marked dirty) the desk takes a snapshot of the
 * session into the codec's struct, encodes it into one buffer allocated at
 * start, and journals the text in NX_EV_STATE parts, all within the same
 * step, so the journal holds every state next to the entries that made it.
 * Engine thread; nothing here allocates.
 */
#include "desk_int.h"

#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"

#include <string.h>

_Static_assert(NX_STATE_MAX_SYMBOLS == NX_SHIELD_MAX_SYMBOLS, "saved state holds every symbol");
_Static_assert(NX_STATE_MAX_LOCKS == NX_SHIELD_MAX_LOCKS, "saved state holds every lock");
_Static_assert(NX_STATE_RING == NX_SHIELD_RING, "saved state holds the shield's rings");
_Static_assert(NX_STATE_MAX_APPROVALS >= DESK_MAX_PENDING, "saved state holds every request");
_Static_assert(NX_STATE_MAX_REJECTS >= NX_REJ_COUNT, "saved state counts every reject reason");
_Static_assert(NX_STATE_NAME_MAX == sizeof(((desk_session_t *)0)->name), "session names fit");

static void position_of(const nx_desk_t *d, uint32_t y, const nx_oms_pos_state_t *p,
                        nx_state_position_t *o)
{
    const nx_symbol_t *sy = nx_symtab_get(d->symtab, y);
    o->sym = y;
    memcpy(o->name, sy->name, sizeof o->name);
    o->qty = p->qty;
    o->entry_value = p->entry_value;
    o->exit_value = p->exit_value;
    o->entry_qty = p->entry_qty;
    o->exit_qty = p->exit_qty;
    o->fees = p->fees;
    o->funding = p->funding;
    o->sl = p->sl;
    o->tp = p->tp;
    o->trail_offset = p->trail_offset;
    o->trail_activate = p->trail_activate;
    o->trail_best = p->trail_best;
    o->trail_stop = p->trail_stop;
    o->trail_on = p->trail_on;
    o->trail_at_venue = p->trail_at_venue;
    o->deadline_ns = p->deadline_ns;
    o->opened_ns = p->opened_ns;
    o->last_px = p->last_px;
    o->leverage = p->leverage;
    o->sl_clid = p->sl_clid;
    o->tp_clid = p->tp_clid;
    nx_fixed_format(p->qty, sy->qty_scale, o->qty_dec, sizeof o->qty_dec);
    nx_fixed_format((int64_t)(p->entry_value / p->entry_qty), sy->price_scale, o->avg_px,
                    sizeof o->avg_px);
    nx_fixed_format(p->sl, sy->price_scale, o->sl_dec, sizeof o->sl_dec);
    nx_fixed_format(p->tp, sy->price_scale, o->tp_dec, sizeof o->tp_dec);
    o->ok = 1;
}

static void approval_of(const pending_t *a, nx_state_approval_t *o)
{
    const nx_decision_t *x = &a->asked;
    o->id = a->id;
    o->sym = a->symbol;
    o->venue = a->venue;
    o->asked_ns = a->asked_ns;
    o->expires_ns = a->expires_ns;
    o->verdict = (int)x->verdict;
    o->reason = (int)x->reason;
    o->side = x->side;
    o->reduce_only = x->reduce_only;
    o->leverage = x->leverage;
    o->qty = x->qty;
    o->price = x->price;
    o->stop_loss = x->stop_loss;
    o->take_profit = x->take_profit;
    o->signal = a->signal;
    o->ok = 1;
}

/* A session as the codec's struct. Only the counts and the entries in
 * use are written: the struct is ~100 KB, most of it empty slots. */
static void snapshot(const nx_desk_t *d, const desk_session_t *s, nx_state_session_t *o)
{
    nx_account_info_t ai;
    nx_oms_account(d->oms, s->id, &ai);
    const nx_symbol_t *first = nx_symtab_get(d->symtab, 0);
    unsigned ps = first ? first->price_scale : 8;
    memcpy(o->name, s->name, sizeof o->name);
    o->now = d->now;
    o->has_account = 1;
    nx_state_account_t *a = &o->account;
    a->balance = ai.balance;
    a->realized = ai.realized;
    a->fees = ai.fees;
    a->equity = ai.equity;
    a->trades = ai.trades;
    a->wins = ai.wins;
    nx_fixed_format(ai.balance, ps, a->balance_dec, sizeof a->balance_dec);
    nx_fixed_format(ai.equity, ps, a->equity_dec, sizeof a->equity_dec);
    nx_state_desk_t *k = &o->desk;
    k->mode = (int)s->conf.mode;
    k->start_equity = s->start_equity;
    k->peak = s->peak;
    k->max_dd_bp = s->max_dd_bp;
    k->notifications = s->notifications;
    k->approvals = s->approvals;
    k->orders = s->orders;
    k->approved = s->approved;
    k->declined = s->declined;
    k->expired = s->expired;
    memcpy(k->exits, s->exits_by, sizeof k->exits);
    /* the 21 reasons of the first saved states always, a later one once
     * it counted something: a state saved today reads as it did */
    k->n_rejects = NX_REJ_STORAGE;
    for (int r = NX_REJ_STORAGE; r < NX_REJ_COUNT; r++)
        if (s->by_reason[r])
            k->n_rejects = (uint32_t)r + 1;
    memcpy(k->rejects, s->by_reason, NX_REJ_COUNT * sizeof k->rejects[0]);
    const nx_risk_state_t *r = &s->risk;
    o->risk = (nx_state_risk_t){
        .equity = r->equity,
        .peak = r->peak_equity,
        .day_ms = r->day_start_ms,
        .week_ms = r->week_start_ms,
        .week_equity = r->week_start_equity,
        .day_pnl = r->day_pnl,
        .week_pnl = r->week_pnl,
        .halt_until = r->halt_until,
        .trades_today = r->trades_today,
        .losses = r->consecutive_losses,
        .halts = r->halts,
        .tripped = r->tripped,
        .kill = r->kill,
        .paused = r->paused,
        .held = s->held,
        .n_day_trades = r->n_day_trades,
    };
    _Static_assert(NX_STATE_DAY_TRADES == NX_SHIELD_DAY_TRADES, "the ring saved whole");
    memcpy(o->risk.day_trades, r->day_trades, sizeof o->risk.day_trades);
    o->n_locks = 0;
    for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++) {
        const nx_lock_t *l = &r->locks[i];
        if (l->active)
            o->locks[o->n_locks++] = (nx_state_lock_t){
                l->symbol == NX_SYMBOL_NONE ? -1 : (int64_t)l->symbol, l->reason, l->until_ns};
    }
    o->n_symbols = 0;
    for (uint32_t y = 0; y < d->nsym; y++) {
        const nx_risk_symbol_t *q = &r->sym[y];
        if (!q->cooldown_until && !q->n_stopouts && !q->n_results)
            continue;
        nx_state_symbol_t *x = &o->symbols[o->n_symbols++];
        x->sym = y;
        x->cooldown_until = q->cooldown_until;
        x->n_stopouts = q->n_stopouts;
        x->n_results = q->n_results;
        memcpy(x->stopouts, q->stopouts, sizeof x->stopouts);
        memcpy(x->results, q->results, sizeof x->results);
    }
    o->n_positions = 0;
    for (uint32_t y = 0; y < d->nsym; y++) {
        nx_oms_pos_state_t p;
        if (nx_oms_save_position(d->oms, s->id, y, &p) == 0)
            position_of(d, y, &p, &o->positions[o->n_positions++]);
    }
    o->n_approvals = 0;
    for (uint32_t i = 0; i < DESK_MAX_PENDING; i++) {
        const pending_t *q = &d->pending[i];
        if (q->id && q->session == s->id)
            approval_of(q, &o->approvals[o->n_approvals++]);
    }
}

/* The text goes out in parts, back to back, all in this step. */
static void emit(nx_desk_t *d, uint32_t session, int rc, size_t len)
{
    if (rc) {
        if (d->save_failures++ == 0)
            NX_ERROR("desk", "session %u: state larger than %d bytes, not saved", session,
                     NX_STATE_TEXT_MAX);
        return;
    }
    if (!d->journal)
        return;
    uint16_t parts = (uint16_t)((len + NX_STATE_PART - 1) / NX_STATE_PART);
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_STATE;
    ev.hdr.symbol = NX_SYMBOL_NONE;
    ev.hdr.exch_ns = d->now;
    ev.u.state.session = session;
    ev.u.state.parts = parts;
    for (uint16_t i = 0; i < parts; i++) {
        size_t at = (size_t)i * NX_STATE_PART, n = len - at;
        if (n > NX_STATE_PART)
            n = NX_STATE_PART;
        ev.u.state.part = i;
        ev.u.state.len = (uint8_t)n;
        memset(ev.u.state.data, 0, sizeof ev.u.state.data);
        memcpy(ev.u.state.data, d->save + at, n);
        d->journal(d->ctx, &ev);
    }
    d->saves++;
}

void desk_save_dirty(nx_desk_t *d)
{
    uint64_t dirty = d->dirty;
    d->dirty = 0;
    if (d->no_saves) {
        d->dirty_global = 0;
        return;
    }
    size_t len = 0;
    for (uint32_t i = 0; dirty && i < d->n; i++) {
        if (!(dirty & (1ULL << i)))
            continue;
        snapshot(d, &d->s[i], d->snap);
        int rc = nx_state_encode(d->snap, d->save, NX_STATE_TEXT_MAX, &len);
        emit(d, d->s[i].id, rc, len);
    }
    if (d->dirty_global) {
        d->dirty_global = 0;
        nx_state_global_t g;
        g.global_kill = d->global_kill;
        g.n_atr = d->nsym;
        memcpy(g.atr, d->last_atr, d->nsym * sizeof g.atr[0]);
        int rc = nx_state_encode_global(&g, d->save, NX_STATE_TEXT_MAX, &len);
        emit(d, 0, rc, len);
    }
}

void nx_desk_save_all(nx_desk_t *d)
{
    if (!d)
        return;
    d->dirty = desk_every_session(d);
    d->dirty_global = 1;
    desk_save_dirty(d);
}
