/*
 * parse_alpaca.c — Alpaca market-data stream (v2, JSON encoding).
 *
 * Every server frame is an array of objects, each with "T" naming its kind:
 * t trade, q quote, b minute bar, u updated (late-corrected) bar, d daily
 * bar; success / subscription / error are control messages; s (status), x
 * (trade cancel), c (correction), l (LULD), i (imbalance) are well-formed
 * kinds Nexus does not use yet. Prices are JSON numbers, parsed digit by
 * digit like every other price; times are RFC 3339 with up to nine
 * fraction digits.
 */
#include "decode_impl.h"

#include "nx/clock.h"

#define FAIL(what) return nx__dec_fail(d, what, buf, len)

typedef struct al {
    nx_jspan_t T, S, i, p, s, t, bp, bs, ap, as, o, h, l, c, v, n;
} al_t;

/* Collect the keys Nexus reads of the object at the cursor into f. Shared
 * by stream elements and REST bars. Returns 0, or -1 with *why naming what
 * was malformed. */
static int collect(nx_jcur_t *c, al_t *f, const char **why)
{
    memset(f, 0, sizeof *f);
    nx_jspan_t key, v;
    if (nx_js_obj_begin(c)) {
        *why = "element is not an object";
        return -1;
    }
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(c, &key, first);
        if (r < 0) {
            *why = "malformed element";
            return -1;
        }
        if (r == 0)
            return 0;
        if (nx_js_value(c, &v)) {
            *why = "malformed value";
            return -1;
        }
        nx_jspan_t *dst = NULL;
        if (key.n == 1) {
            switch (key.p[0]) {
            case 'T':
                dst = &f->T;
                break;
            case 'S':
                dst = &f->S;
                break;
            case 'i':
                dst = &f->i;
                break;
            case 'p':
                dst = &f->p;
                break;
            case 's':
                dst = &f->s;
                break;
            case 't':
                dst = &f->t;
                break;
            case 'o':
                dst = &f->o;
                break;
            case 'h':
                dst = &f->h;
                break;
            case 'l':
                dst = &f->l;
                break;
            case 'c':
                dst = &f->c;
                break;
            case 'v':
                dst = &f->v;
                break;
            case 'n':
                dst = &f->n;
                break;
            }
        } else if (key.n == 2) {
            if (NX_JEQ(key, "bp"))
                dst = &f->bp;
            else if (NX_JEQ(key, "bs"))
                dst = &f->bs;
            else if (NX_JEQ(key, "ap"))
                dst = &f->ap;
            else if (NX_JEQ(key, "as"))
                dst = &f->as;
        }
        if (dst)
            *dst = v;
    }
}

static int element(nx_decoder_t *d, nx_jcur_t *c, const char *buf, size_t len, int *kinds)
{
    al_t f;
    const char *why;
    if (collect(c, &f, &why))
        FAIL(why);
    if (f.T.type != NX_J_STR || f.T.n == 0)
        FAIL("element without T");
    char kind = f.T.n == 1 ? f.T.p[0] : 0;
    if (kind != 't' && kind != 'q' && kind != 'b' && kind != 'u' && kind != 'd') {
        if (NX_JEQ(f.T, "success") || NX_JEQ(f.T, "subscription") || NX_JEQ(f.T, "error"))
            kinds[0]++; /* control */
        else
            kinds[1]++; /* ignored kind */
        return 0;
    }
    uint32_t id = nx__dec_symbol(d, &f.S);
    if (id == NX_SYMBOL_NONE) {
        kinds[2]++;
        return 0;
    }
    const nx_symbol_t *sym = nx_symtab_get(d->symtab, id);
    int64_t ts;
    if (f.t.type != NX_J_STR || nx_rfc3339_ns(f.t.p, f.t.n, &ts))
        FAIL("bad timestamp");
    if (kind == 't') {
        int64_t px, qty;
        uint64_t tid = 0;
        if (nx__dec_fixed(&f.p, sym->price_scale, &px) ||
            nx__dec_fixed(&f.s, sym->qty_scale, &qty) || (f.i.type && nx_js_u64(&f.i, &tid)))
            FAIL("bad trade fields");
        nx_bad_kind_t bad = nx_trade_bad(&(nx_ev_trade_t){.price = px, .qty = qty});
        if (bad) { /* this element only */
            nx__dec_bad(d, bad);
            kinds[3]++;
            return 0;
        }
        nx_event_t *e = nx__dec_emit(d, NX_EV_TRADE, id, ts);
        if (e) /* Alpaca does not say who the aggressor was */
            e->u.trade = (nx_ev_trade_t){px, qty, tid, NX_SIDE_NONE};
    } else if (kind == 'q') {
        int64_t bp, bs, ap, as;
        if (nx__dec_fixed(&f.bp, sym->price_scale, &bp) ||
            nx__dec_fixed(&f.bs, sym->qty_scale, &bs) ||
            nx__dec_fixed(&f.ap, sym->price_scale, &ap) ||
            nx__dec_fixed(&f.as, sym->qty_scale, &as))
            FAIL("bad quote fields");
        nx_ev_bbo_t q = {bp, bs, ap, as, 0};
        if (nx_bbo_bad(&q)) {
            nx__dec_bad(d, nx_bbo_bad(&q));
            kinds[3]++;
            return 0;
        }
        nx_event_t *e = nx__dec_emit(d, NX_EV_BBO, id, ts);
        if (e)
            e->u.bbo = q;
    } else {
        nx_ev_kline_t k = {0};
        uint64_t trades = 0;
        if (nx__dec_ohlcv(sym, &f.o, &f.h, &f.l, &f.c, &f.v, &k) ||
            (f.n.type && nx_js_u64(&f.n, &trades)))
            FAIL("bad bar fields");
        k.open_ms = ts / NX_NS_PER_MS;
        k.interval_s = kind == 'd' ? 86400 : 60;
        k.trades = (uint32_t)trades;
        k.closed = kind != 'd'; /* minute bars arrive after their minute; daily bars run */
        if (nx_kline_bad(&k)) {
            nx__dec_bad(d, nx_kline_bad(&k));
            kinds[3]++;
            return 0;
        }
        nx_event_t *e = nx__dec_emit(d, NX_EV_KLINE, id, ts);
        if (e) {
            e->u.kline = k;
            if (kind == 'u')
                e->hdr.flags |= NX_EVF_BACKFILL; /* a correction of an earlier bar */
        }
    }
    return 0;
}

