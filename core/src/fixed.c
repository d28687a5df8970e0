/*
 * fixed.c — decimal string <-> fixed-point (see fixed.h for the rules).
 *
 * The parser is one pass with no backtracking: integer digits accumulate in
 * a uint64 (19 digits always fit, overflow is checked per digit only after
 * the 18th), fraction digits up to `scale` accumulate separately, and the
 * result is int * 10^scale + frac * 10^(scale - nfrac) with checked
 * arithmetic. Written by hand rather than with strtoll/strtod because those
 * go through locale and double (see fixed.h) and cannot report precision
 * loss; measured in tests/bench/bench_parse.
 */
#include "nx/fixed.h"
#include "nx/error.h"

#include <string.h>

const int64_t nx_pow10[19] = {1LL,
                              10LL,
                              100LL,
                              1000LL,
                              10000LL,
                              100000LL,
                              1000000LL,
                              10000000LL,
                              100000000LL,
                              1000000000LL,
                              10000000000LL,
                              100000000000LL,
                              1000000000000LL,
                              10000000000000LL,
                              100000000000000LL,
                              1000000000000000LL,
                              10000000000000000LL,
                              100000000000000000LL,
                              1000000000000000000LL};

int nx_fixed_parse(const char *s, size_t len, unsigned scale, int64_t *out)
{
    if (scale > NX_FIXED_MAX_SCALE)
        return NX_EINVAL;
    if (len == 0)
        return NX_EEMPTY;
    size_t i = 0;
    int neg = 0;
    if (s[0] == '-') {
        neg = 1;
        i = 1;
    }
    /* Integer part. */
    uint64_t ip = 0;
    size_t int_start = i;
    int ovf = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned char)s[i] - '0';
        if (d > 9)
            break;
        if (i - int_start >= 18) {
            if (ip > (UINT64_MAX - d) / 10)
                ovf = 1; /* keep scanning: junk later is a syntax error first */
            else
                ip = ip * 10 + d;
        } else {
            ip = ip * 10 + d;
        }
    }
    if (i == int_start)
        return NX_ESYNTAX; /* "-", ".5", "abc" */
    /* Fraction part. */
    uint64_t fp = 0;
    unsigned nfrac = 0;
    int lost = 0;
    if (i < len && s[i] == '.') {
        size_t frac_start = ++i;
        for (; i < len; i++) {
            unsigned d = (unsigned char)s[i] - '0';
            if (d > 9)
                break;
            if (nfrac < scale) {
                fp = fp * 10 + d;
                nfrac++;
            } else if (d != 0) {
                lost = 1;
            }
        }
        if (i == frac_start)
            return NX_ESYNTAX; /* "1." */
    }
    if (i != len)
        return NX_ESYNTAX;
    if (lost)
        return NX_EPRECISION;
    if (ovf)
        return NX_EOVERFLOW;
    uint64_t v;
    if (__builtin_mul_overflow(ip, (uint64_t)nx_pow10[scale], &v))
        return NX_EOVERFLOW;
    if (__builtin_add_overflow(v, fp * (uint64_t)nx_pow10[scale - nfrac], &v))
        return NX_EOVERFLOW;
    if (v > (uint64_t)INT64_MAX)
        return NX_EOVERFLOW;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

static size_t format(int64_t v, unsigned scale, char *buf, size_t cap, int trim)
{
    if (scale > NX_FIXED_MAX_SCALE)
        return 0;
    char tmp[NX_FIXED_FMT_MAX];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t p = (uint64_t)nx_pow10[scale];
    uint64_t ip = u / p, fp = u % p;
    /* Build backwards: fraction, '.', integer, sign. */
    char rev[NX_FIXED_FMT_MAX];
    size_t r = 0;
    unsigned fd = scale;
    if (trim) {
        while (fd > 0 && fp % 10 == 0) {
            fp /= 10;
            fd--;
        }
    }
    for (unsigned k = 0; k < fd; k++) {
        rev[r++] = (char)('0' + fp % 10);
        fp /= 10;
    }
    if (fd)
        rev[r++] = '.';
    do {
        rev[r++] = (char)('0' + ip % 10);
        ip /= 10;
    } while (ip);
    if (v < 0)
        rev[r++] = '-';
    while (r)
        tmp[n++] = rev[--r];
    if (n + 1 > cap)
        return 0;
    memcpy(buf, tmp, n);
    buf[n] = 0;
    return n;
}

size_t nx_fixed_format(int64_t v, unsigned scale, char *buf, size_t cap)
{
    return format(v, scale, buf, cap, 1);
}

size_t nx_fixed_format_full(int64_t v, unsigned scale, char *buf, size_t cap)
{
    return format(v, scale, buf, cap, 0);
}

int nx_fixed_rescale(int64_t v, unsigned from, unsigned to, int64_t *out)
{
    if (from > NX_FIXED_MAX_SCALE || to > NX_FIXED_MAX_SCALE)
        return NX_EINVAL;
    if (to >= from) {
        int64_t r;
        if (__builtin_mul_overflow(v, nx_pow10[to - from], &r))
            return NX_EOVERFLOW;
        *out = r;
        return 0;
    }
    int64_t p = nx_pow10[from - to];
    if (v % p != 0)
        return NX_EPRECISION;
    *out = v / p;
    return 0;
}
