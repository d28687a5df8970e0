/*
 * jscan.h — a forward-only JSON scanner for venue frames.
 *
 * Part of core so that every biome reading a venue's JSON uses one scanner:
 * uplink's market-data parsers and the effectors' user-data decoders. It
 * is header-only (inline, for the hot path) except for the byte table
 * nx_js_bare in core/src/jscan.c. Pure functions over caller-owned bytes:
 * any thread may call them, nothing blocks, nothing allocates.
 *
 * Why not a DOM (jansson) or a token array (jsmn): a venue frame is 150-600
 * bytes with 8-20 keys, of which a parser needs 5-10; building a DOM costs
 * allocations and strdup'd keys, a token array a full pass before the first
 * key is looked at. This scanner walks the frame once, hands each key and
 * the raw span of its value to the caller, and lets the caller decide
 * whether to convert (fixed-point, integer) or ignore it. Nothing is
 * copied, nothing allocated, key order is not assumed, unknown keys cost a
 * skip. tests/bench/bench_parse measures it against jansson extracting the
 * same fields (ratio_vs_jansson).
 *
 * It is not a validating parser: it checks structure (quotes, brackets,
 * separators) as it goes and reports malformed input, but does not check
 * UTF-8 inside strings it skips. String spans exclude the quotes and are
 * not unescaped; fields Nexus reads (numbers in strings, symbols, types)
 * never contain escapes, and a value that does is rejected by the caller's
 * conversion.
 */
#ifndef NX_JSCAN_H
#define NX_JSCAN_H

#include <stdint.h>
#include <string.h>

#include "nx/compiler.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Characters that may continue a bare value (number or literal). */
extern const uint8_t nx_js_bare[256];

typedef enum nx_jtype {
    NX_J_BAD = 0,
    NX_J_STR = 's', /* p..p+n is the content between the quotes */
    NX_J_NUM = 'n', /* a number */
    NX_J_TRUE = 't',
    NX_J_FALSE = 'f',
    NX_J_NULL = 'z',
    NX_J_OBJ = '{', /* p..p+n spans '{' .. '}' inclusive */
    NX_J_ARR = '[', /* p..p+n spans '[' .. ']' inclusive */
} nx_jtype_t;

typedef struct nx_jspan {
    const char *p;
    uint32_t n;
    uint8_t type; /* nx_jtype_t */
} nx_jspan_t;

typedef struct nx_jcur {
    const char *p, *end;
} nx_jcur_t;

NX_INLINE void nx_js_ws(nx_jcur_t *c)
{
    /* One compare per byte: every JSON whitespace byte is <= ' ', and other
     * control bytes are invalid outside strings anyway. Compact frames
     * (the common case) exit on the first test. */
    while (c->p < c->end && (unsigned char)*c->p <= ' ')
        c->p++;
}

/* Skip a string whose opening quote is at c->p; c->p ends after the closing
 * quote. Returns 0 or -1. */
NX_INLINE int nx_js_skip_str(nx_jcur_t *c)
{
    /* Find the next '"' or '\\' 16 bytes at a time (SSE2 is baseline on
     * x86-64); the byte loop handles the tail and other architectures.
     * Measured in bench_parse: string scanning was ~45% of an aggTrade
     * decode with a byte loop, and memchr's call cost lost on 5-15 byte
     * strings. Loads never cross `end`. */
    const char *p = c->p + 1, *end = c->end;
    for (;;) {
#if defined(__SSE2__)
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            if (m) {
                p += __builtin_ctz(m);
                break;
            }
            p += 16;
        }
#endif
        while (p < end && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            return -1;
        if (*p == '"') {
            c->p = p + 1;
            return 0;
        }
        p += 2; /* a backslash escapes the next character */
        if (p > end)
            return -1;
    }
}

/* Skip an object or array at c->p (bracket-matching, strings respected). */
NX_INLINE int nx_js_skip_nested(nx_jcur_t *c)
{
    int depth = 0;
    while (c->p < c->end) {
        char ch = *c->p;
        if (ch == '"') {
            if (nx_js_skip_str(c))
                return -1;
            continue;
        }
        if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (--depth == 0) {
                c->p++;
                return 0;
            }
        }
        c->p++;
    }
    return -1;
}

