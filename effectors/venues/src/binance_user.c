/*
 * binance_user.c — Binance USD-M user-data stream frames into nx_bnu_msg_t
 * (contract in nx/binance_user.h).
 *
 * Workload: a live account sees a few user-data frames a second, bursts of
 * tens when a large order fills in many pieces; each frame is 250-700
 * bytes, and an ORDER_TRADE_UPDATE carries 33 keys of which 23 are used.
 * The market-data parsers see a thousand times more traffic, so this one
 * favours one readable table per object over hand-unrolled key switches,
 * but still makes one pass over the frame and allocates nothing: a fill
 * must reach the order manager in the same microsecond budget as a tick.
 *
 * Design. Each JSON object the stream sends (the frame, "o", "a", each
 * balance, each position) has a table of fields: the key, how its value
 * converts (decimal at the price, quantity or money scale, integer,
 * boolean, enumeration, bounded string) and where it goes in the record.
 * Decoding an object is two steps: collect() walks it once with the
 * scanner (nx/jscan.h) and keeps the span of every key in the table, then
 * convert() fills the record: the symbol first, because key order is not
 * assumed and prices need its scales, then every other field, checking
 * that the required ones were sent. Keys Binance sends but Nexus does not
 * use are listed as C_SKIP so that a table follows Binance's own key order;
 * find() starts after the previous match, so a frame in that order (every
 * capture) finds each key at the first compare, and any other order costs
 * at most one lap of the table per key.
 *
 * The frame's table is the union of the top-level keys of every event
 * (TRADE_LITE keeps its fields at the top, the others nest them in "o" or
 * "a"), so one pass serves all kinds, and a combined-stream envelope is the
 * same table applied once more to its "data".
 */
#include "nx/binance_user.h"

#include <stddef.h>
#include <string.h>

#include "nx/compiler.h"
#include "nx/error.h"
#include "nx/fixed.h"
#include "nx/jscan.h"

/* How a field's value converts. */
enum conv {
    C_SKIP,  /* a key Binance sends that Nexus does not use (keeps find() in step) */
    C_SPAN,  /* kept as a span for the code that reads the object (top-level e, o, a, ...) */
    C_SYM,   /* the symbol: copied, looked up, and its scales used by the fields below */
    C_ID,    /* string copied whole into char[size]; a longer one is an error */
    C_TEXT,  /* string copied into char[size], cut to fit */
    C_PRICE, /* decimal at the symbol's price scale, exact */
    C_AVG,   /* decimal at the price scale, rounded (an average the venue computed) */
    C_QTY,   /* decimal at the symbol's quantity scale, exact */
    C_MONEY, /* decimal at NX_BNU_MONEY_SCALE, exact */
    C_U64,   /* unsigned integer, a number or a string of digits */
    C_MS,    /* epoch milliseconds, int64 */
    C_BOOL,  /* true or false, to uint8 1 or 0 */
    C_ENUM,  /* a string from a name list, to uint8 (its index) */
};

/* Names of an enumeration, by value; v[0] is unused (0 = unknown). With
 * `strict`, an unknown name is an error (a value Nexus acts on); without,
 * it reads as 0, the enumeration's OTHER. */
typedef struct names {
    const char *const *v;
    uint8_t n;
    uint8_t strict;
} names_t;

typedef struct field {
    const char *key;      /* as on the wire */
    const char *path;     /* the key as errors name it: "o.X", "a.P[].pa" */
    uint8_t klen;         /* strlen(key) */
    uint8_t conv;         /* enum conv */
    uint8_t required;     /* 1 = a frame without it is an error */
    uint16_t off;         /* destination: byte offset in the record */
    uint16_t size;        /* destination's size in bytes (char[] capacity) */
    const names_t *names; /* C_ENUM only */
} field_t;

#define NF(table) ((int)(sizeof(table) / sizeof((table)[0])))

/* A field of record type `rec` stored in `member`; `pfx` is the path of
 * the object that holds the key ("o.", "a.B[]."). */
#define FLD(pfx, k, conv, req, rec, member, nm)                                                    \
    {                                                                                              \
        k, pfx k, sizeof(k) - 1, conv, req, offsetof(rec, member), sizeof(((rec *)0)->member), nm  \
    }
#define SKIP(k)                                                                                    \
    {                                                                                              \
        k, k, sizeof(k) - 1, C_SKIP, 0, 0, 0, NULL                                                 \
    }
#define SPAN(pfx, k)                                                                               \
    {                                                                                              \
        k, pfx k, sizeof(k) - 1, C_SPAN, 0, 0, 0, NULL                                             \
    }

/* Spans of one object, by the index of their field in its table; only the
 * entries with their bit in `seen` are valid (clearing 40 spans per object
 * would cost more than the bit test at each read). */
#define OBJ_FIELDS_MAX 40
typedef struct obj {
    nx_jspan_t v[OBJ_FIELDS_MAX];
    uint64_t seen;
} obj_t;

#define HAS(o, i) (((o)->seen >> (i)) & 1u)

/* ---------- enumerations ---------- */

