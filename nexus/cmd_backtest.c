/*
 * cmd_backtest.c — `nexus backtest`: history through the engine's own
 * trading code in one process, on one thread, driven by event time.
 *
 *   nexus backtest --config C [--from T] [--to T] [--venue V] [--symbol S]
 *                  [--orders FILE] [--stats FILE] DATA...
 *
 * Each DATA file is read as `nexus replay` would serve it (a *.csv is the
 * bundled candle format, turned into the venue's trade and closed-kline
 * messages; anything else is recorded frames, one per line) unless it is
 * an event file (nx/evfile.h: `nexus record`), whose events go to the
 * engine as they were recorded, with no decoding. The files are merged in
 * time order (ties: the order of the files), and
 * every message goes through the venue's decoder, the bad-tick filter, the
 * desk (paper venue: fills, stops, trailing) and the cortex (candles,
 * indicators, strategies, regime routing), whose signals reach the desk —
 * the same calls, in the same order, as the engine thread of `nexus run`
 * makes. No socket, no thread, no wall clock: every time is the data's, so
 * the same inputs give the same order stream byte for byte.
 *
 * The sessions are the config's (trading.sessions, ids 1..n, as a fresh
 * database would number them); a COPILOT session's requests expire
 * unanswered (nobody is there to approve them); nothing is stored.
 * Before --from the market warms the cortex's indicators up but the desk
 * does not trade; the run stops at --to.
 */
#include "cli.h"
#include "parts.h"

#include "nx/clock.h"
#include "nx/decode.h"
#include "nx/desk.h"
#include "nx/event_json.h"
#include "nx/evfile.h"
#include "nx/shield.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/oms.h"
#include "nx/regime.h"
#include "nx/replay.h"

#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BT_MAX_INPUTS 16
#define BT_MAX_SESSIONS NX_CONFIG_MAX_SESSIONS

typedef struct bt_trade {
    uint32_t session, symbol;
    int8_t dir;
    uint8_t reason;
    uint16_t strategy; /* the strategy whose signal opened it (0xffff: a person's, unknown) */
    int8_t regime;     /* the market regime when it was decided (bt_regime_name), -1 unknown */
    int64_t qty, entry_px, exit_px, pnl, opened_ns, closed_ns;
} bt_trade_t;

typedef struct bt_point {
    int64_t t_ns;
    int64_t equity; /* the session's money units: balance + open positions' P&L */
} bt_point_t;

typedef struct bt_session {
    uint32_t id;
    int64_t start_equity;
    bt_point_t *curve; /* one point per UTC day end and per closed trade */
    size_t npts, cap;
    int64_t open_ns;     /* since when a position has been open (0: flat) */
    int64_t exposed_ns;  /* total time with a position open */
    uint32_t open_count; /* positions open now */
    int64_t funding;     /* funding received (< 0: paid), quote units */
    uint32_t fundings;   /* settlements that paid or charged it */
} bt_session_t;

typedef struct bt {
    nx_config_t cfg; /* a copy: the backtest's own settings (no plugin watching) */
    nx_symtab_t symtab;
    nx_cortex_t *cx;
    nx_desk_t *desk;
    nx_desk_market_day_t *market_days; /* the US market's days (parts.h), or NULL */
    nx_tickguard_t *guard;
    nx_ring_t *ring;
    FILE *orders;
    FILE *sigs; /* --signals: every strategy signal as a JSON line */
    int64_t from_ns, to_ns, first_ns, last_ns, day_end_ns;
    int64_t ev_ns; /* the time of the event going through the engine now */
    uint64_t events, signals, orders_n, fills;
    bt_point_t *px; /* symbol 0's candle closes (the shortest timeframe), for the report */
    size_t npx, pxcap;
    uint32_t px_iv;
    bt_session_t s[BT_MAX_SESSIONS];
    uint32_t ns;
    bt_trade_t *trades;
    size_t ntrades, tcap;
    /* the strategy of the latest entry decision per session and symbol */
    uint16_t entry_strategy[BT_MAX_SESSIONS][NX_OMS_MAX_SYMBOLS];
    int8_t entry_regime[BT_MAX_SESSIONS][NX_OMS_MAX_SYMBOLS]; /* and the regime then */
    int trading; /* past --from */
    int report;  /* keep what the HTML report draws */
    int failed;
} bt_t;

static const char *strategy_name(const bt_t *b, uint16_t id, char *buf, size_t cap);

static bt_session_t *bt_session(bt_t *b, uint32_t id)
{
    for (uint32_t i = 0; i < b->ns; i++)
        if (b->s[i].id == id)
            return &b->s[i];
    return NULL;
}

static int push_point(bt_session_t *s, int64_t t, int64_t eq)
{
    if (s->npts == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        bt_point_t *p = realloc(s->curve, cap * sizeof *p);
        if (!p)
            return NX_ENOMEM;
        s->curve = p;
        s->cap = cap;
    }
    s->curve[s->npts++] = (bt_point_t){t, eq};
    return 0;
}

/* A session's equity now: balance plus its open positions at the last price. */
static int64_t equity_of(bt_t *b, uint32_t session)
{
    nx_desk_info_t in;
    if (nx_desk_info(b->desk, session, &in))
        return 0;
    nx_desk_position_t pos[NX_OMS_MAX_SYMBOLS];
    int n = nx_desk_positions(b->desk, session, pos, NX_OMS_MAX_SYMBOLS);
    int64_t eq = in.balance;
    for (int i = 0; i < n; i++)
        eq += pos[i].pos.unrealized;
    return eq;
}

static void write_json(bt_t *b, const nx_event_t *ev)
{
    if (!b->orders)
        return;
    char json[1024];
    if (nx_event_json(ev, &b->symtab, json, sizeof json) > 0)
        fprintf(b->orders, "%s\n", json);
}

/* The market regime of a symbol now: with routing by regime, the class it
 * routes by (0..3, nx_regime_class_t; -1 none yet); without, the rules'
 * read (4 + nx_regime_t). */
static int8_t regime_now(bt_t *b, uint32_t symbol)
{
    nx_regime_read_t r;
    if (!b->cx || nx_cortex_regime_read(b->cx, symbol, &r))
        return -1;
    if (r.on)
        return (int8_t)(r.cls >= 0 && r.cls < NX_RC_COUNT ? r.cls : -1);
    nx_market_read_t m;
    if (nx_cortex_market_read(b->cx, symbol, &m) || m.regime == NX_REGIME_UNKNOWN)
        return -1;
    return (int8_t)(4 + m.regime);
}

static const char *bt_regime_name(int8_t r)
{
    if (r < 0)
        return "unknown";
    if (r < 4)
        return nx_regime_class_name(r);
    return nx_regime_name((nx_regime_t)(r - 4));
}

/* The desk's journal: orders, fills, decisions, notices, saved states. */
static void bt_journal(void *ctx, const nx_event_t *ev)
{
    bt_t *b = ctx;
    switch (ev->hdr.type) {
    case NX_EV_ORDER_INTENT:
        b->orders_n++;
        write_json(b, ev);
        break;
    case NX_EV_ORDER_UPDATE: {
        const nx_ev_order_update_t *u = &ev->u.order;
        write_json(b, ev);
        bt_session_t *s = bt_session(b, u->session);
        if (u->last_qty > 0) {
            b->fills++;
            if (s && !s->open_count++)
                s->open_ns = ev->hdr.exch_ns ? ev->hdr.exch_ns : b->last_ns;
        }
        break;
    }
    case NX_EV_DECISION: {
        const nx_ev_decision_t *d = &ev->u.decision;
        if ((d->verdict == NX_V_APPROVE || d->verdict == NX_V_RESIZE) &&
            (d->signal_side == NX_SIG_BUY || d->signal_side == NX_SIG_SELL) &&
            d->session <= BT_MAX_SESSIONS && d->session &&
            ev->hdr.symbol < NX_OMS_MAX_SYMBOLS)
        {
            b->entry_strategy[d->session - 1][ev->hdr.symbol] = d->strategy;
            b->entry_regime[d->session - 1][ev->hdr.symbol] = regime_now(b, ev->hdr.symbol);
        }
        write_json(b, ev);
        break;
    }
    case NX_EV_NOTICE: {
        const nx_ev_notice_t *n = &ev->u.notice;
        write_json(b, ev);
        bt_session_t *s = bt_session(b, n->session);
        if (s && n->kind == NX_NOTE_FUNDING) {
            s->funding += n->pnl;
            s->fundings++;
        }
        if (n->kind != NX_NOTE_CLOSED || !s)
            break;
        int64_t t = ev->hdr.exch_ns ? ev->hdr.exch_ns : b->last_ns;
        if (b->ntrades == b->tcap) {
            size_t cap = b->tcap ? b->tcap * 2 : 1024;
            bt_trade_t *p = realloc(b->trades, cap * sizeof *p);
            if (!p) {
                b->failed = NX_ENOMEM;
                break;
            }
            b->trades = p;
            b->tcap = cap;
        }
        uint32_t y = ev->hdr.symbol;
        bt_trade_t *tr = &b->trades[b->ntrades++];
        *tr = (bt_trade_t){n->session, y, n->dir, n->reason, 0xffff, -1, n->qty, n->entry_px,
                           n->exit_px, n->pnl, s->open_ns, t};
        if (n->session <= BT_MAX_SESSIONS && y < NX_OMS_MAX_SYMBOLS)
        {
            tr->strategy = b->entry_strategy[n->session - 1][y];
            tr->regime = b->entry_regime[n->session - 1][y];
        }
        /* the time with a position open: from its first fill to its close */
        if (s->open_count) {
            s->open_count = 0;
            if (s->open_ns && t > s->open_ns)
                s->exposed_ns += t - s->open_ns;
            s->open_ns = 0;
        }
        if (push_point(s, t, equity_of(b, n->session)))
            b->failed = NX_ENOMEM;
        break;
    }
    default:
        break;
    }
}

