/*
 * money_oracle.h — the auditor's view of a session's money, shared by the
 * order-manager and desk tests: a balance recomputed from nothing but the
 * journal's fills, independently of the order manager's own bookkeeping.
 * Header-only.
 */
#ifndef NX_MONEY_ORACLE_H
#define NX_MONEY_ORACLE_H

#include <stdint.h>

#include "nx/event.h"

typedef struct mo_fill {
    uint64_t fill_id;
    uint32_t session, symbol;
    uint8_t side;
    int64_t px, qty, fee;
} mo_fill_t;

/* Positions are followed fill by fill per symbol; each time one returns to
 * flat, its cash flow (sells - buys, price x qty) / qty_div, floor, minus
 * its fees, is added to `initial`. A fill the venue sent twice (same id)
 * counts once. */
static inline int64_t mo_balance(const mo_fill_t *fills, int n, uint32_t session, uint32_t nsym,
                                 int64_t qty_div, int64_t initial)
{
    int64_t bal = initial;
    for (uint32_t sym = 0; sym < nsym; sym++) {
        __int128 cash = 0;
        int64_t qty = 0, fees = 0;
        for (int i = 0; i < n; i++) {
            const mo_fill_t *f = &fills[i];
            if (f->session != session || f->symbol != sym)
                continue;
            int dup = 0;
            for (int k = 0; k < i && !dup; k++)
                dup = fills[k].fill_id == f->fill_id && fills[k].session == session;
            if (dup)
                continue;
            __int128 v = (__int128)f->px * f->qty;
            cash += f->side == NX_SIDE_SELL ? v : -v;
            qty += f->side == NX_SIDE_BUY ? f->qty : -f->qty;
            fees += f->fee;
            if (qty == 0) {
                __int128 q = cash / qty_div;
                if (cash % qty_div != 0 && cash < 0)
                    q--;
                bal += (int64_t)q - fees;
                cash = 0;
                fees = 0;
            }
        }
    }
    return bal;
}

#endif