static const char *const side_v[] = {[NX_SIDE_BUY] = "BUY", [NX_SIDE_SELL] = "SELL"};
static const names_t side_n = {side_v, NF(side_v), 1};

static const char *const otype_v[] = {
    [NX_BNU_OT_LIMIT] = "LIMIT",
    [NX_BNU_OT_MARKET] = "MARKET",
    [NX_BNU_OT_STOP] = "STOP",
    [NX_BNU_OT_STOP_MARKET] = "STOP_MARKET",
    [NX_BNU_OT_TAKE_PROFIT] = "TAKE_PROFIT",
    [NX_BNU_OT_TAKE_PROFIT_MARKET] = "TAKE_PROFIT_MARKET",
    [NX_BNU_OT_TRAILING_STOP_MARKET] = "TRAILING_STOP_MARKET",
    [NX_BNU_OT_LIQUIDATION] = "LIQUIDATION",
};
static const names_t otype_n = {otype_v, NF(otype_v), 0};

static const char *const exec_v[] = {
    [NX_BNU_X_NEW] = "NEW",
    [NX_BNU_X_CANCELED] = "CANCELED",
    [NX_BNU_X_CALCULATED] = "CALCULATED",
    [NX_BNU_X_EXPIRED] = "EXPIRED",
    [NX_BNU_X_TRADE] = "TRADE",
    [NX_BNU_X_AMENDMENT] = "AMENDMENT",
};
static const names_t exec_n = {exec_v, NF(exec_v), 1};

static const char *const status_v[] = {
    [NX_BNU_S_NEW] = "NEW",
    [NX_BNU_S_PARTIALLY_FILLED] = "PARTIALLY_FILLED",
    [NX_BNU_S_FILLED] = "FILLED",
    [NX_BNU_S_CANCELED] = "CANCELED",
    [NX_BNU_S_REJECTED] = "REJECTED",
    [NX_BNU_S_EXPIRED] = "EXPIRED",
    [NX_BNU_S_EXPIRED_IN_MATCH] = "EXPIRED_IN_MATCH",
};
static const names_t status_n = {status_v, NF(status_v), 1};

/* Binance's status as the engine's: the venue's NEW means it accepted the
 * order (the engine's NEW is an order not yet sent), and an order expired
 * by self-trade prevention is expired. */
static const uint8_t nx_status_of[] = {
    [NX_BNU_S_NEW] = NX_OS_ACKED,
    [NX_BNU_S_PARTIALLY_FILLED] = NX_OS_PARTIAL,
    [NX_BNU_S_FILLED] = NX_OS_FILLED,
    [NX_BNU_S_CANCELED] = NX_OS_CANCELLED,
    [NX_BNU_S_REJECTED] = NX_OS_REJECTED,
    [NX_BNU_S_EXPIRED] = NX_OS_EXPIRED,
    [NX_BNU_S_EXPIRED_IN_MATCH] = NX_OS_EXPIRED,
};
_Static_assert(NF(nx_status_of) == NF(status_v), "every Binance status maps to the engine's");

static const char *const algo_status_v[] = {
    [NX_BNU_AS_NEW] = "NEW",
    [NX_BNU_AS_CANCELED] = "CANCELED",
    [NX_BNU_AS_TRIGGERING] = "TRIGGERING",
    [NX_BNU_AS_TRIGGERED] = "TRIGGERED",
    [NX_BNU_AS_FINISHED] = "FINISHED",
    [NX_BNU_AS_REJECTED] = "REJECTED",
    [NX_BNU_AS_EXPIRED] = "EXPIRED",
};
static const names_t algo_status_n = {algo_status_v, NF(algo_status_v), 1};

static const char *const algo_type_v[] = {[NX_BNU_AT_CONDITIONAL] = "CONDITIONAL"};
static const names_t algo_type_n = {algo_type_v, NF(algo_type_v), 0};

static const char *const tif_v[] = {
    [NX_BNU_TIF_GTC] = "GTC", [NX_BNU_TIF_IOC] = "IOC", [NX_BNU_TIF_FOK] = "FOK",
    [NX_BNU_TIF_GTX] = "GTX", [NX_BNU_TIF_GTD] = "GTD",
};
static const names_t tif_n = {tif_v, NF(tif_v), 0};

static const char *const pside_v[] = {
    [NX_BNU_PS_BOTH] = "BOTH", [NX_BNU_PS_LONG] = "LONG", [NX_BNU_PS_SHORT] = "SHORT"};
static const names_t pside_n = {pside_v, NF(pside_v), 0};

static const char *const wtype_v[] = {
    [NX_BNU_WT_CONTRACT_PRICE] = "CONTRACT_PRICE", [NX_BNU_WT_MARK_PRICE] = "MARK_PRICE"};
static const names_t wtype_n = {wtype_v, NF(wtype_v), 0};

static const char *const margin_v[] = {
    [NX_BNU_MT_CROSS] = "cross", [NX_BNU_MT_ISOLATED] = "isolated"};
static const names_t margin_n = {margin_v, NF(margin_v), 0};

