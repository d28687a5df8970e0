/*
 * signal.h — what every built-in strategy does the same way: fill and emit a
 * nexus_signal_t, and check that indicator slots hold values. Header-only,
 * built into each plugin; uses nothing but the plugin ABI.
 */
#ifndef NEXUS_BUILTIN_SIGNAL_H
#define NEXUS_BUILTIN_SIGNAL_H

#include "nexus_plugin.h"

/* The host API and handle a built-in keeps in its state. */
typedef struct plug_host {
    const nexus_host_api_t *api;
    nexus_host_t *host;
} plug_host_t;

static inline double plug_param(const plug_host_t *h, const char *key, double def)
{
    return h->api->param_f64(h->host, key, def);
}

static inline int plug_ind(const plug_host_t *h, int kind, double p1, double p2, double p3)
{
    return h->api->indicator(h->host, kind, p1, p2, p3);
}

static inline int plug_ok(double x)
{
    return x == x; /* not NaN: the host sends NaN inside an indicator's lookback */
}

static inline int plug_emit(const plug_host_t *h, uint32_t symbol, int side, double confidence,
                            int sl_kind, double sl, int tp_kind, double tp, const char *reason)
{
    nexus_signal_t s = {NEXUS_PLUGIN_ABI_VERSION,
                        sizeof s,
                        symbol,
                        side,
                        confidence,
                        sl_kind,
                        tp_kind,
                        sl,
                        tp,
                        {0}};
    for (unsigned i = 0; reason[i] && i < sizeof s.reason - 1; i++)
        s.reason[i] = reason[i];
    return h->api->emit(h->host, &s);
}

static inline double plug_clamp01(double x)
{
    return x < 0 ? 0 : x > 1 ? 1 : x;
}

/* Shared snapshot format of the built-ins: a magic word, the per-series
 * record size and count, then the records. A restore accepts only the same
 * layout, so a version that changed its state refuses (and the host keeps
 * the running version) instead of misreading it. */
typedef struct plug_snap_hdr {
    uint32_t magic, rec_size, n;
} plug_snap_hdr_t;

static inline size_t plug_snapshot(uint32_t magic, const void *recs, uint32_t rec_size, uint32_t n,
                                   void *buf, size_t cap)
{
    plug_snap_hdr_t h = {magic, rec_size, n};
    size_t need = sizeof h + (size_t)rec_size * n;
    if (need > cap)
        return 0;
    __builtin_memcpy(buf, &h, sizeof h);
    __builtin_memcpy((char *)buf + sizeof h, recs, (size_t)rec_size * n);
    return need;
}

static inline int plug_restore(uint32_t magic, void *recs, uint32_t rec_size, uint32_t n,
                               const void *buf, size_t len)
{
    plug_snap_hdr_t h;
    if (len < sizeof h)
        return -1;
    __builtin_memcpy(&h, buf, sizeof h);
    if (h.magic != magic || h.rec_size != rec_size || h.n != n ||
        len != sizeof h + (size_t)rec_size * n)
        return -1;
    __builtin_memcpy(recs, (const char *)buf + sizeof h, (size_t)rec_size * n);
    return 0;
}

/* Every built-in keeps `state_t { plug_host_t h; ...; uint32_t n; rec_t r[]; }`:
 * one record per series. This defines its state_size, snapshot, restore, and
 * state_bind (the start of every init: host handle and series count). */
#define PLUG_SERIES_STATE(MAGIC)                                                                   \
    static state_t *state_bind(void *p, const nexus_init_t *in)                                    \
    {                                                                                              \
        state_t *s = p;                                                                            \
        s->h.api = in->api;                                                                        \
        s->h.host = in->host;                                                                      \
        s->n = in->n_series;                                                                       \
        return s;                                                                                  \
    }                                                                                              \
    static size_t state_size(const nexus_init_t *in)                                               \
    {                                                                                              \
        return sizeof(state_t) + in->n_series * sizeof(rec_t);                                     \
    }                                                                                              \
    static size_t snapshot(const void *p, void *buf, size_t cap)                                   \
    {                                                                                              \
        const state_t *s = p;                                                                      \
        return plug_snapshot(MAGIC, s->r, sizeof(rec_t), s->n, buf, cap);                          \
    }                                                                                              \
    static int restore(void *p, const void *buf, size_t len)                                       \
    {                                                                                              \
        state_t *s = p;                                                                            \
        return plug_restore(MAGIC, s->r, sizeof(rec_t), s->n, buf, len);                           \
    }

/* A built-in's descriptor (its init and on_candle, and the functions of
 * PLUG_SERIES_STATE) and the one exported symbol that returns it. */
#define PLUG_BUILTIN(NAME, VERSION, TIMEFRAMES)                                                    \
    static const nexus_plugin_t desc = {                                                           \
        .abi_version = NEXUS_PLUGIN_ABI_VERSION,                                                   \
        .struct_size = sizeof(nexus_plugin_t),                                                     \
        .name = NAME,                                                                              \
        .version = VERSION,                                                                        \
        .timeframes = TIMEFRAMES,                                                                  \
        .state_size = state_size,                                                                  \
        .init = init,                                                                              \
        .on_candle = on_candle,                                                                    \
        .snapshot = snapshot,                                                                      \
        .restore = restore,                                                                        \
    };                                                                                             \
    NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);                            \
    const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)                                                 \
    {                                                                                              \
        return &desc;                                                                              \
    }

#endif /* NEXUS_BUILTIN_SIGNAL_H */