/* One strategy signal as a JSON line, its numbers exact (%.17g): t_ms is
 * the signal's own time (a candle's end, or its trade's), at_ms the time
 * of the market event that made it. The look-ahead check compares these
 * line for line between runs. */
static void signal_json(bt_t *b, const nx_event_t *sig)
{
    static const char *const sides[] = {"?", "buy", "sell", "exit_long", "exit_short"};
    const nx_ev_signal_t *g = &sig->u.signal;
    const nx_symbol_t *sy = nx_symtab_get(&b->symtab, sig->hdr.symbol);
    char nm[64], why[24];
    size_t k = 0;
    for (; k < sizeof why - 1 && g->reason[k]; k++) /* a plugin's tag: nothing to escape */
        why[k] = isalnum((unsigned char)g->reason[k]) || strchr("_-.:", g->reason[k])
                     ? g->reason[k]
                     : '_';
    why[k] = 0;
    int64_t t = sig->hdr.exch_ns ? sig->hdr.exch_ns : b->last_ns;
    fprintf(b->sigs,
            "{\"t_ms\":%lld,\"at_ms\":%lld,\"strategy\":\"%s\",\"symbol\":\"%s\",\"tf_s\":%u,\"side\":\"%s\","
            "\"confidence\":%.17g,\"sl_kind\":%u,\"sl\":%.17g,\"sl_px\":%lld,\"tp_kind\":%u,"
            "\"tp\":%.17g,\"tp_px\":%lld,\"ref_px\":%lld,\"reason\":\"%.23s\"}\n",
            (long long)(t / NX_NS_PER_MS), (long long)(b->ev_ns / NX_NS_PER_MS), strategy_name(b, g->strategy, nm, sizeof nm),
            sy ? sy->name : "?", g->tf_s, sides[g->side <= 4 ? g->side : 0], g->confidence,
            g->sl_kind, g->sl_value, (long long)g->sl_price, g->tp_kind, g->tp_value,
            (long long)g->tp_price, (long long)g->ref_price, why);
}

static void bt_signal(void *ctx, const nx_event_t *sig)
{
    bt_t *b = ctx;
    b->signals++;
    if (b->sigs)
        signal_json(b, sig);
    if (b->trading)
        nx_desk_on_signal(b->desk, sig);
}

static void bt_candle(void *ctx, const nx_event_t *k)
{
    (void)ctx, (void)k;
}

static void bt_bad_tick(void *ctx, const nx_event_t *ev, nx_bad_kind_t why, int64_t ref_px)
{
    (void)ctx, (void)ref_px;
    NX_DEBUG("backtest", "a %s held out by the bad-tick filter: %s",
             nx_event_type_name((nx_event_type_t)ev->hdr.type), nx_bad_name(why));
}

/* Each session's equity at the end of every UTC day the data crossed. */
static void day_ends(bt_t *b, int64_t t)
{
    const int64_t day = 86400 * NX_NS_PER_SEC;
    if (!b->day_end_ns)
        b->day_end_ns = (t / day + 1) * day;
    while (t >= b->day_end_ns) {
        for (uint32_t i = 0; i < b->ns; i++)
            if (push_point(&b->s[i], b->day_end_ns, equity_of(b, b->s[i].id)))
                b->failed = NX_ENOMEM;
        b->day_end_ns += day;
    }
}

/* One event the guard let through: the desk, then the cortex (whose
 * signals reach the desk), as the engine thread does. */
static void on_event(bt_t *b, const nx_event_t *ev)
{
    int64_t t = ev->hdr.exch_ns;
    if (t) {
        if (!b->first_ns)
            b->first_ns = t;
        if (t > b->last_ns)
            b->last_ns = t;
    }
    if (!b->trading && t && t >= b->from_ns) {
        b->trading = 1;
        for (uint32_t i = 0; i < b->ns; i++)
            push_point(&b->s[i], t, b->s[i].start_equity);
        b->first_ns = t;
        b->day_end_ns = 0;
    }
    if (b->trading) {
        if (t)
            day_ends(b, t);
        nx_desk_on_market(b->desk, ev);
        if (b->report && ev->hdr.type == NX_EV_KLINE && ev->u.kline.closed && ev->hdr.symbol == 0 &&
            (!b->px_iv || ev->u.kline.interval_s <= b->px_iv)) {
            if (ev->u.kline.interval_s < b->px_iv)
                b->npx = 0; /* a shorter timeframe came: that one */
            b->px_iv = ev->u.kline.interval_s;
            if (b->npx == b->pxcap) {
                size_t cap = b->pxcap ? b->pxcap * 2 : 4096;
                bt_point_t *p = realloc(b->px, cap * sizeof *p);
                if (!p)
                    b->failed = NX_ENOMEM;
                else
                    b->px = p, b->pxcap = cap;
            }
            if (b->npx < b->pxcap)
                b->px[b->npx++] = (bt_point_t){t, ev->u.kline.close};
        }
    }
    b->ev_ns = t ? t : b->last_ns;
    nx_cortex_on_event(b->cx, ev);
    b->events++;
}


static void usage(FILE *out)
{
    fprintf(out,
            "usage: nexus backtest --config FILE [--from T] [--to T] [--venue V] [--symbol S]\n"
            "                      [--orders FILE] [--stats FILE] [--report FILE] DATA...\n"
            "       nexus backtest --config FILE --sweep KEY=FROM:TO:STEP [--sweep ...]\n"
            "                      [--metric M] [--workers N] [--walk-forward N] DATA...\n"
            "       nexus backtest --config FILE --check-lookahead [--cuts N] [--workers N] DATA...\n\n"
            "History through the engine's own cortex, regime routing, shield, desk and paper\n"
            "venue, in this process, driven by the data's time: the same inputs give the same\n"
            "orders every run.\n\n"
            "  DATA           a candle CSV (open_time_ms,open,high,low,close,volume), recorded\n"
            "                 frames (one per line, the venue's own format) or an event file\n"
            "                 (nexus record, or nexus run's recorder); several are merged in\n"
            "                 time order\n"
            "  --config FILE  the sessions, strategies, symbols and fees (as for `nexus run`)\n"
            "  --from T       trade from T on (before it the indicators warm up); T is\n"
            "                 2021-03-01, 2021-03-01T12:00:00 (UTC) or ms since the epoch\n"
            "  --to T         stop at T\n"
            "  --venue V      the data's venue (default: the config's first feed's, or first\n"
            "                 symbol's)\n"
            "  --symbol S     a candle CSV's symbol (default: the first feed's replay_symbol,\n"
            "                 or the first symbol)\n"
            "  --orders FILE  every decision, order, fill and closed trade as JSON lines\n"
            "  --stats FILE   the statistics, daily equity and trades of each session as JSON\n"
            "  --report FILE  one HTML page that opens offline: statistics, equity and drawdown,\n"
            "                 the price with entries and exits, monthly returns, the trades\n"
            "  --sweep KEY=FROM:TO:STEP   run the grid of a session setting (a /config key:\n"
            "                 leverage, size_bp, stop_bp, trail_bp, cooldown_s, ...) or of a\n"
            "                 strategy's parameter (NAME.param: trend.ema_fast=10:30:5); up to 4;\n"
            "                 print session 1's results sorted by --metric\n"
            "  --metric M     sharpe (default), sortino, calmar, return, profit_factor,\n"
            "                 win_rate, max_drawdown\n"
            "  --workers N    runs at once (default: one per core)\n"
            "  --walk-forward N   cut the data in N+1 windows; optimise the sweep on each and\n"
            "                 trade its best on the next; print only those out-of-sample runs\n"
            "  --signals FILE every strategy signal as a JSON line\n"
            "  --check-lookahead  run once on all the data, then on the data cut at --cuts\n"
            "                 points (default 20), each run a process given only the data up\n"
            "                 to its cut; a strategy whose signals up to a cut change without\n"
            "                 the data after it looks ahead; exit 1 if one does\n");
}

/* ---- statistics ---------------------------------------------------------- */

typedef struct bt_stats {
    double total_return, annual_return, sharpe, sortino, calmar, max_dd;
    double max_dd_days, win_rate, profit_factor, expectancy, exposure;
    int64_t final_equity, gross_win, gross_loss;
    uint32_t trades, wins;
} bt_stats_t;