static const char *const reason_v[] = {
    [NX_BNU_R_DEPOSIT] = "DEPOSIT",
    [NX_BNU_R_WITHDRAW] = "WITHDRAW",
    [NX_BNU_R_ORDER] = "ORDER",
    [NX_BNU_R_FUNDING_FEE] = "FUNDING_FEE",
    [NX_BNU_R_WITHDRAW_REJECT] = "WITHDRAW_REJECT",
    [NX_BNU_R_ADJUSTMENT] = "ADJUSTMENT",
    [NX_BNU_R_INSURANCE_CLEAR] = "INSURANCE_CLEAR",
    [NX_BNU_R_ADMIN_DEPOSIT] = "ADMIN_DEPOSIT",
    [NX_BNU_R_ADMIN_WITHDRAW] = "ADMIN_WITHDRAW",
    [NX_BNU_R_MARGIN_TRANSFER] = "MARGIN_TRANSFER",
    [NX_BNU_R_MARGIN_TYPE_CHANGE] = "MARGIN_TYPE_CHANGE",
    [NX_BNU_R_ASSET_TRANSFER] = "ASSET_TRANSFER",
    [NX_BNU_R_OPTIONS_PREMIUM_FEE] = "OPTIONS_PREMIUM_FEE",
    [NX_BNU_R_OPTIONS_SETTLE_PROFIT] = "OPTIONS_SETTLE_PROFIT",
    [NX_BNU_R_AUTO_EXCHANGE] = "AUTO_EXCHANGE",
    [NX_BNU_R_COIN_SWAP_DEPOSIT] = "COIN_SWAP_DEPOSIT",
    [NX_BNU_R_COIN_SWAP_WITHDRAW] = "COIN_SWAP_WITHDRAW",
};
static const names_t reason_n = {reason_v, NF(reason_v), 0};

/* "e" of the events listed as NX_BNU_OTHER. */
static const char *const other_v[] = {
    [NX_BNU_EV_MARGIN_CALL] = "MARGIN_CALL",
    [NX_BNU_EV_ACCOUNT_CONFIG_UPDATE] = "ACCOUNT_CONFIG_UPDATE",
    [NX_BNU_EV_CONDITIONAL_ORDER_TRIGGER_REJECT] = "CONDITIONAL_ORDER_TRIGGER_REJECT",
    [NX_BNU_EV_GRID_UPDATE] = "GRID_UPDATE",
    [NX_BNU_EV_STRATEGY_UPDATE] = "STRATEGY_UPDATE",
};
static const names_t other_n = {other_v, NF(other_v), 0};

/* "e" of the decoded kinds, by nx_bnu_kind_t. */
static const char *const kind_v[] = {
    [NX_BNU_ORDER] = "ORDER_TRADE_UPDATE",     [NX_BNU_ALGO] = "ALGO_UPDATE",
    [NX_BNU_ACCOUNT] = "ACCOUNT_UPDATE",       [NX_BNU_TRADE_LITE] = "TRADE_LITE",
    [NX_BNU_KEY_EXPIRED] = "listenKeyExpired",
};
static const names_t kind_n = {kind_v, NF(kind_v), 0};

/* Index of the name equal to the span, 0 if none. */
static uint8_t name_find(const names_t *nm, const nx_jspan_t *s)
{
    for (uint8_t i = 1; i < nm->n; i++) {
        const char *v = nm->v[i];
        if (v && strlen(v) == s->n && memcmp(v, s->p, s->n) == 0)
            return i;
    }
    return 0;
}

/* ---------- field tables ---------- */

/* The frame: every event's top-level keys. TRADE_LITE's fields convert
 * into nx_bnu_trade_lite_t; the rest are spans read by the code below.
 * The order is that of TRADE_LITE captures, then the others'. */
enum {
    TOP_e,
    TOP_E,
    TOP_T,
    TOP_s, /* TRADE_LITE: s .. i */
    TOP_q,
    TOP_p,
    TOP_m,
    TOP_c,
    TOP_S,
    TOP_L,
    TOP_l,
    TOP_t,
    TOP_i,
    TOP_o,
    TOP_a,
    TOP_listenKey,
    TOP_stream,
    TOP_data,
    TOP_result,
    TOP_id,
};
#define LITE(k, conv, req, member, nm) FLD("", k, conv, req, nx_bnu_trade_lite_t, member, nm)
static const field_t top_f[] = {
    [TOP_e] = SPAN("", "e"),
    [TOP_E] = SPAN("", "E"),
    [TOP_T] = SPAN("", "T"),
    [TOP_s] = LITE("s", C_SYM, 1, sym, NULL),
    [TOP_q] = LITE("q", C_QTY, 1, qty, NULL),
    [TOP_p] = LITE("p", C_PRICE, 0, price, NULL),
    [TOP_m] = LITE("m", C_BOOL, 0, maker, NULL),
    [TOP_c] = LITE("c", C_ID, 1, client_id, NULL),
    [TOP_S] = LITE("S", C_ENUM, 1, side, &side_n),
    [TOP_L] = LITE("L", C_PRICE, 1, last_price, NULL),
    [TOP_l] = LITE("l", C_QTY, 1, last_qty, NULL),
    [TOP_t] = LITE("t", C_U64, 1, trade_id, NULL),
    [TOP_i] = LITE("i", C_U64, 1, order_id, NULL),
    [TOP_o] = SPAN("", "o"),
    [TOP_a] = SPAN("", "a"),
    [TOP_listenKey] = SPAN("", "listenKey"),
    [TOP_stream] = SKIP("stream"),
    [TOP_data] = SPAN("", "data"),
    [TOP_result] = SPAN("", "result"),
    [TOP_id] = SPAN("", "id"),
};

