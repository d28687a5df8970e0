/*
 * shield.c — per-user risk decisions (see shield.h).
 *
 * One decision is a few dozen comparisons and at most four 128-bit
 * products: it runs on the engine thread for every (signal x subscribed
 * session), a few per minute per user in practice, and ~100 ns in
 * bench_tick_to_order. The order of the checks is the order a trader reads
 * a refusal in: exits first (always allowed, whatever the limits), then the
 * switches a person set (kill, pause), the automatic stops (breaker, locks,
 * cooldown), data quality, the market's hours (US stocks), the counting
 * limits (the pattern-day-trader rule among them), and last the sizing, which
 * may shrink the order to fit an exposure limit (RESIZE) or find it below
 * the venue's minimum (MIN_NOTIONAL).
 */
#include "nx/shield.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#define MS_PER_DAY 86400000LL
#define NS_PER_MS  1000000LL

static const char *const reject_names[NX_REJ_COUNT] = {
    "none",          "kill_switch",  "breaker",       "cooldown",    "locked",
    "max_positions", "exposure",     "daily_loss",    "weekly_loss", "drawdown",
    "stale_data",    "min_notional", "paused",        "watcher",     "max_trades",
    "no_position",   "has_position", "expired",       "price_drift", "bad_signal",
    "declined",      "storage_down", "market_closed", "near_close",  "pattern_day_trader",
};

const char *nx_reject_name(nx_reject_t r)
{
    return (unsigned)r < NX_REJ_COUNT ? reject_names[r] : "?";
}

void nx_risk_conf_default(nx_risk_conf_t *c)
{
    memset(c, 0, sizeof *c);
    c->mode = NX_MODE_PILOT;
    c->size_pct_bp = 500;
    c->leverage = 1;
    c->default_stop_bp = 1000;
    c->max_positions = 5;
    c->breaker_losses = 3;
    c->cooldown_ns = 15 * 60 * 1000000000LL;
    c->cooldown_ref_bp = 100; /* ATR of 1% of price: the cooldown as configured */
    c->approval_ttl_ns = 5 * 60 * 1000000000LL;
    c->approval_drift_bp = 50;
    c->stale_ns = 60 * 1000000000LL;
}

int nx_risk_conf_check(const nx_risk_conf_t *c)
{
    if (c->mode > NX_MODE_PILOT || c->leverage < 1 || c->leverage > 20 || c->size_pct_bp == 0 ||
        c->size_pct_bp > 10000 || c->risk_pct_bp > 10000 || c->weekly_loss_bp > 10000 ||
        c->max_drawdown_bp > 10000 || c->breaker_losses == 0 || c->approval_drift_bp > 10000 ||
        c->daily_loss_stop < 0 || c->cooldown_ns < 0 || c->default_stop_bp >= 10000 ||
        c->close_buffer_ns < 0 || c->pdt_min_equity < 0)
        return NX_EINVAL;
    return 0;
}

static int64_t day_of(int64_t now_ns)
{
    int64_t ms = now_ns / NS_PER_MS;
    return ms - ms % MS_PER_DAY;
}

static int64_t week_of(int64_t now_ns)
{
    /* 1970-01-01 was a Thursday: Monday-based weeks start 3 days earlier */
    int64_t days = day_of(now_ns) / MS_PER_DAY + 3;
    return (days - days % 7 - 3) * MS_PER_DAY;
}

void nx_risk_state_init(nx_risk_state_t *s, int64_t equity, int64_t now_ns)
{
    memset(s, 0, sizeof *s);
    s->equity = s->peak_equity = s->week_start_equity = equity;
    s->day_start_ms = day_of(now_ns);
    s->week_start_ms = week_of(now_ns);
}

/* New UTC day / week: reset their counters. */
static void roll(nx_risk_state_t *s, int64_t now_ns)
{
    int64_t d = day_of(now_ns), w = week_of(now_ns);
    if (d != s->day_start_ms) {
        s->day_start_ms = d;
        s->day_pnl = 0;
        s->trades_today = 0;
    }
    if (w != s->week_start_ms) {
        s->week_start_ms = w;
        s->week_pnl = 0;
        s->week_start_equity = s->equity;
    }
}

