/* ticker.c — benchmark fixture: decides on every trade (BUY, stop 1% below,
 * target 2% above), so each tick becomes an order request. */
#include "nexus_plugin.h"

typedef struct ticker_state {
    const nexus_host_api_t *api;
    nexus_host_t *host;
} ticker_state_t;

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return sizeof(ticker_state_t);
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    ticker_state_t *s = p;
    (void)err;
    s->api = in->api;
    s->host = in->host;
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    (void)p, (void)v;
}

static void on_tick(void *p, const nexus_tick_t *t)
{
    ticker_state_t *s = p;
    nexus_signal_t g = {NEXUS_PLUGIN_ABI_VERSION, sizeof g, t->symbol, NEXUS_BUY, 0.9,
                        NEXUS_LEVEL_PRICE, NEXUS_LEVEL_PRICE, t->price * 0.99, t->price * 1.02,
                        "tick"};
    s->api->emit(s->host, &g);
}

static const nexus_plugin_t desc = {
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nexus_plugin_t),
    .name = "ticker",
    .version = "1.0.0",
    .timeframes = "1m",
    .state_size = state_size,
    .init = init,
    .on_candle = on_candle,
    .on_tick = on_tick,
};

NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
{
    return &desc;
}
