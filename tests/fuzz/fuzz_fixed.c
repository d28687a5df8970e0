/*
 * fuzz_fixed — libFuzzer target for nx_fixed_parse/format: never crashes,
 * never reads past len, and every accepted value round-trips exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/fixed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned scale = data[0] % (NX_FIXED_MAX_SCALE + 1);
    /* Copy to an exact-size heap buffer so ASan sees any overread. */
    char *s = malloc(size - 1 ? size - 1 : 1);
    memcpy(s, data + 1, size - 1);
    int64_t v;
    if (nx_fixed_parse(s, size - 1, scale, &v) == 0) {
        char buf[NX_FIXED_FMT_MAX];
        size_t n = nx_fixed_format(v, scale, buf, sizeof buf);
        int64_t w;
        if (n == 0 || nx_fixed_parse(buf, n, scale, &w) != 0 || w != v)
            abort();
    }
    free(s);
    return 0;
}
