/*
 * venue.h — the venues Nexus speaks to, as a small enum that fits in the
 * event header's one byte, with stable lower-case names used in configs,
 * command lines and JSON ("binance-usdm", "bybit-linear", ...).
 */
#ifndef NX_VENUE_H
#define NX_VENUE_H

#include <stddef.h>

typedef enum nx_venue {
    NX_VENUE_NONE = 0,
    NX_VENUE_BINANCE_USDM,
    NX_VENUE_BINANCE_SPOT,
    NX_VENUE_BYBIT_LINEAR,
    NX_VENUE_BYBIT_SPOT,
    NX_VENUE_ALPACA,
    NX_VENUE_PAPER,
    NX_VENUE_COUNT
} nx_venue_t;

/* "binance-usdm" etc.; "none" for NX_VENUE_NONE, "?" when out of range. */
const char *nx_venue_name(nx_venue_t v);

/* Name (not NUL-terminated, len bytes) -> venue; NX_VENUE_NONE if unknown. */
nx_venue_t nx_venue_parse(const char *name, size_t len);

/* "binance-usdm|binance-spot|..." for error messages listing allowed values. */
const char *nx_venue_choices(void);

#endif /* NX_VENUE_H */