const nx_lock_t *nx_shield_lock_for(const nx_risk_state_t *s, uint32_t symbol, int64_t now_ns)
{
    for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++) {
        const nx_lock_t *l = &s->locks[i];
        if (l->active && now_ns < l->until_ns &&
            (l->symbol == NX_SYMBOL_NONE || l->symbol == symbol))
            return l;
    }
    return NULL;
}

static void add_lock(nx_risk_state_t *s, uint32_t symbol, nx_reject_t reason, int64_t until,
                     int64_t now_ns)
{
    nx_lock_t *slot = NULL;
    for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++) {
        nx_lock_t *l = &s->locks[i];
        if (l->active && l->symbol == symbol && l->reason == reason) {
            slot = l; /* extend the same lock */
            break;
        }
        if (!slot && (!l->active || now_ns >= l->until_ns))
            slot = l;
    }
    if (!slot)
        slot = &s->locks[0]; /* full: the oldest slot gives way */
    if (slot->active && slot->symbol == symbol && slot->reason == reason && slot->until_ns > until)
        return;
    slot->symbol = symbol;
    slot->reason = (uint8_t)reason;
    slot->until_ns = until;
    slot->active = 1;
}

int nx_shield_unlock(nx_risk_state_t *s, uint32_t symbol)
{
    int n = 0;
    for (int i = 0; i < NX_SHIELD_MAX_LOCKS; i++)
        if (s->locks[i].active && s->locks[i].symbol == symbol) {
            s->locks[i].active = 0;
            n++;
        }
    return n;
}

void nx_shield_on_day_trade(nx_risk_state_t *s, int32_t trading_day)
{
    s->day_trades[s->n_day_trades++ % NX_SHIELD_DAY_TRADES] = trading_day;
}

uint32_t nx_shield_day_trades(const nx_risk_state_t *s, int32_t trading_day)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < NX_SHIELD_DAY_TRADES && i < s->n_day_trades; i++)
        n += s->day_trades[i] > trading_day - NX_PDT_DAYS && s->day_trades[i] <= trading_day;
    return n;
}

void nx_shield_reset_breaker(nx_risk_state_t *s)
{
    s->tripped = 0;
    s->consecutive_losses = 0;
    s->halts = 0;
    s->halt_until = 0;
}

/* Cooldown scaled by volatility: ATR/price against the reference, clamped
 * to 0.5x .. 4x. Without an ATR, the configured duration. */
static int64_t cooldown(const nx_risk_conf_t *c, int64_t atr, int64_t price)
{
    if (c->cooldown_ns <= 0)
        return 0;
    if (atr <= 0 || price <= 0 || !c->cooldown_ref_bp)
        return c->cooldown_ns;
    double ratio = ((double)atr * 10000.0 / (double)price) / (double)c->cooldown_ref_bp;
    ratio = ratio < 0.5 ? 0.5 : ratio > 4.0 ? 4.0 : ratio;
    return (int64_t)((double)c->cooldown_ns * ratio);
}

static int64_t round_to(int64_t x, int64_t step)
{
    if (step <= 1)
        return x;
    int64_t r = x % step;
    return r * 2 >= step ? x - r + step : x - r;
}

