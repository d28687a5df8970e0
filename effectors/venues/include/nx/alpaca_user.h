/*
 * alpaca_user.h — Alpaca's trade_updates stream, decoded: the
 * authorization and listening answers, and each order event (new, fill,
 * partial_fill, canceled, replaced, rejected, …) with its order — and a
 * bracket's legs (each leg's id, type and status: what is needed to follow
 * the stop and the target resting with the broker to their own fills; no
 * live adapter does that yet). Wire format: spec/exchanges.md §3.4;
 * captures in tests/data/samples/alpaca_trade_updates.jsonl. The same
 * order object is what REST answers (POST /v2/orders, GET /v2/orders/{id}):
 * nx_alu_order_decode reads one alone.
 *
 * Strings the engine keeps are copied into the records; nothing points
 * into the frame. Symbols are looked up under NX_VENUE_ALPACA; one the
 * table does not hold (a crypto pair of the same account) is decoded with
 * sym.id NX_SYMBOL_NONE and its prices and quantities 0. Prices are
 * rounded to the symbol's price scale (fills at sub-penny price
 * improvement, averages); quantities are exact at its qty scale.
 * Timestamps (RFC 3339 with any offset) are ns since the epoch.
 *
 * Threads: any thread; no allocation, no lock, no read outside buf.
 */
#ifndef NX_ALPACA_USER_H
#define NX_ALPACA_USER_H

#include <stddef.h>
#include <stdint.h>

#include "nx/event.h"
#include "nx/symtab.h"

#define NX_ALU_ID_MAX   47 /* an order id (a UUID), an execution id */
#define NX_ALU_CLID_MAX 48 /* client_order_id: Alpaca allows up to 48 */
#define NX_ALU_LEGS_MAX 2  /* a bracket's take-profit and stop-loss */

typedef enum nx_alu_kind {
    NX_ALU_NONE = 0,
    NX_ALU_AUTH,      /* stream "authorization": msg.authorized */
    NX_ALU_LISTENING, /* stream "listening": msg.trade_updates (in the list or not) */
    NX_ALU_UPDATE,    /* stream "trade_updates": msg.update */
    NX_ALU_OTHER,     /* any other stream */
} nx_alu_kind_t;

typedef enum nx_alu_event {
    NX_ALU_E_NEW = 1,
    NX_ALU_E_FILL,
    NX_ALU_E_PARTIAL_FILL,
    NX_ALU_E_CANCELED,
    NX_ALU_E_EXPIRED,
    NX_ALU_E_DONE_FOR_DAY,
    NX_ALU_E_REPLACED,
    NX_ALU_E_REJECTED,
    NX_ALU_E_PENDING_NEW,
    NX_ALU_E_STOPPED,
    NX_ALU_E_PENDING_CANCEL,
    NX_ALU_E_PENDING_REPLACE,
    NX_ALU_E_CALCULATED,
    NX_ALU_E_SUSPENDED,
    NX_ALU_E_ORDER_REPLACE_REJECTED,
    NX_ALU_E_ORDER_CANCEL_REJECTED,
} nx_alu_event_t;

typedef enum nx_alu_status {
    NX_ALU_S_NEW = 1,
    NX_ALU_S_PARTIALLY_FILLED,
    NX_ALU_S_FILLED,
    NX_ALU_S_DONE_FOR_DAY,
    NX_ALU_S_CANCELED,
    NX_ALU_S_EXPIRED,
    NX_ALU_S_REPLACED,
    NX_ALU_S_PENDING_CANCEL,
    NX_ALU_S_PENDING_REPLACE,
    NX_ALU_S_ACCEPTED,
    NX_ALU_S_PENDING_NEW,
    NX_ALU_S_ACCEPTED_FOR_BIDDING,
    NX_ALU_S_STOPPED,
    NX_ALU_S_REJECTED,
    NX_ALU_S_SUSPENDED,
    NX_ALU_S_CALCULATED,
    NX_ALU_S_HELD, /* a bracket's leg waiting for its entry to fill */
} nx_alu_status_t;

