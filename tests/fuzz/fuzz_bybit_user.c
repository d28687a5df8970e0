/*
 * fuzz_bybit_user — libFuzzer target for the Bybit V5 private-stream
 * decoder (nx/bybit_user.h). Any byte string must decode or be refused
 * cleanly: no crash, no read outside the frame (copied to an exact-size
 * heap buffer for ASan), a refusal names its key and fault; a decoded
 * frame has a kind, its records are taken until the end or a refusal, and
 * every record keeps its promises (NUL-terminated strings, known
 * enumerations where Nexus acts on them, scales that are the symbol's).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/bybit_user.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nx_symtab_t symtab;
    static int ready;
    if (!ready) {
        nx_symtab_init(&symtab);
        nx_symtab_add(&symtab, NX_VENUE_BYBIT_LINEAR, "BTCUSDT", 2, 3, 1, 1, 0, NULL);
        nx_symtab_add(&symtab, NX_VENUE_BYBIT_SPOT, "ETHUSDT", 2, 4, 1, 1, 0, NULL);
        ready = 1;
    }
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    nx_bbu_msg_t m;
    memset(&m, 0xa5, sizeof m); /* stale bytes must not pass for decoded ones */
    int rc = nx_bbu_frame_decode(buf, size, &symtab, &m);
    if (rc) {
        CHECK(rc < 0 && m.err.key && m.err.what);
        free(buf);
        return 0;
    }
    CHECK(m.kind >= NX_BBU_ORDER && m.kind <= NX_BBU_OTHER);
    TERMINATED(m.topic);
    if (m.kind == NX_BBU_CONTROL) {
        TERMINATED(m.u.ctl.op);
        TERMINATED(m.u.ctl.ret_msg);
        TERMINATED(m.u.ctl.req_id);
    } else if (m.kind == NX_BBU_REPLY) {
        TERMINATED(m.u.reply.op);
        TERMINATED(m.u.reply.req_id);
        TERMINATED(m.u.reply.order_id);
        TERMINATED(m.u.reply.link_id);
    }
    nx_bbu_record_t r;
    for (int n = 0; n < 100000 && (rc = nx_bbu_next(&m, &r)) == 1; n++) {
        switch (m.kind) {
        case NX_BBU_ORDER:
            check_sym(&symtab, &r.order.sym);
            TERMINATED(r.order.order_id);
            TERMINATED(r.order.link_id);
            TERMINATED(r.order.cancel_type);
            CHECK(r.order.status >= NX_BBU_S_NEW &&
                  r.order.status <= NX_BBU_S_PARTIALLY_FILLED_CANCELED);
            CHECK(r.order.nx_status >= NX_OS_ACKED && r.order.nx_status <= NX_OS_EXPIRED);
            CHECK(r.order.side == NX_SIDE_BUY || r.order.side == NX_SIDE_SELL);
            break;
        case NX_BBU_EXECUTION:
            check_sym(&symtab, &r.exec.sym);
            TERMINATED(r.exec.exec_id);
            CHECK(r.exec.exec_type >= NX_BBU_X_TRADE && r.exec.exec_type <= NX_BBU_X_MOVE_POSITION);
            break;
        case NX_BBU_POSITION:
            check_sym(&symtab, &r.position.sym);
            TERMINATED(r.position.status);
            break;
        case NX_BBU_WALLET:
            CHECK(r.wallet.ncoins <= NX_BBU_COINS_MAX);
            TERMINATED(r.wallet.account_type);
            for (unsigned i = 0; i < r.wallet.ncoins; i++)
                TERMINATED(r.wallet.coins[i].coin);
            break;
        default:
            abort(); /* only topic kinds have records */
        }
    }
    CHECK(rc == 0 || (rc < 0 && m.err.key && m.err.what));
    free(buf);
    return 0;
}
