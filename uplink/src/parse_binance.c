/*
 * parse_binance.c — Binance USD-M futures and spot market streams.
 *
 * One pass over the frame collects the spans of the keys Nexus uses (key
 * order is not assumed: "s" may come after "p"), then the event kind in "e"
 * decides which spans are converted. Combined-stream envelopes
 * {"stream":..,"data":{..}} recurse into "data"; `!markPrice@arr` frames are
 * arrays of payloads. Frames without "e" are the 2019-era bookTicker
 * (u, s, b, B, a, A) or subscription replies ({"result":null,"id":1}).
 *
 * Single-letter keys mean different things per kind ("a" is the aggregate
 * trade id in aggTrade, the best ask in bookTicker and the ask levels in
 * depthUpdate), so spans are kept raw and typed only when used.
 */
#include "decode_impl.h"

#include "nx/clock.h"

enum {
    F_e,
    F_E,
    F_T,
    F_s,
    F_a,
    F_p,
    F_q,
    F_m,
    F_u,
    F_b,
    F_B,
    F_A,
    F_U,
    F_pu,
    F_k,
    F_t,
    F_i,
    F_r,
    F_x,
    F_stream,
    F_data,
    F_result,
    F_id,
    F_code,
    F_msg,
    F_COUNT
};

typedef struct bn {
    nx_jspan_t v[F_COUNT]; /* spans by field, valid where `seen` has the bit */
    uint32_t seen;
} bn_t;

/* Read a field: an absent one reads as an empty span (type NX_J_BAD),
 * never as a stale pointer from an earlier frame (found by fuzz_binance).
 * Checking the bit at the few reads a kind makes is cheaper than clearing
 * 25 spans per object. */
static const nx_jspan_t bn_absent;
#define FV(f, name) (*(((f)->seen >> F_##name) & 1u ? &(f)->v[F_##name] : &bn_absent))

#define HAS(f, x) ((f)->seen & (1u << (x)))

static nx_jspan_t *field(bn_t *f, const nx_jspan_t *k, int *bit)
{
    if (k->n == 1) {
        switch (k->p[0]) {
        case 'e':
            *bit = F_e;
            return &f->v[F_e];
        case 'E':
            *bit = F_E;
            return &f->v[F_E];
        case 'T':
            *bit = F_T;
            return &f->v[F_T];
        case 's':
            *bit = F_s;
            return &f->v[F_s];
        case 'a':
            *bit = F_a;
            return &f->v[F_a];
        case 'p':
            *bit = F_p;
            return &f->v[F_p];
        case 'q':
            *bit = F_q;
            return &f->v[F_q];
        case 'm':
            *bit = F_m;
            return &f->v[F_m];
        case 'u':
            *bit = F_u;
            return &f->v[F_u];
        case 'b':
            *bit = F_b;
            return &f->v[F_b];
        case 'B':
            *bit = F_B;
            return &f->v[F_B];
        case 'A':
            *bit = F_A;
            return &f->v[F_A];
        case 'U':
            *bit = F_U;
            return &f->v[F_U];
        case 'k':
            *bit = F_k;
            return &f->v[F_k];
        case 't':
            *bit = F_t;
            return &f->v[F_t];
        case 'i':
            *bit = F_i;
            return &f->v[F_i];
        case 'r':
            *bit = F_r;
            return &f->v[F_r];
        case 'x':
            *bit = F_x;
            return &f->v[F_x];
        }
        return NULL;
    }
    if (NX_JEQ(*k, "pu")) {
        *bit = F_pu;
        return &f->v[F_pu];
    }
    if (NX_JEQ(*k, "id")) {
        *bit = F_id;
        return &f->v[F_id];
    }
    if (NX_JEQ(*k, "data")) {
        *bit = F_data;
        return &f->v[F_data];
    }
    if (NX_JEQ(*k, "stream")) {
        *bit = F_stream;
        return &f->v[F_stream];
    }
    if (NX_JEQ(*k, "result")) {
        *bit = F_result;
        return &f->v[F_result];
    }
    if (NX_JEQ(*k, "code")) {
        *bit = F_code;
        return &f->v[F_code];
    }
    if (NX_JEQ(*k, "msg")) {
        *bit = F_msg;
        return &f->v[F_msg];
    }
    return NULL;
}