/* ORDER_TRADE_UPDATE "o", in Binance's order. */
#define ORD(k, conv, req, member, nm) FLD("o.", k, conv, req, nx_bnu_order_t, member, nm)
static const field_t order_f[] = {
    ORD("s", C_SYM, 1, sym, NULL),
    ORD("c", C_ID, 1, client_id, NULL),
    ORD("S", C_ENUM, 1, side, &side_n),
    ORD("o", C_ENUM, 1, type, &otype_n),
    ORD("f", C_ENUM, 0, tif, &tif_n),
    ORD("q", C_QTY, 1, qty, NULL),
    ORD("p", C_PRICE, 0, price, NULL),
    ORD("ap", C_AVG, 0, avg_price, NULL),
    ORD("sp", C_PRICE, 0, stop_price, NULL),
    ORD("x", C_ENUM, 1, exec, &exec_n),
    ORD("X", C_ENUM, 1, status, &status_n),
    ORD("i", C_U64, 1, order_id, NULL),
    ORD("l", C_QTY, 1, last_qty, NULL),
    ORD("z", C_QTY, 1, cum_qty, NULL),
    ORD("L", C_PRICE, 1, last_price, NULL),
    ORD("n", C_MONEY, 0, fee, NULL),
    ORD("N", C_ID, 0, fee_asset, NULL),
    ORD("T", C_MS, 0, trade_ms, NULL),
    ORD("t", C_U64, 0, trade_id, NULL),
    SKIP("b"),
    SKIP("a"),
    ORD("m", C_BOOL, 0, maker, NULL),
    ORD("R", C_BOOL, 0, reduce_only, NULL),
    ORD("wt", C_ENUM, 0, working_type, &wtype_n),
    ORD("ot", C_ENUM, 0, orig_type, &otype_n),
    ORD("ps", C_ENUM, 0, position_side, &pside_n),
    ORD("cp", C_BOOL, 0, close_position, NULL),
    ORD("rp", C_MONEY, 0, realized_pnl, NULL),
    SKIP("pP"),
    SKIP("si"),
    SKIP("ss"),
    SKIP("V"),
    SKIP("pm"),
    SKIP("gtd"),
    SKIP("er"),
};

/* ALGO_UPDATE "o". */
#define ALG(k, conv, req, member, nm) FLD("o.", k, conv, req, nx_bnu_algo_t, member, nm)
static const field_t algo_f[] = {
    ALG("caid", C_ID, 1, client_algo_id, NULL),
    ALG("aid", C_U64, 1, algo_id, NULL),
    ALG("at", C_ENUM, 0, algo_type, &algo_type_n),
    ALG("o", C_ENUM, 1, type, &otype_n),
    ALG("s", C_SYM, 1, sym, NULL),
    ALG("S", C_ENUM, 1, side, &side_n),
    ALG("ps", C_ENUM, 0, position_side, &pside_n),
    ALG("f", C_ENUM, 0, tif, &tif_n),
    ALG("q", C_QTY, 0, qty, NULL),
    ALG("X", C_ENUM, 1, status, &algo_status_n),
    ALG("tp", C_PRICE, 0, trigger_price, NULL),
    ALG("p", C_PRICE, 0, price, NULL),
    ALG("wt", C_ENUM, 0, working_type, &wtype_n),
    SKIP("pm"),
    ALG("cp", C_BOOL, 0, close_position, NULL),
    SKIP("pP"),
    ALG("R", C_BOOL, 0, reduce_only, NULL),
    SKIP("tt"),
    SKIP("gtd"),
    ALG("ai", C_U64, 0, order_id, NULL),
    SKIP("ap"),
    SKIP("aq"),
    SKIP("act"),
    SKIP("cr"),
    SKIP("V"),
    ALG("rm", C_TEXT, 0, fail_reason, NULL),
};

/* ACCOUNT_UPDATE "a": the reason converts, the lists are walked. */
enum { ACC_B, ACC_P, ACC_m };
static const field_t account_f[] = {
    [ACC_B] = SPAN("a.", "B"),
    [ACC_P] = SPAN("a.", "P"),
    [ACC_m] = FLD("a.", "m", C_ENUM, 1, nx_bnu_account_t, reason, &reason_n),
};

#define BAL(k, conv, req, member) FLD("a.B[].", k, conv, req, nx_bnu_balance_t, member, NULL)
static const field_t balance_f[] = {
    BAL("a", C_ID, 1, asset),
    BAL("wb", C_MONEY, 1, wallet),
    BAL("cw", C_MONEY, 0, cross_wallet),
    BAL("bc", C_MONEY, 0, change),
};

