/*
 * bot.c — the chat bot (see bot.h).
 *
 * Workload: a few people, a command every few seconds at most; a
 * notification per fill or closed trade. Nothing here is on the hot path:
 * desk questions cost one round trip through the engine thread (~0.1 ms
 * when it is idle), user lookups one small query.
 */
#include "bot.h"

#include "desk.h"
#include "nx/cortex.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/log.h"
#include "nx/shield.h"
#include "nx/store.h"
#include "nx/telegram.h"
#include "nx/vault.h"

#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REQS  512 /* approval requests remembered with their message */
#define LINES 64  /* console lines waiting */
#define OUT   3800
#define USERS_MAX 1024 /* users the bot keeps in memory */

typedef struct req_msg {
    uint32_t request, session;
    int64_t chat, message_id;
    int state; /* 0 free, 1 open, 2 decided/expired */
    char text[512];
} req_msg_t;

struct nx_bot {
    nx_engine_t *e;
    nx_tg_t *tg;
    int console;
    pthread_t th_console;
    int console_started;
    _Atomic int console_stop;
    pthread_mutex_t mu; /* console lines */
    char *lines[LINES];
    uint32_t l_head, l_tail;
    req_msg_t req[REQS];
    int64_t owner_chat;
    nx_user_t *users; /* users_refresh */
    int n_users;
    int64_t users_at_ns;
    int64_t feed_told_ns[NX_VENUE_COUNT][8]; /* last feed problem told, per venue and status */
    uint64_t plugin_failures[NX_CORTEX_MAX_STRATEGIES]; /* reload failures told so far */
    int64_t next_plugin_check_ns;
};

typedef struct caller {
    int64_t chat, user_chat; /* reply to chat; user_chat = the user's own id */
    int is_private, console;
    int known;
    nx_user_t u;
    uint32_t session; /* configured session of the user's name, 0 = none */
    int64_t message_id;
} caller_t;

/* ---- output ------------------------------------------------------------ */

/* Console: HTML to plain text (tags dropped, entities back). */
static void print_plain(const char *html)
{
    char out[OUT * 2];
    size_t o = 0;
    for (const char *p = html; *p && o < sizeof out - 2; p++) {
        if (*p == '<') {
            const char *q = strchr(p, '>');
            if (q) {
                p = q;
                continue;
            }
        }
        if (*p == '&') {
            static const struct {
                const char *ent;
                char c;
            } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}};
            int hit = 0;
            for (size_t k = 0; k < 4 && !hit; k++)
                if (!strncmp(p, ents[k].ent, strlen(ents[k].ent))) {
                    out[o++] = ents[k].c;
                    p += strlen(ents[k].ent) - 1;
                    hit = 1;
                }
            if (hit)
                continue;
        }
        out[o++] = *p;
    }
    out[o] = 0;
    printf("%s\n", out);
    fflush(stdout);
}

/* chat 0 is the console. keyboard: InlineKeyboardMarkup JSON or NULL. */
static void say(nx_bot_t *b, int64_t chat, const char *html, const char *keyboard, uint64_t tag)
{
    if (chat == 0) {
        print_plain(html);
        if (keyboard) { /* buttons become lines to type */
            const char *p = keyboard;
            while ((p = strstr(p, "\"callback_data\":\""))) {
                p += 17;
                const char *q = strchr(p, '"');
                if (!q)
                    break;
                printf("  type !%.*s\n", (int)(q - p), p);
                p = q;
            }
            fflush(stdout);
        }
        return;
    }
    if (b->tg)
        nx_tg_send(b->tg, chat, html, keyboard, tag);
}

static void edit(nx_bot_t *b, int64_t chat, int64_t msg, const char *html)
{
    if (chat == 0)
        print_plain(html);
    else if (b->tg && msg)
        nx_tg_edit(b->tg, chat, msg, html, NULL);
}

static unsigned quote_scale(nx_bot_t *b)
{
    const nx_symbol_t *y = nx_symtab_get(b->e->symtab, 0);
    return y ? y->price_scale : 8;
}

static const char *money(nx_bot_t *b, int64_t v, char *buf)
{
    nx_fixed_format(v, quote_scale(b), buf, NX_FIXED_FMT_MAX);
    /* two decimals are enough for a person */
    char *dot = strchr(buf, '.');
    if (dot && strlen(dot) > 3)
        dot[3] = 0;
    return buf;
}

static uint32_t session_of_name(nx_bot_t *b, const char *name)
{
    const nx_config_t *c = b->e->cfg;
    for (uint32_t i = 0; i < c->trading.n_sessions; i++)
        if (!strcmp(c->trading.sessions[i].name, name))
            return i + 1;
    return 0;
}

static const char *session_name(nx_bot_t *b, uint32_t s)
{
    const nx_config_t *c = b->e->cfg;
    return s >= 1 && s <= c->trading.n_sessions ? c->trading.sessions[s - 1].name : "?";
}

/* A reply being built: appended to, cut (never overrun) when full. */
typedef struct text {
    char s[OUT];
    size_t len;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
    if (t->len >= sizeof t->s - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->s + t->len, sizeof t->s - t->len, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->len = t->len + (size_t)k < sizeof t->s ? t->len + (size_t)k : sizeof t->s - 1;
}

/* ---- users --------------------------------------------------------------- */

/* The users, read from storage at most once a second (the CLI may change
 * them while Nexus runs) and again at once after the bot changed one: a
 * notification looks its chat up here, not in the database. */
static int cache_user(void *ctx, const nx_user_t *u)
{
    nx_bot_t *b = ctx;
    if (b->n_users < USERS_MAX)
        b->users[b->n_users++] = *u;
    return 0;
}

static void users_refresh(nx_bot_t *b)
{
    int64_t now = nx_mono_ns();
    if (b->users_at_ns && now - b->users_at_ns < NX_NS_PER_SEC)
        return;
    b->n_users = 0;
    if (nx_store_users(b->e->store, cache_user, b))
        NX_LOGK(NX_LOG_WARN, "chat", "chat.users", "cannot read the users: %s",
                nx_store_error(b->e->store));
    b->users_at_ns = now;
}

static void users_changed(nx_bot_t *b)
{
    b->users_at_ns = 0;
}

/* By name, user id or chat id. */
static int user_named(nx_bot_t *b, const char *name, nx_user_t *out)
{
    char *end;
    long long id = strtoll(name, &end, 10);
    if (*name && !*end && (nx_store_user_get(b->e->store, id, 0, out) == 0 ||
                           nx_store_user_get(b->e->store, 0, id, out) == 0))
        return 0;
    users_refresh(b);
    for (int i = 0; i < b->n_users; i++)
        if (!strcmp(b->users[i].name, name)) {
            *out = b->users[i];
            return 0;
        }
    return NX_ENOENT;
}

/* The chat of the user whose name is the session's; 0 = the console, -1 =
 * nobody to tell. */
static int64_t chat_of_session(nx_bot_t *b, uint32_t session)
{
    if (session == 0)
        return b->owner_chat;
    int owners = session == session_of_name(b, b->e->cfg->storage.owner_name);
    if (owners && b->console && !b->tg)
        return 0; /* no Telegram: the owner is at the console */
    nx_user_t u;
    if (user_named(b, session_name(b, session), &u) || u.role == NX_ROLE_PENDING ||
        u.role == NX_ROLE_BANNED)
        return owners && b->console ? 0 : -1;
    return u.chat_id;
}

static void tell_admins(nx_bot_t *b, const char *html)
{
    users_refresh(b);
    for (int i = 0; i < b->n_users; i++) {
        const nx_user_t *u = &b->users[i];
        if ((u->role == NX_ROLE_ADMIN || u->role == NX_ROLE_OWNER) && u->chat_id)
            say(b, u->chat_id, html, NULL, 0);
    }
    if (b->console)
        say(b, 0, html, NULL, 0);
}

void nx_bot_tell_chat(nx_bot_t *b, int64_t chat, const char *html)
{
    say(b, chat, html, NULL, 0);
}

void nx_bot_tell_owner(nx_bot_t *b, const char *html)
{
    if (b->owner_chat)
        say(b, b->owner_chat, html, NULL, 0);
    if (b->console)
        say(b, 0, html, NULL, 0);
}

/* ---- engine questions -------------------------------------------------- */

enum {
    Q_STATUS = 1, Q_BALANCE, Q_POSITIONS, Q_TRADES, Q_PROFIT, Q_DAILY, Q_WEEKLY, Q_PERF,
    Q_LOCKS, Q_STRATEGIES, Q_CONFIG, Q_OPEN_SYMBOLS, Q_REGIME,
};

typedef struct query {
    nx_bot_t *b;
    int what;
    uint32_t session;
    long n;
    text_t out;
    uint32_t syms[64];
    int nsyms;
} query_t;

static const char *const mode_names[] = {"watcher", "copilot", "pilot"};

static const char *sym_name(nx_bot_t *b, uint32_t s)
{
    const nx_symbol_t *y = nx_symtab_get(b->e->symtab, s);
    return y ? y->name : "all";
}

static void px(nx_bot_t *b, uint32_t sym, int64_t v, char *buf)
{
    const nx_symbol_t *y = nx_symtab_get(b->e->symtab, sym);
    nx_fixed_format(v, y ? y->price_scale : 8, buf, NX_FIXED_FMT_MAX);
}

static void qty(nx_bot_t *b, uint32_t sym, int64_t v, char *buf)
{
    const nx_symbol_t *y = nx_symtab_get(b->e->symtab, sym);
    nx_fixed_format(v, y ? y->qty_scale : 8, buf, NX_FIXED_FMT_MAX);
}

/* Trades of a session grouped by UTC day (86400 s) or week (from Monday). */
static void grouped(query_t *q, nx_trade_closed_t *t, int n, int64_t span_s, long groups)
{
    nx_bot_t *b = q->b;
    int64_t now_s = nx_desk_now(b->e->desk) / NX_NS_PER_SEC;
    int64_t off = span_s == 7 * 86400 ? 4 * 86400 : 0; /* 1970-01-01 was a Thursday */
    int64_t cur = (now_s - off) / span_s;
    put(&q->out, "<b>%s P&amp;L</b> (UTC)\n", span_s == 86400 ? "Daily" : "Weekly");
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
        put(&q->out, "%s: %s (%d trades)\n", day, money(b, pnl, m), cnt);
    }
}

