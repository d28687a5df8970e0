/*
 * test_desk_state.c — the saved state's one codec (desk_state.h).
 *
 *  - Real saved texts written by the desk before the format had a codec
 *    (tests/data/desk_state, see PROVENANCE.md) are read and written back
 *    byte for byte: the codec speaks exactly the format already stored in
 *    people's databases.
 *  - Their fields decode to the values the text holds, checked one by one
 *    against numbers copied from the files by hand (an open short with its
 *    trailing stop, a lock, cooldown rings, a COPILOT request whose signal
 *    carries 17-digit doubles).
 *  - Today's desk, driven over the same candles and signals as the desk
 *    that wrote them and stopped at the same candle, saves the same bytes.
 *  - What is not a version-1 state is refused with a reason; a position or
 *    a request whose exact fields are malformed is kept but marked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cortex_fixture.h"
#include "nx/config.h"
#include "desk_fixture.h"
#include "nx/desk.h"
#include "nx/desk_state.h"
#include "nx/error.h"

#define NSESS 4

static char *slurp(const char *rel, size_t *len)
{
    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/desk_state/%s", src ? src : NX_SOURCE_DIR_DEFAULT,
             rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[NSESS + 1][NX_STATE_TEXT_MAX];
    static int next;
    char *b = buf[next++ % (NSESS + 1)];
    *len = fread(b, 1, NX_STATE_TEXT_MAX - 1, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static char *golden(int session, size_t *len)
{
    char name[64];
    snprintf(name, sizeof name, "candle3911_session%d.json", session);
    return slurp(name, len);
}

static void test_golden_round_trip(void **state)
{
    (void)state;
    static nx_state_session_t s;
    static char out[NX_STATE_TEXT_MAX];
    char err[160];
    size_t len, n;
    for (int k = 1; k <= NSESS; k++) {
        const char *text = golden(k, &len);
        assert_int_equal(nx_state_decode(text, len, &s, err, sizeof err), 0);
        assert_int_equal(nx_state_encode(&s, out, sizeof out, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(out, text, len);
    }
    nx_state_global_t g;
    const char *text = golden(0, &len);
    assert_int_equal(nx_state_decode_global(text, len, &g, err, sizeof err), 0);
    assert_int_equal(nx_state_encode_global(&g, out, sizeof out, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(out, text, len);
}

/* The pattern-day-trader count (issue 21) is saved with the risk state,
 * and only once there is one: a state without day trades is the bytes it
 * always was (the round trip above), one with them reads back whole. */
static void test_day_trades_saved(void **state)
{
    (void)state;
    static nx_state_session_t s, back;
    static char out[NX_STATE_TEXT_MAX];
    char err[160];
    size_t len, n;
    const char *text = golden(1, &len);
    assert_int_equal(nx_state_decode(text, len, &s, err, sizeof err), 0);
    assert_int_equal(s.risk.n_day_trades, 0);
    s.risk.n_day_trades = 9; /* the ring has wrapped once */
    for (int i = 0; i < NX_STATE_DAY_TRADES; i++)
        s.risk.day_trades[i] = 14828 + i;
    assert_int_equal(nx_state_encode(&s, out, sizeof out, &n), 0);
    assert_non_null(
        strstr(out, "\"day_trades\":[9,14828,14829,14830,14831,14832,14833,14834,14835]"));
    assert_int_equal(nx_state_decode(out, n, &back, err, sizeof err), 0);
    assert_int_equal(back.risk.n_day_trades, 9);
    assert_memory_equal(back.risk.day_trades, s.risk.day_trades, sizeof s.risk.day_trades);
    assert_int_equal(back.risk.halts, s.risk.halts);
}

