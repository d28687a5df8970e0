/*
 * desk_state.c — the saved state's codec (format in desk_state.h).
 *
 * Encoding runs on the engine thread after every step that changed a
 * session — a few times per trade, a few hundred times a minute in a busy
 * replay — so it appends with snprintf into the caller's buffer and never
 * allocates; a session with a handful of positions is ~1.5 KB of text.
 * Decoding runs at start-up (recovery), in the store's writer (once per
 * stored state) and for reports: jansson's DOM is simple and fast enough
 * there, and it is the one place that parses the text.
 */
#include "nx/desk_state.h"

#include "nx/error.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- encoding ------------------------------------------------------------ */

typedef struct out {
    char *p;
    size_t n, cap;
    int over;
} out_t;

static void put(out_t *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out_t *o, const char *fmt, ...)
{
    if (o->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= o->cap - o->n)
        o->over = 1;
    else
        o->n += (size_t)k;
}

static void put_char(out_t *o, char c)
{
    if (o->over || o->n + 1 >= o->cap) {
        o->over = 1;
        return;
    }
    o->p[o->n++] = c;
    o->p[o->n] = 0;
}

/* A JSON string from at most n bytes of s (names, a strategy's tag). */
static void put_str(out_t *o, const char *s, size_t n)
{
    put_char(o, '"');
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            put_char(o, '\\');
            put_char(o, (char)c);
        } else if (c < 0x20) {
            put(o, "\\u%04x", c);
        } else {
            put_char(o, (char)c);
        }
    }
    put_char(o, '"');
}

/* ,"key":"text" */
static void put_text(out_t *o, const char *key, const char *text, size_t n)
{
    put(o, ",\"%s\":", key);
    put_str(o, text, n);
}

static void put_i128(out_t *o, const char *key, __int128 v)
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
    put(o, ",\"%s\":\"%s\"", key, t + i);
}