/* /regime: the cortex's market read of one pair (engine thread). */
static void regime(query_t *q, nx_engine_t *e, uint32_t sym)
{
    nx_market_read_t r;
    const char *name = sym_name(q->b, sym);
    if (!e->cortex || nx_cortex_market_read(e->cortex, sym, &r)) {
        put(&q->out, "%s: no candles are built for it.", name);
        return;
    }
    unsigned tf = r.tf_s >= 3600 ? r.tf_s / 3600 : r.tf_s / 60;
    const char *unit = r.tf_s >= 3600 ? "h" : "m";
    if (r.regime == NX_REGIME_UNKNOWN) {
        put(&q->out, "<b>%s</b> %u%s: not enough candles yet (%llu closed; the read needs 100).", name,
            tf, unit, (unsigned long long)r.closed);
        return;
    }
    put(&q->out, "<b>%s</b> %u%s: <b>%s</b>\n", name, tf, unit, nx_regime_name(r.regime));
    put(&q->out, "ADX %.1f (+DI %.1f, -DI %.1f); ATR %.2f%% of price, %.2fx its 100-candle mean\n",
        r.adx, r.plus_di, r.minus_di, r.natr14, r.atr100 > 0 ? r.atr14 / r.atr100 : 1.0);
    /* 7 significant digits: 35889.08 and 0.01234567 alike */
    put(&q->out, "close %.7g, EMA50 %.7g, ", r.close, r.ema50);
    if (isnan(r.ema200)) /* 100..199 candles */
        put(&q->out, "EMA200 after %llu more candles, ",
            r.closed < 200 ? 200 - (unsigned long long)r.closed : 0);
    else
        put(&q->out, "EMA200 %.7g, ", r.ema200);
    put(&q->out, "RSI %.1f\n", r.rsi14);
    put(&q->out, "Rule-based read (trend: ADX &gt;= 25; range: ADX &lt; 20; volatile: ATR &gt;= 1.5x "
           "its mean). No regime model is loaded, so the strategies run side by side.");
}

