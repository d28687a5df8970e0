/*
 * test_recovery.c — the desk stopped and started again, on real candles.
 *
 * The cortex runs once over the BTCUSDT 15m file and its signals are kept
 * with the candle they came on; every desk below sees the same candles and
 * signals in the engine's order (candle to the venue, then the signals).
 *
 *  - One desk runs the whole file without a stop (the reference).
 *  - At each of several split points another desk is stopped: its saved
 *    state (the NX_EV_STATE parts it journaled, put together as the store
 *    does), its open orders and its fills are all that survive, as in the
 *    database. A new desk is built from them (nx_desk_restore_order,
 *    nx_desk_restore, nx_desk_reconcile) and runs the rest of the file.
 *    Every closed trade, every order sent (client id, type, side, price,
 *    qty) and the final money must equal the reference exactly: nothing
 *    of a position, its stops, trailing, time limit, breaker, locks,
 *    cooldowns or COPILOT requests was lost or changed by the restart.
 *  - What storage says that does not agree is never papered over: a fill
 *    missing, a fill after the saved state, the venue without the stop,
 *    a state of another user, an unreadable state — each pauses that
 *    session (held), reported, until a person resumes it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cortex_fixture.h"
#include "desk_fixture.h"
#include "nx/desk.h"
#include "nx/config.h"
#include "nx/oms.h"
#include "nx/error.h"

#define MAX_SIGS   8192
#define MAX_ORDERS 8192
#define NSESS      4

static const char *CONFIG =
    "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"0.00001\",\"min_notional\":\"5\"}],"
    "\"trading\":{\"slippage_bp\":1,\"taker_fee_bp\":4,\"maker_fee_bp\":2,\"sessions\":["
    "{\"name\":\"pia\",\"user\":1,\"mode\":\"pilot\",\"leverage\":3,\"trail_bp\":150,\"time_limit_s\":28800,"
    "\"breaker_halt_s\":3600},"
    "{\"name\":\"bree\",\"user\":2,\"mode\":\"pilot\",\"breaker_losses\":3},"
    "{\"name\":\"gail\",\"user\":3,\"mode\":\"pilot\",\"cooldown_s\":0,\"breaker_losses\":100,"
    "\"sl_guard_stops\":1,\"sl_guard_lock_s\":86400},"
    "{\"name\":\"cara\",\"user\":4,\"mode\":\"copilot\",\"approval_ttl_s\":86400}]}}";

/* the signals, with the candle each came on */
static nx_event_t SIGS[MAX_SIGS];
static int SIG_AT[MAX_SIGS], nsigs, sig_candle;
static nx_config_t cfg;
static nx_symtab_t *T;
static int64_t price_div = 1, qty_div = 1;

static void keep_signal(void *ctx, const nx_event_t *sig)
{
    (void)ctx;
    assert_true(nsigs < MAX_SIGS);
    SIG_AT[nsigs] = sig_candle;
    SIGS[nsigs++] = *sig;
}

/* What survives a stop, as the store keeps it: the journal's orders with
 * their latest status, the fills, and the latest whole state per session. */
typedef struct sent {
    uint64_t clid;
    uint32_t session, symbol;
    uint8_t type, side, reduce_only, live;
    int64_t price, qty;
} sent_t;

typedef struct world {
    uint64_t seq; /* journal entries so far */
    sent_t orders[MAX_ORDERS];
    int norders;
    nx_desk_fills_t fills[4096];
    int nfills;
    uint64_t max_fill;
    char part[NSESS + 1][64 * 1024];
    uint32_t got[NSESS + 1];
    char state[NSESS + 1][64 * 1024];
    size_t state_len[NSESS + 1];
    uint64_t state_seq[NSESS + 1];
    uint64_t states_seen;
    uint32_t max_request;
} world_t;

static world_t *W; /* the world the desk being driven journals into */

