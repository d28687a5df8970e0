/*
 * engine_dash.c — what the dashboard shows and does (see engine.h).
 *
 *  - The engine thread copies each session's state (the desk's info, open
 *    positions, pending COPILOT requests) into a snapshot with its
 *    publish_totals, every 200 ms at most; it only tries the lock, so a
 *    page being written never holds it up. The web thread reads the
 *    snapshot, keeps the rows the caller may see (their own sessions;
 *    owner and admins everyone's) and writes them as JSON (the overview
 *    with jansson; the chart and the journal, the big ones, by hand).
 *  - An action (approve, reject, pause, resume, reset, mode, close,
 *    closeall, killswitch) goes to the service thread, which runs it as
 *    the person's own chat command or button (nx_chat_web_act: the same
 *    checks, and the approval's chat message edited to the outcome), and
 *    the web thread waits for the answer (at most 5 s). Actions are a
 *    person's clicks: a few a minute.
 */
#include "engine.h"

#include "nx/clock.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/indicators.h"
#include "nx/log.h"
#include "nx/web.h"
#include "nx/web_auth.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DASH_POS     16   /* positions shown per session */
#define DASH_APPR    16   /* pending requests shown per session */
#define DASH_TRADES  1024 /* closed trades kept per session (the journal page) */
#define DASH_CANDLES 500  /* closed candles kept per symbol (the chart) */
#define DASH_JOBS    4

typedef struct dash_session {
    uint32_t id;
    nx_desk_info_t in;
    int npos, nappr;
    nx_desk_position_t pos[DASH_POS];
    nx_desk_approval_t appr[DASH_APPR];
    int nlocks;
    nx_lock_t locks[8];
    nx_trade_closed_t *tr;           /* [DASH_TRADES], a ring: the newest tr_n */
    uint32_t tr_n, tr_head, tr_seen; /* tr_seen: the desk's trade count taken */
} dash_session_t;

typedef struct dash_candle {
    int64_t t_ms, o, h, l, c;
} dash_candle_t;

typedef struct dash_series { /* a symbol's candles of its shortest timeframe */
    uint32_t interval_s, n, head;
    dash_candle_t c[DASH_CANDLES];
} dash_series_t;

typedef struct dash_job {
    int state; /* 0 free, 1 queued, 2 done */
    int64_t user;
    uint32_t session;
    char act[16], arg[24];
    int rc;
    char said[16384];
} dash_job_t;

struct engine_dash {
    pthread_mutex_t mu; /* the snapshot */
    uint64_t version;
    uint32_t n;
    int64_t at_ns;          /* the desk's clock when taken */
    dash_session_t *s;      /* [NX_CONFIG_MAX_SESSIONS] */
    nx_trade_closed_t *tmp; /* [DASH_TRADES]: the engine thread's */
    pthread_mutex_t cmu;    /* the candles */
    dash_series_t *series;  /* [nseries]: one per symbol */
    uint32_t nseries;
    pthread_mutex_t jmu; /* the actions */
    pthread_cond_t jcv;
    dash_job_t jobs[DASH_JOBS];
};

engine_dash_t *engine_dash_create(uint32_t nsym)
{
    engine_dash_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->s = calloc(NX_CONFIG_MAX_SESSIONS, sizeof *d->s);
    d->tmp = calloc(DASH_TRADES, sizeof *d->tmp);
    d->nseries = nsym;
    d->series = calloc(nsym ? nsym : 1, sizeof *d->series);
    for (int i = 0; d->s && i < NX_CONFIG_MAX_SESSIONS; i++)
        if (!(d->s[i].tr = calloc(DASH_TRADES, sizeof *d->s[i].tr))) {
            d->tmp = (free(d->tmp), NULL);
            break;
        }
    if (!d->s || !d->tmp || !d->series) {
        for (int i = 0; d->s && i < NX_CONFIG_MAX_SESSIONS; i++)
            free(d->s[i].tr);
        free(d->s);
        free(d->tmp);
        free(d->series);
        free(d);
        return NULL;
    }
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->cmu, NULL);
    pthread_mutex_init(&d->jmu, NULL);
    pthread_cond_init(&d->jcv, NULL);
    return d;
}