static void render(nx_engine_t *e, void *ctx, int rc, int why)
{
    (void)rc;
    (void)why;
    query_t *q = ctx;
    nx_bot_t *b = q->b;
    nx_desk_t *d = e->desk;
    char m1[NX_FIXED_FMT_MAX], m2[NX_FIXED_FMT_MAX], m3[NX_FIXED_FMT_MAX], m4[NX_FIXED_FMT_MAX];
    nx_desk_info_t in;
    if (q->what == Q_STRATEGIES) {
        nx_cortex_stats_t cs;
        if (!e->cortex) {
            put(&q->out, "No strategies run.");
            return;
        }
        nx_cortex_stats(e->cortex, &cs);
        put(&q->out, "<b>Strategies</b>\n");
        for (uint32_t i = 0; i < cs.strategies; i++) {
            nx_strategy_info_t si;
            if (nx_cortex_strategy_info(e->cortex, (int)i, &si) == 0)
                put(&q->out, "%s (%s %s): %llu signals, %llu swaps%s%s\n", si.name, si.plugin,
                    si.version, (unsigned long long)si.signals, (unsigned long long)si.swaps,
                    si.last_error[0] ? ", last error: " : "", si.last_error[0] ? "yes" : "");
        }
        return;
    }
    if (q->what == Q_REGIME) {
        regime(q, e, (uint32_t)q->n);
        return;
    }
    if (!d || nx_desk_info(d, q->session, &in)) {
        put(&q->out, "You have no trading session yet: the owner adds one under your name.");
        return;
    }
    int64_t pnl = in.balance - in.start_equity;
    switch (q->what) {
    case Q_STATUS:
        put(&q->out, "<b>%s</b>: %s%s%s%s%s\n", in.name, mode_names[in.mode], in.paused ? ", paused" : "",
            in.held ? ", held (check /health, then /resume)" : "", in.kill ? ", kill switch on" : "",
            in.global_kill ? ", global kill switch on" : "");
        put(&q->out, "Balance %s (P&amp;L %s), %u open, %u trades, %u waiting for approval\n",
            money(b, in.balance, m1), money(b, pnl, m2), in.open_positions, in.trades,
            in.pending_approvals);
        if (in.breaker_tripped)
            put(&q->out, "Circuit breaker tripped%s\n", in.breaker_until_ns == INT64_MAX ? ": /reset" : "");
        break;
    case Q_BALANCE:
        put(&q->out, "<b>Balance</b> %s\nStarted with %s\nP&amp;L %s (fees %s)\nMax drawdown %.2f%%",
            money(b, in.balance, m1), money(b, in.start_equity, m2), money(b, pnl, m3),
            money(b, in.fees, m4), in.max_drawdown_bp / 100.0);
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
            put(&q->out, "No open positions.");
        for (int i = 0; i < n; i++) {
            const nx_position_info_t *x = &p[i].pos;
            qty(b, p[i].symbol, x->qty > 0 ? x->qty : -x->qty, m1);
            px(b, p[i].symbol, x->avg_px, m2);
            px(b, p[i].symbol, x->sl, m3);
            put(&q->out, "<b>%s</b> %s %s @ %s, stop %s%s", sym_name(b, p[i].symbol),
                x->qty > 0 ? "long" : "short", m1, m2, x->sl ? m3 : "none",
                x->sl && !x->protected_sl ? " (not at the venue)" : "");
            if (x->tp) {
                px(b, p[i].symbol, x->tp, m3);
                put(&q->out, ", target %s%s", m3, x->protected_tp ? "" : " (not at the venue)");
            }
            put(&q->out, ", unrealised %s\n", money(b, x->unrealized, m4));
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
                put(&q->out, "No closed trades yet.");
            for (int i = n - (int)q->n < 0 ? 0 : n - (int)q->n; i < n; i++) {
                px(b, t[i].symbol, t[i].entry_px, m1);
                px(b, t[i].symbol, t[i].exit_px, m2);
                put(&q->out, "%s %s %s → %s, %s (%s)\n", sym_name(b, t[i].symbol),
                    t[i].dir > 0 ? "long" : "short", m1, m2, money(b, t[i].pnl, m3),
                    nx_exit_reason_name(t[i].reason));
            }
        } else if (q->what == Q_PROFIT) {
            int64_t best = 0, worst = 0;
            for (int i = 0; i < n; i++) {
                if (!i || t[i].pnl > best)
                    best = t[i].pnl;
                if (!i || t[i].pnl < worst)
                    worst = t[i].pnl;
            }
            put(&q->out, "<b>Profit</b> %s over %u closed trades (win rate %.1f%%)\nBest %s, worst %s\n"
                   "Balance %s",
                money(b, pnl, m1), in.trades, in.trades ? 100.0 * in.wins / in.trades : 0.0,
                money(b, best, m2), money(b, worst, m3), money(b, in.balance, m4));
        } else if (q->what == Q_PERF) {
            put(&q->out, "<b>Performance by pair</b>\n");
            for (uint32_t s = 0; s < nx_symtab_count(e->symtab); s++) {
                int64_t sum = 0;
                int cnt = 0, wins = 0;
                for (int i = 0; i < n; i++)
                    if (t[i].symbol == s) {
                        sum += t[i].pnl;
                        cnt++;
                        wins += t[i].pnl > 0;
                    }
                if (cnt)
                    put(&q->out, "%s: %s over %d trades, %d won\n", sym_name(b, s), money(b, sum, m1),
                        cnt, wins);
            }
        } else {
            grouped(q, t, n, q->what == Q_DAILY ? 86400 : 7 * 86400, q->n);
        }
        break;
    }
    case Q_LOCKS: {
        nx_lock_t l[32];
        int n = nx_desk_locks(d, q->session, l, 32);
        if (!n)
            put(&q->out, "No protection locks.");
        for (int i = 0; i < n; i++)
            put(&q->out, "%s locked (%s)%s\n", l[i].symbol == NX_SYMBOL_NONE ? "every pair" : sym_name(b, l[i].symbol),
                nx_reject_name((nx_reject_t)l[i].reason),
                l[i].until_ns == INT64_MAX ? " until /unlock" : "");
        break;
    }
    case Q_CONFIG: {
        const char *key;
        int64_t v, lo, hi;
        put(&q->out, "<b>Settings</b> (/config set KEY VALUE)\n");
        for (int i = 0; nx_desk_setting(d, q->session, i, &key, &v, &lo, &hi) == 0; i++)
            put(&q->out, "%s = %lld (%lld..%lld)\n", key, (long long)v, (long long)lo, (long long)hi);
        break;
    }
    default:
        break;
    }
}

/* Ask the engine thread; q->out holds the answer. */
static int ask_engine(nx_bot_t *b, query_t *q, int what, uint32_t session, long n)
{
    memset(q, 0, sizeof *q);
    q->b = b;
    q->what = what;
    q->session = session;
    q->n = n;
    nx_ev_control_t c = {0};
    c.cmd = NX_CTL_QUERY;
    c.session = session;
    int rc = nx_engine_call(b->e, &c, render, q, NULL);
    if (rc == NX_ECLOSED)
        put(&q->out, "The engine is stopping.");
    return rc;
}

/* A command for the desk; the answer in text. */
static int command(nx_bot_t *b, uint32_t session, int cmd, int64_t arg, const char *text,
                   int *why)
{
    nx_ev_control_t c = {0};
    c.cmd = (uint8_t)cmd;
    c.session = session;
    c.arg = arg;
    if (text)
        snprintf(c.text, sizeof c.text, "%s", text);
    return nx_engine_call(b->e, &c, NULL, NULL, why);
}

/* ---- commands --------------------------------------------------------------- */

typedef void (*cmd_fn)(nx_bot_t *b, caller_t *who, char *args);

typedef struct cmd {
    const char *name;
    nx_role_t role;
    int private_only;
    cmd_fn fn;
    const char *help;
} cmd_t;

static void reply(nx_bot_t *b, caller_t *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply(nx_bot_t *b, caller_t *who, const char *fmt, ...)
{
    char out[OUT];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, sizeof out, fmt, ap);
    va_end(ap);
    say(b, who->chat, out, NULL, 0);
}

static void audit(nx_bot_t *b, caller_t *who, const char *action, const char *detail)
{
    nx_store_audit(b->e->store, who->known ? who->u.id : 0, who->user_chat, action, detail);
}

static uint32_t symbol_arg(nx_bot_t *b, const char *s)
{
    char up[32];
    size_t i = 0;
    for (; s && s[i] && i < sizeof up - 1; i++)
        up[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    up[i] = 0;
    for (uint32_t k = 0; k < nx_symtab_count(b->e->symtab); k++)
        if (!strcmp(nx_symtab_get(b->e->symtab, k)->name, up))
            return k;
    return NX_SYMBOL_NONE;
}

static int need_session(nx_bot_t *b, caller_t *who)
{
    if (who->session)
        return 1;
    reply(b, who, "You have no trading session yet: the owner adds one under your name (%s).",
          who->u.name);
    return 0;
}

static void answer_rc(nx_bot_t *b, caller_t *who, int rc, int why, const char *done)
{
    if (rc == 0)
        reply(b, who, "%s", done);
    else if (rc == NX_ESTATE && why)
        reply(b, who, "Refused: %s.", nx_reject_name((nx_reject_t)why));
    else if (rc == NX_ENOENT)
        reply(b, who, "Nothing to do: there is no such position, lock or request.");
    else
        reply(b, who, "Refused: %s.", nx_strerror(rc));
}

static void c_help(nx_bot_t *b, caller_t *who, char *args);

static void c_start(nx_bot_t *b, caller_t *who, char *args)
{
    (void)args;
    if (who->known) {
        if (who->u.role == NX_ROLE_PENDING)
            reply(b, who, "Your request is waiting for an admin's approval.");
        else
            reply(b, who, "Welcome back, %s. /help lists what you can do.", who->u.name);
        return;
    }
    if (!who->is_private) {
        reply(b, who, "Please write to me in a private chat to register.");
        return;
    }
    char name[64];
    snprintf(name, sizeof name, "%s", who->u.name);
    int64_t id = 0;
    int rc = nx_store_user_add(b->e->store, who->user_chat, name, NX_ROLE_PENDING, "UTC", &id);
    if (rc) {
        reply(b, who, "Sorry, I could not register you right now; please try again later.");
        NX_WARN("chat", "registering chat %lld failed: %s", (long long)who->user_chat,
                nx_store_error(b->e->store));
        return;
    }
    who->known = 1;
    who->u.id = id;
    users_changed(b);
    audit(b, who, "register", name);
    reply(b, who, "Hello %s! Your request to join is waiting for an admin's approval.", name);
    char msg[512], esc[128];
    nx_tg_escape(name, esc, sizeof esc);
    snprintf(msg, sizeof msg, "New user <b>%s</b> (id %lld) asks to join: /approve %s", esc,
             (long long)id, esc);
    tell_admins(b, msg);
}

static void c_query(nx_bot_t *b, caller_t *who, int what, long n)
{
    if (what != Q_STRATEGIES && what != Q_REGIME && !need_session(b, who))
        return;
    query_t *q = malloc(sizeof *q);
    if (!q)
        return;
    ask_engine(b, q, what, who->session, n);
    say(b, who->chat, q->out.len ? q->out.s : "Nothing yet.", NULL, 0);
    free(q);
}

static long count_arg(const char *a, long def, long max)
{
    long n = a && *a ? strtol(a, NULL, 10) : def;
    return n < 1 ? def : n > max ? max : n;
}

static void c_status(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_STATUS, 0); }
static void c_balance(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_BALANCE, 0); }
static void c_positions(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_POSITIONS, 0); }
static void c_trades(nx_bot_t *b, caller_t *w, char *a) { c_query(b, w, Q_TRADES, count_arg(a, 10, 50)); }
static void c_profit(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_PROFIT, 0); }
static void c_daily(nx_bot_t *b, caller_t *w, char *a) { c_query(b, w, Q_DAILY, count_arg(a, 7, 60)); }
static void c_weekly(nx_bot_t *b, caller_t *w, char *a) { c_query(b, w, Q_WEEKLY, count_arg(a, 4, 52)); }
static void c_perf(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_PERF, 0); }
static void c_locks(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_LOCKS, 0); }
static void c_strategies(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_query(b, w, Q_STRATEGIES, 0); }