static sent_t *order_of(world_t *w, uint64_t clid)
{
    for (int i = w->norders - 1; i >= 0; i--)
        if (w->orders[i].clid == clid)
            return &w->orders[i];
    return NULL;
}

static void on_journal(void *ctx, const nx_event_t *ev)
{
    world_t *w = ctx ? ctx : W;
    w->seq++;
    if (ev->hdr.type == NX_EV_ORDER_INTENT) {
        const nx_ev_order_intent_t *in = &ev->u.intent;
        sent_t *o = order_of(w, in->client_id);
        if (in->amend) {
            assert_non_null(o);
            o->price = in->price;
            return;
        }
        assert_null(o); /* a client id is never used twice */
        assert_true(w->norders < MAX_ORDERS);
        w->orders[w->norders++] = (sent_t){in->client_id, in->session,   ev->hdr.symbol,
                                           in->order_type, in->side,     in->reduce_only,
                                           1,              in->price,    in->qty};
    } else if (ev->hdr.type == NX_EV_ORDER_UPDATE) {
        const nx_ev_order_update_t *u = &ev->u.order;
        sent_t *o = order_of(w, u->client_id);
        assert_non_null(o);
        if (u->status == NX_OS_FILLED || u->status == NX_OS_CANCELLED ||
            u->status == NX_OS_REJECTED || u->status == NX_OS_EXPIRED)
            o->live = 0;
        if (u->fill_id && u->last_qty) {
            if (u->fill_id > w->max_fill)
                w->max_fill = u->fill_id;
            int k = 0;
            while (k < w->nfills &&
                   !(w->fills[k].session == u->session && w->fills[k].symbol == ev->hdr.symbol))
                k++;
            if (k == w->nfills)
                w->fills[w->nfills++] = (nx_desk_fills_t){u->session, ev->hdr.symbol, 0, 0};
            w->fills[k].net_qty += u->side == NX_SIDE_BUY ? u->last_qty : -u->last_qty;
            w->fills[k].last_seq = w->seq;
        }
    } else if (ev->hdr.type == NX_EV_DECISION) {
        if (ev->u.decision.request > w->max_request)
            w->max_request = ev->u.decision.request;
    } else if (ev->hdr.type == NX_EV_STATE) {
        const nx_ev_state_t *x = &ev->u.state;
        assert_true(x->session <= NSESS && x->part < x->parts && x->len <= NX_STATE_PART);
        if (x->part == 0)
            w->got[x->session] = 0;
        assert_int_equal(x->part, w->got[x->session]); /* back to back, in order */
        memcpy(w->part[x->session] + (size_t)x->part * NX_STATE_PART, x->data, x->len);
        if (++w->got[x->session] == x->parts) {
            size_t n = (size_t)x->part * NX_STATE_PART + x->len;
            memcpy(w->state[x->session], w->part[x->session], n);
            w->state_len[x->session] = n;
            w->state_seq[x->session] = w->seq;
            w->states_seen++;
        }
    }
}

static nx_desk_t *new_desk(const nx_config_t *c, world_t *w)
{
    nx_desk_t *d;
    assert_int_equal(fx_desk_create(&d, c, T, on_journal, w), 0);
    return d;
}

/* candles [from, to) with their signals */
static void drive(nx_desk_t *d, int from, int to)
{
    nx_event_t ev;
    int k = 0;
    while (k < nsigs && SIG_AT[k] < from)
        k++;
    for (int i = from; i < to; i++) {
        const fx_row_t *r = &fx_rows[i];
        fx_kline(&ev, 0, r->t, 900, r->o / price_div, r->h / price_div, r->l / price_div,
                 r->c / price_div, r->v / qty_div);
        nx_desk_on_market(d, &ev);
        for (; k < nsigs && SIG_AT[k] == i; k++)
            nx_desk_on_signal(d, &SIGS[k]);
    }
}

typedef struct report_log {
    int n[NSESS + 1];
    char last[256];
} report_log_t;

