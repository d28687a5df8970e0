/*
 * venue.c — venue names. Looked up at configuration time only, so a linear
 * scan over seven names is the right data structure.
 */
#include "nx/venue.h"

#include <string.h>

static const char *const venue_names[NX_VENUE_COUNT] = {
    [NX_VENUE_NONE] = "none",
    [NX_VENUE_BINANCE_USDM] = "binance-usdm",
    [NX_VENUE_BINANCE_SPOT] = "binance-spot",
    [NX_VENUE_BYBIT_LINEAR] = "bybit-linear",
    [NX_VENUE_BYBIT_SPOT] = "bybit-spot",
    [NX_VENUE_ALPACA] = "alpaca",
    [NX_VENUE_PAPER] = "paper",
};

const char *nx_venue_name(nx_venue_t v)
{
    return (unsigned)v < NX_VENUE_COUNT ? venue_names[v] : "?";
}

nx_venue_t nx_venue_parse(const char *name, size_t len)
{
    for (int v = 1; v < NX_VENUE_COUNT; v++) {
        if (strlen(venue_names[v]) == len && memcmp(venue_names[v], name, len) == 0)
            return (nx_venue_t)v;
    }
    return NX_VENUE_NONE;
}

const char *nx_venue_choices(void)
{
    return "binance-usdm|binance-spot|bybit-linear|bybit-spot|alpaca|paper";
}
