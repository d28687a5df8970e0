/*
 * desk_state.c — the desk's state saved through the journal, and opened
 * again after a restart with the venue reconciled (see desk.h).
 *
 * The saved text is JSON (version 1), one object per session:
 *   {"v":1,"name":..,"now":ns,
 *    "account":{balance, realized, fees, trades, wins, equity, balance_dec, equity_dec},
 *    "desk":{mode, start_equity, peak, max_dd_bp, counters, exits[16], rejects[]},
 *    "risk":{the shield's breaker, day/week and kill/pause state},
 *    "locks":[[symbol id or -1, reason, until_ns]...],
 *    "symbols":[[id, cooldown_until, n_stopouts, n_results, [stopouts], [results]]...],
 *    "positions":[{sym, name, qty, entry_value, exit_value (decimal text:
 *       128-bit price x qty), entry_qty, exit_qty, fees, sl, tp,
 *       trail:[offset, activate, best, stop, on, at_venue], deadline, opened,
 *       last_px, lev, sl_id, tp_id, and for people: qty_dec, avg_px, sl_dec, tp_dec}],
 *    "approvals":[{id, sym, venue, asked_ns, expires_ns, dec:[...], sig:[...]}]}
 * Integers are the engine's own units (price, qty and quote units, ns), so
 * a restore is exact. The desk's own (session 0): {"v":1,"global_kill":..,
 * "atr":[latest ATR per symbol, for cooldowns]}.
 * Built with snprintf into one buffer allocated at start (no allocation
 * while trading); read back with jansson once, at start-up.
 */
#include "desk_int.h"

#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- saving ------------------------------------------------------------- */

typedef struct jb {
    char *p;
    size_t n, cap;
    int over;
} jb_t;

static void put(jb_t *b, const char *fmt, ...)
{
    if (b->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= b->cap - b->n)
        b->over = 1;
    else
        b->n += (size_t)k;
}

static void put_i128(jb_t *b, const char *key, __int128 v)
{
    char t[48];
    int i = (int)sizeof t;
    int neg = v < 0;
    unsigned __int128 u = neg ? -(unsigned __int128)v : (unsigned __int128)v;
    t[--i] = 0;
    do {
        t[--i] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    if (neg)
        t[--i] = '-';
    put(b, ",\"%s\":\"%s\"", key, t + i);
}

static void put_dec(jb_t *b, const char *key, int64_t v, unsigned scale)
{
    char t[NX_FIXED_FMT_MAX];
    nx_fixed_format(v, scale, t, sizeof t);
    put(b, ",\"%s\":\"%s\"", key, t);
}

/* a JSON string from at most n bytes (a strategy's tag) */
static void put_str(jb_t *b, const char *s, size_t n)
{
    put(b, "\"");
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            put(b, "\\%c", c);
        else if (c < 0x20)
            put(b, "\\u%04x", c);
        else
            put(b, "%c", c);
    }
    put(b, "\"");
}

