/*
 * binance_filters.h — Binance USD-M symbol filters (GET /fapi/v1/exchangeInfo)
 * as integers at each symbol's own scales, and the checks an order must pass.
 *
 * Binance refuses an order that breaks one of a symbol's filters (PRICE_FILTER,
 * LOT_SIZE, MARKET_LOT_SIZE, MIN_NOTIONAL, PERCENT_PRICE, MAX_NUM_ORDERS,
 * MAX_NUM_ALGO_ORDERS). Nexus checks the same rules before sending, so the
 * desk learns why at once and in plain words, and a simulator can refuse
 * with the venue's own error code. The rules are those of Binance's USD-M
 * "Public Endpoints Info" page (Filters) and "Error Codes" page.
 *
 * Lifetime: the caller owns the table (an array indexed by symbol id, one
 * entry per symtab slot). nx_bn_filters_load fills it once at start-up from
 * the exchangeInfo body (it parses with jansson and allocates while it runs,
 * freeing everything before it returns). Afterwards the table is read-only:
 * the check and rounding calls are pure, allocate nothing, take no lock and
 * may be called from any thread.
 */
#ifndef NX_BINANCE_FILTERS_H
#define NX_BINANCE_FILTERS_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

/* Error codes Binance USD-M answers when a filter refuses an order (the
 * "Error Codes" page; the docs' table prints them without the minus sign,
 * the wire carries them negative). nx_bn_filters_check reports one of these
 * beside its own NX_E… code. */
enum {
    NX_BN_BAD_PRECISION = -1111,               /* Precision is over the maximum defined for
                                                  this asset. */
    NX_BN_INVALID_ORDER_TYPE = -1116,          /* Invalid orderType. */
    NX_BN_INVALID_SIDE = -1117,                /* Invalid side. */
    NX_BN_MAX_OPEN_ORDER_EXCEEDED = -2025,     /* Reach max open order limit. */
    NX_BN_PRICE_LESS_THAN_ZERO = -4001,        /* Price less than 0. */
    NX_BN_PRICE_GREATER_THAN_MAX = -4002,      /* Price greater than max price. */
    NX_BN_QTY_LESS_THAN_ZERO = -4003,          /* Quantity less than zero. */
    NX_BN_QTY_LESS_THAN_MIN = -4004,           /* Quantity less than min quantity. */
    NX_BN_QTY_GREATER_THAN_MAX = -4005,        /* Quantity greater than max quantity. */
    NX_BN_STOP_PRICE_LESS_THAN_ZERO = -4006,   /* Stop price less than zero. */
    NX_BN_STOP_PRICE_GREATER_THAN_MAX = -4007, /* Stop price greater than max price. */
    NX_BN_PRICE_LESS_THAN_MIN = -4013,         /* Price less than min price. */
    NX_BN_PRICE_NOT_BY_TICK = -4014,           /* Price not increased by tick size. */
    NX_BN_PRICE_ABOVE_MULTIPLIER_UP = -4016,   /* Price is higher than mark price multiplier cap. */
    NX_BN_QTY_NOT_BY_STEP = -4023,             /* Qty not increased by step size. */
    NX_BN_PRICE_BELOW_MULTIPLIER_DOWN = -4024, /* Price is lower than mark price multiplier
                                                  floor. */
    NX_BN_MAX_STOP_ORDER_EXCEEDED = -4045,     /* Reach max stop order limit. */
    NX_BN_MARKET_ORDER_REJECT = -4131,         /* The counterparty's best price does not meet the
                                                  PERCENT_PRICE filter limit */
    NX_BN_MIN_NOTIONAL = -4164,                /* Order's notional must be no smaller than %s
                                                  (unless you choose reduce only) */
    NX_BN_MODIFICATION_MIN_NOTIONAL = -5029,   /* Order's notional must be no smaller than %s */
};

/*
 * One symbol's filters, every number at the symbol's own scales from the
 * symtab: prices and notionals in 10^-price_scale units, quantities in
 * 10^-qty_scale units. A value of 0 means "rule off", as Binance documents
 * for PRICE_FILTER (and as a filter missing from the listing means).
 */
