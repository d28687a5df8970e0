/*
 * replies.c — the answers about a session (/status, /balance, /positions,
 * /trades, /profit, /daily, /weekly, /performance, /locks, /config,
 * /strategies, /regime), and the two ways the chat layer reaches the
 * engine thread: a question (chat_ask, rendered there by render() from
 * the desk and the cortex between two market events) and a command for
 * the desk (chat_command). Each costs one round trip through the engine
 * thread (~0.1 ms when it is idle).
 */
#include "chat_int.h"

#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/regime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned quote_scale(const nx_chat_t *b)
{
    const nx_symbol_t *y = nx_symtab_get(b->symtab, 0);
    return y ? y->price_scale : 8;
}

const char *chat_money(const nx_chat_t *b, int64_t v, char *buf)
{
    nx_fixed_format(v, quote_scale(b), buf, NX_FIXED_FMT_MAX);
    /* two decimals are enough for a person */
    char *dot = strchr(buf, '.');
    if (dot && strlen(dot) > 3)
        dot[3] = 0;
    return buf;
}

/* Why a signal or a command was refused, for people: never the code. */
const char *chat_reject_words(int why)
{
    static const char *const words[NX_REJ_COUNT] = {
        [NX_REJ_NONE] = "no reason given",
        [NX_REJ_KILL_SWITCH] = "the kill switch is on: only exits pass",
        [NX_REJ_BREAKER] = "the circuit breaker tripped after losing trades (/reset)",
        [NX_REJ_COOLDOWN] = "the pair is cooling down after its last trade",
        [NX_REJ_LOCKED] = "the pair is locked by a protection (/locks)",
        [NX_REJ_MAX_POSITIONS] = "as many positions are open as the session allows",
        [NX_REJ_EXPOSURE] = "it would exceed the session's exposure limit",
        [NX_REJ_DAILY_LOSS] = "today's loss limit is reached",
        [NX_REJ_WEEKLY_LOSS] = "this week's loss limit is reached",
        [NX_REJ_DRAWDOWN] = "the drawdown limit is reached",
        [NX_REJ_STALE_DATA] = "the market data is too old to trade on",
        [NX_REJ_MIN_NOTIONAL] = "the order would be below the venue's minimum size",
        [NX_REJ_PAUSED] = "the session is paused (/resume)",
        [NX_REJ_WATCHER] = "the session only watches (/mode)",
        [NX_REJ_MAX_TRADES] = "today's number of trades is reached",
        [NX_REJ_NO_POSITION] = "there is no position to exit",
        [NX_REJ_HAS_POSITION] = "a position on the pair is already open",
        [NX_REJ_EXPIRED] = "the request expired",
        [NX_REJ_DRIFT] = "the price moved too far since the request",
        [NX_REJ_BAD_SIGNAL] = "the signal's price or stop was unusable (missing, or far from "
                              "the market)",
        [NX_REJ_DECLINED] = "you rejected it",
        [NX_REJ_STORAGE] = "storage is down, so nothing new is opened until it is back (exits "
                           "and stops still run)",
        [NX_REJ_MARKET_CLOSED] = "the US market is closed: new entries wait for the next session",
        [NX_REJ_NEAR_CLOSE] = "the US market closes soon: no new entries in the session's last "
                              "minutes",
        [NX_REJ_PDT] = "the pattern-day-trader rule: with equity under $25,000, a fourth day "
                       "trade within five business days is not allowed",
    };
    return why >= 0 && why < NX_REJ_COUNT && words[why] ? words[why] : "a limit applies";
}

