/*
 * decode.c — the decoder frame protocol (begin, emit, commit or fail),
 * symbol lookup, and the small text conversions the parsers share.
 */
#include "decode_impl.h"

#include "nx/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nx_decoder_init(nx_decoder_t *d, nx_venue_t venue, nx_symtab_t *symtab, nx_ring_t *ring)
{
    if (!d || !symtab || !ring || venue <= NX_VENUE_NONE || venue >= NX_VENUE_COUNT ||
        venue == NX_VENUE_PAPER)
        return NX_EINVAL;
    memset(d, 0, sizeof *d);
    d->venue = venue;
    d->symtab = symtab;
    d->ring = ring;
    if (venue == NX_VENUE_BYBIT_LINEAR || venue == NX_VENUE_BYBIT_SPOT) {
        d->tickers = calloc(NX_SYMTAB_MAX, sizeof *d->tickers);
        if (!d->tickers)
            return NX_ENOMEM;
    }
    return 0;
}

void nx_decoder_fini(nx_decoder_t *d)
{
    free(d->tickers);
    d->tickers = NULL;
}

void nx__dec_begin(nx_decoder_t *d)
{
    d->frame_seq = nx_ring_next(d->ring);
    d->frame_events = 0;
}

nx_event_t *nx__dec_emit(nx_decoder_t *d, nx_event_type_t type, uint32_t symbol, int64_t exch_ns)
{
    uint64_t seq;
    if (NX_UNLIKELY(nx_bus_claim(d->ring, 1, &seq) != 1)) {
        d->st.dropped++;
        return NULL;
    }
    nx_event_t *e = nx_bus_event(d->ring, seq);
    e->hdr.type = (uint8_t)type;
    e->hdr.venue = (uint8_t)d->venue;
    e->hdr.flags |= (uint16_t)d->frame_flags;
    e->hdr.symbol = symbol;
    e->hdr.exch_ns = exch_ns;
    e->hdr.recv_ns = d->recv_ns;
    if (d->stale_ns && exch_ns && d->recv_ns - exch_ns > d->stale_ns)
        e->hdr.flags |= NX_EVF_STALE;
    /* The payload is not cleared here: every caller assigns its whole
     * payload struct (a compound literal zero-fills what it does not name),
     * which saves a 96-byte memset per event. */
    d->frame_events++;
    d->st.by_type[type]++;
    return e;
}

int nx__dec_commit(nx_decoder_t *d, uint64_t *first_seq)
{
    uint64_t end = nx_ring_next(d->ring);
    if (first_seq)
        *first_seq = d->frame_seq;
    if (end > d->frame_seq) {
        nx_bus_event(d->ring, end - 1)->hdr.flags |= NX_EVF_LAST;
        if (!d->hold)
            nx_ring_publish(d->ring, end);
    }
    uint32_t n = (uint32_t)(end - d->frame_seq);
    d->st.events += n;
    return (int)n;
}

int nx__dec_fail(nx_decoder_t *d, const char *what, const char *frame, size_t len)
{
    /* Take back the frame's events and their counts. */
    for (uint64_t s = d->frame_seq; s < nx_ring_next(d->ring); s++)
        d->st.by_type[nx_bus_event(d->ring, s)->hdr.type]--;
    nx_ring_unclaim(d->ring, d->frame_seq);
    d->st.errors++;
    char excerpt[72];
    size_t n = len < sizeof excerpt - 1 ? len : sizeof excerpt - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)frame[i];
        excerpt[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    excerpt[n] = 0;
    snprintf(d->last_error, sizeof d->last_error, "%s: %s%s", what, excerpt, len > n ? "..." : "");
    return NX_ESYNTAX;
}

uint32_t nx__dec_symbol(nx_decoder_t *d, const nx_jspan_t *s)
{
    if (s->type != NX_J_STR || s->n == 0)
        return NX_SYMBOL_NONE;
    /* Frames of one connection repeat a handful of symbols: a one-entry
     * cache skips the hash most of the time. */
    if (s->n == d->last_sym_len && memcmp(s->p, d->last_sym, s->n) == 0)
        return d->last_sym_id;
    uint32_t id = nx_symtab_find(d->symtab, d->venue, s->p, s->n);
    if (id != NX_SYMBOL_NONE) {
        memcpy(d->last_sym, s->p, s->n);
        d->last_sym_len = s->n;
        d->last_sym_id = id;
        return id;
    }
    if (!d->auto_intern || s->n > NX_SYMBOL_NAME_MAX)
        return NX_SYMBOL_NONE;
    char name[NX_SYMBOL_NAME_MAX + 1];
    memcpy(name, s->p, s->n);
    name[s->n] = 0;
    int rc = nx_symtab_add(d->symtab, d->venue, name, 8, 8, 1, 1, 0, NULL);
    if (rc < 0)
        return NX_SYMBOL_NONE;
    memcpy(d->last_sym, s->p, s->n);
    d->last_sym_len = s->n;
    d->last_sym_id = (uint32_t)rc;
    return (uint32_t)rc;
}