/* Collect the known keys of the object at c into f. With `inner`, a
 * "data" object is collected into it in the same pass instead of being
 * skipped and scanned again (the combined-stream envelope). */
static int collect(nx_jcur_t *c, bn_t *f, bn_t *inner)
{
    f->seen = 0;
    if (nx_js_obj_begin(c))
        return -1;
    nx_jspan_t key, skip;
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(c, &key, first);
        if (r < 0)
            return r;
        if (r == 0)
            return 0;
        int bit = 0;
        nx_jspan_t *dst = field(f, &key, &bit);
        if (inner && bit == F_data && dst) {
            nx_js_ws(c);
            if (c->p < c->end && *c->p == '{') {
                const char *start = c->p;
                if (collect(c, inner, NULL))
                    return -1;
                f->v[F_data] = (nx_jspan_t){start, (uint32_t)(c->p - start), NX_J_OBJ};
                f->seen |= 1u << F_data;
                continue;
            }
        }
        if (nx_js_value(c, dst ? dst : &skip))
            return -1;
        if (dst)
            f->seen |= 1u << bit;
    }
}

/* Event time: the transaction time T when present, else E. */
static int64_t event_ns(const bn_t *f)
{
    if (HAS(f, F_T) && FV(f, T).type == NX_J_NUM)
        return nx__ms_ns(&FV(f, T));
    return HAS(f, F_E) ? nx__ms_ns(&FV(f, E)) : 0;
}

#define FAIL(what) return nx__dec_fail(d, what, buf, len)

static int trade(nx_decoder_t *d, const bn_t *f, const nx_symbol_t *sym, const char *buf,
                 size_t len, int agg)
{
    const nx_jspan_t *id = agg ? &FV(f, a) : &FV(f, t);
    if (!HAS(f, F_p) || !HAS(f, F_q) || id->type != NX_J_NUM)
        FAIL("trade without p/q/id");
    int64_t px, qty;
    uint64_t tid;
    if (nx__dec_fixed(&FV(f, p), sym->price_scale, &px) ||
        nx__dec_fixed(&FV(f, q), sym->qty_scale, &qty) || nx_js_u64(id, &tid))
        FAIL("bad trade price/qty/id");
    nx_bad_kind_t bad = nx_trade_bad(&(nx_ev_trade_t){.price = px, .qty = qty});
    if (bad)
        return nx__dec_bad(d, bad);
    nx_event_t *e = nx__dec_emit(d, NX_EV_TRADE, sym->id, event_ns(f));
    if (e) {
        /* m = buyer is the maker, so the aggressor sold. */
        uint8_t aggr =
            HAS(f, F_m) ? (FV(f, m).type == NX_J_TRUE ? NX_SIDE_SELL : NX_SIDE_BUY) : NX_SIDE_NONE;
        e->u.trade = (nx_ev_trade_t){.price = px, .qty = qty, .trade_id = tid, .aggressor = aggr};
    }
    return 0;
}

static int book_ticker(nx_decoder_t *d, const bn_t *f, const nx_symbol_t *sym, const char *buf,
                       size_t len)
{
    int64_t bp, bq, ap, aq;
    uint64_t uid = 0;
    if (nx__dec_fixed(&FV(f, b), sym->price_scale, &bp) ||
        nx__dec_fixed(&FV(f, B), sym->qty_scale, &bq) ||
        nx__dec_fixed(&FV(f, a), sym->price_scale, &ap) ||
        nx__dec_fixed(&FV(f, A), sym->qty_scale, &aq) ||
        (HAS(f, F_u) && nx_js_u64(&FV(f, u), &uid)))
        FAIL("bad bookTicker fields");
    nx_ev_bbo_t q = {bp, bq, ap, aq, uid};
    nx_bad_kind_t bad = nx_bbo_bad(&q);
    if (bad)
        return nx__dec_bad(d, bad);
    nx_event_t *e = nx__dec_emit(d, NX_EV_BBO, sym->id, event_ns(f));
    if (e)
        e->u.bbo = q;
    return 0;
}