static void c_simple(nx_bot_t *b, caller_t *who, int cmd, int64_t arg, const char *done)
{
    if (!need_session(b, who))
        return;
    int why = 0;
    int rc = command(b, who->session, cmd, arg, NULL, &why);
    answer_rc(b, who, rc, why, done);
    if (!rc)
        audit(b, who, done, "");
}

static void c_pause(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_simple(b, w, NX_CTL_PAUSE, 0, "Paused: no new entries; exits still run."); }
static void c_resume(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_simple(b, w, NX_CTL_RESUME, 0, "Resumed."); }
static void c_reset(nx_bot_t *b, caller_t *w, char *a) { (void)a; c_simple(b, w, NX_CTL_RESET, 0, "Circuit breaker reset."); }

static void c_mode(nx_bot_t *b, caller_t *who, char *a)
{
    for (int m = 0; m < 3; m++)
        if (a && !strcmp(a, mode_names[m])) {
            char done[64];
            snprintf(done, sizeof done, "Mode is now %s.", mode_names[m]);
            c_simple(b, who, NX_CTL_MODE, m, done);
            return;
        }
    reply(b, who, "Usage: /mode watcher|copilot|pilot");
}

static void c_unlock(nx_bot_t *b, caller_t *who, char *a)
{
    uint32_t s = a && *a && strcmp(a, "all") ? symbol_arg(b, a) : NX_SYMBOL_NONE;
    if (a && *a && strcmp(a, "all") && s == NX_SYMBOL_NONE) {
        reply(b, who, "Unknown pair. Usage: /unlock PAIR");
        return;
    }
    c_simple(b, who, NX_CTL_UNLOCK, s, "Unlocked.");
}

static void c_forceexit(nx_bot_t *b, caller_t *who, char *a)
{
    if (!need_session(b, who))
        return;
    if (!a || !*a) {
        reply(b, who, "Usage: /forceexit PAIR|all");
        return;
    }
    query_t *q = malloc(sizeof *q);
    if (!q)
        return;
    ask_engine(b, q, Q_OPEN_SYMBOLS, who->session, 0);
    int closed = 0, asked = 0, all = !strcmp(a, "all");
    uint32_t only = all ? NX_SYMBOL_NONE : symbol_arg(b, a);
    for (int i = 0; i < q->nsyms; i++) {
        if (!all && q->syms[i] != only)
            continue;
        asked++;
        int why = 0;
        if (command(b, who->session, NX_CTL_EXIT, q->syms[i], NULL, &why) == 0)
            closed++;
    }
    free(q);
    if (!asked)
        reply(b, who, "No open position on %s.", a);
    else
        reply(b, who, "Closing %d position%s at market.", closed, closed == 1 ? "" : "s");
    audit(b, who, "forceexit", a);
}

static void c_force(nx_bot_t *b, caller_t *who, char *a, const char *dir)
{
    if (!need_session(b, who))
        return;
    uint32_t s = symbol_arg(b, a);
    if (s == NX_SYMBOL_NONE) {
        reply(b, who, "Usage: /force%s PAIR", dir);
        return;
    }
    int why = 0;
    int rc = command(b, who->session, NX_CTL_ENTER, s, dir, &why);
    char done[64];
    snprintf(done, sizeof done, "Entering %s %s at market.", dir, sym_name(b, s));
    answer_rc(b, who, rc, why, done);
    audit(b, who, "forceentry", done);
}
static void c_forcelong(nx_bot_t *b, caller_t *w, char *a) { c_force(b, w, a, "long"); }
static void c_forceshort(nx_bot_t *b, caller_t *w, char *a) { c_force(b, w, a, "short"); }

static void c_closeall(nx_bot_t *b, caller_t *who, char *a)
{
    (void)a;
    if (!need_session(b, who))
        return;
    say(b, who->chat, "<b>Close every position and cancel every order?</b>",
        "{\"inline_keyboard\":[[{\"text\":\"Yes, close all\",\"callback_data\":\"ca:yes\"},"
        "{\"text\":\"No\",\"callback_data\":\"ca:no\"}]]}",
        0);
}

/* A user's watched pairs, "BTCUSDT,ETHUSDT" ("" if none), kept in the
 * store's meta table under key (filled in too). */
static void watch_list(nx_bot_t *b, int64_t user_id, char *key, size_t key_cap, char *list,
                       size_t cap)
{
    snprintf(key, key_cap, "watch:%lld", (long long)user_id);
    size_t n = cap - 1;
    if (nx_store_meta_get(b->e->store, key, (uint8_t *)list, &n) == 0)
        list[n] = 0;
    else
        list[0] = 0;
}

static void c_watch(nx_bot_t *b, caller_t *who, char *a)
{
    char key[64], list[512];
    watch_list(b, who->u.id, key, sizeof key, list, sizeof list);
    char verb[16] = "", arg[32] = "";
    if (a)
        sscanf(a, "%15s %31s", verb, arg);
    uint32_t s = symbol_arg(b, arg);
    if (!strcmp(verb, "list") || !verb[0]) {
        reply(b, who, "Watching: %s", list[0] ? list : "nothing (/watch add PAIR)");
        return;
    }
    if (s == NX_SYMBOL_NONE || (strcmp(verb, "add") && strcmp(verb, "remove"))) {
        reply(b, who, "Usage: /watch add|remove|list PAIR");
        return;
    }
    const char *name = sym_name(b, s);
    char out[512] = "";
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, name))
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "," : "", t);
    if (!strcmp(verb, "add"))
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s", out[0] ? "," : "", name);
    nx_store_meta_put(b->e->store, key, (const uint8_t *)out, strlen(out));
    reply(b, who, "Watching: %s", out[0] ? out : "nothing");
}

static void c_regime(nx_bot_t *b, caller_t *who, char *a)
{
    uint32_t s = symbol_arg(b, a);
    if (s == NX_SYMBOL_NONE) {
        reply(b, who, "Usage: /regime PAIR");
        return;
    }
    c_query(b, who, Q_REGIME, (long)s);
}

