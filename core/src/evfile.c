/*
 * evfile.c — the binary market-event file (evfile.h): a buffered writer,
 * and a reader over the whole file mapped in memory.
 *
 * Fields are written one by one, little-endian, rather than as the
 * in-memory structs: the file does not change when a struct gains padding
 * or a field, and it says its version. Reading is a fixed-size copy per
 * field, no parsing (bench_backtest measures the backtest from this file
 * and from the venue's JSON).
 */
#include "nx/evfile.h"

#include "nx/error.h"
#include "nx/venue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "NXEVENTS"
#define SYM_BYTES 28
#define HDR_BYTES 20 /* u8 type, u8 flags, u16 symbol, i64 exch_ns, i64 recv_ns */
#define END_TYPE 0xFF
#define END_BYTES 12
#define BUF_BYTES (1u << 16)

_Static_assert(NX_SYMBOL_NAME_MAX + 1 <= 24, "a symbol's name fits its 24 bytes");

/* Payload bytes per record type (0: not a market event). */
static size_t body_len(unsigned type)
{
    switch (type) {
    case NX_EV_TRADE:
        return 25;
    case NX_EV_BBO:
        return 40;
    case NX_EV_KLINE:
        return 65;
    case NX_EV_BOOK:
        return 49;
    case NX_EV_MARK:
        return 32;
    default:
        return 0;
    }
}

/* little-endian, whatever the machine */
static uint8_t *put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 8;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    return p + 4;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ---- writing --------------------------------------------------------------- */

struct nx_evw {
    int fd;
    uint32_t nsym;
    uint64_t count, bytes, skipped;
    int failed;
    uint8_t buf[BUF_BYTES];
    size_t used;
};

/* The buffer holds whole records only and goes out in one write(2): a
 * process killed meanwhile leaves the file ending on a record's end (a
 * regular file's write is not cut short by a signal), so what a crash
 * leaves can be read. */
static int wflush(nx_evw_t *w)
{
    size_t off = 0;
    while (off < w->used && !w->failed) {
        ssize_t n = write(w->fd, w->buf + off, w->used - off);
        if (n > 0)
            off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else
            w->failed = 1;
    }
    w->used = 0;
    return w->failed ? NX_EIO : 0;
}

