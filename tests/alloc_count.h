/*
 * alloc_count.h — counting the heap allocations of a test's process, to
 * show that a decoder allocates nothing: malloc, calloc and realloc are
 * wrapped at link time (nx_alloc_counted() in tests/CMakeLists.txt) and
 * each call adds one to `allocs`. Under a sanitizer, which owns malloc,
 * the wrap is off (NX_NO_WRAP) and nothing is counted: the counts are
 * checked in the plain build.
 * Header-only, for one translation unit per test binary.
 */
#ifndef NX_TEST_ALLOC_COUNT_H
#define NX_TEST_ALLOC_COUNT_H

#include <stddef.h>

static volatile long allocs; /* volatile: the compiler assumes malloc changes no global */
#ifdef NX_NO_WRAP
#define __real_malloc  malloc
#define __real_calloc  calloc
#define __real_realloc realloc
#endif
void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n)
{
    allocs++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t a, size_t b)
{
    allocs++;
    return __real_calloc(a, b);
}
void *__wrap_realloc(void *p, size_t n)
{
    allocs++;
    return __real_realloc(p, n);
}

#endif
