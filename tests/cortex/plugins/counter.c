/*
 * counter.c — test fixture: counts every tick and checks that sequence
 * numbers arrive exactly once and in order, across hot swaps. Built several
 * ways (tests/CMakeLists.txt):
 *   counter_v1.so, counter_v2.so   COUNTER_VERSION 1 / 2
 *   nocandle.so                    NO_ON_CANDLE: descriptor lacks on_candle
 *   badrestore.so                  BAD_RESTORE: refuses any state
 *   badabi.so                      BAD_ABI: claims plugin ABI 2.0
 *   failinit.so                    FAIL_INIT: init fails with a reason
 *   noentry.so                     NO_ENTRY: exports no entry symbol
 */
#include "nexus_plugin.h"

#ifndef COUNTER_VERSION
#define COUNTER_VERSION 1
#endif
#define STR_(x) #x
#define STR(x)  STR_(x)

typedef struct counter_state {
    uint64_t ticks, candles, last_seq, gaps, dups;
    uint64_t restores; /* hand-overs received */
    uint64_t version;  /* version that wrote the state last */
} counter_state_t;

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return sizeof(counter_state_t);
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    (void)in;
#ifdef FAIL_INIT
    (void)p;
    *err = "needs a licence key that is not configured";
    return -1;
#else
    (void)err;
    ((counter_state_t *)p)->version = COUNTER_VERSION;
    return 0;
#endif
}

__attribute__((unused)) static void on_candle(void *p, const nexus_view_t *v)
{
    (void)v;
    ((counter_state_t *)p)->candles++;
}

static void on_tick(void *p, const nexus_tick_t *t)
{
    counter_state_t *s = p;
    if (s->last_seq && t->seq <= s->last_seq)
        s->dups++;
    else if (s->last_seq && t->seq != s->last_seq + 1)
        s->gaps++;
    s->last_seq = t->seq;
    s->ticks++;
}

static size_t snapshot(const void *p, void *buf, size_t cap)
{
    if (cap < sizeof(counter_state_t))
        return 0;
    __builtin_memcpy(buf, p, sizeof(counter_state_t));
    return sizeof(counter_state_t);
}

static int restore(void *p, const void *buf, size_t len)
{
#ifdef BAD_RESTORE
    (void)p, (void)buf, (void)len;
    return -1;
#else
    if (len != sizeof(counter_state_t))
        return -1;
    counter_state_t *s = p;
    __builtin_memcpy(s, buf, len);
    s->restores++;
    s->version = COUNTER_VERSION;
    return 0;
#endif
}

static const nexus_plugin_t desc = {
#ifdef BAD_ABI
    .abi_version = (2u << 16) | 0,
#else
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
#endif
    .struct_size = sizeof(nexus_plugin_t),
    .name = "counter",
    .version = STR(COUNTER_VERSION) ".0.0",
    .timeframes = "1m",
    .state_size = state_size,
    .init = init,
#ifndef NO_ON_CANDLE
    .on_candle = on_candle,
#endif
    .on_tick = on_tick,
    .snapshot = snapshot,
    .restore = restore,
};

#ifdef NO_ENTRY
NEXUS_PLUGIN_EXPORT const nexus_plugin_t *not_the_entry(void);
const nexus_plugin_t *not_the_entry(void)
#else
NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
#endif
{
    return &desc;
}