/* quote value of qty at price: qty * price / 10^qty_scale */
static int64_t notional_of(int64_t qty, int64_t price, unsigned qs)
{
    __int128 v = (__int128)qty * price / nx_pow10[qs];
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static int64_t qty_for(int64_t notional, int64_t price, unsigned qs)
{
    if (price <= 0 || notional <= 0)
        return 0;
    __int128 q = (__int128)notional * nx_pow10[qs] / price;
    return q > INT64_MAX ? INT64_MAX : (int64_t)q;
}

static void reject(nx_decision_t *out, nx_reject_t r)
{
    out->verdict = NX_V_REJECT;
    out->reason = r;
}

static void decide_exit(const nx_risk_conf_t *c, const nx_risk_symbol_t *rs,
                        const nx_shield_input_t *in, nx_decision_t *out)
{
    int64_t pos = rs->position;
    int want_long = in->signal->side == NX_SIG_EXIT_LONG;
    if ((want_long && pos <= 0) || (!want_long && pos >= 0)) {
        reject(out, NX_REJ_NO_POSITION);
        return;
    }
    out->side = want_long ? NX_SIDE_SELL : NX_SIDE_BUY;
    out->qty = pos < 0 ? -pos : pos;
    out->reduce_only = 1;
    out->leverage = (uint8_t)c->leverage;
    /* exits pass every limit; only the mode decides who acts */
    if (c->mode == NX_MODE_WATCHER) {
        out->verdict = NX_V_NOTIFY;
        out->reason = NX_REJ_WATCHER;
    } else if (c->mode == NX_MODE_COPILOT && !in->sentinel) {
        out->verdict = NX_V_ASK;
    } else {
        out->verdict = NX_V_APPROVE;
    }
}

/* Stop and target in price units from the signal, rounded to the tick. */
static int levels(const nx_ev_signal_t *g, int buy, int64_t entry, int64_t tick, int64_t *sl,
                  int64_t *tp)
{
    *sl = *tp = 0;
    if (g->sl_kind == NX_LEVEL_ATR_MULT) {
        if (g->atr <= 0 || !(g->sl_value > 0))
            return NX_EINVAL;
        int64_t d = llround(g->sl_value * (double)g->atr);
        *sl = round_to(buy ? entry - d : entry + d, tick);
    } else if (g->sl_kind == NX_LEVEL_PRICE) {
        *sl = round_to(g->sl_price, tick);
    }
    if (g->tp_kind == NX_LEVEL_ATR_MULT) {
        if (g->atr <= 0 || !(g->tp_value > 0))
            return NX_EINVAL;
        int64_t d = llround(g->tp_value * (double)g->atr);
        *tp = round_to(buy ? entry + d : entry - d, tick);
    } else if (g->tp_kind == NX_LEVEL_PRICE) {
        *tp = round_to(g->tp_price, tick);
    }
    /* a stop on the wrong side of the entry would fire at once */
    if (*sl && (buy ? *sl >= entry : *sl <= entry))
        return NX_EINVAL;
    if (*tp && (buy ? *tp <= entry : *tp >= entry))
        return NX_EINVAL;
    if (*sl < 0 || *tp < 0)
        return NX_EINVAL;
    return 0;
}

void nx_shield_decide(const nx_risk_conf_t *c, nx_risk_state_t *s, const nx_shield_input_t *in,
                      int64_t now_ns, nx_decision_t *out)
{
    memset(out, 0, sizeof *out);
    out->price = in->price;
    const nx_ev_signal_t *g = in->signal;
    if (!g || !in->sym || in->sym->id >= NX_SHIELD_MAX_SYMBOLS || in->price <= 0 ||
        g->side < NX_SIG_BUY || g->side > NX_SIG_EXIT_SHORT) {
        reject(out, NX_REJ_BAD_SIGNAL);
        return;
    }
    roll(s, now_ns);
    nx_risk_symbol_t *rs = &s->sym[in->sym->id];
    if (g->side == NX_SIG_EXIT_LONG || g->side == NX_SIG_EXIT_SHORT) {
        decide_exit(c, rs, in, out);
        if (out->verdict == NX_V_APPROVE)
            rs->cooldown_until = now_ns + cooldown(c, g->atr, in->price);
        return;
    }
    if (in->global_kill || s->kill)
        return reject(out, NX_REJ_KILL_SWITCH);
    if (in->storage_down)
        return reject(out, NX_REJ_STORAGE);
    if (s->paused)
        return reject(out, NX_REJ_PAUSED);
    if (s->tripped) {
        if (s->halt_until != INT64_MAX && now_ns >= s->halt_until)
            s->tripped = 0; /* the halt is over */
        else
            return reject(out, NX_REJ_BREAKER);
    }
    const nx_lock_t *lk = nx_shield_lock_for(s, in->sym->id, now_ns);
    if (lk)
        return reject(out, lk->reason == NX_REJ_DRAWDOWN ? NX_REJ_DRAWDOWN : NX_REJ_LOCKED);
    if (now_ns < rs->cooldown_until)
        return reject(out, NX_REJ_COOLDOWN);
    if (c->stale_ns && in->data_age_ns > c->stale_ns)
        return reject(out, NX_REJ_STALE_DATA);
    if (c->market_hours && in->market_closed)
        return reject(out, NX_REJ_MARKET_CLOSED);
    if (c->market_hours && c->close_buffer_ns && in->to_close_ns > 0 &&
        in->to_close_ns <= c->close_buffer_ns)
        return reject(out, NX_REJ_NEAR_CLOSE);
    if (rs->position != 0)
        return reject(out, NX_REJ_HAS_POSITION);
    if (c->max_positions && s->open_positions >= c->max_positions)
        return reject(out, NX_REJ_MAX_POSITIONS);
    if (c->max_trades_day && s->trades_today >= c->max_trades_day)
        return reject(out, NX_REJ_MAX_TRADES);
    /* the position this entry opens may close today (its stop, its
     * target): with the rule's count already reached that would be one
     * day trade too many */
    if (c->pdt_min_equity && s->equity < c->pdt_min_equity && in->trading_day &&
        nx_shield_day_trades(s, in->trading_day) >= NX_PDT_DAY_TRADES)
        return reject(out, NX_REJ_PDT);
    if (c->daily_loss_stop && -s->day_pnl >= c->daily_loss_stop)
        return reject(out, NX_REJ_DAILY_LOSS);
    if (c->weekly_loss_bp &&
        (__int128)-s->week_pnl * 10000 >= (__int128)c->weekly_loss_bp * s->week_start_equity)
        return reject(out, NX_REJ_WEEKLY_LOSS);
    if (c->max_drawdown_bp && s->peak_equity > 0 &&
        (__int128)(s->peak_equity - s->equity) * 10000 >=
            (__int128)c->max_drawdown_bp * s->peak_equity)
        return reject(out, NX_REJ_DRAWDOWN);

    int buy = g->side == NX_SIG_BUY;
    const nx_symbol_t *r = in->sym;
    int64_t entry = in->price, sl, tp;
    if (levels(g, buy, entry, r->tick_size, &sl, &tp))
        return reject(out, NX_REJ_BAD_SIGNAL);
    if (!sl && c->default_stop_bp) { /* no position goes out without a stop */
        int64_t d = (int64_t)((__int128)entry * c->default_stop_bp / 10000);
        sl = round_to(buy ? entry - d : entry + d, r->tick_size);
        if (sl <= 0 || sl == entry)
            return reject(out, NX_REJ_BAD_SIGNAL);
    }
    /* sizing: margin share of equity times leverage, or the risk at the stop */
    int64_t notional = (int64_t)((__int128)s->equity * c->size_pct_bp / 10000) * c->leverage;
    if (c->risk_pct_bp && sl) {
        int64_t risk = (int64_t)((__int128)s->equity * c->risk_pct_bp / 10000);
        int64_t dist = entry > sl ? entry - sl : sl - entry;
        int64_t by_risk = notional_of(qty_for(risk, dist, r->qty_scale), entry, r->qty_scale);
        int64_t cap = (int64_t)((__int128)s->equity * c->leverage); /* leverage bounds it */
        notional = by_risk < cap ? by_risk : cap;
    }
    nx_reject_t cut = NX_REJ_NONE;
    if (c->max_symbol_exposure) {
        int64_t room = c->max_symbol_exposure - rs->notional;
        if (room <= 0)
            return reject(out, NX_REJ_EXPOSURE);
        if (notional > room) {
            notional = room;
            cut = NX_REJ_EXPOSURE;
        }
    }
    if (c->max_total_exposure) {
        int64_t room = c->max_total_exposure - s->total_exposure;
        if (room <= 0)
            return reject(out, NX_REJ_EXPOSURE);
        if (notional > room) {
            notional = room;
            cut = NX_REJ_EXPOSURE;
        }
    }
    int64_t qty = qty_for(notional, entry, r->qty_scale);
    if (r->lot_size > 0)
        qty -= qty % r->lot_size;
    if (qty <= 0 || notional_of(qty, entry, r->qty_scale) < r->min_notional)
        return reject(out, NX_REJ_MIN_NOTIONAL);

    out->side = buy ? NX_SIDE_BUY : NX_SIDE_SELL;
    out->qty = qty;
    out->leverage = (uint8_t)c->leverage;
    out->stop_loss = sl;
    out->take_profit = tp;
    out->reason = cut;
    if (c->mode == NX_MODE_WATCHER) {
        out->verdict = NX_V_NOTIFY;
        out->reason = NX_REJ_WATCHER;
        return;
    }
    if (c->mode == NX_MODE_COPILOT) {
        out->verdict = NX_V_ASK;
        return;
    }
    out->verdict = cut ? NX_V_RESIZE : NX_V_APPROVE;
    s->trades_today++;
    rs->cooldown_until = now_ns + cooldown(c, g->atr, entry);
}

void nx_shield_approve(const nx_risk_conf_t *c, nx_risk_state_t *s, const nx_shield_input_t *in,
                       const nx_decision_t *asked, int64_t waited_ns, int64_t now_ns,
                       nx_decision_t *out)
{
    memset(out, 0, sizeof *out);
    out->price = in->price;
    if (waited_ns > c->approval_ttl_ns)
        return reject(out, NX_REJ_EXPIRED);
    int64_t move = in->price > asked->price ? in->price - asked->price : asked->price - in->price;
    if ((__int128)move * 10000 > (__int128)c->approval_drift_bp * asked->price)
        return reject(out, NX_REJ_DRIFT);
    nx_risk_conf_t pilot = *c;
    pilot.mode = NX_MODE_PILOT; /* the user has decided: every limit still applies */
    nx_shield_decide(&pilot, s, in, now_ns, out);
}

void nx_shield_on_position(nx_risk_state_t *s, uint32_t symbol, int64_t position, int64_t notional)
{
    if (symbol >= NX_SHIELD_MAX_SYMBOLS)
        return;
    nx_risk_symbol_t *rs = &s->sym[symbol];
    s->open_positions += (position != 0) - (rs->position != 0);
    s->total_exposure += notional - rs->notional;
    rs->position = position;
    rs->notional = notional;
}

void nx_shield_on_equity(const nx_risk_conf_t *c, nx_risk_state_t *s, int64_t equity,
                         int64_t now_ns)
{
    s->equity = equity;
    if (equity > s->peak_equity)
        s->peak_equity = equity;
    if (c->max_drawdown_bp && c->max_drawdown_lock_ns && s->peak_equity > 0 &&
        (__int128)(s->peak_equity - equity) * 10000 >=
            (__int128)c->max_drawdown_bp * s->peak_equity)
        add_lock(s, NX_SYMBOL_NONE, NX_REJ_DRAWDOWN, now_ns + c->max_drawdown_lock_ns, now_ns);
}

void nx_shield_on_trade_closed(const nx_risk_conf_t *c, nx_risk_state_t *s, uint32_t symbol,
                               int64_t pnl, int stopout, int64_t atr, int64_t price, int64_t now_ns)
{
    roll(s, now_ns);
    s->day_pnl += pnl;
    s->week_pnl += pnl;
    nx_shield_on_equity(c, s, s->equity + pnl, now_ns);
    if (pnl < 0) {
        if (++s->consecutive_losses >= c->breaker_losses && !s->tripped) {
            s->tripped = 1;
            if (c->breaker_halt_ns > 0 &&
                (!c->breaker_max_halts || s->halts < c->breaker_max_halts)) {
                s->halt_until = now_ns + c->breaker_halt_ns;
                s->halts++;
            } else {
                s->halt_until = INT64_MAX; /* until a person resets it */
            }
            s->consecutive_losses = 0;
        }
    } else {
        s->consecutive_losses = 0;
    }
    if (symbol >= NX_SHIELD_MAX_SYMBOLS)
        return;
    nx_risk_symbol_t *rs = &s->sym[symbol];
    rs->cooldown_until = now_ns + cooldown(c, atr, price);
    rs->results[rs->n_results++ % NX_SHIELD_RING] = pnl;
    if (stopout) {
        rs->stopouts[rs->n_stopouts++ % NX_SHIELD_RING] = now_ns;
        if (c->sl_guard_lock_ns && c->sl_guard_stops && c->sl_guard_stops <= NX_SHIELD_RING) {
            uint32_t recent = 0;
            for (uint32_t i = 0; i < NX_SHIELD_RING && i < rs->n_stopouts; i++)
                recent += now_ns - rs->stopouts[i] <= c->sl_guard_window_ns;
            if (recent >= c->sl_guard_stops)
                add_lock(s, symbol, NX_REJ_LOCKED, now_ns + c->sl_guard_lock_ns, now_ns);
        }
    }
    if (c->low_profit_lock_ns && c->low_profit_trades && c->low_profit_trades <= NX_SHIELD_RING &&
        rs->n_results >= c->low_profit_trades) {
        int64_t sum = 0;
        for (uint32_t i = 0; i < c->low_profit_trades; i++)
            sum += rs->results[(rs->n_results - 1 - i) % NX_SHIELD_RING];
        if (sum < c->low_profit_min)
            add_lock(s, symbol, NX_REJ_LOCKED, now_ns + c->low_profit_lock_ns, now_ns);
    }
}