void engine_dash_destroy(engine_dash_t *d)
{
    if (!d)
        return;
    pthread_mutex_destroy(&d->mu);
    pthread_mutex_destroy(&d->cmu);
    pthread_mutex_destroy(&d->jmu);
    pthread_cond_destroy(&d->jcv);
    for (int i = 0; i < NX_CONFIG_MAX_SESSIONS; i++)
        free(d->s[i].tr);
    free(d->s);
    free(d->tmp);
    free(d->series);
    free(d);
}

/* root as JSON text into buf (cap bytes, NUL-terminated), root released:
 * its length, or -1 when it does not fit. */
int engine_json_text(json_t *root, size_t flags, char *buf, size_t cap)
{
    size_t n = root && cap ? json_dumpb(root, buf, cap - 1, flags) : 0;
    json_decref(root);
    if (!n || n >= cap)
        return -1;
    buf[n] = 0;
    return (int)n;
}

/* Engine thread (publish_totals). */
void engine_dash_publish(nx_engine_t *e)
{
    engine_dash_t *d = e->dash;
    if (!d || !e->desk || pthread_mutex_trylock(&d->mu))
        return;
    uint32_t n = nx_desk_sessions(e->desk), k = 0;
    for (uint32_t i = 0; i < n && k < NX_CONFIG_MAX_SESSIONS; i++) {
        dash_session_t *s = &d->s[k];
        uint32_t id = nx_desk_session_at(e->desk, i);
        if (s->id != id) /* a slot now another session's starts over */
            s->tr_seen = s->tr_n = s->tr_head = 0;
        s->id = id;
        if (nx_desk_info(e->desk, id, &s->in))
            continue;
        s->npos = nx_desk_positions(e->desk, id, s->pos, DASH_POS);
        s->nappr = nx_desk_approvals(e->desk, id, s->appr, DASH_APPR);
        s->nlocks = nx_desk_locks(e->desk, id, s->locks, 8);
        if (s->in.trades > s->tr_seen) { /* the trades closed since the last copy */
            uint32_t want = s->in.trades - s->tr_seen;
            int got =
                nx_desk_trades(e->desk, id, d->tmp, (int)(want < DASH_TRADES ? want : DASH_TRADES));
            for (int t = 0; t < got; t++) {
                s->tr[(s->tr_head + s->tr_n) % DASH_TRADES] = d->tmp[t];
                if (s->tr_n < DASH_TRADES)
                    s->tr_n++;
                else
                    s->tr_head = (s->tr_head + 1) % DASH_TRADES;
            }
        }
        s->tr_seen = s->in.trades;
        k++;
    }
    d->n = k;
    d->at_ns = nx_desk_now(e->desk);
    d->version++;
    pthread_mutex_unlock(&d->mu);
}

uint64_t engine_dash_version(nx_engine_t *e)
{
    engine_dash_t *d = e->dash;
    if (!d)
        return 0;
    pthread_mutex_lock(&d->mu);
    uint64_t v = d->version;
    pthread_mutex_unlock(&d->mu);
    return v;
}

static int may_see(const nx_web_identity_t *who, const dash_session_t *s)
{
    return who->role >= NX_ROLE_ADMIN || s->in.user == who->user;
}

static json_t *money(const nx_engine_t *e, int64_t v)
{
    const nx_symbol_t *y = nx_symtab_get(e->symtab, 0);
    char b[NX_FIXED_FMT_MAX];
    nx_fixed_format(v, y ? y->price_scale : 8, b, sizeof b);
    return json_string(b);
}

static json_t *price(const nx_engine_t *e, uint32_t sym, int64_t v)
{
    if (!v)
        return json_null();
    const nx_symbol_t *y = nx_symtab_get(e->symtab, sym);
    char b[NX_FIXED_FMT_MAX];
    nx_fixed_format(v, y ? y->price_scale : 8, b, sizeof b);
    return json_string(b);
}

