/* nop.c — test and benchmark fixture: a plugin that asks for one indicator
 * and does nothing with it, to measure the host's call overhead. */
#include "nexus_plugin.h"

typedef struct nop_state {
    uint64_t calls;
    double sink;
    int slot;
} nop_state_t;

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return sizeof(nop_state_t);
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    nop_state_t *s = p;
    (void)err;
    s->slot = in->api->indicator(in->host, NEXUS_IND_EMA, 20, 0, 0);
    return s->slot < 0 ? -1 : 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    nop_state_t *s = p;
    s->calls++;
    s->sink += v->ind[s->slot];
}

static const nexus_plugin_t desc = {
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nexus_plugin_t),
    .name = "nop",
    .version = "1.0.0",
    .timeframes = "1m",
    .state_size = state_size,
    .init = init,
    .on_candle = on_candle,
};

NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
{
    return &desc;
}