static void test_decoded_values(void **state)
{
    (void)state;
    static nx_state_session_t s;
    char err[160];
    size_t len;
    /* pia: an open short with a trailing stop, cooldown rings */
    const char *text = golden(1, &len);
    assert_int_equal(nx_state_decode(text, len, &s, err, sizeof err), 0);
    assert_string_equal(s.name, "pia");
    assert_int_equal(s.now, 1613934000000000000LL);
    assert_true(s.has_account);
    assert_int_equal(s.account.balance, 992361345840LL);
    assert_int_equal(s.account.realized, -7638654160LL);
    assert_int_equal(s.account.trades, 89);
    assert_int_equal(s.account.wins, 33);
    assert_string_equal(s.account.balance_dec, "9923.6134584");
    assert_string_equal(s.account.equity_dec, "9923.01818243");
    assert_int_equal(s.desk.mode, 2);
    assert_int_equal(s.desk.max_dd_bp, 122);
    assert_int_equal(s.desk.orders, 91);
    assert_int_equal(s.desk.exits[1], 32);
    assert_int_equal(s.desk.exits[2], 33);
    assert_int_equal(s.desk.exits[3], 23);
    assert_int_equal(s.desk.exits[5], 1);
    assert_int_equal(s.desk.n_rejects, 21);
    assert_int_equal(s.desk.rejects[3], 7);
    assert_int_equal(s.desk.rejects[16], 4);
    assert_int_equal(s.risk.week_pnl, -984941981LL);
    assert_int_equal(s.risk.halts, 11);
    assert_int_equal(s.risk.halt_until, 1613756700000000000LL);
    assert_int_equal(s.n_locks, 0);
    assert_int_equal(s.n_symbols, 1);
    assert_int_equal(s.symbols[0].sym, 0);
    assert_int_equal(s.symbols[0].cooldown_until, 1613934479976465574LL);
    assert_int_equal(s.symbols[0].n_stopouts, 33);
    assert_int_equal(s.symbols[0].n_results, 89);
    assert_int_equal(s.symbols[0].stopouts[0], 1613825100000000000LL);
    assert_int_equal(s.symbols[0].results[2], -841823687LL);
    assert_int_equal(s.symbols[0].results[15], -1049476388LL);
    assert_int_equal(s.n_positions, 1);
    const nx_state_position_t *p = &s.positions[0];
    assert_true(p->ok);
    assert_string_equal(p->name, "BTCUSDT");
    assert_int_equal(p->qty, -2558000);
    assert_true(p->entry_value == (__int128)14881899146000000000ULL);
    assert_true(p->exit_value == 0);
    assert_int_equal(p->entry_qty, 2558000);
    assert_int_equal(p->fees, 59527597);
    assert_int_equal(p->sl, 5849399000000LL);
    assert_int_equal(p->tp, 5771824000000LL);
    assert_int_equal(p->trail_offset, 87275535000LL);
    assert_int_equal(p->deadline_ns, 1613962800000000000LL);
    assert_int_equal(p->leverage, 3);
    assert_int_equal(p->sl_clid, 1099511628048ULL);
    assert_int_equal(p->tp_clid, 1099511628049ULL);
    assert_string_equal(p->avg_px, "58177.87");
    assert_string_equal(p->qty_dec, "-0.02558");
    /* cara: a pending COPILOT request */
    text = golden(4, &len);
    assert_int_equal(nx_state_decode(text, len, &s, err, sizeof err), 0);
    assert_string_equal(s.name, "cara");
    assert_int_equal(s.desk.approvals, 103);
    assert_int_equal(s.desk.expired, 102);
    assert_int_equal(s.n_approvals, 1);
    const nx_state_approval_t *a = &s.approvals[0];
    assert_true(a->ok);
    assert_int_equal(a->id, 103);
    assert_int_equal(a->venue, 1);
    assert_int_equal(a->expires_ns, 1614020400000000000LL);
    assert_int_equal(a->verdict, 4);
    assert_int_equal(a->side, 2);
    assert_int_equal(a->qty, 859000);
    assert_int_equal(a->price, 5818369000000LL);
    assert_int_equal(a->take_profit, 5771824000000LL);
    assert_true(a->signal.confidence == 0.55038021056423403); /* bit for bit */
    assert_true(a->signal.sl_value == 1.0 && a->signal.tp_value == 1.5);
    assert_int_equal(a->signal.atr, 31029779867LL);
    assert_int_equal(a->signal.tf_s, 900);
    assert_int_equal(a->signal.strategy, 1);
    assert_string_equal(a->signal.reason, "rsi_overbought_volume");
    /* the desk's own */
    nx_state_global_t g;
    text = golden(0, &len);
    assert_int_equal(nx_state_decode_global(text, len, &g, err, sizeof err), 0);
    assert_int_equal(g.global_kill, 0);
    assert_int_equal(g.n_atr, 1);
}

/* ---- today's desk writes the same bytes --------------------------------- */