static json_t *qty(const nx_engine_t *e, uint32_t sym, int64_t v)
{
    const nx_symbol_t *y = nx_symtab_get(e->symtab, sym);
    char b[NX_FIXED_FMT_MAX];
    nx_fixed_format(v, y ? y->qty_scale : 8, b, sizeof b);
    return json_string(b);
}

static const char *sym_name(const nx_engine_t *e, uint32_t sym)
{
    const nx_symbol_t *y = nx_symtab_get(e->symtab, sym);
    return y ? y->name : "?";
}

/* The sessions who may see, as JSON text into buf: its length, or -1. */
int engine_dash_overview(nx_engine_t *e, const nx_web_identity_t *who, char *buf, size_t cap)
{
    static const char *const MODES[3] = {"watcher", "copilot", "pilot"};
    engine_dash_t *d = e->dash;
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "user", json_integer(who->user));
    json_object_set_new(root, "role", json_string(nx_role_name((nx_role_t)who->role)));
    json_t *syms = json_array();
    for (uint32_t i = 0; i < nx_symtab_count(e->symtab); i++)
        json_array_append_new(syms, json_string(nx_symtab_get(e->symtab, i)->name));
    json_object_set_new(root, "symbols", syms);
    pthread_mutex_lock(&d->mu);
    json_object_set_new(root, "at_ms", json_integer(d->at_ns / NX_NS_PER_MS));
    for (uint32_t i = 0; i < d->n; i++) {
        const dash_session_t *s = &d->s[i];
        if (!may_see(who, s))
            continue;
        json_t *o = json_object(), *pos = json_array(), *ap = json_array();
        json_object_set_new(o, "id", json_integer(s->id));
        json_object_set_new(o, "name", json_string(s->in.name));
        json_object_set_new(o, "user", json_integer(s->in.user));
        json_object_set_new(o, "mine", json_boolean(s->in.user == who->user));
        json_object_set_new(o, "mode",
                            json_string((unsigned)s->in.mode < 3 ? MODES[s->in.mode] : "?"));
        json_object_set_new(o, "paused", json_boolean(s->in.paused || s->in.held));
        json_object_set_new(o, "kill", json_boolean(s->in.kill || s->in.global_kill));
        json_object_set_new(o, "breaker", json_boolean(s->in.breaker_tripped));
        json_object_set_new(o, "equity", money(e, s->in.balance));
        json_object_set_new(o, "start_equity", money(e, s->in.start_equity));
        json_object_set_new(o, "pnl", money(e, s->in.balance - s->in.start_equity));
        json_object_set_new(o, "trades", json_integer(s->in.trades));
        json_object_set_new(o, "wins", json_integer(s->in.wins));
        for (int k = 0; k < s->npos; k++) {
            const nx_desk_position_t *p = &s->pos[k];
            json_t *x = json_object();
            json_object_set_new(x, "symbol", json_string(sym_name(e, p->symbol)));
            json_object_set_new(x, "side", json_string(p->pos.qty > 0 ? "long" : "short"));
            json_object_set_new(x, "qty",
                                qty(e, p->symbol, p->pos.qty < 0 ? -p->pos.qty : p->pos.qty));
            json_object_set_new(x, "entry", price(e, p->symbol, p->pos.avg_px));
            json_object_set_new(
                x, "stop", price(e, p->symbol, p->pos.trail_stop ? p->pos.trail_stop : p->pos.sl));
            json_object_set_new(x, "target", price(e, p->symbol, p->pos.tp));
            json_object_set_new(x, "last", price(e, p->symbol, p->last_px));
            json_object_set_new(x, "unrealized", money(e, p->pos.unrealized));
            json_array_append_new(pos, x);
        }
        for (int k = 0; k < s->nappr; k++) {
            const nx_desk_approval_t *a = &s->appr[k];
            json_t *x = json_object();
            json_object_set_new(x, "id", json_integer(a->id));
            json_object_set_new(x, "symbol", json_string(sym_name(e, a->symbol)));
            json_object_set_new(x, "side",
                                json_string(a->asked.side == NX_SIDE_BUY ? "buy" : "sell"));
            json_object_set_new(x, "qty", qty(e, a->symbol, a->asked.qty));
            json_object_set_new(x, "price", price(e, a->symbol, a->asked.price));
            json_object_set_new(x, "stop", price(e, a->symbol, a->asked.stop_loss));
            json_object_set_new(x, "target", price(e, a->symbol, a->asked.take_profit));
            json_object_set_new(x, "expires_ms", json_integer(a->expires_ns / NX_NS_PER_MS));
            json_array_append_new(ap, x);
        }
        json_t *lk = json_array();
        for (int k = 0; k < s->nlocks; k++) {
            const nx_lock_t *l = &s->locks[k];
            json_t *x = json_object();
            json_object_set_new(
                x, "symbol",
                json_string(l->symbol == NX_SYMBOL_NONE ? "every pair" : sym_name(e, l->symbol)));
            char why[48]; /* words, not the code: max_positions -> max positions */
            snprintf(why, sizeof why, "%s", nx_reject_name((nx_reject_t)l->reason));
            for (char *c = why; *c; c++)
                *c = *c == '_' ? ' ' : *c;
            json_object_set_new(x, "why", json_string(why));
            json_object_set_new(
                x, "until_ms",
                l->until_ns == INT64_MAX ? json_null() : json_integer(l->until_ns / NX_NS_PER_MS));
            json_array_append_new(lk, x);
        }
        json_object_set_new(o, "locks", lk);
        json_object_set_new(o, "positions", pos);
        json_object_set_new(o, "approvals", ap);
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&d->mu);
    json_object_set_new(root, "sessions", arr);
    /* names are text: the page puts them in with textContent, and JSON
     * escapes what would end a script */
    return engine_json_text(root, JSON_COMPACT | JSON_ESCAPE_SLASH, buf, cap);
}

