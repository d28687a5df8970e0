/*
 * assert.c — the always-on assertion. Writes straight to stderr with
 * write(2) (async-signal-safe, works even if the logger is wedged), then
 * aborts so a core dump shows the state that was about to go wrong.
 */
#include "nx/compiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void nx_assert_fail(const char *expr, const char *file, int line)
{
    char buf[512];
    int n = snprintf(buf, sizeof buf, "nexus: assertion failed: %s (%s:%d)\n", expr, file, line);
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
        (void)w;
    }
    abort();
}