static void c_config(nx_bot_t *b, caller_t *who, char *a)
{
    if (!need_session(b, who))
        return;
    char verb[8] = "", key[32] = "";
    long long v = 0;
    int k = a ? sscanf(a, "%7s %31s %lld", verb, key, &v) : 0;
    if (k <= 0 || !strcmp(verb, "show")) {
        c_query(b, who, Q_CONFIG, 0);
        return;
    }
    if (strcmp(verb, "set") || k != 3) {
        reply(b, who, "Usage: /config show | /config set KEY VALUE");
        return;
    }
    int why = 0;
    int rc = command(b, who->session, NX_CTL_SET, v, key, &why);
    char done[96];
    snprintf(done, sizeof done, "%s is now %lld.", key, v);
    if (rc == NX_ERANGE)
        reply(b, who, "%s: unknown setting or value out of range (/config show lists them).", key);
    else
        answer_rc(b, who, rc, why, done);
    if (!rc)
        audit(b, who, "config", done);
}

static void c_keys(nx_bot_t *b, caller_t *who, char *a)
{
    /* the message holding the key is deleted first, whatever happens next */
    if (b->tg && who->chat && who->message_id)
        nx_tg_delete(b->tg, who->chat, who->message_id);
    char venue[32] = "", key[160] = "", secret[160] = "";
    int k = a ? sscanf(a, "%31s %159s %159s", venue, key, secret) : 0;
    if (k != 3) {
        explicit_bzero(key, sizeof key);
        explicit_bzero(secret, sizeof secret);
        reply(b, who, "Usage (private chat): /keys VENUE API_KEY API_SECRET — the message is "
                      "deleted after reading.");
        return;
    }
    nx_vault_t *v = NULL;
    char err[256];
    int rc = nx_vault_load(&v, b->e->cfg->storage.key_file, err, sizeof err);
    uint8_t sk[512], ss[512];
    size_t skn = 0, ssn = 0;
    if (!rc)
        rc = nx_vault_seal(v, who->u.id, venue, (const uint8_t *)key, strlen(key), sk, &skn);
    if (!rc)
        rc = nx_vault_seal(v, who->u.id, venue, (const uint8_t *)secret, strlen(secret), ss, &ssn);
    explicit_bzero(key, sizeof key);
    explicit_bzero(secret, sizeof secret);
    explicit_bzero(a, strlen(a));
    if (!rc) {
        nx_store_session_put(b->e->store, who->u.id, venue, "watcher", 0, "{}", NULL);
        rc = nx_store_session_set_keys(b->e->store, who->u.id, venue, sk, skn, ss, ssn);
    }
    nx_vault_free(v);
    if (rc)
        reply(b, who, "Your keys were not stored: %s.",
              rc == NX_ENOENT ? "no master key is set up (NEXUS_MASTER_KEY)" : nx_strerror(rc));
    else
        reply(b, who, "Keys for %s sealed and stored. The message that held them is deleted.", venue);
    audit(b, who, "keys", rc ? "refused" : venue);
}

static void c_health(nx_bot_t *b, caller_t *who, char *a)
{
    (void)a;
    nx_engine_t *e = b->e;
    nx_ring_stats_t m, j;
    nx_ring_stats(e->market, &m);
    nx_ring_stats(e->journal, &j);
    text_t t = {0};
    put(&t, "<b>Health</b>\nup %llds, events %llu, market overruns %llu, journal stored %llu\n",
        (long long)((nx_mono_ns() - e->start_mono_ns) / NX_NS_PER_SEC),
        (unsigned long long)atomic_load(&e->engine_events), (unsigned long long)m.overruns,
        (unsigned long long)atomic_load(&e->journal_written));
    for (uint32_t i = 0; i < e->n_feeds; i++) {
        nx_feed_stats_t fs;
        nx_feed_stats(e->feeds[i], &fs);
        put(&t, "%s: %llu frames, %llu connects, %llu disconnects, %llu errors\n",
            nx_venue_name(e->cfg->feeds[i].venue), (unsigned long long)fs.frames,
            (unsigned long long)fs.connects, (unsigned long long)fs.disconnects,
            (unsigned long long)fs.errors);
    }
    if (b->tg) {
        nx_tg_stats_t ts;
        nx_tg_stats(b->tg, &ts);
        put(&t, "chat: %llu sent, %llu waiting, %llu 429s\n", (unsigned long long)ts.sent,
            (unsigned long long)ts.queued, (unsigned long long)ts.http429);
    }
    say(b, who->chat, t.s, NULL, 0);
}

static void c_version(nx_bot_t *b, caller_t *who, char *a)
{
    (void)a;
    reply(b, who, "Nexus %s", NX_VERSION_STRING);
}

static void c_users(nx_bot_t *b, caller_t *who, char *a)
{
    (void)a;
    text_t t = {0};
    char esc[128];
    users_changed(b); /* an admin asking wants the table as it is now */
    users_refresh(b);
    for (int i = 0; i < b->n_users; i++) {
        nx_tg_escape(b->users[i].name, esc, sizeof esc);
        put(&t, "%lld %s: %s\n", (long long)b->users[i].id, esc, nx_role_name(b->users[i].role));
    }
    say(b, who->chat, t.len ? t.s : "No users.", NULL, 0);
}

static void set_role(nx_bot_t *b, caller_t *who, char *a, nx_role_t role)
{
    nx_user_t u;
    if (!a || !*a || user_named(b, a, &u)) {
        reply(b, who, "No such user. /users lists them.");
        return;
    }
    if (u.role == NX_ROLE_OWNER || (u.role == NX_ROLE_ADMIN && who->u.role != NX_ROLE_OWNER)) {
        reply(b, who, "Only the owner changes an admin's role; nobody changes the owner's.");
        return;
    }
    if (nx_store_user_set_role(b->e->store, u.id, role)) {
        reply(b, who, "Could not change the role right now.");
        return;
    }
    users_changed(b);
    audit(b, who, role == NX_ROLE_BANNED ? "ban" : "approve", u.name);
    char esc[128];
    nx_tg_escape(u.name, esc, sizeof esc);
    reply(b, who, "%s is now %s.", esc, nx_role_name(role));
    if (role == NX_ROLE_SUBSCRIBER && u.chat_id)
        say(b, u.chat_id, "You are approved. /help lists what you can do.", NULL, 0);
}

static void c_approve(nx_bot_t *b, caller_t *w, char *a) { set_role(b, w, a, NX_ROLE_SUBSCRIBER); }
static void c_ban(nx_bot_t *b, caller_t *w, char *a) { set_role(b, w, a, NX_ROLE_BANNED); }

static void c_plugins(nx_bot_t *b, caller_t *who, char *a)
{
    if (a && !strncmp(a, "reload", 6)) {
        const char *name = a[6] == ' ' ? a + 7 : "";
        int why = 0;
        command(b, 0, NX_CTL_RELOAD, 0, name, &why);
        reply(b, who, "Reload of %s asked; a failure is reported here.", *name ? name : "every plugin");
        audit(b, who, "plugins reload", name);
        return;
    }
    c_query(b, who, Q_STRATEGIES, 0);
}

static void c_logs(nx_bot_t *b, caller_t *who, char *a)
{
    long n = count_arg(a, 20, 100);
    const char *path = b->e->cfg->log.file;
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (!f) {
        reply(b, who, "The log goes to standard error; set log.file in the config to read it here.");
        return;
    }
    static char ring[100][300];
    long cnt = 0;
    char line[300];
    while (fgets(line, sizeof line, f))
        snprintf(ring[cnt++ % n], sizeof ring[0], "%s", line);
    fclose(f);
    text_t t = {0};
    char esc[600];
    for (long i = cnt > n ? cnt - n : 0; i < cnt; i++) {
        nx_tg_escape(ring[i % n], esc, sizeof esc);
        put(&t, "%s", esc);
    }
    say(b, who->chat, t.len ? t.s : "The log is empty.", NULL, 0);
}

