/*
 * clock.c — live and simulated clocks (see clock.h).
 */
#include "nx/clock.h"

void nx_clock_init_live(nx_clock_t *c)
{
    c->kind = NX_CLOCK_LIVE;
    atomic_store_explicit(&c->sim_ns, 0, memory_order_relaxed);
}

void nx_clock_init_sim(nx_clock_t *c, int64_t start_ns)
{
    c->kind = NX_CLOCK_SIM;
    atomic_store_explicit(&c->sim_ns, start_ns, memory_order_relaxed);
}

int64_t nx_clock_advance(nx_clock_t *c, int64_t t_ns)
{
    int64_t cur = atomic_load_explicit(&c->sim_ns, memory_order_relaxed);
    if (t_ns > cur) {
        atomic_store_explicit(&c->sim_ns, t_ns, memory_order_relaxed);
        return t_ns;
    }
    return cur;
}
