/*
 * alpaca_user.c — Alpaca trade_updates frames and order objects into
 * records (contract in nx/alpaca_user.h), by table (jfields.h), in one
 * pass per object and without allocation. Tables follow the key order of
 * Alpaca's captures (alphabetical: its server sorts them).
 */
#include "nx/alpaca_user.h"
#include "nx/binance.h"

#include <stddef.h>
#include <string.h>

#include "nx/error.h"

#include "jfields.h"

/* ---------- enumerations ---------- */

static const char *const side_v[] = {[NX_SIDE_BUY] = "buy", [NX_SIDE_SELL] = "sell"};
static const names_t side_n = {side_v, NF(side_v), 1};

static const char *const event_v[] = {
    [NX_ALU_E_NEW] = "new",
    [NX_ALU_E_FILL] = "fill",
    [NX_ALU_E_PARTIAL_FILL] = "partial_fill",
    [NX_ALU_E_CANCELED] = "canceled",
    [NX_ALU_E_EXPIRED] = "expired",
    [NX_ALU_E_DONE_FOR_DAY] = "done_for_day",
    [NX_ALU_E_REPLACED] = "replaced",
    [NX_ALU_E_REJECTED] = "rejected",
    [NX_ALU_E_PENDING_NEW] = "pending_new",
    [NX_ALU_E_STOPPED] = "stopped",
    [NX_ALU_E_PENDING_CANCEL] = "pending_cancel",
    [NX_ALU_E_PENDING_REPLACE] = "pending_replace",
    [NX_ALU_E_CALCULATED] = "calculated",
    [NX_ALU_E_SUSPENDED] = "suspended",
    [NX_ALU_E_ORDER_REPLACE_REJECTED] = "order_replace_rejected",
    [NX_ALU_E_ORDER_CANCEL_REJECTED] = "order_cancel_rejected",
};
static const names_t event_n = {event_v, NF(event_v), 1};

static const char *const status_v[] = {
    [NX_ALU_S_NEW] = "new",
    [NX_ALU_S_PARTIALLY_FILLED] = "partially_filled",
    [NX_ALU_S_FILLED] = "filled",
    [NX_ALU_S_DONE_FOR_DAY] = "done_for_day",
    [NX_ALU_S_CANCELED] = "canceled",
    [NX_ALU_S_EXPIRED] = "expired",
    [NX_ALU_S_REPLACED] = "replaced",
    [NX_ALU_S_PENDING_CANCEL] = "pending_cancel",
    [NX_ALU_S_PENDING_REPLACE] = "pending_replace",
    [NX_ALU_S_ACCEPTED] = "accepted",
    [NX_ALU_S_PENDING_NEW] = "pending_new",
    [NX_ALU_S_ACCEPTED_FOR_BIDDING] = "accepted_for_bidding",
    [NX_ALU_S_STOPPED] = "stopped",
    [NX_ALU_S_REJECTED] = "rejected",
    [NX_ALU_S_SUSPENDED] = "suspended",
    [NX_ALU_S_CALCULATED] = "calculated",
    [NX_ALU_S_HELD] = "held",
};
static const names_t status_n = {status_v, NF(status_v), 1};

/* Alpaca's status as the engine's: anything accepted and not over is
 * live (ACKED); done for the day and replaced are over for this order id
 * (a replaced order lives on under its new id). */