static void on_report(void *ctx, uint32_t session, const char *text)
{
    report_log_t *r = ctx;
    assert_true(session >= 1 && session <= NSESS);
    r->n[session]++;
    snprintf(r->last, sizeof r->last, "%s", text);
}

typedef struct tamper {
    int drop_stop_of;     /* session whose stop-loss order the venue lost */
    int fill_off_session; /* session whose fills add up to one lot more */
    int late_fill_session; /* session with a fill stored after its state */
    int garble_session;   /* session whose saved text is cut short */
} tamper_t;

/* A new desk from what survived in w; returns how many sessions it held. */
static nx_desk_t *restart(world_t *w, const nx_config_t *c, const tamper_t *t, report_log_t *rep,
                          int *held)
{
    nx_desk_t *d = new_desk(c, w);
    /* ids continue after the stored ones (the engine reads them from the
     * orders and approvals tables) */
    for (uint32_t s = 1; s <= NSESS; s++) {
        uint64_t last = 0;
        for (int i = 0; i < w->norders; i++)
            if (w->orders[i].session == s && nx_clid_seq(w->orders[i].clid) > last)
                last = nx_clid_seq(w->orders[i].clid);
        assert_int_equal(nx_desk_resume_ids(d, s, last), 0);
    }
    nx_desk_resume_requests(d, w->max_request);
    for (int i = 0; i < w->norders; i++) {
        const sent_t *o = &w->orders[i];
        if (!o->live || o->type == NX_ORD_MARKET)
            continue;
        if (t && (int)o->session == t->drop_stop_of && o->type == NX_ORD_STOP_MARKET)
            continue;
        nx_ev_order_intent_t in;
        memset(&in, 0, sizeof in);
        in.client_id = o->clid;
        in.session = o->session;
        in.side = o->side;
        in.order_type = o->type;
        in.reduce_only = o->reduce_only;
        in.price = o->price;
        in.qty = o->qty;
        assert_int_equal(nx_desk_restore_order(d, &in, o->symbol), 0);
    }
    nx_desk_resume_fills(d, w->max_fill);
    for (uint32_t s = 0; s <= NSESS; s++) {
        if (!w->state_len[s])
            continue;
        size_t len = w->state_len[s];
        if (t && t->garble_session && (int)s == t->garble_session)
            len /= 2;
        nx_desk_restore(d, s, w->state_seq[s], w->state[s], len);
    }
    static nx_desk_fills_t f[4096];
    memcpy(f, w->fills, (size_t)w->nfills * sizeof *f);
    for (int k = 0; t && k < w->nfills; k++) {
        if ((int)f[k].session == t->fill_off_session)
            f[k].net_qty += 1;
        if ((int)f[k].session == t->late_fill_session)
            f[k].last_seq = w->state_seq[f[k].session] + 1;
    }
    *held = nx_desk_reconcile(d, f, w->nfills, on_report, rep);
    return d;
}

static int same_trade(const nx_trade_closed_t *a, const nx_trade_closed_t *b)
{
    return a->session == b->session && a->symbol == b->symbol && a->reason == b->reason &&
           a->qty == b->qty && a->dir == b->dir && a->entry_px == b->entry_px &&
           a->exit_px == b->exit_px && a->pnl == b->pnl && a->fees == b->fees &&
           a->opened_ns == b->opened_ns && a->closed_ns == b->closed_ns;
}

static world_t REF, PART;
static nx_trade_closed_t REF_TR[NX_DESK_TRADES], TR[NX_DESK_TRADES];
static nx_desk_info_t REF_INFO[NSESS + 1];
static int ref_ntr, ready;
static uint8_t REF_OPEN[FX_MAX_CANDLES]; /* positions open after candles [0, i) */