/* The owner of session id in the snapshot (0: none). */
static int64_t owner_of(engine_dash_t *d, uint32_t id)
{
    int64_t u = 0;
    pthread_mutex_lock(&d->mu);
    for (uint32_t i = 0; i < d->n; i++)
        if (d->s[i].id == id)
            u = d->s[i].in.user;
    pthread_mutex_unlock(&d->mu);
    return u;
}

/* Web thread: queue the action, wait for the service thread's answer. */
int engine_dash_act(nx_engine_t *e, const nx_web_identity_t *who, uint32_t session, const char *act,
                    const char *arg, char *said, size_t cap)
{
    engine_dash_t *d = e->dash;
    /* only one's own sessions; what is not a session's (the kill switch
     * for everyone, the feeds, the users, the log) is for the roles chat
     * gives it to, and chat checks them */
    static const char *const whole[] = {"killswitch", "health", "users", "logs", NULL};
    int of_session = 1;
    for (int i = 0; whole[i]; i++)
        of_session &= strcmp(act, whole[i]) != 0;
    if (of_session && owner_of(d, session) != who->user)
        return NX_EPERM;
    pthread_mutex_lock(&d->jmu);
    int k = -1;
    for (int i = 0; i < DASH_JOBS && k < 0; i++)
        if (!d->jobs[i].state)
            k = i;
    if (k < 0) {
        pthread_mutex_unlock(&d->jmu);
        return NX_EAGAIN;
    }
    dash_job_t *j = &d->jobs[k];
    memset(j, 0, sizeof *j);
    j->user = who->user;
    j->session = session;
    snprintf(j->act, sizeof j->act, "%s", act);
    snprintf(j->arg, sizeof j->arg, "%s", arg ? arg : "");
    j->state = 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (j->state == 1)
        if (pthread_cond_timedwait(&d->jcv, &d->jmu, &until))
            break;
    int rc = j->state == 2 ? j->rc : NX_ETIMEDOUT;
    if (j->state == 2)
        snprintf(said, cap, "%s", j->said);
    j->state = j->state == 2 ? 0 : 3; /* 3: the service thread frees it */
    pthread_mutex_unlock(&d->jmu);
    return rc;
}

