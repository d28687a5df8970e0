/*
 * shield.h — per-user risk between a signal and an order.
 *
 * Public interface (pure and deterministic: no I/O, no allocation, time is
 * a parameter): for each user session subscribed to a signal's symbol the
 * shield decides approve, resize or reject, with a reason code that reaches
 * the user. It owns sizing, leverage bounds (1..20x), exposure and loss
 * limits, the circuit breaker, ATR-scaled cooldowns, protections (locks),
 * the kill switch, and the WATCHER / COPILOT / PILOT modes.
 */
#ifndef NX_SHIELD_H
#define NX_SHIELD_H

#include <stdint.h>

#include "nx/event.h"

typedef enum nx_mode {
    NX_MODE_WATCHER = 0, /* signals become notifications only */
    NX_MODE_COPILOT = 1, /* each trade needs the user's approval */
    NX_MODE_PILOT = 2,   /* autonomous */
} nx_mode_t;

/* Why a signal did not become an order (the table only grows at the end). */
typedef enum nx_reject {
    NX_REJ_NONE = 0,
    NX_REJ_KILL_SWITCH,
    NX_REJ_BREAKER,
    NX_REJ_COOLDOWN,
    NX_REJ_LOCKED,
    NX_REJ_MAX_POSITIONS,
    NX_REJ_EXPOSURE,
    NX_REJ_DAILY_LOSS,
    NX_REJ_WEEKLY_LOSS,
    NX_REJ_DRAWDOWN,
    NX_REJ_STALE_DATA,
    NX_REJ_MIN_NOTIONAL,
    NX_REJ_PAUSED,
    NX_REJ_WATCHER,
} nx_reject_t;

#endif /* NX_SHIELD_H */