static void stats_of(const bt_t *b, const bt_session_t *s, bt_stats_t *st)
{
    memset(st, 0, sizeof *st);
    double e0 = (double)s->start_equity;
    st->final_equity = s->npts ? s->curve[s->npts - 1].equity : s->start_equity;
    double span_days = (double)(b->last_ns - b->first_ns) / (86400.0 * NX_NS_PER_SEC);
    st->total_return = (double)st->final_equity / e0 - 1;
    st->annual_return =
        span_days > 0 ? pow((double)st->final_equity / e0, 365.0 / span_days) - 1 : 0;
    /* daily returns from the day-end points (and the start) */
    double prev = e0, sum = 0, sum2 = 0, down2 = 0;
    int nd = 0;
    const int64_t day = 86400 * NX_NS_PER_SEC;
    for (size_t i = 0; i < s->npts; i++) {
        if (s->curve[i].t_ns % day)
            continue; /* a trade's point */
        double r = (double)s->curve[i].equity / prev - 1;
        prev = (double)s->curve[i].equity;
        sum += r, sum2 += r * r, down2 += r < 0 ? r * r : 0;
        nd++;
    }
    if (nd > 1) {
        double mean = sum / nd, var = (sum2 - nd * mean * mean) / (nd - 1);
        st->sharpe = var > 0 ? mean / sqrt(var) * sqrt(365.0) : 0;
        st->sortino = down2 > 0 ? mean / sqrt(down2 / nd) * sqrt(365.0) : 0;
    }
    /* drawdown over every point, and the longest time under a peak (from
     * the peak to the first point back at or above it, or to the end) */
    double peak = e0;
    int64_t peak_t = b->first_ns, longest = 0;
    int under = 0;
    for (size_t i = 0; i < s->npts; i++) {
        double eq = (double)s->curve[i].equity;
        if (eq >= peak) {
            if (under && s->curve[i].t_ns - peak_t > longest)
                longest = s->curve[i].t_ns - peak_t;
            peak = eq, peak_t = s->curve[i].t_ns, under = 0;
        } else {
            under = 1;
            if (1 - eq / peak > st->max_dd)
                st->max_dd = 1 - eq / peak;
        }
    }
    if (under && b->last_ns - peak_t > longest)
        longest = b->last_ns - peak_t;
    st->max_dd_days = (double)longest / (86400.0 * NX_NS_PER_SEC);
    st->calmar = st->max_dd > 0 ? st->annual_return / st->max_dd : 0;
    int64_t total = 0;
    for (size_t i = 0; i < b->ntrades; i++) {
        const bt_trade_t *t = &b->trades[i];
        if (t->session != s->id)
            continue;
        st->trades++;
        total += t->pnl;
        if (t->pnl > 0)
            st->wins++, st->gross_win += t->pnl;
        else
            st->gross_loss -= t->pnl;
    }
    st->win_rate = st->trades ? (double)st->wins / st->trades : 0;
    st->profit_factor = st->gross_loss ? (double)st->gross_win / (double)st->gross_loss : 0;
    st->expectancy = st->trades ? (double)total / st->trades : 0;
    int64_t exposed = s->exposed_ns + (s->open_count && s->open_ns ? b->last_ns - s->open_ns : 0);
    st->exposure = b->last_ns > b->first_ns ? (double)exposed / (double)(b->last_ns - b->first_ns)
                                            : 0;
}

static const char *strategy_name(const bt_t *b, uint16_t id, char *buf, size_t cap)
{
    nx_strategy_info_t si;
    if (id != 0xffff && nx_cortex_strategy_info(b->cx, id, &si) == 0)
        snprintf(buf, cap, "%s", si.name);
    else
        snprintf(buf, cap, "manual");
    return buf;
}

static void print_stats(const bt_t *b, unsigned ps, FILE *js)
{
    if (js)
        fprintf(js, "{\"sessions\":[");
    for (uint32_t i = 0; i < b->ns; i++) {
        const bt_session_t *s = &b->s[i];
        nx_desk_info_t in;
        nx_desk_info(b->desk, s->id, &in);
        bt_stats_t st;
        stats_of(b, s, &st);
        char e0[32], e1[32], ex[32], gw[32], gl[32];
        nx_fixed_format(s->start_equity, ps, e0, sizeof e0);
        nx_fixed_format(st.final_equity, ps, e1, sizeof e1);
        nx_fixed_format((int64_t)llround(st.expectancy), ps, ex, sizeof ex);
        nx_fixed_format(st.gross_win, ps, gw, sizeof gw);
        nx_fixed_format(st.gross_loss, ps, gl, sizeof gl);
        printf("session %u (%s): equity %s -> %s, return %.2f%% (%.2f%% a year)\n", s->id,
               in.name, e0, e1, st.total_return * 100, st.annual_return * 100);
        printf("  sharpe %.2f, sortino %.2f, calmar %.2f; max drawdown %.2f%%, longest %.1f "
               "days under a peak\n",
               st.sharpe, st.sortino, st.calmar, st.max_dd * 100, st.max_dd_days);
        printf("  %u trades, %u won (%.1f%%), profit factor %.2f, expectancy %s a trade, "
               "exposure %.1f%%\n",
               st.trades, st.wins, st.win_rate * 100, st.profit_factor, ex, st.exposure * 100);
        char fu[32];
        nx_fixed_format(s->funding, ps, fu, sizeof fu);
        if (s->fundings) /* the data had a perpetual's funding */
            printf("  funding: %s %s over %u settlements\n", s->funding < 0 ? "paid" : "received",
                   s->funding < 0 ? fu + 1 : fu, s->fundings);
        /* by exit reason, by strategy and by the regime at the entry */
        static const char *const by[] = {"by exit", "by strategy", "by regime"};
        for (int pass = 0; pass < 3; pass++) {
            printf("  %s:", by[pass]);
            for (int k = 0; k < (pass == 1 ? 64 : 16); k++) {
                int n = 0;
                int64_t pnl = 0;
                for (size_t j = 0; j < b->ntrades; j++) {
                    const bt_trade_t *t = &b->trades[j];
                    int key = pass == 1   ? (t->strategy == 0xffff ? 63 : t->strategy)
                              : pass == 2 ? t->regime + 1
                                          : t->reason;
                    if (t->session == s->id && key == k)
                        n++, pnl += t->pnl;
                }
                if (!n)
                    continue;
                char p[32], nm[48];
                nx_fixed_format(pnl, ps, p, sizeof p);
                printf(" %s %d (%s)",
                       pass == 1   ? strategy_name(b, k == 63 ? 0xffff : (uint16_t)k, nm, sizeof nm)
                       : pass == 2 ? bt_regime_name((int8_t)(k - 1))
                                   : nx_exit_reason_name((nx_exit_reason_t)k),
                       n, p);
            }
            printf("\n");
        }
        if (!js)
            continue;
        fprintf(js,
                "%s{\"id\":%u,\"name\":\"%s\",\"start_equity\":\"%s\",\"final_equity\":\"%s\","
                "\"total_return\":%.6f,\"annual_return\":%.6f,\"sharpe\":%.4f,\"sortino\":%.4f,"
                "\"calmar\":%.4f,\"max_drawdown\":%.6f,\"max_drawdown_days\":%.3f,"
                "\"trade_count\":%u,\"wins\":%u,\"win_rate\":%.6f,\"profit_factor\":%.4f,"
                "\"expectancy\":\"%s\",\"gross_win\":\"%s\",\"gross_loss\":\"%s\","
                "\"exposure\":%.6f,\"funding\":\"%s\",\"funding_settlements\":%u,"
                "\"equity\":[",
                i ? "," : "", s->id, in.name, e0, e1, st.total_return, st.annual_return,
                st.sharpe, st.sortino, st.calmar, st.max_dd, st.max_dd_days, st.trades, st.wins,
                st.win_rate, st.profit_factor, ex, gw, gl, st.exposure, fu, s->fundings);
        for (size_t k = 0; k < s->npts; k++) {
            char q[32];
            nx_fixed_format(s->curve[k].equity, ps, q, sizeof q);
            fprintf(js, "%s[%lld,\"%s\"]", k ? "," : "", (long long)(s->curve[k].t_ns / NX_NS_PER_MS),
                    q);
        }
        fprintf(js, "],\"trades\":[");
        int first = 1;
        for (size_t j = 0; j < b->ntrades; j++) {
            const bt_trade_t *t = &b->trades[j];
            if (t->session != s->id)
                continue;
            const nx_symbol_t *y = nx_symtab_get(&b->symtab, t->symbol);
            char en[32], xp[32], pn[32], q[32], nm[48];
            nx_fixed_format(t->entry_px, y ? y->price_scale : ps, en, sizeof en);
            nx_fixed_format(t->exit_px, y ? y->price_scale : ps, xp, sizeof xp);
            nx_fixed_format(t->pnl, ps, pn, sizeof pn);
            nx_fixed_format(t->qty, y ? y->qty_scale : 8, q, sizeof q);
            fprintf(js,
                    "%s{\"symbol\":\"%s\",\"dir\":%d,\"qty\":\"%s\",\"entry\":\"%s\",\"exit\":"
                    "\"%s\",\"pnl\":\"%s\",\"reason\":\"%s\",\"strategy\":\"%s\",\"regime\":"
                    "\"%s\",\"opened_ms\":%lld,\"closed_ms\":%lld}",
                    first ? "" : ",", y ? y->name : "?", t->dir, q, en, xp, pn,
                    nx_exit_reason_name((nx_exit_reason_t)t->reason),
                    strategy_name(b, t->strategy, nm, sizeof nm), bt_regime_name(t->regime),
                    (long long)(t->opened_ns / NX_NS_PER_MS),
                    (long long)(t->closed_ns / NX_NS_PER_MS));
            first = 0;
        }
        fprintf(js, "]}");
    }
    if (js)
        fprintf(js, "],\"events\":%llu,\"signals\":%llu,\"orders\":%llu,\"fills\":%llu}\n",
                (unsigned long long)b->events, (unsigned long long)b->signals,
                (unsigned long long)b->orders_n, (unsigned long long)b->fills);
}

/* ---- the HTML report ----------------------------------------------------- */

/* One self-contained page (inline SVG and CSS, no script, nothing fetched):
 * per session its statistics, equity and drawdown curves, the price with
 * its entries and exits, monthly returns and the trades. */

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

#define SVG_W 960
#define SVG_H 240
#define SVG_PAD 40

typedef struct plot {
    int64_t t0, t1;
    double lo, hi;
} plot_t;

static double px_x(const plot_t *p, int64_t t)
{
    return SVG_PAD + (double)(t - p->t0) / (double)(p->t1 > p->t0 ? p->t1 - p->t0 : 1) *
                         (SVG_W - 2 * SVG_PAD);
}

static double px_y(const plot_t *p, double v)
{
    return SVG_H - SVG_PAD / 2.0 -
           (v - p->lo) / (p->hi > p->lo ? p->hi - p->lo : 1) * (SVG_H - SVG_PAD);
}

