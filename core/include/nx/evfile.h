/*
 * evfile.h — Nexus's binary market-event file: what `nexus record` and the
 * flight recorder of `nexus run` write, and `nexus backtest` reads without
 * decoding any venue's JSON again.
 *
 * Layout (version 1, every integer little-endian):
 *
 *   "NXEVENTS"  u32 version  u32 nsym
 *   nsym x { char name[24] (NUL-padded), u8 venue, u8 price_scale,
 *            u8 qty_scale, u8 0 }                           28 bytes each
 *   records, each: u8 type, u8 flags, u16 symbol (index into the table
 *            above), i64 exch_ns, i64 recv_ns, then per type:
 *     TRADE  i64 price, i64 qty, u64 trade_id, u8 aggressor       45 bytes
 *     BBO    i64 bid_px, bid_qty, ask_px, ask_qty, u64 update_id  60
 *     KLINE  i64 open_ms, open, high, low, close, volume,
 *            quote_volume, u32 interval_s, u32 trades, u8 closed  85
 *     BOOK   i64 price, qty, u64 first_id, last_id, prev_id,
 *            venue_seq, u8 side                                   69
 *     MARK   i64 mark_px, index_px, funding_rate_e8,
 *            next_funding_ms                                      52
 *   an end mark: u8 0xFF, u8 0, u16 0, u64 records               12
 *
 * Prices and quantities are the engine's integers in the scales the table
 * gives (a reader with other scales for a symbol refuses the file rather
 * than round). The writer writes whole records only, each buffer in one
 * write(2), so a recording killed half-way ends on a record's end: such a
 * file has no end mark and is read whole (nx_evr_complete says so); one
 * that ends inside a record is refused as damaged. Records are in the
 * order the engine took them (exchange times may step back across
 * symbols and venues; a reader's clock never does: nx_evr_peek_ns).
 *
 * Writers and readers are single-threaded objects.
 */
#ifndef NX_EVFILE_H
#define NX_EVFILE_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

#define NX_EVFILE_VERSION 1

/* ---- writing --------------------------------------------------------------- */

typedef struct nx_evw nx_evw_t;

/* Create path (truncating it) for the symbols of t as they stand: events
 * of symbols added to t later are left out (counted). 0, NX_EIO (errno
 * set) or NX_ENOMEM. */
int nx_evw_open(nx_evw_t **out, const char *path, const nx_symtab_t *t);
/* Append one market event (TRADE, BBO, KLINE, BOOK, MARK; any other type
 * is not market data and is skipped, returning 1). 0, 1, or NX_EIO. */
int nx_evw_put(nx_evw_t *w, const nx_event_t *ev);
/* Events written so far, and bytes. */
uint64_t nx_evw_count(const nx_evw_t *w);
uint64_t nx_evw_bytes(const nx_evw_t *w);
/* Push what is buffered to the file (not fsync). 0 or NX_EIO. */
int nx_evw_flush(nx_evw_t *w);
/* Write the end mark, close, free. 0 or NX_EIO (the file is then not
 * complete). NULL is a no-op. */
int nx_evw_close(nx_evw_t *w);

/* ---- reading --------------------------------------------------------------- */

typedef struct nx_evr nx_evr_t;

/* Whether the file at path starts as an event file (any version). */
int nx_evr_is_evfile(const char *path);

/* Open and check the whole file: the header, its version, every record's
 * type and length. Symbols are mapped onto t by venue and name: events of
 * a symbol t lacks are skipped (nx_evr_unknown counts them); a symbol of
 * t with other price or quantity scales refuses the file. On failure the
 * reason, with the file's name, is in why. */
int nx_evr_open(nx_evr_t **out, const char *path, const nx_symtab_t *t, char *why, size_t cap);
/* The next event into ev (header and payload; seq and recv_ns as
 * recorded, symbol mapped): 1, or 0 at the end. */
int nx_evr_next(nx_evr_t *r, nx_event_t *ev);
/* The exchange time of the next event without taking it (INT64_MAX at the
 * end). */
int64_t nx_evr_peek_ns(nx_evr_t *r);
uint64_t nx_evr_count(const nx_evr_t *r);   /* whole records in the file */
/* The first record's exchange time and the latest of any (ns; 0, 0 when
 * the file has none). */
void nx_evr_span(const nx_evr_t *r, int64_t *first_ns, int64_t *last_ns);
uint64_t nx_evr_unknown(const nx_evr_t *r); /* skipped: symbols t lacks */
int nx_evr_complete(const nx_evr_t *r);     /* 1 if it has its end mark */
/* Back to the first record. */
void nx_evr_rewind(nx_evr_t *r);
void nx_evr_close(nx_evr_t *r);

#endif /* NX_EVFILE_H */
