/*
 * binance_filters.c — Binance USD-M symbol filters in integers
 * (binance_filters.h).
 *
 * Binance lists each symbol's trading rules in GET /fapi/v1/exchangeInfo as
 * decimal strings ("tickSize": "0.10", "multiplierUp": "1.0500"). They are
 * read once, at start-up, into int64 at the symbol's own scales from the
 * symtab, so that every later check is integer arithmetic on the numbers the
 * order already carries: no double, no string, no rounding. A filter value
 * that needs digits finer than the symbol's scale cannot be expressed, and
 * an engine that rounded it would send orders the venue refuses (or worse, a
 * grid a little off), so it is an error that names the symbol, the filter and
 * the value.
 *
 * Workload: the live body is about 1 MB for ~700 symbols of which Nexus
 * trades a handful; it is parsed once with jansson (27 ms for a 0.8 MB body
 * of 700 symbols on the 2-core development machine) and only the symtab's
 * symbols are read. The check then runs on every order and amend: a dozen
 * compares and two or three 128-bit multiplies, ~17 ns for a passing limit
 * order there, and it formats a sentence only when it refuses.
 *
 * The rules follow Binance's USD-M docs ("Public Endpoints Info", Filters):
 *   PRICE_FILTER     price >= minPrice, price <= maxPrice,
 *                    (price - minPrice) % tickSize == 0; each part off at 0;
 *   LOT_SIZE         qty >= minQty, qty <= maxQty, (qty - minQty) % stepSize == 0;
 *   MARKET_LOT_SIZE  the same for MARKET orders;
 *   MIN_NOTIONAL     price x qty >= notional, MARKET orders valued at the mark
 *                    price; reduce-only orders are exempt (the -4164 message:
 *                    "... no smaller than %s (unless you choose reduce only)");
 *   PERCENT_PRICE    BUY: price <= markPrice x multiplierUp,
 *                    SELL: price >= markPrice x multiplierDown;
 *   MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS  open orders on the symbol.
 */
#include "nx/binance_filters.h"
#include "nx/error.h"
#include "nx/fixed.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef __int128 i128;

/* ---------- loading ---------- */

/* What the loader is reading, for its error sentences. */
typedef struct ctx {
    const char *sym;
    const nx_symbol_t *s;
    char *why;
    size_t whycap;
} ctx_t;

/* Fraction digits up to the last non-zero one ("0.00100" -> 3). */
static unsigned needed_decimals(const char *v, size_t n)
{
    const char *dot = memchr(v, '.', n);
    if (!dot)
        return 0;
    size_t end = n;
    while (end > (size_t)(dot - v) + 1 && v[end - 1] == '0')
        end--;
    return (unsigned)(end - (size_t)(dot - v) - 1);
}

/*
 * A decimal filter value at `scale` into *out (0 when the key is absent or
 * null: that part of the filter is off). `unit` names what the scale is for
 * in the sentence ("price", "quantity").
 */
static int get_decimal(const ctx_t *c, const char *filter, const json_t *obj, const char *key,
                       unsigned scale, const char *unit, int64_t *out)
{
    *out = 0;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    char num[24];
    const char *s;
    size_t n;
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else if (json_is_integer(v)) {
        n = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    } else {
        return nx_errorf(c->why, c->whycap, NX_ESYNTAX,
                         "exchangeInfo: %s %s %s is not a decimal string", c->sym, filter, key);
    }
    int shown = n > 40 ? 40 : (int)n;
    int rc = nx_fixed_parse(s, n, scale, out);
    if (rc == NX_EPRECISION && !strcmp(unit, "multiplier"))
        return nx_errorf(c->why, c->whycap, rc,
                         "exchangeInfo: %s %s %s %.*s has more decimals than its "
                         "multiplierDecimal %u",
                         c->sym, filter, key, shown, s, scale);
    if (rc == NX_EPRECISION)
        return nx_errorf(c->why, c->whycap, rc,
                         "exchangeInfo: %s %s %s %.*s needs %u %s decimals; Nexus keeps %s %s "
                         "at %u (the symbol's scale is too coarse for the venue)",
                         c->sym, filter, key, shown, s, needed_decimals(s, n), unit, c->sym,
                         strcmp(unit, "quantity") ? "prices" : "quantities", scale);
    if (rc == NX_EOVERFLOW)
        return nx_errorf(c->why, c->whycap, rc,
                         "exchangeInfo: %s %s %s %.*s is too large at %u %s decimals", c->sym,
                         filter, key, shown, s, scale, unit);
    if (rc < 0)
        return nx_errorf(c->why, c->whycap, NX_ESYNTAX,
                         "exchangeInfo: %s %s %s \"%.*s\" is not a decimal", c->sym, filter, key,
                         shown, s);
    if (*out < 0)
        return nx_errorf(c->why, c->whycap, NX_ERANGE, "exchangeInfo: %s %s %s %.*s is negative",
                         c->sym, filter, key, shown, s);
    return 0;
}