static int kline(nx_decoder_t *d, const bn_t *f, const nx_symbol_t *sym, const char *buf,
                 size_t len)
{
    if (FV(f, k).type != NX_J_OBJ)
        FAIL("kline without k");
    nx_jcur_t c = {FV(f, k).p, FV(f, k).p + FV(f, k).n};
    nx_jspan_t key, v, t = {0}, i = {0}, o = {0}, h = {0}, l = {0}, cl = {0}, vol = {0}, n = {0},
                       x = {0}, q = {0};
    if (nx_js_obj_begin(&c))
        FAIL("bad kline object");
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(&c, &key, first);
        if (r < 0)
            FAIL("bad kline object");
        if (r == 0)
            break;
        if (nx_js_value(&c, &v))
            FAIL("bad kline value");
        if (key.n != 1)
            continue;
        switch (key.p[0]) {
        case 't':
            t = v;
            break;
        case 'i':
            i = v;
            break;
        case 'o':
            o = v;
            break;
        case 'h':
            h = v;
            break;
        case 'l':
            l = v;
            break;
        case 'c':
            cl = v;
            break;
        case 'v':
            vol = v;
            break;
        case 'n':
            n = v;
            break;
        case 'x':
            x = v;
            break;
        case 'q':
            q = v;
            break;
        }
    }
    nx_ev_kline_t k = {0};
    uint64_t trades = 0;
    uint32_t iv = i.type == NX_J_STR ? nx_interval_seconds(d->venue, i.p, i.n) : 0;
    if (t.type != NX_J_NUM || nx_js_i64(&t, &k.open_ms) || iv == 0 ||
        nx__dec_ohlcv(sym, &o, &h, &l, &cl, &vol, &k) ||
        (q.type && nx__dec_fixed(&q, sym->price_scale, &k.quote_volume)) ||
        (n.type && nx_js_u64(&n, &trades)) || (x.type != NX_J_TRUE && x.type != NX_J_FALSE))
        FAIL("bad kline fields");
    k.interval_s = iv;
    k.trades = (uint32_t)trades;
    k.closed = x.type == NX_J_TRUE;
    nx_bad_kind_t bad = nx_kline_bad(&k);
    if (bad)
        return nx__dec_bad(d, bad);
    nx_event_t *e = nx__dec_emit(d, NX_EV_KLINE, sym->id, nx__ms_ns(&FV(f, E)));
    if (e)
        e->u.kline = k;
    return 0;
}

/* Emit one NX_EV_BOOK per [price, qty] pair of a level array. */
static int levels(nx_decoder_t *d, const nx_jspan_t *arr, uint8_t side, const nx_symbol_t *sym,
                  int64_t ts, uint64_t first_id, uint64_t last_id, uint64_t prev_id,
                  uint64_t venue_seq, uint32_t *count)
{
    nx_jcur_t c = {arr->p, arr->p + arr->n};
    if (nx_js_arr_begin(&c))
        return -1;
    for (int first = 1;; first = 0) {
        int r = nx_js_arr_next(&c, first);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0;
        nx_jspan_t px, qty;
        if (nx_js_arr_begin(&c) || nx_js_arr_next(&c, 1) != 1 || nx_js_value(&c, &px) ||
            nx_js_arr_next(&c, 0) != 1 || nx_js_value(&c, &qty))
            return -1;
        /* Tolerate extra elements in a level (some venues add a count). */
        for (;;) {
            int more = nx_js_arr_next(&c, 0);
            if (more < 0)
                return -1;
            if (more == 0)
                break;
            nx_jspan_t extra;
            if (nx_js_value(&c, &extra))
                return -1;
        }
        int64_t p, q;
        if (nx__dec_fixed(&px, sym->price_scale, &p) || nx__dec_fixed(&qty, sym->qty_scale, &q))
            return -1;
        if (p <= 0 || q < 0) {
            nx__dec_bad(d, p <= 0 ? NX_BAD_PRICE : NX_BAD_QTY);
            return -1;
        }
        nx_event_t *e = nx__dec_emit(d, NX_EV_BOOK, sym->id, ts);
        if (e)
            e->u.book = (nx_ev_book_t){p, q, first_id, last_id, prev_id, venue_seq, side};
        (*count)++;
    }
}

