/*
 * desk_fixture.h — a desk with the sessions of a config, as the engine
 * makes it: nx_desk_create, then each session added under its id. The
 * engine's ids are the rows of the sessions table; here session i of the
 * config gets id i + 1, standing for them.
 */
#ifndef NX_DESK_FIXTURE_H
#define NX_DESK_FIXTURE_H

#include "nx/config.h"
#include "nx/desk.h"

static inline int fx_desk_create(nx_desk_t **d, const nx_config_t *c, const nx_symtab_t *t,
                                 nx_journal_cb journal, void *ctx)
{
    int rc = nx_desk_create(d, c, t, journal, ctx);
    for (uint32_t i = 0; !rc && i < c->trading.n_sessions; i++)
        rc = nx_desk_add_session(*d, i + 1, &c->trading.sessions[i], 0);
    return rc;
}

#endif