/* A whole number (a JSON integer, or a string of digits: Binance's SDK
 * changelog records multiplierDecimal moving from integer to string) in
 * [0, max]; *out untouched when absent. */
static int get_count(const ctx_t *c, const char *filter, const json_t *obj, const char *key,
                     int64_t max, int64_t *out, int *present)
{
    *present = 0;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_string(v)) {
        if (nx_fixed_parse(json_string_value(v), json_string_length(v), 0, &x) < 0)
            return nx_errorf(c->why, c->whycap, NX_ESYNTAX,
                             "exchangeInfo: %s %s %s is not a whole number", c->sym, filter, key);
    } else {
        return nx_errorf(c->why, c->whycap, NX_ESYNTAX,
                         "exchangeInfo: %s %s %s is not a whole number", c->sym, filter, key);
    }
    if (x < 0 || x > max)
        return nx_errorf(c->why, c->whycap, NX_ERANGE,
                         "exchangeInfo: %s %s %s %lld is outside 0..%lld", c->sym, filter, key,
                         (long long)x, (long long)max);
    *out = x;
    *present = 1;
    return 0;
}

/* min <= max unless either is off (0). */
static int check_order(const ctx_t *c, const char *filter, const char *kmin, int64_t min,
                       const char *kmax, int64_t max, unsigned scale)
{
    if (min == 0 || max == 0 || min <= max)
        return 0;
    char a[NX_FIXED_FMT_MAX], b[NX_FIXED_FMT_MAX];
    nx_fixed_format(min, scale, a, sizeof a);
    nx_fixed_format(max, scale, b, sizeof b);
    return nx_errorf(c->why, c->whycap, NX_ERANGE, "exchangeInfo: %s %s %s %s is above %s %s",
                     c->sym, filter, kmin, a, kmax, b);
}

static int load_lot(const ctx_t *c, const char *filter, const json_t *o, int64_t *min, int64_t *max,
                    int64_t *step)
{
    unsigned qs = c->s->qty_scale;
    int rc;
    if ((rc = get_decimal(c, filter, o, "minQty", qs, "quantity", min)) < 0 ||
        (rc = get_decimal(c, filter, o, "maxQty", qs, "quantity", max)) < 0 ||
        (rc = get_decimal(c, filter, o, "stepSize", qs, "quantity", step)) < 0)
        return rc;
    return check_order(c, filter, "minQty", *min, "maxQty", *max, qs);
}

static int load_percent(const ctx_t *c, const json_t *o, nx_bn_filters_t *f)
{
    static const char *const F = "PERCENT_PRICE";
    int64_t d = 0;
    int present, rc;
    if ((rc = get_count(c, F, o, "multiplierDecimal", NX_FIXED_MAX_SCALE, &d, &present)) < 0)
        return rc;
    if (!present) {
        /* No stated scale: take the finest the two multipliers use. */
        const json_t *u = json_object_get(o, "multiplierUp");
        const json_t *w = json_object_get(o, "multiplierDown");
        unsigned du =
            json_is_string(u) ? needed_decimals(json_string_value(u), json_string_length(u)) : 0;
        unsigned dw =
            json_is_string(w) ? needed_decimals(json_string_value(w), json_string_length(w)) : 0;
        d = du > dw ? du : dw;
        if (d > NX_FIXED_MAX_SCALE)
            d = NX_FIXED_MAX_SCALE;
    }
    f->mult_decimal = (uint8_t)d;
    if ((rc = get_decimal(c, F, o, "multiplierUp", (unsigned)d, "multiplier", &f->mult_up)) < 0 ||
        (rc = get_decimal(c, F, o, "multiplierDown", (unsigned)d, "multiplier", &f->mult_down)) < 0)
        return rc;
    return check_order(c, F, "multiplierDown", f->mult_down, "multiplierUp", f->mult_up,
                       (unsigned)d);
}