static void put_u64s(out_t *o, const char *key, const uint64_t *v, uint32_t n)
{
    put(o, ",\"%s\":[", key);
    for (uint32_t i = 0; i < n; i++)
        put(o, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
    put(o, "]");
}

static void put_i64s(out_t *o, const int64_t *v, int n)
{
    put(o, "[");
    for (int i = 0; i < n; i++)
        put(o, "%s%lld", i ? "," : "", (long long)v[i]);
    put(o, "]");
}

static void put_position(out_t *o, const nx_state_position_t *p)
{
    put(o, "{\"sym\":%lld,\"name\":", (long long)p->sym);
    put_str(o, p->name, sizeof p->name);
    put(o, ",\"qty\":%lld", (long long)p->qty);
    put_i128(o, "entry_value", p->entry_value);
    put_i128(o, "exit_value", p->exit_value);
    put(o,
        ",\"entry_qty\":%lld,\"exit_qty\":%lld,\"fees\":%lld,\"sl\":%lld,\"tp\":%lld,"
        "\"trail\":[%lld,%lld,%lld,%lld,%u,%u],\"deadline\":%lld,\"opened\":%lld,"
        "\"last_px\":%lld,\"lev\":%u,\"sl_id\":%llu,\"tp_id\":%llu",
        (long long)p->entry_qty, (long long)p->exit_qty, (long long)p->fees, (long long)p->sl,
        (long long)p->tp, (long long)p->trail_offset, (long long)p->trail_activate,
        (long long)p->trail_best, (long long)p->trail_stop, p->trail_on, p->trail_at_venue,
        (long long)p->deadline_ns, (long long)p->opened_ns, (long long)p->last_px, p->leverage,
        (unsigned long long)p->sl_clid, (unsigned long long)p->tp_clid);
    if (p->funding) /* written only once there is some: older states read the same */
        put(o, ",\"funding\":%lld", (long long)p->funding);
    put_text(o, "qty_dec", p->qty_dec, sizeof p->qty_dec);
    put_text(o, "avg_px", p->avg_px, sizeof p->avg_px);
    put_text(o, "sl_dec", p->sl_dec, sizeof p->sl_dec);
    put_text(o, "tp_dec", p->tp_dec, sizeof p->tp_dec);
    put(o, "}");
}

static void put_approval(out_t *o, const nx_state_approval_t *a)
{
    const nx_ev_signal_t *g = &a->signal;
    put(o,
        "{\"id\":%lld,\"sym\":%lld,\"venue\":%u,\"asked_ns\":%lld,\"expires_ns\":%lld,"
        "\"dec\":[%d,%d,%u,%u,%u,%lld,%lld,%lld,%lld],"
        "\"sig\":[%.17g,%.17g,%.17g,%lld,%lld,%lld,%lld,%u,%u,%u,%u,%u,",
        (long long)a->id, (long long)a->sym, a->venue, (long long)a->asked_ns,
        (long long)a->expires_ns, a->verdict, a->reason, a->side, a->reduce_only, a->leverage,
        (long long)a->qty, (long long)a->price, (long long)a->stop_loss, (long long)a->take_profit,
        g->confidence, g->sl_value, g->tp_value, (long long)g->sl_price, (long long)g->tp_price,
        (long long)g->ref_price, (long long)g->atr, g->tf_s, g->strategy, g->side, g->sl_kind,
        g->tp_kind);
    put_str(o, g->reason, sizeof g->reason);
    put(o, "]}");
}

int nx_state_encode(const nx_state_session_t *s, char *buf, size_t cap, size_t *len)
{
    out_t o = {buf, 0, cap, cap == 0};
    if (cap)
        buf[0] = 0;
    const nx_state_account_t *ac = &s->account;
    const nx_state_desk_t *dk = &s->desk;
    const nx_state_risk_t *r = &s->risk;
    put(&o, "{\"v\":%d,\"name\":", NX_STATE_VERSION);
    put_str(&o, s->name, sizeof s->name);
    put(&o, ",\"now\":%lld", (long long)s->now);
    put(&o,
        ",\"account\":{\"balance\":%lld,\"realized\":%lld,\"fees\":%lld,\"trades\":%u,"
        "\"wins\":%u,\"equity\":%lld",
        (long long)ac->balance, (long long)ac->realized, (long long)ac->fees, ac->trades, ac->wins,
        (long long)ac->equity);
    put_text(&o, "balance_dec", ac->balance_dec, sizeof ac->balance_dec);
    put_text(&o, "equity_dec", ac->equity_dec, sizeof ac->equity_dec);
    put(&o,
        "},\"desk\":{\"mode\":%d,\"start_equity\":%lld,\"peak\":%lld,\"max_dd_bp\":%lld,"
        "\"notifications\":%llu,\"approvals\":%llu,\"orders\":%llu,\"approved\":%llu,"
        "\"declined\":%llu,\"expired\":%llu",
        dk->mode, (long long)dk->start_equity, (long long)dk->peak, (long long)dk->max_dd_bp,
        (unsigned long long)dk->notifications, (unsigned long long)dk->approvals,
        (unsigned long long)dk->orders, (unsigned long long)dk->approved,
        (unsigned long long)dk->declined, (unsigned long long)dk->expired);
    put_u64s(&o, "exits", dk->exits, NX_STATE_EXITS);
    put_u64s(&o, "rejects", dk->rejects,
             dk->n_rejects < NX_STATE_MAX_REJECTS ? dk->n_rejects : NX_STATE_MAX_REJECTS);
    put(&o,
        "},\"risk\":{\"equity\":%lld,\"peak\":%lld,\"day_ms\":%lld,\"week_ms\":%lld,"
        "\"week_equity\":%lld,\"day_pnl\":%lld,\"week_pnl\":%lld,\"trades_today\":%u,"
        "\"losses\":%u,\"halts\":%u,\"tripped\":%u,\"kill\":%u,\"paused\":%u,\"held\":%u,"
        "\"halt_until\":%lld",
        (long long)r->equity, (long long)r->peak, (long long)r->day_ms, (long long)r->week_ms,
        (long long)r->week_equity, (long long)r->day_pnl, (long long)r->week_pnl, r->trades_today,
        r->losses, r->halts, r->tripped, r->kill, r->paused, r->held, (long long)r->halt_until);
    if (r->n_day_trades) {
        put(&o, ",\"day_trades\":[%u", r->n_day_trades);
        for (int i = 0; i < NX_STATE_DAY_TRADES; i++)
            put(&o, ",%d", r->day_trades[i]);
        put(&o, "]");
    }
    put(&o, "},\"locks\":[");
    for (uint32_t i = 0; i < s->n_locks && i < NX_STATE_MAX_LOCKS; i++) {
        const nx_state_lock_t *l = &s->locks[i];
        put(&o, "%s[%lld,%u,%lld]", i ? "," : "", (long long)l->symbol, l->reason,
            (long long)l->until_ns);
    }
    put(&o, "],\"symbols\":[");
    for (uint32_t i = 0; i < s->n_symbols && i < NX_STATE_MAX_SYMBOLS; i++) {
        const nx_state_symbol_t *q = &s->symbols[i];
        put(&o, "%s[%lld,%lld,%u,%u,", i ? "," : "", (long long)q->sym,
            (long long)q->cooldown_until, q->n_stopouts, q->n_results);
        put_i64s(&o, q->stopouts, NX_STATE_RING);
        put(&o, ",");
        put_i64s(&o, q->results, NX_STATE_RING);
        put(&o, "]");
    }
    put(&o, "],\"positions\":[");
    for (uint32_t i = 0; i < s->n_positions && i < NX_STATE_MAX_SYMBOLS; i++) {
        if (i)
            put(&o, ",");
        put_position(&o, &s->positions[i]);
    }
    put(&o, "],\"approvals\":[");
    for (uint32_t i = 0; i < s->n_approvals && i < NX_STATE_MAX_APPROVALS; i++) {
        if (i)
            put(&o, ",");
        put_approval(&o, &s->approvals[i]);
    }
    put(&o, "]}");
    if (o.over)
        return NX_ETOOLONG;
    *len = o.n;
    return 0;
}

int nx_state_encode_global(const nx_state_global_t *g, char *buf, size_t cap, size_t *len)
{
    out_t o = {buf, 0, cap, cap == 0};
    if (cap)
        buf[0] = 0;
    put(&o, "{\"v\":%d,\"global_kill\":%d,\"atr\":[", NX_STATE_VERSION, g->global_kill);
    for (uint32_t y = 0; y < g->n_atr && y < NX_STATE_MAX_SYMBOLS; y++)
        put(&o, "%s%lld", y ? "," : "", (long long)g->atr[y]);
    put(&o, "]}");
    if (o.over)
        return NX_ETOOLONG;
    *len = o.n;
    return 0;
}

/* ---- decoding ------------------------------------------------------------ */

/* Numbers the text does not hold read as 0, as they were when written by
 * an older build that did not have them. */
static int64_t gi(const json_t *o, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(o, key));
}