static void c_killswitch(nx_bot_t *b, caller_t *who, char *a)
{
    int on = a && !strcmp(a, "on"), off = a && !strcmp(a, "off");
    if (!on && !off) {
        reply(b, who, "Usage: /killswitch on|off");
        return;
    }
    int why = 0;
    int rc = command(b, 0, NX_CTL_KILL, on, NULL, &why);
    answer_rc(b, who, rc, why, on ? "Kill switch ON: only exits pass, for everyone." : "Kill switch off.");
    audit(b, who, "killswitch", on ? "on" : "off");
}

static const cmd_t cmds[] = {
    {"start", NX_ROLE_PENDING, 0, c_start, "register"},
    {"help", NX_ROLE_PENDING, 0, c_help, "what you can do"},
    {"status", NX_ROLE_SUBSCRIBER, 0, c_status, "your session"},
    {"balance", NX_ROLE_SUBSCRIBER, 0, c_balance, "balance and drawdown"},
    {"positions", NX_ROLE_SUBSCRIBER, 0, c_positions, "open positions"},
    {"trades", NX_ROLE_SUBSCRIBER, 0, c_trades, "[n] latest closed trades"},
    {"profit", NX_ROLE_SUBSCRIBER, 0, c_profit, "P&L and win rate"},
    {"daily", NX_ROLE_SUBSCRIBER, 0, c_daily, "[n] P&L per day"},
    {"weekly", NX_ROLE_SUBSCRIBER, 0, c_weekly, "[n] P&L per week"},
    {"performance", NX_ROLE_SUBSCRIBER, 0, c_perf, "P&L per pair"},
    {"mode", NX_ROLE_SUBSCRIBER, 0, c_mode, "watcher|copilot|pilot"},
    {"pause", NX_ROLE_SUBSCRIBER, 0, c_pause, "no new entries"},
    {"resume", NX_ROLE_SUBSCRIBER, 0, c_resume, "entries again"},
    {"reset", NX_ROLE_SUBSCRIBER, 0, c_reset, "reset the circuit breaker"},
    {"locks", NX_ROLE_SUBSCRIBER, 0, c_locks, "protection locks"},
    {"unlock", NX_ROLE_SUBSCRIBER, 0, c_unlock, "PAIR remove a lock"},
    {"forceexit", NX_ROLE_SUBSCRIBER, 0, c_forceexit, "PAIR|all close at market"},
    {"forcelong", NX_ROLE_SUBSCRIBER, 0, c_forcelong, "PAIR enter long"},
    {"forceshort", NX_ROLE_SUBSCRIBER, 0, c_forceshort, "PAIR enter short"},
    {"closeall", NX_ROLE_SUBSCRIBER, 0, c_closeall, "close everything (asks first)"},
    {"watch", NX_ROLE_SUBSCRIBER, 0, c_watch, "add|remove|list PAIR"},
    {"strategies", NX_ROLE_SUBSCRIBER, 0, c_strategies, "strategies and their signals"},
    {"regime", NX_ROLE_SUBSCRIBER, 0, c_regime, "PAIR market regime"},
    {"config", NX_ROLE_SUBSCRIBER, 0, c_config, "show | set KEY VALUE"},
    {"keys", NX_ROLE_SUBSCRIBER, 1, c_keys, "VENUE KEY SECRET (private chat)"},
    {"health", NX_ROLE_SUBSCRIBER, 0, c_health, "feeds and engine"},
    {"version", NX_ROLE_SUBSCRIBER, 0, c_version, "version"},
    {"users", NX_ROLE_ADMIN, 0, c_users, "every user (admin)"},
    {"approve", NX_ROLE_ADMIN, 0, c_approve, "USER let a user in (admin)"},
    {"ban", NX_ROLE_ADMIN, 0, c_ban, "USER (admin)"},
    {"plugins", NX_ROLE_ADMIN, 0, c_plugins, "list|reload [NAME] (admin)"},
    {"logs", NX_ROLE_OWNER, 0, c_logs, "[n] latest log lines (owner)"},
    {"killswitch", NX_ROLE_OWNER, 0, c_killswitch, "on|off for everyone (owner)"},
    {NULL, 0, 0, NULL, NULL},
};

static void c_help(nx_bot_t *b, caller_t *who, char *args)
{
    (void)args;
    text_t t = {0};
    char esc[128];
    put(&t, "<b>Commands</b>\n");
    for (const cmd_t *c = cmds; c->name; c++) {
        if (c->role > who->u.role)
            continue;
        nx_tg_escape(c->help, esc, sizeof esc);
        put(&t, "/%s %s\n", c->name, esc);
    }
    say(b, who->chat, t.s, NULL, 0);
}

const char *nx_bot_commands_json(void)
{
    static char json[8192];
    if (json[0])
        return json;
    size_t o = (size_t)snprintf(json, sizeof json, "[");
    for (const cmd_t *c = cmds; c->name; c++)
        o += (size_t)snprintf(json + o, sizeof json - o, "%s{\"command\":\"%s\",\"description\":\"%s\"}",
                              c == cmds ? "" : ",", c->name, c->help);
    snprintf(json + o, sizeof json - o, "]");
    return json;
}

/* ---- dispatch ---------------------------------------------------------------- */

static void identify(nx_bot_t *b, caller_t *who, int64_t user, const char *uname, const char *first)
{
    who->user_chat = user;
    who->known = nx_store_user_get(b->e->store, user, 0, &who->u) == 0;
    if (!who->known) {
        memset(&who->u, 0, sizeof who->u);
        who->u.role = NX_ROLE_PENDING;
        snprintf(who->u.name, sizeof who->u.name, "%s",
                 uname && *uname ? uname : first && *first ? first : "user");
    }
    who->session = who->known && who->u.role != NX_ROLE_PENDING && who->u.role != NX_ROLE_BANNED
                       ? session_of_name(b, who->u.name)
                       : 0;
}

static void on_text(nx_bot_t *b, caller_t *who, char *text)
{
    if (text[0] != '/') {
        if (who->is_private && who->known)
            reply(b, who, "I understand commands only: /help lists them.");
        else if (who->is_private)
            reply(b, who, "Hello! Send /start to register.");
        return;
    }
    char *args = strchr(text, ' ');
    if (args) {
        *args++ = 0;
        while (*args == ' ')
            args++;
    }
    char *at = strchr(text, '@'); /* /cmd@botname in groups */
    if (at)
        *at = 0;
    const cmd_t *c = cmds;
    while (c->name && strcmp(c->name, text + 1))
        c++;
    if (!who->is_private && !who->known)
        return; /* in a group only registered users are answered */
    if (who->known && who->u.role == NX_ROLE_BANNED)
        return;
    if (!c->name) {
        reply(b, who, "Sorry, I do not know that command. /help lists what you can do.");
        return;
    }
    if (c->role > NX_ROLE_PENDING && !who->known) {
        reply(b, who, "Sorry, I do not know you yet. Send /start to register.");
        return;
    }
    if (c->role > who->u.role) {
        reply(b, who, "%s", who->u.role == NX_ROLE_PENDING
                                ? "Your request is still waiting for an admin's approval."
                                : "Sorry, that command is not available to you.");
        audit(b, who, "refused", c->name);
        return;
    }
    if (c->private_only && !who->is_private) {
        if (b->tg && who->message_id)
            nx_tg_delete(b->tg, who->chat, who->message_id);
        reply(b, who, "For your safety /%s works in a private chat only; the message was deleted.",
              c->name);
        return;
    }
    c->fn(b, who, args ? args : (char *)"");
}

static req_msg_t *req_find(nx_bot_t *b, uint32_t request)
{
    for (int i = 0; i < REQS; i++)
        if (b->req[i].state && b->req[i].request == request)
            return &b->req[i];
    return NULL;
}