static void svg_open(FILE *f, const char *cls, const plot_t *p, const char *label, int decimals)
{
    fprintf(f, "<svg class=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">", cls, SVG_W,
            SVG_H, SVG_W, SVG_H);
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"frame\"/>", SVG_PAD,
            SVG_PAD / 2, SVG_W - 2 * SVG_PAD, SVG_H - SVG_PAD);
    fprintf(f, "<text x=\"%d\" y=\"14\" class=\"label\">", SVG_PAD);
    html_text(f, label);
    fprintf(f, "</text><text x=\"%d\" y=\"%.1f\" class=\"tick\">%.*f</text>", 2,
            px_y(p, p->hi) + 4, decimals, p->hi);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" class=\"tick\">%.*f</text>", 2, px_y(p, p->lo), decimals,
            p->lo);
    char a[32], z[32];
    nx_utc_format(p->t0 / NX_NS_PER_SEC, a, sizeof a);
    nx_utc_format(p->t1 / NX_NS_PER_SEC, z, sizeof z);
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"tick\">%.10s</text>", SVG_PAD, SVG_H - 2, a);
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"tick\" text-anchor=\"end\">%.10s</text>",
            SVG_W - SVG_PAD, SVG_H - 2, z);
}

/* the session's equity (money units to a double in the quote) */
static double eq_of(const bt_point_t *q, unsigned ps)
{
    return (double)q->equity / (double)nx_pow10[ps];
}

static void report_session(FILE *f, const bt_t *b, const bt_session_t *s, unsigned ps)
{
    nx_desk_info_t in;
    nx_desk_info(b->desk, s->id, &in);
    bt_stats_t st;
    stats_of(b, s, &st);
    fprintf(f, "<section class=\"session\" id=\"session-%u\"><h2>Session %u: ", s->id, s->id);
    html_text(f, in.name);
    fprintf(f, "</h2>\n<table class=\"stats\"><tr>");
    char e0[32], e1[32], ex[32];
    nx_fixed_format(s->start_equity, ps, e0, sizeof e0);
    nx_fixed_format(st.final_equity, ps, e1, sizeof e1);
    nx_fixed_format((int64_t)llround(st.expectancy), ps, ex, sizeof ex);
    fprintf(f,
            "<th>equity</th><td>%s &rarr; %s</td><th>return</th><td>%.2f%%</td>"
            "<th>a year</th><td>%.2f%%</td><th>max drawdown</th><td>%.2f%%</td></tr><tr>"
            "<th>Sharpe</th><td>%.2f</td><th>Sortino</th><td>%.2f</td><th>Calmar</th><td>%.2f</td>"
            "<th>longest under a peak</th><td>%.1f days</td></tr><tr>"
            "<th>trades</th><td>%u</td><th>won</th><td>%.1f%%</td><th>profit factor</th><td>%.2f</td>"
            "<th>expectancy</th><td>%s</td></tr><tr><th>exposure</th><td>%.1f%%</td></tr></table>\n",
            e0, e1, st.total_return * 100, st.annual_return * 100, st.max_dd * 100, st.sharpe,
            st.sortino, st.calmar, st.max_dd_days, st.trades, st.win_rate * 100,
            st.profit_factor, ex, st.exposure * 100);
    if (!s->npts) {
        fprintf(f, "</section>\n");
        return;
    }
    /* equity and drawdown */
    plot_t p = {s->curve[0].t_ns, s->curve[s->npts - 1].t_ns, 1e300, -1e300};
    for (size_t i = 0; i < s->npts; i++) {
        double v = eq_of(&s->curve[i], ps);
        p.lo = v < p.lo ? v : p.lo;
        p.hi = v > p.hi ? v : p.hi;
    }
    svg_open(f, "equity", &p, "equity", 2);
    fprintf(f, "<polyline class=\"line\" points=\"");
    for (size_t i = 0; i < s->npts; i++)
        fprintf(f, "%.1f,%.1f ", px_x(&p, s->curve[i].t_ns), px_y(&p, eq_of(&s->curve[i], ps)));
    fprintf(f, "\"/></svg>\n");
    plot_t d = p;
    d.lo = -st.max_dd * 100;
    d.hi = 0;
    svg_open(f, "drawdown", &d, "drawdown, % below the peak", 2);
    fprintf(f, "<polygon class=\"area\" points=\"%.1f,%.1f ", px_x(&d, s->curve[0].t_ns),
            px_y(&d, 0));
    double peak = 0;
    for (size_t i = 0; i < s->npts; i++) {
        double v = eq_of(&s->curve[i], ps);
        peak = v > peak ? v : peak;
        fprintf(f, "%.1f,%.1f ", px_x(&d, s->curve[i].t_ns), px_y(&d, (v / peak - 1) * 100));
    }
    fprintf(f, "%.1f,%.1f\"/></svg>\n", px_x(&d, s->curve[s->npts - 1].t_ns), px_y(&d, 0));
    /* the price, with this session's entries and exits */
    if (b->npx) {
        const nx_symbol_t *y = nx_symtab_get(&b->symtab, 0);
        double div = (double)nx_pow10[y->price_scale];
        plot_t q = {b->px[0].t_ns, b->px[b->npx - 1].t_ns, 1e300, -1e300};
        for (size_t i = 0; i < b->npx; i++) {
            double v = (double)b->px[i].equity / div;
            q.lo = v < q.lo ? v : q.lo;
            q.hi = v > q.hi ? v : q.hi;
        }
        char label[96];
        snprintf(label, sizeof label, "%s: entries (triangles) and exits (circles)", y->name);
        svg_open(f, "price", &q, label, 2);
        size_t step = b->npx > 2000 ? (b->npx + 1999) / 2000 : 1;
        fprintf(f, "<polyline class=\"line\" points=\"");
        for (size_t i = 0; i < b->npx; i += step)
            fprintf(f, "%.1f,%.1f ", px_x(&q, b->px[i].t_ns),
                    px_y(&q, (double)b->px[i].equity / div));
        fprintf(f, "\"/>");
        for (size_t i = 0; i < b->ntrades; i++) {
            const bt_trade_t *t = &b->trades[i];
            if (t->session != s->id || t->symbol != 0)
                continue;
            double ex0 = px_x(&q, t->opened_ns ? t->opened_ns : t->closed_ns),
                   ey0 = px_y(&q, (double)t->entry_px / div);
            fprintf(f, "<path class=\"entry %s\" d=\"M%.1f,%.1f l-4,%d l8,0 z\"/>",
                    t->dir > 0 ? "long" : "short", ex0, ey0, t->dir > 0 ? 7 : -7);
            fprintf(f, "<circle class=\"exit %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"/>",
                    t->pnl > 0 ? "win" : "loss", px_x(&q, t->closed_ns),
                    px_y(&q, (double)t->exit_px / div));
        }
        fprintf(f, "</svg>\n");
    }
    /* monthly returns: equity at each month's last point against the one before */
    fprintf(f, "<h3>Monthly returns</h3><table class=\"monthly\"><tr><th></th>");
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int m = 0; m < 12; m++)
        fprintf(f, "<th>%s</th>", mon[m]);
    fprintf(f, "</tr>");
    double prev = (double)s->start_equity;
    int cur_y = -1, cur_m = -1;
    double last = prev;
    for (size_t i = 0; i <= s->npts; i++) {
        int y = 0, m = 0;
        if (i < s->npts) {
            time_t tt = (time_t)(s->curve[i].t_ns / NX_NS_PER_SEC);
            struct tm tm;
            gmtime_r(&tt, &tm);
            y = tm.tm_year + 1900, m = tm.tm_mon;
        }
        if (cur_y >= 0 && (i == s->npts || y != cur_y || m != cur_m)) {
            double r = last / prev - 1;
            fprintf(f, "<td class=\"%s\">%.2f%%</td>", r >= 0 ? "up" : "down", r * 100);
            prev = last;
            if (i < s->npts && y != cur_y)
                fprintf(f, "</tr>");
        }
        if (i == s->npts)
            break;
        if (y != cur_y) {
            fprintf(f, "<tr><th>%d</th>", y);
            for (int k = 0; k < m; k++)
                fprintf(f, "<td></td>");
        } else if (m > cur_m + 1) {
            for (int k = cur_m + 1; k < m; k++)
                fprintf(f, "<td></td>");
        }
        cur_y = y, cur_m = m;
        last = (double)s->curve[i].equity;
    }
    fprintf(f, "</tr></table>\n");
    /* the trades */
    fprintf(f, "<h3>Trades</h3><table class=\"trades\"><tr><th>opened (UTC)</th><th>closed</th>"
               "<th>side</th><th>qty</th><th>entry</th><th>exit</th><th>P&amp;L</th><th>exit "
               "by</th><th>strategy</th><th>regime</th></tr>\n");
    int shown = 0;
    for (size_t i = 0; i < b->ntrades && shown < 2000; i++) {
        const bt_trade_t *t = &b->trades[i];
        if (t->session != s->id)
            continue;
        const nx_symbol_t *y = nx_symtab_get(&b->symtab, t->symbol);
        char o[32], c[32], q[32], en[32], xp[32], pn[32], nm[48];
        nx_utc_format(t->opened_ns / NX_NS_PER_SEC, o, sizeof o);
        nx_utc_format(t->closed_ns / NX_NS_PER_SEC, c, sizeof c);
        nx_fixed_format(t->qty, y->qty_scale, q, sizeof q);
        nx_fixed_format(t->entry_px, y->price_scale, en, sizeof en);
        nx_fixed_format(t->exit_px, y->price_scale, xp, sizeof xp);
        nx_fixed_format(t->pnl, ps, pn, sizeof pn);
        fprintf(f,
                "<tr class=\"trade\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
                "<td>%s</td><td class=\"%s\">%s</td><td>%s</td><td>",
                o, c, t->dir > 0 ? "long" : "short", q, en, xp, t->pnl > 0 ? "up" : "down", pn,
                nx_exit_reason_name((nx_exit_reason_t)t->reason));
        html_text(f, strategy_name(b, t->strategy, nm, sizeof nm));
        fprintf(f, "</td><td>%s</td></tr>\n", bt_regime_name(t->regime));
        shown++;
    }
    fprintf(f, "</table>%s</section>\n",
            shown == 2000 ? "<p>The first 2000 trades are shown; --stats has them all.</p>" : "");
}