static int load_limit(const ctx_t *c, const char *filter, const json_t *o, uint32_t *out)
{
    int64_t x = 0;
    int present;
    int rc = get_count(c, filter, o, "limit", UINT32_MAX, &x, &present);
    *out = (uint32_t)x;
    return rc;
}

/* The precision Binance accepts in a price or quantity string
 * (pricePrecision, quantityPrecision), capped at the symbol's scale: finer
 * than the scale, no order of Nexus can break it. Absent: no check. */
static int load_precision(const ctx_t *c, const json_t *sym, const char *key, unsigned scale,
                          uint8_t *out)
{
    int64_t p = scale;
    int present;
    int rc = get_count(c, "symbol", sym, key, 64, &p, &present);
    *out = (uint8_t)(p < (int64_t)scale ? p : (int64_t)scale);
    return rc;
}

static int load_symbol(const ctx_t *c, const json_t *sym, nx_bn_filters_t *f)
{
    const nx_symbol_t *s = c->s;
    const json_t *st = json_object_get(sym, "status");
    if (!json_is_string(st))
        return nx_errorf(c->why, c->whycap, NX_ESYNTAX, "exchangeInfo: %s has no status", c->sym);
    if (strcmp(json_string_value(st), "TRADING") != 0)
        return nx_errorf(c->why, c->whycap, NX_ESTATE,
                         "exchangeInfo: %s is %.24s on Binance, not TRADING", c->sym,
                         json_string_value(st));
    const json_t *filters = json_object_get(sym, "filters");
    if (!json_is_array(filters))
        return nx_errorf(c->why, c->whycap, NX_ESYNTAX, "exchangeInfo: %s has no filters array",
                         c->sym);

    memset(f, 0, sizeof *f);
    f->symbol = s->id;
    f->price_scale = s->price_scale;
    f->qty_scale = s->qty_scale;
    int rc;
    if ((rc = load_precision(c, sym, "pricePrecision", s->price_scale, &f->price_decimals)) < 0 ||
        (rc = load_precision(c, sym, "quantityPrecision", s->qty_scale, &f->qty_decimals)) < 0)
        return rc;

    int market_lot = 0;
    size_t i;
    const json_t *o;
    json_array_foreach(filters, i, o)
    {
        const json_t *t = json_object_get(o, "filterType");
        if (!json_is_string(t))
            return nx_errorf(c->why, c->whycap, NX_ESYNTAX,
                             "exchangeInfo: %s filter %zu has no filterType", c->sym, i);
        const char *type = json_string_value(t);
        unsigned ps = s->price_scale;
        if (!strcmp(type, "PRICE_FILTER")) {
            if ((rc = get_decimal(c, type, o, "minPrice", ps, "price", &f->min_price)) < 0 ||
                (rc = get_decimal(c, type, o, "maxPrice", ps, "price", &f->max_price)) < 0 ||
                (rc = get_decimal(c, type, o, "tickSize", ps, "price", &f->tick_size)) < 0 ||
                (rc = check_order(c, type, "minPrice", f->min_price, "maxPrice", f->max_price,
                                  ps)) < 0)
                return rc;
        } else if (!strcmp(type, "LOT_SIZE")) {
            rc = load_lot(c, type, o, &f->min_qty, &f->max_qty, &f->step_size);
        } else if (!strcmp(type, "MARKET_LOT_SIZE")) {
            rc = load_lot(c, type, o, &f->mkt_min_qty, &f->mkt_max_qty, &f->mkt_step_size);
            market_lot = 1;
        } else if (!strcmp(type, "MIN_NOTIONAL")) {
            rc = get_decimal(c, type, o, "notional", ps, "price", &f->min_notional);
        } else if (!strcmp(type, "PERCENT_PRICE")) {
            rc = load_percent(c, o, f);
        } else if (!strcmp(type, "MAX_NUM_ORDERS")) {
            rc = load_limit(c, type, o, &f->max_orders);
        } else if (!strcmp(type, "MAX_NUM_ALGO_ORDERS")) {
            rc = load_limit(c, type, o, &f->max_algo_orders);
        }
        /* Other filter types (Binance adds some without notice) do not
         * concern an order Nexus sends. */
        if (rc < 0)
            return rc;
    }
    /* A listing without MARKET_LOT_SIZE (our loopback simulator serves only
     * PRICE_FILTER and LOT_SIZE) holds market orders to LOT_SIZE. */
    if (!market_lot) {
        f->mkt_min_qty = f->min_qty;
        f->mkt_max_qty = f->max_qty;
        f->mkt_step_size = f->step_size;
    }
    f->loaded = 1;
    return 0;
}

