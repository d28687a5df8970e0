/*
 * journal_mix.h — an engine's journal, as the storage tests and bench_store
 * write it: per 20 entries 12 closed candles, 4 shield decisions, 2
 * signals, 1 order intent and its fill (the last three also make signals,
 * orders and fills rows). Header-only.
 */
#ifndef NX_JOURNAL_MIX_H
#define NX_JOURNAL_MIX_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nx/event.h"

/* Entry i of the mix; run (0..127) keeps client ids of separate runs apart. */
static inline void jm_entry(nx_event_t *e, uint64_t i, uint64_t run)
{
    memset(e, 0, sizeof *e);
    e->hdr.exch_ns = 1621382400000000000LL + (int64_t)i * 1000000;
    uint64_t clid = (1ULL << 40) | ((run & 127) << 32) | (i & 0xffffffffULL);
    switch (i % 20) {
    case 0:
    case 1:
        e->hdr.type = NX_EV_SIGNAL;
        e->u.signal.side = NX_SIG_BUY;
        e->u.signal.confidence = 0.75;
        e->u.signal.ref_price = 3554719;
        snprintf(e->u.signal.reason, sizeof e->u.signal.reason, "ema_cross_up");
        break;
    case 2:
        e->hdr.type = NX_EV_ORDER_INTENT;
        e->u.intent.client_id = clid;
        e->u.intent.session = 1;
        e->u.intent.side = NX_SIDE_BUY;
        e->u.intent.qty = 1000;
        e->u.intent.order_type = NX_ORD_MARKET;
        break;
    case 3:
        e->hdr.type = NX_EV_ORDER_UPDATE;
        e->u.order.client_id = clid - 1;
        e->u.order.session = 1;
        e->u.order.status = NX_OS_FILLED;
        e->u.order.side = NX_SIDE_BUY;
        e->u.order.fill_id = clid;
        e->u.order.last_px = 3554720;
        e->u.order.last_qty = 1000;
        e->u.order.fee = 14;
        break;
    case 4:
    case 5:
    case 6:
    case 7:
        e->hdr.type = NX_EV_DECISION;
        e->u.decision.session = (uint32_t)(i % 3 + 1);
        e->u.decision.verdict = 0;
        e->u.decision.reason = 3;
        e->u.decision.price = 3554719;
        break;
    default:
        e->hdr.type = NX_EV_KLINE;
        e->u.kline.open_ms = 1621382400000LL + (int64_t)i * 60000;
        e->u.kline.interval_s = 60;
        e->u.kline.open = 3554000;
        e->u.kline.high = 3556000;
        e->u.kline.low = 3553000;
        e->u.kline.close = 3554719;
        e->u.kline.volume = 123456789;
        e->u.kline.closed = 1;
    }
}

#endif