static int write_report(const bt_t *b, const char *path, const char *config, unsigned ps)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    char t0[32], t1[32];
    nx_utc_format(b->first_ns / NX_NS_PER_SEC, t0, sizeof t0);
    nx_utc_format(b->last_ns / NX_NS_PER_SEC, t1, sizeof t1);
    fprintf(f,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"generator\" content=\"nexus backtest\"><title>Nexus backtest</title>\n"
            "<style>body{font:14px system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}"
            "h1{font-size:20px}h2{font-size:17px;margin-top:32px}h3{font-size:15px}"
            "table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 8px;text-align:right;"
            "border-bottom:1px solid #e3e6ec}th{color:#596275;font-weight:600}"
            "svg{display:block;margin:10px 0}.frame{fill:#fafbfd;stroke:#d5d9e2}"
            ".line{fill:none;stroke:#2f6fd6;stroke-width:1.2}.area{fill:#e05a5a;opacity:.55}"
            ".label{font-size:12px;fill:#1d2330}.tick{font-size:10px;fill:#6b7385}"
            ".entry.long{fill:#1f9d55}.entry.short{fill:#c0392b}.exit.win{fill:#1f9d55}"
            ".exit.loss{fill:#c0392b}.up{color:#1f9d55}.down{color:#c0392b}"
            "table.trades{font-size:12px}</style></head><body>\n"
            "<h1>Backtest</h1><p>Config ");
    html_text(f, config);
    fprintf(f,
            ", %llu market events from %s to %s UTC; %llu signals, %llu orders, %llu fills. "
            "Every time is the data's; the same inputs give this same page.</p>\n",
            (unsigned long long)b->events, t0, t1, (unsigned long long)b->signals,
            (unsigned long long)b->orders_n, (unsigned long long)b->fills);
    for (uint32_t i = 0; i < b->ns; i++)
        report_session(f, b, &b->s[i], ps);
    fprintf(f, "</body></html>\n");
    return fclose(f);
}

/* ---- the run ------------------------------------------------------------- */

typedef struct bt_input {
    nx_replay_t *r;  /* a candle CSV or recorded frames ... */
    nx_evr_t *evr;   /* ... or an event file (nexus record): events as they are */
    nx_decoder_t dec;
    uint64_t next, n;
    const char *path;
} bt_input_t;

static int drain(bt_t *b, nx_ring_consumer_t *c)
{
    uint64_t seq;
    uint32_t n;
    while ((n = nx_ring_poll(b->ring, c, 256, &seq)) > 0) {
        for (uint32_t i = 0; i < n; i++) {
            const nx_event_t *ev = nx_bus_event(b->ring, seq + i);
            if (b->to_ns && ev->hdr.exch_ns > b->to_ns) {
                nx_ring_release(c, seq + n);
                return 1;
            }
            const nx_event_t *use[NX_TG_HOLD + 1];
            uint32_t k = nx_tickguard_filter(b->guard, ev, use);
            for (uint32_t j = 0; j < k; j++)
                on_event(b, use[j]);
        }
        nx_ring_release(c, seq + n);
    }
    return 0;
}

/* What a sweep varies, from lo to hi by step: a session setting (a
 * /config key, nx_desk_setting: whole numbers) or, as "NAME.param", a
 * parameter of the config's strategy NAME (any number). */
#define BT_MAX_SWEEPS 4
typedef struct bt_sweep {
    char key[64];
    int strategy; /* the strategy's index in cortex.strategies, -1: a session setting */
    char param[48];
    double lo, hi, step;
    int n; /* values */
} bt_sweep_t;

static int set_param(nx_config_strategy_t *st, const char *key, double v);

typedef struct bt_opts {
    const char *config, *venue_s, *symbol, *orders, *stats, *metric, *report, *signals;
    int64_t from_ns, to_ns;
    bt_sweep_t sweep[BT_MAX_SWEEPS];
    int nsweep, workers, walk, lookahead, cuts;
    const char **inputs;
    int ninputs;
} bt_opts_t;

/* The data, read once (shared by every run of a sweep, forked after). */
/* Each stream of a file (its name, kind of message and symbol) in time
 * order; else the first message out of it, with its reason on stderr. */
static int check_streams(const bt_input_t *in, const char *path)
{
    typedef struct {
        const char *stream;
        uint8_t kind;
        uint32_t symbol;
        int64_t last;
    } seen_t;
    seen_t *seen = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (uint64_t k = 0; k < in->n && !rc; k++) {
        nx_replay_msg_t m;
        nx_replay_msg(in->r, k, &m);
        if (!m.raw_ts_ms)
            continue;
        size_t j = 0;
        while (j < n && (seen[j].kind != m.kind || seen[j].symbol != m.symbol ||
                         strcmp(seen[j].stream, m.stream)))
            j++;
        if (j == n) {
            if (n == cap) {
                seen_t *g = realloc(seen, (cap = cap ? cap * 2 : 16) * sizeof *seen);
                if (!g) {
                    fprintf(stderr, "nexus backtest: out of memory\n");
                    rc = NX_ENOMEM;
                    break;
                }
                seen = g;
            }
            seen[n++] = (seen_t){m.stream, m.kind, m.symbol, m.raw_ts_ms};
        } else if (m.raw_ts_ms < seen[j].last) {
            fprintf(stderr,
                    "nexus backtest: %s: message %llu is at %lld ms, before an earlier one of "
                    "its stream (%lld ms): the file is not in time order\n",
                    path, (unsigned long long)k + 1, (long long)m.raw_ts_ms,
                    (long long)seen[j].last);
            rc = NX_EINVAL;
        } else {
            seen[j].last = m.raw_ts_ms;
        }
    }
    free(seen);
    return rc;
}

static int load_inputs(const bt_opts_t *o, const nx_config_t *cfg, bt_input_t *in)
{
    nx_venue_t venue = cfg->n_feeds ? cfg->feeds[0].venue : cfg->symbols[0].venue;
    if (o->venue_s && (venue = nx_venue_parse(o->venue_s, strlen(o->venue_s))) <= NX_VENUE_NONE) {
        fprintf(stderr, "nexus backtest: unknown venue '%s'\n", o->venue_s);
        return NX_EXIT_USAGE;
    }
    const char *symbol = o->symbol;
    if (!symbol)
        symbol = cfg->n_feeds && cfg->feeds[0].replay_symbol[0] ? cfg->feeds[0].replay_symbol
                                                                : cfg->symbols[0].symbol;
    nx_symtab_t *st = NULL; /* the config's symbols, for an event file's */
    for (int i = 0; i < o->ninputs; i++) {
        const char *path = o->inputs[i];
        size_t n = strlen(path);
        if (nx_evr_is_evfile(path)) {
            char why[320];
            if (!st && (!(st = malloc(sizeof *st)) || (nx_symtab_init(st), 0) ||
                        nx_config_symbols_intern(cfg, st))) {
                fprintf(stderr, "nexus backtest: out of memory\n");
                free(st);
                return NX_EXIT_FAIL;
            }
            int e = nx_evr_open(&in[i].evr, path, st, why, sizeof why);
            if (e) {
                fprintf(stderr, "nexus backtest: %s: %s\n", path,
                        e == NX_ENOMEM ? "out of memory" : why);
                free(st);
                return NX_EXIT_CONFIG;
            }
            if (!nx_evr_complete(in[i].evr))
                fprintf(stderr, "nexus backtest: %s: no end mark (the recording was cut short, "
                                "by a crash or a full disk): its %llu whole events are used\n",
                        path, (unsigned long long)nx_evr_count(in[i].evr));
            in[i].path = path;
            in[i].dec.venue = venue;
            continue;
        }
        nx_replay_opts_t ro;
        nx_replay_opts_default(&ro);
        ro.venue = venue;
        ro.symbol = symbol;
        ro.quiet = 1;
        if (n > 4 && !strcmp(path + n - 4, ".csv"))
            ro.candles_path = path;
        else
            ro.frames_path = path;
        char why[320];
        int e = nx_replay_load(&in[i].r, &ro, why, sizeof why);
        if (e) {
            fprintf(stderr, "nexus backtest: %s: %s\n", path, e == NX_ENOMEM ? "out of memory" : why);
            free(st);
            return NX_EXIT_CONFIG;
        }
        in[i].n = nx_replay_count(in[i].r);
        in[i].path = path;
        in[i].dec.venue = venue;
        /* time never goes back on one of the file's streams: a recording
         * out of order is not what happened, and would not replay as it
         * did. Different streams may: a venue's topics arrive up to
         * seconds apart (a Bybit ticker snapshot carries the time it was
         * built, older than the trade sent before it), and are taken in
         * the order they came, as the live path takes them. */
        if (check_streams(&in[i], path)) {
            free(st);
            return NX_EXIT_CONFIG;
        }
    }
    free(st);
    return NX_EXIT_OK;
}