#define POS(k, conv, req, member, nm) FLD("a.P[].", k, conv, req, nx_bnu_position_t, member, nm)
static const field_t position_f[] = {
    POS("s", C_SYM, 1, sym, NULL),
    POS("pa", C_QTY, 1, amount, NULL),
    POS("ep", C_AVG, 0, entry_price, NULL),
    POS("cr", C_MONEY, 0, realized_total, NULL),
    POS("up", C_MONEY, 0, unrealized_pnl, NULL),
    POS("mt", C_ENUM, 0, margin_type, &margin_n),
    POS("iw", C_MONEY, 0, isolated_wallet, NULL),
    POS("ps", C_ENUM, 0, position_side, &pside_n),
    SKIP("ma"),
    POS("bep", C_AVG, 0, breakeven_price, NULL),
};

_Static_assert(NF(top_f) <= OBJ_FIELDS_MAX && NF(order_f) <= OBJ_FIELDS_MAX &&
                   NF(algo_f) <= OBJ_FIELDS_MAX && NF(position_f) <= OBJ_FIELDS_MAX,
               "obj_t holds every field of a table");

/* ---------- one object ---------- */

static int fail(nx_bnu_msg_t *m, int rc, const char *key, const char *what)
{
    m->err.key = key;
    m->err.what = what;
    return rc;
}

/* Table index of a key, or -1. The search starts after the previous match
 * (*hint), so keys in the table's order match at once. */
static int find(const field_t *f, int nf, const nx_jspan_t *k, int *hint)
{
    int j = *hint;
    for (int i = 0; i < nf; i++, j = j + 1 == nf ? 0 : j + 1) {
        if (f[j].klen == k->n && memcmp(f[j].key, k->p, k->n) == 0) {
            *hint = j + 1 == nf ? 0 : j + 1;
            return j;
        }
    }
    return -1;
}

/* Walk the object at the cursor once, keeping the spans of the table's
 * keys (a repeated key: the last one). 0, or -1 if malformed. */
static int collect(nx_jcur_t *c, const field_t *f, int nf, obj_t *o)
{
    nx_jspan_t key, skip;
    int hint = 0;
    o->seen = 0;
    if (nx_js_obj_begin(c))
        return -1;
    for (int first = 1;; first = 0) {
        int r = nx_js_obj_key(c, &key, first);
        if (r <= 0)
            return r;
        int i = find(f, nf, &key, &hint);
        if (nx_js_value(c, i >= 0 ? &o->v[i] : &skip))
            return -1;
        if (i >= 0)
            o->seen |= 1ull << i;
    }
}

/* collect() over an object span; `path` names it in errors. */
static int collect_span(const nx_jspan_t *v, const char *path, const field_t *f, int nf, obj_t *o,
                        nx_bnu_msg_t *m)
{
    if (v->type != NX_J_OBJ)
        return fail(m, NX_ETYPE, path, "not an object");
    nx_jcur_t c = {v->p, v->p + v->n};
    if (collect(&c, f, nf, o))
        return fail(m, NX_ESYNTAX, path, "malformed JSON");
    return 0;
}

/* A string copied into dst[size], NUL-terminated: whole (or NX_ETOOLONG),
 * or with `cut`, as much as fits. */
static int copy_str(const field_t *f, const nx_jspan_t *v, char *dst, size_t size, int cut,
                    nx_bnu_msg_t *m)
{
    if (v->type != NX_J_STR)
        return fail(m, NX_ETYPE, f->path, "not a string");
    size_t n = v->n;
    if (n >= size) {
        if (!cut)
            return fail(m, NX_ETOOLONG, f->path, "too long");
        n = size - 1;
    }
    memcpy(dst, v->p, n);
    dst[n] = '\0';
    return 0;
}

/* A decimal at `scale`. With `rounded`, digits beyond the scale round half
 * away from zero instead of failing: nx_fixed_parse reports NX_EPRECISION
 * only for input it has checked through to the end, so the kept prefix is
 * a valid decimal and the first dropped digit decides. */
static int decimal(const field_t *f, const nx_jspan_t *v, unsigned scale, int rounded, int64_t *out,
                   nx_bnu_msg_t *m)
{
    if (v->type != NX_J_STR && v->type != NX_J_NUM)
        return fail(m, NX_ETYPE, f->path, "not a decimal");
    int rc = nx_fixed_parse(v->p, v->n, scale, out);
    if (rc == NX_EPRECISION && rounded) {
        const char *dot = memchr(v->p, '.', v->n);
        if (!dot) /* cannot be: digits were lost after a '.' */
            return fail(m, NX_ESYNTAX, f->path, "bad decimal");
        size_t drop = (size_t)(dot - v->p) + 1 + scale; /* first dropped digit */
        int64_t x;
        rc = nx_fixed_parse(v->p, scale ? drop : drop - 1, scale, &x);
        if (rc == 0 && v->p[drop] >= '5') {
            if (v->p[0] == '-' ? x == INT64_MIN : x == INT64_MAX)
                rc = NX_EOVERFLOW;
            else
                x += v->p[0] == '-' ? -1 : 1;
        }
        if (rc == 0)
            *out = x;
    }
    switch (rc) {
    case 0:
        return 0;
    case NX_EPRECISION:
        return fail(m, rc, f->path, "more digits than the scale");
    case NX_EOVERFLOW:
        return fail(m, rc, f->path, "out of range");
    default:
        return fail(m, NX_ESYNTAX, f->path, "bad decimal");
    }
}