typedef enum nx_alu_type {
    NX_ALU_T_OTHER = 0,
    NX_ALU_T_MARKET,
    NX_ALU_T_LIMIT,
    NX_ALU_T_STOP,
    NX_ALU_T_STOP_LIMIT,
    NX_ALU_T_TRAILING_STOP,
} nx_alu_type_t;

typedef enum nx_alu_class {
    NX_ALU_C_SIMPLE = 0, /* "" or "simple" */
    NX_ALU_C_BRACKET,
    NX_ALU_C_OCO,
    NX_ALU_C_OTO,
} nx_alu_class_t;

/* A bracket's leg as its parent lists it. */
typedef struct nx_alu_leg {
    nx_sym_ref_t sym;
    char id[NX_ALU_ID_MAX + 1];
    uint8_t type;   /* nx_alu_type_t: limit (the target) or stop (the stop-loss) */
    uint8_t status; /* nx_alu_status_t: held until the entry fills */
    uint8_t side;
    int64_t limit_price, stop_price;
} nx_alu_leg_t;

typedef struct nx_alu_order {
    nx_sym_ref_t sym;
    char id[NX_ALU_ID_MAX + 1];
    char client_order_id[NX_ALU_CLID_MAX + 1];
    uint64_t client_id;  /* ours from client_order_id ("nx-<hex>"), else 0 */
    uint8_t side;        /* nx_side_t */
    uint8_t type;        /* nx_alu_type_t */
    uint8_t status;      /* nx_alu_status_t */
    uint8_t nx_status;   /* the engine's nx_order_status_t for it */
    uint8_t order_class; /* nx_alu_class_t */
    uint8_t extended_hours;
    int64_t qty; /* qty (0 for an order by notional) */
    int64_t filled_qty;
    int64_t filled_avg_price; /* rounded */
    int64_t limit_price, stop_price;
    int64_t created_ns, filled_ns; /* 0 when absent or null */
    uint8_t nlegs;
    nx_alu_leg_t legs[NX_ALU_LEGS_MAX];
} nx_alu_order_t;

typedef struct nx_alu_update {
    uint8_t event;                        /* nx_alu_event_t */
    char execution_id[NX_ALU_ID_MAX + 1]; /* fills: counted once by it */
    int64_t price;                        /* fills: this fill's price, rounded */
    int64_t qty;                          /* fills: this fill's quantity */
    int64_t position_qty;                 /* fills: the position after it, signed */
    int64_t timestamp_ns;                 /* fills and most events: when */
    nx_alu_order_t order;
} nx_alu_update_t;

typedef struct nx_alu_error {
    const char *key;  /* "data.order.qty", "stream", "" */
    const char *what; /* "missing", "bad time", "malformed JSON", ... */
} nx_alu_error_t;

typedef struct nx_alu_msg {
    uint8_t kind;          /* nx_alu_kind_t */
    uint8_t authorized;    /* AUTH: status "authorized" */
    uint8_t trade_updates; /* LISTENING: trade_updates is among the streams */
    nx_alu_error_t err;
    nx_alu_update_t update;
} nx_alu_msg_t;

/* One frame (text or the JSON of a binary frame), buf[0..len). 0, or a
 * negative code with msg->err set: NX_ESYNTAX, NX_ETYPE, NX_ETOOLONG,
 * NX_ERANGE (an event or status Nexus does not know), NX_EPRECISION
 * (a quantity finer than its scale), NX_EOVERFLOW, NX_EINVAL. */
int nx_alu_frame_decode(const char *buf, size_t len, const nx_symtab_t *symtab, nx_alu_msg_t *msg);
/* One order object alone (a REST answer). Same codes; err as above. */
int nx_alu_order_decode(const char *buf, size_t len, const nx_symtab_t *symtab,
                        nx_alu_order_t *order, nx_alu_error_t *err);

#endif /* NX_ALPACA_USER_H */
