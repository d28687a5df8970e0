/*
 * fuzz_binance_filters — libFuzzer target for the exchangeInfo loader
 * (nx/binance_filters.h): any body must load or be refused with a reason,
 * never crash or read outside it; a table that loads keeps its promises
 * (every rule non-negative, minimums under maximums, the multipliers'
 * order), and an order checked against it is judged without a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/binance_filters.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nx_symtab_t t;
    static int ready;
    if (!ready) {
        nx_symtab_init(&t);
        nx_symtab_add(&t, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 500, NULL);
        nx_symtab_add(&t, NX_VENUE_BINANCE_USDM, "BLZUSDT", 6, 1, 1, 1, 0, NULL);
        ready = 1;
    }
    char *copy = malloc(size ? size : 1); /* exact size: ASan sees any read past it */
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    nx_bn_filters_t f[2];
    char why[256];
    why[0] = 0;
    int rc = nx_bn_filters_load(copy, size, &t, f, 2, why, sizeof why);
    CHECK(memchr(why, '\0', sizeof why) != NULL);
    if (rc == 0) {
        for (int i = 0; i < 2; i++) {
            CHECK(f[i].loaded);
            CHECK(f[i].min_price >= 0 && f[i].max_price >= 0 && f[i].tick_size >= 0);
            CHECK(f[i].min_qty >= 0 && f[i].max_qty >= 0 && f[i].step_size >= 0);
            CHECK(!f[i].max_price || f[i].min_price <= f[i].max_price);
            CHECK(!f[i].max_qty || f[i].min_qty <= f[i].max_qty);
            CHECK(!f[i].mult_up || f[i].mult_down <= f[i].mult_up);
            nx_ev_order_intent_t in;
            memset(&in, 0, sizeof in);
            in.side = NX_SIDE_BUY;
            in.order_type = NX_ORD_LIMIT;
            in.price = 100;
            in.qty = 10;
            int code = 0;
            nx_bn_filters_check(&f[i], &in, 100, 100, &code, why, sizeof why);
            CHECK(memchr(why, '\0', sizeof why) != NULL);
            nx_bn_filters_round_qty(&f[i], 12345, 0);
            nx_bn_filters_round_price(&f[i], 12345, NX_SIDE_SELL);
        }
    } else {
        CHECK(rc < 0 && why[0]);
    }
    free(copy);
    return 0;
}
