/*
 * fixed.h — exact decimal strings <-> int64 fixed-point ticks.
 *
 * Venues send prices and quantities as decimal strings ("35547.19",
 * "0.00012345"). Going through double would turn 0.1 into
 * 0.1000000000000000055..., and a price rounded the wrong way is a rejected
 * or, worse, a different order. So values are parsed digit by digit into an
 * int64 count of 10^-scale units: "35547.19" at scale 8 is 3554719000000.
 *
 * Rules (strict, no silent rounding):
 *   - optional leading '-', then digits, then optionally '.' and digits;
 *     at least one digit on each side of a '.' (JSON number syntax without
 *     exponent);
 *   - fraction digits beyond `scale` are accepted only if they are all zero
 *     ("126.1800" at scale 2 is exactly 12618); a non-zero digit there would
 *     need rounding, so it is NX_EPRECISION;
 *   - |value| must fit in int64 after scaling, else NX_EOVERFLOW;
 *   - empty input is NX_EEMPTY; anything else (spaces, '+', exponents,
 *     letters, a lone '-' or '.') is NX_ESYNTAX.
 *
 * Cost: ~5-15 ns for a typical 6-10 digit price; no allocation, no locale,
 * reentrant.
 */
#ifndef NX_FIXED_H
#define NX_FIXED_H

#include <stddef.h>
#include <stdint.h>

#define NX_FIXED_MAX_SCALE 18

/* 10^k for k in 0..18. */
extern const int64_t nx_pow10[19];

/* Parse len bytes at s (need not be NUL-terminated) at `scale` (0..18).
 * Returns 0 and *out, or NX_EEMPTY, NX_ESYNTAX, NX_EPRECISION, NX_EOVERFLOW,
 * NX_EINVAL (bad scale). *out is untouched on failure. */
int nx_fixed_parse(const char *s, size_t len, unsigned scale, int64_t *out);

/* Format v (in 10^-scale units) as the shortest exact decimal: no trailing
 * fractional zeros, no '.' for whole numbers ("35547.19", "19720", "-0.5").
 * Writes a NUL-terminated string into buf; returns its length, or 0 if cap
 * is too small (NX_FIXED_FMT_MAX always suffices) or scale > 18. */
size_t nx_fixed_format(int64_t v, unsigned scale, char *buf, size_t cap);

/* Same, but always with exactly `scale` fraction digits ("35547.19000000"). */
size_t nx_fixed_format_full(int64_t v, unsigned scale, char *buf, size_t cap);

#define NX_FIXED_FMT_MAX 48

/* Convert between scales exactly: from 10^-from units to 10^-to units.
 * NX_EPRECISION if the value has non-zero digits below the target scale,
 * NX_EOVERFLOW if the result does not fit. */
int nx_fixed_rescale(int64_t v, unsigned from, unsigned to, int64_t *out);

#endif /* NX_FIXED_H */