int nx__parse_alpaca(nx_decoder_t *d, const char *buf, size_t len)
{
    nx_jcur_t c = {buf, buf + len};
    if (nx_js_arr_begin(&c))
        FAIL("frame is not a JSON array");
    int kinds[4] = {0, 0, 0, 0}; /* control, ignored, unknown symbol, refused */
    int elements = 0;
    for (int first = 1;; first = 0) {
        int r = nx_js_arr_next(&c, first);
        if (r < 0)
            FAIL("malformed array");
        if (r == 0)
            break;
        int rc = element(d, &c, buf, len, kinds);
        if (rc < 0)
            return rc;
        elements++;
    }
    nx_js_ws(&c);
    if (c.p != c.end)
        FAIL("trailing bytes after JSON");
    if (d->frame_events == 0 && elements) {
        if (kinds[0] == elements)
            return NX_DEC_CONTROL;
        if (kinds[2])
            return NX_DEC_NOSYM;
        if (kinds[3])
            return NX_DEC_BAD;
        return NX_DEC_IGNORED;
    }
    return 0;
}

/* ---------- REST bars (backfill) ---------- */

/* One bar of GET /v2/stocks/{symbol}/bars: {"t":"<RFC 3339>","o":..,..}. */
static int rest_bar(nx_jcur_t *c, const nx_symbol_t *sym, nx_ev_kline_t *k)
{
    al_t f;
    const char *why;
    int64_t ns;
    if (collect(c, &f, &why) || f.t.type != NX_J_STR || nx_rfc3339_ns(f.t.p, f.t.n, &ns) ||
        nx__dec_ohlcv(sym, &f.o, &f.h, &f.l, &f.c, &f.v, k))
        return -1;
    k->open_ms = ns / NX_NS_PER_MS;
    return 0;
}

/* {"bars":[bar, ..],"symbol":..,"next_page_token":..}, oldest first;
 * "bars" is null when the range holds none. A malformed member ends the
 * scan; a list found before it is still used. */
int nx__rest_klines_alpaca(const char *body, size_t len, const nx_symbol_t *sym,
                           uint32_t interval_s, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad)
{
    nx_jcur_t c = {body, body + len};
    nx_jspan_t key, v, list = {0};
    if (nx_js_obj_begin(&c))
        return -1;
    for (int first = 1; nx_js_obj_key(&c, &key, first) > 0; first = 0) {
        if (nx_js_value(&c, &v))
            return -1;
        if (NX_JEQ(key, "bars"))
            list = v;
    }
    if (list.type != NX_J_ARR)
        return NX_REST_NOLIST;
    return nx__rest_kline_list(&list, sym, interval_s, rest_bar, out, cap, n, bad);
}
