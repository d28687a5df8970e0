/* emitter.c — test fixture: on every closed 15m candle, an entry (buy) and
 * an exit (exit long) for the candle's symbol, so a test sees which of
 * them the host lets through (routing by regime). */
#include "nexus_plugin.h"

typedef struct emitter_state {
    const nexus_host_api_t *api;
    nexus_host_t *host;
} emitter_state_t;

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return sizeof(emitter_state_t);
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    emitter_state_t *s = p;
    (void)err;
    s->api = in->api;
    s->host = in->host;
    return 0;
}

static void emit(emitter_state_t *s, uint32_t symbol, int32_t side, const char *why)
{
    nexus_signal_t g;
    __builtin_memset(&g, 0, sizeof g);
    g.abi_version = NEXUS_PLUGIN_ABI_VERSION;
    g.struct_size = sizeof g;
    g.symbol = symbol;
    g.side = side;
    g.confidence = 0.5;
    g.sl_kind = NEXUS_LEVEL_NONE;
    g.tp_kind = NEXUS_LEVEL_NONE;
    for (int i = 0; why[i] && i < 23; i++)
        g.reason[i] = why[i];
    s->api->emit(s->host, &g);
}

static void on_candle(void *p, const nexus_view_t *v)
{
    emitter_state_t *s = p;
    emit(s, v->symbol, NEXUS_BUY, "entry");
    emit(s, v->symbol, NEXUS_EXIT_LONG, "exit");
}

static const nexus_plugin_t desc = {
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nexus_plugin_t),
#ifdef EMITTER_SENTINEL
    .name = "sentinel", /* a plugin the cortex knows as Sentinel's */
#else
    .name = "emitter",
#endif
    .version = "1.0.0",
    .timeframes = "15m",
    .state_size = state_size,
    .init = init,
    .on_candle = on_candle,
};

NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
{
    return &desc;
}
