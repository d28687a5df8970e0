/*
 * event.c — event type names for logs and JSON output.
 */
#include "nx/event.h"

static const char *const type_names[NX_EV_TYPE_COUNT] = {
    [NX_EV_NONE] = "none",
    [NX_EV_TRADE] = "trade",
    [NX_EV_BBO] = "bbo",
    [NX_EV_KLINE] = "kline",
    [NX_EV_BOOK] = "book",
    [NX_EV_MARK] = "mark",
    [NX_EV_SIGNAL] = "signal",
    [NX_EV_ORDER_INTENT] = "order_intent",
    [NX_EV_ORDER_UPDATE] = "order_update",
    [NX_EV_CONTROL] = "control",
    [NX_EV_TIMER] = "timer",
    [NX_EV_STATUS] = "status",
    [NX_EV_DECISION] = "decision",
    [NX_EV_STATE] = "state",
    [NX_EV_NOTICE] = "notice",
};

const char *nx_event_type_name(nx_event_type_t t)
{
    return (unsigned)t < NX_EV_TYPE_COUNT ? type_names[t] : "?";
}

const char *nx_order_reject_name(nx_order_reject_t r)
{
    switch (r) {
    case NX_OREJ_NO_PRICE:
        return "no market price yet";
    case NX_OREJ_BOOK_FULL:
        return "the venue's order book is full";
    case NX_OREJ_MAX_OPEN:
        return "open-order limit on the symbol reached";
    case NX_OREJ_VENUE:
        return "refused by the venue";
    default:
        return "no reason given";
    }
}

const char *nx_bad_name(nx_bad_kind_t k)
{
    switch (k) {
    case NX_BAD_PRICE:
        return "price of zero or less";
    case NX_BAD_QTY:
        return "quantity of zero or less";
    case NX_BAD_KLINE:
        return "candle whose high and low do not bound it";
    case NX_BAD_BAND:
        return "price far from the market, not confirmed";
    case NX_BAD_TIME:
        return "older than its stream";
    case NX_BAD_DUP:
        return "repeated trade id";
    default:
        return "nothing wrong";
    }
}