static const uint8_t nx_status_of[] = {
    [NX_ALU_S_NEW] = NX_OS_ACKED,
    [NX_ALU_S_PARTIALLY_FILLED] = NX_OS_PARTIAL,
    [NX_ALU_S_FILLED] = NX_OS_FILLED,
    [NX_ALU_S_DONE_FOR_DAY] = NX_OS_EXPIRED,
    [NX_ALU_S_CANCELED] = NX_OS_CANCELLED,
    [NX_ALU_S_EXPIRED] = NX_OS_EXPIRED,
    [NX_ALU_S_REPLACED] = NX_OS_CANCELLED,
    [NX_ALU_S_PENDING_CANCEL] = NX_OS_ACKED,
    [NX_ALU_S_PENDING_REPLACE] = NX_OS_ACKED,
    [NX_ALU_S_ACCEPTED] = NX_OS_ACKED,
    [NX_ALU_S_PENDING_NEW] = NX_OS_ACKED,
    [NX_ALU_S_ACCEPTED_FOR_BIDDING] = NX_OS_ACKED,
    [NX_ALU_S_STOPPED] = NX_OS_ACKED,
    [NX_ALU_S_REJECTED] = NX_OS_REJECTED,
    [NX_ALU_S_SUSPENDED] = NX_OS_ACKED,
    [NX_ALU_S_CALCULATED] = NX_OS_ACKED,
    [NX_ALU_S_HELD] = NX_OS_ACKED,
};
_Static_assert(NF(nx_status_of) == NF(status_v), "every Alpaca status maps to the engine's");

static const char *const type_v[] = {
    [NX_ALU_T_MARKET] = "market",
    [NX_ALU_T_LIMIT] = "limit",
    [NX_ALU_T_STOP] = "stop",
    [NX_ALU_T_STOP_LIMIT] = "stop_limit",
    [NX_ALU_T_TRAILING_STOP] = "trailing_stop",
};
static const names_t type_n = {type_v, NF(type_v), 0};

static const char *const class_v[] = {
    [NX_ALU_C_BRACKET] = "bracket", [NX_ALU_C_OCO] = "oco", [NX_ALU_C_OTO] = "oto"};
static const names_t class_n = {class_v, NF(class_v), 0}; /* "" and "simple": 0 */

/* ---------- field tables ---------- */

/* The frame, then its data. */
enum { TOP_stream, TOP_data };
static const field_t top_f[] = {[TOP_stream] = SPAN("", "stream"), [TOP_data] = SPAN("", "data")};

enum {
    DAT_event,
    DAT_execution_id,
    DAT_order,
    DAT_position_qty,
    DAT_price,
    DAT_qty,
    DAT_timestamp,
    DAT_status,
    DAT_streams
};
/* prices and quantities of a fill need the order's symbol: converted after it */
static const field_t data_f[] = {
    [DAT_event] = FLD("data.", "event", C_ENUM, 0, nx_alu_update_t, event, &event_n),
    [DAT_execution_id] = FLD("data.", "execution_id", C_ID, 0, nx_alu_update_t, execution_id, NULL),
    [DAT_order] = SPAN("data.", "order"),
    [DAT_position_qty] = SPAN("data.", "position_qty"),
    [DAT_price] = SPAN("data.", "price"),
    [DAT_qty] = SPAN("data.", "qty"),
    [DAT_timestamp] = FLD("data.", "timestamp", C_TIME, 0, nx_alu_update_t, timestamp_ns, NULL),
    [DAT_status] = SPAN("data.", "status"),
    [DAT_streams] = SPAN("data.", "streams"),
};

enum { ORD_legs = 5 };
#define ORD(k, conv, req, member, nm) FLD("data.order.", k, conv, req, nx_alu_order_t, member, nm)
static const field_t order_f[] = {
    SKIP("asset_class"),
    SKIP("asset_id"),
    ORD("client_order_id", C_ID, 0, client_order_id, NULL),
    ORD("created_at", C_TIME, 0, created_ns, NULL),
    ORD("extended_hours", C_BOOL, 0, extended_hours, NULL),
    [ORD_legs] = SPAN("data.order.", "legs"),
    ORD("filled_at", C_TIME, 0, filled_ns, NULL),
    ORD("filled_avg_price", C_AVG, 0, filled_avg_price, NULL),
    ORD("filled_qty", C_QTY, 0, filled_qty, NULL),
    ORD("id", C_ID, 1, id, NULL),
    ORD("limit_price", C_AVG, 0, limit_price, NULL),
    ORD("order_class", C_ENUM, 0, order_class, &class_n),
    ORD("qty", C_QTY, 0, qty, NULL),
    ORD("side", C_ENUM, 1, side, &side_n),
    ORD("status", C_ENUM, 1, status, &status_n),
    ORD("stop_price", C_AVG, 0, stop_price, NULL),
    ORD("symbol", C_SYM, 1, sym, NULL),
    ORD("type", C_ENUM, 0, type, &type_n),
};