/* The symbol: copied, looked up. Unknown: an error, or with `optional` an
 * id of NX_SYMBOL_NONE and scales 0. */
static int symbol(const field_t *f, const nx_jspan_t *v, nx_bnu_sym_t *s, const nx_symtab_t *st,
                  int optional, nx_bnu_msg_t *m)
{
    int rc = copy_str(f, v, s->name, sizeof s->name, 1, m);
    if (rc)
        return rc;
    const nx_symbol_t *e = nx_symtab_get(st, nx_symtab_find(st, NX_VENUE_BINANCE_USDM, v->p, v->n));
    s->id = e ? e->id : NX_SYMBOL_NONE;
    s->price_scale = e ? e->price_scale : 0;
    s->qty_scale = e ? e->qty_scale : 0;
    if (!e && !optional)
        return fail(m, NX_ENOENT, f->path, "unknown symbol");
    return 0;
}

/* One field's span into its place in the record. */
static int convert_one(const field_t *f, const nx_jspan_t *v, char *dst, const nx_bnu_sym_t *sym,
                       nx_bnu_msg_t *m)
{
    switch (f->conv) {
    case C_ID:
    case C_TEXT:
        return copy_str(f, v, dst, f->size, f->conv == C_TEXT, m);
    case C_PRICE:
    case C_AVG:
        return decimal(f, v, sym->price_scale, f->conv == C_AVG, (int64_t *)(void *)dst, m);
    case C_QTY:
        return decimal(f, v, sym->qty_scale, 0, (int64_t *)(void *)dst, m);
    case C_MONEY:
        return decimal(f, v, NX_BNU_MONEY_SCALE, 0, (int64_t *)(void *)dst, m);
    case C_U64:
        if (nx_js_u64(v, (uint64_t *)(void *)dst))
            return fail(m, v->type == NX_J_NUM || v->type == NX_J_STR ? NX_ESYNTAX : NX_ETYPE,
                        f->path, "bad integer");
        return 0;
    case C_MS:
        if ((v->type != NX_J_NUM && v->type != NX_J_STR) || nx_js_i64(v, (int64_t *)(void *)dst))
            return fail(m, NX_ESYNTAX, f->path, "bad time");
        return 0;
    case C_BOOL:
        if (v->type != NX_J_TRUE && v->type != NX_J_FALSE)
            return fail(m, NX_ETYPE, f->path, "not true or false");
        *(uint8_t *)dst = v->type == NX_J_TRUE;
        return 0;
    case C_ENUM:
        if (v->type != NX_J_STR)
            return fail(m, NX_ETYPE, f->path, "not a string");
        *(uint8_t *)dst = name_find(f->names, v);
        if (*dst == 0 && f->names->strict)
            return fail(m, NX_ERANGE, f->path, "unknown value");
        return 0;
    default: /* C_SKIP, C_SPAN: read by the caller; C_SYM: done first */
        return 0;
    }
}

/* Fill the record at `rec` from an object's spans: the symbol first (its
 * scales serve the prices and quantities), then every field in table
 * order. An optional field absent, null or "" stays as the record was
 * (zeroed by the caller). With `sym_optional`, a symbol not in the table
 * is kept by name and the fields at its scales are left 0. */