/* Shared with the Bybit parser: levels of both sides, or one marker event
 * (side NONE) when there are none, so the update-id chain stays visible. */
int nx__dec_levels(nx_decoder_t *d, const nx_jspan_t *bids, const nx_jspan_t *asks,
                   const nx_symbol_t *sym, int64_t ts, uint64_t first_id, uint64_t last_id,
                   uint64_t prev_id, uint64_t venue_seq)
{
    uint32_t count = 0;
    if ((bids->type == NX_J_ARR &&
         levels(d, bids, NX_SIDE_BUY, sym, ts, first_id, last_id, prev_id, venue_seq, &count)) ||
        (asks->type == NX_J_ARR &&
         levels(d, asks, NX_SIDE_SELL, sym, ts, first_id, last_id, prev_id, venue_seq, &count)))
        return -1;
    if (count == 0) {
        nx_event_t *e = nx__dec_emit(d, NX_EV_BOOK, sym->id, ts);
        if (e)
            e->u.book = (nx_ev_book_t){0, 0, first_id, last_id, prev_id, venue_seq, NX_SIDE_NONE};
    }
    return 0;
}

static int depth(nx_decoder_t *d, const bn_t *f, const nx_symbol_t *sym, const char *buf,
                 size_t len)
{
    uint64_t U = 0, u = 0, pu = 0;
    if (nx_js_u64(&FV(f, U), &U) || nx_js_u64(&FV(f, u), &u) ||
        (HAS(f, F_pu) && nx_js_u64(&FV(f, pu), &pu)) ||
        (HAS(f, F_b) && FV(f, b).type != NX_J_ARR) || (HAS(f, F_a) && FV(f, a).type != NX_J_ARR))
        FAIL("bad depthUpdate ids or levels");
    /* Partial-book streams (<sym>@depth5/10/20) replace the book. */
    if (HAS(f, F_stream) && FV(f, stream).type == NX_J_STR) {
        const char *at = memchr(FV(f, stream).p, '@', FV(f, stream).n);
        if (at && (size_t)(FV(f, stream).p + FV(f, stream).n - at) > 6 &&
            memcmp(at, "@depth", 6) == 0 && at[6] >= '0' && at[6] <= '9')
            d->frame_flags |= NX_EVF_SNAPSHOT;
    }
    nx_jspan_t none = {0};
    if (nx__dec_levels(d, HAS(f, F_b) ? &FV(f, b) : &none, HAS(f, F_a) ? &FV(f, a) : &none, sym,
                       event_ns(f), U, u, pu, 0))
        FAIL("bad depth level");
    return 0;
}

static int mark(nx_decoder_t *d, const bn_t *f, const nx_symbol_t *sym, const char *buf, size_t len)
{
    int64_t mp, ip = 0, fr = 0, nf = 0;
    if (nx__dec_fixed(&FV(f, p), sym->price_scale, &mp) ||
        (HAS(f, F_i) && nx__dec_fixed(&FV(f, i), sym->price_scale, &ip)) ||
        (HAS(f, F_r) && FV(f, r).n && nx__dec_fixed(&FV(f, r), 8, &fr)) ||
        (HAS(f, F_T) && nx_js_i64(&FV(f, T), &nf)))
        FAIL("bad markPriceUpdate fields");
    nx_ev_mark_t m = {mp, ip, fr, nf};
    if (nx_mark_bad(&m)) {
        nx__dec_bad(d, nx_mark_bad(&m));
        return 0; /* the rest of a !markPrice@arr frame goes on */
    }
    nx_event_t *e = nx__dec_emit(d, NX_EV_MARK, sym->id, nx__ms_ns(&FV(f, E)));
    if (e)
        e->u.mark = m;
    return 0;
}

static int dispatch(nx_decoder_t *d, bn_t *f, const char *buf, size_t len);

