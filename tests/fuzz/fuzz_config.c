/*
 * fuzz_config — libFuzzer target for the config loader and its error
 * locator: any byte string gives either a config or a list of errors,
 * never a crash or a read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nx/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static nx_config_t cfg;
    static nx_config_errors_t errs;
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    nx_config_load_string(s, size, "fuzz.json", &cfg, &errs);
    free(s);
    return 0;
}