static void setup_all(void)
{
    if (ready)
        return;
    ready = 1;
    static nx_config_errors_t errs;
    if (nx_config_load_string(CONFIG, strlen(CONFIG), "test_recovery", &cfg, &errs)) {
        nx_config_errors_print(&errs, stderr);
        fail();
    }
    T = malloc(sizeof *T);
    nx_symtab_init(T);
    assert_int_equal(nx_config_symbols_intern(&cfg, T), 0);
    const nx_symbol_t *btc = nx_symtab_get(T, 0);
    price_div = nx_pow10[8 - btc->price_scale];
    qty_div = nx_pow10[8 - btc->qty_scale];
    /* the signals, once */
    nx_cortex_t *cx = fx_cortex_builtin(T, keep_signal);
    fx_load_candles();
    nx_event_t ev;
    for (sig_candle = 0; sig_candle < fx_nrows; sig_candle++) {
        const fx_row_t *r = &fx_rows[sig_candle];
        fx_kline(&ev, 0, r->t, 900, r->o / price_div, r->h / price_div, r->l / price_div,
                 r->c / price_div, r->v / qty_div);
        nx_cortex_on_event(cx, &ev);
    }
    nx_cortex_destroy(cx);
    /* the reference: no stop */
    nx_desk_t *d = new_desk(&cfg, &REF);
    for (int i = 0; i < fx_nrows; i++) {
        uint32_t open = 0;
        for (uint32_t s = 1; s <= NSESS; s++) {
            nx_desk_info_t in;
            nx_desk_info(d, s, &in);
            open += in.open_positions;
        }
        REF_OPEN[i] = (uint8_t)open;
        drive(d, i, i + 1);
    }
    ref_ntr = nx_desk_trades(d, 0, REF_TR, NX_DESK_TRADES);
    for (uint32_t s = 1; s <= NSESS; s++)
        nx_desk_info(d, s, &REF_INFO[s]);
    nx_desk_destroy(d);
    print_message("# reference: %d signals, %d closed trades, %d orders, %llu saved states\n",
                  nsigs, ref_ntr, REF.norders, (unsigned long long)REF.states_seen);
    assert_true(ref_ntr > 100 && ref_ntr < NX_DESK_TRADES);
}

/* Run up to `split`, stop (the engine saves every session on its way out),
 * start again from storage, run to the end: the same as no stop at all. */
static void split_run(int split, int *open_at_split, int *pending_at_split)
{
    memset(&PART, 0, sizeof PART);
    nx_desk_t *a = new_desk(&cfg, &PART);
    drive(a, 0, split);
    nx_desk_save_all(a);
    int n1 = nx_desk_trades(a, 0, TR, NX_DESK_TRADES);
    *open_at_split = *pending_at_split = 0;
    for (uint32_t s = 1; s <= NSESS; s++) {
        nx_desk_info_t in;
        nx_desk_info(a, s, &in);
        *open_at_split += (int)in.open_positions;
        *pending_at_split += (int)in.pending_approvals;
    }
    nx_desk_destroy(a);
    report_log_t rep = {{0}, ""};
    int held = -1;
    nx_desk_t *b = restart(&PART, &cfg, NULL, &rep, &held);
    if (held)
        fail_msg("split at %d: %d sessions held: %s", split, held, rep.last);
    for (uint32_t s = 1; s <= NSESS; s++) {
        nx_desk_info_t in;
        nx_desk_info(b, s, &in);
        assert_false(in.held);
    }
    drive(b, split, fx_nrows);
    int n2 = nx_desk_trades(b, 0, TR + n1, NX_DESK_TRADES - n1);
    assert_int_equal(n1 + n2, ref_ntr);
    for (int i = 0; i < ref_ntr; i++)
        if (!same_trade(&TR[i], &REF_TR[i]))
            fail_msg("split at %d: trade %d differs: session %u/%u reason %d/%d pnl %lld/%lld "
                     "entry %lld/%lld exit %lld/%lld opened %lld/%lld closed %lld/%lld",
                     split, i, TR[i].session, REF_TR[i].session, TR[i].reason, REF_TR[i].reason,
                     (long long)TR[i].pnl, (long long)REF_TR[i].pnl, (long long)TR[i].entry_px,
                     (long long)REF_TR[i].entry_px, (long long)TR[i].exit_px,
                     (long long)REF_TR[i].exit_px, (long long)TR[i].opened_ns,
                     (long long)REF_TR[i].opened_ns, (long long)TR[i].closed_ns,
                     (long long)REF_TR[i].closed_ns);
    /* every order, in order, as without the stop */
    assert_int_equal(PART.norders, REF.norders);
    for (int i = 0; i < REF.norders; i++) {
        const sent_t *x = &PART.orders[i], *y = &REF.orders[i];
        if (x->clid != y->clid || x->type != y->type || x->side != y->side ||
            x->price != y->price || x->qty != y->qty)
            fail_msg("split at %d: order %d differs (%llu vs %llu)", split, i,
                     (unsigned long long)x->clid, (unsigned long long)y->clid);
    }
    for (uint32_t s = 1; s <= NSESS; s++) {
        nx_desk_info_t in;
        nx_desk_info(b, s, &in);
        assert_int_equal(in.balance, REF_INFO[s].balance);
        assert_int_equal(in.trades, REF_INFO[s].trades);
        assert_int_equal(in.wins, REF_INFO[s].wins);
        assert_int_equal(in.max_drawdown_bp, REF_INFO[s].max_drawdown_bp);
        assert_int_equal(in.approval_requests, REF_INFO[s].approval_requests);
        assert_int_equal(in.expired, REF_INFO[s].expired);
        assert_int_equal(in.open_positions, REF_INFO[s].open_positions);
        assert_int_equal(in.breaker_tripped, REF_INFO[s].breaker_tripped);
    }
    nx_desk_destroy(b);
}

