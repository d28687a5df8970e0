/*
 * bybit_user.c — Bybit V5 private WebSocket frames into nx_bbu_msg_t and
 * its records (contract in nx/bybit_user.h).
 *
 * The same design as binance_user.c: a table of fields per JSON object
 * (the frame, each record of each topic, a wallet's coins, a trade API
 * answer's data and header), decoded by jfields.h in one pass and without
 * allocation. The tables follow Bybit's key order in its documentation's
 * examples. A frame's envelope is decoded at once; its records one at a
 * time from a cursor left on its data array, so a message with many fills
 * needs no room for all of them.
 */
#include "nx/bybit_user.h"
#include "nx/binance.h"

#include <stddef.h>
#include <string.h>

#include "nx/error.h"

#include "jfields.h"

/* ---------- enumerations ---------- */

static const char *const side_v[] = {[NX_SIDE_BUY] = "Buy", [NX_SIDE_SELL] = "Sell"};
static const names_t side_n = {side_v, NF(side_v), 1};
static const names_t pside_n = {side_v, NF(side_v), 0}; /* "" when flat */

static const char *const status_v[] = {
    [NX_BBU_S_NEW] = "New",
    [NX_BBU_S_PARTIALLY_FILLED] = "PartiallyFilled",
    [NX_BBU_S_UNTRIGGERED] = "Untriggered",
    [NX_BBU_S_REJECTED] = "Rejected",
    [NX_BBU_S_FILLED] = "Filled",
    [NX_BBU_S_CANCELLED] = "Cancelled",
    [NX_BBU_S_TRIGGERED] = "Triggered",
    [NX_BBU_S_DEACTIVATED] = "Deactivated",
    [NX_BBU_S_PARTIALLY_FILLED_CANCELED] = "PartiallyFilledCanceled",
};
static const names_t status_n = {status_v, NF(status_v), 1};

/* Bybit's status as the engine's: its New means accepted (the engine's NEW
 * is an order not yet sent); a conditional order waiting or triggered is
 * live; one deactivated, or partly filled and then cancelled, is over. */
static const uint8_t nx_status_of[] = {
    [NX_BBU_S_NEW] = NX_OS_ACKED,
    [NX_BBU_S_PARTIALLY_FILLED] = NX_OS_PARTIAL,
    [NX_BBU_S_UNTRIGGERED] = NX_OS_ACKED,
    [NX_BBU_S_REJECTED] = NX_OS_REJECTED,
    [NX_BBU_S_FILLED] = NX_OS_FILLED,
    [NX_BBU_S_CANCELLED] = NX_OS_CANCELLED,
    [NX_BBU_S_TRIGGERED] = NX_OS_ACKED,
    [NX_BBU_S_DEACTIVATED] = NX_OS_CANCELLED,
    [NX_BBU_S_PARTIALLY_FILLED_CANCELED] = NX_OS_CANCELLED,
};
_Static_assert(NF(nx_status_of) == NF(status_v), "every Bybit status maps to the engine's");

static const char *const stop_v[] = {
    [NX_BBU_ST_TAKE_PROFIT] = "TakeProfit",
    [NX_BBU_ST_STOP_LOSS] = "StopLoss",
    [NX_BBU_ST_TRAILING_STOP] = "TrailingStop",
    [NX_BBU_ST_STOP] = "Stop",
    [NX_BBU_ST_PARTIAL_TAKE_PROFIT] = "PartialTakeProfit",
    [NX_BBU_ST_PARTIAL_STOP_LOSS] = "PartialStopLoss",
    [NX_BBU_ST_TPSL_ORDER] = "tpslOrder",
};
static const names_t stop_n = {stop_v, NF(stop_v), 0};

static const char *const exec_v[] = {
    [NX_BBU_X_TRADE] = "Trade",
    [NX_BBU_X_ADL_TRADE] = "AdlTrade",
    [NX_BBU_X_FUNDING] = "Funding",
    [NX_BBU_X_BUST_TRADE] = "BustTrade",
    [NX_BBU_X_DELIVERY] = "Delivery",
    [NX_BBU_X_SETTLE] = "Settle",
    [NX_BBU_X_BLOCK_TRADE] = "BlockTrade",
    [NX_BBU_X_MOVE_POSITION] = "MovePosition",
};
static const names_t exec_n = {exec_v, NF(exec_v), 1};

