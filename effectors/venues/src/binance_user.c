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
 * Design: each JSON object the stream sends (the frame, "o", "a", each
 * balance, each position) has a table of fields, decoded by jfields.h
 * (collect the spans in one pass, then convert into the record). Keys
 * Binance sends but Nexus does not use are listed as C_SKIP so that a
 * table follows Binance's own key order.
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

#include "jfields.h"

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

/* ---------- events ---------- */

static uint8_t clid_flags(const char *id)
{
    return (uint8_t)((strncmp(id, "autoclose-", 10) == 0 ? NX_BNU_F_LIQUIDATION : 0) |
                     (strncmp(id, "adl_autoclose", 13) == 0 ? NX_BNU_F_ADL : 0));
}

static int order_update(const obj_t *top, jf_ctx_t *x, nx_bnu_msg_t *m)
{
    nx_bnu_order_t *r = &m->u.order;
    obj_t o;
    memset(r, 0, sizeof *r);
    if (!HAS(top, TOP_o))
        return jf_fail(x, NX_ESYNTAX, "o", "missing");
    int rc = jf_collect_span(&top->v[TOP_o], "o", order_f, NF(order_f), &o, x);
    if (rc || (rc = jf_convert(order_f, NF(order_f), &o, r, 0, x)))
        return rc;
    if (r->exec == NX_BNU_X_TRADE) {
        /* A fill is counted once by its trade id: it must be there. */
        static const nx_jspan_t t = {"t", 1, NX_J_STR};
        int hint = 0, ti = jf_find(order_f, NF(order_f), &t, &hint);
        NX_ASSERT(ti >= 0); /* order_f lists "t" */
        if (!HAS(&o, ti))
            return jf_fail(x, NX_ESYNTAX, order_f[ti].path, "missing");
    }
    r->nx_status = nx_status_of[r->status];
    r->flags = clid_flags(r->client_id);
    return 0;
}

static int algo_update(const obj_t *top, jf_ctx_t *x, nx_bnu_msg_t *m)
{
    obj_t o;
    memset(&m->u.algo, 0, sizeof m->u.algo);
    if (!HAS(top, TOP_o))
        return jf_fail(x, NX_ESYNTAX, "o", "missing");
    int rc = jf_collect_span(&top->v[TOP_o], "o", algo_f, NF(algo_f), &o, x);
    return rc ? rc : jf_convert(algo_f, NF(algo_f), &o, &m->u.algo, 0, x);
}

static const list_t balances_l = {
    "a.B", "a.B[]", balance_f, NF(balance_f), sizeof(nx_bnu_balance_t), NX_BNU_BALANCES_MAX};
static const list_t positions_l = {
    "a.P", "a.P[]", position_f, NF(position_f), sizeof(nx_bnu_position_t), NX_BNU_POSITIONS_MAX};

static int account_update(const obj_t *top, jf_ctx_t *x, nx_bnu_msg_t *m)
{
    nx_bnu_account_t *r = &m->u.account;
    obj_t a;
    /* Header only: the arrays are cleared entry by entry as they fill. */
    memset(r, 0, offsetof(nx_bnu_account_t, balances));
    if (!HAS(top, TOP_a))
        return jf_fail(x, NX_ESYNTAX, "a", "missing");
    int rc = jf_collect_span(&top->v[TOP_a], "a", account_f, NF(account_f), &a, x);
    if (rc || (rc = jf_convert(account_f, NF(account_f), &a, r, 0, x)))
        return rc;
    if (HAS(&a, ACC_B) && (rc = jf_list_decode(&balances_l, &a.v[ACC_B], r->balances, &r->nbalances,
                                               &r->balances_cut, x)))
        return rc;
    if (HAS(&a, ACC_P) && (rc = jf_list_decode(&positions_l, &a.v[ACC_P], r->positions,
                                               &r->npositions, &r->positions_cut, x)))
        return rc;
    for (unsigned i = 0; i < r->npositions; i++)
        r->unknown_symbols += r->positions[i].sym.id == NX_SYMBOL_NONE;
    return 0;
}

static int trade_lite(const obj_t *top, jf_ctx_t *x, nx_bnu_msg_t *m)
{
    memset(&m->u.lite, 0, sizeof m->u.lite);
    int rc = jf_convert(top_f, NF(top_f), top, &m->u.lite, 0, x);
    if (rc == 0)
        m->u.lite.flags = clid_flags(m->u.lite.client_id);
    return rc;
}