static int64_t ai(const json_t *a, size_t i)
{
    return (int64_t)json_integer_value(json_array_get(a, i));
}

static void text_of(const json_t *o, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, key));
    snprintf(out, cap, "%s", s ? s : "");
}

static int parse_i128(const json_t *v, __int128 *out)
{
    const char *s = json_string_value(v);
    if (!s || !*s)
        return NX_EINVAL;
    int neg = *s == '-';
    s += neg;
    if (!*s)
        return NX_EINVAL;
    __int128 x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > ((__int128)1 << 120))
            return NX_EINVAL;
        x = x * 10 + (*s - '0');
    }
    *out = neg ? -x : x;
    return 0;
}

static int fail(char *err, size_t cap, const char *what)
{
    if (err && cap)
        snprintf(err, cap, "%s", what);
    return NX_EINVAL;
}

static json_t *open_text(const char *text, size_t len, char *err, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        fail(err, cap, jerr.text);
        return NULL;
    }
    if (!json_is_object(root) || gi(root, "v") != NX_STATE_VERSION) {
        fail(err, cap, "not a version 1 saved state");
        json_decref(root);
        return NULL;
    }
    return root;
}

static void read_position(const json_t *v, nx_state_position_t *p)
{
    memset(p, 0, sizeof *p);
    p->sym = gi(v, "sym");
    text_of(v, "name", p->name, sizeof p->name);
    p->qty = gi(v, "qty");
    const json_t *t = json_object_get(v, "trail");
    p->ok = parse_i128(json_object_get(v, "entry_value"), &p->entry_value) == 0 &&
            parse_i128(json_object_get(v, "exit_value"), &p->exit_value) == 0 &&
            json_array_size(t) == 6 && json_object_get(v, "name") != NULL;
    p->entry_qty = gi(v, "entry_qty");
    p->exit_qty = gi(v, "exit_qty");
    p->fees = gi(v, "fees");
    p->funding = gi(v, "funding"); /* absent: none paid */
    p->sl = gi(v, "sl");
    p->tp = gi(v, "tp");
    p->trail_offset = ai(t, 0);
    p->trail_activate = ai(t, 1);
    p->trail_best = ai(t, 2);
    p->trail_stop = ai(t, 3);
    p->trail_on = (uint8_t)ai(t, 4);
    p->trail_at_venue = (uint8_t)ai(t, 5);
    p->deadline_ns = gi(v, "deadline");
    p->opened_ns = gi(v, "opened");
    p->last_px = gi(v, "last_px");
    p->leverage = (uint8_t)gi(v, "lev");
    p->sl_clid = (uint64_t)gi(v, "sl_id");
    p->tp_clid = (uint64_t)gi(v, "tp_id");
    text_of(v, "qty_dec", p->qty_dec, sizeof p->qty_dec);
    text_of(v, "avg_px", p->avg_px, sizeof p->avg_px);
    text_of(v, "sl_dec", p->sl_dec, sizeof p->sl_dec);
    text_of(v, "tp_dec", p->tp_dec, sizeof p->tp_dec);
}

