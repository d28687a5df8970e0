/*
 * tsc.h — the benchmarks' clock: the TSC on x86-64 (about 8 ns to read,
 * constant rate), calibrated against CLOCK_MONOTONIC once per run;
 * clock_gettime elsewhere.
 */
#ifndef NX_BENCH_TSC_H
#define NX_BENCH_TSC_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "nx/clock.h"

static double ns_per_tick = 1.0;

static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#else
    return (uint64_t)nx_mono_ns();
#endif
}

/* Measure ns per tick over 200 ms. */
static inline void calibrate(void)
{
#if defined(__x86_64__)
    int64_t t0 = nx_mono_ns();
    uint64_t c0 = ticks();
    struct timespec ts = {0, 200000000};
    nanosleep(&ts, NULL);
    ns_per_tick = (double)(nx_mono_ns() - t0) / (double)(ticks() - c0);
#endif
}

#endif