static void test_restart_changes_nothing(void **state)
{
    (void)state;
    setup_all();
    int splits = 0, open_total = 0, pending_total = 0;
    /* ten stops across the file, each where a position is open (its stops,
     * trailing and time limit must carry over) */
    for (int k = 0; k < 10; k++) {
        int split = 1500 + k * 1200;
        while (split < fx_nrows - 1 && !REF_OPEN[split])
            split++;
        int open, pending;
        split_run(split, &open, &pending);
        print_message("# split at candle %d: %d open positions, %d pending requests carried "
                      "over; the rest identical\n",
                      split, open, pending);
        open_total += open;
        pending_total += pending;
        splits++;
    }
    assert_int_equal(splits, 10);
    assert_true(open_total >= 10);    /* positions crossed restarts, with their stops */
    assert_true(pending_total >= 1); /* and COPILOT requests */
}

/* A split where every PILOT session holds a position, for the tamper tests. */
static int busy_split(void)
{
    static int at;
    if (at)
        return at;
    memset(&PART, 0, sizeof PART);
    nx_desk_t *a = new_desk(&cfg, &PART);
    for (int i = 2000; i < fx_nrows; i++) {
        drive(a, i, i + 1);
        nx_desk_info_t p, g;
        nx_desk_info(a, 1, &p);
        nx_desk_info(a, 3, &g);
        if (p.open_positions && g.open_positions) {
            at = i + 1;
            break;
        }
    }
    nx_desk_destroy(a);
    assert_true(at > 0);
    return at;
}

static void stop_at(int split)
{
    memset(&PART, 0, sizeof PART);
    nx_desk_t *a = new_desk(&cfg, &PART);
    drive(a, 0, split);
    nx_desk_save_all(a);
    nx_desk_destroy(a);
}

static void expect_held(const tamper_t *t, int session, const char *what)
{
    report_log_t rep = {{0}, ""};
    int held = 0;
    nx_desk_t *d = restart(&PART, &cfg, t, &rep, &held);
    print_message("# %s: %d held; session %d told: %s\n", what, held, session, rep.last);
    assert_int_equal(held, 1);
    assert_true(rep.n[session] >= 1);
    for (int s = 1; s <= NSESS; s++) {
        nx_desk_info_t in;
        nx_desk_info(d, (uint32_t)s, &in);
        assert_int_equal(in.held, s == session);
        if (s == session)
            assert_true(in.paused);
        else
            assert_int_equal(rep.n[s], 0);
    }
    nx_desk_destroy(d);
}