int nx_bn_filters_load(const char *json, size_t len, const nx_symtab_t *symtab,
                       nx_bn_filters_t *out, uint32_t cap, char *why, size_t whycap)
{
    if (why && whycap)
        why[0] = 0;
    if (!json || !symtab || !out)
        return nx_errorf(why, whycap, NX_EINVAL, "exchangeInfo: no body, symtab or table");
    uint32_t count = nx_symtab_count(symtab);
    if (cap < count)
        return nx_errorf(why, whycap, NX_EFULL,
                         "exchangeInfo: the filter table holds %u symbols, the symtab has %u", cap,
                         count);
    memset(out, 0, (size_t)count * sizeof *out);
    for (uint32_t id = 0; id < count; id++)
        out[id].symbol = id;

    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return nx_errorf(why, whycap, NX_ESYNTAX,
                         "exchangeInfo: malformed JSON at line %d column %d: %s", jerr.line,
                         jerr.column, jerr.text);
    int rc = 0;
    const json_t *syms = json_object_get(root, "symbols");
    if (!json_is_array(syms)) {
        rc = nx_errorf(why, whycap, NX_ESYNTAX, "exchangeInfo: no \"symbols\" array");
        goto done;
    }

    size_t i;
    const json_t *sym;
    json_array_foreach(syms, i, sym)
    {
        const json_t *name = json_object_get(sym, "symbol");
        if (!json_is_string(name))
            continue; /* not one of ours, whatever it is */
        uint32_t id = nx_symtab_find(symtab, NX_VENUE_BINANCE_USDM, json_string_value(name),
                                     json_string_length(name));
        if (id == NX_SYMBOL_NONE || id >= count)
            continue;
        ctx_t c = {json_string_value(name), nx_symtab_get(symtab, id), why, whycap};
        if (out[id].loaded) {
            rc = nx_errorf(why, whycap, NX_ESYNTAX, "exchangeInfo: %s is listed twice", c.sym);
            goto done;
        }
        if ((rc = load_symbol(&c, sym, &out[id])) < 0)
            goto done;
    }

    for (uint32_t id = 0; id < count; id++) {
        const nx_symbol_t *s = nx_symtab_get(symtab, id);
        if (s && s->venue == NX_VENUE_BINANCE_USDM && !out[id].loaded) {
            rc = nx_errorf(why, whycap, NX_ENOENT,
                           "exchangeInfo: %s is not listed by Binance USD-M", s->name);
            goto done;
        }
    }
done:
    json_decref(root);
    return rc;
}

/* ---------- checks ---------- */

static int is_stop(uint8_t type)
{
    return type == NX_ORD_STOP_MARKET || type == NX_ORD_TAKE_PROFIT_MARKET ||
           type == NX_ORD_TRAILING_STOP;
}

/* Refuse: the venue's code out, a sentence into why. */
static int refuse(int rc, int vcode, int *venue_code, char *why, size_t whycap, const char *fmt,
                  ...) NX_PRINTF(6, 7);