/* The time the data spans, ms (the first and last message). */
static void data_span(const bt_input_t *in, int n, int64_t *t0, int64_t *t1)
{
    *t0 = INT64_MAX, *t1 = 0;
    for (int i = 0; i < n; i++) {
        nx_replay_msg_t m;
        if (in[i].evr && nx_evr_count(in[i].evr)) {
            int64_t a, z;
            nx_evr_span(in[i].evr, &a, &z);
            if (a / NX_NS_PER_MS < *t0)
                *t0 = a / NX_NS_PER_MS;
            if (z / NX_NS_PER_MS > *t1)
                *t1 = z / NX_NS_PER_MS;
            continue;
        }
        if (!in[i].n)
            continue;
        nx_replay_msg(in[i].r, 0, &m);
        if (m.ts_ms < *t0)
            *t0 = m.ts_ms;
        nx_replay_msg(in[i].r, in[i].n - 1, &m);
        if (m.ts_ms > *t1)
            *t1 = m.ts_ms;
    }
}

static void run_free(bt_t *b, bt_input_t *in, int n)
{
    nx_desk_destroy(b->desk);
    free(b->market_days);
    nx_cortex_destroy(b->cx);
    nx_tickguard_destroy(b->guard);
    for (int i = 0; i < n; i++) {
        if (in[i].evr)
            nx_evr_rewind(in[i].evr);
        else
            nx_decoder_fini(&in[i].dec);
        in[i].next = 0;
    }
    nx_ring_destroy(b->ring);
    for (uint32_t i = 0; i < b->ns; i++)
        free(b->s[i].curve);
    free(b->trades);
    free(b->px);
    b->desk = NULL, b->cx = NULL, b->guard = NULL, b->ring = NULL, b->trades = NULL;
    b->px = NULL, b->npx = b->pxcap = 0;
    b->ns = 0;
}

/* One backtest over the loaded data, between from and to, with the sweep's
 * settings (vals[k] for sweep[k]) on every session. NX_EXIT_OK or a code
 * with the reason on stderr; the results stay in b (run_free after). */
static int run_once(bt_t *b, const bt_opts_t *o, bt_input_t *in, int64_t from, int64_t to,
                    const double *vals, int quiet_log)
{
    const nx_config_t *cfg = &b->cfg;
    for (int k = 0; k < o->nsweep; k++) /* a strategy's parameter, into its params text */
        if (o->sweep[k].strategy >= 0 &&
            set_param(&b->cfg.cortex.strategies[o->sweep[k].strategy], o->sweep[k].param,
                      vals[k])) {
            fprintf(stderr, "nexus backtest: --sweep %s: the strategy's params cannot take it\n",
                    o->sweep[k].key);
            return NX_EXIT_USAGE;
        }
    nx_config_t keep = b->cfg;
    memset(b, 0, sizeof *b);
    b->cfg = keep;
    b->from_ns = from, b->to_ns = to;
    b->report = o->report && !quiet_log;
    nx_symtab_init(&b->symtab);
    if (nx_config_symbols_intern(cfg, &b->symtab) ||
        nx_ring_create(&b->ring, "backtest", 1 << 14, sizeof(nx_event_t), 1, NX_RING_NO_DROP,
                       NX_WAIT_SPIN)) {
        fprintf(stderr, "nexus backtest: out of memory\n");
        return NX_EXIT_FAIL;
    }
    nx_ring_consumer_t *cons = nx_ring_consumer(b->ring, 0);
    for (int i = 0; i < o->ninputs; i++)
        if (!in[i].evr && nx_decoder_init(&in[i].dec, in[i].dec.venue, &b->symtab, b->ring)) {
            fprintf(stderr, "nexus backtest: out of memory\n");
            return NX_EXIT_FAIL;
        }
    int level = atomic_load_explicit(&nx_log__level, memory_order_relaxed);
    if (quiet_log) /* a sweep's runs: the set-up is logged once, by the first */
        nx_log_set_level(NX_LOG_WARN);
    nx_tickguard_opts_t go;
    nx_parts_guard_opts(cfg, &go);
    go.on_bad = bt_bad_tick;
    go.ctx = b;
    int rc = NX_EXIT_FAIL;
    if (!(b->guard = nx_tickguard_create(&go, nx_symtab_count(&b->symtab))) ||
        nx_parts_cortex(cfg, &b->symtab, bt_signal, bt_candle, b, 1, &b->cx) ||
        nx_desk_create(&b->desk, cfg, &b->symtab, bt_journal, b) || nx_cortex_start(b->cx)) {
        fprintf(stderr, "nexus backtest: cannot set the engine up (see the log above)\n");
        goto out;
    }
    nx_desk_set_sentinel(b->desk, nx_cortex_strategies_of(b->cx, "sentinel"));
    uint32_t ndays;
    b->market_days = nx_parts_market_days(cfg, &ndays);
    nx_desk_set_market_days(b->desk, b->market_days, ndays);
    nx_desk_set_saving(b->desk, 0); /* nothing is stored: no state to journal */
    for (uint32_t i = 0; i < cfg->trading.n_sessions && i < BT_MAX_SESSIONS; i++) {
        const nx_config_session_t *x = &cfg->trading.sessions[i];
        int e = nx_desk_add_session(b->desk, i + 1, x, nx_parts_follow_mask(b->cx, x));
        if (e) {
            fprintf(stderr, "nexus backtest: session %s: %s\n", x->name, nx_strerror(e));
            rc = NX_EXIT_CONFIG;
            goto out;
        }
        for (int k = 0; k < o->nsweep; k++) {
            if (o->sweep[k].strategy >= 0)
                continue;
            nx_ev_control_t c;
            memset(&c, 0, sizeof c);
            c.cmd = NX_CTL_SET;
            c.session = i + 1;
            c.arg = llround(vals[k]);
            snprintf(c.text, sizeof c.text, "%.47s", o->sweep[k].key); /* a /config key: short */
            if (vals[k] != (double)c.arg || nx_desk_control(b->desk, &c, NULL)) {
                fprintf(stderr, "nexus backtest: --sweep %s=%g: not a setting of session %s, or "
                                "outside what it allows (see /config; a strategy's parameter is "
                                "STRATEGY.param)\n",
                        o->sweep[k].key, vals[k], x->name);
                rc = NX_EXIT_USAGE;
                goto out;
            }
        }
        nx_desk_info_t di;
        nx_desk_info(b->desk, i + 1, &di);
        b->s[b->ns].id = i + 1;
        b->s[b->ns++].start_equity = di.start_equity;
    }
    if (o->orders && !quiet_log && !(b->orders = fopen(o->orders, "w"))) {
        fprintf(stderr, "nexus backtest: cannot write %s\n", o->orders);
        rc = NX_EXIT_CONFIG;
        goto out;
    }
    if (o->signals && !quiet_log && !(b->sigs = fopen(o->signals, "w"))) {
        fprintf(stderr, "nexus backtest: cannot write %s\n", o->signals);
        rc = NX_EXIT_CONFIG;
        goto out;
    }
    /* the inputs merged by time; ties keep the order of the files. Timed
     * for the log only (the machine's clock decides nothing here) */
    int64_t t_run = nx_mono_ns();
    for (;;) {
        int pick = -1;
        int64_t best = 0;
        for (int i = 0; i < o->ninputs; i++) {
            int64_t t;
            if (in[i].evr) {
                if ((t = nx_evr_peek_ns(in[i].evr)) == INT64_MAX)
                    continue;
            } else {
                if (in[i].next >= in[i].n)
                    continue;
                nx_replay_msg_t m;
                nx_replay_msg(in[i].r, in[i].next, &m);
                t = m.ts_ms * NX_NS_PER_MS;
            }
            if (pick < 0 || t < best)
                pick = i, best = t;
        }
        if (pick < 0)
            break;
        if (in[pick].evr) { /* an event as the engine saw it, no decoding */
            uint64_t seq;
            if (nx_bus_claim(b->ring, 1, &seq) != 1) {
                b->failed = NX_EFULL;
                break;
            }
            nx_event_t *ev = nx_bus_event(b->ring, seq);
            nx_evr_next(in[pick].evr, ev);
            /* the data's time, as for the other inputs: the recorded
             * receive time is the machine's, and no decision takes it */
            ev->hdr.recv_ns = ev->hdr.exch_ns;
            nx_ring_publish(b->ring, seq + 1);
            if (drain(b, cons) || b->failed)
                break;
            continue;
        }
        nx_replay_msg_t m;
        nx_replay_msg(in[pick].r, in[pick].next++, &m);
        in[pick].dec.recv_ns = m.ts_ms * NX_NS_PER_MS; /* the data's time, not the machine's */
        uint64_t first;
        nx_decode_frame(&in[pick].dec, m.data, m.len, &first);
        if (drain(b, cons) || b->failed)
            break;
    }
    t_run = nx_mono_ns() - t_run;
    if (b->failed) {
        fprintf(stderr, "nexus backtest: out of memory\n");
        goto out;
    }
    if (!quiet_log)
        NX_INFO("backtest", "%llu events through the engine in %.1f ms (%.0f events/s)",
                (unsigned long long)b->events, (double)t_run / 1e6,
                t_run ? (double)b->events * 1e9 / (double)t_run : 0.0);
    /* the end: each session's equity as it stands */
    for (uint32_t i = 0; i < b->ns && b->trading; i++)
        push_point(&b->s[i], b->last_ns, equity_of(b, b->s[i].id));
    if (!b->events) {
        fprintf(stderr, "nexus backtest: no market event of the config's symbols in the data%s\n",
                from || to ? " between --from and --to" : "");
        rc = NX_EXIT_CONFIG;
        goto out;
    }
    rc = NX_EXIT_OK;
out:
    if (b->orders && fclose(b->orders) && rc == NX_EXIT_OK) {
        fprintf(stderr, "nexus backtest: cannot write %s\n", o->orders);
        rc = NX_EXIT_FAIL;
    }
    b->orders = NULL;
    if (b->sigs && fclose(b->sigs) && rc == NX_EXIT_OK) {
        fprintf(stderr, "nexus backtest: cannot write %s\n", o->signals);
        rc = NX_EXIT_FAIL;
    }
    b->sigs = NULL;
    nx_log_set_level((nx_log_level_t)level);
    return rc;
}