static const char *const otype_v[] = {[NX_BBU_OT_MARKET] = "Market", [NX_BBU_OT_LIMIT] = "Limit"};
static const names_t otype_n = {otype_v, NF(otype_v), 0};

static const char *const tpsl_v[] = {[1] = "Full", [2] = "Partial"};
static const names_t tpsl_n = {tpsl_v, NF(tpsl_v), 0};

/* The topics, by nx_bbu_kind_t: "order" and "order.linear" alike. */
static const char *const kind_v[] = {
    [NX_BBU_ORDER] = "order",
    [NX_BBU_EXECUTION] = "execution",
    [NX_BBU_POSITION] = "position",
    [NX_BBU_WALLET] = "wallet",
};

/* ---------- field tables ---------- */

/* The frame: a topic message's keys, then the answers'. */
enum {
    TOP_id,
    TOP_topic,
    TOP_creationTime,
    TOP_data,
    TOP_success,
    TOP_ret_msg,
    TOP_conn_id,
    TOP_req_id,
    TOP_op,
    TOP_args,
    TOP_reqId,
    TOP_retCode,
    TOP_retMsg,
    TOP_header,
};
static const field_t top_f[] = {
    [TOP_id] = SKIP("id"),
    [TOP_topic] = SPAN("", "topic"),
    [TOP_creationTime] = FLD("", "creationTime", C_MS, 0, nx_bbu_msg_t, creation_ms, NULL),
    [TOP_data] = SPAN("", "data"),
    [TOP_success] = FLD("", "success", C_BOOL, 0, nx_bbu_msg_t, u.ctl.success, NULL),
    [TOP_ret_msg] = FLD("", "ret_msg", C_TEXT, 0, nx_bbu_msg_t, u.ctl.ret_msg, NULL),
    [TOP_conn_id] = SKIP("conn_id"),
    [TOP_req_id] = FLD("", "req_id", C_TEXT, 0, nx_bbu_msg_t, u.ctl.req_id, NULL),
    [TOP_op] = SPAN("", "op"),
    [TOP_args] = SKIP("args"),
    [TOP_reqId] = FLD("", "reqId", C_TEXT, 0, nx_bbu_msg_t, u.reply.req_id, NULL),
    [TOP_retCode] = SPAN("", "retCode"),
    [TOP_retMsg] = FLD("", "retMsg", C_TEXT, 0, nx_bbu_msg_t, u.reply.ret_msg, NULL),
    [TOP_header] = SPAN("", "header"),
};

/* Every record starts with its category (it says the symbol's venue). */
#define ORD(k, conv, req, member, nm) FLD("data[].", k, conv, req, nx_bbu_order_t, member, nm)
static const field_t order_f[] = {
    SPAN("data[].", "category"),
    ORD("symbol", C_SYM, 1, sym, NULL),
    ORD("orderId", C_ID, 1, order_id, NULL),
    ORD("side", C_ENUM, 1, side, &side_n),
    ORD("orderType", C_ENUM, 0, type, &otype_n),
    ORD("cancelType", C_TEXT, 0, cancel_type, NULL),
    ORD("price", C_PRICE, 0, price, NULL),
    ORD("qty", C_QTY, 0, qty, NULL),
    SKIP("orderIv"),
    SKIP("timeInForce"),
    ORD("orderStatus", C_ENUM, 1, status, &status_n),
    ORD("orderLinkId", C_ID, 0, link_id, NULL),
    SKIP("lastPriceOnCreated"),
    ORD("reduceOnly", C_BOOL, 0, reduce_only, NULL),
    ORD("leavesQty", C_QTY, 0, leaves_qty, NULL),
    SKIP("leavesValue"),
    ORD("cumExecQty", C_QTY, 0, cum_qty, NULL),
    SKIP("cumExecValue"),
    ORD("avgPrice", C_AVG, 0, avg_price, NULL),
    SKIP("blockTradeId"),
    SKIP("positionIdx"),
    ORD("cumExecFee", C_MONEY, 0, cum_fee, NULL),
    SKIP("closedPnl"),
    ORD("createdTime", C_MS, 0, created_ms, NULL),
    ORD("updatedTime", C_MS, 0, updated_ms, NULL),
    ORD("rejectReason", C_TEXT, 0, reject_reason, NULL),
    ORD("stopOrderType", C_ENUM, 0, stop_type, &stop_n),
    SKIP("tpslMode"),
    ORD("triggerPrice", C_PRICE, 0, trigger_price, NULL),
    ORD("takeProfit", C_PRICE, 0, take_profit, NULL),
    ORD("stopLoss", C_PRICE, 0, stop_loss, NULL),
    ORD("closeOnTrigger", C_BOOL, 0, close_on_trigger, NULL),
};

