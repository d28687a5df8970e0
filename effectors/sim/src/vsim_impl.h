/*
 * vsim_impl.h — the venue simulator's state, shared by its trading core
 * (vsim.c) and its server (vsim_server.c). Private to effectors/sim.
 *
 * Everything below is guarded by nx_vsim.mu: the server's callbacks and
 * nx_vsim_on_market (another thread) take it around every touch.
 */
#ifndef NX_VSIM_IMPL_H
#define NX_VSIM_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "nx/binance_filters.h"
#include "nx/bridge.h"
#include "nx/hmac.h"
#include "nx/pxband.h"
#include "nx/venuesim.h"

#define VS_ACCOUNTS 64
#define VS_ORDERS   8192
#define VS_ALGOS    2048
#define VS_CLID_MAX 36
#define VS_KEY_MAX  80

/* a growable string */
typedef struct vs_sb {
    char *p;
    size_t n, cap;
    int oom;
} vs_sb_t;
void vs_sbf(vs_sb_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vs_sbfx(vs_sb_t *b, int64_t v, unsigned scale); /* a decimal string, full scale */

typedef struct vs_pos {
    int64_t qty;           /* signed qty units */
    __int128 cost;         /* entry value of the open qty, price x qty units */
    __int128 cash;         /* this episode's cash flow: sells - buys, price x qty units */
    int64_t rp_reported;   /* money reported as realised in this episode */
    int64_t realized, fees; /* money, all episodes */
    uint32_t leverage;
    uint8_t isolated; /* margin type: 0 cross (the venue's default), 1 isolated */
} vs_pos_t;

typedef struct vs_account {
    int used;
    char api_key[VS_KEY_MAX];
    nx_hmac_key_t *key;
    int64_t wallet; /* money */
    vs_pos_t *pos;  /* per symbol id */
    char listen_key[65];
    int64_t listen_expiry_ms; /* 0 = no key */
    int64_t o10_start, o60_start;
    uint32_t o10, o60; /* orders in the current windows */
} vs_account_t;

enum { VS_LIMIT = 1, VS_MARKET, VS_STOP_MARKET, VS_TAKE_PROFIT_MARKET, VS_TRAILING, VS_LIQ };
enum { VS_NEW = 1, VS_PARTIAL, VS_FILLED, VS_CANCELED, VS_REJECTED, VS_EXPIRED };
enum { VS_A_NEW = 1, VS_A_CANCELED, VS_A_TRIGGERED, VS_A_FINISHED, VS_A_REJECTED, VS_A_EXPIRED };

typedef struct vs_order {
    int used;
    uint32_t account, symbol;
    uint64_t order_id;
    char clid[VS_CLID_MAX + 1];
    uint8_t type, orig_type, side, status, reduce_only, close_position;
    int64_t price, stop_price, qty, cum_qty;
    __int128 cum_value; /* price x qty units */
    int64_t time_ms, update_ms;
    uint64_t paper_uid[2]; /* the paper venue's orders behind it (two: a partial fill) */
    int64_t part_qty[2];
    uint8_t parts; /* paper orders not yet final */
} vs_order_t;

typedef struct vs_algo {
    int used;
    uint32_t account, symbol;
    uint64_t algo_id, order_id; /* order_id: the market order once triggered */
    char clid[VS_CLID_MAX + 1];
    uint8_t type, side, status, close_position;
    int64_t trigger, qty, activate, best;
    uint32_t callback_bp;
    uint8_t armed; /* a trailing stop past its activation price */
    int64_t time_ms, update_ms, trigger_ms;
} vs_algo_t;

/* a fill, as GET /fapi/v1/userTrades reports it */
typedef struct vs_trade {
    uint32_t account, symbol;
    uint64_t id, order_id;
    uint8_t side, maker;
    int64_t px, qty, fee_money, rp_money, time_ms;
} vs_trade_t;

#define VS_TRADES 16384

/* One request, from REST or the WebSocket API, after authentication. */
typedef struct vs_param {
    const char *k, *v;
    size_t kn, vn;
} vs_param_t;

#define VS_PARAMS 40
#define VS_SCHEDULES 16
typedef struct vs_req {
    const char *op; /* "order.place", "openOrders", "listenKey.create", ... */
    int ws;         /* from the WebSocket API */
    uint32_t account;
    vs_param_t p[VS_PARAMS];
    int np;
} vs_req_t;

typedef struct vs_resp {
    int status;    /* HTTP status; the WebSocket API's "status" */
    int code;      /* the venue's error code, 0 = success */
    char msg[256]; /* with code */
    vs_sb_t result; /* the result JSON when code == 0 */
    uint8_t lost;  /* executed, answer lost (fault "unknown") */
    uint8_t hang;  /* never answered (fault "timeout") */
    int64_t delay_ms;
    uint8_t is_order; /* counts toward the order quotas */
} vs_resp_t;

/* user-data events leave through the server */
typedef void (*vs_user_out_cb)(struct nx_vsim *s, uint32_t account, char *frame, size_t len);

struct nx_vsim {
    pthread_mutex_t mu;
    nx_vsim_opts_t o;
    const nx_symtab_t *symtab;
    uint32_t nsym;
    nx_bn_filters_t *filters; /* per symbol id */
    char *exchange_info;      /* the GET /fapi/v1/exchangeInfo body */
    size_t exchange_info_len;
    nx_bridge_t *paper;
    int64_t *mark;       /* per symbol: the mark price (last accepted trade, close or mark) */
    nx_pxband_t *band;   /* per symbol: prices too far from the last accepted move nothing */
    vs_account_t acc[VS_ACCOUNTS];
    vs_order_t orders[VS_ORDERS];
    vs_algo_t algos[VS_ALGOS];
    vs_trade_t trades[VS_TRADES]; /* the last VS_TRADES fills, a ring */
    uint64_t ntrades;
    uint64_t next_order_id, next_algo_id, next_trade_id, next_uid;
    int64_t skew_ms;
    /* quotas */
    int64_t w_start;
    uint32_t weight;
    int64_t banned_until_ms; /* 429/418 in force until */
    int banned_418;
    /* faults pending */
    int64_t f_timeout_algo; /* fault "timeout_algo": conditional orders only */
    int64_t f_reject, f_unknown, f_timeout, f_slow, f_dup, f_reorder, f_partial, f_429;
    int64_t f_slow_ms, f_429_ms;
    int64_t mute_until_ms; /* fault "mute_user": user-data events lost until then */
    int64_t user_down_until_ms; /* fault "drop_user" with ms: no stream connects until then */
    int f_reject_code;
    struct { /* faults on a schedule: kind every every_ms, from next_ms (local clock) */
        char kind[16];
        int64_t every_ms, next_ms, n, ms;
        int code;
    } sched[VS_SCHEDULES];
    int nsched;
    char *held; /* fault "reorder": the event waiting for the next one */
    size_t held_len;
    uint32_t held_account;
    nx_vsim_stats_t st;
    /* the server */
    vs_user_out_cb user_out;
    void (*user_close)(struct nx_vsim *s, uint32_t account, int at_once); /* end the account's
                                   streams: after what is queued, or at once (a drop) */
    void *server;
};

int64_t vs_now_ms(const struct nx_vsim *s);
/* Inject the faults of the schedule that are due (the server's tick, the
 * mutex held). */
void vs_run_schedule(struct nx_vsim *s);
/* an account by API key, or -1 */
int vs_account_find(const struct nx_vsim *s, const char *key, size_t n);
/* a parameter's value, or NULL */
const vs_param_t *vs_param(const vs_req_t *r, const char *k);
/* run one request (mutex held) */
void vs_handle(struct nx_vsim *s, vs_req_t *r, vs_resp_t *out);
/* the weight a request costs */
uint32_t vs_weight(const char *op, const vs_req_t *r);
/* listen keys past their time: listenKeyExpired (mutex held) */
void vs_expire_keys(struct nx_vsim *s, int all);
/* the answer for a venue error */
void vs_fail(vs_resp_t *out, int status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

int vs_server_create(struct nx_vsim *s);
void vs_server_destroy(struct nx_vsim *s);

#endif /* NX_VSIM_IMPL_H */
