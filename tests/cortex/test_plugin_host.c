/*
 * test_plugin_host.c — the strategy host with real .so files: broken plugins
 * refused with the file and the reason while the others keep running,
 * Ed25519 signatures (unsigned, untrusted key, tampered file, malformed
 * signature), and hot swap — 100 swaps through inotify while trades stream
 * at full speed over a ring, every event processed exactly once and the
 * plugin's state carried over; reload on command; a broken update never
 * replaces a working version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cortex_fixture.h"
#include "nx/clock.h"
#include "nx/error.h"
#include "nx/plugin_sign.h"
#include "nx/ring.h"
#include "nx/indicators.h"

#include <math.h>

typedef struct counter_state {
    uint64_t ticks, candles, last_seq, gaps, dups, restores, version;
} counter_state_t;

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nx-plugtest-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
}

static void rm_tmpdir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

/* Copy src to dst atomically (write beside, then rename), as a deploy does. */
static void install(const char *src, const char *dst)
{
    char *data;
    size_t len;
    assert_int_equal(nx_file_read_all(src, &data, &len), 0);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s.part", dst);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
    free(data);
    assert_int_equal(rename(tmp, dst), 0);
}

static nx_cortex_t *make_cortex(nx_symtab_t *t, int allow_unsigned, const char *const *keys,
                                uint32_t nkeys, int watch, fx_signals_t *sigs)
{
    static const uint32_t tf[] = {60};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tf;
    o.ntf = 1;
    o.candles_from_trades = 1;
    o.allow_unsigned = allow_unsigned;
    o.trusted_keys = keys;
    o.n_trusted = nkeys;
    o.watch = watch;
    o.watch_debounce_ms = 5;
    o.on_signal = fx_collect;
    o.ctx = sigs;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    return cx;
}

static int add(nx_cortex_t *cx, const char *path, char *err, size_t cap)
{
    nx_strategy_conf_t sc = {0};
    sc.path = path;
    err[0] = 0;
    return nx_cortex_add_strategy(cx, &sc, err, cap);
}

static void expect_refused(nx_cortex_t *cx, const char *path, const char *reason)
{
    char err[512];
    int rc = add(cx, path, err, sizeof err);
    print_message("refused: %s\n", err);
    assert_true(rc < 0);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, reason));
}

static void feed_ticks(nx_cortex_t *cx, uint64_t first, uint64_t n)
{
    nx_event_t ev;
    for (uint64_t i = 0; i < n; i++) {
        fx_trade(&ev, 0, first + i, 1700000000000 + (int64_t)(first + i), 100000000, 1000);
        nx_cortex_on_event(cx, &ev);
    }
}

static counter_state_t counter_of(nx_cortex_t *cx, int id)
{
    counter_state_t s;
    memset(&s, 0, sizeof s);
    assert_int_equal(nx_cortex_strategy_snapshot(cx, id, &s, sizeof s), sizeof s);
    return s;
}

static void test_broken_plugins_refused(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    fx_signals_t *sigs = calloc(1, sizeof *sigs);
    nx_cortex_t *cx = make_cortex(t, 1, NULL, 0, 0, sigs);
    char p[512];
    expect_refused(cx, fx_fixture("noentry", p, sizeof p), "no entry point");
    expect_refused(cx, fx_fixture("badabi", p, sizeof p), "wrong ABI: built for plugin ABI 2.0");
    expect_refused(cx, fx_fixture("failinit", p, sizeof p),
                   "init failed: needs a licence key that is not configured");
    expect_refused(cx, fx_fixture("nocandle", p, sizeof p),
                   "missing entry in the descriptor: on_candle");
    expect_refused(cx, fx_fixture("does_not_exist", p, sizeof p), "cannot read the plugin file");
    /* a file that is not a shared object */
    make_tmpdir();
    char junk[300];
    snprintf(junk, sizeof junk, "%s/junk.so", tmpdir);
    FILE *f = fopen(junk, "w");
    fputs("this is not an ELF file\n", f);
    fclose(f);
    expect_refused(cx, junk, "not loadable");

    /* the engine keeps running on the plugins it has */
    char err[512];
    int id = add(cx, fx_fixture("counter_v1", p, sizeof p), err, sizeof err);
    assert_true(id >= 0);
    assert_int_equal(nx_cortex_start(cx), 0);
    feed_ticks(cx, 1, 1000);
    counter_state_t s = counter_of(cx, id);
    assert_int_equal(s.ticks, 1000);
    assert_int_equal(s.gaps + s.dups, 0);
    nx_cortex_destroy(cx);
    rm_tmpdir();
    free(sigs);
    free(t);
}

