/*
 * money_oracle.h — the auditor's view of a session's money, shared by the
 * order-manager and desk tests: a balance recomputed from nothing but the
 * journal's fills and the fee schedule, independently of the order
 * manager's and the venue's own bookkeeping. Header-only.
 */
#ifndef NX_MONEY_ORACLE_H
#define NX_MONEY_ORACLE_H

#include <stdint.h>

#include "nx/event.h"

typedef struct mo_fill {
    uint64_t fill_id;
    uint32_t session, symbol;
    uint8_t side;
    int64_t px, qty, fee; /* fee: what the venue charged (checked, not used) */
    uint8_t maker;
} mo_fill_t;

/* The fee schedule: a fill pays its notional (px x qty / qty_div) times
 * the taker or maker rate in basis points, rounded up to the smallest
 * price unit (never less than the exact amount). */
typedef struct mo_fees {
    uint32_t taker_bp, maker_bp;
} mo_fees_t;

static inline int64_t mo_fee(const mo_fill_t *f, int64_t qty_div, mo_fees_t fees)
{
    __int128 num = (__int128)f->px * f->qty * (f->maker ? fees.maker_bp : fees.taker_bp);
    __int128 den = (__int128)qty_div * 10000;
    return (int64_t)(num / den + (num % den != 0));
}

/* Positions are followed fill by fill per symbol; each time one returns to
 * flat, its cash flow (sells - buys, price x qty) / qty_div, floor, minus
 * its fees by the schedule, is added to `initial`. A fill the venue sent
 * twice (same id) counts once. *fee_mismatches (if given) counts fills
 * whose charged fee is not the schedule's. */
static inline int64_t mo_balance(const mo_fill_t *fills, int n, uint32_t session, uint32_t nsym,
                                 int64_t qty_div, int64_t initial, mo_fees_t schedule,
                                 int *fee_mismatches)
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
            int64_t fee = mo_fee(f, qty_div, schedule);
            if (fee_mismatches && fee != f->fee)
                (*fee_mismatches)++;
            fees += fee;
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
