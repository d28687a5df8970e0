/* probe.c — test fixture: asks for every indicator kind and keeps the last
 * view's values, which its snapshot hands out, so a test can compare what a
 * plugin sees with the indicators computed directly. */
#include "nexus_plugin.h"

enum { NKINDS = 12 };

typedef struct probe_state {
    int32_t slot[NKINDS]; /* first slot of each kind, in the order asked */
    uint32_t n;           /* slots */
    uint64_t closed;
    double v[48];
} probe_state_t;

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return sizeof(probe_state_t);
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    probe_state_t *s = p;
    const nexus_host_api_t *a = in->api;
    nexus_host_t *h = in->host;
    static const double args[NKINDS][4] = {
        {NEXUS_IND_SMA, 20, 0, 0},      {NEXUS_IND_EMA, 20, 0, 0},    {NEXUS_IND_RSI, 14, 0, 0},
        {NEXUS_IND_ATR, 14, 0, 0},      {NEXUS_IND_ADX, 14, 0, 0},    {NEXUS_IND_BBANDS, 20, 2, 0},
        {NEXUS_IND_MACD, 12, 26, 9},    {NEXUS_IND_STOCH, 14, 3, 3},  {NEXUS_IND_OBV, 0, 0, 0},
        {NEXUS_IND_VOLUME_SMA, 20, 0, 0}, {NEXUS_IND_HIGHEST, 20, 0, 0}, {NEXUS_IND_LOWEST, 20, 0, 0},
    };
    for (int i = 0; i < NKINDS; i++) {
        s->slot[i] = a->indicator(h, (int)args[i][0], args[i][1], args[i][2], args[i][3]);
        if (s->slot[i] < 0) {
            *err = "an indicator was refused";
            return -1;
        }
    }
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    probe_state_t *s = p;
    s->n = v->n_ind;
    s->closed = v->closed;
    for (uint32_t i = 0; i < v->n_ind && i < 48; i++)
        s->v[i] = v->ind[i];
}

static size_t snapshot(const void *p, void *buf, size_t cap)
{
    if (cap < sizeof(probe_state_t))
        return 0;
    __builtin_memcpy(buf, p, sizeof(probe_state_t));
    return sizeof(probe_state_t);
}

static int restore(void *p, const void *buf, size_t len)
{
    (void)p, (void)buf;
    return len == sizeof(probe_state_t) ? 0 : -1;
}

static const nexus_plugin_t desc = {
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nexus_plugin_t),
    .name = "probe",
    .version = "1.0.0",
    .timeframes = "15m",
    .state_size = state_size,
    .init = init,
    .on_candle = on_candle,
    .snapshot = snapshot,
    .restore = restore,
};

NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
{
    return &desc;
}
