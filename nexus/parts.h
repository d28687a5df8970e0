/*
 * parts.h — the engine's trading parts made from a config, shared by
 * `nexus run` (engine_boot.c) and `nexus backtest` (backtest.c), so both run
 * the same cortex, strategies, regime routing and bad-tick filter
 * (private to nexus/).
 */
#ifndef NX_PARTS_H
#define NX_PARTS_H

#include <stdint.h>

#include "nx/config.h"
#include "nx/cortex.h"
#include "nx/desk.h"
#include "nx/tickguard.h"

/* The cortex with every configured strategy loaded (Sentinel always) and
 * routing by regime when cortex.regime is on. A plugin that is refused is
 * logged with its file and reason and the others run; a regime model that
 * does not load fails unless its on_error is "rules". Start-up: allocates. */
int nx_parts_cortex(const nx_config_t *c, const nx_symtab_t *symtab, nx_signal_cb on_signal,
                    nx_signal_cb on_candle, void *ctx, int market_read, nx_cortex_t **out);

/* The strategies a session follows, as the desk's mask: 0 = all; Sentinel's
 * protective exits always. */
uint64_t nx_parts_follow_mask(nx_cortex_t *cx, const nx_config_session_t *x);

/* The US stock market's days for the desk (nx_desk_set_market_days) when
 * the config lists US stocks (a symbol on alpaca): New York days from 2015
 * to 2035, from the scheduler's NYSE calendar, so the engine thread never
 * reads the zone file. Allocated (free it after the desk); NULL with *n 0
 * when no symbol needs it, or when the zone database lacks New York (then
 * logged: the desk refuses US-stock entries as the market closed). */
nx_desk_market_day_t *nx_parts_market_days(const nx_config_t *c, uint32_t *n);

/* The bad-tick filter's options from the config's market section. */
void nx_parts_guard_opts(const nx_config_t *c, nx_tickguard_opts_t *o);

#endif /* NX_PARTS_H */