#define EXE(k, conv, req, member, nm) FLD("data[].", k, conv, req, nx_bbu_exec_t, member, nm)
static const field_t exec_f[] = {
    SPAN("data[].", "category"),
    EXE("symbol", C_SYM, 1, sym, NULL),
    EXE("closedSize", C_QTY, 0, closed_qty, NULL),
    EXE("execFee", C_MONEY, 0, fee, NULL),
    EXE("execId", C_ID, 1, exec_id, NULL),
    EXE("execPrice", C_PRICE, 1, price, NULL),
    EXE("execQty", C_QTY, 1, qty, NULL),
    EXE("execType", C_ENUM, 0, exec_type, &exec_n),
    EXE("execValue", C_MONEY, 0, value, NULL),
    SKIP("feeRate"),
    SKIP("tradeIv"),
    SKIP("markIv"),
    SKIP("blockTradeId"),
    EXE("markPrice", C_AVG, 0, mark_price, NULL),
    SKIP("indexPrice"),
    SKIP("underlyingPrice"),
    EXE("leavesQty", C_QTY, 0, leaves_qty, NULL),
    EXE("orderId", C_ID, 1, order_id, NULL),
    EXE("orderLinkId", C_ID, 0, link_id, NULL),
    SKIP("orderPrice"),
    SKIP("orderQty"),
    SKIP("orderType"),
    EXE("stopOrderType", C_ENUM, 0, stop_type, &stop_n),
    EXE("side", C_ENUM, 0, side, &side_n),
    EXE("execTime", C_MS, 0, exec_ms, NULL),
    SKIP("isLeverage"),
    EXE("isMaker", C_BOOL, 0, maker, NULL),
    EXE("seq", C_U64, 0, seq, NULL),
    SKIP("marketUnit"),
    EXE("execPnl", C_MONEY, 0, pnl, NULL),
};

#define POS(k, conv, req, member, nm) FLD("data[].", k, conv, req, nx_bbu_position_t, member, nm)
static const field_t position_f[] = {
    SPAN("data[].", "category"),
    POS("positionIdx", C_U64, 0, position_idx, NULL),
    POS("symbol", C_SYM, 1, sym, NULL),
    POS("side", C_ENUM, 0, side, &pside_n),
    POS("size", C_QTY, 1, size, NULL),
    POS("entryPrice", C_AVG, 0, entry_price, NULL),
    POS("leverage", C_MONEY, 0, leverage, NULL),
    POS("markPrice", C_AVG, 0, mark_price, NULL),
    POS("takeProfit", C_PRICE, 0, take_profit, NULL),
    POS("stopLoss", C_PRICE, 0, stop_loss, NULL),
    POS("trailingStop", C_PRICE, 0, trailing_stop, NULL),
    POS("unrealisedPnl", C_MONEY, 0, unrealized, NULL),
    POS("cumRealisedPnl", C_MONEY, 0, realized, NULL),
    POS("updatedTime", C_MS, 0, updated_ms, NULL),
    POS("tpslMode", C_ENUM, 0, tpsl_mode, &tpsl_n),
    POS("liqPrice", C_AVG, 0, liq_price, NULL),
    POS("positionStatus", C_TEXT, 0, status, NULL),
    POS("seq", C_U64, 0, seq, NULL),
};

