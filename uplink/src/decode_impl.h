/*
 * decode_impl.h — helpers shared by the venue parsers (private to uplink).
 */
#ifndef NX_DECODE_IMPL_H
#define NX_DECODE_IMPL_H

#include "nx/decode.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/jscan.h"

/* Start a frame: remember where its events begin. */
void nx__dec_begin(nx_decoder_t *d);

/* Claim one event slot for the current frame and fill its header; NULL if
 * the ring was full (counted as dropped; the frame goes on). */
nx_event_t *nx__dec_emit(nx_decoder_t *d, nx_event_type_t type, uint32_t symbol, int64_t exch_ns);

/* Finish the frame: publish its events (the last flagged NX_EVF_LAST) and
 * return how many. */
int nx__dec_commit(nx_decoder_t *d, uint64_t *first_seq);

/* Abandon the frame: un-claim its slots, count an error, keep an excerpt. */
int nx__dec_fail(nx_decoder_t *d, const char *what, const char *frame, size_t len);

/* Symbol id for a span, interning it when the decoder auto-interns.
 * NX_SYMBOL_NONE if unknown. */
uint32_t nx__dec_symbol(nx_decoder_t *d, const nx_jspan_t *s);

/* Epoch milliseconds in a span (number or digit string) to ns; 0 when
 * absent, malformed, or beyond what int64 ns can hold (year 2262). */
static inline int64_t nx__ms_ns(const nx_jspan_t *v)
{
    int64_t ms;
    if ((v->type != NX_J_NUM && v->type != NX_J_STR) || nx_js_i64(v, &ms) ||
        ms > INT64_MAX / 1000000 || ms < -(INT64_MAX / 1000000))
        return 0;
    return ms * 1000000;
}

/* Fixed-point of a span (a string or a bare number) at a scale. */
static inline int nx__dec_fixed(const nx_jspan_t *v, unsigned scale, int64_t *out)
{
    if (v->type != NX_J_STR && v->type != NX_J_NUM)
        return NX_ESYNTAX;
    return nx_fixed_parse(v->p, v->n, scale, out);
}

/* Emit NX_EV_BOOK events for [[price, qty], ...] arrays of both sides, or
 * one marker (side NONE) when both are empty. -1 on a malformed level. */
int nx__dec_levels(nx_decoder_t *d, const nx_jspan_t *bids, const nx_jspan_t *asks,
                   const nx_symbol_t *sym, int64_t ts, uint64_t first_id, uint64_t last_id,
                   uint64_t prev_id, uint64_t venue_seq);

/* A candle's open, high, low, close (price scale) and volume (qty scale)
 * into k. Returns 0 or the first nx_fixed_parse error. */
static inline int nx__dec_ohlcv(const nx_symbol_t *s, const nx_jspan_t *o, const nx_jspan_t *h,
                                const nx_jspan_t *l, const nx_jspan_t *c, const nx_jspan_t *v,
                                nx_ev_kline_t *k)
{
    int rc;
    if ((rc = nx__dec_fixed(o, s->price_scale, &k->open)) ||
        (rc = nx__dec_fixed(h, s->price_scale, &k->high)) ||
        (rc = nx__dec_fixed(l, s->price_scale, &k->low)) ||
        (rc = nx__dec_fixed(c, s->price_scale, &k->close)))
        return rc;
    return nx__dec_fixed(v, s->qty_scale, &k->volume);
}

int nx__parse_binance(nx_decoder_t *d, const char *buf, size_t len);
int nx__parse_bybit(nx_decoder_t *d, const char *buf, size_t len);
int nx__parse_alpaca(nx_decoder_t *d, const char *buf, size_t len);

/* ---- REST kline answers (the feed's backfill) ----
 *
 * The body of one kline request (Binance GET /fapi/v1/klines or
 * /api/v3/klines, Bybit GET /v5/market/kline, Alpaca GET
 * /v2/stocks/{symbol}/bars) to the closed candles of `sym`, oldest first,
 * into out[0 .. *n), at most `cap` (a longer list is cut there). Each
 * candle gets open_ms, open..volume at the symbol's scales, interval_s and
 * closed = 1; trades and quote volume stay 0 (the backfill never used
 * them). A candle that cannot be true (nx_kline_bad) is left out and
 * counted in bad[kind] (bad has NX_BAD_COUNT entries, or is NULL). Unlike
 * frames, an answer claims no ring slot and touches no decoder: the feed
 * decides what to publish and counts. No allocation.
 *
 * Returns 0 (with *n, possibly 0), NX_REST_NOLIST when the answer holds no
 * candle list at all (Alpaca: "bars" null or absent), or -1 when it is
 * malformed (nothing in out[] is to be used then). */
#define NX_REST_NOLIST 1
int nx__rest_klines(nx_venue_t venue, const char *body, size_t len, const nx_symbol_t *sym,
                    uint32_t interval_s, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad);
int nx__rest_klines_binance(const char *body, size_t len, const nx_symbol_t *sym,
                            uint32_t interval_s, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad);
int nx__rest_klines_bybit(const char *body, size_t len, const nx_symbol_t *sym, uint32_t interval_s,
                          nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad);
int nx__rest_klines_alpaca(const char *body, size_t len, const nx_symbol_t *sym,
                           uint32_t interval_s, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad);

/* One element of a REST kline list at the cursor into k (open_ms and
 * open..volume), consuming it. Returns 0 or -1. */
typedef int nx__kline_row_cb(nx_jcur_t *c, const nx_symbol_t *sym, nx_ev_kline_t *k);

/* Binance and Bybit rows: [open time, o, h, l, c, v, ...] (shared). */
int nx__rest_kline_row(nx_jcur_t *c, const nx_symbol_t *sym, nx_ev_kline_t *k);

/* Walk the JSON array `list`, one candle per element through `row`, into
 * out[] as nx__rest_klines describes (in the venue's order). */
int nx__rest_kline_list(const nx_jspan_t *list, const nx_symbol_t *sym, uint32_t interval_s,
                        nx__kline_row_cb *row, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad_out);

/* Parser outcomes other than "events emitted": */
#define NX_DEC_CONTROL 1 /* a control frame: no events */
#define NX_DEC_IGNORED 2 /* a well-formed frame Nexus does not use */
#define NX_DEC_NOSYM   3 /* a frame for a symbol not in the table */
#define NX_DEC_BAD     4 /* a frame whose one value cannot be true (counted by kind) */

/* Count a value refused by kind; returns NX_DEC_BAD for a parser that
 * refuses its frame's only event. */
static inline int nx__dec_bad(nx_decoder_t *d, nx_bad_kind_t k)
{
    __atomic_fetch_add(&d->st.bad[k], 1, __ATOMIC_RELAXED);
    return NX_DEC_BAD;
}

#endif