/* How a trade ended, for people. */
const char *chat_exit_words(int reason)
{
    static const char *const words[] = {
        [NX_EXIT_NONE] = "closed",
        [NX_EXIT_TP] = "take-profit",
        [NX_EXIT_SL] = "stop-loss",
        [NX_EXIT_TRAILING] = "trailing stop",
        [NX_EXIT_TIME] = "time limit",
        [NX_EXIT_SENTINEL] = "Sentinel's protective exit",
        [NX_EXIT_SIGNAL] = "the strategy's exit",
        [NX_EXIT_MANUAL] = "manual",
        [NX_EXIT_PANIC] = "close all",
        [NX_EXIT_EMERGENCY] = "emergency: the stop could not be placed",
        [NX_EXIT_LIQUIDATION] = "liquidated by the venue",
        [NX_EXIT_ADL] = "closed by the venue's auto-deleveraging",
    };
    return reason >= 0 && reason <= NX_EXIT_ADL && words[reason] ? words[reason] : "closed";
}

/* What a protection lock is for, for people. */
const char *chat_lock_words(int why)
{
    switch (why) {
    case NX_REJ_LOCKED:
        return "after losing trades on it";
    case NX_REJ_DRAWDOWN:
        return "the drawdown limit was reached";
    case NX_REJ_DAILY_LOSS:
        return "today's loss limit was reached";
    case NX_REJ_WEEKLY_LOSS:
        return "this week's loss limit was reached";
    default:
        return "a protection";
    }
}