enum { WAL_coin = 4 };
#define WAL(k, conv, req, member) FLD("data[].", k, conv, req, nx_bbu_wallet_t, member, NULL)
static const field_t wallet_f[] = {
    WAL("accountType", C_TEXT, 0, account_type),
    WAL("totalEquity", C_MONEY, 0, total_equity),
    WAL("totalWalletBalance", C_MONEY, 0, total_wallet),
    WAL("totalAvailableBalance", C_MONEY, 0, total_available),
    [WAL_coin] = SPAN("data[].", "coin"),
};

#define COIN(k, conv, req, member) FLD("data[].coin[].", k, conv, req, nx_bbu_coin_t, member, NULL)
static const field_t coin_f[] = {
    COIN("coin", C_ID, 1, coin),
    COIN("equity", C_MONEY, 0, equity),
    COIN("walletBalance", C_MONEY, 0, wallet),
    COIN("unrealisedPnl", C_MONEY, 0, unrealized),
};
static const list_t coins_l = {"data[].coin", "data[].coin[]",       coin_f,
                               NF(coin_f),    sizeof(nx_bbu_coin_t), NX_BBU_COINS_MAX};

/* A trade API answer's data and header. */
#define RD(k, member) FLD("data.", k, C_ID, 0, nx_bbu_reply_t, member, NULL)
static const field_t reply_data_f[] = {RD("orderId", order_id), RD("orderLinkId", link_id)};
#define RH(k, member) FLD("header.", k, C_MS, 0, nx_bbu_reply_t, member, NULL)
static const field_t reply_header_f[] = {
    RH("X-Bapi-Limit", limit),
    RH("X-Bapi-Limit-Status", limit_left),
    RH("X-Bapi-Limit-Reset-Timestamp", limit_reset_ms),
};

_Static_assert(NF(top_f) <= OBJ_FIELDS_MAX && NF(order_f) <= OBJ_FIELDS_MAX &&
                   NF(exec_f) <= OBJ_FIELDS_MAX && NF(position_f) <= OBJ_FIELDS_MAX,
               "obj_t holds every field of a table");

/* ---------- the frame ---------- */

static jf_ctx_t ctx(nx_bbu_msg_t *m, nx_venue_t venue)
{
    return (jf_ctx_t){m->symtab, venue, NX_BBU_MONEY_SCALE, &m->err.key, &m->err.what};
}

/* The topic's kind: its name up to a '.' ("order.linear"). */
static uint8_t topic_kind(const nx_jspan_t *t)
{
    size_t n = 0;
    while (n < t->n && t->p[n] != '.')
        n++;
    for (uint8_t k = 1; k < NF(kind_v); k++)
        if (strlen(kind_v[k]) == n && !memcmp(kind_v[k], t->p, n))
            return k;
    return NX_BBU_OTHER;
}

static int reply(const obj_t *top, nx_bbu_msg_t *m, jf_ctx_t *x)
{
    nx_bbu_reply_t *r = &m->u.reply;
    static const field_t code_f = FLD("", "retCode", C_MS, 1, nx_bbu_reply_t, ret_code, NULL);
    int rc = jf_convert_one(&code_f, &top->v[TOP_retCode], (char *)&r->ret_code, NULL, x);
    if (rc)
        return rc;
    obj_t o;
    if (HAS(top, TOP_data) && top->v[TOP_data].type == NX_J_OBJ &&
        ((rc = jf_collect_span(&top->v[TOP_data], "data", reply_data_f, NF(reply_data_f), &o, x)) ||
         (rc = jf_convert(reply_data_f, NF(reply_data_f), &o, r, 0, x))))
        return rc;
    if (HAS(top, TOP_header) &&
        ((rc = jf_collect_span(&top->v[TOP_header], "header", reply_header_f, NF(reply_header_f),
                               &o, x)) ||
         (rc = jf_convert(reply_header_f, NF(reply_header_f), &o, r, 0, x))))
        return rc;
    r->client_id = nx_binance_clid_parse(r->link_id, strlen(r->link_id));
    return 0;
}

