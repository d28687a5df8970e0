/*
 * fuzz_alpaca_user — libFuzzer target for Alpaca's trade_updates decoder
 * (nx/alpaca_user.h). Any byte string must decode or be refused cleanly:
 * no crash, no read outside the frame (copied to an exact-size heap buffer
 * for ASan), a refusal names its key and fault, and a decoded update keeps
 * its promises (NUL-terminated strings, a known event and status, legs
 * within their array, scales that are the symbol's). The same bytes are
 * also read as a lone order object (a REST answer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/alpaca_user.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_order(const nx_symtab_t *t, const nx_alu_order_t *o)
{
    TERMINATED(o->sym.name);
    const nx_symbol_t *e = nx_symtab_get(t, o->sym.id);
    CHECK(o->sym.id == NX_SYMBOL_NONE ||
          (e && e->price_scale == o->sym.price_scale && e->qty_scale == o->sym.qty_scale));
    TERMINATED(o->id);
    TERMINATED(o->client_order_id);
    CHECK(o->status >= NX_ALU_S_NEW && o->status <= NX_ALU_S_HELD);
    CHECK(o->nx_status >= NX_OS_ACKED && o->nx_status <= NX_OS_EXPIRED);
    CHECK(o->side == NX_SIDE_BUY || o->side == NX_SIDE_SELL);
    CHECK(o->nlegs <= NX_ALU_LEGS_MAX);
    for (unsigned i = 0; i < o->nlegs; i++)
        TERMINATED(o->legs[i].id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nx_symtab_t symtab;
    static int ready;
    if (!ready) {
        nx_symtab_init(&symtab);
        nx_symtab_add(&symtab, NX_VENUE_ALPACA, "SOLUSD", 7, 2, 1, 1, 0, NULL);
        nx_symtab_add(&symtab, NX_VENUE_ALPACA, "AAPL", 2, 4, 1, 1, 0, NULL);
        nx_symtab_add(&symtab, NX_VENUE_ALPACA, "SPY", 2, 0, 1, 1, 0, NULL);
        ready = 1;
    }
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    nx_alu_msg_t m;
    memset(&m, 0xa5, sizeof m); /* stale bytes must not pass for decoded ones */
    int rc = nx_alu_frame_decode(buf, size, &symtab, &m);
    if (rc == 0) {
        CHECK(m.kind >= NX_ALU_AUTH && m.kind <= NX_ALU_OTHER);
        if (m.kind == NX_ALU_UPDATE) {
            CHECK(m.update.event >= NX_ALU_E_NEW &&
                  m.update.event <= NX_ALU_E_ORDER_CANCEL_REJECTED);
            TERMINATED(m.update.execution_id);
            check_order(&symtab, &m.update.order);
        }
    } else {
        CHECK(rc < 0 && m.err.key && m.err.what);
    }
    nx_alu_order_t o;
    nx_alu_error_t err;
    rc = nx_alu_order_decode(buf, size, &symtab, &o, &err);
    if (rc == 0)
        check_order(&symtab, &o);
    else
        CHECK(rc < 0 && err.key && err.what);
    free(buf);
    return 0;
}