static const char *CONFIG = /* tests/servos/desk/test_recovery.c's */
    "{\"symbols\":[{\"venue\":\"binance-usdm\",\"symbol\":\"BTCUSDT\",\"tick_size\":\"0.01\","
    "\"lot_size\":\"0.00001\",\"min_notional\":\"5\"}],"
    "\"trading\":{\"slippage_bp\":1,\"taker_fee_bp\":4,\"maker_fee_bp\":2,\"sessions\":["
    "{\"name\":\"pia\",\"user\":1,\"mode\":\"pilot\",\"leverage\":3,\"trail_bp\":150,\"time_limit_s\":28800,"
    "\"breaker_halt_s\":3600},"
    "{\"name\":\"bree\",\"user\":2,\"mode\":\"pilot\",\"breaker_losses\":3},"
    "{\"name\":\"gail\",\"user\":3,\"mode\":\"pilot\",\"cooldown_s\":0,\"breaker_losses\":100,"
    "\"sl_guard_stops\":1,\"sl_guard_lock_s\":86400},"
    "{\"name\":\"cara\",\"user\":4,\"mode\":\"copilot\",\"approval_ttl_s\":86400}]}}";

#define STOP_AT  3911 /* the candle the golden texts were saved after */
#define MAX_SIGS 8192

static nx_event_t SIGS[MAX_SIGS];
static int SIG_AT[MAX_SIGS], nsigs, sig_candle;

static void keep_signal(void *ctx, const nx_event_t *sig)
{
    (void)ctx;
    assert_true(nsigs < MAX_SIGS);
    SIG_AT[nsigs] = sig_candle;
    SIGS[nsigs++] = *sig;
}

typedef struct saved {
    char part[NSESS + 1][NX_STATE_TEXT_MAX];
    char text[NSESS + 1][NX_STATE_TEXT_MAX];
    size_t len[NSESS + 1];
    uint32_t got[NSESS + 1];
} saved_t;

/* The latest whole text per session, put together as the store does. */
static void on_journal(void *ctx, const nx_event_t *ev)
{
    saved_t *w = ctx;
    if (ev->hdr.type != NX_EV_STATE)
        return;
    const nx_ev_state_t *x = &ev->u.state;
    assert_true(x->session <= NSESS && x->part < x->parts);
    if (x->part == 0)
        w->got[x->session] = 0;
    assert_int_equal(x->part, w->got[x->session]);
    memcpy(w->part[x->session] + (size_t)x->part * NX_STATE_PART, x->data, x->len);
    if (++w->got[x->session] == x->parts) {
        size_t n = (size_t)x->part * NX_STATE_PART + x->len;
        memcpy(w->text[x->session], w->part[x->session], n);
        w->len[x->session] = n;
    }
}

static void test_desk_saves_the_same_bytes(void **state)
{
    (void)state;
    static nx_config_t cfg;
    static nx_config_errors_t errs;
    assert_int_equal(nx_config_load_string(CONFIG, strlen(CONFIG), "test_desk_state", &cfg, &errs),
                     0);
    nx_symtab_t *t = malloc(sizeof *t);
    nx_symtab_init(t);
    assert_int_equal(nx_config_symbols_intern(&cfg, t), 0);
    const nx_symbol_t *btc = nx_symtab_get(t, 0);
    int64_t price_div = nx_pow10[8 - btc->price_scale], qty_div = nx_pow10[8 - btc->qty_scale];
    nx_cortex_t *cx = fx_cortex_builtin(t, keep_signal);
    fx_load_candles();
    assert_true(fx_nrows > STOP_AT);
    nx_event_t ev;
    for (sig_candle = 0; sig_candle < STOP_AT; sig_candle++) {
        const fx_row_t *r = &fx_rows[sig_candle];
        fx_kline(&ev, 0, r->t, 900, r->o / price_div, r->h / price_div, r->l / price_div,
                 r->c / price_div, r->v / qty_div);
        nx_cortex_on_event(cx, &ev);
    }
    uint64_t sentinel = nx_cortex_strategies_of(cx, "sentinel");
    nx_cortex_destroy(cx);
    saved_t *w = calloc(1, sizeof *w);
    nx_desk_t *d;
    assert_int_equal(fx_desk_create(&d, &cfg, t, on_journal, w), 0);
    nx_desk_set_sentinel(d, sentinel); /* as the engine does */
    int k = 0;
    for (int i = 0; i < STOP_AT; i++) {
        const fx_row_t *r = &fx_rows[i];
        fx_kline(&ev, 0, r->t, 900, r->o / price_div, r->h / price_div, r->l / price_div,
                 r->c / price_div, r->v / qty_div);
        nx_desk_on_market(d, &ev);
        for (; k < nsigs && SIG_AT[k] == i; k++)
            nx_desk_on_signal(d, &SIGS[k]);
    }
    nx_desk_save_all(d);
    nx_desk_destroy(d);
    for (int s = 0; s <= NSESS; s++) {
        size_t len;
        const char *want = golden(s, &len);
        print_message("# session %d: %zu bytes saved, %zu in the golden text\n", s, w->len[s], len);
        assert_int_equal(w->len[s], len);
        assert_memory_equal(w->text[s], want, len);
    }
    free(w);
    free(t);
}