#define LEG(k, conv, req, member, nm)                                                              \
    FLD("data.order.legs[].", k, conv, req, nx_alu_leg_t, member, nm)
static const field_t leg_f[] = {
    LEG("id", C_ID, 1, id, NULL),
    LEG("limit_price", C_AVG, 0, limit_price, NULL),
    LEG("side", C_ENUM, 0, side, &side_n),
    LEG("status", C_ENUM, 0, status, &status_n),
    LEG("stop_price", C_AVG, 0, stop_price, NULL),
    LEG("symbol", C_SYM, 1, sym, NULL),
    LEG("type", C_ENUM, 0, type, &type_n),
};

_Static_assert(NF(order_f) <= OBJ_FIELDS_MAX, "obj_t holds every field of a table");

/* ---------- decoding ---------- */

static int order_from(const nx_jspan_t *v, nx_alu_order_t *o, jf_ctx_t *x)
{
    obj_t ob;
    memset(o, 0, sizeof *o);
    int rc = jf_collect_span(v, "data.order", order_f, NF(order_f), &ob, x);
    if (rc || (rc = jf_convert(order_f, NF(order_f), &ob, o, 1, x)))
        return rc;
    o->nx_status = nx_status_of[o->status];
    o->client_id = nx_binance_clid_parse(o->client_order_id, strlen(o->client_order_id));
    if (HAS(&ob, ORD_legs) && ob.v[ORD_legs].type == NX_J_ARR) {
        static const list_t legs_l = {"data.order.legs", "data.order.legs[]",  leg_f,
                                      NF(leg_f),         sizeof(nx_alu_leg_t), NX_ALU_LEGS_MAX};
        uint32_t cut = 0;
        rc = jf_list_decode(&legs_l, &ob.v[ORD_legs], o->legs, &o->nlegs, &cut, x);
    }
    return rc;
}

int nx_alu_order_decode(const char *buf, size_t len, const nx_symtab_t *symtab,
                        nx_alu_order_t *order, nx_alu_error_t *err)
{
    if (!err)
        return NX_EINVAL;
    *err = (nx_alu_error_t){NULL, NULL};
    jf_ctx_t x = {symtab, NX_VENUE_ALPACA, 0, &err->key, &err->what};
    if (!buf || !symtab || !order)
        return jf_fail(&x, NX_EINVAL, "", "no text, symbol table or record");
    nx_jspan_t v = {buf, (uint32_t)len, NX_J_OBJ};
    nx_jcur_t c = {buf, buf + len};
    nx_js_ws(&c);
    if (c.p == c.end || *c.p != '{')
        return jf_fail(&x, NX_ETYPE, "", "not an object");
    v.p = c.p;
    v.n = (uint32_t)(c.end - c.p);
    while (v.n && (unsigned char)v.p[v.n - 1] <= ' ')
        v.n--;
    return order_from(&v, order, &x);
}