typedef struct nx_bn_filters {
    uint32_t symbol;          /* symtab id; the entry's index in the table */
    uint8_t loaded;           /* 1 = filled from exchangeInfo; 0 = not a Binance USD-M symbol */
    uint8_t price_scale;      /* from the symtab, 0..18 */
    uint8_t qty_scale;        /* from the symtab, 0..18 */
    uint8_t price_decimals;   /* pricePrecision capped at price_scale: finer digits are -1111 */
    uint8_t qty_decimals;     /* quantityPrecision capped at qty_scale: finer digits are -1111 */
    uint8_t mult_decimal;     /* PERCENT_PRICE multiplierDecimal, 0..18 */
    int64_t min_price;        /* PRICE_FILTER minPrice, price units, >= 0 */
    int64_t max_price;        /* PRICE_FILTER maxPrice, price units, >= 0 */
    int64_t tick_size;        /* PRICE_FILTER tickSize, price units, >= 0 */
    int64_t min_qty;          /* LOT_SIZE minQty, qty units, >= 0 */
    int64_t max_qty;          /* LOT_SIZE maxQty, qty units, >= 0 */
    int64_t step_size;        /* LOT_SIZE stepSize, qty units, >= 0 */
    int64_t mkt_min_qty;      /* MARKET_LOT_SIZE minQty (LOT_SIZE's when not listed) */
    int64_t mkt_max_qty;      /* MARKET_LOT_SIZE maxQty (LOT_SIZE's when not listed) */
    int64_t mkt_step_size;    /* MARKET_LOT_SIZE stepSize (LOT_SIZE's when not listed) */
    int64_t min_notional;     /* MIN_NOTIONAL "notional", quote in price units, >= 0 */
    int64_t mult_up;          /* multiplierUp x 10^mult_decimal ("1.0500", 4 -> 10500); 0 = off */
    int64_t mult_down;        /* multiplierDown x 10^mult_decimal ("0.9500", 4 -> 9500) */
    uint32_t max_orders;      /* MAX_NUM_ORDERS limit (normal and algo together); 0 = off */
    uint32_t max_algo_orders; /* MAX_NUM_ALGO_ORDERS limit (conditional orders); 0 = off */
} nx_bn_filters_t;

/*
 * Fill out[id] for every symbol id in the symtab from an exchangeInfo body
 * (len bytes at json, need not be NUL-terminated). Entries of symbols on
 * other venues are zeroed with loaded = 0; every Binance USD-M symbol must be
 * listed with status TRADING.
 *
 * Fails, writing a sentence for people into why (if not NULL), with:
 *   NX_ESYNTAX    malformed JSON, no "symbols" array, a filter value of the
 *                 wrong type or not a decimal, a symbol listed twice;
 *   NX_ENOENT     a Binance USD-M symbol of the symtab that is not listed;
 *   NX_ESTATE     a listed symbol whose status is not TRADING;
 *   NX_EPRECISION a filter value with non-zero digits finer than the symbol's
 *                 scale ("BTCUSDT PRICE_FILTER tickSize 0.001 needs 3 price
 *                 decimals; Nexus keeps BTCUSDT prices at 2"): Nexus could not
 *                 express the venue's grid, so the symbol's scale is too coarse
 *                 (zeros beyond the scale are fine: "0.10000000" at scale 2);
 *   NX_EOVERFLOW  a value too large for int64 at the symbol's scale;
 *   NX_ERANGE     a negative value, minimum above maximum, multiplierDown
 *                 above multiplierUp, multiplierDecimal outside 0..18;
 *   NX_EFULL      cap smaller than the symtab's count; NX_EINVAL for NULLs.
 * On failure the table's content is unspecified.
 *
 * Start-up only (it allocates); the caller owns out.
 */
int nx_bn_filters_load(const char *json, size_t len, const nx_symtab_t *symtab,
                       nx_bn_filters_t *out, uint32_t cap, char *why, size_t whycap);