/* "1 trade", "3 trades". */
const char *chat_plural(long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

const char *const chat_mode_names[3] = {"watcher", "copilot", "pilot"};

const char *chat_sym_name(const nx_chat_t *b, uint32_t s)
{
    const nx_symbol_t *y = nx_symtab_get(b->symtab, s);
    return y ? y->name : "all";
}

void chat_px(const nx_chat_t *b, uint32_t sym, int64_t v, char *buf)
{
    const nx_symbol_t *y = nx_symtab_get(b->symtab, sym);
    nx_fixed_format(v, y ? y->price_scale : 8, buf, NX_FIXED_FMT_MAX);
}

void chat_qty(const nx_chat_t *b, uint32_t sym, int64_t v, char *buf)
{
    const nx_symbol_t *y = nx_symtab_get(b->symtab, sym);
    nx_fixed_format(v, y ? y->qty_scale : 8, buf, NX_FIXED_FMT_MAX);
}

/* Trades of a session grouped by UTC day (86400 s) or week (from Monday). */
static void grouped(query_t *q, const nx_desk_t *d, nx_trade_closed_t *t, int n, int64_t span_s,
                    long groups)
{
    nx_chat_t *b = q->b;
    int64_t now_s = nx_desk_now(d) / NX_NS_PER_SEC;
    int64_t off = span_s == 7 * 86400 ? 4 * 86400 : 0; /* 1970-01-01 was a Thursday */
    int64_t cur = (now_s - off) / span_s;
    chat_put(&q->out, "<b>%s P&amp;L</b> (UTC)\n", span_s == 86400 ? "Daily" : "Weekly");
    for (long g = 0; g < groups; g++) {
        int64_t pnl = 0;
        int cnt = 0;
        for (int i = 0; i < n; i++)
            if ((t[i].closed_ns / NX_NS_PER_SEC - off) / span_s == cur - g) {
                pnl += t[i].pnl;
                cnt++;
            }
        char day[32], m[NX_FIXED_FMT_MAX];
        time_t ts = (time_t)((cur - g) * span_s + off);
        struct tm tm;
        gmtime_r(&ts, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        chat_put(&q->out, "%s: %s (%d %s)\n", day, chat_money(b, pnl, m), cnt,
                 chat_plural(cnt, "trade", "trades"));
    }
}

/* /regime's second half: the regime classifier and what it routes. */
static void routing(query_t *q, nx_cortex_t *cx, uint32_t sym)
{
    nx_regime_read_t g;
    if (nx_cortex_regime_read(cx, sym, &g) || !g.on) {
        chat_put(&q->out, "Strategies are not routed by regime: every strategy's signals reach "
                          "the sessions.");
        return;
    }
    if (g.has_probs) {
        chat_put(&q->out, "Model: ");
        for (int c = 0; c < NX_RC_COUNT; c++)
            chat_put(&q->out, "%s%s %.0f%%", c ? ", " : "", nx_regime_class_name(c),
                     100.0 * g.probs[c]);
        chat_put(&q->out, "\n");
    } else if (!g.has_model) {
        chat_put(&q->out, "No regime model is loaded.\n");
    } else {
        chat_put(&q->out, "Model: no prediction yet (its features are still warming up).\n");
    }
    unsigned tf = g.tf_s >= 3600 ? g.tf_s / 3600 : g.tf_s / 60;
    const char *unit = g.tf_s >= 3600 ? "h" : "m";
    if (g.cls < 0)
        chat_put(&q->out, "Regime (%u%s): none yet, so no strategy is filtered.\n", tf, unit);
    else if (g.by_rules)
        chat_put(&q->out, "Regime (%u%s): <b>%s</b>, by the rules (%s)%s.\n", tf, unit,
                 nx_regime_class_name(g.cls), nx_regime_name((nx_regime_t)g.rule),
                 g.has_probs ? ", the model below its threshold" : "");
    else
        chat_put(&q->out, "Regime (%u%s): <b>%s</b>, by the model (at least %.0f%% sure).\n", tf,
                 unit, nx_regime_class_name(g.cls), 100.0 * g.threshold);
    chat_put(&q->out, "Active strategies:");
    nx_strategy_info_t si;
    int any = 0;
    for (int i = 0; i < 64 && nx_cortex_strategy_info(cx, i, &si) == 0; i++)
        if (g.active & (1ULL << i)) {
            char name[96];
            nx_tg_escape(si.name, name, sizeof name);
            chat_put(&q->out, "%s %s", any ? "," : "", name);
            any = 1;
        }
    chat_put(&q->out, "%s", any ? "." : " none.");
}

/* /models: the regime model, its reloads; a reload asked first (the
 * watcher thread loads it, the engine swaps it in between two events). */
static void models(query_t *q, nx_cortex_t *cx, int reload)
{
    nx_regime_read_t g;
    if (!cx || nx_cortex_regime_read(cx, 0, &g) || !g.on) {
        chat_put(&q->out, "Strategies are not routed by regime (no cortex.regime in the config).");
        return;
    }
    if (reload) {
        if (nx_cortex_reload_model(cx))
            chat_put(&q->out, "No model is configured: the rule-based read decides.\n");
        else
            chat_put(&q->out, "Reload of the regime model asked; /models shows how it went.\n");
    }
    nx_cortex_stats_t cs;
    nx_cortex_stats(cx, &cs);
    char err[320];
    nx_cortex_model_error(cx, err, sizeof err);
    char esc[1100];
    nx_tg_escape(g.model[0] ? g.model : "none (the rule-based read decides)", esc, sizeof esc);
    chat_put(&q->out, "<b>Regime model</b>: %s%s\n", esc,
             g.model[0] && !g.has_model ? " (not loaded: the rule-based read decides)" : "");
    chat_put(&q->out,
             "Threshold %.0f%%; candles decided by the model %llu, by "
             "the rules %llu; entries not routed %llu; reloads %llu, refused %llu",
             100.0 * g.threshold, (unsigned long long)cs.regime_by_model,
             (unsigned long long)cs.regime_by_rules, (unsigned long long)cs.unrouted,
             (unsigned long long)cs.model_reloads, (unsigned long long)cs.model_reload_failures);
    if (err[0]) {
        nx_tg_escape(err, esc, sizeof esc);
        chat_put(&q->out, "\nLast reload refused: %s", esc);
    }
}

/* /regime: the cortex's market read of one pair (engine thread). */
static void regime(query_t *q, nx_cortex_t *cx, uint32_t sym)
{
    nx_market_read_t r;
    const char *name = chat_sym_name(q->b, sym);
    if (!cx || nx_cortex_market_read(cx, sym, &r)) {
        chat_put(&q->out, "%s: no candles are built for it.", name);
        return;
    }
    unsigned tf = r.tf_s >= 3600 ? r.tf_s / 3600 : r.tf_s / 60;
    const char *unit = r.tf_s >= 3600 ? "h" : "m";
    if (r.regime == NX_REGIME_UNKNOWN) {
        chat_put(&q->out,
                 "<b>%s</b> %u%s: not enough candles yet (%llu closed; the read needs 100).\n",
                 name, tf, unit, (unsigned long long)r.closed);
        routing(q, cx, sym);
        return;
    }
    chat_put(&q->out, "<b>%s</b> %u%s: <b>%s</b>\n", name, tf, unit, nx_regime_name(r.regime));
    chat_put(&q->out,
             "ADX %.1f (+DI %.1f, -DI %.1f); ATR %.2f%% of price, %.2fx its 100-candle mean\n",
             r.adx, r.plus_di, r.minus_di, r.natr14, r.atr100 > 0 ? r.atr14 / r.atr100 : 1.0);
    /* 7 significant digits: 35889.08 and 0.01234567 alike */
    chat_put(&q->out, "close %.7g, EMA50 %.7g, ", r.close, r.ema50);
    if (isnan(r.ema200)) /* 100..199 candles */
        chat_put(&q->out, "EMA200 after %llu more candles, ",
                 r.closed < 200 ? 200 - (unsigned long long)r.closed : 0);
    else
        chat_put(&q->out, "EMA200 %.7g, ", r.ema200);
    chat_put(&q->out, "RSI %.1f\n", r.rsi14);
    chat_put(&q->out, "Rule-based read (trend: ADX &gt;= 25; range: ADX &lt; 20; volatile: ATR "
                      "&gt;= 1.5x its mean).\n");
    routing(q, cx, sym);
}

static void render(const nx_chat_view_t *v, void *ctx, int rc, int why)
{
    (void)rc;
    (void)why;
    query_t *q = ctx;
    nx_chat_t *b = q->b;
    const nx_desk_t *d = v->desk;
    nx_cortex_t *cx = v->cortex;
    char m1[NX_FIXED_FMT_MAX], m2[NX_FIXED_FMT_MAX], m3[NX_FIXED_FMT_MAX], m4[NX_FIXED_FMT_MAX];
    nx_desk_info_t in;
    if (q->what == Q_STRATEGIES) {
        nx_cortex_stats_t cs;
        if (!cx) {
            chat_put(&q->out, "No strategies run.");
            return;
        }
        nx_cortex_stats(cx, &cs);
        chat_put(&q->out, "<b>Strategies</b>\n");
        for (uint32_t i = 0; i < cs.strategies; i++) {
            nx_strategy_info_t si;
            if (nx_cortex_strategy_info(cx, (int)i, &si) == 0)
                chat_put(&q->out, "%s (%s %s): %llu signals, %llu not routed, %llu swaps%s%s\n",
                         si.name, si.plugin, si.version, (unsigned long long)si.signals,
                         (unsigned long long)si.unrouted, (unsigned long long)si.swaps,
                         si.last_error[0] ? ", last error: " : "", si.last_error[0] ? "yes" : "");
        }
        return;
    }
    if (q->what == Q_REGIME) {
        regime(q, cx, (uint32_t)q->n);
        return;
    }
    if (q->what == Q_MODELS) {
        models(q, cx, q->n == 1);
        return;
    }
    if (!d || nx_desk_info(d, q->session, &in)) {
        chat_put(&q->out, "You have no trading session yet: the owner adds one under your name.");
        return;
    }
    int64_t pnl = in.balance - in.start_equity;
    switch (q->what) {
    case Q_STATUS:
        chat_put(&q->out, "<b>%s</b>: %s%s%s%s%s\n", in.name, chat_mode_names[in.mode],
                 in.paused ? ", paused" : "", in.held ? ", held (check /health, then /resume)" : "",
                 in.kill ? ", kill switch on" : "",
                 in.global_kill ? ", global kill switch on" : "");
        chat_put(&q->out, "Balance %s (P&amp;L %s), %u open, %u %s, %u waiting for approval\n",
                 chat_money(b, in.balance, m1), chat_money(b, pnl, m2), in.open_positions,
                 in.trades, chat_plural(in.trades, "trade", "trades"), in.pending_approvals);
        if (in.breaker_tripped)
            chat_put(&q->out, "Circuit breaker tripped%s\n",
                     in.breaker_until_ns == INT64_MAX ? ": /reset" : "");
        break;
    case Q_BALANCE:
        chat_put(&q->out,
                 "<b>Balance</b> %s\nStarted with %s\nP&amp;L %s (fees %s)\nMax drawdown %.2f%%",
                 chat_money(b, in.balance, m1), chat_money(b, in.start_equity, m2),
                 chat_money(b, pnl, m3), chat_money(b, in.fees, m4), in.max_drawdown_bp / 100.0);
        break;
    case Q_POSITIONS:
    case Q_OPEN_SYMBOLS: {
        nx_desk_position_t p[64];
        int n = nx_desk_positions(d, q->session, p, 64);
        q->nsyms = 0;
        for (int i = 0; i < n; i++)
            q->syms[q->nsyms++] = p[i].symbol;
        if (q->what == Q_OPEN_SYMBOLS)
            break;
        if (!n)
            chat_put(&q->out, "No open positions.");
        for (int i = 0; i < n; i++) {
            const nx_position_info_t *x = &p[i].pos;
            chat_qty(b, p[i].symbol, x->qty > 0 ? x->qty : -x->qty, m1);
            chat_px(b, p[i].symbol, x->avg_px, m2);
            chat_px(b, p[i].symbol, x->sl, m3);
            chat_put(&q->out, "<b>%s</b> %s %s @ %s, stop %s%s", chat_sym_name(b, p[i].symbol),
                     x->qty > 0 ? "long" : "short", m1, m2, x->sl ? m3 : "none",
                     x->sl && !x->protected_sl ? " (not at the venue)" : "");
            if (x->tp) {
                chat_px(b, p[i].symbol, x->tp, m3);
                chat_put(&q->out, ", target %s%s", m3,
                         x->protected_tp ? "" : " (not at the venue)");
            }
            chat_put(&q->out, ", unrealised %s\n", chat_money(b, x->unrealized, m4));
        }
        break;
    }
    case Q_TRADES:
    case Q_PROFIT:
    case Q_DAILY:
    case Q_WEEKLY:
    case Q_PERF: {
        static nx_trade_closed_t t[NX_DESK_TRADES]; /* engine thread only */
        int n = nx_desk_trades(d, q->session, t, NX_DESK_TRADES);
        if (q->what == Q_TRADES) {
            if (!n)
                chat_put(&q->out, "No closed trades yet.");
            for (int i = n - (int)q->n < 0 ? 0 : n - (int)q->n; i < n; i++) {
                chat_px(b, t[i].symbol, t[i].entry_px, m1);
                chat_px(b, t[i].symbol, t[i].exit_px, m2);
                chat_put(&q->out, "%s %s %s → %s, %s (%s)\n", chat_sym_name(b, t[i].symbol),
                         t[i].dir > 0 ? "long" : "short", m1, m2, chat_money(b, t[i].pnl, m3),
                         chat_exit_words(t[i].reason));
            }
        } else if (q->what == Q_PROFIT) {
            int64_t best = 0, worst = 0;
            for (int i = 0; i < n; i++) {
                if (!i || t[i].pnl > best)
                    best = t[i].pnl;
                if (!i || t[i].pnl < worst)
                    worst = t[i].pnl;
            }
            chat_put(&q->out,
                     "<b>Profit</b> %s over %u closed %s (win rate %.1f%%)\nBest %s, worst %s\n"
                     "Balance %s",
                     chat_money(b, pnl, m1), in.trades, chat_plural(in.trades, "trade", "trades"),
                     in.trades ? 100.0 * in.wins / in.trades : 0.0, chat_money(b, best, m2),
                     chat_money(b, worst, m3), chat_money(b, in.balance, m4));
        } else if (q->what == Q_PERF) {
            chat_put(&q->out, "<b>Performance by pair</b>\n");
            for (uint32_t s = 0; s < nx_symtab_count(b->symtab); s++) {
                int64_t sum = 0;
                int cnt = 0, wins = 0;
                for (int i = 0; i < n; i++)
                    if (t[i].symbol == s) {
                        sum += t[i].pnl;
                        cnt++;
                        wins += t[i].pnl > 0;
                    }
                if (cnt)
                    chat_put(&q->out, "%s: %s over %d %s, %d won\n", chat_sym_name(b, s),
                             chat_money(b, sum, m1), cnt, chat_plural(cnt, "trade", "trades"),
                             wins);
            }
        } else {
            grouped(q, d, t, n, q->what == Q_DAILY ? 86400 : 7 * 86400, q->n);
        }
        break;
    }
    case Q_LOCKS: {
        nx_lock_t l[32];
        int n = nx_desk_locks(d, q->session, l, 32);
        if (!n)
            chat_put(&q->out, "No protection locks.");
        for (int i = 0; i < n; i++)
            chat_put(&q->out, "%s locked (%s)%s\n",
                     l[i].symbol == NX_SYMBOL_NONE ? "every pair" : chat_sym_name(b, l[i].symbol),
                     chat_lock_words(l[i].reason),
                     l[i].until_ns == INT64_MAX ? " until /unlock" : "");
        break;
    }
    case Q_CONFIG: {
        const char *key;
        int64_t val, lo, hi;
        chat_put(&q->out, "<b>Settings</b> (/config set KEY VALUE)\n");
        for (int i = 0; nx_desk_setting(d, q->session, i, &key, &val, &lo, &hi) == 0; i++)
            chat_put(&q->out, "%s = %lld (%lld..%lld)\n", key, (long long)val, (long long)lo,
                     (long long)hi);
        break;
    }
    default:
        break;
    }
}

/* Ask the engine thread; q->out holds the answer. */
int chat_ask(nx_chat_t *b, query_t *q, int what, uint32_t session, long n)
{
    memset(q, 0, sizeof *q);
    q->b = b;
    q->what = what;
    q->session = session;
    q->n = n;
    nx_ev_control_t c = {0};
    c.cmd = NX_CTL_QUERY;
    c.session = session;
    int rc = b->host.call(b->host.ctx, &c, render, q, NULL);
    if (rc == NX_ECLOSED)
        chat_put(&q->out, "The engine is stopping.");
    return rc;
}

/* A command for the desk; the answer in text. */
int chat_command(nx_chat_t *b, uint32_t session, int cmd, int64_t arg, const char *text, int *why)
{
    nx_ev_control_t c = {0};
    c.cmd = (uint8_t)cmd;
    c.session = session;
    c.arg = arg;
    if (text)
        snprintf(c.text, sizeof c.text, "%s", text);
    return b->host.call(b->host.ctx, &c, NULL, NULL, why);
}

/* A pair named by a person, any case; NX_SYMBOL_NONE if unknown. */
uint32_t chat_symbol_arg(nx_chat_t *b, int64_t session, const char *s)
{
    char up[32];
    size_t i = 0;
    for (; s && s[i] && i < sizeof up - 1; i++)
        up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    up[i] = 0;
    /* a name can be listed on several venues (BTCUSDT on Binance futures
     * and spot): the session's own venue's first */
    const chat_session_t *cs = session ? chat_session_get(b, session) : NULL;
    nx_venue_t v = cs ? nx_venue_parse(cs->venue, strlen(cs->venue)) : NX_VENUE_NONE;
    uint32_t first = NX_SYMBOL_NONE;
    for (uint32_t k = 0; k < nx_symtab_count(b->symtab); k++) {
        const nx_symbol_t *sym = nx_symtab_get(b->symtab, k);
        if (strcmp(sym->name, up))
            continue;
        if (sym->venue == v)
            return k;
        if (first == NX_SYMBOL_NONE)
            first = k;
    }
    return first;
}
