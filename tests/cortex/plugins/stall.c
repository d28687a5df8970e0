/* stall.c — test fixture: a strategy that stops the engine thread, on
 * purpose, for the systemd watchdog test. On each closed candle, while the
 * file named by NX_STALL_FILE exists, it writes NX_STALL_FILE.on (it is
 * stuck from now) and sleeps until the file is gone; then it removes the
 * .on file and returns. It never signals.
 *
 * It breaks the plugin rules (file I/O, sleeping on the engine thread)
 * because it is meant to: nothing else should ever be written like it. */
#include "nexus_plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static size_t state_size(const nexus_init_t *in)
{
    (void)in;
    return 1;
}

static int init(void *p, const nexus_init_t *in, const char **err)
{
    (void)p;
    (void)in;
    (void)err;
    return 0;
}

static void on_candle(void *p, const nexus_view_t *v)
{
    (void)p;
    (void)v;
    const char *path = getenv("NX_STALL_FILE");
    if (!path || access(path, F_OK) != 0)
        return;
    char on[4096];
    snprintf(on, sizeof on, "%s.on", path);
    FILE *f = fopen(on, "w");
    if (f)
        fclose(f);
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (access(path, F_OK) == 0)
        nanosleep(&ts, NULL);
    unlink(on);
}

static const nexus_plugin_t desc = {
    .abi_version = NEXUS_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(nexus_plugin_t),
    .name = "stall",
    .version = "1.0.0",
    .timeframes = "15m",
    .state_size = state_size,
    .init = init,
    .on_candle = on_candle,
};

NEXUS_PLUGIN_EXPORT const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void);
const nexus_plugin_t *NEXUS_PLUGIN_ENTRY(void)
{
    return &desc;
}