/* ---- sweeps and walk-forward --------------------------------------------- */

static const char *const metrics[] = {"sharpe", "sortino", "calmar", "return", "profit_factor",
                                      "win_rate", "max_drawdown", NULL};

/* The statistic a sweep sorts by (larger is better; the drawdown negated). */
static double metric_of(const bt_stats_t *st, const char *m)
{
    return !strcmp(m, "sortino")         ? st->sortino
           : !strcmp(m, "calmar")        ? st->calmar
           : !strcmp(m, "return")        ? st->total_return
           : !strcmp(m, "profit_factor") ? st->profit_factor
           : !strcmp(m, "win_rate")      ? st->win_rate
           : !strcmp(m, "max_drawdown")  ? -st->max_dd
                                         : st->sharpe;
}

typedef struct bt_point_res {
    int idx, ok;
    double vals[BT_MAX_SWEEPS];
    bt_stats_t st;
} bt_point_res_t;

static int grid_size(const bt_opts_t *o)
{
    int n = 1;
    for (int k = 0; k < o->nsweep; k++)
        n *= o->sweep[k].n;
    return n;
}

static void grid_point(const bt_opts_t *o, int idx, double *vals)
{
    for (int k = o->nsweep - 1; k >= 0; k--) {
        int n = o->sweep[k].n;
        vals[k] = o->sweep[k].lo + (idx % n) * o->sweep[k].step;
        idx /= n;
    }
}

/* Every point of the grid between from and to, on up to o->workers
 * processes at once (each a fork with the data already read); session 1's
 * statistics per point into res (in grid order, whatever finished first). */
static int run_grid(bt_t *b, const bt_opts_t *o, bt_input_t *in, int64_t from, int64_t to,
                    bt_point_res_t *res, int npts)
{
    int next = 0, running = 0, failed = 0;
    struct {
        pid_t pid;
        int fd, idx;
    } kids[64];
    fflush(stdout);
    fflush(stderr);
    while ((next < npts || running) && !failed) {
        while (next < npts && running < o->workers) {
            int fds[2];
            if (pipe(fds))
                return NX_EXIT_FAIL;
            res[next].idx = next;
            grid_point(o, next, res[next].vals);
            pid_t pid = fork();
            if (pid < 0)
                return NX_EXIT_FAIL;
            if (pid == 0) {
                close(fds[0]);
                int rc = run_once(b, o, in, from, to, res[next].vals, 1);
                bt_stats_t st;
                memset(&st, 0, sizeof st);
                if (!rc && b->ns)
                    stats_of(b, &b->s[0], &st);
                ssize_t w = write(fds[1], &st, sizeof st);
                _exit(rc ? rc : w == (ssize_t)sizeof st ? 0 : NX_EXIT_FAIL);
            }
            close(fds[1]);
            kids[running].pid = pid, kids[running].fd = fds[0], kids[running].idx = next;
            running++, next++;
        }
        int st;
        pid_t done = wait(&st);
        for (int k = 0; k < running; k++) {
            if (kids[k].pid != done)
                continue;
            bt_point_res_t *r = &res[kids[k].idx];
            r->ok = WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
                    read(kids[k].fd, &r->st, sizeof r->st) == (ssize_t)sizeof r->st;
            if (!r->ok)
                failed = WIFEXITED(st) ? WEXITSTATUS(st) : NX_EXIT_FAIL;
            close(kids[k].fd);
            kids[k] = kids[--running];
            break;
        }
    }
    while (running) { /* after a failure: the others are waited for */
        wait(NULL);
        close(kids[--running].fd);
    }
    return failed;
}

static int by_metric(const bt_point_res_t *a, const bt_point_res_t *b, const char *m)
{
    double x = metric_of(&a->st, m), y = metric_of(&b->st, m);
    if (x != y)
        return x > y ? -1 : 1;
    return a->idx - b->idx; /* ties: the grid's order, so the table is the same every run */
}

static const char *sort_metric;
static int cmp_points(const void *a, const void *b)
{
    return by_metric(a, b, sort_metric);
}

static void print_row(const bt_opts_t *o, const bt_point_res_t *r, const char *prefix)
{
    printf("%s", prefix);
    for (int k = 0; k < o->nsweep; k++)
        printf("%s=%-8g ", o->sweep[k].key, r->vals[k]);
    printf("return %7.2f%%  sharpe %6.2f  sortino %6.2f  calmar %6.2f  max dd %6.2f%%  "
           "trades %4u  win %5.1f%%  pf %5.2f\n",
           r->st.total_return * 100, r->st.sharpe, r->st.sortino, r->st.calmar,
           r->st.max_dd * 100, r->st.trades, r->st.win_rate * 100, r->st.profit_factor);
}

static int sweep(bt_t *b, const bt_opts_t *o, bt_input_t *in)
{
    int npts = grid_size(o);
    bt_point_res_t *res = calloc((size_t)npts, sizeof *res);
    if (!res)
        return NX_EXIT_FAIL;
    sort_metric = o->metric;
    int rc;
    if (!o->walk) {
        printf("sweep: %d runs of session 1 on %d worker%s, sorted by %s\n", npts, o->workers,
               o->workers == 1 ? "" : "s", o->metric);
        if ((rc = run_grid(b, o, in, o->from_ns, o->to_ns, res, npts)) == 0) {
            qsort(res, (size_t)npts, sizeof *res, cmp_points);
            for (int i = 0; i < npts; i++)
                print_row(o, &res[i], "  ");
        }
        free(res);
        return rc;
    }
    /* walk-forward: the span cut in walk + 1 windows; the grid's best on
     * each window is traded on the next; only those results are shown */
    int64_t t0, t1;
    data_span(in, o->ninputs, &t0, &t1);
    if (o->from_ns)
        t0 = o->from_ns / NX_NS_PER_MS;
    if (o->to_ns && o->to_ns / NX_NS_PER_MS < t1)
        t1 = o->to_ns / NX_NS_PER_MS;
    int64_t w = (t1 - t0) / (o->walk + 1);
    printf("walk-forward: %d windows of %.1f days; each optimised on its %d-run grid by %s, "
           "then traded on the next (out of sample)\n",
           o->walk + 1, (double)w / 86400000.0, npts, o->metric);
    double growth = 1;
    rc = 0;
    for (int i = 0; i < o->walk && !rc; i++) {
        int64_t a = t0 + w * i, z = a + w, zz = z + w;
        if ((rc = run_grid(b, o, in, a * NX_NS_PER_MS, z * NX_NS_PER_MS, res, npts)))
            break;
        qsort(res, (size_t)npts, sizeof *res, cmp_points);
        bt_point_res_t best = res[0];
        if ((rc = run_once(b, o, in, z * NX_NS_PER_MS, zz * NX_NS_PER_MS, best.vals, 1)))
            break;
        if (b->ns)
            stats_of(b, &b->s[0], &best.st);
        run_free(b, in, o->ninputs);
        char from_s[32], to_s[32], prefix[96];
        nx_utc_format(z / 1000, from_s, sizeof from_s);
        nx_utc_format(zz / 1000, to_s, sizeof to_s);
        snprintf(prefix, sizeof prefix, "  %.10s .. %.10s  ", from_s, to_s);
        print_row(o, &best, prefix);
        growth *= 1 + best.st.total_return;
    }
    if (!rc)
        printf("out of sample, compounded: %.2f%%\n", (growth - 1) * 100);
    free(res);
    return rc;
}

/* "key=from:to:step" */
static int parse_sweep(const char *s, bt_sweep_t *out)
{
    const char *eq = strchr(s, '=');
    double lo, hi, step;
    char tail;
    if (!eq || (size_t)(eq - s) >= sizeof out->key ||
        sscanf(eq + 1, "%lf:%lf:%lf%c", &lo, &hi, &step, &tail) != 3 || !(step > 0) ||
        !(hi >= lo) || (hi - lo) / step > 1000)
        return -1;
    snprintf(out->key, sizeof out->key, "%.*s", (int)(eq - s), s);
    out->lo = lo, out->hi = hi, out->step = step;
    out->n = (int)floor((hi - lo) / step + 1e-9) + 1;
    out->strategy = -1;
    return 0;
}

/* "NAME.param": the config's strategy NAME (its index), else -1 (then the
 * key is a session setting). */
static int resolve_sweep(const nx_config_t *cfg, bt_sweep_t *w)
{
    const char *dot = strchr(w->key, '.');
    if (!dot)
        return 0;
    for (uint32_t i = 0; i < cfg->cortex.n_strategies; i++)
        if (strlen(cfg->cortex.strategies[i].name) == (size_t)(dot - w->key) &&
            !strncmp(cfg->cortex.strategies[i].name, w->key, (size_t)(dot - w->key)) && dot[1]) {
            w->strategy = (int)i;
            snprintf(w->param, sizeof w->param, "%s", dot + 1);
            if (!strstr(cfg->cortex.strategies[i].params, w->param))
                fprintf(stderr,
                        "nexus backtest: note: %s is not in strategy %s's params in the config; "
                        "a plugin takes only the parameters it knows (its README lists them)\n",
                        w->param, cfg->cortex.strategies[i].name);
            return 0;
        }
    fprintf(stderr, "nexus backtest: --sweep %s: the config has no strategy named %.*s\n", w->key,
            (int)(dot - w->key), w->key);
    return -1;
}