static void test_signatures(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    fx_signals_t *sigs = calloc(1, sizeof *sigs);
    make_tmpdir();
    char key[300], key2[300], so[300], sig[310], pk[NX_SIGN_PK_B64_MAX], pk2[NX_SIGN_PK_B64_MAX];
    char err[512], p[512];
    snprintf(key, sizeof key, "%s/dev.key", tmpdir);
    snprintf(key2, sizeof key2, "%s/other.key", tmpdir);
    snprintf(so, sizeof so, "%s/counter.so", tmpdir);
    snprintf(sig, sizeof sig, "%s.sig", so);
    assert_int_equal(nx_sign_keygen(key, pk, err, sizeof err), 0);
    assert_int_equal(nx_sign_keygen(key2, pk2, err, sizeof err), 0);
    assert_int_equal(nx_sign_keygen(key, pk, err, sizeof err), NX_EEXIST); /* never overwritten */
    struct stat st;
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(nx_sign_pk_check(pk), 0);
    assert_int_not_equal(nx_sign_pk_check("not a key"), 0);
    install(fx_fixture("counter_v1", p, sizeof p), so);
    const char *trusted[] = {pk};
    const char *untrusted[] = {pk2};

    /* unsigned */
    nx_cortex_t *cx = make_cortex(t, 0, trusted, 1, 0, sigs);
    expect_refused(cx, so, "not signed");
    /* signed by a trusted key: loads */
    assert_int_equal(nx_sign_file(so, key, err, sizeof err), 0);
    assert_int_equal(nx_sign_verify_file(so, trusted, 1, err, sizeof err), 0);
    assert_true(add(cx, so, err, sizeof err) >= 0);
    nx_cortex_destroy(cx);
    /* signed, but by a key not in the allow-list */
    cx = make_cortex(t, 0, untrusted, 1, 0, sigs);
    expect_refused(cx, so, "not in cortex.trusted_keys");
    nx_cortex_destroy(cx);
    /* tampered after signing */
    cx = make_cortex(t, 0, trusted, 1, 0, sigs);
    FILE *f = fopen(so, "a");
    fputc(0, f);
    fclose(f);
    expect_refused(cx, so, "bad signature");
    /* a malformed signature file */
    f = fopen(sig, "w");
    fputs("nexus-plugin-sig 1 garbage\n", f);
    fclose(f);
    expect_refused(cx, so, "malformed signature");
    nx_cortex_destroy(cx);
    /* a secret key others can read is refused */
    chmod(key, 0644);
    assert_int_equal(nx_sign_file(so, key, err, sizeof err), NX_EPERM);
    assert_non_null(strstr(err, "chmod 600"));
    rm_tmpdir();
    free(sigs);
    free(t);
}

/* ---- hot swap under streaming ------------------------------------------ */

typedef struct stream {
    nx_ring_t *ring;
    nx_cortex_t *cx;
    atomic_int stop_producer;
    uint64_t published;
    int64_t max_swap_ns;
    int swaps;
} stream_t;

static void *producer(void *arg)
{
    stream_t *s = arg;
    while (!atomic_load(&s->stop_producer)) {
        uint64_t seq;
        uint32_t n = nx_bus_claim(s->ring, 64, &seq);
        for (uint32_t i = 0; i < n; i++) {
            nx_event_t *ev = nx_bus_event(s->ring, seq + i);
            uint64_t keep = ev->hdr.seq;
            fx_trade(ev, 0, keep, 1700000000000 + (int64_t)(keep / 64), 100000000, 1000);
            ev->hdr.seq = keep;
        }
        nx_ring_publish(s->ring, seq + n);
        s->published += n;
    }
    nx_ring_close(s->ring);
    return NULL;
}

static void *engine(void *arg)
{
    stream_t *s = arg;
    nx_ring_consumer_t *c = nx_ring_consumer(s->ring, 0);
    for (;;) {
        uint64_t seq;
        uint32_t n = nx_ring_wait(s->ring, c, 256, &seq, 10 * NX_NS_PER_MS);
        if (n == 0) {
            if (nx_ring_is_closed(s->ring) && nx_ring_poll(s->ring, c, 1, &seq) == 0)
                break;
            continue;
        }
        for (uint32_t i = 0; i < n; i++) {
            nx_cortex_on_event(s->cx, nx_bus_event(s->ring, seq + i));
            /* between two events */
            int64_t t0 = nx_mono_ns();
            int k = nx_cortex_poll(s->cx);
            if (k) {
                int64_t d = nx_mono_ns() - t0;
                if (d > s->max_swap_ns)
                    s->max_swap_ns = d;
                s->swaps += k;
            }
        }
        nx_ring_release(c, seq + n);
    }
    return NULL;
}