static int payload(nx_decoder_t *d, nx_jcur_t *c, const nx_jspan_t *stream, const char *buf,
                   size_t len, int top)
{
    bn_t f, inner;
    if (collect(c, &f, top ? &inner : NULL))
        FAIL("malformed JSON");
    if (stream) {
        f.v[F_stream] = *stream;
        f.seen |= 1u << F_stream;
    }
    if (!HAS(&f, F_data))
        return dispatch(d, &f, buf, len);
    if (!top)
        FAIL("nested envelope");
    if (FV(&f, data).type == NX_J_OBJ) {
        /* Collected in the same pass. */
        if (HAS(&f, F_stream)) {
            inner.v[F_stream] = FV(&f, stream);
            inner.seen |= 1u << F_stream;
        }
        return dispatch(d, &inner, buf, len);
    }
    if (FV(&f, data).type != NX_J_ARR)
        FAIL("data is not an object");
    /* {"stream":"!markPrice@arr","data":[...]} */
    nx_jcur_t dc = {FV(&f, data).p, FV(&f, data).p + FV(&f, data).n};
    if (nx_js_arr_begin(&dc))
        FAIL("malformed data array");
    for (int first = 1;; first = 0) {
        int r = nx_js_arr_next(&dc, first);
        if (r < 0)
            FAIL("malformed data array");
        if (r == 0)
            return 0;
        int rc = payload(d, &dc, HAS(&f, F_stream) ? &FV(&f, stream) : NULL, buf, len, 0);
        if (rc < 0)
            return rc;
    }
}

static int dispatch(nx_decoder_t *d, bn_t *fp, const char *buf, size_t len)
{
#define f (*fp)
    if (!HAS(&f, F_e)) {
        if (HAS(&f, F_result) || HAS(&f, F_id) || HAS(&f, F_code))
            return NX_DEC_CONTROL;
        if (HAS(&f, F_u) && HAS(&f, F_b) && HAS(&f, F_a) && HAS(&f, F_s)) {
            /* 2019-era bookTicker without "e". */
            uint32_t id = nx__dec_symbol(d, &FV(&f, s));
            if (id == NX_SYMBOL_NONE)
                return NX_DEC_NOSYM;
            return book_ticker(d, &f, nx_symtab_get(d->symtab, id), buf, len);
        }
        FAIL("unexpected frame");
    }
    if (FV(&f, e).type != NX_J_STR)
        FAIL("event type is not a string");
    enum { K_AGG, K_TRADE, K_BBO, K_KLINE, K_DEPTH, K_MARK, K_OTHER } kind = K_OTHER;
    if (NX_JEQ(FV(&f, e), "aggTrade"))
        kind = K_AGG;
    else if (NX_JEQ(FV(&f, e), "bookTicker"))
        kind = K_BBO;
    else if (NX_JEQ(FV(&f, e), "depthUpdate"))
        kind = K_DEPTH;
    else if (NX_JEQ(FV(&f, e), "kline"))
        kind = K_KLINE;
    else if (NX_JEQ(FV(&f, e), "trade"))
        kind = K_TRADE;
    else if (NX_JEQ(FV(&f, e), "markPriceUpdate"))
        kind = K_MARK;
    if (kind == K_OTHER)
        return NX_DEC_IGNORED;
    if (!HAS(&f, F_s))
        FAIL("event without symbol");
    uint32_t id = nx__dec_symbol(d, &FV(&f, s));
    if (id == NX_SYMBOL_NONE)
        return NX_DEC_NOSYM;
    const nx_symbol_t *sym = nx_symtab_get(d->symtab, id);
    switch (kind) {
    case K_AGG:
        return trade(d, &f, sym, buf, len, 1);
    case K_TRADE:
        return trade(d, &f, sym, buf, len, 0);
    case K_BBO:
        return book_ticker(d, &f, sym, buf, len);
    case K_KLINE:
        return kline(d, &f, sym, buf, len);
    case K_DEPTH:
        return depth(d, &f, sym, buf, len);
    case K_MARK:
        return mark(d, &f, sym, buf, len);
    default:
        return NX_DEC_IGNORED;
    }
}
#undef f