static int convert(const field_t *f, int nf, const obj_t *o, void *rec, const nx_symtab_t *st,
                   int sym_optional, nx_bnu_msg_t *m)
{
    char *base = rec;
    /* Tables without a symbol (balances, "a") have no price or quantity. */
    nx_bnu_sym_t none = {.id = NX_SYMBOL_NONE}, *sym = &none;
    for (int i = 0; i < nf; i++) {
        if (f[i].conv != C_SYM)
            continue;
        if (!HAS(o, i))
            return fail(m, NX_ESYNTAX, f[i].path, "missing");
        sym = (nx_bnu_sym_t *)(void *)(base + f[i].off);
        int rc = symbol(&f[i], &o->v[i], sym, st, sym_optional, m);
        if (rc)
            return rc;
    }
    for (int i = 0; i < nf; i++) {
        if (f[i].conv <= C_SYM)
            continue;
        const nx_jspan_t *v = &o->v[i];
        if (!HAS(o, i) ||
            (!f[i].required && (v->type == NX_J_NULL || (v->type == NX_J_STR && v->n == 0)))) {
            if (f[i].required)
                return fail(m, NX_ESYNTAX, f[i].path, "missing");
            continue;
        }
        if (sym->id == NX_SYMBOL_NONE &&
            (f[i].conv == C_PRICE || f[i].conv == C_AVG || f[i].conv == C_QTY))
            continue; /* no scale to read it at (sym_optional) */
        int rc = convert_one(&f[i], v, base + f[i].off, sym, m);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------- events ---------- */

static uint8_t clid_flags(const char *id)
{
    return (uint8_t)((strncmp(id, "autoclose-", 10) == 0 ? NX_BNU_F_LIQUIDATION : 0) |
                     (strncmp(id, "adl_autoclose", 13) == 0 ? NX_BNU_F_ADL : 0));
}

static int order_update(const obj_t *top, const nx_symtab_t *st, nx_bnu_msg_t *m)
{
    nx_bnu_order_t *r = &m->u.order;
    obj_t o;
    memset(r, 0, sizeof *r);
    if (!HAS(top, TOP_o))
        return fail(m, NX_ESYNTAX, "o", "missing");
    int rc = collect_span(&top->v[TOP_o], "o", order_f, NF(order_f), &o, m);
    if (rc || (rc = convert(order_f, NF(order_f), &o, r, st, 0, m)))
        return rc;
    if (r->exec == NX_BNU_X_TRADE) {
        /* A fill is counted once by its trade id: it must be there. */
        static const nx_jspan_t t = {"t", 1, NX_J_STR};
        int hint = 0, ti = find(order_f, NF(order_f), &t, &hint);
        NX_ASSERT(ti >= 0); /* order_f lists "t" */
        if (!HAS(&o, ti))
            return fail(m, NX_ESYNTAX, order_f[ti].path, "missing");
    }
    r->nx_status = nx_status_of[r->status];
    r->flags = clid_flags(r->client_id);
    return 0;
}

static int algo_update(const obj_t *top, const nx_symtab_t *st, nx_bnu_msg_t *m)
{
    obj_t o;
    memset(&m->u.algo, 0, sizeof m->u.algo);
    if (!HAS(top, TOP_o))
        return fail(m, NX_ESYNTAX, "o", "missing");
    int rc = collect_span(&top->v[TOP_o], "o", algo_f, NF(algo_f), &o, m);
    return rc ? rc : convert(algo_f, NF(algo_f), &o, &m->u.algo, st, 0, m);
}

/* A list of objects of one table (a.B or a.P) into records of `stride`
 * bytes at `first`, at most `cap`; *n gets the count kept, *cut the count
 * beyond cap (walked over, not decoded). */
typedef struct list {
    const char *path; /* "a.B" */
    const char *elem; /* "a.B[]" */
    const field_t *f;
    int nf;
    size_t stride;
    uint32_t cap;
} list_t;

static int list_decode(const list_t *l, const nx_jspan_t *arr, void *first, uint8_t *n,
                       uint32_t *cut, const nx_symtab_t *st, nx_bnu_msg_t *m)
{
    if (arr->type != NX_J_ARR)
        return fail(m, NX_ETYPE, l->path, "not an array");
    nx_jcur_t c = {arr->p, arr->p + arr->n};
    if (nx_js_arr_begin(&c))
        return fail(m, NX_ESYNTAX, l->path, "malformed JSON");
    for (int start = 1;; start = 0) {
        int r = nx_js_arr_next(&c, start);
        if (r < 0)
            return fail(m, NX_ESYNTAX, l->path, "malformed JSON");
        if (r == 0)
            return 0;
        nx_jspan_t el;
        if (nx_js_value(&c, &el))
            return fail(m, NX_ESYNTAX, l->path, "malformed JSON");
        if (el.type != NX_J_OBJ)
            return fail(m, NX_ETYPE, l->elem, "not an object");
        if (*n >= l->cap) {
            (*cut)++;
            continue;
        }
        void *rec = (char *)first + *n * l->stride;
        obj_t o;
        memset(rec, 0, l->stride);
        int rc = collect_span(&el, l->elem, l->f, l->nf, &o, m);
        if (rc || (rc = convert(l->f, l->nf, &o, rec, st, 1, m)))
            return rc;
        (*n)++;
    }
}

static const list_t balances_l = {
    "a.B", "a.B[]", balance_f, NF(balance_f), sizeof(nx_bnu_balance_t), NX_BNU_BALANCES_MAX};
static const list_t positions_l = {
    "a.P", "a.P[]", position_f, NF(position_f), sizeof(nx_bnu_position_t), NX_BNU_POSITIONS_MAX};

static int account_update(const obj_t *top, const nx_symtab_t *st, nx_bnu_msg_t *m)
{
    nx_bnu_account_t *r = &m->u.account;
    obj_t a;
    /* Header only: the arrays are cleared entry by entry as they fill. */
    memset(r, 0, offsetof(nx_bnu_account_t, balances));
    if (!HAS(top, TOP_a))
        return fail(m, NX_ESYNTAX, "a", "missing");
    int rc = collect_span(&top->v[TOP_a], "a", account_f, NF(account_f), &a, m);
    if (rc || (rc = convert(account_f, NF(account_f), &a, r, st, 0, m)))
        return rc;
    if (HAS(&a, ACC_B) && (rc = list_decode(&balances_l, &a.v[ACC_B], r->balances, &r->nbalances,
                                            &r->balances_cut, st, m)))
        return rc;
    if (HAS(&a, ACC_P) && (rc = list_decode(&positions_l, &a.v[ACC_P], r->positions, &r->npositions,
                                            &r->positions_cut, st, m)))
        return rc;
    for (unsigned i = 0; i < r->npositions; i++)
        r->unknown_symbols += r->positions[i].sym.id == NX_SYMBOL_NONE;
    return 0;
}

static int trade_lite(const obj_t *top, const nx_symtab_t *st, nx_bnu_msg_t *m)
{
    memset(&m->u.lite, 0, sizeof m->u.lite);
    int rc = convert(top_f, NF(top_f), top, &m->u.lite, st, 0, m);
    if (rc == 0)
        m->u.lite.flags = clid_flags(m->u.lite.client_id);
    return rc;
}

static int key_expired(const obj_t *top, nx_bnu_msg_t *m)
{
    static const field_t key_f = SPAN("", "listenKey");
    if (!HAS(top, TOP_listenKey))
        return fail(m, NX_ESYNTAX, key_f.path, "missing");
    return copy_str(&key_f, &top->v[TOP_listenKey], m->u.expired.listen_key,
                    sizeof m->u.expired.listen_key, 0, m);
}

/* The event in a collected frame: e picks the kind, E and T are common. */
static int event(const obj_t *top, const nx_symtab_t *st, nx_bnu_msg_t *m)
{
    if (!HAS(top, TOP_e)) {
        if (!HAS(top, TOP_result) && !HAS(top, TOP_id))
            return fail(m, NX_ESYNTAX, "e", "missing");
        m->kind = NX_BNU_OTHER;
        memset(&m->u.other, 0, sizeof m->u.other);
        m->u.other.which = NX_BNU_EV_REPLY;
        return 0;
    }
    const nx_jspan_t *e = &top->v[TOP_e];
    if (e->type != NX_J_STR)
        return fail(m, NX_ETYPE, "e", "not a string");
    uint8_t kind = name_find(&kind_n, e);
    m->kind = kind ? kind : NX_BNU_OTHER;
    static const field_t E_f = FLD("", "E", C_MS, 1, nx_bnu_msg_t, event_ms, NULL);
    static const field_t T_f = FLD("", "T", C_MS, 0, nx_bnu_msg_t, tx_ms, NULL);
    if (!HAS(top, TOP_E))
        return fail(m, NX_ESYNTAX, E_f.path, "missing");
    int rc = convert_one(&E_f, &top->v[TOP_E], (char *)&m->event_ms, NULL, m);
    if (rc ||
        (HAS(top, TOP_T) && (rc = convert_one(&T_f, &top->v[TOP_T], (char *)&m->tx_ms, NULL, m))))
        return rc;
    switch (m->kind) {
    case NX_BNU_ORDER:
        return order_update(top, st, m);
    case NX_BNU_ALGO:
        return algo_update(top, st, m);
    case NX_BNU_ACCOUNT:
        return account_update(top, st, m);
    case NX_BNU_TRADE_LITE:
        return trade_lite(top, st, m);
    case NX_BNU_KEY_EXPIRED:
        return key_expired(top, m);
    default: {
        static const field_t name_f = SPAN("", "e");
        memset(&m->u.other, 0, sizeof m->u.other);
        m->u.other.which = name_find(&other_n, e);
        return copy_str(&name_f, e, m->u.other.name, sizeof m->u.other.name, 1, m);
    }
    }
}

int nx_bnu_frame_decode(const char *buf, size_t len, const nx_symtab_t *symtab, nx_bnu_msg_t *m)
{
    if (!m)
        return NX_EINVAL;
    m->kind = NX_BNU_NONE;
    m->event_ms = 0;
    m->tx_ms = 0;
    m->err = (nx_bnu_error_t){NULL, NULL};
    if (!buf || !symtab)
        return fail(m, NX_EINVAL, "", "no frame or no symbol table");
    nx_jcur_t c = {buf, buf + len};
    obj_t top;
    if (collect(&c, top_f, NF(top_f), &top))
        return fail(m, NX_ESYNTAX, "", "malformed JSON");
    nx_js_ws(&c);
    if (c.p != c.end)
        return fail(m, NX_ESYNTAX, "", "trailing bytes after JSON");
    if (!HAS(&top, TOP_e) && HAS(&top, TOP_data)) {
        /* Combined stream: {"stream":"<listenKey>","data":{event}}. The
         * span is copied out before `top` is reused for the event. */
        nx_jspan_t data = top.v[TOP_data];
        int rc = collect_span(&data, "data", top_f, NF(top_f), &top, m);
        if (rc)
            return rc;
        if (HAS(&top, TOP_data))
            return fail(m, NX_ESYNTAX, "data", "nested envelope");
    }
    return event(&top, symtab, m);
}

const char *nx_bnu_kind_name(nx_bnu_kind_t kind)
{
    if (kind == NX_BNU_OTHER)
        return "other";
    if (kind > NX_BNU_NONE && (int)kind < NF(kind_v))
        return kind_v[kind];
    return "none";
}
