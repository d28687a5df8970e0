/*
 * tickguard.c — the bad-tick filter (see tickguard.h for the rules).
 *
 * Each symbol keeps its accepted prices twice: in arrival order (a ring,
 * to know which one leaves) and sorted (so the median is one load). A
 * window of 15 makes insert and remove a memmove of at most 120 bytes,
 * cheaper than sorting a copy per print.
 */
#include "nx/tickguard.h"

#include "nx/clock.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

typedef struct tg_sym {
    nx_event_t held[NX_TG_HOLD]; /* first: cache-line aligned */
    int64_t sorted[NX_TG_WINDOW_MAX];
    int64_t fifo[NX_TG_WINDOW_MAX];
    uint64_t ids[NX_TG_IDS];
    uint32_t n, head, id_head, n_ids;
    int64_t last_ns[NX_EV_TYPE_COUNT]; /* newest accepted exchange time per kind */
    int64_t last_closed_ms;            /* newest accepted closed candle's open time */
    uint32_t kline_iv;                 /* the candle interval those times are of */
    uint32_t nheld;                 /* suspects held, oldest first */
    int64_t held_px[NX_TG_HOLD];    /* their reference prices */
    uint32_t agree[NX_TG_HOLD];     /* later prints within the band of each */
} tg_sym_t;

struct nx_tickguard {
    nx_tickguard_opts_t o;
    uint32_t nsym;
    nx_tickguard_stats_t st;
    tg_sym_t *s;
};

void nx_tickguard_opts_default(nx_tickguard_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->band_bp = 1500;
    o->window = 15;
    o->confirm = 1;
    o->backwards_ms = 1000;
}

nx_tickguard_t *nx_tickguard_create(const nx_tickguard_opts_t *o, uint32_t nsym)
{
    if (!o || o->window < 3 || o->window > NX_TG_WINDOW_MAX || o->confirm < 1 ||
        o->confirm >= NX_TG_HOLD || o->band_bp > 100000)
        return NULL;
    nx_tickguard_t *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->o = *o;
    g->nsym = nsym;
    size_t bytes = (size_t)(nsym ? nsym : 1) * sizeof(tg_sym_t);
    g->s = aligned_alloc(alignof(tg_sym_t), bytes); /* sizeof is a multiple of the alignment */
    if (!g->s) {
        free(g);
        return NULL;
    }
    memset(g->s, 0, bytes);
    for (uint32_t i = 0; i < nsym; i++)
        g->s[i].last_closed_ms = INT64_MIN;
    return g;
}

void nx_tickguard_destroy(nx_tickguard_t *g)
{
    if (!g)
        return;
    free(g->s);
    free(g);
}

static int64_t median(const tg_sym_t *s)
{
    return s->n ? s->sorted[s->n / 2] : 0;
}

int64_t nx_tickguard_ref(const nx_tickguard_t *g, uint32_t symbol)
{
    return symbol < g->nsym && g->s[symbol].n >= 3 ? median(&g->s[symbol]) : 0;
}

void nx_tickguard_stats(const nx_tickguard_t *g, nx_tickguard_stats_t *st)
{
    *st = g->st;
}

/* The one price an event stands for: what the median is made of and what
 * a following print is compared with. */
static int64_t ref_price(const nx_event_t *ev)
{
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
        return ev->u.trade.price;
    case NX_EV_BBO:
        return ev->u.bbo.bid_px / 2 + ev->u.bbo.ask_px / 2;
    case NX_EV_KLINE:
        return ev->u.kline.close;
    default: /* NX_EV_MARK */
        return ev->u.mark.mark_px;
    }
}

/* |p - ref| > band_bp of ref, in 128 bits (prices up to 2^63 ticks) */
static int outside(int64_t p, int64_t ref, uint32_t band_bp)
{
    __int128 d = (__int128)p - ref;
    if (d < 0)
        d = -d;
    return d * 10000 > (__int128)ref * band_bp;
}

static int event_outside(const nx_event_t *ev, int64_t m, uint32_t band_bp)
{
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
        return outside(ev->u.trade.price, m, band_bp);
    case NX_EV_BBO:
        return outside(ev->u.bbo.bid_px, m, band_bp) || outside(ev->u.bbo.ask_px, m, band_bp);
    case NX_EV_KLINE: {
        const nx_ev_kline_t *k = &ev->u.kline;
        return outside(k->open, m, band_bp) || outside(k->high, m, band_bp) ||
               outside(k->low, m, band_bp) || outside(k->close, m, band_bp);
    }
    default:
        return outside(ev->u.mark.mark_px, m, band_bp);
    }
}

static nx_bad_kind_t stateless_bad(const nx_event_t *ev)
{
    switch (ev->hdr.type) {
    case NX_EV_TRADE:
        return nx_trade_bad(&ev->u.trade);
    case NX_EV_BBO:
        return nx_bbo_bad(&ev->u.bbo);
    case NX_EV_KLINE:
        return nx_kline_bad(&ev->u.kline);
    default:
        return nx_mark_bad(&ev->u.mark);
    }
}