int nx__parse_binance(nx_decoder_t *d, const char *buf, size_t len)
{
    nx_jcur_t c = {buf, buf + len};
    nx_js_ws(&c);
    if (c.p < c.end && *c.p == '[') {
        /* !markPrice@arr on a raw connection: an array of payloads. */
        if (nx_js_arr_begin(&c))
            FAIL("malformed array");
        for (int first = 1;; first = 0) {
            int r = nx_js_arr_next(&c, first);
            if (r < 0)
                FAIL("malformed array");
            if (r == 0)
                break;
            int rc = payload(d, &c, NULL, buf, len, 0);
            if (rc < 0)
                return rc;
        }
    } else {
        int rc = payload(d, &c, NULL, buf, len, 1);
        if (rc)
            return rc;
    }
    nx_js_ws(&c);
    if (c.p != c.end)
        FAIL("trailing bytes after JSON");
    return 0;
}

int nx_decode_binance_depth_snapshot(nx_decoder_t *d, uint32_t symbol, const char *buf, size_t len,
                                     uint64_t *first_seq)
{
    d->st.frames++;
    d->frame_flags = NX_EVF_SNAPSHOT;
    nx__dec_begin(d);
    const nx_symbol_t *sym = nx_symtab_get(d->symtab, symbol);
    if (!sym)
        FAIL("snapshot for unknown symbol");
    nx_jcur_t c = {buf, buf + len};
    nx_jspan_t key, v, bids = {0}, asks = {0}, lid = {0}, T = {0}, E = {0};
    if (nx_js_obj_begin(&c))
        FAIL("malformed depth snapshot");
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(&c, &key, first);
        if (r < 0)
            FAIL("malformed depth snapshot");
        if (r == 0)
            break;
        if (nx_js_value(&c, &v))
            FAIL("malformed depth snapshot");
        if (NX_JEQ(key, "bids"))
            bids = v;
        else if (NX_JEQ(key, "asks"))
            asks = v;
        else if (NX_JEQ(key, "lastUpdateId"))
            lid = v;
        else if (NX_JEQ(key, "T"))
            T = v;
        else if (NX_JEQ(key, "E"))
            E = v;
    }
    uint64_t L;
    if (nx_js_u64(&lid, &L) || bids.type != NX_J_ARR || asks.type != NX_J_ARR)
        FAIL("depth snapshot without lastUpdateId/bids/asks");
    int64_t ts = T.type == NX_J_NUM ? nx__ms_ns(&T) : E.type == NX_J_NUM ? nx__ms_ns(&E) : 0;
    if (nx__dec_levels(d, &bids, &asks, sym, ts, L, L, 0, 0))
        FAIL("bad depth snapshot level");
    return nx__dec_commit(d, first_seq);
}

/* ---------- REST klines (backfill) ---------- */

/* Shared with the Bybit parser: Binance rows [openTime, "o", "h", "l",
 * "c", "v", closeTime, ...] and Bybit rows ["start", "o", "h", "l", "c",
 * "v", "turnover"] agree on their first six elements. */
int nx__rest_kline_row(nx_jcur_t *c, const nx_symbol_t *sym, nx_ev_kline_t *k)
{
    nx_jspan_t el[6];
    int ne = 0;
    if (nx_js_arr_begin(c))
        return -1;
    for (int first = 1;; first = 0) {
        int r = nx_js_arr_next(c, first);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        nx_jspan_t x;
        if (nx_js_value(c, &x))
            return -1;
        if (ne < 6)
            el[ne] = x;
        ne++;
    }
    uint64_t open_ms;
    if (ne < 6 || nx_js_u64(&el[0], &open_ms) ||
        nx__dec_ohlcv(sym, &el[1], &el[2], &el[3], &el[4], &el[5], k))
        return -1;
    k->open_ms = (int64_t)open_ms;
    return 0;
}

/* GET /fapi/v1/klines or /api/v3/klines: the body is the list itself,
 * oldest first. */
int nx__rest_klines_binance(const char *body, size_t len, const nx_symbol_t *sym,
                            uint32_t interval_s, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad)
{
    nx_jcur_t c = {body, body + len};
    nx_js_ws(&c);
    nx_jspan_t list = {c.p, (uint32_t)(c.end - c.p), NX_J_ARR};
    return nx__rest_kline_list(&list, sym, interval_s, nx__rest_kline_row, out, cap, n, bad);
}