static void put_u64s(jb_t *b, const char *key, const uint64_t *v, int n)
{
    put(b, ",\"%s\":[", key);
    for (int i = 0; i < n; i++)
        put(b, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
    put(b, "]");
}

static void save_session(const nx_desk_t *d, const desk_session_t *s, jb_t *b)
{
    nx_account_info_t ai;
    nx_oms_account(d->oms, s->id, &ai);
    const nx_symbol_t *first = nx_symtab_get(d->symtab, 0);
    unsigned ps = first ? first->price_scale : 8;
    put(b, "{\"v\":1,\"name\":");
    put_str(b, s->name, sizeof s->name);
    put(b, ",\"now\":%lld", (long long)d->now);
    put(b,
        ",\"account\":{\"balance\":%lld,\"realized\":%lld,\"fees\":%lld,\"trades\":%u,"
        "\"wins\":%u,\"equity\":%lld",
        (long long)ai.balance, (long long)ai.realized, (long long)ai.fees, ai.trades, ai.wins,
        (long long)ai.equity);
    put_dec(b, "balance_dec", ai.balance, ps);
    put_dec(b, "equity_dec", ai.equity, ps);
    put(b,
        "},\"desk\":{\"mode\":%d,\"start_equity\":%lld,\"peak\":%lld,\"max_dd_bp\":%lld,"
        "\"notifications\":%llu,\"approvals\":%llu,\"orders\":%llu,\"approved\":%llu,"
        "\"declined\":%llu,\"expired\":%llu",
        (int)s->conf.mode, (long long)s->start_equity, (long long)s->peak,
        (long long)s->max_dd_bp, (unsigned long long)s->notifications,
        (unsigned long long)s->approvals, (unsigned long long)s->orders,
        (unsigned long long)s->approved, (unsigned long long)s->declined,
        (unsigned long long)s->expired);
    put_u64s(b, "exits", s->exits_by, 16);
    put_u64s(b, "rejects", s->by_reason, NX_REJ_COUNT);
    const nx_risk_state_t *r = &s->risk;
    put(b,
        "},\"risk\":{\"equity\":%lld,\"peak\":%lld,\"day_ms\":%lld,\"week_ms\":%lld,"
        "\"week_equity\":%lld,\"day_pnl\":%lld,\"week_pnl\":%lld,\"trades_today\":%u,"
        "\"losses\":%u,\"halts\":%u,\"tripped\":%u,\"kill\":%u,\"paused\":%u,\"held\":%u,"
        "\"halt_until\":%lld},\"locks\":[",
        (long long)r->equity, (long long)r->peak_equity, (long long)r->day_start_ms,
        (long long)r->week_start_ms, (long long)r->week_start_equity, (long long)r->day_pnl,
        (long long)r->week_pnl, r->trades_today, r->consecutive_losses, r->halts, r->tripped,
        r->kill, r->paused, s->held, (long long)r->halt_until);
    int k = 0;
    for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++) {
        const nx_lock_t *l = &r->locks[i];
        if (l->active)
            put(b, "%s[%lld,%u,%lld]", k++ ? "," : "",
                l->symbol == NX_SYMBOL_NONE ? -1LL : (long long)l->symbol, l->reason,
                (long long)l->until_ns);
    }
    put(b, "],\"symbols\":[");
    k = 0;
    for (uint32_t y = 0; y < d->nsym; y++) {
        const nx_risk_symbol_t *q = &r->sym[y];
        if (!q->cooldown_until && !q->n_stopouts && !q->n_results)
            continue;
        put(b, "%s[%u,%lld,%u,%u,[", k++ ? "," : "", y, (long long)q->cooldown_until,
            q->n_stopouts, q->n_results);
        for (int i = 0; i < NX_SHIELD_RING; i++)
            put(b, "%s%lld", i ? "," : "", (long long)q->stopouts[i]);
        put(b, "],[");
        for (int i = 0; i < NX_SHIELD_RING; i++)
            put(b, "%s%lld", i ? "," : "", (long long)q->results[i]);
        put(b, "]]");
    }
    put(b, "],\"positions\":[");
    k = 0;
    for (uint32_t y = 0; y < d->nsym; y++) {
        nx_oms_pos_state_t p;
        if (nx_oms_save_position(d->oms, s->id, y, &p))
            continue;
        const nx_symbol_t *sy = nx_symtab_get(d->symtab, y);
        put(b, "%s{\"sym\":%u,\"name\":", k++ ? "," : "", y);
        put_str(b, sy->name, sizeof sy->name);
        put(b, ",\"qty\":%lld", (long long)p.qty);
        put_i128(b, "entry_value", p.entry_value);
        put_i128(b, "exit_value", p.exit_value);
        put(b,
            ",\"entry_qty\":%lld,\"exit_qty\":%lld,\"fees\":%lld,\"sl\":%lld,\"tp\":%lld,"
            "\"trail\":[%lld,%lld,%lld,%lld,%u,%u],\"deadline\":%lld,\"opened\":%lld,"
            "\"last_px\":%lld,\"lev\":%u,\"sl_id\":%llu,\"tp_id\":%llu",
            (long long)p.entry_qty, (long long)p.exit_qty, (long long)p.fees, (long long)p.sl,
            (long long)p.tp, (long long)p.trail_offset, (long long)p.trail_activate,
            (long long)p.trail_best, (long long)p.trail_stop, p.trail_on, p.trail_at_venue,
            (long long)p.deadline_ns, (long long)p.opened_ns, (long long)p.last_px, p.leverage,
            (unsigned long long)p.sl_clid, (unsigned long long)p.tp_clid);
        put_dec(b, "qty_dec", p.qty, sy->qty_scale);
        put_dec(b, "avg_px", (int64_t)(p.entry_value / p.entry_qty), sy->price_scale);
        put_dec(b, "sl_dec", p.sl, sy->price_scale);
        put_dec(b, "tp_dec", p.tp, sy->price_scale);
        put(b, "}");
    }
    put(b, "],\"approvals\":[");
    k = 0;
    for (uint32_t i = 0; i < DESK_MAX_PENDING; i++) {
        const pending_t *a = &d->pending[i];
        if (!a->id || a->session != s->id)
            continue;
        const nx_decision_t *x = &a->asked;
        const nx_ev_signal_t *g = &a->signal;
        put(b,
            "%s{\"id\":%u,\"sym\":%u,\"venue\":%u,\"asked_ns\":%lld,\"expires_ns\":%lld,"
            "\"dec\":[%d,%d,%u,%u,%u,%lld,%lld,%lld,%lld],"
            "\"sig\":[%.17g,%.17g,%.17g,%lld,%lld,%lld,%lld,%u,%u,%u,%u,%u,",
            k++ ? "," : "", a->id, a->symbol, a->venue, (long long)a->asked_ns,
            (long long)a->expires_ns, (int)x->verdict, (int)x->reason, x->side, x->reduce_only,
            x->leverage, (long long)x->qty, (long long)x->price, (long long)x->stop_loss,
            (long long)x->take_profit, g->confidence, g->sl_value, g->tp_value,
            (long long)g->sl_price, (long long)g->tp_price, (long long)g->ref_price,
            (long long)g->atr, g->tf_s, g->strategy, g->side, g->sl_kind, g->tp_kind);
        put_str(b, g->reason, sizeof g->reason);
        put(b, "]}");
    }
    put(b, "]}");
}