static void test_mismatch_holds_the_session(void **state)
{
    (void)state;
    setup_all();
    int split = busy_split();
    stop_at(split);
    /* drop_stop_of, fill_off_session, late_fill_session, garble_session */
    static const struct {
        tamper_t t;
        int session;
        const char *what;
    } cases[] = {
        {{0, 1, 0, 0}, 1, "fills do not add up"},
        {{0, 0, 3, 0}, 3, "a fill stored after the state"},
        {{1, 0, 0, 0}, 1, "the venue lost the stop"},
        {{0, 0, 0, 3}, 3, "state cut short"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        expect_held(&cases[k].t, cases[k].session, cases[k].what);
    /* a state saved for another user under the same number */
    static nx_config_t other;
    static nx_config_errors_t errs;
    char *c2 = strdup(CONFIG);
    char *at = strstr(c2, "\"gail\"");
    memcpy(at, "\"gabe\"", 6);
    assert_int_equal(nx_config_load_string(c2, strlen(c2), "renamed", &other, &errs), 0);
    free(c2);
    report_log_t rep = {{0}, ""};
    int held = 0;
    nx_desk_t *d = restart(&PART, &other, NULL, &rep, &held);
    assert_int_equal(held, 1);
    nx_desk_info_t in;
    nx_desk_info(d, 3, &in);
    assert_true(in.held && in.paused && in.open_positions == 0); /* nothing of gail's taken */
    nx_desk_destroy(d);
}

/* A held session enters nothing until a person resumes it; it still
 * exits (its stops stay at the venue), and after RESUME it trades. */
static void test_held_until_resumed(void **state)
{
    (void)state;
    setup_all();
    int split = busy_split();
    stop_at(split);
    tamper_t t;
    memset(&t, 0, sizeof t);
    t.fill_off_session = 1;
    report_log_t rep = {{0}, ""};
    int held = 0;
    world_t *w = &PART;
    int orders_before = w->norders;
    nx_desk_t *d = restart(w, &cfg, &t, &rep, &held);
    assert_int_equal(held, 1);
    nx_desk_info_t in;
    nx_desk_info(d, 1, &in);
    uint32_t trades_at_start = in.trades;
    assert_true(in.open_positions > 0);
    int mid = split + 2000 < fx_nrows ? split + 2000 : fx_nrows;
    drive(d, split, mid);
    int pia_entries = 0, others = 0;
    for (int i = orders_before; i < w->norders; i++) {
        const sent_t *o = &w->orders[i];
        if (o->session == 1 && !o->reduce_only)
            pia_entries++;
        others += o->session != 1 && !o->reduce_only;
    }
    nx_desk_info(d, 1, &in);
    assert_int_equal(pia_entries, 0);
    assert_true(others > 0);
    assert_int_equal(in.open_positions, 0); /* its position still closed by its stops */
    assert_true(in.trades > trades_at_start);
    nx_ev_control_t c;
    memset(&c, 0, sizeof c);
    c.cmd = NX_CTL_RESUME;
    c.session = 1;
    assert_int_equal(nx_desk_control(d, &c, NULL), 0);
    nx_desk_info(d, 1, &in);
    assert_false(in.held);
    assert_false(in.paused);
    int before = w->norders;
    drive(d, mid, fx_nrows);
    pia_entries = 0;
    for (int i = before; i < w->norders; i++)
        pia_entries += w->orders[i].session == 1 && !w->orders[i].reduce_only;
    print_message("# held: no entry for 2000 candles, %d after the person resumed\n",
                  pia_entries);
    assert_true(pia_entries > 0);
    nx_desk_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restart_changes_nothing),
        cmocka_unit_test(test_mismatch_holds_the_session),
        cmocka_unit_test(test_held_until_resumed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
