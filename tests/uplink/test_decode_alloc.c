/*
 * test_decode_alloc.c — nothing on the parse path allocates.
 *
 * malloc/calloc/realloc/free are wrapped at link time (-Wl,--wrap) and
 * counted. After set-up, every frame of every capture is decoded and its
 * book events applied, many times over: the allocation count must not move.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nx/book.h"
#include "nx/decode.h"

#include "../alloc_count.h"

typedef struct file {
    char **line;
    size_t *len;
    size_t n;
} file_t;

static file_t load(const char *rel)
{
    file_t f = {0};
    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/%s", src ? src : NX_SOURCE_DIR_DEFAULT, rel);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char *l = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&l, &cap, fp)) > 0) {
        f.line = realloc(f.line, (f.n + 1) * sizeof *f.line);
        f.len = realloc(f.len, (f.n + 1) * sizeof *f.len);
        f.line[f.n] = strdup(l);
        f.len[f.n++] = (size_t)n - 1;
    }
    free(l);
    fclose(fp);
    return f;
}

static void run(nx_venue_t v, const char *rel)
{
    file_t f = load(rel);
    static nx_symtab_t symtab;
    nx_symtab_init(&symtab);
    nx_ring_t *ring;
    assert_int_equal(nx_ring_create(&ring, "a", 1 << 16, sizeof(nx_event_t), 1, NX_RING_NEVER_BLOCK,
                                    NX_WAIT_SPIN),
                     0);
    nx_decoder_t dec;
    assert_int_equal(nx_decoder_init(&dec, v, &symtab, ring), 0);
    dec.auto_intern = 1;
    nx_bookset_t books;
    nx_bookset_init(&books, v, 1000, 4096);
    books.assume_empty = v == NX_VENUE_BINANCE_USDM;
    nx_ring_consumer_t *c = nx_ring_consumer(ring, 0);
    long before = 0;
    for (int round = 0; round < 20; round++) {
        if (round == 1)
            before = allocs; /* round 0 interned symbols and created books */
        for (size_t i = 0; i < f.n; i++) {
            uint64_t first;
            int n = nx_decode_frame(&dec, f.line[i], f.len[i], &first);
            assert_true(n >= 0);
            nx_bookset_apply(&books, &dec, first, (uint32_t)n);
            nx_ring_release(c, nx_ring_next(ring));
            c->polled = nx_ring_next(ring);
        }
    }
    long steady = allocs - before;
    printf("# %s: %llu frames decoded in steady state, %ld allocations\n", rel,
           (unsigned long long)(f.n * 19), steady);
    assert_int_equal(steady, 0);
    nx_bookset_free(&books);
    nx_decoder_fini(&dec);
    nx_ring_destroy(ring);
    for (size_t i = 0; i < f.n; i++)
        free(f.line[i]);
    free(f.line);
    free(f.len);
}

static void test_no_allocation(void **state)
{
    (void)state;
    run(NX_VENUE_BINANCE_USDM, "ws/binance_usdm_futures_combined_20210722_first500.jsonl");
    run(NX_VENUE_BYBIT_LINEAR, "ws/bybit_v5_linear_public_20260809_first400.jsonl");
    run(NX_VENUE_ALPACA, "samples/alpaca_trades.jsonl");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_allocation)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