int nx_decode_frame(nx_decoder_t *d, const char *frame, size_t len, uint64_t *first_seq)
{
    d->st.frames++;
    d->frame_flags = 0;
    nx__dec_begin(d);
    int rc;
    switch (d->venue) {
    case NX_VENUE_BINANCE_USDM:
    case NX_VENUE_BINANCE_SPOT:
        rc = nx__parse_binance(d, frame, len);
        break;
    case NX_VENUE_BYBIT_LINEAR:
    case NX_VENUE_BYBIT_SPOT:
        rc = nx__parse_bybit(d, frame, len);
        break;
    case NX_VENUE_ALPACA:
        rc = nx__parse_alpaca(d, frame, len);
        break;
    default:
        return nx__dec_fail(d, "no parser for venue", frame, len);
    }
    if (rc < 0)
        return rc; /* the parser called nx__dec_fail */
    if (rc == NX_DEC_CONTROL)
        d->st.control++;
    else if (rc == NX_DEC_IGNORED)
        d->st.ignored++;
    else if (rc == NX_DEC_NOSYM)
        d->st.unknown_symbol++; /* NX_DEC_BAD: counted by kind where refused */
    return nx__dec_commit(d, first_seq);
}

int nx__rest_klines(nx_venue_t venue, const char *body, size_t len, const nx_symbol_t *sym,
                    uint32_t interval_s, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad)
{
    switch (venue) {
    case NX_VENUE_BYBIT_LINEAR:
    case NX_VENUE_BYBIT_SPOT:
        return nx__rest_klines_bybit(body, len, sym, interval_s, out, cap, n, bad);
    case NX_VENUE_ALPACA:
        return nx__rest_klines_alpaca(body, len, sym, interval_s, out, cap, n, bad);
    default:
        return nx__rest_klines_binance(body, len, sym, interval_s, out, cap, n, bad);
    }
}

int nx__rest_kline_list(const nx_jspan_t *list, const nx_symbol_t *sym, uint32_t interval_s,
                        nx__kline_row_cb *row, nx_ev_kline_t *out, uint32_t cap, uint32_t *n, uint64_t *bad_out)
{
    nx_jcur_t c = {list->p, list->p + list->n};
    /* Not checked: the Binance body is taken as the list as it comes, and
     * one that is not an array fails at its first element instead. */
    (void)nx_js_arr_begin(&c);
    *n = 0;
    for (int first = 1; *n < cap; first = 0) {
        int r = nx_js_arr_next(&c, first);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        nx_ev_kline_t k = {0};
        k.interval_s = interval_s;
        k.closed = 1;
        if (row(&c, sym, &k))
            return -1;
        nx_bad_kind_t bad = nx_kline_bad(&k);
        if (bad) { /* left out, counted: the rest of the page is good */
            if (bad_out)
                bad_out[bad]++;
            continue;
        }
        out[(*n)++] = k;
    }
    return 0;
}

uint32_t nx_interval_seconds(nx_venue_t venue, const char *s, size_t len)
{
    if (len == 0 || len > 4)
        return 0;
    if (venue == NX_VENUE_BYBIT_LINEAR || venue == NX_VENUE_BYBIT_SPOT) {
        if (len == 1 && s[0] == 'D')
            return 86400;
        if (len == 1 && s[0] == 'W')
            return 7 * 86400;
        if (len == 1 && s[0] == 'M')
            return 30 * 86400;
        int v;
        if (nx_digits(s, (int)len, &v) || v <= 0)
            return 0;
        return (uint32_t)v * 60;
    }
    int v;
    if (len < 2 || nx_digits(s, (int)len - 1, &v) || v <= 0)
        return 0;
    switch (s[len - 1]) {
    case 's':
        return (uint32_t)v;
    case 'm':
        return (uint32_t)v * 60;
    case 'h':
        return (uint32_t)v * 3600;
    case 'd':
        return (uint32_t)v * 86400;
    case 'w':
        return (uint32_t)v * 7 * 86400;
    case 'M':
        return (uint32_t)v * 30 * 86400;
    }
    return 0;
}

int nx_decode_status(nx_decoder_t *d, uint32_t symbol, nx_status_code_t code, uint64_t count,
                     const char *detail)
{
    uint64_t seq;
    if (nx_bus_claim(d->ring, 1, &seq) != 1) {
        d->st.dropped++;
        return NX_EFULL;
    }
    nx_event_t *e = nx_bus_event(d->ring, seq);
    e->hdr.type = NX_EV_STATUS;
    e->hdr.venue = (uint8_t)d->venue;
    e->hdr.symbol = symbol;
    e->hdr.exch_ns = 0;
    e->hdr.recv_ns = d->recv_ns;
    memset(&e->u, 0, sizeof e->u);
    e->u.status.code = (uint8_t)code;
    e->u.status.count = count;
    if (detail)
        snprintf(e->u.status.detail, sizeof e->u.status.detail, "%s", detail);
    nx_ring_publish(d->ring, seq + 1);
    d->st.events++;
    d->st.by_type[NX_EV_STATUS]++;
    return 0;
}

void nx_decoder_publish(nx_decoder_t *d)
{
    uint64_t end = nx_ring_next(d->ring);
    if (end > d->frame_seq)
        nx_ring_publish(d->ring, end);
}
