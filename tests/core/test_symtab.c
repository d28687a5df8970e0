/*
 * test_symtab.c — interning, lookup, rejection of bad entries, and
 * lock-free reads while a writer adds symbols.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/error.h"
#include "nx/event.h"
#include "nx/symtab.h"

static void test_intern_and_find(void **state)
{
    (void)state;
    nx_symtab_t *t = malloc(sizeof *t);
    nx_symtab_init(t);
    assert_int_equal(
        nx_symtab_add(t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 8, 10000000, 100000, 0, NULL), 0);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BYBIT_LINEAR, "BTCUSDT", 2, 3, 10, 1, 0, NULL), 1);
    uint32_t existing = 99;
    assert_int_equal(nx_symtab_add(t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 8, 8, 1, 1, 0, &existing),
                     NX_EEXIST);
    assert_int_equal(existing, 0);
    assert_int_equal(nx_symtab_find(t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 7), 0);
    assert_int_equal(nx_symtab_find(t, NX_VENUE_BYBIT_LINEAR, "BTCUSDT", 7), 1);
    assert_int_equal(nx_symtab_find(t, NX_VENUE_ALPACA, "BTCUSDT", 7), NX_SYMBOL_NONE);
    assert_int_equal(nx_symtab_find(t, NX_VENUE_BINANCE_USDM, "BTCUSD", 6), NX_SYMBOL_NONE);
    assert_int_equal(nx_symtab_find(t, NX_VENUE_BINANCE_USDM, "BTCUSDTX", 8), NX_SYMBOL_NONE);
    /* Length-delimited lookups straight from a frame buffer. */
    const char *frame = "\"s\":\"BTCUSDT\",\"p\"";
    assert_int_equal(nx_symtab_find(t, NX_VENUE_BINANCE_USDM, frame + 5, 7), 0);
    const nx_symbol_t *s = nx_symtab_get(t, 1);
    assert_non_null(s);
    assert_int_equal(s->price_scale, 2);
    assert_int_equal(s->tick_size, 10);
    assert_null(nx_symtab_get(t, 2));
    assert_int_equal(nx_symtab_count(t), 2);
    free(t);
}

static void test_rejects_bad_entries(void **state)
{
    (void)state;
    nx_symtab_t *t = malloc(sizeof *t);
    nx_symtab_init(t);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_ALPACA, "", 2, 0, 1, 1, 0, NULL), NX_EINVAL);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_ALPACA, "AAPL US", 2, 0, 1, 1, 0, NULL), NX_EINVAL);
    assert_int_equal(
        nx_symtab_add(t, NX_VENUE_ALPACA, "AAAAAAAAAAAAAAAAAAAAAAAA", 2, 0, 1, 1, 0, NULL),
        NX_EINVAL);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_NONE, "AAPL", 2, 0, 1, 1, 0, NULL), NX_EINVAL);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_ALPACA, "AAPL", 19, 0, 1, 1, 0, NULL), NX_EINVAL);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_ALPACA, "AAPL", 2, 0, 0, 1, 0, NULL), NX_EINVAL);
    assert_int_equal(nx_symtab_add(t, NX_VENUE_ALPACA, "AAPL", 2, 0, 1, -1, 0, NULL), NX_EINVAL);
    assert_int_equal(nx_symtab_count(t), 0);
    /* Fill to capacity. */
    char name[16];
    for (int i = 0; i < NX_SYMTAB_MAX; i++) {
        snprintf(name, sizeof name, "S%d", i);
        assert_int_equal(nx_symtab_add(t, NX_VENUE_PAPER, name, 8, 8, 1, 1, 0, NULL), i);
    }
    assert_int_equal(nx_symtab_add(t, NX_VENUE_PAPER, "ONEMORE", 8, 8, 1, 1, 0, NULL), NX_EFULL);
    for (int i = 0; i < NX_SYMTAB_MAX; i += 97) {
        snprintf(name, sizeof name, "S%d", i);
        assert_int_equal(nx_symtab_find(t, NX_VENUE_PAPER, name, strlen(name)), (uint32_t)i);
    }
    free(t);
}

static nx_symtab_t *shared;
static atomic_int done;

static void *reader(void *p)
{
    (void)p;
    char name[16];
    uint64_t found = 0;
    while (!atomic_load(&done)) {
        uint32_t n = nx_symtab_count(shared);
        for (uint32_t i = 0; i < n; i++) {
            snprintf(name, sizeof name, "R%u", i);
            uint32_t id = nx_symtab_find(shared, NX_VENUE_PAPER, name, strlen(name));
            if (id != i)
                return (void *)1; /* published but not findable, or wrong */
            const nx_symbol_t *s = nx_symtab_get(shared, id);
            if (!s || strcmp(s->name, name) != 0)
                return (void *)1;
            found++;
        }
    }
    return (void *)0;
}

static void test_concurrent_reads(void **state)
{
    (void)state;
    shared = malloc(sizeof *shared);
    nx_symtab_init(shared);
    pthread_t th;
    pthread_create(&th, NULL, reader, NULL);
    char name[16];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof name, "R%d", i);
        assert_int_equal(nx_symtab_add(shared, NX_VENUE_PAPER, name, 8, 8, 1, 1, 0, NULL), i);
    }
    atomic_store(&done, 1);
    void *rv;
    pthread_join(th, &rv);
    assert_null(rv);
    free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_and_find),
        cmocka_unit_test(test_rejects_bad_entries),
        cmocka_unit_test(test_concurrent_reads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