/* Distinct private plugin copies mapped into this process now. */
static int mapped_plugin_copies(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    assert_non_null(f);
    char line[1024], seen[64][256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, "/nexus-plugins-");
        if (!p)
            continue;
        char *path = strchr(line, '/');
        path[strcspn(path, " \n")] = 0;
        int dup = 0;
        for (int i = 0; i < n && !dup; i++)
            dup = !strcmp(seen[i], path);
        if (!dup && n < 64)
            snprintf(seen[n++], sizeof seen[0], "%s", path);
    }
    fclose(f);
    return n;
}

static uint64_t wait_swaps(nx_cortex_t *cx, int id, uint64_t want, uint64_t want_fail)
{
    nx_strategy_info_t in;
    int64_t end = nx_mono_ns() + 20 * NX_NS_PER_SEC;
    do {
        nx_cortex_strategy_info(cx, id, &in);
        if (in.swaps >= want && in.reload_failures >= want_fail)
            return in.swaps;
        usleep(500);
    } while (nx_mono_ns() < end);
    print_message("timed out: swaps %llu (want %llu), failures %llu (want %llu)\n",
                  (unsigned long long)in.swaps, (unsigned long long)want,
                  (unsigned long long)in.reload_failures, (unsigned long long)want_fail);
    fail();
    return 0;
}

static void test_hot_swap_100_while_streaming(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    fx_signals_t *sigs = calloc(1, sizeof *sigs);
    make_tmpdir();
    char so[300], v1[512], v2[512], bad[512], badr[512], err[512];
    snprintf(so, sizeof so, "%s/counter.so", tmpdir);
    fx_fixture("counter_v1", v1, sizeof v1);
    fx_fixture("counter_v2", v2, sizeof v2);
    fx_fixture("badabi", bad, sizeof bad);
    fx_fixture("badrestore", badr, sizeof badr);
    install(v1, so);
    stream_t s;
    memset(&s, 0, sizeof s);
    s.cx = make_cortex(t, 1, NULL, 0, 1, sigs);
    int id = add(s.cx, so, err, sizeof err);
    assert_true(id >= 0);
    assert_int_equal(nx_cortex_start(s.cx), 0);
    assert_int_equal(nx_ring_create(&s.ring, "swap", 1 << 14, sizeof(nx_event_t), 1,
                                    NX_RING_NO_DROP, NX_WAIT_SPIN_YIELD),
                     0);
    pthread_t tp, te;
    assert_int_equal(pthread_create(&te, NULL, engine, &s), 0);
    assert_int_equal(pthread_create(&tp, NULL, producer, &s), 0);

    const int SWAPS = 100;
    for (int i = 1; i <= SWAPS; i++) {
        install(i % 2 ? v2 : v1, so); /* inotify sees the rename */
        wait_swaps(s.cx, id, (uint64_t)i, 0);
    }
    /* a broken update is refused and the running version stays */
    install(bad, so);
    wait_swaps(s.cx, id, SWAPS, 1);
    nx_strategy_info_t in;
    nx_cortex_strategy_info(s.cx, id, &in);
    assert_non_null(strstr(in.last_error, "wrong ABI"));
    /* so is a version that cannot take the running state over */
    install(badr, so);
    wait_swaps(s.cx, id, SWAPS, 2);
    nx_cortex_strategy_info(s.cx, id, &in);
    assert_non_null(strstr(in.last_error, "refused the running version's state"));
    /* a reload command (the control-event path) swaps too */
    install(v1, so);
    wait_swaps(s.cx, id, SWAPS + 1, 2);
    assert_int_equal(nx_cortex_reload(s.cx, "counter"), 0);
    wait_swaps(s.cx, id, SWAPS + 2, 2);
    assert_int_equal(nx_cortex_reload(s.cx, "nobody"), NX_ENOENT);

    atomic_store(&s.stop_producer, 1);
    pthread_join(tp, NULL);
    pthread_join(te, NULL);
    /* old versions are unloaded once retired: only the running copy stays mapped */
    int mapped = -1;
    for (int tries = 0; tries < 200 && mapped != 1; tries++) {
        usleep(10000);
        mapped = mapped_plugin_copies();
    }
    print_message("plugin copies mapped after the swaps: %d\n", mapped);
    assert_int_equal(mapped, 1);
    counter_state_t c = counter_of(s.cx, id);
    print_message("published %llu, processed %llu, swaps %d, restores %llu, longest swap %.1f us\n",
                  (unsigned long long)s.published, (unsigned long long)c.ticks, s.swaps,
                  (unsigned long long)c.restores, (double)s.max_swap_ns / 1e3);
    assert_int_equal(c.ticks, s.published); /* exactly once each ... */
    assert_int_equal(c.gaps, 0);
    assert_int_equal(c.dups, 0);
    assert_int_equal(c.last_seq, s.published - 1); /* the bus numbers events from 0 */
    assert_int_equal(c.restores, SWAPS + 2);       /* ... with the state carried over every time */
    assert_int_equal(c.version, 1);
    assert_int_equal(s.swaps, SWAPS + 2);
    assert_true(s.published > 10000);
    /* "no pause longer than one event": generous bound for sanitizer builds */
    assert_true(s.max_swap_ns < 50 * NX_NS_PER_MS);
    nx_cortex_destroy(s.cx);
    nx_ring_destroy(s.ring);
    rm_tmpdir();
    free(sigs);
    free(t);
}

