/*
 * desk.h — the trading desk: where a strategy's signal meets each user
 * session's shield and becomes orders on the paper venue (engine thread).
 */
#ifndef NX_DESK_H
#define NX_DESK_H

#include "nx/config.h"
#include "nx/event.h"
#include "nx/symtab.h"

typedef struct nx_desk nx_desk_t;

typedef void (*nx_journal_cb)(void *ctx, const nx_event_t *ev);

/* Sessions, shields, the paper venue and the order manager from the
 * config (start-up; allocates). NULL desk (and 0) when no session is
 * configured. Returns 0 or NX_EINVAL/NX_ENOMEM with the reason logged. */
int nx_desk_create(nx_desk_t **out, const nx_config_t *cfg, const nx_symtab_t *symtab,
                   nx_journal_cb journal, void *ctx);
/* A market event, before the cortex sees it: fills, stops, trailing, marks. */
void nx_desk_on_market(nx_desk_t *d, const nx_event_t *ev);
/* A strategy signal: every session trading the symbol decides and acts. */
void nx_desk_on_signal(nx_desk_t *d, const nx_event_t *sig);
/* One summary line per session (trades, win rate, P&L, max drawdown). */
void nx_desk_summary(const nx_desk_t *d);
void nx_desk_destroy(nx_desk_t *d);

#endif