static void read_approval(const json_t *v, nx_state_approval_t *a)
{
    memset(a, 0, sizeof *a);
    const json_t *x = json_object_get(v, "dec"), *g = json_object_get(v, "sig");
    a->ok = json_array_size(x) == 9 && json_array_size(g) == 13;
    a->id = gi(v, "id");
    a->sym = gi(v, "sym");
    a->venue = (uint32_t)gi(v, "venue");
    a->asked_ns = gi(v, "asked_ns");
    a->expires_ns = gi(v, "expires_ns");
    a->verdict = (int)ai(x, 0);
    a->reason = (int)ai(x, 1);
    a->side = (uint32_t)ai(x, 2);
    a->reduce_only = (uint32_t)ai(x, 3);
    a->leverage = (uint32_t)ai(x, 4);
    a->qty = ai(x, 5);
    a->price = ai(x, 6);
    a->stop_loss = ai(x, 7);
    a->take_profit = ai(x, 8);
    nx_ev_signal_t *s = &a->signal;
    s->confidence = json_number_value(json_array_get(g, 0));
    s->sl_value = json_number_value(json_array_get(g, 1));
    s->tp_value = json_number_value(json_array_get(g, 2));
    s->sl_price = ai(g, 3);
    s->tp_price = ai(g, 4);
    s->ref_price = ai(g, 5);
    s->atr = ai(g, 6);
    s->tf_s = (uint32_t)ai(g, 7);
    s->strategy = (uint16_t)ai(g, 8);
    s->side = (uint8_t)ai(g, 9);
    s->sl_kind = (uint8_t)ai(g, 10);
    s->tp_kind = (uint8_t)ai(g, 11);
    const char *reason = json_string_value(json_array_get(g, 12));
    snprintf(s->reason, sizeof s->reason, "%s", reason ? reason : "");
}

static void read_desk(const json_t *k, nx_state_desk_t *d)
{
    d->mode = (int)gi(k, "mode");
    d->start_equity = gi(k, "start_equity");
    d->peak = gi(k, "peak");
    d->max_dd_bp = gi(k, "max_dd_bp");
    d->notifications = (uint64_t)gi(k, "notifications");
    d->approvals = (uint64_t)gi(k, "approvals");
    d->orders = (uint64_t)gi(k, "orders");
    d->approved = (uint64_t)gi(k, "approved");
    d->declined = (uint64_t)gi(k, "declined");
    d->expired = (uint64_t)gi(k, "expired");
    const json_t *e = json_object_get(k, "exits"), *r = json_object_get(k, "rejects");
    for (size_t i = 0; i < NX_STATE_EXITS; i++)
        d->exits[i] = (uint64_t)ai(e, i);
    size_t n = json_array_size(r);
    d->n_rejects = (uint32_t)(n < NX_STATE_MAX_REJECTS ? n : NX_STATE_MAX_REJECTS);
    for (size_t i = 0; i < d->n_rejects; i++)
        d->rejects[i] = (uint64_t)ai(r, i);
}

static void read_risk(const json_t *r, nx_state_risk_t *x)
{
    x->equity = gi(r, "equity");
    x->peak = gi(r, "peak");
    x->day_ms = gi(r, "day_ms");
    x->week_ms = gi(r, "week_ms");
    x->week_equity = gi(r, "week_equity");
    x->day_pnl = gi(r, "day_pnl");
    x->week_pnl = gi(r, "week_pnl");
    x->trades_today = (uint32_t)gi(r, "trades_today");
    x->losses = (uint32_t)gi(r, "losses");
    x->halts = (uint32_t)gi(r, "halts");
    x->tripped = gi(r, "tripped") != 0;
    x->kill = gi(r, "kill") != 0;
    x->paused = gi(r, "paused") != 0;
    x->held = gi(r, "held") != 0;
    x->halt_until = gi(r, "halt_until");
    const json_t *dt = json_object_get(r, "day_trades");
    if (json_is_array(dt) && json_array_size(dt) == 1 + NX_STATE_DAY_TRADES) {
        x->n_day_trades = (uint32_t)json_integer_value(json_array_get(dt, 0));
        for (size_t i = 0; i < NX_STATE_DAY_TRADES; i++)
            x->day_trades[i] = (int32_t)json_integer_value(json_array_get(dt, i + 1));
    }
}

