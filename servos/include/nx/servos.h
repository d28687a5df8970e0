/*
 * servos.h — everything off the hot path: durable storage (PostgreSQL via
 * libpq, or embedded SQLite), sealed user sessions (libsodium), users and
 * roles, the scheduler, the chat bot, the dashboard and metrics.
 *
 * Public interface (service thread): the storage writer drains the journal
 * ring in batches and never makes the hot path wait; on start it loads
 * sessions, positions, open orders, locks and pending approvals for
 * recovery.
 */
#ifndef NX_SERVOS_H
#define NX_SERVOS_H

#include <stdint.h>

#include "nx/event.h"

typedef enum nx_role {
    NX_ROLE_PENDING = 0,
    NX_ROLE_SUBSCRIBER,
    NX_ROLE_ADMIN,
    NX_ROLE_OWNER,
    NX_ROLE_BANNED,
} nx_role_t;

#endif /* NX_SERVOS_H */
