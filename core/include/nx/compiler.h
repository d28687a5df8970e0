/*
 * compiler.h — the few compiler facts the rest of Nexus leans on.
 *
 * Cache-line size, branch hints, and the two assert flavours. NX_ASSERT is
 * always on: it guards invariants whose breach could send a wrong order, so
 * it logs file and line and aborts even in release builds. NX_DEBUG_ASSERT is
 * for checks too expensive for the hot path and compiles away under NDEBUG.
 */
#ifndef NX_COMPILER_H
#define NX_COMPILER_H

#include <stddef.h>

/* x86-64 and most aarch64 parts use 64-byte lines; adjacent-line prefetch on
 * Intel pulls pairs, which is why hot producer/consumer fields are padded to
 * two lines (NX_FALSE_SHARING_RANGE) where the ring needs it. */
#define NX_CACHELINE           64
#define NX_FALSE_SHARING_RANGE 128

#define NX_LIKELY(x)    __builtin_expect(!!(x), 1)
#define NX_UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define NX_INLINE       static inline __attribute__((always_inline))
#define NX_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Pause hint inside spin loops: lets the sibling hyperthread run and saves
 * power; about 10-140 cycles depending on the part. */
#if defined(__x86_64__) || defined(__i386__)
#define nx_cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define nx_cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define nx_cpu_relax() ((void)0)
#endif

/* Abort with file, line and the failed expression. Never returns. */
_Noreturn void nx_assert_fail(const char *expr, const char *file, int line);

#define NX_ASSERT(e) (NX_LIKELY(e) ? (void)0 : nx_assert_fail(#e, __FILE__, __LINE__))
#ifdef NDEBUG
#define NX_DEBUG_ASSERT(e) ((void)0)
#else
#define NX_DEBUG_ASSERT(e) NX_ASSERT(e)
#endif

#endif /* NX_COMPILER_H */
