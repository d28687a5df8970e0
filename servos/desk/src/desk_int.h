/*
 * desk_int.h — the desk's insides, shared by desk.c (trading),
 * desk_save.c (saving it) and desk_recovery.c (opening it again).
 * Private to servos/desk.
 */
#ifndef NX_DESK_INT_H
#define NX_DESK_INT_H

#include "nx/desk.h"
#include "nx/pxband.h"
#include "nx/desk_state.h"
#include "nx/oms.h"
#include "nx/shield.h"

typedef struct desk_session {
    char name[32];  /* a label for people */
    uint32_t id;    /* the session's id in storage (client order ids carry it) */
    int64_t user;   /* the Nexus user it belongs to */
    uint64_t follow; /* strategy ids whose signals it takes (bit i = id i); 0 = all */
    nx_risk_conf_t conf;
    nx_risk_state_t risk;
    uint8_t trades[NX_SHIELD_MAX_SYMBOLS];
    uint32_t trail_bp;
    int64_t time_limit_ns;
    int64_t start_equity, peak, max_dd_bp;
    uint64_t notifications, approvals, orders, by_reason[NX_REJ_COUNT];
    uint64_t approved, declined, expired;
    uint64_t exits_by[16];
    nx_bridge_t *live; /* the live venue it trades on (nx_desk_set_venue); NULL = paper */
    int64_t unprotected[NX_SHIELD_MAX_SYMBOLS]; /* a venue position it does not hold, to be
                                                   given a stop at the next price (0 = none) */
    int64_t adopt_px[NX_SHIELD_MAX_SYMBOLS]; /* with it: the venue's entry price, to adopt it
                                                 at the next price (nx_desk_set_foreign) */
    uint8_t held; /* paused by recovery until a person resumes it */
    int32_t pdt_told; /* the trading day the person was last told of the PDT rule */
    uint8_t restored; /* recovery: 0 no saved state, 1 restored, 2 present but unusable */
    int64_t saved_seq; /* recovery: the journal sequence of its saved state */
} desk_session_t;

#define DESK_MAX_PENDING 256

/* A COPILOT approval request waiting for its person. */
typedef struct pending {
    uint32_t id; /* 0 = free slot */
    uint32_t session, symbol;
    uint8_t venue;
    nx_decision_t asked;
    nx_ev_signal_t signal;
    int64_t asked_ns, expires_ns;
} pending_t;

/* The bridge the order manager sends through: each order goes to its
 * session's venue, the paper venue or a live adapter (desk.c). */
typedef struct desk_router {
    nx_bridge_t base; /* first: the bridge handle */
    struct nx_desk *d;
} desk_router_t;

/* A perpetual's funding as its mark events give it (desk.c funding()). */
typedef struct desk_funding {
    int64_t next_ms;    /* the next settlement time the venue gave, 0 = none known */
    int64_t rate_e8;    /* the rate that applies there (INT64_MIN = not known) */
    int64_t settled_ms; /* the last settlement paid */
} desk_funding_t;

struct nx_desk {
    const nx_symtab_t *symtab;
    uint32_t nsym;
    nx_bridge_t *venue; /* the paper venue */
    desk_router_t router;
    nx_oms_t *oms;
    nx_journal_cb journal;
    void *ctx;
    int64_t last_px[NX_SHIELD_MAX_SYMBOLS], last_ns[NX_SHIELD_MAX_SYMBOLS];
    int64_t last_atr[NX_SHIELD_MAX_SYMBOLS]; /* from the latest signal, for cooldowns */
    nx_pxband_t band[NX_SHIELD_MAX_SYMBOLS];  /* sanity band: last accepted price per symbol */
    /* a perpetual's funding from its mark events: the settlement time and
     * the rate that applies there, and the last settlement paid */
    desk_funding_t fund[NX_SHIELD_MAX_SYMBOLS];
    uint32_t sanity_bp;
    uint64_t sentinel; /* strategy ids that are Sentinel (nx_desk_set_sentinel) */
    int storage_down;  /* nx_desk_set_storage_down: entries refused */
    int no_saves;      /* nx_desk_set_saving(d, 0): no state is journaled */
    int adopt_foreign; /* nx_desk_set_foreign: adopt venue positions instead of holding */
    const nx_desk_market_day_t *days; /* nx_desk_set_market_days: the US market's days */
    uint32_t ndays;
    uint64_t insane; /* market prices and signals refused as outside the band */
    uint32_t n_unprotected; /* venue positions waiting for a price to get a stop */
    int64_t now;
    /* The engine's clock (nx_desk_on_market: heartbeats and every event's
     * receive time), which a person's time runs on: approval requests
     * expire by it and the stale-data guard measures a symbol's silence by
     * it, so both work while a feed is silent; a replay's market time,
     * hours per second, is not a person's. Without receive times (a test
     * feeding the desk directly) it is the events' own time. */
    int64_t clock_ns;
    int64_t last_rx[NX_SHIELD_MAX_SYMBOLS]; /* clock_ns at each symbol's last accepted price */
    int global_kill;
    uint32_t n;
    uint32_t n_pending, next_request;
    uint64_t n_trades;
    nx_trade_closed_t *trades; /* [NX_DESK_TRADES], ring */
    int64_t next_expiry; /* earliest expires_ns of the pending requests */
    desk_session_t s[NX_CONFIG_MAX_SESSIONS];
    pending_t pending[DESK_MAX_PENDING];
    struct {
        uint32_t id, session;
        uint8_t reason; /* nx_reject_t; NONE = approved and executed */
    } done[DESK_MAX_PENDING]; /* the latest outcomes, by id modulo the size */
    /* saving: sessions whose state changed in this step (bit i = session
     * i+1), the desk's own (global kill); the text being built */
    uint64_t dirty;
    int dirty_global;
    char *save;               /* [NX_STATE_TEXT_MAX]: the text being built */
    nx_state_session_t *snap; /* the session being saved, as the codec's struct */
    uint64_t saves, save_failures;
};

/* A session by its id: a handful of sessions, so a scan of the slots in
 * use beats any index (and needs none to be kept up to date). */
static inline desk_session_t *desk_session(nx_desk_t *d, uint32_t id)
{
    for (uint32_t i = 0; id && i < d->n; i++)
        if (d->s[i].id == id)
            return &d->s[i];
    return NULL;
}

/* Save the session's state at the end of this step (bit i = slot i). */
static inline void desk_dirty(nx_desk_t *d, uint32_t session)
{
    const desk_session_t *s = desk_session(d, session);
    if (s)
        d->dirty |= 1ULL << (s - d->s);
}

static inline uint64_t desk_every_session(const nx_desk_t *d)
{
    return d->n < 64 ? (1ULL << d->n) - 1 : ~0ULL;
}

/* The shield learns a session's position on a symbol from the order
 * manager (after a fill, and after a restore). */
void desk_sync_position(nx_desk_t *d, desk_session_t *s, uint32_t sym);

/* Journal the state of every session marked dirty (desk_save.c). */
void desk_save_dirty(nx_desk_t *d);

#endif