static int key_expired(const obj_t *top, jf_ctx_t *x, nx_bnu_msg_t *m)
{
    static const field_t key_f = SPAN("", "listenKey");
    if (!HAS(top, TOP_listenKey))
        return jf_fail(x, NX_ESYNTAX, key_f.path, "missing");
    return jf_copy_str(&key_f, &top->v[TOP_listenKey], m->u.expired.listen_key,
                       sizeof m->u.expired.listen_key, 0, x);
}

/* The event in a collected frame: e picks the kind, E and T are common. */
static int event(const obj_t *top, jf_ctx_t *x, nx_bnu_msg_t *m)
{
    if (!HAS(top, TOP_e)) {
        if (!HAS(top, TOP_result) && !HAS(top, TOP_id))
            return jf_fail(x, NX_ESYNTAX, "e", "missing");
        m->kind = NX_BNU_OTHER;
        memset(&m->u.other, 0, sizeof m->u.other);
        m->u.other.which = NX_BNU_EV_REPLY;
        return 0;
    }
    const nx_jspan_t *e = &top->v[TOP_e];
    if (e->type != NX_J_STR)
        return jf_fail(x, NX_ETYPE, "e", "not a string");
    uint8_t kind = jf_name_find(&kind_n, e);
    m->kind = kind ? kind : NX_BNU_OTHER;
    static const field_t E_f = FLD("", "E", C_MS, 1, nx_bnu_msg_t, event_ms, NULL);
    static const field_t T_f = FLD("", "T", C_MS, 0, nx_bnu_msg_t, tx_ms, NULL);
    if (!HAS(top, TOP_E))
        return jf_fail(x, NX_ESYNTAX, E_f.path, "missing");
    int rc = jf_convert_one(&E_f, &top->v[TOP_E], (char *)&m->event_ms, NULL, x);
    if (rc || (HAS(top, TOP_T) &&
               (rc = jf_convert_one(&T_f, &top->v[TOP_T], (char *)&m->tx_ms, NULL, x))))
        return rc;
    switch (m->kind) {
    case NX_BNU_ORDER:
        return order_update(top, x, m);
    case NX_BNU_ALGO:
        return algo_update(top, x, m);
    case NX_BNU_ACCOUNT:
        return account_update(top, x, m);
    case NX_BNU_TRADE_LITE:
        return trade_lite(top, x, m);
    case NX_BNU_KEY_EXPIRED:
        return key_expired(top, x, m);
    default: {
        static const field_t name_f = SPAN("", "e");
        memset(&m->u.other, 0, sizeof m->u.other);
        m->u.other.which = jf_name_find(&other_n, e);
        return jf_copy_str(&name_f, e, m->u.other.name, sizeof m->u.other.name, 1, x);
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
    jf_ctx_t x = {symtab, NX_VENUE_BINANCE_USDM, NX_BNU_MONEY_SCALE, &m->err.key, &m->err.what};
    if (!buf || !symtab)
        return jf_fail(&x, NX_EINVAL, "", "no frame or no symbol table");
    nx_jcur_t c = {buf, buf + len};
    obj_t top;
    if (jf_collect(&c, top_f, NF(top_f), &top))
        return jf_fail(&x, NX_ESYNTAX, "", "malformed JSON");
    nx_js_ws(&c);
    if (c.p != c.end)
        return jf_fail(&x, NX_ESYNTAX, "", "trailing bytes after JSON");
    if (!HAS(&top, TOP_e) && HAS(&top, TOP_data)) {
        /* Combined stream: {"stream":"<listenKey>","data":{event}}. The
         * span is copied out before `top` is reused for the event. */
        nx_jspan_t data = top.v[TOP_data];
        int rc = jf_collect_span(&data, "data", top_f, NF(top_f), &top, &x);
        if (rc)
            return rc;
        if (HAS(&top, TOP_data))
            return jf_fail(&x, NX_ESYNTAX, "data", "nested envelope");
    }
    return event(&top, &x, m);
}

const char *nx_bnu_kind_name(nx_bnu_kind_t kind)
{
    if (kind == NX_BNU_OTHER)
        return "other";
    if (kind > NX_BNU_NONE && (int)kind < NF(kind_v))
        return kind_v[kind];
    return "none";
}
