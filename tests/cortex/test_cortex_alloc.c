/*
 * test_cortex_alloc.c — a steady-state cortex allocates nothing.
 *
 * malloc and friends are interposed for the whole process (the test
 * executable's definitions win over libc's for every object, the dlopen'ed
 * plugins included) and counted while the real BTCUSDT 15m series, for two
 * symbols, plus a trade per candle, streams through the cortex running all
 * five built-in strategies and a tick-reading fixture. Warm-up (start-up,
 * first candles) is excluded; after it, the count must stay 0.
 *
 * Sanitizer builds replace malloc themselves; there the run still happens
 * (so the sanitizers check it) but the count is asserted in the plain build.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>

#include "cortex_fixture.h"

static atomic_int counting;
static atomic_long allocs;

#ifndef NX_SANITIZED
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

#define COUNT()                                                                                    \
    do {                                                                                           \
        if (atomic_load_explicit(&counting, memory_order_relaxed))                                 \
            atomic_fetch_add(&allocs, 1);                                                          \
    } while (0)

void *malloc(size_t n)
{
    COUNT();
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    COUNT();
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    COUNT();
    return __libc_realloc(p, n);
}
void *aligned_alloc(size_t al, size_t n)
{
    COUNT();
    return __libc_memalign(al, n);
}
int posix_memalign(void **out, size_t al, size_t n)
{
    COUNT();
    *out = __libc_memalign(al, n);
    return *out ? 0 : 12;
}
void free(void *p)
{
    __libc_free(p);
}
#endif

static fx_signals_t sigs;

static void test_steady_state_allocates_nothing(void **state)
{
    (void)state;
#ifndef NX_SANITIZED
    /* the counter itself works */
    atomic_store(&counting, 1);
    void *volatile probe = malloc(16);
    atomic_store(&counting, 0);
    free(probe);
    assert_int_equal(atomic_load(&allocs), 1);
    atomic_store(&allocs, 0);
#endif
    fx_load_candles();
    nx_symtab_t *t = fx_symtab();
    static const uint32_t tf[] = {900, 3600, 14400};
    nx_cortex_opts_t o = {0};
    o.symtab = t;
    o.tf_s = tf;
    o.ntf = 3;
    o.allow_unsigned = 1;
    o.watch = 1;
    o.on_signal = fx_collect;
    o.ctx = &sigs;
    nx_cortex_t *cx;
    assert_int_equal(nx_cortex_create(&cx, &o), 0);
    static const char *const names[] = {"trend", "scalping", "mean_reversion", "grid", "sentinel"};
    char path[512], err[512];
    for (int i = 0; i < 5; i++) {
        nx_strategy_conf_t sc = {0};
        sc.path = fx_plugin(names[i], path, sizeof path);
        sc.params_json = i == 4 ? "{\"shark_targets\": [\"ETHUSDT\"]}" : NULL;
        sc.tf_s = tf; /* the file's 15m candles and their 1h/4h aggregates */
        sc.ntf = 3;
        assert_true(nx_cortex_add_strategy(cx, &sc, err, sizeof err) >= 0);
    }
    nx_strategy_conf_t sc = {0};
    sc.path = fx_fixture("counter_v1", path, sizeof path);
    int counter = nx_cortex_add_strategy(cx, &sc, err, sizeof err);
    assert_true(counter >= 0);
    assert_int_equal(nx_cortex_start(cx), 0);

    nx_event_t ev;
    uint64_t seq = 0;
    const int warm = 1000;
    for (int i = 0; i < fx_nrows; i++) {
        if (i == warm)
            atomic_store(&counting, 1);
        const fx_row_t *r = &fx_rows[i];
        for (uint32_t s = 0; s < 2; s++) {
            fx_trade(&ev, s, seq++, r->t + 1000, r->o, r->v / 2 + 1);
            nx_cortex_on_event(cx, &ev);
            fx_kline(&ev, s, r->t, 900, r->o, r->h, r->l, r->c, r->v);
            nx_cortex_on_event(cx, &ev);
            nx_cortex_poll(cx);
        }
    }
    atomic_store(&counting, 0);
    nx_cortex_stats_t st;
    nx_cortex_stats(cx, &st);
    print_message("events %llu, candles closed %llu, signals %llu, allocations in steady state "
                  "%ld\n",
                  (unsigned long long)st.events, (unsigned long long)st.candles_closed,
                  (unsigned long long)st.signals, atomic_load(&allocs));
    int by[6] = {0};
    for (int i = 0; i < sigs.n; i++)
        by[sigs.ev[i].u.signal.strategy]++;
    for (int i = 0; i < 5; i++) {
        print_message("  %-15s %d signals\n", names[i], by[i]);
        assert_true(by[i] > 0); /* every strategy had something to say on 5 months */
    }
    assert_true(st.candles_closed > 2 * (13000 + 3200 + 800));
#ifndef NX_SANITIZED
    assert_int_equal(atomic_load(&allocs), 0);
#endif
    nx_cortex_destroy(cx);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_state_allocates_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
