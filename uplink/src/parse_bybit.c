/*
 * parse_bybit.c — Bybit V5 public streams (linear and spot).
 *
 * Frames are {"topic":"<kind>.<args>","type":"snapshot|delta","ts":..,
 * "data":..} or control replies ({"op":"subscribe","success":true,..}).
 * The topic prefix decides the kind: publicTrade, orderbook.<depth>,
 * kline.<interval>, tickers. Key order is not assumed (Bybit documents that
 * "ts" moves around), so the top level is collected first.
 *
 * Tickers deltas carry only the fields that changed; the decoder keeps the
 * merged view per symbol (d->tickers) so each emitted BBO/MARK is whole.
 * Trade ids are UUID strings on linear and digit strings on spot: digits
 * become the integer, anything else a 64-bit FNV-1a hash of the string (a
 * stable id for de-duplication; venue ids are never sent back).
 */
#include "decode_impl.h"

#include "nx/clock.h"

#define FAIL(what) return nx__dec_fail(d, what, buf, len)

static uint64_t trade_id(const nx_jspan_t *v)
{
    uint64_t x;
    if (nx_js_u64(v, &x) == 0)
        return x;
    uint64_t h = 1469598103934665603ULL;
    for (uint32_t i = 0; i < v->n; i++) {
        h ^= (unsigned char)v->p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static int trades(nx_decoder_t *d, const nx_jspan_t *data, const char *buf, size_t len)
{
    if (data->type != NX_J_ARR)
        FAIL("publicTrade data is not an array");
    nx_jcur_t c = {data->p, data->p + data->n};
    nx_js_arr_begin(&c);
    int any_known = 0, any = 0;
    for (int first = 1;; first = 0) {
        int r = nx_js_arr_next(&c, first);
        if (r < 0)
            FAIL("malformed publicTrade array");
        if (r == 0)
            break;
        nx_jspan_t key, v, T = {0}, s = {0}, S = {0}, vol = {0}, p = {0}, i = {0};
        if (nx_js_obj_begin(&c))
            FAIL("publicTrade element is not an object");
        for (int f2 = 1;; f2 = 0) {
            int k = nx_js_obj_key(&c, &key, f2);
            if (k < 0)
                FAIL("malformed publicTrade element");
            if (k == 0)
                break;
            if (nx_js_value(&c, &v))
                FAIL("malformed publicTrade value");
            if (key.n != 1)
                continue;
            switch (key.p[0]) {
            case 'T':
                T = v;
                break;
            case 's':
                s = v;
                break;
            case 'S':
                S = v;
                break;
            case 'v':
                vol = v;
                break;
            case 'p':
                p = v;
                break;
            case 'i':
                i = v;
                break;
            }
        }
        any = 1;
        uint32_t id = nx__dec_symbol(d, &s);
        if (id == NX_SYMBOL_NONE)
            continue;
        any_known = 1;
        const nx_symbol_t *sym = nx_symtab_get(d->symtab, id);
        int64_t px, qty;
        if (nx__dec_fixed(&p, sym->price_scale, &px) || nx__dec_fixed(&vol, sym->qty_scale, &qty) ||
            T.type != NX_J_NUM || i.type != NX_J_STR)
            FAIL("bad publicTrade fields");
        nx_bad_kind_t bad = nx_trade_bad(&(nx_ev_trade_t){.price = px, .qty = qty});
        if (bad) { /* this trade only: the frame's others go on */
            nx__dec_bad(d, bad);
            continue;
        }
        nx_event_t *e = nx__dec_emit(d, NX_EV_TRADE, id, nx__ms_ns(&T));
        if (e) {
            uint8_t aggr = NX_JEQ(S, "Buy")    ? NX_SIDE_BUY
                           : NX_JEQ(S, "Sell") ? NX_SIDE_SELL
                                               : NX_SIDE_NONE;
            e->u.trade = (nx_ev_trade_t){px, qty, trade_id(&i), aggr};
        }
    }
    return any && !any_known ? NX_DEC_NOSYM : 0;
}

static int orderbook(nx_decoder_t *d, const nx_jspan_t *data, int snapshot, int64_t ts,
                     const char *buf, size_t len)
{
    if (data->type != NX_J_OBJ)
        FAIL("orderbook data is not an object");
    nx_jcur_t c = {data->p, data->p + data->n};
    nx_jspan_t key, v, s = {0}, b = {0}, a = {0}, u = {0}, seq = {0};
    nx_js_obj_begin(&c);
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(&c, &key, first);
        if (r < 0)
            FAIL("malformed orderbook data");
        if (r == 0)
            break;
        if (nx_js_value(&c, &v))
            FAIL("malformed orderbook value");
        if (NX_JEQ(key, "s"))
            s = v;
        else if (NX_JEQ(key, "b"))
            b = v;
        else if (NX_JEQ(key, "a"))
            a = v;
        else if (NX_JEQ(key, "u"))
            u = v;
        else if (NX_JEQ(key, "seq"))
            seq = v;
    }
    uint64_t uid, vseq = 0;
    if (nx_js_u64(&u, &uid) || (seq.type && nx_js_u64(&seq, &vseq)) ||
        (b.type && b.type != NX_J_ARR) || (a.type && a.type != NX_J_ARR))
        FAIL("bad orderbook ids or levels");
    uint32_t id = nx__dec_symbol(d, &s);
    if (id == NX_SYMBOL_NONE)
        return NX_DEC_NOSYM;
    if (snapshot)
        d->frame_flags |= NX_EVF_SNAPSHOT;
    /* Bybit has no "previous id" field: deltas chain by u = previous u + 1. */
    if (nx__dec_levels(d, &b, &a, nx_symtab_get(d->symtab, id), ts, uid, uid, 0, vseq))
        FAIL("bad orderbook level");
    return 0;
}

static int klines(nx_decoder_t *d, const nx_jspan_t *topic, const nx_jspan_t *data, const char *buf,
                  size_t len)
{
    /* kline.<interval>.<symbol> */
    const char *dot = memchr(topic->p + 6, '.', topic->n - 6);
    if (!dot || data->type != NX_J_ARR)
        FAIL("bad kline topic or data");
    nx_jspan_t sname = {dot + 1, (uint32_t)(topic->p + topic->n - dot - 1), NX_J_STR};
    uint32_t id = nx__dec_symbol(d, &sname);
    if (id == NX_SYMBOL_NONE)
        return NX_DEC_NOSYM;
    const nx_symbol_t *sym = nx_symtab_get(d->symtab, id);
    nx_jcur_t c = {data->p, data->p + data->n};
    nx_js_arr_begin(&c);
    for (int first = 1;; first = 0) {
        int r = nx_js_arr_next(&c, first);
        if (r < 0)
            FAIL("malformed kline array");
        if (r == 0)
            return 0;
        nx_jspan_t key, v, start = {0}, iv = {0}, o = {0}, cl = {0}, h = {0}, l = {0}, vol = {0},
                           to = {0}, conf = {0}, ts = {0};
        if (nx_js_obj_begin(&c))
            FAIL("kline element is not an object");
        for (int f2 = 1;; f2 = 0) {
            int k = nx_js_obj_key(&c, &key, f2);
            if (k < 0)
                FAIL("malformed kline element");
            if (k == 0)
                break;
            if (nx_js_value(&c, &v))
                FAIL("malformed kline value");
            if (NX_JEQ(key, "start"))
                start = v;
            else if (NX_JEQ(key, "interval"))
                iv = v;
            else if (NX_JEQ(key, "open"))
                o = v;
            else if (NX_JEQ(key, "close"))
                cl = v;
            else if (NX_JEQ(key, "high"))
                h = v;
            else if (NX_JEQ(key, "low"))
                l = v;
            else if (NX_JEQ(key, "volume"))
                vol = v;
            else if (NX_JEQ(key, "turnover"))
                to = v;
            else if (NX_JEQ(key, "confirm"))
                conf = v;
            else if (NX_JEQ(key, "timestamp"))
                ts = v;
        }
        nx_ev_kline_t k = {0};
        uint32_t secs = iv.type == NX_J_STR ? nx_interval_seconds(d->venue, iv.p, iv.n) : 0;
        if (start.type != NX_J_NUM || nx_js_i64(&start, &k.open_ms) || secs == 0 ||
            nx__dec_ohlcv(sym, &o, &h, &l, &cl, &vol, &k) ||
            (to.type && nx__dec_fixed(&to, sym->price_scale, &k.quote_volume)) ||
            (conf.type != NX_J_TRUE && conf.type != NX_J_FALSE))
            FAIL("bad kline fields");
        k.interval_s = secs;
        k.closed = conf.type == NX_J_TRUE;
        nx_bad_kind_t bad = nx_kline_bad(&k);
        if (bad) {
            nx__dec_bad(d, bad);
            continue;
        }
        nx_event_t *e = nx__dec_emit(d, NX_EV_KLINE, id, nx__ms_ns(&ts));
        if (e)
            e->u.kline = k;
    }
}

static int tickers(nx_decoder_t *d, const nx_jspan_t *data, int snapshot, int64_t ts,
                   const char *buf, size_t len)
{
    if (data->type != NX_J_OBJ)
        FAIL("tickers data is not an object");
    nx_jcur_t c = {data->p, data->p + data->n};
    nx_jspan_t key, v, sym = {0}, bp = {0}, bs = {0}, ap = {0}, as = {0}, mp = {0}, ip = {0},
                       fr = {0}, nf = {0};
    nx_js_obj_begin(&c);
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(&c, &key, first);
        if (r < 0)
            FAIL("malformed tickers data");
        if (r == 0)
            break;
        if (nx_js_value(&c, &v))
            FAIL("malformed tickers value");
        if (NX_JEQ(key, "symbol"))
            sym = v;
        else if (NX_JEQ(key, "bid1Price"))
            bp = v;
        else if (NX_JEQ(key, "bid1Size"))
            bs = v;
        else if (NX_JEQ(key, "ask1Price"))
            ap = v;
        else if (NX_JEQ(key, "ask1Size"))
            as = v;
        else if (NX_JEQ(key, "markPrice"))
            mp = v;
        else if (NX_JEQ(key, "indexPrice"))
            ip = v;
        else if (NX_JEQ(key, "fundingRate"))
            fr = v;
        else if (NX_JEQ(key, "nextFundingTime"))
            nf = v;
    }
    uint32_t id = nx__dec_symbol(d, &sym);
    if (id == NX_SYMBOL_NONE)
        return NX_DEC_NOSYM;
    const nx_symbol_t *s = nx_symtab_get(d->symtab, id);
    nx_ticker_state_t *t = &d->tickers[id];
    if (snapshot)
        memset(t, 0, sizeof *t);
        /* Empty strings appear for fields a product lacks (nextFundingTime on
         * dated futures): treat them as absent. */
    /* A price of zero or less, or a size below zero, is refused (counted)
     * and the merged view keeps what it had. */
#define TAKE(span, scale, dst, bad_below)                                                          \
    do {                                                                                           \
        if ((span).type == NX_J_STR && (span).n) {                                                 \
            int64_t v_;                                                                            \
            if (nx__dec_fixed(&(span), (scale), &v_))                                              \
                FAIL("bad tickers number");                                                        \
            if (v_ < (bad_below))                                                                  \
                nx__dec_bad(d, (bad_below) ? NX_BAD_PRICE : NX_BAD_QTY);                           \
            else                                                                                   \
                (dst) = v_;                                                                        \
        }                                                                                          \
    } while (0)
    TAKE(bp, s->price_scale, t->bid_px, 1);
    TAKE(bs, s->qty_scale, t->bid_qty, 0);
    TAKE(ap, s->price_scale, t->ask_px, 1);
    TAKE(as, s->qty_scale, t->ask_qty, 0);
    TAKE(mp, s->price_scale, t->mark_px, 1);
    TAKE(ip, s->price_scale, t->index_px, 0);
    TAKE(fr, 8, t->funding_rate_e8, INT64_MIN);
    TAKE(nf, 0, t->next_funding_ms, 0);
#undef TAKE
    int bbo_changed = (bp.n || bs.n || ap.n || as.n);
    int mark_changed = (mp.n || ip.n || fr.n);
    if (bbo_changed && t->bid_px > 0 && t->ask_px > 0) {
        nx_event_t *e = nx__dec_emit(d, NX_EV_BBO, id, ts);
        if (e)
            e->u.bbo = (nx_ev_bbo_t){t->bid_px, t->bid_qty, t->ask_px, t->ask_qty, 0};
    }
    if (mark_changed && t->mark_px > 0) {
        nx_event_t *e = nx__dec_emit(d, NX_EV_MARK, id, ts);
        if (e)
            e->u.mark =
                (nx_ev_mark_t){t->mark_px, t->index_px, t->funding_rate_e8, t->next_funding_ms};
    }
    return 0;
}

