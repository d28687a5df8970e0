/*
 * jscan.c — the one table behind the inline JSON scanner (nx/jscan.h).
 *
 * The scanner is header-only so that its loops inline into each parser;
 * this table is its only data, defined once here so every biome that
 * includes the header shares it.
 */
#include "nx/jscan.h"

/* Bytes that may continue a bare JSON value: digits, sign, '.', exponent,
 * and the letters of true/false/null. */
const uint8_t nx_js_bare[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['-'] = 1, ['+'] = 1, ['.'] = 1, ['e'] = 1, ['E'] = 1, ['t'] = 1,
    ['r'] = 1, ['u'] = 1, ['f'] = 1, ['a'] = 1, ['l'] = 1, ['s'] = 1, ['n'] = 1,
};
