/*
 * fuzz_binance_user — libFuzzer target for the Binance USD-M user-data
 * decoder (nx/binance_user.h). Any byte string must decode or be refused
 * cleanly: no crash, no read outside the frame (it is copied to an
 * exact-size heap buffer for ASan), a refusal names its key and fault, and
 * a decoded record keeps its promises: a kind of the six, NUL-terminated
 * strings inside their arrays, list counts within the arrays, scales that
 * are the symbol's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/binance_user.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const nx_symtab_t *t, const nx_bnu_msg_t *m)
{
    switch (m->kind) {
    case NX_BNU_ORDER:
        check_sym(t, &m->u.order.sym);
        CHECK(m->u.order.sym.id != NX_SYMBOL_NONE);
        TERMINATED(m->u.order.client_id);
        TERMINATED(m->u.order.fee_asset);
        CHECK(m->u.order.status >= NX_BNU_S_NEW && m->u.order.status <= NX_BNU_S_EXPIRED_IN_MATCH);
        CHECK(m->u.order.nx_status >= NX_OS_ACKED && m->u.order.nx_status <= NX_OS_EXPIRED);
        CHECK(m->u.order.side == NX_SIDE_BUY || m->u.order.side == NX_SIDE_SELL);
        break;
    case NX_BNU_ALGO:
        check_sym(t, &m->u.algo.sym);
        TERMINATED(m->u.algo.client_algo_id);
        TERMINATED(m->u.algo.fail_reason);
        break;
    case NX_BNU_ACCOUNT:
        CHECK(m->u.account.nbalances <= NX_BNU_BALANCES_MAX);
        CHECK(m->u.account.npositions <= NX_BNU_POSITIONS_MAX);
        CHECK(m->u.account.unknown_symbols <= m->u.account.npositions);
        for (unsigned i = 0; i < m->u.account.nbalances; i++)
            TERMINATED(m->u.account.balances[i].asset);
        for (unsigned i = 0; i < m->u.account.npositions; i++)
            check_sym(t, &m->u.account.positions[i].sym);
        break;
    case NX_BNU_TRADE_LITE:
        check_sym(t, &m->u.lite.sym);
        TERMINATED(m->u.lite.client_id);
        break;
    case NX_BNU_KEY_EXPIRED:
        TERMINATED(m->u.expired.listen_key);
        break;
    case NX_BNU_OTHER:
        TERMINATED(m->u.other.name);
        break;
    default:
        abort(); /* a decoded frame has a kind */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nx_symtab_t symtab;
    static int ready;
    if (!ready) {
        nx_symtab_init(&symtab);
        /* the symbols of the seed corpus (tests/data/samples) */
        nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "BTCUSDT", 2, 3, 10, 1, 0, NULL);
        nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "SOLUSDT", 2, 2, 1, 1, 0, NULL);
        nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "SEIUSDT", 4, 0, 1, 1, 0, NULL);
        nx_symtab_add(&symtab, NX_VENUE_BINANCE_USDM, "ACEUSDT", 4, 2, 1, 1, 0, NULL);
        ready = 1;
    }
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    nx_bnu_msg_t m;
    memset(&m, 0xa5, sizeof m); /* stale bytes must not pass for decoded ones */
    int rc = nx_bnu_frame_decode(buf, size, &symtab, &m);
    if (rc == 0)
        check(&symtab, &m);
    else
        CHECK(rc < 0 && m.err.key && m.err.what);
    free(buf);
    return 0;
}