/* A button: approve / reject a request, or confirm /closeall. */
static void on_button(nx_bot_t *b, caller_t *who, const char *cb_id, const char *data)
{
    char ans[200] = "";
    if (!who->known || who->u.role == NX_ROLE_PENDING || who->u.role == NX_ROLE_BANNED) {
        snprintf(ans, sizeof ans, "Sorry, I do not know you.");
    } else if (!strncmp(data, "ap:", 3) || !strncmp(data, "rj:", 3)) {
        uint32_t id = (uint32_t)strtoul(data + 3, NULL, 10);
        int approve = data[0] == 'a';
        int why = 0;
        int rc = who->session ? command(b, who->session, approve ? NX_CTL_APPROVE : NX_CTL_REJECT, id,
                                        NULL, &why)
                              : NX_ENOENT;
        req_msg_t *r = req_find(b, id);
        if (rc == 0)
            snprintf(ans, sizeof ans, "%s.", approve ? "Approved: the order is on its way" : "Rejected");
        else if (rc == NX_ESTATE && why == NX_REJ_EXPIRED)
            snprintf(ans, sizeof ans, "This request expired; nothing was done.");
        else if (rc == NX_ESTATE && why)
            snprintf(ans, sizeof ans, "Refused: %s.", nx_reject_name((nx_reject_t)why));
        else
            snprintf(ans, sizeof ans, "This request is no longer open (expired or decided).");
        if (r && r->session == who->session && r->state == 1) {
            char html[800];
            snprintf(html, sizeof html, "%s\n\n<b>%s</b>", r->text, ans);
            edit(b, r->chat, r->message_id, html);
            r->state = 2;
        }
        audit(b, who, approve ? "approve_request" : "reject_request", ans);
    } else if (!strcmp(data, "ca:yes")) {
        int why = 0;
        int rc = who->session ? command(b, who->session, NX_CTL_PANIC, 0, NULL, &why) : NX_ENOENT;
        snprintf(ans, sizeof ans, "%s", rc ? "Nothing to close." : "Closing everything at market.");
        audit(b, who, "closeall", ans);
    } else if (!strcmp(data, "ca:no")) {
        snprintf(ans, sizeof ans, "Nothing was closed.");
    } else {
        snprintf(ans, sizeof ans, "This button is no longer valid.");
    }
    if (cb_id && b->tg)
        nx_tg_answer(b->tg, cb_id, ans);
    say(b, who->chat, ans, NULL, 0);
}

/* The console's reader: lines from standard input into the bot's queue.
 * It polls so that it can be told to stop (a thread blocked in fgets
 * could not be joined). */
static void *console_main(void *arg)
{
    nx_bot_t *b = arg;
    char buf[1024];
    size_t n = 0;
    while (!atomic_load(&b->console_stop)) {
        struct pollfd pfd = {0, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t k = read(0, buf + n, sizeof buf - 1 - n);
        if (k <= 0)
            break; /* end of input */
        n += (size_t)k;
        char *nl;
        while ((nl = memchr(buf, '\n', n)) || n == sizeof buf - 1) {
            size_t len = nl ? (size_t)(nl - buf) : n; /* an over-long line is cut */
            buf[len] = 0;
            if (len && buf[len - 1] == '\r')
                buf[len - 1] = 0;
            pthread_mutex_lock(&b->mu);
            if (buf[0] && b->l_head - b->l_tail < LINES)
                b->lines[b->l_head++ % LINES] = strdup(buf);
            pthread_mutex_unlock(&b->mu);
            size_t used = nl ? len + 1 : n;
            memmove(buf, buf + used, n - used);
            n -= used;
        }
    }
    return NULL;
}

/* A plugin the watcher could not reload (a bad build, a bad signature):
 * the old version keeps running; the owner is told once per failure. */
static void check_plugins(nx_bot_t *b)
{
    nx_cortex_t *cx = b->e->cortex;
    int64_t now = nx_mono_ns();
    if (!cx || now < b->next_plugin_check_ns)
        return;
    b->next_plugin_check_ns = now + NX_NS_PER_SEC;
    nx_strategy_info_t si; /* the one cortex call any thread may make */
    for (int i = 0; i < NX_CORTEX_MAX_STRATEGIES && nx_cortex_strategy_info(cx, i, &si) == 0; i++) {
        if (si.reload_failures == b->plugin_failures[i])
            continue;
        b->plugin_failures[i] = si.reload_failures;
        char html[900], name[80], why[700];
        nx_tg_escape(si.name, name, sizeof name);
        nx_tg_escape(si.last_error, why, sizeof why);
        snprintf(html, sizeof html,
                 "Strategy plugin <b>%s</b> failed to reload; the running version stays: %s", name,
                 why);
        nx_bot_tell_owner(b, html);
    }
}

void nx_bot_poll(nx_bot_t *b)
{
    check_plugins(b);
    if (b->tg) {
        nx_tg_sent_t s;
        while (nx_tg_next_sent(b->tg, &s)) {
            req_msg_t *r = req_find(b, (uint32_t)s.tag);
            if (r && r->chat == s.chat_id)
                r->message_id = s.message_id;
        }
        nx_tg_update_t *u = malloc(sizeof *u);
        while (u && nx_tg_next(b->tg, u)) {
            caller_t who = {0};
            who.chat = u->chat_id;
            who.is_private = u->is_private;
            who.message_id = u->kind == NX_TG_MESSAGE ? u->message_id : 0;
            identify(b, &who, u->user_id, u->username, u->first_name);
            if (u->kind == NX_TG_MESSAGE)
                on_text(b, &who, u->text);
            else
                on_button(b, &who, u->callback_id, u->text);
        }
        free(u);
    }
    for (;;) {
        char *line = NULL;
        pthread_mutex_lock(&b->mu);
        if (b->l_tail != b->l_head)
            line = b->lines[b->l_tail++ % LINES];
        pthread_mutex_unlock(&b->mu);
        if (!line)
            break;
        caller_t who = {0};
        who.chat = 0;
        who.console = who.is_private = who.known = 1;
        who.u.role = NX_ROLE_OWNER;
        who.u.id = 0;
        snprintf(who.u.name, sizeof who.u.name, "%s", b->e->cfg->storage.owner_name);
        who.session = session_of_name(b, who.u.name);
        if (line[0] == '!')
            on_button(b, &who, NULL, line + 1);
        else
            on_text(b, &who, line);
        free(line);
    }
}

/* ---- notifications ------------------------------------------------------------ */

/* Whether the user of this chat watches the pair (/watch). The console
 * is the owner, whose user id is 0 there. */
static int watching(nx_bot_t *b, int64_t chat, uint32_t sym)
{
    int64_t id = chat == 0 ? 0 : -1;
    users_refresh(b);
    for (int i = 0; i < b->n_users && id < 0; i++)
        if (b->users[i].chat_id == chat)
            id = b->users[i].id;
    if (id < 0)
        return 0;
    char key[64], list[512];
    watch_list(b, id, key, sizeof key, list, sizeof list);
    const char *name = sym_name(b, sym);
    for (char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ',') && (p[strlen(name)] == 0 || p[strlen(name)] == ','))
            return 1;
    return 0;
}