/* Read one value at the cursor into *v and advance past it. */
NX_INLINE int nx_js_value(nx_jcur_t *c, nx_jspan_t *v)
{
    nx_js_ws(c);
    if (c->p >= c->end)
        return -1;
    const char *s = c->p;
    switch (*s) {
    case '"':
        if (nx_js_skip_str(c))
            return -1;
        v->p = s + 1;
        v->n = (uint32_t)(c->p - s - 2);
        v->type = NX_J_STR;
        return 0;
    case '{':
    case '[':
        if (nx_js_skip_nested(c))
            return -1;
        v->p = s;
        v->n = (uint32_t)(c->p - s);
        v->type = (uint8_t)*s;
        return 0;
    default: {
        const char *p = s;
        /* Timestamps and ids are long digit runs: take 8 at a time. */
        while (c->end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            if (((w & 0xF0F0F0F0F0F0F0F0ULL) |
                 (((w + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) !=
                0x3333333333333333ULL)
                break;
            p += 8;
        }
        while (p < c->end && nx_js_bare[(unsigned char)*p])
            p++;
        if (p == s)
            return -1;
        v->p = s;
        v->n = (uint32_t)(p - s);
        c->p = p;
        if (*s == '-' || (*s >= '0' && *s <= '9'))
            v->type = NX_J_NUM;
        else if (v->n == 4 && memcmp(s, "true", 4) == 0)
            v->type = NX_J_TRUE;
        else if (v->n == 5 && memcmp(s, "false", 5) == 0)
            v->type = NX_J_FALSE;
        else if (v->n == 4 && memcmp(s, "null", 4) == 0)
            v->type = NX_J_NULL;
        else
            return -1;
        return 0;
    }
    }
}

/* Start iterating the object at the cursor (expects '{'). */
NX_INLINE int nx_js_obj_begin(nx_jcur_t *c)
{
    nx_js_ws(c);
    if (c->p >= c->end || *c->p != '{')
        return -1;
    c->p++;
    return 0;
}

/* Next member: 1 with *key (a string span) and the cursor at the value
 * (read it with nx_js_value), 0 at the closing '}', -1 on malformed input.
 * `first` is 1 for the first call after nx_js_obj_begin. */
NX_INLINE int nx_js_obj_key(nx_jcur_t *c, nx_jspan_t *key, int first)
{
    nx_js_ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p == '}') {
        c->p++;
        return 0;
    }
    if (!first) {
        if (*c->p != ',')
            return -1;
        c->p++;
        nx_js_ws(c);
    }
    if (c->p >= c->end || *c->p != '"')
        return -1;
    const char *s = c->p;
    if (c->end - s > 3 && s[2] == '"' && s[1] != '\\') {
        c->p = s + 3; /* one-letter key, the common case on Binance */
    } else if (nx_js_skip_str(c)) {
        return -1;
    }
    key->p = s + 1;
    key->n = (uint32_t)(c->p - s - 2);
    key->type = NX_J_STR;
    nx_js_ws(c);
    if (c->p >= c->end || *c->p != ':')
        return -1;
    c->p++;
    return 1;
}

/* Array iteration: begin expects '['; next returns 1 with the cursor at the
 * next element, 0 at ']', -1 if malformed. */
NX_INLINE int nx_js_arr_begin(nx_jcur_t *c)
{
    nx_js_ws(c);
    if (c->p >= c->end || *c->p != '[')
        return -1;
    c->p++;
    return 0;
}

NX_INLINE int nx_js_arr_next(nx_jcur_t *c, int first)
{
    nx_js_ws(c);
    if (c->p >= c->end)
        return -1;
    if (*c->p == ']') {
        c->p++;
        return 0;
    }
    if (!first) {
        if (*c->p != ',')
            return -1;
        c->p++;
    }
    return 1;
}

/* Does the span's content equal the literal? */
#define NX_JEQ(span, lit)                                                                          \
    ((span).n == sizeof(lit) - 1 && memcmp((span).p, lit, sizeof(lit) - 1) == 0)

/* Unsigned integer from a number span (or a string of digits). */
NX_INLINE int nx_js_u64(const nx_jspan_t *v, uint64_t *out)
{
    if ((v->type != NX_J_NUM && v->type != NX_J_STR) || v->n == 0 || v->n > 20)
        return -1;
    uint64_t x = 0;
    if (v->n <= 19) { /* 19 digits cannot overflow */
        for (uint32_t i = 0; i < v->n; i++) {
            unsigned d = (unsigned char)v->p[i] - '0';
            if (d > 9)
                return -1;
            x = x * 10 + d;
        }
        *out = x;
        return 0;
    }
    for (uint32_t i = 0; i < v->n; i++) {
        unsigned d = (unsigned char)v->p[i] - '0';
        if (d > 9)
            return -1;
        if (x > (UINT64_MAX - d) / 10)
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

NX_INLINE int nx_js_i64(const nx_jspan_t *v, int64_t *out)
{
    if (v->n && v->p[0] == '-') {
        nx_jspan_t w = {v->p + 1, v->n - 1, v->type};
        uint64_t x;
        if (nx_js_u64(&w, &x) || x > (uint64_t)INT64_MAX)
            return -1;
        *out = -(int64_t)x;
        return 0;
    }
    uint64_t x;
    if (nx_js_u64(v, &x) || x > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)x;
    return 0;
}

#endif /* NX_JSCAN_H */