int nx_evw_open(nx_evw_t **out, const char *path, const nx_symtab_t *t)
{
    *out = NULL;
    nx_evw_t *w = calloc(1, sizeof *w);
    if (!w)
        return NX_ENOMEM;
    if ((w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        free(w);
        return NX_EIO;
    }
    uint32_t n = nx_symtab_count(t);
    w->nsym = n > UINT16_MAX ? UINT16_MAX : n;
    uint8_t *p = w->buf;
    memcpy(p, MAGIC, 8);
    p = put32(p + 8, NX_EVFILE_VERSION);
    p = put32(p, w->nsym);
    w->used = (size_t)(p - w->buf);
    for (uint32_t i = 0; i < w->nsym; i++) {
        if (w->used + SYM_BYTES > BUF_BYTES)
            wflush(w);
        const nx_symbol_t *s = nx_symtab_get(t, i);
        uint8_t *q = w->buf + w->used;
        memset(q, 0, SYM_BYTES);
        memcpy(q, s->name, strnlen(s->name, NX_SYMBOL_NAME_MAX));
        q[24] = s->venue;
        q[25] = s->price_scale;
        q[26] = s->qty_scale;
        w->used += SYM_BYTES;
    }
    w->bytes = 16 + (uint64_t)w->nsym * SYM_BYTES;
    if (wflush(w)) {
        close(w->fd);
        free(w);
        return NX_EIO;
    }
    *out = w;
    return 0;
}

int nx_evw_put(nx_evw_t *w, const nx_event_t *ev)
{
    size_t body = body_len(ev->hdr.type);
    if (!body)
        return 1;
    if (ev->hdr.symbol >= w->nsym) {
        w->skipped++;
        return 1;
    }
    if (w->used + HDR_BYTES + body > BUF_BYTES && wflush(w))
        return NX_EIO;
    uint8_t *p = w->buf + w->used;
    p[0] = ev->hdr.type;
    p[1] = (uint8_t)ev->hdr.flags;
    p[2] = (uint8_t)ev->hdr.symbol;
    p[3] = (uint8_t)(ev->hdr.symbol >> 8);
    p = put64(p + 4, (uint64_t)ev->hdr.exch_ns);
    p = put64(p, (uint64_t)ev->hdr.recv_ns);
    switch (ev->hdr.type) {
    case NX_EV_TRADE: {
        const nx_ev_trade_t *x = &ev->u.trade;
        p = put64(put64(put64(p, (uint64_t)x->price), (uint64_t)x->qty), x->trade_id);
        *p = x->aggressor;
        break;
    }
    case NX_EV_BBO: {
        const nx_ev_bbo_t *x = &ev->u.bbo;
        p = put64(put64(p, (uint64_t)x->bid_px), (uint64_t)x->bid_qty);
        put64(put64(put64(p, (uint64_t)x->ask_px), (uint64_t)x->ask_qty), x->update_id);
        break;
    }
    case NX_EV_KLINE: {
        const nx_ev_kline_t *x = &ev->u.kline;
        p = put64(put64(p, (uint64_t)x->open_ms), (uint64_t)x->open);
        p = put64(put64(put64(p, (uint64_t)x->high), (uint64_t)x->low), (uint64_t)x->close);
        p = put64(put64(p, (uint64_t)x->volume), (uint64_t)x->quote_volume);
        p = put32(put32(p, x->interval_s), x->trades);
        *p = x->closed;
        break;
    }
    case NX_EV_BOOK: {
        const nx_ev_book_t *x = &ev->u.book;
        p = put64(put64(p, (uint64_t)x->price), (uint64_t)x->qty);
        p = put64(put64(put64(put64(p, x->first_id), x->last_id), x->prev_id), x->venue_seq);
        *p = x->side;
        break;
    }
    default: { /* NX_EV_MARK */
        const nx_ev_mark_t *x = &ev->u.mark;
        p = put64(put64(p, (uint64_t)x->mark_px), (uint64_t)x->index_px);
        put64(put64(p, (uint64_t)x->funding_rate_e8), (uint64_t)x->next_funding_ms);
        break;
    }
    }
    w->used += HDR_BYTES + body;
    w->bytes += HDR_BYTES + body;
    w->count++;
    return 0;
}

uint64_t nx_evw_count(const nx_evw_t *w)
{
    return w->count;
}

uint64_t nx_evw_bytes(const nx_evw_t *w)
{
    return w->bytes;
}

int nx_evw_flush(nx_evw_t *w)
{
    return wflush(w);
}

int nx_evw_close(nx_evw_t *w)
{
    if (!w)
        return 0;
    if (w->used + END_BYTES > BUF_BYTES)
        wflush(w);
    uint8_t *p = w->buf + w->used;
    memset(p, 0, 4);
    p[0] = END_TYPE;
    put64(p + 4, w->count);
    w->used += END_BYTES;
    int rc = wflush(w);
    if (close(w->fd))
        rc = NX_EIO;
    free(w);
    return rc;
}

/* ---- reading --------------------------------------------------------------- */

struct nx_evr {
    const uint8_t *map;
    size_t len;
    size_t first, end; /* the records: [first, end) */
    size_t at;
    uint32_t nsym;
    uint32_t *map_sym; /* file symbol -> t's id, or NX_SYMBOL_NONE */
    uint8_t *venue;    /* file symbol -> its venue */
    int64_t span0, span1;
    uint64_t count, unknown;
    int64_t last_ns; /* the latest exchange time read: the order never goes back */
    int complete;
};

int nx_evr_is_evfile(const char *path)
{
    char head[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    return n == 8 && !memcmp(head, MAGIC, 8);
}

static int refuse(nx_evr_t *r, char *why, size_t cap, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int refuse(nx_evr_t *r, char *why, size_t cap, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    nx_evr_close(r);
    return rc;
}

int nx_evr_open(nx_evr_t **out, const char *path, const nx_symtab_t *t, char *why, size_t cap)
{
    *out = NULL;
    nx_evr_t *r = calloc(1, sizeof *r);
    if (!r)
        return NX_ENOMEM;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return refuse(r, why, cap, NX_EIO, "cannot read it: %s", strerror(e));
    }
    r->len = (size_t)st.st_size;
    if (r->len >= 16)
        r->map = mmap(NULL, r->len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (r->len < 16 || r->map == MAP_FAILED) {
        r->map = NULL;
        return refuse(r, why, cap, NX_EINVAL, "too short for an event file (%zu bytes)", r->len);
    }
    if (memcmp(r->map, MAGIC, 8))
        return refuse(r, why, cap, NX_EINVAL, "not a Nexus event file (no NXEVENTS at its start)");
    uint32_t ver = get32(r->map + 8);
    if (ver != NX_EVFILE_VERSION)
        return refuse(r, why, cap, NX_EINVAL,
                      "an event file of version %u; this nexus reads version %d (record it "
                      "again with this nexus)",
                      ver, NX_EVFILE_VERSION);
    r->nsym = get32(r->map + 12);
    if (r->nsym > UINT16_MAX || 16 + (size_t)r->nsym * SYM_BYTES > r->len)
        return refuse(r, why, cap, NX_EINVAL, "its symbol table (%u symbols) is cut short",
                      r->nsym);
    if (!(r->map_sym = calloc(r->nsym ? r->nsym : 1, sizeof *r->map_sym)) ||
        !(r->venue = calloc(r->nsym ? r->nsym : 1, 1)))
        return refuse(r, why, cap, NX_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < r->nsym; i++) {
        const uint8_t *s = r->map + 16 + (size_t)i * SYM_BYTES;
        char name[25];
        memcpy(name, s, 24);
        name[24] = 0;
        uint32_t id = nx_symtab_find(t, (nx_venue_t)s[24], name, strlen(name));
        r->map_sym[i] = id;
        r->venue[i] = s[24];
        if (id == NX_SYMBOL_NONE)
            continue;
        const nx_symbol_t *y = nx_symtab_get(t, id);
        if (y->price_scale != s[25] || y->qty_scale != s[26])
            return refuse(r, why, cap, NX_EINVAL,
                          "%s on %s was recorded with prices in 1e-%u and quantities in 1e-%u; "
                          "the config has 1e-%u and 1e-%u (its tick_size and lot_size)",
                          name, nx_venue_name((nx_venue_t)s[24]), s[25], s[26], y->price_scale,
                          y->qty_scale);
    }
    r->first = 16 + (size_t)r->nsym * SYM_BYTES;
    /* every record whole, of a known type, before the end mark */
    size_t p = r->first;
    while (p < r->len) {
        if (r->map[p] == END_TYPE) {
            if (r->len - p < END_BYTES)
                return refuse(r, why, cap, NX_EINVAL, "its end mark is cut short");
            if (get64(r->map + p + 4) != r->count)
                return refuse(r, why, cap, NX_EINVAL,
                              "its end mark counts %llu events, the file holds %llu",
                              (unsigned long long)get64(r->map + p + 4),
                              (unsigned long long)r->count);
            r->complete = 1;
            break;
        }
        size_t body = body_len(r->map[p]);
        if (!body)
            return refuse(r, why, cap, NX_EINVAL,
                          "byte %zu: an event of unknown type %u (a damaged file?)", p,
                          r->map[p]);
        if (r->len - p < HDR_BYTES + body)
            return refuse(r, why, cap, NX_EINVAL,
                          "it ends inside an event at byte %zu: cut short (copied while being "
                          "written?); `truncate -s %zu` keeps its whole events",
                          p, p);
        uint32_t sy = (uint32_t)r->map[p + 2] | (uint32_t)r->map[p + 3] << 8;
        if (sy >= r->nsym)
            return refuse(r, why, cap, NX_EINVAL,
                          "byte %zu: an event of symbol %u; the table has %u", p, sy, r->nsym);
        int64_t at = (int64_t)get64(r->map + p + 4);
        if (!r->count)
            r->span0 = at;
        if (at > r->span1)
            r->span1 = at;
        p += HDR_BYTES + body;
        r->count++;
    }
    r->end = p;
    r->at = r->first;
    *out = r;
    return 0;
}

/* The next record of a symbol t has; its offset, or end. */
static size_t skip_unknown(nx_evr_t *r)
{
    while (r->at < r->end) {
        const uint8_t *p = r->map + r->at;
        uint32_t sy = (uint32_t)p[2] | (uint32_t)p[3] << 8;
        if (r->map_sym[sy] != NX_SYMBOL_NONE)
            break;
        r->unknown++;
        r->at += HDR_BYTES + body_len(p[0]);
    }
    return r->at;
}

int64_t nx_evr_peek_ns(nx_evr_t *r)
{
    if (skip_unknown(r) >= r->end)
        return INT64_MAX;
    int64_t t = (int64_t)get64(r->map + r->at + 4);
    return t > r->last_ns ? t : r->last_ns;
}

int nx_evr_next(nx_evr_t *r, nx_event_t *ev)
{
    if (skip_unknown(r) >= r->end)
        return 0;
    const uint8_t *p = r->map + r->at;
    ev->hdr.type = p[0];
    ev->hdr.flags = p[1];
    uint32_t fs = (uint32_t)p[2] | (uint32_t)p[3] << 8;
    ev->hdr.symbol = r->map_sym[fs];
    ev->hdr.venue = r->venue[fs];
    ev->hdr.exch_ns = (int64_t)get64(p + 4);
    ev->hdr.recv_ns = (int64_t)get64(p + 12);
    if (ev->hdr.exch_ns > r->last_ns)
        r->last_ns = ev->hdr.exch_ns;
    p += HDR_BYTES;
    switch (ev->hdr.type) {
    case NX_EV_TRADE: {
        nx_ev_trade_t *x = &ev->u.trade;
        x->price = (int64_t)get64(p);
        x->qty = (int64_t)get64(p + 8);
        x->trade_id = get64(p + 16);
        x->aggressor = p[24];
        break;
    }
    case NX_EV_BBO: {
        nx_ev_bbo_t *x = &ev->u.bbo;
        x->bid_px = (int64_t)get64(p);
        x->bid_qty = (int64_t)get64(p + 8);
        x->ask_px = (int64_t)get64(p + 16);
        x->ask_qty = (int64_t)get64(p + 24);
        x->update_id = get64(p + 32);
        break;
    }
    case NX_EV_KLINE: {
        nx_ev_kline_t *x = &ev->u.kline;
        x->open_ms = (int64_t)get64(p);
        x->open = (int64_t)get64(p + 8);
        x->high = (int64_t)get64(p + 16);
        x->low = (int64_t)get64(p + 24);
        x->close = (int64_t)get64(p + 32);
        x->volume = (int64_t)get64(p + 40);
        x->quote_volume = (int64_t)get64(p + 48);
        x->interval_s = get32(p + 56);
        x->trades = get32(p + 60);
        x->closed = p[64];
        break;
    }
    case NX_EV_BOOK: {
        nx_ev_book_t *x = &ev->u.book;
        x->price = (int64_t)get64(p);
        x->qty = (int64_t)get64(p + 8);
        x->first_id = get64(p + 16);
        x->last_id = get64(p + 24);
        x->prev_id = get64(p + 32);
        x->venue_seq = get64(p + 40);
        x->side = p[48];
        break;
    }
    default: { /* NX_EV_MARK */
        nx_ev_mark_t *x = &ev->u.mark;
        x->mark_px = (int64_t)get64(p);
        x->index_px = (int64_t)get64(p + 8);
        x->funding_rate_e8 = (int64_t)get64(p + 16);
        x->next_funding_ms = (int64_t)get64(p + 24);
        break;
    }
    }
    r->at += HDR_BYTES + body_len(ev->hdr.type);
    return 1;
}

uint64_t nx_evr_count(const nx_evr_t *r)
{
    return r->count;
}

void nx_evr_span(const nx_evr_t *r, int64_t *first_ns, int64_t *last_ns)
{
    *first_ns = r->span0;
    *last_ns = r->span1;
}

uint64_t nx_evr_unknown(const nx_evr_t *r)
{
    return r->unknown;
}

int nx_evr_complete(const nx_evr_t *r)
{
    return r->complete;
}

void nx_evr_rewind(nx_evr_t *r)
{
    r->at = r->first;
    r->unknown = 0;
    r->last_ns = 0;
}

void nx_evr_close(nx_evr_t *r)
{
    if (!r)
        return;
    if (r->map)
        munmap((void *)r->map, r->len);
    free(r->map_sym);
    free(r->venue);
    free(r);
}