int nx_alu_frame_decode(const char *buf, size_t len, const nx_symtab_t *symtab, nx_alu_msg_t *m)
{
    if (!m)
        return NX_EINVAL;
    m->kind = NX_ALU_NONE;
    m->authorized = m->trade_updates = 0;
    m->err = (nx_alu_error_t){NULL, NULL};
    jf_ctx_t x = {symtab, NX_VENUE_ALPACA, 0, &m->err.key, &m->err.what};
    if (!buf || !symtab)
        return jf_fail(&x, NX_EINVAL, "", "no frame or no symbol table");
    nx_jcur_t c = {buf, buf + len};
    obj_t top, d;
    if (jf_collect(&c, top_f, NF(top_f), &top))
        return jf_fail(&x, NX_ESYNTAX, "", "malformed JSON");
    nx_js_ws(&c);
    if (c.p != c.end)
        return jf_fail(&x, NX_ESYNTAX, "", "trailing bytes after JSON");
    if (!HAS(&top, TOP_stream) || top.v[TOP_stream].type != NX_J_STR)
        return jf_fail(&x, NX_ESYNTAX, "stream", "missing");
    if (!HAS(&top, TOP_data))
        return jf_fail(&x, NX_ESYNTAX, "data", "missing");
    int rc = jf_collect_span(&top.v[TOP_data], "data", data_f, NF(data_f), &d, &x);
    if (rc)
        return rc;
    const nx_jspan_t *st = &top.v[TOP_stream];
#define IS(s, lit) ((s)->n == sizeof(lit) - 1 && !memcmp((s)->p, lit, sizeof(lit) - 1))
    if (IS(st, "authorization")) {
        m->kind = NX_ALU_AUTH;
        m->authorized = HAS(&d, DAT_status) && IS(&d.v[DAT_status], "authorized");
        return 0;
    }
    if (IS(st, "listening")) {
        m->kind = NX_ALU_LISTENING;
        /* the list is the full set of streams: is trade_updates in it? */
        const nx_jspan_t *l = HAS(&d, DAT_streams) ? &d.v[DAT_streams] : NULL;
        static const char want[] = "\"trade_updates\"";
        for (uint32_t i = 0; l && l->type == NX_J_ARR && i + sizeof want - 1 <= l->n; i++)
            if (!memcmp(l->p + i, want, sizeof want - 1))
                m->trade_updates = 1;
        return 0;
    }
    if (!IS(st, "trade_updates")) {
        m->kind = NX_ALU_OTHER;
        return 0;
    }
#undef IS
    m->kind = NX_ALU_UPDATE;
    nx_alu_update_t *u = &m->update;
    if (!HAS(&d, DAT_event))
        return jf_fail(&x, NX_ESYNTAX, "data.event", "missing");
    if (!HAS(&d, DAT_order))
        return jf_fail(&x, NX_ESYNTAX, "data.order", "missing");
    if ((rc = order_from(&d.v[DAT_order], &u->order, &x)))
        return rc;
    u->price = u->qty = u->position_qty = u->timestamp_ns = 0;
    u->execution_id[0] = 0;
    u->event = 0;
    /* the event's own fields (event, execution_id, timestamp) */
    for (int i = 0; i < NF(data_f); i++)
        if (data_f[i].conv != C_SPAN && HAS(&d, i) && d.v[i].type != NX_J_NULL &&
            (rc = jf_convert_one(&data_f[i], &d.v[i], (char *)u + data_f[i].off, NULL, &x)))
            return rc;
    /* a fill's price and quantities, at the order's symbol's scales */
    if (u->order.sym.id != NX_SYMBOL_NONE) {
        static const field_t price_f =
            FLD("data.", "price", C_AVG, 0, nx_alu_update_t, price, NULL);
        static const field_t qty_f = FLD("data.", "qty", C_QTY, 0, nx_alu_update_t, qty, NULL);
        static const field_t pos_f =
            FLD("data.", "position_qty", C_QTY, 0, nx_alu_update_t, position_qty, NULL);
        const struct {
            int i;
            const field_t *f;
            int64_t *dst;
        } fills[] = {{DAT_price, &price_f, &u->price},
                     {DAT_qty, &qty_f, &u->qty},
                     {DAT_position_qty, &pos_f, &u->position_qty}};
        for (size_t k = 0; k < sizeof fills / sizeof fills[0]; k++)
            if (HAS(&d, fills[k].i) && d.v[fills[k].i].type != NX_J_NULL &&
                (rc = jf_convert_one(fills[k].f, &d.v[fills[k].i], (char *)fills[k].dst,
                                     &u->order.sym, &x)))
                return rc;
    }
    if ((u->event == NX_ALU_E_FILL || u->event == NX_ALU_E_PARTIAL_FILL) &&
        (!u->execution_id[0] || !HAS(&d, DAT_qty)))
        return jf_fail(&x, NX_ESYNTAX, u->execution_id[0] ? "data.qty" : "data.execution_id",
                       "missing");
    return 0;
}