/* Service thread, each pass: the queued actions. */
void engine_dash_jobs(nx_engine_t *e)
{
    engine_dash_t *d = e->dash;
    if (!d)
        return;
    pthread_mutex_lock(&d->jmu);
    for (int i = 0; i < DASH_JOBS; i++) {
        dash_job_t *j = &d->jobs[i];
        if (j->state == 3) { /* its page gave up waiting */
            j->state = 0;
            continue;
        }
        if (j->state != 1)
            continue;
        static dash_job_t run; /* (16 KiB: the service thread's, one at a time) */
        run = *j;
        pthread_mutex_unlock(&d->jmu);
        run.rc = e->chat ? nx_chat_web_act(e->chat, run.user, run.session, run.act, run.arg,
                                           run.said, sizeof run.said)
                         : NX_ENOENT;
        pthread_mutex_lock(&d->jmu);
        if (j->state == 1) {
            j->rc = run.rc;
            memcpy(j->said, run.said, sizeof j->said);
            j->state = 2;
        } else {
            j->state = 0;
        }
        pthread_cond_broadcast(&d->jcv);
    }
    pthread_mutex_unlock(&d->jmu);
}

/* Engine thread (engine_on_candle): a closed candle. A symbol keeps its
 * shortest timeframe's: a shorter one coming starts the series over. */
void engine_dash_candle(nx_engine_t *e, const nx_event_t *kline)
{
    engine_dash_t *d = e->dash;
    const nx_ev_kline_t *k = &kline->u.kline;
    if (!d || !k->closed || kline->hdr.symbol >= d->nseries || !k->interval_s)
        return;
    pthread_mutex_lock(&d->cmu);
    dash_series_t *s = &d->series[kline->hdr.symbol];
    if (!s->interval_s || k->interval_s < s->interval_s) {
        s->interval_s = k->interval_s;
        s->n = s->head = 0;
    }
    if (k->interval_s == s->interval_s) {
        dash_candle_t c = {k->open_ms, k->open, k->high, k->low, k->close};
        uint32_t last = (s->head + s->n + DASH_CANDLES - 1) % DASH_CANDLES;
        if (s->n && s->c[last].t_ms == c.t_ms) { /* the same candle again (a backfill) */
            s->c[last] = c;
        } else {
            s->c[(s->head + s->n) % DASH_CANDLES] = c;
            if (s->n < DASH_CANDLES)
                s->n++;
            else
                s->head = (s->head + 1) % DASH_CANDLES;
        }
    }
    pthread_mutex_unlock(&d->cmu);
}

/* The chart and the journal are the dashboard's big answers (500 candles
 * with two EMAs: ~50 KB; a journal of 1024 trades: ~200 KB), asked by
 * every open page. Written with snprintf, not jansson: built as jansson
 * values and dumped they cost 2.5 ms (chart) and 1 ms (journal) each,
 * capping a dashboard at ~400 charts a second (bench_web); written here,
 * see PERFORMANCE.md. Every string in them is a symbol name (letters,
 * digits and - _ / . only: nx_symtab_add refuses anything else), an exit
 * reason's name or a number: nothing that needs escaping. */