int nx__parse_bybit(nx_decoder_t *d, const char *buf, size_t len)
{
    nx_jcur_t c = {buf, buf + len};
    nx_jspan_t key, v, topic = {0}, type = {0}, ts = {0}, data = {0};
    int control = 0;
    if (nx_js_obj_begin(&c))
        FAIL("frame is not a JSON object");
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(&c, &key, first);
        if (r < 0)
            FAIL("malformed JSON");
        if (r == 0)
            break;
        if (nx_js_value(&c, &v))
            FAIL("malformed JSON value");
        if (NX_JEQ(key, "topic"))
            topic = v;
        else if (NX_JEQ(key, "type"))
            type = v;
        else if (NX_JEQ(key, "ts"))
            ts = v;
        else if (NX_JEQ(key, "data"))
            data = v;
        else if (NX_JEQ(key, "op") || NX_JEQ(key, "success") || NX_JEQ(key, "ret_msg"))
            control = 1;
    }
    nx_js_ws(&c);
    if (c.p != c.end)
        FAIL("trailing bytes after JSON");
    if (topic.type != NX_J_STR) {
        if (control)
            return NX_DEC_CONTROL;
        FAIL("frame without topic");
    }
    int snapshot = NX_JEQ(type, "snapshot");
    int64_t t = nx__ms_ns(&ts);