static int refuse(int rc, int vcode, int *venue_code, char *why, size_t whycap, const char *fmt,
                  ...)
{
    if (venue_code)
        *venue_code = vcode;
    if (why && whycap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whycap, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* Shortest exact decimal of v at scale, in a caller's buffer. */
static const char *dec(char *buf, int64_t v, unsigned scale)
{
    if (!nx_fixed_format(v, scale, buf, NX_FIXED_FMT_MAX))
        snprintf(buf, NX_FIXED_FMT_MAX, "?");
    return buf;
}

static int64_t clamp64(i128 v)
{
    return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : (int64_t)v;
}

/* Floor division for a possibly negative numerator and d > 0. */
static i128 floor_div(i128 n, i128 d)
{
    i128 q = n / d;
    return (n % d != 0 && n < 0) ? q - 1 : q;
}

/* v has non-zero digits below 10^-decimals, given it is kept at scale. */
static int too_fine(int64_t v, unsigned scale, unsigned decimals)
{
    return decimals < scale && v % nx_pow10[scale - decimals] != 0;
}

static int check_price(const nx_bn_filters_t *f, int64_t px, int stop, int *vc, char *why,
                       size_t cap)
{
    char a[NX_FIXED_FMT_MAX], b[NX_FIXED_FMT_MAX], t[NX_FIXED_FMT_MAX];
    unsigned ps = f->price_scale;
    const char *what = stop ? "trigger price" : "price";
    if (px <= 0)
        return refuse(NX_EINVAL,
                      stop ? NX_BN_STOP_PRICE_LESS_THAN_ZERO : NX_BN_PRICE_LESS_THAN_ZERO, vc, why,
                      cap, "PRICE_FILTER: %s %s is not positive", what, dec(a, px, ps));
    if (too_fine(px, ps, f->price_decimals))
        return refuse(NX_EPRECISION, NX_BN_BAD_PRECISION, vc, why, cap,
                      "pricePrecision: %s %s has more than the %u decimals Binance takes", what,
                      dec(a, px, ps), f->price_decimals);
    if (f->min_price && px < f->min_price)
        return refuse(NX_ERANGE, NX_BN_PRICE_LESS_THAN_MIN, vc, why, cap,
                      "PRICE_FILTER: %s %s is below the minimum %s", what, dec(a, px, ps),
                      dec(b, f->min_price, ps));
    if (f->max_price && px > f->max_price)
        return refuse(NX_ERANGE,
                      stop ? NX_BN_STOP_PRICE_GREATER_THAN_MAX : NX_BN_PRICE_GREATER_THAN_MAX, vc,
                      why, cap, "PRICE_FILTER: %s %s is above the maximum %s", what, dec(a, px, ps),
                      dec(b, f->max_price, ps));
    if (f->tick_size && (px - f->min_price) % f->tick_size != 0) {
        if (f->min_price % f->tick_size == 0)
            return refuse(NX_EPRECISION, NX_BN_PRICE_NOT_BY_TICK, vc, why, cap,
                          "PRICE_FILTER: %s %s is not a multiple of the tick %s", what,
                          dec(a, px, ps), dec(t, f->tick_size, ps));
        return refuse(NX_EPRECISION, NX_BN_PRICE_NOT_BY_TICK, vc, why, cap,
                      "PRICE_FILTER: %s %s is not the minimum %s plus a multiple of the tick %s",
                      what, dec(a, px, ps), dec(b, f->min_price, ps), dec(t, f->tick_size, ps));
    }
    return 0;
}

static int check_qty(const nx_bn_filters_t *f, int64_t qty, int market, int *vc, char *why,
                     size_t cap)
{
    char a[NX_FIXED_FMT_MAX], b[NX_FIXED_FMT_MAX], t[NX_FIXED_FMT_MAX];
    unsigned qs = f->qty_scale;
    const char *name = market ? "MARKET_LOT_SIZE" : "LOT_SIZE";
    int64_t min = market ? f->mkt_min_qty : f->min_qty;
    int64_t max = market ? f->mkt_max_qty : f->max_qty;
    int64_t step = market ? f->mkt_step_size : f->step_size;
    if (min && qty < min)
        return refuse(NX_ERANGE, NX_BN_QTY_LESS_THAN_MIN, vc, why, cap,
                      "%s: quantity %s is below the minimum %s", name, dec(a, qty, qs),
                      dec(b, min, qs));
    if (max && qty > max)
        return refuse(NX_ERANGE, NX_BN_QTY_GREATER_THAN_MAX, vc, why, cap,
                      "%s: quantity %s is above the maximum %s", name, dec(a, qty, qs),
                      dec(b, max, qs));
    if (step && (qty - min) % step != 0) {
        if (min % step == 0)
            return refuse(NX_EPRECISION, NX_BN_QTY_NOT_BY_STEP, vc, why, cap,
                          "%s: quantity %s is not a multiple of the step %s", name, dec(a, qty, qs),
                          dec(t, step, qs));
        return refuse(NX_EPRECISION, NX_BN_QTY_NOT_BY_STEP, vc, why, cap,
                      "%s: quantity %s is not the minimum %s plus a multiple of the step %s", name,
                      dec(a, qty, qs), dec(b, min, qs), dec(t, step, qs));
    }
    return 0;
}

/* PERCENT_PRICE: px against mark x multiplier, exactly: px x 10^d compared
 * with mark x mult. The bound shown is the last price on the price grid
 * that passes (floor for the cap, ceiling for the floor). */
static int check_percent(const nx_bn_filters_t *f, const nx_ev_order_intent_t *in, int64_t px,
                         int64_t mark, int market, int *vc, char *why, size_t cap)
{
    if (!f->mult_up && !f->mult_down)
        return 0;
    char a[NX_FIXED_FMT_MAX], b[NX_FIXED_FMT_MAX], m[NX_FIXED_FMT_MAX], k[NX_FIXED_FMT_MAX];
    unsigned ps = f->price_scale;
    i128 scaled = (i128)px * nx_pow10[f->mult_decimal];
    const char *what = market ? "the best ask" : "buy price";
    if (in->side == NX_SIDE_BUY && f->mult_up) {
        i128 bound = (i128)mark * f->mult_up;
        if (scaled > bound)
            return refuse(
                NX_ERANGE, market ? NX_BN_MARKET_ORDER_REJECT : NX_BN_PRICE_ABOVE_MULTIPLIER_UP, vc,
                why, cap, "PERCENT_PRICE: %s %s is above %s, the mark price %s x multiplierUp %s",
                what, dec(a, px, ps),
                dec(b, clamp64(floor_div(bound, nx_pow10[f->mult_decimal])), ps), dec(m, mark, ps),
                dec(k, f->mult_up, f->mult_decimal));
    }
    what = market ? "the best bid" : "sell price";
    if (in->side == NX_SIDE_SELL && f->mult_down) {
        i128 bound = (i128)mark * f->mult_down;
        if (scaled < bound)
            return refuse(
                NX_ERANGE, market ? NX_BN_MARKET_ORDER_REJECT : NX_BN_PRICE_BELOW_MULTIPLIER_DOWN,
                vc, why, cap,
                "PERCENT_PRICE: %s %s is below %s, the mark price %s x multiplierDown %s", what,
                dec(a, px, ps), dec(b, clamp64(-floor_div(-bound, nx_pow10[f->mult_decimal])), ps),
                dec(m, mark, ps), dec(k, f->mult_down, f->mult_decimal));
    }
    return 0;
}

/* MIN_NOTIONAL: px x qty (10^-(ps+qs) units) against notional x 10^qs. */
static int check_notional(const nx_bn_filters_t *f, const nx_ev_order_intent_t *in, int64_t px,
                          const char *valued_at, int *vc, char *why, size_t cap)
{
    unsigned ps = f->price_scale, qs = f->qty_scale;
    i128 notional = (i128)px * in->qty;
    if (notional >= (i128)f->min_notional * nx_pow10[qs])
        return 0;
    char n[NX_FIXED_FMT_MAX], p[NX_FIXED_FMT_MAX], q[NX_FIXED_FMT_MAX], m[NX_FIXED_FMT_MAX];
    if (ps + qs <= NX_FIXED_MAX_SCALE && notional <= INT64_MAX)
        dec(n, (int64_t)notional, ps + qs);
    else
        dec(n, clamp64(notional / nx_pow10[qs]), ps);
    return refuse(NX_ERANGE, in->amend ? NX_BN_MODIFICATION_MIN_NOTIONAL : NX_BN_MIN_NOTIONAL, vc,
                  why, cap,
                  "MIN_NOTIONAL: notional %s (%s %s x quantity %s) is below the minimum %s; "
                  "only a reduce-only order may be smaller",
                  n, valued_at, dec(p, px, ps), dec(q, in->qty, qs), dec(m, f->min_notional, ps));
}

int nx_bn_filters_check(const nx_bn_filters_t *f, const nx_ev_order_intent_t *in, int64_t ref_price,
                        int64_t mark_price, int *venue_code, char *why, size_t whycap)
{
    if (venue_code)
        *venue_code = 0;
    if (why && whycap)
        why[0] = 0;
    if (!f || !in)
        return nx_errorf(why, whycap, NX_EINVAL, "no filters or no order");
    if (!f->loaded)
        return nx_errorf(why, whycap, NX_ESTATE, "no Binance USD-M filters for this symbol");
    uint8_t type = in->order_type;
    if (type != NX_ORD_MARKET && type != NX_ORD_LIMIT && !is_stop(type))
        return refuse(NX_EINVAL, NX_BN_INVALID_ORDER_TYPE, venue_code, why, whycap,
                      "order type %u is not one Binance USD-M takes", type);
    if (in->side != NX_SIDE_BUY && in->side != NX_SIDE_SELL)
        return refuse(NX_EINVAL, NX_BN_INVALID_SIDE, venue_code, why, whycap,
                      "side %u is neither buy nor sell", in->side);
    int market = type == NX_ORD_MARKET, stop = is_stop(type);
    char a[NX_FIXED_FMT_MAX];
    int rc;

    if (in->qty <= 0)
        return refuse(NX_EINVAL, NX_BN_QTY_LESS_THAN_ZERO, venue_code, why, whycap,
                      "LOT_SIZE: quantity %s is not positive", dec(a, in->qty, f->qty_scale));
    if (too_fine(in->qty, f->qty_scale, f->qty_decimals))
        return refuse(NX_EPRECISION, NX_BN_BAD_PRECISION, venue_code, why, whycap,
                      "quantityPrecision: quantity %s has more than the %u decimals Binance takes",
                      dec(a, in->qty, f->qty_scale), f->qty_decimals);
    /* A trailing stop may carry no price (it activates at once). */
    int priced = !market && !(type == NX_ORD_TRAILING_STOP && in->price == 0);
    if (priced && (rc = check_price(f, in->price, stop, venue_code, why, whycap)) < 0)
        return rc;
    if ((rc = check_qty(f, in->qty, market, venue_code, why, whycap)) < 0)
        return rc;
    if (mark_price > 0) {
        if (type == NX_ORD_LIMIT &&
            (rc = check_percent(f, in, in->price, mark_price, 0, venue_code, why, whycap)) < 0)
            return rc;
        if (market && ref_price > 0 &&
            (rc = check_percent(f, in, ref_price, mark_price, 1, venue_code, why, whycap)) < 0)
            return rc;
    }
    if (f->min_notional && !in->reduce_only) {
        int64_t px = in->price;
        const char *at = stop ? "trigger price" : "price";
        if (market) {
            px = mark_price > 0 ? mark_price : ref_price;
            at = mark_price > 0 ? "mark price" : "reference price";
            if (px <= 0)
                return nx_errorf(why, whycap, NX_EINVAL,
                                 "MIN_NOTIONAL: no mark or reference price to value a market "
                                 "order");
        }
        if (px > 0 && (rc = check_notional(f, in, px, at, venue_code, why, whycap)) < 0)
            return rc;
    }
    return 0;
}

int nx_bn_filters_check_open(const nx_bn_filters_t *f, uint32_t open_orders, uint32_t open_algo,
                             int algo, int *venue_code, char *why, size_t whycap)
{
    if (venue_code)
        *venue_code = 0;
    if (why && whycap)
        why[0] = 0;
    if (!f)
        return nx_errorf(why, whycap, NX_EINVAL, "no filters");
    if (!f->loaded)
        return nx_errorf(why, whycap, NX_ESTATE, "no Binance USD-M filters for this symbol");
    if (f->max_orders && open_orders >= f->max_orders)
        return refuse(NX_EFULL, NX_BN_MAX_OPEN_ORDER_EXCEEDED, venue_code, why, whycap,
                      "MAX_NUM_ORDERS: %u orders are open on the symbol, the limit is %u",
                      open_orders, f->max_orders);
    if (algo && f->max_algo_orders && open_algo >= f->max_algo_orders)
        return refuse(NX_EFULL, NX_BN_MAX_STOP_ORDER_EXCEEDED, venue_code, why, whycap,
                      "MAX_NUM_ALGO_ORDERS: %u conditional orders are open on the symbol, the "
                      "limit is %u",
                      open_algo, f->max_algo_orders);
    return 0;
}

/* ---------- rounding ---------- */

int64_t nx_bn_filters_round_qty(const nx_bn_filters_t *f, int64_t qty, int market)
{
    int64_t min = market ? f->mkt_min_qty : f->min_qty;
    int64_t step = market ? f->mkt_step_size : f->step_size;
    if (qty <= 0 || qty < min)
        return 0;
    if (step <= 0)
        return qty;
    return min + (qty - min) / step * step;
}

int64_t nx_bn_filters_round_price(const nx_bn_filters_t *f, int64_t price, nx_side_t side)
{
    int64_t tick = f->tick_size;
    if (tick <= 0)
        return price;
    i128 off = (i128)price - f->min_price;
    i128 k = side == NX_SIDE_SELL ? -floor_div(-off, tick) : floor_div(off, tick);
    return clamp64(f->min_price + k * tick);
}

/* ---------- the venue's words ---------- */

static const struct {
    int code;
    const char *msg;
} venue_msgs[] = {
    {NX_BN_BAD_PRECISION, "Precision is over the maximum defined for this asset."},
    {NX_BN_INVALID_ORDER_TYPE, "Invalid orderType."},
    {NX_BN_INVALID_SIDE, "Invalid side."},
    {NX_BN_MAX_OPEN_ORDER_EXCEEDED, "Reach max open order limit."},
    {NX_BN_PRICE_LESS_THAN_ZERO, "Price less than 0."},
    {NX_BN_PRICE_GREATER_THAN_MAX, "Price greater than max price."},
    {NX_BN_QTY_LESS_THAN_ZERO, "Quantity less than zero."},
    {NX_BN_QTY_LESS_THAN_MIN, "Quantity less than min quantity."},
    {NX_BN_QTY_GREATER_THAN_MAX, "Quantity greater than max quantity."},
    {NX_BN_STOP_PRICE_LESS_THAN_ZERO, "Stop price less than zero."},
    {NX_BN_STOP_PRICE_GREATER_THAN_MAX, "Stop price greater than max price."},
    {NX_BN_PRICE_LESS_THAN_MIN, "Price less than min price."},
    {NX_BN_PRICE_NOT_BY_TICK, "Price not increased by tick size."},
    {NX_BN_PRICE_ABOVE_MULTIPLIER_UP, "Price is higher than mark price multiplier cap."},
    {NX_BN_QTY_NOT_BY_STEP, "Qty not increased by step size."},
    {NX_BN_PRICE_BELOW_MULTIPLIER_DOWN, "Price is lower than mark price multiplier floor."},
    {NX_BN_MAX_STOP_ORDER_EXCEEDED, "Reach max stop order limit."},
    {NX_BN_MARKET_ORDER_REJECT,
     "The counterparty's best price does not meet the PERCENT_PRICE filter limit"},
};

size_t nx_bn_filters_venue_msg(const nx_bn_filters_t *f, int venue_code, char *buf, size_t cap)
{
    if (!buf || !cap)
        return 0;
    buf[0] = 0;
    int n = 0;
    if (venue_code == NX_BN_MIN_NOTIONAL || venue_code == NX_BN_MODIFICATION_MIN_NOTIONAL) {
        char m[NX_FIXED_FMT_MAX];
        dec(m, f ? f->min_notional : 0, f ? f->price_scale : 0);
        n = snprintf(buf, cap, "Order's notional must be no smaller than %s%s", m,
                     venue_code == NX_BN_MIN_NOTIONAL ? " (unless you choose reduce only)" : "");
    } else {
        for (size_t i = 0; i < sizeof venue_msgs / sizeof venue_msgs[0]; i++)
            if (venue_msgs[i].code == venue_code) {
                n = snprintf(buf, cap, "%s", venue_msgs[i].msg);
                break;
            }
    }
    if (n <= 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