int nx_bbu_frame_decode(const char *buf, size_t len, const nx_symtab_t *symtab, nx_bbu_msg_t *m)
{
    if (!m)
        return NX_EINVAL;
    memset(m, 0, sizeof *m);
    m->symtab = symtab;
    jf_ctx_t x = ctx(m, NX_VENUE_NONE);
    if (!buf || !symtab)
        return jf_fail(&x, NX_EINVAL, "", "no frame or no symbol table");
    nx_jcur_t c = {buf, buf + len};
    obj_t top;
    if (jf_collect(&c, top_f, NF(top_f), &top))
        return jf_fail(&x, NX_ESYNTAX, "", "malformed JSON");
    nx_js_ws(&c);
    if (c.p != c.end)
        return jf_fail(&x, NX_ESYNTAX, "", "trailing bytes after JSON");
    if (HAS(&top, TOP_topic)) {
        static const field_t topic_f = SPAN("", "topic");
        int rc = jf_copy_str(&topic_f, &top.v[TOP_topic], m->topic, sizeof m->topic, 1, &x);
        if (rc)
            return rc;
        m->kind = topic_kind(&top.v[TOP_topic]);
        if (HAS(&top, TOP_creationTime) &&
            (rc = jf_convert_one(&top_f[TOP_creationTime], &top.v[TOP_creationTime],
                                 (char *)&m->creation_ms, NULL, &x)))
            return rc;
        if (m->kind == NX_BBU_OTHER)
            return 0;
        if (!HAS(&top, TOP_data))
            return jf_fail(&x, NX_ESYNTAX, "data", "missing");
        if (top.v[TOP_data].type != NX_J_ARR)
            return jf_fail(&x, NX_ETYPE, "data", "not an array");
        m->rest = (nx_jcur_t){top.v[TOP_data].p, top.v[TOP_data].p + top.v[TOP_data].n};
        if (nx_js_arr_begin(&m->rest))
            return jf_fail(&x, NX_ESYNTAX, "data", "malformed JSON");
        m->started = 0;
        return 0;
    }
    if (!HAS(&top, TOP_op))
        return jf_fail(&x, NX_ESYNTAX, "topic", "missing");
    char *op = HAS(&top, TOP_retCode) ? m->u.reply.op : m->u.ctl.op;
    int rc = jf_copy_str(&top_f[TOP_op], &top.v[TOP_op], op, sizeof m->u.ctl.op, 1, &x);
    if (rc)
        return rc;
    if (HAS(&top, TOP_retCode)) { /* the trade API: retCode, reqId, data, header */
        m->kind = NX_BBU_REPLY;
        static const int keys[] = {TOP_reqId, TOP_retMsg};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (HAS(&top, keys[i]) &&
                (rc = jf_convert_one(&top_f[keys[i]], &top.v[keys[i]],
                                     (char *)m + top_f[keys[i]].off, NULL, &x)))
                return rc;
        return reply(&top, m, &x);
    }
    m->kind = NX_BBU_CONTROL;
    m->u.ctl.success = 1; /* a private pong says nothing of success */
    static const int keys[] = {TOP_success, TOP_ret_msg, TOP_req_id};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (HAS(&top, keys[i]) && top.v[keys[i]].type != NX_J_NULL &&
            (rc = jf_convert_one(&top_f[keys[i]], &top.v[keys[i]], (char *)m + top_f[keys[i]].off,
                                 NULL, &x)))
            return rc;
    return 0;
}

/* ---------- the records ---------- */

/* The venue of a record's symbol: its category, else the topic's suffix. */
static nx_venue_t record_venue(const nx_bbu_msg_t *m, const obj_t *o)
{
    const char *cat = NULL;
    size_t n = 0;
    if (HAS(o, 0) && o->v[0].type == NX_J_STR) {
        cat = o->v[0].p;
        n = o->v[0].n;
    } else if (strchr(m->topic, '.')) {
        cat = strchr(m->topic, '.') + 1;
        n = strlen(cat);
    }
    if (cat && n == 6 && !memcmp(cat, "linear", 6))
        return NX_VENUE_BYBIT_LINEAR;
    if (cat && n == 4 && !memcmp(cat, "spot", 4))
        return NX_VENUE_BYBIT_SPOT;
    return NX_VENUE_NONE; /* options, inverse: not traded here */
}