/* The text goes out in parts, back to back, all in this step. */
static void emit(nx_desk_t *d, uint32_t session, const jb_t *b)
{
    if (b->over) {
        if (d->save_failures++ == 0)
            NX_ERROR("desk", "session %u: state larger than %d bytes, not saved", session,
                     DESK_SAVE_MAX);
        return;
    }
    if (!d->journal)
        return;
    uint16_t parts = (uint16_t)((b->n + NX_STATE_PART - 1) / NX_STATE_PART);
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_STATE;
    ev.hdr.symbol = NX_SYMBOL_NONE;
    ev.hdr.exch_ns = d->now;
    ev.u.state.session = session;
    ev.u.state.parts = parts;
    for (uint16_t i = 0; i < parts; i++) {
        size_t at = (size_t)i * NX_STATE_PART, n = b->n - at;
        if (n > NX_STATE_PART)
            n = NX_STATE_PART;
        ev.u.state.part = i;
        ev.u.state.len = (uint8_t)n;
        memset(ev.u.state.data, 0, sizeof ev.u.state.data);
        memcpy(ev.u.state.data, b->p + at, n);
        d->journal(d->ctx, &ev);
    }
    d->saves++;
}

void desk_save_dirty(nx_desk_t *d)
{
    uint64_t dirty = d->dirty;
    d->dirty = 0;
    for (uint32_t i = 0; dirty && i < d->n; i++) {
        if (!(dirty & (1ULL << i)))
            continue;
        jb_t b = {d->save, 0, DESK_SAVE_MAX, 0};
        save_session(d, &d->s[i], &b);
        emit(d, d->s[i].id, &b);
    }
    if (d->dirty_global) {
        d->dirty_global = 0;
        jb_t b = {d->save, 0, DESK_SAVE_MAX, 0};
        put(&b, "{\"v\":1,\"global_kill\":%d,\"atr\":[", d->global_kill);
        for (uint32_t y = 0; y < d->nsym; y++)
            put(&b, "%s%lld", y ? "," : "", (long long)d->last_atr[y]);
        put(&b, "]}");
        emit(d, 0, &b);
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

/* ---- recovery ----------------------------------------------------------- */

int nx_desk_restore_order(nx_desk_t *d, const nx_ev_order_intent_t *in, uint32_t symbol)
{
    return nx_paper_restore_order(d->venue, in, symbol);
}

void nx_desk_resume_fills(nx_desk_t *d, uint64_t last_fill_id)
{
    nx_paper_resume_ids(d->venue, last_fill_id, last_fill_id);
}

static int64_t gi(const json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

static int64_t ai(const json_t *a, size_t i)
{
    return (int64_t)json_integer_value(json_array_get(a, i));
}

static int parse_i128(const json_t *v, __int128 *out)
{
    const char *s = json_string_value(v);
    if (!s || !*s)
        return NX_EINVAL;
    int neg = *s == '-';
    s += neg;
    __int128 x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > ((__int128)1 << 120))
            return NX_EINVAL;
        x = x * 10 + (*s - '0');
    }
    *out = neg ? -x : x;
    return 0;
}

static void restore_risk(desk_session_t *s, const json_t *r)
{
    nx_risk_state_t *x = &s->risk;
    x->equity = gi(r, "equity");
    x->peak_equity = gi(r, "peak");
    x->day_start_ms = gi(r, "day_ms");
    x->week_start_ms = gi(r, "week_ms");
    x->week_start_equity = gi(r, "week_equity");
    x->day_pnl = gi(r, "day_pnl");
    x->week_pnl = gi(r, "week_pnl");
    x->trades_today = (uint32_t)gi(r, "trades_today");
    x->consecutive_losses = (uint32_t)gi(r, "losses");
    x->halts = (uint32_t)gi(r, "halts");
    x->tripped = gi(r, "tripped") != 0;
    x->kill = gi(r, "kill") != 0;
    x->paused = gi(r, "paused") != 0;
    s->held = gi(r, "held") != 0;
    x->halt_until = gi(r, "halt_until");
}

static int restore_desk(desk_session_t *s, const json_t *k)
{
    int64_t mode = gi(k, "mode");
    if (mode < NX_MODE_WATCHER || mode > NX_MODE_PILOT)
        return NX_EINVAL;
    s->conf.mode = (nx_mode_t)mode;
    s->start_equity = gi(k, "start_equity");
    s->peak = gi(k, "peak");
    s->max_dd_bp = gi(k, "max_dd_bp");
    s->notifications = (uint64_t)gi(k, "notifications");
    s->approvals = (uint64_t)gi(k, "approvals");
    s->orders = (uint64_t)gi(k, "orders");
    s->approved = (uint64_t)gi(k, "approved");
    s->declined = (uint64_t)gi(k, "declined");
    s->expired = (uint64_t)gi(k, "expired");
    const json_t *e = json_object_get(k, "exits"), *r = json_object_get(k, "rejects");
    for (size_t i = 0; i < 16; i++)
        s->exits_by[i] = (uint64_t)ai(e, i);
    for (size_t i = 0; i < NX_REJ_COUNT; i++)
        s->by_reason[i] = (uint64_t)ai(r, i);
    return 0;
}

static int restore_lists(nx_desk_t *d, desk_session_t *s, const json_t *root)
{
    size_t i;
    const json_t *v;
    int n = 0;
    json_array_foreach(json_object_get(root, "locks"), i, v)
    {
        int64_t sym = ai(v, 0);
        if (n >= NX_SHIELD_MAX_LOCKS || sym < -1 || sym >= (int64_t)d->nsym)
            return NX_EINVAL;
        s->risk.locks[n++] = (nx_lock_t){sym < 0 ? NX_SYMBOL_NONE : (uint32_t)sym,
                                          (uint8_t)ai(v, 1), 1, ai(v, 2)};
    }
    json_array_foreach(json_object_get(root, "symbols"), i, v)
    {
        int64_t y = ai(v, 0);
        if (y < 0 || y >= (int64_t)d->nsym)
            return NX_EINVAL;
        nx_risk_symbol_t *q = &s->risk.sym[y];
        q->cooldown_until = ai(v, 1);
        q->n_stopouts = (uint32_t)ai(v, 2);
        q->n_results = (uint32_t)ai(v, 3);
        for (size_t j = 0; j < NX_SHIELD_RING; j++) {
            q->stopouts[j] = ai(json_array_get(v, 4), j);
            q->results[j] = ai(json_array_get(v, 5), j);
        }
    }
    return 0;
}

static int restore_position(nx_desk_t *d, desk_session_t *s, const json_t *v)
{
    int64_t y = gi(v, "sym");
    const char *name = json_string_value(json_object_get(v, "name"));
    if (y < 0 || y >= (int64_t)d->nsym || !name ||
        strcmp(name, nx_symtab_get(d->symtab, (uint32_t)y)->name) != 0)
        return NX_EINVAL;
    const json_t *t = json_object_get(v, "trail");
    nx_oms_pos_state_t p;
    memset(&p, 0, sizeof p);
    if (parse_i128(json_object_get(v, "entry_value"), &p.entry_value) ||
        parse_i128(json_object_get(v, "exit_value"), &p.exit_value) || json_array_size(t) != 6)
        return NX_EINVAL;
    p.qty = gi(v, "qty");
    p.entry_qty = gi(v, "entry_qty");
    p.exit_qty = gi(v, "exit_qty");
    p.fees = gi(v, "fees");
    p.sl = gi(v, "sl");
    p.tp = gi(v, "tp");
    p.trail_offset = ai(t, 0);
    p.trail_activate = ai(t, 1);
    p.trail_best = ai(t, 2);
    p.trail_stop = ai(t, 3);
    p.trail_on = (uint8_t)ai(t, 4);
    p.trail_at_venue = (uint8_t)ai(t, 5);
    p.deadline_ns = gi(v, "deadline");
    p.opened_ns = gi(v, "opened");
    p.last_px = gi(v, "last_px");
    p.leverage = (uint8_t)gi(v, "lev");
    p.sl_clid = (uint64_t)gi(v, "sl_id");
    p.tp_clid = (uint64_t)gi(v, "tp_id");
    int rc = nx_oms_restore_position(d->oms, s->id, (uint32_t)y, &p);
    if (rc)
        return rc;
    desk_sync_position(d, s, (uint32_t)y);
    if (d->last_px[y] <= 0)
        d->last_px[y] = p.last_px;
    return 0;
}

static int restore_approval(nx_desk_t *d, desk_session_t *s, const json_t *v)
{
    int64_t id = gi(v, "id"), y = gi(v, "sym");
    const json_t *x = json_object_get(v, "dec"), *g = json_object_get(v, "sig");
    if (id <= 0 || id > UINT32_MAX || y < 0 || y >= (int64_t)d->nsym ||
        json_array_size(x) != 9 || json_array_size(g) != 13)
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
    slot->venue = (uint8_t)gi(v, "venue");
    slot->asked_ns = gi(v, "asked_ns");
    slot->expires_ns = gi(v, "expires_ns");
    nx_decision_t *a = &slot->asked;
    a->verdict = (nx_verdict_t)ai(x, 0);
    a->reason = (nx_reject_t)ai(x, 1);
    a->side = (uint8_t)ai(x, 2);
    a->reduce_only = (uint8_t)ai(x, 3);
    a->leverage = (uint8_t)ai(x, 4);
    a->qty = ai(x, 5);
    a->price = ai(x, 6);
    a->stop_loss = ai(x, 7);
    a->take_profit = ai(x, 8);
    nx_ev_signal_t *sg = &slot->signal;
    sg->confidence = json_number_value(json_array_get(g, 0));
    sg->sl_value = json_number_value(json_array_get(g, 1));
    sg->tp_value = json_number_value(json_array_get(g, 2));
    sg->sl_price = ai(g, 3);
    sg->tp_price = ai(g, 4);
    sg->ref_price = ai(g, 5);
    sg->atr = ai(g, 6);
    sg->tf_s = (uint32_t)ai(g, 7);
    sg->strategy = (uint16_t)ai(g, 8);
    sg->side = (uint8_t)ai(g, 9);
    sg->sl_kind = (uint8_t)ai(g, 10);
    sg->tp_kind = (uint8_t)ai(g, 11);
    snprintf(sg->reason, sizeof sg->reason, "%s",
             json_string_value(json_array_get(g, 12)) ? json_string_value(json_array_get(g, 12))
                                                       : "");
    d->n_pending++;
    if (slot->expires_ns < d->next_expiry)
        d->next_expiry = slot->expires_ns;
    if (slot->id > d->next_request)
        d->next_request = slot->id;
    if (d->last_px[y] <= 0)
        d->last_px[y] = a->price;
    return 0;
}

int nx_desk_restore(nx_desk_t *d, uint32_t session, uint64_t seq, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root || gi(root, "v") != 1) {
        NX_ERROR("recovery", "session %u: saved state unreadable%s%s", session, root ? "" : ": ",
                 root ? "" : jerr.text);
        json_decref(root);
        if (session >= 1 && session <= d->n)
            d->restored[session - 1] = 2; /* present but unusable */
        return NX_EINVAL;
    }
    if (session == 0) {
        d->global_kill = gi(root, "global_kill") != 0;
        const json_t *atr = json_object_get(root, "atr");
        for (uint32_t y = 0; y < d->nsym && y < json_array_size(atr); y++)
            d->last_atr[y] = ai(atr, y);
        if (d->global_kill)
            NX_WARN("recovery", "the global kill switch was on and stays on");
        json_decref(root);
        return 0;
    }
    desk_session_t *s = desk_session(d, session);
    const char *name = json_string_value(json_object_get(root, "name"));
    int rc = 0;
    if (!s || !name || strcmp(name, s->name) != 0) {
        NX_ERROR("recovery",
                 "saved state of session %u belongs to \"%s\", the config names it \"%s\": not "
                 "restored",
                 session, name ? name : "?", s ? s->name : "(none)");
        rc = NX_ESTATE;
    }
    const json_t *acc = json_object_get(root, "account");
    if (!rc)
        rc = nx_oms_restore_account(d->oms, s->id, gi(acc, "balance"), gi(acc, "realized"),
                                    gi(acc, "fees"), (uint32_t)gi(acc, "trades"),
                                    (uint32_t)gi(acc, "wins"));
    if (!rc)
        rc = restore_desk(s, json_object_get(root, "desk"));
    if (!rc) {
        restore_risk(s, json_object_get(root, "risk"));
        rc = restore_lists(d, s, root);
    }
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(root, "positions"), i, v)
    {
        if (!rc && (rc = restore_position(d, s, v)) != 0)
            NX_ERROR("recovery", "session %s: saved position %zu cannot be opened again: %s",
                     s->name, i, nx_strerror(rc));
    }
    json_array_foreach(json_object_get(root, "approvals"), i, v)
    {
        if (!rc)
            rc = restore_approval(d, s, v);
    }
    int64_t now = gi(root, "now");
    if (now > d->now)
        d->now = now;
    json_decref(root);
    if (s && session <= NX_CONFIG_MAX_SESSIONS) {
        d->restored[session - 1] = rc ? 2 : 1;
        d->saved_seq[session - 1] = (int64_t)seq;
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
static int protection_held(nx_desk_t *d, uint32_t symbol, uint64_t clid, int64_t level,
                           int64_t qty)
{
    uint32_t vs;
    int64_t vpx, vqty;
    return nx_paper_order(d->venue, clid, &vs, &vpx, &vqty) == 0 && vs == symbol &&
           vpx == level && vqty == qty;
}

int nx_desk_reconcile(nx_desk_t *d, const nx_desk_fills_t *fills, int nf,
                      nx_desk_report_cb cb, void *ctx)
{
    int held = 0;
    for (uint32_t i = 0; i < d->n; i++) {
        desk_session_t *s = &d->s[i];
        int bad = 0, had_fills = 0;
        uint32_t expect_orders = 0;
        if (d->restored[i] == 2)
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
            if (last && d->restored[i] == 1 && (int64_t)last > d->saved_seq[i])
                report(cb, ctx, s, &bad,
                       "%s: fills were stored after its saved state (fill at journal %llu, "
                       "state at %lld)",
                       name, (unsigned long long)last, (long long)d->saved_seq[i]);
            if (net != (open ? p.qty : 0))
                report(cb, ctx, s, &bad,
                       "%s: the saved position is %lld qty units, its stored fills add up to "
                       "%lld",
                       name, (long long)(open ? p.qty : 0), (long long)net);
            if (!open)
                continue;
            int64_t q = p.qty < 0 ? -p.qty : p.qty;
            if (p.sl_clid && !protection_held(d, y, p.sl_clid, p.sl, q))
                report(cb, ctx, s, &bad, "%s: the venue does not hold its stop-loss %llu as saved",
                       name, (unsigned long long)p.sl_clid);
            if (p.tp_clid && !protection_held(d, y, p.tp_clid, p.tp, q))
                report(cb, ctx, s, &bad,
                       "%s: the venue does not hold its take-profit %llu as saved", name,
                       (unsigned long long)p.tp_clid);
            if (!p.sl_clid)
                report(cb, ctx, s, &bad, "%s: the position has no stop-loss at the venue", name);
            expect_orders += (p.sl_clid != 0) + (p.tp_clid != 0);
        }
        uint32_t resting = nx_paper_open_orders(d->venue, s->id);
        if (resting != expect_orders)
            report(cb, ctx, s, &bad,
                   "the venue holds %u orders of this session, its saved state knows %u",
                   resting, expect_orders);
        if (!d->restored[i] && (had_fills || resting))
            report(cb, ctx, s, &bad, "orders and fills are stored but no saved state");
        if (bad) {
            s->risk.paused = 1;
            s->held = 1;
            held++;
            NX_ERROR("recovery", "session %s is paused until a person resumes it", s->name);
        } else if (d->restored[i] == 1) {
            nx_account_info_t a;
            nx_oms_account(d->oms, s->id, &a);
            NX_INFO("recovery", "session %s restored: %u open position%s, %u resting order%s, "
                    "%u trades so far",
                    s->name, a.open_positions, a.open_positions == 1 ? "" : "s", resting,
                    resting == 1 ? "" : "s", a.trades);
        }
        desk_dirty(d, s->id);
    }
    return held;
}