/*
 * Would Binance accept this order? Checks, in this order (the venue does not
 * document its own order; an order breaking two filters may get the other
 * code from it):
 *   quantity > 0 (-4003) and no finer than quantityPrecision (-1111);
 *   LIMIT: price > 0 (-4001); stop types: trigger price > 0 (-4006) unless 0
 *   (a trailing stop with no activation price); price no finer than
 *   pricePrecision (-1111);
 *   PRICE_FILTER on the price or trigger: >= minPrice (-4013), <= maxPrice
 *   (-4002; -4007 for a trigger), (price - minPrice) % tickSize == 0 (-4014);
 *   LOT_SIZE, or MARKET_LOT_SIZE for MARKET orders: >= minQty (-4004),
 *   <= maxQty (-4005), (qty - minQty) % stepSize == 0 (-4023);
 *   PERCENT_PRICE, when mark_price > 0: a LIMIT BUY's price <= mark_price x
 *   multiplierUp (-4016), a LIMIT SELL's >= mark_price x multiplierDown
 *   (-4024); a MARKET order whose ref_price (the best price on the other
 *   side) is outside those bounds is -4131;
 *   MIN_NOTIONAL, unless reduce_only: price x qty >= notional (-4164, -5029
 *   for an amend); a MARKET order is valued at mark_price, or at ref_price
 *   when the mark is not known; a stop order at its trigger.
 * All arithmetic is exact, in integers (__int128 for products).
 *
 * ref_price and mark_price are in the symbol's price units, 0 = unknown.
 * Returns 0 (and *venue_code = 0), or a negative NX_E… code with the
 * venue's error code in *venue_code (if not NULL) and the refusing filter
 * and the numbers in why ("PRICE_FILTER: price 60000.05 is not a multiple
 * of the tick 0.1"):
 *   NX_EINVAL     quantity or price not positive, an unknown order type
 *                 (-1116) or side (-1117), a MARKET order with neither mark
 *                 nor reference price (venue code 0: Nexus cannot judge
 *                 it), f or in NULL;
 *   NX_EPRECISION finer than the venue's precision, off the tick or step;
 *   NX_ERANGE     outside a minimum or maximum, the percent band, or under
 *                 the minimum notional;
 *   NX_ESTATE     f is not a loaded entry.
 * Pure: any thread, no allocation, no lock.
 */
int nx_bn_filters_check(const nx_bn_filters_t *f, const nx_ev_order_intent_t *in, int64_t ref_price,
                        int64_t mark_price, int *venue_code, char *why, size_t whycap);

/*
 * May one more order rest on the symbol? open_orders counts the account's
 * open orders on it, normal and algo together (MAX_NUM_ORDERS counts both);
 * open_algo the conditional ones among them; algo = 1 when the new order is
 * conditional (STOP_MARKET, TAKE_PROFIT_MARKET, trailing). Returns 0, or
 * NX_EFULL with -2025 (MAX_NUM_ORDERS) or -4045 (MAX_NUM_ALGO_ORDERS) in
 * *venue_code and the limit in why; NX_ESTATE / NX_EINVAL as above.
 * Pure: any thread, no allocation, no lock.
 */
int nx_bn_filters_check_open(const nx_bn_filters_t *f, uint32_t open_orders, uint32_t open_algo,
                             int algo, int *venue_code, char *why, size_t whycap);

/*
 * Floor qty (qty units) onto the quantity grid minQty + k x stepSize of
 * LOT_SIZE, or of MARKET_LOT_SIZE when market is 1: the desk's order never
 * grows by rounding. Returns the rounded quantity, or 0 when qty is below
 * minQty (nothing can be sent). The maximum is not applied: an order above
 * it is refused by nx_bn_filters_check, not silently shrunk. A step of 0
 * (rule off) leaves qty unchanged. Pure, any thread.
 */
int64_t nx_bn_filters_round_qty(const nx_bn_filters_t *f, int64_t qty, int market);

/*
 * Round price (price units) onto the grid minPrice + k x tickSize in the
 * side's safe direction: down for NX_SIDE_BUY (never pay more; any side
 * other than SELL rounds down too), up for NX_SIDE_SELL (never receive
 * less). For a stop trigger, pass the side whose rounding you want. A result
 * outside [minPrice, maxPrice] is returned as is for nx_bn_filters_check to
 * refuse. A tick of 0 (rule off) leaves price unchanged. Pure, any thread.
 */
int64_t nx_bn_filters_round_price(const nx_bn_filters_t *f, int64_t price, nx_side_t side);

/*
 * The message Binance sends beside a venue code, for a simulator's
 * {"code":..,"msg":".."} answer: the docs' text, with the symbol's own
 * minimum notional where the text has one (-4164, -5029). Writes a
 * NUL-terminated string into buf and returns its length (0 when cap is 0 or
 * the code is not one of NX_BN_*; then buf holds ""). Pure, any thread.
 */
size_t nx_bn_filters_venue_msg(const nx_bn_filters_t *f, int venue_code, char *buf, size_t cap);

#endif /* NX_BINANCE_FILTERS_H */