int nx_bbu_next(nx_bbu_msg_t *m, nx_bbu_record_t *rec)
{
    if (!m || !rec)
        return NX_EINVAL;
    jf_ctx_t x = ctx(m, NX_VENUE_NONE);
    if (m->kind < NX_BBU_ORDER || m->kind > NX_BBU_WALLET || !m->rest.p)
        return 0;
    int r = nx_js_arr_next(&m->rest, !m->started);
    m->started = 1;
    if (r < 0)
        return jf_fail(&x, NX_ESYNTAX, "data", "malformed JSON");
    if (r == 0) {
        m->rest.p = NULL;
        return 0;
    }
    nx_jspan_t el;
    if (nx_js_value(&m->rest, &el))
        return jf_fail(&x, NX_ESYNTAX, "data", "malformed JSON");
    static const field_t *const tables[] = {[NX_BBU_ORDER] = order_f,
                                            [NX_BBU_EXECUTION] = exec_f,
                                            [NX_BBU_POSITION] = position_f,
                                            [NX_BBU_WALLET] = wallet_f};
    static const int ntables[] = {[NX_BBU_ORDER] = NF(order_f),
                                  [NX_BBU_EXECUTION] = NF(exec_f),
                                  [NX_BBU_POSITION] = NF(position_f),
                                  [NX_BBU_WALLET] = NF(wallet_f)};
    static const size_t sizes[] = {[NX_BBU_ORDER] = sizeof(nx_bbu_order_t),
                                   [NX_BBU_EXECUTION] = sizeof(nx_bbu_exec_t),
                                   [NX_BBU_POSITION] = sizeof(nx_bbu_position_t),
                                   [NX_BBU_WALLET] = sizeof(nx_bbu_wallet_t)};
    const field_t *f = tables[m->kind];
    int nf = ntables[m->kind];
    obj_t o;
    memset(rec, 0, sizes[m->kind]);
    int rc = jf_collect_span(&el, "data[]", f, nf, &o, &x);
    if (rc)
        return rc;
    x.venue = m->kind == NX_BBU_WALLET ? NX_VENUE_NONE : record_venue(m, &o);
    if ((rc = jf_convert(f, nf, &o, rec, 1, &x)))
        return rc;
    switch (m->kind) {
    case NX_BBU_ORDER: {
        nx_bbu_order_t *d = &rec->order;
        d->nx_status = nx_status_of[d->status];
        d->client_id = nx_binance_clid_parse(d->link_id, strlen(d->link_id));
        d->cancelled_after_fill = d->status == NX_BBU_S_FILLED && d->cancel_type[0] &&
                                  strcmp(d->cancel_type, "UNKNOWN") != 0;
        break;
    }
    case NX_BBU_EXECUTION:
        /* the categorised topic's minimal records leave execType out: a fill */
        if (!rec->exec.exec_type)
            rec->exec.exec_type = NX_BBU_X_TRADE;
        rec->exec.client_id = nx_binance_clid_parse(rec->exec.link_id, strlen(rec->exec.link_id));
        break;
    case NX_BBU_WALLET:
        if (HAS(&o, WAL_coin) &&
            (rc = jf_list_decode(&coins_l, &o.v[WAL_coin], rec->wallet.coins, &rec->wallet.ncoins,
                                 &rec->wallet.coins_cut, &x)))
            return rc;
        break;
    default:
        break;
    }
    return 1;
}

const char *nx_bbu_kind_name(nx_bbu_kind_t kind)
{
    switch (kind) {
    case NX_BBU_CONTROL:
        return "control";
    case NX_BBU_REPLY:
        return "reply";
    case NX_BBU_OTHER:
        return "other";
    default:
        return kind > NX_BBU_NONE && (int)kind < NF(kind_v) ? kind_v[kind] : "none";
    }
}