int nx_state_decode(const char *text, size_t len, nx_state_session_t *out, char *err, size_t cap)
{
    json_t *root = open_text(text, len, err, cap);
    if (!root)
        return NX_EINVAL;
    const json_t *locks = json_object_get(root, "locks"), *syms = json_object_get(root, "symbols"),
                 *pos = json_object_get(root, "positions"),
                 *apps = json_object_get(root, "approvals");
    int rc = 0;
    if (json_array_size(locks) > NX_STATE_MAX_LOCKS)
        rc = fail(err, cap, "more locks than a session holds");
    else if (json_array_size(syms) > NX_STATE_MAX_SYMBOLS ||
             json_array_size(pos) > NX_STATE_MAX_SYMBOLS)
        rc = fail(err, cap, "more symbols than the engine trades");
    else if (json_array_size(apps) > NX_STATE_MAX_APPROVALS)
        rc = fail(err, cap, "more approval requests than the desk keeps");
    if (rc) {
        json_decref(root);
        return rc;
    }
    text_of(root, "name", out->name, sizeof out->name);
    out->now = gi(root, "now");
    const json_t *acc = json_object_get(root, "account");
    out->has_account = acc != NULL;
    memset(&out->account, 0, sizeof out->account);
    nx_state_account_t *a = &out->account;
    a->balance = gi(acc, "balance");
    a->realized = gi(acc, "realized");
    a->fees = gi(acc, "fees");
    a->equity = gi(acc, "equity");
    a->trades = (uint32_t)gi(acc, "trades");
    a->wins = (uint32_t)gi(acc, "wins");
    text_of(acc, "balance_dec", a->balance_dec, sizeof a->balance_dec);
    text_of(acc, "equity_dec", a->equity_dec, sizeof a->equity_dec);
    memset(&out->desk, 0, sizeof out->desk);
    read_desk(json_object_get(root, "desk"), &out->desk);
    memset(&out->risk, 0, sizeof out->risk);
    read_risk(json_object_get(root, "risk"), &out->risk);
    size_t i;
    const json_t *v;
    out->n_locks = 0;
    json_array_foreach(locks, i, v)
    {
        out->locks[out->n_locks++] = (nx_state_lock_t){ai(v, 0), (uint32_t)ai(v, 1), ai(v, 2)};
    }
    out->n_symbols = 0;
    json_array_foreach(syms, i, v)
    {
        nx_state_symbol_t *q = &out->symbols[out->n_symbols++];
        q->sym = ai(v, 0);
        q->cooldown_until = ai(v, 1);
        q->n_stopouts = (uint32_t)ai(v, 2);
        q->n_results = (uint32_t)ai(v, 3);
        for (size_t j = 0; j < NX_STATE_RING; j++) {
            q->stopouts[j] = ai(json_array_get(v, 4), j);
            q->results[j] = ai(json_array_get(v, 5), j);
        }
    }
    out->n_positions = 0;
    json_array_foreach(pos, i, v)
    {
        read_position(v, &out->positions[out->n_positions++]);
    }
    out->n_approvals = 0;
    json_array_foreach(apps, i, v)
    {
        read_approval(v, &out->approvals[out->n_approvals++]);
    }
    json_decref(root);
    return 0;
}

int nx_state_decode_global(const char *text, size_t len, nx_state_global_t *out, char *err,
                           size_t cap)
{
    json_t *root = open_text(text, len, err, cap);
    if (!root)
        return NX_EINVAL;
    memset(out, 0, sizeof *out);
    out->global_kill = gi(root, "global_kill") != 0;
    const json_t *atr = json_object_get(root, "atr");
    for (size_t y = 0; y < json_array_size(atr) && y < NX_STATE_MAX_SYMBOLS; y++)
        out->atr[out->n_atr++] = ai(atr, y);
    json_decref(root);
    return 0;
}