void nx_bot_on_event(nx_bot_t *b, const nx_event_t *ev)
{
    char html[700], m1[NX_FIXED_FMT_MAX], m2[NX_FIXED_FMT_MAX], m3[NX_FIXED_FMT_MAX],
        m4[NX_FIXED_FMT_MAX];
    uint32_t sym = ev->hdr.symbol;
    switch (ev->hdr.type) {
    case NX_EV_DECISION: {
        const nx_ev_decision_t *d = &ev->u.decision;
        int64_t chat = chat_of_session(b, d->session);
        if (chat < 0)
            return;
        const char *side = d->side == NX_SIDE_BUY ? "BUY" : "SELL";
        px(b, sym, d->price, m1);
        qty(b, sym, d->qty, m2);
        px(b, sym, d->stop_loss, m3);
        if (d->verdict == NX_V_NOTIFY ||
            (d->verdict != NX_V_ASK && !d->request && watching(b, chat, sym))) {
            /* WATCHER: every signal; anyone: every signal on a watched pair,
             * with what the session made of it */
            static const char *const sides[] = {"?", "BUY", "SELL", "EXIT LONG", "EXIT SHORT"};
            char what[96] = "";
            if (d->verdict == NX_V_REJECT)
                snprintf(what, sizeof what, " (not taken: %s)",
                         nx_reject_name((nx_reject_t)d->reason));
            else if (d->verdict != NX_V_NOTIFY)
                snprintf(what, sizeof what, " (taken: %s %s)", side, m2);
            snprintf(html, sizeof html, "Signal: <b>%s %s</b> at %s, stop %s%s",
                     d->signal_side < 5 ? sides[d->signal_side] : "?", sym_name(b, sym), m1,
                     d->stop_loss ? m3 : "none", what);
            say(b, chat, html, NULL, 0);
        } else if (d->verdict == NX_V_ASK && d->request) { /* ask: COPILOT */
            req_msg_t *r = NULL; /* a free or closed slot; else the one this id maps to */
            for (int i = 0; i < REQS && !r; i++)
                if (b->req[i].state != 1)
                    r = &b->req[i];
            if (!r)
                r = &b->req[d->request % REQS];
            memset(r, 0, sizeof *r);
            r->request = d->request;
            r->session = d->session;
            r->chat = chat;
            r->state = 1;
            px(b, sym, d->take_profit, m4);
            snprintf(r->text, sizeof r->text,
                     "Approve <b>%s %s %s</b> at %s?\nStop %s, target %s\nRequest %u expires in %llds",
                     side, m2, sym_name(b, sym), m1, d->stop_loss ? m3 : "none",
                     d->take_profit ? m4 : "none", d->request,
                     (long long)((d->expires_ns - ev->hdr.exch_ns) / NX_NS_PER_SEC));
            char kb[256];
            snprintf(kb, sizeof kb,
                     "{\"inline_keyboard\":[[{\"text\":\"Approve\",\"callback_data\":\"ap:%u\"},"
                     "{\"text\":\"Reject\",\"callback_data\":\"rj:%u\"}]]}",
                     d->request, d->request);
            say(b, chat, r->text, kb, d->request);
        } else if (d->request) { /* the request's outcome */
            req_msg_t *r = req_find(b, d->request);
            if (r && r->state == 1 && d->reason == NX_REJ_EXPIRED) {
                snprintf(html, sizeof html, "%s\n\n<b>Expired</b>: nothing was done.", r->text);
                edit(b, r->chat, r->message_id, html);
                r->state = 2;
            }
        }
        break;
    }
    case NX_EV_ORDER_UPDATE: {
        const nx_ev_order_update_t *o = &ev->u.order;
        int64_t chat = chat_of_session(b, o->session);
        if (chat < 0)
            return;
        if (o->last_qty > 0) {
            px(b, sym, o->last_px, m1);
            qty(b, sym, o->last_qty, m2);
            snprintf(html, sizeof html, "Filled: %s %s %s at %s", o->side == NX_SIDE_BUY ? "BUY" : "SELL",
                     m2, sym_name(b, sym), m1);
            say(b, chat, html, NULL, 0);
        } else if (o->status == NX_OS_REJECTED) {
            snprintf(html, sizeof html,
                     "⚠️ An order on %s was rejected by the venue: %s (order %llu).",
                     sym_name(b, sym), nx_order_reject_name((nx_order_reject_t)o->reason),
                     (unsigned long long)o->client_id);
            say(b, chat, html, NULL, 0);
        }
        break;
    }
    case NX_EV_NOTICE: {
        const nx_ev_notice_t *n = &ev->u.notice;
        int64_t chat = chat_of_session(b, n->session);
        if (chat < 0)
            return;
        if (n->kind == NX_NOTE_CLOSED) {
            px(b, sym, n->entry_px, m1);
            px(b, sym, n->exit_px, m2);
            snprintf(html, sizeof html, "Closed %s %s (%s): %s → %s, P&amp;L <b>%s</b>",
                     n->dir > 0 ? "long" : "short", sym_name(b, sym),
                     n->reason == NX_EXIT_EMERGENCY ? "emergency: the stop could not be placed"
                                                    : nx_exit_reason_name((nx_exit_reason_t)n->reason),
                     m1, m2, money(b, n->pnl, m3));
        } else if (n->kind == NX_NOTE_BREAKER) {
            snprintf(html, sizeof html, "Circuit breaker tripped after losing trades: no new "
                                        "entries %s.",
                     n->until_ns == INT64_MAX ? "until /reset" : "for a while");
        } else if (n->kind == NX_NOTE_LOCK) {
            snprintf(html, sizeof html, "Protection lock on %s (%s)%s.",
                     sym == NX_SYMBOL_NONE ? "every pair" : sym_name(b, sym),
                     nx_reject_name((nx_reject_t)n->reason), n->until_ns == INT64_MAX ? " until /unlock" : "");
        } else {
            return;
        }
        say(b, chat, html, NULL, 0);
        break;
    }
    case NX_EV_STATUS: {
        const nx_ev_status_t *s = &ev->u.status;
        if (s->code == NX_ST_CONNECTED || s->code == NX_ST_BOOK_RESYNCED || s->code >= 8 ||
            ev->hdr.venue >= NX_VENUE_COUNT)
            return;
        /* the feeds closing because the engine stops are not a problem */
        if (atomic_load_explicit(&b->e->stop, memory_order_acquire))
            return;
        /* a flapping feed: the owner hears of each kind of problem once a minute */
        int64_t *told = &b->feed_told_ns[ev->hdr.venue][s->code], now = nx_mono_ns();
        if (*told && now - *told < 60 * NX_NS_PER_SEC)
            return;
        *told = now;
        static const char *const what[] = {"?", "connected", "disconnected", "stale", "book gap",
                                           "book resynced", "ring overrun"};
        char esc[128];
        nx_tg_escape(s->detail, esc, sizeof esc);
        snprintf(html, sizeof html, "Feed %s %s: %s", nx_venue_name((nx_venue_t)ev->hdr.venue),
                 s->code < 7 ? what[s->code] : "?", esc);
        nx_bot_tell_owner(b, html);
        break;
    }
    default:
        break;
    }
}

nx_bot_t *nx_bot_create(nx_engine_t *e, struct nx_tg *tg, int console)
{
    nx_bot_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->e = e;
    b->tg = tg;
    b->console = console;
    b->owner_chat = e->cfg->storage.owner_chat_id;
    b->users = calloc(USERS_MAX, sizeof *b->users);
    if (!b->users) {
        free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    if (console) {
        b->console_started = pthread_create(&b->th_console, NULL, console_main, b) == 0;
        printf("console: type /help (you are the owner, session \"%s\")\n", e->cfg->storage.owner_name);
        fflush(stdout);
    }
    return b;
}

void nx_bot_destroy(nx_bot_t *b)
{
    if (!b)
        return;
    if (b->console_started) {
        atomic_store(&b->console_stop, 1);
        pthread_join(b->th_console, NULL);
    }
    pthread_mutex_lock(&b->mu);
    while (b->l_tail != b->l_head)
        free(b->lines[b->l_tail++ % LINES]);
    pthread_mutex_unlock(&b->mu);
    free(b->users);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