/* ---- what is refused ------------------------------------------------------ */

static int decode(const char *text, nx_state_session_t *s, char *err)
{
    return nx_state_decode(text, strlen(text), s, err, 160);
}

static void test_refused_and_marked(void **state)
{
    (void)state;
    static nx_state_session_t s;
    char err[160];
    assert_int_equal(decode("{\"v\":1,\"name\":", &s, err), NX_EINVAL);
    assert_true(strlen(err) > 0);
    assert_int_equal(decode("[1,2]", &s, err), NX_EINVAL);
    assert_int_equal(decode("{\"v\":2,\"name\":\"x\"}", &s, err), NX_EINVAL);
    assert_string_equal(err, "not a version 1 saved state");
    assert_int_equal(decode("{\"name\":\"x\"}", &s, err), NX_EINVAL); /* no version */
    /* 33 locks: more than a session can hold */
    char many[2048] = "{\"v\":1,\"locks\":[";
    for (int i = 0; i < 33; i++)
        strcat(many, i ? ",[0,1,2]" : "[0,1,2]");
    strcat(many, "]}");
    assert_int_equal(decode(many, &s, err), NX_EINVAL);
    assert_string_equal(err, "more locks than a session holds");
    /* what is missing reads as 0; a malformed position or request is kept,
     * marked not ok */
    assert_int_equal(decode("{\"v\":1,\"name\":\"ann\",\"positions\":["
                            "{\"sym\":0,\"name\":\"BTCUSDT\",\"qty\":5,\"entry_value\":\"10\","
                            "\"exit_value\":\"0\",\"trail\":[1,2,3,4,0]},"
                            "{\"sym\":0,\"name\":\"BTCUSDT\",\"qty\":5,\"entry_value\":\"1x\","
                            "\"exit_value\":\"0\",\"trail\":[1,2,3,4,0,0]},"
                            "{\"sym\":0,\"name\":\"BTCUSDT\",\"qty\":5,\"entry_value\":\"-\","
                            "\"exit_value\":\"0\",\"trail\":[1,2,3,4,0,0]},"
                            "{\"sym\":0,\"name\":\"BTCUSDT\",\"qty\":5,\"entry_value\":\"-12\","
                            "\"exit_value\":\"0\",\"trail\":[1,2,3,4,0,0]}],"
                            "\"approvals\":[{\"id\":7,\"dec\":[1,2,3],\"sig\":[]}]}",
                            &s, err),
                     0);
    assert_string_equal(s.name, "ann");
    assert_false(s.has_account);
    assert_int_equal(s.account.balance, 0);
    assert_int_equal(s.desk.mode, 0);
    assert_int_equal(s.n_positions, 4);
    assert_false(s.positions[0].ok); /* trail of 5 */
    assert_false(s.positions[1].ok); /* not a number */
    assert_false(s.positions[2].ok); /* a sign alone */
    assert_true(s.positions[3].ok);
    assert_true(s.positions[3].entry_value == -12);
    assert_int_equal(s.positions[0].qty, 5);
    assert_int_equal(s.n_approvals, 1);
    assert_false(s.approvals[0].ok);
    assert_int_equal(s.approvals[0].id, 7);
    /* a buffer too small is an error, never a cut text */
    size_t len;
    const char *text = golden(1, &len);
    assert_int_equal(nx_state_decode(text, len, &s, err, sizeof err), 0);
    static char out[NX_STATE_TEXT_MAX];
    size_t n = 0;
    assert_int_equal(nx_state_encode(&s, out, len, &n), NX_ETOOLONG); /* no room for the NUL */
    assert_int_equal(nx_state_encode(&s, out, len + 1, &n), 0);
    assert_int_equal(n, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_round_trip),  cmocka_unit_test(test_decoded_values),
        cmocka_unit_test(test_day_trades_saved),   cmocka_unit_test(test_desk_saves_the_same_bytes),
        cmocka_unit_test(test_refused_and_marked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