static nx_bad_kind_t time_or_dup(const nx_tickguard_t *g, const tg_sym_t *s, const nx_event_t *ev)
{
    if (ev->hdr.type == NX_EV_KLINE) {
        const nx_ev_kline_t *k = &ev->u.kline;
        if (!(ev->hdr.flags & NX_EVF_BACKFILL) && k->interval_s == s->kline_iv &&
            k->open_ms <= s->last_closed_ms)
            return NX_BAD_TIME; /* a candle already closed, again or older */
        return NX_BAD_NONE;
    }
    int64_t last = s->last_ns[ev->hdr.type];
    if (ev->hdr.exch_ns && last && !(ev->hdr.flags & (NX_EVF_BACKFILL | NX_EVF_SNAPSHOT)) &&
        ev->hdr.exch_ns < last - (int64_t)g->o.backwards_ms * NX_NS_PER_MS)
        return NX_BAD_TIME;
    if (ev->hdr.type == NX_EV_TRADE && ev->u.trade.trade_id) {
        uint64_t id = ev->u.trade.trade_id;
        for (uint32_t i = 0; i < s->n_ids; i++)
            if (s->ids[i] == id)
                return NX_BAD_DUP;
        for (uint32_t i = 0; i < s->nheld; i++) /* a held suspect's id is taken too */
            if (s->held[i].hdr.type == NX_EV_TRADE && s->held[i].u.trade.trade_id == id)
                return NX_BAD_DUP;
    }
    return NX_BAD_NONE;
}

static uint32_t lower_bound(const int64_t *a, uint32_t n, int64_t v)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (a[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* An event is used: the median, the times and the ids learn from it. */
static void accept(const nx_tickguard_t *g, tg_sym_t *s, const nx_event_t *ev)
{
    int64_t p = ref_price(ev);
    uint32_t w = g->o.window;
    if (s->n == w) { /* the oldest leaves */
        int64_t old = s->fifo[s->head];
        uint32_t at = lower_bound(s->sorted, s->n, old);
        memmove(&s->sorted[at], &s->sorted[at + 1], (s->n - at - 1) * sizeof(int64_t));
        s->n--;
    }
    uint32_t at = lower_bound(s->sorted, s->n, p);
    memmove(&s->sorted[at + 1], &s->sorted[at], (s->n - at) * sizeof(int64_t));
    s->sorted[at] = p;
    s->n++;
    s->fifo[s->head] = p;
    s->head = (s->head + 1) % w;
    if (ev->hdr.type == NX_EV_KLINE) {
        const nx_ev_kline_t *k = &ev->u.kline;
        if (!s->kline_iv)
            s->kline_iv = k->interval_s;
        if (k->closed && k->interval_s == s->kline_iv && k->open_ms > s->last_closed_ms)
            s->last_closed_ms = k->open_ms;
        return;
    }
    if (ev->hdr.exch_ns > s->last_ns[ev->hdr.type])
        s->last_ns[ev->hdr.type] = ev->hdr.exch_ns;
    if (ev->hdr.type == NX_EV_TRADE && ev->u.trade.trade_id) {
        s->ids[s->id_head] = ev->u.trade.trade_id;
        s->id_head = (s->id_head + 1) % NX_TG_IDS;
        if (s->n_ids < NX_TG_IDS)
            s->n_ids++;
    }
}

static void quarantine(nx_tickguard_t *g, const nx_event_t *ev, nx_bad_kind_t why, int64_t ref)
{
    g->st.quarantined[why]++;
    if (g->o.on_bad)
        g->o.on_bad(g->o.ctx, ev, why, ref);
}

uint32_t nx_tickguard_filter(nx_tickguard_t *g, const nx_event_t *ev, const nx_event_t **out)
{
    unsigned t = ev->hdr.type;
    if ((t != NX_EV_TRADE && t != NX_EV_BBO && t != NX_EV_KLINE && t != NX_EV_MARK) ||
        ev->hdr.symbol >= g->nsym) {
        out[0] = ev;
        return 1;
    }
    g->st.checked++;
    tg_sym_t *s = &g->s[ev->hdr.symbol];
    nx_bad_kind_t bad = stateless_bad(ev);
    if (!bad)
        bad = time_or_dup(g, s, ev);
    if (bad) {
        quarantine(g, ev, bad, 0);
        return 0;
    }
    if (!g->o.band_bp || s->n < 3) {
        accept(g, s, ev);
        out[0] = ev;
        return 1;
    }
    int64_t m = median(s), r = ref_price(ev);
    int away = event_outside(ev, m, g->o.band_bp);
    if (!s->nheld && !away) {
        accept(g, s, ev);
        out[0] = ev;
        return 1;
    }
    /* Held suspects: a print back within the band of the median decides
     * them all; one away from it confirms those it agrees with once they
     * have `confirm` agreeing prints. Either way the suspects it agrees
     * with are let through and the others were bad ticks. */
    int ready = !away;
    for (uint32_t i = 0; i < s->nheld; i++)
        if (!outside(r, s->held_px[i], g->o.band_bp) && ++s->agree[i] >= g->o.confirm)
            ready = 1;
    if (ready) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < s->nheld; i++) {
            if (!outside(r, s->held_px[i], g->o.band_bp)) {
                accept(g, s, &s->held[i]);
                out[n++] = &s->held[i];
                g->st.let_through++;
            } else {
                quarantine(g, &s->held[i], NX_BAD_BAND, m);
            }
        }
        s->nheld = 0;
        accept(g, s, ev);
        out[n++] = ev;
        return n;
    }
    if (s->nheld == NX_TG_HOLD) { /* no room: the oldest suspect was never confirmed */
        quarantine(g, &s->held[0], NX_BAD_BAND, m);
        memmove(&s->held[0], &s->held[1], (NX_TG_HOLD - 1) * sizeof s->held[0]);
        memmove(&s->held_px[0], &s->held_px[1], (NX_TG_HOLD - 1) * sizeof s->held_px[0]);
        memmove(&s->agree[0], &s->agree[1], (NX_TG_HOLD - 1) * sizeof s->agree[0]);
        s->nheld--;
    }
    s->held[s->nheld] = *ev;
    s->held_px[s->nheld] = r;
    s->agree[s->nheld] = 0;
    s->nheld++;
    g->st.suspects++;
    return 0;
}
