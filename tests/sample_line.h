/*
 * sample_line.h — line k (1-based) of a file of tests/data/samples (one
 * JSON value per line; their provenance in that folder's README), from
 * the source tree (NX_SOURCE_DIR, else the build's NX_SOURCE_DIR_DEFAULT),
 * into a static buffer that the next call reuses. Fails the test when the
 * file or the line is missing. Header-only; include after cmocka.
 */
#ifndef NX_TEST_SAMPLE_LINE_H
#define NX_TEST_SAMPLE_LINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline const char *sample_line(const char *name, int k)
{
    static char line[16384];
    char path[512];
    const char *src = getenv("NX_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/tests/data/samples/%s", src ? src : NX_SOURCE_DIR_DEFAULT,
             name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    for (int i = 0; i < k; i++)
        if (!fgets(line, sizeof line, f)) {
            fclose(f);
            fail_msg("%s has no line %d", name, k);
        }
    fclose(f);
    line[strcspn(line, "\n")] = 0;
    return line;
}

#endif