/* A reload asked for by a control event on the bus swaps the strategy. */
static void test_reload_control_event(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    fx_signals_t *sigs = calloc(1, sizeof *sigs);
    nx_cortex_t *cx = make_cortex(t, 1, NULL, 0, 0, sigs);
    char p[512], err[512];
    int id = add(cx, fx_fixture("counter_v1", p, sizeof p), err, sizeof err);
    assert_true(id >= 0);
    assert_int_equal(nx_cortex_start(cx), 0);
    feed_ticks(cx, 1, 10);
    nx_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.hdr.type = NX_EV_CONTROL;
    ev.hdr.symbol = NX_SYMBOL_NONE;
    ev.u.control.cmd = NX_CTL_RELOAD;
    snprintf(ev.u.control.text, sizeof ev.u.control.text, "counter");
    nx_cortex_on_event(cx, &ev);
    int64_t end = nx_mono_ns() + 10 * NX_NS_PER_SEC;
    while (nx_cortex_poll(cx) == 0 && nx_mono_ns() < end)
        usleep(1000);
    nx_strategy_info_t in;
    nx_cortex_strategy_info(cx, id, &in);
    assert_int_equal(in.swaps, 1);
    feed_ticks(cx, 11, 10);
    counter_state_t c = counter_of(cx, id);
    assert_int_equal(c.ticks, 20); /* the state came along */
    assert_int_equal(c.restores, 1);
    nx_cortex_destroy(cx);
    free(sigs);
    free(t);
}

static int close_enough(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return fabs(a - b) <= 1e-9 * fmax(1.0, fabs(b));
}

/* What a plugin sees per slot equals the indicators computed directly, over
 * the real 15m series: the TA-Lib set (the same incremental code), and
 * volume SMA, highest high / lowest low and their distances against a
 * naive recomputation over the window. NaN inside the lookback. */