typedef struct text {
    char *b;
    size_t cap, n;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_t *t, const char *fmt, ...)
{
    if (t->n >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->b + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n = k < 0 ? t->cap : t->n + (size_t)k;
}

/* The length written, or -1 if it did not fit. */
static int text_len(const text_t *t)
{
    return t->n < t->cap ? (int)t->n : -1;
}

/* A price (at the symbol's scale) as an exact decimal. */
static const char *px_text(const nx_engine_t *e, uint32_t sym, int64_t v, char *buf)
{
    const nx_symbol_t *y = nx_symtab_get(e->symtab, sym);
    nx_fixed_format(v, y ? y->price_scale : 8, buf, NX_FIXED_FMT_MAX);
    return buf;
}

/* GET /api/chart?symbol=S: the symbol's latest closed candles, the EMAs
 * the trend strategies read (20 and 50, the engine's own TA-Lib-exact
 * ones) and the entries and exits of the trades who may see. The length
 * in buf, -1 (too large) or -2 (no such symbol). The candles are copied
 * under the lock the engine thread takes to add one, and written after:
 * the engine thread waits at most for that copy (~20 KB). */
int engine_dash_chart(nx_engine_t *e, const nx_web_identity_t *who, const char *symbol, char *buf,
                      size_t cap)
{
    engine_dash_t *d = e->dash;
    uint32_t sym = NX_SYMBOL_NONE;
    for (uint32_t i = 0; i < nx_symtab_count(e->symtab); i++)
        if (!strcmp(nx_symtab_get(e->symtab, i)->name, symbol))
            sym = i;
    if (sym == NX_SYMBOL_NONE || sym >= d->nseries)
        return -2;
    dash_candle_t *c = malloc(DASH_CANDLES * sizeof *c);
    if (!c)
        return -1;
    pthread_mutex_lock(&d->cmu);
    const dash_series_t *s = &d->series[sym];
    uint32_t n = s->n, interval_s = s->interval_s;
    for (uint32_t i = 0; i < n; i++)
        c[i] = s->c[(s->head + i) % DASH_CANDLES];
    pthread_mutex_unlock(&d->cmu);
    const nx_symbol_t *y = nx_symtab_get(e->symtab, sym);
    unsigned scale = y ? y->price_scale : 8;
    text_t t = {buf, cap, 0};
    char o[NX_FIXED_FMT_MAX], h[NX_FIXED_FMT_MAX], l[NX_FIXED_FMT_MAX], x[NX_FIXED_FMT_MAX];
    put(&t, "{\"symbol\":\"%s\",\"interval_s\":%u,\"candles\":[", symbol, interval_s);
    for (uint32_t i = 0; i < n; i++)
        put(&t, "%s{\"t\":%lld,\"o\":%s,\"h\":%s,\"l\":%s,\"c\":%s}", i ? "," : "",
            (long long)(c[i].t_ms / 1000), px_text(e, sym, c[i].o, o), px_text(e, sym, c[i].h, h),
            px_text(e, sym, c[i].l, l), px_text(e, sym, c[i].c, x));
    for (int k = 0; k < 2; k++) { /* EMA 20, then 50: to the price's decimals */
        nx_ema_t a;
        nx_ema_init(&a, k ? 50 : 20);
        put(&t, "],\"ema%d\":[", k ? 50 : 20);
        int first = 1;
        for (uint32_t i = 0; i < n; i++)
            if (nx_ema_update(&a, (double)c[i].c / (double)nx_pow10[scale])) {
                double v = a.value * (double)nx_pow10[scale];
                put(&t, "%s{\"t\":%lld,\"v\":%s}", first ? "" : ",", (long long)(c[i].t_ms / 1000),
                    px_text(e, sym, (int64_t)(v < 0 ? v - 0.5 : v + 0.5), o));
                first = 0;
            }
    }
    int64_t first_ms = n ? c[0].t_ms : 0;
    free(c);
    put(&t, "],\"markers\":[");
    int any = 0;
    pthread_mutex_lock(&d->mu);
    for (uint32_t i = 0; i < d->n; i++) {
        const dash_session_t *ss = &d->s[i];
        if (!may_see(who, ss))
            continue;
        for (uint32_t k = 0; k < ss->tr_n; k++) {
            const nx_trade_closed_t *tr = &ss->tr[(ss->tr_head + k) % DASH_TRADES];
            if (tr->symbol != sym || tr->closed_ns / NX_NS_PER_MS < first_ms)
                continue;
            const char *side = tr->dir > 0 ? "long" : "short";
            put(&t,
                "%s{\"t\":%lld,\"kind\":\"entry\",\"side\":\"%s\",\"price\":%s,\"session\":%u},"
                "{\"t\":%lld,\"kind\":\"exit\",\"side\":\"%s\",\"price\":%s,\"session\":%u}",
                any ? "," : "", (long long)(tr->opened_ns / NX_NS_PER_SEC), side,
                px_text(e, sym, tr->entry_px, o), ss->id,
                (long long)(tr->closed_ns / NX_NS_PER_SEC), side, px_text(e, sym, tr->exit_px, x),
                ss->id);
            any = 1;
        }
    }
    pthread_mutex_unlock(&d->mu);
    put(&t, "]}\n");
    return text_len(&t);
}

/* GET /api/trades[?session=S&q=TEXT][&csv=1]: the closed trades who may
 * see (the newest DASH_TRADES of each session), newest first; q keeps
 * those whose pair or exit reason holds it. JSON, or CSV. The length in
 * buf, -1 (too large) or -2 (session S is not one who may see). */
int engine_dash_trades(nx_engine_t *e, const nx_web_identity_t *who, uint32_t session,
                       const char *q, int csv, char *buf, size_t cap)
{
    engine_dash_t *d = e->dash;
    if (session) { /* a session named: it must be one the caller may see */
        int ok = 0;
        pthread_mutex_lock(&d->mu);
        for (uint32_t i = 0; i < d->n; i++)
            ok |= d->s[i].id == session && may_see(who, &d->s[i]);
        pthread_mutex_unlock(&d->mu);
        if (!ok)
            return -2;
    }
    text_t o = {buf, cap, 0};
    if (csv)
        put(&o,
            "session,pair,side,qty,entry,exit,pnl,fees,funding,reason,opened_utc,closed_utc\r\n");
    else
        put(&o, "{\"trades\":[");
    int any = 0;
    pthread_mutex_lock(&d->mu);
    for (uint32_t i = 0; i < d->n && o.n < cap; i++) {
        const dash_session_t *s = &d->s[i];
        if (!may_see(who, s) || (session && s->id != session))
            continue;
        for (uint32_t k = s->tr_n; k-- > 0 && o.n < cap;) {
            const nx_trade_closed_t *t = &s->tr[(s->tr_head + k) % DASH_TRADES];
            const char *pair = sym_name(e, t->symbol), *why = nx_exit_reason_name(t->reason);
            if (q && *q && !strcasestr(pair, q) && !strcasestr(why, q))
                continue;
            const nx_symbol_t *y = nx_symtab_get(e->symtab, t->symbol);
            char qt[NX_FIXED_FMT_MAX], en[NX_FIXED_FMT_MAX], ex[NX_FIXED_FMT_MAX],
                pn[NX_FIXED_FMT_MAX], fe[NX_FIXED_FMT_MAX], fu[NX_FIXED_FMT_MAX], t0[32], t1[32];
            unsigned ms =
                nx_symtab_get(e->symtab, 0) ? nx_symtab_get(e->symtab, 0)->price_scale : 8;
            nx_fixed_format(t->qty, y ? y->qty_scale : 8, qt, sizeof qt);
            nx_fixed_format(t->entry_px, y ? y->price_scale : 8, en, sizeof en);
            nx_fixed_format(t->exit_px, y ? y->price_scale : 8, ex, sizeof ex);
            nx_fixed_format(t->pnl, ms, pn, sizeof pn);
            nx_fixed_format(t->fees, ms, fe, sizeof fe);
            nx_fixed_format(t->funding, ms, fu, sizeof fu);
            nx_utc_format(t->opened_ns / NX_NS_PER_SEC, t0, sizeof t0);
            nx_utc_format(t->closed_ns / NX_NS_PER_SEC, t1, sizeof t1);
            const char *side = t->dir > 0 ? "long" : "short";
            if (csv)
                put(&o, "%u,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\r\n", s->id, pair, side, qt, en, ex,
                    pn, fe, fu, why, t0, t1);
            else /* the amounts as strings: exact decimals, as the chat writes them */
                put(&o,
                    "%s{\"session\":%u,\"pair\":\"%s\",\"side\":\"%s\",\"qty\":\"%s\","
                    "\"entry\":\"%s\",\"exit\":\"%s\",\"pnl\":\"%s\",\"fees\":\"%s\","
                    "\"funding\":\"%s\",\"reason\":\"%s\",\"opened\":\"%s\",\"closed\":\"%s\"}",
                    any ? "," : "", s->id, pair, side, qt, en, ex, pn, fe, fu, why, t0, t1);
            any = 1;
        }
    }
    pthread_mutex_unlock(&d->mu);
    if (!csv)
        put(&o, "]}\n");
    return text_len(&o);
}