/* A strategy's params text with key set to v (a number). */
static int set_param(nx_config_strategy_t *st, const char *key, double v)
{
    json_t *j = json_loads(st->params[0] ? st->params : "{}", 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    json_object_set_new(j, key, v == floor(v) && fabs(v) < 1e15 ? json_integer((json_int_t)v)
                                                                 : json_real(v));
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    int ok = text && strlen(text) < sizeof st->params;
    if (ok)
        snprintf(st->params, sizeof st->params, "%s", text);
    free(text);
    return ok ? 0 : -1;
}

int nx_cmd_backtest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},  {"from", required_argument, 0, 'f'},
        {"to", required_argument, 0, 't'},      {"venue", required_argument, 0, 'v'},
        {"symbol", required_argument, 0, 's'},  {"orders", required_argument, 0, 'o'},
        {"stats", required_argument, 0, 'S'},   {"sweep", required_argument, 0, 'w'},
        {"metric", required_argument, 0, 'm'},  {"workers", required_argument, 0, 'j'},
        {"walk-forward", required_argument, 0, 'W'}, {"report", required_argument, 0, 'R'},
        {"signals", required_argument, 0, 'G'}, {"check-lookahead", no_argument, 0, 'L'},
        {"cuts", required_argument, 0, 'C'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    static bt_t b; /* large; one backtest per process */
    memset(&b, 0, sizeof b);
    bt_opts_t o;
    memset(&o, 0, sizeof o);
    o.metric = "sharpe";
    o.cuts = 20;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o.workers = ncpu > 0 ? (int)(ncpu < 64 ? ncpu : 64) : 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.config = optarg;
            break;
        case 'f':
        case 't': {
            int64_t t = nx_cli_parse_time(optarg);
            if (t < 0) {
                fprintf(stderr, "nexus backtest: --%s %s: want 2021-03-01, 2021-03-01T12:00:00 "
                                "or ms since the epoch\n",
                        c == 'f' ? "from" : "to", optarg);
                return NX_EXIT_USAGE;
            }
            *(c == 'f' ? &o.from_ns : &o.to_ns) = t;
            break;
        }
        case 'v':
            o.venue_s = optarg;
            break;
        case 's':
            o.symbol = optarg;
            break;
        case 'o':
            o.orders = optarg;
            break;
        case 'S':
            o.stats = optarg;
            break;
        case 'R':
            o.report = optarg;
            break;
        case 'G':
            o.signals = optarg;
            break;
        case 'L':
            o.lookahead = 1;
            break;
        case 'w':
            if (o.nsweep == BT_MAX_SWEEPS || parse_sweep(optarg, &o.sweep[o.nsweep])) {
                fprintf(stderr, "nexus backtest: --sweep %s: want KEY=FROM:TO:STEP (a /config "
                                "key, whole numbers, at most 1001 values and %d sweeps)\n",
                        optarg, BT_MAX_SWEEPS);
                return NX_EXIT_USAGE;
            }
            o.nsweep++;
            break;
        case 'm': {
            int ok = 0;
            for (int i = 0; metrics[i]; i++)
                ok |= !strcmp(optarg, metrics[i]);
            if (!ok) {
                fprintf(stderr, "nexus backtest: --metric %s: one of sharpe, sortino, calmar, "
                                "return, profit_factor, win_rate, max_drawdown\n",
                        optarg);
                return NX_EXIT_USAGE;
            }
            o.metric = optarg;
            break;
        }
        case 'j':
        case 'W':
        case 'C': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64) {
                fprintf(stderr, "nexus backtest: --%s %s: want 1..64\n",
                        c == 'j' ? "workers" : c == 'W' ? "walk-forward" : "cuts", optarg);
                return NX_EXIT_USAGE;
            }
            *(c == 'j' ? &o.workers : c == 'W' ? &o.walk : &o.cuts) = (int)v;
            break;
        }
        case 'h':
            usage(stdout);
            return NX_EXIT_OK;
        default:
            usage(stderr);
            return NX_EXIT_USAGE;
        }
    }
    o.ninputs = argc - optind;
    o.inputs = (const char **)(argv + optind);
    if (!o.config || o.ninputs < 1 || o.ninputs > BT_MAX_INPUTS) {
        usage(stderr);
        return NX_EXIT_USAGE;
    }
    if (o.to_ns && o.to_ns <= o.from_ns) {
        fprintf(stderr, "nexus backtest: --to must be after --from\n");
        return NX_EXIT_USAGE;
    }
    if (o.lookahead && (o.nsweep || o.orders || o.stats || o.report || o.signals)) {
        fprintf(stderr, "nexus backtest: --check-lookahead runs the backtest many times and "
                        "reports only its verdicts: no --sweep, --orders, --stats, --report or "
                        "--signals with it\n");
        return NX_EXIT_USAGE;
    }
    if (o.walk && !o.nsweep) {
        fprintf(stderr, "nexus backtest: --walk-forward optimises a --sweep: give one\n");
        return NX_EXIT_USAGE;
    }
    if (o.nsweep && grid_size(&o) > 100000) {
        fprintf(stderr, "nexus backtest: the sweep's grid is over 100,000 runs\n");
        return NX_EXIT_USAGE;
    }
    if (nx_cli_config_load(o.config, &b.cfg))
        return NX_EXIT_CONFIG;
    for (int k = 0; k < o.nsweep; k++)
        if (resolve_sweep(&b.cfg, &o.sweep[k]))
            return NX_EXIT_USAGE;
    b.cfg.cortex.watch = 0; /* no hot swap: the plugins are what they were at the start */
    const nx_config_t *cfg = &b.cfg;
    if (!cfg->n_symbols || !cfg->trading.n_sessions) {
        fprintf(stderr, "nexus backtest: %s: the config has no %s to trade\n", o.config,
                cfg->n_symbols ? "sessions (trading.sessions)" : "symbols");
        return NX_EXIT_CONFIG;
    }
    bt_input_t in[BT_MAX_INPUTS];
    memset(in, 0, sizeof in);
    int rc = load_inputs(&o, cfg, in);
    if (rc == NX_EXIT_OK && o.lookahead) {
        const nx_replay_t *rp[BT_MAX_INPUTS];
        nx_evr_t *ev[BT_MAX_INPUTS];
        static nx_symtab_t st;
        nx_symtab_init(&st);
        for (int i = 0; i < o.ninputs; i++)
            rp[i] = in[i].r, ev[i] = in[i].evr;
        nx_lookahead_opts_t lo = {.config = o.config, .venue = o.venue_s, .symbol = o.symbol,
                                  .from_ns = o.from_ns, .to_ns = o.to_ns, .cuts = o.cuts,
                                  .workers = o.workers, .inputs = o.inputs, .replays = rp,
                                  .evrs = ev, .symtab = &st, .ninputs = o.ninputs};
        rc = nx_config_symbols_intern(cfg, &st) ? NX_EXIT_FAIL : nx_backtest_lookahead(&lo);
        for (int i = 0; i < o.ninputs; i++) {
            nx_replay_destroy(in[i].r);
            nx_evr_close(in[i].evr);
        }
        return rc;
    }
    if (rc == NX_EXIT_OK && o.nsweep)
        rc = sweep(&b, &o, in);
    else if (rc == NX_EXIT_OK && (rc = run_once(&b, &o, in, o.from_ns, o.to_ns, NULL, 0)) == 0) {
        uint64_t unknown = 0, bad = 0;
        for (int i = 0; i < o.ninputs; i++) {
            unknown += in[i].evr ? nx_evr_unknown(in[i].evr) : in[i].dec.st.unknown_symbol;
            bad += in[i].evr ? 0 : in[i].dec.st.errors;
        }
        char t0[32] = "-", t1[32] = "-";
        if (b.first_ns)
            nx_utc_format(b.first_ns / NX_NS_PER_SEC, t0, sizeof t0);
        if (b.last_ns)
            nx_utc_format(b.last_ns / NX_NS_PER_SEC, t1, sizeof t1);
        printf("backtest: %llu events from %s to %s UTC, %llu signals, %llu orders, %llu fills\n",
               (unsigned long long)b.events, t0, t1, (unsigned long long)b.signals,
               (unsigned long long)b.orders_n, (unsigned long long)b.fills);
        if (unknown || bad)
            printf("backtest: %llu messages for symbols the config does not have, %llu not "
                   "understood (left out)\n",
                   (unsigned long long)unknown, (unsigned long long)bad);
        FILE *js = o.stats ? fopen(o.stats, "w") : NULL;
        if (o.stats && !js) {
            fprintf(stderr, "nexus backtest: cannot write %s\n", o.stats);
            rc = NX_EXIT_CONFIG;
        } else {
            unsigned ps = nx_symtab_get(&b.symtab, 0)->price_scale;
            print_stats(&b, ps, js);
            if (js && fclose(js)) {
                fprintf(stderr, "nexus backtest: cannot write %s\n", o.stats);
                rc = NX_EXIT_FAIL;
            }
            if (o.report && write_report(&b, o.report, o.config, ps)) {
                fprintf(stderr, "nexus backtest: cannot write %s\n", o.report);
                rc = NX_EXIT_FAIL;
            }
        }
    } else if (rc == NX_EXIT_CONFIG && !o.nsweep) {
        /* what was counted before it stopped: symbols the config lacks */
        uint64_t unknown = 0;
        for (int i = 0; i < o.ninputs; i++)
            unknown += in[i].evr ? nx_evr_unknown(in[i].evr) : in[i].dec.st.unknown_symbol;
        if (unknown)
            printf("backtest: %llu messages for symbols the config does not have\n",
                   (unsigned long long)unknown);
    }
    run_free(&b, in, o.ninputs);
    for (int i = 0; i < o.ninputs; i++) {
        nx_replay_destroy(in[i].r);
        nx_evr_close(in[i].evr);
    }
    return rc;
}