static void test_view_indicators(void **state)
{
    (void)state;
    fx_load_candles();
    nx_symtab_t *t = fx_symtab();
    fx_signals_t *sigs = calloc(1, sizeof *sigs);
    static const uint32_t tf[] = {900};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tf;
    o.ntf = 1;
    o.allow_unsigned = 1;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    char p[512], err[512];
    nx_strategy_conf_t sc = {0};
    sc.path = fx_fixture("probe", p, sizeof p);
    uint32_t btc = 0;
    sc.symbols = &btc;
    sc.nsym = 1;
    int id = nx_cortex_add_strategy(cx, &sc, err, sizeof err);
    assert_true(id >= 0);
    assert_int_equal(nx_cortex_start(cx), 0);
    struct {
        int32_t slot[12];
        uint32_t n;
        uint64_t closed;
        double v[48];
    } pr;
    nx_sma_t sma;
    nx_ema_t ema;
    nx_rsi_t rsi;
    nx_atr_t atr;
    nx_adx_t adx;
    nx_bbands_t bb;
    nx_macd_t macd;
    nx_stoch_t st;
    nx_obv_t obv;
    nx_sma_init(&sma, 20);
    nx_ema_init(&ema, 20);
    nx_rsi_init(&rsi, 14);
    nx_atr_init(&atr, 14);
    nx_adx_init(&adx, 14);
    nx_bbands_init(&bb, 20, 2);
    nx_macd_init(&macd, 12, 26, 9);
    nx_stoch_init(&st, 14, 3, 3);
    nx_obv_init(&obv);
    int rows = fx_nrows < 3000 ? fx_nrows : 3000, checked = 0;
    for (int i = 0; i < rows; i++) {
        const fx_row_t *r = &fx_rows[i];
        nx_event_t ev;
        fx_kline(&ev, 0, r->t, 900, r->o, r->h, r->l, r->c, r->v);
        nx_cortex_on_event(cx, &ev);
        double h = r->h / 1e8, l = r->l / 1e8, c = r->c / 1e8, v = r->v / 1e8;
        double want[48];
        int k = 0;
        want[k++] = nx_sma_update(&sma, c) ? sma.value : NAN;
        want[k++] = nx_ema_update(&ema, c) ? ema.value : NAN;
        want[k++] = nx_rsi_update(&rsi, c) ? rsi.value : NAN;
        int a = nx_atr_update(&atr, h, l, c);
        want[k++] = a ? atr.value : NAN;
        want[k++] = a ? atr.natr : NAN;
        int di = nx_adx_update(&adx, h, l, c);
        want[k++] = adx.adx_valid ? adx.adx : NAN;
        want[k++] = di ? adx.plus_di : NAN;
        want[k++] = di ? adx.minus_di : NAN;
        int b = nx_bbands_update(&bb, c);
        want[k++] = b ? bb.upper : NAN;
        want[k++] = b ? bb.middle : NAN;
        want[k++] = b ? bb.lower : NAN;
        int m = nx_macd_update(&macd, c);
        want[k++] = m ? macd.macd : NAN;
        want[k++] = m ? macd.signal : NAN;
        want[k++] = m ? macd.hist : NAN;
        int s2 = nx_stoch_update(&st, h, l, c);
        want[k++] = s2 ? st.k : NAN;
        want[k++] = s2 ? st.d : NAN;
        nx_obv_update(&obv, c, v);
        want[k++] = obv.value;
        /* naive windows over the last 20 candles */
        double vs = 0, hi = -INFINITY, lo = INFINITY;
        for (int j = i - 19; j <= i && j >= 0 && i >= 19; j++) {
            vs += fx_rows[j].v / 1e8;
            hi = fmax(hi, fx_rows[j].h / 1e8);
            lo = fmin(lo, fx_rows[j].l / 1e8);
        }
        int full = i >= 19;
        want[k++] = full ? vs / 20 : NAN;
        want[k++] = full ? hi : NAN;
        want[k++] = full ? (c - hi) / c : NAN;
        want[k++] = full ? lo : NAN;
        want[k++] = full ? (c - lo) / c : NAN;
        assert_int_equal(nx_cortex_strategy_snapshot(cx, id, &pr, sizeof pr), sizeof pr);
        assert_int_equal(pr.n, (uint32_t)k);
        assert_int_equal(pr.closed, (uint64_t)i + 1);
        for (int j = 0; j < k; j++) {
            if (!close_enough(pr.v[j], want[j]))
                fail_msg("candle %d slot %d: plugin saw %.17g, direct %.17g", i, j, pr.v[j],
                         want[j]);
            checked += !isnan(want[j]);
        }
    }
    print_message("%d values compared over %d candles\n", checked, rows);
    assert_true(checked > 20 * (rows - 300));
    nx_cortex_destroy(cx);
    free(sigs);
    free(t);
}

/* A signal emitted on a trade (on_tick) carries its price levels at the
 * symbol's price scale, like one emitted on a candle. */
static void test_tick_signal_levels(void **state)
{
    (void)state;
    nx_symtab_t *t = fx_symtab();
    fx_signals_t *sigs = calloc(1, sizeof *sigs);
    nx_cortex_t *cx = make_cortex(t, 1, NULL, 0, 0, sigs);
    char p[512], err[512];
    assert_true(add(cx, fx_fixture("ticker", p, sizeof p), err, sizeof err) >= 0);
    assert_int_equal(nx_cortex_start(cx), 0);
    nx_event_t ev;
    fx_trade(&ev, 0, 1, 1700000000000, 10000000000LL, 1000); /* 100.00000000 */
    nx_cortex_on_event(cx, &ev);
    assert_int_equal(sigs->n, 1);
    const nx_ev_signal_t *g = &sigs->ev[0].u.signal;
    assert_int_equal(g->side, NX_SIG_BUY);
    assert_int_equal(g->ref_price, 10000000000LL);
    assert_int_equal(g->sl_kind, NX_LEVEL_PRICE);
    assert_int_equal(g->sl_price, 9900000000LL);  /* 99.00 */
    assert_int_equal(g->tp_price, 10200000000LL); /* 102.00 */
    assert_int_equal(g->tf_s, 0);                 /* fired on a tick */
    nx_cortex_destroy(cx);
    free(sigs);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_plugins_refused),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_hot_swap_100_while_streaming),
        cmocka_unit_test(test_tick_signal_levels),
        cmocka_unit_test(test_reload_control_event),
        cmocka_unit_test(test_view_indicators),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