#define PREFIX(lit) (topic.n > sizeof(lit) - 1 && memcmp(topic.p, lit, sizeof(lit) - 1) == 0)
    if (PREFIX("publicTrade."))
        return trades(d, &data, buf, len);
    if (PREFIX("orderbook."))
        return orderbook(d, &data, snapshot, t, buf, len);
    if (PREFIX("kline."))
        return klines(d, &topic, &data, buf, len);
    if (PREFIX("tickers."))
        return tickers(d, &data, snapshot, t, buf, len);
#undef PREFIX
    return NX_DEC_IGNORED;
}

/* GET /v5/market/kline: {"retCode":0,..,"result":{..,"list":[row, ..]}}
 * with rows as Binance's (nx__rest_kline_row), newest first. A malformed
 * member ends the scan; a list found before it is still used. */
int nx__rest_klines_bybit(const char *body, size_t len, const nx_symbol_t *sym, uint32_t interval_s,
                          nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad)
{
    nx_jcur_t c = {body, body + len};
    nx_jspan_t key, v, list = {0};
    if (nx_js_obj_begin(&c))
        return -1;
    for (int first = 1; nx_js_obj_key(&c, &key, first) > 0; first = 0) {
        if (NX_JEQ(key, "result")) {
            if (nx_js_obj_begin(&c))
                return -1;
            for (int f2 = 1; nx_js_obj_key(&c, &key, f2) > 0; f2 = 0) {
                if (nx_js_value(&c, &v))
                    return -1;
                if (NX_JEQ(key, "list"))
                    list = v;
            }
            continue;
        }
        if (nx_js_value(&c, &v))
            return -1;
    }
    if (list.type != NX_J_ARR ||
        nx__rest_kline_list(&list, sym, interval_s, nx__rest_kline_row, out, cap, n, bad))
        return -1;
    for (uint32_t i = 0; i < *n / 2; i++) { /* oldest first */
        nx_ev_kline_t t = out[i];
        out[i] = out[*n - 1 - i];
        out[*n - 1 - i] = t;
    }
    return 0;
}
